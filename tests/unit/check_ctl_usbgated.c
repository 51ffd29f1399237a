/*
 * check_ctl_usbgated.c: usbgated end to end on one host, no VMs.
 *
 * Starts the real tools/usbgated with a temporary configuration; this test
 * then acts as the sys-usb backend and as the AppVMs' frontends, speaking
 * the control protocol through proto/ctl_peer exactly as the data-plane
 * daemons must, and drives the real tools/usbgate CLI as a person would.
 *
 * Proves: an allowed attach orders SERVE then IMPORT with a pooled data
 * channel and ends with exit 0; detach orders UNIMPORT and STOP; a denied
 * attach is refused with exit 4, naming the rule, and nothing reaches the
 * backend; an ask rule runs the ask command, whose yes or no decides;
 * assignments attach on device add, on VM connect and across a bootloader
 * re-enumeration (allow-pid); interfaces refused by a rule reach the
 * backend; malformed, oversized and lying messages from a backend or a VM
 * cost that peer its connection (or are ignored) while usbgated keeps
 * running and answering correctly; a VM on a framed channel (the host end
 * of a virtio-serial port) that restarts behind it (a new framing nonce)
 * is disconnected and can come back.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_chan.h"
#include "ctl_peer.h"
#include "unit_main.h"

#ifndef USBGATED_BIN
#define USBGATED_BIN "tools/usbgated"
#endif
#ifndef USBGATE_BIN
#define USBGATE_BIN "tools/usbgate"
#endif
#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static char dir[64];
static const char *conf_extra = "";	/* more usbgated.conf lines */
static pid_t daemon_pid;
static struct ctl_conn *be, *fe_work;

#define RULES \
	"# test rules\n" \
	"deny id 046d:c52b\n" \
	"ask id 1050:* to work\n" \
	"allow id 1234:* to work deny-interface 03:*:*\n" \
	"allow id 20a0:* to @anyvm\n" \
	"allow id 0951:1666 to work\n" \
	"allow id 4711:* parent-hash \"" PARENT_B64 "\" " \
	"with-connect-type one-of { \"hotplug\" \"unknown\" } to work\n"
#define PARENT_B64	"ERERERERERERERERERERERERERERERERERERERERERE="	/* 0x11 */

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void
show_log(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "tail -n 40 %s/usbgated.log >&2", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "no log\n");
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Connect as a peer; usbgated listens on its configured channel (framed:
 * as the host end of a virtio-serial port is).
 */
static struct ctl_conn *
peer_on(const char *scheme, const char *chan, enum ctl_role role,
    const char *name)
{
	struct ctl_conn *c = NULL;
	char uri[200];
	long end = now_ms() + 5000;

	snprintf(uri, sizeof(uri), "%s:%s/%s", scheme, dir, chan);
	while (now_ms() < end) {
		if (ctl_peer_open(uri, 0, role, CTL_ROLE_DOM0, name,
		    CTL_CAP__ALL, 2000, &c) == CTL_OK)
			return c;
		usleep(20000);
	}
	show_log();
	ck_abort_msg("cannot connect to %s", uri);
	return NULL;
}

static struct ctl_conn *
peer(const char *chan, enum ctl_role role, const char *name)
{
	return peer_on("unix", chan, role, name);
}

static void
start_daemon(void)
{
	char conf[256], log[256], sock[256];
	char text[2048];
	long end;

	snprintf(text, sizeof(text),
	    "# test configuration\n"
	    "socket %s/usbgated.sock\n"
	    "state-dir %s/state\n"
	    "rules-dir %s/rules.d\n"
	    "usb-ids %s/policy/usb.ids.sample\n"
	    "ask-command %s/ask.sh --flag\n"
	    "ask-timeout 5\n"
	    "attach-timeout 3\n"
	    "detach-timeout 2\n"
	    "follow-window 5\n"
	    "backend sys-usb unix:%s/sys-usb.ctl listen\n"
	    "vm work unix:%s/work.ctl listen tag=office\n"
	    "vm personal unix:%s/personal.ctl listen\n"
	    "vm ported framed:unix:%s/ported.ctl listen\n"
	    "data sys-usb * unix:%s/data1 unix:%s/data1\n"
	    "data sys-usb * unix:%s/data2 unix:%s/data2 frontend-listens\n"
	    "%s",
	    dir, dir, dir, TEST_DATA_DIR, dir, dir, dir, dir, dir, dir, dir,
	    dir, dir, conf_extra);
	write_file("usbgated.conf", text, 0644);
	snprintf(conf, sizeof(conf), "%s/usbgated.conf", dir);
	snprintf(log, sizeof(log), "%s/usbgated.log", dir);
	daemon_pid = fork();
	ck_assert_int_ge(daemon_pid, 0);
	if (daemon_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(fd, 2);
		dup2(fd, 1);
		execl(USBGATED_BIN, "usbgated", "-d", "-vv", "-f", conf,
		    (char *)NULL);
		_exit(127);
	}
	snprintf(sock, sizeof(sock), "%s/usbgated.sock", dir);
	for (end = now_ms() + 5000; now_ms() < end; usleep(10000))
		if (access(sock, F_OK) == 0)
			return;
	show_log();
	ck_abort_msg("usbgated did not start");
}

static int
daemon_alive(void)
{
	return daemon_pid > 0 && waitpid(daemon_pid, NULL, WNOHANG) == 0;
}

static void
setup(void)
{
	char rules[128];

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/check_usbgated.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(rules, sizeof(rules), "%s/rules.d", dir);
	mkdir(rules, 0755);
	write_file("rules.d/50-test.rules", RULES, 0644);
	write_file("answer", "1\n", 0644);
	write_file("ask.sh",
	    "#!/bin/sh\n"
	    "# scripted person: answer from a file, record what we were told\n"
	    "d=$(dirname \"$0\")\n"
	    "echo \"$USBGATE_VM $USBGATE_DEVICE $USBGATE_DEVICE_ID $1\" "
	    ">> \"$d/asked\"\n"
	    "exit $(cat \"$d/answer\")\n", 0755);
	start_daemon();
	be = peer("sys-usb.ctl", CTL_ROLE_BACKEND, "sys-usb");
	fe_work = peer("work.ctl", CTL_ROLE_FRONTEND, "work");
}

/* The same, with sys-usb's udev requests turned on. */
static void
setup_udev(void)
{
	conf_extra = "udev-auto-attach yes\n";
	setup();
	conf_extra = "";
}

static void
teardown(void)
{
	char cmd[128];
	int status;

	ctl_conn_free(be);
	ctl_conn_free(fe_work);
	be = fe_work = NULL;
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, &status, 0);
		daemon_pid = 0;
		/* A clean exit; under --enable-sanitizers this also means no
		 * leak and no memory error in the daemon. */
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			show_log();
			ck_abort_msg("usbgated exited with status 0x%x", status);
		}
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

/* ---- the CLI ------------------------------------------------------------------ */

struct cli {
	pid_t pid;
	char out[256];
};

static const char *cli_name = "usbgate";	/* argv[0]: usbgate or qvm-usb */

static void
cli_start(struct cli *c, ...)
{
	char *argv[16], sock[128];
	va_list ap;
	int n = 0;

	snprintf(c->out, sizeof(c->out), "%s/cli.%d.out", dir, rand());
	snprintf(sock, sizeof(sock), "--socket=%s/usbgated.sock", dir);
	argv[n++] = (char *)cli_name;
	argv[n++] = sock;
	va_start(ap, c);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		int fd = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(USBGATE_BIN, argv);
		_exit(127);
	}
}

/* Wait for the CLI; returns its exit code, output in buf. */
static int
cli_wait(struct cli *c, char *buf, size_t size)
{
	int status;
	FILE *f;
	size_t n = 0;

	ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
	buf[0] = '\0';
	if ((f = fopen(c->out, "r")) != NULL) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	ck_assert_msg(WIFEXITED(status), "CLI crashed");
	return WEXITSTATUS(status);
}

#define CLI(buf, ...) ({ struct cli _c; cli_start(&_c, __VA_ARGS__, \
	(char *)NULL); cli_wait(&_c, buf, sizeof(buf)); })

static void
read_into(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/*
 * Run the CLI as NAME (usbgate or qvm-usb: it looks at argv[0]) with the
 * NULL-ended ARGS after --socket; stdout and stderr apart. Exit code.
 */
static int
cli_split(const char *name, const char *const *args, char *out, size_t osize,
    char *errb, size_t esize)
{
	char *argv[24], sock[128], op[256], ep[256];
	int n = 0, status;
	pid_t pid;

	snprintf(op, sizeof(op), "%s/cli.out", dir);
	snprintf(ep, sizeof(ep), "%s/cli.err", dir);
	snprintf(sock, sizeof(sock), "--socket=%s/usbgated.sock", dir);
	argv[n++] = (char *)name;
	argv[n++] = sock;
	while (n < 23 && *args != NULL)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fo, 1);
		dup2(fe, 2);
		execv(USBGATE_BIN, argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "CLI crashed");
	read_into(op, out, osize);
	read_into(ep, errb, esize);
	return WEXITSTATUS(status);
}

/* One JSON value: braces and brackets balance outside strings, one line end. */
static int
json_one_object(const char *s)
{
	int depth = 0, in_str = 0;
	const char *p;

	if (*s != '{')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (in_str) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				in_str = 0;
			continue;
		}
		if (*p == '"')
			in_str = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return 0;
		} else if (depth == 0 && *p != '\n')
			return 0;
	}
	return depth == 0 && !in_str && p > s && p[-1] == '\n';
}

/* ---- protocol helpers --------------------------------------------------------- */

