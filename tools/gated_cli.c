/*
 * gated_cli.c: requests from the usbgate CLI (see doc/control-protocol.md
 * section 5 for the messages and usbgate(8) for the commands).
 *
 * A request produces zero or more CLI_ROW messages and exactly one
 * CLI_DONE. Requests that wait for VMs (attach, detach) count their
 * outstanding operations in gcli->waiting; CLI_DONE goes out when the
 * count drops to zero. The CLI runs as root in dom0 but its arguments are
 * still checked like everything else: they name devices and VMs that must
 * exist in dom0's own tables.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gated.h"
#include "log.h"

/* ---- helpers ----------------------------------------------------------------- */

/* BACKEND:PORT[:DEVICE_ID]; the device id itself contains colons. */
static int
parse_devspec(const char *s, char *backend, char *port, char *devid)
{
	const char *c1 = strchr(s, ':'), *c2;
	size_t bl, pl;

	backend[0] = port[0] = devid[0] = '\0';
	if (c1 == NULL)
		return 0;
	bl = (size_t)(c1 - s);
	c2 = strchr(c1 + 1, ':');
	pl = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (bl == 0 || bl > CTL_NAME_MAX || pl == 0 || pl > CTL_BUSID_MAX)
		return 0;
	memcpy(backend, s, bl);
	backend[bl] = '\0';
	memcpy(port, c1 + 1, pl);
	port[pl] = '\0';
	if (c2 != NULL) {
		if (strlen(c2 + 1) > POL_DEVID_MAX)
			return 0;
		strcpy(devid, c2 + 1);
		if (strcmp(devid, "*") == 0)
			devid[0] = '\0';	/* Qubes: '*' is ignored */
	}
	return 1;
}

static void
assignments_of(struct gated *g, const char *backend, const char *busid,
    const char *devid, const struct pol_device *pd, char *out, size_t size)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < g->assign.n; i++) {
		const struct pol_assign *a = &g->assign.a[i];
		int n;

		if (pol_assign_rank(a, backend, busid, devid, pd) == 0)
			continue;
		n = snprintf(out + len, size - len, "%s%s:%s", len ? "," : "",
		    a->vm, pol_assign_mode_name(a->mode));
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
}

static void
vm_of(struct gated *g, const char *vm, struct pol_vm *pv, const char **tags)
{
	struct gpeer *fe = gated_peer(g, vm, CTL_ROLE_FRONTEND);
	int i;

	pv->name = vm;
	pv->tags = tags;
	pv->n_tags = 0;
	if (fe == NULL)
		return;
	for (i = 0; i < fe->conf.n_tags; i++)
		tags[i] = fe->conf.tags[i];
	pv->n_tags = fe->conf.n_tags;
}

static void
ifaces_text(const struct pol_device *pd, char *out, size_t size)
{
	size_t len = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; i < pd->n_ifaces; i++) {
		n = snprintf(out + len, size - len, "%s%u:%02x:%02x:%02x",
		    i ? "," : "", pd->ifaces[i].number, pd->ifaces[i].cls,
		    pd->ifaces[i].subcls, pd->ifaces[i].proto);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
}

/* Every interface descriptor: "CONFIG:IFACE.ALT:cc:ss:pp,..." */
static void
alts_text(const struct pol_device *pd, char *out, size_t size)
{
	size_t len = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; i < pd->n_alts; i++) {
		n = snprintf(out + len, size - len, "%s%u:%u.%u:%02x:%02x:%02x",
		    i ? "," : "", pd->alts[i].config, pd->alts[i].number,
		    pd->alts[i].alt, pd->alts[i].cls, pd->alts[i].subcls,
		    pd->alts[i].proto);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
}

