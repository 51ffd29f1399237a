/*
 * stream_frame.c: session framing for channels without end-of-stream
 * (character devices such as virtio-serial ports), see stream.h.
 *
 * Owns the frame codec, the HELLO/READY handshake that drops bytes of an
 * earlier session, keepalives and silence detection, and the frame
 * boundaries of the output (control frames go out only between DATA
 * frames). Frames: "UGF1", u8 type, 3 zero bytes, u32 LE length, payload.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "stream.h"
#include "stream_private.h"

#define FR_HDR		12
#define FR_DATA_MAX	(1024 * 1024)
#define FR_RAW_CAP	(256 * 1024)
#define FR_HELLO_MS	200
#define FR_CTL_CAP	256

enum fr_type {
	FR_HELLO = 1,	/* payload: u64 nonce of the sender's session */
	FR_READY = 2,	/* payload: u64 nonce being acknowledged */
	FR_DATA = 3,	/* payload: stream bytes */
	FR_PING = 4,
	FR_CLOSE = 5,
};

static const uint8_t fr_magic[4] = { 'U', 'G', 'F', '1' };

struct stream_frame {
	uint64_t nonce_self, nonce_peer;
	int have_peer;		/* a HELLO seen and answered with READY */
	int ready_rx;		/* READY(nonce_self) seen: the peer is current */
	int peer_closed;	/* CLOSE or a restarted peer: end of stream */
	int error;		/* sticky STREAM_E_FRAMING */

	uint8_t *raw;		/* bytes read, not yet deframed */
	size_t raw_r, raw_w;
	size_t rx_left;		/* payload bytes of the current DATA frame */
	int rx_accept;		/* the current DATA frame is this session's */

	uint8_t ctl[FR_CTL_CAP];	/* queued whole control frames */
	size_t ctl_len, ctl_off;
	uint8_t hdr[FR_HDR];	/* header of the DATA frame being written */
	size_t hdr_off;		/* == FR_HDR when written (or none) */
	size_t tx_left;		/* payload bytes of that frame still to write */

	uint64_t last_rx_ms, last_tx_ms, last_hello_ms;
	uint64_t ping_ms, silence_ms;
};

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void
put_hdr(uint8_t *p, enum fr_type type, uint32_t len)
{
	memcpy(p, fr_magic, 4);
	p[4] = (uint8_t)type;
	p[5] = p[6] = p[7] = 0;
	p[8] = (uint8_t)len;
	p[9] = (uint8_t)(len >> 8);
	p[10] = (uint8_t)(len >> 16);
	p[11] = (uint8_t)(len >> 24);
}

static void
queue_ctl(struct stream_frame *f, enum fr_type type, const uint64_t *nonce)
{
	size_t need = FR_HDR + (nonce != NULL ? 8 : 0);
	uint8_t *p;
	int i;

	if (f->ctl_len + need > FR_CTL_CAP)
		return;		/* a control frame is already on its way */
	p = f->ctl + f->ctl_len;
	put_hdr(p, type, nonce != NULL ? 8 : 0);
	if (nonce != NULL)
		for (i = 0; i < 8; i++)
			p[FR_HDR + i] = (uint8_t)(*nonce >> (8 * i));
	f->ctl_len += need;
}

int
stream_frame_init(struct stream *s)
{
	struct stream_frame *f;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return STREAM_E_NOMEM;
	f->raw = malloc(FR_RAW_CAP);
	if (f->raw == NULL) {
		free(f);
		return STREAM_E_NOMEM;
	}
	if (getrandom(&f->nonce_self, sizeof(f->nonce_self), 0) !=
	    (ssize_t)sizeof(f->nonce_self))
		f->nonce_self = (uint64_t)mono_ms() ^ ((uint64_t)getpid() << 32);
	f->hdr_off = FR_HDR;
	f->ping_ms = STREAM_PING_MS;
	f->silence_ms = STREAM_SILENCE_MS;
	f->last_rx_ms = f->last_tx_ms = f->last_hello_ms = (uint64_t)mono_ms();
	queue_ctl(f, FR_HELLO, &f->nonce_self);
	s->fr = f;
	s->framed = 1;
	return STREAM_OK;
}

void
stream_frame_free(struct stream *s)
{
	if (s->fr != NULL) {
		free(s->fr->raw);
		free(s->fr);
	}
	s->fr = NULL;
	s->framed = 0;
}

void
stream_set_keepalive(struct stream *s, int ping_ms, int silence_ms)
{
	if (s->fr == NULL)
		return;
	s->fr->ping_ms = (uint64_t)ping_ms;
	s->fr->silence_ms = (uint64_t)silence_ms;
}

int
stream_frame_ready(const struct stream *s)
{
	return s->fr->ready_rx && s->fr->have_peer;
}

size_t
stream_frame_pending(const struct stream *s)
{
	const struct stream_frame *f = s->fr;

	return (f->ctl_len - f->ctl_off) + (FR_HDR - f->hdr_off);
}

/* ---------------------------------------------------------------- input */

