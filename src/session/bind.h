/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* BIND (bind.c): listen, the first reply, wait for the peer the request
 * named, the second reply, then relay like CONNECT. */
#ifndef HOPSOCKS_BIND_H
#define HOPSOCKS_BIND_H

struct session;

/* The request is a BIND and the rules allowed it: start listening. */
void bind_start(struct session *s);
/* Events on the listening socket (s->tfd) while in BIND_WAIT. */
void bind_on_event(struct session *s, unsigned events);
/* Close the listening socket (the wait is over: nobody else may connect). */
void bind_stop_listening(struct session *s);

#endif
