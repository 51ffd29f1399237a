/* tests/tools/bulk.c: tb-bulk, libusb data check and throughput against a SourceSink (pattern=1) gadget. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libusb.h>

#include "stats.h"

#define MAX_QUEUE 64

struct in_state {
	unsigned char *buf[MAX_QUEUE];
	struct libusb_transfer *xfer[MAX_QUEUE];
	size_t len, maxp;
	unsigned long long want, submitted, done;
	unsigned long long cancelled;
	int inflight, error, resubmit;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tb-bulk [-m MIB] [-l LEN] [-q QUEUE] [-S SECONDS] VID:PID|/dev/bus/usb/BBB/DDD\n"
	    "  writes MIB MiB of the SourceSink \"mod 63\" pattern to the bulk OUT endpoint\n"
	    "  (the gadget stalls on a wrong byte), reads MIB MiB from bulk IN with QUEUE\n"
	    "  transfers of LEN bytes in flight, checks every byte, prints MB/s.\n"
	    "  -S: afterwards, for SECONDS keep QUEUE bulk-IN transfers in flight and\n"
	    "  cancel them all every 0.2 s (an unlink stress), then check that the\n"
	    "  device still answers\n");
	exit(2);
}

/*
 * Byte k of a transfer: SourceSink's "mod 63" pattern restarts with every
 * packet (byte i of a request is (i % wMaxPacketSize) % 63).
 */
static unsigned char
pattern_byte(size_t k, size_t maxp)
{
	return (unsigned char)((k % maxp) % 63);
}

/* Unlink stress: completed transfers go straight back until the cancel. */
static void LIBUSB_CALL
stress_done(struct libusb_transfer *t)
{
	struct in_state *s = t->user_data;

	s->inflight--;
	if (t->status == LIBUSB_TRANSFER_CANCELLED) {
		s->cancelled++;
	} else if (t->status != LIBUSB_TRANSFER_COMPLETED) {
		s->error = 1;
	} else if (s->resubmit) {
		if (libusb_submit_transfer(t) == 0)
			s->inflight++;
		else
			s->error = 1;
	}
}

/*
 * Keep QUEUE IN transfers in flight and cancel them all every 200 ms for
 * secs seconds; returns the number of cancelled transfers or -1.
 */
static long
unlink_stress(libusb_context *ctx, struct in_state *s, unsigned long queue, double secs)
{
	double end = tb_now_us() + secs * 1e6;
	struct timeval tv = { 0, 20000 };

	s->cancelled = 0;
	s->error = 0;
	while (tb_now_us() < end) {
		double cancel_at = tb_now_us() + 200000;

		s->resubmit = 1;
		for (unsigned long q = 0; q < queue; q++) {
			s->xfer[q]->callback = stress_done;
			if (libusb_submit_transfer(s->xfer[q]) != 0) {
				fprintf(stderr, "tb-bulk: stress: submit failed (device gone?)\n");
				return -1;
			}
			s->inflight++;
		}
		while (tb_now_us() < cancel_at && !s->error)
			libusb_handle_events_timeout(ctx, &tv);
		s->resubmit = 0;
		for (unsigned long q = 0; q < queue; q++)
			libusb_cancel_transfer(s->xfer[q]);
		for (int i = 0; s->inflight > 0; i++) {
			if (i > 250) {
				fprintf(stderr, "tb-bulk: stress: %d transfers never completed after "
				    "cancel (5 s)\n", s->inflight);
				return -1;
			}
			libusb_handle_events_timeout(ctx, &tv);
		}
		if (s->error) {
			fprintf(stderr, "tb-bulk: stress: a transfer failed\n");
			return -1;
		}
	}
	return (long)s->cancelled;
}

