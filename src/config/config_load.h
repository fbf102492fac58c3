/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Making a configuration (config_load.c): defaults, the directive table
 * and parse loop, reading the file, the checks that span directives, and
 * freeing it. Errors name the place: "FILE:LINE: message". */
#ifndef HOPSOCKS_CONFIG_LOAD_H
#define HOPSOCKS_CONFIG_LOAD_H

#include <stddef.h>

#include "config/config.h"

/* Defaults: no listen address yet (config_finish adds the default one),
 * workers 0, handshake 10 s, connect 10 s, idle 5 min, log info, access
 * log on, dns cache 1024 entries, max TTL 5 min, no access rules,
 * destination guard off, no per-client or per-user limit, auth-throttle
 * 10 failures in 1 min block for 5 min, no admin listener, no privilege
 * drop, drain 10 s, reload-keep-sessions off. */
void config_init(struct config *cfg);
void config_free(struct config *cfg);

/* Parse a whole config text. name is used in error messages. On error
 * returns -1 and writes "name:LINE: message" into err. Directives add to or
 * override what cfg already holds, so defaults come from config_init. */
int config_parse_text(struct config *cfg, const char *name, const char *text, size_t len, char *err,
		      size_t errlen);
/* Read and parse a file. Errors as above; an unreadable file is
 * "path: strerror". */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);

/* Cross-directive checks and defaults after parsing and command-line
 * overrides: adds 127.0.0.1:1080 when nothing listens, validates. Refuses
 * an open relay: a listen address beyond loopback with neither a user file
 * nor an allow rule that admits clients beyond loopback. */
int config_finish(struct config *cfg, char *err, size_t errlen);

/* Replace (not add to) the listen list: the command line's -l does this. */
int config_set_listen(struct config *cfg, const struct config_addr *addrs, size_t n);

#endif
