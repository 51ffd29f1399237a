/*
 * qvm_usb.c: usbgate run as qvm-usb, which behaves as Qubes R4.3's
 * "qvm-device usb" (qubesadmin/tools/qvm_device.py): its commands and
 * aliases, its common options (-v, -q, -h, --list-device-classes), its
 * checks on VM and device names before anything is asked, its messages
 * ("qvm-usb: error: ...") and its exit codes: 0 done, 1 the request failed,
 * 2 the command line is wrong (unknown VM included). usbgate's own
 * commands and options (policy, status, --json, ...) are refused here;
 * doc/qvm-usb.md lists every difference left and why.
 *
 * Owns the Qubes-side parsing only: requests and the device list are
 * tools/usbgate.c's (usbgate_cli.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usbgate_cli.h"

#define QU_OK		0
#define QU_FAILED	1	/* Qubes' QubesException, error_runtime */
#define QU_USAGE	2	/* argparse's parser.error */

#define QU_USAGE_LINE	"usage: qvm-usb [--verbose] [--quiet] [--help] " \
	"[--list-device-classes] {list,ls,l,attach,at,a,detach,d,dt,assign," \
	"s,unassign,u,info,i} ..."

static const struct qu_command {
	const char *name, *aliases[2];
	const char *usage;	/* after "qvm-usb NAME" */
	const char *help;
} qu_commands[] = {
	{ "list", { "ls", "l" },
	  "[-h] [--assignments] [--with-sbdf] [--all] [--exclude EXCLUDE] "
	  "[VMNAME ...]", "list devices" },
	{ "attach", { "at", "a" },
	  "[-h] [--option OPTION] [--ro] [--persistent] [--force] VMNAME "
	  "BACKEND:DEVICE_ID", "Attach device to domain" },
	{ "detach", { "d", "dt" }, "[-h] VMNAME [BACKEND:DEVICE_ID]",
	  "Detach device from domain" },
	{ "assign", { "s", NULL },
	  "[-h] [--option OPTION] [--ro] [--ask | --required] "
	  "[--port | --device] VMNAME BACKEND:DEVICE_ID",
	  "Assign device to domain or edit existing assignment" },
	{ "unassign", { "u", NULL },
	  "[-h] [--port | --device] VMNAME [BACKEND:DEVICE_ID]",
	  "Remove assignment of device from domain" },
	{ "info", { "i", NULL }, "[-h] [BACKEND:DEVICE_ID]",
	  "Show info about device from domain" },
};

static int qu_quiet;
static const struct qu_command *qu_cmd;

