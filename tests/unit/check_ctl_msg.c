/*
 * check_ctl_msg.c: every control message and its sanitizer.
 *
 * Proves, for every message type: encode/parse round-trips; every strict
 * prefix of a valid body is refused (truncation sweep); a body with extra
 * bytes is refused; flipping any single bit either is refused or yields a
 * message that passes the verifier (never a crash or an over-read: run under
 * --enable-sanitizers to check the latter); and a table of "lying" messages
 * (well-formed bytes, hostile content) is refused with the expected error.
 * The lying messages are built by an encoder written here from
 * doc/control-protocol.md, independently of ctl_msg.c, so the test also
 * pins the documented wire layout.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_msg.h"
#include "unit_main.h"

/* ---- sample messages, one per type ------------------------------------ */

static void
sample_dev(struct ctl_dev *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->busid, "2-1.4");
	d->vid = 0x20a0;
	d->pid = 0x42b2;
	d->bcd_device = 0x0100;
	d->bcd_usb = 0x0210;
	d->speed = CTL_SPEED_FULL;
	strcpy(d->serial, "A1B2C3");
	strcpy(d->manufacturer, "Nitrokey");
	strcpy(d->product, "Nitrokey 3");
	d->n_ifaces = 2;
	d->ifaces[0] = (struct ctl_iface){ 0, 0x03, 0x00, 0x00 };
	d->ifaces[1] = (struct ctl_iface){ 1, 0x0b, 0x00, 0x00 };
	/* Every interface descriptor: interface 1 has a second setting. */
	d->config = 1;
	d->n_alts = 3;
	d->alts[0] = (struct ctl_ifalt){ 1, 0, 0, 0x03, 0x00, 0x00 };
	d->alts[1] = (struct ctl_ifalt){ 1, 1, 0, 0x0b, 0x00, 0x00 };
	d->alts[2] = (struct ctl_ifalt){ 1, 1, 1, 0x03, 0x01, 0x01 };
	memset(d->hash, 0x5a, sizeof(d->hash));
	d->flags = CTL_DEV_F_EXPORT | CTL_DEV_F_HASH | CTL_DEV_F_PARENT |
	    CTL_DEV_F_CONNECT;
	strcpy(d->auto_attach, "work");
	memset(d->parent_hash, 0xa5, sizeof(d->parent_hash));
	d->connect_type = IDENT_CONNECT_HARDWIRED;
}

