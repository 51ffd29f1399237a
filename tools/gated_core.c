/*
 * gated_core.c: usbgated's device table, sessions and decisions.
 *
 * A session is one device lent to one VM. Its life:
 *
 *   ASKING -> SERVING -> IMPORTING -> ATTACHED -> STOPPING -> freed
 *   (ask)     SERVE      READY:       ATTACHED    STOP/UNIMPORT sent,
 *             sent       IMPORT sent              until both sides said
 *                                                 ENDED or the deadline
 *
 * Every step has a deadline. Anything a VM says about a session is checked
 * against what dom0 recorded: the session must exist, belong to the
 * connection the message came on, and be in a state where the message makes
 * sense; otherwise the message is logged and ignored. Policy is evaluated
 * for every attach, whatever started it (CLI, assignment, udev request,
 * re-enumeration); an assignment never bypasses a deny rule.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "gated.h"
#include "gated_xen.h"
#include "log.h"

static const char *const state_names[] = {
	[SESS_ASKING] = "asking",
	[SESS_SERVING] = "serving",
	[SESS_IMPORTING] = "importing",
	[SESS_ATTACHED] = "attached",
	[SESS_STOPPING] = "stopping",
};

static const char *const origin_names[] = {
	[ORIGIN_MANUAL] = "manual",
	[ORIGIN_ASSIGN] = "assignment",
	[ORIGIN_UDEV] = "udev request",
	[ORIGIN_FOLLOW] = "re-enumeration",
};

/* ---- lookups -------------------------------------------------------------- */

struct gdev *
core_find_dev(struct gated *g, const char *backend, const char *busid)
{
	struct gdev *d;

	for (d = g->devs; d != NULL; d = d->next)
		if (strcmp(d->backend->conf.name, backend) == 0 &&
		    strcmp(d->info.busid, busid) == 0)
			return d;
	return NULL;
}

