/*
 * check_ifclass.c: the frontend's check of the interface classes a backend
 * shows against the set dom0 approved (frontend/ifclass.h).
 *
 * Proves: without a set everything passes (an attach without dom0); with
 * one, only its triples pass, class, subclass and protocol each counting;
 * in a configuration descriptor every interface descriptor is checked,
 * alternate settings included (the hardening finding's keyboard behind a
 * storage setting is refused under a storage-only set and passes once the
 * keyboard is approved), in a second configuration and in an other-speed
 * descriptor too; the kernel's first 9-byte read passes; an answer cut
 * inside an interface descriptor is refused once its class bytes are
 * there; bytes past wTotalLength are not looked at; a zero-length
 * descriptor is refused; and no truncation of the descriptors reads
 * outside them (ASan) or passes a foreign class whose bytes it holds.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hidden_alt.h"
#include "ifclass.h"
#include "unit_main.h"

static struct fe_classes
set_of(const uint8_t (*c)[3], int n)
{
	struct fe_classes s;

	memset(&s, 0, sizeof(s));
	s.check = 1;
	s.n = n;
	memcpy(s.c, c, 3 * (size_t)n);
	return s;
}

static const uint8_t storage[][3] = { { 0x08, 0x06, 0x50 } };
static const uint8_t storage_kbd[][3] = {
	{ 0x08, 0x06, 0x50 }, { 0x03, 0x01, 0x01 },
};

/* Check a copy of exactly len bytes, so ASan sees any read past it. */
static int
check(const struct fe_classes *s, const uint8_t *d, size_t len, char *why)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, d, len);
	why[0] = '\0';
	rc = fe_classes_check_config(s, copy, len, why, 128);
	free(copy);
	return rc;
}

START_TEST(test_no_set_allows_everything)
{
	struct fe_classes none;
	char why[128];

	memset(&none, 0, sizeof(none));
	ck_assert(fe_classes_allow(&none, 0x03, 0x01, 0x01));
	ck_assert_int_eq(check(&none, hidden_alt + HA_CONF1, HA_CONF1_LEN,
	    why), 0);
}
END_TEST

START_TEST(test_only_listed_triples_allowed)
{
	struct fe_classes s = set_of(storage, 1);
	struct fe_classes empty = set_of(storage, 0);

	ck_assert(fe_classes_allow(&s, 0x08, 0x06, 0x50));
	ck_assert(!fe_classes_allow(&s, 0x03, 0x06, 0x50));
	ck_assert(!fe_classes_allow(&s, 0x08, 0x01, 0x50));
	ck_assert(!fe_classes_allow(&s, 0x08, 0x06, 0x62));
	ck_assert(!fe_classes_allow(&empty, 0x08, 0x06, 0x50));
}
END_TEST

START_TEST(test_hidden_alt_setting_refused)
{
	struct fe_classes s = set_of(storage, 1);
	char why[128];

	ck_assert_int_eq(check(&s, hidden_alt + HA_CONF1, HA_CONF1_LEN, why),
	    -1);
	ck_assert_str_eq(why, "interface 0 alt 1 has class 03:01:01, which "
	    "dom0 did not approve");
	/* The kernel's first read: the header alone. */
	ck_assert_int_eq(check(&s, hidden_alt + HA_CONF1, 9, why), 0);
	/* Up to the storage setting's endpoints: fine. */
	ck_assert_int_eq(check(&s, hidden_alt + HA_CONF1, HA_ALT1 - HA_CONF1,
	    why), 0);
}
END_TEST

START_TEST(test_approved_keyboard_passes)
{
	struct fe_classes s = set_of(storage_kbd, 2);
	char why[128];

	ck_assert_int_eq(check(&s, hidden_alt + HA_CONF1, HA_CONF1_LEN, why),
	    0);
	ck_assert_int_eq(check(&s, hidden_alt + HA_CONF2,
	    sizeof(hidden_alt) - HA_CONF2, why), 0);
}
END_TEST

START_TEST(test_second_config_and_other_speed_checked)
{
	struct fe_classes s = set_of(storage, 1);
	uint8_t other[HA_CONF1_LEN];
	char why[128];

	ck_assert_int_eq(check(&s, hidden_alt + HA_CONF2,
	    sizeof(hidden_alt) - HA_CONF2, why), -1);
	ck_assert_str_eq(why, "interface 0 alt 0 has class 03:01:01, which "
	    "dom0 did not approve");
	memcpy(other, hidden_alt + HA_CONF1, sizeof(other));
	other[1] = 0x07;	/* OTHER_SPEED_CONFIGURATION */
	ck_assert_int_eq(check(&s, other, sizeof(other), why), -1);
}
END_TEST

START_TEST(test_cut_inside_interface_descriptor)
{
	struct fe_classes s = set_of(storage, 1);
	size_t alt1 = HA_ALT1 - HA_CONF1;
	char why[128];

	/* Class bytes there (8 bytes of the keyboard setting): refused. */
	ck_assert_int_eq(check(&s, hidden_alt + HA_CONF1, alt1 + 8, why), -1);
	/* Its class byte not there yet: nothing to judge. */
	ck_assert_int_eq(check(&s, hidden_alt + HA_CONF1, alt1 + 5, why), 0);
}
END_TEST

START_TEST(test_past_total_length_ignored)
{
	struct fe_classes s = set_of(storage, 1);
	uint8_t d[HA_CONF1_LEN];
	char why[128];

	memcpy(d, hidden_alt + HA_CONF1, sizeof(d));
	d[2] = (uint8_t)(HA_ALT1 - HA_CONF1);	/* wTotalLength ends before */
	ck_assert_int_eq(check(&s, d, sizeof(d), why), 0);
	d[2] = HA_CONF1_LEN;
	ck_assert_int_eq(check(&s, d, sizeof(d), why), -1);
}
END_TEST

START_TEST(test_zero_length_descriptor_refused)
{
	struct fe_classes s = set_of(storage, 1);
	uint8_t d[HA_CONF1_LEN];
	char why[128];

	memcpy(d, hidden_alt + HA_CONF1, sizeof(d));
	d[HA_ALT1 - HA_CONF1] = 0;
	ck_assert_int_eq(check(&s, d, sizeof(d), why), -1);
	ck_assert_str_eq(why, "descriptor of length 0 at offset 32");
}
END_TEST

START_TEST(test_every_truncation)
{
	struct fe_classes s = set_of(storage, 1);
	size_t len, alt1 = HA_ALT1 - HA_CONF1;
	char why[128];

	for (len = 0; len <= HA_CONF1_LEN; len++)
		ck_assert_int_eq(check(&s, hidden_alt + HA_CONF1, len, why),
		    len >= alt1 + 8 ? -1 : 0);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("ifclass");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_no_set_allows_everything);
	tcase_add_test(tc, test_only_listed_triples_allowed);
	tcase_add_test(tc, test_hidden_alt_setting_refused);
	tcase_add_test(tc, test_approved_keyboard_passes);
	tcase_add_test(tc, test_second_config_and_other_speed_checked);
	tcase_add_test(tc, test_cut_inside_interface_descriptor);
	tcase_add_test(tc, test_past_total_length_ignored);
	tcase_add_test(tc, test_zero_length_descriptor_refused);
	tcase_add_test(tc, test_every_truncation);
	suite_add_tcase(s, tc);
	return s;
}
