/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The effective configuration as text (`hopsocks -T`), like `nginx -T` and
 * `sshd -T`: every directive with the value in force, defaults included.
 *
 * The output is itself a configuration file: fed back to `hopsocks -t -c`
 * it is valid and means the same, except that hop passwords are printed as
 * "***" and chains read from proxychains-ng files appear as the blocks they
 * became. Settings that are unset, and have no keyword saying so, are
 * printed as comments naming what the default does. Pure: it writes to the
 * stream it is given and reads nothing else. */
#include "config/config_dump.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config/config_dest.h"
#include "config/config_value.h"
#include "config/config_proxy.h"
#include "proto/hop.h"

/* "1h", "5m", "10s", "1500ms": the largest unit that divides exactly. */
static const char *duration_text(unsigned ms, char *buf, size_t cap)
{
	if (ms != 0 && ms % 3600000u == 0)
		snprintf(buf, cap, "%uh", ms / 3600000u);
	else if (ms != 0 && ms % 60000u == 0)
		snprintf(buf, cap, "%um", ms / 60000u);
	else if (ms % 1000u == 0)
		snprintf(buf, cap, "%us", ms / 1000u);
	else
		snprintf(buf, cap, "%ums", ms);
	return buf;
}

/* A word as the tokenizer (config_lex.c) reads it back: bare when it can
 * be, else double-quoted with '"' and '\' escaped. */