static void
dev_row(struct gated *g, const struct gdev *d, struct ctl_cli_row *row)
{
	char buf[CTL_CLI_VALUE_MAX + 1], b64[POL_HASH_B64_LEN + 1];

	memset(row, 0, sizeof(*row));
	snprintf(buf, sizeof(buf), "%s:%s", d->backend->conf.name,
	    d->info.busid);
	ctl_row_add(row, "device", buf);
	ctl_row_add(row, "backend", d->backend->conf.name);
	ctl_row_add(row, "port", d->info.busid);
	ctl_row_add(row, "device_id", d->device_id);
	ctl_row_add(row, "description", d->desc);
	ctl_row_add(row, "used_by", core_used_by(g, d));
	assignments_of(g, d->backend->conf.name, d->info.busid, d->device_id,
	    &d->pdev, buf, sizeof(buf));
	ctl_row_add(row, "assignments", buf);
	snprintf(buf, sizeof(buf), "%04x:%04x", d->info.vid, d->info.pid);
	ctl_row_add(row, "id", buf);
	ctl_row_add(row, "serial", d->info.serial);
	ctl_row_add(row, "speed", ctl_speed_name(d->info.speed));
	if (d->info.flags & CTL_DEV_F_HASH) {
		pol_b64_encode(d->info.hash, CTL_HASH_LEN, b64, sizeof(b64));
		ctl_row_add(row, "hash", b64);
	}
	if (d->info.flags & CTL_DEV_F_PARENT) {
		pol_b64_encode(d->info.parent_hash, CTL_HASH_LEN, b64,
		    sizeof(b64));
		ctl_row_add(row, "parent_hash", b64);
	}
	if (d->info.flags & CTL_DEV_F_CONNECT)
		ctl_row_add(row, "connect_type",
		    ident_connect_name(d->info.connect_type));
	ctl_row_add(row, "present", "yes");
}

static int
vm_listed(const struct ctl_cli_request *rq, const char *vm)
{
	int i;

	for (i = 0; i < rq->nargs; i++)
		if (strcmp(rq->args[i], vm) == 0)
			return 1;
	return 0;
}

/* ---- commands ---------------------------------------------------------------- */

static void
do_list(struct gated *g, struct gcli *c, const struct ctl_cli_request *rq)
{
	int with_assign = (rq->flags & CTL_CLIF_ASSIGNMENTS) != 0;
	int all = (rq->flags & CTL_CLIF_ALL) || rq->nargs == 0;
	struct ctl_cli_row row;
	struct gdev *d;
	size_t i;

	for (d = g->devs; d != NULL; d = d->next) {
		if (!all) {
			int want = d->sess != NULL &&
			    vm_listed(rq, core_used_by(g, d));

			for (i = 0; with_assign && !want && i < g->assign.n;
			    i++)
				want = vm_listed(rq, g->assign.a[i].vm) &&
				    pol_assign_rank(&g->assign.a[i],
				    d->backend->conf.name, d->info.busid,
				    d->device_id, &d->pdev) > 0;
			if (!want)
				continue;
		}
		dev_row(g, d, &row);
		cli_row(c, &row);
	}
	if (!with_assign)
		return;
	/* Assignments whose device is not here. */
	for (i = 0; i < g->assign.n; i++) {
		const struct pol_assign *a = &g->assign.a[i];
		char buf[CTL_CLI_VALUE_MAX + 1];
		int present = 0;

		if (!all && !vm_listed(rq, a->vm))
			continue;
		for (d = g->devs; d != NULL && !present; d = d->next)
			present = pol_assign_rank(a, d->backend->conf.name,
			    d->info.busid, d->device_id, &d->pdev) > 0;
		if (present)
			continue;
		memset(&row, 0, sizeof(row));
		snprintf(buf, sizeof(buf), "%s:%s", a->backend, a->port);
		ctl_row_add(&row, "device", buf);
		ctl_row_add(&row, "backend", a->backend);
		ctl_row_add(&row, "port", a->port);
		ctl_row_add(&row, "device_id", a->device_id);
		ctl_row_add(&row, "description", "");
		ctl_row_add(&row, "used_by", "");
		snprintf(buf, sizeof(buf), "%s:%s", a->vm,
		    pol_assign_mode_name(a->mode));
		ctl_row_add(&row, "assignments", buf);
		ctl_row_add(&row, "present", "no");
		cli_row(c, &row);
	}
}

