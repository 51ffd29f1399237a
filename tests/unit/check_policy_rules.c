/*
 * check_policy_rules.c: the rule language.
 *
 * Proves: every line of the good corpus parses and round-trips
 * (parse -> print -> parse -> print is stable); every rule of the bad
 * corpus is refused with the message its "#!" line announces; errors
 * carry file:line and every error of a file is reported; matching follows
 * first-match-wins with the documented set-operator semantics; refused
 * interfaces are computed from deny-interface; with-interface sees the
 * types of every configuration and alternate setting (a keyboard behind
 * a storage setting is seen), deny-interface refuses single alternate
 * settings of the active configuration (setting 0: the interface), and a
 * rule naming interfaces pins the configuration; rule directories are
 * read in name order; parent-hash and with-connect-type match what the
 * backend reported, with their sets, and fail closed (an allow rule does
 * not match, a deny rule does, the rule is named) when it reported
 * nothing; and mutated rule lines never crash the parser.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules.h"
#include "unit_main.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Parse, print, parse, print: the two prints must be equal. */
static void
assert_roundtrip(const char *line, int lineno)
{
	struct pol_rule *r1, *r2;
	char p1[POL_LINE_MAX], p2[POL_LINE_MAX], msg[256];

	ck_assert_msg(pol_rule_parse(line, &r1, msg, sizeof(msg)) == POL_OK,
	    "good.rules:%d: %s", lineno, msg);
	if (r1 == NULL)
		return;
	ck_assert_int_ge(pol_rule_print(r1, p1, sizeof(p1)), 0);
	ck_assert_msg(pol_rule_parse(p1, &r2, msg, sizeof(msg)) == POL_OK &&
	    r2 != NULL, "good.rules:%d: printed form \"%s\" does not parse: "
	    "%s", lineno, p1, msg);
	ck_assert_int_ge(pol_rule_print(r2, p2, sizeof(p2)), 0);
	ck_assert_msg(strcmp(p1, p2) == 0, "good.rules:%d: \"%s\" != \"%s\"",
	    lineno, p1, p2);
	pol_rule_free(r1);
	pol_rule_free(r2);
}

START_TEST(test_good_corpus_parses_and_roundtrips)
{
	char *text = slurp(TEST_DATA_DIR "/policy/good.rules"), *line, *save;
	int lineno = 0, rules = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		assert_roundtrip(line, lineno);
		if (line[0] != '#')
			rules++;
	}
	ck_assert_int_gt(rules, 30);
	free(text);
}
END_TEST

START_TEST(test_bad_corpus_each_refused_with_its_message)
{
	char *text = slurp(TEST_DATA_DIR "/policy/bad.rules"), *line, *save;
	char expect[256] = "", msg[256];
	struct pol_rule *rule;
	int rules = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "#! ", 3) == 0) {
			snprintf(expect, sizeof(expect), "%s", line + 3);
			continue;
		}
		if (line[0] == '#')
			continue;
		rules++;
		ck_assert_msg(pol_rule_parse(line, &rule, msg, sizeof(msg)) < 0,
		    "accepted: %s", line);
		ck_assert_ptr_null(rule);
		ck_assert_msg(strstr(msg, expect) != NULL,
		    "\"%s\": message \"%s\" lacks \"%s\"", line, msg, expect);
		expect[0] = '\0';
	}
	ck_assert_int_gt(rules, 40);
	free(text);
}
END_TEST

static const struct canon_case {
	const char *in, *out;
} canon_cases[] = {
	{ "allow 1050:0407", "allow id 1050:0407" },
	{ "allow id ABCD:*", "allow id abcd:*" },
	{ "allow with-interface { 08:*:* }",
	  "allow with-interface equals { 08:*:* }" },
	{ "allow deny-interface { 03:*:* }", "allow deny-interface 03:*:*" },
	{ "allow to work from sys-usb id 1:1", NULL },	/* bad id */
	{ "allow to work from sys-usb id 0001:0001",
	  "allow id 0001:0001 from sys-usb to work" },
	{ "allow name \"a\\x22b\\\\\"", "allow name \"a\\\"b\\\\\"" },
	{ "  # only a comment", "" },
	{ "", "" },
};

