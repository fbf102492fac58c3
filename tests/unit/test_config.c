/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for the configuration parser (src/config/).
 *
 * Error messages are part of the interface: `hopsocks -t` prints them and
 * people grep for them, so most invalid-input tests compare the whole
 * "name:LINE: message" text. */
#include <autoconfig.h>

#include "config/config.h"
#include "config/config_load.h"
#include "config/config_value.h"
#include "config_suite.h"

#include <arpa/inet.h>
#include <check.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int parse_as(const char *name, const char *text)
{
	return config_parse_text(&cfg, name, text, strlen(text), err, sizeof(err));
}

static int parse(const char *text)
{
	return parse_as("x.conf", text);
}

#define ck_parse_ok(text)                                                         \
	do {                                                                      \
		int rc_ = parse(text);                                            \
		ck_assert_msg(rc_ == 0, "parse of [%s] failed: %s", (text), err); \
	} while (0)

#define ck_parse_err(text, expected)                                           \
	do {                                                                   \
		int rc_ = parse(text);                                         \
		ck_assert_msg(rc_ == -1, "parse of [%s] should fail", (text)); \
		ck_assert_str_eq(err, (expected));                             \
	} while (0)

static uint16_t addr_port(const struct config_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* ---- defaults ---- */

START_TEST(test_defaults)
{
	ck_assert_ptr_null(cfg.listen);
	ck_assert_uint_eq(cfg.nlisten, 0);
	ck_assert_uint_eq(cfg.workers, 0);
	ck_assert_ptr_null(cfg.users_file);
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_AUTO);
	ck_assert_uint_eq(cfg.timeout_handshake_ms, 10000);
	ck_assert_uint_eq(cfg.timeout_connect_ms, 10000);
	ck_assert_uint_eq(cfg.timeout_idle_ms, 300000);
	ck_assert_int_eq(cfg.log_level, CONFIG_LOG_INFO);
	ck_assert_int_eq(cfg.log_to, CONFIG_LOG_TO_AUTO);
	ck_assert(cfg.access_log);
	ck_assert_uint_eq(cfg.max_connections, 0);
	ck_assert_uint_eq(cfg.splice_pipes, 32);
	ck_assert_uint_eq(cfg.outgoing_v4.addr.len, 0);
	ck_assert_uint_eq(cfg.outgoing_v6.addr.len, 0);
	ck_assert_ptr_null(cfg.resolvers);
	ck_assert_int_eq(cfg.addr_order, CONFIG_ORDER_AS_RETURNED);
	ck_assert_uint_eq(cfg.dns_cache_size, 1024);
	ck_assert_uint_eq(cfg.dns_cache_max_ttl_ms, 300000);
	ck_assert_ptr_null(cfg.pid_file);
}
END_TEST

START_TEST(test_empty_text)
{
	ck_parse_ok("");
	ck_assert_int_eq(config_parse_text(&cfg, "x.conf", NULL, 0, err, sizeof(err)), 0);
	ck_parse_ok("\n\n   \n\t\n# only a comment\n");
	ck_assert_uint_eq(cfg.nlisten, 0);
	ck_assert_uint_eq(cfg.timeout_idle_ms, 300000);
}
END_TEST

/* ---- listen ---- */

static const struct {
	const char *in;
	int family;
	const char *text;
	uint16_t port;
} listen_ok[] = {
	{ "127.0.0.1:1080", AF_INET, "127.0.0.1:1080", 1080 },
	{ "10.1.2.3:443", AF_INET, "10.1.2.3:443", 443 },
	{ "0.0.0.0:1", AF_INET, "0.0.0.0:1", 1 },
	{ "*:1080", AF_INET, "0.0.0.0:1080", 1080 },
	{ "1080", AF_INET, "127.0.0.1:1080", 1080 },
	{ "65535", AF_INET, "127.0.0.1:65535", 65535 },
	{ "01080", AF_INET, "127.0.0.1:1080", 1080 },
	{ "[::1]:1080", AF_INET6, "[::1]:1080", 1080 },
	{ "[::]:1080", AF_INET6, "[::]:1080", 1080 },
	{ "[2001:DB8:0::1]:8080", AF_INET6, "[2001:db8::1]:8080", 8080 },
	{ "[::ffff:1.2.3.4]:9", AF_INET6, "[::ffff:1.2.3.4]:9", 9 },
};

START_TEST(test_listen_valid)
{
	char line[128];

	snprintf(line, sizeof(line), "listen %s\n", listen_ok[_i].in);
	ck_parse_ok(line);
	ck_assert_uint_eq(cfg.nlisten, 1);
	ck_assert_int_eq(cfg.listen[0].ss.ss_family, listen_ok[_i].family);
	ck_assert_str_eq(cfg.listen[0].text, listen_ok[_i].text);
	ck_assert_uint_eq(addr_port(&cfg.listen[0]), listen_ok[_i].port);
	ck_assert_uint_eq(cfg.listen[0].len, listen_ok[_i].family == AF_INET
						     ? sizeof(struct sockaddr_in)
						     : sizeof(struct sockaddr_in6));
}
END_TEST

START_TEST(test_listen_sockaddr)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	ck_parse_ok("listen 1080\nlisten [::1]:2080\nlisten *:3080\n");
	ck_assert_uint_eq(cfg.nlisten, 3);
	sin = (const struct sockaddr_in *)&cfg.listen[0].ss;
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	sin6 = (const struct sockaddr_in6 *)&cfg.listen[1].ss;
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 2080);
	sin = (const struct sockaddr_in *)&cfg.listen[2].ss;
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), INADDR_ANY);
}
END_TEST

static const struct {
	const char *in;
	const char *msg;
} listen_bad[] = {
	{ "99999", "invalid port '99999'" },
	{ "0", "invalid port '0'" },
	{ "127.0.0.1:0", "invalid port '0'" },
	{ "127.0.0.1:65536", "invalid port '65536'" },
	{ "127.0.0.1:-1", "invalid port '-1'" },
	{ "127.0.0.1:+80", "invalid port '+80'" },
	{ "127.0.0.1:http", "invalid port 'http'" },
	{ "127.0.0.1:", "missing port" },
	{ "127.0.0.1", "missing port in '127.0.0.1'" },
	{ "[::1]", "missing port in '[::1]'" },
	{ "[::1]:", "missing port" },
	{ "::1:1080", "missing port in '::1:1080' (write IPv6 addresses as [ADDR]:PORT)" },
	{ "[::1", "missing ']' in '[::1'" },
	{ "[::1]1080", "invalid address '[::1]1080'" },
	{ "[1.2.3.4]:80", "invalid address '1.2.3.4'" },
	{ "localhost:1080", "'localhost' is a host name; only IP addresses are accepted here "
			    "(127.0.0.1 or [::1])" },
	{ "256.0.0.1:80", "invalid address '256.0.0.1'" },
	{ "01.2.3.4:80", "invalid address '01.2.3.4'" },
	{ ":1080", "invalid address ''" },
	{ "*", "missing port in '*'" },
	{ "*:", "missing port" },
	{ "*:x", "invalid port 'x'" },
	{ "[fe80::1%eth0]:80", "invalid address 'fe80::1%eth0' (scope ids are not supported)" },
	{ "", "empty address" },
};

START_TEST(test_listen_invalid)
{
	struct config_addr addr;
	char line[128], expected[CONFIG_ERR_MAX];

	ck_assert_int_eq(config_parse_listen(listen_bad[_i].in, &addr, err, sizeof(err)), -1);
	ck_assert_str_eq(err, listen_bad[_i].msg);

	/* The same text through the file parser gets the file:line: directive prefix. */
	snprintf(line, sizeof(line), "\nlisten \"%s\"\n", listen_bad[_i].in);
	snprintf(expected, sizeof(expected), "x.conf:2: listen: %s", listen_bad[_i].msg);
	ck_parse_err(line, expected);
}
END_TEST

