/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* SOCKS5 (RFC 1928) and username/password authentication (RFC 1929): pure
 * parsers and encoders for the server side and for chain hops. No I/O, no
 * allocation; see socks5.h for the return conventions. */
#include "proto/socks5.h"

#include <errno.h>
#include <string.h>

static uint16_t socks5_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void socks5_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- addresses, shared by request, reply and UDP header ---- */

/*
 *   +------+----------+----------+
 *   | ATYP | DST.ADDR | DST.PORT |
 *   +------+----------+----------+
 *   |  1   | Variable |    2     |
 *   +------+----------+----------+
 *
 * ATYP 0x01: 4 bytes IPv4; 0x04: 16 bytes IPv6;
 * ATYP 0x03: one length byte (1..255), then that many bytes, no NUL.
 *
 * p points at ATYP. Returns the bytes of ATYP..PORT, 0 for more, or
 * -PROTO_EATYP / -PROTO_EDOMAIN as soon as the deciding byte is present.
 */
static ssize_t socks5_parse_addr(const uint8_t *p, size_t len, struct target *t)
{
	size_t alen;

	if (len < 1)
		return 0;
	switch (p[0]) {
	case TARGET_IPV4:
		alen = 4;
		break;
	case TARGET_IPV6:
		alen = 16;
		break;
	case TARGET_DOMAIN:
		if (len < 2)
			return 0;
		if (p[1] == 0)
			return -PROTO_EDOMAIN;
		alen = 1 + (size_t)p[1];
		break;
	default:
		return -PROTO_EATYP;
	}
	size_t total = 1 + alen + 2;
	if (len < total)
		return 0;

	uint16_t port = socks5_get_be16(p + 1 + alen);
	if (p[0] == TARGET_DOMAIN) {
		/* target_set_domain refuses an embedded NUL: names are C strings
		 * for the resolver, and "a\0.evil" must not become "a". */
		if (target_set_domain(t, (const char *)p + 2, p[1], port) != 0)
			return -PROTO_EDOMAIN;
		return (ssize_t)total;
	}
	memset(t, 0, sizeof(*t));
	t->type = p[0];
	t->port = port;
	memcpy(t->type == TARGET_IPV4 ? t->addr.ipv4 : t->addr.ipv6, p + 1, alen);
	return (ssize_t)total;
}

/* Wire length of t as ATYP..PORT, or -EINVAL if it cannot be sent. */
static ssize_t socks5_addr_len(const struct target *t)
{
	switch (t->type) {
	case TARGET_IPV4:
		return 1 + 4 + 2;
	case TARGET_IPV6:
		return 1 + 16 + 2;
	case TARGET_DOMAIN:
		/* Refuse what our own parser would refuse. */
		if (t->domain_len == 0 || memchr(t->addr.domain, '\0', t->domain_len) != NULL)
			return -EINVAL;
		return 1 + 1 + t->domain_len + 2;
	default:
		return -EINVAL;
	}
}

/* The request, the reply and the UDP header all are three fixed bytes and
 * then an address: write that shape, checking everything first. */
static ssize_t socks5_encode_with_addr(uint8_t *out, size_t cap, const uint8_t head[3],
				       const struct target *t)
{
	ssize_t alen = socks5_addr_len(t);

	if (alen < 0)
		return alen;
	size_t total = 3 + (size_t)alen;
	if (total > cap)
		return -ENOSPC;

	memcpy(out, head, 3);
	uint8_t *p = out + 3;
	*p++ = t->type;
	switch (t->type) {
	case TARGET_IPV4:
		memcpy(p, t->addr.ipv4, 4);
		p += 4;
		break;
	case TARGET_IPV6:
		memcpy(p, t->addr.ipv6, 16);
		p += 16;
		break;
	default: /* TARGET_DOMAIN, checked by socks5_addr_len */
		*p++ = t->domain_len;
		memcpy(p, t->addr.domain, t->domain_len);
		p += t->domain_len;
		break;
	}
	socks5_put_be16(p, t->port);
	return (ssize_t)total;
}

