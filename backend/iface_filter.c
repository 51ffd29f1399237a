/*
 * iface_filter.c: refused interfaces never reach the AppVM (see
 * iface_filter.h). Multi-byte fields are read and written little-endian
 * by hand, never through struct casts.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <usbredirproto.h>

#include "iface_filter.h"
#include "usb_limits.h"

#define DT_CONFIG		0x02
#define DT_INTERFACE		0x04
#define DT_ENDPOINT		0x05
#define DT_OTHER_SPEED		0x07
#define DT_IAD			0x0b
#define REQ_GET_DESCRIPTOR	0x06
#define REQ_SET_CONFIGURATION	0x09
#define REQ_SET_INTERFACE	0x0b

#define IFF_HELLO_MAX		1024	/* version string + capabilities */
#define IFF_PACKET_MAX		(128u * 1024 * 1024 + 1024)
#define IFF_CAP(c)		(1u << (c))

static const char *const iff_errstr[IFF_E__COUNT] = {
	"success",
	"descriptor truncated",
	"descriptor length invalid",
	"not a configuration descriptor",
	"no space for the rewritten descriptor",
	"no usable configuration",
	"out of memory",
	"impossible packet from the AppVM",
};
_Static_assert(sizeof(iff_errstr) / sizeof(iff_errstr[0]) == IFF_E__COUNT,
    "iff_errstr matches enum iff_error");

const char *
iff_strerror(int err)
{
	if (err > 0 || -err >= IFF_E__COUNT)
		return "unknown filter error";
	return iff_errstr[-err];
}

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* ---- descriptors ------------------------------------------------------------ */

int
iff_alts_has(const struct iff_alts *s, uint8_t iface, uint8_t alt)
{
	int i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (s->pair[i][0] == iface && s->pair[i][1] == alt)
			return 1;
	return 0;
}

int
iff_alts_add(struct iff_alts *s, uint8_t iface, uint8_t alt)
{
	if (iff_alts_has(s, iface, alt))
		return 0;
	if (s->n >= IFF_ALTS_MAX)
		return -1;
	s->pair[s->n][0] = iface;
	s->pair[s->n][1] = alt;
	s->n++;
	return 0;
}

/* The whole interface is hidden (alternate setting 0 is what it starts
 * in after every SET_CONFIGURATION). */
static int
iface_refused(const struct iff_set *refused, const struct iff_alts *alts,
    uint8_t num)
{
	return iff_set_has(refused, num) || iff_alts_has(alts, num, 0);
}

int
iff_rewrite_config(const uint8_t *untrusted_in, size_t len,
    const struct iff_set *refused, uint8_t *out, size_t outsize,
    size_t *outlen, uint32_t *ep_mask)
{
	return iff_rewrite_config_alts(untrusted_in, len, refused, NULL, out,
	    outsize, outlen, ep_mask);
}

enum { KEEP, DROP_IFACE, DROP_ALT };

