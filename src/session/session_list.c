/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* A worker's periodic look at all its live sessions. See session_list.h.
 *
 * Both run on the worker's thread, which owns the sessions, so they read
 * them without a lock; what leaves the thread is counters (relaxed
 * atomics) and copies. Neither is on the relay path: a second's bytes cost
 * one walk of the list, not an atomic operation per read. */
#include "session/session_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/socks5.h"
#include "session/session_core.h"

void session_list_fold(struct session_ctx *ctx)
{
	struct session *next;
	for (struct session *s = ctx->sessions; s; s = next) {
		next = s->next;
		session_report_bytes(s);
		/* The kernel relay has been dropping this session's bytes
		 * since its sink fell too far behind: end it with a reset
		 * (relay_kernel_overflowed). */
		if (s->state == S_RELAY && relay_kernel_overflowed(&s->relay, session_pools(s)))
			session_abort_overflow(s);
	}
}

/* ---- the sessions with the most bytes ---- */

static uint64_t session_total_bytes(const struct session *s)
{
	uint64_t up, down;
	session_bytes(s, &up, &down);
	return up + down;
}

/* A min-heap of the best candidates so far, the smallest at the root, so
 * a session that beats it replaces it in O(log cap). */
struct top_entry {
	uint64_t bytes;
	const struct session *s;
};

static void top_sift_down(struct top_entry *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && h[l].bytes < h[m].bytes)
			m = l;
		if (r < n && h[r].bytes < h[m].bytes)
			m = r;
		if (m == i)
			return;
		struct top_entry t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void top_sift_up(struct top_entry *h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2].bytes > h[i].bytes) {
		struct top_entry t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static void session_info_fill(const struct session *s, struct session_info *out)
{
	memset(out, 0, sizeof(*out));
	out->id = s->id;
	out->client = s->client;
	target_compact_get(&s->dst, &out->target);
	if (s->user)
		snprintf(out->user, sizeof(out->user), "%s", s->user);
	if (s->route)
		snprintf(out->route, sizeof(out->route), "%s", s->route);
	out->proto = (uint8_t)s->proto;
	out->cmd = s->cmd;
	out->state = (uint8_t)s->state;
	out->started_ms = s->started_ms;
	session_bytes(s, &out->up, &out->down);
	out->relay = s->relayed ? relay_used(&s->relay) : "-";
}

int session_info_cmp(const void *a, const void *b)
{
	const struct session_info *x = a, *y = b;
	uint64_t bx = x->up + x->down, by = y->up + y->down;
	if (bx != by)
		return bx > by ? -1 : 1;
	/* The same bytes: the older first, so the order does not flicker. */
	return x->started_ms < y->started_ms ? -1 : x->started_ms > y->started_ms;
}

size_t session_list_top(struct session_ctx *ctx, struct session_info *out, size_t cap,
			size_t *total)
{
	struct top_entry heap[SESSION_LIST_MAX];
	size_t n = 0, all = 0;
	if (cap > SESSION_LIST_MAX)
		cap = SESSION_LIST_MAX;
	for (const struct session *s = ctx->sessions; s; s = s->next) {
		all++;
		struct top_entry e = { session_total_bytes(s), s };
		if (n < cap) {
			heap[n] = e;
			top_sift_up(heap, n++);
		} else if (cap && e.bytes > heap[0].bytes) {
			heap[0] = e;
			top_sift_down(heap, n, 0);
		}
	}
	for (size_t i = 0; i < n; i++)
		session_info_fill(heap[i].s, &out[i]);
	qsort(out, n, sizeof(*out), session_info_cmp);
	*total = all;
	return n;
}

/* ---- words ---- */

const char *session_list_proto_name(unsigned proto)
{
	static const char *const names[] = { "-", "socks4", "socks4a", "socks5", "http" };
	return proto < sizeof(names) / sizeof(names[0]) ? names[proto] : "-";
}

const char *session_list_cmd_name(unsigned cmd)
{
	switch (cmd) {
	case SOCKS5_CMD_CONNECT:
		return "connect";
	case SOCKS5_CMD_BIND:
		return "bind";
	case SOCKS5_CMD_UDP_ASSOCIATE:
		return "udp";
	case SOCKS5_CMD_RESOLVE:
		return "resolve";
	case SOCKS5_CMD_RESOLVE_PTR:
		return "resolve-ptr";
	default:
		return "-";
	}
}

const char *session_list_state_name(unsigned state)
{
	return state <= S_DONE ? session_state_name((enum session_state)state) : "-";
}
