/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: HTTP CONNECT (http.h): the front-end's request parser,
 * the chain client's response parser, base64, the request encoder and
 * protocol detection.
 *
 * The first input byte picks the function (modulo their number), the rest
 * is its input. Checked beyond "no crash":
 *  - both header parsers keep the stream contract (fuzz_check_stream): a
 *    header cut anywhere is "need more" until it is whole; and once the
 *    header section has hit HTTP_HEADER_MAX bytes the answer is 431, never
 *    "need more";
 *  - a CONNECT request that parses encodes back (http_encode_connect_request
 *    with its target and Basic credentials) into a request that parses to
 *    the same target and credentials: what a chain sends upstream is what
 *    our own front-end reads;
 *  - every response the server sends parses as that status;
 *  - base64 decodes what it encodes, and encodes what it decodes back to
 *    the same text (one encoding per byte string);
 *  - http_detect decides from its own bytes, and as its comment says. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <errno.h>

#include "proto/http.h"

enum which {
	W_REQUEST,
	W_RESPONSE,
	W_BASE64,
	W_ENCODE,
	W_DETECT,
	W_COUNT,
};

/* The parsers clear out before they parse (and fill in the method of a
 * request they refuse, for the log); the stream contract is about what a
 * caller can rely on, so these wrappers hand out a result only on success. */
static ssize_t parse_request(const uint8_t *buf, size_t len, void *out)
{
	struct http_request tmp;
	ssize_t n = http_parse_connect_request(buf, len, &tmp);

	if (n > 0)
		memcpy(out, &tmp, sizeof(tmp));
	return n;
}

static ssize_t parse_response(const uint8_t *buf, size_t len, void *out)
{
	struct http_response tmp;
	ssize_t n = http_parse_response(buf, len, &tmp);

	if (n > 0)
		memcpy(out, &tmp, sizeof(tmp));
	return n;
}

/* The input followed by filler without a line feed up to exactly cap
 * bytes: a header that never ends. Returns the parser's answer. */
static ssize_t parse_padded(ssize_t (*parse)(const uint8_t *, size_t, void *), const uint8_t *msg,
			    size_t len, size_t cap, void *out)
{
	uint8_t *buf = malloc(cap);
	ssize_t r;

	if (buf == NULL)
		abort();
	memcpy(buf, msg, len);
	memset(buf + len, 'a', cap - len);
	r = parse(buf, cap, out);
	free(buf);
	return r;
}

/* A header's size bound: with the header still open at HTTP_HEADER_MAX
 * bytes the parser gives up (431); one byte less, it still waits. What
 * the input already decided stays decided. */
static void check_size_bound(ssize_t (*parse)(const uint8_t *, size_t, void *), const uint8_t *msg,
			     size_t len, ssize_t full, void *out)
{
	ssize_t at_max, below;

	if (len >= HTTP_HEADER_MAX - 1)
		return; /* a replayed file this long is checked as it is */
	at_max = parse_padded(parse, msg, len, HTTP_HEADER_MAX, out);
	below = parse_padded(parse, msg, len, HTTP_HEADER_MAX - 1, out);
	if (full != 0) {
		FUZZ_CHECK(at_max == full && below == full);
		return;
	}
	/* "Need more" had no NUL and no complete line to refuse; filler
	 * without a line feed adds neither. */
	FUZZ_CHECK(at_max == -HTTP_ETOOLARGE);
	FUZZ_CHECK(below == 0);
}

