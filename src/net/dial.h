/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Outgoing TCP connections: resolve a target if it is a name, then try its
 * addresses in turn until one connects, all within one deadline. Used by
 * the session for direct connections (and later by the chain code for the
 * first hop). Runs on its thread's loop (net_ctx.h); never blocks. */
#ifndef HOPSOCKS_DIAL_H
#define HOPSOCKS_DIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/loop.h"
#include "net/resolve.h"
#include "policy/route.h"
#include "proto/target.h"

struct net_ctx;
struct dial;

/* Called once, from the loop (never from inside dial_start). On success
 * fd >= 0 is a connected, non-blocking socket that now belongs to the
 * caller, and err is 0; it is still registered under d->io, and the caller
 * takes it over with loop_io_move(loop, &d->io, &its_own_io). On failure fd is -1 and err a positive errno:
 * connect errors as the kernel reported them, ETIMEDOUT when the deadline
 * passed; with d->failed_in_dns set, ENOENT for a name that does not exist
 * and EIO for other resolver failures. */
typedef void (*dial_fn)(struct dial *d, void *arg, int fd, int err);

struct dial {
	struct net_ctx *net;
	const struct config *cfg;
	/* The client the connection is for, when the destination guard of
	 * cfg must vet each resolved address; NULL for connections to hops. */
	const struct sockaddr_storage *client;
	struct route_source src; /* where the connection comes from, per family */
	dial_fn fn;
	void *arg;
	struct loop_io io;
	struct loop_timer timer;
	int fd;
	uint16_t port;
	bool failed_in_dns;
	bool guard_refused; /* the destination guard refused every address tried last */
	bool have_addr;
	bool active;
	bool starting; /* inside dial_start: failures wait for a zero timer */
	bool early_fail;
	bool waiting_fd; /* out of descriptors: the timer tries the address again */
	int last_err;
	uint64_t deadline_ms;
	struct resolve_query *query;
	struct resolve_result *addrs; /* allocated while trying addresses */
	size_t next;
	struct sockaddr_storage addr; /* the address tried last, or connected */
};

/* Start connecting to t (an IP or a name) within timeout_ms, from the
 * sources src names (NULL: cfg's global "outgoing"). */
void dial_start(struct dial *d, struct net_ctx *net, const struct config *cfg,
		const struct sockaddr_storage *client, const struct route_source *src,
		const struct target *t, unsigned timeout_ms, dial_fn fn, void *arg);
/* Bind fd (a new socket of src's family) to src before it connects or
 * sends: a random source gets a fresh address inside its prefix, with
 * IP_FREEBIND so the address need not be on an interface. stream: a TCP
 * socket, whose port is chosen at connect. Returns 0 or -errno. */
int dial_bind_source(int fd, const struct config_source *src, bool stream);
/* Stop a dial in progress: its socket is closed, fn is not called. Safe on
 * a dial that is not active. */
void dial_cancel(struct dial *d);

#endif
