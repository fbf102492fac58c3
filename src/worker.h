/* A worker: one thread with its own loop, listening sockets (SO_REUSEPORT),
 * resolver, buffer pool, credential cache and sessions. Workers share only
 * the read-only server context and atomic counters. */
#ifndef HOPSOCKS_WORKER_H
#define HOPSOCKS_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "loop.h"
#include "relay.h"
#include "stats.h"

struct session;
struct chain_health;
struct resolver;

/* What every worker reads; owned by main and immutable while workers run. */
struct server {
	const struct config *cfg;
	const struct userdb *users; /* NULL = no authentication */
	struct auth_pool *auth_pool;
	struct chain_health *chain_health; /* one per cfg->chains entry */
	struct stats stats;
	atomic_long connections; /* open client connections, all workers */
};

struct listener {
	struct loop_io io;
	struct worker *w;
	const struct config_addr *addr;
};

struct worker {
	unsigned id;
	struct server *srv;
	pthread_t thread;
	bool started;

	struct loop *loop;
	struct resolver *resolver;
	struct buf_pool bufs;
	uint8_t *udp_scratch; /* one datagram's worth, shared by the worker's associations */
	struct auth_cache *auth_cache;
	struct auth_done_queue auth_done;
	struct loop_io auth_io;

	struct listener *listeners;
	size_t nlisteners;
	struct loop_timer accept_pause; /* re-enables accepting after EMFILE */

	int stop_fd; /* eventfd: main thread asks the worker to stop */
	struct loop_io stop_io;
	bool stopping;

	struct session *sessions; /* every live session, for shutdown */
};

/* Create the worker's loop, resolver and listening sockets. Errors are
 * written into err (e.g. "listen 127.0.0.1:1080: Address already in use"). */
int worker_init(struct worker *w, unsigned id, struct server *srv, char *err, size_t errlen);
int worker_start(struct worker *w);
/* Ask the worker to stop (thread-safe); worker_join waits for it. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);
void worker_destroy(struct worker *w);

#endif
