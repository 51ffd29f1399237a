// SPDX-License-Identifier: GPL-2.0
/*
 * Bulk streams (USB 3; the uas driver needs them): the hc_driver's
 * alloc_streams and free_streams, announced on the SuperSpeed root hub
 * only, become a request to the session on the device's port
 * (UGH_K_ALLOC_STREAMS, UGH_K_FREE_STREAMS), which the frontend passes to
 * sys-usb and answers with UGH_F_STREAMS_DONE. The caller sleeps until the
 * answer, a timeout or the end of the session (the one teardown fails the
 * request). One request per port is outstanding at the frontend: one the
 * caller gave up on stays so until its answer, and the next caller waits
 * for that first. A grant that comes after its caller gave up (uas was
 * told the allocation failed) is taken back at once by a free the kernel
 * asks for itself, nobody waiting for it, so that the frontend and sys-usb
 * hold no streams the AppVM's kernel does not know of. The stream ids of
 * bulk URBs then travel in their submissions (tx.c).
 */
#include <linux/jiffies.h>
#include <linux/module.h>

#include "usbgate_hcd.h"

/* The frontend asks sys-usb over the channel: a round trip or two. */
static unsigned int streams_timeout = 10;
module_param(streams_timeout, uint, 0644);
MODULE_PARM_DESC(streams_timeout,
		 "seconds to wait for the frontend's answer to a bulk streams request (default 10; 0: none, every answer comes late)");

/* The bit of an endpoint in struct ugh_streams.endpoints. */
static u32 ugh_ep_bit(u8 addr)
{
	return BIT((addr & USB_DIR_IN) >> 3 | (addr & USB_ENDPOINT_NUMBER_MASK));
}

/* Nothing outstanding at the frontend. */
static bool ugh_streams_idle(struct ugh_port *port)
{
	unsigned long flags;
	bool idle;

	spin_lock_irqsave(&ugh_lock, flags);
	idle = !port->sreq.nr;
	spin_unlock_irqrestore(&ugh_lock, flags);
	return idle;
}

/*
 * Ask the frontend and wait. Returns the ids granted (allocation), 0
 * (free) or a negative errno.
 */
static int ugh_streams_ask(struct usb_hcd *hcd, struct usb_device *udev,
			   u32 endpoints, u32 streams)
{
	unsigned long timeout = READ_ONCE(streams_timeout) * HZ;
	struct ugh_hub *hub = ugh_hub(hcd);
	struct ugh_streams_wait w;
	struct ugh_streams_req *req;
	struct ugh_port *port;
	unsigned long flags;
	bool unanswered = false, earlier = false;
	int rc;

	if (!hub->ss)
		return -EINVAL;
	/*
	 * A device being disconnected (uas frees its streams then) may hang
	 * off a port that already has the next session: never ask that one.
	 */
	if (udev->state == USB_STATE_NOTATTACHED)
		return -ENODEV;
	port = ugh_dev_port(hub, udev);
	if (!port)
		return -ENODEV;
	req = &port->sreq;
	init_completion(&w.done);

	mutex_lock(&port->streams_mutex);
	/* The frontend still has a request given up on: its answer first. */
	wait_event_timeout(port->sreq_idle, ugh_streams_idle(port), timeout);
	spin_lock_irqsave(&ugh_lock, flags);
	if (!port->sess || udev->state == USB_STATE_NOTATTACHED) {
		rc = -ENODEV;
	} else if (req->nr) {
		unanswered = true;
		earlier = true;
		rc = -ETIMEDOUT;
	} else {
		req->nr = ++port->sreq_nr;
		req->endpoints = endpoints;
		req->streams = streams;
		req->sent = false;
		req->waiter = &w;
		port->sess->notices |= UGH_N_STREAMS;
		wake_up_interruptible(&port->sess->wait);
		rc = 0;
	}
	spin_unlock_irqrestore(&ugh_lock, flags);
	if (rc)
		goto out;

	/*
	 * streams_timeout=0 gives up at once: wait_for_completion_timeout()
	 * would still sleep up to a tick, long enough for an answer.
	 */
	if (timeout)
		wait_for_completion_timeout(&w.done, timeout);

	/* Answered (or failed) unless still waited for: decided here. */
	spin_lock_irqsave(&ugh_lock, flags);
	if (req->waiter == &w) {
		req->waiter = NULL;	/* outstanding until its answer */
		unanswered = true;
		rc = -ETIMEDOUT;
	} else {
		rc = w.status ? w.status : w.granted;
	}
	spin_unlock_irqrestore(&ugh_lock, flags);
out:
	mutex_unlock(&port->streams_mutex);
	if (unanswered)
		dev_warn(&udev->dev, "bulk streams: no answer from the frontend%s\n",
			 earlier ? " to an earlier request" : "");
	return rc;
}

