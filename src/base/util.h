/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Small socket helpers shared by the server modules. */
#ifndef HOPSOCKS_UTIL_H
#define HOPSOCKS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The struct of the given type whose member is at ptr: how an owner finds
 * itself from the member it handed to a lower layer's callback. */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Monotonic clock in milliseconds. */
uint64_t util_monotonic_ms(void);

/* Create a non-blocking, close-on-exec listening TCP socket on addr with
 * SO_REUSEADDR and SO_REUSEPORT (each worker binds its own). Returns the
 * fd or -errno. */
int util_listen_tcp(const struct sockaddr *addr, socklen_t len, int backlog);

/* A short human description of -err for logs (thread-safe). */
const char *util_strerror(int err, char *buf, size_t cap);

/* AF_INET / AF_INET6 addresses in a sockaddr_storage: port (host order),
 * length for bind/connect/sendto, the raw address bytes (4 or 16), and
 * whether two hold the same IP (ports ignored). */
uint16_t util_sa_port(const struct sockaddr_storage *ss);
void util_sa_set_port(struct sockaddr_storage *ss, uint16_t port);
socklen_t util_sa_len(const struct sockaddr_storage *ss);
const uint8_t *util_sa_addr(const struct sockaddr_storage *ss);
bool util_sa_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* Is it a loopback address: 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104? */
bool util_sa_is_loopback(const struct sockaddr_storage *ss);

#endif
