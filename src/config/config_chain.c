/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The config language's chain blocks and route rules:
 *
 *	chain NAME {
 *	    mode strict|dynamic|random|round-robin
 *	    hop URL                  (repeatable, in order; at least one)
 *	    length N                 (random, round-robin)
 *	    resolve remote|local
 *	    retry-dead DURATION
 *	    proxychains FILE         (instead of mode, hop, length and resolve:
 *	                              config_pcfile.c reads them from FILE)
 *	}
 *	route DEST [port P|P-Q] via NAME [outgoing ADDR|PREFIX random]
 *	route DEST [port P|P-Q] direct [outgoing ADDR|PREFIX random]
 *
 * A block opens with "chain NAME {" ('{' last on the line), holds one
 * directive per line, and closes with '}' alone on a line; blocks do not
 * nest. Checks that need the whole block run at its '}', and checks that
 * need the whole text (a route may name a chain defined further down) run
 * after the last line. Messages are written without the "NAME:LINE: "
 * prefix, which config_load.c adds, pointing at ps->err_line when the error is
 * about another line than the current one. */
#include "config/config_chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_dest.h"
#include "config/config_pcfile.h"
#include "config/config_value.h"
#include "proto/hop.h"

#define CHAIN_RETRY_DEAD_MS (30 * 1000)

_Static_assert(CONFIG_CHAIN_HOPS_MAX == HOP_LIST_MAX, "--chain and chain blocks take as many hops");

static int err_oom(char *err, size_t errlen)
{
	config_err_set(err, errlen, "out of memory");
	return -1;
}