START_TEST(test_canonical_form_table)
{
	const struct canon_case *t = &canon_cases[_i];
	struct pol_rule *rule;
	char buf[POL_LINE_MAX], msg[256];
	int r;

	r = pol_rule_parse(t->in, &rule, msg, sizeof(msg));
	if (t->out == NULL) {
		ck_assert_int_lt(r, 0);
		return;
	}
	ck_assert_msg(r == POL_OK, "%s: %s", t->in, msg);
	if (t->out[0] == '\0') {
		ck_assert_ptr_null(rule);
		return;
	}
	pol_rule_print(rule, buf, sizeof(buf));
	ck_assert_str_eq(buf, t->out);
	pol_rule_free(rule);
}
END_TEST

START_TEST(test_errors_report_file_line_and_all_of_them)
{
	struct pol_ruleset rs;
	struct pol_diags dg;
	char buf[512];

	memset(&dg, 0, sizeof(dg));
	pol_ruleset_init(&rs);
	ck_assert_int_lt(pol_ruleset_load_text(&rs,
	    "allow id 1234:5678\n"
	    "allow id 12:34\n"
	    "# comment\n"
	    "deny frobnicate\n"
	    "deny\n", "/etc/usbgate/rules.d/50-x.rules", &dg), 0);
	ck_assert_int_eq(dg.n, 2);
	pol_diag_format(&dg.d[0], buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "/etc/usbgate/rules.d/50-x.rules:2: bad "
	    "device id", 39) == 0, "%s", buf);
	pol_diag_format(&dg.d[1], buf, sizeof(buf));
	ck_assert_msg(strstr(buf, "50-x.rules:4: unknown attribute "
	    "'frobnicate'") != NULL, "%s", buf);
	/* The good lines were read, but the caller must not use the set. */
	ck_assert_uint_eq(rs.n, 2);
	ck_assert_int_eq(rs.rules[1]->line, 5);
	pol_ruleset_free(&rs);
}
END_TEST

START_TEST(test_overlong_line_reported)
{
	struct pol_ruleset rs;
	struct pol_diags dg;
	char *text = malloc(POL_LINE_MAX + 64);

	memset(&dg, 0, sizeof(dg));
	memset(text, 'x', POL_LINE_MAX + 10);
	memcpy(text, "allow name \"", 12);
	strcpy(text + POL_LINE_MAX + 10, "\"\nallow\n");
	pol_ruleset_init(&rs);
	ck_assert_int_eq(pol_ruleset_load_text(&rs, text, "t", &dg),
	    POL_E_TOOLONG);
	ck_assert_int_eq(dg.n, 1);
	ck_assert_int_eq(dg.d[0].line, 1);
	ck_assert_uint_eq(rs.n, 1);
	pol_ruleset_free(&rs);
	free(text);
}
END_TEST

/* ---- matching --------------------------------------------------------- */

static const char match_rules[] =
    "# match table rules\n"
    "deny id 046d:c52b\n"
    "allow id 1050:0407 serial \"0001234567\" to work\n"
    "ask id 1050:* to @tag:vault\n"
    "allow with-interface equals { 08:*:* } to @anyvm\n"
    "deny with-interface all-of { 08:*:* 03:*:* }\n"
    "allow id 1234:* to work deny-interface 03:*:*\n"
    "allow from sys-usb2 via-port \"3-1\" to personal\n"
    "allow hash \"c6XZR0a5ELUyhIsr5qZi/2RR2UAfIbCT+OKipcWA6H8=\" to banking\n";

static const uint8_t kHash[32] = {
	0x73, 0xa5, 0xd9, 0x47, 0x46, 0xb9, 0x10, 0xb5, 0x32, 0x84, 0x8b, 0x2b,
	0xe6, 0xa6, 0x62, 0xff, 0x64, 0x51, 0xd9, 0x40, 0x1f, 0x21, 0xb0, 0x93,
	0xf8, 0xe2, 0xa2, 0xa5, 0xc5, 0x80, 0xe8, 0x7f,
};

struct ifc { uint8_t n, c, s, p; };

