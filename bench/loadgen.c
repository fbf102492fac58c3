/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* loadgen: the benchmark's load generator.
 *
 * Speaks SOCKS5 (no auth, or RFC 1929 with --auth) to a proxy, or connects
 * straight to the target (no --proxy: the baseline). One epoll loop per
 * --threads, edge-triggered, non-blocking, libc only. Modes:
 *
 *   cps     each connection: [SOCKS5 greeting, (auth), CONNECT], send a
 *           --request-byte request, read a --response-byte answer from the
 *           "fixed" target, check it, close; start the next one at once.
 *           Reports connections/s, latency (socket() to last response
 *           byte) p50/p90/p99/max, and every failure by kind and phase.
 *   stream  --concurrency connections each send --bytes through the echo
 *           target and read them back at the same time (full duplex, no
 *           limit on data in flight), checking every byte. Reports the
 *           aggregate throughput and how many streams completed; a stream
 *           that makes no progress for --stall seconds is failed, so a
 *           deadlocked relay ends the run instead of hanging it.
 *   idle    opens --concurrency relayed connections to the echo target,
 *           checks each with a 16-byte echo, prints "READY ..." and holds
 *           them for --duration seconds (0: until SIGUSR1/SIGTERM/SIGINT),
 *           so the caller can read the proxy's memory and descriptors.
 *           Then checks every connection again and reports how many are
 *           still alive.
 *   udp     --concurrency UDP ASSOCIATE sessions (direct: plain UDP
 *           sockets) each keep --window datagrams of --size bytes in
 *           flight to the UDP echo target. Reports echoed datagrams/s,
 *           payload bytes/s, round-trip latency and loss (a datagram not
 *           back within --loss-timeout is lost).
 *   pingpong --concurrency sessions (default 1) to the echo target, each
 *           a strict request/response loop: send one --size-byte message
 *           (64 by default; its content differs from message to message),
 *           wait for the whole echo, check every byte, time the round trip,
 *           repeat, for --duration seconds. The first 100 exchanges of each
 *           session (and any before --warmup) are not recorded. Reports
 *           exchanges/s and the round trip p50/p90/p99/max in microseconds:
 *           the latency an interactive client sees through an established
 *           session, where a relay's wake-ups are all there is to measure.
 *
 * The last line of output is machine-readable: "RESULT key=value ...".
 * Every loop is bounded: by --duration, --timeout, --stall and --max-time.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

enum mode { M_CPS, M_STREAM, M_IDLE, M_UDP, M_PINGPONG };
static const char *const mode_names[] = { "cps", "stream", "idle", "udp", "pingpong" };
#define MODE_COUNT ((int)(sizeof mode_names / sizeof mode_names[0]))

static struct {
	enum mode mode;
	bool use_proxy;
	struct sockaddr_in proxy, target;
	bool auth;
	char user[256], pass[256];
	unsigned conc, threads, open_limit, window;
	double duration, warmup, timeout, stall, max_time, loss_timeout;
	uint64_t bytes;
	uint32_t req_size, resp_size, size; /* size: udp datagram or pingpong message */
	bool size_given;		    /* --size: udp and pingpong have different defaults */
	const char *label;
	bool quiet;
} O = {
	.conc = 50,
	.threads = 1,
	.open_limit = 256,
	.window = 16,
	.duration = 5,
	.warmup = 0,
	.timeout = 10,
	.stall = 5,
	.max_time = 600,
	.loss_timeout = 0.2,
	.bytes = 64 << 20,
	.req_size = 32,
	.resp_size = 128,
	.size = 512,
	.label = "-",
};

/* ---- failures, counted by kind and by the phase they happened in ---- */

enum phase { PH_CONNECT, PH_GREETING, PH_AUTH, PH_REQUEST, PH_DATA, PH_HOLD, PH_CLOSE, PH_N };
static const char *const phase_names[] = { "connect", "greeting", "auth", "request",
					   "data",    "hold",     "close" };

enum fkind {
	FK_SOCKET,	 /* socket() failed: descriptors exhausted */
	FK_REFUSED,	 /* ECONNREFUSED */
	FK_ADDRNOTAVAIL, /* EADDRNOTAVAIL: no ephemeral port left */
	FK_CONNECT,	 /* any other connect error */
	FK_RESET,	 /* ECONNRESET / EPIPE on read or write */
	FK_IO,		 /* other read/write errors */
	FK_EOF,		 /* peer closed before the exchange was complete */
	FK_TIMEOUT,	 /* --timeout (or --stall) expired */
	FK_METHOD,	 /* SOCKS5 server chose a method we did not offer */
	FK_AUTHFAIL,	 /* RFC 1929 status != 0 */
	FK_REP,		 /* SOCKS5 REP != 0 (see rep_N) */
	FK_PROTO,	 /* malformed reply, or bytes nobody asked for */
	FK_VERIFY,	 /* payload differs from what was sent */
	FK_N
};
static const char *const fkind_names[] = { "socket", "refused", "addrnotavail", "connect", "reset",
					   "io",     "eof",     "timeout",	     "method",	"authfail",
					   "rep",    "proto",   "verify" };

/* ---- connections ---- */

enum state {
	ST_FREE,
	ST_CONNECTING,
	ST_GREET,
	ST_AUTH,
	ST_REQ,
	ST_CPS,	    /* request sent (or being sent), reading the response */
	ST_CPS_EOF, /* response complete and counted, waiting for the server's FIN */
	ST_STREAM,  /* full-duplex echo stream */
	ST_PING,    /* idle: first echo check */
	ST_IDLE,    /* idle: holding */
	ST_PING2,   /* idle: echo check after the hold */
	ST_UDP,	    /* udp: association running (TCP fd is the control connection) */
	ST_PP,	    /* pingpong: one message out, waiting for its whole echo */
	ST_DONE,    /* finished for good (stream/idle/udp slots are not reused) */
};

struct slot {
	uint64_t seq; /* UINT64_MAX: free */
	uint64_t sent_ns;
};

struct conn {
	int fd;
	enum state state;
	uint32_t gen; /* bumped on close: stale epoll events are ignored */
	uint32_t id;  /* global connection slot number */
	uint64_t t_start, deadline;
	uint8_t out[1024];
	uint16_t olen, opos;
	uint8_t in[512];
	uint16_t ilen;
	uint64_t sent, rcvd; /* payload bytes (cps, stream) */
	uint32_t seed;	     /* stream: pattern offset */
	/* pingpong */
	uint64_t msg_ns;   /* when the message in flight was sent */
	uint64_t nmsg;	   /* exchanges completed */
	uint64_t pp_from;  /* when recording began (0: still warming up) */
	uint64_t pp_count; /* exchanges recorded */
	/* udp */
	int ufd;
	struct sockaddr_in relay;
	uint64_t next_seq, measure_seq;
	unsigned outstanding;
	struct slot *slots; /* --window entries */
};