int
iff_rewrite_config_alts(const uint8_t *untrusted_in, size_t len,
    const struct iff_set *refused, const struct iff_alts *refused_alts,
    uint8_t *out, size_t outsize, size_t *outlen, uint32_t *ep_mask)
{
	struct iff_set kept;
	size_t total, off, o;
	uint32_t iface_eps = 0, alt_eps = 0, kept_eps = 0;
	int dropping = KEEP, n_kept = 0, i;

	*outlen = 0;
	*ep_mask = 0;
	memset(&kept, 0, sizeof(kept));
	if (len < 9)
		return IFF_E_TRUNC;
	if (untrusted_in[1] != DT_CONFIG && untrusted_in[1] != DT_OTHER_SPEED)
		return IFF_E_TYPE;
	if (untrusted_in[0] < 9)
		return IFF_E_LENGTH;
	total = le16(untrusted_in + 2);
	if (total < untrusted_in[0])
		return IFF_E_LENGTH;
	if (total > len)
		return IFF_E_TRUNC;
	if (outsize < untrusted_in[0])
		return IFF_E_NOSPACE;
	memcpy(out, untrusted_in, untrusted_in[0]);
	o = untrusted_in[0];
	for (off = untrusted_in[0]; off < total;) {
		const uint8_t *d = untrusted_in + off;
		size_t dl;
		int keep;

		if (total - off < 2)
			return IFF_E_TRUNC;
		dl = d[0];
		if (dl < 2)
			return IFF_E_LENGTH;
		if (dl > total - off)
			return IFF_E_TRUNC;
		switch (d[1]) {
		case DT_INTERFACE:
			if (dl < 9)
				return IFF_E_LENGTH;
			if (iface_refused(refused, refused_alts, d[2]))
				dropping = DROP_IFACE;
			else if (iff_alts_has(refused_alts, d[2], d[3]))
				dropping = DROP_ALT;
			else
				dropping = KEEP;
			if (dropping == KEEP && !iff_set_has(&kept, d[2])) {
				iff_set_add(&kept, d[2]);
				n_kept++;
			}
			keep = dropping == KEEP;
			break;
		case DT_ENDPOINT:
			if (dl < 7)
				return IFF_E_LENGTH;
			if (dropping == DROP_IFACE)
				iface_eps |= 1u << IFF_EP2I(d[2]);
			else if (dropping == DROP_ALT)
				alt_eps |= 1u << IFF_EP2I(d[2]);
			else
				kept_eps |= 1u << IFF_EP2I(d[2]);
			keep = dropping == KEEP;
			break;
		case DT_IAD:
			if (dl < 8)
				return IFF_E_LENGTH;
			/* A function that lost one interface is not the
			 * function any more: drop its association. */
			keep = 1;
			for (i = 0; i < d[3]; i++)
				if (d[2] + i > 255 ||
				    iface_refused(refused, refused_alts,
				    (uint8_t)(d[2] + i)))
					keep = 0;
			dropping = KEEP;  /* not part of the interface before */
			break;
		case DT_CONFIG:
		case DT_OTHER_SPEED:
			return IFF_E_TYPE;	/* one configuration only */
		default:
			/* Class descriptors follow their interface. */
			keep = dropping == KEEP;
		}
		if (keep) {
			if (outsize - o < dl)
				return IFF_E_NOSPACE;
			memcpy(out + o, d, dl);
			o += dl;
		}
		off += dl;
	}
	/*
	 * An endpoint address that a kept interface shares with a refused
	 * one (a lying descriptor) stays in *ep_mask: refused for both. One
	 * that a refused alternate setting shares with a kept setting stays
	 * usable: the refused setting can never be selected.
	 */
	*ep_mask = iface_eps | (alt_eps & ~kept_eps);
	put16(out + 2, (uint16_t)o);
	out[4] = (uint8_t)n_kept;
	*outlen = o;
	return IFF_OK;
}

/* ---- the filter ------------------------------------------------------------- */

struct iff_conf {
	uint8_t value;			/* bConfigurationValue */
	uint8_t *desc;			/* rewritten */
	size_t len;
	uint32_t ep_mask;
};

struct iff {
	struct iff_set refused;		/* whole interfaces */
	struct iff_alts alts;		/* alternate settings of kept ones */
	int nconf;
	struct iff_conf conf[IFF_MAX_CONFIGS];
	int active;			/* index into conf */
	uint32_t host_caps, guest_caps;
	int host_hello, guest_hello;
	uint64_t pass_left;		/* bytes of an allowed packet to pass */
	uint64_t drop_left;		/* bytes of a refused packet to drop */
	uint64_t refused_count;		/* stalled or dropped */
	uint64_t answered_count;	/* config descriptors served here */
};

void
iff_free(struct iff *f)
{
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nconf; i++)
		free(f->conf[i].desc);
	free(f);
}

uint64_t
iff_refused_count(const struct iff *f)
{
	return f->refused_count;
}

uint64_t
iff_answered_count(const struct iff *f)
{
	return f->answered_count;
}

int
iff_new(const uint8_t *untrusted_desc, size_t len, const uint8_t *refused,
    int n_refused, int active_config, struct iff **out)
{
	return iff_new_alts(untrusted_desc, len, refused, n_refused, NULL, 0,
	    active_config, out);
}