static bool has_ctl(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

static void check_request(const uint8_t *msg, size_t len)
{
	struct http_request req, again, raw;
	uint8_t enc[HTTP_CONNECT_REQUEST_MAX];
	ssize_t n, e;

	n = fuzz_check_stream(parse_request, msg, len, &req, sizeof(req));
	FUZZ_CHECK(n > 0 || n == 0 || (n >= -HTTP_EVERSION && n <= -HTTP_EMALFORMED));
	check_size_bound(parse_request, msg, len, n, &again);

	/* A refused method is named for the log: the request line's first
	 * word, cut to HTTP_METHOD_MAX. */
	if (http_parse_connect_request(msg, len, &raw) == -HTTP_EMETHOD) {
		size_t m = strlen(raw.method);
		FUZZ_CHECK(m >= 1 && m <= HTTP_METHOD_MAX);
		FUZZ_CHECK(memcmp(raw.method, msg, m) == 0);
		FUZZ_CHECK(m == HTTP_METHOD_MAX || msg[m] == ' ');
		FUZZ_CHECK(strcmp(raw.method, "CONNECT") != 0);
	}
	if (n <= 0)
		return;

	/* The header section and nothing behind it. */
	FUZZ_CHECK(n <= HTTP_HEADER_MAX && msg[n - 1] == '\n');
	FUZZ_CHECK(memchr(msg, '\0', (size_t)n) == NULL);
	FUZZ_CHECK(memcmp(msg, "CONNECT ", 8) == 0 && strcmp(req.method, "CONNECT") == 0);
	fuzz_check_target(&req.dst);
	FUZZ_CHECK(req.dst.port != 0);
	FUZZ_CHECK(req.auth <= HTTP_AUTH_UNSUPPORTED);
	if (req.auth == HTTP_AUTH_BASIC) {
		/* What the user file and the SOCKS5 code can take. */
		FUZZ_CHECK(req.user[0] != '\0' && strlen(req.user) <= HTTP_USER_MAX);
		FUZZ_CHECK(strlen(req.pass) <= HTTP_PASS_MAX);
		FUZZ_CHECK(strchr(req.user, ':') == NULL);
		FUZZ_CHECK(!has_ctl(req.user) && !has_ctl(req.pass));
	} else {
		FUZZ_CHECK(req.user[0] == '\0' && req.pass[0] == '\0');
	}

	/* Every target the parser accepts can be sent upstream, and what we
	 * send parses back to it (and to the same credentials). */
	if (req.auth == HTTP_AUTH_BASIC)
		e = http_encode_connect_request(enc, sizeof(enc), &req.dst, req.user, req.pass);
	else
		e = http_encode_connect_request(enc, sizeof(enc), &req.dst, NULL, NULL);
	FUZZ_CHECK(e > 0 && (size_t)e <= sizeof(enc));
	FUZZ_CHECK(http_parse_connect_request(enc, (size_t)e, &again) == e);
	FUZZ_CHECK(again.version_minor == 1);
	FUZZ_CHECK(memcmp(&again.dst, &req.dst, sizeof(req.dst)) == 0);
	FUZZ_CHECK(again.auth == (req.auth == HTTP_AUTH_BASIC ? HTTP_AUTH_BASIC : HTTP_AUTH_NONE));
	FUZZ_CHECK(strcmp(again.user, req.user) == 0 && strcmp(again.pass, req.pass) == 0);
	/* All or nothing: one byte short is refused, not cut. */
	if (req.auth == HTTP_AUTH_BASIC)
		FUZZ_CHECK(http_encode_connect_request(enc, (size_t)e - 1, &req.dst, req.user,
						       req.pass) == -ENOSPC);
}

/* The statuses the server answers with, and two it never sends. */
static const int statuses[] = { 200, 400, 403, 405, 407, 431, 501, 502, 503, 504, 505, 0, 404 };

static void check_response(const uint8_t *msg, size_t len)
{
	struct http_response rep, again;
	uint8_t enc[HTTP_RESPONSE_MAX];
	char detail[HTTP_DETAIL_MAX + 40];
	ssize_t n;
	size_t dlen = 0;

	n = fuzz_check_stream(parse_response, msg, len, &rep, sizeof(rep));
	FUZZ_CHECK(n > 0 || n == 0 || (n >= -HTTP_EVERSION && n <= -HTTP_EMALFORMED));
	check_size_bound(parse_response, msg, len, n, &again);
	if (n > 0) {
		FUZZ_CHECK(n <= HTTP_HEADER_MAX && msg[n - 1] == '\n');
		FUZZ_CHECK(memcmp(msg, "HTTP/1.", 7) == 0 && rep.version_minor == msg[7] - '0');
		FUZZ_CHECK(rep.status >= 100 && rep.status <= 599);
		FUZZ_CHECK(rep.status ==
			   (msg[9] - '0') * 100 + (msg[10] - '0') * 10 + (msg[11] - '0'));
		FUZZ_CHECK(strlen(rep.reason) <= HTTP_REASON_MAX);
		for (const char *p = rep.reason; *p != '\0'; p++)
			FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
	}

	/* What our front-end sends, with the input as the detail text (which
	 * may hold anything), is a response the chain client reads as that
	 * status, with exactly its body behind the header. */
	while (dlen < len && dlen < sizeof(detail) - 1 && msg[dlen] != '\0') {
		detail[dlen] = (char)msg[dlen];
		dlen++;
	}
	detail[dlen] = '\0';
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		const char *reason = http_reason(statuses[i]);
		const char *cl;
		ssize_t h;
		long body;
		ssize_t e = http_encode_response(enc, sizeof(enc), statuses[i],
						 len % 2 ? detail : NULL);
		if (reason == NULL) {
			FUZZ_CHECK(e == -EINVAL);
			continue;
		}
		FUZZ_CHECK(e > 0 && (size_t)e <= sizeof(enc));
		h = http_parse_response(enc, (size_t)e, &again);
		FUZZ_CHECK(h > 0 && again.status == statuses[i] && again.version_minor == 1);
		FUZZ_CHECK(strcmp(again.reason, reason) == 0);
		if (statuses[i] == 200) {
			FUZZ_CHECK(h == e); /* the tunnel starts right behind it */
			continue;
		}
		cl = memmem(enc, (size_t)h, "Content-Length: ", 16);
		FUZZ_CHECK(cl != NULL);
		body = strtol(cl + 16, NULL, 10);
		FUZZ_CHECK(body == e - h);
		FUZZ_CHECK(enc[e - 1] == '\n');
		for (ssize_t k = h; k < e - 1; k++)
			FUZZ_CHECK(enc[k] >= 0x20 && enc[k] < 0x7f);
		FUZZ_CHECK(http_encode_response(enc, (size_t)e - 1, statuses[i],
						len % 2 ? detail : NULL) == -ENOSPC);
	}
}

