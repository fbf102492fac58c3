/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Authentication: the user file and the argon2 verification pool. The cache
 * of verified credentials is in auth_cache.c. The contracts are in auth.h.
 *
 * Nothing here logs. Errors go back as values (and, for the user file, as a
 * "path:LINE: message" string) because only the caller knows whether a
 * failure is fatal (startup) or survivable (reload, a tool). */
#include <autoconfig.h>

#include "policy/auth.h"
#include "policy/auth_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sodium.h>

/* ---- libsodium setup, shared by every entry point ---- */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static bool sodium_ready;

static void auth_sodium_init_once(void)
{
	/* 1 ("already initialised by someone else") is success too. */
	sodium_ready = sodium_init() >= 0;
}

bool auth_sodium_init(void)
{
	pthread_once(&sodium_once, auth_sodium_init_once);
	return sodium_ready;
}

/* The dummy hash that unknown users are verified against. It is written
 * once under pthread_once and only read afterwards, so every thread sees
 * the finished string without further locking. Its cost parameters are the
 * ones hopsocks-passwd uses, so an unknown user costs what a real one does. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];

static void auth_dummy_make(void)
{
	unsigned char pw[32];

	if (!auth_sodium_init())
		return;
	randombytes_buf(pw, sizeof pw);
	if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof pw,
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof pw);
}

static const char *auth_dummy_hash(void)
{
	pthread_once(&dummy_once, auth_dummy_make);
	return dummy_hash;
}

bool auth_verify(const char *hash, const char *pass)
{
	if (!auth_sodium_init())
		return false;
	if (pass == NULL)
		pass = "";
	if (hash == NULL || hash[0] == '\0') {
		/* Burn the same time a real user would, then fail: the answer
		 * for an unknown user must not come back faster. */
		const char *dummy = auth_dummy_hash();
		int burnt = -1;

		if (dummy[0] != '\0')
			burnt = crypto_pwhash_str_verify(dummy, pass, strlen(pass));
		(void)burnt; /* nobody knows the dummy's password; the result is moot */
		return false;
	}
	return crypto_pwhash_str_verify(hash, pass, strlen(pass)) == 0;
}

/* ---- user file ---- */

struct userdb_entry {
	char *name; /* "name\0hash\0" in one allocation; NULL = empty slot */
	const char *hash;
	unsigned line;
};

/* Open addressing with linear probing, at most half full, so a lookup is
 * a hash and a probe or two even with many thousands of users. */
struct userdb {
	struct userdb_entry *slots;
	size_t cap; /* power of two */
	size_t count;
	/* What an unknown user is verified against: a hash of a random
	 * password at the cost of the file's strongest hash, so an unknown
	 * name takes as long as the slowest real one. "" = the default
	 * dummy (an empty file, or no cost could be read). */
	char dummy[crypto_pwhash_STRBYTES];
	unsigned long long max_ops;
	size_t max_mem;
	char *pam_service; /* "users pam SERVICE": no entries, PAM decides */
};

#define USERDB_MIN_CAP 64

/* FNV-1a. Names come from the administrator's file, and a client can only
 * probe, never insert, so there is nothing to gain from a keyed hash. */
static uint64_t userdb_hash_name(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct userdb_entry *userdb_slot(const struct userdb *db, const char *name, size_t len)
{
	size_t mask = db->cap - 1;
	size_t i = (size_t)userdb_hash_name(name, len) & mask;

	while (db->slots[i].name != NULL) {
		const char *n = db->slots[i].name;

		if (strncmp(n, name, len) == 0 && n[len] == '\0')
			return &db->slots[i];
		i = (i + 1) & mask;
	}
	return &db->slots[i];
}

static int userdb_grow(struct userdb *db)
{
	size_t ncap = db->cap ? db->cap * 2 : USERDB_MIN_CAP;
	struct userdb old = *db;

	db->slots = calloc(ncap, sizeof(*db->slots));
	if (db->slots == NULL) {
		*db = old;
		return -ENOMEM;
	}
	db->cap = ncap;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].name == NULL)
			continue;
		*userdb_slot(db, old.slots[i].name, strlen(old.slots[i].name)) = old.slots[i];
	}
	free(old.slots);
	return 0;
}

