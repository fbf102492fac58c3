/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* c-ares glue. The channel tells us which sockets to watch through its
 * socket-state callback; we register them with the worker's loop and keep
 * one loop timer armed at ares_timeout(), so c-ares never blocks and never
 * needs a thread of its own. */
#include "net/resolve.h"

#include <ares.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "net/loop.h"

#define DNS_TIMEOUT_MS 2000
#define DNS_TRIES      3

/* One socket c-ares asked us to watch. */
struct resolver_sock {
	struct loop_io io;
	struct resolver *r;
	struct resolver_sock *next;
};

struct resolve_query {
	struct resolver *r;
	resolve_fn fn;		 /* NULL once cancelled */
	resolve_name_fn name_fn; /* a reverse lookup's, instead; NULL once cancelled */
	void *arg;
	char name[256]; /* asked for; for a reverse lookup, the answer */
	/* c-ares can answer inside ares_getaddrinfo() (hosts file, bad name).
	 * Such an answer is kept here and delivered from a zero timer, so an
	 * owner is never called back from inside its own resolver_lookup(). */
	bool starting;
	int status;
	struct resolve_result res;
	struct loop_timer later;
	struct resolve_query *next_later; /* on resolver->later while armed */
};

struct resolver {
	struct loop *loop;
	ares_channel channel;
	struct loop_timer timer;
	struct resolver_sock *socks;
	struct dns_cache *cache;
	struct resolve_query *later; /* answered during start, not yet delivered */
	enum config_addr_order order;
	uint64_t max_ttl_ms;
	bool destroying;
	unsigned outstanding; /* ares_getaddrinfo calls not yet answered */
	/* A reload's server change that c-ares refused while queries were in
	 * flight (ARES_ENOTIMP): applied once none are. */
	bool servers_pending;
	char *pending_csv; /* the `resolver` list; NULL: /etc/resolv.conf's */
	/* The test seam (resolver_set_hook): names go there, not to c-ares. */
	resolve_hook_fn hook;
	void *hook_arg;
};

static void resolver_apply_pending(struct resolver *r);

/* ---- address helpers ---- */

socklen_t resolve_addr_to_sockaddr(const struct resolve_addr *a, uint16_t port,
				   struct sockaddr_storage *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, a->bytes, 4);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	memcpy(&in6->sin6_addr, a->bytes, 16);
	return sizeof(*in6);
}

static bool family_wanted(uint8_t family, enum config_addr_order order)
{
	if (order == CONFIG_ORDER_IPV4_ONLY)
		return family == AF_INET;
	if (order == CONFIG_ORDER_IPV6_ONLY)
		return family == AF_INET6;
	return true;
}

/* Stable partition: the preferred family first, relative order kept. */
void resolve_order(struct resolve_result *res, enum config_addr_order order)
{
	struct resolve_result out = { 0 };
	int first = 0;
	if (order == CONFIG_ORDER_IPV4_FIRST)
		first = AF_INET;
	else if (order == CONFIG_ORDER_IPV6_FIRST)
		first = AF_INET6;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < res->n; i++) {
			const struct resolve_addr *a = &res->addr[i];
			if (!family_wanted(a->family, order))
				continue;
			bool is_first = first == 0 || a->family == first;
			if ((pass == 0) == is_first)
				out.addr[out.n++] = *a;
		}
		if (first == 0)
			break;
	}
	*res = out;
}

static bool result_contains(const struct resolve_result *res, const struct resolve_addr *a)
{
	for (size_t i = 0; i < res->n; i++)
		if (res->addr[i].family == a->family &&
		    memcmp(res->addr[i].bytes, a->bytes, 16) == 0)
			return true;
	return false;
}

static void result_add(struct resolve_result *res, int family, const void *bytes)
{
	if (res->n >= RESOLVE_MAX_ADDRS)
		return;
	struct resolve_addr a = { .family = (uint8_t)family };
	memcpy(a.bytes, bytes, family == AF_INET ? 4 : 16);
	if (!result_contains(res, &a))
		res->addr[res->n++] = a;
}

static bool parse_literal(const char *name, struct resolve_result *out)
{
	uint8_t buf[16];
	out->n = 0;
	if (inet_pton(AF_INET, name, buf) == 1)
		result_add(out, AF_INET, buf);
	else if (inet_pton(AF_INET6, name, buf) == 1)
		result_add(out, AF_INET6, buf);
	return out->n > 0;
}

