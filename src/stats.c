#include "stats.h"

#include "log.h"

#define GET(f) atomic_load_explicit(&s->f, memory_order_relaxed)

void stats_log(const struct stats *s)
{
	log_info("stats sessions_active=%ld sessions_total=%lu socks4=%lu socks5=%lu http=%lu "
		 "connects_ok=%lu connects_failed=%lu bytes_up=%lu bytes_down=%lu "
		 "auth_ok=%lu auth_failed=%lu auth_cache_hits=%lu dns_queries=%lu "
		 "dns_failures=%lu dns_cache_hits=%lu bad_requests=%lu refused_max_connections=%lu "
		 "udp_associations=%lu udp_datagrams_up=%lu udp_datagrams_down=%lu udp_dropped=%lu "
		 "binds_accepted=%lu binds_refused=%lu hop_failures=%lu",
		 GET(sessions_active), GET(sessions_total), GET(sessions_socks4),
		 GET(sessions_socks5), GET(sessions_http), GET(connects_ok), GET(connects_failed),
		 GET(bytes_up), GET(bytes_down), GET(auth_ok), GET(auth_failed),
		 GET(auth_cache_hits), GET(dns_queries), GET(dns_failures), GET(dns_cache_hits),
		 GET(bad_requests), GET(refused_max_connections), GET(udp_associations),
		 GET(udp_datagrams_up), GET(udp_datagrams_down), GET(udp_dropped),
		 GET(binds_accepted), GET(binds_refused), GET(hop_failures));
}
