/*
 * session.c: lifecycle and event loop of one imported device (see
 * session.h): the URB pool, completions towards vhci, endpoint wait queues
 * and the poll loop that joins the channel and the vhci socket.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "session.h"
#include "usb_limits.h"

static const char *const fe_errstr[FE_E__COUNT] = {
	"success",
	"protocol violation by the backend",
	"backend closed the channel",
	"channel error",
	"vhci port detached",
	"device disconnected in sys-usb",
	"no vhci port could be attached",
	"out of memory",
	"stopped",
	"backend offered no device in time",
	"interface class not approved by dom0",
};
_Static_assert(sizeof(fe_errstr) / sizeof(fe_errstr[0]) == FE_E__COUNT,
    "fe_errstr matches enum fe_error");

const char *
fe_strerror(int err)
{
	if (err > 0 || -err >= FE_E__COUNT)
		return "unknown frontend error";
	return fe_errstr[-err];
}

void
fe_fail(struct fe_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (s->error != FE_OK)
		return;		/* keep the first reason */
	s->error = err;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- pool */

int
fe_urb_index(const struct fe_session *s, const struct urb *u)
{
	return (int)(u - s->urbs);
}

struct urb *
fe_urb_find(struct fe_session *s, uint32_t seqnum)
{
	int i = s->hash[seqnum & (FE_HASH_SIZE - 1)];

	while (i >= 0) {
		if (s->urbs[i].seqnum == seqnum)
			return &s->urbs[i];
		i = s->urbs[i].hnext;
	}
	return NULL;
}

struct urb *
fe_urb_alloc(struct fe_session *s, uint32_t seqnum)
{
	struct urb *u;
	int i, *slot;

	if (s->nfree == 0 || fe_urb_find(s, seqnum) != NULL)
		return NULL;
	i = s->freelist[--s->nfree];
	u = &s->urbs[i];
	memset(u, 0, sizeof(*u));
	u->seqnum = seqnum;
	u->qnext = -1;
	slot = &s->hash[seqnum & (FE_HASH_SIZE - 1)];
	u->hnext = *slot;
	*slot = i;
	return u;
}

void
fe_urb_release(struct fe_session *s, struct urb *u)
{
	int i = fe_urb_index(s, u), *p;

	for (p = &s->hash[u->seqnum & (FE_HASH_SIZE - 1)]; *p >= 0;
	    p = &s->urbs[*p].hnext) {
		if (*p == i) {
			*p = u->hnext;
			break;
		}
	}
	free(u->iso);
	free(u->iso_data);
	u->iso = NULL;
	u->iso_data = NULL;
	u->kind = URB_FREE;
	s->freelist[s->nfree++] = i;
}

/* ---------------------------------------------------------------- to vhci */

static int32_t
fe_short_check(const struct urb *u, int32_t status, uint32_t len)
{
	/* The real HCD enforces URB_SHORT_NOT_OK; vhci leaves it to us. */
	if (status == 0 && u->in && (u->flags & USBIP_URB_SHORT_NOT_OK) &&
	    len < u->length)
		return -EREMOTEIO;
	return status;
}

static void
fe_lat_record(struct fe_stats *st, uint64_t ns)
{
	uint64_t us = ns / 1000;
	int b = 0;

	/* bucket = 4 * log2(us), interpolated on the top two bits */
	if (us > 0) {
		int hi = 63 - __builtin_clzll(us);
		int frac = hi >= 2 ? (int)((us >> (hi - 2)) & 3) :
		    (int)((us << (2 - hi)) & 3);

		b = hi * 4 + frac + 1;
	}
	if (b >= FE_LAT_BUCKETS)
		b = FE_LAT_BUCKETS - 1;
	st->lat[b]++;
	st->lat_n++;
}

uint64_t
fe_lat_percentile(const struct fe_stats *st, int pct)
{
	uint64_t want, acc = 0;
	int b;

	if (st->lat_n == 0)
		return 0;
	want = (st->lat_n * (uint64_t)pct + 99) / 100;
	for (b = 0; b < FE_LAT_BUCKETS; b++) {
		acc += st->lat[b];
		if (acc >= want)
			break;
	}
	if (b == 0)
		return 0;
	/* upper edge of the bucket */
	b--;
	return (uint64_t)(4 + (b % 4) + 1) << (b / 4) >> 2;
}

