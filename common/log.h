/*
 * log.h: process logging for every usbgate program (after OpenBSD's log.c).
 * Owns the log destination (stderr or syslog), the process-title prefix and
 * the verbosity. log_warn() appends strerror(errno), log_warnx() does not;
 * both preserve errno. fatal()/fatalx() are for broken invariants only.
 */
#ifndef USBGATE_LOG_H
#define USBGATE_LOG_H

#include <stdarg.h>

#define LOG_ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* to_stderr: 1 logs to stderr, 0 to syslog. verbose: 0 quiet .. 3 debug. */
void log_init(const char *procname, int to_stderr, int verbose);
void log_setproc(const char *procname);
int log_getverbose(void);
void log_setverbose(int verbose);

void log_warn(const char *fmt, ...) LOG_ATTR_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_ATTR_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_ATTR_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_ATTR_PRINTF(1, 2);
void vlog(int pri, const char *fmt, va_list ap) LOG_ATTR_PRINTF(2, 0);
void fatal(const char *fmt, ...) LOG_ATTR_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_ATTR_PRINTF(1, 2) __attribute__((noreturn));

#endif
