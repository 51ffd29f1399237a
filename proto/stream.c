/*
 * stream.c: non-blocking byte streams over fds, sockets, character devices
 * and (when built with Xen) vchan. See stream.h for the contract.
 *
 * Input is read in large chunks into one linear buffer that is compacted
 * when its tail runs short. Output is a queue of segments: small writes are
 * coalesced into shared copy chunks, large ones either copied into their own
 * segment or, with stream_write_owned(), queued by reference. stream_flush()
 * hands up to IOV_MAX segments to one writev().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef HAVE_XEN
#include <libxenvchan.h>
#endif

#include "stream.h"
#include "stream_private.h"
#include "vchan_xs.h"


static const char *const stream_errstr[STREAM_E__COUNT] = {
	[0] = "success",
	[1] = "malformed or unknown channel URI",
	[2] = "system error",
	[3] = "end of stream",
	[4] = "transport not supported by this build",
	[5] = "out of memory",
	[6] = "stream closed after an earlier error",
	[7] = "framing violation by the peer",
	[8] = "the peer went silent",
};
_Static_assert(sizeof(stream_errstr) / sizeof(stream_errstr[0]) ==
    STREAM_E__COUNT, "stream_errstr matches enum stream_error");

const char *
stream_strerror(int err)
{
	if (err > 0 || -err >= STREAM_E__COUNT)
		return "unknown stream error";
	return stream_errstr[-err];
}

/* ---------------------------------------------------------------- URIs */

static int
parse_int(const char *s, long min, long max, long *out)
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

int
stream_uri_parse(const char *uri, struct stream_uri *out)
{
	const char *arg;
	long v;

	memset(out, 0, sizeof(*out));
	out->rfd = out->wfd = -1;
	if (uri == NULL)
		return STREAM_E_URI;
	if (strcmp(uri, "stdio") == 0) {
		out->kind = STREAM_KIND_STDIO;
		out->rfd = 0;
		out->wfd = 1;
		return STREAM_OK;
	}
	if (strncmp(uri, "fd:", 3) == 0) {
		char tmp[32];
		char *comma;

		arg = uri + 3;
		if (strlen(arg) >= sizeof(tmp))
			return STREAM_E_URI;
		strcpy(tmp, arg);
		out->kind = STREAM_KIND_FD;
		comma = strchr(tmp, ',');
		if (comma != NULL)
			*comma++ = '\0';
		if (parse_int(tmp, 0, INT_MAX, &v) < 0)
			return STREAM_E_URI;
		out->rfd = out->wfd = (int)v;
		if (comma != NULL) {
			if (parse_int(comma, 0, INT_MAX, &v) < 0)
				return STREAM_E_URI;
			out->wfd = (int)v;
		}
		return STREAM_OK;
	}
	if (strncmp(uri, "unix:", 5) == 0 || strncmp(uri, "dev:", 4) == 0 ||
	    strncmp(uri, "rawdev:", 7) == 0) {
		out->kind = uri[0] == 'u' ? STREAM_KIND_UNIX :
		    uri[0] == 'd' ? STREAM_KIND_DEV : STREAM_KIND_RAWDEV;
		arg = strchr(uri, ':') + 1;
		if (*arg == '\0' || strlen(arg) >= sizeof(out->path))
			return STREAM_E_URI;
		strcpy(out->path, arg);
		return STREAM_OK;
	}
	if (strncmp(uri, "tcp:", 4) == 0) {
		const char *colon;
		size_t hlen;

		arg = uri + 4;
		colon = strrchr(arg, ':');
		if (colon == NULL)
			return STREAM_E_URI;
		hlen = (size_t)(colon - arg);
		if (hlen >= sizeof(out->host) ||
		    strlen(colon + 1) >= sizeof(out->port))
			return STREAM_E_URI;
		/* [v6addr]:port */
		if (hlen >= 2 && arg[0] == '[' && arg[hlen - 1] == ']') {
			memcpy(out->host, arg + 1, hlen - 2);
			out->host[hlen - 2] = '\0';
		} else {
			memcpy(out->host, arg, hlen);
			out->host[hlen] = '\0';
		}
		strcpy(out->port, colon + 1);
		if (parse_int(out->port, 1, 65535, &v) < 0)
			return STREAM_E_URI;
		out->kind = STREAM_KIND_TCP;
		return STREAM_OK;
	}
	if (strncmp(uri, "vchan:", 6) == 0) {
		char tmp[64];
		char *colon;

		arg = uri + 6;
		if (strlen(arg) >= sizeof(tmp))
			return STREAM_E_URI;
		strcpy(tmp, arg);
		colon = strchr(tmp, ':');
		if (colon == NULL)
			return STREAM_E_URI;
		*colon++ = '\0';
		if (parse_int(tmp, 0, 65535, &v) < 0)
			return STREAM_E_URI;
		out->domid = (int)v;
		if (*colon == '\0' || strlen(colon) >= sizeof(out->port) ||
		    strspn(colon, "0123456789") != strlen(colon))
			return STREAM_E_URI;
		strcpy(out->port, colon);
		out->kind = STREAM_KIND_VCHAN;
		return STREAM_OK;
	}
	return STREAM_E_URI;
}

