/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* HTTP CONNECT (RFC 9110 section 9.3.6, RFC 9112 message syntax): pure
 * parsers and encoders for the front-end (requests in, responses out) and
 * for upstream HTTP proxy hops (requests out, responses in). Also Basic
 * credentials (RFC 7617) and the base64 they are carried in (RFC 4648).
 * No I/O, no logging, no allocation.
 *
 * Parsers follow the house convention (socks5.h): (buf, len, out) -> bytes
 * consumed (> 0), 0 = need more input, or -HTTP_E* (below). They consume the
 * header section only, through its blank line, so bytes a client pipelined
 * behind it stay in the caller's buffer and are relayed. A parser looks at
 * no more than HTTP_HEADER_MAX bytes: once len reaches that without a
 * complete header section, the answer is -HTTP_ETOOLARGE, never "need more".
 *
 * Encoders write into out (cap bytes) and return the length written, or
 * -ENOSPC / -EINVAL; they never write a partial message. */
#ifndef HOPSOCKS_HTTP_H
#define HOPSOCKS_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/target.h"

/* Largest header section (start line, fields, blank line) we accept. */
#define HTTP_HEADER_MAX (16 * 1024)

/* Basic credentials, as RFC 1929 limits them, so that the same user file
 * serves SOCKS5 and HTTP clients. */
#define HTTP_USER_MAX 255
#define HTTP_PASS_MAX 255

/* The method name is kept for logs only; longer ones are truncated. */
#define HTTP_METHOD_MAX 32
/* The reason phrase of an upstream's status line, for logs; truncated. */
#define HTTP_REASON_MAX 63
/* http_encode_response() copies at most this much of its detail text. */
#define HTTP_DETAIL_MAX 200

/* Buffer sizes that always suffice for the encoders. */
#define HTTP_RESPONSE_MAX 512
/* "CONNECT " host ":65535 HTTP/1.1\r\n" "Host: " host ":65535\r\n"
 * "Proxy-Authorization: Basic " base64(user ":" pass) "\r\n" "\r\n" */
#define HTTP_CONNECT_REQUEST_MAX                                                   \
	(8 + (TARGET_DOMAIN_MAX + 6) + 11 + 6 + (TARGET_DOMAIN_MAX + 6) + 2 + 27 + \
	 HTTP_BASE64_LEN(HTTP_USER_MAX + 1 + HTTP_PASS_MAX) + 2 + 2)

/* Parse errors. Each maps to the status the front-end answers with
 * (http_err_status); on the client side any of them fails the hop. */
enum http_err {
	HTTP_EMALFORMED = 1, /* 400: syntax error, NUL, bare CR, obsolete line folding */
	HTTP_ETARGET,	     /* 400: CONNECT target is not host:port with a valid host/port */
	HTTP_ETOOLARGE,	     /* 431: header section over HTTP_HEADER_MAX */
	HTTP_EMETHOD,	     /* 501: a method other than CONNECT (name in out->method) */
	HTTP_EVERSION,	     /* 505: HTTP major version other than 1 */
};

/* The status code to answer a parse error with (either sign accepted);
 * 400 for anything unknown. */
int http_err_status(int err);
/* A short English description ("header section too large") for logs. */
const char *http_strerror(int err);

/* ---- front-end: CONNECT request in ---- */

/* What a Proxy-Authorization field held. The server answers 407 to anything
 * but HTTP_AUTH_BASIC with credentials it accepts. */
enum http_auth {
	HTTP_AUTH_NONE = 0,    /* no Proxy-Authorization field */
	HTTP_AUTH_BASIC,       /* Basic, decoded into user and pass */
	HTTP_AUTH_MALFORMED,   /* Basic with bad base64, no ':', an empty user, a
				* control character, a field over its limit, or
				* the field given more than once */
	HTTP_AUTH_UNSUPPORTED, /* a scheme other than Basic (name not kept) */
};

struct http_request {
	char method[HTTP_METHOD_MAX + 1]; /* NUL-terminated, for logs */
	uint8_t version_minor;		  /* HTTP/1.x: x */
	uint8_t auth;			  /* enum http_auth */
	struct target dst;		  /* the CONNECT target */
	char user[HTTP_USER_MAX + 1];	  /* NUL-terminated; set for HTTP_AUTH_BASIC */
	char pass[HTTP_PASS_MAX + 1];
};

