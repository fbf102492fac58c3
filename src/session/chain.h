/* Upstream chains: choosing hops (strict, dynamic, random, round-robin),
 * hop health shared by all workers, and building a tunnel hop by hop with
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
#include "proto/target.h"

struct worker;
struct buf;
struct snapshot;

#define CHAIN_MAX_HOPS 32

/* ---- health: one per configured chain, shared by every worker ---- */

struct chain_health {
	_Atomic uint64_t *down_until_ms; /* per hop; 0 or in the past = up */
	atomic_uint next_start;		 /* round-robin rotation */
	size_t nhops;
};

struct chain_health *chain_health_new(const struct config *cfg);
void chain_health_free(struct chain_health *h, size_t nchains);
/* A reload: carry what is known about hops that are still configured from
 * the running configuration (from, from_cfg) into the new one (to, to_cfg),
 * so a hop known to be dead is not handed every new client again. A hop is
 * the same hop when its chain has the same name and the hop the same URL
 * and password (its position may change); it stays down for the rest of
 * its back-off, but no longer than the new chain's retry-dead from now_ms.
 * A chain with the same hops in the same order keeps its round-robin
 * rotation. Returns how many hops were carried over still down. */
size_t chain_health_carry(struct chain_health *to, const struct config *to_cfg,
			  const struct chain_health *from, const struct config *from_cfg,
			  uint64_t now_ms);

/* Choose the hops for one connection (pure, for tests): up[i] says whether
 * hop i may be used now, rr is the round-robin counter, rnd a random value.
 * Writes hop indices into path and returns how many, 0 when the chain
 * cannot be used (strict with a hop down, or no hop up). */
size_t chain_select(const struct config_chain *c, const bool *up, unsigned rr, uint32_t rnd,
		    uint8_t *path);

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
	struct worker *w;
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
	struct resolve_query *query;
	bool resolving_target; /* resolve local: the target itself is being resolved */
	bool started_sync;     /* inside chain_start: report failures from a timer */
	bool early_fail;
	uint8_t early_rep;

	uint8_t out[1300]; /* the message for the current hop (HTTP CONNECT with
			    * 255-byte credentials is the longest: 1264) */
	size_t out_len, out_off;
	struct buf *in; /* replies from the current hop */

	/* UDP ASSOCIATE through the chain: the last hop is asked for an
	 * association instead of a connection, and its relay address kept. */
	bool udp;
	struct sockaddr_storage udp_relay;

	char why[512]; /* what went wrong, for the log */
};

/* Build a tunnel to dst through chain number idx of the configuration. */
void chain_start(struct chain_tunnel *t, struct worker *w, struct snapshot *snap, size_t idx,
		 const struct target *dst, const struct sockaddr_storage *client, chain_fn fn,
		 void *arg);
/* Reach the last hop through the others and ask it for a UDP association
 * (it must speak SOCKS5). On success the fd is the association's control
 * connection and t->udp_relay the hop's relay address. */
void chain_start_udp(struct chain_tunnel *t, struct worker *w, struct snapshot *snap, size_t idx,
		     chain_fn fn, void *arg);
void chain_cancel(struct chain_tunnel *t);
/* Move the bytes the last hop sent after its reply to the caller. */
struct buf *chain_take_leftover(struct chain_tunnel *t);

#endif
