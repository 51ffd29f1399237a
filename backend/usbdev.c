/*
 * usbdev.c: discovery and identity of exportable USB devices (see
 * usbdev.h). sysfs attribute text comes from the device (strings) and is
 * cleaned to printable ASCII before it is stored.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "usbdev.h"

static const char *const usbdev_errstr[USBDEV_E__COUNT] = {
	"success",
	"libudev failed",
	"no device matches",
	"several devices match",
	"malformed device selector",
	"out of memory",
	"another device answers at the port",
};
_Static_assert(sizeof(usbdev_errstr) / sizeof(usbdev_errstr[0]) ==
    USBDEV_E__COUNT, "usbdev_errstr matches enum usbdev_error");

const char *
usbdev_strerror(int err)
{
	if (err > 0 || -err >= USBDEV_E__COUNT)
		return "unknown device error";
	return usbdev_errstr[-err];
}

/* Copy device-provided text, keeping printable ASCII only. */
static void
clean_copy(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	if (src != NULL)
		for (; *src != '\0' && i + 1 < len; src++)
			dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '_';
	dst[i] = '\0';
	/* sysfs values end in a newline; strip trailing blanks */
	while (i > 0 && isspace((unsigned char)dst[i - 1]))
		dst[--i] = '\0';
}

static int
read_attr(const char *dir, const char *name, char *buf, size_t len)
{
	char path[512], tmp[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (f == NULL) {
		buf[0] = '\0';
		return -1;
	}
	if (fgets(tmp, sizeof(tmp), f) == NULL)
		tmp[0] = '\0';
	fclose(f);
	tmp[strcspn(tmp, "\n")] = '\0';
	clean_copy(buf, len, tmp);
	return 0;
}

static long
read_num(const char *dir, const char *name, int base, long dflt)
{
	char buf[32], *end;
	long v;

	if (read_attr(dir, name, buf, sizeof(buf)) < 0 || buf[0] == '\0')
		return dflt;
	v = strtol(buf, &end, base);
	return *end == '\0' ? v : dflt;
}

int
usbdev_devnum_is(const char *syspath, int devnum)
{
	long n = read_num(syspath, "devnum", 10, -1);

	return n == devnum || n == 0;	/* 0: mid-reset, see above */
}

static int
iface_cmp(const void *a, const void *b)
{
	return ((const struct usbdev_iface *)a)->number -
	    ((const struct usbdev_iface *)b)->number;
}

int
usbdev_from_syspath(const char *syspath, struct usbdev *d)
{
	const char *base = strrchr(syspath, '/');
	char speed[16], idir[600], prefix[40];
	struct dirent *de;
	DIR *dir;

	memset(d, 0, sizeof(*d));
	d->export_ok = 1;
	if (base == NULL || strlen(syspath) >= sizeof(d->syspath))
		return USBDEV_E_NOTFOUND;
	/* The directory is named by the bus id; one the identity rule
	 * refuses (a root hub "usbN", anything else) is no device of ours. */
	if (!ident_busid_valid(base + 1))
		return USBDEV_E_NOTFOUND;
	snprintf(d->syspath, sizeof(d->syspath), "%s", syspath);
	snprintf(d->busid, sizeof(d->busid), "%s", base + 1);
	d->vid = (uint16_t)read_num(syspath, "idVendor", 16, -1);
	d->pid = (uint16_t)read_num(syspath, "idProduct", 16, -1);
	if (read_num(syspath, "idVendor", 16, -1) < 0)
		return USBDEV_E_NOTFOUND;
	d->bcd = (uint16_t)read_num(syspath, "bcdDevice", 16, 0);
	d->cls = (uint8_t)read_num(syspath, "bDeviceClass", 16, 0);
	d->subcls = (uint8_t)read_num(syspath, "bDeviceSubClass", 16, 0);
	d->proto = (uint8_t)read_num(syspath, "bDeviceProtocol", 16, 0);
	d->busnum = (int)read_num(syspath, "busnum", 10, 0);
	d->devnum = (int)read_num(syspath, "devnum", 10, 0);
	/*
	 * Address 0: a port reset is under way (the hub driver gives the
	 * device its address back after it). Not readable as a device now:
	 * a scan that took 0 for the number saw a re-enumeration.
	 */
	if (d->busnum <= 0 || d->devnum <= 0)
		return USBDEV_E_NOTFOUND;
	read_attr(syspath, "speed", speed, sizeof(speed));
	d->speed_mbps = strcmp(speed, "1.5") == 0 ? 1 : atoi(speed);
	read_attr(syspath, "manufacturer", d->manufacturer,
	    sizeof(d->manufacturer));
	read_attr(syspath, "product", d->product, sizeof(d->product));
	read_attr(syspath, "serial", d->serial, sizeof(d->serial));
	snprintf(d->devnode, sizeof(d->devnode), "/dev/bus/usb/%03d/%03d",
	    d->busnum, d->devnum);

	/* Interfaces of the active configuration: BUSID:C.I directories. */
	snprintf(prefix, sizeof(prefix), "%s:", d->busid);
	dir = opendir(syspath);
	if (dir != NULL) {
		while ((de = readdir(dir)) != NULL &&
		    d->niface < USBDEV_MAX_IFACES) {
			struct usbdev_iface *i = &d->iface[d->niface];

			if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
				continue;
			snprintf(idir, sizeof(idir), "%s/%s", syspath, de->d_name);
			i->number = (uint8_t)read_num(idir, "bInterfaceNumber", 16, 0);
			i->cls = (uint8_t)read_num(idir, "bInterfaceClass", 16, 0);
			i->subcls = (uint8_t)read_num(idir, "bInterfaceSubClass", 16, 0);
			i->proto = (uint8_t)read_num(idir, "bInterfaceProtocol", 16, 0);
			d->niface++;
		}
		closedir(dir);
	}
	qsort(d->iface, (size_t)d->niface, sizeof(d->iface[0]), iface_cmp);
	return USBDEV_OK;
}

int
usbdev_recheck(const struct usbdev *before, struct usbdev *now)
{
	int r = usbdev_from_syspath(before->syspath, now);

	if (r != USBDEV_OK)
		return r;
	if (now->vid != before->vid || now->pid != before->pid ||
	    now->bcd != before->bcd || now->cls != before->cls ||
	    now->subcls != before->subcls || now->proto != before->proto ||
	    strcmp(now->manufacturer, before->manufacturer) != 0 ||
	    strcmp(now->product, before->product) != 0 ||
	    strcmp(now->serial, before->serial) != 0)
		return USBDEV_E_CHANGED;
	return USBDEV_OK;
}

static void
apply_udev_props(struct udev_device *ud, struct usbdev *d)
{
	const char *v;

	v = udev_device_get_property_value(ud, "USBGATE_EXPORT");
	if (v != NULL && strcmp(v, "0") == 0)
		d->export_ok = 0;
	v = udev_device_get_property_value(ud, "USBGATE_RESET_ON_ATTACH");
	if (v != NULL && strcmp(v, "1") == 0)
		d->reset_on_attach = 1;
	v = udev_device_get_property_value(ud, "USBGATE_AUTO_ATTACH");
	if (v != NULL)
		clean_copy(d->auto_attach, sizeof(d->auto_attach), v);
}

/*
 * The usb_device at syspath as usbdev_list() lists it: 0 with *d read and
 * udev's properties applied, or -1 for one it never lists.
 */
static int
examine(struct udev *udev, const char *syspath, struct usbdev *d)
{
	struct udev_device *ud;

	/* Never re-export what another VM lent us. */
	if (strstr(syspath, "/vhci_hcd") != NULL)
		return -1;
	if (usbdev_from_syspath(syspath, d) != USBDEV_OK)
		return -1;
	if (d->cls == 0x09)
		return -1;	/* hubs (root hubs are no bus ids) */
	ud = udev_device_new_from_syspath(udev, syspath);
	if (ud != NULL) {
		apply_udev_props(ud, d);
		udev_device_unref(ud);
	}
	return 0;
}

int
usbdev_list(struct usbdev **out, size_t *count, int include_hidden)
{
	struct udev *udev;
	struct udev_enumerate *en;
	struct udev_list_entry *le;
	struct usbdev *arr = NULL, *n;
	size_t cnt = 0, cap = 0;
	int rc = USBDEV_OK;

	*out = NULL;
	*count = 0;
	udev = udev_new();
	if (udev == NULL)
		return USBDEV_E_UDEV;
	en = udev_enumerate_new(udev);
	if (en == NULL) {
		udev_unref(udev);
		return USBDEV_E_UDEV;
	}
	udev_enumerate_add_match_subsystem(en, "usb");
	udev_enumerate_add_match_property(en, "DEVTYPE", "usb_device");
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(le, udev_enumerate_get_list_entry(en)) {
		struct usbdev d;

		if (examine(udev, udev_list_entry_get_name(le), &d) < 0)
			continue;
		if (!d.export_ok && !include_hidden)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			n = realloc(arr, cap * sizeof(*arr));
			if (n == NULL) {
				rc = USBDEV_E_NOMEM;
				break;
			}
			arr = n;
		}
		arr[cnt++] = d;
	}
	udev_enumerate_unref(en);
	udev_unref(udev);
	if (rc < 0) {
		free(arr);
		return rc;
	}
	*out = arr;
	*count = cnt;
	return USBDEV_OK;
}

