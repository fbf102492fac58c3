/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Running as a system service. See service.h for the API; this file says
 * why each step is done the way it is. */
#include "server/service.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NOTIFY_MAX	     4096  /* our longest message; systemd takes more */
#define LISTEN_FDS_MAX	     65536 /* far beyond any real unit; bounds the arrays */
#define PW_BUF_START	     1024
#define PW_BUF_MAX	     (1 << 20)
#define PID_FILE_MAX	     32
#define SERVICE_GROUPS_CHECK 64

/* ---- sd_notify --------------------------------------------------------- */

/* $NOTIFY_SOCKET as a sockaddr_un. "@name" is the abstract namespace: a
 * leading NUL, then the name, and the address length counts exactly the
 * name's bytes (no terminating NUL), as systemd binds it. */
static int notify_addr(const char *env, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(env);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (env[0] == '@') {
		if (n < 2 || n > sizeof(sun->sun_path))
			return -EINVAL;
		memcpy(sun->sun_path + 1, env + 1, n - 1);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		return 0;
	}
	if (env[0] != '/') /* vsock: and friends: not for us */
		return -EAFNOSUPPORT;
	if (n >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, env, n + 1);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

int service_notify(const char *state)
{
	const char *env = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;

	if (!env || !*env)
		return 0;
	int rc = notify_addr(env, &sun, &len);
	if (rc < 0)
		return rc;
	/* A fresh socket per message: notifications are rare (start, reload,
	 * stop), and nothing stays open for a fork or an exec to inherit. The
	 * kernel attaches our credentials for systemd (it sets SO_PASSCRED),
	 * which is how it knows the message comes from the main pid. */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	size_t n = strlen(state);
	ssize_t sent = sendto(fd, state, n, MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
	rc = sent < 0 ? -errno : (size_t)sent == n ? 1 : -EMSGSIZE;
	close(fd);
	return rc;
}

int service_notifyf(const char *fmt, ...)
{
	char msg[NOTIFY_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	/* A truncated STATUS= is still worth sending; it is one line of text. */
	return service_notify(msg);
}

int service_notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long usec =
		(unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u;
	return service_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

/* ---- socket activation ------------------------------------------------- */

/* A decimal number in [0, max], the whole string. */
static int parse_count(const char *s, long max, long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "a:b:c" into n malloc'd strings; the count must be exactly n, as
 * sd_listen_fds_with_names() insists (a mismatch means a confused
 * environment, and guessing which name goes with which socket is worse). */
static int split_names(const char *text, size_t n, char **names)
{
	const char *p = text;
	size_t i = 0;

	for (;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (i == n)
			return -EINVAL;
		names[i] = strndup(p, len);
		if (!names[i])
			return -ENOMEM;
		i++;
		if (!colon)
			break;
		p = colon + 1;
	}
	return i == n ? 0 : -EINVAL;
}

static int listen_fds_take(int *fds, char **names, size_t n)
{
	const char *fdnames = getenv("LISTEN_FDNAMES");

	for (size_t i = 0; i < n; i++) {
		int fd = SERVICE_LISTEN_FDS_START + (int)i;
		int fdflags = fcntl(fd, F_GETFD);
		int flflags = fcntl(fd, F_GETFL);
		/* Close-on-exec: nothing we might start gets the listeners.
		 * Non-blocking: the workers' accept loops rely on EAGAIN. */
		if (fdflags < 0 || flflags < 0 || fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC) < 0 ||
		    fcntl(fd, F_SETFL, flflags | O_NONBLOCK) < 0)
			return -errno;
		fds[i] = fd;
	}
	if (!names)
		return 0;
	if (fdnames)
		return split_names(fdnames, n, names);
	for (size_t i = 0; i < n; i++) {
		names[i] = strdup("unknown"); /* what systemd calls an unnamed one */
		if (!names[i])
			return -ENOMEM;
	}
	return 0;
}

static int listen_fds_parse(int **fds_out, char ***names_out, size_t *n_out)
{
	const char *pid_env = getenv("LISTEN_PID");
	const char *fds_env = getenv("LISTEN_FDS");
	long pid, count;

	if (!pid_env)
		return 0;
	if (parse_count(pid_env, LONG_MAX, &pid) < 0 || pid == 0)
		return -EINVAL;
	/* Inherited from a parent that was activated: not ours. */
	if (pid != (long)getpid())
		return 0;
	if (!fds_env)
		return 0;
	if (parse_count(fds_env, LISTEN_FDS_MAX, &count) < 0)
		return -EINVAL;
	if (count == 0)
		return 0;

	size_t n = (size_t)count;
	int *fds = calloc(n, sizeof(*fds));
	char **names = names_out ? calloc(n, sizeof(*names)) : NULL;
	if (!fds || (names_out && !names)) {
		free(fds);
		free(names);
		return -ENOMEM;
	}
	int rc = listen_fds_take(fds, names, n);
	if (rc < 0) {
		service_listen_fds_free(fds, names, n);
		return rc;
	}
	*fds_out = fds;
	if (names_out)
		*names_out = names;
	*n_out = n;
	return (int)n;
}

static int listen_fds_get(int **fds, char ***names, size_t *n)
{
	*fds = NULL;
	if (names)
		*names = NULL;
	*n = 0;
	int rc = listen_fds_parse(fds, names, n);
	/* Whatever the outcome: a child must not take these for its own. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}

int service_listen_fds(int **fds, size_t *n)
{
	return listen_fds_get(fds, NULL, n);
}

int service_listen_fds_with_names(int **fds, char ***names, size_t *n)
{
	return listen_fds_get(fds, names, n);
}

void service_listen_fds_free(int *fds, char **names, size_t n)
{
	if (names)
		for (size_t i = 0; i < n; i++)
			free(names[i]);
	free(names);
	free(fds);
}

static int sockopt_int(int fd, int level, int name, int *out)
{
	socklen_t len = sizeof(*out);
	if (getsockopt(fd, level, name, out, &len) < 0)
		return -errno;
	return 0;
}

static bool same_address(const struct sockaddr_storage *got, const struct sockaddr *want,
			 socklen_t wantlen)
{
	if (got->ss_family != want->sa_family)
		return false;
	if (want->sa_family == AF_INET && wantlen >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)got;
		const struct sockaddr_in *b = (const struct sockaddr_in *)want;
		return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (want->sa_family == AF_INET6 && wantlen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)got;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)want;
		/* A configured scope ("[fe80::1%eth0]") must match; without one,
		 * the kernel's is whatever it is. */
		return a->sin6_port == b->sin6_port &&
		       memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0 &&
		       (b->sin6_scope_id == 0 || a->sin6_scope_id == b->sin6_scope_id);
	}
	return false;
}

int service_match_listen_fd(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int type, proto, listening;
	int rc;

	if ((rc = sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type)) < 0)
		return rc == -ENOTSOCK ? 0 : rc;
	if (type != SOCK_STREAM)
		return 0;
	/* SCTP can be SOCK_STREAM too, and AF_UNIX stream sockets say 0. */
	if ((rc = sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto)) < 0)
		return rc;
	if (proto != IPPROTO_TCP)
		return 0;
	/* Bound but never listen()ed sockets would accept nothing. */
	if ((rc = sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening)) < 0)
		return rc;
	if (!listening)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return -errno;
	return same_address(&ss, addr, len) ? 1 : 0;
}

