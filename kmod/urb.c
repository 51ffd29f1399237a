// SPDX-License-Identifier: GPL-2.0
/*
 * URB records: enqueue onto the session attached to the URB's root
 * port, dequeue (unlink: given back at once, the frontend told to cancel),
 * lookup by id, the copies between a URB's buffer (linear or a
 * scatter-gather list) and the reader's or writer's memory, and the give
 * back. A URB record is on the session's queue (not read yet), on its
 * in-flight list, or claimed by the one read() or write() copying its data;
 * a claimed URB is given back by its claimer.
 */
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "usbgate_hcd.h"

/* The root port a device hangs off, NULL for none of ours. */
struct ugh_port *ugh_dev_port(struct ugh_hub *hub, struct usb_device *udev)
{
	while (udev->parent && udev->parent->parent)
		udev = udev->parent;
	if (!udev->parent || udev->portnum < 1 ||
	    udev->portnum > hub->hc->nports)
		return NULL;
	return &hub->hc->ports[hub->ss][udev->portnum - 1];
}

/* A SET_ADDRESS: the controller's business, never the device's. */
static bool ugh_urb_set_address(struct urb *urb)
{
	const struct usb_ctrlrequest *req;

	if (!usb_pipecontrol(urb->pipe) || !urb->setup_packet)
		return false;
	req = (const struct usb_ctrlrequest *)urb->setup_packet;
	return req->bRequestType == (USB_DIR_OUT | USB_TYPE_STANDARD |
				     USB_RECIP_DEVICE) &&
	       req->bRequest == USB_REQ_SET_ADDRESS;
}

int ugh_urb_enqueue(struct usb_hcd *hcd, struct urb *urb, gfp_t mem_flags)
{
	struct ugh_hub *hub = ugh_hub(hcd);
	struct ugh_session *sess;
	struct ugh_port *port;
	struct ugh_urb *u;
	unsigned long flags;
	int rc;

	if (urb->transfer_buffer_length > UGH_MAX_DATA)
		return -EMSGSIZE;
	if (urb->transfer_buffer_length && !urb->transfer_buffer &&
	    !urb->num_sgs)
		return -EINVAL;
	if (usb_pipeisoc(urb->pipe) &&
	    (urb->number_of_packets < 1 ||
	     urb->number_of_packets > UGH_MAX_ISO))
		return -EINVAL;
	if (usb_pipecontrol(urb->pipe) && !urb->setup_packet)
		return -EINVAL;

	u = kzalloc(sizeof(*u), mem_flags);
	if (!u)
		return -ENOMEM;

	spin_lock_irqsave(&ugh_lock, flags);
	port = ugh_dev_port(hub, urb->dev);
	sess = port ? port->sess : NULL;
	if (!sess) {
		rc = -ENODEV;
		goto refuse;
	}
	rc = usb_hcd_link_urb_to_ep(hcd, urb);
	if (rc)
		goto refuse;
	if (ugh_urb_set_address(urb)) {
		usb_hcd_unlink_urb_from_ep(hcd, urb);
		spin_unlock_irqrestore(&ugh_lock, flags);
		kfree(u);
		usb_hcd_giveback_urb(hcd, urb, 0);
		return 0;
	}
	u->item.kind = UGH_I_URB;
	u->item.id = ++sess->next_id;
	u->urb = urb;
	u->hcd = hcd;
	u->sess = sess;
	u->conn = sess->conn;
	u->state = UGH_U_QUEUED;
	urb->hcpriv = u;
	list_add_tail(&u->item.node, &sess->queue);
	wake_up_interruptible(&sess->wait);
	spin_unlock_irqrestore(&ugh_lock, flags);
	return 0;

refuse:
	spin_unlock_irqrestore(&ugh_lock, flags);
	kfree(u);
	return rc;
}

/* Queue a cancel notice for URB id. ugh_lock held; best effort. */
void ugh_urb_cancel_notice(struct ugh_session *sess, u64 id)
{
	struct ugh_item *it;

	it = kzalloc(sizeof(*it), GFP_ATOMIC);
	if (!it)
		return;		/* its late completion is dropped as stale */
	it->kind = UGH_I_UNLINK;
	it->id = id;
	list_add_tail(&it->node, &sess->queue);
	wake_up_interruptible(&sess->wait);
}

