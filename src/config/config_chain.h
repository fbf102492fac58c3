/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* "chain NAME { ... }" blocks, "route" rules and the command line's
 * --chain (config_chain.c). */
#ifndef HOPSOCKS_CONFIG_CHAIN_H
#define HOPSOCKS_CONFIG_CHAIN_H

#include <stddef.h>

#include "config/config.h"
#include "config/config_parse.h"

/* "chain NAME {" at the top level (lw->word[0] is "chain"). */
int config_chain_open(struct parse_state *ps, const struct line_words *lw, char *err,
		      size_t errlen);
/* Any line inside an open block, "}" included. */
int config_chain_line(struct parse_state *ps, const struct line_words *lw, char *err,
		      size_t errlen);
/* After the last line: an unclosed block, routes naming unknown chains.
 * Sets ps->err_line to the line the error is about. */
int config_chain_end(struct parse_state *ps, char *err, size_t errlen);
/* The "route" directive; argv is NULL-terminated, 2..5 words. */
int config_route_add(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
/* Free every chain and route (config_free). */
void config_chains_free(struct config *cfg);
/* Every chain has hops (a proxychains file was read) and every route
 * names a chain that exists (config_finish). */
int config_routes_check(const struct config *cfg, char *err, size_t errlen);

/* The command line's --chain URL[,URL...]: adds a strict chain named "cli"
 * with those hops and puts a catch-all route to it in front of every other
 * rule, so every connection uses it whatever the file's routes say (the
 * command line wins), whether the file is read before or after. Returns 0,
 * or -1 with "--chain: ..." in err (a bad URL, no URL, more than 32, a
 * chain "cli" already defined); cfg is then unchanged. */
int config_set_cli_chain(struct config *cfg, const char *csv, char *err, size_t errlen);

/* The command line's --chain-file FILE: like --chain, but the chain "cli"
 * takes its hops, mode and the rest from a proxychains-ng file, read now
 * (config_pcfile.h). Returns 0, or -1 with "--chain-file: ..." or
 * "FILE:LINE: ..." in err; cfg is then unchanged. */
int config_set_cli_chain_file(struct config *cfg, const char *path, char *err, size_t errlen);

/* The chain called name, or -1. */
int config_chain_find(const struct config *cfg, const char *name);

#endif