int service_find_listen_fd(const int *fds, size_t n, const struct sockaddr *addr, socklen_t len)
{
	for (size_t i = 0; i < n && i < (size_t)INT_MAX; i++)
		if (service_match_listen_fd(fds[i], addr, len) == 1)
			return (int)i;
	return -1;
}

int service_listen_fd_dup(int inherited)
{
	/* At or above 3, like every descriptor we open: 0-2 are the standard
	 * streams even when one of them happens to be closed. O_NONBLOCK is
	 * a property of the shared open file, so the duplicate has it too. */
	int fd = fcntl(inherited, F_DUPFD_CLOEXEC, SERVICE_LISTEN_FDS_START);
	return fd < 0 ? -errno : fd;
}

/* ---- privileges -------------------------------------------------------- */

int service_drop_bpf_capabilities(void)
{
	static const int caps[] = { CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, CAP_SYS_ADMIN };
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (geteuid() == 0)
		return 0;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		uint32_t bit = 1u << (caps[i] % 32);
		struct __user_cap_data_struct *d = &data[caps[i] / 32];
		d->effective &= ~bit;
		d->permitted &= ~bit;
		d->inheritable &= ~bit;
		/* Ambient first: the kernel refuses to keep an ambient
		 * capability that is no longer permitted anyway. */
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, caps[i], 0, 0);
	}
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

struct account {
	uid_t uid;
	gid_t gid;
};

/* One getpwnam_r or getgrnam_r call: 0 and *found, or an errno. */
typedef int (*nss_try_fn)(const char *name, char *buf, size_t size, void *out, bool *found);

