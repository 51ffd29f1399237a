/*
 * check_iface_filter.c: the refused-interface filter of the backend.
 *
 * Proves: the configuration descriptor rewrite keeps exactly the allowed
 * interfaces (alternate settings, class descriptors, endpoints, interface
 * associations) and fixes wTotalLength and bNumInterfaces; truncated,
 * lying and malformed descriptors are refused (table), and every
 * truncation and thousands of random corruptions of a real descriptor
 * neither crash nor write past the output; on a real channel, the AppVM's
 * GET_DESCRIPTOR(CONFIGURATION) is answered from the rewritten descriptor,
 * requests for a refused interface or its endpoints are answered with a
 * stall and never reach usbredirhost, allowed packets pass byte-exact
 * (also when they arrive in pieces), and interface_info / ep_info lose the
 * refused interface. With alternate settings: a refused (interface,
 * setting) pair leaves the descriptor (setting 0 takes the interface with
 * it), SET_INTERFACE to it is refused as a usbredir packet and as a
 * control request, and its own endpoints are refused; the configurations
 * that are not active are served without interfaces; a filter with
 * nothing refused still pins the configuration.
 * The first configuration is read at offset 18, where usbfs puts it,
 * whatever the device's bLength claims (an exactly-sized heap buffer, so
 * ASan sees any read past it).
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <usbredirproto.h>

#include "hidden_alt.h"
#include "iface_filter.h"
#include "unit_main.h"

/* Storage (interface 0: bulk 0x81, 0x02) + HID (interface 1: 0x83 int). */
static const uint8_t composite[] = {
	0x09, 0x02, 57, 0x00, 0x02, 0x01, 0x00, 0x80, 0x32,
	0x09, 0x04, 0x00, 0x00, 0x02, 0x08, 0x06, 0x50, 0x00,
	0x07, 0x05, 0x81, 0x02, 0x00, 0x02, 0x00,
	0x07, 0x05, 0x02, 0x02, 0x00, 0x02, 0x00,
	0x09, 0x04, 0x01, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00,
	0x09, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, 0x22, 0x00,
	0x07, 0x05, 0x83, 0x03, 0x40, 0x00, 0x04,
};

/* ACM-like function in an IAD (0-1) plus a vendor interface 2 with two
 * alternate settings. */
static const uint8_t with_iad[] = {
	0x09, 0x02, 72, 0x00, 0x03, 0x01, 0x00, 0x80, 0x32,
	0x08, 0x0b, 0x00, 0x02, 0x02, 0x02, 0x01, 0x00,
	0x09, 0x04, 0x00, 0x00, 0x01, 0x02, 0x02, 0x01, 0x00,
	0x05, 0x24, 0x00, 0x10, 0x01,
	0x07, 0x05, 0x84, 0x03, 0x08, 0x00, 0x10,
	0x09, 0x04, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00,
	0x09, 0x04, 0x02, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
	0x09, 0x04, 0x02, 0x01, 0x01, 0xff, 0x00, 0x00, 0x00,
	0x07, 0x05, 0x85, 0x02, 0x00, 0x02, 0x00,
};

#define EPB(ep)	(1u << IFF_EP2I(ep))

struct rw_case {
	const char *name;
	const uint8_t *in;
	size_t len;
	int n_ref;
	uint8_t ref[4];
	int patch_at;		/* -1: none */
	uint8_t patch;
	int want;
	size_t want_len;
	int want_nif;
	uint32_t want_mask;
};

