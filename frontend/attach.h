/*
 * attach.h: one import, "usbgate-frontend attach": the data channel, a
 * sandboxed session child, one vhci port. The same code runs each IMPORT
 * of "usbgate-frontend daemon" (daemon.c), which reads the enumerated
 * device on a pipe. Exit statuses are part of the command's interface
 * (usbgate-frontend(8)).
 */
#ifndef USBGATE_FE_ATTACH_H
#define USBGATE_FE_ATTACH_H

#include <stdint.h>

#include "ifclass.h"

/* Exit statuses of "attach" (documented in usbgate-frontend(8)). */
enum fe_exit {
	FE_EXIT_CLEAN = 0,	/* stopped, or the device left sys-usb */
	FE_EXIT_ERROR = 1,	/* local failure (attach, memory, vhci) */
	FE_EXIT_USAGE = 2,
	FE_EXIT_PEER_GONE = 3,	/* the backend vanished mid-session */
	FE_EXIT_PROTO = 4,	/* the backend broke the protocol */
	FE_EXIT_MISMATCH = 5,	/* not the device dom0 announced */
	FE_EXIT_KILLED = 128,	/* + N: the session was killed by signal N */
};

struct fe_attach_opts {
	const char *uri;	/* data channel */
	int flags;		/* STREAM_F_LISTEN */
	int timeout_ms;		/* wait for the backend's device */
	const char *user;	/* unprivileged user of the session */
	int check_id;		/* refuse a device other than vid:pid */
	uint16_t vid, pid;
	struct fe_classes classes;	/* the session refuses other classes */
	int notify_fd;		/* gets a struct fe_attach_note, or -1 */
	int hcd;		/* enum fe_hcd (kmod_port.h): auto by default */
};

/* Written once on notify_fd when the device enumerated in this VM. */
struct fe_attach_note {
	int32_t port;		/* vhci port (usbgate_hcd: root hub port) */
	char busid[32];		/* local bus id */
};

/* Import one device on o->uri until the session ends; an enum fe_exit. */
int fe_attach_run(const struct fe_attach_opts *o);

#endif
