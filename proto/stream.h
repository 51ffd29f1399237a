/*
 * stream.h: one non-blocking byte stream to a peer, chosen by a channel URI.
 *
 * Owns: the channel end once opened (proto/chan.h names and opens the
 * kinds: stdio, fd:, unix:, tcp:, dev:, rawdev:, vchan:), an input buffer
 * (so that a parser that asks for a few bytes at a time does not cost a
 * syscall each time) and an output queue of buffers that are written out
 * in batches with writev(). The output queue has a high-water mark that
 * producers consult for back-pressure. Both planes use it: the data plane
 * for usbredir, ctl_peer for control messages.
 */
#ifndef USBGATE_STREAM_H
#define USBGATE_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"

enum stream_error {
	STREAM_OK = CHAN_OK,
	STREAM_E_URI = CHAN_E_URI,	/* malformed or unknown channel URI */
	STREAM_E_SYS = CHAN_E_SYS,	/* system call failed, see errno */
	STREAM_E_EOF = CHAN_E_EOF,	/* peer closed the channel */
	STREAM_E_NOTSUP = CHAN_E_NOTSUP, /* transport not built in */
	STREAM_E_NOMEM = CHAN_E_NOMEM,
	STREAM_E_CLOSED = -6,	/* stream already failed */
	STREAM_E_FRAMING = -7,	/* the peer broke the session framing */
	STREAM_E_SILENT = -8,	/* the peer stopped answering keepalives */
	STREAM_E__COUNT = 9
};

const char *stream_strerror(int err);

struct stream;

/* Called when the stream is done with a buffer given to stream_write_owned. */
typedef void (*stream_free_fn)(void *ctx, void *buf);

#define STREAM_F_LISTEN	0x1	/* unix:, tcp:, vchan: act as the server */
#define STREAM_F_FRAMED	0x2	/* session framing on any transport */

/*
 * Session framing. A character device such as a virtio-serial port has no
 * end-of-stream: a peer that closes or dies is invisible, and bytes of an
 * earlier session may still be in the pipe when the next one starts. On
 * such channels both ends wrap the byte stream in frames {magic "UGF1",
 * type, length}: a HELLO with a fresh random nonce, answered by READY
 * echoing it, gates the data (bytes from any earlier session are dropped);
 * PING keeps an idle session alive and silence for STREAM_SILENCE_MS ends
 * it; CLOSE (sent by stream_close) is end-of-stream. Users of a framed
 * stream call stream_tick() each loop turn and poll no longer than
 * stream_timeout(). On other streams both are no-ops.
 */
#define STREAM_SILENCE_MS	10000
#define STREAM_PING_MS		1000

/*
 * Open the channel named by uri. For STREAM_F_LISTEN this blocks until one
 * peer connects, except on vchan: there the server exists (its keys are in
 * xenstore) before any client and stream_open returns at once; the client
 * waits up to 10 s for it (proto/chan_vchan.c). vchan:DOMID:PORT
 * names the peer's domain on both ends. Open it in the process that uses
 * it, never before a fork (chan.h). Returns STREAM_OK and *out, or a
 * negative stream_error.
 */
int stream_open(const char *uri, int flags, struct stream **out);

/* Wrap existing descriptors (rfd may equal wfd); the stream owns them. */
int stream_from_fds(int rfd, int wfd, struct stream **out);

/*
 * Wrap an end opened by the channel layer; the stream owns it once this
 * succeeds. STREAM_F_FRAMED turns session framing on.
 */
int stream_from_end(struct chan_end *e, int flags, struct stream **out);

/* Turn session framing on for a fresh stream (before any I/O). */
int stream_set_framed(struct stream *s);

void stream_close(struct stream *s);

/*
 * Descriptors to poll: POLLIN on rfd; POLLOUT on wfd when stream_pending().
 * wfd is -1 for vchan: a read by the peer makes rfd readable instead.
 */
