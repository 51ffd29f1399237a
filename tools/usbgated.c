/*
 * usbgated.c: the dom0 daemon (usbgated(8)): main, the poll loop, control
 * channels to backends and VMs, the CLI socket and signals.
 *
 *   usbgated [-d] [-v]... [-f CONFIG] [-n]
 *
 * Owns every descriptor of the process. A peer (backend or VM) is known by
 * the channel it is configured on, never by what it says: its hello name
 * is logged and compared, nothing more. A peer on xen:PORT is the Xen
 * domain of its name as dom0's xenstore says (gated_xen.c): its link
 * follows that domain's domid, dropped when the domain goes, connected
 * anew when a domain of that name comes. A peer that breaks the protocol is
 * sent an ERROR and disconnected, which for a backend removes its devices
 * and for a VM ends its sessions; the daemon itself carries on.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_chan.h"
#include "gated.h"
#include "gated_xen.h"
#include "log.h"
#include "supervise.h"

#define RETRY_MIN_MS	250
#define RETRY_MAX_MS	5000

static const char *
role_word(enum ctl_role r)
{
	return r == CTL_ROLE_BACKEND ? "backend" : "vm";
}

static void
gated_peer_drop(struct gated *g, struct gpeer *p, const char *why)
{
	if (p->conn == NULL)
		return;
	log_warnx("%s %s: disconnected: %s", role_word(p->conf.role),
	    p->conf.name, why);
	ctl_conn_free(p->conn);
	p->conn = NULL;
	p->broken = 0;
	p->retry_delay = RETRY_MIN_MS;
	p->retry_at = mono_ms() + p->retry_delay;
	if (p->conf.role == CTL_ROLE_BACKEND)
		core_backend_gone(g, p);
	else
		core_frontend_gone(g, p);
}

/* The next connect attempt, later each time (up to RETRY_MAX_MS). */
static void
peer_backoff(struct gpeer *p, const char *what, int r)
{
	log_debug("%s %s: %s %s: %s", role_word(p->conf.role), p->conf.name,
	    what, p->uri, r == CTL_E_SYS ? strerror(errno) :
	    ctl_strerror(r));
	p->retry_delay = p->retry_delay ? p->retry_delay * 2 : RETRY_MIN_MS;
	if (p->retry_delay > RETRY_MAX_MS)
		p->retry_delay = RETRY_MAX_MS;
	p->retry_at = mono_ms() + p->retry_delay;
}

/*
 * Take over the peer's channel (an end accepted on its listening socket,
 * or one peer_connect opened) and say hello. A framed channel (dev:,
 * framed:...) reports the peer's restart, CLOSE or silence as
 * end-of-stream, so every restart of a VM's daemon is a new connection.
 */
static void
peer_start(struct gated *g, struct gpeer *p, struct chan_end *accepted)
{
	int r;

	if (p->conn != NULL)
		gated_peer_drop(g, p, "replaced by a new connection");
	r = ctl_conn_open(p->uri, accepted, CTL_ROLE_DOM0, p->conf.role,
	    &p->conn);
	if (r != CTL_OK) {
		peer_backoff(p, "open", r);
		return;
	}
	if (ctl_conn_send_hello(p->conn, "dom0", CTL_CAP__ALL) != CTL_OK) {
		ctl_conn_free(p->conn);
		p->conn = NULL;
		return;
	}
	log_info("%s %s: channel open", role_word(p->conf.role),
	    p->conf.name);
}

/*
 * Connect to the peer without blocking the loop: a vchan client waits for
 * the VM daemon's server on a xenstore watch polled with everything else
 * (chan_wait, proto/chan.h); the other kinds connect at once.
 */
static void
peer_connect(struct gated *g, struct gpeer *p)
{
	struct chan_uri u;
	struct chan_end e;
	int r;

	if (p->wait == NULL) {
		if ((r = ctl_chan_parse(p->uri, &u)) != CTL_OK ||
		    (r = ctl_chan_error(chan_wait_start(&u, &p->wait))) !=
		    CTL_OK) {
			peer_backoff(p, "connect", r);
			return;
		}
	}
	r = chan_wait_step(p->wait, &e);
	if (r == CHAN_E_SYS && errno == EAGAIN)
		return;		/* the server is not there yet */
	chan_wait_free(p->wait);
	p->wait = NULL;
	if (r != CHAN_OK) {
		peer_backoff(p, "connect", ctl_chan_error(r));
		return;
	}
	peer_start(g, p, &e);
}

