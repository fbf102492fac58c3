/* The client session: lifecycle, events, the relay, and the commands.
 *
 *   handshake (session_socks.c) ──> run command ─┬─> CONNECT (dial.c) ──┐
 *                                                ├─> BIND_WAIT (bind.c) ─┴─> RELAY
 *                                                └─> UDP (udp.c) until the control connection ends
 *   any failure ──> CLOSING (flush the error reply) ──> LINGER ──> DONE
 *
 * Every decision lives in struct session, never in a local that outlives a
 * call, because handlers are re-entered whenever more bytes arrive. Input
 * is parsed from relay.buf[RELAY_UP]; a parser consumes only whole
 * messages, so whatever follows the request stays there and is relayed. */
#include "session/session.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session/chain.h"
#include "policy/acl.h"
#include "proto/http.h"
#include "policy/connlimit.h"
#include "net/resolve.h"
#include "policy/route.h"
#include "session/session_int.h"
#include "proto/socks4.h"
#include "proto/socks5.h"
#include "session/udp.h"
#include "base/util.h"

/* After an error reply, how long we keep reading (and discarding) so that
 * closing with unread input does not reset the connection and destroy the
 * reply before the client has read it. */
#define SESSION_LINGER_MS 2000

static const char *const state_names[] = {
	"detect",     "s4-request",   "s5-greeting", "s5-auth",	  "auth-verify",
	"s5-request", "http-request", "connect",     "bind-wait", "relay",
	"udp",	      "closing",      "linger",	     "done",
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
	log_debug("session %p: %s -> %s", (void *)s, state_names[s->state], state_names[next]);
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
	loop_timer_init(&su->retry, bind_on_retry, s);
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
		if (!r->buf[RELAY_DOWN])
			return false;
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
static void session_closing_progress(struct session *s)
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

/* ---- closing ---- */

static void session_unlink(struct session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		s->w->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void session_close_fd(struct session *s, struct loop_io *io, int *fd)
{
	/* Our sockets are never duplicated, so close() alone leaves epoll. */
	loop_io_forget(session_loop(s), io);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Bytes relayed from the target to the client, without our replies. */
static uint64_t session_bytes_down(const struct session *s)
{
	uint64_t all = s->relay.bytes[RELAY_DOWN];
	return all > s->reply_bytes ? all - s->reply_bytes : 0;
}

static void session_log_access(struct session *s)
{
	/* Formatting the line is most of a short session's user-space cost
	 * (bench/RESULTS.md): not for a line nobody will read. */
	if (!log_access_enabled())
		return;
	char client[64], target[TARGET_TEXT_MAX], addr[64] = "-", extra[320] = "";
	const char *cmd = "-";
	uint64_t up = s->relay.bytes[RELAY_UP], down = session_bytes_down(s);

	session_client_text(s, client, sizeof(client));
	target_compact_format(&s->dst, target, sizeof(target)); /* "-" before a request */
	if (s->addr.sa.sa_family != AF_UNSPEC)
		sockaddr_format(&s->addr.sa, addr, sizeof(addr));
	if (s->deny_reason) {
		/* "rule x.conf:12" -> deny=rule:x.conf:12, one token for parsers */
		size_t n = (size_t)snprintf(extra, sizeof(extra), " deny=%s", s->deny_reason);
		for (size_t i = 6; i < n && i < sizeof(extra); i++)
			if (extra[i] == ' ')
				extra[i] = ':';
	}
	if (s->udp) {
		const struct udp_counters *c = udp_assoc_counters(s->udp);
		extra[0] = ' ';
		udp_counters_format(c, extra + 1, sizeof(extra) - 1);
		up = c->bytes_up;
		down = c->bytes_down;
	}
	if (s->cmd == SOCKS5_CMD_CONNECT)
		cmd = "connect";
	else if (s->cmd == SOCKS5_CMD_BIND)
		cmd = "bind";
	else if (s->cmd == SOCKS5_CMD_UDP_ASSOCIATE)
		cmd = "udp";

	log_access("client=%s user=%s proto=%s cmd=%s target=%s addr=%s route=%s result=%s up=%llu "
		   "down=%llu ms=%llu%s",
		   client, s->user ? s->user : "-", proto_names[s->proto], cmd, target, addr,
		   s->route ? s->route : "-", s->result ? s->result : "closed",
		   (unsigned long long)up, (unsigned long long)down,
		   (unsigned long long)(loop_now_ms(session_loop(s)) - s->started_ms), extra);
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

	struct server *srv = s->w->srv;
	stats_add(&srv->stats, bytes_up, s->relay.bytes[RELAY_UP]);
	stats_add(&srv->stats, bytes_down, session_bytes_down(s));
	stats_add(&srv->stats, bytes_spliced,
		  s->relay.spliced[RELAY_UP] + s->relay.spliced[RELAY_DOWN]);
	/* A command still being set up stops here, and leaves its addr= for
	 * the log line. */
	session_setup_end(s);
	session_log_access(s);
	if (s->udp) {
		const struct udp_counters *c = udp_assoc_counters(s->udp);
		stats_add(&srv->stats, udp_datagrams_up, c->pkts_up);
		stats_add(&srv->stats, udp_datagrams_down, c->pkts_down);
		stats_add(&srv->stats, bytes_up, c->bytes_up);
		stats_add(&srv->stats, bytes_down, c->bytes_down);
	}
	const struct udp_counters *uc = s->udp ? udp_assoc_counters(s->udp) : NULL;
	stats_session_end(&srv->stats, &s->sstats,
			  s->relay.bytes[RELAY_UP] + (uc ? uc->bytes_up : 0),
			  session_bytes_down(s) + (uc ? uc->bytes_down : 0));
	if (s->result && strcmp(s->result, "auth-failed") == 0 && session_users(s) &&
	    userdb_find(session_users(s), session_user(s)))
		stats_user_auth_failed(&srv->stats, session_user(s));

	loop_timer_cancel(session_loop(s), &s->timer);
	session_close_fd(s, &s->cio, &s->cfd);
	session_close_fd(s, &s->tio, &s->tfd);
	relay_release(&s->relay, session_pools(s));
	if (s->holds_client_slot) {
		struct sockaddr_storage client;
		sockaddr_ip_to_storage(&s->client, &client);
		limits_give_client(srv->limits, &client);
	}
	if (s->holds_user_slot)
		limits_give_user(srv->limits, session_user(s));
	udp_assoc_free(s->udp);
	if (s->auth_job) {
		s->auth_job->owner = NULL; /* the worker frees it when it returns */
		s->auth_job = NULL;
	}
	session_unlink(s);
	atomic_fetch_sub(&srv->connections, 1);
	stats_add(&srv->stats, sessions_active, -1);
	/* Events for our fds may still be queued in this loop round. */
	loop_defer_free(session_loop(s), session_free, s);
	worker_session_ended(s->w);
}

void session_close_all(struct worker *w, const char *reason)
{
	while (w->sessions)
		session_close(w->sessions, reason);
}

/* Relaying sessions (TCP, UDP, a BIND peer connected) have work in flight
 * worth a drain period; the others end now. */
void session_close_unestablished(struct worker *w, const char *reason)
{
	struct session *s = w->sessions;
	while (s) {
		struct session *next = s->next;
		if (s->state != S_RELAY && s->state != S_UDP)
			session_close(s, reason);
		s = next;
	}
}

/* After a reload: sessions of users who are no longer in the user file
 * end now, unless the configuration says to keep them. */
void session_on_reload(struct worker *w)
{
	struct snapshot *now = w->snap;
	struct session *s = w->sessions;
	while (s) {
		struct session *next = s->next;
		/* Nothing has been decided with the old configuration before the
		 * request runs: a handshake in progress continues under the new
		 * one (a user deleted now must not log in with the old file). */
		if (s->state < S_CONNECT && s->snap != now) {
			snapshot_unref(s->snap);
			s->snap = now;
			snapshot_ref(now);
		}
		s = next;
	}
	if (now->cfg.reload_keep_sessions)
		return;
	s = w->sessions;
	while (s) {
		struct session *next = s->next;
		if (s->user_from_file &&
		    (!now->users || !userdb_find(now->users, session_user(s)))) {
			session_log(s, LOG_LVL_INFO,
				    "user '%s' is no longer in the user file: closing",
				    session_user(s));
			session_close(s, "user-removed");
		}
		s = next;
	}
}

/* ---- interest: which events each socket should wake us for ---- */

static bool session_reads_handshake(const struct session *s)
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
		if (session_reads_handshake(s))
			cev |= LOOP_READ;
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

/* ---- connecting ---- */

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

void session_start_relay(struct session *s)
{
	/* What the relay needs is in the session now: the setup can go. */
	session_setup_end(s);
	s->result = "ok";
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
	session_update_interest(s);
}

static void session_connected(struct session *s)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	stats_inc(&s->w->srv->stats, connects_ok);
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
	stats_inc(&s->w->srv->stats, denied);
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
	stats_inc(&s->w->srv->stats, connects_failed);
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
		stats_inc(&s->w->srv->stats, connects_failed);
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
	stats_inc(&s->w->srv->stats, connects_ok);
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

/* The request is accepted: the handshake deadline ends here. The connect
 * deadline (resolution included) lives in the dial, or in the tunnel when
 * a route sends the target through a chain. */
static void session_start_connect(struct session *s)
{
	struct target dst;
	target_compact_get(&s->dst, &dst);
	loop_timer_cancel(session_loop(s), &s->timer);
	session_set_state(s, S_CONNECT);
	const struct config_route *route = route_match(session_cfg(s), &dst);
	s->route = route ? session_cfg(s)->chains[route->chain].name : "direct";
	struct session_setup *su = session_setup_new(s);
	if (!su) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	if (route && route->chain >= 0) {
		su->tunnel = malloc(sizeof(*su->tunnel));
		if (!su->tunnel) {
			session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
			return;
		}
		chain_start(su->tunnel, s->w, s->snap, (size_t)route->chain, &dst, &su->client,
			    session_on_tunnel, s);
	} else {
		dial_start(&su->dial, s->w, session_cfg(s), &su->client, &dst,
			   session_cfg(s)->timeout_connect_ms, session_on_dialed, s);
	}
	session_update_interest(s);
}

/* Read and throw away whatever fd has for us (a UDP control connection,
 * a lingering client). true when the peer has ended: EOF or an error. */
static bool session_discard_input(int fd)
{
	uint8_t sink[4096];
	for (;;) {
		ssize_t n = recv(fd, sink, sizeof(sink), 0);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
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
		s->udp = udp_assoc_new_upstream(s->w, session_cfg(s),
						s->authenticated ? session_user(s) : NULL, s->cfd,
						&client, &dst, relay, &err);
	else
		s->udp = udp_assoc_new(s->w, session_cfg(s),
				       s->authenticated ? session_user(s) : NULL, s->cfd, &client,
				       &dst, &err);
	if (!s->udp) {
		char ebuf[64];
		session_log(s, LOG_LVL_WARN, "cannot open a UDP relay socket: %s",
			    util_strerror(err, ebuf, sizeof(ebuf)));
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	stats_inc(&s->w->srv->stats, udp_associations);
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
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	session_set_state(s, S_CONNECT);
	chain_start_udp(su->tunnel, s->w, s->snap, (size_t)route->chain, session_on_udp_tunnel, s);
	session_update_interest(s);
}

/* The control connection of an association: it carries nothing, and its
 * end (or an error) ends the association (RFC 1928, section 7). */
static void session_on_udp_control(struct session *s)
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
static void session_on_udp_upstream(struct session *s)
{
	if (!session_discard_input(s->tfd))
		return;
	session_log(s, LOG_LVL_INFO, "the upstream ended the UDP association");
	session_close(s, "upstream-closed");
}

/* ---- commands ---- */

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
	stats_inc(&s->w->srv->stats, denied);
	s->deny_reason = v.why;
	session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied");
	return false;
}

/* Per-client and per-user session limits; the slots are given back when
 * the session ends. */
static bool session_take_slots(struct session *s)
{
	const struct config *cfg = session_cfg(s);
	struct limits *lim = s->w->srv->limits;
	const char *which = NULL;
	struct sockaddr_storage client;
	sockaddr_ip_to_storage(&s->client, &client);
	if (!limits_take_client(lim, &client, cfg->max_per_client))
		which = "max-connections-per-client";
	else
		s->holds_client_slot = true;
	if (!which && s->authenticated) {
		if (!limits_take_user(lim, session_user(s), cfg->max_per_user))
			which = "max-connections-per-user";
		else
			s->holds_user_slot = true;
	}
	if (!which)
		return true;
	session_log(s, LOG_LVL_WARN, "refused: %s reached", which);
	stats_inc(&s->w->srv->stats, refused_max_connections);
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
		stats_session_begin(&s->w->srv->stats, &s->sstats, (unsigned)s->proto - P_SOCKS4,
				    (unsigned)s->cmd - SOCKS5_CMD_CONNECT,
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
	default:
		break;
	}
	session_log(s, LOG_LVL_INFO, "command %u not supported", s->cmd);
	session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED, "unsupported");
}

/* ---- event handlers ---- */

static void session_on_client_handshake(struct session *s, unsigned events)
{
	if (events & LOOP_WRITE) {
		if (session_flush_client(s) < 0) {
			session_close(s, "reset");
			return;
		}
		session_closing_progress(s);
	}
	if ((events & LOOP_READ) && session_reads_handshake(s)) {
		ssize_t n = relay_fill(&s->relay, RELAY_UP, s->cfd, session_pool(s));
		if (n < 0 && n != -EAGAIN) {
			session_close(s, "reset");
			return;
		}
		if (n != 0 || s->relay.eof[RELAY_UP])
			session_advance(s);
	}
	/* A BIND client must read the second reply; one that has gone away
	 * would otherwise keep a listening port open until the deadline. */
	if (s->state == S_BIND_WAIT && s->relay.eof[RELAY_UP]) {
		session_log(s, LOG_LVL_INFO, "client closed while waiting for the BIND peer");
		session_close(s, "closed");
		return;
	}
	if (s->state == S_DONE)
		return;
	if (session_flush_client(s) < 0) {
		session_close(s, "reset");
		return;
	}
	session_closing_progress(s);
	session_update_interest(s);
}

/* After an error reply: read and discard until the client closes. */
static void session_on_linger(struct session *s)
{
	if (session_discard_input(s->cfd))
		session_close(s, s->result);
}

static void session_relay_step(struct session *s, bool up, bool down)
{
	struct relay *r = &s->relay;
	int rc = 0;
	if (up)
		rc = relay_pump(r, RELAY_UP, s->cfd, s->tfd, session_pools(s));
	if (rc == 0 && down)
		rc = relay_pump(r, RELAY_DOWN, s->tfd, s->cfd, session_pools(s));
	if (rc < 0) {
		char ebuf[64];
		session_log(s, LOG_LVL_DEBUG, "relay ended: %s",
			    util_strerror(rc, ebuf, sizeof(ebuf)));
		session_close(s, "reset");
		return;
	}
	s->last_active_ms = loop_now_ms(session_loop(s));
	if (relay_done(r)) {
		session_close(s, "ok");
		return;
	}
	session_update_interest(s);
}

static void session_on_client(struct loop *loop, void *arg, unsigned events)
{
	struct session *s = arg;
	switch (s->state) {
	case S_RELAY:
		session_relay_step(s, events & LOOP_READ, events & LOOP_WRITE);
		break;
	case S_LINGER:
		session_on_linger(s);
		break;
	case S_UDP:
		session_on_udp_control(s);
		break;
	default:
		session_on_client_handshake(s, events);
		break;
	}
}

static void session_on_target(struct loop *loop, void *arg, unsigned events)
{
	struct session *s = arg;
	if (s->state == S_RELAY)
		session_relay_step(s, events & LOOP_WRITE, events & LOOP_READ);
	else if (s->state == S_BIND_WAIT)
		bind_on_event(s, events);
	else if (s->state == S_UDP)
		session_on_udp_upstream(s);
}

static void session_on_timer(struct loop *loop, void *arg)
{
	struct session *s = arg;
	uint64_t now = loop_now_ms(loop);
	switch (s->state) {
	case S_RELAY: {
		uint64_t idle = session_cfg(s)->timeout_idle_ms;
		if (now < s->last_active_ms + idle) {
			loop_timer_set_at(loop, &s->timer, s->last_active_ms + idle);
			return;
		}
		session_log(s, LOG_LVL_INFO, "idle for %llu ms, closing", (unsigned long long)idle);
		session_close(s, "idle-timeout");
		return;
	}
	case S_UDP: {
		uint64_t idle = session_cfg(s)->timeout_udp_idle_ms;
		uint64_t last = udp_assoc_last_active(s->udp);
		if (now < last + idle) {
			loop_timer_set_at(loop, &s->timer, last + idle);
			return;
		}
		session_log(s, LOG_LVL_INFO, "UDP association idle for %llu ms, closing",
			    (unsigned long long)idle);
		session_close(s, "idle-timeout");
		return;
	}
	case S_BIND_WAIT:
		session_log(s, LOG_LVL_INFO, "BIND: no connection within %u ms",
			    session_cfg(s)->timeout_bind_ms);
		bind_stop_listening(s);
		session_fail(s, SOCKS5_REP_TTL_EXPIRED, "timeout");
		return;
	case S_CLOSING:
	case S_LINGER:
		session_close(s, s->result);
		return;
	default:
		session_log(s, LOG_LVL_INFO, "handshake timed out (%s)", state_names[s->state]);
		session_close(s, "handshake-timeout");
		return;
	}
}

/* ---- creation ---- */

void session_start(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	struct session *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	s->w = w;
	s->snap = w->snap;
	snapshot_ref(s->snap);
	s->cfd = fd;
	s->tfd = -1;
	s->state = S_DETECT;
	/* Listeners are TCP over IPv4 or IPv6: nothing else arrives here. */
	sockaddr_ip_set(&s->client, peer, peerlen);
	s->started_ms = loop_now_ms(w->loop);
	loop_io_init(&s->cio, session_on_client, s);
	loop_io_init(&s->tio, session_on_target, s);
	loop_timer_init(&s->timer, session_on_timer, s);

	/* TCP_NODELAY comes from the listener (worker_open_listener). */

	/* Linked before anything can fail, so session_close can unlink it. */
	s->next = w->sessions;
	if (w->sessions)
		w->sessions->prev = s;
	w->sessions = s;
	stats_inc(&w->srv->stats, sessions_total);
	stats_inc(&w->srv->stats, sessions_active);

	if (loop_io_add(w->loop, &s->cio, fd, LOOP_READ) < 0) {
		session_close(s, "error");
		return;
	}
	loop_timer_set(w->loop, &s->timer, session_cfg(s)->timeout_handshake_ms);
}