static void
sample(uint32_t type, struct ctl_msg *m)
{
	ctl_msg_init(m, type);
	switch (type) {
	case CTL_MSG_HELLO:
		m->u.hello.caps = CTL_CAP__ALL;
		m->u.hello.role = CTL_ROLE_BACKEND;
		strcpy(m->u.hello.name, "sys-usb");
		break;
	case CTL_MSG_ERROR:
		m->u.error.code = CTL_E_STATE;
		strcpy(m->u.error.text, "unexpected SERVE");
		break;
	case CTL_MSG_DEV_ADD:
	case CTL_MSG_DEV_CHANGE:
		sample_dev(&m->u.dev);
		break;
	case CTL_MSG_DEV_REMOVE:
		strcpy(m->u.dev_remove.busid, "2-1.4");
		break;
	case CTL_MSG_SESSION_STATUS:
		m->u.session_status.session = 0x1122334455667788ull;
		strcpy(m->u.session_status.busid, "2-1");
		m->u.session_status.state = CTL_SESS_ENDED;
		m->u.session_status.reason = CTL_REASON_DEVICE_GONE;
		strcpy(m->u.session_status.text, "unplugged");
		break;
	case CTL_MSG_SERVE:
		m->u.serve.session = 7;
		strcpy(m->u.serve.busid, "2-1");
		strcpy(m->u.serve.uri, "tcp:10.0.2.2:7001");
		m->u.serve.options = CTL_OPT_RESET | CTL_OPT_LISTEN |
		    CTL_OPT_PIN_CONFIG;
		memset(m->u.serve.hash, 0xa5, CTL_HASH_LEN);
		m->u.serve.vid = 0x1234;
		m->u.serve.pid = 0x5678;
		m->u.serve.n_refused = 2;
		m->u.serve.refused[0] = 1;
		m->u.serve.refused[1] = 3;
		m->u.serve.n_refused_alts = 2;
		m->u.serve.refused_alts[0][0] = 0;
		m->u.serve.refused_alts[0][1] = 1;
		m->u.serve.refused_alts[1][0] = 2;
		m->u.serve.refused_alts[1][1] = 3;
		break;
	case CTL_MSG_STOP:
		m->u.stop.session = 7;
		strcpy(m->u.stop.busid, "2-1");
		m->u.stop.reason = CTL_REASON_ORDERED;
		break;
	case CTL_MSG_IMPORT:
		m->u.import.session = 7;
		strcpy(m->u.import.backend, "sys-usb");
		strcpy(m->u.import.busid, "2-1");
		strcpy(m->u.import.uri, "tcp:10.0.2.2:7001");
		m->u.import.vid = 0x1234;
		m->u.import.pid = 0x5678;
		m->u.import.speed = CTL_SPEED_HIGH;
		strcpy(m->u.import.device_id, "1234:5678:SER:u080650");
		m->u.import.n_classes = 2;
		memcpy(m->u.import.classes, "\x08\x06\x50\x03\x01\x01", 6);
		break;
	case CTL_MSG_UNIMPORT:
		m->u.unimport.session = 7;
		m->u.unimport.reason = CTL_REASON_ORDERED;
		break;
	case CTL_MSG_IMPORT_RESULT:
		m->u.import_result.session = 7;
		m->u.import_result.state = CTL_IMPORT_ATTACHED;
		m->u.import_result.vhci_port = 3;
		strcpy(m->u.import_result.local_busid, "3-1");
		break;
	case CTL_MSG_CLI_REQUEST:
		m->u.cli_request.cmd = CTL_CLI_ATTACH;
		m->u.cli_request.flags = CTL_CLIF_PERSISTENT;
		m->u.cli_request.nargs = 2;
		strcpy(m->u.cli_request.args[0], "work");
		strcpy(m->u.cli_request.args[1], "sys-usb:2-1");
		break;
	case CTL_MSG_CLI_ROW:
		ctl_row_add(&m->u.cli_row, "device", "sys-usb:2-1");
		ctl_row_add(&m->u.cli_row, "description",
		    "Keyboard: Logitech, Inc. K120");
		break;
	case CTL_MSG_CLI_DONE:
		m->u.cli_done.status = CTL_ST_DENIED;
		strcpy(m->u.cli_done.message, "denied by rule");
		strcpy(m->u.cli_done.rule, "/etc/usbgate/rules.d/50.rules:3");
		break;
	}
}

static const uint32_t all_types[] = {
	CTL_MSG_HELLO, CTL_MSG_ERROR, CTL_MSG_DEV_ADD, CTL_MSG_DEV_REMOVE,
	CTL_MSG_DEV_CHANGE, CTL_MSG_SESSION_STATUS, CTL_MSG_SERVE,
	CTL_MSG_STOP, CTL_MSG_IMPORT_RESULT, CTL_MSG_IMPORT,
	CTL_MSG_UNIMPORT, CTL_MSG_CLI_REQUEST, CTL_MSG_CLI_ROW,
	CTL_MSG_CLI_DONE,
};
#define N_TYPES	(sizeof(all_types) / sizeof(all_types[0]))

static uint8_t wire[CTL_MSG_MAX];

/* Encode m; returns the frame length. */
static size_t
encode(const struct ctl_msg *m)
{
	struct ctl_wbuf w;

	ctl_wbuf_init(&w, wire, sizeof(wire));
	ck_assert_int_eq(ctl_msg_encode(m, &w), CTL_OK);
	return w.len;
}

START_TEST(test_every_type_roundtrips)
{
	struct ctl_msg in, out;
	uint32_t type, len;
	size_t n;

	sample(all_types[_i], &in);
	n = encode(&in);
	ck_assert_int_eq(ctl_hdr_parse(wire, &type, &len), CTL_OK);
	ck_assert_uint_eq(type, all_types[_i]);
	ck_assert_uint_eq(len, n - CTL_HDR_LEN);
	ck_assert_int_eq(ctl_msg_parse(type, wire + CTL_HDR_LEN, len, &out),
	    CTL_OK);
	ck_assert_mem_eq(&in, &out, sizeof(in));
}
END_TEST

