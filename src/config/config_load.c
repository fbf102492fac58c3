/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The configuration file parser: the directive table, the parse loop and
 * the config's lifecycle.
 *
 * The parser is a pure function over the file's text: no I/O, no name
 * lookups, no clock. config_load_file() is the only function that touches the
 * file system: it reads the text (config_file.c) and hands it over, then
 * has the proxychains files the text names read (config_pcfile.c), and
 * --chain-file reads its own. That keeps the whole language unit-testable
 * and fuzzable.
 *
 * It is split by job: config_lex.c turns a line into words (the grammar is
 * drawn there), config_value.c parses numbers, durations and addresses,
 * config_chain.c handles chain blocks, routes and --chain (config_pcfile.c
 * chains from proxychains-ng files; config_dest.c parses a
 * route's destination), config_acl.c access rules, limits and the
 * open-relay check, config_service.c the service directives (admin, user,
 * group, drain), and this file decides what the other words mean.
 * What they share is in config_parse.h.
 *
 * Errors stop the parse at the first bad line and read "NAME:LINE: message",
 * where NAME is whatever the caller passed (usually the path).
 */
#include <autoconfig.h>

#include "config/config_load.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_acl.h"
#include "config/config_chain.h"
#include "config/config_file.h"
#include "config/config_pcfile.h"
#include "config/config_proxy.h"
#include "config/config_lex.h"
#include "config/config_parse.h"
#include "config/config_service.h"
#include "config/config_value.h"
#include "proto/username.h"

#define CONFIG_WORKERS_MAX   256
#define CONFIG_DNS_CACHE_MAX (1024 * 1024) /* entries per worker */
/* Each pipe is 1 MiB of the kernel's per-user pipe quota (64 MiB by
 * default, fs.pipe-user-pages-soft) and two descriptors; 32 per worker
 * covers 16 bulk streams in both directions at once. */
#define CONFIG_SPLICE_PIPES_DEFAULT 32
#define CONFIG_SPLICE_PIPES_MAX	    4096
#define CONFIG_RESOLVER_PORT 53

/* ---- mutators ---- */

int config_set_listen(struct config *cfg, const struct config_addr *addrs, size_t n)
{
	struct config_addr *copy = NULL;

	if (n > 0) {
		copy = calloc(n, sizeof(*copy));
		if (copy == NULL)
			return -1;
		memcpy(copy, addrs, n * sizeof(*copy));
	}
	free(cfg->listen);
	cfg->listen = copy;
	cfg->nlisten = n;
	return 0;
}

static const struct config_addr *listen_find(const struct config *cfg,
					     const struct config_addr *addr, size_t upto)
{
	for (size_t i = 0; i < upto; i++)
		if (config_addr_equal(&cfg->listen[i], addr))
			return &cfg->listen[i];
	return NULL;
}

static int listen_append(struct config *cfg, const struct config_addr *addr)
{
	struct config_addr *grown;

	grown = realloc(cfg->listen, (cfg->nlisten + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	grown[cfg->nlisten++] = *addr;
	cfg->listen = grown;
	return 0;
}

/* Is entry one of the comma-separated items of csv? */
static bool csv_contains(const char *csv, const char *entry)
{
	size_t len = strlen(entry);
	const char *item = csv;

	for (;;) {
		const char *comma = strchr(item, ',');
		size_t item_len = comma != NULL ? (size_t)(comma - item) : strlen(item);

		if (item_len == len && memcmp(item, entry, len) == 0)
			return true;
		if (comma == NULL)
			return false;
		item = comma + 1;
	}
}

static int csv_append(char **csv, const char *entry)
{
	size_t old = *csv != NULL ? strlen(*csv) : 0;
	char *grown = realloc(*csv, old + strlen(entry) + 2);

	if (grown == NULL)
		return -1;
	if (old > 0)
		grown[old++] = ',';
	strcpy(grown + old, entry);
	*csv = grown;
	return 0;
}

/* ---- directives ----
 * Each handler gets exactly the number of arguments its table row asks for
 * and writes a message without prefix; the caller adds "NAME:LINE: directive: ". */

static int err_oom(char *err, size_t errlen)
{
	config_err_set(err, errlen, "out of memory");
	return -1;
}

static int do_listen(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	struct config_addr addr;

	if (config_parse_listen(argv[0], &addr, err, errlen) < 0)
		return -1;
	addr.line = ps->line;
	if (listen_find(ps->cfg, &addr, ps->cfg->nlisten) != NULL) {
		config_err_set(err, errlen, "duplicate address '%s'", addr.text);
		return -1;
	}
	return listen_append(ps->cfg, &addr) < 0 ? err_oom(err, errlen) : 0;
}

static int do_workers(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	unsigned long v;

	if (strcmp(argv[0], "auto") == 0) {
		ps->cfg->workers = 0;
		return 0;
	}
	if (config_parse_uint(argv[0], CONFIG_WORKERS_MAX, &v) < 0 || v == 0) {
		config_err_set(err, errlen,
			       "invalid value '%." QUOTE_MAX "s' (expected 1..%d or auto)", argv[0],
			       CONFIG_WORKERS_MAX);
		return -1;
	}
	ps->cfg->workers = (unsigned)v;
	return 0;
}

static int set_path(char **slot, const char *value, char *err, size_t errlen)
{
	if (*value == '\0') {
		config_err_set(err, errlen, "empty path");
		return -1;
	}
	return config_set_string(slot, value) < 0 ? err_oom(err, errlen) : 0;
}

#ifdef HAVE_PAM
/* A PAM service name is a file name in /etc/pam.d: no '/', nothing odd,
 * and nothing the dump would have to quote. */
static const char *pam_service_problem(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CONFIG_PAM_SERVICE_MAX || name[0] == '.')
		return "a PAM service name is 1 to 64 bytes, not starting with '.'";
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return "a PAM service name holds only letters, digits, '.', '_' and '-'";
	}
	return NULL;
}
#endif

/* users PATH | users pam SERVICE; the last one wins. */
static int do_users(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	struct config *cfg = ps->cfg;

	cfg->users_line = ps->line;
	if (argv[1] == NULL) {
		free(cfg->users_pam);
		cfg->users_pam = NULL;
		return set_path(&cfg->users_file, argv[0], err, errlen);
	}
	if (strcmp(argv[0], "pam") != 0) {
		config_err_set(err, errlen, "expected 'users PATH' or 'users pam SERVICE'");
		return -1;
	}
#ifndef HAVE_PAM
	config_err_set(err, errlen,
		       "hopsocks was built without PAM (install libpam0g-dev and rebuild)");
	return -1;
#else
	const char *why = pam_service_problem(argv[1]);
	if (why != NULL) {
		config_err_set(err, errlen, "%s", why);
		return -1;
	}
	free(cfg->users_file);
	cfg->users_file = NULL;
	return config_set_string(&cfg->users_pam, argv[1]) < 0 ? err_oom(err, errlen) : 0;
#endif
}

static int do_pid_file(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	ps->cfg->pid_file_line = ps->line;
	return set_path(&ps->cfg->pid_file, argv[0], err, errlen);
}

/* Keyword tables follow the enum order in config.h. */
static const char *const socks4_names[] = { "auto", "on", "known-user", "off", NULL };
static const char *const level_names[] = { "error", "warn", "info", "debug", NULL };
static const char *const log_to_names[] = { "auto", "stderr", "syslog", "file", NULL };
static const char *const order_names[] = { "as-returned", "ipv4-first", "ipv6-first",
					   "ipv4-only",	  "ipv6-only",	NULL };

static int do_socks4(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	int i = config_keyword(argv[0], socks4_names);

	if (i < 0)
		return config_bad_keyword(argv[0], "auto, on, known-user or off", err, errlen);
	ps->cfg->socks4 = (enum config_socks4)i;
	ps->cfg->socks4_line = ps->line;
	return 0;
}

static int do_log(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	int i = config_keyword(argv[0], level_names);

	if (i < 0)
		return config_bad_keyword(argv[0], "error, warn, info or debug", err, errlen);
	ps->cfg->log_level = (enum config_log_level)i;
	return 0;
}

/* log-to auto|stderr|syslog, or log-to file PATH. Opening the file is
 * main's (before privileges are dropped); the line is kept for its error. */
static int do_log_to(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	int i = config_keyword(argv[0], log_to_names);
	char where[CONFIG_ERR_MAX];

	if (i < 0)
		return config_bad_keyword(argv[0], "auto, stderr, syslog or file PATH", err,
					  errlen);
	if (i == CONFIG_LOG_TO_FILE && argv[1] == NULL) {
		config_err_set(err, errlen, "file needs a path (log-to file PATH)");
		return -1;
	}
	if (i != CONFIG_LOG_TO_FILE && argv[1] != NULL) {
		config_err_set(err, errlen, "%s takes no path (only log-to file PATH does)",
			       argv[0]);
		return -1;
	}
	ps->cfg->log_to = (enum config_log_to)i;
	free(ps->cfg->log_file);
	free(ps->cfg->log_file_where);
	ps->cfg->log_file = ps->cfg->log_file_where = NULL;
	if (i != CONFIG_LOG_TO_FILE)
		return 0;
	snprintf(where, sizeof(where), "%s:%u", ps->name, ps->line);
	if (set_path(&ps->cfg->log_file, argv[1], err, errlen) < 0)
		return -1;
	return config_set_string(&ps->cfg->log_file_where, where) < 0 ? err_oom(err, errlen) : 0;
}

static int do_log_format(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	if (strcmp(argv[0], "text") != 0 && strcmp(argv[0], "json") != 0)
		return config_bad_keyword(argv[0], "text or json", err, errlen);
	ps->cfg->log_json = strcmp(argv[0], "json") == 0;
	return 0;
}

static int do_address_order(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	int i = config_keyword(argv[0], order_names);

	if (i < 0)
		return config_bad_keyword(
			argv[0], "as-returned, ipv4-first, ipv6-first, ipv4-only or ipv6-only", err,
			errlen);
	ps->cfg->addr_order = (enum config_addr_order)i;
	return 0;
}

static int do_access_log(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	if (config_parse_bool(argv[0], &ps->cfg->access_log) < 0)
		return config_bad_keyword(argv[0], "on or off", err, errlen);
	return 0;
}

static int do_max_connections(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return config_set_count(&ps->cfg->max_connections, argv[0], UINT_MAX,
				"expected a count, 0 for unlimited", err, errlen);
}

static int do_splice_pipes(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return config_set_count(&ps->cfg->splice_pipes, argv[0], CONFIG_SPLICE_PIPES_MAX,
				"expected 0..4096, 0 for no splice", err, errlen);
}

const char *const config_relay_names[] = { "kernel", "splice", "copy", NULL };

static int do_relay(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	int i = config_keyword(argv[0], config_relay_names);
	if (i < 0)
		return config_bad_keyword(argv[0], "kernel, splice or copy", err, errlen);
	ps->cfg->relay = (enum config_relay)i;
	ps->cfg->relay_after = CONFIG_RELAY_AFTER_DEFAULT;
	if (!argv[1])
		return 0;
	if (i != CONFIG_RELAY_KERNEL || strcmp(argv[1], "after") != 0 || !argv[2] || argv[3]) {
		config_err_set(err, errlen,
			       "expected: relay kernel [after SIZE], relay splice or relay copy");
		return -1;
	}
	return config_set_size(&ps->cfg->relay_after, argv[2], CONFIG_RELAY_AFTER_MAX, err, errlen);
}

static int do_dns_cache(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return config_set_count(&ps->cfg->dns_cache_size, argv[0], CONFIG_DNS_CACHE_MAX,
				"expected 0..1048576, 0 turns the cache off", err, errlen);
}

static int do_timeout(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	static const char *const kinds[] = { "handshake", "connect", "idle", "udp-idle", "bind",
					     NULL };
	unsigned *slots[] = { &ps->cfg->timeout_handshake_ms, &ps->cfg->timeout_connect_ms,
			      &ps->cfg->timeout_idle_ms, &ps->cfg->timeout_udp_idle_ms,
			      &ps->cfg->timeout_bind_ms };
	int kind = config_keyword(argv[0], kinds);
	unsigned ms;

	if (kind < 0)
		return config_bad_keyword(argv[0], "handshake, connect, idle, udp-idle or bind",
					  err, errlen);
	if (config_set_duration(&ms, argv[1], err, errlen) < 0)
		return -1;
	/* Only the idle timeouts may be 0: a handshake, connect or BIND wait
	 * without a deadline would let a silent peer hold a session forever. */
	if (ms == 0 && slots[kind] != &ps->cfg->timeout_idle_ms &&
	    slots[kind] != &ps->cfg->timeout_udp_idle_ms) {
		config_err_set(err, errlen, "%s must be greater than 0", kinds[kind]);
		return -1;
	}
	*slots[kind] = ms;
	return 0;
}

static int do_dns_cache_max_ttl(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	unsigned ms;

	if (config_set_duration(&ms, argv[0], err, errlen) < 0)
		return -1;
	if (ms == 0) {
		config_err_set(err, errlen,
			       "must be greater than 0 (dns-cache 0 turns the cache off)");
		return -1;
	}
	ps->cfg->dns_cache_max_ttl_ms = ms;
	return 0;
}

/* One address per family. A second one of the same family in the same text
 * is almost certainly a copy-and-paste slip, so it is an error rather than
 * a silent override. */
static int set_family_addr(struct parse_state *ps, enum family_directive fd, const char *text,
			   struct config_addr *v4, struct config_addr *v6, char *err,
			   size_t errlen)
{
	struct config_addr addr;

	if (config_parse_host(text, &addr, err, errlen) < 0)
		return -1;
	bool is_v4 = addr.ss.ss_family == AF_INET;
	struct config_addr *slot = is_v4 ? v4 : v6;
	unsigned *seen = &ps->family_line[fd][is_v4 ? 0 : 1];
	if (*seen != 0) {
		config_err_set(err, errlen, "second %s address '%s' (line %u already set %s)",
			       is_v4 ? "IPv4" : "IPv6", addr.text, *seen, slot->text);
		return -1;
	}
	*slot = addr;
	*seen = ps->line;
	return 0;
}

/* "outgoing ADDR [random] user NAME": one source per user and family. */
static int outgoing_for_user(struct parse_state *ps, const struct config_source *src,
			     const char *user, char *err, size_t errlen)
{
	struct config *cfg = ps->cfg;
	const char *problem = username_check(user);

	if (problem != NULL) {
		config_err_set(err, errlen, "invalid name '%." QUOTE_MAX "s' (%s)", user, problem);
		return -1;
	}
	for (size_t i = 0; i < cfg->nuser_sources; i++) {
		const struct config_user_source *u = &cfg->user_sources[i];
		if (strcmp(u->user, user) == 0 &&
		    u->src.addr.ss.ss_family == src->addr.ss.ss_family) {
			config_err_set(err, errlen, "second %s source for user '%s' (line %u)",
				       src->addr.ss.ss_family == AF_INET ? "IPv4" : "IPv6", user,
				       u->line);
			return -1;
		}
	}
	struct config_user_source *grown =
		realloc(cfg->user_sources, (cfg->nuser_sources + 1) * sizeof(*grown));
	if (grown == NULL)
		return err_oom(err, errlen);
	cfg->user_sources = grown;
	struct config_user_source *u = &grown[cfg->nuser_sources++];
	memset(u, 0, sizeof(*u));
	snprintf(u->user, sizeof(u->user), "%s", user);
	u->src = *src;
	u->line = ps->line;
	return 0;
}

/* Without a user file nobody logs in, so a user's source would never be
 * used: a mistake, as with an access rule's "user" term. */
static int outgoing_check(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->nuser_sources == 0 || config_has_users(cfg))
		return 0;
	config_err_at(cfg, cfg->user_sources[0].line, err, errlen,
		      "outgoing: 'user' needs a user file (users or -U); without one no client "
		      "logs in");
	return -1;
}

