/*
 * tests/xen/fakexenctl.c: the toolstack's part in starting and ending a
 * domain of the fake hypervisor, run as dom0 (XENSTORED_PATH=<dir>/d0.sock)
 * through the unmodified libxenstore:
 *
 *   fakexenctl introduce N NAME  write /local/domain/N, its domid and name
 *                                (dom0's, readable by N) and a data/ that N
 *                                owns, as libxl does, then INTRODUCE it
 *   fakexenctl release N         RELEASE it: its socket and nodes go and
 *                                @releaseDomain fires
 *
 * The domain's processes are the caller's to end (on Xen they die with
 * the domain). Exit status 0 when xenstore accepted every request.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

static int
node(struct xs_handle *xs, unsigned int domid, const char *rel,
    const char *val, int guest_owned)
{
	struct xs_permissions p[2] = { { 0, XS_PERM_NONE },
	    { domid, XS_PERM_READ } };
	char path[128];

	if (guest_owned) {
		p[0].id = domid;
		p[0].perms = XS_PERM_NONE;
	}
	snprintf(path, sizeof(path), "/local/domain/%u%s", domid, rel);
	if (!xs_write(xs, XBT_NULL, path, val, strlen(val)) ||
	    !xs_set_permissions(xs, XBT_NULL, path, p, guest_owned ? 1 : 2)) {
		fprintf(stderr, "fakexenctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct xs_handle *xs;
	unsigned long id = 0;
	char *end = NULL, val[16];
	int ok;

	if (argc >= 3) {
		errno = 0;
		id = strtoul(argv[2], &end, 10);
	}
	if (!((argc == 4 && strcmp(argv[1], "introduce") == 0) ||
	    (argc == 3 && strcmp(argv[1], "release") == 0)) ||
	    errno != 0 || *end != '\0' || id == 0 || id >= 0x7ff0) {
		fprintf(stderr, "usage: fakexenctl introduce DOMID NAME | "
		    "release DOMID\n");
		return 2;
	}
	if ((xs = xs_open(0)) == NULL) {
		fprintf(stderr, "fakexenctl: xenstore: %s\n", strerror(errno));
		return 1;
	}
	if (argv[1][0] == 'i') {
		snprintf(val, sizeof(val), "%lu", id);
		ok = node(xs, (unsigned int)id, "", "", 0) == 0 &&
		    node(xs, (unsigned int)id, "/domid", val, 0) == 0 &&
		    node(xs, (unsigned int)id, "/name", argv[3], 0) == 0 &&
		    node(xs, (unsigned int)id, "/data", "", 1) == 0 &&
		    xs_introduce_domain(xs, (unsigned int)id, 0, 0);
	} else
		ok = xs_release_domain(xs, (unsigned int)id);
	if (!ok)
		fprintf(stderr, "fakexenctl: %s %lu: %s\n", argv[1], id,
		    strerror(errno));
	xs_close(xs);
	return ok ? 0 : 1;
}
