/*
 * tests/shadow/xenvchan.c: a stand-in for libxenvchan where no Xen
 * hypervisor runs (this machine, CI). It implements the functions of the
 * real <libxenvchan.h> that usbgate uses, with the same signatures and the
 * same observable behaviour, over a UNIX socket per xenstore path:
 *
 *  - server_init returns at once; is_open() says 2 until a client comes;
 *  - fd_for_select() is one descriptor for the vchan's whole life (an
 *    epoll set standing for the event channel): readable when the peer
 *    wrote, connected, closed, or read data after our write could not
 *    complete (vchan's notify-on-read);
 *  - wait() consumes those events and blocks when there are none;
 *  - read()/write() stream as much as fits, 0 when nonblocking and nothing
 *    fits, -1 once the peer closed and no data is left.
 *
 * Test programs link this file instead of -lxenvchan.
 * Socket directory: $USBGATE_VCHAN_SHADOW_DIR (default /tmp).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libxenvchan.h>

struct shadow {
	struct libxenvchan pub;	/* first: callers see the real struct */
	int ep;			/* the "event channel" */
	int lfd;		/* server: listening socket until a client came */
	int cfd;		/* the connection */
	int closed;		/* the peer closed */
	int want_out;		/* EPOLLOUT armed (a write did not complete) */
	char path[108];
};

#define SH(ctrl) ((struct shadow *)(ctrl))

static void
sock_path(const char *xs_path, char *out, size_t len)
{
	const char *dir = getenv("USBGATE_VCHAN_SHADOW_DIR");
	char flat[80];
	size_t i;

	snprintf(flat, sizeof(flat), "%s", xs_path);
	for (i = 0; flat[i] != '\0'; i++)
		if (flat[i] == '/')
			flat[i] = '_';
	snprintf(out, len, "%s/vchan-%s", dir != NULL ? dir : "/tmp", flat);
}

static struct shadow *
shadow_new(const char *xs_path)
{
	struct shadow *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->lfd = s->cfd = -1;
	s->pub.blocking = 1;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0) {
		free(s);
		return NULL;
	}
	sock_path(xs_path, s->path, sizeof(s->path));
	return s;
}

static int
watch(struct shadow *s, int fd, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(s->ep, op, fd, &ev);
}

struct libxenvchan *
libxenvchan_server_init(struct xentoollog_logger *logger, int domain,
    const char *xs_path, size_t read_min, size_t write_min)
{
	struct shadow *s = shadow_new(xs_path);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (s == NULL)
		return NULL;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->path);
	unlink(s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(s->lfd, 1) < 0 || watch(s, s->lfd, EPOLL_CTL_ADD, EPOLLIN) < 0) {
		libxenvchan_close(&s->pub);
		return NULL;
	}
	s->pub.is_server = 1;
	return &s->pub;
}

struct libxenvchan *
libxenvchan_client_init(struct xentoollog_logger *logger, int domain,
    const char *xs_path)
{
	struct shadow *s = shadow_new(xs_path);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (s == NULL)
		return NULL;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->path);
	s->cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->cfd < 0 || connect(s->cfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    watch(s, s->cfd, EPOLL_CTL_ADD, EPOLLIN | EPOLLRDHUP) < 0) {
		libxenvchan_close(&s->pub);
		return NULL;
	}
	return &s->pub;
}

void
libxenvchan_close(struct libxenvchan *ctrl)
{
	struct shadow *s = SH(ctrl);

	if (s == NULL)
		return;
	if (s->cfd >= 0)
		close(s->cfd);
	if (s->lfd >= 0) {
		close(s->lfd);
		unlink(s->path);
	}
	close(s->ep);
	free(s);
}

int
libxenvchan_fd_for_select(struct libxenvchan *ctrl)
{
	return SH(ctrl)->ep;
}

int
libxenvchan_wait(struct libxenvchan *ctrl)
{
	struct shadow *s = SH(ctrl);
	struct epoll_event ev[4];
	int n, i;

	n = epoll_wait(s->ep, ev, 4, -1);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (ev[i].data.fd == s->lfd) {
			int c = accept4(s->lfd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (c < 0)
				continue;
			/* one client per vchan */
			epoll_ctl(s->ep, EPOLL_CTL_DEL, s->lfd, NULL);
			close(s->lfd);
			unlink(s->path);
			s->lfd = -1;
			s->cfd = c;
			watch(s, c, EPOLL_CTL_ADD, EPOLLIN | EPOLLRDHUP);
		} else if ((ev[i].events & EPOLLOUT) && s->want_out) {
			/* the peer read: our notify-on-read fired once */
			s->want_out = 0;
			watch(s, s->cfd, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
		}
	}
	return 0;
}

int
libxenvchan_data_ready(struct libxenvchan *ctrl)
{
	struct shadow *s = SH(ctrl);
	int n = 0;

	if (s->cfd < 0 || ioctl(s->cfd, FIONREAD, &n) < 0)
		return 0;
	return n;
}

int
libxenvchan_is_open(struct libxenvchan *ctrl)
{
	struct shadow *s = SH(ctrl);
	char c;

	if (s->cfd < 0)
		return s->lfd >= 0 ? 2 : 0;
	if (!s->closed && recv(s->cfd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		s->closed = 1;
	return s->closed ? 0 : 1;
}

int
libxenvchan_read(struct libxenvchan *ctrl, void *data, size_t size)
{
	struct shadow *s = SH(ctrl);
	ssize_t n;

	if (s->cfd < 0)
		return 0;
	n = recv(s->cfd, data, size, s->pub.blocking ? 0 : MSG_DONTWAIT);
	if (n > 0)
		return (int)n;
	if (n == 0) {
		s->closed = 1;
		return -1;
	}
	return errno == EAGAIN ? 0 : -1;
}

int
libxenvchan_write(struct libxenvchan *ctrl, const void *data, size_t size)
{
	struct shadow *s = SH(ctrl);
	ssize_t n;

	if (s->cfd < 0)
		return 0;
	if (s->closed)
		return -1;
	n = send(s->cfd, data, size,
	    MSG_NOSIGNAL | (s->pub.blocking ? 0 : MSG_DONTWAIT));
	if (n < 0 && errno != EAGAIN)
		return -1;
	if (n < 0)
		n = 0;
	if ((size_t)n < size && !s->want_out) {
		/* ask to be told when the peer makes room */
		s->want_out = 1;
		watch(s, s->cfd, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	}
	return (int)n;
}
