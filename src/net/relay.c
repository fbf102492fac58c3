/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Buffers and the relay pump. See relay.h for the model. */
#include "net/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Read/write turns per wake-up at most, so one busy stream cannot keep
 * the worker from its other sessions for long (8 x 64 KiB). */
#define RELAY_ROUNDS 8

void buf_consume(struct buf *b, size_t n)
{
	b->start += (uint32_t)n;
	if (b->start == b->end)
		b->start = b->end = 0;
}

void buf_compact(struct buf *b)
{
	if (b->start == 0)
		return;
	memmove(b->data, b->data + b->start, b->end - b->start);
	b->end -= b->start;
	b->start = 0;
}

size_t buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_space(b) < n)
		buf_compact(b);
	if (n > buf_space(b))
		n = buf_space(b);
	memcpy(b->data + b->end, p, n);
	b->end += (uint32_t)n;
	return n;
}

void buf_pool_init(struct buf_pool *pool, size_t max_free)
{
	pool->free = NULL;
	pool->nfree = 0;
	pool->max_free = max_free;
}

void buf_pool_destroy(struct buf_pool *pool)
{
	while (pool->free) {
		struct buf *b = pool->free;
		pool->free = b->next;
		free(b);
	}
	pool->nfree = 0;
}

struct buf *buf_get(struct buf_pool *pool)
{
	struct buf *b = pool->free;
	if (b) {
		pool->free = b->next;
		pool->nfree--;
	} else {
		/* Not zeroed: only data[start, end) is ever read. */
		b = malloc(sizeof(*b));
		if (!b)
			return NULL;
	}
	b->start = b->end = 0;
	b->next = NULL;
	return b;
}

void buf_put(struct buf_pool *pool, struct buf *b)
{
	if (!b)
		return;
	if (pool->nfree >= pool->max_free) {
		free(b);
		return;
	}
	b->next = pool->free;
	pool->free = b;
	pool->nfree++;
}

/* ---- the pipe pool ---- */

void pipe_pool_init(struct pipe_pool *pool, unsigned max_live)
{
	pool->free = NULL;
	pool->nfree = 0;
	pool->live = 0;
	pool->max_live = max_live;
	pool->refused = false;
}

void pipe_pool_set_max(struct pipe_pool *pool, unsigned max_live)
{
	pool->max_live = max_live;
	pool->refused = false; /* the quota may have changed too: try again */
}

static void pipe_close(struct pipe_pool *pool, struct pipe_pair *p)
{
	close(p->rfd);
	close(p->wfd);
	free(p);
	pool->live--;
}

void pipe_pool_destroy(struct pipe_pool *pool)
{
	while (pool->free) {
		struct pipe_pair *p = pool->free;
		pool->free = p->next;
		pipe_close(pool, p);
	}
	pool->nfree = 0;
}

/* A new pipe sized to RELAY_PIPE_SIZE. Past the per-user pipe quota
 * (fs.pipe-user-pages-soft, enforced here even for root) the kernel hands
 * out two-page pipes and refuses to grow them; such a pipe would be slower
 * than the read/write path, so none is made until the limit is reset. */
static struct pipe_pair *pipe_open(struct pipe_pool *pool)
{
	struct pipe_pair *p = malloc(sizeof(*p));
	int fds[2];
	if (!p)
		return NULL;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		free(p);
		return NULL;
	}
	if (fcntl(fds[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE) < RELAY_PIPE_SIZE) {
		pool->refused = true;
		close(fds[0]);
		close(fds[1]);
		free(p);
		return NULL;
	}
	p->rfd = fds[0];
	p->wfd = fds[1];
	p->next = NULL;
	pool->live++;
	return p;
}

struct pipe_pair *pipe_get(struct pipe_pool *pool)
{
	struct pipe_pair *p = pool->free;
	if (p) {
		pool->free = p->next;
		pool->nfree--;
		p->next = NULL;
		return p;
	}
	if (pool->live >= pool->max_live || pool->refused)
		return NULL;
	return pipe_open(pool);
}

void pipe_put(struct pipe_pool *pool, struct pipe_pair *p, bool empty)
{
	if (!p)
		return;
	if (!empty || pool->live > pool->max_live) {
		pipe_close(pool, p);
		return;
	}
	p->next = pool->free;
	pool->free = p;
	pool->nfree++;
}

/* ---- read/write through a buffer ---- */

static void relay_drop_empty(struct relay *r, enum relay_dir dir, struct buf_pool *pool)
{
	if (r->buf[dir] && buf_len(r->buf[dir]) == 0) {
		buf_put(pool, r->buf[dir]);
		r->buf[dir] = NULL;
	}
}

