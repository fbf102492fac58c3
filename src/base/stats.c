/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Counters and the keyed tables (users, listeners, hops). See stats.h. */
#include "base/stats.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define GET(f)	 stats_get(s, f)
#define GET_U(f) stats_get(u, f)

static const char *const proto_names[STATS_NPROTO] = { "socks4", "socks4a", "socks5", "http" };
static const char *const cmd_names[STATS_NCMD] = { "connect", "bind", "udp", "resolve" };

const char *stats_proto_name(unsigned proto)
{
	return proto < STATS_NPROTO ? proto_names[proto] : "-";
}

const char *stats_cmd_name(unsigned cmd)
{
	return cmd < STATS_NCMD ? cmd_names[cmd] : "-";
}

/* ---- slots: claimed by CAS, written, then published ---- */

#define FNV_BASIS 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* The state of a slot, once no other thread is writing it. The writer
 * holds it for one short copy, so waiting is rare and brief. */
static unsigned slot_wait(const atomic_uint *state)
{
	unsigned v = atomic_load_explicit(state, memory_order_acquire);
	while (v == STATS_SLOT_WRITING) {
		sched_yield();
		v = atomic_load_explicit(state, memory_order_acquire);
	}
	return v;
}

static bool slot_claim(atomic_uint *state)
{
	unsigned expect = STATS_SLOT_FREE;
	return atomic_compare_exchange_strong_explicit(state, &expect, STATS_SLOT_WRITING,
						       memory_order_acquire, memory_order_relaxed);
}

static void slot_publish(atomic_uint *state)
{
	atomic_store_explicit(state, STATS_SLOT_READY, memory_order_release);
}

/* ---- sessions by protocol and command, and per user ---- */

void stats_session_begin(struct stats *s, struct stats_session *ss, unsigned proto, unsigned cmd,
			 const char *user)
{
	if (ss->counted || proto >= STATS_NPROTO || cmd >= STATS_NCMD)
		return;
	ss->counted = true;
	ss->proto = (uint8_t)proto;
	ss->cmd = (uint8_t)cmd;
	stats_inc(s, cmd_total[proto][cmd]);
	stats_inc(s, cmd_active[proto][cmd]);
	ss->user = user && user[0] ? stats_user(s, user) : NULL;
	if (ss->user) {
		stats_inc(ss->user, active);
		stats_inc(ss->user, sessions);
	}
}

void stats_session_bytes(const struct stats_session *ss, uint64_t up, uint64_t down)
{
	if (!ss->counted || !ss->user)
		return;
	if (up)
		stats_add(ss->user, bytes_up, up);
	if (down)
		stats_add(ss->user, bytes_down, down);
}

void stats_session_end(struct stats *s, struct stats_session *ss)
{
	if (!ss->counted)
		return;
	stats_add(s, cmd_active[ss->proto][ss->cmd], -1);
	if (ss->user)
		stats_add(ss->user, active, -1);
	memset(ss, 0, sizeof(*ss));
}

/* ---- users ---- */

struct stats_user *stats_user(struct stats *s, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > STATS_USER_NAME_MAX)
		return NULL;
	size_t start = (size_t)(fnv1a(FNV_BASIS, name, n) % STATS_USERS_MAX);
	for (size_t k = 0; k < STATS_USERS_MAX; k++) {
		struct stats_user *u = &s->users[(start + k) % STATS_USERS_MAX];
		for (;;) {
			if (slot_wait(&u->state) == STATS_SLOT_READY) {
				if (strcmp(u->name, name) == 0)
					return u;
				break; /* someone else's: probe on */
			}
			if (slot_claim(&u->state)) {
				memcpy(u->name, name, n + 1);
				slot_publish(&u->state);
				return u;
			}
			/* Another thread claimed it first: see whose it is. */
		}
	}
	stats_inc(s, users_overflow);
	return NULL;
}

void stats_user_auth_failed(struct stats *s, const char *name)
{
	struct stats_user *u = stats_user(s, name);
	if (u)
		stats_inc(u, auth_failed);
}

static int user_cmp(const void *a, const void *b)
{
	const struct stats_user *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

size_t stats_users_sorted(const struct stats *s, const struct stats_user **out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < STATS_USERS_MAX && n < cap; i++)
		if (slot_wait(&s->users[i].state) == STATS_SLOT_READY)
			out[n++] = &s->users[i];
	qsort(out, n, sizeof(*out), user_cmp);
	return n;
}

/* ---- listeners ---- */

/* The listener's slot: found, or (create) claimed for it; NULL if absent
 * (!create) or the table is full. */
static struct stats_listener *listener_slot(const struct stats *cs, const char *addr, bool create)
{
	/* Only the create path writes, and only when given a mutable stats. */
	struct stats *s = (struct stats *)cs;
	size_t n = strlen(addr);
	if (n == 0 || n > STATS_LISTENER_MAX)
		return NULL;
	size_t start = (size_t)(fnv1a(FNV_BASIS, addr, n) % STATS_LISTENERS_MAX);
	for (size_t k = 0; k < STATS_LISTENERS_MAX; k++) {
		struct stats_listener *l = &s->listeners[(start + k) % STATS_LISTENERS_MAX];
		for (;;) {
			unsigned st = slot_wait(&l->state);
			if (st == STATS_SLOT_READY) {
				if (strcmp(l->addr, addr) == 0)
					return l;
				break;
			}
			if (!create)
				return NULL; /* a free slot ends the probe sequence */
			if (slot_claim(&l->state)) {
				memcpy(l->addr, addr, n + 1);
				slot_publish(&l->state);
				return l;
			}
		}
	}
	if (create)
		stats_inc(s, listeners_overflow);
	return NULL;
}

