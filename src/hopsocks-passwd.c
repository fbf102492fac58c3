/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* hopsocks-passwd: add, replace, delete or check a user in a hopsocks user
 * file ("name:hash" lines, hashes from libsodium's crypto_pwhash_str).
 *
 * The file is first loaded with the server's own parser (userdb_load), so
 * the tool never edits a file the server would reject and never disagrees
 * with it about what a line means. Edits then work on the raw text, so
 * comments, blank lines and the order of users survive, and the result
 * replaces the file atomically (temporary file, fsync, rename). */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "policy/auth.h"
#include "proto/username.h"

#define PROG "hopsocks-passwd"

enum passwd_mode { MODE_SET, MODE_DELETE, MODE_CHECK };

enum {
	EXIT_MISMATCH = 1, /* also every other failure */
	EXIT_USAGE = 2,
};

static void passwd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void passwd_warn(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void passwd_usage(FILE *out)
{
	fputs("Usage: " PROG " [-d | -c] FILE USER\n"
	      "Add or change (default), delete (-d) or check (-c) USER in the hopsocks\n"
	      "user file FILE. The password is read from standard input when it is not a\n"
	      "terminal, otherwise it is prompted for with echo turned off.\n"
	      "\n"
	      "  -d, --delete   remove USER from FILE\n"
	      "  -c, --check    exit 0 if the password matches USER's, 1 if not\n"
	      "  -h, --help     show this help and exit\n"
	      "      --version  show the version and exit\n",
	      out);
}

/* ---- reading the password ---- */

/* The terminal state to put back, also from a signal handler: a ^C at the
 * prompt must not leave the user's terminal without echo. */
static struct termios tty_saved;
static volatile sig_atomic_t tty_changed;

static void tty_restore(void)
{
	if (tty_changed) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
		tty_changed = 0;
	}
}

static void tty_on_signal(int sig)
{
	int saved_errno = errno;
	struct termios t = tty_saved;
	sigset_t set;

	tty_restore();
	signal(sig, SIG_DFL);
	/* Delivered now, not when this handler returns: for SIGTSTP the
	 * process stops here with its terminal as the user left it. */
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig); /* raise(), which cppcheck takes for noreturn */
	if (sig == SIGTSTP) {
		/* Back after fg, still at the prompt: echo goes off again, and
		 * the next ^Z is caught again. */
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = tty_on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTSTP, &sa, NULL);
		t.c_lflag &= ~(tcflag_t)ECHO;
		t.c_lflag |= ECHONL;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
			tty_changed = 1;
	}
	errno = saved_errno;
}

static int tty_echo_off(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
	struct sigaction sa;
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &tty_saved) < 0)
		return -errno;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tty_on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction old;

		/* A signal the caller chose to ignore stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL; /* still move to the next line on Enter */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return -errno;
	tty_changed = 1;
	return 0;
}

/* Read one line from standard input into buf (cap bytes with the NUL),
 * without stdio so no copy of the password lingers in a FILE buffer.
 * The line end (\n or \r\n) is dropped; a last line without one is fine.
 * Returns the length, or -1 with a message already printed. */
static ssize_t passwd_read_line(char *buf, size_t cap)
{
	bool too_long = false;
	size_t len = 0;
	char c;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			passwd_warn("cannot read the password: %s", strerror(errno));
			return -1;
		}
		if (n == 0 || c == '\n')
			break;
		if (len + 1 < cap)
			buf[len++] = c;
		else
			too_long = true; /* keep reading: never leave the rest for the shell */
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (too_long || len > AUTH_PASS_MAX) {
		passwd_warn("password longer than %d bytes refused (SOCKS5 cannot send it)",
			    AUTH_PASS_MAX);
		return -1;
	}
	if (len == 0) {
		passwd_warn("empty password refused");
		return -1;
	}
	if (strlen(buf) != len) {
		passwd_warn("password contains a NUL byte");
		return -1;
	}
	return (ssize_t)len;
}

