/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Byte buffers and the bidirectional TCP relay.
 *
 * A session has two directions. Bytes read from the client wait in
 * buf[RELAY_UP] until the target takes them; bytes from the target wait in
 * buf[RELAY_DOWN]. Before the relay starts the same buffers carry the
 * handshake: the client's pipelined bytes in UP, our replies in DOWN, so a
 * byte that follows the request is relayed like any other.
 *
 * Buffers come from a per-worker pool and go back as soon as they are
 * empty, so an idle relayed connection holds no buffer at all.
 *
 * A direction that has shown itself to be bulk (one read filled a whole
 * buffer) moves on to splice(2): socket -> pipe -> socket, so the bytes
 * never cross into user space. Pipes are pooled per worker like buffers
 * and held only while bytes are in them; when none can be had (the pool's
 * limit, or the kernel's per-user pipe quota) the direction stays on
 * read/write. bench/RESULTS.md has the figures that chose this.
 *
 * With the kernel relay (net/krelay.h, "relay kernel"), an established
 * session that has moved pools->kernel_after bytes hands its bigger
 * direction (kdir), once nothing of ours is in flight there, to a BPF
 * program, which then moves each packet itself; the other direction stays
 * here. For kdir the pump keeps what the kernel cannot: a FIN is passed on
 * once the kernel's bytes before it are out (until then
 * relay_kernel_waiting() says so, and the session looks again a little
 * later), and a reset sink ends the direction. A sink that falls too far
 * behind overflows it (relay_kernel_overflowed): the session is reset. */
#ifndef HOPSOCKS_RELAY_H
#define HOPSOCKS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/krelay.h"

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

/* 1 MiB pipes: a 64 KiB pipe does not beat read/write for one stream on
 * loopback, a 1 MiB one does (bench/RESULTS.md, run C: 13.3 against
 * 9.5 Gbit/s, and half the CPU per byte). */
#define RELAY_PIPE_SIZE (1024 * 1024)

struct pipe_pair {
	int rfd, wfd;
	struct pipe_pair *next; /* free-list link while pooled */
};

struct pipe_pool {
	struct pipe_pair *free;
	unsigned nfree;
	unsigned live;	   /* pipes open: pooled or in use */
	unsigned max_live; /* 0: never splice */
	bool refused;	   /* the kernel would not size a pipe: make no more */
};

void pipe_pool_init(struct pipe_pool *pool, unsigned max_live);
/* Change the limit; pipes beyond it close as they come back. */
void pipe_pool_set_max(struct pipe_pool *pool, unsigned max_live);
void pipe_pool_destroy(struct pipe_pool *pool);
/* An empty pipe of RELAY_PIPE_SIZE, or NULL when the pool may not or
 * cannot open one. */
struct pipe_pair *pipe_get(struct pipe_pool *pool);
/* Give a pipe back; one with bytes still in it is closed, not pooled. */
void pipe_put(struct pipe_pool *pool, struct pipe_pair *p, bool empty);

/* Where a relay takes its buffers and pipes from: the worker's pools. */
struct relay_pools {
	struct buf_pool *bufs;
	struct pipe_pool *pipes;
	/* The worker's kernel relay pairs (NULL: not loaded), and whether
	 * new sessions may be handed to it ("relay kernel"); sessions already
	 * in it stay after a reload to another mode. */
	struct krelay_pool *kernel;
	bool kernel_on;
	/* A session goes to the kernel relay only once it has moved this
	 * many bytes ("relay kernel after"): attaching costs about ten
	 * system calls, which a short exchange would not earn back. */
	unsigned kernel_after;
};

enum relay_dir {
	RELAY_UP = 0,	/* client -> target */
	RELAY_DOWN = 1, /* target -> client */
};

struct relay {
	struct buf *buf[2];
	struct pipe_pair *pipe[2]; /* held only while inpipe[dir] > 0 */
	uint32_t inpipe[2];	   /* bytes spliced in and not yet out */
	uint64_t bytes[2];	   /* bytes delivered in each direction */
	uint64_t spliced[2];	   /* the part of bytes[] that went by splice */
	bool eof[2];		   /* the source of this direction sent FIN */
	bool shut[2];		   /* we passed the FIN on (shutdown SHUT_WR on the sink) */
	bool bulk[2];		   /* a read filled a whole buffer: splice when we can */
	/* The sink of this direction failed (reset, gone): its bytes in
	 * flight are dropped and its source is read and discarded until it
	 * ends, so that peer is not left blocked in a send while it waits
	 * for what the other direction still owes it. */
	bool dead[2];
	bool sink_failed; /* scratch of relay_pump: the failing call wrote */
	bool in_kernel;	  /* direction kdir is in the kernel relay, as pair kpair */
	bool kernel_done; /* may not go to the kernel relay (any more) */
	/* Bit dir: direction dir waits for bytes the kernel still has to
	 * send before it may write or pass a FIN on: kout while the sink's
	 * send buffer is full (its EPOLLOUT is the news), kwait while the
	 * sink has room and the kernel's worker is about to fill it (a look
	 * in kwait_ms, doubled while waiting, up to 16 ms). */
	uint8_t kout;
	uint8_t kwait;
	uint8_t kwait_ms;
	uint8_t kdir; /* enum relay_dir */
	uint32_t kpair;
	int err;	    /* the first read or write that failed (-errno); 0 = none */
	uint64_t kernel[2]; /* bytes the kernel relay moved, once detached */
};

