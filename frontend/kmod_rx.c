/*
 * kmod_rx.c: records from usbgate_hcd (kmod/usbgate_hcd_uapi.h), our own
 * host controller, in place of vhci's USB/IP commands. A submission becomes
 * a URB for submit.c, exactly as vhci_rx.c makes one; UGH_K_UNLINK cancels
 * a URB the kernel already gave back (its late answer is not written:
 * kmod_tx.c); UGH_K_RESET is the AppVM's port reset, made real in sys-usb
 * and answered by UGH_F_RESET_DONE; UGH_K_ALLOC_STREAMS and
 * UGH_K_FREE_STREAMS are the uas driver's bulk streams, asked of sys-usb
 * (submit.c) and answered by UGH_F_STREAMS_DONE.
 *
 * The records come from our own kernel module, but they are still checked
 * (lengths against the record, counts against the uapi's limits, ids
 * ascending) before they reach submit.c: a record that does not parse ends
 * the session.
 *
 * read() returns whole records and refuses a buffer too small for the next
 * one, so the input buffer holds UGH_READ_MIN and is filled only once every
 * record in it was handled (records wait there while no URB is free).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "session.h"
#include "usbgate_hcd_uapi.h"

/* Cancelled by the kernel: no RET_UNLINK to send (session.c fe_ret_unlink). */
#define KMOD_UNLINKED	1

int
fe_kmod_attach(struct fe_session *s)
{
	int rc;

	if (!s->hooks.kmod)
		return 0;
	s->kmod = 1;
	rc = stream_reserve(s->vhci, UGH_READ_MIN);
	if (rc < 0) {
		fe_fail(s, FE_E_NOMEM, "usbgate_hcd read buffer");
		return rc;
	}
	log_info("port on usbgate_hcd");
	return 0;
}

int
fe_kmod_backlog(const struct fe_session *s)
{
	return s->vhci != NULL && stream_available(s->vhci) > 0 && s->nfree > 0;
}

static void
kmod_submit(struct fe_session *s, const uint8_t *rec, uint32_t len)
{
	struct ugh_submit h;
	struct ugh_iso_desc d;
	const uint8_t *descs = rec + sizeof(h);
	struct urb *u;
	uint64_t want;
	uint32_t i;

	if (len < sizeof(h)) {
		fe_fail(s, FE_E_VHCI, "usbgate_hcd: short submission");
		return;
	}
	memcpy(&h, rec, sizeof(h));
	if (h.xfer > UGH_XFER_BULK || h.packets > UGH_MAX_ISO ||
	    h.length > UGH_MAX_DATA ||
	    (h.packets != 0 && h.xfer != UGH_XFER_ISO) ||
	    (h.stream != 0 && h.xfer != UGH_XFER_BULK) ||
	    h.hdr.id <= s->kmod_id) {
		fe_fail(s, FE_E_VHCI, "usbgate_hcd: bad submission %llu "
		    "(ep %02x type %u length %u packets %u)",
		    (unsigned long long)h.hdr.id, h.ep, h.xfer, h.length,
		    h.packets);
		return;
	}
	want = sizeof(h) + (uint64_t)h.packets * sizeof(d) +
	    ((h.ep & 0x80) ? 0 : h.length);
	if (UGH_ALIGN(want) != len) {
		fe_fail(s, FE_E_VHCI, "usbgate_hcd: submission of %u bytes, "
		    "%llu expected", len, (unsigned long long)UGH_ALIGN(want));
		return;
	}
	/* sanitized: the record holds the descriptors and the OUT data */
	s->kmod_id = h.hdr.id;
	u = fe_urb_alloc(s, (uint32_t)h.hdr.id);
	if (u == NULL) {
		fe_fail(s, FE_E_VHCI, "usbgate_hcd: URB id %llu in flight",
		    (unsigned long long)h.hdr.id);
		return;
	}
	u->kmod_id = h.hdr.id;
	u->ep = h.ep;
	u->in = (h.ep & 0x80) != 0;
	u->length = h.length;
	u->stream = h.stream;	/* checked against the endpoint's: submit.c */
	if (h.flags & UGH_SUBMIT_SHORT_NOT_OK)
		u->flags |= USBIP_URB_SHORT_NOT_OK;
	if (h.flags & UGH_SUBMIT_ZERO_PACKET)
		u->flags |= USBIP_URB_ZERO_PACKET;
	if (h.packets > 0) {
		u->npackets = h.packets;
		u->iso = calloc(h.packets, sizeof(*u->iso));
		if (u->iso == NULL) {
			fe_urb_release(s, u);
			fe_fail(s, FE_E_NOMEM, "iso descriptors");
			return;
		}
		for (i = 0; i < h.packets; i++) {
			memcpy(&d, descs + i * sizeof(d), sizeof(d));
			u->iso[i].offset = d.offset;
			u->iso[i].length = d.length;
		}
	}
	fe_submit(s, u, h.setup, u->in ? NULL : descs + h.packets * sizeof(d));
}