/* Open the device at /dev/bus/usb/BBB/DDD (there may be two with one id). */
static libusb_device_handle *
open_by_path(libusb_context *ctx, const char *path)
{
	libusb_device **list;
	libusb_device_handle *h = NULL;
	unsigned bus, addr;
	ssize_t n;

	if (sscanf(path, "/dev/bus/usb/%u/%u", &bus, &addr) != 2)
		return NULL;
	if ((n = libusb_get_device_list(ctx, &list)) < 0)
		return NULL;
	for (ssize_t i = 0; i < n; i++) {
		if (libusb_get_bus_number(list[i]) == bus && libusb_get_device_address(list[i]) == addr) {
			if (libusb_open(list[i], &h) != 0)
				h = NULL;
			break;
		}
	}
	libusb_free_device_list(list, 1);
	return h;
}

static void LIBUSB_CALL
in_done(struct libusb_transfer *t)
{
	struct in_state *s = t->user_data;

	s->inflight--;
	if (t->status != LIBUSB_TRANSFER_COMPLETED) {
		fprintf(stderr, "tb-bulk: IN transfer status %d\n", t->status);
		s->error = 1;
		return;
	}
	for (int k = 0; k < t->actual_length; k++) {
		if (t->buffer[k] != pattern_byte((size_t)k, s->maxp)) {
			fprintf(stderr, "tb-bulk: IN byte %d of a transfer is 0x%02x, want 0x%02x\n",
			    k, t->buffer[k], pattern_byte((size_t)k, s->maxp));
			s->error = 1;
			return;
		}
	}
	s->done += (unsigned long long)t->actual_length;
	if (s->submitted < s->want && !s->error) {
		s->submitted += s->len;
		if (libusb_submit_transfer(t) == 0)
			s->inflight++;
		else
			s->error = 1;
	}
}

