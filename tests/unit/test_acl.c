/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for access control (src/acl.c) and failed-login throttling
 * (src/throttle.c): every rule term, first-match order, IPv6 and
 * IPv4-mapped clients, user kinds, command masks, destination forms and
 * ports, the defaults with and without rules and a user file, the
 * destination guard's ranges at their boundaries, and the throttle's
 * windows, blocks and eviction. Rules are written in the config language
 * and parsed, as hopsocks reads them. */
#include "config/config_load.h"
#include "policy/acl.h"
#include "policy/connlimit.h"
#include "policy/throttle.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct config cfg;
static char err[CONFIG_ERR_MAX];

static void setup(void)
{
	config_init(&cfg);
}

static void teardown(void)
{
	config_free(&cfg);
}

static void rules(const char *text)
{
	ck_assert_msg(config_parse_text(&cfg, "x.conf", text, strlen(text), err, sizeof(err)) == 0,
		      "parse of [%s] failed: %s", text, err);
}

/* A client or destination address from text, port 1234. */
static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') == NULL) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(1234);
		ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(1234);
		ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	}
	return ss;
}

static struct target tgt(const char *text, uint16_t port)
{
	struct target t;

	memset(&t, 0, sizeof(t));
	t.port = port;
	if (inet_pton(AF_INET, text, t.addr.ipv4) == 1)
		t.type = TARGET_IPV4;
	else if (inet_pton(AF_INET6, text, t.addr.ipv6) == 1)
		t.type = TARGET_IPV6;
	else
		ck_assert_int_eq(target_set_domain(&t, text, strlen(text), port), 0);
	return t;
}

/* A name target even when the text is an address. */
static struct target name_tgt(const char *text, uint16_t port)
{
	struct target t;

	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(target_set_domain(&t, text, strlen(text), port), 0);
	return t;
}

/* The full verdict for client (NULL = unknown), user, command and a
 * destination (NULL = none yet). */
static struct acl_verdict check_full(const char *client, const char *user, unsigned command,
				     const struct target *dst)
{
	struct sockaddr_storage ss;
	struct acl_request r = { .client = NULL, .user = user, .command = command, .dst = dst };

	if (client != NULL) {
		ss = addr(client);
		r.client = &ss;
	}
	return acl_check(&cfg, &r);
}

/* "allow" or "deny" followed by why: "allow rule x.conf:2". */
static const char *check(const char *client, const char *user, unsigned command, const char *dst,
			 uint16_t port)
{
	static char out[CONFIG_ACL_WHY_MAX + 16];
	struct target t = tgt(dst, port);
	struct acl_verdict v = check_full(client, user, command, &t);

	ck_assert_ptr_nonnull(v.why);
	if (v.rule != NULL)
		ck_assert_str_eq(v.why, v.rule->why);
	snprintf(out, sizeof(out), "%s %s", v.allow ? "allow" : "deny", v.why);
	return out;
}

#define CONNECT ACL_CMD_CONNECT
#define BIND	ACL_CMD_BIND
#define UDP	ACL_CMD_UDP

#define ck_acl(client, user, cmd, dst, port, expected) \
	ck_assert_str_eq(check((client), (user), (cmd), (dst), (port)), (expected))

/* ---- defaults ---- */

START_TEST(test_default_loopback_only)
{
	ck_acl("127.0.0.1", NULL, CONNECT, "example.com", 80, "allow default: loopback client");
	ck_acl("127.255.0.9", NULL, UDP, "10.0.0.1", 53, "allow default: loopback client");
	ck_acl("::1", NULL, BIND, "::1", 80, "allow default: loopback client");
	ck_acl("::ffff:127.0.0.1", NULL, CONNECT, "a.example", 1, "allow default: loopback client");
	ck_acl("10.0.0.1", NULL, CONNECT, "example.com", 80, "deny default: loopback only");
	ck_acl("128.0.0.1", NULL, CONNECT, "example.com", 80, "deny default: loopback only");
	ck_acl("::2", NULL, CONNECT, "example.com", 80, "deny default: loopback only");
	ck_acl("2001:db8::1", NULL, CONNECT, "example.com", 80, "deny default: loopback only");
	ck_acl("::ffff:10.0.0.1", NULL, CONNECT, "example.com", 80, "deny default: loopback only");
	/* Without a user file a user name proves nothing (a SOCKS4 USERID). */
	ck_acl("10.0.0.1", "alice", CONNECT, "example.com", 80, "deny default: loopback only");

	struct target t = tgt("example.com", 80);
	struct acl_verdict v = check_full(NULL, NULL, CONNECT, &t);
	ck_assert(!v.allow);
	ck_assert_ptr_null(v.rule);
	ck_assert_str_eq(v.why, "default: loopback only");
}
END_TEST

/* With a user file and no rules, logging in is the admission. */
START_TEST(test_default_authenticated)
{
	rules("users /etc/hopsocks/users\n");
	ck_acl("10.0.0.1", "alice", CONNECT, "example.com", 80, "allow default: authenticated");
	ck_acl("2001:db8::1", "bob", UDP, "2001:db8::2", 53, "allow default: authenticated");
	ck_acl("10.0.0.1", NULL, CONNECT, "example.com", 80, "deny default: loopback only");
	ck_acl("10.0.0.1", "", CONNECT, "example.com", 80, "deny default: loopback only");
	ck_acl("127.0.0.1", NULL, CONNECT, "example.com", 80, "allow default: loopback client");
}
END_TEST

/* Once there is a rule, the defaults are gone: no match is a deny, even
 * for loopback clients and logged-in users. */
START_TEST(test_default_deny_with_rules)
{
	rules("users /u\nallow from 192.0.2.0/24\n");
	ck_acl("192.0.2.1", NULL, CONNECT, "example.com", 80, "allow rule x.conf:2");
	ck_acl("127.0.0.1", NULL, CONNECT, "example.com", 80, "deny default deny");
	ck_acl("10.0.0.1", "alice", CONNECT, "example.com", 80, "deny default deny");

	struct target t = tgt("example.com", 80);
	struct acl_verdict v = check_full("10.0.0.1", NULL, CONNECT, &t);
	ck_assert(!v.allow);
	ck_assert_ptr_null(v.rule);
}
END_TEST

