/*
 * check_backend_dev.c: what sys-usb says of a device in DEV_ADD, read from
 * a sysfs tree built here in the kernel's layout (a root hub, a device on
 * its port 1): the parent-hash is USBGuard's hash of the hub, computed in
 * this file from the same files with SHA-256 (the root hub's bcdDevice
 * hashed as zero), and the connect type is the port's connect_type. A hub
 * that cannot be read, or a connect type the kernel never writes, is not
 * reported (no flag, zeros), so dom0 fails closed; a port without the
 * attribute is "" as USBGuard reads it.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "sha256.h"
#include "unit_main.h"

static char top[64], hub[128], dev[160];

/* The root hub's descriptors: device (bcdDevice 6.15), one hub config. */
static const uint8_t hub_desc[] = {
	18, 0x01, 0x00, 0x02, 0x09, 0x00, 0x01, 0x40,
	0x6b, 0x1d, 0x02, 0x00, 0x15, 0x06, 0x03, 0x02, 0x01, 0x01,
	9, 0x02, 25, 0, 1, 1, 0, 0xe0, 0,
	9, 0x04, 0, 0, 1, 0x09, 0, 0, 0,
	7, 0x05, 0x81, 0x03, 4, 0, 12,
};

/* A storage device: device, config, interface 08:06:50, two bulk EPs. */
static const uint8_t dev_desc[] = {
	18, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40,
	0x09, 0x12, 0x01, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01,
	9, 0x02, 32, 0, 1, 1, 0, 0x80, 50,
	9, 0x04, 0, 0, 2, 0x08, 0x06, 0x50, 0,
	7, 0x05, 0x81, 0x02, 0x00, 0x02, 0,
	7, 0x05, 0x02, 0x02, 0x00, 0x02, 0,
};

static void
put(const char *dir, const char *name, const void *val, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(val, 1, len, f), len);
	fclose(f);
}

static void
puts_(const char *dir, const char *name, const char *val)
{
	put(dir, name, val, strlen(val));
}

/* top/usb2 (the root hub), top/usb2/2-1 (the device), its port. */
static void
make_tree(const char *connect_type)
{
	char path[256];

	strcpy(top, "/tmp/backend-dev-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(hub, sizeof(hub), "%s/usb2", top);
	snprintf(dev, sizeof(dev), "%s/2-1", hub);
	ck_assert_int_eq(mkdir(hub, 0755), 0);
	ck_assert_int_eq(mkdir(dev, 0755), 0);
	puts_(hub, "idVendor", "1d6b\n");
	puts_(hub, "idProduct", "0002\n");
	puts_(hub, "product", "EHCI Host Controller\n");
	puts_(hub, "serial", "0000:00:1d.0\n");
	put(hub, "descriptors", hub_desc, sizeof(hub_desc));

	puts_(dev, "idVendor", "1209\n");
	puts_(dev, "idProduct", "0001\n");
	puts_(dev, "bcdDevice", "0100\n");
	puts_(dev, "bDeviceClass", "00\n");
	puts_(dev, "busnum", "2\n");
	puts_(dev, "devnum", "3\n");
	puts_(dev, "speed", "480\n");
	puts_(dev, "product", "Stick\n");
	puts_(dev, "serial", "S1\n");
	puts_(dev, "bConfigurationValue", "1\n");
	put(dev, "descriptors", dev_desc, sizeof(dev_desc));
	snprintf(path, sizeof(path), "%s/2-1:1.0", dev);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	puts_(path, "bInterfaceNumber", "00\n");
	puts_(path, "bInterfaceClass", "08\n");
	puts_(path, "bInterfaceSubClass", "06\n");
	puts_(path, "bInterfaceProtocol", "50\n");
	if (connect_type != NULL) {
		snprintf(path, sizeof(path), "%s/port", dev);
		ck_assert_int_eq(mkdir(path, 0755), 0);
		puts_(path, "connect_type", connect_type);
	}
}

/* bd_describe() on the device; the tree is removed afterwards. */
static void
describe(struct ctl_dev *out)
{
	struct usbdev d;
	char cmd[128];

	ck_assert_int_eq(usbdev_from_syspath(dev, &d), USBDEV_OK);
	ck_assert_int_eq(bd_describe(&d, out), BD_OK);
	ck_assert(out->flags & CTL_DEV_F_HASH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(parent_hash_is_the_root_hubs_usbguard_hash)
{
	uint8_t in[sizeof("EHCI Host Controller" "1d6b" "0002"
	    "0000:00:1d.0") - 1 + sizeof(hub_desc)];
	uint8_t want[SHA256_DIGEST_LEN];
	size_t n = sizeof(in) - sizeof(hub_desc);
	struct ctl_dev out;

	memcpy(in, "EHCI Host Controller" "1d6b" "0002" "0000:00:1d.0", n);
	memcpy(in + n, hub_desc, sizeof(hub_desc));
	in[n + 12] = in[n + 13] = 0;	/* bcdDevice, the kernel's version */
	sha256(in, sizeof(in), want);

	make_tree("hotplug\n");
	describe(&out);
	ck_assert(out.flags & CTL_DEV_F_PARENT);
	ck_assert_mem_eq(out.parent_hash, want, sizeof(want));
	ck_assert(out.flags & CTL_DEV_F_CONNECT);
	ck_assert_uint_eq(out.connect_type, IDENT_CONNECT_HOTPLUG);
	/* What goes on the wire passes the verifier. */
	{
		struct ctl_msg m, back;

		ctl_msg_init(&m, CTL_MSG_DEV_ADD);
		m.u.dev = out;
		ck_assert_int_eq(ctl_msg_sanitize(&m, &back), CTL_OK);
	}
}
END_TEST

static const struct connect_case {
	const char *file;	/* port/connect_type, NULL: no port */
	int flag;
	int want;
} connect_cases[] = {
	{ "hardwired\n", 1, IDENT_CONNECT_HARDWIRED },
	{ "not used\n", 1, IDENT_CONNECT_NOT_USED },
	{ "unknown\n", 1, IDENT_CONNECT_UNKNOWN },
	{ NULL, 1, IDENT_CONNECT_NONE },	/* USBGuard: "" */
	{ "wired\n", 0, 0 },			/* never written: not said */
	{ "", 1, IDENT_CONNECT_NONE },
};

START_TEST(connect_type_is_the_ports)
{
	const struct connect_case *t = &connect_cases[_i];
	struct ctl_dev out;

	make_tree(t->file);
	describe(&out);
	ck_assert_int_eq((out.flags & CTL_DEV_F_CONNECT) != 0, t->flag);
	ck_assert_uint_eq(out.connect_type, t->want);
}
END_TEST

START_TEST(unreadable_hub_is_not_reported)
{
	static const uint8_t zero[CTL_HASH_LEN];
	struct ctl_dev out;
	char path[256];

	make_tree("hotplug\n");
	snprintf(path, sizeof(path), "%s/descriptors", hub);
	ck_assert_int_eq(unlink(path), 0);
	describe(&out);
	ck_assert(!(out.flags & CTL_DEV_F_PARENT));
	ck_assert_mem_eq(out.parent_hash, zero, sizeof(zero));
	ck_assert(out.flags & CTL_DEV_F_CONNECT);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("backend_dev");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parent_hash_is_the_root_hubs_usbguard_hash);
	tcase_add_loop_test(tc, connect_type_is_the_ports, 0,
	    sizeof(connect_cases) / sizeof(connect_cases[0]));
	tcase_add_test(tc, unreadable_hub_is_not_reported);
	suite_add_tcase(s, tc);
	return s;
}
