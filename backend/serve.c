/*
 * serve.c: the privileged half of "usbgate-backend serve".
 *
 * Owns what the unprivileged session cannot do: opening the device node,
 * the optional reset before attach, loading the device's modules before it
 * is claimed (modules.c), and giving the device back to sys-usb's
 * own kernel drivers after the session, whatever ended it (the session's
 * own clean-up, a crash, SIGKILL). It never reads a byte from the channel.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/usbdevice_fs.h>

#include "clock.h"
#include "confine.h"
#include "host_session.h"
#include "log.h"
#include "modules.h"
#include "sandbox.h"
#include "serve.h"

struct end_msg {
	int32_t error;
	char reason[200];
};

static volatile sig_atomic_t got_stop;

static void
on_stop(int sig)
{
	got_stop = 1;
}

/*
 * Whatever answers at the port after a reset must be the device that was
 * reset: same identity (usbdev_recheck) and, when the caller knows one,
 * same descriptor hash. 0, -1 while it is not back, or USBDEV_E_CHANGED.
 */
static int
recheck(const struct usbdev *d, const struct serve_options *o,
    struct usbdev *now)
{
	int r = usbdev_recheck(d, now);

	if (r == USBDEV_E_CHANGED)
		return r;
	if (r != USBDEV_OK)
		return -1;
	if (o->verify != NULL && (r = o->verify(now, o->verify_arg)) != 0)
		return r > 0 ? USBDEV_E_CHANGED : -1;
	return 0;
}

/*
 * Reset the device on fd. When the kernel re-enumerates it (a different
 * device, or one that changed its descriptors) the device comes back under
 * a new device number: reopen it, but only if it is the same device.
 * Returns the descriptor to serve or a negative usbdev_error.
 */
static int
reset_device(int fd, struct usbdev *d, const struct serve_options *o)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	struct usbdev n;
	int i, r, kept = ioctl(fd, USBDEVFS_RESET, 0) == 0;

	if (!kept) {
		log_info("reset %s: %s; reopening", d->busid, strerror(errno));
		close(fd);
	}
	for (i = 0; i < 50; i++) {
		if ((r = recheck(d, o, &n)) == USBDEV_E_CHANGED)
			break;
		if (r == 0 && kept) {
			log_info("reset %s: the same device answers", d->busid);
			return fd;
		}
		if (r == 0 && (fd = open(n.devnode, O_RDWR | O_CLOEXEC)) >= 0) {
			log_info("reset %s: the same device answers as %s",
			    d->busid, n.devnode);
			*d = n;
			return fd;
		}
		nanosleep(&ts, NULL);
	}
	if (kept)
		close(fd);
	return r == USBDEV_E_CHANGED ? r : USBDEV_E_NOTFOUND;
}

static void give_back(int, struct usbdev *, char *, size_t);

/*
 * The process that gives the device back once the session child is gone,
 * even when we are killed first (the session then ends on its parent-death
 * signal, and its confined file cannot re-attach drivers): it waits for end
 * of file on alive, whose write end only the session child holds, gives the
 * device back and writes the summary on the returned descriptor (-1 if it
 * cannot start). Forked twice: the session child stays our only child.
 */
static int
spawn_keeper(int fd, struct usbdev *d, int alive, int report_fd)
{
	char summary[256], c;
	ssize_t n;
	pid_t pid;
	int p[2], st = 1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if ((pid = fork()) != 0) {
		close(p[1]);
		while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			return p[0];
		close(p[0]);
		return -1;
	}
	if ((pid = fork()) != 0)
		_exit(pid < 0);
	close(p[0]);
	if (report_fd > 0)
		close(report_fd);	/* the end record is the parent's */
	while ((n = read(alive, &c, 1)) != 0)
		if (n < 0 && errno != EINTR)
			break;
	give_back(fd, d, summary, sizeof(summary));
	if (write(p[1], summary, strlen(summary) + 1) < 0)
		_exit(1);
	_exit(0);
}

static const char *
driver_of(int fd, int ifno, char *buf, size_t len)
{
	struct usbdevfs_getdriver gd;

	memset(&gd, 0, sizeof(gd));
	gd.interface = (unsigned int)ifno;
	if (ioctl(fd, USBDEVFS_GETDRIVER, &gd) < 0)
		return NULL;
	snprintf(buf, len, "%s", gd.driver);
	return buf;
}

/*
 * Release any interface still claimed through the session's file and let the
 * kernel probe its drivers again. Release everything first, in reverse order,
 * then connect: cdc_acm probes interface 0 and needs interface 1 free. The
 * session's file may be confined (no driver connection): connect through a
 * file of our own.
 */
