/*
 * fuzz_iface_filter.c: the refused-interface filter of the backend
 * (backend/iface_filter.h) against a hostile AppVM, with a bypass oracle.
 *
 * Input: struct fuzz_dev (fuzz.h): refused interfaces, active
 * configuration, host capabilities, descriptors, then the AppVM's bytes.
 *
 * The filter sits where it sits in the backend: between the channel and
 * the parser of usbredirhost, here a real libusbredirparser in the host
 * role whose hello goes through iff_host_packet(). The oracle sees what
 * that parser hands to usbredirhost and checks it against what it works
 * out by itself from the original descriptors: no request for a refused
 * interface, for an endpoint of one (in the active configuration), for
 * the configuration descriptor, or for another configuration, ever gets
 * there.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <usbredirparser.h>

#include "fuzz.h"
#include "iface_filter.h"

static struct {
	struct iff_set refused;
	uint8_t ep_refused[256];	/* by address & 0x8f */
	uint8_t active;
	struct iff *f;
	struct stream *chan;
	struct usbredirparser *p;
	int proto_error;
} O;

/* The oracle's own reading of the descriptors: endpoints belong to the
 * interface descriptor before them; an association ends an interface. */
static void
oracle_walk(const uint8_t *d, size_t len)
{
	size_t off, total, end, dl;
	int iface = -1, i, n;

	if (len < 18)
		return;
	n = d[17] < IFF_MAX_CONFIGS ? d[17] : IFF_MAX_CONFIGS;
	for (off = d[0], i = 0; i < n && off + 9 <= len; i++, off += total) {
		total = (size_t)(d[off + 2] | d[off + 3] << 8);
		if (total > len - off)
			return;
		if (d[off + 5] != O.active)
			continue;
		for (end = off + total, off += d[off]; off + 2 <= end;
		    off += dl) {
			if ((dl = d[off]) < 2 || dl > end - off)
				return;
			if (d[off + 1] == 0x04 && dl >= 9)
				iface = d[off + 2];
			else if (d[off + 1] == 0x0b)
				iface = -1;
			else if (d[off + 1] == 0x05 && dl >= 7 && iface >= 0 &&
			    iff_set_has(&O.refused, (uint8_t)iface))
				O.ep_refused[d[off + 2] & 0x8f] = 1;
		}
		return;		/* the first one with that value is active */
	}
}

#define EP_OK(ep)	FUZZ_ASSERT(!O.ep_refused[(ep) & 0x8f])
#define IFACE_OK(n)	FUZZ_ASSERT(!iff_set_has(&O.refused, (uint8_t)(n)))

static void
o_control(void *priv, uint64_t id, struct usb_redir_control_packet_header *h,
    uint8_t *data, int len)
{
	int recipient = h->requesttype & 0x1f, dt = h->value >> 8;

	FUZZ_ASSERT(!(h->request == 0x06 && (h->requesttype & 0x80) &&
	    (dt == 0x02 || dt == 0x07)));
	if (recipient == 1)
		IFACE_OK(h->index & 0xff);
	if (recipient == 2)
		EP_OK(h->index & 0xff);
	usbredirparser_free_packet_data(O.p, data);
}

static void
o_set_config(void *priv, uint64_t id,
    struct usb_redir_set_configuration_header *h)
{
	FUZZ_ASSERT(h->configuration == O.active);
}

static void
o_set_alt(void *priv, uint64_t id, struct usb_redir_set_alt_setting_header *h)
{
	IFACE_OK(h->interface);
}

static void
o_get_alt(void *priv, uint64_t id, struct usb_redir_get_alt_setting_header *h)
{
	IFACE_OK(h->interface);
}

static void
o_start_iso(void *priv, uint64_t id,
    struct usb_redir_start_iso_stream_header *h)
{
	EP_OK(h->endpoint);
}

static void
o_stop_iso(void *priv, uint64_t id, struct usb_redir_stop_iso_stream_header *h)
{
	EP_OK(h->endpoint);
}

static void
o_start_int(void *priv, uint64_t id,
    struct usb_redir_start_interrupt_receiving_header *h)
{
	EP_OK(h->endpoint);
}

static void
o_stop_int(void *priv, uint64_t id,
    struct usb_redir_stop_interrupt_receiving_header *h)
{
	EP_OK(h->endpoint);
}

static void
streams_ok(uint32_t mask)
{
	int i;

	for (i = 0; i < 32; i++)
		if (mask & (1u << i))
			EP_OK(((i & 0x10) << 3) | (i & 0x0f));
}

static void
o_alloc_streams(void *priv, uint64_t id,
    struct usb_redir_alloc_bulk_streams_header *h)
{
	streams_ok(h->endpoints);
}

static void
o_free_streams(void *priv, uint64_t id,
    struct usb_redir_free_bulk_streams_header *h)
{
	streams_ok(h->endpoints);
}

static void
o_start_bulk_recv(void *priv, uint64_t id,
    struct usb_redir_start_bulk_receiving_header *h)
{
	EP_OK(h->endpoint);
}

static void
o_stop_bulk_recv(void *priv, uint64_t id,
    struct usb_redir_stop_bulk_receiving_header *h)
{
	EP_OK(h->endpoint);
}

