/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: the user file (userdb_load).
 *
 * userdb_load() reads a path, so each input is written to a memfd and
 * loaded through /proc/self/fd/N: the real loader, getline() and all.
 *
 * Checked beyond "no crash, no leak":
 *  - a file that loads holds exactly its "name:hash" lines: a simple
 *    model of the format (comments, blank lines, CRLF, trailing blanks)
 *    predicts the count, and every name finds its own hash;
 *  - an error reads "PATH:LINE: message" with LINE a line of the file,
 *    and the lines before it load on their own. */
#include "fuzz.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy/auth.h"
#include "proto/username.h"

static int memfd = -1;
static char path[64];

static void file_write(const uint8_t *data, size_t size)
{
	if (memfd < 0) {
		memfd = memfd_create("hopsocks-fuzz-users", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0)
		abort();
	if (size > 0 && pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
}

static bool is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Walk the lines of a file that loaded and check each entry line against
 * the database. Returns the number of entry lines. */
static size_t check_lines(const struct userdb *db, const uint8_t *data, size_t size)
{
	size_t entries = 0, pos = 0;

	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		size_t len = end - pos;
		const char *s = (const char *)data + pos;
		const char *colon, *hash;
		char name[AUTH_NAME_MAX + 1];
		size_t i = 0, namelen, hashlen;

		pos = nl != NULL ? end + 1 : size;
		if (len > 0 && s[len - 1] == '\r')
			len--;
		FUZZ_CHECK(memchr(s, '\0', len) == NULL); /* the loader refuses NULs */
		while (len > 0 && is_blank((uint8_t)s[len - 1]))
			len--;
		while (i < len && is_blank((uint8_t)s[i]))
			i++;
		if (i == len || s[i] == '#')
			continue;

		colon = memchr(s, ':', len);
		FUZZ_CHECK(colon != NULL);
		namelen = (size_t)(colon - s);
		FUZZ_CHECK(namelen >= 1 && namelen <= AUTH_NAME_MAX);
		memcpy(name, s, namelen);
		name[namelen] = '\0';
		FUZZ_CHECK(username_check(name) == NULL);
		hash = colon + 1;
		hashlen = len - namelen - 1;
		FUZZ_CHECK(hashlen >= 1 && hashlen < AUTH_HASH_MAX);

		const char *stored = userdb_find(db, name);
		FUZZ_CHECK(stored != NULL);
		FUZZ_CHECK(strlen(stored) == hashlen && memcmp(stored, hash, hashlen) == 0);
		entries++;
	}
	return entries;
}

/* "PATH:LINE: message" -> LINE, or 0 if err does not look like that. */
static unsigned error_line(const char *err)
{
	size_t plen = strlen(path);
	const char *p = err + plen + 1;
	unsigned line = 0;

	if (strncmp(err, path, plen) != 0 || err[plen] != ':')
		return 0;
	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (line > 100000000)
			return 0;
		line = line * 10 + (unsigned)(*p - '0');
	}
	return p[0] == ':' && p[1] == ' ' && p[2] != '\0' ? line : 0;
}

/* The value after each "m=" / "t=" in the input, the largest of each. */
static void largest_costs(const uint8_t *data, size_t size, unsigned long long *m,
			  unsigned long long *t)
{
	*m = *t = 0;
	for (size_t i = 0; i + 2 < size; i++) {
		unsigned long long v = 0;

		if ((data[i] != 'm' && data[i] != 't') || data[i + 1] != '=')
			continue;
		for (size_t j = i + 2;
		     j < size && data[j] >= '0' && data[j] <= '9' && v < 1ULL << 40; j++)
			v = v * 10 + (data[j] - '0');
		if (data[i] == 'm' && v > *m)
			*m = v;
		if (data[i] == 't' && v > *t)
			*t = v;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct userdb *db = NULL;
	char err[512] = "";
	unsigned line, lines = 0;
	size_t start = 0;
	unsigned long long m, t;
	int rc;

	/* A hash the loader accepts makes the file's dummy hash at its cost:
	 * up to t=16 and 1 GiB, seconds each. Those inputs test argon2's
	 * speed, not the parser: skipped. Dearer ones are refused at once
	 * (regress/userdb/cost-too-high) and cheaper ones load quickly. */
	largest_costs(data, size, &m, &t);
	if ((m > 65536 && m <= 1048576) || (t > 4 && t <= 16))
		return 0;
	file_write(data, size);
	rc = userdb_load(path, &db, err, sizeof(err));
	if (rc == 0) {
		FUZZ_CHECK(db != NULL);
		FUZZ_CHECK(check_lines(db, data, size) == userdb_count(db));
		/* A name that is not in the file is not found. */
		FUZZ_CHECK(userdb_find(db, "\x01 not a user name") == NULL);
		userdb_free(db);
		return 0;
	}
	FUZZ_CHECK(db == NULL && rc < 0);

	line = error_line(err);
	FUZZ_CHECK(line > 0);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (size > 0 && data[size - 1] != '\n')
		lines++; /* a last line without its newline is still a line */
	FUZZ_CHECK(line <= lines);

	/* Everything before the bad line loads on its own. */
	for (unsigned l = 1; l < line; l++) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);

		FUZZ_CHECK(nl != NULL);
		start = (size_t)(nl - data) + 1;
	}
	file_write(data, start);
	rc = userdb_load(path, &db, err, sizeof(err));
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(check_lines(db, data, start) == userdb_count(db));
	userdb_free(db);
	return 0;
}
