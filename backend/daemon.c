/*
 * daemon.c: "usbgate-backend daemon" (see daemon.h).
 *
 *   usbgate-backend daemon --control URI [--listen] [--name NAME]
 *                          [--data-pool GLOB]... [--user USER]
 *                          [--uid-range FIRST-LAST]
 *                          [--accept-timeout SEC] [-v]
 *
 * One thread around poll(): the control link to dom0, a udev monitor
 * (udevd's events when udevd runs, the kernel's uevents otherwise, as in a
 * guest without udev), a signal pipe, and one pipe per serving session.
 * Devices are published from a rescan of sysfs that every event schedules
 * (debounced), so add, remove, change, re-enumeration under the same bus
 * id and udev property changes all take one path.
 *
 * A session is a child process that sets up the data channel dom0 named,
 * says "ready" on a pipe, then runs be_serve() (which forks its own
 * sandboxed child for the USB traffic). Nothing but a SERVE from dom0
 * starts one; nothing on the data channel can.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libudev.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_chan.h"
#include "ctl_link.h"
#include "daemon.h"
#include "log.h"
#include "sandbox.h"
#include "serve.h"
#include "stream.h"
#include "supervise.h"
#include "vmd_opts.h"

#define BD_RESCAN_DELAY_MS	150	/* events come in bursts */
#define BD_RESCAN_PERIOD_MS	5000	/* safety net for missed events */
#define BD_KILL_GRACE_MS	5000	/* SIGTERM, then SIGKILL */

/* Exit statuses of a session child besides enum serve_exit. */
#define BD_SERVE_EXIT_CHANNEL	20	/* data channel could not be set up */
#define BD_SERVE_EXIT_NOPEER	21	/* the frontend never connected */

struct bd_sess;

struct bd_dev {
	struct bd_dev *next;
	char syspath[256];
	int devnum;
	struct ctl_dev info;		/* as last published */
	struct ctl_dev pending;		/* a change held back while served */
	int changed;
	int seen;
	int listed;			/* in this scan's list at all */
	struct bd_sess *sess;
};

struct bd_sess {
	struct sv_child child;		/* first; report_fd: the report pipe */
	char busid[CTL_BUSID_MAX + 1];
	char end[CTL_TEXT_MAX + 1];	/* the session's own end record */
	size_t end_len;			/* bytes kept in end[] */
	int in_end;			/* the 'E' marker was read */
	int end_done;			/* end[] holds a whole line */
	int ready;			/* READY sent */
	int ordered;			/* dom0 said STOP */
	int reported;			/* the end was already reported */
	int silent;			/* dom0 forgot it: report nothing */
	struct bd_dev *dev;
};

#define BD_SESS(c)	SV_RECORD(c, struct bd_sess)

struct bd {
	struct ctl_link *link;
	struct udev *udev;
	struct udev_monitor *mon;
	struct bd_dev *devs;
	struct sv_children sessions;
	long rescan_at;
	int quit;
	/* options */
	struct vmd_opts opt;		/* the ones both VM daemons share */
	struct uid_range uids;		/* per-session uids (serve.h) */
	int accept_timeout;		/* seconds */
};

/* ---- messages to dom0 ------------------------------------------------------ */

static void
send_dev(struct bd *b, uint32_t type, const struct ctl_dev *info)
{
	struct ctl_msg m;
	int r;

	if (!ctl_link_is_up(b->link))
		return;
	ctl_msg_init(&m, type);
	m.u.dev = *info;
	if ((r = ctl_link_send(b->link, &m)) != CTL_OK)
		log_warnx("%s %s: %s", ctl_msg_name(type), info->busid,
		    ctl_strerror(r));
}

static void
send_remove(struct bd *b, const char *busid)
{
	struct ctl_msg m;

	if (!ctl_link_is_up(b->link))
		return;
	ctl_msg_init(&m, CTL_MSG_DEV_REMOVE);
	ctl_strlcpy(m.u.dev_remove.busid, busid, sizeof(m.u.dev_remove.busid));
	ctl_link_send(b->link, &m);
}