/* "outgoing ADDR", "outgoing PREFIX random", either with "user NAME". */
static int do_outgoing(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	struct config_source src;
	size_t used;

	if (config_source_parse(argv, &src, &used, err, errlen) < 0)
		return -1;
	if (argv[used] != NULL && strcmp(argv[used], "user") == 0) {
		if (argv[used + 1] == NULL || argv[used + 2] != NULL) {
			config_err_set(err, errlen, "expected 'user NAME' at the end");
			return -1;
		}
		return outgoing_for_user(ps, &src, argv[used + 1], err, errlen);
	}
	if (argv[used] != NULL) {
		config_err_set(err, errlen, "unexpected '%." QUOTE_MAX "s' (expected 'user NAME')",
			       argv[used]);
		return -1;
	}
	bool is_v4 = src.addr.ss.ss_family == AF_INET;
	struct config_source *slot = is_v4 ? &ps->cfg->outgoing_v4 : &ps->cfg->outgoing_v6;
	unsigned *seen = &ps->family_line[FD_OUTGOING][is_v4 ? 0 : 1];
	if (*seen != 0) {
		config_err_set(err, errlen, "second %s address '%s' (line %u already set %s)",
			       is_v4 ? "IPv4" : "IPv6", src.addr.text, *seen, slot->addr.text);
		return -1;
	}
	*slot = src;
	*seen = ps->line;
	return 0;
}