static struct gsess *
find_sess(struct gated *g, uint64_t id)
{
	struct gsess *s;

	for (s = g->sessions; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

const char *
core_used_by(struct gated *g, const struct gdev *d)
{
	(void)g;
	if (d->sess == NULL || d->sess->state == SESS_ASKING ||
	    d->sess->state == SESS_STOPPING)
		return "";
	return d->sess->vm;
}

/* ---- answers to CLI clients ------------------------------------------------ */

/*
 * An automatic attach that failed (device still resetting after resume,
 * backend busy) is tried again after 1, 3 and 9 seconds. Nobody was
 * asked a question for it, and policy is evaluated again each time.
 */
static void
retry_add(struct gated *g, struct gsess *s)
{
	struct gretry *r;
	long delay = 1000;
	int i;

	if (s->origin == ORIGIN_MANUAL || s->asked || s->dev == NULL ||
	    s->attempt >= GATED_RETRIES || (r = calloc(1, sizeof(*r))) == NULL)
		return;
	for (i = 0; i < s->attempt; i++)
		delay *= 3;
	ctl_strlcpy(r->backend, s->backend->conf.name, sizeof(r->backend));
	ctl_strlcpy(r->busid, s->busid, sizeof(r->busid));
	ctl_strlcpy(r->device_id, s->device_id, sizeof(r->device_id));
	ctl_strlcpy(r->vm, s->vm, sizeof(r->vm));
	r->origin = s->origin;
	r->attempt = s->attempt + 1;
	r->at = mono_ms() + delay;
	r->next = g->retries;
	g->retries = r;
	log_info("%s -> %s: retry %d of %d in %ld s", s->busid, s->vm,
	    r->attempt, GATED_RETRIES, delay / 1000);
}

static void
answer(struct gated *g, struct gsess *s, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
answer(struct gated *g, struct gsess *s, int status, const char *fmt, ...)
{
	char msg[CTL_CLI_MESSAGE_MAX + 1];
	struct gcli *c = s->waiter;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status != CTL_ST_OK)
		log_warnx("%s -> %s (%s): %s", s->busid, s->vm,
		    origin_names[s->origin], msg);
	else
		log_info("%s -> %s (%s): %s", s->busid, s->vm,
		    origin_names[s->origin], msg);
	if (c == NULL && (status == CTL_ST_FAILED || status == CTL_ST_TIMEOUT))
		retry_add(g, s);
	if (c == NULL)
		return;
	s->waiter = NULL;
	cli_result(g, c, status, status == CTL_ST_DENIED ? s->rule : "", "%s",
	    msg);
	cli_op_done(g, c);
}

/* ---- sessions --------------------------------------------------------------- */

static void
data_release(struct gated *g, struct gsess *s)
{
	if (s->data != NULL && s->data->used_by == s)
		s->data->used_by = NULL;
	s->data = NULL;
	if (s->xen_port > 0)
		gxen_port_give(g->xen, s->xen_fe, s->xen_be, s->xen_port);
	s->xen_port = 0;
}

static void
sess_free(struct gated *g, struct gsess *s)
{
	struct gsess **pp;

	for (pp = &g->sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if (s->waiter != NULL)
		answer(g, s, CTL_ST_FAILED, "session ended");
	if (s->ask_pid > 0)
		kill(s->ask_pid, SIGKILL);
	data_release(g, s);
	if (s->dev != NULL && s->dev->sess == s)
		s->dev->sess = NULL;
	free(s);
}

static void
sess_check_done(struct gated *g, struct gsess *s)
{
	if (s->state != SESS_STOPPING || !s->backend_done || !s->frontend_done)
		return;
	log_info("session %llx: %s detached from %s",
	    (unsigned long long)s->id, s->busid, s->vm);
	if (s->waiter != NULL) {
		struct gcli *c = s->waiter;

		s->waiter = NULL;
		cli_result(g, c, CTL_ST_OK, "", "Detached %s:%s from %s",
		    s->backend->conf.name, s->busid, s->vm);
		cli_op_done(g, c);
	}
	sess_free(g, s);
}

/* Send STOP/UNIMPORT as needed and wait for both sides. */
static void
sess_stop(struct gated *g, struct gsess *s, int reason)
{
	struct ctl_msg m;
	uint64_t id = s->id;

	if (s->state == SESS_ASKING) {
		sess_free(g, s);
		return;
	}
	if (s->state == SESS_STOPPING) {
		/* Orders already sent; only the confirmations are awaited. */
		sess_check_done(g, s);
		return;
	}
	s->state = SESS_STOPPING;
	s->deadline = mono_ms() + g->conf.detach_timeout * 1000L;
	if (!s->frontend_done) {
		ctl_msg_init(&m, CTL_MSG_UNIMPORT);
		m.u.unimport.session = s->id;
		m.u.unimport.reason = (uint8_t)reason;
		if (gated_send(g, s->frontend, &m) != CTL_OK)
			s->frontend_done = 1;
	}
	/* The send above may have dropped the frontend and freed s through
	 * core_frontend_gone(); check that s still exists. */
	if (find_sess(g, id) != s)
		return;
	if (!s->backend_done) {
		ctl_msg_init(&m, CTL_MSG_STOP);
		m.u.stop.session = s->id;
		ctl_strlcpy(m.u.stop.busid, s->busid, sizeof(m.u.stop.busid));
		m.u.stop.reason = (uint8_t)reason;
		if (gated_send(g, s->backend, &m) != CTL_OK)
			s->backend_done = 1;
	}
	if (find_sess(g, id) == s)
		sess_check_done(g, s);
}

static struct gdata *
data_pick(struct gated *g, const char *backend, const char *vm)
{
	int i, pass;

	/* Channels dedicated to this VM first, then shared ones. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < g->n_data; i++) {
			struct gdata *dc = &g->data[i];

			if (dc->used_by != NULL ||
			    strcmp(dc->conf.backend, backend) != 0)
				continue;
			if (pass == 0 ? strcmp(dc->conf.vm, vm) == 0 :
			    strcmp(dc->conf.vm, "*") == 0)
				return dc;
		}
	return NULL;
}

/*
 * Between two domains usbgated follows on Xen (both peers xen:PORT) the
 * session gets a vchan port of its own for the pair (AppVM, backend),
 * given back when the session ends; the AppVM's frontend is the server,
 * and each end names the other's domid (doc/xen.md section 3). NULL when
 * a domain is absent or the pair holds every port.
 */
static struct gdata *
data_xen(struct gated *g, struct gsess *s)
{
	struct gated_data_conf *dc = &s->xen_data.conf;
	int port;

	if (s->frontend->domid < 0 || s->backend->domid < 0 ||
	    (port = gxen_port_take(g->xen, (unsigned int)s->frontend->domid,
	    (unsigned int)s->backend->domid)) < 0)
		return NULL;
	s->xen_port = port;
	s->xen_fe = (unsigned int)s->frontend->domid;
	s->xen_be = (unsigned int)s->backend->domid;
	memset(dc, 0, sizeof(*dc));
	snprintf(dc->backend_uri, sizeof(dc->backend_uri), "vchan:%u:%d",
	    s->xen_fe, port);
	snprintf(dc->frontend_uri, sizeof(dc->frontend_uri), "vchan:%u:%d",
	    s->xen_be, port);
	dc->frontend_listens = 1;
	return &s->xen_data;
}

static void
sess_serve(struct gated *g, struct gsess *s)
{
	struct gdev *d = s->dev;
	struct ctl_msg m;
	uint32_t caps;

	if (d == NULL || d->backend->conn == NULL) {
		answer(g, s, CTL_ST_UNREACHABLE, "the device or its backend "
		    "went away");
		sess_free(g, s);
		return;
	}
	if (g->xen != NULL && d->backend->conf.xen_port > 0 &&
	    s->frontend->conf.xen_port > 0) {
		if ((s->data = data_xen(g, s)) == NULL) {
			answer(g, s, CTL_ST_FAILED, "no vchan port free from "
			    "%s to %s (or a domain is not running)",
			    d->backend->conf.name, s->vm);
			sess_free(g, s);
			return;
		}
	} else if ((s->data = data_pick(g, d->backend->conf.name,
	    s->vm)) == NULL) {
		answer(g, s, CTL_ST_FAILED, "no free data channel from %s to "
		    "%s (add or free a 'data %s %s ...' line in usbgated.conf)",
		    d->backend->conf.name, s->vm, d->backend->conf.name, s->vm);
		sess_free(g, s);
		return;
	}
	s->data->used_by = s;
	caps = ctl_conn_caps(d->backend->conn);
	ctl_msg_init(&m, CTL_MSG_SERVE);
	m.u.serve.session = s->id;
	ctl_strlcpy(m.u.serve.busid, s->busid, sizeof(m.u.serve.busid));
	ctl_strlcpy(m.u.serve.uri, s->data->conf.backend_uri,
	    sizeof(m.u.serve.uri));
	if (!s->data->conf.frontend_listens)
		m.u.serve.options |= CTL_OPT_LISTEN;
	if (d->info.flags & CTL_DEV_F_RESET) {
		if (caps & CTL_CAP_RESET)
			m.u.serve.options |= CTL_OPT_RESET;
		else
			log_warnx("%s: udev asks for reset-on-attach, but "
			    "backend %s cannot reset", s->busid,
			    d->backend->conf.name);
	}
	if (d->info.flags & CTL_DEV_F_HASH)
		memcpy(m.u.serve.hash, d->info.hash, CTL_HASH_LEN);
	m.u.serve.vid = d->info.vid;
	m.u.serve.pid = d->info.pid;
	m.u.serve.n_refused = (uint8_t)s->n_refused;
	memcpy(m.u.serve.refused, s->refused, (size_t)s->n_refused);
	m.u.serve.n_refused_alts = (uint8_t)s->n_refused_alts;
	memcpy(m.u.serve.refused_alts, s->refused_alts,
	    2 * (size_t)s->n_refused_alts);
	if (s->pin_config)
		m.u.serve.options |= CTL_OPT_PIN_CONFIG;
	s->state = SESS_SERVING;
	s->backend_done = 0;
	s->deadline = mono_ms() + g->conf.attach_timeout * 1000L;
	log_info("session %llx: SERVE %s:%s for %s on %s",
	    (unsigned long long)s->id, d->backend->conf.name, s->busid, s->vm,
	    m.u.serve.uri);
	gated_send(g, d->backend, &m);
}

/* Does the backend hide alternate setting alt of interface number? */
static int
sess_hides(const struct gsess *s, uint8_t number, uint8_t alt)
{
	int i;

	for (i = 0; i < s->n_refused; i++)
		if (s->refused[i] == number)
			return 1;
	for (i = 0; i < s->n_refused_alts; i++)
		if (s->refused_alts[i][0] == number &&
		    (s->refused_alts[i][1] == alt || s->refused_alts[i][1] == 0))
			return 1;
	return 0;
}

static void
import_class_add(struct ctl_import *im, uint8_t cls, uint8_t sub,
    uint8_t proto)
{
	const uint8_t c[3] = { cls, sub, proto };
	int i;

	for (i = 0; i < im->n_classes; i++)
		if (memcmp(im->classes[i], c, 3) == 0)
			return;
	if (im->n_classes < CTL_ALT_MAX)
		memcpy(im->classes[im->n_classes++], c, 3);
}

/*
 * IMPORT's class set: the classes of the interface descriptors policy
 * judged, as the backend's filter leaves them. A filtered session (pinned,
 * or something refused) shows only the active configuration's interfaces,
 * without the refused ones (setting 0 refused: the whole interface); a
 * device known only by sysfs gets sysfs's interfaces.
 */
static void
import_classes(const struct gsess *s, const struct ctl_dev *d,
    struct ctl_import *im)
{
	int filtered = s->pin_config || s->n_refused > 0 ||
	    s->n_refused_alts > 0;
	int i;

	for (i = 0; i < d->n_alts; i++) {
		const struct ctl_ifalt *a = &d->alts[i];

		if ((filtered && a->config != d->config) ||
		    sess_hides(s, a->number, a->alt))
			continue;
		import_class_add(im, a->cls, a->subcls, a->proto);
	}
	for (i = 0; d->n_alts == 0 && i < d->n_ifaces; i++)
		if (!sess_hides(s, d->ifaces[i].number, 0))
			import_class_add(im, d->ifaces[i].cls,
			    d->ifaces[i].subcls, d->ifaces[i].proto);
}

static void
sess_import(struct gated *g, struct gsess *s)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_IMPORT);
	m.u.import.session = s->id;
	ctl_strlcpy(m.u.import.backend, s->backend->conf.name,
	    sizeof(m.u.import.backend));
	ctl_strlcpy(m.u.import.busid, s->busid, sizeof(m.u.import.busid));
	ctl_strlcpy(m.u.import.uri, s->data->conf.frontend_uri,
	    sizeof(m.u.import.uri));
	if (s->data->conf.frontend_listens)
		m.u.import.options |= CTL_OPT_LISTEN;
	if (s->dev != NULL) {
		m.u.import.vid = s->dev->info.vid;
		m.u.import.pid = s->dev->info.pid;
		m.u.import.speed = s->dev->info.speed;
		import_classes(s, &s->dev->info, &m.u.import);
	}
	ctl_strlcpy(m.u.import.device_id, s->device_id,
	    sizeof(m.u.import.device_id));
	s->state = SESS_IMPORTING;
	s->frontend_done = 0;
	s->deadline = mono_ms() + g->conf.attach_timeout * 1000L;
	gated_send(g, s->frontend, &m);
}

/* ---- the ask prompt --------------------------------------------------------- */

static int
ask_spawn(struct gated *g, struct gsess *s)
{
	char dev[2 * CTL_NAME_MAX + 2];
	pid_t pid;
	int fd;

	snprintf(dev, sizeof(dev), "%s:%s", s->backend->conf.name, s->busid);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Only sanitized values, and only in the environment: the
		 * command line is the administrator's, never the device's. */
		if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		setenv("USBGATE_VM", s->vm, 1);
		setenv("USBGATE_DEVICE", dev, 1);
		setenv("USBGATE_BACKEND", s->backend->conf.name, 1);
		setenv("USBGATE_DEVICE_ID", s->device_id, 1);
		setenv("USBGATE_DESCRIPTION", s->dev ? s->dev->desc : "", 1);
		setenv("USBGATE_RULE", s->rule, 1);
		setenv("USBGATE_MODE", s->ask_mode ? "ask-to-attach" : "rule",
		    1);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", g->conf.ask_command, (char *)NULL);
		_exit(127);
	}
	s->ask_pid = pid;
	return 0;
}

void
core_child_exited(struct gated *g, pid_t pid, int status)
{
	struct gsess *s;

	for (s = g->sessions; s != NULL; s = s->next)
		if (s->ask_pid == pid)
			break;
	if (s == NULL)
		return;
	s->ask_pid = 0;
	if (s->state != SESS_ASKING)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("%s -> %s: ask-command said yes", s->busid, s->vm);
		if (s->frontend->conn == NULL) {
			answer(g, s, CTL_ST_UNREACHABLE, "VM %s went away "
			    "while asking", s->vm);
			sess_free(g, s);
			return;
		}
		sess_serve(g, s);
		return;
	}
	answer(g, s, CTL_ST_DENIED, "refused by the person asked "
	    "(ask-command %s %d)", WIFEXITED(status) ? "exit status" :
	    "killed by signal", WIFEXITED(status) ? WEXITSTATUS(status) :
	    WTERMSIG(status));
	sess_free(g, s);
}

