/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for chain blocks, route rules and --chain in the config
 * language (src/config_chain.c). Part of the test_config program; see
 * config_suite.h. As in test_config.c, error messages are compared whole:
 * they are what `hopsocks -t` prints. */
#include "config_suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_chain.h"
#include "config/config_load.h"
#include "proto/hop.h"

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

#define ck_parse_ok(text)                                                         \
	do {                                                                      \
		int rc_ = parse(text);                                            \
		ck_assert_msg(rc_ == 0, "parse of [%s] failed: %s", (text), err); \
	} while (0)

/* Each error case starts from a fresh config, so a chain left behind by
 * one case cannot turn the next into a "duplicate name". */
#define ck_parse_err(text, expected)                                           \
	do {                                                                   \
		config_free(&cfg);                                             \
		config_init(&cfg);                                             \
		int rc_ = parse(text);                                         \
		ck_assert_msg(rc_ == -1, "parse of [%s] should fail", (text)); \
		ck_assert_str_eq(err, (expected));                             \
	} while (0)

#define TOR "chain tor {\n    hop socks5h://127.0.0.1:9050\n}\n"

/* ---- chains that parse ---- */

START_TEST(test_chain_full)
{
	ck_parse_ok("# upstreams\n"
		    "chain tor {\n"
		    "    hop socks5h://127.0.0.1:9050\n"
		    "}\n"
		    "chain corp {\n"
		    "\tmode dynamic\n"
		    "\thop http://alice:secret@proxy1.corp.example:3128\n"
		    "\n"
		    "\t# a comment inside a block\n"
		    "\thop http://proxy2.corp.example:3128   # and after a hop\n"
		    "\tresolve local\n"
		    "\tretry-dead 1m\n"
		    "} # end of corp\n"
		    "chain Mix_2-b {\n"
		    "    mode random\n"
		    "    length 2\n"
		    "    hop socks4://10.0.0.1:1080\n"
		    "    hop socks5://10.0.0.2\n"
		    "    hop socks4a://[2001:db8::3]:1080\n"
		    "}\n"
		    "route .onion via tor\n"
		    "route 10.0.0.0/8 via corp\n"
		    "route * port 8000-8080 via Mix_2-b\n"
		    "route * direct\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nchains, 3);

	const struct config_chain *c = &cfg.chains[0];
	ck_assert_str_eq(c->name, "tor");
	ck_assert_int_eq(c->mode, CONFIG_CHAIN_STRICT);
	ck_assert_uint_eq(c->length, 0);
	ck_assert(!c->resolve_local);
	ck_assert_uint_eq(c->retry_dead_ms, 30000);
	ck_assert_uint_eq(c->line, 2);
	ck_assert_uint_eq(c->nhops, 1);
	ck_assert_uint_eq(c->hops[0].type, HOP_SOCKS5H);
	ck_assert_str_eq(c->hops[0].display, "socks5h://127.0.0.1:9050");

	c = &cfg.chains[1];
	ck_assert_str_eq(c->name, "corp");
	ck_assert_int_eq(c->mode, CONFIG_CHAIN_DYNAMIC);
	ck_assert(c->resolve_local);
	ck_assert_uint_eq(c->retry_dead_ms, 60000);
	ck_assert_uint_eq(c->line, 5);
	ck_assert_uint_eq(c->nhops, 2);
	ck_assert_uint_eq(c->hops[0].type, HOP_HTTP);
	ck_assert_str_eq(c->hops[0].user, "alice");
	ck_assert_str_eq(c->hops[0].pass, "secret");
	ck_assert_str_eq(c->hops[1].display, "http://proxy2.corp.example:3128");

	c = &cfg.chains[2];
	ck_assert_str_eq(c->name, "Mix_2-b");
	ck_assert_int_eq(c->mode, CONFIG_CHAIN_RANDOM);
	ck_assert_uint_eq(c->length, 2);
	ck_assert_uint_eq(c->nhops, 3);
	ck_assert_uint_eq(c->hops[0].type, HOP_SOCKS4);
	ck_assert_uint_eq(c->hops[1].type, HOP_SOCKS5);
	ck_assert_uint_eq(c->hops[2].type, HOP_SOCKS4A);

	ck_assert_uint_eq(cfg.nroutes, 4);
	ck_assert_int_eq(cfg.routes[0].kind, CONFIG_DEST_SUFFIX);
	ck_assert_str_eq(cfg.routes[0].name, "onion");
	ck_assert_int_eq(cfg.routes[0].chain, 0);
	ck_assert_str_eq(cfg.routes[0].via, "tor");
	ck_assert_uint_eq(cfg.routes[0].line, 21);
	ck_assert_uint_eq(cfg.routes[0].port_min, 0);
	ck_assert_uint_eq(cfg.routes[0].port_max, 65535);
	ck_assert_int_eq(cfg.routes[1].kind, CONFIG_DEST_CIDR);
	ck_assert_int_eq(cfg.routes[1].chain, 1);
	ck_assert_int_eq(cfg.routes[1].prefix, 8);
	ck_assert_int_eq(cfg.routes[2].kind, CONFIG_DEST_ANY);
	ck_assert_int_eq(cfg.routes[2].chain, 2);
	ck_assert_uint_eq(cfg.routes[2].port_min, 8000);
	ck_assert_uint_eq(cfg.routes[2].port_max, 8080);
	ck_assert_int_eq(cfg.routes[3].chain, -1);
	ck_assert_str_eq(cfg.routes[3].via, "");
	ck_assert_int_eq(config_chain_find(&cfg, "corp"), 1);
	ck_assert_int_eq(config_chain_find(&cfg, "Corp"), -1);
	ck_assert_int_eq(config_chain_find(&cfg, "direct"), -1);
}
END_TEST

START_TEST(test_chain_modes)
{
	static const struct {
		const char *word;
		enum config_chain_mode mode;
	} modes[] = {
		{ "strict", CONFIG_CHAIN_STRICT },
		{ "dynamic", CONFIG_CHAIN_DYNAMIC },
		{ "random", CONFIG_CHAIN_RANDOM },
		{ "round-robin", CONFIG_CHAIN_ROUND_ROBIN },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(text, sizeof(text),
			 "chain c%zu {\nmode %s\nhop socks5://10.0.0.1\nhop socks5://10.0.0.2\n}\n",
			 i, modes[i].word);
		ck_parse_ok(text);
		ck_assert_int_eq(cfg.chains[i].mode, modes[i].mode);
		ck_assert_uint_eq(cfg.chains[i].length, 0);
	}
	ck_parse_ok("chain rr {\nhop socks5://10.0.0.1\nlength 1\nmode round-robin\n"
		    "hop socks5://10.0.0.2\nhop socks5://10.0.0.3\n}\n");
	ck_assert_int_eq(cfg.chains[4].mode, CONFIG_CHAIN_ROUND_ROBIN);
	ck_assert_uint_eq(cfg.chains[4].length, 1);
	/* length may equal the number of hops. */
	ck_parse_ok("chain r3 {\nmode random\nlength 3\nhop socks5://10.0.0.1\n"
		    "hop socks5://10.0.0.2\nhop socks5://10.0.0.3\n}\n");
	ck_assert_uint_eq(cfg.chains[5].length, 3);
}
END_TEST

/* Inside a block, as at the top level, the last setting wins. */
START_TEST(test_chain_later_wins)
{
	ck_parse_ok("chain a {\nmode random\nmode strict\nresolve local\nresolve remote\n"
		    "retry-dead 5s\nretry-dead 500ms\nhop socks5://10.0.0.1\n}\n");
	ck_assert_int_eq(cfg.chains[0].mode, CONFIG_CHAIN_STRICT);
	ck_assert(!cfg.chains[0].resolve_local);
	ck_assert_uint_eq(cfg.chains[0].retry_dead_ms, 500);
}
END_TEST

START_TEST(test_chain_syntax_variants)
{
	/* Braces need no blanks; a name may be quoted; CRLF endings. */
	ck_parse_ok("chain a{\r\n\"hop\" \"socks5://10.0.0.1\"\r\n}\r\n"
		    "chain \"b\" {\n  hop socks5://10.0.0.2\n  }\n"
		    "chain c {\nhop socks5://10.0.0.3\n}");
	ck_assert_uint_eq(cfg.nchains, 3);
	ck_assert_str_eq(cfg.chains[1].name, "b");
	ck_assert_uint_eq(cfg.chains[2].nhops, 1);
	/* 32 hops, and a 63-byte name. */
	char text[4096], *p = text;
	p += sprintf(p, "chain %s {\n",
		     "n123456789012345678901234567890123456789012345678901234567890ab");
	for (int i = 0; i < 32; i++)
		p += sprintf(p, "hop socks5://10.0.0.%d\n", i + 1);
	strcpy(p, "}\n");
	ck_parse_ok(text);
	ck_assert_uint_eq(cfg.chains[3].nhops, 32);
	ck_assert_str_eq(cfg.chains[3].hops[31].display, "socks5://10.0.0.32:1080");
}
END_TEST

/* A route may come before the chain it names; the check waits for the end. */
START_TEST(test_route_before_chain)
{
	ck_parse_ok("route .onion via tor\n" TOR);
	ck_assert_int_eq(cfg.routes[0].chain, 0);
	/* ...and a later text may route to a chain of an earlier one. */
	ck_parse_ok("route 10.0.0.0/8 via tor\n");
	ck_assert_uint_eq(cfg.nroutes, 2);
	ck_assert_int_eq(cfg.routes[1].chain, 0);
	ck_assert_uint_eq(cfg.routes[1].line, 1);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_chain_block_errors)
{
	ck_parse_err("chain tor {\n    hop socks5h://127.0.0.1:9050\n",
		     "x.conf:1: chain 'tor': missing '}'");
	ck_parse_err("# 1\n# 2\nlog info\n\n\n\n\n\n\n\n\nchain tor {\n    hop socks5h://h:1\n\n",
		     "x.conf:12: chain 'tor': missing '}'");
	ck_parse_err("chain a {\nhop socks5://10.0.0.1\nchain b {\n",
		     "x.conf:3: chain 'a': blocks cannot be nested (is a '}' missing?)");
	ck_parse_err("chain a {\nmode strict {\n",
		     "x.conf:2: chain 'a': blocks cannot be nested (is a '}' missing?)");
	ck_parse_err("chain a {\n{\n",
		     "x.conf:2: chain 'a': blocks cannot be nested (is a '}' missing?)");
	ck_parse_err("chain a {\nhop socks5://10.0.0.1\n} x\n",
		     "x.conf:3: chain 'a': '}' must be alone on its line");
	ck_parse_err("chain a {\nhop socks5://10.0.0.1 }\n",
		     "x.conf:2: chain 'a': '}' must be alone on its line");
	ck_parse_err("chain a {\nhops socks5://10.0.0.1\n}\n",
		     "x.conf:2: chain 'a': unknown directive 'hops' (expected mode, hop, length, "
		     "resolve, retry-dead or proxychains)");
	ck_parse_err("chain a {\nhop socks5://10.0.0.1\nlisten 1080\n",
		     "x.conf:3: chain 'a': 'listen' is not allowed in a chain (is a '}' missing?)");
	ck_parse_err("chain a {\nhop socks5://10.0.0.1\nroute * via a\n}\n",
		     "x.conf:3: chain 'a': 'route' is not allowed in a chain (is a '}' missing?)");
	ck_parse_err("chain a {\nhop\n}\n", "x.conf:2: chain 'a': hop: missing argument");
	ck_parse_err("chain a {\nmode strict dynamic\n}\n",
		     "x.conf:2: chain 'a': mode: too many arguments");
	ck_parse_err("chain a {\nhop 1 2 3 4 5 6 7 8\n}\n",
		     "x.conf:2: chain 'a': hop: too many arguments");
	ck_parse_err(TOR "}\n", "x.conf:4: unexpected '}'");
	ck_parse_err("chain a {\nhop socks5://10.0.0.1 proxy-protocol\n}\n",
		     "x.conf:2: chain 'a': hop: proxy-protocol: missing version (v1 or v2)");
	ck_parse_err("chain a {\nhop socks5://10.0.0.1 proxy-protocol v3\n}\n",
		     "x.conf:2: chain 'a': hop: proxy-protocol: unknown version 'v3' (expected v1 "
		     "or v2)");
	ck_parse_err(
		"chain a {\nhop socks5://10.0.0.1 send-proxy v2\n}\n",
		"x.conf:2: chain 'a': hop: unknown option 'send-proxy' after the URL (expected "
		"proxy-protocol v1|v2)");
	ck_parse_err("chain a {\nhop xyz://10.0.0.1 proxy-protocol v2\n}\n",
		     "x.conf:2: chain 'a': hop 'xyz://10.0.0.1': unknown scheme 'xyz' (expected "
		     "socks4, socks4a, socks5, socks5h or http)");
}
END_TEST

/* "hop URL proxy-protocol v1|v2": kept on the hop, printed back by -T. */
START_TEST(test_chain_hop_proxy_protocol)
{
	ck_parse_ok(
		"chain lb {\n    hop socks5://127.0.0.1:1080 proxy-protocol v2\n"
		"    hop http://u:p@10.0.0.1:3128 proxy-protocol v1\n    hop socks4://h:1\n}\n");
	ck_assert_uint_eq(cfg.nchains, 1);
	ck_assert_uint_eq(cfg.chains[0].nhops, 3);
	ck_assert_uint_eq(cfg.chains[0].hops[0].proxy_protocol, 2);
	ck_assert_uint_eq(cfg.chains[0].hops[1].proxy_protocol, 1);
	ck_assert_uint_eq(cfg.chains[0].hops[2].proxy_protocol, 0);
}
END_TEST

START_TEST(test_chain_header_errors)
{
	ck_parse_err("chain\n", "x.conf:1: chain: missing name");
	ck_parse_err("chain {\n", "x.conf:1: chain: missing name");
	ck_parse_err("chain tor\n", "x.conf:1: chain: missing '{' after the name");
	ck_parse_err("chain tor socks\n",
		     "x.conf:1: chain: expected '{' after the name, not 'socks'");
	ck_parse_err("chain tor }\n", "x.conf:1: chain: expected '{' after the name, not '}'");
	ck_parse_err("chain tor { hop socks5://10.0.0.1 }\n",
		     "x.conf:1: chain: '{' must end the line");
	ck_parse_err("chain tor {}\n", "x.conf:1: chain: '{' must end the line");
	ck_parse_err("chain a.b {\n", "x.conf:1: chain: invalid name 'a.b' (letters, digits, '-' "
				      "and '_', at most 63)");
	ck_parse_err("chain \"\" {\n",
		     "x.conf:1: chain: invalid name '' (letters, digits, '-' and '_', at most 63)");
	ck_parse_err("chain n123456789012345678901234567890123456789012345678901234567890abc {\n",
		     "x.conf:1: chain: invalid name "
		     "'n123456789012345678901234567890123456789012345678901234567890abc' (letters, "
		     "digits, '-' and '_', at most 63)");
	ck_parse_err("chain direct {\n", "x.conf:1: chain: 'direct' is a reserved name");
	ck_parse_err(TOR "\nchain tor {\n",
		     "x.conf:5: chain: duplicate name 'tor' (first defined on line 1)");
}
END_TEST

START_TEST(test_chain_value_errors)
{
	ck_parse_err("chain a {\nmode fast\n",
		     "x.conf:2: chain 'a': mode: invalid value 'fast' (expected strict, dynamic, "
		     "random or round-robin)");
	ck_parse_err("chain a {\nlength 0\n",
		     "x.conf:2: chain 'a': length: invalid number '0' (expected 1..32)");
	ck_parse_err("chain a {\nlength 33\n",
		     "x.conf:2: chain 'a': length: invalid number '33' (expected 1..32)");
	ck_parse_err("chain a {\nlength -1\n",
		     "x.conf:2: chain 'a': length: invalid number '-1' (expected 1..32)");
	ck_parse_err(
		"chain a {\nresolve dns\n",
		"x.conf:2: chain 'a': resolve: invalid value 'dns' (expected remote or local)");
	ck_parse_err("chain a {\nretry-dead soon\n",
		     "x.conf:2: chain 'a': retry-dead: invalid duration 'soon' (examples: 500ms, "
		     "10s, 5m, 1h)");
	ck_parse_err("chain a {\nretry-dead 0s\n",
		     "x.conf:2: chain 'a': retry-dead: must be greater than 0");
}
END_TEST

/* Errors found at '}' name the line they are about. */
START_TEST(test_chain_close_errors)
{
	ck_parse_err("\nchain empty {\n# nothing\n}\n",
		     "x.conf:2: chain 'empty': no hop (add at least one 'hop URL')");
	ck_parse_err("chain a {\nmode random\nlength 3\nhop socks5://10.0.0.1\n"
		     "hop socks5://10.0.0.2\n}\n",
		     "x.conf:3: chain 'a': length 3 is more than its 2 hops");
	ck_parse_err("chain a {\nmode round-robin\nlength 2\nhop socks5://10.0.0.1\n}\n",
		     "x.conf:3: chain 'a': length 2 is more than its 1 hop");
	ck_parse_err("chain a {\nhop socks5://10.0.0.1\nlength 1\n}\n",
		     "x.conf:3: chain 'a': length applies only to mode random and round-robin");
	ck_parse_err("chain a {\nlength 1\nmode random\nmode dynamic\nhop socks5://10.0.0.1\n}\n",
		     "x.conf:2: chain 'a': length applies only to mode random and round-robin");
}
END_TEST

/* A bad URL: hop_parse()'s own message, after the chain's name. */
START_TEST(test_chain_hop_errors)
{
	static const char *const urls[] = {
		"ftp://10.0.0.1:21",	     "socks5://10.0.0.1:0", "socks5://",
		"socks4://user:pw@10.0.0.1", "10.0.0.1:1080",	    "http://u:hunter2@h:99999",
	};
	char text[256], expected[CONFIG_ERR_MAX + HOP_ERR_MAX], msg[HOP_ERR_MAX];
	struct hop h;

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		ck_assert_int_lt(hop_parse(urls[i], &h, msg, sizeof(msg)), 0);
		ck_assert_msg(strncmp(msg, "hop '", 5) == 0, "hop_parse said: %s", msg);
		snprintf(text, sizeof(text), "chain a {\nhop socks5://10.0.0.9\nhop %s\n}\n",
			 urls[i]);
		snprintf(expected, sizeof(expected), "x.conf:3: chain 'a': %s", msg);
		ck_parse_err(text, expected);
	}
	/* The message, last of all for the http URL, hides the password. */
	ck_assert_ptr_nonnull(strstr(err, "http://u:"));
	ck_assert_ptr_null(strstr(err, "hunter2"));

	char many[4096], *p = many;
	p += sprintf(p, "chain a {\n");
	for (int i = 0; i < 33; i++)
		p += sprintf(p, "hop socks5://10.0.0.%d\n", i + 1);
	strcpy(p, "}\n");
	ck_parse_err(many, "x.conf:34: chain 'a': hop: too many hops (at most 32)");
}
END_TEST

