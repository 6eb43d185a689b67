/*
 * test_model.c - the public model API over generated models: both layouts x all types open,
 * hparams / counts / parameters, .bin and .gguf of one seed bind byte-identical tensors, memory
 * (mem_size == what open needs, smaller buffers fail with NOMEM, every plan reservation's failure
 * path, zero allocator calls with a caller buffer), parameters and kernel choice, the log-mel
 * wrapper.  Corrupt inputs are in test_model_corrupt.c, the loading golden in test_model_golden.c.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "../core/mel.h"
#include "../core/model.h"
#include "test.h"

/* Whole file into a malloc'd buffer (NULL if unreadable). */
static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

typedef struct expect {
    const char *name;
    int n_state, n_head, n_layer, n_vocab, n_mels, type;
} expect;

static const expect models[] = {
    {"mini-en-f32", 64, 2, 2, 51864, 80, EDGESTT_TYPE_F32},   {"mini-en-f16", 64, 2, 2, 51864, 80, EDGESTT_TYPE_F16},
    {"mini-en-q8_0", 64, 2, 2, 51864, 80, EDGESTT_TYPE_Q8_0}, {"mini-en-q4_0", 64, 2, 2, 51864, 80, EDGESTT_TYPE_Q4_0},
    {"mini-multi-f16", 64, 2, 2, 51865, 80, EDGESTT_TYPE_F16}, {"mini-v3-f16", 64, 2, 2, 51866, 128, EDGESTT_TYPE_F16},
    {"tiny-en-f16", 384, 6, 4, 51864, 80, EDGESTT_TYPE_F16},
};
#define N_MODELS (int)(sizeof models / sizeof models[0])

static const char *path_of(const expect *e, int gguf) {
    static char b[256];
    snprintf(b, sizeof b, "%s.%s", e->name, gguf ? "gguf" : "bin");
    return est_test_model(b);
}

/* Whisper parameter count from the hyper-parameters (S = n_state). */
static int64_t expected_params(const edgestt_model_info *in) {
    const int64_t S = in->n_audio_state, M = in->n_mels;
    int64_t enc = 3 * M * S + S + 3 * S * S + S + (int64_t)in->n_audio_ctx * S + 2 * S +
                  in->n_audio_layer * (12 * S * S + 12 * S);
    int64_t dec = (int64_t)in->n_vocab * S + (int64_t)in->n_text_ctx * S + 2 * S +
                  in->n_text_layer * (16 * S * S + 17 * S);
    return enc + dec;
}