static const struct rw_case rw_cases[] = {
	{ "refuse HID", composite, sizeof(composite), 1, { 1 }, -1, 0,
	  IFF_OK, 32, 1, EPB(0x83) },
	{ "refuse storage", composite, sizeof(composite), 1, { 0 }, -1, 0,
	  IFF_OK, 34, 1, EPB(0x81) | EPB(0x02) },
	{ "refuse nothing", composite, sizeof(composite), 0, { 0 }, -1, 0,
	  IFF_OK, 57, 2, 0 },
	{ "refuse both", composite, sizeof(composite), 2, { 0, 1 }, -1, 0,
	  IFF_OK, 9, 0, EPB(0x81) | EPB(0x02) | EPB(0x83) },
	{ "refuse an absent interface", composite, sizeof(composite), 1, { 7 },
	  -1, 0, IFF_OK, 57, 2, 0 },
	{ "IAD member refused: IAD dropped", with_iad, sizeof(with_iad), 1,
	  { 1 }, -1, 0, IFF_OK, 55, 2, 0 },
	{ "every alternate setting refused", with_iad, sizeof(with_iad), 1,
	  { 2 }, -1, 0, IFF_OK, 47, 2, EPB(0x85) },
	{ "shorter than a config header", composite, 8, 0, { 0 }, -1, 0,
	  IFF_E_TRUNC, 0, 0, 0 },
	{ "wTotalLength beyond the data", composite, 50, 0, { 0 }, -1, 0,
	  IFF_E_TRUNC, 0, 0, 0 },
	{ "config bLength 5", composite, sizeof(composite), 0, { 0 }, 0, 5,
	  IFF_E_LENGTH, 0, 0, 0 },
	{ "a device descriptor", composite, sizeof(composite), 0, { 0 }, 1, 1,
	  IFF_E_TYPE, 0, 0, 0 },
	{ "wTotalLength below bLength", composite, sizeof(composite), 0, { 0 },
	  2, 5, IFF_E_LENGTH, 0, 0, 0 },
	{ "bLength 0 inside", composite, sizeof(composite), 1, { 1 }, 25, 0,
	  IFF_E_LENGTH, 0, 0, 0 },
	{ "bLength past the end", composite, sizeof(composite), 0, { 0 }, 50,
	  60, IFF_E_TRUNC, 0, 0, 0 },
	{ "interface bLength 8", composite, sizeof(composite), 0, { 0 }, 9, 8,
	  IFF_E_LENGTH, 0, 0, 0 },
	{ "endpoint bLength 6", composite, sizeof(composite), 0, { 0 }, 18, 6,
	  IFF_E_LENGTH, 0, 0, 0 },
	{ "second config descriptor inside", composite, sizeof(composite), 0,
	  { 0 }, 42, 0x02, IFF_E_TYPE, 0, 0, 0 },
};

static void
prepare(const struct rw_case *c, uint8_t *buf, struct iff_set *ref)
{
	int i;

	memcpy(buf, c->in, c->len);
	if (c->patch_at >= 0)
		buf[c->patch_at] = c->patch;
	memset(ref, 0, sizeof(*ref));
	for (i = 0; i < c->n_ref; i++)
		iff_set_add(ref, c->ref[i]);
}

START_TEST(test_rewrite_table)
{
	const struct rw_case *c = &rw_cases[_i];
	uint8_t in[256], out[256];
	struct iff_set ref;
	size_t olen;
	uint32_t mask;
	int r;

	prepare(c, in, &ref);
	r = iff_rewrite_config(in, c->len, &ref, out, sizeof(out), &olen,
	    &mask);
	ck_assert_msg(r == c->want, "%s: got %d (%s), want %d", c->name, r,
	    iff_strerror(r), c->want);
	if (r != IFF_OK)
		return;
	ck_assert_msg(olen == c->want_len, "%s: length %zu, want %zu", c->name,
	    olen, c->want_len);
	ck_assert_uint_eq(out[2] | out[3] << 8, olen);
	ck_assert_msg(out[4] == c->want_nif, "%s: %u interfaces, want %d",
	    c->name, out[4], c->want_nif);
	ck_assert_msg(mask == c->want_mask, "%s: mask %08x, want %08x",
	    c->name, mask, c->want_mask);
}
END_TEST

/* What a HID refusal leaves: exactly the storage function, byte-exact. */
START_TEST(test_rewrite_content)
{
	struct iff_set ref = { { 0 } };
	uint8_t out[64];
	size_t olen;
	uint32_t mask;

	iff_set_add(&ref, 1);
	ck_assert_int_eq(iff_rewrite_config(composite, sizeof(composite), &ref,
	    out, sizeof(out), &olen, &mask), IFF_OK);
	ck_assert_uint_eq(olen, 32);
	ck_assert_mem_eq(out + 9, composite + 9, 23);
	ck_assert_int_eq(out[2], 32);
	ck_assert_int_eq(out[4], 1);
	/* An output buffer one byte short is refused, not overrun. */
	ck_assert_int_eq(iff_rewrite_config(composite, sizeof(composite), &ref,
	    out, 31, &olen, &mask), IFF_E_NOSPACE);
}
END_TEST

