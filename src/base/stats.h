/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Process-wide counters. Workers bump them with relaxed atomics; readers
 * (the SIGUSR1 log line, the admin endpoint) load them one by one, so a
 * reading is a consistent-enough view, never a torn value.
 *
 * Besides the plain counters there are three small keyed tables: per user,
 * per listen address and per upstream hop. They are embedded in struct
 * stats (no allocation, zero-initialised storage is a valid empty table)
 * and grow lock-free: a slot is claimed with one compare-and-swap, its key
 * written, then published. Entries are never removed, so a pointer to one
 * stays valid as long as the struct stats does; a key that finds no free
 * slot is not tracked and counted in *_overflow. Tables are touched when a
 * session starts or ends, a hop is tried, or a listener is opened, and a
 * user's bytes once a second while its sessions run -- never per byte. */
#ifndef HOPSOCKS_STATS_H
#define HOPSOCKS_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Protocols and commands a session's request is counted under. */
enum stats_proto {
	STATS_PROTO_SOCKS4 = 0,
	STATS_PROTO_SOCKS4A,
	STATS_PROTO_SOCKS5,
	STATS_PROTO_HTTP,
	STATS_NPROTO,
};

enum stats_cmd {
	STATS_CMD_CONNECT = 0,
	STATS_CMD_BIND,
	STATS_CMD_UDP,
	STATS_CMD_RESOLVE, /* RESOLVE and RESOLVE_PTR */
	STATS_NCMD,
};

/* "socks4", "socks4a", "socks5", "http"; "connect", "bind", "udp", "resolve". */
const char *stats_proto_name(unsigned proto);
const char *stats_cmd_name(unsigned cmd);

#define STATS_USERS_MAX	    256 /* distinct user names tracked */
#define STATS_USER_NAME_MAX 255 /* as RFC 1929 and the user file allow */
#define STATS_LISTENERS_MAX 64
#define STATS_LISTENER_MAX  63 /* the text of a config_addr */
#define STATS_HOPS_MAX	    256
#define STATS_CHAIN_MAX	    63 /* a chain's name */

/* Slot states of the keyed tables. */
#define STATS_SLOT_FREE	   0u
#define STATS_SLOT_WRITING 1u
#define STATS_SLOT_READY   2u

struct stats_user {
	atomic_uint state;
	char name[STATS_USER_NAME_MAX + 1];
	atomic_long active;	 /* sessions of this user open now */
	atomic_ulong sessions;	 /* sessions that carried out a request */
	atomic_ulong bytes_up;	 /* client -> target, as sessions run (stats_session_bytes) */
	atomic_ulong bytes_down; /* target -> client */
	atomic_ulong auth_failed;
};

struct stats_listener {
	atomic_uint state;
	char addr[STATS_LISTENER_MAX + 1];
	atomic_ulong accepted; /* connections accepted on this address, all workers */
};

/* A hop is known by its chain's name, its position in the chain and a
 * hash of its display URL, so its counters survive a reload that keeps it
 * and start afresh for one that changed. */
struct stats_hop {
	atomic_uint state;
	char chain[STATS_CHAIN_MAX + 1];
	uint32_t position;
	uint64_t url_hash;
	atomic_ulong attempts; /* times a tunnel tried to go through it */
	atomic_ulong failures; /* times it was found at fault (and marked down) */
};

struct stats {
	atomic_ulong sessions_total;
	atomic_long sessions_active;
	atomic_ulong sessions_socks4;
	atomic_ulong sessions_socks5;
	atomic_ulong sessions_http;
	atomic_ulong connects_ok;
	atomic_ulong connects_failed;
	atomic_ulong bytes_up;	 /* client -> target */
	atomic_ulong bytes_down; /* target -> client */
	atomic_ulong bytes_spliced; /* the part of both that went by splice(2) */
	atomic_ulong bytes_kernel;  /* the part the kernel relay moved */
	atomic_ulong kernel_relayed; /* sessions handed to the kernel relay */
	/* The relay mode in force ("kernel", "splice", "copy"; a static
	 * string), set at start and on reload. */
	_Atomic(const char *) relay_mode;
	atomic_ulong auth_ok;
	atomic_ulong auth_failed;
	atomic_ulong auth_cache_hits;
	atomic_ulong auth_queue_full; /* attempts refused: the verification queue was full */
	atomic_ulong denied; /* requests an access rule refused */
	atomic_ulong dns_queries;
	atomic_ulong dns_failures;
	atomic_ulong dns_cache_hits;
	atomic_ulong bad_requests;
	atomic_ulong refused_max_connections;
	atomic_ulong proxy_refused; /* proxy-protocol: no valid header, or not from a balancer */
	atomic_ulong udp_associations;
	atomic_ulong udp_datagrams_up;
	atomic_ulong udp_datagrams_down;
	atomic_ulong udp_dropped;
	atomic_ulong binds_accepted;
	atomic_ulong binds_refused;
	atomic_ulong hop_failures;

