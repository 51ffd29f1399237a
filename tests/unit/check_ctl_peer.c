/*
 * check_ctl_peer.c: connections, hello and channel URIs.
 *
 * Proves: two peers exchange hellos and messages over a socketpair; a
 * stream delivered one byte at a time yields the same messages; a message
 * before HELLO, a second HELLO, a message from the wrong role, a peer
 * announcing the wrong role, an unknown type and a header announcing more
 * than CTL_BODY_MAX bytes each end the connection with the right error
 * (the oversized one before any body byte arrives); EOF is reported; the
 * URI parser accepts the data plane's syntax; ctl_peer_open() works over a
 * real unix socket.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_chan.h"
#include "ctl_peer.h"
#include "unit_main.h"

static int sv[2];
static struct ctl_conn *dom0, *backend;

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(ctl_chan_nonblock(sv[0]), 0);
	ck_assert_int_eq(ctl_chan_nonblock(sv[1]), 0);
	ck_assert_int_eq(ctl_conn_new(sv[0], sv[0], CTL_ROLE_DOM0,
	    CTL_ROLE_BACKEND, &dom0), CTL_OK);
	ck_assert_int_eq(ctl_conn_new(sv[1], sv[1], CTL_ROLE_BACKEND,
	    CTL_ROLE_DOM0, &backend), CTL_OK);
}

static void
teardown(void)
{
	ctl_conn_free(dom0);
	ctl_conn_free(backend);
	dom0 = backend = NULL;
}

/* Pump: read what c has and return the next message or error. */
static int
recv1(struct ctl_conn *c, struct ctl_msg *m)
{
	return ctl_conn_recv_wait(c, m, 1000);
}

static void
hellos(void)
{
	struct ctl_msg m;

	ck_assert_int_eq(ctl_conn_send_hello(dom0, "dom0", CTL_CAP__ALL),
	    CTL_OK);
	ck_assert_int_eq(ctl_conn_send_hello(backend, "sys-usb",
	    CTL_CAP_RESET), CTL_OK);
	ck_assert_int_eq(recv1(dom0, &m), CTL_OK);
	ck_assert_uint_eq(m.type, CTL_MSG_HELLO);
	ck_assert_int_eq(recv1(backend, &m), CTL_OK);
	ck_assert(ctl_conn_ready(dom0) && ctl_conn_ready(backend));
}

static void
dev_add(struct ctl_msg *m, const char *busid)
{
	ctl_msg_init(m, CTL_MSG_DEV_ADD);
	snprintf(m->u.dev.busid, sizeof(m->u.dev.busid), "%s", busid);
	m->u.dev.vid = 0x1234;
	m->u.dev.pid = 0x5678;
	m->u.dev.flags = CTL_DEV_F_EXPORT;
}

START_TEST(test_hello_then_messages_flow)
{
	struct ctl_msg m, r;

	hellos();
	ck_assert_str_eq(ctl_conn_peer_name(dom0), "sys-usb");
	ck_assert_int_eq(ctl_conn_peer_role(dom0), CTL_ROLE_BACKEND);
	ck_assert_uint_eq(ctl_conn_caps(dom0), CTL_CAP_RESET);
	dev_add(&m, "1-1");
	ck_assert_int_eq(ctl_conn_send(backend, &m), CTL_OK);
	ck_assert_int_eq(recv1(dom0, &r), CTL_OK);
	ck_assert_str_eq(r.u.dev.busid, "1-1");
	ctl_msg_init(&m, CTL_MSG_STOP);
	m.u.stop.session = 1;
	strcpy(m.u.stop.busid, "1-1");
	ck_assert_int_eq(ctl_conn_send(dom0, &m), CTL_OK);
	ck_assert_int_eq(recv1(backend, &r), CTL_OK);
	ck_assert_uint_eq(r.type, CTL_MSG_STOP);
}
END_TEST

