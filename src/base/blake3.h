/* base/blake3.h - the BLAKE3 hash, keyed hash and key derivation.
 *
 * An incremental hasher in portable C11, written from the BLAKE3
 * specification. Output matches the official test vectors and b3sum for
 * every input and output length. struct blake3 holds the whole state (about
 * 2 KiB, no heap); blake3_final() does not change it, so a caller may read a
 * digest, update further, and read again. Output is extendable: any length,
 * from any byte offset. No global state; a hasher is not shared between
 * threads without a lock.
 */
#ifndef MDS_BASE_BLAKE3_H
#define MDS_BASE_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE3_OUT_LEN 32     /* default digest length */
#define BLAKE3_KEY_LEN 32
#define BLAKE3_BLOCK_LEN 64
#define BLAKE3_CHUNK_LEN 1024
#define BLAKE3_MAX_DEPTH 54   /* 2^64 bytes of input are 2^54 chunks */

struct blake3 {
	uint32_t key[8];          /* IV, the key, or the derived context key */
	uint32_t cv[8];           /* chaining value of the current chunk */
	uint64_t chunk_counter;   /* index of the current chunk in the input */
	uint8_t block[BLAKE3_BLOCK_LEN]; /* bytes not yet compressed */
	uint8_t block_len;        /* bytes used in block[] */
	uint8_t blocks_done;      /* blocks of this chunk already compressed */
	uint8_t flags;            /* the mode's domain flag, or 0 */
	uint8_t stack_len;
	/* Chaining values of complete subtrees to the left of the current
	 * chunk, largest first: one per set bit of chunk_counter. */
	uint32_t stack[BLAKE3_MAX_DEPTH][8];
};

/* Starts a plain hash. */
void blake3_init(struct blake3 *h);

/* Starts a keyed hash (a MAC) under a 32-byte key. */
void blake3_init_keyed(struct blake3 *h, const uint8_t key[BLAKE3_KEY_LEN]);

/* Starts key derivation: the input fed afterwards is the key material, the
 * NUL-terminated context should be a hardcoded, globally unique string. */
void blake3_init_derive_key(struct blake3 *h, const char *context);

void blake3_update(struct blake3 *h, const void *data, size_t len);

/* Writes out_len bytes of output (any length; the first 32 are the digest).
 * The state is left unchanged. */
void blake3_final(const struct blake3 *h, uint8_t *out, size_t out_len);

/* Writes out_len bytes of the output stream starting at byte offset. */
void blake3_final_seek(const struct blake3 *h, uint64_t offset, uint8_t *out,
                       size_t out_len);

/* The 32-byte plain hash of one buffer. */
void blake3_hash(const void *data, size_t len, uint8_t out[BLAKE3_OUT_LEN]);

#endif
