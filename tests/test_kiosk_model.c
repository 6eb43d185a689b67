/*
 * test_kiosk_model.c - the shipped small model (models/edge-stt-kiosk-q8_0.gguf, issue 6, trained by
 * models/recipe/): held-out test files of tests/data/kiosk transcribe to exactly their reference
 * text (seen and unseen voices), with the program's default decoding (beam 5, fallback, f16 K/V
 * caches) natively, and greedy decoding with f32 K/V caches natively and under qemu (ARM builds,
 * where beam 5 is too slow), and no allocation happens in a transcription.  Greedy decoding runs
 * with f32 K/V because with f16 K/V it flips one near-tie: unseen/024 after "how far is qu" picks
 * 'i' (p 0.500) over 'e' (p 0.505 with f32) and ends as "how far is quick rectreet" -- on every CPU
 * alike (test_isa_transcripts: the f16 caches round identically everywhere); beam 5 with f16 gives
 * the reference text.  (The model transcribes only part of the test set
 * exactly: see models/MODEL_CARD-kiosk.md for its WER.)
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

#define KIOSK_NAME "edge-stt-kiosk"

/* models/NAME relative to the data directory (tests/data). */
static const char *shipped(const char *name) {
    static char path[2][512];
    static int k;
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s", est_test_data("../../models/"));
    size_t l = strlen(path[k]);
    snprintf(path[k] + l, sizeof path[k] - l, "%s", name);
    return path[k];
}

/* Held-out files and their references (tests/data/kiosk/{seen,unseen}.tsv). */
static const struct { const char *wav, *text; } exact[] = {
    {"seen/002.wav", "take me to the platform"},   {"seen/013.wav", "the market is on your right"},
    {"seen/044.wav", "take me to the library"},    {"unseen/000.wav", "turn left at the stand"},
    {"unseen/024.wav", "how far is queen street"}, {"unseen/042.wav", "don't forget the charger"},
};

/* Every listed file with K/V caches kv, beam 5 (the default) or greedy. */
static void check_exact(edgestt_kv_type kv, int greedy) {
    edgestt_model *m = NULL;
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.kv_type = kv;
    CHECKF(edgestt_open(shipped(KIOSK_NAME "-q8_0.gguf"), &mp, NULL, 0, &m, &d) == EDGESTT_OK, "open: %s", d.msg);
    edgestt_full_params p;
    edgestt_full_params_default(&p);
    if (greedy) {
        p.beam_size = 0;
        p.best_of = 1;
    }
    edgestt_state *s = NULL;
    CHECK_ST(edgestt_state_init(m, &p, NULL, 0, &s, &d), EDGESTT_OK);
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        size_t ns = 0;
        char rel[128];
        snprintf(rel, sizeof rel, "kiosk/%s", exact[i].wav);
        float *pcm = est_test_load_wav(rel, &ns);
        CHECKF(pcm != NULL, "%s: cannot read", rel);
        uint64_t allocs = est_test_alloc_calls();
        CHECK_ST(edgestt_transcribe(s, pcm, ns, &p), EDGESTT_OK);
        CHECKF(est_test_alloc_calls() == allocs, "%s: allocator calls in edgestt_transcribe", rel);
        char text[512];
        size_t len;
        CHECK_ST(edgestt_full_text(s, text, sizeof text, &len), EDGESTT_OK);
        /* the decoded text starts with the space token: " word word" */
        CHECKF(text[0] == ' ' && !strcmp(text + 1, exact[i].text), "%s (%s, %s K/V): '%s', reference '%s'", rel,
               greedy ? "greedy" : "beam 5", edgestt_kv_type_name(kv), text, exact[i].text);
        free(pcm);
    }
    edgestt_state_free(s);
    edgestt_close(m);
}

TEST(kiosk_model_exact_transcripts) {
    if (!LIGHT) check_exact(EDGESTT_KV_F16, 0); /* the program's defaults */
    check_exact(EDGESTT_KV_F32, 1);
}
