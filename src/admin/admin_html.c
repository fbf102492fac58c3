/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The status page: one self-contained HTML document (inline CSS, no
 * script, no external assets) that reloads itself every ADMIN_REFRESH_S
 * seconds. Every number has an id (or its row a data- attribute) so tests
 * and scrapers can find it; names are escaped with admin_escape_html. */
#include "admin/admin_html.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "proto/target.h"
#include "session/session_list.h"

#define U(x) ((unsigned long long)(x))

static const char page_style[] =
	"body{font:13px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;"
	"background:#f4f6f8;color:#1d2630}"
	"header{background:#22344a;color:#fff;padding:12px 20px}"
	"header h1{margin:0;font-size:20px;font-weight:600}"
	"header h1 small{font-weight:400;color:#a9bbcf;font-size:13px;margin-left:8px}"
	"header p{margin:4px 0 0;color:#c9d6e3}"
	"main{padding:12px 20px 24px;max-width:1200px}"
	"h2{font-size:14px;margin:20px 0 6px;color:#22344a;text-transform:uppercase;"
	"letter-spacing:.04em}"
	".cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:8px}"
	".card{background:#fff;border:1px solid #d5dde5;border-radius:4px;padding:8px 14px;"
	"min-width:130px}"
	".card .k{color:#5b6b7b;font-size:12px}"
	".card .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}"
	"table{border-collapse:collapse;background:#fff;border:1px solid #c4ced8;min-width:480px}"
	"th,td{padding:3px 10px;border:1px solid #dde3e9;text-align:left;white-space:nowrap}"
	"thead th{background:#3a5372;color:#fff;font-weight:600}"
	"thead tr.g th{background:#2c4360;text-align:center}"
	"tbody tr:nth-child(even){background:#f2f5f8}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"td small,.card small{color:#6f7f8f;font-weight:400;font-size:11px}"
	".up{background:#cfeccf;color:#185c18;font-weight:600}"
	".down{background:#f6cccc;color:#8a1414;font-weight:600}"
	".zero{color:#9aa7b4}"
	".empty{color:#6f7f8f;font-style:italic}"
	".grid{display:flex;flex-wrap:wrap;gap:20px}"
	".grid table{min-width:260px}"
	"footer{color:#6f7f8f;padding:0 20px 16px}";

static void human_bytes(unsigned long long n, char *out, size_t cap)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%llu B", n);
	else
		snprintf(out, cap, "%.1f %s", v, unit[u]);
}

static void human_duration(unsigned long long s, char *out, size_t cap)
{
	unsigned long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
	if (d)
		snprintf(out, cap, "%llud %lluh %llum %llus", d, h, m, sec);
	else if (h)
		snprintf(out, cap, "%lluh %llum %llus", h, m, sec);
	else if (m)
		snprintf(out, cap, "%llum %llus", m, sec);
	else
		snprintf(out, cap, "%llus", sec);
}

/* <td class="n" id="ID">N</td>; zeros are greyed. id may be NULL. */
static void cell(struct admin_buf *b, const char *id, long long n)
{
	admin_buf_printf(b, "<td class=\"n%s\"", n == 0 ? " zero" : "");
	if (id)
		admin_buf_printf(b, " id=\"%s\"", id);
	admin_buf_printf(b, ">%lld</td>", n);
}

/* A byte count: the exact number, the readable size beside it. */
static void cell_bytes(struct admin_buf *b, const char *id, unsigned long long n)
{
	char h[32];
	human_bytes(n, h, sizeof(h));
	admin_buf_printf(b, "<td class=\"n%s\"", n == 0 ? " zero" : "");
	if (id)
		admin_buf_printf(b, " id=\"%s\"", id);
	admin_buf_printf(b, ">%llu", n);
	if (n >= 1024)
		admin_buf_printf(b, " <small>%s</small>", h);
	admin_buf_puts(b, "</td>");
}

