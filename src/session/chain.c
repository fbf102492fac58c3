/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Building a tunnel through a chain of upstream proxies. See chain.h.
 *
 *   select hops ──> [resolve target: resolve local] ──> DIAL hop 1
 *     ──> ask hop k for hop k+1 (or the target):
 *           SOCKS5: greeting ─> method ─> [RFC 1929] ─> CONNECT ─> reply
 *           SOCKS4/4a: request ─> reply        HTTP: CONNECT ─> response header
 *         [resolve the next name first if hop k cannot take names]
 *     ──> k = last: DONE (the fd is a tunnel to the target)
 *
 * A failure that is the hop's fault (cannot connect to it, protocol error,
 * refused credentials, no answer in time) marks that hop down for
 * retry-dead; dynamic, random and round-robin chains then try again
 * without it. A failure that is the target's (the last hop could not
 * connect to it) is the answer. */
#include "session/chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/stats.h"
#include "base/util.h"
#include "net/net_ctx.h"
#include "net/relay.h"
#include "net/resolve.h"
#include "policy/acl.h"
#include "policy/snapshot.h"
#include "proto/hop.h"
#include "proto/http.h"
#include "proto/proxyproto.h"
#include "proto/socks4.h"
#include "proto/socks5.h"

/* Replies are read into a pool buffer; keep room so the leftover bytes and
 * our own success reply always fit in one buffer of the session. */
#define CHAIN_IN_MAX (RELAY_BUF_SIZE - 1024)

/* A destination name as t->why quotes it: escaped, at most 200 bytes. */
#define CHAIN_NAME_TEXT 201

static void chain_ask_hop(struct chain_tunnel *t);
static void chain_begin_attempt(struct chain_tunnel *t);

/* ---- health ---- */

static void chain_mark_down(struct chain_tunnel *t, size_t hop, const char *why)
{
	chain_health_mark_down(t->health, hop, loop_now_ms(t->net->loop) + t->chain->retry_dead_ms);
	stats_hop_failed(t->net->stats, t->chain->name, hop, t->chain->hops[hop].display);
	log_warn("chain %s: hop %s marked down for %u ms: %s", t->chain->name,
		 t->chain->hops[hop].display, t->chain->retry_dead_ms, why);
}

/* A tunnel is about to go through hop number hop (per-hop counters). */
static void chain_count_attempt(struct chain_tunnel *t, size_t hop)
{
	stats_hop_attempt(t->net->stats, t->chain->name, hop, t->chain->hops[hop].display);
}

static size_t chain_pick_path(struct chain_tunnel *t)
{
	uint64_t now = loop_now_ms(t->net->loop);
	uint32_t rnd = 0;

	if (t->chain->mode == CONFIG_CHAIN_RANDOM &&
	    getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)now;
	t->npath = chain_health_pick(t->health, t->chain, now, rnd, t->path);
	return t->npath;
}

/* ---- finishing ---- */

