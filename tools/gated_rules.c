/*
 * gated_rules.c: load the rules directory into usbgated, at start, on
 * SIGHUP and on "usbgate policy reload". Rules with errors never replace
 * rules that work; with no working rules every attach is denied.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gated.h"
#include "log.h"

int
gated_reload_rules(struct gated *g, struct pol_diags *dg)
{
	struct pol_ruleset rs;
	struct pol_diags local;
	int r, i;

	if (dg == NULL) {
		memset(&local, 0, sizeof(local));
		dg = &local;
	}
	pol_ruleset_init(&rs);
	r = pol_ruleset_load_dir(&rs, g->conf.rules_dir, dg);
	if (r == POL_E_NOTFOUND) {
		log_warnx("rules directory %s missing: every attach is denied",
		    g->conf.rules_dir);
		r = POL_OK;
	}
	if (r != POL_OK) {
		char buf[512];

		for (i = 0; i < dg->n; i++) {
			pol_diag_format(&dg->d[i], buf, sizeof(buf));
			log_warnx("%s", buf);
		}
		pol_ruleset_free(&rs);
		if (!g->rules_ok && g->rules.n == 0) {
			snprintf(g->rules_error, sizeof(g->rules_error),
			    "the rules in %.120s have %d error(s); everything is "
			    "denied until they are fixed (usbgate policy "
			    "check)", g->conf.rules_dir, dg->total);
			log_warnx("%s", g->rules_error);
		} else
			log_warnx("rules not reloaded, %d error(s); keeping "
			    "the previous rules", dg->total);
		return r;
	}
	pol_ruleset_free(&g->rules);
	g->rules = rs;
	g->rules_ok = 1;
	g->rules_error[0] = '\0';
	log_info("loaded %zu rule(s) from %s", g->rules.n, g->conf.rules_dir);
	return POL_OK;
}
