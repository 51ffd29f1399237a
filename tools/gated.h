/*
 * gated.h: usbgated, the dom0 control daemon. Shared declarations of its
 * files: gated_conf.c (configuration), gated_rules.c (the rules directory),
 * usbgated.c (event loop, peer connections, CLI socket), gated_peer.c
 * (peer lookup and sending), gated_core.c (devices, sessions,
 * attach/detach, auto-attach, ask prompts), gated_cli.c (CLI requests),
 * gated_reply.c (CLI answers); gated_xen.c (gated_xen.h: the Xen domains
 * and data ports, used by usbgated.c and gated_core.c). Calls go down that
 * list's layers, never back up into the loop: usbgated.c -> gated_cli.c ->
 * gated_core.c -> gated_reply.c, gated_peer.c.
 *
 * Everything runs in one thread around poll(); no locks. Objects that
 * refer to each other (device <-> session <-> CLI client) clear the other
 * side's pointer when they go away; the functions that do so are named
 * *_gone().
 */
#ifndef USBGATE_GATED_H
#define USBGATE_GATED_H

#include <stdint.h>
#include <sys/types.h>

#include "assign.h"
#include "ctl_peer.h"
#include "identity.h"
#include "rules.h"

#define GATED_CONF_DEFAULT	USBGATE_CONFDIR "/usbgated.conf"
#define GATED_SOCK_DEFAULT	"/run/usbgate/usbgated.sock"
#define GATED_STATE_DEFAULT	"/var/lib/usbgate"
#define GATED_RULES_DEFAULT	USBGATE_CONFDIR "/rules.d"

#define GATED_PEERS_MAX		64
#define GATED_DATA_MAX		256
#define GATED_TAGS_MAX		16
#define GATED_DEVS_PER_BACKEND	128	/* a backend flooding DEV_ADD is cut */
#define GATED_CLIENTS_MAX	64
#define GATED_PATH_MAX		1024

/* ---- configuration (gated_conf.c) ------------------------------------- */

struct gated_peer_conf {
	char name[CTL_NAME_MAX + 1];
	enum ctl_role role;		/* BACKEND or FRONTEND */
	char uri[CTL_URI_MAX + 1];
	int listen;			/* dom0 listens (else connects) */
	int xen_port;			/* uri xen:PORT: the vchan port of the
					 * domain named name (else 0) */
	int n_tags;
	char tags[GATED_TAGS_MAX][CTL_NAME_MAX + 1];
};

struct gated_data_conf {
	char backend[CTL_NAME_MAX + 1];
	char vm[CTL_NAME_MAX + 1];	/* or "*" */
	char backend_uri[CTL_URI_MAX + 1];
	char frontend_uri[CTL_URI_MAX + 1];
	int frontend_listens;
};

struct gated_conf {
	char socket_path[108];
	unsigned socket_mode;
	long socket_gid;		/* -1: none */
	char state_dir[GATED_PATH_MAX];
	char rules_dir[GATED_PATH_MAX];
	char usbids[GATED_PATH_MAX];	/* "" = standard places */
	char ask_command[GATED_PATH_MAX];	/* "" = none: ask means deny */
	int ask_timeout;		/* seconds */
	int attach_timeout;
	int detach_timeout;
	int follow_window;		/* seconds; 0 disables following */
	int udev_auto_attach;		/* honour USBGATE_AUTO_ATTACH requests */
	int n_peers;
	struct gated_peer_conf peers[GATED_PEERS_MAX];
	int n_data;
	struct gated_data_conf data[GATED_DATA_MAX];
};

void gated_conf_defaults(struct gated_conf *conf);
/* Parse a configuration file; errors go to dg as file:line. */
int gated_conf_load(const char *path, struct gated_conf *conf,
    struct pol_diags *dg);
int gated_conf_parse_text(const char *text, const char *name,
    struct gated_conf *conf, struct pol_diags *dg);

/* ---- runtime objects --------------------------------------------------- */

struct gcli;
struct gsess;

struct chan_wait;
struct gxen;

struct gpeer {
	struct gated_peer_conf conf;
	char uri[CTL_URI_MAX + 1];	/* the channel now: conf.uri, or for
					 * xen:PORT vchan:DOMID:PORT ("" while
					 * the domain is absent) */
	int domid;			/* xen:PORT: its domain's, or -1 */
	int lfd;			/* listening socket or -1 */
	struct ctl_conn *conn;		/* NULL while disconnected */
	struct chan_wait *wait;		/* connecting (a vchan's server absent) */
	long retry_at;			/* ms: next connect attempt */
	int retry_delay;		/* ms */
	int n_devs;			/* backends: devices published */
	int broken;			/* a send failed: drop after this event */
	char broken_why[128];
};

struct gdev {
	struct gdev *next;
	struct gpeer *backend;
	struct ctl_dev info;		/* sanitized DEV_ADD */
	struct pol_device pdev;
	char device_id[POL_DEVID_MAX + 1];
	char desc[POL_DESC_MAX];
	struct gsess *sess;		/* attached / attaching, or NULL */
};

enum gsess_state {
	SESS_ASKING,		/* waiting for the ask command */
	SESS_SERVING,		/* SERVE sent, waiting for READY */
	SESS_IMPORTING,		/* IMPORT sent, waiting for ATTACHED */
	SESS_ATTACHED,
	SESS_STOPPING,		/* STOP/UNIMPORT sent, waiting for ENDED */
};

enum gorigin {
	ORIGIN_MANUAL,		/* usbgate attach */
	ORIGIN_ASSIGN,		/* an assignment (device add, VM start) */
	ORIGIN_UDEV,		/* USBGATE_AUTO_ATTACH request */
	ORIGIN_FOLLOW,		/* same device came back (re-enumeration) */
};

