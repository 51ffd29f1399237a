/*
 * check_vhci_sysfs.c: the frontend reads vhci_hcd's status files and, when
 * an import ends, detaches only a port that still carries the import's own
 * devid. The sysfs tree is a scratch directory (USBGATE_VHCI_ROOT) holding
 * status files in the kernel's format and a detach file that records what
 * was written to it.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhci_sysfs.h"
#include "unit_main.h"

static char root[64];

static void
put(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static const char *
detach_written(void)
{
	static char buf[64];
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/detach", root);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* vhci's status: port 0 carries devid a, port 1 devid b, port 8 is free. */
static void
status(uint32_t a, uint32_t b)
{
	char text[512];

	snprintf(text, sizeof(text),
	    "hub port sta spd dev      sockfd local_busid\n"
	    "hs  0000 006 003 %08x 000003 3-1\n"
	    "hs  0001 006 002 %08x 000004 3-2\n"
	    "ss  0008 004 000 00000000 000000 0-0\n", a, b);
	put("status", text);
	put("detach", "");
}

static void
setup(void)
{
	snprintf(root, sizeof(root), "/tmp/check_vhci.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	setenv("USBGATE_VHCI_ROOT", root, 1);
}

static void
teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/status", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/detach", root);
	unlink(path);
	rmdir(root);
}

START_TEST(status_lines_parse)
{
	struct vhci_port p;

	status(0xfe001234, 0x00010002);
	ck_assert_int_eq(vhci_port_info(1, &p), VHCI_OK);
	ck_assert_int_eq(p.status, VHCI_ST_USED);
	ck_assert_uint_eq(p.devid, 0x00010002);
	ck_assert_str_eq(p.busid, "3-2");
	ck_assert_int_eq(vhci_port_info(8, &p), VHCI_OK);
	ck_assert(p.ss);
	ck_assert_int_eq(p.status, VHCI_ST_NULL);
	ck_assert_int_eq(vhci_port_info(5, &p), VHCI_E_NOPORT);
}
END_TEST

START_TEST(each_import_has_its_own_devid)
{
	/* Two imports alive at once are two processes. */
	ck_assert_uint_ne(vhci_import_devid(1000), vhci_import_devid(1001));
	ck_assert_uint_ne(vhci_import_devid(1000),
	    vhci_import_devid(1000 + 0x10000));
}
END_TEST

START_TEST(own_port_is_detached)
{
	uint32_t mine = vhci_import_devid(4242);

	status(mine, vhci_import_devid(4343));
	ck_assert_int_eq(vhci_detach_own(0, mine), 1);
	ck_assert_str_eq(detach_written(), "0");
}
END_TEST

/*
 * vhci freed our port when our session died, and another import (another
 * process) took it before our cleanup ran: that port is not ours.
 */
START_TEST(port_taken_by_another_import_is_left_alone)
{
	uint32_t mine = vhci_import_devid(4242);

	status(vhci_import_devid(4343), vhci_import_devid(4444));
	ck_assert_int_eq(vhci_detach_own(0, mine), 0);
	ck_assert_int_eq(vhci_detach_own(1, mine), 0);
	ck_assert_str_eq(detach_written(), "");
}
END_TEST

START_TEST(free_or_missing_port_is_left_alone)
{
	status(0x00010002, 0x00010003);
	ck_assert_int_eq(vhci_detach_own(8, 0), 0);
	ck_assert_int_eq(vhci_detach_own(9, vhci_import_devid(1)), 0);
	ck_assert_str_eq(detach_written(), "");
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("vhci_sysfs");
	TCase *tc = tcase_create("status");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, status_lines_parse);
	tcase_add_test(tc, each_import_has_its_own_devid);
	tcase_add_test(tc, own_port_is_detached);
	tcase_add_test(tc, port_taken_by_another_import_is_left_alone);
	tcase_add_test(tc, free_or_missing_port_is_left_alone);
	suite_add_tcase(s, tc);
	return s;
}