/* A socket address as an address to tell the client. NULL, or a family we
 * cannot send (say, a zeroed sockaddr after getsockname() failed), is
 * 0.0.0.0:0: a reply with a useless address beats no reply at all.
 * IPv4-mapped IPv6 goes out as IPv4: the client reached us over IPv4 and
 * may not speak IPv6 at all. */
static void socks5_target_from_bnd(struct target *t, const struct sockaddr *bnd)
{
	if (bnd == NULL || target_from_sockaddr(t, bnd) != 0) {
		memset(t, 0, sizeof(*t));
		t->type = TARGET_IPV4;
		return;
	}
	target_unmap_ipv4(t);
}

/* ---- method negotiation ---- */

/*
 * Greeting, client -> server:
 *
 *   +----+----------+----------+
 *   |VER | NMETHODS | METHODS  |
 *   +----+----------+----------+
 *   | 1  |    1     | 1 to 255 |
 *   +----+----------+----------+
 */
ssize_t socks5_parse_greeting(const uint8_t *buf, size_t len, struct socks5_greeting *out)
{
	if (len < 1)
		return 0;
	if (buf[0] != SOCKS5_VERSION)
		return -PROTO_EVERSION;
	if (len < 2)
		return 0;
	if (buf[1] == 0)
		return -PROTO_ENOMETHODS;
	size_t total = 2 + (size_t)buf[1];
	if (len < total)
		return 0;

	memset(out, 0, sizeof(*out));
	out->nmethods = buf[1];
	memcpy(out->methods, buf + 2, buf[1]);
	return (ssize_t)total;
}

bool socks5_greeting_offers(const struct socks5_greeting *g, uint8_t method)
{
	return memchr(g->methods, method, g->nmethods) != NULL;
}

ssize_t socks5_encode_greeting(uint8_t *out, size_t cap, const uint8_t *methods, size_t n)
{
	if (n == 0 || n > 255 || methods == NULL)
		return -EINVAL;
	if (2 + n > cap)
		return -ENOSPC;
	out[0] = SOCKS5_VERSION;
	out[1] = (uint8_t)n;
	memcpy(out + 2, methods, n);
	return (ssize_t)(2 + n);
}

/*
 * Method choice, server -> client:
 *
 *   +----+--------+
 *   |VER | METHOD |
 *   +----+--------+
 *   | 1  |   1    |
 *   +----+--------+
 *
 * METHOD 0xff = no acceptable method; the caller decides what that means.
 */
ssize_t socks5_encode_method_choice(uint8_t *out, size_t cap, uint8_t method)
{
	if (cap < 2)
		return -ENOSPC;
	out[0] = SOCKS5_VERSION;
	out[1] = method;
	return 2;
}

ssize_t socks5_parse_method_choice(const uint8_t *buf, size_t len, uint8_t *method)
{
	if (len < 1)
		return 0;
	if (buf[0] != SOCKS5_VERSION)
		return -PROTO_EVERSION;
	if (len < 2)
		return 0;
	*method = buf[1];
	return 2;
}

/* ---- RFC 1929 ---- */

/*
 * Username/password request, client -> server:
 *
 *   +----+------+----------+------+----------+
 *   |VER | ULEN |  UNAME   | PLEN |  PASSWD  |
 *   +----+------+----------+------+----------+
 *   | 1  |  1   | 1 to 255 |  1   | 0 to 255 |
 *   +----+------+----------+------+----------+
 *
 * VER = 0x01 (the subnegotiation version, not 5). RFC 1929 says PLEN >= 1,
 * but an empty password is a real configuration; we accept it.
 */
ssize_t socks5_parse_userpass(const uint8_t *buf, size_t len, struct socks5_userpass *out)
{
	if (len < 1)
		return 0;
	if (buf[0] != SOCKS5_USERPASS_VERSION)
		return -PROTO_EVERSION;
	if (len < 2)
		return 0;
	size_t ulen = buf[1];
	if (ulen == 0)
		return -PROTO_EUSER;
	if (len < 2 + ulen + 1)
		return 0;
	size_t plen = buf[2 + ulen];
	size_t total = 3 + ulen + plen;
	if (len < total)
		return 0;

	const uint8_t *user = buf + 2;
	const uint8_t *pass = buf + 3 + ulen;
	/* The copies are C strings: a NUL inside would make "alice\0x" log in
	 * as "alice". */
	if (memchr(user, '\0', ulen) != NULL || memchr(pass, '\0', plen) != NULL)
		return -PROTO_EMALFORMED;

	memset(out, 0, sizeof(*out));
	out->ulen = (uint8_t)ulen;
	out->plen = (uint8_t)plen;
	memcpy(out->user, user, ulen);
	memcpy(out->pass, pass, plen);
	return (ssize_t)total;
}

