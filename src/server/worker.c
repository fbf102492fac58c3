/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Worker threads: each runs its own loop with its own listening sockets
 * (SO_REUSEPORT lets the kernel spread connections across them). */
#include "server/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "config/config_value.h"
#include "net/resolve.h"
#include "policy/auth_cache.h"
#include "policy/snapshot.h"
#include "proto/target.h"
#include "server/service.h"
#include "session/session.h"
#include "session/session_list.h"

#define WORKER_ACCEPT_BATCH	  64
#define WORKER_ACCEPT_PAUSE_MS	  100
#define WORKER_LOG_EVERY_MS	  1000 /* log_every_due period for floods */
#define WORKER_LISTEN_BACKLOG	  1024
#define WORKER_SPARE_BUFFERS	  64
#define WORKER_AUTH_CACHE_ENTRIES 1024
#define WORKER_AUTH_CACHE_AGE_MS  (10 * 60 * 1000)
/* How often live sessions' bytes reach the counters (and the board). */
#define WORKER_FOLD_MS 1000

#define WORKER_CTL_STOP	  0x1u
#define WORKER_CTL_RELOAD 0x2u

/* ---- the shared snapshot ---- */

struct snapshot *server_snapshot(struct server *srv)
{
	pthread_mutex_lock(&srv->snap_lock);
	struct snapshot *s = srv->snap;
	snapshot_ref(s);
	pthread_mutex_unlock(&srv->snap_lock);
	return s;
}

void server_publish(struct server *srv, struct snapshot *snap)
{
	pthread_mutex_lock(&srv->snap_lock);
	struct snapshot *old = srv->snap;
	srv->snap = snap;
	pthread_mutex_unlock(&srv->snap_lock);
	/* Outside the lock: the last unref frees, which takes a while. */
	snapshot_unref(old);
}

/* ---- live sessions: the fold and the board ---- */

/* Fill the spare array with the top sessions and swap it in: the lock is
 * held for a pointer swap, never while sessions are walked. */
static void worker_publish_board(struct worker *w)
{
	if (!w->board_spare) {
		w->board_spare = calloc(SESSION_LIST_MAX, sizeof(*w->board_spare));
		if (!w->board_spare)
			return; /* the page keeps the last list; the next tick tries again */
	}
	size_t total = 0;
	size_t n = session_list_top(&w->ctx, w->board_spare, SESSION_LIST_MAX, &total);
	pthread_mutex_lock(&w->board.lock);
	struct session_info *old = w->board.items;
	w->board.items = w->board_spare;
	w->board.n = n;
	w->board.total = total;
	pthread_mutex_unlock(&w->board.lock);
	w->board_spare = old;
}

/* Armed at accept and re-armed while sessions live, so an idle worker
 * does not wake up for it. The tick after the last session ended
 * publishes the empty board. */
static void worker_on_fold(struct loop *loop, void *arg)
{
	struct worker *w = arg;
	session_list_fold(&w->ctx);
	if (atomic_load_explicit(&w->srv->boards_wanted, memory_order_relaxed))
		worker_publish_board(w);
	if (w->ctx.sessions)
		loop_timer_set(loop, &w->fold, WORKER_FOLD_MS);
}

