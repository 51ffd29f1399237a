/*
 * fakexen_fixture.c: the fake hypervisor (tests/xen) as a Check fixture:
 * fakexenstored with domains 1 2 5 6 7 9 in a fresh directory, this
 * process as dom0 (XENSTORED_PATH), and everything removed afterwards.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakexen_fixture.h"

char fakexen_dir[] = "/tmp/fxv-XXXXXX";
static pid_t xsd = -1;

/* Unchecked fixture: one fake hypervisor with domains 1 2 5 6 7 9. */
void
fakexen_start(void)
{
	char trace[64], sock[64], line[16];
	int fds[2];
	FILE *f;

	strcpy(fakexen_dir, "/tmp/fxv-XXXXXX");
	if (mkdtemp(fakexen_dir) == NULL || pipe(fds) < 0)
		ck_abort_msg("fixture: %s", strerror(errno));
	/* the fake's reapers outlive their processes: we reap them */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	snprintf(trace, sizeof(trace), "%s/trace", fakexen_dir);
	xsd = fork();
	if (xsd == 0) {
		dup2(fds[1], 1);
		execl(FAKEXENSTORED, "fakexenstored", "-T", trace, "-q", "40",
		    fakexen_dir, "1", "2", "5", "6", "7", "9", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, "ready\n") != 0)
		ck_abort_msg("fakexenstored did not start");
	fclose(f);
	snprintf(sock, sizeof(sock), "%s/d0.sock", fakexen_dir);
	setenv("XENSTORED_PATH", sock, 1);	/* this process is dom0 */
}

void
fakexen_stop(void)
{
	struct dirent *e;
	char path[300];
	DIR *d;

	if (xsd > 0) {
		kill(xsd, SIGTERM);
		waitpid(xsd, NULL, 0);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	d = opendir(fakexen_dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", fakexen_dir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(fakexen_dir);
}