static void
send_status(struct bd *b, uint64_t id, const char *busid, int state,
    int reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
send_status(struct bd *b, uint64_t id, const char *busid, int state,
    int reason, const char *fmt, ...)
{
	struct ctl_msg m;
	va_list ap;

	ctl_msg_init(&m, CTL_MSG_SESSION_STATUS);
	m.u.session_status.session = id;
	ctl_strlcpy(m.u.session_status.busid, busid,
	    sizeof(m.u.session_status.busid));
	m.u.session_status.state = (uint8_t)state;
	m.u.session_status.reason = (uint8_t)reason;
	va_start(ap, fmt);
	vsnprintf(m.u.session_status.text, sizeof(m.u.session_status.text),
	    fmt, ap);
	va_end(ap);
	ctl_str_scrub(m.u.session_status.text, CTL_CS_PRINT);
	log_info("session %llx (%s): %s%s%s%s", (unsigned long long)id, busid,
	    state == CTL_SESS_READY ? "ready" : state == CTL_SESS_ENDED ?
	    "ended: " : "failed: ", state == CTL_SESS_READY ? "" :
	    ctl_reason_name(reason), m.u.session_status.text[0] ? ", " : "",
	    m.u.session_status.text);
	if (ctl_link_is_up(b->link))
		ctl_link_send(b->link, &m);
}

/* ---- sessions ---------------------------------------------------------------- */

static struct bd_sess *
sess_find(struct bd *b, uint64_t id)
{
	struct sv_child *c = sv_find(&b->sessions, id);

	return c != NULL ? BD_SESS(c) : NULL;
}

static void
sess_term(struct bd *b, struct bd_sess *s)
{
	sv_signal(&b->sessions, &s->child, SIGTERM);
}

/*
 * The report pipe from a session child carries 'R' (the data channel is
 * set up: READY is true) and then, once, be_serve()'s end record: 'E', the
 * one-line reason, '\n' (see serve.h). The pipe stays open for the record.
 */
static void
ready_signal(int fd)
{
	char c = 'R';

	if (write(fd, &c, 1) < 0) {
		/* The daemon is gone; be_serve notices through the device. */
	}
}

/*
 * Set up the data channel in the session child. For sockets the child
 * listens (or connects) itself, so that READY is true when it is sent:
 * "listening" with CTL_OPT_LISTEN, "about to connect" without. Returns
 * the URI be_serve() opens, or NULL.
 */
static const char *
child_channel(const struct ctl_serve *sv, int ready_fd, int accept_timeout,
    char *buf, size_t len, int *listen_out)
{
	struct stream_uri u;
	struct pollfd p;
	long deadline;
	int lfd, fd = -1, wfd;

	*listen_out = 0;
	if (stream_uri_parse(sv->uri, &u) != STREAM_OK) {
		log_warnx("data channel %s: malformed URI", sv->uri);
		return NULL;
	}
	if (u.kind != STREAM_KIND_UNIX && u.kind != STREAM_KIND_TCP) {
		/* dev:, vchan:, ...: be_serve opens it; session framing (dev:)
		 * copes with the frontend opening its end later. */
		*listen_out = (sv->options & CTL_OPT_LISTEN) != 0;
		ready_signal(ready_fd);
		return sv->uri;
	}
	deadline = mono_ms() + accept_timeout * 1000L;
	if (sv->options & CTL_OPT_LISTEN) {
		if ((lfd = ctl_chan_listen(sv->uri, 0600)) < 0) {
			log_warn("listen on %s", sv->uri);
			return NULL;
		}
		ready_signal(ready_fd);
		p = (struct pollfd){ lfd, POLLIN, 0 };
		while (fd < 0 && mono_ms() < deadline) {
			if (poll(&p, 1, (int)(deadline - mono_ms())) > 0)
				fd = ctl_chan_accept(lfd);
		}
		close(lfd);
		if (fd < 0) {
			log_warnx("no frontend connected to %s within %d s",
			    sv->uri, accept_timeout);
			_exit(BD_SERVE_EXIT_NOPEER);
		}
	} else {
		ready_signal(ready_fd);
		/* The frontend listens once dom0 sent it IMPORT, after our
		 * READY: retry for the attach timeout. */
		while ((fd = ctl_chan_connect(sv->uri, &wfd)) < 0 &&
		    mono_ms() < deadline)
			poll(NULL, 0, 200);
		if (fd < 0) {
			log_warnx("could not connect to %s within %d s",
			    sv->uri, accept_timeout);
			_exit(BD_SERVE_EXIT_NOPEER);
		}
	}
	snprintf(buf, len, "fd:%d", fd);
	return buf;
}

/*
 * 0 if the device now at the port has the descriptor hash dom0 decided
 * about (or dom0 sent none), 1 if not, -1 if it cannot be read (yet).
 */
static int
same_hash(const struct usbdev *now, const void *arg)
{
	static const uint8_t zero[CTL_HASH_LEN];
	const struct ctl_serve *sv = arg;
	struct ctl_dev d;

	if (memcmp(sv->hash, zero, CTL_HASH_LEN) == 0)
		return 0;
	if (bd_describe(now, &d) != BD_OK)
		return -1;
	return memcmp(d.hash, sv->hash, CTL_HASH_LEN) != 0;
}

static void __attribute__((noreturn))
sess_child(struct bd *b, struct usbdev *ud, const struct ctl_serve *sv,
    int ready_fd)
{
	struct serve_options o = { .user = b->opt.user, .uids = b->uids,
	    .verbose = b->opt.verbose };
	char title[64], chan[32];
	const char *uri;
	int listen_mode;

	snprintf(title, sizeof(title), "usbgate-backend[%s]", ud->busid);
	log_setproc(title);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/* Keep stdio and the ready pipe (as fd 3); nothing of the daemon. */
	if (ready_fd != 3) {
		if (dup2(ready_fd, 3) < 0)
			_exit(SERVE_EXIT_ERROR);
		ready_fd = 3;
	}
	close_range(4, ~0U, 0);
	uri = child_channel(sv, ready_fd, b->accept_timeout, chan,
	    sizeof(chan), &listen_mode);
	if (uri == NULL)
		_exit(BD_SERVE_EXIT_CHANNEL);
	o.channel = uri;
	o.listen = listen_mode;
	o.reset = (sv->options & CTL_OPT_RESET) != 0;
	o.refused = sv->refused;
	o.n_refused = sv->n_refused;
	o.refused_alts = (const uint8_t (*)[2])sv->refused_alts;
	o.n_refused_alts = sv->n_refused_alts;
	o.pin_config = (sv->options & CTL_OPT_PIN_CONFIG) != 0;
	o.verify = same_hash;	/* after a reset, as before it */
	o.verify_arg = sv;
	o.report_fd = ready_fd;
	_exit(be_serve(ud, &o));
}

static void
serve_failed(struct bd *b, const struct ctl_serve *sv, int reason,
    const char *text)
{
	send_status(b, sv->session, sv->busid, CTL_SESS_FAILED, reason, "%s",
	    text);
}

static struct bd_dev *
dev_find(struct bd *b, const char *busid)
{
	struct bd_dev *d;

	for (d = b->devs; d != NULL; d = d->next)
		if (strcmp(d->info.busid, busid) == 0)
			return d;
	return NULL;
}

static void
handle_serve(struct bd *b, const struct ctl_serve *sv)
{
	struct bd_sess *s;
	struct bd_dev *d;
	struct usbdev ud;
	int pfd[2];
	pid_t pid, self;

	if (sess_find(b, sv->session) != NULL) {
		log_warnx("SERVE for session %llx, which exists; ignored",
		    (unsigned long long)sv->session);
		return;
	}
	if ((d = dev_find(b, sv->busid)) == NULL) {
		serve_failed(b, sv, CTL_REASON_NOT_FOUND, "no such device");
		return;
	}
	if (d->sess != NULL) {
		serve_failed(b, sv, CTL_REASON_BUSY, "already served");
		return;
	}
	if (!data_pool_allows(&b->opt.pool, sv->uri)) {
		serve_failed(b, sv, CTL_REASON_UNSUPPORTED, "data channel not "
		    "in this backend's --data-pool");
		return;
	}
	/* The device at busid must still be the one dom0 decided about. */
	if (usbdev_from_syspath(d->syspath, &ud) != USBDEV_OK) {
		serve_failed(b, sv, CTL_REASON_NOT_FOUND, "device gone");
		return;
	}
	if (ud.devnum != d->devnum || ud.vid != sv->vid || ud.pid != sv->pid) {
		serve_failed(b, sv, CTL_REASON_MISMATCH, "device changed");
		return;
	}
	if (same_hash(&ud, sv) != 0) {
		serve_failed(b, sv, CTL_REASON_MISMATCH, "descriptor hash "
		    "differs");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		serve_failed(b, sv, CTL_REASON_INTERNAL, "out of memory");
		return;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(s);
		serve_failed(b, sv, CTL_REASON_INTERNAL, "pipe failed");
		return;
	}
	if (fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(s);
		serve_failed(b, sv, CTL_REASON_INTERNAL, "fcntl failed");
		return;
	}
	fflush(stderr);
	self = getpid();
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(s);
		serve_failed(b, sv, CTL_REASON_INTERNAL, "fork failed");
		return;
	}
	if (pid == 0) {
		/* The session ends with the daemon (it gives the device back):
		 * a restarted daemon must not find it held by an orphan. */
		sandbox_parent_death_signal(SIGTERM, self);
		close(pfd[0]);
		sess_child(b, &ud, sv, pfd[1]);
	}
	close(pfd[1]);
	s->child.id = sv->session;
	ctl_strlcpy(s->busid, sv->busid, sizeof(s->busid));
	s->child.pid = pid;
	s->child.report_fd = pfd[0];
	s->dev = d;
	d->sess = s;
	sv_add(&b->sessions, &s->child);
	log_info("session %llx: serving %s (%04x:%04x) on %s%s, %u "
	    "interface(s) and %u alternate setting(s) refused%s",
	    (unsigned long long)s->child.id, s->busid, ud.vid, ud.pid, sv->uri,
	    sv->options & CTL_OPT_RESET ? " after a reset" : "",
	    sv->n_refused, sv->n_refused_alts,
	    sv->options & CTL_OPT_PIN_CONFIG ? ", configuration pinned" : "");
}

