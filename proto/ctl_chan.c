/*
 * ctl_chan.c: control channels on the channel layer (see ctl_chan.h).
 */
#include "config.h"

#include <errno.h>

#include "ctl_chan.h"
#include "ctl_codec.h"

int
ctl_chan_error(int chan_err)
{
	switch (chan_err) {
	case CHAN_OK:
		return CTL_OK;
	case CHAN_E_URI:
	case CHAN_E_NOTSUP:
		return CTL_E_URI;
	case CHAN_E_EOF:
		return CTL_E_EOF;
	case CHAN_E_NOMEM:
		return CTL_E_NOMEM;
	default:
		return CTL_E_SYS;
	}
}

int
ctl_chan_parse(const char *uri, struct ctl_chan_uri *out)
{
	if (chan_uri_parse(uri, out) != CHAN_OK ||
	    !(chan_kind_flags(out->kind) & CHAN_K_CONTROL))
		return CTL_E_URI;
	return CTL_OK;
}

int
ctl_chan_connect(const char *uri, int *wfd_out)
{
	struct chan_uri u;
	struct chan_end e;
	int r;

	if (ctl_chan_parse(uri, &u) != CTL_OK)
		return CTL_E_URI;
	if ((r = chan_open(&u, 0, &e)) != CHAN_OK)
		return ctl_chan_error(r);
	if (wfd_out != NULL)
		*wfd_out = e.wfd;
	return e.rfd;
}

int
ctl_chan_listen(const char *uri, unsigned mode)
{
	struct chan_uri u;
	int fd;

	if (ctl_chan_parse(uri, &u) != CTL_OK)
		return CTL_E_URI;
	fd = chan_listen(&u, mode);
	return fd < 0 ? ctl_chan_error(fd) : fd;
}

int
ctl_chan_accept(int lfd)
{
	struct chan_end e;
	int r;

	if ((r = chan_accept(lfd, &e)) != CHAN_OK)
		return ctl_chan_error(r);
	return e.rfd;
}

int
ctl_chan_nonblock(int fd)
{
	return chan_nonblock(fd);
}
