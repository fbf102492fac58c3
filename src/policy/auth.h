/* Username/password authentication: the user file, a small thread pool that
 * runs argon2id verification off the event loops, and a cache of verified
 * credentials so repeated logins do not pay for argon2 each time. */
#ifndef HOPSOCKS_AUTH_H
#define HOPSOCKS_AUTH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- verification jobs ---- */

/* Completed jobs come back to the submitting worker through this queue; the
 * pool thread appends and writes the eventfd, the worker drains it in its loop. */
struct auth_done_queue {
	pthread_mutex_t lock;
	struct auth_job *head, *tail;
	int eventfd;
};

struct auth_job {
	/* set by the submitter (a worker thread) */
	char user[AUTH_NAME_MAX + 1];
	char pass[AUTH_PASS_MAX + 1];
	char hash[AUTH_HASH_MAX]; /* "" when the user is unknown: the pool then
				   * verifies against a dummy hash, so unknown
				   * and known users take the same time */
	struct auth_done_queue *done;
	void *owner; /* the waiting session; the worker sets it to NULL to
		      * cancel. Only the worker thread touches it. */
	/* set by the pool */
	bool ok;
	struct auth_job *next;
};

int auth_done_queue_init(struct auth_done_queue *q);
void auth_done_queue_destroy(struct auth_done_queue *q); /* frees queued jobs */
/* Reset the eventfd and take every completed job (a NULL-terminated list
 * through ->next). The caller frees each job with auth_job_free(). */
struct auth_job *auth_done_queue_take(struct auth_done_queue *q);

/* A job with its password wiped on free. */
struct auth_job *auth_job_new(const char *user, const char *pass, const char *hash,
			      struct auth_done_queue *done, void *owner);
void auth_job_free(struct auth_job *job);

struct auth_pool;

/* Start nthreads verification threads (>= 1). Also prepares the dummy hash. */
struct auth_pool *auth_pool_start(unsigned nthreads);
/* Queue a job; ownership passes to the pool until it is on job->done. */
void auth_pool_submit(struct auth_pool *pool, struct auth_job *job);
/* Stop the threads once the queue is empty (queued jobs still complete)
 * and free the pool. */
void auth_pool_stop(struct auth_pool *pool);

/* Verify synchronously (what the pool threads run; also for tools and
 * tests). Constant-time; an empty hash verifies against the dummy. */
bool auth_verify(const char *hash, const char *pass);

#endif
