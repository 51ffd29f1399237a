/*
 * daemon.c: "usbgate-frontend daemon" (see daemon.h).
 *
 *   usbgate-frontend daemon --control URI [--listen] [--name NAME]
 *                           [--data-pool GLOB]... [--user USER]
 *                           [--hcd vhci|usbgate|auto] [-v]
 *
 * One thread around poll(): the control link to dom0, a signal pipe and
 * one note pipe per import. Connecting is what tells dom0 this VM started
 * (auto-attach follows); an import starts only on IMPORT, and its child
 * checks that the device on the data channel is the one dom0 announced.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "kmod_port.h"
#include "ctl_link.h"
#include "daemon.h"
#include "log.h"
#include "sandbox.h"
#include "stream.h"
#include "supervise.h"
#include "vmd_opts.h"

#define FD_KILL_GRACE_MS	5000
#define FD_CONNECT_TIMEOUT_MS	30000

struct fd_sess {
	struct sv_child child;		/* first; report_fd: the note pipe */
	int attached;			/* ATTACHED sent */
	int ordered;			/* UNIMPORT received */
	int silent;			/* dom0 forgot it */
	char busid[CTL_BUSID_MAX + 1];	/* informative (backend's) */
};

#define FD_SESS(c)	SV_RECORD(c, struct fd_sess)

struct fd {
	struct ctl_link *link;
	struct sv_children sessions;
	int quit;
	int shutting;			/* the daemon exits */
	struct vmd_opts opt;		/* the options both VM daemons share */
	int hcd;			/* --hcd: enum fe_hcd */
};

