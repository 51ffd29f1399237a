/*
 * vmd_opts.c: the command line both VM daemons share (vmd_opts.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ident.h"
#include "vmd_opts.h"

#define VMD_SHARED_OPTS	7
#define VMD_OPT_CHECK	0x100	/* long only */
#define VMD_OPTS_MAX	16

static const struct option shared[VMD_SHARED_OPTS] = {
	{ "control", required_argument, NULL, 'c' },
	{ "listen", no_argument, NULL, 'l' },
	{ "name", required_argument, NULL, 'n' },
	{ "data-pool", required_argument, NULL, 'p' },
	{ "user", required_argument, NULL, 'u' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "check", no_argument, NULL, VMD_OPT_CHECK },
};

int
vmd_opts_parse(int argc, char **argv, const struct option *extra,
    const char *extra_short, vmd_opt_fn *fn, void *ctx,
    const char *name_default, int empty_name_ok, struct vmd_opts *o)
{
	struct option all[VMD_OPTS_MAX];
	char shorts[2 * VMD_OPTS_MAX + 1] = "c:ln:p:u:v";
	size_t n = VMD_SHARED_OPTS;
	int ch;

	memset(o, 0, sizeof(*o));
	o->name = name_default;
	memcpy(all, shared, sizeof(shared));
	while (extra != NULL && extra->name != NULL &&
	    n < VMD_OPTS_MAX - 1)
		all[n++] = *extra++;
	memset(&all[n], 0, sizeof(all[n]));
	if (extra_short != NULL &&
	    strlen(shorts) + strlen(extra_short) < sizeof(shorts))
		strcat(shorts, extra_short);
	while ((ch = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		switch (ch) {
		case 'c': o->control = optarg; break;
		case 'l': o->listen = 1; break;
		case 'n': o->name = optarg; break;
		case 'p':
			if (data_pool_add(&o->pool, optarg) < 0)
				return -1;
			break;
		case 'u': o->user = optarg; break;
		case 'v': o->verbose++; break;
		case VMD_OPT_CHECK: o->check = 1; break;
		default:
			if (ch == '?' || fn == NULL || fn(ctx, ch, optarg) < 0)
				return -1;
		}
	}
	if (o->control == NULL || optind != argc)
		return -1;
	if (empty_name_ok && o->name[0] == '\0')
		return 0;
	return ident_str_valid(o->name, IDENT_CS_NAME) ? 0 : -1;
}

void
vmd_opts_print(const struct vmd_opts *o)
{
	printf("arguments OK: control %s%s, name %s\n", o->control,
	    o->listen ? " (listening)" : "",
	    o->name[0] ? o->name : "(from dom0)");
}
