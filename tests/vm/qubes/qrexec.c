/*
 * tests/vm/qubes/qrexec.c: tb-qrexec, the testbed's qrexec double (host =
 * dom0, guests = VMs), for the Qubes scenarios (tests/vm/scenarios/qubes-*).
 *
 *   tb-qrexec dom0 --socket PATH --policy-dir DIR... --log FILE
 *                  --vm NAME:PREFIX:NEXEC:NCALL...          (host: the daemon)
 *   tb-qrexec client --socket PATH -d VM 'USER:QUBESRPC SERVICE SOURCE'
 *                                                          (host: qrexec-client)
 *   tb-qrexec agent                                        (guest: qrexec-agent)
 *   qrexec-client-vm TARGET SERVICE[+ARG] [PROGRAM [ARGS]] (guest, argv[0])
 *
 * Owns the contract of qrexec as Qubes' services see it, not its wire: the
 * service lookup (QREXEC_SERVICE_PATH order, NAME+ARG in every directory,
 * then NAME), argv[1], the QREXEC_* environment, rpc-config (force-user and
 * the other keys of libqrexec's TOML subset), the end of a service (its exit
 * AND the end of its stdout and stderr), exit codes 125 (qrexec problem), 126
 * (refused), 127 (no such service), qrexec-client-vm's limits and exit status
 * (the local program's, 126 when refused), and the evaluation of real policy
 * files (/etc/qubes/policy.d + /run/qubes/policy.d merged in file name order,
 * first match wins; the subset of the format the scenarios use, and a clear
 * error, which denies everything as qrexec does, on the rest).
 *
 * Transport: every VM has virtio-serial ports qrexec.exec.K (dom0 -> VM
 * service calls, held open by the agent) and qrexec.call.K (VM -> dom0 calls,
 * opened by one qrexec-client-vm at a time); the host ends are QEMU's UNIX
 * sockets, all held by "dom0". A virtio-serial port carries no end of file,
 * so everything goes in frames (magic, type, length): a call ends with EXIT
 * from the service side, answered by CLOSE; a caller that leaves early sends
 * CLOSE first. Frames carry a magic so that a reader resynchronises after
 * bytes a closed port dropped, and a caller nonce so that a new client of a
 * call port ignores what was meant for the previous one.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAGIC	0x31445851u	/* "QXD1" */
#define FRAME_MAX	65536

enum {
	F_CALL = 1,	/* VM -> dom0: nonce, target, service+arg */
	F_EXEC,		/* dom0 -> agent: user, service+arg, source, ttype, target, stderr? */
	F_ACCEPT,	/* dom0 -> caller: nonce */
	F_REFUSE,	/* dom0 -> caller: nonce, exit code */
	F_DCALL,	/* qrexec-client -> dom0: target, user, service+arg, source */
	F_STDIN = 0x10,	/* caller -> service; empty: end of file */
	F_STDOUT,	/* service -> caller; empty: end of file */
	F_STDERR,	/* service -> dom0 caller */
	F_EXIT = 0x20,	/* service side -> caller: exit code (decimal) */
	F_CLOSE,	/* answer to EXIT, or a caller leaving early */
};

/* Qubes' limits (qrexec-client-vm(1), libqrexec/qrexec.h). */
#define TARGET_MAX	31
#define SERVICE_MAX	63

#define RPC_PATH	"/run/qubes-rpc:/usr/local/etc/qubes-rpc:/etc/qubes-rpc"
#define RPC_CONFIG_PATH	"/run/qubes/rpc-config:/usr/local/etc/qubes/rpc-config:/etc/qubes/rpc-config"

static const char *prog = "tb-qrexec";

static void
warnx_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---------------------------------------------------------------- frames */

static int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static uint32_t
get32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* One writer lock per descriptor that two threads write to. */
static int
frame_write(int fd, pthread_mutex_t *mu, uint32_t type, const void *data,
    uint32_t len)
{
	unsigned char *buf = malloc(12 + (size_t)len);
	int rc;

	if (buf == NULL)
		return -1;
	put32(buf, FRAME_MAGIC);
	put32(buf + 4, type);
	put32(buf + 8, len);
	if (len)
		memcpy(buf + 12, data, len);
	if (mu)
		pthread_mutex_lock(mu);
	rc = write_all(fd, buf, 12 + (size_t)len);
	if (mu)
		pthread_mutex_unlock(mu);
	free(buf);
	return rc;
}

/*
 * Read one frame into buf (FRAME_MAX + 1 bytes, NUL-terminated for the
 * string frames). Bytes before a magic are skipped: a port that was closed
 * may have dropped part of a frame. Returns the length or -1 at the end.
 */
static int
frame_read(int fd, uint32_t *type, char *buf)
{
	unsigned char h[12];
	uint32_t len;

	if (read_all(fd, h, 12) < 0)
		return -1;
	while (get32(h) != FRAME_MAGIC) {
		memmove(h, h + 1, 11);
		if (read_all(fd, h + 11, 1) < 0)
			return -1;
	}
	*type = get32(h + 4);
	len = get32(h + 8);
	if (len > FRAME_MAX)
		return frame_read(fd, type, buf);	/* not a frame: resync */
	if (len && read_all(fd, buf, len) < 0)
		return -1;
	buf[len] = '\0';
	return (int)len;
}

/* Split a frame of NUL-separated strings into at most max fields. */
static int
fields(char *buf, int len, char **out, int max)
{
	int n = 0, i = 0;

	while (i < len && n < max) {
		out[n++] = buf + i;
		i += (int)strlen(buf + i) + 1;
	}
	return n;
}

static int
frame_strings(int fd, pthread_mutex_t *mu, uint32_t type, const char **s,
    int n)
{
	char buf[1024];
	size_t off = 0, l;
	int i;

	for (i = 0; i < n; i++) {
		l = strlen(s[i]) + 1;
		if (off + l > sizeof(buf))
			return -1;
		memcpy(buf + off, s[i], l);
		off += l;
	}
	return frame_write(fd, mu, type, buf, (uint32_t)off);
}

static int
frame_exit(int fd, pthread_mutex_t *mu, uint32_t type, int code)
{
	char b[16];

	snprintf(b, sizeof(b), "%d", code);
	return frame_write(fd, mu, type, b, (uint32_t)strlen(b) + 1);
}

/* ---------------------------------------------------------- validation */

/* Service names and arguments: [A-Za-z0-9_.+-], as qrexec-daemon checks. */
static int
valid_service(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SERVICE_MAX || s[0] == '+')
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.+-") == n;
}

