/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Shared main() for the Check suites: run one suite, print TAP on stdout
 * (for automake's TAP driver), exit non-zero if anything failed.
 * A test file defines make_suite() and includes this header last. */
#ifndef HOPSOCKS_CHECK_MAIN_H
#define HOPSOCKS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static Suite *make_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(make_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
