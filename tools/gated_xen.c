/*
 * gated_xen.c: the domain table of usbgated on Xen (see gated_xen.h).
 * One xenstore connection with two special watches; each update lists
 * /local/domain and reads the dom0-owned names, then reports the
 * difference with the previous table. What a peer's link does on such a
 * report (gxen_link_follow) and the port table need no xenstore and are
 * built without Xen too.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gated_xen.h"

#ifdef HAVE_XEN
#include <xenstore.h>

#include "ctl_codec.h"
#else
struct xs_handle;
#endif

struct gxen_dom {
	unsigned int domid;
	char name[CTL_NAME_MAX + 1];
};

struct gxen_pair {
	unsigned int appvm, backend;
	uint64_t held[GXEN_PORT_COUNT / 64];	/* bit i: GXEN_PORT_FIRST + i */
};

struct gxen {
	struct xs_handle *xs;
	int n;
	struct gxen_dom doms[GXEN_DOMS_MAX];
	int n_pairs;
	struct gxen_pair pairs[GXEN_PAIRS_MAX];
};

int
gxen_link_follow(int *domid, unsigned int event_domid, int up)
{
	if (!up) {
		if (*domid < 0 || (unsigned int)*domid != event_domid)
			return 0;
		*domid = -1;
		return GXEN_LINK_DROP;
	}
	if (*domid >= 0 && (unsigned int)*domid == event_domid)
		return 0;
	/* a new domain under the name while linked to another: a restart
	 * whose release was not seen */
	if (*domid >= 0) {
		*domid = (int)event_domid;
		return GXEN_LINK_DROP | GXEN_LINK_CONNECT;
	}
	*domid = (int)event_domid;
	return GXEN_LINK_CONNECT;
}

#ifndef HAVE_XEN
struct gxen *
gxen_open(void)
{
	errno = ENOSYS;
	return NULL;
}

void
gxen_close(struct gxen *gx)
{
	free(gx);
}

int
gxen_fd(const struct gxen *gx)
{
	(void)gx;
	return -1;
}

int
gxen_update(struct gxen *gx, gxen_fn fn, void *ctx)
{
	(void)gx;
	(void)fn;
	(void)ctx;
	errno = ENOSYS;
	return -1;
}
#else
struct gxen *
gxen_open(void)
{
	struct gxen *gx = calloc(1, sizeof(*gx));

	if (gx == NULL)
		return NULL;
	gx->xs = xs_open(0);
	if (gx->xs == NULL || !xs_watch(gx->xs, "@introduceDomain", "i") ||
	    !xs_watch(gx->xs, "@releaseDomain", "r")) {
		gxen_close(gx);
		return NULL;
	}
	return gx;
}

void
gxen_close(struct gxen *gx)
{
	if (gx == NULL)
		return;
	if (gx->xs != NULL)
		xs_close(gx->xs);
	free(gx);
}

int
gxen_fd(const struct gxen *gx)
{
	return xs_fileno(gx->xs);
}

/* The name of domain domid if dom0 wrote it, else "" (not usable). */
static void
trusted_name(struct xs_handle *xs, unsigned int domid, char *out)
{
	char path[64], *untrusted_name;
	struct xs_permissions *perms;
	unsigned int len, np;
	int owned;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	perms = xs_get_permissions(xs, XBT_NULL, path, &np);
	owned = perms != NULL && np >= 1 && perms[0].id == 0;
	free(perms);
	if (!owned)
		return;
	untrusted_name = xs_read(xs, XBT_NULL, path, &len);
	if (untrusted_name != NULL && len <= CTL_NAME_MAX &&
	    strlen(untrusted_name) == len &&
	    ctl_str_valid(untrusted_name, CTL_CS_NAME))
		memcpy(out, untrusted_name, len + 1);
	free(untrusted_name);
}