static void
send_result(struct fd *f, uint64_t id, int state, int reason, int port,
    const char *busid, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void
send_result(struct fd *f, uint64_t id, int state, int reason, int port,
    const char *busid, const char *fmt, ...)
{
	struct ctl_msg m;
	va_list ap;

	ctl_msg_init(&m, CTL_MSG_IMPORT_RESULT);
	m.u.import_result.session = id;
	m.u.import_result.state = (uint8_t)state;
	m.u.import_result.reason = (uint8_t)reason;
	m.u.import_result.vhci_port = (uint16_t)(port > 0 ? port : 0);
	if (busid != NULL && ctl_str_valid(busid, CTL_CS_BUSID))
		ctl_strlcpy(m.u.import_result.local_busid, busid,
		    sizeof(m.u.import_result.local_busid));
	va_start(ap, fmt);
	vsnprintf(m.u.import_result.text, sizeof(m.u.import_result.text), fmt,
	    ap);
	va_end(ap);
	ctl_str_scrub(m.u.import_result.text, CTL_CS_PRINT);
	log_info("import %llx: %s%s%s%s%s", (unsigned long long)id,
	    state == CTL_IMPORT_ATTACHED ? "attached" :
	    state == CTL_IMPORT_FAILED ? "failed: " : "ended: ",
	    state == CTL_IMPORT_ATTACHED ? "" : ctl_reason_name(reason),
	    m.u.import_result.text[0] ? " (" : "", m.u.import_result.text,
	    m.u.import_result.text[0] ? ")" : "");
	if (ctl_link_is_up(f->link))
		ctl_link_send(f->link, &m);
}

static void
handle_import(struct fd *f, const struct ctl_import *im)
{
	struct fe_attach_opts o;
	struct fd_sess *s;
	int pfd[2];
	pid_t pid, self;

	if (sv_find(&f->sessions, im->session) != NULL) {
		log_warnx("IMPORT for session %llx, which exists; ignored",
		    (unsigned long long)im->session);
		return;
	}
	if (!data_pool_allows(&f->opt.pool, im->uri)) {
		send_result(f, im->session, CTL_IMPORT_FAILED,
		    CTL_REASON_UNSUPPORTED, 0, NULL, "data channel not in "
		    "this VM's --data-pool");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || pipe2(pfd, O_CLOEXEC) < 0) {
		free(s);
		send_result(f, im->session, CTL_IMPORT_FAILED,
		    CTL_REASON_INTERNAL, 0, NULL, "out of resources");
		return;
	}
	fflush(stdout);
	fflush(stderr);
	self = getpid();
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(s);
		send_result(f, im->session, CTL_IMPORT_FAILED,
		    CTL_REASON_INTERNAL, 0, NULL, "fork failed");
		return;
	}
	if (pid == 0) {
		log_setproc("usbgate-frontend[import]");
		signal(SIGCHLD, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* The import ends with the daemon (its port is released): a
		 * restarted daemon must not find it held by an orphan. */
		sandbox_parent_death_signal(SIGTERM, self);
		/* Keep stdio and the note pipe (as fd 3); nothing else. */
		if (dup2(pfd[1], 3) < 0)
			_exit(FE_EXIT_ERROR);
		close_range(4, ~0U, 0);
		memset(&o, 0, sizeof(o));
		o.uri = im->uri;
		o.flags = (im->options & CTL_OPT_LISTEN) ? STREAM_F_LISTEN : 0;
		o.timeout_ms = FD_CONNECT_TIMEOUT_MS;
		o.user = f->opt.user;
		o.check_id = 1;
		o.vid = im->vid;
		o.pid = im->pid;
		o.classes.check = 1;
		o.classes.n = im->n_classes;
		memcpy(o.classes.c, im->classes, 3 * (size_t)im->n_classes);
		o.notify_fd = 3;
		o.hcd = f->hcd;
		_exit(fe_attach_run(&o));
	}
	close(pfd[1]);
	s->child.id = im->session;
	s->child.pid = pid;
	s->child.report_fd = pfd[0];
	ctl_strlcpy(s->busid, im->busid, sizeof(s->busid));
	sv_add(&f->sessions, &s->child);
	log_info("import %llx: %s:%s (%04x:%04x, %s, %u interface classes) "
	    "on %s", (unsigned long long)s->child.id, im->backend, im->busid,
	    im->vid, im->pid, im->device_id, im->n_classes, im->uri);
}

static void
handle_unimport(struct fd *f, const struct ctl_unimport *u)
{
	struct sv_child *c = sv_find(&f->sessions, u->session);

	if (c == NULL) {
		send_result(f, u->session, CTL_IMPORT_ENDED, CTL_REASON_ORDERED,
		    0, NULL, "no such import");
		return;
	}
	FD_SESS(c)->ordered = 1;
	sv_signal(&f->sessions, c, SIGTERM);
}

static void
note_input(struct fd *f, struct fd_sess *s)
{
	struct fe_attach_note untrusted_note, note;
	ssize_t n;

	n = read(s->child.report_fd, &untrusted_note, sizeof(untrusted_note));
	if (n < 0 && errno == EINTR)
		return;
	close(s->child.report_fd);
	s->child.report_fd = -1;
	if (n != (ssize_t)sizeof(untrusted_note))
		return;
	/* sanitize: the note comes from a process that served a VM. */
	memset(&note, 0, sizeof(note));
	note.port = untrusted_note.port >= 0 && untrusted_note.port <= 65535 ?
	    untrusted_note.port : 0;
	untrusted_note.busid[sizeof(untrusted_note.busid) - 1] = '\0';
	if (ctl_str_valid(untrusted_note.busid, CTL_CS_BUSID))
		memcpy(note.busid, untrusted_note.busid, sizeof(note.busid));
	if (s->ordered || s->silent)
		return;
	s->attached = 1;
	send_result(f, s->child.id, CTL_IMPORT_ATTACHED, CTL_REASON_NONE,
	    note.port, note.busid, "%s", "");
}

static const char *
exit_text(int code)
{
	switch (code) {
	case FE_EXIT_CLEAN: return "the backend ended the session";
	case FE_EXIT_ERROR: return "local failure (see the VM's log)";
	case FE_EXIT_USAGE: return "internal error";
	case FE_EXIT_PEER_GONE: return "the backend vanished";
	case FE_EXIT_PROTO: return "the backend broke the usbredir protocol";
	case FE_EXIT_MISMATCH: return "not the device dom0 announced";
	default: return "unexpected exit status";
	}
}

static void
sess_ended(void *ctx, struct sv_child *c, pid_t pid, int status)
{
	struct fd *f = ctx;
	struct fd_sess *s = FD_SESS(c);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int reason, state;

	(void)pid;
	if (c == NULL)
		return;
	if (s->child.report_fd >= 0)
		note_input(f, s);	/* a note written just before exit */
	if (f->shutting)
		reason = CTL_REASON_SHUTDOWN;
	else if (s->ordered)
		reason = CTL_REASON_ORDERED;
	else if (code == FE_EXIT_MISMATCH)
		reason = CTL_REASON_MISMATCH;
	else if (code == FE_EXIT_CLEAN || code == FE_EXIT_PEER_GONE)
		reason = CTL_REASON_PEER_GONE;
	else if (code < 0 || code == FE_EXIT_USAGE || code > FE_EXIT_KILLED)
		reason = CTL_REASON_INTERNAL;
	else
		reason = CTL_REASON_IO;
	state = s->attached ? CTL_IMPORT_ENDED : CTL_IMPORT_FAILED;
	if (!s->silent) {
		if (s->ordered)
			send_result(f, c->id, state, reason, 0, NULL, "%s",
			    f->shutting ? "usbgate-frontend exits" :
			    "detached as ordered");
		else if (code < 0)
			send_result(f, c->id, state, reason, 0, NULL,
			    "import process killed by signal %d",
			    WTERMSIG(status));
		else if (code > FE_EXIT_KILLED)
			send_result(f, c->id, state, reason, 0, NULL,
			    "session process killed by signal %d (%s)",
			    code - FE_EXIT_KILLED,
			    strsignal(code - FE_EXIT_KILLED));
		else
			send_result(f, c->id, state, reason, 0, NULL, "%s "
			    "(exit status %d)", exit_text(code), code);
	}
	sv_remove(&f->sessions, c);
	free(s);
}

static void
link_events(struct fd *f)
{
	struct sv_child *c;
	struct ctl_msg m;
	int ev;

	while ((ev = ctl_link_next(f->link, &m)) != CTL_LINK_NONE) {
		switch (ev) {
		case CTL_LINK_DOWN:
			log_warnx("dom0 gone (%s); detaching every device",
			    ctl_link_detail(f->link));
			for (c = f->sessions.head; c != NULL; c = c->next) {
				FD_SESS(c)->silent = 1;
				sv_signal(&f->sessions, c, SIGTERM);
			}
			break;
		case CTL_LINK_UP:
			log_info("dom0 connected");
			break;
		case CTL_LINK_MSG:
			if (m.type == CTL_MSG_IMPORT)
				handle_import(f, &m.u.import);
			else if (m.type == CTL_MSG_UNIMPORT)
				handle_unimport(f, &m.u.unimport);
			break;
		}
	}
}

#define FD_POLL_MAX	(3 + 64)

static void
loop(struct fd *f)
{
	struct pollfd pfd[FD_POLL_MAX];
	struct sv_child *c;
	int n, nl, i, timeout, sig;

	while (!f->quit) {
		timeout = -1;
		n = 0;
		pfd[n++] = (struct pollfd){ sv_signal_fd(), POLLIN, 0 };
		/* Each import's note pipe. */
		n += sv_pollfds(&f->sessions, &pfd[n], FD_POLL_MAX - 2 - n);
		nl = ctl_link_pollfds(f->link, &pfd[n], &timeout);
		sv_kill_timers(&f->sessions, &timeout);
		if (poll(pfd, (nfds_t)(n + nl), timeout) < 0 && errno != EINTR)
			fatal("poll");
		if (pfd[0].revents) {
			while ((sig = sv_signal_next()) != 0) {
				if (sig == SIGCHLD)
					sv_reap(&f->sessions, sess_ended, f);
				else
					f->quit = 1;
			}
		}
		for (i = 1; i < n; i++)
			if (pfd[i].revents != 0 && (c = sv_by_report_fd(
			    &f->sessions, pfd[i].fd)) != NULL)
				note_input(f, FD_SESS(c));
		ctl_link_io(f->link, &pfd[n], nl);
		link_events(f);
		if (ctl_link_is_dead(f->link)) {
			log_warnx("control channel closed for good (%s)",
			    ctl_link_detail(f->link));
			f->quit = 1;
		}
	}
}

static void
shutdown_all(struct fd *f)
{
	struct sv_child *c;

	f->shutting = 1;
	for (c = f->sessions.head; c != NULL; c = c->next) {
		FD_SESS(c)->ordered = 1;
		sv_signal(&f->sessions, c, SIGTERM);
	}
	sv_wait_all(&f->sessions, 3000, sess_ended, f);
	ctl_link_drain(f->link, 500);
}

static void
usage(void)
{
	fprintf(stderr, "usage: usbgate-frontend daemon --control URI "
	    "[--listen] [--name NAME] [--data-pool GLOB]... [--user USER] "
	    "[--hcd vhci|usbgate|auto] [--check] [-v]\n");
	exit(FE_EXIT_USAGE);
}

/* The frontend's own options (vmd_opts.h has the shared ones). */
static int
own_opt(void *ctx, int ch, const char *arg)
{
	struct fd *f = ctx;

	if (ch == 'H')
		return (f->hcd = kmod_hcd_parse(arg)) < 0 ? -1 : 0;
	return -1;
}

int
fe_daemon_main(int argc, char **argv)
{
	static const struct option own[] = {
		{ "hcd", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 }
	};
	static struct fd f;
	int r;

	f.hcd = FE_HCD_AUTO;
	if (vmd_opts_parse(argc, argv, own, "H:", own_opt, &f, "", 1,
	    &f.opt) < 0)
		usage();
	log_setverbose(f.opt.verbose);
	r = ctl_link_new(f.opt.control, f.opt.listen, CTL_ROLE_FRONTEND,
	    f.opt.name, 0, &f.link);
	if (r != CTL_OK) {
		log_warnx("control channel %s: %s", f.opt.control,
		    ctl_strerror(r));
		return FE_EXIT_USAGE;
	}
	if (f.opt.check) {
		vmd_opts_print(&f.opt);
		ctl_link_free(f.link);
		return 0;
	}
	f.sessions.grace_ms = FD_KILL_GRACE_MS;
	sv_signals_init((const int[]){ SIGCHLD, SIGTERM, SIGINT, 0 });
	log_info("started: control %s", f.opt.control);
	loop(&f);
	log_info("shutting down");
	shutdown_all(&f);
	ctl_link_free(f.link);
	return FE_EXIT_CLEAN;
}