/* ---- attach ----------------------------------------------------------------- */

static void
result_now(struct gated *g, struct gcli *cli, int status, const char *rule,
    const char *msg, const char *devname, const char *vm, enum gorigin origin)
{
	if (status == CTL_ST_OK)
		log_info("%s -> %s (%s): %s", devname, vm, origin_names[origin],
		    msg);
	else
		log_warnx("%s -> %s (%s): %s", devname, vm,
		    origin_names[origin], msg);
	if (cli != NULL)
		cli_result(g, cli, status, rule, "%s", msg);
}

static void attach_try(struct gated *, struct gdev *, const char *,
    enum gorigin, int, struct gcli *, int);

/* Does rule say which devices it is for (not every device, *:*)? */
static int
rule_names_device(const struct pol_rule *r)
{
	int k, i;

	for (k = 0; k < POL_ATTR__COUNT; k++) {
		if (!r->attr[k].present)
			continue;
		if (k != POL_ATTR_ID)
			return 1;
		for (i = 0; i < r->attr[k].n; i++)
			if (r->attr[k].v.ids[i].vid >= 0)
				return 1;
	}
	return 0;
}

/*
 * A request from the backend's udev (USBGATE_AUTO_ATTACH=vm) chooses the
 * VM, which only dom0 may do: it is followed only where dom0 already
 * named that pair, by an assignment of d to vm or by a deciding rule that
 * names both the VM (to NAME or to @tag:TAG) and the device (an attribute
 * other than id *:*). A rule for every VM or every device is not enough.
 */
static int
udev_pair_named(struct gated *g, struct gdev *d, const char *vm,
    const struct pol_verdict *v)
{
	size_t i;

	for (i = 0; i < g->assign.n; i++)
		if (strcmp(g->assign.a[i].vm, vm) == 0 &&
		    pol_assign_rank(&g->assign.a[i], d->backend->conf.name,
		    d->info.busid, d->device_id, &d->pdev) > 0)
			return 1;
	return v->rule != NULL && (v->rule->to_kind == POL_TO_VM ||
	    v->rule->to_kind == POL_TO_TAG) && rule_names_device(v->rule);
}

void
core_attach(struct gated *g, struct gdev *d, const char *vm,
    enum gorigin origin, int ask_mode, struct gcli *cli)
{
	attach_try(g, d, vm, origin, ask_mode, cli, 0);
}

/* One attach being decided. */
struct attach_req {
	struct gdev *d;
	const char *vm;
	struct gpeer *fe;		/* the VM's channel, or NULL */
	enum gorigin origin;
	int ask_mode;
	char devname[2 * CTL_NAME_MAX + 2];
	int status;			/* refused: why; CTL_ST_OK: done */
	char msg[CTL_CLI_MESSAGE_MAX + 1];
	char rule[512];			/* the deciding rule, or "" */
	struct pol_verdict v;
};

