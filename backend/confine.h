/*
 * confine.h: the usbfs file a backend session is given, narrowed by the
 * kernel before the session (and its AppVM-facing usbredir parser) holds it.
 *
 * Owns the privileged parent's half of keeping refused interfaces out of
 * the sandboxed process's reach: sys-usb's kernel drivers detached from the
 * device and the served interfaces claimed on the session's file (so the
 * session's claims need no privilege), then USBDEVFS_DROP_PRIVILEGES
 * (Linux 4.10) with the mask of the interfaces the session serves. What the
 * kernel then enforces on that file, and what it does not, is in
 * doc/data-plane.md ("Refused interfaces and the kernel").
 */
#ifndef USBGATE_CONFINE_H
#define USBGATE_CONFINE_H

#include <stdint.h>

#include "usbdev.h"

enum confine_error {
	CONFINE_OK = 0,
	CONFINE_E_NOCAP = -1,	/* the kernel cannot drop usbfs privileges */
	CONFINE_E_DETACH = -2,	/* a kernel driver could not be detached */
	CONFINE_E_DROP = -3,	/* USBDEVFS_DROP_PRIVILEGES failed */
	CONFINE_E__COUNT = 4
};

const char *confine_strerror(int err);

/*
 * Detach the kernel drivers of d's interfaces through fd, refused ones
 * included, and claim the served ones on fd in the same step (a driver
 * whose module finishes loading cannot take one before the session does;
 * no other file may hold an interface while the session runs:
 * the kernel refuses a reset to a confined file then, and usbredirhost
 * resets at the start and when the AppVM asks), then restrict fd to
 * claiming the interfaces not in refused: no claim of a refused interface,
 * no driver (dis)connection (USBDEVFS_IOCTL, USBDEVFS_DISCONNECT_CLAIM of a
 * bound interface). One way: the parent shares the file and gives the
 * device back through a file of its own. Interface numbers from 32 up can
 * never be claimed on the confined file. CONFINE_E_NOCAP, with nothing
 * changed, when the kernel lacks the capability.
 */
int confine_session_file(int fd, const struct usbdev *d,
    const uint8_t *refused, int n_refused);

#endif
