/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's shared state: the controllers (each a USB 2 and a USB 3
 * root hub over the same ports count), their ports, the sessions (one per
 * open of the character device, on a port of any controller) and the URB
 * records. One spinlock, ugh_lock, guards all of it, whatever the
 * controller: a session finds its port on any of them, and the USB core
 * already takes one global lock for every URB (hcd_urb_list_lock).
 */
#ifndef USBGATE_HCD_H
#define USBGATE_HCD_H

#include <linux/completion.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/usb.h>
#include <linux/usb/hcd.h>
#include <linux/wait.h>

#include "usbgate_hcd_uapi.h"

#define UGH_NAME	"usbgate_hcd"
#define UGH_MAX_PORTS	15	/* a USB 3 root hub has at most 15 */
#define UGH_MAX_HCS	16	/* two buses each, of the USB core's 64 */

struct ugh_session;

/* A caller of alloc_streams or free_streams waiting for the answer. */
struct ugh_streams_wait {
	int status;		/* the answer: 0 or a negative errno */
	u32 granted;
	struct completion done;
};

/*
 * The bulk streams request outstanding at the frontend (streams.c), until
 * its answer or the end of the session, whoever waits for it: its caller,
 * nobody once the caller gave up (timeout), nobody for the free the kernel
 * asks itself to take back a grant that came too late.
 */
struct ugh_streams_req {
	u64 nr;			/* the record's id; 0: none outstanding */
	u32 endpoints;		/* as struct ugh_streams has them */
	u32 streams;		/* ids asked, 0 to free */
	bool sent;		/* read by the frontend */
	struct ugh_streams_wait *waiter;	/* NULL: nobody waits */
};

/* One root hub port. */
struct ugh_port {
	u32 status;		/* wPortStatus | wPortChange << 16 */
	enum usb_device_speed speed;
	struct ugh_session *sess;	/* NULL while nothing is attached */
	bool parked;		/* sess's device hidden for system sleep */
	u64 resets;		/* reset requests sent since connect */
	struct mutex streams_mutex;	/* one caller asks at a time */
	struct ugh_streams_req sreq;	/* the one outstanding, if nr */
	wait_queue_head_t sreq_idle;	/* woken when none is outstanding */
	u64 sreq_nr;		/* streams requests made on the port */
};

/* hcd_priv of both root hubs. */
struct ugh_hub {
	struct ugh_hc *hc;
	int ss;			/* index in hc->ports: 0 USB 2, 1 USB 3 */
};

/* One controller: platform device usbgate_hcd.N, drvdata. */
struct ugh_hc {
	struct usb_hcd *hcd[2];	/* [0] USB 2 (primary), [1] USB 3 (shared) */
	unsigned int nports;
	struct ugh_port ports[2][UGH_MAX_PORTS];
};

/* Pending notices for the reader, bits of ugh_session.notices. */
#define UGH_N_PORT	0x01
#define UGH_N_RESET	0x02
#define UGH_N_SUSPEND	0x04
#define UGH_N_RESUME	0x08
#define UGH_N_STREAMS	0x10

/* Where a URB record stands. */
enum ugh_urb_state {
	UGH_U_QUEUED,		/* on sess->queue, not read yet */
	UGH_U_CLAIMED,		/* off every list: a read or write copies data */
	UGH_U_INFLIGHT,		/* on sess->inflight, the frontend has it */
};

/* What sits on a session's lists: a URB record or a cancel notice. */
enum ugh_item_kind {
	UGH_I_URB,
	UGH_I_UNLINK,
};

struct ugh_item {
	struct list_head node;
	enum ugh_item_kind kind;
	u64 id;			/* the URB's id within the session */
};

struct ugh_urb {
	struct ugh_item item;	/* first: an item is freed as its URB */
	struct urb *urb;
	struct usb_hcd *hcd;
	struct ugh_session *sess;
	u64 conn;		/* sess->conn when submitted */
	enum ugh_urb_state state;
};

struct ugh_session {
	struct ugh_port *port;	/* NULL until UGH_F_CONNECT */
	struct usb_hcd *hcd;	/* the root hub of port */
	u64 conn;		/* connection number, bumped on detach */
	u64 next_id;
	unsigned int notices;	/* UGH_N_* */
	struct list_head queue;	/* items: URBs (QUEUED) and cancel notices */
	struct list_head inflight;	/* items of URBs (INFLIGHT) */
	wait_queue_head_t wait;
};

/* hcd.c */
extern spinlock_t ugh_lock;
extern bool ugh_sleeping;	/* between sleep's prepare and its end */
extern struct ugh_hc *ugh_hcs[UGH_MAX_HCS];	/* read-only once loaded */
extern unsigned int ugh_nr_hcs;
struct ugh_hub *ugh_hub(struct usb_hcd *hcd);
unsigned int ugh_port_number(struct usb_hcd *hcd, struct ugh_port *port);
int ugh_port_attach(struct ugh_session *sess, enum usb_device_speed speed);
void ugh_port_gone(struct ugh_port *port, bool ss);
void ugh_port_park(struct ugh_port *port, bool ss, bool park);
void ugh_port_reset_done(struct ugh_port *port, bool ss);

/* streams.c */
int ugh_alloc_streams(struct usb_hcd *hcd, struct usb_device *udev,
		      struct usb_host_endpoint **eps, unsigned int num_eps,
		      unsigned int num_streams, gfp_t mem_flags);
int ugh_free_streams(struct usb_hcd *hcd, struct usb_device *udev,
		     struct usb_host_endpoint **eps, unsigned int num_eps,
		     gfp_t mem_flags);
size_t ugh_streams_notice(struct ugh_port *port, struct ugh_streams *rec);
int ugh_streams_answer(struct ugh_port *port,
		       const struct ugh_streams_done *rec);
void ugh_streams_fail(struct ugh_port *port);

/* urb.c */
struct ugh_port *ugh_dev_port(struct ugh_hub *hub, struct usb_device *udev);
int ugh_urb_enqueue(struct usb_hcd *hcd, struct urb *urb, gfp_t mem_flags);
int ugh_urb_dequeue(struct usb_hcd *hcd, struct urb *urb, int status);
void ugh_urb_retire(struct ugh_urb *u);
void ugh_urb_giveback(struct ugh_urb *u, int status);
struct ugh_urb *ugh_urb_find(struct ugh_session *sess, u64 id);
int ugh_urb_to_user(struct urb *urb, char __user *dst, u32 len);
int ugh_urb_from_user(struct urb *urb, u32 off, const char __user *src,
		      u32 len);
void ugh_urb_cancel_notice(struct ugh_session *sess, u64 id);

/* tx.c: kernel to frontend */
ssize_t ugh_tx_read(struct ugh_session *sess, char __user *buf, size_t count);
bool ugh_tx_pending(struct ugh_session *sess);

/* rx.c: frontend to kernel */
ssize_t ugh_rx_write(struct ugh_session *sess, const char __user *buf,
		     size_t count);

/* event.c: the one teardown */
void ugh_session_detach(struct ugh_session *sess);

/* sleep.c: ports parked for system sleep */
int ugh_sleep_init(void);
void ugh_sleep_exit(void);

/* chardev.c */
int ugh_chardev_init(void);
void ugh_chardev_exit(void);

#endif /* USBGATE_HCD_H */
