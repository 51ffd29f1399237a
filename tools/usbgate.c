/*
 * usbgate.c: the dom0 command line, usbgate(8). Run as qvm-usb it is
 * Qubes' qvm-device usb instead (tools/qvm_usb.c, doc/qvm-usb.md).
 *
 *   usbgate [--socket PATH] [--json] COMMAND [ARGS]
 *
 * Owns nothing but one connection to usbgated, except for "policy check"
 * and the offline form of "policy test", which read rule files directly.
 * Exit codes are enum ctl_status (doc/control-protocol.md section 8), so
 * scripts can rely on them: 0 ok, 2 usage, 3 not found, 4 denied, 5 busy,
 * 6 usbgated or VM unreachable, 7 failed, 8 timeout, 9 rule errors.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_peer.h"
#include "identity.h"
#include "rules.h"
#include "usbgate_cli.h"
#include "usbgate_json.h"
#include "usbguard_import.h"

#define DEFAULT_SOCKET	"/run/usbgate/usbgated.sock"
#define DEFAULT_RULES	USBGATE_CONFDIR "/rules.d"
#define REPLY_TIMEOUT_MS	(300 * 1000)

static const char *progname = "usbgate";
const char *sock_path;
int json;
static const char *json_cmd = "";	/* the command, for --json */
static char last_err[512];		/* the last err(), for --json */

struct command {
	const char *name;
	const char *aliases[3];
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static void
err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_err, sizeof(last_err), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", progname, last_err);
}

/* ---- rows ------------------------------------------------------------------- */

static void
rows_push(struct rows *rs, const struct ctl_cli_row *row)
{
	if (rs->n == rs->cap) {
		size_t ncap = rs->cap ? rs->cap * 2 : 64;
		struct ctl_cli_row *nr = realloc(rs->r, ncap * sizeof(*nr));

		if (nr == NULL) {
			err("out of memory");
			exit(CTL_ST_ERROR);
		}
		rs->r = nr;
		rs->cap = ncap;
	}
	rs->r[rs->n++] = *row;
}

static const char *
get(const struct ctl_cli_row *row, const char *key)
{
	const char *v = ctl_row_get(row, key);

	return v ? v : "";
}

const char *
cli_get(const struct ctl_cli_row *row, const char *key)
{
	return get(row, key);
}

/* ---- talking to usbgated ------------------------------------------------------ */

/*
 * Send one request, collect its rows, return its status (also printing the
 * message to stderr on failure unless quiet).
 */
static int
request(uint16_t cmd, uint32_t flags, int nargs, char **args, struct rows *rs,
    struct ctl_cli_done *done)
{
	struct ctl_conn *c;
	struct ctl_msg m;
	char uri[300];
	int i, r;

	memset(done, 0, sizeof(*done));
	snprintf(uri, sizeof(uri), "unix:%s", sock_path);
	r = ctl_peer_open(uri, 0, CTL_ROLE_CLI, CTL_ROLE_DOM0, "cli", 0,
	    10000, &c);
	if (r != CTL_OK) {
		done->status = CTL_ST_UNREACHABLE;
		snprintf(done->message, sizeof(done->message), "cannot reach "
		    "usbgated at %s: %s (is it running?)", sock_path,
		    r == CTL_E_SYS ? strerror(errno) : ctl_strerror(r));
		return done->status;
	}
	if (nargs > CTL_CLI_ARGS_MAX) {
		ctl_conn_free(c);
		done->status = CTL_ST_USAGE;
		snprintf(done->message, sizeof(done->message), "too many "
		    "arguments");
		return done->status;
	}
	ctl_msg_init(&m, CTL_MSG_CLI_REQUEST);
	m.u.cli_request.cmd = cmd;
	m.u.cli_request.flags = flags;
	m.u.cli_request.nargs = (uint8_t)nargs;
	for (i = 0; i < nargs; i++) {
		if (!ctl_strlcpy(m.u.cli_request.args[i], args[i],
		    sizeof(m.u.cli_request.args[i])) ||
		    !ctl_str_valid(args[i], CTL_CS_PRINT)) {
			ctl_conn_free(c);
			done->status = CTL_ST_USAGE;
			snprintf(done->message, sizeof(done->message),
			    "argument %d is empty, too long or not printable",
			    i + 1);
			return done->status;
		}
	}
	if ((r = ctl_conn_send_wait(c, &m, 10000)) < 0)
		goto broken;
	for (;;) {
		if ((r = ctl_conn_recv_wait(c, &m, REPLY_TIMEOUT_MS)) != CTL_OK)
			goto broken;
		if (m.type == CTL_MSG_CLI_ROW && rs != NULL)
			rows_push(rs, &m.u.cli_row);
		else if (m.type == CTL_MSG_CLI_DONE) {
			*done = m.u.cli_done;
			break;
		}
	}
	ctl_conn_free(c);
	return done->status;
broken:
	done->status = r == CTL_E_TIMEOUT ? CTL_ST_TIMEOUT :
	    CTL_ST_UNREACHABLE;
	snprintf(done->message, sizeof(done->message), "lost usbgated: %s",
	    ctl_strerror(r));
	ctl_conn_free(c);
	return done->status;
}

