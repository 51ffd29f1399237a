/*
 * check_frontend.c: the frontend session translates between vhci's USB/IP
 * and usbredir, and treats the backend as hostile.
 *
 * The backend here is a real libusbredirparser in the host role (a protocol
 * peer, not a mock of ours); the test plays vhci_hcd on the socket the
 * session gets at attach time (or usbgate_hcd, kmod_*: records on a
 * SOCK_SEQPACKET pair, whole records per read as the character device
 * gives them). The session runs in a thread.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <usbredirparser.h>

#include "hidden_alt.h"
#include "session.h"
#include "stream.h"
#include "usbip_wire.h"
#include "usbgate_hcd_uapi.h"
#include "unit_main.h"

/* ---------------------------------------------------------------- peer */

struct rec {
	int type;
	uint64_t id;
	uint8_t ep;
	uint8_t request;
	uint32_t len;
	uint8_t value8;
	uint32_t stream;	/* bulk: stream id; streams: ids asked */
};

struct peer {
	int fd;
	struct usbredirparser *p;
	struct rec log[256];
	int n;
};

static struct peer P;
static struct fe_session *S;
static pthread_t T;
static volatile sig_atomic_t stop_flag;
static int session_rc;
static int vhci_fd = -1;
static volatile int attached;
/* The class set dom0 approved (none unless a test sets one), and the
 * class of the one interface the backend announces. */
static struct fe_classes want;
static uint8_t offer_class[3];
static int joined;
static int kmod_mode;		/* the port is usbgate_hcd's */
static int peer_streams;	/* the backend has usbredir's bulk streams */
static uint8_t kin[1 << 16];	/* its records read, kin[koff..khave) unseen */
static size_t khave, koff;

static int
p_read(void *priv, uint8_t *d, int c)
{
	ssize_t n = read(P.fd, d, (size_t)c);

	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	return (int)n;
}

static int
p_write(void *priv, uint8_t *d, int c)
{
	ssize_t n = write(P.fd, d, (size_t)c);

	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	return (int)n;
}

static void
p_log(void *priv, int level, const char *msg)
{
}

static void
rec(int type, uint64_t id, uint8_t ep, uint8_t req, uint32_t len, uint8_t v)
{
	if (P.n < 256)
		P.log[P.n++] = (struct rec){ type, id, ep, req, len, v };
}

static void
p_control(void *priv, uint64_t id, struct usb_redir_control_packet_header *h,
    uint8_t *data, int len)
{
	rec(usb_redir_control_packet, id, h->endpoint, h->request, h->length, 0);
	usbredirparser_free_packet_data(P.p, data);
}

static void
p_bulk(void *priv, uint64_t id, struct usb_redir_bulk_packet_header *h,
    uint8_t *data, int len)
{
	rec(usb_redir_bulk_packet, id, h->endpoint, 0,
	    h->length | (uint32_t)h->length_high << 16, 0);
	if (P.n > 0)
		P.log[P.n - 1].stream = h->stream_id;
	usbredirparser_free_packet_data(P.p, data);
}

/* Streams requests: the endpoint mask in len, the ids asked in stream. */
static void
p_alloc_streams(void *priv, uint64_t id,
    struct usb_redir_alloc_bulk_streams_header *h)
{
	rec(usb_redir_alloc_bulk_streams, id, 0, 0, h->endpoints, 0);
	if (P.n > 0)
		P.log[P.n - 1].stream = h->no_streams;
}

static void
p_free_streams(void *priv, uint64_t id,
    struct usb_redir_free_bulk_streams_header *h)
{
	rec(usb_redir_free_bulk_streams, id, 0, 0, h->endpoints, 0);
}

static void
p_set_config(void *priv, uint64_t id,
    struct usb_redir_set_configuration_header *h)
{
	rec(usb_redir_set_configuration, id, 0, 0, 0, h->configuration);
}

static void
p_set_alt(void *priv, uint64_t id, struct usb_redir_set_alt_setting_header *h)
{
	rec(usb_redir_set_alt_setting, id, 0, 0, h->interface, h->alt);
}

static void
p_start_int(void *priv, uint64_t id,
    struct usb_redir_start_interrupt_receiving_header *h)
{
	rec(usb_redir_start_interrupt_receiving, id, h->endpoint, 0, 0, 0);
}

static void
p_start_iso(void *priv, uint64_t id,
    struct usb_redir_start_iso_stream_header *h)
{
	rec(usb_redir_start_iso_stream, id, h->endpoint, 0, 0, 0);
}

static void
p_stop_iso(void *priv, uint64_t id,
    struct usb_redir_stop_iso_stream_header *h)
{
	rec(usb_redir_stop_iso_stream, id, h->endpoint, 0, 0, 0);
}

static void
p_cancel(void *priv, uint64_t id)
{
	rec(usb_redir_cancel_data_packet, id, 0, 0, 0, 0);
}

static void
p_reset(void *priv)
{
	rec(usb_redir_reset, 0, 0, 0, 0, 0);
}

static void
p_disconnect_ack(void *priv)
{
	rec(usb_redir_device_disconnect_ack, 0, 0, 0, 0, 0);
}

static void
peer_pump(int ms)
{
	struct pollfd pfd = { P.fd, POLLIN, 0 };

	if (usbredirparser_has_data_to_write(P.p))
		usbredirparser_do_write(P.p);
	if (poll(&pfd, 1, ms) > 0)
		usbredirparser_do_read(P.p);
	if (usbredirparser_has_data_to_write(P.p))
		usbredirparser_do_write(P.p);
}

static const struct rec *
peer_expect(int type)
{
	int i, t;

	for (t = 0; t < 200; t++) {
		for (i = 0; i < P.n; i++)
			if (P.log[i].type == type) {
				static struct rec r;

				r = P.log[i];
				memmove(&P.log[i], &P.log[i + 1],
				    (size_t)(P.n - i - 1) * sizeof(P.log[0]));
				P.n--;
				return &r;
			}
		peer_pump(10);
	}
	ck_abort_msg("backend never saw packet type %d", type);
	return NULL;
}

/* ---------------------------------------------------------------- session */

static int
hook_attach(void *ctx, int speed, uint16_t vid, uint16_t pid)
{
	int sv[2];

	if (socketpair(AF_UNIX, kmod_mode ? SOCK_SEQPACKET : SOCK_STREAM, 0,
	    sv) < 0)
		return FE_E_ATTACH;
	vhci_fd = sv[1];
	attached = speed;
	return sv[0];
}

static void *
run(void *arg)
{
	session_rc = fe_session_run(S, &stop_flag, 5000);
	return NULL;
}

static void
start_session(void)
{
	struct fe_hooks hooks = { .attach = hook_attach, .kmod = kmod_mode };
	uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };
	struct stream *chan;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(stream_from_fds(sv[0], sv[0], &chan), STREAM_OK);
	ck_assert_int_eq(fe_session_new(chan, &hooks, &S), FE_OK);
	stop_flag = 0;
	attached = 0;
	vhci_fd = -1;
	joined = 0;
	memset(&P, 0, sizeof(P));
	P.fd = sv[1];
	fcntl(P.fd, F_SETFL, O_NONBLOCK);
	P.p = usbredirparser_create();
	P.p->log_func = p_log;
	P.p->read_func = p_read;
	P.p->write_func = p_write;
	P.p->control_packet_func = p_control;
	P.p->bulk_packet_func = p_bulk;
	P.p->set_configuration_func = p_set_config;
	P.p->set_alt_setting_func = p_set_alt;
	P.p->start_interrupt_receiving_func = p_start_int;
	P.p->start_iso_stream_func = p_start_iso;
	P.p->stop_iso_stream_func = p_stop_iso;
	P.p->cancel_data_packet_func = p_cancel;
	P.p->device_disconnect_ack_func = p_disconnect_ack;
	P.p->reset_func = p_reset;
	P.p->alloc_bulk_streams_func = p_alloc_streams;
	P.p->free_bulk_streams_func = p_free_streams;
	if (peer_streams)
		usbredirparser_caps_set_cap(caps, usb_redir_cap_bulk_streams);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_device_disconnect_ack);
	usbredirparser_init(P.p, "check-backend", caps, USB_REDIR_CAPS_SIZE,
	    usbredirparser_fl_usb_host);
	S->classes = want;
	ck_assert_int_eq(pthread_create(&T, NULL, run, NULL), 0);
}

#define ISO_EPS	6	/* iso-IN endpoints 0x84..0x89 */

