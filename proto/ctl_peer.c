/*
 * ctl_peer.c: control messages, hello and direction checks on a struct
 * stream (see ctl_peer.h). The stream does the I/O; a header announcing a
 * body above CTL_BODY_MAX is refused before the body is read, so its input
 * buffer (larger than CTL_MSG_MAX) always holds a complete frame.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_chan.h"
#include "ctl_peer.h"
#include "stream.h"

struct ctl_conn {
	struct stream *s;
	enum ctl_role self, expect_peer, peer_role;
	int hello_sent, ready, dead;
	uint32_t own_caps, peer_caps;
	char peer_name[CTL_NAME_MAX + 1];
	uint8_t *enc;			/* CTL_MSG_MAX: one message encoded */
	char detail[160];
};

/* A stream error as an enum ctl_error. */
static int
ctl_stream_error(int err)
{
	switch (err) {
	case STREAM_E_CLOSED:
		return CTL_E_EOF;
	case STREAM_E_SILENT:
		return CTL_E_TIMEOUT;
	case STREAM_E_FRAMING:
		errno = EPROTO;
		return CTL_E_SYS;
	default:
		return ctl_chan_error(err);
	}
}

int
ctl_conn_from_stream(struct stream *s, enum ctl_role self,
    enum ctl_role peer_role, struct ctl_conn **out)
{
	struct ctl_conn *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CTL_E_NOMEM;
	if ((c->enc = malloc(CTL_MSG_MAX)) == NULL) {
		free(c);
		return CTL_E_NOMEM;
	}
	c->s = s;
	c->self = self;
	c->expect_peer = peer_role;
	*out = c;
	return CTL_OK;
}

int
ctl_conn_new(int rfd, int wfd, enum ctl_role self, enum ctl_role peer_role,
    struct ctl_conn **out)
{
	struct ctl_conn *c;
	int r;

	/* On failure the descriptors stay the caller's. */
	if ((r = ctl_conn_from_stream(NULL, self, peer_role, &c)) != CTL_OK)
		return r;
	if ((r = stream_from_fds(rfd, wfd, &c->s)) != STREAM_OK) {
		ctl_conn_free(c);
		*out = NULL;
		return ctl_stream_error(r);
	}
	*out = c;
	return CTL_OK;
}

void
ctl_conn_free(struct ctl_conn *c)
{
	if (c == NULL)
		return;
	if (c->s != NULL)
		stream_close(c->s);
	free(c->enc);
	free(c);
}

int
ctl_conn_fd(const struct ctl_conn *c)
{
	return stream_rfd(c->s);
}

int
ctl_conn_wfd(const struct ctl_conn *c)
{
	return stream_wfd(c->s);
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
	return stream_pending(c->s);
}

int
ctl_conn_flush(struct ctl_conn *c)
{
	ssize_t n = stream_flush(c->s);

	if (n < 0) {
		c->dead = 1;
		return ctl_stream_error((int)n);
	}
	return n > INT_MAX ? INT_MAX : (int)n;
}

int
ctl_conn_send(struct ctl_conn *c, const struct ctl_msg *msg)
{
	struct ctl_wbuf w;
	int r;

	if (c->dead)
		return CTL_E_STATE;
	if (stream_pending(c->s) > CTL_SENDQ_MAX)
		return CTL_E_NOSPACE;
	ctl_wbuf_init(&w, c->enc, CTL_MSG_MAX);
	if ((r = ctl_msg_encode(msg, &w)) != CTL_OK)
		return r;
	if ((r = stream_write(c->s, c->enc, w.len)) != STREAM_OK)
		return ctl_stream_error(r);
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
	n = stream_fill(c->s);
	if (n < 0)
		return ctl_stream_error((int)n);
	/* no write descriptor (vchan): the peer's read wakes rfd instead */
	if (stream_wfd(c->s) < 0 && stream_pending(c->s) > 0 &&
	    ctl_conn_flush(c) < 0)
		return CTL_E_EOF;
	return (int)n;
}

int
ctl_conn_timeout(const struct ctl_conn *c)
{
	return stream_timeout(c->s);
}

int
ctl_conn_tick(struct ctl_conn *c)
{
	int r = stream_tick(c->s);

	return r < 0 ? ctl_stream_error(r) : CTL_OK;
}

