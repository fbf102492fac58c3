/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The effective configuration as a configuration file (`hopsocks -T`). */
#ifndef HOPSOCKS_CONFIG_DUMP_H
#define HOPSOCKS_CONFIG_DUMP_H

#include <stdio.h>

#include "config/config.h"

/* Write every directive of cfg (after config_finish) with its value,
 * defaults included, one a line; chain blocks with their hops, hop
 * passwords as "***"; unset settings as comments. */
void config_dump(const struct config *cfg, FILE *out);

#endif
