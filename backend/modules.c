/*
 * modules.c: the kernel modules of a device's interfaces, loaded and live
 * before its session (see modules.h). Runs in the privileged half, before
 * any byte of the device or the AppVM is parsed; what it reads is sysfs
 * (the kernel's modalias, checked against its format) and modprobe's
 * answer, and what it runs is modprobe with a fixed argument list and
 * environment.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "modules.h"

#define MOD_POLL_MS	10

static const char *const mod_errstr[MOD_E__COUNT] = {
	"success",
	"a module was still loading at the deadline",
	"modprobe could not be run",
};
_Static_assert(sizeof(mod_errstr) / sizeof(mod_errstr[0]) == MOD_E__COUNT,
    "mod_errstr matches enum mod_error");

const char *
mod_strerror(int err)
{
	if (err > 0 || -err >= MOD_E__COUNT)
		return "unknown module error";
	return mod_errstr[-err];
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The kernel's usermode modprobe, as /proc/sys/kernel/modprobe names it. */
static void
modprobe_path(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/modprobe", "re");

	buf[0] = '\0';
	if (f != NULL) {
		if (fgets(buf, (int)len, f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (buf[0] != '/')
		snprintf(buf, len, "/sbin/modprobe");
}

/*
 * Run modprobe with args (NULL-terminated, at most 4) in a fixed
 * environment, its output into out (NUL-terminated) when out is not NULL.
 * Returns its exit status, MOD_E_SPAWN, or MOD_E_TIMEOUT at deadline.
 */
static int
run(const char *modprobe, const char *const *args, char *out, size_t len,
    long deadline)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	    NULL };
	const char *argv[6] = { "modprobe" };
	int p[2] = { -1, -1 }, status, i;
	size_t used = 0;
	pid_t pid;

	for (i = 0; args[i] != NULL && i < 4; i++)
		argv[i + 1] = args[i];
	if (out != NULL && pipe2(p, O_CLOEXEC) < 0)
		return MOD_E_SPAWN;
	pid = fork();
	if (pid < 0) {
		if (p[0] >= 0) {
			close(p[0]);
			close(p[1]);
		}
		return MOD_E_SPAWN;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (nul < 0 || dup2(nul, 0) < 0 ||
		    dup2(p[1] >= 0 ? p[1] : nul, 1) < 0 || dup2(nul, 2) < 0)
			_exit(127);
		execve(modprobe, (char *const *)argv, envp);
		_exit(127);
	}
	if (p[0] >= 0) {
		close(p[1]);
		for (;;) {
			struct pollfd pfd = { .fd = p[0], .events = POLLIN };
			long left = deadline - mono_ms();
			ssize_t n;

			if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
				break;
			n = read(p[0], out + used, len - 1 - used);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			used += (size_t)n;
			if (used == len - 1)
				break;	/* more than any answer: the rest dropped */
		}
		out[used] = '\0';
		close(p[0]);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return MOD_E_SPAWN;
		if (mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return MOD_E_TIMEOUT;
		}
		sleep_ms(MOD_POLL_MS);
	}
	if (!WIFEXITED(status))
		return MOD_E_SPAWN;
	return WEXITSTATUS(status) == 127 ? MOD_E_SPAWN : WEXITSTATUS(status);
}

int
mod_alias_sanitize(const char *untrusted, size_t n, char *alias, size_t len)
{
	size_t i;

	if (n > 0 && untrusted[n - 1] == '\n')
		n--;
	if (n <= 4 || n > MOD_ALIAS_MAX || strncmp(untrusted, "usb:", 4) != 0)
		return -1;
	for (i = 4; i < n; i++)
		if (!((untrusted[i] >= 'a' && untrusted[i] <= 'z') ||
		    (untrusted[i] >= 'A' && untrusted[i] <= 'Z') ||
		    (untrusted[i] >= '0' && untrusted[i] <= '9')))
			return -1;
	if (n >= len)
		return -1;
	memcpy(alias, untrusted, n);
	alias[n] = '\0';
	return 0;
}

/* An interface's modalias (see mod_alias_sanitize); 0, or -1. */
static int
read_alias(const char *syspath, const char *iface, char *alias, size_t len)
{
	char path[PATH_MAX], untrusted[MOD_ALIAS_MAX + 2];
	size_t n;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s/modalias", syspath,
	    iface) >= sizeof(path) || (f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(untrusted, 1, sizeof(untrusted), f);
	fclose(f);
	return mod_alias_sanitize(untrusted, n, alias, len);
}

int
mod_names_parse(char *out, char names[][MOD_NAME_MAX])
{
	char *line, *save = NULL;
	int n = 0;
	size_t i;

	for (line = strtok_r(out, "\n", &save); line != NULL && n <
	    MOD_NAMES_MAX; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);

		if (len == 0 || len >= MOD_NAME_MAX ||
		    strspn(line, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len)
			continue;
		for (i = 0; i <= len; i++)
			names[n][i] = line[i] == '-' ? '_' : line[i];
		n++;
	}
	return n;
}

/* The modules modprobe resolves alias to (its -R answer); how many. */
static int
resolve(const char *modprobe, const char *alias,
    char names[][MOD_NAME_MAX], long deadline)
{
	const char *args[] = { "-R", "-q", "--", alias, NULL };
	char out[1024];

	if (run(modprobe, args, out, sizeof(out), deadline) != 0)
		return 0;
	return mod_names_parse(out, names);
}

/*
 * Where a module stands: 1 loaded and live (or built in), 0 still in its
 * init, -1 not in the kernel (or leaving it).
 */
static int
mod_state(const char *sys_module, const char *name)
{
	char path[PATH_MAX], st[16] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", sys_module, name);
	if (access(path, F_OK) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/initstate", sys_module, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 1;	/* built in: no initstate */
	n = read(fd, st, sizeof(st) - 1);
	close(fd);
	if (n > 0)
		st[n] = '\0';
	if (strncmp(st, "coming", 6) == 0)
		return 0;
	return strncmp(st, "live", 4) == 0 ? 1 : -1;
}

static void
names_add(char *names, size_t len, const char *name)
{
	size_t used = strlen(names), nl = strlen(name);
	const char *p = names;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == names || p[-1] == ' ') &&
		    (p[nl] == ' ' || p[nl] == '\0'))
			return;	/* listed already */
		p += nl;
	}
	if (used + (used > 0) + nl + 1 > len)
		return;
	snprintf(names + used, len - used, "%s%s", used > 0 ? " " : "",
	    name);
}

