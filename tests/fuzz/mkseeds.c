/*
 * mkseeds.c: writes the binary seed corpora of the fuzz targets
 * (tests/fuzz/corpus/NAME/) from real messages: control messages from
 * ctl_msg_encode(), USB/IP commands from usbip_encode_cmd(), usbredir
 * streams from a pair of real libusbredirparsers (host and guest role)
 * that have exchanged hellos. The text corpora (rules, assignments,
 * usbgated.conf, usb.ids) are files copied from the tree by hand.
 * Seeds of messages whose layout changed are named with the protocol
 * version ("DEV_ADD-v3"), so the older seeds stay in the corpus.
 *
 * Usage (from the top of the tree, after make):
 *   make tests/fuzz/mkseeds && tests/fuzz/mkseeds tests/fuzz/corpus
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <usbredirparser.h>

#include "ctl_msg.h"
#include "fuzz.h"
#include "usbgate_hcd_uapi.h"
#include "usbip_wire.h"

static const char *outdir;

/* A growing byte buffer for one seed. */
static uint8_t seed[1 << 16], seed2[1 << 16];
static size_t seed_len, seed2_len;

static void
put(const void *p, size_t n)
{
	if (seed_len + n > sizeof(seed))
		abort();
	memcpy(seed + seed_len, p, n);
	seed_len += n;
}

static void
put8(uint8_t v)
{
	put(&v, 1);
}

static void
put16le(uint16_t v)
{
	put8((uint8_t)v);
	put8((uint8_t)(v >> 8));
}

static void
save(const char *target, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(seed, 1, seed_len, f) != seed_len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	seed_len = 0;
}

/* ---- control protocol --------------------------------------------------- */

/* The seed's name: versioned for the messages version 3 changed. */
static const char *
ctl_seed_name(uint32_t type, const char *name)
{
	static char buf[64];

	if (type != CTL_MSG_HELLO && type != CTL_MSG_DEV_ADD &&
	    type != CTL_MSG_DEV_CHANGE)
		return name;
	snprintf(buf, sizeof(buf), "%s-v%d", name, CTL_PROTO_VERSION);
	return buf;
}

static uint8_t frame[CTL_MSG_MAX];

static size_t
encode(const struct ctl_msg *m)
{
	struct ctl_wbuf w;

	ctl_wbuf_init(&w, frame, sizeof(frame));
	if (ctl_msg_encode(m, &w) != CTL_OK) {
		fprintf(stderr, "mkseeds: cannot encode %s\n",
		    ctl_msg_name(m->type));
		exit(1);
	}
	return w.len;
}