static const struct match_case {
	const char *name;
	const char *backend, *busid;
	uint16_t vid, pid;
	const char *serial;
	int n_if;
	struct ifc ifs[4];
	int has_hash;
	const char *vm;
	const char *tag;
	enum pol_decision want;
	int want_line;
	int n_refused;
	uint8_t refused[4];
	int all_refused;
} match_cases[] = {
	{ "denied receiver", "sys-usb", "1-1", 0x046d, 0xc52b, "", 1,
	  { { 0, 3, 1, 2 } }, 0, "work", NULL, POL_DENY, 2, 0, { 0 }, 0 },
	{ "known yubikey to work", "sys-usb", "1-2", 0x1050, 0x0407,
	  "0001234567", 1, { { 0, 3, 1, 1 } }, 0, "work", NULL, POL_ALLOW, 3,
	  0, { 0 }, 0 },
	{ "other yubikey to untagged VM: no match", "sys-usb", "1-2", 0x1050,
	  0x0407, "999", 1, { { 0, 3, 1, 1 } }, 0, "work", NULL,
	  POL_NO_MATCH, 0, 0, { 0 }, 0 },
	{ "other yubikey to vault-tagged VM: ask", "sys-usb", "1-2", 0x1050,
	  0x0407, "999", 1, { { 0, 3, 1, 1 } }, 0, "keys", "vault", POL_ASK,
	  4, 0, { 0 }, 0 },
	{ "plain storage to any VM", "sys-usb", "2-1", 0x0951, 0x1666, "", 1,
	  { { 0, 8, 6, 0x50 } }, 0, "personal", NULL, POL_ALLOW, 5, 0, { 0 },
	  0 },
	{ "storage with hidden keyboard", "sys-usb", "2-1", 0x0951, 0x1666,
	  "", 2, { { 0, 8, 6, 0x50 }, { 1, 3, 1, 1 } }, 0, "personal", NULL,
	  POL_DENY, 6, 0, { 0 }, 0 },
	{ "token with HID refused", "sys-usb", "2-2", 0x1234, 0x0001, "", 3,
	  { { 0, 0x0b, 0, 0 }, { 1, 3, 0, 0 }, { 2, 0xff, 0, 0 } }, 0,
	  "work", NULL, POL_ALLOW, 7, 1, { 1 }, 0 },
	{ "every interface refused is flagged", "sys-usb", "2-2", 0x1234,
	  0x0002, "", 2, { { 0, 3, 0, 0 }, { 1, 3, 1, 1 } }, 0, "work", NULL,
	  POL_ALLOW, 7, 2, { 0, 1 }, 1 },
	{ "right backend and port", "sys-usb2", "3-1", 0x4242, 0x0001, "", 1,
	  { { 0, 0xff, 0, 0 } }, 0, "personal", NULL, POL_ALLOW, 8, 0, { 0 },
	  0 },
	{ "same port, other backend", "sys-usb", "3-1", 0x4242, 0x0001, "",
	  1, { { 0, 0xff, 0, 0 } }, 0, "personal", NULL, POL_NO_MATCH, 0, 0,
	  { 0 }, 0 },
	{ "hash match", "sys-usb", "4-1", 0x9999, 0x0001, "", 1,
	  { { 0, 0xff, 0, 0 } }, 1, "banking", NULL, POL_ALLOW, 9, 0, { 0 },
	  0 },
	{ "no hash, no hash match", "sys-usb", "4-1", 0x9999, 0x0001, "", 1,
	  { { 0, 0xff, 0, 0 } }, 0, "banking", NULL, POL_NO_MATCH, 0, 0,
	  { 0 }, 0 },
};

static void
fill_dev(const struct match_case *t, struct pol_device *d)
{
	int i;

	memset(d, 0, sizeof(*d));
	snprintf(d->backend, sizeof(d->backend), "%s", t->backend);
	snprintf(d->busid, sizeof(d->busid), "%s", t->busid);
	d->vid = t->vid;
	d->pid = t->pid;
	snprintf(d->serial, sizeof(d->serial), "%s", t->serial);
	for (i = 0; i < t->n_if; i++) {
		d->ifaces[i].number = t->ifs[i].n;
		d->ifaces[i].cls = t->ifs[i].c;
		d->ifaces[i].subcls = t->ifs[i].s;
		d->ifaces[i].proto = t->ifs[i].p;
	}
	d->n_ifaces = (uint8_t)t->n_if;
	if (t->has_hash) {
		d->has_hash = 1;
		memcpy(d->hash, kHash, sizeof(kHash));
	}
}

