// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel to frontend: the records read() returns. Port notices
 * (connect answer, bulk streams request, reset, suspend, resume) first, then the session's queue
 * in order: URB submissions (OUT data copied straight from the URB's
 * buffer or sg list into the reader's, one contiguous payload) and cancel
 * notices. Whole records only.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "usbgate_hcd.h"

bool ugh_tx_pending(struct ugh_session *sess)
{
	unsigned long flags;
	bool pending;

	spin_lock_irqsave(&ugh_lock, flags);
	pending = sess->notices || !list_empty(&sess->queue);
	spin_unlock_irqrestore(&ugh_lock, flags);
	return pending;
}

/* The notice records, the largest first. */
union ugh_notice {
	struct ugh_port_info port;
	struct ugh_streams streams;
	struct ugh_rec hdr;
};

/*
 * Take the most urgent notice into note (header, a port or a streams
 * record). ugh_lock held. Returns its length, 0 if none is pending.
 */
static size_t ugh_tx_notice(struct ugh_session *sess, union ugh_notice *note)
{
	struct ugh_port_info *rec = &note->port;
	unsigned int n;
	size_t len;

	memset(note, 0, sizeof(*note));
	if (sess->notices & UGH_N_PORT) {
		sess->notices &= ~UGH_N_PORT;
		rec->hdr.type = UGH_K_PORT;
		rec->hdr.len = sizeof(*rec);
		rec->version = UGH_VERSION;
		rec->busnum = sess->hcd->self.busnum;
		rec->portnum = ugh_port_number(sess->hcd, sess->port);
		rec->speed = sess->port->speed;
		return rec->hdr.len;
	}
	if (sess->notices & UGH_N_STREAMS) {
		sess->notices &= ~UGH_N_STREAMS;
		len = ugh_streams_notice(sess->port, &note->streams);
		if (len)
			return len;
	}
	n = sess->notices;
	if (n & UGH_N_RESET) {
		sess->notices &= ~UGH_N_RESET;
		rec->hdr.type = UGH_K_RESET;
		rec->hdr.id = sess->port->resets;
	} else if (n & UGH_N_SUSPEND) {
		sess->notices &= ~UGH_N_SUSPEND;
		rec->hdr.type = UGH_K_SUSPEND;
	} else if (n & UGH_N_RESUME) {
		sess->notices &= ~UGH_N_RESUME;
		rec->hdr.type = UGH_K_RESUME;
	} else {
		return 0;
	}
	rec->hdr.len = sizeof(rec->hdr);
	return rec->hdr.len;
}

static size_t ugh_submit_len(struct urb *urb)
{
	size_t len = sizeof(struct ugh_submit);

	if (usb_pipeisoc(urb->pipe))
		len += urb->number_of_packets * sizeof(struct ugh_iso_desc);
	if (usb_urb_dir_out(urb))
		len += urb->transfer_buffer_length;
	return UGH_ALIGN(len);
}

static void ugh_submit_fill(struct ugh_urb *u, struct ugh_submit *rec,
			    size_t len)
{
	struct urb *urb = u->urb;

	memset(rec, 0, sizeof(*rec));
	rec->hdr.type = UGH_K_SUBMIT;
	rec->hdr.len = len;
	rec->hdr.id = u->item.id;
	rec->ep = usb_pipeendpoint(urb->pipe) |
		  (usb_urb_dir_in(urb) ? USB_DIR_IN : 0);
	rec->xfer = usb_pipetype(urb->pipe);
	if (urb->transfer_flags & URB_SHORT_NOT_OK)
		rec->flags |= UGH_SUBMIT_SHORT_NOT_OK;
	if (urb->transfer_flags & URB_ZERO_PACKET)
		rec->flags |= UGH_SUBMIT_ZERO_PACKET;
	rec->length = urb->transfer_buffer_length;
	rec->stream = urb->stream_id;
	rec->interval = urb->interval;
	if (usb_pipeisoc(urb->pipe))
		rec->packets = urb->number_of_packets;
	if (usb_pipecontrol(urb->pipe))
		memcpy(rec->setup, urb->setup_packet, sizeof(rec->setup));
}

/* Copy a claimed URB's submission to the reader. ugh_lock not held. */
static int ugh_submit_copy(struct ugh_urb *u, const struct ugh_submit *rec,
			   char __user *buf)
{
	struct urb *urb = u->urb;
	struct ugh_iso_desc d;
	size_t off = sizeof(*rec);
	int i, rc;

	if (copy_to_user(buf, rec, sizeof(*rec)))
		return -EFAULT;
	for (i = 0; i < rec->packets; i++) {
		d.offset = urb->iso_frame_desc[i].offset;
		d.length = urb->iso_frame_desc[i].length;
		if (copy_to_user(buf + off, &d, sizeof(d)))
			return -EFAULT;
		off += sizeof(d);
	}
	if (usb_urb_dir_out(urb)) {
		rc = ugh_urb_to_user(urb, buf + off, rec->length);
		if (rc)
			return rc;
		off += rec->length;
	}
	if (rec->hdr.len > off && clear_user(buf + off, rec->hdr.len - off))
		return -EFAULT;
	return 0;
}

/*
 * After the copy: the URB goes in flight unless it was unlinked or its
 * connection ended meanwhile, when it is given back here.
 */
static void ugh_submit_done(struct ugh_session *sess, struct ugh_urb *u, int rc)
{
	unsigned long flags;
	int status = -ESHUTDOWN;

	spin_lock_irqsave(&ugh_lock, flags);
	if (!rc && u->conn == sess->conn && !u->urb->unlinked) {
		u->state = UGH_U_INFLIGHT;
		list_add_tail(&u->item.node, &sess->inflight);
		spin_unlock_irqrestore(&ugh_lock, flags);
		return;
	}
	if (rc)
		status = -EPROTO;
	else if (u->conn == sess->conn)
		ugh_urb_cancel_notice(sess, u->item.id);
	ugh_urb_retire(u);
	spin_unlock_irqrestore(&ugh_lock, flags);
	ugh_urb_giveback(u, status);
}

ssize_t ugh_tx_read(struct ugh_session *sess, char __user *buf, size_t count)
{
	union ugh_notice note;
	struct ugh_submit rec;
	struct ugh_item *it;
	struct ugh_urb *u;
	unsigned long flags;
	size_t done = 0, len;
	int rc;

	for (;;) {
		spin_lock_irqsave(&ugh_lock, flags);
		if (sess->notices) {
			if (count - done < sizeof(note)) {
				spin_unlock_irqrestore(&ugh_lock, flags);
				return done ? done : -EMSGSIZE;
			}
			len = ugh_tx_notice(sess, &note);
			spin_unlock_irqrestore(&ugh_lock, flags);
			if (copy_to_user(buf + done, &note, len))
				return done ? done : -EFAULT;
			done += len;
			continue;
		}
		it = list_first_entry_or_null(&sess->queue, struct ugh_item,
					      node);
		if (!it) {
			spin_unlock_irqrestore(&ugh_lock, flags);
			break;
		}
		if (it->kind == UGH_I_UNLINK) {
			if (count - done < sizeof(rec.hdr)) {
				spin_unlock_irqrestore(&ugh_lock, flags);
				return done ? done : -EMSGSIZE;
			}
			list_del(&it->node);
			spin_unlock_irqrestore(&ugh_lock, flags);
			memset(&rec.hdr, 0, sizeof(rec.hdr));
			rec.hdr.type = UGH_K_UNLINK;
			rec.hdr.len = sizeof(rec.hdr);
			rec.hdr.id = it->id;
			kfree(it);
			if (copy_to_user(buf + done, &rec.hdr, sizeof(rec.hdr)))
				return done ? done : -EFAULT;
			done += sizeof(rec.hdr);
			continue;
		}
		u = container_of(it, struct ugh_urb, item);
		len = ugh_submit_len(u->urb);
		if (count - done < len) {
			spin_unlock_irqrestore(&ugh_lock, flags);
			return done ? done : -EMSGSIZE;
		}
		list_del(&it->node);
		u->state = UGH_U_CLAIMED;
		ugh_submit_fill(u, &rec, len);
		spin_unlock_irqrestore(&ugh_lock, flags);
		rc = ugh_submit_copy(u, &rec, buf + done);
		ugh_submit_done(sess, u, rc);
		if (rc)
			return done ? done : rc;
		done += len;
	}
	return done;
}