/* VM names as Qubes allows them, or one @keyword the double knows. */
static int
valid_target(const char *s)
{
	size_t n = strlen(s);

	if (strcmp(s, "@default") == 0)
		return 1;
	if (n == 0 || n > TARGET_MAX || !isalpha((unsigned char)s[0]))
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

/* ---------------------------------------------------------------- policy */

struct rule {
	char file[256];
	int line;
	char service[64], arg[80], source[40], target[40];
	int action;		/* 'a'llow, 'd'eny */
	char redirect[40], user[40];
};

struct policy {
	struct rule *r;
	int n;
	char error[512];	/* non-empty: the policy is invalid */
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(strrchr(*(char *const *)a, '/') + 1,
	    strrchr(*(char *const *)b, '/') + 1);
}

static int __attribute__((format(printf, 4, 5)))
policy_error(struct policy *p, const char *file, int line, const char *fmt,
    ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->error, sizeof(p->error), "%s:%d: %s", file, line, msg);
	return -1;
}

static int
policy_token_vm(const char *t, int target)
{
	if (strcmp(t, "@anyvm") == 0 || strcmp(t, "@adminvm") == 0)
		return 1;
	if (target && strcmp(t, "@default") == 0)
		return 1;
	return t[0] != '@' && valid_target(t);
}

static int
policy_line(struct policy *p, const char *file, int ln, char *s)
{
	char *tok[16], *save = NULL, *t;
	struct rule r;
	int n = 0, i;

	for (t = strtok_r(s, " \t", &save); t && n < 16;
	    t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	if (n == 0 || tok[0][0] == '#')
		return 0;
	if (tok[0][0] == '!')
		return policy_error(p, file, ln, "directive %s: not supported "
		    "by the testbed's qrexec double", tok[0]);
	if (n < 5)
		return policy_error(p, file, ln, "%s: wrong number of fields",
		    tok[0]);
	memset(&r, 0, sizeof(r));
	snprintf(r.file, sizeof(r.file), "%s", file);
	r.line = ln;
	if (strcmp(tok[0], "*") != 0 && (!valid_service(tok[0]) ||
	    strchr(tok[0], '+')))
		return policy_error(p, file, ln, "invalid service %s", tok[0]);
	if (strcmp(tok[1], "*") != 0 && (tok[1][0] != '+' ||
	    (tok[1][1] && !valid_service(tok[1] + 1))))
		return policy_error(p, file, ln, "invalid argument %s "
		    "(\"*\" or \"+ARG\")", tok[1]);
	if (!policy_token_vm(tok[2], 0))
		return policy_error(p, file, ln, "source %s: not supported by "
		    "the double (a VM name, @anyvm or @adminvm)", tok[2]);
	if (!policy_token_vm(tok[3], 1))
		return policy_error(p, file, ln, "target %s: not supported by "
		    "the double (a VM name, @anyvm, @adminvm or @default)",
		    tok[3]);
	snprintf(r.service, sizeof(r.service), "%s", tok[0]);
	snprintf(r.arg, sizeof(r.arg), "%s", tok[1]);
	snprintf(r.source, sizeof(r.source), "%s", tok[2]);
	snprintf(r.target, sizeof(r.target), "%s", tok[3]);
	if (strcmp(tok[4], "allow") == 0)
		r.action = 'a';
	else if (strcmp(tok[4], "deny") == 0)
		r.action = 'd';
	else
		return policy_error(p, file, ln, "action %s: not supported by "
		    "the double (allow or deny)", tok[4]);
	for (i = 5; i < n; i++) {
		if (strncmp(tok[i], "user=", 5) == 0 && r.action == 'a' &&
		    tok[i][5])
			snprintf(r.user, sizeof(r.user), "%s", tok[i] + 5);
		else if (strncmp(tok[i], "target=", 7) == 0 &&
		    r.action == 'a' && valid_target(tok[i] + 7) &&
		    tok[i][7] != '@')
			snprintf(r.redirect, sizeof(r.redirect), "%s",
			    tok[i] + 7);
		else if (strcmp(tok[i], "notify=yes") == 0 ||
		    strcmp(tok[i], "notify=no") == 0 ||
		    (r.action == 'a' && (strcmp(tok[i], "autostart=yes") == 0 ||
		    strcmp(tok[i], "autostart=no") == 0)))
			continue;
		else
			return policy_error(p, file, ln, "parameter %s: not "
			    "valid for this action or not supported by the "
			    "double", tok[i]);
	}
	p->r = realloc(p->r, sizeof(*p->r) * (size_t)(p->n + 1));
	if (p->r == NULL)
		abort();
	p->r[p->n++] = r;
	return 0;
}

/* Load every *.policy of the directories, merged in file name order. */
static void
policy_load(struct policy *p, char **dirs, int ndirs)
{
	char **files = NULL, line[1024];
	int nf = 0, i, j, ln;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < ndirs; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;

		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			size_t l = strlen(e->d_name);

			if (l < 8 || strcmp(e->d_name + l - 7, ".policy") != 0)
				continue;
			files = realloc(files, sizeof(*files) * (size_t)(nf + 1));
			if (files == NULL ||
			    asprintf(&files[nf], "%s/%s", dirs[i], e->d_name) < 0)
				abort();
			nf++;
		}
		closedir(d);
	}
	qsort(files, (size_t)nf, sizeof(*files), cmp_str);
	for (i = 0; i < nf && !p->error[0]; i++) {
		FILE *f;

		if (i > 0 && cmp_str(&files[i - 1], &files[i]) == 0) {
			policy_error(p, files[i], 0, "%s: the same file name in "
			    "two policy directories is not supported by the "
			    "double", strrchr(files[i], '/') + 1);
			break;
		}
		if ((f = fopen(files[i], "re")) == NULL) {
			policy_error(p, files[i], 0, "%s", strerror(errno));
			break;
		}
		for (ln = 1; fgets(line, sizeof(line), f) != NULL; ln++) {
			line[strcspn(line, "\r\n")] = '\0';
			if (policy_line(p, files[i], ln, line) < 0)
				break;
		}
		fclose(f);
	}
	for (j = 0; j < nf; j++)
		free(files[j]);
	free(files);
}

static int
policy_vm_match(const char *pat, const char *vm)
{
	if (strcmp(pat, "@anyvm") == 0)
		return strcmp(vm, "dom0") != 0 && vm[0] != '@';
	if (strcmp(pat, "@adminvm") == 0)
		return strcmp(vm, "dom0") == 0 || strcmp(vm, "@adminvm") == 0;
	return strcmp(pat, vm) == 0;
}

/*
 * Evaluate one call. Returns 1 (allowed: *target and *user set), 0
 * (denied) and writes a line saying why into why.
 */
