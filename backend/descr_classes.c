/*
 * descr_classes.c: the interface descriptors of every configuration and
 * alternate setting (see descr_classes.h). The descriptors come from the
 * device through the kernel's cache: they are walked with the control
 * protocol's bounds-checked cursor into an untrusted list, and that list
 * passes one sanitize step before it reaches the DEV_ADD.
 */
#include "config.h"

#include <string.h>

#include "descr_classes.h"

#define DT_DEVICE	0x01
#define DT_CONFIG	0x02
#define DT_INTERFACE	0x04
#define DC_MAX_CONFIGS	8	/* the kernel keeps at most USB_MAXCONFIG */

static const char *const dc_errstr[DC_E__COUNT] = {
	"success",
	"descriptors truncated",
	"descriptor length invalid",
	"unexpected descriptor type",
	"bytes after the last configuration",
	"too many interface descriptors",
	"hub interface",
	"interface descriptor repeated",
};
_Static_assert(sizeof(dc_errstr) / sizeof(dc_errstr[0]) == DC_E__COUNT,
    "dc_errstr matches enum dc_error");

const char *
dc_strerror(int err)
{
	if (err > 0 || -err >= DC_E__COUNT)
		return "unknown descriptor error";
	return dc_errstr[-err];
}

struct dc_list {
	int n;
	struct ctl_ifalt e[CTL_ALT_MAX];
};

/* One descriptor's header; the cursor is left after it, on its body. */
static int
next_desc(struct ctl_cur *c, uint8_t *type, struct ctl_cur *body)
{
	uint8_t blen = 0;

	ctl_get_u8(c, &blen);
	ctl_get_u8(c, type);
	if (c->err != CTL_OK)
		return DC_E_TRUNC;
	if (blen < 2)
		return DC_E_LENGTH;
	if (ctl_get_sub(c, body, (size_t)blen - 2) != CTL_OK)
		return DC_E_TRUNC;
	return DC_OK;
}

/* The interface descriptors of one configuration (after its header). */
static int
walk_config(struct ctl_cur *c, uint8_t value, struct dc_list *untrusted)
{
	struct ctl_cur body;
	struct ctl_ifalt *e;
	uint8_t type = 0, n_ep = 0;
	int r;

	while (ctl_cur_left(c) > 0) {
		if ((r = next_desc(c, &type, &body)) != DC_OK)
			return r;
		if (type == DT_CONFIG || type == DT_DEVICE)
			return DC_E_TYPE;	/* inside a configuration */
		if (type != DT_INTERFACE)
			continue;
		if (ctl_cur_left(&body) < 7)
			return DC_E_LENGTH;
		if (untrusted->n >= CTL_ALT_MAX)
			return DC_E_TOOMANY;
		e = &untrusted->e[untrusted->n++];
		e->config = value;
		ctl_get_u8(&body, &e->number);
		ctl_get_u8(&body, &e->alt);
		ctl_get_u8(&body, &n_ep);		/* bNumEndpoints */
		ctl_get_u8(&body, &e->cls);
		ctl_get_u8(&body, &e->subcls);
		ctl_get_u8(&body, &e->proto);
	}
	return DC_OK;
}

/* Device descriptor, then each configuration; nothing after them. */
static int
walk(struct ctl_cur *c, struct dc_list *untrusted)
{
	struct ctl_cur body, conf;
	uint8_t type = 0, blen = 0, value = 0, n_conf = 0, skip[256];
	uint16_t total = 0;
	int i, r;

	if ((r = next_desc(c, &type, &body)) != DC_OK)
		return r;
	if (type != DT_DEVICE)
		return DC_E_TYPE;
	if (ctl_cur_left(&body) < 16)
		return DC_E_LENGTH;
	ctl_get_bytes(&body, skip, 15);		/* bcdUSB .. iSerialNumber */
	ctl_get_u8(&body, &n_conf);
	if (n_conf > DC_MAX_CONFIGS)
		n_conf = DC_MAX_CONFIGS;
	for (i = 0; i < n_conf; i++) {
		/* The header's own fields, then the rest at wTotalLength. */
		ctl_get_u8(c, &blen);
		ctl_get_u8(c, &type);
		ctl_get_u16(c, &total);
		if (c->err != CTL_OK)
			return DC_E_TRUNC;
		if (type != DT_CONFIG)
			return DC_E_TYPE;
		if (blen < 9 || total < blen)
			return DC_E_LENGTH;
		if (ctl_get_sub(c, &conf, (size_t)total - 4) != CTL_OK)
			return DC_E_TRUNC;
		ctl_get_bytes(&conf, skip, 1);		/* bNumInterfaces */
		ctl_get_u8(&conf, &value);	/* bConfigurationValue */
		ctl_get_bytes(&conf, skip, (size_t)blen - 6);
		if ((r = walk_config(&conf, value, untrusted)) != DC_OK)
			return r;
	}
	return ctl_cur_left(c) == 0 ? DC_OK : DC_E_TRAILING;
}

/* The sanitize step: no hub, no interface descriptor twice. */
static int
sanitize(const struct dc_list *untrusted, struct ctl_dev *out)
{
	int i, j;

	for (i = 0; i < untrusted->n; i++) {
		const struct ctl_ifalt *a = &untrusted->e[i];

		if (a->cls == 0x09)
			return DC_E_HUB;
		for (j = 0; j < i; j++)
			if (untrusted->e[j].config == a->config &&
			    untrusted->e[j].number == a->number &&
			    untrusted->e[j].alt == a->alt)
				return DC_E_DUP;
	}
	memcpy(out->alts, untrusted->e, (size_t)untrusted->n *
	    sizeof(untrusted->e[0]));
	out->n_alts = (uint8_t)untrusted->n;
	return DC_OK;
}

int
dc_classes(const uint8_t *untrusted_desc, size_t len, struct ctl_dev *out)
{
	struct dc_list untrusted;
	struct ctl_cur c;
	int r;

	out->n_alts = 0;
	untrusted.n = 0;
	ctl_cur_init(&c, untrusted_desc, len);
	if ((r = walk(&c, &untrusted)) != DC_OK)
		return r;
	return sanitize(&untrusted, out);
}
