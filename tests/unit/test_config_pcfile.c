/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for chains taken from proxychains-ng files
 * (src/config/config_pcfile.c): the text parser, "chain NAME { proxychains
 * FILE }" and --chain-file. Part of the test_config program; see
 * config_suite.h. Error messages are compared whole, with their
 * FILE:LINE. */
#include "config_suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_chain.h"
#include "config/config_load.h"
#include "config/config_pcfile.h"
#include "proto/hop.h"

static struct config_chain chain;
static char err[CONFIG_ERR_MAX];
static unsigned line;

static void setup(void)
{
	memset(&chain, 0, sizeof(chain));
	memset(err, 0, sizeof(err));
	line = 0;
}

static void teardown(void)
{
	hop_list_free(chain.hops, chain.nhops);
}

static int pc_parse(const char *text)
{
	hop_list_free(chain.hops, chain.nhops);
	memset(&chain, 0, sizeof(chain));
	return config_pcfile_parse(text, strlen(text), &chain, &line, err, sizeof(err));
}

#define ck_pc_ok(text)                                                                      \
	do {                                                                                \
		int rc_ = pc_parse(text);                                                   \
		ck_assert_msg(rc_ == 0, "parse of [%s] failed: %u: %s", (text), line, err); \
	} while (0)

/* The example /etc/proxychains4.conf Debian's proxychains4 4.16 ships,
 * as far as it is not a comment: the same directives, spacing (a tab
 * before the address) and order, with comments of our own. */
static const char example_conf[] = "# proxychains.conf  VER 4.x\n"
				   "#\n"
				   "#        HTTP, SOCKS4a, SOCKS5 tunneling proxifier with DNS.\n"
				   "\n"
				   "# The option below identifies how the ProxyList is treated.\n"
				   "#dynamic_chain\n"
				   "strict_chain\n"
				   "#round_robin_chain\n"
				   "#random_chain\n"
				   "#chain_len = 2\n"
				   "#quiet_mode\n"
				   "proxy_dns\n"
				   "remote_dns_subnet 224\n"
				   "#remote_dns_subnet 10\n"
				   "tcp_read_time_out 15000\n"
				   "tcp_connect_time_out 8000\n"
				   "# localnet 127.0.0.0/255.0.0.0\n"
				   "# dnat 1.1.1.1:1234  1.1.1.2:443\n"
				   "#\n"
				   "[ProxyList]\n"
				   "# add proxy here ...\n"
				   "# meanwile\n"
				   "# defaults set to \"tor\"\n"
				   "socks4 \t127.0.0.1 9050\n";

START_TEST(test_pc_example)
{
	ck_pc_ok(example_conf);
	ck_assert_int_eq(chain.mode, CONFIG_CHAIN_STRICT);
	ck_assert_uint_eq(chain.nhops, 1);
	ck_assert_int_eq(chain.hops[0].type, HOP_SOCKS4A);
	ck_assert_str_eq(chain.hops[0].display, "socks4a://127.0.0.1:9050");
	ck_assert(!chain.resolve_local);
	ck_assert_uint_eq(chain.length, 0);
	ck_assert_uint_eq(chain.step_timeout_ms, 15000);
	ck_assert(chain.pick_as_proxychains);
}
END_TEST

/* Every mode; no mode line is proxychains' default, dynamic. chain_len
 * counts for random and round robin only, and defaults to 1 there. */