START_TEST(test_listen_repeat_and_duplicate)
{
	ck_parse_ok("listen 127.0.0.1:1080\nlisten [::1]:1080\nlisten 127.0.0.1:1081\n");
	ck_assert_uint_eq(cfg.nlisten, 3);
	ck_assert_str_eq(cfg.listen[2].text, "127.0.0.1:1081");

	/* "1080" is 127.0.0.1:1080, which line 1 already has. */
	ck_parse_err("listen 1080\n", "x.conf:1: listen: duplicate address '127.0.0.1:1080'");
	ck_parse_err("listen [0:0::1]:1080\n", "x.conf:1: listen: duplicate address '[::1]:1080'");
	ck_assert_uint_eq(cfg.nlisten, 3);
}
END_TEST

START_TEST(test_listen_args)
{
	ck_parse_err("listen\n", "x.conf:1: listen: missing argument");
	ck_parse_err("listen 1080 1081\n", "x.conf:1: listen: too many arguments");
	ck_parse_err("listen 1 2 3 4 5 6 7 8\n", "x.conf:1: listen: too many arguments");
}
END_TEST

/* ---- workers ---- */

START_TEST(test_workers)
{
	ck_parse_ok("workers 4\n");
	ck_assert_uint_eq(cfg.workers, 4);
	ck_parse_ok("workers 1\n");
	ck_assert_uint_eq(cfg.workers, 1);
	ck_parse_ok("workers 256\n");
	ck_assert_uint_eq(cfg.workers, 256);
	ck_parse_ok("workers auto\n");
	ck_assert_uint_eq(cfg.workers, 0);

	ck_parse_err("workers 0\n",
		     "x.conf:1: workers: invalid value '0' (expected 1..256 or auto)");
	ck_parse_err("workers 257\n",
		     "x.conf:1: workers: invalid value '257' (expected 1..256 or auto)");
	ck_parse_err("workers -1\n",
		     "x.conf:1: workers: invalid value '-1' (expected 1..256 or auto)");
	ck_parse_err("workers many\n",
		     "x.conf:1: workers: invalid value 'many' (expected 1..256 or auto)");
	ck_parse_err("workers AUTO\n",
		     "x.conf:1: workers: invalid value 'AUTO' (expected 1..256 or auto)");
	ck_parse_err("workers\n", "x.conf:1: workers: missing argument");
	ck_parse_err("workers 4 4\n", "x.conf:1: workers: too many arguments");
	ck_assert_uint_eq(cfg.workers, 0);
}
END_TEST

/* ---- paths ---- */

START_TEST(test_users)
{
	ck_parse_ok("users /etc/hopsocks/users\n");
	ck_assert_str_eq(cfg.users_file, "/etc/hopsocks/users");
	/* The later line wins; the first string must not leak (sanitizer build). */
	ck_parse_ok("users \"/srv/my users\"\n");
	ck_assert_str_eq(cfg.users_file, "/srv/my users");
	ck_parse_err("users \"\"\n", "x.conf:1: users: empty path");
	ck_parse_err("users\n", "x.conf:1: users: missing argument");
	ck_parse_err("users /a /b\n", "x.conf:1: users: expected 'users PATH' or 'users pam SERVICE'");
	ck_parse_err("users pam a b\n", "x.conf:1: users: too many arguments");
	ck_assert_str_eq(cfg.users_file, "/srv/my users");
}
END_TEST

/* users pam SERVICE: a name for /etc/pam.d, replacing a user file (and
 * replaced by one); refused with a reason where PAM was not built in. */
START_TEST(test_users_pam)
{
#ifdef HAVE_PAM
	ck_parse_ok("users /etc/hopsocks/users\nusers pam hopsocks\n");
	ck_assert_ptr_null(cfg.users_file);
	ck_assert_str_eq(cfg.users_pam, "hopsocks");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_OFF); /* no password in SOCKS4 */
	ck_parse_ok("users pam hopsocks\nusers /etc/hopsocks/users\n");
	ck_assert_ptr_null(cfg.users_pam);
	ck_assert_str_eq(cfg.users_file, "/etc/hopsocks/users");
	ck_parse_ok("users pam sss_proxy-1.x\n");
	ck_assert_str_eq(cfg.users_pam, "sss_proxy-1.x");
	ck_parse_err("users pam pam.d/../../shadow\n", "x.conf:1: users: a PAM service name holds only "
						"letters, digits, '.', '_' and '-'");
	ck_parse_err("users pam .hidden\n",
		     "x.conf:1: users: a PAM service name is 1 to 64 bytes, not starting with '.'");
	ck_parse_err("users pam \"\"\n",
		     "x.conf:1: users: a PAM service name is 1 to 64 bytes, not starting with '.'");
	ck_parse_ok("users pam x\nsocks4 known-user\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "x.conf:2: socks4 known-user needs a user file (users PATH or -U): "
			      "with 'users pam' there is no list of users to check");
#else
	ck_parse_err("users pam hopsocks\n",
		     "x.conf:1: users: hopsocks was built without PAM (install libpam0g-dev and "
		     "rebuild)");
#endif
}
END_TEST

START_TEST(test_pid_file)
{
	ck_parse_ok("pid-file /run/hopsocks.pid\npid-file /run/other.pid\n");
	ck_assert_str_eq(cfg.pid_file, "/run/other.pid");
	ck_parse_err("pid-file \"\"\n", "x.conf:1: pid-file: empty path");
	ck_parse_err("pid-file\n", "x.conf:1: pid-file: missing argument");
}
END_TEST

/* ---- keyword directives ---- */

START_TEST(test_socks4)
{
	ck_parse_ok("socks4 on\n");
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_ON);
	ck_parse_ok("socks4 off\n");
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_OFF);
	ck_parse_ok("socks4 known-user\n");
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_KNOWN_USER);
	ck_parse_ok("socks4 auto\n");
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_AUTO);
	ck_parse_err(
		"socks4 yes\n",
		"x.conf:1: socks4: invalid value 'yes' (expected auto, on, known-user or off)");
	ck_parse_err("socks4\n", "x.conf:1: socks4: missing argument");
}
END_TEST

START_TEST(test_log)
{
	static const struct {
		const char *word;
		enum config_log_level level;
	} levels[] = {
		{ "error", CONFIG_LOG_ERROR },
		{ "warn", CONFIG_LOG_WARN },
		{ "info", CONFIG_LOG_INFO },
		{ "debug", CONFIG_LOG_DEBUG },
	};
	char line[64];

	for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
		snprintf(line, sizeof(line), "log %s\n", levels[i].word);
		ck_parse_ok(line);
		ck_assert_int_eq(cfg.log_level, levels[i].level);
	}
	ck_parse_err(
		"log warning\n",
		"x.conf:1: log: invalid value 'warning' (expected error, warn, info or debug)");
	ck_parse_err("log info debug\n", "x.conf:1: log: too many arguments");
}
END_TEST

START_TEST(test_log_to)
{
	ck_parse_ok("log-to syslog\n");
	ck_assert_int_eq(cfg.log_to, CONFIG_LOG_TO_SYSLOG);
	ck_parse_ok("log-to stderr\n");
	ck_assert_int_eq(cfg.log_to, CONFIG_LOG_TO_STDERR);
	ck_parse_ok("log-to auto\n");
	ck_assert_int_eq(cfg.log_to, CONFIG_LOG_TO_AUTO);
	ck_assert_ptr_null(cfg.log_file);
	ck_parse_err("log-to file\n", "x.conf:1: log-to: file needs a path (log-to file PATH)");
	ck_parse_err("log-to stderr /tmp/x\n",
		     "x.conf:1: log-to: stderr takes no path (only log-to file PATH does)");
	ck_parse_err("log-to disk\n", "x.conf:1: log-to: invalid value 'disk' (expected auto, "
				      "stderr, syslog or file PATH)");
	/* The line is kept: the file is opened later, and its error names it. */
	ck_parse_ok("log  info\nlog-to file /var/log/hopsocks/hopsocks.log\n");
	ck_assert_int_eq(cfg.log_to, CONFIG_LOG_TO_FILE);
	ck_assert_str_eq(cfg.log_file, "/var/log/hopsocks/hopsocks.log");
	ck_assert_str_eq(cfg.log_file_where, "x.conf:2");
	/* The last log-to wins, and forgets an earlier file. */
	ck_parse_ok("log-to file a.log\nlog-to syslog\n");
	ck_assert_int_eq(cfg.log_to, CONFIG_LOG_TO_SYSLOG);
	ck_assert_ptr_null(cfg.log_file);
	ck_assert_ptr_null(cfg.log_file_where);
}
END_TEST