int
iff_new_alts(const uint8_t *untrusted_desc, size_t len,
    const uint8_t *refused, int n_refused,
    const uint8_t (*refused_alts)[2], int n_refused_alts, int active_config,
    struct iff **out)
{
	struct iff_set every;
	struct iff *f;
	size_t off;
	int i, n, r, active;

	*out = NULL;
	if (len < 18 || untrusted_desc[0] < 18 || untrusted_desc[1] != 0x01)
		return IFF_E_TRUNC;
	memset(&every, 0xff, sizeof(every));
	if (n_refused_alts > IFF_ALTS_MAX)
		return IFF_E_NOSPACE;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return IFF_E_NOMEM;
	for (i = 0; i < n_refused; i++)
		iff_set_add(&f->refused, refused[i]);
	/* Alternate setting 0 refused: the whole interface is. */
	for (i = 0; i < n_refused_alts; i++)
		if (refused_alts[i][1] == 0)
			iff_set_add(&f->refused, refused_alts[i][0]);
		else
			(void)iff_alts_add(&f->alts, refused_alts[i][0],
			    refused_alts[i][1]);
	n = untrusted_desc[17];
	if (n > IFF_MAX_CONFIGS)
		n = IFF_MAX_CONFIGS;
	f->active = -1;
	/*
	 * usbfs hands out 18 bytes of device descriptor whatever bLength
	 * claims, then each configuration at its claimed length.
	 */
	for (off = 18, i = 0; i < n; i++) {
		struct iff_conf *c = &f->conf[f->nconf];
		size_t total;

		if (len - off < 9) {
			r = IFF_E_TRUNC;
			goto fail;
		}
		total = le16(untrusted_desc + off + 2);
		if (total > len - off) {
			r = IFF_E_TRUNC;
			goto fail;
		}
		if ((c->desc = malloc(total > 9 ? total : 9)) == NULL) {
			r = IFF_E_NOMEM;
			goto fail;
		}
		c->value = untrusted_desc[off + 5];
		active = c->value == active_config && f->active < 0;
		/*
		 * Another configuration can never be selected (the filter
		 * pins this one), and dom0 judged this one's interfaces: the
		 * AppVM sees the others without any.
		 */
		r = iff_rewrite_config_alts(untrusted_desc + off, total,
		    active ? &f->refused : &every, active ? &f->alts : NULL,
		    c->desc, total, &c->len, &c->ep_mask);
		if (r != IFF_OK) {
			free(c->desc);
			goto fail;
		}
		if (active)
			f->active = f->nconf;
		f->nconf++;
		off += total;
	}
	if (f->active < 0) {
		r = IFF_E_CONFIG;
		goto fail;
	}
	*out = f;
	return IFF_OK;
fail:
	iff_free(f);
	return r;
}

/* ---- guest to host ------------------------------------------------------------ */

static size_t
guest_hdr_len(const struct iff *f)
{
	/* As the host's parser: 32-bit ids until the guest's hello, then
	 * 64-bit ids if both sides offered them. */
	if (f->guest_hello && (f->host_caps & f->guest_caps &
	    IFF_CAP(usb_redir_cap_64bits_ids)))
		return 16;
	return 12;
}

static size_t
bulk_th_len(const struct iff *f)
{
	return (f->host_caps & f->guest_caps &
	    IFF_CAP(usb_redir_cap_32bits_bulk_length)) ? 10 : 8;
}

static int
ep_refused(const struct iff *f, uint8_t ep)
{
	return (f->conf[f->active].ep_mask >> IFF_EP2I(ep)) & 1;
}

/* Queue a packet for the guest: header with the request's id. */
static void
reply(struct iff *f, struct stream *chan, uint32_t type, const uint8_t *hdr,
    size_t hl, const uint8_t *th, size_t thl, const uint8_t *data,
    size_t dl)
{
	uint8_t h[16];

	put32(h, type);
	put32(h + 4, (uint32_t)(thl + dl));
	memcpy(h + 8, hdr + 8, hl - 8);		/* the id, 32 or 64 bits */
	stream_write(chan, h, hl);
	if (thl > 0)
		stream_write(chan, th, thl);
	if (dl > 0)
		stream_write(chan, data, dl);
}

