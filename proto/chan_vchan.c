/*
 * chan_vchan.c: the vchan row of the channel layer (see chan.h): a Xen
 * vchan between two domains, with its own I/O ops because a vchan is a
 * shared ring with an event channel, not a descriptor. The only file that
 * includes Xen headers; without Xen the kind parses but does not open.
 *
 * Where the two ends meet in xenstore. The AppVM frontend is the vchan
 * server (it grants the ring, as Xen's split-driver frontends and qrexec
 * callers do), sys-usb's backend the client. With Qubes' libvchan-xen
 * convention, a server in domain S for peer C on port P publishes under
 * its own, guest-writable subtree
 *	/local/domain/S/data/vchan/C/P/{ring-ref,event-channel}
 * readable only by C (libxenvchan sets (nS,rC) on both keys; the
 * directories inherit S's private data/). vchan:DOMID:PORT names the peer
 * on both ends; the client builds the same path from the server's domid
 * and its own (read from xenstore) and waits for it on a watch, up to
 * VCHAN_WAIT_MS, instead of failing once. Two AppVMs on one backend, or
 * two backends of one AppVM, never share a path.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#ifdef HAVE_XEN
#include <libxenvchan.h>
#include <xenstore.h>
#endif

#include "chan.h"

#ifdef HAVE_XEN

/* How long a client waits for its server to publish. */
#define VCHAN_WAIT_MS	10000

static int
vchan_server_path(int peer, const char *port, char *out, size_t len)
{
	int n = snprintf(out, len, "data/vchan/%d/%s", peer, port);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * The keys are there (1), not yet (0), or xenstore failed (-1, errno).
 * xenstored answers EACCES for a missing node under a directory we may not
 * read (the server's private data/), so EACCES is "not yet" as well; a
 * server that offered the channel to another domain looks the same.
 */
static int
keys_present(struct xs_handle *xs, const char *base)
{
	char key[160];
	unsigned int len;
	char *v;

	snprintf(key, sizeof(key), "%s/event-channel", base);
	v = xs_read(xs, XBT_NULL, key, &len);
	if (v != NULL) {
		free(v);
		return 1;
	}
	return errno == ENOENT || errno == EACCES ? 0 : -1;
}

/*
 * A client waiting for its server: a xenstore connection watching the
 * server's path /local/domain/PEER/data/vchan/SELF/PORT. The blocking
 * open and chan_wait (chan.h) are the same steps.
 */
struct vchan_wait {
	struct xs_handle *xs;
	int peer;
	char base[128];
};

static void
wait_free(struct vchan_wait *w)
{
	if (w == NULL)
		return;
	if (w->xs != NULL) {
		xs_unwatch(w->xs, w->base, "usbgate-vchan");
		xs_close(w->xs);
	}
	free(w);
}

static struct vchan_wait *
wait_start(int peer, const char *port)
{
	struct vchan_wait *w = calloc(1, sizeof(*w));
	unsigned int len;
	char *self;
	int saved;

	if (w == NULL)
		return NULL;
	w->peer = peer;
	if ((w->xs = xs_open(0)) == NULL) {
		free(w);
		return NULL;
	}
	self = xs_read(w->xs, XBT_NULL, "domid", &len);
	if (self == NULL)
		goto fail;
	snprintf(w->base, sizeof(w->base), "/local/domain/%d/data/vchan/%s/%s",
	    peer, self, port);
	free(self);
	if (xs_watch(w->xs, w->base, "usbgate-vchan"))
		return w;
fail:
	saved = errno;
	xs_close(w->xs);
	free(w);
	errno = saved;
	return NULL;
}

/*
 * Take the watch's events and try the keys: the vchan, or NULL with errno
 * EAGAIN while they are absent (or stale keys of a server that went).
 */
static struct libxenvchan *
wait_step(struct vchan_wait *w)
{
	struct libxenvchan *vc;
	char **ev;
	int rc;

	while ((ev = xs_check_watch(w->xs)) != NULL)
		free(ev);
	if (errno != EAGAIN)
		return NULL;
	rc = keys_present(w->xs, w->base);
	if (rc < 0)
		return NULL;
	if (rc > 0 && (vc = libxenvchan_client_init(NULL, w->peer,
	    w->base)) != NULL)
		return vc;
	errno = EAGAIN;
	return NULL;
}

static struct libxenvchan *
client_open(int peer, const char *port, int wait_ms)
{
	struct itimerspec its = { { 0, 0 }, { wait_ms / 1000,
	    (wait_ms % 1000) * 1000000L } };
	struct libxenvchan *vc = NULL;
	struct vchan_wait *w;
	struct pollfd pfd[2];
	int saved = ETIMEDOUT, tfd;

	/* the deadline is a timer beside the watch: no clock arithmetic */
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (tfd < 0)
		return NULL;
	if (timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    (w = wait_start(peer, port)) == NULL) {
		saved = errno;
		close(tfd);
		errno = saved;
		return NULL;
	}
	pfd[0].fd = xs_fileno(w->xs);
	pfd[0].events = POLLIN;
	pfd[1].fd = tfd;
	pfd[1].events = POLLIN;
	while ((vc = wait_step(w)) == NULL) {
		if (errno != EAGAIN) {
			saved = errno;
			break;
		}
		if (poll(pfd, 2, -1) < 0 || pfd[1].revents != 0)
			break;
	}
	wait_free(w);
	close(tfd);
	if (vc == NULL)
		errno = saved;
	return vc;
}

static struct libxenvchan *
vchan_open(int peer, const char *port, int server, int wait_ms)
{
	char path[64];

	if (!server)
		return client_open(peer, port, wait_ms);
	if (vchan_server_path(peer, port, path, sizeof(path)) < 0) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return libxenvchan_server_init(NULL, peer, path, 65536, 65536);
}

/*
 * An end: the vchan plus what the stream polls, an epoll set of the event
 * channel's descriptor and an eventfd. An event sent before the peer bound
 * its port is lost (as in Xen), so a client may find data in the ring that
 * no event announces: the eventfd, raised at open, makes the first read
 * happen anyway.
 */
struct vchan_end {
	struct libxenvchan *vc;
	int ep, kick;
};

/* Consume the event channel's event if there is one; never block. */
static void
vchan_take_event(struct vchan_end *e)
{
	struct pollfd p = { libxenvchan_fd_for_select(e->vc), POLLIN, 0 };
	uint64_t v;

	if (read(e->kick, &v, sizeof(v)) < 0) {
		/* not raised: nothing to consume */
	}
	if (poll(&p, 1, 0) > 0)
		libxenvchan_wait(e->vc);
}

static ssize_t
vchan_read(void *h, void *buf, size_t len)
{
	struct vchan_end *e = h;
	int n;

	uint64_t one = 1;

	vchan_take_event(e);
	if (!libxenvchan_is_open(e->vc) && libxenvchan_data_ready(e->vc) == 0)
		return CHAN_E_EOF;
	n = libxenvchan_read(e->vc, buf, len);
	if (n < 0)
		return CHAN_E_EOF;
	/*
	 * The event that announced these bytes is consumed. Bytes left in
	 * the ring, or a peer already gone behind them, get no new one:
	 * raise the eventfd so that rfd stays readable and the next read
	 * takes the rest, or reports the end.
	 */
	if ((libxenvchan_data_ready(e->vc) > 0 ||
	    !libxenvchan_is_open(e->vc)) &&
	    write(e->kick, &one, sizeof(one)) != sizeof(one)) {
		/* already raised */
	}
	return n;
}

static ssize_t
vchan_write(void *h, const void *buf, size_t len)
{
	struct vchan_end *e = h;
	int n = libxenvchan_write(e->vc, buf, len);

	return n < 0 ? CHAN_E_EOF : n;
}

static void
vchan_ack(void *h)
{
	vchan_take_event(h);
}

static void
vchan_close(void *h)
{
	struct vchan_end *e = h;

	libxenvchan_close(e->vc);
	close(e->ep);
	close(e->kick);
	free(e);
}

static const struct chan_io vchan_io = {
	vchan_read, vchan_write, vchan_ack, vchan_close,
};

/* Wrap an open vchan (NULL: failed, errno kept) into an end; it owns vc. */
static int
end_wrap(struct libxenvchan *vc, struct chan_end *out)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct vchan_end *e;
	uint64_t one = 1;
	int saved;

	if (vc == NULL)
		return CHAN_E_SYS;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		libxenvchan_close(vc);
		return CHAN_E_NOMEM;
	}
	e->vc = vc;
	e->ep = epoll_create1(EPOLL_CLOEXEC);
	e->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->ep < 0 || e->kick < 0 ||
	    epoll_ctl(e->ep, EPOLL_CTL_ADD, e->kick, &ev) < 0 ||
	    epoll_ctl(e->ep, EPOLL_CTL_ADD, libxenvchan_fd_for_select(e->vc),
	    &ev) < 0 || write(e->kick, &one, sizeof(one)) != sizeof(one)) {
		saved = errno;
		libxenvchan_close(e->vc);
		if (e->ep >= 0)
			close(e->ep);
		if (e->kick >= 0)
			close(e->kick);
		free(e);
		errno = saved;
		return CHAN_E_SYS;
	}
	e->vc->blocking = 0;
	/*
	 * One event channel for both directions: it is readable when the
	 * peer wrote or read. Its POLLOUT is always set, so it is not polled
	 * for writing (that would spin while the ring is full); a read by
	 * the peer wakes us instead.
	 */
	out->rfd = e->ep;
	out->wfd = -1;
	out->is_socket = out->is_tcp = 0;
	out->io = &vchan_io;
	out->h = e;
	return CHAN_OK;
}

