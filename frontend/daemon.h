/*
 * daemon.h: "usbgate-frontend daemon", the AppVM side of the control
 * plane: import a device only when dom0 (usbgated) orders it, report the
 * result, and detach it when dom0 says so.
 *
 * daemon.c owns the event loop, the control link and one child process per
 * import; the child runs fe_attach_run() (attach.c), the same code as
 * "usbgate-frontend attach", which reports the enumerated device on a pipe.
 */
#ifndef USBGATE_FE_DAEMON_H
#define USBGATE_FE_DAEMON_H

/* Entry point: usbgate-frontend daemon [options]. */
int fe_daemon_main(int argc, char **argv);

#endif
