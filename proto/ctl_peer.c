/*
 * ctl_peer.c: framing, hello and direction checks over a byte channel (see
 * ctl_peer.h). Input is kept in one buffer of CTL_MSG_MAX bytes: a header
 * announcing a longer body is refused before the body is read, so the
 * buffer can always hold a complete frame.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_chan.h"
#include "ctl_peer.h"

struct ctl_conn {
	int rfd, wfd;
	enum ctl_role self, expect_peer, peer_role;
	int hello_sent, ready, dead, rehello;
	int wfd_is_socket;
	uint32_t own_caps, peer_caps;
	char peer_name[CTL_NAME_MAX + 1];
	uint8_t *in;
	size_t in_off, in_len;		/* unread bytes: in[in_off..in_len) */
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	char detail[160];
};

int
ctl_conn_new(int rfd, int wfd, enum ctl_role self, enum ctl_role peer_role,
    struct ctl_conn **out)
{
	struct ctl_conn *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CTL_E_NOMEM;
	if ((c->in = malloc(CTL_MSG_MAX)) == NULL) {
		free(c);
		return CTL_E_NOMEM;
	}
	c->rfd = rfd;
	c->wfd = wfd;
	c->self = self;
	c->expect_peer = peer_role;
	c->wfd_is_socket = 1;	/* until send() says ENOTSOCK */
	*out = c;
	return CTL_OK;
}

void
ctl_conn_free(struct ctl_conn *c)
{
	if (c == NULL)
		return;
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		close(c->wfd);
	free(c->in);
	free(c->out);
	free(c);
}

int
ctl_conn_fd(const struct ctl_conn *c)
{
	return c->rfd;
}

int
ctl_conn_wfd(const struct ctl_conn *c)
{
	return c->wfd;
}

void
ctl_conn_allow_rehello(struct ctl_conn *c)
{
	c->rehello = 1;
}

int
ctl_conn_ready(const struct ctl_conn *c)
{
	return c->ready;
}

enum ctl_role
ctl_conn_peer_role(const struct ctl_conn *c)
{
	return c->peer_role;
}

const char *
ctl_conn_peer_name(const struct ctl_conn *c)
{
	return c->peer_name;
}

uint32_t
ctl_conn_caps(const struct ctl_conn *c)
{
	return c->own_caps & c->peer_caps;
}

const char *
ctl_conn_error_detail(const struct ctl_conn *c)
{
	return c->detail;
}

size_t
ctl_conn_pending(const struct ctl_conn *c)
{
	return c->out_len - c->out_off;
}

int
ctl_conn_flush(struct ctl_conn *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		/* MSG_NOSIGNAL: a closed peer must not SIGPIPE the caller. */
		if (c->wfd_is_socket) {
			n = send(c->wfd, c->out + c->out_off,
			    c->out_len - c->out_off, MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK) {
				c->wfd_is_socket = 0;
				continue;
			}
		} else
			n = write(c->wfd, c->out + c->out_off,
			    c->out_len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			c->dead = 1;
			return errno == EPIPE ? CTL_E_EOF : CTL_E_SYS;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	return (int)(c->out_len - c->out_off);
}

int
ctl_conn_send(struct ctl_conn *c, const struct ctl_msg *msg)
{
	struct ctl_wbuf w;
	size_t need;
	int r;

	if (c->dead)
		return CTL_E_STATE;
	/* Compact, then make room for one more maximal frame. */
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + CTL_MSG_MAX;
	if (need > CTL_SENDQ_MAX + CTL_MSG_MAX)
		return CTL_E_NOSPACE;
	if (need > c->out_cap) {
		size_t ncap = c->out_cap ? c->out_cap : CTL_MSG_MAX;
		uint8_t *n;

		while (ncap < need)
			ncap *= 2;
		if ((n = realloc(c->out, ncap)) == NULL)
			return CTL_E_NOMEM;
		c->out = n;
		c->out_cap = ncap;
	}
	ctl_wbuf_init(&w, c->out + c->out_len, c->out_cap - c->out_len);
	if ((r = ctl_msg_encode(msg, &w)) != CTL_OK)
		return r;
	c->out_len += w.len;
	r = ctl_conn_flush(c);
	return r < 0 ? r : CTL_OK;
}

int
ctl_conn_send_hello(struct ctl_conn *c, const char *name, uint32_t caps)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_HELLO);
	m.u.hello.caps = caps;
	m.u.hello.role = (uint8_t)c->self;
	ctl_strlcpy(m.u.hello.name, name ? name : "", sizeof(m.u.hello.name));
	c->own_caps = caps;
	c->hello_sent = 1;
	return ctl_conn_send(c, &m);
}