START_TEST(test_route_errors)
{
	ck_parse_err("route\n", "x.conf:1: route: missing argument");
	ck_parse_err("route *\n", "x.conf:1: route: missing argument");
	ck_parse_err("route * via\n", "x.conf:1: route: via: missing chain name");
	ck_parse_err("route * port\n", "x.conf:1: route: port: missing value");
	ck_parse_err("route * port 80\n", "x.conf:1: route: missing 'via CHAIN' or 'direct'");
	ck_parse_err("route * port 0 direct\n",
		     "x.conf:1: route: invalid port '0' (expected P or P-Q, 1..65535)");
	ck_parse_err("route * port 90-80 direct\n",
		     "x.conf:1: route: invalid port '90-80' (expected P or P-Q, 1..65535)");
	ck_parse_err("route * port 80,443 direct\n",
		     "x.conf:1: route: invalid port '80,443' (expected P or P-Q, 1..65535)");
	ck_parse_err("route * tor\n",
		     "x.conf:1: route: expected 'port', 'via CHAIN' or 'direct', not 'tor'");
	ck_parse_err("route * port 80 tor\n",
		     "x.conf:1: route: expected 'via CHAIN' or 'direct', not 'tor'");
	ck_parse_err("route * port 80 port 81\n",
		     "x.conf:1: route: expected 'via CHAIN' or 'direct', not 'port'");
	ck_parse_err("route * direct now\n", "x.conf:1: route: unexpected 'now' after 'direct'");
	ck_parse_err("route * via a b\n", "x.conf:1: route: unexpected 'b' after 'a'");
	ck_parse_err("route * direct port 80\n",
		     "x.conf:1: route: unexpected 'port' after 'direct'");
	ck_parse_err("route * port 80 via a b\n", "x.conf:1: route: unexpected 'b' after 'a'");
	ck_parse_err("route * port 80 via a outgoing 10.0.0.0/8 random x\n",
		     "x.conf:1: route: too many arguments");
	ck_parse_err("route * via direct\n",
		     "x.conf:1: route: 'direct' is not a chain (write '... direct')");
	ck_parse_err("route * via a.b\n", "x.conf:1: route: invalid chain name 'a.b'");
	ck_parse_err("route .onion via tor {\n", "x.conf:1: route: does not take a block");
	ck_parse_err("route bad..name direct\n",
		     "x.conf:1: route: invalid destination 'bad..name' (expected *, an address, "
		     "ADDR/PREFIX, .domain or a host name)");
}
END_TEST