/* ---------------------------------------------------------------- open */

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static struct stream *
stream_alloc(void)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->in = malloc(STREAM_IN_CAP);
	s->in_cap = STREAM_IN_CAP;
	s->q_cap = 64;
	s->q = calloc(s->q_cap, sizeof(*s->q));
	if (s->in == NULL || s->q == NULL) {
		free(s->in);
		free(s->q);
		free(s);
		return NULL;
	}
	s->rfd = s->wfd = -1;
	s->highwater = STREAM_DEFAULT_HIGHWATER;
	return s;
}

int
stream_from_fds(int rfd, int wfd, struct stream **out)
{
	struct stream *s;
	int type;
	socklen_t tl = sizeof(type);

	if (set_nonblock(rfd) < 0 || (wfd != rfd && set_nonblock(wfd) < 0))
		return STREAM_E_SYS;
	s = stream_alloc();
	if (s == NULL)
		return STREAM_E_NOMEM;
	s->rfd = rfd;
	s->wfd = wfd;
	s->is_socket = getsockopt(wfd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0;
	*out = s;
	return STREAM_OK;
}

static int
open_unix(const char *path, int listen_mode)
{
	struct sockaddr_un sun;
	int fd, cfd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (!listen_mode) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			goto fail;
		return fd;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 1) < 0)
		goto fail;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	close(fd);
	unlink(path);
	return cfd;
fail:
	close(fd);
	return -1;
}

static int
open_tcp(const char *host, const char *port, int listen_mode)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, one = 1, cfd, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = listen_mode ? AI_PASSIVE : 0;
	rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (listen_mode) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
			    listen(fd, 1) == 0)
				break;
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	if (listen_mode) {
		cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		close(fd);
		fd = cfd;
		if (fd < 0)
			return -1;
	}
	/* Nagle plus delayed ACK stalls request/response traffic. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
stream_open(const char *uri, int flags, struct stream **out)
{
	struct stream_uri u;
	int rc, fd, tcp = 0, lm = (flags & STREAM_F_LISTEN) != 0;

	rc = stream_uri_parse(uri, &u);
	if (rc < 0)
		return rc;
	switch (u.kind) {
	case STREAM_KIND_STDIO:
	case STREAM_KIND_FD:
		rc = stream_from_fds(u.rfd, u.wfd, out);
		if (rc == STREAM_OK && (flags & STREAM_F_FRAMED) &&
		    (rc = stream_frame_init(*out)) < 0) {
			stream_close(*out);
			*out = NULL;
		}
		return rc;
	case STREAM_KIND_UNIX:
		fd = open_unix(u.path, lm);
		break;
	case STREAM_KIND_TCP:
		fd = open_tcp(u.host, u.port, lm);
		tcp = 1;
		break;
	case STREAM_KIND_DEV:
	case STREAM_KIND_RAWDEV:
		fd = open(u.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (u.kind == STREAM_KIND_DEV)
			flags |= STREAM_F_FRAMED;
		break;
	case STREAM_KIND_VCHAN:
#ifdef HAVE_XEN
	{
		struct libxenvchan *vc;
		struct stream *s;

		vc = vchan_xs_open(u.domid, u.port, lm, VCHAN_XS_WAIT_MS);
		if (vc == NULL)
			return STREAM_E_SYS;
		vc->blocking = 0;
		s = stream_alloc();
		if (s == NULL) {
			libxenvchan_close(vc);
			return STREAM_E_NOMEM;
		}
		s->vchan = vc;
		/*
		 * One event channel for both directions: it is readable when
		 * the peer wrote or read. Its POLLOUT is always set, so it is
		 * not polled for writing (that would spin while the ring is
		 * full); a read by the peer wakes us instead.
		 */
		s->rfd = libxenvchan_fd_for_select(vc);
		s->wfd = -1;
		*out = s;
		return STREAM_OK;
	}