START_TEST(test_match_table_first_match_wins)
{
	const struct match_case *t = &match_cases[_i];
	const char *tags[1] = { t->tag };
	struct pol_vm vm = { t->vm, tags, t->tag ? 1 : 0 };
	struct pol_ruleset rs;
	struct pol_verdict v;
	struct pol_device d;

	pol_ruleset_init(&rs);
	ck_assert_int_eq(pol_ruleset_load_text(&rs, match_rules, "m.rules",
	    NULL), POL_OK);
	fill_dev(t, &d);
	ck_assert_msg(pol_check(&rs, &d, &vm, &v) == t->want,
	    "%s: got %s", t->name, pol_decision_name(v.decision));
	if (t->want == POL_NO_MATCH)
		ck_assert_ptr_null(v.rule);
	else
		ck_assert_msg(v.rule->line == t->want_line, "%s: line %d",
		    t->name, v.rule->line);
	ck_assert_int_eq(v.n_refused, t->n_refused);
	ck_assert_mem_eq(v.refused, t->refused, (size_t)t->n_refused);
	ck_assert_int_eq(v.all_refused, t->all_refused);
	pol_ruleset_free(&rs);
}
END_TEST

/* ---- parent-hash and with-connect-type ---------------------------------- */

#define P_B64	"JDvT6ELwPWOLg0VhH/DqXyLTjfiVEHTmyUPSR1o7+lU="

static const char parent_rules[] =
    "deny with-connect-type \"hardwired\" to personal\n"
    "allow parent-hash \"" P_B64 "\" with-connect-type one-of "
    "{ \"hotplug\" \"unknown\" } to work\n"
    "allow parent-hash none-of { \"" P_B64 "\" } to guest\n"
    "allow with-connect-type match-all { \"hotplug\" \"\" } to kiosk\n";

static const struct parent_case {
	const char *name, *vm;
	int parent;		/* 0 not reported, 1 P, 2 another hub */
	int connect;		/* enum ident_connect, -1 not reported */
	enum pol_decision want;
	int want_line;
	int unknown_line;	/* rule the device could not be judged by */
	enum pol_attr_kind unknown_attr;
} parent_cases[] = {
	{ "hub and port allowed", "work", 1, IDENT_CONNECT_HOTPLUG,
	  POL_ALLOW, 2, 0, 0 },
	{ "second value of the set", "work", 1, IDENT_CONNECT_UNKNOWN,
	  POL_ALLOW, 2, 0, 0 },
	{ "hardwired port", "work", 1, IDENT_CONNECT_HARDWIRED,
	  POL_NO_MATCH, 0, 0, 0 },
	{ "another hub", "work", 2, IDENT_CONNECT_HOTPLUG, POL_NO_MATCH, 0,
	  0, 0 },
	{ "no parent reported: fail closed", "work", 0,
	  IDENT_CONNECT_HOTPLUG, POL_NO_MATCH, 0, 2, POL_ATTR_PARENT_HASH },
	{ "no connect type reported: fail closed", "work", 1, -1,
	  POL_NO_MATCH, 0, 2, POL_ATTR_CONNECT_TYPE },
	{ "deny rule applies when unknown", "personal", 1, -1, POL_DENY, 1,
	  1, POL_ATTR_CONNECT_TYPE },
	{ "deny rule, known other type", "personal", 1,
	  IDENT_CONNECT_HOTPLUG, POL_NO_MATCH, 0, 0, 0 },
	{ "none-of: another hub", "guest", 2, -1, POL_ALLOW, 3, 0, 0 },
	{ "none-of: that hub", "guest", 1, -1, POL_NO_MATCH, 0, 0, 0 },
	{ "none-of: unknown hub is not allowed", "guest", 0, -1,
	  POL_NO_MATCH, 0, 3, POL_ATTR_PARENT_HASH },
	{ "match-all: no attribute (\"\")", "kiosk", 0, IDENT_CONNECT_NONE,
	  POL_ALLOW, 4, 0, 0 },
	{ "match-all: not used", "kiosk", 0, IDENT_CONNECT_NOT_USED,
	  POL_NO_MATCH, 0, 0, 0 },
};