int
ctl_conn_read(struct ctl_conn *c)
{
	ssize_t n;

	if (c->dead)
		return CTL_E_STATE;
	/* Compact once per read, not once per message. */
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_len >= CTL_MSG_MAX)
		return 0;	/* a full frame is waiting for ctl_conn_next */
	for (;;) {
		n = read(c->rfd, c->in + c->in_len, CTL_MSG_MAX - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return CTL_E_SYS;
		if (n == 0)
			return CTL_E_EOF;
		c->in_len += (size_t)n;
		return (int)n;
	}
}

static int
fail(struct ctl_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct ctl_conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	c->dead = 1;
	return err;
}

int
ctl_conn_next(struct ctl_conn *c, struct ctl_msg *out)
{
	uint32_t type, len;
	int r;

	const uint8_t *p = c->in + c->in_off;
	size_t avail = c->in_len - c->in_off;

	if (c->dead)
		return CTL_E_STATE;
	if (avail < CTL_HDR_LEN)
		return 0;
	if ((r = ctl_hdr_parse(p, &type, &len)) != CTL_OK)
		return fail(c, r, "header announces %u bytes (limit %u)", len,
		    (unsigned)CTL_BODY_MAX);
	/* Refuse impossible types before waiting for their body. */
	if (strcmp(ctl_msg_name(type), "?") == 0)
		return fail(c, CTL_E_TYPE, "unknown message type 0x%04x", type);
	if (avail < CTL_HDR_LEN + (size_t)len)
		return 0;
	r = ctl_msg_parse(type, p + CTL_HDR_LEN, len, out);
	c->in_off += CTL_HDR_LEN + len;
	if (r != CTL_OK)
		return fail(c, r, "%s: %s", ctl_msg_name(type),
		    ctl_strerror(r));
	if (!c->ready || (type == CTL_MSG_HELLO && c->rehello)) {
		if (type == CTL_MSG_ERROR)
			return 1;
		if (type != CTL_MSG_HELLO)
			return fail(c, CTL_E_STATE, "%s before HELLO",
			    ctl_msg_name(type));
		if (c->expect_peer != CTL_ROLE_NONE &&
		    out->u.hello.role != c->expect_peer)
			return fail(c, CTL_E_STATE, "peer says it is role %u, "
			    "expected %u", out->u.hello.role, c->expect_peer);
		if (out->u.hello.role == c->self &&
		    c->self != CTL_ROLE_NONE)
			return fail(c, CTL_E_STATE, "peer claims our role");
		c->peer_role = (enum ctl_role)out->u.hello.role;
		c->peer_caps = out->u.hello.caps;
		ctl_strlcpy(c->peer_name, out->u.hello.name,
		    sizeof(c->peer_name));
		c->ready = 1;
		return 1;
	}
	if (type == CTL_MSG_HELLO)
		return fail(c, CTL_E_STATE, "second HELLO");
	if (!ctl_msg_allowed(type, c->peer_role))
		return fail(c, CTL_E_STATE, "%s is not allowed from this peer",
		    ctl_msg_name(type));
	return 1;
}

