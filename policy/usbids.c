/*
 * usbids.c: usb.ids parser and index (see usbids.h).
 *
 * The file layout (from usbutils): vendor lines "VVVV  name", product lines
 * "\tPPPP  name" under a vendor, class lines "C CC  name", subclass lines
 * "\tSS  name" and protocol lines "\t\tPP  name" under a class. Other
 * sections (AT, HID, R, BIAS, PHY, HUT, L, HCC, VT) start with a keyword and
 * are skipped. Malformed lines are skipped too: the file is data, not code,
 * and one bad line must not cost all the names.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ident.h"
#include "pol_error.h"
#include "pol_file.h"
#include "usbids.h"

struct ids_entry {
	uint32_t key;
	const char *name;
};

struct pol_usbids {
	char *text;			/* the file, lines NUL-terminated */
	struct ids_entry *vendors;	/* key = vid */
	struct ids_entry *products;	/* key = vid << 16 | pid */
	struct ids_entry *classes;	/* key = level << 24 | cls << 16 | sub << 8 | proto */
	size_t n_vendors, n_products, n_classes;
};

#define USBIDS_MAX_SIZE	(16u << 20)	/* refuse absurd files */

/* Parse n hex digits followed by two spaces; returns value or -1. */
static long
hexfield(const char *s, int n, const char **name)
{
	long v = 0;
	int i, d;

	for (i = 0; i < n; i++) {
		if ((d = ident_hexval((unsigned char)s[i])) < 0)
			return -1;
		v = v * 16 + d;
	}
	if (s[n] != ' ' || s[n + 1] != ' ' || s[n + 2] == '\0')
		return -1;
	*name = s + n + 2;
	return v;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct ids_entry *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/* An empty section leaves its array NULL: qsort must not see it. */
static void
sort_entries(struct ids_entry *arr, size_t n)
{
	if (n > 0)
		qsort(arr, n, sizeof(*arr), entry_cmp);
}

static int
push(struct ids_entry **arr, size_t *n, size_t *cap, uint32_t key,
    const char *name)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct ids_entry *na = realloc(*arr, ncap * sizeof(**arr));

		if (na == NULL)
			return POL_E_NOMEM;
		*arr = na;
		*cap = ncap;
	}
	(*arr)[*n].key = key;
	(*arr)[*n].name = name;
	(*n)++;
	return POL_OK;
}

static int
index_text(struct pol_usbids *ids)
{
	enum { NONE, VENDOR, CLASS } ctx = NONE;
	size_t cap_v = 0, cap_p = 0, cap_c = 0;
	long vid = -1, cls = -1, sub = -1, v;
	char *line = ids->text, *nl;
	const char *name;
	int r = POL_OK;

	for (; line != NULL && *line != '\0' && r == POL_OK; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (line[0] == '\t' && line[1] == '\t') {
			if (ctx == CLASS && sub >= 0 &&
			    (v = hexfield(line + 2, 2, &name)) >= 0)
				r = push(&ids->classes, &ids->n_classes,
				    &cap_c, (uint32_t)(3u << 24 | cls << 16 |
				    sub << 8 | v), name);
			continue;	/* vendor interface lines: unused */
		}
		if (line[0] == '\t') {
			if (ctx == VENDOR &&
			    (v = hexfield(line + 1, 4, &name)) >= 0)
				r = push(&ids->products, &ids->n_products,
				    &cap_p, (uint32_t)(vid << 16 | v), name);
			else if (ctx == CLASS &&
			    (v = hexfield(line + 1, 2, &name)) >= 0) {
				sub = v;
				r = push(&ids->classes, &ids->n_classes,
				    &cap_c, (uint32_t)(2u << 24 | cls << 16 |
				    sub << 8), name);
			}
			continue;
		}
		if (line[0] == 'C' && line[1] == ' ' &&
		    (v = hexfield(line + 2, 2, &name)) >= 0) {
			ctx = CLASS;
			cls = v;
			sub = -1;
			r = push(&ids->classes, &ids->n_classes, &cap_c,
			    (uint32_t)(1u << 24 | cls << 16), name);
			continue;
		}
		if ((v = hexfield(line, 4, &name)) >= 0) {
			ctx = VENDOR;
			vid = v;
			r = push(&ids->vendors, &ids->n_vendors, &cap_v,
			    (uint32_t)vid, name);
			continue;
		}
		ctx = NONE;	/* another section */
	}
	if (r != POL_OK)
		return r;
	sort_entries(ids->vendors, ids->n_vendors);
	sort_entries(ids->products, ids->n_products);
	sort_entries(ids->classes, ids->n_classes);
	return POL_OK;
}