struct gdata {
	struct gated_data_conf conf;
	struct gsess *used_by;
};

struct gsess {
	struct gsess *next;
	uint64_t id;
	enum gsess_state state;
	enum gorigin origin;
	struct gdev *dev;		/* NULL once the device is gone */
	struct gpeer *backend, *frontend;
	char vm[CTL_NAME_MAX + 1];
	char busid[CTL_BUSID_MAX + 1];
	char device_id[POL_DEVID_MAX + 1];
	struct gdata *data;
	struct gdata xen_data;		/* data's channel when usbgated chose
					 * the vchan port (both peers xen:) */
	int xen_port;			/* that port, held until the end */
	unsigned int xen_fe, xen_be;	/* its pair of domids */
	long deadline;			/* ms, 0 = none */
	int backend_done, frontend_done;
	int ask_mode;			/* origin assignment is ask-to-attach */
	int asked;			/* the ask command was run */
	int attempt;			/* automatic retries so far */
	pid_t ask_pid;
	struct gcli *waiter;		/* CLI client to answer, or NULL */
	int n_refused;
	uint8_t refused[POL_IFACE_MAX];
	int n_refused_alts;
	uint8_t refused_alts[POL_ALT_MAX][2];	/* interface, alt */
	int pin_config;			/* the rule constrains interfaces */
	char rule[512];			/* deciding rule, for messages */
};

struct gcli {
	struct gcli *next;
	struct ctl_conn *conn;
	int waiting;			/* async operations left */
	int in_request;			/* inside cli_request() */
	int status;			/* worst result so far */
	char message[CTL_CLI_MESSAGE_MAX + 1];
	char rule[CTL_CLI_VALUE_MAX + 1];
	int closing;
};

/* Devices that went away while attached: re-attach when they come back. */
struct gfollow {
	struct gfollow *next;
	char backend[CTL_NAME_MAX + 1];
	char busid[CTL_BUSID_MAX + 1];
	char device_id[POL_DEVID_MAX + 1];
	char vm[CTL_NAME_MAX + 1];
	long until;			/* ms */
};

/* Automatic attaches that failed: tried again with back-off (#10155). */
struct gretry {
	struct gretry *next;
	char backend[CTL_NAME_MAX + 1];
	char busid[CTL_BUSID_MAX + 1];
	char device_id[POL_DEVID_MAX + 1];
	char vm[CTL_NAME_MAX + 1];
	enum gorigin origin;
	int attempt;
	long at;			/* ms */
};

#define GATED_RETRIES		3	/* after 1, 3 and 9 seconds */

struct gated {
	struct gated_conf conf;
	char conf_path[GATED_PATH_MAX];
	int n_peers;
	struct gpeer peers[GATED_PEERS_MAX];
	int n_data;
	struct gdata data[GATED_DATA_MAX];
	struct gdev *devs;
	struct gsess *sessions;
	struct gcli *clients;
	int n_clients;
	struct gfollow *follows;
	struct gretry *retries;
	struct pol_ruleset rules;
	int rules_ok;			/* 0: errors, everything is denied */
	char rules_error[256];
	struct pol_assign_store assign;
	const struct pol_usbids *ids;
	uint64_t next_session;
	struct gxen *xen;		/* the domain table (xen: peers), or NULL */
	int cli_lfd;
	int quit;
};

/* gated_peer.c */
struct gpeer *gated_peer(struct gated *g, const char *name, enum ctl_role role);
/*
 * Send to a peer. A failure marks the peer broken; it is disconnected by
 * the main loop once the current event is handled, never from inside a
 * caller's walk over sessions or devices.
 */
int gated_send(struct gated *g, struct gpeer *p, const struct ctl_msg *m);

/* gated_rules.c */
int gated_reload_rules(struct gated *g, struct pol_diags *dg);

/* gated_core.c */
void core_backend_msg(struct gated *g, struct gpeer *p, const struct ctl_msg *m);
void core_frontend_msg(struct gated *g, struct gpeer *p, const struct ctl_msg *m);
void core_backend_up(struct gated *g, struct gpeer *p);
void core_backend_gone(struct gated *g, struct gpeer *p);
void core_frontend_up(struct gated *g, struct gpeer *p);
void core_frontend_gone(struct gated *g, struct gpeer *p);
void core_timers(struct gated *g);
long core_next_deadline(struct gated *g);
void core_child_exited(struct gated *g, pid_t pid, int status);
void core_cli_gone(struct gated *g, struct gcli *c);
/* Start an attach; answers (or queues an answer to) cli if not NULL. */
void core_attach(struct gated *g, struct gdev *d, const char *vm,
    enum gorigin origin, int ask_mode, struct gcli *cli);
/* Detach the sessions of vm (all, or only d's). Returns how many. */
int core_detach(struct gated *g, const char *vm, struct gdev *d,
    struct gcli *cli);
void core_auto_attach_vm(struct gated *g, struct gpeer *fe);
struct gdev *core_find_dev(struct gated *g, const char *backend,
    const char *busid);
void core_shutdown(struct gated *g);
const char *core_used_by(struct gated *g, const struct gdev *d);

/* gated_cli.c */
void cli_request(struct gated *g, struct gcli *c, const struct ctl_msg *m);

/* gated_reply.c */
/*
 * Record a result for c (the worst status wins, messages are joined).
 * cli_op_done() ends one asynchronous operation counted in c->waiting;
 * CLI_DONE goes out when none is left and the request handler returned.
 */
void cli_result(struct gated *g, struct gcli *c, int status, const char *rule,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void cli_op_done(struct gated *g, struct gcli *c);
void cli_finish(struct gated *g, struct gcli *c);
void cli_row(struct gcli *c, const struct ctl_cli_row *row);

#endif
