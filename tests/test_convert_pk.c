/*
 * test_convert_pk.c - edgestt_convert of a Parakeet GGUF (core/convert_pk.c): pk-mini (tests/pk_mini.h,
 * F32) to Q8_0, Q4_0 and F16.  Every matrix of the schema takes the type with the reference
 * quantizer's exact bytes (2-D when quantized), every other tensor is the input's bytes, the keys
 * are the input's (file type and CRCs anew); the output opens, checks complete and transcribes;
 * converting it again to its own type is byte-identical; --keep and a truncated input are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/edgestt.h"
#include "../core/gguf.h"
#include "../kernels/quant.h"
#include "pk_mini.h"
#include "test.h"

typedef struct pkc_buf {
    uint8_t *p;
    size_t n, cap;
} pkc_buf;

static int pkc_sink(void *user, int shard, int n_shards, uint64_t off, const void *data, size_t n) {
    pkc_buf *b = (pkc_buf *)user;
    if (shard != 0 || n_shards != 1) return 1;
    if (off + n > b->cap) {
        size_t c = (size_t)(off + n) * 2;
        uint8_t *q = realloc(b->p, c);
        if (!q) return 1;
        memset(q + b->cap, 0, c - b->cap);
        b->p = q, b->cap = c;
    }
    memcpy(b->p + off, data, n);
    if (off + n > b->n) b->n = (size_t)(off + n);
    return 0;
}

static int pkc_write(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, 1, n, f) == n;
    if (f && fclose(f)) ok = 0;
    return ok;
}

/* The tables of a GGUF image (malloc'd; NULL on a parse failure). */
static est_file_tensor *pkc_tables(const uint8_t *img, size_t size, est_gguf *g) {
    est_gguf_layout lay;
    size_t nkv, nt;
    if (est_gguf_scan(img, size, &lay, NULL, NULL, NULL) || est_gguf_table_counts(&lay, &nkv, &nt)) return NULL;
    est_gguf_kv *kv = calloc(nkv + 1, sizeof *kv);
    est_file_tensor *t = calloc(nt + 1, sizeof *t);
    if (!kv || !t || est_gguf_fill(img, size, &lay, kv, t, g, NULL)) {
        free(kv), free(t);
        return NULL;
    }
    return t;
}

