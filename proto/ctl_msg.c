/*
 * ctl_msg.c: encode, decode and verify the control messages (see ctl_msg.h
 * and doc/control-protocol.md). Every decoder reads its fields in wire order
 * through the cursor and ends with ctl_cur_end(), so a message that is
 * shorter or longer than its fields is refused; every semantic rule lives in
 * one verifier per type, shared by the sender and the receiver.
 */
#include "config.h"

#include <string.h>

#include "ctl_msg.h"

/* ---- names ------------------------------------------------------------ */

static const char *const ctl_status_str[CTL_ST__COUNT] = {
	[CTL_ST_OK] = "ok",
	[CTL_ST_ERROR] = "error",
	[CTL_ST_USAGE] = "usage error",
	[CTL_ST_NOT_FOUND] = "not found",
	[CTL_ST_DENIED] = "denied",
	[CTL_ST_BUSY] = "busy",
	[CTL_ST_UNREACHABLE] = "unreachable",
	[CTL_ST_FAILED] = "failed",
	[CTL_ST_TIMEOUT] = "timed out",
	[CTL_ST_POLICY] = "policy error",
};
_Static_assert(sizeof(ctl_status_str) / sizeof(ctl_status_str[0]) ==
    CTL_ST__COUNT, "ctl_status_str must cover enum ctl_status");

const char *
ctl_status_name(int st)
{
	if (st < 0 || st >= CTL_ST__COUNT)
		return "unknown status";
	return ctl_status_str[st];
}

static const char *const ctl_reason_str[CTL_REASON__MAX + 1] = {
	[CTL_REASON_NONE] = "none",
	[CTL_REASON_ORDERED] = "ordered by dom0",
	[CTL_REASON_DEVICE_GONE] = "device gone",
	[CTL_REASON_PEER_GONE] = "peer gone",
	[CTL_REASON_IO] = "I/O error",
	[CTL_REASON_MISMATCH] = "device identity mismatch",
	[CTL_REASON_BUSY] = "busy",
	[CTL_REASON_NOT_FOUND] = "no such device",
	[CTL_REASON_UNSUPPORTED] = "not supported",
	[CTL_REASON_INTERNAL] = "internal error",
	[CTL_REASON_SHUTDOWN] = "shutting down",
};
_Static_assert(sizeof(ctl_reason_str) / sizeof(ctl_reason_str[0]) ==
    CTL_REASON__MAX + 1, "ctl_reason_str must cover enum ctl_reason");

const char *
ctl_reason_name(int reason)
{
	if (reason < 0 || reason > CTL_REASON__MAX)
		return "unknown reason";
	return ctl_reason_str[reason];
}

static const char *const ctl_speed_str[CTL_SPEED__MAX + 1] = {
	"unknown", "1.5", "12", "480", "5000", "10000", "20000",
};

const char *
ctl_speed_name(int speed)
{
	if (speed < 0 || speed > CTL_SPEED__MAX)
		return "unknown";
	return ctl_speed_str[speed];
}

/*
 * One row per message type: its name and the role allowed to send it.
 * CTL_ROLE_NONE in `sender` means any role (hello, error).
 */
static const struct {
	uint32_t type;
	const char *name;
	enum ctl_role sender;
} ctl_types[] = {
	{ CTL_MSG_HELLO, "HELLO", CTL_ROLE_NONE },
	{ CTL_MSG_ERROR, "ERROR", CTL_ROLE_NONE },
	{ CTL_MSG_DEV_ADD, "DEV_ADD", CTL_ROLE_BACKEND },
	{ CTL_MSG_DEV_REMOVE, "DEV_REMOVE", CTL_ROLE_BACKEND },
	{ CTL_MSG_DEV_CHANGE, "DEV_CHANGE", CTL_ROLE_BACKEND },
	{ CTL_MSG_SESSION_STATUS, "SESSION_STATUS", CTL_ROLE_BACKEND },
	{ CTL_MSG_SERVE, "SERVE", CTL_ROLE_DOM0 },
	{ CTL_MSG_STOP, "STOP", CTL_ROLE_DOM0 },
	{ CTL_MSG_IMPORT_RESULT, "IMPORT_RESULT", CTL_ROLE_FRONTEND },
	{ CTL_MSG_IMPORT, "IMPORT", CTL_ROLE_DOM0 },
	{ CTL_MSG_UNIMPORT, "UNIMPORT", CTL_ROLE_DOM0 },
	{ CTL_MSG_CLI_REQUEST, "CLI_REQUEST", CTL_ROLE_CLI },
	{ CTL_MSG_CLI_ROW, "CLI_ROW", CTL_ROLE_DOM0 },
	{ CTL_MSG_CLI_DONE, "CLI_DONE", CTL_ROLE_DOM0 },
};

