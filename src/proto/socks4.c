/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* SOCKS4 and SOCKS4a wire format: pure parsers and encoders for the server
 * (requests in, replies out) and for chain hops (requests out, replies in).
 * No I/O, no allocation; see socks4.h for the return conventions. */
#include "proto/socks4.h"

#include <errno.h>
#include <string.h>

/* VN CD DSTPORT DSTIP: the fixed part of both the request and the reply. */
#define SOCKS4_HEADER_LEN 8
/* USERID and the SOCKS4a host share one limit: 255 bytes before the NUL. */
#define SOCKS4_FIELD_MAX 255

static uint16_t socks4_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void socks4_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool socks4_cmd_valid(uint8_t cmd)
{
	return cmd == SOCKS4_CMD_CONNECT || cmd == SOCKS4_CMD_BIND;
}

/* SOCKS4a marks "a host name follows" with DSTIP 0.0.0.x, x != 0; 0.0.0.0
 * itself stays a plain (if useless) IPv4 address. */
static bool socks4_ip_is_4a(const uint8_t *ip)
{
	return ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0;
}

/* Find the NUL that ends a variable field starting at buf[off]. Returns 1
 * with *flen set, 0 if the NUL has not arrived yet, or -PROTO_ETOOLONG once
 * more than SOCKS4_FIELD_MAX bytes arrived without one: without that cap, a
 * peer sending garbage would have us buffer forever. */
static int socks4_scan_field(const uint8_t *buf, size_t len, size_t off, size_t *flen)
{
	size_t avail = len - off;
	size_t limit = avail < SOCKS4_FIELD_MAX + 1 ? avail : SOCKS4_FIELD_MAX + 1;
	const uint8_t *nul = memchr(buf + off, '\0', limit);

	if (nul != NULL) {
		*flen = (size_t)(nul - (buf + off));
		return 1;
	}
	return avail > SOCKS4_FIELD_MAX ? -PROTO_ETOOLONG : 0;
}

/*
 * Request, client -> server:
 *
 *   +----+----+----+----+----+----+----+----+----+....+----+
 *   | VN | CD | DSTPORT |      DSTIP        |  USERID  |NULL|
 *   +----+----+----+----+----+----+----+----+----+....+----+
 *      1    1      2              4          0..255      1
 *
 * SOCKS4a: DSTIP = 0.0.0.x (x != 0), and after USERID's NUL:
 *
 *   +----+....+----+
 *   |   HOST   |NULL|
 *   +----+....+----+
 *     1..255      1
 *
 * VN = 4, CD = 1 (CONNECT) or 2 (BIND). Bad VN and CD are reported as soon
 * as their byte is present.
 */
ssize_t socks4_parse_request(const uint8_t *buf, size_t len, struct socks4_request *out)
{
	size_t ulen, hlen = 0, end;
	int rc;

	if (len < 1)
		return 0;
	if (buf[0] != SOCKS4_VERSION)
		return -PROTO_EVERSION;
	if (len < 2)
		return 0;
	if (!socks4_cmd_valid(buf[1]))
		return -PROTO_ECMD;
	if (len < SOCKS4_HEADER_LEN)
		return 0;

	rc = socks4_scan_field(buf, len, SOCKS4_HEADER_LEN, &ulen);
	if (rc <= 0)
		return rc;
	end = SOCKS4_HEADER_LEN + ulen + 1;

	bool is_4a = socks4_ip_is_4a(buf + 4);
	if (is_4a) {
		rc = socks4_scan_field(buf, len, end, &hlen);
		if (rc <= 0)
			return rc;
		if (hlen == 0)
			return -PROTO_EDOMAIN;
	}

	/* Whole and valid: only now touch *out. */
	memset(out, 0, sizeof(*out));
	out->cmd = buf[1];
	out->is_4a = is_4a;
	memcpy(out->userid, buf + SOCKS4_HEADER_LEN, ulen);
	uint16_t port = socks4_get_be16(buf + 2);
	if (is_4a) {
		/* Cannot fail: hlen is 1..255 and the scan stopped at the first NUL. */
		target_set_domain(&out->dst, (const char *)buf + end, hlen, port);
		end += hlen + 1;
	} else {
		out->dst.type = TARGET_IPV4;
		out->dst.port = port;
		memcpy(out->dst.addr.ipv4, buf + 4, 4);
	}
	return (ssize_t)end;
}

