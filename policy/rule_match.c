/*
 * rule_match.c: matching devices against rules (see rules.h).
 *
 * Set semantics follow usbguard-rules.conf(5). For an attribute with rule
 * values R and device values D (one value for id, serial, name, hash and
 * via-port; the interface types for with-interface, each type once):
 *   all-of          every r in R matches some d in D
 *   one-of          some r in R matches some d in D
 *   none-of         no r in R matches any d in D
 *   equals          |D| = |R|, every d matches some r and every r some d
 *   equals-ordered  |D| = |R| and D[i] matches R[i] for every i
 *   match-all       every d in D matches some r in R
 * A single value without braces means equals with that one value.
 */
#include "config.h"

#include <string.h>

#include "rules.h"

const char *
pol_decision_name(enum pol_decision d)
{
	switch (d) {
	case POL_NO_MATCH:
		return "no match";
	case POL_ALLOW:
		return "allow";
	case POL_DENY:
		return "deny";
	case POL_ASK:
		return "ask";
	}
	return "?";
}

/* Device-side values of one attribute. */
struct devvals {
	int n;
	struct pol_idpat id;
	const char *str;
	const uint8_t *hash;
	struct pol_ifpat ifs[POL_IFACE_MAX];
};

static int
ifpat_match(const struct pol_ifpat *dev, const struct pol_ifpat *pat)
{
	return (pat->cls < 0 || pat->cls == dev->cls) &&
	    (pat->sub < 0 || pat->sub == dev->sub) &&
	    (pat->proto < 0 || pat->proto == dev->proto);
}

static int
value_match(enum pol_attr_kind kind, const struct devvals *dv, int di,
    const struct pol_attr *a, int ri)
{
	switch (kind) {
	case POL_ATTR_ID:
		return (a->v.ids[ri].vid < 0 || a->v.ids[ri].vid == dv->id.vid)
		    && (a->v.ids[ri].pid < 0 ||
		    a->v.ids[ri].pid == dv->id.pid);
	case POL_ATTR_SERIAL:
	case POL_ATTR_NAME:
	case POL_ATTR_VIA_PORT:
		return strcmp(a->v.strs[ri], dv->str) == 0;
	case POL_ATTR_HASH:
		return dv->hash != NULL &&
		    memcmp(a->v.hashes[ri], dv->hash, POL_HASH_LEN) == 0;
	case POL_ATTR_WITH_IFACE:
		return ifpat_match(&dv->ifs[di], &a->v.ifs[ri]);
	case POL_ATTR__COUNT:
		break;
	}
	return 0;
}

static int
some_dev_matches(enum pol_attr_kind kind, const struct devvals *dv,
    const struct pol_attr *a, int ri)
{
	int di;

	for (di = 0; di < dv->n; di++)
		if (value_match(kind, dv, di, a, ri))
			return 1;
	return 0;
}

static int
some_rule_matches(enum pol_attr_kind kind, const struct devvals *dv, int di,
    const struct pol_attr *a)
{
	int ri;

	for (ri = 0; ri < a->n; ri++)
		if (value_match(kind, dv, di, a, ri))
			return 1;
	return 0;
}

static int
attr_match(enum pol_attr_kind kind, const struct devvals *dv,
    const struct pol_attr *a)
{
	int i;

	switch (a->op) {
	case POL_OP_ALL_OF:
		for (i = 0; i < a->n; i++)
			if (!some_dev_matches(kind, dv, a, i))
				return 0;
		return 1;
	case POL_OP_ONE_OF:
		for (i = 0; i < a->n; i++)
			if (some_dev_matches(kind, dv, a, i))
				return 1;
		return 0;
	case POL_OP_NONE_OF:
		for (i = 0; i < a->n; i++)
			if (some_dev_matches(kind, dv, a, i))
				return 0;
		return 1;
	case POL_OP_SINGLE:
	case POL_OP_EQUALS:
		if (dv->n != a->n)
			return 0;
		for (i = 0; i < a->n; i++)
			if (!some_dev_matches(kind, dv, a, i))
				return 0;
		for (i = 0; i < dv->n; i++)
			if (!some_rule_matches(kind, dv, i, a))
				return 0;
		return 1;
	case POL_OP_EQUALS_ORDERED:
		if (dv->n != a->n)
			return 0;
		for (i = 0; i < a->n; i++)
			if (!value_match(kind, dv, i, a, i))
				return 0;
		return 1;
	case POL_OP_MATCH_ALL:
		for (i = 0; i < dv->n; i++)
			if (!some_rule_matches(kind, dv, i, a))
				return 0;
		return 1;
	}
	return 0;
}

