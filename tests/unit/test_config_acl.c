/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for the access-control and service directives of the config
 * language (src/config_acl.c, src/config_service.c): allow/deny rules,
 * limits, auth-throttle, destination-guard, admin, user/group/run-as,
 * drain, reload-keep-sessions, and the checks config_finish makes (the
 * open-relay refusal, rules naming users without a user file, the admin
 * listener's port). Part of the test_config program; see config_suite.h.
 * Error messages are compared whole: they are what `hopsocks -t` prints. */
#include "config_suite.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_acl.h"
#include "config/config_load.h"
#include "config/config_proxy.h"
#include "config/config_value.h"
#include "policy/auth.h"
#include "proto/username.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct config cfg;
static char err[CONFIG_ERR_MAX];

static void setup(void)
{
	config_init(&cfg);
	memset(err, 0, sizeof(err));
}

static void teardown(void)
{
	config_free(&cfg);
}

static int parse(const char *text)
{
	return config_parse_text(&cfg, "x.conf", text, strlen(text), err, sizeof(err));
}

static void reset(void)
{
	config_free(&cfg);
	config_init(&cfg);
}

#define ck_parse_ok(text)                                                         \
	do {                                                                      \
		int rc_ = parse(text);                                            \
		ck_assert_msg(rc_ == 0, "parse of [%s] failed: %s", (text), err); \
	} while (0)

/* Each error case starts from a fresh config. */
#define ck_parse_err(text, expected)                                           \
	do {                                                                   \
		reset();                                                       \
		int rc_ = parse(text);                                         \
		ck_assert_msg(rc_ == -1, "parse of [%s] should fail", (text)); \
		ck_assert_str_eq(err, (expected));                             \
	} while (0)

/* Parse text into a fresh config, then config_finish: expected NULL = ok. */
static void finish_case(const char *text, const char *expected)
{
	reset();
	ck_assert_msg(parse(text) == 0, "parse of [%s] failed: %s", text, err);
	int rc = config_finish(&cfg, err, sizeof(err));
	if (expected == NULL) {
		ck_assert_msg(rc == 0, "finish of [%s] failed: %s", text, err);
	} else {
		ck_assert_msg(rc == -1, "finish of [%s] should fail", text);
		ck_assert_str_eq(err, expected);
	}
}

/* ---- defaults ---- */

START_TEST(test_acl_defaults)
{
	ck_assert_ptr_null(cfg.acl);
	ck_assert_uint_eq(cfg.nacl, 0);
	ck_assert(!cfg.destination_guard);
	ck_assert_uint_eq(cfg.max_per_client, 0);
	ck_assert_uint_eq(cfg.max_per_user, 0);
	ck_assert_uint_eq(cfg.auth_throttle_failures, 10);
	ck_assert_uint_eq(cfg.auth_throttle_window_ms, 60000);
	ck_assert_uint_eq(cfg.auth_throttle_block_ms, 300000);
	ck_assert_uint_eq(cfg.admin.len, 0);
	ck_assert_ptr_null(cfg.run_user);
	ck_assert_ptr_null(cfg.run_group);
	ck_assert_uint_eq(cfg.drain_ms, 10000);
	ck_assert(!cfg.reload_keep_sessions);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nacl, 0);
}
END_TEST

/* ---- allow / deny ---- */