static void put_word(FILE *out, const char *w)
{
	if (w[0] != '\0' && strpbrk(w, " \t\"#{}\\") == NULL) {
		fputs(w, out);
		return;
	}
	fputc('"', out);
	for (const char *p = w; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

static void put_directive(FILE *out, const char *name, const char *value)
{
	fprintf(out, "%s ", name);
	put_word(out, value);
	fputc('\n', out);
}

static const char *on_off(bool on)
{
	return on ? "on" : "off";
}

static void dump_listen(FILE *out, const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nlisten; i++)
		fprintf(out, "listen %s\n", cfg->listen[i].text);
	if (cfg->workers)
		fprintf(out, "workers %u\n", cfg->workers);
	else
		fprintf(out, "workers auto\n");
}

static void dump_auth(FILE *out, const struct config *cfg)
{
	static const char *const socks4[] = { "auto", "on", "known-user", "off" };

	if (cfg->users_file)
		put_directive(out, "users", cfg->users_file);
	else if (cfg->users_pam)
		fprintf(out, "users pam %s\n", cfg->users_pam); /* checked: nothing to quote */
	else
		fprintf(out, "# users: none (no authentication)\n");
	fprintf(out, "socks4 %s\n", socks4[cfg->socks4]);
	if (cfg->auth_throttle_failures) {
		char w[24], b[24];
		fprintf(out, "auth-throttle %u %s %s\n", cfg->auth_throttle_failures,
			duration_text(cfg->auth_throttle_window_ms, w, sizeof(w)),
			duration_text(cfg->auth_throttle_block_ms, b, sizeof(b)));
	} else {
		fprintf(out, "auth-throttle off\n");
	}
}

static void dump_timeouts(FILE *out, const struct config *cfg)
{
	const struct {
		const char *name;
		unsigned ms;
	} t[] = {
		{ "handshake", cfg->timeout_handshake_ms },
		{ "connect", cfg->timeout_connect_ms },
		{ "idle", cfg->timeout_idle_ms },
		{ "udp-idle", cfg->timeout_udp_idle_ms },
		{ "bind", cfg->timeout_bind_ms },
	};
	char d[24];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		fprintf(out, "timeout %s %s\n", t[i].name, duration_text(t[i].ms, d, sizeof(d)));
}

static void dump_logging(FILE *out, const struct config *cfg)
{
	static const char *const level[] = { "error", "warn", "info", "debug" };
	static const char *const to[] = { "auto", "stderr", "syslog", "file" };

	fprintf(out, "log %s\n", level[cfg->log_level]);
	if (cfg->log_to == CONFIG_LOG_TO_FILE && cfg->log_file) {
		fprintf(out, "log-to file ");
		put_word(out, cfg->log_file);
		fputc('\n', out);
	} else {
		fprintf(out, "log-to %s\n", to[cfg->log_to]);
	}
	fprintf(out, "log-format %s\n", cfg->log_json ? "json" : "text");
	fprintf(out, "access-log %s\n", on_off(cfg->access_log));
}

/* One address per family, or a comment saying what happens without. */
static void dump_family_pair(FILE *out, const char *name, const struct config_addr *v4,
			     const struct config_addr *v6, const char *unset)
{
	if (v4->len)
		fprintf(out, "%s %s\n", name, v4->text);
	if (v6->len)
		fprintf(out, "%s %s\n", name, v6->text);
	if (!v4->len && !v6->len)
		fprintf(out, "# %s: unset (%s)\n", name, unset);
}

/* "outgoing SOURCE" for a global source that is set. */
static void put_source(FILE *out, const struct config_source *src)
{
	char text[96];

	if (!src->addr.len)
		return;
	config_source_format(src, text, sizeof(text));
	fprintf(out, "outgoing %s\n", text);
}

/* The global sources, then each user's (which come first when used). */
static void dump_outgoing(FILE *out, const struct config *cfg)
{
	char text[96];

	put_source(out, &cfg->outgoing_v4);
	put_source(out, &cfg->outgoing_v6);
	if (!cfg->outgoing_v4.addr.len && !cfg->outgoing_v6.addr.len)
		fprintf(out, "# outgoing: unset (the kernel picks the source address)\n");
	for (size_t i = 0; i < cfg->nuser_sources; i++) {
		config_source_format(&cfg->user_sources[i].src, text, sizeof(text));
		fprintf(out, "outgoing %s user ", text);
		put_word(out, cfg->user_sources[i].user);
		fputc('\n', out);
	}
}

static void dump_network(FILE *out, const struct config *cfg)
{
	static const char *const order[] = { "as-returned", "ipv4-first", "ipv6-first", "ipv4-only",
					     "ipv6-only" };
	char d[24];

	fprintf(out, "max-connections %u\n", cfg->max_connections);
	fprintf(out, "splice-pipes %u\n", cfg->splice_pipes);
	if (cfg->relay == CONFIG_RELAY_KERNEL)
		fprintf(out, "relay kernel after %u\n", cfg->relay_after);
	else
		fprintf(out, "relay %s\n", config_relay_names[cfg->relay]);
	dump_outgoing(out, cfg);
	if (cfg->resolvers) {
		/* Stored as c-ares's comma-separated list; one line each. */
		for (const char *p = cfg->resolvers; *p;) {
			size_t n = strcspn(p, ",");
			fprintf(out, "resolver %.*s\n", (int)n, p);
			p += n + (p[n] == ',');
		}
	} else {
		fprintf(out, "# resolver: unset (the servers of /etc/resolv.conf)\n");
	}
	fprintf(out, "address-order %s\n", order[cfg->addr_order]);
	fprintf(out, "dns-cache %u\n", cfg->dns_cache_size);
	fprintf(out, "dns-cache-max-ttl %s\n",
		duration_text(cfg->dns_cache_max_ttl_ms, d, sizeof(d)));
}

static void dump_udp_bind(FILE *out, const struct config *cfg)
{
	dump_family_pair(out, "udp-advertise", &cfg->udp_advertise_v4, &cfg->udp_advertise_v6,
			 "the relay socket's own address");
	if (cfg->udp_port_min)
		fprintf(out, "udp-ports %u-%u\n", cfg->udp_port_min, cfg->udp_port_max);
	else
		fprintf(out, "# udp-ports: unset (ephemeral ports)\n");
	fprintf(out, "udp-replies %s\n", cfg->udp_replies_any ? "any" : "contacted");
	dump_family_pair(out, "bind-address", &cfg->bind_addr_v4, &cfg->bind_addr_v6,
			 "the address used toward the destination");
	fprintf(out, "bind-peer %s\n", cfg->bind_peer_any ? "any" : "strict");
}

static void dump_limits(FILE *out, const struct config *cfg)
{
	fprintf(out, "max-connections-per-client %u\n", cfg->max_per_client);
	fprintf(out, "max-connections-per-user %u\n", cfg->max_per_user);
	fprintf(out, "destination-guard %s\n", on_off(cfg->destination_guard));
	config_proxy_dump(cfg, out);
}

static void dump_service(FILE *out, const struct config *cfg)
{
	char d[24];

	if (cfg->admin.len)
		fprintf(out, "admin %s%s\n", cfg->admin.text, cfg->admin_public ? " public" : "");
	else
		fprintf(out, "admin off\n");
	if (cfg->pid_file)
		put_directive(out, "pid-file", cfg->pid_file);
	else
		fprintf(out, "# pid-file: none\n");
	if (cfg->run_user)
		put_directive(out, "user", cfg->run_user);
	if (cfg->run_group)
		put_directive(out, "group", cfg->run_group);
	if (!cfg->run_user && !cfg->run_group)
		fprintf(out, "# user, group: unset (no privilege drop)\n");
	fprintf(out, "drain %s\n", duration_text(cfg->drain_ms, d, sizeof(d)));
	fprintf(out, "reload-keep-sessions %s\n", on_off(cfg->reload_keep_sessions));
}

/* The hop's URL with its password, if any, as "***". */
static void put_hop(FILE *out, const struct hop *h)
{
	const char *at = h->has_pass ? strchr(h->display, '@') : NULL;

	if (at)
		fprintf(out, "\thop %.*s:***%s", (int)(at - h->display), h->display, at);
	else
		fprintf(out, "\thop %s", h->display);
	if (h->proxy_protocol)
		fprintf(out, " proxy-protocol v%u", h->proxy_protocol);
	fputc('\n', out);
}

static void dump_chain(FILE *out, const struct config_chain *c)
{
	static const char *const mode[] = { "strict", "dynamic", "random", "round-robin" };
	char d[24];

	fprintf(out, "\nchain %s {\n", c->name);
	if (c->pc_file) {
		fprintf(out, "\t# read from the proxychains-ng file ");
		put_word(out, c->pc_file);
		fprintf(out, " (at every reload)\n");
		if (c->step_timeout_ms)
			fprintf(out, "\t# each tunnel step: %s (its tcp_connect_time_out)\n",
				duration_text(c->step_timeout_ms, d, sizeof(d)));
	}
	fprintf(out, "\tmode %s\n", mode[c->mode]);
	if (c->length)
		fprintf(out, "\tlength %u\n", c->length);
	fprintf(out, "\tresolve %s\n", c->resolve_local ? "local" : "remote");
	fprintf(out, "\tretry-dead %s\n", duration_text(c->retry_dead_ms, d, sizeof(d)));
	if (c->pick_as_proxychains)
		fprintf(out, "\t# hops are picked as proxychains-ng picks them\n");
	for (size_t i = 0; i < c->nhops; i++)
		put_hop(out, &c->hops[i]);
	fprintf(out, "}\n");
}

static void dump_routes(FILE *out, const struct config *cfg)
{
	char text[CONFIG_ROUTE_NAME_MAX + 96];

	for (size_t i = 0; i < cfg->nchains; i++)
		dump_chain(out, &cfg->chains[i]);
	if (cfg->nroutes)
		fputc('\n', out);
	for (size_t i = 0; i < cfg->nroutes; i++) {
		config_dest_format(&cfg->routes[i], text, sizeof(text));
		fprintf(out, "route %s", text);
		if (cfg->routes[i].outgoing.addr.len) {
			config_source_format(&cfg->routes[i].outgoing, text, sizeof(text));
			fprintf(out, " outgoing %s", text);
		}
		fputc('\n', out);
	}
	if (cfg->nroutes == 0)
		fprintf(out, "# route: none (every destination direct)\n");
}

static void put_acl_from(FILE *out, const struct config_acl_rule *r)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned full = r->family == AF_INET ? 32 : 128;

	inet_ntop(r->family, r->addr, ip, sizeof(ip));
	if (r->prefix == full)
		fprintf(out, " from %s", ip);
	else
		fprintf(out, " from %s/%u", ip, r->prefix);
}