static void check_base64(const uint8_t *msg, size_t len)
{
	/* Input up to 600 bytes (max_len): 800 characters of encoding. */
	char text[HTTP_BASE64_LEN(4096) + 1];
	uint8_t plain[4096];
	ssize_t d, e;

	if (len > sizeof(plain))
		return;
	/* Bytes -> text -> the same bytes. */
	e = http_base64_encode(msg, len, text, sizeof(text));
	FUZZ_CHECK(e == (ssize_t)HTTP_BASE64_LEN(len) && text[e] == '\0');
	FUZZ_CHECK(http_base64_encode(msg, len, text, (size_t)e) == -ENOSPC);
	d = http_base64_decode(text, (size_t)e, plain, sizeof(plain));
	FUZZ_CHECK(d == (ssize_t)len && memcmp(plain, msg, len) == 0);
	/* Without the padding too. */
	while (e > 0 && text[e - 1] == '=')
		e--;
	FUZZ_CHECK(http_base64_decode(text, (size_t)e, plain, sizeof(plain)) == (ssize_t)len);
	FUZZ_CHECK(memcmp(plain, msg, len) == 0);
	if (len > 0)
		FUZZ_CHECK(http_base64_decode(text, (size_t)e, plain, len - 1) == -ENOSPC);

	/* Text -> bytes -> the same text, padded: the decoder accepts one
	 * encoding per byte string and nothing else. */
	d = http_base64_decode((const char *)msg, len, plain, sizeof(plain));
	FUZZ_CHECK(d >= 0 || d == -EINVAL);
	if (d < 0)
		return;
	e = http_base64_encode(plain, (size_t)d, text, sizeof(text));
	FUZZ_CHECK(e >= (ssize_t)len && e - (ssize_t)len <= 2);
	FUZZ_CHECK(memcmp(text, msg, len) == 0);
	for (ssize_t k = (ssize_t)len; k < e; k++)
		FUZZ_CHECK(text[k] == '=');
}