static int
policy_eval(char **dirs, int ndirs, const char *service, const char *arg,
    const char *source, const char *target, char *to, size_t tolen,
    char *user, size_t ulen, char *why, size_t wlen)
{
	struct policy p;
	int i, rc = 0;

	policy_load(&p, dirs, ndirs);
	if (p.error[0]) {
		snprintf(why, wlen, "deny: invalid policy: %s", p.error);
		free(p.r);
		return 0;
	}
	snprintf(why, wlen, "deny: no matching rule");
	for (i = 0; i < p.n; i++) {
		struct rule *r = &p.r[i];

		if (strcmp(r->service, "*") != 0 &&
		    strcmp(r->service, service) != 0)
			continue;
		if (strcmp(r->arg, "*") != 0 && strcmp(r->arg + 1, arg) != 0)
			continue;
		if (!policy_vm_match(r->source, source))
			continue;
		if (strcmp(r->target, "@default") == 0 ?
		    strcmp(target, "@default") != 0 :
		    !policy_vm_match(r->target, target))
			continue;
		if (r->action == 'd') {
			snprintf(why, wlen, "deny (%s:%d)", r->file, r->line);
			break;
		}
		snprintf(to, tolen, "%s", r->redirect[0] ? r->redirect : target);
		if (to[0] == '@') {
			snprintf(why, wlen, "deny: %s:%d allows %s without "
			    "target=", r->file, r->line, target);
			break;
		}
		snprintf(user, ulen, "%s", r->user[0] ? r->user : "DEFAULT");
		snprintf(why, wlen, "allow (%s:%d) target=%s user=%s", r->file,
		    r->line, to, user);
		rc = 1;
		break;
	}
	free(p.r);
	return rc;
}

/* ------------------------------------------------------------------ dom0 */

/*
 * A caller's end (a VM's call port, or one dom0 client connection) or a
 * VM's exec port. Each caller end has one reader thread for its life; each
 * call in progress has one more thread reading the service's exec port.
 * No lock is held across I/O: a frame goes to a port only while the port
 * belongs to the sending call (owner, under wmu), so a late frame of an
 * ended call never reaches the next one.
 */
struct port {
	char path[108];
	int fd;
	int busy;		/* exec port: a call owns it (d0.mu) */
	pthread_mutex_t wmu;	/* whole frames; owner */
	struct session *owner;	/* the call frames may go for */
	struct vm *vm;		/* NULL: a dom0 client */
	struct session *sess;	/* caller end: its call (its reader only) */
};

struct vm {
	char name[32];
	struct port *exec, *call;
	int nexec, ncall;
};

/* One call: the caller's end and the service's exec port. */
struct session {
	struct port *cport, *sport;
	char what[160];
	int refs;		/* the caller's reader, sess_up (d0.mu) */
	int stdin_eof;		/* the caller's reader only */
};

static struct {
	struct vm *vm;
	int nvm;
	char **pdirs;
	int npdirs;
	FILE *log;
	pthread_mutex_t mu;	/* busy flags, references, the log */
} d0 = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void __attribute__((format(printf, 1, 2)))
d0_log(const char *fmt, ...)
{
	va_list ap;
	char ts[32];
	time_t t = time(NULL);

	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
	pthread_mutex_lock(&d0.mu);
	va_start(ap, fmt);
	fprintf(d0.log, "%s ", ts);
	vfprintf(d0.log, fmt, ap);
	fputc('\n', d0.log);
	fflush(d0.log);
	va_end(ap);
	pthread_mutex_unlock(&d0.mu);
}

static struct vm *
d0_vm(const char *name)
{
	int i;

	for (i = 0; i < d0.nvm; i++)
		if (strcmp(d0.vm[i].name, name) == 0)
			return &d0.vm[i];
	return NULL;
}

static struct port *
d0_take_exec(struct vm *v)
{
	struct port *p = NULL;
	int i;

	pthread_mutex_lock(&d0.mu);
	for (i = 0; i < v->nexec && p == NULL; i++)
		if (!v->exec[i].busy && v->exec[i].fd >= 0) {
			p = &v->exec[i];
			p->busy = 1;
		}
	pthread_mutex_unlock(&d0.mu);
	return p;
}

/*
 * A frame to p on behalf of call s, if p is still s's; with release, p is
 * no longer s's afterwards. Returns -1 if not sent.
 */
static int
port_send(struct port *p, struct session *s, uint32_t type, const void *d,
    uint32_t n, int release)
{
	int rc = -1;

	pthread_mutex_lock(&p->wmu);
	if (p->owner == s && s != NULL) {
		rc = frame_write(p->fd, NULL, type, d, n);
		if (release)
			p->owner = NULL;
	}
	pthread_mutex_unlock(&p->wmu);
	return rc;
}

static void
port_own(struct port *p, struct session *s)
{
	pthread_mutex_lock(&p->wmu);
	p->owner = s;
	pthread_mutex_unlock(&p->wmu);
}

static void
frame_exit_to(struct session *s, int code)
{
	char b[16];

	snprintf(b, sizeof(b), "%d", code);
	port_send(s->cport, s, F_EXIT, b, (uint32_t)strlen(b) + 1, 0);
}

static void
sess_unref(struct session *s)
{
	int last;

	pthread_mutex_lock(&d0.mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&d0.mu);
	if (last)
		free(s);
}

/*
 * The caller is done (its CLOSE, a new CALL, or its end went away): nothing
 * more goes to it; if the service still runs, its stdin ends and the call
 * goes on until it exits.
 */
static void
sess_leave(struct session *s)
{
	port_own(s->cport, NULL);
	if (!s->stdin_eof) {
		s->stdin_eof = 1;
		port_send(s->sport, s, F_STDIN, "", 0, 0);
	}
	s->cport->sess = NULL;
	sess_unref(s);
}

/* service -> caller: STDOUT, STDERR, EXIT; CLOSE goes back to the agent. */
static void *
sess_up(void *arg)
{
	struct session *s = arg;
	char *buf = malloc(FRAME_MAX + 1);
	uint32_t type;
	int n, code = 125;

	while ((n = frame_read(s->sport->fd, &type, buf)) >= 0) {
		if (type == F_STDOUT || type == F_STDERR)
			port_send(s->cport, s, type, buf, (uint32_t)n, 0);
		else if (type == F_EXIT) {
			code = atoi(buf);
			break;
		}
	}
	port_send(s->sport, s, F_CLOSE, "", 0, 1);
	if (n < 0)
		d0_log("%s: the service's VM went away", s->what);
	d0_log("%s: service exit %d", s->what, code);
	frame_exit_to(s, code);
	pthread_mutex_lock(&d0.mu);
	s->sport->busy = 0;
	pthread_mutex_unlock(&d0.mu);
	sess_unref(s);
	free(buf);
	return NULL;
}

/*
 * Start the service in the target's agent; the caller's reader relays the
 * caller's side. The target type follows qrexec-daemon: "name" for a VM
 * name, "keyword" for @default, empty for dom0's own calls.
 */
