/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Carrying out a parsed request (session_cmd.c): the access rules and
 * connection limits, then CONNECT (direct or through a chain), BIND
 * (bind.c) or UDP ASSOCIATE (udp.c, direct or through a chain). */
#ifndef HOPSOCKS_SESSION_CMD_H
#define HOPSOCKS_SESSION_CMD_H

struct session;

/* The request is parsed into s->cmd and s->dst: carry it out. */
void session_run_command(struct session *s);
/* UDP ASSOCIATE: the client's control connection is readable (any EOF or
 * error ends the association). */
void session_on_udp_control(struct session *s);
/* UDP ASSOCIATE through a chain: the hop's control connection is
 * readable (if it closes, the association ends). */
void session_on_udp_upstream(struct session *s);

#endif
