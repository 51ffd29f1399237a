/*
 * sandbox.c: privilege drop and seccomp allow-list (see sandbox.h).
 *
 * The allow-list is what a poll loop over already-open descriptors needs:
 * reading and writing, poll, memory management for malloc, clocks and
 * timers for libusb, futex for its mutexes, signals to itself only, and
 * exit. open(), socket(), execve(), ptrace() and everything that names a
 * path are absent, so a compromised parser can neither reach the file
 * system nor the network nor another session.
 *
 * A vchan channel (proto/chan_vchan.c) is opened before the drop and then
 * needs, of the Xen devices it holds, exactly what libxenvchan 4.17 calls
 * afterwards (Xen's tools/libs/{vchan/io.c,evtchn/linux.c,gnttab/linux.c}):
 * read and write on /dev/xen/evtchn (pending, unmask), the ioctl
 * IOCTL_EVTCHN_NOTIFY for every event it sends, munmap, and on close of a
 * client the two gntdev ioctls of xengnttab_unmap. Nothing that binds,
 * maps or grants anew is allowed.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_XEN
#include <xen/xen.h>		/* domid_t, for evtchn.h */
#include <xen/sys/evtchn.h>
#include <xen/sys/gntdev.h>
#endif

#include "sandbox.h"

static const char *const sandbox_errstr[SANDBOX_E__COUNT] = {
	"success",
	"unprivileged user not found",
	"chroot into an empty directory failed",
	"dropping user and group ids failed",
	"installing the seccomp filter failed",
};
_Static_assert(sizeof(sandbox_errstr) / sizeof(sandbox_errstr[0]) ==
    SANDBOX_E__COUNT, "sandbox_errstr matches enum sandbox_error");

const char *
sandbox_strerror(int err)
{
	if (err > 0 || -err >= SANDBOX_E__COUNT)
		return "unknown sandbox error";
	return sandbox_errstr[-err];
}

static const int base_syscalls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
	SCMP_SYS(pselect6), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime), SCMP_SYS(futex), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(fcntl),
	SCMP_SYS(sched_yield), SCMP_SYS(getrandom), SCMP_SYS(sendto),
	SCMP_SYS(recvfrom), SCMP_SYS(shutdown), SCMP_SYS(lseek),
	SCMP_SYS(getsockopt),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(getuid),
	SCMP_SYS(geteuid),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(eventfd2), SCMP_SYS(pipe2), SCMP_SYS(dup), SCMP_SYS(dup3),
};

/* USBGATE_SECCOMP_DEBUG=1: name the forbidden call instead of dying mute. */
static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "seccomp: forbidden syscall %d\n",
	    si->si_syscall);

	if (write(2, msg, (size_t)n) < 0)
		_exit(SIGSYS + 128);
	_exit(SIGSYS + 128);
}

/*
 * The ioctls a vchan end makes after the drop (see the top of the file),
 * in ascending order.
 */
#ifdef HAVE_XEN
static const uint64_t vchan_ioctls[] = {
	IOCTL_EVTCHN_NOTIFY,
	IOCTL_GNTDEV_UNMAP_GRANT_REF,
	IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR,
};
#define N_VCHAN_IOCTLS	(sizeof(vchan_ioctls) / sizeof(vchan_ioctls[0]))
#endif

/*
 * ioctl: usbfs requests when allowed (any other is fatal), else every
 * request refused with ENOTTY (isatty() and friends fail quietly), and the
 * vchan's requests, compared whole (all 64 bits), in either case. A rule
 * may compare an argument once, and libseccomp refuses an unconditional
 * rule beside conditional ones: the refusal is two ranges, below and above
 * the vchan's requests; a request between them (no direction bits, 4 to
 * 24 bytes of argument, none of which a session makes) is fatal.
 */
static int
ioctl_rules(scmp_filter_ctx ctx, unsigned int allow)
{
	int rc = 0;
#ifdef HAVE_XEN
	size_t i;

	for (i = 0; i < N_VCHAN_IOCTLS; i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, vchan_ioctls[i]));
