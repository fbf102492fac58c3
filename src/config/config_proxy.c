/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The PROXY protocol directive:
 *
 *	proxy-protocol VERSION from NET { NET }
 *	VERSION := v1 | v2 | any
 *	NET     := ADDR | ADDR/PREFIX          (as an access rule's "from")
 *
 * It applies to every listen address of the file. A connection from one
 * of the networks must start with a header of that version; one from
 * elsewhere is refused (session.c). The list is the trust boundary: a
 * host in it can claim to be any client, so it names the balancers and
 * nothing else. Repeated lines add networks; they must agree on the
 * version. */
#include "config/config_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_dest.h"
#include "config/config_value.h"

/* A line has at most 11 words: "proxy-protocol VERSION from" and 8. */
#define PROXY_DUMP_PER_LINE 8

static int proxy_version(const char *text, unsigned *bits, char *err, size_t errlen)
{
	if (strcmp(text, "v1") == 0)
		*bits = CONFIG_PROXY_V1;
	else if (strcmp(text, "v2") == 0)
		*bits = CONFIG_PROXY_V2;
	else if (strcmp(text, "any") == 0)
		*bits = CONFIG_PROXY_V1 | CONFIG_PROXY_V2;
	else {
		config_err_set(err, errlen,
			       "unknown version '%." QUOTE_MAX "s' (expected v1, v2 or any)", text);
		return -1;
	}
	return 0;
}

/* An address or ADDR/PREFIX; names and "*" are refused: a balancer is
 * known by its address, and "from *" would let anyone name any client. */
static int proxy_net(const char *text, struct config_net *net, char *err, size_t errlen)
{
	struct config_route r;

	memset(&r, 0, sizeof(r));
	if (strcmp(text, "*") == 0 || config_dest_parse(text, &r, err, errlen) < 0 ||
	    r.kind != CONFIG_DEST_CIDR) {
		config_err_set(err, errlen,
			       "invalid address '%." QUOTE_MAX "s' (expected an address or "
			       "ADDR/PREFIX of the load balancers, e.g. 10.0.0.5 or 10.0.0.0/24)",
			       text);
		return -1;
	}
	net->family = r.family;
	net->prefix = r.prefix;
	memcpy(net->addr, r.addr, sizeof(net->addr));
	return 0;
}

int config_do_proxy_protocol(struct parse_state *ps, char *const *argv, char *err, size_t errlen)
{
	struct config *cfg = ps->cfg;
	struct config_net *grown;
	unsigned bits;
	size_t n = 0;

	if (proxy_version(argv[0], &bits, err, errlen) < 0)
		return -1;
	if (argv[1] == NULL || strcmp(argv[1], "from") != 0 || argv[2] == NULL) {
		config_err_set(err, errlen,
			       "expected 'from' and the balancers' addresses "
			       "(proxy-protocol v1|v2|any from NET [NET...])");
		return -1;
	}
	if (cfg->proxy_protocol != 0 && cfg->proxy_protocol != bits) {
		config_err_set(err, errlen,
			       "version %s differs from an earlier proxy-protocol line "
			       "(one version for every listener)",
			       argv[0]);
		return -1;
	}
	while (argv[2 + n] != NULL)
		n++;
	grown = realloc(cfg->proxy_from, (cfg->nproxy_from + n) * sizeof(*grown));
	if (grown == NULL) {
		config_err_set(err, errlen, "out of memory");
		return -1;
	}
	cfg->proxy_from = grown;
	for (size_t i = 0; i < n; i++)
		if (proxy_net(argv[2 + i], &cfg->proxy_from[cfg->nproxy_from + i], err, errlen) < 0)
			return -1;
	cfg->nproxy_from += n;
	cfg->proxy_protocol = bits;
	return 0;
}

static const char *proxy_version_text(unsigned bits)
{
	if (bits == CONFIG_PROXY_V1)
		return "v1";
	if (bits == CONFIG_PROXY_V2)
		return "v2";
	return "any";
}

void config_proxy_dump(const struct config *cfg, FILE *out)
{
	if (cfg->proxy_protocol == 0 || cfg->nproxy_from == 0) {
		fprintf(out, "# proxy-protocol: off (clients connect directly)\n");
		return;
	}
	for (size_t i = 0; i < cfg->nproxy_from; i++) {
		const struct config_net *net = &cfg->proxy_from[i];
		char ip[INET6_ADDRSTRLEN];

		if (i % PROXY_DUMP_PER_LINE == 0)
			fprintf(out, "%sproxy-protocol %s from", i > 0 ? "\n" : "",
				proxy_version_text(cfg->proxy_protocol));
		inet_ntop(net->family, net->addr, ip, sizeof(ip));
		if (net->prefix == (net->family == AF_INET ? 32u : 128u))
			fprintf(out, " %s", ip);
		else
			fprintf(out, " %s/%u", ip, net->prefix);
	}
	fputc('\n', out);
}
