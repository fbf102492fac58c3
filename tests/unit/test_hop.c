/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for hop.c: hop URLs, their error messages, the display form and
 * the --chain list. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/hop.h"

static struct hop parse_ok(const char *url)
{
	struct hop h;
	char err[HOP_ERR_MAX] = "";
	int rc = hop_parse(url, &h, err, sizeof(err));

	ck_assert_msg(rc == 0, "'%s' refused: %s", url, err);
	return h;
}

static void assert_err(const char *url, const char *want)
{
	struct hop h;
	char err[HOP_ERR_MAX] = "";

	ck_assert_int_eq(hop_parse(url, &h, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, want);
}

static void assert_domain(const struct target *t, const char *name, uint16_t port)
{
	ck_assert_uint_eq(t->type, TARGET_DOMAIN);
	ck_assert_uint_eq(t->domain_len, strlen(name));
	ck_assert_str_eq(t->addr.domain, name);
	ck_assert_uint_eq(t->port, port);
}

static void assert_ip(const struct target *t, int family, const char *text, uint16_t port)
{
	uint8_t want[16];

	ck_assert_int_eq(inet_pton(family, text, want), 1);
	ck_assert_uint_eq(t->type, family == AF_INET ? TARGET_IPV4 : TARGET_IPV6);
	if (family == AF_INET)
		ck_assert_mem_eq(t->addr.ipv4, want, 4);
	else
		ck_assert_mem_eq(t->addr.ipv6, want, 16);
	ck_assert_uint_eq(t->port, port);
}

/* ---- valid forms ---- */

START_TEST(test_schemes_and_default_ports)
{
	static const struct {
		const char *url;
		uint8_t type;
		uint16_t port;
		const char *display;
	} cases[] = {
		{ "socks4://proxy.example", HOP_SOCKS4, 1080, "socks4://proxy.example:1080" },
		{ "socks4a://proxy.example", HOP_SOCKS4A, 1080, "socks4a://proxy.example:1080" },
		{ "socks5://proxy.example", HOP_SOCKS5, 1080, "socks5://proxy.example:1080" },
		{ "socks5h://proxy.example", HOP_SOCKS5H, 1080, "socks5h://proxy.example:1080" },
		{ "http://proxy.example", HOP_HTTP, 8080, "http://proxy.example:8080" },
		{ "SOCKS5H://proxy.example:9050", HOP_SOCKS5H, 9050,
		  "socks5h://proxy.example:9050" },
		{ "Http://proxy.example:3128/", HOP_HTTP, 3128, "http://proxy.example:3128" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hop h = parse_ok(cases[i].url);
		ck_assert_uint_eq(h.type, cases[i].type);
		assert_domain(&h.addr, "proxy.example", cases[i].port);
		ck_assert_str_eq(h.display, cases[i].display);
		ck_assert(!h.has_user);
		ck_assert(!h.has_pass);
		ck_assert_str_eq(h.user, "");
		ck_assert_str_eq(h.pass, "");
		ck_assert_uint_eq(hop_default_port(h.type),
				  cases[i].type == HOP_HTTP ? 8080 : 1080);
	}
}
END_TEST

START_TEST(test_hosts)
{
	struct hop h = parse_ok("socks5://127.0.0.1:1080");
	assert_ip(&h.addr, AF_INET, "127.0.0.1", 1080);
	ck_assert_str_eq(h.display, "socks5://127.0.0.1:1080");

	h = parse_ok("socks5://[::1]:9050");
	assert_ip(&h.addr, AF_INET6, "::1", 9050);
	ck_assert_str_eq(h.display, "socks5://[::1]:9050");

	h = parse_ok("http://[2001:DB8::a]");
	assert_ip(&h.addr, AF_INET6, "2001:db8::a", 8080);
	ck_assert_str_eq(h.display, "http://[2001:db8::a]:8080");

	h = parse_ok("socks4://[::ffff:192.0.2.1]:1");
	assert_ip(&h.addr, AF_INET6, "::ffff:192.0.2.1", 1);

	h = parse_ok("socks5://localhost:65535");
	assert_domain(&h.addr, "localhost", 65535);

	h = parse_ok("socks5://My_Host-1.Example.:1");
	assert_domain(&h.addr, "My_Host-1.Example.", 1);

	/* Digits and dots plus a letter is a name. */
	h = parse_ok("socks5://1.2.3.4a:1");
	assert_domain(&h.addr, "1.2.3.4a", 1);

	/* 255 bytes is the longest name; leading zeros in a port are fine. */
	char url[400], name[256];
	memset(name, 'h', 255);
	name[255] = '\0';
	snprintf(url, sizeof(url), "socks5h://%s:00080", name);
	h = parse_ok(url);
	assert_domain(&h.addr, name, 80);
}
END_TEST

START_TEST(test_userinfo)
{
	struct hop h = parse_ok("socks5://alice:secret@127.0.0.1:1080");
	ck_assert(h.has_user);
	ck_assert(h.has_pass);
	ck_assert_str_eq(h.user, "alice");
	ck_assert_str_eq(h.pass, "secret");
	ck_assert_str_eq(h.display, "socks5://alice@127.0.0.1:1080");
	ck_assert_ptr_null(strstr(h.display, "secret"));

	/* Percent-decoding, in both parts, hex in either case. */
	h = parse_ok("http://b%6Fb:p%40ss%3a%2C%25@proxy:3128");
	ck_assert_str_eq(h.user, "bob");
	ck_assert_str_eq(h.pass, "p@ss:,%");
	ck_assert_str_eq(h.display, "http://bob@proxy:3128");

	/* Sub-delims and ':' are allowed raw; the password may hold ':'. */
	h = parse_ok("socks5h://a!$&'()*+,;=~-._b:x:y:z@h");
	ck_assert_str_eq(h.user, "a!$&'()*+,;=~-._b");
	ck_assert_str_eq(h.pass, "x:y:z");
	/* The display re-encodes what is not unreserved. */
	ck_assert_str_eq(h.display, "socks5h://a%21%24%26%27%28%29%2A%2B%2C%3B%3D~-._b@h:1080");

	/* User without password; an empty password. */
	h = parse_ok("socks5://alice@h");
	ck_assert(h.has_user);
	ck_assert(!h.has_pass);
	ck_assert_str_eq(h.pass, "");
	h = parse_ok("http://alice:@h");
	ck_assert(h.has_pass);
	ck_assert_str_eq(h.pass, "");

	/* SOCKS4 USERID. */
	h = parse_ok("socks4://ident@10.0.0.1:1080");
	ck_assert(h.has_user);
	ck_assert_str_eq(h.user, "ident");
	ck_assert_str_eq(h.display, "socks4://ident@10.0.0.1:1080");
	h = parse_ok("socks4a://ident@h");
	ck_assert_str_eq(h.user, "ident");

	/* Non-ASCII through percent-encoding, displayed encoded. */
	h = parse_ok("socks5://%C3%A9:%E2%82%AC@h:1");
	ck_assert_str_eq(h.user, "\xc3\xa9");
	ck_assert_str_eq(h.pass, "\xe2\x82\xac");
	ck_assert_str_eq(h.display, "socks5://%C3%A9@h:1");

	/* SOCKS5 takes a ':' in the user (RFC 1929 has lengths). */
	h = parse_ok("socks5://a%3Ab:c@h");
	ck_assert_str_eq(h.user, "a:b");
	ck_assert_str_eq(h.display, "socks5://a%3Ab@h:1080");
}
END_TEST

START_TEST(test_userinfo_limits)
{
	char url[2200], u[256], enc[800];
	struct hop h;

	memset(u, 'u', 255);
	u[255] = '\0';
	snprintf(url, sizeof(url), "socks5://%s:%s@h", u, u);
	h = parse_ok(url);
	ck_assert_uint_eq(strlen(h.user), 255);
	ck_assert_uint_eq(strlen(h.pass), 255);

	/* 255 bytes, every one of them percent-encoded: the longest display. */
	for (size_t i = 0; i < 255; i++)
		memcpy(enc + 3 * i, "%2F", 3);
	enc[765] = '\0';
	char name[256];
	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(url, sizeof(url), "socks5h://%s:%s@%s:65535", enc, enc, name);
	h = parse_ok(url);
	ck_assert_uint_eq(strlen(h.user), 255);
	ck_assert_uint_eq(strlen(h.pass), 255);
	ck_assert_uint_eq(strlen(h.display), HOP_DISPLAY_MAX - 1);
}
END_TEST

START_TEST(test_display_round_trip)
{
	static const char *const urls[] = {
		"socks5://a%20b%2Fc@h:1",
		"http://%C3%A9t%C3%A9:x@[::1]:2",
		"socks4a://u@1.2.3.4",
		"socks5h://x~y@name.example",
		"socks4://h",
	};

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct hop a = parse_ok(urls[i]);
		struct hop b = parse_ok(a.display);
		ck_assert_uint_eq(a.type, b.type);
		ck_assert_str_eq(a.user, b.user);
		ck_assert_str_eq(a.display, b.display);
		ck_assert_uint_eq(a.addr.type, b.addr.type);
		ck_assert_uint_eq(a.addr.port, b.addr.port);
		ck_assert_mem_eq(&a.addr.addr, &b.addr.addr, sizeof(a.addr.addr));
	}
}
END_TEST

START_TEST(test_name_resolution_flags)
{
	static const struct {
		const char *url;
		bool sends, resolves;
	} cases[] = {
		{ "socks4://h", false, false }, { "socks4a://h", true, true },
		{ "socks5://h", true, false },	{ "socks5h://h", true, true },
		{ "http://h", true, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hop h = parse_ok(cases[i].url);
		ck_assert(hop_can_send_names(&h) == cases[i].sends);
		ck_assert(hop_resolves_names(&h) == cases[i].resolves);
	}
	ck_assert_str_eq(hop_type_name(HOP_SOCKS4), "socks4");
	ck_assert_str_eq(hop_type_name(HOP_SOCKS4A), "socks4a");
	ck_assert_str_eq(hop_type_name(HOP_SOCKS5), "socks5");
	ck_assert_str_eq(hop_type_name(HOP_SOCKS5H), "socks5h");
	ck_assert_str_eq(hop_type_name(HOP_HTTP), "http");
	ck_assert_str_eq(hop_type_name(0), "?");
	ck_assert_uint_eq(hop_default_port(0), 0);
}
END_TEST

/* ---- errors: every message ---- */

START_TEST(test_err_scheme)
{
	assert_err("xyz://a:1", "hop 'xyz://a:1': unknown scheme 'xyz' (expected socks4, socks4a, "
				"socks5, socks5h or http)");
	assert_err("https://a:1", "hop 'https://a:1': unknown scheme 'https' (expected socks4, "
				  "socks4a, socks5, socks5h or http)");
	assert_err("://a:1", "hop '://a:1': unknown scheme '' (expected socks4, socks4a, socks5, "
			     "socks5h or http)");
	assert_err("127.0.0.1:1080", "hop '127.0.0.1:1080': missing scheme (expected socks4://, "
				     "socks4a://, socks5://, socks5h:// or http://)");
	assert_err("socks5:/h", "hop 'socks5:/h': missing scheme (expected socks4://, socks4a://, "
				"socks5://, socks5h:// or http://)");
	assert_err("", "hop '': empty URL");
}
END_TEST

START_TEST(test_err_host)
{
	assert_err("socks5://", "hop 'socks5://': empty host");
	assert_err("socks5://:1080", "hop 'socks5://:1080': empty host");
	assert_err("socks5://alice@", "hop 'socks5://alice@': empty host");
	assert_err("socks5://::1:1080",
		   "hop 'socks5://::1:1080': IPv6 addresses must be in brackets ('[addr]:port')");
	assert_err("socks5://[::1:1080",
		   "hop 'socks5://[::1:1080': missing ']' after IPv6 address");
	assert_err("socks5://[::1]1080", "hop 'socks5://[::1]1080': unexpected '1080' after ']'");
	assert_err("socks5://[zz::1]:1", "hop 'socks5://[zz::1]:1': invalid IPv6 address 'zz::1'");
	assert_err("socks5://[]:1", "hop 'socks5://[]:1': invalid IPv6 address ''");
	assert_err("socks5://[1.2.3.4]:1", "hop 'socks5://[1.2.3.4]:1': invalid IPv6 address "
					   "'1.2.3.4'");
	assert_err("socks5://[fe80::1%25eth0]:1",
		   "hop 'socks5://[fe80::1%25eth0]:1': invalid IPv6 address 'fe80::1%25eth0' (zone "
		   "ids are not supported)");
	assert_err("socks5://1.2.3.256:1",
		   "hop 'socks5://1.2.3.256:1': invalid IPv4 address '1.2.3.256'");
	assert_err("socks5://10.1:1", "hop 'socks5://10.1:1': invalid IPv4 address '10.1'");
	assert_err("socks5://a*b:1",
		   "hop 'socks5://a*b:1': invalid character '*' in host name 'a*b'");
	assert_err("socks5://a\tb:1",
		   "hop 'socks5://a\\x09b:1': invalid character '\\x09' in host name 'a\\x09b'");
	assert_err("socks5://a%41:1",
		   "hop 'socks5://a%41:1': invalid character '%' in host name 'a%41'");

	char url[400], name[257], want[HOP_ERR_MAX];
	memset(name, 'h', 256);
	name[256] = '\0';
	snprintf(url, sizeof(url), "socks5://%s", name);
	snprintf(want, sizeof(want), "hop 'socks5://%.*s...': host name longer than 255 bytes", 87,
		 name);
	assert_err(url, want);
}
END_TEST

START_TEST(test_err_port)
{
	assert_err("socks5://h:", "hop 'socks5://h:': empty port after ':'");
	assert_err("socks5://[::1]:", "hop 'socks5://[::1]:': empty port after ':'");
	assert_err("socks5://h:0", "hop 'socks5://h:0': port '0' out of range (1-65535)");
	assert_err("socks5://h:65536",
		   "hop 'socks5://h:65536': port '65536' out of range (1-65535)");
	assert_err("socks5://h:99999999999999999999999",
		   "hop 'socks5://h:99999999999999999999999': port '99999999999999999999999' out "
		   "of range (1-65535)");
	assert_err("socks5://h:http", "hop 'socks5://h:http': port 'http' is not a number");
	assert_err("socks5://h:-1", "hop 'socks5://h:-1': port '-1' is not a number");
	assert_err("socks5://h:+1", "hop 'socks5://h:+1': port '+1' is not a number");
	assert_err("socks5://h: 1", "hop 'socks5://h: 1': port ' 1' is not a number");
}
END_TEST

START_TEST(test_err_path)
{
	static const char tail[] = "' (a hop is scheme://[user[:password]@]host[:port])";
	static const struct {
		const char *url, *rest;
	} cases[] = {
		{ "http://h:3128/x", "/x" },	    { "http://h:3128//", "//" },
		{ "http://h:3128?q=1", "?q=1" },    { "http://h:3128#f", "#f" },
		{ "socks5://u:p@h/path", "/path" }, { "http://h/", NULL },
	};
	char want[HOP_ERR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].rest == NULL) {
			parse_ok(cases[i].url);
			continue;
		}
		char quoted[128];
		snprintf(quoted, sizeof(quoted), "%s", cases[i].url);
		/* The password is never quoted. */
		if (strstr(cases[i].url, "u:p@") != NULL)
			snprintf(quoted, sizeof(quoted), "socks5://u:***@h/path");
		snprintf(want, sizeof(want), "hop '%s': unexpected path, query or fragment '%s%s",
			 quoted, cases[i].rest, tail);
		assert_err(cases[i].url, want);
	}
}
END_TEST

