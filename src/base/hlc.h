/* base/hlc.h - hybrid logical clock (Kulkarni et al., 2014).
 *
 * A stamp is 48 bits of wall-clock milliseconds and a 16-bit logical
 * counter packed into one u64 (t = ms << 16 | counter), plus the issuing
 * node's id to break ties, so stamps order totally and stay close to
 * physical time. Stamps from one clock strictly increase, also when the
 * wall clock goes backwards and across restarts: the clock persists a
 * high-water mark (a reserved window of milliseconds ahead) before issuing
 * any stamp inside it, and a restarted clock starts above that mark.
 * A remote stamp more than max_offset_ms ahead of local wall time is
 * refused (-MDS_ECLOCK) instead of dragging the clock into the future.
 */
#ifndef MDS_BASE_HLC_H
#define MDS_BASE_HLC_H

#include <stdint.h>

struct hlc_stamp {
	uint64_t t;     /* ms << 16 | counter */
	uint32_t node;
};

#define HLC_COUNTER_BITS 16
#define HLC_MS_MAX ((UINT64_C(1) << 48) - 1)

static inline uint64_t hlc_stamp_ms(struct hlc_stamp s) { return s.t >> HLC_COUNTER_BITS; }
static inline uint16_t hlc_stamp_counter(struct hlc_stamp s) { return (uint16_t)s.t; }

/* Total order: by t, then by node id. Returns <0, 0 or >0. */
int hlc_stamp_cmp(struct hlc_stamp a, struct hlc_stamp b);

/* Wall-clock source in milliseconds since the epoch (injectable for tests). */
typedef uint64_t (*hlc_wall_fn)(void *arg);
uint64_t hlc_wall_realtime(void *arg);

struct hlc {
	uint64_t last;           /* t of the last stamp issued or observed */
	uint32_t node;
	uint64_t max_offset_ms;  /* refuse remote stamps further ahead */
	uint64_t window_ms;      /* how far ahead the high-water mark reaches */
	uint64_t hwm_ms;         /* persisted: every issued stamp is below it */
	char *path;              /* high-water mark file; NULL: not persisted */
	hlc_wall_fn wall;
	void *wall_arg;
};

#define HLC_DEFAULT_MAX_OFFSET_MS 500
#define HLC_DEFAULT_WINDOW_MS 10000

/* Opens a clock for node. With a path, loads the high-water mark (a missing
 * file starts fresh; a damaged one is -MDS_ECORRUPT) and resumes above it.
 * wall may be NULL for the real clock. */
int hlc_open(struct hlc *h, uint32_t node, const char *path,
	     hlc_wall_fn wall, void *wall_arg);
void hlc_close(struct hlc *h);

/* A stamp for a local or send event. -MDS_EIO if the mark cannot be saved. */
int hlc_now(struct hlc *h, struct hlc_stamp *out);

/* Merges a received stamp and returns a stamp for the receive event, greater
 * than both the remote stamp and every stamp issued before. */
int hlc_update(struct hlc *h, struct hlc_stamp remote, struct hlc_stamp *out);

#endif