START_TEST(test_byte_by_byte_delivery)
{
	struct ctl_conn *tx;
	struct ctl_msg m, r;
	int pv[2], got = 0;
	uint8_t buf[8192];
	ssize_t n, i;

	/* Encode hello + 3 messages through a conn into a pipe, then feed
	 * the bytes one at a time to dom0. */
	ck_assert_int_eq(pipe(pv), 0);
	ctl_chan_nonblock(pv[0]);
	ck_assert_int_eq(ctl_conn_new(-1, pv[1], CTL_ROLE_BACKEND,
	    CTL_ROLE_DOM0, &tx), CTL_OK);
	ctl_conn_send_hello(tx, "sys-usb", 0);
	dev_add(&m, "1-1");
	ctl_conn_send(tx, &m);
	dev_add(&m, "1-2");
	ctl_conn_send(tx, &m);
	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	strcpy(m.u.dev_remove.busid, "1-1");
	ctl_conn_send(tx, &m);
	n = read(pv[0], buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(write(sv[1], buf + i, 1), 1);
		ck_assert_int_ge(ctl_conn_read(dom0), 0);
		while (ctl_conn_next(dom0, &r) == 1)
			got++;
	}
	ck_assert_int_eq(got, 4);
	ck_assert_uint_eq(r.type, CTL_MSG_DEV_REMOVE);
	ctl_conn_free(tx);
	close(pv[0]);
}
END_TEST

static void
raw_frame(int fd, uint32_t type, const void *body, uint32_t len)
{
	uint8_t hdr[8];

	hdr[0] = (uint8_t)type; hdr[1] = (uint8_t)(type >> 8);
	hdr[2] = (uint8_t)(type >> 16); hdr[3] = (uint8_t)(type >> 24);
	hdr[4] = (uint8_t)len; hdr[5] = (uint8_t)(len >> 8);
	hdr[6] = (uint8_t)(len >> 16); hdr[7] = (uint8_t)(len >> 24);
	ck_assert_int_eq(write(fd, hdr, 8), 8);
	if (body != NULL && len > 0)
		ck_assert_int_eq(write(fd, body, len), (ssize_t)len);
}

START_TEST(test_message_before_hello_refused)
{
	struct ctl_msg m;

	dev_add(&m, "1-1");
	/* Bypass the sender's own hello: write the frame directly. */
	ctl_conn_send(backend, &m);
	ck_assert_int_eq(recv1(dom0, &m), CTL_E_STATE);
	ck_assert_ptr_nonnull(strstr(ctl_conn_error_detail(dom0),
	    "before HELLO"));
}
END_TEST

START_TEST(test_second_hello_refused)
{
	struct ctl_msg m;

	hellos();
	ctl_msg_init(&m, CTL_MSG_HELLO);
	m.u.hello.role = CTL_ROLE_BACKEND;
	ctl_conn_send(backend, &m);
	ck_assert_int_eq(recv1(dom0, &m), CTL_E_STATE);
}
END_TEST

START_TEST(test_second_hello_accepted_when_allowed)
{
	struct ctl_msg m;

	hellos();
	ctl_conn_allow_rehello(dom0);
	ctl_conn_send_hello(backend, "sys-usb2", 0);
	ck_assert_int_eq(recv1(dom0, &m), CTL_OK);
	ck_assert_uint_eq(m.type, CTL_MSG_HELLO);
	ck_assert_str_eq(ctl_conn_peer_name(dom0), "sys-usb2");
	/* Still checked: a restarted peer may not change its role. */
	ctl_msg_init(&m, CTL_MSG_HELLO);
	m.u.hello.role = CTL_ROLE_FRONTEND;
	ctl_conn_send(backend, &m);
	ck_assert_int_eq(recv1(dom0, &m), CTL_E_STATE);
}
END_TEST