/* Write what is buffered. 0 when all went or the socket would block. */
static int relay_write(struct relay *r, enum relay_dir dir, int dst_fd)
{
	struct buf *b = r->buf[dir];
	while (buf_len(b) > 0) {
		ssize_t n = send(dst_fd, buf_head(b), buf_len(b), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			r->sink_failed = true;
			return -errno;
		}
		buf_consume(b, (size_t)n);
		r->bytes[dir] += (uint64_t)n;
	}
	return 0;
}

/* Once the source has ended and everything it sent is delivered, pass the
 * FIN on. A sink that is already gone (ENOTCONN) is not an error here: the
 * other direction's read will report what happened. */
static void relay_pass_fin(struct relay *r, enum relay_dir dir, int dst_fd)
{
	if (r->eof[dir] && !r->shut[dir] && buf_len(r->buf[dir]) == 0 && r->inpipe[dir] == 0) {
		/* The last FIN of the two is left to close(), which the caller
		 * makes at once (relay_done): both peers have finished sending,
		 * so close sends a FIN, not a reset, and the shutdown call was
		 * 7 % of the CPU per short connection (bench/RESULTS.md). */
		if (!r->shut[!dir])
			shutdown(dst_fd, SHUT_WR);
		r->shut[dir] = true;
	}
}

int relay_flush(struct relay *r, enum relay_dir dir, int dst_fd, struct buf_pool *pool)
{
	int rc = relay_write(r, dir, dst_fd);
	relay_drop_empty(r, dir, pool);
	if (rc == 0)
		relay_pass_fin(r, dir, dst_fd);
	return rc;
}

