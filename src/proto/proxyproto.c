/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* PROXY protocol v1 and v2 (haproxy.org/download/2.8/doc/proxy-protocol.txt):
 * pure parser and encoder. No I/O, no allocation; see proxyproto.h. */
#include "proto/proxyproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char pp_v1_sig[] = "PROXY ";
#define PP_V1_SIG_LEN 6
static const uint8_t pp_v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				       0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
#define PP_V2_SIG_LEN 12

/* v2 command (low nibble of byte 12; the high nibble is the version, 2). */
#define PP_V2_VERSION	0x20
#define PP_V2_CMD_LOCAL 0x00
#define PP_V2_CMD_PROXY 0x01
/* v2 family and transport (byte 13): the only ones we use or accept. */
#define PP_V2_UNSPEC	0x00
#define PP_V2_TCP4	0x11
#define PP_V2_TCP6	0x21
#define PP_V2_ADDR4_LEN 12 /* src, dst: 4 bytes each; ports: 2 each */
#define PP_V2_ADDR6_LEN 36 /* src, dst: 16 bytes each; ports: 2 each */
#define PP_V2_TLV_HEAD	3  /* type, length (2 bytes, big-endian) */

/* Longest v1 address token we take: an IPv6 address with an embedded IPv4
 * one ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"). */
#define PP_V1_ADDR_MAX 45

static uint16_t pp_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void pp_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Does buf[0..len) agree with sig[0..siglen) as far as both go? */
static bool pp_prefix_matches(const uint8_t *buf, size_t len, const uint8_t *sig, size_t siglen)
{
	size_t n = len < siglen ? len : siglen;

	return memcmp(buf, sig, n) == 0;
}

static void pp_set_addr(struct sockaddr_storage *ss, int family, const uint8_t *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = htons(port);
	}
}

/* A v1 port: "0" or 1..65535 without leading zeros. */
static bool pp_v1_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* A v1 address of the stated family. inet_pton is strict enough: for
 * AF_INET exactly four decimal parts without leading zeros. */
