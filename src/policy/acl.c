/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Access control decisions; see acl.h for the contract. A rule matches
 * when every term it has matches; terms it lacks match everything. The
 * destination terms are a struct config_route, matched by route.c, so
 * "to" means exactly what it means in a route. */
#include "policy/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config/config_dest.h"
#include "policy/route.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

/* An address as the rules see it: IPv4-mapped IPv6 is IPv4. */
struct acl_ip {
	int family; /* AF_INET, AF_INET6, 0 = none */
	uint8_t addr[16];
};

static void ip_from_sockaddr(const struct sockaddr *sa, struct acl_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		if (memcmp(a, v4mapped, 12) == 0) {
			ip->family = AF_INET;
			memcpy(ip->addr, a + 12, 4);
		} else {
			ip->family = AF_INET6;
			memcpy(ip->addr, a, 16);
		}
	}
}

/* ---- ranges ---- */

static bool ip_is_loopback(const struct acl_ip *ip)
{
	static const uint8_t one[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	if (ip->family == AF_INET)
		return ip->addr[0] == 127;
	return ip->family == AF_INET6 && memcmp(ip->addr, one, 16) == 0;
}

bool acl_addr_is_loopback(const struct sockaddr *sa)
{
	struct acl_ip ip;

	ip_from_sockaddr(sa, &ip);
	return ip_is_loopback(&ip);
}

/* 0/8 ("this network": 0.0.0.0 reaches this host on Linux), 10/8,
 * 127/8, 169.254/16, 172.16/12, 192.168/16. */
static bool v4_guarded(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
	       (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168);
}

static bool ip_guarded(const struct acl_ip *ip)
{
	static const uint8_t zero[15] = { 0 };
	const uint8_t *a = ip->addr;

	if (ip->family == AF_INET)
		return v4_guarded(a);
	if (ip->family != AF_INET6)
		return true; /* not an address we can judge: refuse */
	/* :: and ::1 */
	if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
		return true;
	/* fc00::/7 unique local; fe80::/10 link-local and the deprecated
	 * site-local fec0::/10 next to it. */
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0x80) == 0x80))
		return true;
	/* 64:ff9b::/96: a NAT64 gateway would carry it to the IPv4 address. */
	return memcmp(a, nat64, 12) == 0 && v4_guarded(a + 12);
}

bool acl_guard_covers(const struct sockaddr *dst)
{
	struct acl_ip ip;

	ip_from_sockaddr(dst, &ip);
	return ip_guarded(&ip);
}

bool acl_guard_blocks(const struct config *cfg, const struct sockaddr_storage *client,
		      const struct sockaddr *dst)
{
	if (!cfg->destination_guard || acl_addr_is_loopback((const struct sockaddr *)client))
		return false;
	return acl_guard_covers(dst);
}

/* An IP target, or a name that is an address literal (it needs no lookup,
 * as in route.c). Returns false for real names and for no target. */
static bool ip_from_target(const struct target *t, struct acl_ip *ip)
{
	struct sockaddr_storage ss;

	memset(ip, 0, sizeof(*ip));
	if (t->type == TARGET_DOMAIN) {
		char text[TARGET_DOMAIN_MAX + 1];

		memcpy(text, t->addr.domain, t->domain_len);
		text[t->domain_len] = '\0';
		if (inet_pton(AF_INET, text, ip->addr) == 1) {
			ip->family = AF_INET;
			return true;
		}
		if (inet_pton(AF_INET6, text, ip->addr) != 1)
			return false;
		ip->family = AF_INET6;
		if (memcmp(ip->addr, v4mapped, 12) == 0) {
			memmove(ip->addr, ip->addr + 12, 4);
			memset(ip->addr + 4, 0, 12);
			ip->family = AF_INET;
		}
		return true;
	}
	if (target_to_sockaddr(t, &ss) < 0)
		return false;
	ip_from_sockaddr((const struct sockaddr *)&ss, ip);
	return ip->family != 0;
}

/* ---- rules ---- */

static bool client_matches(const struct config_acl_rule *rule, const struct sockaddr_storage *ss)
{
	struct acl_ip ip;

	if (rule->any_client)
		return true;
	ip_from_sockaddr((const struct sockaddr *)ss, &ip);
	return ip.family == rule->family && route_prefix_equal(rule->addr, ip.addr, rule->prefix);
}

static bool logged_in(const char *user)
{
	return user != NULL && user[0] != '\0';
}

static bool user_matches(const struct config_acl_rule *rule, const char *user)
{
	switch (rule->user_kind) {
	case ACL_USER_ANY:
		return true;
	case ACL_USER_AUTHENTICATED:
		return logged_in(user);
	case ACL_USER_NAMED:
		return logged_in(user) && strcmp(rule->user, user) == 0;
	}
	return false;
}

static bool has_dest_term(const struct config_acl_rule *rule)
{
	return rule->dest.kind != CONFIG_DEST_ANY || rule->dest.port_min != 0 ||
	       rule->dest.port_max != 65535;
}

bool acl_rule_matches(const struct config_acl_rule *rule, const struct acl_request *r)
{
	if (!client_matches(rule, r->client) || !user_matches(rule, r->user))
		return false;
	if (rule->commands != 0 && (rule->commands & r->command) == 0)
		return false;
	if (r->dst == NULL)
		/* No destination yet: see acl.h. */
		return !has_dest_term(rule) || rule->allow;
	return route_rule_matches(&rule->dest, r->dst);
}

struct acl_verdict acl_check(const struct config *cfg, const struct acl_request *r)
{
	const struct sockaddr *client = (const struct sockaddr *)r->client;
	struct acl_verdict v = { .allow = false, .rule = NULL, .why = "default deny" };
	struct acl_ip ip;

