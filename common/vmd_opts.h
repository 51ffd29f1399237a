/*
 * vmd_opts.h: the command line both VM daemons share (usbgate-backend
 * daemon in sys-usb, usbgate-frontend daemon in an AppVM): the control
 * channel, the name, the data-channel pool, the session user, verbosity,
 * --check (parse the arguments, say what would run, and exit).
 * Each daemon adds its own options through a table and a callback.
 */
#ifndef USBGATE_VMD_OPTS_H
#define USBGATE_VMD_OPTS_H

#include <getopt.h>

#include "data_pool.h"

struct vmd_opts {
	const char *control;	/* --control URI (required) */
	int listen;		/* --listen: wait for dom0 to connect */
	const char *name;	/* --name NAME, or the default given */
	struct data_pool pool;	/* --data-pool GLOB... */
	const char *user;	/* --user USER of the sessions, or NULL */
	int verbose;		/* -v, repeated */
	int check;		/* --check: arguments only, then exit */
};

/* One of the daemon's own options: 0, or -1 to refuse its argument. */
typedef int vmd_opt_fn(void *ctx, int ch, const char *arg);

/*
 * Parse argv into o (o->name starts as name_default). extra (ending in a
 * zero row, or NULL) and extra_short name the daemon's own options, which
 * go to fn. Returns 0, or -1 on a usage error: an unknown option, fn
 * refusing, an operand, no --control, or a name that is not a VM name
 * (an empty name passes only when empty_name_ok).
 */
int vmd_opts_parse(int argc, char **argv, const struct option *extra,
    const char *extra_short, vmd_opt_fn *fn, void *ctx,
    const char *name_default, int empty_name_ok, struct vmd_opts *o);

/* --check's answer on stdout: the control channel and the name. */
void vmd_opts_print(const struct vmd_opts *o);

#endif