START_TEST(test_log_format)
{
	ck_parse_ok("listen 127.0.0.1:1080\n");
	ck_assert(!cfg.log_json);
	ck_parse_ok("log-format json\n");
	ck_assert(cfg.log_json);
	ck_parse_ok("log-format json\nlog-format text\n");
	ck_assert(!cfg.log_json);
	ck_parse_err("log-format xml\n",
		     "x.conf:1: log-format: invalid value 'xml' (expected text or json)");
}
END_TEST

START_TEST(test_access_log)
{
	static const struct {
		const char *word;
		bool value;
	} words[] = {
		{ "off", false }, { "on", true },     { "no", false },
		{ "yes", true },  { "false", false }, { "true", true },
	};
	char line[64];

	for (size_t i = 0; i < ARRAY_LEN(words); i++) {
		snprintf(line, sizeof(line), "access-log %s\n", words[i].word);
		ck_parse_ok(line);
		ck_assert_int_eq(cfg.access_log, words[i].value);
	}
	ck_parse_err("access-log 1\n",
		     "x.conf:1: access-log: invalid value '1' (expected on or off)");
	ck_parse_err("access-log On\n",
		     "x.conf:1: access-log: invalid value 'On' (expected on or off)");
	ck_parse_err("access-log\n", "x.conf:1: access-log: missing argument");
}
END_TEST

START_TEST(test_address_order)
{
	static const struct {
		const char *word;
		enum config_addr_order order;
	} orders[] = {
		{ "ipv4-first", CONFIG_ORDER_IPV4_FIRST },
		{ "ipv6-first", CONFIG_ORDER_IPV6_FIRST },
		{ "ipv4-only", CONFIG_ORDER_IPV4_ONLY },
		{ "ipv6-only", CONFIG_ORDER_IPV6_ONLY },
		{ "as-returned", CONFIG_ORDER_AS_RETURNED },
	};
	char line[64];

	for (size_t i = 0; i < ARRAY_LEN(orders); i++) {
		snprintf(line, sizeof(line), "address-order %s\n", orders[i].word);
		ck_parse_ok(line);
		ck_assert_int_eq(cfg.addr_order, orders[i].order);
	}
	ck_parse_err("address-order random\n",
		     "x.conf:1: address-order: invalid value 'random' (expected as-returned, "
		     "ipv4-first, ipv6-first, ipv4-only or ipv6-only)");
}
END_TEST

/* ---- numbers ---- */

START_TEST(test_max_connections)
{
	ck_parse_ok("max-connections 5000\n");
	ck_assert_uint_eq(cfg.max_connections, 5000);
	ck_parse_ok("max-connections 4294967295\n");
	ck_assert_uint_eq(cfg.max_connections, UINT_MAX);
	ck_parse_ok("max-connections 0\n");
	ck_assert_uint_eq(cfg.max_connections, 0);
	ck_parse_err("max-connections 4294967296\n",
		     "x.conf:1: max-connections: invalid number '4294967296' "
		     "(expected a count, 0 for unlimited)");
	ck_parse_err("max-connections -1\n", "x.conf:1: max-connections: invalid number '-1' "
					     "(expected a count, 0 for unlimited)");
	ck_parse_err("max-connections 1e3\n", "x.conf:1: max-connections: invalid number '1e3' "
					      "(expected a count, 0 for unlimited)");
}
END_TEST

START_TEST(test_splice_pipes)
{
	ck_parse_ok("splice-pipes 0\n");
	ck_assert_uint_eq(cfg.splice_pipes, 0);
	ck_parse_ok("splice-pipes 4096\n");
	ck_assert_uint_eq(cfg.splice_pipes, 4096);
	ck_parse_err("splice-pipes 4097\n", "x.conf:1: splice-pipes: invalid number '4097' "
					    "(expected 0..4096, 0 for no splice)");
	ck_parse_err("splice-pipes -1\n", "x.conf:1: splice-pipes: invalid number '-1' "
					  "(expected 0..4096, 0 for no splice)");
	ck_parse_err("splice-pipes\n", "x.conf:1: splice-pipes: missing argument");
}
END_TEST

START_TEST(test_dns_cache)
{
	ck_parse_ok("dns-cache 0\n");
	ck_assert_uint_eq(cfg.dns_cache_size, 0);
	ck_parse_ok("dns-cache 1048576\n");
	ck_assert_uint_eq(cfg.dns_cache_size, 1048576);
	ck_parse_err("dns-cache 1048577\n", "x.conf:1: dns-cache: invalid number '1048577' "
					    "(expected 0..1048576, 0 turns the cache off)");
	ck_parse_err("dns-cache lots\n", "x.conf:1: dns-cache: invalid number 'lots' "
					 "(expected 0..1048576, 0 turns the cache off)");

	ck_parse_ok("dns-cache-max-ttl 1h\n");
	ck_assert_uint_eq(cfg.dns_cache_max_ttl_ms, 3600000);
	ck_parse_ok("dns-cache-max-ttl 30\n");
	ck_assert_uint_eq(cfg.dns_cache_max_ttl_ms, 30000);
	ck_parse_err("dns-cache-max-ttl 0s\n",
		     "x.conf:1: dns-cache-max-ttl: must be greater than 0 "
		     "(dns-cache 0 turns the cache off)");
	ck_parse_err("dns-cache-max-ttl soon\n",
		     "x.conf:1: dns-cache-max-ttl: invalid duration 'soon' "
		     "(examples: 500ms, 10s, 5m, 1h)");
}
END_TEST

/* ---- durations ---- */

static const struct {
	const char *in;
	unsigned ms;
} duration_ok[] = {
	{ "10s", 10000 },
	{ "500ms", 500 },
	{ "5m", 300000 },
	{ "1h", 3600000 },
	{ "30", 30000 },
	{ "0", 0 },
	{ "0ms", 0 },
	{ "007s", 7000 },
	{ "4294967295ms", 4294967295u },
	{ "4294967s", 4294967000u },
	{ "71582m", 4294920000u },
	{ "1193h", 4294800000u },
	{ "4294967", 4294967000u },
};

START_TEST(test_duration_valid)
{
	unsigned ms = 12345;

	ck_assert_int_eq(config_parse_duration(duration_ok[_i].in, &ms), 0);
	ck_assert_uint_eq(ms, duration_ok[_i].ms);
}
END_TEST

static const char *const duration_bad[] = {
	"",
	"s",
	"ms",
	"-1s",
	"-0",
	"+5s",
	"1.5s",
	"10S",
	"10 s",
	" 10s",
	"10s ",
	"10sec",
	"1d",
	"0x10",
	"10ss",
	"5mh",
	"4294967296ms",
	"4294968s",
	"71583m",
	"1194h",
	"4294968",
	"99999999999999999999999999s",
};

START_TEST(test_duration_invalid)
{
	unsigned ms = 12345;

	ck_assert_int_eq(config_parse_duration(duration_bad[_i], &ms), -1);
	ck_assert_uint_eq(ms, 12345);
}
END_TEST

START_TEST(test_timeout)
{
	ck_parse_ok("timeout handshake 3s\ntimeout connect 2500ms\ntimeout idle 1h\n");
	ck_assert_uint_eq(cfg.timeout_handshake_ms, 3000);
	ck_assert_uint_eq(cfg.timeout_connect_ms, 2500);
	ck_assert_uint_eq(cfg.timeout_idle_ms, 3600000);
	ck_parse_ok("timeout idle 0\n");
	ck_assert_uint_eq(cfg.timeout_idle_ms, 0);

	ck_parse_err("timeout handshake 0\n",
		     "x.conf:1: timeout: handshake must be greater than 0");
	ck_parse_err("timeout connect 0ms\n", "x.conf:1: timeout: connect must be greater than 0");
	ck_parse_err("timeout connect -5s\n",
		     "x.conf:1: timeout: invalid duration '-5s' (examples: 500ms, 10s, 5m, 1h)");
	ck_parse_err(
		"timeout read 5s\n",
		"x.conf:1: timeout: invalid value 'read' (expected handshake, connect, idle, "
		"udp-idle or bind)");
	ck_parse_err("timeout idle\n", "x.conf:1: timeout: missing argument");
	ck_parse_err("timeout\n", "x.conf:1: timeout: missing argument");
	ck_parse_err("timeout idle 5 m\n", "x.conf:1: timeout: too many arguments");
	ck_assert_uint_eq(cfg.timeout_handshake_ms, 3000);
	ck_assert_uint_eq(cfg.timeout_connect_ms, 2500);
}
END_TEST

