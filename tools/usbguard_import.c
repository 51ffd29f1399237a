/*
 * usbguard_import.c: USBGuard rules to usbgate rules, line by line, for
 * "usbgate policy import". The two languages share their vocabulary
 * (usbgate-rules(5)); what differs is settled here, each case reported:
 *
 *   block, reject          read as deny (a refused device stays in sys-usb)
 *   label "TEXT"           kept as a comment above the rule
 *   if CONDITION           not converted (rule_parse.c says where)
 *
 * Everything else is left to pol_rule_parse(), whose canonical print of the
 * rule is what is written: a line that is written parses back the same.
 * Input is untrusted text: only copied, measured and handed to the parser.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "usbguard_import.h"

#define IMP_NOTE_MAX	600

/* Length of the token at s: a quoted string (escapes kept), a brace or a word. */
static size_t
tok_len(const char *s)
{
	size_t n = 0;

	if (*s == '{' || *s == '}')
		return 1;
	if (*s == '"') {
		for (n = 1; s[n] != '\0' && s[n] != '"'; n++)
			if (s[n] == '\\' && s[n + 1] != '\0')
				n++;
		return s[n] == '"' ? n + 1 : n;
	}
	while (s[n] != '\0' && s[n] != ' ' && s[n] != '\t' && s[n] != '"' &&
	    s[n] != '{' && s[n] != '}')
		n++;
	return n;
}

static const char *
skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

/* Skip an attribute's value: a token, or [operator] { ... }. */
static const char *
skip_value(const char *s)
{
	size_t n;

	s = skip_blanks(s);
	n = tok_len(s);
	if (*s != '{' && *skip_blanks(s + n) == '{' && *s != '"')
		s = skip_blanks(s + n);		/* set operator */
	if (*s != '{')
		return s + tok_len(s);
	for (s++; *s != '\0' && *s != '}'; s = skip_blanks(s)) {
		n = tok_len(s);
		s += n ? n : 1;
	}
	return *s == '}' ? s + 1 : s;
}

/* Append "; PREFIX WHAT SUFFIX" (WHAT is len bytes of the line). */
static void
note(char *notes, const char *prefix, const char *what, int len,
    const char *suffix)
{
	size_t used = strlen(notes);

	snprintf(notes + used, IMP_NOTE_MAX - used, "%s%s%.*s%s",
	    used ? "; " : "", prefix, len, what, suffix);
}

/*
 * One USBGuard line to usbgate's syntax in out (the parser judges it);
 * what was changed in notes, the label in label.
 */
static void
convert_line(const char *in, char *out, size_t size, char *notes,
    char *label, size_t lsize)
{
	const char *s = skip_blanks(in);
	size_t o = 0, n;

	notes[0] = label[0] = '\0';
	n = tok_len(s);
	if ((n == 5 && strncmp(s, "block", 5) == 0) ||
	    (n == 6 && strncmp(s, "reject", 6) == 0)) {
		note(notes, "", s, (int)n, " read as deny");
		o = (size_t)snprintf(out, size, "deny");
		s += n;
	}
	while (*(s = skip_blanks(s)) != '\0' && o + 1 < size) {
		n = tok_len(s);
		if (n == 5 && strncmp(s, "label", n) == 0) {
			const char *v = skip_blanks(s + n), *end = skip_value(v);

			snprintf(label, lsize, "%.*s", (int)(end - v), v);
			note(notes, "label ", v, (int)(end - v),
			    " kept as a comment");
			s = end;
			continue;
		}
		if (n == 0)
			n = 1;
		o += (size_t)snprintf(out + o, size - o, "%s%.*s",
		    o ? " " : "", (int)n, s);
		s += n;
	}
	out[o < size ? o : size - 1] = '\0';
}

/* fprintf to f unless it is NULL (--json gives no text). */
static void
say(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(FILE *f, const char *fmt, ...)
{
	va_list ap;

	if (f == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
}

int
usbguard_import(const char *path, FILE *out, FILE *report,
    void (*each)(const struct usbguard_line *, void *), void *arg)
{
	struct usbguard_line ul;
	char line[POL_LINE_MAX + 2], conv[POL_LINE_MAX], msg[300];
	char notes[IMP_NOTE_MAX], label[POL_LINE_MAX], canon[POL_LINE_MAX];
	int lineno = 0, ok = 0, warned = 0, bad = 0;
	struct pol_rule *rule;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		say(report, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	say(out, "# usbgate rules converted from the USBGuard rules in %s\n"
	    "# by usbgate policy import (usbgate-rules(5)).\n", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = skip_blanks(line);

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (*p == '\0' || *p == '#') {
			say(out, "%s\n", line);
			continue;
		}
		convert_line(line, conv, sizeof(conv), notes, label,
		    sizeof(label));
		ul = (struct usbguard_line){ lineno, NULL, notes, label, "" };
		if (pol_rule_parse(conv, &rule, msg, sizeof(msg)) != POL_OK ||
		    rule == NULL) {
			ul.error = msg[0] ? msg : "not a rule";
			say(report, "%s:%d: error: %s\n", path, lineno,
			    ul.error);
			say(out, "# %s:%d: not converted (%s):\n# %s\n", path,
			    lineno, msg, line);
			if (each != NULL)
				each(&ul, arg);
			bad++;
			continue;
		}
		pol_rule_print(rule, canon, sizeof(canon));
		pol_rule_free(rule);
		ul.rule = canon;
		if (each != NULL)
			each(&ul, arg);
		if (label[0] != '\0')
			say(out, "# label %s\n", label);
		say(out, "%s\n", canon);
		if (notes[0] != '\0') {
			say(report, "%s:%d: converted: %s\n", path, lineno,
			    notes);
			warned++;
		} else
			say(report, "%s:%d: converted\n", path, lineno);
		ok++;
	}
	fclose(f);
	say(report, "%s: %d rule(s) converted (%d with changes), %d not "
	    "converted\n", path, ok, warned, bad);
	return bad;
}