static void
fe_finish(struct fe_session *s, struct urb *u)
{
	uint32_t unlink = u->unlink_seqnum;

	if (u->submit_ns != 0 && u->kind != URB_INT_IN &&
	    u->kind != URB_ISO_IN && u->kind != URB_ISO_OUT)
		fe_lat_record(&s->stats, mono_ns() - u->submit_ns);

	fe_urb_release(s, u);
	/* The URB completed before the cancel took: unlink finds nothing. */
	if (unlink != 0)
		fe_ret_unlink(s, unlink, 0);
}

/* A cancel that took: the unlink is answered instead of the URB. */
static int
fe_cancelled(struct fe_session *s, struct urb *u, int32_t status)
{
	uint32_t unlink = u->unlink_seqnum;

	if (unlink == 0 || status != -ECONNRESET)
		return 0;
	fe_urb_release(s, u);
	fe_ret_unlink(s, unlink, -ECONNRESET);
	return 1;
}

void
fe_complete(struct fe_session *s, struct urb *u, int32_t status,
    const uint8_t *data, uint32_t len)
{
	uint8_t hdr[USBIP_HDR_LEN];

	if (fe_cancelled(s, u, status))
		return;
	if (!u->in)
		data = NULL;
	status = fe_short_check(u, status, len);
	usbip_encode_ret_submit(hdr, u->seqnum, status, len, 0, 0, 0);
	if (s->kmod)
		fe_kmod_complete(s, u, status, data, len);
	else if (s->vhci != NULL) {
		stream_write(s->vhci, hdr, sizeof(hdr));
		if (data != NULL && len > 0)
			stream_write(s->vhci, data, len);
	}
	if (u->in)
		s->stats.bytes_in += len;
	else
		s->stats.bytes_out += len;
	fe_finish(s, u);
}

static void
free_parser_data(void *ctx, void *buf)
{
	usbredirparser_free_packet_data(ctx, buf);
}

void
fe_complete_owned(struct fe_session *s, struct urb *u, int32_t status,
    uint8_t *data, uint32_t len)
{
	uint8_t hdr[USBIP_HDR_LEN];

	if (fe_cancelled(s, u, status)) {
		usbredirparser_free_packet_data(s->parser, data);
		return;
	}
	status = fe_short_check(u, status, len);
	usbip_encode_ret_submit(hdr, u->seqnum, status, len, 0, 0, 0);
	if (s->kmod)
		fe_kmod_complete(s, u, status, data, len);
	else if (s->vhci != NULL) {
		stream_write(s->vhci, hdr, sizeof(hdr));
		if (data != NULL && len > 0) {
			stream_write_owned(s->vhci, data, len, free_parser_data,
			    s->parser);
			data = NULL;
		}
	}
	if (data != NULL)
		usbredirparser_free_packet_data(s->parser, data);
	s->stats.bytes_in += len;
	fe_finish(s, u);
}

void
fe_complete_iso(struct fe_session *s, struct urb *u)
{
	uint8_t hdr[USBIP_HDR_LEN], d[USBIP_ISO_DESC_LEN];
	uint32_t i, errors = 0, total = 0;

	for (i = 0; i < u->npackets; i++) {
		if (u->iso[i].status != 0)
			errors++;
		if (u->in)
			total += u->iso[i].actual_length;
	}
	if (!u->in)
		total = u->length;
	usbip_encode_ret_submit(hdr, u->seqnum, 0, total, 0, u->npackets,
	    errors);
	if (s->kmod)
		fe_kmod_complete_iso(s, u, errors);
	else if (s->vhci != NULL) {
		stream_write(s->vhci, hdr, sizeof(hdr));
		/* IN data goes packed (only actual lengths), then descriptors. */
		if (u->in && u->iso_used > 0)
			stream_write(s->vhci, u->iso_data, u->iso_used);
		for (i = 0; i < u->npackets; i++) {
			usbip_encode_iso_desc(d, &u->iso[i]);
			stream_write(s->vhci, d, sizeof(d));
		}
	}
	if (u->in)
		s->stats.bytes_in += total;
	else
		s->stats.bytes_out += total;
	fe_finish(s, u);
}