static void pkc_case(const char *in_path, const uint8_t *img, size_t size, int type, int want_quant) {
    edgestt_convert_params p;
    edgestt_convert_params_default(&p);
    p.type = type;
    pkc_buf out = {0};
    edgestt_convert_report r;
    edgestt_diag d = {0};
    CHECK_ST(edgestt_convert(in_path, &p, pkc_sink, &out, &r, &d), EDGESTT_OK);
    CHECK(r.n_shards == 1 && r.bytes == out.n && r.n_tensors == 81 && r.n_by_type[type] == want_quant);
    est_gguf gi, go;
    est_file_tensor *ti = pkc_tables(img, size, &gi), *to = pkc_tables(out.p, out.n, &go);
    CHECK(ti && to && gi.lay.n_tensors == go.lay.n_tensors);
    int n_typed = 0, bad = 0;
    for (uint64_t i = 0; ti && to && i < gi.lay.n_tensors && i < go.lay.n_tensors; i++) {
        const est_file_tensor *a = &ti[i], *b = &to[i];
        if (a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len)) bad++;
        const int64_t n = a->ne[0] * a->ne[1] * a->ne[2] * a->ne[3];
        if (b->type == EDGESTT_TYPE_F32) { /* everything but the matrices: the input's bytes */
            if (b->nbytes != a->nbytes || memcmp(a->data, b->data, a->nbytes)) bad++;
            continue;
        }
        n_typed++;
        if (b->type != type) bad++;
        /* the reference conversion of the input's values, byte for byte */
        uint8_t *want = malloc(b->nbytes);
        const float *x = (const float *)(const void *)a->data;
        if (type == EDGESTT_TYPE_Q8_0) est_quantize_row_q8_0_ref(x, want, n);
        else if (type == EDGESTT_TYPE_Q4_0) est_quantize_row_q4_0_ref(x, want, n);
        else
            for (int64_t j = 0; j < n; j++) {
                const uint16_t h = est_f32_to_f16(x[j]);
                memcpy(want + 2 * j, &h, 2);
            }
        if (memcmp(want, b->data, b->nbytes)) bad++;
        if (type != EDGESTT_TYPE_F16 && (b->n_dims != 2 || b->ne[1] != a->ne[a->n_dims - 1])) bad++;
        free(want);
    }
    CHECKF(bad == 0 && n_typed == want_quant, "type %d: %d mismatches, %d typed tensors", type, bad, n_typed);
    /* the keys: the input's (general.architecture etc.), the file type of the output */
    uint32_t ft = 99;
    CHECK(est_gguf_get_u32(go.kv, go.lay.n_kv, "general.file_type", &ft, NULL) == 0 &&
          ft == (type == EDGESTT_TYPE_Q8_0 ? 7u : type == EDGESTT_TYPE_Q4_0 ? 2u : 1u));
    int kv_bad = 0;
    for (uint64_t i = 0; i < gi.lay.n_kv; i++) { /* every other key copied, value bytes and all */
        const est_gguf_kv *a = &gi.kv[i];
        char key[128];
        if (a->key_len >= sizeof key) continue;
        memcpy(key, a->key, a->key_len), key[a->key_len] = 0;
        if (!strcmp(key, "general.file_type") || !strcmp(key, "general.alignment") || !strcmp(key, "edgestt.crc32"))
            continue;
        const int64_t j = est_gguf_find(go.kv, go.lay.n_kv, key);
        if (j < 0 || go.kv[j].type != a->type || go.kv[j].end - go.kv[j].val != a->end - a->val ||
            memcmp(go.kv[j].val, a->val, (size_t)(a->end - a->val)))
            kv_bad++;
    }
    CHECKF(kv_bad == 0, "%d keys not copied", kv_bad);
    /* it opens, checks complete (CRCs) and transcribes */
    char path[256];
    snprintf(path, sizeof path, "%s", est_test_tmp(type == EDGESTT_TYPE_Q8_0 ? "pkc-q8_0.gguf" : "pkc-other.gguf"));
    CHECK(pkc_write(path, out.p, out.n));
    CHECK(edgestt_check(path, 0, &d) == EDGESTT_CHECK_COMPLETE);
    edgestt_model *m = NULL;
    CHECK_ST(edgestt_open(path, NULL, NULL, 0, &m, &d), EDGESTT_OK);
    edgestt_model_info info;
    CHECK_ST(edgestt_model_get_info(m, &info), EDGESTT_OK);
    CHECK(!strcmp(info.arch, "parakeet") && info.n_by_type[type] > 0);
    size_t nw = 0;
    float *pcm = est_test_load_wav("jfk.wav", &nw);
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.beam_size = 1;
    edgestt_state *s = NULL;
    CHECK_ST(edgestt_state_init(m, &fp, NULL, 0, &s, &d), EDGESTT_OK);
    CHECK(pcm && edgestt_transcribe(s, pcm, 48000, &fp) == EDGESTT_OK && edgestt_n_tokens(s) > 0);
    edgestt_state_free(s);
    edgestt_close(m);
    free(pcm);
    /* again to its own type: the same bytes */
    pkc_buf again = {0};
    CHECK_ST(edgestt_convert(path, &p, pkc_sink, &again, NULL, &d), EDGESTT_OK);
    CHECK(again.n == out.n && !memcmp(again.p, out.p, out.n));
    free(again.p);
    free(gi.kv), free(ti), free(go.kv), free(to);
    free(out.p);
}

TEST(convert_parakeet_gguf) {
    size_t size = 0;
    uint8_t *img = est_test_pk_mini(0, "parakeet", &size);
    CHECKF(img, "pk-mini image (tests/data/parakeet goldens missing?)");
    char in[256];
    snprintf(in, sizeof in, "%s", est_test_tmp("pkc-f32.gguf"));
    CHECK(pkc_write(in, img, size));
    /* pk-mini's matrices: 2 x 11 encoder, 2 pre-encode pointwise + out, embed, 2 LSTM, 3 joint = 31 */
    pkc_case(in, img, size, EDGESTT_TYPE_Q8_0, 31);
    pkc_case(in, img, size, EDGESTT_TYPE_Q4_0, 31);
    pkc_case(in, img, size, EDGESTT_TYPE_F16, 31);
    /* refusals, one line: --keep patterns; a truncated input */
    edgestt_convert_params p;
    edgestt_convert_params_default(&p);
    const char *keep[1] = {"joint.*=f32"};
    p.keep = keep, p.n_keep = 1;
    pkc_buf out = {0};
    edgestt_diag d = {0};
    CHECK_ST(edgestt_convert(in, &p, pkc_sink, &out, NULL, &d), EDGESTT_E_UNSUPPORTED);
    CHECK(strstr(d.msg, "keep") != NULL && !strchr(d.msg, '\n'));
    p.n_keep = 0;
    CHECK(pkc_write(in, img, size / 2));
    CHECK(edgestt_convert(in, &p, pkc_sink, &out, NULL, &d) != EDGESTT_OK && d.msg[0] && !strchr(d.msg, '\n'));
    CHECK(out.n == 0); /* nothing written */
    free(out.p);
    free(img);
}