/*
 * CONNECT example.com:443 HTTP/1.1\r\n         request line (authority form:
 * Host: example.com:443\r\n                       name:port, a.b.c.d:port or
 * Proxy-Authorization: Basic YWxpY2U6czNj\r\n     [v6]:port; port 1..65535)
 * \r\n                                         blank line ends the header
 *
 * Bare LF line endings are accepted; a CR anywhere but before LF, a NUL, a
 * line starting with whitespace (obsolete folding), whitespace before a
 * field's colon, or a control character in a field is -HTTP_EMALFORMED.
 * Methods are case-sensitive ("connect" is -HTTP_EMETHOD). Field errors
 * are reported once the header section is complete (a NUL at once);
 * request-line errors as soon as that line is complete: syntax (400), then
 * the version (HTTP/1.x with any minor version is accepted, else 505), then
 * the method (501), then the target (400). out->method is set whenever the
 * request line could be split. Fields other than Proxy-Authorization are
 * ignored; its outcome is in out->auth, never a parse error.
 */
ssize_t http_parse_connect_request(const uint8_t *buf, size_t len, struct http_request *out);

/* The status line, the fields the status needs and a short text/plain body
 * ("<reason>\n", or "<reason>: <detail>\n"; detail may be NULL, is cut to
 * HTTP_DETAIL_MAX bytes and has non-printable bytes replaced by '?').
 * 200 is exactly "HTTP/1.1 200 Connection established\r\n\r\n" (no body,
 * no fields: what follows is the tunnel) and ignores detail. Errors carry
 * Content-Type, Content-Length and "Connection: close"; 407 adds
 * Proxy-Authenticate: Basic realm="hopsocks", 405 adds Allow: CONNECT.
 * A status without a reason phrase here (see http_reason) is -EINVAL. */
ssize_t http_encode_response(uint8_t *out, size_t cap, int status, const char *detail);

/* Reason phrase for 200 and the error statuses the server sends (400, 403,
 * 405, 407, 431, 501, 502, 503, 504, 505); NULL for any other status. */
const char *http_reason(int status);

/* ---- upstream HTTP proxy hop: CONNECT request out, response in ---- */

/* CONNECT host:port HTTP/1.1\r\nHost: host:port\r\n
 * [Proxy-Authorization: Basic base64(user:pass)\r\n]\r\n
 * IPv6 in brackets. user NULL: no credentials; pass NULL: empty password.
 * -EINVAL for a target http_parse_connect_request would refuse (port 0, a
 * domain with characters outside an RFC 3986 reg-name, which also rules out
 * header injection through a name a SOCKS client sent), a user with ':' or
 * an empty user, a control character in user or pass, or either over 255
 * bytes. */
ssize_t http_encode_connect_request(uint8_t *out, size_t cap, const struct target *dst,
				    const char *user, const char *pass);

struct http_response {
	uint8_t version_minor;		  /* HTTP/1.x: x */
	uint16_t status;		  /* 100..599; any 2xx opens the tunnel */
	char reason[HTTP_REASON_MAX + 1]; /* for logs: non-printable bytes as '?' */
};

/*
 * HTTP/1.1 200 Connection established\r\n     status line (the reason may be
 * [fields]\r\n                                   empty, even without its SP)
 * \r\n
 *
 * Same line rules and size bound as the request parser; fields are only
 * checked for syntax. HTTP/1.x is accepted, another major version is
 * -HTTP_EVERSION. Returns the header length: after a 2xx, the bytes behind
 * it are the tunnel's first bytes. A 1xx response is returned like any
 * other; the caller parses again behind it.
 */
ssize_t http_parse_response(const uint8_t *buf, size_t len, struct http_response *out);

/* ---- protocol detection on a shared port ---- */

enum http_detect_result {
	HTTP_DETECT_NO = -1,  /* not HTTP (SOCKS starts with 0x04 / 0x05) */
	HTTP_DETECT_MORE = 0, /* an uppercase prefix so far, undecided */
	HTTP_DETECT_YES = 1,  /* an uppercase method token and a space */
};

/* Whether the first bytes look like an HTTP request line: 'A'-'Z', then
 * up to HTTP_DETECT_METHOD_MAX - 1 more of 'A'-'Z', '-' or '_', then a
 * space. Decides from at most HTTP_DETECT_METHOD_MAX + 1 bytes. */
#define HTTP_DETECT_METHOD_MAX 20
int http_detect(const uint8_t *buf, size_t len);

/* ---- base64 (RFC 4648 section 4, standard alphabet) ---- */

/* Length of the padded encoding of n bytes, not counting a NUL. */
#define HTTP_BASE64_LEN(n) (4 * (((n) + 2) / 3))

/* Writes the padded encoding and a NUL; returns its length without the NUL,
 * or -ENOSPC if cap < HTTP_BASE64_LEN(n) + 1. */
ssize_t http_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/* Decodes text of length n. Padding may be present or left out; anything
 * else outside the alphabet, padding that is not at the end, a length that
 * cannot be base64 (n % 4 == 1) or non-zero unused bits in the last
 * character is -EINVAL; output over cap is -ENOSPC. Returns the decoded
 * length. Does not NUL-terminate. */
ssize_t http_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
