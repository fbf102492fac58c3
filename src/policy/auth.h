/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Username/password authentication: the user file, a small thread pool that
 * runs argon2id verification off the event loops, and a cache of verified
 * credentials so repeated logins do not pay for argon2 each time. */
#ifndef HOPSOCKS_AUTH_H
#define HOPSOCKS_AUTH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy/auth_pam.h"
#include "proto/username.h"

#define AUTH_NAME_MAX USERNAME_MAX
#define AUTH_PASS_MAX 255
#define AUTH_HASH_MAX 128 /* crypto_pwhash_STRBYTES */

/* ---- user file: "name:hash" per line, '#' comments, blank lines ---- */

struct userdb;

/* Load and validate a user file. Errors name "path:LINE: message" (bad
 * line, empty name, name with ':' or whitespace, hash that is not a
 * libsodium argon2 string, duplicate user). An empty file is valid. */
int userdb_load(const char *path, struct userdb **out, char *err, size_t errlen);
void userdb_free(struct userdb *db);
/* The stored hash string of user, or NULL. */
const char *userdb_find(const struct userdb *db, const char *user);
size_t userdb_count(const struct userdb *db);
/* What to verify an unknown user's password against: a hash at the cost
 * of the file's strongest (so an unknown name takes as long as the slowest
 * known one), or "" for the pool's default dummy. */
const char *userdb_dummy_hash(const struct userdb *db);

/* "users pam SERVICE": a user database that is a PAM service instead of a
 * file. It holds no entries (userdb_find() is NULL for every name, the
 * dummy hash ""): every password goes to PAM on the verification pool. */
int userdb_new_pam(const char *service, struct userdb **out);
/* The PAM service of a database made by userdb_new_pam(), else NULL. */
const char *userdb_pam_service(const struct userdb *db);

/* ---- verification jobs ---- */

/* Completed jobs come back to the submitting worker through this queue; the
 * pool thread appends and writes the eventfd, the worker drains it in its loop. */
struct auth_done_queue {
	pthread_mutex_t lock;
	struct auth_job *head, *tail;
	int eventfd;
};

/* A client as the pool tells clients apart: family byte + IPv4, or the
 * IPv6 /64. */
#define AUTH_CLIENT_KEY_MAX 9
#define AUTH_RHOST_MAX	    46 /* INET6_ADDRSTRLEN */

struct auth_job {
	/* set by the submitter (a worker thread) */
	char user[AUTH_NAME_MAX + 1];
	char pass[AUTH_PASS_MAX + 1];
	char hash[AUTH_HASH_MAX]; /* "" when the user is unknown: the pool then
				   * verifies against a dummy hash, so unknown
				   * and known users take the same time */
	/* "" = check pass against hash; else the PAM service to ask (set
	 * with auth_job_use_pam()), and hash is unused */
	char service[AUTH_PAM_SERVICE_MAX + 1];
	struct auth_done_queue *done;
	void *owner; /* the waiting session; the worker sets it to NULL to
		      * cancel. Only the worker thread touches it. */
	/* Who asked: the pool serves client addresses in turn (an IPv4
	 * address, an IPv6 /64), those without recent failures first. */
	uint8_t client[AUTH_CLIENT_KEY_MAX];
	uint8_t client_len;
	char rhost[AUTH_RHOST_MAX]; /* the client's address as text, for PAM_RHOST */
	bool suspect; /* the address has failed logins in the throttle's window */
	/* Set by the worker when the session has ended: the pool then skips
	 * the hashing (the job still comes back, to be freed). */
	atomic_bool cancelled;
	/* set by the pool */
	bool ok;
	bool verified; /* false: skipped (cancelled), ok is false */
	char error[AUTH_PAM_ERROR_MAX]; /* why PAM said no ("" otherwise) */
	struct auth_job *next;
};

int auth_done_queue_init(struct auth_done_queue *q);
void auth_done_queue_destroy(struct auth_done_queue *q); /* frees queued jobs */
/* Reset the eventfd and take every completed job (a NULL-terminated list
 * through ->next). The caller frees each job with auth_job_free(). */
struct auth_job *auth_done_queue_take(struct auth_done_queue *q);

/* A job with its password wiped on free, for the client at ip (suspect:
 * it has failed logins in the throttle's window). */
struct auth_job *auth_job_new(const char *user, const char *pass, const char *hash,
			      struct auth_done_queue *done, void *owner,
			      const struct sockaddr_storage *ip, bool suspect);
/* Check the job's password with PAM service service instead of a hash.
 * false (the job unchanged) if the name does not fit. */
bool auth_job_use_pam(struct auth_job *job, const char *service);
/* The session that submitted job has ended: do not hash it. */
void auth_job_cancel(struct auth_job *job);
void auth_job_free(struct auth_job *job);

struct auth_pool;

/* The most jobs the pool holds waiting, in all, and per client address:
 * argon2 takes tens of milliseconds, so this is already seconds of work. */
#define AUTH_POOL_QUEUE_MAX	 256
#define AUTH_POOL_PER_CLIENT_MAX 8

/* Start nthreads verification threads (>= 1). They also run the PAM
 * checks, which may take as long as a directory server does. Also prepares the dummy hash. */
struct auth_pool *auth_pool_start(unsigned nthreads);
/* Queue a job; ownership passes to the pool until it is on job->done.
 * false when the queue is full, in all or for the job's client: the job
 * stays the caller's. Clients are served in turn, one job each, those
 * without recent failures before suspect ones, so strangers guessing from
 * many addresses cannot push a returning user's login back. */
bool auth_pool_submit(struct auth_pool *pool, struct auth_job *job);
/* Jobs waiting now (tests). */
size_t auth_pool_queued(struct auth_pool *pool);
/* Stop the threads (a job being hashed finishes; the queued ones are not
 * hashed) and free the pool with every job still queued. */
void auth_pool_stop(struct auth_pool *pool);

/* Verify synchronously (what the pool threads run; also for tools and
 * tests). Constant-time; an empty hash verifies against the dummy. */
bool auth_verify(const char *hash, const char *pass);

#endif
