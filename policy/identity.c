/*
 * identity.c: device_id, description and descriptor hash (see identity.h).
 *
 * The description follows Qubes R4.3 (core-admin device_protocol.py as
 * summarised in doc/usbgate-rules.5): the category is taken from the first
 * interface that matches the table below, more specific patterns first;
 * vendor and product names come from usb.ids, then from the device's own
 * strings; the product falls back to the serial, then "unknown usb device".
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "identity.h"
#include "pol_error.h"

static struct ident_iface
iface_classes(const struct pol_iface *ifc)
{
	struct ident_iface c = { ifc->cls, ifc->subcls, ifc->proto };

	return c;
}

void
pol_iface_code(const struct pol_iface *ifc, char buf[8])
{
	struct ident_iface c = iface_classes(ifc);

	ident_iface_code(&c, buf);
}

int
pol_device_id(const struct pol_device *dev, char *buf, size_t size)
{
	struct ident_iface ifs[POL_IFACE_MAX];
	size_t i, n;

	for (i = 0; i < dev->n_ifaces && i < POL_IFACE_MAX; i++)
		ifs[i] = iface_classes(&dev->ifaces[i]);
	n = ident_device_id(dev->vid, dev->pid, dev->serial, ifs, i, buf,
	    size);
	if (n >= size || n > (size_t)INT_MAX)
		return POL_E_TOOLONG;
	return (int)n;
}

static int
is_lhex(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

int
pol_devid_parse(const char *s, struct pol_devid *out)
{
	const char *serial, *ifs;
	size_t slen, ilen, i;

	memset(out, 0, sizeof(*out));
	if (strcmp(s, POL_DEVID_UNKNOWN) == 0) {
		out->unknown = 1;
		return POL_OK;
	}
	if (strlen(s) < 11 || !ident_hex4(s, &out->vid) || s[4] != ':' ||
	    !ident_hex4(s + 5, &out->pid) || s[9] != ':')
		return POL_E_VALUE;
	serial = s + 10;
	if ((ifs = strchr(serial, ':')) == NULL)
		return POL_E_VALUE;
	slen = (size_t)(ifs - serial);
	ifs++;
	if (slen > POL_USBSTR_MAX)
		return POL_E_TOOLONG;
	for (i = 0; i < slen; i++)
		if (!ident_serial_char_ok((unsigned char)serial[i]))
			return POL_E_VALUE;
	ilen = strlen(ifs);
	if (ilen % 7 != 0 || ilen > 7 * POL_IFACE_MAX)
		return POL_E_VALUE;
	for (i = 0; i < ilen; i++)
		if (i % 7 == 0 ? ifs[i] != 'u' : !is_lhex((unsigned char)ifs[i]))
			return POL_E_VALUE;
	memcpy(out->serial, serial, slen);
	out->serial[slen] = '\0';
	memcpy(out->ifaces, ifs, ilen + 1);
	return POL_OK;
}

/* Two hex digits pol_devid_parse() has checked. */
static int
hexbyte(const char *s)
{
	return ident_hexval((unsigned char)s[0]) * 16 +
	    ident_hexval((unsigned char)s[1]);
}

void
pol_devid_to_device(const struct pol_devid *id, struct pol_device *dev)
{
	size_t i, n;

	memset(dev, 0, sizeof(*dev));
	if (id->unknown)
		return;
	dev->vid = id->vid;
	dev->pid = id->pid;
	snprintf(dev->serial, sizeof(dev->serial), "%s", id->serial);
	n = strlen(id->ifaces) / 7;
	for (i = 0; i < n && i < POL_IFACE_MAX; i++) {
		const char *c = id->ifaces + 7 * i + 1;

		dev->ifaces[i].number = (uint8_t)i;
		dev->ifaces[i].cls = (uint8_t)hexbyte(c);
		dev->ifaces[i].subcls = (uint8_t)hexbyte(c + 2);
		dev->ifaces[i].proto = (uint8_t)hexbyte(c + 4);
	}
	dev->n_ifaces = (uint8_t)i;
}

/*
 * Interface categories as Qubes R4.3 names them (qubesadmin's
 * DeviceCategory): patterns are Qubes' 7-char codes, 'u' then class,
 * subclass, protocol as hex with '*' wildcards. The first interface alone
 * decides; the pattern with the most equal characters wins, the first
 * listed on a tie; none (Qubes' "Other") means the interface's name.
 */
static const struct {
	const char *pattern;
	const char *category;
} categories[] = {
	{ "u02****", "Communication" },
	{ "u03****", "Input" },
	{ "u03**01", "Keyboard" },
	{ "u03**02", "Mouse" },
	{ "u07****", "Printer" },
	{ "u01****", "Multimedia" },
	{ "u0e****", "Multimedia" },
	{ "u06****", "Multimedia" },
	{ "u10****", "Multimedia" },
	{ "ue0****", "Wireless" },
	{ "ue00101", "Bluetooth" },
	{ "u08****", "Mass_Data" },
};

