/*
 * check_assign.c: the assignment store.
 *
 * Proves: the line format round-trips and bad assignments are refused with
 * a reason; save/load round-trips; a file cut at any byte loads as a prefix
 * of what was written and reports the damage; garbage lines are dropped
 * with their line numbers and the rest kept; a process killed at any step
 * of a save (SIGKILL from a hook, in a child) leaves either the old or the
 * new file, never a mixture; match ranks follow Qubes (port+id > port >
 * id) plus the re-enumeration rule; identity assignments survive bus
 * renumbering.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "assign.h"
#include "unit_main.h"

static char dir[64];
static char path[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_assign.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/assignments", dir);
}

static void
teardown(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static struct pol_assign
mk(const char *vm, const char *backend, const char *port, const char *devid,
    enum pol_assign_mode mode)
{
	struct pol_assign a;

	memset(&a, 0, sizeof(a));
	snprintf(a.vm, sizeof(a.vm), "%s", vm);
	snprintf(a.backend, sizeof(a.backend), "%s", backend);
	snprintf(a.port, sizeof(a.port), "%s", port);
	snprintf(a.device_id, sizeof(a.device_id), "%s", devid);
	a.mode = mode;
	return a;
}

#define NK3	"20a0:42b2:A1B2C3:u030000u0b0000"
#define NOSER	"046d:c31c::u030101"

static const char *const good_lines[] = {
	"assign work sys-usb 2-1 " NK3 " auto-attach",
	"assign work sys-usb * " NK3 " required",
	"assign work sys-usb 2-1.4 * ask-to-attach",
	"assign vault sys-usb * " NK3 " auto-attach allow-pid=42dd",
	"assign vault sys-usb * " NK3 " auto-attach allow-pid=42dd,42de,0001",
	"assign kbd sys-usb 1-1 " NOSER " auto-attach allow-pid=c31d",
	"assign a.b_c-d sys-usb2 10-2.3 0000:0000::?****** required",
};

START_TEST(test_good_lines_roundtrip)
{
	struct pol_assign a;
	char msg[160], buf[600];

	ck_assert_msg(pol_assign_parse_line(good_lines[_i], &a, msg,
	    sizeof(msg)) == POL_OK, "%s: %s", good_lines[_i], msg);
	ck_assert_int_ge(pol_assign_format(&a, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, good_lines[_i]);
}
END_TEST

static const struct bad_case {
	const char *line, *why;
} bad_lines[] = {
	{ "assign work sys-usb * * auto-attach", "needs a port, a device id" },
	{ "assign work sys-usb 2-1 * manual", "bad mode" },
	{ "assign work sys-usb 2-1 * sometimes", "bad mode" },
	{ "assign dom0 sys-usb 2-1 * required", "dom0 never" },
	{ "assign 1work sys-usb 2-1 * required", "bad VM name" },
	{ "assign work sys;usb 2-1 * required", "bad backend" },
	{ "assign work sys-usb 2-x * required", "bad port" },
	{ "assign work sys-usb 2-1 1234:5678 required", "bad device id" },
	{ "assign work sys-usb 2-1 * required allow-pid=1234",
	  "allow-pid needs a device id" },
	{ "assign kbd sys-usb * " NOSER " auto-attach allow-pid=c31d",
	  "without serial number needs a port" },
	{ "assign v sys-usb * " NK3 " auto-attach allow-pid=42dd,42dd",
	  "duplicate allow-pid" },
	{ "assign v sys-usb * " NK3 " auto-attach allow-pid=42d",
	  "bad allow-pid" },
	{ "assign v sys-usb * " NK3 " auto-attach pid=42dd", "bad allow-pid" },
	{ "assign v sys-usb * 0000:0000::?****** auto-attach allow-pid=0001",
	  "known device id" },
	{ "assign v sys-usb *", "not an assignment line" },
	{ "attach v sys-usb 1-1 * required", "not an assignment line" },
	{ "assign v sys-usb 1-1 * required x y", "not an assignment line" },
	{ "assign v sys-usb 1-1 * required x y z", "too many fields" },
};

START_TEST(test_bad_lines_refused_with_reason)
{
	const struct bad_case *t = &bad_lines[_i];
	struct pol_assign a;
	char msg[160];

	ck_assert_msg(pol_assign_parse_line(t->line, &a, msg, sizeof(msg)) < 0,
	    "accepted: %s", t->line);
	ck_assert_msg(strstr(msg, t->why) != NULL, "%s: \"%s\"", t->line, msg);
}
END_TEST

static void
fill_store(struct pol_assign_store *st, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct pol_assign a;
		char port[16];

		snprintf(port, sizeof(port), "%d-%d", 1 + i / 10, 1 + i % 10);
		a = mk(i % 2 ? "work" : "vault", "sys-usb", port,
		    i % 3 ? NK3 : "*", i % 3 == 1 ? POL_MODE_REQUIRED :
		    POL_MODE_AUTO);
		ck_assert_int_eq(pol_assign_add(st, &a), POL_OK);
	}
}

static void
assert_same(const struct pol_assign_store *a, const struct pol_assign_store *b)
{
	size_t i;

	ck_assert_uint_eq(a->n, b->n);
	for (i = 0; i < a->n; i++)
		ck_assert_mem_eq(&a->a[i], &b->a[i], sizeof(a->a[i]));
}

START_TEST(test_save_load_roundtrip)
{
	struct pol_assign_store st, back;
	struct pol_diags dg;
	struct stat sb;

	pol_assign_init(&st, path);
	fill_store(&st, 25);
	ck_assert_int_eq(pol_assign_save(&st), POL_OK);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0600);
	memset(&dg, 0, sizeof(dg));
	pol_assign_init(&back, path);
	ck_assert_int_eq(pol_assign_load(&back, &dg), 0);
	ck_assert_int_eq(dg.total, 0);
	assert_same(&st, &back);
	pol_assign_free(&st);
	pol_assign_free(&back);
}
END_TEST

START_TEST(test_missing_file_is_empty_store)
{
	struct pol_assign_store st;

	pol_assign_init(&st, path);
	ck_assert_int_eq(pol_assign_load(&st, NULL), POL_OK);
	ck_assert_uint_eq(st.n, 0);
}
END_TEST

START_TEST(test_truncated_file_loads_a_prefix)
{
	struct pol_assign_store st, back;
	char *full;
	long size, cut, first;
	FILE *f;

	pol_assign_init(&st, path);
	fill_store(&st, 6);
	ck_assert_int_eq(pol_assign_save(&st), POL_OK);
	f = fopen(path, "r");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	full = calloc(1, (size_t)size + 1);
	ck_assert_uint_eq(fread(full, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	first = (long)(strstr(full, "\nassign ") + 1 - full);

	for (cut = 0; cut < size; cut++) {
		struct pol_diags dg;
		size_t i;
		int fd = open(path, O_WRONLY | O_TRUNC);

		ck_assert_int_eq(write(fd, full, (size_t)cut), cut);
		close(fd);
		memset(&dg, 0, sizeof(dg));
		pol_assign_init(&back, path);
		pol_assign_load(&back, &dg);
		ck_assert_uint_le(back.n, st.n);
		for (i = 0; i < back.n; i++)
			ck_assert_mem_eq(&back.a[i], &st.a[i], sizeof(st.a[i]));
		/* Anything short of the whole file is noticed, except a cut
		 * at a line end before the first assignment (empty store). */
		if (cut > first || (cut > 0 && full[cut - 1] != '\n'))
			ck_assert_msg(dg.total > 0, "cut %ld unnoticed", cut);
		pol_assign_free(&back);
	}
	free(full);
	pol_assign_free(&st);
}
END_TEST

