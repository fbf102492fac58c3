/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The client session's entry points: accepting it, the events of its
 * sockets and its timer, the result of a password check, and what its
 * owner asks of all its sessions (stop, reload). Each hands the session to
 * the file that implements its state:
 *
 *   accept ──> handshake (session_socks.c) ──> run command (session_cmd.c)
 *          ─┬─> CONNECT (dial.c, chain.c) ──┐
 *           ├─> BIND_WAIT (bind.c) ──────────┴─> RELAY
 *           └─> UDP (udp.c) until the control connection ends
 *   any failure ──> CLOSING (flush the error reply) ──> LINGER ──> DONE
 *
 * What every state shares (replies, failing, closing) is session_core.c. */
#include "session/session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "policy/acl.h"
#include "policy/auth.h"
#include "policy/auth_cache.h"
#include "policy/auth_pam.h"
#include "policy/connlimit.h"
#include "policy/snapshot.h"
#include "proto/socks5.h"
#include "session/bind.h"
#include "session/session_cmd.h"
#include "session/session_core.h"
#include "session/session_proxy.h"
#include "session/session_socks.h"
#include "session/udp.h"

#define SESSION_LOG_EVERY_MS 1000 /* log_every_due period for refusals */

/* ---- what the owner asks of all its sessions ---- */

void session_close_all(struct session_ctx *ctx, const char *reason)
{
	while (ctx->sessions)
		session_close(ctx->sessions, reason);
}

/* Relaying sessions (TCP, UDP, a BIND peer connected) have work in flight
 * worth a drain period; the others end now. */
void session_close_unestablished(struct session_ctx *ctx, const char *reason)
{
	struct session *s = ctx->sessions;
	while (s) {
		struct session *next = s->next;
		if (s->state != S_RELAY && s->state != S_UDP)
			session_close(s, reason);
		s = next;
	}
}

/* A session whose user a reload deleted ends now. One whose request was
 * accepted and not yet answered (connecting, resolving, or a BIND waiting
 * for its peer) gets its refusal first, as any failed request does (found
 * by tests/fuzz/fuzz_session.c: a chain being built was closed with no
 * reply at all). */
static void session_end_user_removed(struct session *s)
{
	switch (s->state) {
	case S_BIND_WAIT:
		bind_stop_listening(s);
		/* fall through */
	case S_CONNECT:
	case S_RESOLVE:
		session_setup_end(s);
		session_fail(s, SOCKS5_REP_NOT_ALLOWED, "user-removed");
		return;
	default:
		session_close(s, "user-removed");
		return;
	}
}

/* After a reload: sessions of users who are no longer in the user file
 * end now, unless the configuration says to keep them. */
void session_on_reload(struct session_ctx *ctx)
{
	struct snapshot *now = ctx->snap;
	struct session *s = ctx->sessions;
	while (s) {
		struct session *next = s->next;
		/* Nothing has been decided with the old configuration before the
		 * request runs: a handshake in progress continues under the new
		 * one (a user deleted now must not log in with the old file). */
		if (s->state < S_CONNECT && s->snap != now) {
			snapshot_unref(s->snap);
			s->snap = now;
			snapshot_ref(now);
			/* It chose "no authentication" when none was needed; now
			 * one is: its request must not run unauthenticated. */
			if (s->state == S_S5_REQUEST && !s->authenticated && now->users) {
				session_log(s, LOG_LVL_INFO,
					    "reload: authentication is now "
					    "required: closing");
				session_close(s, "auth-required");
			}
		}
		s = next;
	}
	if (now->cfg.reload_keep_sessions)
		return;
	s = ctx->sessions;
	while (s) {
		struct session *next = s->next;
		/* PAM has no list of users to check against: its sessions
		 * stay (a login is checked when it is made). */
		if (s->user_from_file && !userdb_pam_service(now->users) &&
		    (!now->users || !userdb_find(now->users, session_user(s)))) {
			char user[LOG_ESC_SIZE(AUTH_NAME_MAX)];

			session_log(s, LOG_LVL_INFO,
				    "user '%s' is no longer in the user file: closing",
				    log_esc(user, sizeof(user), s->user));
			session_end_user_removed(s);
		}
		s = next;
	}
}

/* ---- event handlers ---- */