START_TEST(test_parent_hash_and_connect_type_match)
{
	const struct parent_case *t = &parent_cases[_i];
	struct pol_vm vm = { t->vm, NULL, 0 };
	struct pol_ruleset rs;
	struct pol_verdict v;
	struct pol_device d;

	pol_ruleset_init(&rs);
	ck_assert_int_eq(pol_ruleset_load_text(&rs, parent_rules, "p.rules",
	    NULL), POL_OK);
	memset(&d, 0, sizeof(d));
	strcpy(d.backend, "sys-usb");
	strcpy(d.busid, "1-1");
	d.vid = 0x1050;
	d.has_parent_hash = t->parent != 0;
	if (t->parent == 1)
		ck_assert_int_eq(pol_b64_decode(P_B64, d.parent_hash,
		    sizeof(d.parent_hash)), POL_HASH_LEN);
	else if (t->parent == 2)
		memset(d.parent_hash, 0x77, sizeof(d.parent_hash));
	d.has_connect_type = t->connect >= 0;
	d.connect_type = (uint8_t)(t->connect >= 0 ? t->connect : 0);
	ck_assert_msg(pol_check(&rs, &d, &vm, &v) == t->want, "%s: got %s",
	    t->name, pol_decision_name(v.decision));
	ck_assert_int_eq(v.rule ? v.rule->line : 0, t->want_line);
	ck_assert_msg((v.unknown_rule ? v.unknown_rule->line : 0) ==
	    t->unknown_line, "%s: unknown rule", t->name);
	if (t->unknown_line != 0)
		ck_assert_str_eq(pol_attr_keyword(v.unknown_attr),
		    pol_attr_keyword(t->unknown_attr));
	pol_ruleset_free(&rs);
}
END_TEST

START_TEST(test_empty_ruleset_matches_nothing)
{
	struct pol_ruleset rs;
	struct pol_verdict v;
	struct pol_device d;
	struct pol_vm vm = { "work", NULL, 0 };

	pol_ruleset_init(&rs);
	fill_dev(&match_cases[1], &d);
	ck_assert_int_eq(pol_check(&rs, &d, &vm, &v), POL_NO_MATCH);
	ck_assert_int_eq(pol_check(NULL, &d, &vm, &v), POL_NO_MATCH);
}
END_TEST

static const struct setop_case {
	const char *rule;
	int n_if;
	struct ifc ifs[4];
	uint16_t vid, pid;
	int want;
} setop_cases[] = {
	{ "allow with-interface 08:*:*", 1, { { 0, 8, 6, 0x50 } }, 1, 1, 1 },
	{ "allow with-interface 08:*:*", 2, { { 0, 8, 6, 0x50 },
	  { 1, 3, 1, 1 } }, 1, 1, 0 },
	{ "allow with-interface one-of { 03:*:* 0b:*:* }", 2,
	  { { 0, 8, 6, 0x50 }, { 1, 3, 1, 1 } }, 1, 1, 1 },
	{ "allow with-interface one-of { 03:*:* 0b:*:* }", 1,
	  { { 0, 8, 6, 0x50 } }, 1, 1, 0 },
	{ "allow with-interface all-of { 08:*:* 03:*:* }", 3,
	  { { 0, 8, 6, 0x50 }, { 1, 3, 1, 1 }, { 2, 0xb, 0, 0 } }, 1, 1, 1 },
	{ "allow with-interface all-of { 08:*:* 03:*:* }", 1,
	  { { 0, 8, 6, 0x50 } }, 1, 1, 0 },
	{ "allow with-interface none-of { e0:*:* }", 1,
	  { { 0, 8, 6, 0x50 } }, 1, 1, 1 },
	{ "allow with-interface none-of { e0:*:* }", 2,
	  { { 0, 0xe0, 1, 1 }, { 1, 8, 6, 0x50 } }, 1, 1, 0 },
	{ "allow with-interface none-of { e0:*:* }", 0, { { 0 } }, 1, 1, 1 },
	{ "allow with-interface equals { 0e:01:00 0e:02:00 }", 2,
	  { { 0, 0xe, 2, 0 }, { 1, 0xe, 1, 0 } }, 1, 1, 1 },
	{ "allow with-interface equals { 0e:01:00 0e:02:00 }", 3,
	  { { 0, 0xe, 1, 0 }, { 1, 0xe, 2, 0 }, { 2, 0xe, 2, 0 } }, 1, 1, 1 },
	{ "allow with-interface equals-ordered { 0e:01:00 0e:02:00 }", 2,
	  { { 0, 0xe, 2, 0 }, { 1, 0xe, 1, 0 } }, 1, 1, 0 },
	{ "allow with-interface equals-ordered { 0e:01:00 0e:02:00 }", 2,
	  { { 0, 0xe, 1, 0 }, { 1, 0xe, 2, 0 } }, 1, 1, 1 },
	{ "allow with-interface match-all { 03:*:* 0b:*:* }", 2,
	  { { 0, 3, 1, 1 }, { 1, 0xb, 0, 0 } }, 1, 1, 1 },
	{ "allow with-interface match-all { 03:*:* 0b:*:* }", 1,
	  { { 0, 3, 1, 1 } }, 1, 1, 1 },
	{ "allow with-interface match-all { 03:*:* 0b:*:* }", 2,
	  { { 0, 3, 1, 1 }, { 1, 8, 6, 0x50 } }, 1, 1, 0 },
	{ "allow id one-of { 1050:* 20a0:42b2 }", 0, { { 0 } }, 0x20a0,
	  0x42b2, 1 },
	{ "allow id one-of { 1050:* 20a0:42b2 }", 0, { { 0 } }, 0x20a0,
	  0x42dd, 0 },
	{ "allow id none-of { 046d:* }", 0, { { 0 } }, 0x046d, 0xc52b, 0 },
	{ "allow id none-of { 046d:* }", 0, { { 0 } }, 0x1050, 0x0407, 1 },
	{ "allow id *:*", 0, { { 0 } }, 0x0000, 0x0000, 1 },
	{ "allow id all-of { 1050:* 1050:0407 }", 0, { { 0 } }, 0x1050,
	  0x0407, 1 },
	{ "allow id all-of { 1050:* 1050:0406 }", 0, { { 0 } }, 0x1050,
	  0x0407, 0 },
	{ "allow hash none-of { \"c6XZR0a5ELUyhIsr5qZi/2RR2UAfIbCT+OKipcWA6H8=\" }",
	  0, { { 0 } }, 1, 1, 1 },
	{ "allow serial \"\"", 0, { { 0 } }, 1, 1, 1 },
	{ "allow name \"\"", 0, { { 0 } }, 1, 1, 1 },
};