START_TEST(test_pc_modes)
{
	static const struct {
		const char *text;
		enum config_chain_mode mode;
		unsigned length;
	} cases[] = {
		{ "", CONFIG_CHAIN_DYNAMIC, 0 },
		{ "strict_chain\n", CONFIG_CHAIN_STRICT, 0 },
		{ "dynamic_chain\n", CONFIG_CHAIN_DYNAMIC, 0 },
		{ "random_chain\n", CONFIG_CHAIN_RANDOM, 1 },
		{ "round_robin_chain\n", CONFIG_CHAIN_ROUND_ROBIN, 1 },
		{ "random_chain\nchain_len = 2\n", CONFIG_CHAIN_RANDOM, 2 },
		{ "round_robin_chain\nchain_len=3\n", CONFIG_CHAIN_ROUND_ROBIN, 3 },
		{ "chain_len =2\nrandom_chain\n", CONFIG_CHAIN_RANDOM, 2 },
		{ "chain_len= 2\nround_robin_chain\n", CONFIG_CHAIN_ROUND_ROBIN, 2 },
		/* No effect with strict or dynamic, as in proxychains. */
		{ "strict_chain\nchain_len = 3\n", CONFIG_CHAIN_STRICT, 0 },
		{ "chain_len = 2\n", CONFIG_CHAIN_DYNAMIC, 0 },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "%s[ProxyList]\nsocks5 127.0.0.1 1081\nsocks5 127.0.0.1 1082\n"
			 "socks5 127.0.0.1 1083\n",
			 cases[i].text);
		ck_pc_ok(text);
		ck_assert_msg(chain.mode == cases[i].mode, "case %zu", i);
		ck_assert_msg(chain.length == cases[i].length, "case %zu: length %u", i,
			      chain.length);
		ck_assert_msg(chain.pick_as_proxychains, "case %zu", i);
		ck_assert_uint_eq(chain.nhops, 3);
		ck_assert_str_eq(chain.hops[2].display, "socks5://127.0.0.1:1083");
	}
}
END_TEST

/* proxy_dns: names go from hop to hop and the last one resolves. */
START_TEST(test_pc_proxy_dns)
{
	static const char list[] = "[ProxyList]\n"
				   "socks5 127.0.0.1 1081\n"
				   "socks4 127.0.0.1 1082\n"
				   "http 127.0.0.1 8080\n";
	char text[512];

	ck_pc_ok(list);
	ck_assert(chain.resolve_local);
	ck_assert_int_eq(chain.hops[0].type, HOP_SOCKS5);
	ck_assert_int_eq(chain.hops[1].type, HOP_SOCKS4);
	ck_assert_int_eq(chain.hops[2].type, HOP_HTTP);

	static const char *const on[] = { "proxy_dns\n", "proxy_dns_daemon 127.0.0.1:1053\n" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(text, sizeof(text), "%s%s", on[i], list);
		ck_pc_ok(text);
		ck_assert(!chain.resolve_local);
		ck_assert_int_eq(chain.hops[0].type, HOP_SOCKS5H);
		ck_assert_str_eq(chain.hops[0].display, "socks5h://127.0.0.1:1081");
		ck_assert_int_eq(chain.hops[1].type, HOP_SOCKS4A);
		ck_assert_int_eq(chain.hops[2].type, HOP_HTTP);
		ck_assert_str_eq(chain.hops[2].display, "http://127.0.0.1:8080");
	}
}
END_TEST

START_TEST(test_pc_credentials)
{
	ck_pc_ok("[ProxyList]\n"
		 "socks5 127.0.0.1 1080 alice s3cr@t:/%41#\n"
		 "http ::1 3128 bob pw\n"
		 "socks4 proxy.example 1080 carol\n"
		 "socks5\t10.0.0.1\t1080\tdave\n"
		 "http 127.0.0.2 8080\n");
	ck_assert_uint_eq(chain.nhops, 5);
	ck_assert_str_eq(chain.hops[0].user, "alice");
	ck_assert(chain.hops[0].has_pass);
	ck_assert_str_eq(chain.hops[0].pass, "s3cr@t:/%41#");
	ck_assert_str_eq(chain.hops[0].display, "socks5://alice@127.0.0.1:1080");
	ck_assert_str_eq(chain.hops[1].display, "http://bob@[::1]:3128");
	ck_assert_str_eq(chain.hops[1].pass, "pw");
	ck_assert_int_eq(chain.hops[2].type, HOP_SOCKS4);
	ck_assert_str_eq(chain.hops[2].display, "socks4://carol@proxy.example:1080");
	ck_assert(!chain.hops[2].has_pass);
	ck_assert_str_eq(chain.hops[3].user, "dave");
	ck_assert(!chain.hops[3].has_pass);
	ck_assert(!chain.hops[4].has_user);
}
END_TEST

