/*
 * fuzz_wav.c - libFuzzer harness: the bytes are a WAV (RIFF/RF64/BW64) image.
 *
 * edgestt_wav_parse; on success the info must be self-consistent (channels, rate, container bits,
 * n_samples_16k = ceil(n_frames * 16000 / rate)).  When n_samples_16k <= 10 M: scratch size; a
 * decode into a scratch 64 bytes short (refused with NOMEM: the size has 63 bytes of alignment
 * slack); a decode with a stale info (refused); the real decode from a misaligned scratch, whose
 * samples must all be finite and bounded (inputs are clamped to [-1, 1]; the band-limited
 * resampler may ring a little past that, never far; 16 kHz input stays inside [-1, 1]).
 *
 * Run: build/fuzz/fuzz_wav -max_len=8192 build/fuzz/work/wav tests/fuzz/corpus/wav
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FZ_WAV_MAX_SAMPLES 10000000u

int est_fuzz_wav(const uint8_t *data, size_t size) {
    edgestt_wav_info info;
    edgestt_diag d;
    memset(&d, 0, sizeof d);
    int st = edgestt_wav_parse(data, size, &info, &d);
    est_fuzz_check_status(st, &d);
    if (st) return 0;
    FZ_CHECK(info.channels >= 1 && info.channels <= 64);
    FZ_CHECK(info.sample_rate >= 1000 && info.sample_rate <= 384000);
    FZ_CHECK(info.bits_per_sample == 8 || info.bits_per_sample == 16 || info.bits_per_sample == 24 ||
             info.bits_per_sample == 32 || info.bits_per_sample == 64);
    FZ_CHECK(!info.is_float || info.bits_per_sample >= 32);
    FZ_CHECK(info.n_frames >= 1 && info.n_frames * (uint64_t)info.channels * (uint64_t)(info.bits_per_sample / 8) <= size);
    FZ_CHECK(info.n_samples_16k == (info.n_frames * 16000u + (uint64_t)info.sample_rate - 1) / (uint64_t)info.sample_rate);
    if (info.n_samples_16k > FZ_WAV_MAX_SAMPLES) return 0;
    size_t ss = (size_t)-1;
    FZ_CHECK(edgestt_wav_scratch_size(&info, &ss) == EDGESTT_OK);
    if (ss > EST_FUZZ_MAX_ALLOC) return 0;
    FZ_CHECK(ss == 0 || info.sample_rate != 16000);
    const size_t n = (size_t)info.n_samples_16k;
    float *out = malloc(n * sizeof *out);
    uint8_t *block = ss ? malloc(ss + 64) : NULL;
    if (!out || (ss && !block)) {
        free(out);
        free(block);
        return 0;
    }
    /* the scratch need not be aligned: ss bytes from any start must do */
    void *scratch = block ? block + est_fuzz_hash(data, size < 256 ? size : 256) % 64 : NULL;
    if (ss >= 64) { /* the size includes 63 bytes of alignment slack: 64 fewer can never fit */
        memset(&d, 0, sizeof d);
        st = edgestt_wav_decode(data, size, &info, out, scratch, ss - 64, &d);
        FZ_CHECK(st == EDGESTT_E_NOMEM);
        est_fuzz_check_status(st, &d);
    }
    edgestt_wav_info stale = info;
    stale.n_frames++;
    memset(&d, 0, sizeof d);
    st = edgestt_wav_decode(data, size, &stale, out, scratch, ss, &d);
    FZ_CHECK(st == EDGESTT_E_INVALID_ARG);
    est_fuzz_check_status(st, &d);
    memset(&d, 0, sizeof d);
    st = edgestt_wav_decode(data, size, &info, out, scratch, ss, &d);
    est_fuzz_check_status(st, &d);
    FZ_CHECK(st == EDGESTT_OK);
    if (!st) {
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += !isfinite(out[i]) || fabsf(out[i]) > 4.0f;
        FZ_CHECK(bad == 0);
        if (info.sample_rate == 16000) /* a straight conversion: within [-1, 1] exactly */
            for (size_t i = 0; i < n && !bad; i++) bad += out[i] < -1.0f || out[i] > 1.0f;
        FZ_CHECK(bad == 0);
    }
    free(out);
    free(block);
    return 0;
}

#ifndef EST_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return est_fuzz_wav(data, size); }
#endif