int
cli_request(uint16_t cmd, uint32_t flags, int nargs, char **args,
    struct rows *rs, struct ctl_cli_done *done)
{
	return request(cmd, flags, nargs, args, rs, done);
}

static int
report(const struct ctl_cli_done *done)
{
	if (done->status != CTL_ST_OK) {
		err("%s", done->message[0] ? done->message :
		    ctl_status_name(done->status));
	} else if (done->message[0] != '\0' && !json)
		printf("%s\n", done->message);
	return done->status;
}

/* ---- JSON ---------------------------------------------------------------------- */

/* The one --json answer of a command (usbgate_json.h), failures included. */
static int
json_out(int st, const char *message, const char *rule, const struct rows *rs)
{
	size_t i;

	uj_begin(stdout, json_cmd);
	for (i = 0; rs != NULL && i < rs->n; i++)
		uj_row(stdout, &rs->r[i]);
	if (message == NULL || message[0] == '\0')
		message = st != CTL_ST_OK ? last_err : "";
	uj_end(stdout, st, message, rule);
	return st;
}

/* ---- list ------------------------------------------------------------------------ */

static int
row_cmp(const void *a, const void *b)
{
	const struct ctl_cli_row *x = a, *y = b;

	return strcmp(get(x, "device"), get(y, "device"));
}

/* "work (attached), *vault (required)" */
static void
used_by_text(const struct ctl_cli_row *row, int with_assign, char *out,
    size_t size)
{
	const char *used = get(row, "used_by");
	char assigns[CTL_CLI_VALUE_MAX + 1], *save, *tok;
	size_t len = 0;

	out[0] = '\0';
	if (used[0] != '\0')
		len += (size_t)snprintf(out, size, "%s (attached)", used);
	if (!with_assign)
		return;
	snprintf(assigns, sizeof(assigns), "%s", get(row, "assignments"));
	for (tok = strtok_r(assigns, ",", &save); tok != NULL && len < size;
	    tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');

		if (colon == NULL)
			continue;
		*colon = '\0';
		len += (size_t)snprintf(out + len, size - len, "%s*%s (%s)",
		    len ? ", " : "", tok, colon + 1);
	}
}

static int
cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "assignments", no_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_cli_done done;
	struct rows rs = { NULL, 0, 0 };
	uint32_t flags = 0;
	int ch, st;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s", opts, NULL)) != -1) {
		if (ch == 's')
			flags |= CTL_CLIF_ASSIGNMENTS;
		else if (ch == 'a')
			flags |= CTL_CLIF_ALL;
		else
			return CTL_ST_USAGE;
	}
	st = request(CTL_CLI_LIST, flags, argc - optind, argv + optind, &rs,
	    &done);
	if (st != CTL_ST_OK) {
		free(rs.r);
		if (json) {
			report(&done);
			return json_out(st, done.message, NULL, NULL);
		}
		return report(&done);
	}
	if (json) {
		cli_list_print(&rs, flags & CTL_CLIF_ASSIGNMENTS);
		json_out(st, done.message, NULL, &rs);
		free(rs.r);
		return CTL_ST_OK;
	}
	cli_list_print(&rs, flags & CTL_CLIF_ASSIGNMENTS);
	free(rs.r);
	return CTL_ST_OK;
}

