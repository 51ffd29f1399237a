/*
 * usbgate_json.c: the --json output of usbgate(8) (doc/cli-json.md): the
 * envelope every command prints, JSON strings, and the typing of the rows'
 * string values by key. A value that does not read as its type stays a
 * string, so the output is JSON whatever usbgated sends.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "usbgate_json.h"

enum uj_type {
	UJ_STRING,
	UJ_OPTIONAL,	/* "" is null */
	UJ_NUMBER,
	UJ_BOOL,	/* "yes" / "no" */
	UJ_NUMBERS,	/* "1,3" */
	UJ_ASSIGNS,	/* "work:auto,vault:required" */
	UJ_IFACES,	/* "0:08:06:50,1:03:00:00" */
};

static const struct {
	const char *key;
	enum uj_type type;
} uj_types[] = {
	{ "devices", UJ_NUMBER },
	{ "present", UJ_BOOL },
	{ "reset_on_attach", UJ_BOOL },
	{ "refused_interfaces", UJ_NUMBERS },
	{ "assignments", UJ_ASSIGNS },
	{ "interfaces", UJ_IFACES },
	{ "used_by", UJ_OPTIONAL },
	{ "udev_auto_attach", UJ_OPTIONAL },
	{ "rule", UJ_OPTIONAL },
	{ "hash", UJ_OPTIONAL },
	{ "parent_hash", UJ_OPTIONAL },
};

static int uj_state;	/* 0 nothing yet, 1 in rows, 2 done */
static int uj_nrows, uj_nkeys;

void
uj_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch > 0x7e)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* A decimal number of at most 9 digits, or -1. */
static long
uj_number(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Is every comma-separated item of s of the form "PREFIX-ish"? */
static int
uj_list_ok(const char *s, enum uj_type t)
{
	const char *p = s, *end;
	size_t len;

	if (*s == '\0')
		return 1;
	for (;;) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		if (t == UJ_NUMBERS && uj_number(p, len) < 0)
			return 0;
		if (t == UJ_ASSIGNS && (memchr(p, ':', len) == NULL ||
		    *p == ':'))
			return 0;
		if (t == UJ_IFACES && (len != strcspn(p, ":") + 9 ||
		    uj_number(p, strcspn(p, ":")) < 0))
			return 0;
		if (end == NULL)
			return 1;
		p = end + 1;
	}
}

static void
uj_item(FILE *f, const char *p, size_t len, enum uj_type t)
{
	char item[CTL_CLI_VALUE_MAX + 1], *colon;

	snprintf(item, sizeof(item), "%.*s", (int)len, p);
	colon = strchr(item, ':');
	if (t == UJ_NUMBERS) {
		fprintf(f, "%ld", uj_number(item, len));
		return;
	}
	*colon = '\0';
	if (t == UJ_ASSIGNS) {
		fputs("{\"vm\": ", f);
		uj_str(f, item);
		fputs(", \"mode\": ", f);
	} else
		fprintf(f, "{\"number\": %ld, \"type\": ", uj_number(item,
		    strlen(item)));
	uj_str(f, colon + 1);
	fputc('}', f);
}

static void
uj_value(FILE *f, const char *key, const char *v)
{
	enum uj_type t = UJ_STRING;
	const char *p, *end;
	size_t i;

	for (i = 0; i < sizeof(uj_types) / sizeof(uj_types[0]); i++)
		if (strcmp(uj_types[i].key, key) == 0)
			t = uj_types[i].type;
	switch (t) {
	case UJ_OPTIONAL:
		if (*v == '\0') {
			fputs("null", f);
			return;
		}
		break;
	case UJ_NUMBER:
		if (uj_number(v, strlen(v)) >= 0) {
			fprintf(f, "%ld", uj_number(v, strlen(v)));
			return;
		}
		break;
	case UJ_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
			fputs(*v == 'y' ? "true" : "false", f);
			return;
		}
		break;
	case UJ_NUMBERS:
	case UJ_ASSIGNS:
	case UJ_IFACES:
		if (!uj_list_ok(v, t))
			break;
		fputc('[', f);
		for (p = v; *p != '\0'; p = end + 1) {
			end = strchr(p, ',');
			uj_item(f, p, end ? (size_t)(end - p) : strlen(p), t);
			if (end == NULL)
				break;
			fputs(", ", f);
		}
		fputc(']', f);
		return;
	case UJ_STRING:
		break;
	}
	uj_str(f, v);
}

int
uj_begun(void)
{
	return uj_state != 0;
}

void
uj_begin(FILE *f, const char *command)
{
	fputs("{\"command\": ", f);
	uj_str(f, command);
	fputs(", \"rows\": [", f);
	uj_state = 1;
	uj_nrows = 0;
}

void
uj_row_begin(FILE *f)
{
	fputs(uj_nrows++ ? ",\n  {" : "\n  {", f);
	uj_nkeys = 0;
}

void
uj_key(FILE *f, const char *key)
{
	if (uj_nkeys++)
		fputs(", ", f);
	uj_str(f, key);
	fputs(": ", f);
}

void
uj_row_end(FILE *f)
{
	fputc('}', f);
}

void
uj_row(FILE *f, const struct ctl_cli_row *row)
{
	int i;

	uj_row_begin(f);
	for (i = 0; i < row->nfields; i++) {
		uj_key(f, row->f[i].key);
		uj_value(f, row->f[i].key, row->f[i].value);
	}
	uj_row_end(f);
}

void
uj_end(FILE *f, int status, const char *message, const char *rule)
{
	fputs(uj_nrows ? "\n ], " : "], ", f);
	fprintf(f, "\"status\": %d, \"result\": ", status);
	uj_str(f, ctl_status_name(status));
	fputs(", \"message\": ", f);
	uj_str(f, message ? message : "");
	fputs(", \"rule\": ", f);
	uj_value(f, "rule", rule ? rule : "");
	fputs("}\n", f);
	uj_state = 2;
}
