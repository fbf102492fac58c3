/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The validated configuration: what a parsed config file (and the command
 * line) says, as types only. It is built once (or once per reload) by
 * config_load.h's functions and then read-only: workers share one
 * snapshot without locks. */
#ifndef HOPSOCKS_CONFIG_H
#define HOPSOCKS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONFIG_DEFAULT_LISTEN "127.0.0.1:1080"
#define CONFIG_ERR_MAX 512
#define CONFIG_PAM_SERVICE_MAX 64 /* "users pam SERVICE" */

struct config_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* as written, normalised: "127.0.0.1:1080", "[::1]:1080" */
	unsigned line; /* where a listen or admin address was written; 0 = command line */
};

/* Where outgoing connections come from ("outgoing" lines, a route's
 * "outgoing" term): one fixed address, or with random_prefix a prefix
 * inside which each connection picks its own address at random (bound
 * with IP_FREEBIND / IPV6_FREEBIND, so the prefix needs a local route,
 * not an address on an interface). */
struct config_source {
	struct config_addr addr; /* the address, or the prefix's network (port 0); len 0 = unset */
	unsigned random_prefix;	 /* random: the prefix length (1..30 / 1..127); 0 = fixed */
};

/* "outgoing ADDR [random] user NAME": one user's source for one family. */
struct config_user_source {
	char user[256]; /* as a user file's names, at most 255 bytes */
	struct config_source src;
	unsigned line;
};

enum config_log_level {
	CONFIG_LOG_ERROR = 0,
	CONFIG_LOG_WARN,
	CONFIG_LOG_INFO,
	CONFIG_LOG_DEBUG,
};

enum config_log_to {
	CONFIG_LOG_TO_AUTO = 0, /* stderr in the foreground, syslog as a daemon */
	CONFIG_LOG_TO_STDERR,
	CONFIG_LOG_TO_SYSLOG,
	CONFIG_LOG_TO_FILE, /* log_file */
};

/* Which addresses of a resolved name to try, and in which order. */
/* How established streams are relayed ("relay"): splice for bulk
 * directions (the default), read/write only, or the experimental BPF
 * kernel relay (where it loads; else splice). */
enum config_relay {
	CONFIG_RELAY_KERNEL = 0,
	CONFIG_RELAY_SPLICE,
	CONFIG_RELAY_COPY,
};
extern const char *const config_relay_names[]; /* NULL-terminated */
#define CONFIG_RELAY_AFTER_DEFAULT (16 * 1024)
#define CONFIG_RELAY_AFTER_MAX	   (1024 * 1024 * 1024)

enum config_addr_order {
	CONFIG_ORDER_AS_RETURNED = 0,
	CONFIG_ORDER_IPV4_FIRST,
	CONFIG_ORDER_IPV6_FIRST,
	CONFIG_ORDER_IPV4_ONLY,
	CONFIG_ORDER_IPV6_ONLY,
};

/* What SOCKS4 (which has no password) may do. */
enum config_socks4 {
	CONFIG_SOCKS4_AUTO = 0,   /* on without a user file, off with one (fail closed) */
	CONFIG_SOCKS4_ON,         /* always served; USERID only logged */
	CONFIG_SOCKS4_KNOWN_USER, /* USERID must name a user in the user file */
	CONFIG_SOCKS4_OFF,        /* every SOCKS4 request gets 91 */
};

/* ---- upstream chains and routes ---- */

struct hop; /* hop.h: one upstream proxy, parsed from its URL */

#define CONFIG_CHAIN_NAME_MAX 63 /* [A-Za-z0-9_-], "direct" is reserved */
#define CONFIG_CHAIN_HOPS_MAX 32
#define CONFIG_CLI_CHAIN      "cli" /* the chain --chain URL[,URL...] makes */

enum config_chain_mode {
	CONFIG_CHAIN_STRICT = 0,  /* every hop, in order; one dead hop fails the connection */
	CONFIG_CHAIN_DYNAMIC,	  /* every live hop, in order */
	CONFIG_CHAIN_RANDOM,	  /* `length` live hops picked at random */
	CONFIG_CHAIN_ROUND_ROBIN, /* `length` live hops from a rotating start */
};