static int
d0_start(struct port *cp, struct vm *tv, const char *user,
    const char *service, const char *source, const char *req_target)
{
	struct port *sp = d0_take_exec(tv);
	struct session *s;
	pthread_t t;
	const char *ex[6];
	int from_dom0 = cp->vm == NULL;

	if (sp == NULL)
		return -1;
	ex[0] = user;
	ex[1] = service;
	ex[2] = source;
	ex[3] = from_dom0 ? "" : req_target[0] == '@' ? "keyword" : "name";
	ex[4] = from_dom0 ? "" : req_target;
	ex[5] = from_dom0 ? "1" : "0";
	s = calloc(1, sizeof(*s));
	s->cport = cp;
	s->sport = sp;
	s->refs = 2;
	snprintf(s->what, sizeof(s->what), "%s %s -> %s", service, source,
	    tv->name);
	port_own(sp, s);
	port_own(cp, s);
	if (frame_strings(sp->fd, &sp->wmu, F_EXEC, ex, 6) < 0) {
		port_own(sp, NULL);
		port_own(cp, NULL);
		pthread_mutex_lock(&d0.mu);
		sp->busy = 0;
		pthread_mutex_unlock(&d0.mu);
		free(s);
		return -1;
	}
	cp->sess = s;
	pthread_create(&t, NULL, sess_up, s);
	pthread_detach(t);
	return 0;
}

static void
d0_refuse(struct port *p, const char *nonce, int code)
{
	char c[8];
	const char *r[2] = { nonce, c };

	snprintf(c, sizeof(c), "%d", code);
	frame_strings(p->fd, &p->wmu, F_REFUSE, r, 2);
}

/* A CALL from qrexec-client-vm in VM v on call port p. */
static void
d0_call(struct port *p, char *buf, int n)
{
	char *f[3], to[40], user[40], why[700], svc[SERVICE_MAX + 1];
	const char *arg = "";
	struct vm *v = p->vm, *tv;
	char *plus;

	if (fields(buf, n, f, 3) != 3) {
		d0_log("%s: malformed CALL ignored", v->name);
		return;
	}
	if (!valid_target(f[1]) || !valid_service(f[2])) {
		d0_log("%s: refused: invalid target or service name", v->name);
		d0_refuse(p, f[0], 126);
		return;
	}
	snprintf(svc, sizeof(svc), "%s", f[2]);
	if ((plus = strchr(svc, '+')) != NULL) {
		*plus = '\0';
		arg = plus + 1;
	}
	if (!policy_eval(d0.pdirs, d0.npdirs, svc, arg, v->name, f[1], to,
	    sizeof(to), user, sizeof(user), why, sizeof(why))) {
		d0_log("%s+%s %s -> %s: %s", svc, arg, v->name, f[1], why);
		d0_refuse(p, f[0], 126);
		return;
	}
	d0_log("%s+%s %s -> %s: %s", svc, arg, v->name, f[1], why);
	if ((tv = d0_vm(to)) == NULL || tv == v) {
		d0_log("%s: refused: no VM %s to call", v->name, to);
		d0_refuse(p, f[0], 126);
		return;
	}
	frame_strings(p->fd, &p->wmu, F_ACCEPT, (const char **)&f[0], 1);
	if (d0_start(p, tv, user, f[2], v->name, f[1]) < 0) {
		d0_log("%s: no free exec port in %s", v->name, tv->name);
		frame_exit(p->fd, &p->wmu, F_EXIT, 125);
	}
}

/* A dom0 client's first frame: DCALL target, user, service, source. */
static int
d0_dcall(struct port *p, char *buf, int n)
{
	char *f[4];
	struct vm *tv;

	if (fields(buf, n, f, 4) != 4 || !valid_service(f[2]))
		return -1;
	if ((tv = d0_vm(f[0])) == NULL) {
		d0_log("dom0: %s: no such VM", f[0]);
		return -1;
	}
	d0_log("%s dom0 -> %s: dom0 call, user %s", f[2], tv->name, f[1]);
	if (d0_start(p, tv, f[1], f[2], f[3], "") < 0) {
		d0_log("dom0: no free exec port in %s", tv->name);
		return -1;
	}
	return 0;
}

/*
 * The reader of one caller end, for its life: CALL (or a dom0 client's
 * DCALL) starts a call; STDIN goes to the service; CLOSE answers EXIT or
 * leaves early. A CALL during a call means its client died unnoticed (a
 * virtio-serial port carries no close): that call loses its caller.
 */
