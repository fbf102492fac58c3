/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The session's core: what every state of the session uses. See
 * session_core.h; the state machine itself is drawn in session.c.
 *
 * Every decision lives in struct session, never in a local that outlives a
 * call, because handlers are re-entered whenever more bytes arrive. Input
 * is parsed from relay.buf[RELAY_UP]; a parser consumes only whole
 * messages, so whatever follows the request stays there and is relayed. */
#include "session/session_core.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "net/resolve.h"
#include "policy/connlimit.h"
#include "proto/http.h"
#include "proto/socks4.h"
#include "proto/socks5.h"
#include "session/chain.h"
#include "session/udp.h"

/* After an error reply, how long we keep reading (and discarding) so that
 * closing with unread input does not reset the connection and destroy the
 * reply before the client has read it. */
#define SESSION_LINGER_MS 2000

static const char *const state_names[] = {
	"proxy-header", "detect",	"s4-request", "s5-greeting", "s5-auth",	  "auth-verify",
	"s5-request",	"http-request", "connect",    "resolve",     "bind-wait", "relay",
	"udp",		"closing",	"linger",     "done",
};

static const char *const proto_names[] = { "-", "socks4", "socks4a", "socks5", "http" };

/* ---- small helpers ---- */

const char *session_state_name(enum session_state st)
{
	return state_names[st];
}

void session_set_state(struct session *s, enum session_state next)
{
	if (s->state == next)
		return;
	session_log(s, LOG_LVL_DEBUG, "%s -> %s", state_names[s->state], state_names[next]);
	s->state = next;
}

const char *session_client_text(const struct session *s, char *buf, size_t cap)
{
	sockaddr_format(&s->client.sa, buf, cap);
	return buf;
}

bool session_set_user(struct session *s, const char *name)
{
	/* Cut where the 256-byte array this replaces cut it, so log lines,
	 * limits and statistics see the same name. */
	size_t n = strnlen(name, AUTH_NAME_MAX);
	char *copy = NULL;
	if (n > 0) {
		copy = malloc(n + 1);
		if (!copy)
			return false;
		memcpy(copy, name, n);
		copy[n] = '\0';
	}
	free(s->user);
	s->user = copy;
	return true;
}

/* ---- the setup of a command ---- */

struct session_setup *session_setup_new(struct session *s)
{
	if (s->setup)
		return s->setup;
	struct session_setup *su = calloc(1, sizeof(*su));
	if (!su)
		return NULL;
	sockaddr_ip_to_storage(&s->client, &su->client);
	/* bind.c gives it its callback when a BIND starts. */
	loop_timer_init(&su->retry, NULL, s);
	s->setup = su;
	return su;
}

void session_setup_end(struct session *s)
{
	struct session_setup *su = s->setup;
	if (!su)
		return;
	s->setup = NULL;
	/* addr= names the address dialled last: the target, or a chain's
	 * first hop (a BIND peer is kept when it is accepted). */
	const struct dial *d = su->tunnel ? &su->tunnel->dial : &su->dial;
	if (d->have_addr)
		sockaddr_ip_set(&s->addr, (const struct sockaddr *)&d->addr, sizeof(d->addr));
	dial_cancel(&su->dial);
	if (su->tunnel) {
		chain_cancel(su->tunnel);
		loop_defer_free(session_loop(s), free, su->tunnel);
	}
	resolver_cancel(su->query);
	loop_timer_cancel(session_loop(s), &su->retry);
	/* We may be inside the dial's or the tunnel's callback, and events for
	 * the dial's socket may still be queued in this loop round. */
	loop_defer_free(session_loop(s), free, su);
}

/* Queue bytes for the client behind anything already queued. The replies
 * we send are small and the buffer is empty when they are queued, so they
 * always fit. */
bool session_queue_reply(struct session *s, const uint8_t *p, size_t n)
{
	struct relay *r = &s->relay;
	if (!r->buf[RELAY_DOWN]) {
		r->buf[RELAY_DOWN] = buf_get(session_pool(s));
		if (!r->buf[RELAY_DOWN]) {
			/* The callers close with "error"; this says why. */
			session_log(s, LOG_LVL_WARN, "out of memory for a reply buffer");
			return false;
		}
	}
	s->reply_bytes += (uint32_t)n;
	return buf_append(r->buf[RELAY_DOWN], p, n) == n;
}