START_TEST(test_star_rules)
{
	rules("allow *\n");
	ck_acl("10.0.0.1", NULL, CONNECT, "example.com", 80, "allow rule x.conf:1");
	ck_acl("2001:db8::1", NULL, BIND, "::", 0, "allow rule x.conf:1");
	config_free(&cfg);
	config_init(&cfg);
	rules("deny *\n");
	ck_acl("127.0.0.1", NULL, CONNECT, "example.com", 80, "deny rule x.conf:1");
	ck_acl("::1", "alice", UDP, "::1", 53, "deny rule x.conf:1");

	struct target t = tgt("example.com", 80);
	struct acl_verdict v = check_full("::1", NULL, CONNECT, &t);
	ck_assert_ptr_eq(v.rule, &cfg.acl[0]);
	ck_assert_uint_eq(v.rule->line, 1);
}
END_TEST

/* ---- from ---- */

START_TEST(test_from_v4)
{
	rules("allow from 192.168.0.0/16\n"
	      "allow from 198.51.100.7\n"
	      "deny from 10.0.0.0/8\n"
	      "allow from 0.0.0.0/0 command bind\n");
	ck_acl("192.168.0.0", NULL, CONNECT, "h.example", 80, "allow rule x.conf:1");
	ck_acl("192.168.255.255", NULL, CONNECT, "h.example", 80, "allow rule x.conf:1");
	ck_acl("192.167.255.255", NULL, CONNECT, "h.example", 80, "deny default deny");
	ck_acl("192.169.0.0", NULL, CONNECT, "h.example", 80, "deny default deny");
	ck_acl("198.51.100.7", NULL, CONNECT, "h.example", 80, "allow rule x.conf:2");
	ck_acl("198.51.100.6", NULL, CONNECT, "h.example", 80, "deny default deny");
	ck_acl("198.51.100.8", NULL, CONNECT, "h.example", 80, "deny default deny");
	ck_acl("10.200.0.1", NULL, BIND, "h.example", 80, "deny rule x.conf:3");
	/* 0.0.0.0/0: every IPv4 client, but no IPv6 one. */
	ck_acl("11.0.0.1", NULL, BIND, "h.example", 80, "allow rule x.conf:4");
	ck_acl("2001:db8::1", NULL, BIND, "h.example", 80, "deny default deny");
	/* A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d. */
	ck_acl("::ffff:192.168.1.1", NULL, CONNECT, "h.example", 80, "allow rule x.conf:1");
	ck_acl("::ffff:10.0.0.1", NULL, CONNECT, "h.example", 80, "deny rule x.conf:3");
}
END_TEST

/* proxy-protocol's list of balancers: networks of either family, a
 * dual-stack socket's mapped IPv4 peers, nothing else. */
START_TEST(test_proxy_trusted)
{
	struct sockaddr_storage a;

	a = addr("10.0.0.5");
	ck_assert(!acl_proxy_trusted(&cfg, &a)); /* no list: nobody */
	rules("proxy-protocol v2 from 10.0.0.5 192.168.8.0/22 2001:db8:1::/48\n");
	a = addr("10.0.0.5");
	ck_assert(acl_proxy_trusted(&cfg, &a));
	a = addr("10.0.0.6");
	ck_assert(!acl_proxy_trusted(&cfg, &a));
	a = addr("192.168.11.255");
	ck_assert(acl_proxy_trusted(&cfg, &a));
	a = addr("192.168.12.0");
	ck_assert(!acl_proxy_trusted(&cfg, &a));
	a = addr("::ffff:10.0.0.5");
	ck_assert(acl_proxy_trusted(&cfg, &a));
	a = addr("2001:db8:1:ffff::1");
	ck_assert(acl_proxy_trusted(&cfg, &a));
	a = addr("2001:db8:2::1");
	ck_assert(!acl_proxy_trusted(&cfg, &a));
	a = addr("::1");
	ck_assert(!acl_proxy_trusted(&cfg, &a));
}
END_TEST

START_TEST(test_from_v6)
{
	rules("allow from 2001:db8::/32\n"
	      "allow from ::1\n"
	      "allow from ::ffff:172.16.0.0/108\n"
	      "deny from ::/0\n");
	ck_acl("2001:db8::", NULL, CONNECT, "h.example", 80, "allow rule x.conf:1");
	ck_acl("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", NULL, CONNECT, "h.example", 80,
	       "allow rule x.conf:1");
	ck_acl("2001:db9::", NULL, CONNECT, "h.example", 80, "deny rule x.conf:4");
	ck_acl("2001:db7:ffff::1", NULL, CONNECT, "h.example", 80, "deny rule x.conf:4");
	ck_acl("::1", NULL, CONNECT, "h.example", 80, "allow rule x.conf:2");
	/* ::/0 is every IPv6 client, not the IPv4 ones. */
	ck_acl("10.0.0.1", NULL, CONNECT, "h.example", 80, "deny default deny");
	/* ::ffff:172.16.0.0/108 is 172.16.0.0/12, for IPv4 and mapped clients. */
	ck_acl("172.31.255.255", NULL, CONNECT, "h.example", 80, "allow rule x.conf:3");
	ck_acl("::ffff:172.16.0.1", NULL, CONNECT, "h.example", 80, "allow rule x.conf:3");
	ck_acl("172.32.0.0", NULL, CONNECT, "h.example", 80, "deny default deny");
	/* An unknown client matches only rules without "from". */
	struct target t = tgt("h.example", 80);
	ck_assert_str_eq(check_full(NULL, NULL, CONNECT, &t).why, "default deny");
}
END_TEST

/* ---- user ---- */

START_TEST(test_user_kinds)
{
	rules("users /u\n"
	      "deny user mallory\n"
	      "allow user alice command connect\n"
	      "allow user * to .example\n"
	      "allow from 10.0.0.0/8 to 192.0.2.1\n");
	ck_acl("10.0.0.1", "mallory", CONNECT, "h.example", 80, "deny rule x.conf:2");
	ck_acl("10.0.0.1", "alice", CONNECT, "h.org", 80, "allow rule x.conf:3");
	/* Names are compared exactly. */
	ck_acl("10.0.0.1", "Alice", CONNECT, "h.org", 80, "deny default deny");
	ck_acl("10.0.0.1", "alice2", CONNECT, "h.org", 80, "deny default deny");
	ck_acl("10.0.0.1", "alic", CONNECT, "h.org", 80, "deny default deny");
	/* user *: anyone logged in, nobody who is not. */
	ck_acl("10.0.0.1", "bob", CONNECT, "h.example", 80, "allow rule x.conf:4");
	ck_acl("8.8.8.8", NULL, CONNECT, "h.example", 80, "deny default deny");
	ck_acl("8.8.8.8", "", CONNECT, "h.example", 80, "deny default deny");
	/* No user term: logged in or not. */
	ck_acl("10.0.0.1", NULL, CONNECT, "192.0.2.1", 80, "allow rule x.conf:5");
	ck_acl("10.0.0.1", "carol", CONNECT, "192.0.2.1", 80, "allow rule x.conf:5");
	/* A named rule needs that user logged in. */
	ck_acl("10.0.0.1", NULL, CONNECT, "h.org", 80, "deny default deny");
}
END_TEST

