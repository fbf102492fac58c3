/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* What the kernel relay's BPF program (bpf/krelay.bpf.c) and user space
 * (net/krelay.c) share: one struct krelay_dir per socket in the map, in an
 * array both sides see (user space through mmap). Slot 2p holds a
 * session's client socket, slot 2p + 1 its target; a socket's bytes go to
 * the socket in slot ^ 1. Only <linux/types.h> types, so that the BPF
 * compiler and the C compiler read the same layout. */
#ifndef HOPSOCKS_KRELAY_ABI_H
#define HOPSOCKS_KRELAY_ABI_H

#include <linux/types.h>

/* The program keeps at most this many bytes queued for a peer socket that
 * its send buffer has not yet taken (the kernel's per-socket backlog has
 * no limit of its own: a reader that never reads would let it grow without
 * bound). Past it, bytes stay in the receiving socket, charged to its
 * receive buffer, so TCP's window holds the sender back. */
#define KRELAY_BACKLOG_MAX (4 * 1024 * 1024)
/* A packet smaller than this is sent on only when nothing is queued before
 * it, so a flood of tiny packets cannot fill the backlog with one buffer
 * each (each costs ~1 KiB of kernel memory whatever its size). */
#define KRELAY_SMALL_PACKET 1024

struct krelay_dir {
	__u64 redirected; /* bytes the program sent on to the peer */
	__u64 passed;	  /* bytes it left in this socket for user space */
	__u64 forwarded;  /* user space: bytes of passed it has written to the peer */
	/* user space: the peer's bytes acknowledged plus queued when the pair
	 * was inserted, so that what was queued since is acked + queued - base */
	__u64 base;
	__u64 last_ns; /* CLOCK_MONOTONIC time of the last packet */
	__u32 ready;   /* user space: 1 once both sockets are in the map */
	__u32 pad0;
	__u64 cookie; /* user space: the socket's cookie, its key in the slot map */
	__u64 pad;    /* one cache line per socket */
};

#endif