void userdb_free(struct userdb *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->cap; i++)
		free(db->slots[i].name);
	free(db->slots);
	free(db->pam_service);
	free(db);
}

const char *userdb_find(const struct userdb *db, const char *user)
{
	if (db == NULL || user == NULL || db->count == 0)
		return NULL;
	const struct userdb_entry *e = userdb_slot(db, user, strlen(user));
	return e->name != NULL ? e->hash : NULL;
}

size_t userdb_count(const struct userdb *db)
{
	return db != NULL ? db->count : 0;
}

static bool auth_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool auth_hash_cost(const char *hash, unsigned long long *ops, size_t *mem);

/* The dearest argon2 cost a user file may ask for: libsodium's SENSITIVE
 * memory (1 GiB) and four times its SENSITIVE passes. Beyond that a login
 * takes seconds to hours of a verifier thread (and the file's dummy hash,
 * made at its strongest cost, holds up the start or the reload as long):
 * a file asking for it is a mistake, refused with its line, like a typo
 * (found by tests/fuzz/fuzz_userdb.c: t=999999991 never finished). */
#define USERDB_OPS_MAX (4 * crypto_pwhash_OPSLIMIT_SENSITIVE)
#define USERDB_MEM_MAX ((size_t)crypto_pwhash_MEMLIMIT_SENSITIVE)

/* Checked here, at load time, so a typo fails the start or the reload with
 * a line number instead of failing every login of that user later. */
static const char *userdb_check_hash(const char *hash, size_t len)
{
	unsigned long long ops;
	size_t mem;

	if (len == 0)
		return "empty password hash";
	if (!auth_has_prefix(hash, crypto_pwhash_argon2id_STRPREFIX) &&
	    !auth_has_prefix(hash, crypto_pwhash_argon2i_STRPREFIX))
		return "password hash is not a libsodium argon2id or argon2i string";
	if (len >= AUTH_HASH_MAX)
		return "password hash longer than 127 bytes";
	/* needs_rehash parses the whole string with libsodium's own decoder
	 * (parameters, salt, digest) without running argon2: -1 means the
	 * verifier would reject it. */
	if (crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
					   crypto_pwhash_MEMLIMIT_INTERACTIVE) < 0)
		return "malformed argon2 password hash";
	if (!auth_hash_cost(hash, &ops, &mem) || ops > USERDB_OPS_MAX || mem > USERDB_MEM_MAX)
		return "argon2 cost too high (at most t=16 and m=1048576, 1 GiB): every login "
		       "would take that long";
	return NULL;
}

/* State for one userdb_load() call. */
struct userdb_loader {
	const char *path;
	char *err;
	size_t errlen;
	struct userdb *db;
};

