/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Asynchronous name resolution: one c-ares channel per worker, driven by the
 * worker's loop (socket-state callback + a timer), with a small TTL cache. */
#ifndef HOPSOCKS_RESOLVE_H
#define HOPSOCKS_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"

struct loop;

#define RESOLVE_MAX_ADDRS 8

struct resolve_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

struct resolve_result {
	size_t n;
	struct resolve_addr addr[RESOLVE_MAX_ADDRS];
};

/* status: 0, or a negative code: -ENOENT name not found, -ETIMEDOUT DNS
 * timed out, -EIO other resolver failure. */
typedef void (*resolve_fn)(void *arg, int status, const struct resolve_result *res);

struct resolver;
struct resolve_query;

struct resolver *resolver_new(struct loop *loop, const struct config *cfg, char *err,
			      size_t errlen);
/* Outstanding queries end without calling their callbacks. */
void resolver_free(struct resolver *r);
/* Apply a reloaded configuration: DNS servers, address order, cache size
 * and TTL cap (the cache starts empty). Queries in flight finish with the
 * servers they were sent to. */
void resolver_reconfigure(struct resolver *r, const struct config *cfg);

/* Answers at once, without I/O, for IP literals and cached names: fills
 * out (already ordered) and returns true. */
bool resolver_lookup_now(struct resolver *r, const char *name, struct resolve_result *out);
/* Start an asynchronous lookup. fn is always called later from the loop,
 * never from inside this call. Returns NULL if out of memory. */
struct resolve_query *resolver_lookup(struct resolver *r, const char *name, resolve_fn fn,
				      void *arg);
/* The name an address has (its PTR record, or the hosts file's name for
 * it), for SOCKS5 RESOLVE_PTR. status as for resolve_fn; name is NULL
 * unless status is 0. Called later from the loop, as for resolver_lookup.
 * Returns NULL if out of memory. */
typedef void (*resolve_name_fn)(void *arg, int status, const char *name);
struct resolve_query *resolver_reverse(struct resolver *r, const struct resolve_addr *addr,
				       resolve_name_fn fn, void *arg);
/* The callback (of either kind) will not be called. */
void resolver_cancel(struct resolve_query *q);

/* ---- a test seam: tests/fuzz/fuzz_session.c answers from its input ----
 * With a hook set, resolver_lookup hands every name that is not a literal
 * or cached to hook instead of the hosts file and c-ares; the hook (then
 * or later) calls resolver_answer exactly once per query, cancelled or
 * not, which delivers the answer from the loop and frees the query. The
 * server never sets one. */
typedef void (*resolve_hook_fn)(void *arg, const char *name, struct resolve_query *q);
void resolver_set_hook(struct resolver *r, resolve_hook_fn hook, void *arg);
/* status and res as resolve_fn takes them (res is copied; NULL on error). */
void resolver_answer(struct resolve_query *q, int status, const struct resolve_result *res);

/* Fill sa (port in host order) from a resolved address; returns its length. */
socklen_t resolve_addr_to_sockaddr(const struct resolve_addr *a, uint16_t port,
				   struct sockaddr_storage *sa);
/* Apply an address-order policy in place (stable). */
void resolve_order(struct resolve_result *res, enum config_addr_order order);

/* ---- the cache (exposed for unit tests) ---- */

struct dns_cache;
struct dns_cache *dns_cache_new(size_t slots);
void dns_cache_free(struct dns_cache *c);
bool dns_cache_get(struct dns_cache *c, const char *name, uint64_t now_ms,
		   struct resolve_result *out);
void dns_cache_put(struct dns_cache *c, const char *name, const struct resolve_result *res,
		   uint64_t expires_ms);

#endif