START_TEST(test_wrong_direction_refused)
{
	struct ctl_msg m;

	hellos();
	ctl_msg_init(&m, CTL_MSG_SERVE);	/* dom0 -> backend only */
	m.u.serve.session = 1;
	strcpy(m.u.serve.busid, "1-1");
	strcpy(m.u.serve.uri, "unix:/x");
	ctl_conn_send(backend, &m);
	ck_assert_int_eq(recv1(dom0, &m), CTL_E_STATE);
	ck_assert_ptr_nonnull(strstr(ctl_conn_error_detail(dom0),
	    "SERVE is not allowed"));
}
END_TEST

START_TEST(test_peer_claiming_other_role_refused)
{
	struct ctl_conn *fe;
	struct ctl_msg m;

	int fd = dup(sv[1]);

	ck_assert_int_eq(ctl_conn_new(fd, fd, CTL_ROLE_FRONTEND,
	    CTL_ROLE_DOM0, &fe), CTL_OK);
	ctl_conn_send_hello(fe, "work", 0);
	ck_assert_int_eq(recv1(dom0, &m), CTL_E_STATE);
	ctl_conn_free(fe);
	ck_assert_ptr_nonnull(strstr(ctl_conn_error_detail(dom0),
	    "expected"));
}
END_TEST

START_TEST(test_oversized_header_refused_before_body)
{
	struct ctl_msg m;

	hellos();
	raw_frame(sv[1], CTL_MSG_DEV_ADD, NULL, CTL_BODY_MAX + 1);
	ck_assert_int_eq(recv1(dom0, &m), CTL_E_MSGLEN);
}
END_TEST

START_TEST(test_unknown_type_refused_before_body)
{
	struct ctl_msg m;

	hellos();
	raw_frame(sv[1], 0x7777, NULL, 100);
	ck_assert_int_eq(recv1(dom0, &m), CTL_E_TYPE);
}
END_TEST

START_TEST(test_garbage_body_refused)
{
	struct ctl_msg m;
	uint8_t junk[40];

	hellos();
	memset(junk, 0xff, sizeof(junk));
	raw_frame(sv[1], CTL_MSG_DEV_ADD, junk, sizeof(junk));
	ck_assert_int_lt(recv1(dom0, &m), 0);
	ck_assert_ptr_nonnull(strstr(ctl_conn_error_detail(dom0), "DEV_ADD"));
}
END_TEST

START_TEST(test_eof_reported)
{
	struct ctl_msg m;

	hellos();
	ctl_conn_free(backend);
	backend = NULL;
	ck_assert_int_eq(recv1(dom0, &m), CTL_E_EOF);
}
END_TEST

START_TEST(test_send_to_closed_peer_does_not_kill_us)
{
	struct ctl_msg m;
	int i, r = CTL_OK;

	hellos();
	ctl_conn_free(backend);
	backend = NULL;
	ctl_msg_init(&m, CTL_MSG_UNIMPORT);
	m.u.unimport.session = 1;
	for (i = 0; i < 3 && r == CTL_OK; i++)
		r = ctl_conn_send(dom0, &m);	/* SIGPIPE would end the test */
	ck_assert_int_lt(r, 0);
}
END_TEST

