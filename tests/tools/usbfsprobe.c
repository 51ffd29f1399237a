/*
 * tests/tools/usbfsprobe.c: tb-usbfsprobe, what the sandboxed backend
 * session could do with its usbfs file if it were compromised.
 *
 * Usage: tb-usbfsprobe DEVNODE OWN REFUSED... (run as root in sys-usb).
 * Finds the process not running as root that holds DEVNODE open (the
 * session child; its parent shares the same open file), takes a duplicate of
 * that very file with pidfd_getfd(2) (the same kernel state: claims,
 * dropped privileges) and tries, on that file, what a compromised session
 * would try. One line per attempt, "WHAT IFACE: ok" or the errno name:
 *   claim OWN                 control: an interface the session serves
 *   claim R                   USBDEVFS_CLAIMINTERFACE
 *   disconnect-claim R        USBDEVFS_DISCONNECT_CLAIM
 *   setinterface R            USBDEVFS_SETINTERFACE to setting 0
 *   control-set-interface R   SET_INTERFACE as a raw control request
 *   connect R                 USBDEVFS_IOCTL(USBDEVFS_CONNECT)
 * Exit 0 when every attempt was made (whatever the kernel said), 2 on a
 * usage error or when no such process or file is found.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/usbdevice_fs.h>

static const char *
result(int r)
{
	if (r >= 0)
		return "ok";
	switch (errno) {
	case EACCES: return "EACCES";
	case EBUSY: return "EBUSY";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case ENODATA: return "ENODATA";
	case EPIPE: return "EPIPE";
	case EPERM: return "EPERM";
	default: return strerror(errno);
	}
}

/* The descriptor number of DEVNODE in process pid, or -1. */
static int
fd_of(const char *pid, const char *devnode)
{
	char dir[300], path[PATH_MAX], link[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int found = -1;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while (found < 0 && (e = readdir(d)) != NULL) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, devnode) == 0)
			found = atoi(e->d_name);
	}
	closedir(d);
	return found;
}

/* A duplicate of the session's file: the non-root holder of devnode. */
static int
session_file(const char *devnode, long *pid_out)
{
	struct dirent *e;
	DIR *d = opendir("/proc");
	int fd = -1;

	if (d == NULL)
		return -1;
	while (fd < 0 && (e = readdir(d)) != NULL) {
		char path[300];
		struct stat st;
		int pidfd, target;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", e->d_name);
		if (stat(path, &st) < 0 || st.st_uid == 0)
			continue;
		if ((target = fd_of(e->d_name, devnode)) < 0)
			continue;
		pidfd = (int)syscall(SYS_pidfd_open, atol(e->d_name), 0);
		if (pidfd < 0)
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, target, 0);
		close(pidfd);
		*pid_out = atol(e->d_name);
	}
	closedir(d);
	return fd;
}

static void
probe(int fd, unsigned int ifno)
{
	struct usbdevfs_disconnect_claim dc;
	struct usbdevfs_setinterface si = { .interface = ifno, .altsetting = 0 };
	struct usbdevfs_ctrltransfer ct = {
		.bRequestType = 0x01,	/* standard, to an interface */
		.bRequest = 0x0b,	/* SET_INTERFACE */
		.wValue = 0, .wIndex = (uint16_t)ifno, .wLength = 0,
		.timeout = 1000, .data = NULL,
	};
	struct usbdevfs_ioctl conn = { .ifno = (int)ifno,
	    .ioctl_code = USBDEVFS_CONNECT, .data = NULL };

	printf("claim %u: %s\n", ifno,
	    result(ioctl(fd, USBDEVFS_CLAIMINTERFACE, &ifno)));
	memset(&dc, 0, sizeof(dc));
	dc.interface = ifno;
	printf("disconnect-claim %u: %s\n", ifno,
	    result(ioctl(fd, USBDEVFS_DISCONNECT_CLAIM, &dc)));
	printf("setinterface %u: %s\n", ifno,
	    result(ioctl(fd, USBDEVFS_SETINTERFACE, &si)));
	printf("control-set-interface %u: %s\n", ifno,
	    result(ioctl(fd, USBDEVFS_CONTROL, &ct)));
	printf("connect %u: %s\n", ifno, result(ioctl(fd, USBDEVFS_IOCTL,
	    &conn)));
}

int
main(int argc, char **argv)
{
	unsigned int own;
	long pid = 0;
	int fd, i;

	if (argc < 4) {
		fprintf(stderr, "usage: tb-usbfsprobe DEVNODE OWN REFUSED...\n");
		return 2;
	}
	if ((fd = session_file(argv[1], &pid)) < 0) {
		fprintf(stderr, "tb-usbfsprobe: no session process holds %s\n",
		    argv[1]);
		return 2;
	}
	fprintf(stderr, "tb-usbfsprobe: the file of process %ld\n", pid);
	own = (unsigned int)strtoul(argv[2], NULL, 10);
	printf("claim %u: %s\n", own,
	    result(ioctl(fd, USBDEVFS_CLAIMINTERFACE, &own)));
	for (i = 3; i < argc; i++)
		probe(fd, (unsigned int)strtoul(argv[i], NULL, 10));
	close(fd);
	return 0;
}