START_TEST(test_err_userinfo)
{
	assert_err("socks4://u:p@h", "hop 'socks4://u:***@h': socks4 hops take a user ID but no "
				     "password");
	assert_err("socks4a://u:@h", "hop 'socks4a://u:***@h': socks4a hops take a user ID but no "
				     "password");
	assert_err("socks5://@h", "hop 'socks5://@h': empty user name");
	assert_err("socks5://:pw@h", "hop 'socks5://:***@h': empty user name");
	assert_err("socks5://a:p@ss@h",
		   "hop 'socks5://a:***@h': '@' in the password must be percent-encoded (%40)");
	assert_err("socks5://a@b@h",
		   "hop 'socks5://a@b@h': '@' in the user name must be percent-encoded (%40)");
	assert_err("socks5://a:p/ss@h",
		   "hop 'socks5://a:***@h': '/' in the password must be percent-encoded (%2F)");
	assert_err("socks5://a:p?s@h",
		   "hop 'socks5://a:***@h': '?' in the password must be percent-encoded (%3F)");
	assert_err("socks5://a:p#s@h",
		   "hop 'socks5://a:***@h': '#' in the password must be percent-encoded (%23)");
	assert_err("socks5://a b:p@h",
		   "hop 'socks5://a b:***@h': byte 0x20 in the user name must be percent-encoded "
		   "(%20)");
	assert_err("socks5://a:p\xc3\xa9@h",
		   "hop 'socks5://a:***@h': byte 0xc3 in the password must be percent-encoded "
		   "(%C3)");
	assert_err("socks5://a%2:p@h",
		   "hop 'socks5://a%2:***@h': bad percent-escape in the user name ('%' must be "
		   "followed by two hex digits)");
	assert_err(
		"socks5://a:%zz@h",
		"hop 'socks5://a:***@h': bad percent-escape in the password ('%' must be followed "
		"by two hex digits)");
	assert_err(
		"socks5://a:p%@h",
		"hop 'socks5://a:***@h': bad percent-escape in the password ('%' must be followed "
		"by two hex digits)");
	assert_err("socks5://a%00b@h", "hop 'socks5://a%00b@h': NUL byte (%00) in the user name");
	assert_err("socks5://a:%00@h", "hop 'socks5://a:***@h': NUL byte (%00) in the password");
	assert_err(
		"http://a%3Ab:p@h",
		"hop 'http://a%3Ab:***@h': ':' in an http user name (Basic auth cannot carry it)");
	assert_err("http://a%0Ab:p@h", "hop 'http://a%0Ab:***@h': control character in an http "
				       "user name");
	assert_err("http://ab:p%7F@h",
		   "hop 'http://ab:***@h': control character in an http password");

	char url[700], u[300], want[HOP_ERR_MAX];
	memset(u, 'u', 256);
	u[256] = '\0';
	snprintf(url, sizeof(url), "socks5://%s@h", u);
	snprintf(want, sizeof(want), "hop 'socks5://%.*s...': user name longer than 255 bytes", 87,
		 u);
	assert_err(url, want);
	snprintf(url, sizeof(url), "socks5://u:%s@h", u);
	assert_err(url, "hop 'socks5://u:***@h': password longer than 255 bytes");
}
END_TEST

