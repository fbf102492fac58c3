/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Hop selection for each chain mode (chain_select is pure: the caller
 * passes which hops are up, the round-robin counter and a random word),
 * what a reload carries over of hop health (chain_health_carry), and the
 * pick a tunnel makes from the health and the rotation (chain_health_pick). */
#include <stdatomic.h>
#include <string.h>

#include <check.h>

#include "config/config.h"
#include "config/config_load.h"
#include "policy/chain_health.h"
#include "proto/hop.h"

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

/* Round robin from a proxychains file: the paths proxychains-ng 4.16
 * takes in one process (core.c), wrap-around quirk included. */
START_TEST(round_robin_as_proxychains)
{
	static const struct {
		size_t n, want;
		bool up[4];
		uint8_t paths[4][3]; /* four connections in a row, from offset 0 */
	} cases[] = {
		{ 3, 1, { true, true, true }, { { 0 }, { 1 }, { 2 }, { 0 } } },
		{ 3, 2, { true, true, true }, { { 0, 1 }, { 2, 0 }, { 0, 1 }, { 2, 0 } } },
		{ 4, 2, { true, true, true, true }, { { 0, 1 }, { 2, 3 }, { 0, 1 }, { 2, 3 } } },
		{ 4,
		  3,
		  { true, true, true, true },
		  { { 0, 1, 2 }, { 3, 0, 1 }, { 2, 3, 0 }, { 0, 1, 2 } } },
		/* a hop down is passed over */
		{ 3, 1, { true, false, true }, { { 0 }, { 2 }, { 0 }, { 2 } } },
		/* hop 0 down: past the end, the first free one from the top */
		{ 3, 2, { false, true, true }, { { 1, 2 }, { 1, 2 }, { 1, 2 }, { 1, 2 } } },
		{ 4, 2, { false, true, true, true }, { { 1, 2 }, { 3, 1 }, { 2, 3 }, { 1, 2 } } },
	};
	uint8_t path[CHAIN_MAX_HOPS];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned offset = 0;
		for (size_t k = 0; k < 4; k++) {
			ck_assert_uint_eq(chain_select_rr_proxychains(cases[i].n, cases[i].up,
								      cases[i].want, &offset, path),
					  cases[i].want);
			for (size_t j = 0; j < cases[i].want; j++)
				ck_assert_msg(path[j] == cases[i].paths[k][j],
					      "case %zu, connection %zu, hop %zu: %u", i, k, j,
					      path[j]);
		}
	}
	/* Fewer hops up than chain_len: refused, as proxychains does. */
	bool one_up[] = { false, true, false };
	unsigned offset = 1;
	ck_assert_uint_eq(chain_select_rr_proxychains(3, one_up, 2, &offset, path), 0);
	ck_assert_uint_eq(offset, 1);

	/* Random from a proxychains file refuses too; a hand-written one uses
	 * the hops that are up. */
	struct config_chain r = chain_of(CONFIG_CHAIN_RANDOM, 3, 2);
	ck_assert_uint_eq(chain_select(&r, one_up, 0, 12345, path), 1);
	r.pick_as_proxychains = true;
	ck_assert_uint_eq(chain_select(&r, one_up, 0, 12345, path), 0);
	bool two_up[] = { true, false, true };
	ck_assert_uint_eq(chain_select(&r, two_up, 0, 12345, path), 2);

	/* chain_select and chain_health_pick take the same paths. */
	struct config_chain c = chain_of(CONFIG_CHAIN_ROUND_ROBIN, 3, 2);
	c.pick_as_proxychains = true;
	bool up[] = { true, true, true };
	ck_assert_uint_eq(chain_select(&c, up, 2, 0, path), 2);
	ck_assert_uint_eq(path[0], 2);
	ck_assert_uint_eq(path[1], 0);
	_Atomic uint64_t down[3] = { 0, 0, 0 };
	struct chain_health h = { .down_until_ms = down, .nhops = 3 };
	atomic_init(&h.next_start, 0);
	static const uint8_t want[3][2] = { { 0, 1 }, { 2, 0 }, { 0, 1 } };
	for (size_t k = 0; k < 3; k++) {
		ck_assert_uint_eq(chain_health_pick(&h, &c, 1000, 0, path), 2);
		ck_assert_uint_eq(path[0], want[k][0]);
		ck_assert_uint_eq(path[1], want[k][1]);
	}
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

/* ---- reload: chain_health_carry ---- */

static void parse(struct config *cfg, const char *text)
{
	char err[CONFIG_ERR_MAX];
	config_init(cfg);
	ck_assert_msg(config_parse_text(cfg, "t.conf", text, strlen(text), err, sizeof(err)) == 0,
		      "%s", err);
}

#define NOW 1000000u