/* Is either end away, or the device taken? 1 (with status and msg) if so. */
static int
attach_blocked(struct attach_req *r)
{
	struct gdev *d = r->d;

	if (r->fe == NULL) {
		r->status = CTL_ST_NOT_FOUND;
		snprintf(r->msg, sizeof(r->msg), "no VM named '%s' in "
		    "usbgated.conf", r->vm);
		return 1;
	}
	if (r->fe->conn == NULL || !ctl_conn_ready(r->fe->conn)) {
		r->status = CTL_ST_UNREACHABLE;
		snprintf(r->msg, sizeof(r->msg), "VM %s is not running (its "
		    "usbgate-frontend daemon is not connected)", r->vm);
		return 1;
	}
	if (d->backend->conn == NULL) {
		r->status = CTL_ST_UNREACHABLE;
		snprintf(r->msg, sizeof(r->msg), "backend %s is not connected",
		    d->backend->conf.name);
		return 1;
	}
	if (d->sess != NULL) {
		if (strcmp(d->sess->vm, r->vm) == 0 &&
		    d->sess->state == SESS_ATTACHED) {
			snprintf(r->msg, sizeof(r->msg), "%s is already "
			    "attached to %s", r->devname, r->vm);
			return 1;
		}
		r->status = CTL_ST_BUSY;
		snprintf(r->msg, sizeof(r->msg), "%s is %s %s (detach it "
		    "first)", r->devname, d->sess->state == SESS_ATTACHED ?
		    "attached to" : "being attached to", d->sess->vm);
		return 1;
	}
	return 0;
}

/*
 * "; rule F:L names parent-hash, which backend B did not report" when the
 * verdict turned on an attribute the device lacks, else "".
 */
static void
unknown_why(const struct attach_req *r, const struct pol_verdict *v,
    char *buf, size_t size)
{
	buf[0] = '\0';
	if (v->unknown_rule == NULL)
		return;
	snprintf(buf, size, "; rule %s:%d names %s, which backend %s did not "
	    "report for this device", v->unknown_rule->file ?
	    v->unknown_rule->file : "-", v->unknown_rule->line,
	    pol_attr_keyword(v->unknown_attr), r->d->backend->conf.name);
}

/* Policy: the only authority. 1 (with status and msg) if it says no. */
static int
attach_denied(struct gated *g, struct attach_req *r)
{
	const char *tags[GATED_TAGS_MAX];
	struct pol_verdict *v = &r->v;
	char why[512];
	struct pol_vm pv;
	int i;

	for (i = 0; i < r->fe->conf.n_tags; i++)
		tags[i] = r->fe->conf.tags[i];
	pv.name = r->vm;
	pv.tags = tags;
	pv.n_tags = r->fe->conf.n_tags;
	r->status = CTL_ST_DENIED;
	if (!g->rules_ok) {
		snprintf(r->msg, sizeof(r->msg), "%s", g->rules_error);
		return 1;
	}
	pol_check(&g->rules, &r->d->pdev, &pv, v);
	if (v->rule != NULL)
		pol_rule_describe(v->rule, r->rule, sizeof(r->rule));
	unknown_why(r, v, why, sizeof(why));
	if (v->decision == POL_NO_MATCH) {
		snprintf(r->msg, sizeof(r->msg), "denied: no rule allows %s "
		    "(%s) for %s, and no match means deny%s (try: usbgate "
		    "policy test %s %s)", r->devname, r->d->desc, r->vm, why,
		    r->devname, r->vm);
		return 1;
	}
	if (v->decision == POL_DENY) {
		snprintf(r->msg, sizeof(r->msg), "denied by rule %s%s",
		    r->rule, why);
		return 1;
	}
	if (r->origin == ORIGIN_UDEV &&
	    !udev_pair_named(g, r->d, r->vm, v)) {
		r->status = CTL_ST_DENIED;
		snprintf(r->msg, sizeof(r->msg), "not followed: no assignment "
		    "and no rule naming %s and this device (the deciding rule "
		    "is %s)", r->vm, r->rule);
		return 1;
	}
	if (v->all_refused) {
		snprintf(r->msg, sizeof(r->msg), "denied: rule %s refuses "
		    "every interface of %s", r->rule, r->devname);
		return 1;
	}
	if ((v->n_refused > 0 || v->n_refused_alts > 0 || v->pin_config) &&
	    !(ctl_conn_caps(r->d->backend->conn) & CTL_CAP_REFUSE_IFACES)) {
		r->status = CTL_ST_FAILED;
		snprintf(r->msg, sizeof(r->msg), "rule %s constrains "
		    "interfaces, but backend %s cannot filter them; not "
		    "attaching", r->rule, r->d->backend->conf.name);
		return 1;
	}
	if ((v->decision == POL_ASK || r->ask_mode) &&
	    g->conf.ask_command[0] == '\0') {
		snprintf(r->msg, sizeof(r->msg), "%s, but no ask-command is "
		    "configured: denied", v->decision == POL_ASK ?
		    "the rule says ask" : "the assignment is ask-to-attach");
		return 1;
	}
	r->status = CTL_ST_OK;
	return 0;
}

/* A new session for an allowed attach, in the tables; NULL if no memory. */
static struct gsess *
sess_new(struct gated *g, const struct attach_req *r, enum gorigin origin,
    int attempt, struct gcli *cli)
{
	struct gdev *d = r->d;
	struct gsess *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = g->next_session++;
	if (s->id == 0)
		s->id = g->next_session++;
	s->origin = origin;
	s->dev = d;
	s->backend = d->backend;
	s->frontend = r->fe;
	ctl_strlcpy(s->vm, r->vm, sizeof(s->vm));
	ctl_strlcpy(s->busid, d->info.busid, sizeof(s->busid));
	ctl_strlcpy(s->device_id, d->device_id, sizeof(s->device_id));
	ctl_strlcpy(s->rule, r->rule, sizeof(s->rule));
	ctl_str_scrub(s->rule, CTL_CS_PRINT);
	s->n_refused = r->v.n_refused;
	memcpy(s->refused, r->v.refused, sizeof(s->refused));
	s->n_refused_alts = r->v.n_refused_alts;
	memcpy(s->refused_alts, r->v.refused_alts, sizeof(s->refused_alts));
	s->pin_config = r->v.pin_config;
	s->ask_mode = r->ask_mode;
	s->attempt = attempt;
	s->backend_done = s->frontend_done = 1;	/* nothing sent yet */
	s->waiter = cli;
	if (cli != NULL)
		cli->waiting++;
	s->next = g->sessions;
	g->sessions = s;
	d->sess = s;
	return s;
}

