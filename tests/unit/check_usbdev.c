/*
 * check_usbdev.c: the backend reads a device's identity from its sysfs
 * directory (built here in a temporary directory, in the kernel's format),
 * cleans device-provided strings, and forms Qubes' device_id; it takes for
 * a bus id exactly what the control codec takes for one. After a reset,
 * the device at the port is accepted only with the same VID, PID,
 * bcdDevice, class and strings (another device number is fine), and is
 * "not back yet" while its directory is incomplete.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_codec.h"
#include "usbdev.h"
#include "unit_main.h"

static char root[64];

static void
put(const char *rel, const char *val)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(val, f);
	fclose(f);
}

static const char *
path_of(const char *rel)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return path;
}

static void
make_device(const char *serial)
{
	char path[256];

	strcpy(root, "/tmp/usbdev-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	strcat(root, "/2-1.4");
	ck_assert_int_eq(mkdir(root, 0755), 0);
	put("idVendor", "1209\n");
	put("idProduct", "0001\n");
	put("bcdDevice", "0601\n");
	put("bDeviceClass", "00\n");
	put("busnum", "2\n");
	put("devnum", "7\n");
	put("speed", "480\n");
	put("manufacturer", "ACME\x01 Corp\n");
	put("product", "Stick\n");
	if (serial != NULL)
		put("serial", serial);
	/* interfaces out of order, as readdir may return them */
	snprintf(path, sizeof(path), "%s/2-1.4:1.1", root);
	mkdir(path, 0755);
	put("2-1.4:1.1/bInterfaceNumber", "01\n");
	put("2-1.4:1.1/bInterfaceClass", "03\n");
	put("2-1.4:1.1/bInterfaceSubClass", "00\n");
	put("2-1.4:1.1/bInterfaceProtocol", "00\n");
	snprintf(path, sizeof(path), "%s/2-1.4:1.0", root);
	mkdir(path, 0755);
	put("2-1.4:1.0/bInterfaceNumber", "00\n");
	put("2-1.4:1.0/bInterfaceClass", "08\n");
	put("2-1.4:1.0/bInterfaceSubClass", "06\n");
	put("2-1.4:1.0/bInterfaceProtocol", "50\n");
}

START_TEST(identity_is_read_from_sysfs)
{
	struct usbdev d;
	char id[256], desc[256];

	make_device("0123 ABC/x\n");
	ck_assert_int_eq(usbdev_from_syspath(root, &d), USBDEV_OK);
	ck_assert_str_eq(d.busid, "2-1.4");
	ck_assert_uint_eq(d.vid, 0x1209);
	ck_assert_uint_eq(d.pid, 0x0001);
	ck_assert_int_eq(d.speed_mbps, 480);
	ck_assert_str_eq(d.devnode, "/dev/bus/usb/002/007");
	ck_assert_int_eq(d.niface, 2);
	ck_assert_uint_eq(d.iface[0].number, 0);
	ck_assert_uint_eq(d.iface[0].cls, 0x08);
	/* control characters from the device never pass through */
	ck_assert_str_eq(d.manufacturer, "ACME_ Corp");
	usbdev_device_id(&d, id, sizeof(id));
	ck_assert_str_eq(id, "1209:0001:0123_ABC_x:u080650u030000");
	usbdev_description(&d, desc, sizeof(desc));
	ck_assert_str_eq(desc, "ACME_ Corp Stick");
}
END_TEST

START_TEST(missing_serial_gives_empty_field)
{
	struct usbdev d;
	char id[256];

	make_device(NULL);
	ck_assert_int_eq(usbdev_from_syspath(root, &d), USBDEV_OK);
	usbdev_device_id(&d, id, sizeof(id));
	ck_assert_str_eq(id, "1209:0001::u080650u030000");
}
END_TEST

/*
 * Mid-reset a device's attributes or interfaces may not read, so it drops
 * out of a scan; its directory and device number tell it is still there.
 */
START_TEST(devnum_tells_a_device_still_there_from_a_gone_one)
{
	char gone[300];

	make_device(NULL);
	unlink(path_of("idVendor"));	/* unreadable for a moment */
	ck_assert_int_eq(usbdev_devnum_is(root, 7), 1);
	ck_assert_int_eq(usbdev_devnum_is(root, 8), 0);
	snprintf(gone, sizeof(gone), "%s-gone", root);
	ck_assert_int_eq(usbdev_devnum_is(gone, 7), 0);
}
END_TEST

/*
 * During a port reset the kernel shows address 0 until it sets the address
 * again: the soak saw a scan take 0 for a new device number and end the
 * session of a device that never left.
 */
START_TEST(address_zero_is_mid_reset_not_another_device)
{
	struct usbdev d;

	make_device(NULL);
	put("devnum", "0\n");
	ck_assert_int_eq(usbdev_from_syspath(root, &d), USBDEV_E_NOTFOUND);
	ck_assert_int_eq(usbdev_devnum_is(root, 7), 1);
	put("devnum", "7\n");
	ck_assert_int_eq(usbdev_from_syspath(root, &d), USBDEV_OK);
	ck_assert_int_eq(d.devnum, 7);
}
END_TEST

