/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* A destination as route and access rules write it (config_dest.c):
 * "*", "10.0.0.0/8", "2001:db8::/32", "192.0.2.7" (= /32), "::1"
 * (= /128), ".corp.example" (suffix), "host.example" (exact), and a port
 * or port range. Parsing and formatting only; matching is
 * policy/route.c's. */
#ifndef HOPSOCKS_CONFIG_DEST_H
#define HOPSOCKS_CONFIG_DEST_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Parse a rule's destination into r->kind and its address or name.
 * Returns 0, or -1 with a message in err. Other fields of r are left
 * alone. */
int config_dest_parse(const char *text, struct config_route *r, char *err, size_t errlen);

/* "P" or "P-Q", 1..65535, P <= Q. Returns 0, or -1. */
int config_dest_parse_ports(const char *text, uint16_t *lo, uint16_t *hi);

/* The rule as written, normalised, without "route": "10.0.0.0/8 port 443
 * via corp", ".onion via tor", "* direct". For logs and tests. Returns what
 * snprintf returns. */
int config_dest_format(const struct config_route *r, char *out, size_t cap);

/* The length of a name without one final dot ("example." is "example"),
 * but never 0 for a name that is only a dot: how rules compare names. */
size_t config_dest_name_len(const char *name, size_t len);

#endif
