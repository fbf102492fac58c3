/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Access control: may this client, as this user, run this command toward
 * this destination?
 *
 * The rules are the "allow" and "deny" lines of the config (struct
 * config_acl_rule in config.h); this module only decides. Everything here
 * is pure: no I/O, no clock, no name lookups, no logging.
 *
 * The decision, in order:
 *
 *  1. The destination guard (destination-guard on): a client that is not
 *     itself on loopback may not reach loopback, link-local, private or
 *     unspecified addresses (see acl_guard_covers). Checked first, so a
 *     guard block wins over any allow rule. It applies to CONNECT and to
 *     UDP datagrams, not to BIND, which makes no outgoing connection.
 *  2. With rules: the first rule whose every term matches decides; when
 *     none does, the request is denied ("default deny").
 *  3. Without rules: clients on loopback may go anywhere; clients that
 *     logged in (a user file is configured) may go anywhere, from
 *     anywhere, because authentication is the admission; everyone else is
 *     denied ("default: loopback only").
 *
 * Destinations are matched as route.c matches them, in the form the client
 * gave: a name never matches a CIDR "to" term and an address never matches
 * a name term. So "deny to 10.0.0.0/8" does not stop a client that asks
 * for a name resolving into 10.0.0.0/8; pair it with the destination guard
 * (which the session applies again to every address it resolved, through
 * acl_guard_blocks) or with name rules. */
#ifndef HOPSOCKS_ACL_H
#define HOPSOCKS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "proto/target.h"

struct acl_request {
	const struct sockaddr_storage *client; /* the client's address; NULL = unknown */
	const char *user;		       /* who logged in; NULL (or "") = nobody */
	unsigned command;		       /* one ACL_CMD_* */
	/* The destination; NULL when there is none yet: a UDP ASSOCIATE
	 * before its first datagram. Then a rule with a "to" or "port" term
	 * counts as matching if it allows and is skipped if it denies, so the
	 * association opens when some destination could be allowed; every
	 * datagram is then checked with its own destination. (The request's
	 * DST.ADDR of a UDP ASSOCIATE is where the client will send from, not
	 * a destination: do not pass it.) For BIND, pass the request's DST. */
	const struct target *dst;
};

struct acl_verdict {
	bool allow;
	const struct config_acl_rule
		*rule; /* the rule that decided; NULL = a default or the guard */
	/* Short, static or owned by cfg, for log lines: "rule x.conf:12",
	 * "default deny", "default: loopback only", "default: loopback client",
	 * "default: authenticated", "destination guard". */
	const char *why;
};

struct acl_verdict acl_check(const struct config *cfg, const struct acl_request *r);

/* Before a client has sent anything but its first byte: could any request
 * of a client at this address be allowed? allow false means no rule (nor
 * the default) could ever admit it, whoever it logs in as and whatever it
 * asks for; why and rule then name what refuses it: the first rule that
 * names this client with no other term and denies, or the default. The
 * session refuses such a client before it reads a method or a password,
 * so a locked-out network cannot test passwords. The destination guard
 * plays no part: it depends on the destination. */
struct acl_verdict acl_check_client(const struct config *cfg,
				    const struct sockaddr_storage *client);

/* Is peer (the socket's address) one of the proxy-protocol balancers
 * (config.proxy_from)? Those, and only those, may name the client in a
 * PROXY protocol header. */
bool acl_proxy_trusted(const struct config *cfg, const struct sockaddr_storage *peer);

/* Does rule alone match r? (acl_check tries each rule with this; a NULL
 * dst is treated as there.) */
bool acl_rule_matches(const struct config_acl_rule *rule, const struct acl_request *r);

/* The destination guard for one resolved address: true when the guard is
 * on, client is not on loopback (NULL counts as not) and dst is in a
 * guarded range. The session calls it for each address a name resolved
 * to, before connecting; acl_check already covers IP destinations. */
bool acl_guard_blocks(const struct config *cfg, const struct sockaddr_storage *client,
		      const struct sockaddr *dst);

/* Is dst in a range the guard protects? 0.0.0.0/8, 10.0.0.0/8,
 * 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, ::, ::1,
 * fc00::/7, fe80::/10, and the IPv4-mapped (::ffff:a.b.c.d) forms of the
 * IPv4 ones. Anything but AF_INET/AF_INET6 is covered (refused). */
bool acl_guard_covers(const struct sockaddr *dst);

/* 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. NULL and other families: false. */
bool acl_addr_is_loopback(const struct sockaddr *sa);

/* The rule as written, normalised: "allow from 10.0.0.0/8 user * command
 * connect,udp to .example port 443", "deny *". For logs, the status page
 * and tests. Returns what snprintf returns. */
int acl_rule_format(const struct config_acl_rule *rule, char *out, size_t cap);

#endif