START_TEST(test_set_operator_semantics)
{
	const struct setop_case *t = &setop_cases[_i];
	struct pol_vm vm = { "work", NULL, 0 };
	struct pol_rule *rule;
	struct pol_device d;
	char msg[256];
	int i;

	memset(&d, 0, sizeof(d));
	strcpy(d.backend, "sys-usb");
	strcpy(d.busid, "1-1");
	d.vid = t->vid;
	d.pid = t->pid;
	for (i = 0; i < t->n_if; i++) {
		d.ifaces[i].number = t->ifs[i].n;
		d.ifaces[i].cls = t->ifs[i].c;
		d.ifaces[i].subcls = t->ifs[i].s;
		d.ifaces[i].proto = t->ifs[i].p;
	}
	d.n_ifaces = (uint8_t)t->n_if;
	ck_assert_msg(pol_rule_parse(t->rule, &rule, msg, sizeof(msg)) ==
	    POL_OK, "%s", msg);
	ck_assert_msg(pol_rule_match(rule, &d, &vm) == t->want,
	    "case %d \"%s\": want %d", _i, t->rule, t->want);
	pol_rule_free(rule);
}
END_TEST

/* ---- every configuration and alternate setting --------------------------- */

/*
 * The device of the hardening finding: sysfs shows interface 0 as mass
 * storage (alternate setting 0); alternate setting 1 is a boot keyboard,
 * and configuration 2 (not active) is a keyboard too.
 */
static void
hidden_alt_dev(struct pol_device *d)
{
	static const struct pol_ifalt alts[] = {
		{ 1, 0, 0, 0x08, 0x06, 0x50 },
		{ 1, 0, 1, 0x03, 0x01, 0x01 },
		{ 2, 0, 0, 0x03, 0x01, 0x01 },
	};

	memset(d, 0, sizeof(*d));
	strcpy(d->backend, "sys-usb");
	strcpy(d->busid, "1-1");
	d->vid = 0x1d6b;
	d->pid = 0x0104;
	d->n_ifaces = 1;
	d->ifaces[0] = (struct pol_iface){ 0, 0x08, 0x06, 0x50 };
	d->config = 1;
	d->n_alts = 3;
	memcpy(d->alts, alts, sizeof(alts));
}

