/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Destinations (struct target): conversion to and from socket addresses and
 * text for logs. No I/O. */
#include "proto/target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* ---- text output that truncates instead of overflowing ---- */

struct text_buf {
	char *out;
	size_t cap;
	size_t len;
	bool full; /* something did not fit: write nothing more */
};

static void text_init(struct text_buf *tb, char *out, size_t cap)
{
	tb->out = out;
	tb->cap = cap;
	tb->len = 0;
	tb->full = cap == 0;
	if (cap > 0)
		out[0] = '\0';
}

/* Bytes that still fit before the terminating NUL. */
static size_t text_room(const struct text_buf *tb)
{
	return tb->cap > tb->len + 1 ? tb->cap - tb->len - 1 : 0;
}

/* Append as much of s as fits; once anything is cut, stop for good so the
 * output is always a prefix of the untruncated text. */
static void text_put(struct text_buf *tb, const char *s, size_t n)
{
	if (tb->full)
		return;
	size_t room = text_room(tb);
	if (n > room) {
		n = room;
		tb->full = true;
	}
	memcpy(tb->out + tb->len, s, n);
	tb->len += n;
	tb->out[tb->len] = '\0';
}

static void text_put_str(struct text_buf *tb, const char *s)
{
	text_put(tb, s, strlen(s));
}

/* Domain names come from the network and are logged: escaped as every
 * client string in a log line is (log.h), so one log line stays one line
 * and fields stay space-separated. */
static void text_put_escaped(struct text_buf *tb, const char *s, size_t n)
{
	bool cut = false;

	if (tb->full)
		return;
	tb->len += log_escape(tb->out + tb->len, text_room(tb) + 1, s, n, &cut);
	tb->full = cut;
}

size_t target_format(const struct target *t, char *out, size_t cap)
{
	struct text_buf tb;
	char ip[INET6_ADDRSTRLEN];
	char port[8];

	text_init(&tb, out, cap);
	switch (t->type) {
	case TARGET_IPV4:
		inet_ntop(AF_INET, t->addr.ipv4, ip, sizeof(ip));
		text_put_str(&tb, ip);
		break;
	case TARGET_IPV6:
		inet_ntop(AF_INET6, t->addr.ipv6, ip, sizeof(ip));
		text_put_str(&tb, "[");
		text_put_str(&tb, ip);
		text_put_str(&tb, "]");
		break;
	case TARGET_DOMAIN:
		text_put_escaped(&tb, t->addr.domain, t->domain_len);
		break;
	default:
		/* No destination (yet): the access log's "empty field". */
		text_put_str(&tb, "-");
		return tb.len;
	}
	snprintf(port, sizeof(port), ":%u", (unsigned)t->port);
	text_put_str(&tb, port);
	return tb.len;
}

int target_from_sockaddr(struct target *t, const struct sockaddr *sa)
{
	/* Copy into the right type rather than casting the pointer: the caller
	 * may hand us any properly sized buffer. */
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof(sin));
		memset(t, 0, sizeof(*t));
		t->type = TARGET_IPV4;
		memcpy(t->addr.ipv4, &sin.sin_addr, 4);
		t->port = ntohs(sin.sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof(sin6));
		memset(t, 0, sizeof(*t));
		t->type = TARGET_IPV6;
		memcpy(t->addr.ipv6, &sin6.sin6_addr, 16);
		t->port = ntohs(sin6.sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void target_unmap_ipv4(struct target *t)
{
	static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (t->type != TARGET_IPV6 || memcmp(t->addr.ipv6, mapped_prefix, 12) != 0)
		return;
	uint8_t v4[4];
	memcpy(v4, t->addr.ipv6 + 12, 4);
	memset(&t->addr, 0, sizeof(t->addr));
	memcpy(t->addr.ipv4, v4, 4);
	t->type = TARGET_IPV4;
}

int target_to_sockaddr(const struct target *t, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (t->type == TARGET_IPV4) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(t->port) };
		memcpy(&sin.sin_addr, t->addr.ipv4, 4);
		memcpy(ss, &sin, sizeof(sin));
		return (int)sizeof(sin);
	}
	if (t->type == TARGET_IPV6) {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(t->port) };
		memcpy(&sin6.sin6_addr, t->addr.ipv6, 16);
		memcpy(ss, &sin6, sizeof(sin6));
		return (int)sizeof(sin6);
	}
	return -EINVAL;
}

int target_set_domain(struct target *t, const char *name, size_t len, uint16_t port)
{
	/* The wire formats cannot carry an empty name, one over 255 bytes, or
	 * (SOCKS4a, and our own NUL-terminated copy) an embedded NUL. */
	if (len == 0 || len > TARGET_DOMAIN_MAX || memchr(name, '\0', len) != NULL)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->type = TARGET_DOMAIN;
	t->domain_len = (uint8_t)len;
	t->port = port;
	memcpy(t->addr.domain, name, len);
	return 0;
}

size_t sockaddr_format(const struct sockaddr *sa, char *out, size_t cap)
{
	struct target t;

	if (sa == NULL || target_from_sockaddr(&t, sa) != 0) {
		struct text_buf tb;
		text_init(&tb, out, cap);
		text_put_str(&tb, "-");
		return tb.len;
	}
	return target_format(&t, out, cap);
}

/* ---- compact forms ---- */

int target_compact_set(struct target_compact *c, const struct target *t)
{
	target_compact_clear(c);
	if (t->type == TARGET_DOMAIN) {
		char *name = malloc((size_t)t->domain_len + 1);
		if (!name)
			return -ENOMEM;
		memcpy(name, t->addr.domain, t->domain_len);
		name[t->domain_len] = '\0';
		c->addr.domain = name;
		c->domain_len = t->domain_len;
	} else {
		/* An IPv4 address is the first 4 of these bytes. */
		memcpy(c->addr.ipv6, t->addr.ipv6, sizeof(c->addr.ipv6));
	}
	c->type = t->type;
	c->port = t->port;
	return 0;
}

void target_compact_get(const struct target_compact *c, struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->type = c->type;
	t->port = c->port;
	if (c->type == TARGET_DOMAIN) {
		t->domain_len = c->domain_len;
		memcpy(t->addr.domain, c->addr.domain, c->domain_len);
	} else {
		memcpy(t->addr.ipv6, c->addr.ipv6, sizeof(c->addr.ipv6));
	}
}

size_t target_compact_format(const struct target_compact *c, char *out, size_t cap)
{
	struct target t;

	target_compact_get(c, &t);
	return target_format(&t, out, cap);
}

void target_compact_clear(struct target_compact *c)
{
	if (c->type == TARGET_DOMAIN)
		free(c->addr.domain);
	memset(c, 0, sizeof(*c));
}

int sockaddr_ip_set(union sockaddr_ip *ip, const struct sockaddr *sa, socklen_t len)
{
	memset(ip, 0, sizeof(*ip));
	/* The length first: a shorter buffer may not even hold the family. */
	if (len >= (socklen_t)sizeof(ip->v4) && sa->sa_family == AF_INET) {
		memcpy(&ip->v4, sa, sizeof(ip->v4));
		return 0;
	}
	if (len >= (socklen_t)sizeof(ip->v6) && sa->sa_family == AF_INET6) {
		memcpy(&ip->v6, sa, sizeof(ip->v6));
		return 0;
	}
	return -EAFNOSUPPORT;
}

void sockaddr_ip_to_storage(const union sockaddr_ip *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ip, sizeof(*ip));
}
