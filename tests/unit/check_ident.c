/*
 * check_ident.c: the one rule set for device and VM names (common/ident).
 *
 * Proves the bus id rule (every name the Linux USB core gives a device is
 * accepted: root ports, hubs down to the deepest tier, bus and port 255;
 * everything else is refused: bus or port 0, leading zeros, numbers over
 * 255, too many tiers, root hubs, interfaces, paths), the VM name rule,
 * the plain character classes, the hex helpers, the device_id format
 * (serial cleaning, interface de-duplication, unknown device, truncation
 * reported as snprintf does) and USBGuard's hash recipe. Linked against libcommon alone: the leaf needs nothing
 * from proto/ or policy/.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "sha256.h"
#include "unit_main.h"

static const struct busid_case {
	const char *s;
	int want;
	const char *why;
} busid_cases[] = {
	{ "1-1", 1, "a root port" },
	{ "2-1.4", 1, "behind one hub" },
	{ "10-2.3.4.1", 1, "bus 10, three hubs" },
	{ "1-1.1.1.1.1.1.1", 1, "seven port numbers, the deepest" },
	{ "255-255", 1, "bus and port at their maximum" },
	{ "255-255.255.255.255.255.255.255", 1, "the longest: 31 chars" },
	{ "1-1.1.1.1.1.1.1.1", 0, "eight port numbers: too deep" },
	{ "0-1", 0, "bus 0 does not exist" },
	{ "0-0", 0, "vhci's empty port" },
	{ "1-0", 0, "port 0 does not exist" },
	{ "1-2.0", 0, "port 0 behind a hub" },
	{ "01-1", 0, "leading zero in the bus" },
	{ "1-01", 0, "leading zero in a port" },
	{ "256-1", 0, "bus over 255" },
	{ "1-256", 0, "port over 255" },
	{ "1-1234", 0, "port of four digits" },
	{ "1234-1", 0, "bus of four digits" },
	{ "1-99999999999999999999", 0, "port that overflows" },
	{ "", 0, "empty" },
	{ "1", 0, "bus alone" },
	{ "1-", 0, "no port" },
	{ "-1", 0, "no bus" },
	{ "1-1-1", 0, "two dashes" },
	{ "1.1-1", 0, "dot before the dash" },
	{ "1-1..2", 0, "empty tier" },
	{ "1-1.", 0, "trailing dot" },
	{ "1-.1", 0, "leading dot" },
	{ "+1-1", 0, "sign" },
	{ " 1-1", 0, "leading blank" },
	{ "1-1\n", 0, "trailing newline" },
	{ "usb1", 0, "a root hub" },
	{ "1-1:1.0", 0, "an interface, not a device" },
	{ "../../etc", 0, "a path" },
};

START_TEST(busid_is_the_linux_name_of_a_device)
{
	const struct busid_case *t = &busid_cases[_i];

	ck_assert_msg(ident_busid_valid(t->s) == t->want,
	    "\"%s\" (%s): want %d", t->s, t->why, t->want);
	ck_assert_int_eq(ident_str_valid(t->s, IDENT_CS_BUSID), t->want);
}
END_TEST

static const struct name_case {
	const char *s;
	int want;
} name_cases[] = {
	{ "work", 1 },
	{ "sys-usb", 1 },
	{ "a.b_c-9", 1 },
	{ "W", 1 },
	{ "abcdefghijabcdefghijabcdefghij1", 1 },	/* 31 */
	{ "abcdefghijabcdefghijabcdefghij12", 0 },	/* 32 */
	{ "", 0 },
	{ "9work", 0 },
	{ "-work", 0 },
	{ ".work", 0 },
	{ "work vm", 0 },
	{ "work/..", 0 },
	{ "work:1", 0 },
	{ "w\xc3\xb6rk", 0 },
};

START_TEST(name_starts_with_a_letter_and_fits_qubes)
{
	const struct name_case *t = &name_cases[_i];

	ck_assert_msg(ident_name_valid(t->s) == t->want, "\"%s\": want %d",
	    t->s, t->want);
	ck_assert_int_eq(ident_str_valid(t->s, IDENT_CS_NAME), t->want);
}
END_TEST

static const struct cs_case {
	const char *s;
	enum ident_charset cs;
	int want;
} cs_cases[] = {
	{ "Kingston DataTraveler 3.0", IDENT_CS_PRINT, 1 },
	{ "tab\there", IDENT_CS_PRINT, 0 },
	{ "del\177", IDENT_CS_PRINT, 0 },
	{ "high\xc3\xa9", IDENT_CS_PRINT, 0 },
	{ "", IDENT_CS_PRINT, 0 },
	{ "unix:/run/a", IDENT_CS_TOKEN, 1 },
	{ "unix:/run/a b", IDENT_CS_TOKEN, 0 },
	{ "device_id", IDENT_CS_KEY, 1 },
	{ "Device", IDENT_CS_KEY, 0 },
};