/* "route ... outgoing SOURCE": a fixed address or a random prefix, after
 * "direct" or "via CHAIN". */
START_TEST(test_route_outgoing)
{
	ck_parse_ok(TOR "route 10.0.0.0/8 port 443 direct outgoing 192.0.2.7\n"
			"route .onion via tor outgoing 2001:db8:1::/64 random\n"
			"route * direct\n");
	ck_assert_uint_eq(cfg.nroutes, 3);
	ck_assert_str_eq(cfg.routes[0].outgoing.addr.text, "192.0.2.7");
	ck_assert_uint_eq(cfg.routes[0].outgoing.random_prefix, 0);
	ck_assert_int_eq(cfg.routes[0].chain, -1);
	ck_assert_str_eq(cfg.routes[1].outgoing.addr.text, "2001:db8:1::/64");
	ck_assert_uint_eq(cfg.routes[1].outgoing.random_prefix, 64);
	ck_assert_str_eq(cfg.routes[1].via, "tor");
	ck_assert_uint_eq(cfg.routes[2].outgoing.addr.len, 0);
}
END_TEST

START_TEST(test_route_outgoing_errors)
{
	ck_parse_err("route * direct outgoing\n", "x.conf:1: route: missing address");
	ck_parse_err("route * direct outgoing 10.0.0.0/8\n",
		     "x.conf:1: route: '10.0.0.0/8' is a prefix: add 'random' to pick a source "
		     "inside it, or give one address");
	ck_parse_err("route * direct outgoing 10.0.0.1 random\n",
		     "x.conf:1: route: 'random' needs a prefix, not one address: '10.0.0.1' "
		     "(e.g. 2001:db8:1::/64 random)");
	ck_parse_err("route * direct outgoing 10.0.0.1 now\n",
		     "x.conf:1: route: unexpected 'now' after '10.0.0.1'");
	ck_parse_err("route * outgoing 10.0.0.1 direct\n",
		     "x.conf:1: route: expected 'port', 'via CHAIN' or 'direct', not 'outgoing'");
	ck_parse_err("route * direct outgoing 10.0.0.1:80\n",
		     "x.conf:1: route: a port is not allowed here: '10.0.0.1:80'");
}
END_TEST

