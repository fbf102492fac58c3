/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for src/auth.c: the user file, verification, the pool and the
 * verified-credential cache.
 *
 * Hashes made here use libsodium's minimum cost so the suite stays fast;
 * verification reads the cost from the string, so that is all it takes.
 * Only the dummy hash for unknown users costs a real (interactive) amount. */
#include <autoconfig.h>

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "policy/auth.h"
#include "policy/auth_pam.h"
#include "policy/auth_cache.h"
#include "proto/username.h"

/* Check's default of 4 s is tight for argon2 under the sanitizers. */
#define SLOW_TIMEOUT 120

/* ---- helpers ---- */

static char tmpdir[64];

static void tmpdir_setup(void)
{
	strcpy(tmpdir, "/tmp/test_auth.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmpdir_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write len bytes to a fresh file in tmpdir and return its path (static). */
static const char *write_file(const char *content, size_t len)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/users", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(content, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static const char *write_str(const char *content)
{
	return write_file(content, strlen(content));
}

static void make_hash(char out[crypto_pwhash_STRBYTES], const char *pass)
{
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_eq(crypto_pwhash_str(out, pass, strlen(pass), crypto_pwhash_OPSLIMIT_MIN,
					   crypto_pwhash_MEMLIMIT_MIN),
			 0);
}

static void make_hash_argon2i(char out[crypto_pwhash_STRBYTES], const char *pass)
{
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_eq(crypto_pwhash_argon2i_str(out, pass, strlen(pass),
						   crypto_pwhash_argon2i_OPSLIMIT_MIN,
						   crypto_pwhash_argon2i_MEMLIMIT_MIN),
			 0);
}

/* ---- userdb ---- */

START_TEST(test_userdb_dummy_cost)
{
	char weak[crypto_pwhash_STRBYTES], strong[crypto_pwhash_STRBYTES];
	char content[512], err[256];
	struct userdb *db = NULL;

	make_hash(weak, "one");
	/* Stronger than hopsocks-passwd's default (t=2, 64 MiB): 5 passes. */
	ck_assert_int_eq(crypto_pwhash_str(strong, "two", 3, 5, crypto_pwhash_MEMLIMIT_INTERACTIVE),
			 0);
	snprintf(content, sizeof content, "alice:%s\nbob:%s\n", weak, strong);
	ck_assert_int_eq(userdb_load(write_str(content), &db, err, sizeof err), 0);
	/* Unknown users are checked at bob's cost, not at the default. */
	const char *dummy = userdb_dummy_hash(db);
	ck_assert_msg(strstr(dummy, "$m=65536,t=5,") != NULL, "dummy %s", dummy);
	ck_assert(!auth_verify(dummy, "two"));
	userdb_free(db);

	/* A file at the default cost leaves the pool's own dummy. */
	snprintf(content, sizeof content, "alice:%s\n", weak);
	ck_assert_int_eq(userdb_load(write_str(content), &db, err, sizeof err), 0);
	ck_assert_str_eq(userdb_dummy_hash(db), "");
	userdb_free(db);
}
END_TEST

START_TEST(test_userdb_good)
{
	char h1[crypto_pwhash_STRBYTES], h2[crypto_pwhash_STRBYTES], h3[crypto_pwhash_STRBYTES];
	char content[1024], err[256];
	struct userdb *db = NULL;

	make_hash(h1, "one");
	make_hash(h2, "two");
	make_hash_argon2i(h3, "three");
	snprintf(content, sizeof content,
		 "# hopsocks users\n"
		 "\n"
		 "alice:%s\n"
		 "   \t\n"
		 "  # an indented comment\n"
		 "bob:%s\r\n"
		 "\r\n"
		 "j\xc3\xb6rg:%s \t\n"
		 "# no newline at the end",
		 h1, h2, h3);
	ck_assert_int_eq(userdb_load(write_str(content), &db, err, sizeof err), 0);
	ck_assert_ptr_nonnull(db);
	ck_assert_uint_eq(userdb_count(db), 3);
	ck_assert_str_eq(userdb_find(db, "alice"), h1);
	ck_assert_str_eq(userdb_find(db, "bob"), h2);
	ck_assert_str_eq(userdb_find(db, "j\xc3\xb6rg"), h3);
	ck_assert_ptr_null(userdb_find(db, "ali"));
	ck_assert_ptr_null(userdb_find(db, "alicex"));
	ck_assert_ptr_null(userdb_find(db, "Alice"));
	ck_assert_ptr_null(userdb_find(db, ""));
	ck_assert_ptr_null(userdb_find(db, "# hopsocks users"));
	userdb_free(db);
}
END_TEST

START_TEST(test_userdb_empty)
{
	struct userdb *db = NULL;
	char err[256];

	ck_assert_int_eq(userdb_load(write_str(""), &db, err, sizeof err), 0);
	ck_assert_uint_eq(userdb_count(db), 0);
	ck_assert_ptr_null(userdb_find(db, "alice"));
	userdb_free(db);

	ck_assert_int_eq(userdb_load(write_str("# only a comment\n\n"), &db, err, sizeof err), 0);
	ck_assert_uint_eq(userdb_count(db), 0);
	userdb_free(db);

	/* No database at all behaves like an empty one. */
	ck_assert_ptr_null(userdb_find(NULL, "alice"));
	ck_assert_uint_eq(userdb_count(NULL), 0);
	userdb_free(NULL);
}
END_TEST

/* users pam SERVICE: a database with no entries that names its service,
 * and a cache key that no stored argon2 string can equal. */
START_TEST(test_userdb_pam)
{
	struct userdb *db = NULL;
	char key[AUTH_PAM_KEY_MAX], err[AUTH_PAM_ERROR_MAX];

	ck_assert_int_eq(userdb_new_pam("hopsocks", &db), 0);
	ck_assert_str_eq(userdb_pam_service(db), "hopsocks");
	ck_assert_uint_eq(userdb_count(db), 0);
	ck_assert_ptr_null(userdb_find(db, "alice"));
	ck_assert_str_eq(userdb_dummy_hash(db), "");
	userdb_free(db);
	ck_assert_ptr_null(userdb_pam_service(NULL));

	ck_assert_str_eq(auth_pam_cache_key("hopsocks", key, sizeof key), "\x01pam:hopsocks");
	ck_assert_str_ne(auth_pam_cache_key("other", key, sizeof key), "\x01pam:hopsocks");
	/* A name with a control character never reaches PAM (whatever the
	 * build: without PAM every check fails anyway). */
	ck_assert(!auth_pam_verify("hopsocks", "ali\nce", "pw", "127.0.0.1", err, sizeof err));
#ifdef HAVE_PAM
	ck_assert_str_eq(err, "user name with a control character: PAM not asked");
#else
	ck_assert_str_eq(err, "hopsocks was built without PAM");
#endif
}
END_TEST

START_TEST(test_userdb_missing)
{
	struct userdb *db = (struct userdb *)&db; /* must be reset to NULL */
	char path[128], err[256], want[256];

	snprintf(path, sizeof path, "%s/nope", tmpdir);
	ck_assert_int_eq(userdb_load(path, &db, err, sizeof err), -ENOENT);
	ck_assert_ptr_null(db);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);

	/* A caller that does not want the message may pass no buffer. */
	ck_assert_int_eq(userdb_load(path, &db, NULL, 0), -ENOENT);
}
END_TEST

/* A bad file and the message it must produce, after "PATH:". The hash
 * "@" in content is replaced by a real one. */
struct bad_file {
	const char *content;
	size_t len; /* 0: strlen(content) */
	const char *msg;
};

#define A16	"aaaaaaaaaaaaaaaa"
#define A64	A16 A16 A16 A16
#define NAME256 A64 A64 A64 A64 /* one byte too long for a user name */
#define LONGHASH                                                                               \
	"$argon2id$v=19$m=65536,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static const struct bad_file bad_files[] = {
	{ "alice\n", 0, "1: expected 'name:hash'" },
	{ "# comment\n\nbob\n", 0, "3: expected 'name:hash'" },
	{ "# comment\r\n\r\nbob\r\n", 0, "3: expected 'name:hash'" },
	{ ":@\n", 0, "1: empty user name" },
	{ NAME256 ":@\n", 0, "1: user name longer than 255 bytes" },
	{ "al ice:@\n", 0, "1: user name contains whitespace or a control character" },
	{ " alice:@\n", 0, "1: user name contains whitespace or a control character" },
	{ "al\tice:@\n", 0, "1: user name contains whitespace or a control character" },
	{ "al\x01ice:@\n", 0, "1: user name contains whitespace or a control character" },
	{ "al\x7fice:@\n", 0, "1: user name contains whitespace or a control character" },
	{ "alice:\n", 0, "1: empty password hash" },
	{ "alice:  \n", 0, "1: empty password hash" },
	{ "alice:$2y$10$abcdefghijklmnopqrstuv\n", 0,
	  "1: password hash is not a libsodium argon2id or argon2i string" },
	{ "alice:$argon2d$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n", 0,
	  "1: password hash is not a libsodium argon2id or argon2i string" },
	{ "alice:secret\n", 0, "1: password hash is not a libsodium argon2id or argon2i string" },
	{ "alice:" LONGHASH "\n", 0, "1: password hash longer than 127 bytes" },
	{ "alice:$argon2id$v=19$m=65536,t=2,p=1$garbage\n", 0,
	  "1: malformed argon2 password hash" },
	{ "alice:$argon2id$\n", 0, "1: malformed argon2 password hash" },
	{ "alice:@ trailing\n", 0, "1: malformed argon2 password hash" },
	{ "alice:@:x\n", 0, "1: malformed argon2 password hash" },
	/* Well formed, but a login would take hours (and so would loading:
	 * the dummy hash is made at the file's strongest cost). */
	{ "alice:$argon2id$v=19$m=8,t=17,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
	  "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g\n",
	  0,
	  "1: argon2 cost too high (at most t=16 and m=1048576, 1 GiB): every login would take "
	  "that long" },
	{ "alice:@\nbob:$argon2id$v=19$m=2097152,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
	  "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g\n",
	  0,
	  "2: argon2 cost too high (at most t=16 and m=1048576, 1 GiB): every login would take "
	  "that long" },
	{ "alice:@\nbob:@\n# x\nalice:@\n", 0, "4: duplicate user 'alice' (first on line 1)" },
	{ "al\0ice:@\n", 9, "1: line contains a NUL byte" },
	/* The first error wins, even if a later line is also wrong. */
	{ "ok:@\nbad\nalso bad:\n", 0, "2: expected 'name:hash'" },
};