START_TEST(test_rule_fields)
{
	const struct config_acl_rule *r;

	ck_parse_ok("users /u\n"
		    "allow from 192.168.0.0/16 user * command connect,udp to .Example port "
		    "80-443\n"
		    "deny *\n"
		    "deny to 10.0.0.0/8\n"
		    "allow user alice from 2001:db8::/32 command bind\n"
		    "allow from 192.0.2.7 to host.example port 22\n"
		    "allow from * to *\n");
	ck_assert_uint_eq(cfg.nacl, 6);

	r = &cfg.acl[0];
	ck_assert(r->allow);
	ck_assert(!r->any_client);
	ck_assert_int_eq(r->family, AF_INET);
	ck_assert_uint_eq(r->prefix, 16);
	ck_assert_uint_eq(r->addr[0], 192);
	ck_assert_uint_eq(r->addr[1], 168);
	ck_assert_int_eq(r->user_kind, ACL_USER_AUTHENTICATED);
	ck_assert_uint_eq(r->commands, ACL_CMD_CONNECT | ACL_CMD_UDP);
	ck_assert_int_eq(r->dest.kind, CONFIG_DEST_SUFFIX);
	ck_assert_str_eq(r->dest.name, "example");
	ck_assert_uint_eq(r->dest.port_min, 80);
	ck_assert_uint_eq(r->dest.port_max, 443);
	ck_assert_int_eq(r->dest.chain, -1);
	ck_assert_uint_eq(r->line, 2);
	ck_assert_str_eq(r->why, "rule x.conf:2");

	r = &cfg.acl[1];
	ck_assert(!r->allow);
	ck_assert(r->any_client);
	ck_assert_int_eq(r->user_kind, ACL_USER_ANY);
	ck_assert_uint_eq(r->commands, 0);
	ck_assert_int_eq(r->dest.kind, CONFIG_DEST_ANY);
	ck_assert_uint_eq(r->dest.port_min, 0);
	ck_assert_uint_eq(r->dest.port_max, 65535);
	ck_assert_str_eq(r->why, "rule x.conf:3");

	r = &cfg.acl[2];
	ck_assert_int_eq(r->dest.kind, CONFIG_DEST_CIDR);
	ck_assert_int_eq(r->dest.family, AF_INET);
	ck_assert_uint_eq(r->dest.prefix, 8);

	r = &cfg.acl[3];
	ck_assert_int_eq(r->family, AF_INET6);
	ck_assert_uint_eq(r->prefix, 32);
	ck_assert_int_eq(r->user_kind, ACL_USER_NAMED);
	ck_assert_str_eq(r->user, "alice");
	ck_assert_uint_eq(r->commands, ACL_CMD_BIND);

	r = &cfg.acl[4];
	ck_assert_uint_eq(r->prefix, 32);
	ck_assert_int_eq(r->dest.kind, CONFIG_DEST_EXACT);
	ck_assert_uint_eq(r->dest.port_min, 22);
	ck_assert_uint_eq(r->dest.port_max, 22);

	r = &cfg.acl[5];
	ck_assert(r->any_client);
	ck_assert_int_eq(r->dest.kind, CONFIG_DEST_ANY);

	/* Rules accumulate across texts, in order; the config is valid. */
	ck_parse_ok("deny from ::ffff:10.0.0.0/104\n");
	ck_assert_uint_eq(cfg.nacl, 7);
	ck_assert_int_eq(cfg.acl[6].family, AF_INET);
	ck_assert_uint_eq(cfg.acl[6].prefix, 8);
	ck_assert_str_eq(cfg.acl[6].why, "rule x.conf:1");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_rule_why)
{
	char name[300], text[] = "\n\nallow *\n";

	ck_assert_int_eq(config_parse_text(&cfg, "/etc/hopsocks/hopsocks.conf", text, strlen(text),
					   err, sizeof(err)),
			 0);
	ck_assert_str_eq(cfg.acl[0].why, "rule /etc/hopsocks/hopsocks.conf:3");

	/* A long path keeps its end: the file name and the line. */
	memset(name, 'd', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memcpy(name + sizeof(name) - 11, "/x.conf", 8);
	ck_assert_int_eq(config_parse_text(&cfg, name, text, strlen(text), err, sizeof(err)), 0);
	const char *why = cfg.acl[1].why;
	ck_assert_uint_eq(strlen(why), CONFIG_ACL_WHY_MAX - 1);
	ck_assert_int_eq(strncmp(why, "rule ...ddd", 11), 0);
	ck_assert_str_eq(why + strlen(why) - 9, "/x.conf:3");
}
END_TEST

/* The longest rule fits on one line. */
START_TEST(test_rule_words)
{
	ck_parse_ok("users /u\n"
		    "deny from 10.0.0.0/8 user bob command connect to .example port 1-2\n");
	ck_assert_uint_eq(cfg.nacl, 1);
	ck_parse_err("allow from * user * command connect to * port 1 x\n",
		     "x.conf:1: allow: too many arguments");
	ck_parse_err("allow from * user * command connect to * port 1 x y z\n",
		     "x.conf:1: allow: too many arguments");
	ck_parse_err("allow from * user * command connect to * port\n",
		     "x.conf:1: allow: port: missing value");
}
END_TEST

static const struct {
	const char *line, *msg;
} rule_bad[] = {
	{ "allow", "allow: missing argument" },
	{ "deny", "deny: missing argument" },
	{ "allow from", "allow: from: missing value" },
	{ "allow frm 10.0.0.0/8", "allow: unknown term 'frm' (expected from, user, command, to "
				  "or port)" },
	{ "deny all", "deny: unknown term 'all' (expected from, user, command, to or port)" },
	{ "allow * from 10.0.0.0/8", "allow: '*' must stand alone (it matches everything)" },
	{ "deny to x.example *", "deny: '*' must stand alone (it matches everything)" },
	{ "allow from 1.2.3.4 from 5.6.7.8", "allow: 'from' given twice" },
	{ "allow port 1 port 2", "allow: 'port' given twice" },
	{ "allow from host.example", "allow: from: invalid address 'host.example' (expected *, "
				     "an address or ADDR/PREFIX, e.g. 192.168.0.0/16 or "
				     "2001:db8::/32)" },
	{ "allow from [::1]", "allow: from: invalid address '[::1]' (expected *, an address or "
			      "ADDR/PREFIX, e.g. 192.168.0.0/16 or 2001:db8::/32)" },
	{ "allow from 10.1.0.0/8", "allow: from: invalid network '10.1.0.0/8': host bits are set "
				   "(did you mean 10.0.0.0/8?)" },
	{ "allow from 10.0.0.0/33", "allow: from: invalid prefix length '/33' (at most 32 for "
				    "IPv4)" },
	{ "allow from host/24", "allow: from: invalid network 'host/24' (expected ADDR/PREFIX, "
				"e.g. 10.0.0.0/8 or 2001:db8::/32)" },
	{ "allow user a:b", "allow: user: invalid name 'a:b' (user name contains ':')" },
	{ "allow user \"a b\"", "allow: user: invalid name 'a b' (user name contains whitespace "
				"or a control character)" },
	{ "allow user \"\"", "allow: user: invalid name '' (empty user name)" },
	{ "allow user \"#x\"", "allow: user: invalid name '#x' (user name starts with '#')" },
	{ "allow command conect", "allow: command: unknown command 'conect' (expected connect, "
				  "bind or udp, separated by commas)" },
	{ "allow command CONNECT", "allow: command: unknown command 'CONNECT' (expected connect, "
				   "bind or udp, separated by commas)" },
	{ "allow command connect,", "allow: command: empty command in 'connect,' (expected "
				    "connect, bind or udp, separated by commas)" },
	{ "allow command ,udp", "allow: command: empty command in ',udp' (expected connect, bind "
				"or udp, separated by commas)" },
	{ "allow command udp,udp", "allow: command: 'udp' given twice" },
	{ "allow to *.example", "allow: to: invalid destination '*.example' (write .example for a "
				"domain and every name under it)" },
	{ "allow to 10.0.0.0/33", "allow: to: invalid prefix length '/33' (at most 32 for IPv4)" },
	{ "allow to \"\"", "allow: to: empty destination" },
	{ "allow port 0", "allow: port: invalid port '0' (expected P or P-Q, 1..65535)" },
	{ "allow port 90-80", "allow: port: invalid port '90-80' (expected P or P-Q, 1..65535)" },
	{ "allow port http", "allow: port: invalid port 'http' (expected P or P-Q, 1..65535)" },
	{ "allow from * to * { ", "allow: does not take a block" },
};

START_TEST(test_rule_invalid)
{
	char line[256], expected[CONFIG_ERR_MAX];

	snprintf(line, sizeof(line), "\n%s\n", rule_bad[_i].line);
	snprintf(expected, sizeof(expected), "x.conf:2: %s", rule_bad[_i].msg);
	ck_parse_err(line, expected);
	ck_assert_uint_eq(cfg.nacl, 0);
}
END_TEST

START_TEST(test_rule_long_user)
{
	char line[400];

	memset(line, 0, sizeof(line));
	strcpy(line, "users /u\nallow user ");
	memset(line + strlen(line), 'u', 255);
	strcat(line, "\n");
	ck_parse_ok(line);
	ck_assert_uint_eq(strlen(cfg.acl[0].user), 255);

	reset();
	line[strlen(line) - 1] = 'u';
	strcat(line, "\n");
	ck_assert_int_eq(parse(line), -1);
	ck_assert_str_eq(err, "x.conf:2: allow: user: invalid name "
			      "'uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu' "
			      "(user name longer than 255 bytes)");
}
END_TEST

/* A name a rule accepts is exactly a name a user file may hold. */
START_TEST(test_rule_user_names_agree)
{
	static const char *const names[] = {
		"alice", "a",  "Bob_2", "x.y@z", "\xc3\xa9t\xc3\xa9",
		"a#b",	 "#a", "a:b",	"a b",	 "a\tb",
		"",	 "-x", "*x",	"x*",
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		char line[64];

		reset();
		snprintf(line, sizeof(line), "allow user \"%s\"\n", names[i]);
		bool ok = parse(line) == 0;
		ck_assert_msg(ok == (username_check(names[i]) == NULL), "'%s': rule %s", names[i],
			      ok ? "accepted" : "refused");
	}
}
END_TEST

/* A rule about users needs someone to log in. */
START_TEST(test_rule_user_needs_user_file)
{
	finish_case(
		"allow from 10.0.0.0/8\nallow user alice\n",
		"x.conf:2: allow: 'user' needs a user file (users or -U); without one no client "
		"logs in");
	finish_case("deny user *\n", "x.conf:1: deny: 'user' needs a user file (users or -U); "
				     "without one no client logs in");
	finish_case("users /u\nallow user alice\n", NULL);
	/* -U counts. */
	reset();
	ck_parse_ok("deny user *\n");
	ck_assert_int_eq(config_set_string(&cfg.users_file, "/u"), 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
}
END_TEST

/* ---- limits, throttle, guard ---- */

START_TEST(test_limits)
{
	ck_parse_ok("max-connections-per-client 10\nmax-connections-per-user 20\n");
	ck_assert_uint_eq(cfg.max_per_client, 10);
	ck_assert_uint_eq(cfg.max_per_user, 20);
	ck_parse_ok("max-connections-per-client 0\nmax-connections-per-user 4294967295\n");
	ck_assert_uint_eq(cfg.max_per_client, 0);
	ck_assert_uint_eq(cfg.max_per_user, 4294967295u);
	ck_parse_err(
		"max-connections-per-client x\n",
		"x.conf:1: max-connections-per-client: invalid number 'x' (expected a count, 0 "
		"for unlimited)");
	ck_parse_err("max-connections-per-user -1\n",
		     "x.conf:1: max-connections-per-user: invalid number '-1' (expected a count, 0 "
		     "for unlimited)");
	ck_parse_err("max-connections-per-user 4294967296\n",
		     "x.conf:1: max-connections-per-user: invalid number '4294967296' (expected a "
		     "count, 0 for unlimited)");
	ck_parse_err("max-connections-per-client\n",
		     "x.conf:1: max-connections-per-client: missing argument");
	ck_parse_err("max-connections-per-client 1 2\n",
		     "x.conf:1: max-connections-per-client: too many arguments");
}
END_TEST

/* proxy-protocol: version, networks (as a rule's "from"), repeated lines,
 * and the -T text, which parses back to the same list. */
START_TEST(test_proxy_protocol)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_uint_eq(cfg.proxy_protocol, 0);
	ck_parse_ok("proxy-protocol v2 from 127.0.0.1 10.0.0.0/8\nproxy-protocol v2 from "
		    "2001:db8::/32 ::ffff:192.0.2.0/120\n");
	ck_assert_uint_eq(cfg.proxy_protocol, CONFIG_PROXY_V2);
	ck_assert_uint_eq(cfg.nproxy_from, 4);
	ck_assert_int_eq(cfg.proxy_from[0].family, AF_INET);
	ck_assert_uint_eq(cfg.proxy_from[0].prefix, 32);
	ck_assert_mem_eq(cfg.proxy_from[0].addr, "\x7f\x00\x00\x01", 4);
	ck_assert_uint_eq(cfg.proxy_from[1].prefix, 8);
	ck_assert_int_eq(cfg.proxy_from[2].family, AF_INET6);
	ck_assert_uint_eq(cfg.proxy_from[2].prefix, 32);
	/* A mapped network becomes IPv4, as in access rules. */
	ck_assert_int_eq(cfg.proxy_from[3].family, AF_INET);
	ck_assert_uint_eq(cfg.proxy_from[3].prefix, 24);

	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	config_proxy_dump(&cfg, f);
	fclose(f);
	ck_assert_str_eq(text, "proxy-protocol v2 from 127.0.0.1 10.0.0.0/8 2001:db8::/32 "
			       "192.0.2.0/24\n");
	reset();
	ck_parse_ok(text);
	ck_assert_uint_eq(cfg.nproxy_from, 4);
	free(text);

	reset();
	ck_parse_ok("proxy-protocol v1 from 192.0.2.1\n");
	ck_assert_uint_eq(cfg.proxy_protocol, CONFIG_PROXY_V1);
	reset();
	ck_parse_ok("proxy-protocol any from 192.0.2.1\n");
	ck_assert_uint_eq(cfg.proxy_protocol, CONFIG_PROXY_V1 | CONFIG_PROXY_V2);

	ck_parse_err("proxy-protocol v3 from 127.0.0.1\n",
		     "x.conf:1: proxy-protocol: unknown version 'v3' (expected v1, v2 or any)");
	ck_parse_err("proxy-protocol v2 to 127.0.0.1\n",
		     "x.conf:1: proxy-protocol: expected 'from' and the balancers' addresses "
		     "(proxy-protocol v1|v2|any from NET [NET...])");
	ck_parse_err("proxy-protocol v2 from\n", "x.conf:1: proxy-protocol: missing argument");
	ck_parse_err("proxy-protocol v2 from *\n",
		     "x.conf:1: proxy-protocol: invalid address '*' (expected an address or "
		     "ADDR/PREFIX of the load balancers, e.g. 10.0.0.5 or 10.0.0.0/24)");
	ck_parse_err("proxy-protocol v2 from lb.example\n",
		     "x.conf:1: proxy-protocol: invalid address 'lb.example' (expected an address "
		     "or ADDR/PREFIX of the load balancers, e.g. 10.0.0.5 or 10.0.0.0/24)");
	ck_parse_err("proxy-protocol v2 from 10.0.0.1/8\n",
		     "x.conf:1: proxy-protocol: invalid address '10.0.0.1/8' (expected an address "
		     "or ADDR/PREFIX of the load balancers, e.g. 10.0.0.5 or 10.0.0.0/24)");
	ck_parse_err("proxy-protocol v1 from 127.0.0.1\nproxy-protocol v2 from 127.0.0.2\n",
		     "x.conf:2: proxy-protocol: version v2 differs from an earlier proxy-protocol "
		     "line (one version for every listener)");
}
END_TEST

START_TEST(test_auth_throttle)
{
	ck_parse_ok("auth-throttle 5 1m 5m\n");
	ck_assert_uint_eq(cfg.auth_throttle_failures, 5);
	ck_assert_uint_eq(cfg.auth_throttle_window_ms, 60000);
	ck_assert_uint_eq(cfg.auth_throttle_block_ms, 300000);
	ck_parse_ok("auth-throttle 1 500ms 1h\n");
	ck_assert_uint_eq(cfg.auth_throttle_failures, 1);
	ck_assert_uint_eq(cfg.auth_throttle_window_ms, 500);
	ck_assert_uint_eq(cfg.auth_throttle_block_ms, 3600000);
	ck_parse_ok("auth-throttle off\n");
	ck_assert_uint_eq(cfg.auth_throttle_failures, 0);
	ck_assert_uint_eq(cfg.auth_throttle_window_ms, 500);
	ck_parse_ok("auth-throttle 1000000 1s 1s\n");
	ck_assert_uint_eq(cfg.auth_throttle_failures, 1000000);

	ck_parse_err("auth-throttle 0 1m 5m\n",
		     "x.conf:1: auth-throttle: invalid number '0' (expected FAILURES WINDOW BLOCK "
		     "with FAILURES 1..1000000, e.g. 5 1m 5m, or off)");
	ck_parse_err("auth-throttle 1000001 1m 5m\n",
		     "x.conf:1: auth-throttle: invalid number '1000001' (expected FAILURES WINDOW "
		     "BLOCK with FAILURES 1..1000000, e.g. 5 1m 5m, or off)");
	ck_parse_err("auth-throttle on\n",
		     "x.conf:1: auth-throttle: invalid number 'on' (expected FAILURES WINDOW BLOCK "
		     "with FAILURES 1..1000000, e.g. 5 1m 5m, or off)");
	ck_parse_err("auth-throttle 5\n", "x.conf:1: auth-throttle: missing WINDOW and BLOCK "
					  "(expected FAILURES WINDOW BLOCK, e.g. 5 1m 5m, or off)");
	ck_parse_err("auth-throttle 5 1m\n", "x.conf:1: auth-throttle: missing BLOCK (expected "
					     "FAILURES WINDOW BLOCK, e.g. 5 1m 5m, or off)");
	ck_parse_err(
		"auth-throttle 5 1x 5m\n",
		"x.conf:1: auth-throttle: invalid duration '1x' (examples: 500ms, 10s, 5m, 1h)");
	ck_parse_err(
		"auth-throttle 5 1m 5y\n",
		"x.conf:1: auth-throttle: invalid duration '5y' (examples: 500ms, 10s, 5m, 1h)");
	ck_parse_err(
		"auth-throttle 5 0 5m\n",
		"x.conf:1: auth-throttle: the window must be greater than 0 (auth-throttle off "
		"turns throttling off)");
	ck_parse_err("auth-throttle 5 1m 0s\n",
		     "x.conf:1: auth-throttle: the block must be greater than 0 (auth-throttle off "
		     "turns throttling off)");
	ck_parse_err("auth-throttle off 1m\n",
		     "x.conf:1: auth-throttle: unexpected '1m' after 'off'");
	ck_parse_err("auth-throttle 5 1m 5m 1\n", "x.conf:1: auth-throttle: too many arguments");
	ck_parse_err("auth-throttle\n", "x.conf:1: auth-throttle: missing argument");
}
END_TEST

START_TEST(test_destination_guard)
{
	ck_parse_ok("destination-guard on\n");
	ck_assert(cfg.destination_guard);
	ck_parse_ok("destination-guard off\n");
	ck_assert(!cfg.destination_guard);
	ck_parse_ok("destination-guard yes\n");
	ck_assert(cfg.destination_guard);
	ck_parse_err("destination-guard maybe\n",
		     "x.conf:1: destination-guard: invalid value 'maybe' (expected on or off)");
	ck_parse_err("destination-guard\n", "x.conf:1: destination-guard: missing argument");
}
END_TEST

/* ---- service directives ---- */

START_TEST(test_admin)
{
	ck_parse_ok("admin 127.0.0.1:9090\n");
	ck_assert_str_eq(cfg.admin.text, "127.0.0.1:9090");
	ck_assert_int_eq(cfg.admin.ss.ss_family, AF_INET);
	ck_assert_uint_eq(cfg.admin.len, sizeof(struct sockaddr_in));
	ck_parse_ok("admin 9091\n");
	ck_assert_str_eq(cfg.admin.text, "127.0.0.1:9091");
	ck_parse_ok("admin [::1]:9092\n");
	ck_assert_str_eq(cfg.admin.text, "[::1]:9092");
	ck_assert_uint_eq(cfg.admin.len, sizeof(struct sockaddr_in6));
	ck_parse_ok("admin off\n");
	ck_assert_uint_eq(cfg.admin.len, 0);
	ck_parse_err("admin 127.0.0.1\n", "x.conf:1: admin: missing port in '127.0.0.1'");
	ck_parse_err("admin localhost:9090\n",
		     "x.conf:1: admin: 'localhost' is a host name; only IP addresses are accepted "
		     "here (127.0.0.1 or [::1])");
	ck_parse_err("admin on\n", "x.conf:1: admin: missing port in 'on'");
	ck_parse_err("admin\n", "x.conf:1: admin: missing argument");
	ck_parse_ok("admin 0.0.0.0:9093 public\n");
	ck_assert(cfg.admin_public);
	ck_parse_ok("admin 0.0.0.0:9093 public\nadmin 127.0.0.1:9094\n");
	ck_assert(!cfg.admin_public); /* the last line says it all */
	ck_parse_err("admin 0.0.0.0:9093 open\n",
		     "x.conf:1: admin: invalid value 'open' (expected public, or nothing)");
	ck_parse_err("admin off public\n", "x.conf:1: admin: admin off takes nothing after it");
}
END_TEST

START_TEST(test_admin_beyond_loopback)
{
	finish_case("admin 0.0.0.0:9095\n",
		    "x.conf:1: admin: 0.0.0.0:9095 is not a loopback address, and the admin "
		    "listener has no "
		    "authentication (write 'admin 0.0.0.0:9095 public' to serve it there anyway)");
	finish_case("admin [::]:9095\n",
		    "x.conf:1: admin: [::]:9095 is not a loopback address, and the admin listener "
		    "has no "
		    "authentication (write 'admin [::]:9095 public' to serve it there anyway)");
	finish_case("admin 0.0.0.0:9095 public\n", NULL);
	finish_case("admin 127.0.0.2:9095\n", NULL);
	finish_case("admin [::1]:9095\n", NULL);
}
END_TEST

START_TEST(test_admin_port_of_its_own)
{
	finish_case("listen 127.0.0.1:1080\nadmin 127.0.0.1:1080\n",
		    "x.conf:2: admin: 127.0.0.1:1080 is also a listen address (the one from "
		    "x.conf:1); the admin listener needs a port of its own");
	/* The default listen address counts. */
	finish_case("admin 1080\n", "x.conf:1: admin: 127.0.0.1:1080 is also a listen address; "
				    "the admin listener needs a port of its own");
	finish_case("listen *:1080\nusers /u\nadmin 127.0.0.1:1080\n",
		    "x.conf:3: admin: 127.0.0.1:1080 overlaps listen 0.0.0.0:1080 (the one from "
		    "x.conf:1); "
		    "the admin listener needs a port of its own");
	finish_case("listen 127.0.0.1:1080\nadmin *:1080\n",
		    "x.conf:2: admin: 0.0.0.0:1080 overlaps listen 127.0.0.1:1080 (the one from "
		    "x.conf:1); "
		    "the admin listener needs a port of its own");
	finish_case(
		"listen [::]:1080\nusers /u\nadmin [::1]:1080\n",
		"x.conf:3: admin: [::1]:1080 overlaps listen [::]:1080 (the one from x.conf:1); "
		"the admin listener needs a port of its own");
	finish_case("listen 127.0.0.1:1080\nadmin 127.0.0.1:1081\n", NULL);
	finish_case("listen 127.0.0.1:1080\nadmin 127.0.0.2:1080\n", NULL);
	/* Listeners are IPv6-only: [::]:P and 127.0.0.1:P do not collide. */
	finish_case("listen 127.0.0.1:1080\nadmin [::1]:1080\n", NULL);
	finish_case("listen [::]:1080\nusers /u\nadmin 127.0.0.1:1080\n", NULL);
	/* -l replacing the file's addresses is checked too. */
	struct config_addr l;
	reset();
	ck_parse_ok("listen 127.0.0.1:1080\nadmin 127.0.0.1:2000\n");
	ck_assert_int_eq(config_parse_listen("127.0.0.1:2000", &l, err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_listen(&cfg, &l, 1), 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "x.conf:2: admin: 127.0.0.1:2000 is also a listen address; the admin "
			      "listener needs a port of its own");
}
END_TEST

START_TEST(test_run_as)
{
	ck_parse_ok("user hopsocks\ngroup hopsocks\n");
	ck_assert_str_eq(cfg.run_user, "hopsocks");
	ck_assert_str_eq(cfg.run_group, "hopsocks");
	/* run-as is another name for user; the last one wins. */
	ck_parse_ok("run-as nobody\n");
	ck_assert_str_eq(cfg.run_user, "nobody");
	ck_parse_ok("user 65534\ngroup 65534\n");
	ck_assert_str_eq(cfg.run_user, "65534");
	ck_assert_str_eq(cfg.run_group, "65534");
	ck_parse_ok("user svc.proxy_1$\n");
	ck_assert_str_eq(cfg.run_user, "svc.proxy_1$");

	ck_parse_err("user \"a b\"\n", "x.conf:1: user: invalid name 'a b' (contains whitespace)");
	ck_parse_err("user a:b\n", "x.conf:1: user: invalid name 'a:b' (contains ':')");
	ck_parse_err("group a/b\n", "x.conf:1: group: invalid name 'a/b' (contains '/')");
	ck_parse_err("run-as -x\n", "x.conf:1: run-as: invalid name '-x' (starts with '-')");
	ck_parse_err("group \"\"\n", "x.conf:1: group: invalid name '' (empty name)");
	ck_parse_err("user\n", "x.conf:1: user: missing argument");
	ck_parse_err("user a b\n", "x.conf:1: user: too many arguments");

	/* What the command line may set is checked again. */
	reset();
	ck_assert_int_eq(config_set_string(&cfg.run_user, ""), 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "user: empty name");
	ck_assert_int_eq(config_set_string(&cfg.run_user, NULL), 0);
	ck_assert_int_eq(config_set_string(&cfg.run_group, ""), 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "group: empty name");
}
END_TEST

START_TEST(test_drain_and_reload)
{
	ck_parse_ok("drain 30s\n");
	ck_assert_uint_eq(cfg.drain_ms, 30000);
	ck_parse_ok("drain 0\n");
	ck_assert_uint_eq(cfg.drain_ms, 0);
	ck_parse_ok("drain 1h\n");
	ck_assert_uint_eq(cfg.drain_ms, 3600000);
	ck_parse_err("drain forever\n",
		     "x.conf:1: drain: invalid duration 'forever' (examples: 500ms, 10s, 5m, 1h)");
	ck_parse_ok("reload-keep-sessions on\n");
	ck_assert(cfg.reload_keep_sessions);
	ck_parse_ok("reload-keep-sessions off\n");
	ck_assert(!cfg.reload_keep_sessions);
	ck_parse_err("reload-keep-sessions 1\n",
		     "x.conf:1: reload-keep-sessions: invalid value '1' (expected on or off)");
}
END_TEST

/* ---- the open-relay check ---- */

START_TEST(test_listens_beyond_loopback)
{
	static const struct {
		const char *addr;
		bool beyond;
	} cases[] = {
		{ "127.0.0.1:1080", false },
		{ "127.0.0.2:1080", false },
		{ "127.255.255.254:1", false },
		{ "[::1]:1080", false },
		{ "[::ffff:127.0.0.1]:1", false },
		{ "1080", false },
		{ "*:1080", true },
		{ "0.0.0.0:1080", true },
		{ "[::]:1080", true },
		{ "192.0.2.1:1080", true },
		{ "10.0.0.1:1080", true },
		{ "[2001:db8::1]:1080", true },
		{ "[fe80::1]:1080", true },
		{ "128.0.0.1:1080", true },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config_addr a;

		reset();
		ck_assert_int_eq(config_parse_listen(cases[i].addr, &a, err, sizeof(err)), 0);
		ck_assert_int_eq(config_set_listen(&cfg, &a, 1), 0);
		ck_assert_msg(config_listens_beyond_loopback(&cfg) == cases[i].beyond, "%s",
			      cases[i].addr);
	}
	reset();
	ck_assert(!config_listens_beyond_loopback(&cfg));
	ck_parse_ok("listen 127.0.0.1:1\nlisten [::1]:1\nlisten 192.0.2.1:1\n");
	ck_assert(config_listens_beyond_loopback(&cfg));
}
END_TEST

#define OPEN_V4(addr)                                                                         \
	"listen " addr " accepts clients beyond loopback without authentication or an allow " \
	"rule: add 'users FILE', or 'allow from NETWORK', or listen on 127.0.0.1"
#define OPEN_V6(addr)                                                                         \
	"listen " addr " accepts clients beyond loopback without authentication or an allow " \
	"rule: add 'users FILE', or 'allow from NETWORK', or listen on [::1]"

START_TEST(test_open_relay)
{
	finish_case("listen *:1080\n", "x.conf:1: " OPEN_V4("0.0.0.0:1080"));
	finish_case("listen 192.0.2.1:1080\n", "x.conf:1: " OPEN_V4("192.0.2.1:1080"));
	finish_case("listen [::]:1080\n", "x.conf:1: " OPEN_V6("[::]:1080"));
	finish_case("listen 127.0.0.1:1080\nlisten [2001:db8::1]:1080\nlisten 10.0.0.1:1080\n",
		    "x.conf:2: " OPEN_V6("[2001:db8::1]:1080"));
	/* Loopback only: fine, with or without rules. */
	finish_case("", NULL);
	finish_case("listen 127.0.0.1:1080\nlisten [::1]:1080\nlisten 127.0.0.2:1081\n", NULL);
	finish_case("listen [::ffff:127.0.0.1]:1080\n", NULL);
	finish_case("listen 127.0.0.1:1080\ndeny *\n", NULL);
	/* A user file, or an allow rule admitting clients beyond loopback. */
	finish_case("listen *:1080\nusers /etc/hopsocks/users\n", NULL);
	finish_case("listen *:1080\nallow from 10.0.0.0/8\n", NULL);
	finish_case("listen *:1080\nallow from 0.0.0.0/0 command connect\n", NULL);
	finish_case("listen *:1080\nallow from 126.0.0.0/7\n", NULL);
	finish_case("listen [::]:1080\nallow from 2001:db8::/32 to .example port 443\n", NULL);
	finish_case("listen *:1080\nallow *\n", NULL);
	finish_case("listen *:1080\ndeny from 10.0.0.1\nallow from * to 192.0.2.0/24\n", NULL);
	/* Rules that admit only loopback, or only deny, do not count. */
	finish_case("listen *:1080\nallow from 127.0.0.0/8\n",
		    "x.conf:1: " OPEN_V4("0.0.0.0:1080"));
	finish_case("listen *:1080\nallow from 127.1.0.0/16\n",
		    "x.conf:1: " OPEN_V4("0.0.0.0:1080"));
	finish_case("listen *:1080\nallow from ::1\n", "x.conf:1: " OPEN_V4("0.0.0.0:1080"));
	finish_case("listen *:1080\nallow from ::ffff:127.0.0.1\n",
		    "x.conf:1: " OPEN_V4("0.0.0.0:1080"));
	finish_case("listen *:1080\ndeny *\n", "x.conf:1: " OPEN_V4("0.0.0.0:1080"));
	finish_case("listen *:1080\ndeny from 10.0.0.0/8\n", "x.conf:1: " OPEN_V4("0.0.0.0:1080"));

	/* The command line's -l and -U are what count. */
	struct config_addr any;
	reset();
	ck_parse_ok("listen 127.0.0.1:1080\n");
	ck_assert_int_eq(config_parse_listen("*:1081", &any, err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_listen(&cfg, &any, 1), 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, OPEN_V4("0.0.0.0:1081"));
	ck_assert_int_eq(config_set_string(&cfg.users_file, "/u"), 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
}
END_TEST

void test_config_acl_add(Suite *s)
{
	TCase *tc = tcase_create("acl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_acl_defaults);
	tcase_add_test(tc, test_rule_fields);
	tcase_add_test(tc, test_rule_why);
	tcase_add_test(tc, test_rule_words);
	tcase_add_loop_test(tc, test_rule_invalid, 0, (int)ARRAY_LEN(rule_bad));
	tcase_add_test(tc, test_rule_long_user);
	tcase_add_test(tc, test_rule_user_names_agree);
	tcase_add_test(tc, test_rule_user_needs_user_file);
	tcase_add_test(tc, test_proxy_protocol);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_auth_throttle);
	tcase_add_test(tc, test_destination_guard);
	suite_add_tcase(s, tc);

	tc = tcase_create("service");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_admin);
	tcase_add_test(tc, test_admin_beyond_loopback);
	tcase_add_test(tc, test_admin_port_of_its_own);
	tcase_add_test(tc, test_run_as);
	tcase_add_test(tc, test_drain_and_reload);
	tcase_add_test(tc, test_listens_beyond_loopback);
	tcase_add_test(tc, test_open_relay);
	suite_add_tcase(s, tc);
}
