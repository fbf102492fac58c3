/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Loading the kernel relay and attaching sessions to it. See krelay.h. */
#include <autoconfig.h>

#include "net/krelay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_KRELAY

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* TCP_CLOSE of the kernel's tcp_states.h, which <linux/tcp.h> lacks. */
enum { KRELAY_TCP_CLOSE = 7 };

/* The compiled program, embedded at build time (krelay_obj.c). */
extern const unsigned char krelay_bpf_obj[];
extern const unsigned int krelay_bpf_obj_len;

/* libbpf's own messages: the last warning is kept for the one line a
 * failed load logs; everything goes to the debug log. */
static char krelay_libbpf_msg[256];
static bool krelay_libbpf_reason; /* krelay_libbpf_msg is the verifier's reason */

/* The verifier's reason in a load log (a helper refused for want of a
 * capability, say): its line, or NULL. */
static const char *krelay_reason_line(char *log)
{
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, "helper") || strstr(line, "permission") || strstr(line, "denied"))
			return line;
	return NULL;
}

static int krelay_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* The verifier's log comes whole in one message, and its reason at
	 * the end. Loading happens once, before any thread: static is safe. */
	static char text[64 * 1024];
	/* Its debug and info lines (hundreds per load) say nothing an
	 * administrator needs. Of its warnings, the verifier's reason says
	 * most; else the last one is kept. */
	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(text, sizeof(text), fmt, ap);
	log_debug("libbpf: %.*s", (int)strcspn(text, "\n"), text);
	if (krelay_libbpf_reason)
		return 0;
	const char *reason = krelay_reason_line(text);
	if (reason || (text[0] && text[0] != '\n')) {
		snprintf(krelay_libbpf_msg, sizeof(krelay_libbpf_msg), "%.*s", 200,
			 reason ? reason : text);
		krelay_libbpf_msg[strcspn(krelay_libbpf_msg, "\n")] = '\0';
		krelay_libbpf_reason = reason != NULL;
	}
	return 0;
}

static int krelay_size_map(struct bpf_object *obj, const char *name, uint32_t n)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	return m ? bpf_map__set_max_entries(m, n) : -ENOENT;
}

static int krelay_map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	return m ? bpf_map__fd(m) : -1;
}

/* err gets "what: why", with libbpf's last warning when it has one. */
static void krelay_fail(char *err, size_t errlen, const char *what, int e)
{
	if (krelay_libbpf_msg[0])
		snprintf(err, errlen, "%s: %s (%s)", what, strerror(e), krelay_libbpf_msg);
	else
		snprintf(err, errlen, "%s: %s", what, strerror(e));
}

struct krelay *krelay_load(uint32_t npairs, char *err, size_t errlen)
{
	struct krelay *k = calloc(1, sizeof(*k));
	if (!k || npairs == 0) {
		snprintf(err, errlen, "out of memory");
		free(k);
		return NULL;
	}
	krelay_libbpf_msg[0] = '\0';
	krelay_libbpf_reason = false;
	libbpf_set_print(krelay_libbpf_print);
	k->npairs = npairs;
	k->src_fd = k->dst_fd = k->slots_fd = -1;
	struct bpf_object *obj = bpf_object__open_mem(krelay_bpf_obj, krelay_bpf_obj_len, NULL);
	if (!obj) {
		krelay_fail(err, errlen, "cannot open the BPF object", errno);
		free(k);
		return NULL;
	}
	k->obj = obj;
	int rc = 0;
	static const char *const maps[] = { "krelay_src", "krelay_dst", "krelay_slots",
					    "krelay_dirs" };
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]) && rc == 0; i++)
		rc = krelay_size_map(obj, maps[i], npairs);
	if (rc == 0)
		rc = bpf_object__load(obj);
	if (rc < 0) {
		krelay_fail(err, errlen, "cannot load the BPF program", -rc);
		krelay_free(k);
		return NULL;
	}
	k->src_fd = krelay_map_fd(obj, "krelay_src");
	k->dst_fd = krelay_map_fd(obj, "krelay_dst");
	k->slots_fd = krelay_map_fd(obj, "krelay_slots");
	int dirs_fd = krelay_map_fd(obj, "krelay_dirs");
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "krelay_verdict");
	if (k->src_fd < 0 || k->dst_fd < 0 || k->slots_fd < 0 || dirs_fd < 0 || !prog) {
		snprintf(err, errlen, "the BPF object lacks a map or the program");
		krelay_free(k);
		return NULL;
	}
	long page = sysconf(_SC_PAGESIZE);
	k->dirs_len = ((size_t)npairs * sizeof(struct krelay_dir) + (size_t)page - 1) &
		      ~((size_t)page - 1);
	void *dirs = mmap(NULL, k->dirs_len, PROT_READ | PROT_WRITE, MAP_SHARED, dirs_fd, 0);
	if (dirs == MAP_FAILED) {
		krelay_fail(err, errlen, "cannot map the counters", errno);
		krelay_free(k);
		return NULL;
	}
	k->dirs = dirs;
	if (bpf_prog_attach(bpf_program__fd(prog), k->src_fd, BPF_SK_SKB_STREAM_VERDICT, 0) < 0) {
		krelay_fail(err, errlen, "cannot attach the verdict program", errno);
		krelay_free(k);
		return NULL;
	}
	return k;
}