/* content with each '@' replaced by hash */
static size_t expand(char *out, size_t cap, const struct bad_file *bf, const char *hash)
{
	size_t len = bf->len ? bf->len : strlen(bf->content);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		const char *s = bf->content[i] == '@' ? hash : &bf->content[i];
		size_t slen = bf->content[i] == '@' ? strlen(hash) : 1;

		ck_assert_uint_lt(n + slen, cap);
		memcpy(out + n, s, slen);
		n += slen;
	}
	return n;
}

START_TEST(test_userdb_errors)
{
	const struct bad_file *bf = &bad_files[_i];
	char hash[crypto_pwhash_STRBYTES], content[2048], err[512], want[512];
	struct userdb *db = (struct userdb *)&db;
	const char *path;
	size_t len;

	make_hash(hash, "pw");
	len = expand(content, sizeof content, bf, hash);
	path = write_file(content, len);
	ck_assert_int_eq(userdb_load(path, &db, err, sizeof err), -EINVAL);
	ck_assert_ptr_null(db);
	snprintf(want, sizeof want, "%s:%s", path, bf->msg);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_userdb_small_errbuf)
{
	struct userdb *db = NULL;
	char err[8];

	/* Truncated, but NUL-terminated and no overflow (ASan watches). */
	memset(err, 'x', sizeof err);
	ck_assert_int_eq(userdb_load(write_str("nocolon\n"), &db, err, sizeof err), -EINVAL);
	ck_assert_uint_eq(strlen(err), sizeof err - 1);
	ck_assert_ptr_null(db);
}
END_TEST

