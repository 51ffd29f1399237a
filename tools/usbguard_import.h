/*
 * usbguard_import.h: "usbgate policy import FILE" (usbgate(8)): a USBGuard
 * rules file (usbguard generate-policy, rules.conf) turned into usbgate
 * rules on one stream, with a report of every line on another.
 */
#ifndef USBGATE_USBGUARD_IMPORT_H
#define USBGATE_USBGUARD_IMPORT_H

#include <stdio.h>

/* What became of one rule line: an error, or the rule and its changes. */
struct usbguard_line {
	int lineno;
	const char *error;	/* NULL if converted */
	const char *changes;	/* "" if none */
	const char *label;	/* "" if none */
	const char *rule;	/* the usbgate rule, if converted */
};

/*
 * Convert path; rules (and the lines not converted, as comments) to out,
 * one report line per rule line plus a summary to report. With each set,
 * each rule line is also given to each (for --json; out and report may
 * then be NULL). Returns the number of lines that could not be converted,
 * or -1 if path cannot be read.
 */
int	usbguard_import(const char *path, FILE *out, FILE *report,
	    void (*each)(const struct usbguard_line *, void *), void *arg);

#endif