TEST(model_open_every_layout_and_type) {
    for (int i = 0; i < N_MODELS; i++) {
        for (int g = 0; g < 2; g++) {
            const expect *e = &models[i];
            edgestt_model *m = NULL;
            edgestt_diag d;
            int st = edgestt_open(path_of(e, g), NULL, NULL, 0, &m, &d);
            CHECKF(st == EDGESTT_OK, "%s: %s", path_of(e, g), d.msg);
            edgestt_model_info in;
            CHECK_ST(edgestt_model_get_info(m, &in), EDGESTT_OK);
            CHECK(in.format == (g ? EDGESTT_FORMAT_GGUF : EDGESTT_FORMAT_GGML_BIN) && !strcmp(in.arch, "whisper"));
            CHECKF(in.n_audio_state == e->n_state && in.n_text_state == e->n_state && in.n_audio_layer == e->n_layer &&
                       in.n_text_layer == e->n_layer && in.n_vocab == e->n_vocab && in.n_mels == e->n_mels,
                   "%s hparams", e->name);
            CHECK(in.n_audio_ctx == 1500 && in.n_text_ctx == 448 && in.n_audio_head == e->n_head &&
                  in.n_text_head == in.n_audio_head);
            CHECK(in.multilingual == (e->n_vocab > 51864) && in.n_languages == (e->n_vocab == 51866 ? 100 : 99));
            const int n_tensors = 11 + 15 * e->n_layer + 24 * e->n_layer;
            CHECKF(in.n_tensors == n_tensors, "%s: %d tensors", e->name, in.n_tensors);
            CHECKF(in.n_params == expected_params(&in), "%s: %lld params, want %lld", e->name,
                   (long long)in.n_params, (long long)expected_params(&in));
            /* type policy: 1-D, conv biases, positional F32; conv weights F16 unless f32; the rest e->type */
            const int n_vec = 8 + 9 * e->n_layer + 14 * e->n_layer; /* incl. 2 conv biases, 2 positional */
            const int n_mat = 1 + 6 * e->n_layer + 10 * e->n_layer;           /* token embedding + linears */
            CHECK(n_vec + n_mat + 2 == n_tensors);
            if (e->type == EDGESTT_TYPE_F32) {
                CHECK(in.n_by_type[EDGESTT_TYPE_F32] == n_tensors);
                CHECK(in.weight_bytes == (size_t)in.n_params * 4);
            } else {
                CHECKF(in.n_by_type[EDGESTT_TYPE_F32] == n_vec, "%s: %lld f32", e->name,
                       (long long)in.n_by_type[EDGESTT_TYPE_F32]);
                CHECK(in.n_by_type[EDGESTT_TYPE_F16] == (e->type == EDGESTT_TYPE_F16 ? n_mat + 2 : 2));
                if (e->type != EDGESTT_TYPE_F16) CHECK(in.n_by_type[e->type] == n_mat);
            }
            CHECK(in.mapped == 1 && in.kernels && *in.kernels);
            size_t need = 0;
            CHECK_ST(edgestt_mem_size(path_of(e, g), NULL, &need, &d), EDGESTT_OK);
            CHECK(need == in.arena_bytes && need > 0);
            edgestt_close(m);
        }
    }
}

TEST(model_bin_and_gguf_bind_identical_tensors) {
    for (int i = 0; i < N_MODELS; i++) {
        edgestt_model *a = NULL, *b = NULL;
        edgestt_diag d;
        CHECK_ST(edgestt_open(path_of(&models[i], 1), NULL, NULL, 0, &a, &d), EDGESTT_OK);
        CHECK_ST(edgestt_open(path_of(&models[i], 0), NULL, NULL, 0, &b, &d), EDGESTT_OK);
        char na[96], nb[96];
        const est_tensor *ta, *tb;
        int k = 0;
        for (; est_whisper_slot(&a->w, &a->hp, k, na, sizeof na, &ta); k++) {
            CHECK(est_whisper_slot(&b->w, &b->hp, k, nb, sizeof nb, &tb) && !strcmp(na, nb));
            CHECKF(ta->data && tb->data && ta->type == tb->type && ta->nbytes == tb->nbytes &&
                       est_tensor_nelem(ta) == est_tensor_nelem(tb),
                   "%s: %s type %d/%d", models[i].name, na, ta->type, tb->type);
            CHECKF(!memcmp(ta->data, tb->data, ta->nbytes), "%s: %s data differ", models[i].name, na);
            if (strstr(na, "conv1.bias") || strstr(na, "conv2.bias")) /* .bin keeps whisper.cpp's (n_state, 1) */
                CHECK(tb->ne[0] == 1 && tb->ne[1] == ta->ne[0] && ta->ne[1] == 1);
            else
                CHECK(!memcmp(ta->ne, tb->ne, sizeof ta->ne));
        }
        CHECK(k == a->w.n_tensors);
        /* mel filters: the same floats in both layouts, and est_mel_filters_slaney's values (within
         * 1e-7: the files were written on the build host, whose libm may differ by an ulp) */
        static float ref[128 * EST_MEL_N_BINS];
        const int n_mels = a->hp.n_mels;
        const size_t n_mel_bytes = sizeof(float) * (size_t)n_mels * EST_MEL_N_BINS;
        est_mel_filters_slaney(n_mels, ref);
        CHECK(!memcmp(a->w.mel_filters, b->w.mel_filters, n_mel_bytes));
        for (int j = 0; j < n_mels * EST_MEL_N_BINS; j++) {
            float v;
            memcpy(&v, a->w.mel_filters + 4 * (size_t)j, 4);
            CHECKF(v - ref[j] <= 1e-7f && ref[j] - v <= 1e-7f, "%s: mel filter %d: %g vs %g", models[i].name, j,
                   (double)v, (double)ref[j]);
        }
        edgestt_close(a);
        edgestt_close(b);
    }
}

