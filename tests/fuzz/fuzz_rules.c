/*
 * fuzz_rules.c: a rule file (usbgate-rules(5)) through the rule parser,
 * the printer and the matcher.
 *
 * Oracle: every rule the parser accepts prints to its canonical text,
 * which parses back to a rule that prints the same (the round trip that
 * rules.h promises); a rule set with errors is refused as a whole.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "rules.h"

static const struct pol_device dev = {
	.backend = "sys-usb", .busid = "2-1.4", .vid = 0x1050,
	.pid = 0x0407, .bcd_device = 0x0543, .speed = 2,
	.serial = "0001234567", .manufacturer = "Yubico",
	.product = "YubiKey OTP+FIDO+CCID", .n_ifaces = 3,
	.ifaces = { { 0, 3, 1, 1 }, { 1, 3, 0, 0 }, { 2, 0x0b, 0, 0 } },
	.has_hash = 1, .hash = { 1, 2, 3, 4 },
	.has_parent_hash = 1, .parent_hash = { 5, 6, 7, 8 },
	.has_connect_type = 1, .connect_type = 1,
};

/* The same device from a backend that reported neither (fail closed). */
static const struct pol_device dev_unknown = {
	.backend = "sys-usb", .busid = "2-1.4", .vid = 0x1050,
	.pid = 0x0407, .n_ifaces = 1, .ifaces = { { 0, 3, 1, 1 } },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[2 * POL_LINE_MAX], again[2 * POL_LINE_MAX];
	static const char *const tags[] = { "office" };
	const struct pol_vm vm = { "work", tags, 1 };
	struct pol_ruleset rs;
	struct pol_diags dg;
	struct pol_verdict v;
	struct pol_rule *r;
	char msg[256], *text = fuzz_strdup(data, size);
	size_t i;
	int n;

	pol_ruleset_init(&rs);
	memset(&dg, 0, sizeof(dg));
	if (pol_ruleset_load_text(&rs, text, "fuzz.rules", &dg) != POL_OK) {
		FUZZ_ASSERT(dg.total > 0);
		goto out;
	}
	for (i = 0; i < rs.n; i++) {
		if ((n = pol_rule_print(rs.rules[i], line, sizeof(line))) < 0)
			continue;
		FUZZ_ASSERT(pol_rule_parse(line, &r, msg, sizeof(msg)) ==
		    POL_OK && r != NULL);
		FUZZ_ASSERT(pol_rule_print(r, again, sizeof(again)) == n);
		FUZZ_ASSERT(strcmp(line, again) == 0);
		(void)pol_rule_match(r, &dev, &vm);
		/* Unknown attributes: only a deny rule may match. */
		FUZZ_ASSERT(!pol_rule_match(r, &dev_unknown, &vm) ||
		    r->action == POL_ACT_DENY ||
		    (!r->attr[POL_ATTR_PARENT_HASH].present &&
		    !r->attr[POL_ATTR_CONNECT_TYPE].present));
		pol_rule_free(r);
		(void)pol_rule_describe(rs.rules[i], line, sizeof(line));
	}
	(void)pol_check(&rs, &dev, &vm, &v);
	(void)pol_check(&rs, &dev_unknown, &vm, &v);
	FUZZ_ASSERT(v.unknown_rule == NULL ||
	    v.unknown_rule->attr[v.unknown_attr].present);
out:
	pol_ruleset_free(&rs);
	free(text);
	return 0;
}