static int userdb_fail(struct userdb_loader *ld, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int userdb_fail(struct userdb_loader *ld, unsigned line, const char *fmt, ...)
{
	int n;

	if (ld->err == NULL || ld->errlen == 0)
		return -EINVAL;
	n = snprintf(ld->err, ld->errlen, "%s:%u: ", ld->path, line);
	if (n >= 0 && (size_t)n < ld->errlen) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The cost of an argon2 hash string: "$argon2id$v=19$m=65536,t=2,p=1$...":
 * m in KiB, t passes. false if it does not read as one. */
static bool auth_hash_cost(const char *hash, unsigned long long *ops, size_t *mem)
{
	const char *m = strstr(hash, "$m=");
	unsigned long kib, t;

	if (m == NULL || sscanf(m, "$m=%lu,t=%lu,", &kib, &t) != 2 || kib == 0 || t == 0 ||
	    kib > SIZE_MAX / 1024)
		return false;
	*ops = t;
	*mem = (size_t)kib * 1024;
	return true;
}

/* Remember the strongest cost the file uses. */
static void userdb_note_cost(struct userdb *db, const char *hash)
{
	unsigned long long ops;
	size_t mem;

	if (!auth_hash_cost(hash, &ops, &mem))
		return;
	if (ops > db->max_ops)
		db->max_ops = ops;
	if (mem > db->max_mem)
		db->max_mem = mem;
}

/* The file's dummy hash, at its strongest cost, when that is above the
 * default dummy's (the cost hopsocks-passwd uses). */
static void userdb_make_dummy(struct userdb *db)
{
	unsigned char pw[32];
	unsigned long long ops = db->max_ops;
	size_t mem = db->max_mem;

	db->dummy[0] = '\0';
	if (ops <= crypto_pwhash_OPSLIMIT_INTERACTIVE && mem <= crypto_pwhash_MEMLIMIT_INTERACTIVE)
		return;
	if (ops < crypto_pwhash_OPSLIMIT_MIN)
		ops = crypto_pwhash_OPSLIMIT_MIN;
	if (mem < crypto_pwhash_MEMLIMIT_MIN)
		mem = crypto_pwhash_MEMLIMIT_MIN;
	randombytes_buf(pw, sizeof pw);
	if (crypto_pwhash_str(db->dummy, (const char *)pw, sizeof pw, ops, mem) != 0)
		db->dummy[0] = '\0';
	sodium_memzero(pw, sizeof pw);
}

const char *userdb_dummy_hash(const struct userdb *db)
{
	return db != NULL ? db->dummy : "";
}

int userdb_new_pam(const char *service, struct userdb **out)
{
	struct userdb *db = calloc(1, sizeof(*db));

	*out = NULL;
	if (db == NULL)
		return -ENOMEM;
	db->pam_service = strdup(service);
	if (db->pam_service == NULL) {
		free(db);
		return -ENOMEM;
	}
	*out = db;
	return 0;
}

const char *userdb_pam_service(const struct userdb *db)
{
	return db != NULL ? db->pam_service : NULL;
}

static int userdb_add(struct userdb_loader *ld, unsigned line, const char *name, size_t namelen,
		      const char *hash, size_t hashlen)
{
	struct userdb *db = ld->db;
	struct userdb_entry *e;

	if ((db->count + 1) * 2 > db->cap && userdb_grow(db) < 0) {
		userdb_fail(ld, line, "out of memory");
		return -ENOMEM;
	}
	e = userdb_slot(db, name, namelen);
	if (e->name != NULL)
		return userdb_fail(ld, line, "duplicate user '%.*s' (first on line %u)",
				   (int)namelen, name, e->line);
	e->name = malloc(namelen + 1 + hashlen + 1);
	if (e->name == NULL) {
		userdb_fail(ld, line, "out of memory");
		return -ENOMEM;
	}
	memcpy(e->name, name, namelen);
	e->name[namelen] = '\0';
	memcpy(e->name + namelen + 1, hash, hashlen);
	e->name[namelen + 1 + hashlen] = '\0';
	e->hash = e->name + namelen + 1;
	e->line = line;
	db->count++;
	userdb_note_cost(db, e->hash);
	return 0;
}

static bool auth_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One line without its terminator; it may be modified in place. */
static int userdb_parse_line(struct userdb_loader *ld, unsigned line, char *s, size_t len)
{
	const char *msg;
	char *colon;
	size_t i = 0;

	if (strlen(s) != len)
		return userdb_fail(ld, line, "line contains a NUL byte");
	/* Trailing blanks are invisible in an editor; forgive them. */
	while (len > 0 && auth_is_blank(s[len - 1]))
		s[--len] = '\0';
	while (i < len && auth_is_blank(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return 0;

	colon = memchr(s, ':', len);
	if (colon == NULL)
		return userdb_fail(ld, line, "expected 'name:hash'");
	size_t namelen = (size_t)(colon - s);
	size_t hashlen = len - namelen - 1;

	msg = username_check_len(s, namelen);
	if (msg == NULL)
		msg = userdb_check_hash(colon + 1, hashlen);
	if (msg != NULL)
		return userdb_fail(ld, line, "%s", msg);
	return userdb_add(ld, line, s, namelen, colon + 1, hashlen);
}

static int userdb_parse_file(struct userdb_loader *ld, FILE *f)
{
	char *buf = NULL;
	size_t bufsize = 0;
	unsigned line = 0;
	ssize_t n;
	int rc = 0;

	errno = 0;
	while ((n = getline(&buf, &bufsize, f)) >= 0) {
		size_t len = (size_t)n;

		line++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		rc = userdb_parse_line(ld, line, buf, len);
		if (rc < 0)
			break;
		errno = 0;
	}
	if (rc == 0 && ferror(f)) {
		rc = errno ? -errno : -EIO;
		if (ld->err != NULL && ld->errlen > 0)
			snprintf(ld->err, ld->errlen, "%s: read error: %s", ld->path,
				 strerror(-rc));
	}
	free(buf);
	return rc;
}

int userdb_load(const char *path, struct userdb **out, char *err, size_t errlen)
{
	struct userdb_loader ld = { .path = path, .err = err, .errlen = errlen };
	FILE *f;
	int rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!auth_sodium_init()) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: libsodium failed to initialise", path);
		return -EIO;
	}
	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	ld.db = calloc(1, sizeof(*ld.db));
	rc = ld.db != NULL ? userdb_grow(ld.db) : -ENOMEM;
	if (rc < 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", path);
	} else {
		rc = userdb_parse_file(&ld, f);
	}
	fclose(f);
	if (rc < 0) {
		userdb_free(ld.db);
		return rc;
	}
	userdb_make_dummy(ld.db);
	*out = ld.db;
	return 0;
}

/* ---- jobs and the completion queue ---- */

int auth_done_queue_init(struct auth_done_queue *q)
{
	int rc;

	q->head = q->tail = NULL;
	q->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->eventfd < 0)
		return -errno;
	rc = pthread_mutex_init(&q->lock, NULL);
	if (rc != 0) {
		close(q->eventfd);
		q->eventfd = -1;
		return -rc;
	}
	return 0;
}

void auth_done_queue_destroy(struct auth_done_queue *q)
{
	struct auth_job *job = q->head;

	while (job != NULL) {
		struct auth_job *next = job->next;

		auth_job_free(job);
		job = next;
	}
	q->head = q->tail = NULL;
	if (q->eventfd >= 0)
		close(q->eventfd);
	q->eventfd = -1;
	pthread_mutex_destroy(&q->lock);
}

/* Called by pool threads. The eventfd is written under the lock so a
 * concurrent take() never sees the count without the job. */
static void auth_done_queue_push(struct auth_done_queue *q, struct auth_job *job)
{
	const uint64_t one = 1;

	job->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	/* Can only fail (EAGAIN) if the counter is near 2^64: the fd is still
	 * readable then, which is all the worker needs. */
	if (write(q->eventfd, &one, sizeof one) < 0) {
		/* nothing to do */
	}
	pthread_mutex_unlock(&q->lock);
}

struct auth_job *auth_done_queue_take(struct auth_done_queue *q)
{
	struct auth_job *list;
	uint64_t count;

	pthread_mutex_lock(&q->lock);
	/* EAGAIN (nothing signalled) is fine: the list is taken anyway. */
	if (read(q->eventfd, &count, sizeof count) < 0) {
		/* nothing to do */
	}
	list = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	return list;
}

static bool auth_copy(char *dst, size_t cap, const char *src)
{
	size_t len = src != NULL ? strlen(src) : 0;

	if (len >= cap)
		return false;
	memcpy(dst, src != NULL ? src : "", len + 1);
	return true;
}

/* The pool's key for a client: IPv4, or the /64 of IPv6 (IPv4-mapped
 * counted as IPv4), as the throttle and the limits count clients. */
static uint8_t auth_client_key(const struct sockaddr_storage *ss, uint8_t *key)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (ss == NULL)
		return 0;
	if (ss->ss_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 5;
	}
	if (ss->ss_family != AF_INET6)
		return 0;
	const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
	if (memcmp(a, v4mapped, 12) == 0) {
		key[0] = 4;
		memcpy(key + 1, a + 12, 4);
		return 5;
	}
	key[0] = 6;
	memcpy(key + 1, a, 8);
	return 9;
}