enum verdict { V_PASS, V_REFUSED, V_ANSWERED };

/* Minimum type-header bytes this filter reads, per guest packet type. */
static size_t
th_needed(const struct iff *f, uint32_t type)
{
	switch (type) {
	case usb_redir_hello: return 64;
	case usb_redir_set_configuration:
	case usb_redir_get_alt_setting:
	case usb_redir_start_iso_stream:
	case usb_redir_stop_iso_stream:
	case usb_redir_start_interrupt_receiving:
	case usb_redir_stop_interrupt_receiving:
		return 1;
	case usb_redir_iso_packet:
	case usb_redir_interrupt_packet:
		return 4;
	case usb_redir_set_alt_setting: return 2;
	case usb_redir_alloc_bulk_streams: return 8;
	case usb_redir_free_bulk_streams: return 4;
	case usb_redir_start_bulk_receiving: return 10;
	case usb_redir_stop_bulk_receiving: return 5;
	case usb_redir_control_packet: return 10;
	case usb_redir_bulk_packet: return bulk_th_len(f);
	default: return 0;
	}
}

static enum verdict
control_verdict(struct iff *f, struct stream *chan, const uint8_t *p,
    size_t hl)
{
	const uint8_t *th = p + hl;
	uint8_t out[10];
	uint8_t req = th[1], rtype = th[2];
	uint16_t value = le16(th + 4), index = le16(th + 6);
	uint16_t wlen = le16(th + 8);
	int recipient = rtype & 0x1f, refuse = 0;

	if (req == REQ_GET_DESCRIPTOR && (rtype & 0x80) &&
	    ((value >> 8) == DT_CONFIG || (value >> 8) == DT_OTHER_SPEED)) {
		const struct iff_conf *c;
		size_t n;

		memcpy(out, th, 10);
		if ((rtype & 0x60) != 0 || recipient != 0 ||
		    (value >> 8) == DT_OTHER_SPEED ||
		    (value & 0xff) >= f->nconf) {
			/* Only the standard request, from the cache. */
			out[3] = usb_redir_stall;
			put16(out + 8, 0);
			reply(f, chan, usb_redir_control_packet, p, hl, out, 10,
			    NULL, 0);
			return V_REFUSED;
		}
		c = &f->conf[value & 0xff];
		n = c->len < wlen ? c->len : wlen;
		out[3] = usb_redir_success;
		put16(out + 8, (uint16_t)n);
		reply(f, chan, usb_redir_control_packet, p, hl, out, 10, c->desc,
		    n);
		f->answered_count++;
		return V_ANSWERED;	/* never forwarded */
	}
	if (recipient == 1 && iff_set_has(&f->refused, (uint8_t)index))
		refuse = 1;
	if (recipient == 2 && ep_refused(f, (uint8_t)index))
		refuse = 1;
	/* The standard requests that usbredir also has as packets. */
	if (rtype == 0x01 && req == REQ_SET_INTERFACE &&
	    (value > 255 || iff_alts_has(&f->alts, (uint8_t)index,
	    (uint8_t)value)))
		refuse = 1;
	if (rtype == 0x00 && req == REQ_SET_CONFIGURATION &&
	    value != f->conf[f->active].value)
		refuse = 1;
	if (!refuse)
		return V_PASS;
	memcpy(out, th, 10);
	out[3] = usb_redir_stall;
	put16(out + 8, 0);
	reply(f, chan, usb_redir_control_packet, p, hl, out, 10, NULL, 0);
	return V_REFUSED;
}