/* Comments, blank lines, indentation, CRLF, a '#' inside a password. */
START_TEST(test_pc_comments)
{
	ck_pc_ok("\xef\xbb\xbf"
		 "# a comment\r\n"
		 "   \t# an indented one\r\n"
		 "\r\n"
		 "  round_robin_chain  \r\n"
		 "\tquiet_mode\r\n"
		 "[ProxyList]\r\n"
		 "# between proxies\r\n"
		 "  socks5 127.0.0.1 1081  \r\n"
		 "\r\n"
		 "socks5 127.0.0.1 1082 u p#q\r\n"
		 "#socks5 127.0.0.1 1083");
	ck_assert_int_eq(chain.mode, CONFIG_CHAIN_ROUND_ROBIN);
	ck_assert_uint_eq(chain.nhops, 2);
	ck_assert_str_eq(chain.hops[1].pass, "p#q");
}
END_TEST

START_TEST(test_pc_timeouts)
{
	static const struct {
		const char *text;
		unsigned ms;
	} cases[] = {
		{ "", 10000 }, /* proxychains' defaults: connect 10000, read 4000 */
		{ "tcp_connect_time_out 2000\ntcp_read_time_out 3000\n", 3000 },
		{ "tcp_connect_time_out 20000\n", 20000 },
		{ "tcp_connect_time_out 1000\n", 4000 },
		{ "tcp_read_time_out 12000\n", 12000 },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s[ProxyList]\nhttp 127.0.0.1 3128\n", cases[i].text);
		ck_pc_ok(text);
		ck_assert_msg(chain.step_timeout_ms == cases[i].ms, "case %zu: %u", i,
			      chain.step_timeout_ms);
	}
}
END_TEST

