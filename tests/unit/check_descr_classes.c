/*
 * check_descr_classes.c: the interface list the backend sends dom0.
 *
 * Proves: every interface descriptor of every configuration and alternate
 * setting of the raw descriptors is listed, with its configuration value
 * (a keyboard behind a storage setting, and one in a second
 * configuration, are both there); class descriptors and endpoints are
 * skipped; truncated, lying and malformed descriptors, a hub interface,
 * a repeated interface descriptor and more interface descriptors than
 * DEV_ADD carries are refused with their error and an empty list; every
 * truncation is refused; and the list passes the control protocol's
 * verifier.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "descr_classes.h"
#include "hidden_alt.h"
#include "unit_main.h"


START_TEST(test_every_config_and_alt_listed)
{
	const struct ctl_ifalt want[] = {
		{ 1, 0, 0, 0x08, 0x06, 0x50 },
		{ 1, 0, 1, 0x03, 0x01, 0x01 },
		{ 2, 0, 0, 0x03, 0x01, 0x01 },
	};
	struct ctl_msg m;
	struct ctl_wbuf w;
	uint8_t buf[CTL_MSG_MAX];

	ctl_msg_init(&m, CTL_MSG_DEV_ADD);
	ck_assert_int_eq(dc_classes(hidden_alt, sizeof(hidden_alt), &m.u.dev),
	    DC_OK);
	ck_assert_int_eq(m.u.dev.n_alts, 3);
	ck_assert_mem_eq(m.u.dev.alts, want, sizeof(want));
	/* What the backend builds, the verifier accepts. */
	strcpy(m.u.dev.busid, "1-1");
	m.u.dev.config = 1;
	ctl_wbuf_init(&w, buf, sizeof(buf));
	ck_assert_int_eq(ctl_msg_encode(&m, &w), CTL_OK);
}
END_TEST

struct bad_case {
	const char *name;
	int at;			/* byte to patch */
	uint8_t value;
	int cut;		/* bytes removed from the end */
	int want;
};

static const struct bad_case bad_cases[] = {
	{ "not a device descriptor", 1, 0x02, 0, DC_E_TYPE },
	{ "device descriptor too short", 0, 17, 0, DC_E_LENGTH },
	{ "device bLength 1", 0, 1, 0, DC_E_LENGTH },
	{ "one configuration more than there is", 17, 3, 0, DC_E_TRUNC },
	{ "one configuration less: bytes left", 17, 1, 0, DC_E_TRAILING },
	{ "configuration is an interface", HA_CONF2 + 1, 0x04, 0, DC_E_TYPE },
	{ "configuration header too short", HA_CONF1, 8, 0, DC_E_LENGTH },
	{ "wTotalLength below bLength", HA_CONF1 + 2, 8, 0, DC_E_LENGTH },
	{ "wTotalLength past the end", HA_CONF2 + 2, 35, 0, DC_E_TRUNC },
	{ "wTotalLength short of a descriptor", HA_CONF1 + 2, 60, 0, DC_E_TRUNC },
	{ "descriptor bLength 0", HA_CONF1 + 9, 0, 0, DC_E_LENGTH },
	{ "descriptor bLength past its configuration", HA_ALT1, 0x21, 0,
	  DC_E_TRUNC },
	{ "interface descriptor too short", HA_ALT1, 8, 0, DC_E_LENGTH },
	{ "configuration inside a configuration", HA_ALT1 + 1, 0x02, 0,
	  DC_E_TYPE },
	{ "hub interface behind a setting", HA_ALT1 + 5, 0x09, 0, DC_E_HUB },
	{ "setting listed twice", HA_ALT1 + 3, 0x00, 0, DC_E_DUP },
	{ "cut in the last endpoint", 0, 0x12, 3, DC_E_TRUNC },
};

START_TEST(test_bad_descriptors_refused)
{
	const struct bad_case *t = &bad_cases[_i];
	uint8_t d[sizeof(hidden_alt)];
	struct ctl_dev out;
	int r;

	memcpy(d, hidden_alt, sizeof(d));
	d[t->at] = t->value;
	memset(&out, 0, sizeof(out));
	r = dc_classes(d, sizeof(d) - (size_t)t->cut, &out);
	ck_assert_msg(r == t->want, "%s: got %d (%s)", t->name, r,
	    dc_strerror(r));
	ck_assert_int_eq(out.n_alts, 0);
}
END_TEST

START_TEST(test_every_truncation_refused)
{
	struct ctl_dev out;
	size_t n;

	for (n = 0; n < sizeof(hidden_alt); n++) {
		ck_assert_int_lt(dc_classes(hidden_alt, n, &out), 0);
		ck_assert_int_eq(out.n_alts, 0);
	}
}
END_TEST

START_TEST(test_too_many_settings_refused)
{
	/* One configuration of 256 settings of interface 0..255: one more
	 * than DEV_ADD carries. */
	size_t total = 9 + 256 * 9, i;
	uint8_t *d = calloc(1, 18 + total);
	struct ctl_dev out;

	ck_assert_ptr_nonnull(d);
	memcpy(d, hidden_alt, 18);
	d[17] = 1;
	d[18] = 9;
	d[19] = 0x02;
	d[20] = (uint8_t)total;
	d[21] = (uint8_t)(total >> 8);
	d[23] = 1;
	for (i = 0; i < 256; i++) {
		uint8_t *p = d + 18 + 9 + 9 * i;

		p[0] = 9;
		p[1] = 0x04;
		p[2] = (uint8_t)i;
		p[5] = 0xff;
	}
	ck_assert_int_eq(dc_classes(d, 18 + total, &out), DC_E_TOOMANY);
	ck_assert_int_eq(out.n_alts, 0);
	/* 255 fit. */
	total -= 9;
	d[20] = (uint8_t)total;
	d[21] = (uint8_t)(total >> 8);
	ck_assert_int_eq(dc_classes(d, 18 + total, &out), DC_OK);
	ck_assert_int_eq(out.n_alts, CTL_ALT_MAX);
	free(d);
}
END_TEST

START_TEST(test_strerror_covers_enum)
{
	int e;

	for (e = 0; e > -DC_E__COUNT; e--)
		ck_assert_str_ne(dc_strerror(e), "unknown descriptor error");
	ck_assert_str_eq(dc_strerror(-DC_E__COUNT), "unknown descriptor error");
	ck_assert_str_eq(dc_strerror(1), "unknown descriptor error");
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("descr_classes");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_every_config_and_alt_listed);
	tcase_add_loop_test(tc, test_bad_descriptors_refused, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_every_truncation_refused);
	tcase_add_test(tc, test_too_many_settings_refused);
	tcase_add_test(tc, test_strerror_covers_enum);
	suite_add_tcase(s, tc);
	return s;
}
