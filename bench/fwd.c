/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* fwd: a bare fixed-destination TCP forwarder, no SOCKS at all.
 *
 *   fwd --listen ADDR:PORT --to ADDR:PORT [--mode rw|splice]
 *       [--buf N] [--pipe N] [--max-time SEC]
 *
 * It is the benchmark's yardstick: what any user-space relay can reach on
 * this machine, so that hopsocks' figures can be read against a ceiling
 * and not only against the peers. One epoll loop, edge-triggered, one
 * registration per socket, full duplex with backpressure and half-close.
 *
 *   --mode rw      read()/write() through a buffer of --buf bytes per
 *                  direction (default 32K), taken only while data is in
 *                  flight.
 *   --mode splice  splice() socket -> pipe -> socket; the pipe pair is
 *                  taken while data is in flight and sized with
 *                  F_SETPIPE_SZ to --pipe bytes (default 64K).
 *
 * Exits on SIGTERM/SIGINT or after --max-time seconds (default 3600). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

enum { RW, SPLICE } mode = RW;
static size_t bufsz = 32 * 1024, pipesz = 64 * 1024;

struct dir {
	int src, dst;
	uint8_t *buf; /* rw */
	size_t start, end;
	int pr, pw; /* splice: pipe read and write ends, -1 when none */
	size_t inpipe;
	bool eof, shut;
};

struct sess {
	int fd[2]; /* client, upstream */
	bool connected;
	struct dir d[2];
};

struct ref {
	struct sess *s;
	int side; /* 0 client, 1 upstream, 2 listener, 3 signalfd */
};

static int ep;
static struct sockaddr_in to;

static void dir_free(struct dir *d)
{
	free(d->buf);
	d->buf = NULL;
	if (d->pr >= 0) {
		close(d->pr);
		close(d->pw);
	}
	d->pr = d->pw = -1;
}

static void sess_close(struct sess *s, struct ref *r0, struct ref *r1)
{
	close(s->fd[0]);
	if (s->fd[1] >= 0)
		close(s->fd[1]);
	dir_free(&s->d[0]);
	dir_free(&s->d[1]);
	/* Events for these fds may still be queued in this batch: the refs
	 * are marked dead and freed by the caller after the batch. */
	r0->s = NULL;
	r1->s = NULL;
}

/* Move what can be moved in one direction; false on a fatal error.
 * *busy is set when it stopped with work left (edge-triggered: the caller
 * must ask epoll to report the sockets again). */
static bool pump(struct dir *d, bool *busy)
{
	for (int i = 0; i < 64; i++) {
		bool progress = false;
		if (mode == RW) {
			if (d->end > d->start) {
				ssize_t n = send(d->dst, d->buf + d->start, d->end - d->start,
						 MSG_NOSIGNAL);
				if (n > 0) {
					d->start += (size_t)n;
					progress = true;
					if (d->start == d->end) {
						d->start = d->end = 0;
						free(d->buf); /* idle directions hold no buffer */
						d->buf = NULL;
					}
				} else if (errno != EAGAIN) {
					return false;
				}
			}
			if (!d->eof && d->end < bufsz) {
				if (!d->buf && !(d->buf = malloc(bufsz)))
					return false;
				ssize_t n = read(d->src, d->buf + d->end, bufsz - d->end);
				if (n > 0) {
					d->end += (size_t)n;
					progress = true;
				} else if (n == 0) {
					d->eof = true;
					progress = true;
				} else if (errno != EAGAIN) {
					return false;
				}
				if (d->end == 0 && d->buf) {
					free(d->buf);
					d->buf = NULL;
				}
			}
			if (d->eof && d->end == d->start && !d->shut) {
				shutdown(d->dst, SHUT_WR);
				d->shut = true;
			}
		} else {
			if (d->inpipe) {
				ssize_t n = splice(d->pr, NULL, d->dst, NULL, d->inpipe,
						   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0) {
					d->inpipe -= (size_t)n;
					progress = true;
				} else if (n < 0 && errno != EAGAIN) {
					return false;
				}
			}
			if (!d->eof && d->inpipe < pipesz) {
				if (d->pr < 0) {
					int p[2];
					if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
						return false;
					d->pr = p[0];
					d->pw = p[1];
					if (pipesz != 64 * 1024)
						fcntl(d->pw, F_SETPIPE_SZ, (int)pipesz);
				}
				ssize_t n = splice(d->src, NULL, d->pw, NULL, pipesz - d->inpipe,
						   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0) {
					d->inpipe += (size_t)n;
					progress = true;
				} else if (n == 0) {
					d->eof = true;
					progress = true;
				} else if (errno != EAGAIN) {
					return false;
				}
			}
			if (!d->inpipe && d->pr >= 0 && !progress) {
				/* Nothing in flight: give the pipes back. */
				close(d->pr);
				close(d->pw);
				d->pr = d->pw = -1;
			}
			if (d->eof && !d->inpipe && !d->shut) {
				shutdown(d->dst, SHUT_WR);
				d->shut = true;
			}
		}
		if (!progress)
			return true;
	}
	*busy = true; /* let the other sessions run, then come back */
	return true;
}