ssize_t socks5_encode_userpass(uint8_t *out, size_t cap, const char *user, const char *pass)
{
	if (user == NULL)
		return -EINVAL;
	if (pass == NULL)
		pass = "";
	size_t ulen = strlen(user);
	size_t plen = strlen(pass);
	if (ulen == 0 || ulen > 255 || plen > 255)
		return -EINVAL;
	size_t total = 3 + ulen + plen;
	if (total > cap)
		return -ENOSPC;

	out[0] = SOCKS5_USERPASS_VERSION;
	out[1] = (uint8_t)ulen;
	memcpy(out + 2, user, ulen);
	out[2 + ulen] = (uint8_t)plen;
	memcpy(out + 3 + ulen, pass, plen);
	return (ssize_t)total;
}

/*
 * Username/password reply, server -> client:
 *
 *   +----+--------+
 *   |VER | STATUS |
 *   +----+--------+
 *   | 1  |   1    |
 *   +----+--------+
 *
 * STATUS 0x00 = success; anything else = failure, and the server closes.
 */
ssize_t socks5_encode_userpass_reply(uint8_t *out, size_t cap, uint8_t status)
{
	if (cap < 2)
		return -ENOSPC;
	out[0] = SOCKS5_USERPASS_VERSION;
	out[1] = status;
	return 2;
}

ssize_t socks5_parse_userpass_reply(const uint8_t *buf, size_t len, uint8_t *status)
{
	if (len < 1)
		return 0;
	/* Some servers answer with VER 0x05 instead of 0x01; the status byte
	 * is what matters, so tolerate both. */
	if (buf[0] != SOCKS5_USERPASS_VERSION && buf[0] != SOCKS5_VERSION)
		return -PROTO_EVERSION;
	if (len < 2)
		return 0;
	*status = buf[1];
	return 2;
}

/* ---- request and reply ---- */

bool socks5_cmd_known(uint8_t cmd)
{
	return cmd == SOCKS5_CMD_CONNECT || cmd == SOCKS5_CMD_BIND ||
	       cmd == SOCKS5_CMD_UDP_ASSOCIATE || cmd == SOCKS5_CMD_RESOLVE ||
	       cmd == SOCKS5_CMD_RESOLVE_PTR;
}

/*
 * Request, client -> server:
 *
 *   +----+-----+-------+------+----------+----------+
 *   |VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |
 *   +----+-----+-------+------+----------+----------+
 *   | 1  |  1  | X'00' |  1   | Variable |    2     |
 *   +----+-----+-------+------+----------+----------+
 */
ssize_t socks5_parse_request(const uint8_t *buf, size_t len, struct socks5_request *out)
{
	struct target dst;

	if (len < 1)
		return 0;
	if (buf[0] != SOCKS5_VERSION)
		return -PROTO_EVERSION;
	if (len < 3)
		return 0;
	ssize_t n = socks5_parse_addr(buf + 3, len - 3, &dst);
	if (n <= 0)
		return n;

	out->cmd = buf[1];
	out->dst = dst;
	return 3 + n;
}

ssize_t socks5_encode_request(uint8_t *out, size_t cap, uint8_t cmd, const struct target *dst)
{
	const uint8_t head[3] = { SOCKS5_VERSION, cmd, 0x00 };

	if (!socks5_cmd_known(cmd))
		return -EINVAL;
	return socks5_encode_with_addr(out, cap, head, dst);
}

/*
 * Reply, server -> client:
 *
 *   +----+-----+-------+------+----------+----------+
 *   |VER | REP |  RSV  | ATYP | BND.ADDR | BND.PORT |
 *   +----+-----+-------+------+----------+----------+
 *   | 1  |  1  | X'00' |  1   | Variable |    2     |
 *   +----+-----+-------+------+----------+----------+
 */
