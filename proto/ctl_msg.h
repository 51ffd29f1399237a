/*
 * ctl_msg.h: the messages of the usbgate control protocol (version 3).
 *
 * Owns: message type numbers (grouped by direction, as qrexec.h does), the
 * per-field caps, one C struct per message, and three operations on them:
 *   ctl_msg_encode()  struct -> frame, runs ctl_msg_verify() first, so a
 *                     local bug cannot put a bad message on the wire;
 *   ctl_msg_decode()  frame body -> struct, structure only (bounds, caps,
 *                     exact length); the result is untrusted;
 *   ctl_msg_sanitize() untrusted struct -> trusted struct through
 *                     ctl_msg_verify() (characters, ranges, consistency).
 * ctl_msg_parse() chains decode and sanitize; receivers use it.
 *
 * Who may send what is fixed by role (ctl_msg_allowed()). dom0 never takes a
 * VM's word for who the VM is: the hello name is informative only, the
 * connection a message arrives on is what identifies the sender.
 *
 * The wire layout of every message is in doc/control-protocol.md.
 */
#ifndef USBGATE_CTL_MSG_H
#define USBGATE_CTL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_codec.h"

enum ctl_msg_type {
	/* 0x00xx: any role, both directions */
	CTL_MSG_HELLO = 0x0001,
	CTL_MSG_ERROR = 0x0002,
	/* 0x01xx: backend (sys-usb) -> dom0 */
	CTL_MSG_DEV_ADD = 0x0101,
	CTL_MSG_DEV_REMOVE = 0x0102,
	CTL_MSG_DEV_CHANGE = 0x0103,
	CTL_MSG_SESSION_STATUS = 0x0104,
	/* 0x02xx: dom0 -> backend */
	CTL_MSG_SERVE = 0x0201,
	CTL_MSG_STOP = 0x0202,
	/* 0x03xx: frontend (AppVM) -> dom0 */
	CTL_MSG_IMPORT_RESULT = 0x0301,
	/* 0x04xx: dom0 -> frontend */
	CTL_MSG_IMPORT = 0x0401,
	CTL_MSG_UNIMPORT = 0x0402,
	/* 0x05xx: CLI -> dom0 */
	CTL_MSG_CLI_REQUEST = 0x0501,
	/* 0x06xx: dom0 -> CLI */
	CTL_MSG_CLI_ROW = 0x0601,
	CTL_MSG_CLI_DONE = 0x0602,
};

enum ctl_role {
	CTL_ROLE_NONE = 0,
	CTL_ROLE_DOM0 = 1,
	CTL_ROLE_BACKEND = 2,
	CTL_ROLE_FRONTEND = 3,
	CTL_ROLE_CLI = 4,
};
#define CTL_ROLE__MAX	4

/* Capability bits carried in hello; the session uses the AND of both. */
#define CTL_CAP_REFUSE_IFACES	0x00000001u	/* backend can hide interfaces */
#define CTL_CAP_RESET		0x00000002u	/* backend can reset on attach */
#define CTL_CAP_DESC_HASH	0x00000004u	/* backend sends descriptor hashes */
#define CTL_CAP__ALL		0x00000007u

/* Field caps (characters, without the NUL). */
#define CTL_NAME_MAX		IDENT_NAME_MAX	/* VM or backend (Qubes: 31) */
#define CTL_BUSID_MAX		IDENT_BUSID_MAX
#define CTL_USBSTR_MAX		126	/* USB string descriptor: 126 UTF-16 */
#define CTL_URI_MAX		255
#define CTL_TEXT_MAX		255
#define CTL_IFACE_MAX		32	/* interfaces per device (as usbredir) */
#define CTL_ALT_MAX		255	/* interface descriptors, all configs */
#define CTL_HASH_LEN		IDENT_HASH_LEN	/* SHA-256 */
#define CTL_DEVID_MAX		(4 + 1 + 4 + 1 + CTL_USBSTR_MAX + 1 + \
				 7 * CTL_IFACE_MAX)
#define CTL_CLI_ARGS_MAX	8
#define CTL_CLI_ARG_MAX		511
#define CTL_CLI_FIELDS_MAX	24
#define CTL_CLI_KEY_MAX		31
#define CTL_CLI_VALUE_MAX	511
#define CTL_CLI_MESSAGE_MAX	1023

