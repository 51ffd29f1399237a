/*
 * tests/xen/fakexen.h: the state the drop-in libxenevtchn.so.1 and
 * libxengnttab.so.1 of the fake hypervisor share between processes.
 *
 * A process is "domain N" when XENSTORED_PATH names <dir>/d<N>.sock, the
 * socket fakexenstored serves for that domain: identity and the directory
 * holding event-channel ports and grants come from that one variable, so
 * they cannot disagree with the xenstore connection.
 *
 *  <dir>/ev.<dom>.<port>  one event channel (struct fx_chan, shared): the
 *                         unbound port's file, hard-linked under the binder's
 *                         port number when the peer binds it
 *  @fakexen.<pid>.<n>     the datagram socket of one evtchn handle, in the
 *                         abstract namespace: its xenevtchn_fd
 *  <dir>/g.<dom>.<ref>    one grant: page 0 the data, page 1 struct fx_grant
 *
 * As with the real devices, the files are looked up only while a channel
 * or grant is set up; notifying, unmasking, unmapping and closing use what
 * was mapped then, so a process that chroots into an empty directory and
 * enters a seccomp filter afterwards (as usbgate's daemons do) keeps
 * working.
 */
#ifndef FAKEXEN_H
#define FAKEXEN_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#define FX_PAGE		4096

/* fx_port.state */
#define FX_PENDING	1u	/* an event waits for delivery */
#define FX_MASKED	2u	/* delivered, not yet unmasked */
#define FX_CLOSED	4u	/* unbound */

struct fx_port {
	_Atomic uint32_t state;
	uint32_t dom, port;
	char sock[100];			/* the owning handle's abstract socket */
};

/* fx_chan.bound */
#define FX_FREE		0u
#define FX_CLAIMED	1u
#define FX_BOUND	2u

struct fx_chan {
	struct fx_port end[2];	/* [0] the unbound port, [1] its binder */
	uint32_t offered_to;	/* the only domain that may bind end[1] */
	_Atomic uint32_t bound;
};

struct fx_grant {
	uint32_t granter, grantee, writable;
	_Atomic uint32_t revoked;
};

/*
 * Make the ioctl the real library makes at this point (request req, as in
 * Xen's tools/libs/{evtchn,gnttab}/linux.c), so that a seccomp filter
 * decides about it exactly as on Xen. No descriptor of the fake knows the
 * request, so it goes to none: EBADF means the kernel was asked, as the
 * real device would be (0); a refusal by the filter is -1 with its errno,
 * and the caller fails as the real library does (or the filter kills).
 */
int fx_ioctl(unsigned long req, void *arg);

/* The calling process's domain and directory; -1 and errno when unset. */
int fx_self(uint32_t *dom, const char **dir);
/* Map the channel of port <dom>.<port> (setup only); NULL and errno. */
struct fx_chan *fx_chan_map(uint32_t dom, uint32_t port);
void fx_chan_unmap(struct fx_chan *c);
/* The end of c that is port <dom>.<port>. */
struct fx_port *fx_chan_end(struct fx_chan *c, uint32_t dom, uint32_t port);
/* Raise an event on a port (coalesced, masked), sent from socket fd. */
void fx_port_raise(struct fx_port *p, int fd);
/* Send an event from local end l of c to the other end. */
int fx_chan_notify(struct fx_chan *c, struct fx_port *l, int fd);

/* Unmap notifications that survive the process: done by a reaper child. */
struct fx_notify {
	uint64_t id;
	char path[128];		/* the grant file */
	uint32_t offset;	/* byte cleared, or UINT32_MAX */
	uint32_t dom, port;	/* local event port notified, or port 0 */
	uint32_t forget;	/* 1: done by the process itself */
};
int fx_reaper_add(struct fx_notify *n);	/* fills n->id */
void fx_reaper_forget(uint64_t id);
/* The reaper's part after a death: by path, outside any chroot. */
void fx_notify_run(const struct fx_notify *n, int fd);

#endif