int
main(int argc, char **argv)
{
	unsigned long mib = 16, queue = 16, len = 65536;
	double stress = 0;
	size_t maxp_in = 0, maxp_out = 0;
	unsigned vid, pid;
	int c, r, ep_in = -1, ep_out = -1, xferred;
	libusb_context *ctx;
	libusb_device_handle *h;
	struct libusb_config_descriptor *cfg;
	struct in_state s;
	unsigned char *obuf;
	double t0, out_mbs, in_mbs;

	while ((c = getopt(argc, argv, "m:l:q:S:")) != -1) {
		switch (c) {
		case 'm': mib = strtoul(optarg, NULL, 0); break;
		case 'l': len = strtoul(optarg, NULL, 0); break;
		case 'q': queue = strtoul(optarg, NULL, 0); break;
		case 'S': stress = atof(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || queue == 0 || queue > MAX_QUEUE || len == 0 ||
	    len % 1024 != 0 || mib == 0)
		usage();
	if ((r = libusb_init(&ctx)) != 0) {
		fprintf(stderr, "tb-bulk: libusb_init: %s\n", libusb_strerror(r));
		return 1;
	}
	if (strncmp(argv[optind], "/dev/", 5) == 0)
		h = open_by_path(ctx, argv[optind]);
	else if (sscanf(argv[optind], "%x:%x", &vid, &pid) == 2)
		h = libusb_open_device_with_vid_pid(ctx, (uint16_t)vid, (uint16_t)pid);
	else
		usage();
	if (h == NULL) {
		fprintf(stderr, "tb-bulk: no device %s (or no access)\n", argv[optind]);
		return 1;
	}
	libusb_set_auto_detach_kernel_driver(h, 1);
	if ((r = libusb_claim_interface(h, 0)) != 0) {
		fprintf(stderr, "tb-bulk: claim interface 0: %s\n", libusb_strerror(r));
		return 1;
	}
	if ((r = libusb_get_active_config_descriptor(libusb_get_device(h), &cfg)) != 0) {
		fprintf(stderr, "tb-bulk: config descriptor: %s\n", libusb_strerror(r));
		return 1;
	}
	for (int e = 0; e < cfg->interface[0].altsetting[0].bNumEndpoints; e++) {
		const struct libusb_endpoint_descriptor *ep = &cfg->interface[0].altsetting[0].endpoint[e];

		if ((ep->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK)
			continue;
		if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) {
			ep_in = ep->bEndpointAddress;
			maxp_in = ep->wMaxPacketSize & 0x7ff;
		} else {
			ep_out = ep->bEndpointAddress;
			maxp_out = ep->wMaxPacketSize & 0x7ff;
		}
	}
	libusb_free_config_descriptor(cfg);
	if (ep_in < 0 || ep_out < 0 || maxp_in == 0 || maxp_out == 0) {
		fprintf(stderr, "tb-bulk: interface 0 lacks a bulk IN/OUT pair\n");
		return 1;
	}

	/* OUT: synchronous, the pattern the gadget checks. */
	if ((obuf = malloc(len)) == NULL)
		return 1;
	for (size_t k = 0; k < len; k++)
		obuf[k] = pattern_byte(k, maxp_out);
	t0 = tb_now_us();
	for (unsigned long long sent = 0; sent < (unsigned long long)mib << 20; sent += len) {
		r = libusb_bulk_transfer(h, (unsigned char)ep_out, obuf, (int)len, &xferred, 5000);
		if (r != 0 || (unsigned long)xferred != len) {
			fprintf(stderr, "tb-bulk: OUT transfer at %llu: %s (%d bytes)\n", sent,
			    libusb_strerror(r), xferred);
			return 1;
		}
	}
	out_mbs = (double)(mib << 20) / (tb_now_us() - t0);

	/* IN: QUEUE asynchronous transfers in flight, every byte checked. */
	memset(&s, 0, sizeof(s));
	s.len = len;
	s.maxp = maxp_in;
	s.want = (unsigned long long)mib << 20;
	t0 = tb_now_us();
	for (unsigned long q = 0; q < queue && s.submitted < s.want; q++) {
		s.buf[q] = malloc(len);
		s.xfer[q] = libusb_alloc_transfer(0);
		if (s.buf[q] == NULL || s.xfer[q] == NULL)
			return 1;
		libusb_fill_bulk_transfer(s.xfer[q], h, (unsigned char)ep_in, s.buf[q], (int)len,
		    in_done, &s, 5000);
		if ((r = libusb_submit_transfer(s.xfer[q])) != 0) {
			fprintf(stderr, "tb-bulk: submit IN: %s\n", libusb_strerror(r));
			return 1;
		}
		s.submitted += len;
		s.inflight++;
	}
	while (s.inflight > 0) {
		if ((r = libusb_handle_events(ctx)) != 0 && r != LIBUSB_ERROR_INTERRUPTED) {
			fprintf(stderr, "tb-bulk: handle events: %s\n", libusb_strerror(r));
			return 1;
		}
	}
	in_mbs = (double)s.done / (tb_now_us() - t0);
	if (s.error || s.done < s.want) {
		fprintf(stderr, "tb-bulk: IN failed after %llu of %llu bytes\n", s.done, s.want);
		return 1;
	}
	printf("out_mbs=%.1f in_mbs=%.1f bytes=%llu\n", out_mbs, in_mbs, s.want);
	if (stress > 0) {
		long cancelled = unlink_stress(ctx, &s, queue, stress);

		if (cancelled < 0)
			return 1;
		/* Still alive? One more checked transfer. */
		r = libusb_bulk_transfer(h, (unsigned char)ep_in, s.buf[0], (int)len, &xferred, 5000);
		if (r != 0 || xferred <= 0) {
			fprintf(stderr, "tb-bulk: device dead after the stress: %s\n", libusb_strerror(r));
			return 1;
		}
		printf("cancelled=%ld seconds=%.1f\n", cancelled, stress);
	}
	for (unsigned long q = 0; q < queue; q++) {
		if (s.xfer[q] != NULL)
			libusb_free_transfer(s.xfer[q]);
		free(s.buf[q]);
	}
	free(obuf);
	libusb_release_interface(h, 0);
	libusb_close(h);
	libusb_exit(ctx);
	return 0;
}
