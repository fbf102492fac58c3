/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The config language's access control: allow/deny rules, the limits on
 * sessions and failed logins, the destination guard, and the check that
 * refuses to start an open relay.
 *
 *	allow RULE...      deny RULE...
 *
 *	RULE := "*"                             (alone: matches everything)
 *	      | TERM { TERM }                   (any order, each at most once)
 *	TERM := "from" ( "*" | ADDR | ADDR/PREFIX )          the client's address
 *	      | "user" ( "*" | NAME )                        who logged in
 *	      | "command" CMD { "," CMD }, CMD := connect | bind | udp
 *	      | "to" DEST                                    as in route (route.c)
 *	      | "port" ( P | P-Q )                           the destination port
 *
 * An omitted term matches everything. What the rules mean when a session
 * is checked against them is acl.h's business; this file only turns the
 * words into struct config_acl_rule and refuses what can never work. */
#include "config/config_acl.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "config/config_dest.h"
#include "config/config_value.h"
#include "proto/username.h"

#define AUTH_THROTTLE_FAILURES_MAX 1000000

static int err_oom(char *err, size_t errlen)
{
	config_err_set(err, errlen, "out of memory");
	return -1;
}

/* ---- rule terms ---- */

/* "*", an address (/32, /128) or ADDR/PREFIX. Names are refused: a
 * client's address is what the kernel reports, never a name. */
static int term_from(const char *text, struct config_acl_rule *r, char *err, size_t errlen)
{
	struct config_route net;
	uint8_t ip[16];

	if (strcmp(text, "*") == 0) {
		r->any_client = true;
		return 0;
	}
	if (strchr(text, '/') == NULL && inet_pton(AF_INET, text, ip) != 1 &&
	    inet_pton(AF_INET6, text, ip) != 1) {
		config_err_set(err, errlen,
			       "invalid address '%." QUOTE_MAX "s' (expected *, an address or "
			       "ADDR/PREFIX, e.g. 192.168.0.0/16 or 2001:db8::/32)",
			       text);
		return -1;
	}
	/* The same networks as route destinations, with the same checks
	 * (host bits, prefix range) and ::ffff:a.b.c.d/N turned into IPv4. */
	memset(&net, 0, sizeof(net));
	if (config_dest_parse(text, &net, err, errlen) < 0)
		return -1;
	r->any_client = false;
	r->family = net.family;
	r->prefix = net.prefix;
	memcpy(r->addr, net.addr, sizeof(r->addr));
	return 0;
}

_Static_assert(CONFIG_ACL_USER_MAX == USERNAME_MAX, "a rule holds any user name");

static int term_user(const char *text, struct config_acl_rule *r, char *err, size_t errlen)
{
	const char *problem;

	if (strcmp(text, "*") == 0) {
		r->user_kind = ACL_USER_AUTHENTICATED;
		return 0;
	}
	/* A name a user file could not hold could never match: refused with
	 * the user file's own rules. */
	problem = username_check(text);
	if (problem != NULL) {
		config_err_set(err, errlen, "invalid name '%." QUOTE_MAX "s' (%s)", text, problem);
		return -1;
	}
	r->user_kind = ACL_USER_NAMED;
	snprintf(r->user, sizeof(r->user), "%s", text);
	return 0;
}

/* "connect,bind,udp": one or more, comma-separated, no blanks. */
static int term_command(const char *text, struct config_acl_rule *r, char *err, size_t errlen)
{
	static const char *const names[] = { "connect", "bind", "udp" };
	static const unsigned bits[] = { ACL_CMD_CONNECT, ACL_CMD_BIND, ACL_CMD_UDP };
	const char *item = text;
	unsigned mask = 0;

	for (;;) {
		const char *comma = strchr(item, ',');
		size_t len = comma != NULL ? (size_t)(comma - item) : strlen(item);
		size_t k;

		for (k = 0; k < 3; k++)
			if (strlen(names[k]) == len && memcmp(item, names[k], len) == 0)
				break;
		if (k == 3) {
			if (len == 0)
				config_err_set(err, errlen,
					       "empty command in '%." QUOTE_MAX "s' (expected "
					       "connect, bind or udp, separated by commas)",
					       text);
			else
				config_err_set(err, errlen,
					       "unknown command '%.*s' (expected connect, bind or "
					       "udp, separated by commas)",
					       (int)(len > 64 ? 64 : len), item);
			return -1;
		}
		if (mask & bits[k]) {
			config_err_set(err, errlen, "'%s' given twice", names[k]);
			return -1;
		}
		mask |= bits[k];
		if (comma == NULL)
			break;
		item = comma + 1;
	}
	r->commands = mask;
	return 0;
}

