/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The config language's service directives: what an administrator sets to
 * run hopsocks as a system service.
 *
 *	admin ADDR:PORT | off        the status/metrics HTTP listener
 *	user NAME                    drop to this user after binding (alias: run-as)
 *	group NAME                   and to this group
 *	drain DURATION               SIGTERM: time for relaying sessions to finish
 *	reload-keep-sessions on|off  keep sessions of users a reload deleted
 *
 * Nothing here looks a name up: whether a user or group exists is for the
 * code that drops privileges to find out (at start, with a clear message),
 * since the config parser is pure and runs in tests and fuzzers. */
#include "config/config_service.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "config/config_value.h"

static int err_oom(char *err, size_t errlen)
{
	config_err_set(err, errlen, "out of memory");
	return -1;
}

int config_do_admin(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	struct config_addr addr;

	bool public = false;

	if (strcmp(argv[0], "off") == 0) {
		if (argv[1] != NULL) {
			config_err_set(err, errlen, "admin off takes nothing after it");
			return -1;
		}
		memset(&ps->cfg->admin, 0, sizeof(ps->cfg->admin));
		ps->cfg->admin_public = false;
		return 0;
	}
	if (argv[1] != NULL) {
		if (strcmp(argv[1], "public") != 0)
			return config_bad_keyword(argv[1], "public, or nothing", err, errlen);
		public = true;
	}
	/* The listen forms: "9090" is 127.0.0.1:9090, loopback by default. */
	if (config_parse_listen(argv[0], &addr, err, errlen) < 0)
		return -1;
	addr.line = ps->line;
	ps->cfg->admin = addr;
	ps->cfg->admin_public = public;
	return 0;
}

/* A user or group name, or a numeric id. Only what can never be one is
 * refused here (what the system knows is checked when it is used): blanks,
 * ':' and '/' (the separators of /etc/passwd and of paths) and a leading
 * '-' (read as an option by the tools that take names). */
static const char *account_name_problem(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return "empty name";
	if (len > 255)
		return "longer than 255 bytes";
	if (name[0] == '-')
		return "starts with '-'";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c == 0x7f)
			return "contains whitespace";
		if (c == ':' || c == '/')
			return c == ':' ? "contains ':'" : "contains '/'";
	}
	return NULL;
}

static int set_account(char **slot, const char *value, char *err, size_t errlen)
{
	const char *problem = account_name_problem(value);

	if (problem != NULL) {
		config_err_set(err, errlen, "invalid name '%." QUOTE_MAX "s' (%s)", value, problem);
		return -1;
	}
	return config_set_string(slot, value) < 0 ? err_oom(err, errlen) : 0;
}

int config_do_user(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return set_account(&ps->cfg->run_user, argv[0], err, errlen);
}

int config_do_group(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	return set_account(&ps->cfg->run_group, argv[0], err, errlen);
}

int config_do_drain(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	/* 0 is allowed: close every session at once. */
	return config_set_duration(&ps->cfg->drain_ms, argv[0], err, errlen);
}

int config_do_reload_keep_sessions(struct parse_state *ps, char *const *argv, char *err,
				   size_t errlen)
{
	if (config_parse_bool(argv[0], &ps->cfg->reload_keep_sessions) < 0)
		return config_bad_keyword(argv[0], "on or off", err, errlen);
	return 0;
}

static uint16_t addr_port(const struct config_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static bool addr_is_unspecified(const struct config_addr *a)
{
	static const uint8_t zero[16] = { 0 };

	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == 0;
	return memcmp(((const struct sockaddr_in6 *)&a->ss)->sin6_addr.s6_addr, zero, 16) == 0;
}

/* Would binding a and b collide? The same family and port, and the same
 * address or a wildcard on either side. (Listeners are IPv6-only, so
 * [::]:P and 127.0.0.1:P do not.) SO_REUSEPORT on the SOCKS listeners
 * would let such a pair bind anyway and split the connections between
 * SOCKS and HTTP, which is why this is refused rather than left to bind(). */
static bool addr_overlaps(const struct config_addr *a, const struct config_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family || addr_port(a) != addr_port(b))
		return false;
	return config_addr_equal(a, b) || addr_is_unspecified(a) || addr_is_unspecified(b);
}

int config_service_check(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->run_user != NULL && cfg->run_user[0] == '\0') {
		config_err_set(err, errlen, "user: empty name");
		return -1;
	}
	if (cfg->run_group != NULL && cfg->run_group[0] == '\0') {
		config_err_set(err, errlen, "group: empty name");
		return -1;
	}
	if (cfg->admin.len == 0)
		return 0;
	char lwhere[CONFIG_ERR_MAX];
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct config_addr *l = &cfg->listen[i];

		if (!addr_overlaps(&cfg->admin, l))
			continue;
		lwhere[0] = '\0';
		if (l->line != 0)
			snprintf(lwhere, sizeof(lwhere), " (the one from %s:%u)", cfg->source,
				 l->line);
		if (config_addr_equal(&cfg->admin, l))
			config_err_at(cfg, cfg->admin.line, err, errlen,
				      "admin: %s is also a listen address%s; the admin listener "
				      "needs a port of its own",
				      cfg->admin.text, lwhere);
		else
			config_err_at(cfg, cfg->admin.line, err, errlen,
				      "admin: %s overlaps listen %s%s; the admin listener needs a "
				      "port of its own",
				      cfg->admin.text, l->text, lwhere);
		return -1;
	}
	/* The page and /metrics name users and upstreams, and nothing asks
	 * who is reading them: beyond this machine only when asked for. */
	if (!cfg->admin_public && !util_sa_is_loopback(&cfg->admin.ss)) {
		config_err_at(cfg, cfg->admin.line, err, errlen,
			      "admin: %s is not a loopback address, and the admin listener has "
			      "no authentication (write 'admin %s public' to serve it there "
			      "anyway)",
			      cfg->admin.text, cfg->admin.text);
		return -1;
	}
	return 0;
}