void krelay_free(struct krelay *k)
{
	if (!k)
		return;
	if (k->dirs)
		munmap(k->dirs, k->dirs_len);
	/* Closing the object closes the maps and the program; the kernel
	 * detaches the program when the map goes. */
	bpf_object__close(k->obj);
	free(k);
}

/* ---- attaching a pair ---- */

static uint64_t krelay_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What fd has taken to send so far: bytes acknowledged plus still queued
 * (the same sum the program computes from the socket's fields). */
static int krelay_sent_total(int fd, uint64_t *total, bool *closed)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq = 0;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || ioctl(fd, SIOCOUTQ, &outq) < 0)
		return -errno;
	*closed = ti.tcpi_state == KRELAY_TCP_CLOSE;
	*total = ti.tcpi_bytes_acked + (uint64_t)outq;
	return 0;
}

static int krelay_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) < 0 ? -errno : 0;
}

/* Ready a direction: src's counters, with its peer dst's sent total. */
static int krelay_dir_init(struct krelay_dir *d, int src_fd, int dst_fd, uint64_t now)
{
	bool closed;
	uint64_t base, cookie;
	int rc = krelay_cookie(src_fd, &cookie);
	if (rc == 0)
		rc = krelay_sent_total(dst_fd, &base, &closed);
	if (rc < 0)
		return rc;
	if (closed)
		return -ENOTCONN;
	__atomic_store_n(&d->ready, 0, __ATOMIC_RELAXED);
	d->cookie = cookie;
	d->overflow = 0;
	d->redirected = d->forwarded = 0;
	d->base = base;
	d->last_ns = now;
	return 0;
}

static void krelay_unmap_pair(struct krelay *k, uint32_t pair)
{
	__atomic_store_n(&k->dirs[pair].ready, 0, __ATOMIC_RELEASE);
	bpf_map_delete_elem(k->slots_fd, &k->dirs[pair].cookie);
}

/* The order matters: the program knows the pair and the sink is in place
 * (ready) before the source is in the map, so its first packet already
 * goes to this session's sink, never to a socket an earlier session left
 * at this index, and is never left to user space. */
static int krelay_map_pair(struct krelay *k, uint32_t pair, int src_fd, int dst_fd)
{
	struct krelay_dir *d = &k->dirs[pair];
	int rc = krelay_dir_init(d, src_fd, dst_fd, krelay_now_ns());
	if (rc < 0)
		return rc;
	if (bpf_map_update_elem(k->slots_fd, &d->cookie, &pair, BPF_ANY) < 0 ||
	    bpf_map_update_elem(k->dst_fd, &pair, &dst_fd, BPF_ANY) < 0)
		goto fail;
	__atomic_store_n(&d->ready, 1, __ATOMIC_RELEASE);
	if (bpf_map_update_elem(k->src_fd, &pair, &src_fd, BPF_ANY) < 0)
		goto fail;
	return 0;
fail:
	rc = -errno;
	krelay_unmap_pair(k, pair);
	bpf_map_delete_elem(k->dst_fd, &pair);
	return rc;
}

uint64_t krelay_backlog(const struct krelay_dir *d, int dst_fd, bool *gone)
{
	uint64_t total;
	bool closed = false;
	*gone = false;
	if (krelay_sent_total(dst_fd, &total, &closed) < 0) {
		*gone = true;
		return UINT64_MAX;
	}
	/* A socket closed since (the peer went away after taking all it
	 * was owed) still counts as done: only bytes it never took are
	 * news. */
	uint64_t owed = __atomic_load_n(&d->redirected, __ATOMIC_ACQUIRE) + d->forwarded;
	uint64_t taken = total - d->base;
	if (taken >= owed)
		return 0;
	*gone = closed;
	return owed - taken;
}

int krelay_sink_failed(int fd)
{
	uint64_t total;
	bool closed;
	if (krelay_sent_total(fd, &total, &closed) < 0 || !closed)
		return 0;
	int e = 0;
	socklen_t len = sizeof(e);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
	return e ? -e : -EPIPE;
}

int krelay_unread(int fd)
{
	int n = 0;
	return ioctl(fd, SIOCINQ, &n) < 0 ? -errno : n;
}

/* ---- the self-test ---- */

static int krelay_tcp_pair(int lfd, const struct sockaddr_in *a, int *out, int *in)
{
	*out = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*out < 0 || connect(*out, (const struct sockaddr *)a, sizeof(*a)) < 0)
		return -errno;
	*in = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return *in < 0 ? -errno : 0;
}

