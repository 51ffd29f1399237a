/*
 * gated_xen.h: usbgated's view of the Xen domains, from xenstore alone.
 *
 * dom0 follows domains with the special watches @introduceDomain and
 * @releaseDomain and reads each /local/domain/<N>/name itself: a domain's
 * name and domid are never taken from what a VM sends. A name counts only
 * when its node is owned by dom0 (the toolstack writes it; a guest cannot),
 * is a valid CTL_CS_NAME and belongs to one domain only. A VM restart shows
 * as the old domid gone and a new one come under the same name.
 *
 * It also hands out the vchan ports of the data channels: per pair of
 * domids (AppVM, backend), from a range clear of qrexec's (512 and up);
 * the server's xenstore path holds both domids, so pairs never collide and
 * only the channels of one pair need distinct ports.
 *
 * Without Xen at build time gxen_open fails with ENOSYS; the port and link
 * helpers work all the same.
 */
#ifndef USBGATE_GATED_XEN_H
#define USBGATE_GATED_XEN_H

#include "ctl_msg.h"

#define GXEN_DOMS_MAX	256
#define GXEN_PORT_FIRST	21760	/* 0x5500 */
#define GXEN_PORT_COUNT	256
#define GXEN_PAIRS_MAX	256

struct gxen;

/* A domain came (up = 1) or went (up = 0). */
typedef void (*gxen_fn)(void *ctx, const char *name, unsigned int domid,
    int up);

/*
 * A peer whose control link follows the domain of its name: *domid is the
 * domain it is linked to (-1: none) and becomes the reported one's. The
 * result says what the link does: GXEN_LINK_DROP, the link to the old
 * domain ends (and with it that VM's sessions); GXEN_LINK_CONNECT, connect
 * to the new one. A restart (old domid gone, new one come) is a DROP, then
 * a CONNECT; a report about another domid changes nothing.
 */
#define GXEN_LINK_DROP		1
#define GXEN_LINK_CONNECT	2
int gxen_link_follow(int *domid, unsigned int event_domid, int up);

/* Connect to xenstore and watch the domains; NULL with errno on failure. */
struct gxen *gxen_open(void);
void gxen_close(struct gxen *gx);

/* Poll this for POLLIN, then call gxen_update. */
int gxen_fd(const struct gxen *gx);

/*
 * Take the pending watch events and rescan the domains; fn hears every
 * change since the last call (the first call reports all domains but dom0).
 * Returns 0, or -1 with errno when xenstore failed.
 */
int gxen_update(struct gxen *gx, gxen_fn fn, void *ctx);

/* The domid of a named domain, or -1. */
int gxen_domid(const struct gxen *gx, const char *name);

/*
 * The lowest port no channel of the pair (appvm, backend) holds, now held;
 * -1 when the pair holds all GXEN_PORT_COUNT or GXEN_PAIRS_MAX pairs hold
 * ports.
 */
int gxen_port_take(struct gxen *gx, unsigned int appvm, unsigned int backend);
/* Give a port back (a port the pair does not hold is ignored). */
void gxen_port_give(struct gxen *gx, unsigned int appvm,
    unsigned int backend, int port);
/* A domain went: every port of its pairs is free again. */
void gxen_port_forget(struct gxen *gx, unsigned int domid);

#endif
