/* The client session state machine.
 *
 *   DETECT ──0x04──> S4_REQUEST ─────────────────────────────┐
 *      └────0x05──> S5_GREETING ──> S5_AUTH ──> AUTH_VERIFY ─┤
 *                        └──────────────────────> S5_REQUEST ┤
 *                                                            v
 *                     RELAY <── CONNECT (dial.c: resolve, try each address)
 *   any failure ──> CLOSING (flush the error reply) ──> LINGER ──> DONE
 *
 * Every decision lives in struct session, never in a local that outlives a
 * call, because handlers are re-entered whenever more bytes arrive. Input
 * is parsed from relay.buf[RELAY_UP]; a parser consumes only whole
 * messages, so whatever follows the request stays there and is relayed. */
#include "session.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "dial.h"
#include "log.h"
#include "resolve.h"
#include "socks4.h"
#include "socks5.h"
#include "target.h"
#include "util.h"
#include "worker.h"

/* After an error reply, how long we keep reading (and discarding) so that
 * closing with unread input does not reset the connection and destroy the
 * reply before the client has read it. */
#define SESSION_LINGER_MS 2000

enum session_state {
	S_DETECT,
	S_S4_REQUEST,
	S_S5_GREETING,
	S_S5_AUTH,
	S_AUTH_VERIFY,
	S_S5_REQUEST,
	S_CONNECT,
	S_RELAY,
	S_CLOSING,
	S_LINGER,
	S_DONE,
};

static const char *const state_names[] = {
	"detect",  "s4-request", "s5-greeting", "s5-auth", "auth-verify", "s5-request",
	"connect", "relay",	 "closing",	"linger",  "done",
};

enum session_proto {
	P_NONE,
	P_SOCKS4,
	P_SOCKS4A,
	P_SOCKS5,
};

static const char *const proto_names[] = { "-", "socks4", "socks4a", "socks5" };

struct session {
	struct worker *w;
	struct session *prev, *next;

	enum session_state state;
	enum session_proto proto;
	uint8_t cmd;  /* SOCKS command; 0 until a request is parsed */
	int cfd, tfd; /* client and target sockets; -1 when closed */
	struct loop_io cio, tio;
	struct loop_timer timer; /* the deadline of the current phase */

	uint64_t started_ms;
	uint64_t last_active_ms;

	struct relay relay;
	uint32_t reply_bytes; /* our own handshake bytes, counted in relay.bytes[DOWN] */
	struct target dst;
	struct sockaddr_storage client;
	char user[AUTH_NAME_MAX + 1];

	struct dial dial; /* the outgoing connection, while it is made */

	struct auth_job *auth_job;
	const char *result; /* access-log result word */
};

static void session_close(struct session *s, const char *result);
static void session_advance(struct session *s);
static void session_update_interest(struct session *s);

/* ---- small helpers ---- */

static struct buf_pool *session_pool(struct session *s)
{
	return &s->w->bufs;
}

static const struct config *session_cfg(struct session *s)
{
	return s->w->srv->cfg;
}

static struct loop *session_loop(struct session *s)
{
	return s->w->loop;
}

static void session_set_state(struct session *s, enum session_state next)
{
	if (s->state == next)
		return;
	log_debug("session %p: %s -> %s", (void *)s, state_names[s->state], state_names[next]);
	s->state = next;
}

static const char *session_client_text(struct session *s, char *buf, size_t cap)
{
	sockaddr_format((const struct sockaddr *)&s->client, buf, cap);
	return buf;
}

