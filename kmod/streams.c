// SPDX-License-Identifier: GPL-2.0
/*
 * Bulk streams (USB 3; the uas driver needs them): the hc_driver's
 * alloc_streams and free_streams, announced on the SuperSpeed root hub
 * only, become a request to the session on the device's port
 * (UGH_K_ALLOC_STREAMS, UGH_K_FREE_STREAMS), which the frontend passes to
 * sys-usb and answers with UGH_F_STREAMS_DONE. The caller sleeps until the
 * answer, a timeout or the end of the session (the one teardown fails the
 * request); one request per port is outstanding. The stream ids of bulk
 * URBs then travel in their submissions (tx.c).
 */
#include <linux/jiffies.h>
#include <linux/module.h>

#include "usbgate_hcd.h"

/* The frontend asks sys-usb over the channel: a round trip or two. */
static unsigned int streams_timeout = 10;
module_param(streams_timeout, uint, 0644);
MODULE_PARM_DESC(streams_timeout,
		 "seconds to wait for the frontend's answer to a bulk streams request (default 10)");

/* The bit of an endpoint in struct ugh_streams.endpoints. */
static u32 ugh_ep_bit(u8 addr)
{
	return BIT((addr & USB_DIR_IN) >> 3 | (addr & USB_ENDPOINT_NUMBER_MASK));
}

/*
 * Ask the frontend and wait. Returns the ids granted (allocation), 0
 * (free) or a negative errno.
 */
static int ugh_streams_ask(struct usb_hcd *hcd, struct usb_device *udev,
			   u32 endpoints, u32 streams)
{
	struct ugh_hub *hub = ugh_hub(hcd);
	struct ugh_hc *hc = hub->hc;
	struct ugh_streams_req req = {
		.endpoints = endpoints,
		.streams = streams,
	};
	struct ugh_port *port;
	unsigned long flags;
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
	init_completion(&req.done);

	mutex_lock(&port->streams_mutex);
	spin_lock_irqsave(&hc->lock, flags);
	if (!port->sess) {
		spin_unlock_irqrestore(&hc->lock, flags);
		mutex_unlock(&port->streams_mutex);
		return -ENODEV;
	}
	req.nr = ++port->sreq_nr;
	port->sreq = &req;
	port->sess->notices |= UGH_N_STREAMS;
	wake_up_interruptible(&port->sess->wait);
	spin_unlock_irqrestore(&hc->lock, flags);

	wait_for_completion_timeout(&req.done,
				    READ_ONCE(streams_timeout) * HZ);

	/* Answered (or failed) unless still outstanding: decided here. */
	spin_lock_irqsave(&hc->lock, flags);
	if (port->sreq == &req) {
		port->sreq = NULL;
		rc = -ETIMEDOUT;
	} else {
		rc = req.status ? req.status : req.granted;
	}
	spin_unlock_irqrestore(&hc->lock, flags);
	mutex_unlock(&port->streams_mutex);
	if (rc == -ETIMEDOUT)
		dev_warn(&udev->dev, "bulk streams: no answer from the frontend\n");
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
 * not read yet. hc->lock held. Returns its length, 0 if none.
 */
size_t ugh_streams_notice(struct ugh_port *port, struct ugh_streams *rec)
{
	struct ugh_streams_req *req = port->sreq;

	if (!req || req->sent)
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

/*
 * The frontend's answer (lengths checked by the caller). An answer to a
 * request given up on is dropped; one never asked is refused, as is a
 * grant outside 1 to the ids asked. hc->lock held.
 */
int ugh_streams_answer(struct ugh_port *port,
		       const struct ugh_streams_done *rec)
{
	struct ugh_streams_req *req = port->sreq;

	if (rec->hdr.flags || !rec->hdr.id || rec->hdr.id > port->sreq_nr ||
	    rec->status > 0 || rec->status < -MAX_ERRNO)
		return -EINVAL;
	if (!req || req->nr != rec->hdr.id)
		return 0;	/* timed out already */
	if (!req->sent)
		return -EINVAL;
	if ((rec->status || !req->streams) ? rec->streams != 0 :
	    (!rec->streams || rec->streams > req->streams))
		return -EINVAL;
	req->status = rec->status;
	req->granted = rec->streams;
	port->sreq = NULL;
	complete(&req->done);
	return 0;
}

/* The session on port ends: its request fails. hc->lock held. */
void ugh_streams_fail(struct ugh_port *port)
{
	struct ugh_streams_req *req = port->sreq;

	if (!req)
		return;
	req->status = -ENODEV;
	port->sreq = NULL;
	complete(&req->done);
}
