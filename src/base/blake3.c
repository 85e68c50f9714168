/* base/blake3.c - BLAKE3, from the specification.
 *
 * The input is split into 1024-byte chunks, each hashed as a chain of
 * 64-byte blocks; the chunks' chaining values are the leaves of a binary
 * tree whose parent nodes compress the concatenation of two children. The
 * last node compressed, with the ROOT flag, gives the output: its output
 * block counter is incremented for each further 64 bytes.
 *
 * A block is compressed only once it is known not to be the input's last,
 * since the last block of the last chunk may be the root. So a full block
 * stays buffered in struct blake3 until more input arrives.
 */
#include "base/blake3.h"

#include <string.h>

enum {
	CHUNK_START = 1 << 0,
	CHUNK_END = 1 << 1,
	PARENT = 1 << 2,
	ROOT = 1 << 3,
	KEYED_HASH = 1 << 4,
	DERIVE_KEY_CONTEXT = 1 << 5,
	DERIVE_KEY_MATERIAL = 1 << 6,
};

/* Whole chunks hashed side by side by hash_chunks(): 8 measured fastest
 * with SSE2 (4 lanes a register, two registers of independent work). */
#define LANES 8

static const uint32_t IV[8] = {
	0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
	0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
};

/* Message word order of each of the 7 rounds: round 0 takes the words in
 * order, each later round applies the permutation
 * 2 6 3 10 7 0 4 13 1 11 12 5 9 14 15 8 to the previous round's order. */
static const uint8_t SCHEDULE[7][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8 },
	{ 3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1 },
	{ 10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6 },
	{ 12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4 },
	{ 9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7 },
	{ 11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13 },
};

