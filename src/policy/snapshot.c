/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
#include "policy/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "config/config_load.h"
#include "policy/auth.h"
#include "policy/chain_health.h"

struct snapshot *snapshot_new(struct config *cfg, struct userdb *users, unsigned generation)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->health = chain_health_new(cfg);
	if (!s->health) {
		free(s);
		return NULL;
	}
	/* The config struct owns heap pointers: moving it is a shallow copy,
	 * after which the caller's copy must not be freed. */
	s->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	s->users = users;
	s->generation = generation;
	atomic_init(&s->refs, 1);
	return s;
}

void snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void snapshot_unref(struct snapshot *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	chain_health_free(s->health, s->cfg.nchains);
	userdb_free(s->users);
	config_free(&s->cfg);
	free(s);
}