/* Sort the rows; print them as Qubes does, unless --json. */
void
cli_list_print(struct rows *rs_, int with_assign)
{
	struct rows rs = *rs_;
	size_t i, w0, w1;
	int tty = isatty(1);
	char ub[1024], dev[128];

	if (rs.n > 1)
		qsort(rs.r, rs.n, sizeof(*rs.r), row_cmp);
	if (json)
		return;
	/* Widths as column -t gives them: the header counts when shown. */
	w0 = tty ? strlen("BACKEND:DEVID") : 0;
	w1 = tty ? strlen("DESCRIPTION") : 0;
	for (i = 0; i < rs.n; i++) {
		if (strlen(get(&rs.r[i], "device")) > w0)
			w0 = strlen(get(&rs.r[i], "device"));
		if (strlen(get(&rs.r[i], "description")) > w1)
			w1 = strlen(get(&rs.r[i], "description"));
	}
	/* Qubes prints the header only for a person. */
	if (tty)
		printf("%-*s  %-*s  %s\n", (int)w0, "BACKEND:DEVID", (int)w1,
		    "DESCRIPTION", "USED BY");
	for (i = 0; i < rs.n; i++) {
		snprintf(dev, sizeof(dev), "%s", get(&rs.r[i], "device"));
		used_by_text(&rs.r[i], with_assign != 0, ub, sizeof(ub));
		printf("%-*s  %-*s  %s\n", (int)w0, dev, (int)w1,
		    get(&rs.r[i], "description"), ub);
	}
}

/* ---- attach / detach / assign / unassign ------------------------------------------ */

static int
simple(uint16_t cmd, uint32_t flags, int argc, char **argv, int min, int max,
    const char *usage)
{
	struct ctl_cli_done done;
	struct rows rs = { NULL, 0, 0 };
	int st;

	if (argc < min || argc > max) {
		err("usage: %s %s", progname, usage);
		return CTL_ST_USAGE;
	}
	st = request(cmd, flags, argc, argv, &rs, &done);
	if (json) {
		report(&done);
		json_out(st, done.message, done.rule, &rs);
		free(rs.r);
		return st;
	}
	free(rs.r);
	return report(&done);
}

static int
cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "persistent", no_argument, NULL, 'p' },
		{ "ro", no_argument, NULL, 'R' },
		{ "option", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t flags = 0;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "po:", opts, NULL)) != -1) {
		if (ch == 'p')
			flags |= CTL_CLIF_PERSISTENT;
		else if (ch == 'o' || ch == 'R') {
			err("USB device attach does not support user options");
			return CTL_ST_USAGE;
		} else
			return CTL_ST_USAGE;
	}
	return simple(CTL_CLI_ATTACH, flags, argc - optind, argv + optind, 2,
	    2, "attach [-p] VM BACKEND:PORT[:DEVICE_ID]");
}

static int
cmd_detach(int argc, char **argv)
{
	return simple(CTL_CLI_DETACH, 0, argc - 1, argv + 1, 1, 2,
	    "detach VM [BACKEND:PORT[:DEVICE_ID]]");
}

