/*
 * usbgate_json.h: the --json output of usbgate(8), doc/cli-json.md. One
 * object per run on stdout, whatever the command and whether it failed:
 *
 *   {"command": NAME, "rows": [ROW...], "status": N, "result": NAME,
 *    "message": TEXT, "rule": TEXT|null}
 *
 * Rows come from usbgated as strings (struct ctl_cli_row); this file types
 * them by key (numbers, booleans, lists, null for "none").
 */
#ifndef USBGATE_USBGATE_JSON_H
#define USBGATE_USBGATE_JSON_H

#include <stdio.h>

#include "ctl_msg.h"

void	uj_begin(FILE *f, const char *command);
void	uj_row(FILE *f, const struct ctl_cli_row *row);
/* A row written by the caller: uj_row_begin, uj_key + a value, uj_row_end. */
void	uj_row_begin(FILE *f);
void	uj_key(FILE *f, const char *key);
void	uj_str(FILE *f, const char *s);
void	uj_row_end(FILE *f);
void	uj_end(FILE *f, int status, const char *message, const char *rule);
int	uj_begun(void);

#endif