/* Unknown chains are found after the last line, and named by the route's
 * line; an earlier error in the text wins. */
START_TEST(test_route_unknown_chain)
{
	ck_parse_err("route .onion via tr\n" TOR, "x.conf:1: route: unknown chain 'tr'");
	ck_parse_err(TOR "route * direct\nroute .onion via tor\nroute 10.0.0.0/8 via corp\n",
		     "x.conf:6: route: unknown chain 'corp'");
	ck_parse_err("route * via TOR\n" TOR, "x.conf:1: route: unknown chain 'TOR'");
	ck_parse_err("route * via nowhere\nworkers x\n",
		     "x.conf:2: workers: invalid value 'x' (expected 1..256 or auto)");
	ck_parse_err("route * via nowhere\nchain a {\n", "x.conf:2: chain 'a': missing '}'");
}
END_TEST

/* ---- --chain ---- */

START_TEST(test_cli_chain)
{
	ck_assert_int_eq(config_set_cli_chain(&cfg, "socks5h://127.0.0.1:9050, http://u:p@h:3128",
					      err, sizeof(err)),
			 0);
	ck_assert_uint_eq(cfg.nchains, 1);
	ck_assert_str_eq(cfg.chains[0].name, "cli");
	ck_assert_int_eq(cfg.chains[0].mode, CONFIG_CHAIN_STRICT);
	ck_assert_uint_eq(cfg.chains[0].line, 0);
	ck_assert_uint_eq(cfg.chains[0].retry_dead_ms, 30000);
	ck_assert(!cfg.chains[0].resolve_local);
	ck_assert_uint_eq(cfg.chains[0].nhops, 2);
	ck_assert_str_eq(cfg.chains[0].hops[1].pass, "p");
	ck_assert_uint_eq(cfg.nroutes, 1);
	ck_assert_int_eq(cfg.routes[0].kind, CONFIG_DEST_ANY);
	ck_assert_int_eq(cfg.routes[0].chain, 0);
	ck_assert_str_eq(cfg.routes[0].via, "cli");
	ck_assert_uint_eq(cfg.routes[0].line, 0);

	/* A file read afterwards adds its rules behind it. */
	ck_parse_ok(TOR "route .onion via tor\n");
	ck_assert_uint_eq(cfg.nroutes, 2);
	ck_assert_str_eq(cfg.routes[0].via, "cli");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);

	ck_assert_int_eq(config_set_cli_chain(&cfg, "socks5://10.0.0.1", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "--chain: given twice");
	ck_assert_int_eq(parse("chain cli {\n"), -1);
	ck_assert_str_eq(err, "x.conf:1: chain: duplicate name 'cli' (already defined by --chain)");
}
END_TEST