/* ---- cache: direct-mapped, bounded, keyed by the lower-cased name ---- */

struct dns_cache_slot {
	char *name; /* NULL = empty */
	uint64_t expires_ms;
	struct resolve_result res;
};

struct dns_cache {
	size_t nslots;
	struct dns_cache_slot *slots;
};

struct dns_cache *dns_cache_new(size_t slots)
{
	if (slots == 0)
		return NULL;
	struct dns_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->slots = calloc(slots, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return NULL;
	}
	c->nslots = slots;
	return c;
}

void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nslots; i++)
		free(c->slots[i].name);
	free(c->slots);
	free(c);
}

/* FNV-1a over the case-folded name: DNS names compare without case. */
static size_t dns_cache_index(const struct dns_cache *c, const char *name)
{
	uint64_t h = 1469598103934665603ull;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= (uint64_t)tolower(*p);
		h *= 1099511628211ull;
	}
	return (size_t)(h % c->nslots);
}

bool dns_cache_get(struct dns_cache *c, const char *name, uint64_t now_ms,
		   struct resolve_result *out)
{
	if (!c)
		return false;
	struct dns_cache_slot *s = &c->slots[dns_cache_index(c, name)];
	if (!s->name || strcasecmp(s->name, name) != 0 || s->expires_ms <= now_ms)
		return false;
	*out = s->res;
	return true;
}

void dns_cache_put(struct dns_cache *c, const char *name, const struct resolve_result *res,
		   uint64_t expires_ms)
{
	if (!c || res->n == 0)
		return;
	struct dns_cache_slot *s = &c->slots[dns_cache_index(c, name)];
	char *copy = strdup(name);
	if (!copy)
		return;
	free(s->name);
	s->name = copy;
	s->expires_ms = expires_ms;
	s->res = *res;
}

/* ---- driving c-ares from the loop ---- */

static void resolver_rearm(struct resolver *r)
{
	struct timeval tv;
	if (r->destroying)
		return;
	if (r->servers_pending && r->outstanding == 0)
		resolver_apply_pending(r);
	if (!ares_timeout(r->channel, NULL, &tv)) {
		loop_timer_cancel(r->loop, &r->timer);
		return;
	}
	/* Round up so we never wake a millisecond early and spin. */
	uint64_t ms = (uint64_t)tv.tv_sec * 1000u + ((uint64_t)tv.tv_usec + 999u) / 1000u;
	loop_timer_set(r->loop, &r->timer, ms);
}

static void resolver_on_timer(struct loop *loop, void *arg)
{
	struct resolver *r = arg;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static void resolver_on_io(struct loop *loop, void *arg, unsigned events)
{
	struct resolver_sock *s = arg;
	struct resolver *r = s->r;
	int fd = s->io.fd;
	ares_process_fd(r->channel, (events & LOOP_READ) ? fd : ARES_SOCKET_BAD,
			(events & LOOP_WRITE) ? fd : ARES_SOCKET_BAD);
	resolver_rearm(r);
}

static struct resolver_sock *resolver_find_sock(struct resolver *r, int fd,
						struct resolver_sock ***link)
{
	for (*link = &r->socks; **link; *link = &(**link)->next)
		if ((**link)->io.fd == fd)
			return **link;
	return NULL;
}

static void resolver_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct resolver_sock **link;
	struct resolver_sock *s = resolver_find_sock(r, fd, &link);
	unsigned events = (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0);

	if (!readable && !writable) {
		if (!s)
			return;
		*link = s->next;
		loop_io_del(r->loop, &s->io);
		/* We may be inside this socket's own handler. */
		loop_defer_free(r->loop, free, s);
		return;
	}
	if (s) {
		loop_io_set(r->loop, &s->io, events);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return; /* c-ares times the query out */
	s->r = r;
	loop_io_init(&s->io, resolver_on_io, s);
	if (loop_io_add(r->loop, &s->io, fd, events) < 0) {
		free(s);
		return;
	}
	s->next = r->socks;
	r->socks = s;
}

struct resolver *resolver_new(struct loop *loop, const struct config *cfg, char *err, size_t errlen)
{
	struct resolver *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->order = cfg->addr_order;
	r->max_ttl_ms = cfg->dns_cache_max_ttl_ms;
	loop_timer_init(&r->timer, resolver_on_timer, r);

	struct ares_options opts = { 0 };
	opts.sock_state_cb = resolver_sock_state;
	opts.sock_state_cb_data = r;
	opts.timeout = DNS_TIMEOUT_MS;
	opts.tries = DNS_TRIES;
	/* A name is looked up as the client wrote it, never completed with
	 * resolv.conf's search list: "intranet" must not become
	 * "intranet.corp.example" behind a rule that denies .corp.example. */
	opts.flags = ARES_FLAG_NOSEARCH;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
	int rc = ares_init_options(&r->channel, &opts, mask);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(r);
		return NULL;
	}
	if (cfg->resolvers) {
		rc = ares_set_servers_ports_csv(r->channel, cfg->resolvers);
		if (rc != ARES_SUCCESS) {
			snprintf(err, errlen, "resolver '%s': %s", cfg->resolvers,
				 ares_strerror(rc));
			ares_destroy(r->channel);
			free(r);
			return NULL;
		}
	}
	r->cache = dns_cache_new(cfg->dns_cache_size);
	return r;
}

