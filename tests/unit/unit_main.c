/*
 * unit_main.c: main() of every Check unit test program. Owns running the
 * program's suite (unit_main.h) and the exit status: 0 when no test failed.
 * Check's own environment applies (CK_FORK=no under a debugger or
 * valgrind, CK_RUN_CASE / CK_RUN_SUITE to select, CK_VERBOSITY).
 */
#include "config.h"

#include <stdlib.h>

#include "unit_main.h"

int
main(void)
{
	SRunner *sr = srunner_create(unit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
