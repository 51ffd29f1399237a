/*
 * tests/xen/evtchn.c: a drop-in libxenevtchn.so.1 for the fake hypervisor
 * (same symbols and version nodes as Xen 4.17's). A handle is a datagram
 * socket, which is also its xenevtchn_fd(): an event is a datagram carrying
 * the local port, read by xenevtchn_pending() the way /dev/xen/evtchn is.
 * A delivered port stays masked until xenevtchn_unmask(); events raised
 * meanwhile coalesce into one, as in Xen.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenevtchn.h>

#include "fakexen.h"

#define MAX_PORTS	64

struct xenevtchn_handle {
	int fd;
	uint32_t dom;
	char sock[108];
	struct fx_port *ports[MAX_PORTS];
};

xenevtchn_handle *
xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	static unsigned int seq;
	struct sockaddr_un sun;
	xenevtchn_handle *h;
	const char *dir;
	uint32_t dom;

	if (fx_self(&dom, &dir) < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->dom = dom;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(h->sock, sizeof(h->sock), "%s/h.%ld.%u", dir,
	    (long)getpid(), ++seq) >= sizeof(h->sock)) {
		free(h);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sun.sun_path, h->sock, sizeof(h->sock));
	h->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(h->sock);
	if (h->fd < 0 ||
	    bind(h->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
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

static struct fx_port *
local(xenevtchn_handle *h, evtchn_port_t port)
{
	size_t i;

	for (i = 0; i < MAX_PORTS; i++)
		if (h->ports[i] != NULL && h->ports[i]->port == port)
			return h->ports[i];
	errno = EINVAL;
	return NULL;
}

/* A fresh port of this domain, owned by the handle. */
static struct fx_port *
port_new(xenevtchn_handle *h, int32_t rdom, int32_t rport)
{
	const char *dir;
	struct fx_port *p = NULL, init;
	char path[160];
	uint32_t dom, n;
	size_t slot;
	int fd = -1;

	for (slot = 0; slot < MAX_PORTS && h->ports[slot] != NULL; slot++)
		;
	if (slot == MAX_PORTS || fx_self(&dom, &dir) < 0) {
		errno = ENOSPC;
		return NULL;
	}
	for (n = 1; n < 4096 && fd < 0; n++) {
		snprintf(path, sizeof(path), "%s/ev.%u.%u", dir, dom, n);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return NULL;
	}
	if (fd < 0) {
		errno = ENOSPC;
		return NULL;
	}
	memset(&init, 0, sizeof(init));
	init.dom = dom;
	init.port = n - 1;
	atomic_store(&init.remote_dom, rdom);
	atomic_store(&init.remote_port, rport);
	memcpy(init.sock, h->sock, sizeof(init.sock));
	if (write(fd, &init, sizeof(init)) == sizeof(init))
		p = fx_port_map(dom, init.port);
	close(fd);
	if (p != NULL)
		h->ports[slot] = p;
	return p;
}

xenevtchn_port_or_error_t
xenevtchn_bind_unbound_port(xenevtchn_handle *h, uint32_t domid)
{
	struct fx_port *p = port_new(h, (int32_t)domid, 0);

	return p == NULL ? -1 : (xenevtchn_port_or_error_t)p->port;
}

xenevtchn_port_or_error_t
xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
    evtchn_port_t remote_port)
{
	struct fx_port *r, *p;
	int32_t zero = 0;

	r = fx_port_map(domid, remote_port);
	if (r == NULL) {
		errno = EINVAL;
		return -1;
	}
	/* Xen: the remote port must be unbound and offered to us */
	if ((atomic_load(&r->state) & FX_CLOSED) ||
	    atomic_load(&r->remote_dom) != (int32_t)h->dom ||
	    atomic_load(&r->remote_port) != 0) {
		fx_port_unmap(r);
		errno = EINVAL;
		return -1;
	}
	p = port_new(h, (int32_t)domid, (int32_t)remote_port);
	if (p == NULL) {
		fx_port_unmap(r);
		return -1;
	}
	if (!atomic_compare_exchange_strong(&r->remote_port, &zero,
	    (int32_t)p->port)) {
		fx_port_unmap(r);
		xenevtchn_unbind(h, p->port);
		errno = EINVAL;
		return -1;
	}
	fx_port_unmap(r);
	return (xenevtchn_port_or_error_t)p->port;
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
	struct fx_port *p = local(h, port), *r;
	size_t i;

	if (p == NULL)
		return -1;
	atomic_fetch_or(&p->state, FX_CLOSED);
	/* the remote end falls back to unbound, offered to us again */
	r = atomic_load(&p->remote_port) > 0 ? fx_port_map(
	    (uint32_t)atomic_load(&p->remote_dom),
	    (uint32_t)atomic_load(&p->remote_port)) : NULL;
	if (r != NULL) {
		int32_t mine = (int32_t)port;

		atomic_compare_exchange_strong(&r->remote_port, &mine, 0);
		fx_port_unmap(r);
	}
	for (i = 0; i < MAX_PORTS; i++)
		if (h->ports[i] == p)
			h->ports[i] = NULL;
	fx_port_unmap(p);
	return 0;
}

int
xenevtchn_close(xenevtchn_handle *h)
{
	size_t i;

	if (h == NULL)
		return 0;
	for (i = 0; i < MAX_PORTS; i++)
		if (h->ports[i] != NULL)
			xenevtchn_unbind(h, h->ports[i]->port);
	close(h->fd);
	unlink(h->sock);
	free(h);
	return 0;
}

int
xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
	if (local(h, port) == NULL)
		return -1;
	return fx_port_notify(h->dom, port);
}

xenevtchn_port_or_error_t
xenevtchn_pending(xenevtchn_handle *h)
{
	struct fx_port *p;
	uint32_t port, old;
	ssize_t n;

	for (;;) {
		n = recv(h->fd, &port, sizeof(port), 0);
		if (n < 0)
			return -1;
		p = n == sizeof(port) ? local(h, port) : NULL;
		if (p == NULL)
			continue;	/* an event for a port since unbound */
		old = atomic_load(&p->state);
		while (!atomic_compare_exchange_weak(&p->state, &old,
		    (old & ~FX_PENDING) | FX_MASKED))
			;
		return (xenevtchn_port_or_error_t)port;
	}
}

int
xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
	struct fx_port *p = local(h, port);
	uint32_t old;

	if (p == NULL)
		return -1;
	old = atomic_fetch_and(&p->state, ~FX_MASKED);
	/* raised while masked: deliver now */
	if ((old & FX_MASKED) && (old & FX_PENDING)) {
		atomic_fetch_and(&p->state, ~FX_PENDING);
		fx_port_raise(p);
	}
	return 0;
}

int
xenevtchn_restrict(xenevtchn_handle *h, domid_t domid)
{
	errno = ENOSYS;
	return -1;
}