size_t server_sessions_top(struct server *srv, struct session_info *out, size_t cap, size_t *total)
{
	/* Each board's best, merged: append, sort, keep cap. */
	struct session_info *all = calloc(2 * cap + 1, sizeof(*all));
	size_t n = 0;
	*total = 0;
	if (!all)
		return 0;
	for (struct worker_board *b = srv->boards; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		size_t k = b->n < cap ? b->n : cap;
		if (k)
			memcpy(all + n, b->items, k * sizeof(*all));
		*total += b->total;
		pthread_mutex_unlock(&b->lock);
		n += k;
		qsort(all, n, sizeof(*all), session_info_cmp);
		if (n > cap)
			n = cap;
	}
	if (n)
		memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

/* ---- accepting ---- */

static void worker_set_accepting(struct worker *w, bool on)
{
	for (struct listener *l = w->listeners; l; l = l->next)
		if (l->io.fd >= 0)
			loop_io_set(w->ctx.net.loop, &l->io, on ? LOOP_READ : 0);
}

static void worker_on_accept_pause_end(struct loop *loop, void *arg)
{
	struct worker *w = arg;
	if (!w->stopping)
		worker_set_accepting(w, true);
}

/* Out of descriptors: accepting again at once would spin on the same
 * error, so stop listening for a moment and let sessions close. */
static void worker_pause_accepting(struct worker *w, int err)
{
	unsigned skipped;
	/* While descriptors stay exhausted this runs every pause. */
	if (log_every_due(&w->accept_fail_log, loop_now_ms(w->ctx.net.loop), WORKER_LOG_EVERY_MS,
			  &skipped)) {
		char ebuf[64];
		log_warn(
			"accept: %s; pausing new connections for %d ms (%u more pauses not logged)",
			util_strerror(err, ebuf, sizeof(ebuf)), WORKER_ACCEPT_PAUSE_MS, skipped);
	}
	worker_set_accepting(w, false);
	loop_timer_set(w->ctx.net.loop, &w->accept_pause, WORKER_ACCEPT_PAUSE_MS);
}

static bool worker_admit(struct worker *w, const struct sockaddr *peer)
{
	struct server *srv = w->srv;
	long n = atomic_fetch_add(&srv->shared.connections, 1) + 1;
	unsigned max = w->ctx.snap->cfg.max_connections;
	if (max == 0 || n <= (long)max)
		return true;
	atomic_fetch_sub(&srv->shared.connections, 1);
	stats_inc(&srv->stats, refused_max_connections);
	/* Every connection past the limit lands here: one line a period. */
	unsigned skipped;
	if (log_every_due(&w->max_conn_log, loop_now_ms(w->ctx.net.loop), WORKER_LOG_EVERY_MS,
			  &skipped)) {
		char who[64];
		sockaddr_format(peer, who, sizeof(who));
		log_warn("client %s: refused, max-connections (%u) reached (%u more refused "
			 "since the last line)",
			 who, max, skipped);
	}
	return false;
}

static void worker_on_accept(struct loop *loop, void *arg, unsigned events)
{
	struct listener *l = arg;
	struct worker *w = l->w;

	for (int i = 0; i < WORKER_ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(l->io.fd, (struct sockaddr *)&peer, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				worker_pause_accepting(w, errno);
			return;
		}
		if (!worker_admit(w, (struct sockaddr *)&peer)) {
			close(fd);
			continue;
		}
		stats_listener_accepted(l->accepted);
		session_start(&w->ctx, fd, (struct sockaddr *)&peer, len);
		if (!loop_timer_armed(&w->fold))
			loop_timer_set(loop, &w->fold, WORKER_FOLD_MS);
	}
}

static void worker_on_auth_done(struct loop *loop, void *arg, unsigned events)
{
	struct worker *w = arg;
	struct auth_job *job = auth_done_queue_take(&w->auth_done);
	while (job) {
		struct auth_job *next = job->next;
		session_on_auth_done(job);
		auth_job_free(job);
		job = next;
	}
}

/* ---- listeners ---- */

static void worker_close_listener(struct worker *w, struct listener *l)
{
	int fd = l->io.fd;
	loop_io_del(w->ctx.net.loop, &l->io);
	if (fd >= 0)
		close(fd);
	/* Its accept event may still be queued in this round. */
	loop_defer_free(w->ctx.net.loop, free, l);
}

static void worker_close_listeners(struct worker *w)
{
	while (w->listeners) {
		struct listener *l = w->listeners;
		w->listeners = l->next;
		worker_close_listener(w, l);
	}
}

/* What an administrator who hit EACCES on a low port can do about it. */
#define PRIVILEGED_PORT_HINT                                                                  \
	" (a port below 1024 needs CAP_NET_BIND_SERVICE: start hopsocks as root with "        \
	"'user NAME' to drop privileges after binding, use the systemd unit, which grants "   \
	"the capability, 'setcap cap_net_bind_service=+ep' on the binary, or a port of 1024 " \
	"or above)"

static int worker_open_listener(struct worker *w, const struct config *cfg,
				const struct config_addr *addr, char *err, size_t errlen)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->w = w;
	l->addr = *addr;
	l->accepted = stats_listener_counter(&w->srv->stats, addr->text);
	loop_io_init(&l->io, worker_on_accept, l);
	const struct sockaddr *sa = (const struct sockaddr *)&addr->ss;
	/* An inherited socket is one accept queue shared by the workers; a
	 * worker that loses the race for a connection just gets EAGAIN. */
	int i = service_find_listen_fd(w->srv->listen_fds, w->srv->nlisten_fds, sa, addr->len);
	int fd = i >= 0 ? service_listen_fd_dup(w->srv->listen_fds[i])
			: util_listen_tcp(sa, addr->len, WORKER_LISTEN_BACKLOG);
	if (fd >= 0) {
		/* Accepted sockets inherit TCP_NODELAY from their listener: one
		 * setsockopt here instead of one per connection. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	int rc =
		fd < 0 ? fd : loop_io_add(w->ctx.net.loop, &l->io, fd, w->stopping ? 0 : LOOP_READ);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		free(l);
		char ebuf[64];
		/* "FILE:LINE: listen ADDR: error" when the address came from the file. */
		config_err_at(cfg, addr->line, err, errlen, "listen %s: %s%s", addr->text,
			      util_strerror(rc, ebuf, sizeof(ebuf)),
			      rc == -EACCES && util_sa_port(&addr->ss) < 1024 ? PRIVILEGED_PORT_HINT
									      : "");
		return -1;
	}
	l->next = w->listeners;
	w->listeners = l;
	return 0;
}