/* Characters equal to the pattern's, or -1 where they disagree. */
static int
code_score(const char *pattern, const char *code)
{
	int i, score = 0;

	for (i = 0; i < 7; i++) {
		if (pattern[i] == code[i])
			score++;
		else if (pattern[i] != '*')
			return -1;
	}
	return score;
}

static int
usbids_name_ok(const char *name)
{
	return name != NULL && strcasecmp(name, "none") != 0 &&
	    strcasecmp(name, "no subclass") != 0 &&
	    strcasecmp(name, "unused") != 0 &&
	    strcasecmp(name, "undefined") != 0;
}

const char *
pol_category(const struct pol_device *dev, const struct pol_usbids *ids,
    char *buf, size_t size)
{
	const struct pol_iface *ifc;
	const char *name;
	char code[8];
	size_t c;
	int score, best = 0;

	buf[0] = '\0';
	if (dev->n_ifaces == 0) {
		snprintf(buf, size, "?******");
		return buf;
	}
	ifc = &dev->ifaces[0];
	pol_iface_code(ifc, code);
	for (c = 0; c < sizeof(categories) / sizeof(categories[0]); c++)
		if ((score = code_score(categories[c].pattern, code)) > best) {
			best = score;
			snprintf(buf, size, "%s", categories[c].category);
		}
	if (buf[0] != '\0')
		return buf;
	/* Other: the subclass's name, else the protocol's, else the class's. */
	name = pol_usbids_class(ids, ifc->cls, ifc->subcls, -1);
	if (!usbids_name_ok(name))
		name = pol_usbids_class(ids, ifc->cls, ifc->subcls, ifc->proto);
	if (!usbids_name_ok(name))
		name = pol_usbids_class(ids, ifc->cls, -1, -1);
	if (name != NULL)
		pol_ascii_copy(buf, size, name);
	else
		snprintf(buf, size, "Unclassified usb device");
	return buf;
}

int
pol_describe(const struct pol_device *dev, const struct pol_usbids *ids,
    char *buf, size_t size)
{
	char cat[64], vendor[POL_USBSTR_MAX + 1], product[POL_USBSTR_MAX + 1];
	const char *v, *p;
	int n;

	pol_category(dev, ids, cat, sizeof(cat));
	v = pol_usbids_vendor(ids, dev->vid);
	if (v == NULL)
		v = dev->manufacturer;
	pol_ascii_copy(vendor, sizeof(vendor), v);
	p = pol_usbids_product(ids, dev->vid, dev->pid);
	if (p == NULL)
		p = dev->product[0] != '\0' ? dev->product :
		    dev->serial[0] != '\0' ? dev->serial :
		    "unknown usb device";
	pol_ascii_copy(product, sizeof(product), p);
	if (vendor[0] != '\0')
		n = snprintf(buf, size, "%s: %s %s", cat, vendor, product);
	else
		n = snprintf(buf, size, "%s: %s", cat, product);
	if (n < 0)
		return 0;
	return (size_t)n < size ? n : (int)size - 1;
}

void
pol_hash_usbguard(const char *product, uint16_t vid, uint16_t pid,
    const char *serial, const void *descriptors, size_t len,
    uint8_t out[POL_HASH_LEN])
{
	ident_hash_usbguard(product, vid, pid, serial, descriptors, len, out);
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
pol_b64_encode(const uint8_t *in, size_t n, char *out, size_t outsize)
{
	size_t i, o = 0;

	if (outsize < (n + 2) / 3 * 4 + 1)
		return POL_E_TOOLONG;
	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int
b64val(int ch)
{
	const char *p;

	if (ch == '\0' || (p = strchr(b64chars, ch)) == NULL)
		return -1;
	return (int)(p - b64chars);
}

int
pol_b64_decode(const char *in, uint8_t *out, size_t outsize)
{
	size_t len = strlen(in), i, o = 0;

	if (len % 4 != 0)
		return POL_E_VALUE;
	for (i = 0; i < len; i += 4) {
		int a = b64val(in[i]), b = b64val(in[i + 1]);
		int c = in[i + 2] == '=' ? -2 : b64val(in[i + 2]);
		int d = in[i + 3] == '=' ? -2 : b64val(in[i + 3]);
		uint32_t v;

		if (a < 0 || b < 0 || c == -1 || d == -1)
			return POL_E_VALUE;
		/* Padding only at the very end, and "x=y" is invalid. */
		if ((c == -2 || d == -2) && i + 4 != len)
			return POL_E_VALUE;
		if (c == -2 && d != -2)
			return POL_E_VALUE;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 |
		    (uint32_t)(c < 0 ? 0 : c) << 6 | (uint32_t)(d < 0 ? 0 : d);
		if (o + 1 + (c >= 0) + (d >= 0) > outsize)
			return POL_E_TOOLONG;
		out[o++] = (uint8_t)(v >> 16);
		if (c >= 0)
			out[o++] = (uint8_t)(v >> 8);
		if (d >= 0)
			out[o++] = (uint8_t)v;
	}
	return (int)o;
}
