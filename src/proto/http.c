/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* HTTP CONNECT: pure parsers and encoders for the front-end and for
 * upstream HTTP proxy hops, Basic credentials and base64. No I/O, no
 * logging, no allocation; see http.h for the return conventions.
 *
 * The parsers are stateless like the SOCKS ones: each call looks at the
 * whole buffer again. What bounds the work is HTTP_HEADER_MAX: no call ever
 * reads more than that many bytes, however much the caller holds; and until
 * the blank line has arrived, a call only checks the start line and runs
 * memchr() over the rest. */
#include "proto/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One line of the header section, without its LF or CRLF. */
struct http_line {
	const uint8_t *p;
	size_t n;
};

/* Bytes a parser may look at: the header section can be no longer. */
static size_t http_scan_limit(size_t len)
{
	return len < HTTP_HEADER_MAX ? len : HTTP_HEADER_MAX;
}

int http_err_status(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case HTTP_ETOOLARGE:
		return 431;
	case HTTP_EMETHOD:
		return 501;
	case HTTP_EVERSION:
		return 505;
	default: /* HTTP_EMALFORMED, HTTP_ETARGET, anything unexpected */
		return 400;
	}
}

const char *http_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "no error";
	case HTTP_EMALFORMED:
		return "malformed HTTP header";
	case HTTP_ETARGET:
		return "bad CONNECT target (expected host:port)";
	case HTTP_ETOOLARGE:
		return "HTTP header section too large";
	case HTTP_EMETHOD:
		return "method not supported (only CONNECT)";
	case HTTP_EVERSION:
		return "HTTP version not supported";
	default:
		return "unknown HTTP error";
	}
}

/* ---- character classes (RFC 9110 section 5.6, RFC 3986 section 3.2.2) ---- */

static bool http_is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool http_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Method and field names. */
static bool http_is_tchar(uint8_t c)
{
	return http_is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Field values and reason phrases: VCHAR, SP, HTAB, obs-text. Everything
 * else (NUL, CR, LF, the other controls, DEL) is refused. */
static bool http_is_text(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool http_is_ctl(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

/* A host name: RFC 3986 reg-name without percent-encoding (unreserved and
 * sub-delims). No space, control, ':', '@', '/', '%' or non-ASCII byte, so
 * a name from here is safe to put on a request line and into a log. */
static bool http_is_host_char(uint8_t c)
{
	return http_is_alnum(c) || (c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL);
}

static bool http_is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Case-insensitive comparison with a lowercase literal of the same length. */
static bool http_ieq(const uint8_t *p, size_t n, const char *lower)
{
	if (n != strlen(lower))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)lower[i])
			return false;
	}
	return true;
}

/* ---- host and port ---- */

/* 1..5 decimal digits, 1..65535. */
static int http_parse_port(const uint8_t *p, size_t n, uint16_t *port)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!http_is_digit(p[i]))
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "[v6]", a dotted quad, or a name (1..255 host characters). A name made
 * only of digits and dots that is not a valid dotted quad ("1.2.3.256",
 * "010.1") is refused: resolvers disagree on what such names mean. */
