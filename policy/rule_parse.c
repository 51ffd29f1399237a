/*
 * rule_parse.c: tokenizer, parser and verifier of the rule language, and
 * the loading of rule files and directories (see rules.h, usbgate-rules(5)).
 *
 * One rule per line. Tokens are words (no blanks, quotes, braces or '#'),
 * double-quoted strings with the escapes \" \\ and \xHH, and braces; '#'
 * at the start of a token runs to the end of the line. Verification is
 * part of parsing: every value is checked as it is read, and rule-level
 * constraints once the line is complete, so a rule that comes out of here
 * is valid.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pol_file.h"
#include "rules.h"

#define RULES_FILE_MAX	(4u << 20)

/* ---- diagnostics ------------------------------------------------------ */

void
pol_diag_add(struct pol_diags *dg, const char *file, int line,
    const char *fmt, ...)
{
	struct pol_diag *d;
	va_list ap;

	if (dg == NULL)
		return;
	dg->total++;
	if (dg->n >= POL_DIAG_MAX)
		return;
	d = &dg->d[dg->n++];
	snprintf(d->file, sizeof(d->file), "%s", file ? file : "-");
	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

int
pol_diag_format(const struct pol_diag *d, char *buf, size_t size)
{
	if (d->line > 0)
		return snprintf(buf, size, "%s:%d: %s", d->file, d->line,
		    d->msg);
	return snprintf(buf, size, "%s: %s", d->file, d->msg);
}

/* ---- tokenizer -------------------------------------------------------- */

enum tok_kind { T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE };

struct tok {
	enum tok_kind kind;
	char text[POL_LINE_MAX];
	int col;		/* 1-based */
};

struct lexer {
	const char *s;
	size_t pos;
	char *msg;
	size_t msgsize;
};

static int
lx_error(struct lexer *lx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
lx_error(struct lexer *lx, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lx->msg, lx->msgsize, fmt, ap);
	va_end(ap);
	return err;
}

static int
is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static int
lex_next(struct lexer *lx, struct tok *t)
{
	const char *s = lx->s;
	size_t o = 0;

	while (is_blank((unsigned char)s[lx->pos]))
		lx->pos++;
	t->col = (int)lx->pos + 1;
	t->text[0] = '\0';
	if (s[lx->pos] == '\0' || s[lx->pos] == '#' || s[lx->pos] == '\n') {
		t->kind = T_EOF;
		return POL_OK;
	}
	if (s[lx->pos] == '{' || s[lx->pos] == '}') {
		t->kind = s[lx->pos] == '{' ? T_LBRACE : T_RBRACE;
		t->text[0] = s[lx->pos++];
		t->text[1] = '\0';
		return POL_OK;
	}
	if (s[lx->pos] == '"') {
		lx->pos++;
		for (;;) {
			int ch = (unsigned char)s[lx->pos];

			if (ch == '\0' || ch == '\n')
				return lx_error(lx, POL_E_SYNTAX,
				    "unterminated string starting at column %d",
				    t->col);
			lx->pos++;
			if (ch == '"')
				break;
			if (ch == '\\') {
				int e = (unsigned char)s[lx->pos], hi, lo;

				if (e == '"' || e == '\\') {
					ch = e;
					lx->pos++;
				} else if (e == 'x' && (hi = ident_hexval(
				    (unsigned char)s[lx->pos + 1])) >= 0 &&
				    (lo = ident_hexval(
				    (unsigned char)s[lx->pos + 2])) >= 0) {
					ch = hi * 16 + lo;
					lx->pos += 3;
					if (ch == 0)
						return lx_error(lx, POL_E_VALUE,
						    "\\x00 is not allowed in "
						    "a string");
				} else
					return lx_error(lx, POL_E_SYNTAX,
					    "unknown escape in string at "
					    "column %d (use \\\", \\\\ or "
					    "\\xHH)", (int)lx->pos);
			}
			if (o + 1 >= sizeof(t->text))
				return lx_error(lx, POL_E_TOOLONG,
				    "string too long");
			t->text[o++] = (char)ch;
		}
		t->text[o] = '\0';
		t->kind = T_STRING;
		return POL_OK;
	}
	while (s[lx->pos] != '\0' && s[lx->pos] != '\n' &&
	    !is_blank((unsigned char)s[lx->pos]) && s[lx->pos] != '"' &&
	    s[lx->pos] != '{' && s[lx->pos] != '}' && s[lx->pos] != '#') {
		if (o + 1 >= sizeof(t->text))
			return lx_error(lx, POL_E_TOOLONG, "word too long");
		t->text[o++] = s[lx->pos++];
	}
	t->text[o] = '\0';
	t->kind = T_WORD;
	return POL_OK;
}

/* ---- value parsers ---------------------------------------------------- */

static int
parse_hex(const char *s, size_t n, int32_t *v)
{
	size_t i;
	int d;

	if (n == 1 && s[0] == '*') {
		*v = -1;
		return 1;
	}
	*v = 0;
	for (i = 0; i < n; i++) {
		if ((d = ident_hexval((unsigned char)s[i])) < 0)
			return 0;
		*v = *v * 16 + d;
	}
	return 1;
}

static int
parse_idpat(const char *s, struct pol_idpat *out)
{
	const char *colon = strchr(s, ':');
	size_t vl, pl;

	if (colon == NULL)
		return 0;
	vl = (size_t)(colon - s);
	pl = strlen(colon + 1);
	if (!((vl == 4 || (vl == 1 && s[0] == '*')) &&
	    (pl == 4 || (pl == 1 && colon[1] == '*'))))
		return 0;
	if (!parse_hex(s, vl, &out->vid) || !parse_hex(colon + 1, pl, &out->pid))
		return 0;
	/* "*:1234" names no product: a PID means nothing without a VID. */
	return !(out->vid < 0 && out->pid >= 0);
}

static int
parse_ifpat(const char *s, struct pol_ifpat *out)
{
	int32_t c, sub, p;

	if (strlen(s) < 5)
		return 0;
	/* CC:SS:PP, each two hex digits or one '*' */
	{
		const char *a = s, *b = strchr(a, ':'), *d;

		if (b == NULL || (d = strchr(b + 1, ':')) == NULL ||
		    strchr(d + 1, ':') != NULL)
			return 0;
		if ((size_t)(b - a) != 2 ||
		    !parse_hex(a, 2, &c))
			return 0;
		if (!((size_t)(d - b - 1) == 2 || ((size_t)(d - b - 1) == 1 &&
		    b[1] == '*')) || !parse_hex(b + 1, (size_t)(d - b - 1), &sub))
			return 0;
		if (!(strlen(d + 1) == 2 || strcmp(d + 1, "*") == 0) ||
		    !parse_hex(d + 1, strlen(d + 1), &p))
			return 0;
	}
	/* As in USBGuard: a wildcard subclass implies a wildcard protocol. */
	if (sub < 0 && p >= 0)
		return 0;
	out->cls = (int16_t)c;
	out->sub = (int16_t)sub;
	out->proto = (int16_t)p;
	return 1;
}

/* ---- parser ----------------------------------------------------------- */

static const char *const attr_kw[POL_ATTR__COUNT] = {
	[POL_ATTR_ID] = "id",
	[POL_ATTR_SERIAL] = "serial",
	[POL_ATTR_NAME] = "name",
	[POL_ATTR_HASH] = "hash",
	[POL_ATTR_PARENT_HASH] = "parent-hash",
	[POL_ATTR_VIA_PORT] = "via-port",
	[POL_ATTR_WITH_IFACE] = "with-interface",
	[POL_ATTR_CONNECT_TYPE] = "with-connect-type",
};

const char *
pol_attr_keyword(enum pol_attr_kind kind)
{
	if ((int)kind < 0 || kind >= POL_ATTR__COUNT)
		return "?";
	return attr_kw[kind];
}

static const struct {
	const char *name;
	enum pol_setop op;
} setops[] = {
	{ "all-of", POL_OP_ALL_OF },
	{ "one-of", POL_OP_ONE_OF },
	{ "none-of", POL_OP_NONE_OF },
	{ "equals", POL_OP_EQUALS },
	{ "equals-ordered", POL_OP_EQUALS_ORDERED },
	{ "match-all", POL_OP_MATCH_ALL },
};

/* Read one value of attribute kind into slot i of a. */
static int
attr_value(struct lexer *lx, enum pol_attr_kind kind, struct pol_attr *a,
    const struct tok *t)
{
	int i = a->n, r;

	if (a->n >= POL_SET_MAX)
		return lx_error(lx, POL_E_TOOLONG,
		    "too many values for '%s' (at most %d)", attr_kw[kind],
		    POL_SET_MAX);
	switch (kind) {
	case POL_ATTR_ID:
		if (t->kind != T_WORD || !parse_idpat(t->text, &a->v.ids[i]))
			return lx_error(lx, POL_E_VALUE,
			    "bad device id '%s' (want VVVV:PPPP, VVVV:* "
			    "or *:*)", t->text);
		break;
	case POL_ATTR_WITH_IFACE:
		if (t->kind != T_WORD || !parse_ifpat(t->text, &a->v.ifs[i]))
			return lx_error(lx, POL_E_VALUE,
			    "bad interface type '%s' (want CC:SS:PP, CC:SS:* "
			    "or CC:*:*)", t->text);
		break;
	case POL_ATTR_HASH:
	case POL_ATTR_PARENT_HASH:
		if (t->kind != T_STRING && t->kind != T_WORD)
			return lx_error(lx, POL_E_SYNTAX, "%s needs a value",
			    attr_kw[kind]);
		r = pol_b64_decode(t->text, a->v.hashes[i], POL_HASH_LEN);
		if (r != POL_HASH_LEN || strlen(t->text) != POL_HASH_B64_LEN)
			return lx_error(lx, POL_E_VALUE,
			    "bad %s \"%.60s\" (want the base64 of a SHA-256 "
			    "digest, %d characters)", attr_kw[kind], t->text,
			    POL_HASH_B64_LEN);
		break;
	case POL_ATTR_CONNECT_TYPE:
		if (t->kind != T_STRING)
			return lx_error(lx, POL_E_SYNTAX,
			    "%s needs a quoted string, got '%.60s'",
			    attr_kw[kind], t->text);
		if (ident_connect_parse(t->text) < 0)
			return lx_error(lx, POL_E_VALUE,
			    "bad connect type \"%.60s\" (the kernel writes "
			    "\"hotplug\", \"hardwired\", \"not used\" or "
			    "\"unknown\"; \"\" for a port without one)",
			    t->text);
		if ((a->v.strs[i] = strdup(t->text)) == NULL)
			return POL_E_NOMEM;
		break;
	case POL_ATTR_VIA_PORT:
		if ((t->kind != T_STRING && t->kind != T_WORD) ||
		    !ident_busid_valid(t->text))
			return lx_error(lx, POL_E_VALUE,
			    "bad port \"%.60s\" (want BUS-PORT[.PORT]..., "
			    "e.g. \"1-2.4\")", t->text);
		if ((a->v.strs[i] = strdup(t->text)) == NULL)
			return POL_E_NOMEM;
		break;
	case POL_ATTR_SERIAL:
	case POL_ATTR_NAME:
		if (t->kind != T_STRING)
			return lx_error(lx, POL_E_SYNTAX,
			    "%s needs a quoted string, got '%.60s'",
			    attr_kw[kind], t->text);
		if (strlen(t->text) > POL_USBSTR_MAX)
			return lx_error(lx, POL_E_TOOLONG,
			    "%s longer than %d characters", attr_kw[kind],
			    POL_USBSTR_MAX);
		if (!ident_str_valid_or_empty(t->text, IDENT_CS_PRINT))
			return lx_error(lx, POL_E_VALUE,
			    "%s contains a character outside printable "
			    "ASCII; it could never match (devices are "
			    "reported in ASCII, others as '_')",
			    attr_kw[kind]);
		if ((a->v.strs[i] = strdup(t->text)) == NULL)
			return POL_E_NOMEM;
		break;
	case POL_ATTR__COUNT:
		break;
	}
	a->n++;
	return POL_OK;
}

static int
attr_alloc(struct pol_attr *a, enum pol_attr_kind kind)
{
	switch (kind) {
	case POL_ATTR_ID:
		a->v.ids = calloc(POL_SET_MAX, sizeof(*a->v.ids));
		break;
	case POL_ATTR_WITH_IFACE:
		a->v.ifs = calloc(POL_SET_MAX, sizeof(*a->v.ifs));
		break;
	case POL_ATTR_HASH:
	case POL_ATTR_PARENT_HASH:
		a->v.hashes = calloc(POL_SET_MAX, sizeof(*a->v.hashes));
		break;
	default:
		a->v.strs = calloc(POL_SET_MAX, sizeof(*a->v.strs));
		break;
	}
	return a->v.ids == NULL ? POL_E_NOMEM : POL_OK;
}

/*
 * The device's interface types are a set (rule_match.c keeps each type
 * once), so the rule's are too: usbguard generate-policy writes one value
 * per interface, "{ 03:01:02 03:00:00 03:00:00 }", which must match.
 */
static void
ifset_dedupe(struct pol_attr *a)
{
	int i, j, n = 0;

	for (i = 0; i < a->n; i++) {
		for (j = 0; j < n; j++)
			if (a->v.ifs[j].cls == a->v.ifs[i].cls &&
			    a->v.ifs[j].sub == a->v.ifs[i].sub &&
			    a->v.ifs[j].proto == a->v.ifs[i].proto)
				break;
		if (j == n)
			a->v.ifs[n++] = a->v.ifs[i];
	}
	a->n = n;
}

static int
parse_attr(struct lexer *lx, struct pol_rule *rule, enum pol_attr_kind kind,
    const struct tok *shorthand)
{
	struct pol_attr *a = &rule->attr[kind];
	struct tok t;
	size_t i;
	int r;

	if (a->present)
		return lx_error(lx, POL_E_DUP, "duplicate attribute '%s'",
		    attr_kw[kind]);
	a->present = 1;
	if ((r = attr_alloc(a, kind)) != POL_OK)
		return r;
	if (shorthand != NULL) {
		a->op = POL_OP_SINGLE;
		return attr_value(lx, kind, a, shorthand);
	}
	if ((r = lex_next(lx, &t)) != POL_OK)
		return r;
	a->op = POL_OP_SINGLE;
	if (t.kind == T_WORD)
		for (i = 0; i < sizeof(setops) / sizeof(setops[0]); i++)
			if (strcmp(t.text, setops[i].name) == 0) {
				a->op = setops[i].op;
				if ((r = lex_next(lx, &t)) != POL_OK)
					return r;
				if (t.kind != T_LBRACE)
					return lx_error(lx, POL_E_SYNTAX,
					    "'%s' must be followed by "
					    "{ values }", setops[i].name);
				break;
			}
	if (t.kind == T_LBRACE) {
		if (a->op == POL_OP_SINGLE)
			a->op = POL_OP_EQUALS;	/* USBGuard's default */
		for (;;) {
			if ((r = lex_next(lx, &t)) != POL_OK)
				return r;
			if (t.kind == T_RBRACE)
				break;
			if (t.kind == T_EOF)
				return lx_error(lx, POL_E_SYNTAX,
				    "missing '}' after values of '%s'",
				    attr_kw[kind]);
			if ((r = attr_value(lx, kind, a, &t)) != POL_OK)
				return r;
		}
		if (a->n == 0)
			return lx_error(lx, POL_E_SYNTAX,
			    "empty set for '%s'", attr_kw[kind]);
		if (kind == POL_ATTR_WITH_IFACE)
			ifset_dedupe(a);
		return POL_OK;
	}
	if (t.kind == T_EOF)
		return lx_error(lx, POL_E_SYNTAX, "'%s' needs a value",
		    attr_kw[kind]);
	return attr_value(lx, kind, a, &t);
}

static int
parse_deny_iface(struct lexer *lx, struct pol_rule *rule)
{
	struct tok t;
	int r, braced = 0;

	if (rule->deny_ifaces != NULL)
		return lx_error(lx, POL_E_DUP,
		    "duplicate attribute 'deny-interface'");
	rule->deny_ifaces = calloc(POL_SET_MAX, sizeof(*rule->deny_ifaces));
	if (rule->deny_ifaces == NULL)
		return POL_E_NOMEM;
	if ((r = lex_next(lx, &t)) != POL_OK)
		return r;
	if (t.kind == T_LBRACE) {
		braced = 1;
		if ((r = lex_next(lx, &t)) != POL_OK)
			return r;
	}
	for (;;) {
		if (braced && t.kind == T_RBRACE)
			break;
		if (t.kind == T_EOF)
			return lx_error(lx, POL_E_SYNTAX, braced ?
			    "missing '}' after deny-interface values" :
			    "'deny-interface' needs a value");
		if (rule->n_deny_ifaces >= POL_SET_MAX)
			return lx_error(lx, POL_E_TOOLONG,
			    "too many deny-interface values");
		if (t.kind != T_WORD ||
		    !parse_ifpat(t.text, &rule->deny_ifaces[rule->n_deny_ifaces]))
			return lx_error(lx, POL_E_VALUE,
			    "bad interface type '%s' (want CC:SS:PP, CC:SS:* "
			    "or CC:*:*)", t.text);
		rule->n_deny_ifaces++;
		if (!braced)
			break;
		if ((r = lex_next(lx, &t)) != POL_OK)
			return r;
	}
	if (rule->n_deny_ifaces == 0)
		return lx_error(lx, POL_E_SYNTAX, "empty set for "
		    "'deny-interface'");
	return POL_OK;
}

static int
parse_target(struct lexer *lx, struct pol_rule *rule)
{
	struct tok t;
	int r;

	if (rule->to_kind != POL_TO_ANY)
		return lx_error(lx, POL_E_DUP, "duplicate attribute 'to'");
	if ((r = lex_next(lx, &t)) != POL_OK)
		return r;
	if (t.kind != T_WORD)
		return lx_error(lx, POL_E_SYNTAX,
		    "'to' needs a VM name, @anyvm or @tag:NAME");
	if (strcmp(t.text, "@anyvm") == 0) {
		rule->to_kind = POL_TO_ANYVM;
		return POL_OK;
	}
	if (strncmp(t.text, "@tag:", 5) == 0) {
		if (!ident_name_valid(t.text + 5))
			return lx_error(lx, POL_E_VALUE, "bad tag name '%s'",
			    t.text + 5);
		rule->to_kind = POL_TO_TAG;
		snprintf(rule->to, sizeof(rule->to), "%.31s", t.text + 5);
		return POL_OK;
	}
	if (t.text[0] == '@')
		return lx_error(lx, POL_E_VALUE, "unknown target '%s' (want "
		    "a VM name, @anyvm or @tag:NAME)", t.text);
	if (!ident_name_valid(t.text))
		return lx_error(lx, POL_E_VALUE, "bad VM name '%s'", t.text);
	if (strcmp(t.text, "dom0") == 0)
		return lx_error(lx, POL_E_VALUE,
		    "dom0 never receives USB devices");
	rule->to_kind = POL_TO_VM;
	snprintf(rule->to, sizeof(rule->to), "%.31s", t.text);
	return POL_OK;
}

static int
parse_from(struct lexer *lx, struct pol_rule *rule)
{
	struct tok t;
	int r;

	if (rule->from[0] != '\0')
		return lx_error(lx, POL_E_DUP, "duplicate attribute 'from'");
	if ((r = lex_next(lx, &t)) != POL_OK)
		return r;
	if (t.kind != T_WORD || !ident_name_valid(t.text))
		return lx_error(lx, POL_E_VALUE,
		    "'from' needs a backend VM name, got '%s'", t.text);
	snprintf(rule->from, sizeof(rule->from), "%.31s", t.text);
	return POL_OK;
}

static int
parse_line(struct lexer *lx, struct pol_rule *rule)
{
	struct tok t;
	int r, i, first = 1;

	if ((r = lex_next(lx, &t)) != POL_OK)
		return r;
	if (t.kind == T_EOF)
		return 1;	/* blank or comment */
	if (t.kind != T_WORD)
		return lx_error(lx, POL_E_SYNTAX,
		    "a rule starts with allow, deny or ask");
	if (strcmp(t.text, "allow") == 0)
		rule->action = POL_ACT_ALLOW;
	else if (strcmp(t.text, "deny") == 0)
		rule->action = POL_ACT_DENY;
	else if (strcmp(t.text, "ask") == 0)
		rule->action = POL_ACT_ASK;
	else if (strcmp(t.text, "block") == 0 || strcmp(t.text, "reject") == 0)
		return lx_error(lx, POL_E_SYNTAX, "unknown action '%s' "
		    "(usbgate's actions are allow, deny and ask; use deny)",
		    t.text);
	else
		return lx_error(lx, POL_E_SYNTAX, "unknown action '%.60s' "
		    "(want allow, deny or ask)", t.text);

	for (;; first = 0) {
		struct pol_idpat tmp;

		if ((r = lex_next(lx, &t)) != POL_OK)
			return r;
		if (t.kind == T_EOF)
			break;
		if (t.kind != T_WORD)
			return lx_error(lx, POL_E_SYNTAX,
			    "unexpected '%.60s' at column %d", t.text, t.col);
		for (i = 0; i < POL_ATTR__COUNT; i++)
			if (strcmp(t.text, attr_kw[i]) == 0)
				break;
		if (i < POL_ATTR__COUNT)
			r = parse_attr(lx, rule, (enum pol_attr_kind)i, NULL);
		else if (strcmp(t.text, "from") == 0)
			r = parse_from(lx, rule);
		else if (strcmp(t.text, "to") == 0)
			r = parse_target(lx, rule);
		else if (strcmp(t.text, "deny-interface") == 0)
			r = parse_deny_iface(lx, rule);
		else if (first && parse_idpat(t.text, &tmp))
			/* USBGuard's shorthand: "allow 1050:0011 ..." */
			r = parse_attr(lx, rule, POL_ATTR_ID, &t);
		else if (strcmp(t.text, "label") == 0) {
			/* USBGuard's note for people: read, not kept. */
			if ((r = lex_next(lx, &t)) == POL_OK &&
			    t.kind != T_STRING)
				return lx_error(lx, POL_E_SYNTAX, "label needs "
				    "a quoted string");
		} else if (strcmp(t.text, "if") == 0)
			return lx_error(lx, POL_E_SYNTAX, "USBGuard conditions "
			    "are not supported (at column %d)", t.col);
		else
			return lx_error(lx, POL_E_SYNTAX,
			    "unknown attribute '%.60s' at column %d", t.text,
			    t.col);
		if (r != POL_OK)
			return r;
	}

	/* Rule-level checks. */
	if (rule->n_deny_ifaces > 0 && rule->action == POL_ACT_DENY)
		return lx_error(lx, POL_E_VALUE, "deny-interface has no "
		    "effect on a deny rule (the whole device is denied)");
	return POL_OK;
}

void
pol_rule_free(struct pol_rule *rule)
{
	int k, i;

	if (rule == NULL)
		return;
	for (k = 0; k < POL_ATTR__COUNT; k++) {
		struct pol_attr *a = &rule->attr[k];

		if (k == POL_ATTR_SERIAL || k == POL_ATTR_NAME ||
		    k == POL_ATTR_VIA_PORT || k == POL_ATTR_CONNECT_TYPE) {
			if (a->v.strs != NULL)
				for (i = 0; i < a->n; i++)
					free(a->v.strs[i]);
		}
		free(a->v.ids);		/* any member: same pointer */
	}
	free(rule->deny_ifaces);
	free(rule);
}

int
pol_rule_parse(const char *line, struct pol_rule **out, char *msg,
    size_t msgsize)
{
	struct pol_rule *rule;
	struct lexer lx = { line, 0, msg, msgsize };
	int r;

	*out = NULL;
	if (msgsize > 0)
		msg[0] = '\0';
	if (strlen(line) >= POL_LINE_MAX)
		return lx_error(&lx, POL_E_TOOLONG, "line longer than %d bytes",
		    POL_LINE_MAX - 1);
	if ((rule = calloc(1, sizeof(*rule))) == NULL)
		return POL_E_NOMEM;
	r = parse_line(&lx, rule);
	if (r == 1) {
		pol_rule_free(rule);
		return POL_OK;
	}
	if (r != POL_OK) {
		if (r == POL_E_NOMEM && msgsize > 0)
			snprintf(msg, msgsize, "out of memory");
		pol_rule_free(rule);
		return r;
	}
	*out = rule;
	return POL_OK;
}

/* ---- rule sets -------------------------------------------------------- */

void
pol_ruleset_init(struct pol_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
}

void
pol_ruleset_free(struct pol_ruleset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		pol_rule_free(rs->rules[i]);
	for (i = 0; i < rs->n_files; i++)
		free(rs->files[i]);
	free(rs->rules);
	free(rs->files);
	memset(rs, 0, sizeof(*rs));
}

static const char *
ruleset_file(struct pol_ruleset *rs, const char *name)
{
	char **nf, *copy;

	if ((copy = strdup(name)) == NULL)
		return NULL;
	if ((nf = realloc(rs->files, (rs->n_files + 1) * sizeof(*nf))) == NULL) {
		free(copy);
		return NULL;
	}
	rs->files = nf;
	rs->files[rs->n_files++] = copy;
	return copy;
}

static int
ruleset_push(struct pol_ruleset *rs, struct pol_rule *rule)
{
	if (rs->n == rs->cap) {
		size_t ncap = rs->cap ? rs->cap * 2 : 32;
		struct pol_rule **nr = realloc(rs->rules, ncap * sizeof(*nr));

		if (nr == NULL)
			return POL_E_NOMEM;
		rs->rules = nr;
		rs->cap = ncap;
	}
	rs->rules[rs->n++] = rule;
	return POL_OK;
}

int
pol_ruleset_load_text(struct pol_ruleset *rs, const char *text,
    const char *name, struct pol_diags *dg)
{
	const char *file, *p = text, *nl;
	char *line, msg[256];
	struct pol_rule *rule;
	int lineno = 0, r, ret = POL_OK;

	if ((file = ruleset_file(rs, name)) == NULL)
		return POL_E_NOMEM;
	if ((line = malloc(POL_LINE_MAX + 1)) == NULL)
		return POL_E_NOMEM;
	while (*p != '\0') {
		size_t len;

		lineno++;
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len >= POL_LINE_MAX) {
			pol_diag_add(dg, file, lineno, "line longer than %d "
			    "bytes", POL_LINE_MAX - 1);
			ret = POL_E_TOOLONG;
		} else {
			memcpy(line, p, len);
			line[len] = '\0';
			r = pol_rule_parse(line, &rule, msg, sizeof(msg));
			if (r != POL_OK) {
				pol_diag_add(dg, file, lineno, "%s", msg);
				ret = r;
			} else if (rule != NULL) {
				rule->file = file;
				rule->line = lineno;
				if ((r = ruleset_push(rs, rule)) != POL_OK) {
					pol_rule_free(rule);
					free(line);
					return r;
				}
			}
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	free(line);
	return ret;
}

int
pol_ruleset_load_file(struct pol_ruleset *rs, const char *path,
    struct pol_diags *dg)
{
	char *text;
	size_t got;
	int r;

	r = pol_file_read(path, RULES_FILE_MAX, &text, &got);
	if (r == POL_E_IO && (errno == EINVAL || errno == EFBIG)) {
		pol_diag_add(dg, path, 0, "not a regular file of at most %u "
		    "bytes", RULES_FILE_MAX);
		return r;
	}
	if (r == POL_E_NOTFOUND || r == POL_E_IO) {
		pol_diag_add(dg, path, 0, "cannot open: %s", strerror(errno));
		return r;
	}
	if (r != POL_OK)
		return r;
	if (memchr(text, '\0', got) != NULL) {
		pol_diag_add(dg, path, 0, "contains a NUL byte");
		free(text);
		return POL_E_SYNTAX;
	}
	r = pol_ruleset_load_text(rs, text, path, dg);
	free(text);
	return r;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
pol_ruleset_load_dir(struct pol_ruleset *rs, const char *dir,
    struct pol_diags *dg)
{
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i, len;
	DIR *d;
	int r, ret = POL_OK;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return POL_E_NOTFOUND;
		pol_diag_add(dg, dir, 0, "cannot open directory: %s",
		    strerror(errno));
		return POL_E_IO;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 7 ||
		    strcmp(de->d_name + len - 6, ".rules") != 0)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 16) *
			    sizeof(*nn));

			if (nn == NULL) {
				ret = POL_E_NOMEM;
				break;
			}
			names = nn;
			cap = cap ? cap * 2 : 16;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			ret = POL_E_NOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (ret == POL_OK && n > 1)	/* an empty directory: names is NULL */
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (ret != POL_E_NOMEM) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			r = pol_ruleset_load_file(rs, path, dg);
			if (r != POL_OK)
				ret = r;
		}
		free(names[i]);
	}
	free(names);
	return ret;
}