static void
ctl_seeds(void)
{
	static const uint32_t types[] = {
		CTL_MSG_HELLO, CTL_MSG_ERROR, CTL_MSG_DEV_ADD,
		CTL_MSG_DEV_REMOVE, CTL_MSG_DEV_CHANGE,
		CTL_MSG_SESSION_STATUS, CTL_MSG_SERVE, CTL_MSG_STOP,
		CTL_MSG_IMPORT_RESULT, CTL_MSG_IMPORT, CTL_MSG_UNIMPORT,
		CTL_MSG_CLI_REQUEST, CTL_MSG_CLI_ROW, CTL_MSG_CLI_DONE,
	};
	struct ctl_msg m, hello;
	struct ctl_dev *d = &m.u.dev;
	size_t i, n;

	ctl_msg_init(&hello, CTL_MSG_HELLO);
	hello.u.hello.version = CTL_PROTO_VERSION;
	hello.u.hello.caps = CTL_CAP__ALL;
	hello.u.hello.role = CTL_ROLE_BACKEND;
	ctl_strlcpy(hello.u.hello.name, "sys-usb", sizeof(hello.u.hello.name));
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ctl_msg_init(&m, types[i]);
		switch (types[i]) {
		case CTL_MSG_HELLO:
			m = hello;
			break;
		case CTL_MSG_ERROR:
			ctl_strlcpy(m.u.error.text, "no", CTL_TEXT_MAX);
			break;
		case CTL_MSG_DEV_ADD:
		case CTL_MSG_DEV_CHANGE:
			ctl_strlcpy(d->busid, "1-2", sizeof(d->busid));
			d->vid = 0x1209;
			d->pid = 0x0001;
			d->speed = CTL_SPEED_HIGH;
			ctl_strlcpy(d->product, "Storage", CTL_USBSTR_MAX);
			d->n_ifaces = 1;
			d->ifaces[0] = (struct ctl_iface){ 0, 8, 6, 0x50 };
			d->flags = CTL_DEV_F_EXPORT | CTL_DEV_F_PARENT |
			    CTL_DEV_F_CONNECT;
			memset(d->parent_hash, 0x5c, CTL_HASH_LEN);
			d->connect_type = IDENT_CONNECT_HOTPLUG;
			break;
		case CTL_MSG_DEV_REMOVE:
			ctl_strlcpy(m.u.dev_remove.busid, "1-2", CTL_BUSID_MAX);
			break;
		case CTL_MSG_SESSION_STATUS:
			m.u.session_status.session = 2;
			ctl_strlcpy(m.u.session_status.busid, "1-2",
			    CTL_BUSID_MAX);
			m.u.session_status.state = CTL_SESS_READY;
			break;
		case CTL_MSG_SERVE:
			m.u.serve.session = 2;
			ctl_strlcpy(m.u.serve.busid, "1-2", CTL_BUSID_MAX);
			ctl_strlcpy(m.u.serve.uri, "unix:/run/x", CTL_URI_MAX);
			m.u.serve.n_refused = 1;
			break;
		case CTL_MSG_STOP:
			m.u.stop.session = 2;
			ctl_strlcpy(m.u.stop.busid, "1-2", CTL_BUSID_MAX);
			break;
		case CTL_MSG_IMPORT_RESULT:
			m.u.import_result.session = 2;
			m.u.import_result.state = CTL_IMPORT_FAILED;
			m.u.import_result.reason = CTL_REASON_BUSY;
			break;
		case CTL_MSG_IMPORT:
			m.u.import.session = 2;
			ctl_strlcpy(m.u.import.uri, "unix:/run/x", CTL_URI_MAX);
			ctl_strlcpy(m.u.import.backend, "sys-usb", CTL_NAME_MAX);
			ctl_strlcpy(m.u.import.busid, "1-2", CTL_BUSID_MAX);
			ctl_strlcpy(m.u.import.device_id, "1209:0001::u080650",
			    CTL_DEVID_MAX);
			m.u.import.vid = 0x1209;
			m.u.import.pid = 0x0001;
			m.u.import.speed = CTL_SPEED_FULL;
			break;
		case CTL_MSG_UNIMPORT:
			m.u.unimport.session = 2;
			break;
		case CTL_MSG_CLI_REQUEST:
			m.u.cli_request.cmd = CTL_CLI_LIST;
			m.u.cli_request.nargs = 1;
			ctl_strlcpy(m.u.cli_request.args[0], "sys-usb:1-2",
			    CTL_CLI_ARG_MAX);
			break;
		case CTL_MSG_CLI_ROW:
			ctl_row_add(&m.u.cli_row, "vm", "work");
			break;
		case CTL_MSG_CLI_DONE:
			ctl_strlcpy(m.u.cli_done.message, "ok",
			    CTL_CLI_MESSAGE_MAX);
			break;
		}
		n = encode(&m);
		put8((uint8_t)i);
		put(frame + CTL_HDR_LEN, n - CTL_HDR_LEN);
		save("ctl_msg", ctl_seed_name(types[i],
		    ctl_msg_name(types[i])));
	}
	/* A connection: the backend's hello, then a device and a status. */
	put8(1 | 1 << 1);		/* we are dom0, the peer a backend */
	put(frame, encode(&hello));
	ctl_msg_init(&m, CTL_MSG_DEV_ADD);
	ctl_strlcpy(d->busid, "3-1", sizeof(d->busid));
	d->vid = 0x046d;
	d->pid = 0xc31c;
	d->speed = CTL_SPEED_LOW;
	d->n_ifaces = 1;
	d->ifaces[0] = (struct ctl_iface){ 0, 3, 1, 1 };
	d->flags = CTL_DEV_F_EXPORT | CTL_DEV_F_CONNECT;
	d->connect_type = IDENT_CONNECT_HARDWIRED;
	put(frame, encode(&m));
	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	ctl_strlcpy(m.u.dev_remove.busid, "3-1", CTL_BUSID_MAX);
	put(frame, encode(&m));
	save("ctl_conn", ctl_seed_name(CTL_MSG_HELLO,
	    "backend-hello-add-remove"));
	hello.u.hello.role = CTL_ROLE_CLI;
	put8(1 | 3 << 1);		/* dom0, the peer the CLI */
	put(frame, encode(&hello));
	ctl_msg_init(&m, CTL_MSG_CLI_REQUEST);
	m.u.cli_request.cmd = CTL_CLI_STATUS;
	put(frame, encode(&m));
	save("ctl_conn", ctl_seed_name(CTL_MSG_HELLO, "cli-hello-status"));
}