const char *
ctl_msg_name(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(ctl_types) / sizeof(ctl_types[0]); i++)
		if (ctl_types[i].type == type)
			return ctl_types[i].name;
	return "?";
}

int
ctl_msg_allowed(uint32_t type, enum ctl_role sender)
{
	size_t i;

	for (i = 0; i < sizeof(ctl_types) / sizeof(ctl_types[0]); i++)
		if (ctl_types[i].type == type)
			return ctl_types[i].sender == CTL_ROLE_NONE ||
			    ctl_types[i].sender == sender;
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

int
ctl_strlcpy(char *dst, const char *src, size_t dstsize)
{
	size_t n = strlen(src);

	if (dstsize == 0)
		return 0;
	if (n >= dstsize) {
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return 0;
	}
	memcpy(dst, src, n + 1);
	return 1;
}

void
ctl_msg_init(struct ctl_msg *msg, uint32_t type)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = type;
	if (type == CTL_MSG_HELLO)
		msg->u.hello.version = CTL_PROTO_VERSION;
}

int
ctl_row_add(struct ctl_cli_row *row, const char *key, const char *value)
{
	struct ctl_cli_field *f;

	if (row->nfields >= CTL_CLI_FIELDS_MAX)
		return CTL_E_RANGE;
	f = &row->f[row->nfields];
	if (!ctl_strlcpy(f->key, key, sizeof(f->key)))
		return CTL_E_STRLEN;
	ctl_strlcpy(f->value, value != NULL ? value : "", sizeof(f->value));
	ctl_str_scrub(f->value, CTL_CS_PRINT);
	row->nfields++;
	return CTL_OK;
}

const char *
ctl_row_get(const struct ctl_cli_row *row, const char *key)
{
	int i;

	for (i = 0; i < row->nfields; i++)
		if (strcmp(row->f[i].key, key) == 0)
			return row->f[i].value;
	return NULL;
}

/* A string must fit its array; this catches unterminated local structs. */
#define STR_FITS(a)	(memchr((a), '\0', sizeof(a)) != NULL)

/* ---- verify ----------------------------------------------------------- */

static int
verify_hello(const struct ctl_hello *m)
{
	if (!STR_FITS(m->name))
		return CTL_E_STRLEN;
	if (m->version < CTL_PROTO_VERSION_MIN)
		return CTL_E_VERSION;
	if (m->role == CTL_ROLE_NONE || m->role > CTL_ROLE__MAX)
		return CTL_E_RANGE;
	if (!ctl_str_valid_or_empty(m->name, CTL_CS_NAME))
		return CTL_E_CHARSET;
	/* Unknown capability bits are ignored, for forward compatibility. */
	return CTL_OK;
}

static int
verify_error(const struct ctl_error_msg *m)
{
	if (!STR_FITS(m->text))
		return CTL_E_STRLEN;
	if (!ctl_str_valid_or_empty(m->text, CTL_CS_PRINT))
		return CTL_E_CHARSET;
	return CTL_OK;
}

static int
verify_dev(const struct ctl_dev *m)
{
	int i, j;

	if (!STR_FITS(m->busid) || !STR_FITS(m->serial) ||
	    !STR_FITS(m->manufacturer) || !STR_FITS(m->product) ||
	    !STR_FITS(m->auto_attach))
		return CTL_E_STRLEN;
	if (!ctl_str_valid(m->busid, CTL_CS_BUSID) ||
	    !ctl_str_valid_or_empty(m->serial, CTL_CS_PRINT) ||
	    !ctl_str_valid_or_empty(m->manufacturer, CTL_CS_PRINT) ||
	    !ctl_str_valid_or_empty(m->product, CTL_CS_PRINT) ||
	    !ctl_str_valid_or_empty(m->auto_attach, CTL_CS_NAME))
		return CTL_E_CHARSET;
	if (m->speed > CTL_SPEED__MAX)
		return CTL_E_RANGE;
	if (m->flags & ~CTL_DEV_F__ALL)
		return CTL_E_RANGE;
	/* One form per meaning: what a flag says is absent is zero. */
	if (m->connect_type > CTL_CONNECT__MAX ||
	    (!(m->flags & CTL_DEV_F_CONNECT) && m->connect_type != 0))
		return CTL_E_RANGE;
	if (!(m->flags & CTL_DEV_F_PARENT))
		for (i = 0; i < CTL_HASH_LEN; i++)
			if (m->parent_hash[i] != 0)
				return CTL_E_RANGE;
	if (m->n_ifaces > CTL_IFACE_MAX)
		return CTL_E_RANGE;
	/* A hub is never exported; a device that says it is one is lying. */
	if (m->dev_class == 0x09)
		return CTL_E_RANGE;
	for (i = 0; i < m->n_ifaces; i++) {
		if (m->ifaces[i].cls == 0x09)
			return CTL_E_RANGE;
		for (j = 0; j < i; j++)
			if (m->ifaces[j].number == m->ifaces[i].number)
				return CTL_E_RANGE;
	}
	/* One entry per interface descriptor, none of them a hub. */
	for (i = 0; i < m->n_alts; i++) {
		const struct ctl_ifalt *a = &m->alts[i];

		if (a->cls == 0x09)
			return CTL_E_RANGE;
		for (j = 0; j < i; j++)
			if (m->alts[j].config == a->config &&
			    m->alts[j].number == a->number &&
			    m->alts[j].alt == a->alt)
				return CTL_E_RANGE;
	}
	return CTL_OK;
}

