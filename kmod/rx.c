// SPDX-License-Identifier: GPL-2.0
/*
 * Frontend to kernel: the records write() accepts (connect,
 * disconnect, completion, reset done, bulk streams answer). Everything the frontend writes is
 * checked before it touches a URB: record lengths, the URB id (ids never
 * issued are refused, those of URBs already given back are dropped), the
 * status, the lengths against the URB's buffer and packets; IN data is
 * copied straight into the URB's buffer or sg list.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "usbgate_hcd.h"

/* The largest record the frontend may write. */
#define UGH_RX_MAX	UGH_ALIGN(sizeof(struct ugh_complete) + \
				  UGH_MAX_ISO * sizeof(struct ugh_iso_result) + \
				  UGH_MAX_DATA)

/* The statuses a host controller gives back (0 or a negative errno). */
static bool ugh_status_ok(s32 status)
{
	switch (status) {
	case 0:
	case -EPIPE:
	case -EPROTO:
	case -EILSEQ:
	case -ETIME:
	case -ETIMEDOUT:
	case -EOVERFLOW:
	case -EREMOTEIO:
	case -ECONNRESET:
	case -ENOENT:
	case -ESHUTDOWN:
	case -ENODEV:
	case -ENOSR:
	case -ECOMM:
	case -EXDEV:
	case -EINVAL:
		return true;
	default:
		return false;
	}
}

/* A record of one fixed size: len must be size, copied into rec. */
static int ugh_rx_fixed(void *rec, size_t size, const char __user *buf,
			u32 len)
{
	if (len != size)
		return -EINVAL;
	if (copy_from_user(rec, buf, size))
		return -EFAULT;
	return 0;
}

static int ugh_rx_connect(struct ugh_session *sess, const char __user *buf,
			  u32 len)
{
	struct ugh_connect rec;
	struct usb_hcd *hcd;
	unsigned long flags;
	int rc;

	rc = ugh_rx_fixed(&rec, sizeof(rec), buf, len);
	if (rc)
		return rc;
	switch (rec.speed) {
	case UGH_SPEED_LOW:
	case UGH_SPEED_FULL:
	case UGH_SPEED_HIGH:
	case UGH_SPEED_SUPER:
		break;
	case UGH_SPEED_SUPER_PLUS:
		rec.speed = UGH_SPEED_SUPER;	/* the root hub is 5 Gb/s */
		break;
	default:
		return -EINVAL;
	}
	if (rec.hdr.flags || rec.hdr.id || rec.reserved)
		return -EINVAL;

	spin_lock_irqsave(&ugh_lock, flags);
	if (sess->port) {
		rc = -EISCONN;
	} else {
		rc = ugh_port_attach(sess, rec.speed);
		if (!rc)
			sess->notices |= UGH_N_PORT;
	}
	hcd = sess->hcd;
	spin_unlock_irqrestore(&ugh_lock, flags);
	if (rc)
		return rc;
	usb_hcd_poll_rh_status(hcd);
	return 0;
}

static int ugh_rx_reset_done(struct ugh_session *sess, const struct ugh_rec *hdr)
{
	struct ugh_port *port;
	struct usb_hcd *hcd;
	unsigned long flags;
	int rc = 0;

	if (hdr->len != sizeof(*hdr) || hdr->flags)
		return -EINVAL;
	spin_lock_irqsave(&ugh_lock, flags);
	port = sess->port;
	hcd = sess->hcd;
	if (!port)
		rc = -ENOTCONN;
	else if (!hdr->id || hdr->id > port->resets)
		rc = -EINVAL;
	else if (hdr->id == port->resets && (port->status & USB_PORT_STAT_RESET))
		ugh_port_reset_done(port, ugh_hub(hcd)->ss);
	else
		hcd = NULL;	/* an earlier reset, already superseded */
	spin_unlock_irqrestore(&ugh_lock, flags);
	if (!rc && hcd)
		usb_hcd_poll_rh_status(hcd);
	return rc;
}

