/*
 * test_vad_maxspeech.c - Silero's max_speech_duration_s (edgestt_vad_params.max_speech_ms) against
 * the NumPy reference (tests/reference/silero_ref.py, golden tests/data/golden/vad_maxspeech.txt):
 * segments exactly as get_speech_timestamps gives them for four cases on jfk.wav and
 * tests/data/vad_pauses.wav (hard cuts with the default min silence; splits at the last silence
 * > 98 ms with a 600 ms min silence, as in a stream), the same number of cuts of each kind through
 * edgestt_vad_feed, padded segments within max_speech_ms, parameter checks; and the stream: an
 * utterance longer than vad.max_speech_ms is finalised at the VAD's cut, the speech after it going
 * on as the next utterance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgestt.h"
#include "test.h"

#define VAD_MODEL "../../models/silero-vad-v5.gguf" /* relative to --data (tests/data) */

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) free(p), p = NULL;
    fclose(f);
    if (p) p[n] = 0, *len = (size_t)n;
    return p;
}

static const char *const cases[4] = {"jfk_1500", "jfk_sil600_3000", "pauses_sil600_3000", "pauses_sil600_2000"};

TEST(vad_max_speech_matches_reference) {
    size_t len, n[2] = {0, 0};
    gold g;
    g.text = (char *)slurp(est_test_data("golden/vad_maxspeech.txt"), &len);
    float *pcm[2] = {est_test_load_wav("jfk.wav", &n[0]), est_test_load_wav("vad_pauses.wav", &n[1])};
    edgestt_vad *v = NULL;
    int st = g.text && pcm[0] && pcm[1] ? edgestt_vad_open(est_test_data(VAD_MODEL), NULL, 0, &v, NULL) : -100;
    int fails = 0, soft_all = 0, hard_all = 0;
    for (int c = 0; !st && c < 4; c++) {
        char key[64];
        double par[3], want[64], cuts[2];
        snprintf(key, sizeof key, "params_%s", cases[c]);
        int okp = gold_get(&g, key, par, 3) == 3;
        snprintf(key, sizeof key, "segments_%s", cases[c]);
        int nw = gold_get(&g, key, want, 64);
        snprintf(key, sizeof key, "cuts_%s", cases[c]);
        int okc = gold_get(&g, key, cuts, 2) == 2;
        if (!okp || !okc || nw < 0 || nw > 64) {
            fprintf(stderr, "  %s: golden incomplete\n", cases[c]);
            fails++;
            continue;
        }
        int k = (int)par[2];
        edgestt_vad_params p;
        edgestt_vad_params_default(&p);
        p.min_silence_ms = (int)par[0];
        p.max_speech_ms = (int)par[1];
        edgestt_vad_segment seg[32];
        size_t ns = 0;
        st = edgestt_vad_set_params(v, &p);
        if (!st) st = edgestt_vad_segments(v, pcm[k], n[k], seg, 32, &ns);
        if (st) break;
        int same = (int)ns * 2 == nw;
        for (size_t i = 0; same && i < ns; i++)
            same = seg[i].start_sample == (int64_t)want[2 * i] && seg[i].end_sample == (int64_t)want[2 * i + 1];
        int64_t longest = 0;
        for (size_t i = 0; i < ns; i++)
            if (seg[i].end_sample - seg[i].start_sample > longest) longest = seg[i].end_sample - seg[i].start_sample;
        /* the cuts through the streaming interface: soft (at an earlier silence) or hard (here) */
        int soft = 0, hard = 0;
        edgestt_vad_reset(v);
        for (size_t at = 0; at + EDGESTT_VAD_WINDOW <= n[k]; at += EDGESTT_VAD_WINDOW) {
            edgestt_vad_event ev;
            if ((st = edgestt_vad_feed(v, pcm[k] + at, &ev)) != 0) break;
            if (ev.ended && ev.cut) {
                soft += ev.end_sample < (int64_t)at, hard += ev.end_sample == (int64_t)at;
                if (!ev.kept || (ev.next_start >= 0 && (ev.next_start <= ev.end_sample || !ev.in_speech))) fails++;
            } else if (ev.cut) {
                fails++;
            }
        }
        printf("  %s (min silence %d, max speech %d ms): %zu segments, longest %lld ms, %d soft / %d hard cuts "
               "(reference %d / %d)\n",
               cases[c], p.min_silence_ms, p.max_speech_ms, ns, (long long)(longest / 16), soft, hard, (int)cuts[0],
               (int)cuts[1]);
        if (!same || soft != (int)cuts[0] || hard != (int)cuts[1] || longest > (int64_t)p.max_speech_ms * 16) {
            fprintf(stderr, "  %s: segments %s the reference\n", cases[c], same ? "equal" : "differ from");
            fails++;
        }
        soft_all += soft, hard_all += hard;
    }
    edgestt_vad_close(v);
    free(pcm[0]);
    free(pcm[1]);
    free(g.text);
    CHECK_ST(st, EDGESTT_OK);
    CHECKF(!fails, "%d cases differ", fails);
    CHECKF(soft_all > 0 && hard_all > 0, "cuts of both kinds exercised: %d soft, %d hard", soft_all, hard_all);
}

