/*
 * submit.c: one URB submitted by the AppVM kernel, whichever host
 * controller carried it (vhci_rx.c decodes USB/IP commands, kmod_rx.c
 * usbgate_hcd records), turned into usbredir requests to the backend.
 * Control requests that change device state (SET_CONFIGURATION,
 * SET_INTERFACE) become their usbredir requests so that sys-usb's kernel
 * knows of them; interrupt and isochronous input is served from streams the
 * backend runs; an unlink becomes a cancel. usbgate_hcd's bulk streams
 * requests become usbredir's, and a bulk URB's stream id stays within the
 * ids its endpoint was granted.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "session.h"
#include "usb_limits.h"

#define USB_REQ_GET_DESCRIPTOR		0x06
#define USB_DT_DEVICE			0x01
#define USB_DT_CONFIG			0x02
#define USB_DT_OTHER_SPEED		0x07
#define USB_REQ_GET_CONFIGURATION	0x08
#define USB_REQ_SET_CONFIGURATION	0x09
#define USB_REQ_SET_INTERFACE		0x0b

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * Stop the streams (interrupt receiving, iso) the backend runs on the
 * endpoints of one interface (-1: all) before a request that reconfigures
 * them, as QEMU's usb-redir does. usbredirhost keeps its streams across a
 * SET_CONFIGURATION to the current configuration and cancels them without
 * a word on SET_INTERFACE; without an explicit stop the two ends disagree
 * (a restart is refused as "already started", or input never comes).
 * Packets of the old stream that still arrive find the endpoint stopped and
 * are dropped; the request's own answer comes after them.
 *
 * The endpoints' bulk streams (kmod) go too: sys-usb's kernel drops those
 * of an interface whose alternate setting is set (usb_set_interface, and
 * xHCI frees their contexts) and all of them on a reset (libusb releases
 * the interfaces first, which frees theirs; xHCI's device reset frees the
 * rest), as the AppVM's kernel forgets them without a free. Kept here, the
 * next allocation would be refused as a second one.
 */
static void
stop_streams(struct fe_session *s, int interface)
{
	int i;

	for (i = 1; i < USB_EP_SLOTS; i++) {
		struct fe_ep *e = &s->ep[i];
		uint8_t ep = (uint8_t)FE_I2EP(i);

		if ((i & 0x0f) == 0 ||
		    (interface >= 0 && e->interface != interface))
			continue;
		e->bulk_streams = 0;
		if (!e->started)
			continue;
		if (e->type == usb_redir_type_iso) {
			struct usb_redir_stop_iso_stream_header h = {
				.endpoint = ep,
			};

			usbredirparser_send_stop_iso_stream(s->parser, 0, &h);
		} else if (e->type == usb_redir_type_interrupt && (ep & 0x80)) {
			struct usb_redir_stop_interrupt_receiving_header h = {
				.endpoint = ep,
			};

			usbredirparser_send_stop_interrupt_receiving(s->parser, 0,
			    &h);
		}
		fe_ep_reset(s, e, 0);
	}
}

void
fe_reset_device(struct fe_session *s)
{
	stop_streams(s, -1);
	usbredirparser_send_reset(s->parser);
	s->configured = 0;
	s->stats.resets++;
	log_info("port reset in the AppVM: resetting the device");
}

static void
submit_control(struct fe_session *s, struct urb *u, const uint8_t *setup,
    const uint8_t *data)
{
	struct usb_redir_control_packet_header h;
	uint8_t rt = setup[0], req = setup[1];
	uint16_t value = le16(setup + 2), index = le16(setup + 4);
	uint16_t wlength = le16(setup + 6);

	if (rt == 0x00 && req == USB_REQ_SET_CONFIGURATION) {
		struct usb_redir_set_configuration_header sc = {
			.configuration = (uint8_t)value,
		};

		u->kind = URB_SET_CONFIG;
		stop_streams(s, -1);
		usbredirparser_send_set_configuration(s->parser, u->seqnum, &sc);
		return;
	}
	if (rt == 0x01 && req == USB_REQ_SET_INTERFACE) {
		struct usb_redir_set_alt_setting_header sa = {
			.interface = (uint8_t)index,
			.alt = (uint8_t)value,
		};

		u->kind = URB_SET_ALT;
		stop_streams(s, (uint8_t)index);
		usbredirparser_send_set_alt_setting(s->parser, u->seqnum, &sa);
		return;
	}
	if (rt == 0x80 && req == USB_REQ_GET_DESCRIPTOR &&
	    (value >> 8) == USB_DT_DEVICE && s->configured && !s->kmod) {
		/*
		 * The kernel reads a configured device's device descriptor
		 * only when it resets it (hub_port_init after a port reset,
		 * which vhci_hcd performs on its own and never tells us).
		 * Make the reset real in sys-usb first: wallets and DFU
		 * devices rely on it. The kernel sets the configuration
		 * again afterwards. (usbgate_hcd tells us: kmod_rx.c.)
		 */
		fe_reset_device(s);
	}
	if (rt == 0x80 && req == USB_REQ_GET_CONFIGURATION) {
		/* usbfs cannot pass this one; the backend answers from state. */
		u->kind = URB_GET_CONFIG;
		usbredirparser_send_get_configuration(s->parser, u->seqnum);
		return;
	}
	u->kind = URB_CONTROL;
	/* Any standard one, whatever the recipient: the answer is checked. */
	u->config_desc = (rt & 0xe0) == 0x80 && req == USB_REQ_GET_DESCRIPTOR &&
	    ((value >> 8) == USB_DT_CONFIG || (value >> 8) == USB_DT_OTHER_SPEED);
	memset(&h, 0, sizeof(h));
	h.endpoint = u->in ? 0x80 : 0x00;
	h.request = req;
	h.requesttype = rt;
	h.value = value;
	h.index = index;
	if (u->in) {
		h.length = wlength < u->length ? wlength : (uint16_t)u->length;
		u->length = h.length;
		usbredirparser_send_control_packet(s->parser, u->seqnum, &h,
		    NULL, 0);
	} else {
		h.length = (uint16_t)(u->length < wlength ? u->length : wlength);
		usbredirparser_send_control_packet(s->parser, u->seqnum, &h,
		    (uint8_t *)data, h.length);
	}
}