static int try_passwd(const char *name, char *buf, size_t size, void *out, bool *found)
{
	struct passwd pw, *hit = NULL;
	int rc = getpwnam_r(name, &pw, buf, size, &hit);
	if (rc == 0 && hit) {
		struct account *acct = out;
		acct->uid = pw.pw_uid;
		acct->gid = pw.pw_gid;
	}
	*found = rc == 0 && hit;
	return rc;
}

static int try_group(const char *name, char *buf, size_t size, void *out, bool *found)
{
	struct group gr, *hit = NULL;
	int rc = getgrnam_r(name, &gr, buf, size, &hit);
	if (rc == 0 && hit)
		*(gid_t *)out = gr.gr_gid;
	*found = rc == 0 && hit;
	return rc;
}

/* getpwnam_r/getgrnam_r want a caller buffer whose needed size is only
 * known by trying: start from sysconf's hint and double on ERANGE. kind is
 * "user" or "group", for the messages. */
static int nss_lookup(const char *kind, const char *name, int size_hint, nss_try_fn try_fn,
		      void *out, char *err, size_t errlen)
{
	long hint = sysconf(size_hint);
	size_t size = hint > 0 ? (size_t)hint : PW_BUF_START;

	for (;;) {
		char *buf = malloc(size);
		if (!buf) {
			snprintf(err, errlen, "%s %s: out of memory", kind, name);
			return -1;
		}
		bool found = false;
		int rc = try_fn(name, buf, size, out, &found);
		free(buf);
		if (found)
			return 0;
		if (rc == ERANGE && size < PW_BUF_MAX) {
			size *= 2;
			continue;
		}
		if (rc == 0 || rc == ENOENT || rc == ESRCH)
			snprintf(err, errlen, "%s %s: no such %s", kind, name, kind);
		else
			snprintf(err, errlen, "%s %s: cannot look it up: %s", kind, name,
				 strerror(rc));
		return -1;
	}
}

/* A numeric id ("1000"): true and *id set; anything else is a name. */
static bool numeric_id(const char *text, unsigned long *id)
{
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	*id = strtoul(text, &end, 10);
	return *end == '\0' && errno == 0 && *id < (unsigned long)(uid_t)-1;
}

static int lookup_user(const char *name, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct account acct;
	unsigned long id;

	if (numeric_id(name, &id)) {
		/* A uid with no entry in the user database keeps the same
		 * number as its group, as systemd's DynamicUser= ids do. */
		struct passwd pwd, *pw = NULL;
		char buf[4096];
		if (getpwuid_r((uid_t)id, &pwd, buf, sizeof(buf), &pw) != 0)
			pw = NULL;
		*uid = (uid_t)id;
		*gid = pw ? pw->pw_gid : (gid_t)id;
		return 0;
	}
	if (nss_lookup("user", name, _SC_GETPW_R_SIZE_MAX, try_passwd, &acct, err, errlen) < 0)
		return -1;
	*uid = acct.uid;
	*gid = acct.gid;
	return 0;
}

static int lookup_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
	unsigned long id;

	if (numeric_id(name, &id)) {
		*gid = (gid_t)id;
		return 0;
	}
	return nss_lookup("group", name, _SC_GETGR_R_SIZE_MAX, try_group, gid, err, errlen);
}

/* Did every id really change? setres[ug]id either changes all three or
 * fails, but a drop that silently did less than asked is exactly the bug
 * this check exists for, so trust nothing. */
static int verify_ids(uid_t uid, gid_t gid, bool only_group, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid) {
		snprintf(err, errlen, "after setresgid(%lu): gids are %lu/%lu/%lu",
			 (unsigned long)gid, (unsigned long)rg, (unsigned long)eg,
			 (unsigned long)sg);
		return -1;
	}
	if (only_group)
		return 0;
	if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid) {
		snprintf(err, errlen, "after setresuid(%lu): uids are %lu/%lu/%lu",
			 (unsigned long)uid, (unsigned long)ru, (unsigned long)eu,
			 (unsigned long)su);
		return -1;
	}
	/* The real proof: root cannot be had back. (Skipped when asked to
	 * run as root, where it would rightly succeed.) */
	if (uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "setuid(0) still succeeds after dropping to uid %lu",
			 (unsigned long)uid);
		return -1;
	}
	if (uid != 0 && gid != 0 && setgid(0) == 0) {
		snprintf(err, errlen, "setgid(0) still succeeds after dropping to gid %lu",
			 (unsigned long)gid);
		return -1;
	}
	return 0;
}

/* Exactly one supplementary group, gid, when an explicit group was asked
 * for (initgroups' result is the user database's business). */