static void
o_bulk(void *priv, uint64_t id, struct usb_redir_bulk_packet_header *h,
    uint8_t *data, int len)
{
	EP_OK(h->endpoint);
	usbredirparser_free_packet_data(O.p, data);
}

static void
o_iso(void *priv, uint64_t id, struct usb_redir_iso_packet_header *h,
    uint8_t *data, int len)
{
	EP_OK(h->endpoint);
	usbredirparser_free_packet_data(O.p, data);
}

static void
o_int(void *priv, uint64_t id, struct usb_redir_interrupt_packet_header *h,
    uint8_t *data, int len)
{
	EP_OK(h->endpoint);
	usbredirparser_free_packet_data(O.p, data);
}

/* Requests that name no interface or endpoint (all of a host's callbacks
 * must be set: the parser calls them unchecked). */
static void
o_plain(void *priv)
{
}

static void
o_id(void *priv, uint64_t id)
{
}

static void
o_filter(void *priv, struct usbredirfilter_rule *rules, int n)
{
	free(rules);
}

static void
o_hello(void *priv, struct usb_redir_hello_header *h)
{
}

/* usbredirhost's read callback, as backend/host_session.c has it. */
static int
o_read(void *priv, uint8_t *data, int count)
{
	int r = iff_guest_read(O.f, O.chan, data, (size_t)count);

	if (r < 0) {
		O.proto_error = 1;
		return -1;
	}
	return r;
}

/* The host's packets go through the filter to the AppVM (dropped here). */
static int
o_write(void *priv, uint8_t *data, int count)
{
	(void)iff_host_packet(O.f, data, (size_t)count);
	return count;
}

static void
o_log(void *priv, int level, const char *msg)
{
}

static struct usbredirparser *
host_parser(uint8_t capbits)
{
	struct usbredirparser *p = usbredirparser_create();
	uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };

	if (p == NULL)
		abort();
	p->log_func = o_log;
	p->read_func = o_read;
	p->write_func = o_write;
	p->control_packet_func = o_control;
	p->set_configuration_func = o_set_config;
	p->set_alt_setting_func = o_set_alt;
	p->get_alt_setting_func = o_get_alt;
	p->start_iso_stream_func = o_start_iso;
	p->stop_iso_stream_func = o_stop_iso;
	p->start_interrupt_receiving_func = o_start_int;
	p->stop_interrupt_receiving_func = o_stop_int;
	p->alloc_bulk_streams_func = o_alloc_streams;
	p->free_bulk_streams_func = o_free_streams;
	p->start_bulk_receiving_func = o_start_bulk_recv;
	p->stop_bulk_receiving_func = o_stop_bulk_recv;
	p->bulk_packet_func = o_bulk;
	p->iso_packet_func = o_iso;
	p->interrupt_packet_func = o_int;
	p->reset_func = o_plain;
	p->get_configuration_func = o_id;
	p->cancel_data_packet_func = o_id;
	p->filter_reject_func = o_plain;
	p->filter_filter_func = o_filter;
	p->device_disconnect_ack_func = o_plain;
	p->hello_func = o_hello;
	usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_filter);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
	if (capbits & 1)
		usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
	if (capbits & 2)
		usbredirparser_caps_set_cap(caps,
		    usb_redir_cap_32bits_bulk_length);
	if (capbits & 4)
		usbredirparser_caps_set_cap(caps, usb_redir_cap_bulk_streams);
	if (capbits & 8)
		usbredirparser_caps_set_cap(caps, usb_redir_cap_bulk_receiving);
	usbredirparser_init(p, "fuzz-host", caps, USB_REDIR_CAPS_SIZE,
	    usbredirparser_fl_usb_host);
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_dev d;
	int fd[2], round, rc = 0, i;
	ssize_t got;

	memset(&O, 0, sizeof(O));
	if (fuzz_dev_parse(data, size, &d) < 0)
		return 0;
	for (i = 0; i < d.n_refused; i++)
		iff_set_add(&O.refused, d.refused[i]);
	O.active = d.active;
	if (iff_new(d.desc, d.desc_len, d.refused, d.n_refused, d.active,
	    &O.f) != IFF_OK)
		return 0;
	oracle_walk(d.desc, d.desc_len);
	fuzz_socketpair(fd);
	if (stream_from_fds(fd[0], fd[0], &O.chan) != STREAM_OK)
		abort();
	O.p = host_parser(d.capbits);
	usbredirparser_do_write(O.p);		/* the hello, to the filter */
	fuzz_write(fd[1], d.guest, d.guest_len);
	shutdown(fd[1], SHUT_WR);
	for (round = 0; round < 64 && rc == 0 && !O.proto_error; round++) {
		got = stream_fill(O.chan);
		rc = usbredirparser_do_read(O.p);
		stream_flush(O.chan);
		fuzz_drain(fd[1]);
		if (got <= 0 && stream_available(O.chan) == 0)
			break;
	}
	usbredirparser_destroy(O.p);
	stream_close(O.chan);
	close(fd[1]);
	iff_free(O.f);
	return 0;
}
