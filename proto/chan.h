/*
 * chan.h: the channel layer under both planes: one URI grammar, and for
 * each kind of channel one row of an ops table that opens, listens and
 * accepts. See doc/data-plane.md, "One channel layer".
 *
 * Owns: the URI grammar, the per-kind operations and the descriptors they
 * create until a struct chan_end is handed to a stream (proto/stream.h),
 * which then owns them. Nothing above this layer switches on kinds: it
 * asks chan_kind_flags() what a kind can do.
 *
 * URIs:
 *   stdio            read fd 0, write fd 1 (a qrexec service)
 *   fd:N             one bidirectional descriptor (fd:R,W for a pair)
 *   unix:PATH        AF_UNIX stream socket (connect, or bind+accept)
 *   tcp:HOST:PORT    TCP with TCP_NODELAY (connect, or bind+accept)
 *   dev:PATH         a character device such as a virtio-serial port, with
 *                    session framing (data and control)
 *   rawdev:PATH      the same without framing (a foreign peer)
 *   vchan:DOMID:PORT Xen vchan (proto/chan_vchan.c; only when built with Xen)
 *   framed:URI       URI (stdio, fd:, unix:, tcp:, vchan:) with session
 *                    framing: the far end is a character device (dom0's
 *                    end of a VM's virtio-serial port is QEMU's socket)
 *
 * Descriptors are returned O_CLOEXEC and O_NONBLOCK (inherited ones: fd:,
 * stdio, are only made non-blocking).
 *
 * An open end belongs to the process that opened it. A vchan is that
 * process's grant (server) or grant mapping (client) and its event
 * channel: a PV domain's gntdev mappings are not inherited across fork,
 * and closing a copy anywhere tears the ring down for both ends. So a
 * daemon forks its session process first and the session opens the
 * channel, while still privileged, before it enters the sandbox
 * (common/sandbox.c allows the vchan's calls after that); the parent never
 * opens it. Every kind is opened that way, so there is one path for all.
 */
#ifndef USBGATE_CHAN_H
#define USBGATE_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Values shared with enum stream_error (proto/stream.h). */
enum chan_error {
	CHAN_OK = 0,
	CHAN_E_URI = -1,	/* malformed or unknown channel URI */
	CHAN_E_SYS = -2,	/* system call failed, see errno */
	CHAN_E_EOF = -3,	/* peer closed the channel */
	CHAN_E_NOTSUP = -4,	/* kind not built in, or cannot do that */
	CHAN_E_NOMEM = -5,
};

enum chan_kind {
	CHAN_STDIO,
	CHAN_FD,
	CHAN_UNIX,
	CHAN_TCP,
	CHAN_DEV,
	CHAN_VCHAN,
	CHAN_RAWDEV,
	CHAN_KIND__COUNT
};

struct chan_uri {
	enum chan_kind kind;
	int rfd, wfd;		/* fd:, stdio */
	char path[108];		/* unix:, dev:, rawdev: */
	char host[256];		/* tcp: */
	char port[16];		/* tcp:, vchan: (as text) */
	int domid;		/* vchan: */
	int framed;		/* "framed:" was written before the kind */
};

/* What a kind can do (chan_kind_flags). */
#define CHAN_K_LISTEN	0x01	/* can be the server (listen, or vchan serve) */
#define CHAN_K_INHERIT	0x02	/* inherited descriptors: cannot be reopened */
#define CHAN_K_NOEOS	0x04	/* no end-of-stream (a character device) */
#define CHAN_K_FRAMED	0x08	/* streams use session framing */
#define CHAN_K_CONTROL	0x10	/* a control channel (control wire) */
#define CHAN_K_SOCKET	0x20	/* listen/accept with descriptors */

/*
 * I/O of a transport that is not a descriptor (vchan). read and write
 * return bytes (0: nothing now / full) or CHAN_E_EOF; ack consumes the
 * event that made rfd readable; close frees the handle.
 */
struct chan_io {
	ssize_t (*read)(void *h, void *buf, size_t len);
	ssize_t (*write)(void *h, const void *buf, size_t len);
	void (*ack)(void *h);
	void (*close)(void *h);
};