static int
verify_dev_remove(const struct ctl_dev_remove *m)
{
	if (!STR_FITS(m->busid))
		return CTL_E_STRLEN;
	if (!ctl_str_valid(m->busid, CTL_CS_BUSID))
		return CTL_E_CHARSET;
	return CTL_OK;
}

static int
verify_session_status(const struct ctl_session_status *m)
{
	if (!STR_FITS(m->busid) || !STR_FITS(m->text))
		return CTL_E_STRLEN;
	if (m->session == 0)
		return CTL_E_RANGE;
	if (m->state < CTL_SESS_READY || m->state > CTL_SESS_FAILED)
		return CTL_E_RANGE;
	if (m->reason > CTL_REASON__MAX)
		return CTL_E_RANGE;
	if (!ctl_str_valid(m->busid, CTL_CS_BUSID) ||
	    !ctl_str_valid_or_empty(m->text, CTL_CS_PRINT))
		return CTL_E_CHARSET;
	return CTL_OK;
}

static int
verify_serve(const struct ctl_serve *m)
{
	int i, j;

	if (!STR_FITS(m->busid) || !STR_FITS(m->uri))
		return CTL_E_STRLEN;
	if (m->session == 0)
		return CTL_E_RANGE;
	if (!ctl_str_valid(m->busid, CTL_CS_BUSID) ||
	    !ctl_str_valid(m->uri, CTL_CS_TOKEN))
		return CTL_E_CHARSET;
	if (m->options & ~CTL_OPT__ALL)
		return CTL_E_RANGE;
	if (m->n_refused > CTL_IFACE_MAX)
		return CTL_E_RANGE;
	for (i = 0; i < m->n_refused; i++)
		for (j = 0; j < i; j++)
			if (m->refused[i] == m->refused[j])
				return CTL_E_RANGE;
	for (i = 0; i < m->n_refused_alts; i++)
		for (j = 0; j < i; j++)
			if (memcmp(m->refused_alts[i], m->refused_alts[j], 2) ==
			    0)
				return CTL_E_RANGE;
	return CTL_OK;
}

static int
verify_stop(const struct ctl_stop *m)
{
	if (!STR_FITS(m->busid))
		return CTL_E_STRLEN;
	if (m->session == 0 || m->reason > CTL_REASON__MAX)
		return CTL_E_RANGE;
	if (!ctl_str_valid(m->busid, CTL_CS_BUSID))
		return CTL_E_CHARSET;
	return CTL_OK;
}

static int
verify_import(const struct ctl_import *m)
{
	int i, j;

	if (!STR_FITS(m->backend) || !STR_FITS(m->busid) ||
	    !STR_FITS(m->uri) || !STR_FITS(m->device_id))
		return CTL_E_STRLEN;
	if (m->session == 0 || m->speed > CTL_SPEED__MAX)
		return CTL_E_RANGE;
	if (m->options & ~CTL_OPT__ALL)
		return CTL_E_RANGE;
	if (!ctl_str_valid(m->backend, CTL_CS_NAME) ||
	    !ctl_str_valid(m->busid, CTL_CS_BUSID) ||
	    !ctl_str_valid(m->uri, CTL_CS_TOKEN) ||
	    !ctl_str_valid(m->device_id, CTL_CS_TOKEN))
		return CTL_E_CHARSET;
	for (i = 0; i < m->n_classes; i++)
		for (j = 0; j < i; j++)
			if (memcmp(m->classes[i], m->classes[j], 3) == 0)
				return CTL_E_RANGE;
	return CTL_OK;
}

static int
verify_unimport(const struct ctl_unimport *m)
{
	if (m->session == 0 || m->reason > CTL_REASON__MAX)
		return CTL_E_RANGE;
	return CTL_OK;
}

