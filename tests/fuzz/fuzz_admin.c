/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: the admin listener's request parser
 * (admin_parse_request) and its Host check (admin_host_allowed), both in
 * src/admin/admin_format.c.
 *
 * The first input byte picks the check (modulo their number). Checked
 * beyond "no crash":
 *  - the parser keeps the stream contract (fuzz_check_stream): a request
 *    cut anywhere is "need more" until its header section is whole, and
 *    bytes behind that section change nothing; an open header section at
 *    ADMIN_REQUEST_MAX bytes is 431;
 *  - what it returns matches the request line (method, path without the
 *    query, version) and the Host field;
 *  - a Host is served only if it is "localhost" or an IP address literal,
 *    and without "public" only a loopback address or the listener's own;
 *    a port after it changes nothing. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <strings.h>

#include "admin/admin_format.h"

enum which {
	W_REQUEST,
	W_HOST,
	W_COUNT,
};

/* The statuses map onto small codes so fuzz_check_stream's range check
 * holds; out is handed back only on success (the parser clears it first). */
static ssize_t parse_request(const uint8_t *buf, size_t len, void *out)
{
	struct admin_request tmp;
	ssize_t n = admin_parse_request((const char *)buf, len, &tmp);

	switch (n) {
	case -400:
		return -1;
	case -431:
		return -2;
	case -505:
		return -3;
	default:
		FUZZ_CHECK(n >= 0);
		if (n > 0)
			memcpy(out, &tmp, sizeof(tmp));
		return n;
	}
}

static void check_request(const uint8_t *msg, size_t len)
{
	struct admin_request req;
	struct sockaddr_storage admin;
	const uint8_t *sp1, *sp2, *q;
	ssize_t n;

	n = fuzz_check_stream(parse_request, msg, len, &req, sizeof(req));

	/* The size bound: filler without a line feed up to the limit. */
	if (len < ADMIN_REQUEST_MAX - 1) {
		uint8_t *big = malloc(ADMIN_REQUEST_MAX);
		ssize_t r;

		if (big == NULL)
			abort();
		memcpy(big, msg, len);
		memset(big + len, 'a', ADMIN_REQUEST_MAX - len);
		r = parse_request(big, ADMIN_REQUEST_MAX, &req);
		FUZZ_CHECK(r == (n == 0 ? -2 : n));
		r = parse_request(big, ADMIN_REQUEST_MAX - 1, &req);
		FUZZ_CHECK(r == n);
		free(big); /* req was written again, from the same header */
	}
	if (n <= 0)
		return;

	FUZZ_CHECK(msg[n - 1] == '\n' && memchr(msg, '\0', (size_t)n) == NULL);
	/* METHOD SP TARGET SP HTTP/1.x */
	sp1 = memchr(msg, ' ', (size_t)n);
	FUZZ_CHECK(sp1 != NULL);
	sp2 = memchr(sp1 + 1, ' ', (size_t)(msg + n - sp1 - 1));
	FUZZ_CHECK(sp2 != NULL);
	if (sp1 - msg == 3 && memcmp(msg, "GET", 3) == 0)
		FUZZ_CHECK(req.method == ADMIN_GET);
	else if (sp1 - msg == 4 && memcmp(msg, "HEAD", 4) == 0)
		FUZZ_CHECK(req.method == ADMIN_HEAD);
	else
		FUZZ_CHECK(req.method == ADMIN_OTHER);
	FUZZ_CHECK(memcmp(sp2 + 1, "HTTP/1.", 7) == 0 && req.version_minor == sp2[8] - '0');
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	if (q == NULL)
		q = sp2;
	FUZZ_CHECK(strlen(req.path) == (size_t)(q - sp1 - 1));
	FUZZ_CHECK(memcmp(req.path, sp1 + 1, strlen(req.path)) == 0);
	FUZZ_CHECK(req.path[0] == '/' && strlen(req.path) <= ADMIN_PATH_MAX);
	for (const char *p = req.path; *p != '\0'; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f);
	if (req.has_host) {
		size_t h = strlen(req.host);
		FUZZ_CHECK(h <= ADMIN_HOST_MAX);
		FUZZ_CHECK(h == 0 || (req.host[0] != ' ' && req.host[0] != '\t' &&
				      req.host[h - 1] != ' ' && req.host[h - 1] != '\t'));
		FUZZ_CHECK(memmem(msg, (size_t)n, req.host, h) != NULL);
		/* What the server then does with it. */
		memset(&admin, 0, sizeof(admin));
		admin.ss_family = AF_INET;
		((struct sockaddr_in *)&admin)->sin_addr.s_addr = htonl(0x7f000001);
		(void)admin_host_allowed(req.host, &admin, false);
	} else {
		FUZZ_CHECK(req.host[0] == '\0');
	}
}