static struct gdev *
lookup_dev(struct gated *g, struct gcli *c, const char *spec, char *devid)
{
	char backend[CTL_NAME_MAX + 1], port[CTL_BUSID_MAX + 1];
	struct gdev *d;

	if (!parse_devspec(spec, backend, port, devid)) {
		cli_result(g, c, CTL_ST_USAGE, "", "bad device '%.80s' (want "
		    "BACKEND:PORT[:DEVICE_ID], e.g. sys-usb:2-1)", spec);
		return NULL;
	}
	if ((d = core_find_dev(g, backend, port)) == NULL) {
		cli_result(g, c, CTL_ST_NOT_FOUND, "", "no device %s:%s (see "
		    "usbgate list)", backend, port);
		return NULL;
	}
	if (devid[0] != '\0' && strcmp(devid, d->device_id) != 0) {
		cli_result(g, c, CTL_ST_NOT_FOUND, "", "the device in %s:%s is "
		    "%s, not %s", backend, port, d->device_id, devid);
		return NULL;
	}
	return d;
}

static void
do_attach(struct gated *g, struct gcli *c, const struct ctl_cli_request *rq)
{
	char devid[POL_DEVID_MAX + 1];
	struct gdev *d;

	if (rq->nargs != 2) {
		cli_result(g, c, CTL_ST_USAGE, "", "attach needs VM and "
		    "BACKEND:PORT[:DEVICE_ID]");
		return;
	}
	if ((d = lookup_dev(g, c, rq->args[1], devid)) == NULL)
		return;
	if (rq->flags & CTL_CLIF_PERSISTENT) {
		/* Qubes: -p is attach plus assign --required; the assignment
		 * stays even if the attach fails. */
		struct pol_assign a;
		char msg[128];

		memset(&a, 0, sizeof(a));
		ctl_strlcpy(a.vm, rq->args[0], sizeof(a.vm));
		ctl_strlcpy(a.backend, d->backend->conf.name,
		    sizeof(a.backend));
		ctl_strlcpy(a.port, d->info.busid, sizeof(a.port));
		ctl_strlcpy(a.device_id, d->device_id, sizeof(a.device_id));
		a.mode = POL_MODE_REQUIRED;
		if (pol_assign_validate(&a, msg, sizeof(msg)) != POL_OK ||
		    gated_peer(g, a.vm, CTL_ROLE_FRONTEND) == NULL) {
			cli_result(g, c, CTL_ST_NOT_FOUND, "", "cannot assign "
			    "to '%s': %s", a.vm, msg[0] ? msg : "no such VM");
			return;
		}
		if (pol_assign_add(&g->assign, &a) != POL_OK ||
		    pol_assign_save(&g->assign) != POL_OK) {
			cli_result(g, c, CTL_ST_ERROR, "", "cannot save the "
			    "assignment");
			return;
		}
	}
	core_attach(g, d, rq->args[0], ORIGIN_MANUAL, 0, c);
}

static void
do_detach(struct gated *g, struct gcli *c, const struct ctl_cli_request *rq)
{
	char devid[POL_DEVID_MAX + 1];
	struct gdev *d = NULL;
	int n;

	if (rq->nargs < 1 || rq->nargs > 2) {
		cli_result(g, c, CTL_ST_USAGE, "", "detach needs VM "
		    "[BACKEND:PORT[:DEVICE_ID]]");
		return;
	}
	if (gated_peer(g, rq->args[0], CTL_ROLE_FRONTEND) == NULL) {
		cli_result(g, c, CTL_ST_NOT_FOUND, "", "no VM named '%s' in "
		    "usbgated.conf", rq->args[0]);
		return;
	}
	if (rq->nargs == 2 &&
	    (d = lookup_dev(g, c, rq->args[1], devid)) == NULL)
		return;
	n = core_detach(g, rq->args[0], d, c);
	if (n == 0 && d != NULL)
		cli_result(g, c, CTL_ST_NOT_FOUND, "", "%s:%s is not attached "
		    "to %s", d->backend->conf.name, d->info.busid, rq->args[0]);
	else if (n == 0)
		cli_result(g, c, CTL_ST_OK, "", "nothing attached to %s",
		    rq->args[0]);
}

static int
parse_pids(const char *s, struct pol_assign *a)
{
	char *end;
	const char *p = s;

	a->n_allow_pid = 0;
	while (*p != '\0') {
		unsigned long v = strtoul(p, &end, 16);

		if (end == p || end - p != 4 || v > 0xffff ||
		    a->n_allow_pid >= POL_ALLOW_PID_MAX)
			return 0;
		a->allow_pid[a->n_allow_pid++] = (uint16_t)v;
		p = end;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return 0;
	}
	return a->n_allow_pid > 0;
}