static void
submit_iso(struct fe_session *s, struct urb *u, struct fe_ep *e,
    const uint8_t *data)
{
	uint32_t i, sum = 0;

	for (i = 0; i < u->npackets; i++) {
		/*
		 * The kernel built these from its URB; still, stay inside it. IN
		 * data goes back packed (fe_ep_pump), so the lengths together
		 * must fit the URB too, not only each one.
		 */
		if (u->iso[i].offset > u->length ||
		    u->iso[i].length > u->length - u->iso[i].offset ||
		    u->iso[i].length > u->length - sum) {
			fe_complete(s, u, -EINVAL, NULL, 0);
			return;
		}
		sum += u->iso[i].length;
		u->iso[i].actual_length = 0;
		u->iso[i].status = 0;
	}
	if (!e->started) {
		struct usb_redir_start_iso_stream_header st = {
			.endpoint = u->ep,
			/* usbredir caps: 32 packets per transfer, 16 transfers */
			.pkts_per_urb = (uint8_t)(u->npackets > 32 ? 32 :
			    (u->npackets ? u->npackets : 1)),
			.no_urbs = u->in ? 8 : 4,
		};

		usbredirparser_send_start_iso_stream(s->parser, 0, &st);
		e->started = 1;
		e->out_clock_ns = 0;
	}
	if (u->in) {
		u->kind = URB_ISO_IN;
		u->iso_data = malloc(u->length ? u->length : 1);
		if (u->iso_data == NULL) {
			fe_fail(s, FE_E_NOMEM, "iso buffer");
			return;
		}
		fe_ep_enqueue(s, e, u);
		fe_ep_pump(s, FE_EP2I(u->ep));
		return;
	}
	/* OUT: one usbredir iso packet per USB packet, paced completion. */
	u->kind = URB_ISO_OUT;
	for (i = 0; i < u->npackets; i++) {
		struct usb_redir_iso_packet_header h = {
			.endpoint = u->ep,
			.status = usb_redir_success,
			.length = (uint16_t)u->iso[i].length,
		};

		usbredirparser_send_iso_packet(s->parser, u->seqnum, &h,
		    (uint8_t *)data + u->iso[i].offset, (int)u->iso[i].length);
		u->iso[i].actual_length = u->iso[i].length;
	}
	{
		/* A full-speed frame is 1 ms; high speed counts microframes. */
		uint64_t per = s->speed >= FE_SPEED_HIGH ?
		    125000ull << (e->interval > 0 && e->interval <= 16 ?
		    e->interval - 1 : 0) : 1000000ull;
		uint64_t now = mono_ns();

		/*
		 * The device plays one packet per (micro)frame: complete the
		 * URB when its data would have gone out on a real bus, so the
		 * driver's ring buffer drains in real time. Completing early
		 * would eat the application's prefill (an underrun at start);
		 * the backend's own iso buffer absorbs the channel's latency.
		 */
		if (e->out_clock_ns < now)
			e->out_clock_ns = now;
		e->out_clock_ns += per * u->npackets;
		u->deadline_ns = e->out_clock_ns;
	}
	fe_ep_enqueue(s, e, u);
}

int
fe_iso_out_tick(struct fe_session *s)
{
	uint64_t now = 0, next = UINT64_MAX;
	int i;

	/* Endpoint indices 0..15 are the OUT endpoints. */
	for (i = 0; i < 16; i++) {
		struct fe_ep *e = &s->ep[i];
		struct urb *u;

		if (e->type != usb_redir_type_iso || e->qhead < 0)
			continue;
		if (now == 0)
			now = mono_ns();
		while ((u = fe_ep_peek(s, e)) != NULL &&
		    u->kind == URB_ISO_OUT && u->deadline_ns <= now) {
			fe_ep_dequeue_head(s, e);
			fe_complete_iso(s, u);
		}
		if (u != NULL && u->deadline_ns < next)
			next = u->deadline_ns;
	}
	if (next == UINT64_MAX)
		return -1;
	return (int)((next - now) / 1000000ull) + 1;
}