static void
expect(struct ctl_conn *c, uint32_t type, struct ctl_msg *m)
{
	int r = ctl_conn_recv_wait(c, m, 4000);

	if (r != CTL_OK || m->type != type)
		show_log();
	ck_assert_msg(r == CTL_OK, "waiting for %s: %s", ctl_msg_name(type),
	    ctl_strerror(r));
	ck_assert_msg(m->type == type, "got %s, want %s", ctl_msg_name(m->type),
	    ctl_msg_name(type));
}

static void
expect_nothing(struct ctl_conn *c, int ms)
{
	struct ctl_msg m;
	int r = ctl_conn_recv_wait(c, &m, ms);

	ck_assert_msg(r == CTL_E_TIMEOUT, "unexpected %s (r=%d)",
	    r == CTL_OK ? ctl_msg_name(m.type) : "error", r);
}

static void
send_ok(struct ctl_conn *c, const struct ctl_msg *m)
{
	ck_assert_int_eq(ctl_conn_send_wait(c, m, 2000), CTL_OK);
}

static void
publish(const char *busid, uint16_t vid, uint16_t pid, const char *serial,
    int n_if, const uint8_t (*ifs)[3], int type)
{
	struct ctl_msg m;
	int i;

	ctl_msg_init(&m, (uint32_t)type);
	snprintf(m.u.dev.busid, sizeof(m.u.dev.busid), "%s", busid);
	m.u.dev.vid = vid;
	m.u.dev.pid = pid;
	m.u.dev.speed = CTL_SPEED_HIGH;
	snprintf(m.u.dev.serial, sizeof(m.u.dev.serial), "%s", serial);
	snprintf(m.u.dev.product, sizeof(m.u.dev.product), "Test %04x", pid);
	m.u.dev.n_ifaces = (uint8_t)n_if;
	for (i = 0; i < n_if; i++)
		m.u.dev.ifaces[i] = (struct ctl_iface){ (uint8_t)i, ifs[i][0],
		    ifs[i][1], ifs[i][2] };
	m.u.dev.flags = CTL_DEV_F_EXPORT;
	send_ok(be, &m);
}

static const uint8_t IF_STORAGE[][3] = { { 8, 6, 0x50 } };
static const uint8_t IF_KBD[][3] = { { 3, 1, 1 } };
static const uint8_t IF_TOKEN[][3] = { { 0x0b, 0, 0 }, { 3, 0, 0 } };
static const uint8_t IF_DFU[][3] = { { 0xfe, 1, 2 } };

static void
session_status(uint64_t id, const char *busid, int state, int reason)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_SESSION_STATUS);
	m.u.session_status.session = id;
	snprintf(m.u.session_status.busid, sizeof(m.u.session_status.busid),
	    "%s", busid);
	m.u.session_status.state = (uint8_t)state;
	m.u.session_status.reason = (uint8_t)reason;
	send_ok(be, &m);
}

static void
import_result(struct ctl_conn *fe, uint64_t id, int state)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_IMPORT_RESULT);
	m.u.import_result.session = id;
	m.u.import_result.state = (uint8_t)state;
	m.u.import_result.vhci_port = 2;
	if (state == CTL_IMPORT_ATTACHED)
		strcpy(m.u.import_result.local_busid, "3-1");
	send_ok(fe, &m);
}

/* Play backend and frontend for one attach; returns the session id. */
static uint64_t
serve_and_import(struct ctl_conn *fe, const char *busid, struct ctl_msg *serve,
    struct ctl_msg *import)
{
	struct ctl_msg s, i;

	expect(be, CTL_MSG_SERVE, &s);
	ck_assert_str_eq(s.u.serve.busid, busid);
	session_status(s.u.serve.session, busid, CTL_SESS_READY, 0);
	expect(fe, CTL_MSG_IMPORT, &i);
	ck_assert(i.u.import.session == s.u.serve.session);
	import_result(fe, s.u.serve.session, CTL_IMPORT_ATTACHED);
	if (serve != NULL)
		*serve = s;
	if (import != NULL)
		*import = i;
	return s.u.serve.session;
}

/* ---- tests ---------------------------------------------------------------------- */

START_TEST(test_allowed_attach_orders_serve_then_import)
{
	struct ctl_msg s, i, m;
	struct cli c;
	char out[4096];
	uint64_t id;

	publish("1-1", 0x0951, 0x1666, "AA55", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	cli_start(&c, "attach", "work", "sys-usb:1-1", (char *)NULL);
	id = serve_and_import(fe_work, "1-1", &s, &i);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "Attached sys-usb:1-1 to work") != NULL,
	    "%s", out);
	/* The first pooled channel; the backend listens on it. */
	ck_assert_ptr_nonnull(strstr(s.u.serve.uri, "/data1"));
	ck_assert(s.u.serve.options & CTL_OPT_LISTEN);
	ck_assert_uint_eq(s.u.serve.vid, 0x0951);
	ck_assert_uint_eq(s.u.serve.n_refused, 0);
	ck_assert_str_eq(i.u.import.uri, s.u.serve.uri);
	ck_assert(!(i.u.import.options & CTL_OPT_LISTEN));
	ck_assert_str_eq(i.u.import.device_id, "0951:1666:AA55:u080650");
	ck_assert_str_eq(i.u.import.backend, "sys-usb");
	/* Known by sysfs only: its classes are what the frontend may see. */
	ck_assert_uint_eq(i.u.import.n_classes, 1);
	ck_assert_mem_eq(i.u.import.classes[0], IF_STORAGE[0], 3);

	ck_assert_int_eq(CLI(out, "list"), 0);
	ck_assert_msg(strstr(out, "sys-usb:1-1") != NULL &&
	    strstr(out, "Mass_Data: Test 1666") != NULL &&
	    strstr(out, "work (attached)") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "BACKEND:DEVID") == NULL,
	    "header printed without a terminal: %s", out);

	/* personal is not running. */
	ck_assert_int_eq(CLI(out, "attach", "personal", "sys-usb:1-1"), 6);
	ck_assert_msg(strstr(out, "VM personal is not running") != NULL, "%s",
	    out);
	ck_assert_int_eq(CLI(out, "attach", "work", "sys-usb:1-1"), 0);
	ck_assert_ptr_nonnull(strstr(out, "already attached"));

	cli_start(&c, "detach", "work", "sys-usb:1-1", (char *)NULL);
	expect(fe_work, CTL_MSG_UNIMPORT, &m);
	ck_assert(m.u.unimport.session == id);
	expect(be, CTL_MSG_STOP, &m);
	ck_assert(m.u.stop.session == id);
	ck_assert_uint_eq(m.u.stop.reason, CTL_REASON_ORDERED);
	import_result(fe_work, id, CTL_IMPORT_ENDED);
	session_status(id, "1-1", CTL_SESS_ENDED, CTL_REASON_ORDERED);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "Detached sys-usb:1-1 from work"));
	ck_assert_int_eq(CLI(out, "list"), 0);
	ck_assert_ptr_null(strstr(out, "(attached)"));
}
END_TEST

/* A device with its hub's hash and its port's connect type. */
static void
publish_parent(const char *busid, uint8_t parent_byte, int connect,
    uint32_t flags)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_DEV_ADD);
	snprintf(m.u.dev.busid, sizeof(m.u.dev.busid), "%s", busid);
	m.u.dev.vid = 0x4711;
	m.u.dev.pid = 0x0001;
	m.u.dev.n_ifaces = 1;
	m.u.dev.ifaces[0] = (struct ctl_iface){ 0, 8, 6, 0x50 };
	m.u.dev.flags = CTL_DEV_F_EXPORT | flags;
	if (flags & CTL_DEV_F_PARENT)
		memset(m.u.dev.parent_hash, parent_byte, CTL_HASH_LEN);
	if (flags & CTL_DEV_F_CONNECT)
		m.u.dev.connect_type = (uint8_t)connect;
	send_ok(be, &m);
}

/*
 * parent-hash and with-connect-type: matched against what sys-usb sent;
 * a device it sent neither for is refused, and the refusal says why.
 */
START_TEST(test_parent_hash_and_connect_type_rules)
{
	const uint32_t both = CTL_DEV_F_PARENT | CTL_DEV_F_CONNECT;
	struct cli c;
	char out[4096];

	publish_parent("1-5", 0x11, IDENT_CONNECT_UNKNOWN, both);
	ck_assert_int_eq(CLI(out, "info", "work", "sys-usb:1-5"), 0);
	ck_assert_msg(strstr(out, PARENT_B64) && strstr(out, "unknown"),
	    "%s", out);
	cli_start(&c, "attach", "work", "sys-usb:1-5", (char *)NULL);
	serve_and_import(fe_work, "1-5", NULL, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);

	/* Another hub, another connect type: no rule allows them. */
	publish_parent("1-6", 0x12, IDENT_CONNECT_HOTPLUG, both);
	ck_assert_int_eq(CLI(out, "attach", "work", "sys-usb:1-6"), 4);
	ck_assert_msg(strstr(out, "no rule allows") && !strstr(out,
	    "did not report"), "%s", out);
	publish_parent("1-7", 0x11, IDENT_CONNECT_HARDWIRED, both);
	ck_assert_int_eq(CLI(out, "attach", "work", "sys-usb:1-7"), 4);
	ck_assert_msg(strstr(out, "no rule allows"), "%s", out);

	/* Not reported: fail closed, and say which rule needed what. */
	publish_parent("1-8", 0, IDENT_CONNECT_UNKNOWN, CTL_DEV_F_CONNECT);
	ck_assert_int_eq(CLI(out, "attach", "work", "sys-usb:1-8"), 4);
	ck_assert_msg(strstr(out, "50-test.rules:7 names parent-hash, which "
	    "backend sys-usb did not report"), "%s", out);
	publish_parent("1-9", 0x11, 0, CTL_DEV_F_PARENT);
	ck_assert_int_eq(CLI(out, "attach", "work", "sys-usb:1-9"), 4);
	ck_assert_msg(strstr(out, "names with-connect-type, which backend "
	    "sys-usb did not report"), "%s", out);
	expect_nothing(be, 100);
}
END_TEST