static void
offer_device(uint8_t speed)
{
	struct usb_redir_ep_info_header ep;
	struct usb_redir_interface_info_header ii;
	struct usb_redir_device_connect_header dc = {
		.speed = speed, .vendor_id = 0x1234, .product_id = 0x5678,
	};
	int i;

	/* Like usbredirhost: nothing but hello before the peer's hello. */
	for (i = 0; i < 300 && !usbredirparser_have_peer_caps(P.p); i++)
		peer_pump(10);
	ck_assert(usbredirparser_have_peer_caps(P.p));
	memset(&ii, 0, sizeof(ii));
	ii.interface_count = 1;
	ii.interface_class[0] = offer_class[0];
	ii.interface_subclass[0] = offer_class[1];
	ii.interface_protocol[0] = offer_class[2];
	memset(&ep, 0, sizeof(ep));
	for (i = 0; i < 32; i++)
		ep.type[i] = usb_redir_type_invalid;
	ep.type[0] = ep.type[16] = usb_redir_type_control;
	ep.type[16 + 1] = usb_redir_type_bulk;		/* 0x81 */
	ep.type[2] = usb_redir_type_bulk;		/* 0x02 */
	ep.type[16 + 3] = usb_redir_type_interrupt;	/* 0x83 */
	ep.max_packet_size[17] = ep.max_packet_size[2] = 512;
	ep.max_packet_size[19] = 64;
	ep.interval[19] = 4;
	for (i = 16 + 4; i < 16 + 4 + ISO_EPS; i++) {	/* 0x84.. */
		ep.type[i] = usb_redir_type_iso;
		ep.max_packet_size[i] = 1024;
		ep.interval[i] = 1;
	}
	usbredirparser_send_interface_info(P.p, &ii);
	usbredirparser_send_ep_info(P.p, &ep);
	usbredirparser_send_device_connect(P.p, &dc);
}

static void
connect_device(void)
{
	int t;

	offer_device(usb_redir_speed_high);
	for (t = 0; t < 300 && !attached; t++)
		peer_pump(10);
	ck_assert_int_eq(attached, FE_SPEED_HIGH);
}

static void
on_usr1(int sig)
{
}

/* Stop the session thread; S stays for inspection until finish(). */
static void
stop_thread(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	stop_flag = 1;
	pthread_kill(T, SIGUSR1);
	pthread_join(T, NULL);
	joined = 1;
}

static int
finish(void)
{
	if (!joined)
		stop_thread();
	fe_session_free(S);
	usbredirparser_destroy(P.p);
	close(P.fd);
	if (vhci_fd >= 0)
		close(vhci_fd);
	kmod_mode = 0;
	peer_streams = 0;
	khave = koff = 0;
	return session_rc;
}

/* Wait for the session to end on its own (after hostile input). */
static int
wait_end(void)
{
	int t;

	for (t = 0; t < 300; t++) {
		if (S->error != FE_OK)
			break;
		peer_pump(10);
	}
	return finish();
}

/* ---------------------------------------------------------------- vhci */

