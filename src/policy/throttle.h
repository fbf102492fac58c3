/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Throttling failed authentications per client address.
 *
 * After `failures` failed logins from one address within `window_ms` of
 * the first of them, that address is blocked for `block_ms`: the session
 * refuses its authentication attempts without verifying them (and logs a
 * line fail2ban can match). Failures are also kept per user name (for the
 * last few names an address tried): a successful login clears only that
 * name's share, so one account the guesser knows cannot reset the count
 * of its guesses at another.
 *
 * One table is shared by every worker thread, so it has a mutex inside;
 * failures are rare and a lookup is a hash probe, so the lock is cheap.
 * The table is bounded (THROTTLE_CAPACITY entries by default): when it is
 * full, a new address evicts the least recently seen entry that is not
 * blocked, or, when every entry is blocked, the least recently seen one.
 *
 * Addresses are compared as the rules compare them: an IPv4-mapped IPv6
 * address is its IPv4 address. IPv6 addresses are counted per /64, the
 * block one subscriber usually gets: counting each of its 2^64 addresses
 * apart would let one client try forever, and fill the table. Ports are
 * ignored.
 *
 * Time is the caller's: `now` is milliseconds on a monotonic clock
 * (util_monotonic_ms()), so the logic is testable without sleeping. */
#ifndef HOPSOCKS_THROTTLE_H
#define HOPSOCKS_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define THROTTLE_CAPACITY 4096

struct throttle;

/* A table of capacity entries (0 = THROTTLE_CAPACITY) with the limits of
 * throttle_configure(); failures 0 = off. NULL when out of memory. */
struct throttle *throttle_new(size_t capacity, unsigned failures, unsigned window_ms,
			      unsigned block_ms);
void throttle_free(struct throttle *t);

/* New limits (a reload): entries and running blocks are kept. With
 * failures 0 nothing is blocked or counted, and the table is emptied. */
void throttle_configure(struct throttle *t, unsigned failures, unsigned window_ms,
			unsigned block_ms);

/* Is ip blocked at now? */
bool throttle_blocked(struct throttle *t, const struct sockaddr_storage *ip, uint64_t now);

/* Does ip have failures in its window at now, or a block? (The
 * verification pool serves such addresses after the others.) */
bool throttle_has_failures(struct throttle *t, const struct sockaddr_storage *ip, uint64_t now);

/* Count one failed login from ip as user. Returns true when this failure
 * started a block (the moment to log it), false otherwise (also when ip
 * was already blocked: a block is not extended by attempts the session
 * refused anyway). The session counts an attempt when it hands it to the
 * verification pool, so parallel attempts cannot outrun the block. */
bool throttle_record_failure(struct throttle *t, const struct sockaddr_storage *ip,
			     const char *user, uint64_t now);

/* An attempt about to be verified, checked and counted in one step (so
 * attempts made in parallel, from any worker, cannot outrun a block):
 * blocked, or counted as a failure until throttle_record_success() credits
 * it back -- and whether counting it started a block. */
enum throttle_verdict {
	THROTTLE_BLOCKED,	/* refuse it unverified */
	THROTTLE_COUNTED,	/* verify it */
	THROTTLE_BLOCK_STARTED, /* verify it; if it fails, it is the one that blocked */
};
enum throttle_verdict throttle_attempt(struct throttle *t, const struct sockaddr_storage *ip,
				       const char *user, uint64_t now);
/* Take back an attempt throttle_attempt() counted that was never verified
 * (the verifier's queue was full): one failure of that name less, and a
 * block it started lifted. */
void throttle_uncount(struct throttle *t, const struct sockaddr_storage *ip, const char *user);

/* A successful login from ip as user: forget that name's failures
 * (including its attempt counted at submission). */
void throttle_record_success(struct throttle *t, const struct sockaddr_storage *ip,
			     const char *user);

/* How many addresses the table holds (tests, status page). */
size_t throttle_count(struct throttle *t);

#endif
