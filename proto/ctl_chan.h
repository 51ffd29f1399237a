/*
 * ctl_chan.h: the control plane's view of the channel layer (proto/chan.h).
 *
 * Owns nothing: the URI grammar and the per-kind open, listen and accept
 * are chan.c's. This file narrows them to the kinds control wire version 1
 * defines (unix:, tcp:, dev:, fd:, stdio; chan_kind_flags() has
 * CHAN_K_CONTROL) and turns channel errors into enum ctl_error. The names
 * are the ones callers have always used.
 *
 * All descriptors are returned O_CLOEXEC and O_NONBLOCK.
 */
#ifndef USBGATE_CTL_CHAN_H
#define USBGATE_CTL_CHAN_H

#include <stddef.h>

#include "chan.h"

#define ctl_chan_uri	chan_uri
#define ctl_chan_kind	chan_kind
#define CTL_CHAN_UNIX	CHAN_UNIX
#define CTL_CHAN_TCP	CHAN_TCP
#define CTL_CHAN_DEV	CHAN_DEV
#define CTL_CHAN_FD	CHAN_FD
#define CTL_CHAN_STDIO	CHAN_STDIO

/* A channel layer error (enum chan_error) as an enum ctl_error. */
int ctl_chan_error(int chan_err);

/* Parse uri. Returns 0 or CTL_E_URI (also for kinds control cannot use). */
int ctl_chan_parse(const char *uri, struct ctl_chan_uri *out);

/*
 * Connect (unix:, tcp:), open (dev:) or adopt (fd:) the channel. For fd:R,W
 * with R != W, *wfd_out receives W; otherwise it equals the return value.
 * Returns a descriptor, or a negative enum ctl_error (errno kept).
 */
int ctl_chan_connect(const char *uri, int *wfd_out);

/*
 * Create a listening socket (unix:, tcp:). A stale unix socket file is
 * replaced; mode (e.g. 0600) is applied to it. Returns the descriptor or a
 * negative enum ctl_error. dev: and fd: cannot listen (CTL_E_URI).
 */
int ctl_chan_listen(const char *uri, unsigned mode);

/* Accept one connection; returns fd, CTL_E_SYS with errno EAGAIN if none. */
int ctl_chan_accept(int lfd);

/* Set O_NONBLOCK and FD_CLOEXEC. */
int ctl_chan_nonblock(int fd);

#endif