struct worker {
	pthread_t th;
	unsigned idx;
	int ep;
	struct conn *conns;
	unsigned nconn, first_id;
	unsigned active;  /* slots with a live connection */
	unsigned opening; /* connections still in their handshake */
	unsigned next_open;
	bool stopping;
	uint64_t now;
	uint8_t *scratch;
	/* results */
	uint64_t fails[FK_N][PH_N];
	uint64_t rep[256];
	uint64_t done, done_window, settled;
	uint64_t rx_bytes, tx_bytes, ok_bytes;
	uint64_t first_done_ns, last_done_ns;
	uint32_t *lat; /* microseconds (pingpong: units of 100 ns) */
	size_t nlat, caplat;
	/* idle */
	uint64_t ready, dropped, alive;
	/* pingpong: sum of the sessions' exchanges/s over their recorded time */
	double pp_rate;
	/* udp */
	uint64_t u_sent, u_got, u_lost, u_late, u_bad;
	struct mmsghdr *mm;
	struct iovec *iov;
	uint8_t *uhdr;
	struct sockaddr_in *ufrom;
};

#define SCRATCH_SIZE (256 * 1024)
#define UDP_BATCH 64
#define LAT_CAP (16u << 20) /* samples kept per run, across threads */
#define MAGIC 0x48534255u   /* "HSBU" */

static uint8_t *pat; /* 2 * PATTERN_LEN */
static uint64_t t0, t_warm, t_end;
static atomic_int g_stop;	      /* a signal or the caller asked us to end */
static atomic_int g_check;	      /* idle: hold over, check the connections */
static atomic_uint_fast64_t g_ready;  /* idle: connections open and checked */
static atomic_uint_fast64_t g_failed; /* idle: connections that failed to open */
static atomic_uint_fast64_t g_doneall;

/* Keep one latency sample, in the unit the mode reports. */
static void lat_add(struct worker *w, uint64_t ns)
{
	if (w->nlat == w->caplat) {
		size_t cap = w->caplat ? w->caplat * 2 : 4096;
		if (cap > LAT_CAP / O.threads)
			return;
		uint32_t *p = realloc(w->lat, cap * sizeof *p);
		if (!p)
			return;
		w->lat = p;
		w->caplat = cap;
	}
	/* pingpong round trips are tens of microseconds: 100 ns resolution */
	uint64_t v = O.mode == M_PINGPONG ? ns / 100 : ns / 1000;
	w->lat[w->nlat++] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static uint64_t secs_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

static enum phase state_phase(enum state s)
{
	switch (s) {
	case ST_CONNECTING: return PH_CONNECT;
	case ST_GREET: return PH_GREETING;
	case ST_AUTH: return PH_AUTH;
	case ST_REQ: return PH_REQUEST;
	case ST_IDLE: return PH_HOLD;
	case ST_CPS_EOF: return PH_CLOSE; /* after the response was counted */
	default: return PH_DATA;
	}
}

static void epoll_add(struct worker *w, int fd, uint64_t tag, uint32_t events)
{
	struct epoll_event ev = { .events = events | EPOLLET, .data.u64 = tag };
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("loadgen: epoll_ctl: %s", strerror(errno));
}

/* Tag = generation, slot index, and whether it is the UDP socket. */
static uint64_t conn_tag(const struct worker *w, const struct conn *c, bool udp)
{
	return (uint64_t)c->gen << 32 | (uint64_t)(c - w->conns) << 1 | (udp ? 1u : 0u);
}

/* Edge-triggered: after a bounded amount of work on a socket that may
 * still be ready, ask epoll to report it again. */
static void rearm(struct worker *w, struct conn *c, bool udp)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = conn_tag(w, c, udp) };
	if (!udp)
		ev.events |= EPOLLOUT | EPOLLRDHUP;
	epoll_ctl(w->ep, EPOLL_CTL_MOD, udp ? c->ufd : c->fd, &ev);
}

static bool in_handshake(enum state s)
{
	return s == ST_CONNECTING || s == ST_GREET || s == ST_AUTH || s == ST_REQ || s == ST_PING;
}

static void conn_close(struct worker *w, struct conn *c, enum state next)
{
	if (in_handshake(c->state) && w->opening)
		w->opening--;
	if (c->fd >= 0)
		close(c->fd);
	if (c->ufd >= 0)
		close(c->ufd);
	c->fd = c->ufd = -1;
	c->gen++;
	c->state = next;
	w->active--;
	if (next == ST_DONE)
		w->settled++;
}

static void start_conn(struct worker *w, struct conn *c);

static void conn_fail(struct worker *w, struct conn *c, enum fkind k)
{
	enum phase ph = state_phase(c->state);
	/* cps counts failures inside the measurement window only; the other
	 * modes count every one. */
	if (O.mode != M_CPS || (w->now >= t_warm && w->now < t_end))
		w->fails[k][ph]++;
	if (O.mode == M_IDLE && (c->state == ST_CONNECTING || c->state == ST_GREET ||
				 c->state == ST_AUTH || c->state == ST_REQ || c->state == ST_PING))
		atomic_fetch_add(&g_failed, 1);
	if (O.mode == M_IDLE && c->state == ST_IDLE)
		w->dropped++;
	if (O.mode == M_UDP && c->slots) {
		/* Whatever is still in flight in a dead association is lost. */
		for (unsigned i = 0; i < O.window; i++)
			if (c->slots[i].seq != UINT64_MAX) {
				if (c->slots[i].seq >= c->measure_seq)
					w->u_lost++;
				c->slots[i].seq = UINT64_MAX;
			}
	}
	/* A failed cps slot restarts on the next tick, never in a tight loop. */
	conn_close(w, c, O.mode == M_CPS ? ST_FREE : ST_DONE);
}

static enum fkind errno_kind(int e)
{
	switch (e) {
	case ECONNRESET:
	case EPIPE: return FK_RESET;
	case ECONNREFUSED: return FK_REFUSED;
	case EADDRNOTAVAIL: return FK_ADDRNOTAVAIL;
	case ETIMEDOUT: return FK_TIMEOUT;
	default: return FK_IO;
	}
}

/* ---- small helpers for the handshake buffers ---- */

enum step { AGAIN, CONT, GONE };

/* 1 all written, 0 would block, -1 error (errno set). */
static int flush_out(struct conn *c)
{
	while (c->opos < c->olen) {
		ssize_t n = send(c->fd, c->out + c->opos, c->olen - c->opos, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->opos += (uint16_t)n;
	}
	c->olen = c->opos = 0;
	return 1;
}

static void queue_out(struct conn *c, const void *p, size_t n)
{
	memcpy(c->out + c->olen, p, n);
	c->olen += (uint16_t)n;
}

/* Read until c->in holds at least `need` bytes. 1 enough, 0 would block,
 * -1 error (errno), -2 EOF. */
static int read_need(struct conn *c, size_t need)
{
	while (c->ilen < need) {
		ssize_t n = read(c->fd, c->in + c->ilen, sizeof c->in - c->ilen);
		if (n == 0)
			return -2;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->ilen += (uint16_t)n;
	}
	return 1;
}

static void consume_in(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->ilen - n);
	c->ilen -= (uint16_t)n;
}

/* Map flush/read results onto a step result, failing the connection. */
static enum step io_fail(struct worker *w, struct conn *c, int r)
{
	if (r == 0)
		return AGAIN;
	conn_fail(w, c, r == -2 ? FK_EOF : errno_kind(errno));
	return GONE;
}

static void queue_request(struct conn *c, uint8_t cmd)
{
	uint8_t req[10] = { 5, cmd, 0, 1 };
	if (cmd == 1) {
		memcpy(req + 4, &O.target.sin_addr, 4);
		memcpy(req + 8, &O.target.sin_port, 2);
	} /* UDP ASSOCIATE: 0.0.0.0:0, as clients behind NAT send it */
	queue_out(c, req, sizeof req);
}

