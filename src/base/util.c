/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
#include "base/util.h"

#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t util_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int util_listen_tcp(const struct sockaddr *addr, socklen_t len, int backlog)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	/* [::]:1080 should mean IPv6 only; 0.0.0.0:1080 is its own listen line. */
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, addr, len) < 0 || listen(fd, backlog) < 0)
		goto fail;
	return fd;
fail:;
	int err = errno;
	close(fd);
	return -err;
}

const char *util_strerror(int err, char *buf, size_t cap)
{
	if (err < 0)
		err = -err;
	/* GNU strerror_r may return a static string instead of filling buf. */
	return strerror_r(err, buf, cap);
}

/* ---- AF_INET/AF_INET6 socket addresses ---- */

uint16_t util_sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

void util_sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

socklen_t util_sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

const uint8_t *util_sa_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

bool util_sa_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	return memcmp(util_sa_addr(a), util_sa_addr(b), a->ss_family == AF_INET ? 4 : 16) == 0;
}

bool util_sa_is_loopback(const struct sockaddr_storage *ss)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *ip = util_sa_addr(ss);

	if (ss->ss_family == AF_INET)
		return ip[0] == 127;
	if (ss->ss_family != AF_INET6)
		return false;
	if (memcmp(ip, v4mapped, 12) == 0)
		return ip[12] == 127;
	return memcmp(ip, &in6addr_loopback, 16) == 0;
}
