/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The kernel relay: established streams moved by the kernel itself.
 *
 * A BPF sockmap holds both sockets of a relayed session, and a stream
 * verdict program (bpf/krelay.bpf.c) sends each packet one socket
 * receives straight out of the other, without waking hopsocks. The
 * process loads the program once, before it drops privileges, and keeps
 * the descriptors; each worker owns a range of the map's slots, so
 * attaching and detaching a session takes no lock.
 *
 * What stays in user space: the FIN (a verdict program never sees one
 * worth sending; user space passes it on once everything before it is out,
 * krelay_flushed), resets, and any packet the program leaves in its socket
 * because the peer cannot take it now (the backpressure path: those bytes
 * are read and written as without this module). Counters per socket live
 * in an array the program writes and user space reads through mmap, so
 * the access log, /metrics and the idle timeout cost no system call.
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
	int socks_fd, slots_fd;
	struct krelay_dir *dirs; /* the mmapped array, 2 per pair */
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

/* Put a session's two connected sockets into the map: returns the pair
 * number, or -errno (out of pairs, or the kernel refused) with nothing
 * changed. Both sockets must have nothing of ours left to write, and
 * anything they hold unread is relayed in order once the caller reads
 * from them (a read makes the kernel run the program over it). */
int krelay_attach(struct krelay_pool *pool, int cfd, int tfd);
/* Take the pair out of use (the caller closes the sockets). */
void krelay_detach(struct krelay_pool *pool, uint32_t pair);

/* The counters of pair's direction dir: 0 the client's socket (client ->
 * target), 1 the target's. */
static inline struct krelay_dir *krelay_dir(const struct krelay_pool *pool, uint32_t pair,
					    unsigned dir)
{
	return &pool->k->dirs[2 * pair + dir];
}

/* Is everything the program sent on for direction d, and everything user
 * space wrote, in the peer socket dst_fd's own send queue (so that user
 * space may write after it, or pass a FIN on)? When not, *gone says
 * whether dst_fd can no longer send at all (reset, closed). */
bool krelay_flushed(const struct krelay_dir *d, int dst_fd, bool *gone);
/* Has fd, a socket the kernel relay writes to, failed (reset)? Its error
 * as -errno (-EPIPE when it has none to tell), or 0 while it can send. */
int krelay_sink_failed(int fd);
/* Does fd hold bytes nobody has read? The kernel runs the program over
 * whole packets only, so a socket goes into the map with none of a packet
 * it has half read (< 0: cannot tell). */
int krelay_unread(int fd);

#endif
