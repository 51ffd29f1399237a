/*
 * ctl_link.c: a VM daemon's control link to dom0 (see ctl_link.h).
 *
 * States: IDLE (nothing open; a timer says when to try), WAIT_HOST (a
 * character device is open but its host end is not connected), LISTENING
 * (waiting for dom0 to connect), HELLO (our HELLO sent, dom0's awaited),
 * UP, DEAD (an inherited descriptor closed; nothing to reopen).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_chan.h"
#include "ctl_link.h"

#define LINK_RETRY_MIN_MS	250
#define LINK_RETRY_MAX_MS	5000
#define LINK_HOST_POLL_MS	200	/* watch for a char device's host end */
#define LINK_HELLO_RESEND_MS	5000	/* our HELLO may have been lost */
#define LINK_ANSWER_MS		2000	/* a dom0 HELLO this soon answers ours */

enum link_state {
	LINK_IDLE,
	LINK_WAIT_HOST,
	LINK_LISTENING,
	LINK_HELLO,
	LINK_UP,
	LINK_DEAD,
};

struct ctl_link {
	char uri[CTL_URI_MAX + 1];
	struct ctl_chan_uri u;
	unsigned kflags;	/* chan_kind_flags(u.kind) */
	int listen;
	enum ctl_role self;
	char name[CTL_NAME_MAX + 1];
	uint32_t caps;

	enum link_state state;
	int port_fd;		/* dev: kept open across dom0 restarts */
	int lfd;		/* listening socket */
	struct ctl_conn *conn;
	long timer;		/* ms: next attempt or check, 0 = none */
	int retry_ms;
	long hello_at;		/* when our last HELLO was queued */

	int ev_down, ev_up;	/* events to report, in this order */
	char detail[200];
};

const char *
ctl_link_detail(const struct ctl_link *l)
{
	return l->detail;
}

int
ctl_link_is_up(const struct ctl_link *l)
{
	return l->state == LINK_UP;
}

int
ctl_link_is_dead(const struct ctl_link *l)
{
	return l->state == LINK_DEAD;
}

int
ctl_link_new(const char *uri, int listen, enum ctl_role self,
    const char *name, uint32_t caps, struct ctl_link **out)
{
	struct ctl_link *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return CTL_E_NOMEM;
	if (strlen(uri) > CTL_URI_MAX || ctl_chan_parse(uri, &l->u) != CTL_OK ||
	    (listen && !(chan_kind_flags(l->u.kind) & CHAN_K_SOCKET))) {
		free(l);
		return CTL_E_URI;
	}
	snprintf(l->uri, sizeof(l->uri), "%s", uri);
	l->kflags = chan_kind_flags(l->u.kind);
	l->listen = listen;
	l->self = self;
	ctl_strlcpy(l->name, name ? name : "", sizeof(l->name));
	l->caps = caps;
	l->state = LINK_IDLE;
	l->port_fd = l->lfd = -1;
	l->timer = mono_ms();
	l->retry_ms = LINK_RETRY_MIN_MS;
	*out = l;
	return CTL_OK;
}

void
ctl_link_free(struct ctl_link *l)
{
	if (l == NULL)
		return;
	ctl_conn_free(l->conn);
	if (l->port_fd >= 0)
		close(l->port_fd);
	if (l->lfd >= 0)
		close(l->lfd);
	free(l);
}

static void
backoff(struct ctl_link *l)
{
	l->timer = mono_ms() + l->retry_ms;
	l->retry_ms *= 2;
	if (l->retry_ms > LINK_RETRY_MAX_MS)
		l->retry_ms = LINK_RETRY_MAX_MS;
}

/* Drop the connection; report DOWN if dom0 had said hello. */
static void
link_down(struct ctl_link *l, const char *why)
{
	int was_up = l->state == LINK_UP;

	snprintf(l->detail, sizeof(l->detail), "%s", why);
	ctl_conn_free(l->conn);
	l->conn = NULL;
	if (was_up)
		l->ev_down = 1;
	l->ev_up = 0;
	if (l->kflags & CHAN_K_NOEOS) {
		/* Keep the port; wait for its host end to reconnect. */
		l->state = LINK_WAIT_HOST;
		l->timer = mono_ms() + LINK_HOST_POLL_MS;
	} else if (l->kflags & CHAN_K_INHERIT) {
		l->state = LINK_DEAD;
		l->timer = 0;
	} else if (l->listen) {
		l->state = LINK_LISTENING;
		l->timer = 0;
	} else {
		l->state = LINK_IDLE;
		backoff(l);
	}
}

