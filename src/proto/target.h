/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* A destination as the client named it: an IPv4 or IPv6 address or a domain
 * name, plus a port. Shared by the SOCKS4, SOCKS5 and (later) HTTP code. */
#ifndef HOPSOCKS_TARGET_H
#define HOPSOCKS_TARGET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The numeric values equal the SOCKS5 ATYP codes on purpose. */
enum target_type {
	TARGET_NONE = 0,
	TARGET_IPV4 = 1,
	TARGET_DOMAIN = 3,
	TARGET_IPV6 = 4,
};

#define TARGET_DOMAIN_MAX 255

struct target {
	uint8_t type;       /* enum target_type */
	uint8_t domain_len; /* for TARGET_DOMAIN, 1..255 */
	uint16_t port;      /* host byte order */
	union {
		uint8_t ipv4[4];
		uint8_t ipv6[16];
		char domain[TARGET_DOMAIN_MAX + 1]; /* NUL-terminated */
	} addr;
};

/* Longest text target_format() writes, including the NUL:
 * 255 escaped bytes (4 each) + brackets, colon, port. */
#define TARGET_TEXT_MAX (TARGET_DOMAIN_MAX * 4 + 16)

/* "host:port", "1.2.3.4:80" or "[::1]:80". Non-printable bytes of a
 * domain are escaped as \xHH so log lines stay one line. Returns the length
 * written (not counting the NUL), truncating to cap. */
size_t target_format(const struct target *t, char *out, size_t cap);

/* Fill t from an AF_INET or AF_INET6 socket address. Returns 0, or -EAFNOSUPPORT. */
int target_from_sockaddr(struct target *t, const struct sockaddr *sa);

/* If t is an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack
 * socket reports for an IPv4 peer), turn it into the IPv4 target a.b.c.d.
 * The reply encoders do this so an IPv4 client is told an address of its
 * own family; the UDP relay should do it to a datagram's source before
 * encoding the header. Anything else is left alone. */
void target_unmap_ipv4(struct target *t);

/* For IP targets: write a sockaddr_in/in6 into ss. Returns its length, or
 * -EINVAL for a domain target. */
int target_to_sockaddr(const struct target *t, struct sockaddr_storage *ss);

/* Set t to a domain target. Returns 0, or -EINVAL if name is empty, longer
 * than 255 bytes, or contains a NUL. */
int target_set_domain(struct target *t, const char *name, size_t len, uint16_t port);

/* Format any AF_INET/AF_INET6 sockaddr as "1.2.3.4:80" / "[::1]:80". */
size_t sockaddr_format(const struct sockaddr *sa, char *out, size_t cap);

/* ---- compact forms, for what a session keeps for its whole life ---- */

/* A target at its real size: 24 bytes where a struct target takes 260
 * (its 256-byte name buffer is there for the parsers). An address stays
 * inline; a name goes to an allocation of exactly its length. Zeroed
 * storage is an empty one (TARGET_NONE). */
struct target_compact {
	uint8_t type;	    /* enum target_type */
	uint8_t domain_len; /* for TARGET_DOMAIN, 1..255 */
	uint16_t port;	    /* host byte order */
	union {
		uint8_t ipv4[4];
		uint8_t ipv6[16];
		char *domain; /* NUL-terminated, malloc'd */
	} addr;
};

/* Keep t in c, replacing what c held. Returns 0, or -ENOMEM (c is then
 * empty). */
int target_compact_set(struct target_compact *c, const struct target *t);
/* The full target back, for the functions that take a struct target. */
void target_compact_get(const struct target_compact *c, struct target *t);
/* target_format() of what c holds ("-" when empty). */
size_t target_compact_format(const struct target_compact *c, char *out, size_t cap);
/* Free the name, if any; c is empty afterwards. */
void target_compact_clear(struct target_compact *c);

/* An AF_INET or AF_INET6 socket address at its real size: 28 bytes where a
 * struct sockaddr_storage takes 128. Every address a session keeps (its
 * client, the address it reached) is one of the two: listeners and
 * outgoing connections are TCP over IP. AF_UNSPEC: none. */
union sockaddr_ip {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* Copy sa (len bytes) into ip. Returns 0, or -EAFNOSUPPORT for another
 * family or a short len (ip is then AF_UNSPEC). */
int sockaddr_ip_set(union sockaddr_ip *ip, const struct sockaddr *sa, socklen_t len);
/* Widen ip into ss (the rest zeroed), for the modules that take a
 * sockaddr_storage. */
void sockaddr_ip_to_storage(const union sockaddr_ip *ip, struct sockaddr_storage *ss);

#endif