/* Every truncation, with and without a matching wTotalLength. */
START_TEST(test_rewrite_truncations)
{
	struct iff_set ref = { { 0 } };
	uint8_t in[sizeof(composite)], *out;
	size_t n, olen;
	uint32_t mask;
	int r, fix;

	iff_set_add(&ref, 1);
	for (fix = 0; fix < 2; fix++)
		for (n = 0; n <= sizeof(composite); n++) {
			memcpy(in, composite, sizeof(in));
			if (fix && n >= 4) {
				in[2] = (uint8_t)n;
				in[3] = 0;
			}
			out = malloc(n ? n : 1);	/* exact: ASan sees overruns */
			r = iff_rewrite_config(in, n, &ref, out, n, &olen,
			    &mask);
			if (r == IFF_OK)
				ck_assert(olen <= n);
			else
				ck_assert(r < 0 && r > -IFF_E__COUNT);
			free(out);
		}
}
END_TEST

/* Random corruption: never a crash, never more than the output holds. */
START_TEST(test_rewrite_corruptions)
{
	struct iff_set ref = { { 0 } };
	uint8_t in[sizeof(composite)], out[sizeof(composite)];
	size_t olen;
	uint32_t mask;
	unsigned seed = 12345;
	int i, k, ok = 0;

	for (i = 0; i < 20000; i++) {
		memcpy(in, composite, sizeof(in));
		for (k = 0; k < 1 + i % 4; k++)
			in[rand_r(&seed) % sizeof(in)] = (uint8_t)rand_r(&seed);
		memset(&ref, 0, sizeof(ref));
		iff_set_add(&ref, (uint8_t)(rand_r(&seed) % 3));
		if (iff_rewrite_config(in, sizeof(in), &ref, out, sizeof(out),
		    &olen, &mask) == IFF_OK) {
			ck_assert(olen <= sizeof(out));
			ck_assert_uint_eq(out[2] | out[3] << 8, olen);
			ok++;
		}
	}
	ck_assert(ok > 0);
}
END_TEST

/* ---- the filter on a channel ----------------------------------------------- */

static const uint8_t device_desc[18] = {
	0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x09, 0x12, 0x06, 0x00,
	0x00, 0x01, 0x01, 0x02, 0x03, 0x01,
};

static int to_filter[2], from_filter[2];
static struct stream *chan;
static struct iff *filt;

#define CAPS	((1u << usb_redir_cap_64bits_ids) | \
		 (1u << usb_redir_cap_32bits_bulk_length) | \
		 (1u << usb_redir_cap_ep_info_max_packet_size))

static size_t
put_hdr(uint8_t *p, uint32_t type, uint32_t len, uint64_t id, int hl)
{
	int i;

	for (i = 0; i < 4; i++) {
		p[i] = (uint8_t)(type >> (8 * i));
		p[4 + i] = (uint8_t)(len >> (8 * i));
	}
	for (i = 0; i < hl - 8; i++)
		p[8 + i] = (uint8_t)(id >> (8 * i));
	return (size_t)hl;
}

static void
hello(uint8_t *buf, size_t *n, int hl)
{
	size_t o = put_hdr(buf, usb_redir_hello, 68, 0, hl);

	memset(buf + o, 0, 64);
	strcpy((char *)buf + o, "test");
	buf[o + 64] = CAPS & 0xff;
	buf[o + 65] = 0;
	buf[o + 66] = 0;
	buf[o + 67] = 0;
	*n = o + 68;
}

/* The channel between the AppVM and the filter, after the host's hello. */
static void
channel_open(void)
{
	uint8_t h[128];
	size_t n;

	ck_assert_int_eq(pipe(to_filter), 0);
	ck_assert_int_eq(pipe(from_filter), 0);
	ck_assert_int_eq(stream_from_fds(to_filter[0], from_filter[1], &chan),
	    STREAM_OK);
	fcntl(from_filter[0], F_SETFL, O_NONBLOCK);
	/* The host's hello, as usbredirhost writes it. */
	hello(h, &n, 12);
	ck_assert_int_eq(iff_host_packet(filt, h, n), 1);
}

static void
filter_setup(void)
{
	uint8_t desc[18 + sizeof(composite)];
	const uint8_t refused[] = { 1 };

	memcpy(desc, device_desc, 18);
	memcpy(desc + 18, composite, sizeof(composite));
	ck_assert_int_eq(iff_new(desc, sizeof(desc), refused, 1, 1, &filt),
	    IFF_OK);
	channel_open();
}

static void
filter_teardown(void)
{
	stream_close(chan);
	close(to_filter[1]);
	close(from_filter[0]);
	iff_free(filt);
}