START_TEST(test_userdb_many)
{
	enum { N = 5000 };
	char hash[crypto_pwhash_STRBYTES], err[256], name[32];
	struct userdb *db = NULL;
	const char *path;
	FILE *f;

	make_hash(hash, "pw");
	path = write_str("");
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < N; i++)
		fprintf(f, "user%d:%s\n", i, hash);
	ck_assert_int_eq(fclose(f), 0);

	ck_assert_int_eq(userdb_load(path, &db, err, sizeof err), 0);
	ck_assert_uint_eq(userdb_count(db), N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "user%d", i);
		ck_assert_ptr_nonnull(userdb_find(db, name));
		ck_assert_str_eq(userdb_find(db, name), hash);
	}
	ck_assert_ptr_null(userdb_find(db, "user5000"));
	ck_assert_ptr_null(userdb_find(db, "user"));
	userdb_free(db);
}
END_TEST

START_TEST(test_username_check)
{
	ck_assert_ptr_null(username_check("alice"));
	ck_assert_ptr_null(username_check("a"));
	ck_assert_ptr_null(username_check("j\xc3\xb6rg"));
	ck_assert_ptr_null(username_check("user@example.com"));
	ck_assert_ptr_null(username_check(NAME256 + 1));
	ck_assert_str_eq(username_check(""), "empty user name");
	ck_assert_str_eq(username_check(NAME256), "user name longer than 255 bytes");
	ck_assert_str_eq(username_check("a:b"), "user name contains ':'");
	ck_assert_str_eq(username_check("#a"), "user name starts with '#'");
	ck_assert_ptr_null(username_check("a#"));
	ck_assert_str_eq(username_check("a b"),
			 "user name contains whitespace or a control character");
	ck_assert_str_eq(username_check("a\nb"),
			 "user name contains whitespace or a control character");
}
END_TEST

