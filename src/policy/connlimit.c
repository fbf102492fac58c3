/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Per-client and per-user session counts: one small hash table of keyed
 * counters under a mutex. A client key is the address family byte plus the
 * IPv4 address or the IPv6 /64 (IPv4-mapped IPv6 counted as IPv4); a user
 * key is 'u' plus the name. Entries go away when their count drops to zero, so the table only
 * holds who is connected now. */
#include "policy/connlimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LIMITS_BUCKETS 1024
#define LIMITS_KEY_MAX (1 + 256)

struct limits_entry {
	struct limits_entry *next;
	size_t count;
	uint64_t logged_ms; /* the last refusal logged; 0 = none yet */
	unsigned unlogged;  /* refusals since */
	size_t klen;
	uint8_t key[];
};

struct limits {
	pthread_mutex_t lock;
	struct limits_entry *bucket[LIMITS_BUCKETS];
};

struct limits *limits_new(void)
{
	struct limits *l = calloc(1, sizeof(*l));
	if (l)
		pthread_mutex_init(&l->lock, NULL);
	return l;
}

void limits_free(struct limits *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < LIMITS_BUCKETS; i++) {
		while (l->bucket[i]) {
			struct limits_entry *e = l->bucket[i];
			l->bucket[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static size_t key_of_ip(const struct sockaddr_storage *ss, uint8_t *key)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (ss->ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		if (memcmp(a, v4mapped, 12) != 0) {
			key[0] = 6;
			memcpy(key + 1, a, 8); /* the /64 */
			return 9;
		}
		key[0] = 4;
		memcpy(key + 1, a + 12, 4);
		return 5;
	}
	key[0] = 4;
	memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	return 5;
}

static size_t key_of_user(const char *user, uint8_t *key)
{
	size_t n = strnlen(user, LIMITS_KEY_MAX - 1);
	key[0] = 'u';
	memcpy(key + 1, user, n);
	return n + 1;
}

static size_t key_hash(const uint8_t *key, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= key[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h % LIMITS_BUCKETS);
}

static struct limits_entry **limits_find(struct limits *l, const uint8_t *key, size_t len)
{
	struct limits_entry **p = &l->bucket[key_hash(key, len)];
	while (*p && ((*p)->klen != len || memcmp((*p)->key, key, len) != 0))
		p = &(*p)->next;
	return p;
}

/* A refusal of entry e at now_ms: log it, or count it for the next line. */
static void limits_note_refusal(struct limits_entry *e, uint64_t now_ms,
				struct limits_refusal *refusal)
{
	struct limits_refusal r = { .log = false, .unlogged = 0 };

	if (e->logged_ms == 0 || now_ms >= e->logged_ms + LIMITS_LOG_EVERY_MS) {
		r.log = true;
		r.unlogged = e->unlogged;
		e->logged_ms = now_ms ? now_ms : 1;
		e->unlogged = 0;
	} else {
		e->unlogged++;
	}
	if (refusal)
		*refusal = r;
}

static bool limits_take(struct limits *l, const uint8_t *key, size_t len, unsigned max,
			uint64_t now_ms, struct limits_refusal *refusal)
{
	bool ok = true;
	pthread_mutex_lock(&l->lock);
	struct limits_entry **p = limits_find(l, key, len);
	if (*p && max && (*p)->count >= max) {
		ok = false;
		limits_note_refusal(*p, now_ms, refusal);
	} else if (*p) {
		(*p)->count++;
	} else {
		struct limits_entry *e = malloc(sizeof(*e) + len);
		/* Out of memory: let the session in rather than refuse it for
		 * a bookkeeping failure. */
		if (e) {
			e->next = NULL;
			e->count = 1;
			e->logged_ms = 0;
			e->unlogged = 0;
			e->klen = len;
			memcpy(e->key, key, len);
			*p = e;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return ok;
}

static void limits_give(struct limits *l, const uint8_t *key, size_t len)
{
	pthread_mutex_lock(&l->lock);
	struct limits_entry **p = limits_find(l, key, len);
	if (*p && --(*p)->count == 0) {
		struct limits_entry *e = *p;
		*p = e->next;
		free(e);
	}
	pthread_mutex_unlock(&l->lock);
}

static size_t limits_count(struct limits *l, const uint8_t *key, size_t len)
{
	pthread_mutex_lock(&l->lock);
	struct limits_entry **p = limits_find(l, key, len);
	size_t n = *p ? (*p)->count : 0;
	pthread_mutex_unlock(&l->lock);
	return n;
}

bool limits_take_client(struct limits *l, const struct sockaddr_storage *ip, unsigned max,
			uint64_t now_ms, struct limits_refusal *refusal)
{
	uint8_t key[LIMITS_KEY_MAX] = { 0 };
	return limits_take(l, key, key_of_ip(ip, key), max, now_ms, refusal);
}

void limits_give_client(struct limits *l, const struct sockaddr_storage *ip)
{
	uint8_t key[LIMITS_KEY_MAX] = { 0 };
	limits_give(l, key, key_of_ip(ip, key));
}

bool limits_take_user(struct limits *l, const char *user, unsigned max)
{
	uint8_t key[LIMITS_KEY_MAX] = { 0 };
	return limits_take(l, key, key_of_user(user, key), max, 0, NULL);
}

void limits_give_user(struct limits *l, const char *user)
{
	uint8_t key[LIMITS_KEY_MAX] = { 0 };
	limits_give(l, key, key_of_user(user, key));
}

size_t limits_count_client(struct limits *l, const struct sockaddr_storage *ip)
{
	uint8_t key[LIMITS_KEY_MAX] = { 0 };
	return limits_count(l, key, key_of_ip(ip, key));
}

size_t limits_count_user(struct limits *l, const char *user)
{
	uint8_t key[LIMITS_KEY_MAX] = { 0 };
	return limits_count(l, key, key_of_user(user, key));
}