void
fe_ret_unlink(struct fe_session *s, uint32_t seqnum, int32_t status)
{
	uint8_t hdr[USBIP_HDR_LEN];

	usbip_encode_ret_unlink(hdr, seqnum, status);
	if (s->vhci != NULL && !s->kmod)	/* usbgate_hcd gave it back */
		stream_write(s->vhci, hdr, sizeof(hdr));
}

int
fe_redir_status_to_errno(uint8_t status)
{
	switch (status) {
	case usb_redir_success:
		return 0;
	case usb_redir_cancelled:
		return -ECONNRESET;
	case usb_redir_inval:
		return -EINVAL;
	case usb_redir_stall:
		return -EPIPE;
	case usb_redir_timeout:
		return -ETIMEDOUT;
	case usb_redir_babble:
		return -EOVERFLOW;
	case usb_redir_ioerror:
	default:
		return -EPROTO;
	}
}

/* ---------------------------------------------------------------- queues */

void
fe_ep_enqueue(struct fe_session *s, struct fe_ep *e, struct urb *u)
{
	int i = fe_urb_index(s, u);

	u->qnext = -1;
	if (e->qtail < 0)
		e->qhead = i;
	else
		s->urbs[e->qtail].qnext = i;
	e->qtail = i;
}

struct urb *
fe_ep_peek(struct fe_session *s, struct fe_ep *e)
{
	return e->qhead < 0 ? NULL : &s->urbs[e->qhead];
}

struct fe_pkt
fe_ep_pop_input(struct fe_session *s, struct fe_ep *e)
{
	struct fe_pkt p = e->pkts[e->pkt_head];

	e->pkt_head = (e->pkt_head + 1) % e->pkt_cap;
	e->pkt_len--;
	e->pkt_bytes -= p.len;
	s->queued_bytes -= p.len;
	return p;
}

void
fe_ep_dequeue_head(struct fe_session *s, struct fe_ep *e)
{
	if (e->qhead < 0)
		return;
	e->qhead = s->urbs[e->qhead].qnext;
	if (e->qhead < 0)
		e->qtail = -1;
}

int
fe_ep_remove(struct fe_session *s, struct fe_ep *e, struct urb *u)
{
	int i = fe_urb_index(s, u), prev = -1, cur;

	for (cur = e->qhead; cur >= 0; prev = cur, cur = s->urbs[cur].qnext) {
		if (cur != i)
			continue;
		if (prev < 0)
			e->qhead = u->qnext;
		else
			s->urbs[prev].qnext = u->qnext;
		if (e->qtail == i)
			e->qtail = prev;
		u->qnext = -1;
		return 1;
	}
	return 0;
}

/* Drop buffered input; complete waiting URBs with status (0: keep them). */
void
fe_ep_reset(struct fe_session *s, struct fe_ep *e, int32_t status)
{
	struct urb *u;

	while (e->pkt_len > 0)
		usbredirparser_free_packet_data(s->parser,
		    fe_ep_pop_input(s, e).data);
	e->started = 0;
	e->bulk_streams = 0;
	if (status == 0)
		return;
	while ((u = fe_ep_peek(s, e)) != NULL) {
		fe_ep_dequeue_head(s, e);
		if (u->kind == URB_ISO_IN || u->kind == URB_ISO_OUT)
			fe_complete_iso(s, u);
		else
			fe_complete(s, u, status, NULL, 0);
	}
}

/* ---------------------------------------------------------------- parser I/O */

static int
parser_read(void *priv, uint8_t *data, int count)
{
	struct fe_session *s = priv;
	ssize_t n;

	/* Payloads go from the channel straight into the parser's buffer. */
	n = stream_read_direct(s->chan, data, (size_t)count);
	if (n < 0) {
		s->chan_err = (int)n;
		return -1;
	}
	s->stats.chan_reads++;
	return (int)n;
}

