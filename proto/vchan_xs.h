/*
 * vchan_xs.h: where the two ends of a usbgate vchan meet in xenstore.
 *
 * The AppVM frontend is the vchan server (it grants the ring, as Xen's
 * split-driver frontends and qrexec callers do), sys-usb's backend the
 * client. With Qubes' libvchan-xen convention, a server in domain S for
 * peer C on port P publishes under its own, guest-writable subtree
 *	/local/domain/S/data/vchan/C/P/{ring-ref,event-channel}
 * readable only by C (libxenvchan sets (nS,rC) on both keys; the
 * directories inherit S's private data/). The client builds the same path
 * from the server's domid and its own, and waits for it.
 */
#ifndef USBGATE_VCHAN_XS_H
#define USBGATE_VCHAN_XS_H

#include <stddef.h>

struct libxenvchan;

/* How long a client waits for its server to publish. */
#define VCHAN_XS_WAIT_MS	10000

/* "data/vchan/<peer>/<port>": the server's path, relative to itself. */
int vchan_xs_server_path(int peer, const char *port, char *out, size_t len);

/*
 * Open one end toward domain peer. A server returns at once; a client
 * waits up to wait_ms for the server's keys (an xenstore watch, no polling)
 * Its xenstore answers EACCES until the server published (see vchan_xs.c).
 * Returns NULL with errno set on failure.
 */
struct libxenvchan *vchan_xs_open(int peer, const char *port, int server,
    int wait_ms);

#endif