static int term_to(const char *text, struct config_acl_rule *r, char *err, size_t errlen)
{
	return config_dest_parse(text, &r->dest, err, errlen);
}

static int term_port(const char *text, struct config_acl_rule *r, char *err, size_t errlen)
{
	if (config_dest_parse_ports(text, &r->dest.port_min, &r->dest.port_max) < 0) {
		config_err_set(err, errlen,
			       "invalid port '%." QUOTE_MAX "s' (expected P or P-Q, 1..65535)",
			       text);
		return -1;
	}
	return 0;
}

static const struct acl_term {
	const char *name;
	int (*fn)(const char *text, struct config_acl_rule *r, char *err, size_t errlen);
} acl_terms[] = {
	{ "from", term_from }, { "user", term_user }, { "command", term_command },
	{ "to", term_to },     { "port", term_port },
};

#define ACL_TERMS (sizeof(acl_terms) / sizeof(acl_terms[0]))

/* "rule NAME:LINE", keeping the end of a long path (the file name). */
static void rule_set_why(struct config_acl_rule *r, const char *name, unsigned line)
{
	static const char prefix[] = "rule ";
	char num[16];
	size_t len, room;

	if (name == NULL)
		name = "config";
	snprintf(num, sizeof(num), ":%u", line);
	len = strlen(name);
	room = sizeof(r->why) - 1 - (sizeof(prefix) - 1) - strlen(num);
	if (len <= room)
		snprintf(r->why, sizeof(r->why), "%s%s%s", prefix, name, num);
	else
		snprintf(r->why, sizeof(r->why), "%s...%s%s", prefix, name + len - (room - 3), num);
}

static int acl_rule_add(struct parse_state *ps, char *const *argv, bool allow, char *err,
			size_t errlen)
{
	struct config_acl_rule r;
	struct config_acl_rule *grown;
	char msg[CONFIG_ERR_MAX];
	bool seen[ACL_TERMS] = { false };

	memset(&r, 0, sizeof(r));
	r.allow = allow;
	r.any_client = true;
	r.user_kind = ACL_USER_ANY;
	r.commands = 0;
	r.dest.kind = CONFIG_DEST_ANY;
	r.dest.port_min = 0;
	r.dest.port_max = 65535;
	r.dest.chain = -1;
	r.dest.line = ps->line;
	r.line = ps->line;
	rule_set_why(&r, ps->name, ps->line);

	if (strcmp(argv[0], "*") == 0 && argv[1] == NULL)
		goto add;
	for (size_t i = 0; argv[i] != NULL; i += 2) {
		size_t t;

		for (t = 0; t < ACL_TERMS; t++)
			if (strcmp(argv[i], acl_terms[t].name) == 0)
				break;
		if (t == ACL_TERMS) {
			if (strcmp(argv[i], "*") == 0)
				config_err_set(err, errlen,
					       "'*' must stand alone (it matches everything)");
			else
				config_err_set(err, errlen,
					       "unknown term '%." QUOTE_MAX "s' (expected from, "
					       "user, command, to or port)",
					       argv[i]);
			return -1;
		}
		if (seen[t]) {
			config_err_set(err, errlen, "'%s' given twice", acl_terms[t].name);
			return -1;
		}
		seen[t] = true;
		if (argv[i + 1] == NULL) {
			config_err_set(err, errlen, "%s: missing value", acl_terms[t].name);
			return -1;
		}
		if (acl_terms[t].fn(argv[i + 1], &r, msg, sizeof(msg)) < 0) {
			config_err_set(err, errlen, "%s: %s", acl_terms[t].name, msg);
			return -1;
		}
	}
add:
	grown = realloc(ps->cfg->acl, (ps->cfg->nacl + 1) * sizeof(*grown));
	if (grown == NULL)
		return err_oom(err, errlen);
	ps->cfg->acl = grown;
	ps->cfg->acl[ps->cfg->nacl++] = r;
	return 0;
}

int config_do_allow(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return acl_rule_add(ps, argv, true, err, errlen);
}

int config_do_deny(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return acl_rule_add(ps, argv, false, err, errlen);
}

/* ---- limits and the guard ---- */

int config_do_max_per_client(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return config_set_count(&ps->cfg->max_per_client, argv[0], UINT_MAX,
				"expected a count, 0 for unlimited", err, errlen);
}

int config_do_max_per_user(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return config_set_count(&ps->cfg->max_per_user, argv[0], UINT_MAX,
				"expected a count, 0 for unlimited", err, errlen);
}

