/*
 * log.c: process logging (see log.h). One line per message, prefixed with
 * the process title so that a privileged parent and its unprivileged child
 * can be told apart in one stream.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static int log_to_stderr = 1;
static int log_verbose;
static char log_proc[32] = "usbgate";

void
log_init(const char *procname, int to_stderr, int verbose)
{
	log_to_stderr = to_stderr;
	log_verbose = verbose;
	log_setproc(procname);
	if (!to_stderr)
		openlog(log_proc, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setproc(const char *procname)
{
	if (procname != NULL)
		snprintf(log_proc, sizeof(log_proc), "%s", procname);
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_to_stderr)
		fprintf(stderr, "%s: %s\n", log_proc, buf);
	else
		syslog(pri, "%s", buf);
	errno = saved_errno;
}

static void
log_errno(int pri, int err, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_to_stderr)
		fprintf(stderr, "%s: %s: %s\n", log_proc, buf, strerror(err));
	else
		syslog(pri, "%s: %s", buf, strerror(err));
}

void
log_warn(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_errno(LOG_WARNING, saved_errno, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_errno(LOG_CRIT, saved_errno, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
