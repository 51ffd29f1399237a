/*
 * attach.c: the privileged half of one import ("usbgate-frontend attach",
 * and each IMPORT of the daemon, see attach.h).
 *
 * Owns the process split: the privileged parent keeps only what the
 * session cannot do itself (writing vhci's sysfs attach/detach files, or
 * connecting a port on /dev/usbgate_hcd: kmod_port.c);
 * the child that parses the backend's bytes holds nothing but the channel
 * and its vhci socket, runs as nobody in an empty chroot under seccomp, and
 * asks the parent for a port over a socketpair.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "clock.h"
#include "ident.h"
#include "kmod_port.h"
#include "log.h"
#include "sandbox.h"
#include "session.h"
#include "stream.h"
#include "vhci_sysfs.h"

/* Parent <-> session child messages (SOCK_SEQPACKET, fixed size). */
struct priv_msg {
	uint32_t type;
	int32_t result;		/* reply: port or negative vhci_error */
	uint32_t speed;
	uint16_t vid, pid;
};
#define PRIV_ATTACH	1

static volatile sig_atomic_t got_stop;

static void
on_stop(int sig)
{
	got_stop = 1;
}

/* ---------------------------------------------------------------- child */

struct child_ctx {
	int priv;
};

static int
child_attach(void *ctx, int speed, uint16_t vid, uint16_t pid)
{
	struct child_ctx *c = ctx;
	struct priv_msg m = { .type = PRIV_ATTACH, .speed = (uint32_t)speed,
	    .vid = vid, .pid = pid };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh;
	struct cmsghdr *cm;
	int fd = -1;
	ssize_t n;

	if (send(c->priv, &m, sizeof(m), 0) != (ssize_t)sizeof(m))
		return FE_E_ATTACH;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	do
		n = recvmsg(c->priv, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(m) || m.result < 0) {
		log_warnx("attach: %s", n == (ssize_t)sizeof(m) ?
		    vhci_strerror(m.result) : "parent gone");
		return FE_E_ATTACH;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd >= 0 ? fd : FE_E_ATTACH;
}

static int
exit_for(int err)
{
	switch (err) {
	case FE_E_STOPPED:
	case FE_E_DISCONNECT:
		return FE_EXIT_CLEAN;
	case FE_E_EOF:
	case FE_E_CHANNEL:
		return FE_EXIT_PEER_GONE;
	case FE_E_PROTO:
		return FE_EXIT_PROTO;
	case FE_E_IDENTITY:
		return FE_EXIT_MISMATCH;
	default:
		return FE_EXIT_ERROR;
	}
}

static int
run_child(const struct fe_attach_opts *o, int priv, pid_t parent, int kmod)
{
	struct child_ctx c = { .priv = priv };
	struct fe_hooks hooks = { .attach = child_attach, .ctx = &c,
	    .kmod = kmod };
	struct fe_session *s;
	struct stream *chan;
	int rc, err;

	log_setproc("usbgate-frontend[session]");
	sandbox_parent_death_signal(SIGKILL, parent);
	/* Acquire (a vchan's ring is the opening process's, proto/chan.h),
	 * drop, then parse. */
	rc = stream_open(o->uri, o->flags, &chan);
	if (rc < 0) {
		log_warnx("channel %s: %s%s%s", o->uri, stream_strerror(rc),
		    rc == STREAM_E_SYS ? ": " : "",
		    rc == STREAM_E_SYS ? strerror(errno) : "");
		return FE_EXIT_ERROR;
	}
	rc = sandbox_enter(o->user, SANDBOX_ALLOW_SOCKETS);
	if (rc < 0) {
		log_warnx("sandbox: %s", sandbox_strerror(rc));
		return FE_EXIT_ERROR;
	}
	/* the id change cleared it: a session must not outlive its parent */
	sandbox_parent_death_signal(SIGKILL, parent);
	rc = fe_session_new(chan, &hooks, &s);
	if (rc < 0) {
		log_warnx("session: %s", fe_strerror(rc));
		return FE_EXIT_ERROR;
	}
	s->classes = o->classes;
	err = fe_session_run(s, &got_stop, o->timeout_ms);
	log_warnx("session ended: %s (%s); %llu URBs, %llu unlinks, "
	    "%llu bytes in, %llu bytes out, %llu resets, %llu bulk streams, "
	    "input packets dropped on overflow: %llu interrupt, %llu iso, "
	    "iso packets failed in sys-usb: %llu",
	    s->detail, fe_strerror(err),
	    (unsigned long long)s->stats.urbs,
	    (unsigned long long)s->stats.unlinks,
	    (unsigned long long)s->stats.bytes_in,
	    (unsigned long long)s->stats.bytes_out,
	    (unsigned long long)s->stats.resets,
	    (unsigned long long)s->stats.streams,
	    (unsigned long long)s->stats.int_dropped,
	    (unsigned long long)s->stats.iso_dropped,
	    (unsigned long long)s->stats.iso_failed);
	log_info("URB turnaround p50 %llu us, p99 %llu us; %llu polls, "
	    "%llu channel reads", (unsigned long long)fe_lat_percentile(
	    &s->stats, 50), (unsigned long long)fe_lat_percentile(&s->stats, 99),
	    (unsigned long long)s->stats.polls,
	    (unsigned long long)s->stats.chan_reads);
	fe_session_free(s);
	return exit_for(err);
}

/* ---------------------------------------------------------------- parent */

static int
send_fd(int sock, const struct priv_msg *m, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static int
handle_attach(int priv, const struct priv_msg *req, int *port_out,
    const struct fe_attach_opts *o, int *mismatch, struct kmod_port *kp)
{
	struct priv_msg rep = { .type = PRIV_ATTACH };
	int sp[2], port, rc, speed = (int)req->speed;

	/* sanitize: the child is untrusted as well */
	if (speed != FE_SPEED_LOW && speed != FE_SPEED_FULL &&
	    speed != FE_SPEED_HIGH && speed != FE_SPEED_SUPER) {
		rep.result = VHCI_E_NOPORT;
		return send_fd(priv, &rep, -1);
	}
	if (o->check_id && (req->vid != o->vid || req->pid != o->pid)) {
		/* Not the device dom0 lent us: attach nothing. */
		log_warnx("the backend offers %04x:%04x, dom0 announced "
		    "%04x:%04x; not attaching", req->vid, req->pid, o->vid,
		    o->pid);
		*mismatch = 1;
		rep.result = VHCI_E_NOPORT;
		return send_fd(priv, &rep, -1);
	}
	if (*port_out >= 0) {
		/* One port per session. */
		rep.result = VHCI_E_NOPORT;
		return send_fd(priv, &rep, -1);
	}
	if (kp != NULL) {
		/* usbgate_hcd: the session owns the port's descriptor. */
		rep.result = kmod_port_connect(speed, kp);
		if (rep.result < 0)
			return send_fd(priv, &rep, -1);
		*port_out = rep.result = (int32_t)kp->portnum;
		log_info("device %04x:%04x on usbgate_hcd port %s", req->vid,
		    req->pid, kp->busid);
		rc = send_fd(priv, &rep, kp->fd);
		close(kp->fd);
		kp->fd = -1;
		return rc;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		rep.result = VHCI_E_SYS;
		return send_fd(priv, &rep, -1);
	}
	/* Our own devid: cleanup tells our port from another import's. */
	port = vhci_attach(sp[0], speed, vhci_import_devid(getpid()));
	close(sp[0]);
	if (port < 0) {
		log_warnx("vhci attach: %s", vhci_strerror(port));
		rep.result = port;
		close(sp[1]);
		return send_fd(priv, &rep, -1);
	}
	*port_out = port;
	rep.result = port;
	log_info("device %04x:%04x on vhci port %d", req->vid, req->pid, port);
	if (send_fd(priv, &rep, sp[1]) < 0) {
		close(sp[1]);
		return -1;
	}
	close(sp[1]);
	return 0;
}

/* The local bus id once the kernel has configured the device, else NULL. */
static const char *
enumerated(int port, const struct kmod_port *kp, char *busid, size_t len)
{
	struct vhci_port p;
	char path[256], val[16];
	FILE *f;

	if (kp != NULL)
		snprintf(p.busid, sizeof(p.busid), "%s", kp->busid);
	else if (vhci_port_info(port, &p) < 0 || p.status != VHCI_ST_USED ||
	    !ident_busid_valid(p.busid))
		return NULL;
	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/bConfigurationValue",
	    p.busid);
	f = fopen(path, "re");
	if (f == NULL)
		return NULL;
	val[0] = '\0';
	if (fgets(val, sizeof(val), f) == NULL || val[0] == '\n' ||
	    val[0] == '\0') {
		fclose(f);
		return NULL;
	}
	fclose(f);
	snprintf(busid, len, "%s", p.busid);
	return busid;
}

static const char *
speed_name(int speed)
{
	switch (speed) {
	case FE_SPEED_LOW: return "low";
	case FE_SPEED_FULL: return "full";
	case FE_SPEED_HIGH: return "high";
	case FE_SPEED_SUPER: return "super";
	default: return "unknown";
	}
}

/* Does the device at local busid have the id dom0 announced? */
static int
id_matches(const char *busid, uint16_t vid, uint16_t pid)
{
	char path[256], v[16], p[16];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/idVendor", busid);
	if ((f = fopen(path, "re")) == NULL || fgets(v, sizeof(v), f) == NULL) {
		if (f != NULL)
			fclose(f);
		return 0;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/idProduct", busid);
	if ((f = fopen(path, "re")) == NULL || fgets(p, sizeof(p), f) == NULL) {
		if (f != NULL)
			fclose(f);
		return 0;
	}
	fclose(f);
	return strtoul(v, NULL, 16) == vid && strtoul(p, NULL, 16) == pid;
}

/* The parent's view of its one import. */
struct import {
	const struct fe_attach_opts *o;
	pid_t pid;		/* the session child */
	int priv;		/* our end of the socketpair to it */
	int port;		/* vhci port, or -1 */
	int speed;
	int printed;		/* enumerated, or given up waiting */
	int mismatch;		/* not the device dom0 announced */
	uint64_t attach_t;	/* ms: first look at the port */
	struct kmod_port kmod;	/* the port on usbgate_hcd, if used */
	int use_kmod;		/* usbgate_hcd instead of vhci_hcd */
};

/*
 * Fork the session child, which opens the channel; the parent never
 * touches channel bytes. Returns 0 or an enum fe_exit.
 */
static int
import_start(struct import *im)
{
	const struct fe_attach_opts *o = im->o;
	struct sigaction sa;
	pid_t parent;
	int sp[2];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		fatal("socketpair");
	parent = getpid();
	im->pid = fork();
	if (im->pid < 0)
		fatal("fork");
	if (im->pid == 0) {
		close(sp[0]);
		if (o->notify_fd >= 0)
			close(o->notify_fd);
		_exit(run_child(o, sp[1], parent, im->use_kmod));
	}
	close(sp[1]);
	im->priv = sp[0];
	return 0;
}

/*
 * Once the port is attached: has the kernel configured the device? Prints
 * "attached: ..." (and writes the note) once it has. Returns 1 when the
 * device is not the one announced and the session is being stopped.
 */
static int
import_check_enumerated(struct import *im)
{
	const struct fe_attach_opts *o = im->o;
	uint64_t now = (uint64_t)mono_ms();
	char busid[32];

	if (im->attach_t == 0)
		im->attach_t = now;
	if (enumerated(im->port, im->use_kmod ? &im->kmod : NULL, busid,
	    sizeof(busid)) != NULL) {
		im->printed = 1;
		if (o->check_id && !id_matches(busid, o->vid, o->pid)) {
			log_warnx("%s enumerated with another id than "
			    "%04x:%04x; detaching", busid, o->vid, o->pid);
			im->mismatch = 1;
			kill(im->pid, SIGTERM);
			return 1;
		}
		if (o->notify_fd >= 0) {
			struct fe_attach_note note;

			memset(&note, 0, sizeof(note));
			note.port = im->port;
			snprintf(note.busid, sizeof(note.busid), "%s", busid);
			if (write(o->notify_fd, &note, sizeof(note)) < 0)
				log_warn("notify");
		}
		printf("attached: %s port %d busid %s speed %s\n",
		    im->use_kmod ? "usbgate_hcd" : "vhci", im->port, busid,
		    speed_name(im->speed));
		fflush(stdout);
	} else if (now - im->attach_t > 15000) {
		log_warnx("device on port %d did not enumerate within 15 s",
		    im->port);
		im->printed = 1;
	}
	return 0;
}

/* Reap the session child, free its port; returns an enum fe_exit. */
static int
import_end(struct import *im)
{
	struct rusage ru;
	int status;

	while (wait4(im->pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	log_info("session cpu %.2f s user + %.2f s system",
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	/* vhci frees the port itself when the socket dies; make sure. */
	if (im->port >= 0 && !im->use_kmod)
		vhci_detach_own(im->port, vhci_import_devid(getpid()));
	if (im->mismatch)
		return FE_EXIT_MISMATCH;
	if (WIFSIGNALED(status)) {
		log_warnx("session process killed by signal %d%s",
		    WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
		    " (seccomp: a forbidden system call)" : "");
		return FE_EXIT_KILLED + WTERMSIG(status);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : FE_EXIT_ERROR;
}

int
fe_attach_run(const struct fe_attach_opts *o)
{
	struct import im = { .o = o, .port = -1, .kmod = { .fd = -1 },
	    .use_kmod = kmod_hcd_use(o->hcd) };
	int rc;

	if ((rc = import_start(&im)) != 0)
		return rc;
	for (;;) {
		struct pollfd pfd = { .fd = im.priv, .events = POLLIN };
		struct priv_msg m;
		ssize_t n;

		if (got_stop) {
			kill(im.pid, SIGTERM);
			got_stop = 0;
		}
		rc = poll(&pfd, 1, im.port >= 0 && !im.printed ? 50 : -1);
		if (rc < 0 && errno != EINTR)
			break;
		if (im.port >= 0 && !im.printed && import_check_enumerated(&im))
			continue;
		if (rc <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(im.priv, &m, sizeof(m), 0);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;		/* the session ended */
		if (n != (ssize_t)sizeof(m) || m.type != PRIV_ATTACH) {
			log_warnx("bad request from the session; ending it");
			kill(im.pid, SIGKILL);
			break;
		}
		im.speed = (int)m.speed;
		if (handle_attach(im.priv, &m, &im.port, o, &im.mismatch,
		    im.use_kmod ? &im.kmod : NULL) < 0)
			break;
	}
	return import_end(&im);
}
