/* The config parser's tests are one program in two files: test_config.c
 * (the language and the server directives) and test_config_chain.c (chain
 * blocks, routes, --chain). */
#ifndef HOPSOCKS_CONFIG_SUITE_H
#define HOPSOCKS_CONFIG_SUITE_H

#include <check.h>

/* Adds the chain and route test cases to s (test_config_chain.c). */
void test_config_chain_add(Suite *s);

#endif