TEST(model_caller_buffer_makes_zero_allocator_calls) {
    size_t size;
    uint8_t *img = slurp(est_test_model("mini-en-q8_0.gguf"), &size);
    CHECK(img);
    edgestt_diag d;
    size_t need;
    CHECK_ST(edgestt_mem_size_memory(img, size, NULL, &need, &d), EDGESTT_OK);
    void *mem = malloc(need);
    CHECK(mem);
    uint64_t before = est_test_alloc_calls();
    edgestt_model *m = NULL;
    int st = edgestt_open_memory(img, size, NULL, mem, need, &m, &d);
    edgestt_model_info in;
    const char *b;
    size_t n;
    if (!st) st = edgestt_model_get_info(m, &in);
    if (!st) st = edgestt_token_bytes(m, 262, &b, &n);
    edgestt_close(m);
    uint64_t calls = est_test_alloc_calls() - before;
    CHECKF(st == EDGESTT_OK, "%s", d.msg);
    CHECKF(calls == 0, "%llu allocator calls for open_memory+close with a caller buffer", (unsigned long long)calls);
    CHECK(in.mapped == 0 && in.arena_bytes == need);
    /* a mapped file with a caller buffer: mmap is not an allocator call */
    before = est_test_alloc_calls();
    st = edgestt_open(est_test_model("mini-en-q4_0.bin"), NULL, mem, need, &m, &d);
    edgestt_close(m);
    calls = est_test_alloc_calls() - before;
    CHECKF(st == EDGESTT_OK && calls == 0, "st %d, %llu calls", st, (unsigned long long)calls);
    /* mem == NULL: exactly one allocation at open and one free at close */
    before = est_test_alloc_calls();
    st = edgestt_open_memory(img, size, NULL, NULL, 0, &m, &d);
    edgestt_close(m);
    calls = est_test_alloc_calls() - before;
    CHECKF(st == EDGESTT_OK && calls == 2, "st %d, %llu calls", st, (unsigned long long)calls);
    free(mem);
    free(img);
}

/* Open with buffers smaller than planned: every one fails with NOMEM; planned succeeds at any
 * start alignment.  Each layout is swept over [0, 256), the last 256 sizes and 128 seeded sizes
 * between (a full byte-by-byte sweep of ~0.7 MB would re-read the headers 700k times; the plan's
 * own reservations are each aimed at in model_plan_every_reservation_fails_cleanly). */
static void sweep(const char *name) {
    size_t size;
    uint8_t *img = slurp(est_test_model(name), &size);
    CHECK(img);
    edgestt_diag d;
    size_t need = 0, need2 = 0;
    CHECK_ST(edgestt_mem_size_memory(img, size, NULL, &need, &d), EDGESTT_OK);
    CHECK_ST(edgestt_mem_size(est_test_model(name), NULL, &need2, &d), EDGESTT_OK);
    CHECK(need == need2);
    uint8_t *mem = malloc(need + 64);
    CHECK(mem);
    uint64_t rng = est_test_seed() ^ 0x5eed;
    for (int i = 0; i < 256 * 2 + 128; i++) {
        size_t n = i < 256 ? (size_t)i : i < 512 ? need - 512 + (size_t)i : est_test_rand(&rng) % need;
        edgestt_model *m = (edgestt_model *)(uintptr_t)1;
        int st = edgestt_open_memory(img, size, NULL, mem + (n & 63), n, &m, &d);
        CHECKF(st == EDGESTT_E_NOMEM && m == NULL, "%s: buffer of %zu (planned %zu) gave %d", name, n, need, st);
    }
    for (int off = 0; off < 64; off += 7) {
        edgestt_model *m = NULL;
        CHECKF(edgestt_open_memory(img, size, NULL, mem + off, need, &m, &d) == EDGESTT_OK, "offset %d: %s", off,
               d.msg);
        const char *b;
        size_t n;
        CHECK_ST(edgestt_token_bytes(m, 50257, &b, &n), EDGESTT_OK);
        edgestt_close(m);
    }
    free(mem);
    free(img);
}

