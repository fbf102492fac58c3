/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Upstream hops written as URLs, for chains in the config file and for
 * the command line's --chain URL[,URL...]:
 *
 *   socks4://[userid@]host[:port]       SOCKS4: IPv4 targets only
 *   socks4a://[userid@]host[:port]      SOCKS4a: names are sent to the hop
 *   socks5://[user[:pass]@]host[:port]  SOCKS5, RFC 1929 with credentials
 *   socks5h://[user[:pass]@]host[:port] SOCKS5, names resolved by the hop
 *   http://[user[:pass]@]host[:port]    HTTP CONNECT, Basic with credentials
 *
 * host is a name, a dotted quad or a bracketed IPv6 address; the port
 * defaults to 1080 (socks*) or 8080 (http). Reserved characters in the user
 * info are percent-encoded ("p%40ss" is "p@ss", a comma is "%2C"). Pure
 * functions: no I/O, no name lookups, no logging. */
#ifndef HOPSOCKS_HOP_H
#define HOPSOCKS_HOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/target.h"

enum hop_type {
	HOP_SOCKS4 = 1,
	HOP_SOCKS4A,
	HOP_SOCKS5,
	HOP_SOCKS5H,
	HOP_HTTP,
};

#define HOP_USER_MAX 255 /* RFC 1929 and SOCKS4 USERID limits */
#define HOP_PASS_MAX 255
/* Longest URL hop_parse() takes (the longest valid one is about 1,800). */
#define HOP_URL_MAX 2048
/* Most hops hop_list_parse() takes. */
#define HOP_LIST_MAX 32
/* Longest display form, with its NUL: "socks5h://" + user (3 bytes per
 * byte when percent-encoded) + "@" + host + ":65535". */
#define HOP_DISPLAY_MAX (10 + 3 * HOP_USER_MAX + 1 + TARGET_DOMAIN_MAX + 6 + 1)
/* An error buffer this large never truncates a message. */
#define HOP_ERR_MAX 512

struct hop {
	uint8_t type;		     /* enum hop_type */
	bool has_user;		     /* user info was given (user is then non-empty) */
	bool has_pass;		     /* "user:pass@": a password, possibly empty */
	struct target addr;	     /* the hop itself; a TARGET_DOMAIN is resolved by us */
	char user[HOP_USER_MAX + 1]; /* percent-decoded, NUL-terminated */
	char pass[HOP_PASS_MAX + 1];
	/* "socks5://alice@127.0.0.1:1080": canonical scheme, user (re-encoded
	 * where needed) but never the password, host, and the port even when
	 * it was defaulted. Printable ASCII only, safe for logs. */
	char display[HOP_DISPLAY_MAX];
	/* Send this hop a PROXY protocol header first (1 or 2; 0 = none): set
	 * by a chain block's "hop URL proxy-protocol v1|v2", never by the URL. */
	uint8_t proxy_protocol;
};

/*
 * Parse one hop URL into *out. Returns 0, or -EINVAL with a message in err
 * (if err is not NULL) such as
 *   hop 'xyz://a:1': unknown scheme 'xyz' (expected socks4, socks4a, socks5,
 *   socks5h or http)
 * The URL is quoted with its password replaced by "***" (without a
 * scheme: all before the '@'), control bytes escaped, cut at 96 bytes. The scheme is
 * case-insensitive. Refused: an unknown or missing scheme, an empty host, a bad or empty port
 * (after
 * ':'), a path, query or fragment (a lone trailing '/' is allowed), a
 * password on a socks4/socks4a hop, an empty user, a user or password over
 * 255 bytes once decoded or holding a NUL, a bad percent-escape, and for
 * http a ':' in the user or a control character in user or password (Basic
 * cannot carry them). Reserved characters ('@', '/', '?', '#') and
 * non-ASCII bytes in the user info must be percent-encoded.
 */
int hop_parse(const char *url, struct hop *out, char *err, size_t errlen);

/* The --chain form: hops separated by commas (spaces around them are
 * ignored), at most HOP_LIST_MAX. On success *hops is a calloc'd array of
 * *n (>= 1) hops, to be released with hop_list_free(). Returns 0, -EINVAL
 * with a message naming the hop ("hop 2 'socks5://h:0': ...") in err, or
 * -ENOMEM. On failure *hops is NULL and *n is 0. */
int hop_list_parse(const char *csv, struct hop **hops, size_t *n, char *err, size_t errlen);

/* Wipes the passwords and frees the array (NULL is fine). */
void hop_list_free(struct hop *hops, size_t n);

/* "socks4", "socks4a", "socks5", "socks5h", "http"; "?" for anything else. */
const char *hop_type_name(uint8_t type);

/* 1080 for the SOCKS types, 8080 for http, 0 for anything else. */
uint16_t hop_default_port(uint8_t type);

/* Whether the hop's protocol can carry a name as the destination (all but
 * socks4, which needs an IPv4 address). */
bool hop_can_send_names(const struct hop *h);

/* Whether the URL asks for names to be resolved by the hop, in curl's
 * sense: socks4a, socks5h and http do; socks5 means "resolve locally, send
 * the address", and socks4 cannot do otherwise. How this combines with a
 * chain's own resolution setting is the chain code's decision. */
bool hop_resolves_names(const struct hop *h);

#endif