START_TEST(test_every_prefix_is_refused)
{
	struct ctl_msg in, out;
	size_t n, cut;
	int r;

	sample(all_types[_i], &in);
	n = encode(&in) - CTL_HDR_LEN;
	for (cut = 0; cut < n; cut++) {
		/* Copy the prefix so ASan sees any read past it. */
		uint8_t *p = malloc(cut ? cut : 1);

		memcpy(p, wire + CTL_HDR_LEN, cut);
		r = ctl_msg_parse(all_types[_i], p, cut, &out);
		free(p);
		ck_assert_msg(r != CTL_OK, "%s: prefix %zu of %zu accepted",
		    ctl_msg_name(all_types[_i]), cut, n);
	}
}
END_TEST

START_TEST(test_extra_bytes_are_refused)
{
	struct ctl_msg in, out;
	size_t n;

	sample(all_types[_i], &in);
	n = encode(&in) - CTL_HDR_LEN;
	wire[CTL_HDR_LEN + n] = 0;
	ck_assert_int_eq(ctl_msg_parse(all_types[_i], wire + CTL_HDR_LEN,
	    n + 1, &out), CTL_E_TRAILING);
}
END_TEST

START_TEST(test_bit_flips_refused_or_verified)
{
	struct ctl_msg in, out;
	size_t n, bit;

	sample(all_types[_i], &in);
	n = encode(&in) - CTL_HDR_LEN;
	for (bit = 0; bit < n * 8; bit++) {
		uint8_t *p = malloc(n);

		memcpy(p, wire + CTL_HDR_LEN, n);
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (ctl_msg_parse(all_types[_i], p, n, &out) == CTL_OK)
			ck_assert_int_eq(ctl_msg_verify(&out), CTL_OK);
		free(p);
	}
}
END_TEST

START_TEST(test_random_bodies_never_crash)
{
	unsigned seed = 0x5eed0000u + (unsigned)_i;
	struct ctl_msg in, out;
	size_t n, len, k;
	int iter;

	/* Random lengths and bytes, and valid bodies with random tails, for
	 * one type: accepted messages must pass the verifier. */
	sample(all_types[_i], &in);
	n = encode(&in) - CTL_HDR_LEN;
	for (iter = 0; iter < 3000; iter++) {
		uint8_t *p;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % (n + 64);
		p = malloc(len ? len : 1);
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			p[k] = k < n && (seed >> 20) % 4 ? wire[CTL_HDR_LEN + k]
			    : (uint8_t)(seed >> 16);
		}
		if (ctl_msg_parse(all_types[_i], p, len, &out) == CTL_OK)
			ck_assert_int_eq(ctl_msg_verify(&out), CTL_OK);
		free(p);
	}
}
END_TEST

START_TEST(test_invalid_struct_is_not_sent)
{
	struct ctl_msg m;
	struct ctl_wbuf w;

	sample(CTL_MSG_DEV_ADD, &m);
	strcpy(m.u.dev.product, "bad\nline");
	ctl_wbuf_init(&w, wire, sizeof(wire));
	ck_assert_int_eq(ctl_msg_encode(&m, &w), CTL_E_CHARSET);
	ck_assert_uint_eq(w.len, 0);
}
END_TEST

START_TEST(test_unknown_type_refused)
{
	struct ctl_msg out;

	ck_assert_int_eq(ctl_msg_parse(0x0999, "", 0, &out), CTL_E_TYPE);
	ck_assert_int_eq(ctl_msg_parse(0, "", 0, &out), CTL_E_TYPE);
}
END_TEST

/* ---- an independent encoder for hostile content ------------------------ */