static void
do_assign(struct gated *g, struct gcli *c, const struct ctl_cli_request *rq)
{
	char port[CTL_BUSID_MAX + 1], devid[POL_DEVID_MAX + 1], msg[160];
	char rule[512] = "";
	struct pol_assign a;
	struct gdev *d;
	struct pol_device pd;
	struct pol_devid pid;
	int want_pids = (rq->flags & CTL_CLIF_ALLOW_PID) != 0;

	if (rq->nargs != 2 + want_pids) {
		cli_result(g, c, CTL_ST_USAGE, "", "assign needs VM and "
		    "BACKEND:PORT[:DEVICE_ID]");
		return;
	}
	memset(&a, 0, sizeof(a));
	ctl_strlcpy(a.vm, rq->args[0], sizeof(a.vm));
	if (!parse_devspec(rq->args[1], a.backend, port, devid)) {
		cli_result(g, c, CTL_ST_USAGE, "", "bad device '%.80s' (want "
		    "BACKEND:PORT[:DEVICE_ID])", rq->args[1]);
		return;
	}
	if (gated_peer(g, a.vm, CTL_ROLE_FRONTEND) == NULL) {
		cli_result(g, c, CTL_ST_NOT_FOUND, "", "no VM named '%s' in "
		    "usbgated.conf", a.vm);
		return;
	}
	if (gated_peer(g, a.backend, CTL_ROLE_BACKEND) == NULL) {
		cli_result(g, c, CTL_ST_NOT_FOUND, "", "no backend named '%s' "
		    "in usbgated.conf", a.backend);
		return;
	}
	d = strcmp(port, "*") ? core_find_dev(g, a.backend, port) : NULL;
	if (devid[0] == '\0' && d != NULL)
		ctl_strlcpy(devid, d->device_id, sizeof(devid));
	if (devid[0] == '\0' && !(rq->flags & CTL_CLIF_PORT)) {
		cli_result(g, c, CTL_ST_NOT_FOUND, "", "no device in %s:%s; "
		    "give its id (BACKEND:PORT:DEVICE_ID) or use --port",
		    a.backend, port);
		return;
	}
	ctl_strlcpy(a.port, (rq->flags & CTL_CLIF_DEVICE) ? "*" : port,
	    sizeof(a.port));
	ctl_strlcpy(a.device_id, (rq->flags & CTL_CLIF_PORT) ? "*" : devid,
	    sizeof(a.device_id));
	a.mode = (rq->flags & CTL_CLIF_REQUIRED) ? POL_MODE_REQUIRED :
	    (rq->flags & CTL_CLIF_ASK) ? POL_MODE_ASK : POL_MODE_AUTO;
	if (want_pids && !parse_pids(rq->args[2], &a)) {
		cli_result(g, c, CTL_ST_USAGE, "", "bad --allow-pid list "
		    "'%.40s' (want PPPP[,PPPP]..., hex)", rq->args[2]);
		return;
	}
	if (pol_assign_validate(&a, msg, sizeof(msg)) != POL_OK) {
		cli_result(g, c, CTL_ST_USAGE, "", "cannot assign: %s", msg);
		return;
	}
	if (pol_assign_add(&g->assign, &a) != POL_OK ||
	    pol_assign_save(&g->assign) != POL_OK) {
		pol_assign_remove(&g->assign, a.vm, a.backend, a.port,
		    a.device_id);
		cli_result(g, c, CTL_ST_ERROR, "", "cannot save the assignment "
		    "in %s", g->assign.path);
		return;
	}
	log_info("assigned %s:%s:%s to %s (%s)", a.backend, a.port,
	    a.device_id, a.vm, pol_assign_mode_name(a.mode));

	/* Tell the person now if policy will refuse it. */
	if (d != NULL)
		pd = d->pdev;
	else if (strcmp(a.device_id, "*") != 0 &&
	    pol_devid_parse(a.device_id, &pid) == POL_OK) {
		pol_devid_to_device(&pid, &pd);
		ctl_strlcpy(pd.backend, a.backend, sizeof(pd.backend));
		ctl_strlcpy(pd.busid, strcmp(port, "*") ? port : "",
		    sizeof(pd.busid));
	} else
		memset(&pd, 0, sizeof(pd));
	if (pd.backend[0] != '\0' || d != NULL) {
		const char *tags[GATED_TAGS_MAX];
		struct pol_verdict v;
		struct pol_vm pv;

		vm_of(g, a.vm, &pv, tags);
		pol_check(&g->rules, &pd, &pv, &v);
		if (v.rule != NULL)
			pol_rule_describe(v.rule, rule, sizeof(rule));
		if (v.decision == POL_DENY || v.decision == POL_NO_MATCH)
			cli_result(g, c, CTL_ST_OK, rule, "Warning: policy "
			    "denies this device for %s (%s)", a.vm,
			    v.rule ? rule : "no rule matches");
		else if (v.n_refused > 0)
			cli_result(g, c, CTL_ST_OK, rule, "Warning: %d "
			    "interface(s) will be hidden from %s (%s)",
			    v.n_refused, a.vm, rule);
	}
	if (d != NULL && d->sess == NULL) {
		struct gpeer *fe = gated_peer(g, a.vm, CTL_ROLE_FRONTEND);

		if (fe->conn != NULL)
			cli_result(g, c, CTL_ST_OK, "", "Assigned. To attach "
			    "you can now restart domain or run: qvm-usb attach "
			    "%s %s:%s", a.vm, a.backend, port);
		else
			cli_result(g, c, CTL_ST_OK, "", "Assigned.");
	} else
		cli_result(g, c, CTL_ST_OK, "", "Assigned.");
}

