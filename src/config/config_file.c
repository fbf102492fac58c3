/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* See config_file.h. */
#include "config/config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_value.h"

/* Read all of fd into a malloc'd buffer, at most CONFIG_FILE_MAX bytes.
 * Reads to EOF rather than trusting st_size, so pipes and /dev/stdin work,
 * and asks for one byte past the limit to tell "exactly 1 MiB" from "more".
 * Returns 0, -1 with errno set, or -2 when the file is too large. */
static int file_slurp(int fd, char **out, size_t *outlen)
{
	size_t cap = 4096, len = 0;
	char *text = malloc(cap);

	if (text == NULL)
		return -1;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *grown = realloc(text, cap * 2);

			if (grown == NULL) {
				free(text);
				errno = ENOMEM;
				return -1;
			}
			text = grown;
			cap *= 2;
		}
		n = read(fd, text + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			free(text);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			free(text);
			return -2;
		}
	}
	*out = text;
	*outlen = len;
	return 0;
}

int config_file_read(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		config_err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = file_slurp(fd, text, len);
	if (rc < 0) {
		if (rc == -2)
			config_err_set(err, errlen, "%s: file too large (over 1 MiB)", path);
		else
			config_err_set(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
