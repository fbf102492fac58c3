/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* A configuration snapshot: the parsed config, the user file and the chain
 * health that goes with its chains. Immutable once published (hop health
 * is atomics). A reload builds a new snapshot and publishes it; sessions
 * keep a reference to the one they started with, so a reload never pulls
 * the configuration out from under a session, and the old snapshot is
 * freed when its last session ends. */
#ifndef HOPSOCKS_SNAPSHOT_H
#define HOPSOCKS_SNAPSHOT_H

#include <stdatomic.h>

#include "config/config.h"

struct userdb;
struct chain_health;

struct snapshot {
	struct config cfg;
	struct userdb *users;	     /* NULL = no authentication */
	struct chain_health *health; /* one per cfg.chains entry */
	unsigned generation;	     /* 1 at start, +1 per successful reload */
	atomic_uint refs;
};

/* Takes ownership of cfg's contents and of users; builds the chain health.
 * The new snapshot has one reference. NULL when out of memory (then the
 * caller still owns cfg and users). */
struct snapshot *snapshot_new(struct config *cfg, struct userdb *users, unsigned generation);
void snapshot_ref(struct snapshot *s);
/* Frees everything with the last reference. */
void snapshot_unref(struct snapshot *s);

#endif
