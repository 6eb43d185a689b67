/*
 * ring.c - a lock-free single-producer single-consumer ring of 16-bit samples in caller memory.
 *
 * Invariants: the capacity is a power of two; head (written only by the producer) and tail
 * (written only by the consumer) count samples since init and wrap modulo 2^64, so head - tail is
 * the fill level and never exceeds the capacity.  The producer publishes samples with a release
 * store of head after copying them; the consumer acquires head before copying and releases tail
 * after, so neither side ever reads a slot the other is still writing.  No locks, no allocation.
 */
#include <stdatomic.h>
#include <string.h>

#include "port.h"

struct est_ring {
    _Alignas(64) atomic_uint_fast64_t head; /* samples written (producer) */
    _Alignas(64) atomic_uint_fast64_t tail; /* samples read (consumer) */
    _Alignas(64) size_t cap;                /* power of two */
    int16_t *buf;                           /* (cap) */
};

static size_t pow2_at_least(size_t n) {
    size_t c = 1;
    while (c < n) {
        if (c > ((size_t)-1 >> 2)) return 0;
        c <<= 1;
    }
    return c;
}

size_t est_ring_mem_size(size_t n_samples) {
    size_t cap = pow2_at_least(n_samples ? n_samples : 1);
    if (!cap || cap > ((size_t)-1 - sizeof(est_ring) - 2 * EST_ALIGN) / sizeof(int16_t)) return 0;
    return sizeof(est_ring) + EST_ALIGN + cap * sizeof(int16_t);
}

est_ring *est_ring_init(void *mem, size_t mem_size, size_t n_samples) {
    size_t need = est_ring_mem_size(n_samples);
    if (!mem || !need || mem_size < need) return NULL;
    uintptr_t p = ((uintptr_t)mem + (EST_ALIGN - 1)) & ~(uintptr_t)(EST_ALIGN - 1);
    if (p - (uintptr_t)mem + sizeof(est_ring) + pow2_at_least(n_samples ? n_samples : 1) * sizeof(int16_t) >
        mem_size)
        return NULL;
    est_ring *r = (est_ring *)p;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->cap = pow2_at_least(n_samples ? n_samples : 1);
    r->buf = (int16_t *)(r + 1);
    return r;
}

size_t est_ring_capacity(const est_ring *r) { return r->cap; }

size_t est_ring_available(est_ring *r) {
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    return (size_t)(h - t);
}

/* Producer: copy up to n samples in (two memcpy across the wrap), publish them. */
size_t est_ring_write(est_ring *r, const int16_t *src, size_t n) {
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t room = r->cap - (size_t)(h - t);
    if (n > room) n = room;
    size_t at = (size_t)h & (r->cap - 1);
    size_t first = r->cap - at < n ? r->cap - at : n;
    memcpy(r->buf + at, src, first * sizeof(int16_t));
    memcpy(r->buf, src + first, (n - first) * sizeof(int16_t));
    atomic_store_explicit(&r->head, h + n, memory_order_release);
    return n;
}

/* Consumer: copy up to max samples out, then release their slots. */
size_t est_ring_read(est_ring *r, int16_t *dst, size_t max) {
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t n = (size_t)(h - t);
    if (n > max) n = max;
    size_t at = (size_t)t & (r->cap - 1);
    size_t first = r->cap - at < n ? r->cap - at : n;
    memcpy(dst, r->buf + at, first * sizeof(int16_t));
    memcpy(dst + first, r->buf, (n - first) * sizeof(int16_t));
    atomic_store_explicit(&r->tail, t + n, memory_order_release);
    return n;
}