START_TEST(test_pc_errors)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} cases[] = {
		{ "", 1, "no [ProxyList] section" },
		{ "strict_chain\n# only options\n", 2, "no [ProxyList] section" },
		{ "[ProxyList]\n# none\n", 1, "[ProxyList] names no proxy" },
		{ "strict_chain\nlocalnet 127.0.0.0/255.0.0.0\n[ProxyList]\nsocks5 1.2.3.4 1\n", 2,
		  "localnet is not supported: in hopsocks, route rules decide what bypasses a "
		  "chain (e.g. 'route 192.168.0.0/16 direct')" },
		{ "dnat 1.1.1.1:1234 1.1.1.2:443\n", 1,
		  "dnat is not supported: hopsocks does not rewrite destinations" },
		{ "proxy_dns_old\n", 1,
		  "proxy_dns_old is not supported: write proxy_dns (the name then reaches the "
		  "last hop)" },
		{ "[ProxyList]\nsocks5 1.2.3.4 1080\nraw 127.0.0.1 8000\n", 3,
		  "raw proxies are not supported: hopsocks has no hop that relays without a "
		  "protocol (use socks4, socks5 or http)" },
		{ "strict_chain\ndynamic_chain\n", 2,
		  "second chain mode 'dynamic_chain' (line 1 already chose one)" },
		{ "proxy_dns yes\n", 1,
		  "unexpected 'yes' after proxy_dns (comments go on a line of their own)" },
		{ "strict_chain # one\n", 1,
		  "unexpected '#' after strict_chain (comments go on a line of their own)" },
		{ "chain_len 2\n", 1, "chain_len: expected 'chain_len = N' with N from 1 to 32" },
		{ "chain_len = 0\n", 1, "chain_len: expected 'chain_len = N' with N from 1 to 32" },
		{ "chain_len = 33\n", 1,
		  "chain_len: expected 'chain_len = N' with N from 1 to 32" },
		{ "random_chain\nchain_len = 3\n[ProxyList]\nsocks5 1.2.3.4 1\nsocks5 1.2.3.4 2\n",
		  2, "chain_len 3 is more than the 2 proxies in [ProxyList]" },
		{ "tcp_read_time_out\n", 1,
		  "tcp_read_time_out: expected milliseconds, 1 to 3600000" },
		{ "tcp_connect_time_out 0\n", 1,
		  "tcp_connect_time_out: expected milliseconds, 1 to 3600000" },
		{ "tcp_connect_time_out 5s\n", 1,
		  "tcp_connect_time_out: expected milliseconds, 1 to 3600000" },
		{ "remote_dns_subnet 256\n", 1,
		  "remote_dns_subnet: expected a number from 0 to 255" },
		{ "proxy_dns_daemon\n", 1, "proxy_dns_daemon: expected ADDRESS:PORT" },
		{ "strict-chain\n", 1, "unknown option 'strict-chain'" },
		{ "[ProxyList]\nstrict_chain\n", 2,
		  "unknown proxy type 'strict_chain' (expected socks4, socks5 or http; options go "
		  "before [ProxyList])" },
		{ "[ProxyList]\n[ProxyList]\n", 2, "[ProxyList] given twice (first on line 1)" },
		{ "[ProxyList]\nsocks5://127.0.0.1:1080\n", 2,
		  "proxy URLs are not supported here: write 'TYPE HOST PORT [USER [PASS]]'" },
		{ "[ProxyList]\nsocks5 127.0.0.1\n", 2, "expected TYPE HOST PORT [USER [PASS]]" },
		{ "[ProxyList]\nsocks5 127.0.0.1 0\n", 2, "invalid port '0' (expected 1..65535)" },
		{ "[ProxyList]\nsocks5 127.0.0.1 65536\n", 2,
		  "invalid port '65536' (expected 1..65535)" },
		{ "[ProxyList]\nsocks5 127.0.0.1 1080 # tor\n", 2,
		  "a comment after the port: proxychains would send it as the user name; put "
		  "comments on a line of their own" },
		{ "[ProxyList]\nsocks5 127.0.0.1 1080 u p extra\n", 2,
		  "too many fields (expected TYPE HOST PORT [USER [PASS]]; comments go on a line "
		  "of "
		  "their own)" },
		{ "[ProxyList]\nsocks4 127.0.0.1 1080 u p\n", 2,
		  "a socks4 proxy takes a user id, not a password" },
		{ "[ProxyList]\nsocks5 a@b 1080\n", 2, "invalid host 'a@b'" },
		{ "[ProxyList]\nsocks5 1::2::3 1080\n", 2, "invalid host '1::2::3'" },
		{ "[ProxyList]\nhttp 127.0.0.1 3128 a:b c\n", 2,
		  "invalid proxy: hop 'http://a%3Ab:***@127.0.0.1:3128': ':' in an http user name "
		  "(Basic auth cannot carry it)" },
		{ "strict_chain\n\x1b[2Jproxy_dns\n", 2, "invalid control character 0x1b" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(pc_parse(cases[i].text) == -1, "case %zu should fail", i);
		ck_assert_msg(strcmp(err, cases[i].msg) == 0, "case %zu: got '%s'", i, err);
		ck_assert_msg(line == cases[i].line, "case %zu: line %u, not %u", i, line,
			      cases[i].line);
		ck_assert_ptr_null(chain.hops); /* unchanged on failure */
	}

	char many[4096] = "[ProxyList]\n";
	for (int i = 0; i < 33; i++)
		sprintf(many + strlen(many), "socks5 127.0.0.1 %d\n", 1000 + i);
	ck_assert_int_eq(pc_parse(many), -1);
	ck_assert_str_eq(err, "more than 32 proxies");
	ck_assert_uint_eq(line, 34);

	/* The longest user, password and host make a URL that fits whole;
	 * one byte more is an error, never a URL cut short. */
	char text[2048], user[300], host[300];
	memset(user, '/', 255);
	user[255] = '\0';
	memset(host, 'h', 255);
	host[255] = '\0';
	snprintf(text, sizeof(text), "[ProxyList]\nsocks5 %s 1081 %s %s\n", host, user, user);
	ck_pc_ok(text);
	ck_assert_str_eq(chain.hops[0].addr.addr.domain, host);
	ck_assert_str_eq(chain.hops[0].user, user);
	ck_assert_str_eq(chain.hops[0].pass, user);
	ck_assert_uint_eq(chain.hops[0].addr.port, 1081);
	strcat(user, "/");
	snprintf(text, sizeof(text), "[ProxyList]\nsocks5 %s 1081 %s\n", host, user);
	ck_assert_int_eq(pc_parse(text), -1);
	ck_assert_str_eq(err, "user or password longer than 255 bytes");
	snprintf(text, sizeof(text), "[ProxyList]\nsocks5 %s 1081 u %s\n", host, user);
	ck_assert_int_eq(pc_parse(text), -1);
	ck_assert_str_eq(err, "user or password longer than 255 bytes");
	memset(host, 'h', 256);
	host[256] = '\0';
	snprintf(text, sizeof(text), "[ProxyList]\nsocks5 %s 1081\n", host);
	ck_assert_int_eq(pc_parse(text), -1);
	ck_assert_uint_eq(strncmp(err, "invalid host 'hhh", 17), 0);
}
END_TEST