/* ---- command ---- */

START_TEST(test_commands)
{
	rules("allow command connect\n"
	      "deny command bind,udp from 10.0.0.0/8\n"
	      "allow command udp,bind\n");
	ck_acl("10.0.0.1", NULL, CONNECT, "h.example", 80, "allow rule x.conf:1");
	ck_acl("10.0.0.1", NULL, BIND, "h.example", 80, "deny rule x.conf:2");
	ck_acl("10.0.0.1", NULL, UDP, "h.example", 80, "deny rule x.conf:2");
	ck_acl("11.0.0.1", NULL, BIND, "h.example", 80, "allow rule x.conf:3");
	ck_acl("11.0.0.1", NULL, UDP, "h.example", 80, "allow rule x.conf:3");
	ck_assert_uint_eq(cfg.acl[0].commands, ACL_CMD_CONNECT);
	ck_assert_uint_eq(cfg.acl[1].commands, ACL_CMD_BIND | ACL_CMD_UDP);
	ck_assert_uint_eq(cfg.acl[2].commands, ACL_CMD_BIND | ACL_CMD_UDP);

	config_free(&cfg);
	config_init(&cfg);
	rules("allow command connect,bind,udp from 10.0.0.0/8\n");
	ck_assert_uint_eq(cfg.acl[0].commands, ACL_CMD_ALL);
	ck_acl("10.0.0.1", NULL, BIND, "h.example", 80, "allow rule x.conf:1");
	/* A request with no command bit matches only rules without one. */
	ck_acl("10.0.0.1", NULL, 0, "h.example", 80, "deny default deny");
}
END_TEST

/* ---- to and port ---- */

START_TEST(test_destinations)
{
	rules("deny to .internal.example\n"
	      "deny to admin.example\n"
	      "deny to 10.0.0.0/8\n"
	      "deny to 2001:db8::/32\n"
	      "allow to * port 443\n"
	      "allow to .example port 80-81\n"
	      "allow port 8000-8999\n");
	/* suffix: the domain and names under it, any case, final dot ignored */
	ck_acl("192.0.2.1", NULL, CONNECT, "internal.example", 443, "deny rule x.conf:1");
	ck_acl("192.0.2.1", NULL, CONNECT, "DB.Internal.Example.", 443, "deny rule x.conf:1");
	ck_acl("192.0.2.1", NULL, CONNECT, "myinternal.example", 443, "allow rule x.conf:5");
	/* exact: that name only */
	ck_acl("192.0.2.1", NULL, CONNECT, "admin.example", 443, "deny rule x.conf:2");
	ck_acl("192.0.2.1", NULL, CONNECT, "www.admin.example", 80, "allow rule x.conf:6");
	/* CIDR: addresses only, never names (no lookup) */
	ck_acl("192.0.2.1", NULL, CONNECT, "10.1.2.3", 443, "deny rule x.conf:3");
	ck_acl("192.0.2.1", NULL, CONNECT, "11.1.2.3", 443, "allow rule x.conf:5");
	ck_acl("192.0.2.1", NULL, CONNECT, "::ffff:10.1.2.3", 443, "deny rule x.conf:3");
	ck_acl("192.0.2.1", NULL, CONNECT, "2001:db8::5", 443, "deny rule x.conf:4");
	ck_acl("192.0.2.1", NULL, CONNECT, "ten.example", 443, "allow rule x.conf:5");
	/* A name that is an address literal counts as the address. */
	struct target lit = name_tgt("10.9.9.9", 443);
	ck_assert_str_eq(check_full("192.0.2.1", NULL, CONNECT, &lit).why, "rule x.conf:3");
	lit = name_tgt("2001:db8::1", 443);
	ck_assert_str_eq(check_full("192.0.2.1", NULL, CONNECT, &lit).why, "rule x.conf:4");
	/* ports and their boundaries */
	ck_acl("192.0.2.1", NULL, CONNECT, "a.example", 80, "allow rule x.conf:6");
	ck_acl("192.0.2.1", NULL, CONNECT, "a.example", 81, "allow rule x.conf:6");
	ck_acl("192.0.2.1", NULL, CONNECT, "a.example", 79, "deny default deny");
	ck_acl("192.0.2.1", NULL, CONNECT, "a.example", 82, "deny default deny");
	ck_acl("192.0.2.1", NULL, CONNECT, "a.org", 80, "deny default deny");
	ck_acl("192.0.2.1", NULL, CONNECT, "a.org", 8000, "allow rule x.conf:7");
	ck_acl("192.0.2.1", NULL, CONNECT, "11.0.0.1", 8999, "allow rule x.conf:7");
	ck_acl("192.0.2.1", NULL, CONNECT, "11.0.0.1", 9000, "deny default deny");
	ck_acl("192.0.2.1", NULL, CONNECT, "11.0.0.1", 442, "deny default deny");
}
END_TEST

/* Every term of a rule must match; the order written does not matter. */
START_TEST(test_all_terms)
{
	rules("users /u\n"
	      "allow port 443 to .example command connect user alice from 192.0.2.0/24\n");
	ck_acl("192.0.2.9", "alice", CONNECT, "www.example", 443, "allow rule x.conf:2");
	ck_acl("192.0.3.9", "alice", CONNECT, "www.example", 443, "deny default deny");
	ck_acl("192.0.2.9", "bob", CONNECT, "www.example", 443, "deny default deny");
	ck_acl("192.0.2.9", "alice", UDP, "www.example", 443, "deny default deny");
	ck_acl("192.0.2.9", "alice", CONNECT, "www.example.org", 443, "deny default deny");
	ck_acl("192.0.2.9", "alice", CONNECT, "www.example", 444, "deny default deny");
}
END_TEST