/* ---- session framing and USB/IP ------------------------------------------ */

static void
frame_hdr(uint8_t type, uint32_t len)
{
	uint8_t h[12] = { 'U', 'G', 'F', '1', type, 0, 0, 0,
	    (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
	    (uint8_t)(len >> 24) };

	put(h, sizeof(h));
}

static void
frame_seeds(void)
{
	static const uint8_t nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	put8(20);			/* the peer's HELLO */
	frame_hdr(1, 8);
	put(nonce, 8);
	put8(255);			/* READY with our nonce */
	put8(12 + 5);
	frame_hdr(3, 5);
	put("hello", 5);
	put8(12);
	frame_hdr(4, 0);		/* PING */
	put8(12);
	frame_hdr(5, 0);		/* CLOSE */
	save("stream_frame", "hello-ready-data-ping-close");
	put8(7);
	put("garbage", 7);		/* an earlier session's bytes */
	put8(255);
	put8(12 + 3);
	frame_hdr(3, 3);
	put("abc", 3);
	save("stream_frame", "resync-then-data");
}

static uint8_t *
usbip_cmd(uint32_t command, uint32_t seq, uint32_t dir, uint32_t ep,
    uint32_t len, uint32_t npk, const uint8_t setup[8])
{
	static uint8_t h[USBIP_HDR_LEN];
	struct usbip_cmd c = { .command = command, .seqnum = seq,
	    .devid = 0x10002, .direction = dir, .ep = ep, .length = len,
	    .number_of_packets = npk, .unlink_seqnum = seq - 1 };

	if (setup != NULL)
		memcpy(c.setup, setup, 8);
	usbip_encode_cmd(h, &c);
	return h;
}

static const uint8_t get_dev_desc[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };

static void
usbip_seeds(void)
{
	struct usbip_iso_desc d = { 0, 192, 0, 0 };
	uint8_t iso[USBIP_ISO_DESC_LEN];

	put(usbip_cmd(USBIP_CMD_SUBMIT, 1, USBIP_DIR_IN, 0, 18, 0,
	    get_dev_desc), USBIP_HDR_LEN);
	save("usbip", "submit-control-in");
	put(usbip_cmd(USBIP_CMD_SUBMIT, 2, USBIP_DIR_OUT, 2, 4, 0, NULL),
	    USBIP_HDR_LEN);
	put("data", 4);
	save("usbip", "submit-bulk-out");
	put(usbip_cmd(USBIP_CMD_SUBMIT, 3, USBIP_DIR_IN, 1, 384, 2, NULL),
	    USBIP_HDR_LEN);
	usbip_encode_iso_desc(iso, &d);
	put(iso, sizeof(iso));
	d.offset = 192;
	usbip_encode_iso_desc(iso, &d);
	put(iso, sizeof(iso));
	save("usbip", "submit-iso-in");
	put(usbip_cmd(USBIP_CMD_UNLINK, 4, 0, 0, 0, 0, NULL), USBIP_HDR_LEN);
	save("usbip", "unlink");
}

/* ---- usbredir: a host and a guest parser joined in memory --------------- */

struct end {
	struct usbredirparser *p;
	uint8_t out[1 << 16];	/* what it wrote */
	size_t out_len;
	uint8_t in[1 << 16];	/* what it may read */
	size_t in_len, in_off;
};

static struct end H, G;

static int
e_read(void *priv, uint8_t *data, int count)
{
	struct end *e = priv;
	size_t n = e->in_len - e->in_off;

	if (n > (size_t)count)
		n = (size_t)count;
	memcpy(data, e->in + e->in_off, n);
	e->in_off += n;
	return (int)n;
}

static int
e_write(void *priv, uint8_t *data, int count)
{
	struct end *e = priv;

	if (e->out_len + (size_t)count > sizeof(e->out))
		abort();
	memcpy(e->out + e->out_len, data, (size_t)count);
	e->out_len += (size_t)count;
	return count;
}

static void
e_log(void *priv, int level, const char *msg)
{
}

static void
e_init(struct end *e, int host, int ids64, int streams)
{
	uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };

	memset(e, 0, sizeof(*e));
	if ((e->p = usbredirparser_create()) == NULL)
		abort();
	e->p->priv = e;
	e->p->log_func = e_log;
	e->p->read_func = e_read;
	e->p->write_func = e_write;
	usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_filter);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_device_disconnect_ack);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
	if (streams)
		usbredirparser_caps_set_cap(caps, usb_redir_cap_bulk_streams);
	if (ids64)
		usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
	usbredirparser_init(e->p, "mkseeds", caps, USB_REDIR_CAPS_SIZE,
	    host ? usbredirparser_fl_usb_host : 0);
	usbredirparser_do_write(e->p);
}