/* A log line about this session, prefixed with the client address. */
#define session_log(s, level, fmt, ...)                                                     \
	do {                                                                                \
		if (log_enabled(level)) {                                                   \
			char who_[64];                                                      \
			log_msg(level, "client %s: " fmt,                                   \
				session_client_text(s, who_, sizeof(who_)), ##__VA_ARGS__); \
		}                                                                           \
	} while (0)

/* Queue bytes for the client behind anything already queued. The replies
 * we send are small and the buffer is empty when they are queued, so they
 * always fit. */
static bool session_queue_reply(struct session *s, const uint8_t *p, size_t n)
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
static int session_flush_client(struct session *s)
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
static void session_reply_and_close(struct session *s, const uint8_t *p, size_t n,
				    const char *result)
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

/* The request failed: answer with the protocol's error reply and close. */
static void session_fail(struct session *s, uint8_t socks5_rep, const char *result)
{
	uint8_t reply[SOCKS5_REPLY_MAX];
	ssize_t n;
	if (s->proto == P_SOCKS5)
		n = socks5_encode_reply(reply, sizeof(reply), socks5_rep, NULL);
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
	loop_io_del(session_loop(s), io);
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
	char client[64], target[TARGET_TEXT_MAX], addr[64] = "-";
	const char *cmd = "-";

	session_client_text(s, client, sizeof(client));
	if (s->dst.type != TARGET_NONE)
		target_format(&s->dst, target, sizeof(target));
	else
		snprintf(target, sizeof(target), "-");
	if (s->dial.have_addr)
		sockaddr_format((const struct sockaddr *)&s->dial.addr, addr, sizeof(addr));
	if (s->cmd == SOCKS5_CMD_CONNECT)
		cmd = "connect";
	else if (s->cmd == SOCKS5_CMD_BIND)
		cmd = "bind";
	else if (s->cmd == SOCKS5_CMD_UDP_ASSOCIATE)
		cmd = "udp";

	log_access("client=%s user=%s proto=%s cmd=%s target=%s addr=%s result=%s up=%llu "
		   "down=%llu ms=%llu",
		   client, s->user[0] ? s->user : "-", proto_names[s->proto], cmd, target, addr,
		   s->result ? s->result : "closed", (unsigned long long)s->relay.bytes[RELAY_UP],
		   (unsigned long long)session_bytes_down(s),
		   (unsigned long long)(loop_now_ms(session_loop(s)) - s->started_ms));
}

static void session_free(void *p)
{
	free(p);
}

static void session_close(struct session *s, const char *result)
{
	if (s->state == S_DONE)
		return;
	if (!s->result || s->state == S_RELAY)
		s->result = result;
	session_set_state(s, S_DONE);

	struct server *srv = s->w->srv;
	stats_add(&srv->stats, bytes_up, s->relay.bytes[RELAY_UP]);
	stats_add(&srv->stats, bytes_down, session_bytes_down(s));
	session_log_access(s);

	loop_timer_cancel(session_loop(s), &s->timer);
	session_close_fd(s, &s->cio, &s->cfd);
	session_close_fd(s, &s->tio, &s->tfd);
	relay_release(&s->relay, session_pool(s));
	dial_cancel(&s->dial);
	if (s->auth_job) {
		s->auth_job->owner = NULL; /* the worker frees it when it returns */
		s->auth_job = NULL;
	}
	session_unlink(s);
	atomic_fetch_sub(&srv->connections, 1);
	stats_add(&srv->stats, sessions_active, -1);
	/* Events for our fds may still be queued in this loop round. */
	loop_defer_free(session_loop(s), session_free, s);
}

void session_close_all(struct worker *w, const char *reason)
{
	while (w->sessions)
		session_close(w->sessions, reason);
}

/* ---- interest: which events each socket should wake us for ---- */

static bool session_reads_handshake(const struct session *s)
{
	return s->state < S_RELAY && !s->relay.eof[RELAY_UP] &&
	       buf_len(s->relay.buf[RELAY_UP]) < RELAY_BUF_SIZE;
}

static void session_update_interest(struct session *s)
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

static void session_connected(struct session *s)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	uint8_t reply[SOCKS5_REPLY_MAX];
	ssize_t n;

	stats_inc(&s->w->srv->stats, connects_ok);
	if (getsockname(s->tfd, (struct sockaddr *)&local, &len) < 0)
		memset(&local, 0, sizeof(local));
	/* BND.ADDR/PORT: the address our outgoing connection uses. */
	if (s->proto == P_SOCKS5)
		n = socks5_encode_reply(reply, sizeof(reply), SOCKS5_REP_SUCCEEDED,
					(const struct sockaddr *)&local);
	else
		n = socks4_encode_reply(reply, sizeof(reply), SOCKS4_CD_GRANTED,
					(const struct sockaddr *)&local);
	if (n < 0 || !session_queue_reply(s, reply, (size_t)n)) {
		session_close(s, "error");
		return;
	}
	s->result = "ok";
	session_set_state(s, S_RELAY);
	s->last_active_ms = loop_now_ms(session_loop(s));
	unsigned idle = session_cfg(s)->timeout_idle_ms;
	if (idle)
		loop_timer_set(session_loop(s), &s->timer, idle);

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

static void session_dial_failed(struct session *s, const struct dial *d, int err)
{
	char ebuf[64], target[TARGET_TEXT_MAX];
	target_format(&s->dst, target, sizeof(target));
	if (d->failed_in_dns) {
		const char *why = err == ENOENT	     ? "name not found"
				  : err == ETIMEDOUT ? "timed out"
						     : "resolver failure";
		session_log(s, LOG_LVL_INFO, "cannot resolve %s: %s", target, why);
		session_fail(s, SOCKS5_REP_HOST_UNREACHABLE,
			     err == ENOENT ? "not-found" : "dns-failed");
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
	if (loop_io_add(session_loop(s), &s->tio, fd, 0) < 0) {
		session_close(s, "error");
		return;
	}
	session_connected(s);
}

/* The request is accepted: the handshake deadline ends here and the
 * connect deadline (resolution included) lives in the dial. */
static void session_start_connect(struct session *s)
{
	loop_timer_cancel(session_loop(s), &s->timer);
	session_set_state(s, S_CONNECT);
	dial_start(&s->dial, s->w, &s->dst, session_cfg(s)->timeout_connect_ms, session_on_dialed,
		   s);
	session_update_interest(s);
}

/* ---- SOCKS4 / SOCKS4a ---- */

static bool session_socks4_allowed(struct session *s, const char *userid)
{
	const struct server *srv = s->w->srv;
	enum config_socks4 mode = srv->cfg->socks4;
	if (mode == CONFIG_SOCKS4_AUTO)
		mode = srv->users ? CONFIG_SOCKS4_OFF : CONFIG_SOCKS4_ON;
	if (mode == CONFIG_SOCKS4_ON)
		return true;
	if (mode == CONFIG_SOCKS4_KNOWN_USER && srv->users && userdb_find(srv->users, userid))
		return true;
	session_log(s, LOG_LVL_INFO, "SOCKS4 request refused: %s",
		    mode == CONFIG_SOCKS4_OFF ? "SOCKS4 is off (a user file is configured)"
					      : "USERID is not a known user");
	return false;
}

static void session_socks4_request(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct socks4_request req;
	ssize_t n = socks4_parse_request(buf_head(in), buf_len(in), &req);
	if (n == 0)
		return;
	if (n < 0) {
		session_log(s, LOG_LVL_INFO, "bad SOCKS4 request: %s", proto_strerror((int)-n));
		stats_inc(&s->w->srv->stats, bad_requests);
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "bad-request");
		return;
	}
	buf_consume(in, (size_t)n);
	s->proto = req.is_4a ? P_SOCKS4A : P_SOCKS4;
	s->cmd = req.cmd;
	s->dst = req.dst;
	snprintf(s->user, sizeof(s->user), "%s", req.userid);
	if (!session_socks4_allowed(s, req.userid)) {
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied");
		return;
	}
	if (req.cmd != SOCKS4_CMD_CONNECT) {
		session_log(s, LOG_LVL_INFO, "SOCKS4 command %u not supported", req.cmd);
		session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED, "unsupported");
		return;
	}
	session_start_connect(s);
}