static void
qu_print_error(const char *fmt, va_list ap)
{
	fputs("qvm-usb: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* argparse's parser.error: usage line, message, exit 2. */
static int
qu_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
qu_usage_error(const char *fmt, ...)
{
	va_list ap;

	if (qu_cmd != NULL)
		fprintf(stderr, "usage: qvm-usb %s %s\n", qu_cmd->name,
		    qu_cmd->usage);
	else
		fprintf(stderr, "%s\n", QU_USAGE_LINE);
	va_start(ap, fmt);
	qu_print_error(fmt, ap);
	va_end(ap);
	return QU_USAGE;
}

/* A QubesException: the message, exit 1. */
static int
qu_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
qu_failed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	qu_print_error(fmt, ap);
	va_end(ap);
	return QU_FAILED;
}

/* usbgated's answer in Qubes' terms. */
static int
qu_status(const struct ctl_cli_done *done, int say_ok)
{
	if (done->status == CTL_ST_OK) {
		if (say_ok && !qu_quiet && done->message[0] != '\0')
			printf("%s\n", done->message);
		return QU_OK;
	}
	if (done->status == CTL_ST_USAGE)
		return qu_usage_error("%s", done->message);
	return qu_failed("%s", done->message[0] ? done->message :
	    ctl_status_name(done->status));
}

/* ---- what Qubes checks before it asks ---------------------------------- */

struct qu_world {
	struct rows doms;	/* usbgated's status: backends and VMs */
	struct rows devs;	/* every device (and assignment with -s) */
};

static int
qu_world_load(struct qu_world *w, uint32_t list_flags)
{
	struct ctl_cli_done done;

	memset(w, 0, sizeof(*w));
	if (cli_request(CTL_CLI_STATUS, 0, 0, NULL, &w->doms, &done) !=
	    CTL_ST_OK || cli_request(CTL_CLI_LIST, list_flags | CTL_CLIF_ALL,
	    0, NULL, &w->devs, &done) != CTL_ST_OK)
		return qu_status(&done, 0);
	return QU_OK;
}

static void
qu_world_free(struct qu_world *w)
{
	free(w->doms.r);
	free(w->devs.r);
}

/* A domain usbgated knows (dom0 is one, as in Qubes). */
static int
qu_domain(const struct qu_world *w, const char *name, int backend_only)
{
	size_t i;

	if (!backend_only && strcmp(name, "dom0") == 0)
		return 1;
	for (i = 0; i < w->doms.n; i++) {
		const char *kind = cli_get(&w->doms.r[i], "kind");

		if ((strcmp(kind, "backend") == 0 || (!backend_only &&
		    strcmp(kind, "vm") == 0)) &&
		    strcmp(cli_get(&w->doms.r[i], "name"), name) == 0)
			return 1;
	}
	return 0;
}

static int
qu_vm_check(const struct qu_world *w, const char *vm)
{
	if (!qu_domain(w, vm, 0))
		return qu_usage_error("no such domain: '%s'", vm);
	return QU_OK;
}

/* The device row of BACKEND:PORT, or NULL. */
static const struct ctl_cli_row *
qu_device(const struct qu_world *w, const char *backend, const char *port)
{
	size_t i;

	for (i = 0; i < w->devs.n; i++)
		if (strcmp(cli_get(&w->devs.r[i], "backend"), backend) == 0 &&
		    strcmp(cli_get(&w->devs.r[i], "port"), port) == 0 &&
		    strcmp(cli_get(&w->devs.r[i], "present"), "no") != 0)
			return &w->devs.r[i];
	return NULL;
}

/*
 * Qubes' DeviceAction: BACKEND:PORT[:DEVICE_ID] names a known backend and,
 * unless unknown devices are allowed, a device it exposes.
 */
static int
qu_device_check(const struct qu_world *w, const char *spec, int allow_unknown,
    char backend[64], char port[64])
{
	const char *colon = strchr(spec, ':');
	size_t blen;

	if (colon == NULL || colon == spec || colon[1] == '\0')
		return qu_usage_error("expected a backend vm, port id and "
		    "[optional] device id combination like foo:bar[:baz] got "
		    "%s", spec);
	blen = (size_t)(colon - spec);
	snprintf(backend, 64, "%.*s", (int)(blen < 63 ? blen : 63), spec);
	snprintf(port, 64, "%.*s", (int)strcspn(colon + 1, ":"), colon + 1);
	if (!qu_domain(w, backend, 0))
		return qu_failed("no such backend vm!");
	if (!allow_unknown && qu_device(w, backend, port) == NULL)
		return qu_failed("backend vm %s doesn't expose usb device '%s'",
		    backend, port);
	return QU_OK;
}

/* ---- the commands -------------------------------------------------------- */

struct qu_opts {
	int assignments, all, ro, persistent, force, ask, required, port,
	    device;
	const char *excludes[16], *option;
	int n_excludes;
	char *pos[4];
	int npos;
};

/* Options of every command, as argparse takes them; 0 or an exit code. */
static int
qu_parse(int argc, char **argv, struct qu_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			printf("usage: qvm-usb %s %s\n\n%s\n", qu_cmd->name,
			    qu_cmd->usage, qu_cmd->help);
			exit(QU_OK);
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
			continue;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			qu_quiet++;
		else if (strcmp(a, "-s") == 0 ||
		    strcmp(a, "--assignments") == 0)
			o->assignments = 1;
		else if (strcmp(a, "--with-sbdf") == 0 ||
		    strcmp(a, "--resolve-paths") == 0)
			continue;	/* PCI only: ignored for USB */
		else if (strcmp(a, "--all") == 0)
			o->all = 1;
		else if (strcmp(a, "--exclude") == 0 && i + 1 < argc &&
		    o->n_excludes < 16)
			o->excludes[o->n_excludes++] = argv[++i];
		else if (strcmp(a, "--ro") == 0)
			o->ro = 1;
		else if ((strcmp(a, "-o") == 0 ||
		    strcmp(a, "--option") == 0) && i + 1 < argc)
			o->option = argv[++i];
		else if (strcmp(a, "-p") == 0 ||
		    strcmp(a, "--persistent") == 0)
			o->persistent = 1;
		else if (strcmp(a, "-f") == 0 || strcmp(a, "--force") == 0)
			o->force = 1;
		else if (strcmp(a, "--ask") == 0 ||
		    strcmp(a, "--ask-to-attach") == 0)
			o->ask = 1;
		else if (strcmp(a, "-r") == 0 || strcmp(a, "--required") == 0)
			o->required = 1;
		else if (strcmp(a, "--port") == 0 ||
		    strcmp(a, "--only-port") == 0)
			o->port = 1;
		else if (strcmp(a, "--device") == 0 ||
		    strcmp(a, "--only-device") == 0)
			o->device = 1;
		else if (a[0] == '-' && a[1] != '\0')
			return qu_usage_error("unrecognized arguments: %s", a);
		else if (o->npos < 4)
			o->pos[o->npos++] = argv[i];
		else
			return qu_usage_error("unrecognized arguments: %s", a);
	}
	if (o->ask && o->required)
		return qu_usage_error("argument --required/-r: not allowed "
		    "with argument --ask/--ask-to-attach");
	if (o->port && o->device)
		return qu_usage_error("argument --device/--only-device: not "
		    "allowed with argument --port/--only-port");
	return QU_OK;
}