static void
attach_try(struct gated *g, struct gdev *d, const char *vm,
    enum gorigin origin, int ask_mode, struct gcli *cli, int attempt)
{
	struct attach_req r;
	struct gsess *s;

	memset(&r, 0, sizeof(r));
	r.d = d;
	r.vm = vm;
	r.fe = gated_peer(g, vm, CTL_ROLE_FRONTEND);
	r.origin = origin;
	r.ask_mode = ask_mode;
	r.status = CTL_ST_OK;
	snprintf(r.devname, sizeof(r.devname), "%s:%s", d->backend->conf.name,
	    d->info.busid);
	if (attach_blocked(&r) || attach_denied(g, &r)) {
		result_now(g, cli, r.status, r.rule, r.msg, r.devname, vm,
		    origin);
		return;
	}
	if ((s = sess_new(g, &r, origin, attempt, cli)) == NULL) {
		result_now(g, cli, CTL_ST_ERROR, r.rule, "out of memory",
		    r.devname, vm, origin);
		return;
	}
	if (r.v.decision == POL_ASK || ask_mode) {
		s->state = SESS_ASKING;
		s->asked = 1;
		s->deadline = mono_ms() + g->conf.ask_timeout * 1000L;
		if (ask_spawn(g, s) < 0) {
			answer(g, s, CTL_ST_ERROR, "cannot run ask-command: %s",
			    strerror(errno));
			sess_free(g, s);
		}
		return;
	}
	sess_serve(g, s);
}

/* ---- detach ------------------------------------------------------------------ */

int
core_detach(struct gated *g, const char *vm, struct gdev *d, struct gcli *cli)
{
	struct gsess *s, *next;
	int n = 0;

	for (s = g->sessions; s != NULL; s = next) {
		next = s->next;
		if (strcmp(s->vm, vm) != 0 || (d != NULL && s->dev != d))
			continue;
		n++;
		if (s->waiter != NULL && s->waiter != cli)
			answer(g, s, CTL_ST_FAILED, "detached while attaching");
		if (s->state == SESS_ASKING) {
			if (cli != NULL)
				cli_result(g, cli, CTL_ST_OK, "", "cancelled "
				    "the pending attach of %s", s->busid);
			sess_free(g, s);
			continue;
		}
		if (cli != NULL && s->waiter == NULL) {
			s->waiter = cli;
			cli->waiting++;
		}
		if (s->state != SESS_STOPPING)
			sess_stop(g, s, CTL_REASON_ORDERED);
	}
	return n;
}

/* ---- auto-attach ---------------------------------------------------------------- */

static void
follow_add(struct gated *g, struct gsess *s)
{
	struct gfollow *f;

	if (g->conf.follow_window <= 0 || s->state == SESS_ASKING ||
	    s->state == SESS_STOPPING || (f = calloc(1, sizeof(*f))) == NULL)
		return;
	ctl_strlcpy(f->backend, s->backend->conf.name, sizeof(f->backend));
	ctl_strlcpy(f->busid, s->busid, sizeof(f->busid));
	ctl_strlcpy(f->device_id, s->device_id, sizeof(f->device_id));
	ctl_strlcpy(f->vm, s->vm, sizeof(f->vm));
	f->until = mono_ms() + g->conf.follow_window * 1000L;
	f->next = g->follows;
	g->follows = f;
}

/*
 * d, which is not f's device_id, is nevertheless in f's place: on its port,
 * or the same physical device (same VID and non-empty serial) under another
 * identity, such as a bootloader.
 */
static int
follow_superseded(const struct gfollow *f, const struct gdev *d)
{
	struct pol_devid was, now;

	if (strcmp(f->busid, d->info.busid) == 0)
		return 1;
	return pol_devid_parse(f->device_id, &was) == POL_OK &&
	    pol_devid_parse(d->device_id, &now) == POL_OK &&
	    !was.unknown && !now.unknown && was.vid == now.vid &&
	    was.serial[0] != '\0' && strcmp(was.serial, now.serial) == 0;
}

/*
 * A device that was attached and came back within the window. A device
 * that comes back as another identity ends the follow: what the VM had is
 * not coming back as it was, and only policy and assignments decide about
 * the new identity (an identity assignment with allow-pid keeps it with the
 * VM). Otherwise a device that went through an identity that stayed in
 * sys-usb (e.g. a bootloader after its assignment was removed) would be
 * pulled back into the VM when it returns to the old identity.
 */
static int
follow_match(struct gated *g, struct gdev *d)
{
	struct gfollow **pp, *f, *hit = NULL;
	long now = mono_ms();

	for (pp = &g->follows; (f = *pp) != NULL;) {
		if (f->until < now ||
		    strcmp(f->backend, d->backend->conf.name) != 0) {
			pp = &f->next;
			continue;
		}
		if (strcmp(f->device_id, d->device_id) != 0) {
			if (follow_superseded(f, d)) {
				log_info("%s:%s is %s, no longer %s: not "
				    "following it to %s any more",
				    d->backend->conf.name, d->info.busid,
				    d->device_id, f->device_id, f->vm);
				*pp = f->next;
				free(f);
			} else
				pp = &f->next;
			continue;
		}
		/* Without a serial, identical devices are told apart only by
		 * their port. */
		if (hit != NULL || (d->info.serial[0] == '\0' &&
		    strcmp(f->busid, d->info.busid) != 0)) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		hit = f;
	}
	if (hit == NULL)
		return 0;
	log_info("%s:%s came back (re-enumerated, or its backend "
	    "restarted); following it to %s",
	    d->backend->conf.name, d->info.busid, hit->vm);
	core_attach(g, d, hit->vm, ORIGIN_FOLLOW, 0, NULL);
	free(hit);
	return 1;
}

static int
frontend_up(struct gated *g, const char *vm)
{
	struct gpeer *fe = gated_peer(g, vm, CTL_ROLE_FRONTEND);

	return fe != NULL && fe->conn != NULL && ctl_conn_ready(fe->conn);
}