/* ---- SOCKS5 ---- */

static void session_send_method(struct session *s, uint8_t method)
{
	uint8_t msg[2];
	socks5_encode_method_choice(msg, sizeof(msg), method);
	if (method == SOCKS5_METHOD_UNACCEPTABLE) {
		session_reply_and_close(s, msg, sizeof(msg), "auth-failed");
		return;
	}
	if (!session_queue_reply(s, msg, sizeof(msg)))
		session_close(s, "error");
}

static void session_socks5_greeting(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct socks5_greeting g;
	ssize_t n = socks5_parse_greeting(buf_head(in), buf_len(in), &g);
	if (n == 0)
		return;
	if (n < 0) {
		session_log(s, LOG_LVL_INFO, "bad SOCKS5 greeting: %s", proto_strerror((int)-n));
		stats_inc(&s->w->srv->stats, bad_requests);
		session_send_method(s, SOCKS5_METHOD_UNACCEPTABLE);
		return;
	}
	buf_consume(in, (size_t)n);
	/* With a user file we fail closed: "no authentication" is never chosen. */
	uint8_t want = s->w->srv->users ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
	if (!socks5_greeting_offers(&g, want)) {
		session_log(s, LOG_LVL_INFO, "no acceptable SOCKS5 method (need %s)",
			    want == SOCKS5_METHOD_USERPASS ? "username/password" : "none");
		session_send_method(s, SOCKS5_METHOD_UNACCEPTABLE);
		return;
	}
	session_send_method(s, want);
	if (s->state == S_DONE)
		return;
	session_set_state(s, want == SOCKS5_METHOD_USERPASS ? S_S5_AUTH : S_S5_REQUEST);
}

