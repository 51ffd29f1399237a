/*
 * check_vchan.c: the vchan transport of proto/stream.c with the unmodified
 * Debian libxenvchan and libxenstore, between processes that are different
 * domains of the fake hypervisor (tests/xen): fakexenstored on one socket
 * per domain, the drop-in libxenevtchn/libxengnttab by LD_LIBRARY_PATH.
 * Each end is a tests/xen/vchan_peer process. Also the parts of the fake
 * xenstore the channel relies on: domains coming and going, transactions,
 * permissions and quotas; and the real usbgated following a VM daemon's
 * domain by its name through a release and a restart under a new domid.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include "unit_main.h"
#include "fakexen_fixture.h"

/*
 * Peers started while this is set enter usbgate's sandbox once open
 * (VCHAN_PEER_SANDBOX: "1" the frontend session's, "usbfs" the backend
 * session's); while forked is set, they fork first and open the channel
 * in the child, as the daemons do.
 */
static const char *sandboxed;
static int forked;

struct peer {
	pid_t pid;
	FILE *out;
	int in;
};

/* Start vchan_peer as a process of domain dom. */
static void
peer_start(struct peer *p, int dom, const char *a1, const char *a2,
    const char *a3, const char *a4, const char *a5)
{
	char sock[64];
	int o[2], i[2];

	ck_assert_int_eq(pipe(o), 0);
	ck_assert_int_eq(pipe(i), 0);
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		dup2(o[1], 1);
		dup2(i[0], 0);
		close(o[0]);
		close(i[1]);
		snprintf(sock, sizeof(sock), "%s/d%d.sock", fakexen_dir, dom);
		setenv("XENSTORED_PATH", sock, 1);
		setenv("LD_LIBRARY_PATH", FAKEXEN_LIBDIR, 1);
		if (sandboxed) {
			/* LeakSanitizer's exit-time scan stops the world
			 * with ptrace, which no sandbox allows */
			const char *a = getenv("ASAN_OPTIONS");
			char opts[512];

			snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0",
			    a != NULL ? a : "", a != NULL ? ":" : "");
			setenv("ASAN_OPTIONS", opts, 1);
			setenv("VCHAN_PEER_SANDBOX", sandboxed, 1);
		}
		if (forked)
			setenv("VCHAN_PEER_FORK", "1", 1);
		execl(VCHAN_PEER, "vchan_peer", a1, a2, a3, a4, a5,
		    (char *)NULL);
		_exit(127);
	}
	close(o[1]);
	close(i[0]);
	p->out = fdopen(o[0], "r");
	p->in = i[1];
}

static void
peer_expect(struct peer *p, const char *want)
{
	char line[128];

	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p->out));
	line[strcspn(line, "\n")] = '\0';
	ck_assert_str_eq(line, want);
}

static int
peer_wait(struct peer *p)
{
	int st;

	ck_assert_int_eq(waitpid(p->pid, &st, 0), p->pid);
	fclose(p->out);
	close(p->in);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Wait (bounded) until the fake xenstore traced a request. */
static void
trace_wait(const char *line)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char path[64], buf[512];
	int tries, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", fakexen_dir);
	for (tries = 0; tries < 1000 && !found; tries++) {
		f = fopen(path, "r");
		while (f != NULL && !found && fgets(buf, sizeof(buf), f))
			found = strncmp(buf, line, strlen(line)) == 0;
		if (f != NULL)
			fclose(f);
		if (!found)
			nanosleep(&ts, NULL);
	}
	ck_assert_msg(found, "never traced: %s", line);
}

/*
 * An echo server in domain 5 for domain 1 on port, started with the
 * server's sandbox and fork settings (srv_sb, forked), and a client in
 * domain 1 with cli_sb that sends bytes and checks the echo; both end
 * cleanly (the server sees the client's end as end of stream).
 */
static void
echo_pair(const char *port, const char *srv_sb, const char *cli_sb,
    const char *bytes, const char *seed)
{
	struct peer srv, cli;
	char uri[32], ok[32];

	sandboxed = srv_sb;
	snprintf(uri, sizeof(uri), "vchan:1:%s", port);
	peer_start(&srv, 5, uri, "listen", "echo", NULL, NULL);
	sandboxed = cli_sb;
	snprintf(uri, sizeof(uri), "vchan:5:%s", port);
	peer_start(&cli, 1, uri, "connect", "send", bytes, seed);
	sandboxed = NULL;
	forked = 0;
	peer_expect(&cli, "opened");
	snprintf(ok, sizeof(ok), "ok %s", bytes);
	peer_expect(&cli, ok);
	ck_assert_int_eq(peer_wait(&cli), 0);
	peer_expect(&srv, "opened");
	ck_assert_int_eq(peer_wait(&srv), 0);
}

