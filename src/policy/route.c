/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Route rules: matching targets against the rules' destinations (parsed by
 * config/config_dest.c). See route.h for the contract; the rule that matters most is that a name is
 * never compared with an address rule (that would need a lookup).
 *
 * A rule's destination is one of:
 *
 *	*               everything
 *	10.0.0.0/8      an IPv4 or IPv6 network; a bare address is /32 or /128
 *	.corp.example   corp.example and every name ending in .corp.example
 *	host.example    that name only
 *
 * Names are compared without regard to ASCII case and with one final dot
 * ignored on either side, since "Host.Example." and "host.example" are the
 * same name in DNS. */
#include "policy/route.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config/config_dest.h"

/* ---- names ---- */

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Compare len bytes of name, any case, with lower-case text. */
static bool lower_equal(const char *name, const char *lower, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ascii_lower(name[i]) != lower[i])
			return false;
	return true;
}

bool route_name_equal(const char *exact, const char *name, size_t len)
{
	len = config_dest_name_len(name, len);
	return strlen(exact) == len && lower_equal(name, exact, len);
}

bool route_suffix_matches(const char *suffix, const char *name, size_t len)
{
	size_t slen = strlen(suffix);

	len = config_dest_name_len(name, len);
	if (len == slen)
		return lower_equal(name, suffix, len);
	/* "a.corp.example" but not "acorp.example": a dot must come first. */
	return len > slen && name[len - slen - 1] == '.' &&
	       lower_equal(name + len - slen, suffix, slen);
}

bool route_prefix_equal(const uint8_t *net, const uint8_t *addr, unsigned prefix)
{
	size_t whole = prefix / 8;
	unsigned rest = prefix % 8;

	if (memcmp(net, addr, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (net[whole] & mask) == (addr[whole] & mask);
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* ---- matching ---- */

/* A target as the rules see it: an address (family != 0) or a name. */
struct route_key {
	int family; /* AF_INET, AF_INET6, or 0 for a name */
	uint8_t addr[16];
	const char *name;
	size_t len;
	uint16_t port;
};

static void key_from_target(const struct target *dst, struct route_key *k)
{
	memset(k, 0, sizeof(*k));
	k->port = dst->port;
	switch (dst->type) {
	case TARGET_IPV4:
		k->family = AF_INET;
		memcpy(k->addr, dst->addr.ipv4, 4);
		break;
	case TARGET_IPV6:
		k->family = AF_INET6;
		memcpy(k->addr, dst->addr.ipv6, 16);
		break;
	case TARGET_DOMAIN: {
		char text[TARGET_DOMAIN_MAX + 1];

		/* An address literal needs no lookup to be compared, so it is one. */
		memcpy(text, dst->addr.domain, dst->domain_len);
		text[dst->domain_len] = '\0';
		if (inet_pton(AF_INET, text, k->addr) == 1) {
			k->family = AF_INET;
		} else if (inet_pton(AF_INET6, text, k->addr) == 1) {
			k->family = AF_INET6;
		} else {
			k->name = dst->addr.domain;
			k->len = dst->domain_len;
		}
		break;
	}
	default:
		k->family = -1; /* TARGET_NONE: only "*" matches */
		break;
	}
	if (k->family == AF_INET6 && memcmp(k->addr, v4mapped, 12) == 0) {
		memmove(k->addr, k->addr + 12, 4);
		memset(k->addr + 4, 0, 12);
		k->family = AF_INET;
	}
}

static bool rule_matches_key(const struct config_route *r, const struct route_key *k)
{
	if (k->port < r->port_min || k->port > r->port_max)
		return false;
	switch (r->kind) {
	case CONFIG_DEST_ANY:
		return true;
	case CONFIG_DEST_CIDR:
		/* A name never matches: see the top of route.h. */
		return k->family == r->family && route_prefix_equal(r->addr, k->addr, r->prefix);
	case CONFIG_DEST_SUFFIX:
		return k->name != NULL && route_suffix_matches(r->name, k->name, k->len);
	case CONFIG_DEST_EXACT:
		return k->name != NULL && route_name_equal(r->name, k->name, k->len);
	}
	return false;
}

bool route_rule_matches(const struct config_route *r, const struct target *dst)
{
	struct route_key k;

	key_from_target(dst, &k);
	return rule_matches_key(r, &k);
}

const struct config_route *route_find(const struct config *cfg, const struct target *dst)
{
	struct route_key k;

	key_from_target(dst, &k);
	for (size_t i = 0; i < cfg->nroutes; i++)
		if (rule_matches_key(&cfg->routes[i], &k))
			return &cfg->routes[i];
	return NULL;
}

const struct config_route *route_match(const struct config *cfg, const struct target *dst)
{
	const struct config_route *r = route_find(cfg, dst);

	return r != NULL && r->chain >= 0 ? r : NULL;
}

/* One family's source: the user's, the rule's, the global one. */
static const struct config_source *
source_for(const struct config *cfg, const struct config_route *r, const char *user, int family)
{
	if (user != NULL)
		for (size_t i = 0; i < cfg->nuser_sources; i++) {
			const struct config_user_source *u = &cfg->user_sources[i];
			if (u->src.addr.ss.ss_family == family && strcmp(u->user, user) == 0)
				return &u->src;
		}
	if (r != NULL && r->outgoing.addr.len && r->outgoing.addr.ss.ss_family == family)
		return &r->outgoing;
	const struct config_source *g = family == AF_INET ? &cfg->outgoing_v4 : &cfg->outgoing_v6;
	return g->addr.len ? g : NULL;
}

void route_source_pick(const struct config *cfg, const struct config_route *r, const char *user,
		       struct route_source *out)
{
	out->v4 = source_for(cfg, r, user, AF_INET);
	out->v6 = source_for(cfg, r, user, AF_INET6);
}

socklen_t route_source_address(const struct config_source *src, const uint8_t rnd[16],
			       struct sockaddr_storage *out)
{
	memcpy(out, &src->addr.ss, sizeof(*out));
	if (src->random_prefix == 0)
		return src->addr.len;
	bool v4 = out->ss_family == AF_INET;
	uint8_t *ip = v4 ? (uint8_t *)&((struct sockaddr_in *)out)->sin_addr
			 : (uint8_t *)&((struct sockaddr_in6 *)out)->sin6_addr;
	size_t n = v4 ? 4 : 16;
	/* Network bits from the prefix, the rest from rnd. */
	bool all_zero = true, all_one = true;
	for (size_t i = 0; i < n; i++) {
		unsigned p = src->random_prefix;
		unsigned keep = p >= 8 * (i + 1) ? 8 : p > 8 * i ? p - 8 * i : 0;
		uint8_t mask = keep == 8 ? 0xff : (uint8_t)(0xff00u >> keep);
		ip[i] = (uint8_t)((ip[i] & mask) | (rnd[i] & (uint8_t)~mask));
		all_zero = all_zero && (ip[i] & (uint8_t)~mask) == 0;
		all_one = all_one && (ip[i] | mask) == 0xff;
	}
	/* The network's own address (an anycast address in IPv6) and the
	 * IPv4 broadcast address are no sources: take their neighbours. */
	if (all_zero)
		ip[n - 1] |= 1;
	else if (all_one && v4)
		ip[n - 1] &= 0xfe;
	return src->addr.len;
}
