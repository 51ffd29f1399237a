/*
 * ident.c: bus ids, names, character classes, device_id and descriptor
 * hash (see ident.h). Character tests are spelled out in ASCII rather than
 * taken from <ctype.h>, whose answers depend on the locale.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ident.h"
#include "sha256.h"

static int
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int
char_ok(int ch, enum ident_charset cs)
{
	switch (cs) {
	case IDENT_CS_NAME:
		return is_alpha(ch) || is_digit(ch) || ch == '_' ||
		    ch == '.' || ch == '-';
	case IDENT_CS_BUSID:
		return is_digit(ch) || ch == '-' || ch == '.';
	case IDENT_CS_PRINT:
		return ch >= 0x20 && ch <= 0x7e;
	case IDENT_CS_TOKEN:
		return ch > 0x20 && ch <= 0x7e;
	case IDENT_CS_KEY:
		return (ch >= 'a' && ch <= 'z') || is_digit(ch) ||
		    ch == '_' || ch == '-';
	}
	return 0;
}

int
ident_name_valid(const char *s)
{
	size_t i;

	if (!is_alpha((unsigned char)s[0]) || strlen(s) > IDENT_NAME_MAX)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!char_ok((unsigned char)s[i], IDENT_CS_NAME))
			return 0;
	return 1;
}

/*
 * A decimal number 1..255 without leading zeros at s: the end of it, or
 * NULL if there is none.
 */
static const char *
number_1_255(const char *s)
{
	unsigned int v = 0;

	if (*s < '1' || *s > '9')
		return NULL;
	for (; is_digit((unsigned char)*s); s++)
		if ((v = v * 10 + (unsigned int)(*s - '0')) > 255)
			return NULL;
	return s;
}

int
ident_busid_valid(const char *s)
{
	int tiers = 0;

	if (strlen(s) > IDENT_BUSID_MAX)
		return 0;
	if ((s = number_1_255(s)) == NULL || *s++ != '-')
		return 0;
	for (;;) {
		if ((s = number_1_255(s)) == NULL ||
		    ++tiers > IDENT_BUSID_TIERS)
			return 0;
		if (*s == '\0')
			return 1;
		if (*s++ != '.')
			return 0;
	}
}

int
ident_str_valid(const char *s, enum ident_charset cs)
{
	size_t i;

	if (cs == IDENT_CS_BUSID)
		return ident_busid_valid(s);
	if (cs == IDENT_CS_NAME)
		return ident_name_valid(s);
	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!char_ok((unsigned char)s[i], cs))
			return 0;
	return 1;
}

int
ident_str_valid_or_empty(const char *s, enum ident_charset cs)
{
	return s[0] == '\0' || ident_str_valid(s, cs);
}

void
ident_str_scrub(char *s, enum ident_charset cs)
{
	if (cs == IDENT_CS_NAME || cs == IDENT_CS_BUSID)
		return;		/* structural classes cannot be repaired */
	for (; *s != '\0'; s++)
		if (!char_ok((unsigned char)*s, cs))
			*s = '_';
}

int
ident_hexval(int ch)
{
	if (is_digit(ch))
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
ident_hex4(const char *s, uint16_t *v)
{
	int i, d;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if ((d = ident_hexval((unsigned char)s[i])) < 0)
			return 0;
		*v = (uint16_t)(*v * 16 + d);
	}
	return 1;
}

int
ident_serial_char_ok(int ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '.' || ch == '_' ||
	    ch == '+' || ch == '-';
}

void
ident_iface_code(const struct ident_iface *ifc, char buf[8])
{
	snprintf(buf, 8, "u%02x%02x%02x", ifc->cls, ifc->subcls, ifc->proto);
}

/* An output buffer that counts what it could not hold, as snprintf. */
struct idbuf {
	char *buf;
	size_t size, len;
};

static void
idbuf_put(struct idbuf *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->size)
			o->buf[o->len] = s[i];
}

size_t
ident_device_id(uint16_t vid, uint16_t pid, const char *serial,
    const struct ident_iface *ifs, size_t n_ifs, char *buf, size_t size)
{
	struct idbuf o = { buf, size, 0 };
	char code[10];
	size_t i, j;

	if (vid == 0 && pid == 0 && n_ifs == 0) {
		idbuf_put(&o, IDENT_DEVID_UNKNOWN,
		    sizeof(IDENT_DEVID_UNKNOWN) - 1);
		goto out;
	}
	snprintf(code, sizeof(code), "%04x:", vid);
	idbuf_put(&o, code, 5);
	snprintf(code, sizeof(code), "%04x:", pid);
	idbuf_put(&o, code, 5);
	for (; *serial != '\0'; serial++)
		idbuf_put(&o, ident_serial_char_ok((unsigned char)*serial) ?
		    serial : "_", 1);
	idbuf_put(&o, ":", 1);
	for (i = 0; i < n_ifs; i++) {
		for (j = 0; j < i; j++)
			if (ifs[j].cls == ifs[i].cls &&
			    ifs[j].subcls == ifs[i].subcls &&
			    ifs[j].proto == ifs[i].proto)
				break;
		if (j < i)
			continue;	/* listed already */
		ident_iface_code(&ifs[i], code);
		idbuf_put(&o, code, 7);
	}
out:
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

static const char *const connect_names[IDENT_CONNECT__MAX + 1] = {
	[IDENT_CONNECT_NONE] = "",
	[IDENT_CONNECT_HOTPLUG] = "hotplug",
	[IDENT_CONNECT_HARDWIRED] = "hardwired",
	[IDENT_CONNECT_NOT_USED] = "not used",
	[IDENT_CONNECT_UNKNOWN] = "unknown",
};

const char *
ident_connect_name(int ct)
{
	if (ct < 0 || ct > IDENT_CONNECT__MAX)
		return NULL;
	return connect_names[ct];
}

int
ident_connect_parse(const char *s)
{
	int i;

	for (i = 0; i <= IDENT_CONNECT__MAX; i++)
		if (strcmp(s, connect_names[i]) == 0)
			return i;
	return -1;
}

int
ident_is_root_hub(const void *descriptors, size_t len)
{
	const uint8_t *d = descriptors;

	/* A device descriptor of VID 1d6b (Linux Foundation), PID 1..3. */
	return len >= 18 && d[0] == 18 && d[1] == 0x01 && d[8] == 0x6b &&
	    d[9] == 0x1d && d[11] == 0 && d[10] >= 1 && d[10] <= 3;
}

void
ident_hash_usbguard(const char *product, uint16_t vid, uint16_t pid,
    const char *serial, const void *descriptors, size_t len,
    uint8_t out[IDENT_HASH_LEN])
{
	struct sha256_ctx ctx;
	uint8_t dd[18];
	char id[5];

	sha256_init(&ctx);
	sha256_update(&ctx, product, strlen(product));
	snprintf(id, sizeof(id), "%04x", vid);
	sha256_update(&ctx, id, 4);
	snprintf(id, sizeof(id), "%04x", pid);
	sha256_update(&ctx, id, 4);
	sha256_update(&ctx, serial, strlen(serial));
	if (ident_is_root_hub(descriptors, len)) {
		/* bcdDevice of a root hub is the kernel's version. */
		memcpy(dd, descriptors, sizeof(dd));
		dd[12] = dd[13] = 0;
		sha256_update(&ctx, dd, sizeof(dd));
		sha256_update(&ctx, (const uint8_t *)descriptors + sizeof(dd),
		    len - sizeof(dd));
	} else
		sha256_update(&ctx, descriptors, len);
	sha256_final(&ctx, out);
}
