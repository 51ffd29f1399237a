/*
 * tests/xen/xenstored.c: fakexenstored, the xenstore daemon of the fake
 * hypervisor. It speaks the real xenstore wire protocol (xs_wire.h) on one
 * UNIX socket per simulated domain, <dir>/d<N>.sock, so a process pointed
 * there by XENSTORED_PATH is domain N to the unmodified libxenstore.
 *
 * Implemented: READ WRITE MKDIR RM DIRECTORY GET_PERMS SET_PERMS with owner
 * and ACL semantics (dom0 privileged), relative paths, WATCH (with the
 * initial event) UNWATCH RESET_WATCHES, permission-filtered events, the
 * special watches @introduceDomain/@releaseDomain, transactions on a
 * snapshot with EAGAIN on conflict, quotas for unprivileged domains, and
 * INTRODUCE/RELEASE from dom0 as the control that starts and ends a domain
 * (a domain's socket exists only while it is introduced). Like libxl, a new
 * domain gets /local/domain/N (n0,rN) with domid, name and a guest-owned
 * data/ unless dom0 created /local/domain/N first.
 *
 * Usage: fakexenstored [-T trace] [-q nodes] [-w watches] DIR [N[:name]]...
 * It prints "ready" once the sockets listen.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#define MAX_DOMS	64
#define MAX_CONNS	256
#define VALUE_MAX	2048	/* quota-maxentrysize, unprivileged */
#define TX_MAX		10	/* transactions per connection */
#define PATH_MAX_XS	3072
#define PATH_BUF	(PATH_MAX_XS + 64)

enum { P_NONE = 0, P_READ = 1, P_WRITE = 2, P_BOTH = 3 };

struct perm {
	unsigned int dom, bits;
};

struct node {
	char *name;
	char *value;
	size_t vlen;
	struct perm *perms;
	size_t nperms;
	struct node **kids;
	size_t nkids;
	struct node *parent;
	unsigned long long gen;
};

struct watch {
	struct watch *next;
	char *path;	/* absolute or special */
	char *token;
	int relative;
};

struct tx {
	struct tx *next;
	unsigned int id;
	struct node *root;	/* the snapshot */
	unsigned long long start_gen;
	char **paths;		/* accessed */
	size_t npaths;
	struct { unsigned int type; char *data; size_t len; } *log;
	size_t nlog;
};

struct conn {
	int fd;
	unsigned int dom;
	struct watch *watches;
	struct tx *txs;
	unsigned char in[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
	size_t inlen;
};

struct dom {
	unsigned int id;
	int lfd;	/* listening socket; -1 when not introduced */
};

static struct node *root;
static unsigned long long gen;
static struct conn *conns[MAX_CONNS];
static struct dom doms[MAX_DOMS];
static const char *dir;
static FILE *trace;
static unsigned int quota_nodes = 1000, quota_watches = 128, next_txid = 1;

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fakexenstored: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	return strcpy(xmalloc(strlen(s) + 1), s);
}

/* ---------------------------------------------------------------- tree */

static struct node *
node_new(const char *name, struct node *parent)
{
	struct node *n = xmalloc(sizeof(*n));

	n->name = xstrdup(name);
	n->value = xmalloc(1);
	n->parent = parent;
	n->gen = ++gen;
	if (parent != NULL) {
		parent->kids = realloc(parent->kids,
		    (parent->nkids + 1) * sizeof(*parent->kids));
		if (parent->kids == NULL)
			die("out of memory");
		parent->kids[parent->nkids++] = n;
		parent->gen = gen;
	}
	return n;
}

static void
node_free(struct node *n)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->value);
	free(n->perms);
	free(n);
}

static struct node *
node_copy(const struct node *n, struct node *parent)
{
	struct node *c = xmalloc(sizeof(*c));
	size_t i;

	*c = *n;
	c->parent = parent;
	c->name = xstrdup(n->name);
	c->value = xmalloc(n->vlen + 1);
	memcpy(c->value, n->value, n->vlen);
	c->perms = xmalloc(n->nperms * sizeof(*c->perms));
	memcpy(c->perms, n->perms, n->nperms * sizeof(*c->perms));
	c->kids = xmalloc(n->nkids * sizeof(*c->kids));
	for (i = 0; i < n->nkids; i++)
		c->kids[i] = node_copy(n->kids[i], c);
	return c;
}