static void card(struct admin_buf *b, const char *id, const char *label, const char *value,
		 const char *note)
{
	admin_buf_printf(b,
			 "<div class=\"card\"><div class=\"k\">%s</div>"
			 "<div class=\"v\" id=\"%s\">%s",
			 label, id, value);
	if (note)
		admin_buf_printf(b, " <small>%s</small>", note);
	admin_buf_puts(b, "</div></div>");
}

static void html_header(struct admin_buf *b, const struct admin_view *v)
{
	char up[64];
	human_duration(v->uptime_s, up, sizeof(up));
	admin_buf_printf(b,
			 "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			 "<meta http-equiv=\"refresh\" content=\"%d\">"
			 "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
			 "<title>hopsocks status</title><style>%s</style></head>\n<body>"
			 "<header><h1>hopsocks<small id=\"version\">",
			 ADMIN_REFRESH_S, page_style);
	admin_escape_html(b, v->version);
	admin_buf_printf(b,
			 "</small></h1><p>up <b id=\"uptime\" data-seconds=\"%llu\">%s</b>"
			 " &middot; configuration generation <b id=\"generation\">%u</b>"
			 " &middot; authentication <b id=\"auth\">%s</b>"
			 " &middot; relay <b id=\"relay\">%s</b>"
			 " &middot; refreshes every %d s</p></header>\n<main>",
			 U(v->uptime_s), up, v->generation, v->auth ? "on" : "off",
			 stats_relay_mode_name(v->stats), ADMIN_REFRESH_S);
}

static void html_cards(struct admin_buf *b, const struct admin_view *v)
{
	const struct stats *s = v->stats;
	char val[64], note[64];

	admin_buf_puts(b, "<section class=\"cards\">");
	snprintf(val, sizeof(val), "%ld", stats_get(s, sessions_active));
	card(b, "c-sessions-active", "Sessions active", val, NULL);
	snprintf(val, sizeof(val), "%lu", stats_get(s, sessions_total));
	card(b, "c-sessions-total", "Sessions total", val, NULL);
	snprintf(val, sizeof(val), "%ld", v->connections);
	if (v->max_connections)
		snprintf(note, sizeof(note), "of %u", v->max_connections);
	card(b, "c-connections", "Connections open", val, v->max_connections ? note : NULL);
	human_bytes(stats_get(s, bytes_up), val, sizeof(val));
	card(b, "c-bytes-up", "Bytes up", val, NULL);
	human_bytes(stats_get(s, bytes_down), val, sizeof(val));
	card(b, "c-bytes-down", "Bytes down", val, NULL);
	human_bytes(stats_get(s, bytes_kernel), val, sizeof(val));
	snprintf(note, sizeof(note), "%lu sessions", stats_get(s, kernel_relayed));
	card(b, "c-bytes-kernel", "Bytes by the kernel relay", val, note);
	snprintf(val, sizeof(val), "%lu", stats_get(s, auth_failed));
	card(b, "c-auth-failed", "Auth failures", val, NULL);
	snprintf(val, sizeof(val), "%lu", stats_get(s, denied));
	card(b, "c-denied", "Denied", val, NULL);
	admin_buf_puts(b, "</section>\n");
}

static void html_listeners(struct admin_buf *b, const struct admin_view *v)
{
	admin_buf_puts(b, "<h2>Listeners</h2><table id=\"listeners\"><thead><tr><th>Address</th>"
			  "<th>Accepted</th></tr></thead><tbody>");
	for (size_t i = 0; i < v->nlisteners; i++) {
		admin_buf_puts(b, "<tr data-listener=\"");
		admin_escape_html(b, v->listeners[i].addr);
		admin_buf_puts(b, "\"><td>");
		admin_escape_html(b, v->listeners[i].addr);
		admin_buf_puts(b, "</td>");
		cell(b, NULL, (long long)v->listeners[i].accepted);
		admin_buf_puts(b, "</tr>");
	}
	admin_buf_puts(b, "</tbody></table>\n");
}

