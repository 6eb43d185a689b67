/*
 * test_isa_transcripts.c - the promise that the kiosk and the dev box agree: the same Q8_0 and Q4_0
 * model files give identical token ids through every kernel table this build can run here (ref
 * and avx2 natively; ref and neon on ARMv7 and Cortex-A72, ref, neon and neondot on Cortex-A76 /
 * max under qemu).  Each table (edgestt_params.kernels, as EDGESTT_KERNELS forces it) transcribes
 * jfk.wav twice - beam search with timestamps (the default), and 64 greedy steps without timestamps
 * (a long run of decoder steps) - and the token ids are compared with the reference table's, naming
 * the first position that differs.  Across architectures too: the reference table's ids must equal
 * the ones recorded on x86-64 (below), so an aarch64 / ARMv7 run under qemu checks that the Pi and
 * the dev box agree.  Both K/V cache types run: f16 (the default; every store rounds through the one
 * portable est_f32_to_f16, so the caches hold the same bits on every CPU) and f32.  Beam search
 * decodes at most 24 tokens per window (sample_len) on every architecture, so the recorded ids are
 * the same natively and under qemu.  If the decoding search or the test models change on purpose,
 * record the new ids (the test prints them).
 *
 * Every product and row helper is specified bit for bit (kernels.h, kernels/ops_ref.c), so the
 * tables should agree exactly; the test also prints whether the chosen tokens' probabilities are
 * bit-identical, so a float difference shows in the log before it flips a near-tie.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../kernels/kernels.h"
#include "test.h"

#if defined(__aarch64__) || defined(__arm__)
#define LIGHT 1 /* qemu: shorter windows */
#else
#define LIGHT 0
#endif

#define MAX_IDS 512

/* tests/data/jfk.wav as 16 kHz floats (malloc'd), NULL on failure. */
static float *read_jfk(size_t *n_out) {
    FILE *f = fopen(est_test_data("jfk.wav"), "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *img = n > 0 ? malloc((size_t)n) : NULL;
    float *x = NULL;
    edgestt_wav_info info;
    if (img && fread(img, 1, (size_t)n, f) == (size_t)n && !edgestt_wav_parse(img, (size_t)n, &info, NULL)) {
        x = malloc((size_t)info.n_samples_16k * sizeof(float) + 1);
        if (x && edgestt_wav_decode(img, (size_t)n, &info, x, NULL, 0, NULL)) {
            free(x);
            x = NULL;
        }
        *n_out = (size_t)info.n_samples_16k;
    }
    free(img);
    fclose(f);
    return x;
}

/* Transcribe with kernel table `kernels`; token ids and probabilities into ids/p (cap MAX_IDS).
 * Returns the token count, or -1 with the reason in why. */
static int transcribe_with(const char *model, const char *kernels, edgestt_kv_type kv, int greedy, const float *pcm,
                           size_t n, int *ids, float *p, char *why, size_t why_cap) {
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.kernels = kernels;
    mp.kv_type = kv;
    edgestt_model *m = NULL;
    edgestt_diag d;
    d.msg[0] = 0;
    int st = edgestt_open(est_test_model(model), &mp, NULL, 0, &m, &d);
    if (st) {
        snprintf(why, why_cap, "open: %s", d.msg);
        return -1;
    }
    edgestt_model_info info;
    edgestt_model_get_info(m, &info);
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.n_threads = 2;
    fp.beam_size = greedy ? 0 : 5;
    fp.language = "en";
    fp.temperature_inc = 0.0f; /* no fallback: one decode per window */
    if (greedy) {
        fp.timestamps = 0;
        fp.sample_len = 64; /* 64 greedy steps (random weights rarely stop early without timestamps) */
    } else {
        fp.sample_len = 24; /* the same bound natively and under qemu */
    }
    edgestt_state *s = NULL;
    int count = -1;
    if (strcmp(info.kernels, kernels)) snprintf(why, why_cap, "asked for %s, got %s", kernels, info.kernels);
    else if ((st = edgestt_state_init(m, &fp, NULL, 0, &s, &d)) != 0) snprintf(why, why_cap, "state: %s", d.msg);
    else if ((st = edgestt_transcribe(s, pcm, n, &fp)) != 0) snprintf(why, why_cap, "transcribe: %s", edgestt_state_error(s));
    else {
        count = edgestt_n_tokens(s);
        if (count > MAX_IDS) count = MAX_IDS;
        for (int i = 0; i < count; i++) {
            edgestt_token_data t;
            edgestt_get_token(s, i, &t);
            ids[i] = t.id;
            p[i] = t.p;
        }
    }
    edgestt_state_free(s);
    edgestt_close(m);
    return count;
}

/* FNV-1a of token ids */
static uint32_t ids_hash(const int *ids, int n) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) h = (h ^ (uint32_t)ids[i]) * 16777619u;
    return h;
}