/* ---- UDP ---- */

static bool udp_open(struct worker *w, struct conn *c)
{
	c->ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->ufd < 0)
		return false;
	int sz = 1 << 20;
	setsockopt(c->ufd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	setsockopt(c->ufd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	struct sockaddr_in local = { .sin_family = AF_INET };
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(c->ufd, (struct sockaddr *)&local, sizeof local) < 0)
		return false;
	if (!c->slots) {
		c->slots = malloc(O.window * sizeof *c->slots);
		if (!c->slots)
			return false;
	}
	for (unsigned i = 0; i < O.window; i++)
		c->slots[i].seq = UINT64_MAX;
	c->outstanding = 0;
	c->next_seq = 0;
	c->measure_seq = w->now >= t_warm ? 0 : UINT64_MAX;
	epoll_add(w, c->ufd, conn_tag(w, c, true), EPOLLIN);
	return true;
}

static size_t udp_hdr_len(void)
{
	return O.use_proxy ? 10 : 0;
}

static const uint8_t *udp_fill(uint64_t seq)
{
	return pat + (seq * 7919u) % 65521u;
}

static void udp_send(struct worker *w, struct conn *c)
{
	if (w->stopping || c->state != ST_UDP)
		return;
	size_t hl = udp_hdr_len();
	unsigned n = 0;
	while (n < UDP_BATCH && c->outstanding + n < O.window) {
		uint64_t seq = c->next_seq + n;
		if (c->slots[seq % O.window].seq != UINT64_MAX)
			break; /* an older datagram still holds this slot */
		uint8_t *h = w->uhdr + (size_t)n * 26;
		struct iovec *iov = w->iov + (size_t)n * 2;
		if (hl) {
			h[0] = h[1] = h[2] = 0;
			h[3] = 1;
			memcpy(h + 4, &O.target.sin_addr, 4);
			memcpy(h + 8, &O.target.sin_port, 2);
		}
		uint32_t magic = MAGIC, id = c->id;
		memcpy(h + hl, &magic, 4);
		memcpy(h + hl + 4, &id, 4);
		memcpy(h + hl + 8, &seq, 8);
		iov[0].iov_base = h;
		iov[0].iov_len = hl + 16;
		iov[1].iov_base = (void *)udp_fill(seq);
		iov[1].iov_len = O.size - 16;
		struct msghdr *m = &w->mm[n].msg_hdr;
		memset(m, 0, sizeof *m);
		m->msg_iov = iov;
		m->msg_iovlen = 2;
		m->msg_name = &c->relay;
		m->msg_namelen = sizeof c->relay;
		n++;
	}
	if (!n)
		return;
	int m = sendmmsg(c->ufd, w->mm, n, MSG_DONTWAIT);
	if (m <= 0)
		return; /* EAGAIN/ENOBUFS: try again on the next reply or tick */
	w->now = now_ns();
	for (int i = 0; i < m; i++) {
		uint64_t seq = c->next_seq + (uint64_t)i;
		c->slots[seq % O.window] = (struct slot){ .seq = seq, .sent_ns = w->now };
		if (seq >= c->measure_seq)
			w->u_sent++;
	}
	c->next_seq += (uint64_t)m;
	c->outstanding += (unsigned)m;
}

static void udp_recv(struct worker *w, struct conn *c)
{
	size_t hl = udp_hdr_len();
	size_t cap = O.size + 64;
	for (int round = 0; round < 64; round++) {
		for (unsigned i = 0; i < UDP_BATCH; i++) {
			w->iov[i].iov_base = w->scratch + (size_t)i * cap;
			w->iov[i].iov_len = cap;
			struct msghdr *m = &w->mm[i].msg_hdr;
			memset(m, 0, sizeof *m);
			m->msg_iov = &w->iov[i];
			m->msg_iovlen = 1;
			m->msg_name = &w->ufrom[i];
			m->msg_namelen = sizeof w->ufrom[i];
		}
		int n = recvmmsg(c->ufd, w->mm, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			udp_send(w, c);
			return;
		}
		uint64_t now = now_ns();
		for (int i = 0; i < n; i++) {
			const uint8_t *p = w->iov[i].iov_base;
			size_t len = w->mm[i].msg_len;
			const struct sockaddr_in *from = &w->ufrom[i];
			if (from->sin_addr.s_addr != c->relay.sin_addr.s_addr ||
			    from->sin_port != c->relay.sin_port || len != hl + O.size) {
				w->u_bad++;
				continue;
			}
			if (hl && (p[0] || p[1] || p[2] || p[3] != 1 ||
				   memcmp(p + 4, &O.target.sin_addr, 4) ||
				   memcmp(p + 8, &O.target.sin_port, 2))) {
				w->u_bad++;
				continue;
			}
			uint32_t magic, id;
			uint64_t seq;
			memcpy(&magic, p + hl, 4);
			memcpy(&id, p + hl + 4, 4);
			memcpy(&seq, p + hl + 8, 8);
			if (magic != MAGIC || id != c->id ||
			    memcmp(p + hl + 16, udp_fill(seq), O.size - 16)) {
				w->u_bad++;
				continue;
			}
			struct slot *s = &c->slots[seq % O.window];
			if (s->seq != seq) {
				w->u_late++; /* already declared lost */
				continue;
			}
			s->seq = UINT64_MAX;
			c->outstanding--;
			if (seq >= c->measure_seq) {
				w->u_got++;
				lat_add(w, now - s->sent_ns);
			}
		}
		udp_send(w, c);
	}
	rearm(w, c, true);
}

/* Tick: datagrams not back within --loss-timeout are lost. */
static void udp_expire(struct worker *w, struct conn *c, uint64_t older_than)
{
	for (unsigned i = 0; i < O.window; i++) {
		struct slot *s = &c->slots[i];
		if (s->seq != UINT64_MAX && s->sent_ns < older_than) {
			if (s->seq >= c->measure_seq)
				w->u_lost++;
			s->seq = UINT64_MAX;
			c->outstanding--;
		}
	}
}

/* ---- the application part of each mode ---- */

/* The exchange succeeded. cps: count it, then wait for the server's FIN
 * (the target closes first, so TIME_WAIT never lands on an ephemeral
 * port). stream, idle: everything was checked, so end with a reset: no
 * TIME_WAIT here, and the echo target resets its side too. Ports matter:
 * dante binds its outgoing sockets before connecting, and bind() cannot
 * reuse a port held in TIME_WAIT the way connect() can, so a run that
 * leaves tens of thousands of them starves the next dante run. */
static void finish_ok(struct worker *w, struct conn *c)
{
	uint64_t t = now_ns();
	w->done++;
	if (O.mode == M_CPS) {
		if (t >= t_warm && t < t_end) {
			w->done_window++;
			lat_add(w, t - c->t_start);
		}
		c->state = ST_CPS_EOF;
		return;
	}
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	if (O.mode == M_STREAM) {
		w->ok_bytes += O.bytes;
		lat_add(w, t - c->t_start);
	}
	if (O.mode == M_PINGPONG && c->pp_from && c->pp_from < t_end)
		w->pp_rate += (double)c->pp_count / ((double)(t_end - c->pp_from) / 1e9);
	if (!w->first_done_ns)
		w->first_done_ns = t;
	w->last_done_ns = t;
	conn_close(w, c, ST_DONE);
}

