/* Byte buffers and the bidirectional TCP relay.
 *
 * A session has two directions. Bytes read from the client wait in
 * buf[RELAY_UP] until the target takes them; bytes from the target wait in
 * buf[RELAY_DOWN]. Before the relay starts the same buffers carry the
 * handshake: the client's pipelined bytes in UP, our replies in DOWN, so a
 * byte that follows the request is relayed like any other.
 *
 * Buffers come from a per-worker pool and go back as soon as they are
 * empty, so an idle relayed connection holds no buffer at all. */
#ifndef HOPSOCKS_RELAY_H
#define HOPSOCKS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RELAY_BUF_SIZE (64 * 1024)

struct buf {
	uint32_t start, end; /* live bytes are data[start, end) */
	struct buf *next;    /* free-list link while pooled */
	uint8_t data[RELAY_BUF_SIZE];
};

static inline size_t buf_len(const struct buf *b)
{
	return b ? b->end - b->start : 0;
}
static inline const uint8_t *buf_head(const struct buf *b)
{
	return b->data + b->start;
}
static inline size_t buf_space(const struct buf *b)
{
	return b ? RELAY_BUF_SIZE - b->end : RELAY_BUF_SIZE;
}
void buf_consume(struct buf *b, size_t n);
/* Move live bytes to the front so the whole free space is at the end. */
void buf_compact(struct buf *b);
/* Append up to n bytes; returns how many fitted. */
size_t buf_append(struct buf *b, const void *p, size_t n);

struct buf_pool {
	struct buf *free;
	size_t nfree;
	size_t max_free; /* keep at most this many spare buffers */
};

void buf_pool_init(struct buf_pool *pool, size_t max_free);
void buf_pool_destroy(struct buf_pool *pool);
struct buf *buf_get(struct buf_pool *pool); /* NULL when out of memory */
void buf_put(struct buf_pool *pool, struct buf *b);

enum relay_dir {
	RELAY_UP = 0,	/* client -> target */
	RELAY_DOWN = 1, /* target -> client */
};

struct relay {
	struct buf *buf[2];
	uint64_t bytes[2]; /* bytes delivered in each direction */
	bool eof[2];	   /* the source of this direction sent FIN */
	bool shut[2];	   /* we passed the FIN on (shutdown SHUT_WR on the sink) */
};

/* Outcome of moving bytes in one direction. */
enum relay_status {
	RELAY_OK = 0,	  /* progress or would block; see interest */
	RELAY_FAILED = -1 /* a read or write failed; relay->err says why */
};

/* Read from src_fd into buf[dir] (allocated if needed) and write what is
 * there to dst_fd, until either would block, the buffer is full, or EOF.
 * Passes a FIN on with shutdown(dst_fd, SHUT_WR) once the buffer is empty.
 * Empty buffers go back to the pool. When may_read is false, only writes.
 * Returns 0 or a negative errno from the failing call. */
int relay_pump(struct relay *r, enum relay_dir dir, int src_fd, int dst_fd, bool may_read,
	       struct buf_pool *pool);

/* Read once from src_fd into buf[dir], taking a buffer from the pool if
 * needed: > 0 bytes read, 0 EOF (eof[dir] is set), -EAGAIN, -ENOBUFS when
 * the buffer is full, or -errno.
 * The handshake uses this to collect the client's bytes. */
ssize_t relay_fill(struct relay *r, enum relay_dir dir, int src_fd, struct buf_pool *pool);

/* Flush only: write buf[dir] to dst_fd. Returns 0 or -errno. */
int relay_flush(struct relay *r, enum relay_dir dir, int dst_fd, struct buf_pool *pool);

/* Does direction dir want to read its source / write its sink? */
static inline bool relay_wants_read(const struct relay *r, enum relay_dir dir)
{
	return !r->eof[dir] && buf_len(r->buf[dir]) < RELAY_BUF_SIZE;
}
static inline bool relay_wants_write(const struct relay *r, enum relay_dir dir)
{
	return buf_len(r->buf[dir]) > 0;
}
/* Both directions saw EOF and passed it on: nothing left to do. */
static inline bool relay_done(const struct relay *r)
{
	return r->shut[RELAY_UP] && r->shut[RELAY_DOWN];
}
void relay_release(struct relay *r, struct buf_pool *pool);

#endif
