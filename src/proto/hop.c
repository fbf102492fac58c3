/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Upstream hop URLs: parsing, validation with messages that say what is
 * wrong, and the password-free display form for logs. Pure: no I/O, no
 * name lookups; the one allocation is hop_list_parse()'s array. */
#include "proto/hop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The URL is quoted in messages up to this many bytes, then "...". */
#define HOP_QUOTE_MAX 96

static const struct {
	const char *name;
	uint8_t type;
} hop_schemes[] = {
	{ "socks4", HOP_SOCKS4 },   { "socks4a", HOP_SOCKS4A }, { "socks5", HOP_SOCKS5 },
	{ "socks5h", HOP_SOCKS5H }, { "http", HOP_HTTP },
};

#define HOP_NSCHEMES (sizeof(hop_schemes) / sizeof(hop_schemes[0]))

const char *hop_type_name(uint8_t type)
{
	for (size_t i = 0; i < HOP_NSCHEMES; i++) {
		if (hop_schemes[i].type == type)
			return hop_schemes[i].name;
	}
	return "?";
}

uint16_t hop_default_port(uint8_t type)
{
	switch (type) {
	case HOP_SOCKS4:
	case HOP_SOCKS4A:
	case HOP_SOCKS5:
	case HOP_SOCKS5H:
		return 1080;
	case HOP_HTTP:
		return 8080;
	default:
		return 0;
	}
}

bool hop_can_send_names(const struct hop *h)
{
	return h->type != HOP_SOCKS4;
}

bool hop_resolves_names(const struct hop *h)
{
	return h->type == HOP_SOCKS4A || h->type == HOP_SOCKS5H || h->type == HOP_HTTP;
}

/* ---- error messages ---- */

/* Where "://" starts in s[0, n), or NULL. */
static const char *hop_find_sep(const char *s, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++) {
		if (memcmp(s + i, "://", 3) == 0)
			return s + i;
	}
	return NULL;
}

/* What a message needs to name the hop: its text, and its position in a
 * list (0 for a single hop). */
struct hop_ctx {
	const char *url;
	size_t len;
	size_t index;
	char *err;
	size_t errlen;
};

/* Append c to q (cap bytes, NUL kept), escaping what would not read well
 * inside quotes on one line. Returns false once q is full. */
static bool hop_quote_char(char *q, size_t cap, size_t *qlen, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 0x0f] };
	bool plain = c >= 0x20 && c < 0x7f && c != '\\' && c != '\'';
	size_t n = plain ? 1 : sizeof(esc);

	if (*qlen + n >= cap)
		return false;
	if (plain)
		q[(*qlen)++] = (char)c;
	else
		for (size_t i = 0; i < n; i++)
			q[(*qlen)++] = esc[i];
	q[*qlen] = '\0';
	return true;
}

/* s as a message quotes it: at most HOP_QUOTE_MAX bytes, escaped. */
static void hop_quote(char *q, size_t cap, const char *s, size_t n)
{
	size_t qlen = 0;

	q[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (qlen >= HOP_QUOTE_MAX || !hop_quote_char(q, cap, &qlen, (unsigned char)s[i])) {
			/* cap leaves room for this: see the callers' buffers. */
			memcpy(q + qlen, "...", 4);
			return;
		}
	}
}

/* Append what fits of s to buf (HOP_QUOTE_MAX + 1 bytes): enough for
 * hop_quote() to tell whether it has to cut. */
static void hop_take(char *buf, size_t *blen, const char *s, size_t n)
{
	size_t room = HOP_QUOTE_MAX + 1 - *blen;

	if (n > room)
		n = room;
	memcpy(buf + *blen, s, n);
	*blen += n;
}

/* The URL quoted with its password (from the first ':' of the user info
 * to the last '@') replaced by "***". Hops have no path, so the last '@'
 * ends the user info even if the password holds an unencoded '/'. */
