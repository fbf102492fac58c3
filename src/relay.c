/* Buffers and the relay pump. See relay.h for the model. */
#include "relay.h"

#include <errno.h>
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
	if (r->eof[dir] && !r->shut[dir] && buf_len(r->buf[dir]) == 0) {
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

int relay_pump(struct relay *r, enum relay_dir dir, int src_fd, int dst_fd, bool may_read,
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
		if (!may_read || r->eof[dir] || buf_len(r->buf[dir]) > 0)
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
	}
	/* Not drained by the sink: still top the buffer up once, so the
	 * next writable event has a full buffer to send. */
	if (may_read && !r->eof[dir] && buf_len(r->buf[dir]) > 0 &&
	    buf_len(r->buf[dir]) < RELAY_BUF_SIZE) {
		ssize_t n = relay_fill(r, dir, src_fd, pool);
		if (n < 0 && n != -EAGAIN)
			return (int)n;
	}
	relay_drop_empty(r, dir, pool);
	relay_pass_fin(r, dir, dst_fd);
	return 0;
}

void relay_release(struct relay *r, struct buf_pool *pool)
{
	for (int d = 0; d < 2; d++) {
		buf_put(pool, r->buf[d]);
		r->buf[d] = NULL;
	}
}
