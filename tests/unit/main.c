/*
 * The one Check runner for every unit suite. The Makefile finds each `Suite *suite_NAME(void)`
 * defined in a C file of tests/unit/ and lists it in suites.inc, so a new test file needs no edit here.
 * CK_RUN_SUITE / CK_RUN_CASE and CK_VERBOSITY work as Check documents.
 */
#include <check.h>
#include <stdlib.h>

#define MPT_SUITE(name) Suite *suite_##name(void);
#include "suites.inc"
#undef MPT_SUITE

int main(void)
{
    SRunner *runner = srunner_create(NULL);
#define MPT_SUITE(name) srunner_add_suite(runner, suite_##name());
#include "suites.inc"
#undef MPT_SUITE
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