struct config_chain {
	char name[CONFIG_CHAIN_NAME_MAX + 1];
	enum config_chain_mode mode;
	unsigned length;	/* random/round-robin: hops per connection; 0 = all */
	bool resolve_local;	/* hopsocks resolves the target; default: the last hop does */
	unsigned retry_dead_ms; /* back-off before a failed hop is tried again; default 30 s */
	struct hop *hops;	/* in the order written, 1..CONFIG_CHAIN_HOPS_MAX */
	size_t nhops;
	unsigned line; /* the "chain NAME {" line; 0 = the command line */
	/* Taken from a proxychains-ng file ("proxychains FILE", --chain-file):
	 * its path (NULL = none), read by config_chain_files_load() into the
	 * fields above and these two. */
	char *pc_file;
	unsigned pc_line;	  /* the "proxychains" line; 0 = the command line */
	unsigned step_timeout_ms; /* each tunnel step; 0 = the server's timeout connect */
	bool pick_as_proxychains; /* random and round-robin pick hops as proxychains-ng
				     does (chain_select, chain_select_rr_proxychains) */
};

enum config_route_dest {
	CONFIG_DEST_ANY = 0, /* "*" */
	CONFIG_DEST_CIDR,    /* "10.0.0.0/8", "2001:db8::/32", a bare address */
	CONFIG_DEST_SUFFIX,  /* ".corp.example": that name and every name under it */
	CONFIG_DEST_EXACT,   /* "host.example": that name only */
};

#define CONFIG_ROUTE_NAME_MAX 253 /* a domain name without its final dot */

struct config_route {
	enum config_route_dest kind;
	int family;	  /* CIDR: AF_INET or AF_INET6 */
	unsigned prefix;  /* CIDR: 0..32 or 0..128 */
	uint8_t addr[16]; /* CIDR: the network, host bits zero (IPv4 in the first 4) */
	char name[CONFIG_ROUTE_NAME_MAX + 1]; /* SUFFIX (without the dot), EXACT: lower case */
	uint16_t port_min, port_max;	      /* destination ports; 0-65535 = any */
	int chain;			      /* index into config.chains; -1 = direct */
	char via[CONFIG_CHAIN_NAME_MAX + 1];  /* the chain's name; "" for direct */
	unsigned line;			      /* 0 = the command line */
	struct config_source outgoing;	      /* "... outgoing ADDR [random]"; len 0 = none */
};

/* ---- access rules (acl.h matches them) ---- */

/* Commands a rule may name: a bit mask, 0 = every command. */
#define ACL_CMD_CONNECT 1u
#define ACL_CMD_BIND	2u
#define ACL_CMD_UDP	4u
#define ACL_CMD_ALL	(ACL_CMD_CONNECT | ACL_CMD_BIND | ACL_CMD_UDP)

#define CONFIG_ACL_USER_MAX 255 /* as a user file's names */
#define CONFIG_ACL_WHY_MAX  128

/* Whom a rule's "user" term admits. */
enum config_acl_user {
	ACL_USER_ANY = 0,	/* no "user" term: anyone, logged in or not */
	ACL_USER_AUTHENTICATED, /* "user *": any user who logged in */
	ACL_USER_NAMED,		/* "user NAME": that user, logged in */
};

/* One "allow ..." or "deny ..." line. Every term is optional; an omitted
 * term matches everything. */
struct config_acl_rule {
	bool allow;
	bool any_client;  /* no "from" term, or "from *" */
	int family;	  /* from: AF_INET or AF_INET6 */
	unsigned prefix;  /* from: 0..32 or 0..128 */
	uint8_t addr[16]; /* from: the network, host bits zero (IPv4 in the first 4) */
	enum config_acl_user user_kind;
	char user[CONFIG_ACL_USER_MAX + 1]; /* ACL_USER_NAMED */
	unsigned commands;		    /* ACL_CMD_* bits; 0 = all */
	struct config_route dest; /* "to" and "port": kind ANY/CIDR/SUFFIX/EXACT and ports;
				     chain -1, via "" */
	unsigned line;
	char why[CONFIG_ACL_WHY_MAX]; /* "rule FILE:LINE", what acl_check() reports */
};

/* ---- PROXY protocol on the listeners (proxy-protocol) ---- */

#define CONFIG_PROXY_V1 1u /* versions accepted: bits */
#define CONFIG_PROXY_V2 2u

/* A network a balancer's address may be in. */
struct config_net {
	int family;	  /* AF_INET or AF_INET6 */
	unsigned prefix;  /* 0..32 or 0..128 */
	uint8_t addr[16]; /* the network, host bits zero (IPv4 in the first 4) */
};

struct config {
	struct config_addr *listen; /* at least one after config_finish() */
	size_t nlisten;

	unsigned workers; /* 0 = one per CPU */
	char *users_file; /* a user file; NULL with users_pam NULL = no authentication */
	char *users_pam;  /* "users pam SERVICE": the PAM service (then users_file is NULL) */
	enum config_socks4 socks4;