/* "auth-throttle FAILURES WINDOW BLOCK" or "auth-throttle off". */
int config_do_auth_throttle(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	unsigned long failures;
	unsigned window, block;

	if (strcmp(argv[0], "off") == 0) {
		if (argv[1] != NULL) {
			config_err_set(err, errlen, "unexpected '%." QUOTE_MAX "s' after 'off'",
				       argv[1]);
			return -1;
		}
		ps->cfg->auth_throttle_failures = 0;
		return 0;
	}
	if (config_parse_uint(argv[0], AUTH_THROTTLE_FAILURES_MAX, &failures) < 0 ||
	    failures == 0) {
		config_err_set(err, errlen,
			       "invalid number '%." QUOTE_MAX "s' (expected FAILURES WINDOW BLOCK "
			       "with FAILURES 1..%d, e.g. 5 1m 5m, or off)",
			       argv[0], AUTH_THROTTLE_FAILURES_MAX);
		return -1;
	}
	if (argv[1] == NULL || argv[2] == NULL) {
		config_err_set(err, errlen,
			       "missing %s (expected FAILURES WINDOW BLOCK, e.g. 5 1m "
			       "5m, or off)",
			       argv[1] == NULL ? "WINDOW and BLOCK" : "BLOCK");
		return -1;
	}
	if (config_set_duration(&window, argv[1], err, errlen) < 0 ||
	    config_set_duration(&block, argv[2], err, errlen) < 0)
		return -1;
	if (window == 0 || block == 0) {
		config_err_set(err, errlen,
			       "the %s must be greater than 0 (auth-throttle off turns "
			       "throttling off)",
			       window == 0 ? "window" : "block");
		return -1;
	}
	ps->cfg->auth_throttle_failures = (unsigned)failures;
	ps->cfg->auth_throttle_window_ms = window;
	ps->cfg->auth_throttle_block_ms = block;
	return 0;
}

int config_do_destination_guard(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	if (config_parse_bool(argv[0], &ps->cfg->destination_guard) < 0)
		return config_bad_keyword(argv[0], "on or off", err, errlen);
	return 0;
}

/* ---- checks after the whole configuration ---- */

static const uint8_t ip6_loopback[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

bool config_listens_beyond_loopback(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (!util_sa_is_loopback(&cfg->listen[i].ss))
			return true;
	return false;
}

/* Could this allow rule admit a client that is not on loopback and not
 * logged in? Its other terms (command, destination) do not matter: an
 * administrator who wrote "allow from 10.0.0.0/8 to .example" meant to
 * serve that network. Whether an earlier deny shadows it is not checked:
 * this is a guard against forgetting, not a proof. */
static bool rule_admits_beyond_loopback(const struct config_acl_rule *r)
{
	if (!r->allow || r->user_kind != ACL_USER_ANY)
		return false;
	if (r->any_client)
		return true;
	if (r->family == AF_INET)
		return !(r->prefix >= 8 && r->addr[0] == 127);
	return !(r->prefix == 128 && memcmp(r->addr, ip6_loopback, 16) == 0);
}

int config_acl_check(const struct config *cfg, char *err, size_t errlen)
{
	const struct config_addr *open = NULL;

	for (size_t i = 0; i < cfg->nacl; i++) {
		const struct config_acl_rule *r = &cfg->acl[i];

		/* Without a user file nobody logs in, so the rule could never
		 * match: that is a mistake, not a policy. */
		if (r->user_kind != ACL_USER_ANY && !config_has_users(cfg)) {
			config_err_set(err, errlen,
				       "%s: %s: 'user' needs a user file (users or -U); without "
				       "one no client logs in",
				       r->why + 5, r->allow ? "allow" : "deny");
			return -1;
		}
	}
	if (config_has_users(cfg))
		return 0;
	for (size_t i = 0; i < cfg->nacl; i++)
		if (rule_admits_beyond_loopback(&cfg->acl[i]))
			return 0;
	for (size_t i = 0; i < cfg->nlisten && open == NULL; i++)
		if (!util_sa_is_loopback(&cfg->listen[i].ss))
			open = &cfg->listen[i];
	if (open == NULL)
		return 0;
	config_err_at(cfg, open->line, err, errlen,
		      "listen %s accepts clients beyond loopback without authentication or an "
		      "allow rule: add 'users FILE', or 'allow from NETWORK', or listen on %s",
		      open->text, open->ss.ss_family == AF_INET6 ? "[::1]" : "127.0.0.1");
	return -1;
}