static int
verify_import_result(const struct ctl_import_result *m)
{
	if (!STR_FITS(m->local_busid) || !STR_FITS(m->text))
		return CTL_E_STRLEN;
	if (m->session == 0)
		return CTL_E_RANGE;
	if (m->state < CTL_IMPORT_ATTACHED || m->state > CTL_IMPORT_ENDED)
		return CTL_E_RANGE;
	if (m->reason > CTL_REASON__MAX)
		return CTL_E_RANGE;
	if (!ctl_str_valid_or_empty(m->local_busid, CTL_CS_BUSID) ||
	    !ctl_str_valid_or_empty(m->text, CTL_CS_PRINT))
		return CTL_E_CHARSET;
	return CTL_OK;
}

static int
verify_cli_request(const struct ctl_cli_request *m)
{
	int i;

	if (m->cmd == 0 || m->cmd > CTL_CLI__MAX)
		return CTL_E_RANGE;
	if (m->flags & ~CTL_CLIF__ALL)
		return CTL_E_RANGE;
	if (m->nargs > CTL_CLI_ARGS_MAX)
		return CTL_E_RANGE;
	for (i = 0; i < m->nargs; i++) {
		if (!STR_FITS(m->args[i]))
			return CTL_E_STRLEN;
		if (!ctl_str_valid(m->args[i], CTL_CS_PRINT))
			return CTL_E_CHARSET;
	}
	return CTL_OK;
}

static int
verify_cli_row(const struct ctl_cli_row *m)
{
	int i;

	if (m->nfields > CTL_CLI_FIELDS_MAX)
		return CTL_E_RANGE;
	for (i = 0; i < m->nfields; i++) {
		if (!STR_FITS(m->f[i].key) || !STR_FITS(m->f[i].value))
			return CTL_E_STRLEN;
		if (!ctl_str_valid(m->f[i].key, CTL_CS_KEY) ||
		    !ctl_str_valid_or_empty(m->f[i].value, CTL_CS_PRINT))
			return CTL_E_CHARSET;
	}
	return CTL_OK;
}

static int
verify_cli_done(const struct ctl_cli_done *m)
{
	if (!STR_FITS(m->message) || !STR_FITS(m->rule))
		return CTL_E_STRLEN;
	if (m->status < 0 || m->status >= CTL_ST__COUNT)
		return CTL_E_RANGE;
	if (!ctl_str_valid_or_empty(m->message, CTL_CS_PRINT) ||
	    !ctl_str_valid_or_empty(m->rule, CTL_CS_PRINT))
		return CTL_E_CHARSET;
	return CTL_OK;
}

int
ctl_msg_verify(const struct ctl_msg *msg)
{
	switch (msg->type) {
	case CTL_MSG_HELLO:
		return verify_hello(&msg->u.hello);
	case CTL_MSG_ERROR:
		return verify_error(&msg->u.error);
	case CTL_MSG_DEV_ADD:
	case CTL_MSG_DEV_CHANGE:
		return verify_dev(&msg->u.dev);
	case CTL_MSG_DEV_REMOVE:
		return verify_dev_remove(&msg->u.dev_remove);
	case CTL_MSG_SESSION_STATUS:
		return verify_session_status(&msg->u.session_status);
	case CTL_MSG_SERVE:
		return verify_serve(&msg->u.serve);
	case CTL_MSG_STOP:
		return verify_stop(&msg->u.stop);
	case CTL_MSG_IMPORT:
		return verify_import(&msg->u.import);
	case CTL_MSG_UNIMPORT:
		return verify_unimport(&msg->u.unimport);
	case CTL_MSG_IMPORT_RESULT:
		return verify_import_result(&msg->u.import_result);
	case CTL_MSG_CLI_REQUEST:
		return verify_cli_request(&msg->u.cli_request);
	case CTL_MSG_CLI_ROW:
		return verify_cli_row(&msg->u.cli_row);
	case CTL_MSG_CLI_DONE:
		return verify_cli_done(&msg->u.cli_done);
	}
	return CTL_E_TYPE;
}

/* ---- encode ----------------------------------------------------------- */