START_TEST(test_timeout_udp_and_bind)
{
	ck_assert_uint_eq(cfg.timeout_udp_idle_ms, 120000);
	ck_assert_uint_eq(cfg.timeout_bind_ms, 120000);
	ck_parse_ok("timeout udp-idle 30s\ntimeout bind 5m\n");
	ck_assert_uint_eq(cfg.timeout_udp_idle_ms, 30000);
	ck_assert_uint_eq(cfg.timeout_bind_ms, 300000);
	ck_parse_ok("timeout udp-idle 0\n");
	ck_assert_uint_eq(cfg.timeout_udp_idle_ms, 0);
	ck_parse_err("timeout bind 0\n", "x.conf:1: timeout: bind must be greater than 0");
}
END_TEST

/* ---- UDP ASSOCIATE and BIND ---- */

START_TEST(test_udp_directives)
{
	ck_assert_uint_eq(cfg.udp_port_min, 0);
	ck_assert(!cfg.udp_replies_any);
	ck_parse_ok("udp-advertise 203.0.113.5\nudp-advertise [2001:db8::5]\n"
		    "udp-ports 40000-40100\nudp-replies any\n");
	ck_assert_str_eq(cfg.udp_advertise_v4.text, "203.0.113.5");
	ck_assert_str_eq(cfg.udp_advertise_v6.text, "2001:db8::5");
	ck_assert_uint_eq(cfg.udp_port_min, 40000);
	ck_assert_uint_eq(cfg.udp_port_max, 40100);
	ck_assert(cfg.udp_replies_any);
	ck_parse_ok("udp-ports 5000-5000\nudp-replies contacted\n");
	ck_assert_uint_eq(cfg.udp_port_min, 5000);
	ck_assert_uint_eq(cfg.udp_port_max, 5000);
	ck_assert(!cfg.udp_replies_any);

	ck_parse_err("udp-ports 5001-5000\n", "x.conf:1: udp-ports: invalid port range '5001-5000' "
						"(expected LOW-HIGH, 1..65535)");
	ck_parse_err("udp-ports 0-10\n", "x.conf:1: udp-ports: invalid port range '0-10' "
					   "(expected LOW-HIGH, 1..65535)");
	ck_parse_err("udp-ports 5000\n", "x.conf:1: udp-ports: invalid port range '5000' "
					   "(expected LOW-HIGH, 1..65535)");
	ck_parse_err("udp-ports 1-65536\n", "x.conf:1: udp-ports: invalid port range '1-65536' "
					      "(expected LOW-HIGH, 1..65535)");
	ck_parse_err("udp-replies some\n",
		     "x.conf:1: udp-replies: invalid value 'some' (expected contacted or any)");
	ck_parse_err("udp-advertise 10.0.0.1:53\n",
		     "x.conf:1: udp-advertise: a port is not allowed here: '10.0.0.1:53'");
}
END_TEST

START_TEST(test_bind_directives)
{
	ck_assert(!cfg.bind_peer_any);
	ck_parse_ok("bind-address 192.0.2.9\nbind-peer any\n");
	ck_assert_str_eq(cfg.bind_addr_v4.text, "192.0.2.9");
	ck_assert_uint_eq(cfg.bind_addr_v6.len, 0);
	ck_assert(cfg.bind_peer_any);
	ck_parse_err("bind-peer loose\n",
		     "x.conf:1: bind-peer: invalid value 'loose' (expected strict or any)");
	config_free(&cfg);
	config_init(&cfg);
	ck_parse_err("bind-address ::1\nbind-address ::2\n",
		     "x.conf:2: bind-address: second IPv6 address '::2' (line 1 already set ::1)");
}
END_TEST

/* ---- outgoing ---- */

START_TEST(test_outgoing)
{
	const struct sockaddr_in *sin;

	ck_parse_ok("outgoing 192.0.2.7\noutgoing [2001:db8::7]\n");
	ck_assert_uint_eq(cfg.outgoing_v4.addr.len, sizeof(struct sockaddr_in));
	ck_assert_str_eq(cfg.outgoing_v4.addr.text, "192.0.2.7");
	sin = (const struct sockaddr_in *)&cfg.outgoing_v4.addr.ss;
	ck_assert_uint_eq(sin->sin_port, 0);
	ck_assert_uint_eq(cfg.outgoing_v6.addr.len, sizeof(struct sockaddr_in6));
	ck_assert_str_eq(cfg.outgoing_v6.addr.text, "2001:db8::7");
	ck_assert_uint_eq(addr_port(&cfg.outgoing_v6.addr), 0);
}
END_TEST

START_TEST(test_outgoing_unbracketed_v6)
{
	ck_parse_ok("outgoing ::1\n");
	ck_assert_int_eq(cfg.outgoing_v6.addr.ss.ss_family, AF_INET6);
	ck_assert_str_eq(cfg.outgoing_v6.addr.text, "::1");
	ck_assert_uint_eq(cfg.outgoing_v4.addr.len, 0);
}
END_TEST

START_TEST(test_outgoing_invalid)
{
	ck_parse_err("outgoing 10.0.0.1\n# v6 is fine\noutgoing ::1\noutgoing 10.0.0.2\n",
		     "x.conf:4: outgoing: second IPv4 address '10.0.0.2' "
		     "(line 1 already set 10.0.0.1)");
	config_free(&cfg);
	config_init(&cfg);
	ck_parse_err("outgoing [::1]\noutgoing 10.0.0.1\noutgoing ::2\n",
		     "x.conf:3: outgoing: second IPv6 address '::2' (line 1 already set ::1)");
}
END_TEST

START_TEST(test_outgoing_bad_values)
{
	ck_parse_err("outgoing 10.0.0.1:80\n",
		     "x.conf:1: outgoing: a port is not allowed here: '10.0.0.1:80'");
	ck_parse_err("outgoing [::1]:80\n",
		     "x.conf:1: outgoing: a port is not allowed here: '[::1]:80'");
	ck_parse_err("outgoing *\n", "x.conf:1: outgoing: invalid address '*'");
	ck_parse_err("outgoing eth0\n", "x.conf:1: outgoing: invalid address 'eth0'");
	ck_parse_err("outgoing \"\"\n", "x.conf:1: outgoing: empty address");
	ck_parse_err("outgoing\n", "x.conf:1: outgoing: missing argument");
	ck_assert_uint_eq(cfg.outgoing_v4.addr.len, 0);
	ck_assert_uint_eq(cfg.outgoing_v6.addr.len, 0);
}
END_TEST

/* A new parse is a new file: its outgoing lines override, not clash. */
START_TEST(test_outgoing_second_parse_overrides)
{
	ck_parse_ok("outgoing 10.0.0.1\n");
	ck_parse_ok("outgoing 10.0.0.2\n");
	ck_assert_str_eq(cfg.outgoing_v4.addr.text, "10.0.0.2");
}
END_TEST

/* "outgoing PREFIX random": the network and its length, both families. */
START_TEST(test_outgoing_random)
{
	ck_parse_ok("outgoing 2001:db8:1::/64 random\noutgoing 10.20.0.0/16 random\n");
	ck_assert_str_eq(cfg.outgoing_v6.addr.text, "2001:db8:1::/64");
	ck_assert_uint_eq(cfg.outgoing_v6.random_prefix, 64);
	ck_assert_uint_eq(cfg.outgoing_v6.addr.len, sizeof(struct sockaddr_in6));
	ck_assert_str_eq(cfg.outgoing_v4.addr.text, "10.20.0.0/16");
	ck_assert_uint_eq(cfg.outgoing_v4.random_prefix, 16);
	config_free(&cfg);
	config_init(&cfg);
	ck_parse_ok("outgoing [2001:db8::]/127 random\noutgoing 192.0.2.7\n");
	ck_assert_uint_eq(cfg.outgoing_v6.random_prefix, 127);
	ck_assert_uint_eq(cfg.outgoing_v4.random_prefix, 0);
}
END_TEST