int
pol_usbids_load(const char *path, struct pol_usbids **out)
{
	struct pol_usbids *ids;
	char *text;
	size_t got;
	int r;

	*out = NULL;
	if ((r = pol_file_read(path, USBIDS_MAX_SIZE, &text, &got)) != POL_OK)
		return r == POL_E_NOMEM ? r : POL_E_IO;
	if ((ids = calloc(1, sizeof(*ids))) == NULL) {
		free(text);
		return POL_E_NOMEM;
	}
	ids->text = text;
	if ((r = index_text(ids)) != POL_OK) {
		pol_usbids_free(ids);
		return r;
	}
	*out = ids;
	return POL_OK;
}

void
pol_usbids_free(struct pol_usbids *ids)
{
	if (ids == NULL)
		return;
	free(ids->vendors);
	free(ids->products);
	free(ids->classes);
	free(ids->text);
	free(ids);
}

static const char *
find(const struct ids_entry *arr, size_t n, uint32_t key)
{
	struct ids_entry k = { key, NULL };
	const struct ids_entry *e;

	if (arr == NULL)
		return NULL;
	e = bsearch(&k, arr, n, sizeof(*arr), entry_cmp);
	return e ? e->name : NULL;
}

const char *
pol_usbids_vendor(const struct pol_usbids *ids, uint16_t vid)
{
	return ids ? find(ids->vendors, ids->n_vendors, vid) : NULL;
}

const char *
pol_usbids_product(const struct pol_usbids *ids, uint16_t vid, uint16_t pid)
{
	return ids ? find(ids->products, ids->n_products,
	    (uint32_t)vid << 16 | pid) : NULL;
}

const char *
pol_usbids_class(const struct pol_usbids *ids, int cls, int sub, int proto)
{
	uint32_t key;

	if (ids == NULL || cls < 0 || cls > 0xff || sub > 0xff || proto > 0xff)
		return NULL;
	if (sub < 0)
		key = 1u << 24 | (uint32_t)cls << 16;
	else if (proto < 0)
		key = 2u << 24 | (uint32_t)cls << 16 | (uint32_t)sub << 8;
	else
		key = 3u << 24 | (uint32_t)cls << 16 | (uint32_t)sub << 8 |
		    (uint32_t)proto;
	return find(ids->classes, ids->n_classes, key);
}

size_t
pol_usbids_count(const struct pol_usbids *ids)
{
	return ids ? ids->n_vendors + ids->n_products + ids->n_classes : 0;
}

/* The shared, mtime-checked index. */
static struct {
	struct pol_usbids *ids;
	char path[256];
	struct timespec mtime;
	off_t size;
} shared;

static int
same_file(const struct stat *st)
{
	return st->st_mtim.tv_sec == shared.mtime.tv_sec &&
	    st->st_mtim.tv_nsec == shared.mtime.tv_nsec &&
	    st->st_size == shared.size;
}

const struct pol_usbids *
pol_usbids_default(const char *path)
{
	static const char *const std_paths[] = POL_USBIDS_PATHS;
	struct pol_usbids *ids;
	struct stat st;
	const char *p = NULL;
	int i;

	if (path != NULL) {
		if (stat(path, &st) == 0)
			p = path;
	} else {
		for (i = 0; std_paths[i] != NULL; i++)
			if (stat(std_paths[i], &st) == 0) {
				p = std_paths[i];
				break;
			}
	}
	if (p == NULL)
		return shared.ids;	/* file gone: keep what we had */
	if (shared.ids != NULL && strcmp(shared.path, p) == 0 && same_file(&st))
		return shared.ids;
	if (pol_usbids_load(p, &ids) != POL_OK)
		return shared.ids;
	pol_usbids_free(shared.ids);
	shared.ids = ids;
	snprintf(shared.path, sizeof(shared.path), "%s", p);
	shared.mtime = st.st_mtim;
	shared.size = st.st_size;
	return shared.ids;
}

void
pol_usbids_default_reset(void)
{
	pol_usbids_free(shared.ids);
	memset(&shared, 0, sizeof(shared));
}

void
pol_ascii_copy(char *dst, size_t dstsize, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (dstsize == 0)
		return;
	while (*s != '\0' && o + 1 < dstsize) {
		if (*s >= 0x20 && *s <= 0x7e) {
			dst[o++] = (char)*s++;
			continue;
		}
		dst[o++] = '_';
		if (*s >= 0xc0) {	/* skip a UTF-8 sequence's tail */
			s++;
			while (*s >= 0x80 && *s < 0xc0)
				s++;
		} else
			s++;
	}
	dst[o] = '\0';
}