static void chain_close_fd(struct chain_tunnel *t)
{
	loop_io_del(t->net->loop, &t->io);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static void chain_release(struct chain_tunnel *t)
{
	loop_timer_cancel(t->net->loop, &t->timer);
	dial_cancel(&t->dial);
	resolver_cancel(t->query);
	t->query = NULL;
	t->phase = CH_DONE;
}

static void chain_fail(struct chain_tunnel *t, uint8_t rep)
{
	if (t->started_sync) {
		/* Still inside chain_start: the owner hears about it from a timer. */
		t->early_fail = true;
		t->early_rep = rep;
		return;
	}
	chain_close_fd(t);
	chain_release(t);
	buf_put(t->net->pools.bufs, t->in);
	t->in = NULL;
	t->fn(t, t->arg, -1, rep);
}

static void chain_succeed(struct chain_tunnel *t)
{
	int fd = t->fd;
	loop_io_del(t->net->loop, &t->io);
	t->fd = -1;
	chain_release(t);
	t->fn(t, t->arg, fd, SOCKS5_REP_SUCCEEDED);
}

/* The hop at path[k] is at fault: mark it down, then try again without it
 * where the mode allows, else give up with rep. */
static void chain_hop_failed(struct chain_tunnel *t, size_t k, uint8_t rep, const char *why)
{
	snprintf(t->why, sizeof(t->why), "hop %.200s: %.200s", t->chain->hops[t->path[k]].display,
		 why);
	chain_mark_down(t, t->path[k], why);
	chain_close_fd(t);
	buf_put(t->net->pools.bufs, t->in);
	t->in = NULL;
	bool may_retry = t->chain->mode != CONFIG_CHAIN_STRICT && t->attempts < t->chain->nhops &&
			 loop_now_ms(t->net->loop) < t->deadline_ms;
	if (may_retry && chain_pick_path(t) > 0) {
		chain_begin_attempt(t);
		return;
	}
	chain_fail(t, rep);
}

/* Whose fault is a refusal to reach the next hop? Network-level failures
 * (unreachable, refused, timed out) say the next hop is down; a policy or
 * protocol answer (not allowed, general failure, unsupported) is about the
 * hop that gave it. */
static bool chain_rep_blames_next(uint8_t rep)
{
	return rep == SOCKS5_REP_NET_UNREACHABLE || rep == SOCKS5_REP_HOST_UNREACHABLE ||
	       rep == SOCKS5_REP_CONN_REFUSED || rep == SOCKS5_REP_TTL_EXPIRED;
}

/* The current hop could not reach what it was asked for. */
static void chain_next_failed(struct chain_tunnel *t, uint8_t rep, const char *why)
{
	if (t->step + 1 < t->npath && !chain_rep_blames_next(rep)) {
		chain_hop_failed(t, t->step, rep, why);
		return;
	}
	if (t->step + 1 == t->npath) {
		/* The target's fault, not the chain's: the answer stands. */
		snprintf(t->why, sizeof(t->why), "last hop %.200s: %.200s",
			 t->chain->hops[t->path[t->step]].display, why);
		chain_fail(t, rep);
		return;
	}
	chain_hop_failed(t, t->step + 1, rep, why);
}

/* ---- sending and receiving ---- */

/* Each step's deadline: the chain's own (from a proxychains file's
 * tcp_*_time_out), else the server's timeout connect. */
static unsigned chain_step_ms(const struct chain_tunnel *t)
{
	return t->chain->step_timeout_ms ? t->chain->step_timeout_ms : t->cfg->timeout_connect_ms;
}

static void chain_arm_step_timer(struct chain_tunnel *t)
{
	loop_timer_set(t->net->loop, &t->timer, chain_step_ms(t));
}

static void chain_send(struct chain_tunnel *t, const uint8_t *msg, size_t len,
		       enum chain_phase wait_for)
{
	memcpy(t->out, msg, len);
	t->out_len = len;
	t->out_off = 0;
	t->phase = wait_for;
	chain_arm_step_timer(t);
	loop_io_set(t->net->loop, &t->io, LOOP_WRITE);
}

static bool chain_at_udp_step(const struct chain_tunnel *t)
{
	return t->udp && t->step + 1 == t->npath;
}

static bool chain_at_resolve_step(const struct chain_tunnel *t)
{
	return t->resolve_cmd && t->step + 1 == t->npath;
}

/* The command the current hop is asked: CONNECT to the next hop, or what
 * the client asked of the last. */
static uint8_t chain_step_command(const struct chain_tunnel *t)
{
	if (chain_at_udp_step(t))
		return SOCKS5_CMD_UDP_ASSOCIATE;
	if (chain_at_resolve_step(t))
		return t->resolve_cmd;
	return SOCKS5_CMD_CONNECT;
}

static void chain_send_s5_request(struct chain_tunnel *t)
{
	uint8_t msg[SOCKS5_REQUEST_MAX];
	/* For UDP the last hop gets DST 0.0.0.0:0: we cannot know which
	 * address and port it will see our datagrams come from. */
	struct target any = { .type = TARGET_IPV4 };
	uint8_t cmd = chain_step_command(t);
	ssize_t n = socks5_encode_request(msg, sizeof(msg), cmd,
					  cmd == SOCKS5_CMD_UDP_ASSOCIATE ? &any : &t->next);
	if (n < 0) {
		chain_hop_failed(t, t->step, SOCKS5_REP_GENERAL_FAILURE, "cannot encode request");
		return;
	}
	chain_send(t, msg, (size_t)n, CH_S5_REPLY);
}

/* One parse step on what the hop sent: > 0 consumed, 0 need more, < 0 bad. */
static ssize_t chain_parse_s5_method(struct chain_tunnel *t, const uint8_t *p, size_t len)
{
	const struct hop *h = &t->chain->hops[t->path[t->step]];
	uint8_t method;
	ssize_t n = socks5_parse_method_choice(p, len, &method);
	if (n <= 0)
		return n;
	if (method == SOCKS5_METHOD_NONE) {
		chain_send_s5_request(t);
	} else if (method == SOCKS5_METHOD_USERPASS && h->user[0]) {
		uint8_t msg[SOCKS5_USERPASS_MAX];
		ssize_t m = socks5_encode_userpass(msg, sizeof(msg), h->user, h->pass);
		if (m < 0)
			return -1;
		chain_send(t, msg, (size_t)m, CH_S5_AUTH);
	} else {
		chain_hop_failed(t, t->step, SOCKS5_REP_GENERAL_FAILURE,
				 method == SOCKS5_METHOD_UNACCEPTABLE
					 ? "no acceptable authentication method"
					 : "hop chose a method we did not offer");
	}
	return n;
}

static ssize_t chain_parse_s5_auth(struct chain_tunnel *t, const uint8_t *p, size_t len)
{
	uint8_t status;
	ssize_t n = socks5_parse_userpass_reply(p, len, &status);
	if (n <= 0)
		return n;
	if (status != 0)
		chain_hop_failed(t, t->step, SOCKS5_REP_NOT_ALLOWED, "username/password rejected");
	else
		chain_send_s5_request(t);
	return n;
}

static void chain_step_done(struct chain_tunnel *t)
{
	t->step++;
	if (t->step == t->npath) {
		chain_succeed(t);
		return;
	}
	chain_ask_hop(t);
}

static bool target_is_unspecified(const struct target *t)
{
	static const uint8_t zero[16];
	return t->type != TARGET_DOMAIN &&
	       memcmp(t->addr.ipv6, zero, t->type == TARGET_IPV4 ? 4 : 16) == 0;
}

/* The last hop's UDP relay. Servers often answer 0.0.0.0, meaning "the
 * address you reached me at": for a one-hop chain that is the address we
 * connected to; further down a chain only an IP literal in the hop's URL
 * tells us. */
static bool chain_keep_udp_relay(struct chain_tunnel *t, const struct target *bnd)
{
	struct target where = *bnd;
	if (bnd->type == TARGET_DOMAIN) {
		snprintf(t->why, sizeof(t->why), "UDP relay given as a name");
		return false;
	}
	if (target_is_unspecified(bnd)) {
		const struct target *hop = &t->chain->hops[t->path[t->step]].addr;
		if (t->npath == 1 && t->dial.have_addr) {
			target_from_sockaddr(&where, (const struct sockaddr *)&t->dial.addr);
		} else if (hop->type != TARGET_DOMAIN) {
			where = *hop;
		} else {
			snprintf(t->why, sizeof(t->why),
				 "the last hop's UDP relay address is unknown (reply 0.0.0.0)");
			return false;
		}
		where.port = bnd->port;
	}
	return target_to_sockaddr(&where, &t->udp_relay) > 0;
}

static ssize_t chain_parse_s5_reply(struct chain_tunnel *t, const uint8_t *p, size_t len)
{
	struct socks5_reply r;
	ssize_t n = socks5_parse_reply(p, len, &r);
	if (n <= 0)
		return n;
	if (r.rep != SOCKS5_REP_SUCCEEDED) {
		char why[64];
		snprintf(why, sizeof(why), "SOCKS5 reply 0x%02x (%s)", r.rep,
			 socks5_rep_name(r.rep));
		/* The code is passed on to our client: one RFC 1928 does not
		 * assign (0x09-0xff) is a general failure there, not a reply
		 * it cannot read (found by tests/fuzz/fuzz_session.c). */
		chain_next_failed(
			t,
			r.rep <= SOCKS5_REP_ATYP_NOT_SUPPORTED ? r.rep : SOCKS5_REP_GENERAL_FAILURE,
			why);
		return n;
	}
	if (chain_at_udp_step(t) && !chain_keep_udp_relay(t, &r.bnd)) {
		chain_fail(t, SOCKS5_REP_GENERAL_FAILURE);
		return n;
	}
	if (chain_at_resolve_step(t))
		t->resolved = r.bnd;
	/* Consume before moving on: the next step parses from the same buffer. */
	buf_consume(t->in, (size_t)n);
	chain_step_done(t);
	return 0;
}

static ssize_t chain_parse_s4_reply(struct chain_tunnel *t, const uint8_t *p, size_t len)
{
	struct socks4_reply r;
	ssize_t n = socks4_parse_reply(p, len, &r);
	if (n <= 0)
		return n;
	if (r.cd != SOCKS4_CD_GRANTED) {
		char why[64];
		snprintf(why, sizeof(why), "SOCKS4 reply %u (request rejected)", r.cd);
		/* SOCKS4 has one code for every refusal; "refused" fits best. */
		chain_next_failed(t, SOCKS5_REP_CONN_REFUSED, why);
		return n;
	}
	buf_consume(t->in, (size_t)n);
	chain_step_done(t);
	return 0;
}

/* How an HTTP proxy's refusal reads to a SOCKS5 client. */
static uint8_t chain_rep_from_http(int status)
{
	switch (status) {
	case 403:
	case 407:
		return SOCKS5_REP_NOT_ALLOWED;
	case 504:
		return SOCKS5_REP_TTL_EXPIRED;
	case 502:
	case 503:
		return SOCKS5_REP_CONN_REFUSED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

static ssize_t chain_parse_http(struct chain_tunnel *t, const uint8_t *p, size_t len)
{
	struct http_response r;
	ssize_t n = http_parse_response(p, len, &r);
	if (n <= 0)
		return n;
	if (r.status >= 100 && r.status <= 199)
		return n; /* informational: the real answer follows */
	if (r.status < 200 || r.status > 299) {
		char why[96];
		/* The hop's reason phrase is free text from an upstream the
		 * configuration names, shown as it is; a control character in
		 * it becomes '?' in the log line (log.c). */
		snprintf(why, sizeof(why), "HTTP %d %s", r.status, r.reason);
		if (r.status == 407) /* our credentials: the hop's refusal, not the target's */
			chain_hop_failed(t, t->step, SOCKS5_REP_NOT_ALLOWED, why);
		else
			chain_next_failed(t, chain_rep_from_http(r.status), why);
		return n;
	}
	buf_consume(t->in, (size_t)n);
	chain_step_done(t);
	return 0;
}

/* Parse everything that is buffered, as long as it makes progress. */
static void chain_parse(struct chain_tunnel *t)
{
	while (t->phase != CH_DONE && buf_len(t->in) > 0) {
		enum chain_phase before = t->phase;
		size_t step_before = t->step;
		const uint8_t *p = buf_head(t->in);
		size_t len = buf_len(t->in);
		ssize_t n;
		switch (t->phase) {
		case CH_S5_METHOD:
			n = chain_parse_s5_method(t, p, len);
			break;
		case CH_S5_AUTH:
			n = chain_parse_s5_auth(t, p, len);
			break;
		case CH_S5_REPLY:
			n = chain_parse_s5_reply(t, p, len);
			break;
		case CH_S4_REPLY:
			n = chain_parse_s4_reply(t, p, len);
			break;
		case CH_HTTP_REPLY:
			n = chain_parse_http(t, p, len);
			break;
		default:
			return; /* bytes arrived while we were not waiting for any */
		}
		if (n < 0) {
			chain_hop_failed(t, t->step, SOCKS5_REP_GENERAL_FAILURE, "malformed reply");
			return;
		}
		if (n > 0 && t->in)
			buf_consume(t->in, (size_t)n);
		if (n == 0 && t->phase == before && t->step == step_before)
			return; /* needs more bytes */
	}
}

/* Did the hop end the connection (FIN, or a reset) on the request itself,
 * after it had taken us as a client? OpenSSH's SOCKS server (ssh -D) does
 * that when it cannot reach the destination, and for every UDP ASSOCIATE:
 * no reply, just a close. That is the destination failing through a
 * working hop; marking the hop down would fail every other client's
 * connection through it for retry-dead. A hop that closes before (on the
 * greeting or the credentials) is still the hop failing. */
static bool chain_closed_on_request(const struct chain_tunnel *t, int err)
{
	bool request_sent =
		t->out_off == t->out_len &&
		(t->phase == CH_S5_REPLY || t->phase == CH_S4_REPLY || t->phase == CH_HTTP_REPLY);
	return request_sent && buf_len(t->in) == 0 && (err == 0 || err == ECONNRESET);
}

/* The hop dropped the request: answered as a destination it could not
 * reach (SOCKS5 04, SOCKS4 5B, HTTP 502), or, for the UDP ASSOCIATE it was
 * asked for, as a command it does not support (07). Further down a
 * chain, "the destination" is the next hop, which is blamed as for any
 * unreachable answer. */
static void chain_request_dropped(struct chain_tunnel *t, const char *why)
{
	char what[128];
	uint8_t cmd = chain_step_command(t);
	const char *name = cmd == SOCKS5_CMD_UDP_ASSOCIATE ? "UDP ASSOCIATE"
			   : cmd == SOCKS5_CMD_RESOLVE	   ? "RESOLVE"
			   : cmd == SOCKS5_CMD_RESOLVE_PTR ? "RESOLVE_PTR"
							   : "CONNECT";
	snprintf(what, sizeof(what), "%s on the %s request, without a reply", why, name);
	/* A CONNECT dropped is a destination out of reach; any other command
	 * dropped is one the hop does not do. */
	chain_next_failed(t,
			  cmd == SOCKS5_CMD_CONNECT ? SOCKS5_REP_HOST_UNREACHABLE
						    : SOCKS5_REP_CMD_NOT_SUPPORTED,
			  what);
}

static void chain_on_io(struct loop *loop, void *arg, unsigned events)
{
	struct chain_tunnel *t = arg;
	if ((events & LOOP_WRITE) && t->out_off < t->out_len) {
		ssize_t n = send(t->fd, t->out + t->out_off, t->out_len - t->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			char ebuf[64];
			chain_hop_failed(t, t->step, SOCKS5_REP_GENERAL_FAILURE,
					 util_strerror(errno, ebuf, sizeof(ebuf)));
			return;
		}
		if (n > 0)
			t->out_off += (size_t)n;
		if (t->out_off == t->out_len)
			loop_io_set(loop, &t->io, LOOP_READ);
		return;
	}
	if (!(events & LOOP_READ))
		return;
	if (!t->in && !(t->in = buf_get(t->net->pools.bufs))) {
		chain_fail(t, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	if (buf_len(t->in) >= CHAIN_IN_MAX) {
		chain_hop_failed(t, t->step, SOCKS5_REP_GENERAL_FAILURE, "reply too long");
		return;
	}
	buf_compact(t->in);
	ssize_t n = recv(t->fd, t->in->data + t->in->end, CHAIN_IN_MAX - buf_len(t->in), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		char ebuf[64];
		const char *why =
			n == 0 ? "closed the connection" : util_strerror(errno, ebuf, sizeof(ebuf));
		if (chain_closed_on_request(t, n == 0 ? 0 : errno))
			chain_request_dropped(t, why);
		else
			chain_hop_failed(t, t->step, SOCKS5_REP_GENERAL_FAILURE, why);
		return;
	}
	t->in->end += (uint32_t)n;
	chain_parse(t);
}

static void chain_on_timer(struct loop *loop, void *arg)
{
	struct chain_tunnel *t = arg;
	if (t->early_fail) {
		t->early_fail = false;
		chain_fail(t, t->early_rep);
		return;
	}
	if (t->phase == CH_RESOLVE) {
		resolver_cancel(t->query);
		t->query = NULL;
		char name[CHAIN_NAME_TEXT];
		log_esc(name, sizeof(name), t->next.addr.domain);
		snprintf(t->why, sizeof(t->why), "resolving %s timed out", name);
		chain_fail(t, SOCKS5_REP_HOST_UNREACHABLE);
		return;
	}
	/* The last hop may legitimately be slow to reach the target: that is
	 * the target timing out, not the hop failing. */
	if (t->step + 1 == t->npath &&
	    (t->phase == CH_S5_REPLY || t->phase == CH_S4_REPLY || t->phase == CH_HTTP_REPLY)) {
		snprintf(t->why, sizeof(t->why), "no answer from the last hop in time");
		chain_fail(t, SOCKS5_REP_TTL_EXPIRED);
		return;
	}
	chain_hop_failed(t, t->step, SOCKS5_REP_TTL_EXPIRED, "no answer in time");
}

/* ---- asking a hop for the next destination ---- */

/*
 * "hop URL proxy-protocol v1|v2": the first bytes this hop gets from us
 * are a PROXY header, as from a load balancer. It names the session's
 * client (the true one, if our own listener read a header) and, as the
 * address the client reached, the hop's own address (as configured, or
 * the connected peer when it is a name). Without a client (UDP ASSOCIATE
 * and RESOLVE through the chain) it is LOCAL / UNKNOWN: the connection is
 * our own, and the hop must expect UDP datagrams from us, not from the
 * client. Returns the header's length, or -1.
 */
static ssize_t chain_proxy_header(struct chain_tunnel *t, const struct hop *h, uint8_t *out,
				  size_t cap)
{
	struct proxyproto_header ph;
	socklen_t len = sizeof(ph.dst);

	memset(&ph, 0, sizeof(ph));
	ph.cmd = PROXYPROTO_CMD_LOCAL;
	if (t->client != NULL &&
	    (t->client->ss_family == AF_INET || t->client->ss_family == AF_INET6)) {
		ph.cmd = PROXYPROTO_CMD_PROXY;
		ph.src = *t->client;
		if (h->addr.type == TARGET_DOMAIN) {
			if (getpeername(t->fd, (struct sockaddr *)&ph.dst, &len) < 0)
				return -1;
		} else if (target_to_sockaddr(&h->addr, &ph.dst) < 0) {
			return -1;
		}
	}
	return proxyproto_encode(out, cap, h->proxy_protocol, &ph);
}

static void chain_send_request(struct chain_tunnel *t)
{
	const struct hop *h = &t->chain->hops[t->path[t->step]];
	uint8_t msg[sizeof(t->out)];
	size_t off = 0;
	ssize_t n;

	if (h->proxy_protocol) {
		n = chain_proxy_header(t, h, msg, sizeof(msg));
		if (n < 0) {
			snprintf(t->why, sizeof(t->why),
				 "cannot write a PROXY header for hop %.200s", h->display);
			chain_fail(t, SOCKS5_REP_GENERAL_FAILURE);
			return;
		}
		off = (size_t)n;
	}
	switch (h->type) {
	case HOP_SOCKS5:
	case HOP_SOCKS5H: {
		uint8_t methods[2] = { SOCKS5_METHOD_NONE, SOCKS5_METHOD_USERPASS };
		n = socks5_encode_greeting(msg + off, sizeof(msg) - off, methods,
					   h->user[0] ? 2 : 1);
		if (n > 0)
			chain_send(t, msg, off + (size_t)n, CH_S5_METHOD);
		break;
	}
	case HOP_SOCKS4:
	case HOP_SOCKS4A:
		n = socks4_encode_request(msg + off, sizeof(msg) - off, SOCKS4_CMD_CONNECT,
					  &t->next, h->user);
		if (n > 0)
			chain_send(t, msg, off + (size_t)n, CH_S4_REPLY);
		break;
	default:
		n = http_encode_connect_request(msg + off, sizeof(msg) - off, &t->next,
						h->user[0] ? h->user : NULL,
						h->user[0] ? h->pass : NULL);
		if (n > 0)
			chain_send(t, msg, off + (size_t)n, CH_HTTP_REPLY);
		break;
	}
	if (n <= 0) {
		/* e.g. an IPv6 destination for a SOCKS4 hop */
		char what[TARGET_TEXT_MAX];
		target_format(&t->next, what, sizeof(what));
		snprintf(t->why, sizeof(t->why), "hop %.200s cannot be asked for %.200s",
			 h->display, what);
		chain_fail(t, SOCKS5_REP_ATYP_NOT_SUPPORTED);
	}
}

/* The first address of a usable family: SOCKS4 hops take IPv4 only. */
static bool chain_pick_addr(const struct resolve_result *res, bool v4_only, struct target *t)
{
	for (size_t i = 0; i < res->n; i++) {
		if (v4_only && res->addr[i].family != AF_INET)
			continue;
		struct sockaddr_storage ss;
		uint16_t port = t->port;
		resolve_addr_to_sockaddr(&res->addr[i], port, &ss);
		target_from_sockaddr(t, (const struct sockaddr *)&ss);
		return true;
	}
	return false;
}

static void chain_on_resolved(void *arg, int status, const struct resolve_result *res)
{
	struct chain_tunnel *t = arg;
	struct target *which = t->resolving_target ? &t->dst : &t->next;
	bool v4_only = !t->resolving_target && t->chain->hops[t->path[t->step]].type == HOP_SOCKS4;
	char name[CHAIN_NAME_TEXT];

	t->query = NULL;
	/* Escaped here, as a log line shows names (log.h). */
	log_esc(name, sizeof(name), which->addr.domain);
	if (status < 0 || !chain_pick_addr(res, v4_only, which)) {
		stats_inc(t->net->stats, dns_failures);
		snprintf(t->why, sizeof(t->why), "cannot resolve %s%s", name,
			 status < 0 ? "" : " to an address the hop accepts");
		chain_fail(t, SOCKS5_REP_HOST_UNREACHABLE);
		return;
	}
	/* The final target resolved here must pass the guard a literal
	 * address would have met at the request. */
	bool final = t->resolving_target || t->step + 1 == t->npath;
	struct sockaddr_storage ss;
	if (final && t->client && target_to_sockaddr(which, &ss) > 0 &&
	    acl_guard_blocks(t->cfg, t->client, (const struct sockaddr *)&ss)) {
		t->guard_refused = true;
		snprintf(t->why, sizeof(t->why), "%s resolves to a guarded address", name);
		chain_fail(t, SOCKS5_REP_NOT_ALLOWED);
		return;
	}
	if (t->resolving_target) {
		t->resolving_target = false;
		chain_begin_attempt(t);
		return;
	}
	chain_send_request(t);
}

static void chain_resolve(struct chain_tunnel *t, const char *name)
{
	struct resolve_result res;
	if (resolver_lookup_now(t->net->resolver, name, &res)) {
		chain_on_resolved(t, 0, &res);
		return;
	}
	stats_inc(t->net->stats, dns_queries);
	t->phase = CH_RESOLVE;
	chain_arm_step_timer(t);
	t->query = resolver_lookup(t->net->resolver, name, chain_on_resolved, t);
	if (!t->query)
		chain_fail(t, SOCKS5_REP_GENERAL_FAILURE);
}

/* The last hop and a RESOLVE: see chain.h. */
static void chain_ask_resolve(struct chain_tunnel *t, const struct hop *h)
{
	if (h->type == HOP_SOCKS5H) {
		t->next = t->dst;
		chain_send_request(t);
		return;
	}
	if (h->type == HOP_SOCKS5 || h->type == HOP_SOCKS4) {
		t->resolve_here = true;
		chain_succeed(t);
		return;
	}
	/* It would resolve a CONNECT's name itself, so resolving here would
	 * look the name up where the chain is meant to hide it. */
	snprintf(t->why, sizeof(t->why),
		 "%.200s resolves names itself but has no RESOLVE command to ask", h->display);
	chain_fail(t, SOCKS5_REP_CMD_NOT_SUPPORTED);
}

static void chain_ask_hop(struct chain_tunnel *t)
{
	const struct hop *h = &t->chain->hops[t->path[t->step]];
	if (chain_at_resolve_step(t)) {
		chain_ask_resolve(t, h);
		return;
	}
	if (chain_at_udp_step(t)) {
		if (h->type != HOP_SOCKS5 && h->type != HOP_SOCKS5H) {
			snprintf(t->why, sizeof(t->why),
				 "UDP needs a SOCKS5 last hop, %.200s is not one", h->display);
			chain_fail(t, SOCKS5_REP_CMD_NOT_SUPPORTED);
			return;
		}
		chain_send_request(t);
		return;
	}
	if (t->step + 1 < t->npath)
		chain_count_attempt(t, t->path[t->step + 1]);
	t->next = t->step + 1 < t->npath ? t->chain->hops[t->path[t->step + 1]].addr : t->dst;
	/* socks4a, socks5h and http hops get names; for socks4 and socks5 we
	 * resolve first, as curl reads those schemes. */
	if (t->next.type == TARGET_DOMAIN && !hop_resolves_names(h)) {
		chain_resolve(t, t->next.addr.domain);
		return;
	}
	chain_send_request(t);
}

static void chain_on_dialed(struct dial *d, void *arg, int fd, int err)
{
	struct chain_tunnel *t = arg;
	if (fd < 0) {
		char ebuf[64];
		uint8_t rep =
			d->failed_in_dns ? SOCKS5_REP_HOST_UNREACHABLE : socks5_rep_from_errno(err);
		if (err == EMFILE || err == ENFILE || err == ENOMEM) {
			/* This process ran out, not the hop: nothing to mark. */
			snprintf(t->why, sizeof(t->why), "cannot reach hop %.200s: %s",
				 t->chain->hops[t->path[0]].display,
				 util_strerror(err, ebuf, sizeof(ebuf)));
			chain_fail(t, SOCKS5_REP_GENERAL_FAILURE);
			return;
		}
		chain_hop_failed(t, 0, rep, util_strerror(err, ebuf, sizeof(ebuf)));
		return;
	}
	t->fd = fd;
	/* Quiet until there is something to send: chain_ask_hop may have to
	 * resolve the next hop's name first. */
	loop_io_move(t->net->loop, &d->io, &t->io);
	if (loop_io_set(t->net->loop, &t->io, 0) < 0) {
		chain_fail(t, SOCKS5_REP_GENERAL_FAILURE);
		return;
	}
	t->step = 0;
	chain_ask_hop(t);
}

static void chain_begin_attempt(struct chain_tunnel *t)
{
	t->attempts++;
	t->step = 0;
	t->phase = CH_DIAL;
	chain_count_attempt(t, t->path[0]);
	loop_timer_cancel(t->net->loop, &t->timer);
	dial_start(&t->dial, t->net, t->cfg, NULL, &t->src, &t->chain->hops[t->path[0]].addr,
		   chain_step_ms(t), chain_on_dialed, t);
}

/* Why no path could be picked, naming the hop that decides when the chain
 * is usable again: for a strict chain the first hop that is down, for the
 * others the one whose back-off ends first. */
static void chain_explain_none_up(struct chain_tunnel *t)
{
	uint64_t now = loop_now_ms(t->net->loop);
	bool strict = t->chain->mode == CONFIG_CHAIN_STRICT;
	size_t which = t->chain->nhops;
	uint64_t wait = 0;

	for (size_t i = 0; i < t->chain->nhops; i++) {
		uint64_t left = chain_health_down_for(t->health, i, now);
		if (left > 0 && (which == t->chain->nhops || (!strict && left < wait))) {
			which = i;
			wait = left;
			if (strict)
				break;
		}
	}
	if (which == t->chain->nhops) { /* came back up meanwhile: a race, say so */
		snprintf(t->why, sizeof(t->why), "chain %s has no usable path", t->chain->name);
		return;
	}
	snprintf(t->why, sizeof(t->why),
		 strict ? "strict chain %s has a hop marked down: %.200s, tried again in %llu ms"
			: "no hop of chain %s is up: the first back is %.200s, in %llu ms",
		 t->chain->name, t->chain->hops[which].display, (unsigned long long)wait);
}

static void chain_start_mode(struct chain_tunnel *t, struct net_ctx *net, struct snapshot *snap,
			     size_t idx, const struct target *dst,
			     const struct sockaddr_storage *client, const struct route_source *src,
			     bool udp, chain_fn fn, void *arg)
{
	memset(t, 0, sizeof(*t));
	if (src)
		t->src = *src;
	else
		route_source_pick(&snap->cfg, NULL, NULL, &t->src);
	t->udp = udp;
	t->client = client;
	t->cfg = &snap->cfg;
	t->net = net;
	t->chain = &snap->cfg.chains[idx];
	t->health = &snap->health[idx];
	t->fn = fn;
	t->arg = arg;
	t->dst = *dst;
	t->fd = -1;
	loop_io_init(&t->io, chain_on_io, t);
	loop_timer_init(&t->timer, chain_on_timer, t);
	/* Every hop may be tried once, each step within the connect timeout. */
	t->deadline_ms =
		loop_now_ms(net->loop) + (uint64_t)chain_step_ms(t) * (t->chain->nhops + 1);

	t->started_sync = true;
	if (chain_pick_path(t) == 0) {
		chain_explain_none_up(t);
		chain_fail(t, SOCKS5_REP_GENERAL_FAILURE);
	} else if (t->chain->resolve_local && dst->type == TARGET_DOMAIN) {
		t->resolving_target = true;
		chain_resolve(t, dst->addr.domain);
	} else {
		chain_begin_attempt(t);
	}
	t->started_sync = false;
	if (t->early_fail)
		loop_timer_set(net->loop, &t->timer, 0);
}

void chain_start(struct chain_tunnel *t, struct net_ctx *net, struct snapshot *snap, size_t idx,
		 const struct target *dst, const struct sockaddr_storage *client,
		 const struct route_source *src, chain_fn fn, void *arg)
{
	chain_start_mode(t, net, snap, idx, dst, client, src, false, fn, arg);
}

void chain_start_udp(struct chain_tunnel *t, struct net_ctx *net, struct snapshot *snap, size_t idx,
		     chain_fn fn, void *arg)
{
	struct target none = { .type = TARGET_IPV4 };
	chain_start_mode(t, net, snap, idx, &none, NULL, NULL, true, fn, arg);
}

void chain_start_resolve(struct chain_tunnel *t, struct net_ctx *net, struct snapshot *snap,
			 size_t idx, uint8_t cmd, const struct target *dst, chain_fn fn, void *arg)
{
	/* Started as a tunnel to nowhere in particular: dst is only what the
	 * last hop is asked about, and never resolved or guarded on the way
	 * (the caller guards an address before, and the answer after). */
	struct target none = { .type = TARGET_IPV4 };
	chain_start_mode(t, net, snap, idx, &none, NULL, NULL, false, fn, arg);
	t->resolve_cmd = cmd;
	t->dst = *dst;
}

void chain_cancel(struct chain_tunnel *t)
{
	if (!t->net)
		return;
	if (t->phase != CH_DONE) {
		chain_close_fd(t);
		chain_release(t);
	}
	buf_put(t->net->pools.bufs, t->in);
	t->in = NULL;
}

struct buf *chain_take_leftover(struct chain_tunnel *t)
{
	struct buf *b = t->in;
	t->in = NULL;
	return b;
}
