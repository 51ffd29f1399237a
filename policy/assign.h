/*
 * assign.h: persistent device assignments (Qubes R4.3 semantics).
 *
 * Owns the assignment list of dom0 and its file. An assignment says "this
 * device goes to this VM": it matches by port (BACKEND:BUSID), by identity
 * (device_id) or by both, and has a mode:
 *   auto-attach    attach when the device appears or the VM starts/resumes;
 *   ask-to-attach  the same, after the person said yes (ask command);
 *   required       like auto-attach; a missing device is reported when
 *                  the VM starts.
 * Manual attachments are not assignments and are never stored.
 *
 * Re-enumeration: an identity assignment may list extra product IDs
 * (allow-pid) that the same physical device uses in another mode, e.g. a
 * bootloader for firmware updates. Such a device matches if its VID and
 * its (non-empty) serial equal the assigned ones and its PID is listed;
 * its interfaces may differ. With an empty assigned serial the port must
 * be assigned too, otherwise any device of that vendor would match.
 *
 * The file ("assignments" in the state directory) is replaced atomically:
 * written to FILE.tmp, fsync'd, renamed over FILE, and the directory
 * fsync'd. Loading is tolerant: a line that does not parse, or the last
 * line if it lacks its newline (a torn write from another tool), is
 * dropped with a diagnostic and the rest is kept.
 */
#ifndef USBGATE_POL_ASSIGN_H
#define USBGATE_POL_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "rules.h"

#define POL_ASSIGN_ANY		"*"
#define POL_ALLOW_PID_MAX	8
#define POL_ASSIGN_MAX		4096	/* entries per store */

enum pol_assign_mode {
	POL_MODE_MANUAL = 0,	/* never stored; for attach -p bookkeeping */
	POL_MODE_AUTO = 1,
	POL_MODE_ASK = 2,
	POL_MODE_REQUIRED = 3,
};

const char *pol_assign_mode_name(enum pol_assign_mode mode);
/* Returns the mode or a negative pol_error. */
int pol_assign_mode_parse(const char *s);

struct pol_assign {
	char vm[POL_NAME_MAX + 1];
	char backend[POL_NAME_MAX + 1];
	char port[POL_BUSID_MAX + 1];		/* busid or "*" */
	char device_id[POL_DEVID_MAX + 1];	/* device_id or "*" */
	enum pol_assign_mode mode;
	int n_allow_pid;
	uint16_t allow_pid[POL_ALLOW_PID_MAX];
};

struct pol_assign_store {
	struct pol_assign *a;
	size_t n, cap;
	char path[4096];
};

/* Match ranks: higher is more specific (Qubes: port+id > port > id). */
enum pol_assign_rank {
	POL_RANK_NONE = 0,
	POL_RANK_REENUM = 1,	/* identity via allow-pid */
	POL_RANK_ID = 2,
	POL_RANK_PORT = 3,
	POL_RANK_BOTH = 4,
};

/* Check an assignment; msg gets a reason. Returns POL_OK or POL_E_VALUE. */
int pol_assign_validate(const struct pol_assign *a, char *msg, size_t size);

/* One line of the file (no newline) / its parser. */
int pol_assign_format(const struct pol_assign *a, char *buf, size_t size);
int pol_assign_parse_line(const char *line, struct pol_assign *out,
    char *msg, size_t msgsize);

void pol_assign_init(struct pol_assign_store *st, const char *path);
void pol_assign_free(struct pol_assign_store *st);

/*
 * Load st->path. A missing file is an empty store (POL_OK). Dropped lines
 * are reported in dg and counted in the return value (> 0), so a daemon can
 * rewrite a clean file.
 */
int pol_assign_load(struct pol_assign_store *st, struct pol_diags *dg);

/* Write st->path atomically. */
int pol_assign_save(const struct pol_assign_store *st);

/*
 * Add a (validated) assignment. An existing one with the same VM, backend,
 * port and device_id is updated in place (mode, allow-pid).
 */
int pol_assign_add(struct pol_assign_store *st, const struct pol_assign *a);

/*
 * Remove assignments of vm; NULL backend/port/device_id match any value,
 * otherwise the stored value must be equal ("*" matches only "*").
 * Returns how many were removed.
 */
int pol_assign_remove(struct pol_assign_store *st, const char *vm,
    const char *backend, const char *port, const char *device_id);

/*
 * How well a matches a device plugged at backend:busid whose device_id is
 * devid (dev gives VID, PID and serial for the re-enumeration rule).
 */
enum pol_assign_rank pol_assign_rank(const struct pol_assign *a,
    const char *backend, const char *busid, const char *devid,
    const struct pol_device *dev);

/*
 * Test hook for crash tests: called at each step of pol_assign_save()
 * (stage 0 after each line written to the temporary file, 1 before fsync,
 * 2 before rename, 3 after rename). NULL in production.
 */
extern void (*pol_assign_save_hook)(int stage);

#endif