atomic_ulong *stats_listener_counter(struct stats *s, const char *addr)
{
	struct stats_listener *l = listener_slot(s, addr, true);
	return l ? &l->accepted : NULL;
}

uint64_t stats_listener_get(const struct stats *s, const char *addr)
{
	const struct stats_listener *l = listener_slot(s, addr, false);
	return l ? atomic_load_explicit(&l->accepted, memory_order_relaxed) : 0;
}

/* ---- hops ---- */

static struct stats_hop *hop_slot(const struct stats *cs, const char *chain, size_t position,
				  const char *url, bool create)
{
	struct stats *s = (struct stats *)cs;
	size_t n = strlen(chain);
	if (n > STATS_CHAIN_MAX)
		n = STATS_CHAIN_MAX;
	uint64_t url_hash = fnv1a(FNV_BASIS, url, strlen(url));
	uint32_t pos = (uint32_t)position;
	uint64_t h = fnv1a(FNV_BASIS, chain, n);
	h = fnv1a(h, &pos, sizeof(pos));
	h = fnv1a(h, &url_hash, sizeof(url_hash));
	size_t start = (size_t)(h % STATS_HOPS_MAX);
	for (size_t k = 0; k < STATS_HOPS_MAX; k++) {
		struct stats_hop *e = &s->hops[(start + k) % STATS_HOPS_MAX];
		for (;;) {
			unsigned st = slot_wait(&e->state);
			if (st == STATS_SLOT_READY) {
				if (e->position == pos && e->url_hash == url_hash &&
				    strncmp(e->chain, chain, n) == 0 && e->chain[n] == '\0')
					return e;
				break;
			}
			if (!create)
				return NULL;
			if (slot_claim(&e->state)) {
				memcpy(e->chain, chain, n);
				e->chain[n] = '\0';
				e->position = pos;
				e->url_hash = url_hash;
				slot_publish(&e->state);
				return e;
			}
		}
	}
	if (create)
		stats_inc(s, hops_overflow);
	return NULL;
}

void stats_hop_attempt(struct stats *s, const char *chain, size_t position, const char *url)
{
	struct stats_hop *e = hop_slot(s, chain, position, url, true);
	if (e)
		stats_inc(e, attempts);
}

void stats_hop_failed(struct stats *s, const char *chain, size_t position, const char *url)
{
	stats_inc(s, hop_failures);
	struct stats_hop *e = hop_slot(s, chain, position, url, true);
	if (e)
		stats_inc(e, failures);
}

const struct stats_hop *stats_hop_find(const struct stats *s, const char *chain, size_t position,
				       const char *url)
{
	return hop_slot(s, chain, position, url, false);
}

/* ---- the log ---- */

const char *stats_relay_mode_name(const struct stats *s)
{
	const char *m = atomic_load_explicit(&s->relay_mode, memory_order_relaxed);
	return m ? m : "-";
}

int stats_format_log_line(const struct stats *s, char *buf, size_t cap)
{
	int n = snprintf(
		buf, cap,
		"stats sessions_active=%ld sessions_total=%lu socks4=%lu socks5=%lu http=%lu "
		"connects_ok=%lu connects_failed=%lu bytes_up=%lu bytes_down=%lu "
		"auth_ok=%lu auth_failed=%lu auth_cache_hits=%lu denied=%lu dns_queries=%lu "
		"dns_failures=%lu dns_cache_hits=%lu bad_requests=%lu refused_max_connections=%lu "
		"udp_associations=%lu udp_datagrams_up=%lu udp_datagrams_down=%lu udp_dropped=%lu "
		"binds_accepted=%lu binds_refused=%lu hop_failures=%lu bytes_spliced=%lu "
		"auth_queue_full=%lu bytes_kernel=%lu kernel_sessions=%lu relay=%s",
		GET(sessions_active), GET(sessions_total), GET(sessions_socks4),
		GET(sessions_socks5), GET(sessions_http), GET(connects_ok), GET(connects_failed),
		GET(bytes_up), GET(bytes_down), GET(auth_ok), GET(auth_failed),
		GET(auth_cache_hits), GET(denied), GET(dns_queries), GET(dns_failures),
		GET(dns_cache_hits), GET(bad_requests), GET(refused_max_connections),
		GET(udp_associations), GET(udp_datagrams_up), GET(udp_datagrams_down),
		GET(udp_dropped), GET(binds_accepted), GET(binds_refused), GET(hop_failures),
		GET(bytes_spliced), GET(auth_queue_full), GET(bytes_kernel), GET(kernel_relayed),
		stats_relay_mode_name(s));
	if (n < 0)
		return n;
	size_t used = (size_t)n;
	/* Requests by protocol and command: only those that happened. */
	for (unsigned p = 0; p < STATS_NPROTO; p++) {
		for (unsigned c = 0; c < STATS_NCMD; c++) {
			unsigned long total = GET(cmd_total[p][c]);
			if (!total)
				continue;
			int m = snprintf(used < cap ? buf + used : NULL,
					 used < cap ? cap - used : 0, " %s_%s=%ld/%lu",
					 proto_names[p], cmd_names[c], GET(cmd_active[p][c]),
					 total);
			if (m < 0)
				return m;
			used += (size_t)m;
		}
	}
	return (int)used;
}

void stats_log(const struct stats *s)
{
	char line[2048];
	stats_format_log_line(s, line, sizeof(line));
	log_info("%s", line);

	const struct stats_user *users[STATS_USERS_MAX];
	size_t n = stats_users_sorted(s, users, STATS_USERS_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct stats_user *u = users[i];
		log_info("stats user=%s active=%ld sessions=%lu up=%lu down=%lu auth_failed=%lu",
			 u->name, GET_U(active), GET_U(sessions), GET_U(bytes_up),
			 GET_U(bytes_down), GET_U(auth_failed));
	}
}
