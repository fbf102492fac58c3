/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* targets: the benchmark's destination servers, built to never be the
 * bottleneck.
 *
 *   targets [--echo ADDR:PORT] [--fixed ADDR:PORT] [--udp ADDR:PORT]
 *           [--threads N] [--request N] [--response N] [--max-time SEC]
 *
 *   --echo   TCP echo: every byte read is written back; EOF from the
 *            client closes the connection once everything was echoed.
 *   --fixed  TCP "fixed response": read --request bytes (default 32),
 *            write --response bytes (default 128, response_byte(i)),
 *            then close. The server closes first, so TIME_WAIT lands on
 *            the server side, never on a client's ephemeral port.
 *   --udp    UDP echo: every datagram is sent back to its source.
 *
 * Each of --threads event loops (default 1) owns SO_REUSEPORT sockets for
 * every service, so no state is shared. Edge-triggered epoll, one
 * registration per socket, no epoll_ctl on the hot path. Prints "READY" on
 * stdout once listening; exits on SIGTERM/SIGINT or after --max-time
 * seconds (default 3600), whichever comes first. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define SCRATCH (256 * 1024)
#define UDP_BATCH 64
#define UDP_MAX 65536

enum kind { K_LISTEN_ECHO, K_LISTEN_FIXED, K_UDP, K_ECHO, K_FIXED };

struct tconn {
	int fd;
	enum kind kind;
	uint32_t got;	  /* fixed: request bytes read so far */
	uint8_t *pend;	  /* echo: bytes read but not yet written back */
	size_t plen, ppos;
	bool eof;
};

struct tworker {
	pthread_t th;
	int ep;
	struct tconn listeners[3];
	int nlisten;
	uint8_t *scratch;
	uint8_t *ubuf;
};

static struct sockaddr_in echo_addr, fixed_addr, udp_addr;
static bool have_echo, have_fixed, have_udp;
static uint32_t req_size = 32, resp_size = 128;
static uint8_t *response;
static atomic_int stop;

static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int open_socket(const struct sockaddr_in *a, int type)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("targets: socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	}
	if (bind(fd, (const struct sockaddr *)a, sizeof *a) < 0)
		die("targets: bind %s:%u: %s", inet_ntoa(a->sin_addr), ntohs(a->sin_port),
		    strerror(errno));
	if (type == SOCK_STREAM && listen(fd, 4096) < 0)
		die("targets: listen: %s", strerror(errno));
	return fd;
}

static void add_fd(struct tworker *w, struct tconn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = c };
	if (c->kind == K_ECHO || c->kind == K_FIXED)
		ev.events |= EPOLLOUT | EPOLLRDHUP;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("targets: epoll_ctl: %s", strerror(errno));
}

static void conn_close(struct tconn *c)
{
	close(c->fd); /* closing removes it from epoll */
	free(c->pend);
	free(c);
}

static void do_accept(struct tworker *w, struct tconn *l)
{
	/* Bounded: one wake-up accepts at most 256 connections, so one busy
	 * listener cannot starve the established ones. */
	for (int i = 0; i < 256; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				fprintf(stderr, "targets: accept: %s\n", strerror(errno));
			return;
		}
		set_nodelay(fd);
		struct tconn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->kind = l->kind == K_LISTEN_ECHO ? K_ECHO : K_FIXED;
		add_fd(w, c);
	}
	/* More may be pending: edge-triggered listeners would not wake again,
	 * so re-arm by modifying (cheap, and only under accept bursts). */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = l };
	epoll_ctl(w->ep, EPOLL_CTL_MOD, l->fd, &ev);
}

/* Write pending echo bytes; false on error. */
static bool echo_flush(struct tconn *c)
{
	while (c->ppos < c->plen) {
		ssize_t n = write(c->fd, c->pend + c->ppos, c->plen - c->ppos);
		if (n < 0)
			return errno == EAGAIN;
		c->ppos += (size_t)n;
	}
	free(c->pend);
	c->pend = NULL;
	c->plen = c->ppos = 0;
	return true;
}

static void do_echo(struct tworker *w, struct tconn *c)
{
	/* Bounded per wake-up (64 reads of 256 KiB) so one fast connection
	 * cannot starve the rest; with edge triggering, a connection that
	 * still has data is re-armed by EPOLL_CTL_MOD. */
	for (int i = 0; i < 64; i++) {
		if (!echo_flush(c))
			goto fail;
		if (c->pend)
			return; /* socket full: EPOLLOUT will call again */
		if (c->eof) {
			/* Everything was echoed and the client will send no more:
			 * reset rather than FIN, so neither we nor the proxy keep
			 * the connection in TIME_WAIT (see finish_ok() in
			 * loadgen.c for why ports matter). */
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			conn_close(c);
			return;
		}
		ssize_t n = read(c->fd, w->scratch, SCRATCH);
		if (n == 0) {
			c->eof = true;
			continue;
		}
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			goto fail;
		}
		ssize_t m = write(c->fd, w->scratch, (size_t)n);
		if (m < 0) {
			if (errno != EAGAIN)
				goto fail;
			m = 0;
		}
		if (m < n) {
			c->plen = (size_t)(n - m);
			c->pend = malloc(c->plen);
			if (!c->pend)
				goto fail;
			memcpy(c->pend, w->scratch + m, c->plen);
			c->ppos = 0;
		}
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				  .data.ptr = c };
	epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
	return;
fail:
	conn_close(c);
}