/* Bytes that may not appear in a Basic user (RFC 7617) or password. */
static bool cred_ok(const char *s, bool is_user)
{
	size_t n = strlen(s);

	if (n > 255 || (is_user && (n == 0 || strchr(s, ':') != NULL)))
		return false;
	return !has_ctl(s);
}

/* A target and credentials built from the input, through the encoder and
 * back: [type][port hi][port lo][flags] then, for an address, its 4 or 16
 * bytes, for a name the name and a NUL; then user NUL pass. */
static void check_encode(const uint8_t *msg, size_t len)
{
	struct target dst;
	struct http_request req;
	uint8_t enc[HTTP_CONNECT_REQUEST_MAX];
	char host[TARGET_DOMAIN_MAX + 2], user[300], pass[300];
	const uint8_t *p = msg + 4, *end = msg + len;
	char *fields[3] = { host, user, pass };
	const size_t caps[3] = { sizeof(host), sizeof(user), sizeof(pass) };
	size_t alen;
	bool with_user, with_pass;
	ssize_t e, r;

	if (len < 4)
		return;
	alen = msg[0] % 3 == 0 ? 4 : msg[0] % 3 == 1 ? 16 : 0;
	if (len < 4 + alen)
		return;
	memset(&dst, 0, sizeof(dst));
	dst.port = (uint16_t)(msg[1] << 8 | msg[2]);
	if (alen == 4) {
		dst.type = TARGET_IPV4;
		memcpy(dst.addr.ipv4, p, 4);
	} else if (alen == 16) {
		dst.type = TARGET_IPV6;
		memcpy(dst.addr.ipv6, p, 16);
	}
	p += alen;
	for (size_t f = alen > 0 ? 1 : 0; f < 3; f++) {
		size_t k = 0;
		while (p < end && *p != '\0' && k < caps[f] - 1)
			fields[f][k++] = (char)*p++;
		fields[f][k] = '\0';
		if (p < end)
			p++;
	}
	with_user = msg[3] & 1;
	with_pass = msg[3] & 2;
	if (alen == 0 && target_set_domain(&dst, host, strlen(host), dst.port) < 0)
		return;

	e = http_encode_connect_request(enc, sizeof(enc), &dst, with_user ? user : NULL,
					with_pass ? pass : NULL);
	if (e < 0) {
		FUZZ_CHECK(e == -EINVAL);
		/* Refused for a reason the header names. A domain is refused
		 * when the front-end would refuse it: checked by sending it. */
		if (dst.port == 0 ||
		    (with_user && (!cred_ok(user, true) || (with_pass && !cred_ok(pass, false)))))
			return;
		FUZZ_CHECK(dst.type == TARGET_DOMAIN);
		uint8_t line[TARGET_DOMAIN_MAX + 40];
		int m = snprintf((char *)line, sizeof(line), "CONNECT %s:%u HTTP/1.1\r\n\r\n",
				 dst.addr.domain, dst.port);
		r = http_parse_connect_request(line, (size_t)m, &req);
		FUZZ_CHECK(r != m || memcmp(&req.dst, &dst, sizeof(dst)) != 0);
		return;
	}
	FUZZ_CHECK(dst.port != 0);
	FUZZ_CHECK(!with_user || (cred_ok(user, true) && (!with_pass || cred_ok(pass, false))));
	r = http_parse_connect_request(enc, (size_t)e, &req);
	FUZZ_CHECK(r == e);
	if (dst.type == TARGET_DOMAIN && req.dst.type == TARGET_IPV4) {
		/* A name that is a dotted quad ("10.0.0.1", which a SOCKS5
		 * client may send as a name) arrives as that address. */
		char a[TARGET_TEXT_MAX], b[TARGET_TEXT_MAX];
		target_format(&dst, a, sizeof(a));
		target_format(&req.dst, b, sizeof(b));
		FUZZ_CHECK(strcmp(a, b) == 0);
	} else if (dst.type == TARGET_DOMAIN && req.dst.type == TARGET_IPV6) {
		/* Likewise a name that is a bracketed IPv6 literal ("[::1]"):
		 * the hop connects to that address, as it would resolve any
		 * other name itself (found by this target). */
		char inner[TARGET_DOMAIN_MAX + 1];
		uint8_t a6[16];
		FUZZ_CHECK(dst.domain_len >= 3 && dst.addr.domain[0] == '[' &&
			   dst.addr.domain[dst.domain_len - 1] == ']');
		memcpy(inner, dst.addr.domain + 1, (size_t)dst.domain_len - 2);
		inner[dst.domain_len - 2] = '\0';
		FUZZ_CHECK(inet_pton(AF_INET6, inner, a6) == 1);
		FUZZ_CHECK(memcmp(a6, req.dst.addr.ipv6, 16) == 0 && req.dst.port == dst.port);
	} else {
		FUZZ_CHECK(memcmp(&req.dst, &dst, sizeof(dst)) == 0);
	}
	if (with_user) {
		FUZZ_CHECK(req.auth == HTTP_AUTH_BASIC && strcmp(req.user, user) == 0);
		FUZZ_CHECK(strcmp(req.pass, with_pass ? pass : "") == 0);
	} else {
		FUZZ_CHECK(req.auth == HTTP_AUTH_NONE);
	}
}