enum ctl_speed {
	CTL_SPEED_UNKNOWN = 0,
	CTL_SPEED_LOW = 1,		/* 1.5 Mbit/s */
	CTL_SPEED_FULL = 2,		/* 12 */
	CTL_SPEED_HIGH = 3,		/* 480 */
	CTL_SPEED_SUPER = 4,		/* 5000 */
	CTL_SPEED_SUPER_PLUS = 5,	/* 10000 */
	CTL_SPEED_SUPER_PLUS_2X2 = 6,	/* 20000 */
};
#define CTL_SPEED__MAX	6
const char *ctl_speed_name(int speed);	/* "480", "5000", "unknown" */

/* Device flags, set by the backend from udev properties. */
#define CTL_DEV_F_EXPORT	0x01u	/* USBGATE_EXPORT != 0 */
#define CTL_DEV_F_RESET		0x02u	/* USBGATE_RESET_ON_ATTACH=1 */
#define CTL_DEV_F_HASH		0x04u	/* hash[] is valid */
#define CTL_DEV_F_PARENT	0x08u	/* parent_hash[] is valid */
#define CTL_DEV_F_CONNECT	0x10u	/* connect_type is valid */
#define CTL_DEV_F__ALL		0x1fu

/* enum ident_connect: the port's connect_type ("hotplug", ...). */
#define CTL_CONNECT__MAX	IDENT_CONNECT__MAX

struct ctl_iface {
	uint8_t number;		/* bInterfaceNumber */
	uint8_t cls;
	uint8_t subcls;
	uint8_t proto;
};

/*
 * One interface descriptor of the raw descriptors: every configuration and
 * every alternate setting, as USBGuard's with-interface sees the device.
 */
struct ctl_ifalt {
	uint8_t config;		/* bConfigurationValue of its configuration */
	uint8_t number;		/* bInterfaceNumber */
	uint8_t alt;		/* bAlternateSetting */
	uint8_t cls;
	uint8_t subcls;
	uint8_t proto;
};

/* DEV_ADD and DEV_CHANGE (the whole description is resent on change). */
struct ctl_dev {
	char busid[CTL_BUSID_MAX + 1];
	uint16_t vid, pid;
	uint16_t bcd_device;
	uint16_t bcd_usb;
	uint8_t speed;			/* enum ctl_speed */
	uint8_t dev_class, dev_subclass, dev_proto;
	char serial[CTL_USBSTR_MAX + 1];	/* may be empty */
	char manufacturer[CTL_USBSTR_MAX + 1];
	char product[CTL_USBSTR_MAX + 1];
	uint8_t n_ifaces;		/* sysfs: active config, current alt */
	struct ctl_iface ifaces[CTL_IFACE_MAX];
	uint8_t config;			/* active bConfigurationValue */
	uint8_t n_alts;			/* from the raw descriptors */
	struct ctl_ifalt alts[CTL_ALT_MAX];
	uint8_t hash[CTL_HASH_LEN];	/* see CTL_DEV_F_HASH */
	uint32_t flags;			/* CTL_DEV_F_* */
	char auto_attach[CTL_NAME_MAX + 1];	/* USBGATE_AUTO_ATTACH or "" */
	/* Since version 3. Zero unless their flag is set. */
	uint8_t parent_hash[CTL_HASH_LEN];	/* the hub's USBGuard hash */
	uint8_t connect_type;		/* enum ident_connect */
};

struct ctl_dev_remove {
	char busid[CTL_BUSID_MAX + 1];
};

enum ctl_session_state {
	CTL_SESS_READY = 1,	/* backend: serving, data channel open */
	CTL_SESS_ENDED = 2,	/* backend: stopped (reason says why) */
	CTL_SESS_FAILED = 3,	/* backend: could not start */
};

/* Why a session stopped or an order failed. */
enum ctl_reason {
	CTL_REASON_NONE = 0,
	CTL_REASON_ORDERED = 1,		/* dom0 sent STOP/UNIMPORT */
	CTL_REASON_DEVICE_GONE = 2,	/* unplugged or re-enumerated */
	CTL_REASON_PEER_GONE = 3,	/* data channel closed by the other VM */
	CTL_REASON_IO = 4,		/* transport or USB I/O error */
	CTL_REASON_MISMATCH = 5,	/* device is not the one ordered */
	CTL_REASON_BUSY = 6,		/* device or port already in use */
	CTL_REASON_NOT_FOUND = 7,	/* no such busid */
	CTL_REASON_UNSUPPORTED = 8,	/* option or speed not supported */
	CTL_REASON_INTERNAL = 9,
	CTL_REASON_SHUTDOWN = 10,	/* daemon exiting / VM suspending */
};
#define CTL_REASON__MAX	10
const char *ctl_reason_name(int reason);

