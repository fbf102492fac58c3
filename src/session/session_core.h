/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The session's core (session_core.c): struct session and what every
 * state uses -- state changes, replies, failing, closing, the access-log
 * line, which events to wait for, starting the relay. The files that
 * implement the states build on it: session_socks.c (the handshakes),
 * session_cmd.c (CONNECT, UDP ASSOCIATE, the rules and limits), bind.c
 * (BIND), and session.c (the entry points: events, timers, auth results)
 * on top. Nothing outside src/session/ includes this header. */
#ifndef HOPSOCKS_SESSION_CORE_H
#define HOPSOCKS_SESSION_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/log.h"
#include "base/stats.h"
#include "net/dial.h"
#include "net/loop.h"
#include "net/relay.h"
#include "policy/auth.h"
#include "policy/snapshot.h"
#include "proto/target.h"
#include "session/session_ctx.h"

struct udp_assoc;
struct snapshot;
struct chain_tunnel;
struct resolve_query;

enum session_state {
	S_PROXY, /* proxy-protocol: reading the balancer's PROXY header (session_proxy.c) */
	S_DETECT,
	S_S4_REQUEST,
	S_S5_GREETING,
	S_S5_AUTH,
	S_AUTH_VERIFY,
	S_S5_REQUEST,
	S_HTTP_REQUEST,
	S_CONNECT,   /* dialing the target */
	S_RESOLVE,   /* RESOLVE / RESOLVE_PTR: waiting for the answer */
	S_BIND_WAIT, /* BIND: resolving DST, or listening for the peer */
	S_RELAY,
	S_UDP,	   /* UDP ASSOCIATE: relaying datagrams until the control connection ends */
	S_CLOSING, /* flushing an error reply */
	S_LINGER,  /* reading and discarding until the client closes */
	S_DONE,
};

enum session_proto {
	P_NONE,
	P_SOCKS4,
	P_SOCKS4A,
	P_SOCKS5,
	P_HTTP, /* HTTP CONNECT front-end */
};

/* What a session needs only while its command is being set up: the dial
 * or the chain tunnel of a CONNECT, the resolution and the wait of a BIND,
 * the tunnel of a UDP ASSOCIATE through a chain. Allocated when such a
 * command starts (session_setup_new) and freed when the relay (or the
 * association) starts or the session ends (session_setup_end), so the
 * ~600 bytes of it are not carried by an idle relayed connection. */
struct session_setup {
	/* The client as the dial and the tunnel take it: they keep a pointer
	 * to a sockaddr_storage while they run. */
	struct sockaddr_storage client;
	struct dial dial;	      /* CONNECT: the outgoing connection, while it is made */
	struct chain_tunnel *tunnel;  /* CONNECT or UDP through a chain, while it is built */
	struct resolve_query *query;  /* BIND: resolving DST */
	struct sockaddr_storage peer; /* BIND: the address DST resolved to (AF_UNSPEC: any) */
	struct loop_timer retry;      /* BIND: accept again after running out of descriptors */
	bool bind_paused; /* BIND: accept() ran out of descriptors: not polling for a moment */
};

/* One per client connection, for its whole life: only what a relaying
 * (or UDP, or BIND) session still needs, each at its real size. An idle
 * relayed connection costs this struct (480 bytes; 1,552 when it held a
 * struct target, char user[256], the dial and three sockaddr_storage) and
 * its names, if any: relay buffers and pipes go back to the pool when
 * empty. Handshake messages are parsed into locals from relay.buf[UP]; the
 * setup of a command lives in struct session_setup; the user and a target
 * name are allocations of their own length, not 256-byte arrays. */
struct session {
	struct session_ctx *ctx; /* what its owner (a worker) shares with it */
	struct snapshot *snap;	 /* the configuration this session started with */
	struct session *prev, *next;

	enum session_state state;
	enum session_proto proto;
	int cfd, tfd; /* client and target (or BIND listening) sockets; -1 when closed */
	struct loop_io cio, tio;
	struct loop_timer timer; /* the deadline of the current phase */

	uint64_t id; /* process-unique, from 1 in accept order: "session N" in its log lines */
	uint64_t started_ms;
	uint64_t last_active_ms;

	struct relay relay;
	uint32_t reply_bytes; /* our own handshake bytes, counted in relay.bytes[DOWN] */
	uint8_t cmd;	      /* SOCKS command; 0 until a request is parsed */
	bool authenticated;   /* by RFC 1929 or HTTP Basic: user names a user-file entry */
	bool throttled;	      /* its address was blocked for failed authentications */
	bool auth_counted;    /* its attempt was counted when handed to the pool */
	bool auth_blocked_by_me; /* ... and counting it started a block */
	bool user_from_file;  /* user names a user-file entry (logged in, or SOCKS4 known-user) */
	bool holds_client_slot, holds_user_slot; /* counted in ctx->shared->limits */
	bool busy;				 /* refused by a connection limit (HTTP: 503) */
	bool relayed;				 /* reached S_RELAY: the access line has relay= */