/* Point the live channel at the servers /etc/resolv.conf names now. The
 * c-ares of Debian 12 (1.18) cannot re-read the file on a live channel,
 * so a scratch channel reads it and lends its server list. A reload
 * without `resolver` thus also picks up an edited resolv.conf. */
static int resolver_use_system_servers(struct resolver *r)
{
	ares_channel scratch;
	int rc = ares_init(&scratch);
	if (rc != ARES_SUCCESS)
		return rc;
	struct ares_addr_port_node *servers = NULL;
	rc = ares_get_servers_ports(scratch, &servers);
	if (rc == ARES_SUCCESS)
		rc = ares_set_servers_ports(r->channel, servers);
	ares_free_data(servers);
	ares_destroy(scratch);
	return rc;
}

/* csv: the `resolver` list, NULL for resolv.conf's servers. */
static int resolver_set_servers(struct resolver *r, const char *csv)
{
	return csv ? ares_set_servers_ports_csv(r->channel, csv) : resolver_use_system_servers(r);
}

static void resolver_log_servers_failed(const char *csv, int rc)
{
	if (csv)
		log_error("reload: resolver '%s': %s", csv, ares_strerror(rc));
	else
		log_error("reload: the resolvers of /etc/resolv.conf: %s (keeping the ones in use)",
			  ares_strerror(rc));
}

static void resolver_apply_pending(struct resolver *r)
{
	r->servers_pending = false;
	int rc = resolver_set_servers(r, r->pending_csv);
	if (rc != ARES_SUCCESS)
		resolver_log_servers_failed(r->pending_csv, rc);
	else
		log_debug("reload: DNS servers changed now that no query is in flight");
	free(r->pending_csv);
	r->pending_csv = NULL;
}

void resolver_reconfigure(struct resolver *r, const struct config *cfg)
{
	r->order = cfg->addr_order;
	r->max_ttl_ms = cfg->dns_cache_max_ttl_ms;
	dns_cache_free(r->cache);
	r->cache = dns_cache_new(cfg->dns_cache_size);
	free(r->pending_csv);
	r->pending_csv = NULL;
	r->servers_pending = false;
	int rc = resolver_set_servers(r, cfg->resolvers);
	if (rc == ARES_ENOTIMP) {
		/* c-ares changes servers only with no query in flight. */
		r->pending_csv = cfg->resolvers ? strdup(cfg->resolvers) : NULL;
		r->servers_pending = !cfg->resolvers || r->pending_csv;
		log_debug("reload: the DNS servers change once the lookups in flight (%u) are "
			  "answered",
			  r->outstanding);
	} else if (rc != ARES_SUCCESS) {
		resolver_log_servers_failed(cfg->resolvers, rc);
	}
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	/* ares_destroy completes every query with ARES_EDESTRUCTION; those
	 * callbacks free the queries without calling their owners. */
	r->destroying = true;
	ares_destroy(r->channel);
	loop_timer_cancel(r->loop, &r->timer);
	while (r->socks) {
		struct resolver_sock *s = r->socks;
		r->socks = s->next;
		loop_io_del(r->loop, &s->io);
		free(s);
	}
	while (r->later) {
		struct resolve_query *q = r->later;
		r->later = q->next_later;
		loop_timer_cancel(r->loop, &q->later);
		free(q);
	}
	dns_cache_free(r->cache);
	free(r->pending_csv);
	free(r);
}