/* The best assignment of each running VM for d; attach if exactly one VM. */
static void
assign_attach(struct gated *g, struct gdev *d)
{
	const struct pol_assign *best = NULL, *a;
	int best_rank = 0, claimants = 0, r;
	char vms[256] = "";
	size_t i, j;

	for (i = 0; i < g->assign.n; i++) {
		int seen = 0, vm_best = 0;

		a = &g->assign.a[i];
		r = pol_assign_rank(a, d->backend->conf.name, d->info.busid,
		    d->device_id, &d->pdev);
		if (r == POL_RANK_NONE || !frontend_up(g, a->vm))
			continue;
		/* Count each VM once, with its best rank. */
		for (j = 0; j < i; j++)
			if (strcmp(g->assign.a[j].vm, a->vm) == 0) {
				int rj = pol_assign_rank(&g->assign.a[j],
				    d->backend->conf.name, d->info.busid,
				    d->device_id, &d->pdev);

				if (rj > 0)
					seen = 1;
				if (rj > vm_best)
					vm_best = rj;
			}
		if (!seen) {
			claimants++;
			if (strlen(vms) + strlen(a->vm) + 3 < sizeof(vms)) {
				if (vms[0] != '\0')
					strcat(vms, ", ");
				strcat(vms, a->vm);
			}
		}
		if (r > best_rank && r >= vm_best) {
			best_rank = r;
			best = a;
		}
	}
	if (best == NULL)
		return;
	if (claimants > 1) {
		log_warnx("%s:%s is assigned to several running VMs (%s); not "
		    "attaching it automatically", d->backend->conf.name,
		    d->info.busid, vms);
		return;
	}
	core_attach(g, d, best->vm, ORIGIN_ASSIGN, best->mode == POL_MODE_ASK,
	    NULL);
}

static void
auto_attach_dev(struct gated *g, struct gdev *d)
{
	if (d->sess != NULL)
		return;
	if (follow_match(g, d))
		return;
	assign_attach(g, d);
	if (d->sess != NULL || d->info.auto_attach[0] == '\0')
		return;
	if (!g->conf.udev_auto_attach) {
		log_info("%s:%s: udev asks for %s; udev requests are disabled",
		    d->backend->conf.name, d->info.busid, d->info.auto_attach);
		return;
	}
	if (!frontend_up(g, d->info.auto_attach))
		return;
	core_attach(g, d, d->info.auto_attach, ORIGIN_UDEV, 0, NULL);
}

void
core_auto_attach_vm(struct gated *g, struct gpeer *fe)
{
	struct gdev *d;
	size_t i;

	for (d = g->devs; d != NULL; d = d->next) {
		const struct pol_assign *best = NULL;
		int best_rank = 0, r;

		if (d->sess != NULL)
			continue;
		for (i = 0; i < g->assign.n; i++) {
			const struct pol_assign *a = &g->assign.a[i];

			if (strcmp(a->vm, fe->conf.name) != 0)
				continue;
			r = pol_assign_rank(a, d->backend->conf.name,
			    d->info.busid, d->device_id, &d->pdev);
			if (r > best_rank) {
				best_rank = r;
				best = a;
			}
		}
		if (best != NULL)
			core_attach(g, d, fe->conf.name, ORIGIN_ASSIGN,
			    best->mode == POL_MODE_ASK, NULL);
		else if (d->info.auto_attach[0] != '\0' &&
		    g->conf.udev_auto_attach &&
		    strcmp(d->info.auto_attach, fe->conf.name) == 0)
			core_attach(g, d, fe->conf.name, ORIGIN_UDEV, 0, NULL);
	}
	/* Required devices that are not there. */
	for (i = 0; i < g->assign.n; i++) {
		const struct pol_assign *a = &g->assign.a[i];
		int found = 0;

		if (a->mode != POL_MODE_REQUIRED ||
		    strcmp(a->vm, fe->conf.name) != 0)
			continue;
		for (d = g->devs; d != NULL && !found; d = d->next)
			found = pol_assign_rank(a, d->backend->conf.name,
			    d->info.busid, d->device_id, &d->pdev) > 0;
		if (!found)
			log_warnx("VM %s: required USB device %s:%s:%s is not "
			    "available", a->vm, a->backend, a->port,
			    a->device_id);
	}
}

/* ---- backend messages ------------------------------------------------------------ */

static void
dev_fill(struct gated *g, struct gdev *d)
{
	struct pol_device *pd = &d->pdev;
	int i;

	memset(pd, 0, sizeof(*pd));
	ctl_strlcpy(pd->backend, d->backend->conf.name, sizeof(pd->backend));
	ctl_strlcpy(pd->busid, d->info.busid, sizeof(pd->busid));
	pd->vid = d->info.vid;
	pd->pid = d->info.pid;
	pd->bcd_device = d->info.bcd_device;
	pd->dev_class = d->info.dev_class;
	pd->dev_subclass = d->info.dev_subclass;
	pd->dev_proto = d->info.dev_proto;
	pd->speed = d->info.speed;
	ctl_strlcpy(pd->serial, d->info.serial, sizeof(pd->serial));
	ctl_strlcpy(pd->manufacturer, d->info.manufacturer,
	    sizeof(pd->manufacturer));
	ctl_strlcpy(pd->product, d->info.product, sizeof(pd->product));
	pd->n_ifaces = d->info.n_ifaces;
	for (i = 0; i < d->info.n_ifaces; i++) {
		pd->ifaces[i].number = d->info.ifaces[i].number;
		pd->ifaces[i].cls = d->info.ifaces[i].cls;
		pd->ifaces[i].subcls = d->info.ifaces[i].subcls;
		pd->ifaces[i].proto = d->info.ifaces[i].proto;
	}
	pd->config = d->info.config;
	pd->n_alts = d->info.n_alts;
	for (i = 0; i < d->info.n_alts; i++) {
		pd->alts[i].config = d->info.alts[i].config;
		pd->alts[i].number = d->info.alts[i].number;
		pd->alts[i].alt = d->info.alts[i].alt;
		pd->alts[i].cls = d->info.alts[i].cls;
		pd->alts[i].subcls = d->info.alts[i].subcls;
		pd->alts[i].proto = d->info.alts[i].proto;
	}
	pd->has_hash = (d->info.flags & CTL_DEV_F_HASH) != 0;
	memcpy(pd->hash, d->info.hash, sizeof(pd->hash));
	pd->has_parent_hash = (d->info.flags & CTL_DEV_F_PARENT) != 0;
	memcpy(pd->parent_hash, d->info.parent_hash, sizeof(pd->parent_hash));
	pd->has_connect_type = (d->info.flags & CTL_DEV_F_CONNECT) != 0;
	pd->connect_type = d->info.connect_type;
	if (pol_device_id(pd, d->device_id, sizeof(d->device_id)) < 0)
		ctl_strlcpy(d->device_id, POL_DEVID_UNKNOWN,
		    sizeof(d->device_id));
	pol_describe(pd, g->ids, d->desc, sizeof(d->desc));
}

