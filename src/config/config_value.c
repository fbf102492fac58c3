/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The config language's value parsers: numbers, durations and numeric
 * addresses (listen, outgoing, resolver). Pure functions: no I/O and, on
 * purpose, no name lookups, so a parse never depends on DNS. */
#include "config/config_value.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void config_err_at(const struct config *cfg, unsigned line, char *err, size_t errlen,
		   const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (err == NULL || errlen == 0)
		return;
	if (line != 0 && cfg->source != NULL)
		n = snprintf(err, errlen, "%s:%u: ", cfg->source, line);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- numbers and durations ---- */

/* Decimal digits only: no sign, no spaces, no "0x", so "-1" cannot wrap
 * around to a huge unsigned value the way strtoul would let it. */
int config_parse_uint(const char *text, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (*text == '\0')
		return -1;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (max - (unsigned long)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	*out = v;
	return 0;
}

int config_parse_duration(const char *text, unsigned *ms)
{
	static const struct {
		const char *suffix;
		unsigned long factor;
	} units[] = {
		{ "ms", 1 },  { "s", 1000 }, { "m", 60 * 1000 }, { "h", 60 * 60 * 1000 },
		{ "", 1000 },
	};
	char digits[24];
	size_t ndigits = strspn(text, "0123456789");
	unsigned long v;

	if (ndigits == 0 || ndigits >= sizeof(digits))
		return -1;
	memcpy(digits, text, ndigits);
	digits[ndigits] = '\0';

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(text + ndigits, units[i].suffix) != 0)
			continue;
		/* The result must fit the unsigned milliseconds the loop uses. */
		if (config_parse_uint(digits, UINT_MAX / units[i].factor, &v) < 0)
			return -1;
		*ms = (unsigned)(v * units[i].factor);
		return 0;
	}
	return -1;
}

/* ---- addresses ---- */

static void addr_fill(struct config_addr *out, int family, const void *ip, uint16_t port)
{
	char ip_text[INET6_ADDRSTRLEN];

	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip, sizeof(sin->sin_addr));
		out->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip, sizeof(sin6->sin6_addr));
		out->len = sizeof(*sin6);
	}
	inet_ntop(family, ip, ip_text, sizeof(ip_text));
	/* A port needs brackets around an IPv6 address; a bare host does not. */
	if (port == 0)
		snprintf(out->text, sizeof(out->text), "%s", ip_text);
	else if (family == AF_INET)
		snprintf(out->text, sizeof(out->text), "%s:%u", ip_text, port);
	else
		snprintf(out->text, sizeof(out->text), "[%s]:%u", ip_text, port);
}

