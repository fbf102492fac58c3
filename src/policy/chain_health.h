/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Upstream chains as policy: which hops of a chain are up (hop health,
 * one per configured chain, shared by every worker through atomics), and
 * which hops a connection goes through (strict, dynamic, random,
 * round-robin). No I/O: the caller brings the clock and the random value.
 * The tunnel that dials and negotiates is session/chain.c. */
#ifndef HOPSOCKS_CHAIN_HEALTH_H
#define HOPSOCKS_CHAIN_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define CHAIN_MAX_HOPS 32

/* ---- health: one per configured chain, shared by every worker ---- */

struct chain_health {
	_Atomic uint64_t *down_until_ms; /* per hop; 0 or in the past = up */
	atomic_uint next_start;		 /* round-robin rotation */
	size_t nhops;
};

struct chain_health *chain_health_new(const struct config *cfg);
void chain_health_free(struct chain_health *h, size_t nchains);
/* A reload: carry what is known about hops that are still configured from
 * the running configuration (from, from_cfg) into the new one (to, to_cfg),
 * so a hop known to be dead is not handed every new client again. A hop is
 * the same hop when its chain has the same name and the hop the same URL
 * and password (its position may change); it stays down for the rest of
 * its back-off, but no longer than the new chain's retry-dead from now_ms.
 * A chain with the same hops in the same order keeps its round-robin
 * rotation. Returns how many hops were carried over still down. */
size_t chain_health_carry(struct chain_health *to, const struct config *to_cfg,
			  const struct chain_health *from, const struct config *from_cfg,
			  uint64_t now_ms);

/* Choose the hops for one connection (pure, for tests): up[i] says whether
 * hop i may be used now, rr is the round-robin counter, rnd a random value.
 * Writes hop indices into path and returns how many, 0 when the chain
 * cannot be used (strict with a hop down, or no hop up; for a chain from a
 * proxychains file, random or round-robin with fewer than length hops up).
 * A round-robin chain from a proxychains file takes rr as the offset of
 * chain_select_rr_proxychains(). */
size_t chain_select(const struct config_chain *c, const bool *up, unsigned rr, uint32_t rnd,
		    uint8_t *path);

/* Round robin as proxychains-ng (4.16, core.c) does it, for chains from a
 * proxychains file: the first hop is the first one up at or after
 * *offset; each next one the first up and not yet taken at or after the
 * last one picked, or, past the end of the list, hop 0 if it is free
 * (without moving on), else the first free one from the top. *offset
 * becomes one past the last hop picked before any wrap: with 3 hops and
 * length 2 the paths are [0,1], [2,0], [0,1], [2,0]... Returns the path
 * length, 0 when fewer than want hops are up (proxychains refuses the
 * connection then); *offset is then unchanged. Pure, for tests. */
size_t chain_select_rr_proxychains(size_t n, const bool *up, size_t want, unsigned *offset,
				   uint8_t *path);

/* Is hop i of the chain usable at now (not marked down, or its back-off
 * is over)? */
bool chain_health_hop_up(const struct chain_health *h, size_t i, uint64_t now);
/* How long hop i stays down from now (0: it is up). */
uint64_t chain_health_down_for(const struct chain_health *h, size_t i, uint64_t now);
/* Mark hop down until until_ms (every worker sees it at once). */
void chain_health_mark_down(struct chain_health *h, size_t hop, uint64_t until_ms);
/* The hops for one connection at now_ms: chain_select over the hops that
 * are up, round-robin taking the next turn of the shared rotation, rnd a
 * random value for random chains. Returns how many, 0 when the chain
 * cannot be used. */
size_t chain_health_pick(struct chain_health *h, const struct config_chain *c, uint64_t now_ms,
			 uint32_t rnd, uint8_t *path);

#endif
