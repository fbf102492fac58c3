/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The config language's value parsers (config_value.c): numbers,
 * durations, keywords, numeric addresses, and the error messages that go
 * with them. Pure: no I/O, no name lookups. */
#ifndef HOPSOCKS_CONFIG_VALUE_H
#define HOPSOCKS_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Values quoted back in error messages are cut to this many bytes so a
 * runaway line does not bury the message. */
#define QUOTE_MAX "64"

/* Write a message into err (if err is non-NULL and errlen > 0). */
void config_err_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Decimal digits only, at most max. Returns 0, or -1. */
int config_parse_uint(const char *text, unsigned long max, unsigned long *out);
/* "10s", "500ms", "5m", "1h", "30" (seconds). Returns 0 or -1. */
int config_parse_duration(const char *text, unsigned *ms);
/* "on|yes|true" or "off|no|false". Returns 0, or -1. */
int config_parse_bool(const char *text, bool *out);
/* Index of text in a NULL-terminated keyword list, or -1. */
int config_keyword(const char *text, const char *const *names);
/* "invalid value 'TEXT' (expected EXPECTED)"; returns -1. */
int config_bad_keyword(const char *value, const char *expected, char *err, size_t errlen);
/* A count 0..max, or -1 with "invalid number ..." (hint in parentheses). */
int config_set_count(unsigned *slot, const char *value, unsigned long max, const char *hint,
		     char *err, size_t errlen);
/* A SIZE in bytes: a count, or with k or m for KiB or MiB ("64k"), at
 * most max bytes; or -1 with "invalid size ..." in err. */
int config_set_size(unsigned *slot, const char *value, unsigned long max, char *err, size_t errlen);
/* A DURATION value, or -1 with "invalid duration ..." in err. */
int config_set_duration(unsigned *slot, const char *value, char *err, size_t errlen);
/* Replace *slot with a copy of value (NULL: none). Returns 0, or -1 when
 * out of memory (then *slot is unchanged). */
int config_set_string(char **slot, const char *value);

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
/* "127.0.0.1:1080", "[::1]:1080", "*:1080" (= 0.0.0.0), "1080" (= 127.0.0.1).
 * Returns 0 or -1 with a message in err. */
int config_parse_listen(const char *text, struct config_addr *out, char *err, size_t errlen);
/* An address without port ("10.0.0.1", "::1", "[::1]"). */
int config_parse_host(const char *text, struct config_addr *out, char *err, size_t errlen);

/* An outgoing source: "ADDR" (argv[0]) or "PREFIX random" (argv[0],
 * argv[1]), IPv4 or IPv6, no port. *used says how many words it took.
 * Returns 0, or -1 with a message in err. */
int config_source_parse(char *const *argv, struct config_source *out, size_t *used, char *err,
			size_t errlen);
/* "192.0.2.7", "2001:db8:1::/64 random": as config_source_parse reads it. */
int config_source_format(const struct config_source *s, char *out, size_t cap);

/* config_err_set() with "FILE:LINE: " in front when line is a line of cfg's
 * file; line 0 (the command line, or a default) gets no prefix. */
void config_err_at(const struct config *cfg, unsigned line, char *err, size_t errlen,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