	/* Kept to the end for the access-log line (and the limits, the
	 * rules, a reload's user check). */
	struct target_compact dst; /* the request's destination; TARGET_NONE until parsed */
	char *user;		   /* the user name, malloc'd; NULL: none (never "") */
	union sockaddr_ip client;
	union sockaddr_ip addr; /* addr= in the access log: the address dialled (a chain's
				 * first hop), or the BIND peer; AF_UNSPEC: none */

	struct session_setup *setup; /* CONNECT, BIND, UDP through a chain: while set up */
	struct udp_assoc *udp;
	struct auth_job *auth_job;

	const char *deny_reason; /* the access rule that refused it, for the reply and log */
	const char *result;	 /* access-log result word */
	const char *route; /* access-log route: "direct", a chain name, or NULL (not routed) */
	struct stats_session sstats; /* what stats_session_begin counted, for the end */
	/* What the counters have been given of this session's bytes so far
	 * (session_report_bytes): the worker's fold adds what moved since,
	 * and the end only the rest, so every byte is counted once. */
	uint64_t reported_up, reported_down, reported_spliced, reported_kernel;
};

/* The user name, "" when there is none. */
static inline const char *session_user(const struct session *s)
{
	return s->user ? s->user : "";
}

static inline struct buf_pool *session_pool(struct session *s)
{
	return s->ctx->net.pools.bufs;
}

static inline const struct relay_pools *session_pools(const struct session *s)
{
	return &s->ctx->net.pools;
}

static inline const struct config *session_cfg(struct session *s)
{
	return &s->snap->cfg;
}

static inline const struct userdb *session_users(struct session *s)
{
	return s->snap->users;
}

static inline struct loop *session_loop(struct session *s)
{
	return s->ctx->net.loop;
}

void session_set_state(struct session *s, enum session_state next);
/* Keep name as the session's user (cut to AUTH_NAME_MAX bytes; "" is
 * none). false when out of memory: the user is then unchanged. */
bool session_set_user(struct session *s, const char *name);
/* Allocate s->setup for the command about to start. NULL when out of
 * memory: the caller fails the request. */
struct session_setup *session_setup_new(struct session *s);
/* The command is set up, or the session ends: keep the address the access
 * log names, stop what is still in progress, free s->setup. */
void session_setup_end(struct session *s);
const char *session_state_name(enum session_state st);
const char *session_client_text(const struct session *s, char *buf, size_t cap);

/* A log line about this session: "client ADDR:PORT session N: message". */
#define session_log(s, level, fmt, ...)                                                         \
	do {                                                                                    \
		if (log_enabled(level)) {                                                       \
			char who_[64];                                                          \
			log_session(level, session_client_text(s, who_, sizeof(who_)), (s)->id, \
				    fmt, ##__VA_ARGS__);                                        \
		}                                                                               \
	} while (0)

/* Queue bytes for the client behind anything already queued. */
bool session_queue_reply(struct session *s, const uint8_t *p, size_t n);
/* Send what is queued for the client now. 0 or -errno. */
int session_flush_client(struct session *s);
/* Queue the protocol's success reply (SOCKS5 REP 0 / SOCKS4 90) naming bnd. */
bool session_queue_success(struct session *s, const struct sockaddr *bnd);
/* Send bytes, then close once they are out (CLOSING -> LINGER -> DONE). */
void session_reply_and_close(struct session *s, const uint8_t *p, size_t n, const char *result);
/* The request failed: the protocol's error reply (SOCKS4 always 91), then close. */
void session_fail(struct session *s, uint8_t socks5_rep, const char *result);
/* End the session now: access log, descriptors, memory (deferred). */
void session_close(struct session *s, const char *result);
/* Add to the process's counters (and the user's) what the session has
 * moved since they were last told: relayed bytes, UDP payload and
 * datagrams. The worker calls it for each live session once a second,
 * session_close once more at the end. */
void session_report_bytes(struct session *s);
/* The bytes the session moved each way, as its access-log line counts
 * them: relayed TCP bytes without our replies, plus UDP payload. */
void session_bytes(const struct session *s, uint64_t *up, uint64_t *down);
/* Recompute which events the client and target sockets wait for. */
void session_update_interest(struct session *s);
/* The kernel relay overflowed (relay_kernel_overflowed): log it, and close
 * both sockets with a reset (access result=overflow). */
void session_abort_overflow(struct session *s);
/* The relay was just handed to the kernel relay: count it, say so. */
void session_relay_handed(struct session *s);
/* tfd is connected (CONNECT) or accepted (BIND); the success reply is
 * queued: start relaying, pipelined client bytes first. */
void session_start_relay(struct session *s);

/* Is the client socket read for handshake bytes in the current state? */
bool session_reads_handshake(const struct session *s);
/* An error reply is being flushed: once it is out, linger or close. */
void session_closing_progress(struct session *s);
/* Read and throw away what fd has; true when it reached EOF or failed
 * (the caller then ends what it was waiting on). */
bool session_discard_input(int fd);

#endif
