/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* What a worker does with all its live sessions once a second
 * (session_list.c): fold the bytes they moved into the process's counters,
 * and pick the ones the status page lists, as plain copies another thread
 * may read. */
#ifndef HOPSOCKS_SESSION_LIST_H
#define HOPSOCKS_SESSION_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "policy/auth.h"
#include "proto/target.h"

struct session_ctx;

/* The status page lists at most this many sessions (the most bytes
 * first), and says how many there are in all. */
#define SESSION_LIST_MAX 50

/* One live session as the status page shows it: copies, so the admin
 * thread never reaches into a worker's sessions. Raw names: the reader
 * escapes them as the log does (target_format, log_esc), then for HTML. */
struct session_info {
	uint64_t id; /* the session id of its log lines ("session N", session=N) */
	union sockaddr_ip client;
	struct target target;		       /* TARGET_NONE before a request was parsed */
	char user[AUTH_NAME_MAX + 1];	       /* "" for none */
	char route[CONFIG_CHAIN_NAME_MAX + 1]; /* "direct", a chain's name, "" (not routed) */
	uint8_t proto; /* "socks4", "socks4a", "socks5", "http", "-": session_list_proto_name */
	uint8_t cmd;   /* the SOCKS command; 0 before a request */
	uint8_t state; /* enum session_state: session_list_state_name */
	uint64_t started_ms; /* the monotonic clock (util_monotonic_ms) */
	uint64_t up, down;   /* bytes relayed each way, as the access log counts them */
	const char *relay;   /* relay= of the access line so far (a static string) */
};

/* Add what every live session moved since the last call to the counters
 * (session_report_bytes): O(sessions), no allocation. */
void session_list_fold(struct session_ctx *ctx);

/* The up to cap live sessions with the most bytes (up + down), most first,
 * copied into out; *total is how many live sessions there are in all.
 * Returns how many were written. */
size_t session_list_top(struct session_ctx *ctx, struct session_info *out, size_t cap,
			size_t *total);

/* Orders session_info by bytes (up + down), most first, for qsort. */
int session_info_cmp(const void *a, const void *b);

/* Words for the fields above: "connect", "bind", "udp", "resolve",
 * "resolve-ptr", "-"; "relay", "udp", "connect", ... */
const char *session_list_proto_name(unsigned proto);
const char *session_list_cmd_name(unsigned cmd);
const char *session_list_state_name(unsigned state);

#endif