static void
free_write_buffer(void *ctx, void *buf)
{
	usbredirparser_free_write_buffer(ctx, buf);
}

static int
parser_write(void *priv, uint8_t *data, int count)
{
	struct fe_session *s = priv;

	/* fl_write_cb_owns_buffer: take the whole buffer, no copy. */
	stream_write_owned(s->chan, data, (size_t)count, free_write_buffer,
	    s->parser);
	return count;
}

static void
parser_log(void *priv, int level, const char *msg)
{
	if (level <= usbredirparser_warning)
		log_warnx("usbredir: %s", msg);
	else if (level == usbredirparser_info)
		log_info("usbredir: %s", msg);
	else
		log_debug("usbredir: %s", msg);
}

int
fe_session_new(struct stream *chan, const struct fe_hooks *hooks,
    struct fe_session **out)
{
	struct fe_session *s;
	uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };
	int i;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return FE_E_NOMEM;
	s->chan = chan;
	s->hooks = *hooks;
	for (i = 0; i < FE_HASH_SIZE; i++)
		s->hash[i] = -1;
	for (i = 0; i < FE_MAX_URBS; i++)
		s->freelist[i] = FE_MAX_URBS - 1 - i;
	s->nfree = FE_MAX_URBS;
	for (i = 0; i < USB_EP_SLOTS; i++) {
		s->ep[i].type = (i & 0x0f) == 0 ? usb_redir_type_control :
		    usb_redir_type_invalid;
		s->ep[i].qhead = s->ep[i].qtail = -1;
	}
	s->parser = usbredirparser_create();
	if (s->parser == NULL) {
		free(s);
		return FE_E_NOMEM;
	}
	s->parser->priv = s;
	s->parser->log_func = parser_log;
	s->parser->read_func = parser_read;
	s->parser->write_func = parser_write;
	fe_redir_callbacks(s->parser);

	usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_filter);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_device_disconnect_ack);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
	/* Bulk streams only where the AppVM's host controller has them. */
	if (hooks->kmod)
		usbredirparser_caps_set_cap(caps, usb_redir_cap_bulk_streams);
	usbredirparser_init(s->parser, "usbgate-frontend " PACKAGE_VERSION,
	    caps, USB_REDIR_CAPS_SIZE, usbredirparser_fl_write_cb_owns_buffer);
	*out = s;
	return FE_OK;
}

void
fe_session_free(struct fe_session *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < USB_EP_SLOTS; i++) {
		fe_ep_reset(s, &s->ep[i], 0);
		free(s->ep[i].pkts);
	}
	for (i = 0; i < FE_MAX_URBS; i++) {
		free(s->urbs[i].iso);
		free(s->urbs[i].iso_data);
	}
	/* Streams may still hold parser buffers: close them first. */
	stream_close(s->vhci);
	stream_close(s->chan);
	usbredirparser_destroy(s->parser);
	free(s);
}

/* ---------------------------------------------------------------- loop */

static void
fe_pump_channel(struct fe_session *s)
{
	int rc;

	rc = usbredirparser_do_read(s->parser);
	if (rc == usbredirparser_read_parse_error)
		fe_fail(s, FE_E_PROTO, "malformed usbredir packet from the backend");
	else if (rc < 0 && (s->chan_err == STREAM_E_EOF ||
	    s->chan_err == STREAM_E_SILENT))
		fe_fail(s, FE_E_EOF, "backend closed the channel (%s)",
		    stream_strerror(s->chan_err));
	else if (rc < 0)
		fe_fail(s, FE_E_CHANNEL, "channel read: %s",
		    s->chan_err ? stream_strerror(s->chan_err) : "error");
}