int
chan_vchan_open(const struct chan_uri *u, int serve, struct chan_end *out)
{
	return end_wrap(vchan_open(u->domid, u->port, serve, VCHAN_WAIT_MS),
	    out);
}

int
chan_vchan_wait_start(const struct chan_uri *u, void **h)
{
	*h = wait_start(u->domid, u->port);
	return *h != NULL ? CHAN_OK : CHAN_E_SYS;
}

int
chan_vchan_wait_fd(const void *h)
{
	const struct vchan_wait *w = h;

	return xs_fileno(w->xs);
}

int
chan_vchan_wait_step(void *h, struct chan_end *out)
{
	struct libxenvchan *vc = wait_step(h);

	if (vc == NULL)
		return CHAN_E_SYS;
	return end_wrap(vc, out);
}

void
chan_vchan_wait_free(void *h)
{
	wait_free(h);
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

int
chan_vchan_wait_start(const struct chan_uri *u, void **h)
{
	(void)u;
	*h = NULL;
	errno = ENOTSUP;
	return CHAN_E_NOTSUP;
}

int
chan_vchan_wait_fd(const void *h)
{
	(void)h;
	return -1;
}

int
chan_vchan_wait_step(void *h, struct chan_end *out)
{
	(void)h;
	(void)out;
	errno = ENOTSUP;
	return CHAN_E_NOTSUP;
}

void
chan_vchan_wait_free(void *h)
{
	(void)h;
}

#endif
