/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Access rules, connection limits, authentication throttling, the
 * destination guard and the open-relay check (config_acl.c). */
#ifndef HOPSOCKS_CONFIG_ACL_H
#define HOPSOCKS_CONFIG_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "config/config_parse.h"

/* The directive handlers (config_load.c's table): argv is NULL-terminated. */
int config_do_allow(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_deny(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_max_per_client(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_max_per_user(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_auth_throttle(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_destination_guard(struct parse_state *ps, char *const *argv, char *err,
				size_t errlen);
/* config_finish: rules that name users need a user file; no open relay. */
int config_acl_check(const struct config *cfg, char *err, size_t errlen);

/* Does some listen address accept clients from beyond this machine's
 * loopback (anything but 127.0.0.0/8 and ::1; the wildcards count)? */
bool config_listens_beyond_loopback(const struct config *cfg);

#endif