static int http_parse_host(const uint8_t *p, size_t n, uint16_t port, struct target *t)
{
	char text[INET6_ADDRSTRLEN];

	if (n == 0)
		return -1;
	if (p[0] == '[') {
		if (n < 3 || p[n - 1] != ']' || n - 2 >= sizeof(text))
			return -1;
		/* Checked first: inet_pton would stop at an embedded NUL. No
		 * zone ids ("%eth0"): they mean nothing to another host. */
		for (size_t i = 1; i < n - 1; i++) {
			uint8_t c = p[i];
			if (!http_is_digit(c) && !(c >= 'a' && c <= 'f') &&
			    !(c >= 'A' && c <= 'F') && c != ':' && c != '.')
				return -1;
		}
		memcpy(text, p + 1, n - 2);
		text[n - 2] = '\0';
		memset(t, 0, sizeof(*t));
		if (inet_pton(AF_INET6, text, t->addr.ipv6) != 1)
			return -1;
		t->type = TARGET_IPV6;
		t->port = port;
		return 0;
	}
	if (n > TARGET_DOMAIN_MAX)
		return -1;
	bool numeric = true;
	for (size_t i = 0; i < n; i++) {
		if (!http_is_host_char(p[i]))
			return -1;
		if (!http_is_digit(p[i]) && p[i] != '.')
			numeric = false;
	}
	if (numeric) {
		if (n >= sizeof(text))
			return -1;
		memcpy(text, p, n);
		text[n] = '\0';
		memset(t, 0, sizeof(*t));
		if (inet_pton(AF_INET, text, t->addr.ipv4) != 1)
			return -1;
		t->type = TARGET_IPV4;
		t->port = port;
		return 0;
	}
	return target_set_domain(t, (const char *)p, n, port) == 0 ? 0 : -1;
}

/* authority-form: host ":" port, the port required. The port is behind the
 * last colon; a host with a colon of its own must be a bracketed IPv6. */
static int http_parse_authority(const uint8_t *p, size_t n, struct target *t)
{
	size_t colon = n;
	uint16_t port;

	while (colon > 0 && p[colon - 1] != ':')
		colon--;
	if (colon == 0)
		return -1;
	colon--;
	if (http_parse_port(p + colon + 1, n - colon - 1, &port) < 0)
		return -1;
	return http_parse_host(p, colon, port, t);
}

/* ---- lines and fields ---- */

/* The next line of buf[*pos, lim). Returns 1 and moves *pos past its LF, or
 * 0 if no LF has arrived yet. A CR right before the LF is part of the line
 * ending; a CR anywhere else stays in the line, where the line's own checks
 * refuse it as a control character. */
static int http_next_line(const uint8_t *buf, size_t lim, size_t *pos, struct http_line *line)
{
	const uint8_t *start = buf + *pos;
	const uint8_t *lf = memchr(start, '\n', lim - *pos);

	if (lf == NULL)
		return 0;
	line->p = start;
	line->n = (size_t)(lf - start);
	if (line->n > 0 && start[line->n - 1] == '\r')
		line->n--;
	*pos = (size_t)(lf - buf) + 1;
	return 1;
}

/* No complete header section yet; what follows pos is not checked until
 * it is. A NUL is refused at once (it can never become valid); otherwise
 * wait, unless the header section already cannot fit. */
static ssize_t http_incomplete(const uint8_t *buf, size_t len, size_t pos)
{
	size_t lim = http_scan_limit(len);

	if (memchr(buf + pos, '\0', lim - pos) != NULL)
		return -HTTP_EMALFORMED;
	return len >= HTTP_HEADER_MAX ? -HTTP_ETOOLARGE : 0;
}

/*
 * field-line = field-name ":" OWS field-value OWS
 *
 * The name is a token, so whitespace before the colon and a line that
 * starts with whitespace (obsolete line folding, which RFC 9112 says to
 * reject or unfold; we reject) are both refused by the token check.
 */
static int http_split_field(const struct http_line *line, struct http_line *name,
			    struct http_line *value)
{
	const uint8_t *colon = memchr(line->p, ':', line->n);

	if (colon == NULL || colon == line->p)
		return -HTTP_EMALFORMED;
	name->p = line->p;
	name->n = (size_t)(colon - line->p);
	for (size_t i = 0; i < name->n; i++) {
		if (!http_is_tchar(name->p[i]))
			return -HTTP_EMALFORMED;
	}
	const uint8_t *v = colon + 1;
	const uint8_t *end = line->p + line->n;
	while (v < end && http_is_ows(*v))
		v++;
	while (end > v && http_is_ows(end[-1]))
		end--;
	for (const uint8_t *q = v; q < end; q++) {
		if (!http_is_text(*q))
			return -HTTP_EMALFORMED;
	}
	value->p = v;
	value->n = (size_t)(end - v);
	return 0;
}

