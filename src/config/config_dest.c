/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* A destination as route and access rules write it: "*", a network
 * ("10.0.0.0/8", a bare address is /32 or /128), a domain and every name
 * under it (".corp.example") or one name ("host.example"), with an
 * optional port or port range. This module parses such text into a
 * struct config_route (its kind, address or name, ports) and writes it
 * back; policy/route.c matches targets against what it produced.
 *
 * Names are stored lower case, without a final dot, because
 * "Host.Example." and "host.example" are the same name in DNS. */
#include "config/config_dest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config/config_value.h"

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Length without one final dot ("example." is "example"), but never 0 for
 * a name that is only a dot. */
size_t config_dest_name_len(const char *name, size_t len)
{
	return len > 1 && name[len - 1] == '.' ? len - 1 : len;
}

static bool is_name_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Validate a host name and store it lower case, without a final dot, in
 * r->name. what is the text as written, for messages. */
static int name_parse(const char *name, const char *what, struct config_route *r, char *err,
		      size_t errlen)
{
	size_t len = config_dest_name_len(name, strlen(name));
	size_t label = 0;
	bool numeric = true; /* is the last label all digits? */

	if (len > CONFIG_ROUTE_NAME_MAX) {
		config_err_set(err, errlen,
			       "invalid destination '%." QUOTE_MAX "s...' (a name is at most %d "
			       "bytes)",
			       what, CONFIG_ROUTE_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = ascii_lower(name[i]);

		if (c == '.') {
			if (label == 0)
				goto invalid;
			label = 0;
			numeric = true;
			r->name[i] = c;
			continue;
		}
		if ((unsigned char)c >= 0x80) {
			config_err_set(err, errlen,
				       "invalid destination '%." QUOTE_MAX
				       "s' (write international "
				       "names in their xn-- form)",
				       what);
			return -1;
		}
		if (!is_name_byte(c))
			goto invalid;
		if (++label > 63) {
			config_err_set(err, errlen,
				       "invalid destination '%." QUOTE_MAX "s' (a label is at most "
				       "63 bytes)",
				       what);
			return -1;
		}
		numeric = numeric && c >= '0' && c <= '9';
		r->name[i] = c;
	}
	if (len == 0 || label == 0)
		goto invalid;
	/* No top-level domain is all digits: "10.0.0" or "256.1.1.1" is a
	 * mistyped address, not a name, and must not quietly become one. */
	if (numeric) {
		config_err_set(err, errlen, "invalid address '%." QUOTE_MAX "s'", what);
		return -1;
	}
	r->name[len] = '\0';
	return 0;

invalid:
	config_err_set(err, errlen,
		       "invalid destination '%." QUOTE_MAX "s' (expected *, an address, "
		       "ADDR/PREFIX, .domain or a host name)",
		       what);
	return -1;
}

/* Keep the first prefix bits of addr (of len bytes), zero the rest. */
static void prefix_mask(uint8_t *addr, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		unsigned bit = 8 * (unsigned)i; /* bits before byte i */
		unsigned keep = prefix >= bit + 8 ? 8 : prefix > bit ? prefix - bit : 0;

		addr[i] &= (uint8_t)(0xff00u >> keep);
	}
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* ADDR or ADDR/PREFIX. */
static int cidr_parse(const char *text, struct config_route *r, char *err, size_t errlen)
{
	const char *slash = strchr(text, '/');
	char host[INET6_ADDRSTRLEN];
	size_t hostlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix;
	unsigned max;
	uint8_t net[16];

	if (hostlen >= sizeof(host))
		goto invalid;
	memcpy(host, text, hostlen);
	host[hostlen] = '\0';
	memset(r->addr, 0, sizeof(r->addr));
	if (inet_pton(AF_INET, host, r->addr) == 1) {
		r->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, r->addr) == 1) {
		r->family = AF_INET6;
		max = 128;
	} else {
		goto invalid;
	}
	prefix = max;
	if (slash != NULL && config_parse_uint(slash + 1, max, &prefix) < 0) {
		if (slash[1] == '\0' || strspn(slash + 1, "0123456789") != strlen(slash + 1))
			goto invalid;
		config_err_set(err, errlen,
			       "invalid prefix length '/%." QUOTE_MAX "s' (at most %u for %s)",
			       slash + 1, max, max == 32 ? "IPv4" : "IPv6");
		return -1;
	}
	r->prefix = (unsigned)prefix;
	/* 10.1.0.0/8 is most likely a typo for 10.0.0.0/8 or 10.1.0.0/16;
	 * guessing either could route traffic the wrong way. */
	memcpy(net, r->addr, sizeof(net));
	prefix_mask(net, max / 8, r->prefix);
	if (memcmp(net, r->addr, max / 8) != 0) {
		char shown[INET6_ADDRSTRLEN];

		inet_ntop(r->family, net, shown, sizeof(shown));
		config_err_set(err, errlen,
			       "invalid network '%." QUOTE_MAX "s': host bits are set (did you "
			       "mean %s/%u?)",
			       text, shown, r->prefix);
		return -1;
	}
	/* ::ffff:10.0.0.0/104 is 10.0.0.0/8: targets are compared in their
	 * IPv4 form (see key_from_target). */
	if (r->family == AF_INET6 && r->prefix >= 96 && memcmp(r->addr, v4mapped, 12) == 0) {
		memmove(r->addr, r->addr + 12, 4);
		memset(r->addr + 4, 0, 12);
		r->family = AF_INET;
		r->prefix -= 96;
	}
	r->kind = CONFIG_DEST_CIDR;
	return 0;

invalid:
	config_err_set(err, errlen,
		       "invalid network '%." QUOTE_MAX "s' (expected ADDR/PREFIX, e.g. 10.0.0.0/8 "
		       "or 2001:db8::/32)",
		       text);
	return -1;
}