static void
vhci_submit(uint32_t seq, int in, uint8_t ep, uint32_t len, uint32_t flags,
    const uint8_t setup[8], const void *data)
{
	struct usbip_cmd c = {
		.command = USBIP_CMD_SUBMIT, .seqnum = seq,
		.direction = in ? USBIP_DIR_IN : USBIP_DIR_OUT, .ep = ep,
		.length = len, .transfer_flags = flags,
	};
	uint8_t hdr[USBIP_HDR_LEN];

	if (setup != NULL)
		memcpy(c.setup, setup, 8);
	usbip_encode_cmd(hdr, &c);
	ck_assert_int_eq(write(vhci_fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	if (!in && len > 0 && data != NULL)
		ck_assert_int_eq(write(vhci_fd, data, len), (ssize_t)len);
}

/* An iso-IN CMD_SUBMIT of len bytes with n descriptors {offset, length}. */
static void
vhci_submit_iso_in(uint32_t seq, uint8_t ep, uint32_t len, uint32_t n,
    const uint32_t (*desc)[2])
{
	struct usbip_cmd c = {
		.command = USBIP_CMD_SUBMIT, .seqnum = seq,
		.direction = USBIP_DIR_IN, .ep = ep, .length = len,
		.number_of_packets = n, .interval = 1,
	};
	uint8_t hdr[USBIP_HDR_LEN], d[USBIP_ISO_DESC_LEN];
	uint32_t i;

	usbip_encode_cmd(hdr, &c);
	ck_assert_int_eq(write(vhci_fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	for (i = 0; i < n; i++) {
		struct usbip_iso_desc id = { desc[i][0], desc[i][1], 0, 0 };

		usbip_encode_iso_desc(d, &id);
		ck_assert_int_eq(write(vhci_fd, d, sizeof(d)), (ssize_t)sizeof(d));
	}
}

static void
vhci_unlink(uint32_t seq, uint32_t target)
{
	struct usbip_cmd c = { .command = USBIP_CMD_UNLINK, .seqnum = seq,
	    .unlink_seqnum = target };
	uint8_t hdr[USBIP_HDR_LEN];

	usbip_encode_cmd(hdr, &c);
	ck_assert_int_eq(write(vhci_fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Read exactly n bytes from vhci while pumping the peer; -1 on EOF. */
static int
vhci_read(uint8_t *buf, size_t n)
{
	size_t got = 0;
	int t;

	for (t = 0; t < 500 && got < n; t++) {
		struct pollfd pfd = { vhci_fd, POLLIN, 0 };
		ssize_t r;

		peer_pump(0);
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		r = read(vhci_fd, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return got == n ? 0 : -1;
}

struct ret {
	uint32_t command, seqnum;
	int32_t status;
	uint32_t actual;
};

static struct ret
vhci_ret(uint8_t *data, size_t max)
{
	uint8_t h[USBIP_HDR_LEN];
	struct ret r;

	ck_assert_msg(vhci_read(h, sizeof(h)) == 0, "no answer from the session");
	r.command = be32(h);
	r.seqnum = be32(h + 4);
	r.status = (int32_t)be32(h + 20);
	r.actual = be32(h + 24);
	if (r.command == USBIP_RET_SUBMIT && r.actual > 0 && data != NULL) {
		ck_assert_uint_le(r.actual, max);
		ck_assert_int_eq(vhci_read(data, r.actual), 0);
	}
	return r;
}

static void
answer_bulk(uint64_t id, uint8_t ep, uint8_t status, const uint8_t *data,
    uint32_t len)
{
	struct usb_redir_bulk_packet_header h = {
		.endpoint = ep, .status = status, .length = (uint16_t)len,
		.length_high = (uint16_t)(len >> 16),
	};

	usbredirparser_send_bulk_packet(P.p, id, &h, (uint8_t *)data,
	    data != NULL ? (int)len : 0);
	peer_pump(0);
}

/* ---------------------------------------------------------------- tests */

START_TEST(control_in_round_trip)
{
	static const uint8_t get_dev[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };
	struct usb_redir_control_packet_header h;
	uint8_t desc[18], got[64];
	const struct rec *r;
	struct ret ret;
	int i;

	start_session();
	connect_device();
	vhci_submit(1, 1, 0, 64, 0, get_dev, NULL);
	r = peer_expect(usb_redir_control_packet);
	ck_assert_uint_eq(r->request, 6);
	ck_assert_uint_eq(r->len, 18);	/* wLength, not the URB length */
	for (i = 0; i < 18; i++)
		desc[i] = (uint8_t)i;
	memset(&h, 0, sizeof(h));
	h.endpoint = 0x80;
	h.request = 6;
	h.requesttype = 0x80;
	h.length = 18;
	usbredirparser_send_control_packet(P.p, r->id, &h, desc, 18);
	ret = vhci_ret(got, sizeof(got));
	ck_assert_uint_eq(ret.command, USBIP_RET_SUBMIT);
	ck_assert_uint_eq(ret.seqnum, 1);
	ck_assert_int_eq(ret.status, 0);
	ck_assert_uint_eq(ret.actual, 18);
	ck_assert_int_eq(memcmp(got, desc, 18), 0);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

START_TEST(set_configuration_becomes_usbredir_request)
{
	static const uint8_t set_cfg[8] = { 0x00, 9, 1, 0, 0, 0, 0, 0 };
	struct usb_redir_configuration_status_header st = { 0, 1 };
	const struct rec *r;
	struct ret ret;

	start_session();
	connect_device();
	vhci_submit(2, 0, 0, 0, 0, set_cfg, NULL);
	r = peer_expect(usb_redir_set_configuration);
	ck_assert_uint_eq(r->value8, 1);
	usbredirparser_send_configuration_status(P.p, r->id, &st);
	ret = vhci_ret(NULL, 0);
	ck_assert_uint_eq(ret.seqnum, 2);
	ck_assert_int_eq(ret.status, 0);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

START_TEST(bulk_in_data_reaches_vhci_intact)
{
	uint8_t data[4096], got[4096];
	const struct rec *r;
	struct ret ret;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	start_session();
	connect_device();
	vhci_submit(3, 1, 1, 4096, 0, NULL, NULL);
	r = peer_expect(usb_redir_bulk_packet);
	ck_assert_uint_eq(r->ep, 0x81);
	ck_assert_uint_eq(r->len, 4096);
	answer_bulk(r->id, 0x81, usb_redir_success, data, 4096);
	ret = vhci_ret(got, sizeof(got));
	ck_assert_uint_eq(ret.actual, 4096);
	ck_assert_int_eq(memcmp(got, data, 4096), 0);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

START_TEST(short_read_with_short_not_ok_is_an_error)
{
	uint8_t data[100] = { 0 }, got[512];
	const struct rec *r;
	struct ret ret;

	start_session();
	connect_device();
	vhci_submit(4, 1, 1, 512, USBIP_URB_SHORT_NOT_OK, NULL, NULL);
	r = peer_expect(usb_redir_bulk_packet);
	answer_bulk(r->id, 0x81, usb_redir_success, data, 100);
	ret = vhci_ret(got, sizeof(got));
	ck_assert_int_eq(ret.status, -EREMOTEIO);
	ck_assert_uint_eq(ret.actual, 100);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

START_TEST(bulk_answer_longer_than_request_ends_session)
{
	uint8_t data[1024] = { 0 }, h[USBIP_HDR_LEN];
	const struct rec *r;

	start_session();
	connect_device();
	vhci_submit(5, 1, 1, 512, 0, NULL, NULL);
	r = peer_expect(usb_redir_bulk_packet);
	answer_bulk(r->id, 0x81, usb_redir_success, data, 1024);
	ck_assert_int_eq(wait_end(), FE_E_PROTO);
	/* Nothing reached the kernel: the socket ends without an answer. */
	(void)h;
}
END_TEST

START_TEST(answer_for_unknown_id_ends_session)
{
	uint8_t data[8] = { 0 };

	start_session();
	connect_device();
	answer_bulk(777, 0x81, usb_redir_success, data, 8);
	ck_assert_int_eq(wait_end(), FE_E_PROTO);
}
END_TEST

START_TEST(answer_on_other_endpoint_ends_session)
{
	uint8_t data[8] = { 0 };
	const struct rec *r;

	start_session();
	connect_device();
	vhci_submit(6, 1, 1, 512, 0, NULL, NULL);
	r = peer_expect(usb_redir_bulk_packet);
	answer_bulk(r->id, 0x83, usb_redir_success, data, 8);
	ck_assert_int_eq(wait_end(), FE_E_PROTO);
}
END_TEST

START_TEST(invalid_speed_ends_session_before_attach)
{
	start_session();
	offer_device(9);
	ck_assert_int_eq(wait_end(), FE_E_PROTO);
	ck_assert_int_eq(attached, 0);
}
END_TEST

START_TEST(unlink_of_pending_bulk_cancels_at_backend)
{
	uint8_t got[16];
	const struct rec *r, *c;
	struct ret ret;
	uint64_t id;

	start_session();
	connect_device();
	vhci_submit(10, 1, 1, 512, 0, NULL, NULL);
	r = peer_expect(usb_redir_bulk_packet);
	id = r->id;
	vhci_unlink(11, 10);
	c = peer_expect(usb_redir_cancel_data_packet);
	ck_assert_uint_eq(c->id, id);
	answer_bulk(id, 0x81, usb_redir_cancelled, NULL, 0);
	ret = vhci_ret(got, sizeof(got));
	ck_assert_uint_eq(ret.command, USBIP_RET_UNLINK);
	ck_assert_uint_eq(ret.seqnum, 11);
	ck_assert_int_eq(ret.status, -ECONNRESET);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

START_TEST(unlink_racing_completion_gives_data_then_zero_unlink)
{
	uint8_t data[32] = { 1, 2, 3 }, got[64];
	const struct rec *r;
	struct ret ret;

	start_session();
	connect_device();
	vhci_submit(20, 1, 1, 64, 0, NULL, NULL);
	r = peer_expect(usb_redir_bulk_packet);
	vhci_unlink(21, 20);
	peer_expect(usb_redir_cancel_data_packet);
	/* The transfer finished before the cancel reached the device. */
	answer_bulk(r->id, 0x81, usb_redir_success, data, 32);
	ret = vhci_ret(got, sizeof(got));
	ck_assert_uint_eq(ret.command, USBIP_RET_SUBMIT);
	ck_assert_uint_eq(ret.actual, 32);
	ret = vhci_ret(NULL, 0);
	ck_assert_uint_eq(ret.command, USBIP_RET_UNLINK);
	ck_assert_int_eq(ret.status, 0);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

START_TEST(interrupt_in_uses_receiving_and_keeps_zlp)
{
	struct usb_redir_interrupt_packet_header h = { .endpoint = 0x83 };
	uint8_t rep[64], got[64];
	struct ret ret;

	memset(rep, 0xab, sizeof(rep));
	start_session();
	connect_device();
	vhci_submit(30, 1, 3, 64, 0, NULL, NULL);
	peer_expect(usb_redir_start_interrupt_receiving);
	h.length = 64;
	usbredirparser_send_interrupt_packet(P.p, 0, &h, rep, 64);
	h.length = 0;
	usbredirparser_send_interrupt_packet(P.p, 0, &h, NULL, 0);
	ret = vhci_ret(got, sizeof(got));
	ck_assert_uint_eq(ret.seqnum, 30);
	ck_assert_uint_eq(ret.actual, 64);
	ck_assert_int_eq(memcmp(got, rep, 64), 0);
	vhci_submit(31, 1, 3, 64, 0, NULL, NULL);
	ret = vhci_ret(got, sizeof(got));
	ck_assert_uint_eq(ret.seqnum, 31);
	ck_assert_uint_eq(ret.actual, 0);	/* the ZLP, faithfully */
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

START_TEST(lying_packet_length_ends_session)
{
	/* bulk_packet claiming 100 bytes of IN data but carrying 20 */
	uint8_t pkt[16 + 10 + 20];
	const struct rec *r;

	memset(pkt, 0, sizeof(pkt));
	start_session();
	connect_device();
	vhci_submit(40, 1, 1, 512, 0, NULL, NULL);
	r = peer_expect(usb_redir_bulk_packet);
	pkt[0] = usb_redir_bulk_packet;			/* type */
	pkt[4] = 10 + 20;				/* length */
	memcpy(pkt + 8, &r->id, 8);			/* id (LE host) */
	pkt[16] = 0x81;					/* endpoint */
	pkt[18] = 100;					/* length lo */
	ck_assert_int_eq(write(P.fd, pkt, sizeof(pkt)), (ssize_t)sizeof(pkt));
	ck_assert_int_eq(wait_end(), FE_E_PROTO);
}
END_TEST

START_TEST(unknown_packet_type_ends_session)
{
	uint8_t pkt[16] = { 0x39, 0x30 };	/* type 12345, no payload */

	start_session();
	connect_device();
	ck_assert_int_eq(write(P.fd, pkt, sizeof(pkt)), (ssize_t)sizeof(pkt));
	ck_assert_int_eq(wait_end(), FE_E_PROTO);
}
END_TEST

START_TEST(backend_eof_ends_session)
{
	start_session();
	connect_device();
	shutdown(P.fd, SHUT_RDWR);
	ck_assert_int_eq(wait_end(), FE_E_EOF);
}
END_TEST

START_TEST(device_disconnect_ends_session_cleanly)
{
	start_session();
	connect_device();
	usbredirparser_send_device_disconnect(P.p);
	peer_pump(0);
	/* The guest side acknowledges, as the protocol asks. */
	peer_expect(usb_redir_device_disconnect_ack);
	ck_assert_int_eq(wait_end(), FE_E_DISCONNECT);
}
END_TEST

START_TEST(no_device_within_timeout)
{
	struct fe_hooks hooks = { .attach = hook_attach };
	struct stream *chan;
	struct fe_session *s;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(stream_from_fds(sv[0], sv[0], &chan), STREAM_OK);
	ck_assert_int_eq(fe_session_new(chan, &hooks, &s), FE_OK);
	ck_assert_int_eq(fe_session_run(s, NULL, 200), FE_E_TIMEOUT);
	fe_session_free(s);
	close(sv[1]);
}
END_TEST

START_TEST(latency_percentiles_come_from_the_histogram)
{
	struct fe_stats st;
	int i;

	memset(&st, 0, sizeof(st));
	/* 99 fast (~100 us) and 1 slow (~10 ms): p50 near 100, p99 near 100 */
	for (i = 0; i < 99; i++)
		st.lat[4 * 6 + 2 + 1]++;	/* [96,112) us */
	st.lat[4 * 13 + 1 + 1]++;		/* [10240,12288) us */
	st.lat_n = 100;
	ck_assert_uint_eq(fe_lat_percentile(&st, 50), 112);
	ck_assert_uint_eq(fe_lat_percentile(&st, 99), 112);
	ck_assert_uint_eq(fe_lat_percentile(&st, 100), 12288);
}
END_TEST

START_TEST(port_reset_of_a_configured_device_becomes_a_real_reset)
{
	static const uint8_t set_cfg[8] = { 0x00, 9, 1, 0, 0, 0, 0, 0 };
	static const uint8_t get_dev[8] = { 0x80, 6, 0, 1, 0, 0, 64, 0 };
	struct usb_redir_configuration_status_header st = { 0, 1 };
	const struct rec *r;
	int i, saw_reset = 0;

	start_session();
	connect_device();
	/* enumeration: the device descriptor before configuration is not a reset */
	vhci_submit(50, 1, 0, 64, 0, get_dev, NULL);
	peer_expect(usb_redir_control_packet);
	for (i = 0; i < P.n; i++)
		ck_assert_int_ne(P.log[i].type, usb_redir_reset);
	vhci_submit(51, 0, 0, 0, 0, set_cfg, NULL);
	r = peer_expect(usb_redir_set_configuration);
	usbredirparser_send_configuration_status(P.p, r->id, &st);
	vhci_ret(NULL, 0);
	/* configured: the kernel reads it again only after a port reset */
	vhci_submit(52, 1, 0, 64, 0, get_dev, NULL);
	peer_expect(usb_redir_control_packet);
	for (i = 0; i < 20 && !saw_reset; i++) {
		int k;

		for (k = 0; k < P.n; k++)
			saw_reset |= P.log[k].type == usb_redir_reset;
		peer_pump(10);
	}
	ck_assert_msg(saw_reset, "no usbredir reset reached the backend");
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/*
 * Each iso-IN descriptor lies inside the URB, but together they ask for
 * twice its length: the packed input gathered for them would not fit the
 * URB's buffer. The session refuses the URB; the backend's full packets
 * never make an answer longer than the URB.
 */
START_TEST(iso_in_descriptors_longer_than_the_urb_are_refused)
{
	static const uint32_t desc[2][2] = { { 0, 64 }, { 0, 64 } };
	struct usb_redir_iso_packet_header h = { .endpoint = 0x84,
	    .length = 64 };
	uint8_t pkt[64];
	struct ret ret;
	int i;

	memset(pkt, 0xcd, sizeof(pkt));
	start_session();
	connect_device();
	vhci_submit_iso_in(60, 4, 64, 2, desc);
	for (i = 0; i < 20; i++)
		peer_pump(5);
	for (i = 0; i < 2; i++)
		usbredirparser_send_iso_packet(P.p, 0, &h, pkt, 64);
	peer_pump(0);
	ret = vhci_ret(NULL, 0);
	ck_assert_uint_eq(ret.seqnum, 60);
	ck_assert_uint_le(ret.actual, 64);
	ck_assert_int_eq(ret.status, -EINVAL);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/*
 * An iso packet that failed in sys-usb (a status other than success) fills
 * its slot of the URB as an error and is counted, apart from the packets
 * dropped on overflow: where a webcam's lost frames went.
 */
START_TEST(iso_packet_failed_in_sys_usb_is_counted)
{
	static const uint32_t desc[2][2] = { { 0, 64 }, { 64, 64 } };
	struct usb_redir_iso_packet_header h = { .endpoint = 0x84,
	    .length = 64 };
	uint8_t pkt[64], data[128];
	struct ret ret;

	memset(pkt, 0xcd, sizeof(pkt));
	start_session();
	connect_device();
	vhci_submit_iso_in(61, 4, 128, 2, desc);
	peer_expect(usb_redir_start_iso_stream);
	usbredirparser_send_iso_packet(P.p, 0, &h, pkt, 64);
	h.status = usb_redir_ioerror;
	h.length = 0;
	usbredirparser_send_iso_packet(P.p, 0, &h, NULL, 0);
	peer_pump(0);
	ret = vhci_ret(data, sizeof(data));
	ck_assert_uint_eq(ret.seqnum, 61);
	stop_thread();
	ck_assert_uint_eq(S->stats.iso_failed, 1);
	ck_assert_uint_eq(S->stats.iso_dropped, 0);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/* Bytes buffered as input on endpoint index i, counted from the ring. */
static uint64_t
queued_bytes(int i)
{
	const struct fe_ep *e = &S->ep[i];
	uint64_t sum = 0;
	uint32_t k;

	for (k = 0; k < e->pkt_len; k++)
		sum += e->pkts[(e->pkt_head + k) % e->pkt_cap].len;
	return sum;
}

/*
 * A hostile backend floods every started iso-IN endpoint with packets of
 * the largest size no URB asks for. What the session holds stays under its
 * byte bounds, per endpoint and in all; the excess is dropped and counted.
 */
START_TEST(iso_flood_is_bounded_by_bytes)
{
	static const uint32_t desc[1][2] = { { 0, 1024 } };
	struct usb_redir_iso_packet_header h = { .length = FE_MAX_PKT };
	static uint8_t pkt[FE_MAX_PKT];
	uint64_t total = 0, held;
	int i, k;

	start_session();
	connect_device();
	for (i = 0; i < ISO_EPS; i++) {
		vhci_submit_iso_in(70 + (uint32_t)i, (uint8_t)(4 + i), 1024, 1,
		    desc);
		peer_expect(usb_redir_start_iso_stream);
	}
	/* 120 packets of 48 KiB on each endpoint: 5.6 MiB each, 34 MiB in all */
	for (k = 0; k < 120; k++)
		for (i = 0; i < ISO_EPS; i++) {
			h.endpoint = (uint8_t)(0x84 + i);
			usbredirparser_send_iso_packet(P.p, 0, &h, pkt,
			    FE_MAX_PKT);
		}
	usbredirparser_send_device_disconnect(P.p);
	while (usbredirparser_has_data_to_write(P.p)) {
		struct pollfd pfd = { P.fd, POLLOUT, 0 };

		poll(&pfd, 1, 10);
		usbredirparser_do_write(P.p);
	}
	/* The ack comes after every packet of the flood was taken in. */
	peer_expect(usb_redir_device_disconnect_ack);
	for (i = 0; i < 300 && S->error == FE_OK; i++)
		peer_pump(10);
	stop_thread();
	ck_assert_int_eq(S->error, FE_E_DISCONNECT);
	for (i = 0; i < ISO_EPS; i++) {
		held = queued_bytes(16 + 4 + i);
		ck_assert_msg(held <= FE_EP_QUEUE_BYTES,
		    "ep %02x holds %llu bytes", 0x84 + i,
		    (unsigned long long)held);
		total += held;
	}
	ck_assert_msg(total <= FE_SESSION_QUEUE_BYTES,
	    "the session holds %llu bytes", (unsigned long long)total);
	ck_assert_uint_gt(S->stats.iso_dropped, 0);
	ck_assert_int_eq(finish(), FE_E_DISCONNECT);
}
END_TEST

/*
 * A hostile backend: thousands of packets with random (but encodable)
 * headers, ids drawn from URBs in flight and from nowhere, random lengths
 * and statuses, and now and then raw garbage. Whatever happens to the
 * session, everything that reaches vhci must be a well-formed answer to an
 * URB that was submitted and is still open, never longer than it asked for.
 */
struct open_urb {
	uint32_t seq;
	uint32_t len;
	int in;
	int open;
};

static void
check_vhci_output(struct open_urb *u, int n)
{
	uint8_t h[USBIP_HDR_LEN], *data = malloc(1 << 16);
	struct pollfd pfd = { vhci_fd, POLLIN, 0 };

	while (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN)) {
		uint32_t cmd, seq, actual;
		int i, found = -1;

		if (vhci_read(h, sizeof(h)) < 0)
			break;		/* the session ended and closed it */
		cmd = be32(h);
		seq = be32(h + 4);
		actual = be32(h + 24);
		ck_assert_msg(cmd == USBIP_RET_SUBMIT || cmd == USBIP_RET_UNLINK,
		    "bad command %u to vhci", cmd);
		if (cmd == USBIP_RET_UNLINK)
			continue;
		for (i = 0; i < n; i++)
			if (u[i].seq == seq)
				found = i;
		ck_assert_msg(found >= 0, "answer for seqnum %u never submitted", seq);
		ck_assert_msg(u[found].open, "seqnum %u answered twice", seq);
		ck_assert_msg(actual <= u[found].len, "seqnum %u: %u bytes for %u",
		    seq, actual, u[found].len);
		u[found].open = 0;
		if (u[found].in && actual > 0)
			ck_assert_int_eq(vhci_read(data, actual), 0);
	}
	free(data);
}

START_TEST(hostile_backend_never_gets_a_malformed_answer_to_vhci)
{
	static const uint8_t get_dev[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };
	struct open_urb u[16];
	const struct rec *r;
	uint64_t ids[16];
	unsigned int seed = 0x5eed0000u + (unsigned int)_i;
	int i, n = 0, it;

	start_session();
	connect_device();
	for (i = 0; i < 6; i++) {
		u[n] = (struct open_urb){ 200 + (uint32_t)i, 512, 1, 1 };
		vhci_submit(u[n].seq, 1, 1, 512, 0, NULL, NULL);
		r = peer_expect(usb_redir_bulk_packet);
		ids[n++] = r->id;
	}
	u[n] = (struct open_urb){ 210, 64, 1, 1 };
	vhci_submit(210, 1, 0, 64, 0, get_dev, NULL);
	r = peer_expect(usb_redir_control_packet);
	ids[n++] = r->id;
	u[n] = (struct open_urb){ 211, 64, 1, 1 };
	vhci_submit(211, 1, 3, 64, 0, NULL, NULL);
	peer_expect(usb_redir_start_interrupt_receiving);
	ids[n++] = 0;

	for (it = 0; it < 3000 && S->error == FE_OK; it++) {
		uint8_t buf[1024];
		uint64_t id = (rand_r(&seed) & 3) ? ids[rand_r(&seed) % n] :
		    (uint64_t)rand_r(&seed);
		uint32_t len = (uint32_t)(rand_r(&seed) % 1024);
		uint8_t ep = (uint8_t)(rand_r(&seed) & 0x8f);
		uint8_t st = (uint8_t)(rand_r(&seed) % 9);
		size_t k;

		for (k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)rand_r(&seed);
		switch (rand_r(&seed) % 7) {
		case 0: {
			struct usb_redir_bulk_packet_header h = { .endpoint = ep,
			    .status = st, .length = (uint16_t)len };

			usbredirparser_send_bulk_packet(P.p, id, &h, buf,
			    (ep & 0x80) ? (int)len : 0);
			break;
		}
		case 1: {
			struct usb_redir_control_packet_header h = { .endpoint = ep,
			    .status = st, .length = (uint16_t)len };

			usbredirparser_send_control_packet(P.p, id, &h, buf,
			    (ep & 0x80) ? (int)len : 0);
			break;
		}
		case 2: {
			struct usb_redir_interrupt_packet_header h = {
			    .endpoint = ep | 0x80, .status = st,
			    .length = (uint16_t)(len % 80) };

			usbredirparser_send_interrupt_packet(P.p, id, &h, buf,
			    (int)(len % 80));
			break;
		}
		case 3: {
			struct usb_redir_configuration_status_header h = { st, 1 };

			usbredirparser_send_configuration_status(P.p, id, &h);
			break;
		}
		case 4: {
			struct usb_redir_ep_info_header e;

			for (k = 0; k < 32; k++) {
				e.type[k] = (uint8_t)(rand_r(&seed) % 5);
				e.interval[k] = (uint8_t)rand_r(&seed);
				e.interface[k] = (uint8_t)rand_r(&seed);
				e.max_packet_size[k] = (uint16_t)rand_r(&seed);
				e.max_streams[k] = 0;
			}
			e.type[0] = e.type[16] = usb_redir_type_control;
			usbredirparser_send_ep_info(P.p, &e);
			break;
		}
		case 5:
			/* raw bytes: a header of any type and length (the write
			 * fails once the session has hung up: fine) */
			if (write(P.fd, buf, 16 + len % 64) < 0)
				it = 3000;
			break;
		default: {
			struct usb_redir_iso_packet_header h = { .endpoint = ep,
			    .status = st, .length = (uint16_t)(len % 200) };

			usbredirparser_send_iso_packet(P.p, id, &h, buf,
			    (int)(len % 200));
			break;
		}
		}
		peer_pump(0);
		check_vhci_output(u, n);
	}
	for (i = 0; i < 20; i++) {
		peer_pump(5);
		check_vhci_output(u, n);
	}
	/* Either it survived everything or it ended for a stated reason. */
	i = finish();
	ck_assert_msg(i == FE_E_STOPPED || i == FE_E_PROTO, "ended with %d", i);
}
END_TEST

/* ---------------------------------------------------------------- kmod */

static void
kmod_write(const void *rec, size_t len)
{
	ck_assert_int_eq(write(vhci_fd, rec, len), (ssize_t)len);
}

/* UGH_K_SUBMIT of URB id on ep (0x80: IN) and stream, OUT data copied in. */
static void
kmod_submit_on(uint64_t id, uint8_t ep, uint8_t xfer, uint32_t len,
    const uint8_t setup[8], const void *data, uint32_t stream)
{
	uint8_t buf[sizeof(struct ugh_submit) + 256] = { 0 };
	struct ugh_submit *h = (struct ugh_submit *)buf;
	uint32_t out = (ep & 0x80) ? 0 : len;

	ck_assert_uint_le(out, 256);
	h->hdr.type = UGH_K_SUBMIT;
	h->hdr.len = UGH_ALIGN(sizeof(*h) + out);
	h->hdr.id = id;
	h->ep = ep;
	h->xfer = xfer;
	h->length = len;
	h->stream = stream;
	if (setup != NULL)
		memcpy(h->setup, setup, 8);
	if (out > 0)
		memcpy(h + 1, data, out);
	kmod_write(buf, h->hdr.len);
}

static void
kmod_submit(uint64_t id, uint8_t ep, uint8_t xfer, uint32_t len,
    const uint8_t setup[8], const void *data)
{
	kmod_submit_on(id, ep, xfer, len, setup, data, 0);
}

/* A bulk streams request: allocation of streams ids, or a free (0). */
static void
kmod_streams(uint64_t id, uint32_t endpoints, uint32_t streams)
{
	struct ugh_streams r = {
		.hdr = {
			.type = streams ? UGH_K_ALLOC_STREAMS : UGH_K_FREE_STREAMS,
			.len = sizeof(r), .id = id,
		},
		.endpoints = endpoints, .streams = streams,
	};

	kmod_write(&r, sizeof(r));
}

/* The backend's answer to a streams request. */
static void
answer_streams(uint64_t id, uint32_t endpoints, uint32_t streams,
    uint8_t status)
{
	struct usb_redir_bulk_streams_status_header h = {
		.endpoints = endpoints, .no_streams = streams, .status = status,
	};

	usbredirparser_send_bulk_streams_status(P.p, id, &h);
	peer_pump(0);
}

static void
kmod_notice(uint16_t type, uint64_t id)
{
	struct ugh_rec r = { .type = type, .len = sizeof(r), .id = id };

	kmod_write(&r, sizeof(r));
}

/* The next record the session wrote (into buf, at most max bytes). */
static struct ugh_rec
kmod_read(uint8_t *buf, size_t max)
{
	uint8_t *in = kin;
	size_t have = khave, off = koff;
	struct ugh_rec r;
	int t;

	for (t = 0; t < 500 && have - off == 0; t++) {
		struct pollfd pfd = { vhci_fd, POLLIN, 0 };
		ssize_t n;

		peer_pump(0);
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		n = read(vhci_fd, in, sizeof(kin));
		ck_assert_int_gt(n, 0);
		have = (size_t)n;
		off = 0;
	}
	ck_assert_msg(have - off >= sizeof(r), "no record from the session");
	memcpy(&r, in + off, sizeof(r));
	ck_assert_uint_ge(r.len, sizeof(r));
	ck_assert_uint_eq(r.len % 8, 0);
	ck_assert_uint_le(r.len, have - off);
	ck_assert_uint_le(r.len, max);
	memcpy(buf, in + off, r.len);
	khave = have;
	koff = off + r.len;
	return r;
}

/* The next record, the answer to streams request id. */
static struct ugh_streams_done
kmod_read_streams_done(uint64_t id)
{
	struct ugh_streams_done d;
	uint8_t got[256];
	struct ugh_rec r = kmod_read(got, sizeof(got));

	ck_assert_uint_eq(r.type, UGH_F_STREAMS_DONE);
	ck_assert_uint_eq(r.len, sizeof(d));
	memcpy(&d, got, sizeof(d));
	ck_assert_uint_eq(d.hdr.id, id);
	return d;
}

/* A session on usbgate_hcd with the backend's device attached. */
static void
kmod_start(void)
{
	kmod_mode = 1;
	start_session();
	connect_device();
}

/* The next record, a completion: its fixed part in c, all of it in got. */
static void
kmod_read_complete(uint8_t *got, size_t max, struct ugh_complete *c)
{
	struct ugh_rec r = kmod_read(got, max);

	ck_assert_uint_eq(r.type, UGH_F_COMPLETE);
	ck_assert_uint_ge(r.len, sizeof(*c));
	memcpy(c, got, sizeof(*c));
}

START_TEST(kmod_bulk_in_round_trip)
{
	uint8_t data[32], got[256];
	struct ugh_complete c;
	const struct rec *r;
	int i;

	for (i = 0; i < 32; i++)
		data[i] = (uint8_t)(i * 7);
	kmod_start();
	kmod_submit(1, 0x81, UGH_XFER_BULK, 512, NULL, NULL);
	r = peer_expect(usb_redir_bulk_packet);
	ck_assert_uint_eq(r->ep, 0x81);
	ck_assert_uint_eq(r->len, 512);
	answer_bulk(r->id, 0x81, usb_redir_success, data, 32);
	kmod_read_complete(got, sizeof(got), &c);
	ck_assert_uint_eq(c.hdr.id, 1);
	ck_assert_uint_eq(c.hdr.len, UGH_ALIGN(sizeof(c) + 32));
	ck_assert_int_eq(c.status, 0);
	ck_assert_uint_eq(c.actual, 32);
	ck_assert_uint_eq(c.packets, 0);
	ck_assert_mem_eq(got + sizeof(c), data, 32);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

START_TEST(kmod_bulk_out_completes_with_the_length_taken)
{
	uint8_t data[100], got[256];
	struct ugh_complete c;
	const struct rec *r;
	struct usb_redir_bulk_packet_header h = { .endpoint = 0x02,
	    .status = usb_redir_success, .length = 100 };

	memset(data, 0x5a, sizeof(data));
	kmod_start();
	kmod_submit(7, 0x02, UGH_XFER_BULK, 100, NULL, data);
	r = peer_expect(usb_redir_bulk_packet);
	ck_assert_uint_eq(r->len, 100);
	usbredirparser_send_bulk_packet(P.p, r->id, &h, NULL, 0);
	peer_pump(0);
	kmod_read_complete(got, sizeof(got), &c);
	ck_assert_uint_eq(c.hdr.id, 7);
	ck_assert_uint_eq(c.hdr.len, sizeof(c));
	ck_assert_uint_eq(c.actual, 100);
	/* counted once, when the device took it (was twice: at submit too) */
	ck_assert_uint_eq(S->stats.bytes_out, 100);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/*
 * usbgate_hcd gave an unlinked URB back already: the session cancels it at
 * the backend and writes nothing for it, even when the answer is late.
 */
START_TEST(kmod_unlink_is_a_cancel_whose_late_answer_is_not_written)
{
	uint8_t data[16] = { 9 }, got[256];
	struct ugh_complete c;
	const struct rec *r, *x;
	uint64_t first;

	kmod_start();
	kmod_submit(1, 0x81, UGH_XFER_BULK, 64, NULL, NULL);
	first = peer_expect(usb_redir_bulk_packet)->id;
	kmod_notice(UGH_K_UNLINK, 1);
	x = peer_expect(usb_redir_cancel_data_packet);
	ck_assert_uint_eq(x->id, first);
	/* Completed before the cancel took: the answer is dropped. */
	answer_bulk(first, 0x81, usb_redir_success, data, 16);
	kmod_submit(2, 0x81, UGH_XFER_BULK, 64, NULL, NULL);
	r = peer_expect(usb_redir_bulk_packet);
	answer_bulk(r->id, 0x81, usb_redir_success, data, 8);
	kmod_read_complete(got, sizeof(got), &c);
	ck_assert_uint_eq(c.hdr.id, 2);
	ck_assert_uint_eq(c.actual, 8);
	ck_assert_uint_eq(S->stats.unlinks, 1);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/*
 * UGH_K_RESET of a configured device is a real reset in sys-usb, and every
 * reset is answered by UGH_F_RESET_DONE with its number; the device
 * descriptor read that follows is no reset of its own (no heuristic).
 */
START_TEST(kmod_port_reset_is_real_and_answered)
{
	static const uint8_t set_cfg[8] = { 0x00, 9, 1, 0, 0, 0, 0, 0 };
	static const uint8_t get_dev[8] = { 0x80, 6, 0, 1, 0, 0, 64, 0 };
	struct usb_redir_configuration_status_header st = { 0, 1 };
	uint8_t got[256];
	struct ugh_rec d;
	const struct rec *r;

	kmod_start();
	/* enumeration's reset: nothing to reset in sys-usb yet */
	kmod_notice(UGH_K_RESET, 1);
	d = kmod_read(got, sizeof(got));
	ck_assert_uint_eq(d.type, UGH_F_RESET_DONE);
	ck_assert_uint_eq(d.id, 1);
	kmod_submit(3, 0x00, UGH_XFER_CONTROL, 0, set_cfg, NULL);
	r = peer_expect(usb_redir_set_configuration);
	usbredirparser_send_configuration_status(P.p, r->id, &st);
	peer_pump(0);
	d = kmod_read(got, sizeof(got));
	ck_assert_uint_eq(d.type, UGH_F_COMPLETE);
	ck_assert_uint_eq(d.id, 3);
	/* configured, yet a descriptor read is only that */
	kmod_submit(4, 0x80, UGH_XFER_CONTROL, 64, get_dev, NULL);
	peer_expect(usb_redir_control_packet);
	kmod_notice(UGH_K_RESET, 2);
	peer_expect(usb_redir_reset);
	d = kmod_read(got, sizeof(got));
	ck_assert_uint_eq(d.type, UGH_F_RESET_DONE);
	ck_assert_uint_eq(d.id, 2);
	stop_thread();
	ck_assert_uint_eq(S->stats.resets, 1);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/* Records that do not parse end the session before reaching the backend. */
START_TEST(kmod_malformed_record_ends_session)
{
	uint8_t buf[sizeof(struct ugh_submit) + 16] = { 0 };
	struct ugh_submit *h = (struct ugh_submit *)buf;
	struct ugh_rec odd = { .type = UGH_K_UNLINK, .len = 12, .id = 1 };

	kmod_start();
	switch (_i) {
	case 0:
		kmod_write(&odd, sizeof(odd));	/* length not a multiple of 8 */
		break;
	case 1:
		/* OUT submission whose record lacks its data */
		h->hdr.type = UGH_K_SUBMIT;
		h->hdr.len = sizeof(*h) + 8;
		h->hdr.id = 1;
		h->ep = 0x02;
		h->xfer = UGH_XFER_BULK;
		h->length = 64;
		kmod_write(buf, h->hdr.len);
		break;
	case 2:
		kmod_notice(0x7777, 0);		/* unknown type */
		break;
	default:
		/* ids go backwards */
		kmod_submit(5, 0x81, UGH_XFER_BULK, 8, NULL, NULL);
		kmod_submit(5, 0x81, UGH_XFER_BULK, 8, NULL, NULL);
		break;
	}
	ck_assert_int_eq(wait_end(), FE_E_VHCI);
}
END_TEST

/* Bulk endpoints 0x81 and 0x02 as struct ugh_streams has them. */
#define KMOD_STREAM_EPS	(1u << 17 | 1u << 2)

/*
 * The uas driver's streams: usbgate_hcd's request becomes usbredir's, the
 * backend's answer the kernel's; a bulk URB on a granted stream carries its
 * id both ways; one beyond the grant is refused before the backend; the
 * free is passed on and answered too.
 */
START_TEST(kmod_bulk_streams_allocated_used_and_freed)
{
	uint8_t data[24] = { 1, 2, 3 }, got[256];
	struct ugh_streams_done d;
	struct ugh_complete c;
	const struct rec *r;

	peer_streams = 1;
	kmod_start();
	kmod_streams(1, KMOD_STREAM_EPS, 15);
	r = peer_expect(usb_redir_alloc_bulk_streams);
	ck_assert_uint_eq(r->len, KMOD_STREAM_EPS);
	ck_assert_uint_eq(r->stream, 15);
	answer_streams(r->id, KMOD_STREAM_EPS, 15, usb_redir_success);
	d = kmod_read_streams_done(1);
	ck_assert_int_eq(d.status, 0);
	ck_assert_uint_eq(d.streams, 15);
	ck_assert_uint_eq(S->stats.streams, 15);

	kmod_submit_on(2, 0x81, UGH_XFER_BULK, 512, NULL, NULL, 15);
	r = peer_expect(usb_redir_bulk_packet);
	ck_assert_uint_eq(r->stream, 15);
	{
		struct usb_redir_bulk_packet_header h = { .endpoint = 0x81,
		    .status = usb_redir_success, .length = 24,
		    .stream_id = 15 };

		usbredirparser_send_bulk_packet(P.p, r->id, &h, data, 24);
		peer_pump(0);
	}
	kmod_read_complete(got, sizeof(got), &c);
	ck_assert_uint_eq(c.hdr.id, 2);
	ck_assert_int_eq(c.status, 0);
	ck_assert_uint_eq(c.actual, 24);
	ck_assert_mem_eq(got + sizeof(c), data, 24);

	/* stream 16 was never granted: refused here */
	kmod_submit_on(3, 0x02, UGH_XFER_BULK, 8, NULL, data, 16);
	kmod_read_complete(got, sizeof(got), &c);
	ck_assert_uint_eq(c.hdr.id, 3);
	ck_assert_int_eq(c.status, -EINVAL);

	kmod_streams(4, KMOD_STREAM_EPS, 0);
	r = peer_expect(usb_redir_free_bulk_streams);
	ck_assert_uint_eq(r->len, KMOD_STREAM_EPS);
	answer_streams(r->id, KMOD_STREAM_EPS, 0, usb_redir_success);
	d = kmod_read_streams_done(4);
	ck_assert_int_eq(d.status, 0);
	ck_assert_uint_eq(d.streams, 0);
	ck_assert_uint_eq(S->ep[17].bulk_streams, 0);
	ck_assert_uint_eq(P.n, 0);	/* nothing else reached the backend */
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/* The next record, a completion of URB id with status 0. */
static void
kmod_read_done(uint64_t id)
{
	uint8_t got[256];
	struct ugh_complete c;

	kmod_read_complete(got, sizeof(got), &c);
	ck_assert_uint_eq(c.hdr.id, id);
	ck_assert_int_eq(c.status, 0);
}

/* Streams request id for KMOD_STREAM_EPS granted whole by the backend. */
static void
kmod_streams_granted(uint64_t id, uint32_t streams)
{
	const struct rec *r;
	struct ugh_streams_done d;

	kmod_streams(id, KMOD_STREAM_EPS, streams);
	r = streams ? peer_expect(usb_redir_alloc_bulk_streams) :
	    peer_expect(usb_redir_free_bulk_streams);
	answer_streams(r->id, KMOD_STREAM_EPS, streams, usb_redir_success);
	d = kmod_read_streams_done(id);
	ck_assert_int_eq(d.status, 0);
	ck_assert_uint_eq(d.streams, streams);
}

/*
 * The session holds no streams on KMOD_STREAM_EPS: the next allocation (id)
 * reaches the backend and is granted, not refused as a second one.
 */
static void
kmod_streams_forgotten(uint64_t id)
{
	ck_assert_uint_eq(S->ep[17].bulk_streams, 0);
	ck_assert_uint_eq(S->ep[2].bulk_streams, 0);
	kmod_streams_granted(id, 15);
}

/* SET_INTERFACE(interface 0, alt 0) as URB id; the backend's id for it. */
static uint64_t
kmod_set_interface_sent(uint64_t id)
{
	static const uint8_t set_if[8] = { 0x01, 11, 0, 0, 0, 0, 0, 0 };
	const struct rec *r;

	kmod_submit(id, 0x00, UGH_XFER_CONTROL, 0, set_if, NULL);
	r = peer_expect(usb_redir_set_alt_setting);
	ck_assert_uint_eq(r->len, 0);		/* the interface */
	return r->id;
}

/* The backend sets the alternate setting of request id. */
static void
answer_set_interface(uint64_t id)
{
	struct usb_redir_alt_setting_status_header st = { 0, 0, 0 };

	usbredirparser_send_alt_setting_status(P.p, id, &st);
	peer_pump(0);
}

/*
 * sys-usb's kernel drops the bulk streams of an interface whose alternate
 * setting is set (usb_set_interface; xHCI frees their contexts) and every
 * stream on a reset (libusb releases the interfaces, which frees theirs;
 * xHCI's device reset the rest), and the AppVM's kernel forgets them
 * without a free: the session forgets them too, so the next allocation
 * (uas's after a reset, a usbfs program's after SET_INTERFACE) reaches the
 * backend instead of being refused as a second one.
 */
START_TEST(kmod_bulk_streams_dropped_by_set_interface_and_reset)
{
	static const uint8_t set_cfg[8] = { 0x00, 9, 1, 0, 0, 0, 0, 0 };
	struct usb_redir_configuration_status_header st = { 0, 1 };
	uint8_t got[256];
	const struct rec *r;
	struct ugh_rec d;

	peer_streams = 1;
	kmod_start();
	kmod_submit(1, 0x00, UGH_XFER_CONTROL, 0, set_cfg, NULL);
	r = peer_expect(usb_redir_set_configuration);
	usbredirparser_send_configuration_status(P.p, r->id, &st);
	peer_pump(0);
	kmod_read_done(1);

	kmod_streams_granted(1, 15);
	answer_set_interface(kmod_set_interface_sent(2));
	kmod_read_done(2);
	kmod_streams_forgotten(2);

	kmod_notice(UGH_K_RESET, 1);	/* of the configured device: real */
	peer_expect(usb_redir_reset);
	d = kmod_read(got, sizeof(got));
	ck_assert_uint_eq(d.type, UGH_F_RESET_DONE);
	kmod_streams_forgotten(3);
	ck_assert_uint_eq(P.n, 0);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/*
 * The kernel gave up on an allocation (its timeout) and went on: uas set
 * the interface back (a SET_INTERFACE that reaches sys-usb after the
 * allocation, which drops the streams it just granted). The late grant is
 * taken back by the kernel's free, which sys-usb refuses, having none: the
 * endpoints have no streams whatever the answer, and uas's next allocation
 * reaches the backend.
 */
START_TEST(kmod_bulk_streams_free_forgets_them_whatever_the_answer)
{
	struct ugh_streams_done d;
	const struct rec *r;
	uint64_t alloc, set_if;

	peer_streams = 1;
	kmod_start();
	kmod_streams(1, KMOD_STREAM_EPS, 15);
	alloc = peer_expect(usb_redir_alloc_bulk_streams)->id;
	set_if = kmod_set_interface_sent(2);
	/* sys-usb in order: the grant, then SET_INTERFACE drops them */
	answer_streams(alloc, KMOD_STREAM_EPS, 15, usb_redir_success);
	d = kmod_read_streams_done(1);
	ck_assert_int_eq(d.status, 0);
	answer_set_interface(set_if);
	kmod_read_done(2);

	kmod_streams(3, KMOD_STREAM_EPS, 0);
	r = peer_expect(usb_redir_free_bulk_streams);
	answer_streams(r->id, KMOD_STREAM_EPS, 0, usb_redir_inval);
	d = kmod_read_streams_done(3);
	ck_assert_int_lt(d.status, 0);
	kmod_streams_forgotten(4);
	ck_assert_uint_eq(S->stats.streams, 30);
	ck_assert_uint_eq(P.n, 0);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/*
 * Refused without a word to the backend: a backend without streams, an
 * endpoint that is not bulk; a backend's refusal reaches the kernel as an
 * error and grants nothing.
 */
START_TEST(kmod_bulk_streams_refused)
{
	struct ugh_streams_done d;
	const struct rec *r;

	kmod_start();			/* a backend without bulk streams */
	kmod_streams(1, KMOD_STREAM_EPS, 15);
	d = kmod_read_streams_done(1);
	ck_assert_int_eq(d.status, -EOPNOTSUPP);
	ck_assert_uint_eq(d.streams, 0);
	ck_assert_uint_eq(P.n, 0);
	ck_assert_int_eq(finish(), FE_E_STOPPED);

	peer_streams = 1;
	kmod_start();
	kmod_streams(1, 1u << 19, 15);	/* 0x83 is an interrupt endpoint */
	d = kmod_read_streams_done(1);
	ck_assert_int_eq(d.status, -EINVAL);
	kmod_streams(2, KMOD_STREAM_EPS, 15);
	r = peer_expect(usb_redir_alloc_bulk_streams);
	answer_streams(r->id, KMOD_STREAM_EPS, 15, usb_redir_ioerror);
	d = kmod_read_streams_done(2);
	ck_assert_int_lt(d.status, 0);
	ck_assert_uint_eq(d.streams, 0);
	ck_assert_uint_eq(S->ep[17].bulk_streams, 0);
	ck_assert_int_eq(finish(), FE_E_STOPPED);
}
END_TEST

/*
 * Hostile streams traffic ends the session: from the backend an answer to
 * nothing asked, a grant other than asked, a bulk answer on another stream;
 * from the kernel a second request while one is outstanding.
 */
START_TEST(kmod_bulk_streams_hostile_input_ends_session)
{
	const struct rec *r;
	int end = _i < 3 ? FE_E_PROTO : FE_E_VHCI;

	peer_streams = 1;
	kmod_start();
	switch (_i) {
	case 0:
		answer_streams(1, KMOD_STREAM_EPS, 15, usb_redir_success);
		break;
	case 1:
		kmod_streams(1, KMOD_STREAM_EPS, 15);
		r = peer_expect(usb_redir_alloc_bulk_streams);
		answer_streams(r->id, KMOD_STREAM_EPS, 16, usb_redir_success);
		break;
	case 2:
		kmod_streams(1, KMOD_STREAM_EPS, 4);
		r = peer_expect(usb_redir_alloc_bulk_streams);
		answer_streams(r->id, KMOD_STREAM_EPS, 4, usb_redir_success);
		kmod_read_streams_done(1);
		kmod_submit_on(2, 0x81, UGH_XFER_BULK, 64, NULL, NULL, 2);
		r = peer_expect(usb_redir_bulk_packet);
		{
			struct usb_redir_bulk_packet_header h = {
			    .endpoint = 0x81, .status = usb_redir_success,
			    .stream_id = 3 };

			usbredirparser_send_bulk_packet(P.p, r->id, &h, NULL,
			    0);
			peer_pump(0);
		}
		break;
	default:
		kmod_streams(1, KMOD_STREAM_EPS, 4);
		kmod_streams(2, KMOD_STREAM_EPS, 4);
		break;
	}
	ck_assert_int_eq(wait_end(), end);
}
END_TEST

/* dom0 approved storage (and, with kbd, the keyboard setting too). */
static void
approve(int kbd)
{
	static const uint8_t c[2][3] = { { 8, 6, 0x50 }, { 3, 1, 1 } };

	memset(&want, 0, sizeof(want));
	want.check = 1;
	want.n = kbd ? 2 : 1;
	memcpy(want.c, c, 3 * (size_t)want.n);
	offer_class[0] = 8;
	offer_class[1] = 6;
	offer_class[2] = 0x50;
}

START_TEST(foreign_class_in_interface_info_ends_session_before_attach)
{
	approve(0);
	offer_class[0] = 3;
	offer_class[1] = 1;
	offer_class[2] = 1;
	start_session();
	offer_device(usb_redir_speed_high);
	ck_assert_int_eq(wait_end(), FE_E_IDENTITY);
	ck_assert_int_eq(attached, 0);
}
END_TEST

/*
 * GET_DESCRIPTOR(CONFIGURATION) answered with the hidden-keyboard
 * configuration; returns what vhci got (0: nothing) and the session's end.
 */
static int
config_answer_reaches_vhci(uint8_t *got, int *end)
{
	static const uint8_t get_conf[8] = { 0x80, 6, 0, 2, 0, 0, 255, 0 };
	struct usb_redir_control_packet_header h;
	const struct rec *r;
	uint8_t hdr[USBIP_HDR_LEN];
	int t, n = 0;

	start_session();
	connect_device();
	vhci_submit(1, 1, 0, 255, 0, get_conf, NULL);
	r = peer_expect(usb_redir_control_packet);
	memset(&h, 0, sizeof(h));
	h.endpoint = 0x80;
	h.request = 6;
	h.requesttype = 0x80;
	h.value = 0x0200;
	h.length = HA_CONF1_LEN;
	usbredirparser_send_control_packet(P.p, r->id, &h,
	    (uint8_t *)hidden_alt + HA_CONF1, HA_CONF1_LEN);
	for (t = 0; t < 300 && S->error == FE_OK; t++) {
		struct pollfd pfd = { vhci_fd, POLLIN, 0 };

		peer_pump(0);
		if (poll(&pfd, 1, 10) > 0) {
			ck_assert_int_eq(vhci_read(hdr, sizeof(hdr)), 0);
			ck_assert_uint_eq(be32(hdr + 24), HA_CONF1_LEN);
			ck_assert_int_eq(vhci_read(got, HA_CONF1_LEN), 0);
			n = HA_CONF1_LEN;
			break;
		}
	}
	if (S->error != FE_OK) {
		/* The session ended: nothing is left for vhci to read. */
		stop_thread();
		fcntl(vhci_fd, F_SETFL, O_NONBLOCK);
		ck_assert_int_eq(read(vhci_fd, hdr, sizeof(hdr)), -1);
	}
	*end = finish();
	return n;
}

START_TEST(foreign_class_in_configuration_never_reaches_vhci)
{
	uint8_t got[HA_CONF1_LEN];
	int end;

	approve(0);
	ck_assert_int_eq(config_answer_reaches_vhci(got, &end), 0);
	ck_assert_int_eq(end, FE_E_IDENTITY);
}
END_TEST

START_TEST(approved_configuration_reaches_vhci_intact)
{
	uint8_t got[HA_CONF1_LEN];
	int end;

	approve(1);
	ck_assert_int_eq(config_answer_reaches_vhci(got, &end), HA_CONF1_LEN);
	ck_assert_mem_eq(got, hidden_alt + HA_CONF1, HA_CONF1_LEN);
	ck_assert_int_eq(end, FE_E_STOPPED);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("frontend");
	TCase *tc = tcase_create("session");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, control_in_round_trip);
	tcase_add_test(tc, set_configuration_becomes_usbredir_request);
	tcase_add_test(tc, bulk_in_data_reaches_vhci_intact);
	tcase_add_test(tc, short_read_with_short_not_ok_is_an_error);
	tcase_add_test(tc, bulk_answer_longer_than_request_ends_session);
	tcase_add_test(tc, answer_for_unknown_id_ends_session);
	tcase_add_test(tc, answer_on_other_endpoint_ends_session);
	tcase_add_test(tc, invalid_speed_ends_session_before_attach);
	tcase_add_test(tc, unlink_of_pending_bulk_cancels_at_backend);
	tcase_add_test(tc, unlink_racing_completion_gives_data_then_zero_unlink);
	tcase_add_test(tc, interrupt_in_uses_receiving_and_keeps_zlp);
	tcase_add_test(tc, lying_packet_length_ends_session);
	tcase_add_test(tc, unknown_packet_type_ends_session);
	tcase_add_test(tc, backend_eof_ends_session);
	tcase_add_test(tc, device_disconnect_ends_session_cleanly);
	tcase_add_test(tc, no_device_within_timeout);
	tcase_add_test(tc, latency_percentiles_come_from_the_histogram);
	tcase_add_test(tc, port_reset_of_a_configured_device_becomes_a_real_reset);
	tcase_add_test(tc, iso_in_descriptors_longer_than_the_urb_are_refused);
	tcase_add_test(tc, iso_packet_failed_in_sys_usb_is_counted);
	tcase_add_test(tc, iso_flood_is_bounded_by_bytes);
	tcase_add_loop_test(tc, hostile_backend_never_gets_a_malformed_answer_to_vhci,
	    0, 8);
	tcase_add_test(tc, foreign_class_in_interface_info_ends_session_before_attach);
	tcase_add_test(tc, foreign_class_in_configuration_never_reaches_vhci);
	tcase_add_test(tc, approved_configuration_reaches_vhci_intact);
	suite_add_tcase(s, tc);
	tc = tcase_create("kmod");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, kmod_bulk_in_round_trip);
	tcase_add_test(tc, kmod_bulk_out_completes_with_the_length_taken);
	tcase_add_test(tc, kmod_unlink_is_a_cancel_whose_late_answer_is_not_written);
	tcase_add_test(tc, kmod_port_reset_is_real_and_answered);
	tcase_add_loop_test(tc, kmod_malformed_record_ends_session, 0, 4);
	tcase_add_test(tc, kmod_bulk_streams_allocated_used_and_freed);
	tcase_add_test(tc, kmod_bulk_streams_refused);
	tcase_add_test(tc, kmod_bulk_streams_dropped_by_set_interface_and_reset);
	tcase_add_test(tc, kmod_bulk_streams_free_forgets_them_whatever_the_answer);
	tcase_add_loop_test(tc, kmod_bulk_streams_hostile_input_ends_session,
	    0, 4);
	suite_add_tcase(s, tc);
	return s;
}