/* Let each side read the other's hello; their outputs start afresh. */
static void
e_pair(int ids64, int streams)
{
	e_init(&H, 1, ids64, streams);
	e_init(&G, 0, ids64, streams);
	memcpy(H.in, G.out, G.out_len);
	H.in_len = G.out_len;
	memcpy(G.in, H.out, H.out_len);
	G.in_len = H.out_len;
	usbredirparser_do_read(H.p);
	usbredirparser_do_read(G.p);
	H.out_len = G.out_len = 0;
}

static void
e_done(void)
{
	usbredirparser_destroy(H.p);
	usbredirparser_destroy(G.p);
}

/* The guest's side of a session: every request the filter judges. */
static void
guest_requests(void)
{
	struct usb_redir_control_packet_header c = { 0x80, 6, 0x80, 0,
	    0x0200, 0, 255 };
	struct usb_redir_set_alt_setting_header alt = { 1, 0 };
	struct usb_redir_set_configuration_header cfg = { 1 };
	struct usb_redir_start_interrupt_receiving_header si = { 0x82 };
	struct usb_redir_bulk_packet_header b = { 0x03, 0, 4, 0, 0 };
	struct usb_redir_alloc_bulk_streams_header as = { 1u << 19, 4 };
	uint8_t four[4] = { 1, 2, 3, 4 };

	usbredirparser_send_control_packet(G.p, 1, &c, NULL, 0);
	c.requesttype = 0x81;		/* GET_DESCRIPTOR(HID report), iface 1 */
	c.value = 0x2200;
	c.index = 1;
	usbredirparser_send_control_packet(G.p, 2, &c, NULL, 0);
	c.requesttype = 0x02;		/* CLEAR_FEATURE(HALT) on 0x83 */
	c.request = 1;
	c.value = 0;
	c.index = 0x82;
	c.endpoint = 0;
	c.length = 0;
	usbredirparser_send_control_packet(G.p, 3, &c, NULL, 0);
	usbredirparser_send_set_configuration(G.p, 4, &cfg);
	usbredirparser_send_set_alt_setting(G.p, 5, &alt);
	usbredirparser_send_start_interrupt_receiving(G.p, 6, &si);
	usbredirparser_send_bulk_packet(G.p, 7, &b, four, 4);
	usbredirparser_send_alloc_bulk_streams(G.p, 8, &as);
	usbredirparser_do_write(G.p);
}