static void html_commands(struct admin_buf *b, const struct stats *s)
{
	char id[64];
	admin_buf_puts(b, "<h2>Sessions by protocol and command</h2>"
			  "<table id=\"commands\"><thead><tr class=\"g\"><th></th>");
	for (unsigned c = 0; c < STATS_NCMD; c++)
		admin_buf_printf(b, "<th colspan=\"2\">%s</th>", stats_cmd_name(c));
	admin_buf_puts(b, "</tr><tr><th>Protocol</th>");
	for (unsigned c = 0; c < STATS_NCMD; c++)
		admin_buf_puts(b, "<th>Active</th><th>Total</th>");
	admin_buf_puts(b, "</tr></thead><tbody>");
	for (unsigned p = 0; p < STATS_NPROTO; p++) {
		admin_buf_printf(b, "<tr><td>%s</td>", stats_proto_name(p));
		for (unsigned c = 0; c < STATS_NCMD; c++) {
			snprintf(id, sizeof(id), "cmd-%s-%s-active", stats_proto_name(p),
				 stats_cmd_name(c));
			cell(b, id, stats_get(s, cmd_active[p][c]));
			snprintf(id, sizeof(id), "cmd-%s-%s-total", stats_proto_name(p),
				 stats_cmd_name(c));
			cell(b, id, (long long)stats_get(s, cmd_total[p][c]));
		}
		admin_buf_puts(b, "</tr>");
	}
	admin_buf_puts(b, "</tbody></table>\n");
}

static void html_users(struct admin_buf *b, const struct stats *s)
{
	const struct stats_user *users[STATS_USERS_MAX];
	size_t n = stats_users_sorted(s, users, STATS_USERS_MAX);

	admin_buf_puts(b, "<h2>Users</h2>");
	if (n == 0) {
		admin_buf_puts(
			b, "<p class=\"empty\" id=\"users\">No authenticated sessions yet.</p>\n");
		return;
	}
	admin_buf_puts(b, "<table id=\"users\"><thead><tr><th>User</th><th>Active</th>"
			  "<th>Sessions</th><th>Bytes up</th><th>Bytes down</th>"
			  "<th>Auth failures</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		const struct stats_user *u = users[i];
		admin_buf_puts(b, "<tr data-user=\"");
		admin_escape_html(b, u->name);
		admin_buf_puts(b, "\"><td>");
		admin_escape_html(b, u->name);
		admin_buf_puts(b, "</td>");
		cell(b, NULL, stats_get(u, active));
		cell(b, NULL, (long long)stats_get(u, sessions));
		cell_bytes(b, NULL, stats_get(u, bytes_up));
		cell_bytes(b, NULL, stats_get(u, bytes_down));
		cell(b, NULL, (long long)stats_get(u, auth_failed));
		admin_buf_puts(b, "</tr>");
	}
	admin_buf_puts(b, "</tbody></table>\n");
}

static void html_hops(struct admin_buf *b, const struct admin_view *v)
{
	admin_buf_puts(b, "<h2>Upstream hops</h2>");
	if (v->nhops == 0) {
		admin_buf_puts(b, "<p class=\"empty\" id=\"hops\">No chains configured.</p>\n");
		return;
	}
	admin_buf_puts(b, "<table id=\"hops\"><thead><tr><th>Chain</th><th>Hop</th><th>URL</th>"
			  "<th>State</th><th>Attempts</th><th>Failures</th></tr></thead><tbody>");
	for (size_t i = 0; i < v->nhops; i++) {
		const struct admin_hop_view *h = &v->hops[i];
		admin_buf_puts(b, "<tr data-chain=\"");
		admin_escape_html(b, h->chain);
		admin_buf_printf(b, "\" data-hop=\"%u\"><td>", h->position);
		admin_escape_html(b, h->chain);
		admin_buf_printf(b, "</td><td class=\"n\">%u</td><td>", h->position);
		admin_escape_html(b, h->url);
		if (h->up)
			admin_buf_puts(b, "</td><td class=\"up\">UP</td>");
		else
			admin_buf_printf(b,
					 "</td><td class=\"down\">DOWN <small>retry in %llu s"
					 "</small></td>",
					 U((h->down_for_ms + 999) / 1000));
		cell(b, NULL, (long long)h->attempts);
		cell(b, NULL, (long long)h->failures);
		admin_buf_puts(b, "</tr>");
	}
	admin_buf_puts(b, "</tbody></table>\n");
}

