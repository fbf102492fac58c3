/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The kernel relay: established streams moved by the kernel itself.
 *
 * One direction of a relayed session (the one that has moved more bytes)
 * is handed to the kernel: its source socket goes into a BPF sockmap with
 * a stream verdict program (bpf/krelay.bpf.c), which sends each packet it
 * receives straight out of the sink socket (in a second sockmap, with no
 * program), without waking hopsocks. The other direction stays with the
 * relay pump, splice and all. The process loads the program once, before
 * it drops privileges, and keeps the descriptors; each worker owns a range
 * of pairs, so attaching and detaching a session takes no lock.
 *
 * The kernel queues what it redirects without limit (a packet leaves its
 * receive buffer, and so TCP's window, as soon as it is redirected), and
 * neither leaving packets to user space nor taking a socket out of the map
 * under traffic kept every byte on the kernel this was written on
 * (doc/ARCHITECTURE.md). So the program bounds the queue itself: a sink
 * KRELAY_BACKLOG_MAX behind overflows the direction, its packets are
 * dropped, and the worker's once-a-second fold resets the session. A
 * direction stays in the kernel relay until the session ends.
 *
 * Built only where configure found clang and libbpf; elsewhere
 * krelay_load() says so and hopsocks relays with splice. */
#ifndef HOPSOCKS_KRELAY_H
#define HOPSOCKS_KRELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/krelay_abi.h"


/* The loaded program and its maps: one per process. */
struct krelay {
	void *obj; /* struct bpf_object */
	int src_fd, dst_fd, slots_fd;
	struct krelay_dir *dirs; /* the mmapped array, one per pair */
	size_t dirs_len;
	uint32_t npairs;
};

/* Load and attach, sized for npairs sessions at once. NULL with err set
 * (one line: what is missing) when the kernel relay cannot be used. */
struct krelay *krelay_load(uint32_t npairs, char *err, size_t errlen);
/* Relay a few bytes between two loopback connections through the map
 * (pair 0), so a start finds out at once whether the loaded program
 * works for this process (after privileges are dropped, inside a sandbox).
 * 0, or -1 with err set. */
int krelay_self_test(struct krelay *k, char *err, size_t errlen);
void krelay_free(struct krelay *k);

/* One worker's share of the pairs: a stack of free pair numbers. */
struct krelay_pool {
	struct krelay *k;
	uint32_t *free;
	uint32_t nfree;
};

int krelay_pool_init(struct krelay_pool *pool, struct krelay *k, uint32_t first, uint32_t count);
void krelay_pool_destroy(struct krelay_pool *pool);

/* Hand the direction src_fd -> dst_fd of a session to the kernel: returns
 * the pair number, or -errno (out of pairs, or the kernel refused) with
 * nothing changed. The direction must have nothing of ours left to write
 * and src_fd nothing unread (krelay_unread); what arrives meanwhile is
 * relayed in order once the caller reads from src_fd (a read makes the
 * kernel run the program over it). */
int krelay_attach(struct krelay_pool *pool, int src_fd, int dst_fd);
/* Take the pair out of use (the caller closes the sockets). */
void krelay_detach(struct krelay_pool *pool, uint32_t pair);

/* The counters of pair's direction. */
static inline struct krelay_dir *krelay_dir(const struct krelay_pool *pool, uint32_t pair)
{
	return &pool->k->dirs[pair];
}

/* How many bytes the program sent on for direction d (and user space
 * wrote) that the sink dst_fd has not yet taken into its send queue: 0
 * means user space may write after them, or pass a FIN on. *gone says
 * whether dst_fd can no longer send at all (reset, closed). */
uint64_t krelay_backlog(const struct krelay_dir *d, int dst_fd, bool *gone);
static inline bool krelay_flushed(const struct krelay_dir *d, int dst_fd, bool *gone)
{
	return krelay_backlog(d, dst_fd, gone) == 0;
}
/* Has fd, a socket the kernel relay writes to, failed (reset)? Its error
 * as -errno (-EPIPE when it has none to tell), or 0 while it can send. */
int krelay_sink_failed(int fd);
/* Does fd hold bytes nobody has read? The kernel runs the program over
 * whole packets only, so a socket goes into the map with none of a packet
 * it has half read (< 0: cannot tell). */
int krelay_unread(int fd);

#endif