static int
send_hello(struct ctl_link *l)
{
	int r = ctl_conn_send_hello(l->conn, l->name, l->caps);

	l->hello_at = mono_ms();
	return r;
}

/* A channel is open on rfd/wfd: start the hello exchange. */
static void
link_start(struct ctl_link *l, int rfd, int wfd)
{
	int r;

	r = ctl_conn_new(rfd, wfd, l->self, CTL_ROLE_DOM0, &l->conn);
	if (r != CTL_OK) {
		close(rfd);
		if (wfd != rfd)
			close(wfd);
		snprintf(l->detail, sizeof(l->detail), "%s", ctl_strerror(r));
		l->state = LINK_IDLE;
		backoff(l);
		return;
	}
	ctl_conn_allow_rehello(l->conn);
	l->state = LINK_HELLO;
	l->timer = mono_ms() + LINK_HELLO_RESEND_MS;
	if ((r = send_hello(l)) != CTL_OK) {
		char why[120];

		snprintf(why, sizeof(why), "sending HELLO: %s", ctl_strerror(r));
		link_down(l, why);
	}
}

static void
link_try_open(struct ctl_link *l)
{
	int fd, wfd;

	if (l->kflags & CHAN_K_NOEOS) {
		if (l->port_fd < 0) {
			fd = ctl_chan_connect(l->uri, NULL);
			if (fd < 0) {
				snprintf(l->detail, sizeof(l->detail),
				    "open %s: %s", l->u.path, strerror(errno));
				backoff(l);
				return;
			}
			l->port_fd = fd;
		}
		l->state = LINK_WAIT_HOST;
		l->timer = mono_ms();
		return;
	}
	if (l->listen) {
		if (l->lfd < 0 && (l->lfd = ctl_chan_listen(l->uri, 0600)) < 0) {
			snprintf(l->detail, sizeof(l->detail),
			    "listen on %.100s: %s", l->uri, strerror(errno));
			backoff(l);
			return;
		}
		l->state = LINK_LISTENING;
		l->timer = 0;
		return;
	}
	fd = ctl_chan_connect(l->uri, &wfd);
	if (fd < 0) {
		snprintf(l->detail, sizeof(l->detail), "connect %.100s: %s",
		    l->uri, strerror(errno));
		if (l->kflags & CHAN_K_INHERIT) {
			l->state = LINK_DEAD;
			l->timer = 0;
		} else
			backoff(l);
		return;
	}
	link_start(l, fd, wfd);
}

static void
link_timers(struct ctl_link *l)
{
	long now = mono_ms();
	int fd;

	if (l->timer == 0 || l->timer > now)
		return;
	switch (l->state) {
	case LINK_IDLE:
		link_try_open(l);
		break;
	case LINK_WAIT_HOST:
		if (!chan_dev_peer_present(l->port_fd)) {
			l->timer = now + LINK_HOST_POLL_MS;
			break;
		}
		/* The connection owns a duplicate; the port stays open. */
		fd = fcntl(l->port_fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			l->timer = now + LINK_RETRY_MAX_MS;
			break;
		}
		link_start(l, fd, fd);
		break;
	case LINK_HELLO:
		/* No HELLO from dom0: ours may have been dropped by a host
		 * end that was connecting. Say it again. */
		if (send_hello(l) != CTL_OK)
			link_down(l, "sending HELLO failed");
		else
			l->timer = now + LINK_HELLO_RESEND_MS;
		break;
	default:
		l->timer = 0;
	}
}

int
ctl_link_pollfds(struct ctl_link *l, struct pollfd *pfd, int *timeout_ms)
{
	int n = 0;

	link_timers(l);
	if (l->timer != 0) {
		long left = l->timer - mono_ms();
		int t = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;

		if (*timeout_ms < 0 || t < *timeout_ms)
			*timeout_ms = t;
	}
	if (l->state == LINK_LISTENING && l->lfd >= 0) {
		pfd[n++] = (struct pollfd){ l->lfd, POLLIN, 0 };
	} else if (l->conn != NULL) {
		int t = ctl_conn_timeout(l->conn);

		if (t >= 0 && (*timeout_ms < 0 || t < *timeout_ms))
			*timeout_ms = t;
		pfd[n] = (struct pollfd){ ctl_conn_fd(l->conn), POLLIN, 0 };
		if (ctl_conn_pending(l->conn) > 0) {
			if (ctl_conn_wfd(l->conn) == ctl_conn_fd(l->conn))
				pfd[n].events |= POLLOUT;
			else
				pfd[++n] = (struct pollfd){
				    ctl_conn_wfd(l->conn), POLLOUT, 0 };
		}
		n++;
	}
	return n;
}

