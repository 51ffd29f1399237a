/*
 * rule_print.c: canonical text of a rule (see rules.h). The output parses
 * back to the same rule: attributes in a fixed order, ids and interface
 * types in lowercase hex, strings quoted with \" \\ and \xHH escapes, sets
 * with their operator spelled out.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules.h"

struct out {
	char *buf;
	size_t size, len;
	int overflow;
};

static void
emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->overflow = 1;
		return;
	}
	o->len += (size_t)n;
}

static void
emit_quoted(struct out *o, const char *s)
{
	emit(o, "\"");
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			emit(o, "\\%c", ch);
		else if (ch < 0x20 || ch > 0x7e)
			emit(o, "\\x%02x", ch);
		else
			emit(o, "%c", ch);
	}
	emit(o, "\"");
}

static void
emit_hex_or_star(struct out *o, int32_t v, int digits)
{
	if (v < 0)
		emit(o, "*");
	else
		emit(o, "%0*x", digits, (unsigned)v);
}

static void
emit_ifpat(struct out *o, const struct pol_ifpat *p)
{
	emit_hex_or_star(o, p->cls, 2);
	emit(o, ":");
	emit_hex_or_star(o, p->sub, 2);
	emit(o, ":");
	emit_hex_or_star(o, p->proto, 2);
}

static void
emit_value(struct out *o, enum pol_attr_kind kind, const struct pol_attr *a,
    int i)
{
	char b64[POL_HASH_B64_LEN + 1];

	switch (kind) {
	case POL_ATTR_ID:
		emit_hex_or_star(o, a->v.ids[i].vid, 4);
		emit(o, ":");
		emit_hex_or_star(o, a->v.ids[i].pid, 4);
		break;
	case POL_ATTR_WITH_IFACE:
		emit_ifpat(o, &a->v.ifs[i]);
		break;
	case POL_ATTR_HASH:
	case POL_ATTR_PARENT_HASH:
		pol_b64_encode(a->v.hashes[i], POL_HASH_LEN, b64, sizeof(b64));
		emit(o, "\"%s\"", b64);
		break;
	default:
		emit_quoted(o, a->v.strs[i]);
		break;
	}
}

static const char *const opname[] = {
	[POL_OP_SINGLE] = "",
	[POL_OP_ALL_OF] = "all-of",
	[POL_OP_ONE_OF] = "one-of",
	[POL_OP_NONE_OF] = "none-of",
	[POL_OP_EQUALS] = "equals",
	[POL_OP_EQUALS_ORDERED] = "equals-ordered",
	[POL_OP_MATCH_ALL] = "match-all",
};

int
pol_rule_print(const struct pol_rule *rule, char *buf, size_t size)
{
	static const char *const actions[] = { "?", "allow", "deny", "ask" };
	struct out o = { buf, size, 0, 0 };
	int k, i;

	if (size == 0)
		return POL_E_TOOLONG;
	buf[0] = '\0';
	emit(&o, "%s", actions[rule->action <= POL_ACT_ASK ? rule->action : 0]);
	for (k = 0; k < POL_ATTR__COUNT; k++) {
		const struct pol_attr *a = &rule->attr[k];

		if (!a->present)
			continue;
		emit(&o, " %s ", pol_attr_keyword((enum pol_attr_kind)k));
		if (a->op == POL_OP_SINGLE && a->n == 1) {
			emit_value(&o, (enum pol_attr_kind)k, a, 0);
			continue;
		}
		emit(&o, "%s {", opname[a->op == POL_OP_SINGLE ?
		    POL_OP_EQUALS : a->op]);
		for (i = 0; i < a->n; i++) {
			emit(&o, " ");
			emit_value(&o, (enum pol_attr_kind)k, a, i);
		}
		emit(&o, " }");
	}
	if (rule->from[0] != '\0')
		emit(&o, " from %s", rule->from);
	switch (rule->to_kind) {
	case POL_TO_ANY:
		break;
	case POL_TO_ANYVM:
		emit(&o, " to @anyvm");
		break;
	case POL_TO_VM:
		emit(&o, " to %s", rule->to);
		break;
	case POL_TO_TAG:
		emit(&o, " to @tag:%s", rule->to);
		break;
	}
	if (rule->n_deny_ifaces == 1) {
		emit(&o, " deny-interface ");
		emit_ifpat(&o, &rule->deny_ifaces[0]);
	} else if (rule->n_deny_ifaces > 1) {
		emit(&o, " deny-interface {");
		for (i = 0; i < rule->n_deny_ifaces; i++) {
			emit(&o, " ");
			emit_ifpat(&o, &rule->deny_ifaces[i]);
		}
		emit(&o, " }");
	}
	if (o.overflow)
		return POL_E_TOOLONG;
	return (int)o.len;
}

int
pol_rule_describe(const struct pol_rule *rule, char *buf, size_t size)
{
	char text[POL_LINE_MAX];
	int n;

	if (pol_rule_print(rule, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "(rule too long to print)");
	if (rule->file != NULL)
		n = snprintf(buf, size, "%s:%d: %s", rule->file, rule->line,
		    text);
	else
		n = snprintf(buf, size, "%s", text);
	return n;
}
