/*
 * check_ctl_link.c: the control link of the VM daemons (proto/ctl_link.c)
 * against a dom0 played over a real unix socket.
 *
 * Proves: the link connects and reports UP once both hellos crossed;
 * messages from dom0 come out sanitized; dom0 closing the channel is DOWN,
 * and the link reconnects by itself (UP again, with a fresh HELLO); a dom0
 * that says HELLO again on a live connection (it restarted behind a
 * channel without connection semantics) is answered with one HELLO and
 * reported DOWN then UP, while a dom0 HELLO that answers ours is not
 * answered again (no endless greeting); a protocol error from dom0 takes
 * the link down; nothing can be sent while it is down. On a character
 * device (dev:, a pty standing in for a virtio-serial port) the link says
 * hello once the other end is there, comes UP, and when that end goes
 * away reports DOWN and keeps watching the port (not dead, a timer set).
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl_chan.h"
#include "ctl_link.h"
#include "unit_main.h"

static char path[108], uri[128];
static int lfd;
static struct ctl_link *lk;

struct events {
	int up, down, msgs;
	struct ctl_msg last;
};

/* Run the lk for ms milliseconds; count what it reports. */
static void
pump(int ms, struct events *ev)
{
	struct pollfd pfd[2];
	struct ctl_msg m;
	int n, e, t;

	for (; ms > 0; ms -= 10) {
		t = 10;
		n = ctl_link_pollfds(lk, pfd, &t);
		poll(pfd, (nfds_t)n, t < 10 ? t : 10);
		ctl_link_io(lk, pfd, n);
		while ((e = ctl_link_next(lk, &m)) != CTL_LINK_NONE) {
			if (e == CTL_LINK_UP)
				ev->up++;
			else if (e == CTL_LINK_DOWN)
				ev->down++;
			else {
				ev->msgs++;
				ev->last = m;
			}
		}
	}
}

/* dom0's side: accept, say hello, read the backend's hello. */
static struct ctl_conn *
dom0_accept(struct events *ev)
{
	struct ctl_conn *c;
	int fd = -1, i;

	for (i = 0; i < 200 && fd < 0; i++) {
		pump(10, ev);
		fd = ctl_chan_accept(lfd);
	}
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ctl_conn_new(fd, fd, CTL_ROLE_DOM0, CTL_ROLE_BACKEND,
	    &c), CTL_OK);
	ctl_conn_allow_rehello(c);
	ck_assert_int_eq(ctl_conn_send_hello(c, "dom0", CTL_CAP__ALL), CTL_OK);
	return c;
}

/* Count HELLOs dom0 receives within ms (while the lk runs). */
static int
dom0_hellos(struct ctl_conn *c, int ms, struct events *ev)
{
	struct ctl_msg m;
	int n = 0, r;

	for (; ms > 0; ms -= 20) {
		pump(20, ev);
		ctl_conn_read(c);
		while ((r = ctl_conn_next(c, &m)) == 1)
			if (m.type == CTL_MSG_HELLO)
				n++;
		ck_assert_int_ge(r, 0);
	}
	return n;
}

/* dom0 orders STOP(session): the link hands it out whole, once. */
static void
dom0_stop(struct ctl_conn *c, uint64_t session, struct events *ev)
{
	struct ctl_msg m;
	int before = ev->msgs;

	ctl_msg_init(&m, CTL_MSG_STOP);
	m.u.stop.session = session;
	strcpy(m.u.stop.busid, "1-1");
	ck_assert_int_eq(ctl_conn_send(c, &m), CTL_OK);
	pump(100, ev);
	ck_assert_int_eq(ev->msgs, before + 1);
	ck_assert_int_eq(ev->last.type, CTL_MSG_STOP);
	ck_assert_uint_eq(ev->last.u.stop.session, session);
}

static void
setup(void)
{
	snprintf(path, sizeof(path), "/tmp/check_ctl_link.%d.sock", getpid());
	snprintf(uri, sizeof(uri), "unix:%s", path);
	lfd = ctl_chan_listen(uri, 0600);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(ctl_link_new(uri, 0, CTL_ROLE_BACKEND, "sys-usb",
	    CTL_CAP_RESET, &lk), CTL_OK);
}

static void
teardown(void)
{
	ctl_link_free(lk);
	close(lfd);
	unlink(path);
}