static const struct uri_case {
	const char *uri;
	int ok;
	enum ctl_chan_kind kind;
	const char *path, *host, *port;
} uri_cases[] = {
	{ "unix:/run/usbgate/sys-usb.sock", 1, CTL_CHAN_UNIX,
	  "/run/usbgate/sys-usb.sock", "", "" },
	{ "dev:/dev/virtio-ports/usbgate.ctl", 1, CTL_CHAN_DEV,
	  "/dev/virtio-ports/usbgate.ctl", "", "" },
	{ "tcp:10.0.2.2:7000", 1, CTL_CHAN_TCP, "", "10.0.2.2", "7000" },
	{ "tcp:[::1]:7000", 1, CTL_CHAN_TCP, "", "::1", "7000" },
	{ "tcp::7000", 1, CTL_CHAN_TCP, "", "", "7000" },
	{ "fd:3", 1, CTL_CHAN_FD, "", "", "" },
	{ "fd:3,4", 1, CTL_CHAN_FD, "", "", "" },
	{ "stdio", 1, CTL_CHAN_STDIO, "", "", "" },
	{ "tcp:host:0", 0, 0, "", "", "" },
	{ "tcp:host:65536", 0, 0, "", "", "" },
	{ "tcp:host", 0, 0, "", "", "" },
	{ "unix:", 0, 0, "", "", "" },
	{ "fd:-1", 0, 0, "", "", "" },
	{ "fd:x", 0, 0, "", "", "" },
	{ "vchan:0:1", 0, 0, "", "", "" },	/* not here (yet) */
	{ "http://x", 0, 0, "", "", "" },
};

START_TEST(test_uri_table)
{
	const struct uri_case *t = &uri_cases[_i];
	struct ctl_chan_uri u;
	int r = ctl_chan_parse(t->uri, &u);

	ck_assert_msg((r == CTL_OK) == t->ok, "%s", t->uri);
	if (!t->ok)
		return;
	ck_assert_int_eq(u.kind, t->kind);
	ck_assert_str_eq(u.path, t->path);
	ck_assert_str_eq(u.host, t->host);
	ck_assert_str_eq(u.port, t->port);
}
END_TEST

START_TEST(test_peer_open_over_unix_socket)
{
	char path[64];
	struct ctl_conn *c;
	struct ctl_msg m;
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "unix:/tmp/check_ctl_peer.%d",
	    (int)getpid());
	pid = fork();
	if (pid == 0) {
		struct ctl_conn *s;

		if (ctl_peer_open(path, 1, CTL_ROLE_DOM0, CTL_ROLE_FRONTEND,
		    "dom0", 0, 5000, &s) != CTL_OK)
			_exit(1);
		ctl_msg_init(&m, CTL_MSG_UNIMPORT);
		m.u.unimport.session = 42;
		ctl_conn_send_wait(s, &m, 1000);
		ctl_conn_free(s);
		_exit(0);
	}
	/* Connect with retries until the child listens. */
	for (int i = 0; i < 100; i++) {
		if (ctl_peer_open(path, 0, CTL_ROLE_FRONTEND, CTL_ROLE_DOM0,
		    "work", 0, 2000, &c) == CTL_OK)
			break;
		c = NULL;
		usleep(20000);
	}
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(ctl_conn_peer_name(c), "dom0");
	ck_assert_int_eq(ctl_conn_recv_wait(c, &m, 2000), CTL_OK);
	ck_assert_uint_eq(m.type, CTL_MSG_UNIMPORT);
	ck_assert(m.u.unimport.session == 42);
	ctl_conn_free(c);
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(path + 5);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("ctl_peer");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_hello_then_messages_flow);
	tcase_add_test(tc, test_byte_by_byte_delivery);
	tcase_add_test(tc, test_message_before_hello_refused);
	tcase_add_test(tc, test_second_hello_refused);
	tcase_add_test(tc, test_second_hello_accepted_when_allowed);
	tcase_add_test(tc, test_wrong_direction_refused);
	tcase_add_test(tc, test_peer_claiming_other_role_refused);
	tcase_add_test(tc, test_oversized_header_refused_before_body);
	tcase_add_test(tc, test_unknown_type_refused_before_body);
	tcase_add_test(tc, test_garbage_body_refused);
	tcase_add_test(tc, test_eof_reported);
	tcase_add_test(tc, test_send_to_closed_peer_does_not_kill_us);
	tcase_add_loop_test(tc, test_uri_table, 0,
	    sizeof(uri_cases) / sizeof(uri_cases[0]));
	tcase_add_test(tc, test_peer_open_over_unix_socket);
	suite_add_tcase(s, tc);
	return s;
}