/* The host part of a Host value as admin_format.h describes it: "[v6]",
 * "[v6]:port", "name" or "name:port". false if it is none of these. */
static bool host_part(const char *host, char *out, size_t cap)
{
	const char *end;
	size_t n;

	if (host[0] == '[') {
		end = strchr(host, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return false;
		host++;
	} else {
		end = strchr(host, ':');
		if (end != NULL && strchr(end + 1, ':') != NULL)
			return false;
		if (end == NULL)
			end = host + strlen(host);
	}
	n = (size_t)(end - host);
	if (n >= cap)
		return false;
	memcpy(out, host, n);
	out[n] = '\0';
	return true;
}

/* [flags][admin address: 4 or 16 bytes] host... */
static void check_host(const uint8_t *msg, size_t len)
{
	struct sockaddr_storage admin, lit;
	char host[ADMIN_HOST_MAX + 1], name[ADMIN_HOST_MAX + 1];
	size_t alen, n = 0;
	bool pub, allowed, any;

	if (len < 1)
		return;
	alen = msg[0] & 1 ? 16 : 4;
	if (len < 1 + alen)
		return;
	memset(&admin, 0, sizeof(admin));
	if (alen == 4) {
		admin.ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)&admin)->sin_addr, msg + 1, 4);
	} else {
		admin.ss_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)&admin)->sin6_addr, msg + 1, 16);
	}
	pub = msg[0] & 2;
	for (const uint8_t *p = msg + 1 + alen; p < msg + len && *p != '\0' && n < ADMIN_HOST_MAX;
	     p++)
		host[n++] = (char)*p;
	host[n] = '\0';

	allowed = admin_host_allowed(host, &admin, pub);
	any = admin_host_allowed(host, &admin, true);
	/* "public" only ever adds hosts. */
	FUZZ_CHECK(!allowed || any);
	if (!any)
		return;

	/* Served: localhost or an address literal, never another name. */
	FUZZ_CHECK(host_part(host, name, sizeof(name)));
	memset(&lit, 0, sizeof(lit));
	if (strcasecmp(name, "localhost") == 0)
		FUZZ_CHECK(allowed);
	else if (inet_pton(AF_INET, name, &((struct sockaddr_in *)&lit)->sin_addr) == 1)
		lit.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, name, &((struct sockaddr_in6 *)&lit)->sin6_addr) == 1)
		lit.ss_family = AF_INET6;
	else
		FUZZ_CHECK(0);

	/* A port makes no difference to a bare host or a bracketed one. */
	if (strchr(host, ':') == NULL || (host[0] == '[' && host[strlen(host) - 1] == ']')) {
		char ported[ADMIN_HOST_MAX + 16];

		snprintf(ported, sizeof(ported), "%s:8080", host);
		FUZZ_CHECK(admin_host_allowed(ported, &admin, pub) == allowed);
		FUZZ_CHECK(admin_host_allowed(ported, &admin, true));
	}
	/* A literal of the listener's own address is always served. */
	if (lit.ss_family == admin.ss_family && lit.ss_family != 0) {
		bool same = lit.ss_family == AF_INET
				    ? memcmp(&((struct sockaddr_in *)&lit)->sin_addr,
					     &((struct sockaddr_in *)&admin)->sin_addr, 4) == 0
				    : memcmp(&((struct sockaddr_in6 *)&lit)->sin6_addr,
					     &((struct sockaddr_in6 *)&admin)->sin6_addr, 16) == 0;
		if (same)
			FUZZ_CHECK(allowed);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fuzz_check_fn *const checks[W_COUNT] = {
		[W_REQUEST] = check_request,
		[W_HOST] = check_host,
	};
	return fuzz_dispatch(checks, W_COUNT, data, size);
}