bool resolver_lookup_now(struct resolver *r, const char *name, struct resolve_result *out)
{
	if (parse_literal(name, out)) {
		resolve_order(out, r->order);
		return true;
	}
	if (!dns_cache_get(r->cache, name, loop_now_ms(r->loop), out))
		return false;
	/* The cache keeps answers as they came: address-order holds for
	 * them as for fresh ones. Only excluded families cached: ask again,
	 * so the answer is the one a fresh lookup gives (no data). */
	resolve_order(out, r->order);
	return out->n > 0;
}

static int status_to_errno(int status)
{
	switch (status) {
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
	case ARES_EBADNAME:
		return -ENOENT;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static uint64_t result_ttl_ms(const struct ares_addrinfo *ai, uint64_t max_ms)
{
	uint64_t ttl = max_ms;
	for (const struct ares_addrinfo_node *n = ai->nodes; n; n = n->ai_next) {
		uint64_t t = n->ai_ttl > 0 ? (uint64_t)n->ai_ttl * 1000u : 0;
		if (t < ttl)
			ttl = t;
	}
	return ttl;
}

static void result_from_ares(const struct ares_addrinfo *ai, struct resolve_result *out)
{
	out->n = 0;
	for (const struct ares_addrinfo_node *n = ai->nodes; n; n = n->ai_next) {
		if (n->ai_family == AF_INET)
			result_add(out, AF_INET,
				   &((const struct sockaddr_in *)n->ai_addr)->sin_addr);
		else if (n->ai_family == AF_INET6)
			result_add(out, AF_INET6,
				   &((const struct sockaddr_in6 *)n->ai_addr)->sin6_addr);
	}
}

/* The hosts file's addresses for name in the families order wants; true
 * when it has any. Read the way c-ares reads it inside ares_getaddrinfo
 * (a small local file, as that does). */
static bool hosts_lookup(struct resolver *r, const char *name, struct resolve_result *out)
{
	static const int families[] = { AF_INET, AF_INET6 };

	out->n = 0;
	for (size_t i = 0; i < 2; i++) {
		struct hostent *he = NULL;

		if (!family_wanted((uint8_t)families[i], r->order))
			continue;
		if (ares_gethostbyname_file(r->channel, name, families[i], &he) != ARES_SUCCESS)
			continue;
		for (char **a = he->h_addr_list; *a; a++)
			result_add(out, families[i], *a);
		ares_free_hostent(he);
	}
	resolve_order(out, r->order);
	return out->n > 0;
}

static void query_deliver(struct resolve_query *q)
{
	if (q->fn)
		q->fn(q->arg, q->status, &q->res);
	else if (q->name_fn)
		q->name_fn(q->arg, q->status, q->status == 0 ? q->name : NULL);
	free(q);
}

/* Deliver what q holds from a zero timer, so that no owner is called back
 * from inside its own call to start a query. */
static void query_deliver_later(struct resolve_query *q)
{
	q->next_later = q->r->later;
	q->r->later = q;
	loop_timer_set(q->r->loop, &q->later, 0);
}

static void query_unlink_later(struct resolve_query *q)
{
	for (struct resolve_query **p = &q->r->later; *p; p = &(*p)->next_later) {
		if (*p == q) {
			*p = q->next_later;
			return;
		}
	}
}

static void query_on_later(struct loop *loop, void *arg)
{
	struct resolve_query *q = arg;
	query_unlink_later(q);
	query_deliver(q);
}

static void resolver_on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct resolve_query *q = arg;
	struct resolver *r = q->r;

	r->outstanding--;
	q->res.n = 0;
	if (status == ARES_SUCCESS && ai) {
		result_from_ares(ai, &q->res);
		uint64_t ttl = result_ttl_ms(ai, r->max_ttl_ms);
		if (ttl > 0)
			dns_cache_put(r->cache, q->name, &q->res, loop_now_ms(r->loop) + ttl);
		resolve_order(&q->res, r->order);
		if (q->res.n == 0)
			status = ARES_ENODATA; /* only addresses of an excluded family */
	}
	if (ai)
		ares_freeaddrinfo(ai);
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		free(q);
		return;
	}
	q->status = status == ARES_SUCCESS ? 0 : status_to_errno(status);
	if (q->starting)
		return; /* resolver_lookup() schedules the delivery */
	query_deliver(q);
}

