/* Private to the config parser (config.c, config_lex.c, config_value.c,
 * config_chain.c, config_acl.c, config_service.c, and route.c for a
 * route's destination): what the tokenizer and the value parsers share
 * with the directive code. Nothing else includes this; the public contract
 * is config.h. */
#ifndef HOPSOCKS_CONFIG_INT_H
#define HOPSOCKS_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* No line has more than eleven words ("allow from NET user NAME command
 * LIST to DEST port P"); one extra slot lets the tokenizer notice "too
 * many" without growing an array. Slots past the last word are NULL, so a
 * handler's argv is NULL-terminated. */
#define LINE_WORDS_MAX 12

/* Values quoted back in error messages are cut to this many bytes so a
 * runaway line does not bury the message. */
#define QUOTE_MAX "64"

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

	/* The open "chain NAME {" block, if any (config_chain.c). */
	int chain;	      /* index into cfg->chains; -1 = outside a block */
	unsigned length_line; /* the block's "length" line; 0 = not given */
	size_t first_route;   /* routes from here on came from this text */
};

/* Write a message into err (if err is non-NULL and errlen > 0). */
void config_err_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- config.c, shared with config_chain.c ---- */

/* Index of text in a NULL-terminated keyword list, or -1. */
int config_keyword(const char *text, const char *const *names);
/* "invalid value 'TEXT' (expected EXPECTED)"; returns -1. */
int config_bad_keyword(const char *value, const char *expected, char *err, size_t errlen);
/* A DURATION value, or -1 with "invalid duration ..." in err. */
int config_set_duration(unsigned *slot, const char *value, char *err, size_t errlen);
/* Is name a top-level directive? */
bool config_directive_exists(const char *name);

/* ---- config_chain.c ---- */

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
/* Every route names a chain that exists (config_finish). */
int config_routes_check(const struct config *cfg, char *err, size_t errlen);

/* ---- config_acl.c: access rules, limits, the open-relay check ---- */

/* The directive handlers (config.c's table): argv is NULL-terminated. */
int config_do_allow(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_deny(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_max_per_client(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_max_per_user(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_auth_throttle(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_destination_guard(struct parse_state *ps, char *const *argv, char *err,
				size_t errlen);
/* config_finish: rules that name users need a user file; no open relay. */
int config_acl_check(const struct config *cfg, char *err, size_t errlen);

/* ---- config_service.c: running as a service ---- */

int config_do_admin(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_user(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_group(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_drain(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_reload_keep_sessions(struct parse_state *ps, char *const *argv, char *err,
				   size_t errlen);
/* config_finish: the admin listener shares no port with a listen address. */
int config_service_check(const struct config *cfg, char *err, size_t errlen);

/* ---- config.c, shared with the files above ---- */

/* "on|yes|true" or "off|no|false". Returns 0, or -1. */
int config_parse_bool(const char *text, bool *out);
/* A count 0..max, or -1 with "invalid number ..." (hint in parentheses). */
int config_set_count(unsigned *slot, const char *value, unsigned long max, const char *hint,
		     char *err, size_t errlen);

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