static int
cmd_assign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ask", no_argument, NULL, 'A' },
		{ "ask-to-attach", no_argument, NULL, 'A' },
		{ "required", no_argument, NULL, 'r' },
		{ "port", no_argument, NULL, 'P' },
		{ "only-port", no_argument, NULL, 'P' },
		{ "device", no_argument, NULL, 'D' },
		{ "only-device", no_argument, NULL, 'D' },
		{ "allow-pid", required_argument, NULL, 'X' },
		{ "option", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char *args[3];
	const char *pids = NULL;
	uint32_t flags = 0;
	int ch, n;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ro:", opts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			flags |= CTL_CLIF_ASK;
			break;
		case 'r':
			flags |= CTL_CLIF_REQUIRED;
			break;
		case 'P':
			flags |= CTL_CLIF_PORT;
			break;
		case 'D':
			flags |= CTL_CLIF_DEVICE;
			break;
		case 'X':
			flags |= CTL_CLIF_ALLOW_PID;
			pids = optarg;
			break;
		case 'o':
			err("USB device assignment does not support user "
			    "options");
			return CTL_ST_USAGE;
		default:
			return CTL_ST_USAGE;
		}
	}
	if ((flags & CTL_CLIF_ASK) && (flags & CTL_CLIF_REQUIRED)) {
		err("--ask and --required exclude each other");
		return CTL_ST_USAGE;
	}
	if ((flags & CTL_CLIF_PORT) && (flags & CTL_CLIF_DEVICE)) {
		err("--port and --device exclude each other");
		return CTL_ST_USAGE;
	}
	n = argc - optind;
	if (n != 2) {
		err("usage: %s assign [--ask|--required] [--port|--device] "
		    "[--allow-pid PID[,PID]] VM BACKEND:PORT[:DEVICE_ID]",
		    progname);
		return CTL_ST_USAGE;
	}
	args[0] = argv[optind];
	args[1] = argv[optind + 1];
	args[2] = (char *)pids;
	return simple(CTL_CLI_ASSIGN, flags, pids ? 3 : 2, args, 2, 3,
	    "assign VM DEVICE");
}

static int
cmd_unassign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", no_argument, NULL, 'P' },
		{ "only-port", no_argument, NULL, 'P' },
		{ "device", no_argument, NULL, 'D' },
		{ "only-device", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t flags = 0;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'P')
			flags |= CTL_CLIF_PORT;
		else if (ch == 'D')
			flags |= CTL_CLIF_DEVICE;
		else
			return CTL_ST_USAGE;
	}
	return simple(CTL_CLI_UNASSIGN, flags, argc - optind, argv + optind, 1,
	    2, "unassign [--port|--device] VM [BACKEND:PORT[:DEVICE_ID]]");
}

/* ---- info ------------------------------------------------------------------------- */

static int
cmd_info(int argc, char **argv)
{
	static const char *const extras[] = {
		"device", "id", "manufacturer", "product", "serial", "speed",
		"interfaces", "interface_descriptors", "hash", "parent_hash",
		"connect_type", "used_by",
		"assignments", "udev_auto_attach", "reset_on_attach",
		"refused_interfaces", "refused_alternate_settings",
		NULL,
	};
	struct ctl_cli_done done;
	struct rows rs = { NULL, 0, 0 };
	const struct ctl_cli_row *row;
	int st, i;

	if (argc != 3) {
		err("usage: %s info VM BACKEND:PORT", progname);
		return CTL_ST_USAGE;
	}
	st = request(CTL_CLI_INFO, 0, 2, argv + 1, &rs, &done);
	if (json) {
		report(&done);
		json_out(st, done.message, done.rule, &rs);
		free(rs.r);
		return st;
	}
	if (st != CTL_ST_OK || rs.n == 0) {
		free(rs.r);
		return report(&done);
	}
	row = &rs.r[0];
	printf("%s\n", get(row, "description"));
	printf("device ID: %s\n", get(row, "device_id"));
	for (i = 0; extras[i] != NULL; i++)
		if (get(row, extras[i])[0] != '\0')
			printf("%s: %s\n", extras[i], get(row, extras[i]));
	printf("policy for %s: %s", get(row, "vm"), get(row, "decision"));
	if (get(row, "rule")[0] != '\0')
		printf(" (%s)", get(row, "rule"));
	printf("\n");
	free(rs.r);
	return CTL_ST_OK;
}