static ssize_t passwd_prompt(const char *prompt, char *buf, size_t cap)
{
	ssize_t len;

	/* Echo off (which flushes what was typed) before the prompt shows:
	 * whatever is typed once it is on the screen is kept. The other way
	 * round, a password pasted (or typed fast) right after the prompt
	 * appeared could be thrown away by the flush. */
	if (tty_echo_off() < 0) {
		passwd_warn("cannot turn off terminal echo: %s", strerror(errno));
		tty_restore();
		return -1;
	}
	fputs(prompt, stderr);
	fflush(stderr);
	len = passwd_read_line(buf, cap);
	tty_restore();
	return len;
}

/* One password into buf: the line on a pipe, or a prompt (twice, and the
 * two must agree, when confirm is set) on a terminal. */
static int passwd_get(char *buf, size_t cap, bool confirm)
{
	char again[AUTH_PASS_MAX + 2];
	int rc = 0;

	if (!isatty(STDIN_FILENO))
		return passwd_read_line(buf, cap) < 0 ? -1 : 0;
	if (passwd_prompt("Password: ", buf, cap) < 0)
		return -1;
	if (!confirm)
		return 0;
	if (passwd_prompt("Retype password: ", again, sizeof again) < 0) {
		rc = -1;
	} else if (strcmp(buf, again) != 0) {
		passwd_warn("passwords do not match");
		rc = -1;
	}
	sodium_memzero(again, sizeof again);
	return rc;
}

/* ---- the file ---- */

struct text {
	char *data;
	size_t len;
};

static int text_read(const char *path, struct text *t)
{
	FILE *f = fopen(path, "re");
	size_t cap = 4096;

	t->len = 0;
	t->data = NULL;
	if (f == NULL)
		return -errno;
	for (;;) {
		char *p = realloc(t->data, cap);

		if (p == NULL) {
			fclose(f);
			return -ENOMEM;
		}
		t->data = p;
		t->len += fread(t->data + t->len, 1, cap - t->len, f);
		if (t->len < cap)
			break;
		cap *= 2;
	}
	int rc = ferror(f) ? -EIO : 0;
	fclose(f);
	return rc;
}

/* Is this line (without its end) the one defining user? The file already
 * passed userdb_load, so a line that is not blank or a comment is
 * "name:hash" with the name starting in column 1. */
static bool line_is_user(const char *line, size_t len, const char *user)
{
	size_t ulen = strlen(user);

	return len > ulen && memcmp(line, user, ulen) == 0 && line[ulen] == ':';
}

/* Copy the file to out, replacing (hash != NULL) or dropping (hash ==
 * NULL) the user's line; append it if it was not there. */
static void text_edit(const struct text *t, FILE *out, const char *user, const char *hash)
{
	bool done = false;
	size_t pos = 0;

	while (pos < t->len) {
		const char *line = t->data + pos;
		const char *nl = memchr(line, '\n', t->len - pos);
		size_t full = nl != NULL ? (size_t)(nl - line) + 1 : t->len - pos;
		size_t len = full;

		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		pos += full;
		if (!line_is_user(line, len, user)) {
			fwrite(line, 1, full, out);
			continue;
		}
		done = true;
		if (hash == NULL)
			continue;
		/* Keep this line's own ending, so a CRLF file stays CRLF. */
		fprintf(out, "%s:%s", user, hash);
		fwrite(line + len, 1, full - len, out);
		if (full == len)
			fputc('\n', out);
	}
	if (done || hash == NULL)
		return;
	if (t->len > 0 && t->data[t->len - 1] != '\n')
		fputc('\n', out);
	fprintf(out, "%s:%s\n", user, hash);
}

