/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Shared by the libFuzzer targets in tests/fuzz/ (built and run by
 * scripts/fuzz, not by automake).
 *
 * A target does not only look for crashes: it checks properties every
 * input must have (bytes consumed never exceed the input, a prefix of a
 * message is "need more", re-encoding gives the same bytes, ...). A broken
 * property aborts with the condition and its line, and libFuzzer saves the
 * input that broke it like any other crash. */
#ifndef HOPSOCKS_FUZZ_H
#define HOPSOCKS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "proto/proto.h"
#include "proto/target.h"

/* The libFuzzer entry point; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                      \
	do {                                                  \
		if (!(cond))                                  \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

static inline void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

/* A heap block that holds a copy of the first n bytes of an input so that
 * they end exactly where the block ends. libFuzzer's own buffer already
 * ends at the input's end; this does the same for a prefix, so a parser
 * given (buf, n) that peeks at buf[n] hits AddressSanitizer's redzone. */
struct fuzz_tail {
	uint8_t *block;
	size_t cap;
};

static inline void fuzz_tail_init(struct fuzz_tail *t, size_t cap)
{
	t->cap = cap;
	/* malloc(0) may return NULL; one byte keeps the pointer arithmetic valid. */
	t->block = malloc(cap > 0 ? cap : 1);
	if (t->block == NULL)
		abort();
}

static inline const uint8_t *fuzz_tail_copy(struct fuzz_tail *t, const uint8_t *data, size_t n)
{
	uint8_t *p = t->block + t->cap - n;

	if (n > 0)
		memcpy(p, data, n);
	return p;
}

static inline void fuzz_tail_free(struct fuzz_tail *t)
{
	free(t->block);
	t->block = NULL;
}

/* What every parsed destination must look like, and what the code that
 * uses one (the access log, connect) must be able to do with it. */
static inline void fuzz_check_target(const struct target *t)
{
	char text[TARGET_TEXT_MAX];
	char small[16];
	size_t n, m;

	FUZZ_CHECK(t->type == TARGET_IPV4 || t->type == TARGET_IPV6 || t->type == TARGET_DOMAIN);
	if (t->type == TARGET_DOMAIN) {
		FUZZ_CHECK(t->domain_len >= 1);
		FUZZ_CHECK(memchr(t->addr.domain, '\0', t->domain_len) == NULL);
		FUZZ_CHECK(t->addr.domain[t->domain_len] == '\0');
	} else {
		struct sockaddr_storage ss;
		struct target back;
		int len = target_to_sockaddr(t, &ss);

		FUZZ_CHECK(len > 0);
		FUZZ_CHECK(target_from_sockaddr(&back, (const struct sockaddr *)&ss) == 0);
		FUZZ_CHECK(memcmp(&back, t, sizeof(back)) == 0);
	}

	/* The worst case fits, and the text is one log field: visible ASCII
	 * only, everything else escaped. */
	n = target_format(t, text, sizeof(text));
	FUZZ_CHECK(n < sizeof(text) && n == strlen(text));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(text[i] > 0x20 && text[i] < 0x7f);
	/* Truncation keeps a prefix and never overruns. */
	m = target_format(t, small, sizeof(small));
	FUZZ_CHECK(m < sizeof(small) && m == strlen(small) && m <= n);
	FUZZ_CHECK(memcmp(small, text, m) == 0);
}

/* A wire parser in one shape, so one function can check the contract all
 * of them share (socks5.h): (buf, len, out) -> bytes consumed, 0 for "need
 * more", or -PROTO_E*. Each target wraps the typed parsers in these. */
typedef ssize_t (*fuzz_parse_fn)(const uint8_t *buf, size_t len, void *out);

/* Run parse on data[0..size) and on every prefix of it, each copied so it
 * ends at the end of a heap block, and check:
 *  - the result is 1..size, 0, or minus a PROTO_E* code;
 *  - out is written only on success (the session keeps state in it);
 *  - a message is decided by its own bytes: if the whole input parses as
 *    an n-byte message, every shorter prefix of it needs more (0) and every
 *    longer one gives n again with the same out; if the whole input is
 *    "need more", so is every prefix; if it is an error, a prefix gives
 *    0 until the deciding byte and then that same error from there on.
 * Returns the result on the whole input, with out filled on success. */
static inline ssize_t fuzz_check_stream(fuzz_parse_fn parse, const uint8_t *data, size_t size,
					void *out, size_t out_size)
{
	unsigned char *sentinel = malloc(out_size);
	unsigned char *tmp = malloc(out_size);
	struct fuzz_tail tail;
	ssize_t full;
	int seen_error = 0;

	if (sentinel == NULL || tmp == NULL)
		abort();
	memset(sentinel, 0xa5, out_size);
	memset(out, 0xa5, out_size);
	full = parse(data, size, out);
	FUZZ_CHECK(full <= (ssize_t)size);
	FUZZ_CHECK(full >= -PROTO_EMALFORMED);
	if (full <= 0)
		FUZZ_CHECK(memcmp(out, sentinel, out_size) == 0);

	fuzz_tail_init(&tail, size);
	for (size_t k = 0; k < size; k++) {
		const uint8_t *p = fuzz_tail_copy(&tail, data, k);
		ssize_t r;

		memset(tmp, 0xa5, out_size);
		r = parse(p, k, tmp);
		if (r <= 0)
			FUZZ_CHECK(memcmp(tmp, sentinel, out_size) == 0);
		if (full > 0) {
			FUZZ_CHECK(r == ((ssize_t)k < full ? 0 : full));
			if (r > 0)
				FUZZ_CHECK(memcmp(tmp, out, out_size) == 0);
		} else if (full == 0) {
			FUZZ_CHECK(r == 0);
		} else {
			FUZZ_CHECK(r == 0 || r == full);
			if (seen_error)
				FUZZ_CHECK(r == full);
			seen_error |= r < 0;
		}
	}
	fuzz_tail_free(&tail);
	free(sentinel);
	free(tmp);
	return full;
}

/* Targets that check several parsers take the first byte of an input as
 * the choice of check (modulo their number) and give it the rest. */
typedef void fuzz_check_fn(const uint8_t *msg, size_t len);

static inline int fuzz_dispatch(fuzz_check_fn *const *checks, size_t n, const uint8_t *data,
				size_t size)
{
	if (size > 0)
		checks[data[0] % n](data + 1, size - 1);
	return 0;
}

#endif
