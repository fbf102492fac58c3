/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Carrying out a request once it is parsed: the access rules and the
 * connection limits first, then the command. See session_cmd.h.
 *
 *   run command ─┬─> CONNECT: direct (dial.c) or through a chain (chain.c) ──> RELAY
 *                ├─> BIND (bind.c) ──> RELAY
 *                └─> UDP ASSOCIATE (udp.c), direct or through a chain,
 *                    until the control connection ends */
#include "session/session_cmd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "net/resolve.h"
#include "policy/acl.h"
#include "policy/connlimit.h"
#include "policy/route.h"
#include "proto/socks5.h"
#include "session/bind.h"
#include "session/chain.h"
#include "session/session_core.h"
#include "session/udp.h"

/* ---- CONNECT ---- */

/* The access log's result word for the REP a failed command got. */
static const char *result_from_rep(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_NOT_ALLOWED:
		return "denied";
	case SOCKS5_REP_NET_UNREACHABLE:
	case SOCKS5_REP_HOST_UNREACHABLE:
		return "unreachable";
	case SOCKS5_REP_CONN_REFUSED:
		return "refused";
	case SOCKS5_REP_TTL_EXPIRED:
		return "timeout";
	case SOCKS5_REP_CMD_NOT_SUPPORTED:
	case SOCKS5_REP_ATYP_NOT_SUPPORTED:
		return "unsupported";
	default:
		return "error";
	}
}

static void session_connected(struct session *s)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	stats_inc(s->ctx->net.stats, connects_ok);
	if (getsockname(s->tfd, (struct sockaddr *)&local, &len) < 0)
		memset(&local, 0, sizeof(local));
	/* BND.ADDR/PORT: the address our outgoing connection uses. */
	if (!session_queue_success(s, (const struct sockaddr *)&local)) {
		session_close(s, "error");
		return;
	}
	session_start_relay(s);
}

/* The destination guard refused the address a name resolved to. */
static void session_deny_guard(struct session *s, const char *target)
{
	session_log(s, LOG_LVL_INFO, "denied connect to %s by destination guard", target);
	stats_inc(s->ctx->net.stats, denied);
	s->deny_reason = "destination guard";
	session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied");
}

static void session_dial_failed(struct session *s, const struct dial *d, int err)
{
	char ebuf[64], target[TARGET_TEXT_MAX];
	target_compact_format(&s->dst, target, sizeof(target));
	if (d->failed_in_dns) {
		const char *why = err == ENOENT	     ? "name not found"
				  : err == ETIMEDOUT ? "timed out"
						     : "resolver failure";
		session_log(s, LOG_LVL_INFO, "cannot resolve %s: %s", target, why);
		session_fail(s, SOCKS5_REP_HOST_UNREACHABLE,
			     err == ENOENT ? "not-found" : "dns-failed");
		return;
	}
	if (d->guard_refused) {
		session_deny_guard(s, target);
		return;
	}
	uint8_t rep = socks5_rep_from_errno(err);
	session_log(s, LOG_LVL_INFO, "connect to %s failed: %s", target,
		    util_strerror(err, ebuf, sizeof(ebuf)));
	stats_inc(s->ctx->net.stats, connects_failed);
	session_fail(s, rep, result_from_rep(rep));
}

static void session_on_dialed(struct dial *d, void *arg, int fd, int err)
{
	struct session *s = arg;
	if (fd < 0) {
		session_dial_failed(s, d, err);
		return;
	}
	s->tfd = fd;
	loop_io_move(session_loop(s), &d->io, &s->tio); /* session_connected sets its interest */
	session_connected(s);
}