TEST(model_smaller_buffers_fail_with_nomem) {
    sweep("mini-en-f16.gguf");
    sweep("mini-v3-f16.bin");
}

/* Drive the plan itself with real arenas aimed at every reservation. */
static void plan_steps(const char *name) {
    size_t size;
    uint8_t *img = slurp(est_test_model(name), &size);
    CHECK(img);
    est_whisper_probe pr;
    edgestt_diag d;
    edgestt_params p;
    edgestt_params_default(&p);
    CHECK_ST(est_whisper_probe_image(img, size, &pr, &d), EDGESTT_OK);
    est_arena a;
    est_model_plan pl;
    est_arena_init_measure(&a);
    CHECK_ST(est_model_plan_run(&pr, &p, &a, &pl), EDGESTT_OK);
    const est_model_plan ref = pl;
    CHECK(ref.n_steps >= 8 && ref.n_steps <= EST_PLAN_MAX_STEPS);
    size_t max_mark = 0;
    for (int k = 0; k < ref.n_steps; k++) max_mark = ref.marks[k] > max_mark ? ref.marks[k] : max_mark;
    CHECK(ref.required == max_mark + EST_ALIGN - 1);
    uint8_t *mem = aligned_alloc(64, (ref.required + 127) & ~(size_t)63);
    CHECK(mem);
    /* for each mark: capacity mark - 1 (rounded down to 64 by the arena) and mark exactly */
    for (int k = 0; k < ref.n_steps; k++) {
        for (int dlt = -1; dlt <= 0; dlt++) {
            size_t cap = ref.marks[k] + (size_t)dlt;
            int first_fail = ref.n_steps;
            for (int j = 0; j < ref.n_steps; j++)
                if (ref.marks[j] > (cap & ~(size_t)63)) {
                    first_fail = j;
                    break;
                }
            est_arena_init(&a, mem, cap);
            int st = est_model_plan_run(&pr, &p, &a, &pl);
            CHECKF((st == EDGESTT_E_NOMEM) == (first_fail < ref.n_steps) && pl.n_steps == first_fail,
                   "%s: capacity %zu: status %d after %d steps, expected failure at step %d", name, cap, st,
                   pl.n_steps, first_fail);
            CHECK(a.lo + a.hi <= a.cap);
        }
    }
    /* and the first 4 KiB byte by byte */
    for (size_t cap = 0; cap < 4096; cap++) {
        est_arena_init(&a, mem, cap);
        CHECK_ST(est_model_plan_run(&pr, &p, &a, &pl), EDGESTT_E_NOMEM);
        CHECK(a.lo + a.hi <= a.cap);
    }
    est_arena_init(&a, mem + 1, ref.required);
    CHECK_ST(est_model_plan_run(&pr, &p, &a, &pl), EDGESTT_OK);
    CHECK(pl.handle && pl.text_off && pl.spec_bytes && pl.tensors && pl.n_steps == ref.n_steps);
    free(mem);
    free(img);
}

TEST(model_plan_every_reservation_fails_cleanly) {
    plan_steps("mini-en-q8_0.gguf");
    plan_steps("mini-en-q8_0.bin");
}

