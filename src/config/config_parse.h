/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* What the files of the config language share while one text is parsed:
 * the words of a line and the parse state. Types only; each file's
 * functions are declared in its own header (config_lex.h, config_value.h,
 * config_chain.h, config_acl.h, config_service.h, config_load.h). Nothing
 * outside src/config/ includes this; the configuration itself is
 * config.h. */
#ifndef HOPSOCKS_CONFIG_PARSE_H
#define HOPSOCKS_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* No line has more than eleven words ("allow from NET user NAME command
 * LIST to DEST port P"); one extra slot lets the tokenizer notice "too
 * many" without growing an array. Slots past the last word are NULL, so a
 * handler's argv is NULL-terminated. */
#define LINE_WORDS_MAX 12

struct line_words {
	char *word[LINE_WORDS_MAX];
	bool brace[LINE_WORDS_MAX]; /* an unquoted '{' or '}' */
	size_t n;
	bool overflow;
};

/* Directives that take one address per family. */
enum family_directive {
	FD_OUTGOING,
	FD_UDP_ADVERTISE,
	FD_BIND_ADDRESS,
	FD_COUNT,
};

/* What one config_parse_text() call has seen, for checks that span lines. */
struct parse_state {
	struct config *cfg;
	const char *name; /* what config_parse_text() was given, for "rule NAME:LINE" */
	unsigned line;
	/* The line an error is about when it is not the current one (a chain's
	 * opening line, a route's line); 0 = the current line. */
	unsigned err_line;
	unsigned family_line[FD_COUNT][2]; /* [directive][v4, v6]: 0 = not seen in this text */

	/* Is name a top-level directive? Set by config_parse_text (the
	 * directive table is config_load.c's), so a block can tell a
	 * directive that belongs outside it from a word that is none. */
	bool (*is_directive)(const char *name);

	/* The open "chain NAME {" block, if any (config_chain.c). */
	int chain;	      /* index into cfg->chains; -1 = outside a block */
	unsigned length_line; /* the block's "length" line; 0 = not given */
	/* The block's first "mode", "hop" and "resolve" lines (0 = none), which
	 * a "proxychains" line cannot be mixed with. */
	unsigned mode_line, hop_line, resolve_line;
	size_t first_route;   /* routes from here on came from this text */
};

/* A directive handler: argv is the words after the directive's name,
 * NULL-terminated. Returns 0, or -1 with a message in err. */
typedef int (*config_directive_fn)(struct parse_state *ps, char *const *argv, char *err,
				   size_t errlen);

#endif