static void
peer_input(struct gated *g, struct gpeer *p)
{
	struct ctl_msg m;
	int r;

	r = ctl_conn_read(p->conn);
	if (r < 0) {
		gated_peer_drop(g, p, ctl_conn_end_why(r));
		return;
	}
	/* One read (at most CTL_MSG_MAX bytes) per wakeup bounds the work a
	 * chatty peer causes; every complete frame read is handled now, since
	 * poll() will not wake us again for bytes already buffered. */
	while (p->conn != NULL) {
		r = ctl_conn_next(p->conn, &m);
		if (r == 0)
			break;
		if (r < 0) {
			char why[256];

			snprintf(why, sizeof(why), "protocol error: %s",
			    ctl_conn_error_detail(p->conn));
			ctl_conn_send_error(p->conn, r,
			    ctl_conn_error_detail(p->conn));
			gated_peer_drop(g, p, why);
			return;
		}
		if (m.type == CTL_MSG_ERROR) {
			log_warnx("%s %s says: %s (%d)", role_word(p->conf.role),
			    p->conf.name, m.u.error.text, m.u.error.code);
			continue;
		}
		if (m.type == CTL_MSG_HELLO) {
			if (m.u.hello.name[0] != '\0' &&
			    strcmp(m.u.hello.name, p->conf.name) != 0)
				log_warnx("%s %s: calls itself '%s'; ignored, "
				    "the channel decides who it is",
				    role_word(p->conf.role), p->conf.name,
				    m.u.hello.name);
			log_info("%s %s: hello, version %u, caps 0x%x",
			    role_word(p->conf.role), p->conf.name,
			    m.u.hello.version, m.u.hello.caps);
			p->retry_delay = 0;
			if (p->conf.role == CTL_ROLE_BACKEND)
				core_backend_up(g, p);
			else
				core_frontend_up(g, p);
			continue;
		}
		if (p->conf.role == CTL_ROLE_BACKEND)
			core_backend_msg(g, p, &m);
		else
			core_frontend_msg(g, p, &m);
	}
}

/* ---- Xen domains ---------------------------------------------------------- */

/*
 * A domain came or went (dom0's xenstore, never a VM's word): the peer of
 * that name on xen:PORT drops its link to a domain that went, ending that
 * VM's sessions or that backend's devices, and connects to a new one.
 */
static void
xen_domain(void *ctx, const char *name, unsigned int domid, int up)
{
	struct gated *g = ctx;
	struct gpeer *p = NULL;
	int i, act, old;

	log_debug("xen: domain %u (%s) %s", domid, name, up ? "came" : "went");
	for (i = 0; i < g->n_peers && p == NULL; i++)
		if (g->peers[i].conf.xen_port > 0 &&
		    strcmp(g->peers[i].conf.name, name) == 0)
			p = &g->peers[i];
	if (!up)
		gxen_port_forget(g->xen, domid);
	if (p == NULL)
		return;
	old = p->domid;
	act = gxen_link_follow(&p->domid, domid, up);
	if (act & GXEN_LINK_DROP) {
		log_info("%s %s: domain %d went", role_word(p->conf.role),
		    p->conf.name, old);
		chan_wait_free(p->wait);
		p->wait = NULL;
		p->uri[0] = '\0';
		gated_peer_drop(g, p, "its domain went");
	}
	if (act & GXEN_LINK_CONNECT) {
		log_info("%s %s: domain %u, connecting to vchan:%u:%d",
		    role_word(p->conf.role), p->conf.name, domid, domid,
		    p->conf.xen_port);
		snprintf(p->uri, sizeof(p->uri), "vchan:%u:%d", domid,
		    p->conf.xen_port);
		p->retry_delay = 0;
		p->retry_at = mono_ms();
	}
}

static void
xen_update(struct gated *g)
{
	if (gxen_update(g->xen, xen_domain, g) < 0)
		fatal("xenstore");
}

/* ---- CLI clients -------------------------------------------------------- */

static int
cli_allowed(struct gated *g, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	return cr.uid == 0 || cr.uid == geteuid() ||
	    (g->conf.socket_gid >= 0 && cr.gid == (gid_t)g->conf.socket_gid);
}

static void
cli_accept(struct gated *g)
{
	struct gcli *c;
	int fd;

	while ((fd = ctl_chan_accept(g->cli_lfd)) >= 0) {
		if (!cli_allowed(g, fd) || g->n_clients >= GATED_CLIENTS_MAX) {
			log_warnx("CLI connection refused (%s)",
			    g->n_clients >= GATED_CLIENTS_MAX ? "too many" :
			    "credentials");
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    ctl_conn_new(fd, fd, CTL_ROLE_DOM0, CTL_ROLE_CLI,
		    &c->conn) != CTL_OK) {
			free(c);
			close(fd);
			continue;
		}
		ctl_conn_send_hello(c->conn, "dom0", 0);
		c->next = g->clients;
		g->clients = c;
		g->n_clients++;
	}
}

