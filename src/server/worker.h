/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* A worker: one thread with its own loop, listening sockets (SO_REUSEPORT),
 * resolver, buffer pool, credential cache and sessions. Workers share only
 * the read-only server context and atomic counters. */
#ifndef HOPSOCKS_WORKER_H
#define HOPSOCKS_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "base/stats.h"
#include "config/config.h"
#include "net/loop.h"
#include "net/relay.h"
#include "policy/auth.h"
#include "session/session_ctx.h"

struct snapshot;
struct session_info;

/* What a worker shows the status page of its live sessions: the ones with
 * the most bytes (SESSION_LIST_MAX), copied at each fold tick. The worker
 * fills a private array without the lock, then swaps it in under the
 * lock; the admin thread copies out under the lock. */
struct worker_board {
	pthread_mutex_t lock;
	struct session_info *items; /* NULL until the first publication */
	size_t n;		    /* entries in items */
	size_t total;		    /* the worker's live sessions, all of them */
	/* The server's list (server.boards). Linked by worker_init and
	 * unlinked by worker_destroy, on the main thread, while no admin
	 * thread runs: the admin thread starts after every worker_init and
	 * stops before the first worker_destroy. */
	struct worker_board *next;
};

/* What every worker shares. The configuration is reached through the
 * current snapshot, which a reload replaces (under snap_lock); everything
 * else here lives as long as the process. */
struct server {
	pthread_mutex_t snap_lock;
	struct snapshot *snap; /* the current one; the server holds a reference */
	/* Listening sockets systemd passed us (socket activation); each worker
	 * polls its own duplicate of the one for its address. Owned by main. */
	const int *listen_fds;
	size_t nlisten_fds;
	struct stats stats;
	/* What every session shares: the connection count, the verification
	 * pool, the throttle, the limits. */
	struct session_shared shared;
	/* Every worker's live-session board, for the status page, and
	 * whether anyone reads them: the admin thread sets it while it runs,
	 * and workers publish their boards only then. */
	struct worker_board *boards;
	atomic_bool boards_wanted;
	/* The kernel relay, loaded at start (NULL: not available); workers
	 * use it while the configuration says "relay kernel". */
	struct krelay *krelay;
};

/* The status page's session list: the up to cap live sessions of all
 * workers with the most bytes, most first, into out; *total is how many
 * live sessions the workers last published in all. Returns how many were
 * written. Thread-safe (takes each board's lock in turn). */
size_t server_sessions_top(struct server *srv, struct session_info *out, size_t cap, size_t *total);

/* The current snapshot, with a reference for the caller. */
struct snapshot *server_snapshot(struct server *srv);
/* Publish a new snapshot (taking over the caller's reference); the
 * previous one loses the server's reference. */
void server_publish(struct server *srv, struct snapshot *snap);

struct listener {
	struct loop_io io;
	struct worker *w;
	struct config_addr addr; /* a copy: the snapshot it came from may go */
	bool keep;		 /* scratch for reconciling with a new listen list */
	atomic_ulong *accepted;	 /* this address's counter in srv->stats (may be NULL) */
	struct listener *next;
};

struct worker {
	unsigned id;
	struct server *srv;
	pthread_t thread;
	bool started;

	/* What its sessions share: the loop, resolver and pools (ctx.net),
	 * the snapshot new sessions use (swapped on reload), the list of
	 * sessions, the credential cache, the UDP scratch area. src/session/
	 * sees the worker only through this. */
	struct session_ctx ctx;
	struct buf_pool bufs;
	struct pipe_pool pipes; /* for splicing bulk relays */
	struct krelay_pool kpairs; /* its share of the kernel relay's pairs */
	struct auth_done_queue auth_done;
	struct loop_io auth_io;

	struct listener *listeners;	/* one per listen address, this worker's own sockets */
	struct loop_timer accept_pause; /* re-enables accepting after EMFILE */
	/* Lines a flood of connections would repeat (log_every_due). */
	struct log_every accept_fail_log, max_conn_log;

	/* The main thread's requests (stop, reload): bits in ctl_pending,
	 * announced through the ctl_fd eventfd. */
	int ctl_fd;
	atomic_uint ctl_pending;
	struct loop_io ctl_io;
	bool stopping;
	struct loop_timer drain; /* graceful stop: the end of the drain time */

	/* Once a second while it has sessions: fold their bytes into the
	 * counters and, with an admin listener, publish the board. */
	struct loop_timer fold;
	struct worker_board board;
	struct session_info *board_spare; /* the array the next publication fills */
};

/* Create the worker's loop, resolver and listening sockets. Errors are
 * written into err (e.g. "listen 127.0.0.1:1080: Address already in use"). */
int worker_init(struct worker *w, unsigned id, struct server *srv, char *err, size_t errlen);
/* Start the thread. With the kernel relay loaded (srv->krelay), the
 * worker takes pairs first_pair .. first_pair + npairs - 1 for its
 * sessions. 0 or -errno. */
int worker_start(struct worker *w, uint32_t first_pair, uint32_t npairs);
/* Ask the worker to stop (thread-safe): it stops accepting, lets relaying
 * sessions finish for the drain time, then closes the rest; worker_join
 * waits for it. */
void worker_stop(struct worker *w);
/* Ask the worker to pick up the server's current snapshot (thread-safe). */
void worker_reload(struct worker *w);
void worker_join(struct worker *w);
void worker_destroy(struct worker *w);

#endif
