/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Route rules: which destinations go through which upstream chain.
 *
 * The rules live in struct config (config/config.h), their destinations
 * parsed by config/config_dest.c; this module matches targets against
 * them. Everything here is pure: no I/O, no clock and, above all, no name
 * lookups. A target given as
 * a name is matched only against name rules and an address only against
 * address rules, because deciding whether a name falls in a CIDR would
 * mean resolving it locally, which is exactly the DNS leak a chain that
 * resolves remotely exists to avoid. */
#ifndef HOPSOCKS_ROUTE_H
#define HOPSOCKS_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "proto/target.h"

/* The first rule that matches dst, or NULL when none does. A name that is
 * an IP address literal ("10.1.2.3" sent as a SOCKS5 name) counts as that
 * address, and an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4
 * address: neither needs a lookup. */
const struct config_route *route_find(const struct config *cfg, const struct target *dst);

/* The rule that sends dst through a chain (cfg->chains[r->chain]), or NULL
 * for a direct connection: no rule matched, or the first match says
 * "direct". */
const struct config_route *route_match(const struct config *cfg, const struct target *dst);

/* Where a connection comes from, per family; NULL = the kernel picks. */
struct route_source {
	const struct config_source *v4, *v6;
};

/* The sources for a connection of user (NULL: nobody logged in) that rule
 * r sends (NULL: no rule matched), for each family: the user's own
 * ("outgoing ... user NAME") first, then the rule's ("route ... outgoing
 * ..."), then the global "outgoing". The pointers point into cfg. */
void route_source_pick(const struct config *cfg, const struct config_route *r, const char *user,
		       struct route_source *out);

/* The address to bind for src (port 0): its address, or for a random
 * source the prefix with the host bits taken from rnd (16 random bytes).
 * Returns the address's length. */
socklen_t route_source_address(const struct config_source *src, const uint8_t rnd[16],
			       struct sockaddr_storage *out);

/* Does r alone match dst? (route_find tries each rule with this.) */
bool route_rule_matches(const struct config_route *r, const struct target *dst);

/* ---- the pieces, exposed for tests ---- */

/* Are the first prefix bits of addr and net equal? prefix is at most 8 times
 * the length of both arrays. */
bool route_prefix_equal(const uint8_t *net, const uint8_t *addr, unsigned prefix);

/* Is name (len bytes, any case, one final dot ignored) equal to suffix or
 * under it ("a.corp.example" and "corp.example" for "corp.example")?
 * suffix is lower case, without leading or final dot. */
bool route_suffix_matches(const char *suffix, const char *name, size_t len);

/* Is name (len bytes, any case, one final dot ignored) equal to exact
 * (lower case, no final dot)? */
bool route_name_equal(const char *exact, const char *name, size_t len);

#endif