static void
node_set_perms(struct node *n, const struct perm *p, size_t np)
{
	free(n->perms);
	n->perms = xmalloc(np * sizeof(*p));
	memcpy(n->perms, p, np * sizeof(*p));
	n->nperms = np;
}

/* path is absolute and canonical ("/" or "/a/b"). */
static struct node *
lookup(struct node *top, const char *path)
{
	struct node *n = top;
	const char *p = path + 1, *e;
	size_t i, len;

	while (*p != '\0' && n != NULL) {
		e = strchr(p, '/');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		for (i = 0; i < n->nkids; i++)
			if (strlen(n->kids[i]->name) == len &&
			    memcmp(n->kids[i]->name, p, len) == 0)
				break;
		n = i < n->nkids ? n->kids[i] : NULL;
		p += len + (e != NULL);
	}
	return n;
}

/* The nearest existing node on the way to path. */
static struct node *
nearest(struct node *top, const char *path)
{
	char buf[PATH_BUF], *s;
	struct node *n;

	snprintf(buf, sizeof(buf), "%s", path);
	while ((n = lookup(top, buf)) == NULL) {
		s = strrchr(buf, '/');
		if (s == buf)
			s[1] = '\0';
		else
			*s = '\0';
	}
	return n;
}

static unsigned int
perm_of(const struct node *n, unsigned int dom)
{
	size_t i;

	if (dom == 0 || n->perms[0].dom == dom)
		return P_BOTH;
	for (i = 1; i < n->nperms; i++)
		if (n->perms[i].dom == dom)
			return n->perms[i].bits;
	return n->perms[0].bits;
}

static size_t
count_owned(const struct node *n, unsigned int dom)
{
	size_t i, c = n->perms[0].dom == dom;

	for (i = 0; i < n->nkids; i++)
		c += count_owned(n->kids[i], dom);
	return c;
}

/* ---------------------------------------------------------------- wire */

static void
send_msg(struct conn *c, unsigned int type, unsigned int req,
    unsigned int txid, const void *data, size_t len)
{
	struct xsd_sockmsg h = { type, req, txid, (uint32_t)len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)data, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	if (c->fd >= 0 && sendmsg(c->fd, &m, MSG_NOSIGNAL) < 0) {
		/* the client is gone; the poll loop reaps it */
	}
}

static const char *
errname(int e)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == e)
			return xsd_errors[i].errstring;
	return "EIO";
}

static int
tracing(void)
{
	return trace != NULL;
}

static void
trace_line(unsigned int dom, const char *what, const char *path)
{
	if (tracing()) {
		fprintf(trace, "d%u %s %s\n", dom, what, path);
		fflush(trace);
	}
}

/* ---------------------------------------------------------------- watches */

