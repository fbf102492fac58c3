/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* A chain's hops and mode taken from a proxychains-ng configuration file
 * (config_pcfile.c): "chain NAME { proxychains FILE }" and --chain-file.
 * The mapping onto hopsocks' chains, and what is refused, is described
 * there and in hopsocks.conf(5). */
#ifndef HOPSOCKS_CONFIG_PCFILE_H
#define HOPSOCKS_CONFIG_PCFILE_H

#include <stddef.h>

#include "config/config.h"

/* Parse the text of a proxychains file into c: its hops (c->hops must be
 * NULL), mode, length, resolve_local, step_timeout_ms and
 * pick_as_proxychains. Pure: no I/O, no name lookups. Returns 0, or -1 with
 * a message (without a "FILE:LINE: " prefix) in err and the line it is
 * about in *line; c is then unchanged. */
int config_pcfile_parse(const char *text, size_t len, struct config_chain *c, unsigned *line,
			char *err, size_t errlen);

/* Read and parse c->pc_file into c. Returns 0, or -1 with "FILE:LINE:
 * message" in err, or "WHAT: FILE: strerror" when it cannot be read. */
int config_pcfile_load(struct config_chain *c, const char *what, char *err, size_t errlen);

/* config_pcfile_load() for every chain of cfg that names a file and has
 * no hop yet (config_load_file calls this after the text is parsed). */
int config_chain_files_load(struct config *cfg, char *err, size_t errlen);

#endif