static int do_udp_advertise(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return set_family_addr(ps, FD_UDP_ADVERTISE, argv[0], &ps->cfg->udp_advertise_v4,
			       &ps->cfg->udp_advertise_v6, err, errlen);
}

static int do_bind_address(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return set_family_addr(ps, FD_BIND_ADDRESS, argv[0], &ps->cfg->bind_addr_v4,
			       &ps->cfg->bind_addr_v6, err, errlen);
}

/* "LOW-HIGH", 1..65535, LOW <= HIGH. */
static int do_udp_ports(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	unsigned long lo, hi;
	const char *dash = strchr(argv[0], '-');
	char low[8];

	if (dash && (size_t)(dash - argv[0]) < sizeof(low)) {
		memcpy(low, argv[0], (size_t)(dash - argv[0]));
		low[dash - argv[0]] = '\0';
		if (config_parse_uint(low, 65535, &lo) == 0 &&
		    config_parse_uint(dash + 1, 65535, &hi) == 0 && lo >= 1 && lo <= hi) {
			ps->cfg->udp_port_min = (uint16_t)lo;
			ps->cfg->udp_port_max = (uint16_t)hi;
			return 0;
		}
	}
	config_err_set(err, errlen, "invalid port range '%." QUOTE_MAX "s' (expected LOW-HIGH, "
		       "1..65535)", argv[0]);
	return -1;
}