static void
do_unassign(struct gated *g, struct gcli *c, const struct ctl_cli_request *rq)
{
	char backend[CTL_NAME_MAX + 1], port[CTL_BUSID_MAX + 1];
	char devid[POL_DEVID_MAX + 1];
	const char *p_port, *p_id;
	struct gdev *d;
	int n;

	if (rq->nargs < 1 || rq->nargs > 2) {
		cli_result(g, c, CTL_ST_USAGE, "", "unassign needs VM "
		    "[BACKEND:PORT[:DEVICE_ID]]");
		return;
	}
	if (rq->nargs == 1) {
		n = pol_assign_remove(&g->assign, rq->args[0], NULL, NULL,
		    NULL);
	} else {
		if (!parse_devspec(rq->args[1], backend, port, devid)) {
			cli_result(g, c, CTL_ST_USAGE, "", "bad device "
			    "'%.80s'", rq->args[1]);
			return;
		}
		d = core_find_dev(g, backend, port);
		if (devid[0] == '\0' && d != NULL)
			ctl_strlcpy(devid, d->device_id, sizeof(devid));
		if (rq->flags & CTL_CLIF_PORT) {
			p_port = port;
			p_id = "*";
		} else if (rq->flags & CTL_CLIF_DEVICE) {
			if (devid[0] == '\0') {
				cli_result(g, c, CTL_ST_NOT_FOUND, "", "no device "
				    "in %s:%s; give its id", backend, port);
				return;
			}
			p_port = "*";
			p_id = devid;
		} else {
			p_port = port;
			p_id = rq->args[1][strlen(backend) + 1 + strlen(port)]
			    == ':' && devid[0] ? devid : NULL;
		}
		n = pol_assign_remove(&g->assign, rq->args[0], backend, p_port,
		    p_id);
	}
	if (n == 0) {
		cli_result(g, c, CTL_ST_NOT_FOUND, "", "no such assignment for "
		    "%s", rq->args[0]);
		return;
	}
	if (pol_assign_save(&g->assign) != POL_OK) {
		cli_result(g, c, CTL_ST_ERROR, "", "cannot save assignments; "
		    "the change is lost at restart");
		return;
	}
	cli_result(g, c, CTL_ST_OK, "", "Removed %d assignment(s).", n);
}

static void
decision_fields(struct gated *g, const struct pol_device *pd, const char *vm,
    struct ctl_cli_row *row, struct pol_verdict *v, char *rule, size_t size)
{
	const char *tags[GATED_TAGS_MAX];
	char buf[CTL_CLI_VALUE_MAX + 1];
	struct pol_vm pv;
	size_t len = 0;
	int i;

