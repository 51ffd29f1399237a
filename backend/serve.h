/*
 * serve.h: "usbgate-backend serve": one device, one channel, one session.
 * Exit statuses are part of the command's interface (usbgate-backend(8)).
 */
#ifndef USBGATE_SERVE_H
#define USBGATE_SERVE_H

#include "stream.h"
#include "uid_slot.h"
#include "usbdev.h"

enum serve_exit {
	SERVE_EXIT_CLEAN = 0,	/* the frontend finished, or SIGTERM */
	SERVE_EXIT_ERROR = 1,	/* local failure (open, libusb, channel) */
	SERVE_EXIT_USAGE = 2,
	SERVE_EXIT_PROTO = 4,	/* the frontend broke the protocol */
	SERVE_EXIT_UNPLUG = 5,	/* the device left sys-usb */
	SERVE_EXIT_CHANGED = 6,	/* another device answered after the reset */
};

struct serve_options {
	const char *channel;
	int listen;
	int reset;		/* reset the device before serving it */
	const char *user;	/* every session as this user, or NULL: */
	struct uid_range uids;	/* one uid of this range per session */
	int verbose;
	const uint8_t *refused;	/* interfaces hidden from the frontend */
	int n_refused;
	const uint8_t (*refused_alts)[2];	/* (interface, alt) hidden */
	int n_refused_alts;
	int pin_config;		/* refuse other configurations */
	/*
	 * After a reset, besides usbdev_recheck(): 0 if now is still the
	 * device decided about, 1 if not, -1 if it cannot tell yet. NULL:
	 * the identity check alone.
	 */
	int (*verify)(const struct usbdev *now, const void *arg);
	const void *verify_arg;
	/*
	 * 0, or a descriptor (never 0) that receives the end record once the
	 * device is given back: 'E', the one-line reason, '\n'. It is how
	 * the session's own cause reaches dom0 (usbgate-backend daemon).
	 */
	int report_fd;
};

/* Serve d until the session ends; returns an enum serve_exit. */
int be_serve(struct usbdev *d, const struct serve_options *o);

#endif