int config_dest_parse(const char *text, struct config_route *r, char *err, size_t errlen)
{
	uint8_t ip[16];

	if (*text == '\0') {
		config_err_set(err, errlen, "empty destination");
		return -1;
	}
	if (strcmp(text, "*") == 0) {
		r->kind = CONFIG_DEST_ANY;
		return 0;
	}
	if (strncmp(text, "*.", 2) == 0) {
		config_err_set(err, errlen,
			       "invalid destination '%." QUOTE_MAX "s' (write %." QUOTE_MAX
			       "s for a domain and every name under it)",
			       text, text + 1);
		return -1;
	}
	if (text[0] == '.') {
		if (text[1] == '\0' || strcmp(text, "..") == 0) {
			config_err_set(err, errlen,
				       "invalid destination '%s' (a domain goes after the dot: "
				       ".example)",
				       text);
			return -1;
		}
		if (name_parse(text + 1, text, r, err, errlen) < 0)
			return -1;
		r->kind = CONFIG_DEST_SUFFIX;
		return 0;
	}
	if (strchr(text, '/') != NULL || inet_pton(AF_INET, text, ip) == 1 ||
	    inet_pton(AF_INET6, text, ip) == 1)
		return cidr_parse(text, r, err, errlen);
	/* Colons only appear in addresses: say so rather than "invalid name". */
	if (strchr(text, ':') != NULL) {
		config_err_set(err, errlen, "invalid address '%." QUOTE_MAX "s'", text);
		return -1;
	}
	if (name_parse(text, text, r, err, errlen) < 0)
		return -1;
	r->kind = CONFIG_DEST_EXACT;
	return 0;
}

int config_dest_parse_ports(const char *text, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(text, '-');
	unsigned long a, b;
	char first[8];

	if (dash == NULL) {
		if (config_parse_uint(text, 65535, &a) < 0 || a == 0)
			return -1;
		*lo = *hi = (uint16_t)a;
		return 0;
	}
	if ((size_t)(dash - text) >= sizeof(first))
		return -1;
	memcpy(first, text, (size_t)(dash - text));
	first[dash - text] = '\0';
	if (config_parse_uint(first, 65535, &a) < 0 || config_parse_uint(dash + 1, 65535, &b) < 0 ||
	    a == 0 || a > b)
		return -1;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

int config_dest_format(const struct config_route *r, char *out, size_t cap)
{
	char dest[CONFIG_ROUTE_NAME_MAX + 8];
	char ports[24] = "";

	switch (r->kind) {
	case CONFIG_DEST_CIDR: {
		char ip[INET6_ADDRSTRLEN];
		unsigned full = r->family == AF_INET ? 32 : 128;

		inet_ntop(r->family, r->addr, ip, sizeof(ip));
		if (r->prefix == full)
			snprintf(dest, sizeof(dest), "%s", ip);
		else
			snprintf(dest, sizeof(dest), "%s/%u", ip, r->prefix);
		break;
	}
	case CONFIG_DEST_SUFFIX:
		snprintf(dest, sizeof(dest), ".%s", r->name);
		break;
	case CONFIG_DEST_EXACT:
		snprintf(dest, sizeof(dest), "%s", r->name);
		break;
	default:
		snprintf(dest, sizeof(dest), "*");
		break;
	}
	if (r->port_min == r->port_max)
		snprintf(ports, sizeof(ports), " port %u", r->port_min);
	else if (r->port_min != 0 || r->port_max != 65535)
		snprintf(ports, sizeof(ports), " port %u-%u", r->port_min, r->port_max);
	if (r->chain < 0 && r->via[0] == '\0')
		return snprintf(out, cap, "%s%s direct", dest, ports);
	return snprintf(out, cap, "%s%s via %s", dest, ports, r->via);
}