START_TEST(test_outgoing_random_invalid)
{
	ck_parse_err("outgoing 2001:db8:1::/64\n",
		     "x.conf:1: outgoing: '2001:db8:1::/64' is a prefix: add 'random' to pick a "
		     "source inside it, or give one address");
	ck_parse_err("outgoing 2001:db8:1::5 random\n",
		     "x.conf:1: outgoing: 'random' needs a prefix, not one address: "
		     "'2001:db8:1::5' (e.g. 2001:db8:1::/64 random)");
	ck_parse_err("outgoing 2001:db8:1::5/64 random\n",
		     "x.conf:1: outgoing: '2001:db8:1::5/64' has host bits set (write the "
		     "network address)");
	ck_parse_err("outgoing 10.0.0.0/32 random\n",
		     "x.conf:1: outgoing: invalid prefix length in '10.0.0.0/32' (1..30)");
	ck_parse_err("outgoing 10.0.0.0/31 random\n",
		     "x.conf:1: outgoing: invalid prefix length in '10.0.0.0/31' (1..30)");
	ck_parse_err("outgoing ::/0 random\n",
		     "x.conf:1: outgoing: invalid prefix length in '::/0' (1..127)");
	ck_parse_err("outgoing 10.0.0.0/x random\n",
		     "x.conf:1: outgoing: invalid prefix length in '10.0.0.0/x' (1..30)");
	ck_parse_err("outgoing eth0/24 random\n", "x.conf:1: outgoing: invalid address 'eth0'");
	ck_parse_err("outgoing 10.0.0.0/8 random\noutgoing 10.1.2.3\n",
		     "x.conf:2: outgoing: second IPv4 address '10.1.2.3' (line 1 already set "
		     "10.0.0.0/8)");
	ck_assert_uint_eq(cfg.outgoing_v6.addr.len, 0);
}
END_TEST

/* "outgoing ... user NAME": one per user and family, not the global one. */
START_TEST(test_outgoing_user)
{
	ck_parse_ok("outgoing 192.0.2.1\n"
		    "outgoing 192.0.2.7 user alice\n"
		    "outgoing 2001:db8:7::/48 random user alice\n"
		    "outgoing 192.0.2.8 user bob\n");
	ck_assert_str_eq(cfg.outgoing_v4.addr.text, "192.0.2.1");
	ck_assert_uint_eq(cfg.nuser_sources, 3);
	ck_assert_str_eq(cfg.user_sources[0].user, "alice");
	ck_assert_str_eq(cfg.user_sources[0].src.addr.text, "192.0.2.7");
	ck_assert_uint_eq(cfg.user_sources[0].line, 2);
	ck_assert_str_eq(cfg.user_sources[1].user, "alice");
	ck_assert_uint_eq(cfg.user_sources[1].src.random_prefix, 48);
	ck_assert_str_eq(cfg.user_sources[2].user, "bob");
	ck_assert_str_eq(cfg.user_sources[2].src.addr.text, "192.0.2.8");
}
END_TEST

START_TEST(test_outgoing_user_invalid)
{
	ck_parse_err("outgoing 192.0.2.7 user alice\noutgoing 192.0.2.8 user alice\n",
		     "x.conf:2: outgoing: second IPv4 source for user 'alice' (line 1)");
	ck_parse_err("outgoing 192.0.2.7 user\n",
		     "x.conf:1: outgoing: expected 'user NAME' at the end");
	ck_parse_err("outgoing 192.0.2.7 user a b\n",
		     "x.conf:1: outgoing: expected 'user NAME' at the end");
	ck_parse_err("outgoing 192.0.2.7 group a\n",
		     "x.conf:1: outgoing: unexpected 'group' (expected 'user NAME')");
	ck_parse_err("outgoing 192.0.2.7 user a:b\n",
		     "x.conf:1: outgoing: invalid name 'a:b' (user name contains ':')");
	ck_parse_err("outgoing 10.0.0.0/8 random user a b\n",
		     "x.conf:1: outgoing: too many arguments");
}
END_TEST

/* ---- resolver ---- */

START_TEST(test_resolver_csv)
{
	ck_parse_ok("resolver 127.0.0.1:5353\nresolver ::1\n");
	ck_assert_str_eq(cfg.resolvers, "127.0.0.1:5353,[::1]:53");
}
END_TEST

static const struct {
	const char *in;
	const char *csv;
} resolver_ok[] = {
	{ "192.0.2.53", "192.0.2.53:53" },
	{ "192.0.2.53:5353", "192.0.2.53:5353" },
	{ "::1", "[::1]:53" },
	{ "[::1]", "[::1]:53" },
	{ "[2001:db8::53]:5353", "[2001:db8::53]:5353" },
	/* Ambiguous, so documented: without brackets the whole text is an address. */
	{ "2001:db8::1:5353", "[2001:db8::1:5353]:53" },
};

START_TEST(test_resolver_forms)
{
	char line[128];

	snprintf(line, sizeof(line), "resolver %s\n", resolver_ok[_i].in);
	ck_parse_ok(line);
	ck_assert_str_eq(cfg.resolvers, resolver_ok[_i].csv);
}
END_TEST

START_TEST(test_resolver_invalid)
{
	ck_parse_ok("resolver 127.0.0.1\nresolver 127.0.0.2\n");
	ck_parse_err("resolver 127.0.0.1:53\n",
		     "x.conf:1: resolver: duplicate server '127.0.0.1:53'");
	ck_parse_err("resolver 127.0.0.2\n", "x.conf:1: resolver: duplicate server '127.0.0.2:53'");
	ck_parse_err("resolver 127.0.0.1:0\n", "x.conf:1: resolver: invalid port '0'");
	ck_parse_err("resolver dns.example:53\n",
		     "x.conf:1: resolver: 'dns.example' is a host name; only IP addresses are "
		     "accepted here");
	ck_parse_err("resolver\n", "x.conf:1: resolver: missing argument");
	ck_assert_str_eq(cfg.resolvers, "127.0.0.1:53,127.0.0.2:53");
	/* A prefix of an existing entry is not a duplicate. */
	ck_parse_ok("resolver 127.0.0.1:5\n");
	ck_assert_str_eq(cfg.resolvers, "127.0.0.1:53,127.0.0.2:53,127.0.0.1:5");
}
END_TEST

/* ---- the lexer ---- */

START_TEST(test_unknown_directive)
{
	ck_assert_int_eq(
		parse_as("/etc/hopsocks.conf", "# hopsocks\n\nlisten 1080\n\n\n\nlisen 1081\n"),
		-1);
	ck_assert_str_eq(err, "/etc/hopsocks.conf:7: unknown directive 'lisen'");
	ck_parse_err("Listen 1080\n", "x.conf:1: unknown directive 'Listen'");
	ck_parse_err("runas nobody\n", "x.conf:1: unknown directive 'runas'");
}
END_TEST

START_TEST(test_comments)
{
	ck_parse_ok("# a comment\n"
		    "   # an indented comment\n"
		    "workers 3 # trailing comment\n"
		    "log debug# no space needed\n"
		    "users \"/etc/a#b\" # a hash inside quotes is text\n"
		    "pid-file /run/x.pid #\n");
	ck_assert_uint_eq(cfg.workers, 3);
	ck_assert_int_eq(cfg.log_level, CONFIG_LOG_DEBUG);
	ck_assert_str_eq(cfg.users_file, "/etc/a#b");
	ck_assert_str_eq(cfg.pid_file, "/run/x.pid");
}
END_TEST

START_TEST(test_whitespace)
{
	ck_parse_ok("\t  workers\t\t7   \n\n  \t \ntimeout   idle  \t 2m\t\n");
	ck_assert_uint_eq(cfg.workers, 7);
	ck_assert_uint_eq(cfg.timeout_idle_ms, 120000);
}
END_TEST