static void do_fixed(struct tworker *w, struct tconn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, w->scratch, SCRATCH);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			conn_close(c);
			return;
		}
		if (n < 0)
			return;
		c->got += (uint32_t)n;
		if (c->got >= req_size) {
			/* 128 bytes always fit an empty socket buffer. */
			ssize_t m = write(c->fd, response, resp_size);
			(void)m;
			conn_close(c);
			return;
		}
	}
}

static void do_udp(struct tworker *w, struct tconn *c)
{
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_in from[UDP_BATCH];
	for (int round = 0; round < 64; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			iov[i].iov_base = w->ubuf + (size_t)i * UDP_MAX;
			iov[i].iov_len = UDP_MAX;
			memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof from[i];
		}
		int n = recvmmsg(c->fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++)
			iov[i].iov_len = msgs[i].msg_len;
		/* Echo the batch; a full socket buffer drops, like any UDP. */
		int sent = 0;
		while (sent < n) {
			int m = sendmmsg(c->fd, msgs + sent, (unsigned)(n - sent), MSG_DONTWAIT);
			if (m <= 0)
				break;
			sent += m;
		}
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = c };
	epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void *worker_main(void *arg)
{
	struct tworker *w = arg;
	struct epoll_event evs[256];
	while (!atomic_load(&stop)) {
		int n = epoll_wait(w->ep, evs, 256, 200);
		for (int i = 0; i < n; i++) {
			struct tconn *c = evs[i].data.ptr;
			switch (c->kind) {
			case K_LISTEN_ECHO:
			case K_LISTEN_FIXED: do_accept(w, c); break;
			case K_UDP: do_udp(w, c); break;
			case K_ECHO: do_echo(w, c); break;
			case K_FIXED: do_fixed(w, c); break;
			}
		}
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: targets [--echo ADDR:PORT] [--fixed ADDR:PORT] [--udp ADDR:PORT]\n"
		   "               [--threads N] [--request N] [--response N] [--max-time SEC]\n");
}

int main(int argc, char **argv)
{
	unsigned nthreads = 1;
	double max_time = 3600;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t u;
		if (!strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!v) {
			usage(stderr);
			return 2;
		}
		i++;
		if (!strcmp(a, "--echo")) {
			if (parse_hostport(v, &echo_addr))
				die("targets: bad --echo %s", v);
			have_echo = true;
		} else if (!strcmp(a, "--fixed")) {
			if (parse_hostport(v, &fixed_addr))
				die("targets: bad --fixed %s", v);
			have_fixed = true;
		} else if (!strcmp(a, "--udp")) {
			if (parse_hostport(v, &udp_addr))
				die("targets: bad --udp %s", v);
			have_udp = true;
		} else if (!strcmp(a, "--threads")) {
			if (parse_size(v, &u) || u < 1 || u > 64)
				die("targets: bad --threads %s", v);
			nthreads = (unsigned)u;
		} else if (!strcmp(a, "--request")) {
			if (parse_size(v, &u) || u < 1 || u > (1u << 20))
				die("targets: bad --request %s", v);
			req_size = (uint32_t)u;
		} else if (!strcmp(a, "--response")) {
			if (parse_size(v, &u) || u < 1 || u > 65536)
				die("targets: bad --response %s", v);
			resp_size = (uint32_t)u;
		} else if (!strcmp(a, "--max-time")) {
			if (parse_seconds(v, &max_time))
				die("targets: bad --max-time %s", v);
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!have_echo && !have_fixed && !have_udp) {
		usage(stderr);
		return 2;
	}
	response = malloc(resp_size);
	if (!response)
		die("targets: out of memory");
	for (uint32_t i = 0; i < resp_size; i++)
		response[i] = response_byte(i);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit the mask */
	signal(SIGPIPE, SIG_IGN);

	struct tworker *ws = calloc(nthreads, sizeof *ws);
	if (!ws)
		die("targets: out of memory");
	for (unsigned t = 0; t < nthreads; t++) {
		struct tworker *w = &ws[t];
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->scratch = malloc(SCRATCH);
		w->ubuf = have_udp ? malloc((size_t)UDP_BATCH * UDP_MAX) : NULL;
		if (w->ep < 0 || !w->scratch || (have_udp && !w->ubuf))
			die("targets: setup failed");
		if (have_echo)
			w->listeners[w->nlisten++] = (struct tconn){
				.fd = open_socket(&echo_addr, SOCK_STREAM), .kind = K_LISTEN_ECHO
			};
		if (have_fixed)
			w->listeners[w->nlisten++] = (struct tconn){
				.fd = open_socket(&fixed_addr, SOCK_STREAM), .kind = K_LISTEN_FIXED
			};
		if (have_udp)
			w->listeners[w->nlisten++] =
				(struct tconn){ .fd = open_socket(&udp_addr, SOCK_DGRAM), .kind = K_UDP };
		for (int i = 0; i < w->nlisten; i++)
			add_fd(w, &w->listeners[i]);
	}
	for (unsigned t = 0; t < nthreads; t++)
		if (pthread_create(&ws[t].th, NULL, worker_main, &ws[t]))
			die("targets: pthread_create failed");
	printf("READY\n");
	fflush(stdout);

	struct timespec ts = { .tv_sec = (time_t)max_time,
			       .tv_nsec = (long)((max_time - (double)(time_t)max_time) * 1e9) };
	int sig = sigtimedwait(&set, NULL, &ts);
	(void)sig;
	atomic_store(&stop, 1);
	for (unsigned t = 0; t < nthreads; t++)
		pthread_join(ws[t].th, NULL);
	return 0;
}
