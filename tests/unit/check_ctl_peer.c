/*
 * check_ctl_peer.c: connections, hello and channel URIs.
 *
 * Proves: two peers exchange hellos and messages over a socketpair; a
 * stream delivered one byte at a time yields the same messages; a message
 * before HELLO, a second HELLO (also after a restart: the framing, not
 * the hello, sees restarts), a message from the wrong role, a peer
 * announcing the wrong role, an unknown type and a header announcing more
 * than CTL_BODY_MAX bytes each end the connection with the right error
 * (the oversized one before any body byte arrives); EOF is reported; the
 * URI parser is the data plane's grammar (one parser: the same fields for
 * every URI, control taking the kinds the control wire defines, and
 * "framed:" asking for session framing on any kind that lacks it);
 * ctl_peer_open() works over a real unix socket. On a framed channel (the
 * session framing of dev:, over a socketpair): hellos and messages cross,
 * a peer that restarts behind the channel (a new nonce) is end-of-stream,
 * and a peer that goes silent times out.
 */
#include "config.h"

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_chan.h"
#include "ctl_peer.h"
#include "stream.h"
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
	{ "framed:unix:/run/qemu/sys-usb-ctl.sock", 1, CTL_CHAN_UNIX,
	  "/run/qemu/sys-usb-ctl.sock", "", "" },
	{ "framed:tcp:10.0.2.2:7000", 1, CTL_CHAN_TCP, "", "10.0.2.2", "7000" },
	{ "framed:dev:/dev/vport0p1", 0, 0, "", "", "" },	/* framed already */
	{ "framed:framed:unix:/x", 0, 0, "", "", "" },
	{ "framed:", 0, 0, "", "", "" },
	{ "tcp:host:0", 0, 0, "", "", "" },
	{ "tcp:host:65536", 0, 0, "", "", "" },
	{ "tcp:host", 0, 0, "", "", "" },
	{ "unix:", 0, 0, "", "", "" },
	{ "fd:-1", 0, 0, "", "", "" },
	{ "fd:x", 0, 0, "", "", "" },
	{ "vchan:0:x", 0, 0, "", "", "" },
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

/* One grammar: control sees what the data plane sees, minus non-control kinds. */
static const char *const grammar_uris[] = {
	"stdio", "fd:3", "fd:3,4", "unix:/run/x.sock", "tcp:10.0.0.1:4000",
	"tcp:[::1]:4000", "tcp::4000", "dev:/dev/vport0p1",
	"rawdev:/dev/vport0p1", "vchan:3:7", "", "fd:", "fd:-1", "unix:",
	"tcp:host", "tcp:host:0", "vchan:x:7", "http://x", "stdio:",
	"framed:unix:/run/x.sock", "framed:fd:3", "framed:vchan:3:7",
	"framed:rawdev:/dev/vport0p1", "framed:stdio", "framed:",
};

START_TEST(test_one_grammar_for_both_planes)
{
	struct chan_uri d;
	struct ctl_chan_uri c;
	int rd = chan_uri_parse(grammar_uris[_i], &d);
	int rc = ctl_chan_parse(grammar_uris[_i], &c);

	if (rd != CHAN_OK || !(chan_kind_flags(d.kind) & CHAN_K_CONTROL)) {
		ck_assert_int_eq(rc, CTL_E_URI);
		return;
	}
	ck_assert_int_eq(rc, CTL_OK);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(d)), 0);
}
END_TEST

/* ------------------------------------------------ on a framed channel */

static struct ctl_conn *fa, *fb;
static struct stream *fsa, *fsb;
static int fsv[2];

static struct ctl_conn *
framed_conn(int fd, enum ctl_role self, enum ctl_role peer,
    struct stream **sp)
{
	struct ctl_conn *c;

	ck_assert_int_eq(stream_from_fds(fd, fd, sp), STREAM_OK);
	ck_assert_int_eq(stream_set_framed(*sp), STREAM_OK);
	ck_assert_int_eq(ctl_conn_from_stream(*sp, self, peer, &c), CTL_OK);
	return c;
}

static void
framed_setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fsv), 0);
	fa = framed_conn(fsv[0], CTL_ROLE_DOM0, CTL_ROLE_BACKEND, &fsa);
	fb = framed_conn(fsv[1], CTL_ROLE_BACKEND, CTL_ROLE_DOM0, &fsb);
}

static void
framed_teardown(void)
{
	ctl_conn_free(fa);
	ctl_conn_free(fb);
	fa = fb = NULL;
}