static inline uint32_t load32(const uint8_t *p)
{
	/* gcc and clang compile this to one load on little-endian machines. */
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void store32(uint8_t *p, uint32_t w)
{
	p[0] = (uint8_t)w;
	p[1] = (uint8_t)(w >> 8);
	p[2] = (uint8_t)(w >> 16);
	p[3] = (uint8_t)(w >> 24);
}

static inline uint32_t ror32(uint32_t w, unsigned n)
{
	return w >> n | w << (32 - n);
}

static inline void load_block(uint32_t m[16], const uint8_t *block)
{
	for (int i = 0; i < 16; i++)
		m[i] = load32(block + 4 * i);
}

/* The quarter-round on state words a, b, c, d with message words x, y. */
#define G(a, b, c, d, x, y)                                                    \
	do {                                                                   \
		a += b + (x);                                                  \
		d = ror32(d ^ a, 16);                                          \
		c += d;                                                        \
		b = ror32(b ^ c, 12);                                          \
		a += b + (y);                                                  \
		d = ror32(d ^ a, 8);                                           \
		c += d;                                                        \
		b = ror32(b ^ c, 7);                                           \
	} while (0)

/* A round mixes the columns of the 4x4 state, then its diagonals. */
#define ROUND(r, M)                                                            \
	do {                                                                   \
		const uint8_t *s = SCHEDULE[r];                                \
		G(v0, v4, v8, v12, M(s[0]), M(s[1]));                          \
		G(v1, v5, v9, v13, M(s[2]), M(s[3]));                          \
		G(v2, v6, v10, v14, M(s[4]), M(s[5]));                         \
		G(v3, v7, v11, v15, M(s[6]), M(s[7]));                         \
		G(v0, v5, v10, v15, M(s[8]), M(s[9]));                         \
		G(v1, v6, v11, v12, M(s[10]), M(s[11]));                       \
		G(v2, v7, v8, v13, M(s[12]), M(s[13]));                        \
		G(v3, v4, v9, v14, M(s[14]), M(s[15]));                        \
	} while (0)

#define ROUNDS(M)                                                              \
	do {                                                                   \
		ROUND(0, M);                                                   \
		ROUND(1, M);                                                   \
		ROUND(2, M);                                                   \
		ROUND(3, M);                                                   \
		ROUND(4, M);                                                   \
		ROUND(5, M);                                                   \
		ROUND(6, M);                                                   \
	} while (0)

/* The compression function's state: the chaining value, four words of
 * the IV, the 64-bit counter, the block length and the flags. */
#define COMPRESS_START(cv, counter, block_len, flags)                          \
	uint32_t v0 = cv[0], v1 = cv[1], v2 = cv[2], v3 = cv[3];               \
	uint32_t v4 = cv[4], v5 = cv[5], v6 = cv[6], v7 = cv[7];               \
	uint32_t v8 = IV[0], v9 = IV[1], v10 = IV[2], v11 = IV[3];             \
	uint32_t v12 = (uint32_t)(counter);                                    \
	uint32_t v13 = (uint32_t)((uint64_t)(counter) >> 32);                  \
	uint32_t v14 = (block_len), v15 = (flags)

#define MSG(i) m[i]

/* Compresses a block into the chaining value cv, in place. */
static void compress_cv(uint32_t cv[8], const uint32_t m[16], uint64_t counter,
                        uint32_t block_len, uint32_t flags)
{
	COMPRESS_START(cv, counter, block_len, flags);
	ROUNDS(MSG);
	cv[0] = v0 ^ v8;
	cv[1] = v1 ^ v9;
	cv[2] = v2 ^ v10;
	cv[3] = v3 ^ v11;
	cv[4] = v4 ^ v12;
	cv[5] = v5 ^ v13;
	cv[6] = v6 ^ v14;
	cv[7] = v7 ^ v15;
}

/* Compresses a block for all 16 output words, as the root does: the
 * second half is the final state's second half xor the input cv. */
static void compress_xof(const uint32_t cv[8], const uint32_t m[16],
                         uint64_t counter, uint32_t block_len, uint32_t flags,
                         uint32_t out[16])
{
	COMPRESS_START(cv, counter, block_len, flags);
	ROUNDS(MSG);
	out[0] = v0 ^ v8;
	out[1] = v1 ^ v9;
	out[2] = v2 ^ v10;
	out[3] = v3 ^ v11;
	out[4] = v4 ^ v12;
	out[5] = v5 ^ v13;
	out[6] = v6 ^ v14;
	out[7] = v7 ^ v15;
	out[8] = v8 ^ cv[0];
	out[9] = v9 ^ cv[1];
	out[10] = v10 ^ cv[2];
	out[11] = v11 ^ cv[3];
	out[12] = v12 ^ cv[4];
	out[13] = v13 ^ cv[5];
	out[14] = v14 ^ cv[6];
	out[15] = v15 ^ cv[7];
}

/* The chaining value of one whole chunk that is not the root. */
static void hash_chunk(const uint32_t key[8], const uint8_t *chunk,
                       uint64_t counter, uint32_t flags, uint32_t cv[8])
{
	uint32_t m[16];

	memcpy(cv, key, 32);
	for (int b = 0; b < BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN; b++) {
		uint32_t f = flags;
		if (b == 0)
			f |= CHUNK_START;
		if (b == BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN - 1)
			f |= CHUNK_END;
		load_block(m, chunk + b * BLAKE3_BLOCK_LEN);
		compress_cv(cv, m, counter, BLAKE3_BLOCK_LEN, f);
	}
}

/* The chaining values of LANES consecutive whole chunks, none the root.
 * Each state word is an array over the chunks, and the rounds run inside a
 * loop over them that the compiler turns into SIMD instructions (SSE2 on
 * x86-64 at -O2): the chunks are independent, so this is the wide
 * parallelism BLAKE3's tree was made for, in plain C. */
static void hash_chunks(const uint32_t key[8], const uint8_t *in,
                        uint64_t counter, uint32_t flags,
                        uint32_t cvs[LANES][8])
{
	uint32_t cv[8][LANES], m[16][LANES], lo[LANES], hi[LANES];

	for (int l = 0; l < LANES; l++) {
		for (int i = 0; i < 8; i++)
			cv[i][l] = key[i];
		lo[l] = (uint32_t)(counter + (uint64_t)l);
		hi[l] = (uint32_t)((counter + (uint64_t)l) >> 32);
	}
	for (int b = 0; b < BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN; b++) {
		uint32_t f = flags;
		if (b == 0)
			f |= CHUNK_START;
		if (b == BLAKE3_CHUNK_LEN / BLAKE3_BLOCK_LEN - 1)
			f |= CHUNK_END;
		for (int l = 0; l < LANES; l++) {
			const uint8_t *p = in + (size_t)l * BLAKE3_CHUNK_LEN +
			                   (size_t)b * BLAKE3_BLOCK_LEN;
			for (int i = 0; i < 16; i++)
				m[i][l] = load32(p + 4 * i);
		}
		for (int l = 0; l < LANES; l++) {
			uint32_t v0 = cv[0][l], v1 = cv[1][l], v2 = cv[2][l];
			uint32_t v3 = cv[3][l], v4 = cv[4][l], v5 = cv[5][l];
			uint32_t v6 = cv[6][l], v7 = cv[7][l];
			uint32_t v8 = IV[0], v9 = IV[1], v10 = IV[2];
			uint32_t v11 = IV[3], v12 = lo[l], v13 = hi[l];
			uint32_t v14 = BLAKE3_BLOCK_LEN, v15 = f;
#define MSG_LANE(i) m[i][l]
			ROUNDS(MSG_LANE);
#undef MSG_LANE
			cv[0][l] = v0 ^ v8;
			cv[1][l] = v1 ^ v9;
			cv[2][l] = v2 ^ v10;
			cv[3][l] = v3 ^ v11;
			cv[4][l] = v4 ^ v12;
			cv[5][l] = v5 ^ v13;
			cv[6][l] = v6 ^ v14;
			cv[7][l] = v7 ^ v15;
		}
	}
	for (int l = 0; l < LANES; l++)
		for (int i = 0; i < 8; i++)
			cvs[l][i] = cv[i][l];
}

static size_t chunk_len(const struct blake3 *h)
{
	return (size_t)h->blocks_done * BLAKE3_BLOCK_LEN + h->block_len;
}

static void chunk_reset(struct blake3 *h, uint64_t counter)
{
	memcpy(h->cv, h->key, 32);
	h->chunk_counter = counter;
	h->block_len = 0;
	h->blocks_done = 0;
}

static uint32_t chunk_start_flag(const struct blake3 *h)
{
	return h->blocks_done == 0 ? CHUNK_START : 0;
}

/* Ends the current chunk, whose chaining value is cv (clobbered), and
 * starts the next. Each trailing zero bit of the count of chunks done
 * closes a subtree: the value on top of the stack is its left half and cv
 * its right, and their parent's value becomes cv. The count's set bits are
 * the subtrees that remain open, one stack entry each. */
static void chunk_done(struct blake3 *h, uint32_t cv[8])
{
	uint64_t chunks = h->chunk_counter + 1;
	uint32_t m[16];

	while ((chunks & 1) == 0) {
		h->stack_len--;
		memcpy(m, h->stack[h->stack_len], 32);
		memcpy(m + 8, cv, 32);
		memcpy(cv, h->key, 32);
		compress_cv(cv, m, 0, BLAKE3_BLOCK_LEN, PARENT | h->flags);
		chunks >>= 1;
	}
	memcpy(h->stack[h->stack_len], cv, 32);
	h->stack_len++;
	chunk_reset(h, h->chunk_counter + 1);
}

/* Feeds n bytes into the current chunk, which has room for them. The last
 * block (which may be partial) stays buffered. */
static void chunk_absorb(struct blake3 *h, const uint8_t *in, size_t n)
{
	uint32_t m[16];

	if (h->block_len > 0) {
		size_t take = BLAKE3_BLOCK_LEN - h->block_len;
		if (take > n)
			take = n;
		memcpy(h->block + h->block_len, in, take);
		h->block_len += (uint8_t)take;
		in += take;
		n -= take;
		if (n == 0)
			return;
		load_block(m, h->block);
		compress_cv(h->cv, m, h->chunk_counter, BLAKE3_BLOCK_LEN,
		            h->flags | chunk_start_flag(h));
		h->blocks_done++;
		h->block_len = 0;
	}
	while (n > BLAKE3_BLOCK_LEN) {
		load_block(m, in);
		compress_cv(h->cv, m, h->chunk_counter, BLAKE3_BLOCK_LEN,
		            h->flags | chunk_start_flag(h));
		h->blocks_done++;
		in += BLAKE3_BLOCK_LEN;
		n -= BLAKE3_BLOCK_LEN;
	}
	memcpy(h->block, in, n);
	h->block_len = (uint8_t)n;
}

/* Closes the full current chunk (more input follows) and starts the next. */
static void chunk_close(struct blake3 *h)
{
	uint32_t m[16], cv[8];

	memcpy(cv, h->cv, 32);
	load_block(m, h->block);
	compress_cv(cv, m, h->chunk_counter, h->block_len,
	            h->flags | chunk_start_flag(h) | CHUNK_END);
	chunk_done(h, cv);
}

static void init_with(struct blake3 *h, const uint32_t key[8], uint8_t flags)
{
	memcpy(h->key, key, 32);
	h->flags = flags;
	h->stack_len = 0;
	chunk_reset(h, 0);
}

void blake3_init(struct blake3 *h)
{
	init_with(h, IV, 0);
}

void blake3_init_keyed(struct blake3 *h, const uint8_t key[BLAKE3_KEY_LEN])
{
	uint32_t k[8];

	for (int i = 0; i < 8; i++)
		k[i] = load32(key + 4 * i);
	init_with(h, k, KEYED_HASH);
}

void blake3_init_derive_key(struct blake3 *h, const char *context)
{
	uint8_t context_key[BLAKE3_KEY_LEN];

	init_with(h, IV, DERIVE_KEY_CONTEXT);
	blake3_update(h, context, strlen(context));
	blake3_final(h, context_key, sizeof context_key);

	uint32_t k[8];
	for (int i = 0; i < 8; i++)
		k[i] = load32(context_key + 4 * i);
	init_with(h, k, DERIVE_KEY_MATERIAL);
}

void blake3_update(struct blake3 *h, const void *data, size_t len)
{
	const uint8_t *in = data;

	while (len > 0) {
		if (chunk_len(h) == BLAKE3_CHUNK_LEN)
			chunk_close(h);
		if (chunk_len(h) == 0) {
			/* Whole chunks with input after them go straight
			 * from the caller's buffer to the stack. */
			while (len > LANES * BLAKE3_CHUNK_LEN) {
				uint32_t cvs[LANES][8];
				hash_chunks(h->key, in, h->chunk_counter,
				            h->flags, cvs);
				for (int l = 0; l < LANES; l++)
					chunk_done(h, cvs[l]);
				in += LANES * BLAKE3_CHUNK_LEN;
				len -= LANES * BLAKE3_CHUNK_LEN;
			}
			while (len > BLAKE3_CHUNK_LEN) {
				uint32_t cv[8];
				hash_chunk(h->key, in, h->chunk_counter,
				           h->flags, cv);
				chunk_done(h, cv);
				in += BLAKE3_CHUNK_LEN;
				len -= BLAKE3_CHUNK_LEN;
			}
		}
		size_t take = BLAKE3_CHUNK_LEN - chunk_len(h);
		if (take > len)
			take = len;
		chunk_absorb(h, in, take);
		in += take;
		len -= take;
	}
}

/* The last node of the tree, not yet compressed: it yields the root output
 * or, under a parent, a chaining value. */
struct node {
	uint32_t cv[8];
	uint32_t m[16];
	uint64_t counter;
	uint32_t block_len;
	uint32_t flags;
};

void blake3_final_seek(const struct blake3 *h, uint64_t offset, uint8_t *out,
                       size_t out_len)
{
	struct node n;

	memcpy(n.cv, h->cv, 32);
	uint8_t block[BLAKE3_BLOCK_LEN] = { 0 };
	memcpy(block, h->block, h->block_len);
	load_block(n.m, block);
	n.counter = h->chunk_counter;
	n.block_len = h->block_len;
	n.flags = h->flags | chunk_start_flag(h) | CHUNK_END;

	/* The current chunk is the rightmost leaf; fold in the subtrees to
	 * its left, smallest first. */
	for (size_t i = h->stack_len; i-- > 0;) {
		uint32_t right[8];
		memcpy(right, n.cv, 32);
		compress_cv(right, n.m, n.counter, n.block_len, n.flags);
		memcpy(n.m, h->stack[i], 32);
		memcpy(n.m + 8, right, 32);
		memcpy(n.cv, h->key, 32);
		n.counter = 0;
		n.block_len = BLAKE3_BLOCK_LEN;
		n.flags = h->flags | PARENT;
	}

	uint64_t counter = offset / BLAKE3_BLOCK_LEN;
	size_t skip = offset % BLAKE3_BLOCK_LEN;
	while (out_len > 0) {
		uint32_t words[16];
		uint8_t bytes[BLAKE3_BLOCK_LEN];
		compress_xof(n.cv, n.m, counter, n.block_len, n.flags | ROOT,
		             words);
		for (int i = 0; i < 16; i++)
			store32(bytes + 4 * i, words[i]);
		size_t take = BLAKE3_BLOCK_LEN - skip;
		if (take > out_len)
			take = out_len;
		memcpy(out, bytes + skip, take);
		out += take;
		out_len -= take;
		skip = 0;
		counter++;
	}
}

void blake3_final(const struct blake3 *h, uint8_t *out, size_t out_len)
{
	blake3_final_seek(h, 0, out, out_len);
}

void blake3_hash(const void *data, size_t len, uint8_t out[BLAKE3_OUT_LEN])
{
	struct blake3 h;

	blake3_init(&h);
	blake3_update(&h, data, len);
	blake3_final(&h, out, BLAKE3_OUT_LEN);
}
