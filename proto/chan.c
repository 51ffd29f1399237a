/*
 * chan.c: the channel layer (see chan.h): the URI grammar and one ops row
 * per kind of channel. Descriptor kinds live here; vchan, which has its
 * own I/O, lives in chan_vchan.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan.h"

int
chan_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	if (fd <= 2)
		return 0;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- grammar */

static int
parse_num(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_stdio(const char *arg, struct chan_uri *u)
{
	(void)arg;
	u->rfd = 0;
	u->wfd = 1;
	return CHAN_OK;
}

/*
 * Copy arg into tmp[size] and cut it at the first sep: *rest is what
 * follows it (NULL without one). -1 if arg does not fit.
 */
static int
split(const char *arg, char *tmp, size_t size, int sep, char **rest)
{
	if (strlen(arg) >= size)
		return -1;
	strcpy(tmp, arg);
	if ((*rest = strchr(tmp, sep)) != NULL)
		*(*rest)++ = '\0';
	return 0;
}

/* N or R,W */
static int
parse_fd(const char *arg, struct chan_uri *u)
{
	char tmp[32], *comma;
	long v;

	if (split(arg, tmp, sizeof(tmp), ',', &comma) < 0 ||
	    parse_num(tmp, 0, INT_MAX, &v) < 0)
		return CHAN_E_URI;
	u->rfd = u->wfd = (int)v;
	if (comma != NULL) {
		if (parse_num(comma, 0, INT_MAX, &v) < 0)
			return CHAN_E_URI;
		u->wfd = (int)v;
	}
	return CHAN_OK;
}

static int
parse_path(const char *arg, struct chan_uri *u)
{
	if (*arg == '\0' || strlen(arg) >= sizeof(u->path))
		return CHAN_E_URI;
	strcpy(u->path, arg);
	return CHAN_OK;
}

/* HOST:PORT, [V6ADDR]:PORT or :PORT (any address) */
static int
parse_tcp(const char *arg, struct chan_uri *u)
{
	const char *colon = strrchr(arg, ':');
	size_t hlen;
	long v;

	if (colon == NULL)
		return CHAN_E_URI;
	hlen = (size_t)(colon - arg);
	if (hlen >= sizeof(u->host) || strlen(colon + 1) >= sizeof(u->port))
		return CHAN_E_URI;
	if (hlen >= 2 && arg[0] == '[' && arg[hlen - 1] == ']') {
		memcpy(u->host, arg + 1, hlen - 2);
		u->host[hlen - 2] = '\0';
	} else {
		memcpy(u->host, arg, hlen);
		u->host[hlen] = '\0';
	}
	strcpy(u->port, colon + 1);
	if (parse_num(u->port, 1, 65535, &v) < 0)
		return CHAN_E_URI;
	return CHAN_OK;
}

/* DOMID:PORT, PORT in digits (a xenstore path component) */
static int
parse_vchan(const char *arg, struct chan_uri *u)
{
	char tmp[64], *colon;
	long v;

	if (split(arg, tmp, sizeof(tmp), ':', &colon) < 0 || colon == NULL ||
	    parse_num(tmp, 0, 65535, &v) < 0)
		return CHAN_E_URI;
	u->domid = (int)v;
	if (*colon == '\0' || strlen(colon) >= sizeof(u->port) ||
	    strspn(colon, "0123456789") != strlen(colon))
		return CHAN_E_URI;
	strcpy(u->port, colon);
	return CHAN_OK;
}

/* ---------------------------------------------------------------- open */

static void
end_init(struct chan_end *e)
{
	memset(e, 0, sizeof(*e));
	e->rfd = e->wfd = -1;
}

static int
fail_close(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
	return CHAN_E_SYS;
}

/*
 * Describe the end on rfd/wfd: is its write side a socket, and TCP
 * (stream.c re-arms TCP_QUICKACK after reads)? Only getsockopt(), which
 * the sandboxed session children may call (common/sandbox.c).
 */
static void
end_set(struct chan_end *out, int rfd, int wfd)
{
	int type, domain;
	socklen_t tl = sizeof(type), dl = sizeof(domain);

	memset(out, 0, sizeof(*out));
	out->rfd = rfd;
	out->wfd = wfd;
	out->is_socket = wfd >= 0 &&
	    getsockopt(wfd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0;
	out->is_tcp = out->is_socket && rfd == wfd && type == SOCK_STREAM &&
	    getsockopt(wfd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) == 0 &&
	    (domain == AF_INET || domain == AF_INET6);
}

/* A socket we connected or accepted, or a device we opened. */
static int
end_from_fd(int fd, struct chan_end *out)
{
	int one = 1;

	if (chan_nonblock(fd) < 0)
		return fail_close(fd);
	end_set(out, fd, fd);
	/* Nagle plus delayed ACK stalls request/response traffic. */
	if (out->is_tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return CHAN_OK;
}

static int
open_adopt(const struct chan_uri *u, int serve, struct chan_end *out)
{
	(void)serve;
	/* One side may be absent (-1): a one-way channel. */
	if ((u->rfd >= 0 && chan_nonblock(u->rfd) < 0) ||
	    (u->wfd >= 0 && u->wfd != u->rfd && chan_nonblock(u->wfd) < 0))
		return CHAN_E_SYS;
	end_set(out, u->rfd, u->wfd);
	return CHAN_OK;
}

static int
unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

static int
open_unix(const struct chan_uri *u, int serve, struct chan_end *out)
{
	struct sockaddr_un sun;
	int fd;

	(void)serve;
	if (unix_addr(u->path, &sun) < 0)
		return CHAN_E_URI;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return CHAN_E_SYS;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return fail_close(fd);
	return end_from_fd(fd, out);
}

static int
listen_unix(const struct chan_uri *u, unsigned mode)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t mask = 0;
	int fd, rc;

	if (unix_addr(u->path, &sun) < 0)
		return CHAN_E_URI;
	/* Replace a stale socket, never another kind of file. */
	if (lstat(u->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return CHAN_E_SYS;
		}
		unlink(u->path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0)
		return CHAN_E_SYS;
	/*
	 * bind() creates the file with 0777 less the umask: with the umask
	 * the complement of mode it is born with mode, never wider, not even
	 * until the chmod(). The daemons that listen are single-threaded;
	 * the caller's umask is put back.
	 */
	if (mode != 0)
		mask = umask(~(mode_t)mode & 0777);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (mode != 0)
		umask(mask);
	if (rc < 0 || (mode != 0 && chmod(u->path, mode) < 0) ||
	    listen(fd, 16) < 0)
		return fail_close(fd);
	return fd;
}

/* A connected (or, listening, a bound and listening) TCP socket. */
static int
tcp_socket(const struct chan_uri *u, int listening)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = listening ? AI_PASSIVE : 0;
	if (getaddrinfo(u->host[0] ? u->host : NULL, u->port, &hints,
	    &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (listening) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			    sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
			    listen(fd, 16) == 0)
				break;
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
open_tcp(const struct chan_uri *u, int serve, struct chan_end *out)
{
	int fd;

	(void)serve;
	if ((fd = tcp_socket(u, 0)) < 0)
		return CHAN_E_SYS;
	return end_from_fd(fd, out);
}

static int
listen_tcp(const struct chan_uri *u, unsigned mode)
{
	int fd;

	(void)mode;
	if ((fd = tcp_socket(u, 1)) < 0)
		return CHAN_E_SYS;
	if (chan_nonblock(fd) < 0)
		return fail_close(fd);
	return fd;
}

static int
open_dev(const struct chan_uri *u, int serve, struct chan_end *out)
{
	int fd;

	(void)serve;
	if ((fd = open(u->path, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return CHAN_E_SYS;
	return end_from_fd(fd, out);
}

static const struct chan_wait_ops vchan_wait = {
	chan_vchan_wait_start, chan_vchan_wait_fd, chan_vchan_wait_step,
	chan_vchan_wait_free,
};

/*
 * The kinds. A qrexec kind (a service's stdio, or a socket the agent
 * hands over) or a kernel-module kind is one more row here.
 */
static const struct chan_kind_ops chan_kinds[CHAN_KIND__COUNT] = {
	[CHAN_STDIO] = { "stdio", CHAN_STDIO, CHAN_K_INHERIT | CHAN_K_CONTROL,
	    NULL, open_adopt, NULL },
	[CHAN_FD] = { "fd", CHAN_FD, CHAN_K_INHERIT | CHAN_K_CONTROL,
	    parse_fd, open_adopt, NULL },
	[CHAN_UNIX] = { "unix", CHAN_UNIX, CHAN_K_LISTEN | CHAN_K_SOCKET |
	    CHAN_K_CONTROL, parse_path, open_unix, listen_unix },
	[CHAN_TCP] = { "tcp", CHAN_TCP, CHAN_K_LISTEN | CHAN_K_SOCKET |
	    CHAN_K_CONTROL, parse_tcp, open_tcp, listen_tcp },
	[CHAN_DEV] = { "dev", CHAN_DEV, CHAN_K_NOEOS | CHAN_K_FRAMED |
	    CHAN_K_CONTROL, parse_path, open_dev, NULL },
	[CHAN_VCHAN] = { "vchan", CHAN_VCHAN, CHAN_K_LISTEN | CHAN_K_CONTROL,
	    parse_vchan, chan_vchan_open, NULL, &vchan_wait },
	[CHAN_RAWDEV] = { "rawdev", CHAN_RAWDEV, CHAN_K_NOEOS,
	    parse_path, open_dev, NULL },
};

#define CHAN_FRAMED_PREFIX	"framed:"

int
chan_uri_parse(const char *uri, struct chan_uri *out)
{
	const struct chan_kind_ops *k;
	const char *colon;
	size_t slen;
	int i;

	memset(out, 0, sizeof(*out));
	out->rfd = out->wfd = -1;
	if (uri == NULL)
		return CHAN_E_URI;
	if (strncmp(uri, CHAN_FRAMED_PREFIX, strlen(CHAN_FRAMED_PREFIX)) == 0) {
		/* Once, and not on a device kind (dev: is rawdev: framed). */
		if (chan_uri_parse(uri + strlen(CHAN_FRAMED_PREFIX), out) !=
		    CHAN_OK || out->framed ||
		    (chan_kinds[out->kind].flags & CHAN_K_NOEOS))
			return CHAN_E_URI;
		out->framed = 1;
		return CHAN_OK;
	}
	colon = strchr(uri, ':');
	slen = colon != NULL ? (size_t)(colon - uri) : strlen(uri);
	for (i = 0; i < CHAN_KIND__COUNT; i++) {
		k = &chan_kinds[i];
		if (strlen(k->scheme) != slen ||
		    strncmp(uri, k->scheme, slen) != 0)
			continue;
		/* A bare scheme takes no argument, the others need one. */
		if ((k->parse == NULL) != (colon == NULL))
			return CHAN_E_URI;
		out->kind = k->kind;
		return (k->parse != NULL ? k->parse : parse_stdio)(
		    colon != NULL ? colon + 1 : NULL, out);
	}
	return CHAN_E_URI;
}

unsigned
chan_kind_flags(enum chan_kind kind)
{
	if ((unsigned)kind >= CHAN_KIND__COUNT)
		return 0;
	return chan_kinds[kind].flags;
}

int
chan_uri_framed(const struct chan_uri *u)
{
	return u->framed || (chan_kind_flags(u->kind) & CHAN_K_FRAMED) != 0;
}

const char *
chan_kind_name(enum chan_kind kind)
{
	if ((unsigned)kind >= CHAN_KIND__COUNT)
		return "?";
	return chan_kinds[kind].scheme;
}

int
chan_listen(const struct chan_uri *u, unsigned mode)
{
	if ((unsigned)u->kind >= CHAN_KIND__COUNT ||
	    chan_kinds[u->kind].listen == NULL)
		return CHAN_E_URI;
	return chan_kinds[u->kind].listen(u, mode);
}

int
chan_accept(int lfd, struct chan_end *out)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return CHAN_E_SYS;
	return end_from_fd(fd, out);
}

int
chan_open(const struct chan_uri *u, int listen, struct chan_end *out)
{
	const struct chan_kind_ops *k;
	struct pollfd p;
	int lfd, r;

	end_init(out);
	if ((unsigned)u->kind >= CHAN_KIND__COUNT)
		return CHAN_E_URI;
	k = &chan_kinds[u->kind];
	if (!listen || k->listen == NULL)
		return k->open(u, listen, out);
	/* One peer: listen, wait for it, stop listening. */
	if ((lfd = k->listen(u, 0)) < 0)
		return lfd;
	p = (struct pollfd){ lfd, POLLIN, 0 };
	do
		r = chan_accept(lfd, out);
	while (r < 0 && (errno == EAGAIN || errno == EINTR) &&
	    (poll(&p, 1, -1) >= 0 || errno == EINTR));
	close(lfd);
	if (u->kind == CHAN_UNIX)
		unlink(u->path);
	return r;
}

struct chan_wait {
	const struct chan_wait_ops *ops;	/* NULL: opened at start */
	void *h;
	int rc;			/* without ops: the open's result */
	int saved;		/* and its errno */
	struct chan_end end;
};

int
chan_wait_start(const struct chan_uri *u, struct chan_wait **out)
{
	struct chan_wait *w;
	int r;

	*out = NULL;
	if ((unsigned)u->kind >= CHAN_KIND__COUNT)
		return CHAN_E_URI;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CHAN_E_NOMEM;
	w->ops = chan_kinds[u->kind].wait;
	if (w->ops == NULL) {
		w->rc = chan_open(u, 0, &w->end);
		w->saved = errno;
	} else if ((r = w->ops->start(u, &w->h)) != CHAN_OK) {
		free(w);
		return r;
	}
	*out = w;
	return CHAN_OK;
}

int
chan_wait_fd(const struct chan_wait *w)
{
	return w->ops != NULL ? w->ops->fd(w->h) : -1;
}

int
chan_wait_step(struct chan_wait *w, struct chan_end *out)
{
	int r = w->rc, saved = w->saved;

	if (w->ops != NULL)
		return w->ops->step(w->h, out);
	/* once: the end is the caller's now */
	*out = w->end;
	end_init(&w->end);
	w->rc = CHAN_E_SYS;
	w->saved = EBADF;
	errno = saved;
	return r;
}

void
chan_wait_free(struct chan_wait *w)
{
	if (w == NULL)
		return;
	if (w->ops != NULL)
		w->ops->free(w->h);
	else if (w->rc == CHAN_OK)
		chan_end_close(&w->end);
	free(w);
}

void
chan_end_close(struct chan_end *e)
{
	if (e->io != NULL) {
		e->io->close(e->h);
		e->io = NULL;
	} else {
		if (e->rfd >= 0)
			close(e->rfd);
		if (e->wfd >= 0 && e->wfd != e->rfd)
			close(e->wfd);
	}
	e->rfd = e->wfd = -1;
}