static struct listener *worker_find_listener(struct worker *w, const struct config_addr *addr)
{
	for (struct listener *l = w->listeners; l; l = l->next)
		if (l->addr.len == addr->len && memcmp(&l->addr.ss, &addr->ss, addr->len) == 0)
			return l;
	return NULL;
}

/* Make the listening sockets match cfg: open the new addresses, close
 * the ones that are gone, leave the others (and their queues) alone. */
static void worker_reconcile_listeners(struct worker *w, const struct config *cfg)
{
	char err[CONFIG_ERR_MAX];
	for (struct listener *l = w->listeners; l; l = l->next)
		l->keep = false;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct listener *l = worker_find_listener(w, &cfg->listen[i]);
		if (l) {
			l->keep = true;
			continue;
		}
		if (worker_open_listener(w, cfg, &cfg->listen[i], err, sizeof(err)) < 0) {
			log_error("reload: worker %u: %s", w->id, err);
			continue;
		}
		w->listeners->keep = true;
		if (w->id == 0)
			log_info("reload: now listening on %s", cfg->listen[i].text);
	}
	for (struct listener **pl = &w->listeners; *pl;) {
		struct listener *l = *pl;
		if (l->keep) {
			pl = &l->next;
			continue;
		}
		*pl = l->next;
		if (w->id == 0)
			log_info("reload: no longer listening on %s", l->addr.text);
		worker_close_listener(w, l);
	}
}

/* ---- requests from the main thread ---- */

/* "relay": the kernel relay's pairs while it is chosen and loaded; pipes
 * unless it is "copy". Sessions already in the kernel relay stay there. */
static void worker_apply_relay(struct worker *w, const struct config *cfg)
{
	w->ctx.net.pools.kernel = w->kpairs.k ? &w->kpairs : NULL;
	w->ctx.net.pools.kernel_on = cfg->relay == CONFIG_RELAY_KERNEL && w->kpairs.k;
	w->ctx.net.pools.kernel_after = cfg->relay_after;
	pipe_pool_set_max(&w->pipes, cfg->relay == CONFIG_RELAY_COPY ? 0 : cfg->splice_pipes);
}

