/* Worker threads: each runs its own loop with its own listening sockets
 * (SO_REUSEPORT lets the kernel spread connections across them). */
#include "worker.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "resolve.h"
#include "session.h"
#include "target.h"
#include "util.h"

#define WORKER_ACCEPT_BATCH	  64
#define WORKER_ACCEPT_PAUSE_MS	  100
#define WORKER_LISTEN_BACKLOG	  1024
#define WORKER_SPARE_BUFFERS	  64
#define WORKER_AUTH_CACHE_ENTRIES 1024
#define WORKER_AUTH_CACHE_AGE_MS  (10 * 60 * 1000)

static void worker_set_accepting(struct worker *w, bool on)
{
	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i].io.fd >= 0)
			loop_io_set(w->loop, &w->listeners[i].io, on ? LOOP_READ : 0);
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
	char ebuf[64];
	log_warn("accept: %s; pausing new connections for %d ms",
		 util_strerror(err, ebuf, sizeof(ebuf)), WORKER_ACCEPT_PAUSE_MS);
	worker_set_accepting(w, false);
	loop_timer_set(w->loop, &w->accept_pause, WORKER_ACCEPT_PAUSE_MS);
}

static bool worker_admit(struct worker *w, const struct sockaddr *peer)
{
	struct server *srv = w->srv;
	long n = atomic_fetch_add(&srv->connections, 1) + 1;
	unsigned max = srv->cfg->max_connections;
	if (max == 0 || n <= (long)max)
		return true;
	atomic_fetch_sub(&srv->connections, 1);
	stats_inc(&srv->stats, refused_max_connections);
	char who[64];
	sockaddr_format(peer, who, sizeof(who));
	log_warn("client %s: refused, max-connections (%u) reached", who, max);
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
		session_start(w, fd, (struct sockaddr *)&peer, len);
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

static void worker_close_listeners(struct worker *w)
{
	for (size_t i = 0; i < w->nlisteners; i++) {
		struct listener *l = &w->listeners[i];
		int fd = l->io.fd;
		loop_io_del(w->loop, &l->io);
		if (fd >= 0)
			close(fd);
	}
}

static void worker_on_stop(struct loop *loop, void *arg, unsigned events)
{
	struct worker *w = arg;
	uint64_t v;
	ssize_t n = read(w->stop_fd, &v, sizeof(v));
	(void)n;
	w->stopping = true;
	worker_close_listeners(w);
	session_close_all(w, "shutdown");
	loop_stop(loop);
}

static int worker_open_listeners(struct worker *w, char *err, size_t errlen)
{
	const struct config *cfg = w->srv->cfg;
	w->listeners = calloc(cfg->nlisten, sizeof(*w->listeners));
	if (!w->listeners) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct listener *l = &w->listeners[i];
		l->w = w;
		l->addr = &cfg->listen[i];
		loop_io_init(&l->io, worker_on_accept, l);
		w->nlisteners++;
		int fd = util_listen_tcp((const struct sockaddr *)&l->addr->ss, l->addr->len,
					 WORKER_LISTEN_BACKLOG);
		char ebuf[64];
		if (fd < 0) {
			snprintf(err, errlen, "listen %s: %s", l->addr->text,
				 util_strerror(fd, ebuf, sizeof(ebuf)));
			return -1;
		}
		int rc = loop_io_add(w->loop, &l->io, fd, LOOP_READ);
		if (rc < 0) {
			close(fd);
			snprintf(err, errlen, "listen %s: %s", l->addr->text,
				 util_strerror(rc, ebuf, sizeof(ebuf)));
			return -1;
		}
	}
	return 0;
}

int worker_init(struct worker *w, unsigned id, struct server *srv, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->srv = srv;
	w->stop_fd = -1;
	w->auth_done.eventfd = -1;
	buf_pool_init(&w->bufs, WORKER_SPARE_BUFFERS);

	w->loop = loop_new();
	if (!w->loop) {
		snprintf(err, errlen, "cannot create event loop: %s", strerror(errno));
		return -1;
	}
	loop_timer_init(&w->accept_pause, worker_on_accept_pause_end, w);
	loop_io_init(&w->stop_io, worker_on_stop, w);
	loop_io_init(&w->auth_io, worker_on_auth_done, w);

	w->resolver = resolver_new(w->loop, srv->cfg, err, errlen);
	if (!w->resolver)
		return -1;
	w->auth_cache = auth_cache_new(WORKER_AUTH_CACHE_ENTRIES, WORKER_AUTH_CACHE_AGE_MS);
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!w->auth_cache || w->stop_fd < 0 || auth_done_queue_init(&w->auth_done) < 0) {
		snprintf(err, errlen, "cannot set up worker %u: %s", id, strerror(errno));
		return -1;
	}
	if (loop_io_add(w->loop, &w->stop_io, w->stop_fd, LOOP_READ) < 0 ||
	    loop_io_add(w->loop, &w->auth_io, w->auth_done.eventfd, LOOP_READ) < 0) {
		snprintf(err, errlen, "cannot set up worker %u: %s", id, strerror(errno));
		return -1;
	}
	return worker_open_listeners(w, err, errlen);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int rc = loop_run(w->loop);
	if (rc < 0) {
		char ebuf[64];
		log_error("worker %u: event loop failed: %s", w->id,
			  util_strerror(rc, ebuf, sizeof(ebuf)));
	}
	return NULL;
}

int worker_start(struct worker *w)
{
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0)
		return -rc;
	w->started = true;
	return 0;
}

void worker_stop(struct worker *w)
{
	uint64_t one = 1;
	if (w->stop_fd >= 0) {
		ssize_t n = write(w->stop_fd, &one, sizeof(one));
		(void)n;
	}
}

void worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}

void worker_destroy(struct worker *w)
{
	if (w->loop) {
		session_close_all(w, "shutdown");
		worker_close_listeners(w);
		loop_io_del(w->loop, &w->stop_io);
		loop_io_del(w->loop, &w->auth_io);
		loop_timer_cancel(w->loop, &w->accept_pause);
	}
	resolver_free(w->resolver);
	/* Deferred frees (sessions closed above) run here. */
	loop_free(w->loop);
	free(w->listeners);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	if (w->auth_done.eventfd >= 0)
		auth_done_queue_destroy(&w->auth_done);
	auth_cache_free(w->auth_cache);
	buf_pool_destroy(&w->bufs);
	free(w->udp_scratch);
	memset(w, 0, sizeof(*w));
}
