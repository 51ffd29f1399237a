/*
 * tests/tools/ughdev.c: tb-ughdev, a USB device emulated in user space on
 * /dev/usbgate_hcd (kmod/usbgate_hcd_uapi.h), to test the kernel module
 * without the frontend: a vendor-specific high-speed device (1209:000a) with
 * one bulk IN/OUT pair speaking SourceSink's "mod 63" pattern (tb-bulk is its
 * client). Records are read and answered in batches (every answer to one
 * read() goes out in one write()).
 *
 *   -H   hold bulk IN URBs (never complete them; "holding bulk IN" is
 *        printed at the first) so that a test can kill this process
 *        mid-transfer; cancel notices are answered with a late completion
 *        the kernel must drop
 *   -S   SuperSpeed instead (bulk wMaxPacketSize 1024, a BOS descriptor), on
 *        the USB 3 root hub
 *   -x   hostile: before connecting and before the first bulk IN
 *        completion, write malformed records and check that the kernel
 *        refuses each with the expected errno; exits 1 on the first one
 *        accepted
 * Prints "port BUS-PORT" once connected, "reset N" for each port reset the
 * kernel asks for, "hostile: N refused" and counters on SIGTERM/SIGINT.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "usbgate_hcd_uapi.h"

#define OUT_MAX		(4 * 1024 * 1024)

/* The high-speed identity (bulk wMaxPacketSize 512). */
static const uint8_t hs_dev_desc[18] = {
	18, 1, 0x00, 0x02, 0xff, 0, 0, 64,
	0x09, 0x12, 0x0a, 0x00, 0x00, 0x01, 0, 0, 0, 1,
};

static const uint8_t hs_cfg_desc[32] = {
	9, 2, 32, 0, 1, 1, 0, 0x80, 50,
	9, 4, 0, 0, 2, 0xff, 0, 0, 0,
	7, 5, 0x81, 2, 0x00, 0x02, 0,
	7, 5, 0x02, 2, 0x00, 0x02, 0,
};

/* The SuperSpeed identity (bulk wMaxPacketSize 1024, companions, BOS). */
static const uint8_t ss_dev_desc[18] = {
	18, 1, 0x00, 0x03, 0xff, 0, 0, 9,
	0x09, 0x12, 0x0a, 0x00, 0x00, 0x01, 0, 0, 0, 1,
};

static const uint8_t ss_cfg_desc[44] = {
	9, 2, 44, 0, 1, 1, 0, 0x80, 50,
	9, 4, 0, 0, 2, 0xff, 0, 0, 0,
	7, 5, 0x81, 2, 0x00, 0x04, 0,
	6, 0x30, 0, 0, 0, 0,
	7, 5, 0x02, 2, 0x00, 0x04, 0,
	6, 0x30, 0, 0, 0, 0,
};

static const uint8_t ss_bos_desc[22] = {
	5, 0x0f, 22, 0, 2,
	7, 0x10, 0x02, 0x02, 0, 0, 0,
	10, 0x10, 0x03, 0, 0x0e, 0, 1, 0x0a, 0x20, 0,
};

static const uint8_t *dev_desc = hs_dev_desc, *cfg_desc = hs_cfg_desc;
static uint32_t dev_desc_len = sizeof(hs_dev_desc);
static uint32_t cfg_desc_len = sizeof(hs_cfg_desc);
static uint32_t maxp = 512;
static uint32_t speed = UGH_SPEED_HIGH;

static volatile sig_atomic_t stop;
static int hold, hostile;
static unsigned long long n_in, n_out, n_bad, n_resets, n_unlinks, n_held;
static unsigned int n_refused;

