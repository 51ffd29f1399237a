/*
 * check_vmd_opts.c: the command line both VM daemons share
 * (common/vmd_opts.c): what each option sets, the daemon's own options
 * through its callback, and every usage error refused.
 */
#include "config.h"

#include <check.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_main.h"
#include "vmd_opts.h"

struct own {
	int seen_t;
	const char *t_arg;
};

static int
own_opt(void *ctx, int ch, const char *arg)
{
	struct own *o = ctx;

	if (ch != 't' || strcmp(arg, "bad") == 0)
		return -1;
	o->seen_t++;
	o->t_arg = arg;
	return 0;
}

static const struct option own_opts[] = {
	{ "timeout", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 }
};

/* argv as a space-separated line; returns vmd_opts_parse's answer. */
static int
parse(const char *line, int empty_name_ok, struct vmd_opts *o, struct own *w)
{
	static char buf[512];
	char *argv[64], *tok, *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "daemon %s", line);
	for (tok = strtok_r(buf, " ", &save); tok != NULL && argc < 63;
	    tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	optind = 1;
	opterr = 0;
	return vmd_opts_parse(argc, argv, own_opts, "t:", own_opt, w,
	    "sys-usb", empty_name_ok, o);
}

START_TEST(shared_options_are_read)
{
	struct vmd_opts o;
	struct own w = { 0 };

	ck_assert_int_eq(parse("--control dev:/dev/vport0p1 --listen --name "
	    "work -p unix:/run/a* --data-pool tcp:* --user nobody -v -v", 0,
	    &o, &w), 0);
	ck_assert_str_eq(o.control, "dev:/dev/vport0p1");
	ck_assert_int_eq(o.listen, 1);
	ck_assert_str_eq(o.name, "work");
	ck_assert_int_eq(o.pool.n, 2);
	ck_assert_str_eq(o.user, "nobody");
	ck_assert_int_eq(o.verbose, 2);
	ck_assert_int_eq(o.check, 0);
	ck_assert_int_eq(w.seen_t, 0);
	ck_assert_int_eq(parse("--check --control dev:/dev/vport0p1", 0, &o,
	    &w), 0);
	ck_assert_int_eq(o.check, 1);
}
END_TEST

START_TEST(defaults_and_own_options)
{
	struct vmd_opts o;
	struct own w = { 0 };

	ck_assert_int_eq(parse("-c stdio -t 5", 0, &o, &w), 0);
	ck_assert_str_eq(o.name, "sys-usb");
	ck_assert_int_eq(o.listen, 0);
	ck_assert_ptr_null(o.user);
	ck_assert_int_eq(w.seen_t, 1);
	ck_assert_str_eq(w.t_arg, "5");
}
END_TEST

static const struct {
	const char *line;
	int empty_name_ok;
} usage_errors[] = {
	{ "", 0 },				/* no --control */
	{ "--listen", 0 },
	{ "-c stdio operand", 0 },
	{ "-c stdio --bogus", 0 },
	{ "-c stdio -x", 0 },
	{ "-c stdio --name 9bad", 0 },		/* not a VM name */
	{ "-c stdio --name a/b", 0 },
	{ "-c stdio -t bad", 0 },		/* the daemon refuses it */
	{ "-c stdio -p a -p b -p c -p d -p e -p f -p g -p h -p i -p j "
	  "-p k -p l -p m -p n -p o -p p -p q", 0 },	/* pool full */
};

START_TEST(usage_errors_are_refused)
{
	struct vmd_opts o;
	struct own w = { 0 };

	ck_assert_int_eq(parse(usage_errors[_i].line,
	    usage_errors[_i].empty_name_ok, &o, &w), -1);
}
END_TEST

START_TEST(empty_name_only_where_allowed)
{
	struct vmd_opts o;
	struct own w = { 0 };
	char *argv[] = { "daemon", "-c", "stdio", "--name", "", NULL };

	optind = 1;
	opterr = 0;
	ck_assert_int_eq(vmd_opts_parse(5, argv, NULL, NULL, NULL, NULL,
	    "x", 0, &o), -1);
	optind = 1;
	ck_assert_int_eq(vmd_opts_parse(5, argv, NULL, NULL, NULL, NULL,
	    "x", 1, &o), 0);
	ck_assert_str_eq(o.name, "");
	(void)w;
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("vmd_opts");
	TCase *tc = tcase_create("vmd_opts");

	tcase_add_test(tc, shared_options_are_read);
	tcase_add_test(tc, defaults_and_own_options);
	tcase_add_loop_test(tc, usage_errors_are_refused, 0,
	    (int)(sizeof(usage_errors) / sizeof(usage_errors[0])));
	tcase_add_test(tc, empty_name_only_where_allowed);
	suite_add_tcase(s, tc);
	return s;
}
