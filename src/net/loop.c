/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* epoll event loop with a binary-heap timer queue and deferred frees. */
#include "net/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

struct deferred {
	void (*fn)(void *);
	void *ptr;
};

struct loop {
	int epfd;
	bool stopping;
	uint64_t now_ms;
	/* NULL: the monotonic clock; see loop_set_clock */
	uint64_t (*clock)(void *arg);
	void *clock_arg;

	struct loop_timer **heap;
	size_t heap_len, heap_cap;

	struct deferred *deferred;
	size_t deferred_len, deferred_cap;
};

static uint64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->now_ms = clock_ms();
	return loop;
}

static void loop_run_deferred(struct loop *loop)
{
	/* A deferred free may defer another; keep going until none is left. */
	for (size_t i = 0; i < loop->deferred_len; i++)
		loop->deferred[i].fn(loop->deferred[i].ptr);
	loop->deferred_len = 0;
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	loop_run_deferred(loop);
	close(loop->epfd);
	free(loop->heap);
	free(loop->deferred);
	free(loop);
}

uint64_t loop_now_ms(struct loop *loop)
{
	return loop->now_ms;
}

static uint64_t loop_read_clock(const struct loop *loop)
{
	return loop->clock ? loop->clock(loop->clock_arg) : clock_ms();
}

void loop_set_clock(struct loop *loop, uint64_t (*clock)(void *arg), void *arg)
{
	loop->clock = clock;
	loop->clock_arg = arg;
	loop->now_ms = loop_read_clock(loop);
}

void loop_stop(struct loop *loop)
{
	loop->stopping = true;
}

/* ---- fd handlers ---- */

static uint32_t epoll_mask(unsigned events)
{
	uint32_t m = 0;
	if (events & LOOP_READ)
		m |= EPOLLIN | EPOLLRDHUP;
	if (events & LOOP_WRITE)
		m |= EPOLLOUT;
	if (events & LOOP_PEER_CLOSED)
		m |= EPOLLRDHUP;
	if (events & LOOP_ERROR)
		m |= EPOLLERR;
	return m;
}

void loop_io_init(struct loop_io *io, loop_io_fn fn, void *arg)
{
	io->fd = -1;
	io->events = 0;
	io->in_epoll = false;
	io->fn = fn;
	io->arg = arg;
}