/*
 * One event-loop turn of c: timers, output, input. Returns the first
 * error, 1 with *m when a message is complete, else 0. Without m, input
 * stays buffered.
 */
static int
turn(struct ctl_conn *c, struct ctl_msg *m)
{
	struct pollfd p = { ctl_conn_fd(c), POLLIN, 0 };
	int r, t = ctl_conn_timeout(c);

	if ((r = ctl_conn_tick(c)) < 0 || (r = ctl_conn_flush(c)) < 0)
		return r;
	poll(&p, 1, t < 0 || t > 10 ? 10 : t);
	if ((r = ctl_conn_read(c)) < 0)
		return r;
	return m != NULL ? ctl_conn_next(c, m) : 0;
}

/* Run a (and b's I/O unless NULL) until a has a message or an error. */
static int
run_until(struct ctl_conn *a, struct ctl_conn *b, struct ctl_msg *m)
{
	int i, r = 0;

	for (i = 0; i < 500 && r == 0; i++) {
		if (b != NULL)
			ck_assert_int_ge(turn(b, NULL), 0);
		r = turn(a, m);
	}
	return r;
}

static void
framed_hellos(struct ctl_conn *a, struct ctl_conn *b)
{
	struct ctl_msg m;

	ck_assert_int_eq(ctl_conn_send_hello(a, "dom0", CTL_CAP__ALL), CTL_OK);
	ck_assert_int_eq(ctl_conn_send_hello(b, "sys-usb", 0), CTL_OK);
	ck_assert_int_eq(run_until(a, b, &m), 1);
	ck_assert_uint_eq(m.type, CTL_MSG_HELLO);
	ck_assert_int_eq(run_until(b, a, &m), 1);
	ck_assert_uint_eq(m.type, CTL_MSG_HELLO);
}

START_TEST(test_framed_hello_and_messages)
{
	struct ctl_msg m;

	framed_hellos(fa, fb);
	ck_assert_str_eq(ctl_conn_peer_name(fa), "sys-usb");
	dev_add(&m, "3-1");
	ck_assert_int_eq(ctl_conn_send(fb, &m), CTL_OK);
	ck_assert_int_eq(run_until(fa, fb, &m), 1);
	ck_assert_uint_eq(m.type, CTL_MSG_DEV_ADD);
	ck_assert_str_eq(m.u.dev.busid, "3-1");
}
END_TEST

START_TEST(test_framed_restarted_peer_is_eof)
{
	struct ctl_conn *c2;
	struct stream *s2;
	struct ctl_msg m;

	framed_hellos(fa, fb);
	/* The backend restarts behind the channel: a new session (new
	 * nonce) on the same pipe, without a CLOSE from the old one. */
	c2 = framed_conn(dup(fsv[1]), CTL_ROLE_BACKEND, CTL_ROLE_DOM0, &s2);
	ck_assert_int_eq(run_until(fa, c2, &m), CTL_E_EOF);
	ctl_conn_free(fb);	/* the dead process's descriptor goes away */
	fb = c2;
	/* dom0 starts over on its end: hellos and messages cross again. */
	c2 = framed_conn(dup(fsv[0]), CTL_ROLE_DOM0, CTL_ROLE_BACKEND, &s2);
	ctl_conn_free(fa);
	fa = c2;
	framed_hellos(fa, fb);
	dev_add(&m, "3-2");
	ck_assert_int_eq(ctl_conn_send(fb, &m), CTL_OK);
	ck_assert_int_eq(run_until(fa, fb, &m), 1);
	ck_assert_str_eq(m.u.dev.busid, "3-2");
}
END_TEST

START_TEST(test_framed_silent_peer_times_out)
{
	struct ctl_msg m;

	framed_hellos(fa, fb);
	stream_set_keepalive(fsa, 20, 150);
	/* The backend stops running its loop but keeps the channel open. */
	ck_assert_int_eq(run_until(fa, NULL, &m), CTL_E_TIMEOUT);
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
	tcase_add_loop_test(tc, test_one_grammar_for_both_planes, 0,
	    sizeof(grammar_uris) / sizeof(grammar_uris[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("framed");
	tcase_add_checked_fixture(tc, framed_setup, framed_teardown);
	tcase_add_test(tc, test_framed_hello_and_messages);
	tcase_add_test(tc, test_framed_restarted_peer_is_eof);
	tcase_add_test(tc, test_framed_silent_peer_times_out);
	suite_add_tcase(s, tc);
	return s;
}
