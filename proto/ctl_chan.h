/*
 * ctl_chan.h: open control channels named by URI.
 *
 * Owns only file descriptors; framing is ctl_peer's job. The URI syntax is
 * the one of proto/stream.h in the data plane (unix:PATH, tcp:HOST:PORT,
 * dev:PATH, fd:N, fd:R,W, stdio), so one configuration names both. This
 * file exists because a daemon with several listening channels needs
 * non-blocking listen/accept, which stream_open() does not offer; once
 * both planes are merged, ctl_chan_parse() can delegate to
 * stream_uri_parse() without changing any caller.
 *
 * All descriptors are returned O_CLOEXEC and O_NONBLOCK.
 */
#ifndef USBGATE_CTL_CHAN_H
#define USBGATE_CTL_CHAN_H

#include <stddef.h>

enum ctl_chan_kind {
	CTL_CHAN_UNIX,
	CTL_CHAN_TCP,
	CTL_CHAN_DEV,
	CTL_CHAN_FD,
	CTL_CHAN_STDIO,
};

struct ctl_chan_uri {
	enum ctl_chan_kind kind;
	char path[108];		/* unix:, dev: */
	char host[256];		/* tcp: */
	char port[8];		/* tcp: */
	int rfd, wfd;		/* fd:, stdio */
};

/* Parse uri. Returns 0 or CTL_E_URI. */
int ctl_chan_parse(const char *uri, struct ctl_chan_uri *out);

/*
 * Connect (unix:, tcp:), open (dev:) or adopt (fd:) the channel. For fd:R,W
 * with R != W, *wfd_out receives W; otherwise it equals the return value.
 * Returns a descriptor, or a negative enum ctl_error (errno kept).
 */
int ctl_chan_connect(const char *uri, int *wfd_out);

/*
 * Create a listening socket (unix:, tcp:). A stale unix socket file is
 * replaced; the new one is created with mode (e.g. 0600), never wider, even
 * for a moment, whatever the umask. Returns the descriptor or a
 * negative enum ctl_error. dev: and fd: cannot listen (CTL_E_URI).
 */
int ctl_chan_listen(const char *uri, unsigned mode);

/* Accept one connection; returns fd, CTL_E_SYS with errno EAGAIN if none. */
int ctl_chan_accept(int lfd);

/* Set O_NONBLOCK and FD_CLOEXEC. */
int ctl_chan_nonblock(int fd);

#endif