static int loop_epoll_ctl(struct loop *loop, struct loop_io *io, int op, unsigned events)
{
	struct epoll_event ev = { .events = epoll_mask(events), .data.ptr = io };
	if (epoll_ctl(loop->epfd, op, io->fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_io_add(struct loop *loop, struct loop_io *io, int fd, unsigned events)
{
	io->fd = fd;
	io->events = 0;
	io->in_epoll = false;
	int rc = loop_io_set(loop, io, events);
	if (rc < 0)
		io->fd = -1;
	return rc;
}

int loop_io_set(struct loop *loop, struct loop_io *io, unsigned events)
{
	if (io->fd < 0)
		return -EBADF;
	if (io->events == events && (events == 0) == !io->in_epoll)
		return 0;
	int rc;
	if (events == 0) {
		/* epoll reports EPOLLHUP whatever the mask says; leaving a
		 * hung-up fd we do not want to hear from in the set would wake
		 * us for nothing, forever. */
		rc = io->in_epoll ? loop_epoll_ctl(loop, io, EPOLL_CTL_DEL, 0) : 0;
		io->in_epoll = false;
	} else if (!io->in_epoll) {
		rc = loop_epoll_ctl(loop, io, EPOLL_CTL_ADD, events);
		io->in_epoll = rc == 0;
	} else {
		rc = loop_epoll_ctl(loop, io, EPOLL_CTL_MOD, events);
	}
	if (rc == 0)
		io->events = events;
	return rc;
}

/* Not a real interest: makes the next loop_io_set differ, so it calls
 * epoll_ctl and repoints the event's data at the new handler. */
#define LOOP_IO_MOVED 0x80000000u

void loop_io_move(struct loop *loop, struct loop_io *from, struct loop_io *to)
{
	(void)loop;
	to->fd = from->fd;
	to->in_epoll = from->in_epoll;
	to->events = to->in_epoll ? LOOP_IO_MOVED : 0;
	from->fd = -1;
	from->events = 0;
	from->in_epoll = false;
}

void loop_io_del(struct loop *loop, struct loop_io *io)
{
	if (io->fd < 0)
		return;
	if (io->in_epoll)
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	/* fd = -1 is what makes the dispatcher skip events still queued for it. */
	io->fd = -1;
	io->events = 0;
	io->in_epoll = false;
}

/* ---- timer heap (min-heap on when_ms; each timer knows its index) ---- */

static void heap_place(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void heap_sift_up(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (loop->heap[parent]->when_ms <= t->when_ms)
			break;
		heap_place(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_place(loop, i, t);
}

static void heap_sift_down(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    loop->heap[child + 1]->when_ms < loop->heap[child]->when_ms)
			child++;
		if (t->when_ms <= loop->heap[child]->when_ms)
			break;
		heap_place(loop, i, loop->heap[child]);
		i = child;
	}
	heap_place(loop, i, t);
}

static void heap_remove(struct loop *loop, struct loop_timer *t)
{
	size_t i = t->heap_index;
	struct loop_timer *last = loop->heap[--loop->heap_len];
	t->heap_index = SIZE_MAX;
	if (last == t)
		return;
	heap_place(loop, i, last);
	heap_sift_down(loop, i);
	heap_sift_up(loop, last->heap_index);
}

static bool heap_reserve(struct loop *loop)
{
	if (loop->heap_len < loop->heap_cap)
		return true;
	size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
	struct loop_timer **h = realloc(loop->heap, cap * sizeof(*h));
	if (!h)
		return false;
	loop->heap = h;
	loop->heap_cap = cap;
	return true;
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn fn, void *arg)
{
	t->when_ms = 0;
	t->heap_index = SIZE_MAX;
	t->fn = fn;
	t->arg = arg;
}

void loop_timer_set_at(struct loop *loop, struct loop_timer *t, uint64_t when_ms)
{
	if (loop_timer_armed(t)) {
		uint64_t old = t->when_ms;
		t->when_ms = when_ms;
		if (when_ms < old)
			heap_sift_up(loop, t->heap_index);
		else
			heap_sift_down(loop, t->heap_index);
		return;
	}
	if (!heap_reserve(loop)) {
		/* Out of memory for a deadline: fire at once rather than never,
		 * so the owner's timeout path runs and frees resources. */
		when_ms = 0;
		if (!heap_reserve(loop))
			abort();
	}
	t->when_ms = when_ms;
	heap_place(loop, loop->heap_len++, t);
	heap_sift_up(loop, t->heap_index);
}

void loop_timer_set(struct loop *loop, struct loop_timer *t, uint64_t after_ms)
{
	loop_timer_set_at(loop, t, loop->now_ms + after_ms);
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *t)
{
	if (loop_timer_armed(t))
		heap_remove(loop, t);
}

size_t loop_timer_count(const struct loop *loop)
{
	return loop->heap_len;
}

uint64_t loop_next_timer_ms(const struct loop *loop)
{
	return loop->heap_len > 0 ? loop->heap[0]->when_ms : UINT64_MAX;
}

static void loop_run_timers(struct loop *loop)
{
	while (loop->heap_len > 0 && loop->heap[0]->when_ms <= loop->now_ms) {
		struct loop_timer *t = loop->heap[0];
		heap_remove(loop, t);
		t->fn(loop, t->arg);
	}
}

static int loop_next_timeout(const struct loop *loop)
{
	if (loop->heap_len == 0)
		return -1;
	uint64_t when = loop->heap[0]->when_ms;
	if (when <= loop->now_ms)
		return 0;
	uint64_t wait = when - loop->now_ms;
	return wait > 60000 ? 60000 : (int)wait;
}

/* ---- deferred frees ---- */

void loop_defer_free(struct loop *loop, void (*fn)(void *), void *ptr)
{
	if (loop->deferred_len == loop->deferred_cap) {
		size_t cap = loop->deferred_cap ? loop->deferred_cap * 2 : 64;
		struct deferred *d = realloc(loop->deferred, cap * sizeof(*d));
		if (!d) {
			/* Cannot defer: leaking is safer than freeing under the
			 * dispatcher's feet. Practically unreachable. */
			return;
		}
		loop->deferred = d;
		loop->deferred_cap = cap;
	}
	loop->deferred[loop->deferred_len++] = (struct deferred){ fn, ptr };
}

/* ---- dispatch ---- */

static unsigned loop_events_from_epoll(uint32_t e)
{
	unsigned ev = 0;
	if (e & (EPOLLIN | EPOLLRDHUP))
		ev |= LOOP_READ;
	if (e & EPOLLOUT)
		ev |= LOOP_WRITE;
	if (e & EPOLLRDHUP)
		ev |= LOOP_PEER_CLOSED;
	if (e & (EPOLLERR | EPOLLHUP))
		ev |= LOOP_ERROR | LOOP_READ | LOOP_WRITE | LOOP_PEER_CLOSED;
	return ev;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
	struct epoll_event events[LOOP_MAX_EVENTS];
	int n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	loop->now_ms = loop_read_clock(loop);
	for (int i = 0; i < n; i++) {
		struct loop_io *io = events[i].data.ptr;
		if (io->fd < 0 || !io->in_epoll)
			continue; /* removed or muted earlier in this round */
		/* Only report what is asked for (plus errors), so a
		 * handler never sees WRITE it did not request. */
		unsigned ev = loop_events_from_epoll(events[i].events);
		ev &= io->events | LOOP_ERROR;
		if (ev)
			io->fn(loop, io->arg, ev);
	}
	loop_run_timers(loop);
	loop_run_deferred(loop);
	return n < 0 ? 0 : n;
}

int loop_run(struct loop *loop)
{
	loop->stopping = false;
	while (!loop->stopping) {
		int rc = loop_run_once(loop, loop_next_timeout(loop));
		if (rc < 0)
			return rc;
	}
	return 0;
}