static void
raw_dev(struct ctl_wbuf *w, const struct ctl_dev *d, int n_ifaces_wire)
{
	int i;

	ctl_put_str(w, d->busid, 1000);
	ctl_put_u16(w, d->vid);
	ctl_put_u16(w, d->pid);
	ctl_put_u16(w, d->bcd_device);
	ctl_put_u16(w, d->bcd_usb);
	ctl_put_u8(w, d->speed);
	ctl_put_u8(w, d->dev_class);
	ctl_put_u8(w, d->dev_subclass);
	ctl_put_u8(w, d->dev_proto);
	ctl_put_str(w, d->serial, 1000);
	ctl_put_str(w, d->manufacturer, 1000);
	ctl_put_str(w, d->product, 1000);
	ctl_put_u8(w, (uint8_t)n_ifaces_wire);
	for (i = 0; i < d->n_ifaces; i++) {
		ctl_put_u8(w, d->ifaces[i].number);
		ctl_put_u8(w, d->ifaces[i].cls);
		ctl_put_u8(w, d->ifaces[i].subcls);
		ctl_put_u8(w, d->ifaces[i].proto);
	}
	ctl_put_u8(w, d->config);
	ctl_put_u8(w, d->n_alts);
	for (i = 0; i < d->n_alts; i++) {
		ctl_put_u8(w, d->alts[i].config);
		ctl_put_u8(w, d->alts[i].number);
		ctl_put_u8(w, d->alts[i].alt);
		ctl_put_u8(w, d->alts[i].cls);
		ctl_put_u8(w, d->alts[i].subcls);
		ctl_put_u8(w, d->alts[i].proto);
	}
	ctl_put_bytes(w, d->hash, CTL_HASH_LEN);
	ctl_put_u32(w, d->flags);
	ctl_put_str(w, d->auto_attach, 1000);
	ctl_put_bytes(w, d->parent_hash, CTL_HASH_LEN);	/* version 3 */
	ctl_put_u8(w, d->connect_type);
}

/* Mutations of a valid DEV_ADD; each must be refused with `want`. */
static void m_hub_class(struct ctl_dev *d) { d->dev_class = 0x09; }
static void m_hub_iface(struct ctl_dev *d) { d->ifaces[1].cls = 0x09; }
static void m_dup_iface(struct ctl_dev *d) { d->ifaces[1].number = 0; }
static void m_hub_alt(struct ctl_dev *d) { d->alts[2].cls = 0x09; }
static void m_dup_alt(struct ctl_dev *d) { d->alts[2].alt = 0; }
static void m_speed(struct ctl_dev *d) { d->speed = CTL_SPEED__MAX + 1; }
static void m_flags(struct ctl_dev *d) { d->flags |= 0x80000000u; }
static void m_busid_path(struct ctl_dev *d) { strcpy(d->busid, "../x"); }
static void m_busid_empty(struct ctl_dev *d) { d->busid[0] = '\0'; }
static void m_busid_iface(struct ctl_dev *d) { strcpy(d->busid, "1-1:1.0"); }
static void m_product_ctrl(struct ctl_dev *d)
{
	strcpy(d->product, "Key\033]0;pwned\007");
}
static void m_serial_newline(struct ctl_dev *d) { strcpy(d->serial, "1\n2"); }
static void m_manuf_utf8(struct ctl_dev *d)
{
	strcpy(d->manufacturer, "Caf\xc3\xa9");
}
static void m_vm_shell(struct ctl_dev *d) { strcpy(d->auto_attach, "a;b"); }
static void m_vm_digit(struct ctl_dev *d) { strcpy(d->auto_attach, "0day"); }
static void m_connect_range(struct ctl_dev *d) { d->connect_type = 5; }
static void m_connect_noflag(struct ctl_dev *d)
{
	d->flags &= ~CTL_DEV_F_CONNECT;
}
static void m_parent_noflag(struct ctl_dev *d)
{
	d->flags &= ~CTL_DEV_F_PARENT;
}

#define WANT_ANY_ERROR	1	/* not an enum ctl_error value */