START_TEST(test_first_match_wins)
{
	rules("deny from 10.1.0.0/16\n"
	      "allow from 10.0.0.0/8\n"
	      "deny from 10.2.0.0/16\n"
	      "allow to .example\n"
	      "deny to www.example\n");
	ck_acl("10.1.2.3", NULL, CONNECT, "h.example", 80, "deny rule x.conf:1");
	ck_acl("10.2.2.3", NULL, CONNECT, "h.org", 80, "allow rule x.conf:2");
	ck_acl("11.2.2.3", NULL, CONNECT, "www.example", 80, "allow rule x.conf:4");

	struct target t = tgt("www.example", 80);
	struct acl_verdict v = check_full("11.2.2.3", NULL, CONNECT, &t);
	ck_assert_ptr_eq(v.rule, &cfg.acl[3]);
	ck_assert(acl_rule_matches(&cfg.acl[4],
				   &(struct acl_request){ .command = CONNECT, .dst = &t }));
}
END_TEST

/* No destination yet (UDP ASSOCIATE): allow rules with a destination term
 * may still apply, deny rules with one are skipped. */
START_TEST(test_no_destination)
{
	rules("deny command udp to 10.0.0.0/8\n"
	      "allow command udp to 192.0.2.53 port 53 from 10.0.0.0/8\n"
	      "deny command udp\n");
	struct acl_verdict v = check_full("10.0.0.1", NULL, UDP, NULL);
	ck_assert(v.allow);
	ck_assert_str_eq(v.why, "rule x.conf:2");
	v = check_full("11.0.0.1", NULL, UDP, NULL);
	ck_assert(!v.allow);
	ck_assert_str_eq(v.why, "rule x.conf:3");
	/* Then each datagram is checked with its destination. */
	ck_acl("10.0.0.1", NULL, UDP, "10.0.0.53", 53, "deny rule x.conf:1");
	ck_acl("10.0.0.1", NULL, UDP, "192.0.2.53", 53, "allow rule x.conf:2");
	ck_acl("10.0.0.1", NULL, UDP, "192.0.2.53", 54, "deny rule x.conf:3");

	/* Without rules, no destination changes nothing. */
	config_free(&cfg);
	config_init(&cfg);
	ck_assert(check_full("127.0.0.1", NULL, UDP, NULL).allow);
	ck_assert(!check_full("10.0.0.1", NULL, UDP, NULL).allow);
}
END_TEST

/* ---- the destination guard ---- */

static bool covers(const char *text)
{
	struct sockaddr_storage ss = addr(text);

	return acl_guard_covers((const struct sockaddr *)&ss);
}

static const struct {
	const char *ip;
	bool guarded;
} guard_cases[] = {
	/* 0.0.0.0/8 */
	{ "0.0.0.0", true },
	{ "0.255.255.255", true },
	{ "1.0.0.0", false },
	/* 10/8 */
	{ "9.255.255.255", false },
	{ "10.0.0.0", true },
	{ "10.255.255.255", true },
	{ "11.0.0.0", false },
	/* 127/8 */
	{ "126.255.255.255", false },
	{ "127.0.0.1", true },
	{ "127.255.255.255", true },
	{ "128.0.0.0", false },
	/* 169.254/16 */
	{ "169.253.255.255", false },
	{ "169.254.0.0", true },
	{ "169.254.169.254", true },
	{ "169.255.0.0", false },
	/* 172.16/12 */
	{ "172.15.255.255", false },
	{ "172.16.0.0", true },
	{ "172.31.255.255", true },
	{ "172.32.0.0", false },
	/* 192.168/16 */
	{ "192.167.255.255", false },
	{ "192.168.0.0", true },
	{ "192.168.255.255", true },
	{ "192.169.0.0", false },
	{ "8.8.8.8", false },
	{ "255.255.255.255", false },
	/* IPv6 */
	{ "::", true },
	{ "::1", true },
	{ "::2", false },
	{ "fbff:ffff::1", false },
	{ "fc00::", true },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "fe00::1", false },
	{ "fe7f:ffff::1", false },
	{ "fe80::", true },
	{ "febf:ffff::1", true },
	{ "fec0::1", true },
	{ "ff02::1", false },
	{ "2001:db8::1", false },
	{ "2606:4700::1111", false },
	/* IPv4-mapped: judged as IPv4 */
	{ "::ffff:10.0.0.1", true },
	{ "::ffff:127.0.0.1", true },
	{ "::ffff:169.254.169.254", true },
	{ "::ffff:0.0.0.0", true },
	{ "::ffff:8.8.8.8", false },
	{ "::ffff:172.32.0.0", false },
	/* NAT64 well-known prefix: the gateway would reach the IPv4 address */
	{ "64:ff9b::10.0.0.1", true },
	{ "64:ff9b::192.168.1.1", true },
	{ "64:ff9b::8.8.8.8", false },
};

START_TEST(test_guard_ranges)
{
	ck_assert_msg(covers(guard_cases[_i].ip) == guard_cases[_i].guarded, "%s: expected %s",
		      guard_cases[_i].ip, guard_cases[_i].guarded ? "guarded" : "not guarded");
}
END_TEST

START_TEST(test_guard_blocks)
{
	struct sockaddr_storage remote = addr("192.0.2.1"), local = addr("127.0.0.1");
	struct sockaddr_storage local6 = addr("::1"), mapped = addr("::ffff:127.0.0.2");
	struct sockaddr_storage dst = addr("10.0.0.1"), pub = addr("8.8.8.8");
	struct sockaddr_storage unix_sa;
	const struct sockaddr *d = (const struct sockaddr *)&dst;

	/* Off by default. */
	ck_assert(!cfg.destination_guard);
	ck_assert(!acl_guard_blocks(&cfg, &remote, d));
	cfg.destination_guard = true;
	ck_assert(acl_guard_blocks(&cfg, &remote, d));
	ck_assert(!acl_guard_blocks(&cfg, &remote, (const struct sockaddr *)&pub));
	/* Clients on loopback are trusted with loopback and private targets. */
	ck_assert(!acl_guard_blocks(&cfg, &local, d));
	ck_assert(!acl_guard_blocks(&cfg, &local6, d));
	ck_assert(!acl_guard_blocks(&cfg, &mapped, d));
	/* An unknown client is not on loopback. */
	ck_assert(acl_guard_blocks(&cfg, NULL, d));
	/* Not an IP address: refused rather than guessed at. */
	memset(&unix_sa, 0, sizeof(unix_sa));
	unix_sa.ss_family = AF_UNIX;
	ck_assert(acl_guard_covers((const struct sockaddr *)&unix_sa));
	ck_assert(acl_guard_covers(NULL));
}
END_TEST

