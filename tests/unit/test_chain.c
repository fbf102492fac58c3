/* Hop selection for each chain mode (chain_select is pure: the caller
 * passes which hops are up, the round-robin counter and a random word). */
#include <string.h>

#include <check.h>

#include "chain.h"
#include "hop.h"

static struct hop hops[4];

static struct config_chain chain_of(enum config_chain_mode mode, size_t nhops, unsigned length)
{
	struct config_chain c;
	memset(&c, 0, sizeof(c));
	strcpy(c.name, "t");
	c.mode = mode;
	c.length = length;
	c.hops = hops;
	c.nhops = nhops;
	return c;
}

START_TEST(strict_takes_every_hop_in_order)
{
	struct config_chain c = chain_of(CONFIG_CHAIN_STRICT, 3, 0);
	bool up[] = { true, true, true };
	uint8_t path[CHAIN_MAX_HOPS];
	ck_assert_uint_eq(chain_select(&c, up, 7, 12345, path), 3);
	ck_assert_uint_eq(path[0], 0);
	ck_assert_uint_eq(path[1], 1);
	ck_assert_uint_eq(path[2], 2);
}
END_TEST

START_TEST(strict_fails_with_one_hop_down)
{
	struct config_chain c = chain_of(CONFIG_CHAIN_STRICT, 3, 0);
	bool up[] = { true, false, true };
	uint8_t path[CHAIN_MAX_HOPS];
	ck_assert_uint_eq(chain_select(&c, up, 0, 0, path), 0);
}
END_TEST

START_TEST(dynamic_skips_dead_hops_keeping_order)
{
	struct config_chain c = chain_of(CONFIG_CHAIN_DYNAMIC, 4, 0);
	bool up[] = { false, true, false, true };
	uint8_t path[CHAIN_MAX_HOPS];
	ck_assert_uint_eq(chain_select(&c, up, 0, 0, path), 2);
	ck_assert_uint_eq(path[0], 1);
	ck_assert_uint_eq(path[1], 3);
	bool none[] = { false, false, false, false };
	ck_assert_uint_eq(chain_select(&c, none, 0, 0, path), 0);
}
END_TEST

START_TEST(round_robin_rotates_the_start)
{
	struct config_chain c = chain_of(CONFIG_CHAIN_ROUND_ROBIN, 3, 1);
	bool up[] = { true, true, true };
	uint8_t path[CHAIN_MAX_HOPS];
	for (unsigned rr = 0; rr < 6; rr++) {
		ck_assert_uint_eq(chain_select(&c, up, rr, 0, path), 1);
		ck_assert_uint_eq(path[0], rr % 3);
	}
	/* length 2 from start 2 wraps around; a dead hop is skipped */
	c.length = 2;
	ck_assert_uint_eq(chain_select(&c, up, 2, 0, path), 2);
	ck_assert_uint_eq(path[0], 2);
	ck_assert_uint_eq(path[1], 0);
	bool mid_down[] = { true, false, true };
	ck_assert_uint_eq(chain_select(&c, mid_down, 1, 0, path), 2);
	ck_assert_uint_eq(path[0], 2);
	ck_assert_uint_eq(path[1], 0);
}
END_TEST

/* Random: `length` distinct live hops; over many draws every live hop is
 * used and every position varies. */
START_TEST(random_picks_distinct_live_hops)
{
	struct config_chain c = chain_of(CONFIG_CHAIN_RANDOM, 4, 2);
	bool up[] = { true, true, false, true };
	uint8_t path[CHAIN_MAX_HOPS];
	unsigned seen[4] = { 0 };
	for (uint32_t rnd = 0; rnd < 400; rnd++) {
		ck_assert_uint_eq(chain_select(&c, up, 0, rnd * 2654435761u, path), 2);
		ck_assert_uint_ne(path[0], path[1]);
		ck_assert(up[path[0]] && up[path[1]]);
		seen[path[0]]++;
	}
	ck_assert_uint_eq(seen[2], 0);
	ck_assert_uint_gt(seen[0], 40);
	ck_assert_uint_gt(seen[1], 40);
	ck_assert_uint_gt(seen[3], 40);
	/* fewer live hops than length: as many as there are */
	bool one[] = { false, false, true, false };
	ck_assert_uint_eq(chain_select(&c, one, 0, 99, path), 1);
	ck_assert_uint_eq(path[0], 2);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("select");
	tcase_add_test(tc, strict_takes_every_hop_in_order);
	tcase_add_test(tc, strict_fails_with_one_hop_down);
	tcase_add_test(tc, dynamic_skips_dead_hops_keeping_order);
	tcase_add_test(tc, round_robin_rotates_the_start);
	tcase_add_test(tc, random_picks_distinct_live_hops);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
