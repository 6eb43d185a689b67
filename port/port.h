/*
 * port.h - everything edge-stt needs from the operating system.  A firmware port replaces only
 * the files in port/: file mapping (or reading into a caller buffer where there is no MMU), the one
 * allocation made at open, clocks, a fixed thread pool, CPU feature detection.
 *
 * Nothing here prints or exits; failures come back as edgestt_status codes.
 */
#ifndef EST_PORT_H
#define EST_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"

/* ---- files ------------------------------------------------------------------------------ */
typedef struct est_map {
    const uint8_t *data; /* read-only view of the whole file */
    size_t size;
    int mapped;          /* 1: mmap(MAP_PRIVATE, PROT_READ); 0: not owned (caller memory) */
} est_map;

/* Map a file read-only.  EDGESTT_E_IO with a one-line reason in diag on failure; an empty file maps
 * to data == NULL, size == 0 and succeeds (callers reject it as truncated). */
EST_HIDDEN int est_port_map_file(const char *path, est_map *m, edgestt_diag *diag);
EST_HIDDEN void est_port_unmap(est_map *m);
/* Size of a file without mapping it. */
EST_HIDDEN int est_port_file_size(const char *path, uint64_t *size, edgestt_diag *diag);
/* MMU-less fallback: read the whole file into buf (cap bytes); *size gets its length.
 * EDGESTT_E_NOMEM if the file is larger than cap (nothing useful is left in buf then). */
EST_HIDDEN int est_port_read_file(const char *path, void *buf, size_t cap, size_t *size,
                                  edgestt_diag *diag);

/* ---- the one allocation at open ---------------------------------------------------------- */
EST_HIDDEN void *est_port_alloc(size_t n);   /* NULL on failure; 64-byte aligned */
EST_HIDDEN void est_port_free(void *p);

/* ---- environment ------------------------------------------------------------------------ */
/* getenv, or NULL (firmware ports return NULL). */
EST_HIDDEN const char *est_port_getenv(const char *name);

/* ---- clocks ----------------------------------------------------------------------------- */
EST_HIDDEN uint64_t est_port_now_ns(void);   /* monotonic */

/* ---- process statistics ----------------------------------------------------------------- */
/* Peak resident set size of the process in bytes (0 where the OS cannot tell). */
EST_HIDDEN uint64_t est_port_peak_rss_bytes(void);

/* ---- CPU features ----------------------------------------------------------------------- */
enum {
    EST_CPU_AVX2 = 1u << 0,    /* x86: AVX2 usable (cpuid + OS saves ymm, via xgetbv) */
    EST_CPU_FMA = 1u << 1,
    EST_CPU_F16C = 1u << 2,
    EST_CPU_NEON = 1u << 8,    /* aarch64 ASIMD (always on ARMv8-A) / armv7 NEON */
    EST_CPU_DOTPROD = 1u << 9, /* aarch64 asimddp (sdot/udot) */
    EST_CPU_I8MM = 1u << 10,   /* aarch64 i8mm (smmla) */
    EST_CPU_FPHP = 1u << 11    /* aarch64 half-precision arithmetic */
};
EST_HIDDEN uint32_t est_port_cpu_features(void);

/* ---- thread pool ------------------------------------------------------------------------ */
/* A fixed pool: n_threads - 1 workers created once at init; est_pool_run calls fn(ctx, i, n) for
 * i in [0, n) on all threads (the caller is thread 0) and returns when all are done.  No thread
 * creation or allocation per call.  A pool with n_threads == 1 runs everything on the caller. */
typedef struct est_pool est_pool;
typedef void (*est_pool_fn)(void *ctx, int task, int n_tasks);
/* Bytes the pool needs (placed in the caller's arena). */
EST_HIDDEN size_t est_pool_size(int n_threads);
EST_HIDDEN int est_pool_init(est_pool **out, void *mem, size_t mem_size, int n_threads);
EST_HIDDEN int est_pool_threads(const est_pool *p);
EST_HIDDEN void est_pool_run(est_pool *p, est_pool_fn fn, void *ctx, int n_tasks);
EST_HIDDEN void est_pool_destroy(est_pool *p);

/* ---- sample ring (port/ring.c) ----------------------------------------------------------- */
/* Lock-free single-producer single-consumer ring of int16 samples placed in caller memory: one
 * thread writes, one thread reads, no locks, no allocation.  The capacity is n_samples rounded up
 * to a power of two.  write/read move as many samples as fit / are there and return the count. */
typedef struct est_ring est_ring;
EST_HIDDEN size_t est_ring_mem_size(size_t n_samples);   /* 0 if too large */
EST_HIDDEN est_ring *est_ring_init(void *mem, size_t mem_size, size_t n_samples); /* NULL if short */
EST_HIDDEN size_t est_ring_capacity(const est_ring *r);
EST_HIDDEN size_t est_ring_available(est_ring *r);        /* samples readable now */
EST_HIDDEN size_t est_ring_write(est_ring *r, const int16_t *src, size_t n);  /* producer only */
EST_HIDDEN size_t est_ring_read(est_ring *r, int16_t *dst, size_t max);       /* consumer only */

#endif /* EST_PORT_H */