/* Just past the first empty line (LF LF or LF CR LF) in buf[0, lim), or 0
 * if it has not arrived. A client sending its header a byte at a time
 * makes us look at the buffer once per byte, so this look is kept cheap
 * (memchr from LF to LF: microseconds for 16 KiB of typical lines); the fields
 * themselves are checked once, when all of them are there. */
static size_t http_find_end(const uint8_t *buf, size_t lim)
{
	const uint8_t *p = buf;
	const uint8_t *end = buf + lim;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size_t left = (size_t)(end - ++p);
		if (left >= 1 && p[0] == '\n')
			return (size_t)(p + 1 - buf);
		if (left >= 2 && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - buf);
	}
	return 0;
}

/* Check the fields from pos (just behind the start line) to the blank line.
 * want, when not NULL, is the lowercase name of the one field the caller
 * needs: *found gets the first one's value, *count how many there were.
 * Returns the header length through the blank line, 0 or -HTTP_E*. */
static ssize_t http_scan_fields(const uint8_t *buf, size_t len, size_t pos, const char *want,
				struct http_line *found, unsigned *count)
{
	struct http_line line, name, value;
	/* pos - 1 is the start line's LF, which may begin the blank line. */
	size_t end = http_find_end(buf + pos - 1, http_scan_limit(len) - (pos - 1));

	if (end == 0)
		return http_incomplete(buf, len, pos);
	end += pos - 1;
	for (;;) {
		http_next_line(buf, end, &pos, &line);
		if (line.n == 0)
			return (ssize_t)pos;
		int rc = http_split_field(&line, &name, &value);
		if (rc < 0)
			return rc;
		if (want != NULL && http_ieq(name.p, name.n, want)) {
			if (*count == 0)
				*found = value;
			/* Saturate: the caller only tells 0, 1 and "more". */
			if (*count < 2)
				(*count)++;
		}
	}
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT (case-sensitive). Any 1.x is
 * ours (RFC 9110 section 2.5: treat a higher minor version as the highest
 * we know); another major version is -HTTP_EVERSION. */
static int http_parse_version(const uint8_t *p, size_t n, uint8_t *minor)
{
	if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || !http_is_digit(p[5]) || p[6] != '.' ||
	    !http_is_digit(p[7]))
		return -HTTP_EMALFORMED;
	if (p[5] != '1')
		return -HTTP_EVERSION;
	*minor = (uint8_t)(p[7] - '0');
	return 0;
}

/* ---- front-end: CONNECT request ---- */

/*
 * request-line = method SP request-target SP HTTP-version
 *
 *   CONNECT example.com:443 HTTP/1.1
 *   CONNECT 192.0.2.1:80 HTTP/1.0
 *   CONNECT [2001:db8::1]:443 HTTP/1.1
 *
 * Exactly one SP between the parts. The checks run in the order of the
 * statuses they lead to: syntax (400), version (505), method (501), then
 * the target (400), so a "GET http://x/ HTTP/1.1" gets its 501 and never a
 * complaint about its absolute-form target.
 */
