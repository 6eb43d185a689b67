/*
 * pk_mini.h - pk-mini, the Parakeet test model of tests/test_parakeet.c, for other tests: its GGUF
 * image built in memory (hash weights, the goldens' seed), the goldens of tests/data/parakeet, a WAV.
 */
#ifndef EST_TEST_PK_MINI_H
#define EST_TEST_PK_MINI_H

#include <stddef.h>
#include <stdint.h>

/* pk-mini's GGUF image (TDT, or RNN-T when rnnt), F32 weights, 64-byte aligned, malloc'd; NULL
 * when the golden filter bank is missing.  arch: general.architecture ("parakeet"). */
uint8_t *est_test_pk_mini(int rnnt, const char *arch, size_t *size);
/* Values of key in tests/data/parakeet/pk-mini.txt: the count, or -1. */
int est_test_pk_gold(const char *key, double *out, int cap);
/* Mono 16 kHz samples of a WAV under the test data (malloc'd), NULL if absent. */

#endif