static void put_acl_commands(FILE *out, unsigned commands)
{
	static const char *const names[] = { "connect", "bind", "udp" };
	static const unsigned bits[] = { ACL_CMD_CONNECT, ACL_CMD_BIND, ACL_CMD_UDP };
	const char *sep = " command ";

	for (size_t k = 0; k < 3; k++) {
		if (commands & bits[k]) {
			fprintf(out, "%s%s", sep, names[k]);
			sep = ",";
		}
	}
}

/* "to DEST port P" from the rule's destination: config_dest_format() gives
 * "DEST[ port P] direct"; the route's own " direct" is cut off. */
static void put_acl_dest(FILE *out, const struct config_route *dest)
{
	char text[CONFIG_ROUTE_NAME_MAX + 96];
	int n = config_dest_format(dest, text, sizeof(text));
	size_t len = n > 0 && (size_t)n < sizeof(text) ? (size_t)n : strlen(text);
	const char *tail = " direct";

	if (len >= strlen(tail) && strcmp(text + len - strlen(tail), tail) == 0)
		text[len - strlen(tail)] = '\0';
	if (dest->kind != CONFIG_DEST_ANY)
		fprintf(out, " to %s", text);
	else if (strncmp(text, "* ", 2) == 0)
		fprintf(out, "%s", text + 1); /* " port P" alone */
}

static void dump_acl_rule(FILE *out, const struct config_acl_rule *r)
{
	fputs(r->allow ? "allow" : "deny", out);
	bool everything = r->any_client && r->user_kind == ACL_USER_ANY && r->commands == 0 &&
			  r->dest.kind == CONFIG_DEST_ANY && r->dest.port_min == 0 &&
			  r->dest.port_max == 65535;
	if (everything) {
		fputs(" *\n", out);
		return;
	}
	if (!r->any_client)
		put_acl_from(out, r);
	if (r->user_kind == ACL_USER_AUTHENTICATED)
		fputs(" user *", out);
	else if (r->user_kind == ACL_USER_NAMED) {
		fputs(" user ", out);
		put_word(out, r->user);
	}
	put_acl_commands(out, r->commands);
	put_acl_dest(out, &r->dest);
	fputc('\n', out);
}

static void dump_acl(FILE *out, const struct config *cfg)
{
	if (cfg->nacl)
		fputc('\n', out);
	for (size_t i = 0; i < cfg->nacl; i++)
		dump_acl_rule(out, &cfg->acl[i]);
	if (cfg->nacl == 0)
		fprintf(out, "# allow, deny: no rules (clients on loopback only, or logged in "
			     "users when users is set)\n");
}

void config_dump(const struct config *cfg, FILE *out)
{
	dump_listen(out, cfg);
	dump_auth(out, cfg);
	dump_timeouts(out, cfg);
	dump_logging(out, cfg);
	dump_network(out, cfg);
	dump_udp_bind(out, cfg);
	dump_limits(out, cfg);
	dump_service(out, cfg);
	dump_routes(out, cfg);
	dump_acl(out, cfg);
}
