/*
 * check_ctl_codec.c: the control-protocol cursor, write buffer, frame header
 * and character classes. Proves that reads never pass the end of a buffer,
 * that errors are sticky, that strings are capped by our limit and not the
 * peer's length, and that the charset checks accept exactly what the
 * protocol document says.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_codec.h"
#include "unit_main.h"

START_TEST(test_ints_roundtrip_little_endian)
{
	uint8_t buf[32];
	struct ctl_wbuf w;
	struct ctl_cur c;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	int32_t i32;

	ctl_wbuf_init(&w, buf, sizeof(buf));
	ctl_put_u8(&w, 0xab);
	ctl_put_u16(&w, 0x1234);
	ctl_put_u32(&w, 0xdeadbeef);
	ctl_put_u64(&w, 0x0102030405060708ull);
	ctl_put_i32(&w, -2);
	ck_assert_int_eq(w.err, CTL_OK);
	ck_assert_uint_eq(w.len, 1 + 2 + 4 + 8 + 4);
	ck_assert_uint_eq(buf[1], 0x34);	/* little-endian on the wire */
	ck_assert_uint_eq(buf[2], 0x12);
	ck_assert_uint_eq(buf[7], 0x08);

	ctl_cur_init(&c, buf, w.len);
	ctl_get_u8(&c, &u8);
	ctl_get_u16(&c, &u16);
	ctl_get_u32(&c, &u32);
	ctl_get_u64(&c, &u64);
	ctl_get_i32(&c, &i32);
	ck_assert_int_eq(ctl_cur_end(&c), CTL_OK);
	ck_assert_uint_eq(u8, 0xab);
	ck_assert_uint_eq(u16, 0x1234);
	ck_assert_uint_eq(u32, 0xdeadbeef);
	ck_assert(u64 == 0x0102030405060708ull);
	ck_assert_int_eq(i32, -2);
}
END_TEST

START_TEST(test_truncated_read_is_sticky_and_zeroes)
{
	const uint8_t buf[3] = { 1, 2, 3 };
	struct ctl_cur c;
	uint32_t u32 = 99;
	uint8_t u8 = 99;

	ctl_cur_init(&c, buf, sizeof(buf));
	ck_assert_int_eq(ctl_get_u32(&c, &u32), CTL_E_TRUNC);
	ck_assert_uint_eq(u32, 0);
	/* A later read that would fit still fails: the error is sticky. */
	ck_assert_int_eq(ctl_get_u8(&c, &u8), CTL_E_TRUNC);
	ck_assert_uint_eq(u8, 0);
	ck_assert_uint_eq(ctl_cur_left(&c), 3);
	ck_assert_int_eq(ctl_cur_end(&c), CTL_E_TRUNC);
}
END_TEST

START_TEST(test_trailing_bytes_refused)
{
	const uint8_t buf[2] = { 1, 2 };
	struct ctl_cur c;
	uint8_t u8;

	ctl_cur_init(&c, buf, sizeof(buf));
	ctl_get_u8(&c, &u8);
	ck_assert_int_eq(ctl_cur_end(&c), CTL_E_TRAILING);
}
END_TEST

