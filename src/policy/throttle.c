/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Failed-login throttling; see throttle.h for the contract.
 *
 * The table is a fixed array of entries, a chained hash index over it and
 * a doubly linked recency list (most recently counted first), all linked
 * by array index so nothing is allocated after throttle_new(). Free
 * entries are chained through their hash link. */
#include "policy/throttle.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define KEY_LEN 17 /* family byte + 16 address bytes */
#define NIL	(-1)
/* User names whose failures an address entry keeps apart, so that a
 * success clears that name's share only. */
#define NAMES 4

struct throttle_name {
	uint32_t hash;	/* of the user name (seeded); count 0 = free slot */
	uint32_t count; /* its part of the entry's failures */
};

struct throttle_entry {
	uint8_t key[KEY_LEN];
	int32_t hnext;	     /* next in the hash chain, or in the free list */
	int32_t prev, next;  /* recency list */
	uint32_t failures;   /* in the current window */
	uint64_t window_ms;  /* when the current window started */
	uint64_t blocked_to; /* blocked while now < this */
	uint32_t blocked_by; /* hash of the name whose attempt started the block */
	struct throttle_name names[NAMES];
};

struct throttle {
	pthread_mutex_t lock;
	unsigned failures, window_ms, block_ms;
	size_t cap, count;
	uint32_t mask; /* buckets - 1 */
	int32_t *buckets;
	struct throttle_entry *e;
	int32_t free_head;
	int32_t head, tail; /* recency list: head = most recent */
	uint64_t seed;
};

static void key_make(const struct sockaddr_storage *ss, uint8_t *key)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(key, 0, KEY_LEN);
	if (ss->ss_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;

		if (memcmp(a, v4mapped, 12) == 0) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8); /* the /64 */
		}
	}
}

/* FNV-1a, seeded per table so the chains cannot be predicted from outside. */
static uint32_t key_hash(const struct throttle *t, const uint8_t *key)
{
	uint64_t h = 0xcbf29ce484222325ull ^ t->seed;

	for (size_t i = 0; i < KEY_LEN; i++) {
		h ^= key[i];
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h ^ (h >> 32)) & t->mask;
}