static void
enc_dev(struct ctl_wbuf *w, const struct ctl_dev *m)
{
	int i;

	ctl_put_str(w, m->busid, CTL_BUSID_MAX);
	ctl_put_u16(w, m->vid);
	ctl_put_u16(w, m->pid);
	ctl_put_u16(w, m->bcd_device);
	ctl_put_u16(w, m->bcd_usb);
	ctl_put_u8(w, m->speed);
	ctl_put_u8(w, m->dev_class);
	ctl_put_u8(w, m->dev_subclass);
	ctl_put_u8(w, m->dev_proto);
	ctl_put_str(w, m->serial, CTL_USBSTR_MAX);
	ctl_put_str(w, m->manufacturer, CTL_USBSTR_MAX);
	ctl_put_str(w, m->product, CTL_USBSTR_MAX);
	ctl_put_u8(w, m->n_ifaces);
	for (i = 0; i < m->n_ifaces; i++) {
		ctl_put_u8(w, m->ifaces[i].number);
		ctl_put_u8(w, m->ifaces[i].cls);
		ctl_put_u8(w, m->ifaces[i].subcls);
		ctl_put_u8(w, m->ifaces[i].proto);
	}
	ctl_put_u8(w, m->config);
	ctl_put_u8(w, m->n_alts);
	for (i = 0; i < m->n_alts; i++) {
		ctl_put_u8(w, m->alts[i].config);
		ctl_put_u8(w, m->alts[i].number);
		ctl_put_u8(w, m->alts[i].alt);
		ctl_put_u8(w, m->alts[i].cls);
		ctl_put_u8(w, m->alts[i].subcls);
		ctl_put_u8(w, m->alts[i].proto);
	}
	ctl_put_bytes(w, m->hash, CTL_HASH_LEN);
	ctl_put_u32(w, m->flags);
	ctl_put_str(w, m->auto_attach, CTL_NAME_MAX);
	ctl_put_bytes(w, m->parent_hash, CTL_HASH_LEN);
	ctl_put_u8(w, m->connect_type);
}

static void
enc_body(struct ctl_wbuf *w, const struct ctl_msg *msg)
{
	const struct ctl_cli_request *rq;
	const struct ctl_cli_row *row;
	int i;

	switch (msg->type) {
	case CTL_MSG_HELLO:
		ctl_put_u32(w, msg->u.hello.version);
		ctl_put_u32(w, msg->u.hello.caps);
		ctl_put_u8(w, msg->u.hello.role);
		ctl_put_str(w, msg->u.hello.name, CTL_NAME_MAX);
		break;
	case CTL_MSG_ERROR:
		ctl_put_i32(w, msg->u.error.code);
		ctl_put_str(w, msg->u.error.text, CTL_TEXT_MAX);
		break;
	case CTL_MSG_DEV_ADD:
	case CTL_MSG_DEV_CHANGE:
		enc_dev(w, &msg->u.dev);
		break;
	case CTL_MSG_DEV_REMOVE:
		ctl_put_str(w, msg->u.dev_remove.busid, CTL_BUSID_MAX);
		break;
	case CTL_MSG_SESSION_STATUS:
		ctl_put_u64(w, msg->u.session_status.session);
		ctl_put_str(w, msg->u.session_status.busid, CTL_BUSID_MAX);
		ctl_put_u8(w, msg->u.session_status.state);
		ctl_put_u8(w, msg->u.session_status.reason);
		ctl_put_str(w, msg->u.session_status.text, CTL_TEXT_MAX);
		break;
	case CTL_MSG_SERVE:
		ctl_put_u64(w, msg->u.serve.session);
		ctl_put_str(w, msg->u.serve.busid, CTL_BUSID_MAX);
		ctl_put_str(w, msg->u.serve.uri, CTL_URI_MAX);
		ctl_put_u32(w, msg->u.serve.options);
		ctl_put_bytes(w, msg->u.serve.hash, CTL_HASH_LEN);
		ctl_put_u16(w, msg->u.serve.vid);
		ctl_put_u16(w, msg->u.serve.pid);
		ctl_put_u8(w, msg->u.serve.n_refused);
		ctl_put_bytes(w, msg->u.serve.refused, msg->u.serve.n_refused);
		ctl_put_u8(w, msg->u.serve.n_refused_alts);
		ctl_put_bytes(w, msg->u.serve.refused_alts,
		    2 * (size_t)msg->u.serve.n_refused_alts);
		break;
	case CTL_MSG_STOP:
		ctl_put_u64(w, msg->u.stop.session);
		ctl_put_str(w, msg->u.stop.busid, CTL_BUSID_MAX);
		ctl_put_u8(w, msg->u.stop.reason);
		break;
	case CTL_MSG_IMPORT:
		ctl_put_u64(w, msg->u.import.session);
		ctl_put_str(w, msg->u.import.backend, CTL_NAME_MAX);
		ctl_put_str(w, msg->u.import.busid, CTL_BUSID_MAX);
		ctl_put_str(w, msg->u.import.uri, CTL_URI_MAX);
		ctl_put_u32(w, msg->u.import.options);
		ctl_put_u16(w, msg->u.import.vid);
		ctl_put_u16(w, msg->u.import.pid);
		ctl_put_u8(w, msg->u.import.speed);
		ctl_put_str(w, msg->u.import.device_id, CTL_DEVID_MAX);
		ctl_put_u8(w, msg->u.import.n_classes);
		ctl_put_bytes(w, msg->u.import.classes,
		    3 * (size_t)msg->u.import.n_classes);
		break;
	case CTL_MSG_UNIMPORT:
		ctl_put_u64(w, msg->u.unimport.session);
		ctl_put_u8(w, msg->u.unimport.reason);
		break;
	case CTL_MSG_IMPORT_RESULT:
		ctl_put_u64(w, msg->u.import_result.session);
		ctl_put_u8(w, msg->u.import_result.state);
		ctl_put_u8(w, msg->u.import_result.reason);
		ctl_put_u16(w, msg->u.import_result.vhci_port);
		ctl_put_str(w, msg->u.import_result.local_busid,
		    CTL_BUSID_MAX);
		ctl_put_str(w, msg->u.import_result.text, CTL_TEXT_MAX);
		break;
	case CTL_MSG_CLI_REQUEST:
		rq = &msg->u.cli_request;
		ctl_put_u16(w, rq->cmd);
		ctl_put_u32(w, rq->flags);
		ctl_put_u8(w, rq->nargs);
		for (i = 0; i < rq->nargs; i++)
			ctl_put_str(w, rq->args[i], CTL_CLI_ARG_MAX);
		break;
	case CTL_MSG_CLI_ROW:
		row = &msg->u.cli_row;
		ctl_put_u8(w, row->nfields);
		for (i = 0; i < row->nfields; i++) {
			ctl_put_str(w, row->f[i].key, CTL_CLI_KEY_MAX);
			ctl_put_str(w, row->f[i].value, CTL_CLI_VALUE_MAX);
		}
		break;
	case CTL_MSG_CLI_DONE:
		ctl_put_i32(w, msg->u.cli_done.status);
		ctl_put_str(w, msg->u.cli_done.message, CTL_CLI_MESSAGE_MAX);
		ctl_put_str(w, msg->u.cli_done.rule, CTL_CLI_VALUE_MAX);
		break;
	}
}

