/*
 * test_parakeet_api.c - Parakeet through the public API (core/model.c, core/transcribe.c): pk-mini's
 * GGUF image (tests/pk_mini.h) opened with edgestt_open_memory, model info, a state, and
 * edgestt_transcribe on the first 3 s of jfk.wav giving the golden TDT tokens (tests/data/parakeet)
 * as one segment, with token times from their frames; refusals are one line; no allocation after init.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/edgestt.h"
#include "pk_mini.h"
#include "test.h"

/* Golden TDT tokens/frames/durations and text through the public API; no malloc after init. */
TEST(pk_api_transcribe) {
    size_t size = 0, n = 0;
    uint8_t *img = est_test_pk_mini(0, "parakeet", &size);
    CHECKF(img, "pk-mini image (tests/data/parakeet goldens missing?)");
    float *pcm = est_test_load_wav("jfk.wav", &n);
    CHECK(pcm && n > 48000);
    n = 48000;
    edgestt_diag diag = {0};
    size_t need = 0, sneed = 0;
    CHECK_ST(edgestt_mem_size_memory(img, size, NULL, &need, &diag), EDGESTT_OK);
    void *mem = malloc(need);
    edgestt_model *m = NULL;
    edgestt_status st = edgestt_open_memory(img, size, NULL, mem, need, &m, &diag);
    CHECKF(st == EDGESTT_OK, "open: %d %s", (int)st, diag.msg);
    edgestt_model_info info;
    CHECK_ST(edgestt_model_get_info(m, &info), EDGESTT_OK);
    CHECKF(strcmp(info.arch, "parakeet") == 0, "arch %s", info.arch);
    CHECK(info.n_mels == 80 && info.n_audio_state == 64 && info.n_audio_layer == 2 && info.n_vocab == 33);
    CHECK(info.n_by_type[EDGESTT_TYPE_F32] > 0 && info.n_by_type[EDGESTT_TYPE_Q8_0] == 0 && info.n_params > 0);
    CHECK(info.kernels && *info.kernels && info.mapped == 0);
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.max_tokens = 512;
    fp.max_segments = 4;
    fp.beam_size = 1; /* greedy (the default 5 runs modified beam search) */
    CHECK_ST(edgestt_state_mem_size(m, &fp, &sneed, &diag), EDGESTT_OK);
    void *smem = malloc(sneed);
    edgestt_state *s = NULL;
    st = edgestt_state_init(m, &fp, smem, sneed, &s, &diag);
    CHECKF(st == EDGESTT_OK, "state: %d %s", (int)st, diag.msg);
    const uint64_t a0 = est_test_alloc_calls();
    st = edgestt_transcribe(s, pcm, n, &fp);
    CHECKF(st == EDGESTT_OK, "transcribe: %d %s", (int)st, edgestt_state_error(s));
    char text[1024];
    size_t len = 0;
    CHECK_ST(edgestt_full_text(s, text, sizeof text, &len), EDGESTT_OK);
    CHECK(est_test_alloc_calls() == a0);
    printf("  pk-mini via edgestt_transcribe: %d tokens, '%.60s'\n", edgestt_n_tokens(s), text);
    CHECK(edgestt_n_segments(s) == 1);
    edgestt_segment seg;
    CHECK_ST(edgestt_get_segment(s, 0, &seg), EDGESTT_OK);
    CHECK(seg.t0_ms == 0 && seg.t1_ms == 3000 && seg.first_token == 0 && seg.n_tokens == edgestt_n_tokens(s));
    static double g[512], gf[512], gd[512];
    int ng = est_test_pk_gold("tdt.tokens", g, 512);
    CHECKF(ng == edgestt_n_tokens(s), "%d tokens, golden %d", edgestt_n_tokens(s), ng);
    CHECK(est_test_pk_gold("tdt.frames", gf, 512) == ng && est_test_pk_gold("tdt.durations", gd, 512) == ng);
    int ids[512];
    for (int i = 0; i < ng; i++) {
        edgestt_token_data t;
        CHECK_ST(edgestt_get_token(s, i, &t), EDGESTT_OK);
        ids[i] = t.id;
        const int d = (int)gd[i] > 1 ? (int)gd[i] : 1;
        CHECKF(t.id == (int)g[i], "token %d: %d vs %d", i, t.id, (int)g[i]);
        CHECKF(t.t0_ms == (int64_t)gf[i] * 80, "token %d t0 %lld, frame %d", i, (long long)t.t0_ms, (int)gf[i]);
        CHECKF(t.t1_ms == ((int)gf[i] + d) * 80 || t.t1_ms == 3000, "token %d t1 %lld", i, (long long)t.t1_ms);
        CHECK(t.segment == 0);
        CHECKF(t.p > 0.0f && t.p <= 1.0f, "token %d p %g", i, t.p);
    }
    char want[1024];
    size_t wl = 0;
    CHECK_ST(edgestt_detokenize(m, ids, ng, want, sizeof want, &wl), EDGESTT_OK);
    CHECKF(len == wl && strcmp(text, want) == 0 && len > 0, "'%s' vs '%s'", text, want);
    CHECK_ST(edgestt_segment_text(s, 0, want, sizeof want, &wl), EDGESTT_OK);
    CHECK(strcmp(text, want) == 0);
    CHECK_ST(edgestt_full_text(s, want, 4, &wl), EDGESTT_E_NOMEM);
    CHECK(wl == len && strlen(want) == 3);
    /* whisper-only: translate is refused with a line; temperature, language are ignored; beam_size 4 runs
     * modified beam search: the golden beam path with its probabilities */
    fp.task = EDGESTT_TASK_TRANSLATE;
    CHECK_ST(edgestt_transcribe(s, pcm, n, &fp), EDGESTT_E_UNSUPPORTED);
    CHECK(strstr(edgestt_state_error(s), "translate") && !strchr(edgestt_state_error(s), '\n'));
    fp.task = EDGESTT_TASK_TRANSCRIBE;
    fp.beam_size = 4;
    fp.temperature = 0.4f;
    fp.language = "de";
    CHECK_ST(edgestt_transcribe(s, pcm, n, &fp), EDGESTT_OK);
    static double bp[512];
    const int nb = est_test_pk_gold("beam.tdt.tokens", g, 512);
    CHECKF(nb == edgestt_n_tokens(s) && nb != ng, "beam 4: %d tokens, golden %d (greedy %d)", edgestt_n_tokens(s), nb, ng);
    CHECK(est_test_pk_gold("beam.tdt.frames", gf, 512) == nb && est_test_pk_gold("beam.tdt.p", bp, 512) == nb);
    for (int i = 0; i < nb; i++) {
        edgestt_token_data t;
        CHECK_ST(edgestt_get_token(s, i, &t), EDGESTT_OK);
        CHECKF(t.id == (int)g[i] && t.t0_ms == (int64_t)gf[i] * 80, "beam token %d: %d@%lld vs %d@%d", i, t.id,
               (long long)t.t0_ms, (int)g[i], (int)gf[i]);
        CHECKF(fabs(t.p - bp[i]) <= 1e-4 * bp[i], "beam token %d p %.9g vs %.9g", i, t.p, bp[i]);
    }
    /* beams over the planned maximum (8) are capped, not refused */
    fp.beam_size = 32;
    CHECK_ST(edgestt_transcribe(s, pcm, n, &fp), EDGESTT_OK);
    CHECK(edgestt_n_tokens(s) > 0);
    fp.beam_size = 1;
    CHECK_ST(edgestt_transcribe(s, pcm, n, &fp), EDGESTT_OK);
    CHECK(edgestt_n_tokens(s) == ng);
    /* no audio: no segment; longer than the plan (max_audio_windows 1 = 30 s): a line */
    CHECK_ST(edgestt_transcribe(s, NULL, 0, &fp), EDGESTT_OK);
    CHECK(edgestt_n_segments(s) == 0 && edgestt_n_tokens(s) == 0);
    CHECK(est_test_alloc_calls() == a0);
    float *big = calloc(30 * 16000 + 1, sizeof(float));
    CHECK(big);
    CHECK_ST(edgestt_transcribe(s, big, 30 * 16000 + 1, &fp), EDGESTT_E_LIMIT);
    CHECK(strstr(edgestt_state_error(s), "max_audio_windows") != NULL);
    free(big);
    edgestt_state_free(s);
    edgestt_close(m);
    free(smem);
    free(mem);
    free(pcm);
    free(img);
}

