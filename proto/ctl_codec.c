/*
 * ctl_codec.c: bounds-checked little-endian cursor, write buffer, frame
 * header and character classes of the control protocol (see ctl_codec.h).
 */
#include "config.h"

#include <string.h>

#include "ctl_codec.h"

static const char *const ctl_errstr[CTL_E__COUNT] = {
	[0] = "success",
	[-CTL_E_TRUNC] = "truncated message",
	[-CTL_E_NOSPACE] = "message too large for buffer",
	[-CTL_E_STRLEN] = "string longer than allowed",
	[-CTL_E_CHARSET] = "disallowed character in string",
	[-CTL_E_TRAILING] = "trailing bytes after message",
	[-CTL_E_TYPE] = "unknown message type",
	[-CTL_E_MSGLEN] = "message length out of range",
	[-CTL_E_RANGE] = "field value out of range",
	[-CTL_E_VERSION] = "unsupported protocol version",
	[-CTL_E_NOMEM] = "out of memory",
	[-CTL_E_SYS] = "system error",
	[-CTL_E_EOF] = "peer closed the channel",
	[-CTL_E_URI] = "bad channel URI",
	[-CTL_E_TIMEOUT] = "timed out",
	[-CTL_E_STATE] = "message not allowed in this state",
};
_Static_assert(sizeof(ctl_errstr) / sizeof(ctl_errstr[0]) == CTL_E__COUNT,
    "ctl_errstr must cover enum ctl_error");
_Static_assert(-CTL_E_STATE == CTL_E__COUNT - 1,
    "CTL_E__COUNT must follow the last error");

const char *
ctl_strerror(int err)
{
	if (err > 0 || -err >= CTL_E__COUNT || ctl_errstr[-err] == NULL)
		return "unknown error";
	return ctl_errstr[-err];
}

void
ctl_cur_init(struct ctl_cur *c, const void *buf, size_t len)
{
	c->p = buf;
	c->end = c->p + len;
	c->err = CTL_OK;
}

size_t
ctl_cur_left(const struct ctl_cur *c)
{
	return (size_t)(c->end - c->p);
}

/* Reserve n bytes: returns the start or NULL (and sets the sticky error). */
static const uint8_t *
cur_take(struct ctl_cur *c, size_t n)
{
	const uint8_t *p;

	if (c->err != CTL_OK)
		return NULL;
	if (ctl_cur_left(c) < n) {
		c->err = CTL_E_TRUNC;
		return NULL;
	}
	p = c->p;
	c->p += n;
	return p;
}

int
ctl_get_u8(struct ctl_cur *c, uint8_t *v)
{
	const uint8_t *p = cur_take(c, 1);

	*v = p ? p[0] : 0;
	return c->err;
}

int
ctl_get_u16(struct ctl_cur *c, uint16_t *v)
{
	const uint8_t *p = cur_take(c, 2);

	*v = p ? (uint16_t)(p[0] | p[1] << 8) : 0;
	return c->err;
}

int
ctl_get_u32(struct ctl_cur *c, uint32_t *v)
{
	const uint8_t *p = cur_take(c, 4);

	*v = p ? ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24) : 0;
	return c->err;
}

int
ctl_get_u64(struct ctl_cur *c, uint64_t *v)
{
	uint32_t lo = 0, hi = 0;

	ctl_get_u32(c, &lo);
	ctl_get_u32(c, &hi);
	*v = c->err == CTL_OK ? ((uint64_t)hi << 32 | lo) : 0;
	return c->err;
}

int
ctl_get_i32(struct ctl_cur *c, int32_t *v)
{
	uint32_t u = 0;

	ctl_get_u32(c, &u);
	memcpy(v, &u, sizeof(*v));
	return c->err;
}

int
ctl_get_bytes(struct ctl_cur *c, void *dst, size_t n)
{
	const uint8_t *p = cur_take(c, n);

	if (p != NULL)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
	return c->err;
}

int
ctl_get_sub(struct ctl_cur *c, struct ctl_cur *sub, size_t n)
{
	static const uint8_t none;
	const uint8_t *p = cur_take(c, n);

	if (p == NULL) {
		ctl_cur_init(sub, &none, 0);
		sub->err = c->err;
	} else
		ctl_cur_init(sub, p, n);
	return c->err;
}