/* Feed guest bytes, return what passes to usbredirhost. */
static size_t
feed(const uint8_t *p, size_t n, uint8_t *passed, size_t cap)
{
	size_t got = 0;
	int r;

	ck_assert_int_eq(write(to_filter[1], p, n), (ssize_t)n);
	ck_assert_int_ge(stream_fill(chan), 0);
	while ((r = iff_guest_read(filt, chan, passed + got, cap - got)) > 0)
		got += (size_t)r;
	ck_assert_int_ge(r, 0);
	return got;
}

/* The filter's answers to the guest. */
static size_t
answers(uint8_t *buf, size_t cap)
{
	ssize_t n;

	ck_assert_int_ge(stream_flush(chan), 0);
	n = read(from_filter[0], buf, cap);
	return n > 0 ? (size_t)n : 0;
}

static void
guest_hello(void)
{
	uint8_t h[128], out[256];
	size_t n;

	hello(h, &n, 12);
	ck_assert_uint_eq(feed(h, n, out, sizeof(out)), n);
	ck_assert_mem_eq(out, h, n);
}

static size_t
control(uint8_t *p, uint64_t id, uint8_t rtype, uint8_t req, uint16_t value,
    uint16_t index, uint16_t wlen)
{
	size_t o = put_hdr(p, usb_redir_control_packet, 10, id, 16);

	p[o] = rtype & 0x80;
	p[o + 1] = req;
	p[o + 2] = rtype;
	p[o + 3] = 0;
	p[o + 4] = (uint8_t)value;
	p[o + 5] = (uint8_t)(value >> 8);
	p[o + 6] = (uint8_t)index;
	p[o + 7] = (uint8_t)(index >> 8);
	p[o + 8] = (uint8_t)wlen;
	p[o + 9] = (uint8_t)(wlen >> 8);
	return o + 10;
}

START_TEST(test_filter_config_descriptor)
{
	uint8_t p[64], out[256], ans[256];
	size_t n;

	guest_hello();
	/* First the 9-byte header, as Linux asks. */
	n = control(p, 7, 0x80, 6, 0x0200, 0, 9);
	ck_assert_uint_eq(feed(p, n, out, sizeof(out)), 0);
	n = answers(ans, sizeof(ans));
	ck_assert_uint_eq(n, 16 + 10 + 9);
	ck_assert_int_eq(ans[0], usb_redir_control_packet);
	ck_assert_int_eq(ans[8], 7);			/* the request's id */
	ck_assert_int_eq(ans[16 + 3], usb_redir_success);
	ck_assert_int_eq(ans[16 + 8], 9);		/* length */
	ck_assert_int_eq(ans[26 + 2], 32);		/* wTotalLength */
	ck_assert_int_eq(ans[26 + 4], 1);		/* bNumInterfaces */
	/* Then all of it: the storage function only. */
	n = control(p, 8, 0x80, 6, 0x0200, 0, 255);
	ck_assert_uint_eq(feed(p, n, out, sizeof(out)), 0);
	n = answers(ans, sizeof(ans));
	ck_assert_uint_eq(n, 16 + 10 + 32);
	ck_assert_mem_eq(ans + 26 + 9, composite + 9, 23);
	/* Other speed, and a configuration that does not exist: stall. */
	n = control(p, 9, 0x80, 6, 0x0700, 0, 255);
	ck_assert_uint_eq(feed(p, n, out, sizeof(out)), 0);
	n = control(p, 10, 0x80, 6, 0x0201, 0, 255);
	ck_assert_uint_eq(feed(p, n, out, sizeof(out)), 0);
	n = answers(ans, sizeof(ans));
	ck_assert_uint_eq(n, 2 * 26);
	ck_assert_int_eq(ans[16 + 3], usb_redir_stall);
	ck_assert_int_eq(ans[26 + 16 + 3], usb_redir_stall);
	ck_assert_uint_eq(iff_refused_count(filt), 2);
	ck_assert_uint_eq(iff_answered_count(filt), 2);
}
END_TEST