/* Options a command does not take: argparse's "unrecognized arguments". */
static int
qu_only(const struct qu_opts *o, const char *allowed)
{
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
		{ "--assignments", offsetof(struct qu_opts, assignments) },
		{ "--all", offsetof(struct qu_opts, all) },
		{ "--ro", offsetof(struct qu_opts, ro) },
		{ "--persistent", offsetof(struct qu_opts, persistent) },
		{ "--force", offsetof(struct qu_opts, force) },
		{ "--ask", offsetof(struct qu_opts, ask) },
		{ "--required", offsetof(struct qu_opts, required) },
		{ "--port", offsetof(struct qu_opts, port) },
		{ "--device", offsetof(struct qu_opts, device) },
	};
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (*(const int *)((const char *)o + flags[i].off) &&
		    strstr(allowed, flags[i].name) == NULL)
			return qu_usage_error("unrecognized arguments: %s",
			    flags[i].name);
	if (o->n_excludes && strstr(allowed, "--exclude") == NULL)
		return qu_usage_error("unrecognized arguments: --exclude");
	if (o->option && strstr(allowed, "--option") == NULL)
		return qu_usage_error("unrecognized arguments: --option");
	return QU_OK;
}

static int
qu_excluded(const struct qu_opts *o, const char *vm)
{
	int i;

	for (i = 0; i < o->n_excludes; i++)
		if (strcmp(o->excludes[i], vm) == 0)
			return 1;
	return 0;
}

/* A device belongs to VM if VM exposes it, uses it, or (-s) has it assigned. */
static int
qu_row_of(const struct ctl_cli_row *row, const char *vm, int assignments)
{
	const char *as = cli_get(row, "assignments"), *p;
	size_t n = strlen(vm);

	if (strcmp(cli_get(row, "backend"), vm) == 0 ||
	    strcmp(cli_get(row, "used_by"), vm) == 0)
		return 1;
	for (p = as; assignments && (p = strstr(p, vm)) != NULL; p += n)
		if ((p == as || p[-1] == ',') && p[n] == ':')
			return 1;
	return 0;
}

