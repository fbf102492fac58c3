/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The config language's tokenizer (config_lex.c). */
#ifndef HOPSOCKS_CONFIG_LEX_H
#define HOPSOCKS_CONFIG_LEX_H

#include <stddef.h>

#include "config/config_parse.h"

/* Split one line (without its line ending) into words, written NUL-terminated
 * into scratch, which must hold twice the line length plus one. Returns 0, or
 * -1 with a message (no "NAME:LINE: " prefix) in err. */
int config_line_split(const char *p, const char *end, char *scratch, struct line_words *lw,
		      char *err, size_t errlen);

#endif