#else
		return STREAM_E_NOTSUP;
#endif
	default:
		return STREAM_E_URI;
	}
	if (fd < 0)
		return STREAM_E_SYS;
	rc = stream_from_fds(fd, fd, out);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	(*out)->is_tcp = tcp;
	if (flags & STREAM_F_FRAMED) {
		rc = stream_frame_init(*out);
		if (rc < 0) {
			stream_close(*out);
			*out = NULL;
		}
	}
	return rc;
}

int
stream_set_framed(struct stream *s)
{
	return stream_frame_init(s);
}

void
seg_release(struct seg *g)
{
	if (g->free_fn != NULL)
		g->free_fn(g->ctx, g->buf);
	else
		free(g->buf);
	memset(g, 0, sizeof(*g));
}

void
stream_close(struct stream *s)
{
	if (s == NULL)
		return;
	if (s->framed) {
		stream_frame_close(s);	/* best effort CLOSE to the peer */
		stream_frame_free(s);
	}
	while (s->q_len > 0) {
		seg_release(&s->q[s->q_head]);
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
	}
#ifdef HAVE_XEN
	if (s->vchan != NULL) {
		libxenvchan_close(s->vchan);
		s->rfd = s->wfd = -1;
	}
#endif
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->wfd >= 0 && s->wfd != s->rfd)
		close(s->wfd);
	free(s->q);
	free(s->in);
	free(s->stage);
	free(s);
}

int
stream_rfd(const struct stream *s)
{
	return s->rfd;
}

int
stream_wfd(const struct stream *s)
{
	return s->wfd;
}

/* ---------------------------------------------------------------- input */

/*
 * Read what the descriptor has into buf[0..room) without blocking. Some
 * channels hand out little per read() (a virtio-serial port gives one 4 KiB
 * buffer at a time): keep reading while data comes, so one poll() wakeup
 * drains what is queued. EOF after data is reported on the next call.
 */
