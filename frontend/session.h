/*
 * session.h: one imported device in the AppVM: the usbredir guest side
 * joined to one vhci_hcd port.
 *
 * (or one usbgate_hcd port: kmod_rx.c, kmod_tx.c).
 *
 * Owns the in-flight URB table (a fixed pool, no allocation per URB), the
 * per-endpoint state learnt from the backend (types, streams, buffered
 * interrupt and isochronous input) and the reason a session ended. The
 * process that runs a session holds only the channel and the vhci socket;
 * attaching a port is asked of the privileged parent through fe_hooks.
 *
 * Everything received from the channel is hostile: ids are checked against
 * URBs in flight, lengths against the request, speeds, types and counts
 * against limits, before anything is written to the kernel.
 */
#ifndef USBGATE_FE_SESSION_H
#define USBGATE_FE_SESSION_H

#include <signal.h>
#include <stdint.h>

#include <usbredirparser.h>

#include "ifclass.h"
#include "stream.h"
#include "usb_limits.h"
#include "usbip_wire.h"

enum fe_error {
	FE_OK = 0,
	FE_E_PROTO = -1,	/* malformed or lying packet from the backend */
	FE_E_EOF = -2,		/* the backend closed the channel */
	FE_E_CHANNEL = -3,	/* channel read/write error */
	FE_E_VHCI = -4,		/* vhci closed the socket (port detached) */
	FE_E_DISCONNECT = -5,	/* the backend reported the device gone */
	FE_E_ATTACH = -6,	/* no vhci port could be attached */
	FE_E_NOMEM = -7,
	FE_E_STOPPED = -8,	/* asked to stop (SIGTERM) */
	FE_E_TIMEOUT = -9,	/* the backend offered no device in time */
	FE_E_IDENTITY = -10,	/* an interface class dom0 did not approve */
	FE_E__COUNT = 11
};

const char *fe_strerror(int err);

/* Kernel enum usb_device_speed values, as vhci's attach file takes them. */
#define FE_SPEED_LOW	1
#define FE_SPEED_FULL	2
#define FE_SPEED_HIGH	3
#define FE_SPEED_SUPER	5

#define FE_MAX_URBS	1024	/* URBs in flight; more waits in vhci */
#define FE_HASH_SIZE	2048
#define FE_INT_QUEUE	64	/* buffered interrupt-IN packets per ep */
#define FE_ISO_QUEUE	1024	/* buffered iso-IN packets per ep */
#define FE_MAX_PKT	(48 * 1024)	/* largest iso/interrupt packet */
/* Buffered input data held at most, per endpoint and per session. */
#define FE_EP_QUEUE_BYTES	(4u << 20)
#define FE_SESSION_QUEUE_BYTES	(16u << 20)

struct fe_hooks {
	/*
	 * The backend offered a device of this speed (FE_SPEED_*): attach a
	 * vhci port. Returns a connected socket for vhci's USB/IP stream
	 * (ownership passes to the session), or a negative fe_error.
	 */
	int (*attach)(void *ctx, int speed, uint16_t vid, uint16_t pid);
	void *ctx;
	int kmod;	/* attach gives a usbgate_hcd port (kmod_rx.c) */
};

enum urb_kind {
	URB_FREE = 0,
	URB_CONTROL,		/* a control_packet to the backend */
	URB_SET_CONFIG,		/* SET_CONFIGURATION as set_configuration */
	URB_SET_ALT,		/* SET_INTERFACE as set_alt_setting */
	URB_GET_CONFIG,		/* GET_CONFIGURATION answered by the backend */
	URB_BULK,
	URB_INT_OUT,
	URB_INT_IN,		/* waits for buffered interrupt input */
	URB_ISO_IN,		/* waits for buffered iso input */
	URB_ISO_OUT,		/* sent; completes when its time has passed */
};