/* Best effort: make the rename itself survive a crash. */
static void dir_sync(const char *path)
{
	char *copy = strdup(path);
	char *slash = copy != NULL ? strrchr(copy, '/') : NULL;
	const char *dir = ".";
	int fd;

	if (slash == copy)
		dir = "/";
	else if (slash != NULL) {
		*slash = '\0';
		dir = copy;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* The new file gets the old one's permissions and, if we may, its owner
 * and group: a root:hopsocks 0640 file must stay readable by the server
 * after it drops privileges. */
static int tmp_set_owner(int fd, const char *path, const struct stat *old)
{
	if (old == NULL)
		return fchmod(fd, 0600) < 0 ? -errno : 0;
	if (fchown(fd, old->st_uid, old->st_gid) < 0)
		passwd_warn("warning: could not keep the owner and group of %s: %s", path,
			    strerror(errno));
	return fchmod(fd, old->st_mode & 07777) < 0 ? -errno : 0;
}

/* Does the rewritten file say what we meant: user with hash, or no user? */
static bool edit_took(const struct userdb *db, const char *user, const char *hash)
{
	const char *now = userdb_find(db, user);

	if (hash == NULL)
		return now == NULL;
	return now != NULL && strcmp(now, hash) == 0;
}

/* Write the edited file next to path and rename it over path. The result
 * is parsed again before the rename: a bug here must not install a file
 * the server rejects. */
static int file_replace(const char *path, const struct text *t, const struct stat *old,
			const char *user, const char *hash)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + sizeof ".tmpXXXXXX");
	char err[PATH_MAX + 256];
	struct userdb *check = NULL;
	FILE *out = NULL;
	int fd, rc;

	if (tmp == NULL)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmpXXXXXX", sizeof ".tmpXXXXXX");
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = -errno;
		passwd_warn("cannot create a temporary file next to %s: %s", path, strerror(errno));
		free(tmp);
		return rc;
	}
	rc = tmp_set_owner(fd, path, old);
	if (rc == 0 && (out = fdopen(fd, "w")) == NULL)
		rc = -errno;
	if (rc == 0) {
		text_edit(t, out, user, hash);
		if (fflush(out) != 0 || ferror(out) || fsync(fd) < 0)
			rc = errno ? -errno : -EIO;
	}
	if (out != NULL)
		fclose(out); /* also closes fd */
	else
		close(fd);
	if (rc < 0) {
		passwd_warn("cannot write %s: %s", tmp, strerror(-rc));
	} else if (userdb_load(tmp, &check, err, sizeof err) < 0) {
		passwd_warn("internal error, %s left unchanged: %s", path, err);
		rc = -EINVAL;
	} else if (!edit_took(check, user, hash)) {
		passwd_warn("internal error, %s left unchanged: the edit did not take", path);
		rc = -EINVAL;
	} else if (rename(tmp, path) < 0) {
		rc = -errno;
		passwd_warn("cannot rename %s to %s: %s", tmp, path, strerror(errno));
	}
	userdb_free(check);
	if (rc < 0)
		unlink(tmp);
	else
		dir_sync(path);
	free(tmp);
	return rc;
}

/* ---- the three commands ---- */

struct passwd_ctx {
	const char *path; /* the file to write: FILE with symlinks resolved */
	const char *user;
	struct userdb *db; /* NULL when the file does not exist yet */
	struct stat st;
	bool exists;
};

static int passwd_check(struct passwd_ctx *ctx)
{
	const char *hash = userdb_find(ctx->db, ctx->user);
	char pass[AUTH_PASS_MAX + 2];
	bool ok;

	if (hash == NULL) {
		passwd_warn("no user '%s' in %s", ctx->user, ctx->path);
		return EXIT_MISMATCH;
	}
	if (passwd_get(pass, sizeof pass, false) < 0) {
		sodium_memzero(pass, sizeof pass);
		return EXIT_FAILURE;
	}
	ok = auth_verify(hash, pass);
	sodium_memzero(pass, sizeof pass);
	if (!ok) {
		passwd_warn("wrong password for user '%s'", ctx->user);
		return EXIT_MISMATCH;
	}
	return EXIT_SUCCESS;
}

/* Serialise editors of one file: PATH.lock, held (flock) from reading the
 * file to renaming its new version into place, so two runs at once cannot
 * both start from the same old file and lose one's change. The lock file
 * stays (removing it would race with the next locker). -1 on failure. */
