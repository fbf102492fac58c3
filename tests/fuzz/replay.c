/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Replays saved inputs through a fuzz target without libFuzzer, so that
 * `make check` runs every seed and every input that once crashed through
 * the target's checks, built with the normal compiler (and the sanitizers
 * in an --enable-sanitizers build).
 *
 *   tests/fuzz/replay_NAME                 tests/fuzz/corpus/NAME/ and
 *                                          tests/fuzz/regress/NAME/ under
 *                                          $HOPSOCKS_SRCDIR (make check)
 *   tests/fuzz/replay_NAME FILE|DIR...     those files
 *
 * Linked with one tests/fuzz/fuzz_NAME.c; NAME comes from the program's
 * own name. Prints TAP, one line per input: a broken invariant aborts (as
 * under libFuzzer), and the "# replaying" line before it names the input;
 * in a sanitizer build, the first input after which memory leaked is
 * "not ok".
 * Each input is handed over in a heap block of exactly its size, as
 * libFuzzer does, so AddressSanitizer sees a read past its end. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>

/* In a sanitizer build, leaks are checked after each input (as libFuzzer
 * does), so the report names the input that leaked. gcc says
 * __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_LSAN 1
#endif
#ifdef REPLAY_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* Non-zero when memory allocated so far and no longer reachable leaked. */
static int leaked(void)
{
#ifdef REPLAY_LSAN
	return __lsan_do_recoverable_leak_check();
#else
	return 0;
#endif
}

struct inputs {
	char **path;
	size_t n, cap;
};

static void inputs_add(struct inputs *in, const char *path)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 64;
		in->path = realloc(in->path, in->cap * sizeof(*in->path));
		if (in->path == NULL)
			abort();
	}
	in->path[in->n] = strdup(path);
	if (in->path[in->n] == NULL)
		abort();
	in->n++;
}

static int skip_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* A file, or the files directly in a directory (sorted, dot files left
 * out). A directory that does not exist is fine when optional. */
static int collect(struct inputs *in, const char *path, bool optional)
{
	struct dirent **names;
	struct stat st;
	int n;

	if (stat(path, &st) < 0) {
		if (optional && errno == ENOENT)
			return 0;
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		inputs_add(in, path);
		return 0;
	}
	n = scandir(path, &names, skip_dots, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];

		snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			inputs_add(in, full);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* The whole file in a block of exactly its size. */
static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, got;
	uint8_t chunk[4096];

	if (f == NULL)
		return NULL;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + got > cap) {
			cap = (len + got) * 2;
			buf = realloc(buf, cap);
			if (buf == NULL)
				abort();
		}
		memcpy(buf + len, chunk, got);
		len += got;
	}
	fclose(f);
	/* Exactly len bytes (one for an empty file, never looked at). */
	uint8_t *exact = malloc(len > 0 ? len : 1);
	if (exact == NULL)
		abort();
	if (len > 0)
		memcpy(exact, buf, len);
	free(buf);
	*size = len;
	return exact;
}

/* "replay_NAME" -> "NAME". */
static const char *target_name(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base != NULL ? base + 1 : argv0;
	/* libtool-style "lt-" prefixes do not occur: no libtool here. */
	return strncmp(base, "replay_", 7) == 0 ? base + 7 : base;
}

int main(int argc, char **argv)
{
	struct inputs in = { NULL, 0, 0 };
	const char *name = target_name(argv[0]);
	size_t failed = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (collect(&in, argv[i], false) < 0)
				return 1;
	} else {
		const char *src = getenv("HOPSOCKS_SRCDIR");
		char dir[4096];

		if (src == NULL)
			src = ".";
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", src, name);
		if (collect(&in, dir, false) < 0)
			return 1;
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/regress/%s", src, name);
		if (collect(&in, dir, true) < 0)
			return 1;
	}
	if (in.n == 0) {
		/* A target without seeds is a mistake, not a skip. */
		printf("Bail out! no inputs for %s\n", name);
		return 1;
	}

	printf("1..%zu\n", in.n);
	for (size_t i = 0; i < in.n; i++) {
		size_t size;
		uint8_t *data;

		printf("# replaying %s\n", in.path[i]);
		fflush(stdout);
		data = read_file(in.path[i], &size);
		if (data == NULL) {
			printf("not ok %zu - %s: %s\n", i + 1, in.path[i], strerror(errno));
			return 1;
		}
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		/* tests/fuzz/regress/NAME/FILE rather than the whole path. */
		const char *label = strstr(in.path[i], "tests/fuzz/");
		/* A leak stays reported by every later check: name the first
		 * input that leaked and stop looking. (Without a sanitizer
		 * leaked() is constant, which cppcheck would point out.) */
		// cppcheck-suppress knownConditionTrueFalse
		if (failed == 0 && leaked()) {
			printf("not ok %zu - %s (%zu bytes): leaked memory\n", i + 1,
			       label != NULL ? label : in.path[i], size);
			failed++;
		} else {
			printf("ok %zu - %s (%zu bytes)\n", i + 1,
			       label != NULL ? label : in.path[i], size);
		}
		fflush(stdout);
		free(in.path[i]);
	}
	free(in.path);
	return failed == 0 ? 0 : 1;
}