/* Answers of one batch. */
static uint8_t *out;
static size_t out_len;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
die(const char *what)
{
	fprintf(stderr, "tb-ughdev: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *
out_reserve(size_t len)
{
	void *p;

	if (out_len + len > OUT_MAX) {
		fprintf(stderr, "tb-ughdev: answer batch overflow\n");
		exit(1);
	}
	p = out + out_len;
	memset(p, 0, len);
	out_len += len;
	return p;
}

static void
flush_out(int fd)
{
	size_t off = 0;
	ssize_t n;

	while (off < out_len) {
		n = write(fd, out + off, out_len - off);
		if (n < 0)
			die("write");
		off += (size_t)n;
	}
	out_len = 0;
}

/* Write one record on its own; return the errno (0 if accepted). */
static int
write_one(int fd, const void *rec, size_t len)
{
	ssize_t n = write(fd, rec, len);

	if (n < 0)
		return errno;
	return n == (ssize_t)len ? 0 : -1;
}

static void
expect_refused(int fd, const void *rec, size_t len, int want, const char *what)
{
	int got = write_one(fd, rec, len);

	if (got != want) {
		fprintf(stderr, "tb-ughdev: hostile %s: got %s, want %s\n", what,
		    got > 0 ? strerror(got) : got ? "short write" : "accepted",
		    strerror(want));
		exit(1);
	}
	n_refused++;
}

/* Malformed records while nothing is connected. */
static void
hostile_unconnected(int fd)
{
	struct ugh_connect c;
	struct ugh_complete k;
	struct ugh_rec h;
	uint8_t junk[24];

	memset(&h, 0, sizeof(h));
	h.type = UGH_F_DISCONNECT;
	h.len = sizeof(h);
	expect_refused(fd, &h, sizeof(h), ENOTCONN, "disconnect while unconnected");
	h.type = UGH_F_RESET_DONE;
	h.id = 1;
	expect_refused(fd, &h, sizeof(h), ENOTCONN, "reset done while unconnected");
	h.type = 999;
	h.id = 0;
	expect_refused(fd, &h, sizeof(h), EINVAL, "unknown type");
	h.type = UGH_F_DISCONNECT;
	h.len = 12;
	expect_refused(fd, &h, sizeof(h), EINVAL, "length not a multiple of 8");
	h.len = 0xfffffff8u;
	expect_refused(fd, &h, sizeof(h), EINVAL, "length beyond the write");
	memset(junk, 0, sizeof(junk));
	expect_refused(fd, junk, 8, EINVAL, "write shorter than a header");
	memset(&k, 0, sizeof(k));
	k.hdr.type = UGH_F_COMPLETE;
	k.hdr.len = sizeof(k);
	k.hdr.id = 99;
	expect_refused(fd, &k, sizeof(k), EINVAL, "completion of a URB never issued");
	memset(&c, 0, sizeof(c));
	c.hdr.type = UGH_F_CONNECT;
	c.hdr.len = sizeof(c);
	c.speed = 4;	/* wireless */
	expect_refused(fd, &c, sizeof(c), EINVAL, "connect at an unknown speed");
	c.speed = UGH_SPEED_HIGH;
	c.hdr.len = sizeof(c) + 8;
	expect_refused(fd, &c, sizeof(c), EINVAL, "connect longer than the write");
}

/* Malformed completions of bulk IN URB id (length len). */
static void
hostile_complete(int fd, uint64_t id, uint32_t len)
{
	struct {
		struct ugh_complete k;
		uint8_t data[1024 + 16];
	} r;
	size_t dlen = len < 1024 ? len : 1024;

	memset(&r, 0, sizeof(r));
	r.k.hdr.type = UGH_F_COMPLETE;
	r.k.hdr.id = id;
	r.k.actual = (uint32_t)dlen;
	r.k.hdr.len = UGH_ALIGN(sizeof(r.k) + dlen);
	r.k.status = 12345;
	expect_refused(fd, &r, r.k.hdr.len, EINVAL, "unknown status");
	r.k.status = -EINPROGRESS;
	expect_refused(fd, &r, r.k.hdr.len, EINVAL, "status in progress");
	r.k.status = 0;
	r.k.actual = len + 1;
	expect_refused(fd, &r, r.k.hdr.len, EINVAL, "actual beyond the buffer");
	r.k.actual = (uint32_t)dlen;
	r.k.hdr.len = UGH_ALIGN(sizeof(r.k) + dlen) + 8;
	expect_refused(fd, &r, r.k.hdr.len, EINVAL, "more data than actual");
	r.k.hdr.len = sizeof(r.k);
	if (dlen)
		expect_refused(fd, &r, r.k.hdr.len, EINVAL, "less data than actual");
	r.k.hdr.len = UGH_ALIGN(sizeof(r.k) + dlen);
	r.k.packets = 1;
	expect_refused(fd, &r, r.k.hdr.len, EINVAL, "iso packets on a bulk URB");
	r.k.packets = 0;
	r.k.hdr.id = id + 1000000;
	expect_refused(fd, &r, r.k.hdr.len, EINVAL, "id never issued");
	r.k.hdr.id = 0;
	expect_refused(fd, &r, r.k.hdr.len, EINVAL, "id zero");
}

static struct ugh_complete *
complete(uint64_t id, int32_t status, const void *data, uint32_t len,
    uint32_t actual)
{
	struct ugh_complete *k;

	k = out_reserve(UGH_ALIGN(sizeof(*k) + len));
	k->hdr.type = UGH_F_COMPLETE;
	k->hdr.len = UGH_ALIGN(sizeof(*k) + len);
	k->hdr.id = id;
	k->status = status;
	k->actual = actual;
	if (data && len)
		memcpy(k + 1, data, len);
	return k;
}

static void
on_control(const struct ugh_submit *s)
{
	const uint8_t *st = s->setup;
	uint16_t value = st[2] | st[3] << 8, wlen = st[6] | st[7] << 8;
	const void *d = NULL;
	uint8_t status[2] = { 0, 0 };
	uint32_t n = 0;

	switch (st[0] << 8 | st[1]) {
	case 0x8006:	/* GET_DESCRIPTOR */
		if (value >> 8 == 1) {
			d = dev_desc;
			n = dev_desc_len;
		} else if (value >> 8 == 2) {
			d = cfg_desc;
			n = cfg_desc_len;
		} else if (value >> 8 == 15 && speed == UGH_SPEED_SUPER) {
			d = ss_bos_desc;
			n = sizeof(ss_bos_desc);
		} else {
			complete(s->hdr.id, -EPIPE, NULL, 0, 0);
			return;
		}
		break;
	case 0x8000:	/* GET_STATUS */
	case 0x8100:
	case 0x8200:
		d = status;
		n = sizeof(status);
		break;
	case 0x0009:	/* SET_CONFIGURATION */
	case 0x010b:	/* SET_INTERFACE */
	case 0x0201:	/* CLEAR_FEATURE(ENDPOINT_HALT) */
	case 0x0030:	/* SET_SEL */
	case 0x0031:	/* SET_ISOCH_DELAY */
		break;
	default:
		complete(s->hdr.id, -EPIPE, NULL, 0, 0);
		return;
	}
	if (n > wlen)
		n = wlen;
	if (n > s->length)
		n = s->length;
	complete(s->hdr.id, 0, d, n, n);
}

static void
on_bulk(int fd, const struct ugh_submit *s)
{
	static int first_in = 1;
	const uint8_t *data = (const uint8_t *)(s + 1);
	struct ugh_complete *k;
	uint8_t *p;
	uint32_t i;

	if (!(s->ep & 0x80)) {
		for (i = 0; i < s->length; i++)
			if (data[i] != (i % maxp) % 63)
				break;
		if (i < s->length) {
			n_bad++;
			complete(s->hdr.id, -EPIPE, NULL, 0, i);
			return;
		}
		n_out += s->length;
		complete(s->hdr.id, 0, NULL, 0, s->length);
		return;
	}
	if (hold) {
		if (!n_held++) {
			printf("holding bulk IN\n");
			fflush(stdout);
		}
		return;
	}
	if (hostile && first_in) {
		flush_out(fd);
		hostile_complete(fd, s->hdr.id, s->length);
		first_in = 0;
		printf("hostile: %u refused\n", n_refused);
		fflush(stdout);
	}
	k = complete(s->hdr.id, 0, NULL, s->length, s->length);
	p = (uint8_t *)(k + 1);
	for (i = 0; i < s->length; i++)
		p[i] = (i % maxp) % 63;
	n_in += s->length;
}

static void
on_record(int fd, const struct ugh_rec *h)
{
	const struct ugh_port_info *pi;
	struct ugh_rec *a;

	switch (h->type) {
	case UGH_K_PORT:
		pi = (const struct ugh_port_info *)h;
		printf("port %u-%u speed %u\n", pi->busnum, pi->portnum, pi->speed);
		fflush(stdout);
		break;
	case UGH_K_SUBMIT: {
		const struct ugh_submit *s = (const struct ugh_submit *)h;

		if (s->xfer == UGH_XFER_CONTROL)
			on_control(s);
		else if (s->xfer == UGH_XFER_BULK)
			on_bulk(fd, s);
		else
			complete(h->id, -EPIPE, NULL, 0, 0);
		break;
	}
	case UGH_K_UNLINK:
		/* Given back already: this late answer must be dropped. */
		n_unlinks++;
		complete(h->id, -ECONNRESET, NULL, 0, 0);
		break;
	case UGH_K_RESET:
		n_resets++;
		printf("reset %llu\n", n_resets);
		fflush(stdout);
		a = out_reserve(sizeof(*a));
		a->type = UGH_F_RESET_DONE;
		a->len = sizeof(*a);
		a->id = h->id;
		break;
	case UGH_K_SUSPEND:
	case UGH_K_RESUME:
		break;
	default:
		fprintf(stderr, "tb-ughdev: unknown record type %u\n", h->type);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct ugh_connect c;
	struct sigaction sa;
	uint8_t *in;
	ssize_t n;
	size_t off;
	int fd, ch;

	while ((ch = getopt(argc, argv, "HSx")) != -1) {
		switch (ch) {
		case 'S':
			dev_desc = ss_dev_desc;
			dev_desc_len = sizeof(ss_dev_desc);
			cfg_desc = ss_cfg_desc;
			cfg_desc_len = sizeof(ss_cfg_desc);
			maxp = 1024;
			speed = UGH_SPEED_SUPER;
			break;
		case 'H':
			hold = 1;
			break;
		case 'x':
			hostile = 1;
			break;
		default:
			fprintf(stderr, "usage: tb-ughdev [-H] [-S] [-x]\n");
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	in = malloc(UGH_READ_MIN);
	out = malloc(OUT_MAX);
	if (!in || !out)
		die("malloc");
	fd = open(UGH_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open " UGH_DEVICE);
	if (hostile)
		hostile_unconnected(fd);

	memset(&c, 0, sizeof(c));
	c.hdr.type = UGH_F_CONNECT;
	c.hdr.len = sizeof(c);
	c.speed = speed;
	if (write_one(fd, &c, sizeof(c)) != 0)
		die("connect");
	if (hostile)
		expect_refused(fd, &c, sizeof(c), EISCONN, "second connect");

	while (!stop) {
		n = read(fd, in, UGH_READ_MIN);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		for (off = 0; off + sizeof(struct ugh_rec) <= (size_t)n;) {
			const struct ugh_rec *h = (const struct ugh_rec *)(in + off);

			if (h->len < sizeof(*h) || h->len > (size_t)n - off) {
				fprintf(stderr, "tb-ughdev: bad record length %u\n", h->len);
				return 1;
			}
			on_record(fd, h);
			off += h->len;
		}
		flush_out(fd);
	}
	printf("in %llu out %llu bad %llu resets %llu unlinks %llu\n", n_in,
	    n_out, n_bad, n_resets, n_unlinks);
	close(fd);
	return 0;
}
