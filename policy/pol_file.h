/*
 * pol_file.h: reading one of the policy library's files (rules, usb.ids,
 * the assignment store) whole, with the checks every reader needs: a
 * regular file, a size cap, a NUL-terminated copy.
 */
#ifndef USBGATE_POL_FILE_H
#define USBGATE_POL_FILE_H

#include <stddef.h>

/*
 * Read path (at most max bytes) into *text (malloc'd, NUL-terminated,
 * free() it); *len gets the bytes read. Returns POL_OK, POL_E_NOTFOUND
 * (no such file), POL_E_IO (errno kept; EINVAL: not a regular file,
 * EFBIG: over max) or POL_E_NOMEM.
 */
int pol_file_read(const char *path, size_t max, char **text, size_t *len);

#endif