/* ---- pingpong ---- */

#define PP_WARM_EXCHANGES 100

/* The message in flight: a different slice of the pattern each time, so a
 * stale or repeated echo does not match. */
static const uint8_t *pp_msg(const struct conn *c)
{
	return pat + (c->seed + c->nmsg * 104729u) % PATTERN_LEN;
}

/* Start the next exchange: the clock runs from the first send(). */
static void pp_next(struct conn *c)
{
	c->sent = c->rcvd = 0;
	c->msg_ns = now_ns();
	c->deadline = c->msg_ns + secs_ns(O.timeout);
}

/* The whole echo is back: record it (after the warm-up), then either send
 * the next message or, past the end of the run, finish the session. */
static enum step pp_done(struct worker *w, struct conn *c)
{
	uint64_t t = now_ns();
	c->nmsg++;
	if (c->pp_from && t < t_end) {
		c->pp_count++;
		w->done_window++;
		lat_add(w, t - c->msg_ns);
	} else if (!c->pp_from && c->nmsg >= PP_WARM_EXCHANGES && t >= t_warm && t < t_end) {
		c->pp_from = t; /* the exchanges after this one are recorded */
	}
	if (t >= t_end || w->stopping) {
		finish_ok(w, c);
		return GONE;
	}
	pp_next(c);
	return CONT;
}

/* Send what is left of the message, then read its echo, checking every
 * byte. Nothing may arrive beyond the message in flight. */
static enum step pp_step(struct worker *w, struct conn *c)
{
	const uint8_t *msg = pp_msg(c);
	while (c->sent < O.size) {
		ssize_t n = send(c->fd, msg + c->sent, O.size - c->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN)
				break; /* EPOLLOUT will bring us back */
			conn_fail(w, c, errno_kind(errno));
			return GONE;
		}
		c->sent += (uint64_t)n;
		w->tx_bytes += (uint64_t)n;
	}
	for (;;) {
		ssize_t n = read(c->fd, w->scratch, SCRATCH_SIZE);
		if (n == 0) {
			conn_fail(w, c, FK_EOF);
			return GONE;
		}
		if (n < 0) {
			if (errno == EAGAIN)
				return AGAIN;
			conn_fail(w, c, errno_kind(errno));
			return GONE;
		}
		if ((uint64_t)n > c->sent - c->rcvd) {
			conn_fail(w, c, FK_PROTO); /* more than we sent */
			return GONE;
		}
		if (memcmp(w->scratch, msg + c->rcvd, (size_t)n)) {
			conn_fail(w, c, FK_VERIFY);
			return GONE;
		}
		c->rcvd += (uint64_t)n;
		w->rx_bytes += (uint64_t)n;
		if (c->rcvd == O.size)
			return pp_done(w, c);
	}
}

static enum step app_start(struct worker *w, struct conn *c)
{
	switch (O.mode) {
	case M_CPS:
		memset(c->out, 'q', O.req_size);
		c->olen = (uint16_t)O.req_size;
		c->opos = 0;
		c->state = ST_CPS;
		break;
	case M_STREAM:
		c->state = ST_STREAM;
		if (w->opening)
			w->opening--;
		c->deadline = w->now + secs_ns(O.stall);
		break;
	case M_IDLE:
		queue_out(c, pat + c->id % 4096, 16);
		c->state = ST_PING;
		break;
	case M_PINGPONG:
		c->state = ST_PP;
		if (w->opening)
			w->opening--;
		c->nmsg = c->pp_from = c->pp_count = 0;
		pp_next(c);
		break;
	case M_UDP:
		if (O.use_proxy) {
			/* BND.ADDR 0.0.0.0 means "the address you reached me on". */
			if (!c->relay.sin_addr.s_addr)
				c->relay.sin_addr = O.proxy.sin_addr;
		} else {
			c->relay = O.target;
		}
		if (!udp_open(w, c)) {
			conn_fail(w, c, FK_SOCKET);
			return GONE;
		}
		c->state = ST_UDP;
		if (w->opening)
			w->opening--;
		c->deadline = UINT64_MAX;
		udp_send(w, c);
		break;
	}
	return CONT;
}

static enum step stream_step(struct worker *w, struct conn *c)
{
	bool progress = false;
	for (int i = 0; i < 16; i++) {
		bool blocked_w = true, blocked_r = true;
		if (c->sent < O.bytes) {
			uint64_t left = O.bytes - c->sent;
			size_t len = left < SCRATCH_SIZE ? (size_t)left : SCRATCH_SIZE;
			ssize_t n = send(c->fd, pat + (c->seed + c->sent) % PATTERN_LEN, len,
					 MSG_NOSIGNAL);
			if (n > 0) {
				c->sent += (uint64_t)n;
				w->tx_bytes += (uint64_t)n;
				blocked_w = false;
				progress = true;
			} else if (n < 0 && errno != EAGAIN) {
				conn_fail(w, c, errno_kind(errno));
				return GONE;
			}
		}
		ssize_t n = read(c->fd, w->scratch, SCRATCH_SIZE);
		if (n > 0) {
			if ((uint64_t)n > O.bytes - c->rcvd) {
				conn_fail(w, c, FK_PROTO);
				return GONE;
			}
			if (memcmp(w->scratch, pat + (c->seed + c->rcvd) % PATTERN_LEN, (size_t)n)) {
				conn_fail(w, c, FK_VERIFY);
				return GONE;
			}
			c->rcvd += (uint64_t)n;
			w->rx_bytes += (uint64_t)n;
			blocked_r = false;
			progress = true;
			if (c->rcvd == O.bytes) {
				finish_ok(w, c);
				return GONE;
			}
		} else if (n == 0) {
			conn_fail(w, c, FK_EOF);
			return GONE;
		} else if (errno != EAGAIN) {
			conn_fail(w, c, errno_kind(errno));
			return GONE;
		}
		if (blocked_w && blocked_r)
			break;
		if (i == 15)
			rearm(w, c, false);
	}
	if (progress)
		c->deadline = w->now + secs_ns(O.stall);
	return AGAIN;
}