static int passwd_lock(const char *path)
{
	char lock[PATH_MAX];
	int fd;

	if ((size_t)snprintf(lock, sizeof lock, "%s.lock", path) >= sizeof lock) {
		passwd_warn("%s.lock: path too long", path);
		return -1;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		passwd_warn("cannot open %s: %s", lock, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			passwd_warn("cannot lock %s: %s", lock, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int passwd_rewrite(struct passwd_ctx *ctx, const char *hash)
{
	struct text t = { NULL, 0 };
	int rc = 0;
	int lock = passwd_lock(ctx->path);

	if (lock < 0)
		return EXIT_FAILURE;
	/* The file as it is now, under the lock: another run may have
	 * created or changed it since this one loaded it. */
	ctx->exists = stat(ctx->path, &ctx->st) == 0;
	if (ctx->exists) {
		rc = text_read(ctx->path, &t);
		if (rc < 0)
			passwd_warn("cannot read %s: %s", ctx->path, strerror(-rc));
	}
	if (rc == 0)
		rc = file_replace(ctx->path, &t, ctx->exists ? &ctx->st : NULL, ctx->user, hash);
	free(t.data);
	close(lock);
	return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int passwd_delete(struct passwd_ctx *ctx)
{
	if (userdb_find(ctx->db, ctx->user) == NULL) {
		passwd_warn("no user '%s' in %s", ctx->user, ctx->path);
		return EXIT_FAILURE;
	}
	return passwd_rewrite(ctx, NULL);
}

static int passwd_set(struct passwd_ctx *ctx)
{
	char pass[AUTH_PASS_MAX + 2];
	char hash[crypto_pwhash_STRBYTES];
	int rc;

	rc = passwd_get(pass, sizeof pass, true);
	if (rc == 0 &&
	    crypto_pwhash_str(hash, pass, strlen(pass), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		passwd_warn("hashing the password failed (out of memory?)");
		rc = -1;
	}
	sodium_memzero(pass, sizeof pass);
	if (rc < 0)
		return EXIT_FAILURE;
	return passwd_rewrite(ctx, hash);
}

/* Load FILE with the server's parser. A missing file is fine: it is
 * created (or, for -d and -c, it simply has no users). */
static int passwd_open(struct passwd_ctx *ctx, const char *file, char **resolved)
{
	char err[PATH_MAX + 256];
	int rc;

	/* Edit the target of a symlink rather than replace the link. */
	*resolved = realpath(file, NULL);
	ctx->path = *resolved != NULL ? *resolved : file;
	rc = userdb_load(ctx->path, &ctx->db, err, sizeof err);
	if (rc == -ENOENT) {
		ctx->exists = false;
		return 0;
	}
	if (rc < 0) {
		passwd_warn("%s", err);
		return -1;
	}
	if (stat(ctx->path, &ctx->st) < 0) {
		passwd_warn("%s: %s", ctx->path, strerror(errno));
		return -1;
	}
	ctx->exists = true;
	return 0;
}

static int passwd_parse_args(int argc, char **argv, enum passwd_mode *mode)
{
	static const struct option longopts[] = {
		{ "delete", no_argument, NULL, 'd' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*mode = MODE_SET;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "dch", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
		case 'c':
			if (*mode != MODE_SET) {
				passwd_warn("-d and -c cannot be combined");
				return EXIT_USAGE;
			}
			*mode = opt == 'd' ? MODE_DELETE : MODE_CHECK;
			break;
		case 'h':
			passwd_usage(stdout);
			exit(EXIT_SUCCESS);
		case 'V':
			printf("%s (%s) %s\n", PROG, PACKAGE_NAME, PACKAGE_VERSION);
			exit(EXIT_SUCCESS);
		default:
			/* getopt's own message would name argv[0], not PROG */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				passwd_warn("bad option '%s' (try --help)", argv[optind - 1]);
			else
				passwd_warn("unknown option '-%c' (try --help)", optopt);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		passwd_warn("expected FILE and USER (try --help)");
		return EXIT_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct passwd_ctx ctx = { 0 };
	enum passwd_mode mode;
	char *resolved = NULL;
	const char *why;
	int rc;

	rc = passwd_parse_args(argc, argv, &mode);
	if (rc != 0)
		return rc;
	ctx.user = argv[optind + 1];
	why = username_check(ctx.user);
	if (why != NULL) {
		passwd_warn("invalid user name: %s", why);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		passwd_warn("libsodium failed to initialise");
		return EXIT_FAILURE;
	}
	if (passwd_open(&ctx, argv[optind], &resolved) < 0) {
		free(resolved);
		return EXIT_FAILURE;
	}
	switch (mode) {
	case MODE_CHECK:
		rc = passwd_check(&ctx);
		break;
	case MODE_DELETE:
		rc = passwd_delete(&ctx);
		break;
	default:
		rc = passwd_set(&ctx);
		break;
	}
	userdb_free(ctx.db);
	free(resolved);
	return rc;
}
