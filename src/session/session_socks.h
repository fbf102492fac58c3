/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The SOCKS4/4a, SOCKS5 and HTTP CONNECT handshakes (session_socks.c):
 * detecting the protocol, method choice, RFC 1929 and HTTP Basic
 * credentials, parsing the request. */
#ifndef HOPSOCKS_SESSION_SOCKS_H
#define HOPSOCKS_SESSION_SOCKS_H

#include <stdbool.h>

struct session;

/* One parser step each; they consume from relay.buf[UP]. */
void session_detect(struct session *s);
void session_socks4_request(struct session *s);
void session_socks5_greeting(struct session *s);
void session_socks5_auth(struct session *s);
void session_socks5_request(struct session *s);
void session_http_request(struct session *s);
/* Resume parsing after an asynchronous step (authentication). */
void session_advance(struct session *s);
/* The verification pool has judged the session's password (ok: it
 * matches the user file the session runs under): answer it, and go on
 * with the request if it may already be waiting. */
void session_auth_verified(struct session *s, bool ok);

#endif