TEST(model_params_and_kernels) {
    const char *path = est_test_model("mini-en-q4_0.gguf");
    edgestt_params p;
    edgestt_model *m = NULL;
    edgestt_diag d;
    size_t n;
    edgestt_params_default(&p);
    CHECK(p.n_threads == 1 && p.beam_size == 5 && p.max_audio_windows == 1 && p.kernels == NULL);
    p.n_threads = 0;
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_E_INVALID_ARG);
    CHECK(strstr(d.msg, "n_threads") != NULL && m == NULL);
    p.n_threads = EST_MAX_THREADS + 1;
    CHECK_ST(edgestt_mem_size(path, &p, &n, &d), EDGESTT_E_INVALID_ARG);
    edgestt_params_default(&p);
    p.beam_size = 0;
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_E_INVALID_ARG);
    edgestt_params_default(&p);
    p.max_audio_windows = -3;
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_E_INVALID_ARG);
    edgestt_params_default(&p);
    p.kernels = "bogus";
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_E_INVALID_ARG);
    CHECK(strstr(d.msg, "bogus") != NULL);
    p.kernels = "ref";
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_OK);
    edgestt_model_info in;
    edgestt_model_get_info(m, &in);
    CHECK(!strcmp(in.kernels, "ref"));
    edgestt_close(m);
    /* EDGESTT_KERNELS overrides "auto" only */
    setenv("EDGESTT_KERNELS", "ref", 1);
    p.kernels = "auto";
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_OK);
    edgestt_model_get_info(m, &in);
    CHECK(!strcmp(in.kernels, "ref"));
    edgestt_close(m);
    setenv("EDGESTT_KERNELS", "bogus", 1);
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_E_INVALID_ARG);
    p.kernels = "ref";
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_OK);
    edgestt_close(m);
    unsetenv("EDGESTT_KERNELS");
    /* more threads: the pool lives in the arena, which grows by the pool's size */
    size_t one, four;
    edgestt_params_default(&p);
    CHECK_ST(edgestt_mem_size(path, &p, &one, &d), EDGESTT_OK);
    p.n_threads = 4;
    CHECK_ST(edgestt_mem_size(path, &p, &four, &d), EDGESTT_OK);
    CHECK(four >= one && four - one <= est_pool_size(4));
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_OK);
    edgestt_close(m);
}

TEST(model_api_argument_and_file_errors) {
    edgestt_model *m = (edgestt_model *)(uintptr_t)1;
    edgestt_diag d;
    size_t n;
    CHECK_ST(edgestt_open(NULL, NULL, NULL, 0, &m, &d), EDGESTT_E_INVALID_ARG);
    CHECK(m == NULL);
    CHECK_ST(edgestt_open(est_test_model("mini-en-f16.bin"), NULL, NULL, 0, NULL, &d), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_mem_size(est_test_model("mini-en-f16.bin"), NULL, NULL, &d), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_open_memory(NULL, 10, NULL, NULL, 0, &m, &d), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_open(est_test_model("no-such-model.gguf"), NULL, NULL, 0, &m, &d), EDGESTT_E_IO);
    CHECK(strstr(d.msg, "no such file") != NULL);
    CHECK_ST(edgestt_open(est_test_tmp(""), NULL, NULL, 0, &m, &d), EDGESTT_E_IO);
    FILE *f = fopen(est_test_tmp("empty.gguf"), "wb");
    CHECK(f);
    fclose(f);
    CHECK_ST(edgestt_open(est_test_tmp("empty.gguf"), NULL, NULL, 0, &m, &d), EDGESTT_E_TRUNCATED);
    CHECK_ST(edgestt_mem_size(est_test_tmp("empty.gguf"), NULL, &n, &d), EDGESTT_E_TRUNCATED);
    CHECK_ST(edgestt_open_memory("", 0, NULL, NULL, 0, &m, &d), EDGESTT_E_TRUNCATED);
    CHECK_ST(edgestt_open_memory("RIFF....WAVE", 12, NULL, NULL, 0, &m, &d), EDGESTT_E_FORMAT);
    CHECK(strstr(d.msg, "not a GGUF") != NULL);
    edgestt_model_info in;
    edgestt_special_tokens st;
    CHECK_ST(edgestt_model_get_info(NULL, &in), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_special_tokens_get(NULL, &st), EDGESTT_E_INVALID_ARG);
    edgestt_close(NULL);
}