static int do_udp_replies(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	static const char *const names[] = { "contacted", "any", NULL };
	int i = config_keyword(argv[0], names);

	if (i < 0)
		return config_bad_keyword(argv[0], "contacted or any", err, errlen);
	ps->cfg->udp_replies_any = i == 1;
	return 0;
}

static int do_bind_peer(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	static const char *const names[] = { "strict", "any", NULL };
	int i = config_keyword(argv[0], names);

	if (i < 0)
		return config_bad_keyword(argv[0], "strict or any", err, errlen);
	ps->cfg->bind_peer_any = i == 1;
	return 0;
}

static int do_resolver(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	struct config_addr addr;

	if (config_addr_parse(argv[0], CONFIG_PORT_OPTIONAL, CONFIG_RESOLVER_PORT, &addr, err,
			      errlen) < 0)
		return -1;
	/* addr.text is already in c-ares's CSV form: "1.2.3.4:53", "[::1]:53". */
	if (ps->cfg->resolvers != NULL && csv_contains(ps->cfg->resolvers, addr.text)) {
		config_err_set(err, errlen, "duplicate server '%s'", addr.text);
		return -1;
	}
	return csv_append(&ps->cfg->resolvers, addr.text) < 0 ? err_oom(err, errlen) : 0;
}

static int do_route(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return config_route_add(ps, argv, err, errlen);
}

