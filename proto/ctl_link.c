/*
 * ctl_link.c: a VM daemon's control link to dom0 (see ctl_link.h).
 *
 * States: IDLE (nothing open; a timer says when to try), LISTENING
 * (waiting for dom0 to connect on a socket), HELLO (our HELLO sent,
 * dom0's awaited; a vchan server waits here for dom0, its client, with
 * our HELLO in the ring),
 * UP, DEAD (an inherited descriptor closed; nothing to reopen). Every way
 * a connection ends, including those the session framing reports on a
 * character device, leads back to IDLE (or LISTENING, or DEAD).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_chan.h"
#include "ctl_link.h"

#define LINK_RETRY_MIN_MS	250
#define LINK_RETRY_MAX_MS	5000

enum link_state {
	LINK_IDLE,
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
	int lfd;		/* listening socket */
	struct ctl_conn *conn;
	long timer;		/* ms: next attempt, 0 = none */
	int retry_ms;

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
	    (listen && !(chan_kind_flags(l->u.kind) & CHAN_K_LISTEN))) {
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
	l->lfd = -1;
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
	if (l->kflags & CHAN_K_INHERIT) {
		l->state = LINK_DEAD;
		l->timer = 0;
	} else if (l->listen && (l->kflags & CHAN_K_SOCKET)) {
		l->state = LINK_LISTENING;
		l->timer = 0;
	} else if (l->listen) {
		/* a vchan server: a fresh ring for dom0's next client */
		l->state = LINK_IDLE;
		l->timer = mono_ms();
	} else {
		l->state = LINK_IDLE;
		backoff(l);
	}
}

/* The channel failed or ended (r from ctl_conn_read/flush/tick). */
static void
link_end(struct ctl_link *l, int r)
{
	char why[160];

	snprintf(why, sizeof(why), "dom0: %s", ctl_conn_end_why(r));
	link_down(l, why);
}

/*
 * A channel is open (accepted: an end accepted on our listening socket,
 * else open it now): start the hello exchange.
 */
static void
link_start(struct ctl_link *l, struct chan_end *accepted)
{
	char why[160];
	int r;

	r = ctl_conn_open(l->uri, accepted, l->self, CTL_ROLE_DOM0, &l->conn);
	if (r != CTL_OK) {
		snprintf(l->detail, sizeof(l->detail), "open %.100s: %s",
		    l->uri, r == CTL_E_SYS ? strerror(errno) : ctl_strerror(r));
		if (accepted == NULL && (l->kflags & CHAN_K_INHERIT)) {
			l->state = LINK_DEAD;
			l->timer = 0;
		} else if (accepted == NULL) {
			l->state = LINK_IDLE;
			backoff(l);
		}
		return;
	}
	l->state = LINK_HELLO;
	l->timer = 0;
	if ((r = ctl_conn_send_hello(l->conn, l->name, l->caps)) != CTL_OK) {
		snprintf(why, sizeof(why), "sending HELLO: %s", ctl_strerror(r));
		link_down(l, why);
	}
}

static void
link_try_open(struct ctl_link *l)
{
	struct chan_end e;
	int r;

	if (!l->listen) {
		link_start(l, NULL);
		return;
	}
	if (!(l->kflags & CHAN_K_SOCKET)) {
		/* serve (vchan): open at once, dom0 connects when it comes */
		if ((r = chan_open(&l->u, 1, &e)) != CHAN_OK) {
			snprintf(l->detail, sizeof(l->detail), "serve %.100s: %s",
			    l->uri, r == CHAN_E_SYS ? strerror(errno) :
			    ctl_strerror(ctl_chan_error(r)));
			backoff(l);
			return;
		}
		link_start(l, &e);
		return;
	}
	if (l->lfd < 0 && (l->lfd = ctl_chan_listen(l->uri, 0600)) < 0) {
		snprintf(l->detail, sizeof(l->detail), "listen on %.100s: %s",
		    l->uri, strerror(errno));
		backoff(l);
		return;
	}
	l->state = LINK_LISTENING;
	l->timer = 0;
}

static void
link_timers(struct ctl_link *l)
{
	if (l->timer == 0 || l->timer > mono_ms())
		return;
	l->timer = 0;
	if (l->state == LINK_IDLE)
		link_try_open(l);
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

void
ctl_link_io(struct ctl_link *l, const struct pollfd *pfd, int n)
{
	int i, r;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (l->state == LINK_LISTENING && pfd[i].fd == l->lfd) {
			struct chan_end e;

			if (chan_accept(l->lfd, &e) == CHAN_OK)
				link_start(l, &e);
			continue;
		}
		if (l->conn == NULL)
			continue;
		if ((pfd[i].revents & POLLOUT) &&
		    (r = ctl_conn_flush(l->conn)) < 0) {
			link_end(l, r);
			continue;
		}
		if (pfd[i].fd != ctl_conn_fd(l->conn) ||
		    !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((r = ctl_conn_read(l->conn)) < 0)
			link_end(l, r);
	}
	if (l->conn != NULL && (r = ctl_conn_tick(l->conn)) != CTL_OK)
		link_end(l, r);
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
			return ctl_link_next(l, msg);
		}
		if (msg->type == CTL_MSG_ERROR) {
			snprintf(l->detail, sizeof(l->detail), "dom0 says: %.150s",
			    msg->u.error.text);
			continue;
		}
		if (msg->type != CTL_MSG_HELLO)
			return CTL_LINK_MSG;
		/* dom0's HELLO (ctl_peer refuses a second one). */
		l->state = LINK_UP;
		l->retry_ms = LINK_RETRY_MIN_MS;
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
