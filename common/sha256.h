/*
 * sha256.h: SHA-256 (FIPS 180-4) for descriptor hashes.
 * Owns nothing but the caller's context; no allocation, no I/O. Used by
 * ident.c to compute USBGuard-style device hashes, which must be
 * reproducible on dom0 and in sys-usb without pulling a crypto library.
 */
#ifndef USBGATE_SHA256_H
#define USBGATE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN	32
#define SHA256_BLOCK_LEN	64

struct sha256_ctx {
	uint32_t state[8];
	uint64_t bits;			/* message length so far, in bits */
	uint8_t block[SHA256_BLOCK_LEN];
	size_t fill;			/* bytes waiting in block[] */
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest and wipes the context. */
void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_DIGEST_LEN]);
/* One-shot convenience. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

#endif