int
ctl_msg_encode(const struct ctl_msg *msg, struct ctl_wbuf *w)
{
	size_t start = w->len;
	int r;

	if ((r = ctl_msg_verify(msg)) != CTL_OK)
		return r;
	ctl_frame_begin(w, msg->type);
	enc_body(w, msg);
	if ((r = ctl_frame_end(w)) != CTL_OK) {
		w->len = start;		/* drop the partial frame */
		return r;
	}
	return CTL_OK;
}

/* ---- decode ----------------------------------------------------------- */

static void
dec_dev(struct ctl_cur *c, struct ctl_dev *m)
{
	int i;

	ctl_get_str(c, m->busid, sizeof(m->busid), CTL_BUSID_MAX);
	ctl_get_u16(c, &m->vid);
	ctl_get_u16(c, &m->pid);
	ctl_get_u16(c, &m->bcd_device);
	ctl_get_u16(c, &m->bcd_usb);
	ctl_get_u8(c, &m->speed);
	ctl_get_u8(c, &m->dev_class);
	ctl_get_u8(c, &m->dev_subclass);
	ctl_get_u8(c, &m->dev_proto);
	ctl_get_str(c, m->serial, sizeof(m->serial), CTL_USBSTR_MAX);
	ctl_get_str(c, m->manufacturer, sizeof(m->manufacturer),
	    CTL_USBSTR_MAX);
	ctl_get_str(c, m->product, sizeof(m->product), CTL_USBSTR_MAX);
	ctl_get_u8(c, &m->n_ifaces);
	/* The count is checked before it sizes anything. */
	if (m->n_ifaces > CTL_IFACE_MAX) {
		if (c->err == CTL_OK)
			c->err = CTL_E_RANGE;
		return;
	}
	for (i = 0; i < m->n_ifaces; i++) {
		ctl_get_u8(c, &m->ifaces[i].number);
		ctl_get_u8(c, &m->ifaces[i].cls);
		ctl_get_u8(c, &m->ifaces[i].subcls);
		ctl_get_u8(c, &m->ifaces[i].proto);
	}
	ctl_get_u8(c, &m->config);
	ctl_get_u8(c, &m->n_alts);	/* a u8: never above CTL_ALT_MAX */
	for (i = 0; i < m->n_alts; i++) {
		ctl_get_u8(c, &m->alts[i].config);
		ctl_get_u8(c, &m->alts[i].number);
		ctl_get_u8(c, &m->alts[i].alt);
		ctl_get_u8(c, &m->alts[i].cls);
		ctl_get_u8(c, &m->alts[i].subcls);
		ctl_get_u8(c, &m->alts[i].proto);
	}
	ctl_get_bytes(c, m->hash, CTL_HASH_LEN);
	ctl_get_u32(c, &m->flags);
	ctl_get_str(c, m->auto_attach, sizeof(m->auto_attach), CTL_NAME_MAX);
	ctl_get_bytes(c, m->parent_hash, CTL_HASH_LEN);
	ctl_get_u8(c, &m->connect_type);
}