static const struct lie_case {
	const char *name;
	void (*mutate)(struct ctl_dev *);
	int n_ifaces_delta;	/* lie in the count field */
	int want;
} lie_cases[] = {
	{ "device class hub", m_hub_class, 0, CTL_E_RANGE },
	{ "interface class hub", m_hub_iface, 0, CTL_E_RANGE },
	{ "duplicate interface number", m_dup_iface, 0, CTL_E_RANGE },
	{ "alternate setting class hub", m_hub_alt, 0, CTL_E_RANGE },
	{ "alternate setting listed twice", m_dup_alt, 0, CTL_E_RANGE },
	{ "speed out of range", m_speed, 0, CTL_E_RANGE },
	{ "unknown flag bit", m_flags, 0, CTL_E_RANGE },
	{ "busid is a path", m_busid_path, 0, CTL_E_CHARSET },
	{ "busid empty", m_busid_empty, 0, CTL_E_CHARSET },
	{ "busid names an interface", m_busid_iface, 0, CTL_E_CHARSET },
	{ "product has escape sequence", m_product_ctrl, 0, CTL_E_CHARSET },
	{ "serial has newline", m_serial_newline, 0, CTL_E_CHARSET },
	{ "manufacturer not ASCII", m_manuf_utf8, 0, CTL_E_CHARSET },
	{ "auto-attach VM has shell chars", m_vm_shell, 0, CTL_E_CHARSET },
	{ "auto-attach VM starts with digit", m_vm_digit, 0, CTL_E_CHARSET },
	{ "connect type out of range", m_connect_range, 0, CTL_E_RANGE },
	/* What a flag says is absent must be zero: one form per meaning. */
	{ "connect type without its flag", m_connect_noflag, 0, CTL_E_RANGE },
	{ "parent hash without its flag", m_parent_noflag, 0, CTL_E_RANGE },
	/* The count shifts every later field: any refusal will do. */
	{ "interface count says more", NULL, +1, WANT_ANY_ERROR },
	{ "interface count says fewer", NULL, -1, WANT_ANY_ERROR },
	{ "interface count 255", NULL, 253, CTL_E_RANGE },
};

START_TEST(test_lying_dev_add_refused)
{
	const struct lie_case *t = &lie_cases[_i];
	struct ctl_msg out;
	struct ctl_dev d;
	struct ctl_wbuf w;
	int r;

	sample_dev(&d);
	if (t->mutate != NULL)
		t->mutate(&d);
	ctl_wbuf_init(&w, wire, sizeof(wire));
	raw_dev(&w, &d, d.n_ifaces + t->n_ifaces_delta);
	ck_assert_int_eq(w.err, CTL_OK);
	r = ctl_msg_parse(CTL_MSG_DEV_ADD, wire, w.len, &out);
	if (t->want == WANT_ANY_ERROR && r < 0)
		return;
	ck_assert_msg(r == t->want, "%s: got %d (%s), want %d", t->name, r,
	    ctl_strerror(r), t->want);
}
END_TEST

START_TEST(test_independent_encoder_matches_layout)
{
	struct ctl_msg in, out;
	struct ctl_wbuf w;

	sample(CTL_MSG_DEV_ADD, &in);
	ctl_wbuf_init(&w, wire, sizeof(wire));
	raw_dev(&w, &in.u.dev, in.u.dev.n_ifaces);
	ck_assert_int_eq(ctl_msg_parse(CTL_MSG_DEV_ADD, wire, w.len, &out),
	    CTL_OK);
	ck_assert_mem_eq(&in, &out, sizeof(in));
}
END_TEST

/*
 * A version 2 DEV_ADD (no parent hash, no connect type) is refused, and a
 * device its backend says nothing about carries zeros and no flags.
 */
