/*
 * check_usbip_wire.c: the USB/IP codec decodes what vhci_hcd sends, rejects
 * short and out-of-range headers, and encodes answers bit-exactly.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "usbip_wire.h"
#include "unit_main.h"

static const uint8_t cmd_submit_bulk_out[USBIP_HDR_LEN] = {
	0, 0, 0, 1,		/* CMD_SUBMIT */
	0, 0, 0, 7,		/* seqnum */
	0, 0xfe, 0, 0,		/* devid */
	0, 0, 0, 0,		/* OUT */
	0, 0, 0, 2,		/* ep 2 */
	0, 0, 0, 0,		/* flags */
	0, 0, 0x10, 0,		/* length 4096 */
	0, 0, 0, 0,		/* start_frame */
	0xff, 0xff, 0xff, 0xff,	/* number_of_packets: -1 (not iso) */
	0, 0, 0, 0,		/* interval */
	0, 0, 0, 0, 0, 0, 0, 0,	/* setup */
};

START_TEST(decode_submit_counts_out_payload)
{
	struct usbip_cmd c;
	size_t payload;

	ck_assert_int_eq(usbip_decode_cmd(cmd_submit_bulk_out,
	    sizeof(cmd_submit_bulk_out), &c, &payload), USBIP_OK);
	ck_assert_uint_eq(c.command, USBIP_CMD_SUBMIT);
	ck_assert_uint_eq(c.seqnum, 7);
	ck_assert_uint_eq(c.devid, 0xfe0000);
	ck_assert_uint_eq(c.ep, 2);
	ck_assert_uint_eq(c.length, 4096);
	ck_assert_uint_eq(c.number_of_packets, 0);
	ck_assert_uint_eq(payload, 4096);
}
END_TEST

START_TEST(decode_iso_in_counts_descriptors_only)
{
	struct usbip_cmd in = {
		.command = USBIP_CMD_SUBMIT, .seqnum = 9, .direction = USBIP_DIR_IN,
		.ep = 1, .length = 3072, .number_of_packets = 3,
	}, out;
	uint8_t buf[USBIP_HDR_LEN];
	size_t payload;

	usbip_encode_cmd(buf, &in);
	ck_assert_int_eq(usbip_decode_cmd(buf, sizeof(buf), &out, &payload),
	    USBIP_OK);
	ck_assert_uint_eq(out.number_of_packets, 3);
	ck_assert_uint_eq(payload, 3 * USBIP_ISO_DESC_LEN);
}
END_TEST

START_TEST(decode_rejects_short_header)
{
	struct usbip_cmd c;
	size_t payload;

	ck_assert_int_eq(usbip_decode_cmd(cmd_submit_bulk_out,
	    USBIP_HDR_LEN - 1, &c, &payload), USBIP_E_SHORT);
}
END_TEST

/* Table: one field set out of range at a time must be refused. */
static const struct {
	size_t off;
	uint8_t val[4];
	int want;
} bad_fields[] = {
	{ 0, { 0, 0, 0, 9 }, USBIP_E_COMMAND },		/* unknown command */
	{ 12, { 0, 0, 0, 2 }, USBIP_E_FIELD },		/* direction 2 */
	{ 16, { 0, 0, 0, 16 }, USBIP_E_FIELD },		/* ep 16 */
	{ 24, { 0x7f, 0, 0, 0 }, USBIP_E_FIELD },	/* 2 GiB length */
	{ 32, { 0, 0, 0x10, 0 }, USBIP_E_FIELD },	/* 4096 iso packets */
};

START_TEST(decode_rejects_out_of_range_field)
{
	uint8_t buf[USBIP_HDR_LEN];
	struct usbip_cmd c;
	size_t payload;

	memcpy(buf, cmd_submit_bulk_out, sizeof(buf));
	memcpy(buf + bad_fields[_i].off, bad_fields[_i].val, 4);
	ck_assert_int_eq(usbip_decode_cmd(buf, sizeof(buf), &c, &payload),
	    bad_fields[_i].want);
}
END_TEST

START_TEST(ret_submit_encoding_is_big_endian)
{
	uint8_t buf[USBIP_HDR_LEN];

	usbip_encode_ret_submit(buf, 0x01020304, -32, 13, 0, 0, 0);
	ck_assert_int_eq(buf[3], USBIP_RET_SUBMIT);
	ck_assert_int_eq(buf[4], 1);
	ck_assert_int_eq(buf[7], 4);
	/* -32 (EPIPE) */
	ck_assert_int_eq(buf[20], 0xff);
	ck_assert_int_eq(buf[23], 0xe0);
	ck_assert_int_eq(buf[27], 13);
	ck_assert_int_eq(buf[47], 0);
}
END_TEST

START_TEST(iso_descriptor_round_trips)
{
	struct usbip_iso_desc a = { 1024, 192, 180, -18 }, b;
	uint8_t buf[USBIP_ISO_DESC_LEN];

	usbip_encode_iso_desc(buf, &a);
	usbip_decode_iso_desc(buf, &b);
	ck_assert_uint_eq(b.offset, 1024);
	ck_assert_uint_eq(b.length, 192);
	ck_assert_uint_eq(b.actual_length, 180);
	ck_assert_int_eq(b.status, -18);
}
END_TEST

START_TEST(unlink_decodes_target)
{
	struct usbip_cmd in = { .command = USBIP_CMD_UNLINK, .seqnum = 11,
	    .unlink_seqnum = 5 }, out;
	uint8_t buf[USBIP_HDR_LEN];
	size_t payload;

	usbip_encode_cmd(buf, &in);
	ck_assert_int_eq(usbip_decode_cmd(buf, sizeof(buf), &out, &payload),
	    USBIP_OK);
	ck_assert_uint_eq(out.unlink_seqnum, 5);
	ck_assert_uint_eq(payload, 0);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("usbip_wire");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, decode_submit_counts_out_payload);
	tcase_add_test(tc, decode_iso_in_counts_descriptors_only);
	tcase_add_test(tc, decode_rejects_short_header);
	tcase_add_loop_test(tc, decode_rejects_out_of_range_field, 0,
	    sizeof(bad_fields) / sizeof(bad_fields[0]));
	tcase_add_test(tc, ret_submit_encoding_is_big_endian);
	tcase_add_test(tc, iso_descriptor_round_trips);
	tcase_add_test(tc, unlink_decodes_target);
	suite_add_tcase(s, tc);
	return s;
}