START_TEST(test_quotes)
{
	ck_parse_ok("users \"/a b/\\\"q\\\"/c\\\\d\"\n");
	ck_assert_str_eq(cfg.users_file, "/a b/\"q\"/c\\d");
	/* Directive names and keywords may be quoted too; they are just words. */
	ck_parse_ok("\"log\" \"warn\"\n");
	ck_assert_int_eq(cfg.log_level, CONFIG_LOG_WARN);
	/* Outside quotes a backslash is an ordinary byte. */
	ck_parse_ok("pid-file /run/a\\b\n");
	ck_assert_str_eq(cfg.pid_file, "/run/a\\b");
	ck_parse_ok("users \"tab\there\"\n");
	ck_assert_str_eq(cfg.users_file, "tab\there");
}
END_TEST

START_TEST(test_quote_errors)
{
	ck_parse_err("users \"/etc/users\n", "x.conf:1: unterminated string");
	ck_parse_err("users \"/etc/users\\\"\n", "x.conf:1: unterminated string");
	ck_parse_err("users \"/etc/\\n\"\n",
		     "x.conf:1: invalid escape in string (only \\\" and \\\\ are allowed)");
	ck_parse_err("users \"/etc/\"users\n", "x.conf:1: missing space after closing quote");
	ck_parse_err("users /etc/\"users\"\n", "x.conf:1: unexpected '\"' inside a word");
	/* A quote does not continue onto the next line. */
	ck_parse_err("\nusers \"a\nb\"\n", "x.conf:2: unterminated string");
}
END_TEST

START_TEST(test_crlf)
{
	ck_parse_ok("workers 2\r\n# comment\r\n\r\nlog \"error\"\r\nusers /u\r\n");
	ck_assert_uint_eq(cfg.workers, 2);
	ck_assert_int_eq(cfg.log_level, CONFIG_LOG_ERROR);
	ck_assert_str_eq(cfg.users_file, "/u");
	ck_parse_ok("workers 5\r");
	ck_assert_uint_eq(cfg.workers, 5);
	ck_parse_err("workers 2\r\n\r\nwrkers 3\r\n", "x.conf:3: unknown directive 'wrkers'");
	/* Only a CR that ends a line is a line ending. */
	ck_parse_err("workers 2\r\r\n", "x.conf:1: invalid control character 0x0d");
	ck_parse_err("workers 2\rlog info\n", "x.conf:1: invalid control character 0x0d");
}
END_TEST

START_TEST(test_no_final_newline)
{
	ck_parse_ok("workers 9");
	ck_assert_uint_eq(cfg.workers, 9);
	ck_parse_err(
		"workers 9\nlog nonsense",
		"x.conf:2: log: invalid value 'nonsense' (expected error, warn, info or debug)");
}
END_TEST

START_TEST(test_bom)
{
	ck_parse_ok("\xef\xbb\xbfworkers 6\n");
	ck_assert_uint_eq(cfg.workers, 6);
	/* Only at the very start. */
	ck_parse_err("\n\xef\xbb\xbfworkers 6\n",
		     "x.conf:2: unknown directive '\xef\xbb\xbfworkers'");
}
END_TEST

START_TEST(test_control_chars)
{
	static const char with_nul[] = "workers 2\nlog\0info\n";

	ck_assert_int_eq(
		config_parse_text(&cfg, "x.conf", with_nul, sizeof(with_nul) - 1, err, sizeof(err)),
		-1);
	ck_assert_str_eq(err, "x.conf:2: invalid control character 0x00");
	ck_assert_uint_eq(cfg.workers, 2);
	ck_parse_err("log \x1b[2Kinfo\n", "x.conf:1: invalid control character 0x1b");
	ck_parse_err("# even in comments \x7f\n", "x.conf:1: invalid control character 0x7f");
	/* UTF-8 is fine. */
	ck_parse_ok("users /etc/h\xc3\xb6psocks/users # gr\xc3\xbc\xc3\x9f"
		    "e\n");
	ck_assert_str_eq(cfg.users_file, "/etc/h\xc3\xb6psocks/users");
}
END_TEST

/* Only "chain" opens a block (test_config_chain.c has the rest). */
START_TEST(test_blocks)
{
	ck_parse_ok("chain tor {\n    hop socks5h://127.0.0.1:9050\n}\n");
	ck_assert_uint_eq(cfg.nchains, 1);
	ck_parse_err("proxy{\n", "x.conf:1: unknown block 'proxy'");
	ck_parse_err("route{\n", "x.conf:1: route: does not take a block");
	ck_parse_err("listen 1080 {\n", "x.conf:1: listen: does not take a block");
	ck_parse_err("log info }\n", "x.conf:1: log: does not take a block");
	ck_parse_err("}\n", "x.conf:1: unexpected '}'");
	ck_parse_err("{\n", "x.conf:1: unexpected '{'");
	ck_parse_err("proxy tor }\n", "x.conf:1: unexpected '}'");
	/* Quoted braces are plain text. */
	ck_parse_ok("users \"{}\"\n");
	ck_assert_str_eq(cfg.users_file, "{}");
	ck_assert_uint_eq(cfg.nlisten, 0);
}
END_TEST

START_TEST(test_error_stops_parse)
{
	ck_parse_err("workers 2\nworkers x\nworkers 3\n",
		     "x.conf:2: workers: invalid value 'x' (expected 1..256 or auto)");
	/* Lines before the error were applied, the ones after were not. */
	ck_assert_uint_eq(cfg.workers, 2);
}
END_TEST

START_TEST(test_later_wins)
{
	ck_parse_ok("workers 2\nlog debug\ntimeout idle 1m\nsocks4 off\naccess-log off\n"
		    "workers 3\nlog warn\ntimeout idle 2m\nsocks4 on\naccess-log yes\n"
		    "max-connections 5\nmax-connections 6\ndns-cache 1\ndns-cache 2\n"
		    "address-order ipv4-only\naddress-order ipv6-first\nlog-to stderr\n"
		    "log-to syslog\n");
	ck_assert_uint_eq(cfg.workers, 3);
	ck_assert_int_eq(cfg.log_level, CONFIG_LOG_WARN);
	ck_assert_uint_eq(cfg.timeout_idle_ms, 120000);
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_ON);
	ck_assert(cfg.access_log);
	ck_assert_uint_eq(cfg.max_connections, 6);
	ck_assert_uint_eq(cfg.dns_cache_size, 2);
	ck_assert_int_eq(cfg.addr_order, CONFIG_ORDER_IPV6_FIRST);
	ck_assert_int_eq(cfg.log_to, CONFIG_LOG_TO_SYSLOG);
}
END_TEST

START_TEST(test_long_value_is_cut)
{
	char line[400], expected[CONFIG_ERR_MAX];

	memset(expected, 0, sizeof(expected));
	strcpy(line, "lo");
	memset(line + 2, 'g', 200);
	strcpy(line + 202, " info\n");
	strcpy(expected, "x.conf:1: unknown directive 'lo");
	memset(expected + strlen(expected), 'g', 62);
	strcat(expected, "'");
	ck_parse_err(line, expected);
}
END_TEST

START_TEST(test_small_error_buffer)
{
	char small[12];

	memset(small, 'X', sizeof(small));
	ck_assert_int_eq(config_parse_text(&cfg, "x.conf", "lisen 1\n", 8, small, sizeof(small)),
			 -1);
	ck_assert_str_eq(small, "x.conf:1: u");
	/* No buffer at all is allowed: the caller only wants the result. */
	ck_assert_int_eq(config_parse_text(&cfg, "x.conf", "lisen 1\n", 8, NULL, 0), -1);
}
END_TEST

/* A file using every directive once, as in the example config. */
START_TEST(test_full_file)
{
	ck_parse_ok("# hopsocks\n"
		    "listen 127.0.0.1:1080\n"
		    "listen [::1]:1080\n"
		    "workers auto\n"
		    "users /etc/hopsocks/users\n"
		    "socks4 known-user\n"
		    "timeout handshake 10s\n"
		    "timeout connect 10s\n"
		    "timeout idle 5m\n"
		    "log info\n"
		    "log-to auto\n"
		    "access-log on\n"
		    "max-connections 0\n"
		    "outgoing 192.0.2.1\n"
		    "outgoing 2001:db8::1\n"
		    "resolver 127.0.0.1:5353\n"
		    "resolver [::1]\n"
		    "address-order ipv4-first\n"
		    "dns-cache 1024\n"
		    "dns-cache-max-ttl 5m\n"
		    "pid-file /run/hopsocks.pid\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nlisten, 2);
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_KNOWN_USER);
	ck_assert_str_eq(cfg.resolvers, "127.0.0.1:5353,[::1]:53");
	ck_assert_int_eq(cfg.addr_order, CONFIG_ORDER_IPV4_FIRST);
}
END_TEST