/* Read after the file, --chain still goes first. */
START_TEST(test_cli_chain_after_file)
{
	ck_parse_ok(TOR "route .onion via tor\nroute * direct\n");
	ck_assert_int_eq(config_set_cli_chain(&cfg, "socks4a://10.0.0.1:1080", err, sizeof(err)),
			 0);
	ck_assert_uint_eq(cfg.nchains, 2);
	ck_assert_uint_eq(cfg.nroutes, 3);
	ck_assert_str_eq(cfg.routes[0].via, "cli");
	ck_assert_int_eq(cfg.routes[0].chain, 1);
	ck_assert_str_eq(cfg.routes[1].via, "tor");
	ck_assert_int_eq(cfg.routes[1].chain, 0);
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_cli_chain_errors)
{
	char expected[CONFIG_ERR_MAX + HOP_ERR_MAX], msg[HOP_ERR_MAX];
	struct hop *hops;
	size_t n;

	static const char *const bad[] = { "", "socks5://10.0.0.1,", "socks5://10.0.0.1,ftp://x",
					   "socks5://10.0.0.1:0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_lt(hop_list_parse(bad[i], &hops, &n, msg, sizeof(msg)), 0);
		snprintf(expected, sizeof(expected), "--chain: %s", msg);
		ck_assert_int_eq(config_set_cli_chain(&cfg, bad[i], err, sizeof(err)), -1);
		ck_assert_str_eq(err, expected);
		/* Nothing was added. */
		ck_assert_uint_eq(cfg.nchains, 0);
		ck_assert_uint_eq(cfg.nroutes, 0);
	}

	char many[1024], *p = many;
	for (int i = 0; i < 33; i++)
		p += sprintf(p, "%ssocks5://10.0.0.%d", i ? "," : "", i + 1);
	ck_assert_int_eq(config_set_cli_chain(&cfg, many, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "--chain: 33 hops in the list; at most 32 are allowed");

	ck_parse_ok("chain cli {\nhop socks5://10.0.0.1\n}\n");
	ck_assert_int_eq(config_set_cli_chain(&cfg, "socks5://10.0.0.2", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
			 "--chain: the configuration already has a chain named 'cli' (line 1)");
	ck_assert_uint_eq(cfg.nchains, 1);
	ck_assert_uint_eq(cfg.nroutes, 0);
}
END_TEST

/* ---- lifecycle ---- */

START_TEST(test_chain_free)
{
	ck_parse_ok(TOR "route * via tor\n");
	ck_assert_int_eq(config_set_cli_chain(&cfg, "socks5://10.0.0.1", err, sizeof(err)), 0);
	config_free(&cfg);
	ck_assert_ptr_null(cfg.chains);
	ck_assert_uint_eq(cfg.nchains, 0);
	ck_assert_ptr_null(cfg.routes);
	ck_assert_uint_eq(cfg.nroutes, 0);
	config_free(&cfg);
}
END_TEST

/* config_finish checks what a caller may have changed by hand. */
START_TEST(test_finish_routes)
{
	ck_parse_ok(TOR "route * via tor\nroute * direct\n");
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), 0);
	cfg.routes[0].chain = 1;
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "route: unknown chain 'tor'");
	cfg.routes[0].chain = 0;
	cfg.routes[1].chain = 0;
	ck_assert_int_eq(config_finish(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "route: unknown chain ''");
}
END_TEST

void test_config_chain_add(Suite *s)
{
	TCase *tc = tcase_create("chains");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_chain_full);
	tcase_add_test(tc, test_chain_modes);
	tcase_add_test(tc, test_chain_later_wins);
	tcase_add_test(tc, test_chain_syntax_variants);
	tcase_add_test(tc, test_route_before_chain);
	tcase_add_test(tc, test_chain_block_errors);
	tcase_add_test(tc, test_chain_hop_proxy_protocol);
	tcase_add_test(tc, test_chain_header_errors);
	tcase_add_test(tc, test_chain_value_errors);
	tcase_add_test(tc, test_chain_close_errors);
	tcase_add_test(tc, test_chain_hop_errors);
	tcase_add_test(tc, test_route_errors);
	tcase_add_test(tc, test_route_outgoing);
	tcase_add_test(tc, test_route_outgoing_errors);
	tcase_add_test(tc, test_route_unknown_chain);
	tcase_add_test(tc, test_cli_chain);
	tcase_add_test(tc, test_cli_chain_after_file);
	tcase_add_test(tc, test_cli_chain_errors);
	tcase_add_test(tc, test_chain_free);
	tcase_add_test(tc, test_finish_routes);
	suite_add_tcase(s, tc);
}