START_TEST(test_filter_refused_requests)
{
	uint8_t p[256], out[256], ans[512];
	size_t n, o;

	guest_hello();
	/* HID report descriptor of interface 1, SET_IDLE, CLEAR_FEATURE on
	 * its endpoint: all stalled here. */
	n = control(p, 1, 0x81, 6, 0x2200, 1, 64);
	n += control(p + n, 2, 0x21, 0x0a, 0, 1, 0);
	n += control(p + n, 3, 0x02, 0x01, 0, 0x83, 0);
	ck_assert_uint_eq(feed(p, n, out, sizeof(out)), 0);
	n = answers(ans, sizeof(ans));
	ck_assert_uint_eq(n, 3 * 26);
	ck_assert_int_eq(ans[16 + 3], usb_redir_stall);
	ck_assert_int_eq(ans[26 + 8], 2);
	ck_assert_int_eq(ans[52 + 16 + 3], usb_redir_stall);

	/* A bulk packet with data to the HID endpoint: dropped, stalled. */
	o = put_hdr(p, usb_redir_bulk_packet, 10 + 64, 4, 16);
	memset(p + o, 0, 10 + 64);
	p[o] = 0x83;
	p[o + 2] = 64;
	ck_assert_uint_eq(feed(p, o + 10 + 64, out, sizeof(out)), 0);
	/* Interrupt receiving, an alternate setting, another config. */
	o = put_hdr(p, usb_redir_start_interrupt_receiving, 1, 5, 16);
	p[o++] = 0x83;
	o += put_hdr(p + o, usb_redir_set_alt_setting, 2, 6, 16);
	p[o++] = 1;
	p[o++] = 0;
	o += put_hdr(p + o, usb_redir_set_configuration, 1, 7, 16);
	p[o++] = 2;
	ck_assert_uint_eq(feed(p, o, out, sizeof(out)), 0);
	n = answers(ans, sizeof(ans));
	ck_assert_uint_eq(n, (16 + 10) + (16 + 2) + (16 + 3) + (16 + 2));
	ck_assert_int_eq(ans[0], usb_redir_bulk_packet);
	ck_assert_int_eq(ans[16 + 1], usb_redir_stall);
	ck_assert_int_eq(ans[4], 10);			/* no data back */
	ck_assert_int_eq(ans[26], usb_redir_interrupt_receiving_status);
	ck_assert_int_eq(ans[26 + 16], usb_redir_stall);
	ck_assert_int_eq(ans[44], usb_redir_alt_setting_status);
	ck_assert_int_eq(ans[44 + 16], usb_redir_inval);
	ck_assert_int_eq(ans[63], usb_redir_configuration_status);
	ck_assert_uint_eq(iff_refused_count(filt), 7);
}
END_TEST

START_TEST(test_filter_allowed_pass)
{
	uint8_t p[256], out[256], ans[64];
	size_t n, o, got, i;

	guest_hello();
	/* Mass storage reset to interface 0, bulk OUT to 0x02, set
	 * configuration 1 (the active one): byte-exact, nothing answered. */
	n = control(p, 1, 0x21, 0xff, 0, 0, 0);
	o = put_hdr(p + n, usb_redir_bulk_packet, 10 + 31, 2, 16);
	memset(p + n + o, 0, 10);
	memset(p + n + o + 10, 0x5a, 31);
	p[n + o] = 0x02;
	p[n + o + 2] = 31;
	n += o + 10 + 31;
	o = put_hdr(p + n, usb_redir_set_configuration, 1, 3, 16);
	p[n + o] = 1;
	n += o + 1;
	/* In pieces of 5 bytes: the filter waits for whole headers. */
	for (got = 0, i = 0; i < n; i += 5)
		got += feed(p + i, n - i < 5 ? n - i : 5, out + got,
		    sizeof(out) - got);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(out, p, n);
	ck_assert_uint_eq(answers(ans, sizeof(ans)), 0);
	ck_assert_uint_eq(iff_refused_count(filt), 0);
}
END_TEST

START_TEST(test_filter_host_info)
{
	uint8_t p[16 + 132 + 192];
	size_t o = put_hdr(p, usb_redir_interface_info, 132, 0, 16);

	memset(p + o, 0, 132);
	p[o] = 2;				/* interface_count */
	p[o + 4] = 0;
	p[o + 5] = 1;
	p[o + 36] = 0x08;
	p[o + 37] = 0x03;
	ck_assert_int_eq(iff_host_packet(filt, p, o + 132), 1);
	ck_assert_int_eq(p[o], 1);
	ck_assert_int_eq(p[o + 4], 0);
	ck_assert_int_eq(p[o + 36], 0x08);
	ck_assert_int_eq(p[o + 37], 0);

	o = put_hdr(p, usb_redir_ep_info, 160, 0, 16);
	memset(p + o, usb_redir_type_invalid, 32);
	memset(p + o + 32, 0, 128);
	p[o + IFF_EP2I(0x81)] = usb_redir_type_bulk;
	p[o + IFF_EP2I(0x02)] = usb_redir_type_bulk;
	p[o + IFF_EP2I(0x83)] = usb_redir_type_interrupt;
	p[o + 64 + IFF_EP2I(0x83)] = 1;
	ck_assert_int_eq(iff_host_packet(filt, p, o + 160), 1);
	ck_assert_int_eq(p[o + IFF_EP2I(0x81)], usb_redir_type_bulk);
	ck_assert_int_eq(p[o + IFF_EP2I(0x02)], usb_redir_type_bulk);
	ck_assert_int_eq(p[o + IFF_EP2I(0x83)], usb_redir_type_invalid);

	/* Interrupt data from the HID endpoint never leaves. */
	o = put_hdr(p, usb_redir_interrupt_packet, 4 + 8, 0, 16);
	p[o] = 0x83;
	ck_assert_int_eq(iff_host_packet(filt, p, o + 12), 0);
	p[o] = 0x81;
	ck_assert_int_eq(iff_host_packet(filt, p, o + 12), 1);
}
END_TEST