START_TEST(test_guard_in_check)
{
	rules("destination-guard on\nallow *\n");
	/* The guard wins over an allow rule. */
	ck_acl("192.0.2.1", NULL, CONNECT, "10.0.0.1", 80, "deny destination guard");
	ck_acl("192.0.2.1", NULL, CONNECT, "::1", 80, "deny destination guard");
	ck_acl("192.0.2.1", NULL, CONNECT, "::ffff:192.168.0.1", 80, "deny destination guard");
	ck_acl("192.0.2.1", NULL, UDP, "169.254.169.254", 80, "deny destination guard");
	ck_acl("192.0.2.1", NULL, CONNECT, "8.8.8.8", 80, "allow rule x.conf:2");
	/* Literal names are addresses; real names wait for their addresses
	 * (acl_guard_blocks, per resolved address). */
	struct target lit = name_tgt("127.0.0.1", 80);
	ck_assert_str_eq(check_full("192.0.2.1", NULL, CONNECT, &lit).why, "destination guard");
	lit = name_tgt("::ffff:10.0.0.1", 80);
	ck_assert_str_eq(check_full("192.0.2.1", NULL, CONNECT, &lit).why, "destination guard");
	ck_acl("192.0.2.1", NULL, CONNECT, "localhost", 80, "allow rule x.conf:2");
	/* Loopback clients are exempt; BIND opens no outgoing connection. */
	ck_acl("127.0.0.1", NULL, CONNECT, "10.0.0.1", 80, "allow rule x.conf:2");
	ck_acl("::1", NULL, CONNECT, "fe80::1", 80, "allow rule x.conf:2");
	ck_acl("192.0.2.1", NULL, BIND, "0.0.0.0", 0, "allow rule x.conf:2");
	/* No destination: nothing to guard. */
	ck_assert(check_full("192.0.2.1", NULL, UDP, NULL).allow);

	struct target t = tgt("10.0.0.1", 80);
	struct acl_verdict v = check_full("192.0.2.1", NULL, CONNECT, &t);
	ck_assert_ptr_null(v.rule);

	/* The guard applies with the defaults too. */
	config_free(&cfg);
	config_init(&cfg);
	rules("users /u\ndestination-guard on\n");
	ck_acl("192.0.2.1", "alice", CONNECT, "192.168.1.1", 80, "deny destination guard");
	ck_acl("192.0.2.1", "alice", CONNECT, "192.0.2.2", 80, "allow default: authenticated");
}
END_TEST

START_TEST(test_addr_is_loopback)
{
	static const struct {
		const char *ip;
		bool loopback;
	} cases[] = {
		{ "127.0.0.1", true },
		{ "127.0.0.0", true },
		{ "127.255.255.255", true },
		{ "126.255.255.255", false },
		{ "128.0.0.0", false },
		{ "0.0.0.0", false },
		{ "::1", true },
		{ "::", false },
		{ "::2", false },
		{ "::ffff:127.0.0.1", true },
		{ "::ffff:128.0.0.1", false },
		{ "::127.0.0.1", false },
		{ "fe80::1", false },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct sockaddr_storage ss = addr(cases[i].ip);

		ck_assert_msg(acl_addr_is_loopback((const struct sockaddr *)&ss) ==
				      cases[i].loopback,
			      "%s", cases[i].ip);
	}
	ck_assert(!acl_addr_is_loopback(NULL));
}
END_TEST

/* ---- formatting ---- */

static const struct {
	const char *in, *out;
} format_cases[] = {
	{ "allow *", "allow *" },
	{ "deny *", "deny *" },
	{ "allow from *", "allow *" },
	{ "allow from 192.168.0.0/16", "allow from 192.168.0.0/16" },
	{ "allow from 192.0.2.7", "allow from 192.0.2.7" },
	{ "allow from ::ffff:10.0.0.0/104", "allow from 10.0.0.0/8" },
	{ "deny from 2001:DB8::/32", "deny from 2001:db8::/32" },
	{ "allow user *", "allow user *" },
	{ "allow user alice", "allow user alice" },
	{ "allow command udp,connect", "allow command connect,udp" },
	{ "deny to 10.0.0.0/8", "deny to 10.0.0.0/8" },
	{ "deny to .Example", "deny to .example" },
	{ "deny to host.example port 22", "deny to host.example port 22" },
	{ "allow port 80-443", "allow port 80-443" },
	/* Ports start at 1: DST.PORT 0 (BIND, UDP) is outside 1-65535. */
	{ "allow port 1-65535", "allow port 1-65535" },
	{ "allow to * port 53", "allow port 53" },
	{ "allow port 443 to .example command bind,udp,connect user * from ::1",
	  "allow from ::1 user * command connect,bind,udp to .example port 443" },
};

START_TEST(test_format)
{
	char line[256], out[512];

	snprintf(line, sizeof(line), "users /u\n%s\n", format_cases[_i].in);
	rules(line);
	ck_assert_uint_eq(cfg.nacl, 1);
	ck_assert_int_eq(acl_rule_format(&cfg.acl[0], out, sizeof(out)),
			 (int)strlen(format_cases[_i].out));
	ck_assert_str_eq(out, format_cases[_i].out);
	/* Truncation behaves like snprintf. */
	ck_assert_int_eq(acl_rule_format(&cfg.acl[0], out, 4), (int)strlen(format_cases[_i].out));
	ck_assert_uint_eq(strlen(out), 3);
}
END_TEST

/* ---- throttle ---- */

#define T0 1000000ull

static struct sockaddr_storage ip1, ip2;

static void throttle_setup(void)
{
	ip1 = addr("192.0.2.1");
	ip2 = addr("192.0.2.2");
}

