/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Running as a service: the admin listener, privilege drop, drain and
 * what a reload keeps (config_service.c). */
#ifndef HOPSOCKS_CONFIG_SERVICE_H
#define HOPSOCKS_CONFIG_SERVICE_H

#include <stddef.h>

#include "config/config.h"
#include "config/config_parse.h"

int config_do_admin(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_user(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_group(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_drain(struct parse_state *ps, char *const *argv, char *err, size_t errlen);
int config_do_reload_keep_sessions(struct parse_state *ps, char *const *argv, char *err,
				   size_t errlen);
/* config_finish: the admin listener shares no port with a listen address. */
int config_service_check(const struct config *cfg, char *err, size_t errlen);

#endif