/* ---- auth_verify ---- */

START_TEST(test_verify)
{
	char hash[crypto_pwhash_STRBYTES], ihash[crypto_pwhash_STRBYTES];

	make_hash(hash, "s3cret");
	make_hash_argon2i(ihash, "s3cret");
	ck_assert(auth_verify(hash, "s3cret"));
	ck_assert(!auth_verify(hash, "s3cret "));
	ck_assert(!auth_verify(hash, "S3cret"));
	ck_assert(!auth_verify(hash, ""));
	ck_assert(!auth_verify(hash, NULL));
	ck_assert(auth_verify(ihash, "s3cret"));
	ck_assert(!auth_verify(ihash, "wrong"));
	ck_assert(!auth_verify("not a hash", "s3cret"));
}
END_TEST

START_TEST(test_verify_empty_hash)
{
	/* Unknown users: always false, whatever the password. */
	ck_assert(!auth_verify("", "s3cret"));
	ck_assert(!auth_verify("", ""));
	ck_assert(!auth_verify(NULL, "s3cret"));
}
END_TEST

/* ---- jobs and the pool ---- */

START_TEST(test_job_new)
{
	char big[AUTH_NAME_MAX + 2];
	struct auth_job *job;
	int owner;

	job = auth_job_new("alice", "pw", NULL, NULL, &owner, NULL, false);
	ck_assert_ptr_nonnull(job);
	ck_assert_str_eq(job->user, "alice");
	ck_assert_str_eq(job->pass, "pw");
	ck_assert_str_eq(job->hash, "");
	ck_assert_ptr_eq(job->owner, &owner);
	ck_assert(!job->ok);
	auth_job_free(job);
	auth_job_free(NULL);

	/* 255 bytes fit, 256 do not. */
	memset(big, 'x', sizeof big);
	big[AUTH_NAME_MAX] = '\0';
	job = auth_job_new(big, big, "", NULL, NULL, NULL, false);
	ck_assert_ptr_nonnull(job);
	auth_job_free(job);
	big[AUTH_NAME_MAX] = 'x';
	big[AUTH_NAME_MAX + 1] = '\0';
	ck_assert_ptr_null(auth_job_new(big, "pw", "", NULL, NULL, NULL, false));
	ck_assert_ptr_null(auth_job_new("alice", big, "", NULL, NULL, NULL, false));
	ck_assert_ptr_null(auth_job_new("alice", "pw", big, NULL, NULL, NULL, false));
}
END_TEST

/* Client number i: 10.0.i/256.i%256, or the /64 2001:db8:i::/64 (v6). */
static struct sockaddr_storage client_n(unsigned i, bool v6)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr.s6_addr[0] = 0x20;
		a->sin6_addr.s6_addr[1] = 0x01;
		a->sin6_addr.s6_addr[2] = 0x0d;
		a->sin6_addr.s6_addr[3] = 0xb8;
		a->sin6_addr.s6_addr[5] = (uint8_t)i;
		a->sin6_addr.s6_addr[15] = (uint8_t)(i * 7 + 1); /* host bits: same /64 */
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(0x0a000000u | i);
	}
	return ss;
}

/* Collect n jobs from q, waiting on its eventfd the way a worker does. */
static int collect(struct auth_done_queue *q, struct auth_job **jobs, int n)
{
	int got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = q->eventfd, .events = POLLIN };
		int rc = poll(&pfd, 1, 30000);

		ck_assert_msg(rc == 1, "timed out waiting for jobs (%d of %d)", got, n);
		for (struct auth_job *j = auth_done_queue_take(q); j != NULL;) {
			struct auth_job *next = j->next;

			ck_assert_int_lt(got, n);
			jobs[got++] = j;
			j = next;
		}
	}
	return got;
}

