/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Resolve, then connect to each address in turn. See dial.h. */
#include "net/dial.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/stats.h"
#include "net/net_ctx.h"
#include "policy/acl.h"

/* How long a dial waits for a descriptor before it tries again. */
#define DIAL_FD_RETRY_MS 100

static void dial_next(struct dial *d);

static void dial_close_socket(struct dial *d)
{
	loop_io_del(d->net->loop, &d->io);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* End the dial and tell the owner. The owner may free d from inside fn
 * (through a deferred free), so nothing touches d afterwards. */
static void dial_finish(struct dial *d, int fd, int err)
{
	loop_timer_cancel(d->net->loop, &d->timer);
	free(d->addrs);
	d->addrs = NULL;
	d->active = false;
	d->fn(d, d->arg, fd, err);
}

/* No address is left to try. Inside dial_start the owner is not told yet:
 * dial_start reports it from a zero timer, so the owner is never called
 * back before dial_start returns. */
static void dial_give_up(struct dial *d, int err)
{
	if (d->starting) {
		d->last_err = err;
		d->early_fail = true;
		return;
	}
	dial_finish(d, -1, err);
}

static void dial_succeed(struct dial *d)
{
	int fd = d->fd;
	/* The socket stays registered: the owner moves it to its own handler
	 * (one epoll_ctl instead of two). */
	d->fd = -1;
	dial_finish(d, fd, 0);
}

static void dial_on_writable(struct loop *loop, void *arg, unsigned events)
{
	struct dial *d = arg;
	int err = 0;
	socklen_t len = sizeof(err);
	/* Writable without an error or hang-up is a completed connect; only
	 * then is SO_ERROR worth a syscall. */
	if ((events & LOOP_ERROR) &&
	    getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	/* A reset means the connection was made and then torn down by a
	 * target that closed at once: that is the target's answer, which the
	 * client hears through the relay, not a failure to connect. */
	if (err == 0 || err == ECONNRESET || err == EPIPE) {
		dial_succeed(d);
		return;
	}
	d->last_err = err;
	dial_close_socket(d);
	dial_next(d);
}

static void dial_on_timer(struct loop *loop, void *arg)
{
	struct dial *d = arg;
	if (d->waiting_fd) {
		d->waiting_fd = false;
		dial_next(d); /* the same address again */
		return;
	}
	d->last_err = ETIMEDOUT;
	if (d->query) {
		/* The resolver has its own timeouts; this is the overall deadline. */
		resolver_cancel(d->query);
		d->query = NULL;
		d->failed_in_dns = true;
		dial_finish(d, -1, ETIMEDOUT);
		return;
	}
	dial_close_socket(d);
	if (!d->addrs || loop_now_ms(loop) >= d->deadline_ms) {
		dial_finish(d, -1, ETIMEDOUT);
		return;
	}
	dial_next(d); /* this address's share of the time is over */
}

/* Give each remaining address an equal share of the time that is left, so
 * one black-holed address cannot eat the whole deadline. */
static void dial_arm_attempt_timer(struct dial *d)
{
	struct loop *loop = d->net->loop;
	uint64_t now = loop_now_ms(loop);
	size_t left = d->addrs->n - d->next + 1;
	uint64_t remaining = d->deadline_ms > now ? d->deadline_ms - now : 0;
	loop_timer_set(loop, &d->timer, remaining / left);
}

int dial_bind_source(int fd, const struct config_source *src, bool stream)
{
	struct sockaddr_storage ss;
	uint8_t rnd[16] = { 0 };
	int one = 1;
	bool v4 = src->addr.ss.ss_family == AF_INET;

	if (src->random_prefix) {
		/* A guessable source would let a target link connections the
		 * random prefix exists to keep apart. */
		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
			return -EAGAIN;
		/* The prefix is routed to this host (a local route), not
		 * configured address by address. */
		if (setsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_FREEBIND : IPV6_FREEBIND,
			       &one, sizeof(one)) < 0)
			return -errno;
	}
	socklen_t len = route_source_address(src, rnd, &ss);
	/* Choose the port at connect time, not at bind: binding with port 0
	 * would search the port space for every socket. */
	if (stream)
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ss, len) < 0)
		return -errno;
	return 0;
}

static int dial_bind_outgoing(struct dial *d, int fd, int family)
{
	const struct config_source *src = family == AF_INET ? d->src.v4 : d->src.v6;
	return src ? dial_bind_source(fd, src, true) : 0;
}

/* The test seam of net_ctx.h: the connect as the fuzz target plays it. */
static int dial_connect_seam(struct dial *d, socklen_t len)
{
	int fd = d->net->connect_fn(d->net->connect_arg, (const struct sockaddr *)&d->addr, len);
	if (fd < 0)
		return fd;
	d->fd = fd;
	int rc = loop_io_add(d->net->loop, &d->io, fd, LOOP_WRITE);
	if (rc < 0)
		dial_close_socket(d);
	return rc;
}