/* One live session's row. Client-chosen names (the target, a SOCKS4
 * USERID) are shown as the access log shows them (\xHH escapes), then
 * escaped for HTML, so the page and the log read the same. */
static void html_session_row(struct admin_buf *b, const struct admin_view *v,
			     const struct session_info *si)
{
	char client[64], target[TARGET_TEXT_MAX], user[LOG_ESC_SIZE(AUTH_NAME_MAX)], age[64];
	sockaddr_format(&si->client.sa, client, sizeof(client));
	target_format(&si->target, target, sizeof(target));
	log_esc(user, sizeof(user), si->user);
	uint64_t age_s = v->now_ms > si->started_ms ? (v->now_ms - si->started_ms) / 1000 : 0;
	human_duration(age_s, age, sizeof(age));

	admin_buf_printf(b, "<tr data-session=\"%llu\" data-client=\"", U(si->id));
	admin_escape_html(b, client);
	admin_buf_puts(b, "\"><td>");
	admin_escape_html(b, client);
	admin_buf_puts(b, "</td><td>");
	admin_escape_html(b, user);
	admin_buf_printf(b, "</td><td>%s</td><td>%s</td><td>", session_list_proto_name(si->proto),
			 session_list_cmd_name(si->cmd));
	admin_escape_html(b, target);
	admin_buf_puts(b, "</td><td>");
	admin_escape_html(b, si->route[0] ? si->route : "-");
	admin_buf_printf(b, "</td><td>%s</td><td class=\"n\" data-seconds=\"%llu\">%s</td>",
			 session_list_state_name(si->state), U(age_s), age);
	cell_bytes(b, NULL, si->up);
	cell_bytes(b, NULL, si->down);
	admin_buf_printf(b, "<td class=\"n\">%llu</td><td>%s</td></tr>", U(si->id),
			 si->relay ? si->relay : "-");
}

static void html_sessions(struct admin_buf *b, const struct admin_view *v)
{
	admin_buf_puts(b, "<h2>Live sessions</h2>");
	if (v->nsessions == 0) {
		admin_buf_printf(b,
				 "<p class=\"empty\" id=\"sessions\" data-total=\"%zu\">"
				 "No sessions open.</p>\n",
				 v->sessions_all);
		return;
	}
	admin_buf_printf(b, "<p id=\"sessions-count\" data-total=\"%zu\" data-listed=\"%zu\">",
			 v->sessions_all, v->nsessions);
	if (v->nsessions < v->sessions_all)
		admin_buf_printf(b, "The %zu with the most bytes of %zu sessions open.",
				 v->nsessions, v->sessions_all);
	else
		admin_buf_printf(b, "%zu session%s open.", v->sessions_all,
				 v->sessions_all == 1 ? "" : "s");
	admin_buf_printf(b, " <small>As the workers saw them up to a second ago.</small></p>");
	admin_buf_puts(b, "<table id=\"sessions\"><thead><tr><th>Client</th><th>User</th>"
			  "<th>Protocol</th><th>Command</th><th>Target</th><th>Route</th>"
			  "<th>State</th><th>Age</th><th>Bytes up</th><th>Bytes down</th>"
			  "<th>Session</th><th>Relay</th></tr></thead><tbody>");
	for (size_t i = 0; i < v->nsessions; i++)
		html_session_row(b, v, &v->sessions[i]);
	admin_buf_puts(b, "</tbody></table>\n");
}

