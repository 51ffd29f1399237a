/*
 * rule_match.c: matching devices against rules (see rules.h).
 *
 * Set semantics follow usbguard-rules.conf(5). For an attribute with rule
 * values R and device values D (one value for id, serial, name, hash and
 * via-port; for with-interface the interface types of every configuration
 * and alternate setting, as USBGuard reads them from the descriptors, each
 * type once):
 *   all-of          every r in R matches some d in D
 *   one-of          some r in R matches some d in D
 *   none-of         no r in R matches any d in D
 *   equals          |D| = |R|, every d matches some r and every r some d
 *   equals-ordered  |D| = |R| and D[i] matches R[i] for every i
 *   match-all       every d in D matches some r in R
 * A single value without braces means equals with that one value.
 *
 * parent-hash and with-connect-type are what the backend reports of the
 * hub a device hangs on and of its port. A device whose backend did not
 * report one cannot be judged by a rule naming it: fail closed, so an
 * allow or ask rule does not match and a deny rule does (if the rest of it
 * does); pol_check() keeps the first such rule, for the refusal to say why.
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
	struct pol_ifpat ifs[POL_ALT_MAX];
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
	case POL_ATTR_CONNECT_TYPE:
		return strcmp(a->v.strs[ri], dv->str) == 0;
	case POL_ATTR_HASH:
	case POL_ATTR_PARENT_HASH:
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

static void
add_iftype(struct devvals *dv, int cls, int sub, int proto)
{
	struct pol_ifpat t = { cls, sub, proto };
	int j;

	for (j = 0; j < dv->n; j++)
		if (dv->ifs[j].cls == t.cls && dv->ifs[j].sub == t.sub &&
		    dv->ifs[j].proto == t.proto)
			return;
	if (dv->n < POL_ALT_MAX)
		dv->ifs[dv->n++] = t;
}

/*
 * The device's interface types, each once, in descriptor order: every
 * configuration and alternate setting, then (for a device known only by
 * its device_id, or sysfs showing more) the active ones.
 */
static void
dev_iftypes(const struct pol_device *dev, struct devvals *dv)
{
	int i;

	dv->n = 0;
	for (i = 0; i < dev->n_alts && i < POL_ALT_MAX; i++)
		add_iftype(dv, dev->alts[i].cls, dev->alts[i].subcls,
		    dev->alts[i].proto);
	for (i = 0; i < dev->n_ifaces && i < POL_IFACE_MAX; i++)
		add_iftype(dv, dev->ifaces[i].cls, dev->ifaces[i].subcls,
		    dev->ifaces[i].proto);
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

/*
 * pol_rule_match(), and in *unknown the attribute the device could not be
 * judged on (-1 if none).
 */
static int
rule_match(const struct pol_rule *rule, const struct pol_device *dev,
    const struct pol_vm *vm, int *unknown)
{
	struct devvals dv;
	int k;

	*unknown = -1;
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
		case POL_ATTR_PARENT_HASH:
			if (!dev->has_parent_hash) {
				*unknown = k;
				continue;
			}
			dv.hash = dev->parent_hash;
			break;
		case POL_ATTR_VIA_PORT:
			dv.str = dev->busid;
			break;
		case POL_ATTR_WITH_IFACE:
			dev_iftypes(dev, &dv);
			break;
		case POL_ATTR_CONNECT_TYPE:
			if (!dev->has_connect_type ||
			    (dv.str = ident_connect_name(dev->connect_type)) ==
			    NULL) {
				*unknown = k;
				continue;
			}
			break;
		}
		if (!attr_match((enum pol_attr_kind)k, &dv, a)) {
			*unknown = -1;	/* not for want of a value */
			return 0;
		}
	}
	if (*unknown >= 0)
		return rule->action == POL_ACT_DENY;
	return 1;
}

int
pol_rule_match(const struct pol_rule *rule, const struct pol_device *dev,
    const struct pol_vm *vm)
{
	int unknown;

	return rule_match(rule, dev, vm, &unknown);
}

static int
denied(const struct pol_rule *rule, int cls, int sub, int proto)
{
	struct pol_ifpat t = { cls, sub, proto };
	int k;

	for (k = 0; k < rule->n_deny_ifaces; k++)
		if (ifpat_match(&t, &rule->deny_ifaces[k]))
			return 1;
	return 0;
}

