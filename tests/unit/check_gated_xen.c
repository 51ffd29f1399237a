/*
 * check_gated_xen.c: usbgated's domain table on Xen (tools/gated_xen.c)
 * against the fake hypervisor: domains seen coming and going through the
 * special watches, names taken only from dom0-owned nodes, a guest that
 * renames itself or borrows another's name ignored, a restart seen as the
 * old domid gone and a new one come; what a peer's control link does on
 * each of those (gxen_link_follow: connect, drop, drop and connect anew);
 * the data channels' vchan ports handed out per pair of domains.
 */
#include "config.h"

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "fakexen_fixture.h"
#include "gated_xen.h"
#include "unit_main.h"

static char seen[1024];

static void
record(void *ctx, const char *name, unsigned int domid, int up)
{
	size_t n = strlen(seen);

	snprintf(seen + n, sizeof(seen) - n, "%s%c%s:%u", n ? " " : "",
	    up ? '+' : '-', name, domid);
}

/* Wait for the watch, then update through fn; returns what fn saw. */
static const char *
update(struct gxen *gx, gxen_fn fn)
{
	struct pollfd p = { gxen_fd(gx), POLLIN, 0 };

	seen[0] = '\0';
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	ck_assert_int_eq(gxen_update(gx, fn, NULL), 0);
	return seen;
}

/* What changed. */
static const char *
changes(struct gxen *gx)
{
	return update(gx, record);
}

/* What the toolstack does: name the domain, then introduce it. */
static void
create(struct xs_handle *xs, unsigned int domid, const char *name)
{
	struct xs_permissions p[2] = { { 0, XS_PERM_NONE },
	    { domid, XS_PERM_READ } };
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	ck_assert(xs_write(xs, XBT_NULL, path, name, strlen(name)));
	ck_assert(xs_set_permissions(xs, XBT_NULL, path, p, 2));
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	ck_assert(xs_set_permissions(xs, XBT_NULL, path, p, 2));
	ck_assert(xs_introduce_domain(xs, domid, 0, 0));
}

START_TEST(domains_are_followed_by_dom0_owned_names)
{
	struct xs_handle *xs = xs_open(0);
	struct gxen *gx = gxen_open();

	ck_assert_ptr_nonnull(xs);
	ck_assert_ptr_nonnull(gx);
	/* the fixture's domains, under the fake toolstack's names */
	ck_assert_str_eq(changes(gx), "+domain-1:1 +domain-2:2 +domain-5:5 "
	    "+domain-6:6 +domain-7:7 +domain-9:9");
	create(xs, 20, "work");
	ck_assert_str_eq(changes(gx), "+work:20");
	ck_assert_int_eq(gxen_domid(gx, "work"), 20);
	/* restart: the old domid goes, a new one comes under the name */
	ck_assert(xs_release_domain(xs, 20));
	ck_assert_str_eq(changes(gx), "-work:20");
	ck_assert_int_eq(gxen_domid(gx, "work"), -1);
	create(xs, 21, "work");
	ck_assert_str_eq(changes(gx), "+work:21");
	ck_assert_int_eq(gxen_domid(gx, "work"), 21);
	ck_assert(xs_release_domain(xs, 21));
	ck_assert_str_eq(changes(gx), "-work:21");
	gxen_close(gx);
	xs_close(xs);
}
END_TEST

START_TEST(a_name_dom0_did_not_write_or_two_domains_share_names_nothing)
{
	struct xs_permissions guest[1] = { { 22, XS_PERM_NONE } };
	struct xs_handle *xs = xs_open(0);
	struct gxen *gx = gxen_open();

	ck_assert_ptr_nonnull(gx);
	changes(gx);
	/* a name node the guest owns (a careless toolstack) is not trusted */
	ck_assert(xs_write(xs, XBT_NULL, "/local/domain/22/name", "vault", 5));
	ck_assert(xs_set_permissions(xs, XBT_NULL, "/local/domain/22/name",
	    guest, 1));
	ck_assert(xs_introduce_domain(xs, 22, 0, 0));
	ck_assert_str_eq(changes(gx), "");
	ck_assert_int_eq(gxen_domid(gx, "vault"), -1);
	/* a second domain under an existing name makes both unusable */
	create(xs, 23, "mail");
	ck_assert_str_eq(changes(gx), "+mail:23");
	create(xs, 24, "mail");
	ck_assert_str_eq(changes(gx), "-mail:23");
	ck_assert_int_eq(gxen_domid(gx, "mail"), -1);
	/* and a name that is no CTL_CS_NAME never appears */
	create(xs, 25, "a/b c");
	ck_assert_str_eq(changes(gx), "");
	ck_assert(xs_release_domain(xs, 22));
	ck_assert(xs_release_domain(xs, 24));
	ck_assert_str_eq(changes(gx), "+mail:23");
	gxen_close(gx);
	xs_close(xs);
}
END_TEST

/* A peer named "work" following its domain, as usbgated's loop does. */
static int work_domid = -1;

static void
follow(void *ctx, const char *name, unsigned int domid, int up)
{
	size_t n = strlen(seen);
	int act;

	(void)ctx;
	if (strcmp(name, "work") != 0)
		return;
	act = gxen_link_follow(&work_domid, domid, up);
	snprintf(seen + n, sizeof(seen) - n, "%s%s%s%d", n ? " " : "",
	    act & GXEN_LINK_DROP ? "drop;" : "",
	    act & GXEN_LINK_CONNECT ? "connect:" : "at:", work_domid);
}

