/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* What the kernel relay's BPF program (bpf/krelay.bpf.c) and user space
 * (net/krelay.c) share: one struct krelay_dir per pair (a session's
 * direction in the kernel relay), in an array both sides see (user space
 * through mmap). Only <linux/types.h> types, so that the BPF compiler and
 * the C compiler read the same layout. */
#ifndef HOPSOCKS_KRELAY_ABI_H
#define HOPSOCKS_KRELAY_ABI_H

#include <linux/types.h>

/* What the program lets the kernel queue for a sink that has not taken it
 * into its send buffer (the kernel's own queue has no limit, and redirected
 * bytes leave the source's receive buffer, so TCP's window does not hold
 * the sender back). A packet past it is dropped and the direction marked
 * overflowed; hopsocks then resets the session (the bytes are lost, so
 * neither peer may take what it got for a whole stream). */
#define KRELAY_BACKLOG_MAX (8 * 1024 * 1024)


struct krelay_dir {
	__u64 redirected; /* bytes the program sent on to the peer */
	__u64 forwarded;  /* user space: bytes it has written to the sink itself */
	/* user space: the peer's bytes acknowledged plus queued when the pair
	 * was inserted, so that what was queued since is acked + queued - base */
	__u64 base;
	__u64 last_ns; /* CLOCK_MONOTONIC time of the last packet */
	__u32 ready;	/* user space: 1 once the sink is in place */
	__u32 overflow; /* the program: the sink fell KRELAY_BACKLOG_MAX behind */
	__u64 cookie; /* user space: the source socket's cookie, its key in the slot map */
	__u64 pad[2]; /* one cache line per pair */
};

#endif