ssize_t socks5_encode_reply(uint8_t *out, size_t cap, uint8_t rep, const struct sockaddr *bnd)
{
	const uint8_t head[3] = { SOCKS5_VERSION, rep, 0x00 };
	struct target t;

	socks5_target_from_bnd(&t, bnd);
	return socks5_encode_with_addr(out, cap, head, &t);
}

ssize_t socks5_encode_reply_target(uint8_t *out, size_t cap, uint8_t rep, const struct target *bnd)
{
	const uint8_t head[3] = { SOCKS5_VERSION, rep, 0x00 };

	return socks5_encode_with_addr(out, cap, head, bnd);
}

ssize_t socks5_parse_reply(const uint8_t *buf, size_t len, struct socks5_reply *out)
{
	struct target bnd;

	if (len < 1)
		return 0;
	if (buf[0] != SOCKS5_VERSION)
		return -PROTO_EVERSION;
	if (len < 3)
		return 0;
	/* REP is passed through: any non-zero value is a refusal the caller
	 * maps; RSV is ignored like in requests. */
	ssize_t n = socks5_parse_addr(buf + 3, len - 3, &bnd);
	if (n <= 0)
		return n;

	out->rep = buf[1];
	out->bnd = bnd;
	return 3 + n;
}

/* ---- UDP datagram header (RFC 1928 section 7) ---- */

/*
 *   +----+------+------+----------+----------+----------+
 *   |RSV | FRAG | ATYP | DST.ADDR | DST.PORT |   DATA   |
 *   +----+------+------+----------+----------+----------+
 *   | 2  |  1   |  1   | Variable |    2     | Variable |
 *   +----+------+------+----------+----------+----------+
 *
 * A datagram arrives whole, so "need more" cannot happen: a short one is
 * malformed. RSV is not checked, as in requests; FRAG is returned and the
 * caller drops FRAG != 0 (we do not reassemble).
 */
ssize_t socks5_parse_udp_header(const uint8_t *buf, size_t len, struct socks5_udp_header *out)
{
	struct target dst;

	if (len < 4)
		return -PROTO_EMALFORMED;
	ssize_t n = socks5_parse_addr(buf + 3, len - 3, &dst);
	if (n == 0)
		return -PROTO_EMALFORMED;
	if (n < 0)
		return n;

	out->frag = buf[2];
	out->dst = dst;
	return 3 + n;
}

ssize_t socks5_encode_udp_header(uint8_t *out, size_t cap, const struct target *dst)
{
	static const uint8_t head[3] = { 0x00, 0x00, 0x00 }; /* RSV RSV FRAG */

	return socks5_encode_with_addr(out, cap, head, dst);
}

/* ---- error mapping ---- */

uint8_t socks5_rep_from_errno(int err)
{
	if (err < 0)
		err = -err; /* tolerate -errno, the house return style */
	switch (err) {
	case ENETUNREACH:
		return SOCKS5_REP_NET_UNREACHABLE;
	case EHOSTUNREACH:
		return SOCKS5_REP_HOST_UNREACHABLE;
	case ECONNREFUSED:
		return SOCKS5_REP_CONN_REFUSED;
	case ETIMEDOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	case EACCES:
	case EPERM:
		return SOCKS5_REP_NOT_ALLOWED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

const char *socks5_rep_name(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_SUCCEEDED:
		return "succeeded";
	case SOCKS5_REP_GENERAL_FAILURE:
		return "general failure";
	case SOCKS5_REP_NOT_ALLOWED:
		return "not allowed by ruleset";
	case SOCKS5_REP_NET_UNREACHABLE:
		return "network unreachable";
	case SOCKS5_REP_HOST_UNREACHABLE:
		return "host unreachable";
	case SOCKS5_REP_CONN_REFUSED:
		return "connection refused";
	case SOCKS5_REP_TTL_EXPIRED:
		return "TTL expired";
	case SOCKS5_REP_CMD_NOT_SUPPORTED:
		return "command not supported";
	case SOCKS5_REP_ATYP_NOT_SUPPORTED:
		return "address type not supported";
	default:
		return "unknown reply code";
	}
}
