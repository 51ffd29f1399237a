/*
 * vchan_xs.c: the xenstore rendezvous of a usbgate vchan (see vchan_xs.h):
 * the server's path under its own domain, and a client that finds the
 * server's keys under /local/domain/<server>/, waiting for them with a
 * watch instead of failing once.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vchan_xs.h"

#ifdef HAVE_XEN
#include <libxenvchan.h>
#include <xenstore.h>

int
vchan_xs_server_path(int peer, const char *port, char *out, size_t len)
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

static struct libxenvchan *
client_open(int peer, const char *port, int wait_ms)
{
	struct itimerspec its = { { 0, 0 }, { wait_ms / 1000,
	    (wait_ms % 1000) * 1000000L } };
	struct libxenvchan *vc = NULL;
	struct xs_handle *xs;
	struct pollfd pfd[2];
	char base[128], **ev;
	unsigned int len, n;
	char *self;
	int rc, saved = ETIMEDOUT, tfd;

	/* the deadline is a timer beside the watch: no clock arithmetic */
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (tfd < 0)
		return NULL;
	if (timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    (xs = xs_open(0)) == NULL) {
		close(tfd);
		return NULL;
	}
	self = xs_read(xs, XBT_NULL, "domid", &len);
	if (self == NULL) {
		saved = errno;
		goto out;
	}
	snprintf(base, sizeof(base), "/local/domain/%d/data/vchan/%s/%s",
	    peer, self, port);
	free(self);
	if (!xs_watch(xs, base, "usbgate-vchan")) {
		saved = errno;
		goto out;
	}
	pfd[0].fd = xs_fileno(xs);
	pfd[0].events = POLLIN;
	pfd[1].fd = tfd;
	pfd[1].events = POLLIN;
	for (;;) {
		rc = keys_present(xs, base);
		if (rc < 0) {
			saved = errno;
			break;
		}
		if (rc > 0 && (vc = libxenvchan_client_init(NULL, peer,
		    base)) != NULL)
			break;
		/* absent, or stale keys of a server that went: wait */
		if (poll(pfd, 2, -1) < 0 || pfd[1].revents != 0)
			break;
		ev = xs_read_watch(xs, &n);
		free(ev);
	}
	xs_unwatch(xs, base, "usbgate-vchan");
out:
	xs_close(xs);
	close(tfd);
	if (vc == NULL)
		errno = saved;
	return vc;
}

struct libxenvchan *
vchan_xs_open(int peer, const char *port, int server, int wait_ms)
{
	char path[64];

	if (!server)
		return client_open(peer, port, wait_ms);
	if (vchan_xs_server_path(peer, port, path, sizeof(path)) < 0) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return libxenvchan_server_init(NULL, peer, path, 65536, 65536);
}
#endif
