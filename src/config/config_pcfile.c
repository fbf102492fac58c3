/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* proxychains-ng configuration files as chains. See config_pcfile.h.
 *
 * The file, as proxychains-ng 4.x reads it: one item a line, leading and
 * trailing blanks ignored, a line whose first other byte is '#' is a
 * comment; options first, then "[ProxyList]" and one proxy a line:
 *
 *	strict_chain | dynamic_chain | random_chain | round_robin_chain
 *	chain_len = N              (random, round robin: hops per connection)
 *	proxy_dns                  (no local DNS: the name reaches the last hop)
 *	tcp_connect_time_out MS
 *	tcp_read_time_out MS
 *	quiet_mode, remote_dns_subnet N, proxy_dns_daemon ADDR:PORT
 *	[ProxyList]
 *	TYPE HOST PORT [USER [PASS]]        TYPE: socks4, socks5, http (raw)
 *
 * The mapping, and why:
 *  - Mode: proxychains' default is dynamic_chain, and chain_len defaults
 *    to 1; both are kept. chain_len with strict or dynamic has no effect
 *    in proxychains, so it has none here either (but must be valid).
 *    round_robin_chain picks hops exactly as proxychains-ng 4.16 does,
 *    wrap-around quirk included, and random_chain and round_robin_chain
 *    refuse a connection when fewer than chain_len hops are up rather than
 *    use fewer (pick_as_proxychains, see chain_health.h).
 *  - proxy_dns: socks5 becomes socks5h and socks4 socks4a, so names are
 *    handed from hop to hop and only the last one resolves; the chain's
 *    resolve is remote. Without it, hopsocks resolves the target itself
 *    (resolve local) and the hops get addresses, as proxychains' program
 *    would have resolved the name with the system's resolver.
 *  - tcp_connect_time_out / tcp_read_time_out: a hopsocks tunnel step is
 *    one connect or one request and its reply, with one deadline; the step
 *    deadline is the larger of the two (proxychains' defaults, 10000 and
 *    4000, stand in for an absent one).
 *  - quiet_mode (proxychains' own chatter on stderr), remote_dns_subnet
 *    (the range proxychains' fake DNS hands out to its program) and
 *    proxy_dns_daemon's address (where that fake DNS runs) concern only the
 *    program proxychains wraps: a server never hands out addresses, its
 *    clients send names. They are checked and have no effect.
 *  - Refused, naming the line: raw proxies (a hop with no protocol: there
 *    is no such hop type), localnet (route rules decide what bypasses a
 *    chain), dnat (hopsocks does not rewrite destinations), proxy_dns_old
 *    (resolves through the chain, then connects to the address), proxy URLs
 *    in [ProxyList], unknown options, a mode given twice, a proxy with
 *    port 0 (which proxychains silently skips), more fields than five and
 *    a '#' where a user name goes (proxychains would send it as the user:
 *    comments must be on their own line), more than 32 proxies.
 *
 * Hops are built as URLs (user and password percent-encoded) and parsed
 * by hop_parse(), so they are checked and displayed like any other. */
#include "config/config_pcfile.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_file.h"
#include "config/config_value.h"
#include "proto/hop.h"
#include "proto/target.h"

/* "socks5h://" + user and password percent-encoded (3 bytes a byte) + ':'
 * + '@' + "[host]" + ":65535" and the NUL. */
_Static_assert(10 + 3 * HOP_USER_MAX + 1 + 3 * HOP_PASS_MAX + 1 + TARGET_DOMAIN_MAX + 2 + 6 + 1 <=
		       HOP_URL_MAX,
	       "a proxy line's URL always fits");

#define PC_WORDS_MAX	   6 /* TYPE HOST PORT USER PASS, and one to notice "too many" */
#define PC_LINE_MAX	   4096
#define PC_CONNECT_DEFAULT 10000 /* proxychains' tcp_connect_time_out default, ms */
#define PC_READ_DEFAULT	   4000	 /* and tcp_read_time_out's */
#define PC_TIMEOUT_MAX	   3600000
#define PC_MODE_DEFAULT	   CONFIG_CHAIN_DYNAMIC

/* What the file said so far. */
struct pc_state {
	unsigned line;
	unsigned mode_line; /* 0 = no mode line yet */
	enum config_chain_mode mode;
	unsigned chain_len, chain_len_line;
	bool proxy_dns;
	unsigned connect_ms, read_ms;
	unsigned list_line; /* the "[ProxyList]" line; 0 = still in the options */
	struct hop *hops;   /* CONFIG_CHAIN_HOPS_MAX, calloc'd */
	size_t nhops;
};

struct pc_words {
	char *w[PC_WORDS_MAX];
	size_t n;
};

static int pc_err(char *err, size_t errlen, const char *msg)
{
	config_err_set(err, errlen, "%s", msg);
	return -1;
}

/* Split a line on blanks into buf (which holds the line plus its NULs). */
static int pc_split(const char *p, const char *end, char *buf, struct pc_words *pw, char *err,
		    size_t errlen)
{
	char *o = buf;

	pw->n = 0;
	for (const char *q = p; q < end; q++) {
		unsigned char c = (unsigned char)*q;
		/* Not a byte proxychains would treat well either; and a password
		 * with an escape code in it could redraw a reviewer's terminal. */
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\v' && c != '\f') || c == 0x7f) {
			config_err_set(err, errlen, "invalid control character 0x%02x", c);
			return -1;
		}
	}
	while (p < end) {
		if (*p == ' ' || (*p >= '\t' && *p <= '\r')) {
			p++;
			continue;
		}
		if (pw->n == PC_WORDS_MAX)
			break;
		pw->w[pw->n++] = o;
		while (p < end && !(*p == ' ' || (*p >= '\t' && *p <= '\r')))
			*o++ = *p++;
		*o++ = '\0';
	}
	return 0;
}

static int pc_uint(const char *text, unsigned long max, unsigned long *out)
{
	return text != NULL ? config_parse_uint(text, max, out) : -1;
}

/* ---- options ---- */

static int pc_mode(struct pc_state *st, const struct pc_words *pw, char *err, size_t errlen)
{
	static const char *const names[] = { "strict_chain", "dynamic_chain", "random_chain",
					     "round_robin_chain", NULL };
	static const enum config_chain_mode modes[] = { CONFIG_CHAIN_STRICT, CONFIG_CHAIN_DYNAMIC,
							CONFIG_CHAIN_RANDOM,
							CONFIG_CHAIN_ROUND_ROBIN };
	int i = config_keyword(pw->w[0], names);

	if (st->mode_line != 0) {
		config_err_set(err, errlen, "second chain mode '%s' (line %u already chose one)",
			       pw->w[0], st->mode_line);
		return -1;
	}
	st->mode = modes[i];
	st->mode_line = st->line;
	return 0;
}

/* "chain_len = N", "chain_len=N", "chain_len =N": proxychains wants the
 * '='. The words are re-joined so every spelling reads the same. */
static int pc_chain_len(struct pc_state *st, const struct pc_words *pw, char *err, size_t errlen)
{
	char joined[64] = "";
	unsigned long v;
	size_t used = 0;

	for (size_t i = 0; i < pw->n; i++) {
		int n = snprintf(joined + used, sizeof(joined) - used, "%s", pw->w[i]);
		if (n < 0 || (size_t)n >= sizeof(joined) - used)
			return pc_err(err, errlen, "chain_len: expected 'chain_len = N'");
		used += (size_t)n;
	}
	if (strncmp(joined, "chain_len=", 10) != 0 ||
	    config_parse_uint(joined + 10, CONFIG_CHAIN_HOPS_MAX, &v) < 0 || v == 0) {
		config_err_set(err, errlen,
			       "chain_len: expected 'chain_len = N' with N from 1 to %d",
			       CONFIG_CHAIN_HOPS_MAX);
		return -1;
	}
	st->chain_len = (unsigned)v;
	st->chain_len_line = st->line;
	return 0;
}

static int pc_timeout(unsigned *slot, const struct pc_words *pw, char *err, size_t errlen)
{
	unsigned long v;

	if (pw->n != 2 || pc_uint(pw->w[1], PC_TIMEOUT_MAX, &v) < 0 || v == 0) {
		config_err_set(err, errlen, "%s: expected milliseconds, 1 to %d", pw->w[0],
			       PC_TIMEOUT_MAX);
		return -1;
	}
	*slot = (unsigned)v;
	return 0;
}

/* A word alone on its line. */
static int pc_alone(const struct pc_words *pw, char *err, size_t errlen)
{
	if (pw->n > 1) {
		config_err_set(err, errlen,
			       "unexpected '%." QUOTE_MAX "s' after %s (comments go on a line "
			       "of their own)",
			       pw->w[1], pw->w[0]);
		return -1;
	}
	return 0;
}

static int pc_refused(const char *word, char *err, size_t errlen)
{
	if (strcmp(word, "localnet") == 0)
		return pc_err(err, errlen,
			      "localnet is not supported: in hopsocks, route rules decide what "
			      "bypasses a chain (e.g. 'route 192.168.0.0/16 direct')");
	if (strcmp(word, "dnat") == 0)
		return pc_err(err, errlen,
			      "dnat is not supported: hopsocks does not rewrite destinations");
	if (strcmp(word, "proxy_dns_old") == 0)
		return pc_err(err, errlen,
			      "proxy_dns_old is not supported: write proxy_dns (the name then "
			      "reaches the last hop)");
	config_err_set(err, errlen, "unknown option '%." QUOTE_MAX "s'", word);
	return -1;
}

static int pc_option(struct pc_state *st, const struct pc_words *pw, char *err, size_t errlen)
{
	static const char *const modes[] = { "strict_chain", "dynamic_chain", "random_chain",
					     "round_robin_chain", NULL };
	const char *w = pw->w[0];
	unsigned long v;

	if (strcmp(w, "[ProxyList]") == 0) {
		st->list_line = st->line;
		return pc_alone(pw, err, errlen);
	}
	if (config_keyword(w, modes) >= 0)
		return pc_alone(pw, err, errlen) < 0 ? -1 : pc_mode(st, pw, err, errlen);
	if (strncmp(w, "chain_len", 9) == 0 && (w[9] == '\0' || w[9] == '='))
		return pc_chain_len(st, pw, err, errlen);
	if (strcmp(w, "proxy_dns") == 0) {
		st->proxy_dns = true;
		return pc_alone(pw, err, errlen);
	}
	if (strcmp(w, "proxy_dns_daemon") == 0) {
		if (pw->n != 2)
			return pc_err(err, errlen, "proxy_dns_daemon: expected ADDRESS:PORT");
		st->proxy_dns = true;
		return 0;
	}
	if (strcmp(w, "quiet_mode") == 0)
		return pc_alone(pw, err, errlen);
	if (strcmp(w, "remote_dns_subnet") == 0) {
		if (pw->n != 2 || pc_uint(pw->w[1], 255, &v) < 0)
			return pc_err(err, errlen,
				      "remote_dns_subnet: expected a number from 0 to 255");
		return 0;
	}
	if (strcmp(w, "tcp_connect_time_out") == 0)
		return pc_timeout(&st->connect_ms, pw, err, errlen);
	if (strcmp(w, "tcp_read_time_out") == 0)
		return pc_timeout(&st->read_ms, pw, err, errlen);
	return pc_refused(w, err, errlen);
}

/* ---- [ProxyList] ---- */

/* Append s to the URL, percent-encoding all but RFC 3986's unreserved
 * bytes, so any user or password reads back unchanged. The caller has
 * checked that the URL has room (pc_proxy's length checks). */
static void pc_url_encode(char *url, size_t cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t used = strlen(url);

	for (; *s != '\0' && used + 4 <= cap; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			url[used++] = (char)c;
		} else {
			url[used++] = '%';
			url[used++] = hex[c >> 4];
			url[used++] = hex[c & 15];
		}
	}
	url[used] = '\0';
}