START_TEST(test_filter_hello_first)
{
	uint8_t p[64], out[64];
	size_t n = control(p, 1, 0x80, 6, 0x0100, 0, 18);

	ck_assert_int_eq(write(to_filter[1], p, n), (ssize_t)n);
	ck_assert_int_ge(stream_fill(chan), 0);
	ck_assert_int_eq(iff_guest_read(filt, chan, out, sizeof(out)),
	    IFF_E_PROTO);
}
END_TEST

START_TEST(test_filter_new_errors)
{
	uint8_t desc[18 + sizeof(composite)];
	const uint8_t refused[] = { 1 };
	struct iff *f;

	memcpy(desc, device_desc, 18);
	memcpy(desc + 18, composite, sizeof(composite));
	/* No configuration 2. */
	ck_assert_int_eq(iff_new(desc, sizeof(desc), refused, 1, 2, &f),
	    IFF_E_CONFIG);
	/* Cut short. */
	ck_assert_int_eq(iff_new(desc, sizeof(desc) - 1, refused, 1, 1, &f),
	    IFF_E_TRUNC);
	ck_assert_int_eq(iff_new(desc, 17, refused, 1, 1, &f), IFF_E_TRUNC);
	/* Claims two configurations, has one. */
	desc[17] = 2;
	ck_assert_int_eq(iff_new(desc, sizeof(desc), refused, 1, 1, &f),
	    IFF_E_TRUNC);
	ck_assert_ptr_null(f);
}
END_TEST

/* ---- alternate settings ----------------------------------------------------- */


static void
alt_setup(void)
{
	const uint8_t pairs[][2] = { { 0, 1 } };

	ck_assert_int_eq(iff_new_alts(hidden_alt, sizeof(hidden_alt), NULL, 0,
	    pairs, 1, 1, &filt), IFF_OK);
	channel_open();
}

/* Nothing refused: the filter only pins the configuration. */
static void
pin_setup(void)
{
	ck_assert_int_eq(iff_new_alts(hidden_alt, sizeof(hidden_alt), NULL, 0,
	    NULL, 0, 1, &filt), IFF_OK);
	channel_open();
}

START_TEST(test_rewrite_alt_pairs)
{
	struct iff_set none;
	struct iff_alts alts;
	uint8_t out[128];
	size_t olen, i;
	uint32_t mask;

	memset(&none, 0, sizeof(none));
	memset(&alts, 0, sizeof(alts));
	/* Alternate setting 1 alone: storage stays, the keyboard goes; 0x81
	 * is shared with the kept setting, so only 0x83 is masked. */
	ck_assert_int_eq(iff_alts_add(&alts, 0, 1), 0);
	ck_assert_int_eq(iff_alts_add(&alts, 0, 1), 0);
	ck_assert_int_eq(alts.n, 1);
	ck_assert_int_eq(iff_rewrite_config_alts(hidden_alt + HA_CONF1,
	    HA_CONF1_LEN, &none, &alts, out, sizeof(out), &olen, &mask),
	    IFF_OK);
	ck_assert_uint_eq(olen, 32);
	ck_assert_int_eq(out[2], 32);
	ck_assert_int_eq(out[4], 1);
	ck_assert_mem_eq(out + 9, hidden_alt + HA_CONF1 + 9, 23);
	for (i = 9; i < olen; i += out[i])
		ck_assert(out[i + 1] != 0x04 || out[i + 5] != 0x03);
	ck_assert_uint_eq(mask, EPB(0x83));
	/* Alternate setting 0 refused: the whole interface goes with it. */
	alts.n = 0;
	ck_assert_int_eq(iff_alts_add(&alts, 0, 0), 0);
	ck_assert_int_eq(iff_rewrite_config_alts(hidden_alt + HA_CONF1,
	    HA_CONF1_LEN, &none, &alts, out, sizeof(out), &olen, &mask),
	    IFF_OK);
	ck_assert_uint_eq(olen, 9);
	ck_assert_int_eq(out[4], 0);
	ck_assert_uint_eq(mask, EPB(0x81) | EPB(0x02) | EPB(0x83));
	/* The set is bounded. */
	alts.n = 0;
	for (i = 0; i < IFF_ALTS_MAX; i++)
		ck_assert_int_eq(iff_alts_add(&alts, (uint8_t)(i >> 4),
		    (uint8_t)(i & 15)), 0);
	ck_assert_int_eq(iff_alts_add(&alts, 255, 255), -1);
}
END_TEST

