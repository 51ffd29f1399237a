// SPDX-License-Identifier: GPL-2.0
/*
 * The one teardown of a session's device, whatever ended it (the
 * frontend's disconnect record, the close of the descriptor or the death of
 * the process): the port is disconnected, every URB the session holds is
 * given back, a bulk streams request waiting for an answer fails and every
 * pending notice is dropped. URBs a read() or write() has
 * claimed are given back by that call, which sees the connection number
 * changed.
 */
#include <linux/slab.h>

#include "usbgate_hcd.h"

void ugh_session_detach(struct ugh_session *sess)
{
	struct ugh_item *it, *tmp;
	struct usb_hcd *hcd = NULL;
	unsigned long flags;
	LIST_HEAD(done);

	spin_lock_irqsave(&ugh_lock, flags);
	if (sess->port) {
		hcd = sess->hcd;
		ugh_streams_fail(sess->port);
		ugh_port_gone(sess->port, ugh_hub(hcd)->ss);
		sess->port = NULL;
		sess->hcd = NULL;
	}
	sess->conn++;
	sess->notices = 0;
	list_splice_init(&sess->inflight, &done);
	list_splice_tail_init(&sess->queue, &done);
	list_for_each_entry_safe(it, tmp, &done, node) {
		if (it->kind == UGH_I_UNLINK) {
			list_del(&it->node);
			kfree(it);
			continue;
		}
		ugh_urb_retire(container_of(it, struct ugh_urb, item));
	}
	spin_unlock_irqrestore(&ugh_lock, flags);

	list_for_each_entry_safe(it, tmp, &done, node) {
		list_del(&it->node);
		ugh_urb_giveback(container_of(it, struct ugh_urb, item),
				 -ESHUTDOWN);
	}
	if (hcd)
		usb_hcd_poll_rh_status(hcd);
}
