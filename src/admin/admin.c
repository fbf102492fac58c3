/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The admin listener's server: its thread, loop and connections. The
 * request parser and what it serves are in admin_format.c and
 * admin_html.c. See admin.h.
 *
 *   accept ──> READ (until the blank line, ADMIN_TIMEOUT_MS, 8 KiB)
 *          ──> WRITE (the whole response) ──> shutdown(SHUT_WR)
 *          ──> LINGER (discard input until EOF, 1 s) ──> close
 *
 * Lingering keeps a client's unread pipelined bytes from turning our close
 * into a reset that could destroy the response before it is read. */
#include <autoconfig.h>

#include "admin/admin.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin_format.h"
#include "admin/admin_html.h"
#include "base/log.h"
#include "base/util.h"
#include "config/config.h"
#include "config/config_value.h"
#include "net/loop.h"
#include "policy/snapshot.h"
#include "proto/hop.h"
#include "server/worker.h"
#include "session/chain.h"
#include "session/session_list.h"

#define ADMIN_LINGER_MS 1000
#define ADMIN_BACKLOG	64

/* ---- the server ---- */

struct admin_conn {
	struct admin *a;
	struct admin_conn *prev, *next;
	int fd;
	struct loop_io io;
	struct loop_timer timer;
	bool lingering;
	size_t in_len;
	char in[ADMIN_REQUEST_MAX];
	struct admin_buf out;
	size_t out_off;
};

struct admin {
	struct server *srv;
	struct loop *loop;
	pthread_t thread;
	bool started;
	int lfd;
	struct loop_io lio;
	int stop_fd;
	struct loop_io stop_io;
	struct admin_conn *conns;
	unsigned nconns;
	uint64_t start_ms;
	int64_t start_unix;
	char addr[sizeof(((struct config_addr *)0)->text)];
	struct sockaddr_storage ss; /* the listener's address, for the Host check */
	bool public;		    /* "admin ADDR public": any IP literal as Host */
};

static void admin_conn_free(void *p)
{
	struct admin_conn *c = p;
	admin_buf_free(&c->out);
	free(c);
}

static void admin_set_accepting(struct admin *a, bool on)
{
	if (a->lfd >= 0)
		loop_io_set(a->loop, &a->lio, on ? LOOP_READ : 0);
}

static void admin_conn_close(struct admin_conn *c)
{
	struct admin *a = c->a;
	loop_timer_cancel(a->loop, &c->timer);
	loop_io_del(a->loop, &c->io);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		a->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (a->nconns-- == ADMIN_MAX_CONNS)
		admin_set_accepting(a, true);
	loop_defer_free(a->loop, admin_conn_free, c);
}

/* ---- building a response ---- */

static const char *status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

/* The header, then the body unless head_only. */
static void respond(struct admin_conn *c, int status, const char *type, const char *body,
		    size_t body_len, bool head_only)
{
	struct admin_buf *b = &c->out;
	admin_buf_printf(b,
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n"
			 "X-Content-Type-Options: nosniff\r\n",
			 status, status_reason(status), type, body_len);
	if (status == 405)
		admin_buf_puts(b, "Allow: GET, HEAD\r\n");
	if (strncmp(type, "text/html", 9) == 0)
		admin_buf_puts(b, "Content-Security-Policy: default-src 'none'; "
				  "style-src 'unsafe-inline'; frame-ancestors 'none'\r\n");
	admin_buf_puts(b, "Connection: close\r\n\r\n");
	if (!head_only)
		admin_buf_add(b, body, body_len);
}

static void respond_text(struct admin_conn *c, int status, const char *text, bool head_only)
{
	respond(c, status, "text/plain; charset=utf-8", text, strlen(text), head_only);
}

