/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Hop health and hop selection. See chain_health.h. The tunnel that uses
 * them is session/chain.c. */
#include "policy/chain_health.h"

#include <stdlib.h>
#include <string.h>

#include "proto/hop.h"

/* ---- health ---- */

struct chain_health *chain_health_new(const struct config *cfg)
{
	struct chain_health *h = calloc(cfg->nchains ? cfg->nchains : 1, sizeof(*h));
	if (!h)
		return NULL;
	for (size_t i = 0; i < cfg->nchains; i++) {
		h[i].nhops = cfg->chains[i].nhops;
		h[i].down_until_ms = calloc(h[i].nhops, sizeof(*h[i].down_until_ms));
		if (!h[i].down_until_ms) {
			chain_health_free(h, i);
			return NULL;
		}
	}
	return h;
}

void chain_health_free(struct chain_health *h, size_t nchains)
{
	if (!h)
		return;
	for (size_t i = 0; i < nchains; i++)
		free(h[i].down_until_ms);
	free(h);
}

static const struct config_chain *chain_find(const struct config *cfg, const char *name,
					     size_t *index)
{
	for (size_t i = 0; i < cfg->nchains; i++)
		if (strcmp(cfg->chains[i].name, name) == 0) {
			*index = i;
			return &cfg->chains[i];
		}
	return NULL;
}

/* The same upstream, as far as its health goes: a changed password may be
 * what fixes a hop that refused us, so it makes another hop. */
static bool chain_same_hop(const struct hop *a, const struct hop *b)
{
	return strcmp(a->display, b->display) == 0 && a->has_pass == b->has_pass &&
	       strcmp(a->pass, b->pass) == 0;
}

static bool chain_same_hops(const struct config_chain *a, const struct config_chain *b)
{
	if (a->nhops != b->nhops)
		return false;
	for (size_t i = 0; i < a->nhops; i++)
		if (!chain_same_hop(&a->hops[i], &b->hops[i]))
			return false;
	return true;
}

size_t chain_health_carry(struct chain_health *to, const struct config *to_cfg,
			  const struct chain_health *from, const struct config *from_cfg,
			  uint64_t now_ms)
{
	size_t still_down = 0;
	for (size_t i = 0; i < to_cfg->nchains; i++) {
		const struct config_chain *nc = &to_cfg->chains[i];
		size_t j;
		const struct config_chain *oc = chain_find(from_cfg, nc->name, &j);
		if (!oc)
			continue;
		if (chain_same_hops(nc, oc))
			atomic_store(&to[i].next_start, atomic_load(&from[j].next_start));
		uint64_t latest = now_ms + nc->retry_dead_ms;
		for (size_t h = 0; h < nc->nhops; h++)
			for (size_t k = 0; k < oc->nhops; k++) {
				if (!chain_same_hop(&nc->hops[h], &oc->hops[k]))
					continue;
				uint64_t until = atomic_load(&from[j].down_until_ms[k]);
				if (until <= now_ms)
					break;
				atomic_store(&to[i].down_until_ms[h],
					     until < latest ? until : latest);
				still_down++;
				break;
			}
	}
	return still_down;
}

bool chain_health_hop_up(const struct chain_health *h, size_t i, uint64_t now)
{
	return atomic_load_explicit(&h->down_until_ms[i], memory_order_relaxed) <= now;
}

uint64_t chain_health_down_for(const struct chain_health *h, size_t i, uint64_t now)
{
	uint64_t until = atomic_load_explicit(&h->down_until_ms[i], memory_order_relaxed);
	return until > now ? until - now : 0;
}

void chain_health_mark_down(struct chain_health *h, size_t hop, uint64_t until_ms)
{
	atomic_store_explicit(&h->down_until_ms[hop], until_ms, memory_order_relaxed);
}

/* ---- choosing hops ---- */

/* The hops a path can hold (the config parser caps chains at the same). */
static size_t chain_nhops(const struct config_chain *c)
{
	return c->nhops < CHAIN_MAX_HOPS ? c->nhops : CHAIN_MAX_HOPS;
}

/* Hops per connection for random and round-robin: length, 0 = all. */
static size_t chain_length(unsigned length, size_t nhops)
{
	return length == 0 || length > nhops ? nhops : length;
}

/* The first hop at or after from that is up and not yet in the path; n
 * when there is none. */