/* ---- config_finish ---- */

START_TEST(test_finish_default_listen)
{
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nlisten, 1);
	ck_assert_str_eq(cfg.listen[0].text, CONFIG_DEFAULT_LISTEN);
	ck_assert_int_eq(cfg.listen[0].ss.ss_family, AF_INET);
	ck_assert_uint_eq(addr_port(&cfg.listen[0]), 1080);
	/* Running it again changes nothing. */
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nlisten, 1);
}
END_TEST

START_TEST(test_finish_keeps_listen)
{
	ck_parse_ok("listen [::1]:9999\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nlisten, 1);
	ck_assert_str_eq(cfg.listen[0].text, "[::1]:9999");
}
END_TEST

START_TEST(test_finish_socks4)
{
	ck_parse_ok("socks4 known-user\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "x.conf:1: socks4 known-user needs a user file (users or -U)");

	ck_parse_ok("users /etc/hopsocks/users\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_KNOWN_USER);
}
END_TEST

START_TEST(test_finish_outgoing_user)
{
	ck_parse_ok("outgoing 192.0.2.1\n\noutgoing 192.0.2.7 user alice\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "x.conf:3: outgoing: 'user' needs a user file (users or -U); "
			      "without one no client logs in");

	ck_parse_ok("users /etc/hopsocks/users\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
}
END_TEST

/* auto is settled by config_finish, failing closed when there is a user file. */
START_TEST(test_finish_socks4_auto)
{
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_ON);

	config_free(&cfg);
	config_init(&cfg);
	ck_parse_ok("users /etc/hopsocks/users\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_OFF);

	/* An explicit "on" stays on even with a user file. */
	config_free(&cfg);
	config_init(&cfg);
	ck_parse_ok("users /etc/hopsocks/users\nsocks4 on\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.socks4, CONFIG_SOCKS4_ON);
}
END_TEST

/* What main.c may set directly from the command line is checked again. */
START_TEST(test_finish_command_line_values)
{
	cfg.workers = 257;
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "workers: 257 is out of range (1..256 or auto)");
	cfg.workers = 256;
	ck_assert_int_eq(config_set_string(&cfg.users_file, ""), 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "users: empty path");
	ck_assert_int_eq(config_set_string(&cfg.users_file, NULL), 0);
	ck_assert_int_eq(config_set_string(&cfg.pid_file, ""), 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "pid-file: empty path");
	ck_assert_int_eq(config_set_string(&cfg.pid_file, NULL), 0);
	cfg.timeout_connect_ms = 0;
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "timeout: handshake, connect and bind must be greater than 0");
	cfg.timeout_connect_ms = 1;
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
}
END_TEST

/* ---- setters ---- */

START_TEST(test_set_listen)
{
	struct config_addr addrs[2];

	ck_parse_ok("listen 1080\nlisten 1081\nlisten 1082\n");
	ck_assert_int_eq(config_parse_listen("[::1]:2000", &addrs[0], err, sizeof(err)), 0);
	ck_assert_int_eq(config_parse_listen("*:2001", &addrs[1], err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_listen(&cfg, addrs, 2), 0);
	/* *:2001 reaches beyond loopback: config_finish wants a user file. */
	ck_parse_ok("users /etc/hopsocks/users\n");
	ck_assert_uint_eq(cfg.nlisten, 2);
	/* The config keeps its own copy. */
	memset(addrs, 0, sizeof(addrs));
	ck_assert_str_eq(cfg.listen[0].text, "[::1]:2000");
	ck_assert_str_eq(cfg.listen[1].text, "0.0.0.0:2001");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nlisten, 2);
}
END_TEST

START_TEST(test_set_listen_empty_then_default)
{
	ck_parse_ok("listen 1081\n");
	ck_assert_int_eq(config_set_listen(&cfg, NULL, 0), 0);
	ck_assert_uint_eq(cfg.nlisten, 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nlisten, 1);
	ck_assert_str_eq(cfg.listen[0].text, "127.0.0.1:1080");
}
END_TEST

START_TEST(test_set_listen_duplicate)
{
	struct config_addr addrs[2];

	ck_assert_int_eq(config_parse_listen("1080", &addrs[0], err, sizeof(err)), 0);
	ck_assert_int_eq(config_parse_listen("127.0.0.1:1080", &addrs[1], err, sizeof(err)), 0);
	ck_assert_int_eq(config_set_listen(&cfg, addrs, 2), 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "duplicate listen address '127.0.0.1:1080'");
}
END_TEST

START_TEST(test_set_string)
{
	char *s = NULL;

	ck_assert_int_eq(config_set_string(&s, "one"), 0);
	ck_assert_str_eq(s, "one");
	ck_assert_int_eq(config_set_string(&s, "two"), 0);
	ck_assert_str_eq(s, "two");
	ck_assert_int_eq(config_set_string(&s, NULL), 0);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_parse_host)
{
	struct config_addr a;

	ck_assert_int_eq(config_parse_host("10.0.0.1", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.text, "10.0.0.1");
	ck_assert_int_eq(config_parse_host("[::1]", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.text, "::1");
	ck_assert_int_eq(config_parse_host("fe80::1", &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.ss.ss_family, AF_INET6);
	ck_assert_int_eq(config_parse_host("10.0.0.1:1", &a, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "a port is not allowed here: '10.0.0.1:1'");
	ck_assert_int_eq(config_parse_host("[::1", &a, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "missing ']' in '[::1'");
}
END_TEST

START_TEST(test_free_twice)
{
	ck_parse_ok("listen 1080\nusers /u\npid-file /p\nresolver ::1\n");
	config_free(&cfg);
	config_free(&cfg);
	ck_assert_ptr_null(cfg.listen);
	/* teardown frees a third time */
}
END_TEST

/* ---- files ---- */

static char tmp_path[64];

static void tmp_write(const char *text, size_t len)
{
	FILE *f;
	int fd;

	strcpy(tmp_path, "/tmp/test_config.XXXXXX");
	fd = mkstemp(tmp_path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_load_missing)
{
	ck_assert_int_eq(config_load_file(&cfg, "/nonexistent/hopsocks.conf", err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "/nonexistent/hopsocks.conf: No such file or directory");
}
END_TEST

START_TEST(test_load_directory)
{
	ck_assert_int_eq(config_load_file(&cfg, "/", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/: Is a directory");
}
END_TEST

START_TEST(test_load_file)
{
	static const char text[] = "listen [::1]:1080\r\nworkers 2\r\n";
	char expected[CONFIG_ERR_MAX];

	tmp_write(text, sizeof(text) - 1);
	ck_assert_int_eq(config_load_file(&cfg, tmp_path, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nlisten, 1);
	ck_assert_uint_eq(cfg.workers, 2);
	unlink(tmp_path);

	tmp_write("workers 2\nworkers 0\n", 20);
	ck_assert_int_eq(config_load_file(&cfg, tmp_path, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected),
		 "%s:2: workers: invalid value '0' (expected 1..256 or auto)", tmp_path);
	ck_assert_str_eq(err, expected);
	unlink(tmp_path);
}
END_TEST

START_TEST(test_load_size_limit)
{
	size_t max = 1024 * 1024;
	char *text = malloc(max + 1);
	char expected[CONFIG_ERR_MAX];

	ck_assert_ptr_nonnull(text);
	/* Exactly 1 MiB (one long comment line) is accepted... */
	memset(text, '#', max);
	text[max - 1] = '\n';
	memcpy(text + max - 11, "\nworkers 8\n", 11);
	tmp_write(text, max);
	ck_assert_int_eq(config_load_file(&cfg, tmp_path, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.workers, 8);
	unlink(tmp_path);

	/* ...one byte more is not. */
	text[max] = '\n';
	tmp_write(text, max + 1);
	ck_assert_int_eq(config_load_file(&cfg, tmp_path, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected), "%s: file too large (over 1 MiB)", tmp_path);
	ck_assert_str_eq(err, expected);
	unlink(tmp_path);
	free(text);
}
END_TEST

/* contrib/hopsocks.conf.example: found through HOPSOCKS_SRCDIR (set by
 * `make check`) or, when the test is run by hand, next to this source file. */
static char *example_read(size_t *len)
{
	static const char tail[] = "tests/unit/test_config.c";
	const char *srcdir = getenv("HOPSOCKS_SRCDIR");
	char path[4096];
	char *text;
	FILE *f;

	if (srcdir != NULL) {
		snprintf(path, sizeof(path), "%s/contrib/hopsocks.conf.example", srcdir);
	} else {
		size_t dir = strlen(__FILE__) - (sizeof(tail) - 1);

		snprintf(path, sizeof(path), "%.*scontrib/hopsocks.conf.example", (int)dir,
			 __FILE__);
	}
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	text = calloc(1, 1024 * 1024);
	ck_assert_ptr_nonnull(text);
	*len = fread(text, 1, 1024 * 1024 - 1, f);
	fclose(f);
	return text;
}

/* As shipped, every directive is commented out: the result is the defaults. */
START_TEST(test_example_as_shipped)
{
	size_t len;
	char *text = example_read(&len);

	ck_assert_uint_gt(len, 0);
	ck_assert_msg(config_parse_text(&cfg, "example", text, len, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nlisten, 1);
	ck_assert_str_eq(cfg.listen[0].text, "127.0.0.1:1080");
	ck_assert_ptr_null(cfg.users_file);
	free(text);
}
END_TEST

/* Every commented-out directive must be valid too, or the example teaches a
 * syntax error. A commented-out directive is a line whose '#' is followed
 * directly by a lower-case letter ("#listen ..."), and the lines of a
 * commented-out chain block: after a "#chain NAME {" line, every line up to
 * and including "#}" (the example keeps prose out of blocks, using trailing
 * comments instead). Removing those hashes turns on all of them at once. */
START_TEST(test_example_uncommented)
{
	size_t len, out = 0;
	char *text = example_read(&len);
	char *on = malloc(len + 1);
	static const char *const names[] = {
		"listen",
		"workers",
		"users",
		"socks4",
		"timeout",
		"log",
		"log-to",
		"access-log",
		"max-connections",
		"outgoing",
		"resolver",
		"address-order",
		"dns-cache",
		"dns-cache-max-ttl",
		"pid-file",
		"chain",
		"route",
		"mode",
		"hop",
		"retry-dead",
		"allow",
		"deny",
		"destination-guard",
		"max-connections-per-client",
		"max-connections-per-user",
		"auth-throttle",
		"admin",
		"user",
		"group",
		"drain",
		"reload-keep-sessions",
	};
	bool seen[ARRAY_LEN(names)] = { false };
	bool in_block = false;

	ck_assert_ptr_nonnull(on);
	for (size_t i = 0; i < len;) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - line) + 1 : len - i;
		bool directive = line[0] == '#' && n > 1 && line[1] >= 'a' && line[1] <= 'z';

		if (in_block) {
			ck_assert_msg(line[0] == '#', "the example's chain block is cut: %.*s",
				      (int)n, line);
			directive = true;
			in_block = line[1] != '}';
		} else if (directive && strncmp(line, "#chain ", 7) == 0) {
			in_block = true;
		}
		if (directive) {
			size_t word = 1 + strspn(line + 1, " \t");

			for (size_t k = 0; k < ARRAY_LEN(names); k++) {
				size_t nl_ = strlen(names[k]);

				if (strncmp(line + word, names[k], nl_) == 0 &&
				    line[word + nl_] == ' ')
					seen[k] = true;
			}
			line++;
			n--;
			i++;
		}
		memcpy(on + out, line, n);
		out += n;
		i += n;
	}
	ck_assert_msg(!in_block, "the example's last chain block has no '#}'");
	ck_assert_msg(config_parse_text(&cfg, "example", on, out, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_msg(config_finish(&cfg, err, sizeof(err)) == 0, "%s", err);
	for (size_t n = 0; n < ARRAY_LEN(names); n++)
		ck_assert_msg(seen[n], "the example does not show '%s'", names[n]);
	ck_assert_uint_ge(cfg.nchains, 2);
	ck_assert_uint_ge(cfg.nroutes, 2);
	free(on);
	free(text);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("defaults");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_empty_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_listen_valid, 0, (int)ARRAY_LEN(listen_ok));
	tcase_add_loop_test(tc, test_listen_invalid, 0, (int)ARRAY_LEN(listen_bad));
	tcase_add_test(tc, test_listen_sockaddr);
	tcase_add_test(tc, test_listen_repeat_and_duplicate);
	tcase_add_test(tc, test_listen_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("directives");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_workers);
	tcase_add_test(tc, test_users);
	tcase_add_test(tc, test_users_pam);
	tcase_add_test(tc, test_pid_file);
	tcase_add_test(tc, test_socks4);
	tcase_add_test(tc, test_log);
	tcase_add_test(tc, test_log_to);
	tcase_add_test(tc, test_log_format);
	tcase_add_test(tc, test_access_log);
	tcase_add_test(tc, test_address_order);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_dns_cache);
	tcase_add_test(tc, test_splice_pipes);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_timeout_udp_and_bind);
	tcase_add_test(tc, test_udp_directives);
	tcase_add_test(tc, test_bind_directives);
	tcase_add_test(tc, test_outgoing);
	tcase_add_test(tc, test_outgoing_unbracketed_v6);
	tcase_add_test(tc, test_outgoing_invalid);
	tcase_add_test(tc, test_outgoing_bad_values);
	tcase_add_test(tc, test_outgoing_second_parse_overrides);
	tcase_add_test(tc, test_outgoing_random);
	tcase_add_test(tc, test_outgoing_random_invalid);
	tcase_add_test(tc, test_outgoing_user);
	tcase_add_test(tc, test_outgoing_user_invalid);
	tcase_add_test(tc, test_resolver_csv);
	tcase_add_loop_test(tc, test_resolver_forms, 0, (int)ARRAY_LEN(resolver_ok));
	tcase_add_test(tc, test_resolver_invalid);
	tcase_add_test(tc, test_later_wins);
	tcase_add_test(tc, test_full_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("durations");
	tcase_add_loop_test(tc, test_duration_valid, 0, (int)ARRAY_LEN(duration_ok));
	tcase_add_loop_test(tc, test_duration_invalid, 0, (int)ARRAY_LEN(duration_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("lexer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unknown_directive);
	tcase_add_test(tc, test_comments);
	tcase_add_test(tc, test_whitespace);
	tcase_add_test(tc, test_quotes);
	tcase_add_test(tc, test_quote_errors);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_no_final_newline);
	tcase_add_test(tc, test_bom);
	tcase_add_test(tc, test_control_chars);
	tcase_add_test(tc, test_blocks);
	tcase_add_test(tc, test_error_stops_parse);
	tcase_add_test(tc, test_long_value_is_cut);
	tcase_add_test(tc, test_small_error_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("finish");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_finish_default_listen);
	tcase_add_test(tc, test_finish_keeps_listen);
	tcase_add_test(tc, test_finish_socks4);
	tcase_add_test(tc, test_finish_outgoing_user);
	tcase_add_test(tc, test_finish_socks4_auto);
	tcase_add_test(tc, test_finish_command_line_values);
	tcase_add_test(tc, test_set_listen);
	tcase_add_test(tc, test_set_listen_empty_then_default);
	tcase_add_test(tc, test_set_listen_duplicate);
	tcase_add_test(tc, test_set_string);
	tcase_add_test(tc, test_parse_host);
	tcase_add_test(tc, test_free_twice);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load_missing);
	tcase_add_test(tc, test_load_directory);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_load_size_limit);
	tcase_add_test(tc, test_example_as_shipped);
	tcase_add_test(tc, test_example_uncommented);
	suite_add_tcase(s, tc);

	test_config_chain_add(s);
	test_config_acl_add(s);
	test_config_pcfile_add(s);

	return s;
}

#include "check_main.h"
