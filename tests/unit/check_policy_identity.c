/*
 * check_policy_identity.c: device identity and hashing.
 *
 * Proves SHA-256 against the FIPS 180-2 example vectors (one-shot and
 * split into every possible pair of updates), base64 against RFC 4648,
 * USBGuard's hash recipe against an independently computed digest, the
 * Qubes device_id format (empty serial, unknown device, interface
 * de-duplication, serial sanitising) and its parser, usb.ids parsing and
 * lookups (also of files with an empty section, which must not hand qsort
 * a NULL array: UBSan's nonnull check aborts the sanitizer build), and the
 * "Category: vendor product" description rules.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity.h"
#include "pol_error.h"
#include "sha256.h"
#include "usbids.h"
#include "unit_main.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif
#define SAMPLE_IDS TEST_DATA_DIR "/policy/usb.ids.sample"

static void
hex(const uint8_t *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* FIPS 180-2 appendix B. */
static const struct sha_case {
	const char *msg;
	const char *digest;
} sha_cases[] = {
	{ "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

START_TEST(test_sha256_fips_vectors)
{
	const struct sha_case *t = &sha_cases[_i];
	uint8_t d[SHA256_DIGEST_LEN];
	char h[65];

	sha256(t->msg, strlen(t->msg), d);
	hex(d, sizeof(d), h);
	ck_assert_str_eq(h, t->digest);
}
END_TEST

START_TEST(test_sha256_any_split_gives_same_digest)
{
	const struct sha_case *t = &sha_cases[_i];
	size_t len = strlen(t->msg), cut;
	uint8_t d[SHA256_DIGEST_LEN];
	char h[65];

	for (cut = 0; cut <= len; cut++) {
		struct sha256_ctx ctx;

		sha256_init(&ctx);
		sha256_update(&ctx, t->msg, cut);
		sha256_update(&ctx, t->msg + cut, len - cut);
		sha256_final(&ctx, d);
		hex(d, sizeof(d), h);
		ck_assert_msg(strcmp(h, t->digest) == 0, "split at %zu", cut);
	}
}
END_TEST

START_TEST(test_sha256_million_a)
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_LEN];
	char block[1000], h[65];
	int i;

	memset(block, 'a', sizeof(block));
	sha256_init(&ctx);
	for (i = 0; i < 1000; i++)
		sha256_update(&ctx, block, sizeof(block));
	sha256_final(&ctx, d);
	hex(d, sizeof(d), h);
	ck_assert_str_eq(h,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

static const struct b64_case {
	const char *plain, *coded;
} b64_cases[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

START_TEST(test_base64_rfc4648_vectors)
{
	const struct b64_case *t = &b64_cases[_i];
	char enc[32];
	uint8_t dec[32];
	int n;

	ck_assert_int_eq(pol_b64_encode((const uint8_t *)t->plain,
	    strlen(t->plain), enc, sizeof(enc)), (int)strlen(t->coded));
	ck_assert_str_eq(enc, t->coded);
	n = pol_b64_decode(t->coded, dec, sizeof(dec));
	ck_assert_int_eq(n, (int)strlen(t->plain));
	ck_assert_mem_eq(dec, t->plain, (size_t)n);
}
END_TEST

START_TEST(test_base64_rejects_malformed)
{
	static const char *const bad[] = {
		"Zg=", "Z===", "Zg=a", "Zm9v!", "Zg==Zg==", "Zm 9", "====",
	};
	uint8_t dec[32];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pol_b64_decode(bad[i], dec, sizeof(dec)) < 0,
		    "%s accepted", bad[i]);
	ck_assert_int_eq(pol_b64_decode("Zm9vYmFy", dec, 5), POL_E_TOOLONG);
}
END_TEST

START_TEST(test_usbguard_hash_recipe)
{
	static const uint8_t desc[] = {
		0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x50, 0x10,
		0x07, 0x04, 0x26, 0x05, 0x01, 0x02, 0x03, 0x01,
	};
	uint8_t d[POL_HASH_LEN];
	char b64[POL_HASH_B64_LEN + 1], h[65];

	/* Expected value computed with Python's hashlib over the same
	 * concatenation: name, "1050", "0407", serial, descriptors. */
	pol_hash_usbguard("YubiKey OTP+FIDO+CCID", 0x1050, 0x0407,
	    "0001234567", desc, sizeof(desc), d);
	hex(d, sizeof(d), h);
	ck_assert_str_eq(h,
	    "73a5d94746b910b532848b2be6a662ff6451d9401f21b093f8e2a2a5c580e87f");
	pol_b64_encode(d, sizeof(d), b64, sizeof(b64));
	ck_assert_str_eq(b64, "c6XZR0a5ELUyhIsr5qZi/2RR2UAfIbCT+OKipcWA6H8=");
}
END_TEST

/* ---- device_id -------------------------------------------------------- */

static struct pol_device
mkdev(uint16_t vid, uint16_t pid, const char *serial, int n,
    const uint8_t (*ifs)[3])
{
	struct pol_device d;
	int i;

	memset(&d, 0, sizeof(d));
	d.vid = vid;
	d.pid = pid;
	snprintf(d.serial, sizeof(d.serial), "%s", serial);
	for (i = 0; i < n; i++) {
		d.ifaces[i].number = (uint8_t)i;
		d.ifaces[i].cls = ifs[i][0];
		d.ifaces[i].subcls = ifs[i][1];
		d.ifaces[i].proto = ifs[i][2];
	}
	d.n_ifaces = (uint8_t)n;
	return d;
}

static const uint8_t ifs_storage[][3] = { { 0x08, 0x06, 0x50 } };
static const uint8_t ifs_yubikey[][3] = {
	{ 0x03, 0x01, 0x01 }, { 0x03, 0x00, 0x00 }, { 0x0b, 0x00, 0x00 },
};
static const uint8_t ifs_dup[][3] = {
	{ 0x0e, 0x01, 0x00 }, { 0x0e, 0x02, 0x00 }, { 0x0e, 0x02, 0x00 },
	{ 0x01, 0x01, 0x00 },
};

static const struct devid_case {
	const char *name;
	uint16_t vid, pid;
	const char *serial;
	int n;
	const uint8_t (*ifs)[3];
	const char *want;
} devid_cases[] = {
	{ "Qubes' example", 0x1234, 0x1234, "0123456789", 1, ifs_storage,
	  "1234:1234:0123456789:u080650" },
	{ "empty serial", 0x1050, 0x0407, "", 3, ifs_yubikey,
	  "1050:0407::u030101u030000u0b0000" },
	{ "repeated interface types listed once", 0x046d, 0x0825, "", 4,
	  ifs_dup, "046d:0825::u0e0100u0e0200u010100" },
	{ "serial with colon and space sanitised", 0xabcd, 0x0001,
	  "A:B C/d", 1, ifs_storage, "abcd:0001:A_B_C_d:u080650" },
	{ "serial keeps . _ + -", 0xabcd, 0x0001, "v1.2_x+y-z", 0, NULL,
	  "abcd:0001:v1.2_x+y-z:" },
	{ "nothing known", 0, 0, "", 0, NULL, POL_DEVID_UNKNOWN },
	{ "lowercase hex", 0xABCD, 0xEF01, "", 0, NULL, "abcd:ef01::" },
};

START_TEST(test_device_id_table)
{
	const struct devid_case *t = &devid_cases[_i];
	struct pol_device d = mkdev(t->vid, t->pid, t->serial, t->n, t->ifs);
	char buf[POL_DEVID_MAX + 1];

	ck_assert_int_eq(pol_device_id(&d, buf, sizeof(buf)),
	    (int)strlen(t->want));
	ck_assert_msg(strcmp(buf, t->want) == 0, "%s: %s", t->name, buf);
}
END_TEST

START_TEST(test_device_id_max_fits_and_small_buffer_fails)
{
	struct pol_device d;
	char buf[POL_DEVID_MAX + 1];
	int i;

	memset(&d, 0, sizeof(d));
	d.vid = 1;
	memset(d.serial, 'S', POL_USBSTR_MAX);
	for (i = 0; i < POL_IFACE_MAX; i++) {
		d.ifaces[i].number = (uint8_t)i;
		d.ifaces[i].cls = (uint8_t)i;	/* all different */
	}
	d.n_ifaces = POL_IFACE_MAX;
	ck_assert_int_eq(pol_device_id(&d, buf, sizeof(buf)), POL_DEVID_MAX);
	ck_assert_int_eq(pol_device_id(&d, buf, 20), POL_E_TOOLONG);
}
END_TEST

START_TEST(test_device_id_parse_roundtrip)
{
	const struct devid_case *t = &devid_cases[_i];
	struct pol_device d = mkdev(t->vid, t->pid, t->serial, t->n, t->ifs);
	struct pol_device back;
	struct pol_devid id;
	char a[POL_DEVID_MAX + 1], b[POL_DEVID_MAX + 1];

	pol_device_id(&d, a, sizeof(a));
	ck_assert_int_eq(pol_devid_parse(a, &id), POL_OK);
	pol_devid_to_device(&id, &back);
	pol_device_id(&back, b, sizeof(b));
	ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(test_device_id_parse_rejects_garbage)
{
	static const char *const bad[] = {
		"", "1234", "1234:5678", "1234:5678:", "12345:678::",
		"1234:567g::", "1234:5678::u0806", "1234:5678::x080650",
		"1234:5678::u08065G", "1234:5678:a b:", "1234:5678:a;b:",
		"1234-5678::", "0000:0000::?*****",
	};
	struct pol_devid id;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pol_devid_parse(bad[i], &id) != POL_OK,
		    "\"%s\" accepted", bad[i]);
	ck_assert_int_eq(pol_devid_parse(POL_DEVID_UNKNOWN, &id), POL_OK);
	ck_assert_int_eq(id.unknown, 1);
}
END_TEST

/* ---- usb.ids and descriptions ----------------------------------------- */

START_TEST(test_usbids_sample_lookups)
{
	struct pol_usbids *ids;

	ck_assert_int_eq(pol_usbids_load(SAMPLE_IDS, &ids), POL_OK);
	ck_assert_str_eq(pol_usbids_vendor(ids, 0x046d), "Logitech, Inc.");
	ck_assert_str_eq(pol_usbids_product(ids, 0x20a0, 0x42dd),
	    "Nitrokey 3 Bootloader");
	ck_assert_ptr_null(pol_usbids_product(ids, 0x20a0, 0x0001));
	ck_assert_ptr_null(pol_usbids_vendor(ids, 0x9999));
	ck_assert_str_eq(pol_usbids_class(ids, 0x08, -1, -1), "Mass Storage");
	ck_assert_str_eq(pol_usbids_class(ids, 0x08, 0x06, -1), "SCSI");
	ck_assert_str_eq(pol_usbids_class(ids, 0x03, 0x01, 0x02), "Mouse");
	/* Lines of other sections must not leak in as vendors. */
	ck_assert_ptr_null(pol_usbids_vendor(ids, 0x0100));
	pol_usbids_free(ids);
}
END_TEST

START_TEST(test_usbids_missing_file_is_an_error)
{
	struct pol_usbids *ids;

	ck_assert_int_eq(pol_usbids_load("/nonexistent/usb.ids", &ids),
	    POL_E_IO);
	ck_assert_ptr_null(ids);
}
END_TEST

START_TEST(test_usbids_default_caches_until_file_changes)
{
	const struct pol_usbids *a, *b;

	pol_usbids_default_reset();
	a = pol_usbids_default(SAMPLE_IDS);
	b = pol_usbids_default(SAMPLE_IDS);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(a, b);
	pol_usbids_default_reset();
}
END_TEST

/* Write text to a fresh temporary usb.ids; the caller unlinks path. */
static void
write_ids(char *path, const char *text)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

START_TEST(test_usbids_empty_sections)
{
	static const char *const texts[] = {
		/* vendors and products, no class section */
		"# comment\n1234  Vendor\n\t5678  Thing\n",
		/* a vendor without products, no classes */
		"1234  Vendor\n",
		/* classes only */
		"C 08  Mass Storage\n\t06  SCSI\n",
		/* nothing at all */
		"# only a comment\n",
	};
	struct pol_usbids *ids;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char path[] = "/tmp/check_usbids.XXXXXX";

		write_ids(path, texts[i]);
		ck_assert_int_eq(pol_usbids_load(path, &ids), POL_OK);
		unlink(path);
		ck_assert_ptr_null(pol_usbids_vendor(ids, 0x9999));
		ck_assert_ptr_null(pol_usbids_product(ids, 0x1234, 0x0001));
		ck_assert_ptr_null(pol_usbids_class(ids, 0x03, -1, -1));
		if (i < 2)
			ck_assert_str_eq(pol_usbids_vendor(ids, 0x1234),
			    "Vendor");
		if (i == 0)
			ck_assert_str_eq(pol_usbids_product(ids, 0x1234,
			    0x5678), "Thing");
		if (i == 2)
			ck_assert_str_eq(pol_usbids_class(ids, 0x08, 0x06, -1),
			    "SCSI");
		pol_usbids_free(ids);
	}
}
END_TEST

START_TEST(test_usbids_installed_file_parses)
{
	const struct pol_usbids *ids;

	pol_usbids_default_reset();
	ids = pol_usbids_default(NULL);
	if (ids == NULL)
		return;		/* hwdata not installed: nothing to check */
	ck_assert_uint_gt(pol_usbids_count(ids), 1000);
	ck_assert_ptr_nonnull(pol_usbids_vendor(ids, 0x1d6b));
	ck_assert_ptr_nonnull(pol_usbids_class(ids, 0x08, -1, -1));
	pol_usbids_default_reset();
}
END_TEST

static const uint8_t ifs_kbd[][3] = { { 0x03, 0x01, 0x01 } };
static const uint8_t ifs_mouse[][3] = { { 0x03, 0x01, 0x02 } };
static const uint8_t ifs_bt[][3] = { { 0xe0, 0x01, 0x01 }, { 0xe0, 0x01, 0x01 } };
static const uint8_t ifs_wifi[][3] = { { 0xe0, 0x02, 0x01 } };
static const uint8_t ifs_cam[][3] = { { 0x0e, 0x01, 0x00 }, { 0x01, 0x01, 0x00 } };
static const uint8_t ifs_vendor[][3] = { { 0xff, 0x00, 0x00 } };
static const uint8_t ifs_card[][3] = { { 0x0b, 0x00, 0x00 } };
static const uint8_t ifs_hid_other[][3] = { { 0x03, 0x00, 0x00 } };
static const uint8_t ifs_dfu[][3] = { { 0xfe, 0x01, 0x02 } };

static const struct desc_case {
	const char *name;
	uint16_t vid, pid;
	const char *manufacturer, *product, *serial;
	int n;
	const uint8_t (*ifs)[3];
	const char *want;
} desc_cases[] = {
	{ "keyboard, names from usb.ids", 0x046d, 0xc31c, "Logitech",
	  "USB Keyboard", "", 1, ifs_kbd, "Keyboard: Logitech, Inc. Keyboard K120" },
	{ "mouse", 0x046d, 0xc52b, "", "", "", 1, ifs_mouse,
	  "Mouse: Logitech, Inc. Unifying Receiver" },
	{ "storage, unknown to usb.ids: device strings", 0x0951, 0x1666,
	  "Kingston", "DataTraveler 3.0", "", 1, ifs_storage,
	  "Mass_Data: Kingston DataTraveler 3.0" },
	{ "bluetooth before network", 0x8087, 0x0a2b, "", "", "", 2, ifs_bt,
	  "Bluetooth: unknown usb device" },
	{ "wireless is Wireless", 0x0bda, 0x8179, "", "", "", 1, ifs_wifi,
	  "Wireless: unknown usb device" },
	{ "camera is the first interface's category", 0x046d, 0x0825, "",
	  "Webcam C270", "", 2, ifs_cam, "Multimedia: Logitech, Inc. Webcam C270" },
	{ "smart card (Other): usb.ids class name, device's product", 0x20a0, 0x4211,
	  "Nitrokey", "Nitrokey", "", 1, ifs_card,
	  "Chip/SmartCard: Clay Logic Nitrokey" },
	{ "other HID is input", 0x1050, 0x0407, "", "", "", 1, ifs_hid_other,
	  "Input: Yubico.com Yubikey 4/5 OTP+U2F+CCID" },
	{ "serial when no product name", 0x9999, 0x0001, "", "", "SN42", 1,
	  ifs_vendor, "Vendor Specific Class: SN42" },
	{ "usb.ids class name when no category", 0x20a0, 0x42dd, "", "", "",
	  1, ifs_dfu, "Application Specific Interface: Clay Logic Nitrokey 3 Bootloader" },
	{ "nothing at all: Qubes' unknown interface", 0x9999, 0x0002, "", "",
	  "", 0, NULL, "?******: unknown usb device" },
	{ "UTF-8 vendor name made ASCII", 0xabcd, 0x0001, "", "Thing", "", 0,
	  NULL, "?******: Caf_ Vendor Thing" },
};

START_TEST(test_description_table)
{
	const struct desc_case *t = &desc_cases[_i];
	struct pol_device d = mkdev(t->vid, t->pid, t->serial, t->n, t->ifs);
	struct pol_usbids *ids;
	char buf[POL_DESC_MAX];

	snprintf(d.manufacturer, sizeof(d.manufacturer), "%s",
	    t->manufacturer);
	snprintf(d.product, sizeof(d.product), "%s", t->product);
	ck_assert_int_eq(pol_usbids_load(SAMPLE_IDS, &ids), POL_OK);
	pol_describe(&d, ids, buf, sizeof(buf));
	pol_usbids_free(ids);
	ck_assert_msg(strcmp(buf, t->want) == 0, "%s: got \"%s\"", t->name,
	    buf);
}
END_TEST

START_TEST(test_description_without_usbids_uses_device_strings)
{
	struct pol_device d = mkdev(0x046d, 0xc31c, "", 1, ifs_kbd);
	char buf[POL_DESC_MAX];

	snprintf(d.manufacturer, sizeof(d.manufacturer), "Logi\033tech");
	snprintf(d.product, sizeof(d.product), "K120");
	pol_describe(&d, NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Keyboard: Logi_tech K120");
}
END_TEST

START_TEST(test_strerror_covers_every_code)
{
	int e;

	for (e = 0; e > -POL_E__COUNT; e--)
		ck_assert_str_ne(pol_strerror(e), "unknown error");
	ck_assert_str_eq(pol_strerror(-POL_E__COUNT), "unknown error");
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("policy_identity");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_sha256_fips_vectors, 0,
	    sizeof(sha_cases) / sizeof(sha_cases[0]));
	tcase_add_loop_test(tc, test_sha256_any_split_gives_same_digest, 0,
	    sizeof(sha_cases) / sizeof(sha_cases[0]));
	tcase_add_test(tc, test_sha256_million_a);
	tcase_add_loop_test(tc, test_base64_rfc4648_vectors, 0,
	    sizeof(b64_cases) / sizeof(b64_cases[0]));
	tcase_add_test(tc, test_base64_rejects_malformed);
	tcase_add_test(tc, test_usbguard_hash_recipe);
	tcase_add_loop_test(tc, test_device_id_table, 0,
	    sizeof(devid_cases) / sizeof(devid_cases[0]));
	tcase_add_test(tc, test_device_id_max_fits_and_small_buffer_fails);
	tcase_add_loop_test(tc, test_device_id_parse_roundtrip, 0,
	    sizeof(devid_cases) / sizeof(devid_cases[0]));
	tcase_add_test(tc, test_device_id_parse_rejects_garbage);
	tcase_add_test(tc, test_usbids_sample_lookups);
	tcase_add_test(tc, test_usbids_missing_file_is_an_error);
	tcase_add_test(tc, test_usbids_empty_sections);
	tcase_add_test(tc, test_usbids_default_caches_until_file_changes);
	tcase_add_test(tc, test_usbids_installed_file_parses);
	tcase_add_loop_test(tc, test_description_table, 0,
	    sizeof(desc_cases) / sizeof(desc_cases[0]));
	tcase_add_test(tc, test_description_without_usbids_uses_device_strings);
	tcase_add_test(tc, test_strerror_covers_every_code);
	suite_add_tcase(s, tc);
	return s;
}