START_TEST(test_denied_attach_names_rule_and_orders_nothing)
{
	char out[4096];

	publish("1-2", 0x046d, 0xc52b, "", 1, IF_KBD, CTL_MSG_DEV_ADD);
	ck_assert_int_eq(CLI(out, "attach", "work", "sys-usb:1-2"), 4);
	ck_assert_msg(strstr(out, "denied by rule") != NULL &&
	    strstr(out, "50-test.rules:2: deny id 046d:c52b") != NULL,
	    "%s", out);
	expect_nothing(be, 300);

	/* No rule at all: denied too, and the message says why. */
	publish("1-3", 0x4242, 0x0001, "", 1, IF_KBD, CTL_MSG_DEV_ADD);
	ck_assert_int_eq(CLI(out, "attach", "work", "sys-usb:1-3"), 4);
	ck_assert_msg(strstr(out, "no rule allows") != NULL, "%s", out);
	/* The same answer from the CLI's policy test. */
	ck_assert_int_eq(CLI(out, "policy", "test", "sys-usb:1-2", "work"), 4);
	ck_assert_msg(strstr(out, "deny") && strstr(out, "50-test.rules:2"),
	    "%s", out);
	expect_nothing(be, 100);
}
END_TEST

START_TEST(test_ask_yes_and_no)
{
	char out[4096], asked[512];
	struct cli c;
	FILE *f;

	publish("2-1", 0x1050, 0x0407, "0001234567", 1, IF_KBD,
	    CTL_MSG_DEV_ADD);
	write_file("answer", "1\n", 0644);
	ck_assert_int_eq(CLI(out, "attach", "work", "sys-usb:2-1"), 4);
	ck_assert_msg(strstr(out, "refused by the person asked") != NULL,
	    "%s", out);
	expect_nothing(be, 200);

	write_file("answer", "0\n", 0644);
	cli_start(&c, "attach", "work", "sys-usb:2-1", (char *)NULL);
	serve_and_import(fe_work, "2-1", NULL, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);

	/* What the prompt was told, from the environment only. */
	snprintf(out, sizeof(out), "%s/asked", dir);
	ck_assert_ptr_nonnull(f = fopen(out, "r"));
	ck_assert_ptr_nonnull(fgets(asked, sizeof(asked), f));
	fclose(f);
	ck_assert_str_eq(asked,
	    "work sys-usb:2-1 1050:0407:0001234567:u030101 --flag\n");
}
END_TEST

START_TEST(test_refused_interfaces_reach_backend)
{
	struct ctl_msg s, i;
	struct cli c;
	char out[2048];

	publish("3-1", 0x1234, 0x0001, "T1", 2, IF_TOKEN, CTL_MSG_DEV_ADD);
	cli_start(&c, "attach", "work", "sys-usb:3-1", (char *)NULL);
	serve_and_import(fe_work, "3-1", &s, &i);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ck_assert_uint_eq(s.u.serve.n_refused, 1);
	ck_assert_uint_eq(s.u.serve.refused[0], 1);	/* the HID one */
	ck_assert_uint_eq(s.u.serve.n_refused_alts, 0);
	ck_assert(s.u.serve.options & CTL_OPT_PIN_CONFIG);
	/* The frontend may see the smart card only. */
	ck_assert_uint_eq(i.u.import.n_classes, 1);
	ck_assert_mem_eq(i.u.import.classes[0], IF_TOKEN[0], 3);
}
END_TEST

START_TEST(test_refused_alt_setting_reaches_backend)
{
	struct ctl_msg m, s, i;
	struct cli c;
	char out[2048];

	/* sysfs shows storage; setting 1 of interface 0 is a keyboard. */
	publish("3-2", 0x1234, 0x0002, "T2", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	ctl_msg_init(&m, CTL_MSG_DEV_CHANGE);
	snprintf(m.u.dev.busid, sizeof(m.u.dev.busid), "3-2");
	m.u.dev.vid = 0x1234;
	m.u.dev.pid = 0x0002;
	m.u.dev.speed = CTL_SPEED_HIGH;
	snprintf(m.u.dev.serial, sizeof(m.u.dev.serial), "T2");
	m.u.dev.n_ifaces = 1;
	m.u.dev.ifaces[0] = (struct ctl_iface){ 0, 8, 6, 0x50 };
	m.u.dev.config = 1;
	m.u.dev.n_alts = 3;
	m.u.dev.alts[0] = (struct ctl_ifalt){ 1, 0, 0, 8, 6, 0x50 };
	m.u.dev.alts[1] = (struct ctl_ifalt){ 1, 0, 1, 3, 1, 1 };
	/* A second configuration, which the pinned session never shows. */
	m.u.dev.alts[2] = (struct ctl_ifalt){ 2, 0, 0, 0xff, 0, 0 };
	m.u.dev.flags = CTL_DEV_F_EXPORT;
	send_ok(be, &m);
	ck_assert_int_eq(CLI(out, "info", "work", "sys-usb:3-2"), 0);
	ck_assert_msg(strstr(out, "1:0.1:03:01:01") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "refused_alternate_settings") != NULL &&
	    strstr(out, "0.1") != NULL, "%s", out);
	cli_start(&c, "attach", "work", "sys-usb:3-2", (char *)NULL);
	serve_and_import(fe_work, "3-2", &s, &i);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ck_assert_uint_eq(s.u.serve.n_refused, 0);
	ck_assert_uint_eq(s.u.serve.n_refused_alts, 1);
	ck_assert_uint_eq(s.u.serve.refused_alts[0][0], 0);
	ck_assert_uint_eq(s.u.serve.refused_alts[0][1], 1);
	ck_assert(s.u.serve.options & CTL_OPT_PIN_CONFIG);
	/* Neither the refused keyboard setting nor configuration 2. */
	ck_assert_uint_eq(i.u.import.n_classes, 1);
	ck_assert_mem_eq(i.u.import.classes[0], IF_STORAGE[0], 3);
}
END_TEST

START_TEST(test_import_classes_of_every_configuration_unpinned)
{
	static const uint8_t want[2][3] = { { 8, 6, 0x50 }, { 0xff, 0, 0 } };
	struct ctl_msg m, s, i;
	struct cli c;
	char out[2048];

	/* No interface constraint: every setting of every configuration,
	 * each class once. */
	ctl_msg_init(&m, CTL_MSG_DEV_ADD);
	snprintf(m.u.dev.busid, sizeof(m.u.dev.busid), "1-5");
	m.u.dev.vid = 0x0951;
	m.u.dev.pid = 0x1666;
	m.u.dev.speed = CTL_SPEED_HIGH;
	m.u.dev.n_ifaces = 1;
	m.u.dev.ifaces[0] = (struct ctl_iface){ 0, 8, 6, 0x50 };
	m.u.dev.config = 1;
	m.u.dev.n_alts = 3;
	m.u.dev.alts[0] = (struct ctl_ifalt){ 1, 0, 0, 8, 6, 0x50 };
	m.u.dev.alts[1] = (struct ctl_ifalt){ 1, 0, 1, 8, 6, 0x50 };
	m.u.dev.alts[2] = (struct ctl_ifalt){ 2, 0, 0, 0xff, 0, 0 };
	m.u.dev.flags = CTL_DEV_F_EXPORT;
	send_ok(be, &m);
	cli_start(&c, "attach", "work", "sys-usb:1-5", (char *)NULL);
	serve_and_import(fe_work, "1-5", &s, &i);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ck_assert(!(s.u.serve.options & CTL_OPT_PIN_CONFIG));
	ck_assert_uint_eq(i.u.import.n_classes, 2);
	ck_assert_mem_eq(i.u.import.classes, want, sizeof(want));
}
END_TEST

START_TEST(test_auto_attach_on_add_and_on_vm_connect)
{
	struct ctl_conn *fe_personal;
	char out[4096];
	struct ctl_msg s;

	/* Identity assignment for a device not plugged yet. */
	ck_assert_int_eq(CLI(out, "assign", "--device", "work",
	    "sys-usb:9-9:20a0:42b2:A1:u0b0000u030000"), 0);
	ck_assert_msg(strstr(out, "Assigned.") != NULL, "%s", out);
	ck_assert_int_eq(CLI(out, "list", "-s"), 0);
	ck_assert_msg(strstr(out, "*work (auto-attach)") != NULL, "%s", out);

	/* It appears on some other port: attached without asking. */
	publish("4-4", 0x20a0, 0x42b2, "A1", 2, IF_TOKEN, CTL_MSG_DEV_ADD);
	serve_and_import(fe_work, "4-4", &s, NULL);

	/* A port assignment for a VM that is not running yet. */
	publish("5-1", 0x20a0, 0x4211, "", 1, IF_TOKEN, CTL_MSG_DEV_ADD);
	ck_assert_int_eq(CLI(out, "assign", "--port", "personal",
	    "sys-usb:5-1"), 0);
	expect_nothing(be, 200);
	fe_personal = peer("personal.ctl", CTL_ROLE_FRONTEND, "personal");
	serve_and_import(fe_personal, "5-1", &s, NULL);
	/* The second pool entry: frontend listens there. */
	ck_assert(!(s.u.serve.options & CTL_OPT_LISTEN));
	ctl_conn_free(fe_personal);
	/* The VM went away: the backend is told to stop. */
	expect(be, CTL_MSG_STOP, &s);
	ck_assert_uint_eq(s.u.stop.reason, CTL_REASON_PEER_GONE);
}
END_TEST