/* One open end of a channel. */
struct chan_end {
	int rfd, wfd;		/* wfd -1 with io: poll rfd for both ways */
	int is_socket;
	int is_tcp;
	const struct chan_io *io;	/* NULL: plain descriptors */
	void *h;			/* io's handle */
};

/* Opening a client without blocking (chan_wait_start), where a kind can. */
struct chan_wait_ops {
	int (*start)(const struct chan_uri *u, void **h);
	int (*fd)(const void *h);
	int (*step)(void *h, struct chan_end *out);
	void (*free)(void *h);
};

/* One row per kind; room for qrexec and kmod kinds. */
struct chan_kind_ops {
	const char *scheme;	/* "unix" for "unix:...", "stdio" alone */
	enum chan_kind kind;
	unsigned flags;		/* CHAN_K_* */
	/* Parse what follows "scheme:" (NULL for a bare scheme). */
	int (*parse)(const char *arg, struct chan_uri *u);
	/* Connect, open or adopt; with serve (vchan), be the server. */
	int (*open)(const struct chan_uri *u, int serve, struct chan_end *out);
	/* A non-blocking listening descriptor (CHAN_K_SOCKET only). */
	int (*listen)(const struct chan_uri *u, unsigned mode);
	/* Wait for a server without blocking (NULL: open at once). */
	const struct chan_wait_ops *wait;
};

/* Parse uri. Returns CHAN_OK or CHAN_E_URI. */
int chan_uri_parse(const char *uri, struct chan_uri *out);

unsigned chan_kind_flags(enum chan_kind kind);

/* 1 when streams on u use session framing (its kind, or "framed:"). */
int chan_uri_framed(const struct chan_uri *u);
const char *chan_kind_name(enum chan_kind kind);

/*
 * Open the channel. With listen, a socket kind listens and blocks until one
 * peer connects (the listening socket is closed again, a unix socket file
 * removed); vchan becomes the server. Returns CHAN_OK or a chan_error.
 */
int chan_open(const struct chan_uri *u, int listen, struct chan_end *out);

/*
 * A non-blocking listening socket (unix:, tcp:). A stale unix socket file
 * is replaced, never another kind of file; mode (e.g. 0600) is applied to
 * it unless 0. Returns the descriptor or a negative chan_error.
 */
int chan_listen(const struct chan_uri *u, unsigned mode);

/* Accept one connection (non-blocking); CHAN_E_SYS with EAGAIN if none. */
int chan_accept(int lfd, struct chan_end *out);

/*
 * Open a client end without blocking the caller's loop while its server is
 * not there yet (a vchan client waits for the server's xenstore keys; a
 * caller such as usbgated keeps serving everything else meanwhile).
 * chan_wait_start begins; poll chan_wait_fd for POLLIN (-1: nothing to
 * wait for) and call chan_wait_step then, or on the caller's own timer:
 * CHAN_OK and *out once open, CHAN_E_SYS with errno EAGAIN while waiting,
 * another error when the open failed. Kinds without a wait of their own
 * open (and, for a socket, connect) in chan_wait_start, and the first step
 * returns the result. The caller decides how long to wait; chan_wait_free
 * ends a wait, done or not. Returns CHAN_OK or a chan_error.
 */
struct chan_wait;
int chan_wait_start(const struct chan_uri *u, struct chan_wait **out);
int chan_wait_fd(const struct chan_wait *w);
int chan_wait_step(struct chan_wait *w, struct chan_end *out);
void chan_wait_free(struct chan_wait *w);

/* Close what chan_open or chan_accept gave. */
void chan_end_close(struct chan_end *e);

/* Set O_NONBLOCK (and FD_CLOEXEC unless it is 0, 1 or 2). */
int chan_nonblock(int fd);


/* proto/chan_vchan.c: the vchan row's operations. */
int chan_vchan_open(const struct chan_uri *u, int serve, struct chan_end *out);
int chan_vchan_wait_start(const struct chan_uri *u, void **h);
int chan_vchan_wait_fd(const void *h);
int chan_vchan_wait_step(void *h, struct chan_end *out);
void chan_vchan_wait_free(void *h);

#endif