/* want: the n_want ids (beam search), or greedy: n_want ids with FNV-1a want_hash. */
static void check_model(const char *model, edgestt_kv_type kv, int greedy, const int *want, int n_want,
                        uint32_t want_hash) {
    const char *kvn = edgestt_kv_type_name(kv);
    size_t n = 0;
    float *pcm = read_jfk(&n);
    CHECK(pcm != NULL);
    static int ref_ids[MAX_IDS], ids[MAX_IDS];
    static float ref_p[MAX_IDS], p[MAX_IDS];
    char why[300] = "";
    const int n_ref = transcribe_with(model, "ref", kv, greedy, pcm, n, ref_ids, ref_p, why, sizeof why);
    if (n_ref <= 0) free(pcm);
    CHECKF(n_ref > 0, "%s with ref: %s", model, n_ref < 0 ? why : "no tokens");
    /* the ids, for comparing runs on different architectures by eye (same spec, same bits) */
    const uint32_t h = ids_hash(ref_ids, n_ref);
    printf("    %s %s, %s K/V: ref gives %d tokens (FNV-1a of the ids %08x):", model, greedy ? "greedy" : "beam 5", kvn,
           n_ref, (unsigned)h);
    for (int i = 0; i < n_ref && i < (greedy ? 12 : 24); i++) printf(" %d", ref_ids[i]);
    printf("%s\n", n_ref > (greedy ? 12 : 24) ? " ..." : "");
    int same = n_ref == n_want && (!greedy || h == want_hash);
    for (int i = 0; !greedy && same && i < n_ref; i++) same = ref_ids[i] == want[i];
    if (!same) free(pcm);
    CHECKF(same, "%s %s, %s K/V: the reference table's ids differ from the ones recorded on x86-64 (%d of them)", model,
           greedy ? "greedy" : "beam 5", kvn, n_want);
    const uint32_t cpu = est_port_cpu_features();
    for (int v = 1; est_kernels_variant(v); v++) {
        const est_kernels *kt = est_kernels_variant(v);
        if (!est_kernels_runnable(kt, cpu)) {
            printf("    %s: %s not runnable on this CPU (skipped)\n", model, kt->name);
            continue;
        }
        const int cnt = transcribe_with(model, kt->name, kv, greedy, pcm, n, ids, p, why, sizeof why);
        if (cnt < 0) free(pcm);
        CHECKF(cnt >= 0, "%s with %s: %s", model, kt->name, why);
        int first = -1;
        for (int i = 0; i < (cnt < n_ref ? cnt : n_ref) && first < 0; i++)
            if (ids[i] != ref_ids[i]) first = i;
        if (first < 0 && cnt != n_ref) first = cnt < n_ref ? cnt : n_ref;
        if (first >= 0) free(pcm);
        CHECKF(first < 0, "%s, %s K/V: %s and ref differ at token %d of %d/%d (id %d vs %d)", model, kvn, kt->name, first,
               cnt, n_ref, first < cnt ? ids[first] : -1, first < n_ref ? ref_ids[first] : -1);
        double dp = 0.0;
        int same_bits = 1;
        for (int i = 0; i < cnt && i < n_ref; i++) {
            const double d = fabs((double)p[i] - (double)ref_p[i]);
            if (d > dp) dp = d;
            same_bits &= memcmp(&p[i], &ref_p[i], sizeof(float)) == 0;
        }
        printf("    %s, %s K/V: %s = ref on all %d token ids; token probabilities %s (max |dp| %.3g)\n", model, kvn,
               kt->name, cnt, same_bits ? "bit-identical" : "differ in the float paths", dp);
    }
    free(pcm);
}

/* jfk.wav, beam 5 (at most 24 tokens), timestamps, English, no fallback; recorded on x86-64 (ref = avx2) */
static const int ids_q8_0_f32[] = {50368, 30530, 50997, 50997, 14306, 51666, 51666, 24491, 51841};
static const int ids_q4_0_f32[] = {50368, 30530, 50997, 50997, 16740, 51765, 51776, 12030, 51841};
static const int ids_q8_0_f16[] = {50368, 30530, 50997, 50997, 14306, 51666, 51666, 24491, 51841};
/* random weights: f16 rounding moves near-ties of the Q4_0 model from the third token on */
static const int ids_q4_0_f16[] = {50368, 30530, 51021, 51351, 6963, 51648, 51666, 29424, 51841};
#define N_OF(a) ((int)(sizeof(a) / sizeof(a[0])))

/* greedy, no timestamps, 64 steps: FNV-1a of the 64 ids, recorded on x86-64 */
TEST(isa_transcripts_identical_q8_0) {
    check_model("mini-en-q8_0.gguf", EDGESTT_KV_F16, 0, ids_q8_0_f16, N_OF(ids_q8_0_f16), 0);
    check_model("mini-en-q8_0.gguf", EDGESTT_KV_F16, 1, NULL, 64, 0x68a50a25u);
    check_model("mini-en-q8_0.gguf", EDGESTT_KV_F32, 0, ids_q8_0_f32, N_OF(ids_q8_0_f32), 0);
    check_model("mini-en-q8_0.gguf", EDGESTT_KV_F32, 1, NULL, 64, 0x68a50a25u);
}
TEST(isa_transcripts_identical_q4_0) {
    check_model("mini-en-q4_0.bin", EDGESTT_KV_F16, 0, ids_q4_0_f16, N_OF(ids_q4_0_f16), 0);
    check_model("mini-en-q4_0.bin", EDGESTT_KV_F16, 1, NULL, 64, 0x3c90dd9cu);
    check_model("mini-en-q4_0.bin", EDGESTT_KV_F32, 0, ids_q4_0_f32, N_OF(ids_q4_0_f32), 0);
    check_model("mini-en-q4_0.bin", EDGESTT_KV_F32, 1, NULL, 64, 0x83cd64dfu);
}