/* Strings: {u16 len, bytes}; table of wire forms and expected outcomes. */
static const struct str_case {
	const char *name;
	uint8_t wire[12];
	size_t wire_len;
	size_t dstsize, cap;
	int want;
	const char *want_str;
} str_cases[] = {
	{ "plain", { 3, 0, 'a', 'b', 'c' }, 5, 8, 7, CTL_OK, "abc" },
	{ "empty", { 0, 0 }, 2, 8, 7, CTL_OK, "" },
	{ "at cap", { 4, 0, 'a', 'b', 'c', 'd' }, 6, 8, 4, CTL_OK, "abcd" },
	{ "over cap", { 5, 0, 'a', 'b', 'c', 'd', 'e' }, 7, 8, 4,
	    CTL_E_STRLEN, "" },
	{ "over dst", { 8, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' }, 10,
	    8, 100, CTL_E_STRLEN, "" },
	{ "length lies (longer than body)", { 9, 0, 'a', 'b' }, 4, 16, 15,
	    CTL_E_TRUNC, "" },
	{ "huge length", { 0xff, 0xff, 'a' }, 3, 16, 15, CTL_E_STRLEN, "" },
	{ "embedded NUL", { 3, 0, 'a', 0, 'c' }, 5, 8, 7, CTL_E_CHARSET, "" },
	{ "no length", { 3 }, 1, 8, 7, CTL_E_TRUNC, "" },
};

START_TEST(test_get_str_table)
{
	const struct str_case *t = &str_cases[_i];
	char dst[16];
	struct ctl_cur c;
	int r;

	memset(dst, 'X', sizeof(dst));
	ctl_cur_init(&c, t->wire, t->wire_len);
	r = ctl_get_str(&c, dst, t->dstsize, t->cap);
	ck_assert_msg(r == t->want, "%s: got %d want %d", t->name, r, t->want);
	ck_assert_str_eq(dst, t->want_str);
}
END_TEST

START_TEST(test_put_str_over_cap_refused)
{
	uint8_t buf[64];
	struct ctl_wbuf w;

	ctl_wbuf_init(&w, buf, sizeof(buf));
	ck_assert_int_eq(ctl_put_str(&w, "abcdef", 5), CTL_E_STRLEN);
	ck_assert_int_eq(ctl_put_u8(&w, 1), CTL_E_STRLEN);	/* sticky */
}
END_TEST

START_TEST(test_put_past_capacity_refused)
{
	uint8_t buf[5];
	struct ctl_wbuf w;

	ctl_wbuf_init(&w, buf, sizeof(buf));
	ck_assert_int_eq(ctl_put_u32(&w, 1), CTL_OK);
	ck_assert_int_eq(ctl_put_u16(&w, 1), CTL_E_NOSPACE);
	ck_assert_uint_eq(w.len, 4);
}
END_TEST

START_TEST(test_frame_header_carries_body_length)
{
	uint8_t buf[32];
	struct ctl_wbuf w;
	uint32_t type, len;

	ctl_wbuf_init(&w, buf, sizeof(buf));
	ctl_frame_begin(&w, 0x0101);
	ctl_put_u32(&w, 7);
	ctl_put_u8(&w, 1);
	ck_assert_int_eq(ctl_frame_end(&w), CTL_OK);
	ck_assert_int_eq(ctl_hdr_parse(buf, &type, &len), CTL_OK);
	ck_assert_uint_eq(type, 0x0101);
	ck_assert_uint_eq(len, 5);
}
END_TEST

START_TEST(test_header_length_over_limit_refused)
{
	uint8_t hdr[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };
	uint32_t type, len, big = CTL_BODY_MAX + 1;

	hdr[4] = (uint8_t)big;
	hdr[5] = (uint8_t)(big >> 8);
	hdr[6] = (uint8_t)(big >> 16);
	ck_assert_int_eq(ctl_hdr_parse(hdr, &type, &len), CTL_E_MSGLEN);
	memset(hdr + 4, 0xff, 4);
	ck_assert_int_eq(ctl_hdr_parse(hdr, &type, &len), CTL_E_MSGLEN);
}
END_TEST

static const struct cs_case {
	const char *s;
	enum ctl_charset cs;
	int want;
} cs_cases[] = {
	{ "work", CTL_CS_NAME, 1 },
	{ "sys-usb", CTL_CS_NAME, 1 },
	{ "a.b_c-9", CTL_CS_NAME, 1 },
	{ "9work", CTL_CS_NAME, 0 },		/* must start with a letter */
	{ "-work", CTL_CS_NAME, 0 },
	{ "work vm", CTL_CS_NAME, 0 },
	{ "work;rm", CTL_CS_NAME, 0 },
	{ "wörk", CTL_CS_NAME, 0 },
	{ "", CTL_CS_NAME, 0 },
	{ "abcdefghijabcdefghijabcdefghij1", CTL_CS_NAME, 1 },	/* 31 */
	{ "abcdefghijabcdefghijabcdefghij12", CTL_CS_NAME, 0 },	/* 32 */
	{ "1-1", CTL_CS_BUSID, 1 },
	{ "2-1.4", CTL_CS_BUSID, 1 },
	{ "10-2.3.4.1", CTL_CS_BUSID, 1 },
	{ "1-1.1.1.1.1.1.1", CTL_CS_BUSID, 1 },
	{ "1-1.1.1.1.1.1.1.1", CTL_CS_BUSID, 0 },	/* too deep */
	{ "1", CTL_CS_BUSID, 0 },
	{ "1-", CTL_CS_BUSID, 0 },
	{ "-1", CTL_CS_BUSID, 0 },
	{ "1-1-1", CTL_CS_BUSID, 0 },
	{ "1.1-1", CTL_CS_BUSID, 0 },
	{ "1-1..2", CTL_CS_BUSID, 0 },
	{ "1-1.", CTL_CS_BUSID, 0 },
	{ "1234-1", CTL_CS_BUSID, 0 },
	{ "usb1", CTL_CS_BUSID, 0 },
	{ "../../etc", CTL_CS_BUSID, 0 },
	{ "1-1:1.0", CTL_CS_BUSID, 0 },		/* an interface, not a device */
	{ "Kingston DataTraveler 3.0", CTL_CS_PRINT, 1 },
	{ "tab\there", CTL_CS_PRINT, 0 },
	{ "esc\033[2J", CTL_CS_PRINT, 0 },
	{ "del\177", CTL_CS_PRINT, 0 },
	{ "high\xc3\xa9", CTL_CS_PRINT, 0 },
	{ "unix:/run/a", CTL_CS_TOKEN, 1 },
	{ "unix:/run/a b", CTL_CS_TOKEN, 0 },
	{ "device_id", CTL_CS_KEY, 1 },
	{ "Device", CTL_CS_KEY, 0 },
};

START_TEST(test_charset_table)
{
	const struct cs_case *t = &cs_cases[_i];

	ck_assert_msg(ctl_str_valid(t->s, t->cs) == t->want,
	    "\"%s\" class %d: want %d", t->s, t->cs, t->want);
}
END_TEST

START_TEST(test_scrub_replaces_only_disallowed)
{
	char s[] = "a\tb\033c\xff" "d e";

	ctl_str_scrub(s, CTL_CS_PRINT);
	ck_assert_str_eq(s, "a_b_c_d e");
	ck_assert(ctl_str_valid(s, CTL_CS_PRINT));
}
END_TEST

START_TEST(test_strerror_covers_every_code)
{
	int e;

	for (e = 0; e > -CTL_E__COUNT; e--)
		ck_assert_str_ne(ctl_strerror(e), "unknown error");
	ck_assert_str_eq(ctl_strerror(-CTL_E__COUNT), "unknown error");
	ck_assert_str_eq(ctl_strerror(1), "unknown error");
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("ctl_codec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ints_roundtrip_little_endian);
	tcase_add_test(tc, test_truncated_read_is_sticky_and_zeroes);
	tcase_add_test(tc, test_trailing_bytes_refused);
	tcase_add_loop_test(tc, test_get_str_table, 0,
	    sizeof(str_cases) / sizeof(str_cases[0]));
	tcase_add_test(tc, test_put_str_over_cap_refused);
	tcase_add_test(tc, test_put_past_capacity_refused);
	tcase_add_test(tc, test_frame_header_carries_body_length);
	tcase_add_test(tc, test_header_length_over_limit_refused);
	tcase_add_loop_test(tc, test_charset_table, 0,
	    sizeof(cs_cases) / sizeof(cs_cases[0]));
	tcase_add_test(tc, test_scrub_replaces_only_disallowed);
	tcase_add_test(tc, test_strerror_covers_every_code);
	suite_add_tcase(s, tc);
	return s;
}