static void
dec_hello(struct ctl_cur *c, struct ctl_msg *m)
{
	ctl_get_u32(c, &m->u.hello.version);
	ctl_get_u32(c, &m->u.hello.caps);
	ctl_get_u8(c, &m->u.hello.role);
	ctl_get_str(c, m->u.hello.name, sizeof(m->u.hello.name),
	    CTL_NAME_MAX);
}

static void
dec_session_status(struct ctl_cur *c, struct ctl_msg *m)
{
	ctl_get_u64(c, &m->u.session_status.session);
	ctl_get_str(c, m->u.session_status.busid,
	    sizeof(m->u.session_status.busid), CTL_BUSID_MAX);
	ctl_get_u8(c, &m->u.session_status.state);
	ctl_get_u8(c, &m->u.session_status.reason);
	ctl_get_str(c, m->u.session_status.text,
	    sizeof(m->u.session_status.text), CTL_TEXT_MAX);
}

static void
dec_serve(struct ctl_cur *c, struct ctl_msg *m)
{
	ctl_get_u64(c, &m->u.serve.session);
	ctl_get_str(c, m->u.serve.busid, sizeof(m->u.serve.busid),
	    CTL_BUSID_MAX);
	ctl_get_str(c, m->u.serve.uri, sizeof(m->u.serve.uri),
	    CTL_URI_MAX);
	ctl_get_u32(c, &m->u.serve.options);
	ctl_get_bytes(c, m->u.serve.hash, CTL_HASH_LEN);
	ctl_get_u16(c, &m->u.serve.vid);
	ctl_get_u16(c, &m->u.serve.pid);
	ctl_get_u8(c, &m->u.serve.n_refused);
	if (m->u.serve.n_refused > CTL_IFACE_MAX) {
		if (c->err == CTL_OK)
			c->err = CTL_E_RANGE;
		return;
	}
	ctl_get_bytes(c, m->u.serve.refused, m->u.serve.n_refused);
	ctl_get_u8(c, &m->u.serve.n_refused_alts);
	ctl_get_bytes(c, m->u.serve.refused_alts,
	    2 * (size_t)m->u.serve.n_refused_alts);
}

static void
dec_import(struct ctl_cur *c, struct ctl_msg *m)
{
	ctl_get_u64(c, &m->u.import.session);
	ctl_get_str(c, m->u.import.backend,
	    sizeof(m->u.import.backend), CTL_NAME_MAX);
	ctl_get_str(c, m->u.import.busid, sizeof(m->u.import.busid),
	    CTL_BUSID_MAX);
	ctl_get_str(c, m->u.import.uri, sizeof(m->u.import.uri),
	    CTL_URI_MAX);
	ctl_get_u32(c, &m->u.import.options);
	ctl_get_u16(c, &m->u.import.vid);
	ctl_get_u16(c, &m->u.import.pid);
	ctl_get_u8(c, &m->u.import.speed);
	ctl_get_str(c, m->u.import.device_id,
	    sizeof(m->u.import.device_id), CTL_DEVID_MAX);
	ctl_get_u8(c, &m->u.import.n_classes);	/* never above CTL_ALT_MAX */
	ctl_get_bytes(c, m->u.import.classes,
	    3 * (size_t)m->u.import.n_classes);
}

static void
dec_import_result(struct ctl_cur *c, struct ctl_msg *m)
{
	ctl_get_u64(c, &m->u.import_result.session);
	ctl_get_u8(c, &m->u.import_result.state);
	ctl_get_u8(c, &m->u.import_result.reason);
	ctl_get_u16(c, &m->u.import_result.vhci_port);
	ctl_get_str(c, m->u.import_result.local_busid,
	    sizeof(m->u.import_result.local_busid), CTL_BUSID_MAX);
	ctl_get_str(c, m->u.import_result.text,
	    sizeof(m->u.import_result.text), CTL_TEXT_MAX);
}

