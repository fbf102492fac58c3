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
