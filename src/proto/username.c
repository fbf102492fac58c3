/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The user-name rule. Pure: bytes in, a reason out. */
#include "proto/username.h"

#include <string.h>

const char *username_check_len(const char *name, size_t len)
{
	if (len == 0)
		return "empty user name";
	if (len > USERNAME_MAX)
		return "user name longer than 255 bytes";
	/* In the file such a line is a comment, so the user could never log in. */
	if (name[0] == '#')
		return "user name starts with '#'";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* Bytes >= 0x80 are allowed so UTF-8 names work. */
		if (c <= ' ' || c == 0x7f)
			return "user name contains whitespace or a control character";
		if (c == ':')
			return "user name contains ':'";
	}
	return NULL;
}

const char *username_check(const char *name)
{
	return username_check_len(name, strlen(name));
}
