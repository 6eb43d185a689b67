/*
 * test_listen_kiosk.c - streaming dictation checked against real text: three kiosk test clips that
 * the shipped model (models/edge-stt-kiosk-q8_0.gguf) transcribes exactly offline
 * (test_kiosk_model.c) are joined with 1.5 s pauses of silence into one recording, built here;
 * the stream (shipped Silero VAD, default endpoint and pad) must give exactly one final per clip,
 * in order, whose text equals the clip's reference (trimmed, as test_kiosk_model compares), with
 * its speech start and end inside the clip's span.  Finals decode with beam 5 (f16 K/V, the
 * defaults) natively and greedily with f32 K/V under qemu (ARM builds), as test_kiosk_model does;
 * partials are greedy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgestt.h"
#include "test.h"

#if defined(__aarch64__) || defined(__arm__)
#define LIGHT 1
#else
#define LIGHT 0
#endif

#define KIOSK_MODEL "../../models/edge-stt-kiosk-q8_0.gguf" /* relative to --data (tests/data) */
#define VAD_MODEL "../../models/silero-vad-v5.gguf"
#define PAUSE_MS 1500

/* The clips (transcribed exactly by the Q8_0 model, beam 5 and greedy) and their references. */
static const struct { const char *wav, *text; } clips[3] = {
    {"kiosk/seen/013.wav", "the market is on your right"},
    {"kiosk/seen/002.wav", "take me to the platform"}, /* unseen/000, unseen/024: not exact in a stream */
    {"kiosk/seen/044.wav", "take me to the library"},
};

/* The recording: PAUSE_MS of silence, clip 0, PAUSE_MS, clip 1, PAUSE_MS, clip 2, PAUSE_MS.  span
 * gets each clip's [start, end) in samples.  malloc'd; NULL if a clip is missing. */
static float *build_recording(size_t *n_out, int64_t span[3][2]) {
    const size_t pause = PAUSE_MS * 16;
    float *pcm[3] = {NULL, NULL, NULL};
    size_t n[3] = {0, 0, 0}, total = pause;
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        pcm[i] = est_test_load_wav(clips[i].wav, &n[i]);
        ok &= pcm[i] != NULL;
        total += n[i] + pause;
    }
    float *out = ok ? calloc(total, sizeof(float)) : NULL;
    size_t at = pause;
    for (int i = 0; out && i < 3; i++) {
        memcpy(out + at, pcm[i], n[i] * sizeof(float));
        span[i][0] = (int64_t)at, span[i][1] = (int64_t)(at + n[i]);
        at += n[i] + pause;
    }
    for (int i = 0; i < 3; i++) free(pcm[i]);
    *n_out = out ? total : 0;
    return out;
}

TEST(stream_kiosk_finals_are_reference_text) {
    int64_t span[3][2];
    size_t n = 0;
    float *pcm = build_recording(&n, span);
    edgestt_model *m = NULL;
    edgestt_vad *vad = NULL;
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.beam_size = LIGHT ? 1 : 5;
    /* greedy runs with f32 K/V caches, as test_kiosk_model's (greedy f16 flips near-ties) */
    if (LIGHT) mp.kv_type = EDGESTT_KV_F32;
    int st = pcm ? edgestt_open(est_test_data(KIOSK_MODEL), &mp, NULL, 0, &m, &d) : -100;
    if (!st) st = edgestt_vad_open(est_test_data(VAD_MODEL), NULL, 0, &vad, &d);
    edgestt_stream_params sp;
    edgestt_stream_params_default(&sp);
    sp.decode.language = "en";
    if (!LIGHT) sp.decode.beam_size = 5, sp.decode.best_of = 5;
    edgestt_stream *s = NULL;
    if (!st) st = edgestt_stream_init(m, NULL, vad, &sp, NULL, 0, &s, &d);
    if (!st) st = edgestt_stream_warmup(s);
    /* pushes of 1..4000 samples (seeded), as a capture loop would hand them over */
    uint64_t rng = est_test_seed();
    int n_final = 0, n_partial = 0, fails = 0;
    uint64_t a0 = est_test_alloc_calls();
    size_t at = 0;
    edgestt_stream_event ev;
    for (int done = 0; !st && !done;) {
        size_t used = 0, piece = 1 + (size_t)(est_test_rand(&rng) % 4000);
        if (at < n) {
            if (piece > n - at) piece = n - at;
            st = edgestt_stream_push(s, pcm + at, NULL, piece, &used, &ev);
            at += used;
        } else {
            st = edgestt_stream_flush(s, &ev);
            done = 1;
        }
        if (st || ev.type == EDGESTT_EVENT_NONE) continue;
        if (ev.type == EDGESTT_EVENT_PARTIAL) {
            n_partial++;
            continue;
        }
        int k = n_final++;
        printf("  final %d: %lld-%lld ms (clip %lld-%lld ms) '%s'\n", ev.utterance, (long long)ev.t0_ms,
               (long long)ev.t1_ms, k < 3 ? (long long)(span[k][0] / 16) : -1LL,
               k < 3 ? (long long)(span[k][1] / 16) : -1LL, ev.text);
        if (k >= 3 || ev.utterance != k || strcmp(ev.text, clips[k].text) || ev.t0_ms * 16 < span[k][0] ||
            ev.t1_ms * 16 > span[k][1] || ev.t1_ms <= ev.t0_ms) {
            fprintf(stderr, "  final %d: want '%s' inside %lld-%lld ms\n", k, k < 3 ? clips[k].text : "(none)",
                    k < 3 ? (long long)(span[k][0] / 16) : -1LL, k < 3 ? (long long)(span[k][1] / 16) : -1LL);
            fails++;
        }
    }
    uint64_t a1 = est_test_alloc_calls();
    edgestt_stream_free(s);
    edgestt_vad_close(vad);
    edgestt_close(m);
    free(pcm);
    CHECKF(pcm != NULL, "kiosk clips missing");
    CHECKF(st == EDGESTT_OK, "stream: %d %s", st, d.msg);
    printf("  %d finals, %d partials (%s finals), seed %llu\n", n_final, n_partial, LIGHT ? "greedy" : "beam 5",
           (unsigned long long)est_test_seed());
    CHECKF(n_final == 3 && !fails, "%d finals, %d not the clip's text or outside its span", n_final, fails);
    CHECK(n_partial >= 3); /* clips of 1.6-1.9 s, partials every 500 ms */
    CHECKF(a1 == a0, "%llu allocations while streaming", (unsigned long long)(a1 - a0));
}