static int
is_prefix(const char *anc, const char *path)
{
	size_t n = strlen(anc);

	if (strcmp(anc, "/") == 0)
		return path[0] == '/';
	return strncmp(anc, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void
watch_event(struct conn *c, const struct watch *w, const char *path)
{
	char buf[XENSTORE_PAYLOAD_MAX], prefix[64];
	size_t pl, l1, l2;

	if (w->relative) {
		pl = (size_t)snprintf(prefix, sizeof(prefix), "/local/domain/%u/",
		    c->dom);
		if (strncmp(path, prefix, pl) == 0)
			path += pl;
	}
	l1 = strlen(path) + 1;
	l2 = strlen(w->token) + 1;
	if (l1 + l2 > sizeof(buf))
		return;
	memcpy(buf, path, l1);
	memcpy(buf + l1, w->token, l2);
	send_msg(c, XS_WATCH_EVENT, 0, 0, buf, l1 + l2);
}

/*
 * A change at path: watches on it or an ancestor fire with path; with
 * subtree (removal), watches below it fire with their own path. Only
 * connections that may read the node (before removal) hear of it.
 */
static void
fire(const char *path, const struct node *n, int subtree)
{
	struct watch *w;
	size_t i;

	for (i = 0; i < MAX_CONNS; i++) {
		if (conns[i] == NULL)
			continue;
		if (path[0] == '@') {
			if (conns[i]->dom != 0)
				continue;
		} else if (n == NULL || !(perm_of(n, conns[i]->dom) & P_READ))
			continue;
		for (w = conns[i]->watches; w != NULL; w = w->next) {
			if (path[0] == '@' ? strcmp(w->path, path) == 0 :
			    is_prefix(w->path, path))
				watch_event(conns[i], w, path);
			else if (subtree && path[0] != '@' &&
			    is_prefix(path, w->path))
				watch_event(conns[i], w, w->path);
		}
	}
}

/* ---------------------------------------------------------------- domains */

static struct dom *
dom_find(unsigned int id)
{
	size_t i;

	for (i = 0; i < MAX_DOMS; i++)
		if (doms[i].lfd >= 0 && doms[i].id == id)
			return &doms[i];
	return NULL;
}

static struct node *
mknode(const char *path, const char *value, const struct perm *p, size_t np)
{
	char buf[PATH_BUF], *s;
	struct node *n, *parent;

	n = lookup(root, path);
	if (n == NULL) {
		snprintf(buf, sizeof(buf), "%s", path);
		s = strrchr(buf, '/');
		*s = '\0';
		parent = mknode(buf[0] ? buf : "/", NULL, p, np);
		n = node_new(s + 1, parent);
		node_set_perms(n, p, np);
	}
	if (value != NULL) {
		free(n->value);
		n->value = xstrdup(value);
		n->vlen = strlen(value);
		node_set_perms(n, p, np);
	}
	return n;
}

static int
dom_introduce(unsigned int id, const char *name)
{
	struct perm p[2] = { { 0, P_NONE }, { id, P_READ } };
	struct perm own[1] = { { id, P_NONE } };
	struct sockaddr_un sun;
	char path[128], val[32];
	size_t i;
	int fd;

	if (dom_find(id) != NULL)
		return 0;
	for (i = 0; i < MAX_DOMS && doms[i].lfd >= 0; i++)
		;
	if (i == MAX_DOMS)
		return -ENOSPC;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/d%u.sock", dir, id);
	unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 16) < 0)
		die("listen %s: %s", sun.sun_path, strerror(errno));
	doms[i].id = id;
	doms[i].lfd = fd;
	/* the toolstack's part, unless dom0 prepared the domain itself */
	snprintf(path, sizeof(path), "/local/domain/%u", id);
	if (lookup(root, path) == NULL) {
		if (id == 0)
			p[1].dom = 0;
		mknode(path, "", p, id == 0 ? 1 : 2);
		snprintf(val, sizeof(val), "%u", id);
		snprintf(path, sizeof(path), "/local/domain/%u/domid", id);
		mknode(path, val, p, id == 0 ? 1 : 2);
		snprintf(path, sizeof(path), "/local/domain/%u/name", id);
		if (name == NULL)
			snprintf(val, sizeof(val), id ? "domain-%u" : "Domain-0",
			    id);
		mknode(path, name != NULL ? name : val, p, id == 0 ? 1 : 2);
		snprintf(path, sizeof(path), "/local/domain/%u/data", id);
		mknode(path, "", own, 1);
	}
	if (id != 0)
		fire("@introduceDomain", NULL, 0);
	return 0;
}

static void conn_close(size_t i);

static int
dom_release(unsigned int id)
{
	struct dom *d = dom_find(id);
	char path[128];
	struct node *n;
	size_t i, j;

	if (d == NULL || id == 0)
		return -ENOENT;
	close(d->lfd);
	d->lfd = -1;
	snprintf(path, sizeof(path), "%s/d%u.sock", dir, id);
	unlink(path);
	for (i = 0; i < MAX_CONNS; i++)
		if (conns[i] != NULL && conns[i]->dom == id)
			conn_close(i);
	snprintf(path, sizeof(path), "/local/domain/%u", id);
	n = lookup(root, path);
	if (n != NULL) {
		fire(path, n, 1);
		for (j = 0; j < n->parent->nkids; j++)
			if (n->parent->kids[j] == n)
				n->parent->kids[j] =
				    n->parent->kids[--n->parent->nkids];
		n->parent->gen = ++gen;
		node_free(n);
	}
	fire("@releaseDomain", NULL, 0);
	return 0;
}