	/* BIND opens no outgoing connection: nothing for the guard to stop. */
	if (cfg->destination_guard && r->command != ACL_CMD_BIND && r->dst != NULL &&
	    ip_from_target(r->dst, &ip) && ip_guarded(&ip) && !acl_addr_is_loopback(client)) {
		v.why = "destination guard";
		return v;
	}
	for (size_t i = 0; i < cfg->nacl; i++) {
		if (acl_rule_matches(&cfg->acl[i], r)) {
			v.allow = cfg->acl[i].allow;
			v.rule = &cfg->acl[i];
			v.why = cfg->acl[i].why;
			return v;
		}
	}
	if (cfg->nacl > 0)
		return v;
	if (acl_addr_is_loopback(client)) {
		v.allow = true;
		v.why = "default: loopback client";
	} else if (config_has_users(cfg) && logged_in(r->user)) {
		v.allow = true;
		v.why = "default: authenticated";
	} else {
		v.why = "default: loopback only";
	}
	return v;
}

/* A rule that decides every request of the clients it names: no user,
 * command, destination or port term. */
static bool rule_is_client_only(const struct config_acl_rule *rule)
{
	return rule->user_kind == ACL_USER_ANY && rule->commands == 0 && !has_dest_term(rule);
}

struct acl_verdict acl_check_client(const struct config *cfg, const struct sockaddr_storage *client)
{
	struct acl_verdict v = { .allow = true, .rule = NULL, .why = "some request may pass" };

	for (size_t i = 0; i < cfg->nacl; i++) {
		const struct config_acl_rule *rule = &cfg->acl[i];

		if (!client_matches(rule, client))
			continue;
		/* An allow rule admits some request of this client; a deny
		 * rule with more terms lets the others go on to later rules. */
		if (rule->allow)
			return v;
		if (rule_is_client_only(rule)) {
			v.allow = false;
			v.rule = rule;
			v.why = rule->why;
			return v;
		}
	}
	if (cfg->nacl > 0) {
		v.allow = false;
		v.why = "default deny";
	} else if (!acl_addr_is_loopback((const struct sockaddr *)client) &&
		   !config_has_users(cfg)) {
		v.allow = false;
		v.why = "default: loopback only";
	}
	return v;
}

/* ---- formatting ---- */

static void append(char *buf, size_t cap, size_t *len, const char *text)
{
	size_t n = strlen(text);

	if (*len + n >= cap)
		n = *len < cap ? cap - 1 - *len : 0;
	memcpy(buf + *len, text, n);
	*len += n;
	buf[*len] = '\0';
}

int acl_rule_format(const struct config_acl_rule *rule, char *out, size_t cap)
{
	char buf[CONFIG_ROUTE_NAME_MAX + CONFIG_ACL_USER_MAX + 160];
	size_t len = 0;

	buf[0] = '\0';
	append(buf, sizeof(buf), &len, rule->allow ? "allow" : "deny");
	if (!rule->any_client) {
		char ip[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN + 16];

		inet_ntop(rule->family, rule->addr, ip, sizeof(ip));
		if (rule->prefix == (rule->family == AF_INET ? 32u : 128u))
			snprintf(net, sizeof(net), " from %s", ip);
		else
			snprintf(net, sizeof(net), " from %s/%u", ip, rule->prefix);
		append(buf, sizeof(buf), &len, net);
	}
	if (rule->user_kind == ACL_USER_AUTHENTICATED) {
		append(buf, sizeof(buf), &len, " user *");
	} else if (rule->user_kind == ACL_USER_NAMED) {
		append(buf, sizeof(buf), &len, " user ");
		append(buf, sizeof(buf), &len, rule->user);
	}
	if (rule->commands != 0) {
		static const char *const names[] = { "connect", "bind", "udp" };
		const char *sep = " command ";

		for (unsigned k = 0; k < 3; k++) {
			if (!(rule->commands & (1u << k)))
				continue;
			append(buf, sizeof(buf), &len, sep);
			append(buf, sizeof(buf), &len, names[k]);
			sep = ",";
		}
	}
	if (has_dest_term(rule)) {
		/* config_dest_format() writes "DEST[ port P] direct": keep all but
		 * " direct", and the "*" of a rule that only names ports. */
		char dest[CONFIG_ROUTE_NAME_MAX + 40];
		int n = config_dest_format(&rule->dest, dest, sizeof(dest));
		size_t dlen = n > 7 ? (size_t)n - 7 : 0;

		dest[dlen < sizeof(dest) ? dlen : sizeof(dest) - 1] = '\0';
		if (rule->dest.kind == CONFIG_DEST_ANY) {
			append(buf, sizeof(buf), &len, dest + 1);
		} else {
			append(buf, sizeof(buf), &len, " to ");
			append(buf, sizeof(buf), &len, dest);
		}
	}
	if (len == strlen(rule->allow ? "allow" : "deny"))
		append(buf, sizeof(buf), &len, " *");
	return snprintf(out, cap, "%s", buf);
}

bool acl_proxy_trusted(const struct config *cfg, const struct sockaddr_storage *peer)
{
	struct acl_ip ip;

	ip_from_sockaddr((const struct sockaddr *)peer, &ip);
	for (size_t i = 0; i < cfg->nproxy_from; i++) {
		const struct config_net *net = &cfg->proxy_from[i];

		if (ip.family == net->family && route_prefix_equal(net->addr, ip.addr, net->prefix))
			return true;
	}
	return false;
}