/* One step of the connection's state machine. */
static enum step step(struct worker *w, struct conn *c, uint32_t ev)
{
	int r;
	switch (c->state) {
	case ST_CONNECTING: {
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return AGAIN;
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			enum fkind k = errno_kind(err);
			conn_fail(w, c, k == FK_IO ? FK_CONNECT : k);
			return GONE;
		}
		if (!O.use_proxy)
			return app_start(w, c);
		uint8_t greet[3] = { 5, 1, O.auth ? 2 : 0 };
		queue_out(c, greet, 3);
		c->state = ST_GREET;
		return CONT;
	}
	case ST_GREET:
		if ((r = flush_out(c)) <= 0 || (r = read_need(c, 2)) <= 0)
			return io_fail(w, c, r);
		if (c->in[0] != 5 || c->in[1] != (O.auth ? 2 : 0)) {
			conn_fail(w, c, FK_METHOD);
			return GONE;
		}
		consume_in(c, 2);
		if (O.auth) {
			size_t ul = strlen(O.user), pl = strlen(O.pass);
			uint8_t a[2 + 255 + 1 + 255];
			a[0] = 1;
			a[1] = (uint8_t)ul;
			memcpy(a + 2, O.user, ul);
			a[2 + ul] = (uint8_t)pl;
			memcpy(a + 3 + ul, O.pass, pl);
			queue_out(c, a, 3 + ul + pl);
			c->state = ST_AUTH;
		} else {
			queue_request(c, O.mode == M_UDP ? 3 : 1);
			c->state = ST_REQ;
		}
		return CONT;
	case ST_AUTH:
		if ((r = flush_out(c)) <= 0 || (r = read_need(c, 2)) <= 0)
			return io_fail(w, c, r);
		if (c->in[0] != 1 || c->in[1] != 0) {
			conn_fail(w, c, FK_AUTHFAIL);
			return GONE;
		}
		consume_in(c, 2);
		queue_request(c, O.mode == M_UDP ? 3 : 1);
		c->state = ST_REQ;
		return CONT;
	case ST_REQ: {
		if ((r = flush_out(c)) <= 0 || (r = read_need(c, 5)) <= 0)
			return io_fail(w, c, r);
		size_t need;
		switch (c->in[3]) {
		case 1: need = 10; break;
		case 4: need = 22; break;
		case 3: need = 7u + c->in[4]; break;
		default: conn_fail(w, c, FK_PROTO); return GONE;
		}
		if ((r = read_need(c, need)) <= 0)
			return io_fail(w, c, r);
		if (c->in[0] != 5) {
			conn_fail(w, c, FK_PROTO);
			return GONE;
		}
		if (c->in[1] != 0) {
			w->rep[c->in[1]]++;
			conn_fail(w, c, FK_REP);
			return GONE;
		}
		if (O.mode == M_UDP) {
			if (c->in[3] != 1) {
				conn_fail(w, c, FK_PROTO); /* we only speak IPv4 here */
				return GONE;
			}
			c->relay.sin_family = AF_INET;
			memcpy(&c->relay.sin_addr, c->in + 4, 4);
			memcpy(&c->relay.sin_port, c->in + 8, 2);
		}
		consume_in(c, need);
		if (c->ilen) {
			conn_fail(w, c, FK_PROTO); /* data before we sent any */
			return GONE;
		}
		return app_start(w, c);
	}
	case ST_CPS_EOF:
		for (;;) {
			ssize_t n = read(c->fd, w->scratch, SCRATCH_SIZE);
			if (n == 0) {
				conn_close(w, c, ST_FREE);
				if (!w->stopping)
					start_conn(w, c);
				return GONE;
			}
			if (n < 0)
				return io_fail(w, c, errno == EAGAIN ? 0 : -1);
			conn_fail(w, c, FK_PROTO); /* more than the response */
			return GONE;
		}
	case ST_CPS:
		if ((r = flush_out(c)) <= 0)
			return io_fail(w, c, r);
		for (;;) {
			ssize_t n = read(c->fd, w->scratch, SCRATCH_SIZE);
			if (n == 0)
				return io_fail(w, c, -2);
			if (n < 0)
				return io_fail(w, c, errno == EAGAIN ? 0 : -1);
			if ((uint64_t)n > O.resp_size - c->rcvd) {
				conn_fail(w, c, FK_PROTO);
				return GONE;
			}
			for (ssize_t i = 0; i < n; i++)
				if (w->scratch[i] != response_byte(c->rcvd + (size_t)i)) {
					conn_fail(w, c, FK_VERIFY);
					return GONE;
				}
			c->rcvd += (uint64_t)n;
			if (c->rcvd == O.resp_size) {
				finish_ok(w, c);
				return CONT;
			}
		}
	case ST_STREAM: return stream_step(w, c);
	case ST_PP:
		return pp_step(w, c);
	case ST_PING:
	case ST_PING2:
		if ((r = flush_out(c)) <= 0 || (r = read_need(c, 16)) <= 0)
			return io_fail(w, c, r);
		if (c->ilen != 16 || memcmp(c->in, pat + c->id % 4096, 16)) {
			conn_fail(w, c, FK_VERIFY);
			return GONE;
		}
		c->ilen = 0;
		if (c->state == ST_PING2) {
			w->alive++;
			finish_ok(w, c);
			return GONE;
		}
		c->state = ST_IDLE;
		c->deadline = UINT64_MAX;
		if (w->opening)
			w->opening--;
		w->ready++;
		atomic_fetch_add(&g_ready, 1);
		return AGAIN;
	case ST_IDLE:
	case ST_UDP:
		/* Nothing may arrive here; EOF means the proxy dropped us. */
		r = read_need(c, 1);
		if (r == 0)
			return AGAIN;
		conn_fail(w, c, r == 1 ? FK_PROTO : r == -2 ? FK_EOF : errno_kind(errno));
		return GONE;
	case ST_FREE:
	case ST_DONE: return GONE;
	}
	return GONE;
}

static void start_conn(struct worker *w, struct conn *c)
{
	c->olen = c->opos = c->ilen = 0;
	c->sent = c->rcvd = 0;
	c->t_start = now_ns();
	c->deadline = w->now + secs_ns(O.timeout);
	c->state = ST_CONNECTING;
	w->active++;
	w->opening++;
	if (O.mode == M_UDP && !O.use_proxy) {
		app_start(w, c); /* direct UDP: no TCP connection at all */
		return;
	}
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_fail(w, c, FK_SOCKET);
		return;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	const struct sockaddr_in *to = O.use_proxy ? &O.proxy : &O.target;
	if (connect(c->fd, (const struct sockaddr *)to, sizeof *to) < 0 && errno != EINPROGRESS) {
		enum fkind k = errno_kind(errno);
		conn_fail(w, c, k == FK_IO ? FK_CONNECT : k);
		return;
	}
	/* Registered only after connect(): an unconnected socket polls as
	 * EPOLLOUT|EPOLLHUP. Completion, even an immediate one, is then
	 * reported as EPOLLOUT. */
	epoll_add(w, c->fd, conn_tag(w, c, false), EPOLLIN | EPOLLOUT | EPOLLRDHUP);
}

static void handle(struct worker *w, struct conn *c, uint32_t ev, bool udp)
{
	if (udp) {
		if (c->state == ST_UDP)
			udp_recv(w, c);
		return;
	}
	for (int i = 0; i < 32; i++)
		if (step(w, c, ev) != CONT)
			return;
	/* Still going (pingpong exchanges can follow each other this fast):
	 * edge-triggered, so ask to hear about this socket again. */
	rearm(w, c, false);
}

static void open_more(struct worker *w)
{
	while (w->next_open < w->nconn && w->opening < O.open_limit && !w->stopping)
		start_conn(w, &w->conns[w->next_open++]);
}

