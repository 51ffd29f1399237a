/*
 * stream_private.h: the inside of a stream, shared by stream.c (descriptors,
 * buffers, queue) and stream_frame.c (session framing on char devices).
 * Not for use outside proto/.
 */
#ifndef USBGATE_STREAM_PRIVATE_H
#define USBGATE_STREAM_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "stream.h"

#define STREAM_IN_CAP		(512 * 1024)
#define STREAM_IN_MIN_TAIL	(64 * 1024)
#define STREAM_CHUNK		(64 * 1024)
#define STREAM_COPY_MAX		(16 * 1024)	/* larger copies get their own segment */
#define STREAM_DEFAULT_HIGHWATER (4 * 1024 * 1024)
#define STREAM_IOV_MAX		64
#define STREAM_FILL_MAX		(256 * 1024)	/* per call, to stay fair */
#define STREAM_GATHER		(32 * 1024)	/* a virtio-serial write's limit */
#define STREAM_DIRECT_MIN	4096		/* read_direct: bypass the buffer */

struct seg {
	uint8_t *buf;
	size_t len;		/* bytes valid in buf */
	size_t off;		/* bytes already written */
	size_t cap;		/* copy chunks: capacity, else 0 */
	stream_free_fn free_fn;	/* NULL: buf is ours, free() it */
	void *ctx;
};

struct stream_frame;

struct stream {
	int rfd, wfd;
	int failed;
	int is_socket;
	int is_tcp;		/* re-arm TCP_QUICKACK after reads */
	const struct chan_io *io;	/* not a descriptor (vchan), see chan.h */
	void *io_h;
	uint8_t *in;
	size_t in_cap;
	size_t in_r, in_w;

	struct seg *q;		/* ring of segments */
	size_t q_cap, q_head, q_len;
	size_t pending;
	size_t highwater;

	uint8_t *stage;			/* gather buffer for char devices */

	int framed;			/* session framing (stream_frame.c) */
	struct stream_frame *fr;
};


void seg_release(struct seg *g);
ssize_t stream_raw_read(struct stream *s, uint8_t *buf, size_t room);
ssize_t stream_raw_writev(struct stream *s, const struct iovec *iov,
    size_t cnt);
size_t stream_queue_iov(struct stream *s, struct iovec *iov, size_t first,
    size_t limit);
void stream_queue_advance(struct stream *s, size_t n);
void stream_in_compact(struct stream *s);

/* stream_frame.c */
int stream_frame_init(struct stream *s);
void stream_frame_free(struct stream *s);
ssize_t stream_frame_fill(struct stream *s);
ssize_t stream_frame_read_direct(struct stream *s, uint8_t *buf, size_t len);
ssize_t stream_frame_flush(struct stream *s);
size_t stream_frame_pending(const struct stream *s);
void stream_frame_close(struct stream *s);
int stream_frame_timeout(const struct stream *s);
int stream_frame_tick(struct stream *s);
int stream_frame_ready(const struct stream *s);

#endif
