/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* What the sessions of one thread share, and what they share with every
 * other thread. The layer above (a worker, src/server/) owns both and
 * fills them in; a session reaches its owner only through these, and
 * tells it that it ended through session_ended, so nothing in src/session/
 * includes a server header. Types only. */
#ifndef HOPSOCKS_SESSION_CTX_H
#define HOPSOCKS_SESSION_CTX_H

#include <stdatomic.h>

#include "base/log.h"
#include "net/net_ctx.h"

struct auth_cache;
struct auth_done_queue;
struct auth_pool;
struct limits;
struct session;
struct snapshot;
struct throttle;
struct udp_scratch;

/* Process-wide, one for all workers; lives as long as the process. */
struct session_shared {
	atomic_long connections;     /* open client connections, all workers */
	/* The last session id given out. Next to connections, which every
	 * accept changes too: taking an id costs no cache line of its own. */
	atomic_uint_fast64_t session_ids;
	struct auth_pool *auth_pool; /* NULL until started, and after it stopped */
	struct throttle *throttle;   /* failed authentications per client address */
	struct limits *limits;	     /* sessions per client address and per user */
};

/* Per thread: one per worker. */
struct session_ctx {
	struct net_ctx net;
	struct session_shared *shared;
	struct snapshot *snap;	  /* what new sessions start with; swapped on reload */
	struct session *sessions; /* every live session, for shutdown and reload */
	struct auth_cache *auth_cache;
	struct auth_done_queue *auth_done; /* where the pool returns verification jobs */
	/* UDP batch receive slots and send queue (laid out in udp.c), shared
	 * by the thread's associations; allocated at the first datagram and
	 * freed with free() by the owner */
	struct udp_scratch *udp_scratch;
	/* A session has ended: the owner may be waiting for its last one
	 * (graceful stop). Called from session_close. */
	void (*session_ended)(struct session_ctx *ctx);
	/* "refused, out of memory" at most once a second per thread: under
	 * memory pressure every new connection would log it */
	struct log_every oom_log;
};

#endif
