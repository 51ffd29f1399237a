/*
 * usbgate_cli.h: what tools/usbgate.c (the usbgate command line) lends to
 * tools/qvm_usb.c (the same program run as qvm-usb, Qubes' syntax): one
 * request to usbgated with its rows, and the device list as Qubes prints
 * it.
 */
#ifndef USBGATE_USBGATE_CLI_H
#define USBGATE_USBGATE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_msg.h"

struct rows {
	struct ctl_cli_row *r;
	size_t n, cap;
};

extern const char *sock_path;	/* --socket, USBGATE_SOCKET */
extern int json;		/* --json */

/* One request to usbgated; rows appended to rs; returns done->status. */
int	cli_request(uint16_t cmd, uint32_t flags, int nargs, char **args,
	    struct rows *rs, struct ctl_cli_done *done);
const char *cli_get(const struct ctl_cli_row *row, const char *key);
/* Sort; print as Qubes' list does (nothing with --json). */
void	cli_list_print(struct rows *rs, int with_assign);

/* qvm-usb: Qubes R4.3's qvm-device usb (doc/qvm-usb.md). */
int	qvm_usb_main(int argc, char **argv);

#endif