static void session_auth_reply(struct session *s, bool ok)
{
	uint8_t msg[2];
	struct stats *st = &s->w->srv->stats;
	socks5_encode_userpass_reply(msg, sizeof(msg), ok ? 0x00 : 0x01);
	if (!ok) {
		stats_inc(st, auth_failed);
		/* A line fail2ban-style tools can match. */
		session_log(s, LOG_LVL_WARN, "authentication failed for user '%s'", s->user);
		session_reply_and_close(s, msg, sizeof(msg), "auth-failed");
		return;
	}
	stats_inc(st, auth_ok);
	if (!session_queue_reply(s, msg, sizeof(msg))) {
		session_close(s, "error");
		return;
	}
	session_set_state(s, S_S5_REQUEST);
}

static void session_socks5_auth(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct socks5_userpass up;
	ssize_t n = socks5_parse_userpass(buf_head(in), buf_len(in), &up);
	if (n == 0)
		return;
	if (n < 0) {
		session_log(s, LOG_LVL_INFO, "bad RFC 1929 message: %s", proto_strerror((int)-n));
		stats_inc(&s->w->srv->stats, bad_requests);
		session_auth_reply(s, false);
		return;
	}
	buf_consume(in, (size_t)n);
	snprintf(s->user, sizeof(s->user), "%s", up.user);

	const char *hash = userdb_find(s->w->srv->users, up.user);
	uint64_t now = loop_now_ms(session_loop(s));
	if (hash && auth_cache_lookup(s->w->auth_cache, up.user, up.pass, hash, now)) {
		explicit_bzero(&up, sizeof(up));
		stats_inc(&s->w->srv->stats, auth_cache_hits);
		session_auth_reply(s, true);
		return;
	}
	/* argon2 takes tens of milliseconds: never on the loop thread. */
	s->auth_job = auth_job_new(up.user, up.pass, hash ? hash : "", &s->w->auth_done, s);
	explicit_bzero(&up, sizeof(up));
	if (!s->auth_job) {
		session_close(s, "error");
		return;
	}
	session_set_state(s, S_AUTH_VERIFY);
	auth_pool_submit(s->w->srv->auth_pool, s->auth_job);
}

void session_on_auth_done(struct auth_job *job)
{
	struct session *s = job->owner;
	if (!s)
		return; /* the session ended while the job ran */
	s->auth_job = NULL;
	if (job->ok && job->hash[0])
		auth_cache_insert(s->w->auth_cache, job->user, job->pass, job->hash,
				  loop_now_ms(session_loop(s)));
	session_auth_reply(s, job->ok && job->hash[0]);
	if (s->state == S_DONE)
		return;
	/* The request may already be waiting in the buffer. */
	if (s->state != S_CLOSING)
		session_advance(s);
	if (s->state != S_DONE && s->state != S_CLOSING) {
		if (session_flush_client(s) < 0) {
			session_close(s, "reset");
			return;
		}
		session_update_interest(s);
	}
}

/* RFC 1928 has codes for an unknown command and address type; every other
 * malformed request is a general failure. */
