/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The config language's tokenizer: one line of text in, words out.
 *
 * Grammar, one directive per line:
 *
 *	line    := [ word { word } ] [ "#" comment ]
 *	word    := bare | "\"" { char | "\\\"" | "\\\\" } "\""
 *	bare    := run of bytes other than space, tab, '"', '#', '{', '}'
 *
 * '{' and '}' are words of their own (block delimiters); what a block may
 * hold is config_chain.c's business.
 *
 * Like the rest of the parser this is pure: no I/O, no allocation (the
 * caller provides the scratch space the words are written into).
 */
#include "config/config_lex.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/config_value.h"

/* Read a double-quoted word starting after the opening quote. Unescapes into
 * *out and advances it. Returns the position after the closing quote, or
 * NULL with a message. */
static const char *word_read_quoted(const char *p, const char *end, char **out, char *err,
				    size_t errlen)
{
	char *o = *out;

	for (; p < end; p++) {
		if (*p == '"') {
			*o++ = '\0';
			*out = o;
			return p + 1;
		}
		if (*p == '\\') {
			if (p + 1 < end && (p[1] == '"' || p[1] == '\\')) {
				*o++ = *++p;
				continue;
			}
			config_err_set(err, errlen,
				       "invalid escape in string (only \\\" and \\\\ are allowed)");
			return NULL;
		}
		*o++ = *p;
	}
	config_err_set(err, errlen, "unterminated string");
	return NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Bytes that end a bare word. */
static bool is_word_end(char c)
{
	return is_blank(c) || c == '#' || c == '{' || c == '}' || c == '"';
}

/* Split one line (without its line ending) into words, written NUL-terminated
 * into scratch. A quoted word only shrinks and a bare word's NUL takes the
 * place of the byte that ended it, but a brace is one byte of text and two of
 * output, so scratch must hold twice the line length plus one. */
int config_line_split(const char *p, const char *end, char *scratch, struct line_words *lw,
		      char *err, size_t errlen)
{
	char *o = scratch;

	memset(lw, 0, sizeof(*lw));
	for (const char *q = p; q < end; q++) {
		unsigned char c = (unsigned char)*q;

		/* Control characters (a stray CR, NUL, escape codes) have no business in a
		 * config and may hide text from a reviewer's terminal. */
		if (c < 0x20 && c != '\t') {
			config_err_set(err, errlen, "invalid control character 0x%02x", c);
			return -1;
		}
		if (c == 0x7f) {
			config_err_set(err, errlen, "invalid control character 0x7f");
			return -1;
		}
	}
	while (p < end) {
		char *start = o;
		bool brace = false;

		if (is_blank(*p)) {
			p++;
			continue;
		}
		if (*p == '#')
			break;
		if (*p == '{' || *p == '}') {
			*o++ = *p++;
			*o++ = '\0';
			brace = true;
		} else if (*p == '"') {
			p = word_read_quoted(p + 1, end, &o, err, errlen);
			if (p == NULL)
				return -1;
			if (p < end && !is_blank(*p) && *p != '#') {
				config_err_set(err, errlen, "missing space after closing quote");
				return -1;
			}
		} else {
			while (p < end && !is_word_end(*p))
				*o++ = *p++;
			if (p < end && *p == '"') {
				config_err_set(err, errlen, "unexpected '\"' inside a word");
				return -1;
			}
			*o++ = '\0';
		}
		if (lw->n == LINE_WORDS_MAX) {
			lw->overflow = true;
			continue;
		}
		lw->word[lw->n] = start;
		lw->brace[lw->n] = brace;
		lw->n++;
	}
	return 0;
}
