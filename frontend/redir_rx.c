/*
 * redir_rx.c: packets from the backend (usbredir, host role) turned into
 * answers to vhci. Every callback here receives untrusted_ data: it checks
 * the packet against the URB it claims to answer (id, kind, endpoint,
 * length) or against the endpoint state (streams), and a packet that does
 * not fit ends the session instead of reaching the kernel.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "usb_limits.h"

#define SESSION(priv) ((struct fe_session *)(priv))

static int
status_valid(uint8_t st)
{
	return st <= usb_redir_babble;
}

/* Find the URB an answer claims, or end the session. */
static struct urb *
claim(struct fe_session *s, uint64_t untrusted_id, enum urb_kind kind,
    const char *what)
{
	struct urb *u;

	if (untrusted_id > UINT32_MAX ||
	    (u = fe_urb_find(s, (uint32_t)untrusted_id)) == NULL ||
	    u->kind != kind) {
		fe_fail(s, FE_E_PROTO, "%s answer for unknown id %llu", what,
		    (unsigned long long)untrusted_id);
		return NULL;
	}
	return u;
}

/* ---------------------------------------------------------------- control */

static void
cb_hello(void *priv, struct usb_redir_hello_header *h)
{
	struct fe_session *s = SESSION(priv);
	char v[sizeof(h->version) + 1];
	size_t i;

	/* The version is only logged: keep printable characters. */
	memcpy(v, h->version, sizeof(h->version));
	v[sizeof(h->version)] = '\0';
	for (i = 0; v[i] != '\0'; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			v[i] = '?';
	log_info("backend: %s", v);
	if (!usbredirparser_peer_has_cap(s->parser, usb_redir_cap_64bits_ids))
		log_info("backend lacks 64-bit ids");
}

static void
cb_device_connect(void *priv, struct usb_redir_device_connect_header *untrusted)
{
	struct fe_session *s = SESSION(priv);
	struct stream *vs;
	int speed, fd, rc;

	/* Ended by a packet before it in the same read: attach nothing. */
	if (s->error != FE_OK)
		return;
	if (s->connected) {
		fe_fail(s, FE_E_PROTO, "second device_connect without disconnect");
		return;
	}
	switch (untrusted->speed) {
	case usb_redir_speed_low:	speed = FE_SPEED_LOW; break;
	case usb_redir_speed_full:	speed = FE_SPEED_FULL; break;
	case usb_redir_speed_high:	speed = FE_SPEED_HIGH; break;
	case usb_redir_speed_super:	speed = FE_SPEED_SUPER; break;
	default:
		fe_fail(s, FE_E_PROTO, "device_connect with invalid speed %u",
		    untrusted->speed);
		return;
	}
	/* sanitized: speed is one of four values */
	s->speed = speed;
	s->vid = untrusted->vendor_id;
	s->pid = untrusted->product_id;
	s->connected = 1;
	log_info("backend offers %04x:%04x speed %d", s->vid, s->pid, speed);
	fd = s->hooks.attach(s->hooks.ctx, speed, s->vid, s->pid);
	if (fd < 0) {
		fe_fail(s, FE_E_ATTACH, "vhci attach failed");
		return;
	}
	rc = stream_from_fds(fd, fd, &vs);
	if (rc < 0) {
		close(fd);
		fe_fail(s, FE_E_NOMEM, "vhci stream: %s", stream_strerror(rc));
		return;
	}
	s->vhci = vs;
	fe_kmod_attach(s);	/* usbgate_hcd instead of vhci? */
}

static void
cb_device_disconnect(void *priv)
{
	struct fe_session *s = SESSION(priv);

	/* usbredirparser queues the disconnect_ack itself. */
	fe_fail(s, FE_E_DISCONNECT, "device disconnected in sys-usb");
}

static void
cb_interface_info(void *priv, struct usb_redir_interface_info_header *untrusted)
{
	struct fe_session *s = SESSION(priv);
	uint32_t i;

	if (untrusted->interface_count > USBREDIR_IFACES_MAX) {
		fe_fail(s, FE_E_PROTO, "interface_info with %u interfaces",
		    untrusted->interface_count);
		return;
	}
	/* sanitized: the count fits the tables */
	for (i = 0; i < untrusted->interface_count; i++)
		if (!fe_classes_allow(&s->classes,
		    untrusted->interface_class[i],
		    untrusted->interface_subclass[i],
		    untrusted->interface_protocol[i])) {
			fe_fail(s, FE_E_IDENTITY, "the backend announces "
			    "interface %u of class %02x:%02x:%02x, which dom0 "
			    "did not approve", untrusted->interface[i],
			    untrusted->interface_class[i],
			    untrusted->interface_subclass[i],
			    untrusted->interface_protocol[i]);
			return;
		}
}

/* The wire's tables are the sizes usb_limits.h names. */
_Static_assert(sizeof(((struct usb_redir_ep_info_header *)0)->type) ==
    USB_EP_SLOTS, "usbredir ep_info has USB_EP_SLOTS entries");
_Static_assert(sizeof(((struct usb_redir_interface_info_header *)0)->
    interface) == USBREDIR_IFACES_MAX,
    "usbredir interface_info has USBREDIR_IFACES_MAX entries");

static void
cb_ep_info(void *priv, struct usb_redir_ep_info_header *untrusted)
{
	struct fe_session *s = SESSION(priv);
	int i;

	for (i = 0; i < USB_EP_SLOTS; i++) {
		uint8_t t = untrusted->type[i];

		if (t > usb_redir_type_interrupt && t != usb_redir_type_invalid) {
			fe_fail(s, FE_E_PROTO, "ep_info: bad type %u", t);
			return;
		}
		if ((i & 0x0f) == 0 && t != usb_redir_type_control) {
			fe_fail(s, FE_E_PROTO, "ep_info: endpoint 0 not control");
			return;
		}
		if (untrusted->max_packet_size[i] > FE_MAX_PKT) {
			fe_fail(s, FE_E_PROTO, "ep_info: max packet %u",
			    untrusted->max_packet_size[i]);
			return;
		}
	}
	/* sanitized: apply. A changed endpoint loses its streams. */
	for (i = 0; i < USB_EP_SLOTS; i++) {
		struct fe_ep *e = &s->ep[i];

		if (e->type != untrusted->type[i] ||
		    e->interface != untrusted->interface[i] ||
		    e->max_packet_size != untrusted->max_packet_size[i])
			fe_ep_reset(s, e, e->type != untrusted->type[i] ?
			    -ESHUTDOWN : 0);
		e->type = untrusted->type[i];
		e->interval = untrusted->interval[i];
		e->interface = untrusted->interface[i];
		e->max_packet_size = untrusted->max_packet_size[i];
	}
	s->have_ep_info = 1;
}

static void
cb_configuration_status(void *priv, uint64_t id,
    struct usb_redir_configuration_status_header *untrusted)
{
	struct fe_session *s = SESSION(priv);
	struct urb *u;

	if (!status_valid(untrusted->status)) {
		fe_fail(s, FE_E_PROTO, "configuration_status %u", untrusted->status);
		return;
	}
	if (id <= UINT32_MAX && (u = fe_urb_find(s, (uint32_t)id)) != NULL &&
	    u->kind == URB_GET_CONFIG) {
		uint8_t v = untrusted->configuration;

		fe_complete(s, u, fe_redir_status_to_errno(untrusted->status),
		    &v, untrusted->status == usb_redir_success && u->length ? 1 : 0);
		return;
	}
	u = claim(s, id, URB_SET_CONFIG, "configuration_status");
	if (u != NULL) {
		int i;

		/* The backend dropped every stream with the old configuration. */
		for (i = 1; i < USB_EP_SLOTS; i++)
			if ((i & 0x0f) != 0)
				fe_ep_reset(s, &s->ep[i], 0);
		s->configured = untrusted->status == usb_redir_success &&
		    untrusted->configuration != 0;
		fe_complete(s, u, fe_redir_status_to_errno(untrusted->status),
		    NULL, 0);
	}
}

static void
cb_alt_setting_status(void *priv, uint64_t id,
    struct usb_redir_alt_setting_status_header *untrusted)
{
	struct fe_session *s = SESSION(priv);
	struct urb *u;

	if (!status_valid(untrusted->status)) {
		fe_fail(s, FE_E_PROTO, "alt_setting_status %u", untrusted->status);
		return;
	}
	u = claim(s, id, URB_SET_ALT, "alt_setting_status");
	if (u != NULL)
		fe_complete(s, u, fe_redir_status_to_errno(untrusted->status),
		    NULL, 0);
}

static void
stream_status(struct fe_session *s, uint8_t untrusted_ep,
    uint8_t untrusted_status, uint8_t want_type, const char *what)
{
	struct fe_ep *e = &s->ep[FE_EP2I(untrusted_ep)];

	if (!status_valid(untrusted_status)) {
		fe_fail(s, FE_E_PROTO, "%s status %u", what, untrusted_status);
		return;
	}
	if (untrusted_status == usb_redir_success)
		return;
	if (e->type != want_type)
		return;
	/* The stream failed: waiting URBs learn why. */
	log_debug("%s on ep %02x failed: %u", what, untrusted_ep,
	    untrusted_status);
	fe_ep_reset(s, e, fe_redir_status_to_errno(untrusted_status));
}

static void
cb_iso_stream_status(void *priv, uint64_t id,
    struct usb_redir_iso_stream_status_header *untrusted)
{
	stream_status(SESSION(priv), untrusted->endpoint, untrusted->status,
	    usb_redir_type_iso, "iso stream");
}

static void
cb_interrupt_receiving_status(void *priv, uint64_t id,
    struct usb_redir_interrupt_receiving_status_header *untrusted)
{
	stream_status(SESSION(priv), untrusted->endpoint, untrusted->status,
	    usb_redir_type_interrupt, "interrupt receiving");
}

static void
cb_bulk_streams_status(void *priv, uint64_t id,
    struct usb_redir_bulk_streams_status_header *untrusted)
{
	struct fe_session *s = SESSION(priv);
	uint32_t want = s->sreq.streams;
	uint64_t rid = s->sreq.id;
	int32_t err;
	int i;

	/* Only usbgate_hcd asks for streams, one request at a time. */
	if (rid == 0 || (uint32_t)id != (uint32_t)rid ||
	    untrusted->endpoints != s->sreq.endpoints ||
	    !status_valid(untrusted->status) ||
	    (untrusted->status == usb_redir_success &&
	    untrusted->no_streams != want)) {
		fe_fail(s, FE_E_PROTO, "bulk_streams_status that answers "
		    "nothing asked (endpoints %08x streams %u status %u)",
		    untrusted->endpoints, untrusted->no_streams,
		    untrusted->status);
		return;
	}
	/* sanitized: the answer to the outstanding request */
	s->sreq.id = 0;
	err = fe_redir_status_to_errno(untrusted->status);
	/*
	 * A free forgets the streams whatever sys-usb answers: a refusal
	 * means it had none left (a SET_INTERFACE or a reset after their
	 * grant dropped them: the kernel frees a grant it gave up on), and
	 * no URB may use ids a free gave back. A later allocation is sys-usb's
	 * to grant or refuse.
	 */
	if (err == 0 || want == 0)
		for (i = 0; i < USB_EP_SLOTS; i++)
			if (s->sreq.endpoints >> i & 1)
				s->ep[i].bulk_streams = want;
	if (err == 0)
		s->stats.streams += want;
	if (want != 0)
		log_info("bulk streams: %u %s on endpoints %08x", want,
		    err == 0 ? "allocated" : "refused", s->sreq.endpoints);
	else
		log_info("bulk streams: %s on endpoints %08x",
		    err == 0 ? "freed" : "not freed", s->sreq.endpoints);
	fe_kmod_streams_done(s, rid, err, want);
}

static void
cb_bulk_receiving_status(void *priv, uint64_t id,
    struct usb_redir_bulk_receiving_status_header *untrusted)
{
	fe_fail(SESSION(priv), FE_E_PROTO, "unsolicited bulk_receiving_status");
}

static void
cb_filter_reject(void *priv)
{
	fe_fail(SESSION(priv), FE_E_DISCONNECT, "backend rejected our filter");
}

static void
cb_filter_filter(void *priv, struct usbredirfilter_rule *rules, int count)
{
	/* A host-side filter is informational for a guest: drop it. */
	free(rules);
}

/* ---------------------------------------------------------------- data */

static void
answer(struct fe_session *s, struct urb *u, uint8_t untrusted_ep,
    uint8_t untrusted_status, uint32_t untrusted_len, uint8_t *data,
    int data_len, const char *what)
{
	char why[96];

	if (!status_valid(untrusted_status) || untrusted_ep != u->ep ||
	    data_len < 0 || (uint32_t)data_len > u->length ||
	    (u->in && untrusted_len != (uint32_t)data_len &&
	    untrusted_status == usb_redir_success) ||
	    (!u->in && data_len != 0) ||
	    (!u->in && untrusted_len > u->length)) {
		usbredirparser_free_packet_data(s->parser, data);
		fe_fail(s, FE_E_PROTO, "%s answer does not fit its request "
		    "(ep %02x/%02x len %d/%u status %u)", what, untrusted_ep,
		    u->ep, data_len, u->length, untrusted_status);
		return;
	}
	/* sanitized; a configuration is what dom0 approved, or never given */
	if (u->config_desc && fe_classes_check_config(&s->classes, data,
	    (size_t)data_len, why, sizeof(why)) < 0) {
		usbredirparser_free_packet_data(s->parser, data);
		fe_fail(s, FE_E_IDENTITY, "configuration descriptor: %s", why);
		return;
	}
	if (u->in)
		fe_complete_owned(s, u, fe_redir_status_to_errno(untrusted_status),
		    data, (uint32_t)data_len);
	else {
		usbredirparser_free_packet_data(s->parser, data);
		fe_complete(s, u, fe_redir_status_to_errno(untrusted_status),
		    NULL, untrusted_len);
	}
}

static void
cb_control_packet(void *priv, uint64_t id,
    struct usb_redir_control_packet_header *untrusted, uint8_t *data,
    int data_len)
{
	struct fe_session *s = SESSION(priv);
	struct urb *u = claim(s, id, URB_CONTROL, "control");

	if (u == NULL) {
		usbredirparser_free_packet_data(s->parser, data);
		return;
	}
	answer(s, u, untrusted->endpoint, untrusted->status, untrusted->length,
	    data, data_len, "control");
}

static void
cb_bulk_packet(void *priv, uint64_t id,
    struct usb_redir_bulk_packet_header *untrusted, uint8_t *data,
    int data_len)
{
	struct fe_session *s = SESSION(priv);
	struct urb *u = claim(s, id, URB_BULK, "bulk");
	uint32_t len;

	if (u == NULL) {
		usbredirparser_free_packet_data(s->parser, data);
		return;
	}
	len = untrusted->length | (uint32_t)untrusted->length_high << 16;
	if (untrusted->stream_id != u->stream) {
		usbredirparser_free_packet_data(s->parser, data);
		fe_fail(s, FE_E_PROTO, "bulk answer on stream %u, asked on %u",
		    untrusted->stream_id, u->stream);
		return;
	}
	answer(s, u, untrusted->endpoint, untrusted->status, len, data,
	    data_len, "bulk");
}

static void
push_input(struct fe_session *s, struct fe_ep *e, uint32_t cap, uint8_t *data,
    uint32_t len, uint8_t status, uint64_t *dropped)
{
	struct fe_pkt *p;

	if (e->pkts == NULL) {
		e->pkts = calloc(cap, sizeof(*e->pkts));
		if (e->pkts == NULL) {
			usbredirparser_free_packet_data(s->parser, data);
			fe_fail(s, FE_E_NOMEM, "input queue");
			return;
		}
		e->pkt_cap = cap;
	}
	/*
	 * Full, by count or by bytes: drop the oldest, as a real device would
	 * overrun. len <= FE_MAX_PKT, far below FE_EP_QUEUE_BYTES.
	 */
	while (e->pkt_len > 0 && (e->pkt_len == e->pkt_cap ||
	    e->pkt_bytes + len > FE_EP_QUEUE_BYTES ||
	    s->queued_bytes + len > FE_SESSION_QUEUE_BYTES)) {
		usbredirparser_free_packet_data(s->parser,
		    fe_ep_pop_input(s, e).data);
		e->dropped++;
		(*dropped)++;
	}
	if (s->queued_bytes + len > FE_SESSION_QUEUE_BYTES) {
		/* Other endpoints hold the session's share: drop this one. */
		usbredirparser_free_packet_data(s->parser, data);
		e->dropped++;
		(*dropped)++;
		return;
	}
	p = &e->pkts[(e->pkt_head + e->pkt_len) % e->pkt_cap];
	p->data = data;
	p->len = len;
	p->status = status;
	e->pkt_len++;
	e->pkt_bytes += len;
	s->queued_bytes += len;
}

static void
cb_interrupt_packet(void *priv, uint64_t id,
    struct usb_redir_interrupt_packet_header *untrusted, uint8_t *data,
    int data_len)
{
	struct fe_session *s = SESSION(priv);
	uint8_t ep = untrusted->endpoint;
	struct fe_ep *e = &s->ep[FE_EP2I(ep)];

	if (!(ep & 0x80)) {
		/* Completion of an interrupt-OUT URB. */
		struct urb *u = claim(s, id, URB_INT_OUT, "interrupt");

		if (u == NULL) {
			usbredirparser_free_packet_data(s->parser, data);
			return;
		}
		answer(s, u, ep, untrusted->status, untrusted->length, data,
		    data_len, "interrupt");
		return;
	}
	if (!status_valid(untrusted->status) || data_len < 0 ||
	    data_len > FE_MAX_PKT || e->type != usb_redir_type_interrupt ||
	    untrusted->length != (uint32_t)data_len) {
		usbredirparser_free_packet_data(s->parser, data);
		fe_fail(s, FE_E_PROTO, "interrupt input does not fit ep %02x "
		    "(len %d)", ep, data_len);
		return;
	}
	if (!e->started) {
		/* Late packet after a stop: harmless, drop it. */
		usbredirparser_free_packet_data(s->parser, data);
		return;
	}
	push_input(s, e, FE_INT_QUEUE, data, (uint32_t)data_len,
	    untrusted->status, &s->stats.int_dropped);
	fe_ep_pump(s, FE_EP2I(ep));
}

static void
cb_iso_packet(void *priv, uint64_t id,
    struct usb_redir_iso_packet_header *untrusted, uint8_t *data,
    int data_len)
{
	struct fe_session *s = SESSION(priv);
	uint8_t ep = untrusted->endpoint;
	struct fe_ep *e = &s->ep[FE_EP2I(ep)];

	if (!status_valid(untrusted->status) || data_len < 0 ||
	    data_len > FE_MAX_PKT || e->type != usb_redir_type_iso ||
	    untrusted->length != (uint32_t)data_len) {
		usbredirparser_free_packet_data(s->parser, data);
		fe_fail(s, FE_E_PROTO, "iso packet does not fit ep %02x", ep);
		return;
	}
	if (!(ep & 0x80)) {
		/* Status of an iso-OUT stream: only errors matter. */
		usbredirparser_free_packet_data(s->parser, data);
		if (untrusted->status != usb_redir_success)
			log_debug("iso out ep %02x status %u", ep,
			    untrusted->status);
		return;
	}
	if (!e->started) {
		usbredirparser_free_packet_data(s->parser, data);
		return;
	}
	if (untrusted->status != usb_redir_success)
		s->stats.iso_failed++;
	push_input(s, e, FE_ISO_QUEUE, data, (uint32_t)data_len,
	    untrusted->status, &s->stats.iso_dropped);
	fe_ep_pump(s, FE_EP2I(ep));
}

static void
cb_buffered_bulk_packet(void *priv, uint64_t id,
    struct usb_redir_buffered_bulk_packet_header *untrusted, uint8_t *data,
    int data_len)
{
	struct fe_session *s = SESSION(priv);

	usbredirparser_free_packet_data(s->parser, data);
	fe_fail(s, FE_E_PROTO, "unsolicited buffered bulk packet");
}

/* ---------------------------------------------------------------- pump */

/* Hand buffered input to waiting URBs of endpoint index epi. */
void
fe_ep_pump(struct fe_session *s, int epi)
{
	struct fe_ep *e = &s->ep[epi];
	struct urb *u;

	while (e->pkt_len > 0 && (u = fe_ep_peek(s, e)) != NULL) {
		struct fe_pkt p = fe_ep_pop_input(s, e);
		uint8_t *data = p.data;
		uint32_t len = p.len;
		uint8_t st = p.status;

		if (u->kind == URB_INT_IN) {
			fe_ep_dequeue_head(s, e);
			if (len > u->length) {
				/* More than asked for: a babble, as on a bus. */
				usbredirparser_free_packet_data(s->parser, data);
				fe_complete(s, u, -EOVERFLOW, NULL, 0);
			} else
				fe_complete_owned(s, u,
				    fe_redir_status_to_errno(st), data, len);
			continue;
		}
		/* URB_ISO_IN: one buffered packet fills one iso packet. */
		{
			struct usbip_iso_desc *d = &u->iso[u->filled];

			d->actual_length = 0;
			d->status = fe_redir_status_to_errno(st);
			if (len > d->length)
				d->status = -EOVERFLOW;
			else if (len > 0) {
				memcpy(u->iso_data + u->iso_used, data, len);
				u->iso_used += len;
				d->actual_length = len;
			}
			usbredirparser_free_packet_data(s->parser, data);
			if (++u->filled == u->npackets) {
				fe_ep_dequeue_head(s, e);
				fe_complete_iso(s, u);
			}
		}
	}
}

void
fe_redir_callbacks(struct usbredirparser *p)
{
	p->hello_func = cb_hello;
	p->device_connect_func = cb_device_connect;
	p->device_disconnect_func = cb_device_disconnect;
	p->interface_info_func = cb_interface_info;
	p->ep_info_func = cb_ep_info;
	p->configuration_status_func = cb_configuration_status;
	p->alt_setting_status_func = cb_alt_setting_status;
	p->iso_stream_status_func = cb_iso_stream_status;
	p->interrupt_receiving_status_func = cb_interrupt_receiving_status;
	p->bulk_streams_status_func = cb_bulk_streams_status;
	p->bulk_receiving_status_func = cb_bulk_receiving_status;
	p->filter_reject_func = cb_filter_reject;
	p->filter_filter_func = cb_filter_filter;
	p->control_packet_func = cb_control_packet;
	p->bulk_packet_func = cb_bulk_packet;
	p->iso_packet_func = cb_iso_packet;
	p->interrupt_packet_func = cb_interrupt_packet;
	p->buffered_bulk_packet_func = cb_buffered_bulk_packet;
}