static const struct directive {
	const char *name;
	unsigned min_args, max_args;
	config_directive_fn fn;
} directives[] = {
	{ "listen", 1, 1, do_listen },
	{ "workers", 1, 1, do_workers },
	{ "users", 1, 2, do_users },
	{ "socks4", 1, 1, do_socks4 },
	{ "timeout", 2, 2, do_timeout },
	{ "log", 1, 1, do_log },
	{ "log-to", 1, 2, do_log_to },
	{ "log-format", 1, 1, do_log_format },
	{ "access-log", 1, 1, do_access_log },
	{ "max-connections", 1, 1, do_max_connections },
	{ "splice-pipes", 1, 1, do_splice_pipes },
	{ "relay", 1, 3, do_relay },
	{ "outgoing", 1, 4, do_outgoing },
	{ "resolver", 1, 1, do_resolver },
	{ "address-order", 1, 1, do_address_order },
	{ "dns-cache", 1, 1, do_dns_cache },
	{ "dns-cache-max-ttl", 1, 1, do_dns_cache_max_ttl },
	{ "pid-file", 1, 1, do_pid_file },
	{ "udp-advertise", 1, 1, do_udp_advertise },
	{ "udp-ports", 1, 1, do_udp_ports },
	{ "udp-replies", 1, 1, do_udp_replies },
	{ "bind-address", 1, 1, do_bind_address },
	{ "bind-peer", 1, 1, do_bind_peer },
	{ "route", 2, 8, do_route },
	/* access control and limits (config_acl.c) */
	{ "allow", 1, 10, config_do_allow },
	{ "deny", 1, 10, config_do_deny },
	{ "max-connections-per-client", 1, 1, config_do_max_per_client },
	{ "max-connections-per-user", 1, 1, config_do_max_per_user },
	{ "auth-throttle", 1, 3, config_do_auth_throttle },
	{ "destination-guard", 1, 1, config_do_destination_guard },
	{ "proxy-protocol", 3, 10, config_do_proxy_protocol },
	/* running as a service (config_service.c) */
	{ "admin", 1, 2, config_do_admin },
	{ "user", 1, 1, config_do_user },
	{ "run-as", 1, 1, config_do_user },
	{ "group", 1, 1, config_do_group },
	{ "drain", 1, 1, config_do_drain },
	{ "reload-keep-sessions", 1, 1, config_do_reload_keep_sessions },
};