struct resolve_query *resolver_lookup(struct resolver *r, const char *name, resolve_fn fn,
				      void *arg)
{
	struct resolve_query *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->r = r;
	q->fn = fn;
	q->arg = arg;
	q->status = 1; /* "no answer yet" */
	snprintf(q->name, sizeof(q->name), "%s", name);
	loop_timer_init(&q->later, query_on_later, q);

	struct ares_addrinfo_hints hints = { 0 };
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = r->order == CONFIG_ORDER_IPV4_ONLY   ? AF_INET
			  : r->order == CONFIG_ORDER_IPV6_ONLY ? AF_INET6
							       : AF_UNSPEC;
	q->starting = true;
	if (r->hook) {
		r->hook(r->hook_arg, q->name, q); /* answers through resolver_answer */
	} else if (hosts_lookup(r, name, &q->res)) {
		q->status = 0;
	} else {
		/* Asked with a final dot: c-ares 1.18 completes a name with
		 * resolv.conf's search list in ares_getaddrinfo whatever
		 * ARES_FLAG_NOSEARCH says (fixed in 1.23), but never an
		 * absolute one. The hosts file, which does not know the
		 * dotted form, was asked above for the name as written. */
		char absolute[sizeof(q->name) + 1];
		size_t len = strlen(q->name);

		snprintf(absolute, sizeof(absolute), "%s%s", q->name,
			 len > 0 && q->name[len - 1] == '.' ? "" : ".");
		r->outstanding++;
		ares_getaddrinfo(r->channel, absolute, NULL, &hints, resolver_on_answer, q);
	}
	q->starting = false;
	if (q->status <= 0)
		query_deliver_later(q);
	resolver_rearm(r);
	return q;
}

static void resolver_on_reverse(void *arg, int status, int timeouts, struct hostent *he)
{
	struct resolve_query *q = arg;

	(void)timeouts;
	q->r->outstanding--;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		free(q);
		return;
	}
	if (status == ARES_SUCCESS && (!he || !he->h_name || !he->h_name[0]))
		status = ARES_ENODATA;
	q->status = status == ARES_SUCCESS ? 0 : status_to_errno(status);
	if (q->status == 0)
		snprintf(q->name, sizeof(q->name), "%s", he->h_name);
	if (q->starting)
		return; /* resolver_reverse() schedules the delivery */
	query_deliver(q);
}

struct resolve_query *resolver_reverse(struct resolver *r, const struct resolve_addr *addr,
				       resolve_name_fn fn, void *arg)
{
	struct resolve_query *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->r = r;
	q->name_fn = fn;
	q->arg = arg;
	q->status = 1; /* "no answer yet" */
	loop_timer_init(&q->later, query_on_later, q);
	q->starting = true;
	if (r->hook) {
		q->status = -EIO; /* the test seam answers forward lookups only */
	} else {
		r->outstanding++;
		ares_gethostbyaddr(r->channel, addr->bytes, addr->family == AF_INET ? 4 : 16,
				   addr->family, resolver_on_reverse, q);
	}
	q->starting = false;
	if (q->status <= 0)
		query_deliver_later(q);
	resolver_rearm(r);
	return q;
}

void resolver_cancel(struct resolve_query *q)
{
	if (q) {
		q->fn = NULL;
		q->name_fn = NULL;
	}
}

void resolver_set_hook(struct resolver *r, resolve_hook_fn hook, void *arg)
{
	r->hook = hook;
	r->hook_arg = arg;
}

/* Delivered from a zero timer, as resolver_lookup delivers what it knew
 * at once: from the loop, like a c-ares answer, whoever calls this. */
void resolver_answer(struct resolve_query *q, int status, const struct resolve_result *res)
{
	struct resolver *r = q->r;

	q->status = status;
	q->res.n = 0;
	if (status == 0 && res) {
		q->res = *res;
		resolve_order(&q->res, r->order);
		if (q->res.n == 0)
			q->status = -ENOENT; /* only addresses of an excluded family */
	}
	if (q->starting)
		return; /* resolver_lookup() schedules the delivery */
	query_deliver_later(q);
}