/* Send what is queued for the client now, without waiting for EPOLLOUT. */
int session_flush_client(struct session *s)
{
	return relay_flush(&s->relay, RELAY_DOWN, s->cfd, session_pool(s));
}

/* In CLOSING, once the reply is out (and our FIN with it), start lingering. */
void session_closing_progress(struct session *s)
{
	if (s->state == S_CLOSING && !relay_wants_write(&s->relay, RELAY_DOWN))
		session_set_state(s, S_LINGER);
}

/* Send bytes, then close once they are out (CLOSING -> LINGER -> DONE). */
void session_reply_and_close(struct session *s, const uint8_t *p, size_t n, const char *result)
{
	s->result = result;
	if (!session_queue_reply(s, p, n)) {
		session_close(s, result);
		return;
	}
	session_set_state(s, S_CLOSING);
	/* Ask relay_flush to send our FIN right after the reply. */
	s->relay.eof[RELAY_DOWN] = true;
	loop_timer_set(session_loop(s), &s->timer, SESSION_LINGER_MS);
	if (session_flush_client(s) < 0) {
		session_close(s, result);
		return;
	}
	session_closing_progress(s);
	session_update_interest(s);
}

/* How a SOCKS5 REP code reads to an HTTP CONNECT client. */
static int http_status_from_rep(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_NOT_ALLOWED:
		return 403;
	case SOCKS5_REP_TTL_EXPIRED:
		return 504;
	case SOCKS5_REP_CMD_NOT_SUPPORTED:
	case SOCKS5_REP_ATYP_NOT_SUPPORTED:
		return 501;
	default:
		return 502;
	}
}

/* The request failed: answer with the protocol's error reply and close. */
void session_fail(struct session *s, uint8_t socks5_rep, const char *result)
{
	uint8_t reply[HTTP_RESPONSE_MAX];
	ssize_t n;
	if (s->proto == P_SOCKS5)
		n = socks5_encode_reply(reply, sizeof(reply), socks5_rep, NULL);
	else if (s->proto == P_HTTP)
		/* The reason stays in our log: an unauthenticated client has
		 * no business reading the config file's path and lines. */
		n = http_encode_response(reply, sizeof(reply),
					 s->busy ? 503 : http_status_from_rep(socks5_rep),
					 s->busy	  ? "connection limit reached"
					 : s->deny_reason ? "access denied"
							  : socks5_rep_name(socks5_rep));
	else
		n = socks4_encode_reply(reply, sizeof(reply), SOCKS4_CD_REJECTED, NULL);
	if (n < 0) {
		session_close(s, result);
		return;
	}
	session_reply_and_close(s, reply, (size_t)n, result);
}

/* ---- closing ---- */