struct urb {
	enum urb_kind kind;
	uint32_t seqnum;
	uint8_t ep;		/* endpoint address with direction bit */
	uint8_t in;
	uint32_t flags;		/* USB/IP transfer_flags */
	uint8_t config_desc;	/* GET_DESCRIPTOR of a configuration */
	uint32_t length;	/* transfer_buffer_length */
	uint32_t npackets;	/* iso packets */
	uint32_t filled;	/* iso-IN packets filled so far */
	uint32_t unlink_seqnum;	/* CMD_UNLINK waiting for this URB, or 0 */
	uint64_t deadline_ns;	/* iso-OUT completion time */
	uint64_t submit_ns;	/* when vhci submitted it (latency stats) */
	uint64_t kmod_id;	/* usbgate_hcd's id (seqnum: its low half) */
	uint32_t stream;	/* bulk stream id, 0 without streams */
	struct usbip_iso_desc *iso;	/* npackets descriptors (iso only) */
	uint8_t *iso_data;	/* iso-IN: packed data gathered so far */
	uint32_t iso_used;
	int hnext;		/* hash chain, -1 ends */
	int qnext;		/* per-endpoint wait queue, -1 ends */
};

struct fe_pkt {
	uint8_t *data;		/* owned; free with usbredirparser_free_packet_data */
	uint32_t len;
	uint8_t status;
};

struct fe_ep {
	uint8_t type;		/* usb_redir_type_* */
	uint8_t interval;
	uint8_t interface;
	uint16_t max_packet_size;
	int started;		/* interrupt receiving or iso stream started */
	int qhead, qtail;	/* waiting URBs (index into pool) */
	struct fe_pkt *pkts;	/* ring of buffered input packets */
	uint32_t pkt_cap, pkt_head, pkt_len;
	uint32_t pkt_bytes;	/* data held in the ring */
	uint64_t out_clock_ns;	/* iso-OUT: when queued data runs out */
	uint64_t dropped;	/* input packets dropped on overflow */
	uint32_t bulk_streams;	/* bulk stream ids 1..n allocated (kmod) */
};

#define FE_LAT_BUCKETS	96	/* 4 per power of two of microseconds */

struct fe_stats {
	uint64_t urbs;
	uint64_t polls;
	uint64_t chan_reads;
	uint64_t lat[FE_LAT_BUCKETS];	/* URB turnaround, all kinds */
	uint64_t lat_n;
	uint64_t unlinks;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t int_dropped;
	uint64_t iso_dropped;
	uint64_t iso_failed;		/* iso IN packets sys-usb sent failed */
	uint64_t resets;		/* AppVM port resets made real */
	uint64_t streams;		/* bulk stream ids granted (kmod) */
};

struct fe_session {
	struct stream *chan;
	struct stream *vhci;		/* NULL until attached */
	int kmod;			/* vhci is usbgate_hcd: ugh records */
	uint64_t kmod_id;		/* usbgate_hcd: the newest URB id */
	uint64_t kmod_sreq;		/* usbgate_hcd: the newest streams
					 * request id */
	struct {
		uint64_t id;		/* 0: no streams request outstanding */
		uint32_t endpoints;	/* bit FE_EP2I(ep) per endpoint */
		uint32_t streams;	/* ids asked, 0: a free */
	} sreq;				/* asked of the backend, unanswered */
	struct usbredirparser *parser;
	struct fe_hooks hooks;

	int connected;			/* device_connect seen */
	int speed;			/* FE_SPEED_* */
	uint16_t vid, pid;
	int have_ep_info;
	struct fe_classes classes;	/* what dom0 approved (ifclass.h) */
	int configured;			/* a SET_CONFIGURATION(n != 0) succeeded */
	struct fe_ep ep[USB_EP_SLOTS];
	uint32_t queued_bytes;		/* input data held by all endpoints */

	struct urb urbs[FE_MAX_URBS];
	int hash[FE_HASH_SIZE];
	int freelist[FE_MAX_URBS];
	int nfree;

	int error;			/* first fatal error, FE_OK while running */
	int chan_err;			/* the channel's read error (stream_error) */
	char detail[160];		/* one line on why the session ended */
	struct fe_stats stats;
};

/* Create a session on an open channel; queues the usbredir hello. */
int fe_session_new(struct stream *chan, const struct fe_hooks *hooks,
    struct fe_session **out);
void fe_session_free(struct fe_session *s);

/*
 * Run until the session ends; returns the fe_error that ended it and leaves
 * a human-readable line in s->detail. stop is polled between events.
 * connect_timeout_ms bounds the wait for the backend's device (-1: none).
 */
int fe_session_run(struct fe_session *s, volatile sig_atomic_t *stop,
    int connect_timeout_ms);

