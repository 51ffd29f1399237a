/*
 * assign.c: the assignment store (see assign.h for semantics).
 *
 * File format, one assignment per line, fields separated by one space:
 *
 *   # usbgate assignments (written by usbgated)
 *   usbgate-assignments 1
 *   assign VM BACKEND PORT DEVICE_ID MODE [allow-pid=PPPP[,PPPP]...]
 *   end COUNT
 *
 * PORT and DEVICE_ID may be "*". The "end" line lets a reader notice a
 * file that was cut short by something other than our atomic rename.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assign.h"
#include "pol_file.h"

#define ASSIGN_MAGIC	"usbgate-assignments 1"
#define ASSIGN_FILE_MAX	(8u << 20)

void (*pol_assign_save_hook)(int stage);

static const char *const mode_names[] = {
	[POL_MODE_MANUAL] = "manual",
	[POL_MODE_AUTO] = "auto-attach",
	[POL_MODE_ASK] = "ask-to-attach",
	[POL_MODE_REQUIRED] = "required",
};

const char *
pol_assign_mode_name(enum pol_assign_mode mode)
{
	if ((unsigned)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
		return "?";
	return mode_names[mode];
}

int
pol_assign_mode_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	return POL_E_VALUE;
}

int
pol_assign_validate(const struct pol_assign *a, char *msg, size_t size)
{
	struct pol_devid id;
	int i, j;

#define FAIL(...) do { snprintf(msg, size, __VA_ARGS__); \
		return POL_E_VALUE; } while (0)
	if (!ident_name_valid(a->vm))
		FAIL("bad VM name");
	if (strcmp(a->vm, "dom0") == 0)
		FAIL("dom0 never receives USB devices");
	if (!ident_name_valid(a->backend))
		FAIL("bad backend name");
	if (strcmp(a->port, POL_ASSIGN_ANY) != 0 && !ident_busid_valid(a->port))
		FAIL("bad port '%.40s'", a->port);
	if (strcmp(a->device_id, POL_ASSIGN_ANY) != 0 &&
	    pol_devid_parse(a->device_id, &id) != POL_OK)
		FAIL("bad device id");
	if (strcmp(a->port, POL_ASSIGN_ANY) == 0 &&
	    strcmp(a->device_id, POL_ASSIGN_ANY) == 0)
		FAIL("an assignment needs a port, a device id or both");
	if (a->mode != POL_MODE_AUTO && a->mode != POL_MODE_ASK &&
	    a->mode != POL_MODE_REQUIRED)
		FAIL("bad mode");
	if (a->n_allow_pid < 0 || a->n_allow_pid > POL_ALLOW_PID_MAX)
		FAIL("too many allow-pid values (at most %d)",
		    POL_ALLOW_PID_MAX);
	if (a->n_allow_pid > 0) {
		if (strcmp(a->device_id, POL_ASSIGN_ANY) == 0)
			FAIL("allow-pid needs a device id");
		if (id.unknown)
			FAIL("allow-pid needs a known device id");
		if (id.serial[0] == '\0' &&
		    strcmp(a->port, POL_ASSIGN_ANY) == 0)
			FAIL("allow-pid on a device without serial number "
			    "needs a port as well");
		for (i = 0; i < a->n_allow_pid; i++)
			for (j = 0; j < i; j++)
				if (a->allow_pid[i] == a->allow_pid[j])
					FAIL("duplicate allow-pid");
	}
#undef FAIL
	if (size > 0)
		msg[0] = '\0';
	return POL_OK;
}

int
pol_assign_format(const struct pol_assign *a, char *buf, size_t size)
{
	size_t len;
	int n, i;

	n = snprintf(buf, size, "assign %s %s %s %s %s", a->vm, a->backend,
	    a->port, a->device_id, pol_assign_mode_name(a->mode));
	if (n < 0 || (size_t)n >= size)
		return POL_E_TOOLONG;
	len = (size_t)n;
	for (i = 0; i < a->n_allow_pid; i++) {
		n = snprintf(buf + len, size - len, "%s%04x",
		    i == 0 ? " allow-pid=" : ",", a->allow_pid[i]);
		if (n < 0 || (size_t)n >= size - len)
			return POL_E_TOOLONG;
		len += (size_t)n;
	}
	return (int)len;
}

static int
copy_field(char *dst, size_t size, const char *src, size_t len)
{
	if (len == 0 || len >= size)
		return 0;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 1;
}

static int
parse_pids(const char *s, struct pol_assign *a)
{
	const char *p = s;
	uint16_t v;

	a->n_allow_pid = 0;
	for (;;) {
		if (!ident_hex4(p, &v))
			return 0;
		if (a->n_allow_pid >= POL_ALLOW_PID_MAX)
			return 0;
		a->allow_pid[a->n_allow_pid++] = v;
		p += 4;
		if (*p == '\0')
			return 1;
		if (*p++ != ',')
			return 0;
	}
}

int
pol_assign_parse_line(const char *line, struct pol_assign *out, char *msg,
    size_t msgsize)
{
	const char *f[8];
	size_t len[8];
	char mode[32];
	int nf = 0, m;
	const char *p = line;

	memset(out, 0, sizeof(*out));
	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (nf == 8) {
			snprintf(msg, msgsize, "too many fields");
			return POL_E_SYNTAX;
		}
		f[nf] = p;
		while (*p != '\0' && *p != ' ')
			p++;
		len[nf] = (size_t)(p - f[nf]);
		nf++;
	}
	if (nf < 6 || nf > 7 || len[0] != 6 || strncmp(f[0], "assign", 6) != 0) {
		snprintf(msg, msgsize, "not an assignment line");
		return POL_E_SYNTAX;
	}
	if (!copy_field(out->vm, sizeof(out->vm), f[1], len[1]) ||
	    !copy_field(out->backend, sizeof(out->backend), f[2], len[2]) ||
	    !copy_field(out->port, sizeof(out->port), f[3], len[3]) ||
	    !copy_field(out->device_id, sizeof(out->device_id), f[4], len[4]) ||
	    !copy_field(mode, sizeof(mode), f[5], len[5])) {
		snprintf(msg, msgsize, "field too long");
		return POL_E_SYNTAX;
	}
	if ((m = pol_assign_mode_parse(mode)) < 0 || m == POL_MODE_MANUAL) {
		snprintf(msg, msgsize, "bad mode '%.31s'", mode);
		return POL_E_VALUE;
	}
	out->mode = (enum pol_assign_mode)m;
	if (nf == 7) {
		char pids[64];

		if (len[6] < 11 || strncmp(f[6], "allow-pid=", 10) != 0 ||
		    !copy_field(pids, sizeof(pids), f[6] + 10, len[6] - 10) ||
		    !parse_pids(pids, out)) {
			snprintf(msg, msgsize, "bad allow-pid list");
			return POL_E_VALUE;
		}
	}
	return pol_assign_validate(out, msg, msgsize);
}

void
pol_assign_init(struct pol_assign_store *st, const char *path)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->path, sizeof(st->path), "%s", path ? path : "");
}

void
pol_assign_free(struct pol_assign_store *st)
{
	free(st->a);
	st->a = NULL;
	st->n = st->cap = 0;
}

static int
same_key(const struct pol_assign *x, const struct pol_assign *y)
{
	return strcmp(x->vm, y->vm) == 0 &&
	    strcmp(x->backend, y->backend) == 0 &&
	    strcmp(x->port, y->port) == 0 &&
	    strcmp(x->device_id, y->device_id) == 0;
}

static int
store_push(struct pol_assign_store *st, const struct pol_assign *a)
{
	if (st->n >= POL_ASSIGN_MAX)
		return POL_E_TOOLONG;
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 16;
		struct pol_assign *na = realloc(st->a, ncap * sizeof(*na));

		if (na == NULL)
			return POL_E_NOMEM;
		st->a = na;
		st->cap = ncap;
	}
	st->a[st->n++] = *a;
	return POL_OK;
}

int
pol_assign_add(struct pol_assign_store *st, const struct pol_assign *a)
{
	char msg[128];
	size_t i;

	if (pol_assign_validate(a, msg, sizeof(msg)) != POL_OK)
		return POL_E_VALUE;
	for (i = 0; i < st->n; i++)
		if (same_key(&st->a[i], a)) {
			st->a[i] = *a;
			return POL_OK;
		}
	return store_push(st, a);
}

int
pol_assign_remove(struct pol_assign_store *st, const char *vm,
    const char *backend, const char *port, const char *device_id)
{
	size_t i, o = 0;
	int removed = 0;

	for (i = 0; i < st->n; i++) {
		const struct pol_assign *a = &st->a[i];

		if (strcmp(a->vm, vm) == 0 &&
		    (backend == NULL || strcmp(a->backend, backend) == 0) &&
		    (port == NULL || strcmp(a->port, port) == 0) &&
		    (device_id == NULL || strcmp(a->device_id, device_id) == 0)) {
			removed++;
			continue;
		}
		st->a[o++] = st->a[i];
	}
	st->n = o;
	return removed;
}

int
pol_assign_load(struct pol_assign_store *st, struct pol_diags *dg)
{
	struct pol_assign a;
	char *text, *line, *nl, msg[160];
	size_t got = 0, kept = 0, entries = 0;
	long end_count = -1;
	int lineno = 0, dropped = 0, r, seen_magic = 0;

	pol_assign_free(st);
	r = pol_file_read(st->path, ASSIGN_FILE_MAX, &text, &got);
	if (r == POL_E_NOTFOUND)
		return POL_OK;
	if (r == POL_E_IO && (errno == EINVAL || errno == EFBIG)) {
		pol_diag_add(dg, st->path, 0, "not a regular file of sane "
		    "size");
		return r;
	}
	if (r == POL_E_IO) {
		pol_diag_add(dg, st->path, 0, "cannot open: %s",
		    strerror(errno));
		return r;
	}
	if (r != POL_OK)
		return r;

	for (line = text; line < text + got; line = nl) {
		char *eol = memchr(line, '\n', (size_t)(text + got - line));

		lineno++;
		if (eol == NULL) {
			/* No newline: the tail of an interrupted write. */
			pol_diag_add(dg, st->path, lineno, "torn last line "
			    "dropped");
			dropped++;
			break;
		}
		*eol = '\0';
		nl = eol + 1;
		if (strlen(line) != (size_t)(eol - line)) {
			pol_diag_add(dg, st->path, lineno, "NUL byte, line "
			    "dropped");
			dropped++;
			continue;
		}
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strcmp(line, ASSIGN_MAGIC) == 0) {
			seen_magic = 1;
			continue;
		}
		if (strncmp(line, "end ", 4) == 0) {
			char *e;

			end_count = strtol(line + 4, &e, 10);
			if (*e != '\0' || e == line + 4)
				end_count = -2;
			continue;
		}
		entries++;
		r = pol_assign_parse_line(line, &a, msg, sizeof(msg));
		if (r != POL_OK) {
			pol_diag_add(dg, st->path, lineno, "%s, line dropped",
			    msg);
			dropped++;
			continue;
		}
		if (pol_assign_add(st, &a) != POL_OK) {
			pol_diag_add(dg, st->path, lineno, "cannot store "
			    "assignment, line dropped");
			dropped++;
			continue;
		}
		kept++;
	}
	free(text);
	if (!seen_magic && kept > 0)
		pol_diag_add(dg, st->path, 0, "no '%s' header", ASSIGN_MAGIC);
	if (entries > 0 || end_count != -1) {
		if (end_count < 0) {
			pol_diag_add(dg, st->path, 0, "no 'end' line: file "
			    "may be incomplete");
			dropped++;
		} else if ((size_t)end_count != entries) {
			pol_diag_add(dg, st->path, 0, "'end %ld' but %zu "
			    "assignment lines", end_count, entries);
			dropped++;
		}
	}
	return dropped;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
