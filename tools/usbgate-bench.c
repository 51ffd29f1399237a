/*
 * usbgate-bench.c: how long "usbgate list" takes with many devices.
 *
 *   usbgate-bench [-n DEVICES] [-r ROUNDS] [USBGATED USBGATE]
 *
 * Starts a private usbgated (temporary configuration and sockets), plays
 * its backend over the real control protocol to publish DEVICES devices
 * (100 by default), then times (a) the LIST request alone, from connect
 * to CLI_DONE, and (b) the whole "usbgate list" command, fork and exec
 * included, output to /dev/null. Prints min / median / p95 / max in
 * milliseconds. A figure to read, not a test: nothing fails on a slow
 * machine.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_peer.h"

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
summary(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dcmp);
	printf("%-34s n=%-4d min %6.2f  median %6.2f  p95 %6.2f  max %6.2f "
	    "ms\n", what, n, v[0], v[n / 2], v[(n * 95) / 100], v[n - 1]);
}

static int
list_once(const char *sock, int *rows)
{
	struct ctl_conn *c;
	struct ctl_msg m;
	char uri[300];
	int r;

	snprintf(uri, sizeof(uri), "unix:%s", sock);
	if ((r = ctl_peer_open(uri, 0, CTL_ROLE_CLI, CTL_ROLE_DOM0, "bench", 0,
	    5000, &c)) != CTL_OK)
		return r;
	ctl_msg_init(&m, CTL_MSG_CLI_REQUEST);
	m.u.cli_request.cmd = CTL_CLI_LIST;
	if ((r = ctl_conn_send_wait(c, &m, 5000)) < 0)
		goto out;
	*rows = 0;
	for (;;) {
		if ((r = ctl_conn_recv_wait(c, &m, 5000)) != CTL_OK)
			goto out;
		if (m.type == CTL_MSG_CLI_ROW)
			(*rows)++;
		if (m.type == CTL_MSG_CLI_DONE)
			break;
	}
	r = CTL_OK;
out:
	ctl_conn_free(c);
	return r;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/usbgate-bench.XXXXXX", path[512], uri[512];
	char text[2048], self[512], gated[600], cli[600], sockarg[600];
	int ndev = 100, rounds = 200, ch, i, rows = 0, status;
	struct ctl_conn *be = NULL;
	double *t;
	pid_t pid;
	FILE *f;

	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		if (ch == 'n')
			ndev = atoi(optarg);
		else if (ch == 'r')
			rounds = atoi(optarg);
		else {
			fprintf(stderr, "usage: usbgate-bench [-n DEVICES] "
			    "[-r ROUNDS] [USBGATED USBGATE]\n");
			return 2;
		}
	}
	if (ndev < 1 || ndev > 128 || rounds < 1) {
		fprintf(stderr, "usbgate-bench: 1..128 devices (a backend's "
		    "limit), rounds >= 1\n");
		return 2;
	}
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(gated, sizeof(gated), "%s/usbgated", dirname(self));
	snprintf(cli, sizeof(cli), "%s/usbgate", self);
	if (argc - optind == 2) {
		snprintf(gated, sizeof(gated), "%s", argv[optind]);
		snprintf(cli, sizeof(cli), "%s", argv[optind + 1]);
	}
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/rules.d", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/rules.d/50.rules", dir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("allow id 0951:* to work\n", f);
		fclose(f);
	}
	snprintf(text, sizeof(text), "socket %s/s.sock\nstate-dir %s/state\n"
	    "rules-dir %s/rules.d\nbackend sys-usb unix:%s/b.ctl listen\n"
	    "vm work unix:%s/w.ctl listen\n", dir, dir, dir, dir, dir);
	snprintf(path, sizeof(path), "%s/usbgated.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fputs(text, f);
	fclose(f);

	if ((pid = fork()) == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		execl(gated, "usbgated", "-d", "-f", path, (char *)NULL);
		_exit(127);
	}
	snprintf(uri, sizeof(uri), "unix:%s/b.ctl", dir);
	for (i = 0; i < 500 && be == NULL; i++) {
		if (ctl_peer_open(uri, 0, CTL_ROLE_BACKEND, CTL_ROLE_DOM0,
		    "sys-usb", CTL_CAP__ALL, 1000, &be) != CTL_OK) {
			be = NULL;
			usleep(10000);
		}
	}
	if (be == NULL) {
		fprintf(stderr, "usbgate-bench: cannot start %s\n", gated);
		kill(pid, SIGTERM);
		return 1;
	}
	for (i = 0; i < ndev; i++) {
		struct ctl_msg m;

		ctl_msg_init(&m, CTL_MSG_DEV_ADD);
		snprintf(m.u.dev.busid, sizeof(m.u.dev.busid), "%d-%d.%d",
		    1 + i / 50, 1 + (i % 50) / 7, 1 + i % 7);
		m.u.dev.vid = 0x0951;
		m.u.dev.pid = (uint16_t)(0x1600 + i);
		m.u.dev.speed = CTL_SPEED_HIGH;
		snprintf(m.u.dev.serial, sizeof(m.u.dev.serial),
		    "SERIAL%08d", i);
		snprintf(m.u.dev.manufacturer, sizeof(m.u.dev.manufacturer),
		    "Kingston");
		snprintf(m.u.dev.product, sizeof(m.u.dev.product),
		    "DataTraveler %d", i);
		m.u.dev.n_ifaces = 3;
		m.u.dev.ifaces[0] = (struct ctl_iface){ 0, 8, 6, 0x50 };
		m.u.dev.ifaces[1] = (struct ctl_iface){ 1, 3, 1, 1 };
		m.u.dev.ifaces[2] = (struct ctl_iface){ 2, 0xff, 0, 0 };
		m.u.dev.flags = CTL_DEV_F_EXPORT | CTL_DEV_F_HASH;
		memset(m.u.dev.hash, i, sizeof(m.u.dev.hash));
		ctl_conn_send_wait(be, &m, 2000);
	}
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	for (i = 0; i < 200 && rows < ndev; i++) {
		if (list_once(path, &rows) != CTL_OK || rows < ndev)
			usleep(10000);
	}
	if (rows != ndev) {
		fprintf(stderr, "usbgate-bench: usbgated lists %d of %d "
		    "devices\n", rows, ndev);
		kill(pid, SIGTERM);
		return 1;
	}
	printf("usbgate-bench: %d devices published\n", ndev);

	t = calloc((size_t)rounds, sizeof(*t));
	for (i = 0; i < rounds; i++) {
		double t0 = mono_ns() / 1e6;

		list_once(path, &rows);
		t[i] = mono_ns() / 1e6 - t0;
	}
	summary("LIST request (protocol only)", t, rounds);

	snprintf(sockarg, sizeof(sockarg), "--socket=%s", path);
	for (i = 0; i < rounds; i++) {
		double t0 = mono_ns() / 1e6;
		pid_t c = fork();

		if (c == 0) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 1);
			execl(cli, "usbgate", sockarg, "list", (char *)NULL);
			_exit(127);
		}
		waitpid(c, &status, 0);
		t[i] = mono_ns() / 1e6 - t0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "usbgate-bench: %s failed\n", cli);
			break;
		}
	}
	if (i == rounds)
		summary("usbgate list (fork+exec+list)", t, rounds);
	free(t);
	ctl_conn_free(be);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	snprintf(text, sizeof(text), "rm -rf '%s'", dir);
	return system(text) == 0 ? 0 : 1;
}