	/* milliseconds; idle 0 = no idle timeout */
	unsigned timeout_handshake_ms;
	unsigned timeout_connect_ms;
	unsigned timeout_idle_ms;

	enum config_log_level log_level;
	enum config_log_to log_to;
	char *log_file;	      /* log-to file PATH (as written: main resolves a relative one) */
	char *log_file_where; /* "FILE:LINE" of that log-to line, for an error opening it */
	bool log_json;	      /* log-format json */
	bool access_log;

	unsigned max_connections; /* 0 = limited only by descriptors */
	unsigned splice_pipes;	  /* 1 MiB pipes per worker for bulk relaying; 0 = no splice */
	enum config_relay relay;  /* relay kernel|splice|copy */
	unsigned relay_after;	  /* relay kernel after SIZE: bytes before the hand-over */

	/* outgoing source addresses (port 0), one per family; len 0 = unset.
	 * Per user (user_sources) before per route (config_route.outgoing)
	 * before these: policy/route.h route_source_pick(). */
	struct config_source outgoing_v4;
	struct config_source outgoing_v6;
	struct config_user_source *user_sources; /* in the order written */
	size_t nuser_sources;

	/* UDP ASSOCIATE */
	unsigned timeout_udp_idle_ms;        /* 0 = none; default 2 min */
	struct config_addr udp_advertise_v4; /* address put in the reply (NAT); len 0 = unset */
	struct config_addr udp_advertise_v6;
	uint16_t udp_port_min, udp_port_max; /* relay socket ports; 0 = ephemeral */
	bool udp_replies_any; /* relay datagrams from hosts the client never sent to */

	/* BIND */
	unsigned timeout_bind_ms;         /* waiting for the peer; default 2 min */
	struct config_addr bind_addr_v4;  /* listening address; len 0 = the one used toward DST */
	struct config_addr bind_addr_v6;
	bool bind_peer_any; /* accept a peer other than DST.ADDR */

	/* DNS */
	char *resolvers;   /* c-ares CSV ("127.0.0.1:5353,[::1]:53"), NULL = resolv.conf */
	enum config_addr_order addr_order;
	unsigned dns_cache_size;  /* entries per worker, 0 = no cache */
	unsigned dns_cache_max_ttl_ms; /* cap on a record's TTL */

	char *pid_file; /* NULL = none */

	/* Upstream chains, and the rules that pick one per destination: tried
	 * in order, the first match wins, no match = direct (route.h). */
	struct config_chain *chains;
	size_t nchains;
	struct config_route *routes;
	size_t nroutes;

	/* Access rules, in the order written: the first match decides; with
	 * rules, no match = deny; without, see acl.h. */
	struct config_acl_rule *acl;
	size_t nacl;
	bool destination_guard; /* deny loopback/link-local/private targets to non-local clients */

	/* Limits on open sessions; 0 = unlimited (max_connections is the total). */
	unsigned max_per_client; /* per client IP address */
	unsigned max_per_user;	 /* per authenticated user */

	/* Failed authentications: after auth_throttle_failures of them from one
	 * client address within auth_throttle_window_ms, that address may not
	 * try again for auth_throttle_block_ms. failures 0 = off. */
	unsigned auth_throttle_failures;
	unsigned auth_throttle_window_ms;
	unsigned auth_throttle_block_ms;

	/* The status/metrics HTTP listener; len 0 = off. Never a listen address.
	 * It has no authentication: beyond loopback only when admin_public
	 * ("admin ADDR public"). */
	struct config_addr admin;
	bool admin_public;

	/* Privilege drop after binding: user and group names (or numeric ids);
	 * NULL = keep. */
	char *run_user;
	char *run_group;

	/* PROXY protocol: connections from proxy_from must start with a
	 * header of an accepted version (CONFIG_PROXY_* bits), whose source
	 * is then the client; 0 = off (no header read, no cost). */
	unsigned proxy_protocol;
	struct config_net *proxy_from;
	size_t nproxy_from;

	unsigned drain_ms;	   /* SIGTERM: how long relaying sessions may go on; 0 = none */
	bool reload_keep_sessions; /* keep sessions of users a reload deleted */

	/* Where the settings that later checks and start-up errors name were
	 * written, so those messages read "FILE:LINE: directive: ..." too:
	 * source is the configuration file (NULL = none), a line 0 means the
	 * command line (or the default); config_err_at() writes the prefix. */
	char *source;
	unsigned users_line, socks4_line, pid_file_line;
};

/* Whether clients must log in: a user file or a PAM service. */
static inline bool config_has_users(const struct config *cfg)
{
	return cfg->users_file != NULL || cfg->users_pam != NULL;
}

#endif