/* Discard what a broken peer left in a character device. */
static void
port_discard(int fd)
{
	char buf[4096];
	int i;

	for (i = 0; i < 256 && read(fd, buf, sizeof(buf)) > 0; i++)
		;
}

void
ctl_link_io(struct ctl_link *l, const struct pollfd *pfd, int n)
{
	int i, r;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (l->state == LINK_LISTENING && pfd[i].fd == l->lfd) {
			int fd = ctl_chan_accept(l->lfd);

			if (fd >= 0)
				link_start(l, fd, fd);
			continue;
		}
		if (l->conn == NULL)
			continue;
		if ((pfd[i].revents & POLLOUT) && ctl_conn_flush(l->conn) < 0) {
			link_down(l, "write to dom0 failed");
			continue;
		}
		if (pfd[i].fd != ctl_conn_fd(l->conn) ||
		    !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = ctl_conn_read(l->conn);
		if (r == CTL_E_EOF)
			link_down(l, "dom0 closed the channel");
		else if (r < 0) {
			char why[120];

			snprintf(why, sizeof(why), "read: %s", strerror(errno));
			link_down(l, why);
		}
	}
	if (l->conn != NULL && ctl_conn_tick(l->conn) != CTL_OK)
		link_down(l, "dom0 went silent");
	link_timers(l);
}

int
ctl_link_next(struct ctl_link *l, struct ctl_msg *msg)
{
	int r;

	if (l->ev_down) {
		l->ev_down = 0;
		return CTL_LINK_DOWN;
	}
	if (l->ev_up) {
		l->ev_up = 0;
		return CTL_LINK_UP;
	}
	while (l->conn != NULL) {
		int was_up = l->state == LINK_UP;

		r = ctl_conn_next(l->conn, msg);
		if (r == 0)
			return CTL_LINK_NONE;
		if (r < 0) {
			char why[200];

			snprintf(why, sizeof(why), "protocol error from dom0: %s",
			    ctl_conn_error_detail(l->conn));
			ctl_conn_send_error(l->conn, r,
			    ctl_conn_error_detail(l->conn));
			link_down(l, why);
			if (l->kflags & CHAN_K_NOEOS) {
				/* Start over once the pipe is quiet. */
				port_discard(l->port_fd);
				l->timer = mono_ms() + 1000;
			}
			return ctl_link_next(l, msg);
		}
		if (msg->type == CTL_MSG_ERROR) {
			snprintf(l->detail, sizeof(l->detail), "dom0 says: %.150s",
			    msg->u.error.text);
			continue;
		}
		if (msg->type != CTL_MSG_HELLO)
			return CTL_LINK_MSG;
		/* dom0's HELLO. */
		if (was_up &&
		    mono_ms() - l->hello_at > LINK_ANSWER_MS) {
			/* dom0 restarted: it knows nothing of us. */
			if (send_hello(l) != CTL_OK) {
				link_down(l, "sending HELLO failed");
				return ctl_link_next(l, msg);
			}
		}
		l->state = LINK_UP;
		l->timer = 0;
		l->retry_ms = LINK_RETRY_MIN_MS;
		if (was_up)
			l->ev_down = 1;		/* what dom0 ordered is void */
		l->ev_up = 1;
		return ctl_link_next(l, msg);
	}
	return CTL_LINK_NONE;
}

int
ctl_link_send(struct ctl_link *l, const struct ctl_msg *msg)
{
	int r;

	if (l->state != LINK_UP || l->conn == NULL)
		return CTL_E_STATE;
	r = ctl_conn_send(l->conn, msg);
	if (r == CTL_E_EOF || r == CTL_E_SYS || r == CTL_E_NOSPACE ||
	    r == CTL_E_NOMEM) {
		char why[120];

		snprintf(why, sizeof(why), "sending %s: %s",
		    ctl_msg_name(msg->type), ctl_strerror(r));
		link_down(l, why);
	}
	return r;
}

void
ctl_link_drain(struct ctl_link *l, int timeout_ms)
{
	if (l->conn != NULL)
		ctl_conn_drain(l->conn, timeout_ms);
}
