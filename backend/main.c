/*
 * main.c: usbgate-backend, the sys-usb side.
 *
 *   usbgate-backend list [--all]
 *   usbgate-backend serve --device SEL [--channel URI] [--listen]
 *                         [--reset-on-attach] [--refuse IF[,IF]...]
 *                         [--user USER | --uid-range FIRST-LAST] [-v]
 *   usbgate-backend daemon --control URI [...]    (daemon.c)
 *
 * Owns the command line: selector errors list the candidates, "list" prints
 * one device per line (bus id, VID:PID, speed, device_id, description).
 */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "serve.h"
#include "usbdev.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: usbgate-backend list [--all]\n"
	    "       usbgate-backend serve --device SEL [--channel URI] "
	    "[--listen] [--reset-on-attach] [--refuse IF[,IF]...] "
	    "[--user USER | --uid-range FIRST-LAST] [-v]\n"
	    "       usbgate-backend daemon --control URI [--listen] "
	    "[--name NAME] [--data-pool GLOB]... "
	    "[--user USER | --uid-range FIRST-LAST] [--accept-timeout SEC] "
	    "[-v]\n"
	    "SEL is a bus id (1-1, 2-1.4), VID:PID or VID:PID:SERIAL; "
	    "URI is stdio, fd:N, unix:PATH, tcp:HOST:PORT, dev:PATH or "
	    "vchan:DOMID:PORT\n");
	exit(SERVE_EXIT_USAGE);
}

static void
print_device(FILE *f, const struct usbdev *d)
{
	char id[512], desc[300];

	usbdev_device_id(d, id, sizeof(id));
	usbdev_description(d, desc, sizeof(desc));
	fprintf(f, "%-8s %04x:%04x %-6s %s  %s%s\n", d->busid, d->vid, d->pid,
	    usbdev_speed_name(d->speed_mbps), id, desc,
	    d->export_ok ? "" : "  [not exported: USBGATE_EXPORT=0]");
}

static int
cmd_list(int argc, char **argv)
{
	struct usbdev *all;
	size_t n, i;
	int rc, hidden = argc > 1 && strcmp(argv[1], "--all") == 0;

	rc = usbdev_list(&all, &n, hidden);
	if (rc < 0) {
		log_warnx("list: %s", usbdev_strerror(rc));
		return SERVE_EXIT_ERROR;
	}
	for (i = 0; i < n; i++)
		print_device(stdout, &all[i]);
	free(all);
	return SERVE_EXIT_CLEAN;
}

/* "0,3": interface numbers (decimal), at most USBDEV_MAX_IFACES. */
static int
parse_refused(const char *arg, uint8_t *out, int *n)
{
	const char *p = arg;
	char *end;
	long v;

	*n = 0;
	while (*p != '\0') {
		v = strtol(p, &end, 10);
		if (end == p || v < 0 || v > 255 || *n >= USBDEV_MAX_IFACES ||
		    (*end != ',' && *end != '\0'))
			return -1;
		out[(*n)++] = (uint8_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	return *n > 0 ? 0 : -1;
}

static int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "channel", required_argument, NULL, 'c' },
		{ "listen", no_argument, NULL, 'l' },
		{ "reset-on-attach", no_argument, NULL, 'r' },
		{ "user", required_argument, NULL, 'u' },
		{ "refuse", required_argument, NULL, 'R' },
		{ "uid-range", required_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct serve_options o = { .channel = "stdio" };
	uint8_t refused[USBDEV_MAX_IFACES];
	const char *sel = NULL;
	struct usbdev d, *cands;
	size_t ncands, i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "d:c:lru:R:U:v", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd': sel = optarg; break;
		case 'c': o.channel = optarg; break;
		case 'l': o.listen = 1; break;
		case 'r': o.reset = 1; break;
		case 'u': o.user = optarg; break;
		case 'U':
			if (uid_range_parse(optarg, &o.uids) < 0)
				usage();
			break;
		case 'R':
			if (parse_refused(optarg, refused, &o.n_refused) < 0)
				usage();
			o.refused = refused;
			break;
		case 'v': o.verbose++; break;
		default: usage();
		}
	}
	if (sel == NULL || optind != argc)
		usage();
	log_setverbose(o.verbose);
	rc = usbdev_resolve(sel, &d, &cands, &ncands);
	if (rc < 0) {
		log_warnx("device %s: %s", sel, usbdev_strerror(rc));
		if (rc == USBDEV_E_NOTFOUND || rc == USBDEV_E_AMBIGUOUS) {
			fprintf(stderr, "candidates:\n");
			for (i = 0; i < ncands; i++)
				print_device(stderr, &cands[i]);
			if (ncands == 0)
				fprintf(stderr, "  (no exportable device)\n");
		}
		free(cands);
		return SERVE_EXIT_USAGE;
	}
	if (d.reset_on_attach)
		o.reset = 1;
	return be_serve(&d, &o);
}

int
main(int argc, char **argv)
{
	log_init("usbgate-backend", 1, 0);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "--version") == 0) {
		printf("usbgate-backend %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "daemon") == 0)
		return be_daemon_main(argc - 1, argv + 1);
	usage();
	return SERVE_EXIT_USAGE;
}