static int http_parse_request_line(const struct http_line *line, struct http_request *out)
{
	const uint8_t *p = line->p;
	const uint8_t *end = p + line->n;
	const uint8_t *sp1 = memchr(p, ' ', line->n);

	if (sp1 == NULL || sp1 == p)
		return -HTTP_EMALFORMED;
	for (const uint8_t *q = p; q < sp1; q++) {
		if (!http_is_tchar(*q))
			return -HTTP_EMALFORMED;
	}
	size_t mlen = (size_t)(sp1 - p);
	memcpy(out->method, p, mlen < HTTP_METHOD_MAX ? mlen : HTTP_METHOD_MAX);
	out->method[mlen < HTTP_METHOD_MAX ? mlen : HTTP_METHOD_MAX] = '\0';

	const uint8_t *target = sp1 + 1;
	const uint8_t *sp2 = memchr(target, ' ', (size_t)(end - target));
	if (sp2 == NULL || sp2 == target)
		return -HTTP_EMALFORMED;
	for (const uint8_t *q = target; q < sp2; q++) {
		if (http_is_ctl(*q) || *q >= 0x80)
			return -HTTP_EMALFORMED;
	}
	int rc = http_parse_version(sp2 + 1, (size_t)(end - sp2 - 1), &out->version_minor);
	if (rc < 0)
		return rc;
	if (mlen != 7 || memcmp(p, "CONNECT", 7) != 0)
		return -HTTP_EMETHOD;
	if (http_parse_authority(target, (size_t)(sp2 - target), &out->dst) < 0)
		return -HTTP_ETARGET;
	return 0;
}

/* user-id ":" password, split at the first ':'; neither part may hold a
 * control character (RFC 7617), the user-id may not be empty. */
static uint8_t http_split_credentials(const uint8_t *plain, size_t n, struct http_request *out)
{
	const uint8_t *colon = memchr(plain, ':', n);

	if (colon == NULL)
		return HTTP_AUTH_MALFORMED;
	size_t ulen = (size_t)(colon - plain);
	size_t plen = n - ulen - 1;
	if (ulen == 0 || ulen > HTTP_USER_MAX || plen > HTTP_PASS_MAX)
		return HTTP_AUTH_MALFORMED;
	for (size_t k = 0; k < n; k++) {
		if (http_is_ctl(plain[k]))
			return HTTP_AUTH_MALFORMED;
	}
	memcpy(out->user, plain, ulen);
	out->user[ulen] = '\0';
	memcpy(out->pass, colon + 1, plen);
	out->pass[plen] = '\0';
	return HTTP_AUTH_BASIC;
}

/*
 * Proxy-Authorization: Basic dXNlcjpwYXNz       (RFC 7617)
 *
 * credentials = auth-scheme [ 1*SP token68 ], the scheme case-insensitive,
 * token68 the base64 of "user-id:password".
 */
static uint8_t http_parse_basic(const struct http_line *v, struct http_request *out)
{
	uint8_t plain[HTTP_USER_MAX + 1 + HTTP_PASS_MAX];
	size_t i = 0;

	while (i < v->n && !http_is_ows(v->p[i]))
		i++;
	if (i == 0)
		return HTTP_AUTH_MALFORMED;
	if (!http_ieq(v->p, i, "basic"))
		return HTTP_AUTH_UNSUPPORTED;
	size_t tok = i;
	while (tok < v->n && http_is_ows(v->p[tok]))
		tok++;
	if (tok == i || tok == v->n)
		return HTTP_AUTH_MALFORMED;
	/* The value was trimmed, so any whitespace left is inside it. */
	for (size_t k = tok; k < v->n; k++) {
		if (http_is_ows(v->p[k]))
			return HTTP_AUTH_MALFORMED;
	}

	/* Decoding stops at sizeof(plain): a longer token is refused before
	 * any of it is decoded. */
	ssize_t n = http_base64_decode((const char *)v->p + tok, v->n - tok, plain, sizeof(plain));
	uint8_t result =
		n < 0 ? HTTP_AUTH_MALFORMED : http_split_credentials(plain, (size_t)n, out);
	explicit_bzero(plain, sizeof(plain));
	return result;
}

ssize_t http_parse_connect_request(const uint8_t *buf, size_t len, struct http_request *out)
{
	struct http_line line, auth = { NULL, 0 };
	unsigned nauth = 0;
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	if (!http_next_line(buf, http_scan_limit(len), &pos, &line))
		return http_incomplete(buf, len, 0);
	int rc = http_parse_request_line(&line, out);
	if (rc < 0)
		return rc;
	ssize_t total = http_scan_fields(buf, len, pos, "proxy-authorization", &auth, &nauth);
	if (total <= 0)
		return total;
	if (nauth == 1)
		out->auth = http_parse_basic(&auth, out);
	else if (nauth > 1)
		out->auth = HTTP_AUTH_MALFORMED; /* which one would be meant? */
	return total;
}