/* ---------------------------------------------------------------- requests */

struct req {
	struct conn *c;
	struct node *top;	/* root, or the transaction's snapshot */
	struct tx *tx;
	const char *arg[4];	/* NUL-separated arguments */
	size_t narg;
	const char *data;	/* WRITE's value */
	size_t dlen;
};

/* Canonical absolute path from an argument; relative is under the domain. */
static int
canon(const struct req *r, const char *in, char *out, size_t len,
    int *relative)
{
	size_t n;

	if (relative != NULL)
		*relative = in[0] != '/' && in[0] != '@';
	if (in[0] == '@') {
		snprintf(out, len, "%s", in);
		return 0;
	}
	if (in[0] == '/')
		n = (size_t)snprintf(out, len, "%s", in);
	else
		n = (size_t)snprintf(out, len, "/local/domain/%u/%s", r->c->dom,
		    in);
	if (n >= len || n > PATH_MAX_XS || strstr(out, "//") != NULL ||
	    (n > 1 && out[n - 1] == '/') ||
	    strspn(out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-/_@") != n)
		return -EINVAL;
	return 0;
}

static void
tx_access(struct tx *tx, const char *path)
{
	char *p, *s;

	if (tx == NULL)
		return;
	/* the node and its parent: a removal shows as the parent's change */
	for (p = xstrdup(path); ; ) {
		tx->paths = realloc(tx->paths, (tx->npaths + 1) *
		    sizeof(*tx->paths));
		if (tx->paths == NULL)
			die("out of memory");
		tx->paths[tx->npaths++] = xstrdup(p);
		s = strrchr(p, '/');
		if (s == NULL || s == p || strcmp(p, path) != 0)
			break;
		*s = '\0';
	}
	free(p);
}

static int
op_read(struct req *r, char *path, int dir_list, char *out, size_t *olen)
{
	struct node *n = lookup(r->top, path);
	size_t i, o = 0;

	tx_access(r->tx, path);
	if (n == NULL)
		return (perm_of(nearest(r->top, path), r->c->dom) & P_READ) ?
		    -ENOENT : -EACCES;
	if (!(perm_of(n, r->c->dom) & P_READ))
		return -EACCES;
	if (out == NULL)
		return 0;
	if (dir_list) {
		for (i = 0; i < n->nkids; i++) {
			size_t l = strlen(n->kids[i]->name) + 1;

			if (o + l > XENSTORE_PAYLOAD_MAX)
				return -E2BIG;
			memcpy(out + o, n->kids[i]->name, l);
			o += l;
		}
	} else {
		memcpy(out, n->value, n->vlen);
		o = n->vlen;
	}
	*olen = o;
	return 0;
}

static int
may_create(struct req *r, const char *path, struct node **parent)
{
	struct node *p = nearest(r->top, path);

	if (!(perm_of(p, r->c->dom) & P_WRITE))
		return -EACCES;
	if (r->c->dom != 0 && count_owned(r->top, r->c->dom) >= quota_nodes)
		return -ENOSPC;
	*parent = p;
	return 0;
}

/* Create path and missing ancestors, each inheriting its parent's perms. */
static struct node *
create(struct req *r, const char *path)
{
	char buf[PATH_BUF], *s;
	struct node *p, *n;

	n = lookup(r->top, path);
	if (n != NULL)
		return n;
	snprintf(buf, sizeof(buf), "%s", path);
	s = strrchr(buf, '/');
	*s = '\0';
	p = create(r, buf[0] ? buf : "/");
	n = node_new(s + 1, p);
	node_set_perms(n, p->perms, p->nperms);
	if (r->c->dom != 0)
		n->perms[0].dom = r->c->dom;
	return n;
}

static int
op_write(struct req *r, const char *path, int mkdir)
{
	struct node *n = lookup(r->top, path), *p;
	int rc;

	tx_access(r->tx, path);
	if (strcmp(path, "/") == 0 && !mkdir)
		return -EINVAL;
	if (r->c->dom != 0 && r->dlen > VALUE_MAX)
		return -ENOSPC;
	if (n != NULL && !(perm_of(n, r->c->dom) & P_WRITE))
		return -EACCES;
	if (n != NULL && mkdir)
		return 0;
	if (n == NULL && (rc = may_create(r, path, &p)) < 0)
		return rc;
	n = create(r, path);
	if (!mkdir) {
		free(n->value);
		n->value = xmalloc(r->dlen + 1);
		memcpy(n->value, r->data, r->dlen);
		n->vlen = r->dlen;
	}
	n->gen = ++gen;
	if (r->tx == NULL)
		fire(path, n, 0);
	return 0;
}

static const char *
node_dirname(const char *path, char *buf, size_t len)
{
	char *s;

	snprintf(buf, len, "%s", path);
	s = strrchr(buf, '/');
	if (s == buf)
		s[1] = '\0';
	else if (s != NULL)
		*s = '\0';
	return buf;
}

static int
op_rm(struct req *r, const char *path)
{
	char buf[PATH_BUF];
	struct node *n = lookup(r->top, path), *p;
	size_t i;

	tx_access(r->tx, path);
	if (strcmp(path, "/") == 0)
		return -EINVAL;
	if (n == NULL) {
		p = nearest(r->top, path);
		if (!(perm_of(p, r->c->dom) & P_READ))
			return -EACCES;
		/* a missing leaf is already removed; a missing parent is not */
		return strlen(node_dirname(path, buf, sizeof(buf))) ==
		    strlen(path) ? -ENOENT :
		    lookup(r->top, buf) != NULL ? 0 : -ENOENT;
	}
	if (!(perm_of(n, r->c->dom) & P_WRITE))
		return -EACCES;
	if (r->tx == NULL)
		fire(path, n, 1);
	p = n->parent;
	for (i = 0; i < p->nkids; i++)
		if (p->kids[i] == n)
			p->kids[i] = p->kids[--p->nkids];
	p->gen = ++gen;
	node_free(n);
	return 0;
}

static int
parse_perm(const char *s, struct perm *p)
{
	char *end;
	unsigned long v;

	switch (s[0]) {
	case 'n': p->bits = P_NONE; break;
	case 'r': p->bits = P_READ; break;
	case 'w': p->bits = P_WRITE; break;
	case 'b': p->bits = P_BOTH; break;
	default: return -EINVAL;
	}
	errno = 0;
	v = strtoul(s + 1, &end, 10);
	if (errno != 0 || end == s + 1 || *end != '\0' || v > 0xffff)
		return -EINVAL;
	p->dom = (unsigned int)v;
	return 0;
}

static int
op_set_perms(struct req *r, const char *path, const char *list, size_t len)
{
	struct node *n = lookup(r->top, path);
	struct perm p[32];
	const char *s;
	size_t np = 0;

	tx_access(r->tx, path);
	if (n == NULL)
		return -ENOENT;
	if (r->c->dom != 0 && n->perms[0].dom != r->c->dom)
		return -EACCES;
	for (s = list; s < list + len && np < 32; s += strlen(s) + 1)
		if (parse_perm(s, &p[np++]) < 0)
			return -EINVAL;
	if (np == 0 || s < list + len)
		return -EINVAL;
	/* an unprivileged owner cannot give the node away */
	if (r->c->dom != 0 && p[0].dom != r->c->dom)
		return -EPERM;
	node_set_perms(n, p, np);
	n->gen = ++gen;
	if (r->tx == NULL)
		fire(path, n, 0);
	return 0;
}

static void
tx_free(struct tx *tx)
{
	size_t i;

	for (i = 0; i < tx->npaths; i++)
		free(tx->paths[i]);
	for (i = 0; i < tx->nlog; i++)
		free(tx->log[i].data);
	free(tx->paths);
	free(tx->log);
	node_free(tx->root);
	free(tx);
}

static int dispatch(struct conn *c, unsigned int type, struct tx *tx,
    const char *data, size_t len, char *out, size_t *olen);

static int
tx_end(struct conn *c, struct tx *tx, int commit)
{
	struct tx **pp;
	struct node *n;
	size_t i;
	int rc = 0;

	for (pp = &c->txs; *pp != tx; pp = &(*pp)->next)
		;
	*pp = tx->next;
	if (commit) {
		for (i = 0; i < tx->npaths && rc == 0; i++) {
			n = nearest(root, tx->paths[i]);
			if (n->gen > tx->start_gen)
				rc = -EAGAIN;
		}
		/* no conflict: replaying the log gives the snapshot's result */
		for (i = 0; rc == 0 && i < tx->nlog; i++) {
			char out[XENSTORE_PAYLOAD_MAX];
			size_t olen = 0;

			dispatch(c, tx->log[i].type, NULL, tx->log[i].data,
			    tx->log[i].len, out, &olen);
		}
	}
	tx_free(tx);
	return rc;
}

static int
split(struct req *r, const char *data, size_t len, size_t want)
{
	const char *p = data, *end = data + len;

	r->narg = 0;
	while (r->narg < want) {
		const char *z = memchr(p, '\0', (size_t)(end - p));

		if (z == NULL)
			return -EINVAL;
		r->arg[r->narg++] = p;
		p = z + 1;
	}
	r->data = p;
	r->dlen = (size_t)(end - p);
	return 0;
}

static int
dispatch(struct conn *c, unsigned int type, struct tx *tx, const char *data,
    size_t len, char *out, size_t *olen)
{
	char path[PATH_BUF];
	struct req r;
	struct watch *w, **wp;
	unsigned int nw;
	int rc = 0, rel;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.tx = tx;
	r.top = tx != NULL ? tx->root : root;
	*olen = 0;
	switch (type) {
	case XS_READ:
	case XS_DIRECTORY:
	case XS_GET_PERMS:
	case XS_RM:
	case XS_MKDIR:
	case XS_WRITE:
	case XS_SET_PERMS:
		if ((rc = split(&r, data, len, 1)) < 0 ||
		    (rc = canon(&r, r.arg[0], path, sizeof(path), NULL)) < 0)
			return rc;
		if (path[0] == '@')
			return -EINVAL;
		trace_line(c->dom, type == XS_READ ? "READ" : type == XS_WRITE ?
		    "WRITE" : type == XS_RM ? "RM" : type == XS_MKDIR ?
		    "MKDIR" : type == XS_SET_PERMS ? "SET_PERMS" :
		    type == XS_DIRECTORY ? "DIRECTORY" : "GET_PERMS", path);
		break;
	default:
		break;
	}
	switch (type) {
	case XS_READ:
		return op_read(&r, path, 0, out, olen);
	case XS_DIRECTORY:
		return op_read(&r, path, 1, out, olen);
	case XS_GET_PERMS: {
		struct node *n;
		size_t i, o = 0;

		if ((rc = op_read(&r, path, 0, NULL, NULL)) < 0)
			return rc;
		n = lookup(r.top, path);
		for (i = 0; i < n->nperms; i++)
			o += (size_t)snprintf(out + o, XENSTORE_PAYLOAD_MAX - o,
			    "%c%u", "nrwb"[n->perms[i].bits], n->perms[i].dom) + 1;
		*olen = o;
		return 0;
	}
	case XS_WRITE:
	case XS_MKDIR:
		rc = op_write(&r, path, type == XS_MKDIR);
		break;
	case XS_RM:
		rc = op_rm(&r, path);
		break;
	case XS_SET_PERMS:
		rc = op_set_perms(&r, path, r.data, r.dlen);
		break;
	case XS_WATCH:
	case XS_UNWATCH:
		if ((rc = split(&r, data, len, 2)) < 0 ||
		    (rc = canon(&r, r.arg[0], path, sizeof(path), &rel)) < 0)
			return rc;
		trace_line(c->dom, type == XS_WATCH ? "WATCH" : "UNWATCH",
		    path);
		for (wp = &c->watches, nw = 0; *wp != NULL; wp = &(*wp)->next,
		    nw++)
			if (strcmp((*wp)->path, path) == 0 &&
			    strcmp((*wp)->token, r.arg[1]) == 0)
				break;
		if (type == XS_UNWATCH) {
			if (*wp == NULL)
				return -ENOENT;
			w = *wp;
			*wp = w->next;
			free(w->path);
			free(w->token);
			free(w);
			break;
		}
		if (*wp != NULL)
			return -EEXIST;
		if (c->dom != 0 && nw >= quota_watches)
			return -E2BIG;
		w = xmalloc(sizeof(*w));
		w->path = xstrdup(path);
		w->token = xstrdup(r.arg[1]);
		w->relative = rel;
		*wp = w;
		memcpy(out, "OK", 3);
		*olen = 3;
		return 1;	/* reply, then the initial event */
	case XS_RESET_WATCHES:
		while ((w = c->watches) != NULL) {
			c->watches = w->next;
			free(w->path);
			free(w->token);
			free(w);
		}
		break;
	case XS_TRANSACTION_START: {
		struct tx *t;

		if (tx != NULL)
			return -EBUSY;
		for (t = c->txs, nw = 0; t != NULL; t = t->next)
			nw++;
		if (c->dom != 0 && nw >= TX_MAX)
			return -ENOSPC;
		t = xmalloc(sizeof(*t));
		t->id = next_txid++;
		t->root = node_copy(root, NULL);
		t->start_gen = gen;
		t->next = c->txs;
		c->txs = t;
		*olen = (size_t)snprintf(out, 32, "%u", t->id) + 1;
		return 0;
	}
	case XS_TRANSACTION_END:
		if (tx == NULL)
			return -ENOENT;
		if (len < 2 || (data[0] != 'T' && data[0] != 'F') ||
		    data[1] != '\0')
			return -EINVAL;
		rc = tx_end(c, tx, data[0] == 'T');
		break;
	case XS_GET_DOMAIN_PATH:
	case XS_IS_DOMAIN_INTRODUCED:
	case XS_INTRODUCE:
	case XS_RELEASE: {
		char *end;
		unsigned long id;

		if ((rc = split(&r, data, len, 1)) < 0)
			return rc;
		errno = 0;
		id = strtoul(r.arg[0], &end, 10);
		if (errno != 0 || end == r.arg[0] || *end != '\0' ||
		    id > 0x7fef)
			return -EINVAL;
		if (type == XS_GET_DOMAIN_PATH) {
			*olen = (size_t)snprintf(out, 64, "/local/domain/%lu",
			    id) + 1;
			return 0;
		}
		if (type == XS_IS_DOMAIN_INTRODUCED) {
			memcpy(out, dom_find((unsigned int)id) ? "T" : "F", 2);
			*olen = 2;
			return 0;
		}
		if (c->dom != 0)
			return -EACCES;
		snprintf(path, sizeof(path), "%lu", id);
		trace_line(c->dom, type == XS_INTRODUCE ? "INTRODUCE" :
		    "RELEASE", path);
		rc = type == XS_INTRODUCE ? dom_introduce((unsigned int)id,
		    NULL) : dom_release((unsigned int)id);
		break;
	}
	case XS_CONTROL:
		rc = c->dom == 0 ? 0 : -EACCES;
		break;
	default:
		return -ENOSYS;
	}
	if (rc < 0)
		return rc;
	if (tx != NULL && type != XS_TRANSACTION_END) {
		tx->log = realloc(tx->log, (tx->nlog + 1) * sizeof(*tx->log));
		if (tx->log == NULL)
			die("out of memory");
		tx->log[tx->nlog].type = type;
		tx->log[tx->nlog].data = xmalloc(len);
		memcpy(tx->log[tx->nlog].data, data, len);
		tx->log[tx->nlog++].len = len;
	}
	memcpy(out, "OK", 3);
	*olen = 3;
	return 0;
}

static void
handle(struct conn *c, const struct xsd_sockmsg *h, const char *data)
{
	char out[XENSTORE_PAYLOAD_MAX + 64];
	struct tx *tx = NULL;
	size_t olen = 0;
	int rc;

	if (h->tx_id != 0) {
		for (tx = c->txs; tx != NULL && tx->id != h->tx_id;
		    tx = tx->next)
			;
		if (tx == NULL) {
			send_msg(c, XS_ERROR, h->req_id, h->tx_id, "ENOENT", 7);
			return;
		}
	}
	rc = dispatch(c, h->type, tx, data, h->len, out, &olen);
	if (rc < 0) {
		const char *e = errname(-rc);

		send_msg(c, XS_ERROR, h->req_id, h->tx_id, e, strlen(e) + 1);
		return;
	}
	send_msg(c, h->type, h->req_id, h->tx_id, out, olen);
	if (rc == 1) {
		struct watch *w;

		for (w = c->watches; w->next != NULL; w = w->next)
			;
		watch_event(c, w, w->path);
	}
}

/* ---------------------------------------------------------------- loop */

static void
conn_close(size_t i)
{
	struct conn *c = conns[i];
	struct watch *w;

	while (c->txs != NULL)
		tx_end(c, c->txs, 0);
	while ((w = c->watches) != NULL) {
		c->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	close(c->fd);
	free(c);
	conns[i] = NULL;
}

static void
conn_input(size_t i)
{
	struct conn *c = conns[i];
	struct xsd_sockmsg h;
	ssize_t n;

	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n <= 0) {
		conn_close(i);
		return;
	}
	c->inlen += (size_t)n;
	while (c->inlen >= sizeof(h)) {
		memcpy(&h, c->in, sizeof(h));
		if (h.len > XENSTORE_PAYLOAD_MAX) {
			conn_close(i);	/* as xenstored: a protocol error */
			return;
		}
		if (c->inlen < sizeof(h) + h.len)
			break;
		handle(c, &h, (const char *)c->in + sizeof(h));
		if (conns[i] != c)
			return;	/* released its own domain */
		memmove(c->in, c->in + sizeof(h) + h.len,
		    c->inlen - sizeof(h) - h.len);
		c->inlen -= sizeof(h) + h.len;
	}
}

int
main(int argc, char **argv)
{
	struct perm p0 = { 0, P_NONE };
	struct pollfd pfd[MAX_DOMS + MAX_CONNS];
	size_t map[MAX_DOMS + MAX_CONNS], np, i, j;
	int opt;

	while ((opt = getopt(argc, argv, "T:q:w:")) != -1) {
		switch (opt) {
		case 'T':
			trace = fopen(optarg, "a");
			if (trace == NULL)
				die("%s: %s", optarg, strerror(errno));
			break;
		case 'q':
			quota_nodes = (unsigned int)atoi(optarg);
			break;
		case 'w':
			quota_watches = (unsigned int)atoi(optarg);
			break;
		default:
			die("usage: fakexenstored [-T trace] [-q nodes] "
			    "[-w watches] DIR [N[:name]]...");
		}
	}
	if (optind >= argc)
		die("no directory");
	dir = argv[optind++];
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < MAX_DOMS; i++)
		doms[i].lfd = -1;
	root = node_new("", NULL);
	node_set_perms(root, &p0, 1);
	mknode("/local/domain", "", &p0, 1);
	mknode("/tool", "", &p0, 1);
	dom_introduce(0, NULL);
	for (; optind < argc; optind++) {
		char *colon = strchr(argv[optind], ':');

		if (colon != NULL)
			*colon++ = '\0';
		dom_introduce((unsigned int)atoi(argv[optind]), colon);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		np = 0;
		for (i = 0; i < MAX_DOMS; i++)
			if (doms[i].lfd >= 0) {
				pfd[np] = (struct pollfd){ doms[i].lfd, POLLIN, 0 };
				map[np++] = i;
			}
		j = np;
		for (i = 0; i < MAX_CONNS; i++)
			if (conns[i] != NULL) {
				pfd[np] = (struct pollfd){ conns[i]->fd, POLLIN, 0 };
				map[np++] = MAX_DOMS + i;
			}
		if (poll(pfd, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (i = 0; i < np; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (i < j) {
				struct dom *d = &doms[map[i]];
				int fd;
				size_t k;

				if (d->lfd != pfd[i].fd)
					continue;
				fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC);
				for (k = 0; fd >= 0 && k < MAX_CONNS &&
				    conns[k] != NULL; k++)
					;
				if (fd < 0)
					continue;
				if (k == MAX_CONNS) {
					close(fd);
					continue;
				}
				conns[k] = xmalloc(sizeof(*conns[k]));
				conns[k]->fd = fd;
				conns[k]->dom = d->id;
			} else if (conns[map[i] - MAX_DOMS] != NULL &&
			    conns[map[i] - MAX_DOMS]->fd == pfd[i].fd)
				conn_input(map[i] - MAX_DOMS);
		}
	}
}