/* Start a connect to one address: 0 = in progress, -errno = failed at once. */
static int dial_connect_one(struct dial *d, const struct resolve_addr *a)
{
	socklen_t len = resolve_addr_to_sockaddr(a, d->port, &d->addr);
	d->have_addr = true;
	/* Checked on the resolved address: a name that points at 127.0.0.1
	 * must not get past the guard that the literal would not. */
	if (d->client && acl_guard_blocks(d->cfg, d->client, (const struct sockaddr *)&d->addr)) {
		d->guard_refused = true;
		return -EACCES;
	}
	d->guard_refused = false; /* only a refusal of the last address counts */
	if (d->net->connect_fn)
		return dial_connect_seam(d, len);
	int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	d->fd = fd;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int rc = dial_bind_outgoing(d, fd, a->family);
	/* Even a loopback connect completes later on a non-blocking socket;
	 * success is only ever seen through EPOLLOUT + SO_ERROR. */
	if (rc == 0 && connect(fd, (const struct sockaddr *)&d->addr, len) < 0 &&
	    errno != EINPROGRESS)
		rc = -errno;
	if (rc == 0)
		rc = loop_io_add(d->net->loop, &d->io, fd, LOOP_WRITE);
	if (rc < 0)
		dial_close_socket(d);
	return rc;
}

/* Out of descriptors is this process's moment, not the address's fault
 * (the client was accepted the instant one came free, while the sessions
 * that are ending still hold the others): try the same address again a
 * little later, as the accept side pauses, until the deadline. */
static bool dial_wait_for_fd(struct dial *d, int rc)
{
	if (rc != -EMFILE && rc != -ENFILE)
		return false;
	if (loop_now_ms(d->net->loop) + DIAL_FD_RETRY_MS >= d->deadline_ms)
		return false;
	d->next--;
	d->waiting_fd = true;
	loop_timer_set(d->net->loop, &d->timer, DIAL_FD_RETRY_MS);
	return true;
}

static void dial_next(struct dial *d)
{
	while (d->next < d->addrs->n) {
		int rc = dial_connect_one(d, &d->addrs->addr[d->next++]);
		if (rc == 0) {
			dial_arm_attempt_timer(d);
			return;
		}
		if (dial_wait_for_fd(d, rc))
			return;
		d->last_err = -rc;
	}
	dial_give_up(d, d->last_err ? d->last_err : EHOSTUNREACH);
}

static void dial_try(struct dial *d, const struct resolve_result *res)
{
	d->addrs = malloc(sizeof(*d->addrs));
	if (!d->addrs) {
		dial_give_up(d, ENOMEM);
		return;
	}
	*d->addrs = *res;
	d->next = 0;
	dial_next(d);
}

static void dial_on_resolved(void *arg, int status, const struct resolve_result *res)
{
	struct dial *d = arg;
	struct stats *st = d->net->stats;
	d->query = NULL;
	if (status < 0) {
		stats_inc(st, dns_failures);
		d->failed_in_dns = true;
		dial_finish(d, -1, status == -ENOENT ? ENOENT : EIO);
		return;
	}
	dial_try(d, res);
}

static void dial_on_early_failure(struct loop *loop, void *arg)
{
	struct dial *d = arg;
	dial_finish(d, -1, d->last_err);
}

void dial_start(struct dial *d, struct net_ctx *net, const struct config *cfg,
		const struct sockaddr_storage *client, const struct route_source *src,
		const struct target *t, unsigned timeout_ms, dial_fn fn, void *arg)
{
	struct resolve_result res = { 0 };
	memset(d, 0, sizeof(*d));
	d->net = net;
	d->cfg = cfg;
	d->client = client;
	if (src)
		d->src = *src;
	else
		route_source_pick(cfg, NULL, NULL, &d->src);
	d->fn = fn;
	d->arg = arg;
	d->fd = -1;
	d->port = t->port;
	d->active = true;
	d->deadline_ms = loop_now_ms(net->loop) + timeout_ms;
	loop_io_init(&d->io, dial_on_writable, d);
	loop_timer_init(&d->timer, dial_on_timer, d);

	d->starting = true;
	if (t->type == TARGET_DOMAIN) {
		if (resolver_lookup_now(net->resolver, t->addr.domain, &res)) {
			stats_inc(net->stats, dns_cache_hits);
			dial_try(d, &res);
		} else {
			stats_inc(net->stats, dns_queries);
			loop_timer_set_at(net->loop, &d->timer, d->deadline_ms);
			d->query =
				resolver_lookup(net->resolver, t->addr.domain, dial_on_resolved, d);
			if (!d->query)
				dial_give_up(d, ENOMEM);
		}
	} else {
		res.n = 1;
		res.addr[0].family = t->type == TARGET_IPV4 ? AF_INET : AF_INET6;
		memcpy(res.addr[0].bytes, t->addr.ipv6, t->type == TARGET_IPV4 ? 4 : 16);
		dial_try(d, &res);
	}
	d->starting = false;
	if (d->early_fail) {
		loop_timer_cancel(net->loop, &d->timer);
		loop_timer_init(&d->timer, dial_on_early_failure, d);
		loop_timer_set(net->loop, &d->timer, 0);
	}
}

void dial_cancel(struct dial *d)
{
	if (!d->active)
		return;
	resolver_cancel(d->query);
	d->query = NULL;
	dial_close_socket(d);
	loop_timer_cancel(d->net->loop, &d->timer);
	free(d->addrs);
	d->addrs = NULL;
	d->active = false;
}