bool config_addr_equal(const struct config_addr *a, const struct config_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
		const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
	const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;

	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static int port_parse(const char *text, uint16_t *port, char *err, size_t errlen)
{
	unsigned long v;

	if (*text == '\0') {
		config_err_set(err, errlen, "missing port");
		return -1;
	}
	if (config_parse_uint(text, 65535, &v) < 0 || v == 0) {
		config_err_set(err, errlen, "invalid port '%." QUOTE_MAX "s'", text);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* Split "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or an unbracketed IPv6
 * address into host and port text. port is NULL when none was written.
 * bracketed tells the caller the host can only be IPv6. */
static int addr_split(const char *text, char *host, size_t hostlen, const char **port,
		      bool *bracketed, char *err, size_t errlen)
{
	const char *host_start = text;
	const char *host_end;
	const char *colon = strchr(text, ':');

	*port = NULL;
	*bracketed = text[0] == '[';
	if (*bracketed) {
		host_start = text + 1;
		host_end = strchr(host_start, ']');
		if (host_end == NULL) {
			config_err_set(err, errlen, "missing ']' in '%." QUOTE_MAX "s'", text);
			return -1;
		}
		if (host_end[1] == ':')
			*port = host_end + 2;
		else if (host_end[1] != '\0')
			goto invalid;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		host_end = colon;
		*port = colon + 1;
	} else {
		/* No colon, or several: an IPv6 address without a port. */
		host_end = text + strlen(text);
	}
	if ((size_t)(host_end - host_start) >= hostlen)
		goto invalid;
	memcpy(host, host_start, (size_t)(host_end - host_start));
	host[host_end - host_start] = '\0';
	return 0;

invalid:
	config_err_set(err, errlen, "invalid address '%." QUOTE_MAX "s'", text);
	return -1;
}

/* The one address parser behind listen, outgoing and resolver. Only numeric
 * addresses: resolving a name here would make the parse depend on DNS. */
/* "localhost", or letters, digits, dots and hyphens with a letter and a
 * dot: a DNS name someone wrote where an address belongs ("eth0" is more
 * likely an interface, and gets the plain message). */
static bool looks_like_name(const char *host)
{
	bool letter = false;

	for (const char *p = host; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			letter = true;
		else if (!(*p >= '0' && *p <= '9') && *p != '.' && *p != '-')
			return false;
	}
	return strcmp(host, "localhost") == 0 || (letter && strchr(host, '.') != NULL);
}

int config_addr_parse(const char *text, enum config_port_rule rule, uint16_t default_port,
		      struct config_addr *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *port_text;
	bool bracketed;
	unsigned char ip[sizeof(struct in6_addr)];
	uint16_t port = default_port;
	int family;

	if (*text == '\0') {
		config_err_set(err, errlen, "empty address");
		return -1;
	}
	if (addr_split(text, host, sizeof(host), &port_text, &bracketed, err, errlen) < 0)
		return -1;
	if (port_text != NULL && rule == CONFIG_PORT_FORBIDDEN) {
		config_err_set(err, errlen, "a port is not allowed here: '%." QUOTE_MAX "s'", text);
		return -1;
	}
	if (port_text == NULL && rule == CONFIG_PORT_REQUIRED) {
		config_err_set(err, errlen, "missing port in '%." QUOTE_MAX "s'%s", text,
			       !bracketed && strchr(host, ':') != NULL
				       ? " (write IPv6 addresses as [ADDR]:PORT)"
				       : "");
		return -1;
	}
	if (port_text != NULL && port_parse(port_text, &port, err, errlen) < 0)
		return -1;

	/* Unbracketed text with one colon was split as HOST:PORT, so its host
	 * cannot be IPv6 (which needs two colons): no ambiguity here. */
	if (!bracketed && inet_pton(AF_INET, host, ip) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, host, ip) == 1) {
		family = AF_INET6;
	} else if (looks_like_name(host)) {
		/* Names would need a lookup at start and again at every reload,
		 * and a name with several addresses has no one meaning here. */
		config_err_set(err, errlen,
			       "'%." QUOTE_MAX "s' is a host name; only IP addresses are accepted "
			       "here%s",
			       host, strcmp(host, "localhost") == 0 ? " (127.0.0.1 or [::1])" : "");
		return -1;
	} else {
		config_err_set(err, errlen, "invalid address '%." QUOTE_MAX "s'%s", host,
			       strchr(host, '%') != NULL ? " (scope ids are not supported)" : "");
		return -1;
	}
	addr_fill(out, family, ip, port);
	return 0;
}

int config_parse_listen(const char *text, struct config_addr *out, char *err, size_t errlen)
{
	static const unsigned char any[4] = { 0, 0, 0, 0 };
	static const unsigned char loopback[4] = { 127, 0, 0, 1 };
	uint16_t port;

	/* "1080" alone means loopback: safe by default. */
	if (*text != '\0' && strspn(text, "0123456789") == strlen(text)) {
		if (port_parse(text, &port, err, errlen) < 0)
			return -1;
		addr_fill(out, AF_INET, loopback, port);
		return 0;
	}
	if (strncmp(text, "*:", 2) == 0) {
		if (port_parse(text + 2, &port, err, errlen) < 0)
			return -1;
		addr_fill(out, AF_INET, any, port);
		return 0;
	}
	if (config_addr_parse(text, CONFIG_PORT_REQUIRED, 0, out, err, errlen) < 0)
		return -1;
	return 0;
}

int config_parse_host(const char *text, struct config_addr *out, char *err, size_t errlen)
{
	return config_addr_parse(text, CONFIG_PORT_FORBIDDEN, 0, out, err, errlen);
}

/* ---- keywords, counts and durations with their error messages ---- */

int config_parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true" };
	static const char *const no[] = { "off", "no", "false" };

	for (size_t i = 0; i < 3; i++) {
		if (strcmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int config_keyword(const char *text, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(text, names[i]) == 0)
			return i;
	return -1;
}

int config_bad_keyword(const char *value, const char *expected, char *err, size_t errlen)
{
	config_err_set(err, errlen, "invalid value '%." QUOTE_MAX "s' (expected %s)", value,
		       expected);
	return -1;
}

int config_set_count(unsigned *slot, const char *value, unsigned long max, const char *hint,
		     char *err, size_t errlen)
{
	unsigned long v;

	if (config_parse_uint(value, max, &v) < 0) {
		config_err_set(err, errlen, "invalid number '%." QUOTE_MAX "s' (%s)", value, hint);
		return -1;
	}
	*slot = (unsigned)v;
	return 0;
}

int config_set_size(unsigned *slot, const char *value, unsigned long max, char *err, size_t errlen)
{
	char digits[24];
	size_t n = strlen(value);
	unsigned long unit = 1, v = 0;
	if (n > 0 && (value[n - 1] == 'k' || value[n - 1] == 'K'))
		unit = 1024;
	else if (n > 0 && (value[n - 1] == 'm' || value[n - 1] == 'M'))
		unit = 1024 * 1024;
	if (unit > 1)
		n--;
	int rc = -1;
	if (n > 0 && n < sizeof(digits)) {
		memcpy(digits, value, n);
		digits[n] = '\0';
		rc = config_parse_uint(digits, max / unit, &v);
	}
	if (rc < 0) {
		config_err_set(err, errlen,
			       "invalid size '%." QUOTE_MAX "s' (bytes, or with k or m: 64k, 1m)",
			       value);
		return -1;
	}
	*slot = (unsigned)(v * unit);
	return 0;
}

int config_set_duration(unsigned *slot, const char *value, char *err, size_t errlen)
{
	if (config_parse_duration(value, slot) < 0) {
		config_err_set(err, errlen,
			       "invalid duration '%." QUOTE_MAX "s' (examples: 500ms, 10s, 5m, 1h)",
			       value);
		return -1;
	}
	return 0;
}

int config_set_string(char **slot, const char *value)
{
	char *copy = NULL;

	if (value != NULL) {
		copy = strdup(value);
		if (copy == NULL)
			return -1;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/* Are the bits of ip (len bytes) past prefix all zero? */
static bool host_bits_zero(const uint8_t *ip, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
		uint8_t mask = keep == 8 ? 0xff : (uint8_t)(0xff00u >> keep);
		if (ip[i] & (uint8_t)~mask)
			return false;
	}
	return true;
}

/* "NET/LEN" for a random source: the network with its host bits zero. */
static int source_parse_prefix(const char *text, struct config_source *out, char *err,
			       size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	unsigned long len;

	if (slash == NULL) {
		config_err_set(err, errlen,
			       "'random' needs a prefix, not one address: '%." QUOTE_MAX "s' "
			       "(e.g. 2001:db8:1::/64 random)",
			       text);
		return -1;
	}
	if ((size_t)(slash - text) >= sizeof(host)) {
		config_err_set(err, errlen, "invalid prefix '%." QUOTE_MAX "s'", text);
		return -1;
	}
	memcpy(host, text, (size_t)(slash - text));
	host[slash - text] = '\0';
	if (config_parse_host(host, &out->addr, err, errlen) < 0)
		return -1;
	bool v4 = out->addr.ss.ss_family == AF_INET;
	unsigned full = v4 ? 32 : 128;
	const uint8_t *ip =
		v4 ? (const uint8_t *)&((const struct sockaddr_in *)&out->addr.ss)->sin_addr
		   : (const uint8_t *)&((const struct sockaddr_in6 *)&out->addr.ss)->sin6_addr;
	/* A whole-length prefix is one address: no choice to make at random;
	 * an IPv4 /31 would have only its network and broadcast addresses,
	 * which are never picked. */
	unsigned max = v4 ? full - 2 : full - 1;
	if (config_parse_uint(slash + 1, max, &len) < 0 || len == 0) {
		config_err_set(err, errlen, "invalid prefix length in '%." QUOTE_MAX "s' (1..%u)",
			       text, max);
		return -1;
	}
	if (!host_bits_zero(ip, v4 ? 4 : 16, (unsigned)len)) {
		config_err_set(err, errlen,
			       "'%." QUOTE_MAX "s' has host bits set (write the network address)",
			       text);
		return -1;
	}
	out->random_prefix = (unsigned)len;
	char net[sizeof(out->addr.text)];
	memcpy(net, out->addr.text, sizeof(net));
	snprintf(out->addr.text, sizeof(out->addr.text), "%.*s/%lu", INET6_ADDRSTRLEN, net, len);
	return 0;
}

int config_source_parse(char *const *argv, struct config_source *out, size_t *used, char *err,
			size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (argv[0] == NULL) {
		config_err_set(err, errlen, "missing address");
		return -1;
	}
	if (argv[1] != NULL && strcmp(argv[1], "random") == 0) {
		*used = 2;
		return source_parse_prefix(argv[0], out, err, errlen);
	}
	if (strchr(argv[0], '/') != NULL) {
		config_err_set(err, errlen,
			       "'%." QUOTE_MAX "s' is a prefix: add 'random' to pick a source "
			       "inside it, or give one address",
			       argv[0]);
		return -1;
	}
	*used = 1;
	return config_parse_host(argv[0], &out->addr, err, errlen);
}

int config_source_format(const struct config_source *s, char *out, size_t cap)
{
	return snprintf(out, cap, "%s%s", s->addr.text, s->random_prefix ? " random" : "");
}
