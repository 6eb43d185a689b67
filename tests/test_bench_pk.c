/*
 * test_bench_pk.c - edgestt_bench on a transducer (core/bench.c): pk-mini (tests/pk_mini.h) timed
 * on 30 s of the bench's synthetic signal.  The pass it times is the real one: its greedy token
 * count equals edgestt_transcribe's (beam 1) on the same signal, and does not change with the
 * thread count; timings are positive (never compared: no timing assertions); refusals are one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/edgestt.h"
#include "../core/model.h"
#include "pk_mini.h"
#include "test.h"

TEST(pk_bench_runs_the_transducer) {
    size_t size = 0;
    uint8_t *img = est_test_pk_mini(0, "parakeet", &size);
    CHECKF(img, "pk-mini image (tests/data/parakeet goldens missing?)");
    edgestt_diag diag = {0};
    edgestt_model *m = NULL;
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.max_audio_windows = 1; /* a state for 30 s, the bench's length */
    edgestt_status st = edgestt_open_memory(img, size, &mp, NULL, 0, &m, &diag);
    CHECKF(st == EDGESTT_OK, "open: %d %s", (int)st, diag.msg);
    edgestt_bench_result r1, r2;
    CHECK_ST(edgestt_bench(m, 1, 1, &r1, &diag), EDGESTT_OK);
    CHECK_ST(edgestt_bench(m, 2, 1, &r2, &diag), EDGESTT_OK);
    printf("  pk-mini bench, 30 s: front end %.2f ms, encoder %.2f ms, greedy %.2f ms (%d tokens), state %zu bytes\n",
           r1.features_ms, r1.encode_ms, r1.decode_ms, r1.n_tokens, r1.state_bytes);
    CHECK(r1.audio_s == 30.0 && r2.audio_s == 30.0);
    CHECK(r1.features_ms > 0 && r1.encode_ms > 0 && r1.decode_ms > 0 && r1.state_bytes > 0);
    CHECK(r1.n_tokens == r2.n_tokens);
    /* the same signal through the public transcription path: the same greedy tokens */
    const size_t n = 30 * 16000;
    float *pcm = malloc(n * sizeof(float));
    CHECK(pcm != NULL);
    est_bench_signal(pcm, n);
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.beam_size = 1;
    fp.max_tokens = 4096;
    edgestt_state *s = NULL;
    st = edgestt_state_init(m, &fp, NULL, 0, &s, &diag);
    CHECKF(st == EDGESTT_OK, "state: %d %s", (int)st, diag.msg);
    st = edgestt_transcribe(s, pcm, n, &fp);
    CHECKF(st == EDGESTT_OK, "transcribe: %d %s", (int)st, s ? edgestt_state_error(s) : "");
    CHECKF(edgestt_n_tokens(s) == r1.n_tokens, "transcribe %d tokens, bench %d", edgestt_n_tokens(s), r1.n_tokens);
    CHECK(r1.n_tokens > 0);
    /* refusals: thread count out of range, NULL result */
    CHECK_ST(edgestt_bench(m, 0, 1, &r1, &diag), EDGESTT_E_INVALID_ARG);
    CHECK(strchr(diag.msg, '\n') == NULL && strstr(diag.msg, "threads") != NULL);
    CHECK_ST(edgestt_bench(m, 1, 1, NULL, &diag), EDGESTT_E_INVALID_ARG);
    edgestt_state_free(s);
    edgestt_close(m);
    free(pcm);
    free(img);
}
