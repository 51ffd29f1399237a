/*
 * chan_vchan.c: the vchan row of the channel layer (see chan.h): a Xen
 * vchan between two domains, with its own I/O ops because a vchan is a
 * shared ring with an event channel, not a descriptor. The only file that
 * includes Xen headers; without Xen the kind parses but does not open.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#ifdef HAVE_XEN
#include <libxenvchan.h>
#endif

#include "chan.h"

#ifdef HAVE_XEN

static ssize_t
vchan_read(void *h, void *buf, size_t len)
{
	struct libxenvchan *vc = h;
	int n;

	libxenvchan_wait(vc);
	if (!libxenvchan_is_open(vc) && libxenvchan_data_ready(vc) == 0)
		return CHAN_E_EOF;
	n = libxenvchan_read(vc, buf, len);
	return n < 0 ? CHAN_E_EOF : n;
}

static ssize_t
vchan_write(void *h, const void *buf, size_t len)
{
	int n = libxenvchan_write(h, buf, len);

	return n < 0 ? CHAN_E_EOF : n;
}

static void
vchan_ack(void *h)
{
	libxenvchan_wait(h);
}

static void
vchan_close(void *h)
{
	libxenvchan_close(h);
}

static const struct chan_io vchan_io = {
	vchan_read, vchan_write, vchan_ack, vchan_close,
};

int
chan_vchan_open(const struct chan_uri *u, int serve, struct chan_end *out)
{
	struct libxenvchan *vc;
	char path[128];

	snprintf(path, sizeof(path), "data/usbgate/%s", u->port);
	vc = serve ? libxenvchan_server_init(NULL, u->domid, path, 65536,
	    65536) : libxenvchan_client_init(NULL, u->domid, path);
	if (vc == NULL)
		return CHAN_E_SYS;
	vc->blocking = 0;
	/*
	 * One event channel for both directions: it is readable when the
	 * peer wrote or read. Its POLLOUT is always set, so it is not polled
	 * for writing (that would spin while the ring is full); a read by
	 * the peer wakes us instead.
	 */
	out->rfd = libxenvchan_fd_for_select(vc);
	out->wfd = -1;
	out->is_socket = out->is_tcp = 0;
	out->io = &vchan_io;
	out->h = vc;
	return CHAN_OK;
}

#else

int
chan_vchan_open(const struct chan_uri *u, int serve, struct chan_end *out)
{
	(void)u;
	(void)serve;
	(void)out;
	errno = ENOTSUP;
	return CHAN_E_NOTSUP;
}

#endif