static void
dev_free(struct gated *g, struct gdev *d)
{
	struct gdev **pp;

	for (pp = &g->devs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	d->backend->n_devs--;
	free(d);
}

/* The device is gone: end its session (the backend has nothing to stop). */
static void
dev_gone(struct gated *g, struct gdev *d, int follow)
{
	struct gsess *s = d->sess;

	if (s != NULL) {
		if (follow)
			follow_add(g, s);
		s->dev = NULL;
		d->sess = NULL;
		s->backend_done = 1;
		if (s->waiter != NULL && s->state != SESS_STOPPING)
			answer(g, s, CTL_ST_FAILED, "the device went away");
		sess_stop(g, s, CTL_REASON_DEVICE_GONE);
	}
	dev_free(g, d);
}

static void
dev_add(struct gated *g, struct gpeer *p, const struct ctl_dev *info,
    int is_change)
{
	struct gdev *d = core_find_dev(g, p->conf.name, info->busid);
	char old_id[POL_DEVID_MAX + 1];
	uint8_t old_hash[CTL_HASH_LEN];
	uint32_t old_flags;

	if (!(info->flags & CTL_DEV_F_EXPORT)) {
		/* USBGATE_EXPORT=0: the backend should not have sent it. */
		log_warnx("backend %s: %s is marked not-for-export; ignored",
		    p->conf.name, info->busid);
		if (d != NULL)
			dev_gone(g, d, 0);
		return;
	}
	if (d == NULL) {
		if (p->n_devs >= GATED_DEVS_PER_BACKEND) {
			log_warnx("backend %s: more than %d devices; %s "
			    "ignored", p->conf.name, GATED_DEVS_PER_BACKEND,
			    info->busid);
			return;
		}
		if ((d = calloc(1, sizeof(*d))) == NULL)
			return;
		d->backend = p;
		d->info = *info;
		dev_fill(g, d);
		d->next = g->devs;
		g->devs = d;
		p->n_devs++;
		log_info("device %s:%s added: %s (%s)", p->conf.name,
		    info->busid, d->device_id, d->desc);
		auto_attach_dev(g, d);
		return;
	}
	if (!is_change)
		log_info("device %s:%s published again; treated as a change",
		    p->conf.name, info->busid);
	memcpy(old_id, d->device_id, sizeof(old_id));
	memcpy(old_hash, d->info.hash, sizeof(old_hash));
	old_flags = d->info.flags;
	d->info = *info;
	dev_fill(g, d);
	if (d->sess != NULL && (strcmp(old_id, d->device_id) != 0 ||
	    (old_flags & info->flags & CTL_DEV_F_HASH &&
	    memcmp(old_hash, info->hash, CTL_HASH_LEN) != 0))) {
		log_warnx("device %s:%s changed identity (%s -> %s) while "
		    "in use by %s; stopping the session", p->conf.name,
		    info->busid, old_id, d->device_id, d->sess->vm);
		if (d->sess->waiter != NULL)
			answer(g, d->sess, CTL_ST_FAILED, "the device changed "
			    "identity");
		sess_stop(g, d->sess, CTL_REASON_MISMATCH);
	}
}

static struct gsess *
sess_of(struct gated *g, struct gpeer *p, uint64_t id, int backend,
    const char *what)
{
	struct gsess *s = find_sess(g, id);

	if (s == NULL || (backend ? s->backend : s->frontend) != p) {
		/* Unknown, or another VM's session: a confused or lying
		 * peer. Nothing to do; the log says who. */
		log_warnx("%s %s: %s for unknown session %llx ignored",
		    backend ? "backend" : "vm", p->conf.name, what,
		    (unsigned long long)id);
		return NULL;
	}
	return s;
}

void
core_backend_msg(struct gated *g, struct gpeer *p, const struct ctl_msg *m)
{
	const struct ctl_session_status *st;
	struct gsess *s;
	struct gdev *d;

	switch (m->type) {
	case CTL_MSG_DEV_ADD:
	case CTL_MSG_DEV_CHANGE:
		dev_add(g, p, &m->u.dev, m->type == CTL_MSG_DEV_CHANGE);
		break;
	case CTL_MSG_DEV_REMOVE:
		d = core_find_dev(g, p->conf.name, m->u.dev_remove.busid);
		if (d == NULL) {
			log_warnx("backend %s: removal of unknown device %s "
			    "ignored", p->conf.name, m->u.dev_remove.busid);
			break;
		}
		log_info("device %s:%s removed", p->conf.name,
		    m->u.dev_remove.busid);
		dev_gone(g, d, 1);
		break;
	case CTL_MSG_SESSION_STATUS:
		st = &m->u.session_status;
		if ((s = sess_of(g, p, st->session, 1, "status")) == NULL)
			break;
		if (strcmp(st->busid, s->busid) != 0) {
			log_warnx("backend %s: status for session %llx names "
			    "%s, not %s; ignored", p->conf.name,
			    (unsigned long long)s->id, st->busid, s->busid);
			break;
		}
		if (st->state == CTL_SESS_READY) {
			if (s->state == SESS_SERVING)
				sess_import(g, s);
			break;
		}
		s->backend_done = 1;
		/* sys-usb's own cause, whoever ended the session first. */
		log_info("session %llx: %s ended in %s: %s%s%s",
		    (unsigned long long)s->id, s->busid, p->conf.name,
		    ctl_reason_name(st->reason), st->text[0] ? ": " : "",
		    st->text);
		if (s->state == SESS_STOPPING) {
			sess_check_done(g, s);
			break;
		}
		if (s->state == SESS_SERVING || s->state == SESS_IMPORTING)
			answer(g, s, CTL_ST_FAILED, "%s could not serve %s: "
			    "%s%s%s", p->conf.name, s->busid,
			    ctl_reason_name(st->reason), st->text[0] ? ": " :
			    "", st->text);
		if (st->reason == CTL_REASON_DEVICE_GONE ||
		    st->reason == CTL_REASON_PEER_GONE)
			follow_add(g, s);
		sess_stop(g, s, st->reason);
		break;
	default:
		break;
	}
}

void
core_frontend_msg(struct gated *g, struct gpeer *p, const struct ctl_msg *m)
{
	const struct ctl_import_result *ir;
	struct gsess *s;

	if (m->type != CTL_MSG_IMPORT_RESULT)
		return;
	ir = &m->u.import_result;
	if ((s = sess_of(g, p, ir->session, 0, "import result")) == NULL)
		return;
	switch (ir->state) {
	case CTL_IMPORT_ATTACHED:
		if (s->state != SESS_IMPORTING) {
			log_warnx("vm %s: ATTACHED for session %llx in state "
			    "%s ignored", p->conf.name,
			    (unsigned long long)s->id, state_names[s->state]);
			break;
		}
		s->state = SESS_ATTACHED;
		s->deadline = 0;
		answer(g, s, CTL_ST_OK, "Attached %s:%s to %s (vhci port %u, "
		    "%s in the VM)", s->backend->conf.name, s->busid, s->vm,
		    ir->vhci_port, ir->local_busid[0] ? ir->local_busid : "?");
		break;
	case CTL_IMPORT_FAILED:
	case CTL_IMPORT_ENDED:
		if (s->state == SESS_SERVING) {
			log_warnx("vm %s: result for session %llx before "
			    "IMPORT ignored", p->conf.name,
			    (unsigned long long)s->id);
			break;
		}
		s->frontend_done = 1;
		if (s->state == SESS_STOPPING) {
			sess_check_done(g, s);
			break;
		}
		if (s->state == SESS_IMPORTING)
			answer(g, s, CTL_ST_FAILED, "%s could not import %s: "
			    "%s%s%s", p->conf.name, s->busid,
			    ctl_reason_name(ir->reason), ir->text[0] ? ": " :
			    "", ir->text);
		else
			log_info("session %llx: %s detached inside %s: %s %s",
			    (unsigned long long)s->id, s->busid, p->conf.name,
			    ctl_reason_name(ir->reason), ir->text);
		/* The data channel closed under the VM: as when sys-usb says
		 * so, the device may be leaving (re-enumerating); sys-usb's
		 * own report may come later, when the session is stopping,
		 * too late to be followed. */
		if (s->state == SESS_ATTACHED &&
		    (ir->reason == CTL_REASON_PEER_GONE ||
		    ir->reason == CTL_REASON_DEVICE_GONE))
			follow_add(g, s);
		sess_stop(g, s, ir->reason);
		break;
	}
}

/* ---- peers coming and going ----------------------------------------------------- */

void
core_backend_up(struct gated *g, struct gpeer *p)
{
	(void)g;
	(void)p;
}

void
core_backend_gone(struct gated *g, struct gpeer *p)
{
	struct gdev *d, *next;

	for (d = g->devs; d != NULL; d = next) {
		next = d->next;
		if (d->backend == p)
			dev_gone(g, d, 1);
	}
}

void
core_frontend_up(struct gated *g, struct gpeer *p)
{
	core_auto_attach_vm(g, p);
}

void
core_frontend_gone(struct gated *g, struct gpeer *p)
{
	struct gsess *s, *next;

	for (s = g->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->frontend != p || (s->state == SESS_STOPPING &&
		    s->frontend_done))
			continue;
		s->frontend_done = 1;
		if (s->waiter != NULL && s->state != SESS_STOPPING)
			answer(g, s, CTL_ST_UNREACHABLE, "VM %s went away",
			    s->vm);
		sess_stop(g, s, CTL_REASON_PEER_GONE);
		/* sess_stop may free entries; restart from the head. */
		next = g->sessions;
	}
}