static enum verdict
packet_verdict(struct iff *f, struct stream *chan, const uint8_t *p,
    size_t hl, uint32_t type, uint32_t len)
{
	const uint8_t *th = p + hl;
	uint8_t out[10];
	uint32_t mask;

	switch (type) {
	case usb_redir_control_packet:
		return control_verdict(f, chan, p, hl);
	case usb_redir_set_configuration:
		if (th[0] == f->conf[f->active].value)
			return V_PASS;
		out[0] = usb_redir_inval;
		out[1] = f->conf[f->active].value;
		reply(f, chan, usb_redir_configuration_status, p, hl, out, 2,
		    NULL, 0);
		return V_REFUSED;
	case usb_redir_set_alt_setting:
	case usb_redir_get_alt_setting:
		if (!iff_set_has(&f->refused, th[0]) &&
		    (type == usb_redir_get_alt_setting ||
		    !iff_alts_has(&f->alts, th[0], th[1])))
			return V_PASS;
		out[0] = usb_redir_inval;
		out[1] = th[0];
		out[2] = 0xff;
		reply(f, chan, usb_redir_alt_setting_status, p, hl, out, 3,
		    NULL, 0);
		return V_REFUSED;
	case usb_redir_start_iso_stream:
	case usb_redir_stop_iso_stream:
	case usb_redir_start_interrupt_receiving:
	case usb_redir_stop_interrupt_receiving:
		if (!ep_refused(f, th[0]))
			return V_PASS;
		out[0] = usb_redir_stall;
		out[1] = th[0];
		reply(f, chan, type == usb_redir_start_iso_stream ||
		    type == usb_redir_stop_iso_stream ?
		    usb_redir_iso_stream_status :
		    usb_redir_interrupt_receiving_status, p, hl, out, 2, NULL,
		    0);
		return V_REFUSED;
	case usb_redir_start_bulk_receiving:
	case usb_redir_stop_bulk_receiving: {
		uint8_t ep = type == usb_redir_start_bulk_receiving ? th[8] :
		    th[4];

		if (!ep_refused(f, ep))
			return V_PASS;
		memcpy(out, th, 4);		/* stream_id */
		out[4] = ep;
		out[5] = usb_redir_stall;
		reply(f, chan, usb_redir_bulk_receiving_status, p, hl, out, 6,
		    NULL, 0);
		return V_REFUSED;
	}
	case usb_redir_alloc_bulk_streams:
	case usb_redir_free_bulk_streams:
		mask = le32(th);
		if (!(mask & f->conf[f->active].ep_mask))
			return V_PASS;
		put32(out, mask);
		put32(out + 4, type == usb_redir_alloc_bulk_streams ?
		    le32(th + 4) : 0);
		out[8] = usb_redir_inval;
		reply(f, chan, usb_redir_bulk_streams_status, p, hl, out, 9,
		    NULL, 0);
		return V_REFUSED;
	case usb_redir_bulk_packet:
	case usb_redir_interrupt_packet:
		if (!ep_refused(f, th[0]))
			return V_PASS;
		memcpy(out, th, type == usb_redir_bulk_packet ?
		    bulk_th_len(f) : 4);
		out[1] = usb_redir_stall;
		put16(out + 2, 0);
		if (type == usb_redir_bulk_packet && bulk_th_len(f) == 10)
			put16(out + 8, 0);
		reply(f, chan, type, p, hl, out, type == usb_redir_bulk_packet ?
		    bulk_th_len(f) : 4, NULL, 0);
		return V_REFUSED;
	case usb_redir_iso_packet:
		/* No answer per iso packet in usbredir: just drop it. */
		return ep_refused(f, th[0]) ? V_REFUSED : V_PASS;
	default:
		(void)len;
		return V_PASS;
	}
}

