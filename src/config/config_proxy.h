/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The proxy-protocol directive (config_proxy.c): which balancers may put
 * a PROXY protocol header in front of a connection, and which version. */
#ifndef HOPSOCKS_CONFIG_PROXY_H
#define HOPSOCKS_CONFIG_PROXY_H

#include <stddef.h>
#include <stdio.h>

#include "config/config.h"
#include "config/config_parse.h"

/* proxy-protocol v1|v2|any from NET [NET...] (config_load.c's table). */
int config_do_proxy_protocol(struct parse_state *ps, char *const *argv, char *err, size_t errlen);

/* The directive as the parser reads it back, for `hopsocks -T`: as many
 * lines as the networks need, or a comment when it is off. */
void config_proxy_dump(const struct config *cfg, FILE *out);

#endif
