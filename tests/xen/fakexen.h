/*
 * tests/xen/fakexen.h: the state the drop-in libxenevtchn.so.1 and
 * libxengnttab.so.1 of the fake hypervisor share between processes.
 *
 * A process is "domain N" when XENSTORED_PATH names <dir>/d<N>.sock, the
 * socket fakexenstored serves for that domain: identity and the directory
 * holding event-channel ports and grants come from that one variable, so
 * they cannot disagree with the xenstore connection.
 *
 *  <dir>/ev.<dom>.<port>  one event-channel port (struct fx_port, shared)
 *  <dir>/h.<pid>.<n>      the datagram socket of one evtchn handle: its fd
 *  <dir>/g.<dom>.<ref>    one grant: page 0 the data, page 1 struct fx_grant
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
	_Atomic int32_t remote_dom;	/* unbound: the domain allowed to bind */
	_Atomic int32_t remote_port;	/* 0 while unbound */
	char sock[108];			/* the owning handle's socket */
};

struct fx_grant {
	uint32_t granter, grantee, writable;
	_Atomic uint32_t revoked;
};

/* The calling process's domain and directory; -1 and errno when unset. */
int fx_self(uint32_t *dom, const char **dir);
/* Map port <dom>.<port>; NULL and errno when it does not exist. */
struct fx_port *fx_port_map(uint32_t dom, uint32_t port);
void fx_port_unmap(struct fx_port *p);
/* Raise an event on a port (delivery to its handle, coalesced, masked). */
void fx_port_raise(struct fx_port *p);
/* Send an event from local port <dom>.<port> to its remote end. */
int fx_port_notify(uint32_t dom, uint32_t port);

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
/* Do one notification now (unmap, or the reaper after a death). */
void fx_notify_run(const struct fx_notify *n);

#endif