START_TEST(test_garbage_lines_dropped_rest_kept)
{
	struct pol_assign_store st;
	struct pol_diags dg;
	FILE *f = fopen(path, "w");
	int r;

	fputs("usbgate-assignments 1\n"
	    "assign work sys-usb 2-1 * auto-attach\n"
	    "assign work sys-usb 2-1 \xff\xfe auto-attach\n"
	    "rm -rf /\n"
	    "assign vault sys-usb * " NK3 " required\n", f);
	fwrite("assign x\0y sys-usb 1-1 * required\n", 1, 35, f);
	fputs("end 4\n", f);
	fclose(f);
	memset(&dg, 0, sizeof(dg));
	pol_assign_init(&st, path);
	r = pol_assign_load(&st, &dg);
	ck_assert_int_ge(r, 3);
	ck_assert_uint_eq(st.n, 2);
	ck_assert_str_eq(st.a[1].vm, "vault");
	ck_assert_int_eq(dg.d[0].line, 3);
	ck_assert_int_eq(dg.d[1].line, 4);
	ck_assert_int_eq(dg.d[2].line, 6);
	pol_assign_free(&st);
}
END_TEST

START_TEST(test_random_files_load_only_valid_lines)
{
	unsigned seed = 777;
	int iter;

	for (iter = 0; iter < 300; iter++) {
		struct pol_assign_store st;
		char buf[2048];
		size_t i, len;
		FILE *f = fopen(path, "w");

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(buf);
		/* Valid lines with random bytes sprinkled in. */
		for (i = 0; i < len; i++) {
			const char *tmpl = good_lines[(i / 64) %
			    (sizeof(good_lines) / sizeof(good_lines[0]))];

			seed = seed * 1103515245u + 12345u;
			buf[i] = (seed >> 16) % 50 == 0 ? (char)(seed >> 8) :
			    i % 64 < strlen(tmpl) ? tmpl[i % 64] : '\n';
		}
		fwrite(buf, 1, len, f);
		fclose(f);
		pol_assign_init(&st, path);
		ck_assert_int_ge(pol_assign_load(&st, NULL), 0);
		for (i = 0; i < st.n; i++) {
			char msg[160];

			ck_assert_int_eq(pol_assign_validate(&st.a[i], msg,
			    sizeof(msg)), POL_OK);
		}
		pol_assign_free(&st);
	}
}
END_TEST