	/* Sessions that got as far as carrying out a request, by protocol and
	 * command (stats_session_begin/end). */
	atomic_ulong cmd_total[STATS_NPROTO][STATS_NCMD];
	atomic_long cmd_active[STATS_NPROTO][STATS_NCMD];

	struct stats_user users[STATS_USERS_MAX];
	struct stats_listener listeners[STATS_LISTENERS_MAX];
	struct stats_hop hops[STATS_HOPS_MAX];
	atomic_ulong users_overflow;
	atomic_ulong listeners_overflow;
	atomic_ulong hops_overflow;
};

#define stats_add(s, field, n) atomic_fetch_add_explicit(&(s)->field, (n), memory_order_relaxed)
#define stats_inc(s, field)    stats_add(s, field, 1)
#define stats_get(s, field)    atomic_load_explicit(&(s)->field, memory_order_relaxed)

/* ---- a session's request: by protocol and command, and per user ---- */

/* Kept in the session so that its end undoes exactly what its start did.
 * All zero (as in a calloc'ed session) means "not counted". */
struct stats_session {
	bool counted;
	uint8_t proto, cmd;
	struct stats_user *user; /* NULL: no user, or the table was full */
};

/* The session's request is about to be carried out. proto and cmd outside
 * the enums count nothing (an unsupported command); user is the name the
 * session authenticated as, or NULL/"" for none. Calling it again for a
 * session already counted does nothing. */
void stats_session_begin(struct stats *s, struct stats_session *ss, unsigned proto, unsigned cmd,
			 const char *user);
/* The session moved up and down more bytes (relayed, or UDP payload)
 * since it last said so: add them to its user's counters. The caller adds
 * them to the totals (bytes_up, bytes_down), which count sessions that
 * never ran a request too. Safe on a session never counted (no-op). */
void stats_session_bytes(const struct stats_session *ss, uint64_t up, uint64_t down);
/* The session ended (its bytes are in already: stats_session_bytes).
 * Safe on a session never counted; clears ss. */
void stats_session_end(struct stats *s, struct stats_session *ss);

/* ---- the keyed tables ---- */

/* The user's entry, created on first use; NULL for an empty or over-long
 * name, or when the table is full. */
struct stats_user *stats_user(struct stats *s, const char *name);
/* A failed password check for a user the user file knows. */
void stats_user_auth_failed(struct stats *s, const char *name);
/* The ready entries sorted by name; returns how many were written (at most
 * cap). */
size_t stats_users_sorted(const struct stats *s, const struct stats_user **out, size_t cap);

/* The accepted-connections counter of a listen address ("127.0.0.1:1080"),
 * created on first use: listeners take it when they open and bump it with
 * stats_listener_accepted. NULL when the table is full. */
atomic_ulong *stats_listener_counter(struct stats *s, const char *addr);
static inline void stats_listener_accepted(atomic_ulong *counter)
{
	if (counter)
		atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}
/* Lookup without creating: 0 for an address never opened. */
uint64_t stats_listener_get(const struct stats *s, const char *addr);

/* A tunnel is about to go through hop number position (0-based) of chain,
 * whose URL displays as url / the hop was found at fault. */
void stats_hop_attempt(struct stats *s, const char *chain, size_t position, const char *url);
void stats_hop_failed(struct stats *s, const char *chain, size_t position, const char *url);
/* The entry of a hop, without creating it; NULL if never tried. */
const struct stats_hop *stats_hop_find(const struct stats *s, const char *chain, size_t position,
				       const char *url);

/* ---- the log line ---- */

/* "stats sessions_active=1 sessions_total=5 ...": every plain counter
 * and the sessions by protocol and command, as one line. Returns what
 * snprintf would (the full length, even when cut to cap). */
int stats_format_log_line(const struct stats *s, char *buf, size_t cap);
/* The relay mode in force, "-" before it is set. */
const char *stats_relay_mode_name(const struct stats *s);
/* Log the line above at level info, then one line per tracked user
 * ("stats user=alice active=1 sessions=4 up=... down=... auth_failed=0"):
 * SIGUSR1, and at exit. */
void stats_log(const struct stats *s);

#endif
