/*
 * tests/xen/evtchn.c: a drop-in libxenevtchn.so.1 for the fake hypervisor
 * (same symbols and version nodes as Xen 4.17's). A handle is a datagram
 * socket in the abstract namespace, which is also its xenevtchn_fd(): an
 * event is a datagram carrying the local port, read by xenevtchn_pending()
 * the way /dev/xen/evtchn is. A delivered port stays masked until
 * xenevtchn_unmask(); events raised meanwhile coalesce into one, as in Xen.
 * Files are touched only when binding (see fakexen.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xen/xen.h>
#include <xen/sys/evtchn.h>

#include "fakexen.h"

#define MAX_PORTS	64

struct bound {
	struct fx_chan *c;
	struct fx_port *p;	/* our end of c */
};

struct xenevtchn_handle {
	int fd;
	uint32_t dom;
	char sock[100];
	struct bound ports[MAX_PORTS];
};

xenevtchn_handle *
xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	static unsigned int seq;
	struct sockaddr_un sun;
	xenevtchn_handle *h;
	socklen_t len;
	uint32_t dom;

	if (fx_self(&dom, NULL) < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->dom = dom;
	snprintf(h->sock, sizeof(h->sock), "fakexen.%ld.%u", (long)getpid(),
	    ++seq);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, h->sock, strlen(h->sock));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(h->sock));
	h->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&sun, len) < 0) {
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return NULL;
	}
	return h;
}

xenevtchn_handle *
xenevtchn_fdopen(struct xentoollog_logger *logger, int fd, unsigned int flags)
{
	errno = ENOSYS;
	return NULL;
}

int
xenevtchn_fd(xenevtchn_handle *h)
{
	return h->fd;
}

static struct bound *
local(xenevtchn_handle *h, evtchn_port_t port)
{
	size_t i;

	for (i = 0; i < MAX_PORTS; i++)
		if (h->ports[i].p != NULL && h->ports[i].p->port == port)
			return &h->ports[i];
	errno = EINVAL;
	return NULL;
}

static struct bound *
slot(xenevtchn_handle *h)
{
	size_t i;

	for (i = 0; i < MAX_PORTS; i++)
		if (h->ports[i].p == NULL)
			return &h->ports[i];
	errno = ENOSPC;
	return NULL;
}

static void
end_init(xenevtchn_handle *h, struct fx_port *p, uint32_t port)
{
	p->dom = h->dom;
	p->port = port;
	memcpy(p->sock, h->sock, sizeof(p->sock));
	atomic_store(&p->state, 0);
}

xenevtchn_port_or_error_t
xenevtchn_bind_unbound_port(xenevtchn_handle *h, uint32_t domid)
{
	struct bound *b = slot(h);
	struct fx_chan init;
	const char *dir;
	char path[160];
	uint32_t n;
	int fd = -1;

	if (b == NULL || fx_self(&n, &dir) < 0)
		return -1;
	for (n = 1; n < 4096 && fd < 0; n++) {
		snprintf(path, sizeof(path), "%s/ev.%u.%u", dir, h->dom, n);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0) {
		errno = ENOSPC;
		return -1;
	}
	n--;
	memset(&init, 0, sizeof(init));
	end_init(h, &init.end[0], n);
	init.offered_to = domid;
	if (write(fd, &init, sizeof(init)) != sizeof(init)) {
		close(fd);
		return -1;
	}
	close(fd);
	b->c = fx_chan_map(h->dom, n);
	if (b->c == NULL)
		return -1;
	b->p = &b->c->end[0];
	return (xenevtchn_port_or_error_t)n;
}

xenevtchn_port_or_error_t
xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
    evtchn_port_t remote_port)
{
	struct bound *b = slot(h);
	struct fx_chan *c;
	char from[160], to[160];
	const char *dir;
	uint32_t self, n, freev = FX_FREE;

	if (b == NULL || fx_self(&self, &dir) < 0)
		return -1;
	c = fx_chan_map(domid, remote_port);
	if (c == NULL) {
		errno = EINVAL;
		return -1;
	}
	/* Xen: the remote port must be unbound and offered to us */
	if ((atomic_load(&c->end[0].state) & FX_CLOSED) ||
	    c->offered_to != h->dom ||
	    !atomic_compare_exchange_strong(&c->bound, &freev, FX_CLAIMED)) {
		fx_chan_unmap(c);
		errno = EINVAL;
		return -1;
	}
	/* our port number: the same channel file under our name */
	snprintf(from, sizeof(from), "%s/ev.%u.%u", dir, domid, remote_port);
	for (n = 1; n < 4096; n++) {
		snprintf(to, sizeof(to), "%s/ev.%u.%u", dir, h->dom, n);
		if (link(from, to) == 0)
			break;
		if (errno != EEXIST)
			n = 4096;
	}
	if (n >= 4096) {
		atomic_store(&c->bound, FX_FREE);
		fx_chan_unmap(c);
		errno = ENOSPC;
		return -1;
	}
	end_init(h, &c->end[1], n);
	atomic_store(&c->bound, FX_BOUND);
	b->c = c;
	b->p = &c->end[1];
	return (xenevtchn_port_or_error_t)n;
}

xenevtchn_port_or_error_t
xenevtchn_bind_virq(xenevtchn_handle *h, unsigned int virq)
{
	errno = EPERM;	/* no VIRQ in the fake */
	return -1;
}

int
xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
	struct bound *b = local(h, port);

	if (b == NULL)
		return -1;
	atomic_fetch_or(&b->p->state, FX_CLOSED);
	fx_chan_unmap(b->c);
	b->c = NULL;
	b->p = NULL;
	return 0;
}

int
xenevtchn_close(xenevtchn_handle *h)
{
	size_t i;

	if (h == NULL)
		return 0;
	for (i = 0; i < MAX_PORTS; i++)
		if (h->ports[i].p != NULL)
			xenevtchn_unbind(h, h->ports[i].p->port);
	close(h->fd);
	free(h);
	return 0;
}

int
xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
	struct ioctl_evtchn_notify n = { .port = port };
	struct bound *b = local(h, port);

	if (b == NULL || fx_ioctl(IOCTL_EVTCHN_NOTIFY, &n) < 0)
		return -1;
	return fx_chan_notify(b->c, b->p, h->fd);
}

xenevtchn_port_or_error_t
xenevtchn_pending(xenevtchn_handle *h)
{
	struct bound *b;
	uint32_t port, old;
	ssize_t n;

	for (;;) {
		n = recv(h->fd, &port, sizeof(port), 0);
		if (n < 0)
			return -1;
		b = n == sizeof(port) ? local(h, port) : NULL;
		if (b == NULL)
			continue;	/* an event for a port since unbound */
		old = atomic_load(&b->p->state);
		while (!atomic_compare_exchange_weak(&b->p->state, &old,
		    (old & ~FX_PENDING) | FX_MASKED))
			;
		return (xenevtchn_port_or_error_t)port;
	}
}

int
xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
	struct bound *b = local(h, port);
	uint32_t old;

	if (b == NULL)
		return -1;
	old = atomic_fetch_and(&b->p->state, ~FX_MASKED);
	/* raised while masked: deliver now */
	if ((old & FX_MASKED) && (old & FX_PENDING)) {
		atomic_fetch_and(&b->p->state, ~FX_PENDING);
		fx_port_raise(b->p, h->fd);
	}
	return 0;
}

int
xenevtchn_restrict(xenevtchn_handle *h, domid_t domid)
{
	errno = ENOSYS;
	return -1;
}
