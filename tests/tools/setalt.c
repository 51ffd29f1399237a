/*
 * tests/tools/setalt.c: tb-setalt, SET_INTERFACE from a guest through
 * usbfs, to show which alternate settings a device lets the guest select.
 *
 * Usage: tb-setalt /dev/bus/usb/BBB/DDD IFACE ALT. Detaches any kernel
 * driver from IFACE, claims it and asks for ALT. Prints "ok" (exit 0) or
 * the errno name the kernel returned, e.g. "EINVAL" for a setting the
 * kernel does not know of or "EPIPE" for one the device stalled (exit 1);
 * exit 2 on a usage or open error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/usbdevice_fs.h>

static const char *
errno_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EPIPE: return "EPIPE";
	case ENODEV: return "ENODEV";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EPROTO: return "EPROTO";
	case EBUSY: return "EBUSY";
	case ENOENT: return "ENOENT";
	default: return strerror(e);
	}
}

int
main(int argc, char **argv)
{
	struct usbdevfs_setinterface si;
	struct usbdevfs_ioctl detach;
	unsigned int iface;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: tb-setalt DEVNODE IFACE ALT\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDWR | O_CLOEXEC)) < 0) {
		fprintf(stderr, "tb-setalt: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	iface = (unsigned int)strtoul(argv[2], NULL, 10);
	si.interface = iface;
	si.altsetting = (unsigned int)strtoul(argv[3], NULL, 10);
	detach.ifno = (int)iface;
	detach.ioctl_code = USBDEVFS_DISCONNECT;
	detach.data = NULL;
	(void)ioctl(fd, USBDEVFS_IOCTL, &detach);	/* no driver: ENODATA */
	if (ioctl(fd, USBDEVFS_CLAIMINTERFACE, &iface) < 0 ||
	    ioctl(fd, USBDEVFS_SETINTERFACE, &si) < 0) {
		printf("%s\n", errno_name(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}
