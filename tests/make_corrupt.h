/*
 * make_corrupt.h - the corrupt-model corpus generator (tests/make_corrupt.c, test code).
 *
 * From one valid model image of either layout it produces damaged images in place, one at a time:
 * the generator patches the caller's writable copy, hands the case to a callback, and restores
 * the bytes before the next case (truncations only shorten the size: bytes [size, full) are not
 * part of the image, and the callback should make them unreadable, e.g. ASan poisoning).
 * Each case says what opening it must give: an error (optionally a specific status and a diag
 * substring), success (damage in tensor data only: opening touches no tensor data), or either.
 */
#ifndef EST_MAKE_CORRUPT_H
#define EST_MAKE_CORRUPT_H

#include <stddef.h>
#include <stdint.h>

enum {
    EST_CORRUPT_FAIL = 0, /* an error status with a non-empty diag */
    EST_CORRUPT_OK = 1,   /* must open (the damage is in tensor data only) */
    EST_CORRUPT_ANY = 2   /* either; still no crash, consistent status and diag */
};

/* Families of damage (bit mask). */
enum {
    EST_CORRUPT_TRUNC = 1 << 0,   /* truncation at every section boundary and at seeded offsets */
    EST_CORRUPT_FLIP = 1 << 1,    /* bit flips in the header, dims, offsets, tensor data */
    EST_CORRUPT_ABSURD = 1 << 2,  /* hyper-parameters, head counts, dims, n_dims: 0, -1, 2^31, ... */
    EST_CORRUPT_TYPES = 1 << 3,   /* unknown and wrong tensor types */
    EST_CORRUPT_NAMES = 1 << 4,   /* duplicate, unknown and past-the-layers tensor names */
    EST_CORRUPT_ALIGN = 1 << 5,   /* GGUF general.alignment not a power of two */
    EST_CORRUPT_STRLEN = 1 << 6,  /* string / name / word lengths and counts past the end */
    EST_CORRUPT_NAN = 1 << 7,     /* NaN / Inf scales in Q8_0 blocks, NaN in F32 tensors */
    EST_CORRUPT_ALL = 0xff
};

typedef struct est_corrupt_case {
    const uint8_t *img;  /* the (patched) image */
    size_t size;         /* bytes of the image (< full for truncations) */
    size_t full;         /* bytes of the buffer */
    int expect;          /* EST_CORRUPT_FAIL / _OK / _ANY */
    int want_status;     /* with FAIL: the exact status when known, else 0 */
    const char *needle;  /* with FAIL: a substring the diag must hold, or NULL */
    char what[160];      /* the damage, for failure messages */
} est_corrupt_case;

/* Called per case; a nonzero return stops the generator. */
typedef int (*est_corrupt_fn)(void *ctx, const est_corrupt_case *c);

/* Run the families in mask over img[size] (a valid model, writable; restored on return).  seed
 * drives the random offsets and bits.  *n_cases gets the number of cases produced.  Returns 0, or
 * -1 if img is not a model the generator can parse. */
int est_corrupt_generate(uint8_t *img, size_t size, unsigned mask, uint64_t seed, est_corrupt_fn fn, void *ctx,
                         size_t *n_cases);

#endif
