/* The validated configuration. It is built once (or once per reload) and then
 * read-only: workers share one snapshot without locks. */
#ifndef HOPSOCKS_CONFIG_H
#define HOPSOCKS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONFIG_DEFAULT_LISTEN "127.0.0.1:1080"
#define CONFIG_ERR_MAX 512

struct config_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* as written, normalised: "127.0.0.1:1080", "[::1]:1080" */
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
};

/* Which addresses of a resolved name to try, and in which order. */
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

struct config {
	struct config_addr *listen; /* at least one after config_finish() */
	size_t nlisten;

	unsigned workers; /* 0 = one per CPU */
	char *users_file; /* NULL = no authentication */
	enum config_socks4 socks4;

	/* milliseconds; idle 0 = no idle timeout */
	unsigned timeout_handshake_ms;
	unsigned timeout_connect_ms;
	unsigned timeout_idle_ms;

	enum config_log_level log_level;
	enum config_log_to log_to;
	bool access_log;

	unsigned max_connections; /* 0 = limited only by descriptors */

	/* outgoing source addresses (port 0), one per family; len 0 = unset */
	struct config_addr outgoing_v4;
	struct config_addr outgoing_v6;

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
};

/* Defaults: no listen address yet (config_finish adds the default one),
 * workers 0, handshake 10 s, connect 10 s, idle 5 min, log info, access
 * log on, dns cache 1024 entries, max TTL 5 min. */
void config_init(struct config *cfg);
void config_free(struct config *cfg);

/* Parse a whole config text. name is used in error messages. On error
 * returns -1 and writes "name:LINE: message" into err. Directives add to or
 * override what cfg already holds, so defaults come from config_init. */
int config_parse_text(struct config *cfg, const char *name, const char *text, size_t len,
		      char *err, size_t errlen);
/* Read and parse a file. Errors as above; an unreadable file is
 * "path: strerror". */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);

/* Cross-directive checks and defaults after parsing and command-line
 * overrides: adds 127.0.0.1:1080 when nothing listens, validates. */
int config_finish(struct config *cfg, char *err, size_t errlen);

/* "127.0.0.1:1080", "[::1]:1080", "*:1080" (= 0.0.0.0), "1080" (= 127.0.0.1).
 * Returns 0 or -1 with a message in err. */
int config_parse_listen(const char *text, struct config_addr *out, char *err, size_t errlen);
/* An address without port ("10.0.0.1", "::1", "[::1]"). */
int config_parse_host(const char *text, struct config_addr *out, char *err, size_t errlen);
/* "10s", "500ms", "5m", "1h", "30" (seconds). Returns 0 or -1. */
int config_parse_duration(const char *text, unsigned *ms);

/* Replace (not add to) the listen list: the command line's -l does this. */
int config_set_listen(struct config *cfg, const struct config_addr *addrs, size_t n);
int config_set_string(char **slot, const char *value);

#endif