/* ---- front-end: response ---- */

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "Connection established";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 407:
		return "Proxy Authentication Required";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return NULL;
	}
}

/* Appending into a fixed buffer; once something does not fit, the message
 * is abandoned (the encoders then return -ENOSPC and leave out alone). */
struct http_text {
	char *p;
	size_t cap;
	size_t len;
	bool overflow;
};

static void http_put(struct http_text *t, const char *s, size_t n)
{
	if (t->overflow || n > t->cap - t->len) {
		t->overflow = true;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

static void http_puts(struct http_text *t, const char *s)
{
	http_put(t, s, strlen(s));
}

static void http_put_uint(struct http_text *t, unsigned long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lu", v);

	http_put(t, num, (size_t)n);
}

/* Hand a finished message to the caller, whole or not at all. */
static ssize_t http_text_copy(const struct http_text *t, uint8_t *out, size_t cap)
{
	if (t->overflow || t->len > cap)
		return -ENOSPC;
	memcpy(out, t->p, t->len);
	return (ssize_t)t->len;
}

/*
 * HTTP/1.1 407 Proxy Authentication Required\r\n
 * Proxy-Authenticate: Basic realm="hopsocks"\r\n    (407 only)
 * Allow: CONNECT\r\n                                (405 only)
 * Content-Type: text/plain\r\n
 * Content-Length: 30\r\n
 * Connection: close\r\n
 * \r\n
 * Proxy Authentication Required\n
 */
ssize_t http_encode_response(uint8_t *out, size_t cap, int status, const char *detail)
{
	const char *reason = http_reason(status);
	char buf[HTTP_RESPONSE_MAX];
	char body[64 + HTTP_DETAIL_MAX];
	struct http_text t = { buf, sizeof(buf), 0, false };
	struct http_text b = { body, sizeof(body), 0, false };

	if (reason == NULL)
		return -EINVAL;
	http_puts(&t, "HTTP/1.1 ");
	http_put_uint(&t, (unsigned long)status);
	http_puts(&t, " ");
	http_puts(&t, reason);
	http_puts(&t, "\r\n");
	if (status == 200) {
		http_puts(&t, "\r\n");
		return http_text_copy(&t, out, cap);
	}

	http_puts(&b, reason);
	if (detail != NULL) {
		http_puts(&b, ": ");
		for (size_t i = 0; i < HTTP_DETAIL_MAX && detail[i] != '\0'; i++) {
			char c = detail[i] >= 0x20 && detail[i] < 0x7f ? detail[i] : '?';
			http_put(&b, &c, 1);
		}
	}
	http_puts(&b, "\n");

	if (status == 407)
		http_puts(&t, "Proxy-Authenticate: Basic realm=\"hopsocks\"\r\n");
	if (status == 405)
		http_puts(&t, "Allow: CONNECT\r\n");
	http_puts(&t, "Content-Type: text/plain\r\nContent-Length: ");
	http_put_uint(&t, (unsigned long)b.len);
	http_puts(&t, "\r\nConnection: close\r\n\r\n");
	http_put(&t, body, b.len);
	return http_text_copy(&t, out, cap);
}

/* ---- upstream hop: CONNECT request ---- */

/* The target as it goes on the request line, checked to parse back. */
static int http_target_text(const struct target *dst, struct http_text *t)
{
	char ip[INET6_ADDRSTRLEN];
	struct target check;

	if (dst->port == 0)
		return -EINVAL;
	switch (dst->type) {
	case TARGET_IPV4:
		inet_ntop(AF_INET, dst->addr.ipv4, ip, sizeof(ip));
		http_puts(t, ip);
		break;
	case TARGET_IPV6:
		inet_ntop(AF_INET6, dst->addr.ipv6, ip, sizeof(ip));
		http_puts(t, "[");
		http_puts(t, ip);
		http_puts(t, "]");
		break;
	case TARGET_DOMAIN:
		/* A SOCKS5 client may have sent any bytes but NUL as a name;
		 * refusing what our own parser refuses keeps CR, LF and spaces
		 * off the request line. */
		if (http_parse_host((const uint8_t *)dst->addr.domain, dst->domain_len, dst->port,
				    &check) < 0)
			return -EINVAL;
		http_put(t, dst->addr.domain, dst->domain_len);
		break;
	default:
		return -EINVAL;
	}
	http_puts(t, ":");
	http_put_uint(t, dst->port);
	return 0;
}

/* RFC 7617: no control characters, and the user-id cannot hold the ':'. */
static int http_check_credential(const char *s, size_t max, bool is_user)
{
	size_t n = strnlen(s, max + 1);

	if (n > max || (is_user && n == 0))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (http_is_ctl((uint8_t)s[i]) || (is_user && s[i] == ':'))
			return -EINVAL;
	}
	return 0;
}

/*
 * CONNECT example.com:443 HTTP/1.1\r\n
 * Host: example.com:443\r\n
 * Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n   (with credentials only)
 * \r\n
 */
ssize_t http_encode_connect_request(uint8_t *out, size_t cap, const struct target *dst,
				    const char *user, const char *pass)
{
	char buf[HTTP_CONNECT_REQUEST_MAX];
	char authority[TARGET_DOMAIN_MAX + 8];
	struct http_text t = { buf, sizeof(buf), 0, false };
	struct http_text a = { authority, sizeof(authority), 0, false };
	ssize_t rc;

	if (http_target_text(dst, &a) < 0 || a.overflow)
		return -EINVAL;
	http_puts(&t, "CONNECT ");
	http_put(&t, authority, a.len);
	http_puts(&t, " HTTP/1.1\r\nHost: ");
	http_put(&t, authority, a.len);
	http_puts(&t, "\r\n");

	if (user != NULL) {
		uint8_t plain[HTTP_USER_MAX + 1 + HTTP_PASS_MAX];
		char b64[HTTP_BASE64_LEN(sizeof(plain)) + 1];

		if (pass == NULL)
			pass = "";
		if (http_check_credential(user, HTTP_USER_MAX, true) < 0 ||
		    http_check_credential(pass, HTTP_PASS_MAX, false) < 0)
			return -EINVAL;
		size_t ulen = strlen(user);
		size_t plen = strlen(pass);
		memcpy(plain, user, ulen);
		plain[ulen] = ':';
		memcpy(plain + ulen + 1, pass, plen);
		ssize_t n = http_base64_encode(plain, ulen + 1 + plen, b64, sizeof(b64));
		explicit_bzero(plain, sizeof(plain));
		http_puts(&t, "Proxy-Authorization: Basic ");
		http_put(&t, b64, (size_t)n);
		http_puts(&t, "\r\n");
		explicit_bzero(b64, sizeof(b64));
	}
	http_puts(&t, "\r\n");
	rc = http_text_copy(&t, out, cap);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* ---- upstream hop: response ---- */

/*
 * status-line = HTTP-version SP status-code SP [ reason-phrase ]
 *
 *   HTTP/1.1 200 Connection established
 *   HTTP/1.0 407 Proxy Authentication Required
 *   HTTP/1.1 200                   (no reason, SP or not: seen in the wild)
 */
static int http_parse_status_line(const struct http_line *line, struct http_response *out)
{
	const uint8_t *p = line->p;

	if (line->n < 12)
		return -HTTP_EMALFORMED;
	int rc = http_parse_version(p, 8, &out->version_minor);
	if (rc < 0)
		return rc;
	if (p[8] != ' ' || !http_is_digit(p[9]) || !http_is_digit(p[10]) || !http_is_digit(p[11]))
		return -HTTP_EMALFORMED;
	unsigned status = (unsigned)(p[9] - '0') * 100 + (unsigned)(p[10] - '0') * 10 +
			  (unsigned)(p[11] - '0');
	if (status < 100 || status > 599)
		return -HTTP_EMALFORMED;
	out->status = (uint16_t)status;
	if (line->n == 12)
		return 0;
	if (p[12] != ' ')
		return -HTTP_EMALFORMED;

	size_t k = 0;
	for (size_t i = 13; i < line->n; i++) {
		uint8_t c = p[i];
		if (!http_is_text(c))
			return -HTTP_EMALFORMED;
		if (k < HTTP_REASON_MAX)
			out->reason[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out->reason[k] = '\0';
	return 0;
}

ssize_t http_parse_response(const uint8_t *buf, size_t len, struct http_response *out)
{
	struct http_line line;
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	if (!http_next_line(buf, http_scan_limit(len), &pos, &line))
		return http_incomplete(buf, len, 0);
	/* A NUL is refused at once, as it was while the line was incomplete,
	 * so "HTTP/2.0 \0...\n" is not 505 or 400 by how it arrived. */
	if (memchr(line.p, '\0', line.n) != NULL)
		return -HTTP_EMALFORMED;
	int rc = http_parse_status_line(&line, out);
	if (rc < 0)
		return rc;
	return http_scan_fields(buf, len, pos, NULL, NULL, NULL);
}

/* ---- detection ---- */

int http_detect(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len && i <= HTTP_DETECT_METHOD_MAX; i++) {
		uint8_t c = buf[i];
		if (c == ' ')
			return i > 0 ? HTTP_DETECT_YES : HTTP_DETECT_NO;
		if (c >= 'A' && c <= 'Z')
			continue;
		if (i > 0 && (c == '-' || c == '_'))
			continue;
		return HTTP_DETECT_NO;
	}
	/* A method longer than HTTP_DETECT_METHOD_MAX is not one we know. */
	return len > HTTP_DETECT_METHOD_MAX ? HTTP_DETECT_NO : HTTP_DETECT_MORE;
}

/* ---- base64 ---- */

static const char http_b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

ssize_t http_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	/* Groups of 3 bytes, the last one possibly short; written this way
	 * so no size computation can overflow. */
	size_t groups = n / 3 + (n % 3 != 0);

	if (cap == 0 || (cap - 1) / 4 < groups)
		return -ENOSPC;
	char *o = out;
	for (size_t i = 0; i < n; i += 3) {
		size_t rest = n - i;
		uint32_t v = (uint32_t)in[i] << 16;
		if (rest > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (rest > 2)
			v |= in[i + 2];
		*o++ = http_b64_alphabet[v >> 18];
		*o++ = http_b64_alphabet[(v >> 12) & 0x3f];
		*o++ = rest > 1 ? http_b64_alphabet[(v >> 6) & 0x3f] : '=';
		*o++ = rest > 2 ? http_b64_alphabet[v & 0x3f] : '=';
	}
	*o = '\0';
	return (ssize_t)(o - out);
}

static int http_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Every 4 characters carry 3 bytes; a final group of 2 or 3 characters
 * carries 1 or 2 bytes and leaves 4 or 2 unused bits, which must be zero
 * (RFC 4648 section 3.5), so each byte string has one encoding.
 */
ssize_t http_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	size_t pad = 0;

	while (n > 0 && pad < 2 && in[n - 1] == '=') {
		n--;
		pad++;
	}
	/* Padding, when present, completes the last group to 4 characters. */
	if (n % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0))
		return -EINVAL;
	size_t outlen = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (outlen > cap)
		return -ENOSPC;

	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int v = http_b64_value(in[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -EINVAL;
	return (ssize_t)o;
}
