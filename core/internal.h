/*
 * internal.h - shared internals of core/, models/ and kernels/ (never installed).
 *
 * Invariants: every internal symbol has hidden visibility (EST_HIDDEN) and the est_ prefix plus
 * its module; the public prefix edgestt_ is reserved for edgestt.h.  Code that includes this header
 * uses only <string.h>, <math.h>, <stdint.h>, <stddef.h> (and the compiler's <stdarg.h>); anything
 * that touches the OS goes through port/port.h.
 */
#ifndef EST_INTERNAL_H
#define EST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edgestt.h"

#define EST_HIDDEN __attribute__((visibility("hidden")))
#define EST_ALIGN 64

/* Error paths that stay in release builds (SQLite's ALWAYS/NEVER spirit): a condition that should
 * never happen is still handled as an error, never an abort. */
#define EST_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- overflow-safe size arithmetic ------------------------------------------------------ */
/* Each returns 1 on success, 0 on overflow (then *out is unspecified). */
static inline int est_add(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline int est_mul(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline int est_add_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline int est_mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }
/* 1 if [off, off+len) lies inside a buffer of size total. */
static inline int est_in_bounds(uint64_t off, uint64_t len, uint64_t total) {
    return off <= total && len <= total - off;
}

/* ---- unaligned little-endian loads (model files are untrusted and unaligned) ------------- */
static inline uint16_t est_rd_u16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t est_rd_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t est_rd_u64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline int32_t est_rd_i32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }
static inline float est_rd_f32(const void *p) { float v; memcpy(&v, p, 4); return v; }

/* ---- diagnostics ------------------------------------------------------------------------ */
/* printf-like formatting into d->msg (NULL d is ignored).  Supports %s %.*s %c %d %u %ld %lu
 * %lld %llu %zu %x %llx %%; no floats.  Returns status unchanged, so error paths can write
 *   return est_diag(d, EDGESTT_E_FORMAT, "gguf: tensor '%.*s' ...", ...); */
EST_HIDDEN int est_diag(edgestt_diag *d, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same into any buffer; always NUL-terminates when cap > 0. Returns the length written. */
EST_HIDDEN size_t est_fmt(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- arena: one block, long-lived from the bottom, scratch from the top ------------------- */
/* A measuring arena (base == NULL) only counts: reservations succeed and give NULL pointers, so
 * the planning code that sizes the block is the same code that places it.  Every reservation is
 * EST_ALIGN-aligned and overflow-checked; exhaustion returns EDGESTT_E_NOMEM, never allocates. */
typedef struct est_arena {
    uint8_t *base;      /* NULL while measuring */
    size_t cap;         /* usable bytes from base (SIZE_MAX/2 while measuring) */
    size_t lo;          /* bytes used from the bottom (long-lived) */
    size_t hi;          /* bytes used from the top (scratch) */
    size_t high_water;  /* max of lo + hi ever seen */
} est_arena;

/* Place an arena in [mem, mem+size); mem is aligned up to EST_ALIGN inside the block. */
EST_HIDDEN void est_arena_init(est_arena *a, void *mem, size_t size);
EST_HIDDEN void est_arena_init_measure(est_arena *a);
static inline int est_arena_measuring(const est_arena *a) { return a->base == NULL; }
/* Reserve n bytes from the bottom (zeroed when placing). *out = NULL while measuring. */
EST_HIDDEN int est_arena_alloc(est_arena *a, size_t n, void **out);
/* Reserve count*elem bytes from the bottom, overflow-checked. */
EST_HIDDEN int est_arena_array(est_arena *a, size_t count, size_t elem, void **out);
/* Scratch from the top: reserve, and release everything above a mark. */
EST_HIDDEN int est_arena_scratch(est_arena *a, size_t n, void **out);
static inline size_t est_arena_mark(const est_arena *a) { return a->hi; }
static inline void est_arena_release(est_arena *a, size_t mark) { a->hi = mark; }
/* Bytes a block must have for this arena's usage so far (incl. worst-case alignment slack). */
EST_HIDDEN size_t est_arena_required(const est_arena *a);

/* ---- half precision -------------------------------------------------------------------- */
EST_HIDDEN float est_f16_to_f32(uint16_t h);
EST_HIDDEN uint16_t est_f32_to_f16(float f); /* round to nearest even, as F16C does */

#endif /* EST_INTERNAL_H */