/* What work's link did. */
static const char *
links(struct gxen *gx)
{
	return update(gx, follow);
}

START_TEST(a_link_follows_its_domain_through_a_restart)
{
	struct xs_handle *xs = xs_open(0);
	struct gxen *gx = gxen_open();
	int d;

	ck_assert_ptr_nonnull(gx);
	ck_assert_str_eq(links(gx), "");	/* no work yet */
	create(xs, 40, "work");
	ck_assert_str_eq(links(gx), "connect:40");
	/* another domain coming or going is not work's business */
	create(xs, 41, "mail");
	ck_assert_str_eq(links(gx), "");
	ck_assert(xs_release_domain(xs, 41));
	ck_assert_str_eq(links(gx), "");
	/* restart: the link to 40 drops, then one to 42 is made */
	ck_assert(xs_release_domain(xs, 40));
	ck_assert_str_eq(links(gx), "drop;at:-1");
	create(xs, 42, "work");
	ck_assert_str_eq(links(gx), "connect:42");
	ck_assert(xs_release_domain(xs, 42));
	ck_assert_str_eq(links(gx), "drop;at:-1");
	/* reports the table cannot give, one by one: a new domid while
	 * linked (the release not seen) drops and connects; a domid the
	 * link is not at, or the one it is at coming again, changes nothing */
	d = 7;
	ck_assert_int_eq(gxen_link_follow(&d, 8, 1),
	    GXEN_LINK_DROP | GXEN_LINK_CONNECT);
	ck_assert_int_eq(d, 8);
	ck_assert_int_eq(gxen_link_follow(&d, 8, 1), 0);
	ck_assert_int_eq(gxen_link_follow(&d, 7, 0), 0);
	ck_assert_int_eq(d, 8);
	d = -1;
	ck_assert_int_eq(gxen_link_follow(&d, 8, 0), 0);
	ck_assert_int_eq(d, -1);
	gxen_close(gx);
	xs_close(xs);
}
END_TEST

START_TEST(ports_are_handed_out_per_pair_and_freed)
{
	struct gxen *gx = gxen_open();
	int i;

	ck_assert_ptr_nonnull(gx);
	/* per pair: two AppVMs of one backend may use the same number */
	ck_assert_int_eq(gxen_port_take(gx, 2, 1), GXEN_PORT_FIRST);
	ck_assert_int_eq(gxen_port_take(gx, 2, 1), GXEN_PORT_FIRST + 1);
	ck_assert_int_eq(gxen_port_take(gx, 5, 1), GXEN_PORT_FIRST);
	ck_assert_int_eq(gxen_port_take(gx, 2, 6), GXEN_PORT_FIRST);
	/* the lowest free one comes back; a port not held changes nothing */
	gxen_port_give(gx, 2, 1, GXEN_PORT_FIRST);
	gxen_port_give(gx, 2, 1, GXEN_PORT_FIRST + 7);
	gxen_port_give(gx, 2, 1, 80);
	ck_assert_int_eq(gxen_port_take(gx, 2, 1), GXEN_PORT_FIRST);
	ck_assert_int_eq(gxen_port_take(gx, 2, 1), GXEN_PORT_FIRST + 2);
	/* a pair holds at most the range */
	for (i = 3; i < GXEN_PORT_COUNT; i++)
		ck_assert_int_eq(gxen_port_take(gx, 2, 1), GXEN_PORT_FIRST + i);
	ck_assert_int_eq(gxen_port_take(gx, 2, 1), -1);
	/* backend 1 went: its pairs' ports are free, the others' kept */
	gxen_port_forget(gx, 1);
	ck_assert_int_eq(gxen_port_take(gx, 2, 1), GXEN_PORT_FIRST);
	ck_assert_int_eq(gxen_port_take(gx, 5, 1), GXEN_PORT_FIRST);
	ck_assert_int_eq(gxen_port_take(gx, 2, 6), GXEN_PORT_FIRST + 1);
	/* and the table of pairs is bounded */
	for (i = 0; i < GXEN_PAIRS_MAX - 3; i++)
		ck_assert_int_ge(gxen_port_take(gx, 100 + (unsigned)i, 1), 0);
	ck_assert_int_eq(gxen_port_take(gx, 99, 1), -1);
	gxen_port_give(gx, 5, 1, GXEN_PORT_FIRST);
	ck_assert_int_eq(gxen_port_take(gx, 99, 1), GXEN_PORT_FIRST);
	gxen_close(gx);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("gated_xen");
	TCase *tc = tcase_create("domains");

	tcase_add_unchecked_fixture(tc, fakexen_start, fakexen_stop);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, domains_are_followed_by_dom0_owned_names);
	tcase_add_test(tc, a_name_dom0_did_not_write_or_two_domains_share_names_nothing);
	tcase_add_test(tc, a_link_follows_its_domain_through_a_restart);
	tcase_add_test(tc, ports_are_handed_out_per_pair_and_freed);
	suite_add_tcase(s, tc);
	return s;
}