	vm_of(g, vm, &pv, tags);
	pol_check(&g->rules, pd, &pv, v);
	rule[0] = '\0';
	if (v->rule != NULL)
		pol_rule_describe(v->rule, rule, size);
	ctl_row_add(row, "decision", g->rules_ok ?
	    pol_decision_name(v->decision) : "deny (rules have errors)");
	ctl_row_add(row, "rule", rule);
	buf[0] = '\0';
	for (i = 0; i < v->n_refused; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u",
		    i ? "," : "", v->refused[i]);
	ctl_row_add(row, "refused_interfaces", buf);
	buf[0] = '\0';
	for (i = 0, len = 0; i < v->n_refused_alts; i++) {
		int n = snprintf(buf + len, sizeof(buf) - len, "%s%u.%u",
		    i ? "," : "", v->refused_alts[i][0], v->refused_alts[i][1]);

		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			break;
		len += (size_t)n;
	}
	ctl_row_add(row, "refused_alternate_settings", buf);
}

static void
do_info(struct gated *g, struct gcli *c, const struct ctl_cli_request *rq)
{
	char devid[POL_DEVID_MAX + 1], buf[CTL_CLI_VALUE_MAX + 1];
	char rule[512];
	struct ctl_cli_row row;
	struct pol_verdict v;
	struct gdev *d;

	if (rq->nargs != 2) {
		cli_result(g, c, CTL_ST_USAGE, "", "info needs VM and "
		    "BACKEND:PORT");
		return;
	}
	if ((d = lookup_dev(g, c, rq->args[1], devid)) == NULL)
		return;
	dev_row(g, d, &row);
	ctl_row_add(&row, "manufacturer", d->info.manufacturer);
	ctl_row_add(&row, "product", d->info.product);
	ifaces_text(&d->pdev, buf, sizeof(buf));
	ctl_row_add(&row, "interfaces", buf);
	alts_text(&d->pdev, buf, sizeof(buf));
	ctl_row_add(&row, "interface_descriptors", buf);
	snprintf(buf, sizeof(buf), "%s", d->info.auto_attach);
	ctl_row_add(&row, "udev_auto_attach", buf);
	ctl_row_add(&row, "reset_on_attach",
	    d->info.flags & CTL_DEV_F_RESET ? "yes" : "no");
	ctl_row_add(&row, "vm", rq->args[0]);
	decision_fields(g, &d->pdev, rq->args[0], &row, &v, rule,
	    sizeof(rule));
	cli_row(c, &row);
}

static void
do_policy_test(struct gated *g, struct gcli *c,
    const struct ctl_cli_request *rq)
{
	char devid[POL_DEVID_MAX + 1], rule[512];
	struct ctl_cli_row row;
	struct pol_verdict v;
	struct gdev *d;

	if (rq->nargs != 2) {
		cli_result(g, c, CTL_ST_USAGE, "", "policy test needs DEVICE "
		    "and VM");
		return;
	}
	if ((d = lookup_dev(g, c, rq->args[0], devid)) == NULL)
		return;
	memset(&row, 0, sizeof(row));
	snprintf(rule, sizeof(rule), "%s:%s", d->backend->conf.name,
	    d->info.busid);
	ctl_row_add(&row, "device", rule);
	ctl_row_add(&row, "device_id", d->device_id);
	ctl_row_add(&row, "description", d->desc);
	ctl_row_add(&row, "vm", rq->args[1]);
	decision_fields(g, &d->pdev, rq->args[1], &row, &v, rule,
	    sizeof(rule));
	cli_row(c, &row);
	if (!g->rules_ok)
		cli_result(g, c, CTL_ST_POLICY, "", "%s", g->rules_error);
	else if (v.decision == POL_ALLOW)
		cli_result(g, c, CTL_ST_OK, rule, "allow");
	else
		cli_result(g, c, CTL_ST_DENIED, rule, "%s",
		    pol_decision_name(v.decision));
}

static void
do_reload(struct gated *g, struct gcli *c)
{
	struct pol_diags dg;
	struct ctl_cli_row row;
	char buf[512];
	int i, r;

	memset(&dg, 0, sizeof(dg));
	r = gated_reload_rules(g, &dg);
	for (i = 0; i < dg.n; i++) {
		memset(&row, 0, sizeof(row));
		pol_diag_format(&dg.d[i], buf, sizeof(buf));
		ctl_row_add(&row, "error", buf);
		cli_row(c, &row);
	}
	if (r != POL_OK) {
		cli_result(g, c, CTL_ST_POLICY, "", "%d error(s) in the rules; "
		    "%s", dg.total, g->rules_ok ? "the previous rules stay in "
		    "force" : "everything is denied");
		return;
	}
	cli_result(g, c, CTL_ST_OK, "", "loaded %zu rule(s)", g->rules.n);
}