struct ctl_session_status {
	uint64_t session;
	char busid[CTL_BUSID_MAX + 1];
	uint8_t state;			/* enum ctl_session_state */
	uint8_t reason;			/* enum ctl_reason */
	char text[CTL_TEXT_MAX + 1];	/* printable detail, may be empty */
};

/* Options of SERVE and IMPORT. */
#define CTL_OPT_RESET		0x01u	/* reset the device before serving */
#define CTL_OPT_LISTEN		0x02u	/* receiver listens on uri (else connects) */
#define CTL_OPT_PIN_CONFIG	0x04u	/* SERVE: refuse other configurations */
#define CTL_OPT__ALL		0x07u

struct ctl_serve {
	uint64_t session;		/* non-zero, chosen by dom0 */
	char busid[CTL_BUSID_MAX + 1];
	char uri[CTL_URI_MAX + 1];	/* data channel */
	uint32_t options;
	uint8_t hash[CTL_HASH_LEN];	/* expected device, zero if unknown */
	uint16_t vid, pid;		/* expected device */
	uint8_t n_refused;
	uint8_t refused[CTL_IFACE_MAX];	/* interface numbers to hide */
	uint8_t n_refused_alts;
	uint8_t refused_alts[CTL_ALT_MAX][2];	/* (interface, alt) to hide */
};

struct ctl_stop {
	uint64_t session;
	char busid[CTL_BUSID_MAX + 1];
	uint8_t reason;
};

struct ctl_import {
	uint64_t session;
	char backend[CTL_NAME_MAX + 1];	/* informative */
	char busid[CTL_BUSID_MAX + 1];	/* informative */
	char uri[CTL_URI_MAX + 1];
	uint32_t options;
	uint16_t vid, pid;		/* the device the frontend must see */
	uint8_t speed;
	char device_id[CTL_DEVID_MAX + 1];
	/*
	 * Every interface class the AppVM may see (class, subclass,
	 * protocol; unique): what dom0's policy judged, minus what the
	 * backend is told to hide. The frontend ends the session on any
	 * other (frontend/ifclass.h).
	 */
	uint8_t n_classes;
	uint8_t classes[CTL_ALT_MAX][3];
};

struct ctl_unimport {
	uint64_t session;
	uint8_t reason;
};

enum ctl_import_state {
	CTL_IMPORT_ATTACHED = 1,
	CTL_IMPORT_FAILED = 2,
	CTL_IMPORT_ENDED = 3,
};

struct ctl_import_result {
	uint64_t session;
	uint8_t state;			/* enum ctl_import_state */
	uint8_t reason;			/* enum ctl_reason */
	uint16_t vhci_port;		/* 0 if none */
	char local_busid[CTL_BUSID_MAX + 1];	/* busid inside the VM, or "" */
	char text[CTL_TEXT_MAX + 1];
};

struct ctl_hello {
	uint32_t version;
	uint32_t caps;
	uint8_t role;			/* enum ctl_role */
	char name[CTL_NAME_MAX + 1];	/* informative, may be empty */
};

struct ctl_error_msg {
	int32_t code;			/* enum ctl_error or ctl_status */
	char text[CTL_TEXT_MAX + 1];
};

/* CLI commands. */
enum ctl_cli_cmd {
	CTL_CLI_LIST = 1,
	CTL_CLI_ATTACH = 2,
	CTL_CLI_DETACH = 3,
	CTL_CLI_ASSIGN = 4,
	CTL_CLI_UNASSIGN = 5,
	CTL_CLI_INFO = 6,
	CTL_CLI_POLICY_TEST = 7,
	CTL_CLI_RELOAD = 8,
	CTL_CLI_RESUME = 9,
	CTL_CLI_STATUS = 10,
};
#define CTL_CLI__MAX	10

#define CTL_CLIF_ASSIGNMENTS	0x0001u	/* list -s */
#define CTL_CLIF_ALL		0x0002u	/* list --all */
#define CTL_CLIF_PERSISTENT	0x0004u	/* attach -p */
#define CTL_CLIF_ASK		0x0008u	/* assign --ask */
#define CTL_CLIF_REQUIRED	0x0010u	/* assign --required */
#define CTL_CLIF_PORT		0x0020u	/* assign/unassign --port */
#define CTL_CLIF_DEVICE		0x0040u	/* assign/unassign --device */
#define CTL_CLIF_ALLOW_PID	0x0080u	/* assign: last arg is a PID list */
#define CTL_CLIF__ALL		0x00ffu

