/*
 * check_sandbox.c: what a sandboxed session may still do to others.
 *
 * Proves: signals to itself (raise, abort, kill of its own pid) and
 * PR_SET_PDEATHSIG work in a sandboxed child; USBGATE_NO_SECCOMP=1 in the
 * environment does not remove the filter.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

#define EXIT_NO_SANDBOX	90

/* Enter the sandbox in a fresh child and run fn there; its wait status. */
static int
sandboxed(void (*fn)(pid_t), pid_t arg)
{
	pid_t pid;
	int st;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Check's runner catches SIGTERM; a session does not. */
		signal(SIGTERM, SIG_DFL);
		if (sandbox_enter(NULL, 0) != SANDBOX_OK)
			_exit(EXIT_NO_SANDBOX);
		fn(arg);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void
self_raise(pid_t unused)
{
	raise(SIGTERM);
}

static void
self_kill(pid_t unused)
{
	kill(getpid(), SIGTERM);
}

static void
self_abort(pid_t unused)
{
	signal(SIGABRT, SIG_DFL);
	abort();
}

static void
self_pdeathsig(pid_t unused)
{
	sandbox_parent_death_signal(SIGTERM, getppid());
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		_exit(1);
}

START_TEST(test_session_may_signal_itself)
{
	int st;

	st = sandboxed(self_raise, 0);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	st = sandboxed(self_kill, 0);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	st = sandboxed(self_abort, 0);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	st = sandboxed(self_pdeathsig, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

static void
open_socket(pid_t unused)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
}

START_TEST(test_environment_cannot_remove_the_filter)
{
	int st;

	ck_assert_int_eq(setenv("USBGATE_NO_SECCOMP", "1", 1), 0);
	st = sandboxed(open_socket, 0);
	unsetenv("USBGATE_NO_SECCOMP");
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "socket() allowed: status %#x", st);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("seccomp");

	tcase_add_test(tc, test_session_may_signal_itself);
	tcase_add_test(tc, test_environment_cannot_remove_the_filter);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
