/*
 * vhci_sysfs.h: the mainline vhci_hcd's sysfs interface (attach, detach,
 * status) as the privileged frontend parent uses it.
 *
 * Owns: finding a free root-hub port that fits a device's speed, handing
 * vhci one end of a socketpair, and reading back which local bus id the
 * device got. Port numbers are vhci's global ones (as in its status files).
 */
#ifndef USBGATE_VHCI_SYSFS_H
#define USBGATE_VHCI_SYSFS_H

#include <stdint.h>

enum vhci_error {
	VHCI_OK = 0,
	VHCI_E_NOMOD = -1,	/* vhci_hcd not loaded */
	VHCI_E_NOPORT = -2,	/* no free port on the fitting hub */
	VHCI_E_SYS = -3,
	VHCI_E_PARSE = -4,	/* status file not understood */
	VHCI_E__COUNT = 5
};

const char *vhci_strerror(int err);

struct vhci_port {
	int port;		/* global port number */
	int ss;			/* 1: SuperSpeed hub */
	int status;		/* VDEV_ST_*: 4 free, 5 attaching, 6 used */
	int speed;
	uint32_t devid;
	char busid[32];		/* local bus id, "0-0" when none */
};

#define VHCI_ST_NOTASSIGNED	5
#define VHCI_ST_USED	6
#define VHCI_ST_NULL	4

/*
 * Ports read from the status files, at most: vhci_hcd has one controller
 * with 8 ports per hub speed by default (kernel options raise both).
 */
#define VHCI_PORTS_MAX	256

/* Fill up to max ports from every controller's status file. */
int vhci_ports(struct vhci_port *ports, int max);

/*
 * Attach sockfd (a descriptor of the calling process) on a free port that
 * fits speed. Returns the port (>= 0) or a negative vhci_error.
 */
int vhci_attach(int sockfd, int speed, uint32_t devid);

int vhci_detach(int port);

/* The devid an import of process pid gives vhci (shown in its status). */
#define VHCI_DEVID_MARK	0xfe000000u
#define VHCI_DEVID_IS_USBGATE(d)	(((d) & 0xff000000u) == VHCI_DEVID_MARK)
uint32_t vhci_import_devid(int pid);

/*
 * Detach port if it still carries devid: vhci frees a port by itself when
 * its socket dies, and another import may have taken it since. Returns 1
 * when detached, 0 when the port is free or not ours, or a vhci_error.
 */
int vhci_detach_own(int port, uint32_t devid);

/* Look up one port; VHCI_E_NOPORT when absent. */
int vhci_port_info(int port, struct vhci_port *out);

/* Root of the vhci sysfs tree (overridable for tests: USBGATE_VHCI_ROOT). */
const char *vhci_root(void);

#endif