/* A header that is not a frame: resync before the handshake, else fail. */
static int
bad_frame(struct stream_frame *f)
{
	if (!f->ready_rx) {
		f->raw_r++;
		return 0;
	}
	f->error = STREAM_E_FRAMING;
	return -1;
}

static void
on_control(struct stream_frame *f, enum fr_type type, const uint8_t *payload)
{
	uint64_t nonce;

	switch (type) {
	case FR_HELLO:
		nonce = le64(payload);
		if (f->ready_rx && f->have_peer && nonce != f->nonce_peer) {
			/* The peer restarted: this session is over. */
			f->peer_closed = 1;
			return;
		}
		/* Before the handshake the newest HELLO is the live peer. */
		f->nonce_peer = nonce;
		f->have_peer = 1;
		queue_ctl(f, FR_READY, &nonce);
		return;
	case FR_READY:
		if (le64(payload) == f->nonce_self)
			f->ready_rx = 1;
		return;
	case FR_CLOSE:
		if (f->ready_rx)
			f->peer_closed = 1;
		return;
	default:
		return;		/* PING: liveness only */
	}
}

/* Move DATA payload from the raw buffer into the input buffer. */
static ssize_t
deframe(struct stream *s)
{
	struct stream_frame *f = s->fr;
	ssize_t added = 0;

	for (;;) {
		size_t avail = f->raw_w - f->raw_r;
		const uint8_t *p = f->raw + f->raw_r;
		enum fr_type type;
		uint32_t len;

		if (f->rx_left > 0) {
			size_t take = avail < f->rx_left ? avail : f->rx_left;

			if (take == 0)
				break;
			if (f->rx_accept) {
				size_t room;

				stream_in_compact(s);
				room = s->in_cap - s->in_w;
				if (room == 0)
					break;	/* the reader must consume first */
				if (take > room)
					take = room;
				memcpy(s->in + s->in_w, p, take);
				s->in_w += take;
				added += (ssize_t)take;
			}
			f->raw_r += take;
			f->rx_left -= take;
			continue;
		}
		if (avail < FR_HDR)
			break;
		if (memcmp(p, fr_magic, 4) != 0 || p[5] || p[6] || p[7]) {
			if (bad_frame(f) < 0)
				break;
			continue;
		}
		type = (enum fr_type)p[4];
		len = le32(p + 8);
		if (((type == FR_HELLO || type == FR_READY) && len != 8) ||
		    ((type == FR_PING || type == FR_CLOSE) && len != 0) ||
		    (type == FR_DATA && (len == 0 || len > FR_DATA_MAX)) ||
		    type < FR_HELLO || type > FR_CLOSE) {
			if (bad_frame(f) < 0)
				break;
			continue;
		}
		if (type == FR_DATA) {
			f->raw_r += FR_HDR;
			f->rx_left = len;
			f->rx_accept = f->ready_rx && !f->peer_closed;
			continue;
		}
		if (avail < FR_HDR + len)
			break;
		if (!f->peer_closed)
			on_control(f, type, p + FR_HDR);
		f->raw_r += FR_HDR + len;
	}
	return added;
}

static ssize_t
frame_fill(struct stream *s, size_t max)
{
	struct stream_frame *f = s->fr;
	ssize_t n, added;
	size_t room;
	int eof = 0;

	if (f->error)
		return f->error;
	if (f->raw_r == f->raw_w)
		f->raw_r = f->raw_w = 0;
	else if (f->raw_r > FR_RAW_CAP / 2) {
		memmove(f->raw, f->raw + f->raw_r, f->raw_w - f->raw_r);
		f->raw_w -= f->raw_r;
		f->raw_r = 0;
	}
	room = FR_RAW_CAP - f->raw_w;
	n = stream_raw_read(s, f->raw + f->raw_w, room < max ? room : max);
	if (n == STREAM_E_EOF)
		eof = 1;
	else if (n < 0)
		return n;
	else if (n > 0) {
		f->raw_w += (size_t)n;
		f->last_rx_ms = (uint64_t)mono_ms();
	}
	added = deframe(s);
	if (f->error)
		return f->error;
	if (added == 0 && (eof || f->peer_closed))
		return STREAM_E_EOF;
	return added;
}

ssize_t
stream_frame_fill(struct stream *s)
{
	return frame_fill(s, FR_RAW_CAP);
}

/* Inside an accepted DATA frame with nothing buffered: straight into buf. */
static ssize_t
payload_direct(struct stream *s, uint8_t *buf, size_t len)
{
	struct stream_frame *f = s->fr;
	ssize_t n;

	if (len > f->rx_left)
		len = f->rx_left;
	n = stream_raw_read(s, buf, len);
	if (n > 0) {
		f->rx_left -= (size_t)n;
		f->last_rx_ms = (uint64_t)mono_ms();
	}
	return n;
}