static void
dec_cli_request(struct ctl_cur *c, struct ctl_msg *m)
{
	struct ctl_cli_request *rq = &m->u.cli_request;
	int i;

	ctl_get_u16(c, &rq->cmd);
	ctl_get_u32(c, &rq->flags);
	ctl_get_u8(c, &rq->nargs);
	if (rq->nargs > CTL_CLI_ARGS_MAX) {
		if (c->err == CTL_OK)
			c->err = CTL_E_RANGE;
		return;
	}
	for (i = 0; i < rq->nargs; i++)
		ctl_get_str(c, rq->args[i], sizeof(rq->args[i]),
		    CTL_CLI_ARG_MAX);
}

static void
dec_cli_row(struct ctl_cur *c, struct ctl_msg *m)
{
	struct ctl_cli_row *row = &m->u.cli_row;
	int i;

	ctl_get_u8(c, &row->nfields);
	if (row->nfields > CTL_CLI_FIELDS_MAX) {
		if (c->err == CTL_OK)
			c->err = CTL_E_RANGE;
		return;
	}
	for (i = 0; i < row->nfields; i++) {
		ctl_get_str(c, row->f[i].key, sizeof(row->f[i].key),
		    CTL_CLI_KEY_MAX);
		ctl_get_str(c, row->f[i].value,
		    sizeof(row->f[i].value), CTL_CLI_VALUE_MAX);
	}
}

static void
dec_cli_done(struct ctl_cur *c, struct ctl_msg *m)
{
	ctl_get_i32(c, &m->u.cli_done.status);
	ctl_get_str(c, m->u.cli_done.message,
	    sizeof(m->u.cli_done.message), CTL_CLI_MESSAGE_MAX);
	ctl_get_str(c, m->u.cli_done.rule,
	    sizeof(m->u.cli_done.rule), CTL_CLI_VALUE_MAX);
}

int
ctl_msg_decode(uint32_t type, const void *body, size_t len,
    struct ctl_msg *untrusted_out)
{
	struct ctl_msg *m = untrusted_out;
	struct ctl_cur c;

	memset(m, 0, sizeof(*m));
	m->type = type;
	if (len > CTL_BODY_MAX)
		return CTL_E_MSGLEN;
	ctl_cur_init(&c, body, len);
	switch (type) {
	case CTL_MSG_HELLO:
		dec_hello(&c, m);
		break;
	case CTL_MSG_ERROR:
		ctl_get_i32(&c, &m->u.error.code);
		ctl_get_str(&c, m->u.error.text, sizeof(m->u.error.text),
		    CTL_TEXT_MAX);
		break;
	case CTL_MSG_DEV_ADD:
	case CTL_MSG_DEV_CHANGE:
		dec_dev(&c, &m->u.dev);
		break;
	case CTL_MSG_DEV_REMOVE:
		ctl_get_str(&c, m->u.dev_remove.busid,
		    sizeof(m->u.dev_remove.busid), CTL_BUSID_MAX);
		break;
	case CTL_MSG_SESSION_STATUS:
		dec_session_status(&c, m);
		break;
	case CTL_MSG_SERVE:
		dec_serve(&c, m);
		break;
	case CTL_MSG_STOP:
		ctl_get_u64(&c, &m->u.stop.session);
		ctl_get_str(&c, m->u.stop.busid, sizeof(m->u.stop.busid),
		    CTL_BUSID_MAX);
		ctl_get_u8(&c, &m->u.stop.reason);
		break;
	case CTL_MSG_IMPORT:
		dec_import(&c, m);
		break;
	case CTL_MSG_UNIMPORT:
		ctl_get_u64(&c, &m->u.unimport.session);
		ctl_get_u8(&c, &m->u.unimport.reason);
		break;
	case CTL_MSG_IMPORT_RESULT:
		dec_import_result(&c, m);
		break;
	case CTL_MSG_CLI_REQUEST:
		dec_cli_request(&c, m);
		break;
	case CTL_MSG_CLI_ROW:
		dec_cli_row(&c, m);
		break;
	case CTL_MSG_CLI_DONE:
		dec_cli_done(&c, m);
		break;
	default:
		return CTL_E_TYPE;
	}
	return ctl_cur_end(&c);
}

int
ctl_msg_sanitize(const struct ctl_msg *untrusted_in, struct ctl_msg *out)
{
	int r;

	/* sanitize start */
	if ((r = ctl_msg_verify(untrusted_in)) != CTL_OK) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	memcpy(out, untrusted_in, sizeof(*out));
	/* sanitize end */
	return CTL_OK;
}

int
ctl_msg_parse(uint32_t type, const void *body, size_t len,
    struct ctl_msg *out)
{
	struct ctl_msg untrusted_msg;
	int r;

	if ((r = ctl_msg_decode(type, body, len, &untrusted_msg)) != CTL_OK) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	return ctl_msg_sanitize(&untrusted_msg, out);
}