START_TEST(test_parent_and_connect_fields)
{
	struct ctl_msg in, out;
	struct ctl_wbuf w;

	sample(CTL_MSG_DEV_ADD, &in);
	ctl_wbuf_init(&w, wire, sizeof(wire));
	raw_dev(&w, &in.u.dev, in.u.dev.n_ifaces);
	ck_assert_int_eq(ctl_msg_parse(CTL_MSG_DEV_ADD, wire,
	    w.len - CTL_HASH_LEN - 1, &out), CTL_E_TRUNC);
	ck_assert_int_eq(ctl_msg_parse(CTL_MSG_DEV_ADD, wire, w.len, &out),
	    CTL_OK);
	ck_assert_uint_eq(out.u.dev.connect_type, IDENT_CONNECT_HARDWIRED);
	ck_assert_uint_eq(out.u.dev.parent_hash[31], 0xa5);

	in.u.dev.flags &= ~(CTL_DEV_F_PARENT | CTL_DEV_F_CONNECT);
	memset(in.u.dev.parent_hash, 0, CTL_HASH_LEN);
	in.u.dev.connect_type = 0;
	ctl_wbuf_init(&w, wire, sizeof(wire));
	ck_assert_int_eq(ctl_msg_encode(&in, &w), CTL_OK);
	ck_assert_int_eq(ctl_msg_parse(CTL_MSG_DEV_ADD, wire + CTL_HDR_LEN,
	    w.len - CTL_HDR_LEN, &out), CTL_OK);
	ck_assert_uint_eq(out.u.dev.flags & (CTL_DEV_F_PARENT |
	    CTL_DEV_F_CONNECT), 0);
	/* Every connect type the kernel writes has a name, and only those. */
	ck_assert_str_eq(ident_connect_name(IDENT_CONNECT_NOT_USED),
	    "not used");
	ck_assert_ptr_null(ident_connect_name(CTL_CONNECT__MAX + 1));
}
END_TEST

/* Hostile values in the other messages, checked through the verifier. */
static void l_hello_v0(struct ctl_msg *m) { m->u.hello.version = 0; }
/* Version 1 carried no alternate settings: its DEV_ADD hides classes. */
static void l_hello_v1(struct ctl_msg *m) { m->u.hello.version = 1; }
/* Version 2's DEV_ADD ends before the parent hash and connect type. */
static void l_hello_v2(struct ctl_msg *m) { m->u.hello.version = 2; }
static void l_hello_role(struct ctl_msg *m) { m->u.hello.role = 9; }
static void l_hello_name(struct ctl_msg *m)
{
	strcpy(m->u.hello.name, "dom0 ");
}
static void l_status_sess0(struct ctl_msg *m)
{
	m->u.session_status.session = 0;
}
static void l_status_state(struct ctl_msg *m)
{
	m->u.session_status.state = 0;
}
static void l_status_reason(struct ctl_msg *m)
{
	m->u.session_status.reason = 200;
}
static void l_serve_dup(struct ctl_msg *m) { m->u.serve.refused[1] = 1; }
static void l_serve_opts(struct ctl_msg *m) { m->u.serve.options = 0x100; }
static void l_serve_dup_alt(struct ctl_msg *m)
{
	m->u.serve.refused_alts[1][0] = 0;
	m->u.serve.refused_alts[1][1] = 1;
}
static void l_serve_uri(struct ctl_msg *m)
{
	strcpy(m->u.serve.uri, "unix:/a b");
}
static void l_import_dup_class(struct ctl_msg *m)
{
	memcpy(m->u.import.classes[1], m->u.import.classes[0], 3);
}
static void l_result_state(struct ctl_msg *m)
{
	m->u.import_result.state = 4;
}
static void l_result_busid(struct ctl_msg *m)
{
	strcpy(m->u.import_result.local_busid, "x");
}
static void l_cli_cmd(struct ctl_msg *m) { m->u.cli_request.cmd = 0; }
static void l_cli_arg(struct ctl_msg *m)
{
	strcpy(m->u.cli_request.args[0], "");
}
static void l_row_key(struct ctl_msg *m)
{
	strcpy(m->u.cli_row.f[0].key, "Bad Key");
}
static void l_done_status(struct ctl_msg *m) { m->u.cli_done.status = 77; }

