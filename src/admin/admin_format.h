/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The admin listener's pure parts (admin_format.c): a growable text
 * buffer, escaping, the request parser, the view of the server a page is
 * rendered from, and the Prometheus text format. No I/O, so unit tests
 * render known numbers exactly. */
#ifndef HOPSOCKS_ADMIN_FORMAT_H
#define HOPSOCKS_ADMIN_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "base/stats.h"

#define ADMIN_REQUEST_MAX 8192 /* request line and header fields */

/* A growable text buffer. A failed allocation sets failed and drops the
 * rest of the output; callers check once at the end. */
struct admin_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

void admin_buf_free(struct admin_buf *b);
void admin_buf_add(struct admin_buf *b, const char *s, size_t n);
void admin_buf_puts(struct admin_buf *b, const char *s);
void admin_buf_printf(struct admin_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A Prometheus label value: backslash, double quote and line feed become
 * \\, \" and \n; everything else is copied. */
void admin_escape_label(struct admin_buf *b, const char *s);
/* HTML text and attribute values: & < > " ' become entities; control
 * characters other than tab become U+FFFD so nothing odd reaches the page. */
void admin_escape_html(struct admin_buf *b, const char *s);

enum admin_method {
	ADMIN_GET = 0,
	ADMIN_HEAD,
	ADMIN_OTHER, /* answered 405 */
};

#define ADMIN_PATH_MAX 255

#define ADMIN_HOST_MAX 255

struct admin_request {
	enum admin_method method;
	char path[ADMIN_PATH_MAX + 1]; /* without the query string */
	uint8_t version_minor;	       /* HTTP/1.x */
	bool has_host;
	char host[ADMIN_HOST_MAX + 1]; /* the Host field, spaces around it removed */
};

/* Parse a request header: bytes consumed (through the blank line) when it
 * is complete, 0 when more input is needed, or a negative HTTP status:
 * -400 (malformed request line, NUL, a path that is not origin-form or too
 * long, a Host field twice or over ADMIN_HOST_MAX bytes), -431 (no blank
 * line within ADMIN_REQUEST_MAX bytes), -505 (not HTTP/1.x). Bare LF line
 * endings are accepted. Of the header fields only Host is kept. */
ssize_t admin_parse_request(const char *buf, size_t len, struct admin_request *out);

/* May a request naming host in its Host field be served? A page on some
 * web site can make a browser on this machine send requests here (DNS
 * rebinding) but cannot make it send a Host other than its own site's
 * name, so only these are served: "localhost", a loopback address, the
 * admin listener's own address (admin), and, when public, any IP address
 * literal; each with or without a port. */
bool admin_host_allowed(const char *host, const struct sockaddr_storage *admin, bool public);

/* What the server shows, gathered from the stats and the snapshot. */
struct admin_listener_view {
	const char *addr;
	uint64_t accepted;
};

struct admin_hop_view {
	const char *chain;
	unsigned position; /* 1-based, as in the config file */
	const char *url;   /* the hop's display form: never the password */
	bool up;
	uint64_t down_for_ms; /* when !up: until it is tried again */
	uint64_t attempts, failures;
};

struct session_info;

struct admin_view {
	const struct stats *stats;
	const char *version;
	uint64_t uptime_s;
	int64_t start_unix;  /* the admin thread's start, seconds since the epoch */
	unsigned generation; /* configuration generation: 1 + successful reloads */
	bool auth;	     /* a user file is in use */
	long connections;    /* open client connections */
	unsigned max_connections;
	const char *admin_addr;
	const struct admin_listener_view *listeners;
	size_t nlisteners;
	const struct admin_hop_view *hops;
	size_t nhops;
	/* Live sessions, the most bytes first (session/session_list.h): the
	 * page lists nsessions of sessions_all; started_ms is on the same
	 * monotonic clock as now_ms. */
	const struct session_info *sessions;
	size_t nsessions, sessions_all;
	uint64_t now_ms;
};

/* The /metrics body (Prometheus text exposition format 0.0.4); false when
 * out of memory. */
bool admin_format_metrics(const struct admin_view *v, struct admin_buf *out);

#endif