static void
fe_flush(struct fe_session *s)
{
	ssize_t r;

	if (usbredirparser_has_data_to_write(s->parser))
		usbredirparser_do_write(s->parser);
	r = stream_flush(s->chan);
	if (r < 0)
		fe_fail(s, r == STREAM_E_EOF ? FE_E_EOF : FE_E_CHANNEL,
		    "channel write: %s", stream_strerror((int)r));
	if (s->vhci != NULL) {
		r = stream_flush(s->vhci);
		if (r < 0)
			fe_fail(s, FE_E_VHCI, "vhci socket write: %s",
			    stream_strerror((int)r));
	}
}

int
fe_session_run(struct fe_session *s, volatile sig_atomic_t *stop,
    int connect_timeout_ms)
{
	struct pollfd pfd[4];
	uint64_t start = mono_ns();
	int n, timeout, to, chan_eof = 0;
	ssize_t r;

	fe_flush(s);
	while (s->error == FE_OK) {
		int ci = -1, cw = -1, vi = -1, vw = -1;

		if (stop != NULL && *stop) {
			fe_fail(s, FE_E_STOPPED, "stopped by signal");
			break;
		}
		n = 0;
		if (!chan_eof && !(s->vhci != NULL && stream_congested(s->vhci))) {
			pfd[n].fd = stream_rfd(s->chan);
			pfd[n].events = POLLIN;
			ci = n++;
		}
		if (stream_pending(s->chan) > 0) {
			if (ci >= 0 && stream_wfd(s->chan) == pfd[ci].fd) {
				pfd[ci].events |= POLLOUT;
				cw = ci;
			} else {
				pfd[n].fd = stream_wfd(s->chan);
				pfd[n].events = POLLOUT;
				cw = n++;
			}
		}
		if (s->vhci != NULL) {
			/* Back-pressure: no new URBs while the channel is full. */
			pfd[n].fd = stream_rfd(s->vhci);
			pfd[n].events = 0;
			if (!stream_congested(s->chan) && s->nfree > 0)
				pfd[n].events |= POLLIN;
			if (stream_pending(s->vhci) > 0) {
				pfd[n].events |= POLLOUT;
				vw = n;
			}
			vi = n++;
		}
		timeout = fe_iso_out_tick(s);
		if (s->kmod && fe_kmod_backlog(s))
			timeout = 0;	/* buffered records can go now */
		r = stream_tick(s->chan);
		if (r < 0) {
			fe_fail(s, r == STREAM_E_SILENT ? FE_E_EOF : FE_E_CHANNEL,
			    "channel: %s", stream_strerror((int)r));
			break;
		}
		to = stream_timeout(s->chan);
		if (to >= 0 && (timeout < 0 || to < timeout))
			timeout = to;
		if (!s->connected && connect_timeout_ms >= 0) {
			int64_t left = (int64_t)connect_timeout_ms -
			    (int64_t)((mono_ns() - start) / 1000000);

			if (left <= 0) {
				fe_fail(s, FE_E_TIMEOUT,
				    "no device from the backend within %d ms",
				    connect_timeout_ms);
				break;
			}
			if (timeout < 0 || timeout > left)
				timeout = (int)left;
		}
		fe_flush(s);
		if (s->error != FE_OK)
			break;
		s->stats.polls++;
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fe_fail(s, FE_E_CHANNEL, "poll: %s", strerror(errno));
			break;
		}
		if (ci >= 0 && (pfd[ci].revents & (POLLIN | POLLHUP | POLLERR))) {
			fe_pump_channel(s);
			if (s->chan_err != 0)
				chan_eof = 1;
		}
		if (vi >= 0 && s->kmod) {
			if (fe_kmod_rx(s, pfd[vi].revents &
			    (POLLIN | POLLHUP | POLLERR)) < 0)
				break;
		} else if (vi >= 0 &&
		    (pfd[vi].revents & (POLLIN | POLLHUP | POLLERR))) {
			r = stream_fill(s->vhci);
			if (r < 0) {
				fe_fail(s, FE_E_VHCI, "vhci closed the socket "
				    "(port detached)");
				break;
			}
			fe_vhci_rx(s);
		}
		(void)cw;
		(void)vw;
	}
	fe_flush(s);
	return s->error;
}