/* A command's shape: its options, positionals, and what names it takes. */
struct qu_shape {
	const char *allowed;	/* options it takes (qu_only) */
	int min, max;		/* positionals */
	int has_vm;		/* the first is a VM */
	int allow_unknown;	/* the device may be absent (DeviceAction) */
	const char *required;	/* argparse's list of required arguments */
};

/*
 * Options and positionals, then the checks Qubes makes before it asks:
 * the VM exists, the device's backend does and (unless allowed) exposes
 * it. QU_OK with w loaded (the caller frees it), or an exit code.
 */
static int
qu_prepare(int argc, char **argv, const struct qu_shape *sh,
    struct qu_opts *o, struct qu_world *w, char backend[64], char port[64])
{
	int r;

	backend[0] = port[0] = '\0';
	if ((r = qu_parse(argc, argv, o)) != QU_OK ||
	    (r = qu_only(o, sh->allowed)) != QU_OK)
		return r;
	if (o->npos < sh->min)
		return qu_usage_error("the following arguments are required: "
		    "%s", sh->required);
	if (o->npos > sh->max)
		return qu_usage_error("unrecognized arguments: %s",
		    o->pos[sh->max]);
	if ((r = qu_world_load(w, 0)) != QU_OK)
		return r;
	if ((sh->has_vm && (r = qu_vm_check(w, o->pos[0])) != QU_OK) ||
	    (o->npos > sh->has_vm && (r = qu_device_check(w,
	    o->pos[sh->has_vm], sh->allow_unknown, backend, port)) != QU_OK)) {
		qu_world_free(w);
		return r;
	}
	return QU_OK;
}

static int
qu_list(int argc, char **argv)
{
	struct qu_opts o;
	struct qu_world w;
	struct rows keep = { NULL, 0, 0 };
	size_t i;
	int r, j;

	if ((r = qu_parse(argc, argv, &o)) != QU_OK ||
	    (r = qu_only(&o, "--assignments --all --exclude")) != QU_OK)
		return r;
	if (o.n_excludes && !o.all)
		return qu_usage_error("--exclude can only be used with --all");
	if (o.all && o.npos > 0)
		return qu_usage_error("argument VMNAME: not allowed with "
		    "argument --all");
	if ((r = qu_world_load(&w, o.assignments ? CTL_CLIF_ASSIGNMENTS :
	    0)) != QU_OK)
		return r;
	for (j = 0; j < o.npos; j++)
		if ((r = qu_vm_check(&w, o.pos[j])) != QU_OK) {
			qu_world_free(&w);
			return r;
		}
	keep.r = calloc(w.devs.n + 1, sizeof(*keep.r));
	if (keep.r == NULL) {
		qu_world_free(&w);
		return qu_failed("out of memory");
	}
	for (i = 0; i < w.devs.n; i++) {
		const struct ctl_cli_row *row = &w.devs.r[i];
		int want = o.npos == 0;

		/* Without -s only devices present, as Qubes lists them. */
		if (!o.assignments &&
		    strcmp(cli_get(row, "present"), "no") == 0)
			continue;
		for (j = 0; j < o.npos && !want; j++)
			want = qu_row_of(row, o.pos[j], o.assignments);
		if (o.all && (qu_excluded(&o, cli_get(row, "backend")) ||
		    (cli_get(row, "used_by")[0] != '\0' &&
		    qu_excluded(&o, cli_get(row, "used_by")))))
			want = 0;
		if (want)
			keep.r[keep.n++] = *row;
	}
	cli_list_print(&keep, o.assignments);
	free(keep.r);
	qu_world_free(&w);
	return QU_OK;
}

