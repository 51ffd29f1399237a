/*
 * rules.h: the usbgate rule language (usbgate-rules(5)).
 *
 * Owns parsed rules and rule sets. A rule is one line:
 *
 *   ACTION [id ...] [serial ...] [name ...] [hash ...] [parent-hash ...]
 *          [via-port ...] [with-interface ...] [with-connect-type ...]
 *          [from BACKEND] [to VM|@anyvm|@tag:TAG] [deny-interface ...]
 *
 * with ACTION allow|deny|ask and USBGuard's attribute vocabulary and set
 * operators (all-of, one-of, none-of, equals, equals-ordered, match-all).
 * Rule files are read in name order, rules in file order; the first rule
 * that matches decides; no match means deny (the caller applies that).
 *
 * Life cycle: pol_rule_parse() -> struct pol_rule (owned by the caller,
 * free with pol_rule_free()) or pol_ruleset_load_*() -> rules owned by the
 * set (pol_ruleset_free()). Parsing includes verification: a rule that is
 * returned is valid. pol_rule_print() gives the canonical text, which
 * parses back to the same rule (round trip).
 */
#ifndef USBGATE_POL_RULES_H
#define USBGATE_POL_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "pol_error.h"

#define POL_LINE_MAX		4096	/* bytes per rule line */
#define POL_SET_MAX		64	/* values per attribute */
#define POL_TAGS_MAX		16	/* tags per VM */

enum pol_action {
	POL_ACT_ALLOW = 1,
	POL_ACT_DENY = 2,
	POL_ACT_ASK = 3,
};

enum pol_decision {
	POL_NO_MATCH = 0,
	POL_ALLOW = POL_ACT_ALLOW,
	POL_DENY = POL_ACT_DENY,
	POL_ASK = POL_ACT_ASK,
};
const char *pol_decision_name(enum pol_decision d);

enum pol_setop {
	POL_OP_SINGLE = 0,	/* "attr value", no braces */
	POL_OP_ALL_OF,
	POL_OP_ONE_OF,
	POL_OP_NONE_OF,
	POL_OP_EQUALS,		/* also "attr { ... }" without operator */
	POL_OP_EQUALS_ORDERED,
	POL_OP_MATCH_ALL,
};

/* VID:PID with -1 for '*'. */
struct pol_idpat {
	int32_t vid, pid;
};

/* CC:SS:PP with -1 for '*'. */
struct pol_ifpat {
	int16_t cls, sub, proto;
};

enum pol_attr_kind {
	POL_ATTR_ID,
	POL_ATTR_SERIAL,
	POL_ATTR_NAME,
	POL_ATTR_HASH,
	POL_ATTR_PARENT_HASH,
	POL_ATTR_VIA_PORT,
	POL_ATTR_WITH_IFACE,
	POL_ATTR_CONNECT_TYPE,
	POL_ATTR__COUNT
};

/* The attribute's keyword in the language ("parent-hash"). */
const char *pol_attr_keyword(enum pol_attr_kind kind);

/* One attribute: an operator and its values (one array is used). */
struct pol_attr {
	int present;
	enum pol_setop op;
	int n;
	union {
		struct pol_idpat *ids;
		char **strs;	/* serial, name, via-port, connect type */
		uint8_t (*hashes)[POL_HASH_LEN];	/* hash, parent-hash */
		struct pol_ifpat *ifs;
	} v;
};

enum pol_target_kind {
	POL_TO_ANY = 0,		/* no "to": every VM */
	POL_TO_ANYVM,		/* to @anyvm */
	POL_TO_VM,		/* to NAME */
	POL_TO_TAG,		/* to @tag:NAME */
};

struct pol_rule {
	enum pol_action action;
	struct pol_attr attr[POL_ATTR__COUNT];
	char from[POL_NAME_MAX + 1];	/* backend name, "" = any */
	enum pol_target_kind to_kind;
	char to[POL_NAME_MAX + 1];	/* VM or tag name */
	int n_deny_ifaces;
	struct pol_ifpat *deny_ifaces;
	/* Where it came from (borrowed from the rule set, or NULL). */
	const char *file;
	int line;
};

/* One error, as "file:line: message". */
struct pol_diag {
	char file[256];
	int line;
	char msg[256];
};

#define POL_DIAG_MAX	64

struct pol_diags {
	int n;			/* stored */
	int total;		/* including those not stored */
	struct pol_diag d[POL_DIAG_MAX];
};

void pol_diag_add(struct pol_diags *dg, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "file:line: message" */
int pol_diag_format(const struct pol_diag *d, char *buf, size_t size);

/*
 * Parse one line. Returns POL_OK with *out set, POL_OK with *out NULL for a
 * blank or comment line, or a negative pol_error with msg filled in.
 */
int pol_rule_parse(const char *line, struct pol_rule **out, char *msg,
    size_t msgsize);
void pol_rule_free(struct pol_rule *rule);

/* Canonical text. Returns the length or POL_E_TOOLONG. */
int pol_rule_print(const struct pol_rule *rule, char *buf, size_t size);

struct pol_ruleset {
	struct pol_rule **rules;
	size_t n, cap;
	char **files;		/* names the rules' ->file point into */
	size_t n_files;
};

void pol_ruleset_init(struct pol_ruleset *rs);
void pol_ruleset_free(struct pol_ruleset *rs);
/*
 * Append the rules of one text / file / directory (*.rules in strcmp
 * order; names starting with '.' are skipped). Errors are collected in dg
 * (which may be NULL) and parsing continues, so every error is reported;
 * the return value is POL_OK only if there was none. A caller must not use
 * a rule set that had errors: dropping one bad line could let a later
 * allow rule match a device the bad line was meant to deny.
 */
int pol_ruleset_load_text(struct pol_ruleset *rs, const char *text,
    const char *name, struct pol_diags *dg);
int pol_ruleset_load_file(struct pol_ruleset *rs, const char *path,
    struct pol_diags *dg);
int pol_ruleset_load_dir(struct pol_ruleset *rs, const char *dir,
    struct pol_diags *dg);

/* The VM a decision is for. */
struct pol_vm {
	const char *name;
	const char *const *tags;
	int n_tags;
};

struct pol_verdict {
	enum pol_decision decision;
	const struct pol_rule *rule;	/* deciding rule, NULL on no match */
	int n_refused;
	uint8_t refused[POL_IFACE_MAX];	/* interface numbers to hide */
	int n_refused_alts;		/* alternate settings of kept ones */
	uint8_t refused_alts[POL_ALT_MAX][2];	/* interface, alt */
	int all_refused;		/* every interface is refused */
	int pin_config;			/* the rule constrains interfaces */
	/*
	 * The first rule the device could not be judged by, because it
	 * names an attribute the device's backend did not report (an allow
	 * or ask rule is then skipped, a deny rule applies): NULL if none.
	 */
	const struct pol_rule *unknown_rule;
	enum pol_attr_kind unknown_attr;
};

/*
 * Does rule match dev going to vm? The action matters only when the rule
 * names an attribute the device lacks (parent-hash, with-connect-type not
 * reported): a deny rule then matches (if the rest does), others do not.
 */
int pol_rule_match(const struct pol_rule *rule, const struct pol_device *dev,
    const struct pol_vm *vm);

/* First match wins. Returns the decision (also in out->decision). */
enum pol_decision pol_check(const struct pol_ruleset *rs,
    const struct pol_device *dev, const struct pol_vm *vm,
    struct pol_verdict *out);

/* "file:line: text" of a rule, for messages and CLI_DONE.rule. */
int pol_rule_describe(const struct pol_rule *rule, char *buf, size_t size);

#endif