START_TEST(test_alt_descriptor_hides_keyboard)
{
	uint8_t p[64], out[256], ans[256];
	size_t n;

	guest_hello();
	n = control(p, 1, 0x80, 6, 0x0200, 0, 255);
	ck_assert_uint_eq(feed(p, n, out, sizeof(out)), 0);
	n = answers(ans, sizeof(ans));
	ck_assert_uint_eq(n, 16 + 10 + 32);
	ck_assert_mem_eq(ans + 26 + 9, hidden_alt + HA_CONF1 + 9, 23);
	/* Configuration 2 (a keyboard) cannot be selected: no interfaces. */
	n = control(p, 2, 0x80, 6, 0x0201, 0, 255);
	ck_assert_uint_eq(feed(p, n, out, sizeof(out)), 0);
	n = answers(ans, sizeof(ans));
	ck_assert_uint_eq(n, 16 + 10 + 9);
	ck_assert_int_eq(ans[16 + 3], usb_redir_success);
	ck_assert_int_eq(ans[26 + 2], 9);		/* wTotalLength */
	ck_assert_int_eq(ans[26 + 4], 0);		/* bNumInterfaces */
	ck_assert_int_eq(ans[26 + 5], 2);		/* bConfigurationValue */
	ck_assert_uint_eq(iff_answered_count(filt), 2);
}
END_TEST

START_TEST(test_alt_refused_requests)
{
	uint8_t p[256], out[256], ans[512];
	size_t n, o;

	guest_hello();
	/* SET_INTERFACE to the keyboard, as a usbredir packet and as a
	 * standard control request; its interrupt endpoint. */
	o = put_hdr(p, usb_redir_set_alt_setting, 2, 1, 16);
	p[o++] = 0;
	p[o++] = 1;
	o += control(p + o, 2, 0x01, 0x0b, 1, 0, 0);
	o += put_hdr(p + o, usb_redir_start_interrupt_receiving, 1, 3, 16);
	p[o++] = 0x83;
	ck_assert_uint_eq(feed(p, o, out, sizeof(out)), 0);
	n = answers(ans, sizeof(ans));
	ck_assert_uint_eq(n, (16 + 3) + (16 + 10) + (16 + 2));
	ck_assert_int_eq(ans[0], usb_redir_alt_setting_status);
	ck_assert_int_eq(ans[16], usb_redir_inval);
	ck_assert_int_eq(ans[19], usb_redir_control_packet);
	ck_assert_int_eq(ans[19 + 16 + 3], usb_redir_stall);
	ck_assert_int_eq(ans[45], usb_redir_interrupt_receiving_status);
	ck_assert_int_eq(ans[45 + 16], usb_redir_stall);
	ck_assert_uint_eq(iff_refused_count(filt), 3);

	/* Storage at setting 0, both ways, and its bulk endpoint pass. */
	o = put_hdr(p, usb_redir_set_alt_setting, 2, 4, 16);
	p[o++] = 0;
	p[o++] = 0;
	n = o;
	n += control(p + n, 5, 0x01, 0x0b, 0, 0, 0);
	n += control(p + n, 6, 0x82, 0x00, 0, 0x81, 2);
	ck_assert_uint_eq(feed(p, n, out, sizeof(out)), n);
	ck_assert_mem_eq(out, p, n);
	ck_assert_uint_eq(answers(ans, sizeof(ans)), 0);
	ck_assert_uint_eq(iff_refused_count(filt), 3);
}
END_TEST

