/*
 * kmod_port.h: the privileged frontend parent's port on usbgate_hcd (our
 * own host controller, kmod/), the counterpart of vhci_sysfs.h: which host
 * controller an import uses (--hcd), and connecting a device, which gives
 * a descriptor the session child then owns (closing it is the one
 * teardown of the port).
 */
#ifndef USBGATE_FE_KMOD_PORT_H
#define USBGATE_FE_KMOD_PORT_H

/* --hcd: which host controller imports use. */
enum fe_hcd {
	FE_HCD_AUTO = 0,	/* usbgate_hcd when loaded, else vhci_hcd
				 * (the default) */
	FE_HCD_VHCI,		/* the mainline vhci_hcd */
	FE_HCD_KMOD,		/* usbgate_hcd */
};

/* Parse "vhci", "usbgate" or "auto"; -1 if none. */
int kmod_hcd_parse(const char *name);
/* Does an import with this choice use usbgate_hcd? */
int kmod_hcd_use(int hcd);

struct kmod_port {
	int fd;			/* the session's descriptor, -1 once passed */
	unsigned int busnum, portnum;
	char busid[32];		/* local bus id, "BUS-PORT" */
};

/*
 * Open /dev/usbgate_hcd and connect a device of speed (FE_SPEED_*).
 * Returns 0 with p filled, or a negative vhci_error (VHCI_E_NOMOD: not
 * loaded, VHCI_E_NOPORT: no free port, VHCI_E_SYS).
 */
int kmod_port_connect(int speed, struct kmod_port *p);

#endif