static size_t chain_next_free(size_t n, const bool *up, const bool *used, size_t from)
{
	while (from < n && (!up[from] || used[from]))
		from++;
	return from;
}

size_t chain_select_rr_proxychains(size_t n, const bool *up, size_t want, unsigned *offset,
				   uint8_t *path)
{
	bool used[CHAIN_MAX_HOPS] = { false };
	size_t off = *offset < n ? *offset : 0, alive = 0, got = 0;

	for (size_t i = 0; i < n; i++)
		alive += up[i];
	/* proxychains refuses the connection rather than use fewer hops. */
	if (want == 0 || alive < want)
		return 0;
	while (got < want) {
		size_t i = chain_next_free(n, up, used, off);
		/* Run off the end: the top hop if it is free (the offset stays
		 * where it was), else the first free one from the top. */
		if (i < n)
			off = i;
		else if (up[0] && !used[0])
			i = 0;
		else
			off = i = chain_next_free(n, up, used, 0);
		used[i] = true;
		path[got++] = (uint8_t)i;
	}
	*offset = (unsigned)off + 1;
	return got;
}

size_t chain_select(const struct config_chain *c, const bool *up, unsigned rr, uint32_t rnd,
		    uint8_t *path)
{
	size_t n = chain_nhops(c);
	size_t want = chain_length(c->length, n);
	size_t got = 0;

	switch (c->mode) {
	case CONFIG_CHAIN_STRICT:
		for (size_t i = 0; i < n; i++) {
			if (!up[i])
				return 0; /* every hop is required */
			path[got++] = (uint8_t)i;
		}
		return got;
	case CONFIG_CHAIN_DYNAMIC:
		for (size_t i = 0; i < n; i++)
			if (up[i])
				path[got++] = (uint8_t)i;
		return got;
	case CONFIG_CHAIN_ROUND_ROBIN:
		if (c->pick_as_proxychains)
			return chain_select_rr_proxychains(n, up, want, &rr, path);
		for (size_t k = 0; k < n && got < want; k++) {
			size_t i = (rr + k) % n;
			if (up[i])
				path[got++] = (uint8_t)i;
		}
		return got;
	case CONFIG_CHAIN_RANDOM: {
		/* A partial Fisher-Yates shuffle of the hops that are up, driven
		 * by one random word (an LCG step per draw). */
		uint8_t pool[CHAIN_MAX_HOPS];
		size_t npool = 0;
		for (size_t i = 0; i < n; i++)
			if (up[i])
				pool[npool++] = (uint8_t)i;
		/* proxychains refuses the connection rather than use fewer. */
		if (c->pick_as_proxychains && npool < want)
			return 0;
		uint32_t x = rnd;
		for (size_t k = 0; k < npool && got < want; k++) {
			x = x * 1664525u + 1013904223u;
			size_t j = k + (x >> 8) % (npool - k);
			uint8_t tmp = pool[k];
			pool[k] = pool[j];
			pool[j] = tmp;
			path[got++] = pool[k];
		}
		return got;
	}
	}
	return 0;
}

size_t chain_health_pick(struct chain_health *h, const struct config_chain *c, uint64_t now_ms,
			 uint32_t rnd, uint8_t *path)
{
	bool up[CHAIN_MAX_HOPS];
	size_t n = chain_nhops(c);
	unsigned rr = 0;

	for (size_t i = 0; i < n; i++)
		up[i] = chain_health_hop_up(h, i, now_ms);
	if (c->mode == CONFIG_CHAIN_ROUND_ROBIN && c->pick_as_proxychains) {
		/* The next offset depends on the path taken, so compute both and
		 * publish the offset only if no other worker moved it meanwhile. */
		unsigned cur = atomic_load_explicit(&h->next_start, memory_order_relaxed), next;
		size_t got;
		do {
			next = cur;
			got = chain_select_rr_proxychains(n, up, chain_length(c->length, n), &next,
							  path);
		} while (got > 0 && !atomic_compare_exchange_weak_explicit(
					    &h->next_start, &cur, next, memory_order_relaxed,
					    memory_order_relaxed));
		return got;
	}
	if (c->mode == CONFIG_CHAIN_ROUND_ROBIN)
		rr = atomic_fetch_add_explicit(&h->next_start, 1, memory_order_relaxed);
	return chain_select(c, up, rr, rnd, path);
}