/* --- internal, shared between the session files --- */
void fe_fail(struct fe_session *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct urb *fe_urb_alloc(struct fe_session *s, uint32_t seqnum);
struct urb *fe_urb_find(struct fe_session *s, uint32_t seqnum);
void fe_urb_release(struct fe_session *s, struct urb *u);
int fe_urb_index(const struct fe_session *s, const struct urb *u);

/* Answer vhci: RET_SUBMIT with optional data (copied) and the URB freed. */
void fe_complete(struct fe_session *s, struct urb *u, int32_t status,
    const uint8_t *data, uint32_t len);
/* RET_SUBMIT taking ownership of a parser data buffer (no copy). */
void fe_complete_owned(struct fe_session *s, struct urb *u, int32_t status,
    uint8_t *data, uint32_t len);
void fe_complete_iso(struct fe_session *s, struct urb *u);
void fe_ret_unlink(struct fe_session *s, uint32_t seqnum, int32_t status);

/* Per-endpoint wait queues. */
void fe_ep_enqueue(struct fe_session *s, struct fe_ep *e, struct urb *u);
struct urb *fe_ep_peek(struct fe_session *s, struct fe_ep *e);
/* Take the oldest buffered input packet (pkt_len > 0); the caller owns it. */
struct fe_pkt fe_ep_pop_input(struct fe_session *s, struct fe_ep *e);
void fe_ep_dequeue_head(struct fe_session *s, struct fe_ep *e);
int fe_ep_remove(struct fe_session *s, struct fe_ep *e, struct urb *u);
void fe_ep_reset(struct fe_session *s, struct fe_ep *e, int32_t status);

/* vhci_rx.c: parse and dispatch USB/IP commands buffered on s->vhci. */
int fe_vhci_rx(struct fe_session *s);
/*
 * submit.c: a URB from the kernel (vhci or usbgate_hcd) to the backend. u
 * has ep, in, flags, length and for isochronous URBs npackets and iso[]
 * (offset, length) set; setup is read for endpoint 0, data holds the OUT
 * bytes. fe_cancel: returns 1 when u waited here and is freed, 0 when the
 * backend's answer will complete it (u->unlink_seqnum = unlink).
 */
void fe_submit(struct fe_session *s, struct urb *u, const uint8_t *setup,
    const uint8_t *data);
int fe_cancel(struct fe_session *s, struct urb *u, uint32_t unlink);
/* Reset the device in sys-usb (a port reset in the AppVM). */
void fe_reset_device(struct fe_session *s);
/* kmod_rx.c: usbgate_hcd records on s->vhci when hooks.kmod is set. */
int fe_kmod_attach(struct fe_session *s);
int fe_kmod_rx(struct fe_session *s, int readable);
int fe_kmod_backlog(const struct fe_session *s);
/* kmod_tx.c: completions and streams answers as usbgate_hcd records. */
void fe_kmod_streams_done(struct fe_session *s, uint64_t id, int32_t status,
    uint32_t streams);
void fe_kmod_complete(struct fe_session *s, const struct urb *u,
    int32_t status, const uint8_t *data, uint32_t len);
void fe_kmod_complete_iso(struct fe_session *s, const struct urb *u,
    uint32_t errors);
/*
 * submit.c: a bulk streams request of usbgate_hcd (id, endpoints as
 * FE_EP2I bits, streams 0 to free) to the backend, or refused at once.
 */
void fe_streams_request(struct fe_session *s, uint64_t id,
    uint32_t endpoints, uint32_t streams);
/* redir_rx.c: install the parser callbacks. */
void fe_redir_callbacks(struct usbredirparser *p);
/* Fill waiting interrupt/iso URBs from buffered packets. */
void fe_ep_pump(struct fe_session *s, int epi);
/* iso-OUT completion by time; returns ms until the next deadline or -1. */
int fe_iso_out_tick(struct fe_session *s);

int fe_redir_status_to_errno(uint8_t status);
/* Turnaround percentile (0..100) in microseconds from the histogram. */
uint64_t fe_lat_percentile(const struct fe_stats *st, int pct);

#define FE_EP2I(ep)	((((ep) & 0x80) >> 3) | ((ep) & 0x0f))
#define FE_I2EP(i)	((((i) & 0x10) << 3) | ((i) & 0x0f))

#endif