static void tick(struct worker *w)
{
	if (O.mode == M_UDP && w->now >= t_warm) {
		for (unsigned i = 0; i < w->nconn; i++) {
			struct conn *c = &w->conns[i];
			if (c->state == ST_UDP && c->measure_seq == UINT64_MAX)
				c->measure_seq = c->next_seq;
		}
	}
	uint64_t lost_before = w->now - secs_ns(O.loss_timeout);
	for (unsigned i = 0; i < w->nconn; i++) {
		struct conn *c = &w->conns[i];
		if (c->state == ST_FREE) {
			if (O.mode == M_CPS && !w->stopping)
				start_conn(w, c);
			continue;
		}
		if (c->state == ST_DONE)
			continue;
		if (c->state == ST_UDP) {
			udp_expire(w, c, lost_before);
			udp_send(w, c);
			continue;
		}
		if (w->now > c->deadline)
			conn_fail(w, c, FK_TIMEOUT);
	}
	if (O.mode != M_CPS)
		open_more(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[512];
	uint64_t next_tick = 0, hard_end = t0 + secs_ns(O.max_time);
	uint64_t drain_end = 0;
	bool checking = false;
	w->now = now_ns();
	if (O.mode == M_CPS)
		for (unsigned i = 0; i < w->nconn; i++)
			start_conn(w, &w->conns[i]);
	else
		open_more(w);
	for (;;) {
		w->now = now_ns();
		if (w->now >= hard_end) {
			for (unsigned i = 0; i < w->nconn; i++)
				if (w->conns[i].state != ST_FREE && w->conns[i].state != ST_DONE)
					conn_fail(w, &w->conns[i], FK_TIMEOUT);
			break;
		}
		bool stop_now = atomic_load(&g_stop) != 0;
		if ((O.mode == M_CPS || O.mode == M_UDP) && !w->stopping &&
		    (w->now >= t_end || stop_now)) {
			w->stopping = true;
			drain_end = w->now + secs_ns(O.mode == M_UDP ? O.loss_timeout * 2 + 0.1
								      : O.timeout);
		}
		if ((O.mode == M_STREAM || O.mode == M_PINGPONG) && stop_now && !w->stopping) {
			w->stopping = true;
			hard_end = w->now + secs_ns(0.5);
		}
		if (O.mode == M_IDLE && !checking && atomic_load(&g_check)) {
			checking = true;
			w->stopping = true;
			for (unsigned i = 0; i < w->nconn; i++) {
				struct conn *c = &w->conns[i];
				if (c->state != ST_IDLE)
					continue;
				c->state = ST_PING2;
				c->deadline = w->now + secs_ns(O.timeout);
				queue_out(c, pat + c->id % 4096, 16);
				handle(w, c, 0, false);
			}
		}
		if (w->now >= next_tick) {
			tick(w);
			next_tick = w->now + 50000000u;
		}
		/* Done? */
		if (O.mode == M_CPS && w->stopping && (w->active == 0 || w->now >= drain_end))
			break;
		if (O.mode == M_UDP && w->stopping) {
			unsigned outstanding = 0;
			for (unsigned i = 0; i < w->nconn; i++)
				if (w->conns[i].state == ST_UDP)
					outstanding += w->conns[i].outstanding;
			if (outstanding == 0 || w->now >= drain_end)
				break;
		}
		if ((O.mode == M_STREAM || O.mode == M_PINGPONG) && w->settled == w->nconn)
			break;
		if (O.mode == M_IDLE && checking && w->active == 0)
			break;
		int n = epoll_wait(w->ep, evs, 512, 20);
		if (n > 0)
			w->now = now_ns();
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			struct conn *c = &w->conns[(tag & 0xffffffffu) >> 1];
			if ((uint32_t)(tag >> 32) != c->gen)
				continue; /* the connection this was for is gone */
			handle(w, c, evs[i].events, tag & 1);
		}
		if (O.mode != M_CPS && w->opening < O.open_limit)
			open_more(w);
	}
	/* Close what is left (udp associations, stragglers). */
	for (unsigned i = 0; i < w->nconn; i++) {
		struct conn *c = &w->conns[i];
		if (c->state == ST_UDP) {
			udp_expire(w, c, UINT64_MAX);
			conn_close(w, c, ST_DONE);
		} else if (c->state != ST_FREE && c->state != ST_DONE) {
			conn_fail(w, c, FK_TIMEOUT);
		}
	}
	atomic_fetch_add(&g_doneall, 1);
	return NULL;
}

