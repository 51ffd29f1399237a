/*
 * vhci_rx.c: USB/IP commands from the AppVM kernel (vhci_hcd) decoded into
 * URBs for submit.c. CMD_SUBMIT becomes a submission, CMD_UNLINK a cancel
 * answered by RET_UNLINK; the backend answers a cancelled data packet with
 * status "cancelled", and that answer completes the unlink instead of the
 * URB (session.c fe_cancelled).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "session.h"

static void
submit(struct fe_session *s, const struct usbip_cmd *c, const uint8_t *payload)
{
	struct urb *u;
	uint32_t i;

	u = fe_urb_alloc(s, c->seqnum);
	if (u == NULL) {
		fe_fail(s, FE_E_VHCI, "vhci reused seqnum %u in flight",
		    c->seqnum);
		return;
	}
	u->ep = (uint8_t)(c->ep | (c->direction == USBIP_DIR_IN ? 0x80 : 0));
	u->in = c->direction == USBIP_DIR_IN;
	u->flags = c->transfer_flags;
	u->length = c->length;
	if (c->number_of_packets > 0) {
		/* The descriptors follow the OUT data. */
		const uint8_t *descs = payload + (u->in ? 0 : c->length);

		u->npackets = c->number_of_packets;
		u->iso = calloc(u->npackets, sizeof(*u->iso));
		if (u->iso == NULL) {
			fe_urb_release(s, u);
			fe_fail(s, FE_E_NOMEM, "iso descriptors");
			return;
		}
		for (i = 0; i < u->npackets; i++)
			usbip_decode_iso_desc(descs + i * USBIP_ISO_DESC_LEN,
			    &u->iso[i]);
	}
	fe_submit(s, u, c->setup, u->in ? NULL : payload);
}

static void
unlink_urb(struct fe_session *s, const struct usbip_cmd *c)
{
	struct urb *u = fe_urb_find(s, c->unlink_seqnum);

	s->stats.unlinks++;
	if (u == NULL) {
		/* Already answered: vhci gave it back. */
		fe_ret_unlink(s, c->seqnum, 0);
		return;
	}
	if (fe_cancel(s, u, c->seqnum))
		fe_ret_unlink(s, c->seqnum, -ECONNRESET);
}

int
fe_vhci_rx(struct fe_session *s)
{
	struct usbip_cmd c;
	size_t avail, payload;
	int rc;

	while (s->error == FE_OK && s->nfree > 0) {
		avail = stream_available(s->vhci);
		if (avail < USBIP_HDR_LEN)
			break;
		rc = usbip_decode_cmd(stream_peek(s->vhci), avail, &c, &payload);
		if (rc < 0) {
			fe_fail(s, FE_E_VHCI, "bad USB/IP command from vhci: %s",
			    usbip_strerror(rc));
			return rc;
		}
		if (avail < USBIP_HDR_LEN + payload) {
			if (stream_reserve(s->vhci, USBIP_HDR_LEN + payload) < 0) {
				fe_fail(s, FE_E_NOMEM, "URB of %zu bytes", payload);
				return FE_E_NOMEM;
			}
			break;
		}
		if (c.command == USBIP_CMD_SUBMIT)
			submit(s, &c, stream_peek(s->vhci) + USBIP_HDR_LEN);
		else
			unlink_urb(s, &c);
		stream_consume(s->vhci, USBIP_HDR_LEN + payload);
	}
	return 0;
}
