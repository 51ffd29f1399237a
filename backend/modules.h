/*
 * modules.h: sys-usb's kernel modules for a device's interfaces, loaded
 * and live before a session takes the device.
 *
 * Why: a driver whose module finishes loading binds to every unbound
 * interface it matches (its init registers it, the driver core attaches
 * it). A confined session leaves its interfaces unbound for the length of
 * each device reset (libusb releases them so that the kernel does not
 * rebind them, then claims them again), and, its usbfs file having dropped
 * its privileges, cannot take back an interface a driver took meanwhile:
 * the reset fails and the session with it ("could not claim the device").
 * The plug's own module load (udev or the hotplug helper) runs beside the
 * first session after a plug. Seen under load: usb-storage registered
 * while usbredirhost's first reset had interface 0 released.
 *
 * So the privileged half loads the modules of every interface itself, as
 * udev would (modprobe -b: blacklists are honoured), and waits until each
 * is live (its init, and with it the binding, done) before confine.c
 * detaches what bound and claims the interfaces.
 */
#ifndef USBGATE_MODULES_H
#define USBGATE_MODULES_H

#include <stddef.h>

#define MOD_ALIAS_MAX	128	/* "usb:v1209p0001d0100dc00dsc00dp00ic08..." */
#define MOD_NAME_MAX	56	/* the kernel's MODULE_NAME_LEN */
#define MOD_NAMES_MAX	8	/* modules one alias resolves to */

enum mod_error {
	MOD_OK = 0,
	MOD_E_TIMEOUT = -1,	/* a module still loading at the deadline */
	MOD_E_SPAWN = -2,	/* modprobe could not be run */
	MOD_E__COUNT = 3
};

const char *mod_strerror(int err);

/* Where the kernel's pieces are; NULL members take the system's. */
struct mod_env {
	const char *modprobe;	/* default: /proc/sys/kernel/modprobe's */
	const char *sys_module;	/* default: /sys/module */
	int timeout_ms;		/* the whole wait; 0: 10 s */
};

/*
 * Load the modules of each interface of the device at syspath (bus id
 * busid) and wait until they are live. names gets the modules found, space
 * separated; *waited_ms how long the wait for modules not live yet took.
 * An interface whose modalias is not the kernel's USB format is skipped
 * (logged), as is a module that does not load (blacklisted, none).
 */
int mod_settle(const char *syspath, const char *busid,
    const struct mod_env *env, char *names, size_t names_len,
    int *waited_ms);

/*
 * The sanitize steps, for the fuzz target. mod_alias_sanitize: untrusted
 * (n bytes of a modalias file, a trailing newline allowed) into alias if
 * it is the kernel's USB format, "usb:" and letters and digits, at most
 * MOD_ALIAS_MAX and shorter than len; 0, or -1. mod_names_parse: out, a
 * NUL-terminated answer of `modprobe -R` (cut in place), into the module
 * names it lists one per line, as /sys/module names them ('-' read as
 * '_'), lines of other characters skipped; how many, at most
 * MOD_NAMES_MAX.
 */
int mod_alias_sanitize(const char *untrusted, size_t n, char *alias,
    size_t len);
int mod_names_parse(char *out, char names[][MOD_NAME_MAX]);

#endif /* USBGATE_MODULES_H */