/* A wireless keyboard and mouse receiver: HID keyboard (interface 0,
 * 0x81), HID mouse (1, 0x82), vendor (2, bulk 0x83 and 0x03). */
static const uint8_t kbd_mouse[] = {
	0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x08, 0x6d, 0x04,
	0x2b, 0xc5, 0x01, 0x12, 0x01, 0x02, 0x00, 0x01,
	0x09, 0x02, 82, 0x00, 0x03, 0x01, 0x00, 0xa0, 0x31,
	0x09, 0x04, 0x00, 0x00, 0x01, 0x03, 0x01, 0x01, 0x00,
	0x09, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, 0x3f, 0x00,
	0x07, 0x05, 0x81, 0x03, 0x08, 0x00, 0x0a,
	0x09, 0x04, 0x01, 0x00, 0x01, 0x03, 0x01, 0x02, 0x00,
	0x09, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, 0x4a, 0x00,
	0x07, 0x05, 0x82, 0x03, 0x08, 0x00, 0x0a,
	0x09, 0x04, 0x02, 0x00, 0x02, 0xff, 0x00, 0x00, 0x00,
	0x07, 0x05, 0x83, 0x02, 0x40, 0x00, 0x00,
	0x07, 0x05, 0x03, 0x02, 0x40, 0x00, 0x00,
};

/* A webcam: video function in an IAD (control 0 with 0x87, streaming 1
 * with an iso 0x81 in alternate setting 1), and HID buttons (2, 0x84). */
static const uint8_t webcam[] = {
	0x12, 0x01, 0x00, 0x02, 0xef, 0x02, 0x01, 0x40, 0x09, 0x12,
	0x05, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01,
	0x09, 0x02, 88, 0x00, 0x03, 0x01, 0x00, 0x80, 0xfa,
	0x08, 0x0b, 0x00, 0x02, 0x0e, 0x03, 0x00, 0x00,
	0x09, 0x04, 0x00, 0x00, 0x01, 0x0e, 0x01, 0x00, 0x00,
	0x05, 0x24, 0x01, 0x00, 0x01,
	0x07, 0x05, 0x87, 0x03, 0x10, 0x00, 0x08,
	0x09, 0x04, 0x01, 0x00, 0x00, 0x0e, 0x02, 0x00, 0x00,
	0x09, 0x04, 0x01, 0x01, 0x01, 0x0e, 0x02, 0x00, 0x00,
	0x07, 0x05, 0x81, 0x05, 0x00, 0x04, 0x01,
	0x09, 0x04, 0x02, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00,
	0x09, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, 0x20, 0x00,
	0x07, 0x05, 0x84, 0x03, 0x08, 0x00, 0x04,
};

static void
filter_seed(const char *name, const uint8_t *desc, size_t dlen,
    uint8_t refused, uint8_t capbits, int ids64)
{
	e_pair(ids64, 1);
	put8(1);			/* one refused interface */
	put8(refused);
	put8(1);			/* active configuration */
	put8(capbits);
	put16le((uint16_t)dlen);
	put(desc, dlen);
	put(H.in, H.in_len);		/* the guest's hello */
	guest_requests();
	put(G.out, G.out_len);
	memcpy(seed2, seed, seed_len);
	seed2_len = seed_len;
	save("iface_filter", name);
	memcpy(seed, seed2, seed2_len);
	seed_len = seed2_len;
	save("backend", name);		/* the same for usbredirhost */
	e_done();
	/* The configuration alone for the rewrite. */
	put8(1);
	put8(refused);
	put(desc + 18, dlen - 18);
	save("iface_desc", name);
}