hook(int stage)
{
	if (pol_assign_save_hook != NULL)
		pol_assign_save_hook(stage);
}

int
pol_assign_save(const struct pol_assign_store *st)
{
	char tmp[4096 + 8], line[POL_DEVID_MAX + 256], dir[4096];
	size_t i;
	int fd, dfd, n, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", st->path) >=
	    sizeof(tmp))
		return POL_E_TOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0)
		return POL_E_IO;
	n = snprintf(line, sizeof(line), "# usbgate assignments (written by "
	    "usbgated; use usbgate assign/unassign)\n%s\n", ASSIGN_MAGIC);
	if (write_all(fd, line, (size_t)n) < 0)
		goto fail;
	for (i = 0; i < st->n; i++) {
		if ((n = pol_assign_format(&st->a[i], line,
		    sizeof(line) - 1)) < 0)
			goto fail;
		line[n++] = '\n';
		if (write_all(fd, line, (size_t)n) < 0)
			goto fail;
		hook(0);
	}
	n = snprintf(line, sizeof(line), "end %zu\n", st->n);
	if (write_all(fd, line, (size_t)n) < 0)
		goto fail;
	hook(1);
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	hook(2);
	if (rename(tmp, st->path) < 0)
		goto fail;
	hook(3);
	/* Make the rename itself durable. */
	snprintf(dir, sizeof(dir), "%s", st->path);
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return POL_OK;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return POL_E_IO;
}

