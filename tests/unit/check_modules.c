/*
 * check_modules.c: before a session takes a device, the backend loads the
 * modules of its interfaces through modprobe and returns only once they
 * are live, so that no driver finishing its load can take an interface
 * while the confined session has it released for a reset. A modalias not
 * of the kernel's USB format never reaches modprobe; a module stuck in its
 * init ends the wait at the deadline. modprobe and /sys/module are
 * stand-ins in a temporary directory with the real ones' answers (-R
 * prints module names with '-', initstate "coming" then "live").
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "modules.h"
#include "unit_main.h"

#define STORAGE "usb:v1209p0001d0100dc00dsc00dp00ic08isc06ip50in00"

static char dir[64], dev[128], mods[128], calls[128], probe[128];

static void
put(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(val, f);
	fclose(f);
}

/* An interface directory of device 1-1 with this modalias file. */
static void
iface(const char *name, const char *alias)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dev, name);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	strcat(path, "/modalias");
	put(path, alias);
}

/*
 * The stand-in modprobe: logs its arguments; -R answers for the storage
 * alias; a load puts usb_storage in its init for init_s seconds (forever
 * if negative) and uas live at once.
 */
static void
setup_with(const char *init)
{
	char script[1024];

	strcpy(dir, "/tmp/modules-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dev, sizeof(dev), "%s/1-1", dir);
	snprintf(mods, sizeof(mods), "%s/module", dir);
	snprintf(calls, sizeof(calls), "%s/calls", dir);
	snprintf(probe, sizeof(probe), "%s/modprobe", dir);
	ck_assert_int_eq(mkdir(dev, 0755), 0);
	ck_assert_int_eq(mkdir(mods, 0755), 0);
	snprintf(script, sizeof(script),
	    "#!/bin/sh\n"
	    "echo \"$*\" >>%s\n"
	    "case $1 in\n"
	    "-R) [ \"$4\" = %s ] || exit 1; echo usb-storage; echo uas ;;\n"
	    "-b) mkdir -p %s/usb_storage %s/uas\n"
	    "    echo live >%s/uas/initstate\n"
	    "    echo coming >%s/usb_storage/initstate\n"
	    "    %s ;;\n"
	    "esac\n", calls, STORAGE, mods, mods, mods, mods, init);
	put(probe, script);
	ck_assert_int_eq(chmod(probe, 0755), 0);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* What modprobe was called with, "" if never. */
static const char *
called(void)
{
	static char buf[1024];
	FILE *f = fopen(calls, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static const char *
state(const char *name)
{
	static char buf[32];
	char path[256];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s/initstate", mods, name);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

START_TEST(returns_once_the_modules_loaded_for_it_are_live)
{
	struct mod_env env;
	char names[64];
	int ms;

	setup_with("(sleep 0.3; echo live >" "\"$(dirname \"$0\")\"/module/usb_storage/initstate) &");
	env = (struct mod_env){ .modprobe = probe, .sys_module = mods };
	iface("1-1:1.0", STORAGE "\n");
	ck_assert_int_eq(mod_settle(dev, "1-1", &env, names, sizeof(names),
	    &ms), MOD_OK);
	/* the module's init was still running when modprobe returned */
	ck_assert_str_eq(state("usb_storage"), "live\n");
	ck_assert_str_eq(names, "usb_storage uas");
	ck_assert_int_ge(ms, 250);
	ck_assert_str_eq(called(), "-R -q -- " STORAGE "\n"
	    "-b -q -- " STORAGE "\n");
	teardown();
}
END_TEST

START_TEST(live_modules_are_not_loaded_again)
{
	struct mod_env env;
	char names[64], path[256];
	int ms;

	setup_with(":");
	env = (struct mod_env){ .modprobe = probe, .sys_module = mods };
	iface("1-1:1.0", STORAGE "\n");
	iface("1-1:1.1", STORAGE "\n");
	snprintf(path, sizeof(path), "%s/usb_storage", mods);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	strcat(path, "/initstate");
	put(path, "live\n");
	/* uas built in: a directory without initstate */
	snprintf(path, sizeof(path), "%s/uas", mods);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(mod_settle(dev, "1-1", &env, names, sizeof(names),
	    &ms), MOD_OK);
	ck_assert_int_eq(ms, 0);
	ck_assert_str_eq(names, "usb_storage uas");
	ck_assert_str_eq(called(), "-R -q -- " STORAGE "\n"
	    "-R -q -- " STORAGE "\n");
	teardown();
}
END_TEST

/* modaliases that are not the kernel's USB format */
static const char *const odd[] = {
	"-b\n",
	"usb:v1209;reboot\n",
	"usb:v1209 p0001\n",
	"pci:v00008086d00001234\n",
	"usb:\n",
	"usb:v1209p0001d0100dc00dsc00dp00ic08isc06ip50in00"
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    "0000000000000000\n",
};

START_TEST(odd_modalias_never_reaches_modprobe)
{
	struct mod_env env;
	char names[64];
	int ms;

	setup_with(":");
	env = (struct mod_env){ .modprobe = probe, .sys_module = mods };
	iface("1-1:1.0", odd[_i]);
	/* another device's interface and the device's own files: not ours */
	iface("1-10:1.0", STORAGE "\n");
	put(strcat(strcpy((char[256]){ 0 }, dev), "/modalias"), STORAGE);
	ck_assert_int_eq(mod_settle(dev, "1-1", &env, names, sizeof(names),
	    &ms), MOD_OK);
	ck_assert_str_eq(called(), "");
	ck_assert_str_eq(names, "");
	teardown();
}
END_TEST

START_TEST(module_stuck_in_its_init_ends_the_wait_at_the_deadline)
{
	struct mod_env env;
	char names[64];
	long t0;
	int ms;

	setup_with(":");
	env = (struct mod_env){ .modprobe = probe, .sys_module = mods,
	    .timeout_ms = 300 };
	iface("1-1:1.0", STORAGE "\n");
	t0 = mono_ms();
	ck_assert_int_eq(mod_settle(dev, "1-1", &env, names, sizeof(names),
	    &ms), MOD_E_TIMEOUT);
	ck_assert_int_ge(mono_ms() - t0, 300);
	ck_assert_str_eq(state("usb_storage"), "coming\n");
	teardown();
}
END_TEST

START_TEST(without_modprobe_nothing_is_waited_for)
{
	struct mod_env env;
	char names[64];
	int ms;

	setup_with(":");
	env = (struct mod_env){ .modprobe = "/nonexistent/modprobe",
	    .sys_module = mods };
	iface("1-1:1.0", STORAGE "\n");
	ck_assert_int_eq(mod_settle(dev, "1-1", &env, names, sizeof(names),
	    &ms), MOD_OK);
	ck_assert_int_eq(ms, 0);
	ck_assert_str_eq(names, "");
	teardown();
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("modules");
	TCase *tc = tcase_create("modules");

	tcase_add_test(tc, returns_once_the_modules_loaded_for_it_are_live);
	tcase_add_test(tc, live_modules_are_not_loaded_again);
	tcase_add_loop_test(tc, odd_modalias_never_reaches_modprobe, 0,
	    (int)(sizeof(odd) / sizeof(odd[0])));
	tcase_add_test(tc, module_stuck_in_its_init_ends_the_wait_at_the_deadline);
	tcase_add_test(tc, without_modprobe_nothing_is_waited_for);
	suite_add_tcase(s, tc);
	return s;
}