START_TEST(test_throttle_basic)
{
	struct throttle *t = throttle_new(0, 3, 60000, 300000);

	ck_assert_ptr_nonnull(t);
	ck_assert(!throttle_blocked(t, &ip1, T0));
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0));
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 1000));
	ck_assert(!throttle_blocked(t, &ip1, T0 + 1000));
	/* The third within the minute starts the block, once. */
	ck_assert(throttle_record_failure(t, &ip1, "u", T0 + 59999));
	ck_assert(throttle_blocked(t, &ip1, T0 + 59999));
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 60000));
	/* Another address is not affected. */
	ck_assert(!throttle_blocked(t, &ip2, T0 + 60000));
	/* The block lasts block_ms from the failure that started it, and
	 * refused attempts do not extend it. */
	ck_assert(throttle_blocked(t, &ip1, T0 + 59999 + 299999));
	ck_assert(!throttle_blocked(t, &ip1, T0 + 59999 + 300000));
	/* Afterwards the count starts from zero. */
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 400000));
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 400001));
	ck_assert(throttle_record_failure(t, &ip1, "u", T0 + 400002));
	ck_assert_uint_eq(throttle_count(t), 1);
	throttle_free(t);
	throttle_free(NULL);
}
END_TEST

START_TEST(test_throttle_window)
{
	struct throttle *t = throttle_new(16, 3, 60000, 300000);

	ck_assert(!throttle_record_failure(t, &ip1, "u", T0));
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 30000));
	/* The window runs from the first failure: this one starts a new one. */
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 60000));
	ck_assert(!throttle_blocked(t, &ip1, T0 + 60000));
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 61000));
	ck_assert(throttle_record_failure(t, &ip1, "u", T0 + 119999));
	ck_assert(throttle_blocked(t, &ip1, T0 + 120000));
	throttle_free(t);

	/* One failure is enough with failures 1. */
	t = throttle_new(16, 1, 1000, 1000);
	ck_assert(throttle_record_failure(t, &ip1, "u", T0));
	ck_assert(throttle_blocked(t, &ip1, T0 + 999));
	ck_assert(!throttle_blocked(t, &ip1, T0 + 1000));
	throttle_free(t);
}
END_TEST

START_TEST(test_throttle_success_clears)
{
	struct throttle *t = throttle_new(16, 3, 60000, 300000);

	ck_assert(!throttle_record_failure(t, &ip1, "u", T0));
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 1));
	ck_assert_uint_eq(throttle_count(t), 1);
	throttle_record_success(t, &ip1, "u");
	ck_assert_uint_eq(throttle_count(t), 0);
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 2));
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + 3));
	ck_assert(throttle_record_failure(t, &ip1, "u", T0 + 4));
	/* A success from an address the table does not hold is harmless. */
	throttle_record_success(t, &ip2, "u");
	ck_assert_uint_eq(throttle_count(t), 1);
	throttle_free(t);
}
END_TEST

START_TEST(test_throttle_success_clears_its_name_only)
{
	struct throttle *t = throttle_new(16, 3, 60000, 300000);

	/* Two guesses at bob; alice (whose password the guesser knows) logs
	 * in: her attempt, counted when submitted, starts a block, and her
	 * success lifts it; bob's guesses still count: the next one blocks. */
	ck_assert(!throttle_record_failure(t, &ip1, "bob", T0));
	ck_assert(!throttle_record_failure(t, &ip1, "bob", T0 + 1));
	ck_assert(throttle_record_failure(t, &ip1, "alice", T0 + 2));
	throttle_record_success(t, &ip1, "alice");
	ck_assert(!throttle_blocked(t, &ip1, T0 + 3));
	ck_assert(throttle_record_failure(t, &ip1, "bob", T0 + 4));
	ck_assert(throttle_blocked(t, &ip1, T0 + 5));
	/* Another name's success does not lift that block. */
	throttle_record_success(t, &ip1, "alice");
	ck_assert(throttle_blocked(t, &ip1, T0 + 6));
	throttle_free(t);
}
END_TEST

START_TEST(test_throttle_attempt)
{
	struct throttle *t = throttle_new(16, 3, 60000, 300000);

	/* Counted as failures when made; the third starts the block, the
	 * fourth is refused unverified. */
	ck_assert_int_eq(throttle_attempt(t, &ip1, "bob", T0), THROTTLE_COUNTED);
	ck_assert_int_eq(throttle_attempt(t, &ip1, "bob", T0 + 1), THROTTLE_COUNTED);
	ck_assert_int_eq(throttle_attempt(t, &ip1, "bob", T0 + 2), THROTTLE_BLOCK_STARTED);
	ck_assert_int_eq(throttle_attempt(t, &ip1, "bob", T0 + 3), THROTTLE_BLOCKED);
	/* The third was never verified (queue full): taken back, block and all. */
	throttle_uncount(t, &ip1, "bob");
	ck_assert(!throttle_blocked(t, &ip1, T0 + 4));
	ck_assert_int_eq(throttle_attempt(t, &ip1, "bob", T0 + 5), THROTTLE_BLOCK_STARTED);
	/* A right password on the attempt that blocked lifts the block. */
	throttle_record_success(t, &ip1, "bob");
	ck_assert(!throttle_blocked(t, &ip1, T0 + 6));
	ck_assert_uint_eq(throttle_count(t), 0);
	throttle_free(t);
}
END_TEST

START_TEST(test_throttle_clock_skew)
{
	struct throttle *t = throttle_new(16, 3, 60000, 300000);

	/* Workers cache their own loop clocks: a time a little before the
	 * window's start comes from another worker and does not reset it. */
	ck_assert_int_eq(throttle_attempt(t, &ip1, "u", T0 + 10), THROTTLE_COUNTED);
	ck_assert_int_eq(throttle_attempt(t, &ip1, "u", T0 + 5), THROTTLE_COUNTED);
	ck_assert_int_eq(throttle_attempt(t, &ip1, "u", T0 + 7), THROTTLE_BLOCK_STARTED);
	ck_assert(throttle_has_failures(t, &ip2, T0) == false);
	ck_assert(throttle_has_failures(t, &ip1, T0 + 1));
	throttle_free(t);
}
END_TEST

START_TEST(test_throttle_has_failures)
{
	struct throttle *t = throttle_new(16, 3, 60000, 300000);

	ck_assert(!throttle_has_failures(t, &ip1, T0));
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0));
	ck_assert(throttle_has_failures(t, &ip1, T0 + 1));
	ck_assert(!throttle_has_failures(t, &ip2, T0 + 1));
	ck_assert(!throttle_has_failures(t, &ip1, T0 + 60000)); /* the window is over */
	throttle_record_success(t, &ip1, "u");
	ck_assert(!throttle_has_failures(t, &ip1, T0 + 2));
	throttle_free(t);
}
END_TEST

