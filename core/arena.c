/*
 * arena.c - the one memory block of a handle: long-lived reservations from the bottom, per-call
 * scratch from the top (stb_vorbis style).  A measuring arena runs the same reservation calls
 * without memory, so planning and placing cannot drift.  Never allocates.
 */
#include "internal.h"

#define MEASURE_CAP (SIZE_MAX / 4)

static uint8_t empty_block[EST_ALIGN] __attribute__((aligned(EST_ALIGN)));

static size_t align_up(size_t n) { return (n + (EST_ALIGN - 1)) & ~(size_t)(EST_ALIGN - 1); }

void est_arena_init(est_arena *a, void *mem, size_t size) {
    uintptr_t p = (uintptr_t)mem;
    uintptr_t q = (p + (EST_ALIGN - 1)) & ~(uintptr_t)(EST_ALIGN - 1);
    size_t skip = (size_t)(q - p);
    a->base = (uint8_t *)q;
    a->cap = (mem && size > skip) ? ((size - skip) & ~(size_t)(EST_ALIGN - 1)) : 0;
    a->lo = a->hi = a->high_water = 0;
    if (!mem) a->base = empty_block; /* a placing arena with no room */
}

void est_arena_init_measure(est_arena *a) {
    a->base = NULL;
    a->cap = MEASURE_CAP;
    a->lo = a->hi = a->high_water = 0;
}

/* Common bookkeeping: room for n more bytes (aligned) on one end? */
static int reserve(est_arena *a, size_t n, size_t *at, int top) {
    size_t need = align_up(n);
    if (need < n) return EDGESTT_E_NOMEM;
    size_t used;
    if (!est_add(a->lo, a->hi, &used) || used > a->cap || need > a->cap - used) return EDGESTT_E_NOMEM;
    if (top) {
        a->hi += need;
        *at = a->cap - a->hi;
    } else {
        *at = a->lo;
        a->lo += need;
    }
    if (a->lo + a->hi > a->high_water) a->high_water = a->lo + a->hi;
    return EDGESTT_OK;
}

int est_arena_alloc(est_arena *a, size_t n, void **out) {
    size_t at;
    *out = NULL;
    int st = reserve(a, n, &at, 0);
    if (st) return st;
    if (a->base) {
        *out = a->base + at;
        memset(*out, 0, n);
    }
    return EDGESTT_OK;
}

int est_arena_array(est_arena *a, size_t count, size_t elem, void **out) {
    size_t n;
    *out = NULL;
    if (!est_mul(count, elem, &n)) return EDGESTT_E_NOMEM;
    return est_arena_alloc(a, n, out);
}

int est_arena_scratch(est_arena *a, size_t n, void **out) {
    size_t at;
    *out = NULL;
    int st = reserve(a, n, &at, 1);
    if (st) return st;
    if (a->base) *out = a->base + at;
    return EDGESTT_OK;
}

size_t est_arena_required(const est_arena *a) {
    /* A caller buffer may start anywhere: allow EST_ALIGN - 1 bytes to align its start. */
    return a->high_water + (EST_ALIGN - 1);
}