static void session_unlink(struct session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		s->ctx->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void session_close_fd(struct session *s, struct loop_io *io, int *fd)
{
	/* Taken out of epoll by hand, not left to close(): close() leaves
	 * epoll only when no other descriptor shares the socket, and a PAM
	 * module that forks (pam_exec, pam_unix's unix_chkpwd) holds a copy
	 * of every fd until its child execs. An fd closed in that window
	 * stayed registered, and its next event pointed into the freed
	 * session (ASan, test_pam.py). */
	loop_io_del(session_loop(s), io);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Bytes relayed from the target to the client, without our replies. */
static uint64_t session_bytes_down(const struct session *s)
{
	uint64_t all = relay_bytes(&s->relay, RELAY_DOWN, session_pools(s));
	return all > s->reply_bytes ? all - s->reply_bytes : 0;
}

/* n less what was reported already (never below 0: a total the fold saw
 * cannot shrink, but the guard keeps a mistake from wrapping around). */
static uint64_t session_unreported(uint64_t n, uint64_t *reported)
{
	uint64_t d = n > *reported ? n - *reported : 0;
	if (n > *reported)
		*reported = n;
	return d;
}

void session_bytes(const struct session *s, uint64_t *up, uint64_t *down)
{
	*up = relay_bytes(&s->relay, RELAY_UP, session_pools(s));
	*down = session_bytes_down(s);
	if (s->udp) {
		const struct udp_counters *c = udp_assoc_counters(s->udp);
		*up += c->bytes_up;
		*down += c->bytes_down;
	}
}

void session_report_bytes(struct session *s)
{
	struct stats *st = s->ctx->net.stats;
	uint64_t up, down;
	uint64_t spliced = s->relay.spliced[RELAY_UP] + s->relay.spliced[RELAY_DOWN];
	uint64_t kernel = relay_kernel_bytes(&s->relay, RELAY_UP, session_pools(s)) +
			  relay_kernel_bytes(&s->relay, RELAY_DOWN, session_pools(s));
	session_bytes(s, &up, &down);
	if (s->udp) {
		uint64_t pkts_up, pkts_down;
		udp_assoc_take_packets(s->udp, &pkts_up, &pkts_down);
		if (pkts_up)
			stats_add(st, udp_datagrams_up, pkts_up);
		if (pkts_down)
			stats_add(st, udp_datagrams_down, pkts_down);
	}
	uint64_t d_up = session_unreported(up, &s->reported_up);
	uint64_t d_down = session_unreported(down, &s->reported_down);
	uint64_t d_spliced = session_unreported(spliced, &s->reported_spliced);
	uint64_t d_kernel = session_unreported(kernel, &s->reported_kernel);
	/* Most sessions of a fold moved nothing in the last second: no
	 * atomic operation on the shared counters for them. */
	if (d_up)
		stats_add(st, bytes_up, d_up);
	if (d_down)
		stats_add(st, bytes_down, d_down);
	if (d_spliced)
		stats_add(st, bytes_spliced, d_spliced);
	if (d_kernel)
		stats_add(st, bytes_kernel, d_kernel);
	if (d_up || d_down)
		stats_session_bytes(&s->sstats, d_up, d_down);
}

/* The access line's fields: client, session, user, proto, cmd, target,
 * addr, route, result, up, down, ms, relay, then deny (a refused request) or the
 * UDP counters (an association). */
enum { ACCESS_FIELDS_MAX = 13 + 1 + UDP_COUNTER_FIELDS };

static void session_log_access(struct session *s)
{
	/* Formatting the line is most of a short session's user-space cost
	 * (bench/RESULTS.md): not for a line nobody will read. */
	if (!log_access_enabled())
		return;
	char client[64], target[TARGET_TEXT_MAX], addr[64] = "-", deny[256];
	char user[LOG_ESC_SIZE(AUTH_NAME_MAX)];
	const char *cmd = "-";
	uint64_t up = relay_bytes(&s->relay, RELAY_UP, session_pools(s)),
		 down = session_bytes_down(s);
	const struct udp_counters *uc = s->udp ? udp_assoc_counters(s->udp) : NULL;

	session_client_text(s, client, sizeof(client));
	target_compact_format(&s->dst, target, sizeof(target)); /* "-" before a request */
	if (s->addr.sa.sa_family != AF_UNSPEC)
		sockaddr_format(&s->addr.sa, addr, sizeof(addr));
	if (uc) {
		up = uc->bytes_up;
		down = uc->bytes_down;
	}
	if (s->cmd == SOCKS5_CMD_CONNECT)
		cmd = "connect";
	else if (s->cmd == SOCKS5_CMD_BIND)
		cmd = "bind";
	else if (s->cmd == SOCKS5_CMD_UDP_ASSOCIATE)
		cmd = "udp";
	else if (s->cmd == SOCKS5_CMD_RESOLVE)
		cmd = "resolve";
	else if (s->cmd == SOCKS5_CMD_RESOLVE_PTR)
		cmd = "resolve-ptr";

	struct log_field f[ACCESS_FIELDS_MAX] = {
		{ .key = "client", .str = client },
		{ .key = "session", .num = s->id },
		{ .key = "user", .str = log_esc(user, sizeof(user), s->user) },
		{ .key = "proto", .str = proto_names[s->proto] },
		{ .key = "cmd", .str = cmd },
		{ .key = "target", .str = target },
		{ .key = "addr", .str = addr },
		{ .key = "route", .str = s->route ? s->route : "-" },
		{ .key = "result", .str = s->result ? s->result : "closed" },
		{ .key = "up", .num = up },
		{ .key = "down", .num = down },
		{ .key = "ms", .num = loop_now_ms(session_loop(s)) - s->started_ms },
		/* How the bytes moved: kernel, splice or copy (relay.h). */
		{ .key = "relay", .str = s->relayed ? relay_used(&s->relay) : "-" },
	};
	size_t n = 13;
	if (s->deny_reason) {
		/* "rule x.conf:12" -> deny=rule:x.conf:12, one token for parsers */
		snprintf(deny, sizeof(deny), "%s", s->deny_reason);
		for (char *p = deny; *p; p++)
			if (*p == ' ')
				*p = ':';
		f[n++] = (struct log_field){ .key = "deny", .str = deny };
	}
	if (uc) {
		udp_counters_fields(uc, f + n);
		n += UDP_COUNTER_FIELDS;
	}
	log_access_fields(f, n);
}

static void session_free(void *p)
{
	struct session *s = p;
	snapshot_unref(s->snap);
	/* Freed with the session, not in session_close: the UDP association
	 * (freed there, deferred too) points at the user name. */
	free(s->user);
	target_compact_clear(&s->dst);
	free(s);
}

void session_close(struct session *s, const char *result)
{
	if (s->state == S_DONE)
		return;
	if (!s->result || s->state == S_RELAY || s->state == S_UDP)
		s->result = result;
	session_set_state(s, S_DONE);

	struct stats *st = s->ctx->net.stats;
	/* What the last fold did not see; the session leaves the list the
	 * fold walks below, so nothing is counted twice. */
	session_report_bytes(s);
	/* A command still being set up stops here, and leaves its addr= for
	 * the log line. */
	session_setup_end(s);
	session_log_access(s);
	stats_session_end(st, &s->sstats);
	if (s->result && strcmp(s->result, "auth-failed") == 0 && session_users(s) &&
	    userdb_find(session_users(s), session_user(s)))
		stats_user_auth_failed(st, session_user(s));

	loop_timer_cancel(session_loop(s), &s->timer);
	session_close_fd(s, &s->cio, &s->cfd);
	session_close_fd(s, &s->tio, &s->tfd);
	relay_release(&s->relay, session_pools(s));
	if (s->holds_client_slot) {
		struct sockaddr_storage client;
		sockaddr_ip_to_storage(&s->client, &client);
		limits_give_client(s->ctx->shared->limits, &client);
	}
	if (s->holds_user_slot)
		limits_give_user(s->ctx->shared->limits, session_user(s));
	udp_assoc_free(s->udp);
	if (s->auth_job) {
		/* The worker frees it when it returns; the pool skips it. */
		s->auth_job->owner = NULL;
		auth_job_cancel(s->auth_job);
		s->auth_job = NULL;
	}
	session_unlink(s);
	atomic_fetch_sub(&s->ctx->shared->connections, 1);
	stats_add(st, sessions_active, -1);
	/* Events for our fds may still be queued in this loop round. */
	loop_defer_free(session_loop(s), session_free, s);
	s->ctx->session_ended(s->ctx);
}

/* ---- interest: which events each socket should wake us for ---- */

bool session_reads_handshake(const struct session *s)
{
	return s->state < S_RELAY && !s->relay.eof[RELAY_UP] &&
	       buf_len(s->relay.buf[RELAY_UP]) < RELAY_BUF_SIZE;
}

void session_update_interest(struct session *s)
{
	struct relay *r = &s->relay;
	unsigned cev = 0, tev = 0;

	switch (s->state) {
	case S_RELAY:
		if (relay_wants_read(r, RELAY_UP))
			cev |= LOOP_READ;
		if (relay_wants_read(r, RELAY_DOWN))
			tev |= LOOP_READ;
		if (relay_wants_write(r, RELAY_UP))
			tev |= LOOP_WRITE;
		/* The kernel relay writes without us: a sink it writes to is
		 * watched for a reset even when we neither read nor write it. */
		if (r->in_kernel && r->kdir == RELAY_UP && !relay_dir_done(r, RELAY_UP))
			tev |= LOOP_ERROR;
		if (r->in_kernel && r->kdir == RELAY_DOWN && !relay_dir_done(r, RELAY_DOWN))
			cev |= LOOP_ERROR;
		break;
	case S_CLOSING:
		break;
	case S_LINGER:
		cev |= LOOP_READ;
		break;
	case S_UDP:
		cev |= LOOP_READ;
		tev |= LOOP_READ; /* an upstream's control connection, if any */
		break;
	case S_BIND_WAIT:
		/* With its buffer full of pipelined bytes the client is not
		 * read, but a client that goes away must still end the wait
		 * (and close the listening port) at once. */
		cev |= session_reads_handshake(s) ? LOOP_READ : LOOP_PEER_CLOSED;
		/* The setup lives as long as BIND_WAIT does. */
		if (s->setup && !s->setup->bind_paused)
			tev |= LOOP_READ; /* the listening socket, once it exists */
		break;
	default:
		/* Until the relay starts, keep collecting pipelined client bytes
		 * (and notice a client that gives up). */
		if (session_reads_handshake(s))
			cev |= LOOP_READ;
		break;
	}
	if (relay_wants_write(r, RELAY_DOWN))
		cev |= LOOP_WRITE;

	if (loop_io_set(session_loop(s), &s->cio, cev) < 0 ||
	    (s->tfd >= 0 && loop_io_set(session_loop(s), &s->tio, tev) < 0))
		session_close(s, "error");
}

/* ---- success: the reply and the relay ---- */

bool session_queue_success(struct session *s, const struct sockaddr *bnd)
{
	uint8_t reply[HTTP_RESPONSE_MAX];
	ssize_t n;
	if (s->proto == P_SOCKS5)
		n = socks5_encode_reply(reply, sizeof(reply), SOCKS5_REP_SUCCEEDED, bnd);
	else if (s->proto == P_HTTP)
		n = http_encode_response(reply, sizeof(reply), 200, NULL);
	else
		n = socks4_encode_reply(reply, sizeof(reply), SOCKS4_CD_GRANTED, bnd);
	return n > 0 && session_queue_reply(s, reply, (size_t)n);
}

void session_relay_handed(struct session *s)
{
	stats_add(s->ctx->net.stats, kernel_relayed, 1);
	session_log(s, LOG_LVL_DEBUG, "relay: handed to the kernel after %llu bytes (%s)",
		    (unsigned long long)(s->relay.bytes[RELAY_UP] + s->relay.bytes[RELAY_DOWN]),
		    s->relay.kdir == RELAY_UP ? "client to target" : "target to client");
}

void session_abort_overflow(struct session *s)
{
	static const struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	session_log(s, LOG_LVL_WARN,
		    "relay: a peer fell %u MiB behind the kernel relay, which dropped what "
		    "followed: resetting both connections",
		    KRELAY_BACKLOG_MAX / (1024 * 1024));
	/* A reset, not a FIN: bytes were lost, and neither peer may take
	 * what it got for a whole stream. */
	setsockopt(s->cfd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	setsockopt(s->tfd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	s->relay.err = -ENOBUFS;
	session_close(s, "overflow");
}

void session_start_relay(struct session *s)
{
	/* What the relay needs is in the session now: the setup can go. */
	session_setup_end(s);
	s->result = "ok";
	s->relayed = true;
	session_set_state(s, S_RELAY);
	s->last_active_ms = loop_now_ms(session_loop(s));
	unsigned idle = session_cfg(s)->timeout_idle_ms;
	if (idle)
		loop_timer_set(session_loop(s), &s->timer, idle);
	else
		loop_timer_cancel(session_loop(s), &s->timer);

	/* The reply first, then whatever the client pipelined. */
	int rc = session_flush_client(s);
	if (rc == 0)
		rc = relay_flush(&s->relay, RELAY_UP, s->tfd, session_pool(s));
	if (rc < 0) {
		session_close(s, "reset");
		return;
	}
	/* "relay kernel after 0": to the kernel at once, if all went out. */
	if (relay_try_kernel(&s->relay, s->cfd, s->tfd, session_pools(s)))
		session_relay_handed(s);
	session_update_interest(s);
}

/* Read and throw away what fd has for us (a UDP control connection, a
 * lingering client), at most SESSION_DISCARD_READS reads per wake-up so a
 * peer that keeps sending cannot hold the loop: the level-triggered loop
 * calls again while more is there. true when the peer has ended: EOF or
 * an error. */
#define SESSION_DISCARD_READS 16

bool session_discard_input(int fd)
{
	uint8_t sink[4096];
	for (int i = 0; i < SESSION_DISCARD_READS; i++) {
		ssize_t n = recv(fd, sink, sizeof(sink), 0);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
	return false;
}
