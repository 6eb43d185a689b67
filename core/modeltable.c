/*
 * modeltable.c - the Whisper family (dimensions, names) and the convert type policy.  Parameter
 * counts and byte sizes are computed from the dimensions (not typed in); tests/test_convert.c checks
 * them against the tensors of generated models.
 */
#include "modeltable.h"

#include "../kernels/quant.h"
#include "mel.h"

#define EN 51864
#define MULTI 51865
#define V3 51866

/* name, whisper.cpp file, HF name, n_vocab, n_mels, audio ctx, text ctx, state, heads, enc layers, dec layers */
/* Weight elements (every bound tensor, mel filters excluded): encoder conv1/conv2 + biases, positional,
 * ln_post, 12 S^2 + 12 S per encoder layer; decoder token + positional embedding, ln, 16 S^2 + 17 S
 * per decoder layer (self and cross attention: 4 S^2 + 3 S each). */
#define PARAMS(V, M, S, LE, LD)                                                                    \
    ((int64_t)(S) * (M) * 3 + 3 * (int64_t)(S) * (S) + 1500 * (int64_t)(S) + 4 * (int64_t)(S) +         \
     (int64_t)(LE) * (12 * (int64_t)(S) * (S) + 12 * (int64_t)(S)) + (int64_t)(V) * (S) + 450 * (int64_t)(S) + \
     (int64_t)(LD) * (16 * (int64_t)(S) * (S) + 17 * (int64_t)(S)))
#define W(name, file, hf, V, M, S, H, LE, LD) {name, file, hf, V, M, 1500, 448, S, H, LE, LD, PARAMS(V, M, S, LE, LD)}

static const edgestt_model_desc table[] = {
    W("tiny.en", "ggml-tiny.en.bin", "openai/whisper-tiny.en", EN, 80, 384, 6, 4, 4),
    W("tiny", "ggml-tiny.bin", "openai/whisper-tiny", MULTI, 80, 384, 6, 4, 4),
    W("base.en", "ggml-base.en.bin", "openai/whisper-base.en", EN, 80, 512, 8, 6, 6),
    W("base", "ggml-base.bin", "openai/whisper-base", MULTI, 80, 512, 8, 6, 6),
    W("small.en", "ggml-small.en.bin", "openai/whisper-small.en", EN, 80, 768, 12, 12, 12),
    W("small", "ggml-small.bin", "openai/whisper-small", MULTI, 80, 768, 12, 12, 12),
    W("medium.en", "ggml-medium.en.bin", "openai/whisper-medium.en", EN, 80, 1024, 16, 24, 24),
    W("medium", "ggml-medium.bin", "openai/whisper-medium", MULTI, 80, 1024, 16, 24, 24),
    W("large-v1", "ggml-large-v1.bin", "openai/whisper-large", MULTI, 80, 1280, 20, 32, 32),
    W("large-v2", "ggml-large-v2.bin", "openai/whisper-large-v2", MULTI, 80, 1280, 20, 32, 32),
    W("large-v3", "ggml-large-v3.bin", "openai/whisper-large-v3", V3, 128, 1280, 20, 32, 32),
    {"large-v3-turbo", "ggml-large-v3-turbo.bin", "openai/whisper-large-v3-turbo", V3, 128, 1500, 448, 1280, 20,
     32, 4, 0},
};
#define N_TABLE ((int)(sizeof table / sizeof table[0]))

int edgestt_model_table(const edgestt_model_desc **out) {
    if (out) *out = table;
    return N_TABLE;
}

int edgestt_model_table_find(const edgestt_model_info *in) {
    if (!in) return -1;
    for (int i = 0; i < N_TABLE; i++) {
        const edgestt_model_desc *d = &table[i];
        if (d->n_vocab == in->n_vocab && d->n_mels == in->n_mels && d->n_audio_ctx == in->n_audio_ctx &&
            d->n_text_ctx == in->n_text_ctx && d->n_state == in->n_audio_state && d->n_state == in->n_text_state &&
            d->n_head == in->n_audio_head && d->n_head == in->n_text_head && d->n_audio_layer == in->n_audio_layer &&
            d->n_text_layer == in->n_text_layer)
            return i;
    }
    return -1;
}

int est_modeltable_file_type(int type) {
    switch (type) {
    case EDGESTT_TYPE_F32: return 0;
    case EDGESTT_TYPE_F16: return 1;
    case EDGESTT_TYPE_Q4_0: return 2;
    default: return 7; /* GGML_FTYPE_MOSTLY_Q8_0 */
    }
}

int est_modeltable_policy(int cls, int type) {
    if (type == EDGESTT_TYPE_F32 || cls == EST_TC_F32) return EDGESTT_TYPE_F32;
    if (cls == EST_TC_CONV) return EDGESTT_TYPE_F16;
    return type;
}

static int ends_with(const char *s, size_t n, const char *suf) {
    size_t k = strlen(suf);
    return n >= k && !memcmp(s + n - k, suf, k);
}

static int contains(const char *s, size_t n, const char *sub) {
    size_t k = strlen(sub);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(s + i, sub, k)) return 1;
    return 0;
}

int est_modeltable_class(const char *name, size_t len) {
    if (ends_with(name, len, ".bias") || contains(name, len, "_ln.") || contains(name, len, "ln_post.") ||
        contains(name, len, "positional_embedding") || (len == 11 && !memcmp(name, "mel_filters", 11)) ||
        (len >= 11 && !memcmp(name, "decoder.ln.", 11)))
        return EST_TC_F32;
    if (ends_with(name, len, "conv1.weight") || ends_with(name, len, "conv2.weight")) return EST_TC_CONV;
    return EST_TC_MATRIX;
}

/* Bytes of rows x ne0 elements of type (0 for an unknown type). */
static uint64_t tb(int type, int64_t ne0, int64_t rows) {
    return (uint64_t)est_type_row_bytes(type, (uint64_t)ne0) * (uint64_t)rows;
}

uint64_t edgestt_model_desc_weight_bytes(const edgestt_model_desc *d, int type) {
    if (!d || !est_type_supported(type)) return 0;
    const int64_t S = d->n_state;
    int mt = est_modeltable_policy(EST_TC_MATRIX, type), ct = est_modeltable_policy(EST_TC_CONV, type);
    uint64_t b = tb(EDGESTT_TYPE_F32, EST_MEL_N_BINS, d->n_mels);
    b += tb(ct, 3, (int64_t)d->n_mels * S) + tb(ct, 3, S * S);
    b += tb(EDGESTT_TYPE_F32, S, 2 + d->n_audio_ctx + 2); /* conv biases, positional, ln_post */
    b += (uint64_t)d->n_audio_layer * (4 * tb(mt, S, S) + tb(mt, S, 4 * S) + tb(mt, 4 * S, S) +
                                       tb(EDGESTT_TYPE_F32, S, 12));
    b += tb(mt, S, d->n_vocab) + tb(EDGESTT_TYPE_F32, S, d->n_text_ctx + 2);
    b += (uint64_t)d->n_text_layer * (8 * tb(mt, S, S) + tb(mt, S, 4 * S) + tb(mt, 4 * S, S) +
                                      tb(EDGESTT_TYPE_F32, S, 17));
    return b;
}
