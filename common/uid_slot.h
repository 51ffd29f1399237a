/*
 * uid_slot.h: one user id per session, from a range the privileged parent
 * hands out (as systemd's DynamicUser), so that sandboxed sessions cannot
 * signal or ptrace each other whatever the seccomp filter lets through.
 *
 * Owns the slot lock files: slot N of the range is taken by holding an
 * exclusive flock on DIR/N, for as long as the session lives; the kernel
 * drops the lock when the holder dies, however it dies. Taking a slot first
 * kills every process still running under its uid (a session whose parent
 * was killed may outlive it), so a uid is never shared by two sessions.
 * Returns 0 or a negative uid_slot_error.
 */
#ifndef USBGATE_UID_SLOT_H
#define USBGATE_UID_SLOT_H

#include <sys/types.h>

enum uid_slot_error {
	UID_SLOT_OK = 0,
	UID_SLOT_E_RANGE = -1,	/* malformed or unusable range */
	UID_SLOT_E_DIR = -2,	/* the lock directory is missing or unsafe */
	UID_SLOT_E_FULL = -3,	/* every uid of the range is in use */
	UID_SLOT_E_SWEEP = -4,	/* leftover processes could not be killed */
	UID_SLOT_E__COUNT = 5
};

const char *uid_slot_strerror(int err);

#define UID_SLOT_DIR		"/run/usbgate/uid-slots"
/* Above what distributions, subuid maps and systemd-nspawn hand out. */
#define UID_SLOT_FIRST		0x75000000u
#define UID_SLOT_COUNT		256u

struct uid_range {
	uid_t first;
	unsigned int count;
};

struct uid_slot {
	int fd;			/* the lock, or -1 */
	uid_t uid;		/* also the gid */
};

/* "FIRST-LAST" (decimal, inclusive) into r. */
int uid_range_parse(const char *arg, struct uid_range *r);

/*
 * Take a free uid of r (root only), with its lock in dir (NULL:
 * UID_SLOT_DIR), after killing what still runs under it.
 */
int uid_slot_take(const char *dir, const struct uid_range *r,
    struct uid_slot *out);

/* Drop this process's hold (in a child: its copy of the lock). */
void uid_slot_close(struct uid_slot *s);

#endif