START_TEST(plain_classes_are_alphabets)
{
	const struct cs_case *t = &cs_cases[_i];

	ck_assert_msg(ident_str_valid(t->s, t->cs) == t->want,
	    "\"%s\" class %d: want %d", t->s, t->cs, t->want);
	ck_assert_int_eq(ident_str_valid_or_empty(t->s, t->cs),
	    t->s[0] == '\0' ? 1 : t->want);
}
END_TEST

START_TEST(scrub_repairs_alphabets_but_not_structures)
{
	char print[] = "a\tb\xff", key[] = "Ab-c d", busid[] = "1-x";

	ident_str_scrub(print, IDENT_CS_PRINT);
	ck_assert_str_eq(print, "a_b_");
	ident_str_scrub(key, IDENT_CS_KEY);
	ck_assert_str_eq(key, "_b-c_d");
	/* a bad bus id cannot be repaired into somebody else's port */
	ident_str_scrub(busid, IDENT_CS_BUSID);
	ck_assert_str_eq(busid, "1-x");
}
END_TEST

static const struct hex_case {
	const char *s;
	int ok;
	uint16_t v;
} hex_cases[] = {
	{ "1050", 1, 0x1050 },
	{ "abCD", 1, 0xabcd },
	{ "0000", 1, 0x0000 },
	{ "ffffx", 1, 0xffff },		/* four digits, the rest is not read */
	{ "123", 0, 0 },		/* stops at the NUL */
	{ "12g4", 0, 0 },
	{ " 123", 0, 0 },
	{ "-123", 0, 0 },
};

START_TEST(hex4_reads_exactly_four_digits)
{
	const struct hex_case *t = &hex_cases[_i];
	uint16_t v = 0x5555;

	ck_assert_int_eq(ident_hex4(t->s, &v), t->ok);
	if (t->ok)
		ck_assert_uint_eq(v, t->v);
	ck_assert_int_eq(ident_hexval('7'), 7);
	ck_assert_int_eq(ident_hexval('F'), 15);
	ck_assert_int_eq(ident_hexval('g'), -1);
	ck_assert_int_eq(ident_hexval('\0'), -1);
}
END_TEST

#define KBD	{ 0x03, 0x01, 0x01 }
#define CCID	{ 0x0b, 0x00, 0x00 }

static const struct devid_case {
	uint16_t vid, pid;
	const char *serial;
	struct ident_iface ifs[3];
	size_t n;
	const char *want;
} devid_cases[] = {
	{ 0x1050, 0x0407, "0001234567", { KBD, CCID }, 2,
	  "1050:0407:0001234567:u030101u0b0000" },
	{ 0x1050, 0x0407, "", { KBD, KBD, CCID }, 3,
	  "1050:0407::u030101u0b0000" },		/* listed once each */
	{ 0x1209, 0x0001, "0123 ABC/x:y+z", { CCID }, 1,
	  "1209:0001:0123_ABC_x_y+z:u0b0000" },	/* one token */
	{ 0x1209, 0x0001, "\xc3\xa9", { CCID }, 1,
	  "1209:0001:__:u0b0000" },		/* each byte */
	{ 0x1209, 0x0001, "", { { 0, 0, 0 } }, 0, "1209:0001::" },
	{ 0, 0, "x", { { 0, 0, 0 } }, 0, IDENT_DEVID_UNKNOWN },
};

START_TEST(device_id_is_qubes_format)
{
	const struct devid_case *t = &devid_cases[_i];
	char buf[128];
	size_t n;

	n = ident_device_id(t->vid, t->pid, t->serial, t->ifs, t->n, buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, t->want);
	ck_assert_uint_eq(n, strlen(t->want));
}
END_TEST

START_TEST(device_id_reports_a_short_buffer_as_snprintf)
{
	const struct ident_iface ifs[] = { KBD, CCID };
	char buf[12];
	size_t n;

	memset(buf, 'X', sizeof(buf));
	n = ident_device_id(0x1050, 0x0407, "0001234567", ifs, 2, buf,
	    sizeof(buf));
	ck_assert_uint_eq(n, strlen("1050:0407:0001234567:u030101u0b0000"));
	ck_assert_str_eq(buf, "1050:0407:0");
	ck_assert_uint_eq(ident_device_id(0x1050, 0x0407, "", ifs, 2, buf, 0),
	    strlen("1050:0407::u030101u0b0000"));
	ck_assert_int_eq(buf[0], '1');		/* size 0: nothing written */
}
END_TEST

START_TEST(usbguard_hash_is_the_recipe)
{
	static const char want_in[] = "Stick" "1209" "00ff" "S/N 1" "\x12\x01";
	const uint8_t desc[] = { 0x12, 0x01 };
	uint8_t got[IDENT_HASH_LEN], want[SHA256_DIGEST_LEN];

	/* SHA-256 of the parts run together: no separators, VID and PID as
	 * four lowercase hex digits, strings and descriptors raw. The digest
	 * of a real device is checked against USBGuard's by
	 * check_policy_identity. */
	ident_hash_usbguard("Stick", 0x1209, 0x00ff, "S/N 1", desc,
	    sizeof(desc), got);
	sha256(want_in, sizeof(want_in) - 1, want);
	ck_assert_mem_eq(got, want, sizeof(want));
	ident_hash_usbguard("Stick", 0x1209, 0x00FF, "S/N 2", desc,
	    sizeof(desc), got);
	ck_assert_int_ne(memcmp(got, want, sizeof(want)), 0);
}
END_TEST