START_TEST(not_a_device_is_refused)
{
	struct usbdev d;

	strcpy(root, "/tmp/usbdev-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(usbdev_from_syspath(root, &d), USBDEV_E_NOTFOUND);
}
END_TEST

static const char *const bad_selectors[] = {
	"", "1", "1-", "-1", "1-1.", "1-1..2", "12345", "1209", "1209:",
	"120:0001", "12090:0001", "1209:00011", "xyz1:0001", "1209:0001:",
};

START_TEST(malformed_selector_is_refused)
{
	struct usbdev d;
	int rc = usbdev_resolve(bad_selectors[_i], &d, NULL, NULL);

	/* "1209:0001:" names an empty serial: a valid, if unlikely, form */
	if (strcmp(bad_selectors[_i], "1209:0001:") == 0)
		ck_assert_int_ne(rc, USBDEV_E_SELECTOR);
	else
		ck_assert_msg(rc == USBDEV_E_SELECTOR, "'%s' gave %d",
		    bad_selectors[_i], rc);
}
END_TEST

/*
 * Bus ids on which the backend (any digits, any depth) and the control
 * codec (1..3 digits, 7 tiers) disagreed before both used ident.h, and
 * some they always shared. want is the one answer both must give now.
 */
static const struct {
	const char *busid;
	int want;
} shared_busids[] = {
	{ "1-1234", 0 },		/* backend took it, codec refused */
	{ "1-1.2.3.4.5.6.7.8.9", 0 },	/* the same, by depth */
	{ "12345-1", 0 },		/* the same, by bus */
	{ "0-1", 0 },			/* both took it; no bus 0 */
	{ "1-0", 0 },			/* both took it; no port 0 */
	{ "1-02", 0 },			/* both took it; Linux never says so */
	{ "1-2", 1 },
	{ "2-1.4", 1 },
	{ "3-1.1.1.1.1.1.1", 1 },
};

START_TEST(backend_and_codec_agree_on_bus_ids)
{
	const char *busid = shared_busids[_i].busid;
	int want = shared_busids[_i].want;
	struct usbdev d;
	char dir[64];
	int rc;

	ck_assert_int_eq(ctl_str_valid(busid, CTL_CS_BUSID), want);

	/* As a sysfs directory name: a device, or none of ours. */
	strcpy(dir, "/tmp/usbdev-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/%s", dir, busid);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	put("idVendor", "1209\n");
	put("busnum", "1\n");
	put("devnum", "2\n");
	rc = usbdev_from_syspath(root, &d);
	ck_assert_msg((rc == USBDEV_OK) == want, "%s: gave %d", busid, rc);
	if (want)
		ck_assert_str_eq(d.busid, busid);

	/* As a selector: a bus id, or malformed (it is no VID:PID). */
	rc = usbdev_resolve(busid, &d, NULL, NULL);
	ck_assert_msg((rc != USBDEV_E_SELECTOR) == want, "%s: gave %d", busid,
	    rc);

	snprintf(root, sizeof(root), "%s/%s/idVendor", dir, busid);
	unlink(root);
	snprintf(root, sizeof(root), "%s/%s", dir, busid);
	rmdir(root);
	rmdir(dir);
}
END_TEST

/* What answers at the port after a reset must be the device that was reset. */
START_TEST(recheck_after_reset)
{
	static const struct { const char *file, *value; } changes[] = {
		{ "serial", "OTHER\n" },
		{ "idProduct", "0002\n" },
		{ "idVendor", "1234\n" },
		{ "bcdDevice", "0602\n" },
		{ "bDeviceClass", "ff\n" },
		{ "product", "Bootloader\n" },
		{ "manufacturer", "Evil\n" },
	};
	struct usbdev before, now;
	size_t i;

	make_device("SER1\n");
	ck_assert_int_eq(usbdev_from_syspath(root, &before), USBDEV_OK);
	/* Re-enumerated under another device number: the same device. */
	put("devnum", "9\n");
	ck_assert_int_eq(usbdev_recheck(&before, &now), USBDEV_OK);
	ck_assert_int_eq(now.devnum, 9);
	ck_assert_str_eq(now.devnode, "/dev/bus/usb/002/009");
	for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		char old[64];
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", root, changes[i].file);
		ck_assert_ptr_nonnull(f = fopen(path, "r"));
		ck_assert_ptr_nonnull(fgets(old, sizeof(old), f));
		fclose(f);
		put(changes[i].file, changes[i].value);
		ck_assert_msg(usbdev_recheck(&before, &now) == USBDEV_E_CHANGED,
		    "%s changed unnoticed", changes[i].file);
		put(changes[i].file, old);
		ck_assert_int_eq(usbdev_recheck(&before, &now), USBDEV_OK);
	}
	ck_assert_str_eq(usbdev_strerror(USBDEV_E_CHANGED),
	    "another device answers at the port");
	/* Not back yet. */
	unlink(path_of("idVendor"));
	ck_assert_int_eq(usbdev_recheck(&before, &now), USBDEV_E_NOTFOUND);
}
END_TEST

START_TEST(speed_names)
{
	ck_assert_str_eq(usbdev_speed_name(1), "low");
	ck_assert_str_eq(usbdev_speed_name(480), "high");
	ck_assert_str_eq(usbdev_speed_name(5000), "super");
	ck_assert_str_eq(usbdev_speed_name(7), "unknown");
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("usbdev");
	TCase *tc = tcase_create("usbdev");

	tcase_add_test(tc, identity_is_read_from_sysfs);
	tcase_add_test(tc, missing_serial_gives_empty_field);
	tcase_add_test(tc, not_a_device_is_refused);
	tcase_add_test(tc, devnum_tells_a_device_still_there_from_a_gone_one);
	tcase_add_test(tc, address_zero_is_mid_reset_not_another_device);
	tcase_add_loop_test(tc, malformed_selector_is_refused, 0,
	    sizeof(bad_selectors) / sizeof(bad_selectors[0]));
	tcase_add_loop_test(tc, backend_and_codec_agree_on_bus_ids, 0,
	    sizeof(shared_busids) / sizeof(shared_busids[0]));
	tcase_add_test(tc, speed_names);
	tcase_add_test(tc, recheck_after_reset);
	suite_add_tcase(s, tc);
	return s;
}