START_TEST(data_both_ways_large_and_partial)
{
	echo_pair("21760", NULL, NULL, "3000000", "1");
}
END_TEST

START_TEST(both_ends_work_and_end_inside_usbgates_sandbox)
{
	/*
	 * chroot and seccomp after the open, as in the daemons: event
	 * channels and grants need no file or new socket from then on,
	 * and closing calls nothing the filter kills
	 */
	echo_pair("21766", "1", "1", "1000000", "4");
}
END_TEST

START_TEST(the_daemons_session_processes_open_the_channel_after_the_fork)
{
	/*
	 * As usbgate-frontend (the server) and usbgate-backend (the client)
	 * run a session: fork, the child opens the vchan while privileged,
	 * enters its sandbox (the backend's allows usbfs ioctls and kills on
	 * any other but the vchan's), then moves data; the parent never
	 * opens it. A parent that opened the vchan and closed its copy after
	 * the fork tore the ring down under the child.
	 */
	forked = 1;
	echo_pair("21767", "1", "usbfs", "2000000", "5");
}
END_TEST

START_TEST(a_third_domain_is_refused_by_xenstore_permissions)
{
	struct peer srv, intruder, peer;

	peer_start(&srv, 5, "vchan:7:21761", "listen", "echo", NULL, NULL);
	peer_expect(&srv, "opened");
	peer_start(&intruder, 9, "raw", "5", "/local/domain/5/data/vchan/7/21761",
	    NULL, NULL);
	peer_expect(&intruder, "EACCES");
	ck_assert_int_eq(peer_wait(&intruder), 1);
	peer_start(&peer, 7, "raw", "5", "/local/domain/5/data/vchan/7/21761",
	    NULL, NULL);
	peer_expect(&peer, "open");
	ck_assert_int_eq(peer_wait(&peer), 0);
	kill(srv.pid, SIGTERM);
	peer_wait(&srv);
}
END_TEST

START_TEST(late_server_then_killed_server_is_end_of_stream)
{
	struct xs_handle *xs;
	struct xs_permissions *perms;
	struct peer srv, cli;
	unsigned int n;

	/* the client comes first and waits on a watch of the server's path */
	peer_start(&cli, 1, "vchan:5:21762", "connect", "ready", NULL, NULL);
	trace_wait("d1 WATCH /local/domain/5/data/vchan/1/21762");
	peer_start(&srv, 5, "vchan:1:21762", "listen", "echo", NULL, NULL);
	peer_expect(&cli, "opened");
	peer_expect(&cli, "ready");
	/* the keys are the server's, readable by its peer only */
	xs = xs_open(0);
	ck_assert_ptr_nonnull(xs);
	perms = xs_get_permissions(xs, XBT_NULL,
	    "/local/domain/5/data/vchan/1/21762/ring-ref", &n);
	ck_assert_ptr_nonnull(perms);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(perms[0].id, 5);
	ck_assert_uint_eq(perms[0].perms, XS_PERM_NONE);
	ck_assert_uint_eq(perms[1].id, 1);
	ck_assert_uint_eq(perms[1].perms, XS_PERM_READ);
	free(perms);
	xs_close(xs);
	/* killed: its grant's unmap notification tells the client */
	kill(srv.pid, SIGKILL);
	ck_assert_int_eq(peer_wait(&srv), 128 + SIGKILL);
	peer_expect(&cli, "eof");
	ck_assert_int_eq(peer_wait(&cli), 0);
}
END_TEST

START_TEST(a_client_waits_for_its_server_without_blocking_its_loop)
{
	struct peer srv, cli;

	/* usbgated's way: the open is a step of its poll loop */
	peer_start(&cli, 1, "vchan:5:21768", "wait", "send", "500000", "6");
	peer_expect(&cli, "waiting");
	trace_wait("d1 WATCH /local/domain/5/data/vchan/1/21768");
	ck_assert_int_eq(write(cli.in, "a\n", 2), 2);
	peer_expect(&cli, "tick");
	ck_assert_int_eq(write(cli.in, "b\n", 2), 2);
	peer_expect(&cli, "tick");
	peer_start(&srv, 5, "vchan:1:21768", "listen", "echo", NULL, NULL);
	peer_expect(&cli, "opened");
	peer_expect(&cli, "ok 500000");
	ck_assert_int_eq(peer_wait(&cli), 0);
	peer_expect(&srv, "opened");
	ck_assert_int_eq(peer_wait(&srv), 0);
}
END_TEST