ssize_t socks4_encode_request(uint8_t *out, size_t cap, uint8_t cmd, const struct target *dst,
			      const char *userid)
{
	size_t ulen = userid != NULL ? strlen(userid) : 0;
	size_t hlen = 0;

	if (!socks4_cmd_valid(cmd) || ulen > SOCKS4_USERID_MAX)
		return -EINVAL;
	if (dst->type == TARGET_DOMAIN) {
		hlen = dst->domain_len;
		/* The host is NUL-terminated on the wire: a NUL inside would
		 * silently cut it. */
		if (hlen == 0 || memchr(dst->addr.domain, '\0', hlen) != NULL)
			return -EINVAL;
	} else if (dst->type != TARGET_IPV4) {
		return -EINVAL; /* SOCKS4 has no IPv6 */
	}

	size_t total = SOCKS4_HEADER_LEN + ulen + 1 + (hlen > 0 ? hlen + 1 : 0);
	if (total > cap)
		return -ENOSPC;

	out[0] = SOCKS4_VERSION;
	out[1] = cmd;
	socks4_put_be16(out + 2, dst->port);
	if (dst->type == TARGET_DOMAIN) {
		static const uint8_t ip_4a[4] = { 0, 0, 0, 1 };
		memcpy(out + 4, ip_4a, 4);
	} else {
		memcpy(out + 4, dst->addr.ipv4, 4);
	}
	uint8_t *p = out + SOCKS4_HEADER_LEN;
	memcpy(p, userid != NULL ? userid : "", ulen);
	p[ulen] = '\0';
	p += ulen + 1;
	if (hlen > 0) {
		memcpy(p, dst->addr.domain, hlen);
		p[hlen] = '\0';
	}
	return (ssize_t)total;
}

/*
 * Reply, server -> client:
 *
 *   +----+----+----+----+----+----+----+----+
 *   | VN | CD | DSTPORT |      DSTIP        |
 *   +----+----+----+----+----+----+----+----+
 *      1    1      2              4
 *
 * VN = 0, CD = 90 granted, 91 rejected, 92/93 identd trouble.
 */
ssize_t socks4_encode_reply(uint8_t *out, size_t cap, uint8_t cd, const struct sockaddr *bnd)
{
	struct target t;

	if (cap < SOCKS4_REPLY_LEN)
		return -ENOSPC;
	memset(out, 0, SOCKS4_REPLY_LEN);
	out[1] = cd;
	/* A dual-stack listener reports an IPv4 client's side as ::ffff:a.b.c.d;
	 * that is still an address SOCKS4 can carry. */
	if (bnd != NULL && target_from_sockaddr(&t, bnd) == 0) {
		target_unmap_ipv4(&t);
		if (t.type == TARGET_IPV4) {
			socks4_put_be16(out + 2, t.port);
			memcpy(out + 4, t.addr.ipv4, 4);
		}
	}
	return SOCKS4_REPLY_LEN;
}

ssize_t socks4_parse_reply(const uint8_t *buf, size_t len, struct socks4_reply *out)
{
	if (len < 1)
		return 0;
	/* The protocol says VN = 0, but some servers echo 4; accepting it costs
	 * nothing and the CD still decides. */
	if (buf[0] != 0 && buf[0] != SOCKS4_VERSION)
		return -PROTO_EVERSION;
	if (len < SOCKS4_REPLY_LEN)
		return 0;

	memset(out, 0, sizeof(*out));
	out->cd = buf[1];
	out->bnd.type = TARGET_IPV4;
	out->bnd.port = socks4_get_be16(buf + 2);
	memcpy(out->bnd.addr.ipv4, buf + 4, 4);
	return SOCKS4_REPLY_LEN;
}
