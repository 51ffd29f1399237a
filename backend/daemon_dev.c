/*
 * daemon_dev.c: a sys-usb device as DEV_ADD describes it (see daemon.h).
 * Everything here comes from the device (strings, descriptors) or from
 * udev rules; strings are reduced to printable ASCII before they go on
 * the wire, the hash is computed over the raw bytes as USBGuard does, and
 * so is the hash of the hub it hangs on (USBGuard's parent-hash).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "descr_classes.h"
#include "ident.h"
#include "log.h"

#define BD_DESC_MAX	65536	/* the sysfs descriptors file, capped */

static const char *const bd_errstr[BD_E__COUNT] = {
	"success",
	"not exportable",
	"device gone",
};
_Static_assert(sizeof(bd_errstr) / sizeof(bd_errstr[0]) == BD_E__COUNT,
    "bd_errstr matches enum bd_error");

const char *
bd_strerror(int err)
{
	if (err > 0 || -err >= BD_E__COUNT)
		return "unknown daemon error";
	return bd_errstr[-err];
}

/* Read a whole sysfs file (at most len bytes); -1 if it cannot be read. */
static ssize_t
read_file(const char *dir, const char *name, void *buf, size_t len)
{
	char path[512];
	size_t off = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (off < len) {
		n = read(fd, (char *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	return (ssize_t)off;
}

/* A sysfs string attribute as the kernel gives it, without the newline. */
static void
read_raw_str(const char *dir, const char *name, char *buf, size_t len)
{
	ssize_t n = read_file(dir, name, buf, len - 1);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int
bd_configured(const char *syspath)
{
	char v[16];

	read_raw_str(syspath, "bConfigurationValue", v, sizeof(v));
	return v[0] != '\0' && strcmp(v, "0") != 0;
}

static uint8_t
speed_code(int mbps)
{
	switch (mbps) {
	case 1: return CTL_SPEED_LOW;
	case 12: return CTL_SPEED_FULL;
	case 480: return CTL_SPEED_HIGH;
	case 5000: return CTL_SPEED_SUPER;
	case 10000: return CTL_SPEED_SUPER_PLUS;
	case 20000: return CTL_SPEED_SUPER_PLUS_2X2;
	default: return CTL_SPEED_UNKNOWN;
	}
}

static void
put_str(char *dst, size_t size, const char *src)
{
	ctl_strlcpy(dst, src, size);
	ctl_str_scrub(dst, CTL_CS_PRINT);
}

/*
 * USBGuard's hash of the device at dir: what a device's parent-hash is
 * when dir is its hub. 0, or -1 if it cannot be read (then nothing is
 * claimed about the parent).
 */
static int
hash_device(const char *dir, uint8_t *buf, size_t size,
    uint8_t out[CTL_HASH_LEN])
{
	char product[256], serial[256], v[8], p[8];
	uint16_t vid, pid;
	ssize_t dlen;

	read_raw_str(dir, "idVendor", v, sizeof(v));
	read_raw_str(dir, "idProduct", p, sizeof(p));
	if (strlen(v) != 4 || strlen(p) != 4 || !ident_hex4(v, &vid) ||
	    !ident_hex4(p, &pid))
		return -1;
	if ((dlen = read_file(dir, "descriptors", buf, size)) < 18)
		return -1;
	read_raw_str(dir, "product", product, sizeof(product));
	read_raw_str(dir, "serial", serial, sizeof(serial));
	ident_hash_usbguard(product, vid, pid, serial, buf, (size_t)dlen, out);
	return 0;
}

/*
 * The hub the device hangs on (its sysfs parent: a hub, or the root hub
 * of a bus) and the port's connect type, as USBGuard reads them.
 */
static void
describe_parent(const char *syspath, uint8_t *buf, size_t size,
    struct ctl_dev *out)
{
	char real[4096], ct[32];
	char *slash;
	ssize_t n;
	int code;

	if (realpath(syspath, real) != NULL &&
	    (slash = strrchr(real, '/')) != NULL && slash != real) {
		*slash = '\0';
		if (hash_device(real, buf, size, out->parent_hash) == 0)
			out->flags |= CTL_DEV_F_PARENT;
	}
	/* USBGuard reads it as optional: no attribute is "". */
	if ((n = read_file(syspath, "port/connect_type", ct,
	    sizeof(ct) - 1)) < 0) {
		if (errno != ENOENT)
			return;
		n = 0;
	}
	ct[n] = '\0';
	ct[strcspn(ct, "\n")] = '\0';
	if ((code = ident_connect_parse(ct)) >= 0) {
		out->connect_type = (uint8_t)code;
		out->flags |= CTL_DEV_F_CONNECT;
	} else
		log_warnx("%s: unknown port connect_type; not reported",
		    out->busid);
}

int
bd_describe(const struct usbdev *d, struct ctl_dev *out)
{
	char product[256], serial[256], cfg[8];
	uint8_t *desc;
	ssize_t dlen;
	int i, r;

	memset(out, 0, sizeof(*out));
	if (d->cls == 0x09 || !bd_configured(d->syspath))
		return BD_E_SKIP;
	if (!ctl_str_valid(d->busid, CTL_CS_BUSID))
		return BD_E_SKIP;
	ctl_strlcpy(out->busid, d->busid, sizeof(out->busid));
	out->vid = d->vid;
	out->pid = d->pid;
	out->bcd_device = d->bcd;
	out->speed = speed_code(d->speed_mbps);
	out->dev_class = d->cls;
	out->dev_subclass = d->subcls;
	out->dev_proto = d->proto;
	put_str(out->serial, sizeof(out->serial), d->serial);
	put_str(out->manufacturer, sizeof(out->manufacturer), d->manufacturer);
	put_str(out->product, sizeof(out->product), d->product);
	if (d->niface > CTL_IFACE_MAX)
		return BD_E_SKIP;
	for (i = 0; i < d->niface; i++) {
		/* A hub function is never exported, whatever the device
		 * class says. */
		if (d->iface[i].cls == 0x09)
			return BD_E_SKIP;
		if (i > 0 && d->iface[i].number == d->iface[i - 1].number)
			return BD_E_SKIP;	/* sysfs changing under us */
		out->ifaces[i].number = d->iface[i].number;
		out->ifaces[i].cls = d->iface[i].cls;
		out->ifaces[i].subcls = d->iface[i].subcls;
		out->ifaces[i].proto = d->iface[i].proto;
	}
	out->n_ifaces = (uint8_t)d->niface;

	/* USBGuard's hash: raw strings, then the raw descriptors. */
	if ((desc = malloc(BD_DESC_MAX)) == NULL)
		return BD_E_GONE;
	dlen = read_file(d->syspath, "descriptors", desc, BD_DESC_MAX);
	if (dlen < 18) {
		free(desc);
		return BD_E_GONE;
	}
	out->bcd_usb = (uint16_t)(desc[2] | desc[3] << 8);
	/* Policy sees every configuration and alternate setting. */
	read_raw_str(d->syspath, "bConfigurationValue", cfg, sizeof(cfg));
	out->config = (uint8_t)strtoul(cfg, NULL, 10);
	if ((r = dc_classes(desc, (size_t)dlen, out)) != DC_OK) {
		log_warnx("%s: descriptors: %s; not exported", d->busid,
		    dc_strerror(r));
		free(desc);
		return BD_E_SKIP;
	}
	read_raw_str(d->syspath, "product", product, sizeof(product));
	read_raw_str(d->syspath, "serial", serial, sizeof(serial));
	ident_hash_usbguard(product, d->vid, d->pid, serial, desc, (size_t)dlen,
	    out->hash);
	out->flags = CTL_DEV_F_EXPORT | CTL_DEV_F_HASH;
	describe_parent(d->syspath, desc, BD_DESC_MAX, out);
	free(desc);

	if (d->reset_on_attach)
		out->flags |= CTL_DEV_F_RESET;
	/* A request only; dom0 decides. Not a valid VM name: ignored. */
	if (ctl_str_valid(d->auto_attach, CTL_CS_NAME))
		ctl_strlcpy(out->auto_attach, d->auto_attach,
		    sizeof(out->auto_attach));
	return BD_OK;
}
