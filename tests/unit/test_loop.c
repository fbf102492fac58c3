/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The event loop: timer heap ordering, re-arming, cancelling, fd handlers,
 * and the deferred free that makes closing inside a handler safe. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "net/loop.h"

#define NTIMERS 200

struct fire_log {
	struct loop *loop;
	int order[NTIMERS + 8];
	int n;
	int stop_after;
};

struct tagged_timer {
	struct loop_timer t;
	struct fire_log *log;
	int tag;
};

static void on_fire(struct loop *loop, void *arg)
{
	struct tagged_timer *tt = arg;
	tt->log->order[tt->log->n++] = tt->tag;
	if (tt->log->n == tt->log->stop_after)
		loop_stop(loop);
}

static void tagged_init(struct tagged_timer *tt, struct fire_log *log, int tag)
{
	tt->log = log;
	tt->tag = tag;
	loop_timer_init(&tt->t, on_fire, tt);
}

/* Timers set in scrambled order fire sorted by deadline. */
START_TEST(timers_fire_in_deadline_order)
{
	struct loop *loop = loop_new();
	struct fire_log log = { .loop = loop, .stop_after = NTIMERS };
	static struct tagged_timer tt[NTIMERS];
	uint64_t base = loop_now_ms(loop);

	for (int i = 0; i < NTIMERS; i++) {
		int tag = (i * 37) % NTIMERS; /* a permutation: 37 is prime to 200 */
		tagged_init(&tt[i], &log, tag);
		loop_timer_set_at(loop, &tt[i].t, base + (uint64_t)tag / 10);
	}
	ck_assert_uint_eq(loop_timer_count(loop), NTIMERS);
	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(log.n, NTIMERS);
	for (int i = 1; i < NTIMERS; i++)
		ck_assert_int_le(log.order[i - 1] / 10, log.order[i] / 10);
	ck_assert_uint_eq(loop_timer_count(loop), 0);
	loop_free(loop);
}
END_TEST

START_TEST(timer_cancel_and_rearm)
{
	struct loop *loop = loop_new();
	struct fire_log log = { .loop = loop, .stop_after = 2 };
	struct tagged_timer a, b, c, d;
	tagged_init(&a, &log, 1);
	tagged_init(&b, &log, 2);
	tagged_init(&c, &log, 3);
	tagged_init(&d, &log, 4);

	loop_timer_set(loop, &a.t, 5);
	loop_timer_set(loop, &b.t, 10);
	loop_timer_set(loop, &c.t, 15);
	loop_timer_set(loop, &d.t, 1);
	ck_assert(loop_timer_armed(&a.t));
	loop_timer_cancel(loop, &a.t);
	ck_assert(!loop_timer_armed(&a.t));
	loop_timer_cancel(loop, &a.t);	/* twice is harmless */
	loop_timer_set(loop, &d.t, 30); /* later: now fires after c */
	loop_timer_set(loop, &c.t, 0);	/* earlier: fires first */
	ck_assert_uint_eq(loop_timer_count(loop), 3);

	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(log.n, 2);
	ck_assert_int_eq(log.order[0], 3);
	ck_assert_int_eq(log.order[1], 2);
	ck_assert(loop_timer_armed(&d.t));
	loop_timer_cancel(loop, &d.t);
	ck_assert_uint_eq(loop_timer_count(loop), 0);
	loop_free(loop);
}
END_TEST

/* Removing timers from the middle of the heap keeps it a heap. */
START_TEST(timer_cancel_from_middle)
{
	struct loop *loop = loop_new();
	struct fire_log log = { .loop = loop, .stop_after = NTIMERS / 2 };
	static struct tagged_timer tt[NTIMERS];
	uint64_t base = loop_now_ms(loop);
	for (int i = 0; i < NTIMERS; i++) {
		tagged_init(&tt[i], &log, i);
		loop_timer_set_at(loop, &tt[i].t, base + (uint64_t)((i * 53) % NTIMERS) / 20);
	}
	for (int i = 0; i < NTIMERS; i += 2)
		loop_timer_cancel(loop, &tt[i].t);
	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(log.n, NTIMERS / 2);
	for (int i = 0; i < log.n; i++)
		ck_assert_int_eq(log.order[i] % 2, 1);
	for (int i = 1; i < log.n; i++)
		ck_assert_uint_le(tt[log.order[i - 1]].t.when_ms, tt[log.order[i]].t.when_ms);
	loop_free(loop);
}
END_TEST

struct echo_ctx {
	struct loop_io io;
	int fd;
	char got[16];
	int reads;
	bool freed;
};

static void free_ctx(void *p)
{
	struct echo_ctx *c = p;
	c->freed = true;
}

/* A handler that closes its own fd and defers its free: later events of
 * the same round for that io are skipped, and the free runs after. */
