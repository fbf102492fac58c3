/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* SOCKS5 UDP ASSOCIATE (RFC 1928 section 7): the relay socket the client
 * sends to, one outbound socket per address family, source filtering,
 * encapsulation both ways, and names resolved without blocking. The
 * session owns the association and ends it when the control connection
 * closes or the association has been idle too long. */
#ifndef HOPSOCKS_UDP_H
#define HOPSOCKS_UDP_H

#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "proto/target.h"

struct log_field;

struct session_ctx;
struct udp_assoc;

enum udp_drop {
	UDP_DROP_FOREIGN,     /* not from the client's address (or latched port) */
	UDP_DROP_MALFORMED,   /* truncated or invalid SOCKS5 UDP header */
	UDP_DROP_FRAGMENT,    /* FRAG != 0: we do not reassemble */
	UDP_DROP_QUEUE,	      /* waiting for a name, and the queue was full */
	UDP_DROP_DNS,	      /* the name did not resolve */
	UDP_DROP_UNCONTACTED, /* a reply from a host the client never sent to */
	UDP_DROP_SEND,	      /* the send failed (buffer full, too big, unreachable, ...) */
	UDP_DROP_DENIED,      /* an access rule or the destination guard refused it */
	UDP_DROP_COUNT,
};

struct udp_counters {
	uint64_t pkts_up, bytes_up;	/* client -> targets, payload bytes */
	uint64_t pkts_down, bytes_down; /* targets -> client, payload bytes */
	uint64_t drops[UDP_DROP_COUNT];
};

/* user: the authenticated user (NULL: none), kept for the access rules
 * each datagram is checked against; it must outlive the association.
 * Open the relay socket on the local address of the control connection
 * (control_fd), for a client at client (its TCP peer address). requested is
 * DST.ADDR/DST.PORT of the request: a non-zero port pins the client's
 * source port; port 0 latches the source port of the first datagram from
 * the client's address. Returns NULL with -errno in *err. */
struct udp_assoc *udp_assoc_new(struct session_ctx *ctx, const struct config *cfg, const char *user,
				int control_fd, const struct sockaddr_storage *client,
				const struct target *requested, int *err);
/* The same, relaying through an upstream SOCKS5 server's UDP relay at
 * relay (its association is held by the caller's control connection):
 * client datagrams go there header and all, its datagrams come back to
 * the client as they are. Names are never resolved here: they travel in
 * the header to the upstream. */
struct udp_assoc *udp_assoc_new_upstream(struct session_ctx *ctx, const struct config *cfg,
					 const char *user, int control_fd,
					 const struct sockaddr_storage *client,
					 const struct target *requested,
					 const struct sockaddr_storage *relay, int *err);
void udp_assoc_free(struct udp_assoc *a);

/* The address and port the reply advertises (udp-advertise, or the relay
 * socket's own address). */
void udp_assoc_reply_addr(const struct udp_assoc *a, struct sockaddr_storage *out);
uint64_t udp_assoc_last_active(const struct udp_assoc *a);
const struct udp_counters *udp_assoc_counters(const struct udp_assoc *a);
/* The datagrams relayed each way since the last call (the first: since
 * the association opened), for the process's counters, which a session
 * feeds as it runs and once more when it ends. */
void udp_assoc_take_packets(struct udp_assoc *a, uint64_t *up, uint64_t *down);

/* The access log's fields pkts_up, pkts_down, drop_foreign, ... into out
 * (room for UDP_COUNTER_FIELDS). */
#define UDP_COUNTER_FIELDS 10
void udp_counters_fields(const struct udp_counters *c, struct log_field *out);

#endif