static void *
d0_caller(void *arg)
{
	struct port *p = arg;
	char *buf = malloc(FRAME_MAX + 1);
	struct session *s;
	uint32_t type;
	int n;

	while ((n = frame_read(p->fd, &type, buf)) >= 0) {
		s = p->sess;
		if (s != NULL && type == F_STDIN) {
			if (!s->stdin_eof) {
				s->stdin_eof = n == 0;
				port_send(s->sport, s, F_STDIN, buf, (uint32_t)n, 0);
			}
			continue;
		}
		if (s != NULL && (type == F_CALL || type == F_CLOSE ||
		    type == F_DCALL))
			sess_leave(s);
		if (type == F_CALL && p->vm != NULL)
			d0_call(p, buf, n);
		else if (type == F_DCALL && p->vm == NULL && s == NULL &&
		    d0_dcall(p, buf, n) < 0) {
			frame_exit(p->fd, &p->wmu, F_EXIT, 125);
			break;
		}
		if (type == F_CLOSE && p->vm == NULL)
			break;		/* a dom0 client is done */
	}
	if (p->sess != NULL)
		sess_leave(p->sess);
	if (p->vm != NULL)
		d0_log("%s: %s closed (the VM is gone)", p->vm->name, p->path);
	/* No call owns p any more: nothing writes to it after this. */
	pthread_mutex_lock(&p->wmu);
	close(p->fd);
	p->fd = -1;
	pthread_mutex_unlock(&p->wmu);
	/* A dom0 client's struct stays: an ended call may still look at it. */
	free(buf);
	return NULL;
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int
port_open(struct port *p, struct vm *v, const char *prefix, const char *kind,
    int k)
{
	int i;

	snprintf(p->path, sizeof(p->path), "%s-%s.%d.sock", prefix, kind, k);
	pthread_mutex_init(&p->wmu, NULL);
	p->vm = v;
	for (i = 0; i < 300; i++) {
		if ((p->fd = connect_unix(p->path)) >= 0)
			return 0;
		usleep(100000);
	}
	warnx_("cannot connect %s: %s", p->path, strerror(errno));
	return -1;
}

static int
cmd_dom0(int argc, char **argv)
{
	const char *sock = NULL, *logf = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t t;
	int i, k, lfd;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
			logf = argv[++i];
		else if (strcmp(argv[i], "--policy-dir") == 0 && i + 1 < argc) {
			d0.pdirs = realloc(d0.pdirs, sizeof(char *) *
			    (size_t)(d0.npdirs + 1));
			d0.pdirs[d0.npdirs++] = argv[++i];
		} else if (strcmp(argv[i], "--vm") == 0 && i + 1 < argc) {
			char name[32], prefix[100];
			int ne, nc;
			struct vm *v;

			if (sscanf(argv[++i], "%31[^:]:%99[^:]:%d:%d", name,
			    prefix, &ne, &nc) != 4 || ne < 1 || nc < 1 ||
			    ne > 16 || nc > 16 || d0.nvm >= 16)
				goto usage;
			if (d0.vm == NULL)
				d0.vm = calloc(16, sizeof(*d0.vm));
			v = &d0.vm[d0.nvm++];
			snprintf(v->name, sizeof(v->name), "%s", name);
			v->exec = calloc((size_t)ne, sizeof(*v->exec));
			v->call = calloc((size_t)nc, sizeof(*v->call));
			v->nexec = ne;
			v->ncall = nc;
			for (k = 0; k < ne; k++)
				if (port_open(&v->exec[k], v, prefix, "exec", k) < 0)
					return 1;
			for (k = 0; k < nc; k++)
				if (port_open(&v->call[k], v, prefix, "call", k) < 0)
					return 1;
		} else
			goto usage;
	}
	if (sock == NULL || d0.nvm == 0 || d0.npdirs == 0 ||
	    strlen(sock) >= sizeof(sa.sun_path))
		goto usage;
	d0.log = logf ? fopen(logf, "ae") : stderr;
	if (d0.log == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	strcpy(sa.sun_path, sock);
	unlink(sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 16) < 0) {
		warnx_("%s: %s", sock, strerror(errno));
		return 1;
	}
	for (i = 0; i < d0.nvm; i++)
		for (k = 0; k < d0.vm[i].ncall; k++) {
			pthread_create(&t, NULL, d0_caller, &d0.vm[i].call[k]);
			pthread_detach(t);
		}
	d0_log("dom0: %d VMs, listening on %s", d0.nvm, sock);
	for (;;) {
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		struct port *p;

		if (cfd < 0)
			continue;
		p = calloc(1, sizeof(*p));
		p->fd = cfd;
		pthread_mutex_init(&p->wmu, NULL);
		snprintf(p->path, sizeof(p->path), "dom0 client");
		pthread_create(&t, NULL, d0_caller, p);
		pthread_detach(t);
	}
usage:
	fprintf(stderr, "usage: tb-qrexec dom0 --socket PATH --policy-dir DIR... "
	    "[--log FILE] --vm NAME:PREFIX:NEXEC:NCALL...\n");
	return 2;
}

/* ---------------------------------------------------------- qrexec-client */

/* qrexec-client -d VM 'USER:QUBESRPC SERVICE SOURCE' (stdin to the service). */
static int
cmd_client(int argc, char **argv)
{
	const char *sock = NULL, *vm = NULL;
	char cmd[512], *user, *svc, *src, *sp, *buf;
	const char *f[4];
	int i, fd, n, code = 125, in_open = 1;
	uint32_t type;

	for (i = 0; i < argc - 1; i++) {
		if (strcmp(argv[i], "--socket") == 0)
			sock = argv[++i];
		else if (strcmp(argv[i], "-d") == 0)
			vm = argv[++i];
		else
			break;
	}
	if (sock == NULL || vm == NULL || i != argc - 1 ||
	    strlen(argv[i]) >= sizeof(cmd)) {
		fprintf(stderr, "usage: tb-qrexec client --socket PATH -d VM "
		    "'USER:QUBESRPC SERVICE SOURCE'\n");
		return 2;
	}
	strcpy(cmd, argv[i]);
	user = cmd;
	if ((sp = strchr(cmd, ':')) == NULL || strncmp(sp + 1, "QUBESRPC ", 9)) {
		warnx_("only USER:QUBESRPC SERVICE SOURCE commands");
		return 125;
	}
	*sp = '\0';
	svc = sp + 10;
	if ((src = strchr(svc, ' ')) == NULL) {
		warnx_("no source domain in the command");
		return 125;
	}
	*src++ = '\0';
	if ((fd = connect_unix(sock)) < 0) {
		warnx_("cannot connect to the daemon at %s", sock);
		return 125;
	}
	signal(SIGPIPE, SIG_IGN);
	f[0] = vm;
	f[1] = user;
	f[2] = svc;
	f[3] = src;
	frame_strings(fd, NULL, F_DCALL, f, 4);
	buf = malloc(FRAME_MAX + 1);
	for (;;) {
		struct pollfd pf[2] = { { fd, POLLIN, 0 }, { 0, POLLIN, 0 } };

		if (poll(pf, in_open ? 2 : 1, -1) < 0)
			continue;
		if (in_open && (pf[1].revents & (POLLIN | POLLHUP))) {
			ssize_t r = read(0, buf, FRAME_MAX);

			if (r <= 0) {
				in_open = 0;
				r = 0;
			}
			frame_write(fd, NULL, F_STDIN, buf, (uint32_t)r);
		}
		if (!(pf[0].revents & (POLLIN | POLLHUP)))
			continue;
		if ((n = frame_read(fd, &type, buf)) < 0)
			break;
		if (type == F_STDOUT)
			write_all(1, buf, (size_t)n);
		else if (type == F_STDERR)
			write_all(2, buf, (size_t)n);
		else if (type == F_EXIT) {
			code = atoi(buf);
			frame_write(fd, NULL, F_CLOSE, "", 0);
			break;
		}
	}
	free(buf);
	close(fd);
	return code;
}

/* ----------------------------------------------------------------- agent */

/* The VM's qrexec ports (TB_QREXEC_PORT_DIR: host-side tests of the double). */
static const char *
port_glob(const char *kind)
{
	static char g[256];
	const char *dir = getenv("TB_QREXEC_PORT_DIR");

	snprintf(g, sizeof(g), "%s/qrexec.%s.*", dir ? dir : "/dev/virtio-ports",
	    kind);
	return g;
}

/* Find NAME+ARG in every directory of path, then NAME. */
static int
lookup(const char *path, const char *full, const char *bare, char *out,
    size_t len, int *is_sock)
{
	const char *names[2] = { full, bare };
	char dirs[512], *d, *save;
	struct stat st;
	int i;

	for (i = 0; i < 2; i++) {
		if (i == 1 && strcmp(full, bare) == 0)
			break;
		snprintf(dirs, sizeof(dirs), "%s", path);
		for (d = strtok_r(dirs, ":", &save); d;
		    d = strtok_r(NULL, ":", &save)) {
			snprintf(out, len, "%s/%s", d, names[i]);
			if (stat(out, &st) == 0) {
				*is_sock = S_ISSOCK(st.st_mode);
				return 0;
			}
		}
	}
	return -1;
}

