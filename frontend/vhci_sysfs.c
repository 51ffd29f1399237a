/*
 * vhci_sysfs.c: vhci_hcd attach/detach/status through sysfs (see
 * vhci_sysfs.h). The attach file takes "port sockfd devid speed"; vhci looks
 * the socket up in the writer's descriptor table, so the writer must own it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhci_sysfs.h"

static const char *const vhci_errstr[VHCI_E__COUNT] = {
	"success",
	"vhci_hcd is not loaded (modprobe vhci-hcd)",
	"no free vhci port fits this device",
	"vhci sysfs access failed",
	"vhci status file not understood",
};
_Static_assert(sizeof(vhci_errstr) / sizeof(vhci_errstr[0]) == VHCI_E__COUNT,
    "vhci_errstr matches enum vhci_error");

const char *
vhci_strerror(int err)
{
	if (err > 0 || -err >= VHCI_E__COUNT)
		return "unknown vhci error";
	return vhci_errstr[-err];
}

const char *
vhci_root(void)
{
	const char *r = getenv("USBGATE_VHCI_ROOT");

	return r != NULL ? r : "/sys/devices/platform/vhci_hcd.0";
}

static int
parse_status(FILE *f, struct vhci_port *ports, int n, int max)
{
	char line[256];

	while (fgets(line, sizeof(line), f) != NULL) {
		struct vhci_port p;
		char hub[4];
		unsigned int port, sta, spd, devid, sockfd;
		int k;

		memset(&p, 0, sizeof(p));
		k = sscanf(line, "%3s %u %u %u %x %u %31s", hub, &port, &sta,
		    &spd, &devid, &sockfd, p.busid);
		if (k < 3 || (strcmp(hub, "hs") != 0 && strcmp(hub, "ss") != 0))
			continue;	/* header line */
		if (k < 7)
			strcpy(p.busid, "0-0");
		p.port = (int)port;
		p.ss = hub[0] == 's';
		p.status = (int)sta;
		p.speed = k >= 4 ? (int)spd : 0;
		p.devid = k >= 5 ? devid : 0;
		if (n < max)
			ports[n] = p;
		n++;
	}
	return n;
}

int
vhci_ports(struct vhci_port *ports, int max)
{
	char path[512];
	FILE *f;
	int n = 0, i;

	for (i = 0; ; i++) {
		if (i == 0)
			snprintf(path, sizeof(path), "%s/status", vhci_root());
		else
			snprintf(path, sizeof(path), "%s/status.%d", vhci_root(), i);
		f = fopen(path, "re");
		if (f == NULL) {
			if (i == 0)
				return VHCI_E_NOMOD;
			break;
		}
		n = parse_status(f, ports, n, max);
		fclose(f);
	}
	return n < max ? n : max;
}

int
vhci_port_info(int port, struct vhci_port *out)
{
	struct vhci_port ports[VHCI_PORTS_MAX];
	int n, i;

	n = vhci_ports(ports, VHCI_PORTS_MAX);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		if (ports[i].port == port) {
			*out = ports[i];
			return VHCI_OK;
		}
	return VHCI_E_NOPORT;
}

static int
write_attr(const char *name, const char *val)
{
	char path[512];
	int fd, saved;
	ssize_t w;

	snprintf(path, sizeof(path), "%s/%s", vhci_root(), name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? VHCI_E_NOMOD : VHCI_E_SYS;
	w = write(fd, val, strlen(val));
	saved = errno;
	close(fd);
	errno = saved;
	return w < 0 ? -saved : 0;
}

int
vhci_attach(int sockfd, int speed, uint32_t devid)
{
	struct vhci_port ports[VHCI_PORTS_MAX];
	char buf[64];
	int n, i, rc, want_ss = speed >= 5;

	n = vhci_ports(ports, VHCI_PORTS_MAX);
	if (n < 0)
		return n;
	/* Walk free ports of the fitting hub; another attacher may race us. */
	for (i = 0; i < n; i++) {
		if (ports[i].ss != want_ss || ports[i].status != VHCI_ST_NULL)
			continue;
		snprintf(buf, sizeof(buf), "%d %d %u %d", ports[i].port, sockfd,
		    devid, speed);
		rc = write_attr("attach", buf);
		if (rc == 0)
			return ports[i].port;
		if (rc == -EBUSY || rc == -EINVAL)
			continue;
		return rc == VHCI_E_NOMOD ? rc : VHCI_E_SYS;
	}
	return VHCI_E_NOPORT;
}

int
vhci_detach(int port)
{
	char buf[16];
	int rc;

	snprintf(buf, sizeof(buf), "%d", port);
	rc = write_attr("detach", buf);
	if (rc == 0 || rc == VHCI_E_NOMOD)
		return rc;
	return VHCI_E_SYS;
}

uint32_t
vhci_import_devid(int pid)
{
	/*
	 * Shown by vhci's status; "fe" marks a usbgate import. A pid fits in
	 * 22 bits (PID_MAX_LIMIT), so no two live imports share a devid.
	 */
	return VHCI_DEVID_MARK | ((uint32_t)pid & 0xffffffu);
}

int
vhci_detach_own(int port, uint32_t devid)
{
	struct vhci_port p;
	int rc;

	rc = vhci_port_info(port, &p);
	if (rc == VHCI_E_NOPORT)
		return 0;
	if (rc < 0)
		return rc;
	if (p.status == VHCI_ST_NULL || p.devid != devid)
		return 0;
	rc = vhci_detach(port);
	return rc < 0 ? rc : 1;
}
