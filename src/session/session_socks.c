/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The SOCKS4, SOCKS4a, SOCKS5 and HTTP CONNECT handshakes: detect the
 * protocol from the first bytes, negotiate the method, authenticate
 * (RFC 1929 or HTTP Basic, verified off the loop), and parse the request.
 * Each step parses from relay.buf[UP] and consumes only whole messages.
 *
 *   DETECT ──0x04──> S4_REQUEST ──────────────────────────────> run command
 *      ├────0x05──> S5_GREETING ──> S5_AUTH ──> AUTH_VERIFY ──> S5_REQUEST ─┘
 *      │                 └──────────────────────────────────────┘
 *      └──"CONNECT "──> HTTP_REQUEST ──> [AUTH_VERIFY] ──> run command
 */
#include "session/session_socks.h"

#include <string.h>

#include "policy/acl.h"
#include "policy/auth.h"
#include "policy/auth_cache.h"
#include "policy/auth_pam.h"
#include "policy/throttle.h"
#include "proto/http.h"
#include "proto/socks4.h"
#include "proto/socks5.h"
#include "session/session_cmd.h"
#include "session/session_core.h"
#include "session/session_proxy.h"

/* Keep the request's destination (and SOCKS4's USERID, when user is not
 * NULL) for the session's life, each at its own length: see struct
 * session. false when out of memory; the caller answers with the
 * protocol's general failure, as for any other allocation failure. */
static bool session_keep_request(struct session *s, const struct target *dst, const char *user)
{
	if (target_compact_set(&s->dst, dst) == 0 && (!user || session_set_user(s, user)))
		return true;
	session_log(s, LOG_LVL_WARN, "out of memory keeping the request");
	return false;
}

/* ---- SOCKS4 / SOCKS4a ---- */

static bool session_socks4_allowed(struct session *s, const char *userid)
{
	const struct userdb *users = session_users(s);
	enum config_socks4 mode = session_cfg(s)->socks4;
	if (mode == CONFIG_SOCKS4_AUTO)
		mode = users ? CONFIG_SOCKS4_OFF : CONFIG_SOCKS4_ON;
	if (mode == CONFIG_SOCKS4_ON)
		return true;
	if (mode == CONFIG_SOCKS4_KNOWN_USER && users && userdb_find(users, userid)) {
		s->user_from_file = true; /* a reload that deletes the user ends it */
		return true;
	}
	session_log(s, LOG_LVL_INFO, "SOCKS4 request refused: %s",
		    mode != CONFIG_SOCKS4_OFF	? "USERID is not a known user"
		    : userdb_pam_service(users) ? "SOCKS4 is off (users pam is configured)"
						: "SOCKS4 is off (a user file is configured)");
	return false;
}

void session_socks4_request(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct socks4_request req;
	ssize_t n = socks4_parse_request(buf_head(in), buf_len(in), &req);
	if (n == 0)
		return;
	if (n < 0) {
		session_log(s, LOG_LVL_INFO, "bad SOCKS4 request: %s", proto_strerror((int)-n));
		stats_inc(s->ctx->net.stats, bad_requests);
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "bad-request");
		return;
	}
	buf_consume(in, (size_t)n);
	s->proto = req.is_4a ? P_SOCKS4A : P_SOCKS4;
	s->cmd = req.cmd;
	if (!session_keep_request(s, &req.dst, req.userid)) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	if (!session_socks4_allowed(s, req.userid)) {
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied");
		return;
	}
	session_run_command(s);
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

