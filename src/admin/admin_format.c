/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The admin listener's pure parts: the output buffer, escaping, the
 * request parser and the Prometheus text format (0.0.4), built from a
 * struct admin_view (the status page is in admin_html.c). No I/O, no
 * clock, no locks, so tests can render a known view exactly. */
#include "admin/admin_format.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

/* ---- the growable buffer ---- */

void admin_buf_free(struct admin_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static bool admin_buf_reserve(struct admin_buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void admin_buf_add(struct admin_buf *b, const char *s, size_t n)
{
	if (!admin_buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void admin_buf_puts(struct admin_buf *b, const char *s)
{
	admin_buf_add(b, s, strlen(s));
}

void admin_buf_printf(struct admin_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		admin_buf_add(b, small, (size_t)n);
		return;
	}
	if (!admin_buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---- escaping ---- */

void admin_escape_label(struct admin_buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			admin_buf_add(b, "\\\\", 2);
		else if (*p == '"')
			admin_buf_add(b, "\\\"", 2);
		else if (*p == '\n')
			admin_buf_add(b, "\\n", 2);
		else
			admin_buf_add(b, p, 1);
	}
}

void admin_escape_html(struct admin_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			admin_buf_puts(b, "&amp;");
			break;
		case '<':
			admin_buf_puts(b, "&lt;");
			break;
		case '>':
			admin_buf_puts(b, "&gt;");
			break;
		case '"':
			admin_buf_puts(b, "&quot;");
			break;
		case '\'':
			admin_buf_puts(b, "&#39;");
			break;
		default:
			if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
				admin_buf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
			else
				admin_buf_add(b, (const char *)p, 1);
		}
	}
}

/* ---- the request parser ---- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the header section: the index just past its blank line, or 0. */
static size_t header_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static ssize_t parse_request_line(const char *p, size_t n, struct admin_request *out)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return -400;
	if (i == 3 && memcmp(p, "GET", 3) == 0)
		out->method = ADMIN_GET;
	else if (i == 4 && memcmp(p, "HEAD", 4) == 0)
		out->method = ADMIN_HEAD;
	else
		out->method = ADMIN_OTHER;
	size_t t = ++i;
	while (i < n && p[i] != ' ')
		i++;
	size_t tlen = i - t;
	if (tlen == 0 || i >= n || p[t] != '/')
		return -400;
	for (size_t k = t; k < i; k++)
		if ((unsigned char)p[k] <= 0x20 || (unsigned char)p[k] >= 0x7f)
			return -400;
	i++;
	/* HTTP/1.x, and nothing after it */
	if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || p[i + 6] != '.' || p[i + 5] < '0' ||
	    p[i + 5] > '9' || p[i + 7] < '0' || p[i + 7] > '9')
		return -400;
	if (p[i + 5] != '1')
		return -505;
	out->version_minor = (uint8_t)(p[i + 7] - '0');
	size_t plen = tlen;
	const char *q = memchr(p + t, '?', tlen);
	if (q)
		plen = (size_t)(q - (p + t));
	if (plen > ADMIN_PATH_MAX)
		return -400;
	memcpy(out->path, p + t, plen);
	out->path[plen] = '\0';
	return 0;
}

static bool name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* One "Name: value" line (no line ending): keep the value if it is Host. */
static ssize_t parse_field(const char *p, size_t n, struct admin_request *out)
{
	const char *colon = memchr(p, ':', n);
	/* Only Host matters here; a line that is no field is not one. */
	if (!colon || !name_is(p, (size_t)(colon - p), "host"))
		return 0;
	if (out->has_host)
		return -400; /* two Host fields: which one would the page see? */
	const char *v = colon + 1, *e = p + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if ((size_t)(e - v) > ADMIN_HOST_MAX)
		return -400;
	memcpy(out->host, v, (size_t)(e - v));
	out->host[e - v] = '\0';
	out->has_host = true;
	return 0;
}

/* The lines between the request line and the blank line that ends them. */
static ssize_t parse_header_fields(const char *p, size_t n, struct admin_request *out)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		if (!nl)
			return 0; /* cannot happen: the section ends with its blank line */
		size_t len = (size_t)(nl - p);
		size_t line = len;
		if (line > 0 && p[line - 1] == '\r')
			line--;
		if (line == 0)
			return 0; /* the blank line */
		if (memchr(p, '\r', line))
			return -400; /* a bare CR */
		ssize_t rc = parse_field(p, line, out);
		if (rc < 0)
			return rc;
		p += len + 1;
		n -= len + 1;
	}
	return 0;
}