static int ugh_rx_streams_done(struct ugh_session *sess,
			       const char __user *buf, u32 len)
{
	struct ugh_streams_done rec;
	unsigned long flags;
	int rc;

	rc = ugh_rx_fixed(&rec, sizeof(rec), buf, len);
	if (rc)
		return rc;
	spin_lock_irqsave(&ugh_lock, flags);
	if (sess->port)
		rc = ugh_streams_answer(sess->port, &rec);
	else
		rc = -ENOTCONN;
	spin_unlock_irqrestore(&ugh_lock, flags);
	return rc;
}

/*
 * Check a completion against its URB. On success sets *data_len, the
 * bytes of IN data the record must carry. ugh_lock held.
 */
static int ugh_complete_check(struct urb *urb, const struct ugh_complete *rec,
			      const struct ugh_iso_result *iso, u32 *data_len)
{
	u32 i, sum = 0;

	if (!ugh_status_ok(rec->status) || rec->reserved || rec->hdr.flags)
		return -EINVAL;
	if (!usb_pipeisoc(urb->pipe)) {
		if (rec->packets || rec->error_count ||
		    rec->actual > urb->transfer_buffer_length)
			return -EINVAL;
		*data_len = usb_urb_dir_in(urb) ? rec->actual : 0;
		return 0;
	}
	if (rec->packets != urb->number_of_packets ||
	    rec->error_count > rec->packets)
		return -EINVAL;
	for (i = 0; i < rec->packets; i++) {
		const struct usb_iso_packet_descriptor *d = &urb->iso_frame_desc[i];

		if (!ugh_status_ok(iso[i].status) || iso[i].actual > d->length ||
		    d->offset > urb->transfer_buffer_length ||
		    iso[i].actual > urb->transfer_buffer_length - d->offset)
			return -EINVAL;
		sum += iso[i].actual;
	}
	if (sum != rec->actual)
		return -EINVAL;
	*data_len = usb_urb_dir_in(urb) ? sum : 0;
	return 0;
}

/* Copy IN data into a claimed URB (checked) and set its results. */
static int ugh_complete_apply(struct urb *urb, const struct ugh_complete *rec,
			      const struct ugh_iso_result *iso,
			      const char __user *data)
{
	u32 i;
	int rc;

	urb->actual_length = rec->actual;
	if (!usb_pipeisoc(urb->pipe)) {
		if (!usb_urb_dir_in(urb))
			return 0;
		return ugh_urb_from_user(urb, 0, data, rec->actual);
	}
	urb->error_count = rec->error_count;
	urb->start_frame = rec->start_frame;
	for (i = 0; i < rec->packets; i++) {
		struct usb_iso_packet_descriptor *d = &urb->iso_frame_desc[i];

		d->status = iso[i].status;
		d->actual_length = iso[i].actual;
		if (!usb_urb_dir_in(urb) || !iso[i].actual)
			continue;
		rc = ugh_urb_from_user(urb, d->offset, data, iso[i].actual);
		if (rc)
			return rc;
		data += iso[i].actual;
	}
	return 0;
}

