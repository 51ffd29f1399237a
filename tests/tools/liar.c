/*
 * tests/tools/liar.c: tb-liar, a compromised sys-usb's backend as the AppVM
 * sees it. It sits on the data channel between the real usbgate-backend and
 * the AppVM and passes usbredir packets through, except that it lies about
 * the device's interfaces: every interface of class 08 (mass storage)
 * becomes a boot keyboard (03:01:01) in each configuration descriptor the
 * backend returns, and, with MODE interface-info, in the backend's
 * interface_info too. The device dom0 approved (a storage gadget) is what
 * the backend serves; the AppVM is offered a keyboard.
 *
 * Usage: tb-liar BACKEND-URI APPVM-URI MODE
 *   BACKEND-URI  the channel the backend listens on (connected to, with
 *                retries for 60 s)
 *   APPVM-URI    the channel to the AppVM (opened at once, e.g. dev:)
 *   MODE         descriptors | interface-info
 * Prints how many descriptors and interface lists it rewrote when either
 * side closes; exit 0, or 2 on a usage or channel error.
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <usbredirproto.h>

#include "stream.h"

#define HDR32		12	/* type, length, 32-bit id */
#define HDR64		16
#define CTRL_TH		10	/* usb_redir_control_packet_header */
#define IFINFO_TH	132	/* usb_redir_interface_info_header */

struct dir {
	struct stream *from, *to;
	int hello_seen;
	uint32_t caps0;		/* the sender's first capability word */
};

static struct dir b2a, a2b;	/* backend to AppVM, and back */
static int lie_ifinfo;
static unsigned long lied_desc, lied_ifinfo;

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
make_keyboard(uint8_t *cls, uint8_t *sub, uint8_t *proto)
{
	*cls = 0x03;
	*sub = 0x01;
	*proto = 0x01;
}

/* Every storage interface descriptor in a configuration becomes a keyboard. */
static void
lie_config(uint8_t *d, size_t len)
{
	size_t off;

	for (off = 0; len - off >= 2 && d[off] >= 2 && d[off] <= len - off;
	    off += d[off]) {
		if (d[off] < 9 || d[off + 1] != 0x04 || d[off + 5] != 0x08)
			continue;
		make_keyboard(&d[off + 5], &d[off + 6], &d[off + 7]);
		lied_desc++;
	}
}

static void
lie_interface_info(uint8_t *th)
{
	uint32_t n = le32(th), i;

	for (i = 0; i < n && i < 32; i++)
		if (th[36 + i] == 0x08) {
			make_keyboard(&th[36 + i], &th[68 + i], &th[100 + i]);
			lied_ifinfo++;
		}
}

/* Header length once both hellos are known, 0 before. */
static size_t
hdr_len(void)
{
	uint32_t ids64 = 1u << usb_redir_cap_64bits_ids;

	if (!b2a.hello_seen || !a2b.hello_seen)
		return 0;
	return (b2a.caps0 & a2b.caps0 & ids64) ? HDR64 : HDR32;
}

/* Pass every whole packet buffered on d, lying where d is the backend's. */
static void
relay(struct dir *d)
{
	for (;;) {
		size_t avail = stream_available(d->from), hl, total;
		uint8_t *p;
		uint32_t type, len;

		hl = d->hello_seen ? hdr_len() : HDR32;
		if (hl == 0 || avail < hl)
			return;
		p = (uint8_t *)stream_peek(d->from);
		type = le32(p);
		len = le32(p + 4);
		total = hl + len;
		if (avail < total) {
			if (stream_reserve(d->from, total) < 0) {
				fprintf(stderr, "tb-liar: packet of %zu bytes\n",
				    total);
				exit(2);
			}
			return;
		}
		if (!d->hello_seen) {
			d->hello_seen = 1;	/* version[64], then caps */
			d->caps0 = len >= 68 ? le32(p + hl + 64) : 0;
		} else if (d == &b2a && type == usb_redir_control_packet &&
		    len > CTRL_TH && p[hl + 1] == 6 && p[hl + 5] == 0x02)
			lie_config(p + hl + CTRL_TH, len - CTRL_TH);
		else if (d == &b2a && type == usb_redir_interface_info &&
		    lie_ifinfo && len >= IFINFO_TH)
			lie_interface_info(p + hl);
		stream_write(d->to, p, total);
		stream_consume(d->from, total);
	}
}

int
main(int argc, char **argv)
{
	struct stream *backend = NULL, *appvm;
	int i, rc;

	if (argc != 4 || (strcmp(argv[3], "descriptors") != 0 &&
	    strcmp(argv[3], "interface-info") != 0)) {
		fprintf(stderr, "usage: tb-liar BACKEND-URI APPVM-URI "
		    "descriptors|interface-info\n");
		return 2;
	}
	lie_ifinfo = strcmp(argv[3], "interface-info") == 0;
	if ((rc = stream_open(argv[2], 0, &appvm)) != STREAM_OK) {
		fprintf(stderr, "tb-liar: %s: %s\n", argv[2],
		    stream_strerror(rc));
		return 2;
	}
	for (i = 0; i < 600; i++) {
		if (stream_open(argv[1], 0, &backend) == STREAM_OK)
			break;
		backend = NULL;
		stream_tick(appvm);
		stream_flush(appvm);
		usleep(100000);
	}
	if (backend == NULL) {
		fprintf(stderr, "tb-liar: no backend on %s\n", argv[1]);
		return 2;
	}
	b2a = (struct dir){ .from = backend, .to = appvm };
	a2b = (struct dir){ .from = appvm, .to = backend };
	printf("relaying\n");
	fflush(stdout);
	for (;;) {
		struct pollfd pfd[2] = {
			{ stream_rfd(backend), POLLIN, 0 },
			{ stream_rfd(appvm), POLLIN, 0 },
		};
		int to = stream_timeout(appvm);

		if (stream_pending(backend) > 0)
			pfd[0].events |= POLLOUT;
		if (stream_pending(appvm) > 0)
			pfd[1].events |= POLLOUT;
		if (poll(pfd, 2, to) < 0)
			continue;
		if (stream_fill(backend) < 0 || stream_fill(appvm) < 0 ||
		    stream_tick(appvm) < 0)
			break;
		relay(&a2b);
		relay(&b2a);
		if (stream_flush(backend) < 0 || stream_flush(appvm) < 0)
			break;
	}
	printf("lied: %lu interface descriptors, %lu interface lists\n",
	    lied_desc, lied_ifinfo);
	stream_close(backend);
	stream_close(appvm);
	return 0;
}