/* ---- policy ------------------------------------------------------------------------ */

/* {"path": P, "ok": B, "rules": N, "errors": [{"file", "line", "message"}]} */
static void
policy_check_row(const char *path, int ok, size_t n, const struct pol_diags *dg)
{
	int j;

	uj_row_begin(stdout);
	uj_key(stdout, "path");
	uj_str(stdout, path);
	uj_key(stdout, "ok");
	fputs(ok ? "true" : "false", stdout);
	uj_key(stdout, "rules");
	printf("%zu", ok ? n : 0);
	uj_key(stdout, "errors");
	fputc('[', stdout);
	for (j = 0; j < dg->n; j++) {
		fputs(j ? ", {\"file\": " : "{\"file\": ", stdout);
		uj_str(stdout, dg->d[j].file);
		printf(", \"line\": %d, \"message\": ", dg->d[j].line);
		uj_str(stdout, dg->d[j].msg);
		fputc('}', stdout);
	}
	fputc(']', stdout);
	uj_key(stdout, "more_errors");
	printf("%d", dg->total > dg->n ? dg->total - dg->n : 0);
	uj_row_end(stdout);
}

static int
policy_check(int argc, char **argv)
{
	int i, j, bad = 0;

	if (json)
		uj_begin(stdout, json_cmd);
	if (argc < 1) {
		static char *def[] = { (char *)DEFAULT_RULES };

		argv = def;
		argc = 1;
	}
	for (i = 0; i < argc; i++) {
		struct pol_ruleset rs;
		struct pol_diags dg;
		struct stat st;
		char buf[600];
		int r;

		memset(&dg, 0, sizeof(dg));
		pol_ruleset_init(&rs);
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			r = pol_ruleset_load_dir(&rs, argv[i], &dg);
		else
			r = pol_ruleset_load_file(&rs, argv[i], &dg);
		if (r == POL_E_NOTFOUND && dg.n == 0)
			pol_diag_add(&dg, argv[i], 0, "no such file or "
			    "directory");
		/* Errors on stderr, the summary on stdout. */
		for (j = 0; j < dg.n; j++) {
			pol_diag_format(&dg.d[j], buf, sizeof(buf));
			fprintf(stderr, "%s\n", buf);
		}
		if (dg.total > dg.n)
			fprintf(stderr, "%s: ... and %d more error(s)\n",
			    argv[i], dg.total - dg.n);
		if (r != POL_OK)
			bad = 1;
		if (json)
			policy_check_row(argv[i], r == POL_OK, rs.n, &dg);
		else if (r == POL_OK)
			printf("%s: %zu rule(s) OK\n", argv[i], rs.n);
		else
			printf("%s: %d error(s)\n", argv[i], dg.total);
		pol_ruleset_free(&rs);
	}
	if (json)
		uj_end(stdout, bad ? CTL_ST_POLICY : CTL_ST_OK, bad ?
		    "the rules have errors" : "", NULL);
	return bad ? CTL_ST_POLICY : CTL_ST_OK;
}

static int
looks_like_devid(const char *s)
{
	struct pol_devid id;

	return pol_devid_parse(s, &id) == POL_OK;
}

static void
print_verdict(int st, const char *decision, const char *rule,
    const char *refused)
{
	if (json) {
		struct ctl_cli_row row;
		struct rows rs = { &row, 1, 1 };

		memset(&row, 0, sizeof(row));
		ctl_row_add(&row, "decision", decision);
		ctl_row_add(&row, "rule", rule);
		ctl_row_add(&row, "refused_interfaces", refused);
		json_out(st, "", rule, &rs);
		return;
	}
	printf("%s\n", decision);
	if (rule[0] != '\0')
		printf("  by %s\n", rule);
	else
		printf("  no rule matches; no match means deny\n");
	if (refused[0] != '\0')
		printf("  hidden interfaces: %s\n", refused);
}

