/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: route and access rules: destinations
 * (config_dest_parse, config_dest_parse_ports, config_dest_format), whole
 * "allow"/"deny" and "route" lines through the config parser, and the
 * user-name rule (username_check) that "user NAME" terms and the user file
 * share.
 *
 * The first input byte picks the check (modulo their number); the rest is
 * the text (its first line for the rule checks). Checked beyond "no
 * crash": what parses, written back out, parses to the same rule
 * (parse(format(x)) == x) -- config_dest_format for destinations and
 * routes, and for access rules the canonical line this file writes; and
 * username_check agrees with the rule username.h states. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <stdbool.h>

#include "config/config.h"
#include "config/config_dest.h"
#include "config/config_load.h"
#include "proto/username.h"

#define NAME "fuzz.conf"

enum which {
	W_DEST,
	W_ACL,
	W_ROUTE,
	W_USERNAME,
	W_COUNT,
};

/* The input's first line as a C string (at most cap - 1 bytes). */
static void first_line(const uint8_t *msg, size_t len, char *out, size_t cap)
{
	size_t n = 0;

	while (n < len && n < cap - 1 && msg[n] != '\n' && msg[n] != '\0') {
		out[n] = (char)msg[n];
		n++;
	}
	out[n] = '\0';
}

/* The destination fields of two routes agree. */
static void check_same_dest(const struct config_route *a, const struct config_route *b)
{
	FUZZ_CHECK(a->kind == b->kind);
	switch (a->kind) {
	case CONFIG_DEST_CIDR:
		FUZZ_CHECK(a->family == b->family && a->prefix == b->prefix);
		FUZZ_CHECK(memcmp(a->addr, b->addr, sizeof(a->addr)) == 0);
		break;
	case CONFIG_DEST_SUFFIX:
	case CONFIG_DEST_EXACT:
		FUZZ_CHECK(strcmp(a->name, b->name) == 0);
		break;
	default:
		break;
	}
	FUZZ_CHECK(a->port_min == b->port_min && a->port_max == b->port_max);
}