static void
kmod_unlink(struct fe_session *s, uint64_t id)
{
	struct urb *u;

	s->stats.unlinks++;
	u = fe_urb_find(s, (uint32_t)id);
	if (u != NULL && u->kmod_id == id)
		fe_cancel(s, u, KMOD_UNLINKED);
}

static void
kmod_reset(struct fe_session *s, uint64_t nr)
{
	struct ugh_rec done = {
		.type = UGH_F_RESET_DONE, .len = sizeof(done), .id = nr,
	};

	if (nr == 0) {
		fe_fail(s, FE_E_VHCI, "usbgate_hcd: reset number 0");
		return;
	}
	/*
	 * The first reset enumerates the device; a configured device is
	 * reset by the AppVM's driver (or its error recovery): make it real
	 * in sys-usb. usbredir has no answer to a reset and the channel keeps
	 * the order, so the port may leave its reset now.
	 */
	if (s->configured)
		fe_reset_device(s);
	stream_write(s->vhci, &done, sizeof(done));
}

static void
kmod_streams(struct fe_session *s, const uint8_t *rec, uint32_t len)
{
	struct ugh_streams h;

	if (len != sizeof(h)) {
		fe_fail(s, FE_E_VHCI, "usbgate_hcd: streams record of %u bytes",
		    len);
		return;
	}
	memcpy(&h, rec, sizeof(h));
	if (h.hdr.id <= s->kmod_sreq || h.hdr.flags != 0 ||
	    (h.hdr.type == UGH_K_ALLOC_STREAMS) != (h.streams != 0)) {
		fe_fail(s, FE_E_VHCI, "usbgate_hcd: bad streams request %llu "
		    "(endpoints %08x streams %u)", (unsigned long long)h.hdr.id,
		    h.endpoints, h.streams);
		return;
	}
	if (s->sreq.id != 0) {
		fe_fail(s, FE_E_VHCI, "usbgate_hcd: streams request %llu while "
		    "%llu is outstanding", (unsigned long long)h.hdr.id,
		    (unsigned long long)s->sreq.id);
		return;
	}
	/* sanitized: one request, ids ascending; endpoints: submit.c */
	s->kmod_sreq = h.hdr.id;
	fe_streams_request(s, h.hdr.id, h.endpoints, h.streams);
}

/* Handle the records buffered on s->vhci, while URBs are free. */
static int
kmod_parse(struct fe_session *s)
{
	struct ugh_rec h;
	size_t avail;

	while (s->error == FE_OK && s->nfree > 0 &&
	    (avail = stream_available(s->vhci)) > 0) {
		const uint8_t *rec = stream_peek(s->vhci);

		if (avail < sizeof(h)) {
			fe_fail(s, FE_E_VHCI, "usbgate_hcd: partial record");
			break;
		}
		memcpy(&h, rec, sizeof(h));
		if (h.len < sizeof(h) || h.len % 8 != 0 || h.len > avail) {
			fe_fail(s, FE_E_VHCI, "usbgate_hcd: record of %u bytes "
			    "(%zu read)", h.len, avail);
			break;
		}
		switch (h.type) {
		case UGH_K_SUBMIT:
			kmod_submit(s, rec, h.len);
			break;
		case UGH_K_UNLINK:
			kmod_unlink(s, h.id);
			break;
		case UGH_K_RESET:
			kmod_reset(s, h.id);
			break;
		case UGH_K_ALLOC_STREAMS:
		case UGH_K_FREE_STREAMS:
			kmod_streams(s, rec, h.len);
			break;
		case UGH_K_SUSPEND:
		case UGH_K_RESUME:
			log_debug("usbgate_hcd: port %s",
			    h.type == UGH_K_SUSPEND ? "suspended" : "resumed");
			break;
		case UGH_K_PORT:
			break;		/* the parent read the one it asked for */
		default:
			fe_fail(s, FE_E_VHCI, "usbgate_hcd: record type %u",
			    h.type);
			break;
		}
		stream_consume(s->vhci, h.len);
	}
	return s->error;
}

int
fe_kmod_rx(struct fe_session *s, int readable)
{
	ssize_t r;

	if (readable && stream_available(s->vhci) == 0) {
		r = stream_fill(s->vhci);
		if (r < 0) {
			fe_fail(s, FE_E_VHCI, "usbgate_hcd read: %s",
			    stream_strerror((int)r));
			return FE_E_VHCI;
		}
	}
	return kmod_parse(s);
}