static int krelay_self_test_run(struct krelay *k, int fds[5], char *err, size_t errlen)
{
	static const char probe[] = "hopsocks kernel relay";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char got[sizeof(probe)];
	int rc;

	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0 || bind(fds[0], (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fds[0], 2) < 0 || getsockname(fds[0], (struct sockaddr *)&a, &alen) < 0) {
		krelay_fail(err, errlen, "self-test: no loopback listener", errno);
		return -1;
	}
	if ((rc = krelay_tcp_pair(fds[0], &a, &fds[1], &fds[2])) < 0 ||
	    (rc = krelay_tcp_pair(fds[0], &a, &fds[3], &fds[4])) < 0) {
		krelay_fail(err, errlen, "self-test: no loopback connection", -rc);
		return -1;
	}
	if ((rc = krelay_map_pair(k, 0, fds[2], fds[4])) < 0) {
		krelay_fail(err, errlen, "self-test: cannot put sockets into the map", -rc);
		return -1;
	}
	rc = -1;
	struct pollfd p = { .fd = fds[3], .events = POLLIN };
	if (send(fds[1], probe, sizeof(probe), MSG_NOSIGNAL) == (ssize_t)sizeof(probe) &&
	    poll(&p, 1, 2000) == 1 && recv(fds[3], got, sizeof(got), MSG_WAITALL) == sizeof(got) &&
	    memcmp(got, probe, sizeof(probe)) == 0 && k->dirs[0].redirected == sizeof(probe))
		rc = 0;
	else
		snprintf(err, errlen, "self-test: bytes did not go through the kernel relay");
	bpf_map_delete_elem(k->src_fd, &(uint32_t){ 0 });
	krelay_unmap_pair(k, 0);
	bpf_map_delete_elem(k->dst_fd, &(uint32_t){ 0 });
	return rc;
}

int krelay_self_test(struct krelay *k, char *err, size_t errlen)
{
	int fds[5] = { -1, -1, -1, -1, -1 };
	krelay_libbpf_msg[0] = '\0';
	int rc = krelay_self_test_run(k, fds, err, errlen);
	for (int i = 0; i < 5; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* ---- a worker's pairs ---- */

int krelay_pool_init(struct krelay_pool *pool, struct krelay *k, uint32_t first, uint32_t count)
{
	pool->k = k;
	pool->nfree = 0;
	pool->free = count ? malloc(count * sizeof(*pool->free)) : NULL;
	if (count && !pool->free)
		return -1;
	/* Highest first, so pairs are handed out lowest first. */
	for (uint32_t i = count; i > 0; i--)
		pool->free[pool->nfree++] = first + i - 1;
	return 0;
}

void krelay_pool_destroy(struct krelay_pool *pool)
{
	free(pool->free);
	pool->free = NULL;
	pool->nfree = 0;
}

int krelay_attach(struct krelay_pool *pool, int src_fd, int dst_fd)
{
	if (pool->nfree == 0)
		return -ENOSPC;
	uint32_t pair = pool->free[pool->nfree - 1];
	int rc = krelay_map_pair(pool->k, pair, src_fd, dst_fd);
	if (rc < 0)
		return rc;
	pool->nfree--;
	return (int)pair;
}

void krelay_detach(struct krelay_pool *pool, uint32_t pair)
{
	bpf_map_delete_elem(pool->k->src_fd, &pair);
	krelay_unmap_pair(pool->k, pair);
	bpf_map_delete_elem(pool->k->dst_fd, &pair);
	pool->free[pool->nfree++] = pair;
}

#else /* !HAVE_KRELAY */

struct krelay *krelay_load(uint32_t npairs, char *err, size_t errlen)
{
	(void)npairs;
	snprintf(err, errlen, "built without it (configure found no clang or libbpf)");
	return NULL;
}

int krelay_self_test(struct krelay *k, char *err, size_t errlen)
{
	(void)k;
	snprintf(err, errlen, "built without it");
	return -1;
}

void krelay_free(struct krelay *k)
{
	(void)k;
}

int krelay_pool_init(struct krelay_pool *pool, struct krelay *k, uint32_t first, uint32_t count)
{
	(void)first;
	(void)count;
	pool->k = k;
	pool->free = NULL;
	pool->nfree = 0;
	return 0;
}

void krelay_pool_destroy(struct krelay_pool *pool)
{
	(void)pool;
}

int krelay_attach(struct krelay_pool *pool, int src_fd, int dst_fd)
{
	(void)pool;
	(void)src_fd;
	(void)dst_fd;
	return -ENOSYS;
}

void krelay_detach(struct krelay_pool *pool, uint32_t pair)
{
	(void)pool;
	(void)pair;
}

uint64_t krelay_backlog(const struct krelay_dir *d, int dst_fd, bool *gone)
{
	(void)d;
	(void)dst_fd;
	*gone = true;
	return UINT64_MAX;
}

int krelay_sink_failed(int fd)
{
	(void)fd;
	return -ENOSYS;
}

int krelay_unread(int fd)
{
	(void)fd;
	return -ENOSYS;
}

#endif