START_TEST(test_failed_auto_attach_is_retried)
{
	char out[2048];
	struct ctl_msg m;
	long t0;

	ck_assert_int_eq(CLI(out, "assign", "--device", "work",
	    "sys-usb:9-9:20a0:42b2:R1:u0b0000u030000"), 0);
	publish("4-5", 0x20a0, 0x42b2, "R1", 2, IF_TOKEN, CTL_MSG_DEV_ADD);
	/* Still resetting after a resume: the backend cannot serve yet. */
	expect(be, CTL_MSG_SERVE, &m);
	t0 = now_ms();
	session_status(m.u.serve.session, "4-5", CTL_SESS_FAILED,
	    CTL_REASON_BUSY);
	serve_and_import(fe_work, "4-5", NULL, NULL);
	ck_assert_int_ge(now_ms() - t0, 900);	/* after the back-off */
}
END_TEST

/* Does usbgated's log hold needle? */
static int
log_has(const char *needle)
{
	static char text[1 << 16];
	char path[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/usbgated.log", dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return strstr(text, needle) != NULL;
}

/* sys-usb asks for "work" (udev's USBGATE_AUTO_ATTACH) while adding it. */
static void
publish_asking(const char *busid, uint16_t vid, uint16_t pid)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_DEV_ADD);
	snprintf(m.u.dev.busid, sizeof(m.u.dev.busid), "%s", busid);
	m.u.dev.vid = vid;
	m.u.dev.pid = pid;
	m.u.dev.n_ifaces = 1;
	m.u.dev.ifaces[0] = (struct ctl_iface){ 0, 8, 6, 0x50 };
	m.u.dev.flags = CTL_DEV_F_EXPORT;
	strcpy(m.u.dev.auto_attach, "work");
	send_ok(be, &m);
}

/*
 * By default only dom0 chooses the VM: a request from sys-usb attaches
 * nothing, even where a rule names that VM and device.
 */
START_TEST(test_udev_request_ignored_by_default)
{
	char out[4096];

	publish_asking("5-7", 0x0951, 0x1666);	/* allow id 0951:1666 to work */
	expect_nothing(be, 300);
	ck_assert_int_eq(CLI(out, "list"), 0);
	ck_assert_msg(strstr(out, "attached") == NULL, "%s", out);
}
END_TEST

/*
 * With udev-auto-attach on, a rule that lets any VM have a device (to
 * @anyvm) does not let sys-usb pick the VM: only a rule that names the VM
 * and the device, or an assignment, does.
 */
START_TEST(test_udev_request_needs_a_rule_naming_vm_and_device)
{
	publish_asking("5-8", 0x20a0, 0x4108);	/* allow id 20a0:* to @anyvm */
	expect_nothing(be, 300);
	ck_assert_msg(log_has("sys-usb:5-8 -> work (udev request): not "
	    "followed"), "the refusal is not logged");
}
END_TEST

START_TEST(test_udev_request_is_only_a_request)
{
	struct ctl_msg m;

	/* Allowed by policy: the request is honoured. */
	ctl_msg_init(&m, CTL_MSG_DEV_ADD);
	strcpy(m.u.dev.busid, "5-5");
	m.u.dev.vid = 0x0951;
	m.u.dev.pid = 0x1666;
	m.u.dev.n_ifaces = 1;
	m.u.dev.ifaces[0] = (struct ctl_iface){ 0, 8, 6, 0x50 };
	m.u.dev.flags = CTL_DEV_F_EXPORT | CTL_DEV_F_RESET;
	strcpy(m.u.dev.auto_attach, "work");
	send_ok(be, &m);
	expect(be, CTL_MSG_SERVE, &m);
	ck_assert(m.u.serve.options & CTL_OPT_RESET);
	session_status(m.u.serve.session, "5-5", CTL_SESS_READY, 0);
	expect(fe_work, CTL_MSG_IMPORT, &m);
	import_result(fe_work, m.u.import.session, CTL_IMPORT_ATTACHED);

	/* Denied by policy: sys-usb asking changes nothing. */
	ctl_msg_init(&m, CTL_MSG_DEV_ADD);
	strcpy(m.u.dev.busid, "5-6");
	m.u.dev.vid = 0x046d;
	m.u.dev.pid = 0xc52b;
	m.u.dev.flags = CTL_DEV_F_EXPORT;
	strcpy(m.u.dev.auto_attach, "work");
	send_ok(be, &m);
	expect_nothing(be, 300);
}
END_TEST