static void worker_apply_reload(struct worker *w)
{
	struct snapshot *snap = server_snapshot(w->srv);
	if (snap == w->ctx.snap) {
		snapshot_unref(snap);
		return;
	}
	struct snapshot *old = w->ctx.snap;
	w->ctx.snap = snap;
	resolver_reconfigure(w->ctx.net.resolver, &snap->cfg);
	worker_apply_relay(w, &snap->cfg);
	if (!w->stopping)
		worker_reconcile_listeners(w, &snap->cfg);
	session_on_reload(&w->ctx);
	snapshot_unref(old);
}

static void worker_drain_check(struct worker *w)
{
	if (w->stopping && !w->ctx.sessions)
		loop_stop(w->ctx.net.loop);
}

static void worker_on_drain_end(struct loop *loop, void *arg)
{
	struct worker *w = arg;
	session_close_all(&w->ctx, "shutdown");
	loop_stop(loop);
}

/* Graceful stop: no new clients; sessions still in their handshake end
 * now; relaying ones get the drain time to finish on their own. */
static void worker_begin_stop(struct worker *w)
{
	w->stopping = true;
	worker_close_listeners(w);
	loop_timer_cancel(w->ctx.net.loop, &w->accept_pause);
	unsigned drain = w->ctx.snap->cfg.drain_ms;
	if (drain == 0) {
		session_close_all(&w->ctx, "shutdown");
		loop_stop(w->ctx.net.loop);
		return;
	}
	session_close_unestablished(&w->ctx, "shutdown");
	loop_timer_set(w->ctx.net.loop, &w->drain, drain);
	worker_drain_check(w);
}

static void worker_on_ctl(struct loop *loop, void *arg, unsigned events)
{
	struct worker *w = arg;
	uint64_t v;
	ssize_t n = read(w->ctl_fd, &v, sizeof(v));
	(void)n;
	unsigned pending = atomic_exchange(&w->ctl_pending, 0);
	if (pending & WORKER_CTL_RELOAD)
		worker_apply_reload(w);
	if ((pending & WORKER_CTL_STOP) && !w->stopping)
		worker_begin_stop(w);
}

static void worker_ctl(struct worker *w, unsigned what)
{
	uint64_t one = 1;
	atomic_fetch_or(&w->ctl_pending, what);
	if (w->ctl_fd >= 0) {
		ssize_t n = write(w->ctl_fd, &one, sizeof(one));
		(void)n;
	}
}

void worker_stop(struct worker *w)
{
	worker_ctl(w, WORKER_CTL_STOP);
}

void worker_reload(struct worker *w)
{
	worker_ctl(w, WORKER_CTL_RELOAD);
}

/* The session layer's callback (ctx.session_ended). */
static void worker_on_session_ended(struct session_ctx *ctx)
{
	worker_drain_check(container_of(ctx, struct worker, ctx));
}

/* ---- life cycle ---- */