int
mod_settle(const char *syspath, const char *busid,
    const struct mod_env *env, char *names, size_t names_len,
    int *waited_ms)
{
	char modprobe[PATH_MAX], alias[MOD_ALIAS_MAX + 1];
	char found[MOD_NAMES_MAX][MOD_NAME_MAX];
	const char *sys_module = env != NULL && env->sys_module != NULL ?
	    env->sys_module : "/sys/module";
	long start = mono_ms(), deadline, wait_from = 0;
	size_t blen = strlen(busid);
	struct dirent *de;
	int rc = MOD_OK, n, i, loading;
	DIR *dir;

	if (names_len > 0)
		names[0] = '\0';
	*waited_ms = 0;
	deadline = start + (env != NULL && env->timeout_ms > 0 ?
	    env->timeout_ms : 10000);
	if (env != NULL && env->modprobe != NULL)
		snprintf(modprobe, sizeof(modprobe), "%s", env->modprobe);
	else
		modprobe_path(modprobe, sizeof(modprobe));
	if ((dir = opendir(syspath)) == NULL)
		return MOD_OK;	/* gone: the session will say so */
	while (rc == MOD_OK && (de = readdir(dir)) != NULL) {
		/* the interfaces: "<busid>:<config>.<interface>" */
		if (strncmp(de->d_name, busid, blen) != 0 ||
		    de->d_name[blen] != ':')
			continue;
		if (read_alias(syspath, de->d_name, alias, sizeof(alias)) < 0) {
			log_warnx("%s: interface %s has no USB modalias of the "
			    "kernel's format; no module loaded for it", busid,
			    de->d_name);
			continue;
		}
		n = resolve(modprobe, alias, found, deadline);
		for (i = 0, loading = 0; i < n; i++)
			loading |= mod_state(sys_module, found[i]) < 1;
		if (loading) {
			/* ours, or the plug's load under way: in the kernel
			 * (live or in its init) once modprobe returns */
			const char *args[] = { "-b", "-q", "--", alias, NULL };

			if (wait_from == 0)
				wait_from = mono_ms();
			rc = run(modprobe, args, NULL, 0, deadline);
			if (rc > 0)
				rc = MOD_OK;	/* none, or blacklisted */
		}
		for (i = 0; i < n && rc == MOD_OK; i++) {
			names_add(names, names_len, found[i]);
			while (mod_state(sys_module, found[i]) == 0) {
				if (mono_ms() >= deadline) {
					rc = MOD_E_TIMEOUT;
					break;
				}
				sleep_ms(MOD_POLL_MS);
			}
		}
	}
	closedir(dir);
	if (wait_from != 0)
		*waited_ms = (int)(mono_ms() - wait_from);
	return rc;
}
