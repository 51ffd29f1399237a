/*
 * tests/tools/usbreset.c: tb-usbreset, a host-side reset of one USB device
 * from the guest that uses it (what usbreset(1) or a driver's error handling
 * does): USBDEVFS_RESET on its usbfs node. The kernel runs the bound drivers'
 * pre_reset/post_reset around a port reset of the device's hub port.
 *
 * Usage: tb-usbreset /dev/bus/usb/BBB/DDD
 * Exit 0 when the kernel reports the reset done, 1 with its errno otherwise.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/usbdevice_fs.h>

int
main(int argc, char **argv)
{
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: tb-usbreset /dev/bus/usb/BBB/DDD\n");
		return 2;
	}
	if ((fd = open(argv[1], O_WRONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "tb-usbreset: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (ioctl(fd, USBDEVFS_RESET, 0) < 0) {
		fprintf(stderr, "tb-usbreset: USBDEVFS_RESET %s: %s\n", argv[1], strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	printf("reset done\n");
	return 0;
}
