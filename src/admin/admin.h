/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The admin listener: a small HTTP/1.x server on its own thread and loop,
 * on its own address (config "admin ADDR:PORT"), never on a SOCKS port.
 *
 *   GET /         the status page: self-contained HTML, refreshes itself
 *   GET /metrics  Prometheus text exposition format 0.0.4
 *   GET /health   200 "ok"
 *
 * HEAD is answered like GET without the body; other methods get 405, other
 * paths 404, a request header over ADMIN_REQUEST_MAX bytes 431, a client
 * that has not sent its request within ADMIN_TIMEOUT_MS is dropped, and at
 * most ADMIN_MAX_CONNS connections are served at once (the rest wait in
 * the listen backlog). One request per connection ("Connection: close").
 *
 * The page (admin_html.c) and the metrics (admin_format.c) are rendered
 * from a struct admin_view that admin.c fills from the shared counters
 * (stats.h),
 * the current configuration snapshot (listen addresses, chains) and its
 * hop health; the admin thread never touches a worker's private state. */
#ifndef HOPSOCKS_ADMIN_H
#define HOPSOCKS_ADMIN_H

#include <stddef.h>

struct server;
struct admin;

#define ADMIN_TIMEOUT_MS  5000 /* from accept to the whole request */
#define ADMIN_MAX_CONNS	  16

/* Bind cfg->admin of the server's current snapshot and start the admin
 * thread: admin_open() then admin_run(). Returns NULL with err empty when
 * no admin listener is configured, NULL with a message ("admin
 * 127.0.0.1:9000: Address already in use") when it cannot start. */
struct admin *admin_start(struct server *srv, char *err, size_t errlen);

/* The same in two steps, for a daemon that binds everything before it
 * forks and drops privileges, and starts threads only after:
 * admin_open() binds the socket (no thread, no loop; NULL and err as
 * above), admin_run() creates the loop and starts the thread (0, or -1
 * with a message in err; then still admin_stop() the listener). Call
 * admin_run() from a thread that has the signals blocked (the admin
 * thread inherits the mask), after any fork. */
struct admin *admin_open(struct server *srv, char *err, size_t errlen);
int admin_run(struct admin *a, char *err, size_t errlen);

/* Stop the thread (if running), close every admin connection and the
 * listener, free. NULL is a no-op. Call before the server's snapshot and
 * stats go away. */
void admin_stop(struct admin *a);

#endif