static void
do_resume(struct gated *g, struct gcli *c, const struct ctl_cli_request *rq)
{
	int i, n = 0;

	for (i = 0; i < g->n_peers; i++) {
		struct gpeer *p = &g->peers[i];

		if (p->conf.role != CTL_ROLE_FRONTEND || p->conn == NULL ||
		    !ctl_conn_ready(p->conn))
			continue;
		if (rq->nargs > 0 && !vm_listed(rq, p->conf.name))
			continue;
		core_auto_attach_vm(g, p);
		n++;
	}
	cli_result(g, c, CTL_ST_OK, "", "auto-attach run for %d VM(s)", n);
}

static void
do_status(struct gated *g, struct gcli *c)
{
	struct ctl_cli_row row;
	struct gsess *s;
	char buf[64];
	int i;

	for (i = 0; i < g->n_peers; i++) {
		struct gpeer *p = &g->peers[i];

		memset(&row, 0, sizeof(row));
		ctl_row_add(&row, "kind", p->conf.role == CTL_ROLE_BACKEND ?
		    "backend" : "vm");
		ctl_row_add(&row, "name", p->conf.name);
		ctl_row_add(&row, "channel", p->uri[0] != '\0' ? p->uri :
		    p->conf.uri);
		ctl_row_add(&row, "state", p->conn == NULL ? "disconnected" :
		    ctl_conn_ready(p->conn) ? "connected" : "hello");
		if (p->conf.role == CTL_ROLE_BACKEND) {
			snprintf(buf, sizeof(buf), "%d", p->n_devs);
			ctl_row_add(&row, "devices", buf);
		}
		cli_row(c, &row);
	}
	for (s = g->sessions; s != NULL; s = s->next) {
		static const char *const st[] = { "asking", "serving",
		    "importing", "attached", "stopping" };

		memset(&row, 0, sizeof(row));
		ctl_row_add(&row, "kind", "session");
		snprintf(buf, sizeof(buf), "%llx", (unsigned long long)s->id);
		ctl_row_add(&row, "name", buf);
		snprintf(buf, sizeof(buf), "%s:%s", s->backend->conf.name,
		    s->busid);
		ctl_row_add(&row, "device", buf);
		ctl_row_add(&row, "vm", s->vm);
		ctl_row_add(&row, "state", st[s->state]);
		ctl_row_add(&row, "channel", s->data ? s->data->conf.backend_uri
		    : "");
		cli_row(c, &row);
	}
	cli_result(g, c, CTL_ST_OK, "", "%zu rule(s)%s, %zu assignment(s)",
	    g->rules.n, g->rules_ok ? "" : " (errors: everything denied)",
	    g->assign.n);
}

void
cli_request(struct gated *g, struct gcli *c, const struct ctl_msg *m)
{
	const struct ctl_cli_request *rq = &m->u.cli_request;

	c->in_request = 1;
	c->status = CTL_ST_OK;
	c->message[0] = c->rule[0] = '\0';
	switch (rq->cmd) {
	case CTL_CLI_LIST:
		do_list(g, c, rq);
		break;
	case CTL_CLI_ATTACH:
		do_attach(g, c, rq);
		break;
	case CTL_CLI_DETACH:
		do_detach(g, c, rq);
		break;
	case CTL_CLI_ASSIGN:
		do_assign(g, c, rq);
		break;
	case CTL_CLI_UNASSIGN:
		do_unassign(g, c, rq);
		break;
	case CTL_CLI_INFO:
		do_info(g, c, rq);
		break;
	case CTL_CLI_POLICY_TEST:
		do_policy_test(g, c, rq);
		break;
	case CTL_CLI_RELOAD:
		do_reload(g, c);
		break;
	case CTL_CLI_RESUME:
		do_resume(g, c, rq);
		break;
	case CTL_CLI_STATUS:
		do_status(g, c);
		break;
	default:
		cli_result(g, c, CTL_ST_USAGE, "", "unknown command");
	}
	c->in_request = 0;
	if (c->waiting == 0)
		cli_finish(g, c);
}