/* ---- in a configuration: files on disk ---- */

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static void remove_file(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static struct config cfg;

static void setup_files(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hopsocks-pcfile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	config_init(&cfg);
	memset(err, 0, sizeof(err));
}

static void teardown_files(void)
{
	static const char *const names[] = { "h.conf", "pc.conf", "bad.conf" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		remove_file(names[i]);
	rmdir(dir);
	config_free(&cfg);
}

static int load(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return config_load_file(&cfg, path, err, sizeof(err));
}

/* Load name, which must fail with want, where "DIR/" stands for the
 * test's directory. */
static void expect_err(const char *name, const char *want)
{
	char expected[CONFIG_ERR_MAX] = "";
	const char *p = want, *q;

	config_free(&cfg);
	config_init(&cfg);
	ck_assert_int_eq(load(name), -1);
	while ((q = strstr(p, "DIR/")) != NULL) {
		strncat(expected, p, (size_t)(q - p));
		strcat(expected, dir);
		strcat(expected, "/");
		p = q + 4;
	}
	strcat(expected, p);
	ck_assert_str_eq(err, expected);
}

START_TEST(test_pc_block)
{
	write_file("pc.conf",
		   "round_robin_chain\nchain_len = 2\nproxy_dns\n[ProxyList]\n"
		   "socks5 127.0.0.1 1081\nhttp 127.0.0.1 1082\nsocks4 127.0.0.1 1083\n");
	/* A relative path is read from the configuration's directory. */
	write_file("h.conf", "chain pc {\n    proxychains pc.conf\n    retry-dead 5s\n}\n"
			     "route * via pc\n");
	ck_assert_msg(load("h.conf") == 0, "%s", err);
	ck_assert_uint_eq(cfg.nchains, 1);
	const struct config_chain *c = &cfg.chains[0];
	ck_assert_int_eq(c->mode, CONFIG_CHAIN_ROUND_ROBIN);
	ck_assert_uint_eq(c->length, 2);
	ck_assert(c->pick_as_proxychains);
	ck_assert(!c->resolve_local);
	ck_assert_uint_eq(c->retry_dead_ms, 5000);
	ck_assert_uint_eq(c->nhops, 3);
	ck_assert_str_eq(c->hops[0].display, "socks5h://127.0.0.1:1081");
	ck_assert_str_eq(c->hops[2].display, "socks4a://127.0.0.1:1083");
	ck_assert_uint_eq(c->pc_line, 2);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);

	/* The file is read at every load: an edit applies at the next one. */
	write_file("pc.conf", "strict_chain\n[ProxyList]\nhttp 127.0.0.1 3128\n");
	config_free(&cfg);
	config_init(&cfg);
	ck_assert_msg(load("h.conf") == 0, "%s", err);
	ck_assert_int_eq(cfg.chains[0].mode, CONFIG_CHAIN_STRICT);
	ck_assert_uint_eq(cfg.chains[0].nhops, 1);
}
END_TEST

START_TEST(test_pc_block_errors)
{
	write_file("pc.conf", "[ProxyList]\nsocks5 127.0.0.1 1081\n");
	write_file("bad.conf", "strict_chain\n\n[ProxyList]\nraw 127.0.0.1 1081\n");

	write_file("h.conf", "chain x {\n    proxychains bad.conf\n}\n");
	expect_err("h.conf", "DIR/bad.conf:4: raw proxies are not supported: hopsocks has no hop "
			     "that relays without a protocol (use socks4, socks5 or http)");
	write_file("h.conf", "chain x {\n    proxychains missing.conf\n}\n");
	expect_err("h.conf", "chain 'x': proxychains (line 2): DIR/missing.conf: No such file or "
			     "directory");
	write_file("h.conf",
		   "chain x {\n    hop socks5://127.0.0.1:1\n    proxychains pc.conf\n}\n");
	expect_err("h.conf", "DIR/h.conf:3: chain 'x': proxychains: cannot be mixed with mode, "
			     "hop, length or resolve (line 2): the file gives them");
	write_file("h.conf", "chain x {\n    mode strict\n    proxychains pc.conf\n}\n");
	expect_err("h.conf", "DIR/h.conf:3: chain 'x': proxychains: cannot be mixed with mode, "
			     "hop, length or resolve (line 2): the file gives them");
	write_file("h.conf", "chain x {\n    proxychains pc.conf\n    mode dynamic\n}\n");
	expect_err("h.conf", "DIR/h.conf:3: chain 'x': mode cannot be mixed with proxychains "
			     "(line 2): the file gives it");
	write_file("h.conf", "chain x {\n    proxychains pc.conf\n    resolve local\n}\n");
	expect_err("h.conf", "DIR/h.conf:3: chain 'x': resolve cannot be mixed with proxychains "
			     "(line 2): the file gives it");
	write_file("h.conf", "chain x {\n    proxychains pc.conf\n    length 1\n}\n");
	expect_err("h.conf", "DIR/h.conf:3: chain 'x': length cannot be mixed with proxychains "
			     "(line 2): the file gives it");
	write_file("h.conf", "chain x {\n    proxychains pc.conf\n    hop http://h:1\n}\n");
	expect_err("h.conf", "DIR/h.conf:3: chain 'x': hop cannot be mixed with proxychains "
			     "(line 2): the file gives it");
	write_file("h.conf", "chain x {\n    proxychains pc.conf\n    proxychains pc.conf\n}\n");
	expect_err("h.conf", "DIR/h.conf:3: chain 'x': proxychains: given twice (first on line "
			     "2)");
	write_file("h.conf", "chain x {\n    proxychains \"\"\n}\n");
	expect_err("h.conf", "DIR/h.conf:2: chain 'x': proxychains: empty path");

	/* Parsed but never read (only config_load_file reads it). */
	config_free(&cfg);
	config_init(&cfg);
	static const char text[] = "chain x {\nproxychains /nonexistent\n}\n";
	ck_assert_int_eq(config_parse_text(&cfg, "t.conf", text, strlen(text), err, sizeof(err)),
			 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "chain 'x': no hop (its proxychains file was not read)");
}
END_TEST

START_TEST(test_pc_cli)
{
	char path[128], expected[CONFIG_ERR_MAX];

	write_file("pc.conf", "random_chain\nchain_len = 1\ntcp_connect_time_out 2500\n"
			      "[ProxyList]\nsocks5 127.0.0.1 1081 u p\nsocks5 127.0.0.1 1082\n");
	write_file("h.conf", "route .onion direct\n");
	ck_assert_msg(load("h.conf") == 0, "%s", err);
	snprintf(path, sizeof(path), "%s/pc.conf", dir);
	ck_assert_int_eq(config_set_cli_chain_file(&cfg, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nchains, 1);
	ck_assert_str_eq(cfg.chains[0].name, "cli");
	ck_assert_int_eq(cfg.chains[0].mode, CONFIG_CHAIN_RANDOM);
	ck_assert_uint_eq(cfg.chains[0].length, 1);
	ck_assert(cfg.chains[0].resolve_local);
	ck_assert_uint_eq(cfg.chains[0].step_timeout_ms, 4000);
	ck_assert_uint_eq(cfg.chains[0].nhops, 2);
	ck_assert_str_eq(cfg.chains[0].hops[0].pass, "p");
	/* Its catch-all route goes before the file's. */
	ck_assert_uint_eq(cfg.nroutes, 2);
	ck_assert_str_eq(cfg.routes[0].via, "cli");
	ck_assert_int_eq(cfg.routes[0].chain, 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);

	ck_assert_int_eq(config_set_cli_chain_file(&cfg, path, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "--chain-file: given twice");

	/* A bad file leaves the configuration as it was. */
	config_free(&cfg);
	config_init(&cfg);
	write_file("bad.conf", "[ProxyList]\nsocks5 127.0.0.1 1081\ndnat 1.2.3.4 5.6.7.8\n");
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	ck_assert_int_eq(config_set_cli_chain_file(&cfg, path, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected),
		 "%s/bad.conf:3: unknown proxy type 'dnat' (expected socks4, socks5 or http; "
		 "options go before [ProxyList])",
		 dir);
	ck_assert_str_eq(err, expected);
	ck_assert_uint_eq(cfg.nchains, 0);
	ck_assert_uint_eq(cfg.nroutes, 0);
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	ck_assert_int_eq(config_set_cli_chain_file(&cfg, path, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected),
		 "--chain-file: %s/missing.conf: No such file or directory", dir);
	ck_assert_str_eq(err, expected);

	/* A file's own chain "cli" and --chain-file cannot both be. */
	write_file("h.conf", "chain cli {\nhop socks5://127.0.0.1:1\n}\n");
	ck_assert_msg(load("h.conf") == 0, "%s", err);
	snprintf(path, sizeof(path), "%s/pc.conf", dir);
	ck_assert_int_eq(config_set_cli_chain_file(&cfg, path, err, sizeof(err)), -1);
	ck_assert_str_eq(
		err, "--chain-file: the configuration already has a chain named 'cli' (line 1)");
}
END_TEST

void test_config_pcfile_add(Suite *s)
{
	TCase *tc = tcase_create("proxychains");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pc_example);
	tcase_add_test(tc, test_pc_modes);
	tcase_add_test(tc, test_pc_proxy_dns);
	tcase_add_test(tc, test_pc_credentials);
	tcase_add_test(tc, test_pc_comments);
	tcase_add_test(tc, test_pc_timeouts);
	tcase_add_test(tc, test_pc_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("proxychains files");
	tcase_add_checked_fixture(tc, setup_files, teardown_files);
	tcase_add_test(tc, test_pc_block);
	tcase_add_test(tc, test_pc_block_errors);
	tcase_add_test(tc, test_pc_cli);
	suite_add_tcase(s, tc);
}
