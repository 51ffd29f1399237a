/*
 * identity.h: what dom0 calls a USB device.
 *
 * Owns the policy view of a device (struct pol_device, filled by usbgated
 * from a sanitized DEV_ADD; the policy code never sees wire structs) and the
 * three ways to name it:
 *   port        BACKEND:BUSID, e.g. sys-usb:2-1 (where it is plugged);
 *   device_id   Qubes R4.3's VID:PID:SERIAL:IFACES, e.g.
 *               1050:0407:0001234567:u030101u0b0000 (what it says it is);
 *   hash        SHA-256 over strings and descriptors, as USBGuard computes
 *               it, printed in base64 (what it is, byte for byte);
 * and its human description "Category: vendor product". The rules for the
 * names themselves (bus id, VM name, device_id, hash) are common/ident.h's,
 * which the backend and the control codec use as well.
 *
 * All functions are pure; the usb.ids index is passed in (may be NULL).
 */
#ifndef USBGATE_POL_IDENTITY_H
#define USBGATE_POL_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "ident.h"
#include "usbids.h"

#define POL_NAME_MAX		IDENT_NAME_MAX
#define POL_BUSID_MAX		IDENT_BUSID_MAX
#define POL_USBSTR_MAX		126
#define POL_IFACE_MAX		32
#define POL_HASH_LEN		IDENT_HASH_LEN
#define POL_HASH_B64_LEN	44	/* base64 of 32 bytes, with padding */
#define POL_DEVID_MAX		(4 + 1 + 4 + 1 + POL_USBSTR_MAX + 1 + \
				 7 * POL_IFACE_MAX)
#define POL_DESC_MAX		300

/* Qubes' value for a device nothing is known about. */
#define POL_DEVID_UNKNOWN	IDENT_DEVID_UNKNOWN

struct pol_iface {
	uint8_t number;
	uint8_t cls, subcls, proto;
};

/*
 * One interface descriptor of any configuration and alternate setting:
 * what with-interface and deny-interface look at (as USBGuard does).
 */
#define POL_ALT_MAX		255

struct pol_ifalt {
	uint8_t config;			/* bConfigurationValue */
	uint8_t number, alt;
	uint8_t cls, subcls, proto;
};

struct pol_device {
	char backend[POL_NAME_MAX + 1];
	char busid[POL_BUSID_MAX + 1];
	uint16_t vid, pid;
	uint16_t bcd_device;
	uint8_t dev_class, dev_subclass, dev_proto;
	uint8_t speed;
	char serial[POL_USBSTR_MAX + 1];
	char manufacturer[POL_USBSTR_MAX + 1];
	char product[POL_USBSTR_MAX + 1];
	uint8_t n_ifaces;		/* active configuration, as sysfs */
	struct pol_iface ifaces[POL_IFACE_MAX];
	uint8_t config;			/* active bConfigurationValue */
	int n_alts;			/* 0: only ifaces[] is known */
	struct pol_ifalt alts[POL_ALT_MAX];
	int has_hash;
	uint8_t hash[POL_HASH_LEN];
	/* USBGuard's parent-hash and with-connect-type; a device whose
	 * backend did not report one matches no allow rule naming it. */
	int has_parent_hash;
	uint8_t parent_hash[POL_HASH_LEN];	/* the hub's hash */
	int has_connect_type;
	uint8_t connect_type;			/* enum ident_connect */
};

/* "u" + class, subclass, protocol in lowercase hex: "u030101". buf >= 8. */
void pol_iface_code(const struct pol_iface *ifc, char buf[8]);

/*
 * device_id, as ident_device_id() forms it from the device's VID, PID,
 * serial and interfaces. Returns the length, or a negative pol_error if
 * buf is too small.
 */
int pol_device_id(const struct pol_device *dev, char *buf, size_t size);

/* A parsed device_id (for assignments, `policy test`, CLI arguments). */
struct pol_devid {
	uint16_t vid, pid;
	char serial[POL_USBSTR_MAX + 1];
	char ifaces[7 * POL_IFACE_MAX + 1];	/* the u...... codes */
	int unknown;				/* it was POL_DEVID_UNKNOWN */
};

/* Parse and validate a device_id string. */
int pol_devid_parse(const char *s, struct pol_devid *out);

/* Device fields from a parsed device_id (no strings but serial, no hash). */
void pol_devid_to_device(const struct pol_devid *id, struct pol_device *dev);

/*
 * "Category: vendor product" (see identity.c for the category table and the
 * fallbacks). Printable ASCII. Returns the length (truncated to size-1).
 */
int pol_describe(const struct pol_device *dev, const struct pol_usbids *ids,
    char *buf, size_t size);

/* The category alone, Qubes R4.3's names ("Keyboard", "Mass_Data", ...). */
const char *pol_category(const struct pol_device *dev,
    const struct pol_usbids *ids, char *buf, size_t size);

/* USBGuard's device hash: ident_hash_usbguard() (see ident.h). */
void pol_hash_usbguard(const char *product, uint16_t vid, uint16_t pid,
    const char *serial, const void *descriptors, size_t len,
    uint8_t out[POL_HASH_LEN]);

/* Base64 (RFC 4648, padded). encode: out >= 4*ceil(n/3)+1. */
int pol_b64_encode(const uint8_t *in, size_t n, char *out, size_t outsize);
/* Returns decoded length or a negative pol_error; rejects bad input. */
int pol_b64_decode(const char *in, uint8_t *out, size_t outsize);

#endif