/*
 * A chunk for fuzz_frontend(_kmod): even tag to the channel, odd to vhci
 * (or usbgate_hcd).
 */
static void
chunks(uint8_t tag, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k = n > 255 ? 255 : n;

		put8(tag);
		put8((uint8_t)k);
		put(p, k);
		p += k;
		n -= k;
	}
}

/* A usbgate_hcd record: type, id, for a submission ep, xfer, length, setup. */
static const uint8_t *
ugh_rec(uint16_t type, uint64_t id, uint8_t ep, uint8_t xfer, uint32_t len,
    const uint8_t setup[8], size_t *size)
{
	static struct ugh_submit h;

	memset(&h, 0, sizeof(h));
	h.hdr.type = type;
	h.hdr.id = id;
	h.hdr.len = type == UGH_K_SUBMIT ? sizeof(h) : sizeof(h.hdr);
	h.ep = ep;
	h.xfer = xfer;
	h.length = len;
	if (setup != NULL)
		memcpy(h.setup, setup, 8);
	*size = h.hdr.len;
	return (const uint8_t *)&h;
}

/*
 * The hellos (the backend's with bulk streams or not), then the backend
 * offers dc: one mass-storage interface (protocol proto) with bulk 0x01
 * and 0x81 of max packet mps.
 */
static void
offer_storage(struct usb_redir_device_connect_header *dc, uint16_t mps,
    uint8_t proto, int streams)
{
	struct usb_redir_ep_info_header ei;
	struct usb_redir_interface_info_header ii;
	int i;

	memset(&ei, 0, sizeof(ei));
	memset(&ii, 0, sizeof(ii));
	for (i = 0; i < 32; i++)
		ei.type[i] = usb_redir_type_invalid;
	ei.type[0] = ei.type[16] = usb_redir_type_control;
	ei.type[1] = ei.type[17] = usb_redir_type_bulk;
	ei.max_packet_size[1] = ei.max_packet_size[17] = mps;
	ii.interface_count = 1;
	ii.interface_class[0] = 8;
	ii.interface_subclass[0] = 6;
	ii.interface_protocol[0] = proto;
	e_pair(0, streams);	/* the frontend's capabilities */
	chunks(0, G.in, G.in_len);	/* the backend's hello */
	usbredirparser_send_interface_info(H.p, &ii);
	usbredirparser_send_ep_info(H.p, &ei);
	usbredirparser_send_device_connect(H.p, dc);
	usbredirparser_do_write(H.p);
	chunks(0, H.out, H.out_len);
	H.out_len = 0;
}

/*
 * The backend offers a high-speed device; the AppVM's kernel asks for the
 * device descriptor (id 1) and a bulk IN (id 2), which the backend
 * answers. On usbgate_hcd (kmod) a port reset comes first and a third URB
 * is unlinked before its late answer. On vhci, conf (a device's raw
 * descriptors), when not NULL, is also answered to
 * GET_DESCRIPTOR(CONFIGURATION) as seqnum 3, which fuzz_frontend's class
 * set approves or not.
 */