static uint32_t name_hash(const struct throttle *t, const char *user)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (t->seed * 31);

	for (const char *p = user ? user : ""; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* The slot of the name in x: its own, else a free one, else the one with
 * the fewest failures (those then stay in the address's count for good). */
static struct throttle_name *name_slot(struct throttle_entry *x, uint32_t hash)
{
	struct throttle_name *best = &x->names[0];

	for (int k = 0; k < NAMES; k++) {
		if (x->names[k].count != 0 && x->names[k].hash == hash)
			return &x->names[k];
		if (x->names[k].count < best->count)
			best = &x->names[k];
	}
	best->hash = hash;
	best->count = 0;
	return best;
}

static void entry_forget(struct throttle_entry *x)
{
	x->failures = 0;
	memset(x->names, 0, sizeof(x->names));
}

static int32_t find(const struct throttle *t, const uint8_t *key)
{
	for (int32_t i = t->buckets[key_hash(t, key)]; i != NIL; i = t->e[i].hnext)
		if (memcmp(t->e[i].key, key, KEY_LEN) == 0)
			return i;
	return NIL;
}

static void lru_unlink(struct throttle *t, int32_t i)
{
	struct throttle_entry *x = &t->e[i];

	if (x->prev != NIL)
		t->e[x->prev].next = x->next;
	else
		t->head = x->next;
	if (x->next != NIL)
		t->e[x->next].prev = x->prev;
	else
		t->tail = x->prev;
	x->prev = x->next = NIL;
}

static void lru_push(struct throttle *t, int32_t i)
{
	t->e[i].prev = NIL;
	t->e[i].next = t->head;
	if (t->head != NIL)
		t->e[t->head].prev = i;
	t->head = i;
	if (t->tail == NIL)
		t->tail = i;
}

/* Take entry i out of the index and the list, onto the free list. */
static void entry_remove(struct throttle *t, int32_t i)
{
	int32_t *link = &t->buckets[key_hash(t, t->e[i].key)];

	while (*link != i)
		link = &t->e[*link].hnext;
	*link = t->e[i].hnext;
	lru_unlink(t, i);
	t->e[i].hnext = t->free_head;
	t->free_head = i;
	t->count--;
}

/* A slot for key: a free one, else the least recently seen entry that is
 * not blocked at now, else the least recently seen. Blocked entries are
 * spared so a client cannot lift its own block by failing from enough
 * other addresses to push it out. */
static int32_t entry_add(struct throttle *t, const uint8_t *key, uint64_t now)
{
	int32_t i;

	if (t->free_head == NIL) {
		int32_t victim = t->tail;

		for (i = t->tail; i != NIL; i = t->e[i].prev) {
			if (now >= t->e[i].blocked_to) {
				victim = i;
				break;
			}
		}
		entry_remove(t, victim);
	}
	i = t->free_head;
	t->free_head = t->e[i].hnext;
	memset(&t->e[i], 0, sizeof(t->e[i]));
	memcpy(t->e[i].key, key, KEY_LEN);
	uint32_t b = key_hash(t, key);
	t->e[i].hnext = t->buckets[b];
	t->buckets[b] = i;
	t->e[i].prev = t->e[i].next = NIL;
	lru_push(t, i);
	t->count++;
	return i;
}

static void table_clear(struct throttle *t)
{
	for (uint32_t b = 0; b <= t->mask; b++)
		t->buckets[b] = NIL;
	for (size_t i = 0; i < t->cap; i++)
		t->e[i].hnext = i + 1 < t->cap ? (int32_t)(i + 1) : NIL;
	t->free_head = 0;
	t->head = t->tail = NIL;
	t->count = 0;
}

struct throttle *throttle_new(size_t capacity, unsigned failures, unsigned window_ms,
			      unsigned block_ms)
{
	struct throttle *t;
	size_t buckets = 1;

	if (capacity == 0)
		capacity = THROTTLE_CAPACITY;
	if (capacity > (size_t)INT32_MAX / 2)
		return NULL;
	while (buckets < capacity)
		buckets *= 2;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->e = calloc(capacity, sizeof(*t->e));
	t->buckets = calloc(buckets, sizeof(*t->buckets));
	if (t->e == NULL || t->buckets == NULL || pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t->e);
		free(t->buckets);
		free(t);
		return NULL;
	}
	/* Only the hash chains depend on it; a fixed seed is a fallback, not
	 * a failure. */
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != (ssize_t)sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t;
	t->cap = capacity;
	t->mask = (uint32_t)(buckets - 1);
	table_clear(t);
	t->failures = failures;
	t->window_ms = window_ms;
	t->block_ms = block_ms;
	return t;
}

void throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->e);
	free(t->buckets);
	free(t);
}

void throttle_configure(struct throttle *t, unsigned failures, unsigned window_ms,
			unsigned block_ms)
{
	pthread_mutex_lock(&t->lock);
	t->failures = failures;
	t->window_ms = window_ms;
	t->block_ms = block_ms;
	if (failures == 0)
		table_clear(t);
	pthread_mutex_unlock(&t->lock);
}

bool throttle_blocked(struct throttle *t, const struct sockaddr_storage *ip, uint64_t now)
{
	uint8_t key[KEY_LEN];
	bool blocked = false;

	key_make(ip, key);
	pthread_mutex_lock(&t->lock);
	if (t->failures != 0) {
		int32_t i = find(t, key);
		blocked = i != NIL && now < t->e[i].blocked_to;
	}
	pthread_mutex_unlock(&t->lock);
	return blocked;
}

/* Has x's window run out at now? Each worker's loop caches its own clock,
 * so a time a little before the window's start comes from another thread
 * and is inside the window, not a reason to start a new one (that would
 * forget the failures of attempts made at once from several workers). */
static bool window_over(const struct throttle *t, const struct throttle_entry *x, uint64_t now)
{
	return now > x->window_ms && now - x->window_ms >= t->window_ms;
}

bool throttle_has_failures(struct throttle *t, const struct sockaddr_storage *ip, uint64_t now)
{
	uint8_t key[KEY_LEN];
	bool any = false;

	key_make(ip, key);
	pthread_mutex_lock(&t->lock);
	if (t->failures != 0) {
		int32_t i = find(t, key);
		const struct throttle_entry *x = i != NIL ? &t->e[i] : NULL;

		any = x != NULL &&
		      (now < x->blocked_to || (x->failures > 0 && !window_over(t, x, now)));
	}
	pthread_mutex_unlock(&t->lock);
	return any;
}

