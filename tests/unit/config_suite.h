/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The config parser's tests are one program in four files: test_config.c
 * (the language and the server directives), test_config_chain.c (chain
 * blocks, routes, --chain), test_config_acl.c (access rules, limits,
 * the service directives, the open-relay check) and test_config_pcfile.c
 * (chains from proxychains-ng files). */
#ifndef HOPSOCKS_CONFIG_SUITE_H
#define HOPSOCKS_CONFIG_SUITE_H

#include <check.h>

/* Adds the chain and route test cases to s (test_config_chain.c). */
void test_config_chain_add(Suite *s);
/* Adds the access-control and service test cases (test_config_acl.c). */
void test_config_acl_add(Suite *s);
/* Adds the proxychains-file test cases (test_config_pcfile.c). */
void test_config_pcfile_add(Suite *s);

#endif