/* What http.h says http_detect decides, written out again. */
static int detect_model(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];
		if (i > HTTP_DETECT_METHOD_MAX)
			return HTTP_DETECT_NO; /* method too long */
		if (c == ' ')
			return i > 0 ? HTTP_DETECT_YES : HTTP_DETECT_NO;
		if (!(c >= 'A' && c <= 'Z') && !(i > 0 && (c == '-' || c == '_')))
			return HTTP_DETECT_NO;
	}
	return len > HTTP_DETECT_METHOD_MAX ? HTTP_DETECT_NO : HTTP_DETECT_MORE;
}

static void check_detect(const uint8_t *msg, size_t len)
{
	struct fuzz_tail tail;
	int full = http_detect(msg, len);
	bool decided = false;

	FUZZ_CHECK(full == detect_model(msg, len));
	/* SOCKS never looks like HTTP. */
	if (len > 0 && (msg[0] == 4 || msg[0] == 5))
		FUZZ_CHECK(full == HTTP_DETECT_NO);
	fuzz_tail_init(&tail, len);
	for (size_t k = 0; k <= len; k++) {
		int r = http_detect(fuzz_tail_copy(&tail, msg, k), k);

		/* Undecided until some byte decides, then that answer. */
		if (decided)
			FUZZ_CHECK(r == full);
		else if (r != HTTP_DETECT_MORE)
			FUZZ_CHECK(r == full && k <= HTTP_DETECT_METHOD_MAX + 1);
		decided = r != HTTP_DETECT_MORE;
	}
	fuzz_tail_free(&tail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fuzz_check_fn *const checks[W_COUNT] = {
		[W_REQUEST] = check_request, [W_RESPONSE] = check_response,
		[W_BASE64] = check_base64,   [W_ENCODE] = check_encode,
		[W_DETECT] = check_detect,
	};
	return fuzz_dispatch(checks, W_COUNT, data, size);
}
