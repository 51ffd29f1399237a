/*
 * descr_classes.h: every interface a device declares, for dom0's policy.
 *
 * sysfs shows the classes of the active configuration's current alternate
 * settings only, and a device can put anything behind another alternate
 * setting or configuration. USBGuard's with-interface looks at every
 * interface descriptor of every configuration; so does dom0, from the list
 * this builds out of the raw descriptors (the sysfs "descriptors" file:
 * the device descriptor, then each configuration at its wTotalLength).
 */
#ifndef USBGATE_DESCR_CLASSES_H
#define USBGATE_DESCR_CLASSES_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_msg.h"

enum dc_error {
	DC_OK = 0,
	DC_E_TRUNC = -1,	/* shorter than a length says */
	DC_E_LENGTH = -2,	/* a bLength too small for its type */
	DC_E_TYPE = -3,		/* not the descriptor expected there */
	DC_E_TRAILING = -4,	/* bytes after the last configuration */
	DC_E_TOOMANY = -5,	/* more interface descriptors than DEV_ADD */
	DC_E_HUB = -6,		/* a hub interface: never exported */
	DC_E_DUP = -7,		/* the same (config, interface, alt) twice */
	DC_E__COUNT = 8
};

const char *dc_strerror(int err);

/*
 * Fill out->alts and out->n_alts from the raw descriptors (len bytes).
 * Returns DC_OK or a dc_error; on error out->n_alts is 0. A list that might
 * be short is never returned: the caller does not export the device.
 */
int dc_classes(const uint8_t *untrusted_desc, size_t len,
    struct ctl_dev *out);

#endif
