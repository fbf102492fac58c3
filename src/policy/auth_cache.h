/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The verified-credential cache (auth_cache.c): one per worker, not
 * thread-safe. */
#ifndef HOPSOCKS_AUTH_CACHE_H
#define HOPSOCKS_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Entries are a keyed BLAKE2b of (user, password, stored hash) with a
 * random key made when the cache is created, so the cache never holds a
 * password and a changed hash invalidates the entry. Only successes are
 * stored. Bounded in entries; entries older than max_age_ms are ignored. */
struct auth_cache;

struct auth_cache *auth_cache_new(size_t max_entries, uint64_t max_age_ms);
void auth_cache_free(struct auth_cache *c);
bool auth_cache_lookup(struct auth_cache *c, const char *user, const char *pass, const char *hash,
		       uint64_t now_ms);
void auth_cache_insert(struct auth_cache *c, const char *user, const char *pass, const char *hash,
		       uint64_t now_ms);
/* Entries held, expired ones included until looked up or evicted. */
size_t auth_cache_size(const struct auth_cache *c);

#endif
