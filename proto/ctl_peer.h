/*
 * ctl_peer.h: one control-protocol connection (framing, hello, direction
 * checks) for usbgated and for its peers: usbgate-backend daemon,
 * usbgate-frontend daemon and the usbgate CLI.
 *
 * Owns the connection's stream (proto/stream.h: the channel end, its input
 * buffer and output queue; at most CTL_SENDQ_MAX bytes are queued). Every
 * message sent is verified and encoded by
 * ctl_msg_encode(); every message received passes ctl_msg_parse() (decode +
 * sanitize) and the direction check before the caller sees it. Any
 * protocol error is final: the caller logs it and frees the connection.
 *
 * Two styles:
 *  - event loops (usbgated): ctl_conn_fd() in poll(), then ctl_conn_read()
 *    and ctl_conn_next() until it returns 0; ctl_conn_send() queues and
 *    writes what it can, ctl_conn_pending() says whether to poll POLLOUT,
 *    ctl_conn_flush() continues;
 *  - simple peers (daemons in VMs, CLI): ctl_peer_open() opens a channel
 *    and exchanges hellos, ctl_conn_send_wait() and ctl_conn_recv_wait()
 *    block with a timeout.
 *
 * Hello: each side sends HELLO first. Until the peer's HELLO arrived only
 * HELLO and ERROR are accepted; the peer's version must be at least
 * CTL_PROTO_VERSION_MIN and its role the expected one (if set).
 */
#ifndef USBGATE_CTL_PEER_H
#define USBGATE_CTL_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_msg.h"

#define CTL_SENDQ_MAX	(4u << 20)	/* a peer that reads nothing is cut */

struct ctl_conn;

/*
 * Wrap descriptors (rfd may equal wfd; both become the connection's and are
 * closed by ctl_conn_free; on failure they stay the caller's). peer_role
 * CTL_ROLE_NONE accepts any role.
 */
int ctl_conn_new(int rfd, int wfd, enum ctl_role self, enum ctl_role peer_role,
    struct ctl_conn **out);

/*
 * Wrap a stream (it becomes the connection's once this succeeds). On a
 * framed stream (STREAM_F_FRAMED) the stream's session framing sees a
 * peer that restarted (new nonce), closed or went silent, which the
 * connection reports as CTL_E_EOF; event loops then also poll no longer
 * than ctl_conn_timeout() and call ctl_conn_tick() each turn.
 */
struct stream;
int ctl_conn_from_stream(struct stream *s, enum ctl_role self,
    enum ctl_role peer_role, struct ctl_conn **out);

/* Framed streams: ms until ctl_conn_tick() is due (-1: never). */
int ctl_conn_timeout(const struct ctl_conn *c);
/* Framed streams: keepalives, handshake retries; CTL_E_EOF if silent. */
int ctl_conn_tick(struct ctl_conn *c);
void ctl_conn_free(struct ctl_conn *c);

int ctl_conn_fd(const struct ctl_conn *c);	/* poll POLLIN on this */
int ctl_conn_wfd(const struct ctl_conn *c);	/* POLLOUT when pending */

/* Queue HELLO (version, caps, self role, name). */
int ctl_conn_send_hello(struct ctl_conn *c, const char *name, uint32_t caps);

/*
 * Accept a HELLO after the first one (the peer restarted on a channel
 * without connection semantics, e.g. a character device). It is checked
 * like the first and returned to the caller, which must start over.
 */
void ctl_conn_allow_rehello(struct ctl_conn *c);

/* 1 once the peer's HELLO arrived. */
int ctl_conn_ready(const struct ctl_conn *c);
enum ctl_role ctl_conn_peer_role(const struct ctl_conn *c);
const char *ctl_conn_peer_name(const struct ctl_conn *c);	/* untrusted */
uint32_t ctl_conn_caps(const struct ctl_conn *c);	/* own & peer's */

/* Verify, encode and queue; then write what the channel takes now. */
int ctl_conn_send(struct ctl_conn *c, const struct ctl_msg *msg);
/* Write queued bytes. Returns bytes still queued (>= 0) or an error. */
int ctl_conn_flush(struct ctl_conn *c);
size_t ctl_conn_pending(const struct ctl_conn *c);

/*
 * Read what is available. Returns bytes read (> 0), 0 if nothing now,
 * CTL_E_EOF or CTL_E_SYS.
 */
int ctl_conn_read(struct ctl_conn *c);

/*
 * Next complete message from the buffer: 1 and *out filled, 0 if more
 * bytes are needed, or a negative enum ctl_error (the connection is then
 * unusable). HELLO is handled here and also returned to the caller.
 */
int ctl_conn_next(struct ctl_conn *c, struct ctl_msg *out);

/* Human detail of the last protocol error ("DEV_ADD: ..."). */
const char *ctl_conn_error_detail(const struct ctl_conn *c);

/* Blocking helpers (timeout_ms < 0: forever). */
int ctl_conn_send_wait(struct ctl_conn *c, const struct ctl_msg *msg,
    int timeout_ms);
int ctl_conn_recv_wait(struct ctl_conn *c, struct ctl_msg *out,
    int timeout_ms);
int ctl_conn_drain(struct ctl_conn *c, int timeout_ms);

/*
 * Open uri (connect, or listen and accept one peer if `listen`), send our
 * HELLO and wait for the peer's. peer_role is the role we expect.
 */
int ctl_peer_open(const char *uri, int listen, enum ctl_role self,
    enum ctl_role peer_role, const char *name, uint32_t caps, int timeout_ms,
    struct ctl_conn **out);

/* Send ERROR(code, text) and flush briefly; for use before closing. */
void ctl_conn_send_error(struct ctl_conn *c, int code, const char *text);

#endif