static const struct verify_case {
	const char *name;
	uint32_t type;
	void (*mutate)(struct ctl_msg *);
	int want;
} verify_cases[] = {
	{ "hello version 0", CTL_MSG_HELLO, l_hello_v0, CTL_E_VERSION },
	{ "hello version 1", CTL_MSG_HELLO, l_hello_v1, CTL_E_VERSION },
	{ "hello version 2 (IMPORT without classes)", CTL_MSG_HELLO,
	    l_hello_v2, CTL_E_VERSION },
	{ "hello unknown role", CTL_MSG_HELLO, l_hello_role, CTL_E_RANGE },
	{ "hello name with space", CTL_MSG_HELLO, l_hello_name,
	    CTL_E_CHARSET },
	{ "status session 0", CTL_MSG_SESSION_STATUS, l_status_sess0,
	    CTL_E_RANGE },
	{ "status state 0", CTL_MSG_SESSION_STATUS, l_status_state,
	    CTL_E_RANGE },
	{ "status reason 200", CTL_MSG_SESSION_STATUS, l_status_reason,
	    CTL_E_RANGE },
	{ "serve duplicate refused iface", CTL_MSG_SERVE, l_serve_dup,
	    CTL_E_RANGE },
	{ "serve unknown option", CTL_MSG_SERVE, l_serve_opts, CTL_E_RANGE },
	{ "serve duplicate refused alt", CTL_MSG_SERVE, l_serve_dup_alt,
	    CTL_E_RANGE },
	{ "serve uri with space", CTL_MSG_SERVE, l_serve_uri, CTL_E_CHARSET },
	{ "import duplicate class", CTL_MSG_IMPORT, l_import_dup_class,
	    CTL_E_RANGE },
	{ "result state 4", CTL_MSG_IMPORT_RESULT, l_result_state,
	    CTL_E_RANGE },
	{ "result busid junk", CTL_MSG_IMPORT_RESULT, l_result_busid,
	    CTL_E_CHARSET },
	{ "cli command 0", CTL_MSG_CLI_REQUEST, l_cli_cmd, CTL_E_RANGE },
	{ "cli empty argument", CTL_MSG_CLI_REQUEST, l_cli_arg,
	    CTL_E_CHARSET },
	{ "row key not a key", CTL_MSG_CLI_ROW, l_row_key, CTL_E_CHARSET },
	{ "done status 77", CTL_MSG_CLI_DONE, l_done_status, CTL_E_RANGE },
};

START_TEST(test_hostile_values_fail_verify)
{
	const struct verify_case *t = &verify_cases[_i];
	struct ctl_msg m, out;

	sample(t->type, &m);
	t->mutate(&m);
	ck_assert_msg(ctl_msg_verify(&m) == t->want, "%s", t->name);
	ck_assert_int_eq(ctl_msg_sanitize(&m, &out), t->want);
	ck_assert_uint_eq(out.type, 0);		/* nothing leaks through */
}
END_TEST

START_TEST(test_oversized_count_fields_refused_before_use)
{
	/* SERVE with n_refused = 200: refused before reading 200 bytes. */
	struct ctl_msg m, out;
	struct ctl_wbuf w;
	uint8_t big[256];

	sample(CTL_MSG_SERVE, &m);
	memset(big, 1, sizeof(big));
	ctl_wbuf_init(&w, wire, sizeof(wire));
	ctl_put_u64(&w, 7);
	ctl_put_str(&w, "2-1", 100);
	ctl_put_str(&w, "unix:/x", 100);
	ctl_put_u32(&w, 0);
	ctl_put_bytes(&w, m.u.serve.hash, CTL_HASH_LEN);
	ctl_put_u16(&w, 1);
	ctl_put_u16(&w, 2);
	ctl_put_u8(&w, 200);
	ctl_put_bytes(&w, big, 200);
	ck_assert_int_eq(ctl_msg_parse(CTL_MSG_SERVE, wire, w.len, &out),
	    CTL_E_RANGE);

	/* CLI_REQUEST claiming 9 arguments. */
	ctl_wbuf_init(&w, wire, sizeof(wire));
	ctl_put_u16(&w, CTL_CLI_LIST);
	ctl_put_u32(&w, 0);
	ctl_put_u8(&w, CTL_CLI_ARGS_MAX + 1);
	ck_assert_int_eq(ctl_msg_parse(CTL_MSG_CLI_REQUEST, wire, w.len,
	    &out), CTL_E_RANGE);

	/* A body over the protocol limit. */
	ck_assert_int_eq(ctl_msg_parse(CTL_MSG_CLI_ROW, wire,
	    CTL_BODY_MAX + 1, &out), CTL_E_MSGLEN);
}
END_TEST