static void session_on_tunnel(struct chain_tunnel *t, void *arg, int fd, uint8_t rep)
{
	struct session *s = arg;
	if (fd < 0) {
		char target[TARGET_TEXT_MAX];
		target_compact_format(&s->dst, target, sizeof(target));
		if (t->guard_refused) {
			session_deny_guard(s, target);
			return;
		}
		session_log(s, LOG_LVL_INFO, "chain %s to %s failed: %s", t->chain->name, target,
			    t->why);
		stats_inc(s->ctx->net.stats, connects_failed);
		session_fail(s, rep, result_from_rep(rep));
		return;
	}
	s->tfd = fd;
	if (loop_io_add(session_loop(s), &s->tio, fd, 0) < 0) {
		session_close(s, "error");
		return;
	}
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		memset(&local, 0, sizeof(local));
	stats_inc(s->ctx->net.stats, connects_ok);
	if (!session_queue_success(s, (const struct sockaddr *)&local)) {
		session_close(s, "error");
		return;
	}
	/* What the last hop sent right after its reply is the target's first
	 * bytes: they follow our reply. */
	struct buf *extra = chain_take_leftover(t);
	if (extra) {
		buf_append(s->relay.buf[RELAY_DOWN], buf_head(extra), buf_len(extra));
		buf_put(session_pool(s), extra);
	}
	session_start_relay(s);
}

/* What a command needs could not be allocated: 01 to the client, and a
 * warning, or the log would show result=error with no reason
 * (tests/integration/test_faults.py). */
static void session_fail_no_memory(struct session *s)
{
	session_log(s, LOG_LVL_WARN, "out of memory setting up the command");
	session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
}

/* The request is accepted: the handshake deadline ends here. The connect
 * deadline (resolution included) lives in the dial, or in the tunnel when
 * a route sends the target through a chain. */
static void session_start_connect(struct session *s)
{
	struct target dst;
	target_compact_get(&s->dst, &dst);
	loop_timer_cancel(session_loop(s), &s->timer);
	session_set_state(s, S_CONNECT);
	/* The first matching rule: its chain (route_match's answer), and the
	 * source it gives, which "direct" rules may give too. */
	const struct config_route *rule = route_find(session_cfg(s), &dst);
	const struct config_route *route = rule && rule->chain >= 0 ? rule : NULL;
	s->route = route ? session_cfg(s)->chains[route->chain].name : "direct";
	struct route_source src;
	route_source_pick(session_cfg(s), rule, s->authenticated ? session_user(s) : NULL, &src);
	struct session_setup *su = session_setup_new(s);
	if (!su) {
		session_fail_no_memory(s);
		return;
	}
	if (route && route->chain >= 0) {
		su->tunnel = malloc(sizeof(*su->tunnel));
		if (!su->tunnel) {
			session_fail_no_memory(s);
			return;
		}
		chain_start(su->tunnel, &s->ctx->net, s->snap, (size_t)route->chain, &dst,
			    &su->client, &src, session_on_tunnel, s);
	} else {
		dial_start(&su->dial, &s->ctx->net, session_cfg(s), &su->client, &src, &dst,
			   session_cfg(s)->timeout_connect_ms, session_on_dialed, s);
	}
	session_update_interest(s);
}

/* ---- UDP ASSOCIATE ---- */

/* Open the association (through an upstream relay when relay is set),
 * answer the client and wait in S_UDP. */
