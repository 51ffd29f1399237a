/*
 * ctl_link.h: the control link of a daemon in a VM (usbgate-backend daemon,
 * usbgate-frontend daemon) to usbgated in dom0, kept up for the daemon's
 * whole life.
 *
 * Owns the channel's descriptors, the hello exchange, and starting over
 * whenever dom0 goes away or restarts: the channel is reopened (a socket
 * reconnected, a character device such as a virtio-serial port opened
 * again) or a new connection accepted. On a channel without end-of-stream
 * (dev:, framed:...) the stream's session framing sees dom0 close (CLOSE,
 * or the port's host end gone), restart (a new nonce) or go silent (no
 * keepalive): all three end the connection like a socket's end-of-stream.
 * The daemon sees three events: UP (hellos exchanged, publish your state),
 * DOWN (dom0 is gone; orders it gave no longer hold) and MSG (one
 * sanitized message from dom0, ctl_peer has checked its direction).
 */
#ifndef USBGATE_CTL_LINK_H
#define USBGATE_CTL_LINK_H

#include <poll.h>
#include <stdint.h>

#include "ctl_peer.h"

enum ctl_link_event {
	CTL_LINK_NONE = 0,	/* nothing (more) to report now */
	CTL_LINK_UP = 1,	/* hellos exchanged (again): publish state */
	CTL_LINK_DOWN = 2,	/* dom0 went away: drop what it ordered */
	CTL_LINK_MSG = 3,	/* *msg holds one message from dom0 */
};

struct ctl_link;

/*
 * uri: unix:, tcp:, dev:, fd:, stdio, vchan:, framed:... (see chan.h).
 * listen: wait for dom0 to connect (unix:, tcp:), or be the vchan server
 * dom0's usbgated connects to (a fresh one each time dom0 went away). Nothing is opened yet; the first
 * ctl_link_io() does. Returns CTL_OK or a negative enum ctl_error.
 */
int ctl_link_new(const char *uri, int listen, enum ctl_role self,
    const char *name, uint32_t caps, struct ctl_link **out);
void ctl_link_free(struct ctl_link *l);

/*
 * Descriptors to poll: fills up to 2 entries of pfd and returns how many;
 * lowers *timeout_ms (-1: none) to the link's next timer.
 */
int ctl_link_pollfds(struct ctl_link *l, struct pollfd *pfd, int *timeout_ms);

/*
 * After poll(): pass the pollfd entries ctl_link_pollfds() filled (with
 * their revents), then call ctl_link_next() until it returns CTL_LINK_NONE.
 * Timers (reconnect, keepalives) run here too: call it every loop turn.
 */
void ctl_link_io(struct ctl_link *l, const struct pollfd *pfd, int n);

/* The next event; for CTL_LINK_MSG *msg is filled. */
int ctl_link_next(struct ctl_link *l, struct ctl_msg *msg);

/* 1 while hellos are exchanged and the channel works. */
int ctl_link_is_up(const struct ctl_link *l);
/* 1 when the channel cannot come back (fd:, stdio closed). */
int ctl_link_is_dead(const struct ctl_link *l);

/*
 * Verify, encode and queue a message for dom0. Fails with CTL_E_STATE
 * while the link is down (the message is dropped: dom0 learns the state
 * again at the next UP). A send error takes the link down.
 */
int ctl_link_send(struct ctl_link *l, const struct ctl_msg *msg);

/* Flush queued messages for up to timeout_ms (before exiting). */
void ctl_link_drain(struct ctl_link *l, int timeout_ms);

/* Why the link last went down or failed to come up (for the log). */
const char *ctl_link_detail(const struct ctl_link *l);

#endif