static uint8_t socks5_rep_for_parse_error(int err)
{
	switch (err) {
	case PROTO_ECMD:
		return SOCKS5_REP_CMD_NOT_SUPPORTED;
	case PROTO_EATYP:
		return SOCKS5_REP_ATYP_NOT_SUPPORTED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

static void session_socks5_request(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct socks5_request req;
	ssize_t n = socks5_parse_request(buf_head(in), buf_len(in), &req);
	if (n == 0)
		return;
	if (n < 0) {
		uint8_t rep = socks5_rep_for_parse_error((int)-n);
		session_log(s, LOG_LVL_INFO, "bad SOCKS5 request: %s", proto_strerror((int)-n));
		stats_inc(&s->w->srv->stats, bad_requests);
		session_fail(s, rep,
			     rep == SOCKS5_REP_GENERAL_FAILURE ? "bad-request" : "unsupported");
		return;
	}
	buf_consume(in, (size_t)n);
	s->cmd = req.cmd;
	s->dst = req.dst;
	if (req.cmd != SOCKS5_CMD_CONNECT) {
		session_log(s, LOG_LVL_INFO, "SOCKS5 command %u not supported yet", req.cmd);
		session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED, "unsupported");
		return;
	}
	session_start_connect(s);
}

/* ---- the handshake driver ---- */

static void session_detect(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	if (buf_len(in) == 0)
		return;
	uint8_t v = buf_head(in)[0];
	if (v == SOCKS4_VERSION) {
		s->proto = P_SOCKS4;
		stats_inc(&s->w->srv->stats, sessions_socks4);
		session_set_state(s, S_S4_REQUEST);
	} else if (v == SOCKS5_VERSION) {
		s->proto = P_SOCKS5;
		stats_inc(&s->w->srv->stats, sessions_socks5);
		session_set_state(s, S_S5_GREETING);
	} else {
		session_log(s, LOG_LVL_INFO, "not a SOCKS request (first byte 0x%02x)", v);
		stats_inc(&s->w->srv->stats, bad_requests);
		session_close(s, "bad-request");
	}
}

static bool session_in_handshake_input(const struct session *s)
{
	return s->state == S_DETECT || s->state == S_S4_REQUEST || s->state == S_S5_GREETING ||
	       s->state == S_S5_AUTH || s->state == S_S5_REQUEST;
}

/* Run the parsers over what the client sent until one needs more bytes or
 * the session leaves the handshake. */
static void session_advance(struct session *s)
{
	while (session_in_handshake_input(s) && s->relay.buf[RELAY_UP]) {
		enum session_state before = s->state;
		size_t len_before = buf_len(s->relay.buf[RELAY_UP]);
		switch (s->state) {
		case S_DETECT:
			session_detect(s);
			break;
		case S_S4_REQUEST:
			session_socks4_request(s);
			break;
		case S_S5_GREETING:
			session_socks5_greeting(s);
			break;
		case S_S5_AUTH:
			session_socks5_auth(s);
			break;
		case S_S5_REQUEST:
			session_socks5_request(s);
			break;
		default:
			return;
		}
		if (s->state == before && buf_len(s->relay.buf[RELAY_UP]) == len_before)
			break; /* needs more input */
	}
	if (session_in_handshake_input(s) && s->relay.eof[RELAY_UP]) {
		session_log(s, LOG_LVL_INFO, "client closed during the handshake (%s)",
			    state_names[s->state]);
		session_close(s, "closed");
	}
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
	uint8_t sink[4096];
	for (;;) {
		ssize_t n = recv(s->cfd, sink, sizeof(sink), 0);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		session_close(s, s->result);
		return;
	}
}

static void session_relay_step(struct session *s, bool up, bool down)
{
	struct relay *r = &s->relay;
	int rc = 0;
	if (up)
		rc = relay_pump(r, RELAY_UP, s->cfd, s->tfd, true, session_pool(s));
	if (rc == 0 && down)
		rc = relay_pump(r, RELAY_DOWN, s->tfd, s->cfd, true, session_pool(s));
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
	s->cfd = fd;
	s->tfd = -1;
	s->state = S_DETECT;
	if (peerlen <= sizeof(s->client))
		memcpy(&s->client, peer, peerlen);
	s->started_ms = loop_now_ms(w->loop);
	loop_io_init(&s->cio, session_on_client, s);
	loop_io_init(&s->tio, session_on_target, s);
	loop_timer_init(&s->timer, session_on_timer, s);

	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

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
	loop_timer_set(w->loop, &s->timer, w->srv->cfg->timeout_handshake_ms);
}
