/*
 * tests/xen/gnttab.c: a drop-in libxengnttab.so.1 for the fake hypervisor
 * (gnttab and gntshr, the symbols and version nodes of Xen 4.17's). A grant
 * is a file of two pages: the shared page, then who granted it to whom.
 * Mapping checks that the caller is the grantee; unmap notifications (clear
 * a byte, send an event) run on unmap/unshare and, through the reaper, when
 * the process dies, which is what gntdev and gntalloc do. Files are opened
 * only while sharing or mapping: unmapping works inside a chroot and a
 * seccomp filter (see fakexen.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xengnttab.h>
#include <xen/sys/gntdev.h>

#include "fakexen.h"

#define MAX_MAPS	64

struct map {
	void *addr;
	uint32_t count;
	uint32_t dom;
	struct fx_grant **hdrs;	/* gntshr: our grants, revoked on unshare */
	struct fx_notify notify;
	int has_notify;
	struct fx_chan *chan;	/* the notification's event channel */
	int sfd;		/* and a socket to send the event from */
};

struct xengntdev_handle {
	int shr;
	struct map maps[MAX_MAPS];
};

static struct xengntdev_handle *
handle_open(int shr)
{
	struct xengntdev_handle *h;
	uint32_t dom;

	if (fx_self(&dom, NULL) < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h != NULL)
		h->shr = shr;
	return h;
}

static void
grant_path(char *out, size_t len, uint32_t dom, uint32_t ref)
{
	const char *dir;
	uint32_t self;

	fx_self(&self, &dir);
	snprintf(out, len, "%s/g.%u.%u", dir, dom, ref);
}

static struct map *
map_slot(struct xengntdev_handle *h)
{
	size_t i;

	for (i = 0; i < MAX_MAPS; i++)
		if (h->maps[i].addr == NULL)
			return &h->maps[i];
	errno = ENOSPC;
	return NULL;
}

/* Map count grant files at one contiguous address. */
static void *
map_files(uint32_t dom, const uint32_t *refs, uint32_t count, int prot,
    int check_grantee)
{
	struct fx_grant g;
	char path[160];
	uint8_t *base;
	uint32_t self, i;
	int fd;

	fx_self(&self, NULL);
	base = mmap(NULL, (size_t)count * FX_PAGE, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	for (i = 0; i < count; i++) {
		grant_path(path, sizeof(path), dom, refs[i]);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			errno = EINVAL;	/* no such grant */
			goto fail;
		}
		if (pread(fd, &g, sizeof(g), FX_PAGE) != sizeof(g) ||
		    (check_grantee && (g.grantee != self ||
		    atomic_load(&g.revoked) ||
		    ((prot & PROT_WRITE) && !g.writable)))) {
			close(fd);
			errno = EPERM;	/* GNTST_permission_denied */
			goto fail;
		}
		if (mmap(base + (size_t)i * FX_PAGE, FX_PAGE, prot,
		    MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
			close(fd);
			goto fail;
		}
		close(fd);
	}
	/*
	 * gntdev marks its mappings VM_DONTCOPY in a PV domain (the kernel's
	 * drivers/xen/gntdev.c, use_ptemod): a forked child has no ring.
	 */
	if (check_grantee && madvise(base, (size_t)count * FX_PAGE,
	    MADV_DONTFORK) < 0)
		goto fail;
	return base;
fail:
	munmap(base, (size_t)count * FX_PAGE);
	return NULL;
}

static void
notify_setup(struct map *m, const char *path, uint32_t offset,
    uint32_t port)
{
	uint32_t self;

	fx_self(&self, NULL);
	memset(&m->notify, 0, sizeof(m->notify));
	snprintf(m->notify.path, sizeof(m->notify.path), "%s", path);
	m->notify.offset = offset;
	m->notify.dom = self;
	m->notify.port = port;
	m->chan = port != 0 ? fx_chan_map(self, port) : NULL;
	m->sfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	m->has_notify = fx_reaper_add(&m->notify) == 0;
}

/* Attach an unmap notification to the mapping at a (of grant dom.ref). */
static void *
with_notify(struct xengntdev_handle *h, void *a, uint32_t dom, uint32_t ref,
    uint32_t offset, uint32_t port)
{
	char path[sizeof(((struct fx_notify *)0)->path)];
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < MAX_MAPS; i++)
		if (h->maps[i].addr == a) {
			grant_path(path, sizeof(path), dom, ref);
			notify_setup(&h->maps[i], path, offset, port);
		}
	return a;
}

