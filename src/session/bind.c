/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* BIND, for SOCKS4 and SOCKS5: open a listening socket, tell the client
 * where it is (first reply), wait for one connection from the application
 * server named in the request, tell the client who connected (second
 * reply), then relay like CONNECT. FTP active mode works this way.
 *
 *   request ──> BIND_WAIT [resolve DST] ──> listen ──first reply──> accept
 *           ──second reply──> RELAY
 */
#include "session/bind.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "net/resolve.h"
#include "policy/route.h"
#include "proto/socks5.h"
#include "session/session_core.h"

/* Pause after accept() fails for lack of descriptors. */
#define BIND_RETRY_MS 100

/* A few refused connections may queue while we wait for the right peer. */
#define BIND_BACKLOG 4
/* Any port: only used to ask the routing table which source address a
 * connection toward the peer would get; nothing is sent. */
#define BIND_PROBE_PORT 9

/* The source address the kernel would pick toward the expected peer: a
 * connected UDP socket tells us without a packet leaving the machine. */
static int bind_route_source(const struct sockaddr_storage *peer, struct sockaddr_storage *out)
{
	struct sockaddr_storage probe = *peer;
	util_sa_set_port(&probe, BIND_PROBE_PORT);
	int fd = socket(peer->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	socklen_t len = sizeof(*out);
	int rc = 0;
	if (connect(fd, (const struct sockaddr *)&probe, util_sa_len(&probe)) < 0 ||
	    getsockname(fd, (struct sockaddr *)out, &len) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Where to listen: bind-address for the family; else the address used
 * toward the peer; else (peer unknown) the local end of the control
 * connection, which the client can reach. */
static int bind_choose_addr(struct session *s, struct sockaddr_storage *out)
{
	const struct config *cfg = session_cfg(s);
	const struct sockaddr_storage *peer = &s->setup->peer;
	int family = peer->ss_family;
	if (family == AF_UNSPEC) {
		socklen_t len = sizeof(*out);
		if (getsockname(s->cfd, (struct sockaddr *)out, &len) < 0)
			return -errno;
		family = out->ss_family;
	}
	const struct config_addr *fixed =
		family == AF_INET ? &cfg->bind_addr_v4 : &cfg->bind_addr_v6;
	/* An outgoing address is where the application server sees our
	 * connections come from: FTP servers, for one, accept a data
	 * connection only from that same address. */
	if (!fixed->len) {
		/* The user's or the global one; a random source has no one
		 * address the server would expect. */
		struct route_source src;
		route_source_pick(cfg, NULL, s->authenticated ? session_user(s) : NULL, &src);
		const struct config_source *out_src = family == AF_INET ? src.v4 : src.v6;
		if (out_src && !out_src->random_prefix)
			fixed = &out_src->addr;
	}
	if (fixed->len) {
		memcpy(out, &fixed->ss, sizeof(*out));
		return 0;
	}
	if (peer->ss_family != AF_UNSPEC)
		return bind_route_source(peer, out);
	return 0;
}

/* Listen, and say where in bound (for the first reply). */
static int bind_listen(struct session *s, struct sockaddr_storage *bound)
{
	struct sockaddr_storage addr;
	int rc = bind_choose_addr(s, &addr);
	if (rc < 0)
		return rc;
	/* A SOCKS4 reply has room for an IPv4 address only; a "granted"
	 * naming 0.0.0.0:0 would send the client nowhere. */
	if (s->proto != P_SOCKS5 && addr.ss_family != AF_INET)
		return -EAFNOSUPPORT;
	util_sa_set_port(&addr, 0);
	int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	/* IPv4 peers must not arrive as ::ffff:a.b.c.d on an IPv6 socket. */
	if (addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	socklen_t len = sizeof(*bound);
	if (bind(fd, (const struct sockaddr *)&addr, util_sa_len(&addr)) < 0 ||
	    listen(fd, BIND_BACKLOG) < 0 || getsockname(fd, (struct sockaddr *)bound, &len) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	s->tfd = fd;
	return loop_io_add(session_loop(s), &s->tio, fd, LOOP_READ);
}

/* DST is known: listen and send the first reply. */
static void bind_ready(struct session *s)
{
	char where[64];
	struct sockaddr_storage bound;
	int rc = bind_listen(s, &bound);
	if (rc < 0) {
		if (rc == -EAFNOSUPPORT && s->proto != P_SOCKS5) {
			session_log(s, LOG_LVL_INFO,
				    "BIND: a SOCKS4 reply cannot name an IPv6 listening address");
		} else {
			char ebuf[64];
			session_log(s, LOG_LVL_WARN, "BIND: cannot listen: %s",
				    util_strerror(rc, ebuf, sizeof(ebuf)));
		}
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	sockaddr_format((const struct sockaddr *)&bound, where, sizeof(where));
	session_log(s, LOG_LVL_DEBUG, "BIND: listening on %s", where);
	if (!session_queue_success(s, (const struct sockaddr *)&bound)) {
		session_close(s, "error");
		return;
	}
	if (session_flush_client(s) < 0) {
		session_close(s, "reset");
		return;
	}
	session_update_interest(s);
}

static void bind_on_resolved(void *arg, int status, const struct resolve_result *res)
{
	struct session *s = arg;
	s->setup->query = NULL;
	if (status < 0) {
		stats_inc(s->ctx->net.stats, dns_failures);
		char name[LOG_ESC_SIZE(TARGET_DOMAIN_MAX)];

		session_log(s, LOG_LVL_INFO, "BIND: cannot resolve %s",
			    log_esc(name, sizeof(name), s->dst.addr.domain));
		session_fail(s, SOCKS5_REP_HOST_UNREACHABLE,
			     status == -ENOENT ? "not-found" : "dns-failed");
		return;
	}
	resolve_addr_to_sockaddr(&res->addr[0], s->dst.port, &s->setup->peer);
	bind_ready(s);
}

static bool bind_ip_unspecified(const struct target *t)
{
	static const uint8_t zero[16];
	return memcmp(t->addr.ipv6, zero, t->type == TARGET_IPV4 ? 4 : 16) == 0;
}

static void bind_on_retry(struct loop *loop, void *arg);

void bind_start(struct session *s)
{
	struct resolve_result res;

	/* The wait's state: freed when the peer is accepted or the session ends. */
	struct session_setup *su = session_setup_new(s);
	if (!su) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	loop_timer_init(&su->retry, bind_on_retry, s);
	/* One deadline for resolving DST and waiting for the peer. */
	loop_timer_set(session_loop(s), &s->timer, session_cfg(s)->timeout_bind_ms);
	session_set_state(s, S_BIND_WAIT);
	memset(&su->peer, 0, sizeof(su->peer)); /* AF_UNSPEC: any peer */

	if (s->dst.type != TARGET_DOMAIN) {
		struct target dst;
		target_compact_get(&s->dst, &dst);
		if (!bind_ip_unspecified(&dst))
			target_to_sockaddr(&dst, &su->peer);
		bind_ready(s);
		return;
	}
	if (resolver_lookup_now(s->ctx->net.resolver, s->dst.addr.domain, &res)) {
		bind_on_resolved(s, 0, &res);
		return;
	}
	stats_inc(s->ctx->net.stats, dns_queries);
	su->query = resolver_lookup(s->ctx->net.resolver, s->dst.addr.domain, bind_on_resolved, s);
	if (!su->query) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	session_update_interest(s);
}

/* By default only the host named in the request may connect; that is what
 * keeps a BIND port from being a door for anyone who finds it. */
static bool bind_peer_allowed(struct session *s, const struct sockaddr_storage *peer)
{
	const struct sockaddr_storage *want = &s->setup->peer;
	if (session_cfg(s)->bind_peer_any || want->ss_family == AF_UNSPEC)
		return true;
	return util_sa_same_ip(peer, want);
}

static void bind_accepted(struct session *s, int fd, const struct sockaddr_storage *peer,
			  socklen_t peerlen)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The listening socket has done its job. */
	loop_io_del(session_loop(s), &s->tio);
	close(s->tfd);
	s->tfd = fd;
	sockaddr_ip_set(&s->addr, (const struct sockaddr *)peer, peerlen); /* addr= in the log */
	stats_inc(s->ctx->net.stats, binds_accepted);
	if (loop_io_add(session_loop(s), &s->tio, fd, 0) < 0 ||
	    !session_queue_success(s, (const struct sockaddr *)peer)) {
		session_close(s, "error");
		return;
	}
	session_start_relay(s);
}

void bind_on_event(struct session *s, unsigned events)
{
	if (s->tfd < 0)
		return;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(s->tfd, (struct sockaddr *)&peer, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors: the pending connection keeps the
			 * socket readable, so stop polling it for a moment
			 * rather than spin; the bind deadline still applies. */
			char ebuf[64];
			session_log(s, LOG_LVL_WARN, "BIND: accept: %s; retrying in %d ms",
				    util_strerror(errno, ebuf, sizeof(ebuf)), BIND_RETRY_MS);
			loop_io_set(session_loop(s), &s->tio, 0);
			s->setup->bind_paused = true;
			loop_timer_set(session_loop(s), &s->setup->retry, BIND_RETRY_MS);
			return;
		}
		if (bind_peer_allowed(s, &peer)) {
			bind_accepted(s, fd, &peer, len);
			return;
		}
		char who[64], want[64];
		sockaddr_format((const struct sockaddr *)&peer, who, sizeof(who));
		sockaddr_format((const struct sockaddr *)&s->setup->peer, want, sizeof(want));
		session_log(s, LOG_LVL_WARN, "BIND: refused a connection from %s (expected %s)",
			    who, want);
		stats_inc(s->ctx->net.stats, binds_refused);
		close(fd);
	}
}

/* The retry timer is the setup's: it only fires while the setup exists. */
static void bind_on_retry(struct loop *loop, void *arg)
{
	struct session *s = arg;
	s->setup->bind_paused = false;
	if (s->state == S_BIND_WAIT && s->tfd >= 0) {
		session_update_interest(s);
		bind_on_event(s, LOOP_READ);
	}
}

void bind_stop_listening(struct session *s)
{
	if (s->setup)
		loop_timer_cancel(session_loop(s), &s->setup->retry);
	loop_io_del(session_loop(s), &s->tio);
	if (s->tfd >= 0)
		close(s->tfd);
	s->tfd = -1;
}