/* ---- results ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1] / 1000.0;
}

static char result[8192];
static size_t rlen;

static void kv(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void kv(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (rlen < sizeof result - 1) {
		rlen += (size_t)vsnprintf(result + rlen, sizeof result - rlen, fmt, ap);
		if (rlen > sizeof result - 1)
			rlen = sizeof result - 1;
	}
	va_end(ap);
}

static void human(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void human(const char *fmt, ...)
{
	if (O.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static void report(struct worker *ws, double elapsed)
{
	struct worker t = { 0 };
	size_t nlat = 0;
	for (unsigned i = 0; i < O.threads; i++)
		nlat += ws[i].nlat;
	uint32_t *lat = malloc((nlat ? nlat : 1) * sizeof *lat);
	if (!lat)
		die("loadgen: out of memory");
	nlat = 0;
	for (unsigned i = 0; i < O.threads; i++) {
		struct worker *w = &ws[i];
		for (int k = 0; k < FK_N; k++)
			for (int p = 0; p < PH_N; p++)
				t.fails[k][p] += w->fails[k][p];
		for (int r = 0; r < 256; r++)
			t.rep[r] += w->rep[r];
		t.done += w->done;
		t.done_window += w->done_window;
		t.rx_bytes += w->rx_bytes;
		t.tx_bytes += w->tx_bytes;
		t.ok_bytes += w->ok_bytes;
		t.ready += w->ready;
		t.dropped += w->dropped;
		t.alive += w->alive;
		t.pp_rate += w->pp_rate;
		t.u_sent += w->u_sent;
		t.u_got += w->u_got;
		t.u_lost += w->u_lost;
		t.u_late += w->u_late;
		t.u_bad += w->u_bad;
		if (w->last_done_ns > t.last_done_ns)
			t.last_done_ns = w->last_done_ns;
		memcpy(lat + nlat, w->lat, w->nlat * sizeof *lat);
		nlat += w->nlat;
	}
	qsort(lat, nlat, sizeof *lat, cmp_u32);
	uint64_t failures = 0;
	for (int k = 0; k < FK_N; k++)
		for (int p = 0; p < PH_N; p++)
			failures += t.fails[k][p];

	kv("RESULT mode=%s via=%s label=%s conc=%u threads=%u", mode_names[O.mode],
	   O.use_proxy ? "proxy" : "direct", O.label, O.conc, O.threads);
	human("loadgen %s via %s, %u connections, %u thread(s)\n", mode_names[O.mode],
	      O.use_proxy ? "SOCKS5 proxy" : "direct", O.conc, O.threads);
	double p50 = pct_ms(lat, nlat, 50), p90 = pct_ms(lat, nlat, 90), p99 = pct_ms(lat, nlat, 99),
	       pmax = nlat ? lat[nlat - 1] / 1000.0 : 0;
	switch (O.mode) {
	case M_CPS: {
		double cps = (double)t.done_window / O.duration;
		kv(" duration=%.2f conns=%llu cps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
		   " total_conns=%llu",
		   O.duration, (unsigned long long)t.done_window, cps, p50, p90, p99, pmax,
		   (unsigned long long)t.done);
		human("  %llu connections completed in %.2f s: %.1f connections/s\n",
		      (unsigned long long)t.done_window, O.duration, cps);
		human("  latency (socket() to last response byte): p50 %.3f ms, p90 %.3f ms, "
		      "p99 %.3f ms, max %.3f ms\n",
		      p50, p90, p99, pmax);
		break;
	}
	case M_STREAM: {
		double secs = t.last_done_ns > t0 ? (double)(t.last_done_ns - t0) / 1e9 : elapsed;
		uint64_t ok = t.ok_bytes / (O.bytes ? O.bytes : 1);
		double mbps = secs > 0 ? (double)t.ok_bytes / secs / 1e6 : 0;
		kv(" bytes_per_conn=%llu completed=%llu elapsed=%.3f mbps=%.1f rx_bytes=%llu "
		   "tx_bytes=%llu p50_ms=%.1f max_ms=%.1f",
		   (unsigned long long)O.bytes, (unsigned long long)ok, secs, mbps,
		   (unsigned long long)t.rx_bytes, (unsigned long long)t.tx_bytes, p50, pmax);
		human("  %llu of %u streams of %llu bytes completed, every byte checked\n",
		      (unsigned long long)ok, O.conc, (unsigned long long)O.bytes);
		human("  %.3f s: %.1f MB/s echoed (each byte counted once; it crossed the "
		      "relay twice)\n",
		      secs, mbps);
		break;
	}
	case M_IDLE:
		kv(" established=%llu alive=%llu dropped=%llu", (unsigned long long)t.ready,
		   (unsigned long long)t.alive, (unsigned long long)t.dropped);
		human("  %llu established, %llu dropped during the hold, %llu alive at the end\n",
		      (unsigned long long)t.ready, (unsigned long long)t.dropped,
		      (unsigned long long)t.alive);
		break;
	case M_PINGPONG: {
		/* samples are in units of 100 ns */
		double q50 = pct_ms(lat, nlat, 50) * 100, q90 = pct_ms(lat, nlat, 90) * 100,
		       q99 = pct_ms(lat, nlat, 99) * 100, qmax = nlat ? lat[nlat - 1] / 10.0 : 0;
		kv(" size=%u duration=%.2f exchanges=%llu xps=%.1f p50_us=%.1f p90_us=%.1f "
		   "p99_us=%.1f max_us=%.1f",
		   O.size, O.duration, (unsigned long long)t.done_window, t.pp_rate, q50, q90, q99,
		   qmax);
		human("  %llu exchanges of %u bytes recorded in %.2f s: %.1f exchanges/s\n",
		      (unsigned long long)t.done_window, O.size, O.duration, t.pp_rate);
		human("  round trip: p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n", q50,
		      q90, q99, qmax);
		break;
	}
	case M_UDP: {
		double dps = (double)t.u_got / O.duration;
		double loss = t.u_sent ? 100.0 * (double)t.u_lost / (double)t.u_sent : 0;
		kv(" size=%u window=%u duration=%.2f sent=%llu echoed=%llu lost=%llu late=%llu "
		   "bad=%llu dgram_per_s=%.1f mbytes_per_s=%.2f loss_pct=%.4f p50_ms=%.3f "
		   "p99_ms=%.3f",
		   O.size, O.window, O.duration, (unsigned long long)t.u_sent,
		   (unsigned long long)t.u_got, (unsigned long long)t.u_lost,
		   (unsigned long long)t.u_late, (unsigned long long)t.u_bad, dps,
		   dps * O.size / 1e6, loss, p50, p99);
		human("  %llu datagrams of %u bytes echoed in %.2f s: %.1f datagrams/s, %.2f MB/s "
		      "each way\n",
		      (unsigned long long)t.u_got, O.size, O.duration, dps, dps * O.size / 1e6);
		human("  sent %llu, lost %llu (%.4f %%), late %llu, bad %llu; round trip p50 %.3f "
		      "ms, p99 %.3f ms\n",
		      (unsigned long long)t.u_sent, (unsigned long long)t.u_lost, loss,
		      (unsigned long long)t.u_late, (unsigned long long)t.u_bad, p50, p99);
		break;
	}
	}
	kv(" failures=%llu", (unsigned long long)failures);
	if (failures)
		human("  failures: %llu\n", (unsigned long long)failures);
	else
		human("  no failures\n");
	for (int k = 0; k < FK_N; k++)
		for (int p = 0; p < PH_N; p++)
			if (t.fails[k][p]) {
				kv(" fail_%s_%s=%llu", fkind_names[k], phase_names[p],
				   (unsigned long long)t.fails[k][p]);
				human("    %-12s in %-9s %llu\n", fkind_names[k], phase_names[p],
				      (unsigned long long)t.fails[k][p]);
			}
	for (int r = 0; r < 256; r++)
		if (t.rep[r]) {
			kv(" rep_%d=%llu", r, (unsigned long long)t.rep[r]);
			human("    SOCKS5 reply code %d: %llu\n", r, (unsigned long long)t.rep[r]);
		}
	printf("%s\n", result);
	fflush(stdout);
	free(lat);
}