struct rpc_config {
	char force_user[40];
};

/* libqrexec's TOML subset: key = 'str' | "str" | true | false | integer. */
static int
rpc_config_read(const char *file, struct rpc_config *c, char *err,
    size_t elen)
{
	static const char *const keys[] = { "wait-for-session", "force-user",
	    "skip-service-descriptor", "exit-on-client-eof",
	    "exit-on-service-eof", NULL };
	char line[512], *k, *v, *e;
	FILE *f = fopen(file, "re");
	int ln, i;

	if (f == NULL) {
		snprintf(err, elen, "%s: %s", file, strerror(errno));
		return -1;
	}
	for (ln = 1; fgets(line, sizeof(line), f) != NULL; ln++) {
		line[strcspn(line, "\r\n")] = '\0';
		for (k = line; *k == ' ' || *k == '\t'; k++)
			;
		if (*k == '\0' || *k == '#')
			continue;
		if ((v = strchr(k, '=')) == NULL)
			goto bad;
		for (e = v; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t');
		    e--)
			;
		*e = '\0';
		for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
			;
		if (keys[i] == NULL) {
			snprintf(err, elen, "%s:%d: unknown key %s", file, ln, k);
			fclose(f);
			return -1;
		}
		if (strcmp(k, "force-user") == 0) {
			size_t l = strlen(v);

			if (l < 3 || (v[0] != '\'' && v[0] != '"') ||
			    v[l - 1] != v[0] || l - 2 >= sizeof(c->force_user))
				goto bad;
			memcpy(c->force_user, v + 1, l - 2);
			c->force_user[l - 2] = '\0';
		} else if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0 &&
		    strspn(v, "0123456789") != strlen(v))
			goto bad;
	}
	fclose(f);
	return 0;
bad:
	snprintf(err, elen, "%s:%d: syntax error", file, ln);
	fclose(f);
	return -1;
}

/* Reject: tell the caller why (dom0 callers read stderr), exit code, CLOSE. */
static void __attribute__((format(printf, 4, 5), noreturn))
agent_fail(int fd, int fwd_err, int code, const char *fmt, ...)
{
	char msg[1400], *buf;
	uint32_t type;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "qrexec-agent: %s\n", msg);
	if (fwd_err) {
		strncat(msg, "\n", sizeof(msg) - strlen(msg) - 1);
		frame_write(fd, NULL, F_STDERR, msg, (uint32_t)strlen(msg));
	}
	frame_write(fd, NULL, F_STDOUT, "", 0);
	frame_exit(fd, NULL, F_EXIT, code);
	buf = malloc(FRAME_MAX + 1);
	while (frame_read(fd, &type, buf) >= 0 && type != F_CLOSE)
		;
	_exit(0);
}

struct agent_in {
	int port, in;		/* port, the service's stdin */
	int closed;		/* got CLOSE */
};

static void *
agent_stdin(void *arg)
{
	struct agent_in *a = arg;
	char *buf = malloc(FRAME_MAX + 1);
	uint32_t type;
	int n;

	while ((n = frame_read(a->port, &type, buf)) >= 0) {
		if (type == F_CLOSE) {
			a->closed = 1;
			break;
		}
		if (type != F_STDIN || a->in < 0)
			continue;
		if (n == 0 || write_all(a->in, buf, (size_t)n) < 0) {
			shutdown(a->in, SHUT_WR);
			close(a->in);
			a->in = -1;
		}
	}
	free(buf);
	return NULL;
}