void
core_cli_gone(struct gated *g, struct gcli *c)
{
	struct gsess *s;

	(void)g;
	for (s = g->sessions; s != NULL; s = s->next)
		if (s->waiter == c)
			s->waiter = NULL;
}

/* ---- time ----------------------------------------------------------------------- */

static void
retries_run(struct gated *g, long now)
{
	struct gretry **pp, *r;
	struct gdev *d;

	for (pp = &g->retries; (r = *pp) != NULL;) {
		if (r->at > now) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		d = core_find_dev(g, r->backend, r->busid);
		if (d != NULL && d->sess == NULL &&
		    strcmp(d->device_id, r->device_id) == 0 &&
		    frontend_up(g, r->vm))
			attach_try(g, d, r->vm, r->origin, 0, NULL, r->attempt);
		free(r);
		pp = &g->retries;	/* attach_try may add entries */
	}
}

long
core_next_deadline(struct gated *g)
{
	struct gsess *s;
	struct gfollow *f;
	struct gretry *r;
	long next = 0;

	for (s = g->sessions; s != NULL; s = s->next)
		if (s->deadline != 0 && (next == 0 || s->deadline < next))
			next = s->deadline;
	for (f = g->follows; f != NULL; f = f->next)
		if (next == 0 || f->until < next)
			next = f->until;
	for (r = g->retries; r != NULL; r = r->next)
		if (next == 0 || r->at < next)
			next = r->at;
	return next;
}

void
core_timers(struct gated *g)
{
	struct gsess *s, *next;
	struct gfollow **pp, *f;
	long now = mono_ms();

	for (s = g->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->deadline == 0 || s->deadline > now)
			continue;
		switch (s->state) {
		case SESS_ASKING:
			answer(g, s, CTL_ST_DENIED, "no answer from the "
			    "ask-command within %d s", g->conf.ask_timeout);
			sess_free(g, s);
			break;
		case SESS_SERVING:
			answer(g, s, CTL_ST_TIMEOUT, "backend %s did not "
			    "answer within %d s", s->backend->conf.name,
			    g->conf.attach_timeout);
			sess_stop(g, s, CTL_REASON_IO);
			break;
		case SESS_IMPORTING:
			answer(g, s, CTL_ST_TIMEOUT, "VM %s did not attach "
			    "the device within %d s", s->vm,
			    g->conf.attach_timeout);
			sess_stop(g, s, CTL_REASON_IO);
			break;
		case SESS_STOPPING:
			if (s->waiter != NULL) {
				struct gcli *c = s->waiter;

				s->waiter = NULL;
				if (s->backend_done)
					cli_result(g, c, CTL_ST_OK, "",
					    "Detached %s:%s from %s (the VM "
					    "did not confirm)",
					    s->backend->conf.name, s->busid,
					    s->vm);
				else
					cli_result(g, c, CTL_ST_TIMEOUT, "",
					    "backend %s did not confirm that "
					    "it stopped serving %s",
					    s->backend->conf.name, s->busid);
				cli_op_done(g, c);
			}
			log_warnx("session %llx: no confirmation of the end "
			    "from %s%s%s; forgetting it",
			    (unsigned long long)s->id,
			    s->backend_done ? "" : s->backend->conf.name,
			    !s->backend_done && !s->frontend_done ? " and " :
			    "", s->frontend_done ? "" : s->vm);
			sess_free(g, s);
			break;
		case SESS_ATTACHED:
			s->deadline = 0;
			break;
		}
		next = g->sessions;	/* the list may have changed */
		now = mono_ms();
	}
	for (pp = &g->follows; (f = *pp) != NULL;) {
		if (f->until <= now) {
			*pp = f->next;
			free(f);
		} else
			pp = &f->next;
	}
	retries_run(g, now);
}

void
core_shutdown(struct gated *g)
{
	struct gfollow *f;

	while (g->sessions != NULL) {
		struct gsess *s = g->sessions;

		if (s->state != SESS_ASKING && s->state != SESS_STOPPING)
			sess_stop(g, s, CTL_REASON_SHUTDOWN);
		if (g->sessions == s)
			sess_free(g, s);
	}
	while (g->devs != NULL)
		dev_free(g, g->devs);
	while ((f = g->follows) != NULL) {
		g->follows = f->next;
		free(f);
	}
	while (g->retries != NULL) {
		struct gretry *r = g->retries;

		g->retries = r->next;
		free(r);
	}
}