/* ---- crash in the middle of a save ------------------------------------ */

static int crash_stage, crash_line, lines_seen;

static void
crash_hook(int stage)
{
	if (stage == 0 && crash_stage == 0 && ++lines_seen < crash_line)
		return;
	if (stage == crash_stage)
		raise(SIGKILL);
}

START_TEST(test_kill_during_save_leaves_old_or_new)
{
	static const struct { int stage, line, want_new; } points[] = {
		{ 0, 1, 0 }, { 0, 5, 0 }, { 1, 0, 0 }, { 2, 0, 0 },
		{ 3, 0, 1 },
	};
	struct pol_assign_store old, neu, back;
	struct pol_diags dg;
	size_t p;

	pol_assign_init(&old, path);
	fill_store(&old, 8);
	ck_assert_int_eq(pol_assign_save(&old), POL_OK);
	pol_assign_init(&neu, path);
	fill_store(&neu, 20);

	for (p = 0; p < sizeof(points) / sizeof(points[0]); p++) {
		int status;
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			crash_stage = points[p].stage;
			crash_line = points[p].line;
			lines_seen = 0;
			pol_assign_save_hook = crash_hook;
			pol_assign_save(&neu);
			_exit(0);	/* not reached */
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		memset(&dg, 0, sizeof(dg));
		pol_assign_init(&back, path);
		ck_assert_int_eq(pol_assign_load(&back, &dg), 0);
		ck_assert_int_eq(dg.total, 0);
		assert_same(points[p].want_new ? &neu : &old, &back);
		pol_assign_free(&back);
		/* Put the old file back for the next crash point; the stale
		 * .tmp left by the crash must not get in the way. */
		ck_assert_int_eq(pol_assign_save(&old), POL_OK);
	}
	pol_assign_free(&old);
	pol_assign_free(&neu);
}
END_TEST

/* ---- editing ---------------------------------------------------------- */

