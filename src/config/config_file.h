/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Reading a configuration text from a path (config_file.c): the main
 * config file and the proxychains files chains take their hops from. The
 * parsers themselves never touch the file system. */
#ifndef HOPSOCKS_CONFIG_FILE_H
#define HOPSOCKS_CONFIG_FILE_H

#include <stddef.h>

/* Longest file read; a config bigger than this is a mistake. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* Read all of path into a malloc'd buffer (*text, *len; free() it).
 * Returns 0, or -1 with "PATH: strerror" or "PATH: file too large (over 1
 * MiB)" in err. */
int config_file_read(const char *path, char **text, size_t *len, char *err, size_t errlen);

#endif