/* A small two-column table of named counters. */
struct kv {
	const char *id, *label;
	unsigned long value;
	bool bytes;
};

static void html_kv(struct admin_buf *b, const char *title, const char *id, const struct kv *kv,
		    size_t n)
{
	admin_buf_printf(b, "<div><h2>%s</h2><table id=\"%s\"><tbody>", title, id);
	for (size_t i = 0; i < n; i++) {
		admin_buf_printf(b, "<tr><th>%s</th>", kv[i].label);
		if (kv[i].bytes)
			cell_bytes(b, kv[i].id, kv[i].value);
		else
			cell(b, kv[i].id, (long long)kv[i].value);
		admin_buf_puts(b, "</tr>");
	}
	admin_buf_puts(b, "</tbody></table></div>");
}

static void html_counters(struct admin_buf *b, const struct stats *s)
{
	const struct kv traffic[] = {
		{ "connects-ok", "Connects ok", stats_get(s, connects_ok), false },
		{ "connects-failed", "Connects failed", stats_get(s, connects_failed), false },
		{ "bytes-up", "Bytes up", stats_get(s, bytes_up), true },
		{ "bytes-down", "Bytes down", stats_get(s, bytes_down), true },
		{ "bad-requests", "Bad requests", stats_get(s, bad_requests), false },
		{ "refused-max", "Refused (max-connections)", stats_get(s, refused_max_connections),
		  false },
	};
	const struct kv auth[] = {
		{ "auth-ok", "Auth ok", stats_get(s, auth_ok), false },
		{ "auth-failed", "Auth failed", stats_get(s, auth_failed), false },
		{ "auth-cache-hits", "Auth cache hits", stats_get(s, auth_cache_hits), false },
		{ "denied", "Denied by rule", stats_get(s, denied), false },
	};
	const struct kv udp[] = {
		{ "udp-associations", "Associations", stats_get(s, udp_associations), false },
		{ "udp-datagrams-up", "Datagrams up", stats_get(s, udp_datagrams_up), false },
		{ "udp-datagrams-down", "Datagrams down", stats_get(s, udp_datagrams_down), false },
		{ "udp-dropped", "Dropped", stats_get(s, udp_dropped), false },
	};
	const struct kv dns[] = {
		{ "dns-queries", "Queries", stats_get(s, dns_queries), false },
		{ "dns-failures", "Failures", stats_get(s, dns_failures), false },
		{ "dns-cache-hits", "Cache hits", stats_get(s, dns_cache_hits), false },
	};
	const struct kv bind[] = {
		{ "binds-accepted", "Peers accepted", stats_get(s, binds_accepted), false },
		{ "binds-refused", "Peers refused", stats_get(s, binds_refused), false },
	};
#define N(a) (sizeof(a) / sizeof((a)[0]))
	admin_buf_puts(b, "<div class=\"grid\">");
	html_kv(b, "Traffic", "traffic", traffic, N(traffic));
	html_kv(b, "Authentication", "authentication", auth, N(auth));
	html_kv(b, "UDP", "udp", udp, N(udp));
	html_kv(b, "DNS", "dns", dns, N(dns));
	html_kv(b, "BIND", "bind", bind, N(bind));
	admin_buf_puts(b, "</div>\n");
#undef N
}

bool admin_format_html(const struct admin_view *v, struct admin_buf *b)
{
	html_header(b, v);
	html_cards(b, v);
	html_sessions(b, v);
	html_listeners(b, v);
	html_commands(b, v->stats);
	html_users(b, v->stats);
	html_hops(b, v);
	html_counters(b, v->stats);

	char when[64] = "";
	time_t t = (time_t)(v->start_unix + (int64_t)v->uptime_s);
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	admin_buf_printf(b, "</main><footer>Generated %s.</footer></body></html>\n", when);
	return !b->failed;
}