int
iff_guest_read(struct iff *f, struct stream *chan, uint8_t *buf,
    size_t count)
{
	size_t done = 0;

	while (done < count) {
		const uint8_t *p = stream_peek(chan);
		size_t avail = stream_available(chan), hl, need, n;
		uint32_t type, len;
		enum verdict v;

		if (f->pass_left > 0) {
			n = avail < count - done ? avail : count - done;
			if (n > f->pass_left)
				n = (size_t)f->pass_left;
			if (n == 0)
				break;
			memcpy(buf + done, p, n);
			stream_consume(chan, n);
			f->pass_left -= n;
			done += n;
			continue;
		}
		if (f->drop_left > 0) {
			n = avail < f->drop_left ? avail : (size_t)f->drop_left;
			if (n == 0)
				break;
			stream_consume(chan, n);
			f->drop_left -= n;
			continue;
		}
		/* A packet boundary: look before anything passes. */
		hl = guest_hdr_len(f);
		if (avail < hl)
			break;
		type = le32(p);
		len = le32(p + 4);
		if (!f->guest_hello) {
			/* The first packet must be the hello; read its
			 * capabilities as the host's parser will. */
			if (type != usb_redir_hello || len < 64 ||
			    len > IFF_HELLO_MAX)
				return IFF_E_PROTO;
			if (avail < hl + len) {
				stream_reserve(chan, hl + len);
				break;
			}
			f->guest_caps = len >= 68 ? le32(p + hl + 64) : 0;
			f->guest_hello = 1;
			f->pass_left = hl + len;
			continue;
		}
		need = th_needed(f, type);
		if (len < need) {
			/* The host's parser refuses it and ends the session. */
			f->pass_left = hl + (uint64_t)len;
			continue;
		}
		if (avail < hl + need) {
			stream_reserve(chan, hl + need);
			break;
		}
		v = packet_verdict(f, chan, p, hl, type, len);
		if (v == V_PASS) {
			f->pass_left = hl + (uint64_t)len;
			continue;
		}
		if (len > IFF_PACKET_MAX)
			return IFF_E_PROTO;
		if (v == V_REFUSED)
			f->refused_count++;
		f->drop_left = hl + (uint64_t)len;
	}
	return (int)done;
}

/* ---- host to guest --------------------------------------------------------------- */

static void
rewrite_interface_info(struct iff *f, uint8_t *th)
{
	uint32_t n = le32(th), i, k = 0;
	uint8_t *num = th + 4, *cls = th + 36, *sub = th + 68, *proto = th + 100;

	if (n > USBREDIR_IFACES_MAX)
		n = USBREDIR_IFACES_MAX;
	for (i = 0; i < n; i++) {
		if (iff_set_has(&f->refused, num[i]))
			continue;
		num[k] = num[i];
		cls[k] = cls[i];
		sub[k] = sub[i];
		proto[k] = proto[i];
		k++;
	}
	for (i = k; i < USBREDIR_IFACES_MAX; i++)
		num[i] = cls[i] = sub[i] = proto[i] = 0;
	put32(th, k);
}

static void
rewrite_ep_info(struct iff *f, uint8_t *th)
{
	uint8_t *type = th, *iface = th + 64;
	int i;

	for (i = 0; i < USB_EP_SLOTS; i++) {
		if (type[i] == usb_redir_type_invalid)
			continue;
		if (((f->conf[f->active].ep_mask >> i) & 1) ||
		    iff_set_has(&f->refused, iface[i]))
			type[i] = usb_redir_type_invalid;
	}
}

int
iff_host_packet(struct iff *f, uint8_t *data, size_t count)
{
	uint32_t type, len;
	uint8_t *th;
	size_t hl;

	if (count < 12)
		return 0;
	type = le32(data);
	len = le32(data + 4);
	if (len > count || (count - len != 12 && count - len != 16))
		return 0;	/* not a packet as we know them: never sent */
	hl = count - len;
	th = data + hl;
	switch (type) {
	case usb_redir_hello:
		if (len >= 68)
			f->host_caps = le32(th + 64);
		f->host_hello = 1;
		return 1;
	case usb_redir_interface_info:
		if (len < 132)
			return 0;
		rewrite_interface_info(f, th);
		return 1;
	case usb_redir_ep_info:
		if (len < 96)
			return 0;
		rewrite_ep_info(f, th);
		return 1;
	case usb_redir_bulk_packet:
	case usb_redir_iso_packet:
	case usb_redir_interrupt_packet:
		return len >= 1 && !ep_refused(f, th[0]);
	case usb_redir_buffered_bulk_packet:
		return len >= 10 && !ep_refused(f, th[8]);
	default:
		return 1;
	}
}