/* No buffer could be allocated for this session: end it, and say so.
 * "reset" would blame the client or the target for what is the server's
 * own shortage, and with no line at all an operator could not tell why
 * clients are being dropped (tests/integration/test_faults.py). "error"
 * with a warning, as for the other allocations a session can lose. */
static void session_close_no_memory(struct session *s)
{
	session_log(s, LOG_LVL_WARN, "out of memory for a buffer, closing");
	session_close(s, "error");
}

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
		if (n == -ENOMEM) {
			session_close_no_memory(s);
			return;
		}
		if (n < 0 && n != -EAGAIN) {
			session_close(s, "reset");
			return;
		}
		if (n != 0 || s->relay.eof[RELAY_UP])
			session_advance(s);
	}
	/* A BIND client must read the second reply; one that has gone away
	 * would otherwise keep a listening port open until the deadline. It
	 * may be noticed by a read (EOF) or, while its input is paused, by
	 * LOOP_PEER_CLOSED. */
	if (s->state == S_BIND_WAIT &&
	    (s->relay.eof[RELAY_UP] || (events & (LOOP_PEER_CLOSED | LOOP_ERROR)))) {
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

/* The last sign of life: an event here, or a packet the kernel relay moved. */
static uint64_t session_last_active(struct session *s)
{
	uint64_t k = relay_kernel_last_ms(&s->relay, session_pools(s));
	return k > s->last_active_ms ? k : s->last_active_ms;
}

/* The relay's one timer: the idle deadline, or sooner, while a direction
 * waits for bytes the kernel relay still has to send, the next look. */
static void session_arm_relay_timer(struct session *s)
{
	struct loop *loop = session_loop(s);
	uint64_t idle = session_cfg(s)->timeout_idle_ms;
	uint64_t due = idle ? session_last_active(s) + idle : UINT64_MAX;
	if (relay_kernel_waiting(&s->relay)) {
		uint64_t look = loop_now_ms(loop) + s->relay.kwait_ms;
		if (look < due)
			due = look;
	}
	if (due == UINT64_MAX)
		loop_timer_cancel(loop, &s->timer);
	else
		loop_timer_set_at(loop, &s->timer, due);
}

static void session_relay_run(struct session *s, bool up, bool down)
{
	struct relay *r = &s->relay;
	const struct relay_pools *pools = session_pools(s);
	/* A direction waiting for the kernel's bytes looks at every chance. */
	if (relay_kernel_waiting(r))
		up = down = true;
	/* A failure ends its own direction only (relay.h): the other one
	 * still delivers what it owes before the session ends. */
	if (up)
		relay_pump(r, RELAY_UP, s->cfd, s->tfd, pools);
	if (down)
		relay_pump(r, RELAY_DOWN, s->tfd, s->cfd, pools);
	if (relay_kernel_overflowed(r, pools)) {
		session_abort_overflow(s);
		return;
	}
	if (!relay_done(r) && relay_try_kernel(r, s->cfd, s->tfd, pools))
		session_relay_handed(s);
	if (relay_kernel_waiting(r))
		session_arm_relay_timer(s);
	else
		r->kwait_ms = 1;
	if (relay_done(r)) {
		if (r->err != 0) {
			char ebuf[64];
			session_log(s, LOG_LVL_DEBUG, "relay ended: %s",
				    util_strerror(r->err, ebuf, sizeof(ebuf)));
		}
		if (r->err == ENOMEM) {
			session_close_no_memory(s);
			return;
		}
		session_close(s, r->err != 0 ? "reset" : "ok");
		return;
	}
	session_update_interest(s);
}

static void session_relay_step(struct session *s, bool up, bool down)
{
	s->last_active_ms = loop_now_ms(session_loop(s));
	session_relay_run(s, up, down);
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
		if (relay_kernel_waiting(&s->relay)) {
			if (s->relay.kwait_ms < 16)
				s->relay.kwait_ms *= 2;
			session_relay_run(s, false, false);
			if (s->state != S_RELAY)
				return;
		}
		uint64_t idle = session_cfg(s)->timeout_idle_ms;
		if (!idle || now < session_last_active(s) + idle) {
			session_arm_relay_timer(s);
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
		/* DST may still be resolving: its answer must not open a
		 * listener for a request that has already been answered. */
		session_setup_end(s);
		session_fail(s, SOCKS5_REP_TTL_EXPIRED, "timeout");
		return;
	case S_RESOLVE:
		session_log(s, LOG_LVL_INFO, "no answer to %s within %u ms",
			    s->cmd == SOCKS5_CMD_RESOLVE ? "RESOLVE" : "RESOLVE_PTR",
			    session_cfg(s)->timeout_connect_ms);
		session_setup_end(s);
		session_fail(s, SOCKS5_REP_HOST_UNREACHABLE, "dns-failed");
		return;
	case S_CLOSING:
	case S_LINGER:
		session_close(s, s->result);
		return;
	default:
		session_log(s, LOG_LVL_INFO, "handshake timed out (%s)",
			    session_state_name(s->state));
		session_close(s, "handshake-timeout");
		return;
	}
}

/* ---- creation ---- */

/* The connection is not served: close it and undo what the owner counted
 * when it accepted it. */
static void session_turn_away(struct session_ctx *ctx, int fd)
{
	atomic_fetch_sub(&ctx->shared->connections, 1);
	close(fd);
}

static bool session_peer_is_balancer(const struct config *cfg, const struct sockaddr *peer,
				     socklen_t peerlen)
{
	union sockaddr_ip ip;
	struct sockaddr_storage ss;

	sockaddr_ip_set(&ip, peer, peerlen);
	sockaddr_ip_to_storage(&ip, &ss);
	return acl_proxy_trusted(cfg, &ss);
}

/* max-connections-per-client counts a client's connections from accept,
 * handshakes included, so holding many half-open sessions is no way
 * around it. Beyond the limit the connection is closed at once; the line
 * that says so is written at most every LIMITS_LOG_EVERY_MS per address,
 * so a client cannot fill the log either. */
static bool session_client_slot(struct session_ctx *ctx, const struct sockaddr *peer,
				socklen_t peerlen)
{
	union sockaddr_ip ip;
	struct sockaddr_storage client;
	struct limits_refusal refusal;
	unsigned max = ctx->snap->cfg.max_per_client;

	sockaddr_ip_set(&ip, peer, peerlen);
	sockaddr_ip_to_storage(&ip, &client);
	if (limits_take_client(ctx->shared->limits, &client, max, loop_now_ms(ctx->net.loop),
			       &refusal))
		return true;
	stats_inc(ctx->net.stats, refused_max_connections);
	if (refusal.log) {
		char who[64];

		sockaddr_format(peer, who, sizeof(who));
		log_warn("client %s: refused at accept, max-connections-per-client (%u) reached "
			 "(%u more refused since the last such line)",
			 who, max, refusal.unlogged);
	}
	return false;
}

void session_start(struct session_ctx *ctx, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	/* proxy-protocol: a balancer's connection counts against the limit
	 * of the client its header names, once it has been read
	 * (session_proxy.c); anyone else's as usual, and is then refused. */
	bool via_balancer = ctx->snap->cfg.proxy_protocol != 0 &&
			    session_peer_is_balancer(&ctx->snap->cfg, peer, peerlen);

	if (!via_balancer && !session_client_slot(ctx, peer, peerlen)) {
		session_turn_away(ctx, fd);
		return;
	}
	struct session *s = calloc(1, sizeof(*s));
	if (!s) {
		union sockaddr_ip ip;
		struct sockaddr_storage client;
		unsigned skipped;

		/* Refused without a word, the client would not show in the log
		 * at all (tests/integration/test_faults.py); a line a second
		 * with the count in between is enough while memory is short. */
		if (log_every_due(&ctx->oom_log, loop_now_ms(ctx->net.loop), SESSION_LOG_EVERY_MS,
				  &skipped)) {
			char who[64];

			sockaddr_format(peer, who, sizeof(who));
			log_warn("client %s: refused, out of memory (%u more refused since the "
				 "last such line)",
				 who, skipped);
		}
		sockaddr_ip_set(&ip, peer, peerlen);
		sockaddr_ip_to_storage(&ip, &client);
		if (!via_balancer)
			limits_give_client(ctx->shared->limits, &client);
		session_turn_away(ctx, fd);
		return;
	}
	s->holds_client_slot = !via_balancer;
	s->ctx = ctx;
	s->snap = ctx->snap;
	snapshot_ref(s->snap);
	s->cfd = fd;
	s->tfd = -1;
	s->state = ctx->snap->cfg.proxy_protocol != 0 ? S_PROXY : S_DETECT;
	/* Listeners are TCP over IPv4 or IPv6: nothing else arrives here. */
	sockaddr_ip_set(&s->client, peer, peerlen);
	s->id = atomic_fetch_add_explicit(&ctx->shared->session_ids, 1, memory_order_relaxed) + 1;
	s->started_ms = loop_now_ms(ctx->net.loop);
	loop_io_init(&s->cio, session_on_client, s);
	loop_io_init(&s->tio, session_on_target, s);
	loop_timer_init(&s->timer, session_on_timer, s);

	/* TCP_NODELAY comes from the listener (worker_open_listener). */

	/* Linked before anything can fail, so session_close can unlink it. */
	s->next = ctx->sessions;
	if (ctx->sessions)
		ctx->sessions->prev = s;
	ctx->sessions = s;
	stats_inc(ctx->net.stats, sessions_total);
	stats_inc(ctx->net.stats, sessions_active);

	if (loop_io_add(ctx->net.loop, &s->cio, fd, LOOP_READ) < 0) {
		session_close(s, "error");
		return;
	}
	loop_timer_set(ctx->net.loop, &s->timer, session_cfg(s)->timeout_handshake_ms);
	if (s->state == S_PROXY && !via_balancer)
		session_proxy_admit(s); /* refuses and closes it */
}

/* ---- results from the verification pool ---- */

/* s escaped as log_esc() does, but with its spaces kept: PAM's error
 * texts are sentences ("Authentication failure"), and at the end of the
 * line a space separates no field. */
static const char *session_esc_text(char *out, size_t cap, const char *s)
{
	size_t used = 0;

	out[0] = '\0';
	for (; *s && used + 5 < cap; s++) {
		if (*s == ' ') {
			out[used++] = ' ';
			out[used] = '\0';
		} else {
			used += log_escape(out + used, cap - used, s, 1, NULL);
		}
	}
	return out;
}

/* A PAM check came back. As with the file, it counts only under the
 * service the session now runs under: a reload while PAM ran that
 * changed the service (or left PAM) makes it a failure. PAM's reason
 * goes to the log, escaped (modules' texts are not ours to trust). */
static void session_on_pam_done(struct session *s, const struct auth_job *job)
{
	const char *now = userdb_pam_service(session_users(s));
	bool ok = job->ok && now && strcmp(now, job->service) == 0;
	if (job->verified && !job->ok) {
		char svc[LOG_ESC_SIZE(AUTH_PAM_SERVICE_MAX)], why[LOG_ESC_SIZE(AUTH_PAM_ERROR_MAX)];
		session_log(s, LOG_LVL_INFO, "PAM service '%s': %s",
			    log_esc(svc, sizeof(svc), job->service),
			    session_esc_text(why, sizeof(why), job->error));
	} else if (job->ok && !ok) {
		session_log(s, LOG_LVL_INFO,
			    "reload: the PAM service changed during the check: login refused");
	}
	if (ok) {
		char key[AUTH_PAM_KEY_MAX];
		auth_cache_insert(s->ctx->auth_cache, job->user, job->pass,
				  auth_pam_cache_key(job->service, key, sizeof(key)),
				  loop_now_ms(session_loop(s)));
	}
	session_auth_verified(s, ok);
}

void session_on_auth_done(struct auth_job *job)
{
	struct session *s = job->owner;
	if (!s)
		return; /* the session ended while the job ran */
	s->auth_job = NULL;
	if (job->service[0]) {
		session_on_pam_done(s, job);
		return;
	}
	/* A reload while argon2 ran may have changed or deleted the user:
	 * the password must match the file the session now runs under. */
	const char *hash_now = userdb_find(session_users(s), job->user);
	bool ok = job->ok && job->hash[0] && hash_now && strcmp(hash_now, job->hash) == 0;
	if (ok)
		auth_cache_insert(s->ctx->auth_cache, job->user, job->pass, job->hash,
				  loop_now_ms(session_loop(s)));
	session_auth_verified(s, ok);
}