static void on_readable_close(struct loop *loop, void *arg, unsigned events)
{
	struct echo_ctx *c = arg;
	ck_assert(events & LOOP_READ);
	ssize_t n = read(c->fd, c->got, sizeof(c->got) - 1);
	ck_assert_int_eq(n, 5);
	c->reads++;
	loop_io_del(loop, &c->io);
	loop_defer_free(loop, free_ctx, c);
	ck_assert(!c->freed);
	loop_stop(loop);
}

START_TEST(io_handler_may_close_itself)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct loop *loop = loop_new();
	struct echo_ctx c = { .fd = sv[0] };
	loop_io_init(&c.io, on_readable_close, &c);
	ck_assert_int_eq(loop_io_add(loop, &c.io, sv[0], LOOP_READ), 0);
	ck_assert_int_eq(write(sv[1], "hello", 5), 5);
	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(c.reads, 1);
	ck_assert(c.freed);
	ck_assert_str_eq(c.got, "hello");
	ck_assert_int_eq(c.io.fd, -1);
	loop_free(loop);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static void on_any(struct loop *loop, void *arg, unsigned events)
{
	int *count = arg;
	(*count)++;
	loop_stop(loop);
}

static void on_stop_timer(struct loop *loop, void *arg)
{
	loop_stop(loop);
}

/* Interest 0 keeps a hung-up fd out of epoll: no wake-ups at all. */
START_TEST(io_zero_interest_is_silent)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct loop *loop = loop_new();
	struct loop_io io;
	struct loop_timer stop;
	int count = 0;
	loop_io_init(&io, on_any, &count);
	ck_assert_int_eq(loop_io_add(loop, &io, sv[0], LOOP_READ), 0);
	ck_assert_int_eq(loop_io_set(loop, &io, 0), 0);
	close(sv[1]); /* sv[0] now reports EPOLLHUP */
	loop_timer_init(&stop, on_stop_timer, NULL);
	loop_timer_set(loop, &stop, 50);
	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(count, 0);

	ck_assert_int_eq(loop_io_set(loop, &io, LOOP_READ), 0);
	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(count, 1);
	loop_io_del(loop, &io);
	loop_free(loop);
	close(sv[0]);
}
END_TEST

/* Only the requested events are reported. */
START_TEST(io_reports_only_requested_events)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct loop *loop = loop_new();
	struct loop_io io;
	int count = 0;
	loop_io_init(&io, on_any, &count);
	/* Writable at once, but we asked for READ only: nothing until data. */
	ck_assert_int_eq(loop_io_add(loop, &io, sv[0], LOOP_READ), 0);
	struct loop_timer stop;
	loop_timer_init(&stop, on_stop_timer, NULL);
	loop_timer_set(loop, &stop, 30);
	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(count, 0);
	ck_assert_int_eq(loop_io_set(loop, &io, LOOP_WRITE), 0);
	ck_assert_int_eq(loop_io_set(loop, &io, LOOP_WRITE), 0); /* unchanged: no-op */
	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(count, 1);
	loop_io_del(loop, &io);
	loop_io_del(loop, &io); /* twice is harmless */
	loop_free(loop);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A fake clock: time moves only when the driver says, one round at a time
 * (what tests/fuzz/fuzz_session.c relies on). */
static uint64_t fake_now(void *arg)
{
	return *(uint64_t *)arg;
}

START_TEST(fake_clock_one_round_at_a_time)
{
	struct loop *loop = loop_new();
	struct fire_log log = { .loop = loop, .stop_after = -1 };
	struct tagged_timer a, b;
	uint64_t now = 5000;

	loop_set_clock(loop, fake_now, &now);
	ck_assert_uint_eq(loop_now_ms(loop), 5000);
	ck_assert_uint_eq(loop_next_timer_ms(loop), UINT64_MAX);
	tagged_init(&a, &log, 1);
	tagged_init(&b, &log, 2);
	loop_timer_set(loop, &a.t, 100);
	loop_timer_set(loop, &b.t, 30);
	ck_assert_uint_eq(loop_next_timer_ms(loop), 5030);

	/* No event and no time passed: nothing fires, and nothing waits. */
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(log.n, 0);
	now = 5030;
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(log.n, 1);
	ck_assert_int_eq(log.order[0], 2);
	ck_assert_uint_eq(loop_next_timer_ms(loop), 5100);
	now = 9999;
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(log.n, 2);
	ck_assert_int_eq(log.order[1], 1);
	ck_assert_uint_eq(loop_timer_count(loop), 0);
	loop_free(loop);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("timers");
	tcase_add_test(tc, timers_fire_in_deadline_order);
	tcase_add_test(tc, timer_cancel_and_rearm);
	tcase_add_test(tc, timer_cancel_from_middle);
	tcase_add_test(tc, fake_clock_one_round_at_a_time);
	suite_add_tcase(s, tc);
	tc = tcase_create("io");
	tcase_add_test(tc, io_handler_may_close_itself);
	tcase_add_test(tc, io_zero_interest_is_silent);
	tcase_add_test(tc, io_reports_only_requested_events);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