START_TEST(a_vm_daemon_serves_its_control_link_to_dom0_again_and_again)
{
	struct peer srv, dom0;
	int i;

	/*
	 * The backend daemon of domain 5 listens on its control link over
	 * vchan (the server); usbgated in dom0 connects without blocking,
	 * hellos cross. When dom0 goes, the daemon serves a fresh ring and
	 * the next dom0 finds it: three times.
	 */
	peer_start(&srv, 5, "vchan:0:21769", "ctl-serve", "sys-usb", NULL,
	    NULL);
	for (i = 0; i < 3; i++) {
		peer_start(&dom0, 0, "vchan:5:21769", "ctl-dom0", "sys-usb",
		    NULL, NULL);
		peer_expect(&dom0, "hello sys-usb");
		ck_assert_int_eq(peer_wait(&dom0), 0);
		peer_expect(&srv, "up");
		peer_expect(&srv, "down");
	}
	kill(srv.pid, SIGTERM);
	peer_wait(&srv);
}
END_TEST

START_TEST(a_killed_client_is_end_of_stream_for_the_server)
{
	struct peer srv, cli;

	/* the frontend serves; sys-usb's backend process dies mid-session */
	peer_start(&srv, 5, "vchan:1:21765", "listen", "ready", NULL, NULL);
	peer_expect(&srv, "opened");
	peer_start(&cli, 1, "vchan:5:21765", "connect", "echo", NULL, NULL);
	peer_expect(&srv, "ready");
	kill(cli.pid, SIGKILL);
	ck_assert_int_eq(peer_wait(&cli), 128 + SIGKILL);
	/* the unmap notification of the client's mapping tells the server */
	peer_expect(&srv, "eof");
	ck_assert_int_eq(peer_wait(&srv), 0);
}
END_TEST

START_TEST(two_appvms_on_one_backend_and_two_backends_on_one_port)
{
	struct peer s[3], c[3];
	int i;

	/* one port number in all three pairs: the path holds both domids */
	peer_start(&s[0], 5, "vchan:1:21763", "listen", "echo", NULL, NULL);
	peer_start(&s[1], 6, "vchan:1:21763", "listen", "echo", NULL, NULL);
	peer_start(&s[2], 5, "vchan:2:21763", "listen", "echo", NULL, NULL);
	peer_start(&c[0], 1, "vchan:5:21763", "connect", "send", "500000", "1");
	peer_start(&c[1], 1, "vchan:6:21763", "connect", "send", "500000", "2");
	peer_start(&c[2], 2, "vchan:5:21763", "connect", "send", "500000", "3");
	for (i = 0; i < 3; i++) {
		peer_expect(&c[i], "opened");
		peer_expect(&c[i], "ok 500000");
		ck_assert_int_eq(peer_wait(&c[i]), 0);
	}
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(peer_wait(&s[i]), 0);
}
END_TEST

START_TEST(a_slow_reader_holds_the_writer_back_without_loss)
{
	struct peer srv, cli;
	char line[64];
	unsigned long queued;

	peer_start(&srv, 5, "vchan:1:21764", "listen", "push", "4000000", NULL);
	peer_start(&cli, 1, "vchan:5:21764", "connect", "pull", "4000000", NULL);
	peer_expect(&srv, "opened");
	peer_expect(&cli, "opened");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), srv.out));
	ck_assert_int_eq(sscanf(line, "queued %lu", &queued), 1);
	/* the 64 KiB ring took what it could, the rest waits in the stream */
	ck_assert_uint_ge(queued, 4000000 - 65536);
	ck_assert_int_eq(write(cli.in, "go\n", 3), 3);
	peer_expect(&cli, "ok 4000000");
	peer_expect(&srv, "sent");
	ck_assert_int_eq(peer_wait(&cli), 0);
	ck_assert_int_eq(peer_wait(&srv), 0);
}
END_TEST

/* The toolstack starting or ending a domain (tests/xen/fakexenctl). */
static void
toolstack(const char *op, const char *domid, const char *name)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl(FAKEXENCTL, "fakexenctl", op, domid, name, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "fakexenctl %s %s failed", op, domid);
}