START_TEST(test_err_quoting)
{
	char url[HOP_URL_MAX + 10];
	struct hop h;
	char err[HOP_ERR_MAX];

	/* Over HOP_URL_MAX. */
	memcpy(url, "socks5://", 9);
	memset(url + 9, 'h', HOP_URL_MAX - 8);
	url[HOP_URL_MAX + 1] = '\0';
	ck_assert_int_eq(hop_parse(url, &h, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "': URL longer than 2048 bytes"));
	ck_assert_uint_le(strlen(err), 150);

	/* Control bytes and quotes are escaped in the quoted URL. */
	assert_err("xy\x1bz'\\://h", "hop 'xy\\x1bz\\x27\\x5c://h': unknown scheme "
				     "'xy\\x1bz\\x27\\x5c' (expected socks4, socks4a, socks5, "
				     "socks5h or http)");

	/* A long password is hidden whole, whatever its length. */
	char pw[300];
	memset(pw, 'P', 299);
	pw[299] = '\0';
	snprintf(url, sizeof(url), "socks5://u:%s@h:0", pw);
	assert_err(url, "hop 'socks5://u:***@h:0': port '0' out of range (1-65535)");

	/* Without a scheme, all before the '@' is hidden. */
	assert_err("alice:secret@h:1", "hop '***@h:1': missing scheme (expected socks4://, "
				       "socks4a://, socks5://, socks5h:// or http://)");

	/* A small buffer is cut, NUL-terminated; NULL is fine. */
	char small[16];
	ck_assert_int_eq(hop_parse("xyz://a", &h, small, sizeof(small)), -EINVAL);
	ck_assert_str_eq(small, "hop 'xyz://a': ");
	ck_assert_int_eq(hop_parse("xyz://a", &h, NULL, 0), -EINVAL);
}
END_TEST