struct ctl_cli_request {
	uint16_t cmd;			/* enum ctl_cli_cmd */
	uint32_t flags;			/* CTL_CLIF_* */
	uint8_t nargs;
	char args[CTL_CLI_ARGS_MAX][CTL_CLI_ARG_MAX + 1];	/* printable */
};

struct ctl_cli_field {
	char key[CTL_CLI_KEY_MAX + 1];		/* CTL_CS_KEY */
	char value[CTL_CLI_VALUE_MAX + 1];	/* printable */
};

struct ctl_cli_row {
	uint8_t nfields;
	struct ctl_cli_field f[CTL_CLI_FIELDS_MAX];
};

/*
 * Result of a CLI request. status doubles as the exit code of usbgate(8),
 * so scripts can rely on it.
 */
enum ctl_status {
	CTL_ST_OK = 0,
	CTL_ST_ERROR = 1,	/* anything else */
	CTL_ST_USAGE = 2,	/* bad command line */
	CTL_ST_NOT_FOUND = 3,	/* no such VM, backend or device */
	CTL_ST_DENIED = 4,	/* refused by policy or by the user */
	CTL_ST_BUSY = 5,	/* already attached elsewhere */
	CTL_ST_UNREACHABLE = 6,	/* usbgated or a VM not connected */
	CTL_ST_FAILED = 7,	/* a VM reported failure */
	CTL_ST_TIMEOUT = 8,	/* a VM did not answer in time */
	CTL_ST_POLICY = 9,	/* rule files contain errors */
};
#define CTL_ST__COUNT	10
const char *ctl_status_name(int st);

struct ctl_cli_done {
	int32_t status;			/* enum ctl_status */
	char message[CTL_CLI_MESSAGE_MAX + 1];	/* for a person */
	char rule[CTL_CLI_VALUE_MAX + 1];	/* deciding rule, "" if none */
};

struct ctl_msg {
	uint32_t type;			/* enum ctl_msg_type */
	union {
		struct ctl_hello hello;
		struct ctl_error_msg error;
		struct ctl_dev dev;			/* DEV_ADD, DEV_CHANGE */
		struct ctl_dev_remove dev_remove;
		struct ctl_session_status session_status;
		struct ctl_serve serve;
		struct ctl_stop stop;
		struct ctl_import import;
		struct ctl_unimport unimport;
		struct ctl_import_result import_result;
		struct ctl_cli_request cli_request;
		struct ctl_cli_row cli_row;
		struct ctl_cli_done cli_done;
	} u;
};

/* Name of a message type for logs ("DEV_ADD"), "?" if unknown. */
const char *ctl_msg_name(uint32_t type);

/* 1 if a peer of role `sender` may send `type`. */
int ctl_msg_allowed(uint32_t type, enum ctl_role sender);

/* Semantic check of a message, run before sending and after decoding. */
int ctl_msg_verify(const struct ctl_msg *msg);

/* Append one frame for msg to w (verifies first). */
int ctl_msg_encode(const struct ctl_msg *msg, struct ctl_wbuf *w);

/* Structural decode of one body; untrusted_out is not verified. */
int ctl_msg_decode(uint32_t type, const void *body, size_t len,
    struct ctl_msg *untrusted_out);

/* The sanitize step: verify untrusted_in, then copy it to out. */
int ctl_msg_sanitize(const struct ctl_msg *untrusted_in, struct ctl_msg *out);

/* decode + sanitize. */
int ctl_msg_parse(uint32_t type, const void *body, size_t len,
    struct ctl_msg *out);

/* Helpers for building messages. */
void ctl_msg_init(struct ctl_msg *msg, uint32_t type);
/* Copy src into a fixed field, truncating; returns 1 if it fit. */
int ctl_strlcpy(char *dst, const char *src, size_t dstsize);
/* Append a key/value to a CLI row (truncates values, scrubs them). */
int ctl_row_add(struct ctl_cli_row *row, const char *key, const char *value);
/* Value of key in row, or NULL. */
const char *ctl_row_get(const struct ctl_cli_row *row, const char *key);

#endif