int worker_init(struct worker *w, unsigned id, struct server *srv, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->srv = srv;
	w->ctl_fd = -1;
	w->auth_done.eventfd = -1;
	pthread_mutex_init(&w->board.lock, NULL);
	w->board.next = srv->boards;
	srv->boards = &w->board;
	buf_pool_init(&w->bufs, WORKER_SPARE_BUFFERS);
	w->ctx.snap = server_snapshot(srv);
	pipe_pool_init(&w->pipes, w->ctx.snap->cfg.relay == CONFIG_RELAY_COPY
					  ? 0
					  : w->ctx.snap->cfg.splice_pipes);
	w->ctx.net.pools.bufs = &w->bufs;
	w->ctx.net.pools.pipes = &w->pipes;
	w->ctx.net.stats = &srv->stats;
	w->ctx.shared = &srv->shared;
	w->ctx.auth_done = &w->auth_done;
	w->ctx.session_ended = worker_on_session_ended;

	w->ctx.net.loop = loop_new();
	if (!w->ctx.net.loop) {
		snprintf(err, errlen, "cannot create event loop: %s", strerror(errno));
		return -1;
	}
	loop_timer_init(&w->accept_pause, worker_on_accept_pause_end, w);
	loop_timer_init(&w->drain, worker_on_drain_end, w);
	loop_timer_init(&w->fold, worker_on_fold, w);
	loop_io_init(&w->ctl_io, worker_on_ctl, w);
	loop_io_init(&w->auth_io, worker_on_auth_done, w);

	w->ctx.net.resolver = resolver_new(w->ctx.net.loop, &w->ctx.snap->cfg, err, errlen);
	if (!w->ctx.net.resolver)
		return -1;
	w->ctx.auth_cache = auth_cache_new(WORKER_AUTH_CACHE_ENTRIES, WORKER_AUTH_CACHE_AGE_MS);
	w->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!w->ctx.auth_cache || w->ctl_fd < 0 || auth_done_queue_init(&w->auth_done) < 0) {
		snprintf(err, errlen, "cannot set up worker %u: %s", id, strerror(errno));
		return -1;
	}
	if (loop_io_add(w->ctx.net.loop, &w->ctl_io, w->ctl_fd, LOOP_READ) < 0 ||
	    loop_io_add(w->ctx.net.loop, &w->auth_io, w->auth_done.eventfd, LOOP_READ) < 0) {
		snprintf(err, errlen, "cannot set up worker %u: %s", id, strerror(errno));
		return -1;
	}
	const struct config *cfg = &w->ctx.snap->cfg;
	for (size_t i = cfg->nlisten; i-- > 0;)
		if (worker_open_listener(w, cfg, &cfg->listen[i], err, errlen) < 0)
			return -1;
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int rc = loop_run(w->ctx.net.loop);
	if (rc < 0) {
		char ebuf[64];
		log_error("worker %u: event loop failed: %s", w->id,
			  util_strerror(rc, ebuf, sizeof(ebuf)));
	}
	return NULL;
}

int worker_start(struct worker *w, uint32_t first_pair, uint32_t npairs)
{
	/* The kernel relay is known only now: it is checked after the
	 * privileges are dropped, which is after the workers bound. */
	if (w->srv->krelay && krelay_pool_init(&w->kpairs, w->srv->krelay, first_pair, npairs) < 0)
		return -ENOMEM;
	worker_apply_relay(w, &w->ctx.snap->cfg);
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0)
		return -rc;
	w->started = true;
	return 0;
}

void worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}

void worker_destroy(struct worker *w)
{
	if (w->ctx.net.loop) {
		session_close_all(&w->ctx, "shutdown");
		worker_close_listeners(w);
		loop_io_del(w->ctx.net.loop, &w->ctl_io);
		loop_io_del(w->ctx.net.loop, &w->auth_io);
		loop_timer_cancel(w->ctx.net.loop, &w->accept_pause);
		loop_timer_cancel(w->ctx.net.loop, &w->drain);
		loop_timer_cancel(w->ctx.net.loop, &w->fold);
	}
	resolver_free(w->ctx.net.resolver);
	/* Deferred frees (sessions and listeners closed above) run here. */
	loop_free(w->ctx.net.loop);
	if (w->ctl_fd >= 0)
		close(w->ctl_fd);
	if (w->auth_done.eventfd >= 0)
		auth_done_queue_destroy(&w->auth_done);
	auth_cache_free(w->ctx.auth_cache);
	buf_pool_destroy(&w->bufs);
	pipe_pool_destroy(&w->pipes);
	krelay_pool_destroy(&w->kpairs);
	free(w->ctx.udp_scratch);
	snapshot_unref(w->ctx.snap);
	if (w->srv) {
		/* No admin thread runs now (see struct worker_board). */
		for (struct worker_board **p = &w->srv->boards; *p; p = &(*p)->next) {
			if (*p == &w->board) {
				*p = w->board.next;
				break;
			}
		}
		pthread_mutex_destroy(&w->board.lock);
		free(w->board.items);
		free(w->board_spare);
	}
	memset(w, 0, sizeof(*w));
}
