/* A destination as the client named it: an IPv4 or IPv6 address or a domain
 * name, plus a port. Shared by the SOCKS4, SOCKS5 and (later) HTTP code. */
#ifndef HOPSOCKS_TARGET_H
#define HOPSOCKS_TARGET_H

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

#endif
