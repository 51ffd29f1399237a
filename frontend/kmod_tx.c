/*
 * kmod_tx.c: completions to usbgate_hcd as UGH_F_COMPLETE records, the
 * counterpart of the RET_SUBMITs session.c writes to vhci, and the answers
 * to its bulk streams requests (UGH_F_STREAMS_DONE). Each record is
 * built in one buffer of its own and queued without a copy: the device has
 * no write_iter, so a writev() reaches it one segment at a time and a
 * segment must hold whole records. A URB the kernel unlinked was given back
 * already: its late answer is not written.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "usbgate_hcd_uapi.h"

static void
free_record(void *ctx, void *buf)
{
	free(buf);
}

/* A record: ugh_complete, packets results, len bytes of data, padding. */
static struct ugh_complete *
record(const struct fe_session *s, const struct urb *u, uint32_t packets,
    uint32_t len, size_t *size)
{
	struct ugh_complete *c;

	*size = UGH_ALIGN(sizeof(*c) + (size_t)packets *
	    sizeof(struct ugh_iso_result) + len);
	c = calloc(1, *size);
	if (c == NULL)
		return NULL;
	c->hdr.type = UGH_F_COMPLETE;
	c->hdr.len = (uint32_t)*size;
	c->hdr.id = u->kmod_id;
	c->packets = packets;
	return c;
}

static void
queue(struct fe_session *s, struct ugh_complete *c, size_t size)
{
	if (c == NULL) {
		fe_fail(s, FE_E_NOMEM, "usbgate_hcd completion");
		return;
	}
	stream_write_owned(s->vhci, c, size, free_record, NULL);
}

void
fe_kmod_complete(struct fe_session *s, const struct urb *u, int32_t status,
    const uint8_t *data, uint32_t len)
{
	uint32_t dlen = u->in && data != NULL ? len : 0, i;
	struct ugh_iso_result *r;
	struct ugh_complete *c;
	size_t size;

	if (u->unlink_seqnum != 0)
		return;
	/* An isochronous URB refused whole: every packet failed. */
	if (u->npackets > 0)
		dlen = len = 0;
	c = record(s, u, u->npackets, dlen, &size);
	if (c != NULL) {
		/* usbgate_hcd takes only what a host controller gives back. */
		c->status = status == -EMSGSIZE ? -EINVAL : status;
		/* IN: the bytes that came; OUT: what the device took. */
		c->actual = u->in ? dlen : len;
		r = (struct ugh_iso_result *)(c + 1);
		for (i = 0; i < u->npackets; i++)
			r[i].status = c->status;
		c->error_count = c->status != 0 ? u->npackets : 0;
		if (dlen > 0)
			memcpy(r + u->npackets, data, dlen);
	}
	queue(s, c, size);
}

void
fe_kmod_complete_iso(struct fe_session *s, const struct urb *u,
    uint32_t errors)
{
	uint32_t dlen = u->in ? u->iso_used : 0, i;
	struct ugh_iso_result *r;
	struct ugh_complete *c;
	size_t size;

	if (u->unlink_seqnum != 0)
		return;
	c = record(s, u, u->npackets, dlen, &size);
	if (c != NULL) {
		/* The kernel wants actual = the packets' sum, OUT too. */
		c->error_count = errors;
		r = (struct ugh_iso_result *)(c + 1);
		for (i = 0; i < u->npackets; i++) {
			r[i].status = u->iso[i].status;
			r[i].actual = u->iso[i].actual_length;
			c->actual += r[i].actual;
		}
		/* IN data packed, each packet's bytes after the other's. */
		if (dlen > 0)
			memcpy(r + u->npackets, u->iso_data, dlen);
	}
	queue(s, c, size);
}

void
fe_kmod_streams_done(struct fe_session *s, uint64_t id, int32_t status,
    uint32_t streams)
{
	struct ugh_streams_done d = {
		.hdr = { .type = UGH_F_STREAMS_DONE, .len = sizeof(d), .id = id },
		.status = status,
		.streams = status == 0 ? streams : 0,
	};

	stream_write(s->vhci, &d, sizeof(d));
}
