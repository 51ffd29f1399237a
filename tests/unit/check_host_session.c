/*
 * check_host_session.c: the unprivileged half of a backend session.
 *
 * Proves the order "drop, then parse": the device's descriptors are handed
 * to libusb (libusb_wrap_sys_device) and to the interface filter only once
 * the sandbox is in place. The device here is a memfd holding a device and
 * a configuration descriptor, which libusb cannot take as a usbfs node; when
 * be_session_run() returns with that failure, the seccomp filter must
 * already be installed (socket() then kills the process with SIGSYS) and,
 * when run as root, the user id already dropped.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libusb.h>

#include "host_session.h"
#include "unit_main.h"

static const uint8_t descriptors[] = {
	0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x09, 0x12, 0x06, 0x00,
	0x00, 0x01, 0x01, 0x02, 0x03, 0x01,
	0x09, 0x02, 25, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32,
	0x09, 0x04, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x00,
	0x07, 0x05, 0x81, 0x02, 0x00, 0x02, 0x00,
};

#define EXIT_WRONG_ERROR	91
#define EXIT_STILL_ROOT		92

/* One session on the fake device; the child's wait status. */
static int
session_on_fake_device(int n_refused)
{
	static const uint8_t refused[] = { 0 };
	struct be_options o = { .refused = refused, .n_refused = n_refused };
	int devfd, p[2], st, rc, was_root = geteuid() == 0;
	struct stream *chan;
	char reason[200];
	pid_t pid;

	devfd = memfd_create("descriptors", 0);
	ck_assert_int_ge(devfd, 0);
	ck_assert_int_eq(write(devfd, descriptors, sizeof(descriptors)),
	    (ssize_t)sizeof(descriptors));
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(stream_from_fds(p[0], p[1], &chan), STREAM_OK);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		rc = be_session_run(devfd, chan, &o, NULL, reason,
		    sizeof(reason));
		if (rc != BE_E_LIBUSB)
			_exit(EXIT_WRONG_ERROR);
		if (was_root && geteuid() == 0)
			_exit(EXIT_STILL_ROOT);
		socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(0);
	}
	stream_close(chan);
	close(devfd);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

START_TEST(test_descriptors_parsed_after_the_drop)
{
	int st = session_on_fake_device(_i);

	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	    "refused %d: status %#x: the device was parsed before the "
	    "sandbox", _i, st);
}
END_TEST

/*
 * A confined session answers libusbredirhost's claim of a refused interface
 * itself and leaves re-attaching drivers to the parent: with a NULL handle,
 * libusb's own functions would crash; the session's must not reach them.
 */
START_TEST(test_confined_claims)
{
	static const uint8_t refused[] = { 1 };
	struct be_options o = { .refused = refused, .n_refused = 1,
	    .confined = 1 };
	int devfd, p[2], st;
	struct stream *chan;
	char reason[200];
	pid_t pid;

	devfd = memfd_create("descriptors", 0);
	ck_assert_int_ge(devfd, 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(stream_from_fds(p[0], p[1], &chan), STREAM_OK);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		be_session_run(devfd, chan, &o, NULL, reason, sizeof(reason));
		_exit((libusb_claim_interface(NULL, 1) == LIBUSB_SUCCESS ?
		    0 : 1) | (libusb_attach_kernel_driver(NULL, 1) ==
		    LIBUSB_ERROR_NOT_SUPPORTED ? 0 : 2) |
		    (libusb_attach_kernel_driver(NULL, 0) ==
		    LIBUSB_ERROR_NOT_SUPPORTED ? 0 : 4));
	}
	stream_close(chan);
	close(devfd);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "status %#x: a refused claim or a driver attach reached libusb", st);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("host_session");
	TCase *tc = tcase_create("order");

	/* Without, then with the interface filter. */
	tcase_add_loop_test(tc, test_descriptors_parsed_after_the_drop, 0, 2);
	tcase_add_test(tc, test_confined_claims);
	suite_add_tcase(s, tc);
	return s;
}
