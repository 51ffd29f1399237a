/*
 * fuzz.h: what the fuzz targets (tests/fuzz/fuzz_*.c) share.
 *
 * Each target defines LLVMFuzzerTestOneInput() and is built twice: with
 * clang's libFuzzer by `make fuzz` (tests/fuzz/run runs it), and with the
 * project's compiler and tests/fuzz/standalone.c by `make check`, which
 * replays the committed corpus and past crashers (tests/fuzz/corpus/NAME,
 * tests/fuzz/regress/NAME). A target reports a bug by crashing: a
 * sanitizer finding, or FUZZ_ASSERT for what an oracle proves.
 */
#ifndef USBGATE_FUZZ_H
#define USBGATE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: oracle failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* A read cursor over the input; past its end every read gives zeros. */
struct fz {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t
fz_u8(struct fz *f)
{
	if (f->left == 0)
		return 0;
	f->left--;
	return *f->p++;
}

static inline uint16_t
fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);

	return (uint16_t)(lo | fz_u8(f) << 8);
}

/* Up to n bytes; *got says how many there were. */
static inline const uint8_t *
fz_bytes(struct fz *f, size_t n, size_t *got)
{
	const uint8_t *p = f->p;

	if (n > f->left)
		n = f->left;
	f->p += n;
	f->left -= n;
	*got = n;
	return p;
}

/*
 * The input of the targets that serve a device to a hostile AppVM
 * (fuzz_iface_filter, fuzz_backend): n_refused (low 3 bits of a byte)
 * and the refused interface numbers, the active configuration value, a
 * byte of host capabilities, a u16 length and the device's raw
 * descriptors (device descriptor then configurations, as usbfs hands them
 * out), then the AppVM's bytes.
 */
struct fuzz_dev {
	uint8_t refused[8];
	int n_refused;
	uint8_t active;
	uint8_t capbits;
	const uint8_t *desc, *guest;
	size_t desc_len, guest_len;
};

/* Returns 0, or -1 for an input the targets skip (see fuzz_util.c). */
int fuzz_dev_parse(const uint8_t *data, size_t size, struct fuzz_dev *d);

/* fuzz_util.c */
/* The input as a NUL-terminated string (malloc'd, caller frees). */
char *fuzz_strdup(const uint8_t *data, size_t size);
/* A memfd holding data, and a path that opens it ("/proc/self/fd/N"). */
int fuzz_memfile(const uint8_t *data, size_t size, char *path,
    size_t pathsize);
/* A non-blocking AF_UNIX stream socketpair. */
int fuzz_socketpair(int fd[2]);
/* Write all of data to a non-blocking fd that the caller keeps drained. */
void fuzz_write(int fd, const void *data, size_t len);
/* Read and throw away whatever fd has now. */
void fuzz_drain(int fd);

#endif
