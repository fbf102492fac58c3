/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* proxy-protocol on the listeners (session_proxy.c): the balancer's PROXY
 * header, read before anything else, names the client. */
#ifndef HOPSOCKS_SESSION_PROXY_H
#define HOPSOCKS_SESSION_PROXY_H

#include <stdbool.h>

#include "session/session_core.h"

/* A new session of a configuration with proxy-protocol: true when the
 * peer is a listed balancer (the session then waits in S_PROXY for its
 * header); false when it is not, and the session has been refused and
 * closed. */
bool session_proxy_admit(struct session *s);

/* S_PROXY: parse the header from what the client sent. Complete: the
 * header's source becomes s->client, the client's slot of
 * max-connections-per-client is taken for it, and the session goes on
 * to S_DETECT with the bytes behind the header. Invalid, or of a version
 * not accepted: refused and closed without a reply. */
void session_proxy_header(struct session *s);

#endif