ssize_t admin_parse_request(const char *buf, size_t len, struct admin_request *out)
{
	memset(out, 0, sizeof(*out));
	size_t scan = len < ADMIN_REQUEST_MAX ? len : ADMIN_REQUEST_MAX;
	size_t end = header_end(buf, scan);
	/* A NUL in the header is refused; bytes behind a complete header
	 * (pipelined, say) are not this request's, or the answer would
	 * depend on how the bytes happened to arrive. */
	if (memchr(buf, '\0', end != 0 ? end : scan))
		return -400;
	if (end == 0)
		return len >= ADMIN_REQUEST_MAX ? -431 : 0;
	const char *nl = memchr(buf, '\n', end);
	size_t n = (size_t)(nl - buf);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\r')
			return -400; /* a bare CR */
	ssize_t rc = parse_request_line(buf, n, out);
	if (rc < 0)
		return rc;
	rc = parse_header_fields(nl + 1, end - (size_t)(nl + 1 - buf), out);
	return rc < 0 ? rc : (ssize_t)end;
}

/* ---- Prometheus ---- */

static void prom_family(struct admin_buf *b, const char *name, const char *type, const char *help)
{
	admin_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value -- labels as NULL-terminated key, value pairs. */
static void prom_sample(struct admin_buf *b, const char *name, long long value, ...)
{
	va_list ap;
	admin_buf_puts(b, name);
	va_start(ap, value);
	const char *key = va_arg(ap, const char *);
	for (bool first = true; key; first = false) {
		const char *val = va_arg(ap, const char *);
		admin_buf_puts(b, first ? "{" : ",");
		admin_buf_puts(b, key);
		admin_buf_puts(b, "=\"");
		admin_escape_label(b, val);
		admin_buf_puts(b, "\"");
		key = va_arg(ap, const char *);
		if (!key)
			admin_buf_puts(b, "}");
	}
	va_end(ap);
	admin_buf_printf(b, " %lld\n", value);
}

/* One counter or gauge without labels. */
static void prom_single(struct admin_buf *b, const char *name, const char *type, const char *help,
			long long value)
{
	prom_family(b, name, type, help);
	prom_sample(b, name, value, (const char *)NULL);
}

#define LL(x) ((long long)(x))

static void prom_sessions(struct admin_buf *b, const struct stats *s)
{
	static const char total[] = "hopsocks_command_sessions_total";
	static const char active[] = "hopsocks_command_sessions_active";

	prom_single(b, "hopsocks_sessions_total", "counter", "Client connections accepted.",
		    LL(stats_get(s, sessions_total)));
	prom_single(b, "hopsocks_sessions_active", "gauge", "Client sessions open now.",
		    LL(stats_get(s, sessions_active)));
	prom_family(b, total, "counter",
		    "Sessions that carried out a request, by protocol and command.");
	for (unsigned p = 0; p < STATS_NPROTO; p++)
		for (unsigned c = 0; c < STATS_NCMD; c++)
			prom_sample(b, total, LL(stats_get(s, cmd_total[p][c])), "protocol",
				    stats_proto_name(p), "command", stats_cmd_name(c),
				    (const char *)NULL);
	prom_family(b, active, "gauge",
		    "Sessions carrying out a request now, by protocol and command.");
	for (unsigned p = 0; p < STATS_NPROTO; p++)
		for (unsigned c = 0; c < STATS_NCMD; c++)
			prom_sample(b, active, LL(stats_get(s, cmd_active[p][c])), "protocol",
				    stats_proto_name(p), "command", stats_cmd_name(c),
				    (const char *)NULL);
}

/* A counter split by one label with two values. */
static void prom_pair(struct admin_buf *b, const char *name, const char *help, const char *label,
		      const char *v1, unsigned long n1, const char *v2, unsigned long n2)
{
	prom_family(b, name, "counter", help);
	prom_sample(b, name, LL(n1), label, v1, (const char *)NULL);
	prom_sample(b, name, LL(n2), label, v2, (const char *)NULL);
}

static void prom_traffic(struct admin_buf *b, const struct stats *s)
{
	prom_pair(b, "hopsocks_connects_total", "Outgoing connections (direct or through a chain).",
		  "result", "ok", stats_get(s, connects_ok), "failed",
		  stats_get(s, connects_failed));
	prom_pair(b, "hopsocks_bytes_total",
		  "Bytes relayed (TCP, and UDP payload), added while sessions run (at most "
		  "about a second behind); up is client to target.",
		  "direction", "up", stats_get(s, bytes_up), "down", stats_get(s, bytes_down));
	prom_single(b, "hopsocks_spliced_bytes_total", "counter",
		    "The part of the TCP bytes relayed that went by splice(2), never through "
		    "user space (see splice-pipes).",
		    LL(stats_get(s, bytes_spliced)));
	prom_single(b, "hopsocks_kernel_relay_bytes_total", "counter",
		    "The part of the TCP bytes relayed that the kernel relay (relay kernel, BPF "
		    "sockmap) moved without waking hopsocks.",
		    LL(stats_get(s, bytes_kernel)));
	prom_single(b, "hopsocks_kernel_relay_sessions_total", "counter",
		    "Sessions handed to the kernel relay.", LL(stats_get(s, kernel_relayed)));
	prom_family(b, "hopsocks_relay_mode", "gauge",
		    "How established streams are relayed: 1 for the mode in force (kernel, splice "
		    "or copy; splice when relay kernel could not load).");
	prom_sample(b, "hopsocks_relay_mode", 1, "mode", stats_relay_mode_name(s),
		    (const char *)NULL);
	prom_pair(b, "hopsocks_auth_total", "Password checks (RFC 1929 and HTTP Basic).", "result",
		  "ok", stats_get(s, auth_ok), "failed", stats_get(s, auth_failed));
	prom_single(b, "hopsocks_auth_cache_hits_total", "counter",
		    "Password checks answered from the verified-credential cache.",
		    LL(stats_get(s, auth_cache_hits)));
	prom_single(b, "hopsocks_auth_queue_full_total", "counter",
		    "Password checks refused because the verification queue was full (in all, "
		    "or for the client's address).",
		    LL(stats_get(s, auth_queue_full)));
	prom_single(b, "hopsocks_denied_total", "counter", "Requests refused by an access rule.",
		    LL(stats_get(s, denied)));
	prom_single(b, "hopsocks_bad_requests_total", "counter",
		    "Malformed or unsupported client messages.", LL(stats_get(s, bad_requests)));
	prom_single(b, "hopsocks_refused_max_connections_total", "counter",
		    "Clients refused because max-connections was reached.",
		    LL(stats_get(s, refused_max_connections)));
	prom_single(b, "hopsocks_proxy_refused_total", "counter",
		    "Connections refused by proxy-protocol: not from a listed balancer, or "
		    "without a valid PROXY header of the accepted version.",
		    LL(stats_get(s, proxy_refused)));
	prom_single(b, "hopsocks_dns_queries_total", "counter", "Names sent to the resolver.",
		    LL(stats_get(s, dns_queries)));
	prom_single(b, "hopsocks_dns_failures_total", "counter",
		    "Names that could not be resolved.", LL(stats_get(s, dns_failures)));
	prom_single(b, "hopsocks_dns_cache_hits_total", "counter",
		    "Names answered from the DNS cache.", LL(stats_get(s, dns_cache_hits)));
	prom_single(b, "hopsocks_udp_associations_total", "counter", "UDP associations opened.",
		    LL(stats_get(s, udp_associations)));
	prom_pair(b, "hopsocks_udp_datagrams_total",
		  "UDP datagrams relayed, added while associations run; up is client to target.",
		  "direction", "up", stats_get(s, udp_datagrams_up), "down",
		  stats_get(s, udp_datagrams_down));
	prom_single(b, "hopsocks_udp_dropped_total", "counter",
		    "UDP datagrams dropped (foreign source, fragments, malformed, queue full).",
		    LL(stats_get(s, udp_dropped)));
	prom_pair(b, "hopsocks_binds_total", "BIND peers accepted, and connections refused.",
		  "result", "accepted", stats_get(s, binds_accepted), "refused",
		  stats_get(s, binds_refused));
}

static void prom_hops(struct admin_buf *b, const struct admin_view *v)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "hopsocks_hop_up", "gauge",
		  "1 when the upstream hop may be used, 0 while marked down." },
		{ "hopsocks_hop_attempts_total", "counter",
		  "Tunnels that tried to go through the hop." },
		{ "hopsocks_hop_failures_total", "counter",
		  "Times the hop was at fault and marked down." },
	};
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		prom_family(b, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < v->nhops; i++) {
			const struct admin_hop_view *h = &v->hops[i];
			char pos[16];
			snprintf(pos, sizeof(pos), "%u", h->position);
			long long value = f == 0   ? (long long)h->up
					  : f == 1 ? LL(h->attempts)
						   : LL(h->failures);
			prom_sample(b, fam[f].name, value, "chain", h->chain, "hop", pos, "url",
				    h->url, (const char *)NULL);
		}
	}
}