/* What config_dest_parse promises about a destination it accepted. */
static void check_dest(const struct config_route *r)
{
	static const uint8_t zero[16];

	switch (r->kind) {
	case CONFIG_DEST_ANY:
		break;
	case CONFIG_DEST_CIDR: {
		unsigned bits = r->family == AF_INET ? 32 : 128;
		uint8_t net[16];

		FUZZ_CHECK(r->family == AF_INET || r->family == AF_INET6);
		FUZZ_CHECK(r->prefix <= bits);
		/* Host bits are zero, and IPv4 leaves the rest of addr zero. */
		memcpy(net, r->addr, sizeof(net));
		for (unsigned b = r->prefix; b < 128; b++)
			net[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
		FUZZ_CHECK(memcmp(net, r->addr, sizeof(net)) == 0);
		if (r->family == AF_INET)
			FUZZ_CHECK(memcmp(r->addr + 4, zero, 12) == 0);
		break;
	}
	case CONFIG_DEST_SUFFIX:
	case CONFIG_DEST_EXACT: {
		size_t n = strlen(r->name);

		/* Lower case, no final dot, no empty label. */
		FUZZ_CHECK(n >= 1 && n <= CONFIG_ROUTE_NAME_MAX);
		FUZZ_CHECK(r->name[0] != '.' && r->name[n - 1] != '.' &&
			   strstr(r->name, "..") == NULL);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK((r->name[i] >= 'a' && r->name[i] <= 'z') ||
				   (r->name[i] >= '0' && r->name[i] <= '9') ||
				   strchr("-_.", r->name[i]) != NULL);
		break;
	}
	default:
		FUZZ_CHECK(0);
	}
}

/* "DEST" or "DEST PORTS": each parsed, written back, parsed again. */
static void check_dest_text(const uint8_t *msg, size_t len)
{
	char line[512], out[512], err[CONFIG_ERR_MAX];
	char *ports = NULL, *sp;
	struct config_route a, b;

	first_line(msg, len, line, sizeof(line));
	sp = strchr(line, ' ');
	if (sp != NULL) {
		*sp = '\0';
		ports = sp + 1;
	}

	memset(&a, 0, sizeof(a));
	a.port_max = 65535;
	a.chain = -1;
	if (config_dest_parse(line, &a, err, sizeof(err)) == 0) {
		char dest[512];
		int n;

		check_dest(&a);
		n = config_dest_format(&a, out, sizeof(out));
		FUZZ_CHECK(n > 0 && (size_t)n < sizeof(out));
		/* "DEST direct": no ports (0-65535 is every port). */
		FUZZ_CHECK(n > 7 && strcmp(out + n - 7, " direct") == 0);
		memcpy(dest, out, (size_t)n - 7);
		dest[n - 7] = '\0';
		memset(&b, 0, sizeof(b));
		b.port_max = 65535;
		b.chain = -1;
		FUZZ_CHECK(config_dest_parse(dest, &b, err, sizeof(err)) == 0);
		check_same_dest(&a, &b);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}

	if (ports != NULL) {
		uint16_t lo, hi, lo2, hi2;

		if (config_dest_parse_ports(ports, &lo, &hi) == 0) {
			FUZZ_CHECK(lo >= 1 && lo <= hi);
			if (lo == hi)
				snprintf(out, sizeof(out), "%u", lo);
			else
				snprintf(out, sizeof(out), "%u-%u", lo, hi);
			FUZZ_CHECK(config_dest_parse_ports(out, &lo2, &hi2) == 0);
			FUZZ_CHECK(lo2 == lo && hi2 == hi);
		}
	}
}

/* Parse text as a whole config; 0 or -1, with the error checked. */
static int parse_config(struct config *cfg, const char *text)
{
	char err[CONFIG_ERR_MAX] = "";
	int rc;

	config_init(cfg);
	rc = config_parse_text(cfg, NAME, text, strlen(text), err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc < 0)
		FUZZ_CHECK(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
	return rc;
}

/* Append s to out as a quoted config word. */
static void put_quoted(char **o, const char *s)
{
	*(*o)++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			*(*o)++ = '\\';
		*(*o)++ = *s;
	}
	*(*o)++ = '"';
}

/* The rule as a canonical line: every term that is not "anything". */
static void acl_write(const struct config_acl_rule *r, char *out, size_t cap)
{
	char *o = out;

	o += sprintf(o, "%s", r->allow ? "allow" : "deny");
	if (!r->any_client) {
		char ip[INET6_ADDRSTRLEN];

		inet_ntop(r->family, r->addr, ip, sizeof(ip));
		o += sprintf(o, " from %s/%u", ip, r->prefix);
	}
	if (r->user_kind == ACL_USER_AUTHENTICATED) {
		o += sprintf(o, " user *");
	} else if (r->user_kind == ACL_USER_NAMED) {
		o += sprintf(o, " user ");
		put_quoted(&o, r->user);
	}
	if (r->commands != 0) {
		const char *sep = " command ";

		if (r->commands & ACL_CMD_CONNECT) {
			o += sprintf(o, "%sconnect", sep);
			sep = ",";
		}
		if (r->commands & ACL_CMD_BIND) {
			o += sprintf(o, "%sbind", sep);
			sep = ",";
		}
		if (r->commands & ACL_CMD_UDP)
			o += sprintf(o, "%sudp", sep);
	}
	if (r->dest.kind != CONFIG_DEST_ANY || r->dest.port_min != 0 || r->dest.port_max != 65535) {
		/* "DEST[ port P[-Q]] direct" is "to DEST[ port P[-Q]]". */
		int n = config_dest_format(&r->dest, o + 4, cap - (size_t)(o - out) - 4);

		FUZZ_CHECK(n > 7 && strcmp(o + 4 + n - 7, " direct") == 0);
		memcpy(o, " to ", 4);
		o += 4 + n - 7;
	}
	if (o == out + strlen(r->allow ? "allow" : "deny"))
		o += sprintf(o, " *");
	*o++ = '\n';
	*o = '\0';
	FUZZ_CHECK((size_t)(o - out) < cap);
}

static void check_acl_rule(const struct config_acl_rule *r)
{
	FUZZ_CHECK(r->line == 1 && strcmp(r->why, "rule " NAME ":1") == 0);
	FUZZ_CHECK((r->commands & ~ACL_CMD_ALL) == 0);
	if (r->user_kind == ACL_USER_NAMED)
		FUZZ_CHECK(username_check(r->user) == NULL);
	else
		FUZZ_CHECK(r->user[0] == '\0');
	if (!r->any_client) {
		struct config_route net = { .kind = CONFIG_DEST_CIDR,
					    .family = r->family,
					    .prefix = r->prefix };
		memcpy(net.addr, r->addr, sizeof(net.addr));
		check_dest(&net);
	}
	check_dest(&r->dest);
	FUZZ_CHECK(r->dest.chain == -1 && r->dest.via[0] == '\0');
	FUZZ_CHECK(r->dest.port_min <= r->dest.port_max);
}

static void check_acl(const uint8_t *msg, size_t len)
{
	char line[1024], text[1100];
	struct config a, b;

	first_line(msg + (len > 0), len - (len > 0), line, sizeof(line));
	snprintf(text, sizeof(text), "%s %s\n", len > 0 && msg[0] & 1 ? "deny" : "allow", line);
	if (parse_config(&a, text) == 0) {
		char again[2048];

		FUZZ_CHECK(a.nacl == 1);
		check_acl_rule(&a.acl[0]);
		acl_write(&a.acl[0], again, sizeof(again));
		FUZZ_CHECK(parse_config(&b, again) == 0);
		FUZZ_CHECK(b.nacl == 1);
		const struct config_acl_rule *x = &a.acl[0], *y = &b.acl[0];
		FUZZ_CHECK(x->allow == y->allow && x->any_client == y->any_client);
		if (!x->any_client) {
			FUZZ_CHECK(x->family == y->family && x->prefix == y->prefix);
			FUZZ_CHECK(memcmp(x->addr, y->addr, sizeof(x->addr)) == 0);
		}
		FUZZ_CHECK(x->user_kind == y->user_kind && strcmp(x->user, y->user) == 0);
		FUZZ_CHECK(x->commands == y->commands);
		check_same_dest(&x->dest, &y->dest);
		FUZZ_CHECK(strcmp(x->why, y->why) == 0);
		config_free(&b);
	}
	config_free(&a);
}

/* A route line behind a chain it may name ("c"). */
#define ROUTE_PREFIX "chain c {\nhop socks5://127.0.0.1:1080\n}\nroute "
#define ROUTE_LINE   4

static const struct config_route *find_route(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nroutes; i++) {
		if (cfg->routes[i].line == ROUTE_LINE)
			return &cfg->routes[i];
	}
	return NULL;
}

