/*
 * uid_slot.c: per-session user ids from a range (see uid_slot.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uid_slot.h"

#define UID_SLOT_COUNT_MAX	65536u

static const char *const uid_slot_errstr[UID_SLOT_E__COUNT] = {
	"success",
	"malformed or unusable uid range",
	"the uid slot directory is missing or unsafe",
	"every uid of the range is in use",
	"processes left under the uid could not be killed",
};
_Static_assert(sizeof(uid_slot_errstr) / sizeof(uid_slot_errstr[0]) ==
    UID_SLOT_E__COUNT, "uid_slot_errstr matches enum uid_slot_error");

const char *
uid_slot_strerror(int err)
{
	if (err > 0 || -err >= UID_SLOT_E__COUNT)
		return "unknown uid slot error";
	return uid_slot_errstr[-err];
}

static int
range_valid(const struct uid_range *r)
{
	return r->first > 0 && r->count > 0 && r->count <= UID_SLOT_COUNT_MAX &&
	    (unsigned long long)r->first + r->count - 1 < 0xffffffffULL;
}

int
uid_range_parse(const char *arg, struct uid_range *r)
{
	unsigned long long first, last;
	char *end;

	errno = 0;
	first = strtoull(arg, &end, 10);
	if (end == arg || *end != '-' || errno != 0)
		return UID_SLOT_E_RANGE;
	arg = end + 1;
	last = strtoull(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || last < first ||
	    last >= 0xffffffffULL || last - first >= UID_SLOT_COUNT_MAX)
		return UID_SLOT_E_RANGE;
	r->first = (uid_t)first;
	r->count = (unsigned int)(last - first + 1);
	return range_valid(r) ? UID_SLOT_OK : UID_SLOT_E_RANGE;
}

/* The lock directory: ours alone (owned by us, writable by nobody else). */
static int
open_dir(const char *dir)
{
	struct stat st;
	int fd;

	if (dir == NULL) {
		dir = UID_SLOT_DIR;
		mkdir("/run/usbgate", 0755);
	}
	mkdir(dir, 0700);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Kill everything that runs under uid: a child that becomes uid and sends
 * SIGKILL to every process it may signal, which is exactly those of uid
 * (kill(-1) spares the sender).
 */
static int
sweep(uid_t uid)
{
	gid_t gid = (gid_t)uid;
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(1);
		if (kill(-1, SIGKILL) < 0 && errno != ESRCH)
			_exit(1);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int
uid_slot_take(const char *dir, const struct uid_range *r, struct uid_slot *out)
{
	char name[16];
	unsigned int i, k, start;
	int dfd, fd;

	out->fd = -1;
	out->uid = 0;
	if (!range_valid(r))
		return UID_SLOT_E_RANGE;
	if ((dfd = open_dir(dir)) < 0)
		return UID_SLOT_E_DIR;
	/*
	 * Start somewhere else each time: a slot freed by a killed parent is
	 * then rarely taken at once, while its session still cleans up.
	 */
	start = (unsigned int)getpid() % r->count;
	for (k = 0; k < r->count; k++) {
		i = (start + k) % r->count;
		snprintf(name, sizeof(name), "%u", i);
		fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue;
		}
		close(dfd);
		if (sweep(r->first + i) < 0) {
			close(fd);
			return UID_SLOT_E_SWEEP;
		}
		out->fd = fd;
		out->uid = r->first + i;
		return UID_SLOT_OK;
	}
	close(dfd);
	return UID_SLOT_E_FULL;
}

void
uid_slot_close(struct uid_slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