ssize_t
stream_raw_read(struct stream *s, uint8_t *buf, size_t room)
{
	ssize_t n, total = 0;

	if (room == 0)
		return 0;
#ifdef HAVE_XEN
	if (s->vchan != NULL) {
		libxenvchan_wait(s->vchan);
		if (!libxenvchan_is_open(s->vchan) &&
		    libxenvchan_data_ready(s->vchan) == 0)
			return STREAM_E_EOF;
		n = libxenvchan_read(s->vchan, buf, room);
		return n < 0 ? STREAM_E_EOF : n;
	}
#endif
	for (;;) {
		n = read(s->rfd, buf + total, room);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (total > 0)
				break;
			return errno == ECONNRESET ? STREAM_E_EOF : STREAM_E_SYS;
		}
		if (n == 0) {
			if (total > 0)
				break;
			return STREAM_E_EOF;
		}
		total += n;
		room -= (size_t)n;
		if (room == 0 || total >= STREAM_FILL_MAX)
			break;
	}
	if (total > 0 && s->is_tcp) {
		/*
		 * A request/response protocol: acknowledge at once instead of
		 * waiting up to 40 ms for data to piggyback on (the kernel
		 * drops back to delayed ACKs, so this is per read).
		 */
		int one = 1;

		setsockopt(s->rfd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
	return total;
}

/* Make room at the end of the input buffer by dropping consumed bytes. */
void
stream_in_compact(struct stream *s)
{
	if (s->in_r == s->in_w)
		s->in_r = s->in_w = 0;
	else if (s->in_cap - s->in_w < STREAM_IN_MIN_TAIL && s->in_r > 0) {
		memmove(s->in, s->in + s->in_r, s->in_w - s->in_r);
		s->in_w -= s->in_r;
		s->in_r = 0;
	}
}

ssize_t
stream_fill(struct stream *s)
{
	ssize_t n;

	if (s->failed)
		return STREAM_E_CLOSED;
	if (s->framed)
		return stream_frame_fill(s);
	stream_in_compact(s);
	n = stream_raw_read(s, s->in + s->in_w, s->in_cap - s->in_w);
	if (n > 0)
		s->in_w += (size_t)n;
	return n;
}

ssize_t
stream_read_direct(struct stream *s, void *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return 0;
	if (s->in_w > s->in_r)
		return (ssize_t)stream_read(s, buf, len);
	if (s->failed)
		return STREAM_E_CLOSED;
	if (s->framed)
		return stream_frame_read_direct(s, buf, len);
	if (len >= STREAM_DIRECT_MIN)
		return stream_raw_read(s, buf, len);
	n = stream_fill(s);
	if (n < 0)
		return n;
	return (ssize_t)stream_read(s, buf, len);
}

int
stream_reserve(struct stream *s, size_t total)
{
	uint8_t *n;

	if (total > STREAM_IN_MAX)
		return STREAM_E_NOMEM;
	if (s->in_cap - s->in_r >= total)
		return STREAM_OK;
	if (s->in_r > 0) {
		memmove(s->in, s->in + s->in_r, s->in_w - s->in_r);
		s->in_w -= s->in_r;
		s->in_r = 0;
		if (s->in_cap >= total)
			return STREAM_OK;
	}
	n = realloc(s->in, total);
	if (n == NULL)
		return STREAM_E_NOMEM;
	s->in = n;
	s->in_cap = total;
	return STREAM_OK;
}

size_t
stream_available(const struct stream *s)
{
	return s->in_w - s->in_r;
}

size_t
stream_read(struct stream *s, void *buf, size_t len)
{
	size_t avail = s->in_w - s->in_r;

	if (len > avail)
		len = avail;
	memcpy(buf, s->in + s->in_r, len);
	s->in_r += len;
	return len;
}

const uint8_t *
stream_peek(const struct stream *s)
{
	return s->in + s->in_r;
}

void
stream_consume(struct stream *s, size_t len)
{
	size_t avail = s->in_w - s->in_r;

	s->in_r += len > avail ? avail : len;
}

/* ---------------------------------------------------------------- output */

static struct seg *
queue_push(struct stream *s)
{
	struct seg *g;

	if (s->q_len == s->q_cap) {
		size_t ncap = s->q_cap * 2, i;
		struct seg *nq = calloc(ncap, sizeof(*nq));

		if (nq == NULL)
			return NULL;
		for (i = 0; i < s->q_len; i++)
			nq[i] = s->q[(s->q_head + i) % s->q_cap];
		free(s->q);
		s->q = nq;
		s->q_cap = ncap;
		s->q_head = 0;
	}
	g = &s->q[(s->q_head + s->q_len) % s->q_cap];
	memset(g, 0, sizeof(*g));
	s->q_len++;
	return g;
}

static struct seg *
queue_tail(struct stream *s)
{
	if (s->q_len == 0)
		return NULL;
	return &s->q[(s->q_head + s->q_len - 1) % s->q_cap];
}

int
stream_write(struct stream *s, const void *buf, size_t len)
{
	struct seg *g;

	if (s->failed)
		return STREAM_E_CLOSED;
	if (len == 0)
		return STREAM_OK;
	g = queue_tail(s);
	if (len <= STREAM_COPY_MAX && g != NULL && g->cap != 0 &&
	    g->cap - g->len >= len) {
		memcpy(g->buf + g->len, buf, len);
		g->len += len;
		s->pending += len;
		return STREAM_OK;
	}
	g = queue_push(s);
	if (g == NULL)
		return STREAM_E_NOMEM;
	if (len <= STREAM_COPY_MAX) {
		g->buf = malloc(STREAM_CHUNK);
		g->cap = STREAM_CHUNK;
	} else
		g->buf = malloc(len);
	if (g->buf == NULL) {
		s->q_len--;
		return STREAM_E_NOMEM;
	}
	memcpy(g->buf, buf, len);
	g->len = len;
	s->pending += len;
	return STREAM_OK;
}

int
stream_write_owned(struct stream *s, void *buf, size_t len,
    stream_free_fn free_fn, void *ctx)
{
	struct seg *g;

	if (s->failed || (g = queue_push(s)) == NULL) {
		free_fn(ctx, buf);
		return s->failed ? STREAM_E_CLOSED : STREAM_E_NOMEM;
	}
	g->buf = buf;
	g->len = len;
	g->free_fn = free_fn;
	g->ctx = ctx;
	s->pending += len;
	return STREAM_OK;
}

/* One writev() of cnt vectors; bytes written, 0 when full, or an error. */
ssize_t
stream_raw_writev(struct stream *s, const struct iovec *iov, size_t cnt)
{
	ssize_t n;

#ifdef HAVE_XEN
	if (s->vchan != NULL) {
		n = libxenvchan_write(s->vchan, iov[0].iov_base, iov[0].iov_len);
		if (n < 0) {
			s->failed = 1;
			return STREAM_E_EOF;
		}
		return n;
	}
#endif
	if (s->is_socket) {
		struct msghdr mh;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = (struct iovec *)iov;
		mh.msg_iovlen = cnt;
		n = sendmsg(s->wfd, &mh, MSG_NOSIGNAL);
	} else if (cnt > 1 && iov[0].iov_len < STREAM_GATHER) {
		/*
		 * A character device (a virtio-serial port) turns every
		 * vector of a writev() into its own write, buffer and
		 * notification of the host: gather small pieces into one.
		 */
		size_t used = 0, i, take;

		if (s->stage == NULL && (s->stage = malloc(STREAM_GATHER)) == NULL)
			return STREAM_E_NOMEM;
		for (i = 0; i < cnt && used < STREAM_GATHER; i++) {
			take = iov[i].iov_len;
			if (take > STREAM_GATHER - used)
				take = STREAM_GATHER - used;
			memcpy(s->stage + used, iov[i].iov_base, take);
			used += take;
		}
		n = write(s->wfd, s->stage, used);
	} else
		n = writev(s->wfd, iov, (int)cnt);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		s->failed = 1;
		return errno == EPIPE || errno == ECONNRESET ? STREAM_E_EOF :
		    STREAM_E_SYS;
	}
	return n;
}