static void
handle_stop(struct bd *b, const struct ctl_stop *st)
{
	struct bd_sess *s = sess_find(b, st->session);

	if (s == NULL || s->reported) {
		/* Idempotent: confirm what dom0 wants to hear. */
		if (s == NULL)
			send_status(b, st->session, st->busid, CTL_SESS_ENDED,
			    CTL_REASON_ORDERED, "no such session");
		return;
	}
	s->ordered = 1;
	sess_term(b, s);
}

/*
 * Read what the report pipe holds: 'R' marks the session ready, 'E' starts
 * the end record (kept in s->end, cut at CTL_TEXT_MAX). The read end is
 * non-blocking. Returns 1 at the end of the pipe or on an error, 0 after
 * reading something, -1 when nothing is there yet.
 */
static int
report_read(struct bd_sess *s, int *got_ready)
{
	char buf[512];
	ssize_t n, i;

	n = read(s->child.report_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return -1;
	if (n <= 0)
		return 1;
	for (i = 0; i < n && !s->end_done; i++) {
		if (!s->in_end) {
			if (buf[i] == 'E')
				s->in_end = 1;
			else if (buf[i] == 'R')
				*got_ready = 1;
		} else if (buf[i] == '\n')
			s->end_done = 1;
		else if (s->end_len < CTL_TEXT_MAX)
			s->end[s->end_len++] = buf[i];
	}
	s->end[s->end_len] = '\0';
	return 0;
}

static void
report_close(struct bd_sess *s)
{
	if (s->child.report_fd >= 0) {
		close(s->child.report_fd);
		s->child.report_fd = -1;
	}
}

static void
ready_input(struct bd *b, struct bd_sess *s)
{
	int got_ready = 0;

	if (report_read(s, &got_ready) == 1)
		report_close(s);
	if (got_ready && !s->ready && !s->reported && !s->silent &&
	    !s->ordered) {
		s->ready = 1;
		send_status(b, s->child.id, s->busid, CTL_SESS_READY,
		    CTL_REASON_NONE, "%s", "");
	}
}

static const char *
exit_text(int code)
{
	switch (code) {
	case SERVE_EXIT_CLEAN: return "the frontend closed the data channel";
	case SERVE_EXIT_ERROR: return "local failure (see the sys-usb log)";
	case SERVE_EXIT_USAGE: return "internal error";
	case SERVE_EXIT_PROTO: return "the frontend broke the usbredir protocol";
	case SERVE_EXIT_UNPLUG: return "the device left sys-usb";
	case SERVE_EXIT_CHANGED: return "another device answered after the "
	    "reset";
	case BD_SERVE_EXIT_CHANNEL: return "the data channel could not be set up";
	case BD_SERVE_EXIT_NOPEER: return "the frontend never connected";
	default: return "unexpected exit status";
	}
}

static void dev_publish_change(struct bd *, struct bd_dev *);

static void
sess_ended(void *ctx, struct sv_child *c, pid_t pid, int status)
{
	struct bd *b = ctx;
	struct bd_sess *s = BD_SESS(c);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int reason, state;

	(void)pid;
	if (c == NULL)
		return;
	if (s->child.report_fd >= 0) {
		/* The child is gone: its end record is in the pipe if it
		 * wrote one. A ready byte not yet read counts as not ready. */
		int ignored = 0;

		while (!s->end_done && report_read(s, &ignored) == 0)
			;
		report_close(s);
	}
	state = s->ready ? CTL_SESS_ENDED : CTL_SESS_FAILED;
	if (s->ordered)
		reason = CTL_REASON_ORDERED;
	else if (code == SERVE_EXIT_UNPLUG)
		reason = CTL_REASON_DEVICE_GONE;
	else if (code == SERVE_EXIT_CHANGED)
		reason = CTL_REASON_MISMATCH;
	else if (code == SERVE_EXIT_CLEAN || code == BD_SERVE_EXIT_NOPEER)
		reason = CTL_REASON_PEER_GONE;
	else if (code == SERVE_EXIT_USAGE || code < 0)
		reason = CTL_REASON_INTERNAL;
	else
		reason = CTL_REASON_IO;
	if (!s->reported && !s->silent) {
		if (s->ordered)
			send_status(b, c->id, s->busid, state, reason, "%s",
			    "stopped as ordered");
		else if (code < 0)
			send_status(b, c->id, s->busid, state, reason,
			    "serving process killed by signal %d",
			    WTERMSIG(status));
		else if (s->end[0] != '\0' && code != SERVE_EXIT_CLEAN)
			send_status(b, c->id, s->busid, state, reason, "%s "
			    "(exit status %d)", s->end, code);
		else
			send_status(b, c->id, s->busid, state, reason, "%s "
			    "(exit status %d)", exit_text(code), code);
	}
	sv_remove(&b->sessions, c);
	if (s->dev != NULL) {
		s->dev->sess = NULL;
		if (s->dev->changed)
			dev_publish_change(b, s->dev);
	}
	free(s);
	/* The device went back to sys-usb's drivers: look again. */
	b->rescan_at = mono_ms() + BD_RESCAN_DELAY_MS;
}

/* dom0 forgot everything it ordered: stop serving, report nothing. */
static void
sess_stop_all(struct bd *b, int silent)
{
	struct sv_child *c;
	struct bd_sess *s;

	for (c = b->sessions.head; c != NULL; c = c->next) {
		s = BD_SESS(c);
		if (silent)
			s->silent = 1;
		else
			s->ordered = 1;
		sess_term(b, s);
	}
}

/* ---- devices ------------------------------------------------------------------- */

static void
dev_publish_change(struct bd *b, struct bd_dev *d)
{
	d->info = d->pending;
	d->changed = 0;
	log_info("device %s changed: %04x:%04x, %u interface(s)", d->info.busid,
	    d->info.vid, d->info.pid, d->info.n_ifaces);
	send_dev(b, CTL_MSG_DEV_CHANGE, &d->info);
}

static void
dev_remove(struct bd *b, struct bd_dev *d)
{
	struct bd_dev **pp;
	struct bd_sess *s = d->sess;

	if (s != NULL) {
		/* Tell dom0 the session is over before the device is. */
		if (!s->reported && !s->silent) {
			send_status(b, s->child.id, s->busid, s->ready ?
			    CTL_SESS_ENDED : CTL_SESS_FAILED,
			    CTL_REASON_DEVICE_GONE, "the device left sys-usb");
			s->reported = 1;
		}
		sess_term(b, s);
		s->dev = NULL;
	}
	log_info("device %s removed", d->info.busid);
	send_remove(b, d->info.busid);
	for (pp = &b->devs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	free(d);
}

static void
rescan(struct bd *b)
{
	struct usbdev *all;
	struct bd_dev *d, *next;
	struct ctl_dev info;
	size_t n, i;
	int r;

	b->rescan_at = mono_ms() + BD_RESCAN_PERIOD_MS;
	if ((r = usbdev_list(&all, &n, 1)) < 0) {
		log_warnx("device scan: %s", usbdev_strerror(r));
		return;
	}
	for (d = b->devs; d != NULL; d = d->next)
		d->seen = d->listed = 0;
	for (i = 0; i < n; i++) {
		struct usbdev *u = &all[i];

		d = dev_find(b, u->busid);
		if (d != NULL && d->devnum != u->devnum) {
			/* Re-enumerated under the same bus id: another
			 * device as far as dom0 is concerned. */
			dev_remove(b, d);
			d = NULL;
		}
		if (d != NULL)
			d->listed = 1;
		if (!u->export_ok)
			continue;	/* USBGATE_EXPORT=0: not there */
		r = bd_describe(u, &info);
		if (r != BD_OK) {
			/* Mid-enumeration or mid-reconfiguration: a served
			 * device keeps its published description. */
			if (d != NULL && d->sess != NULL)
				d->seen = 1;
			continue;
		}
		if (d == NULL) {
			if ((d = calloc(1, sizeof(*d))) == NULL)
				continue;
			snprintf(d->syspath, sizeof(d->syspath), "%s",
			    u->syspath);
			d->devnum = u->devnum;
			d->info = info;
			d->next = b->devs;
			b->devs = d;
			log_info("device %s added: %04x:%04x %s, %u "
			    "interface(s)%s%s", info.busid, info.vid, info.pid,
			    info.product, info.n_ifaces, info.auto_attach[0] ?
			    ", udev asks for " : "", info.auto_attach);
			send_dev(b, CTL_MSG_DEV_ADD, &info);
		} else if (memcmp(&d->info, &info, sizeof(info)) != 0 &&
		    (!d->changed || memcmp(&d->pending, &info,
		    sizeof(info)) != 0)) {
			d->pending = info;
			d->changed = 1;
			/* While served, interfaces come and go with the
			 * AppVM's requests: publish once it is over. */
			if (d->sess == NULL)
				dev_publish_change(b, d);
		} else if (d->changed && d->sess == NULL)
			dev_publish_change(b, d);
		d->seen = 1;
	}
	free(all);
	for (d = b->devs; d != NULL; d = next) {
		next = d->next;
		/*
		 * A served device missing from the list while its sysfs
		 * directory still holds the same device number is mid-reset
		 * (its attributes or interfaces cannot be read for a moment),
		 * not gone: a real unplug ends the session by itself. The soak
		 * saw such a scan end a session as "the device left sys-usb".
		 */
		if (!d->seen && !d->listed && d->sess != NULL &&
		    usbdev_devnum_is(d->syspath, d->devnum))
			continue;
		if (!d->seen)
			dev_remove(b, d);
	}
}

static void
publish_all(struct bd *b)
{
	struct bd_dev *d;
	int n = 0;

	for (d = b->devs; d != NULL; d = d->next) {
		if (d->changed) {
			d->info = d->pending;
			d->changed = 0;
		}
		send_dev(b, CTL_MSG_DEV_ADD, &d->info);
		n++;
	}
	log_info("dom0 connected: %d device(s) published", n);
}

/* ---- udev ------------------------------------------------------------------------ */

static int
udev_open(struct bd *b)
{
	/* Without udevd (minimal guests) only the kernel's uevents come;
	 * they carry no udev properties, which the rescan reads from the
	 * udev database when there is one. */
	const char *source = access("/run/udev/control", F_OK) == 0 ?
	    "udev" : "kernel";

	if ((b->udev = udev_new()) == NULL)
		return -1;
	b->mon = udev_monitor_new_from_netlink(b->udev, source);
	if (b->mon == NULL)
		return -1;
	if (udev_monitor_filter_add_match_subsystem_devtype(b->mon, "usb",
	    NULL) < 0 || udev_monitor_enable_receiving(b->mon) < 0)
		return -1;
	log_info("watching %s events", source);
	return 0;
}

static void
udev_input(struct bd *b)
{
	struct udev_device *ud;
	int n = 0;

	while (n++ < 64 && (ud = udev_monitor_receive_device(b->mon)) != NULL) {
		log_debug("uevent %s %s", udev_device_get_action(ud),
		    udev_device_get_syspath(ud));
		udev_device_unref(ud);
		b->rescan_at = mono_ms() + BD_RESCAN_DELAY_MS;
	}
}

/* ---- signals and the loop -------------------------------------------------------------- */

static void
signals_handle(struct bd *b)
{
	int sig;

	while ((sig = sv_signal_next()) != 0) {
		switch (sig) {
		case SIGCHLD:
			sv_reap(&b->sessions, sess_ended, b);
			break;
		case SIGHUP:
			b->rescan_at = mono_ms();
			break;
		default:
			b->quit = 1;
		}
	}
}

static void
link_events(struct bd *b)
{
	struct ctl_msg m;
	int ev;

	while ((ev = ctl_link_next(b->link, &m)) != CTL_LINK_NONE) {
		switch (ev) {
		case CTL_LINK_DOWN:
			log_warnx("dom0 gone (%s); stopping every session",
			    ctl_link_detail(b->link));
			sess_stop_all(b, 1);
			break;
		case CTL_LINK_UP:
			publish_all(b);
			break;
		case CTL_LINK_MSG:
			if (m.type == CTL_MSG_SERVE)
				handle_serve(b, &m.u.serve);
			else if (m.type == CTL_MSG_STOP)
				handle_stop(b, &m.u.stop);
			break;
		}
	}
}

#define BD_POLL_MAX	(4 + 64)

static void
loop(struct bd *b)
{
	struct pollfd pfd[BD_POLL_MAX];
	struct sv_child *c;
	int n, nl, timeout, i;
	long now;

	while (!b->quit) {
		timeout = -1;
		n = 0;
		pfd[n++] = (struct pollfd){ sv_signal_fd(), POLLIN, 0 };
		pfd[n++] = (struct pollfd){ udev_monitor_get_fd(b->mon),
		    POLLIN, 0 };
		/* Each session's ready pipe. */
		n += sv_pollfds(&b->sessions, &pfd[n], BD_POLL_MAX - 2 - n);
		nl = ctl_link_pollfds(b->link, &pfd[n], &timeout);
		now = mono_ms();
		if (b->rescan_at <= now)
			timeout = 0;
		else if (timeout < 0 || b->rescan_at - now < timeout)
			timeout = (int)(b->rescan_at - now);
		sv_kill_timers(&b->sessions, &timeout);
		if (poll(pfd, (nfds_t)(n + nl), timeout) < 0 && errno != EINTR)
			fatal("poll");
		if (pfd[0].revents)
			signals_handle(b);
		if (pfd[1].revents)
			udev_input(b);
		for (i = 2; i < n; i++)
			if (pfd[i].revents != 0 && (c = sv_by_report_fd(
			    &b->sessions, pfd[i].fd)) != NULL)
				ready_input(b, BD_SESS(c));
		ctl_link_io(b->link, &pfd[n], nl);
		link_events(b);
		if (b->rescan_at <= mono_ms())
			rescan(b);
		if (ctl_link_is_dead(b->link)) {
			log_warnx("control channel closed for good (%s)",
			    ctl_link_detail(b->link));
			b->quit = 1;
		}
	}
}

/* Stop every session and tell dom0 what is left (nothing). */
static void
shutdown_all(struct bd *b)
{
	struct bd_dev *d;
	struct sv_child *c;
	struct bd_sess *s;

	for (c = b->sessions.head; c != NULL; c = c->next) {
		s = BD_SESS(c);
		if (!s->reported && !s->silent)
			send_status(b, s->child.id, s->busid, s->ready ?
			    CTL_SESS_ENDED : CTL_SESS_FAILED,
			    CTL_REASON_SHUTDOWN, "usbgate-backend exits");
		s->reported = 1;
		sess_term(b, s);
	}
	sv_wait_all(&b->sessions, 3000, sess_ended, b);
	while ((d = b->devs) != NULL) {
		b->devs = d->next;
		send_remove(b, d->info.busid);
		free(d);
	}
	ctl_link_drain(b->link, 500);
}

static void
usage(void)
{
	fprintf(stderr, "usage: usbgate-backend daemon --control URI [--listen] "
	    "[--name NAME] [--data-pool GLOB]... "
	    "[--user USER | --uid-range FIRST-LAST] [--accept-timeout SEC] "
	    "[--check] [-v]\n");
	exit(BD_EXIT_USAGE);
}

/* The backend's own options (vmd_opts.h has the shared ones). */
static int
own_opt(void *ctx, int ch, const char *arg)
{
	struct bd *b = ctx;
	char *end;

	switch (ch) {
	case 'U':
		return uid_range_parse(arg, &b->uids);
	case 't':
		b->accept_timeout = (int)strtol(arg, &end, 10);
		return *end != '\0' || b->accept_timeout < 1 ||
		    b->accept_timeout > 3600 ? -1 : 0;
	}
	return -1;
}

int
be_daemon_main(int argc, char **argv)
{
	static const struct option own[] = {
		{ "uid-range", required_argument, NULL, 'U' },
		{ "accept-timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	static struct bd b;
	int r;

	b.accept_timeout = 30;
	if (vmd_opts_parse(argc, argv, own, "U:t:", own_opt, &b, "sys-usb", 0,
	    &b.opt) < 0)
		usage();
	log_setverbose(b.opt.verbose);
	r = ctl_link_new(b.opt.control, b.opt.listen, CTL_ROLE_BACKEND,
	    b.opt.name,
	    CTL_CAP_REFUSE_IFACES | CTL_CAP_RESET | CTL_CAP_DESC_HASH, &b.link);
	if (r != CTL_OK) {
		log_warnx("control channel %s: %s", b.opt.control,
		    ctl_strerror(r));
		return BD_EXIT_USAGE;
	}
	if (b.opt.check) {
		vmd_opts_print(&b.opt);
		ctl_link_free(b.link);
		return 0;
	}
	b.sessions.grace_ms = BD_KILL_GRACE_MS;
	b.sessions.what = "session";
	sv_signals_init((const int[]){ SIGCHLD, SIGTERM, SIGINT, SIGHUP, 0 });
	if (udev_open(&b) < 0) {
		log_warnx("cannot watch udev events");
		return BD_EXIT_ERROR;
	}
	rescan(&b);
	log_info("started: control %s, %s", b.opt.control, b.opt.pool.n ?
	    "data channels restricted by --data-pool" : "any data channel");
	loop(&b);
	log_info("shutting down");
	shutdown_all(&b);
	udev_monitor_unref(b.mon);
	udev_unref(b.udev);
	ctl_link_free(b.link);
	return BD_EXIT_OK;
}