/* Write fakexen_dir/name; its path goes to path. */
static void
put_file(char *path, size_t size, const char *name, const char *text)
{
	FILE *f;

	snprintf(path, size, "%s/%s", fakexen_dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(usbgated_follows_a_daemons_domain_by_its_name)
{
	struct peer srv, srv2;
	char conf[128], rules[128], text[512];
	pid_t gated;
	int st;

	/* usbgated knows sys-usb by name only: xen:PORT, no domid */
	put_file(rules, sizeof(rules), "50-test.rules", "allow id 1209:0001\n");
	snprintf(text, sizeof(text), "socket %s/gated.sock\nstate-dir %s\n"
	    "rules-dir %s\nbackend sys-usb xen:21771\n", fakexen_dir,
	    fakexen_dir, fakexen_dir);
	put_file(conf, sizeof(conf), "usbgated.conf", text);
	toolstack("introduce", "30", "sys-usb");
	peer_start(&srv, 30, "vchan:0:21771", "ctl-serve", "sys-usb", NULL,
	    NULL);
	gated = fork();
	ck_assert_int_ge(gated, 0);
	if (gated == 0) {
		/* dom0, as this process (the fixture's XENSTORED_PATH) */
		setenv("LD_LIBRARY_PATH", FAKEXEN_LIBDIR, 1);
		execl(USBGATED_BIN, "usbgated", "-d", "-f", conf, (char *)NULL);
		_exit(127);
	}
	/* found by its dom0-written name, and connected */
	peer_expect(&srv, "up");
	/* the domain is released (its daemon still running, as if the
	 * domain's end were not yet seen on the ring): dom0 lets go */
	toolstack("release", "30", NULL);
	peer_expect(&srv, "down");
	kill(srv.pid, SIGKILL);
	peer_wait(&srv);
	/* the same name comes back as another domain: dom0 connects there */
	toolstack("introduce", "31", "sys-usb");
	peer_start(&srv2, 31, "vchan:0:21771", "ctl-serve", "sys-usb", NULL,
	    NULL);
	peer_expect(&srv2, "up");
	kill(gated, SIGTERM);
	ck_assert_int_eq(waitpid(gated, &st, 0), gated);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	peer_expect(&srv2, "down");
	kill(srv2.pid, SIGKILL);
	peer_wait(&srv2);
	toolstack("release", "31", NULL);
}
END_TEST

/* ---------------------------------------------------------------- xenstore */

static char *
event(struct xs_handle *xs)
{
	static char path[128];
	unsigned int n;
	char **v = xs_read_watch(xs, &n);

	ck_assert_ptr_nonnull(v);
	snprintf(path, sizeof(path), "%s", v[XS_WATCH_PATH]);
	free(v);
	return path;
}

START_TEST(domains_come_and_go_with_special_watches)
{
	struct xs_handle *xs = xs_open(0);
	char sock[64], *v;
	unsigned int n;

	ck_assert_ptr_nonnull(xs);
	ck_assert(xs_watch(xs, "@introduceDomain", "i"));
	ck_assert_str_eq(event(xs), "@introduceDomain");	/* initial */
	ck_assert(xs_watch(xs, "@releaseDomain", "r"));
	ck_assert_str_eq(event(xs), "@releaseDomain");
	ck_assert(!xs_is_domain_introduced(xs, 11));
	ck_assert(xs_introduce_domain(xs, 11, 0, 0));
	ck_assert_str_eq(event(xs), "@introduceDomain");
	ck_assert(xs_is_domain_introduced(xs, 11));
	v = xs_read(xs, XBT_NULL, "/local/domain/11/domid", &n);
	ck_assert_str_eq(v, "11");
	free(v);
	snprintf(sock, sizeof(sock), "%s/d11.sock", fakexen_dir);
	ck_assert_int_eq(access(sock, F_OK), 0);
	ck_assert(xs_release_domain(xs, 11));
	ck_assert_str_eq(event(xs), "@releaseDomain");
	ck_assert(!xs_is_domain_introduced(xs, 11));
	ck_assert_int_ne(access(sock, F_OK), 0);
	ck_assert_ptr_null(xs_read(xs, XBT_NULL, "/local/domain/11", &n));
	xs_close(xs);
}
END_TEST

START_TEST(a_transaction_that_lost_a_race_is_eagain)
{
	struct xs_handle *a = xs_open(0), *b = xs_open(0);
	xs_transaction_t t;
	unsigned int n;
	char *v;

	ck_assert(xs_write(a, XBT_NULL, "/tool/x", "0", 1));
	t = xs_transaction_start(a);
	free(xs_read(a, t, "/tool/x", &n));
	ck_assert(xs_write(b, XBT_NULL, "/tool/x", "b", 1));
	ck_assert(xs_write(a, t, "/tool/x", "a", 1));
	/* inside, the transaction sees its own write */
	v = xs_read(a, t, "/tool/x", &n);
	ck_assert_str_eq(v, "a");
	free(v);
	ck_assert(!xs_transaction_end(a, t, 0));
	ck_assert_int_eq(errno, EAGAIN);
	v = xs_read(a, XBT_NULL, "/tool/x", &n);
	ck_assert_str_eq(v, "b");
	free(v);
	/* retried without a race, it commits */
	t = xs_transaction_start(a);
	ck_assert(xs_write(a, t, "/tool/x", "a", 1));
	ck_assert(xs_transaction_end(a, t, 0));
	v = xs_read(b, XBT_NULL, "/tool/x", &n);
	ck_assert_str_eq(v, "a");
	free(v);
	xs_close(a);
	xs_close(b);
}
END_TEST

START_TEST(a_guest_meets_permissions_and_quotas)
{
	struct xs_permissions give[1] = { { 5, XS_PERM_NONE } };
	char sock[64], big[2049];
	struct xs_handle *g;
	int i, ok = 1;

	snprintf(sock, sizeof(sock), "%s/d1.sock", fakexen_dir);
	setenv("XENSTORED_PATH", sock, 1);
	g = xs_open(0);
	ck_assert_ptr_nonnull(g);
	memset(big, 'x', sizeof(big));
	ck_assert(xs_write(g, XBT_NULL, "data/v", big, 2048));
	ck_assert(!xs_write(g, XBT_NULL, "data/v", big, 2049));
	ck_assert_int_eq(errno, ENOSPC);
	/* not the guest's: its name, another domain's data, the root */
	ck_assert(!xs_write(g, XBT_NULL, "name", "evil", 4));
	ck_assert_int_eq(errno, EACCES);
	ck_assert(!xs_write(g, XBT_NULL, "/local/domain/5/data/x", "1", 1));
	ck_assert_int_eq(errno, EACCES);
	ck_assert(!xs_set_permissions(g, XBT_NULL, "data/v", give, 1));
	ck_assert_int_eq(errno, EPERM);
	/* node quota (-q 40): the guest cannot fill xenstore */
	for (i = 0; i < 60 && ok; i++) {
		char key[32];

		snprintf(key, sizeof(key), "data/q%d", i);
		ok = xs_write(g, XBT_NULL, key, "1", 1);
	}
	ck_assert(!ok);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert(xs_rm(g, XBT_NULL, "data"));
	/* watch quota: 128 per domain */
	for (i = 0, ok = 1; i < 130 && ok; i++) {
		char tok[16];

		snprintf(tok, sizeof(tok), "t%d", i);
		ok = xs_watch(g, "data", tok);
	}
	ck_assert(!ok);
	ck_assert_int_eq(i, 129);
	ck_assert_int_eq(errno, E2BIG);
	/* transaction quota: 10 open per connection */
	for (i = 0, ok = 1; i < 12 && ok; i++)
		ok = xs_transaction_start(g) != XBT_NULL;
	ck_assert(!ok);
	ck_assert_int_eq(i, 11);
	ck_assert_int_eq(errno, ENOSPC);
	xs_close(g);
	snprintf(sock, sizeof(sock), "%s/d0.sock", fakexen_dir);
	setenv("XENSTORED_PATH", sock, 1);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("vchan");
	TCase *tc = tcase_create("vchan");
	TCase *xs = tcase_create("xenstore");

	tcase_add_unchecked_fixture(tc, fakexen_start, fakexen_stop);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, data_both_ways_large_and_partial);
	tcase_add_test(tc, both_ends_work_and_end_inside_usbgates_sandbox);
	tcase_add_test(tc,
	    the_daemons_session_processes_open_the_channel_after_the_fork);
	tcase_add_test(tc, a_third_domain_is_refused_by_xenstore_permissions);
	tcase_add_test(tc, late_server_then_killed_server_is_end_of_stream);
	tcase_add_test(tc, a_killed_client_is_end_of_stream_for_the_server);
	tcase_add_test(tc,
	    a_client_waits_for_its_server_without_blocking_its_loop);
	tcase_add_test(tc,
	    a_vm_daemon_serves_its_control_link_to_dom0_again_and_again);
	tcase_add_test(tc, two_appvms_on_one_backend_and_two_backends_on_one_port);
	tcase_add_test(tc, a_slow_reader_holds_the_writer_back_without_loss);
	tcase_add_test(tc, usbgated_follows_a_daemons_domain_by_its_name);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(xs, fakexen_start, fakexen_stop);
	tcase_set_timeout(xs, 30);
	tcase_add_test(xs, domains_come_and_go_with_special_watches);
	tcase_add_test(xs, a_transaction_that_lost_a_race_is_eagain);
	tcase_add_test(xs, a_guest_meets_permissions_and_quotas);
	suite_add_tcase(s, xs);
	return s;
}