static const struct directive *directive_find(const char *name)
{
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (strcmp(directives[i].name, name) == 0)
			return &directives[i];
	return NULL;
}

static bool directive_exists(const char *name)
{
	return directive_find(name) != NULL;
}

/* ---- the parse loop ---- */

static int line_run(struct parse_state *ps, const struct line_words *lw, char *err, size_t errlen)
{
	const struct directive *d;
	char msg[CONFIG_ERR_MAX];
	size_t nargs = lw->n - 1;

	/* Inside "chain NAME { ... }" every line, the closing '}' included,
	 * belongs to the block. */
	if (ps->chain >= 0)
		return config_chain_line(ps, lw, err, errlen);
	if (lw->brace[0]) {
		config_err_set(err, errlen, "unexpected '%s'", lw->word[0]);
		return -1;
	}
	if (strcmp(lw->word[0], "chain") == 0)
		return config_chain_open(ps, lw, err, errlen);
	d = directive_find(lw->word[0]);
	for (size_t i = 1; i < lw->n; i++) {
		if (!lw->brace[i])
			continue;
		/* Only "chain" opens a block; name the word that tried to. */
		if (d != NULL)
			config_err_set(err, errlen, "%s: does not take a block", d->name);
		else if (lw->word[i][0] == '{')
			config_err_set(err, errlen, "unknown block '%." QUOTE_MAX "s'",
				       lw->word[0]);
		else
			config_err_set(err, errlen, "unexpected '}'");
		return -1;
	}
	if (d == NULL) {
		config_err_set(err, errlen, "unknown directive '%." QUOTE_MAX "s'", lw->word[0]);
		return -1;
	}
	if (nargs < d->min_args) {
		config_err_set(err, errlen, "%s: missing argument", d->name);
		return -1;
	}
	if (nargs > d->max_args || lw->overflow) {
		config_err_set(err, errlen, "%s: too many arguments", d->name);
		return -1;
	}
	if (d->fn(ps, lw->word + 1, msg, sizeof(msg)) < 0) {
		config_err_set(err, errlen, "%s: %s", d->name, msg);
		return -1;
	}
	return 0;
}

