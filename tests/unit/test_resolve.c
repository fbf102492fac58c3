/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The resolver's pure parts: the TTL cache and address ordering; plus a
 * lookup of IP literals, which must be answered without any I/O, and the
 * hook the session fuzz target answers names through. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <check.h>

#include "config/config.h"
#include "config/config_load.h"
#include "config/config_value.h"
#include "net/loop.h"
#include "net/resolve.h"

static struct resolve_addr v4(const char *text)
{
	struct resolve_addr a = { .family = AF_INET };
	ck_assert_int_eq(inet_pton(AF_INET, text, a.bytes), 1);
	return a;
}

static struct resolve_addr v6(const char *text)
{
	struct resolve_addr a = { .family = AF_INET6 };
	ck_assert_int_eq(inet_pton(AF_INET6, text, a.bytes), 1);
	return a;
}

static struct resolve_result mixed(void)
{
	struct resolve_result r = { .n = 4 };
	r.addr[0] = v6("2001:db8::1");
	r.addr[1] = v4("192.0.2.1");
	r.addr[2] = v6("2001:db8::2");
	r.addr[3] = v4("192.0.2.2");
	return r;
}

static bool same(const struct resolve_addr *a, const struct resolve_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

START_TEST(order_as_returned_keeps_order)
{
	struct resolve_result r = mixed(), orig = mixed();
	resolve_order(&r, CONFIG_ORDER_AS_RETURNED);
	ck_assert_uint_eq(r.n, 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert(same(&r.addr[i], &orig.addr[i]));
}
END_TEST

START_TEST(order_ipv4_first_is_stable)
{
	struct resolve_result r = mixed(), orig = mixed();
	resolve_order(&r, CONFIG_ORDER_IPV4_FIRST);
	ck_assert_uint_eq(r.n, 4);
	ck_assert(same(&r.addr[0], &orig.addr[1]));
	ck_assert(same(&r.addr[1], &orig.addr[3]));
	ck_assert(same(&r.addr[2], &orig.addr[0]));
	ck_assert(same(&r.addr[3], &orig.addr[2]));
}
END_TEST

START_TEST(order_ipv6_first_is_stable)
{
	struct resolve_result r = mixed(), orig = mixed();
	resolve_order(&r, CONFIG_ORDER_IPV6_FIRST);
	ck_assert(same(&r.addr[0], &orig.addr[0]));
	ck_assert(same(&r.addr[1], &orig.addr[2]));
	ck_assert(same(&r.addr[2], &orig.addr[1]));
	ck_assert(same(&r.addr[3], &orig.addr[3]));
}
END_TEST

START_TEST(order_only_filters)
{
	struct resolve_result r = mixed();
	resolve_order(&r, CONFIG_ORDER_IPV4_ONLY);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(r.addr[0].family, AF_INET);
	ck_assert_int_eq(r.addr[1].family, AF_INET);
	r = mixed();
	resolve_order(&r, CONFIG_ORDER_IPV6_ONLY);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(r.addr[0].family, AF_INET6);
	ck_assert_int_eq(r.addr[1].family, AF_INET6);
}
END_TEST

START_TEST(cache_hit_until_expiry)
{
	struct dns_cache *c = dns_cache_new(16);
	struct resolve_result in = mixed(), out;
	dns_cache_put(c, "Example.ORG", &in, 1000);
	ck_assert(dns_cache_get(c, "example.org", 999, &out)); /* case-insensitive */
	ck_assert_uint_eq(out.n, 4);
	ck_assert(same(&out.addr[3], &in.addr[3]));
	ck_assert(!dns_cache_get(c, "example.org", 1000, &out)); /* expired */
	ck_assert(!dns_cache_get(c, "example.net", 0, &out));
	dns_cache_free(c);
}
END_TEST

START_TEST(cache_is_bounded_and_replaces)
{
	struct dns_cache *c = dns_cache_new(1); /* one slot: every put replaces */
	struct resolve_result a = { .n = 1 }, b = { .n = 1 }, out;
	a.addr[0] = v4("192.0.2.10");
	b.addr[0] = v4("192.0.2.20");
	dns_cache_put(c, "a.test", &a, 100);
	dns_cache_put(c, "b.test", &b, 100);
	ck_assert(!dns_cache_get(c, "a.test", 0, &out));
	ck_assert(dns_cache_get(c, "b.test", 0, &out));
	ck_assert(same(&out.addr[0], &b.addr[0]));
	/* Empty results are never cached. */
	struct resolve_result empty = { .n = 0 };
	dns_cache_put(c, "b.test", &empty, 100);
	ck_assert(dns_cache_get(c, "b.test", 0, &out));
	dns_cache_free(c);
	ck_assert(dns_cache_new(0) == NULL); /* size 0 = no cache */
	ck_assert(!dns_cache_get(NULL, "b.test", 0, &out));
}
END_TEST

START_TEST(literals_answer_without_io)
{
	struct config cfg;
	char err[128];
	config_init(&cfg);
	/* A resolver that could only reach a closed port: literals must not need it. */
	ck_assert_int_eq(config_set_string(&cfg.resolvers, "127.0.0.1:9"), 0);
	struct loop *loop = loop_new();
	struct resolver *r = resolver_new(loop, &cfg, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	struct resolve_result out;
	ck_assert(resolver_lookup_now(r, "192.0.2.7", &out));
	ck_assert_uint_eq(out.n, 1);
	ck_assert(same(&out.addr[0],
		       &(struct resolve_addr){ .family = AF_INET, .bytes = { 192, 0, 2, 7 } }));
	ck_assert(resolver_lookup_now(r, "::1", &out));
	ck_assert_int_eq(out.addr[0].family, AF_INET6);
	ck_assert(!resolver_lookup_now(r, "not-cached.test", &out));

	struct sockaddr_storage ss;
	socklen_t len = resolve_addr_to_sockaddr(&out.addr[0], 1080, &ss);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 1080);
	resolver_free(r);
	loop_free(loop);
	config_free(&cfg);
}
END_TEST

/* The test seam: names go to the hook, never to c-ares; an answer given
 * inside the hook or later is delivered from the loop, in address order,
 * and a cancelled query is answered (and freed) without a callback. */
struct hook_log {
	struct resolve_query *q[2];
	int nq;
	int calls, status;
	struct resolve_result res;
};

static void hook_held(void *arg, const char *name, struct resolve_query *q)
{
	struct hook_log *log = arg;
	ck_assert_str_eq(name, log->nq == 0 ? "a.test" : "b.test");
	log->q[log->nq++] = q;
}

static void hook_answered(void *arg, int status, const struct resolve_result *res)
{
	struct hook_log *log = arg;
	log->calls++;
	log->status = status;
	log->res = *res;
}

START_TEST(hook_answers_instead_of_cares)
{
	struct config cfg;
	char err[128];
	struct hook_log log = { .nq = 0 };
	struct resolve_result two = mixed();
	config_init(&cfg);
	ck_assert_int_eq(config_set_string(&cfg.resolvers, "127.0.0.1:9"), 0);
	cfg.addr_order = CONFIG_ORDER_IPV4_FIRST;
	struct loop *loop = loop_new();
	struct resolver *r = resolver_new(loop, &cfg, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	resolver_set_hook(r, hook_held, &log);

	struct resolve_query *a = resolver_lookup(r, "a.test", hook_answered, &log);
	struct resolve_query *b = resolver_lookup(r, "b.test", hook_answered, &log);
	ck_assert(a == log.q[0] && b == log.q[1]);
	resolver_cancel(b);
	resolver_answer(a, 0, &two);
	resolver_answer(b, -ENOENT, NULL);
	ck_assert_int_eq(log.calls, 0); /* from the loop, not from here */
	ck_assert_int_eq(loop_run_once(loop, 0), 0);
	ck_assert_int_eq(log.calls, 1);
	ck_assert_int_eq(log.status, 0);
	ck_assert_uint_eq(log.res.n, 4);
	ck_assert(same(&log.res.addr[0], &two.addr[1])); /* ipv4-first */
	ck_assert(same(&log.res.addr[2], &two.addr[0]));
	ck_assert_uint_eq(loop_timer_count(loop), 0);
	resolver_free(r);
	loop_free(loop);
	config_free(&cfg);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("order");
	tcase_add_test(tc, order_as_returned_keeps_order);
	tcase_add_test(tc, order_ipv4_first_is_stable);
	tcase_add_test(tc, order_ipv6_first_is_stable);
	tcase_add_test(tc, order_only_filters);
	suite_add_tcase(s, tc);
	tc = tcase_create("cache");
	tcase_add_test(tc, cache_hit_until_expiry);
	tcase_add_test(tc, cache_is_bounded_and_replaces);
	tcase_add_test(tc, literals_answer_without_io);
	tcase_add_test(tc, hook_answers_instead_of_cares);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
