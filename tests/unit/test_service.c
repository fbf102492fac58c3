/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Service glue (src/service.c): sd_notify datagrams to a path and to an
 * abstract socket, socket activation from a faked environment with real
 * descriptors placed at 3, 4, ..., recognising an inherited listening
 * socket by its address, the pid file, and the privilege drop (for real,
 * in a forked child, when the test runs as root). */
#include "server/service.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SAVED_FDS 8

/* Short, so every path built from it fits a sockaddr_un. */
static char tmpdir[64];

#define TEST_PATH_MAX 128

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hopsocks-svc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	unsetenv("NOTIFY_SOCKET");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

static void teardown(void)
{
	char cmd[TEST_PATH_MAX];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- notify ------------------------------------------------------------ */

/* A datagram socket bound where $NOTIFY_SOCKET will point: a path in the
 * temporary directory, or an abstract name when abstract is set. */
static int notify_listener(bool abstract, char *env, size_t envlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (abstract) {
		char name[64];
		int n = snprintf(name, sizeof(name), "hopsocks-test-%ld-%ld", (long)getpid(),
				 (long)time(NULL));
		memcpy(sun.sun_path + 1, name, (size_t)n);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
		snprintf(env, envlen, "@%s", name);
	} else {
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/notify", tmpdir);
		len = sizeof(sun);
		snprintf(env, envlen, "%s", sun.sun_path);
	}
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

/* The next datagram, NUL-terminated; fails the test if none is waiting. */
static void notify_recv(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	ck_assert_msg(n >= 0, "no notification arrived: %s", strerror(errno));
	buf[n] = '\0';
}

START_TEST(notify_without_socket_is_a_no_op)
{
	ck_assert_int_eq(service_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	ck_assert_int_eq(service_notify("READY=1"), 0);
}
END_TEST

START_TEST(notify_path_socket)
{
	char env[256], msg[256];
	int fd = notify_listener(false, env, sizeof(env));

	setenv("NOTIFY_SOCKET", env, 1);
	ck_assert_int_eq(service_notify("READY=1"), 1);
	notify_recv(fd, msg, sizeof(msg));
	ck_assert_str_eq(msg, "READY=1");
	ck_assert_int_eq(
		service_notifyf("STATUS=listening on %s (%d workers)", "127.0.0.1:1080", 4), 1);
	notify_recv(fd, msg, sizeof(msg));
	ck_assert_str_eq(msg, "STATUS=listening on 127.0.0.1:1080 (4 workers)");
	/* The variable stays for the notifications that come later. */
	ck_assert_str_eq(getenv("NOTIFY_SOCKET"), env);
	close(fd);
}
END_TEST

START_TEST(notify_abstract_socket)
{
	char env[256], msg[256];
	int fd = notify_listener(true, env, sizeof(env));

	setenv("NOTIFY_SOCKET", env, 1);
	ck_assert_int_eq(service_notify("STOPPING=1"), 1);
	notify_recv(fd, msg, sizeof(msg));
	ck_assert_str_eq(msg, "STOPPING=1");
	close(fd);
}
END_TEST

/* RELOADING=1 carries the monotonic clock in microseconds, taken between
 * the two readings around the call. */
START_TEST(notify_reloading_has_monotonic_usec)
{
	char env[256], msg[256];
	struct timespec t0, t1;
	int fd = notify_listener(false, env, sizeof(env));

	setenv("NOTIFY_SOCKET", env, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(service_notify_reloading(), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	notify_recv(fd, msg, sizeof(msg));

	const char *prefix = "RELOADING=1\nMONOTONIC_USEC=";
	ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "got [%s]", msg);
	char *end;
	unsigned long long usec = strtoull(msg + strlen(prefix), &end, 10);
	ck_assert_msg(*end == '\0', "trailing text in [%s]", msg);
	unsigned long long lo =
		(unsigned long long)t0.tv_sec * 1000000ull + (unsigned long long)t0.tv_nsec / 1000u;
	unsigned long long hi =
		(unsigned long long)t1.tv_sec * 1000000ull + (unsigned long long)t1.tv_nsec / 1000u;
	ck_assert_msg(usec >= lo && usec <= hi, "MONOTONIC_USEC %llu outside [%llu, %llu]", usec,
		      lo, hi);
	close(fd);
}
END_TEST

START_TEST(notify_errors)
{
	char longpath[200];

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ck_assert_int_eq(service_notify("READY=1"), -EAFNOSUPPORT);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	ck_assert_int_eq(service_notify("READY=1"), -ENAMETOOLONG);
	setenv("NOTIFY_SOCKET", "@", 1);
	ck_assert_int_eq(service_notify("READY=1"), -EINVAL);

	char missing[TEST_PATH_MAX];
	snprintf(missing, sizeof(missing), "%s/nobody-listens", tmpdir);
	setenv("NOTIFY_SOCKET", missing, 1);
	ck_assert_int_eq(service_notify("READY=1"), -ENOENT);
}
END_TEST

/* ---- socket activation --------------------------------------------------- */

/* Descriptors 3.. belong to whoever started the test (Check keeps the file
 * it reports through there, and writes to it on every ck_assert): move
 * them aside, put ours in their place, and put theirs back before the
 * next assertion. */
struct fd_stash {
	int saved[SAVED_FDS];
	int n;
	bool ok;
};

static void fds_place(struct fd_stash *st, const int *mine, int n)
{
	ck_assert_int_le(n, SAVED_FDS);
	st->n = n;
	st->ok = true;
	/* No ck_assert from here until fds_restore(). */
	for (int i = 0; i < n; i++) {
		int target = SERVICE_LISTEN_FDS_START + i;
		st->saved[i] = fcntl(target, F_DUPFD_CLOEXEC, 100);
		if (mine[i] >= 0) {
			if (dup2(mine[i], target) != target)
				st->ok = false;
		} else {
			close(target);
		}
	}
}

static void fds_restore(struct fd_stash *st)
{
	for (int i = 0; i < st->n; i++) {
		int target = SERVICE_LISTEN_FDS_START + i;
		if (st->saved[i] >= 0) {
			dup2(st->saved[i], target);
			close(st->saved[i]);
		} else {
			close(target);
		}
	}
	ck_assert_msg(st->ok, "could not place the test's descriptors at 3..");
}

static void set_listen_env(long pid, const char *count, const char *names)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%ld", pid);
	setenv("LISTEN_PID", buf, 1);
	setenv("LISTEN_FDS", count, 1);
	if (names)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static void assert_env_gone(void)
{
	ck_assert_ptr_null(getenv("LISTEN_PID"));
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
	ck_assert_ptr_null(getenv("LISTEN_FDNAMES"));
}

/* A listening TCP socket on 127.0.0.1 (an ephemeral port); its address in
 * *sin. Blocking and inheritable on purpose: service_listen_fds must fix
 * that. */
static int tcp_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

START_TEST(listen_fds_absent)
{
	int *fds = (int *)1;
	size_t n = 99;

	ck_assert_int_eq(service_listen_fds(&fds, &n), 0);
	ck_assert_ptr_null(fds);
	ck_assert_uint_eq(n, 0);
	/* LISTEN_PID without LISTEN_FDS: nothing passed. */
	setenv("LISTEN_PID", "1", 1);
	ck_assert_int_eq(service_listen_fds(&fds, &n), 0);
	assert_env_gone();
}
END_TEST

/* LISTEN_PID of another process: the variables were for a parent. They
 * still go, so our own children never see them. */
START_TEST(listen_fds_other_pid)
{
	int *fds;
	size_t n;

	set_listen_env((long)getpid() + 1, "2", "a:b");
	ck_assert_int_eq(service_listen_fds(&fds, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(fds);
	assert_env_gone();
}
END_TEST

START_TEST(listen_fds_takes_and_fixes_descriptors)
{
	struct sockaddr_in sin;
	int pipefd[2];
	int mine[2];
	struct fd_stash st;
	int *fds;
	size_t n;

	mine[0] = tcp_listener(&sin);
	ck_assert_int_eq(pipe(pipefd), 0);
	mine[1] = pipefd[0];
	fds_place(&st, mine, 2);
	set_listen_env((long)getpid(), "2", NULL);

	int rc = service_listen_fds(&fds, &n);
	int fd3_fd = fcntl(3, F_GETFD), fd3_fl = fcntl(3, F_GETFL);
	int fd4_fd = fcntl(4, F_GETFD), fd4_fl = fcntl(4, F_GETFL);
	int match = rc == 2 ? service_match_listen_fd(fds[0], (struct sockaddr *)&sin, sizeof(sin))
			    : -1;
	int match_pipe =
		rc == 2 ? service_match_listen_fd(fds[1], (struct sockaddr *)&sin, sizeof(sin))
			: -1;
	fds_restore(&st);

	ck_assert_int_eq(rc, 2);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(fds[0], 3);
	ck_assert_int_eq(fds[1], 4);
	ck_assert(fd3_fd & FD_CLOEXEC);
	ck_assert(fd3_fl & O_NONBLOCK);
	ck_assert(fd4_fd & FD_CLOEXEC);
	ck_assert(fd4_fl & O_NONBLOCK);
	ck_assert_int_eq(match, 1);
	ck_assert_int_eq(match_pipe, 0); /* a pipe is no listening socket */
	assert_env_gone();
	service_listen_fds_free(fds, NULL, n);
	close(mine[0]);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

START_TEST(listen_fds_names)
{
	int pipefd[2];
	struct fd_stash st;
	int *fds;
	char **names;
	size_t n;

	ck_assert_int_eq(pipe(pipefd), 0);
	fds_place(&st, pipefd, 2);

	set_listen_env((long)getpid(), "2", "socks:admin");
	int rc_named = service_listen_fds_with_names(&fds, &names, &n);
	char got0[32] = "", got1[32] = "";
	if (rc_named == 2) {
		snprintf(got0, sizeof(got0), "%s", names[0]);
		snprintf(got1, sizeof(got1), "%s", names[1]);
		service_listen_fds_free(fds, names, n);
	}

	/* Without LISTEN_FDNAMES every socket is "unknown", as in systemd. */
	set_listen_env((long)getpid(), "2", NULL);
	int rc_unnamed = service_listen_fds_with_names(&fds, &names, &n);
	char un0[32] = "", un1[32] = "";
	if (rc_unnamed == 2) {
		snprintf(un0, sizeof(un0), "%s", names[0]);
		snprintf(un1, sizeof(un1), "%s", names[1]);
		service_listen_fds_free(fds, names, n);
	}

	/* One name for two sockets, or three: which is which? Refuse. */
	set_listen_env((long)getpid(), "2", "socks");
	int rc_short = service_listen_fds_with_names(&fds, &names, &n);
	set_listen_env((long)getpid(), "2", "a:b:c");
	int rc_long = service_listen_fds_with_names(&fds, &names, &n);
	/* An empty name is still a name: "a:" is two of them. */
	set_listen_env((long)getpid(), "2", "a:");
	int rc_empty = service_listen_fds_with_names(&fds, &names, &n);
	char em1[32] = "?";
	if (rc_empty == 2) {
		snprintf(em1, sizeof(em1), "%s", names[1]);
		service_listen_fds_free(fds, names, n);
	}
	fds_restore(&st);

	ck_assert_int_eq(rc_named, 2);
	ck_assert_str_eq(got0, "socks");
	ck_assert_str_eq(got1, "admin");
	ck_assert_int_eq(rc_unnamed, 2);
	ck_assert_str_eq(un0, "unknown");
	ck_assert_str_eq(un1, "unknown");
	ck_assert_int_eq(rc_short, -EINVAL);
	ck_assert_int_eq(rc_long, -EINVAL);
	ck_assert_int_eq(rc_empty, 2);
	ck_assert_str_eq(em1, "");
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

START_TEST(listen_fds_malformed)
{
	static const char *const bad_counts[] = { "", "x", "2x", "-1", " 1", "99999999999" };
	int *fds;
	size_t n;

	for (size_t i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
		set_listen_env((long)getpid(), bad_counts[i], NULL);
		ck_assert_msg(service_listen_fds(&fds, &n) == -EINVAL, "LISTEN_FDS=\"%s\" accepted",
			      bad_counts[i]);
		assert_env_gone();
	}
	setenv("LISTEN_PID", "not-a-pid", 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(service_listen_fds(&fds, &n), -EINVAL);
	setenv("LISTEN_PID", "0", 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(service_listen_fds(&fds, &n), -EINVAL);
	/* Zero sockets is a valid, empty activation. */
	set_listen_env((long)getpid(), "0", NULL);
	ck_assert_int_eq(service_listen_fds(&fds, &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* A promised descriptor that is not open is an error, not a silent skip. */
START_TEST(listen_fds_closed_descriptor)
{
	int none[3] = { -1, -1, -1 };
	struct fd_stash st;
	int *fds;
	size_t n;

	fds_place(&st, none, 3);
	set_listen_env((long)getpid(), "3", NULL);
	int rc = service_listen_fds(&fds, &n);
	fds_restore(&st);
	ck_assert_int_eq(rc, -EBADF);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(fds);
	assert_env_gone();
}
END_TEST

START_TEST(match_listen_fd_by_address)
{
	struct sockaddr_in sin, other;
	int fd = tcp_listener(&sin);

	ck_assert_int_eq(service_match_listen_fd(fd, (struct sockaddr *)&sin, sizeof(sin)), 1);
	other = sin;
	other.sin_port = htons((uint16_t)(ntohs(sin.sin_port) ^ 1));
	ck_assert_int_eq(service_match_listen_fd(fd, (struct sockaddr *)&other, sizeof(other)), 0);
	other = sin;
	other.sin_addr.s_addr = htonl(INADDR_ANY);
	ck_assert_int_eq(service_match_listen_fd(fd, (struct sockaddr *)&other, sizeof(other)), 0);

	/* The same port in the other family is another address. */
	struct sockaddr_in6 six = { .sin6_family = AF_INET6,
				    .sin6_port = sin.sin_port,
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	ck_assert_int_eq(service_match_listen_fd(fd, (struct sockaddr *)&six, sizeof(six)), 0);

	/* Bound but not listening; UDP on the same address; not a socket;
	 * not open. */
	int bound = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in bsin = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t blen = sizeof(bsin);
	ck_assert_int_eq(bind(bound, (struct sockaddr *)&bsin, sizeof(bsin)), 0);
	ck_assert_int_eq(getsockname(bound, (struct sockaddr *)&bsin, &blen), 0);
	ck_assert_int_eq(service_match_listen_fd(bound, (struct sockaddr *)&bsin, sizeof(bsin)), 0);

	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_eq(bind(udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(service_match_listen_fd(udp, (struct sockaddr *)&sin, sizeof(sin)), 0);

	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_eq(service_match_listen_fd(pipefd[0], (struct sockaddr *)&sin, sizeof(sin)),
			 0);
	close(pipefd[0]);
	close(pipefd[1]);
	ck_assert_int_eq(service_match_listen_fd(pipefd[0], (struct sockaddr *)&sin, sizeof(sin)),
			 -EBADF);

	/* find: the index of the one that matches. */
	int list[4] = { udp, bound, fd, bound };
	ck_assert_int_eq(service_find_listen_fd(list, 4, (struct sockaddr *)&sin, sizeof(sin)), 2);
	ck_assert_int_eq(service_find_listen_fd(list, 2, (struct sockaddr *)&sin, sizeof(sin)), -1);
	close(bound);
	close(udp);
	close(fd);
}
END_TEST

START_TEST(match_listen_fd_ipv6)
{
	struct sockaddr_in6 six = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(six);
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&six, sizeof(six)) < 0) {
		/* No IPv6 loopback here (some containers): nothing to test. */
		if (fd >= 0)
			close(fd);
		return;
	}
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&six, &len), 0);
	ck_assert_int_eq(service_match_listen_fd(fd, (struct sockaddr *)&six, sizeof(six)), 1);

	struct sockaddr_in6 any = six;
	any.sin6_addr = in6addr_any;
	ck_assert_int_eq(service_match_listen_fd(fd, (struct sockaddr *)&any, sizeof(any)), 0);
	/* A configured scope must match the socket's (loopback has none). */
	struct sockaddr_in6 scoped = six;
	scoped.sin6_scope_id = 1;
	ck_assert_int_eq(service_match_listen_fd(fd, (struct sockaddr *)&scoped, sizeof(scoped)),
			 0);
	struct sockaddr_in v4 = { .sin_family = AF_INET,
				  .sin_port = six.sin6_port,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(service_match_listen_fd(fd, (struct sockaddr *)&v4, sizeof(v4)), 0);
	close(fd);
}
END_TEST

/* A worker's duplicate: a different descriptor, the same listening socket
 * (it accepts what the original's queue holds), close-on-exec,
 * non-blocking. */
START_TEST(listen_fd_dup_shares_the_socket)
{
	struct sockaddr_in sin;
	int fd = tcp_listener(&sin);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);

	int dup1 = service_listen_fd_dup(fd);
	ck_assert_int_ge(dup1, SERVICE_LISTEN_FDS_START);
	ck_assert_int_ne(dup1, fd);
	ck_assert(fcntl(dup1, F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(dup1, F_GETFL) & O_NONBLOCK);
	ck_assert_int_eq(service_match_listen_fd(dup1, (struct sockaddr *)&sin, sizeof(sin)), 1);

	/* Nothing queued: EAGAIN, not a block. */
	ck_assert_int_lt(accept(dup1, NULL, NULL), 0);
	ck_assert_int_eq(errno, EAGAIN);

	int c = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	close(fd); /* the original may go; the duplicate still holds the socket */
	int a = -1;
	for (int i = 0; i < 200 && a < 0; i++) {
		a = accept(dup1, NULL, NULL);
		if (a < 0)
			usleep(5000);
	}
	ck_assert_int_ge(a, 0);
	close(a);
	close(c);
	close(dup1);
	ck_assert_int_eq(service_listen_fd_dup(dup1), -EBADF);
}
END_TEST

/* ---- pid file ------------------------------------------------------------ */

static void read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(pid_file_write_and_remove)
{
	char path[TEST_PATH_MAX], want[32], got[64];
	struct stat sb;
	long holder = -1;

	snprintf(path, sizeof(path), "%s/hopsocks.pid", tmpdir);
	write_file(path, "stale content that is longer than any pid\n");
	int fd = service_lock_pid_file(path, &holder);
	ck_assert_int_ge(fd, 0);
	read_file(path, got, sizeof(got));
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(service_write_pid_file(fd), 0);
	read_file(path, got, sizeof(got));
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(service_remove_pid_file(path), 0);
	ck_assert_int_lt(stat(path, &sb), 0);
	ck_assert_int_eq(service_remove_pid_file(path), -ENOENT);
	close(fd);
}
END_TEST

/* A second lock on a held pid file fails and names the holder; the file
 * is left as it was. Once the first descriptor is closed, it is free. */
START_TEST(pid_file_lock_is_exclusive)
{
	char path[TEST_PATH_MAX], want[32], got[64];
	long holder = -1;

	snprintf(path, sizeof(path), "%s/locked.pid", tmpdir);
	int fd = service_lock_pid_file(path, &holder);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(service_lock_pid_file(path, &holder), -EWOULDBLOCK);
	ck_assert_int_eq(holder, (long)getpid());
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	read_file(path, got, sizeof(got));
	ck_assert_str_eq(got, want);
	close(fd);
	fd = service_lock_pid_file(path, &holder);
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

/* Another instance's pid file (or garbage) stays where it is. */
START_TEST(pid_file_of_someone_else_stays)
{
	char path[TEST_PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/other.pid", tmpdir);
	write_file(path, "1\n");
	ck_assert_int_eq(service_remove_pid_file(path), -ESRCH);
	write_file(path, "garbage\n");
	ck_assert_int_eq(service_remove_pid_file(path), -ESRCH);
	ck_assert_int_eq(stat(path, &sb), 0);
}
END_TEST

/* A symlink in the pid file's place is neither followed nor replaced. */
START_TEST(pid_file_refuses_symlink)
{
	char path[TEST_PATH_MAX], victim[TEST_PATH_MAX], got[64];

	snprintf(victim, sizeof(victim), "%s/victim", tmpdir);
	snprintf(path, sizeof(path), "%s/link.pid", tmpdir);
	write_file(victim, "precious\n");
	ck_assert_int_eq(symlink(victim, path), 0);
	long holder;
	ck_assert_int_eq(service_lock_pid_file(path, &holder), -ELOOP);
	read_file(victim, got, sizeof(got));
	ck_assert_str_eq(got, "precious\n");
	ck_assert_int_eq(service_lock_pid_file("/nonexistent-dir/x.pid", &holder), -ENOENT);
}
END_TEST

/* ---- privileges ---------------------------------------------------------- */

START_TEST(drop_nothing_asked)
{
	char err[256] = "";
	ck_assert_int_eq(service_drop_privileges(NULL, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(drop_unknown_names)
{
	char err[256];

	ck_assert_int_eq(service_drop_privileges("no-such-user-hopsocks", NULL, err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "user no-such-user-hopsocks: no such user");
	ck_assert_int_eq(
		service_drop_privileges("root", "no-such-group-hopsocks", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "group no-such-group-hopsocks: no such group");
}
END_TEST

/* Already the user asked for (systemd's User=): success, nothing done. */
START_TEST(drop_to_self_without_root)
{
	char err[256] = "", name[256], group[256];
	struct passwd *pw = getpwuid(getuid());
	struct group *gr = getgrgid(getgid());

	if (geteuid() == 0 || !pw || !gr)
		return; /* as root this would be a real drop: see the forked tests */
	snprintf(name, sizeof(name), "%s", pw->pw_name);
	snprintf(group, sizeof(group), "%s", gr->gr_name);
	ck_assert_msg(service_drop_privileges(name, group, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(service_drop_privileges(name, NULL, err, sizeof(err)) == 0 ||
			      pw->pw_gid != getgid(),
		      "%s", err);
}
END_TEST

/* Run the drop in a child (it cannot be undone) and report through the
 * exit status and a pipe: 0 and the ids, or 1 and the error text. */
struct drop_result {
	int rc;
	unsigned long ruid, euid, suid, rgid, egid, sgid;
	int ngroups;
	unsigned long groups[8];
	int setuid0_errno;
	char err[256];
};

static struct drop_result drop_in_child(const char *user, const char *group)
{
	struct drop_result r;
	int p[2];

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uid_t ru, eu, su;
		gid_t rg, eg, sg, list[8];
		close(p[0]);
		r.rc = service_drop_privileges(user, group, r.err, sizeof(r.err));
		getresuid(&ru, &eu, &su);
		getresgid(&rg, &eg, &sg);
		r.ruid = ru, r.euid = eu, r.suid = su;
		r.rgid = rg, r.egid = eg, r.sgid = sg;
		r.ngroups = getgroups(8, list);
		for (int i = 0; i < r.ngroups && i < 8; i++)
			r.groups[i] = list[i];
		r.setuid0_errno = setuid(0) == 0 ? 0 : errno;
		ssize_t w = write(p[1], &r, sizeof(r));
		_exit(w == (ssize_t)sizeof(r) ? 0 : 3);
	}
	close(p[1]);
	ssize_t got = read(p[0], &r, sizeof(r));
	close(p[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ck_assert_int_eq(got, (ssize_t)sizeof(r));
	return r;
}

START_TEST(drop_to_nobody_as_root)
{
	struct passwd *pw = getpwnam("nobody");
	if (!pw)
		return; /* no such user on this system: nothing to drop to */
	unsigned long uid = pw->pw_uid, gid = pw->pw_gid;

	struct drop_result r = drop_in_child("nobody", NULL);
	if (geteuid() != 0) {
		/* Not root: the drop must refuse, saying why. */
		ck_assert_int_eq(r.rc, -1);
		ck_assert_msg(strstr(r.err, "not running as root") != NULL, "%s", r.err);
		return;
	}
	ck_assert_msg(r.rc == 0, "%s", r.err);
	ck_assert_uint_eq(r.ruid, uid);
	ck_assert_uint_eq(r.euid, uid);
	ck_assert_uint_eq(r.suid, uid);
	ck_assert_uint_eq(r.rgid, gid);
	ck_assert_uint_eq(r.egid, gid);
	ck_assert_uint_eq(r.sgid, gid);
	ck_assert_int_eq(r.setuid0_errno, EPERM);
	/* initgroups: root's group 0 is gone. */
	for (int i = 0; i < r.ngroups && i < 8; i++)
		ck_assert_uint_ne(r.groups[i], 0);
}
END_TEST

/* An explicit group replaces the primary one and is the only
 * supplementary group. */
START_TEST(drop_with_explicit_group_as_root)
{
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("daemon");
	if (!pw || !gr || geteuid() != 0)
		return; /* covered by drop_to_nobody_as_root when not root */
	unsigned long uid = pw->pw_uid, gid = gr->gr_gid;

	struct drop_result r = drop_in_child("nobody", "daemon");
	ck_assert_msg(r.rc == 0, "%s", r.err);
	ck_assert_uint_eq(r.euid, uid);
	ck_assert_uint_eq(r.egid, gid);
	ck_assert_uint_eq(r.sgid, gid);
	ck_assert_int_eq(r.ngroups, 1);
	ck_assert_uint_eq(r.groups[0], gid);
	ck_assert_int_eq(r.setuid0_errno, EPERM);

	/* Group only: the uid stays root, the groups are just that one. */
	r = drop_in_child(NULL, "daemon");
	ck_assert_msg(r.rc == 0, "%s", r.err);
	ck_assert_uint_eq(r.euid, 0);
	ck_assert_uint_eq(r.egid, gid);
	ck_assert_int_eq(r.ngroups, 1);
	ck_assert_uint_eq(r.groups[0], gid);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("service");
	TCase *tc = tcase_create("notify");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, notify_without_socket_is_a_no_op);
	tcase_add_test(tc, notify_path_socket);
	tcase_add_test(tc, notify_abstract_socket);
	tcase_add_test(tc, notify_reloading_has_monotonic_usec);
	tcase_add_test(tc, notify_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen_fds");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, listen_fds_absent);
	tcase_add_test(tc, listen_fds_other_pid);
	tcase_add_test(tc, listen_fds_takes_and_fixes_descriptors);
	tcase_add_test(tc, listen_fds_names);
	tcase_add_test(tc, listen_fds_malformed);
	tcase_add_test(tc, listen_fds_closed_descriptor);
	tcase_add_test(tc, match_listen_fd_by_address);
	tcase_add_test(tc, match_listen_fd_ipv6);
	tcase_add_test(tc, listen_fd_dup_shares_the_socket);
	suite_add_tcase(s, tc);

	tc = tcase_create("pid_file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pid_file_write_and_remove);
	tcase_add_test(tc, pid_file_lock_is_exclusive);
	tcase_add_test(tc, pid_file_of_someone_else_stays);
	tcase_add_test(tc, pid_file_refuses_symlink);
	suite_add_tcase(s, tc);

	tc = tcase_create("privileges");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, drop_nothing_asked);
	tcase_add_test(tc, drop_unknown_names);
	tcase_add_test(tc, drop_to_self_without_root);
	tcase_add_test(tc, drop_to_nobody_as_root);
	tcase_add_test(tc, drop_with_explicit_group_as_root);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