/* ---- command line ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: loadgen MODE [options]\n"
		"  MODE: cps | stream | idle | udp | pingpong\n"
		"  --proxy ADDR:PORT   SOCKS5 proxy (without it: connect straight to the target)\n"
		"  --target ADDR:PORT  cps: fixed-response target; stream, idle, pingpong: echo\n"
		"                      target; udp: UDP echo target (required)\n"
		"  --auth USER:PASS    RFC 1929 username/password\n"
		"  --concurrency N     connections (cps: in flight; udp: associations)\n"
		"                      [50; pingpong: 1]\n"
		"  --threads N         event loops [1]\n"
		"  --duration SEC      cps, udp, pingpong: measured time; idle: hold time,\n"
		"                      0 = until SIGUSR1/SIGTERM/SIGINT [5]\n"
		"  --warmup SEC        cps, udp, pingpong: run this long before measuring [0]\n"
		"                      (pingpong also skips each session's first 100 exchanges)\n"
		"  --timeout SEC       per-connection deadline for handshake and exchange [10]\n"
		"  --bytes N           stream: bytes each way per connection (K, M, G) [64M]\n"
		"  --stall SEC         stream: fail a connection without progress this long [5]\n"
		"  --request N         cps: request bytes [32]\n"
		"  --response N        cps: response bytes expected [128]\n"
		"  --size N            udp: datagram payload bytes, 16..65000 [512];\n"
		"                      pingpong: message bytes, 1..262144 [64]\n"
		"  --window N          udp: datagrams in flight per association [16]\n"
		"  --loss-timeout SEC  udp: a datagram not back this soon is lost [0.2]\n"
		"  --open-limit N      stream, idle, udp: handshakes in flight per thread [256]\n"
		"  --max-time SEC      hard bound on the whole run [600]\n"
		"  --label TEXT        copied into the RESULT line\n"
		"  --quiet             print only the RESULT line\n"
		"Example: loadgen cps --proxy 127.0.0.1:1080 --target 127.0.0.1:9001 "
		"--concurrency 50 --duration 5\n"
		"         loadgen pingpong --proxy 127.0.0.1:1080 --target 127.0.0.1:9000 "
		"--concurrency 8 --duration 3\n");
}

static void parse_args(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		exit(2);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		exit(0);
	}
	int m;
	for (m = 0; m < MODE_COUNT; m++)
		if (!strcmp(argv[1], mode_names[m]))
			break;
	if (m == MODE_COUNT)
		die("loadgen: unknown mode '%s' (cps, stream, idle, udp, pingpong)", argv[1]);
	O.mode = (enum mode)m;
	bool have_target = false, conc_given = false;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quiet")) {
			O.quiet = true;
			continue;
		}
		if (!strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (i + 1 >= argc)
			die("loadgen: %s needs a value (see --help)", a);
		const char *v = argv[++i];
		uint64_t u;
		double d;
#define NUM(lo, hi)                                                                     \
	do {                                                                            \
		if (parse_size(v, &u) || u < (lo) || u > (hi))                          \
			die("loadgen: %s: expected %llu..%llu, got '%s'", a,            \
			    (unsigned long long)(lo), (unsigned long long)(hi), v);     \
	} while (0)
#define SECS()                                                                          \
	do {                                                                            \
		if (parse_seconds(v, &d))                                               \
			die("loadgen: %s: expected seconds, got '%s'", a, v);          \
	} while (0)
		if (!strcmp(a, "--proxy")) {
			if (parse_hostport(v, &O.proxy))
				die("loadgen: --proxy: expected IPv4:PORT, got '%s'", v);
			O.use_proxy = true;
		} else if (!strcmp(a, "--target")) {
			if (parse_hostport(v, &O.target))
				die("loadgen: --target: expected IPv4:PORT, got '%s'", v);
			have_target = true;
		} else if (!strcmp(a, "--auth")) {
			const char *colon = strchr(v, ':');
			if (!colon || colon == v || colon - v > 255 || strlen(colon + 1) > 255 ||
			    !colon[1])
				die("loadgen: --auth: expected USER:PASS (each 1..255 bytes)");
			memcpy(O.user, v, (size_t)(colon - v));
			strcpy(O.pass, colon + 1);
			O.auth = true;
		} else if (!strcmp(a, "--concurrency") || !strcmp(a, "-c")) {
			NUM(1, 1000000);
			O.conc = (unsigned)u;
			conc_given = true;
		} else if (!strcmp(a, "--threads")) {
			NUM(1, 64);
			O.threads = (unsigned)u;
		} else if (!strcmp(a, "--duration") || !strcmp(a, "-d")) {
			SECS();
			O.duration = d;
		} else if (!strcmp(a, "--warmup")) {
			SECS();
			O.warmup = d;
		} else if (!strcmp(a, "--timeout")) {
			SECS();
			O.timeout = d;
		} else if (!strcmp(a, "--stall")) {
			SECS();
			O.stall = d;
		} else if (!strcmp(a, "--max-time")) {
			SECS();
			O.max_time = d;
		} else if (!strcmp(a, "--loss-timeout")) {
			SECS();
			O.loss_timeout = d;
		} else if (!strcmp(a, "--bytes")) {
			NUM(1, 1ull << 40);
			O.bytes = u;
		} else if (!strcmp(a, "--request")) {
			NUM(1, 1000);
			O.req_size = (uint32_t)u;
		} else if (!strcmp(a, "--response")) {
			NUM(1, 1u << 20);
			O.resp_size = (uint32_t)u;
		} else if (!strcmp(a, "--size")) {
			NUM(1, SCRATCH_SIZE);
			O.size = (uint32_t)u;
			O.size_given = true;
		} else if (!strcmp(a, "--window")) {
			NUM(1, 4096);
			O.window = (unsigned)u;
		} else if (!strcmp(a, "--open-limit")) {
			NUM(1, 100000);
			O.open_limit = (unsigned)u;
		} else if (!strcmp(a, "--label")) {
			O.label = v;
		} else {
			die("loadgen: unknown option '%s' (see --help)", a);
		}
#undef NUM
#undef SECS
	}
	if (!have_target)
		die("loadgen: --target is required");
	if (O.mode == M_PINGPONG) {
		if (!conc_given)
			O.conc = 1;
		if (!O.size_given)
			O.size = 64;
	}
	if (O.mode == M_UDP && (O.size < 16 || O.size > 65000))
		die("loadgen: --size: expected 16..65000 for udp, got %u", O.size);
	if (O.threads > O.conc)
		O.threads = O.conc;
	bool timed = O.mode == M_CPS || O.mode == M_UDP || O.mode == M_PINGPONG;
	if (timed && O.duration <= 0)
		die("loadgen: --duration must be > 0 for %s", mode_names[O.mode]);
	double need = O.warmup + O.duration + O.timeout * 2 + 5;
	if (timed && O.max_time < need)
		O.max_time = need;
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* workers inherit it; main waits */

	pat = malloc(2 * (size_t)PATTERN_LEN);
	if (!pat)
		die("loadgen: out of memory");
	pattern_fill(pat);

	struct worker *ws = calloc(O.threads, sizeof *ws);
	struct conn *conns = calloc(O.conc, sizeof *conns);
	if (!ws || !conns)
		die("loadgen: out of memory");
	unsigned per = O.conc / O.threads, extra = O.conc % O.threads, id = 0;
	for (unsigned i = 0; i < O.threads; i++) {
		struct worker *w = &ws[i];
		w->idx = i;
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		size_t scratch = SCRATCH_SIZE;
		if (O.mode == M_UDP && (size_t)UDP_BATCH * (O.size + 64) > scratch)
			scratch = (size_t)UDP_BATCH * (O.size + 64);
		w->scratch = malloc(scratch);
		w->mm = calloc(UDP_BATCH, sizeof *w->mm);
		w->iov = calloc(UDP_BATCH * 2, sizeof *w->iov);
		w->uhdr = calloc(UDP_BATCH, 26);
		w->ufrom = calloc(UDP_BATCH, sizeof *w->ufrom);
		if (w->ep < 0 || !w->scratch || !w->mm || !w->iov || !w->uhdr || !w->ufrom)
			die("loadgen: setup failed");
		w->nconn = per + (i < extra ? 1 : 0);
		w->conns = conns + id;
		w->first_id = id;
		for (unsigned j = 0; j < w->nconn; j++) {
			struct conn *c = &w->conns[j];
			c->fd = c->ufd = -1;
			c->id = id + j;
			c->seed = (uint32_t)(((uint64_t)c->id * 7919u) % PATTERN_LEN);
		}
		id += w->nconn;
	}

	t0 = now_ns();
	t_warm = t0 + secs_ns(O.warmup);
	t_end = t_warm + secs_ns(O.duration);
	for (unsigned i = 0; i < O.threads; i++)
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]))
			die("loadgen: pthread_create failed");

	/* The main thread only watches the clock and the signals. */
	bool ready_said = false;
	uint64_t hold_end = 0;
	for (;;) {
		struct timespec ts = { 0, 20000000 };
		int sig = sigtimedwait(&set, NULL, &ts);
		uint64_t now = now_ns();
		if (atomic_load(&g_doneall) == O.threads)
			break;
		if (O.mode == M_IDLE) {
			uint64_t settled = atomic_load(&g_ready) + atomic_load(&g_failed);
			if (!ready_said && (settled >= O.conc || sig > 0)) {
				ready_said = true;
				hold_end = O.duration > 0 ? now + secs_ns(O.duration) : UINT64_MAX;
				printf("READY established=%llu failed=%llu open_s=%.3f\n",
				       (unsigned long long)atomic_load(&g_ready),
				       (unsigned long long)atomic_load(&g_failed),
				       (double)(now - t0) / 1e9);
				fflush(stdout);
				if (sig > 0)
					hold_end = now;
			} else if (ready_said && (sig > 0 || now >= hold_end)) {
				atomic_store(&g_check, 1);
			}
		} else if (sig > 0) {
			atomic_store(&g_stop, 1);
		}
	}
	for (unsigned i = 0; i < O.threads; i++)
		pthread_join(ws[i].th, NULL);
	report(ws, (double)(now_ns() - t0) / 1e9);
	return 0;
}
