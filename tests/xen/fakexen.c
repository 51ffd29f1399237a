/*
 * tests/xen/fakexen.c: what the fake libxenevtchn and libxengnttab share:
 * the process's domain identity, event-channel ports as shared files, event
 * delivery with Xen's coalescing and masking, and the reaper child that does
 * a dead process's unmap notifications (gntdev/gntalloc do them when the
 * mapping goes away, however the process ended).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "fakexen.h"

int
fx_ioctl(unsigned long req, void *arg)
{
	if (ioctl(-1, req, arg) == 0 || errno == EBADF)
		return 0;
	return -1;
}

int
fx_self(uint32_t *dom, const char **dir)
{
	static char d[96];
	static uint32_t id;
	static int done;
	const char *p, *slash;
	char *end;
	unsigned long v;

	if (!done) {
		p = getenv("XENSTORED_PATH");
		slash = p != NULL ? strrchr(p, '/') : NULL;
		if (slash == NULL || slash[1] != 'd' ||
		    (size_t)(slash - p) >= sizeof(d)) {
			errno = ENOENT;	/* as when /dev/xen/... is absent */
			return -1;
		}
		errno = 0;
		v = strtoul(slash + 2, &end, 10);
		if (errno != 0 || end == slash + 2 || strcmp(end, ".sock") != 0 ||
		    v > 0x7fef) {
			errno = ENOENT;
			return -1;
		}
		memcpy(d, p, (size_t)(slash - p));
		d[slash - p] = '\0';
		id = (uint32_t)v;
		done = 1;
	}
	*dom = id;
	if (dir != NULL)
		*dir = d;
	return 0;
}

struct fx_chan *
fx_chan_map(uint32_t dom, uint32_t port)
{
	const char *dir;
	uint32_t self;
	char path[160];
	void *m;
	int fd;

	if (fx_self(&self, &dir) < 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/ev.%u.%u", dir, dom, port);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	m = mmap(NULL, sizeof(struct fx_chan), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	close(fd);
	return m == MAP_FAILED ? NULL : m;
}

void
fx_chan_unmap(struct fx_chan *c)
{
	if (c != NULL)
		munmap(c, sizeof(*c));
}

struct fx_port *
fx_chan_end(struct fx_chan *c, uint32_t dom, uint32_t port)
{
	return c->end[0].dom == dom && c->end[0].port == port ? &c->end[0] :
	    &c->end[1];
}

static void
deliver(struct fx_port *p, int fd)
{
	struct sockaddr_un sun;
	uint32_t port = p->port;
	socklen_t len;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* abstract: sun_path[0] is NUL; no file system, so chroot is fine */
	memcpy(sun.sun_path + 1, p->sock, sizeof(p->sock));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strnlen(p->sock, sizeof(p->sock)));
	/* a full queue already holds an event for the handle */
	sendto(fd, &port, sizeof(port), MSG_DONTWAIT,
	    (struct sockaddr *)&sun, len);
}

void
fx_port_raise(struct fx_port *p, int fd)
{
	uint32_t old = atomic_load(&p->state);

	do {
		if (old & FX_CLOSED)
			return;
	} while (!atomic_compare_exchange_weak(&p->state, &old,
	    old | FX_PENDING));
	/* one event in flight per port; a masked port waits for unmask */
	if (!(old & (FX_PENDING | FX_MASKED)))
		deliver(p, fd);
}

int
fx_chan_notify(struct fx_chan *c, struct fx_port *l, int fd)
{
	if (atomic_load(&l->state) & FX_CLOSED) {
		errno = EINVAL;
		return -1;
	}
	/* no one bound yet: the event is lost, as in Xen */
	if (atomic_load(&c->bound) == FX_BOUND)
		fx_port_raise(l == &c->end[0] ? &c->end[1] : &c->end[0], fd);
	return 0;
}

void
fx_notify_run(const struct fx_notify *n, int sfd)
{
	struct fx_chan *c;
	uint8_t *m;
	int fd;

	if (n->offset != UINT32_MAX && n->offset < FX_PAGE) {
		fd = open(n->path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			m = mmap(NULL, FX_PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED, fd, 0);
			close(fd);
			if (m != MAP_FAILED) {
				atomic_store((_Atomic uint8_t *)(m + n->offset),
				    0);
				munmap(m, FX_PAGE);
			}
		}
	}
	if (n->port != 0 && (c = fx_chan_map(n->dom, n->port)) != NULL) {
		fx_chan_notify(c, fx_chan_end(c, n->dom, n->port), sfd);
		fx_chan_unmap(c);
	}
}

/* ---------------------------------------------------------------- reaper */

static pid_t reaper_owner;
static int reaper_fd = -1;
static uint64_t reaper_next;

#define REAPER_MAX	256

static void
reaper_main(int fd, int pidfd)
{
	static struct fx_notify list[REAPER_MAX];
	struct fx_notify n;
	struct pollfd p[2] = { { fd, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
	size_t cnt = 0, i;
	int dead = 0, sfd;

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			dead = 1;
		/* everything the process sent before it died is queued */
		while (recv(fd, &n, sizeof(n), MSG_DONTWAIT) == sizeof(n)) {
			if (n.forget) {
				for (i = 0; i < cnt; i++)
					if (list[i].id == n.id)
						list[i] = list[--cnt];
			} else if (cnt < REAPER_MAX)
				list[cnt++] = n;
		}
		if (dead || (p[0].revents & (POLLHUP | POLLERR)))
			break;
	}
	sfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (i = 0; i < cnt; i++)
		fx_notify_run(&list[i], sfd);
	_exit(0);
}

static int
reaper_start(void)
{
	int sv[2], pidfd, fd;
	pid_t parent = getpid(), pid;

	if (reaper_owner == parent && reaper_fd >= 0)
		return 0;
	/*
	 * A forked child: the socket to its parent's reaper is forgotten, not
	 * closed. Its number may name another file by now (a daemon's child
	 * that closed its parent's descriptors and opened others: closing it
	 * ended a backend session's liveness pipe, and its keeper gave the
	 * device back mid-session). It is close-on-exec.
	 */
	reaper_fd = -1;
	pidfd = (int)syscall(SYS_pidfd_open, parent, 0);
	if (pidfd < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		close(pidfd);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		close(pidfd);
		return -1;
	}
	if (pid == 0) {
		/* hold nothing of the parent's open: no pipe stays open */
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (fd = 3; fd < 1024; fd++)
			if (fd != sv[1] && fd != pidfd)
				close(fd);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		reaper_main(sv[1], pidfd);
	}
	close(sv[1]);
	close(pidfd);
	reaper_fd = sv[0];
	reaper_owner = parent;
	return 0;
}

int
fx_reaper_add(struct fx_notify *n)
{
	if (reaper_start() < 0)
		return -1;
	n->id = ++reaper_next;
	n->forget = 0;
	if (send(reaper_fd, n, sizeof(*n), 0) != sizeof(*n))
		return -1;
	return 0;
}

void
fx_reaper_forget(uint64_t id)
{
	struct fx_notify n;

	if (reaper_owner != getpid() || reaper_fd < 0)
		return;
	memset(&n, 0, sizeof(n));
	n.id = id;
	n.forget = 1;
	send(reaper_fd, &n, sizeof(n), 0);
}
