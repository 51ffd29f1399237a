/*
 * check_ctl_conf.c: usbgated's configuration parser (tools/gated_conf.c)
 * and the shipped examples.
 *
 * Proves: the example usbgated.conf and example rules parse cleanly; each
 * directive is read into the right field; each bad line is reported as
 * file:line with a reason, and every bad line of a file is reported.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gated.h"
#include "unit_main.h"

#ifndef EXAMPLES_DIR
#define EXAMPLES_DIR "policy/examples"
#endif

START_TEST(test_example_config_parses)
{
	struct gated_conf conf;
	struct pol_diags dg;

	memset(&dg, 0, sizeof(dg));
	gated_conf_defaults(&conf);
	ck_assert_int_eq(gated_conf_load(EXAMPLES_DIR "/usbgated.conf", &conf,
	    &dg), POL_OK);
	ck_assert_int_eq(dg.total, 0);
	ck_assert_int_eq(conf.n_peers, 3);
	ck_assert_int_eq(conf.n_data, 3);
	ck_assert_str_eq(conf.peers[1].name, "work");
	ck_assert_int_eq(conf.peers[1].role, CTL_ROLE_FRONTEND);
	ck_assert_str_eq(conf.peers[1].tags[0], "office");
}
END_TEST

START_TEST(test_example_rules_parse)
{
	struct pol_ruleset rs;
	struct pol_diags dg;

	memset(&dg, 0, sizeof(dg));
	pol_ruleset_init(&rs);
	ck_assert_int_eq(pol_ruleset_load_dir(&rs, EXAMPLES_DIR, &dg), POL_OK);
	ck_assert_uint_eq(rs.n, 1);	/* only the final deny is active */
	pol_ruleset_free(&rs);
}
END_TEST

START_TEST(test_directives_fill_fields)
{
	static const char text[] =
	    "socket /tmp/x.sock   # comment\n"
	    "socket-mode 0660\n"
	    "socket-group 1001\n"
	    "state-dir /tmp/state\n"
	    "rules-dir /tmp/rules\n"
	    "ask-command /usr/bin/ask --title \"USB device\"  # why\n"
	    "ask-timeout 30\n"
	    "attach-timeout 4\n"
	    "detach-timeout 3\n"
	    "follow-window 0\n"
	    "udev-auto-attach no\n"
	    "backend sys-usb tcp:0.0.0.0:7000 listen\n"
	    "vm work dev:/dev/virtio-ports/work tag=a tag=b\n"
	    "vm personal framed:unix:/run/qemu/personal-ctl.sock\n"
	    "vm mail xen:21759\n"
	    "data sys-usb work unix:/a unix:/b frontend-listens\n";
	struct gated_conf c;
	struct pol_diags dg;

	memset(&dg, 0, sizeof(dg));
	gated_conf_defaults(&c);
	ck_assert_int_eq(gated_conf_parse_text(text, "t.conf", &c, &dg),
	    POL_OK);
	ck_assert_str_eq(c.socket_path, "/tmp/x.sock");
	ck_assert_uint_eq(c.socket_mode, 0660);
	ck_assert_int_eq(c.socket_gid, 1001);
	ck_assert_str_eq(c.ask_command, "/usr/bin/ask --title \"USB device\"");
	ck_assert_int_eq(c.ask_timeout, 30);
	ck_assert_int_eq(c.attach_timeout, 4);
	ck_assert_int_eq(c.detach_timeout, 3);
	ck_assert_int_eq(c.follow_window, 0);
	ck_assert_int_eq(c.udev_auto_attach, 0);
	ck_assert_int_eq(c.peers[0].listen, 1);
	ck_assert_int_eq(c.peers[1].n_tags, 2);
	ck_assert_str_eq(c.peers[2].uri,
	    "framed:unix:/run/qemu/personal-ctl.sock");
	ck_assert_int_eq(c.peers[2].xen_port, 0);
	ck_assert_int_eq(c.peers[3].xen_port, 21759);
	ck_assert_int_eq(c.peers[3].listen, 0);
	ck_assert_int_eq(c.data[0].frontend_listens, 1);
}
END_TEST

static const struct bad_case {
	const char *line, *why;
} bad_cases[] = {
	{ "socket relative.sock", "absolute path" },
	{ "socket-mode 0666", "without permissions for others" },
	{ "socket-mode rw", "octal" },
	{ "ask-timeout 0", "number of seconds" },
	{ "attach-timeout lots", "number of seconds" },
	{ "udev-auto-attach maybe", "yes or no" },
	{ "backend 1bad unix:/x", "bad backend name" },
	{ "vm dom0 unix:/x", "bad vm name" },
	{ "vm work http://x", "bad channel URI" },
	{ "vm work unix:/x colour=red", "unknown option" },
	{ "vm work dev:/dev/x listen", "only unix: and tcp:" },
	{ "vm work framed:dev:/dev/x", "bad channel URI" },
	{ "vm work xen:0", "bad port" },
	{ "vm work xen:65536", "bad port" },
	{ "vm work xen:", "bad port" },
	{ "vm work xen:0000021759", "bad port" },
	{ "vm work xen:21759 listen", "only unix: and tcp:" },
	{ "backend sys-usb2 unix:/x tag=t", "unknown option" },
	{ "data sys-usb work unix:/a", "unknown directive" },
	{ "data sys-usb wo;rk unix:/a unix:/b", "VM (or *) names" },
	{ "data nobackend * unix:/a unix:/b", "not a configured backend" },
	{ "frobnicate 1", "unknown directive" },
};

START_TEST(test_bad_lines_reported_with_line)
{
	const struct bad_case *t = &bad_cases[_i];
	struct gated_conf c;
	struct pol_diags dg;
	char text[512], buf[512];

	snprintf(text, sizeof(text), "# first\nbackend sys-usb unix:/s\n%s\n",
	    t->line);
	memset(&dg, 0, sizeof(dg));
	gated_conf_defaults(&c);
	ck_assert_int_lt(gated_conf_parse_text(text, "u.conf", &c, &dg), 0);
	ck_assert_int_ge(dg.n, 1);
	pol_diag_format(&dg.d[0], buf, sizeof(buf));
	ck_assert_msg(strstr(buf, t->why) != NULL, "%s: %s", t->line, buf);
	if (dg.d[0].line != 0)
		ck_assert_int_eq(dg.d[0].line, 3);
}
END_TEST

START_TEST(test_duplicate_peer_refused)
{
	struct gated_conf c;
	struct pol_diags dg;

	memset(&dg, 0, sizeof(dg));
	gated_conf_defaults(&c);
	ck_assert_int_lt(gated_conf_parse_text("vm work unix:/a\n"
	    "backend work unix:/b\nvm x unix:/c\nvm x unix:/d\n", "d.conf", &c,
	    &dg), 0);
	ck_assert_int_eq(dg.n, 2);
	ck_assert_int_eq(dg.d[0].line, 2);
	ck_assert_int_eq(dg.d[1].line, 4);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("ctl_conf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_example_config_parses);
	tcase_add_test(tc, test_example_rules_parse);
	tcase_add_test(tc, test_directives_fill_fields);
	tcase_add_loop_test(tc, test_bad_lines_reported_with_line, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_duplicate_peer_refused);
	suite_add_tcase(s, tc);
	return s;
}