START_TEST(test_add_updates_same_key_and_remove_filters)
{
	struct pol_assign_store st;
	struct pol_assign a;

	pol_assign_init(&st, path);
	a = mk("work", "sys-usb", "2-1", NK3, POL_MODE_AUTO);
	ck_assert_int_eq(pol_assign_add(&st, &a), POL_OK);
	a.mode = POL_MODE_REQUIRED;
	ck_assert_int_eq(pol_assign_add(&st, &a), POL_OK);
	ck_assert_uint_eq(st.n, 1);
	ck_assert_int_eq(st.a[0].mode, POL_MODE_REQUIRED);
	a = mk("work", "sys-usb", "*", NK3, POL_MODE_AUTO);
	pol_assign_add(&st, &a);
	a = mk("work", "sys-usb", "2-1", "*", POL_MODE_AUTO);
	pol_assign_add(&st, &a);
	a = mk("vault", "sys-usb", "2-1", "*", POL_MODE_AUTO);
	pol_assign_add(&st, &a);
	ck_assert_uint_eq(st.n, 4);
	a = mk("work", "sys-usb", "*", "*", POL_MODE_AUTO);
	ck_assert_int_eq(pol_assign_add(&st, &a), POL_E_VALUE);

	/* --device: the identity-only one. */
	ck_assert_int_eq(pol_assign_remove(&st, "work", "sys-usb", "*", NK3),
	    1);
	/* no device: everything of the VM. */
	ck_assert_int_eq(pol_assign_remove(&st, "work", NULL, NULL, NULL), 2);
	ck_assert_uint_eq(st.n, 1);
	ck_assert_str_eq(st.a[0].vm, "vault");
	pol_assign_free(&st);
}
END_TEST

/* ---- ranks ------------------------------------------------------------ */

static struct pol_device
dev(const char *busid, uint16_t vid, uint16_t pid, const char *serial,
    uint8_t cls)
{
	struct pol_device d;

	memset(&d, 0, sizeof(d));
	snprintf(d.backend, sizeof(d.backend), "sys-usb");
	snprintf(d.busid, sizeof(d.busid), "%s", busid);
	d.vid = vid;
	d.pid = pid;
	snprintf(d.serial, sizeof(d.serial), "%s", serial);
	d.n_ifaces = 1;
	d.ifaces[0].cls = cls;
	return d;
}

