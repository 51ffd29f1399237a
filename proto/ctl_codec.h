/*
 * ctl_codec.h: the byte-level codec of the usbgate control protocol.
 *
 * Owns: the frame header layout ({u32 type; u32 len}, little-endian), the
 * size limits, the error enum, a bounds-checked read cursor, a fixed-capacity
 * write buffer, and the character classes of every string that crosses a
 * VM boundary (the rules are ident.h's). No I/O, no allocation: callers
 * pass the buffers.
 *
 * Strings travel as {u16 length; bytes}, without a terminating NUL. The
 * decoder copies them into fixed arrays after checking the length against
 * the field's cap (never sizing anything from the peer's number) and
 * rejecting embedded NULs; the character class is checked afterwards by the
 * message verifier (see ctl_msg.h), so that the decoded-but-unchecked value
 * can be named untrusted_ until then.
 *
 * The cursor and the write buffer have a sticky error: once a get or put
 * fails, later calls fail with the same error and change nothing, so a
 * decoder may read every field and check once with ctl_cur_end().
 */
#ifndef USBGATE_CTL_CODEC_H
#define USBGATE_CTL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "ident.h"

#define CTL_PROTO_VERSION	3	/* this implementation */
#define CTL_PROTO_VERSION_MIN	3	/* oldest peer we talk to */

#define CTL_HDR_LEN		8
#define CTL_MSG_MAX		65536	/* header + body, a vchan ring */
#define CTL_BODY_MAX		(CTL_MSG_MAX - CTL_HDR_LEN)

enum ctl_error {
	CTL_OK = 0,
	CTL_E_TRUNC = -1,	/* message ends inside a field */
	CTL_E_NOSPACE = -2,	/* encoder buffer too small */
	CTL_E_STRLEN = -3,	/* string longer than its field's cap */
	CTL_E_CHARSET = -4,	/* disallowed character or embedded NUL */
	CTL_E_TRAILING = -5,	/* bytes left after the last field */
	CTL_E_TYPE = -6,	/* unknown message type */
	CTL_E_MSGLEN = -7,	/* header length above CTL_BODY_MAX */
	CTL_E_RANGE = -8,	/* field value outside its domain */
	CTL_E_VERSION = -9,	/* peer speaks no version we know */
	CTL_E_NOMEM = -10,
	CTL_E_SYS = -11,	/* system call failed, see errno */
	CTL_E_EOF = -12,	/* peer closed the channel */
	CTL_E_URI = -13,	/* malformed or unsupported channel URI */
	CTL_E_TIMEOUT = -14,
	CTL_E_STATE = -15,	/* message not allowed from this peer now */
};
#define CTL_E__COUNT	16

/* Name of an enum ctl_error value ("truncated message", ...). */
const char *ctl_strerror(int err);

/* Read cursor over one message body. The buffer is borrowed. */
struct ctl_cur {
	const uint8_t *p;
	const uint8_t *end;
	int err;
};

void ctl_cur_init(struct ctl_cur *c, const void *buf, size_t len);
size_t ctl_cur_left(const struct ctl_cur *c);
int ctl_get_u8(struct ctl_cur *c, uint8_t *v);
int ctl_get_u16(struct ctl_cur *c, uint16_t *v);
int ctl_get_u32(struct ctl_cur *c, uint32_t *v);
int ctl_get_u64(struct ctl_cur *c, uint64_t *v);
int ctl_get_i32(struct ctl_cur *c, int32_t *v);
int ctl_get_bytes(struct ctl_cur *c, void *dst, size_t n);
/* Take the next n bytes as a cursor of their own (empty on failure). */
int ctl_get_sub(struct ctl_cur *c, struct ctl_cur *sub, size_t n);
/*
 * Read a length-prefixed string into dst (dstsize bytes, NUL-terminated on
 * success, empty on failure). Fails with CTL_E_STRLEN if the length exceeds
 * cap or does not fit dst, CTL_E_CHARSET on an embedded NUL.
 */
int ctl_get_str(struct ctl_cur *c, char *dst, size_t dstsize, size_t cap);
/* The cursor's error, or CTL_E_TRAILING if bytes are left. */
int ctl_cur_end(const struct ctl_cur *c);

/* Write buffer with a fixed capacity. The storage is borrowed. */
struct ctl_wbuf {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t frame;		/* offset of the open frame's header */
	int err;
};

void ctl_wbuf_init(struct ctl_wbuf *w, void *buf, size_t cap);
int ctl_put_u8(struct ctl_wbuf *w, uint8_t v);
int ctl_put_u16(struct ctl_wbuf *w, uint16_t v);
int ctl_put_u32(struct ctl_wbuf *w, uint32_t v);
int ctl_put_u64(struct ctl_wbuf *w, uint64_t v);
int ctl_put_i32(struct ctl_wbuf *w, int32_t v);
int ctl_put_bytes(struct ctl_wbuf *w, const void *src, size_t n);
/* Fails with CTL_E_STRLEN if strlen(s) > cap. */
int ctl_put_str(struct ctl_wbuf *w, const char *s, size_t cap);
/* Start a frame (writes the header with a zero length) / patch its length. */
int ctl_frame_begin(struct ctl_wbuf *w, uint32_t type);
int ctl_frame_end(struct ctl_wbuf *w);

/* Parse a frame header. Fails with CTL_E_MSGLEN if len > CTL_BODY_MAX. */
int ctl_hdr_parse(const uint8_t hdr[CTL_HDR_LEN], uint32_t *type,
    uint32_t *len);

/*
 * Character classes. Every string field of every message has one; the
 * verifier rejects a string with a character outside it. They are the
 * identity rules of ident.h under the protocol's names, so that the
 * codec, the daemons and the policy accept the same names.
 */
enum ctl_charset {
	CTL_CS_NAME = IDENT_CS_NAME,	/* VM/backend name */
	CTL_CS_BUSID = IDENT_CS_BUSID,	/* USB port: BUS-PORT[.PORT]... */
	CTL_CS_PRINT = IDENT_CS_PRINT,	/* printable ASCII 0x20..0x7e */
	CTL_CS_TOKEN = IDENT_CS_TOKEN,	/* the same without space */
	CTL_CS_KEY = IDENT_CS_KEY,	/* [a-z0-9_-] */
};

/* 1 if s is a non-empty member of the class (BUSID/NAME check structure). */
int ctl_str_valid(const char *s, enum ctl_charset cs);
/* Same, but the empty string is accepted too. */
int ctl_str_valid_or_empty(const char *s, enum ctl_charset cs);
/*
 * Replace every character outside cs (PRINT, TOKEN or KEY only) with '_'.
 * For senders that relay device strings: a device's own strings are
 * arbitrary bytes, the protocol carries only printable ASCII.
 */
void ctl_str_scrub(char *s, enum ctl_charset cs);

#endif