/*
 * A Linux root hub (VID 1d6b, PID 0001..0003) is hashed with bcdDevice,
 * the kernel's version, as zero: its hash is the parent-hash of every
 * device on its ports and must not change with a kernel update. Any other
 * device is hashed as it is.
 */
START_TEST(usbguard_hash_zeroes_root_hub_bcd)
{
	uint8_t desc[27] = {
		18, 0x01, 0x00, 0x02, 0x09, 0x00, 0x01, 0x40,
		0x6b, 0x1d, 0x02, 0x00, 0x15, 0x06, 0x03, 0x02, 0x01, 0x01,
		9, 0x02, 25, 0, 1, 1, 0, 0xe0, 0,
	};
	uint8_t want_in[sizeof("EHCI Host Controller" "1d6b" "0002"
	    "0000:00:1d.0") - 1 + sizeof(desc)];
	uint8_t got[IDENT_HASH_LEN], want[SHA256_DIGEST_LEN];
	size_t n = sizeof(want_in) - sizeof(desc);

	memcpy(want_in, "EHCI Host Controller" "1d6b" "0002" "0000:00:1d.0",
	    n);
	memcpy(want_in + n, desc, sizeof(desc));
	want_in[n + 12] = want_in[n + 13] = 0;		/* bcdDevice 6.15 */
	ck_assert(ident_is_root_hub(desc, sizeof(desc)));
	ident_hash_usbguard("EHCI Host Controller", 0x1d6b, 0x0002,
	    "0000:00:1d.0", desc, sizeof(desc), got);
	sha256(want_in, sizeof(want_in), want);
	ck_assert_mem_eq(got, want, sizeof(want));
	/* Another kernel: the same hash. */
	desc[12] = 0x08;
	ident_hash_usbguard("EHCI Host Controller", 0x1d6b, 0x0002,
	    "0000:00:1d.0", desc, sizeof(desc), got);
	ck_assert_mem_eq(got, want, sizeof(want));
	/* Not a root hub (a Linux gadget, PID 0104): hashed as it is. */
	desc[10] = 0x04;
	desc[11] = 0x01;
	ck_assert(!ident_is_root_hub(desc, sizeof(desc)));
	ck_assert(!ident_is_root_hub(desc, 17));
	memcpy(want_in, "EHCI Host Controller" "1d6b" "0104", 28);
	memcpy(want_in + n, desc, sizeof(desc));
	ident_hash_usbguard("EHCI Host Controller", 0x1d6b, 0x0104,
	    "0000:00:1d.0", desc, sizeof(desc), got);
	sha256(want_in, sizeof(want_in), want);
	ck_assert_mem_eq(got, want, sizeof(want));
}
END_TEST

/* The connect types are the kernel's words, and nothing else. */
START_TEST(connect_types_are_the_kernels)
{
	static const char *const words[] = {
		"", "hotplug", "hardwired", "not used", "unknown",
	};
	int i;

	for (i = 0; i <= IDENT_CONNECT__MAX; i++) {
		ck_assert_str_eq(ident_connect_name(i), words[i]);
		ck_assert_int_eq(ident_connect_parse(words[i]), i);
	}
	ck_assert_ptr_null(ident_connect_name(-1));
	ck_assert_ptr_null(ident_connect_name(IDENT_CONNECT__MAX + 1));
	ck_assert_int_eq(ident_connect_parse("hotplug\n"), -1);
	ck_assert_int_eq(ident_connect_parse("Hardwired"), -1);
	ck_assert_int_eq(ident_connect_parse("not_used"), -1);
}
END_TEST

#define N(a)	(sizeof(a) / sizeof((a)[0]))

Suite *
unit_suite(void)
{
	Suite *s = suite_create("ident");
	TCase *tc = tcase_create("ident");

	tcase_add_loop_test(tc, busid_is_the_linux_name_of_a_device, 0,
	    N(busid_cases));
	tcase_add_loop_test(tc, name_starts_with_a_letter_and_fits_qubes, 0,
	    N(name_cases));
	tcase_add_loop_test(tc, plain_classes_are_alphabets, 0, N(cs_cases));
	tcase_add_test(tc, scrub_repairs_alphabets_but_not_structures);
	tcase_add_loop_test(tc, hex4_reads_exactly_four_digits, 0,
	    N(hex_cases));
	tcase_add_loop_test(tc, device_id_is_qubes_format, 0,
	    N(devid_cases));
	tcase_add_test(tc, device_id_reports_a_short_buffer_as_snprintf);
	tcase_add_test(tc, usbguard_hash_is_the_recipe);
	tcase_add_test(tc, usbguard_hash_zeroes_root_hub_bcd);
	tcase_add_test(tc, connect_types_are_the_kernels);
	suite_add_tcase(s, tc);
	return s;
}