START_TEST(test_up_message_down_reconnect)
{
	struct events ev = { 0 };
	struct ctl_conn *c;
	struct ctl_msg m;

	c = dom0_accept(&ev);
	ck_assert_int_eq(dom0_hellos(c, 200, &ev), 1);
	ck_assert_int_eq(ev.up, 1);
	ck_assert(ctl_link_is_up(lk));
	/* dom0 orders something: it comes out whole. */
	dom0_stop(c, 42, &ev);
	/* dom0 goes away: DOWN, nothing can be sent, then it comes back. */
	ctl_conn_free(c);
	pump(100, &ev);
	ck_assert_int_eq(ev.down, 1);
	ck_assert(!ctl_link_is_up(lk));
	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	strcpy(m.u.dev_remove.busid, "1-1");
	ck_assert_int_eq(ctl_link_send(lk, &m), CTL_E_STATE);
	c = dom0_accept(&ev);
	ck_assert_int_eq(dom0_hellos(c, 300, &ev), 1);
	ck_assert_int_eq(ev.up, 2);
	ck_assert_int_eq(ctl_link_send(lk, &m), CTL_OK);
	ctl_conn_free(c);
}
END_TEST

START_TEST(test_rehello)
{
	struct events ev = { 0 };
	struct ctl_conn *c;

	c = dom0_accept(&ev);
	ck_assert_int_eq(dom0_hellos(c, 200, &ev), 1);
	ck_assert_int_eq(ev.up, 1);
	/* Our HELLO is recent: a dom0 HELLO now answers it; not again. */
	ck_assert_int_eq(ctl_conn_send_hello(c, "dom0", CTL_CAP__ALL), CTL_OK);
	ck_assert_int_eq(dom0_hellos(c, 200, &ev), 0);
	ck_assert_int_eq(ev.down, 1);
	ck_assert_int_eq(ev.up, 2);
	/* Later, dom0 restarted: one HELLO back, DOWN then UP. */
	pump(2200, &ev);
	ck_assert_int_eq(ctl_conn_send_hello(c, "dom0", CTL_CAP__ALL), CTL_OK);
	ck_assert_int_eq(dom0_hellos(c, 300, &ev), 1);
	ck_assert_int_eq(ev.down, 2);
	ck_assert_int_eq(ev.up, 3);
	ck_assert(ctl_link_is_up(lk));
	ctl_conn_free(c);
}
END_TEST

START_TEST(test_protocol_error)
{
	struct events ev = { 0 };
	struct ctl_conn *c;
	struct ctl_msg m;

	c = dom0_accept(&ev);
	ck_assert_int_eq(dom0_hellos(c, 200, &ev), 1);
	/* A message only a backend may send, from "dom0". */
	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	strcpy(m.u.dev_remove.busid, "1-1");
	ck_assert_int_eq(ctl_conn_send(c, &m), CTL_OK);
	pump(100, &ev);
	ck_assert_int_eq(ev.msgs, 0);
	ck_assert_int_eq(ev.down, 1);
	ck_assert_ptr_nonnull(strstr(ctl_link_detail(lk), "protocol error"));
	ctl_conn_free(c);
}
END_TEST

START_TEST(test_dev_port)
{
	struct events ev = { 0 };
	struct termios t;
	struct ctl_conn *c;
	struct pollfd pfd[2];
	char dev[128];
	int master, slave, n, tmo = -1;

	/* A pty in raw mode carries bytes like a virtio-serial port. */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	snprintf(dev, sizeof(dev), "dev:%s", ptsname(master));
	slave = open(dev + 4, O_RDWR | O_NOCTTY);
	ck_assert_int_ge(slave, 0);
	ck_assert_int_eq(tcgetattr(slave, &t), 0);
	cfmakeraw(&t);
	ck_assert_int_eq(tcsetattr(slave, TCSANOW, &t), 0);
	ck_assert_int_eq(ctl_link_new(dev, 0, CTL_ROLE_BACKEND, "sys-usb", 0,
	    &lk), CTL_OK);
	close(slave);
	ck_assert_int_eq(ctl_conn_new(master, master, CTL_ROLE_DOM0,
	    CTL_ROLE_BACKEND, &c), CTL_OK);
	ctl_conn_allow_rehello(c);
	/* The backend's HELLO comes first, then dom0 answers. */
	ck_assert_int_eq(dom0_hellos(c, 300, &ev), 1);
	ck_assert_int_eq(ctl_conn_send_hello(c, "dom0", CTL_CAP__ALL), CTL_OK);
	pump(100, &ev);
	ck_assert_int_eq(ev.up, 1);
	dom0_stop(c, 7, &ev);
	/* The other end goes away: DOWN, and the port is watched. */
	ctl_conn_free(c);
	pump(100, &ev);
	ck_assert_int_eq(ev.down, 1);
	ck_assert(!ctl_link_is_up(lk));
	ck_assert(!ctl_link_is_dead(lk));
	n = ctl_link_pollfds(lk, pfd, &tmo);
	ck_assert_int_eq(n, 0);
	ck_assert_int_gt(tmo, 0);
	ctl_link_free(lk);
	lk = NULL;
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("ctl_link");
	TCase *tc = tcase_create("link");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_up_message_down_reconnect);
	tcase_add_test(tc, test_rehello);
	tcase_add_test(tc, test_protocol_error);
	suite_add_tcase(s, tc);
	tc = tcase_create("dev");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_dev_port);
	suite_add_tcase(s, tc);
	return s;
}
