/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* What a user name may be (username.c): one rule for the user file, the
 * access rules that name users, and hopsocks-passwd. RFC 1929 carries 1 to
 * 255 bytes; the user file's syntax ("NAME:HASH", '#' comments) takes
 * away ':', whitespace, control characters and a leading '#'. */
#ifndef HOPSOCKS_USERNAME_H
#define HOPSOCKS_USERNAME_H

#include <stddef.h>

/* The longest user name RFC 1929 can carry. */
#define USERNAME_MAX 255

/* NULL if the len bytes at name are acceptable as a user name, else why
 * not ("user name contains ':'"). */
const char *username_check_len(const char *name, size_t len);
/* The same for a NUL-terminated name. */
const char *username_check(const char *name);

#endif