static int
policy_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'f' },
		{ "port", required_argument, NULL, 'p' },
		{ "tag", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rules = NULL, *from = "", *port = "", *tags[16];
	int ch, ntags = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			rules = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 't':
			if (ntags < 16)
				tags[ntags++] = optarg;
			break;
		default:
			return CTL_ST_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2) {
		err("usage: %s policy test [--rules DIR] [--from BACKEND] "
		    "[--port BUSID] [--tag TAG]... DEVICE VM\n"
		    "DEVICE is BACKEND:PORT of a connected device (asks "
		    "usbgated) or a device_id (offline)", progname);
		return CTL_ST_USAGE;
	}
	if (rules != NULL || looks_like_devid(argv[0])) {
		/* Offline: evaluate the rule files here. */
		struct pol_ruleset rs;
		struct pol_diags dg;
		struct pol_devid id;
		struct pol_device dev;
		struct pol_verdict v;
		struct pol_vm vm = { argv[1], tags, ntags };
		char rule[600] = "", refused[200] = "", buf[600];
		size_t len = 0;
		int i, r, st;

		if (pol_devid_parse(argv[0], &id) != POL_OK) {
			err("'%s' is not a device_id (VID:PID:SERIAL:IFACES)",
			    argv[0]);
			return CTL_ST_USAGE;
		}
		pol_devid_to_device(&id, &dev);
		snprintf(dev.backend, sizeof(dev.backend), "%s", from);
		snprintf(dev.busid, sizeof(dev.busid), "%s", port);
		memset(&dg, 0, sizeof(dg));
		pol_ruleset_init(&rs);
		r = pol_ruleset_load_dir(&rs, rules ? rules : DEFAULT_RULES,
		    &dg);
		if (r == POL_E_NOTFOUND && rules != NULL && dg.n == 0)
			pol_diag_add(&dg, rules, 0, "no such file or "
			    "directory");
		if (r != POL_OK && (r != POL_E_NOTFOUND || rules != NULL)) {
			for (i = 0; i < dg.n; i++) {
				pol_diag_format(&dg.d[i], buf, sizeof(buf));
				fprintf(stderr, "%s\n", buf);
			}
			err("the rules have errors: usbgated denies everything "
			    "until they are fixed");
			pol_ruleset_free(&rs);
			return CTL_ST_POLICY;
		}
		pol_check(&rs, &dev, &vm, &v);
		if (v.rule != NULL)
			pol_rule_describe(v.rule, rule, sizeof(rule));
		for (i = 0; i < v.n_refused; i++)
			len += (size_t)snprintf(refused + len,
			    sizeof(refused) - len, "%s%u", i ? "," : "",
			    v.refused[i]);
		st = v.decision == POL_ALLOW ? CTL_ST_OK : CTL_ST_DENIED;
		print_verdict(st, pol_decision_name(v.decision), rule, refused);
		pol_ruleset_free(&rs);
		return st;
	}
	{
		struct ctl_cli_done done;
		struct rows rs = { NULL, 0, 0 };
		int st = request(CTL_CLI_POLICY_TEST, 0, 2, argv, &rs, &done);

		if (rs.n > 0)
			print_verdict(st, get(&rs.r[0], "decision"),
			    get(&rs.r[0], "rule"),
			    get(&rs.r[0], "refused_interfaces"));
		else if (json) {
			report(&done);
			json_out(st, done.message, NULL, NULL);
		} else
			report(&done);
		free(rs.r);
		return st;
	}
}

/* --json: one row per rule line (usbguard_import.h). */
static void
import_row(const struct usbguard_line *ul, void *arg)
{
	(void)arg;
	uj_row_begin(stdout);
	uj_key(stdout, "line");
	printf("%d", ul->lineno);
	uj_key(stdout, "converted");
	fputs(ul->error == NULL ? "true" : "false", stdout);
	uj_key(stdout, "error");
	if (ul->error != NULL)
		uj_str(stdout, ul->error);
	else
		fputs("null", stdout);
	uj_key(stdout, "changes");
	uj_str(stdout, ul->changes);
	uj_key(stdout, "label");
	uj_str(stdout, ul->label);
	uj_key(stdout, "rule");
	uj_str(stdout, ul->rule);
	uj_row_end(stdout);
}

