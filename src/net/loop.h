/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* A small epoll event loop: fd handlers, a timer heap for deadlines, and
 * deferred frees so a handler may close its own connection safely.
 * This is the only module that includes <sys/epoll.h>. One loop per thread;
 * nothing here is thread-safe: other threads wake a loop through an eventfd
 * registered like any other fd. */
#ifndef HOPSOCKS_LOOP_H
#define HOPSOCKS_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

#define LOOP_READ  0x1u
#define LOOP_WRITE 0x2u
/* Reported together with READ/WRITE when the peer hung up or the socket has
 * an error: the handler finds out which by reading or writing. Asked for
 * alone, it keeps a socket we neither read nor write in the loop, to hear
 * of a reset (a socket the kernel relay writes to). */
#define LOOP_ERROR 0x4u
/* Wake when the peer has shut down its sending side (FIN), even while not
 * reading: a paused reader still learns that its peer has gone. Reported
 * as LOOP_PEER_CLOSED to a handler that asked for it; LOOP_READ, as
 * before, also wakes on a FIN. */
#define LOOP_PEER_CLOSED 0x8u

typedef void (*loop_io_fn)(struct loop *loop, void *arg, unsigned events);
typedef void (*loop_timer_fn)(struct loop *loop, void *arg);

/* Embedded in its owner; the owner's memory must stay valid until
 * loop_io_del() and the end of the current dispatch round (see loop_defer_free). */
struct loop_io {
	int fd;		 /* -1 when not registered */
	unsigned events; /* the interest currently registered */
	bool in_epoll;	 /* an fd with no interest is kept out of epoll, so a
			  * hung-up socket we are not reading cannot spin */
	loop_io_fn fn;
	void *arg;
};

struct loop_timer {
	uint64_t when_ms;  /* absolute, loop_now_ms() clock */
	size_t heap_index; /* position in the heap, or SIZE_MAX when not armed */
	loop_timer_fn fn;
	void *arg;
};

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Run until loop_stop(). Returns 0, or -errno if epoll_wait failed. */
int loop_run(struct loop *loop);
/* Makes loop_run return after the current round (call from the loop's thread). */
void loop_stop(struct loop *loop);

/* Monotonic milliseconds, cached once per round. */
uint64_t loop_now_ms(struct loop *loop);

/* ---- for drivers that own time: tests/fuzz/fuzz_session.c ----
 * The server only calls loop_run. A fuzz target must run the real state
 * machines without real time passing (libFuzzer wants an input to behave
 * the same on every run), so it reads the clock through clock(arg) and
 * turns the loop one round at a time. */

/* Read the time from clock(arg) from now on (NULL: the monotonic clock). */
void loop_set_clock(struct loop *loop, uint64_t (*clock)(void *arg), void *arg);
/* One round of loop_run: wait at most timeout_ms (0: do not wait, -1: no
 * bound) for events, run their handlers, the timers due and the deferred
 * frees. Returns the number of events fetched, or -errno. */
int loop_run_once(struct loop *loop, int timeout_ms);
/* When the earliest armed timer is due (loop_now_ms clock); UINT64_MAX: none. */
uint64_t loop_next_timer_ms(const struct loop *loop);

void loop_io_init(struct loop_io *io, loop_io_fn fn, void *arg);
/* Register fd with the given interest (LOOP_READ|LOOP_WRITE, may be 0:
 * then the fd is remembered but not polled until loop_io_set). */
int loop_io_add(struct loop *loop, struct loop_io *io, int fd, unsigned events);
/* Change the interest; a no-op when it is unchanged. */
int loop_io_set(struct loop *loop, struct loop_io *io, unsigned events);
/* Unregister (does not close the fd). Pending events for it in the current
 * round are dropped. Safe on an io that is not registered. */
void loop_io_del(struct loop *loop, struct loop_io *io);
/* Hand from's fd to another handler, to, without taking it out of epoll:
 * the next loop_io_set(to) repoints it with one EPOLL_CTL_MOD where
 * loop_io_del + loop_io_add would spend a DEL and an ADD (a connected
 * socket passing from the dialer to its session). Until that loop_io_set,
 * which the caller makes before returning to the loop, events for the fd
 * are dropped; from ends up unregistered. */
void loop_io_move(struct loop *loop, struct loop_io *from, struct loop_io *to);

void loop_timer_init(struct loop_timer *t, loop_timer_fn fn, void *arg);
/* Arm (or re-arm) t to fire after_ms from now. */
void loop_timer_set(struct loop *loop, struct loop_timer *t, uint64_t after_ms);
void loop_timer_set_at(struct loop *loop, struct loop_timer *t, uint64_t when_ms);
void loop_timer_cancel(struct loop *loop, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->heap_index != SIZE_MAX;
}
/* Number of armed timers (for tests and stats). */
size_t loop_timer_count(const struct loop *loop);

/* Free ptr with fn(ptr) once the current dispatch round is over, so events
 * already fetched for it are skipped rather than use freed memory. */
void loop_defer_free(struct loop *loop, void (*fn)(void *), void *ptr);

#endif
