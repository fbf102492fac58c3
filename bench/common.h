/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Helpers shared by the benchmark's load generator and target servers.
 *
 * Header-only on purpose: bench/ has two small programs and no library,
 * and scripts/bench builds each with one gcc command. Everything here is
 * static, so each program keeps only what it uses. */
#ifndef HOPSOCKS_BENCH_COMMON_H
#define HOPSOCKS_BENCH_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The payload pattern: PATTERN_LEN pseudo-random bytes, stored twice in a
 * row so that any slice of up to PATTERN_LEN bytes starting anywhere in
 * the first copy is contiguous. PATTERN_LEN is prime, so a slice read at
 * the wrong offset (a lost, repeated or reordered chunk of any size that
 * is not a multiple of ~1 MiB) does not match. */
#define PATTERN_LEN 1048573u

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* "127.0.0.1:1080" -> sockaddr_in. Numeric IPv4 only: the benchmark runs
 * on loopback and must never wait for a resolver. */
static inline int parse_hostport(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) >= sizeof host)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port == 0 || port > 65535)
		return -1;
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

/* "64M" -> 67108864; K, M, G are powers of 1024. */
static inline int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: return -1;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static inline int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 86400)
		return -1;
	*out = v;
	return 0;
}

/* Byte i of the fixed cps response; the target writes it, the load
 * generator checks it. */
static inline uint8_t response_byte(size_t i)
{
	return (uint8_t)(i * 31u + 7u);
}

/* Fill the doubled pattern buffer (2 * PATTERN_LEN bytes). */
static inline void pattern_fill(uint8_t *buf)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < PATTERN_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)(x >> 24);
	}
	memcpy(buf + PATTERN_LEN, buf, PATTERN_LEN);
}

#endif