static int
policy_import(const char *path)
{
	int r, st;

	if (json)
		uj_begin(stdout, json_cmd);
	r = usbguard_import(path, json ? NULL : stdout, json ? NULL : stderr,
	    json ? import_row : NULL, NULL);
	st = r == 0 ? CTL_ST_OK : r < 0 ? CTL_ST_ERROR : CTL_ST_POLICY;
	if (r < 0 && json)	/* else usbguard_import() said it */
		err("%s: %s", path, strerror(errno));
	if (json)
		uj_end(stdout, st, r == 0 ? "" : r < 0 ? last_err :
		    "some lines were not converted", NULL);
	return st;
}

static int
cmd_policy(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0) {
		json_cmd = "policy check";
		return policy_check(argc - 2, argv + 2);
	}
	if (argc >= 2 && strcmp(argv[1], "test") == 0) {
		json_cmd = "policy test";
		return policy_test(argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[1], "import") == 0) {
		json_cmd = "policy import";
		if (argc != 3) {
			err("usage: %s policy import USBGUARD-RULES-FILE",
			    progname);
			return CTL_ST_USAGE;
		}
		return policy_import(argv[2]);
	}
	err("usage: %s policy check [FILE|DIR]... | policy test DEVICE VM | "
	    "policy import FILE", progname);
	return CTL_ST_USAGE;
}

/* ---- daemon control ---------------------------------------------------------------- */

static int
cmd_reload(int argc, char **argv)
{
	struct ctl_cli_done done;
	struct rows rs = { NULL, 0, 0 };
	size_t i;
	int st;

	(void)argv;
	if (argc != 1)
		return CTL_ST_USAGE;
	st = request(CTL_CLI_RELOAD, 0, 0, NULL, &rs, &done);
	if (json) {
		report(&done);
		json_out(st, done.message, NULL, &rs);
		free(rs.r);
		return st;
	}
	for (i = 0; i < rs.n; i++)
		printf("%s\n", get(&rs.r[i], "error"));
	free(rs.r);
	report(&done);
	return st;
}

static int
cmd_resume(int argc, char **argv)
{
	return simple(CTL_CLI_RESUME, 0, argc - 1, argv + 1, 0, 8,
	    "resume [VM]...");
}

static int
cmd_status(int argc, char **argv)
{
	struct ctl_cli_done done;
	struct rows rs = { NULL, 0, 0 };
	size_t i;
	int st;

	(void)argv;
	if (argc != 1)
		return CTL_ST_USAGE;
	st = request(CTL_CLI_STATUS, 0, 0, NULL, &rs, &done);
	if (json) {
		report(&done);
		json_out(st, done.message, NULL, &rs);
	} else
		for (i = 0; i < rs.n; i++) {
			const struct ctl_cli_row *r = &rs.r[i];

			if (strcmp(get(r, "kind"), "session") == 0)
				printf("session %s  %s -> %s  %s\n",
				    get(r, "name"), get(r, "device"),
				    get(r, "vm"), get(r, "state"));
			else
				printf("%-7s %-16s %-13s %s%s%s\n",
				    get(r, "kind"), get(r, "name"),
				    get(r, "state"), get(r, "channel"),
				    get(r, "devices")[0] ? "  devices: " : "",
				    get(r, "devices"));
		}
	free(rs.r);
	if (!json)
		report(&done);
	return st;
}