static int
is_refused(const struct pol_verdict *out, uint8_t number)
{
	int i;

	for (i = 0; i < out->n_refused; i++)
		if (out->refused[i] == number)
			return 1;
	return 0;
}

/* More refusals than SERVE carries: the whole device is refused. */
static void
refuse_iface(struct pol_verdict *out, uint8_t number)
{
	if (is_refused(out, number))
		return;
	if (out->n_refused >= POL_IFACE_MAX) {
		out->all_refused = 1;
		return;
	}
	out->refused[out->n_refused++] = number;
}

static void
refuse_alt(struct pol_verdict *out, uint8_t number, uint8_t alt)
{
	int i;

	for (i = 0; i < out->n_refused_alts; i++)
		if (out->refused_alts[i][0] == number &&
		    out->refused_alts[i][1] == alt)
			return;
	if (out->n_refused_alts >= POL_ALT_MAX) {
		out->all_refused = 1;
		return;
	}
	out->refused_alts[out->n_refused_alts][0] = number;
	out->refused_alts[out->n_refused_alts][1] = alt;
	out->n_refused_alts++;
}

/* Interface numbers seen (0..255), and how many. */
struct numset {
	uint8_t bit[32];
};

static void
add_number(struct numset *s, int *n, uint8_t number)
{
	if (s->bit[number >> 3] & (1u << (number & 7)))
		return;
	s->bit[number >> 3] |= (uint8_t)(1u << (number & 7));
	(*n)++;
}

enum pol_decision
pol_check(const struct pol_ruleset *rs, const struct pol_device *dev,
    const struct pol_vm *vm, struct pol_verdict *out)
{
	const struct pol_rule *rule;
	struct numset numbers;
	size_t i;
	int j, k, n_numbers = 0, unknown, m;

	memset(out, 0, sizeof(*out));
	out->decision = POL_NO_MATCH;
	for (i = 0; rs != NULL && i < rs->n; i++) {
		rule = rs->rules[i];
		m = rule_match(rule, dev, vm, &unknown);
		if (unknown >= 0 && out->unknown_rule == NULL) {
			out->unknown_rule = rule;
			out->unknown_attr = (enum pol_attr_kind)unknown;
		}
		if (!m)
			continue;
		out->decision = (enum pol_decision)rule->action;
		out->rule = rule;
		break;
	}
	if (out->rule == NULL || out->decision == POL_DENY)
		return out->decision;
	rule = out->rule;
	out->pin_config = rule->attr[POL_ATTR_WITH_IFACE].present ||
	    rule->n_deny_ifaces > 0;
	memset(&numbers, 0, sizeof(numbers));
	/* What sysfs shows: the active configuration's current settings. */
	for (j = 0; j < dev->n_ifaces && j < POL_IFACE_MAX; j++) {
		add_number(&numbers, &n_numbers, dev->ifaces[j].number);
		if (denied(rule, dev->ifaces[j].cls, dev->ifaces[j].subcls,
		    dev->ifaces[j].proto))
			refuse_iface(out, dev->ifaces[j].number);
	}
	/*
	 * Every setting of the active configuration, from the descriptors:
	 * alternate setting 0 is what every SET_CONFIGURATION selects, so
	 * refusing it refuses the interface; any other is refused alone.
	 */
	for (j = 0; j < dev->n_alts && j < POL_ALT_MAX; j++) {
		const struct pol_ifalt *a = &dev->alts[j];

		if (a->config != dev->config)
			continue;
		add_number(&numbers, &n_numbers, a->number);
		if (!denied(rule, a->cls, a->subcls, a->proto))
			continue;
		if (a->alt == 0)
			refuse_iface(out, a->number);
		else
			refuse_alt(out, a->number, a->alt);
	}
	/* A refused interface takes all its settings with it. */
	for (j = k = 0; j < out->n_refused_alts; j++)
		if (!is_refused(out, out->refused_alts[j][0])) {
			out->refused_alts[k][0] = out->refused_alts[j][0];
			out->refused_alts[k][1] = out->refused_alts[j][1];
			k++;
		}
	out->n_refused_alts = k;
	if (out->n_refused == n_numbers && n_numbers > 0)
		out->all_refused = 1;
	return out->decision;
}