static void
frontend_seed(const char *name, int kmod, const uint8_t *conf,
    size_t conf_len)
{
	static const uint8_t get_conf_desc[8] = { 0x80, 6, 0, 2, 0, 0, 255, 0 };
	struct usb_redir_control_packet_header cc = { 0x80, 6, 0x80, 0,
	    0x0200, 0, 0 };
	struct usb_redir_device_connect_header dc = { usb_redir_speed_high,
	    0, 0, 0, 0x1209, 0x0001, 0x0100 };
	struct usb_redir_control_packet_header c = { 0x80, 6, 0x80, 0,
	    0x0100, 0, 18 };
	struct usb_redir_bulk_packet_header b = { 0x81, 0, 13, 0, 0 };
	uint8_t dev_desc[18];
	const uint8_t *r;
	size_t n;

	offer_storage(&dc, 512, 0x50, 0);
	if (kmod) {
		r = ugh_rec(UGH_K_RESET, 1, 0, 0, 0, NULL, &n);
		chunks(1, r, n);
		r = ugh_rec(UGH_K_SUBMIT, 1, 0x80, UGH_XFER_CONTROL, 18,
		    get_dev_desc, &n);
		chunks(1, r, n);
		r = ugh_rec(UGH_K_SUBMIT, 2, 0x81, UGH_XFER_BULK, 512, NULL, &n);
		chunks(1, r, n);
		r = ugh_rec(UGH_K_SUBMIT, 3, 0x81, UGH_XFER_BULK, 512, NULL, &n);
		chunks(1, r, n);
		r = ugh_rec(UGH_K_UNLINK, 3, 0, 0, 0, NULL, &n);
		chunks(1, r, n);
	} else {
		/* vhci: GET_DESCRIPTOR(DEVICE) as seqnum 1, a bulk IN as 2. */
		chunks(1, usbip_cmd(USBIP_CMD_SUBMIT, 1, USBIP_DIR_IN, 0, 18,
		    0xffffffffu, get_dev_desc), USBIP_HDR_LEN);
		chunks(1, usbip_cmd(USBIP_CMD_SUBMIT, 2, USBIP_DIR_IN, 1, 512,
		    0xffffffffu, NULL), USBIP_HDR_LEN);
	}
	/* The backend answers both. */
	memcpy(dev_desc, kbd_mouse, sizeof(dev_desc));
	usbredirparser_send_control_packet(H.p, 1, &c, dev_desc, 18);
	usbredirparser_send_bulk_packet(H.p, 2, &b,
	    (uint8_t *)"USBS-answer!!", 13);
	if (kmod)	/* late: the kernel gave it back already */
		usbredirparser_send_bulk_packet(H.p, 3, &b,
		    (uint8_t *)"USBS-answer!!", 13);
	usbredirparser_do_write(H.p);
	chunks(0, H.out, H.out_len);
	H.out_len = 0;
	if (conf != NULL && !kmod) {
		chunks(1, usbip_cmd(USBIP_CMD_SUBMIT, 3, USBIP_DIR_IN, 0, 255,
		    0xffffffffu, get_conf_desc), USBIP_HDR_LEN);
		cc.length = (uint16_t)(conf_len - 18);
		usbredirparser_send_control_packet(H.p, 3, &cc,
		    (uint8_t *)conf + 18, (int)(conf_len - 18));
		usbredirparser_do_write(H.p);
		chunks(0, H.out, H.out_len);
		H.out_len = 0;
	}
	save(kmod ? "frontend_kmod" : "frontend", name);
	e_done();
}

/* The backend's answer to a streams request, as its own chunk. */
static void
streams_answer(uint64_t id, uint32_t eps, uint32_t streams, uint8_t status)
{
	struct usb_redir_bulk_streams_status_header st = { eps, streams,
	    status };

	usbredirparser_send_bulk_streams_status(H.p, id, &st);
	usbredirparser_do_write(H.p);
	chunks(0, H.out, H.out_len);
	H.out_len = 0;
}

/* A kernel streams request (alloc with streams ids, free with 0). */
static void
streams_request(uint64_t id, uint32_t eps, uint32_t streams)
{
	struct ugh_streams sr;

	memset(&sr, 0, sizeof(sr));
	sr.hdr.type = streams ? UGH_K_ALLOC_STREAMS : UGH_K_FREE_STREAMS;
	sr.hdr.len = sizeof(sr);
	sr.hdr.id = id;
	sr.endpoints = eps;
	sr.streams = streams;
	chunks(1, (const uint8_t *)&sr, sizeof(sr));
}

/*
 * usbgate_hcd's bulk streams (uas): the backend (with the capability)
 * offers a SuperSpeed device with bulk 0x81 and 0x01; the kernel has 15
 * streams allocated, reads on stream 3, which the backend answers on it,
 * and frees them.
 */