int config_chain_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nchains; i++)
		if (strcmp(cfg->chains[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* [A-Za-z0-9_-], 1..63 bytes. */
static bool chain_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CONFIG_CHAIN_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int chain_name_check(const struct config *cfg, const char *name, char *err, size_t errlen)
{
	int dup;

	if (!chain_name_valid(name)) {
		config_err_set(err, errlen,
			       "invalid name '%." QUOTE_MAX "s' (letters, digits, '-' and '_', at "
			       "most %d)",
			       name, CONFIG_CHAIN_NAME_MAX);
		return -1;
	}
	/* "route X direct" must never be read as a chain called "direct". */
	if (strcmp(name, "direct") == 0) {
		config_err_set(err, errlen, "'direct' is a reserved name");
		return -1;
	}
	dup = config_chain_find(cfg, name);
	if (dup >= 0) {
		if (cfg->chains[dup].line == 0)
			config_err_set(err, errlen,
				       "duplicate name '%s' (already defined by --chain)", name);
		else
			config_err_set(err, errlen,
				       "duplicate name '%s' (first defined on line %u)", name,
				       cfg->chains[dup].line);
		return -1;
	}
	return 0;
}

/* Append an empty chain with the defaults; returns its index or -1. */
static int chain_append(struct config *cfg, const char *name, unsigned line)
{
	struct config_chain *grown, *c;

	grown = realloc(cfg->chains, (cfg->nchains + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	cfg->chains = grown;
	c = &cfg->chains[cfg->nchains];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->mode = CONFIG_CHAIN_STRICT;
	c->length = 0;
	c->resolve_local = false;
	c->retry_dead_ms = CHAIN_RETRY_DEAD_MS;
	c->line = line;
	return (int)cfg->nchains++;
}

/* Hops hold passwords, so the array is never realloc'd (which could leave
 * a copy behind in freed memory): a new one is made and the old one wiped,
 * as hop_list_free() does. */
static int chain_add_hop(struct config_chain *c, const char *url, char *err, size_t errlen)
{
	struct hop *grown;

	if (c->nhops == CONFIG_CHAIN_HOPS_MAX) {
		config_err_set(err, errlen, "too many hops (at most %d)", CONFIG_CHAIN_HOPS_MAX);
		return -1;
	}
	grown = calloc(c->nhops + 1, sizeof(*grown));
	if (grown == NULL)
		return err_oom(err, errlen);
	if (hop_parse(url, &grown[c->nhops], err, errlen) < 0) {
		hop_list_free(grown, c->nhops + 1);
		return -1;
	}
	if (c->nhops > 0)
		memcpy(grown, c->hops, c->nhops * sizeof(*grown));
	hop_list_free(c->hops, c->nhops);
	c->hops = grown;
	c->nhops++;
	return 0;
}

/* ---- "chain NAME {" ---- */

int config_chain_open(struct parse_state *ps, const struct line_words *lw, char *err, size_t errlen)
{
	int idx;

	if (lw->n < 2 || lw->brace[1]) {
		config_err_set(err, errlen, "chain: missing name");
		return -1;
	}
	if (lw->n < 3) {
		config_err_set(err, errlen, "chain: missing '{' after the name");
		return -1;
	}
	if (!lw->brace[2] || lw->word[2][0] != '{') {
		config_err_set(err, errlen,
			       "chain: expected '{' after the name, not '%." QUOTE_MAX "s'",
			       lw->word[2]);
		return -1;
	}
	/* "chain tor { hop ... }" on one line would hide where a block ends. */
	if (lw->n > 3 || lw->overflow) {
		config_err_set(err, errlen, "chain: '{' must end the line");
		return -1;
	}
	char msg[CONFIG_ERR_MAX];
	if (chain_name_check(ps->cfg, lw->word[1], msg, sizeof(msg)) < 0) {
		config_err_set(err, errlen, "chain: %s", msg);
		return -1;
	}
	idx = chain_append(ps->cfg, lw->word[1], ps->line);
	if (idx < 0)
		return err_oom(err, errlen);
	ps->chain = idx;
	ps->length_line = 0;
	ps->mode_line = 0;
	ps->hop_line = 0;
	ps->resolve_line = 0;
	return 0;
}

/* ---- inside the block ---- */

typedef int (*chain_fn)(struct config_chain *c, const char *arg, char *err, size_t errlen);

static int do_mode(struct config_chain *c, const char *arg, char *err, size_t errlen)
{
	static const char *const names[] = { "strict", "dynamic", "random", "round-robin", NULL };
	int i = config_keyword(arg, names);

	if (i < 0)
		return config_bad_keyword(arg, "strict, dynamic, random or round-robin", err,
					  errlen);
	c->mode = (enum config_chain_mode)i;
	return 0;
}

static int do_hop(struct config_chain *c, const char *arg, char *err, size_t errlen)
{
	return chain_add_hop(c, arg, err, errlen);
}

static int do_length(struct config_chain *c, const char *arg, char *err, size_t errlen)
{
	unsigned long v;

	if (config_parse_uint(arg, CONFIG_CHAIN_HOPS_MAX, &v) < 0 || v == 0) {
		config_err_set(err, errlen, "invalid number '%." QUOTE_MAX "s' (expected 1..%d)",
			       arg, CONFIG_CHAIN_HOPS_MAX);
		return -1;
	}
	c->length = (unsigned)v;
	return 0;
}

static int do_resolve(struct config_chain *c, const char *arg, char *err, size_t errlen)
{
	static const char *const names[] = { "remote", "local", NULL };
	int i = config_keyword(arg, names);

	if (i < 0)
		return config_bad_keyword(arg, "remote or local", err, errlen);
	c->resolve_local = i == 1;
	return 0;
}

static int do_retry_dead(struct config_chain *c, const char *arg, char *err, size_t errlen)
{
	unsigned ms;

	if (config_set_duration(&ms, arg, err, errlen) < 0)
		return -1;
	/* 0 would mean "retry a dead hop at once": every connection would wait
	 * for it to time out again, which is what marking it down prevents. */
	if (ms == 0) {
		config_err_set(err, errlen, "must be greater than 0");
		return -1;
	}
	c->retry_dead_ms = ms;
	return 0;
}

/* "hop URL proxy-protocol v1|v2": the hop expects a PROXY protocol header
 * (another hopsocks, or any server behind a balancer, that reads one). */
static int chain_hop_with_options(struct config_chain *c, const struct line_words *lw, char *err,
				  size_t errlen)
{
	char msg[CONFIG_ERR_MAX];
	uint8_t version;

	if (strcmp(lw->word[2], "proxy-protocol") != 0) {
		config_err_set(err, errlen,
			       "chain '%s': hop: unknown option '%." QUOTE_MAX "s' after the URL "
			       "(expected proxy-protocol v1|v2)",
			       c->name, lw->word[2]);
		return -1;
	}
	if (lw->n < 4) {
		config_err_set(err, errlen,
			       "chain '%s': hop: proxy-protocol: missing version "
			       "(v1 or v2)",
			       c->name);
		return -1;
	}
	if (strcmp(lw->word[3], "v1") == 0)
		version = 1;
	else if (strcmp(lw->word[3], "v2") == 0)
		version = 2;
	else {
		config_err_set(err, errlen,
			       "chain '%s': hop: proxy-protocol: unknown version '%." QUOTE_MAX
			       "s' (expected v1 or v2)",
			       c->name, lw->word[3]);
		return -1;
	}
	if (chain_add_hop(c, lw->word[1], msg, sizeof(msg)) < 0) {
		config_err_set(err, errlen, "chain '%s': %s", c->name, msg);
		return -1;
	}
	c->hops[c->nhops - 1].proxy_protocol = version;
	return 0;
}

static const struct chain_directive {
	const char *name;
	chain_fn fn;
} chain_directives[] = {
	{ "mode", do_mode },
	{ "hop", do_hop },
	{ "length", do_length },
	{ "resolve", do_resolve },
	{ "retry-dead", do_retry_dead },
	{ "proxychains", NULL }, /* chain_proxychains(): it needs the parse state */
};

/* "proxychains FILE": the path only; config_chain_files_load() reads it
 * after the whole text is parsed. A relative path is taken from the
 * directory of the file being parsed, so it does not depend on where the
 * server was started (or is when it reloads). */
static int chain_proxychains(struct parse_state *ps, struct config_chain *c, const char *path,
			     char *err, size_t errlen)
{
	const char *slash = strrchr(ps->name, '/');
	size_t dirlen = slash != NULL && path[0] != '/' ? (size_t)(slash - ps->name) + 1 : 0;
	unsigned other = ps->mode_line;

	if (other == 0)
		other = ps->hop_line != 0 ? ps->hop_line : ps->resolve_line;

	if (c->pc_file != NULL) {
		config_err_set(err, errlen, "given twice (first on line %u)", c->pc_line);
		return -1;
	}
	if (other != 0 || ps->length_line != 0) {
		config_err_set(err, errlen,
			       "cannot be mixed with mode, hop, length or resolve (line %u): the "
			       "file gives them",
			       other != 0 ? other : ps->length_line);
		return -1;
	}
	if (path[0] == '\0') {
		config_err_set(err, errlen, "empty path");
		return -1;
	}
	c->pc_file = malloc(dirlen + strlen(path) + 1);
	if (c->pc_file == NULL)
		return err_oom(err, errlen);
	memcpy(c->pc_file, ps->name, dirlen);
	strcpy(c->pc_file + dirlen, path);
	c->pc_line = ps->line;
	return 0;
}

/* The block line a directive sets, to tell it from a "proxychains" line. */
static unsigned *chain_seen_line(struct parse_state *ps, const char *name)
{
	if (strcmp(name, "mode") == 0)
		return &ps->mode_line;
	if (strcmp(name, "hop") == 0)
		return &ps->hop_line;
	if (strcmp(name, "resolve") == 0)
		return &ps->resolve_line;
	if (strcmp(name, "length") == 0)
		return &ps->length_line;
	return NULL;
}

/* '}': checks that need the whole block. */
static int chain_close(struct parse_state *ps, char *err, size_t errlen)
{
	const struct config_chain *c = &ps->cfg->chains[ps->chain];

	if (c->pc_file != NULL) { /* its file is checked when it is read */
		ps->chain = -1;
		return 0;
	}
	if (c->nhops == 0) {
		ps->err_line = c->line;
		config_err_set(err, errlen, "chain '%s': no hop (add at least one 'hop URL')",
			       c->name);
		return -1;
	}
	if (c->length != 0 && c->mode != CONFIG_CHAIN_RANDOM &&
	    c->mode != CONFIG_CHAIN_ROUND_ROBIN) {
		ps->err_line = ps->length_line;
		config_err_set(err, errlen,
			       "chain '%s': length applies only to mode random and round-robin",
			       c->name);
		return -1;
	}
	if (c->length > c->nhops) {
		ps->err_line = ps->length_line;
		config_err_set(err, errlen, "chain '%s': length %u is more than its %zu hop%s",
			       c->name, c->length, c->nhops, c->nhops == 1 ? "" : "s");
		return -1;
	}
	ps->chain = -1;
	return 0;
}

int config_chain_line(struct parse_state *ps, const struct line_words *lw, char *err, size_t errlen)
{
	struct config_chain *c = &ps->cfg->chains[ps->chain];
	const struct chain_directive *d = NULL;
	char msg[CONFIG_ERR_MAX];

	if (lw->brace[0] && lw->word[0][0] == '}' && lw->n == 1)
		return chain_close(ps, err, errlen);
	for (size_t i = 0; i < lw->n; i++) {
		if (!lw->brace[i])
			continue;
		if (lw->word[i][0] == '{')
			config_err_set(err, errlen,
				       "chain '%s': blocks cannot be nested (is a '}' missing?)",
				       c->name);
		else
			config_err_set(err, errlen, "chain '%s': '}' must be alone on its line",
				       c->name);
		return -1;
	}
	if (strcmp(lw->word[0], "chain") == 0) {
		config_err_set(err, errlen,
			       "chain '%s': blocks cannot be nested (is a '}' missing?)", c->name);
		return -1;
	}
	for (size_t i = 0; i < sizeof(chain_directives) / sizeof(chain_directives[0]); i++)
		if (strcmp(chain_directives[i].name, lw->word[0]) == 0)
			d = &chain_directives[i];
	if (d == NULL) {
		if (ps->is_directive(lw->word[0]))
			config_err_set(err, errlen,
				       "chain '%s': '%s' is not allowed in a chain (is a '}' "
				       "missing?)",
				       c->name, lw->word[0]);
		else
			config_err_set(err, errlen,
				       "chain '%s': unknown directive '%." QUOTE_MAX "s' (expected "
				       "mode, hop, length, resolve, retry-dead or proxychains)",
				       c->name, lw->word[0]);
		return -1;
	}
	if (lw->n < 2) {
		config_err_set(err, errlen, "chain '%s': %s: missing argument", c->name, d->name);
		return -1;
	}
	bool hop_options = d->fn == do_hop && lw->n > 2 && lw->n <= 4 && !lw->overflow;
	if (!hop_options && (lw->n > 2 || lw->overflow)) {
		config_err_set(err, errlen, "chain '%s': %s: too many arguments", c->name, d->name);
		return -1;
	}
	unsigned *seen = chain_seen_line(ps, d->name);
	if (seen != NULL && c->pc_file != NULL) {
		config_err_set(
			err, errlen,
			"chain '%s': %s cannot be mixed with proxychains (line %u): the file "
			"gives it",
			c->name, d->name, c->pc_line);
		return -1;
	}
	if (d->fn == NULL) {
		if (chain_proxychains(ps, c, lw->word[1], msg, sizeof(msg)) < 0) {
			config_err_set(err, errlen, "chain '%s': proxychains: %s", c->name, msg);
			return -1;
		}
		return 0;
	}
	if (hop_options) {
		if (chain_hop_with_options(c, lw, err, errlen) < 0)
			return -1;
	} else if (d->fn(c, lw->word[1], msg, sizeof(msg)) < 0) {
		/* hop_parse() already starts with "hop 'URL': ". */
		if (d->fn == do_hop && strncmp(msg, "hop '", 5) == 0)
			config_err_set(err, errlen, "chain '%s': %s", c->name, msg);
		else
			config_err_set(err, errlen, "chain '%s': %s: %s", c->name, d->name, msg);
		return -1;
	}
	/* The first line for mode, hop and resolve; the last for length, the
	 * one that counts. */
	if (seen != NULL && (*seen == 0 || seen == &ps->length_line))
		*seen = ps->line;
	return 0;
}

/* ---- route ---- */

int config_route_add(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	struct config_route r = { .port_min = 0, .port_max = 65535, .chain = -1, .line = ps->line };
	struct config_route *grown;
	size_t i = 1;

	if (config_dest_parse(argv[0], &r, err, errlen) < 0)
		return -1;
	if (argv[i] != NULL && strcmp(argv[i], "port") == 0) {
		if (argv[i + 1] == NULL) {
			config_err_set(err, errlen, "port: missing value");
			return -1;
		}
		if (config_dest_parse_ports(argv[i + 1], &r.port_min, &r.port_max) < 0) {
			config_err_set(err, errlen,
				       "invalid port '%." QUOTE_MAX "s' (expected P or P-Q, "
				       "1..65535)",
				       argv[i + 1]);
			return -1;
		}
		i += 2;
	}
	if (argv[i] == NULL) {
		config_err_set(err, errlen, "missing 'via CHAIN' or 'direct'");
		return -1;
	}
	if (strcmp(argv[i], "via") == 0) {
		const char *name = argv[i + 1];

		if (name == NULL) {
			config_err_set(err, errlen, "via: missing chain name");
			return -1;
		}
		if (strcmp(name, "direct") == 0) {
			config_err_set(err, errlen, "'direct' is not a chain (write '... direct')");
			return -1;
		}
		if (!chain_name_valid(name)) {
			config_err_set(err, errlen, "invalid chain name '%." QUOTE_MAX "s'", name);
			return -1;
		}
		snprintf(r.via, sizeof(r.via), "%s", name);
		i += 2;
	} else if (strcmp(argv[i], "direct") == 0) {
		i++;
	} else {
		config_err_set(err, errlen,
			       "expected %s'via CHAIN' or 'direct', not '%." QUOTE_MAX "s'",
			       i == 1 ? "'port', " : "", argv[i]);
		return -1;
	}
	/* "outgoing ADDR [random]": where connections this rule sends come
	 * from (for a chain: the connection to its first hop). */
	if (argv[i] != NULL && strcmp(argv[i], "outgoing") == 0) {
		size_t used;

		if (config_source_parse(argv + i + 1, &r.outgoing, &used, err, errlen) < 0)
			return -1;
		i += 1 + used;
	}
	if (argv[i] != NULL) {
		config_err_set(err, errlen, "unexpected '%." QUOTE_MAX "s' after '%s'", argv[i],
			       argv[i - 1]);
		return -1;
	}
	grown = realloc(ps->cfg->routes, (ps->cfg->nroutes + 1) * sizeof(*grown));
	if (grown == NULL)
		return err_oom(err, errlen);
	ps->cfg->routes = grown;
	ps->cfg->routes[ps->cfg->nroutes++] = r;
	return 0;
}

/* ---- after the last line ---- */

int config_chain_end(struct parse_state *ps, char *err, size_t errlen)
{
	struct config *cfg = ps->cfg;

	if (ps->chain >= 0) {
		ps->err_line = cfg->chains[ps->chain].line;
		config_err_set(err, errlen, "chain '%s': missing '}'", cfg->chains[ps->chain].name);
		return -1;
	}
	for (size_t i = ps->first_route; i < cfg->nroutes; i++) {
		struct config_route *r = &cfg->routes[i];

		if (r->via[0] == '\0')
			continue;
		r->chain = config_chain_find(cfg, r->via);
		if (r->chain < 0) {
			ps->err_line = r->line;
			config_err_set(err, errlen, "route: unknown chain '%s'", r->via);
			return -1;
		}
	}
	return 0;
}

int config_routes_check(const struct config *cfg, char *err, size_t errlen)
{
	/* A chain whose proxychains file was never read (config_parse_text()
	 * without config_load_file()) has no hop to use. */
	for (size_t i = 0; i < cfg->nchains; i++)
		if (cfg->chains[i].nhops == 0) {
			config_err_set(err, errlen,
				       "chain '%s': no hop (its proxychains file "
				       "was not read)",
				       cfg->chains[i].name);
			return -1;
		}
	for (size_t i = 0; i < cfg->nroutes; i++) {
		const struct config_route *r = &cfg->routes[i];

		if (r->via[0] == '\0' ? r->chain != -1
				      : r->chain < 0 || (size_t)r->chain >= cfg->nchains ||
						strcmp(cfg->chains[r->chain].name, r->via) != 0) {
			config_err_set(err, errlen, "route: unknown chain '%s'", r->via);
			return -1;
		}
	}
	return 0;
}

/* ---- the command line's --chain and --chain-file ---- */

/* Refuse a second "cli" chain; opt is the option named in the message. */
static int cli_chain_check(const struct config *cfg, const char *opt, char *err, size_t errlen)
{
	int idx = config_chain_find(cfg, CONFIG_CLI_CHAIN);

	if (idx < 0)
		return 0;
	if (cfg->chains[idx].line == 0)
		config_err_set(err, errlen, "%s: given twice", opt);
	else
		config_err_set(err, errlen,
			       "%s: the configuration already has a chain named '%s' (line %u)",
			       opt, CONFIG_CLI_CHAIN, cfg->chains[idx].line);
	return -1;
}

/* Add the chain "cli" and its catch-all route, first of all routes.
 * Returns its index, or -1 (out of memory) with cfg unchanged. */
static int cli_chain_add(struct config *cfg)
{
	struct config_route r = { .kind = CONFIG_DEST_ANY, .port_min = 0, .port_max = 65535 };
	struct config_route *grown;
	int idx;

	/* Grow the routes before adding the chain, so a failure leaves cfg as
	 * it was. */
	grown = realloc(cfg->routes, (cfg->nroutes + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	cfg->routes = grown;
	idx = chain_append(cfg, CONFIG_CLI_CHAIN, 0);
	if (idx < 0)
		return -1;
	/* First, so it wins over every rule of the file, read before or after. */
	r.chain = idx;
	snprintf(r.via, sizeof(r.via), "%s", CONFIG_CLI_CHAIN);
	memmove(cfg->routes + 1, cfg->routes, cfg->nroutes * sizeof(*cfg->routes));
	cfg->routes[0] = r;
	cfg->nroutes++;
	return idx;
}

int config_set_cli_chain(struct config *cfg, const char *csv, char *err, size_t errlen)
{
	char msg[CONFIG_ERR_MAX];
	struct hop *hops;
	size_t nhops;
	int rc, idx;

	if (cli_chain_check(cfg, "--chain", err, errlen) < 0)
		return -1;
	/* Messages name the hop: "hop 2 'socks5://h:0': invalid port ...". */
	rc = hop_list_parse(csv, &hops, &nhops, msg, sizeof(msg));
	if (rc == -ENOMEM)
		return err_oom(err, errlen);
	if (rc < 0) {
		config_err_set(err, errlen, "--chain: %s", msg);
		return -1;
	}
	idx = cli_chain_add(cfg);
	if (idx < 0) {
		hop_list_free(hops, nhops);
		return err_oom(err, errlen);
	}
	cfg->chains[idx].hops = hops;
	cfg->chains[idx].nhops = nhops;
	return 0;
}

int config_set_cli_chain_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config_chain c;
	int idx;

	if (cli_chain_check(cfg, "--chain-file", err, errlen) < 0)
		return -1;
	/* Read into a chain of our own first, so a bad file leaves cfg as it
	 * was. */
	memset(&c, 0, sizeof(c));
	c.pc_file = strdup(path);
	if (c.pc_file == NULL)
		return err_oom(err, errlen);
	if (config_pcfile_load(&c, "--chain-file", err, errlen) < 0) {
		free(c.pc_file);
		return -1;
	}
	idx = cli_chain_add(cfg);
	if (idx < 0) {
		hop_list_free(c.hops, c.nhops);
		free(c.pc_file);
		return err_oom(err, errlen);
	}
	struct config_chain *cli = &cfg->chains[idx];
	cli->hops = c.hops;
	cli->nhops = c.nhops;
	cli->mode = c.mode;
	cli->length = c.length;
	cli->resolve_local = c.resolve_local;
	cli->step_timeout_ms = c.step_timeout_ms;
	cli->pick_as_proxychains = c.pick_as_proxychains;
	cli->pc_file = c.pc_file;
	return 0;
}

void config_chains_free(struct config *cfg)
{
	/* hop_list_free() wipes the hops' passwords on the way out. */
	for (size_t i = 0; i < cfg->nchains; i++) {
		hop_list_free(cfg->chains[i].hops, cfg->chains[i].nhops);
		free(cfg->chains[i].pc_file);
	}
	free(cfg->chains);
	free(cfg->routes);
	cfg->chains = NULL;
	cfg->nchains = 0;
	cfg->routes = NULL;
	cfg->nroutes = 0;
}
