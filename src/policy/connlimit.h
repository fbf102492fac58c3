/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Connection counts per client address and per user, shared by all
 * workers, for max-connections-per-client and max-connections-per-user.
 * Updated once when a session takes a slot and once when it ends, never
 * per byte, so one mutex is cheap enough. A client is its IPv4 address,
 * or the /64 of its IPv6 address (one host holds a /64 as easily as one
 * address), IPv4-mapped IPv6 counting as IPv4. */
#ifndef HOPSOCKS_CONNLIMIT_H
#define HOPSOCKS_CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Refusals of one client are logged at most once in this long. */
#define LIMITS_LOG_EVERY_MS 10000

/* What limits_take_client says about a refusal, for the log. */
struct limits_refusal {
	bool log;	   /* log this one: the first of its address in LIMITS_LOG_EVERY_MS */
	unsigned unlogged; /* refusals of this address since the last logged one */
};

struct limits;

struct limits *limits_new(void);
void limits_free(struct limits *l);

/* Take a slot for this client address (max 0 = no limit: still counted,
 * so a later reload that sets a limit sees the sessions already open).
 * false = the limit is reached, nothing was taken; then *refusal (if not
 * NULL) says whether to log it, now_ms being the time. */
bool limits_take_client(struct limits *l, const struct sockaddr_storage *ip, unsigned max,
			uint64_t now_ms, struct limits_refusal *refusal);
void limits_give_client(struct limits *l, const struct sockaddr_storage *ip);
bool limits_take_user(struct limits *l, const char *user, unsigned max);
void limits_give_user(struct limits *l, const char *user);
/* Sessions counted now (for tests and stats). */
size_t limits_count_client(struct limits *l, const struct sockaddr_storage *ip);
size_t limits_count_user(struct limits *l, const char *user);

#endif
