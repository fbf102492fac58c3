/* Process-wide counters. Workers bump them with relaxed atomics; readers
 * (logs, later the status endpoint) take a snapshot. */
#ifndef HOPSOCKS_STATS_H
#define HOPSOCKS_STATS_H

#include <stdatomic.h>

struct stats {
	atomic_ulong sessions_total;
	atomic_long sessions_active;
	atomic_ulong sessions_socks4;
	atomic_ulong sessions_socks5;
	atomic_ulong sessions_http;
	atomic_ulong connects_ok;
	atomic_ulong connects_failed;
	atomic_ulong bytes_up;	 /* client -> target */
	atomic_ulong bytes_down; /* target -> client */
	atomic_ulong auth_ok;
	atomic_ulong auth_failed;
	atomic_ulong auth_cache_hits;
	atomic_ulong dns_queries;
	atomic_ulong dns_failures;
	atomic_ulong dns_cache_hits;
	atomic_ulong bad_requests;
	atomic_ulong refused_max_connections;
	atomic_ulong udp_associations;
	atomic_ulong udp_datagrams_up;
	atomic_ulong udp_datagrams_down;
	atomic_ulong udp_dropped;
	atomic_ulong binds_accepted;
	atomic_ulong binds_refused;
	atomic_ulong hop_failures;
};

#define stats_add(s, field, n) atomic_fetch_add_explicit(&(s)->field, (n), memory_order_relaxed)
#define stats_inc(s, field)    stats_add(s, field, 1)

/* Write a one-line summary of the counters to the log. */
void stats_log(const struct stats *s);

#endif