ssize_t relay_fill(struct relay *r, enum relay_dir dir, int src_fd, struct buf_pool *pool)
{
	if (!r->buf[dir]) {
		r->buf[dir] = buf_get(pool);
		if (!r->buf[dir])
			return -ENOMEM;
	}
	struct buf *b = r->buf[dir];
	if (buf_space(b) == 0)
		buf_compact(b);
	if (buf_space(b) == 0)
		return -ENOBUFS; /* a zero-length recv would look like EOF */
	for (;;) {
		ssize_t n = recv(src_fd, b->data + b->end, buf_space(b), 0);
		if (n >= 0) {
			b->end += (uint32_t)n;
			if (n == 0)
				r->eof[dir] = true;
			return n;
		}
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

/* The read/write path: see relay_pump. */
static int relay_pump_buffer(struct relay *r, enum relay_dir dir, int src_fd, int dst_fd,
			     struct buf_pool *pool)
{
	/* Write first: it makes room, and keeps bytes in order. */
	int rc = relay_write(r, dir, dst_fd);
	if (rc < 0)
		return rc;
	/* Then read and write in turns while the source fills the whole
	 * buffer and the sink takes all of it: a bulk stream moves several
	 * buffers per wake-up instead of one (bench/RESULTS.md: one
	 * epoll_wait per 32 KiB was a third of the syscalls). A short read
	 * means the source is drained; a partial write, that the sink is full. */
	for (int round = 0; round < RELAY_ROUNDS; round++) {
		if (r->eof[dir] || buf_len(r->buf[dir]) > 0)
			break;
		ssize_t n = relay_fill(r, dir, src_fd, pool);
		if (n < 0 && n != -EAGAIN)
			return (int)n;
		if (n <= 0)
			break;
		rc = relay_write(r, dir, dst_fd);
		if (rc < 0)
			return rc;
		if ((size_t)n < RELAY_BUF_SIZE)
			break;
		r->bulk[dir] = true;
	}
	/* Not drained by the sink: still top the buffer up once, so the
	 * next writable event has a full buffer to send. */
	if (!r->eof[dir] && buf_len(r->buf[dir]) > 0 && buf_len(r->buf[dir]) < RELAY_BUF_SIZE) {
		ssize_t n = relay_fill(r, dir, src_fd, pool);
		if (n < 0 && n != -EAGAIN)
			return (int)n;
	}
	relay_drop_empty(r, dir, pool);
	return 0;
}

/* ---- splice through a pipe ---- */

/* Empty the pipe into the sink as far as it takes. 0 or -errno. */
static int relay_splice_out(struct relay *r, enum relay_dir dir, int dst_fd)
{
	while (r->inpipe[dir] > 0) {
		ssize_t n = splice(r->pipe[dir]->rfd, NULL, dst_fd, NULL, r->inpipe[dir],
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			r->sink_failed = true;
			return -errno;
		}
		r->inpipe[dir] -= (uint32_t)n;
		r->bytes[dir] += (uint64_t)n;
		r->spliced[dir] += (uint64_t)n;
	}
	return 0;
}

/* Fill the empty pipe from the source: > 0 bytes, 0 EOF, -EAGAIN, -errno. */
static ssize_t relay_splice_in(struct relay *r, enum relay_dir dir, int src_fd)
{
	for (;;) {
		ssize_t n = splice(src_fd, NULL, r->pipe[dir]->wfd, NULL, RELAY_PIPE_SIZE,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			r->inpipe[dir] += (uint32_t)n;
		else if (n == 0)
			r->eof[dir] = true;
		else if (errno == EINTR)
			continue;
		else
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		return n;
	}
}

/* The splice path, the same turns as relay_pump_buffer with the pipe in
 * place of the buffer. Returns 1 when splice turned out not to work on
 * these sockets and nothing was moved: the caller goes back to read/write
 * for good. */
static int relay_pump_pipe(struct relay *r, enum relay_dir dir, int src_fd, int dst_fd)
{
	int rc = relay_splice_out(r, dir, dst_fd);
	if (rc < 0)
		return rc;
	for (int round = 0; round < RELAY_ROUNDS; round++) {
		if (r->eof[dir] || r->inpipe[dir] > 0)
			break;
		ssize_t n = relay_splice_in(r, dir, src_fd);
		if (n == -EINVAL && r->spliced[dir] == 0)
			return 1;
		if (n < 0 && n != -EAGAIN)
			return (int)n;
		if (n <= 0)
			break;
		rc = relay_splice_out(r, dir, dst_fd);
		if (rc < 0)
			return rc;
		if ((size_t)n < RELAY_PIPE_SIZE)
			break; /* drained, most likely; if not, epoll says so again */
	}
	return 0;
}

/* Splice this time? Only a bulk direction with nothing left in its buffer
 * (bytes stay in order), and only with a pipe in hand. Short exchanges stay
 * on read/write: a splice costs more than a copy for a few bytes. */
static bool relay_use_pipe(struct relay *r, enum relay_dir dir, struct pipe_pool *pipes)
{
	if (r->pipe[dir])
		return true;
	if (!r->bulk[dir] || !pipes || buf_len(r->buf[dir]) > 0)
		return false;
	r->pipe[dir] = pipe_get(pipes);
	return r->pipe[dir] != NULL;
}

/* A dead direction: read its source and throw it away (bounded per
 * wake-up, like any other turn) until it ends or fails. */
static void relay_discard(struct relay *r, enum relay_dir dir, int src_fd)
{
	uint8_t sink[16384];

	for (int round = 0; round < RELAY_ROUNDS; round++) {
		ssize_t n = recv(src_fd, sink, sizeof(sink), 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			r->eof[dir] = true;
		return;
	}
}

/* The sink of dir failed: nothing in flight can be delivered any more. */
static void relay_kill(struct relay *r, enum relay_dir dir, const struct relay_pools *pools)
{
	r->dead[dir] = true;
	buf_put(pools->bufs, r->buf[dir]);
	r->buf[dir] = NULL;
	if (r->pipe[dir]) {
		pipe_put(pools->pipes, r->pipe[dir], false);
		r->pipe[dir] = NULL;
	}
	r->inpipe[dir] = 0;
}

/* A read or write of direction dir failed with rc: keep the first error;
 * a failed sink kills the direction (true), a failed source counts as its
 * end, and what it sent is still delivered (false). */
static bool relay_failed(struct relay *r, enum relay_dir dir, int rc,
			 const struct relay_pools *pools)
{
	if (r->err == 0)
		r->err = rc;
	if (r->sink_failed) {
		relay_kill(r, dir, pools);
		return true;
	}
	r->eof[dir] = true;
	return false;
}

/* ---- the kernel relay ---- */

/* The counters of the direction in the kernel relay. */
static struct krelay_dir *relay_kdir(const struct relay *r, const struct relay_pools *pools)
{
	return krelay_dir(pools->kernel, r->kpair);
}

/* May direction dir write to its sink now, after what the kernel sent on
 * before? If not, it waits (kwait), or its sink is gone (dead). */
static bool relay_kernel_clear(struct relay *r, enum relay_dir dir, int dst_fd,
			       const struct relay_pools *pools)
{
	bool gone;
	if (krelay_flushed(relay_kdir(r, pools), dst_fd, &gone))
		return true;
	if (gone) {
		int e = krelay_sink_failed(dst_fd);
		if (r->err == 0)
			r->err = e < 0 ? e : -EPIPE;
		relay_kill(r, dir, pools);
		return false;
	}
	struct pollfd p = { .fd = dst_fd, .events = POLLOUT };
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT))
		r->kwait |= (uint8_t)(1u << dir);
	else
		r->kout |= (uint8_t)(1u << dir);
	return false;
}

/* Write what user space holds (bytes read from the source: normally none,
 * the program takes them all), and count it: the program's backlog of the
 * sink counts what user space wrote too. */
static int relay_kernel_write(struct relay *r, enum relay_dir dir, int dst_fd,
			      const struct relay_pools *pools)
{
	struct krelay_dir *d = relay_kdir(r, pools);
	size_t before = buf_len(r->buf[dir]);
	int rc = relay_write(r, dir, dst_fd);
	__atomic_store_n(&d->forwarded, d->forwarded + (before - buf_len(r->buf[dir])),
			 __ATOMIC_RELEASE);
	return rc;
}

/* The FIN, once the source ended and the kernel's bytes are out. */
static void relay_kernel_fin(struct relay *r, enum relay_dir dir, int dst_fd,
			     const struct relay_pools *pools)
{
	if (!r->eof[dir] || r->shut[dir] || r->dead[dir] || buf_len(r->buf[dir]) > 0)
		return;
	/* Bytes were dropped: no FIN may make the stream look whole (the
	 * session resets both connections instead). */
	if (__atomic_load_n(&relay_kdir(r, pools)->overflow, __ATOMIC_ACQUIRE))
		return;
	if (relay_kernel_clear(r, dir, dst_fd, pools))
		relay_pass_fin(r, dir, dst_fd);
}

/* Direction dir of a session in the kernel relay: a reset sink, the FIN
 * once the kernel's bytes are out, and (defensively) any byte a read of the
 * source returns, written after the kernel's own. */
static void relay_pump_kernel(struct relay *r, enum relay_dir dir, int src_fd, int dst_fd,
			      const struct relay_pools *pools)
{
	/* A reset sink while the source still sends: the kernel drops what
	 * it would write there (as for a dead direction), and the session
	 * must hear of it. Once the source has ended, only bytes the sink
	 * never took are news (relay_kernel_clear). */
	int rc = r->eof[dir] ? 0 : krelay_sink_failed(dst_fd);
	if (rc < 0) {
		if (r->err == 0)
			r->err = rc;
		relay_kill(r, dir, pools);
		return;
	}
	r->kwait &= (uint8_t) ~(1u << dir);
	r->kout &= (uint8_t) ~(1u << dir);
	for (int round = 0; round < RELAY_ROUNDS && rc == 0; round++) {
		if (buf_len(r->buf[dir]) > 0) {
			if (!relay_kernel_clear(r, dir, dst_fd, pools))
				break;
			rc = relay_kernel_write(r, dir, dst_fd, pools);
			if (rc < 0 || buf_len(r->buf[dir]) > 0)
				break;
		}
		if (r->eof[dir])
			break;
		ssize_t n = relay_fill(r, dir, src_fd, pools->bufs);
		if (n <= 0) {
			if (n < 0 && n != -EAGAIN)
				rc = (int)n;
			break;
		}
	}
	if ((rc < 0 && relay_failed(r, dir, rc, pools)) || r->dead[dir])
		return;
	relay_drop_empty(r, dir, pools->bufs);
	/* What a failed source had sent still goes out, in order. */
	if (buf_len(r->buf[dir]) > 0 && r->eof[dir] && relay_kernel_clear(r, dir, dst_fd, pools) &&
	    relay_kernel_write(r, dir, dst_fd, pools) < 0) {
		relay_kill(r, dir, pools);
		return;
	}
	relay_drop_empty(r, dir, pools->bufs);
	relay_kernel_fin(r, dir, dst_fd, pools);
}

bool relay_try_kernel(struct relay *r, int cfd, int tfd, const struct relay_pools *pools)
{
	if (r->in_kernel || r->kernel_done || !pools->kernel || !pools->kernel_on)
		return false;
	if (r->bytes[RELAY_UP] + r->bytes[RELAY_DOWN] < pools->kernel_after)
		return false;
	/* The direction that has carried more is the one worth handing over
	 * (a download, an upload); for a balanced exchange, the answers. */
	enum relay_dir dir = r->bytes[RELAY_UP] > r->bytes[RELAY_DOWN] ? RELAY_UP : RELAY_DOWN;
	int src = dir == RELAY_UP ? cfd : tfd, dst = dir == RELAY_UP ? tfd : cfd;
	if (r->eof[dir] || r->dead[dir] || buf_len(r->buf[dir]) > 0 || r->inpipe[dir] > 0)
		return false;
	/* Not while the source holds unread bytes: the program would be
	 * given a packet we have read part of, whole, and send that part
	 * twice. The next step, once we have read it, tries again. */
	if (krelay_unread(src) != 0)
		return false;
	int pair = krelay_attach(pools->kernel, src, dst);
	if (pair < 0) {
		/* Out of pairs, or the kernel refused these sockets: this
		 * session stays where it is, and does not ask again. */
		r->kernel_done = true;
		return false;
	}
	r->in_kernel = r->kernel_done = true;
	r->kpair = (uint32_t)pair;
	r->kdir = (uint8_t)dir;
	r->kwait_ms = 1;
	buf_put(pools->bufs, r->buf[dir]);
	r->buf[dir] = NULL;
	pipe_put(pools->pipes, r->pipe[dir], true);
	r->pipe[dir] = NULL;
	r->bulk[dir] = false;
	/* Bytes that came between our last read and the hand-over are still
	 * queued where the program has not seen them, and would wait for the
	 * next packet: any read makes the kernel run it over them first (a
	 * byte it leaves to us then wakes the loop as usual). */
	uint8_t none;
	(void)!recv(src, &none, 0, MSG_DONTWAIT);
	return true;
}

uint64_t relay_kernel_bytes(const struct relay *r, enum relay_dir dir,
			    const struct relay_pools *pools)
{
	if (!r->in_kernel || dir != r->kdir)
		return r->kernel[dir];
	return r->kernel[dir] + __atomic_load_n(&relay_kdir(r, pools)->redirected, __ATOMIC_RELAXED);
}

uint64_t relay_bytes(const struct relay *r, enum relay_dir dir, const struct relay_pools *pools)
{
	return r->bytes[dir] + relay_kernel_bytes(r, dir, pools);
}

uint64_t relay_kernel_last_ms(const struct relay *r, const struct relay_pools *pools)
{
	if (!r->in_kernel)
		return 0;
	return __atomic_load_n(&relay_kdir(r, pools)->last_ns, __ATOMIC_RELAXED) / 1000000u;
}

bool relay_kernel_overflowed(const struct relay *r, const struct relay_pools *pools)
{
	return r->in_kernel && __atomic_load_n(&relay_kdir(r, pools)->overflow, __ATOMIC_RELAXED);
}

const char *relay_used(const struct relay *r)
{
	if (r->in_kernel || r->kernel[RELAY_UP] || r->kernel[RELAY_DOWN])
		return "kernel";
	return r->spliced[RELAY_UP] || r->spliced[RELAY_DOWN] ? "splice" : "copy";
}

void relay_pump(struct relay *r, enum relay_dir dir, int src_fd, int dst_fd,
		const struct relay_pools *pools)
{
	int rc;

	if (r->dead[dir]) {
		relay_discard(r, dir, src_fd);
		return;
	}
	r->sink_failed = false;
	if (r->in_kernel && dir == r->kdir) {
		relay_pump_kernel(r, dir, src_fd, dst_fd, pools);
		return;
	}
	if (relay_use_pipe(r, dir, pools->pipes)) {
		rc = relay_pump_pipe(r, dir, src_fd, dst_fd);
		if (r->inpipe[dir] == 0) {
			pipe_put(pools->pipes, r->pipe[dir], true);
			r->pipe[dir] = NULL;
		}
		if (rc == 1) {
			r->bulk[dir] = false; /* splice cannot: read/write from now on */
			rc = relay_pump_buffer(r, dir, src_fd, dst_fd, pools->bufs);
		}
	} else {
		rc = relay_pump_buffer(r, dir, src_fd, dst_fd, pools->bufs);
	}
	if (rc < 0) {
		if (relay_failed(r, dir, rc, pools))
			return;
		relay_drop_empty(r, dir, pools->bufs);
		if (relay_write(r, dir, dst_fd) < 0) {
			relay_kill(r, dir, pools);
			return;
		}
	}
	relay_pass_fin(r, dir, dst_fd);
}

void relay_release(struct relay *r, const struct relay_pools *pools)
{
	if (r->in_kernel) {
		r->kernel[r->kdir] = relay_kernel_bytes(r, (enum relay_dir)r->kdir, pools);
		krelay_detach(pools->kernel, r->kpair);
		r->in_kernel = false;
		r->kwait = r->kout = 0;
	}
	for (int d = 0; d < 2; d++) {
		buf_put(pools->bufs, r->buf[d]);
		r->buf[d] = NULL;
		pipe_put(pools->pipes, r->pipe[d], r->inpipe[d] == 0);
		r->pipe[d] = NULL;
		r->inpipe[d] = 0;
	}
}
