/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Upstream chains: building a tunnel hop by hop (the hops chosen by
 * policy/chain_health.h, which also keeps their health) with
 * the same SOCKS4/4a/5 and HTTP CONNECT encoders and parsers the server
 * side uses. A tunnel is a small state machine that runs inside a session
 * on the worker's loop. */
#ifndef HOPSOCKS_CHAIN_H
#define HOPSOCKS_CHAIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "net/dial.h"
#include "net/loop.h"
#include "policy/chain_health.h"
#include "proto/proxyproto.h"
#include "proto/target.h"

struct net_ctx;
struct buf;
struct snapshot;

/* ---- a tunnel being built ---- */

enum chain_phase {
	CH_IDLE,
	CH_DIAL,       /* TCP connect to the first hop */
	CH_RESOLVE,    /* resolving the next destination for a hop that cannot */
	CH_S5_METHOD,  /* sent the greeting, waiting for the method choice */
	CH_S5_AUTH,    /* sent RFC 1929 credentials, waiting for the status */
	CH_S5_REPLY,   /* sent CONNECT, waiting for the reply */
	CH_S4_REPLY,   /* sent a SOCKS4/4a request, waiting for the reply */
	CH_HTTP_REPLY, /* sent CONNECT, waiting for the response header */
	CH_DONE,
};

struct chain_tunnel;

/* Success: fd >= 0 is the tunnel, connected through every hop to the
 * target; bytes the last hop sent after its reply are in t->in (take them
 * with chain_take_leftover). Failure: fd = -1 and rep is the SOCKS5 REP
 * code to answer with; t->why says what happened, for the log. Called from
 * the loop, never from inside chain_start. */
typedef void (*chain_fn)(struct chain_tunnel *t, void *arg, int fd, uint8_t rep);

struct chain_tunnel {
	struct net_ctx *net;
	const struct config *cfg;
	const struct config_chain *chain;
	struct chain_health *health;
	chain_fn fn;
	void *arg;

	struct target dst; /* the final target */
	/* The client, for the destination guard on a final target we resolve
	 * ourselves (socks4/socks5 last hop, or resolve local); NULL = none. */
	const struct sockaddr_storage *client;
	bool guard_refused;
	struct target next; /* what the current hop is asked to connect to */
	uint8_t path[CHAIN_MAX_HOPS];
	size_t npath;
	size_t step; /* index into path of the hop being negotiated with */
	unsigned attempts;
	uint64_t deadline_ms; /* for the whole tunnel, retries included */

	enum chain_phase phase;
	int fd;
	struct loop_io io;
	struct loop_timer timer;
	struct dial dial;
	struct route_source src; /* where the connection to the first hop comes from */
	struct resolve_query *query;
	bool resolving_target; /* resolve local: the target itself is being resolved */
	bool started_sync;     /* inside chain_start: report failures from a timer */
	bool early_fail;
	uint8_t early_rep;

	/* the message for the current hop (HTTP CONNECT with 255-byte
	 * credentials is the longest: 1264), behind a PROXY header (at most
	 * 107 bytes) for a hop with proxy-protocol */
	uint8_t out[1300 + PROXYPROTO_ENCODE_MAX];
	size_t out_len, out_off;
	struct buf *in; /* replies from the current hop */

	/* UDP ASSOCIATE through the chain: the last hop is asked for an
	 * association instead of a connection, and its relay address kept. */
	bool udp;
	struct sockaddr_storage udp_relay;

	/* Tor's RESOLVE or RESOLVE_PTR through the chain (0: neither): a
	 * socks5h last hop is asked, and its answer (an address, or a name)
	 * kept in resolved; a socks5 or socks4 last hop, to which a CONNECT
	 * would send an address we resolved, means resolve_here: the caller
	 * resolves, as it would for that CONNECT. */
	uint8_t resolve_cmd;
	bool resolve_here;
	struct target resolved;

	char why[512]; /* what went wrong, for the log */
};

/* Build a tunnel to dst through chain number idx of the configuration;
 * the connection to the first hop comes from src (NULL: the global
 * "outgoing"). */
void chain_start(struct chain_tunnel *t, struct net_ctx *net, struct snapshot *snap, size_t idx,
		 const struct target *dst, const struct sockaddr_storage *client,
		 const struct route_source *src, chain_fn fn, void *arg);
/* Reach the last hop through the others and ask it for a UDP association
 * (it must speak SOCKS5). On success the fd is the association's control
 * connection and t->udp_relay the hop's relay address. */
void chain_start_udp(struct chain_tunnel *t, struct net_ctx *net, struct snapshot *snap, size_t idx,
		     chain_fn fn, void *arg);
/* Reach the last hop through the others and ask it cmd (RESOLVE for the
 * name dst, RESOLVE_PTR for the address dst). On success the fd is the
 * hop's connection (close it) and t->resolved the answer, or
 * t->resolve_here is set (see above). */
void chain_start_resolve(struct chain_tunnel *t, struct net_ctx *net, struct snapshot *snap,
			 size_t idx, uint8_t cmd, const struct target *dst, chain_fn fn, void *arg);
void chain_cancel(struct chain_tunnel *t);
/* Move the bytes the last hop sent after its reply to the caller. */
struct buf *chain_take_leftover(struct chain_tunnel *t);

#endif