static int
qu_attach(int argc, char **argv)
{
	static const struct qu_shape sh = { "--ro --option --persistent "
	    "--force", 2, 2, 1, 0, "VMNAME, BACKEND:DEVICE_ID" };
	struct ctl_cli_done done;
	struct qu_opts o;
	struct qu_world w;
	char backend[64], port[64];
	int r;

	if ((r = qu_prepare(argc, argv, &sh, &o, &w, backend, port)) != QU_OK)
		return r;
	qu_world_free(&w);
	if (o.ro || o.option != NULL)
		return qu_failed("USB device attach does not support user "
		    "options");
	if (strcmp(o.pos[0], "dom0") == 0)
		return qu_failed("dom0 never receives USB devices");
	cli_request(CTL_CLI_ATTACH, o.persistent ? CTL_CLIF_PERSISTENT : 0,
	    2, o.pos, NULL, &done);
	return qu_status(&done, 0);
}

static int
qu_detach(int argc, char **argv)
{
	static const struct qu_shape sh = { "", 1, 2, 1, 1, "VMNAME" };
	struct ctl_cli_done done;
	struct qu_opts o;
	struct qu_world w;
	char backend[64], port[64], spec[160];
	char *args[2];
	size_t i;
	int r, n = 0;

	if ((r = qu_prepare(argc, argv, &sh, &o, &w, backend, port)) != QU_OK)
		return r;
	args[0] = o.pos[0];
	if (o.npos == 1 || strcmp(port, "*") != 0) {
		const struct ctl_cli_row *row = o.npos == 2 ?
		    qu_device(&w, backend, port) : NULL;

		if (o.npos == 2 && (row == NULL || strcmp(cli_get(row,
		    "used_by"), o.pos[0]) != 0)) {
			qu_world_free(&w);
			return qu_failed("%s is not attached.", o.pos[1]);
		}
		qu_world_free(&w);
		cli_request(CTL_CLI_DETACH, 0, o.npos, o.pos, NULL, &done);
		return qu_status(&done, 0);
	}
	/* BACKEND:*: every device of that backend the VM uses. */
	for (i = 0; i < w.devs.n; i++) {
		const struct ctl_cli_row *row = &w.devs.r[i];

		if (strcmp(cli_get(row, "backend"), backend) != 0 ||
		    strcmp(cli_get(row, "used_by"), o.pos[0]) != 0)
			continue;
		snprintf(spec, sizeof(spec), "%s", cli_get(row, "device"));
		args[1] = spec;
		cli_request(CTL_CLI_DETACH, 0, 2, args, NULL, &done);
		if ((r = qu_status(&done, 0)) != QU_OK) {
			qu_world_free(&w);
			return r;
		}
		n++;
	}
	qu_world_free(&w);
	if (n == 0)
		return qu_failed("%s is not attached.", o.pos[1]);
	return QU_OK;
}

static int
qu_assign(int argc, char **argv, int unassign)
{
	static const struct qu_shape assign = { "--ro --option --ask "
	    "--required --port --device", 2, 2, 1, 1,
	    "VMNAME, BACKEND:DEVICE_ID" };
	static const struct qu_shape unassign_sh = { "--port --device", 1, 2,
	    1, 1, "VMNAME" };
	struct ctl_cli_done done;
	struct qu_opts o;
	struct qu_world w;
	char backend[64], port[64];
	uint32_t flags = 0;
	int r;

	if ((r = qu_prepare(argc, argv, unassign ? &unassign_sh : &assign, &o,
	    &w, backend, port)) != QU_OK)
		return r;
	qu_world_free(&w);
	if (o.ro || o.option != NULL)
		return qu_failed("USB device assignment does not support user "
		    "options");
	flags |= o.ask ? CTL_CLIF_ASK : 0;
	flags |= o.required ? CTL_CLIF_REQUIRED : 0;
	flags |= o.port ? CTL_CLIF_PORT : 0;
	flags |= o.device ? CTL_CLIF_DEVICE : 0;
	cli_request(unassign ? CTL_CLI_UNASSIGN : CTL_CLI_ASSIGN, flags,
	    o.npos, o.pos, NULL, &done);
	return qu_status(&done, 1);
}

