/*
 * tests/tools/hostileguest.c: tb-hostile-guest, an AppVM that turns against
 * the backend. It opens a channel like usbgate-frontend (same URIs, same
 * framing on dev:), says a proper usbredir hello with libusbredirparser,
 * waits for the device, then sends malformed usbredir packets and reports
 * whether the backend hung up.
 *
 * Usage: tb-hostile-guest URI MODE [SEED]
 *   MODE badtype   a packet of an unknown type
 *        lying     a bulk OUT packet whose data is shorter than it claims
 *        huge      a header announcing a 2 GiB packet
 *        random    random packets (types, ids, lengths, bytes) from SEED
 * Prints "hung-up" (exit 0) when the backend closes the channel within
 * 30 s, "still-open" (exit 1) otherwise.
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <usbredirparser.h>

#include "stream.h"

static struct stream *chan;
static struct usbredirparser *parser;
static int connected, eof;

static int
g_read(void *priv, uint8_t *data, int count)
{
	ssize_t n = stream_read_direct(chan, data, (size_t)count);

	if (n < 0) {
		eof = 1;
		return -1;
	}
	return (int)n;
}

static int
g_write(void *priv, uint8_t *data, int count)
{
	return stream_write(chan, data, (size_t)count) == STREAM_OK ? count : -1;
}

static void
g_log(void *priv, int level, const char *msg)
{
}

static void
g_connect(void *priv, struct usb_redir_device_connect_header *h)
{
	connected = 1;
}

static void
g_ignore_iface(void *priv, struct usb_redir_interface_info_header *h)
{
}

static void
g_ignore_ep(void *priv, struct usb_redir_ep_info_header *h)
{
}

static void
g_ignore_disc(void *priv)
{
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* One raw packet: header {type, length, id(64)} then body. */
static void
raw_packet(uint32_t type, uint32_t length, uint64_t id, const uint8_t *body,
    size_t blen)
{
	uint8_t h[16];

	put32(h, type);
	put32(h + 4, length);
	put32(h + 8, (uint32_t)id);
	put32(h + 12, (uint32_t)(id >> 32));
	stream_write(chan, h, sizeof(h));
	if (blen > 0)
		stream_write(chan, body, blen);
}

/* Run I/O for ms milliseconds or until the backend hangs up. */
static void
spin(int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { stream_rfd(chan), POLLIN, 0 };
		int to;

		if (stream_tick(chan) < 0 || stream_flush(chan) < 0) {
			eof = 1;
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		to = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (to <= 0 || eof)
			return;
		if (poll(&p, 1, to < 100 ? to : 100) > 0) {
			usbredirparser_do_read(parser);
			if (usbredirparser_has_data_to_write(parser))
				usbredirparser_do_write(parser);
		}
		if (eof || (connected && ms < 0))
			return;
	}
}

int
main(int argc, char **argv)
{
	uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };
	unsigned int seed;
	uint8_t body[4096];
	int rc, i;

	if (argc < 3) {
		fprintf(stderr, "usage: tb-hostile-guest URI badtype|lying|huge|random [SEED]\n");
		return 2;
	}
	seed = argc > 3 ? (unsigned int)strtoul(argv[3], NULL, 0) : 1;
	rc = stream_open(argv[1], 0, &chan);
	if (rc < 0) {
		fprintf(stderr, "tb-hostile-guest: %s: %s\n", argv[1], stream_strerror(rc));
		return 2;
	}
	parser = usbredirparser_create();
	parser->read_func = g_read;
	parser->write_func = g_write;
	parser->log_func = g_log;
	parser->device_connect_func = g_connect;
	parser->interface_info_func = g_ignore_iface;
	parser->ep_info_func = g_ignore_ep;
	parser->device_disconnect_func = g_ignore_disc;
	usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
	usbredirparser_init(parser, "tb-hostile-guest", caps, USB_REDIR_CAPS_SIZE, 0);
	usbredirparser_do_write(parser);
	for (i = 0; i < 300 && !connected && !eof; i++)
		spin(100);
	if (!connected) {
		fprintf(stderr, "tb-hostile-guest: no device offered\n");
		return 2;
	}
	memset(body, 0x41, sizeof(body));
	if (strcmp(argv[2], "badtype") == 0)
		raw_packet(12345, 0, 7, NULL, 0);
	else if (strcmp(argv[2], "lying") == 0) {
		/* bulk OUT header: ep 0x02, claims 3000 bytes, carries 10 */
		uint8_t hdr[10] = { 0x02, 0, 0xb8, 0x0b, 0, 0, 0, 0, 0, 0 };

		memcpy(body, hdr, sizeof(hdr));
		raw_packet(usb_redir_bulk_packet, 20, 9, body, 20);
	} else if (strcmp(argv[2], "huge") == 0)
		raw_packet(usb_redir_bulk_packet, 0x7fffffffu, 11, body, 64);
	else if (strcmp(argv[2], "random") == 0) {
		for (i = 0; i < 200 && !eof; i++) {
			static const uint32_t types[] = { 0, 3, 6, 9, 12, 15, 18,
			    21, 22, 23, 25, 100, 101, 102, 103, 104, 7777 };
			uint32_t t = types[rand_r(&seed) % (sizeof(types) / sizeof(types[0]))];
			size_t len = (size_t)(rand_r(&seed) % 64), k;

			for (k = 0; k < len; k++)
				body[k] = (uint8_t)rand_r(&seed);
			raw_packet(t, (uint32_t)len, (uint64_t)rand_r(&seed), body, len);
			spin(5);
		}
	} else {
		fprintf(stderr, "tb-hostile-guest: unknown mode %s\n", argv[2]);
		return 2;
	}
	spin(30000);
	printf("%s\n", eof ? "hung-up" : "still-open");
	return eof ? 0 : 1;
}
