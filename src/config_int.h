/* Private to the config parser (config.c, config_lex.c, config_value.c):
 * what the tokenizer and the value parsers share with the directive code.
 * Nothing outside src/config*.c includes this; the public contract is
 * config.h. */
#ifndef HOPSOCKS_CONFIG_INT_H
#define HOPSOCKS_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* No directive takes more than two arguments; one extra slot lets the
 * tokenizer notice "too many" without growing an array. */
#define LINE_WORDS_MAX 4

/* Values quoted back in error messages are cut to this many bytes so a
 * runaway line does not bury the message. */
#define QUOTE_MAX "64"

struct line_words {
	char *word[LINE_WORDS_MAX];
	bool brace[LINE_WORDS_MAX]; /* an unquoted '{' or '}' */
	size_t n;
	bool overflow;
};

/* Write a message into err (if err is non-NULL and errlen > 0). */
void config_err_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- config_lex.c ---- */

/* Split one line (without its line ending) into words, written NUL-terminated
 * into scratch, which must hold twice the line length plus one. Returns 0, or
 * -1 with a message (no "NAME:LINE: " prefix) in err. */
int config_line_split(const char *p, const char *end, char *scratch, struct line_words *lw,
		      char *err, size_t errlen);

/* ---- config_value.c ---- */

/* Decimal digits only, at most max. Returns 0, or -1. */
int config_parse_uint(const char *text, unsigned long max, unsigned long *out);

enum config_port_rule {
	CONFIG_PORT_REQUIRED,
	CONFIG_PORT_OPTIONAL,
	CONFIG_PORT_FORBIDDEN,
};

/* The one numeric address parser behind listen, outgoing and resolver:
 * "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address, with the
 * port required, optional (then default_port) or forbidden. Returns 0, or -1
 * with a message in err. */
int config_addr_parse(const char *text, enum config_port_rule rule, uint16_t default_port,
		      struct config_addr *out, char *err, size_t errlen);
/* Same family, address and port. */
bool config_addr_equal(const struct config_addr *a, const struct config_addr *b);

#endif
