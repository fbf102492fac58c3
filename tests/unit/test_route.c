/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for route matching (src/route.c): every destination form,
 * CIDR boundaries for both families, suffix versus exact names, ports,
 * first match wins, and the rule that names and addresses never match each
 * other's rules (no DNS lookup, so no leak). Rules are written in the config
 * language and parsed, as hopsocks would read them. */
#include "config/config_chain.h"
#include "config/config_dest.h"
#include "config/config_load.h"
#include "policy/route.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct config cfg;
static char err[CONFIG_ERR_MAX];

/* Two chains every test may route to: index 0 "a", index 1 "b". */
static const char chains[] = "chain a {\n hop socks5h://127.0.0.1:9050\n}\n"
			     "chain b {\n hop http://127.0.0.1:3128\n}\n";

static void setup(void)
{
	config_init(&cfg);
	ck_assert_msg(config_parse_text(&cfg, "chains", chains, strlen(chains), err, sizeof(err)) ==
			      0,
		      "%s", err);
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

/* A name target even when the text is an address ("10.1.2.3" sent as a
 * SOCKS5 name). */
static struct target name_tgt(const char *text, uint16_t port)
{
	struct target t;

	ck_assert_int_eq(target_set_domain(&t, text, strlen(text), port), 0);
	return t;
}

/* "a", "b", "direct" (a direct rule matched) or "none" (no rule matched). */
static const char *verdict(const struct target *t)
{
	const struct config_route *r = route_find(&cfg, t);
	const struct config_route *m = route_match(&cfg, t);

	if (r == NULL) {
		ck_assert_ptr_null(m);
		return "none";
	}
	if (r->chain < 0) {
		ck_assert_ptr_null(m);
		return "direct";
	}
	ck_assert_ptr_eq(m, r);
	return cfg.chains[r->chain].name;
}

static const char *where(const char *text, uint16_t port)
{
	struct target t = tgt(text, port);

	return verdict(&t);
}

#define ck_route(text, port, expected) ck_assert_str_eq(where((text), (port)), (expected))

/* ---- parsing a destination ---- */

static const struct {
	const char *in;
	enum config_route_dest kind;
	const char *formatted; /* config_dest_format() of "route IN direct" */
} dest_ok[] = {
	{ "*", CONFIG_DEST_ANY, "* direct" },
	{ "10.0.0.0/8", CONFIG_DEST_CIDR, "10.0.0.0/8 direct" },
	{ "0.0.0.0/0", CONFIG_DEST_CIDR, "0.0.0.0/0 direct" },
	{ "192.0.2.7", CONFIG_DEST_CIDR, "192.0.2.7 direct" },
	{ "192.0.2.7/32", CONFIG_DEST_CIDR, "192.0.2.7 direct" },
	{ "172.16.0.0/13", CONFIG_DEST_CIDR, "172.16.0.0/13 direct" },
	{ "2001:DB8::/32", CONFIG_DEST_CIDR, "2001:db8::/32 direct" },
	{ "::/0", CONFIG_DEST_CIDR, "::/0 direct" },
	{ "::1", CONFIG_DEST_CIDR, "::1 direct" },
	{ "::1/128", CONFIG_DEST_CIDR, "::1 direct" },
	{ "::ffff:10.0.0.0/104", CONFIG_DEST_CIDR, "10.0.0.0/8 direct" },
	{ "::ffff:192.0.2.1", CONFIG_DEST_CIDR, "192.0.2.1 direct" },
	{ ".onion", CONFIG_DEST_SUFFIX, ".onion direct" },
	{ ".Corp.Example.", CONFIG_DEST_SUFFIX, ".corp.example direct" },
	{ ".x_y-z.example", CONFIG_DEST_SUFFIX, ".x_y-z.example direct" },
	{ "Host.Example", CONFIG_DEST_EXACT, "host.example direct" },
	{ "localhost", CONFIG_DEST_EXACT, "localhost direct" },
	{ "1.2.3.example", CONFIG_DEST_EXACT, "1.2.3.example direct" },
	{ "example.123a", CONFIG_DEST_EXACT, "example.123a direct" },
};

START_TEST(test_dest_valid)
{
	char line[128], out[128];

	snprintf(line, sizeof(line), "route %s direct\n", dest_ok[_i].in);
	rules(line);
	ck_assert_uint_eq(cfg.nroutes, 1);
	ck_assert_int_eq(cfg.routes[0].kind, dest_ok[_i].kind);
	ck_assert_int_eq(cfg.routes[0].chain, -1);
	ck_assert_uint_eq(cfg.routes[0].line, 1);
	config_dest_format(&cfg.routes[0], out, sizeof(out));
	ck_assert_str_eq(out, dest_ok[_i].formatted);
}
END_TEST

static const struct dest_error {
	const char *in;
	const char *msg;
} dest_bad[] = {
	{ "", "empty destination" },
	{ "10.0.0.0/33", "invalid prefix length '/33' (at most 32 for IPv4)" },
	{ "::/129", "invalid prefix length '/129' (at most 128 for IPv6)" },
	{ "10.0.0.0/", "invalid network '10.0.0.0/' (expected ADDR/PREFIX, e.g. 10.0.0.0/8 or "
		       "2001:db8::/32)" },
	{ "10.0.0.0/-1", "invalid network '10.0.0.0/-1' (expected ADDR/PREFIX, e.g. 10.0.0.0/8 "
			 "or 2001:db8::/32)" },
	{ "host.example/24", "invalid network 'host.example/24' (expected ADDR/PREFIX, e.g. "
			     "10.0.0.0/8 or 2001:db8::/32)" },
	{ "10.1.0.0/8", "invalid network '10.1.0.0/8': host bits are set (did you mean "
			"10.0.0.0/8?)" },
	{ "172.20.0.0/13", "invalid network '172.20.0.0/13': host bits are set (did you mean "
			   "172.16.0.0/13?)" },
	{ "2001:db8::1/32", "invalid network '2001:db8::1/32': host bits are set (did you mean "
			    "2001:db8::/32?)" },
	{ "256.0.0.1", "invalid address '256.0.0.1'" },
	{ "10.0.0", "invalid address '10.0.0'" },
	{ "10.0.0.", "invalid address '10.0.0.'" },
	{ "2001:db8::g", "invalid address '2001:db8::g'" },
	{ "[::1]", "invalid address '[::1]'" },
	{ "*.corp.example", "invalid destination '*.corp.example' (write .corp.example for a "
			    "domain and every name under it)" },
	{ ".", "invalid destination '.' (a domain goes after the dot: .example)" },
	{ "..", "invalid destination '..' (a domain goes after the dot: .example)" },
	{ "..example", "invalid destination '..example' (expected *, an address, ADDR/PREFIX, "
		       ".domain or a host name)" },
	{ "a..example", "invalid destination 'a..example' (expected *, an address, ADDR/PREFIX, "
			".domain or a host name)" },
	{ "host.example..", "invalid destination 'host.example..' (expected *, an address, "
			    "ADDR/PREFIX, .domain or a host name)" },
	{ "a*b", "invalid destination 'a*b' (expected *, an address, ADDR/PREFIX, .domain or a "
		 "host name)" },
	{ "**", "invalid destination '**' (expected *, an address, ADDR/PREFIX, .domain or a "
		"host name)" },
	{ "h\xc3\xb6st.example", "invalid destination 'h\xc3\xb6st.example' (write international "
				 "names in their xn-- form)" },
};

START_TEST(test_dest_invalid)
{
	const struct dest_error *c = &dest_bad[_i];
	struct config_route r;
	char line[128], expected[CONFIG_ERR_MAX];

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(config_dest_parse(c->in, &r, err, sizeof(err)), -1);
	ck_assert_str_eq(err, c->msg);

	/* Through the file parser: the prefix, and nothing added. */
	snprintf(line, sizeof(line), "\nroute \"%s\" via a\n", c->in);
	snprintf(expected, sizeof(expected), "x.conf:2: route: %s", c->msg);
	ck_assert_int_eq(config_parse_text(&cfg, "x.conf", line, strlen(line), err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, expected);
	ck_assert_uint_eq(cfg.nroutes, 0);
}
END_TEST

START_TEST(test_dest_name_limits)
{
	struct config_route r;
	char name[300];

	/* 63-byte labels are fine, 64 are not. */
	memset(name, 'a', 63);
	strcpy(name + 63, ".example");
	ck_assert_int_eq(config_dest_parse(name, &r, err, sizeof(err)), 0);
	memset(name, 'a', 64);
	strcpy(name + 64, ".example");
	ck_assert_int_eq(config_dest_parse(name, &r, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid destination "
			      "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' "
			      "(a label is at most 63 bytes)");

	/* 253 bytes (plus a final dot) are fine, 254 are not. */
	for (size_t i = 0; i < 253; i++)
		name[i] = i % 2 == 0 ? 'a' : '.';
	name[253] = '\0';
	ck_assert_int_eq(config_dest_parse(name, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(r.name), 253);
	strcpy(name + 253, ".");
	ck_assert_int_eq(config_dest_parse(name, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(r.name), 253);
	strcpy(name + 253, "a");
	ck_assert_int_eq(config_dest_parse(name, &r, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
			 "invalid destination "
			 "'a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a....' "
			 "(a name is at most 253 bytes)");
}
END_TEST

START_TEST(test_parse_ports)
{
	uint16_t lo, hi;

	ck_assert_int_eq(config_dest_parse_ports("443", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 443);
	ck_assert_uint_eq(hi, 443);
	ck_assert_int_eq(config_dest_parse_ports("1-65535", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 1);
	ck_assert_uint_eq(hi, 65535);
	ck_assert_int_eq(config_dest_parse_ports("8000-8000", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 8000);
	ck_assert_uint_eq(hi, 8000);
	static const char *const bad[] = { "",	    "0",    "65536",	 "-1",	     "1-",    "-80",
					   "90-80", "0-80", "80-0",	 "80-65536", "80 90", "a",
					   "1-2-3", "+80",  "0080000-1", "80,443" };
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		ck_assert_msg(config_dest_parse_ports(bad[i], &lo, &hi) == -1, "'%s' accepted",
			      bad[i]);
}
END_TEST

START_TEST(test_prefix_equal)
{
	static const uint8_t a[4] = { 0xac, 0x10, 0x00, 0x00 };
	static const uint8_t b[4] = { 0xac, 0x17, 0xff, 0xff };
	static const uint8_t c[4] = { 0xac, 0x18, 0x00, 0x00 };

	ck_assert(route_prefix_equal(a, c, 0));
	ck_assert(route_prefix_equal(a, b, 8));
	ck_assert(route_prefix_equal(a, b, 13));
	ck_assert(!route_prefix_equal(a, b, 14));
	ck_assert(!route_prefix_equal(a, c, 13));
	ck_assert(route_prefix_equal(a, c, 12));
	ck_assert(route_prefix_equal(a, a, 32));
	ck_assert(!route_prefix_equal(a, b, 32));
}
END_TEST

/* ---- matching ---- */

START_TEST(test_no_rules_is_direct)
{
	ck_route("10.0.0.1", 80, "none");
	ck_route("::1", 80, "none");
	ck_route("host.example", 80, "none");
}
END_TEST

START_TEST(test_star)
{
	rules("route * via a\n");
	ck_route("10.0.0.1", 80, "a");
	ck_route("2001:db8::1", 1, "a");
	ck_route("host.example", 65535, "a");
	ck_route("0.0.0.0", 0, "a");

	struct target none;
	memset(&none, 0, sizeof(none));
	ck_assert_str_eq(verdict(&none), "a");
}
END_TEST

START_TEST(test_cidr_v4)
{
	rules("route 10.0.0.0/8 via a\n"
	      "route 172.16.0.0/13 via b\n"
	      "route 192.0.2.7 direct\n"
	      "route 198.51.100.0/31 via a\n"
	      "route 0.0.0.0/0 via b\n");
	/* /8 */
	ck_route("10.0.0.0", 80, "a");
	ck_route("10.255.255.255", 80, "a");
	ck_route("9.255.255.255", 80, "b");
	ck_route("11.0.0.0", 80, "b");
	/* /13: 172.16.0.0 - 172.23.255.255 */
	ck_route("172.16.0.0", 80, "b");
	ck_route("172.23.255.255", 80, "b");
	ck_assert_uint_eq(route_find(&cfg, &(struct target){ .type = TARGET_IPV4,
							     .addr.ipv4 = { 172, 23, 255, 255 } })
				  ->line,
			  2);
	ck_assert_uint_eq(route_find(&cfg, &(struct target){ .type = TARGET_IPV4,
							     .addr.ipv4 = { 172, 24, 0, 0 } })
				  ->line,
			  5);
	ck_assert_uint_eq(route_find(&cfg, &(struct target){ .type = TARGET_IPV4,
							     .addr.ipv4 = { 172, 15, 255, 255 } })
				  ->line,
			  5);
	/* /32 */
	ck_route("192.0.2.7", 80, "direct");
	ck_route("192.0.2.6", 80, "b");
	ck_route("192.0.2.8", 80, "b");
	/* /31 */
	ck_route("198.51.100.0", 80, "a");
	ck_route("198.51.100.1", 80, "a");
	ck_route("198.51.100.2", 80, "b");
	/* /0 catches every IPv4 address, but no IPv6 address and no name. */
	ck_route("255.255.255.255", 80, "b");
	ck_route("0.0.0.0", 80, "b");
	ck_route("::", 80, "none");
	ck_route("2001:db8::1", 80, "none");
	ck_route("host.example", 80, "none");
}
END_TEST

START_TEST(test_cidr_v6)
{
	rules("route 2001:db8::/32 via a\n"
	      "route 2000::/13 via b\n"
	      "route ::1 direct\n"
	      "route fe80::/65 via a\n"
	      "route ::/0 via b\n");
	/* /32 */
	ck_route("2001:db8::", 80, "a");
	ck_route("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 80, "a");
	ck_route("2001:db9::", 80, "b"); /* falls to 2000::/13 */
	/* /13: 2000:: - 2007:ffff:... */
	ck_route("2007:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 80, "b");
	ck_route("2000::", 80, "b");
	ck_route("2008::", 80, "b"); /* ::/0 */
	ck_assert_uint_eq(route_find(&cfg, &(struct target){ .type = TARGET_IPV6,
							     .addr.ipv6 = { 0x20, 0x08 } })
				  ->line,
			  5);
	ck_assert_uint_eq(route_find(&cfg, &(struct target){ .type = TARGET_IPV6,
							     .addr.ipv6 = { 0x20, 0x07 } })
				  ->line,
			  2);
	/* /128 */
	ck_route("::1", 80, "direct");
	ck_route("::2", 80, "b");
	ck_route("::", 80, "b");
	/* /65: the first bit of the interface id counts. */
	ck_route("fe80::7fff:ffff:ffff:ffff", 80, "a");
	ck_route("fe80::8000:0:0:0", 80, "b");
	/* ::/0 catches every IPv6 address, but no IPv4 address and no name. */
	ck_route("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 80, "b");
	ck_route("10.0.0.1", 80, "none");
	ck_route("host.example", 80, "none");
}
END_TEST

/* A dual-stack client may hand us ::ffff:a.b.c.d; it is the IPv4 address. */
START_TEST(test_v4_mapped)
{
	rules("route 10.0.0.0/8 via a\nroute ::ffff:192.0.2.0/120 via b\n");
	ck_route("::ffff:10.1.2.3", 80, "a");
	ck_route("192.0.2.99", 80, "b");
	ck_route("::ffff:192.0.2.99", 80, "b");
	ck_route("::ffff:11.0.0.1", 80, "none");
}
END_TEST

START_TEST(test_suffix)
{
	rules("route .corp.example via a\nroute .onion via b\n");
	ck_route("corp.example", 80, "a");
	ck_route("a.corp.example", 80, "a");
	ck_route("x.y.corp.example", 80, "a");
	ck_route("A.B.CORP.EXAMPLE", 80, "a");
	ck_route("Corp.Example.", 80, "a");
	ck_route("a.corp.example.", 80, "a");
	ck_route("acorp.example", 80, "none");
	ck_route("corp.example.com", 80, "none");
	ck_route("orp.example", 80, "none");
	ck_route("example", 80, "none");
	ck_route("corp", 80, "none");
	ck_route(".corp.example", 80, "a"); /* an odd name, but it is under the domain */
	ck_route("expyuzz4wqqyqhjn.onion", 80, "b");
	ck_route("onion", 80, "b");
	ck_route("onion.example", 80, "none");
	ck_route("xonion", 80, "none");
}
END_TEST

START_TEST(test_exact_vs_suffix)
{
	rules("route host.example via a\nroute .example via b\n");
	ck_route("host.example", 80, "a");
	ck_route("HOST.example", 80, "a");
	ck_route("host.example.", 80, "a");
	/* An exact name does not cover names under it; the suffix does. */
	ck_route("www.host.example", 80, "b");
	ck_route("xhost.example", 80, "b");
	ck_route("example", 80, "b");
	ck_route("host.example.net", 80, "none");
	ck_route("host", 80, "none");
}
END_TEST

START_TEST(test_name_helpers)
{
	ck_assert(route_suffix_matches("corp.example", "corp.example", 12));
	ck_assert(route_suffix_matches("corp.example", "a.CORP.example", 14));
	ck_assert(!route_suffix_matches("corp.example", "acorp.example", 13));
	/* len, not the NUL, bounds the name. */
	ck_assert(route_suffix_matches("example", "a.example.net", 9));
	ck_assert(!route_suffix_matches("example", ".", 1));
	ck_assert(route_name_equal("example", "EXAMPLE.", 8));
	ck_assert(!route_name_equal("example", "example..", 9));
	ck_assert(!route_name_equal("example", "exampl", 6));
	ck_assert(!route_name_equal("a", ".", 1));
	/* Bytes outside ASCII compare as they are. */
	ck_assert(!route_name_equal("h\xc3\xb6st", "H\xc3\x96ST", 5));
}
END_TEST

START_TEST(test_ports)
{
	rules("route * port 443 via a\n"
	      "route 10.0.0.0/8 port 1000-2000 via b\n"
	      "route .example port 22 direct\n");
	ck_route("192.0.2.1", 443, "a");
	ck_route("host.example", 443, "a");
	ck_route("192.0.2.1", 442, "none");
	ck_route("192.0.2.1", 444, "none");
	ck_route("10.0.0.1", 999, "none");
	ck_route("10.0.0.1", 1000, "b");
	ck_route("10.0.0.1", 2000, "b");
	ck_route("10.0.0.1", 2001, "none");
	ck_route("11.0.0.1", 1500, "none");
	ck_route("a.example", 22, "direct");
	ck_route("a.example", 23, "none");
	/* A rule without ports covers them all, 0 included (UDP, BIND). */
	rules("route * via b\n");
	ck_route("10.0.0.1", 0, "b");
	ck_route("10.0.0.1", 65535, "b");
}
END_TEST

START_TEST(test_first_match_wins)
{
	rules("route 10.1.0.0/16 direct\n"
	      "route 10.0.0.0/8 via a\n"
	      "route 10.2.0.0/16 via b\n" /* never reached: 10/8 comes first */
	      "route .example port 80 via b\n"
	      "route .example via a\n"
	      "route * via b\n");
	ck_route("10.1.2.3", 80, "direct");
	ck_route("10.2.3.4", 80, "a");
	ck_route("10.200.3.4", 80, "a");
	ck_route("www.example", 80, "b");
	ck_route("www.example", 81, "a");
	ck_route("192.0.2.1", 80, "b");
	ck_route("other.net", 80, "b");
}
END_TEST

/* The rule behind "no DNS leak": matching a name against a CIDR would need
 * a lookup, so a name never matches one, and an address never matches a
 * name rule (that would need a reverse lookup). */
START_TEST(test_name_vs_cidr)
{
	rules("route 0.0.0.0/0 via a\nroute ::/0 via a\nroute localhost via b\n"
	      "route .arpa via b\n");
	ck_route("host.example", 80, "none");
	ck_route("localhost", 80, "b");
	ck_route("127.0.0.1", 80, "a");
	ck_route("::1", 80, "a");
	ck_route("1.0.0.127.in-addr.arpa", 80, "b");
}
END_TEST

START_TEST(test_address_rule_vs_name_rule)
{
	rules("route .example via a\nroute 127.0.0.1 via b\n");
	ck_route("127.0.0.1", 80, "b");
	ck_route("10.0.0.1", 80, "none");
	ck_route("a.example", 80, "a");
}
END_TEST

/* An address literal sent as a name needs no lookup, so it is an address. */
START_TEST(test_literal_name)
{
	struct target t;

	rules("route 10.0.0.0/8 via a\nroute 2001:db8::/32 via b\nroute * direct\n");
	t = name_tgt("10.1.2.3", 80);
	ck_assert_str_eq(verdict(&t), "a");
	t = name_tgt("2001:db8::5", 80);
	ck_assert_str_eq(verdict(&t), "b");
	t = name_tgt("::ffff:10.1.2.3", 80);
	ck_assert_str_eq(verdict(&t), "a");
	t = name_tgt("10.1.2.3.", 80); /* not a literal: a name */
	ck_assert_str_eq(verdict(&t), "direct");
	t = name_tgt("010.1.2.3", 80);
	ck_assert_str_eq(verdict(&t), "direct");
}
END_TEST

START_TEST(test_rule_matches)
{
	struct target t = tgt("a.example", 80);

	rules("route .example port 80 via a\n");
	ck_assert(route_rule_matches(&cfg.routes[0], &t));
	t.port = 81;
	ck_assert(!route_rule_matches(&cfg.routes[0], &t));
}
END_TEST

/* --chain puts its catch-all first, ahead of every rule of the file, read
 * before or after it. */
START_TEST(test_cli_chain_wins)
{
	rules("route 10.0.0.0/8 via a\nroute .example direct\n");
	ck_assert_int_eq(config_set_cli_chain(&cfg, "socks5://127.0.0.1:1081", err, sizeof(err)),
			 0);
	rules("route * via b\n");
	ck_route("10.0.0.1", 80, "cli");
	ck_route("a.example", 80, "cli");
	ck_route("::1", 80, "cli");
	ck_assert_uint_eq(cfg.nroutes, 4);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
}
END_TEST

/* Precedence per family: the user's source, then the rule's, then the
 * global one; a family without one is NULL. */
START_TEST(test_source_pick)
{
	struct route_source src;

	rules("outgoing 192.0.2.1\n"
	      "outgoing 192.0.2.2 user alice\n"
	      "outgoing 2001:db8:9::/48 random user bob\n"
	      "route 10.0.0.0/8 direct outgoing 192.0.2.3\n"
	      "route 172.16.0.0/12 via a outgoing 2001:db8::3\n"
	      "route * direct\n");
	struct target t10 = tgt("10.1.2.3", 80), t172 = tgt("172.16.0.1", 80);
	struct target t8 = tgt("8.8.8.8", 80);
	const struct config_route *r10 = route_find(&cfg, &t10);
	const struct config_route *r172 = route_find(&cfg, &t172);
	const struct config_route *rstar = route_find(&cfg, &t8);

	route_source_pick(&cfg, r10, NULL, &src);
	ck_assert_str_eq(src.v4->addr.text, "192.0.2.3"); /* route over global */
	ck_assert_ptr_null(src.v6);
	route_source_pick(&cfg, r10, "alice", &src);
	ck_assert_str_eq(src.v4->addr.text, "192.0.2.2"); /* user over route */
	route_source_pick(&cfg, r10, "bob", &src);
	ck_assert_str_eq(src.v4->addr.text, "192.0.2.3"); /* bob has no IPv4 one */
	ck_assert_str_eq(src.v6->addr.text, "2001:db8:9::/48");
	ck_assert_uint_eq(src.v6->random_prefix, 48);
	route_source_pick(&cfg, r172, NULL, &src);
	ck_assert_str_eq(src.v4->addr.text, "192.0.2.1"); /* the rule's is IPv6 */
	ck_assert_str_eq(src.v6->addr.text, "2001:db8::3");
	route_source_pick(&cfg, rstar, NULL, &src);
	ck_assert_str_eq(src.v4->addr.text, "192.0.2.1");
	ck_assert_ptr_null(src.v6);
	route_source_pick(&cfg, NULL, "carol", &src);
	ck_assert_str_eq(src.v4->addr.text, "192.0.2.1");
}
END_TEST

/* A random source keeps the prefix's bits and takes the rest from rnd. */
START_TEST(test_source_address)
{
	static const uint8_t ones[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zeros[16];
	struct sockaddr_storage ss;
	char text[INET6_ADDRSTRLEN];

	rules("outgoing 2001:db8:1::/61 random\noutgoing 10.16.0.0/12 random\n");
	ck_assert_uint_eq(route_source_address(&cfg.outgoing_v6, ones, &ss),
			  sizeof(struct sockaddr_in6));
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof(text));
	ck_assert_str_eq(text, "2001:db8:1:7:ffff:ffff:ffff:ffff");
	ck_assert_uint_eq(((struct sockaddr_in6 *)&ss)->sin6_port, 0);
	route_source_address(&cfg.outgoing_v6, zeros, &ss);
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof(text));
	ck_assert_str_eq(text, "2001:db8:1::1"); /* not the subnet-router anycast */
	ck_assert_uint_eq(route_source_address(&cfg.outgoing_v4, ones, &ss),
			  sizeof(struct sockaddr_in));
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof(text));
	ck_assert_str_eq(text, "10.31.255.254"); /* never the broadcast address */
	route_source_address(&cfg.outgoing_v4, zeros, &ss);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof(text));
	ck_assert_str_eq(text, "10.16.0.1"); /* never the network's own */
	config_free(&cfg);
	config_init(&cfg);
	rules("outgoing 192.0.2.9\n");
	route_source_address(&cfg.outgoing_v4, ones, &ss);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof(text));
	ck_assert_str_eq(text, "192.0.2.9"); /* a fixed one ignores rnd */
}
END_TEST

START_TEST(test_format)
{
	char out[128];

	rules("route 10.0.0.0/8 port 443 via a\nroute .onion port 1-1024 via b\n"
	      "route * port 22 direct\n");
	config_dest_format(&cfg.routes[0], out, sizeof(out));
	ck_assert_str_eq(out, "10.0.0.0/8 port 443 via a");
	config_dest_format(&cfg.routes[1], out, sizeof(out));
	ck_assert_str_eq(out, ".onion port 1-1024 via b");
	config_dest_format(&cfg.routes[2], out, sizeof(out));
	ck_assert_str_eq(out, "* port 22 direct");
	ck_assert_int_eq(config_dest_format(&cfg.routes[0], out, 4), 25);
	ck_assert_str_eq(out, "10.");
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_dest_valid, 0, (int)ARRAY_LEN(dest_ok));
	tcase_add_loop_test(tc, test_dest_invalid, 0, (int)ARRAY_LEN(dest_bad));
	tcase_add_test(tc, test_dest_name_limits);
	tcase_add_test(tc, test_parse_ports);
	tcase_add_test(tc, test_prefix_equal);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_no_rules_is_direct);
	tcase_add_test(tc, test_star);
	tcase_add_test(tc, test_cidr_v4);
	tcase_add_test(tc, test_cidr_v6);
	tcase_add_test(tc, test_v4_mapped);
	tcase_add_test(tc, test_suffix);
	tcase_add_test(tc, test_exact_vs_suffix);
	tcase_add_test(tc, test_name_helpers);
	tcase_add_test(tc, test_ports);
	tcase_add_test(tc, test_first_match_wins);
	tcase_add_test(tc, test_source_pick);
	tcase_add_test(tc, test_source_address);
	tcase_add_test(tc, test_name_vs_cidr);
	tcase_add_test(tc, test_address_rule_vs_name_rule);
	tcase_add_test(tc, test_literal_name);
	tcase_add_test(tc, test_rule_matches);
	tcase_add_test(tc, test_cli_chain_wins);
	suite_add_tcase(s, tc);

	return s;
}

#include "check_main.h"