int
ctl_get_str(struct ctl_cur *c, char *dst, size_t dstsize, size_t cap)
{
	uint16_t n = 0;
	const uint8_t *p;

	if (dstsize > 0)
		dst[0] = '\0';
	if (ctl_get_u16(c, &n) != CTL_OK)
		return c->err;
	/* The limit comes from us, never from the peer's length. */
	if (n > cap || (size_t)n >= dstsize) {
		c->err = CTL_E_STRLEN;
		return c->err;
	}
	if ((p = cur_take(c, n)) == NULL)
		return c->err;
	if (memchr(p, '\0', n) != NULL) {
		c->err = CTL_E_CHARSET;
		return c->err;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return CTL_OK;
}

int
ctl_cur_end(const struct ctl_cur *c)
{
	if (c->err != CTL_OK)
		return c->err;
	if (c->p != c->end)
		return CTL_E_TRAILING;
	return CTL_OK;
}

void
ctl_wbuf_init(struct ctl_wbuf *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
	w->frame = 0;
	w->err = CTL_OK;
}

static uint8_t *
wbuf_take(struct ctl_wbuf *w, size_t n)
{
	uint8_t *p;

	if (w->err != CTL_OK)
		return NULL;
	if (w->cap - w->len < n) {
		w->err = CTL_E_NOSPACE;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

static void
le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

int
ctl_put_u8(struct ctl_wbuf *w, uint8_t v)
{
	uint8_t *p = wbuf_take(w, 1);

	if (p != NULL)
		p[0] = v;
	return w->err;
}

int
ctl_put_u16(struct ctl_wbuf *w, uint16_t v)
{
	uint8_t *p = wbuf_take(w, 2);

	if (p != NULL) {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
	}
	return w->err;
}

int
ctl_put_u32(struct ctl_wbuf *w, uint32_t v)
{
	uint8_t *p = wbuf_take(w, 4);

	if (p != NULL)
		le32(p, v);
	return w->err;
}

int
ctl_put_u64(struct ctl_wbuf *w, uint64_t v)
{
	ctl_put_u32(w, (uint32_t)v);
	return ctl_put_u32(w, (uint32_t)(v >> 32));
}

int
ctl_put_i32(struct ctl_wbuf *w, int32_t v)
{
	uint32_t u;

	memcpy(&u, &v, sizeof(u));
	return ctl_put_u32(w, u);
}

int
ctl_put_bytes(struct ctl_wbuf *w, const void *src, size_t n)
{
	uint8_t *p = wbuf_take(w, n);

	if (p != NULL && n > 0)
		memcpy(p, src, n);
	return w->err;
}

int
ctl_put_str(struct ctl_wbuf *w, const char *s, size_t cap)
{
	size_t n = strlen(s);

	if (w->err != CTL_OK)
		return w->err;
	if (n > cap || n > UINT16_MAX) {
		w->err = CTL_E_STRLEN;
		return w->err;
	}
	ctl_put_u16(w, (uint16_t)n);
	return ctl_put_bytes(w, s, n);
}

int
ctl_frame_begin(struct ctl_wbuf *w, uint32_t type)
{
	if (w->err != CTL_OK)
		return w->err;
	w->frame = w->len;
	ctl_put_u32(w, type);
	return ctl_put_u32(w, 0);
}

int
ctl_frame_end(struct ctl_wbuf *w)
{
	size_t body;

	if (w->err != CTL_OK)
		return w->err;
	body = w->len - w->frame - CTL_HDR_LEN;
	if (body > CTL_BODY_MAX) {
		w->err = CTL_E_MSGLEN;
		return w->err;
	}
	le32(w->buf + w->frame + 4, (uint32_t)body);
	return CTL_OK;
}

int
ctl_hdr_parse(const uint8_t hdr[CTL_HDR_LEN], uint32_t *type, uint32_t *len)
{
	struct ctl_cur c;

	ctl_cur_init(&c, hdr, CTL_HDR_LEN);
	ctl_get_u32(&c, type);
	ctl_get_u32(&c, len);
	if (*len > CTL_BODY_MAX)
		return CTL_E_MSGLEN;
	return CTL_OK;
}

int
ctl_str_valid(const char *s, enum ctl_charset cs)
{
	return ident_str_valid(s, (enum ident_charset)cs);
}

int
ctl_str_valid_or_empty(const char *s, enum ctl_charset cs)
{
	return ident_str_valid_or_empty(s, (enum ident_charset)cs);
}

void
ctl_str_scrub(char *s, enum ctl_charset cs)
{
	ident_str_scrub(s, (enum ident_charset)cs);
}
