/*
 * stream.c: non-blocking byte streams over what the channel layer opened
 * (descriptors, or a transport with its own I/O ops such as vchan). See
 * stream.h for the contract.
 *
 * Input is read in large chunks into one linear buffer that is compacted
 * when its tail runs short. Output is a queue of segments: small writes are
 * coalesced into shared copy chunks, large ones either copied into their own
 * segment or, with stream_write_owned(), queued by reference. stream_flush()
 * hands up to IOV_MAX segments to one writev().
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stream.h"
#include "stream_private.h"


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

/* ---------------------------------------------------------------- open */

int
stream_uri_parse(const char *uri, struct stream_uri *out)
{
	return chan_uri_parse(uri, out);
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
stream_from_end(struct chan_end *e, int flags, struct stream **out)
{
	struct stream *s;
	int rc;

	*out = NULL;
	if ((s = stream_alloc()) == NULL)
		return STREAM_E_NOMEM;
	s->rfd = e->rfd;
	s->wfd = e->wfd;
	s->is_socket = e->is_socket;
	s->is_tcp = e->is_tcp;
	s->io = e->io;
	s->io_h = e->h;
	if ((flags & STREAM_F_FRAMED) && (rc = stream_frame_init(s)) < 0) {
		s->io = NULL;
		s->rfd = s->wfd = -1;	/* the end stays the caller's */
		stream_close(s);
		return rc;
	}
	*out = s;
	return STREAM_OK;
}

int
stream_from_fds(int rfd, int wfd, struct stream **out)
{
	struct chan_uri u;
	struct chan_end e;
	int rc;

	memset(&u, 0, sizeof(u));
	u.kind = CHAN_FD;
	u.rfd = rfd;
	u.wfd = wfd;
	*out = NULL;
	if ((rc = chan_open(&u, 0, &e)) < 0)
		return rc;
	return stream_from_end(&e, 0, out);
}

int
stream_open(const char *uri, int flags, struct stream **out)
{
	struct chan_uri u;
	struct chan_end e;
	int rc;

	*out = NULL;
	if ((rc = chan_uri_parse(uri, &u)) < 0)
		return rc;
	if ((rc = chan_open(&u, (flags & STREAM_F_LISTEN) != 0, &e)) < 0)
		return rc;
	if (chan_kind_flags(u.kind) & CHAN_K_FRAMED)
		flags |= STREAM_F_FRAMED;
	if ((rc = stream_from_end(&e, flags, out)) < 0)
		chan_end_close(&e);
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
	if (s->io != NULL)
		s->io->close(s->io_h);
	else {
		if (s->rfd >= 0)
			close(s->rfd);
		if (s->wfd >= 0 && s->wfd != s->rfd)
			close(s->wfd);
	}
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
	if (s->io != NULL)
		return s->io->read(s->io_h, buf, room);
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

	if (s->io != NULL) {
		n = s->io->write(s->io_h, iov[0].iov_base, iov[0].iov_len);
		if (n < 0)
			s->failed = 1;
		return n;
	}
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
		if (s->io != NULL) {
			/* A read by the peer makes rfd readable. */
			pfd.fd = s->rfd;
			pfd.events = POLLIN;
			rc = poll(&pfd, 1, timeout_ms);
			if (rc <= 0)
				return rc == 0 || errno != EINTR ? STREAM_E_SYS :
				    STREAM_OK;
			s->io->ack(s->io_h);
			continue;
		}
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