void
fe_submit(struct fe_session *s, struct urb *u, const uint8_t *setup,
    const uint8_t *data)
{
	struct fe_ep *e = &s->ep[FE_EP2I(u->ep)];
	uint8_t ep = u->ep;

	s->stats.urbs++;
	u->submit_ns = mono_ns();
	if ((ep & 0x0f) == 0) {
		submit_control(s, u, setup, data);
		return;
	}
	switch (e->type) {
	case usb_redir_type_bulk: {
		struct usb_redir_bulk_packet_header h = {
			.endpoint = ep,
			.length = (uint16_t)(u->length & 0xffff),
			.length_high = (uint16_t)(u->length >> 16),
			.stream_id = u->stream,
		};

		if (u->stream > e->bulk_streams) {
			fe_complete(s, u, -EINVAL, NULL, 0);
			return;
		}
		if (u->length > 0xffff && !usbredirparser_peer_has_cap(s->parser,
		    usb_redir_cap_32bits_bulk_length)) {
			fe_complete(s, u, -EMSGSIZE, NULL, 0);
			return;
		}
		u->kind = URB_BULK;
		usbredirparser_send_bulk_packet(s->parser, u->seqnum, &h,
		    (uint8_t *)data, u->in ? 0 : (int)u->length);
		return;
	}
	case usb_redir_type_interrupt:
		if (u->in) {
			u->kind = URB_INT_IN;
			if (!e->started) {
				struct usb_redir_start_interrupt_receiving_header h = {
					.endpoint = ep,
				};

				usbredirparser_send_start_interrupt_receiving(
				    s->parser, 0, &h);
				e->started = 1;
			}
			fe_ep_enqueue(s, e, u);
			fe_ep_pump(s, FE_EP2I(ep));
		} else {
			struct usb_redir_interrupt_packet_header h = {
				.endpoint = ep,
				.length = (uint16_t)u->length,
			};

			if (u->length > 0xffff) {
				fe_complete(s, u, -EMSGSIZE, NULL, 0);
				return;
			}
			u->kind = URB_INT_OUT;
			usbredirparser_send_interrupt_packet(s->parser,
			    u->seqnum, &h, (uint8_t *)data, (int)u->length);
		}
		return;
	case usb_redir_type_iso:
		if (u->npackets == 0) {
			fe_complete(s, u, -EINVAL, NULL, 0);
			return;
		}
		submit_iso(s, u, e, data);
		return;
	default:
		/* No such endpoint in the current configuration. */
		u->kind = URB_CONTROL;
		fe_complete(s, u, -EPIPE, NULL, 0);
		return;
	}
}

void
fe_streams_request(struct fe_session *s, uint64_t id, uint32_t endpoints,
    uint32_t streams)
{
	int i;

	if (!usbredirparser_peer_has_cap(s->parser,
	    usb_redir_cap_bulk_streams)) {
		log_info("bulk streams: the backend has none");
		fe_kmod_streams_done(s, id, -EOPNOTSUPP, 0);
		return;
	}
	/* Bulk endpoints of the current configuration, never endpoint 0. */
	for (i = 0; i < USB_EP_SLOTS; i++) {
		if ((endpoints >> i & 1) == 0)
			continue;
		if ((i & 0x0f) == 0 || s->ep[i].type != usb_redir_type_bulk ||
		    (streams != 0 && s->ep[i].bulk_streams != 0)) {
			log_info("bulk streams: endpoint %02x refused",
			    FE_I2EP(i));
			fe_kmod_streams_done(s, id, -EINVAL, 0);
			return;
		}
	}
	if (endpoints == 0) {
		fe_kmod_streams_done(s, id, -EINVAL, 0);
		return;
	}
	s->sreq.id = id;
	s->sreq.endpoints = endpoints;
	s->sreq.streams = streams;
	if (streams != 0) {
		struct usb_redir_alloc_bulk_streams_header h = {
			.endpoints = endpoints,
			.no_streams = streams,
		};

		usbredirparser_send_alloc_bulk_streams(s->parser, id, &h);
	} else {
		struct usb_redir_free_bulk_streams_header h = {
			.endpoints = endpoints,
		};

		usbredirparser_send_free_bulk_streams(s->parser, id, &h);
	}
}

int
fe_cancel(struct fe_session *s, struct urb *u, uint32_t unlink)
{
	struct fe_ep *e = &s->ep[FE_EP2I(u->ep)];

	switch (u->kind) {
	case URB_INT_IN:
	case URB_ISO_IN:
	case URB_ISO_OUT:
		/* Waiting locally: cancel here. */
		fe_ep_remove(s, e, u);
		fe_urb_release(s, u);
		return 1;
	case URB_CONTROL:
	case URB_BULK:
	case URB_INT_OUT:
		if (u->unlink_seqnum == 0)
			usbredirparser_send_cancel_data_packet(s->parser,
			    u->seqnum);
		u->unlink_seqnum = unlink;
		return 0;
	default:
		/* Configuration changes cannot be cancelled; answer later. */
		u->unlink_seqnum = unlink;
		return 0;
	}
}
