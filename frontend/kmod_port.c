/*
 * kmod_port.c: the privileged frontend parent's port on usbgate_hcd (see
 * kmod_port.h). Connecting is one UGH_F_CONNECT record and its UGH_K_PORT
 * answer; the kernel puts that answer before any other record, and a read
 * of exactly its size takes nothing else, so every later record (the
 * enumeration's port reset, submissions) is left to the session.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kmod_port.h"
#include "log.h"
#include "vhci_sysfs.h"
#include "usbgate_hcd_uapi.h"

#define KMOD_PORT_WAIT_MS	5000

int
kmod_hcd_parse(const char *name)
{
	if (strcmp(name, "vhci") == 0)
		return FE_HCD_VHCI;
	if (strcmp(name, "usbgate") == 0)
		return FE_HCD_KMOD;
	if (strcmp(name, "auto") == 0)
		return FE_HCD_AUTO;
	return -1;
}

int
kmod_hcd_use(int hcd)
{
	return hcd == FE_HCD_KMOD ||
	    (hcd == FE_HCD_AUTO && access(UGH_DEVICE, F_OK) == 0);
}

int
kmod_port_connect(int speed, struct kmod_port *p)
{
	struct ugh_connect c;
	struct ugh_port_info pi;
	struct pollfd pfd;
	ssize_t n;
	int fd, rc;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	fd = open(UGH_DEVICE, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		log_warn("%s", UGH_DEVICE);
		return errno == ENOENT || errno == ENODEV || errno == ENXIO ?
		    VHCI_E_NOMOD : VHCI_E_SYS;
	}
	memset(&c, 0, sizeof(c));
	c.hdr.type = UGH_F_CONNECT;
	c.hdr.len = sizeof(c);
	c.speed = (uint32_t)speed;
	if (write(fd, &c, sizeof(c)) != (ssize_t)sizeof(c)) {
		rc = errno == EBUSY ? VHCI_E_NOPORT : VHCI_E_SYS;
		log_warn("usbgate_hcd: connect");
		close(fd);
		return rc;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	do
		rc = poll(&pfd, 1, KMOD_PORT_WAIT_MS);
	while (rc < 0 && errno == EINTR);
	n = rc > 0 ? read(fd, &pi, sizeof(pi)) : -1;
	if (n != (ssize_t)sizeof(pi) || pi.hdr.type != UGH_K_PORT ||
	    pi.hdr.len != sizeof(pi) || pi.version != UGH_VERSION) {
		log_warnx("usbgate_hcd: no port record after connecting");
		close(fd);
		return VHCI_E_SYS;
	}
	p->fd = fd;
	p->busnum = pi.busnum;
	p->portnum = pi.portnum;
	snprintf(p->busid, sizeof(p->busid), "%u-%u", pi.busnum, pi.portnum);
	return 0;
}
