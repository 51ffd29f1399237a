/*
 * usbdev.h: the USB devices sys-usb could export, as libudev and sysfs show
 * them, and how a selector on the command line names one of them.
 *
 * Owns: discovery (libudev enumeration; hubs, devices behind vhci_hcd and
 * devices udev marked USBGATE_EXPORT=0 are never offered), the identity
 * strings (bus id, VID:PID, Qubes' device_id with one 7-character code per
 * interface), and selector resolution (bus id, VID:PID, VID:PID:SERIAL).
 */
#ifndef USBGATE_USBDEV_H
#define USBGATE_USBDEV_H

#include <stddef.h>
#include <stdint.h>

#define USBDEV_MAX_IFACES	32
#define USBDEV_STR_MAX		128

enum usbdev_error {
	USBDEV_OK = 0,
	USBDEV_E_UDEV = -1,		/* libudev failed */
	USBDEV_E_NOTFOUND = -2,		/* no device matches the selector */
	USBDEV_E_AMBIGUOUS = -3,	/* several devices match */
	USBDEV_E_SELECTOR = -4,		/* malformed selector */
	USBDEV_E_NOMEM = -5,
	USBDEV_E_CHANGED = -6,		/* another device at the port now */
	USBDEV_E__COUNT = 7
};

const char *usbdev_strerror(int err);

struct usbdev_iface {
	uint8_t number;
	uint8_t cls, subcls, proto;
};

struct usbdev {
	char busid[32];		/* "1-1", "2-1.4" */
	char syspath[256];
	char devnode[64];	/* /dev/bus/usb/BBB/DDD */
	int busnum, devnum;
	uint16_t vid, pid, bcd;
	uint8_t cls, subcls, proto;
	int speed_mbps;		/* 1 (1.5), 12, 480, 5000, 10000, 20000 */
	char manufacturer[USBDEV_STR_MAX];
	char product[USBDEV_STR_MAX];
	char serial[USBDEV_STR_MAX];
	int niface;
	struct usbdev_iface iface[USBDEV_MAX_IFACES];
	int export_ok;		/* 0 when udev set USBGATE_EXPORT=0 */
	int reset_on_attach;	/* udev USBGATE_RESET_ON_ATTACH=1 */
	char auto_attach[64];	/* udev USBGATE_AUTO_ATTACH=VM (a request) */
};

/*
 * List exportable devices. *out is an array of *count entries to free with
 * free(). Root hubs, hubs and devices on vhci_hcd are skipped; devices with
 * USBGATE_EXPORT=0 are skipped unless include_hidden.
 */
int usbdev_list(struct usbdev **out, size_t *count, int include_hidden);

/*
 * Read one device from its sysfs path (also used after re-enumeration).
 * USBDEV_E_NOTFOUND unless the directory is named by a bus id (ident.h), or
 * while the device is at address 0 (a port reset is under way).
 */
int usbdev_from_syspath(const char *syspath, struct usbdev *out);

/* 1 if the sysfs device directory syspath exists and has device number
 * devnum, or 0 (mid-reset): the same device, whatever else cannot be read
 * for a moment. Else 0. */
int usbdev_devnum_is(const char *syspath, int devnum);

/*
 * After a reset: read what is now at before's port into now and check that
 * it is the same device (VID, PID, bcdDevice, device class, manufacturer,
 * product and serial; the device number may change). USBDEV_E_NOTFOUND
 * while it is not back, USBDEV_E_CHANGED if another device answers.
 */
int usbdev_recheck(const struct usbdev *before, struct usbdev *now);

/*
 * Resolve a selector: a bus id ("1-1", ident.h's rule), "VID:PID" or
 * "VID:PID:SERIAL".
 * On USBDEV_E_AMBIGUOUS / USBDEV_E_NOTFOUND, *cands (if not NULL) gets the
 * candidate list for the error message (free() it).
 */
int usbdev_resolve(const char *sel, struct usbdev *out, struct usbdev **cands,
    size_t *ncands);

/* Qubes' device_id, as ident_device_id() forms it (cut to len). */
void usbdev_device_id(const struct usbdev *d, char *buf, size_t len);

/* "480" style speed to text ("high"). */
const char *usbdev_speed_name(int mbps);

/* A printable one-line description: "manufacturer product". */
void usbdev_description(const struct usbdev *d, char *buf, size_t len);

#endif
