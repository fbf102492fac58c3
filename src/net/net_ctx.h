/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* What outbound I/O on one thread uses: the thread's event loop, resolver
 * and relay pools, and the process's counters. The owner of the thread (a
 * worker, src/server/) fills one in; the dialer, the chain tunnel and the
 * session reach these through it and never see the worker. Types only. */
#ifndef HOPSOCKS_NET_CTX_H
#define HOPSOCKS_NET_CTX_H

#include <sys/socket.h>

#include "net/relay.h"

struct loop;
struct resolver;
struct stats;

struct net_ctx {
	struct loop *loop;
	struct resolver *resolver;
	struct relay_pools pools; /* the thread's buffers and pipes */
	struct stats *stats;	  /* the process's counters (relaxed atomics) */
	/* A test seam, NULL in the server: tests/fuzz/fuzz_session.c plays
	 * every destination and hop itself, so dial.c takes its outgoing
	 * sockets from here instead of socket() + connect(): a non-blocking
	 * fd whose connect completes when it turns writable, or -errno. */
	int (*connect_fn)(void *arg, const struct sockaddr *addr, socklen_t len);
	void *connect_arg;
};

#endif