int ugh_urb_dequeue(struct usb_hcd *hcd, struct urb *urb, int status)
{
	struct ugh_urb *u;
	unsigned long flags;
	int rc;

	spin_lock_irqsave(&ugh_lock, flags);
	rc = usb_hcd_check_unlink_urb(hcd, urb, status);
	u = urb->hcpriv;
	if (rc || !u || u->state == UGH_U_CLAIMED) {
		/* A claimed URB is given back by its claimer. */
		spin_unlock_irqrestore(&ugh_lock, flags);
		return rc;
	}
	if (u->state == UGH_U_INFLIGHT)
		ugh_urb_cancel_notice(u->sess, u->item.id);
	list_del(&u->item.node);
	ugh_urb_retire(u);
	spin_unlock_irqrestore(&ugh_lock, flags);
	ugh_urb_giveback(u, status);
	return 0;
}

/* The in-flight URB of sess with this id, NULL if none. ugh_lock held. */
struct ugh_urb *ugh_urb_find(struct ugh_session *sess, u64 id)
{
	struct ugh_item *it;

	list_for_each_entry(it, &sess->inflight, node)
		if (it->id == id)
			return container_of(it, struct ugh_urb, item);
	return NULL;
}

/*
 * Copy len bytes between the buffer of a claimed URB, from offset off, and
 * user memory: into the URB (IN data) when in, out of it (OUT data)
 * otherwise. A URB of usb_sg_init() has no linear buffer but the pages of
 * its sg list, walked here a page at a time (mapped, sleeping is allowed).
 * The caller checked off + len against transfer_buffer_length; the walk
 * stops at the list's end in any case. ugh_lock not held.
 */
static int ugh_urb_copy(struct urb *urb, u32 off, char __user *ubuf, u32 len,
			bool in)
{
	struct sg_mapping_iter miter;
	unsigned long left = 0;
	size_t n;

	if (!len)
		return 0;
	if (!urb->num_sgs) {
		if (in)
			left = copy_from_user(urb->transfer_buffer + off, ubuf,
					      len);
		else
			left = copy_to_user(ubuf, urb->transfer_buffer + off,
					    len);
		return left ? -EFAULT : 0;
	}
	sg_miter_start(&miter, urb->sg, urb->num_sgs,
		       in ? SG_MITER_TO_SG : SG_MITER_FROM_SG);
	/* A list that ends before off leaves len untouched: refused. */
	if (sg_miter_skip(&miter, off)) {
		while (len && sg_miter_next(&miter)) {
			n = min_t(size_t, miter.length, len);
			if (in)
				left = copy_from_user(miter.addr, ubuf, n);
			else
				left = copy_to_user(ubuf, miter.addr, n);
			if (left)
				break;
			miter.consumed = n;
			ubuf += n;
			len -= n;
		}
	}
	sg_miter_stop(&miter);
	if (left)
		return -EFAULT;
	return len ? -EINVAL : 0;	/* the list is shorter than the URB */
}

/* A submission's OUT data: the URB's first len bytes to the reader. */
int ugh_urb_to_user(struct urb *urb, char __user *dst, u32 len)
{
	return ugh_urb_copy(urb, 0, dst, len, false);
}

/* IN data from the writer into the URB's buffer at offset off. */
int ugh_urb_from_user(struct urb *urb, u32 off, const char __user *src,
		      u32 len)
{
	/* Only read from: the cast serves the one walk for both ways. */
	return ugh_urb_copy(urb, off, (char __user *)src, len, true);
}

/* Detach a URB (already off the session's lists) from its endpoint. */
void ugh_urb_retire(struct ugh_urb *u)
{
	usb_hcd_unlink_urb_from_ep(u->hcd, u->urb);
	u->urb->hcpriv = NULL;
}

/* Give a retired URB back and free its record. ugh_lock not held. */
void ugh_urb_giveback(struct ugh_urb *u, int status)
{
	usb_hcd_giveback_urb(u->hcd, u->urb, status);
	kfree(u);
}