static int
scan(struct gxen *gx, struct gxen_dom *now, int *n_now)
{
	char **ents, *end, shared[GXEN_DOMS_MAX];
	unsigned int n, i;
	unsigned long id;
	int k, j, dup;

	ents = xs_directory(gx->xs, XBT_NULL, "/local/domain", &n);
	if (ents == NULL)
		return -1;
	*n_now = 0;
	for (i = 0; i < n && *n_now < GXEN_DOMS_MAX; i++) {
		errno = 0;
		id = strtoul(ents[i], &end, 10);
		if (errno != 0 || *end != '\0' || id == 0 || id >= 0x7ff0)
			continue;
		now[*n_now].domid = (unsigned int)id;
		trusted_name(gx->xs, (unsigned int)id, now[*n_now].name);
		if (now[*n_now].name[0] != '\0')
			(*n_now)++;
	}
	free(ents);
	/* a name on two domains names neither */
	for (k = 0; k < *n_now; k++) {
		for (j = 0, dup = 0; j < *n_now; j++)
			dup |= j != k && strcmp(now[j].name, now[k].name) == 0;
		shared[k] = (char)dup;
	}
	for (k = j = 0; k < *n_now; k++)
		if (!shared[k])
			now[j++] = now[k];
	*n_now = j;
	return 0;
}

static int
has(const struct gxen_dom *set, int n, const struct gxen_dom *d)
{
	int i;

	for (i = 0; i < n; i++)
		if (set[i].domid == d->domid && strcmp(set[i].name, d->name) == 0)
			return 1;
	return 0;
}

int
gxen_update(struct gxen *gx, gxen_fn fn, void *ctx)
{
	static struct gxen_dom now[GXEN_DOMS_MAX];
	char **ev;
	int n_now, i;

	/* the events only say "look again" */
	while ((ev = xs_check_watch(gx->xs)) != NULL)
		free(ev);
	if (scan(gx, now, &n_now) < 0)
		return -1;
	for (i = 0; i < gx->n; i++)
		if (!has(now, n_now, &gx->doms[i]))
			fn(ctx, gx->doms[i].name, gx->doms[i].domid, 0);
	for (i = 0; i < n_now; i++)
		if (!has(gx->doms, gx->n, &now[i]))
			fn(ctx, now[i].name, now[i].domid, 1);
	memcpy(gx->doms, now, (size_t)n_now * sizeof(*now));
	gx->n = n_now;
	return 0;
}
#endif

int
gxen_domid(const struct gxen *gx, const char *name)
{
	int i;

	for (i = 0; i < gx->n; i++)
		if (strcmp(gx->doms[i].name, name) == 0)
			return (int)gx->doms[i].domid;
	return -1;
}

/* ---------------------------------------------------------------- ports */

static struct gxen_pair *
pair_find(struct gxen *gx, unsigned int appvm, unsigned int backend)
{
	int i;

	for (i = 0; i < gx->n_pairs; i++)
		if (gx->pairs[i].appvm == appvm &&
		    gx->pairs[i].backend == backend)
			return &gx->pairs[i];
	return NULL;
}

/* A pair that holds no port is dropped, to make room for others. */
static void
pair_drop_if_empty(struct gxen *gx, struct gxen_pair *p)
{
	size_t i;

	for (i = 0; i < GXEN_PORT_COUNT / 64; i++)
		if (p->held[i] != 0)
			return;
	*p = gx->pairs[--gx->n_pairs];
}

int
gxen_port_take(struct gxen *gx, unsigned int appvm, unsigned int backend)
{
	struct gxen_pair *p = pair_find(gx, appvm, backend);
	int i;

	if (p == NULL) {
		if (gx->n_pairs == GXEN_PAIRS_MAX)
			return -1;
		p = &gx->pairs[gx->n_pairs++];
		memset(p, 0, sizeof(*p));
		p->appvm = appvm;
		p->backend = backend;
	}
	for (i = 0; i < GXEN_PORT_COUNT; i++)
		if (!(p->held[i / 64] & (UINT64_C(1) << (i % 64)))) {
			p->held[i / 64] |= UINT64_C(1) << (i % 64);
			return GXEN_PORT_FIRST + i;
		}
	return -1;
}

void
gxen_port_give(struct gxen *gx, unsigned int appvm, unsigned int backend,
    int port)
{
	struct gxen_pair *p = pair_find(gx, appvm, backend);
	int i = port - GXEN_PORT_FIRST;

	if (p == NULL || i < 0 || i >= GXEN_PORT_COUNT)
		return;
	p->held[i / 64] &= ~(UINT64_C(1) << (i % 64));
	pair_drop_if_empty(gx, p);
}

void
gxen_port_forget(struct gxen *gx, unsigned int domid)
{
	int i = 0;

	while (i < gx->n_pairs)
		if (gx->pairs[i].appvm == domid ||
		    gx->pairs[i].backend == domid)
			gx->pairs[i] = gx->pairs[--gx->n_pairs];
		else
			i++;
}