static const struct command commands[] = {
	{ "list", { "ls", "l", NULL }, cmd_list,
	  "list [-s|--assignments] [--all | VM...]",
	  "list devices, who uses them (and assignments with -s)" },
	{ "attach", { "at", "a", NULL }, cmd_attach,
	  "attach [-p|--persistent] VM BACKEND:PORT[:DEVICE_ID]",
	  "attach a device to a VM now (-p: and assign it as required)" },
	{ "detach", { "dt", "d", NULL }, cmd_detach,
	  "detach VM [BACKEND:PORT[:DEVICE_ID]]",
	  "detach one device, or every device, from a VM" },
	{ "assign", { "s", NULL, NULL }, cmd_assign,
	  "assign [--ask|--required] [--port|--device] [--allow-pid PIDS] VM "
	  "BACKEND:PORT[:DEVICE_ID]",
	  "attach a device automatically (auto-attach, ask-to-attach, "
	  "required)" },
	{ "unassign", { "u", NULL, NULL }, cmd_unassign,
	  "unassign [--port|--device] VM [BACKEND:PORT[:DEVICE_ID]]",
	  "remove assignments (all of the VM without a device)" },
	{ "info", { "i", NULL, NULL }, cmd_info, "info VM BACKEND:PORT",
	  "show a device's identity and the policy decision for a VM" },
	{ "policy", { NULL, NULL, NULL }, cmd_policy,
	  "policy check [FILE|DIR]... | policy test DEVICE VM | policy import "
	  "FILE",
	  "check rule files; show the rule that decides; convert USBGuard "
	  "rules" },
	{ "reload", { NULL, NULL, NULL }, cmd_reload, "reload",
	  "make usbgated re-read its rules" },
	{ "resume", { NULL, NULL, NULL }, cmd_resume, "resume [VM]...",
	  "run auto-attach again (after suspend/resume)" },
	{ "status", { NULL, NULL, NULL }, cmd_status, "status",
	  "show channels and sessions" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: %s [--socket PATH] [--json] COMMAND [ARGS]\n\n",
	    progname);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n      %s\n", commands[i].usage,
		    commands[i].help);
	fprintf(f, "\nexit status: 0 ok, 1 error, 2 usage, 3 not found, "
	    "4 denied, 5 busy,\n6 unreachable, 7 failed, 8 timeout, "
	    "9 rule errors\n");
}

int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	size_t i;
	int a = 1, j;

	base = base ? base + 1 : argv[0];
	if ((sock_path = getenv("USBGATE_SOCKET")) == NULL)
		sock_path = DEFAULT_SOCKET;
	/* Qubes' qvm-device usb (tools/qvm_usb.c). */
	if (strcmp(base, "qvm-usb") == 0)
		return qvm_usb_main(argc, argv);
	while (a < argc && argv[a][0] == '-') {
		if (strcmp(argv[a], "--json") == 0)
			json = 1;
		else if (strcmp(argv[a], "--socket") == 0 && a + 1 < argc)
			sock_path = argv[++a];
		else if (strncmp(argv[a], "--socket=", 9) == 0)
			sock_path = argv[a] + 9;
		else if (strcmp(argv[a], "-h") == 0 ||
		    strcmp(argv[a], "--help") == 0) {
			usage(stdout);
			return CTL_ST_OK;
		} else if (strcmp(argv[a], "--version") == 0) {
			printf("%s %s\n", progname, PACKAGE_VERSION);
			return CTL_ST_OK;
		} else
			break;
		a++;
	}
	if (a >= argc) {
		usage(stderr);
		return CTL_ST_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		int match = strcmp(argv[a], commands[i].name) == 0;

		for (j = 0; !match && j < 3 && commands[i].aliases[j]; j++)
			match = strcmp(argv[a], commands[i].aliases[j]) == 0;
		if (match) {
			json_cmd = commands[i].name;
			j = commands[i].fn(argc - a, argv + a);
			/* Usage errors and the like: --json answers them too. */
			if (json && !uj_begun())
				json_out(j, NULL, NULL, NULL);
			return j;
		}
	}
	err("unknown command '%s'", argv[a]);
	usage(stderr);
	if (json) {
		json_cmd = argv[a];
		json_out(CTL_ST_USAGE, NULL, NULL, NULL);
	}
	return CTL_ST_USAGE;
}