/* Outcome of moving bytes in one direction. */
enum relay_status {
	RELAY_OK = 0,	  /* progress or would block; see interest */
	RELAY_FAILED = -1 /* a read or write failed; relay->err says why */
};

/* Move bytes of direction dir from src_fd to dst_fd, until either would
 * block, the buffer or pipe is full, or EOF: through buf[dir] (allocated
 * if needed) or, once the direction is bulk and a pipe is free, by splice.
 * Passes a FIN on with shutdown(dst_fd, SHUT_WR) once nothing is left in
 * flight. Empty buffers and pipes go back to their pools.
 *
 * A failure ends only its own direction, so that the other one still
 * delivers what it owes (a server that answers, then resets the upload it
 * no longer reads): a failed read counts as the source's end (what was
 * read is still delivered, then a FIN); a failed write makes the direction
 * dead (see struct relay). r->err keeps the first error, for the log. */
void relay_pump(struct relay *r, enum relay_dir dir, int src_fd, int dst_fd,
		const struct relay_pools *pools);

/* Read once from src_fd into buf[dir], taking a buffer from the pool if
 * needed: > 0 bytes read, 0 EOF (eof[dir] is set), -EAGAIN, -ENOBUFS when
 * the buffer is full, or -errno.
 * The handshake uses this to collect the client's bytes. */
ssize_t relay_fill(struct relay *r, enum relay_dir dir, int src_fd, struct buf_pool *pool);

/* Flush only: write buf[dir] to dst_fd. Returns 0 or -errno. */
int relay_flush(struct relay *r, enum relay_dir dir, int dst_fd, struct buf_pool *pool);

/* Does direction dir want to read its source / write its sink? A pipe is
 * refilled only once it is empty: the kernel may call a pipe full before
 * RELAY_PIPE_SIZE bytes (it counts pages, not bytes), and waiting for a
 * readable source while the pipe cannot take more would spin. */
static inline bool relay_wants_read(const struct relay *r, enum relay_dir dir)
{
	if (r->eof[dir])
		return false;
	if (r->dead[dir])
		return true;
	/* Nor while it waits for the kernel (a premature EOF would wake the
	 * loop at once, again and again): the session looks on a timer. */
	if (r->kwait & (1u << dir))
		return false;
	return (r->inpipe[dir] == 0 && buf_len(r->buf[dir]) < RELAY_BUF_SIZE);
}
static inline bool relay_wants_write(const struct relay *r, enum relay_dir dir)
{
	/* While the kernel's bytes go first, a writable sink is no news:
	 * the session looks again on a timer instead of spinning. */
	if (r->kwait & (1u << dir))
		return false;
	if (r->kout & (1u << dir))
		return true;
	return buf_len(r->buf[dir]) > 0 || r->inpipe[dir] > 0;
}
/* Is direction dir over: its FIN passed on, or dead with its source ended? */
static inline bool relay_dir_done(const struct relay *r, enum relay_dir dir)
{
	return r->shut[dir] || (r->dead[dir] && r->eof[dir]);
}
/* Both directions are over: nothing left to do but close both sockets, at
 * once (the second FIN is the close's). */
static inline bool relay_done(const struct relay *r)
{
	return relay_dir_done(r, RELAY_UP) && relay_dir_done(r, RELAY_DOWN);
}
void relay_release(struct relay *r, const struct relay_pools *pools);

/* Hand an established session's bigger direction to the kernel relay if
 * it is in use, the session has moved pools->kernel_after bytes, and
 * nothing of ours is in flight in that direction. true when it did. */
bool relay_try_kernel(struct relay *r, int cfd, int tfd, const struct relay_pools *pools);
/* Bytes delivered in direction dir, the kernel relay's included. */
uint64_t relay_bytes(const struct relay *r, enum relay_dir dir, const struct relay_pools *pools);
/* The kernel relay's bytes of direction dir (part of relay_bytes). */
uint64_t relay_kernel_bytes(const struct relay *r, enum relay_dir dir,
			    const struct relay_pools *pools);
/* The last time (CLOCK_MONOTONIC ms) the kernel relay saw a packet of
 * this session, 0 when it is not in it. */
uint64_t relay_kernel_last_ms(const struct relay *r, const struct relay_pools *pools);
/* Does a direction wait for the kernel's bytes (look again in kwait_ms)? */
static inline bool relay_kernel_waiting(const struct relay *r)
{
	return r->kwait != 0;
}
/* Has the kernel relay dropped this session's bytes because its sink fell
 * KRELAY_BACKLOG_MAX behind? The session must then be reset. */
bool relay_kernel_overflowed(const struct relay *r, const struct relay_pools *pools);
/* What carried this session's bytes: "kernel", "splice" or "copy". */
const char *relay_used(const struct relay *r);

#endif