/*
 * The device of a bus id read alone, as usbdev_list() would list it: 32
 * backends started at once, each listing every device, spent 14 s apiece
 * in the list on a one-vCPU guest. 0, or -1 (not there, or not listed):
 * the caller then lists them all for its answer and the candidates.
 */
static int
resolve_busid(const char *busid, struct usbdev *out)
{
	struct udev *udev = udev_new();
	struct udev_device *ud;
	const char *type, *syspath;
	int rc = -1;

	if (udev == NULL)
		return -1;
	ud = udev_device_new_from_subsystem_sysname(udev, "usb", busid);
	if (ud != NULL) {
		type = udev_device_get_devtype(ud);
		syspath = udev_device_get_syspath(ud);
		if (type != NULL && strcmp(type, "usb_device") == 0 &&
		    syspath != NULL && examine(udev, syspath, out) == 0 &&
		    out->export_ok)
			rc = 0;
		udev_device_unref(ud);
	}
	udev_unref(udev);
	return rc;
}

/* VVVV, exactly four hex digits, as the n bytes at s. */
static int
parse_hex4(const char *s, size_t n, uint16_t *v)
{
	return n == 4 && ident_hex4(s, v) ? 0 : -1;
}

int
usbdev_resolve(const char *sel, struct usbdev *out, struct usbdev **cands,
    size_t *ncands)
{
	struct usbdev *all;
	size_t n, i, hits = 0, hit = 0;
	uint16_t vid = 0, pid = 0;
	const char *serial = NULL;
	int by_bus = ident_busid_valid(sel), rc;

	if (cands != NULL) {
		*cands = NULL;
		*ncands = 0;
	}
	if (!by_bus) {
		const char *c1 = strchr(sel, ':');

		if (c1 == NULL || parse_hex4(sel, (size_t)(c1 - sel), &vid) < 0)
			return USBDEV_E_SELECTOR;
		serial = strchr(c1 + 1, ':');
		if (parse_hex4(c1 + 1, serial ? (size_t)(serial - c1 - 1) :
		    strlen(c1 + 1), &pid) < 0)
			return USBDEV_E_SELECTOR;
		if (serial != NULL)
			serial++;
	}
	if (by_bus && resolve_busid(sel, out) == 0)
		return USBDEV_OK;
	rc = usbdev_list(&all, &n, 0);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		int m = by_bus ? strcmp(all[i].busid, sel) == 0 :
		    (all[i].vid == vid && all[i].pid == pid &&
		    (serial == NULL || strcmp(all[i].serial, serial) == 0));

		if (m) {
			hits++;
			hit = i;
		}
	}
	if (hits == 1) {
		*out = all[hit];
		free(all);
		return USBDEV_OK;
	}
	if (cands != NULL) {
		*cands = all;
		*ncands = n;
	} else
		free(all);
	return hits == 0 ? USBDEV_E_NOTFOUND : USBDEV_E_AMBIGUOUS;
}

void
usbdev_device_id(const struct usbdev *d, char *buf, size_t len)
{
	struct ident_iface ifs[USBDEV_MAX_IFACES];
	int i;

	for (i = 0; i < d->niface && i < USBDEV_MAX_IFACES; i++) {
		ifs[i].cls = d->iface[i].cls;
		ifs[i].subcls = d->iface[i].subcls;
		ifs[i].proto = d->iface[i].proto;
	}
	ident_device_id(d->vid, d->pid, d->serial, ifs, (size_t)i, buf, len);
}

const char *
usbdev_speed_name(int mbps)
{
	switch (mbps) {
	case 1: return "low";
	case 12: return "full";
	case 480: return "high";
	case 5000: return "super";
	case 10000: return "super-plus";
	case 20000: return "super-plus-2x2";
	default: return "unknown";
	}
}

void
usbdev_description(const struct usbdev *d, char *buf, size_t len)
{
	if (d->manufacturer[0] && d->product[0])
		snprintf(buf, len, "%s %s", d->manufacturer, d->product);
	else if (d->product[0])
		snprintf(buf, len, "%s", d->product);
	else
		snprintf(buf, len, "USB device %04x:%04x", d->vid, d->pid);
}