START_TEST(test_throttle_off_and_reconfigure)
{
	struct throttle *t = throttle_new(16, 0, 60000, 300000);

	for (int i = 0; i < 100; i++)
		ck_assert(!throttle_record_failure(t, &ip1, "u", T0 + (uint64_t)i));
	ck_assert(!throttle_blocked(t, &ip1, T0 + 100));
	ck_assert_uint_eq(throttle_count(t), 0);

	throttle_configure(t, 2, 60000, 300000);
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0));
	ck_assert(throttle_record_failure(t, &ip1, "u", T0 + 1));
	/* New limits keep running blocks... */
	throttle_configure(t, 5, 60000, 300000);
	ck_assert(throttle_blocked(t, &ip1, T0 + 2));
	/* ...and "off" forgets everything. */
	throttle_configure(t, 0, 60000, 300000);
	ck_assert(!throttle_blocked(t, &ip1, T0 + 3));
	ck_assert_uint_eq(throttle_count(t), 0);
	throttle_configure(t, 5, 60000, 300000);
	ck_assert(!throttle_blocked(t, &ip1, T0 + 4));
	throttle_free(t);
}
END_TEST

/* IPv4-mapped is IPv4, IPv6 counts per /64, ports do not matter. */
START_TEST(test_throttle_keys)
{
	struct throttle *t = throttle_new(16, 2, 60000, 300000);
	struct sockaddr_storage mapped = addr("::ffff:192.0.2.1");
	struct sockaddr_storage a6 = addr("2001:db8:1:2::1"), b6 = addr("2001:db8:1:2:ffff::9");
	struct sockaddr_storage c6 = addr("2001:db8:1:3::1");
	struct sockaddr_storage other_port = ip1;

	((struct sockaddr_in *)&other_port)->sin_port = htons(9);
	ck_assert(!throttle_record_failure(t, &ip1, "u", T0));
	ck_assert(throttle_record_failure(t, &mapped, "u", T0 + 1));
	ck_assert(throttle_blocked(t, &other_port, T0 + 2));

	ck_assert(!throttle_record_failure(t, &a6, "u", T0));
	ck_assert(throttle_record_failure(t, &b6, "u", T0 + 1));
	ck_assert(throttle_blocked(t, &a6, T0 + 2));
	ck_assert(!throttle_blocked(t, &c6, T0 + 2));
	ck_assert_uint_eq(throttle_count(t), 2);
	throttle_free(t);
}
END_TEST

static struct sockaddr_storage nth(unsigned i)
{
	char text[32];

	snprintf(text, sizeof(text), "198.18.%u.%u", i / 256, i % 256);
	return addr(text);
}

START_TEST(test_throttle_eviction)
{
	struct throttle *t = throttle_new(4, 2, 60000, 300000);
	struct sockaddr_storage a[8];

	for (unsigned i = 0; i < 8; i++)
		a[i] = nth(i);
	/* Fill the table with one failure each, a[0] the oldest. */
	for (unsigned i = 0; i < 4; i++)
		ck_assert(!throttle_record_failure(t, &a[i], "u", T0 + i));
	ck_assert_uint_eq(throttle_count(t), 4);
	/* a[0] fails again: now the most recent, a[1] the oldest. */
	ck_assert(throttle_record_failure(t, &a[0], "u", T0 + 10));
	ck_assert(!throttle_record_failure(t, &a[4], "u", T0 + 11));
	ck_assert_uint_eq(throttle_count(t), 4);
	/* a[1] was evicted: its first failure is forgotten. */
	ck_assert(!throttle_record_failure(t, &a[1], "u", T0 + 12));
	/* That evicted a[2]; a[3] is still counted. */
	ck_assert(throttle_record_failure(t, &a[3], "u", T0 + 13));
	ck_assert(!throttle_record_failure(t, &a[2], "u", T0 + 14));
	/* a[0] is blocked and, though now the oldest, is spared. */
	ck_assert(throttle_blocked(t, &a[0], T0 + 15));
	for (unsigned i = 5; i < 8; i++)
		ck_assert(!throttle_record_failure(t, &a[i], "u", T0 + 20 + i));
	ck_assert(throttle_blocked(t, &a[0], T0 + 30));
	ck_assert(throttle_blocked(t, &a[3], T0 + 30));
	ck_assert_uint_eq(throttle_count(t), 4);
	throttle_free(t);
}
END_TEST

/* When every entry is blocked, the least recently seen goes. */
START_TEST(test_throttle_eviction_all_blocked)
{
	struct throttle *t = throttle_new(3, 1, 60000, 300000);
	struct sockaddr_storage a[4];

	for (unsigned i = 0; i < 4; i++)
		a[i] = nth(i);
	for (unsigned i = 0; i < 3; i++)
		ck_assert(throttle_record_failure(t, &a[i], "u", T0 + i));
	ck_assert(throttle_record_failure(t, &a[3], "u", T0 + 5));
	ck_assert(!throttle_blocked(t, &a[0], T0 + 6));
	ck_assert(throttle_blocked(t, &a[1], T0 + 6));
	ck_assert(throttle_blocked(t, &a[2], T0 + 6));
	ck_assert(throttle_blocked(t, &a[3], T0 + 6));
	/* An expired block is not protected: a[1]'s goes (failures 1, so a[0]
	 * is blocked again at once). */
	ck_assert(throttle_record_failure(t, &a[0], "u", T0 + 300001));
	ck_assert(!throttle_blocked(t, &a[1], T0 + 300001));
	ck_assert_uint_eq(throttle_count(t), 3);
	throttle_free(t);
}
END_TEST