/* The service call on exec port fd (a child of the agent). */
static void __attribute__((noreturn))
agent_exec(int fd, char *buf, int n)
{
	char *f[6], full[SERVICE_MAX + 1], bare[SERVICE_MAX + 1], path[600];
	char cpath[600], err[1300], user[40], *plus;
	const char *arg = NULL;
	struct rpc_config cfg = { "" };
	struct agent_in ai;
	struct passwd *pw;
	pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
	pthread_t t;
	int sin[2], sout[2], serr[2], st[2], is_sock = 0, fwd, status = 0;
	int out_open = 1, err_open = 1, exited = 0, e;
	pid_t pid;

	if (fields(buf, n, f, 6) != 6)
		agent_fail(fd, 0, 125, "malformed EXEC");
	fwd = strcmp(f[5], "1") == 0;
	fprintf(stderr, "qrexec-agent: %s from %s as %s\n", f[1], f[2], f[0]);
	if (!valid_service(f[1]))
		agent_fail(fd, fwd, 125, "invalid service %s", f[1]);
	snprintf(full, sizeof(full), "%s", f[1]);
	snprintf(bare, sizeof(bare), "%s", f[1]);
	if ((plus = strchr(bare, '+')) != NULL) {
		*plus = '\0';
		arg = plus + 1;
	}
	if (lookup(getenv("QREXEC_SERVICE_PATH") ? getenv("QREXEC_SERVICE_PATH") :
	    RPC_PATH, full, bare, path, sizeof(path), &is_sock) < 0)
		agent_fail(fd, fwd, 127, "service %s not found", full);
	if (is_sock)
		agent_fail(fd, fwd, 125, "%s: socket services are not "
		    "supported by the double", path);
	if (lookup(getenv("QUBES_RPC_CONFIG_PATH") ?
	    getenv("QUBES_RPC_CONFIG_PATH") : RPC_CONFIG_PATH, full, bare,
	    cpath, sizeof(cpath), &is_sock) == 0 &&
	    rpc_config_read(cpath, &cfg, err, sizeof(err)) < 0)
		agent_fail(fd, fwd, 125, "rpc-config: %s", err);
	snprintf(user, sizeof(user), "%s", cfg.force_user[0] ? cfg.force_user :
	    strcmp(f[0], "DEFAULT") == 0 || f[0][0] == '\0' ? "user" : f[0]);
	if ((pw = getpwnam(user)) == NULL)
		agent_fail(fd, fwd, 125, "no user %s in this VM", user);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sin) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sout) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, serr) < 0 ||
	    pipe2(st, O_CLOEXEC) < 0)
		agent_fail(fd, fwd, 125, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		char ppid[16], *av[3];
		extern char **environ;
		char **ev;

		dup2(sin[0], 0);
		dup2(sout[1], 1);
		dup2(serr[1], 2);
		for (e = 3; e < 256; e++)
			if (e != st[1])
				close(e);
		signal(SIGPIPE, SIG_DFL);
		/* A clean QREXEC_* environment (libqrexec/exec.c). */
		for (ev = environ; *ev; ) {
			if (strncmp(*ev, "QREXEC_", 7) == 0) {
				char name[128];

				snprintf(name, sizeof(name), "%.*s",
				    (int)strcspn(*ev, "="), *ev);
				unsetenv(name);
				ev = environ;
			} else
				ev++;
		}
		snprintf(ppid, sizeof(ppid), "%d", (int)getppid());
		setenv("QREXEC_SERVICE_FULL_NAME", full, 1);
		setenv("QREXEC_REMOTE_DOMAIN", f[2], 1);
		if (arg)
			setenv("QREXEC_SERVICE_ARGUMENT", arg, 1);
		setenv("QREXEC_REQUESTED_TARGET_TYPE", f[3], 1);
		if (strcmp(f[3], "keyword") == 0)
			setenv("QREXEC_REQUESTED_TARGET_KEYWORD", f[4] + 1, 1);
		else if (strcmp(f[3], "name") == 0)
			setenv("QREXEC_REQUESTED_TARGET", f[4], 1);
		setenv("QREXEC_AGENT_PID", ppid, 1);
		setenv("HOME", pw->pw_dir, 1);
		setenv("USER", pw->pw_name, 1);
		if (chdir(pw->pw_dir) < 0 && chdir("/") < 0)
			_exit(125);
		if (pw->pw_uid != getuid() &&
		    (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
		    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)) {
			e = errno;
			write_all(st[1], &e, sizeof(e));
			_exit(125);
		}
		av[0] = path;
		av[1] = arg && arg[0] ? (char *)arg : NULL;
		av[2] = NULL;
		execv(path, av);
		e = errno;
		write_all(st[1], &e, sizeof(e));
		_exit(127);
	}
	close(sin[0]);
	close(sout[1]);
	close(serr[1]);
	close(st[1]);
	if (pid < 0)
		agent_fail(fd, fwd, 125, "fork: %s", strerror(errno));
	if (read_all(st[0], &e, sizeof(e)) == 0) {
		waitpid(pid, NULL, 0);
		agent_fail(fd, fwd, 125, "cannot execute the service: %s",
		    strerror(e));
	}
	close(st[0]);
	ai.port = fd;
	ai.in = sin[1];
	ai.closed = 0;
	pthread_create(&t, NULL, agent_stdin, &ai);
	/* The call ends when the service exited AND closed stdout and stderr. */
	for (;;) {
		struct pollfd pf[2] = { { out_open ? sout[0] : -1, POLLIN, 0 },
		    { err_open ? serr[0] : -1, POLLIN, 0 } };
		char b[16384];
		ssize_t r;
		int i;

		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = 1;
		if (exited && !out_open && !err_open)
			break;
		if (poll(pf, 2, exited ? -1 : 100) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(pf[i].fd, b, sizeof(b));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(pf[i].fd);
				if (i == 0) {
					out_open = 0;
					frame_write(fd, &wmu, F_STDOUT, "", 0);
				} else
					err_open = 0;
				continue;
			}
			if (i == 0)
				frame_write(fd, &wmu, F_STDOUT, b, (uint32_t)r);
			else if (fwd)
				frame_write(fd, &wmu, F_STDERR, b, (uint32_t)r);
			else
				write_all(2, b, (size_t)r);	/* the VM's log */
		}
	}
	e = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(stderr, "qrexec-agent: %s from %s: exit %d\n", full, f[2], e);
	frame_exit(fd, &wmu, F_EXIT, e);
	pthread_join(t, NULL);
	_exit(0);
}

static int
cmd_agent(void)
{
	glob_t g;
	struct pollfd pf[16];
	pid_t busy[16];
	size_t i;
	int n;

	signal(SIGPIPE, SIG_IGN);
	if (glob(port_glob("exec"), 0, NULL, &g) != 0) {
		warnx_("no qrexec.exec ports");
		return 1;
	}
	for (i = 0; i < g.gl_pathc && i < 16; i++) {
		pf[i].fd = open(g.gl_pathv[i], O_RDWR | O_CLOEXEC);
		pf[i].events = POLLIN;
		busy[i] = 0;
		if (pf[i].fd < 0)
			warnx_("%s: %s", g.gl_pathv[i], strerror(errno));
	}
	n = (int)i;
	fprintf(stderr, "qrexec-agent: serving %d exec ports\n", n);
	for (;;) {
		struct pollfd q[16];
		int j, any = 0, hup = 0;
		pid_t pid;

		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			for (j = 0; j < n; j++)
				if (busy[j] == pid)
					busy[j] = 0;
		for (j = 0; j < n; j++) {
			q[j] = pf[j];
			if (busy[j])
				q[j].fd = -1;
		}
		if (poll(q, (nfds_t)n, 200) <= 0)
			continue;
		for (j = 0; j < n; j++) {
			char *buf;
			uint32_t type;
			int len;

			if (q[j].fd < 0)
				continue;
			/*
			 * Without a host end virtio_console reports POLLHUP
			 * with POLLIN (a read returns 0). Never read such a
			 * port: dom0 may connect between the poll and the
			 * read, which then blocks the agent, and with it
			 * every port, until a frame comes on that one (seen:
			 * a call on port 0 never served while the agent sat
			 * in a read of port 1). POLLIN alone means data.
			 */
			if (q[j].revents & POLLHUP) {
				hup = 1;	/* the host end is not connected */
				continue;
			}
			if (!(q[j].revents & POLLIN))
				continue;
			buf = malloc(FRAME_MAX + 1);
			len = frame_read(pf[j].fd, &type, buf);
			if (len < 0)
				hup = 1;	/* read 0: the host end is gone */
			else
				any = 1;
			if (len >= 0 && type == F_EXEC) {
				pid = fork();
				if (pid == 0)
					agent_exec(pf[j].fd, buf, len);
				if (pid > 0)
					busy[j] = pid;
			}
			free(buf);
		}
		if (hup && !any)
			usleep(100000);
	}
}

/* ------------------------------------------------------ qrexec-client-vm */

static volatile sig_atomic_t cvm_stop;

static void
cvm_on_signal(int sig)
{
	cvm_stop = sig;
}

struct cvm {
	int port;
	pthread_mutex_t wmu;
	int to_local;		/* the local program's stdin, or 1 */
	int remote_code;	/* -1 until EXIT */
	volatile int done;
};