static void prom_users(struct admin_buf *b, const struct stats *s)
{
	const struct stats_user *users[STATS_USERS_MAX];
	size_t n = stats_users_sorted(s, users, STATS_USERS_MAX);

	prom_family(b, "hopsocks_user_sessions_active", "gauge",
		    "Sessions of the authenticated user open now.");
	for (size_t i = 0; i < n; i++)
		prom_sample(b, "hopsocks_user_sessions_active", LL(stats_get(users[i], active)),
			    "user", users[i]->name, (const char *)NULL);
	prom_family(b, "hopsocks_user_sessions_total", "counter",
		    "Sessions of the authenticated user that carried out a request.");
	for (size_t i = 0; i < n; i++)
		prom_sample(b, "hopsocks_user_sessions_total", LL(stats_get(users[i], sessions)),
			    "user", users[i]->name, (const char *)NULL);
	prom_family(b, "hopsocks_user_bytes_total", "counter",
		    "Bytes relayed for the user, added while sessions run.");
	for (size_t i = 0; i < n; i++) {
		prom_sample(b, "hopsocks_user_bytes_total", LL(stats_get(users[i], bytes_up)),
			    "user", users[i]->name, "direction", "up", (const char *)NULL);
		prom_sample(b, "hopsocks_user_bytes_total", LL(stats_get(users[i], bytes_down)),
			    "user", users[i]->name, "direction", "down", (const char *)NULL);
	}
	prom_family(b, "hopsocks_user_auth_failures_total", "counter",
		    "Failed password checks for a user the user file knows.");
	for (size_t i = 0; i < n; i++)
		prom_sample(b, "hopsocks_user_auth_failures_total",
			    LL(stats_get(users[i], auth_failed)), "user", users[i]->name,
			    (const char *)NULL);
}