static void check_route(const uint8_t *msg, size_t len)
{
	char line[1024], text[1200];
	struct config a, b;

	first_line(msg, len, line, sizeof(line));
	snprintf(text, sizeof(text), ROUTE_PREFIX "%s\n", line);
	if (parse_config(&a, text) == 0) {
		const struct config_route *x = find_route(&a), *y;
		char out[1024];
		int n;

		FUZZ_CHECK(x != NULL);
		check_dest(x);
		FUZZ_CHECK(x->port_min <= x->port_max);
		FUZZ_CHECK((x->chain == -1 && x->via[0] == '\0') || strcmp(x->via, "c") == 0);
		n = config_dest_format(x, out, sizeof(out));
		FUZZ_CHECK(n > 0 && (size_t)n < sizeof(out));
		snprintf(text, sizeof(text), ROUTE_PREFIX "%s\n", out);
		FUZZ_CHECK(parse_config(&b, text) == 0);
		y = find_route(&b);
		FUZZ_CHECK(y != NULL);
		check_same_dest(x, y);
		FUZZ_CHECK(x->chain == y->chain && strcmp(x->via, y->via) == 0);
		config_free(&b);
	}
	config_free(&a);
}

/* username.h's rule, written out again. */
static bool username_model(const uint8_t *s, size_t len)
{
	if (len == 0 || len > USERNAME_MAX || s[0] == '#')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= ' ' || s[i] == 0x7f || s[i] == ':')
			return false;
	}
	return true;
}

static void check_username(const uint8_t *msg, size_t len)
{
	char name[USERNAME_MAX + 8];
	const char *why = username_check_len((const char *)msg, len);

	FUZZ_CHECK((why == NULL) == username_model(msg, len));
	FUZZ_CHECK(why == NULL || why[0] != '\0');
	if (len < sizeof(name)) {
		memcpy(name, msg, len);
		name[len] = '\0';
		why = username_check(name);
		FUZZ_CHECK(why == username_check_len(name, strlen(name)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fuzz_check_fn *const checks[W_COUNT] = {
		[W_DEST] = check_dest_text,
		[W_ACL] = check_acl,
		[W_ROUTE] = check_route,
		[W_USERNAME] = check_username,
	};
	return fuzz_dispatch(checks, W_COUNT, data, size);
}