static void
give_back(int fd, struct usbdev *d, char *summary, size_t len)
{
	struct usbdev now;
	char drv[256];
	size_t off = 0;
	int i, sfd = fd;

	summary[0] = '\0';
	if (usbdev_from_syspath(d->syspath, &now) != USBDEV_OK) {
		snprintf(summary, len, "device gone");
		return;
	}
	for (i = now.niface - 1; i >= 0; i--) {
		unsigned int ifno = now.iface[i].number;

		ioctl(sfd, USBDEVFS_RELEASEINTERFACE, &ifno);
	}
	if ((fd = open(now.devnode, O_RDWR | O_CLOEXEC)) < 0)
		fd = sfd;
	for (i = 0; i < now.niface; i++) {
		struct usbdevfs_ioctl ctl = {
			.ifno = now.iface[i].number,
			.ioctl_code = USBDEVFS_CONNECT,
			.data = NULL,
		};

		if (driver_of(fd, now.iface[i].number, drv, sizeof(drv)) == NULL)
			ioctl(fd, USBDEVFS_IOCTL, &ctl);
	}
	for (i = 0; i < now.niface && off < len; i++) {
		const char *name = driver_of(fd, now.iface[i].number, drv,
		    sizeof(drv));

		off += (size_t)snprintf(summary + off, len - off, "%sif%u=%s",
		    i ? " " : "", now.iface[i].number, name ? name : "none");
	}
	if (now.niface == 0)
		snprintf(summary, len, "no interfaces");
	if (fd != sfd)
		close(fd);
}

/* The end record (serve.h): one write, shorter than PIPE_BUF. */
static void
report_end(int fd, const char *reason)
{
	char rec[256];
	int n;

	if (fd <= 0)
		return;
	n = snprintf(rec, sizeof(rec), "E%.*s\n", (int)sizeof(rec) - 3,
	    reason);
	if (n > 0 && write(fd, rec, (size_t)n) < 0) {
		/* The daemon is gone: nobody to tell. */
	}
}