/* A name or an IPv4 address (hop_parse checks it further), or a bare IPv6
 * address; nothing that would change the URL's meaning ('@', '/', ...). */
static bool pc_host_valid(const char *host)
{
	struct in6_addr a6;

	if (strchr(host, ':') != NULL)
		return inet_pton(AF_INET6, host, &a6) == 1;
	for (const char *p = host; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return false;
	return host[0] != '\0';
}

static const char *pc_scheme(const char *type, bool proxy_dns, char *err, size_t errlen)
{
	if (strcmp(type, "socks5") == 0)
		return proxy_dns ? "socks5h" : "socks5";
	if (strcmp(type, "socks4") == 0)
		return proxy_dns ? "socks4a" : "socks4";
	if (strcmp(type, "http") == 0)
		return "http";
	if (strcmp(type, "raw") == 0)
		pc_err(err, errlen,
		       "raw proxies are not supported: hopsocks has no hop that relays without a "
		       "protocol (use socks4, socks5 or http)");
	else if (strstr(type, "://") != NULL)
		pc_err(err, errlen,
		       "proxy URLs are not supported here: write 'TYPE HOST PORT [USER [PASS]]'");
	else
		config_err_set(err, errlen,
			       "unknown proxy type '%." QUOTE_MAX "s' (expected socks4, socks5 or "
			       "http; options go before [ProxyList])",
			       type);
	return NULL;
}

/* TYPE HOST PORT [USER [PASS]] */
static int pc_proxy(struct pc_state *st, const struct pc_words *pw, char *err, size_t errlen)
{
	char url[HOP_URL_MAX];
	char msg[HOP_ERR_MAX];
	unsigned long port;
	const char *scheme;

	if (strcmp(pw->w[0], "[ProxyList]") == 0) {
		config_err_set(err, errlen, "[ProxyList] given twice (first on line %u)",
			       st->list_line);
		return -1;
	}
	scheme = pc_scheme(pw->w[0], st->proxy_dns, err, errlen);
	if (scheme == NULL)
		return -1;
	if (pw->n < 3)
		return pc_err(err, errlen, "expected TYPE HOST PORT [USER [PASS]]");
	if (pw->n > 5)
		return pc_err(err, errlen,
			      "too many fields (expected TYPE HOST PORT [USER [PASS]]; comments go "
			      "on a line of their own)");
	if (pw->n > 3 && pw->w[3][0] == '#')
		return pc_err(err, errlen,
			      "a comment after the port: proxychains would send it as the user "
			      "name; put comments on a line of their own");
	/* With these limits the URL always fits (HOP_URL_MAX): nothing is cut
	 * off it, such as the port. */
	if (strlen(pw->w[1]) > TARGET_DOMAIN_MAX || !pc_host_valid(pw->w[1])) {
		config_err_set(err, errlen, "invalid host '%." QUOTE_MAX "s'", pw->w[1]);
		return -1;
	}
	if ((pw->n > 3 && strlen(pw->w[3]) > HOP_USER_MAX) ||
	    (pw->n > 4 && strlen(pw->w[4]) > HOP_PASS_MAX)) {
		config_err_set(err, errlen, "user or password longer than %d bytes", HOP_USER_MAX);
		return -1;
	}
	if (config_parse_uint(pw->w[2], 65535, &port) < 0 || port == 0) {
		config_err_set(err, errlen, "invalid port '%." QUOTE_MAX "s' (expected 1..65535)",
			       pw->w[2]);
		return -1;
	}
	if (pw->n == 5 && strcmp(pw->w[0], "socks4") == 0)
		return pc_err(err, errlen, "a socks4 proxy takes a user id, not a password");
	if (st->nhops == CONFIG_CHAIN_HOPS_MAX) {
		config_err_set(err, errlen, "more than %d proxies", CONFIG_CHAIN_HOPS_MAX);
		return -1;
	}
	snprintf(url, sizeof(url), "%s://", scheme);
	if (pw->n > 3) {
		pc_url_encode(url, sizeof(url), pw->w[3]);
		if (pw->n == 5) {
			strcat(url, ":");
			pc_url_encode(url, sizeof(url), pw->w[4]);
		}
		strcat(url, "@");
	}
	snprintf(url + strlen(url), sizeof(url) - strlen(url),
		 strchr(pw->w[1], ':') != NULL ? "[%s]:%lu" : "%s:%lu", pw->w[1], port);
	if (hop_parse(url, &st->hops[st->nhops], msg, sizeof(msg)) < 0) {
		config_err_set(err, errlen, "invalid proxy: %s", msg);
		return -1;
	}
	st->nhops++;
	return 0;
}

/* ---- the whole text ---- */

static int pc_line(struct pc_state *st, const char *p, const char *end, char *buf, char *err,
		   size_t errlen)
{
	struct pc_words pw;

	if (end - p >= PC_LINE_MAX) {
		config_err_set(err, errlen, "line too long (over %d bytes)", PC_LINE_MAX);
		return -1;
	}
	if (pc_split(p, end, buf, &pw, err, errlen) < 0)
		return -1;
	if (pw.n == 0 || pw.w[0][0] == '#')
		return 0;
	return st->list_line == 0 ? pc_option(st, &pw, err, errlen)
				  : pc_proxy(st, &pw, err, errlen);
}

/* What needs the whole file. */
static int pc_finish(struct pc_state *st, char *err, size_t errlen)
{
	bool by_length = st->mode == CONFIG_CHAIN_RANDOM || st->mode == CONFIG_CHAIN_ROUND_ROBIN;

	if (st->list_line == 0)
		return pc_err(err, errlen, "no [ProxyList] section");
	if (st->nhops == 0) {
		st->line = st->list_line;
		return pc_err(err, errlen, "[ProxyList] names no proxy");
	}
	if (by_length && st->chain_len > st->nhops) {
		st->line = st->chain_len_line;
		config_err_set(err, errlen,
			       "chain_len %u is more than the %zu prox%s in [ProxyList]",
			       st->chain_len, st->nhops, st->nhops == 1 ? "y" : "ies");
		return -1;
	}
	return 0;
}

int config_pcfile_parse(const char *text, size_t len, struct config_chain *c, unsigned *line,
			char *err, size_t errlen)
{
	struct pc_state st = { .mode = PC_MODE_DEFAULT, .chain_len = 1 };
	const char *p = text, *end = text + len;
	char *buf = malloc(PC_LINE_MAX + 1);
	int rc = 0;

	st.hops = calloc(CONFIG_CHAIN_HOPS_MAX, sizeof(*st.hops));
	if (buf == NULL || st.hops == NULL) {
		free(buf);
		free(st.hops);
		*line = 0;
		return pc_err(err, errlen, "out of memory");
	}
	/* Editors on some systems start UTF-8 files with a byte order mark. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;

		st.line++;
		rc = pc_line(&st, p, eol, buf, err, errlen);
		p = nl != NULL ? nl + 1 : end;
	}
	free(buf);
	if (rc == 0) {
		st.line = st.line > 0 ? st.line : 1;
		rc = pc_finish(&st, err, errlen);
	}
	*line = st.line;
	if (rc < 0) {
		hop_list_free(st.hops, CONFIG_CHAIN_HOPS_MAX);
		return -1;
	}
	c->hops = st.hops; /* room for 32; hop_list_free() wipes and frees the lot */
	c->nhops = st.nhops;
	c->mode = st.mode;
	c->length = st.mode == CONFIG_CHAIN_RANDOM || st.mode == CONFIG_CHAIN_ROUND_ROBIN
			    ? st.chain_len
			    : 0;
	c->resolve_local = !st.proxy_dns;
	c->pick_as_proxychains = true;
	st.connect_ms = st.connect_ms ? st.connect_ms : PC_CONNECT_DEFAULT;
	st.read_ms = st.read_ms ? st.read_ms : PC_READ_DEFAULT;
	c->step_timeout_ms = st.connect_ms > st.read_ms ? st.connect_ms : st.read_ms;
	return 0;
}

int config_pcfile_load(struct config_chain *c, const char *what, char *err, size_t errlen)
{
	char msg[CONFIG_ERR_MAX];
	unsigned line;
	char *text;
	size_t len;
	int rc;

	if (config_file_read(c->pc_file, &text, &len, msg, sizeof(msg)) < 0) {
		config_err_set(err, errlen, "%s: %s", what, msg);
		return -1;
	}
	rc = config_pcfile_parse(text, len, c, &line, msg, sizeof(msg));
	free(text);
	if (rc < 0)
		config_err_set(err, errlen, "%s:%u: %s", c->pc_file, line, msg);
	return rc;
}

int config_chain_files_load(struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->nchains; i++) {
		struct config_chain *c = &cfg->chains[i];
		char what[CONFIG_CHAIN_NAME_MAX + 64];

		if (c->pc_file == NULL || c->nhops != 0)
			continue;
		snprintf(what, sizeof(what), "chain '%s': proxychains (line %u)", c->name,
			 c->pc_line);
		if (config_pcfile_load(c, what, err, errlen) < 0)
			return -1;
	}
	return 0;
}