START_TEST(test_persistent_attach_detach_all_and_resume)
{
	char out[4096];
	struct ctl_msg m, s1, s2;
	struct cli c;

	publish("1-1", 0x0951, 0x1666, "AA55", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	publish("1-2", 0x20a0, 0x42b2, "B", 2, IF_TOKEN, CTL_MSG_DEV_ADD);
	cli_start(&c, "attach", "-p", "work", "sys-usb:1-1", (char *)NULL);
	serve_and_import(fe_work, "1-1", &s1, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	cli_start(&c, "attach", "work", "sys-usb:1-2", (char *)NULL);
	serve_and_import(fe_work, "1-2", &s2, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ck_assert_int_eq(CLI(out, "list", "-s", "work"), 0);
	ck_assert_msg(strstr(out, "work (attached), *work (required)") !=
	    NULL, "%s", out);

	/* detach VM: every device of the VM; answered when both confirmed. */
	cli_start(&c, "detach", "work", (char *)NULL);
	expect(fe_work, CTL_MSG_UNIMPORT, &m);
	import_result(fe_work, m.u.unimport.session, CTL_IMPORT_ENDED);
	expect(fe_work, CTL_MSG_UNIMPORT, &m);
	import_result(fe_work, m.u.unimport.session, CTL_IMPORT_ENDED);
	expect(be, CTL_MSG_STOP, &m);
	session_status(m.u.stop.session, m.u.stop.busid, CTL_SESS_ENDED, 1);
	expect(be, CTL_MSG_STOP, &m);
	session_status(m.u.stop.session, m.u.stop.busid, CTL_SESS_ENDED, 1);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "Detached sys-usb:1-1 from work") &&
	    strstr(out, "Detached sys-usb:1-2 from work"), "%s", out);

	/* resume: the required assignment attaches 1-1 again, not 1-2. */
	cli_start(&c, "resume", (char *)NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	serve_and_import(fe_work, "1-1", NULL, NULL);
	expect_nothing(be, 200);
	ck_assert_int_eq(CLI(out, "unassign", "work", "sys-usb:1-1"), 0);
	ck_assert_int_eq(CLI(out, "unassign", "work", "sys-usb:1-1"), 3);
	ck_assert_int_eq(CLI(out, "list", "-s"), 0);
	ck_assert_ptr_null(strstr(out, "(required)"));
}
END_TEST

START_TEST(test_reenumeration_follows_assignment)
{
	char out[4096];
	struct ctl_msg m;
	uint64_t id;

	ck_assert_int_eq(CLI(out, "assign", "--device", "--allow-pid", "42dd",
	    "work", "sys-usb:6-1:20a0:42b2:NK3:u0b0000u030000"), 0);
	publish("6-1", 0x20a0, 0x42b2, "NK3", 2, IF_TOKEN, CTL_MSG_DEV_ADD);
	id = serve_and_import(fe_work, "6-1", NULL, NULL);

	/* Firmware update: the device leaves and comes back as bootloader,
	 * on a new bus id. */
	session_status(id, "6-1", CTL_SESS_ENDED, CTL_REASON_DEVICE_GONE);
	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	strcpy(m.u.dev_remove.busid, "6-1");
	send_ok(be, &m);
	expect(fe_work, CTL_MSG_UNIMPORT, &m);
	ck_assert(m.u.unimport.session == id);
	import_result(fe_work, id, CTL_IMPORT_ENDED);
	publish("6-2", 0x20a0, 0x42dd, "NK3", 1, IF_DFU, CTL_MSG_DEV_ADD);
	serve_and_import(fe_work, "6-2", NULL, NULL);

	/* Another device of that vendor with that PID is not followed. */
	publish("6-3", 0x20a0, 0x42dd, "OTHER", 1, IF_DFU, CTL_MSG_DEV_ADD);
	expect_nothing(be, 300);
}
END_TEST

START_TEST(test_manual_attach_follows_same_device_back)
{
	char out[2048];
	struct cli c;
	struct ctl_msg m;
	uint64_t id;

	publish("7-1", 0x0951, 0x1666, "ZZ", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	cli_start(&c, "attach", "work", "sys-usb:7-1", (char *)NULL);
	id = serve_and_import(fe_work, "7-1", NULL, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	strcpy(m.u.dev_remove.busid, "7-1");
	send_ok(be, &m);
	expect(fe_work, CTL_MSG_UNIMPORT, &m);
	import_result(fe_work, id, CTL_IMPORT_ENDED);
	publish("7-1", 0x0951, 0x1666, "ZZ", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	serve_and_import(fe_work, "7-1", NULL, NULL);
}
END_TEST

/* The device leaves sys-usb: the frontend is told, and confirms. */
static void
unplug_attached(const char *busid, uint64_t id)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	snprintf(m.u.dev_remove.busid, sizeof(m.u.dev_remove.busid), "%s",
	    busid);
	send_ok(be, &m);
	expect(fe_work, CTL_MSG_UNIMPORT, &m);
	ck_assert(m.u.unimport.session == id);
	import_result(fe_work, id, CTL_IMPORT_ENDED);
}

static void
unplug(const char *busid)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	snprintf(m.u.dev_remove.busid, sizeof(m.u.dev_remove.busid), "%s",
	    busid);
	send_ok(be, &m);
}

/*
 * A device that comes back as another identity which stays in sys-usb (a
 * bootloader nobody assigned) is no longer followed: when it returns to its
 * first identity within the window it is not pulled back into the VM.
 */
START_TEST(test_follow_ends_when_device_comes_back_as_another)
{
	char out[2048];
	struct cli c;
	uint64_t id;

	/* Same serial, another port (identity clause). */
	publish("7-2", 0x20a0, 0x4108, "TW1", 2, IF_TOKEN, CTL_MSG_DEV_ADD);
	cli_start(&c, "attach", "work", "sys-usb:7-2", (char *)NULL);
	id = serve_and_import(fe_work, "7-2", NULL, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	unplug_attached("7-2", id);
	publish("7-3", 0x20a0, 0x4109, "TW1", 1, IF_DFU, CTL_MSG_DEV_ADD);
	expect_nothing(be, 300);
	unplug("7-3");
	publish("7-2", 0x20a0, 0x4108, "TW1", 2, IF_TOKEN, CTL_MSG_DEV_ADD);
	expect_nothing(be, 300);
	ck_assert_int_eq(CLI(out, "list"), 0);
	ck_assert_msg(strstr(out, "(attached)") == NULL, "%s", out);

	/* No serial: another device in its port ends the follow. */
	publish("7-5", 0x20a0, 0x4200, "", 2, IF_TOKEN, CTL_MSG_DEV_ADD);
	cli_start(&c, "attach", "work", "sys-usb:7-5", (char *)NULL);
	id = serve_and_import(fe_work, "7-5", NULL, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	unplug_attached("7-5", id);
	publish("7-5", 0x20a0, 0x4201, "", 1, IF_DFU, CTL_MSG_DEV_ADD);
	expect_nothing(be, 300);
	unplug("7-5");
	publish("7-5", 0x20a0, 0x4200, "", 2, IF_TOKEN, CTL_MSG_DEV_ADD);
	expect_nothing(be, 300);
}
END_TEST

/*
 * The device leaves sys-usb while attached, and the VM reports the end of
 * the session (its data channel closed) before sys-usb does: the device is
 * followed back all the same.
 */
START_TEST(test_follow_when_vm_reports_the_end_first)
{
	char out[2048];
	struct cli c;
	struct ctl_msg m;
	uint64_t id;

	publish("7-8", 0x0951, 0x1666, "YY", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	cli_start(&c, "attach", "work", "sys-usb:7-8", (char *)NULL);
	id = serve_and_import(fe_work, "7-8", NULL, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ctl_msg_init(&m, CTL_MSG_IMPORT_RESULT);
	m.u.import_result.session = id;
	m.u.import_result.state = CTL_IMPORT_ENDED;
	m.u.import_result.reason = CTL_REASON_PEER_GONE;
	send_ok(fe_work, &m);
	expect(be, CTL_MSG_STOP, &m);
	ck_assert(m.u.stop.session == id);
	session_status(id, "7-8", CTL_SESS_ENDED, CTL_REASON_DEVICE_GONE);
	unplug("7-8");
	publish("7-8", 0x0951, 0x1666, "YY", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	serve_and_import(fe_work, "7-8", NULL, NULL);
}
END_TEST

START_TEST(test_lying_messages_are_ignored)
{
	char out[4096];
	struct ctl_msg m;
	struct cli c;
	uint64_t id;

	publish("8-1", 0x0951, 0x1666, "L1", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	/* Status for a session that does not exist. */
	session_status(0x123456789ull, "8-1", CTL_SESS_READY, 0);
	/* Removal of a device never published. */
	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	strcpy(m.u.dev_remove.busid, "9-9");
	send_ok(be, &m);
	/* A device with the export flag cleared is not listed. */
	ctl_msg_init(&m, CTL_MSG_DEV_ADD);
	strcpy(m.u.dev.busid, "8-2");
	m.u.dev.vid = 0x0951;
	send_ok(be, &m);

	cli_start(&c, "attach", "work", "sys-usb:8-1", (char *)NULL);
	expect(be, CTL_MSG_SERVE, &m);
	id = m.u.serve.session;
	/* READY naming another busid is ignored... */
	session_status(id, "8-9", CTL_SESS_READY, 0);
	/* ...so is the frontend claiming success before it was asked. */
	import_result(fe_work, id, CTL_IMPORT_ATTACHED);
	expect_nothing(fe_work, 200);
	session_status(id, "8-1", CTL_SESS_READY, 0);
	expect(fe_work, CTL_MSG_IMPORT, &m);
	import_result(fe_work, id, CTL_IMPORT_ATTACHED);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);

	ck_assert_int_eq(CLI(out, "list"), 0);
	ck_assert_ptr_nonnull(strstr(out, "sys-usb:8-1"));
	ck_assert_ptr_null(strstr(out, "sys-usb:8-2"));
	ck_assert_int_eq(CLI(out, "status"), 0);
	ck_assert_msg(strstr(out, "sys-usb          connected") != NULL, "%s",
	    out);
	ck_assert(daemon_alive());
}
END_TEST

static void
raw(const void *buf, size_t len)
{
	ck_assert_int_eq(write(ctl_conn_wfd(be), buf, len), (ssize_t)len);
}

static void
assert_backend_cut_and_recovers(void)
{
	struct ctl_msg m;
	char out[4096];
	int r;

	/* usbgated says why and closes. */
	r = ctl_conn_recv_wait(be, &m, 3000);
	if (r == CTL_OK) {
		ck_assert_uint_eq(m.type, CTL_MSG_ERROR);
		r = ctl_conn_recv_wait(be, &m, 3000);
	}
	ck_assert_int_eq(r, CTL_E_EOF);
	ck_assert(daemon_alive());
	/* Its devices are gone, the daemon answers, a new connection works. */
	r = CLI(out, "list");
	ck_assert_msg(r == 0, "list: exit %d: %s", r, out);
	ck_assert_ptr_null(strstr(out, "sys-usb:8-1"));
	ctl_conn_free(be);
	be = peer("sys-usb.ctl", CTL_ROLE_BACKEND, "sys-usb");
	publish("8-1", 0x0951, 0x1666, "L1", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	ck_assert_int_eq(CLI(out, "list"), 0);
	ck_assert_ptr_nonnull(strstr(out, "sys-usb:8-1"));
}

START_TEST(test_garbage_from_backend_cuts_only_it)
{
	static const uint8_t junk[] = { 0x01, 0x01, 0, 0, 40, 0, 0, 0,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	publish("8-1", 0x0951, 0x1666, "L1", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	raw(junk, sizeof(junk));
	assert_backend_cut_and_recovers();
}
END_TEST

START_TEST(test_oversized_frame_from_backend_cuts_only_it)
{
	static const uint8_t hdr[] = { 0x01, 0x01, 0, 0, 0xff, 0xff, 0xff,
	    0x7f };

	publish("8-1", 0x0951, 0x1666, "L1", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	raw(hdr, sizeof(hdr));
	assert_backend_cut_and_recovers();
}
END_TEST

START_TEST(test_wrong_direction_from_backend_cuts_only_it)
{
	struct ctl_msg m;

	publish("8-1", 0x0951, 0x1666, "L1", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	/* A backend ordering dom0 to import something. */
	ctl_msg_init(&m, CTL_MSG_IMPORT);
	m.u.import.session = 1;
	strcpy(m.u.import.backend, "sys-usb");
	strcpy(m.u.import.busid, "8-1");
	strcpy(m.u.import.uri, "unix:/x");
	strcpy(m.u.import.device_id, "x");
	send_ok(be, &m);
	assert_backend_cut_and_recovers();
}
END_TEST

START_TEST(test_hub_claim_from_backend_cuts_only_it)
{
	static const uint8_t IF_HUB[][3] = { { 9, 0, 0 } };
	struct ctl_wbuf w;
	uint8_t buf[512];
	int i;

	publish("8-1", 0x0951, 0x1666, "L1", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	/* Our encoder refuses to send a hub, so build the frame by hand. */
	ctl_wbuf_init(&w, buf, sizeof(buf));
	ctl_frame_begin(&w, CTL_MSG_DEV_ADD);
	ctl_put_str(&w, "8-3", 31);
	for (i = 0; i < 4; i++)
		ctl_put_u16(&w, 1);
	ctl_put_u8(&w, 3);
	ctl_put_u8(&w, 0);
	ctl_put_u8(&w, 0);
	ctl_put_u8(&w, 0);
	ctl_put_str(&w, "", 1);
	ctl_put_str(&w, "", 1);
	ctl_put_str(&w, "", 1);
	ctl_put_u8(&w, 1);
	ctl_put_u8(&w, 0);
	ctl_put_bytes(&w, IF_HUB[0], 3);
	for (i = 0; i < 32; i++)
		ctl_put_u8(&w, 0);
	ctl_put_u32(&w, CTL_DEV_F_EXPORT);
	ctl_put_str(&w, "", 1);
	ck_assert_int_eq(ctl_frame_end(&w), CTL_OK);
	raw(buf, w.len);
	assert_backend_cut_and_recovers();
}
END_TEST

START_TEST(test_second_hello_from_backend_cuts_it)
{
	publish("8-1", 0x0951, 0x1666, "L1", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	/* A daemon that restarts behind a virtio-serial port is a new
	 * session of the framing (a new connection for usbgated); a second
	 * HELLO on one connection is a protocol error. */
	ck_assert_int_eq(ctl_conn_send_hello(be, "sys-usb", CTL_CAP__ALL),
	    CTL_OK);
	assert_backend_cut_and_recovers();
}
END_TEST

/* The state column of peer name's row in `usbgate status`. */
static int
peer_state_is(const char *name, const char *state)
{
	char out[4096], *line;

	ck_assert_int_eq(CLI(out, "status"), 0);
	for (line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n"))
		if (strstr(line, name) != NULL)
			return strstr(line, state) != NULL;
	return 0;
}

START_TEST(test_framed_vm_restart_behind_its_port)
{
	struct ctl_conn *c1, *c2;
	struct ctl_msg m;
	char end[32];
	int i;

	c1 = peer_on("framed:unix", "ported.ctl", CTL_ROLE_FRONTEND, "ported");
	ck_assert(peer_state_is("ported", " connected"));
	/* The VM's daemon restarts behind its port: a new framing session
	 * (another nonce) on the same byte stream, no CLOSE. */
	snprintf(end, sizeof(end), "framed:fd:%d", dup(ctl_conn_fd(c1)));
	ck_assert_int_eq(ctl_conn_open(end, NULL, CTL_ROLE_FRONTEND,
	    CTL_ROLE_DOM0, &c2), CTL_OK);
	ck_assert_int_eq(ctl_conn_send_hello(c2, "ported", 0), CTL_OK);
	/* usbgated ends that connection (and so forgets the VM)... */
	ck_assert_int_eq(ctl_conn_recv_wait(c2, &m, 5000), CTL_E_EOF);
	for (i = 0; i < 100 && !peer_state_is("ported", "disconnected"); i++)
		usleep(20000);
	ck_assert(peer_state_is("ported", "disconnected"));
	ctl_conn_free(c2);
	ctl_conn_free(c1);
	/* ...and the next connection is a new start. */
	c1 = peer_on("framed:unix", "ported.ctl", CTL_ROLE_FRONTEND, "ported");
	ck_assert(peer_state_is("ported", " connected"));
	ck_assert(daemon_alive());
	ctl_conn_free(c1);
}
END_TEST

START_TEST(test_device_flood_is_capped)
{
	char out[65536], busid[16];
	int i, lines = 0;
	const char *p;

	for (i = 0; i < 140; i++) {
		snprintf(busid, sizeof(busid), "%d-%d", 10 + i / 100,
		    1 + i % 100);
		publish(busid, 0x0951, (uint16_t)i, "", 1, IF_STORAGE,
		    CTL_MSG_DEV_ADD);
	}
	ck_assert_int_eq(CLI(out, "list"), 0);
	for (p = out; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	ck_assert_int_eq(lines, 128);
	ck_assert(daemon_alive());
}
END_TEST

START_TEST(test_frontend_lies_about_other_vms_session)
{
	struct ctl_conn *fe_personal;
	struct ctl_msg m;
	struct cli c;
	char out[2048];
	uint64_t id;

	fe_personal = peer("personal.ctl", CTL_ROLE_FRONTEND, "personal");
	publish("8-1", 0x0951, 0x1666, "L1", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	cli_start(&c, "attach", "work", "sys-usb:8-1", (char *)NULL);
	id = serve_and_import(fe_work, "8-1", NULL, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	/* Attaching it to another VM is busy. */
	ck_assert_int_eq(CLI(out, "attach", "personal", "sys-usb:8-1"), 5);
	ck_assert_msg(strstr(out, "attached to work") != NULL, "%s", out);
	/* personal claims work's session ended: ignored. */
	import_result(fe_personal, id, CTL_IMPORT_ENDED);
	expect_nothing(be, 300);
	ck_assert_int_eq(CLI(out, "list"), 0);
	ck_assert_ptr_nonnull(strstr(out, "work (attached)"));
	/* The real owner ending it does stop the backend. */
	import_result(fe_work, id, CTL_IMPORT_ENDED);
	expect(be, CTL_MSG_STOP, &m);
	ck_assert(m.u.stop.session == id);
	ctl_conn_free(fe_personal);
}
END_TEST

START_TEST(test_backend_failure_reported_to_cli)
{
	struct ctl_msg m;
	struct cli c;
	char out[2048];

	publish("8-1", 0x0951, 0x1666, "L1", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	cli_start(&c, "attach", "work", "sys-usb:8-1", (char *)NULL);
	expect(be, CTL_MSG_SERVE, &m);
	ck_assert_ptr_nonnull(strstr(m.u.serve.uri, "/data1"));
	session_status(m.u.serve.session, "8-1", CTL_SESS_FAILED,
	    CTL_REASON_MISMATCH);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 7);
	ck_assert_msg(strstr(out, "sys-usb could not serve 8-1: device "
	    "identity mismatch") != NULL, "%s", out);
	/* The data channel went back to the pool. */
	cli_start(&c, "attach", "work", "sys-usb:8-1", (char *)NULL);
	expect(be, CTL_MSG_SERVE, &m);
	ck_assert_ptr_nonnull(strstr(m.u.serve.uri, "/data1"));
	session_status(m.u.serve.session, "8-1", CTL_SESS_READY, 0);
	expect(fe_work, CTL_MSG_IMPORT, &m);
	/* The VM never answers: the CLI gets a timeout, both are told. */
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 8);
	ck_assert_msg(strstr(out, "did not attach the device") != NULL, "%s",
	    out);
	expect(fe_work, CTL_MSG_UNIMPORT, &m);
	expect(be, CTL_MSG_STOP, &m);
}
END_TEST

START_TEST(test_policy_check_reports_file_line)
{
	char out[4096];

	write_file("bad.rules", "allow id 1234:5678\nallow id 12:34\n"
	    "deny with-interface 08:*:50\n", 0644);
	write_file("good.rules", RULES, 0644);
	{
		char bad[128], good[128];

		snprintf(bad, sizeof(bad), "%s/bad.rules", dir);
		snprintf(good, sizeof(good), "%s/good.rules", dir);
		ck_assert_int_eq(CLI(out, "policy", "check", good), 0);
		ck_assert_int_eq(CLI(out, "policy", "check", good, bad), 9);
		ck_assert_msg(strstr(out, "bad.rules:2: bad device id") &&
		    strstr(out, "bad.rules:3: bad interface type"), "%s", out);
	}
}
END_TEST

START_TEST(test_json_and_exit_codes)
{
	char out[4096];

	publish("1-1", 0x0951, 0x1666, "AA55", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	ck_assert_int_eq(CLI(out, "--json", "list"), 0);
	ck_assert_msg(strstr(out, "\"device\": \"sys-usb:1-1\"") &&
	    strstr(out, "\"device_id\": \"0951:1666:AA55:u080650\""), "%s",
	    out);
	ck_assert_int_eq(CLI(out, "attach", "work", "sys-usb:7-7"), 3);
	ck_assert_int_eq(CLI(out, "attach", "nosuchvm", "sys-usb:1-1"), 3);
	ck_assert_int_eq(CLI(out, "attach", "work"), 2);
	ck_assert_int_eq(CLI(out, "attach", "work",
	    "sys-usb:1-1:0951:1666:XX:u080650"), 3);
	ck_assert_msg(strstr(out, "is 0951:1666:AA55:u080650, not") != NULL,
	    "%s", out);
	ck_assert_int_eq(CLI(out, "frobnicate"), 2);
	ck_assert_int_eq(CLI(out, "info", "work", "sys-usb:1-1"), 0);
	ck_assert_msg(strstr(out, "device ID: 0951:1666:AA55:u080650") &&
	    strstr(out, "policy for work: allow"), "%s", out);
}
END_TEST

/*
 * --json: one object per run, failures included; values typed (numbers,
 * booleans, lists, null); policy check's errors on stderr, its summary on
 * stdout; policy test on a missing rules directory is an error.
 */
static const struct {
	const char *args[8];
	int status;
	const char *out[4];	/* substrings of stdout */
	const char *err;	/* substring of stderr, or NULL */
} json_cases[] = {
	{ { "--json", "list", NULL }, 0,
	  { "\"present\": true", "\"used_by\": null",
	    "\"assignments\": []", "\"status\": 0" }, NULL },
	{ { "--json", "info", "work", "sys-usb:1-1", NULL }, 0,
	  { "\"interfaces\": [{\"number\": 0, \"type\": \"08:06:50\"}]",
	    "\"reset_on_attach\": false", "\"decision\": \"allow\"",
	    "\"udev_auto_attach\": null" }, NULL },
	{ { "--json", "status", NULL }, 0,
	  { "\"devices\": 1", "\"kind\": \"backend\"", NULL }, NULL },
	{ { "--json", "attach", "work", "sys-usb:7-7", NULL }, 3,
	  { "\"status\": 3", "\"result\": \"not found\"",
	    "\"rows\": []" }, "sys-usb:7-7" },
	{ { "--json", "info", "work", "sys-usb:7-7", NULL }, 3,
	  { "\"status\": 3", NULL }, NULL },
	{ { "--json", "attach", "work", NULL }, 2,
	  { "\"command\": \"attach\"", "\"status\": 2",
	    "\"message\": \"usage: " }, "usage" },
	{ { "--json", "frobnicate", NULL }, 2,
	  { "\"command\": \"frobnicate\"", "\"status\": 2" }, "unknown" },
	{ { "--json", "reload", NULL }, 0, { "\"command\": \"reload\"" },
	  NULL },
	{ { "--json", "policy", "test", "--rules", "/nonexistent",
	    "0951:1666:AA55:u080650", "work", NULL }, 9,
	  { "\"status\": 9" }, "/nonexistent: no such file" },
	{ { "policy", "test", "--rules", "/nonexistent",
	    "0951:1666:AA55:u080650", "work", NULL }, 9, { NULL },
	  "/nonexistent: no such file" },
	{ { "--json", "policy", "import", TEST_DATA_DIR "/usbguard/rules.conf",
	    NULL }, 9,
	  { "\"command\": \"policy import\"", "{\"line\": 6, \"converted\": "
	    "false, \"error\": \"USBGuard conditions are not supported",
	    "\"changes\": \"block read as deny\"", "\"status\": 9" }, NULL },
	{ { "--json", "policy", "import", "/nonexistent", NULL }, 1,
	  { "\"status\": 1", "\"message\": \"/nonexistent: " }, NULL },
};

START_TEST(test_json_every_command_typed)
{
	char out[16384], errb[4096], bad[256], good[256];
	int i, j, st;

	publish("1-1", 0x0951, 0x1666, "AA55", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	for (i = 0; i < (int)(sizeof(json_cases) / sizeof(json_cases[0]));
	    i++) {
		st = cli_split("usbgate", json_cases[i].args, out, sizeof(out),
		    errb, sizeof(errb));
		ck_assert_msg(st == json_cases[i].status, "case %d (%s %s): "
		    "exit %d, want %d\n%s%s", i, json_cases[i].args[0],
		    json_cases[i].args[1], st, json_cases[i].status, out, errb);
		if (strcmp(json_cases[i].args[0], "--json") == 0)
			ck_assert_msg(json_one_object(out), "case %d: not one "
			    "JSON object:\n%s", i, out);
		for (j = 0; j < 4 && json_cases[i].out[j] != NULL; j++)
			ck_assert_msg(strstr(out, json_cases[i].out[j]) != NULL,
			    "case %d: no %s in\n%s", i, json_cases[i].out[j],
			    out);
		if (json_cases[i].err != NULL)
			ck_assert_msg(strstr(errb, json_cases[i].err) != NULL,
			    "case %d: no %s on stderr:\n%s", i,
			    json_cases[i].err, errb);
	}
	snprintf(bad, sizeof(bad), "%s/policy/bad.rules", TEST_DATA_DIR);
	snprintf(good, sizeof(good), "%s/policy/good.rules", TEST_DATA_DIR);
	st = cli_split("usbgate", (const char *const[]){ "policy", "check",
	    good, bad, NULL }, out, sizeof(out), errb, sizeof(errb));
	ck_assert_int_eq(st, 9);
	ck_assert_msg(strstr(errb, "bad.rules:4: ") && !strstr(out,
	    "bad.rules:4: ") && strstr(out, "good.rules: ") &&
	    strstr(out, "rule(s) OK") && strstr(out, "bad.rules: "),
	    "errors belong on stderr, the summary on stdout:\n%.1000s---\n"
	    "%.1000s", out, errb);
	st = cli_split("usbgate", (const char *const[]){ "--json", "policy",
	    "check", good, bad, NULL }, out, sizeof(out), errb, sizeof(errb));
	ck_assert_int_eq(st, 9);
	ck_assert_msg(json_one_object(out) && strstr(out, "\"ok\": true") &&
	    strstr(out, "\"ok\": false") && strstr(out, "\"line\": 4,") &&
	    strstr(out, "\"command\": \"policy check\""), "%.2000s", out);
}
END_TEST

/*
 * qvm-usb as Qubes R4.3's qvm-device usb: every row of doc/qvm-usb.md's
 * table, the expected output and exit code taken from qvm_device.py and
 * qubesadmin/tools/__init__.py (argparse errors exit 2, QubesException 1).
 * sys-usb:1-1 is a storage stick; work and personal are VMs; nothing is
 * attached.
 */
static const struct {
	const char *args[6];
	int status;
	const char *out;	/* exact stdout, or NULL: not checked */
	const char *out_has;	/* substring of stdout, or NULL */
	const char *err_has;	/* substring of stderr, or NULL */
} qvm_usb_cases[] = {
	{ { "--list-device-classes", NULL }, 0, "usb\n", NULL, NULL },
	{ { "list", "--list-device-classes", NULL }, 0, "usb\n", NULL, NULL },
	{ { NULL }, 0, NULL, "sys-usb:1-1  Mass_Data: Test 1666", NULL },
	{ { "ls", NULL }, 0, NULL, "sys-usb:1-1  Mass_Data: Test 1666", NULL },
	{ { "-v", "l", NULL }, 0, NULL, "sys-usb:1-1", NULL },
	{ { "-q", "list", NULL }, 0, NULL, "sys-usb:1-1", NULL },
	{ { "--quiet", "--verbose", "list", NULL }, 0, NULL, "sys-usb:1-1",
	  NULL },
	{ { "list", "sys-usb", NULL }, 0, NULL, "sys-usb:1-1", NULL },
	{ { "list", "work", NULL }, 0, "", NULL, NULL },
	{ { "list", "nosuchvm", NULL }, 2, "", NULL,
	  "qvm-usb: error: no such domain: 'nosuchvm'" },
	{ { "list", "--exclude", "work", NULL }, 2, "", NULL,
	  "qvm-usb: error: --exclude can only be used with --all" },
	{ { "list", "--all", "--exclude", "sys-usb", NULL }, 0, "", NULL,
	  NULL },
	{ { "list", "--all", "--exclude", "work", NULL }, 0, NULL,
	  "sys-usb:1-1", NULL },
	{ { "list", "--help", NULL }, 0, NULL, "usage: qvm-usb list", NULL },
	{ { "attach", "-h", NULL }, 0, NULL, "usage: qvm-usb attach", NULL },
	{ { "--help", NULL }, 0, NULL, "usage: qvm-usb", NULL },
	{ { "info", "sys-usb:1-1", NULL }, 0,
	  "Mass_Data: Test 1666\ndevice ID: 0951:1666:AA55:u080650\n", NULL,
	  NULL },
	{ { "i", "sys-usb:7-7", NULL }, 1, "", NULL,
	  "qvm-usb: error: backend vm sys-usb doesn't expose usb device "
	  "'7-7'" },
	{ { "info", "nosuchbackend:1-1", NULL }, 1, "", NULL,
	  "qvm-usb: error: no such backend vm!" },
	{ { "info", "work", "sys-usb:1-1", NULL }, 2, "", NULL,
	  "unrecognized arguments: sys-usb:1-1" },
	{ { "attach", "work", "sys-usb", NULL }, 2, "", NULL,
	  "qvm-usb: error: expected a backend vm, port id and [optional] "
	  "device id combination like foo:bar[:baz] got sys-usb" },
	{ { "attach", "nosuchvm", "sys-usb:1-1", NULL }, 2, "", NULL,
	  "qvm-usb: error: no such domain: 'nosuchvm'" },
	{ { "attach", "work", "sys-usb:7-7", NULL }, 1, "", NULL,
	  "qvm-usb: error: backend vm sys-usb doesn't expose usb device "
	  "'7-7'" },
	{ { "attach", "--ro", "work", "sys-usb:1-1", NULL }, 1, "", NULL,
	  "qvm-usb: error: USB device attach does not support user options" },
	{ { "attach", "-o", "x=y", "work", "sys-usb:1-1", NULL }, 1, "", NULL,
	  "qvm-usb: error: USB device attach does not support user options" },
	{ { "attach", "work", NULL }, 2, "", NULL,
	  "the following arguments are required" },
	{ { "detach", "work", "sys-usb:1-1", NULL }, 1, "", NULL,
	  "qvm-usb: error: sys-usb:1-1 is not attached." },
	{ { "detach", "work", "sys-usb:*", NULL }, 1, "", NULL,
	  "qvm-usb: error: sys-usb:* is not attached." },
	{ { "detach", "nosuchvm", NULL }, 2, "", NULL,
	  "qvm-usb: error: no such domain: 'nosuchvm'" },
	{ { "assign", "--ask", "--required", "work", "sys-usb:1-1", NULL }, 2,
	  "", NULL, "not allowed with argument" },
	{ { "assign", "--port", "--device", "work", "sys-usb:1-1", NULL }, 2,
	  "", NULL, "not allowed with argument" },
	{ { "unassign", "nosuchvm", NULL }, 2, "", NULL,
	  "qvm-usb: error: no such domain: 'nosuchvm'" },
	{ { "policy", "check", NULL }, 2, "", NULL,
	  "qvm-usb: error: argument command: invalid choice: 'policy'" },
	{ { "status", NULL }, 2, "", NULL, "invalid choice: 'status'" },
	{ { "--json", "list", NULL }, 2, "", NULL,
	  "unrecognized arguments: --json" },
	{ { "--version", NULL }, 0, NULL, "qvm-usb (usbgate) ", NULL },
};

START_TEST(test_qvm_usb_as_qubes)
{
	char out[8192], errb[4096];
	int i, st;

	publish("1-1", 0x0951, 0x1666, "AA55", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	for (i = 0; i < (int)(sizeof(qvm_usb_cases) /
	    sizeof(qvm_usb_cases[0])); i++) {
		st = cli_split("qvm-usb", qvm_usb_cases[i].args, out,
		    sizeof(out), errb, sizeof(errb));
		ck_assert_msg(st == qvm_usb_cases[i].status, "case %d (%s %s): "
		    "exit %d, want %d\n%s%s", i,
		    qvm_usb_cases[i].args[0] ? qvm_usb_cases[i].args[0] : "",
		    qvm_usb_cases[i].args[0] ? qvm_usb_cases[i].args[1] : "",
		    st, qvm_usb_cases[i].status, out, errb);
		if (qvm_usb_cases[i].out != NULL)
			ck_assert_msg(strcmp(out, qvm_usb_cases[i].out) == 0,
			    "case %d: stdout\n%s\nwant\n%s", i, out,
			    qvm_usb_cases[i].out);
		if (qvm_usb_cases[i].out_has != NULL)
			ck_assert_msg(strstr(out, qvm_usb_cases[i].out_has),
			    "case %d: no '%s' in\n%s", i,
			    qvm_usb_cases[i].out_has, out);
		if (qvm_usb_cases[i].err_has != NULL)
			ck_assert_msg(strstr(errb, qvm_usb_cases[i].err_has),
			    "case %d: no '%s' on stderr:\n%s", i,
			    qvm_usb_cases[i].err_has, errb);
	}
}
END_TEST

/* qvm-usb attach prints nothing; detach VM BACKEND:* detaches them all. */
START_TEST(test_qvm_usb_attach_detach_backend_star)
{
	char out[4096], errb[1024];
	struct ctl_msg m;
	struct cli c;
	uint64_t id;

	publish("1-1", 0x0951, 0x1666, "AA55", 1, IF_STORAGE, CTL_MSG_DEV_ADD);
	cli_name = "qvm-usb";
	cli_start(&c, "attach", "work", "sys-usb:1-1", (char *)NULL);
	id = serve_and_import(fe_work, "1-1", NULL, NULL);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ck_assert_msg(out[0] == '\0', "qvm-usb attach printed: %s", out);
	ck_assert_int_eq(cli_split("qvm-usb", (const char *const[]){ "list",
	    "work", NULL }, out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strstr(out, "sys-usb:1-1  Mass_Data: Test 1666  work "
	    "(attached)") != NULL, "%s", out);
	cli_start(&c, "detach", "work", "sys-usb:*", (char *)NULL);
	cli_name = "usbgate";
	expect(fe_work, CTL_MSG_UNIMPORT, &m);
	ck_assert(m.u.unimport.session == id);
	expect(be, CTL_MSG_STOP, &m);
	import_result(fe_work, id, CTL_IMPORT_ENDED);
	session_status(id, "1-1", CTL_SESS_ENDED, CTL_REASON_ORDERED);
	ck_assert_int_eq(cli_wait(&c, out, sizeof(out)), 0);
	ck_assert_msg(out[0] == '\0', "qvm-usb detach printed: %s", out);
	ck_assert_int_eq(CLI(out, "list"), 0);
	ck_assert_ptr_null(strstr(out, "(attached)"));
}
END_TEST

/*
 * usbgate policy import on a corpus in usbguard generate-policy's format
 * and on hand-written rules.conf forms: each line reported, the output
 * passes policy check, duplicate interface types match, block/reject are
 * deny, conditions are refused with their column.
 */
START_TEST(test_policy_import_usbguard_corpus)
{
	char out[16384], errb[8192], gp[256], conf[256], rdir[128];
	char rfile[192];
	FILE *f;

	snprintf(gp, sizeof(gp), "%s/usbguard/generate-policy.rules",
	    TEST_DATA_DIR);
	snprintf(conf, sizeof(conf), "%s/usbguard/rules.conf", TEST_DATA_DIR);
	snprintf(rdir, sizeof(rdir), "%s/imported", dir);
	snprintf(rfile, sizeof(rfile), "%s/50-usbguard.rules", rdir);
	mkdir(rdir, 0755);

	ck_assert_int_eq(cli_split("usbgate", (const char *const[]){ "policy",
	    "import", gp, NULL }, out, sizeof(out), errb, sizeof(errb)), 0);
	/* parent-hash and with-connect-type are kept: usbgated matches them. */
	ck_assert_msg(strstr(errb, "generate-policy.rules: 10 rule(s) "
	    "converted (0 with changes), 0 not converted") &&
	    strstr(errb, "generate-policy.rules:3: converted\n"),
	    "%.3000s", errb);
	ck_assert_msg(strstr(out, "parent-hash \"5j0DEg2H+U5uJr6Oq5I0snaOoUpZ"
	    "QEreL9ha/x9ajZI=\" via-port \"1-10\" with-interface equals "
	    "{ e0:01:01 } with-connect-type \"hardwired\"\n"), "%.3000s", out);
	ck_assert_ptr_nonnull(f = fopen(rfile, "w"));
	fputs(out, f);
	fclose(f);
	ck_assert_int_eq(cli_split("usbgate", (const char *const[]){ "policy",
	    "check", rdir, NULL }, out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strstr(out, "10 rule(s) OK"), "%s%s", out, errb);

	ck_assert_int_eq(cli_split("usbgate", (const char *const[]){ "policy",
	    "import", conf, NULL }, out, sizeof(out), errb, sizeof(errb)), 9);
	ck_assert_msg(strstr(errb, "rules.conf:6: error: USBGuard conditions "
	    "are not supported (at column 20)") &&
	    strstr(errb, "rules.conf:3: converted: block read as deny") &&
	    strstr(errb, "rules.conf:4: converted: reject read as deny") &&
	    strstr(errb, "rules.conf:2: converted: label \"the mouse-like "
	    "token\" kept as a comment") &&
	    strstr(errb, "rules.conf:7: converted\n") &&
	    strstr(errb, "6 rule(s) converted (4 with changes), 1 not "
	    "converted"), "%.3000s", errb);
	ck_assert_msg(strstr(out, "# allow id 0781:5581 if !rule-applied"),
	    "%.3000s", out);
	ck_assert_ptr_nonnull(f = fopen(rfile, "w"));
	fputs(out, f);
	fclose(f);
	/* { 03:01:02 03:00:00 03:00:00 } matches the device USBGuard matches. */
	ck_assert_int_eq(cli_split("usbgate", (const char *const[]){ "policy",
	    "test", "--rules", rdir, "1050:0407::u030102u030000u030000",
	    "work", NULL }, out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strstr(out, "allow\n") && strstr(out, "50-usbguard."
	    "rules:5: allow id 1050:0407 with-interface equals { 03:01:02 "
	    "03:00:00 }"), "%s%s", out, errb);
	/* block: a stick that is also a keyboard is denied. */
	ck_assert_int_eq(cli_split("usbgate", (const char *const[]){ "policy",
	    "test", "--rules", rdir, "abcd:0001::u080650u030001", "work",
	    NULL }, out, sizeof(out), errb, sizeof(errb)), 4);
	ck_assert_msg(strstr(out, "deny\n"), "%s%s", out, errb);

	ck_assert_int_eq(cli_split("usbgate", (const char *const[]){ "policy",
	    "import", "/nonexistent", NULL }, out, sizeof(out), errb,
	    sizeof(errb)), 1);
}
END_TEST

START_TEST(test_unreachable_daemon_exit_code)
{
	char out[1024];

	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = 0;
	ck_assert_int_eq(CLI(out, "list"), 6);
	ck_assert_ptr_nonnull(strstr(out, "cannot reach usbgated"));
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("usbgated");
	TCase *tc = tcase_create("host");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_allowed_attach_orders_serve_then_import);
	tcase_add_test(tc, test_denied_attach_names_rule_and_orders_nothing);
	tcase_add_test(tc, test_parent_hash_and_connect_type_rules);
	tcase_add_test(tc, test_ask_yes_and_no);
	tcase_add_test(tc, test_refused_interfaces_reach_backend);
	tcase_add_test(tc, test_refused_alt_setting_reaches_backend);
	tcase_add_test(tc, test_import_classes_of_every_configuration_unpinned);
	tcase_add_test(tc, test_auto_attach_on_add_and_on_vm_connect);
	tcase_add_test(tc, test_failed_auto_attach_is_retried);
	tcase_add_test(tc, test_udev_request_ignored_by_default);
	tcase_add_test(tc, test_persistent_attach_detach_all_and_resume);
	tcase_add_test(tc, test_reenumeration_follows_assignment);
	tcase_add_test(tc, test_manual_attach_follows_same_device_back);
	tcase_add_test(tc, test_follow_ends_when_device_comes_back_as_another);
	tcase_add_test(tc, test_follow_when_vm_reports_the_end_first);
	tcase_add_test(tc, test_lying_messages_are_ignored);
	tcase_add_test(tc, test_garbage_from_backend_cuts_only_it);
	tcase_add_test(tc, test_oversized_frame_from_backend_cuts_only_it);
	tcase_add_test(tc, test_wrong_direction_from_backend_cuts_only_it);
	tcase_add_test(tc, test_hub_claim_from_backend_cuts_only_it);
	tcase_add_test(tc, test_second_hello_from_backend_cuts_it);
	tcase_add_test(tc, test_framed_vm_restart_behind_its_port);
	tcase_add_test(tc, test_device_flood_is_capped);
	tcase_add_test(tc, test_frontend_lies_about_other_vms_session);
	tcase_add_test(tc, test_backend_failure_reported_to_cli);
	tcase_add_test(tc, test_policy_check_reports_file_line);
	tcase_add_test(tc, test_json_and_exit_codes);
	tcase_add_test(tc, test_json_every_command_typed);
	tcase_add_test(tc, test_qvm_usb_as_qubes);
	tcase_add_test(tc, test_qvm_usb_attach_detach_backend_star);
	tcase_add_test(tc, test_policy_import_usbguard_corpus);
	tcase_add_test(tc, test_unreachable_daemon_exit_code);
	suite_add_tcase(s, tc);

	tc = tcase_create("udev-auto-attach");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup_udev, teardown);
	tcase_add_test(tc, test_udev_request_is_only_a_request);
	tcase_add_test(tc, test_udev_request_needs_a_rule_naming_vm_and_device);
	suite_add_tcase(s, tc);
	return s;
}
