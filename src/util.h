/* Small socket helpers shared by the server modules. */
#ifndef HOPSOCKS_UTIL_H
#define HOPSOCKS_UTIL_H

#include <stdint.h>
#include <sys/socket.h>

/* Monotonic clock in milliseconds. */
uint64_t util_monotonic_ms(void);

/* Create a non-blocking, close-on-exec listening TCP socket on addr with
 * SO_REUSEADDR and SO_REUSEPORT (each worker binds its own). Returns the
 * fd or -errno. */
int util_listen_tcp(const struct sockaddr *addr, socklen_t len, int backlog);

/* A short human description of -err for logs (thread-safe). */
const char *util_strerror(int err, char *buf, size_t cap);

#endif