static int verify_groups(gid_t gid, char *err, size_t errlen)
{
	gid_t list[SERVICE_GROUPS_CHECK];
	int n = getgroups(SERVICE_GROUPS_CHECK, list);

	if (n != 1 || list[0] != gid) {
		snprintf(err, errlen, "supplementary groups are not just %lu after setgroups",
			 (unsigned long)gid);
		return -1;
	}
	return 0;
}

/* Why before the worker threads: on Linux the set*id system calls change
 * only the calling thread; glibc makes them process-wide by signalling every
 * other thread to repeat the call. That works, but the threads must not
 * serve a single client while still root: a worker that accepted before the
 * drop finished would parse untrusted input with full privileges. Dropping
 * while the main thread is alone (or with only the password-verification
 * pool, which reads no socket) leaves no such window, and a failed drop
 * stops the server before anyone is served. */
int service_drop_privileges(const char *user, const char *group, char *err, size_t errlen)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	bool only_group = user == NULL;

	if (!user && !group)
		return 0;
	if (user && lookup_user(user, &uid, &gid, err, errlen) < 0)
		return -1;
	if (group && lookup_group(group, &gid, err, errlen) < 0)
		return -1;

	/* Already there (systemd's User=/Group= did it): nothing to drop, and
	 * an unprivileged process could not change its groups anyway. */
	if (geteuid() != 0 && getuid() == uid && geteuid() == uid && getgid() == gid &&
	    getegid() == gid)
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errlen, "cannot switch to %s %s: not running as root (euid %lu)",
			 user ? "user" : "group", user ? user : group, (unsigned long)geteuid());
		return -1;
	}

	/* Groups first, while we still may: after setuid nothing can be
	 * changed, and root's supplementary groups (often 0) must not
	 * survive into the unprivileged process. */
	unsigned long numeric;
	if (group || numeric_id(user, &numeric)) {
		/* A group of its own, or a user given by number: only that
		 * group (a number has no name to look its groups up by). */
		if (setgroups(1, &gid) < 0) {
			snprintf(err, errlen, "setgroups(%lu): %s", (unsigned long)gid,
				 strerror(errno));
			return -1;
		}
	} else if (initgroups(user, gid) < 0) {
		snprintf(err, errlen, "initgroups(%s, %lu): %s", user, (unsigned long)gid,
			 strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) < 0) {
		snprintf(err, errlen, "setresgid(%lu): %s", (unsigned long)gid, strerror(errno));
		return -1;
	}
	if (!only_group && setresuid(uid, uid, uid) < 0) {
		snprintf(err, errlen, "setresuid(%lu): %s", (unsigned long)uid, strerror(errno));
		return -1;
	}
	if (verify_ids(uid, gid, only_group, err, errlen) < 0)
		return -1;
	if (group && verify_groups(gid, err, errlen) < 0)
		return -1;
	return 0;
}

/* ---- pid file ---------------------------------------------------------- */

int service_write_pid_file(int fd)
{
	char buf[PID_FILE_MAX];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0)
		return -errno;
	ssize_t w = pwrite(fd, buf, (size_t)n, 0);
	return w == n ? 0 : w < 0 ? -errno : -EIO;
}

/* The pid in a pid file, 0 when there is none to read. */
static long pid_file_holder(int fd)
{
	char buf[PID_FILE_MAX];
	ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	long pid = strtol(buf, NULL, 10);
	return pid > 0 ? pid : 0;
}

/* Does fd still hold the file path names? An instance stopping unlinks
 * its pid file while we may have it open: a lock on that orphan would
 * keep nobody out. */
static bool pid_file_is_current(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int service_lock_pid_file(const char *path, long *holder)
{
	*holder = 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		/* O_NOFOLLOW: the file is written as root, often in a directory
		 * the unprivileged server could write to later; a symlink
		 * planted there must not make the next start write some other
		 * file. No O_TRUNC: the file may be a running instance's. */
		int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int rc = -errno;
			*holder = pid_file_holder(fd);
			close(fd);
			return rc == -EWOULDBLOCK ? -EWOULDBLOCK : rc;
		}
		if (!pid_file_is_current(fd, path)) {
			close(fd);
			continue;
		}
		int rc = service_write_pid_file(fd);
		if (rc < 0) {
			close(fd);
			return rc;
		}
		return fd;
	}
	return -EAGAIN;
}

int service_remove_pid_file(const char *path)
{
	char buf[PID_FILE_MAX];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	int rc = r < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	buf[r] = '\0';

	char *end;
	long pid = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || pid != (long)getpid())
		return -ESRCH;
	return unlink(path) < 0 ? -errno : 0;
}
