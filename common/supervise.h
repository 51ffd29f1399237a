/*
 * supervise.h: the skeleton shared by usbgate's daemons (usbgate-backend
 * daemon, usbgate-frontend daemon, usbgated): signals delivered through a
 * self-pipe into the poll() loop, a table of child processes, stopping a
 * child with SIGTERM and then SIGKILL once its grace period is over, and
 * reaping.
 *
 * A daemon embeds struct sv_child as the first member of its per-child
 * record; the table links those records and never allocates or frees
 * them. One signal pipe per process (signal handlers are global).
 */
#ifndef USBGATE_SUPERVISE_H
#define USBGATE_SUPERVISE_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- signals ------------------------------------------------------------- */

/*
 * Route the signals of the 0-terminated list sigs (SA_RESTART) to the
 * signal pipe and ignore SIGPIPE. fatal() if the pipe cannot be made.
 */
void sv_signals_init(const int *sigs);
/* Poll this descriptor for POLLIN. */
int sv_signal_fd(void);
/* The next signal that arrived, or 0 when none is left. */
int sv_signal_next(void);

/* ---- children ------------------------------------------------------------ */

struct sv_child {
	struct sv_child *next;
	uint64_t id;		/* the daemon's session id */
	pid_t pid;
	long kill_at;		/* SIGKILL deadline (mono_ms), 0 = none */
	int report_fd;		/* read end of the child's report pipe, or -1 */
};

struct sv_children {
	struct sv_child *head;
	int grace_ms;		/* SIGTERM, then SIGKILL after this */
	const char *what;	/* logged on SIGKILL ("session"), or NULL */
};

/* The record of type t whose struct sv_child is its first member. */
#define SV_RECORD(c, t)		((t *)(void *)(c))

void sv_add(struct sv_children *t, struct sv_child *c);
void sv_remove(struct sv_children *t, struct sv_child *c);
struct sv_child *sv_find(const struct sv_children *t, uint64_t id);
/* Send sig; a SIGTERM starts the grace period (once). */
void sv_signal(struct sv_children *t, struct sv_child *c, int sig);
/* SIGKILL children past their deadline; shorten *timeout (ms, -1 = none)
 * to the next deadline. */
void sv_kill_timers(struct sv_children *t, int *timeout);
/* POLLIN entries for the open report pipes, at most max; how many. */
int sv_pollfds(const struct sv_children *t, struct pollfd *pfd, int max);
/* The child whose report pipe is fd, or NULL. */
struct sv_child *sv_by_report_fd(const struct sv_children *t, int fd);

/*
 * Called for each exited child: c is its record in the table (NULL for a
 * child the table does not hold), status as from waitpid(). The callee may
 * sv_remove() and free c.
 */
typedef void sv_exited_fn(void *ctx, struct sv_child *c, pid_t pid,
    int status);
/* Reap every exited child without blocking (t may be NULL). */
void sv_reap(struct sv_children *t, sv_exited_fn *fn, void *ctx);
/* Reap for up to ms until the table is empty, then SIGKILL what is left. */
void sv_wait_all(struct sv_children *t, int ms, sv_exited_fn *fn, void *ctx);

#endif