TEST(vad_max_speech_params) {
    edgestt_vad *v = NULL;
    int st = edgestt_vad_open(est_test_data(VAD_MODEL), NULL, 0, &v, NULL);
    edgestt_vad_params p, q;
    edgestt_vad_params_default(&p);
    CHECK(p.max_speech_ms == 0);
    q = p;
    q.max_speech_ms = -1;
    int s1 = v ? edgestt_vad_set_params(v, &q) : -100;
    q = p;
    q.max_speech_ms = 5000;
    q.min_silence_ms = 0; /* a cut and an end in one window: refused */
    int s2 = v ? edgestt_vad_set_params(v, &q) : -100;
    q.min_silence_ms = 1;
    int s3 = v ? edgestt_vad_set_params(v, &q) : -100;
    edgestt_vad_close(v);
    CHECK_ST(st, EDGESTT_OK);
    CHECK_ST(s1, EDGESTT_E_INVALID_ARG);
    CHECK_ST(s2, EDGESTT_E_INVALID_ARG);
    CHECK_ST(s3, EDGESTT_OK);
}

/* The stream on vad_pauses.wav with vad.max_speech_ms 2000: its second utterance (3.2-7.5 s, a
 * 0.4 s pause inside) is finalised where the VAD cuts it, exactly at the offline segments' cuts
 * (edgestt_vad_segments with min silence = the endpoint and the same max speech); its audio
 * after the cut is the next utterance; every final within max_speech_ms with its padding. */
TEST(stream_max_speech_finalises) {
    size_t n = 0;
    float *pcm = est_test_load_wav("vad_pauses.wav", &n);
    edgestt_model *m = NULL;
    edgestt_vad *v = NULL;
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.beam_size = 1;
    int st = pcm ? edgestt_open(est_test_model("mini-en-q8_0.gguf"), &mp, NULL, 0, &m, NULL) : -100;
    if (!st) st = edgestt_vad_open(est_test_data(VAD_MODEL), NULL, 0, &v, NULL);
    edgestt_stream_params sp;
    edgestt_stream_params_default(&sp);
    sp.decode.sample_len = 2;
    sp.decode.language = "en";
    sp.partial_ms = 0;
    sp.vad.max_speech_ms = 2000;
    /* offline: the same segmenter over the whole file */
    edgestt_vad_params vp = sp.vad;
    vp.min_silence_ms = sp.endpoint_ms;
    edgestt_vad_segment seg[16];
    size_t ns = 0;
    if (!st) st = edgestt_vad_set_params(v, &vp);
    if (!st) st = edgestt_vad_segments(v, pcm, n, seg, 16, &ns);
    edgestt_stream *s = NULL;
    if (!st) st = edgestt_stream_init(m, NULL, v, &sp, NULL, 0, &s, NULL);
    int64_t t0[16], t1[16];
    int nf = 0;
    uint64_t rng = est_test_seed();
    size_t at = 0;
    while (!st && at < n) {
        size_t piece = 1 + (size_t)(est_test_rand(&rng) % 3000), used = 0;
        if (piece > n - at) piece = n - at;
        edgestt_stream_event ev;
        st = edgestt_stream_push(s, pcm + at, NULL, piece, &used, &ev);
        at += used;
        if (!st && ev.type == EDGESTT_EVENT_FINAL && nf < 16) t0[nf] = ev.t0_ms, t1[nf] = ev.t1_ms, nf++;
    }
    edgestt_stream_event ev;
    if (!st) st = edgestt_stream_flush(s, &ev);
    if (!st && ev.type == EDGESTT_EVENT_FINAL && nf < 16) t0[nf] = ev.t0_ms, t1[nf] = ev.t1_ms, nf++;
    edgestt_stream_free(s);
    edgestt_vad_close(v);
    edgestt_close(m);
    free(pcm);
    CHECK_ST(st, EDGESTT_OK);
    /* the offline segments, unpadded (pad 30 ms; abutting segments split the padding) */
    int fails = (size_t)nf != ns;
    const int64_t pad = sp.vad.speech_pad_ms * 16;
    for (int i = 0; !fails && i < nf; i++) {
        printf("  final %d: %lld-%lld ms, offline segment %lld-%lld ms (padded)\n", i, (long long)t0[i],
               (long long)t1[i], (long long)(seg[i].start_sample / 16), (long long)(seg[i].end_sample / 16));
        if (t0[i] * 16 < seg[i].start_sample || t0[i] * 16 > seg[i].start_sample + pad ||
            t1[i] * 16 > seg[i].end_sample || t1[i] * 16 < seg[i].end_sample - pad ||
            (t1[i] - t0[i]) > sp.vad.max_speech_ms)
            fails++;
    }
    CHECKF(nf == 5 && !fails, "%d finals, offline %zu segments (5 expected: the second utterance cut twice)", nf, ns);
}
