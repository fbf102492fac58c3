/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The PROXY protocol on the listeners (`proxy-protocol v1|v2|any from
 * NET...`). Behind a load balancer every connection comes from the
 * balancer; the header it writes first names the client it accepted.
 *
 *   accept ──> S_PROXY ──(header)──> S_DETECT ──> ... as without it
 *
 * Only the listed balancers may send one, and they must: a connection
 * from anywhere else, or one from a balancer that starts with anything
 * but a valid header of the accepted version, is closed at once, with a
 * log line and hopsocks_proxy_refused_total, and no reply (we do not know
 * which protocol the bytes were meant to be).
 *
 * Everything after the header sees the header's source as the client:
 * the access rules (acl_check_client runs in S_DETECT, after the header,
 * so it judges the true client and never the balancer), the
 * max-connections-per-client slot (not taken at accept for a balancer's
 * connection, taken here for the true client), the auth throttle, logs,
 * statistics and the UDP association's source filter. A v2 LOCAL or v1
 * UNKNOWN header (the balancer's own health check) keeps the socket's
 * address as the client. */
#include "session/session_proxy.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/stats.h"
#include "policy/acl.h"
#include "policy/connlimit.h"
#include "proto/proxyproto.h"

/* How much of a refused connection's first bytes the log line shows. */
#define PROXY_LOG_BYTES 24

/* A balancer's connection without a valid header is a misconfiguration
 * worth a warning; a stranger knocking is refused like any client an
 * access rule refuses (info). */
static void session_proxy_refuse(struct session *s, enum log_level level, const char *why)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	char shown[LOG_ESC_SIZE(PROXY_LOG_BYTES)] = "";
	size_t n = in != NULL ? buf_len(in) : 0;
	bool cut = false;

	if (n > 0)
		log_escape(shown, sizeof(shown), (const char *)buf_head(in),
			   n < PROXY_LOG_BYTES ? n : PROXY_LOG_BYTES, &cut);
	session_log(s, level, "refused by proxy-protocol: %s%s%s%s%s", why,
		    n > 0 ? " (first bytes \"" : "", shown, n > PROXY_LOG_BYTES || cut ? "..." : "",
		    n > 0 ? "\")" : "");
	stats_inc(s->ctx->net.stats, proxy_refused);
	session_close(s, "proxy-refused");
}

bool session_proxy_admit(struct session *s)
{
	struct sockaddr_storage peer;

	sockaddr_ip_to_storage(&s->client, &peer);
	if (acl_proxy_trusted(session_cfg(s), &peer))
		return true;
	session_proxy_refuse(s, LOG_LVL_INFO,
			     "not a listed load balancer (proxy-protocol ... from)");
	return false;
}

/* max-connections-per-client for the client the header named: the
 * balancer's connection took no slot at accept. */
static bool session_proxy_take_slot(struct session *s)
{
	struct sockaddr_storage client;
	struct limits_refusal refusal;
	unsigned max = session_cfg(s)->max_per_client;

	sockaddr_ip_to_storage(&s->client, &client);
	if (limits_take_client(s->ctx->shared->limits, &client, max, loop_now_ms(session_loop(s)),
			       &refusal)) {
		s->holds_client_slot = true;
		return true;
	}
	stats_inc(s->ctx->net.stats, refused_max_connections);
	if (refusal.log)
		session_log(s, LOG_LVL_WARN,
			    "refused, max-connections-per-client (%u) reached (%u more refused "
			    "since the last such line)",
			    max, refusal.unlogged);
	session_close(s, "busy");
	return false;
}

static unsigned session_proxy_bit(unsigned version)
{
	return version == 1 ? CONFIG_PROXY_V1 : CONFIG_PROXY_V2;
}

void session_proxy_header(struct session *s)
{
	struct buf *in = s->relay.buf[RELAY_UP];
	struct proxyproto_header h;
	char why[96];
	ssize_t n;

	if (in == NULL || buf_len(in) == 0)
		return;
	n = proxyproto_parse(buf_head(in), buf_len(in), &h);
	if (n == 0)
		return;
	if (n < 0) {
		snprintf(why, sizeof(why), "no valid PROXY protocol header (%s)",
			 proto_strerror((int)n));
		session_proxy_refuse(s, LOG_LVL_WARN, why);
		return;
	}
	if (!(session_cfg(s)->proxy_protocol & session_proxy_bit(h.version))) {
		snprintf(why, sizeof(why), "a PROXY protocol v%u header, and only v%u is accepted",
			 h.version, h.version == 1 ? 2u : 1u);
		session_proxy_refuse(s, LOG_LVL_WARN, why);
		return;
	}
	buf_consume(in, (size_t)n);
	if (h.cmd == PROXYPROTO_CMD_PROXY) {
		char balancer[64];

		session_client_text(s, balancer, sizeof(balancer));
		sockaddr_ip_set(&s->client, (const struct sockaddr *)&h.src, sizeof(h.src));
		session_log(s, LOG_LVL_DEBUG, "PROXY v%u header from balancer %s", h.version,
			    balancer);
	} else {
		session_log(s, LOG_LVL_DEBUG, "PROXY v%u %s header: the balancer's own connection",
			    h.version, h.version == 1 ? "UNKNOWN" : "LOCAL");
	}
	if (!session_proxy_take_slot(s))
		return;
	session_set_state(s, S_DETECT);
}