/* The device's interface types, each once, in interface order. */
static void
dev_iftypes(const struct pol_device *dev, struct devvals *dv)
{
	int i, j;

	dv->n = 0;
	for (i = 0; i < dev->n_ifaces && i < POL_IFACE_MAX; i++) {
		struct pol_ifpat t = { dev->ifaces[i].cls,
		    dev->ifaces[i].subcls, dev->ifaces[i].proto };
		int dup = 0;

		for (j = 0; j < dv->n && !dup; j++)
			dup = dv->ifs[j].cls == t.cls &&
			    dv->ifs[j].sub == t.sub &&
			    dv->ifs[j].proto == t.proto;
		if (!dup)
			dv->ifs[dv->n++] = t;
	}
}

static int
target_match(const struct pol_rule *rule, const struct pol_vm *vm)
{
	int i;

	switch (rule->to_kind) {
	case POL_TO_ANY:
		return 1;
	case POL_TO_ANYVM:
		return vm != NULL && vm->name != NULL;
	case POL_TO_VM:
		return vm != NULL && vm->name != NULL &&
		    strcmp(vm->name, rule->to) == 0;
	case POL_TO_TAG:
		if (vm == NULL)
			return 0;
		for (i = 0; i < vm->n_tags; i++)
			if (strcmp(vm->tags[i], rule->to) == 0)
				return 1;
		return 0;
	}
	return 0;
}

int
pol_rule_match(const struct pol_rule *rule, const struct pol_device *dev,
    const struct pol_vm *vm)
{
	struct devvals dv;
	int k;

	if (rule->from[0] != '\0' && strcmp(rule->from, dev->backend) != 0)
		return 0;
	if (!target_match(rule, vm))
		return 0;
	for (k = 0; k < POL_ATTR__COUNT; k++) {
		const struct pol_attr *a = &rule->attr[k];

		if (!a->present)
			continue;
		memset(&dv, 0, sizeof(dv));
		dv.n = 1;
		switch (k) {
		case POL_ATTR_ID:
			dv.id.vid = dev->vid;
			dv.id.pid = dev->pid;
			break;
		case POL_ATTR_SERIAL:
			dv.str = dev->serial;
			break;
		case POL_ATTR_NAME:
			dv.str = dev->product;
			break;
		case POL_ATTR_HASH:
			/* A device without a hash matches no hash rule
			 * (but does satisfy none-of). */
			if (dev->has_hash)
				dv.hash = dev->hash;
			else
				dv.n = 0;
			break;
		case POL_ATTR_VIA_PORT:
			dv.str = dev->busid;
			break;
		case POL_ATTR_WITH_IFACE:
			dev_iftypes(dev, &dv);
			break;
		}
		if (!attr_match((enum pol_attr_kind)k, &dv, a))
			return 0;
	}
	return 1;
}

enum pol_decision
pol_check(const struct pol_ruleset *rs, const struct pol_device *dev,
    const struct pol_vm *vm, struct pol_verdict *out)
{
	const struct pol_rule *rule;
	size_t i;
	int j, k;

	memset(out, 0, sizeof(*out));
	out->decision = POL_NO_MATCH;
	for (i = 0; rs != NULL && i < rs->n; i++) {
		rule = rs->rules[i];
		if (!pol_rule_match(rule, dev, vm))
			continue;
		out->decision = (enum pol_decision)rule->action;
		out->rule = rule;
		break;
	}
	if (out->rule == NULL || out->decision == POL_DENY)
		return out->decision;
	for (j = 0; j < dev->n_ifaces && j < POL_IFACE_MAX; j++) {
		struct pol_ifpat t = { dev->ifaces[j].cls,
		    dev->ifaces[j].subcls, dev->ifaces[j].proto };

		for (k = 0; k < out->rule->n_deny_ifaces; k++)
			if (ifpat_match(&t, &out->rule->deny_ifaces[k])) {
				out->refused[out->n_refused++] =
				    dev->ifaces[j].number;
				break;
			}
	}
	out->all_refused = dev->n_ifaces > 0 &&
	    out->n_refused == dev->n_ifaces;
	return out->decision;
}