START_TEST(test_pin_configuration)
{
	uint8_t p[256], out[256], ans[256];
	size_t n, o;

	guest_hello();
	/* Nothing refused: the keyboard setting is reachable... */
	o = put_hdr(p, usb_redir_set_alt_setting, 2, 1, 16);
	p[o++] = 0;
	p[o++] = 1;
	o += put_hdr(p + o, usb_redir_set_configuration, 1, 2, 16);
	p[o++] = 1;
	o += control(p + o, 3, 0x00, 0x09, 1, 0, 0);
	ck_assert_uint_eq(feed(p, o, out, sizeof(out)), o);
	ck_assert_uint_eq(answers(ans, sizeof(ans)), 0);
	/* ...but no other configuration, nor none, either way. */
	o = put_hdr(p, usb_redir_set_configuration, 1, 4, 16);
	p[o++] = 2;
	o += put_hdr(p + o, usb_redir_set_configuration, 1, 5, 16);
	p[o++] = 0;
	o += control(p + o, 6, 0x00, 0x09, 2, 0, 0);
	o += control(p + o, 7, 0x00, 0x09, 0x0101, 0, 0);
	ck_assert_uint_eq(feed(p, o, out, sizeof(out)), 0);
	n = answers(ans, sizeof(ans));
	ck_assert_uint_eq(n, 2 * (16 + 2) + 2 * (16 + 10));
	ck_assert_int_eq(ans[0], usb_redir_configuration_status);
	ck_assert_int_eq(ans[16], usb_redir_inval);
	ck_assert_int_eq(ans[17], 1);		/* still configuration 1 */
	ck_assert_int_eq(ans[18 + 16], usb_redir_inval);
	ck_assert_int_eq(ans[36 + 16 + 3], usb_redir_stall);
	ck_assert_int_eq(ans[62 + 16 + 3], usb_redir_stall);
	ck_assert_uint_eq(iff_refused_count(filt), 4);
}
END_TEST

/* usbfs returns 18 bytes of device descriptor whatever bLength says. */
START_TEST(test_filter_new_blength_lies)
{
	static const uint8_t lies[] = { 0xff, 0x40, 0x13 };
	const uint8_t refused[] = { 1 };
	size_t len = 18 + sizeof(composite), i;
	struct iff *f;
	uint8_t *desc;

	for (i = 0; i < sizeof(lies); i++) {
		ck_assert_ptr_nonnull(desc = malloc(len));
		memcpy(desc, device_desc, 18);
		memcpy(desc + 18, composite, sizeof(composite));
		desc[0] = lies[i];
		ck_assert_int_eq(iff_new(desc, len, refused, 1, 1, &f), IFF_OK);
		ck_assert_ptr_nonnull(f);
		iff_free(f);
		free(desc);
	}
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("iface_filter");
	TCase *tc = tcase_create("rewrite");

	tcase_add_loop_test(tc, test_rewrite_table, 0,
	    (int)(sizeof(rw_cases) / sizeof(rw_cases[0])));
	tcase_add_test(tc, test_rewrite_content);
	tcase_add_test(tc, test_rewrite_truncations);
	tcase_add_test(tc, test_rewrite_corruptions);
	tcase_add_test(tc, test_filter_new_errors);
	tcase_add_test(tc, test_filter_new_blength_lies);
	suite_add_tcase(s, tc);
	tc = tcase_create("channel");
	tcase_add_checked_fixture(tc, filter_setup, filter_teardown);
	tcase_add_test(tc, test_filter_config_descriptor);
	tcase_add_test(tc, test_filter_refused_requests);
	tcase_add_test(tc, test_filter_allowed_pass);
	tcase_add_test(tc, test_filter_host_info);
	tcase_add_test(tc, test_filter_hello_first);
	suite_add_tcase(s, tc);
	tc = tcase_create("alternate settings");
	tcase_add_test(tc, test_rewrite_alt_pairs);
	suite_add_tcase(s, tc);
	tc = tcase_create("refused alternate setting");
	tcase_add_checked_fixture(tc, alt_setup, filter_teardown);
	tcase_add_test(tc, test_alt_descriptor_hides_keyboard);
	tcase_add_test(tc, test_alt_refused_requests);
	suite_add_tcase(s, tc);
	tc = tcase_create("pinned configuration");
	tcase_add_checked_fixture(tc, pin_setup, filter_teardown);
	tcase_add_test(tc, test_pin_configuration);
	suite_add_tcase(s, tc);
	return s;
}
