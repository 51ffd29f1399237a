/*
 * gated_peer.c: usbgated's peers as the rest of the daemon sees them:
 * looking one up by its configured name and sending to it. Connecting,
 * reading and dropping peers belong to the loop (usbgated.c); nothing
 * here calls back into it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gated.h"

struct gpeer *
gated_peer(struct gated *g, const char *name, enum ctl_role role)
{
	int i;

	for (i = 0; i < g->n_peers; i++)
		if (g->peers[i].conf.role == role &&
		    strcmp(g->peers[i].conf.name, name) == 0)
			return &g->peers[i];
	return NULL;
}

int
gated_send(struct gated *g, struct gpeer *p, const struct ctl_msg *m)
{
	int r;

	(void)g;
	if (p == NULL || p->conn == NULL || p->broken ||
	    !ctl_conn_ready(p->conn))
		return CTL_E_STATE;
	if ((r = ctl_conn_send(p->conn, m)) != CTL_OK) {
		p->broken = 1;
		snprintf(p->broken_why, sizeof(p->broken_why), "sending %s: %s",
		    ctl_msg_name(m->type), ctl_strerror(r));
	}
	return r;
}
