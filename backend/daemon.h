/*
 * daemon.h: "usbgate-backend daemon", the sys-usb side of the control
 * plane: publish the devices sys-usb may export to dom0 (usbgated), watch
 * them come and go, and serve one to a VM only when dom0 orders it.
 *
 * daemon.c owns the event loop, the control link and the serving
 * sessions (one child process per session, running be_serve()); 
 * daemon_dev.c owns what a device looks like on the wire (DEV_ADD), read
 * from sysfs and udev.
 */
#ifndef USBGATE_BE_DAEMON_H
#define USBGATE_BE_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_msg.h"
#include "usbdev.h"

/* Exit statuses of "usbgate-backend daemon" (usbgate-backend(8)). */
enum bd_exit {
	BD_EXIT_OK = 0,		/* SIGTERM */
	BD_EXIT_ERROR = 1,	/* cannot start (udev, channel) */
	BD_EXIT_USAGE = 2,
};

enum bd_error {
	BD_OK = 0,
	BD_E_SKIP = -1,		/* not exportable (hub, not configured yet) */
	BD_E_GONE = -2,		/* the device left while being read */
	BD_E__COUNT = 3
};

const char *bd_strerror(int err);

/*
 * Describe d for DEV_ADD: identity, strings made printable ASCII,
 * interfaces, the descriptor hash (USBGuard's, over the sysfs
 * "descriptors" file), the udev flags. Returns BD_OK or a bd_error.
 */
int bd_describe(const struct usbdev *d, struct ctl_dev *out);

/* 1 if the device has a configuration set (its interfaces exist). */
int bd_configured(const char *syspath);

/* Entry point: usbgate-backend daemon [options]. */
int be_daemon_main(int argc, char **argv);

#endif