static void
cli_free(struct gated *g, struct gcli *c)
{
	struct gcli **pp;

	for (pp = &g->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	core_cli_gone(g, c);
	ctl_conn_free(c->conn);
	free(c);
	g->n_clients--;
}

static void
cli_input(struct gated *g, struct gcli *c)
{
	struct ctl_msg m;
	int r;

	if ((r = ctl_conn_read(c->conn)) < 0) {
		c->closing = 1;
		return;
	}
	while (!c->closing && (r = ctl_conn_next(c->conn, &m)) != 0) {
		if (r < 0) {
			log_warnx("CLI: protocol error: %s",
			    ctl_conn_error_detail(c->conn));
			c->closing = 1;
			return;
		}
		if (m.type != CTL_MSG_CLI_REQUEST)
			continue;
		if (c->waiting > 0) {
			log_warnx("CLI: request while another is running");
			c->closing = 1;
			return;
		}
		cli_request(g, c, &m);
	}
}

/* ---- signals -------------------------------------------------------------- */

static void
child_exited(void *ctx, struct sv_child *c, pid_t pid, int status)
{
	(void)c;
	core_child_exited(ctx, pid, status);
}

static void
signals_handle(struct gated *g)
{
	int sig;

	while ((sig = sv_signal_next()) != 0) {
		switch (sig) {
		case SIGCHLD:
			sv_reap(NULL, child_exited, g);
			break;
		case SIGHUP:
			log_info("SIGHUP: reloading rules and assignments");
			gated_reload_rules(g, NULL);
			break;
		case SIGTERM:
		case SIGINT:
			g->quit = 1;
			break;
		}
	}
}

/* ---- main loop ------------------------------------------------------------ */

static void
peers_init(struct gated *g)
{
	int i;

	for (i = 0; i < g->conf.n_peers; i++) {
		struct gpeer *p = &g->peers[g->n_peers++];

		memset(p, 0, sizeof(*p));
		p->conf = g->conf.peers[i];
		p->lfd = -1;
		p->domid = -1;
		/* xen:PORT: no channel until its domain is seen */
		if (p->conf.xen_port == 0)
			ctl_strlcpy(p->uri, p->conf.uri, sizeof(p->uri));
		else if (g->xen == NULL && (g->xen = gxen_open()) == NULL)
			fatal("%s %s: cannot follow the Xen domains",
			    role_word(p->conf.role), p->conf.name);
		/* Connect at once: a zero retry_at would read as "no timer". */
		p->retry_at = mono_ms();
		if (p->conf.listen) {
			p->lfd = ctl_chan_listen(p->uri, 0600);
			if (p->lfd < 0)
				fatal("%s %s: cannot listen on %s",
				    role_word(p->conf.role), p->conf.name,
				    p->conf.uri);
		}
	}
	for (i = 0; i < g->conf.n_data; i++) {
		g->data[g->n_data].conf = g->conf.data[i];
		g->data[g->n_data++].used_by = NULL;
	}
	if (g->xen != NULL)
		xen_update(g);
}

static void
loop(struct gated *g)
{
	struct pollfd *pfd;
	/*
	 * Signals, CLI, xenstore; per peer: listening socket, input, output
	 * (or its wait for a server); per client: one.
	 */
	size_t cap = 3 + 3 * GATED_PEERS_MAX + GATED_CLIENTS_MAX, n;
	struct gcli *c, *cn;
	long now, next;
	int i, r, t, timeout;

	if ((pfd = calloc(cap, sizeof(*pfd))) == NULL)
		fatal("calloc");
	while (!g->quit) {
		now = mono_ms();
		next = core_next_deadline(g);
		n = 0;
		pfd[n++] = (struct pollfd){ sv_signal_fd(), POLLIN, 0 };
		pfd[n++] = (struct pollfd){ g->cli_lfd, POLLIN, 0 };
		if (g->xen != NULL)
			pfd[n++] = (struct pollfd){ gxen_fd(g->xen), POLLIN, 0 };
		for (i = 0; i < g->n_peers; i++) {
			struct gpeer *p = &g->peers[i];

			if (p->lfd >= 0)
				pfd[n++] = (struct pollfd){ p->lfd, POLLIN, 0 };
			if (p->conn != NULL) {
				pfd[n++] = (struct pollfd){ ctl_conn_fd(p->conn),
				    POLLIN, 0 };
				if (ctl_conn_pending(p->conn) > 0)
					pfd[n++] = (struct pollfd){
					    ctl_conn_wfd(p->conn), POLLOUT, 0 };
				/* Framed: keepalives and handshake retries. */
				if ((t = ctl_conn_timeout(p->conn)) >= 0 &&
				    (next == 0 || now + t < next))
					next = now + t;
			} else if (p->wait != NULL) {
				if (chan_wait_fd(p->wait) >= 0)
					pfd[n++] = (struct pollfd){
					    chan_wait_fd(p->wait), POLLIN, 0 };
			} else if (!p->conf.listen && p->uri[0] != '\0' &&
			    (next == 0 || p->retry_at < next))
				next = p->retry_at;
		}
		for (c = g->clients; c != NULL && n < cap; c = c->next) {
			pfd[n++] = (struct pollfd){ ctl_conn_fd(c->conn),
			    POLLIN, 0 };
			if (ctl_conn_pending(c->conn) > 0)
				pfd[n - 1].events |= POLLOUT;
		}
		timeout = next == 0 ? -1 : next <= now ? 0 : (int)(next - now);
		r = poll(pfd, n, timeout);
		if (r < 0 && errno != EINTR)
			fatal("poll");
		signals_handle(g);
		now = mono_ms();
		/* Readiness is looked up by descriptor: the set of peers and
		 * clients may change while we handle events. */
		for (size_t k = 0; k < n && r > 0; k++) {
			if (pfd[k].revents == 0)
				continue;
			if (pfd[k].fd == g->cli_lfd) {
				cli_accept(g);
				continue;
			}
			if (g->xen != NULL && pfd[k].fd == gxen_fd(g->xen)) {
				xen_update(g);
				continue;
			}
			for (i = 0; i < g->n_peers; i++) {
				struct gpeer *p = &g->peers[i];

				if (pfd[k].fd == p->lfd) {
					struct chan_end e;

					if (chan_accept(p->lfd, &e) == CHAN_OK)
						peer_start(g, p, &e);
				} else if (p->wait != NULL &&
				    pfd[k].fd == chan_wait_fd(p->wait)) {
					peer_connect(g, p);
				} else if (p->conn != NULL &&
				    pfd[k].fd == ctl_conn_wfd(p->conn) &&
				    (pfd[k].events & POLLOUT)) {
					if (ctl_conn_flush(p->conn) < 0)
						gated_peer_drop(g, p,
						    "write failed");
				} else if (p->conn != NULL &&
				    pfd[k].fd == ctl_conn_fd(p->conn))
					peer_input(g, p);
			}
			for (c = g->clients; c != NULL; c = c->next)
				if (pfd[k].fd == ctl_conn_fd(c->conn)) {
					if (pfd[k].revents & POLLOUT &&
					    ctl_conn_flush(c->conn) < 0)
						c->closing = 1;
					if (pfd[k].revents & (POLLIN | POLLHUP |
					    POLLERR))
						cli_input(g, c);
				}
		}
		for (i = 0; i < g->n_peers; i++) {
			struct gpeer *p = &g->peers[i];

			if (p->conn == NULL && !p->conf.listen &&
			    p->uri[0] != '\0' && p->wait == NULL &&
			    p->retry_at <= now)
				peer_connect(g, p);
			else if (p->conn != NULL &&
			    (r = ctl_conn_tick(p->conn)) != CTL_OK)
				gated_peer_drop(g, p, ctl_conn_end_why(r));
		}
		core_timers(g);
		/* Peers whose sends failed while we walked our tables. */
		for (i = 0; i < g->n_peers; i++)
			if (g->peers[i].broken)
				gated_peer_drop(g, &g->peers[i],
				    g->peers[i].broken_why);
		for (c = g->clients; c != NULL; c = cn) {
			cn = c->next;
			if (c->closing && (c->waiting == 0 ||
			    ctl_conn_pending(c->conn) == 0))
				cli_free(g, c);
		}
	}
	free(pfd);
}

static void
usage(FILE *f, int status)
{
	fprintf(f, "usage: usbgated [-dn] [-v]... [-f CONFIG] | --help | "
	    "--version\n");
	if (f == stdout)
		printf("\n  -d         stay in the foreground, log to stderr\n"
		    "  -f CONFIG  configuration file (default %s)\n"
		    "  -n         check the configuration and the rules, "
		    "then exit\n"
		    "  -v         more messages (twice: debug)\n",
		    GATED_CONF_DEFAULT);
	exit(status);
}

static int
mkdirs(const char *path, mode_t mode)
{
	char tmp[GATED_PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct gated g;
	struct pol_diags dg;
	char path[GATED_PATH_MAX + 32], buf[512], sockdir[128], *slash;
	int ch, debug = 0, verbose = 0, test_only = 0, i, r;
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	snprintf(g.conf_path, sizeof(g.conf_path), "%s", GATED_CONF_DEFAULT);
	while ((ch = getopt_long(argc, argv, "df:nv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			printf("usbgated %s\n", PACKAGE_VERSION);
			return 0;
		case 'd':
			debug = 1;
			break;
		case 'f':
			snprintf(g.conf_path, sizeof(g.conf_path), "%s", optarg);
			break;
		case 'n':
			test_only = 1;
			debug = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	log_init("usbgated", debug, verbose);

	gated_conf_defaults(&g.conf);
	memset(&dg, 0, sizeof(dg));
	if (gated_conf_load(g.conf_path, &g.conf, &dg) != POL_OK) {
		for (i = 0; i < dg.n; i++) {
			pol_diag_format(&dg.d[i], buf, sizeof(buf));
			log_warnx("%s", buf);
		}
		fatalx("configuration has errors");
	}
	memset(&dg, 0, sizeof(dg));
	r = gated_reload_rules(&g, &dg);
	if (test_only) {
		if (r != POL_OK)
			fatalx("rules have errors");
		printf("configuration OK: %d backend/VM channel(s), %d data "
		    "channel(s), %zu rule(s)\n", g.conf.n_peers,
		    g.conf.n_data, g.rules.n);
		return 0;
	}

	if (mkdirs(g.conf.state_dir, 0700) < 0)
		fatal("state directory %s", g.conf.state_dir);
	snprintf(path, sizeof(path), "%s/assignments", g.conf.state_dir);
	pol_assign_init(&g.assign, path);
	memset(&dg, 0, sizeof(dg));
	r = pol_assign_load(&g.assign, &dg);
	for (i = 0; i < dg.n; i++) {
		pol_diag_format(&dg.d[i], buf, sizeof(buf));
		log_warnx("%s", buf);
	}
	if (r > 0 && pol_assign_save(&g.assign) == POL_OK)
		log_warnx("assignments: %d damaged line(s) dropped, file "
		    "rewritten", r);
	else if (r < 0)
		fatalx("cannot read assignments from %s", path);

	g.ids = pol_usbids_default(g.conf.usbids[0] ? g.conf.usbids : NULL);
	if (g.ids == NULL)
		log_warnx("no usb.ids found: descriptions use the devices' own "
		    "strings");

	snprintf(sockdir, sizeof(sockdir), "%s", g.conf.socket_path);
	if ((slash = strrchr(sockdir, '/')) != NULL && slash != sockdir) {
		*slash = '\0';
		mkdirs(sockdir, 0755);
	}
	snprintf(buf, sizeof(buf), "unix:%s", g.conf.socket_path);
	if ((g.cli_lfd = ctl_chan_listen(buf, g.conf.socket_mode)) < 0)
		fatal("cannot listen on %s", g.conf.socket_path);
	if (g.conf.socket_gid >= 0 &&
	    chown(g.conf.socket_path, (uid_t)-1, (gid_t)g.conf.socket_gid) < 0)
		log_warn("chown %s", g.conf.socket_path);

	sv_signals_init((const int[]){ SIGCHLD, SIGHUP, SIGTERM, SIGINT, 0 });
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	/* Session ids are unique per run and not guessable from outside. */
	g.next_session = ((uint64_t)random() << 32) | 1;
	peers_init(&g);
	log_info("started: %d channel(s), %zu rule(s), %zu assignment(s)",
	    g.n_peers, g.rules.n, g.assign.n);

	loop(&g);

	log_info("shutting down");
	core_shutdown(&g);
	for (i = 0; i < g.n_peers; i++) {
		if (g.peers[i].conn != NULL)
			ctl_conn_drain(g.peers[i].conn, 200);
		ctl_conn_free(g.peers[i].conn);
		chan_wait_free(g.peers[i].wait);
		if (g.peers[i].lfd >= 0)
			close(g.peers[i].lfd);
	}
	while (g.clients != NULL)
		cli_free(&g, g.clients);
	gxen_close(g.xen);
	close(g.cli_lfd);
	unlink(g.conf.socket_path);
	pol_ruleset_free(&g.rules);
	pol_assign_free(&g.assign);
	pol_usbids_default_reset();
	return 0;
}