static const struct rank_case {
	const char *name;
	const char *assign;
	const char *backend, *busid;
	uint16_t vid, pid;
	const char *serial;
	uint8_t cls;
	enum pol_assign_rank want;
} rank_cases[] = {
	{ "port and id", "assign w sys-usb 2-1 20a0:42b2:A1:u030000 auto-attach",
	  "sys-usb", "2-1", 0x20a0, 0x42b2, "A1", 3, POL_RANK_BOTH },
	{ "port and id, other port", "assign w sys-usb 2-1 20a0:42b2:A1:u030000 auto-attach",
	  "sys-usb", "2-2", 0x20a0, 0x42b2, "A1", 3, POL_RANK_NONE },
	{ "port only", "assign w sys-usb 2-1 * auto-attach",
	  "sys-usb", "2-1", 0x1234, 0x5678, "", 8, POL_RANK_PORT },
	{ "port only, other backend", "assign w sys-usb 2-1 * auto-attach",
	  "sys-usb2", "2-1", 0x1234, 0x5678, "", 8, POL_RANK_NONE },
	{ "id only, any port", "assign w sys-usb * 20a0:42b2:A1:u030000 auto-attach",
	  "sys-usb", "7-3.2", 0x20a0, 0x42b2, "A1", 3, POL_RANK_ID },
	{ "bus renumbered: id still matches",
	  "assign w sys-usb * 046d:c31c::u030000 required",
	  "sys-usb", "1-4", 0x046d, 0xc31c, "", 3, POL_RANK_ID },
	{ "id differs in interfaces", "assign w sys-usb * 20a0:42b2:A1:u030000 auto-attach",
	  "sys-usb", "2-1", 0x20a0, 0x42b2, "A1", 0xfe, POL_RANK_NONE },
	{ "bootloader PID allowed",
	  "assign w sys-usb * 20a0:42b2:A1:u030000 auto-attach allow-pid=42dd",
	  "sys-usb", "2-1", 0x20a0, 0x42dd, "A1", 0xfe, POL_RANK_REENUM },
	{ "bootloader PID, other serial",
	  "assign w sys-usb * 20a0:42b2:A1:u030000 auto-attach allow-pid=42dd",
	  "sys-usb", "2-1", 0x20a0, 0x42dd, "B2", 0xfe, POL_RANK_NONE },
	{ "bootloader PID, other vendor",
	  "assign w sys-usb * 20a0:42b2:A1:u030000 auto-attach allow-pid=42dd",
	  "sys-usb", "2-1", 0x20a1, 0x42dd, "A1", 0xfe, POL_RANK_NONE },
	{ "PID not listed",
	  "assign w sys-usb * 20a0:42b2:A1:u030000 auto-attach allow-pid=42dd",
	  "sys-usb", "2-1", 0x20a0, 0x4200, "A1", 0xfe, POL_RANK_NONE },
	{ "no serial: port pins the re-enumerated device",
	  "assign w sys-usb 1-1 046d:c31c::u030101 auto-attach allow-pid=c31d",
	  "sys-usb", "1-1", 0x046d, 0xc31d, "", 0xfe, POL_RANK_REENUM },
	{ "no serial: not on another port",
	  "assign w sys-usb 1-1 046d:c31c::u030101 auto-attach allow-pid=c31d",
	  "sys-usb", "1-2", 0x046d, 0xc31d, "", 0xfe, POL_RANK_NONE },
	{ "no serial assigned, device has one",
	  "assign w sys-usb 1-1 046d:c31c::u030101 auto-attach allow-pid=c31d",
	  "sys-usb", "1-1", 0x046d, 0xc31d, "X", 0xfe, POL_RANK_NONE },
	{ "serial compared as in device ids",
	  "assign w sys-usb * 20a0:42b2:A_1:u030000 auto-attach allow-pid=42dd",
	  "sys-usb", "2-1", 0x20a0, 0x42dd, "A 1", 0xfe, POL_RANK_REENUM },
};

START_TEST(test_rank_table)
{
	const struct rank_case *t = &rank_cases[_i];
	struct pol_device d = dev(t->busid, t->vid, t->pid, t->serial, t->cls);
	struct pol_assign a;
	char msg[160], id[POL_DEVID_MAX + 1];

	ck_assert_msg(pol_assign_parse_line(t->assign, &a, msg, sizeof(msg))
	    == POL_OK, "%s", msg);
	pol_device_id(&d, id, sizeof(id));
	ck_assert_msg(pol_assign_rank(&a, t->backend, t->busid, id, &d) ==
	    t->want, "%s (device %s)", t->name, id);
}
END_TEST

START_TEST(test_mode_names_roundtrip)
{
	int m;

	for (m = POL_MODE_MANUAL; m <= POL_MODE_REQUIRED; m++)
		ck_assert_int_eq(pol_assign_mode_parse(
		    pol_assign_mode_name((enum pol_assign_mode)m)), m);
	ck_assert_int_lt(pol_assign_mode_parse("auto"), 0);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("assign");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_good_lines_roundtrip, 0,
	    sizeof(good_lines) / sizeof(good_lines[0]));
	tcase_add_loop_test(tc, test_bad_lines_refused_with_reason, 0,
	    sizeof(bad_lines) / sizeof(bad_lines[0]));
	tcase_add_test(tc, test_save_load_roundtrip);
	tcase_add_test(tc, test_missing_file_is_empty_store);
	tcase_add_test(tc, test_truncated_file_loads_a_prefix);
	tcase_add_test(tc, test_garbage_lines_dropped_rest_kept);
	tcase_add_test(tc, test_random_files_load_only_valid_lines);
	tcase_add_test(tc, test_kill_during_save_leaves_old_or_new);
	tcase_add_test(tc, test_add_updates_same_key_and_remove_filters);
	tcase_add_loop_test(tc, test_rank_table, 0,
	    sizeof(rank_cases) / sizeof(rank_cases[0]));
	tcase_add_test(tc, test_mode_names_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}