void session_socks5_greeting(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct socks5_greeting g;
	ssize_t n = socks5_parse_greeting(buf_head(in), buf_len(in), &g);
	if (n == 0)
		return;
	if (n < 0) {
		session_log(s, LOG_LVL_INFO, "bad SOCKS5 greeting: %s", proto_strerror((int)-n));
		stats_inc(s->ctx->net.stats, bad_requests);
		session_send_method(s, SOCKS5_METHOD_UNACCEPTABLE);
		return;
	}
	buf_consume(in, (size_t)n);
	/* With a user file we fail closed: "no authentication" is never chosen. */
	uint8_t want = session_users(s) ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
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

/* Count one failed attempt of this client address as user (the log line
 * when it starts a block). */
static void session_count_failure(struct session *s, const struct sockaddr_storage *client)
{
	if (throttle_record_failure(s->ctx->shared->throttle, client, session_user(s),
				    loop_now_ms(session_loop(s))))
		session_log(s, LOG_LVL_WARN, "too many failed authentications: blocked for %u ms",
			    session_cfg(s)->auth_throttle_block_ms);
}

/* Count an authentication's outcome for this client address, whatever
 * the protocol: a success clears the failures of its user name (its own
 * attempt, counted when it was handed to the pool, included); a failure
 * may block the address. */
static void session_auth_outcome(struct session *s, bool ok)
{
	struct session_shared *shared = s->ctx->shared;
	struct sockaddr_storage client;
	sockaddr_ip_to_storage(&s->client, &client);
	if (ok) {
		stats_inc(s->ctx->net.stats, auth_ok);
		s->authenticated = true;
		s->user_from_file = true;
		throttle_record_success(shared->throttle, &client, session_user(s));
		return;
	}
	stats_inc(s->ctx->net.stats, auth_failed);
	if (s->user) {
		char user[LOG_ESC_SIZE(AUTH_NAME_MAX)];

		/* A line fail2ban-style tools can match: the name is escaped, so
		 * it can neither end the line nor forge another one. */
		session_log(s, LOG_LVL_WARN, "authentication failed for user '%s'",
			    log_esc(user, sizeof(user), s->user));
	}
	/* A blocked address's refusals are not counted (the block is not
	 * extended by them), nor an attempt counted when it was submitted;
	 * the block such an attempt started is logged now that it failed
	 * (a right password lifts it, and must not look like a ban). */
	if (s->auth_counted) {
		if (s->auth_blocked_by_me)
			session_log(s, LOG_LVL_WARN,
				    "too many failed authentications: blocked for %u ms",
				    session_cfg(s)->auth_throttle_block_ms);
	} else if (!s->throttled) {
		session_count_failure(s, &client);
	}
}

static void session_auth_reply(struct session *s, bool ok)
{
	uint8_t msg[2];
	socks5_encode_userpass_reply(msg, sizeof(msg), ok ? 0x00 : 0x01);
	session_auth_outcome(s, ok);
	if (!ok) {
		session_reply_and_close(s, msg, sizeof(msg), "auth-failed");
		return;
	}
	if (!session_queue_reply(s, msg, sizeof(msg))) {
		session_close(s, "error");
		return;
	}
	session_set_state(s, S_S5_REQUEST);
}

/* Check user/pass against the user file or PAM: 1 = verified now (cache hit),
 * 0 = handed to the verification pool (the session waits in AUTH_VERIFY),
 * -1 = out of memory (the session is closed), -2 = the address is blocked,
 * -3 = the pool's queue is full (for everyone, or for this address). */
static int session_check_password(struct session *s, const char *user, const char *pass)
{
	/* Out of memory here ends the session like a job that cannot be
	 * allocated (below): there is no reply for it at this step. */
	if (!session_set_user(s, user)) {
		session_log(s, LOG_LVL_WARN, "out of memory keeping the user name");
		session_close(s, "error");
		return -1;
	}
	uint64_t now = loop_now_ms(session_loop(s));
	struct sockaddr_storage client;
	sockaddr_ip_to_storage(&s->client, &client);
	/* A blocked address is refused without spending argon2 on it. */
	if (throttle_blocked(s->ctx->shared->throttle, &client, now)) {
		session_log(s, LOG_LVL_INFO, "authentication refused: address blocked for failing");
		s->throttled = true;
		return -2;
	}
	const char *pam = userdb_pam_service(session_users(s));
	char pam_key[AUTH_PAM_KEY_MAX];
	const char *hash = pam ? auth_pam_cache_key(pam, pam_key, sizeof(pam_key))
			       : userdb_find(session_users(s), user);
	if (hash && auth_cache_lookup(s->ctx->auth_cache, user, pass, hash, now)) {
		stats_inc(s->ctx->net.stats, auth_cache_hits);
		return 1;
	}
	/* argon2 takes tens of milliseconds: never on the loop thread. The
	 * attempt is checked against the block and counted in one step, and
	 * credited back if it succeeds: attempts made in parallel cannot
	 * outrun the block. */
	struct throttle *throttle = s->ctx->shared->throttle;
	bool suspect = throttle_has_failures(throttle, &client, now);
	enum throttle_verdict v = throttle_attempt(throttle, &client, user, now);
	if (v == THROTTLE_BLOCKED) {
		session_log(s, LOG_LVL_INFO, "authentication refused: address blocked for failing");
		s->throttled = true;
		return -2;
	}
	/* An unknown user is checked against a dummy at the file's strongest
	 * cost: its answer takes as long as a known user's. */
	const char *check = pam ? "" : hash ? hash : userdb_dummy_hash(session_users(s));
	s->auth_job = auth_job_new(user, pass, check, s->ctx->auth_done, s, &client, suspect);
	if (s->auth_job && pam && !auth_job_use_pam(s->auth_job, pam)) {
		auth_job_free(s->auth_job);
		s->auth_job = NULL;
	}
	if (s->auth_job && !auth_pool_submit(s->ctx->shared->auth_pool, s->auth_job)) {
		/* The pool's queue is full, in all or for this address: no
		 * hashing, no counting, and a failure for the client. */
		auth_job_free(s->auth_job);
		s->auth_job = NULL;
		throttle_uncount(throttle, &client, user);
		stats_inc(s->ctx->net.stats, auth_queue_full);
		session_log(s, LOG_LVL_DEBUG, "authentication refused: verification queue full");
		return -3;
	}
	if (!s->auth_job) {
		throttle_uncount(throttle, &client, user);
		session_close(s, "error");
		return -1;
	}
	s->auth_counted = true;
	s->auth_blocked_by_me = v == THROTTLE_BLOCK_STARTED;
	session_set_state(s, S_AUTH_VERIFY);
	return 0;
}

void session_socks5_auth(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct socks5_userpass up;
	ssize_t n = socks5_parse_userpass(buf_head(in), buf_len(in), &up);
	if (n == 0)
		return;
	if (n < 0) {
		session_log(s, LOG_LVL_INFO, "bad RFC 1929 message: %s", proto_strerror((int)-n));
		stats_inc(s->ctx->net.stats, bad_requests);
		session_auth_reply(s, false);
		return;
	}
	buf_consume(in, (size_t)n);
	int rc = session_check_password(s, up.user, up.pass);
	explicit_bzero(&up, sizeof(up));
	if (rc > 0 || rc == -2) {
		session_auth_reply(s, rc > 0);
	} else if (rc == -3) {
		/* Not a failed login: the password was never checked. */
		uint8_t msg[2];
		socks5_encode_userpass_reply(msg, sizeof(msg), 0x01);
		session_reply_and_close(s, msg, sizeof(msg), "auth-busy");
	}
}

/* ---- HTTP CONNECT ---- */

static void session_http_refuse(struct session *s, int status, const char *detail,
				const char *result)
{
	uint8_t msg[HTTP_RESPONSE_MAX];
	ssize_t n = http_encode_response(msg, sizeof(msg), status, detail);
	if (n < 0) {
		session_close(s, result);
		return;
	}
	session_reply_and_close(s, msg, (size_t)n, result);
}

static void session_http_auth_failed(struct session *s, const char *why)
{
	/* No credentials at all (or none in a scheme hopsocks takes) is how
	 * every browser and curl --proxy-anyauth start: a 407 asking for them,
	 * result=auth-required, and no failed login counted anywhere. */
	if (s->user) {
		session_auth_outcome(s, false);
		session_http_refuse(s, 407, NULL, "auth-failed");
		return;
	}
	session_log(s, LOG_LVL_INFO, "HTTP CONNECT without usable credentials: %s", why);
	session_http_refuse(s, 407, NULL, "auth-required");
}

void session_http_request(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct http_request req;
	ssize_t n = http_parse_connect_request(buf_head(in), buf_len(in), &req);
	if (n == 0)
		return;
	if (n < 0) {
		int status = http_err_status((int)n);
		if (n == -HTTP_EMETHOD) {
			char method[LOG_ESC_SIZE(sizeof(req.method))];

			session_log(s, LOG_LVL_INFO, "HTTP method %s not supported (only CONNECT)",
				    log_esc(method, sizeof(method), req.method));
		} else {
			session_log(s, LOG_LVL_INFO, "bad HTTP request: %s", http_strerror((int)n));
		}
		stats_inc(s->ctx->net.stats, bad_requests);
		session_http_refuse(s, status, http_strerror((int)n),
				    n == -HTTP_EMETHOD ? "unsupported" : "bad-request");
		return;
	}
	buf_consume(in, (size_t)n);
	s->cmd = SOCKS5_CMD_CONNECT;
	if (!session_keep_request(s, &req.dst, NULL)) {
		explicit_bzero(&req, sizeof(req));
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	if (!session_users(s)) {
		session_run_command(s);
		return;
	}
	if (req.auth != HTTP_AUTH_BASIC) {
		session_http_auth_failed(s, req.auth == HTTP_AUTH_NONE ? "no Proxy-Authorization"
					    : req.auth == HTTP_AUTH_UNSUPPORTED
						    ? "not Basic"
						    : "malformed Basic credentials");
		explicit_bzero(&req, sizeof(req));
		return;
	}
	int rc = session_check_password(s, req.user, req.pass);
	explicit_bzero(&req, sizeof(req));
	if (rc == -2) {
		session_http_auth_failed(s, "address blocked");
	} else if (rc == -3) {
		session_http_refuse(s, 503, "authentication busy, try again", "auth-busy");
	} else if (rc > 0) {
		session_auth_outcome(s, true);
		session_run_command(s);
	}
}

void session_auth_verified(struct session *s, bool ok)
{
	if (s->proto == P_HTTP) {
		if (!ok) {
			session_http_auth_failed(s, "wrong password");
			return;
		}
		session_auth_outcome(s, true);
		session_run_command(s);
		return;
	}
	session_auth_reply(s, ok);
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

void session_socks5_request(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct socks5_request req;
	ssize_t n = socks5_parse_request(buf_head(in), buf_len(in), &req);
	if (n == 0)
		return;
	if (n < 0) {
		uint8_t rep = socks5_rep_for_parse_error((int)-n);
		session_log(s, LOG_LVL_INFO, "bad SOCKS5 request: %s", proto_strerror((int)-n));
		stats_inc(s->ctx->net.stats, bad_requests);
		session_fail(s, rep,
			     rep == SOCKS5_REP_GENERAL_FAILURE ? "bad-request" : "unsupported");
		return;
	}
	buf_consume(in, (size_t)n);
	if (!socks5_cmd_known(req.cmd)) {
		char target[TARGET_TEXT_MAX];
		target_format(&req.dst, target, sizeof(target));
		session_log(s, LOG_LVL_INFO, "unknown command 0x%02x (target %s)", req.cmd, target);
		stats_inc(s->ctx->net.stats, bad_requests);
		session_fail(s, SOCKS5_REP_CMD_NOT_SUPPORTED, "unsupported");
		return;
	}
	s->cmd = req.cmd;
	if (!session_keep_request(s, &req.dst, NULL)) {
		session_fail(s, SOCKS5_REP_GENERAL_FAILURE, "error");
		return;
	}
	session_run_command(s);
}

/* ---- the handshake driver ---- */

/* The protocol is known and nothing else has been read: a client address
 * that no access rule could ever admit is refused now, with the
 * protocol's refusal (SOCKS5 05 FF, SOCKS4 5B, HTTP 403), before a method
 * or a password is read -- a locked-out network must not learn which
 * passwords are right, nor spend argon2 on trying. */
static bool session_client_admitted(struct session *s)
{
	struct sockaddr_storage client;
	sockaddr_ip_to_storage(&s->client, &client);
	struct acl_verdict v = acl_check_client(session_cfg(s), &client);
	if (v.allow)
		return true;
	session_log(s, LOG_LVL_INFO, "refused before authentication by %s", v.why);
	stats_inc(s->ctx->net.stats, denied);
	s->deny_reason = v.why;
	if (s->proto == P_SOCKS5) {
		static const uint8_t no_method[2] = { SOCKS5_VERSION, SOCKS5_METHOD_UNACCEPTABLE };
		session_reply_and_close(s, no_method, sizeof(no_method), "denied");
	} else {
		/* SOCKS4 always answers 5B; HTTP maps "not allowed" to 403. */
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "denied");
	}
	return false;
}

void session_detect(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	if (buf_len(in) == 0)
		return;
	uint8_t v = buf_head(in)[0];
	if (v == SOCKS4_VERSION) {
		s->proto = P_SOCKS4;
		stats_inc(s->ctx->net.stats, sessions_socks4);
		if (session_client_admitted(s))
			session_set_state(s, S_S4_REQUEST);
		return;
	}
	if (v == SOCKS5_VERSION) {
		s->proto = P_SOCKS5;
		stats_inc(s->ctx->net.stats, sessions_socks5);
		if (session_client_admitted(s))
			session_set_state(s, S_S5_GREETING);
		return;
	}
	/* HTTP proxy clients share the port: a method token and a space. */
	int h = http_detect(buf_head(in), buf_len(in));
	if (h == HTTP_DETECT_MORE)
		return;
	if (h == HTTP_DETECT_YES) {
		s->proto = P_HTTP;
		stats_inc(s->ctx->net.stats, sessions_http);
		if (session_client_admitted(s))
			session_set_state(s, S_HTTP_REQUEST);
		return;
	}
	session_log(s, LOG_LVL_INFO, "neither SOCKS nor HTTP (first byte 0x%02x)", v);
	stats_inc(s->ctx->net.stats, bad_requests);
	session_close(s, "bad-request");
}

static bool session_in_handshake_input(const struct session *s)
{
	return s->state == S_PROXY || s->state == S_DETECT || s->state == S_S4_REQUEST ||
	       s->state == S_S5_GREETING || s->state == S_S5_AUTH || s->state == S_S5_REQUEST ||
	       s->state == S_HTTP_REQUEST;
}

/* Run the parsers over what the client sent until one needs more bytes or
 * the session leaves the handshake. */
void session_advance(struct session *s)
{
	while (session_in_handshake_input(s) && s->relay.buf[RELAY_UP]) {
		enum session_state before = s->state;
		size_t len_before = buf_len(s->relay.buf[RELAY_UP]);
		switch (s->state) {
		case S_PROXY:
			session_proxy_header(s);
			break;
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
		case S_HTTP_REQUEST:
			session_http_request(s);
			break;
		default:
			return;
		}
		if (s->state == before && buf_len(s->relay.buf[RELAY_UP]) == len_before)
			break; /* needs more input */
	}
	if (session_in_handshake_input(s) && s->relay.eof[RELAY_UP]) {
		session_log(s, LOG_LVL_INFO, "client closed during the handshake (%s)",
			    session_state_name(s->state));
		session_close(s, "closed");
	}
}