static const struct alt_case {
	const char *rule;
	enum pol_decision want;
	int n_refused;			/* whole interfaces: interface 0 */
	int n_refused_alts;		/* pairs: (0, 1) */
	int all_refused;
	int pin_config;
} alt_cases[] = {
	/* The finding's rule: storage allowed, the keyboard setting refused
	 * (configuration 2 is pinned away, so it refuses nothing). */
	{ "allow with-interface one-of {08:*:*} deny-interface {03:*:* 0e:*:*}",
	  POL_ALLOW, 0, 1, 0, 1 },
	/* USBGuard's one-of: some type matches, so the device is allowed
	 * (with its configuration pinned). */
	{ "allow with-interface one-of {08:*:*}", POL_ALLOW, 0, 0, 0, 1 },
	/* Every type must match: the hidden keyboard makes it not match. */
	{ "allow with-interface match-all {08:*:*}", POL_NO_MATCH, 0, 0, 0, 0 },
	{ "allow with-interface equals {08:*:*}", POL_NO_MATCH, 0, 0, 0, 0 },
	{ "allow with-interface 08:06:50", POL_NO_MATCH, 0, 0, 0, 0 },
	{ "allow with-interface equals {08:*:* 03:01:01}", POL_ALLOW, 0, 0, 0,
	  1 },
	{ "allow with-interface none-of {03:*:*}", POL_NO_MATCH, 0, 0, 0, 0 },
	/* Setting 0 refused takes the interface (and setting 1) along. */
	{ "allow id *:* deny-interface 08:*:*", POL_ALLOW, 1, 0, 1, 1 },
	{ "allow id *:*", POL_ALLOW, 0, 0, 0, 0 },
};

START_TEST(test_alternate_settings_are_seen)
{
	const struct alt_case *t = &alt_cases[_i];
	struct pol_vm vm = { "work", NULL, 0 };
	struct pol_ruleset rs;
	struct pol_verdict v;
	struct pol_device d;

	hidden_alt_dev(&d);
	pol_ruleset_init(&rs);
	ck_assert_int_eq(pol_ruleset_load_text(&rs, t->rule, "a.rules", NULL),
	    POL_OK);
	ck_assert_msg(pol_check(&rs, &d, &vm, &v) == t->want, "%s: got %s",
	    t->rule, pol_decision_name(v.decision));
	ck_assert_msg(v.n_refused == t->n_refused, "%s", t->rule);
	if (t->n_refused > 0)
		ck_assert_int_eq(v.refused[0], 0);
	ck_assert_msg(v.n_refused_alts == t->n_refused_alts, "%s", t->rule);
	if (t->n_refused_alts > 0) {
		ck_assert_int_eq(v.refused_alts[0][0], 0);
		ck_assert_int_eq(v.refused_alts[0][1], 1);
	}
	ck_assert_int_eq(v.all_refused, t->all_refused);
	ck_assert_msg(v.pin_config == t->pin_config, "%s", t->rule);
	pol_ruleset_free(&rs);
}
END_TEST

/* ---- directories ------------------------------------------------------ */

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

START_TEST(test_directory_read_in_name_order)
{
	char dir[] = "/tmp/check_policy_rules.XXXXXX", cmd[600];
	struct pol_ruleset rs;
	struct pol_verdict v;
	struct pol_device d;
	struct pol_vm vm = { "work", NULL, 0 };
	struct pol_diags dg;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "90-default.rules", "deny\n");
	write_file(dir, "10-keys.rules", "\n# keys\nallow id 1050:* to work\n");
	write_file(dir, "50-ask.rules", "ask id 1050:0407\n");
	write_file(dir, ".hidden.rules", "garbage that must not be read\n");
	write_file(dir, "README", "not a rules file either\n");
	write_file(dir, "20-x.rules.bak", "nor this\n");

	memset(&dg, 0, sizeof(dg));
	pol_ruleset_init(&rs);
	ck_assert_int_eq(pol_ruleset_load_dir(&rs, dir, &dg), POL_OK);
	ck_assert_int_eq(dg.total, 0);
	ck_assert_uint_eq(rs.n, 3);
	fill_dev(&match_cases[1], &d);
	ck_assert_int_eq(pol_check(&rs, &d, &vm, &v), POL_ALLOW);
	ck_assert_ptr_nonnull(strstr(v.rule->file, "10-keys.rules"));
	ck_assert_int_eq(v.rule->line, 3);
	vm.name = "personal";
	ck_assert_int_eq(pol_check(&rs, &d, &vm, &v), POL_ASK);
	d.vid = 0x4242;
	ck_assert_int_eq(pol_check(&rs, &d, &vm, &v), POL_DENY);
	ck_assert_ptr_nonnull(strstr(v.rule->file, "90-default.rules"));
	pol_ruleset_free(&rs);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* An empty directory is an empty rule set (no file to sort: qsort must not
 * see the NULL list, which the sanitizer build refuses). */