static void *
cvm_from_remote(void *arg)
{
	struct cvm *c = arg;
	char *buf = malloc(FRAME_MAX + 1);
	uint32_t type;
	int n;

	while ((n = frame_read(c->port, &type, buf)) >= 0) {
		if (type == F_STDOUT && c->to_local >= 0) {
			if (n == 0 || write_all(c->to_local, buf, (size_t)n) < 0) {
				shutdown(c->to_local, SHUT_WR);
				close(c->to_local);
				c->to_local = -1;
			}
		} else if (type == F_STDERR)
			write_all(2, buf, (size_t)n);
		else if (type == F_EXIT) {
			c->remote_code = atoi(buf);
			break;
		}
	}
	if (c->remote_code < 0)
		c->remote_code = 125;
	if (c->to_local >= 0) {
		shutdown(c->to_local, SHUT_WR);
		if (c->to_local != 1)
			close(c->to_local);
		c->to_local = -1;
	}
	c->done = 1;
	free(buf);
	return NULL;
}

static int
cmd_client_vm(int argc, char **argv)
{
	const char *target, *service;
	char nonce[32], *buf;
	const char *call[3];
	struct cvm c = { .port = -1, .remote_code = -1 };
	struct sigaction sa;
	pthread_t t;
	glob_t g;
	uint32_t type;
	int i, n, from_local = 0, lstatus = 0, lexited = 0, in_open = 1;
	int sa_in[2], sa_out[2];
	pid_t lpid = -1;

	if (argc < 2) {
		fprintf(stderr, "usage: qrexec-client-vm target_vmname "
		    "service[+argument] [local_program [args]]\n");
		return 2;
	}
	target = argv[0];
	service = argv[1];
	if (strlen(target) > TARGET_MAX) {
		warnx_("target name too long");
		return 1;
	}
	if (strlen(service) > SERVICE_MAX) {
		warnx_("service name too long");
		return 1;
	}
	pthread_mutex_init(&c.wmu, NULL);
	if (glob(port_glob("call"), 0, NULL, &g) == 0)
		for (i = 0; i < (int)g.gl_pathc && c.port < 0; i++) {
			/* A virtio-serial port opens once (EBUSY); the lock
			 * does the same where a port is a pty (unit test). */
			c.port = open(g.gl_pathv[i], O_RDWR | O_CLOEXEC);
			if (c.port >= 0 && flock(c.port, LOCK_EX | LOCK_NB) < 0) {
				close(c.port);
				c.port = -1;
			}
		}
	globfree(&g);
	if (c.port < 0) {
		warnx_("no free qrexec call port (the agent is not running?)");
		return 125;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(nonce, sizeof(nonce), "%d.%ld", (int)getpid(), (long)time(NULL));
	call[0] = nonce;
	call[1] = target;
	call[2] = service;
	frame_strings(c.port, &c.wmu, F_CALL, call, 3);
	buf = malloc(FRAME_MAX + 1);
	for (;;) {
		char *f[2];

		if ((n = frame_read(c.port, &type, buf)) < 0) {
			warnx_("qrexec: the daemon went away");
			free(buf);
			return 125;
		}
		if ((type != F_ACCEPT && type != F_REFUSE) ||
		    fields(buf, n, f, 2) < 1 || strcmp(f[0], nonce) != 0)
			continue;	/* a previous client's */
		if (type == F_REFUSE) {
			int code = fields(buf, n, f, 2) == 2 ? atoi(f[1]) : 126;

			fprintf(stderr, "Request refused\n");
			frame_write(c.port, &c.wmu, F_CLOSE, "", 0);
			free(buf);
			return code;
		}
		break;
	}
	/* Allowed: only now start the local program. Until here a signal
	 * ends us at once; from here it ends the call in order. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cvm_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (argc > 2) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sa_in) < 0 ||
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sa_out) < 0) {
			free(buf);
			return 125;
		}
		lpid = fork();
		if (lpid == 0) {
			dup2(sa_in[1], 0);
			dup2(sa_out[1], 1);
			signal(SIGPIPE, SIG_DFL);
			execvp(argv[2], argv + 2);
			fprintf(stderr, "qrexec-client-vm: %s: %s\n", argv[2],
			    strerror(errno));
			_exit(127);
		}
		close(sa_in[1]);
		close(sa_out[1]);
		c.to_local = sa_in[0];
		from_local = sa_out[0];
	} else
		c.to_local = 1;
	pthread_create(&t, NULL, cvm_from_remote, &c);
	for (;;) {
		struct pollfd pf = { in_open ? from_local : -1, POLLIN, 0 };

		if (lpid > 0 && !lexited && waitpid(lpid, &lstatus, WNOHANG) == lpid)
			lexited = 1;
		if (cvm_stop)
			break;
		if (lpid > 0 ? lexited && (!in_open || c.done) : c.done)
			break;
		if (poll(&pf, 1, 100) <= 0)
			continue;
		n = (int)read(from_local, buf, FRAME_MAX);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			in_open = 0;
			n = 0;
		}
		if (!c.done)
			frame_write(c.port, &c.wmu, F_STDIN, buf, (uint32_t)n);
	}
	free(buf);
	if (!c.done) {
		/* Leaving first: tell dom0, which ends the service's stdin. */
		if (in_open)
			frame_write(c.port, &c.wmu, F_STDIN, "", 0);
		frame_write(c.port, &c.wmu, F_CLOSE, "", 0);
		if (lpid > 0 && !lexited) {
			kill(lpid, cvm_stop ? cvm_stop : SIGTERM);
			waitpid(lpid, &lstatus, 0);
		}
		if (cvm_stop)
			return 128 + cvm_stop;
	} else {
		pthread_join(t, NULL);
		frame_write(c.port, &c.wmu, F_CLOSE, "", 0);
	}
	if (lpid < 0)
		return c.remote_code;
	return WIFEXITED(lstatus) ? WEXITSTATUS(lstatus) :
	    128 + WTERMSIG(lstatus);
}

int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
	    argv[0];

	if (strcmp(base, "qrexec-client-vm") == 0) {
		prog = "qrexec-client-vm";
		return cmd_client_vm(argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[1], "dom0") == 0)
		return cmd_dom0(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "client") == 0)
		return cmd_client(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "agent") == 0)
		return cmd_agent();
	if (argc >= 2 && strcmp(argv[1], "client-vm") == 0)
		return cmd_client_vm(argc - 2, argv + 2);
	if (argc == 8 && strcmp(argv[1], "policy") == 0) {
		/* policy DIR1 DIR2 SERVICE ARG SOURCE TARGET: one decision */
		char to[40], user[40], why[700];
		int ok = policy_eval(argv + 2, 2, argv[4], argv[5], argv[6],
		    argv[7], to, sizeof(to), user,
		    sizeof(user), why, sizeof(why));

		printf("%s\n", why);
		return ok ? 0 : 1;
	}
	fprintf(stderr, "usage: tb-qrexec dom0|client|agent|client-vm|policy ...\n");
	return 2;
}