START_TEST(test_pool_results)
{
	enum { N = 8 };
	char hash[crypto_pwhash_STRBYTES], user[16];
	struct auth_job *done[N];
	struct auth_done_queue q;
	struct auth_pool *pool;
	int owners[N];
	bool seen[N] = { false };

	make_hash(hash, "right");
	ck_assert_int_eq(auth_done_queue_init(&q), 0);
	pool = auth_pool_start(3);
	ck_assert_ptr_nonnull(pool);
	for (int i = 0; i < N; i++) {
		/* i % 3: 0 right password, 1 wrong password, 2 unknown user */
		snprintf(user, sizeof user, "user%d", i);
		struct sockaddr_storage ip = client_n((unsigned)i, false);
		struct auth_job *job =
			auth_job_new(user, i % 3 == 1 ? "wrong" : "right", i % 3 == 2 ? "" : hash,
				     &q, &owners[i], &ip, false);
		ck_assert_ptr_nonnull(job);
		ck_assert(auth_pool_submit(pool, job));
	}
	ck_assert_int_eq(collect(&q, done, N), N);
	for (int i = 0; i < N; i++) {
		struct auth_job *job = done[i];
		int k = (int)((int *)job->owner - owners);

		ck_assert_int_ge(k, 0);
		ck_assert_int_lt(k, N);
		ck_assert(!seen[k]);
		seen[k] = true;
		snprintf(user, sizeof user, "user%d", k);
		ck_assert_str_eq(job->user, user);
		ck_assert_ptr_eq(job->done, &q);
		ck_assert_int_eq(job->ok, k % 3 == 0);
		auth_job_free(job);
	}
	/* Taking reset the eventfd: nothing more to read. */
	struct pollfd pfd = { .fd = q.eventfd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_ptr_null(auth_done_queue_take(&q));
	auth_pool_stop(pool);
	auth_done_queue_destroy(&q);
}
END_TEST

START_TEST(test_pool_cancelled)
{
	enum { N = 4 };
	char hash[crypto_pwhash_STRBYTES];
	struct auth_job *jobs[N], *done[N];
	struct auth_done_queue q;
	struct auth_pool *pool;
	int owner;

	make_hash(hash, "right");
	ck_assert_int_eq(auth_done_queue_init(&q), 0);
	pool = auth_pool_start(1);
	ck_assert_ptr_nonnull(pool);
	for (int i = 0; i < N; i++) {
		struct sockaddr_storage ip = client_n((unsigned)i, false);
		jobs[i] = auth_job_new("alice", "right", hash, &q, &owner, &ip, false);
		ck_assert_ptr_nonnull(jobs[i]);
	}
	/* The session went away before its answer: the worker clears owner
	 * (it owns that field) and cancels the job, which must still come
	 * back to be freed, unhashed. */
	jobs[1]->owner = NULL;
	auth_job_cancel(jobs[1]);
	jobs[3]->owner = NULL;
	auth_job_cancel(jobs[3]);
	for (int i = 0; i < N; i++)
		ck_assert(auth_pool_submit(pool, jobs[i]));
	ck_assert_int_eq(collect(&q, done, N), N);
	int cancelled = 0;
	for (int i = 0; i < N; i++) {
		if (done[i]->owner == NULL) {
			cancelled++;
			ck_assert(!done[i]->verified);
			ck_assert(!done[i]->ok);
		} else {
			ck_assert_ptr_eq(done[i]->owner, &owner);
			ck_assert(done[i]->verified);
			ck_assert(done[i]->ok);
		}
		auth_job_free(done[i]);
	}
	ck_assert_int_eq(cancelled, 2);
	auth_pool_stop(pool);
	auth_done_queue_destroy(&q);
}
END_TEST

/* One thread, kept busy hashing job "busy" while the test fills the
 * queue: submissions happen in microseconds, one argon2id takes tens of
 * milliseconds. */
static struct auth_pool *busy_pool(struct auth_done_queue *q, const char *hash)
{
	static char slow[crypto_pwhash_STRBYTES];
	struct sockaddr_storage ip = client_n(250, false);
	struct auth_pool *pool = auth_pool_start(1);

	(void)hash;
	/* A hash that takes a good part of a second (16 passes over 64 MiB),
	 * so the queue stays as the test fills it. */
	if (slow[0] == '\0')
		ck_assert_int_eq(
			crypto_pwhash_str(slow, "right", 5, 16, crypto_pwhash_MEMLIMIT_INTERACTIVE),
			0);
	ck_assert_ptr_nonnull(pool);
	ck_assert(auth_pool_submit(pool, auth_job_new("busy", "right", slow, q, NULL, &ip, false)));
	for (int i = 0; i < 3000 && auth_pool_queued(pool) != 0; i++)
		usleep(1000); /* until the thread has taken it */
	ck_assert_uint_eq(auth_pool_queued(pool), 0);
	return pool;
}

START_TEST(test_pool_bounded)
{
	char hash[crypto_pwhash_STRBYTES];
	struct auth_done_queue q;
	struct sockaddr_storage a = client_n(1, true), a2 = client_n(1, true),
				b = client_n(2, false);
	struct auth_job *extra;

	make_hash(hash, "right");
	ck_assert_int_eq(auth_done_queue_init(&q), 0);
	struct auth_pool *pool = busy_pool(&q, hash);
	((struct sockaddr_in6 *)&a2)->sin6_addr.s6_addr[15] ^= 0xff; /* same /64 */
	for (int i = 0; i < AUTH_POOL_PER_CLIENT_MAX; i++)
		ck_assert(auth_pool_submit(
			pool, auth_job_new("x", "y", hash, &q, NULL, i % 2 ? &a : &a2, false)));
	/* The /64 has its four: a fifth is refused and stays the caller's. */
	extra = auth_job_new("x", "y", hash, &q, NULL, &a2, false);
	ck_assert(!auth_pool_submit(pool, extra));
	auth_job_free(extra);
	ck_assert(auth_pool_submit(pool, auth_job_new("x", "y", hash, &q, NULL, &b, false)));
	/* Up to the global bound, from many clients. */
	unsigned n = AUTH_POOL_PER_CLIENT_MAX + 1;
	for (unsigned i = 10; n < AUTH_POOL_QUEUE_MAX; i++, n++) {
		struct sockaddr_storage c = client_n(i, false);
		ck_assert(
			auth_pool_submit(pool, auth_job_new("x", "y", hash, &q, NULL, &c, false)));
	}
	struct sockaddr_storage fresh = client_n(9, false);
	extra = auth_job_new("x", "y", hash, &q, NULL, &fresh, false);
	ck_assert(!auth_pool_submit(pool, extra));
	auth_job_free(extra);
	ck_assert_uint_eq(auth_pool_queued(pool), AUTH_POOL_QUEUE_MAX);
	/* A stop hashes none of them (ASan: every queued job is freed). */
	auth_pool_stop(pool);
	auth_done_queue_destroy(&q);
}
END_TEST

START_TEST(test_pool_fair_order)
{
	char hash[crypto_pwhash_STRBYTES];
	struct auth_done_queue q;
	struct auth_job *done[7];
	/* Submitted: A1 A2 A3 (A has failed before), B1, C1 C2. Served: the
	 * busy one, then clean clients in turn (B1 C1 C2), then A's. */
	static const char *const order_in[] = { "A1", "A2", "A3", "B1", "C1", "C2" };
	static const char *const order_out[] = { "busy", "B1", "C1", "C2", "A1", "A2", "A3" };

	make_hash(hash, "right");
	ck_assert_int_eq(auth_done_queue_init(&q), 0);
	struct auth_pool *pool = busy_pool(&q, hash);
	for (int i = 0; i < 6; i++) {
		struct sockaddr_storage ip = client_n((unsigned)(order_in[i][0] - 'A' + 1), false);
		ck_assert(auth_pool_submit(pool, auth_job_new(order_in[i], "right", hash, &q, NULL,
							      &ip, order_in[i][0] == 'A')));
	}
	ck_assert_int_eq(collect(&q, done, 7), 7);
	for (int i = 0; i < 7; i++) {
		ck_assert_str_eq(done[i]->user, order_out[i]);
		auth_job_free(done[i]);
	}
	auth_pool_stop(pool);
	auth_done_queue_destroy(&q);
}
END_TEST

START_TEST(test_pool_stop_does_not_wait)
{
	enum { N = 12 };
	char hash[crypto_pwhash_STRBYTES];
	struct auth_done_queue q;
	int n = 0;

	make_hash(hash, "right");
	ck_assert_int_eq(auth_done_queue_init(&q), 0);
	struct auth_pool *pool = busy_pool(&q, hash);
	for (int i = 0; i < N; i++) {
		struct sockaddr_storage ip = client_n((unsigned)i, false);
		ck_assert(auth_pool_submit(
			pool, auth_job_new("alice", "right", hash, &q, NULL, &ip, false)));
	}
	/* Stop returns once the job being hashed is done: the queued ones are
	 * freed unhashed, not worked through. */
	auth_pool_stop(pool);
	for (struct auth_job *j = auth_done_queue_take(&q); j != NULL; n++) {
		struct auth_job *next = j->next;
		auth_job_free(j);
		j = next;
	}
	ck_assert_int_lt(n, 1 + N);
	ck_assert_int_le(n, 2);
	auth_done_queue_destroy(&q);
}
END_TEST

/* ---- cache ---- */

START_TEST(test_cache_basic)
{
	struct auth_cache *c = auth_cache_new(16, 60000);

	ck_assert_ptr_nonnull(c);
	ck_assert(!auth_cache_lookup(c, "alice", "pw", "H1", 1000));
	auth_cache_insert(c, "alice", "pw", "H1", 1000);
	ck_assert_uint_eq(auth_cache_size(c), 1);
	ck_assert(auth_cache_lookup(c, "alice", "pw", "H1", 1001));
	ck_assert(!auth_cache_lookup(c, "alice", "pw2", "H1", 1001)); /* wrong password */
	ck_assert(!auth_cache_lookup(c, "alice", "", "H1", 1001));
	ck_assert(!auth_cache_lookup(c, "bob", "pw", "H1", 1001));   /* other user */
	ck_assert(!auth_cache_lookup(c, "alice", "pw", "H2", 1001)); /* hash changed */
	ck_assert(!auth_cache_lookup(c, "alice", "pw", "", 1001));
	/* Field boundaries are part of the digest. */
	auth_cache_insert(c, "ab", "c", "H", 1000);
	ck_assert(!auth_cache_lookup(c, "a", "bc", "H", 1000));
	ck_assert(!auth_cache_lookup(c, "ab", "", "cH", 1000));
	ck_assert(auth_cache_lookup(c, "ab", "c", "H", 1000));
	/* Re-inserting does not duplicate. */
	auth_cache_insert(c, "alice", "pw", "H1", 2000);
	ck_assert_uint_eq(auth_cache_size(c), 2);
	ck_assert(auth_cache_lookup(c, "alice", "pw", "H1", 2000));
	auth_cache_free(c);
	auth_cache_free(NULL);
}
END_TEST

START_TEST(test_cache_max_age)
{
	struct auth_cache *c = auth_cache_new(16, 5000);

	auth_cache_insert(c, "alice", "pw", "H1", 1000);
	ck_assert(auth_cache_lookup(c, "alice", "pw", "H1", 1000));
	ck_assert(auth_cache_lookup(c, "alice", "pw", "H1", 5999));
	ck_assert(!auth_cache_lookup(c, "alice", "pw", "H1", 6000));
	/* Expired entries are dropped, not just hidden. */
	ck_assert_uint_eq(auth_cache_size(c), 0);
	ck_assert(!auth_cache_lookup(c, "alice", "pw", "H1", 1000));
	/* A clock that goes backwards is a miss, not a hit forever. */
	auth_cache_insert(c, "alice", "pw", "H1", 9000);
	ck_assert(!auth_cache_lookup(c, "alice", "pw", "H1", 8999));
	/* A re-verification refreshes the entry. */
	auth_cache_insert(c, "bob", "pw", "H1", 10000);
	auth_cache_insert(c, "bob", "pw", "H1", 14000);
	ck_assert(auth_cache_lookup(c, "bob", "pw", "H1", 18000));
	auth_cache_free(c);

	/* max_age 0: nothing is ever fresh enough. */
	c = auth_cache_new(16, 0);
	auth_cache_insert(c, "alice", "pw", "H1", 1000);
	ck_assert(!auth_cache_lookup(c, "alice", "pw", "H1", 1000));
	auth_cache_free(c);
}
END_TEST

START_TEST(test_cache_bounded)
{
	enum { MAX = 16 };
	struct auth_cache *c = auth_cache_new(MAX, 1000000);
	char user[16];

	for (int i = 0; i < MAX + 10; i++) {
		snprintf(user, sizeof user, "u%d", i);
		auth_cache_insert(c, user, "pw", "H", 1000 + (uint64_t)i);
		ck_assert_uint_le(auth_cache_size(c), MAX);
		ck_assert(auth_cache_lookup(c, user, "pw", "H", 1000 + (uint64_t)i));
	}
	ck_assert_uint_eq(auth_cache_size(c), MAX);
	/* The oldest ten went; the newest MAX are there. */
	for (int i = 0; i < MAX + 10; i++) {
		snprintf(user, sizeof user, "u%d", i);
		ck_assert_int_eq(auth_cache_lookup(c, user, "pw", "H", 2000), i >= 10);
	}
	auth_cache_free(c);

	/* Zero entries: a cache that stores nothing. */
	c = auth_cache_new(0, 1000000);
	ck_assert_ptr_nonnull(c);
	auth_cache_insert(c, "alice", "pw", "H", 1000);
	ck_assert(!auth_cache_lookup(c, "alice", "pw", "H", 1000));
	ck_assert_uint_eq(auth_cache_size(c), 0);
	auth_cache_free(c);
	/* No cache at all is fine too. */
	auth_cache_insert(NULL, "alice", "pw", "H", 1000);
	ck_assert(!auth_cache_lookup(NULL, "alice", "pw", "H", 1000));
}
END_TEST

/* The worker's flow: look up, verify on a miss, insert only on success.
 * A failed verification leaves no trace, so the right password later is
 * still a miss (and then a hit once verified) and the wrong one stays a
 * miss. */
START_TEST(test_cache_failures_not_cached)
{
	char hash[crypto_pwhash_STRBYTES];
	struct auth_cache *c = auth_cache_new(16, 60000);
	const char *tries[] = { "wrong", "right", "wrong", "right" };
	bool from_cache[4];

	make_hash(hash, "right");
	for (int i = 0; i < 4; i++) {
		from_cache[i] = auth_cache_lookup(c, "alice", tries[i], hash, 1000);
		if (!from_cache[i] && auth_verify(hash, tries[i]))
			auth_cache_insert(c, "alice", tries[i], hash, 1000);
	}
	ck_assert(!from_cache[0]);
	ck_assert(!from_cache[1]);
	ck_assert(!from_cache[2]);
	ck_assert(from_cache[3]);
	ck_assert_uint_eq(auth_cache_size(c), 1);
	auth_cache_free(c);
}
END_TEST

/* The cache against a plain model: a ring with linear search. Random
 * inserts, lookups and expiries over a small key space exercise eviction
 * and the index's deletions (holes, wrap-around) far more than the
 * targeted tests. */
struct model {
	int key[32];
	uint64_t t[32];
	bool used[32];
	size_t next, count, max;
	uint64_t max_age;
};

static int model_find(const struct model *m, int key)
{
	for (size_t i = 0; i < m->max; i++)
		if (m->used[i] && m->key[i] == key)
			return (int)i;
	return -1;
}

static void model_remove(struct model *m, int i)
{
	m->used[i] = false;
	m->count--;
}

static bool model_lookup(struct model *m, int key, uint64_t now)
{
	int i = model_find(m, key);

	if (i < 0)
		return false;
	if (now < m->t[i] || now - m->t[i] >= m->max_age) {
		model_remove(m, i);
		return false;
	}
	return true;
}

static void model_insert(struct model *m, int key, uint64_t now)
{
	int i = model_find(m, key);

	if (i >= 0)
		model_remove(m, i);
	if (m->used[m->next])
		model_remove(m, (int)m->next);
	m->key[m->next] = key;
	m->t[m->next] = now;
	m->used[m->next] = true;
	m->count++;
	m->next = (m->next + 1) % m->max;
}

START_TEST(test_cache_model)
{
	struct model m = { .max = 32, .max_age = 400 };
	struct auth_cache *c = auth_cache_new(m.max, m.max_age);
	uint64_t now = 1000;
	char user[16];

	srand(12345);
	for (int step = 0; step < 20000; step++) {
		int key = rand() % 80;
		int op = rand() % 3;

		now += (uint64_t)(rand() % 4);
		snprintf(user, sizeof user, "k%d", key);
		if (op == 0) {
			model_insert(&m, key, now);
			auth_cache_insert(c, user, "pw", "H", now);
		} else {
			bool want = model_lookup(&m, key, now);

			ck_assert_int_eq(auth_cache_lookup(c, user, "pw", "H", now), want);
		}
		ck_assert_uint_eq(auth_cache_size(c), m.count);
	}
	auth_cache_free(c);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc;

	tc = tcase_create("userdb");
	/* test_userdb_dummy_cost hashes at the real cost: about 2 s idle, past
	 * Check's default 4 s on a loaded machine (seen in a package build). */
	tcase_set_timeout(tc, SLOW_TIMEOUT);
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_userdb_good);
	tcase_add_test(tc, test_userdb_dummy_cost);
	tcase_add_test(tc, test_userdb_empty);
	tcase_add_test(tc, test_userdb_pam);
	tcase_add_test(tc, test_userdb_missing);
	tcase_add_loop_test(tc, test_userdb_errors, 0,
			    (int)(sizeof bad_files / sizeof bad_files[0]));
	tcase_add_test(tc, test_userdb_small_errbuf);
	tcase_add_test(tc, test_userdb_many);
	tcase_add_test(tc, test_username_check);
	suite_add_tcase(s, tc);

	tc = tcase_create("verify");
	tcase_set_timeout(tc, SLOW_TIMEOUT);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_verify_empty_hash);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_set_timeout(tc, SLOW_TIMEOUT);
	tcase_add_test(tc, test_job_new);
	tcase_add_test(tc, test_pool_results);
	tcase_add_test(tc, test_pool_cancelled);
	tcase_add_test(tc, test_pool_bounded);
	tcase_add_test(tc, test_pool_fair_order);
	tcase_add_test(tc, test_pool_stop_does_not_wait);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_set_timeout(tc, SLOW_TIMEOUT);
	tcase_add_test(tc, test_cache_basic);
	tcase_add_test(tc, test_cache_max_age);
	tcase_add_test(tc, test_cache_bounded);
	tcase_add_test(tc, test_cache_failures_not_cached);
	tcase_add_test(tc, test_cache_model);
	suite_add_tcase(s, tc);

	return s;
}

#include "check_main.h"