bool admin_format_metrics(const struct admin_view *v, struct admin_buf *b)
{
	const struct stats *s = v->stats;

	prom_family(b, "hopsocks_build_info", "gauge", "The running version of hopsocks.");
	prom_sample(b, "hopsocks_build_info", 1, "version", v->version, (const char *)NULL);
	prom_single(b, "hopsocks_uptime_seconds", "gauge", "Seconds since hopsocks started.",
		    LL(v->uptime_s));
	prom_single(b, "hopsocks_config_generation", "gauge",
		    "1 at start, plus one per successful reload.", LL(v->generation));
	prom_single(b, "hopsocks_connections_open", "gauge", "Open client connections.",
		    v->connections);
	prom_single(b, "hopsocks_connections_max", "gauge",
		    "The max-connections setting; 0 is unlimited.", LL(v->max_connections));

	prom_family(b, "hopsocks_listener_accepted_total", "counter",
		    "Client connections accepted on each listen address.");
	for (size_t i = 0; i < v->nlisteners; i++)
		prom_sample(b, "hopsocks_listener_accepted_total", LL(v->listeners[i].accepted),
			    "listener", v->listeners[i].addr, (const char *)NULL);

	prom_sessions(b, s);
	prom_traffic(b, s);
	prom_hops(b, v);
	prom_users(b, s);

	prom_family(b, "hopsocks_stats_untracked_total", "counter",
		    "Keys not tracked because their table was full.");
	prom_sample(b, "hopsocks_stats_untracked_total", LL(stats_get(s, users_overflow)), "table",
		    "users", (const char *)NULL);
	prom_sample(b, "hopsocks_stats_untracked_total", LL(stats_get(s, listeners_overflow)),
		    "table", "listeners", (const char *)NULL);
	prom_sample(b, "hopsocks_stats_untracked_total", LL(stats_get(s, hops_overflow)), "table",
		    "hops", (const char *)NULL);
	return !b->failed;
}

/* ---- the Host a request may name ---- */

/* host without its port: "[::1]:9180" -> "::1", "127.0.0.1:9180" ->
 * "127.0.0.1", "localhost" -> "localhost". false when it cannot be one. */
static bool host_strip_port(const char *host, char *out, size_t cap)
{
	const char *end;

	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || (end[1] != '\0' && end[1] != ':'))
			return false;
		host++;
	} else {
		end = strchr(host, ':');
		if (end && strchr(end + 1, ':'))
			return false; /* an IPv6 literal must be in brackets */
		if (!end)
			end = host + strlen(host);
	}
	if ((size_t)(end - host) >= cap)
		return false;
	memcpy(out, host, (size_t)(end - host));
	out[end - host] = '\0';
	return true;
}

bool admin_host_allowed(const char *host, const struct sockaddr_storage *admin, bool public)
{
	char name[ADMIN_HOST_MAX + 1];
	struct sockaddr_storage ss;

	if (!host_strip_port(host, name, sizeof(name)))
		return false;
	if (strcasecmp(name, "localhost") == 0)
		return true;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, name, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, name, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return false; /* a name: what a rebinding page would send */
	return public || util_sa_is_loopback(&ss) || util_sa_same_ip(&ss, admin);
}