/*
 * Fill iov[first..] with queued data, at most limit bytes; returns the
 * number of vectors used.
 */
size_t
stream_queue_iov(struct stream *s, struct iovec *iov, size_t first,
    size_t limit)
{
	size_t i, cnt = first;

	for (i = 0; i < s->q_len && cnt < STREAM_IOV_MAX && limit > 0; i++) {
		struct seg *g = &s->q[(s->q_head + i) % s->q_cap];
		size_t len = g->len - g->off;

		if (len > limit)
			len = limit;
		iov[cnt].iov_base = g->buf + g->off;
		iov[cnt].iov_len = len;
		limit -= len;
		cnt++;
	}
	return cnt;
}

/* Drop n written bytes from the head of the queue. */
void
stream_queue_advance(struct stream *s, size_t n)
{
	s->pending -= n;
	while (n > 0) {
		struct seg *g = &s->q[s->q_head];
		size_t left = g->len - g->off;

		if (n < left) {
			g->off += n;
			return;
		}
		n -= left;
		seg_release(g);
		s->q_head = (s->q_head + 1) % s->q_cap;
		s->q_len--;
	}
}

ssize_t
stream_flush(struct stream *s)
{
	struct iovec iov[STREAM_IOV_MAX];
	ssize_t n;
	size_t cnt;

	if (s->failed)
		return STREAM_E_CLOSED;
	if (s->framed)
		return stream_frame_flush(s);
	while (s->q_len > 0) {
		cnt = stream_queue_iov(s, iov, 0, SIZE_MAX);
		n = stream_raw_writev(s, iov, cnt);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		stream_queue_advance(s, (size_t)n);
	}
	return (ssize_t)s->pending;
}

int
stream_drain(struct stream *s, int timeout_ms)
{
	struct pollfd pfd;
	ssize_t left;
	int rc;

	for (;;) {
		left = stream_flush(s);
		if (left <= 0)
			return left < 0 ? (int)left : STREAM_OK;
#ifdef HAVE_XEN
		if (s->vchan != NULL) {
			pfd.fd = s->rfd;
			pfd.events = POLLIN;
			rc = poll(&pfd, 1, timeout_ms);
			if (rc <= 0)
				return rc == 0 || errno != EINTR ? STREAM_E_SYS :
				    STREAM_OK;
			libxenvchan_wait(s->vchan);
			continue;
		}
#endif
		pfd.fd = s->wfd;
		pfd.events = POLLOUT;
		rc = poll(&pfd, 1, timeout_ms);
		if (rc == 0)
			return STREAM_E_SYS;
		if (rc < 0 && errno != EINTR)
			return STREAM_E_SYS;
	}
}

size_t
stream_pending(const struct stream *s)
{
	return s->pending + (s->framed ? stream_frame_pending(s) : 0);
}

int
stream_congested(const struct stream *s)
{
	return s->pending > s->highwater;
}

void
stream_set_highwater(struct stream *s, size_t bytes)
{
	s->highwater = bytes;
}

int
stream_timeout(const struct stream *s)
{
	return s->framed ? stream_frame_timeout(s) : -1;
}

int
stream_tick(struct stream *s)
{
	return s->framed ? stream_frame_tick(s) : STREAM_OK;
}

int
stream_ready(const struct stream *s)
{
	return s->framed ? stream_frame_ready(s) : 1;
}

void
stream_shutdown_write(struct stream *s)
{
	if (s->is_socket)
		shutdown(s->wfd, SHUT_WR);
}
