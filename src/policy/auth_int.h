/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Private to auth.c and auth_cache.c. The public contract is auth.h. */
#ifndef HOPSOCKS_AUTH_INT_H
#define HOPSOCKS_AUTH_INT_H

#include <stdbool.h>

/* Initialise libsodium once per process (thread-safe). false if it failed;
 * every entry point that uses libsodium calls this first. */
bool auth_sodium_init(void);

#endif
