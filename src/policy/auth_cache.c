/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Auth cache (one per worker, not thread-safe): a keyed BLAKE2b digest of
 * (user, password, stored hash) per verified login, so repeated logins do
 * not pay for argon2 each time and the cache never holds a password. The
 * contract is in auth_cache.h. */
#include "policy/auth_cache.h"

#include "policy/auth_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define AUTH_CACHE_DIGEST      32
#define AUTH_CACHE_EMPTY       UINT32_MAX
#define AUTH_CACHE_MAX_ENTRIES (1u << 24)

struct auth_cache_entry {
	unsigned char digest[AUTH_CACHE_DIGEST];
	uint64_t inserted_ms;
	bool used;
};

/* Entries live in a ring in insertion order, so the slot after the newest
 * one holds the oldest: eviction is O(1). An open-addressing index (linear
 * probing, at most half full) maps a digest to its ring position. The
 * digest is a keyed hash, so its bits are uniform and safe to index by. */
struct auth_cache {
	unsigned char key[crypto_generichash_KEYBYTES];
	struct auth_cache_entry *ring;
	uint32_t *index;
	size_t max_entries;
	size_t index_mask;
	size_t next; /* ring position the next insert takes */
	size_t count;
	uint64_t max_age_ms;
};

static void auth_cache_absorb(crypto_generichash_state *st, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	unsigned char prefix[8];

	/* Length prefixes keep ("ab","c") and ("a","bc") apart. */
	for (int i = 0; i < 8; i++)
		prefix[i] = (unsigned char)((uint64_t)len >> (8 * i));
	crypto_generichash_update(st, prefix, sizeof prefix);
	if (len > 0)
		crypto_generichash_update(st, (const unsigned char *)s, len);
}

static void auth_cache_digest(const struct auth_cache *c, const char *user, const char *pass,
			      const char *hash, unsigned char out[AUTH_CACHE_DIGEST])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, c->key, sizeof c->key, AUTH_CACHE_DIGEST);
	auth_cache_absorb(&st, user);
	auth_cache_absorb(&st, pass);
	auth_cache_absorb(&st, hash);
	crypto_generichash_final(&st, out, AUTH_CACHE_DIGEST);
	/* The state has seen the password. */
	sodium_memzero(&st, sizeof st);
}

static size_t auth_cache_home(const struct auth_cache *c, const unsigned char *digest)
{
	uint64_t v;

	memcpy(&v, digest, sizeof v);
	return (size_t)v & c->index_mask;
}

/* Index slot holding digest, or the empty slot where it would go. */
static size_t auth_cache_probe(const struct auth_cache *c, const unsigned char *digest, bool *found)
{
	size_t i = auth_cache_home(c, digest);

	while (c->index[i] != AUTH_CACHE_EMPTY) {
		if (sodium_memcmp(c->ring[c->index[i]].digest, digest, AUTH_CACHE_DIGEST) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & c->index_mask;
	}
	*found = false;
	return i;
}

/* Remove index slot i and its ring entry. Backward-shift deletion keeps
 * every probe chain unbroken without tombstones. */
static void auth_cache_remove(struct auth_cache *c, size_t i)
{
	size_t mask = c->index_mask;
	size_t hole = i;
	size_t j = i;

	c->ring[c->index[i]].used = false;
	c->count--;
	c->index[hole] = AUTH_CACHE_EMPTY;
	for (;;) {
		j = (j + 1) & mask;
		if (c->index[j] == AUTH_CACHE_EMPTY)
			break;
		size_t home = auth_cache_home(c, c->ring[c->index[j]].digest);
		/* The entry at j may fill the hole if the hole lies on its
		 * probe path, i.e. between its home and j. */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			c->index[hole] = c->index[j];
			c->index[j] = AUTH_CACHE_EMPTY;
			hole = j;
		}
	}
}

struct auth_cache *auth_cache_new(size_t max_entries, uint64_t max_age_ms)
{
	struct auth_cache *c;
	size_t icap = 1;

	if (!auth_sodium_init())
		return NULL;
	if (max_entries > AUTH_CACHE_MAX_ENTRIES)
		max_entries = AUTH_CACHE_MAX_ENTRIES;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	crypto_generichash_keygen(c->key);
	c->max_entries = max_entries;
	c->max_age_ms = max_age_ms;
	if (max_entries == 0)
		return c; /* a cache that never holds anything */
	while (icap < 2 * max_entries)
		icap *= 2;
	c->ring = calloc(max_entries, sizeof(*c->ring));
	c->index = malloc(icap * sizeof(*c->index));
	if (c->ring == NULL || c->index == NULL) {
		auth_cache_free(c);
		return NULL;
	}
	memset(c->index, 0xff, icap * sizeof(*c->index)); /* all AUTH_CACHE_EMPTY */
	c->index_mask = icap - 1;
	return c;
}

void auth_cache_free(struct auth_cache *c)
{
	if (c == NULL)
		return;
	sodium_memzero(c->key, sizeof c->key);
	free(c->ring);
	free(c->index);
	free(c);
}

/* An entry is good while it is younger than max_age_ms (so 0 disables the
 * cache). A clock that went backwards also reads as too old. */
bool auth_cache_lookup(struct auth_cache *c, const char *user, const char *pass, const char *hash,
		       uint64_t now_ms)
{
	unsigned char digest[AUTH_CACHE_DIGEST];
	bool found;
	size_t i;

	if (c == NULL || c->max_entries == 0 || c->count == 0)
		return false;
	auth_cache_digest(c, user, pass, hash, digest);
	i = auth_cache_probe(c, digest, &found);
	sodium_memzero(digest, sizeof digest);
	if (!found)
		return false;
	const struct auth_cache_entry *e = &c->ring[c->index[i]];
	if (now_ms < e->inserted_ms || now_ms - e->inserted_ms >= c->max_age_ms) {
		auth_cache_remove(c, i);
		return false;
	}
	return true;
}

void auth_cache_insert(struct auth_cache *c, const char *user, const char *pass, const char *hash,
		       uint64_t now_ms)
{
	unsigned char digest[AUTH_CACHE_DIGEST];
	struct auth_cache_entry *e;
	bool found;
	size_t i;

	if (c == NULL || c->max_entries == 0)
		return;
	auth_cache_digest(c, user, pass, hash, digest);
	/* A re-insert moves the entry to the young end of the ring. */
	i = auth_cache_probe(c, digest, &found);
	if (found)
		auth_cache_remove(c, i);
	e = &c->ring[c->next];
	if (e->used) {
		/* The oldest entry: evict it to make room. */
		auth_cache_remove(c, auth_cache_probe(c, e->digest, &found));
	}
	memcpy(e->digest, digest, sizeof digest);
	e->inserted_ms = now_ms;
	e->used = true;
	i = auth_cache_probe(c, digest, &found);
	c->index[i] = (uint32_t)c->next;
	c->count++;
	c->next = (c->next + 1) % c->max_entries;
	sodium_memzero(digest, sizeof digest);
}

/* How many entries the cache holds (expired ones included until they are
 * looked up or evicted). For tests and statistics. */
size_t auth_cache_size(const struct auth_cache *c)
{
	return c != NULL ? c->count : 0;
}
