/* What outbound I/O on one thread uses: the thread's event loop, resolver
 * and relay pools, and the process's counters. The owner of the thread (a
 * worker, src/server/) fills one in; the dialer, the chain tunnel and the
 * session reach these through it and never see the worker. Types only. */
#ifndef HOPSOCKS_NET_CTX_H
#define HOPSOCKS_NET_CTX_H

#include "net/relay.h"

struct loop;
struct resolver;
struct stats;

struct net_ctx {
	struct loop *loop;
	struct resolver *resolver;
	struct relay_pools pools; /* the thread's buffers and pipes */
	struct stats *stats;	  /* the process's counters (relaxed atomics) */
};

#endif