/* The client's address as PAM_RHOST wants it (pam_access, SSSD's logs):
 * "" when there is none. */
static void auth_rhost(const struct sockaddr_storage *ss, char *out, size_t len)
{
	const void *a = NULL;

	out[0] = '\0';
	if (ss != NULL && ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else if (ss != NULL && ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (a == NULL || inet_ntop(ss->ss_family, a, out, (socklen_t)len) == NULL)
		out[0] = '\0';
}

struct auth_job *auth_job_new(const char *user, const char *pass, const char *hash,
			      struct auth_done_queue *done, void *owner,
			      const struct sockaddr_storage *ip, bool suspect)
{
	struct auth_job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		return NULL;
	if (!auth_copy(job->user, sizeof job->user, user) ||
	    !auth_copy(job->pass, sizeof job->pass, pass) ||
	    !auth_copy(job->hash, sizeof job->hash, hash)) {
		auth_job_free(job);
		errno = EINVAL;
		return NULL;
	}
	job->done = done;
	job->owner = owner;
	job->client_len = auth_client_key(ip, job->client);
	auth_rhost(ip, job->rhost, sizeof job->rhost);
	job->suspect = suspect;
	atomic_init(&job->cancelled, false);
	return job;
}

bool auth_job_use_pam(struct auth_job *job, const char *service)
{
	return auth_copy(job->service, sizeof job->service, service);
}

void auth_job_cancel(struct auth_job *job)
{
	atomic_store_explicit(&job->cancelled, true, memory_order_relaxed);
}

void auth_job_free(struct auth_job *job)
{
	if (job == NULL)
		return;
	sodium_memzero(job->pass, sizeof job->pass);
	free(job);
}

/* ---- the verification pool ----
 *
 * Waiting jobs are kept per client (one FIFO each) and the clients in two
 * rings, those without recent failures and the suspect ones. A thread
 * takes the first client of the first non-empty ring, hashes one of its
 * jobs and puts the client back at the end of its ring if it has more:
 * every client gets its turn, whatever one of them queued, and a client
 * that has been failing waits behind every client that has not. */

struct auth_client_q {
	uint8_t key[AUTH_CLIENT_KEY_MAX];
	uint8_t len;
	bool suspect;
	unsigned n;
	struct auth_job *head, *tail;
	struct auth_client_q *next; /* in its ring */
};

struct auth_ring {
	struct auth_client_q *head, *tail;
};

struct auth_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct auth_ring ring[2]; /* [0] clients without recent failures, [1] suspect */
	size_t queued;
	bool stopping;
	unsigned nthreads; /* threads actually running */
	pthread_t threads[];
};

static void ring_push(struct auth_ring *r, struct auth_client_q *q)
{
	q->next = NULL;
	if (r->tail)
		r->tail->next = q;
	else
		r->head = q;
	r->tail = q;
}

static struct auth_client_q *ring_pop(struct auth_ring *r)
{
	struct auth_client_q *q = r->head;
	if (q) {
		r->head = q->next;
		if (!r->head)
			r->tail = NULL;
	}
	return q;
}

/* The client's queue if it has jobs waiting (a linear search: at most
 * AUTH_POOL_QUEUE_MAX clients). */
static struct auth_client_q *auth_pool_find(struct auth_pool *pool, const struct auth_job *job)
{
	for (int r = 0; r < 2; r++)
		for (struct auth_client_q *q = pool->ring[r].head; q; q = q->next)
			if (q->len == job->client_len && memcmp(q->key, job->client, q->len) == 0)
				return q;
	return NULL;
}

/* The next job, or NULL once stopping. */
static struct auth_job *auth_pool_next(struct auth_pool *pool)
{
	struct auth_job *job = NULL;

	pthread_mutex_lock(&pool->lock);
	while (pool->queued == 0 && !pool->stopping)
		pthread_cond_wait(&pool->wake, &pool->lock);
	if (!pool->stopping) {
		struct auth_ring *r = pool->ring[0].head ? &pool->ring[0] : &pool->ring[1];
		struct auth_client_q *q = ring_pop(r);
		job = q->head;
		q->head = job->next;
		if (!q->head)
			q->tail = NULL;
		pool->queued--;
		if (--q->n > 0)
			ring_push(r, q); /* its next job waits for the others' turns */
		else
			free(q);
	}
	pthread_mutex_unlock(&pool->lock);
	return job;
}

/* What a pool thread runs for one job: argon2 against the stored hash,
 * or the PAM stack. */
static bool auth_job_check(struct auth_job *job)
{
	if (job->service[0] != '\0')
		return auth_pam_verify(job->service, job->user, job->pass, job->rhost, job->error,
				       sizeof job->error);
	return auth_verify(job->hash, job->pass);
}

static void *auth_pool_main(void *arg)
{
	struct auth_pool *pool = arg;
	struct auth_job *job;

	while ((job = auth_pool_next(pool)) != NULL) {
		/* The password stays in the job: on success the worker feeds
		 * it to its cache, and auth_job_free() wipes it. A job whose
		 * session has ended is not worth tens of milliseconds. */
		job->verified = !atomic_load_explicit(&job->cancelled, memory_order_relaxed);
		job->ok = job->verified && auth_job_check(job);
		if (job->done != NULL)
			auth_done_queue_push(job->done, job);
		else
			auth_job_free(job);
	}
	return NULL;
}

/* Threads are started with every signal blocked, so that signals go to the
 * main thread's signalfd whatever the caller's mask is. */
static int auth_pool_spawn(struct auth_pool *pool, unsigned nthreads)
{
	sigset_t all, old;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (pool->nthreads < nthreads) {
		rc = pthread_create(&pool->threads[pool->nthreads], NULL, auth_pool_main, pool);
		if (rc != 0)
			break;
		pool->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -rc;
}

struct auth_pool *auth_pool_start(unsigned nthreads)
{
	struct auth_pool *pool;

	if (nthreads == 0)
		nthreads = 1;
	/* Done before any thread runs, so the first unknown user does not
	 * pay for it (and is not distinguishable by it). */
	if (!auth_sodium_init() || auth_dummy_hash()[0] == '\0')
		return NULL;
	pool = calloc(1, sizeof(*pool) + nthreads * sizeof(pool->threads[0]));
	if (pool == NULL)
		return NULL;
	if (pthread_mutex_init(&pool->lock, NULL) != 0) {
		free(pool);
		return NULL;
	}
	if (pthread_cond_init(&pool->wake, NULL) != 0) {
		pthread_mutex_destroy(&pool->lock);
		free(pool);
		return NULL;
	}
	if (auth_pool_spawn(pool, nthreads) < 0) {
		auth_pool_stop(pool);
		return NULL;
	}
	return pool;
}

bool auth_pool_submit(struct auth_pool *pool, struct auth_job *job)
{
	bool taken = false;

	job->next = NULL;
	pthread_mutex_lock(&pool->lock);
	struct auth_client_q *q = auth_pool_find(pool, job);
	if (pool->queued >= AUTH_POOL_QUEUE_MAX || (q && q->n >= AUTH_POOL_PER_CLIENT_MAX))
		goto out;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			goto out;
		memcpy(q->key, job->client, job->client_len);
		q->len = job->client_len;
		q->suspect = job->suspect;
		ring_push(&pool->ring[q->suspect], q);
	}
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	q->n++;
	pool->queued++;
	taken = true;
	pthread_cond_signal(&pool->wake);
out:
	pthread_mutex_unlock(&pool->lock);
	return taken;
}

size_t auth_pool_queued(struct auth_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	size_t n = pool->queued;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

void auth_pool_stop(struct auth_pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	/* A stop does not wait for the queue: its sessions are gone. */
	for (int r = 0; r < 2; r++) {
		struct auth_client_q *q;

		while ((q = ring_pop(&pool->ring[r])) != NULL) {
			while (q->head) {
				struct auth_job *job = q->head;

				q->head = job->next;
				auth_job_free(job);
			}
			free(q);
		}
	}
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
