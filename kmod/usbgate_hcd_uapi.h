/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The records exchanged through /dev/usbgate_hcd, shared
 * by the kernel module (kmod/) and the frontend (frontend/kmod_*.c).
 *
 * One open of the device is one session: at most one attached device, on a
 * root hub port the kernel picks. Closing the descriptor (or the death of
 * the process) is the one teardown: the port is disconnected and every URB
 * the session still holds is given back.
 *
 * read() returns whole records, as many as fit (never a partial record; a
 * buffer smaller than the next record gets EMSGSIZE: UGH_READ_MIN always
 * suffices). write() takes whole records, several per call; it returns the
 * bytes of the records it accepted, or an error if the first one was
 * refused. Every record starts with struct ugh_rec; len counts the header,
 * the fixed part and the variable data and is a multiple of 8. Fields are
 * in host byte order (both ends run on the same machine).
 */
#ifndef USBGATE_HCD_UAPI_H
#define USBGATE_HCD_UAPI_H

#include <linux/types.h>

#define UGH_DEVICE	"/dev/usbgate_hcd"
/* 2: bulk streams (UGH_K_ALLOC_STREAMS, UGH_K_FREE_STREAMS, UGH_F_STREAMS_DONE) */
#define UGH_VERSION	2

/* The largest transfer one URB may carry (enqueue refuses longer ones). */
#define UGH_MAX_DATA	(1024 * 1024)
/* The largest number of isochronous packets in one URB. */
#define UGH_MAX_ISO	1024
/* A read() buffer of this size always holds the next record. */
#define UGH_READ_MIN	(UGH_MAX_DATA + 8 * UGH_MAX_ISO + 128)

#define UGH_ALIGN(n)	(((n) + 7u) & ~7u)

struct ugh_rec {
	__u16 type;		/* UGH_K_* or UGH_F_* */
	__u16 flags;		/* record specific, 0 otherwise */
	__u32 len;		/* whole record in bytes, multiple of 8 */
	__u64 id;		/* URB id, reset number, 0 otherwise */
};

/* Kernel to frontend. */
enum {
	UGH_K_PORT = 1,		/* struct ugh_port_info: answer to UGH_F_CONNECT */
	UGH_K_SUBMIT,		/* struct ugh_submit (+ iso descs + OUT data) */
	UGH_K_UNLINK,		/* cancel URB id (already given back) */
	UGH_K_RESET,		/* port reset requested; id: resets since connect */
	UGH_K_SUSPEND,		/* the port was suspended */
	UGH_K_RESUME,		/* the port was resumed */
	UGH_K_ALLOC_STREAMS,	/* struct ugh_streams: allocate bulk streams */
	UGH_K_FREE_STREAMS,	/* struct ugh_streams (streams 0): free them */
};

/* Frontend to kernel. */
enum {
	UGH_F_CONNECT = 64,	/* struct ugh_connect */
	UGH_F_DISCONNECT,	/* header only */
	UGH_F_COMPLETE,		/* struct ugh_complete (+ iso results + IN data) */
	UGH_F_RESET_DONE,	/* header only; id: the reset number answered */
	UGH_F_STREAMS_DONE,	/* struct ugh_streams_done */
};

/* Speeds, as the kernel's enum usb_device_speed numbers them. */
enum {
	UGH_SPEED_LOW = 1,
	UGH_SPEED_FULL = 2,
	UGH_SPEED_HIGH = 3,
	UGH_SPEED_SUPER = 5,
	UGH_SPEED_SUPER_PLUS = 6,
};

/* Transfer types, as usb_pipetype() numbers them. */
enum {
	UGH_XFER_ISO = 0,
	UGH_XFER_INTR = 1,
	UGH_XFER_CONTROL = 2,
	UGH_XFER_BULK = 3,
};

/* ugh_submit.flags */
#define UGH_SUBMIT_SHORT_NOT_OK	0x0001
#define UGH_SUBMIT_ZERO_PACKET	0x0002

struct ugh_connect {
	struct ugh_rec hdr;
	__u32 speed;		/* UGH_SPEED_* */
	__u32 reserved;		/* 0 */
};

struct ugh_port_info {
	struct ugh_rec hdr;
	__u32 version;		/* UGH_VERSION */
	__u32 busnum;		/* the root hub's bus number */
	__u32 portnum;		/* 1-based port on that root hub */
	__u32 speed;		/* as connected */
};

struct ugh_submit {
	struct ugh_rec hdr;	/* id: the URB's id within the session */
	__u8 ep;		/* endpoint address, 0x80 set for IN */
	__u8 xfer;		/* UGH_XFER_* */
	__u16 flags;		/* UGH_SUBMIT_* */
	__u32 length;		/* transfer buffer length */
	__u32 stream;		/* bulk stream id, 0 without streams */
	__u32 interval;		/* in (micro)frames, as the URB has it */
	__u32 packets;		/* isochronous packets, 0 otherwise */
	__u32 reserved;
	__u8 setup[8];		/* control transfers only */
	/*
	 * Followed by packets x struct ugh_iso_desc, then for OUT transfers
	 * the length bytes of data, then padding to 8 bytes.
	 */
};

struct ugh_iso_desc {
	__u32 offset;
	__u32 length;
};

struct ugh_complete {
	struct ugh_rec hdr;	/* id: the URB's id from UGH_K_SUBMIT */
	__s32 status;		/* 0 or a negative errno a HCD gives back */
	__u32 actual;		/* bytes transferred (sum of packets for iso) */
	__u32 packets;		/* must equal the submitted count */
	__u32 error_count;	/* isochronous packets in error */
	__u32 start_frame;
	__u32 reserved;
	/*
	 * Followed by packets x struct ugh_iso_result, then for IN transfers
	 * the data: actual bytes, for isochronous transfers each packet's
	 * bytes one after the other (placed by the kernel at the packet's
	 * offset), then padding to 8 bytes.
	 */
};

struct ugh_iso_result {
	__s32 status;
	__u32 actual;
};

/*
 * A bulk streams request (USB 3 only, UAS asks for them): the endpoints
 * as a mask, bit (ep & 0x80) >> 3 | (ep & 0x0f) per endpoint (usbredir's
 * numbering), all bulk. An allocation asks for stream ids 1 to streams on
 * each; a free gives them all back. One request per port is outstanding
 * until its UGH_F_STREAMS_DONE (or the end of the session), even when the
 * kernel's caller gave up waiting (a timeout): the next request comes after
 * that answer, and a grant that came too late is followed at once by a
 * free of the same endpoints, which the kernel asks for itself.
 */
struct ugh_streams {
	struct ugh_rec hdr;	/* id: the request's number, ascending */
	__u32 endpoints;
	__u32 streams;		/* allocation: ids wanted; free: 0 */
};

struct ugh_streams_done {
	struct ugh_rec hdr;	/* id: the request answered */
	__s32 status;		/* 0 or a negative errno */
	__u32 streams;		/* ids granted (1 to those asked), or 0 */
};

#endif /* USBGATE_HCD_UAPI_H */