static int ugh_rx_complete(struct ugh_session *sess, const char __user *buf,
			   u32 len)
{
	struct ugh_iso_result *iso = NULL;
	struct ugh_complete rec;
	struct ugh_urb *u;
	unsigned long flags;
	size_t fixed;
	u32 data_len = 0;
	int rc;

	if (len < sizeof(rec))
		return -EINVAL;
	if (copy_from_user(&rec, buf, sizeof(rec)))
		return -EFAULT;
	if (rec.packets > UGH_MAX_ISO)
		return -EINVAL;
	fixed = sizeof(rec) + rec.packets * sizeof(*iso);
	if (len < fixed)
		return -EINVAL;
	if (rec.packets) {
		iso = kmalloc_array(rec.packets, sizeof(*iso), GFP_KERNEL);
		if (!iso)
			return -ENOMEM;
		if (copy_from_user(iso, buf + sizeof(rec),
				   rec.packets * sizeof(*iso))) {
			rc = -EFAULT;
			goto out;
		}
	}

	spin_lock_irqsave(&ugh_lock, flags);
	u = ugh_urb_find(sess, rec.hdr.id);
	if (!u) {
		/* Given back already (unlinked, or an earlier connection). */
		rc = rec.hdr.id && rec.hdr.id <= sess->next_id ? 0 : -EINVAL;
		spin_unlock_irqrestore(&ugh_lock, flags);
		goto out;
	}
	rc = ugh_complete_check(u->urb, &rec, iso, &data_len);
	if (!rc && len != UGH_ALIGN(fixed + data_len))
		rc = -EINVAL;
	if (rc) {
		spin_unlock_irqrestore(&ugh_lock, flags);
		goto out;
	}
	list_del(&u->item.node);
	u->state = UGH_U_CLAIMED;
	spin_unlock_irqrestore(&ugh_lock, flags);

	rc = ugh_complete_apply(u->urb, &rec, iso, buf + fixed);

	spin_lock_irqsave(&ugh_lock, flags);
	ugh_urb_retire(u);
	spin_unlock_irqrestore(&ugh_lock, flags);
	ugh_urb_giveback(u, rc ? -EPROTO : rec.status);
out:
	kfree(iso);
	return rc;
}

/* One record at buf of len bytes (header already checked). */
static int ugh_rx_one(struct ugh_session *sess, const struct ugh_rec *hdr,
		      const char __user *buf)
{
	switch (hdr->type) {
	case UGH_F_CONNECT:
		return ugh_rx_connect(sess, buf, hdr->len);
	case UGH_F_DISCONNECT:
		if (hdr->len != sizeof(*hdr) || hdr->flags || hdr->id)
			return -EINVAL;
		if (!READ_ONCE(sess->port))
			return -ENOTCONN;
		ugh_session_detach(sess);
		return 0;
	case UGH_F_COMPLETE:
		return ugh_rx_complete(sess, buf, hdr->len);
	case UGH_F_RESET_DONE:
		return ugh_rx_reset_done(sess, hdr);
	case UGH_F_STREAMS_DONE:
		return ugh_rx_streams_done(sess, buf, hdr->len);
	default:
		return -EINVAL;
	}
}

ssize_t ugh_rx_write(struct ugh_session *sess, const char __user *buf,
		     size_t count)
{
	struct ugh_rec hdr;
	size_t done = 0;
	int rc;

	/* The record layout is an ABI: the same on both ends, 8-aligned. */
	BUILD_BUG_ON(sizeof(struct ugh_rec) != 16);
	BUILD_BUG_ON(sizeof(struct ugh_connect) != 24);
	BUILD_BUG_ON(sizeof(struct ugh_port_info) != 32);
	BUILD_BUG_ON(sizeof(struct ugh_submit) != 48);
	BUILD_BUG_ON(sizeof(struct ugh_complete) != 40);
	BUILD_BUG_ON(sizeof(struct ugh_iso_desc) != 8);
	BUILD_BUG_ON(sizeof(struct ugh_iso_result) != 8);
	BUILD_BUG_ON(sizeof(struct ugh_streams) != 24);
	BUILD_BUG_ON(sizeof(struct ugh_streams_done) != 24);

	while (count - done >= sizeof(hdr)) {
		if (copy_from_user(&hdr, buf + done, sizeof(hdr))) {
			rc = -EFAULT;
			goto refused;
		}
		if (hdr.len < sizeof(hdr) || hdr.len % 8 || hdr.len > UGH_RX_MAX ||
		    hdr.len > count - done) {
			rc = -EINVAL;
			goto refused;
		}
		rc = ugh_rx_one(sess, &hdr, buf + done);
		if (rc)
			goto refused;
		done += hdr.len;
	}
	if (done != count && !done)
		return -EINVAL;
	return done;

refused:
	return done ? done : rc;
}
