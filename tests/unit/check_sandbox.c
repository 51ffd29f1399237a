/*
 * check_sandbox.c: what a sandboxed session may still do to others.
 *
 * Proves: a sandboxed child cannot signal another sandboxed child (kill,
 * tgkill, tkill), ptrace it, or use prctl beyond PR_SET_PDEATHSIG (the
 * seccomp filter kills it with SIGSYS and the victim lives on), while
 * signals to itself (raise, abort, kill of its own pid) still work;
 * USBGATE_NO_SECCOMP=1 in the environment does not remove the filter.
 * Per-session uids (root only, registered only when run as root): slots
 * of a range are distinct while held, a full range is refused by name, a
 * released slot is reused, taking a slot kills what still runs under its
 * uid and nothing of a neighbouring uid, and a session entered with it
 * runs under that uid.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "uid_slot.h"
#include "unit_main.h"

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

/*
 * Another session: sandboxed (as uid, or 0: as sandbox_enter's default
 * user), says so on a pipe, then waits forever.
 */
static pid_t
victim_start(uid_t uid)
{
	int p[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if ((uid != 0 ? sandbox_enter_ids(uid, uid, 0) :
		    sandbox_enter(NULL, 0)) != SANDBOX_OK)
			_exit(EXIT_NO_SANDBOX);
		if (write(p[1], "R", 1) != 1)
			_exit(EXIT_NO_SANDBOX);
		for (;;)
			poll(NULL, 0, -1);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void
victim_check_alive_and_end(pid_t victim)
{
	int st;

	ck_assert_int_eq(waitpid(victim, &st, WNOHANG), 0);
	ck_assert_int_eq(kill(victim, SIGKILL), 0);
	ck_assert_int_eq(waitpid(victim, &st, 0), victim);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void
attack_kill(pid_t v)
{
	kill(v, SIGKILL);
}

static void
attack_tgkill(pid_t v)
{
	syscall(SYS_tgkill, v, v, SIGKILL);
}

static void
attack_tkill(pid_t v)
{
	syscall(SYS_tkill, v, SIGKILL);
}

static void
attack_ptrace(pid_t v)
{
	ptrace(PTRACE_ATTACH, v, NULL, NULL);
	ptrace(PTRACE_KILL, v, NULL, NULL);
}

static void
attack_dumpable(pid_t v)
{
	/* Would let a same-uid peer ptrace us (and we it, once dumpable). */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

static void
attack_ptracer(pid_t v)
{
	prctl(PR_SET_PTRACER, (unsigned long)v, 0, 0, 0);
}

static void (*const attacks[])(pid_t) = {
	attack_kill, attack_tgkill, attack_tkill, attack_ptrace,
	attack_dumpable, attack_ptracer,
};

START_TEST(test_session_cannot_touch_another)
{
	pid_t victim = victim_start(0);
	int st = sandboxed(attacks[_i], victim);

	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "attack %d: status %#x, not killed by seccomp", _i, st);
	victim_check_alive_and_end(victim);
}
END_TEST

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

/* ---- per-session uids ------------------------------------------------------ */

/* A range nothing on a test machine uses. */
#define T_FIRST	(UID_SLOT_FIRST + 0xf000)

static char slot_dir[] = "/tmp/check_sandbox.XXXXXX";

static void
slots_setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(slot_dir));
}

static void
slots_teardown(void)
{
	char path[sizeof(slot_dir) + 16];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%d", slot_dir, i);
		unlink(path);
	}
	rmdir(slot_dir);
}

START_TEST(test_uid_range_parse)
{
	struct uid_range r;

	ck_assert_int_eq(uid_range_parse("1962934272-1962934527", &r),
	    UID_SLOT_OK);
	ck_assert_uint_eq(r.first, 1962934272u);
	ck_assert_uint_eq(r.count, 256);
	ck_assert_int_eq(uid_range_parse("10-10", &r), UID_SLOT_OK);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_int_eq(uid_range_parse("0-5", &r), UID_SLOT_E_RANGE);
	ck_assert_int_eq(uid_range_parse("5-4", &r), UID_SLOT_E_RANGE);
	ck_assert_int_eq(uid_range_parse("1-4294967295", &r), UID_SLOT_E_RANGE);
	ck_assert_int_eq(uid_range_parse("1-100000", &r), UID_SLOT_E_RANGE);
	ck_assert_int_eq(uid_range_parse("12", &r), UID_SLOT_E_RANGE);
	ck_assert_int_eq(uid_range_parse("1-2x", &r), UID_SLOT_E_RANGE);
	ck_assert_int_eq(uid_range_parse("-1-2", &r), UID_SLOT_E_RANGE);
}
END_TEST

START_TEST(test_uid_slots_distinct_while_held)
{
	struct uid_range r = { T_FIRST, 2 };
	struct uid_slot a, b, c;

	ck_assert_int_eq(uid_slot_take(slot_dir, &r, &a), UID_SLOT_OK);
	ck_assert_int_eq(uid_slot_take(slot_dir, &r, &b), UID_SLOT_OK);
	ck_assert(a.uid == T_FIRST || a.uid == T_FIRST + 1);
	ck_assert(b.uid == T_FIRST || b.uid == T_FIRST + 1);
	ck_assert_uint_ne(a.uid, b.uid);
	ck_assert_int_eq(uid_slot_take(slot_dir, &r, &c), UID_SLOT_E_FULL);
	ck_assert_int_eq(c.fd, -1);
	uid_slot_close(&a);
	ck_assert_int_eq(uid_slot_take(slot_dir, &r, &c), UID_SLOT_OK);
	ck_assert_uint_eq(c.uid, a.uid);
	uid_slot_close(&b);
	uid_slot_close(&c);
	/* Writable by others: not a place for locks. */
	ck_assert_int_eq(uid_slot_take("/tmp", &r, &c), UID_SLOT_E_DIR);
}
END_TEST

START_TEST(test_uid_slot_sweeps_its_uid_only)
{
	struct uid_range r = { T_FIRST, 1 };
	/* Sessions left behind (their parents were killed). */
	pid_t mine = victim_start(T_FIRST), next = victim_start(T_FIRST + 1);
	struct uid_slot s;
	struct stat st;
	char proc[32];
	int status;

	snprintf(proc, sizeof(proc), "/proc/%d", (int)mine);
	ck_assert_int_eq(stat(proc, &st), 0);
	ck_assert_uint_eq(st.st_uid, T_FIRST);
	ck_assert_int_eq(uid_slot_take(slot_dir, &r, &s), UID_SLOT_OK);
	ck_assert_int_eq(waitpid(mine, &status, 0), mine);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* A session of another slot is out of the sweep's reach. */
	victim_check_alive_and_end(next);
	uid_slot_close(&s);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("seccomp");

	tcase_add_loop_test(tc, test_session_cannot_touch_another, 0,
	    (int)(sizeof(attacks) / sizeof(attacks[0])));
	tcase_add_test(tc, test_session_may_signal_itself);
	tcase_add_test(tc, test_environment_cannot_remove_the_filter);
	suite_add_tcase(s, tc);
	tc = tcase_create("uid slots");
	tcase_add_test(tc, test_uid_range_parse);
	if (geteuid() == 0) {
		tcase_add_checked_fixture(tc, slots_setup, slots_teardown);
		tcase_add_test(tc, test_uid_slots_distinct_while_held);
		tcase_add_test(tc, test_uid_slot_sweeps_its_uid_only);
	} else
		fprintf(stderr, "check_sandbox: not root, uid slots untested\n");
	suite_add_tcase(s, tc);
	return s;
}
