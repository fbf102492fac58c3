/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The admin listener's status page (admin_html.c): self-contained HTML
 * rendered from a struct admin_view. Pure, like admin_format.h. */
#ifndef HOPSOCKS_ADMIN_HTML_H
#define HOPSOCKS_ADMIN_HTML_H

#include <stdbool.h>

#include "admin/admin_format.h"

#define ADMIN_REFRESH_S 5 /* the status page reloads itself this often */

/* The / page; false when out of memory. */
bool admin_format_html(const struct admin_view *v, struct admin_buf *out);

#endif