static bool pp_v1_addr(const char *s, size_t n, int family, uint8_t *addr)
{
	char tmp[PP_V1_ADDR_MAX + 1];

	/* A NUL would end the copy early and let trailing junk through. */
	if (n == 0 || n > PP_V1_ADDR_MAX || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(family, tmp, addr) == 1;
}

/*
 * v1, one line of text, at most 107 bytes with its CRLF:
 *
 *   "PROXY" SP "TCP4" SP src4 SP dst4 SP sport SP dport CRLF
 *   "PROXY" SP "TCP6" SP src6 SP dst6 SP sport SP dport CRLF
 *   "PROXY" SP "UNKNOWN" [SP anything] CRLF
 *
 * Exactly one space between fields; ports decimal without leading zeros.
 * line[0..n) is what follows "PROXY " up to (not including) the CRLF.
 */
static int pp_v1_line(const char *line, size_t n, struct proxyproto_header *h)
{
	const char *tok[4];
	size_t tlen[4];
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	int family;
	size_t i, t = 0, start;

	memset(h, 0, sizeof(*h));
	h->version = 1;
	if (n >= 7 && memcmp(line, "UNKNOWN", 7) == 0 && (n == 7 || line[7] == ' ')) {
		h->cmd = PROXYPROTO_CMD_LOCAL;
		return 0;
	}
	if (n < 5 || line[4] != ' ')
		return -PROTO_EMALFORMED;
	if (memcmp(line, "TCP4", 4) == 0)
		family = AF_INET;
	else if (memcmp(line, "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return -PROTO_EMALFORMED;

	/* Four fields split at single spaces; an empty field (two spaces, a
	 * space at either end) is malformed, as is a fifth. */
	start = 5;
	for (i = 5; i <= n; i++) {
		if (i < n && line[i] != ' ')
			continue;
		if (t == 4 || i == start)
			return -PROTO_EMALFORMED;
		tok[t] = line + start;
		tlen[t] = i - start;
		t++;
		start = i + 1;
	}
	if (t != 4)
		return -PROTO_EMALFORMED;
	if (!pp_v1_addr(tok[0], tlen[0], family, src) ||
	    !pp_v1_addr(tok[1], tlen[1], family, dst) || !pp_v1_port(tok[2], tlen[2], &sport) ||
	    !pp_v1_port(tok[3], tlen[3], &dport))
		return -PROTO_EMALFORMED;
	h->cmd = PROXYPROTO_CMD_PROXY;
	pp_set_addr(&h->src, family, src, sport);
	pp_set_addr(&h->dst, family, dst, dport);
	return 0;
}

static ssize_t pp_parse_v1(const uint8_t *buf, size_t len, struct proxyproto_header *out)
{
	size_t scan = len < PROXYPROTO_V1_MAX ? len : PROXYPROTO_V1_MAX;
	const uint8_t *lf;
	struct proxyproto_header h;
	int rc;

	if (!pp_prefix_matches(buf, len, (const uint8_t *)pp_v1_sig, PP_V1_SIG_LEN))
		return -PROTO_EVERSION;
	if (len < PP_V1_SIG_LEN)
		return 0;
	/* The line ends at the first LF, which must follow a CR. Without one
	 * in 107 bytes it never will be a header: a cap, so a peer cannot
	 * make us wait for more. */
	lf = memchr(buf, '\n', scan);
	if (lf == NULL)
		return len >= PROXYPROTO_V1_MAX ? -PROTO_ETOOLONG : 0;
	if (lf[-1] != '\r')
		return -PROTO_EMALFORMED;
	rc = pp_v1_line((const char *)buf + PP_V1_SIG_LEN, (size_t)(lf - 1 - (buf + PP_V1_SIG_LEN)),
			&h);
	if (rc < 0)
		return rc;
	*out = h;
	return lf + 1 - buf;
}

/* The TLVs after the address block: type, 2-byte length, value; each must
 * end inside the header. Their content does not matter to us (skipped). */
static int pp_v2_tlvs(const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t vlen;

		if (n < PP_V2_TLV_HEAD)
			return -PROTO_EMALFORMED;
		vlen = pp_get_be16(p + 1);
		if (vlen > n - PP_V2_TLV_HEAD)
			return -PROTO_EMALFORMED;
		p += PP_V2_TLV_HEAD + vlen;
		n -= PP_V2_TLV_HEAD + vlen;
	}
	return 0;
}

/*
 * v2, binary:
 *
 *   +----------------------------+-------+-------+-----------+
 *   | signature                  |ver/cmd|fam/tp |  length   |
 *   | 0D 0A 0D 0A 00 0D 0A 51    |  0x2C |  0xFT |  (BE16)   |
 *   | 55 49 54 0A                |       |       |           |
 *   +----------------------------+-------+-------+-----------+
 *              12                    1       1        2
 *
 *   then `length` bytes: the address block, then TLVs.
 *
 *   C (command): 0 LOCAL (the balancer's own connection: addresses, if
 *   any, are ignored), 1 PROXY.
 *   F T (family, transport): 0x00 UNSPEC, 0x11 TCP/IPv4, 0x21 TCP/IPv6
 *   (0x12/0x22 UDP, 0x31/0x32 AF_UNIX are refused for PROXY: not a TCP
 *   client we can apply rules to).
 *
 *   TCP/IPv4 block (12):   src addr(4)  dst addr(4)  src port(2) dst port(2)
 *   TCP/IPv6 block (36):   src addr(16) dst addr(16) src port(2) dst port(2)
 *
 *   TLV:  +------+--------+---------...+
 *         | type | length | value      |
 *         +------+--------+---------...+
 *            1       2      length
 */
static ssize_t pp_parse_v2(const uint8_t *buf, size_t len, struct proxyproto_header *out)
{
	struct proxyproto_header h;
	size_t total;
	uint8_t cmd, fam;

	if (!pp_prefix_matches(buf, len, pp_v2_sig, PP_V2_SIG_LEN))
		return -PROTO_EVERSION;
	if (len <= PP_V2_SIG_LEN)
		return 0;
	if ((buf[12] & 0xf0) != PP_V2_VERSION)
		return -PROTO_EVERSION;
	cmd = buf[12] & 0x0f;
	if (cmd != PP_V2_CMD_LOCAL && cmd != PP_V2_CMD_PROXY)
		return -PROTO_ECMD;
	if (len < 14)
		return 0;
	fam = buf[13];
	if (cmd == PP_V2_CMD_PROXY && fam != PP_V2_UNSPEC && fam != PP_V2_TCP4 && fam != PP_V2_TCP6)
		return -PROTO_EATYP;
	if (len < PROXYPROTO_V2_HEADER)
		return 0;
	total = PROXYPROTO_V2_HEADER + pp_get_be16(buf + 14);
	if (total > PROXYPROTO_V2_MAX)
		return -PROTO_ETOOLONG;
	if (len < total)
		return 0;

	memset(&h, 0, sizeof(h));
	h.version = 2;
	h.cmd = PROXYPROTO_CMD_LOCAL;
	/* LOCAL: "the receiver must discard the protocol block including the
	 * family" (the spec) -- skipped whole. */
	if (cmd == PP_V2_CMD_PROXY) {
		const uint8_t *a = buf + PROXYPROTO_V2_HEADER;
		size_t alen;

		alen = fam == PP_V2_TCP4   ? PP_V2_ADDR4_LEN
		       : fam == PP_V2_TCP6 ? PP_V2_ADDR6_LEN
					   : 0;
		if (total - PROXYPROTO_V2_HEADER < alen)
			return -PROTO_EMALFORMED;
		if (pp_v2_tlvs(a + alen, total - PROXYPROTO_V2_HEADER - alen) < 0)
			return -PROTO_EMALFORMED;
		if (fam == PP_V2_TCP4) {
			h.cmd = PROXYPROTO_CMD_PROXY;
			pp_set_addr(&h.src, AF_INET, a, pp_get_be16(a + 8));
			pp_set_addr(&h.dst, AF_INET, a + 4, pp_get_be16(a + 10));
		} else if (fam == PP_V2_TCP6) {
			h.cmd = PROXYPROTO_CMD_PROXY;
			pp_set_addr(&h.src, AF_INET6, a, pp_get_be16(a + 32));
			pp_set_addr(&h.dst, AF_INET6, a + 16, pp_get_be16(a + 34));
		}
		/* PROXY with UNSPEC: "the receiver must use the real connection
		 * endpoints" -- the same as LOCAL for us. */
	}
	*out = h;
	return (ssize_t)total;
}

ssize_t proxyproto_parse(const uint8_t *buf, size_t len, struct proxyproto_header *out)
{
	if (len == 0)
		return 0;
	if (buf[0] == (uint8_t)pp_v1_sig[0])
		return pp_parse_v1(buf, len, out);
	if (buf[0] == pp_v2_sig[0])
		return pp_parse_v2(buf, len, out);
	return -PROTO_EVERSION;
}

/* ---- encoder ---- */

/* An address as 16 bytes of IPv6 (IPv4 mapped) or 4 of IPv4, and its port. */
static int pp_addr_bytes(const struct sockaddr_storage *ss, bool as_v6, uint8_t *addr,
			 uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		if (as_v6) {
			memset(addr, 0, 10);
			addr[10] = addr[11] = 0xff;
			memcpy(addr + 12, &sin->sin_addr, 4);
		} else {
			memcpy(addr, &sin->sin_addr, 4);
		}
		*port = ntohs(sin->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6 && as_v6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		memcpy(addr, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -EINVAL;
}

static ssize_t pp_encode_v1(uint8_t *out, size_t cap, bool v6, const uint8_t *src, uint16_t sport,
			    const uint8_t *dst, uint16_t dport, bool local)
{
	char line[PROXYPROTO_V1_MAX + 1];
	int n;

	if (local) {
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	} else {
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
		int af = v6 ? AF_INET6 : AF_INET;

		if (inet_ntop(af, src, s, sizeof(s)) == NULL ||
		    inet_ntop(af, dst, d, sizeof(d)) == NULL)
			return -EINVAL;
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n", v6 ? "TCP6" : "TCP4",
			     s, d, sport, dport);
	}
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	if ((size_t)n > cap)
		return -ENOSPC;
	memcpy(out, line, (size_t)n);
	return n;
}

static ssize_t pp_encode_v2(uint8_t *out, size_t cap, bool v6, const uint8_t *src, uint16_t sport,
			    const uint8_t *dst, uint16_t dport, bool local)
{
	size_t alen = local ? 0 : v6 ? PP_V2_ADDR6_LEN : PP_V2_ADDR4_LEN;
	size_t asz = v6 ? 16 : 4;
	uint8_t *a = out + PROXYPROTO_V2_HEADER;

	if (cap < PROXYPROTO_V2_HEADER + alen)
		return -ENOSPC;
	memcpy(out, pp_v2_sig, PP_V2_SIG_LEN);
	out[12] = PP_V2_VERSION | (local ? PP_V2_CMD_LOCAL : PP_V2_CMD_PROXY);
	out[13] = local ? PP_V2_UNSPEC : v6 ? PP_V2_TCP6 : PP_V2_TCP4;
	pp_put_be16(out + 14, (uint16_t)alen);
	if (!local) {
		memcpy(a, src, asz);
		memcpy(a + asz, dst, asz);
		pp_put_be16(a + 2 * asz, sport);
		pp_put_be16(a + 2 * asz + 2, dport);
	}
	return (ssize_t)(PROXYPROTO_V2_HEADER + alen);
}

ssize_t proxyproto_encode(uint8_t *out, size_t cap, int version, const struct proxyproto_header *h)
{
	uint8_t src[16] = { 0 }, dst[16] = { 0 };
	uint16_t sport = 0, dport = 0;
	bool local, v6 = false;

	if (version != 1 && version != 2)
		return -EINVAL;
	if (h->cmd != PROXYPROTO_CMD_PROXY && h->cmd != PROXYPROTO_CMD_LOCAL)
		return -EINVAL;
	local = h->cmd == PROXYPROTO_CMD_LOCAL;
	if (!local) {
		/* Mixed families go out as IPv6, the IPv4 side mapped. */
		v6 = h->src.ss_family == AF_INET6 || h->dst.ss_family == AF_INET6;
		if (pp_addr_bytes(&h->src, v6, src, &sport) < 0 ||
		    pp_addr_bytes(&h->dst, v6, dst, &dport) < 0)
			return -EINVAL;
	}
	if (version == 1)
		return pp_encode_v1(out, cap, v6, src, sport, dst, dport, local);
	return pp_encode_v2(out, cap, v6, src, sport, dst, dport, local);
}