/* Gather what the page and the metrics show from the current snapshot. */
static bool admin_render(struct admin *a, bool html, struct admin_buf *body)
{
	struct snapshot *snap = server_snapshot(a->srv);
	const struct config *cfg = &snap->cfg;
	struct stats *st = &a->srv->stats;
	uint64_t now = util_monotonic_ms();
	size_t nhops = 0;
	for (size_t i = 0; i < cfg->nchains; i++)
		nhops += cfg->chains[i].nhops;

	struct admin_listener_view *lv = calloc(cfg->nlisten ? cfg->nlisten : 1, sizeof(*lv));
	struct admin_hop_view *hv = calloc(nhops ? nhops : 1, sizeof(*hv));
	/* Only the page lists sessions; /metrics has no per-session series. */
	struct session_info *sv = html ? calloc(SESSION_LIST_MAX, sizeof(*sv)) : NULL;
	size_t nsessions = 0, sessions_all = 0;
	bool ok = lv && hv && (sv || !html);
	if (ok && html)
		nsessions = server_sessions_top(a->srv, sv, SESSION_LIST_MAX, &sessions_all);
	if (ok) {
		for (size_t i = 0; i < cfg->nlisten; i++) {
			lv[i].addr = cfg->listen[i].text;
			lv[i].accepted = stats_listener_get(st, cfg->listen[i].text);
		}
		size_t k = 0;
		for (size_t i = 0; i < cfg->nchains; i++) {
			const struct config_chain *ch = &cfg->chains[i];
			for (size_t j = 0; j < ch->nhops; j++, k++) {
				uint64_t until = atomic_load_explicit(
					&snap->health[i].down_until_ms[j], memory_order_relaxed);
				const struct stats_hop *e =
					stats_hop_find(st, ch->name, j, ch->hops[j].display);
				hv[k].chain = ch->name;
				hv[k].position = (unsigned)j + 1;
				hv[k].url = ch->hops[j].display;
				hv[k].up = until <= now;
				hv[k].down_for_ms = until > now ? until - now : 0;
				hv[k].attempts = e ? stats_get(e, attempts) : 0;
				hv[k].failures = e ? stats_get(e, failures) : 0;
			}
		}
		struct admin_view v = {
			.stats = st,
			.version = PACKAGE_VERSION,
			.uptime_s = (now - a->start_ms) / 1000,
			.start_unix = a->start_unix,
			.generation = snap->generation,
			.auth = snap->users != NULL,
			.connections = atomic_load_explicit(&a->srv->shared.connections,
							    memory_order_relaxed),
			.max_connections = cfg->max_connections,
			.admin_addr = a->addr,
			.listeners = lv,
			.nlisteners = cfg->nlisten,
			.hops = hv,
			.nhops = nhops,
			.sessions = sv,
			.nsessions = nsessions,
			.sessions_all = sessions_all,
			.now_ms = now,
		};
		ok = html ? admin_format_html(&v, body) : admin_format_metrics(&v, body);
	}
	free(lv);
	free(hv);
	free(sv);
	snapshot_unref(snap);
	return ok;
}

static void admin_handle(struct admin_conn *c, const struct admin_request *req)
{
	bool head = req->method == ADMIN_HEAD;
	/* No Host (HTTP/1.0 tools) is served; a browser always sends one. */
	if (req->has_host && !admin_host_allowed(req->host, &c->a->ss, c->a->public)) {
		respond_text(c, 403,
			     "forbidden: the Host field names neither this listener nor "
			     "localhost\n",
			     head);
		return;
	}
	if (req->method == ADMIN_OTHER) {
		respond_text(c, 405, "method not allowed\n", false);
		return;
	}
	bool html = strcmp(req->path, "/") == 0;
	if (strcmp(req->path, "/health") == 0) {
		respond_text(c, 200, "ok\n", head);
	} else if (html || strcmp(req->path, "/metrics") == 0) {
		struct admin_buf body = { 0 };
		if (!admin_render(c->a, html, &body))
			respond_text(c, 500, "out of memory\n", head);
		else
			respond(c, 200,
				html ? "text/html; charset=utf-8"
				     : "text/plain; version=0.0.4; charset=utf-8",
				body.p, body.len, head);
		admin_buf_free(&body);
	} else {
		respond_text(c, 404, "not found\n", head);
	}
}

/* ---- connection events ---- */

static void admin_conn_linger(struct admin_conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->lingering = true;
	loop_io_set(c->a->loop, &c->io, LOOP_READ);
	loop_timer_set(c->a->loop, &c->timer, ADMIN_LINGER_MS);
}

static void admin_conn_write(struct admin_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n =
			send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			loop_io_set(c->a->loop, &c->io, LOOP_WRITE);
			return;
		}
		if (n <= 0) {
			admin_conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	admin_conn_linger(c);
}

