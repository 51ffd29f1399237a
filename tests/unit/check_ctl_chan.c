/*
 * check_ctl_chan.c: a unix control socket (usbgated's CLI socket, the VM
 * daemons' control sockets) never exists with a mode wider than asked for,
 * not even between bind() and the chmod() after it, whatever the caller's
 * umask; and the caller's umask is left as it was.
 *
 * bind() is wrapped at link time (-Wl,--wrap=bind): the wrapper looks at
 * the socket file the moment bind() created it.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_chan.h"
#include "unit_main.h"

int __real_bind(int fd, const struct sockaddr *a, socklen_t len);
int __wrap_bind(int fd, const struct sockaddr *a, socklen_t len);

static int bound;
static mode_t bound_mode;

int
__wrap_bind(int fd, const struct sockaddr *a, socklen_t len)
{
	int rc = __real_bind(fd, a, len);
	struct stat st;

	if (rc == 0 && a->sa_family == AF_UNIX &&
	    stat(((const struct sockaddr_un *)a)->sun_path, &st) == 0) {
		bound = 1;
		bound_mode = st.st_mode & 07777;
	}
	return rc;
}

START_TEST(unix_socket_is_born_with_its_mode)
{
	static const unsigned modes[] = { 0600, 0660, 0666 };
	char dir[64], path[96], uri[128];
	struct stat st;
	size_t i;
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/check_ctl_chan.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/gated.sock", dir);
	snprintf(uri, sizeof(uri), "unix:%s", path);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		umask(0);	/* the widest a caller could have */
		bound = 0;
		fd = ctl_chan_listen(uri, modes[i]);
		ck_assert_int_ge(fd, 0);
		ck_assert_msg(bound, "bind() was not seen");
		ck_assert_msg(bound_mode == modes[i], "the socket was created "
		    "%04o, asked for %04o", (unsigned)bound_mode, modes[i]);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_uint_eq(st.st_mode & 07777, modes[i]);
		ck_assert_uint_eq(umask(022), 0);	/* the caller's, as it was */
		close(fd);
	}
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("ctl_chan");
	TCase *tc = tcase_create("listen");

	tcase_add_test(tc, unix_socket_is_born_with_its_mode);
	suite_add_tcase(s, tc);
	return s;
}