static void session_udp_open(struct session *s, const struct sockaddr_storage *relay)
{
	int err;
	struct sockaddr_storage bnd, client;
	struct target dst;

	/* The association copies both; it keeps a pointer to the user name,
	 * which lives as long as the session. */
	sockaddr_ip_to_storage(&s->client, &client);
	target_compact_get(&s->dst, &dst);
	if (relay)
		s->udp = udp_assoc_new_upstream(s->ctx, session_cfg(s),
						s->authenticated ? session_user(s) : NULL, s->cfd,
						&client, &dst, relay, &err);
	else
		s->udp = udp_assoc_new(s->ctx, session_cfg(s),
				       s->authenticated ? session_user(s) : NULL, s->cfd, &client,
				       &dst, &err);
	if (!s->udp) {
		char ebuf[64];
		session_log(s, LOG_LVL_WARN, "cannot open a UDP relay socket: %s",
			    util_strerror(err, ebuf, sizeof(ebuf)));
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	stats_inc(s->ctx->net.stats, udp_associations);
	/* Through a chain: the association has its own socket to the hop's
	 * relay now, so the tunnel can go (relay points into it, and stays
	 * readable until the deferred free at the end of this round). */
	session_setup_end(s);
	udp_assoc_reply_addr(s->udp, &bnd);
	if (!session_queue_success(s, (const struct sockaddr *)&bnd)) {
		session_close(s, "error");
		return;
	}
	s->result = "ok";
	session_set_state(s, S_UDP);
	/* Whatever the client sent after the request on the control
	 * connection means nothing to us. */
	buf_consume(s->relay.buf[RELAY_UP], buf_len(s->relay.buf[RELAY_UP]));
	unsigned idle = session_cfg(s)->timeout_udp_idle_ms;
	if (idle)
		loop_timer_set(session_loop(s), &s->timer, idle);
	if (session_flush_client(s) < 0) {
		session_close(s, "reset");
		return;
	}
	session_update_interest(s);
}

static void session_on_udp_tunnel(struct chain_tunnel *t, void *arg, int fd, uint8_t rep)
{
	struct session *s = arg;
	if (fd < 0) {
		session_log(s, LOG_LVL_INFO, "UDP through chain %s failed: %s", t->chain->name,
			    t->why);
		session_fail(s, rep, result_from_rep(rep));
		return;
	}
	/* The upstream association lives as long as this connection. */
	s->tfd = fd;
	buf_put(session_pool(s), chain_take_leftover(t));
	if (loop_io_add(session_loop(s), &s->tio, fd, 0) < 0) {
		session_close(s, "error");
		return;
	}
	session_udp_open(s, &t->udp_relay);
}

/* UDP ASSOCIATE's DST is the client's own address, not a destination, so
 * the route is the one its DST matches: in practice the catch-all rule. */
static void session_udp_start(struct session *s)
{
	struct target dst;
	target_compact_get(&s->dst, &dst);
	loop_timer_cancel(session_loop(s), &s->timer);
	const struct config_route *route = route_match(session_cfg(s), &dst);
	s->route = route ? session_cfg(s)->chains[route->chain].name : "direct";
	if (!route) {
		session_udp_open(s, NULL);
		return;
	}
	struct session_setup *su = session_setup_new(s);
	if (su)
		su->tunnel = malloc(sizeof(*su->tunnel));
	if (!su || !su->tunnel) {
		session_fail_no_memory(s);
		return;
	}
	session_set_state(s, S_CONNECT);
	chain_start_udp(su->tunnel, &s->ctx->net, s->snap, (size_t)route->chain,
			session_on_udp_tunnel, s);
	session_update_interest(s);
}

/* The control connection of an association: it carries nothing, and its
 * end (or an error) ends the association (RFC 1928, section 7). */
void session_on_udp_control(struct session *s)
{
	if (session_discard_input(s->cfd)) {
		session_close(s, "ok");
		return;
	}
	if (session_flush_client(s) < 0) {
		session_close(s, "reset");
		return;
	}
	session_update_interest(s);
}

/* The upstream's control connection carries nothing either; when the
 * upstream closes it, its relay is gone and so is our association. */
void session_on_udp_upstream(struct session *s)
{
	if (!session_discard_input(s->tfd))
		return;
	session_log(s, LOG_LVL_INFO, "the upstream ended the UDP association");
	session_close(s, "upstream-closed");
}

/* ---- RESOLVE and RESOLVE_PTR (Tor's extensions, as torsocks uses them) ----
 *
 * A name in, its address out (or an address in, its name out), then the
 * connection closes, as Tor does. Routed like a CONNECT to the same
 * destination: direct, the worker's resolver answers; through a chain
 * whose last hop is socks5h the question goes to that hop, so a name
 * routed to Tor is never looked up here. The destination guard applies to
 * the address asked about and to every address answered. */

/* The answer: 05 00 00 with the address (or the name) in BND, port 0. */
static void session_resolve_answer(struct session *s, const struct target *answer)
{
	uint8_t msg[SOCKS5_REPLY_MAX];
	struct sockaddr_storage ss;
	ssize_t n = socks5_encode_reply_target(msg, sizeof(msg), SOCKS5_REP_SUCCEEDED, answer);

	session_setup_end(s);
	if (n < 0) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	/* addr= in the access line: the address given, or found. */
	if (answer->type != TARGET_DOMAIN && target_to_sockaddr(answer, &ss) > 0)
		sockaddr_ip_set(&s->addr, (const struct sockaddr *)&ss, sizeof(ss));
	session_reply_and_close(s, msg, (size_t)n, "ok");
}

static void session_resolve_failed(struct session *s, int status)
{
	char target[TARGET_TEXT_MAX];
	target_compact_format(&s->dst, target, sizeof(target));
	session_log(s, LOG_LVL_INFO, "cannot %s %s: %s",
		    s->cmd == SOCKS5_CMD_RESOLVE ? "resolve" : "find the name of", target,
		    status == -ENOENT	   ? "name not found"
		    : status == -ETIMEDOUT ? "timed out"
					   : "resolver failure");
	stats_inc(s->ctx->net.stats, dns_failures);
	session_setup_end(s);
	session_fail(s, SOCKS5_REP_HOST_UNREACHABLE,
		     status == -ENOENT ? "not-found" : "dns-failed");
}

/* The guard refused the address asked about, or every address answered. */
static void session_resolve_guarded(struct session *s)
{
	char target[TARGET_TEXT_MAX];
	target_compact_format(&s->dst, target, sizeof(target));
	session_setup_end(s);
	session_deny_guard(s, target);
}

/* The first answered address (address-order applied) the guard allows. */
static void session_on_resolved_name(void *arg, int status, const struct resolve_result *res)
{
	struct session *s = arg;
	struct sockaddr_storage client;

	if (s->setup)
		s->setup->query = NULL;
	if (status < 0 || res->n == 0) {
		session_resolve_failed(s, status < 0 ? status : -ENOENT);
		return;
	}
	sockaddr_ip_to_storage(&s->client, &client);
	for (size_t i = 0; i < res->n; i++) {
		struct sockaddr_storage ss;
		struct target answer;
		resolve_addr_to_sockaddr(&res->addr[i], 0, &ss);
		if (acl_guard_blocks(session_cfg(s), &client, (const struct sockaddr *)&ss))
			continue;
		target_from_sockaddr(&answer, (const struct sockaddr *)&ss);
		session_resolve_answer(s, &answer);
		return;
	}
	session_resolve_guarded(s);
}

static void session_on_resolved_addr(void *arg, int status, const char *name)
{
	struct session *s = arg;
	struct target answer = { .type = TARGET_DOMAIN };
	size_t len = name ? strlen(name) : 0;

	if (s->setup)
		s->setup->query = NULL;
	if (status < 0 || len == 0 || len > TARGET_DOMAIN_MAX) {
		session_resolve_failed(s, status < 0 ? status : -ENOENT);
		return;
	}
	answer.domain_len = (uint8_t)len;
	memcpy(answer.addr.domain, name, len + 1);
	session_resolve_answer(s, &answer);
}

/* Ask the worker's resolver: forward for RESOLVE (a literal answers
 * itself, as Tor does), reverse for RESOLVE_PTR. */
static void session_resolve_here(struct session *s)
{
	struct target dst;
	struct resolve_result res;
	struct session_setup *su = session_setup_new(s);

	target_compact_get(&s->dst, &dst);
	if (!su) {
		session_fail_no_memory(s);
		return;
	}
	if (s->cmd == SOCKS5_CMD_RESOLVE && dst.type != TARGET_DOMAIN) {
		session_resolve_answer(s, &dst);
		return;
	}
	if (s->cmd == SOCKS5_CMD_RESOLVE_PTR) {
		struct resolve_addr a = { .family = dst.type == TARGET_IPV4 ? AF_INET : AF_INET6 };
		memcpy(a.bytes, dst.type == TARGET_IPV4 ? dst.addr.ipv4 : dst.addr.ipv6,
		       dst.type == TARGET_IPV4 ? 4 : 16);
		stats_inc(s->ctx->net.stats, dns_queries);
		su->query = resolver_reverse(s->ctx->net.resolver, &a, session_on_resolved_addr, s);
	} else if (resolver_lookup_now(s->ctx->net.resolver, dst.addr.domain, &res)) {
		stats_inc(s->ctx->net.stats, dns_cache_hits);
		session_on_resolved_name(s, 0, &res);
		return;
	} else {
		stats_inc(s->ctx->net.stats, dns_queries);
		su->query = resolver_lookup(s->ctx->net.resolver, dst.addr.domain,
					    session_on_resolved_name, s);
	}
	if (!su->query) {
		session_fail_no_memory(s);
		return;
	}
	loop_timer_set(session_loop(s), &s->timer, session_cfg(s)->timeout_connect_ms);
	session_update_interest(s);
}

static void session_on_resolve_tunnel(struct chain_tunnel *t, void *arg, int fd, uint8_t rep)
{
	struct session *s = arg;
	if (fd < 0) {
		char target[TARGET_TEXT_MAX];
		target_compact_format(&s->dst, target, sizeof(target));
		session_log(s, LOG_LVL_INFO, "%s of %s through chain %s failed: %s",
			    s->cmd == SOCKS5_CMD_RESOLVE ? "RESOLVE" : "RESOLVE_PTR", target,
			    t->chain->name, t->why);
		session_setup_end(s);
		session_fail(s, rep, result_from_rep(rep));
		return;
	}
	close(fd); /* the question was the last hop's to answer, or ours */
	if (t->resolve_here) {
		session_resolve_here(s);
		return;
	}
	struct target answer = t->resolved;
	if (s->cmd == SOCKS5_CMD_RESOLVE) {
		/* The hop's address passes the guard as our own answer would. */
		struct sockaddr_storage ss, client;
		sockaddr_ip_to_storage(&s->client, &client);
		if (answer.type == TARGET_DOMAIN || target_to_sockaddr(&answer, &ss) <= 0) {
			session_log(s, LOG_LVL_INFO,
				    "RESOLVE through chain %s: the last hop answered "
				    "no address",
				    t->chain->name);
			session_setup_end(s);
			session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
			return;
		}
		if (acl_guard_blocks(session_cfg(s), &client, (const struct sockaddr *)&ss)) {
			session_resolve_guarded(s);
			return;
		}
	} else if (answer.type != TARGET_DOMAIN) {
		session_log(s, LOG_LVL_INFO,
			    "RESOLVE_PTR through chain %s: the last hop answered "
			    "no name",
			    t->chain->name);
		session_setup_end(s);
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	answer.port = 0;
	session_resolve_answer(s, &answer);
}

static void session_resolve_start(struct session *s)
{
	struct target dst;
	struct sockaddr_storage ss, client;

	target_compact_get(&s->dst, &dst);
	loop_timer_cancel(session_loop(s), &s->timer);
	session_set_state(s, S_RESOLVE);
	if (s->cmd == SOCKS5_CMD_RESOLVE_PTR) {
		/* Asking an address's name reaches its network's DNS: guarded
		 * like a CONNECT to the address. */
		sockaddr_ip_to_storage(&s->client, &client);
		if (dst.type == TARGET_DOMAIN || target_to_sockaddr(&dst, &ss) <= 0) {
			session_log(s, LOG_LVL_INFO, "RESOLVE_PTR needs an address, not a name");
			session_fail(s, SOCKS5_REP_ATYP_NOT_SUPPORTED, "bad-request");
			return;
		}
		if (acl_guard_blocks(session_cfg(s), &client, (const struct sockaddr *)&ss)) {
			session_resolve_guarded(s);
			return;
		}
	}
	const struct config_route *route = route_match(session_cfg(s), &dst);
	s->route = route ? session_cfg(s)->chains[route->chain].name : "direct";
	if (!route || route->chain < 0 || session_cfg(s)->chains[route->chain].resolve_local) {
		session_resolve_here(s);
		return;
	}
	struct session_setup *su = session_setup_new(s);
	if (su)
		su->tunnel = malloc(sizeof(*su->tunnel));
	if (!su || !su->tunnel) {
		session_fail_no_memory(s);
		return;
	}
	chain_start_resolve(su->tunnel, &s->ctx->net, s->snap, (size_t)route->chain, s->cmd, &dst,
			    session_on_resolve_tunnel, s);
	session_update_interest(s);
}

/* ---- commands ---- */

/* The per-command counters' index; RESOLVE_PTR counts with RESOLVE. */
static unsigned stats_cmd_of(uint8_t cmd)
{
	switch (cmd) {
	case SOCKS5_CMD_BIND:
		return STATS_CMD_BIND;
	case SOCKS5_CMD_UDP_ASSOCIATE:
		return STATS_CMD_UDP;
	case SOCKS5_CMD_RESOLVE:
	case SOCKS5_CMD_RESOLVE_PTR:
		return STATS_CMD_RESOLVE;
	default:
		return STATS_CMD_CONNECT;
	}
}

/* RESOLVE asks about a destination as a CONNECT to it would: rules with
 * `command connect` apply to it. */
static unsigned acl_command_of(uint8_t cmd)
{
	switch (cmd) {
	case SOCKS5_CMD_BIND:
		return ACL_CMD_BIND;
	case SOCKS5_CMD_UDP_ASSOCIATE:
		return ACL_CMD_UDP;
	default:
		return ACL_CMD_CONNECT;
	}
}

/* Access rules, before anything is resolved or connected. For UDP the
 * request's DST is the client's own address, not a destination: each
 * datagram's destination is checked instead (udp.c). */
static bool session_acl_allows(struct session *s)
{
	struct sockaddr_storage client;
	struct target dst;
	sockaddr_ip_to_storage(&s->client, &client);
	target_compact_get(&s->dst, &dst);
	struct acl_request req = {
		.client = &client,
		.user = s->authenticated ? session_user(s) : NULL,
		.command = acl_command_of(s->cmd),
		.dst = s->cmd == SOCKS5_CMD_UDP_ASSOCIATE ? NULL : &dst,
	};
	struct acl_verdict v = acl_check(session_cfg(s), &req);
	if (v.allow)
		return true;
	char target[TARGET_TEXT_MAX];
	target_format(&dst, target, sizeof(target));
	session_log(s, LOG_LVL_INFO, "denied %s to %s by %s",
		    s->cmd == SOCKS5_CMD_BIND		 ? "bind"
		    : s->cmd == SOCKS5_CMD_UDP_ASSOCIATE ? "udp"
							 : "connect",
		    target, v.why);
	stats_inc(s->ctx->net.stats, denied);
	s->deny_reason = v.why;
	session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied");
	return false;
}

/* The per-user session limit, once the request runs; the slot is given
 * back when the session ends. (The client's slot was taken at accept, in
 * session.c.) */
static bool session_take_slots(struct session *s)
{
	const struct config *cfg = session_cfg(s);

	if (!s->authenticated)
		return true;
	if (limits_take_user(s->ctx->shared->limits, session_user(s), cfg->max_per_user)) {
		s->holds_user_slot = true;
		return true;
	}
	session_log(s, LOG_LVL_WARN, "refused: max-connections-per-user reached");
	stats_inc(s->ctx->net.stats, refused_max_connections);
	s->busy = true; /* HTTP clients get 503 */
	session_fail(s, SOCKS5_REP_NOT_ALLOWED, "busy");
	return false;
}

void session_run_command(struct session *s)
{
	if (!session_acl_allows(s) || !session_take_slots(s))
		return;
	/* Counted by protocol, command and logged-in user until it ends. */
	if (s->cmd != SOCKS5_CMD_UDP_ASSOCIATE || s->proto == P_SOCKS5)
		stats_session_begin(s->ctx->net.stats, &s->sstats, (unsigned)s->proto - P_SOCKS4,
				    stats_cmd_of(s->cmd),
				    s->authenticated ? session_user(s) : NULL);
	switch (s->cmd) {
	case SOCKS5_CMD_CONNECT:
		session_start_connect(s);
		return;
	case SOCKS5_CMD_BIND:
		s->route = "direct"; /* BIND never goes through a chain */
		bind_start(s);
		return;
	case SOCKS5_CMD_UDP_ASSOCIATE:
		if (s->proto == P_SOCKS5) {
			session_udp_start(s);
			return;
		}
		break;
	case SOCKS5_CMD_RESOLVE:
	case SOCKS5_CMD_RESOLVE_PTR:
		session_resolve_start(s);
		return;
	default:
		break;
	}
	session_log(s, LOG_LVL_INFO, "command %u not supported", s->cmd);
	session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED, "unsupported");
}