static const struct dir_case {
	uint32_t type;
	enum ctl_role sender;
	int want;
} dir_cases[] = {
	{ CTL_MSG_HELLO, CTL_ROLE_BACKEND, 1 },
	{ CTL_MSG_HELLO, CTL_ROLE_DOM0, 1 },
	{ CTL_MSG_DEV_ADD, CTL_ROLE_BACKEND, 1 },
	{ CTL_MSG_DEV_ADD, CTL_ROLE_FRONTEND, 0 },
	{ CTL_MSG_DEV_ADD, CTL_ROLE_CLI, 0 },
	{ CTL_MSG_SERVE, CTL_ROLE_DOM0, 1 },
	{ CTL_MSG_SERVE, CTL_ROLE_BACKEND, 0 },
	{ CTL_MSG_SERVE, CTL_ROLE_FRONTEND, 0 },
	{ CTL_MSG_IMPORT, CTL_ROLE_FRONTEND, 0 },
	{ CTL_MSG_IMPORT_RESULT, CTL_ROLE_FRONTEND, 1 },
	{ CTL_MSG_IMPORT_RESULT, CTL_ROLE_BACKEND, 0 },
	{ CTL_MSG_SESSION_STATUS, CTL_ROLE_FRONTEND, 0 },
	{ CTL_MSG_CLI_REQUEST, CTL_ROLE_CLI, 1 },
	{ CTL_MSG_CLI_REQUEST, CTL_ROLE_BACKEND, 0 },
	{ CTL_MSG_CLI_DONE, CTL_ROLE_CLI, 0 },
	{ 0x0999, CTL_ROLE_DOM0, 0 },
};

START_TEST(test_direction_table)
{
	const struct dir_case *t = &dir_cases[_i];

	ck_assert_msg(ctl_msg_allowed(t->type, t->sender) == t->want,
	    "%s from role %d", ctl_msg_name(t->type), t->sender);
}
END_TEST

START_TEST(test_row_helpers_scrub_values)
{
	struct ctl_cli_row row;

	memset(&row, 0, sizeof(row));
	ck_assert_int_eq(ctl_row_add(&row, "description", "a\tb"), CTL_OK);
	ck_assert_str_eq(ctl_row_get(&row, "description"), "a_b");
	ck_assert_ptr_null(ctl_row_get(&row, "missing"));
}
END_TEST

START_TEST(test_name_tables_cover_enums)
{
	int i;

	for (i = 0; i < CTL_ST__COUNT; i++)
		ck_assert_str_ne(ctl_status_name(i), "unknown status");
	for (i = 0; i <= CTL_REASON__MAX; i++)
		ck_assert_str_ne(ctl_reason_name(i), "unknown reason");
	for (i = 0; i < (int)N_TYPES; i++)
		ck_assert_str_ne(ctl_msg_name(all_types[i]), "?");
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("ctl_msg");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_every_type_roundtrips, 0, N_TYPES);
	tcase_add_loop_test(tc, test_every_prefix_is_refused, 0, N_TYPES);
	tcase_add_loop_test(tc, test_extra_bytes_are_refused, 0, N_TYPES);
	tcase_add_loop_test(tc, test_bit_flips_refused_or_verified, 0,
	    N_TYPES);
	tcase_add_loop_test(tc, test_random_bodies_never_crash, 0, N_TYPES);
	tcase_add_test(tc, test_invalid_struct_is_not_sent);
	tcase_add_test(tc, test_unknown_type_refused);
	tcase_add_loop_test(tc, test_lying_dev_add_refused, 0,
	    sizeof(lie_cases) / sizeof(lie_cases[0]));
	tcase_add_test(tc, test_independent_encoder_matches_layout);
	tcase_add_test(tc, test_parent_and_connect_fields);
	tcase_add_loop_test(tc, test_hostile_values_fail_verify, 0,
	    sizeof(verify_cases) / sizeof(verify_cases[0]));
	tcase_add_test(tc, test_oversized_count_fields_refused_before_use);
	tcase_add_loop_test(tc, test_direction_table, 0,
	    sizeof(dir_cases) / sizeof(dir_cases[0]));
	tcase_add_test(tc, test_row_helpers_scrub_values);
	tcase_add_test(tc, test_name_tables_cover_enums);
	suite_add_tcase(s, tc);
	return s;
}
