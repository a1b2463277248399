/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The one main() every CUnit suite shares: register the suite's table, run
 * it verbosely, and fail the process when any assertion failed, so meson
 * test sees the result.
 */
#ifndef PC_TEST_H
#define PC_TEST_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>

#define PC_TEST(fn) { #fn, fn }

static inline int pc_test_main(const char *suite_name, CU_TestInfo *tests)
{
	CU_SuiteInfo suites[] = {
		{ suite_name, NULL, NULL, NULL, NULL, tests },
		CU_SUITE_INFO_NULL,
	};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "cannot register suite %s: %s\n", suite_name, CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

#define PC_TEST_MAIN(suite_name, table) \
	int main(void) { return pc_test_main(suite_name, table); }

#endif