ssize_t
stream_frame_read_direct(struct stream *s, uint8_t *buf, size_t len)
{
	struct stream_frame *f = s->fr;
	ssize_t n;

	if (f->error)
		return f->error;
	if (len >= STREAM_DIRECT_MIN && f->rx_left > 0 && f->rx_accept &&
	    f->raw_r == f->raw_w)
		return payload_direct(s, buf, len);
	/*
	 * At a frame boundary (or for a small request): read a little into
	 * the raw buffer, so headers and control frames are handled and a
	 * large payload that follows is left for direct reads.
	 */
	n = frame_fill(s, len >= STREAM_DIRECT_MIN ? 4096 : FR_RAW_CAP);
	if (n < 0)
		return n;
	if (s->in_w > s->in_r)
		return (ssize_t)stream_read(s, buf, len);
	if (len >= STREAM_DIRECT_MIN && f->rx_left > 0 && f->rx_accept &&
	    f->raw_r == f->raw_w)
		return payload_direct(s, buf, len);
	return 0;
}

/* ---------------------------------------------------------------- output */

ssize_t
stream_frame_flush(struct stream *s)
{
	struct stream_frame *f = s->fr;
	struct iovec iov[STREAM_IOV_MAX];
	ssize_t n;
	size_t cnt, h;

	for (;;) {
		/* Control frames go out between DATA frames only. */
		if (f->tx_left == 0 && f->hdr_off == FR_HDR &&
		    f->ctl_off < f->ctl_len) {
			iov[0].iov_base = f->ctl + f->ctl_off;
			iov[0].iov_len = f->ctl_len - f->ctl_off;
			n = stream_raw_writev(s, iov, 1);
			if (n < 0)
				return n;
			if (n == 0)
				break;
			f->last_tx_ms = (uint64_t)mono_ms();
			f->ctl_off += (size_t)n;
			if (f->ctl_off == f->ctl_len)
				f->ctl_off = f->ctl_len = 0;
			continue;
		}
		/* Data waits for the handshake. */
		if (!stream_frame_ready(s))
			break;
		if (f->tx_left == 0 && f->hdr_off == FR_HDR) {
			size_t len;

			if (s->pending == 0)
				break;
			len = s->pending < FR_DATA_MAX ? s->pending : FR_DATA_MAX;
			put_hdr(f->hdr, FR_DATA, (uint32_t)len);
			f->hdr_off = 0;
			f->tx_left = len;
		}
		cnt = 0;
		if (f->hdr_off < FR_HDR) {
			iov[0].iov_base = f->hdr + f->hdr_off;
			iov[0].iov_len = FR_HDR - f->hdr_off;
			cnt = 1;
		}
		cnt = stream_queue_iov(s, iov, cnt, f->tx_left);
		n = stream_raw_writev(s, iov, cnt);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		f->last_tx_ms = (uint64_t)mono_ms();
		h = FR_HDR - f->hdr_off;
		if ((size_t)n < h)
			h = (size_t)n;
		f->hdr_off += h;
		n -= (ssize_t)h;
		if (n > 0) {
			stream_queue_advance(s, (size_t)n);
			f->tx_left -= (size_t)n;
		}
	}
	return (ssize_t)(s->pending + stream_frame_pending(s));
}

/* ---------------------------------------------------------------- timers */

int
stream_frame_timeout(const struct stream *s)
{
	const struct stream_frame *f = s->fr;
	uint64_t now = (uint64_t)mono_ms(), due;

	if (f->error || f->peer_closed)
		return 0;
	if (!f->ready_rx)
		due = f->last_hello_ms + FR_HELLO_MS;
	else {
		due = f->last_tx_ms + f->ping_ms;
		if (f->last_rx_ms + f->silence_ms < due)
			due = f->last_rx_ms + f->silence_ms;
	}
	return due <= now ? 0 : (int)(due - now);
}

int
stream_frame_tick(struct stream *s)
{
	struct stream_frame *f = s->fr;
	uint64_t now = (uint64_t)mono_ms();

	if (f->error)
		return f->error;
	if (!f->ready_rx) {
		/* The peer may have missed our HELLO (not there yet). */
		if (now - f->last_hello_ms >= FR_HELLO_MS) {
			queue_ctl(f, FR_HELLO, &f->nonce_self);
			f->last_hello_ms = now;
		}
		return STREAM_OK;
	}
	if (now - f->last_rx_ms >= f->silence_ms)
		return STREAM_E_SILENT;
	if (now - f->last_tx_ms >= f->ping_ms && f->ctl_len == 0) {
		queue_ctl(f, FR_PING, NULL);
		f->last_tx_ms = now;
	}
	return STREAM_OK;
}

void
stream_frame_close(struct stream *s)
{
	struct stream_frame *f = s->fr;
	struct iovec iov;
	uint8_t close_frame[FR_HDR];

	if (f == NULL || !f->ready_rx || f->error)
		return;
	/* Push what is queued, then CLOSE if we are at a frame boundary. */
	stream_frame_flush(s);
	if (f->tx_left != 0 || f->hdr_off != FR_HDR || f->ctl_off != f->ctl_len)
		return;
	put_hdr(close_frame, FR_CLOSE, 0);
	iov.iov_base = close_frame;
	iov.iov_len = sizeof(close_frame);
	stream_raw_writev(s, &iov, 1);
}