static int
wait_fd(int fd, short events, long deadline)
{
	struct pollfd p = { fd, events, 0 };
	long left;
	int r;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - (long)chan_now_ms();
		if (deadline >= 0 && left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return CTL_E_SYS;
		if (r == 0)
			return CTL_E_TIMEOUT;
		return CTL_OK;
	}
}

int
ctl_conn_drain(struct ctl_conn *c, int timeout_ms)
{
	long deadline = timeout_ms < 0 ? -1 : (long)chan_now_ms() + timeout_ms;
	int r;

	while ((r = ctl_conn_flush(c)) > 0)
		if ((r = wait_fd(c->wfd, POLLOUT, deadline)) != CTL_OK)
			return r;
	return r;
}

int
ctl_conn_send_wait(struct ctl_conn *c, const struct ctl_msg *msg,
    int timeout_ms)
{
	int r;

	if ((r = ctl_conn_send(c, msg)) != CTL_OK)
		return r;
	return ctl_conn_drain(c, timeout_ms);
}

int
ctl_conn_recv_wait(struct ctl_conn *c, struct ctl_msg *out, int timeout_ms)
{
	long deadline = timeout_ms < 0 ? -1 : (long)chan_now_ms() + timeout_ms;
	int r;

	for (;;) {
		if ((r = ctl_conn_next(c, out)) != 0)
			return r < 0 ? r : CTL_OK;
		if ((r = ctl_conn_read(c)) < 0)
			return r;
		if (r > 0)
			continue;
		if ((r = wait_fd(c->rfd, POLLIN, deadline)) != CTL_OK)
			return r;
	}
}

int
ctl_peer_open(const char *uri, int listen, enum ctl_role self,
    enum ctl_role peer_role, const char *name, uint32_t caps, int timeout_ms,
    struct ctl_conn **out)
{
	struct ctl_conn *c;
	struct ctl_msg m;
	long deadline = timeout_ms < 0 ? -1 : (long)chan_now_ms() + timeout_ms;
	int fd, wfd, r;

	*out = NULL;
	if (listen) {
		int lfd = ctl_chan_listen(uri, 0600);

		if (lfd < 0)
			return lfd;
		if ((r = wait_fd(lfd, POLLIN, deadline)) != CTL_OK) {
			close(lfd);
			return r;
		}
		fd = wfd = ctl_chan_accept(lfd);
		close(lfd);
	} else
		fd = ctl_chan_connect(uri, &wfd);
	if (fd < 0)
		return fd;
	if ((r = ctl_conn_new(fd, wfd, self, peer_role, &c)) != CTL_OK) {
		close(fd);
		if (wfd != fd)
			close(wfd);
		return r;
	}
	if ((r = ctl_conn_send_hello(c, name, caps)) != CTL_OK ||
	    (r = ctl_conn_drain(c, timeout_ms)) < 0)
		goto fail;
	for (;;) {
		long left = deadline < 0 ? -1 : deadline - (long)chan_now_ms();

		if ((r = ctl_conn_recv_wait(c, &m, deadline < 0 ? -1 :
		    (int)(left < 0 ? 0 : left))) != CTL_OK)
			goto fail;
		if (m.type == CTL_MSG_HELLO)
			break;
		if (m.type == CTL_MSG_ERROR) {
			snprintf(c->detail, sizeof(c->detail), "peer: %.150s",
			    m.u.error.text);
			r = CTL_E_STATE;
			goto fail;
		}
	}
	*out = c;
	return CTL_OK;
fail:
	ctl_conn_free(c);
	return r;
}

void
ctl_conn_send_error(struct ctl_conn *c, int code, const char *text)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_ERROR);
	m.u.error.code = code;
	ctl_strlcpy(m.u.error.text, text, sizeof(m.u.error.text));
	ctl_str_scrub(m.u.error.text, CTL_CS_PRINT);
	c->dead = 0;
	if (ctl_conn_send(c, &m) == CTL_OK)
		ctl_conn_drain(c, 100);
	c->dead = 1;
}