/* Count one failure of user at entry i, under the lock: true when it
 * started a block. */
static bool entry_count_failure(struct throttle *t, int32_t i, const char *user, uint64_t now)
{
	struct throttle_entry *x = &t->e[i];
	bool started = false;

	if (x->blocked_to != 0 && now >= x->blocked_to) {
		/* A block that has run out: count afresh. */
		x->blocked_to = 0;
		entry_forget(x);
	}
	/* The window starts at the first failure; one that has run out
	 * starts again with this one. */
	if (x->failures == 0 || window_over(t, x, now)) {
		x->window_ms = now;
		entry_forget(x);
	}
	uint32_t hash = name_hash(t, user);
	x->failures++;
	name_slot(x, hash)->count++;
	if (x->failures >= t->failures) {
		x->blocked_to = now + t->block_ms;
		x->blocked_by = hash;
		started = true;
	}
	lru_unlink(t, i);
	lru_push(t, i);
	return started;
}

bool throttle_record_failure(struct throttle *t, const struct sockaddr_storage *ip,
			     const char *user, uint64_t now)
{
	uint8_t key[KEY_LEN];
	bool started = false;

	key_make(ip, key);
	pthread_mutex_lock(&t->lock);
	if (t->failures != 0) {
		int32_t i = find(t, key);
		if (i == NIL)
			i = entry_add(t, key, now);
		if (now >= t->e[i].blocked_to)
			started = entry_count_failure(t, i, user, now);
	}
	pthread_mutex_unlock(&t->lock);
	return started;
}

enum throttle_verdict throttle_attempt(struct throttle *t, const struct sockaddr_storage *ip,
				       const char *user, uint64_t now)
{
	uint8_t key[KEY_LEN];
	enum throttle_verdict v = THROTTLE_COUNTED;

	key_make(ip, key);
	pthread_mutex_lock(&t->lock);
	if (t->failures != 0) {
		int32_t i = find(t, key);
		if (i != NIL && now < t->e[i].blocked_to) {
			v = THROTTLE_BLOCKED;
		} else {
			if (i == NIL)
				i = entry_add(t, key, now);
			if (entry_count_failure(t, i, user, now))
				v = THROTTLE_BLOCK_STARTED;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return v;
}

/* Take back failures of user at ip: `take` of them (UINT32_MAX: all) and
 * the block its own attempt started, when `proven` (a right password) or
 * once the count is below the limit again; forget the entry when nothing
 * is left to remember. */
static void throttle_credit(struct throttle *t, const struct sockaddr_storage *ip, const char *user,
			    uint32_t take, bool proven)
{
	uint8_t key[KEY_LEN];
	uint32_t hash = name_hash(t, user);

	key_make(ip, key);
	pthread_mutex_lock(&t->lock);
	int32_t i = find(t, key);
	if (i != NIL) {
		struct throttle_entry *x = &t->e[i];

		for (int k = 0; k < NAMES; k++) {
			if (x->names[k].count == 0 || x->names[k].hash != hash)
				continue;
			uint32_t n = take < x->names[k].count ? take : x->names[k].count;
			x->names[k].count -= n;
			x->failures -= n < x->failures ? n : x->failures;
			break;
		}
		if (x->blocked_to != 0 && x->blocked_by == hash &&
		    (proven || x->failures < t->failures))
			x->blocked_to = 0;
		if (x->failures == 0 && x->blocked_to == 0)
			entry_remove(t, i);
	}
	pthread_mutex_unlock(&t->lock);
}

void throttle_uncount(struct throttle *t, const struct sockaddr_storage *ip, const char *user)
{
	throttle_credit(t, ip, user, 1, false);
}

/* The attempt that started a block may be this login's own (counted when
 * it was submitted): it proved the user right, so the block goes; the
 * other names' failures stay. */
void throttle_record_success(struct throttle *t, const struct sockaddr_storage *ip,
			     const char *user)
{
	throttle_credit(t, ip, user, UINT32_MAX, true);
}

size_t throttle_count(struct throttle *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