const char *
ctl_conn_end_why(int r)
{
	if (r == CTL_E_EOF)
		return "closed the channel (or restarted)";
	if (r == CTL_E_TIMEOUT)
		return "stopped answering keepalives";
	if (r == CTL_E_SYS && errno == EPROTO)
		return "broke the session framing";
	if (r == CTL_E_SYS)
		return strerror(errno);
	return ctl_strerror(r);
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

	const uint8_t *p = stream_peek(c->s);
	size_t avail = stream_available(c->s);

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
	stream_consume(c->s, CTL_HDR_LEN + len);
	if (r != CTL_OK)
		return fail(c, r, "%s: %s", ctl_msg_name(type),
		    ctl_strerror(r));
	if (!c->ready) {
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

/*
 * Wait for the channel until deadline (-1: none): for writing, or for
 * input. Input that arrives is read into the stream (a framed stream's
 * handshake advances that way); a framed stream's timers run.
 */
static int
conn_wait(struct ctl_conn *c, int for_write, long deadline)
{
	struct pollfd p = { ctl_conn_fd(c), POLLIN, 0 };
	long left;
	int t, r;

	/* Until a framed stream's handshake is done, only input helps. */
	if (for_write && stream_ready(c->s) && ctl_conn_wfd(c) >= 0)
		p = (struct pollfd){ ctl_conn_wfd(c), POLLOUT, 0 };
	for (;;) {
		left = deadline < 0 ? -1 : deadline - mono_ms();
		if (deadline >= 0 && left < 0)
			left = 0;
		t = ctl_conn_timeout(c);
		if (t >= 0 && (left < 0 || t < left))
			left = t;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return CTL_E_SYS;
		if ((r = ctl_conn_tick(c)) != CTL_OK)
			return r;
		if (p.events == POLLIN && p.revents != 0)
			return (r = ctl_conn_read(c)) < 0 ? r : CTL_OK;
		if (p.revents != 0)
			return CTL_OK;
		if (deadline >= 0 && mono_ms() >= deadline)
			return CTL_E_TIMEOUT;
	}
}

int
ctl_conn_drain(struct ctl_conn *c, int timeout_ms)
{
	long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	int r;

	while ((r = ctl_conn_flush(c)) > 0)
		if ((r = conn_wait(c, 1, deadline)) != CTL_OK)
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
	long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	int r;

	for (;;) {
		if ((r = ctl_conn_next(c, out)) != 0)
			return r < 0 ? r : CTL_OK;
		if ((r = ctl_conn_read(c)) < 0)
			return r;
		if (r > 0)
			continue;
		if ((r = conn_wait(c, 0, deadline)) != CTL_OK)
			return r;
	}
}

int
ctl_conn_open(const char *uri, struct chan_end *accepted, enum ctl_role self,
    enum ctl_role peer_role, struct ctl_conn **out)
{
	struct chan_uri u;
	struct chan_end e;
	struct stream *s;
	int r;

	*out = NULL;
	if (ctl_chan_parse(uri, &u) != CTL_OK) {
		if (accepted != NULL)
			chan_end_close(accepted);
		return CTL_E_URI;
	}
	if (accepted != NULL)
		e = *accepted;
	else if ((r = chan_open(&u, 0, &e)) != CHAN_OK)
		return ctl_chan_error(r);
	if ((r = stream_from_end(&e, chan_uri_framed(&u) ? STREAM_F_FRAMED : 0,
	    &s)) != STREAM_OK) {
		chan_end_close(&e);
		return ctl_stream_error(r);
	}
	if ((r = ctl_conn_from_stream(s, self, peer_role, out)) != CTL_OK)
		stream_close(s);
	return r;
}

int
ctl_peer_open(const char *uri, int listen, enum ctl_role self,
    enum ctl_role peer_role, const char *name, uint32_t caps, int timeout_ms,
    struct ctl_conn **out)
{
	struct ctl_conn *c;
	struct ctl_msg m;
	struct chan_uri u;
	struct chan_end e;
	long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	long left;
	int r;

	*out = NULL;
	if (ctl_chan_parse(uri, &u) != CTL_OK)
		return CTL_E_URI;
	if (listen) {
		int lfd = chan_listen(&u, 0600);
		struct pollfd p = { lfd, POLLIN, 0 };

		if (lfd < 0)
			return ctl_chan_error(lfd);
		do {
			left = deadline < 0 ? -1 : deadline - mono_ms();
			r = poll(&p, 1, deadline < 0 ? -1 :
			    (int)(left < 0 ? 0 : left));
		} while (r < 0 && errno == EINTR);
		r = r < 0 ? CTL_E_SYS : r == 0 ? CTL_E_TIMEOUT :
		    ctl_chan_error(chan_accept(lfd, &e));
		close(lfd);
		if (r != CTL_OK)
			return r;
	}
	if ((r = ctl_conn_open(uri, listen ? &e : NULL, self, peer_role,
	    &c)) != CTL_OK)
		return r;
	if ((r = ctl_conn_send_hello(c, name, caps)) != CTL_OK ||
	    (r = ctl_conn_drain(c, timeout_ms)) < 0)
		goto fail;
	for (;;) {
		left = deadline < 0 ? -1 : deadline - mono_ms();
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