static void
frontend_streams_seed(void)
{
	struct usb_redir_device_connect_header dc = { usb_redir_speed_super,
	    8, 6, 0x62, 0x46f4, 0x0003, 0x0100 };
	struct usb_redir_bulk_packet_header b = { 0x81, 0, 13, 3, 0 };
	const uint32_t eps = 1u << 17 | 1u << 1;
	struct ugh_submit sub;

	offer_storage(&dc, 1024, 0x62, 1);
	streams_request(1, eps, 15);
	streams_answer(1, eps, 15, usb_redir_success);
	memset(&sub, 0, sizeof(sub));
	sub.hdr.type = UGH_K_SUBMIT;
	sub.hdr.len = sizeof(sub);
	sub.hdr.id = 1;
	sub.ep = 0x81;
	sub.xfer = UGH_XFER_BULK;
	sub.length = 512;
	sub.stream = 3;
	chunks(1, (const uint8_t *)&sub, sizeof(sub));
	usbredirparser_send_bulk_packet(H.p, 1, &b,
	    (uint8_t *)"USBS-answer!!", 13);
	usbredirparser_do_write(H.p);
	chunks(0, H.out, H.out_len);
	H.out_len = 0;
	streams_request(2, eps, 0);
	streams_answer(2, eps, 0, usb_redir_success);
	save("frontend_kmod", "bulk-streams");
	e_done();
}

/*
 * A grant usbgate_hcd gave up on: the kernel asks for 15 streams, sets the
 * interface (URB 1) before sys-usb's grant comes, takes the grant back
 * with a free that sys-usb refuses (SET_INTERFACE dropped the streams)
 * and allocates again, granted.
 */
static void
frontend_streams_late_seed(void)
{
	static const uint8_t set_if[8] = { 0x01, 11, 0, 0, 0, 0, 0, 0 };
	struct usb_redir_device_connect_header dc = { usb_redir_speed_super,
	    8, 6, 0x62, 0x46f4, 0x0003, 0x0100 };
	struct usb_redir_alt_setting_status_header as = { usb_redir_success,
	    0, 0 };
	const uint32_t eps = 1u << 17 | 1u << 1;
	const uint8_t *r;
	size_t n;

	offer_storage(&dc, 1024, 0x62, 1);
	streams_request(1, eps, 15);
	r = ugh_rec(UGH_K_SUBMIT, 1, 0x00, UGH_XFER_CONTROL, 0, set_if, &n);
	chunks(1, r, n);
	streams_answer(1, eps, 15, usb_redir_success);
	usbredirparser_send_alt_setting_status(H.p, 1, &as);
	usbredirparser_do_write(H.p);
	chunks(0, H.out, H.out_len);
	H.out_len = 0;
	streams_request(2, eps, 0);
	streams_answer(2, eps, 0, usb_redir_inval);
	streams_request(3, eps, 15);
	streams_answer(3, eps, 15, usb_redir_success);
	save("frontend_kmod", "bulk-streams-late");
	e_done();
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds CORPUS-DIR\n");
		return 2;
	}
	outdir = argv[1];
	ctl_seeds();
	frame_seeds();
	usbip_seeds();
	filter_seed("kbd-mouse-mouse-refused", kbd_mouse, sizeof(kbd_mouse), 1,
	    2 | 4, 0);
	filter_seed("kbd-mouse-vendor-refused-64bit", kbd_mouse,
	    sizeof(kbd_mouse), 2, 1 | 2 | 4, 1);
	filter_seed("webcam-streaming-refused", webcam, sizeof(webcam), 1,
	    2 | 4, 0);
	filter_seed("webcam-control-refused", webcam, sizeof(webcam), 0,
	    2 | 4, 0);
	frontend_seed("connect-control-bulk", 0, NULL, 0);
	frontend_seed("connect-control-bulk", 1, NULL, 0);
	frontend_streams_seed();
	frontend_streams_late_seed();
	frontend_seed("config-approved", 0, kbd_mouse, sizeof(kbd_mouse));
	frontend_seed("config-foreign-class", 0, webcam, sizeof(webcam));
	return 0;
}