/* Refusals: another architecture, a truncated image, max_memory, a short buffer - one line each. */
TEST(pk_api_refuses) {
    size_t size = 0, need = 0;
    edgestt_diag diag = {0};
    edgestt_model *m = NULL;
    uint8_t *img = est_test_pk_mini(0, "parakeetx", &size);
    CHECK(img);
    CHECK(edgestt_open_memory(img, size, NULL, NULL, 0, &m, &diag) != EDGESTT_OK && m == NULL);
    CHECKF(diag.msg[0] && !strchr(diag.msg, '\n'), "'%s'", diag.msg);
    free(img);
    img = est_test_pk_mini(0, "parakeet", &size);
    CHECK(img);
    for (size_t cut = 64; cut < size; cut += size / 7) {
        memset(&diag, 0, sizeof diag);
        CHECKF(edgestt_open_memory(img, cut, NULL, NULL, 0, &m, &diag) != EDGESTT_OK && m == NULL, "cut %zu opened", cut);
        CHECKF(diag.msg[0] && !strchr(diag.msg, '\n'), "cut %zu: '%s'", cut, diag.msg);
    }
    edgestt_params p;
    edgestt_params_default(&p);
    CHECK_ST(edgestt_mem_size_memory(img, size, &p, &need, &diag), EDGESTT_OK);
    p.max_memory = need + 1024; /* the handle fits, a state does not */
    CHECK_ST(edgestt_open_memory(img, size, &p, NULL, 0, &m, &diag), EDGESTT_E_LIMIT);
    CHECKF(strstr(diag.msg, "max_memory") != NULL, "'%s'", diag.msg);
    p.max_memory = 0;
    void *mem = malloc(need);
    CHECK_ST(edgestt_open_memory(img, size, &p, mem, need - 1, &m, &diag), EDGESTT_E_NOMEM);
    CHECK_ST(edgestt_open_memory(img, size, &p, mem, need, &m, &diag), EDGESTT_OK);
    float mel[80];
    CHECK_ST(edgestt_log_mel(m, mel, 1, mel, 80), EDGESTT_E_UNSUPPORTED);
    edgestt_special_tokens sp;
    CHECK_ST(edgestt_special_tokens_get(m, &sp), EDGESTT_OK);
    CHECK(sp.eot == -1 && sp.sot == -1 && sp.timestamp_begin == -1 && sp.n_languages == 0);
    const char *piece;
    size_t pl = 0;
    CHECK_ST(edgestt_token_bytes(m, 2, &piece, &pl), EDGESTT_OK);
    CHECK(pl == 4 && memcmp(piece, "\xe2\x96\x81" "c", 4) == 0);
    edgestt_close(m);
    free(mem);
    /* the same image as a file: mapped */
    const char *path = est_test_tmp("pk-mini.gguf");
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(img, 1, size, f) == size);
    fclose(f);
    CHECK_ST(edgestt_open(path, NULL, NULL, 0, &m, &diag), EDGESTT_OK);
    edgestt_model_info info;
    CHECK_ST(edgestt_model_get_info(m, &info), EDGESTT_OK);
    CHECK(info.mapped == 1 && strcmp(info.arch, "parakeet") == 0);
    edgestt_close(m);
    free(img);
}
