/*
 * main.c: usbgate-frontend, the AppVM side of a device session.
 *
 *   usbgate-frontend attach [--channel URI] [--listen] [--timeout SEC]
 *                           [--hcd vhci|usbgate|auto]
 *   usbgate-frontend list
 *   usbgate-frontend detach PORT|all
 *   usbgate-frontend daemon --control URI [...]    (daemon.c)
 *
 * Owns the command line; "attach" runs fe_attach_run() (attach.c).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "daemon.h"
#include "kmod_port.h"
#include "log.h"
#include "stream.h"
#include "vhci_sysfs.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: usbgate-frontend attach [--channel URI] [--listen] "
	    "[--timeout SEC] [--hcd vhci|usbgate|auto] [-v]\n"
	    "       usbgate-frontend list\n"
	    "       usbgate-frontend detach PORT|all\n"
	    "       usbgate-frontend daemon --control URI [--listen] "
	    "[--data-pool GLOB]... [--user USER] [-v]\n");
	exit(FE_EXIT_USAGE);
}

static int
cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "channel", required_argument, NULL, 'c' },
		{ "listen", no_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "hcd", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 }
	};
	struct fe_attach_opts o = { .uri = "stdio", .timeout_ms = 30000,
	    .notify_fd = -1 };
	int ch, verbose = 0;

	while ((ch = getopt_long(argc, argv, "c:lt:u:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.uri = optarg; break;
		case 'l': o.flags |= STREAM_F_LISTEN; break;
		case 't': o.timeout_ms = atoi(optarg) * 1000; break;
		case 'u': o.user = optarg; break;
		case 'v': verbose++; break;
		case 'H':
			if ((o.hcd = kmod_hcd_parse(optarg)) < 0)
				usage();
			break;
		default: usage();
		}
	}
	log_setverbose(verbose);
	return fe_attach_run(&o);
}

static int
cmd_list(void)
{
	struct vhci_port ports[VHCI_PORTS_MAX];
	int n, i, any = 0;

	n = vhci_ports(ports, VHCI_PORTS_MAX);
	if (n < 0) {
		log_warnx("%s", vhci_strerror(n));
		return FE_EXIT_ERROR;
	}
	for (i = 0; i < n; i++) {
		if (ports[i].status == VHCI_ST_NULL)
			continue;
		printf("port %d: %s hub, busid %s, devid %08x%s\n", ports[i].port,
		    ports[i].ss ? "ss" : "hs", ports[i].busid, ports[i].devid,
		    VHCI_DEVID_IS_USBGATE(ports[i].devid) ? " (usbgate)" : "");
		any = 1;
	}
	if (!any)
		printf("no vhci port in use\n");
	return FE_EXIT_CLEAN;
}

static int
cmd_detach(const char *arg)
{
	struct vhci_port ports[VHCI_PORTS_MAX];
	int n, i, rc = FE_EXIT_CLEAN;
	char *end;
	long port;

	if (strcmp(arg, "all") == 0) {
		n = vhci_ports(ports, VHCI_PORTS_MAX);
		if (n < 0) {
			log_warnx("%s", vhci_strerror(n));
			return FE_EXIT_ERROR;
		}
		for (i = 0; i < n; i++)
			if (ports[i].status != VHCI_ST_NULL &&
			    vhci_detach(ports[i].port) < 0)
				rc = FE_EXIT_ERROR;
		return rc;
	}
	port = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || port < 0 || port > 65535)
		usage();
	if (vhci_detach((int)port) < 0) {
		log_warn("detach port %ld", port);
		return FE_EXIT_ERROR;
	}
	return FE_EXIT_CLEAN;
}

int
main(int argc, char **argv)
{
	log_init("usbgate-frontend", 1, 0);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "--version") == 0) {
		printf("usbgate-frontend %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "attach") == 0)
		return cmd_attach(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list();
	if (strcmp(argv[1], "daemon") == 0)
		return fe_daemon_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "detach") == 0 && argc == 3)
		return cmd_detach(argv[2]);
	usage();
	return FE_EXIT_USAGE;
}