START_TEST(carry_keeps_dead_hops_by_url)
{
	struct config a, b;
	parse(&a, "chain up {\n"
		  "  mode dynamic\n"
		  "  hop socks5://127.0.0.1:1001\n"
		  "  hop socks5://127.0.0.1:1002\n"
		  "  hop socks5://u:p@127.0.0.1:1003\n"
		  "  hop socks5://127.0.0.1:1004\n"
		  "}\n"
		  "chain gone {\n  hop socks5://127.0.0.1:1005\n}\n");
	/* 1002 moved to the front, 1003's password changed, 1004 left, the
	 * back-off is shorter; "gone" was removed, "new" added. */
	parse(&b, "chain new {\n  hop socks5://127.0.0.1:1002\n}\n"
		  "chain up {\n"
		  "  mode dynamic\n"
		  "  retry-dead 10s\n"
		  "  hop socks5://127.0.0.1:1002\n"
		  "  hop socks5://127.0.0.1:1001\n"
		  "  hop socks5://u:q@127.0.0.1:1003\n"
		  "}\n");
	struct chain_health *ha = chain_health_new(&a), *hb = chain_health_new(&b);
	ck_assert_ptr_nonnull(ha);
	ck_assert_ptr_nonnull(hb);
	atomic_store(&ha[0].down_until_ms[0], NOW - 1);	     /* 1001: back-off over */
	atomic_store(&ha[0].down_until_ms[1], NOW + 25000); /* 1002: down 25 s more */
	atomic_store(&ha[0].down_until_ms[2], NOW + 5000);  /* 1003: down, old password */
	atomic_store(&ha[0].down_until_ms[3], NOW + 5000);  /* 1004: down, removed */
	atomic_store(&ha[1].down_until_ms[0], NOW + 5000);  /* gone's hop */
	atomic_store(&ha[0].next_start, 7);

	ck_assert_uint_eq(chain_health_carry(hb, &b, ha, &a, NOW), 1);
	/* "up" is b's second chain: 1002 stays down, cut to the new 10 s. */
	ck_assert_uint_eq(atomic_load(&hb[1].down_until_ms[0]), NOW + 10000);
	ck_assert_uint_eq(atomic_load(&hb[1].down_until_ms[1]), 0);
	ck_assert_uint_eq(atomic_load(&hb[1].down_until_ms[2]), 0);
	/* Another chain's hop with the same URL is not the same hop. */
	ck_assert_uint_eq(atomic_load(&hb[0].down_until_ms[0]), 0);
	/* The hops changed: the rotation starts afresh. */
	ck_assert_uint_eq(atomic_load(&hb[1].next_start), 0);

	chain_health_free(ha, a.nchains);
	chain_health_free(hb, b.nchains);
	config_free(&a);
	config_free(&b);
}
END_TEST

START_TEST(carry_keeps_rotation_of_unchanged_chain)
{
	const char *text = "chain rr {\n  mode round-robin\n  length 1\n"
			   "  hop socks5://127.0.0.1:1001\n  hop socks5://127.0.0.1:1002\n}\n";
	struct config a, b;
	parse(&a, text);
	parse(&b, text);
	struct chain_health *ha = chain_health_new(&a), *hb = chain_health_new(&b);
	atomic_store(&ha[0].next_start, 5);
	atomic_store(&ha[0].down_until_ms[1], NOW + 30000);
	ck_assert_uint_eq(chain_health_carry(hb, &b, ha, &a, NOW), 1);
	ck_assert_uint_eq(atomic_load(&hb[0].next_start), 5);
	ck_assert_uint_eq(atomic_load(&hb[0].down_until_ms[1]), NOW + 30000);
	chain_health_free(ha, a.nchains);
	chain_health_free(hb, b.nchains);
	config_free(&a);
	config_free(&b);
}
END_TEST

/* ---- health as a tunnel uses it: chain_health_pick ---- */

START_TEST(pick_uses_health_and_rotation)
{
	struct config cfg;
	parse(&cfg, "chain rr {\n"
		    "  mode round-robin\n"
		    "  length 1\n"
		    "  hop socks5://127.0.0.1:1001\n"
		    "  hop socks5://127.0.0.1:1002\n"
		    "  hop socks5://127.0.0.1:1003\n"
		    "}\n");
	struct chain_health *h = chain_health_new(&cfg);
	ck_assert_ptr_nonnull(h);
	const struct config_chain *c = &cfg.chains[0];
	uint8_t path[CHAIN_MAX_HOPS];

	/* Each pick takes the next turn of the shared rotation. */
	for (unsigned k = 0; k < 4; k++) {
		ck_assert_uint_eq(chain_health_pick(h, c, NOW, 0, path), 1);
		ck_assert_uint_eq(path[0], k % 3);
	}
	/* Hop 1002 down until NOW + 500: skipped before, usable from then. */
	chain_health_mark_down(h, 1, NOW + 500);
	ck_assert(!chain_health_hop_up(h, 1, NOW + 499));
	ck_assert(chain_health_hop_up(h, 1, NOW + 500));
	ck_assert_uint_eq(atomic_load(&h->next_start), 4);
	ck_assert_uint_eq(chain_health_pick(h, c, NOW, 0, path), 1);
	ck_assert_uint_eq(path[0], 2); /* turn 4 starts at hop 1 (down): the next up */
	ck_assert_uint_eq(chain_health_pick(h, c, NOW + 500, 0, path), 1);
	ck_assert_uint_eq(path[0], 2); /* turn 5 starts at hop 2 */
	ck_assert_uint_eq(chain_health_pick(h, c, NOW + 500, 0, path), 1);
	ck_assert_uint_eq(path[0], 0);
	ck_assert_uint_eq(chain_health_pick(h, c, NOW + 500, 0, path), 1);
	ck_assert_uint_eq(path[0], 1); /* back up: its turn again */
	chain_health_free(h, cfg.nchains);
	config_free(&cfg);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("select");
	tcase_add_test(tc, strict_takes_every_hop_in_order);
	tcase_add_test(tc, round_robin_as_proxychains);
	tcase_add_test(tc, strict_fails_with_one_hop_down);
	tcase_add_test(tc, dynamic_skips_dead_hops_keeping_order);
	tcase_add_test(tc, round_robin_rotates_the_start);
	tcase_add_test(tc, random_picks_distinct_live_hops);
	suite_add_tcase(s, tc);
	tc = tcase_create("reload");
	tcase_add_test(tc, carry_keeps_dead_hops_by_url);
	tcase_add_test(tc, carry_keeps_rotation_of_unchanged_chain);
	suite_add_tcase(s, tc);
	tc = tcase_create("pick");
	tcase_add_test(tc, pick_uses_health_and_rotation);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
