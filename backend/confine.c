/*
 * confine.c: the usbfs file a backend session is given (see confine.h).
 */
#include "config.h"

#include <errno.h>
#include <sys/ioctl.h>

#include <linux/usbdevice_fs.h>

#include "confine.h"

/* Older kernel headers: the ioctl and capability of Linux 4.10. */
#ifndef USBDEVFS_DROP_PRIVILEGES
#define USBDEVFS_DROP_PRIVILEGES	_IOW('U', 30, __u32)
#endif
#ifndef USBDEVFS_CAP_DROP_PRIVILEGES
#define USBDEVFS_CAP_DROP_PRIVILEGES	0x40
#endif

static const char *const confine_errstr[CONFINE_E__COUNT] = {
	"success",
	"the kernel cannot confine a usbfs file (USBDEVFS_DROP_PRIVILEGES, "
	    "Linux 4.10)",
	"a kernel driver could not be detached",
	"USBDEVFS_DROP_PRIVILEGES failed",
};
_Static_assert(sizeof(confine_errstr) / sizeof(confine_errstr[0]) ==
    CONFINE_E__COUNT, "confine_errstr matches enum confine_error");

const char *
confine_strerror(int err)
{
	if (err > 0 || -err >= CONFINE_E__COUNT)
		return "unknown confinement error";
	return confine_errstr[-err];
}

int
confine_session_file(int fd, const struct usbdev *d, const uint8_t *refused,
    int n_refused)
{
	uint32_t caps = 0, mask = 0xffffffffu;
	int i;

	if (ioctl(fd, USBDEVFS_GET_CAPABILITIES, &caps) < 0 ||
	    (caps & USBDEVFS_CAP_DROP_PRIVILEGES) == 0)
		return CONFINE_E_NOCAP;
	for (i = 0; i < n_refused; i++)
		if (refused[i] < 32)
			mask &= ~(1u << refused[i]);
	for (i = 0; i < d->niface; i++) {
		unsigned int ifno = d->iface[i].number;
		struct usbdevfs_ioctl ctl = {
			.ifno = (int)ifno,
			.ioctl_code = USBDEVFS_DISCONNECT,
			.data = NULL,
		};
		struct usbdevfs_disconnect_claim dc = { .interface = ifno };

		/*
		 * A served interface: driver off and claimed for this file in
		 * one step, so that a driver that finishes loading now (udev
		 * modprobes at plug time) cannot bind before the session
		 * claims it. A refused one: driver off, left unclaimed.
		 * ENODATA: no driver bound.
		 */
		if (ifno < 32 && (mask >> ifno & 1) != 0) {
			if (ioctl(fd, USBDEVFS_DISCONNECT_CLAIM, &dc) < 0)
				return CONFINE_E_DETACH;
		} else if (ioctl(fd, USBDEVFS_IOCTL, &ctl) < 0 &&
		    errno != ENODATA)
			return CONFINE_E_DETACH;
	}
	if (ioctl(fd, USBDEVFS_DROP_PRIVILEGES, &mask) < 0)
		return CONFINE_E_DROP;
	return CONFINE_OK;
}