#endif
	if (allow & SANDBOX_ALLOW_IOCTL)
		return rc | seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, (uint32_t)'U' << 8));
#ifndef HAVE_XEN
	return rc | seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl),
	    0);
#else
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_LT, vchan_ioctls[0]));
	return rc | seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY),
	    SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_GT, vchan_ioctls[N_VCHAN_IOCTLS - 1]));
#endif
}

static int
install_seccomp(unsigned int allow)
{
	scmp_filter_ctx ctx;
	size_t i;
	int rc = 0;
	const char *dbg = getenv("USBGATE_SECCOMP_DEBUG");
	uint32_t deflt = SCMP_ACT_KILL_PROCESS;
	pid_t self = getpid();

	if (dbg != NULL && strcmp(dbg, "1") == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSYS, &sa, NULL);
		deflt = SCMP_ACT_TRAP;
	}
	ctx = seccomp_init(deflt);
	if (ctx == NULL)
		return -1;
	for (i = 0; i < sizeof(base_syscalls) / sizeof(base_syscalls[0]); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, base_syscalls[i], 0);
	/*
	 * Signals only to ourselves (raise() and abort() use tgkill on their
	 * own pid): another session is out of reach even under the same uid.
	 */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint32_t)self));
	/* tgkill reaches only threads of the group its first argument names. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint32_t)self));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tkill), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint32_t)self));
	/* prctl: only sandbox_parent_death_signal()'s option. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, PR_SET_PDEATHSIG));
	rc |= ioctl_rules(ctx, allow);
	/* TCP_QUICKACK after reads on a tcp: channel, nothing else. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2,
	    SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP), SCMP_A2(SCMP_CMP_EQ, TCP_QUICKACK));
	if (allow & SANDBOX_ALLOW_SOCKETS) {
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 0);
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvmsg), 0);
	}
	/* Paths are refused with an error, so libraries fail politely. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	/* libusb_wrap_sys_device asks /proc for the node's name, then falls
	 * back to an ioctl. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(readlink),
	    0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(readlinkat), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc == 0 ? 0 : -1;
}

int
sandbox_enter(const char *user, unsigned int allow)
{
	struct passwd *pw;
	uid_t uid = 65534;	/* a minimal system without /etc/passwd: */
	gid_t gid = 65534;	/* nobody's ids */

	if (geteuid() == 0) {
		pw = getpwnam(user != NULL ? user : "nobody");
		if (pw != NULL) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		} else if (user != NULL)
			return SANDBOX_E_USER;
	}
	return sandbox_enter_ids(uid, gid, allow);
}

int
sandbox_enter_ids(uid_t uid, gid_t gid, unsigned int allow)
{
	static const char *const empty_dirs[] = { "/var/empty", "/run/usbgate/empty" };
	size_t i;

	if (geteuid() == 0) {
		if (uid == 0 || gid == 0)
			return SANDBOX_E_SETID;
		for (i = 0; i < sizeof(empty_dirs) / sizeof(empty_dirs[0]); i++) {
			struct stat st;

			if (i == 1) {
				mkdir("/run/usbgate", 0755);
				mkdir(empty_dirs[i], 0755);
			}
			if (stat(empty_dirs[i], &st) == 0 && S_ISDIR(st.st_mode) &&
			    st.st_uid == 0 && (st.st_mode & 022) == 0)
				break;
		}
		if (i == sizeof(empty_dirs) / sizeof(empty_dirs[0]) ||
		    chroot(empty_dirs[i]) < 0 || chdir("/") < 0)
			return SANDBOX_E_CHROOT;
		if (setgroups(1, &gid) < 0 ||
		    setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			return SANDBOX_E_SETID;
		if (setuid(0) == 0)
			return SANDBOX_E_SETID;	/* the drop did not stick */
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return SANDBOX_E_SECCOMP;
	if (install_seccomp(allow) < 0)
		return SANDBOX_E_SECCOMP;
	return SANDBOX_OK;
}

void
sandbox_parent_death_signal(int sig, pid_t orig_ppid)
{
	prctl(PR_SET_PDEATHSIG, sig);
	if (getppid() != orig_ppid)
		raise(sig);
}