TEST(model_log_mel_uses_the_file_filters) {
    edgestt_model *m = NULL;
    edgestt_diag d;
    CHECK_ST(edgestt_open(est_test_model("mini-en-q8_0.bin"), NULL, NULL, 0, &m, &d), EDGESTT_OK);
    const int n_mels = 80, n_frames = 3000;
    static float x[16000 * 2], out[80 * 3000], ref[80 * 3000], filt[80 * EST_MEL_N_BINS];
    uint64_t s = est_test_seed();
    for (int i = 0; i < 32000; i++) x[i] = (float)((int)(est_test_rand(&s) % 2001) - 1000) / 4000.0f;
    uint64_t before = est_test_alloc_calls();
    CHECK_ST(edgestt_log_mel(m, x, 32000, out, sizeof out / sizeof out[0]), EDGESTT_OK);
    CHECK(est_test_alloc_calls() == before);
    CHECK_ST(edgestt_log_mel(m, x, 32000, out, 80 * 3000 - 1), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_log_mel(m, NULL, 5, out, 80 * 3000), EDGESTT_E_INVALID_ARG);
    memcpy(filt, m->w.mel_filters, sizeof filt); /* the wrapper must pass the file's filters */
    size_t ss = est_log_mel_scratch_size(n_mels, n_frames);
    void *scratch = malloc(ss);
    CHECK(scratch);
    CHECK_ST(est_log_mel(x, 32000, filt, n_mels, n_frames, ref, scratch, ss), EDGESTT_OK);
    free(scratch);
    CHECK(!memcmp(out, ref, sizeof ref));
    CHECK(m->arena.hi == 0); /* scratch released */
    edgestt_close(m);
}

/* Every arena size below the plan fails cleanly.  With a 64-byte-aligned block the arena's usable
 * capacity is the size rounded down to 64, so one plan run per 64-byte bucket covers every size
 * from 0 up to the plan's high-water mark; sizes from there up to the planned size (which adds
 * alignment slack for unaligned caller buffers) are refused by open's capacity check, swept in
 * model_smaller_buffers_fail_with_nomem. */
static void plan_every_size(const char *name) {
    size_t size;
    uint8_t *img = slurp(est_test_model(name), &size);
    CHECK(img);
    est_whisper_probe pr;
    edgestt_diag d;
    edgestt_params p;
    edgestt_params_default(&p);
    CHECK_ST(est_whisper_probe_image(img, size, &pr, &d), EDGESTT_OK);
    est_arena a;
    est_model_plan pl;
    est_arena_init_measure(&a);
    CHECK_ST(est_model_plan_run(&pr, &p, &a, &pl), EDGESTT_OK);
    const size_t high = a.high_water;
    CHECK(high % 64 == 0 && pl.required == high + EST_ALIGN - 1);
    uint8_t *mem = aligned_alloc(64, high + 64);
    CHECK(mem);
    size_t cases = 0;
    for (size_t cap = 0; cap < high; cap += 64, cases++) {
        est_arena_init(&a, mem, cap + (cases % 64)); /* any size inside the bucket */
        int st = est_model_plan_run(&pr, &p, &a, &pl);
        CHECKF(st == EDGESTT_E_NOMEM, "%s: arena of %zu bytes (plan %zu) gave %d", name, cap, high, st);
        CHECK(a.lo + a.hi <= a.cap);
    }
    est_arena_init(&a, mem, high);
    CHECK_ST(est_model_plan_run(&pr, &p, &a, &pl), EDGESTT_OK);
    CHECK(cases == high / 64);
    free(mem);
    free(img);
}

TEST(model_plan_every_size_below_plan_fails) {
    plan_every_size("mini-en-f16.gguf");
    plan_every_size("mini-en-q4_0.bin");
}