/* The default capacity, filled far past it: bounded, and still correct. */
START_TEST(test_throttle_many)
{
	struct throttle *t = throttle_new(0, 2, 60000, 300000);

	for (unsigned i = 0; i < 3 * THROTTLE_CAPACITY; i++) {
		struct sockaddr_storage a = nth(i);

		ck_assert(!throttle_record_failure(t, &a, "u", T0 + i));
	}
	ck_assert_uint_eq(throttle_count(t), THROTTLE_CAPACITY);
	/* The newest are still counted, the oldest are not. */
	struct sockaddr_storage newest = nth(3 * THROTTLE_CAPACITY - 1), oldest = nth(0);
	ck_assert(throttle_record_failure(t, &newest, "u", T0 + 3 * THROTTLE_CAPACITY));
	ck_assert(!throttle_record_failure(t, &oldest, "u", T0 + 3 * THROTTLE_CAPACITY + 1));
	for (unsigned i = 0; i < 3 * THROTTLE_CAPACITY; i++) {
		struct sockaddr_storage a = nth(i);

		throttle_record_success(t, &a, "u");
	}
	ck_assert_uint_eq(throttle_count(t), 0);
	throttle_free(t);
}
END_TEST

struct worker_arg {
	struct throttle *t;
	unsigned base;
};

static void *hammer(void *p)
{
	const struct worker_arg *w = p;

	for (unsigned i = 0; i < 4000; i++) {
		struct sockaddr_storage a = nth(w->base + i % 512);

		throttle_record_failure(w->t, &a, "u", T0 + i);
		throttle_blocked(w->t, &a, T0 + i);
		if (i % 7 == 0)
			throttle_record_success(w->t, &a, "u");
	}
	return NULL;
}

/* Shared by every worker: hammered from four threads at once. */
START_TEST(test_throttle_threads)
{
	struct throttle *t = throttle_new(256, 3, 60000, 300000);
	pthread_t th[4];
	struct worker_arg args[4];

	for (unsigned i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){ t, i * 256 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_le(throttle_count(t), 256);
	throttle_free(t);
}
END_TEST

/* ---- connection limits (connlimit.c) ---- */

START_TEST(test_limits_client_keys)
{
	struct limits *l = limits_new();
	struct sockaddr_storage a = addr("2001:db8:1:2::5"), b = addr("2001:db8:1:2:ffff::9"),
				c = addr("2001:db8:1:3::5"), v4 = addr("192.0.2.1"),
				mapped = addr("::ffff:192.0.2.1");

	ck_assert_ptr_nonnull(l);
	/* One /64 is one client. */
	ck_assert(limits_take_client(l, &a, 2, 1000, NULL));
	ck_assert(limits_take_client(l, &b, 2, 1000, NULL));
	ck_assert(!limits_take_client(l, &a, 2, 1000, NULL));
	ck_assert_uint_eq(limits_count_client(l, &b), 2);
	ck_assert(limits_take_client(l, &c, 2, 1000, NULL)); /* the next /64 */
	/* IPv4-mapped is the IPv4 address. */
	ck_assert(limits_take_client(l, &v4, 1, 1000, NULL));
	ck_assert(!limits_take_client(l, &mapped, 1, 1000, NULL));
	limits_give_client(l, &mapped);
	ck_assert_uint_eq(limits_count_client(l, &v4), 0);
	limits_give_client(l, &a);
	ck_assert(limits_take_client(l, &b, 2, 1000, NULL));
	limits_free(l);
}
END_TEST

START_TEST(test_limits_refusals_logged_sparingly)
{
	struct limits *l = limits_new();
	struct sockaddr_storage a = addr("192.0.2.7"), other = addr("192.0.2.8");
	struct limits_refusal r;

	ck_assert(limits_take_client(l, &a, 1, 5000, &r));
	ck_assert(limits_take_client(l, &other, 1, 5000, &r));
	/* The first refusal is logged, the next ones in the interval counted. */
	ck_assert(!limits_take_client(l, &a, 1, 5000, &r));
	ck_assert(r.log);
	ck_assert_uint_eq(r.unlogged, 0);
	for (unsigned i = 0; i < 7; i++) {
		ck_assert(!limits_take_client(l, &a, 1, 5001 + i, &r));
		ck_assert(!r.log);
	}
	/* Another address has its own interval. */
	ck_assert(!limits_take_client(l, &other, 1, 5100, &r));
	ck_assert(r.log);
	/* After the interval: logged again, with the count of the silent ones. */
	ck_assert(!limits_take_client(l, &a, 1, 5000 + LIMITS_LOG_EVERY_MS - 1, &r));
	ck_assert(!r.log);
	ck_assert(!limits_take_client(l, &a, 1, 5000 + LIMITS_LOG_EVERY_MS, &r));
	ck_assert(r.log);
	ck_assert_uint_eq(r.unlogged, 8);
	limits_free(l);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("acl");
	TCase *tc;

	tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_default_loopback_only);
	tcase_add_test(tc, test_default_authenticated);
	tcase_add_test(tc, test_default_deny_with_rules);
	tcase_add_test(tc, test_star_rules);
	tcase_add_test(tc, test_from_v4);
	tcase_add_test(tc, test_from_v6);
	tcase_add_test(tc, test_user_kinds);
	tcase_add_test(tc, test_commands);
	tcase_add_test(tc, test_destinations);
	tcase_add_test(tc, test_all_terms);
	tcase_add_test(tc, test_first_match_wins);
	tcase_add_test(tc, test_no_destination);
	tcase_add_loop_test(tc, test_format, 0, (int)ARRAY_LEN(format_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("guard");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_guard_ranges, 0, (int)ARRAY_LEN(guard_cases));
	tcase_add_test(tc, test_guard_blocks);
	tcase_add_test(tc, test_guard_in_check);
	tcase_add_test(tc, test_addr_is_loopback);
	suite_add_tcase(s, tc);

	tc = tcase_create("throttle");
	tcase_add_checked_fixture(tc, throttle_setup, NULL);
	tcase_add_test(tc, test_throttle_basic);
	tcase_add_test(tc, test_throttle_window);
	tcase_add_test(tc, test_throttle_success_clears);
	tcase_add_test(tc, test_throttle_success_clears_its_name_only);
	tcase_add_test(tc, test_throttle_has_failures);
	tcase_add_test(tc, test_throttle_attempt);
	tcase_add_test(tc, test_throttle_clock_skew);
	tcase_add_test(tc, test_throttle_off_and_reconfigure);
	tcase_add_test(tc, test_throttle_keys);
	tcase_add_test(tc, test_throttle_eviction);
	tcase_add_test(tc, test_throttle_eviction_all_blocked);
	tcase_add_test(tc, test_throttle_many);
	tcase_add_test(tc, test_throttle_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_limits_client_keys);
	tcase_add_test(tc, test_limits_refusals_logged_sparingly);
	tcase_add_test(tc, test_proxy_trusted);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