int ugh_alloc_streams(struct usb_hcd *hcd, struct usb_device *udev,
		      struct usb_host_endpoint **eps, unsigned int num_eps,
		      unsigned int num_streams, gfp_t mem_flags)
{
	unsigned int i, max;
	u32 endpoints = 0;

	/*
	 * A device's endpoint supports 2^MaxStreams stream contexts, stream
	 * 0 reserved: ask for no more ids than every endpoint has, as a host
	 * controller grants them (sys-usb's grants no fewer than asked or
	 * fails).
	 */
	for (i = 0; i < num_eps; i++) {
		if (!usb_endpoint_xfer_bulk(&eps[i]->desc))
			return -EINVAL;
		max = usb_ss_max_streams(&eps[i]->ss_ep_comp);
		if (max < 2)
			return -EINVAL;
		num_streams = min(num_streams, max - 1);
		endpoints |= ugh_ep_bit(eps[i]->desc.bEndpointAddress);
	}
	if (!endpoints || !num_streams)
		return -EINVAL;
	return ugh_streams_ask(hcd, udev, endpoints, num_streams);
}

int ugh_free_streams(struct usb_hcd *hcd, struct usb_device *udev,
		     struct usb_host_endpoint **eps, unsigned int num_eps,
		     gfp_t mem_flags)
{
	unsigned int i;
	u32 endpoints = 0;

	for (i = 0; i < num_eps; i++)
		endpoints |= ugh_ep_bit(eps[i]->desc.bEndpointAddress);
	if (!endpoints)
		return -EINVAL;
	return ugh_streams_ask(hcd, udev, endpoints, 0);
}

/*
 * The outstanding request of port as a record for the reader, if it was
 * not read yet. ugh_lock held. Returns its length, 0 if none.
 */
size_t ugh_streams_notice(struct ugh_port *port, struct ugh_streams *rec)
{
	struct ugh_streams_req *req = &port->sreq;

	if (!req->nr || req->sent)
		return 0;
	req->sent = true;
	memset(rec, 0, sizeof(*rec));
	rec->hdr.type = req->streams ? UGH_K_ALLOC_STREAMS : UGH_K_FREE_STREAMS;
	rec->hdr.len = sizeof(*rec);
	rec->hdr.id = req->nr;
	rec->endpoints = req->endpoints;
	rec->streams = req->streams;
	return rec->hdr.len;
}

/* None outstanding: the next caller may ask. ugh_lock held. */
static void ugh_streams_idle_now(struct ugh_port *port)
{
	memset(&port->sreq, 0, sizeof(port->sreq));
	wake_up(&port->sreq_idle);
}

/*
 * The frontend's answer (lengths checked by the caller) to the outstanding
 * request, read already; any other is refused, as is a grant outside 1 to
 * the ids asked. A grant nobody waits for any more is taken back by a
 * free, outstanding in its place. ugh_lock held.
 */
int ugh_streams_answer(struct ugh_port *port,
		       const struct ugh_streams_done *rec)
{
	struct ugh_streams_req *req = &port->sreq;
	struct ugh_streams_wait *w = req->waiter;

	if (rec->hdr.flags || !req->nr || rec->hdr.id != req->nr ||
	    !req->sent || rec->status > 0 || rec->status < -MAX_ERRNO)
		return -EINVAL;
	if ((rec->status || !req->streams) ? rec->streams != 0 :
	    (!rec->streams || rec->streams > req->streams))
		return -EINVAL;
	if (w) {
		w->status = rec->status;
		w->granted = rec->streams;
		complete(&w->done);
	} else if (req->streams && !rec->status) {
		dev_warn(port->sess->hcd->self.controller,
			 "bulk streams granted after the timeout: freeing them\n");
		req->nr = ++port->sreq_nr;
		req->streams = 0;
		req->sent = false;
		port->sess->notices |= UGH_N_STREAMS;
		wake_up_interruptible(&port->sess->wait);
		return 0;
	}
	ugh_streams_idle_now(port);
	return 0;
}

/*
 * The session on port ends: its request fails, whoever asked it. ugh_lock
 * held.
 */
void ugh_streams_fail(struct ugh_port *port)
{
	struct ugh_streams_wait *w = port->sreq.waiter;

	if (w) {
		w->status = -ENODEV;
		complete(&w->done);
	}
	ugh_streams_idle_now(port);
}
