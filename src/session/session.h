/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The client session: one state machine per accepted connection, from the
 * first byte to the access-log line. */
#ifndef HOPSOCKS_SESSION_H
#define HOPSOCKS_SESSION_H

#include <sys/socket.h>

struct session_ctx;
struct auth_job;

/* Take ownership of an accepted, non-blocking client socket and start its
 * session. On failure the socket is closed. */
void session_start(struct session_ctx *ctx, int fd, const struct sockaddr *peer, socklen_t peerlen);

/* A verification the session submitted has finished (called on the
 * worker's thread). Frees nothing: the caller frees the job. */
void session_on_auth_done(struct auth_job *job);

/* Close every session of the worker (shutdown), logging reason. */
void session_close_all(struct session_ctx *ctx, const char *reason);
/* Close the sessions that are not yet relaying (graceful stop). */
void session_close_unestablished(struct session_ctx *ctx, const char *reason);
/* The worker switched to a new snapshot (reload). */
void session_on_reload(struct session_ctx *ctx);

#endif
