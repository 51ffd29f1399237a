/*
 * supervise.c: signals, child table, kill escalation, reaping (see
 * supervise.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "supervise.h"

static int sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* Pipe full: a wakeup is already pending. */
	}
	errno = saved;
}

void
sv_signals_init(const int *sigs)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (; *sigs != 0; sigs++)
		sigaction(*sigs, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
sv_signal_fd(void)
{
	return sig_pipe[0];
}

int
sv_signal_next(void)
{
	unsigned char c;

	return read(sig_pipe[0], &c, 1) == 1 ? c : 0;
}

void
sv_add(struct sv_children *t, struct sv_child *c)
{
	c->next = t->head;
	t->head = c;
}

void
sv_remove(struct sv_children *t, struct sv_child *c)
{
	struct sv_child **pp;

	for (pp = &t->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
}

struct sv_child *
sv_find(const struct sv_children *t, uint64_t id)
{
	struct sv_child *c;

	for (c = t->head; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

void
sv_signal(struct sv_children *t, struct sv_child *c, int sig)
{
	if (c->pid > 0) {
		kill(c->pid, sig);
		if (sig == SIGTERM && c->kill_at == 0)
			c->kill_at = mono_ms() + t->grace_ms;
	}
}

void
sv_kill_timers(struct sv_children *t, int *timeout)
{
	struct sv_child *c;
	long now = mono_ms();

	for (c = t->head; c != NULL; c = c->next) {
		if (c->kill_at == 0)
			continue;
		if (c->kill_at <= now) {
			if (t->what != NULL)
				log_warnx("%s %llx did not stop; killing it",
				    t->what, (unsigned long long)c->id);
			kill(c->pid, SIGKILL);
			c->kill_at = now + t->grace_ms;
		}
		if (*timeout < 0 || c->kill_at - now < *timeout)
			*timeout = (int)(c->kill_at - now);
	}
}

int
sv_pollfds(const struct sv_children *t, struct pollfd *pfd, int max)
{
	struct sv_child *c;
	int n = 0;

	for (c = t->head; c != NULL && n < max; c = c->next)
		if (c->report_fd >= 0)
			pfd[n++] = (struct pollfd){ c->report_fd, POLLIN, 0 };
	return n;
}

struct sv_child *
sv_by_report_fd(const struct sv_children *t, int fd)
{
	struct sv_child *c;

	for (c = t->head; c != NULL; c = c->next)
		if (c->report_fd == fd)
			return c;
	return NULL;
}

void
sv_reap(struct sv_children *t, sv_exited_fn *fn, void *ctx)
{
	struct sv_child *c = NULL;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (c = t != NULL ? t->head : NULL; c != NULL; c = c->next)
			if (c->pid == pid)
				break;
		fn(ctx, c, pid, status);
	}
}

void
sv_wait_all(struct sv_children *t, int ms, sv_exited_fn *fn, void *ctx)
{
	struct sv_child *c;
	long deadline = mono_ms() + ms;

	while (t->head != NULL && mono_ms() < deadline) {
		poll(NULL, 0, 50);
		sv_reap(t, fn, ctx);
	}
	for (c = t->head; c != NULL; c = c->next)
		kill(c->pid, SIGKILL);
}
