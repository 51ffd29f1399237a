/*
 * sandbox.h: dropping privileges before a process reads untrusted bytes
 * (OpenBSD-style: acquire what is needed, drop, then parse).
 *
 * Owns: the switch to an unprivileged user, the chroot into an empty
 * directory, no_new_privs, and a seccomp allow-list shared by every parsing
 * child. Returns 0 or a negative sandbox_error.
 */
#ifndef USBGATE_SANDBOX_H
#define USBGATE_SANDBOX_H

#include <sys/types.h>

enum sandbox_error {
	SANDBOX_OK = 0,
	SANDBOX_E_USER = -1,	/* the unprivileged user does not exist */
	SANDBOX_E_CHROOT = -2,
	SANDBOX_E_SETID = -3,
	SANDBOX_E_SECCOMP = -4,
	SANDBOX_E__COUNT = 5
};

const char *sandbox_strerror(int err);

/* Extra system calls a role needs on top of the base allow-list. */
#define SANDBOX_ALLOW_IOCTL	0x1	/* usbfs ioctls (backend) */
#define SANDBOX_ALLOW_SOCKETS	0x2	/* sendmsg/recvmsg with fds */

/*
 * Become user (default "nobody") inside an empty chroot, set no_new_privs
 * and install the allow-list. When not root, only no_new_privs and seccomp
 * apply. Nothing in the environment removes the filter
 * (USBGATE_SECCOMP_DEBUG=1 only names the forbidden call before dying).
 */
int sandbox_enter(const char *user, unsigned int allow);

/*
 * The same with numeric ids (root: neither may be 0), e.g. a session's own
 * uid from uid_slot.h, so that sessions cannot signal or ptrace each other.
 */
int sandbox_enter_ids(uid_t uid, gid_t gid, unsigned int allow);

/*
 * Ask for sig when the parent dies. Call it after sandbox_enter() too: the
 * kernel forgets the setting when the user or group ids change. If the
 * parent is already gone (orig_ppid no longer our parent) sig is raised now.
 */
void sandbox_parent_death_signal(int sig, pid_t orig_ppid);

#endif