static void add(int fd, struct ref *r)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  .data.ptr = r };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("fwd: epoll_ctl: %s", strerror(errno));
}

/* Free refs of closed sessions after the batch that may mention them. */
static struct ref **graveyard;
static size_t ngrave, capgrave;

static void bury(struct ref *r)
{
	if (ngrave == capgrave) {
		capgrave = capgrave ? capgrave * 2 : 256;
		graveyard = realloc(graveyard, capgrave * sizeof *graveyard);
		if (!graveyard)
			die("fwd: out of memory");
	}
	graveyard[ngrave++] = r;
}

static void on_session(struct ref *r, uint32_t events)
{
	struct sess *s = r->s;
	struct ref *refs = r - r->side; /* the two refs are allocated together */
	if (!s->connected) {
		if (r->side != 1 || !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(s->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
		if (err)
			goto fail;
		s->connected = true;
	}
	bool busy = false;
	if (!pump(&s->d[0], &busy) || !pump(&s->d[1], &busy))
		goto fail;
	if (busy) {
		for (int i = 0; i < 2; i++) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
						  .data.ptr = &refs[i] };
			epoll_ctl(ep, EPOLL_CTL_MOD, s->fd[i], &ev);
		}
	}
	if (s->d[0].shut && s->d[1].shut) {
		sess_close(s, &refs[0], &refs[1]);
		free(s);
		bury(refs);
	}
	return;
fail:
	sess_close(s, &refs[0], &refs[1]);
	free(s);
	bury(refs);
}

static void on_accept(int lfd)
{
	for (int i = 0; i < 256; i++) {
		int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return;
		int u = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (u < 0) {
			close(c);
			continue;
		}
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(u, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
			close(c);
			close(u);
			continue;
		}
		struct sess *s = calloc(1, sizeof *s);
		struct ref *refs = calloc(2, sizeof *refs);
		if (!s || !refs)
			die("fwd: out of memory");
		s->fd[0] = c;
		s->fd[1] = u;
		s->d[0] = (struct dir){ .src = c, .dst = u, .pr = -1, .pw = -1 };
		s->d[1] = (struct dir){ .src = u, .dst = c, .pr = -1, .pw = -1 };
		refs[0] = (struct ref){ s, 0 };
		refs[1] = (struct ref){ s, 1 };
		add(c, &refs[0]);
		add(u, &refs[1]);
	}
	/* More may be waiting: an edge-triggered listener must be re-armed. */
	static struct ref lref = { NULL, 2 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = &lref };
	epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &ev);
}

int main(int argc, char **argv)
{
	struct sockaddr_in listen_addr;
	bool have_listen = false, have_to = false;
	double max_time = 3600;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		uint64_t u;
		if (!strcmp(a, "--listen")) {
			have_listen = !parse_hostport(v, &listen_addr);
		} else if (!strcmp(a, "--to")) {
			have_to = !parse_hostport(v, &to);
		} else if (!strcmp(a, "--mode")) {
			if (!strcmp(v, "rw"))
				mode = RW;
			else if (!strcmp(v, "splice"))
				mode = SPLICE;
			else
				die("fwd: --mode rw|splice");
		} else if (!strcmp(a, "--buf")) {
			if (parse_size(v, &u) || u < 1024 || u > (64u << 20))
				die("fwd: bad --buf %s", v);
			bufsz = (size_t)u;
		} else if (!strcmp(a, "--pipe")) {
			if (parse_size(v, &u) || u < 4096 || u > (64u << 20))
				die("fwd: bad --pipe %s", v);
			pipesz = (size_t)u;
		} else if (!strcmp(a, "--max-time")) {
			if (parse_seconds(v, &max_time))
				die("fwd: bad --max-time %s", v);
		} else {
			die("fwd: unknown option %s", a);
		}
	}
	if (!have_listen || !have_to)
		die("Usage: fwd --listen ADDR:PORT --to ADDR:PORT [--mode rw|splice] [--buf N] "
		    "[--pipe N] [--max-time SEC]");
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);

	ep = epoll_create1(EPOLL_CLOEXEC);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ep < 0 || sfd < 0 || lfd < 0 ||
	    bind(lfd, (struct sockaddr *)&listen_addr, sizeof listen_addr) < 0 ||
	    listen(lfd, 4096) < 0)
		die("fwd: setup: %s", strerror(errno));
	static struct ref lref = { NULL, 2 }, sref = { NULL, 3 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = &lref };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &sref;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

	uint64_t end = now_ns() + (uint64_t)(max_time * 1e9);
	struct epoll_event evs[256];
	while (now_ns() < end) {
		int n = epoll_wait(ep, evs, 256, 1000);
		for (int i = 0; i < n; i++) {
			struct ref *r = evs[i].data.ptr;
			if (r->side == 3)
				return 0;
			if (r->side == 2)
				on_accept(lfd);
			else if (r->s)
				on_session(r, evs[i].events);
		}
		for (size_t i = 0; i < ngrave; i++)
			free(graveyard[i]);
		ngrave = 0;
	}
	return 0;
}