static int
pid_listed(const struct pol_assign *a, uint16_t pid)
{
	int i;

	for (i = 0; i < a->n_allow_pid; i++)
		if (a->allow_pid[i] == pid)
			return 1;
	return 0;
}

enum pol_assign_rank
pol_assign_rank(const struct pol_assign *a, const char *backend,
    const char *busid, const char *devid, const struct pol_device *dev)
{
	int any_port = strcmp(a->port, POL_ASSIGN_ANY) == 0;
	int any_id = strcmp(a->device_id, POL_ASSIGN_ANY) == 0;
	struct pol_devid id;

	if (strcmp(a->backend, backend) != 0)
		return POL_RANK_NONE;
	if (!any_port && strcmp(a->port, busid) != 0)
		return POL_RANK_NONE;
	if (any_id)
		return POL_RANK_PORT;
	if (strcmp(a->device_id, devid) == 0)
		return any_port ? POL_RANK_ID : POL_RANK_BOTH;
	/* Re-enumeration: same VID and serial, a listed PID. */
	if (a->n_allow_pid == 0 || dev == NULL ||
	    pol_devid_parse(a->device_id, &id) != POL_OK || id.unknown)
		return POL_RANK_NONE;
	if (dev->vid != id.vid || !pid_listed(a, dev->pid))
		return POL_RANK_NONE;
	if (id.serial[0] == '\0') {
		if (any_port || dev->serial[0] != '\0')
			return POL_RANK_NONE;
	} else {
		struct pol_device tmp;
		char cur[POL_DEVID_MAX + 1];
		struct pol_devid curid;

		/* Compare serials as they appear in device ids. */
		tmp = *dev;
		tmp.n_ifaces = 0;
		if (pol_device_id(&tmp, cur, sizeof(cur)) < 0 ||
		    pol_devid_parse(cur, &curid) != POL_OK ||
		    strcmp(curid.serial, id.serial) != 0)
			return POL_RANK_NONE;
	}
	return POL_RANK_REENUM;
}