static int
unmap_common(struct xengntdev_handle *h, void *addr, uint32_t count)
{
	struct map *m = NULL;
	uint32_t i;

	for (i = 0; i < MAX_MAPS; i++)
		if (h->maps[i].addr == addr && h->maps[i].count == count)
			m = &h->maps[i];
	if (m == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (m->has_notify) {
		/* what gntdev/gntalloc do when the mapping goes */
		fx_reaper_forget(m->notify.id);
		if (m->notify.offset < FX_PAGE)
			atomic_store((_Atomic uint8_t *)((uint8_t *)addr +
			    m->notify.offset), 0);
		if (m->chan != NULL)
			fx_chan_notify(m->chan, fx_chan_end(m->chan,
			    m->notify.dom, m->notify.port), m->sfd);
	}
	if (m->chan != NULL)
		fx_chan_unmap(m->chan);
	if (m->sfd > 0)
		close(m->sfd);
	munmap(addr, (size_t)count * FX_PAGE);
	for (i = 0; m->hdrs != NULL && i < count; i++) {
		/* revoked: no new mapping; existing ones keep the page */
		atomic_store(&m->hdrs[i]->revoked, 1);
		munmap(m->hdrs[i], FX_PAGE);
	}
	free(m->hdrs);
	memset(m, 0, sizeof(*m));
	return 0;
}

static int
handle_close(struct xengntdev_handle *h)
{
	size_t i;

	if (h == NULL)
		return 0;
	for (i = 0; i < MAX_MAPS; i++)
		if (h->maps[i].addr != NULL)
			unmap_common(h, h->maps[i].addr, h->maps[i].count);
	free(h);
	return 0;
}

/* ---------------------------------------------------------------- gnttab */

xengnttab_handle *
xengnttab_open(struct xentoollog_logger *logger, unsigned int flags)
{
	return handle_open(0);
}

int
xengnttab_close(xengnttab_handle *h)
{
	return handle_close(h);
}

int
xengnttab_fd(xengnttab_handle *h)
{
	errno = ENOSYS;
	return -1;
}

void *
xengnttab_map_domain_grant_refs(xengnttab_handle *h, uint32_t count,
    uint32_t domid, uint32_t *refs, int prot)
{
	struct map *m = map_slot(h);

	if (m == NULL || count == 0)
		return NULL;
	m->addr = map_files(domid, refs, count, prot, 1);
	if (m->addr == NULL)
		return NULL;
	m->count = count;
	m->dom = domid;
	return m->addr;
}

void *
xengnttab_map_grant_refs(xengnttab_handle *h, uint32_t count,
    uint32_t *domids, uint32_t *refs, int prot)
{
	uint32_t i;

	for (i = 1; i < count; i++)
		if (domids[i] != domids[0]) {
			errno = EINVAL;	/* not needed by libxenvchan */
			return NULL;
		}
	return count == 0 ? NULL :
	    xengnttab_map_domain_grant_refs(h, count, domids[0], refs, prot);
}

void *
xengnttab_map_grant_ref(xengnttab_handle *h, uint32_t domid, uint32_t ref,
    int prot)
{
	return xengnttab_map_domain_grant_refs(h, 1, domid, &ref, prot);
}

void *
xengnttab_map_grant_ref_notify(xengnttab_handle *h, uint32_t domid,
    uint32_t ref, int prot, uint32_t notify_offset,
    evtchn_port_t notify_port)
{
	void *a = xengnttab_map_domain_grant_refs(h, 1, domid, &ref, prot);

	return with_notify(h, a, domid, ref, notify_offset, notify_port);
}

/* gntdev's three steps: the slot of the address, munmap, free the slot. */
int
xengnttab_unmap(xengnttab_handle *h, void *start_address, uint32_t count)
{
	struct ioctl_gntdev_get_offset_for_vaddr off = {
	    .vaddr = (uintptr_t)start_address };
	struct ioctl_gntdev_unmap_grant_ref un = { .count = count };

	if (fx_ioctl(IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR, &off) < 0 ||
	    unmap_common(h, start_address, count) < 0)
		return -1;
	return fx_ioctl(IOCTL_GNTDEV_UNMAP_GRANT_REF, &un);
}

int
xengnttab_set_max_grants(xengnttab_handle *h, uint32_t nr_grants)
{
	return 0;
}

int
xengnttab_grant_copy(xengnttab_handle *h, uint32_t count,
    xengnttab_grant_copy_segment_t *segs)
{
	errno = ENOSYS;
	return -1;
}

int
xengnttab_dmabuf_exp_from_refs(xengnttab_handle *h, uint32_t domid,
    uint32_t flags, uint32_t count, const uint32_t *refs, uint32_t *fd)
{
	errno = ENOSYS;
	return -1;
}

int
xengnttab_dmabuf_exp_wait_released(xengnttab_handle *h, uint32_t fd,
    uint32_t wait_to_ms)
{
	errno = ENOSYS;
	return -1;
}

int
xengnttab_dmabuf_imp_to_refs(xengnttab_handle *h, uint32_t domid,
    uint32_t fd, uint32_t count, uint32_t *refs)
{
	errno = ENOSYS;
	return -1;
}

int
xengnttab_dmabuf_imp_release(xengnttab_handle *h, uint32_t fd)
{
	errno = ENOSYS;
	return -1;
}

/* ---------------------------------------------------------------- gntshr */

xengntshr_handle *
xengntshr_open(struct xentoollog_logger *logger, unsigned int flags)
{
	return handle_open(1);
}

int
xengntshr_close(xengntshr_handle *h)
{
	return handle_close(h);
}

int
xengntshr_fd(xengntshr_handle *h)
{
	errno = ENOSYS;
	return -1;
}

void *
xengntshr_share_pages(xengntshr_handle *h, uint32_t domid, int count,
    uint32_t *refs, int writable)
{
	static uint32_t next = 8;
	struct fx_grant g, **hdrs;
	struct map *m = map_slot(h);
	char path[160];
	uint32_t self, *mine;
	void *hp;
	int i, fd = -1;

	if (m == NULL || count <= 0 || fx_self(&self, NULL) < 0)
		return NULL;
	mine = calloc((size_t)count, sizeof(*mine));
	hdrs = calloc((size_t)count, sizeof(*hdrs));
	if (mine == NULL || hdrs == NULL)
		goto fail;
	memset(&g, 0, sizeof(g));
	g.granter = self;
	g.grantee = domid;
	g.writable = writable != 0;
	for (i = 0; i < count; i++) {
		for (fd = -1; fd < 0; next++) {
			grant_path(path, sizeof(path), self, next);
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			    0600);
			if (fd < 0 && errno != EEXIST)
				goto fail;
			mine[i] = next;
		}
		if (ftruncate(fd, FX_PAGE * 2) < 0 ||
		    pwrite(fd, &g, sizeof(g), FX_PAGE) != sizeof(g) ||
		    (hp = mmap(NULL, FX_PAGE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, FX_PAGE)) == MAP_FAILED) {
			close(fd);
			goto fail;
		}
		hdrs[i] = hp;
		close(fd);
	}
	m->addr = map_files(self, mine, (uint32_t)count,
	    PROT_READ | PROT_WRITE, 0);
	if (m->addr == NULL)
		goto fail;
	m->count = (uint32_t)count;
	m->dom = self;
	m->hdrs = hdrs;
	memcpy(refs, mine, (size_t)count * sizeof(*refs));
	free(mine);
	return m->addr;
fail:
	for (i = 0; hdrs != NULL && i < count && hdrs[i] != NULL; i++)
		munmap(hdrs[i], FX_PAGE);
	for (i = 0; mine != NULL && i < count && mine[i] != 0; i++) {
		grant_path(path, sizeof(path), self, mine[i]);
		unlink(path);
	}
	free(hdrs);
	free(mine);
	return NULL;
}

void *
xengntshr_share_page_notify(xengntshr_handle *h, uint32_t domid,
    uint32_t *ref, int writable, uint32_t notify_off,
    evtchn_port_t notify_port)
{
	void *a = xengntshr_share_pages(h, domid, 1, ref, writable);
	uint32_t self;

	fx_self(&self, NULL);
	/* *ref is known only once shared */
	return with_notify(h, a, self, *ref, notify_off, notify_port);
}

int
xengntshr_unshare(xengntshr_handle *h, void *start_address, uint32_t count)
{
	return unmap_common(h, start_address, count);
}