START_TEST(test_empty_directory_is_empty_ruleset)
{
	char dir[] = "/tmp/check_policy_rules.XXXXXX";
	struct pol_ruleset rs;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	pol_ruleset_init(&rs);
	ck_assert_int_eq(pol_ruleset_load_dir(&rs, dir, NULL), POL_OK);
	ck_assert_uint_eq(rs.n, 0);
	pol_ruleset_free(&rs);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_missing_directory_is_not_found)
{
	struct pol_ruleset rs;

	pol_ruleset_init(&rs);
	ck_assert_int_eq(pol_ruleset_load_dir(&rs, "/nonexistent/rules.d",
	    NULL), POL_E_NOTFOUND);
	ck_assert_uint_eq(rs.n, 0);
	pol_ruleset_free(&rs);
}
END_TEST

START_TEST(test_mutated_lines_never_crash)
{
	char *text = slurp(TEST_DATA_DIR "/policy/good.rules"), *line, *save;
	unsigned seed = 12345;
	int lineno = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		int k;

		lineno++;
		for (k = 0; k < 200 && len > 0; k++) {
			char *m = strdup(line), msg[256];
			struct pol_rule *rule;

			seed = seed * 1103515245u + 12345u;
			m[(seed >> 8) % len] = (char)(seed >> 16);
			if ((seed >> 3) % 3 == 0)
				m[(seed >> 12) % len] = '\0';
			if (pol_rule_parse(m, &rule, msg, sizeof(msg)) ==
			    POL_OK && rule != NULL) {
				assert_roundtrip(m, lineno);
				pol_rule_free(rule);
			}
			free(m);
		}
	}
	free(text);
}
END_TEST

START_TEST(test_describe_names_file_line_and_rule)
{
	struct pol_ruleset rs;
	char buf[512];

	pol_ruleset_init(&rs);
	ck_assert_int_eq(pol_ruleset_load_text(&rs, "\n\ndeny   id 046D:C52B\n",
	    "/r/50.rules", NULL), POL_OK);
	pol_rule_describe(rs.rules[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "/r/50.rules:3: deny id 046d:c52b");
	pol_ruleset_free(&rs);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("policy_rules");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good_corpus_parses_and_roundtrips);
	tcase_add_test(tc, test_bad_corpus_each_refused_with_its_message);
	tcase_add_loop_test(tc, test_canonical_form_table, 0,
	    sizeof(canon_cases) / sizeof(canon_cases[0]));
	tcase_add_test(tc, test_errors_report_file_line_and_all_of_them);
	tcase_add_test(tc, test_overlong_line_reported);
	tcase_add_loop_test(tc, test_parent_hash_and_connect_type_match, 0,
	    sizeof(parent_cases) / sizeof(parent_cases[0]));
	tcase_add_loop_test(tc, test_match_table_first_match_wins, 0,
	    sizeof(match_cases) / sizeof(match_cases[0]));
	tcase_add_test(tc, test_empty_ruleset_matches_nothing);
	tcase_add_loop_test(tc, test_alternate_settings_are_seen, 0,
	    (int)(sizeof(alt_cases) / sizeof(alt_cases[0])));
	tcase_add_loop_test(tc, test_set_operator_semantics, 0,
	    sizeof(setop_cases) / sizeof(setop_cases[0]));
	tcase_add_test(tc, test_directory_read_in_name_order);
	tcase_add_test(tc, test_missing_directory_is_not_found);
	tcase_add_test(tc, test_empty_directory_is_empty_ruleset);
	tcase_add_test(tc, test_mutated_lines_never_crash);
	tcase_add_test(tc, test_describe_names_file_line_and_rule);
	suite_add_tcase(s, tc);
	return s;
}