int stream_rfd(const struct stream *s);
int stream_wfd(const struct stream *s);

/*
 * Read what the channel has into the input buffer without blocking.
 * Returns bytes added (>= 0; 0 means nothing available now) or a negative
 * stream_error (STREAM_E_EOF at end of stream).
 */
ssize_t stream_fill(struct stream *s);

/*
 * Make sure the input buffer can hold at least total bytes (a whole PDU that
 * a caller wants to see in one piece). Capped at STREAM_IN_MAX.
 */
#define STREAM_IN_MAX	(20 * 1024 * 1024)
int stream_reserve(struct stream *s, size_t total);

/* Bytes buffered for reading. */
size_t stream_available(const struct stream *s);

/* Copy up to len buffered bytes out. Never touches the descriptor. */
size_t stream_read(struct stream *s, void *buf, size_t len);

/*
 * Read for a parser that asks for exactly what it needs next: buffered bytes
 * first; then a large request (a packet's payload) is read from the channel
 * straight into buf, without passing through the input buffer, and a small
 * one (a header) fills the input buffer first. Returns bytes (0: nothing now)
 * or a negative stream_error (STREAM_E_EOF at the end).
 */
ssize_t stream_read_direct(struct stream *s, void *buf, size_t len);

/* Pointer to buffered bytes (at least stream_available()), and consume. */
const uint8_t *stream_peek(const struct stream *s);
void stream_consume(struct stream *s, size_t len);

/* Queue a copy of buf for writing. */
int stream_write(struct stream *s, const void *buf, size_t len);

/*
 * Queue buf without copying; the stream calls free_fn(ctx, buf) once it has
 * been written or the stream is closed. On failure free_fn is called too.
 */
int stream_write_owned(struct stream *s, void *buf, size_t len,
    stream_free_fn free_fn, void *ctx);

/*
 * Write out as much of the queue as the channel takes now. Returns bytes
 * still queued (>= 0) or a negative stream_error.
 */
ssize_t stream_flush(struct stream *s);

/* Block (poll) until the queue is empty or timeout_ms passes (-1: forever). */
int stream_drain(struct stream *s, int timeout_ms);

/* Bytes queued for writing. */
size_t stream_pending(const struct stream *s);

/* True when the output queue is above its high-water mark. */
int stream_congested(const struct stream *s);
void stream_set_highwater(struct stream *s, size_t bytes);

/* Framed streams: milliseconds until stream_tick() is due, -1 if never. */
int stream_timeout(const struct stream *s);

/*
 * Framed streams: queue keepalives and handshake retries, and detect a
 * silent peer (STREAM_E_SILENT) and one that closed or restarted
 * (STREAM_E_EOF, also when no read follows). Returns STREAM_OK otherwise.
 */
int stream_tick(struct stream *s);

/* Framed streams: change the keepalive period and the silence limit. */
void stream_set_keepalive(struct stream *s, int ping_ms, int silence_ms);

/* 1 once a framed stream's handshake is done (always 1 when unframed). */
int stream_ready(const struct stream *s);

/* Half-close the write side (shutdown(SHUT_WR) for sockets). */
void stream_shutdown_write(struct stream *s);

/*
 * URI parsing: the channel layer's grammar (chan_uri_parse) under the
 * names the data plane has always used.
 */
#define stream_uri		chan_uri
#define stream_kind		chan_kind
#define STREAM_KIND_STDIO	CHAN_STDIO
#define STREAM_KIND_FD		CHAN_FD
#define STREAM_KIND_UNIX	CHAN_UNIX
#define STREAM_KIND_TCP		CHAN_TCP
#define STREAM_KIND_DEV		CHAN_DEV
#define STREAM_KIND_VCHAN	CHAN_VCHAN
#define STREAM_KIND_RAWDEV	CHAN_RAWDEV

int stream_uri_parse(const char *uri, struct stream_uri *out);

#endif