static int
qu_info(int argc, char **argv)
{
	static const struct qu_shape sh = { "", 0, 1, 0, 0, "" };
	const struct ctl_cli_row *row;
	struct qu_opts o;
	struct qu_world w;
	char backend[64], port[64];
	int r;

	if ((r = qu_prepare(argc, argv, &sh, &o, &w, backend, port)) != QU_OK)
		return r;
	if (o.npos == 0) {
		qu_world_free(&w);
		return QU_OK;	/* Qubes prints nothing */
	}
	row = qu_device(&w, backend, port);
	printf("%s\n", cli_get(row, "description"));
	printf("device ID: %s\n", cli_get(row, "device_id"));
	qu_world_free(&w);
	return QU_OK;
}

int
qvm_usb_main(int argc, char **argv)
{
	size_t i;
	int a;

	/* Anywhere on the line, as Qubes' main() looks for it. */
	for (a = 1; a < argc; a++)
		if (strcmp(argv[a], "--list-device-classes") == 0 ||
		    strcmp(argv[a], "--list-classes") == 0) {
			printf("usb\n");
			return QU_OK;
		}
	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "-v") == 0 ||
		    strcmp(argv[a], "--verbose") == 0 ||
		    strcmp(argv[a], "--force-root") == 0)
			continue;
		if (strcmp(argv[a], "-q") == 0 ||
		    strcmp(argv[a], "--quiet") == 0) {
			qu_quiet++;
			continue;
		}
		if (strcmp(argv[a], "-h") == 0 ||
		    strcmp(argv[a], "--help") == 0) {
			printf("%s\n\nQubes volume and block device management"
			    "\n\ncommands:\n", QU_USAGE_LINE);
			for (i = 0; i < sizeof(qu_commands) /
			    sizeof(qu_commands[0]); i++)
				printf("    %-10s %s\n", qu_commands[i].name,
				    qu_commands[i].help);
			return QU_OK;
		}
		if (strcmp(argv[a], "--version") == 0) {
			printf("qvm-usb (usbgate) %s\n", PACKAGE_VERSION);
			return QU_OK;
		}
		/* usbgated's socket (usbgate's option, kept for tests). */
		if (strncmp(argv[a], "--socket=", 9) == 0) {
			sock_path = argv[a] + 9;
			continue;
		}
		if (strcmp(argv[a], "--socket") == 0 && a + 1 < argc) {
			sock_path = argv[++a];
			continue;
		}
		return qu_usage_error("unrecognized arguments: %s", argv[a]);
	}
	if (a >= argc) {
		/* qvm-usb alone lists, as in Qubes. */
		qu_cmd = &qu_commands[0];
		return qu_list(1, (char *[]){ (char *)"list", NULL });
	}
	for (i = 0; i < sizeof(qu_commands) / sizeof(qu_commands[0]); i++) {
		const struct qu_command *c = &qu_commands[i];

		if (strcmp(argv[a], c->name) != 0 &&
		    (c->aliases[0] == NULL || strcmp(argv[a], c->aliases[0])) &&
		    (c->aliases[1] == NULL || strcmp(argv[a], c->aliases[1])))
			continue;
		qu_cmd = c;
		switch (i) {
		case 0:
			return qu_list(argc - a, argv + a);
		case 1:
			return qu_attach(argc - a, argv + a);
		case 2:
			return qu_detach(argc - a, argv + a);
		case 3:
		case 4:
			return qu_assign(argc - a, argv + a, i == 4);
		default:
			return qu_info(argc - a, argv + a);
		}
	}
	return qu_usage_error("argument command: invalid choice: '%s' (choose "
	    "from 'list', 'ls', 'l', 'attach', 'at', 'a', 'detach', 'd', "
	    "'dt', 'assign', 's', 'unassign', 'u', 'info', 'i')", argv[a]);
}