int config_parse_text(struct config *cfg, const char *name, const char *text, size_t len, char *err,
		      size_t errlen)
{
	struct parse_state ps = {
		.cfg = cfg,
		.name = name,
		.is_directive = directive_exists,
		.chain = -1,
		.first_route = cfg->nroutes,
	};
	struct line_words lw;
	char msg[CONFIG_ERR_MAX];
	const char *p, *end;
	char *scratch;
	int rc = 0;

	if (config_set_string(&cfg->source, name) < 0) {
		config_err_set(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (len == 0)
		return 0; /* nothing can be open or unresolved */
	/* Twice the length: see config_line_split() for why. */
	if (len > (SIZE_MAX - 2) / 2 || (scratch = malloc(2 * len + 2)) == NULL) {
		config_err_set(err, errlen, "%s: out of memory", name);
		return -1;
	}
	p = text;
	end = text + len;
	/* Editors on some systems start UTF-8 files with a byte order mark. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;

		ps.line++;
		if (eol > p && eol[-1] == '\r')
			eol--; /* CRLF */
		if (config_line_split(p, eol, scratch, &lw, msg, sizeof(msg)) < 0 ||
		    (lw.n > 0 && line_run(&ps, &lw, msg, sizeof(msg)) < 0)) {
			rc = -1;
			break;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	free(scratch);
	/* Checks that need the whole text: an unclosed block, and routes to
	 * chains (a route may come before the chain it names). */
	if (rc == 0)
		rc = config_chain_end(&ps, msg, sizeof(msg));
	if (rc < 0)
		config_err_set(err, errlen, "%s:%u: %s", name,
			       ps.err_line != 0 ? ps.err_line : ps.line, msg);
	return rc;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	if (config_file_read(path, &text, &len, err, errlen) < 0)
		return -1;
	rc = config_parse_text(cfg, path, text, len, err, errlen);
	free(text);
	/* The proxychains files the text names are read now, each time the
	 * configuration is (so at every reload too); config_parse_text()
	 * itself stays a pure function of its text. */
	if (rc == 0)
		rc = config_chain_files_load(cfg, err, errlen);
	return rc;
}

/* ---- lifecycle ---- */

void config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 0;
	cfg->socks4 = CONFIG_SOCKS4_AUTO;
	cfg->timeout_handshake_ms = 10 * 1000;
	cfg->timeout_connect_ms = 10 * 1000;
	cfg->timeout_idle_ms = 5 * 60 * 1000;
	cfg->timeout_udp_idle_ms = 2 * 60 * 1000;
	cfg->timeout_bind_ms = 2 * 60 * 1000;
	cfg->log_level = CONFIG_LOG_INFO;
	cfg->log_to = CONFIG_LOG_TO_AUTO;
	cfg->access_log = true;
	cfg->max_connections = 0;
	cfg->splice_pipes = CONFIG_SPLICE_PIPES_DEFAULT;
	cfg->relay = CONFIG_RELAY_SPLICE;
	cfg->relay_after = CONFIG_RELAY_AFTER_DEFAULT;
	cfg->addr_order = CONFIG_ORDER_AS_RETURNED;
	cfg->dns_cache_size = 1024;
	cfg->dns_cache_max_ttl_ms = 5 * 60 * 1000;
	cfg->destination_guard = false;
	cfg->max_per_client = 0;
	cfg->max_per_user = 0;
	cfg->auth_throttle_failures = 10;
	cfg->auth_throttle_window_ms = 60 * 1000;
	cfg->auth_throttle_block_ms = 5 * 60 * 1000;
	cfg->drain_ms = 10 * 1000;
	cfg->reload_keep_sessions = false;
}

void config_free(struct config *cfg)
{
	free(cfg->listen);
	free(cfg->users_file);
	free(cfg->users_pam);
	free(cfg->resolvers);
	free(cfg->pid_file);
	free(cfg->log_file);
	free(cfg->log_file_where);
	free(cfg->acl);
	free(cfg->user_sources);
	free(cfg->proxy_from);
	free(cfg->run_user);
	free(cfg->run_group);
	free(cfg->source);
	config_chains_free(cfg);
	/* Leave it as an empty, freeable struct so a second free is harmless. */
	memset(cfg, 0, sizeof(*cfg));
}

/* The command line may have set fields directly (-l, -U, -w), so ranges the
 * parser enforces are checked again here. */
static int finish_check_values(const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 1; i < cfg->nlisten; i++) {
		if (listen_find(cfg, &cfg->listen[i], i) != NULL) {
			config_err_set(err, errlen, "duplicate listen address '%s'",
				       cfg->listen[i].text);
			return -1;
		}
	}
	if (cfg->workers > CONFIG_WORKERS_MAX) {
		config_err_set(err, errlen, "workers: %u is out of range (1..%d or auto)",
			       cfg->workers, CONFIG_WORKERS_MAX);
		return -1;
	}
	if (cfg->timeout_handshake_ms == 0 || cfg->timeout_connect_ms == 0 ||
	    cfg->timeout_bind_ms == 0) {
		config_err_set(err, errlen,
			       "timeout: handshake, connect and bind must be greater than 0");
		return -1;
	}
	if (cfg->users_file != NULL && cfg->users_file[0] == '\0') {
		config_err_set(err, errlen, "users: empty path");
		return -1;
	}
	if (cfg->pid_file != NULL && cfg->pid_file[0] == '\0') {
		config_err_set(err, errlen, "pid-file: empty path");
		return -1;
	}
	return 0;
}

int config_finish(struct config *cfg, char *err, size_t errlen)
{
	if (cfg->nlisten == 0) {
		struct config_addr addr;

		if (config_parse_listen(CONFIG_DEFAULT_LISTEN, &addr, err, errlen) < 0)
			return -1;
		if (listen_append(cfg, &addr) < 0)
			return err_oom(err, errlen);
	}
	if (finish_check_values(cfg, err, errlen) < 0 || config_routes_check(cfg, err, errlen) < 0)
		return -1;
	/* With PAM there is no list of users to know a SOCKS4 USERID from,
	 * and asking PAM whether a name exists without a password is
	 * something most stacks cannot answer (and should not). */
	if (cfg->socks4 == CONFIG_SOCKS4_KNOWN_USER && cfg->users_file == NULL) {
		config_err_at(cfg, cfg->socks4_line, err, errlen,
			      cfg->users_pam != NULL
				      ? "socks4 known-user needs a user file (users PATH or -U): "
					"with 'users pam' there is no list of users to check"
				      : "socks4 known-user needs a user file (users or -U)");
		return -1;
	}
	if (config_service_check(cfg, err, errlen) < 0 || config_acl_check(cfg, err, errlen) < 0 ||
	    outgoing_check(cfg, err, errlen) < 0)
		return -1;
	/* Settle "auto" here, once, so no later code can get fail-closed wrong:
	 * SOCKS4 carries no password, so with a user file it would be a way around it. */
	if (cfg->socks4 == CONFIG_SOCKS4_AUTO)
		cfg->socks4 = config_has_users(cfg) ? CONFIG_SOCKS4_OFF : CONFIG_SOCKS4_ON;
	return 0;
}