/* ---- lists ---- */

START_TEST(test_list)
{
	struct hop *hops;
	size_t n;
	char err[HOP_ERR_MAX] = "";

	ck_assert_int_eq(hop_list_parse("socks5://127.0.0.1:9050", &hops, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(hops[0].display, "socks5://127.0.0.1:9050");
	hop_list_free(hops, n);

	ck_assert_int_eq(hop_list_parse(" socks5h://a:b%2Cc@h1 ,http://h2:3128,\tsocks4://[::1]:1 ",
					&hops, &n, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(hops[0].display, "socks5h://a@h1:1080");
	ck_assert_str_eq(hops[0].pass, "b,c");
	ck_assert_str_eq(hops[1].display, "http://h2:3128");
	ck_assert_str_eq(hops[2].display, "socks4://[::1]:1");
	hop_list_free(hops, n);
	hop_list_free(NULL, 0);
}
END_TEST

START_TEST(test_list_max)
{
	char csv[64 * (HOP_LIST_MAX + 1)];
	struct hop *hops, dummy;
	size_t n, len = 0;
	char err[HOP_ERR_MAX] = "";

	for (int i = 0; i < HOP_LIST_MAX; i++)
		len += (size_t)snprintf(csv + len, sizeof(csv) - len, "%ssocks5://h%d:%d",
					i ? "," : "", i, i + 1);
	ck_assert_int_eq(hop_list_parse(csv, &hops, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, HOP_LIST_MAX);
	ck_assert_str_eq(hops[HOP_LIST_MAX - 1].display, "socks5://h31:32");
	hop_list_free(hops, n);

	snprintf(csv + len, sizeof(csv) - len, ",socks5://one-too-many");
	hops = &dummy; /* must be reset */
	n = 7;
	ck_assert_int_eq(hop_list_parse(csv, &hops, &n, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "33 hops in the list; at most 32 are allowed");
	ck_assert_ptr_null(hops);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_list_errors)
{
	static const struct {
		const char *csv, *err;
	} cases[] = {
		{ "", "empty hop list" },
		{ "  \t ", "empty hop list" },
		{ "socks5://a,,socks5://b", "hop 2 '': empty URL" },
		{ "socks5://a,", "hop 2 '': empty URL" },
		{ ",socks5://a", "hop 1 '': empty URL" },
		{ "socks5://a, ", "hop 2 '': empty URL" },
		{ "socks5://a,socks5://b:0",
		  "hop 2 'socks5://b:0': port '0' out of range (1-65535)" },
		{ "socks5://a,ftp://b", "hop 2 'ftp://b': unknown scheme 'ftp' (expected socks4, "
					"socks4a, socks5, socks5h or http)" },
		{ "socks5://a,127.0.0.1:1080", "hop 2 '127.0.0.1:1080': missing scheme (expected "
					       "socks4://, socks4a://, socks5://, socks5h:// or "
					       "http://; a ',' inside user info must be written "
					       "%2C)" },
		/* The second half of a split password is reported, not the
		 * first half's "port". */
		{ "socks5://u:pa,ss@h:1,socks5://b",
		  "hop 2 '***@h:1': missing scheme (expected socks4://, socks4a://, socks5://, "
		  "socks5h:// or http://; a ',' inside user info must be written %2C)" },
		{ "socks5://a:0,b",
		  "hop 2 'b': missing scheme (expected socks4://, socks4a://, "
		  "socks5://, socks5h:// or http://; a ',' inside user info must be "
		  "written %2C)" },
		{ "x,socks5://a", "hop 1 'x': missing scheme (expected socks4://, socks4a://, "
				  "socks5://, socks5h:// or http://)" },
		{ "http://u:s3cret@a:1/x,socks5://b",
		  "hop 1 'http://u:***@a:1/x': unexpected path, query or fragment '/x' (a hop is "
		  "scheme://[user[:password]@]host[:port])" },
	};
	struct hop *hops;
	size_t n;
	char err[HOP_ERR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(hop_list_parse(cases[i].csv, &hops, &n, err, sizeof(err)),
				 -EINVAL);
		ck_assert_str_eq(err, cases[i].err);
		ck_assert_ptr_null(hops);
		ck_assert_uint_eq(n, 0);
	}
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("hop");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_schemes_and_default_ports);
	tcase_add_test(tc, test_hosts);
	tcase_add_test(tc, test_userinfo);
	tcase_add_test(tc, test_userinfo_limits);
	tcase_add_test(tc, test_display_round_trip);
	tcase_add_test(tc, test_name_resolution_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_err_scheme);
	tcase_add_test(tc, test_err_host);
	tcase_add_test(tc, test_err_port);
	tcase_add_test(tc, test_err_path);
	tcase_add_test(tc, test_err_userinfo);
	tcase_add_test(tc, test_err_quoting);
	suite_add_tcase(s, tc);

	tc = tcase_create("list");
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_max);
	tcase_add_test(tc, test_list_errors);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