static void admin_conn_read(struct admin_conn *c)
{
	if (c->lingering) {
		char sink[4096];
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			admin_conn_close(c);
		return;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		admin_conn_close(c); /* gone before finishing its request */
		return;
	}
	c->in_len += (size_t)n;
	struct admin_request req;
	ssize_t rc = admin_parse_request(c->in, c->in_len, &req);
	if (rc == 0)
		return;
	/* The request is in: the response gets a deadline of its own. */
	loop_io_set(c->a->loop, &c->io, 0);
	loop_timer_set(c->a->loop, &c->timer, ADMIN_TIMEOUT_MS);
	if (rc < 0) {
		char text[64];
		snprintf(text, sizeof(text), "%s\n", status_reason((int)-rc));
		respond_text(c, (int)-rc, text, false);
	} else {
		admin_handle(c, &req);
	}
	if (c->out.failed) {
		admin_conn_close(c);
		return;
	}
	admin_conn_write(c);
}

static void admin_on_conn(struct loop *loop, void *arg, unsigned events)
{
	struct admin_conn *c = arg;
	if (c->out.len && !c->lingering && (events & (LOOP_WRITE | LOOP_ERROR))) {
		admin_conn_write(c);
		return;
	}
	if (events & (LOOP_READ | LOOP_ERROR))
		admin_conn_read(c);
}

static void admin_on_conn_timer(struct loop *loop, void *arg)
{
	admin_conn_close(arg);
}

static void admin_on_accept(struct loop *loop, void *arg, unsigned events)
{
	struct admin *a = arg;
	while (a->nconns < ADMIN_MAX_CONNS) {
		int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN) {
				char ebuf[64];
				log_warn("admin: accept: %s",
					 util_strerror(errno, ebuf, sizeof(ebuf)));
			}
			return;
		}
		struct admin_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->a = a;
		c->fd = fd;
		loop_io_init(&c->io, admin_on_conn, c);
		loop_timer_init(&c->timer, admin_on_conn_timer, c);
		if (loop_io_add(loop, &c->io, fd, LOOP_READ) < 0) {
			close(fd);
			free(c);
			return;
		}
		loop_timer_set(loop, &c->timer, ADMIN_TIMEOUT_MS);
		c->next = a->conns;
		if (a->conns)
			a->conns->prev = c;
		a->conns = c;
		if (++a->nconns == ADMIN_MAX_CONNS)
			admin_set_accepting(a, false); /* the rest wait in the backlog */
	}
}

static void admin_on_stop(struct loop *loop, void *arg, unsigned events)
{
	struct admin *a = arg;
	uint64_t v;
	if (read(a->stop_fd, &v, sizeof(v)) < 0 && errno == EAGAIN)
		return;
	loop_stop(loop);
}

static void *admin_thread(void *arg)
{
	struct admin *a = arg;
	int rc = loop_run(a->loop);
	if (rc < 0) {
		char ebuf[64];
		log_error("admin: event loop: %s", util_strerror(rc, ebuf, sizeof(ebuf)));
	}
	return NULL;
}

/* ---- start and stop ---- */

/* Would the admin address take connections meant for a listen address?
 * Same port, and the same address or either one a wildcard. */
static bool admin_overlaps(const struct config_addr *x, const struct config_addr *y)
{
	if (x->ss.ss_family != y->ss.ss_family)
		return false;
	if (x->ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&x->ss, *b = (const void *)&y->ss;
		return a->sin_port == b->sin_port && (a->sin_addr.s_addr == b->sin_addr.s_addr ||
						      a->sin_addr.s_addr == htonl(INADDR_ANY) ||
						      b->sin_addr.s_addr == htonl(INADDR_ANY));
	}
	const struct sockaddr_in6 *a = (const void *)&x->ss, *b = (const void *)&y->ss;
	return a->sin6_port == b->sin6_port &&
	       (memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0 ||
		IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&b->sin6_addr));
}

/* Like util_listen_tcp but without SO_REUSEPORT: a second process, or a
 * SOCKS listener, must not share this port. */
