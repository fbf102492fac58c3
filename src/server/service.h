/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Running as a system service: the systemd notification protocol and socket
 * activation (both without libsystemd), dropping root privileges, and the
 * pid file.
 *
 * Everything here is called by the main thread. The functions that read or
 * change the environment (service_listen_fds) or the credentials
 * (service_drop_privileges) must run before any other thread exists; see the
 * comments on each. */
#ifndef HOPSOCKS_SERVICE_H
#define HOPSOCKS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The first descriptor systemd passes (SD_LISTEN_FDS_START). */
#define SERVICE_LISTEN_FDS_START 3

/* ---- sd_notify(3) ------------------------------------------------------ */

/* Send state ("READY=1", "STOPPING=1", "STATUS=...", several separated by
 * newlines) to the service manager: one datagram on the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 * Returns 1 if it was sent, 0 if $NOTIFY_SOCKET is unset (not run by a
 * service manager: nothing to do), -errno on failure. The variable is left
 * in place, so later notifications find it too. */
int service_notify(const char *state);

/* service_notify() with a printf-style message, e.g.
 * service_notifyf("STATUS=listening on %s", list). */
int service_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with "MONOTONIC_USEC=<CLOCK_MONOTONIC now>": systemd 253 and
 * later want the timestamp to tell this reload from an earlier one. Follow
 * it with service_notify("READY=1") when the reload is over, failed or
 * not, or the unit stays "reloading". */
int service_notify_reloading(void);

/* ---- socket activation (sd_listen_fds(3)) ------------------------------ */

/* The listening sockets the service manager passed: *fds gets a malloc'd
 * array of *n descriptors (3, 4, ...), each made close-on-exec and
 * non-blocking. Returns *n (0 when not socket-activated, or when LISTEN_PID
 * names another process: the variables were meant for a parent), or -errno
 * (-EINVAL for malformed variables, -EBADF if a promised descriptor is not
 * open). LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are removed from the
 * environment in every case, so nothing we start inherits them.
 *
 * Changes the environment: call it before any thread is started. */
int service_listen_fds(int **fds, size_t *n);

/* The same, also returning the names from LISTEN_FDNAMES (the socket
 * unit's FileDescriptorName=, "unknown" when not given) in *names, a
 * malloc'd array of *n malloc'd strings (NULL when *n is 0). */
int service_listen_fds_with_names(int **fds, char ***names, size_t *n);

/* Free what service_listen_fds_with_names() returned. Does not close the
 * descriptors. */
void service_listen_fds_free(int *fds, char **names, size_t n);

/* 1 if fd is a listening TCP socket (SOCK_STREAM, IPPROTO_TCP,
 * SO_ACCEPTCONN) bound to exactly addr (family, address and port; for
 * IPv6 also the scope id when addr has one), 0 if it is not, -errno if fd
 * cannot be examined. */
int service_match_listen_fd(int fd, const struct sockaddr *addr, socklen_t len);

/* The index in fds[0..n) of the first socket service_match_listen_fd()
 * accepts for addr, or -1 if there is none. */
int service_find_listen_fd(const int *fds, size_t n, const struct sockaddr *addr, socklen_t len);

/* A worker's own descriptor for an inherited listening socket: a
 * close-on-exec duplicate, so every worker can close its listener without
 * affecting the others or main's copy. All duplicates are the same socket
 * with one accept queue; each worker adds its duplicate to its own epoll
 * and whichever wakes first accepts (the others get EAGAIN, which the
 * accept loop already treats as "done"). Returns the fd or -errno. */
int service_listen_fd_dup(int inherited);

/* ---- privileges -------------------------------------------------------- */

/* Become user (and group) for good: resolve the names (group defaults to
 * the user's primary group), set the supplementary groups (the user's own,
 * as initgroups(3) finds them, or with an explicit group just that one
 * group), then the real, effective and saved gid, then uid, and verify the
 * result, including that setuid(0) now fails. user may be NULL to change
 * only the group. Returns 0, or -1 with a message in err naming the step
 * that failed.
 *
 * A process already running as exactly that user and group (systemd's
 * User=/Group=) succeeds without changing anything; otherwise this needs
 * root (CAP_SETUID, CAP_SETGID).
 *
 * Call it after every listening socket is bound (ports below 1024 need
 * privileges the drop gives up), after the pid file is written (its
 * directory is usually root's), and before any thread that serves clients
 * starts (see service.c for why). */
int service_drop_privileges(const char *user, const char *group, char *err, size_t errlen);

/* Give up what loading the kernel relay needed (CAP_BPF, CAP_NET_ADMIN,
 * CAP_PERFMON, CAP_SYS_ADMIN) once it is loaded: a process started without
 * root (systemd's User= with ambient capabilities) keeps only the rest,
 * e.g. CAP_NET_BIND_SERVICE. Nothing changes for root, whose "user" drop
 * gives up everything anyway. Returns 0 or -errno. */
int service_drop_bpf_capabilities(void);

/* ---- pid file ---------------------------------------------------------- */

/* Open path (created 0644, never through a symlink), take an exclusive
 * flock(2) on it and write getpid() and a newline. The lock lives as long
 * as the returned descriptor and its copies (a fork keeps it), so a
 * second instance with the same pid file finds it held. Returns the
 * descriptor, or -EWOULDBLOCK with *holder the pid written in the file (0
 * if none), or another -errno. */
int service_lock_pid_file(const char *path, long *holder);
/* Write getpid() again, over what fd holds (after -D's fork the daemon's
 * pid is not the one that locked). Returns 0 or -errno. */
int service_write_pid_file(int fd);

/* Remove path if it still holds our pid (a newer instance may have taken it
 * over). Failure is not an error worth reporting at exit: after a
 * privilege drop the directory is often no longer writable. Returns 0 if
 * removed, -errno otherwise (-ESRCH if it names another process). */
int service_remove_pid_file(const char *path);

#endif
