/*
 * host_session.h: the unprivileged half of "usbgate-backend serve": one
 * device, already opened by the parent, served with libusbredirhost over one
 * channel.
 *
 * Owns the libusb context (device discovery off, the usbfs descriptor
 * wrapped), the usbredirhost instance and the poll loop that joins them to
 * the channel. It enters the sandbox before the device's descriptors are
 * parsed (libusb_wrap_sys_device, the interface filter) and before the first
 * byte from the AppVM is read; only raw descriptor bytes are read earlier.
 */
#ifndef USBGATE_HOST_SESSION_H
#define USBGATE_HOST_SESSION_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include "stream.h"

enum be_error {
	BE_OK = 0,
	BE_E_EOF = -1,		/* the frontend closed the channel: clean end */
	BE_E_STOPPED = -2,	/* SIGTERM: the frontend was told */
	BE_E_UNPLUG = -3,	/* the device left sys-usb */
	BE_E_PROTO = -4,	/* malformed data from the frontend */
	BE_E_CHANNEL = -5,	/* channel I/O error */
	BE_E_LIBUSB = -6,	/* libusb could not take the device */
	BE_E_SANDBOX = -7,
	BE_E_REJECTED = -8,	/* the frontend refused the device */
	BE_E_FILTER = -9,	/* refused interfaces cannot be hidden */
	BE_E__COUNT = 10
};

const char *be_strerror(int err);

struct be_options {
	const char *user;	/* unprivileged user, NULL: nobody */
	uid_t uid;		/* else this uid and gid (0: user) */
	int verbose;
	pid_t parent;		/* SIGTERM us when it dies (0: no) */
	const uint8_t *refused;	/* interface numbers the frontend must not */
	int n_refused;		/* see (iface_filter.h); borrowed */
	const uint8_t (*refused_alts)[2];	/* (interface, alt), borrowed */
	int n_refused_alts;
	int pin_config;		/* refuse other configurations */
	int confined;		/* devfd confined (confine.h): the kernel
				 * refuses claiming refused interfaces and
				 * (dis)connecting drivers */
};

/*
 * Serve the device behind devfd (a usbfs descriptor) on chan until the
 * session ends. Returns a be_error; reason gets one line for the log.
 * Takes ownership of chan; devfd stays open (the parent shares it).
 */
int be_session_run(int devfd, struct stream *chan,
    const struct be_options *opt, volatile sig_atomic_t *stop,
    char *reason, size_t reason_len);

#endif
