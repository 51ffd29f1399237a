/*
 * ident.h: how every usbgate program names a USB device and a VM.
 *
 * Owns the one rule set for the names that cross a trust boundary: bus id
 * (where a device is plugged), VM and backend names, the character classes
 * of the control protocol's strings, Qubes' device_id (what a device says
 * it is) and USBGuard's descriptor hash (what it is, byte for byte). The
 * backend, the frontend, the control codec, the policy library and the
 * dom0 tools all ask here, so a name one of them accepts is accepted by
 * all of them.
 *
 * A leaf: no allocation, no I/O, nothing from proto/ or policy/. All
 * functions are pure.
 */
#ifndef USBGATE_IDENT_H
#define USBGATE_IDENT_H

#include <stddef.h>
#include <stdint.h>

#define IDENT_NAME_MAX		31	/* VM or backend name (Qubes: 31) */
#define IDENT_BUSID_MAX		31	/* longest bus id, without the NUL */
#define IDENT_BUSID_TIERS	7	/* port numbers in a bus id, at most */
#define IDENT_HASH_LEN		32	/* SHA-256 */

/* Qubes' device_id of a device nothing is known about. */
#define IDENT_DEVID_UNKNOWN	"0000:0000::?******"

/*
 * Character classes. Every string that crosses a trust boundary has one;
 * NAME and BUSID are structural (a syntax, not just an alphabet).
 */
enum ident_charset {
	IDENT_CS_NAME,	/* VM/backend name: [A-Za-z][A-Za-z0-9_.-]*, 1..31 */
	IDENT_CS_BUSID,	/* USB port as Linux names it, see ident_busid_valid */
	IDENT_CS_PRINT,	/* printable ASCII 0x20..0x7e */
	IDENT_CS_TOKEN,	/* printable ASCII without space 0x21..0x7e */
	IDENT_CS_KEY,	/* [a-z0-9_-] */
};

/* 1 if s is a non-empty member of the class. */
int ident_str_valid(const char *s, enum ident_charset cs);
/* Same, but the empty string is accepted too. */
int ident_str_valid_or_empty(const char *s, enum ident_charset cs);
/*
 * Replace every character outside cs (PRINT, TOKEN or KEY only; NAME and
 * BUSID cannot be repaired and are left alone) with '_'.
 */
void ident_str_scrub(char *s, enum ident_charset cs);

/*
 * A bus id as the Linux USB core names a device: BUS-PORT[.PORT]..., e.g.
 * "1-2" (a root port of bus 1) or "2-1.4.3" (behind two hubs). The bus
 * number is 1..255 (libusb's uint8_t), each port number 1..255 (a hub has
 * at most 255 ports), all in decimal without leading zeros; at most
 * IDENT_BUSID_TIERS port numbers (USB 2.0 4.1.1 allows five hubs between
 * the root hub and a function; one tier of slack). Root hubs ("usb1") and
 * interfaces ("1-2:1.0") are not bus ids.
 */
int ident_busid_valid(const char *s);

/* A VM or backend name (IDENT_CS_NAME). */
int ident_name_valid(const char *s);

/* Value of one hex digit (either case), or -1. */
int ident_hexval(int ch);
/* Exactly four hex digits at s (either case) into *v; 1 if they were. */
int ident_hex4(const char *s, uint16_t *v);

/* A character a device_id keeps in a serial: [A-Za-z0-9._+-]. */
int ident_serial_char_ok(int ch);

/* An interface's class, subclass and protocol. */
struct ident_iface {
	uint8_t cls, subcls, proto;
};

/* "u" + class, subclass, protocol in lowercase hex: "u030101". */
void ident_iface_code(const struct ident_iface *ifc, char buf[8]);

/*
 * Qubes R4.3's device_id VID:PID:SERIAL:IFACES, e.g.
 * 1050:0407:0001234567:u030101u0b0000. Serial characters outside
 * ident_serial_char_ok become '_' so the id stays one colon-separated
 * token; interface codes are listed once each, in the order given (as
 * udev's ID_USB_INTERFACES). A device with VID, PID and interfaces all
 * unknown (zero) gets IDENT_DEVID_UNKNOWN. Returns the length of the whole
 * id, as snprintf does: it was cut short if that is >= size.
 */
size_t ident_device_id(uint16_t vid, uint16_t pid, const char *serial,
    const struct ident_iface *ifs, size_t n_ifs, char *buf, size_t size);

/*
 * USBGuard's device hash: SHA-256 over product, VID and PID as four
 * lowercase hex digits, serial, then the raw descriptors (device
 * descriptor followed by every configuration descriptor, i.e. the sysfs
 * "descriptors" file), concatenated without separators. A Linux root hub
 * (ident_is_root_hub) is hashed with its device descriptor's bcdDevice (the
 * kernel's version) as zero, as USBGuard does, so its hash, which is the
 * parent-hash of every device on its ports, survives a kernel update.
 */
void ident_hash_usbguard(const char *product, uint16_t vid, uint16_t pid,
    const char *serial, const void *descriptors, size_t len,
    uint8_t out[IDENT_HASH_LEN]);

/*
 * How a device's port is wired, as the kernel's port/connect_type says it
 * (ACPI or device tree) and USBGuard's with-connect-type matches it: the
 * text itself, "" when the port has no such attribute.
 */
enum ident_connect {
	IDENT_CONNECT_NONE = 0,		/* "" */
	IDENT_CONNECT_HOTPLUG = 1,	/* "hotplug": a port a user reaches */
	IDENT_CONNECT_HARDWIRED = 2,	/* "hardwired": soldered on */
	IDENT_CONNECT_NOT_USED = 3,	/* "not used" */
	IDENT_CONNECT_UNKNOWN = 4,	/* "unknown": firmware does not say */
};
#define IDENT_CONNECT__MAX	4

/* The text of a connect type ("" for NONE), NULL if out of range. */
const char *ident_connect_name(int ct);
/* The connect type of a text, -1 if the kernel never writes it. */
int ident_connect_parse(const char *s);

/* 1 if the descriptors start with a Linux root hub's device descriptor
 * (VID 1d6b, PID 0001..0003). */
int ident_is_root_hub(const void *descriptors, size_t len);

#endif