static int admin_listen(const struct config_addr *addr)
{
	int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 ||
	    listen(fd, ADMIN_BACKLOG) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static void admin_free(struct admin *a)
{
	if (a->loop) {
		while (a->conns)
			admin_conn_close(a->conns);
		loop_io_del(a->loop, &a->lio);
		loop_io_del(a->loop, &a->stop_io);
		/* Runs the deferred frees of the connections closed above. */
		loop_free(a->loop);
	}
	if (a->lfd >= 0)
		close(a->lfd);
	if (a->stop_fd >= 0)
		close(a->stop_fd);
	free(a);
}

struct admin *admin_open(struct server *srv, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	struct snapshot *snap = server_snapshot(srv);
	const struct config *cfg = &snap->cfg;
	struct config_addr addr = cfg->admin;
	bool public = cfg->admin_public;
	/* Messages start "FILE:LINE: admin ADDR" (the file is gone with the
	 * snapshot by the time the socket is bound). */
	char what[CONFIG_ERR_MAX];
	config_err_at(cfg, addr.line, what, sizeof(what), "admin %s", addr.text);
	bool clash = false;
	for (size_t i = 0; i < cfg->nlisten && addr.len && !clash; i++) {
		clash = admin_overlaps(&addr, &cfg->listen[i]);
		if (clash)
			config_err_set(err, errlen, "%s: overlaps the listen address %s", what,
				       cfg->listen[i].text);
	}
	snapshot_unref(snap);
	if (addr.len == 0 || clash)
		return NULL;

	struct admin *a = calloc(1, sizeof(*a));
	if (!a) {
		config_err_set(err, errlen, "%s: out of memory", what);
		return NULL;
	}
	a->srv = srv;
	a->stop_fd = -1;
	snprintf(a->addr, sizeof(a->addr), "%s", addr.text);
	a->ss = addr.ss;
	a->public = public;
	a->lfd = admin_listen(&addr);
	if (a->lfd < 0) {
		char ebuf[64];
		config_err_set(err, errlen, "%s: %s", what,
			       util_strerror(a->lfd, ebuf, sizeof(ebuf)));
		admin_free(a);
		return NULL;
	}
	return a;
}

int admin_run(struct admin *a, char *err, size_t errlen)
{
	int rc = -ENOMEM;
	if (errlen)
		err[0] = '\0';
	a->start_ms = util_monotonic_ms();
	a->start_unix = (int64_t)time(NULL);
	loop_io_init(&a->lio, admin_on_accept, a);
	loop_io_init(&a->stop_io, admin_on_stop, a);
	a->loop = loop_new();
	if (a->loop)
		rc = loop_io_add(a->loop, &a->lio, a->lfd, LOOP_READ);
	if (rc >= 0) {
		a->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		rc = a->stop_fd < 0 ? -errno
				    : loop_io_add(a->loop, &a->stop_io, a->stop_fd, LOOP_READ);
	}
	if (rc >= 0) {
		rc = -pthread_create(&a->thread, NULL, admin_thread, a);
		a->started = rc == 0;
	}
	if (rc < 0) {
		char ebuf[64];
		snprintf(err, errlen, "admin %s: %s", a->addr,
			 util_strerror(rc, ebuf, sizeof(ebuf)));
		return -1;
	}
	/* The workers publish their live sessions from now on. */
	atomic_store(&a->srv->boards_wanted, true);
	log_info("admin listener on http://%s/ (status page, /metrics, /health)", a->addr);
	if (a->public && !util_sa_is_loopback(&a->ss))
		log_warn("admin listener on %s is public: it has no authentication, anyone who "
			 "can reach it reads the user names, upstreams and live sessions "
			 "(clients, destinations) it shows",
			 a->addr);
	return 0;
}

struct admin *admin_start(struct server *srv, char *err, size_t errlen)
{
	struct admin *a = admin_open(srv, err, errlen);
	if (a && admin_run(a, err, errlen) < 0) {
		admin_free(a);
		return NULL;
	}
	return a;
}

void admin_stop(struct admin *a)
{
	if (!a)
		return;
	if (a->started) {
		atomic_store(&a->srv->boards_wanted, false);
		uint64_t one = 1;
		if (write(a->stop_fd, &one, sizeof(one)) < 0)
			log_error("admin: cannot signal the admin thread: %s", strerror(errno));
		pthread_join(a->thread, NULL);
	}
	admin_free(a);
}