/* A failure before the session: logged here and sent as the end record. */
static void
serve_fail(const struct serve_options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
serve_fail(const struct serve_options *o, const char *fmt, ...)
{
	char reason[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_warnx("%s", reason);
	report_end(o->report_fd, reason);
}

int
be_serve(struct usbdev *d, const struct serve_options *o)
{
	struct be_options bo = { .user = o->user, .verbose = o->verbose,
	    .refused = o->refused, .n_refused = o->n_refused,
	    .refused_alts = o->refused_alts,
	    .n_refused_alts = o->n_refused_alts,
	    .pin_config = o->pin_config };
	struct end_msg em = { .error = BE_E_LIBUSB };
	struct uid_slot slot = { .fd = -1 };
	char summary[256];
	struct stream *chan;
	struct sigaction sa;
	int fd, sp[2], alive[2], rc, status, exit_code, summary_fd;
	struct rusage ru;
	uint64_t t0, t1;
	pid_t pid, parent;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fd = open(d->devnode, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		serve_fail(o, "open %s: %s", d->devnode, strerror(errno));
		return SERVE_EXIT_ERROR;
	}
	if (o->reset && (fd = reset_device(fd, d, o)) < 0) {
		if (fd == USBDEV_E_CHANGED) {
			serve_fail(o, "%s after reset: %s; refused", d->busid,
			    usbdev_strerror(fd));
			return SERVE_EXIT_CHANGED;
		}
		serve_fail(o, "%s did not come back after reset", d->busid);
		return SERVE_EXIT_ERROR;
	}
	/* The session's own uid, held until it is reaped. */
	if (o->user == NULL && geteuid() == 0) {
		struct uid_range r = o->uids;

		if (r.count == 0)
			r = (struct uid_range){ UID_SLOT_FIRST, UID_SLOT_COUNT };
		if ((rc = uid_slot_take(NULL, &r, &slot)) < 0) {
			serve_fail(o, "session uid: %s", uid_slot_strerror(rc));
			close(fd);
			return SERVE_EXIT_ERROR;
		}
		bo.uid = slot.uid;
		log_info("session uid %u", (unsigned int)slot.uid);
	}
	/*
	 * sys-usb's modules for its interfaces loaded and live first, so that
	 * none binds while the session has an interface released for a reset
	 * (modules.h); confine.c then detaches the drivers that bound.
	 */
	if (geteuid() == 0) {
		char mods[128];
		int ms;

		rc = mod_settle(d->syspath, d->busid, NULL, mods, sizeof(mods),
		    &ms);
		if (rc < 0)
			log_warnx("%s: module(s) %s: %s", d->busid, mods,
			    mod_strerror(rc));
		else if (ms > 0)
			log_info("%s: module(s) %s loaded and live after %d ms",
			    d->busid, mods, ms);
	}
	/* Refused interfaces out of the session's reach (confine.h). */
	rc = confine_session_file(fd, d, o->refused, o->n_refused);
	if (rc < 0 && (rc != CONFINE_E_NOCAP || o->n_refused > 0)) {
		serve_fail(o, "%s: %s; refused", d->busid,
		    confine_strerror(rc));
		give_back(fd, d, summary, sizeof(summary));
		close(fd);
		uid_slot_close(&slot);
		return SERVE_EXIT_ERROR;
	}
	bo.confined = rc == CONFINE_OK;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
	    pipe2(alive, O_CLOEXEC) < 0)
		fatal("socketpair");
	t0 = mono_ns();
	parent = getpid();
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid == 0) {
		struct end_msg m;

		close(sp[0]);
		if (o->report_fd > 0)
			close(o->report_fd);	/* the parent's to write */
		uid_slot_close(&slot);	/* the parent holds it */
		log_setproc("usbgate-backend[session]");
		close(alive[0]);	/* alive[1] is closed by our end */
		/*
		 * If the parent dies, end like on SIGTERM: tell the frontend,
		 * release the interfaces (usbredirhost_close); the keeper
		 * re-attaches sys-usb's drivers.
		 */
		sandbox_parent_death_signal(SIGTERM, parent);
		bo.parent = parent;
		memset(&m, 0, sizeof(m));
		/*
		 * The session opens the channel itself, still privileged: a
		 * vchan's ring belongs to the process that opened it (see
		 * proto/chan.h), and the parent never holds channel bytes.
		 */
		rc = stream_open(o->channel, o->listen ? STREAM_F_LISTEN : 0,
		    &chan);
		if (rc < 0)
			snprintf(m.reason, sizeof(m.reason), "channel %s: %s%s%s",
			    o->channel, stream_strerror(rc),
			    rc == STREAM_E_SYS ? ": " : "",
			    rc == STREAM_E_SYS ? strerror(errno) : "");
		m.error = rc < 0 ? BE_E_CHANNEL : be_session_run(fd, chan, &bo,
		    &got_stop, m.reason, sizeof(m.reason));
		send(sp[1], &m, sizeof(m), MSG_NOSIGNAL);
		_exit(0);
	}
	close(sp[1]);
	close(alive[1]);
	summary_fd = spawn_keeper(fd, d, alive[0], o->report_fd);
	close(alive[0]);
	log_info("serving %s (%04x:%04x) on %s", d->busid, d->vid, d->pid,
	    o->channel);

	for (;;) {
		struct pollfd pfd = { .fd = sp[0], .events = POLLIN };
		ssize_t n;

		if (got_stop) {
			kill(pid, SIGTERM);
			got_stop = 0;
		}
		rc = poll(&pfd, 1, -1);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n = recv(sp[0], &em, sizeof(em), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(em))
			em.error = BE_E__COUNT;	/* died without a word */
		break;
	}
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	t1 = mono_ns();
	close(sp[0]);
	summary[0] = '\0';
	if (summary_fd < 0)
		give_back(fd, d, summary, sizeof(summary));
	else {
		while (read(summary_fd, summary, sizeof(summary) - 1) < 0 &&
		    errno == EINTR)
			;
		summary[sizeof(summary) - 1] = '\0';
		close(summary_fd);
	}
	close(fd);
	uid_slot_close(&slot);

	if (em.error == BE_E__COUNT) {
		snprintf(em.reason, sizeof(em.reason), "session process %s %d",
		    WIFSIGNALED(status) ? "killed by signal" : "exited with",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
			strncat(em.reason, " (seccomp: forbidden system call)",
			    sizeof(em.reason) - strlen(em.reason) - 1);
		exit_code = SERVE_EXIT_ERROR;
	} else {
		em.reason[sizeof(em.reason) - 1] = '\0';
		switch (em.error) {
		case BE_OK:
		case BE_E_EOF:
		case BE_E_STOPPED:
			exit_code = SERVE_EXIT_CLEAN;
			break;
		case BE_E_UNPLUG:
			exit_code = SERVE_EXIT_UNPLUG;
			break;
		case BE_E_PROTO:
		case BE_E_REJECTED:
			exit_code = SERVE_EXIT_PROTO;
			break;
		default:
			exit_code = SERVE_EXIT_ERROR;
		}
	}
	log_warnx("session ended: %s; %s returned to sys-usb (%s); "
	    "cpu %.2f s user + %.2f s system in %.1f s",
	    em.reason[0] ? em.reason : "no reason given", d->busid, summary,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
	    (t1 - t0) / 1e9);
	report_end(o->report_fd, em.reason[0] ? em.reason : "no reason given");
	return exit_code;
}