static void hop_quote_url(char *q, size_t cap, const char *s, size_t n)
{
	char buf[HOP_QUOTE_MAX + 1];
	const char *sep = hop_find_sep(s, n);
	size_t start = sep != NULL ? (size_t)(sep - s) + 3 : 0, at = n, blen = 0;

	for (size_t i = n; i > start; i--) {
		if (s[i - 1] == '@') {
			at = i - 1;
			break;
		}
	}
	if (at == n) {
		hop_quote(q, cap, s, n);
		return;
	}
	/* Keep the user name, up to the first ':'. Without a scheme there is
	 * no telling what the text before '@' is (the tail of a password cut
	 * at a raw comma, say): hide all of it. */
	const char *colon = sep != NULL ? memchr(s + start, ':', at - start) : NULL;
	if (sep != NULL && colon == NULL) {
		hop_quote(q, cap, s, n);
		return;
	}
	hop_take(buf, &blen, s, colon != NULL ? (size_t)(colon + 1 - s) : 0);
	hop_take(buf, &blen, "***", 3);
	hop_take(buf, &blen, s + at, n - at);
	hop_quote(q, cap, buf, blen);
}

static void hop_fail(const struct hop_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void hop_fail(const struct hop_ctx *c, const char *fmt, ...)
{
	char quote[HOP_QUOTE_MAX * 2];
	char msg[HOP_ERR_MAX];
	char pos[24] = "";
	va_list ap;

	if (c->err == NULL || c->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hop_quote_url(quote, sizeof(quote), c->url, c->len);
	if (c->index > 0)
		snprintf(pos, sizeof(pos), " %zu", c->index);
	snprintf(c->err, c->errlen, "hop%s '%s': %s", pos, quote, msg);
}

/* ---- pieces of the URL ---- */

static bool hop_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool hop_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hop_hex(unsigned char c)
{
	if (hop_is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hop_parse_scheme(const struct hop_ctx *c, const char *s, size_t n, uint8_t *type)
{
	char quoted[HOP_QUOTE_MAX * 2];

	for (size_t i = 0; i < HOP_NSCHEMES; i++) {
		if (strlen(hop_schemes[i].name) == n &&
		    strncasecmp(s, hop_schemes[i].name, n) == 0) {
			*type = hop_schemes[i].type;
			return 0;
		}
	}
	hop_quote(quoted, sizeof(quoted), s, n);
	hop_fail(c, "unknown scheme '%s' (expected socks4, socks4a, socks5, socks5h or http)",
		 quoted);
	return -EINVAL;
}

/* 1..65535 in decimal; the text is what followed the ':'. */
static int hop_parse_port(const struct hop_ctx *c, const char *s, size_t n, uint16_t *port)
{
	char quoted[HOP_QUOTE_MAX * 2];
	unsigned long v = 0;

	if (n == 0) {
		hop_fail(c, "empty port after ':'");
		return -EINVAL;
	}
	hop_quote(quoted, sizeof(quoted), s, n);
	for (size_t i = 0; i < n; i++) {
		if (!hop_is_digit((unsigned char)s[i])) {
			hop_fail(c, "port '%s' is not a number", quoted);
			return -EINVAL;
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535) {
		hop_fail(c, "port '%s' out of range (1-65535)", quoted);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

/* "[v6]" (the text between the brackets), a dotted quad or a host name of
 * letters, digits, '-', '_' and '.'. Names made only of digits and dots
 * must be valid dotted quads: "10.1" means different things to different
 * resolvers. */
static int hop_parse_host(const struct hop_ctx *c, const char *s, size_t n, bool bracketed,
			  struct target *t)
{
	char quoted[HOP_QUOTE_MAX * 2];
	char text[INET6_ADDRSTRLEN];

	hop_quote(quoted, sizeof(quoted), s, n);
	if (bracketed) {
		bool ok = n < sizeof(text);
		for (size_t i = 0; ok && i < n; i++)
			ok = hop_hex((unsigned char)s[i]) >= 0 || s[i] == ':' || s[i] == '.';
		if (ok) {
			memcpy(text, s, n);
			text[n] = '\0';
			ok = inet_pton(AF_INET6, text, t->addr.ipv6) == 1;
		}
		if (!ok) {
			hop_fail(c, "invalid IPv6 address '%s'%s", quoted,
				 memchr(s, '%', n) != NULL ? " (zone ids are not supported)" : "");
			return -EINVAL;
		}
		t->type = TARGET_IPV6;
		return 0;
	}
	if (n == 0) {
		hop_fail(c, "empty host");
		return -EINVAL;
	}
	if (n > TARGET_DOMAIN_MAX) {
		hop_fail(c, "host name longer than %d bytes", TARGET_DOMAIN_MAX);
		return -EINVAL;
	}
	bool numeric = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!hop_is_alnum(ch) && ch != '-' && ch != '_' && ch != '.') {
			char one[8];
			hop_quote(one, sizeof(one), s + i, 1);
			hop_fail(c, "invalid character '%s' in host name '%s'", one, quoted);
			return -EINVAL;
		}
		if (!hop_is_digit(ch) && ch != '.')
			numeric = false;
	}
	if (numeric) {
		bool ok = n < sizeof(text);
		if (ok) {
			memcpy(text, s, n);
			text[n] = '\0';
			ok = inet_pton(AF_INET, text, t->addr.ipv4) == 1;
		}
		if (!ok) {
			hop_fail(c, "invalid IPv4 address '%s'", quoted);
			return -EINVAL;
		}
		t->type = TARGET_IPV4;
		return 0;
	}
	t->type = TARGET_DOMAIN;
	t->domain_len = (uint8_t)n;
	memcpy(t->addr.domain, s, n);
	t->addr.domain[n] = '\0';
	return 0;
}

/* host, host:port, [v6] or [v6]:port. */
static int hop_parse_hostport(const struct hop_ctx *c, const char *s, size_t n, uint8_t type,
			      struct target *t)
{
	const char *host = s;
	size_t hlen = n;
	const char *port = NULL;
	size_t plen = 0;
	bool bracketed = n > 0 && s[0] == '[';

	memset(t, 0, sizeof(*t));
	if (bracketed) {
		const char *close = memchr(s, ']', n);
		if (close == NULL) {
			hop_fail(c, "missing ']' after IPv6 address");
			return -EINVAL;
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		const char *after = close + 1;
		size_t alen = n - (size_t)(after - s);
		if (alen > 0 && after[0] != ':') {
			char quoted[HOP_QUOTE_MAX * 2];
			hop_quote(quoted, sizeof(quoted), after, alen);
			hop_fail(c, "unexpected '%s' after ']'", quoted);
			return -EINVAL;
		}
		if (alen > 0) {
			port = after + 1;
			plen = alen - 1;
		}
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)) != NULL) {
			hop_fail(c, "IPv6 addresses must be in brackets ('[addr]:port')");
			return -EINVAL;
		}
		if (colon != NULL) {
			hlen = (size_t)(colon - s);
			port = colon + 1;
			plen = n - hlen - 1;
		}
	}
	if (!bracketed && hlen == 0) {
		hop_fail(c, "empty host");
		return -EINVAL;
	}
	if (hop_parse_host(c, host, hlen, bracketed, t) < 0)
		return -EINVAL;
	t->port = hop_default_port(type);
	if (port != NULL && hop_parse_port(c, port, plen, &t->port) < 0)
		return -EINVAL;
	return 0;
}

/* Percent-decode one field of the user info into out (max bytes + NUL).
 * what is "user name" or "password", for the messages. */
static int hop_decode_userinfo(const struct hop_ctx *c, const char *s, size_t n, char *out,
			       size_t max, const char *what)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '%') {
			int hi = i + 2 < n ? hop_hex((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? hop_hex((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				hop_fail(c,
					 "bad percent-escape in the %s ('%%' must be followed by "
					 "two hex digits)",
					 what);
				return -EINVAL;
			}
			ch = (unsigned char)(hi << 4 | lo);
			if (ch == '\0') {
				hop_fail(c, "NUL byte (%%00) in the %s", what);
				return -EINVAL;
			}
			i += 2;
		} else if (ch == '@' || ch == '/' || ch == '?' || ch == '#') {
			hop_fail(c, "'%c' in the %s must be percent-encoded (%%%02X)", ch, what,
				 ch);
			return -EINVAL;
		} else if (ch <= 0x20 || ch >= 0x7f) {
			hop_fail(c, "byte 0x%02x in the %s must be percent-encoded (%%%02X)", ch,
				 what, ch);
			return -EINVAL;
		}
		if (o == max) {
			hop_fail(c, "%s longer than %zu bytes", what, max);
			return -EINVAL;
		}
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* user[:pass], both percent-decoded, and what each hop type allows. */
static int hop_parse_userinfo(const struct hop_ctx *c, const char *s, size_t n, struct hop *h)
{
	const char *colon = memchr(s, ':', n);
	size_t ulen = colon != NULL ? (size_t)(colon - s) : n;

	if (hop_decode_userinfo(c, s, ulen, h->user, HOP_USER_MAX, "user name") < 0)
		return -EINVAL;
	if (colon != NULL &&
	    hop_decode_userinfo(c, colon + 1, n - ulen - 1, h->pass, HOP_PASS_MAX, "password") < 0)
		return -EINVAL;
	h->has_user = true;
	h->has_pass = colon != NULL;
	if (h->user[0] == '\0') {
		hop_fail(c, "empty user name");
		return -EINVAL;
	}
	if ((h->type == HOP_SOCKS4 || h->type == HOP_SOCKS4A) && h->has_pass) {
		hop_fail(c, "%s hops take a user ID but no password", hop_type_name(h->type));
		return -EINVAL;
	}
	if (h->type == HOP_HTTP) {
		/* RFC 7617: the user-id ends at the first ':', and neither part
		 * may hold control characters. */
		if (strchr(h->user, ':') != NULL) {
			hop_fail(c, "':' in an http user name (Basic auth cannot carry it)");
			return -EINVAL;
		}
		for (const char *p = h->user; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				hop_fail(c, "control character in an http user name");
				return -EINVAL;
			}
		}
		for (const char *p = h->pass; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				hop_fail(c, "control character in an http password");
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* scheme://user@host:port, the user percent-encoded except for RFC 3986
 * unreserved characters, so the form is printable and parses back. */
static void hop_make_display(struct hop *h)
{
	static const char hex[] = "0123456789ABCDEF";
	char host[TARGET_TEXT_MAX];
	char *d = h->display;
	char *end = h->display + sizeof(h->display);

	d += snprintf(d, (size_t)(end - d), "%s://", hop_type_name(h->type));
	if (h->has_user) {
		for (const char *p = h->user; *p != '\0'; p++) {
			unsigned char ch = (unsigned char)*p;
			if (hop_is_alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
				*d++ = (char)ch;
			} else {
				*d++ = '%';
				*d++ = hex[ch >> 4];
				*d++ = hex[ch & 0x0f];
			}
		}
		*d++ = '@';
	}
	target_format(&h->addr, host, sizeof(host));
	snprintf(d, (size_t)(end - d), "%s", host);
}

/*
 * scheme "://" [ userinfo "@" ] host [ ":" port ] [ "/" ]
 *
 * The user info ends at the last '@': a host cannot contain one, so a
 * mistyped password ("p@ss") is reported as needing %40 instead of being
 * split in the wrong place.
 */
static int hop_parse_ctx(const struct hop_ctx *c, struct hop *out)
{
	const char *s = c->url;
	size_t n = c->len;
	const char *sep;

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		hop_fail(c, "empty URL");
		return -EINVAL;
	}
	if (n > HOP_URL_MAX) {
		hop_fail(c, "URL longer than %d bytes", HOP_URL_MAX);
		return -EINVAL;
	}
	sep = hop_find_sep(s, n);
	if (sep == NULL) {
		/* In a list, a hop without a scheme after the first is most
		 * likely the tail of a password with a raw comma. */
		hop_fail(c,
			 "missing scheme (expected socks4://, socks4a://, socks5://, socks5h:// or "
			 "http://%s)",
			 c->index > 1 ? "; a ',' inside user info must be written %2C" : "");
		return -EINVAL;
	}
	if (hop_parse_scheme(c, s, (size_t)(sep - s), &out->type) < 0)
		return -EINVAL;

	const char *auth = sep + 3;
	const char *end = s + n;
	const char *at = NULL;
	for (const char *p = end; p > auth; p--) {
		if (p[-1] == '@') {
			at = p - 1;
			break;
		}
	}
	const char *hostport = at != NULL ? at + 1 : auth;
	const char *rest = hostport;
	while (rest < end && *rest != '/' && *rest != '?' && *rest != '#')
		rest++;
	if (rest < end && !(rest + 1 == end && *rest == '/')) {
		char quoted[HOP_QUOTE_MAX * 2];
		hop_quote(quoted, sizeof(quoted), rest, (size_t)(end - rest));
		hop_fail(c,
			 "unexpected path, query or fragment '%s' (a hop is "
			 "scheme://[user[:password]@]host[:port])",
			 quoted);
		return -EINVAL;
	}
	if (hop_parse_hostport(c, hostport, (size_t)(rest - hostport), out->type, &out->addr) < 0)
		return -EINVAL;
	if (at != NULL && hop_parse_userinfo(c, auth, (size_t)(at - auth), out) < 0) {
		explicit_bzero(out, sizeof(*out));
		return -EINVAL;
	}
	hop_make_display(out);
	return 0;
}

int hop_parse(const char *url, struct hop *out, char *err, size_t errlen)
{
	struct hop_ctx c = { url, strlen(url), 0, err, errlen };

	return hop_parse_ctx(&c, out);
}

static bool hop_is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* The hop of a list that starts at p, without the spaces around it, into
 * c->url and c->len. Returns where the next one starts. */
static const char *hop_list_entry(const char *p, struct hop_ctx *c)
{
	const char *comma = strchr(p, ',');
	const char *e = comma != NULL ? comma : p + strlen(p);
	const char *b = p;

	while (b < e && hop_is_space(*b))
		b++;
	while (e > b && hop_is_space(e[-1]))
		e--;
	c->url = b;
	c->len = (size_t)(e - b);
	return comma != NULL ? comma + 1 : e;
}

int hop_list_parse(const char *csv, struct hop **hops, size_t *n, char *err, size_t errlen)
{
	struct hop_ctx c = { NULL, 0, 0, err, errlen };
	size_t count = 1;
	const char *p = csv;

	*hops = NULL;
	*n = 0;
	while (hop_is_space(*p))
		p++;
	if (*p == '\0') {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "empty hop list");
		return -EINVAL;
	}
	for (const char *q = csv; *q != '\0'; q++)
		count += *q == ',';
	if (count > HOP_LIST_MAX) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%zu hops in the list; at most %d are allowed", count,
				 HOP_LIST_MAX);
		return -EINVAL;
	}

	/* Every hop needs a scheme; checked for all of them first, so that a
	 * password split by a raw comma is reported where the split shows
	 * (its second half) rather than as a strange port in the first. */
	p = csv;
	for (c.index = 1; c.index <= count; c.index++) {
		p = hop_list_entry(p, &c);
		if (c.len == 0 || hop_find_sep(c.url, c.len) == NULL) {
			struct hop scratch;
			hop_parse_ctx(&c, &scratch);
			return -EINVAL;
		}
	}

	struct hop *list = calloc(count, sizeof(*list));
	if (list == NULL)
		return -ENOMEM;
	p = csv;
	for (c.index = 1; c.index <= count; c.index++) {
		p = hop_list_entry(p, &c);
		if (hop_parse_ctx(&c, &list[c.index - 1]) < 0) {
			hop_list_free(list, count);
			return -EINVAL;
		}
	}
	*hops = list;
	*n = count;
	return 0;
}

void hop_list_free(struct hop *hops, size_t n)
{
	if (hops == NULL)
		return;
	explicit_bzero(hops, n * sizeof(*hops));
	free(hops);
}
