/*
 * fuzz_ggml_bin.c - libFuzzer harness: the bytes are a whisper.cpp legacy .bin image.
 *
 * 1. The reader alone (core/ggml_bin.c): est_ggml_bin_scan, then a table of the counted size and
 *    est_ggml_bin_fill, which must succeed on what the scan accepted; the mel filters, the word
 *    records and every tensor description must lie inside the image (core/modelfile.h).
 * 2. The whole open path (est_fuzz_model_image).
 *
 * Run: build/fuzz/fuzz_ggml_bin -max_len=131072 build/fuzz/work/ggml_bin tests/fuzz/corpus/ggml_bin
 * The corpus holds a complete tiny valid model (n_state 1, no stored words: ~105 KB, the token
 * embedding's 51864 rows dominate), so the binder and the tokenizer are reached too.
 */
#include <stdlib.h>
#include <string.h>

#include "../../core/ggml_bin.h"
#include "../../kernels/quant.h"
#include "fuzz.h"

static void fz_bin_reader(const uint8_t *data, size_t size) {
    est_ggml_bin b;
    edgestt_diag d;
    memset(&d, 0, sizeof d);
    int st = est_ggml_bin_scan(data, size, &b, &d);
    est_fuzz_check_status(st, &d);
    if (st) return;
    FZ_CHECK(b.data == data && b.size == size && b.tensors_at <= size);
    FZ_CHECK(b.mel_n_mel >= 0 && b.mel_n_fft >= 0 && b.mel >= data &&
             (uint64_t)b.mel_n_mel * (uint64_t)b.mel_n_fft * 4 <= (uint64_t)(size - (size_t)(b.mel - data)));
    FZ_CHECK(b.n_words >= 0 && b.words >= data && b.words_bytes <= size - (size_t)(b.words - data));
    FZ_CHECK(b.n_tensors <= size / 12);
    /* the word records tile words_bytes exactly */
    size_t pos = 0;
    for (int32_t i = 0; i < b.n_words && pos + 4 <= b.words_bytes; i++) pos += 4 + (size_t)est_rd_u32(b.words + pos);
    FZ_CHECK(pos == b.words_bytes);
    est_file_tensor *t = malloc((b.n_tensors ? (size_t)b.n_tensors : 1) * sizeof *t);
    if (!t) return;
    memset(&d, 0, sizeof d);
    st = est_ggml_bin_fill(&b, t, &d);
    FZ_CHECK(st == EDGESTT_OK); /* the fill never fails on a scanned image */
    const uint8_t *next = data + b.tensors_at;
    for (size_t i = 0; !st && i < (size_t)b.n_tensors; i++) {
        const est_file_tensor *x = &t[i];
        FZ_CHECK(x->n_dims >= 1 && x->n_dims <= EST_MAX_DIMS && est_type_supported(x->type));
        FZ_CHECK(x->ne[0] >= 1 && x->ne[1] >= 1 && x->ne[2] >= 1 && x->ne[3] >= 1);
        size_t nb = est_type_row_bytes(x->type, (uint64_t)x->ne[0]);
        for (int k = 1; k < EST_MAX_DIMS; k++) nb *= (size_t)x->ne[k];
        FZ_CHECK(nb == x->nbytes);
        /* records are back to back: header, dims, name, data */
        FZ_CHECK((const uint8_t *)x->name == next + 12 + 4 * (size_t)x->n_dims);
        FZ_CHECK(x->data == (const uint8_t *)x->name + x->name_len);
        FZ_CHECK(x->data >= data && x->nbytes <= size - (size_t)(x->data - data));
        next = x->data + x->nbytes;
    }
    if (!st) FZ_CHECK(next == data + size); /* the records run to the end of the file */
    free(t);
}

int est_fuzz_ggml_bin(const uint8_t *data, size_t size) {
    fz_bin_reader(data, size);
    est_fuzz_model_image(data, size, est_fuzz_hash(data, size < 4096 ? size : 4096) ^ (uint32_t)size);
    return 0;
}

#ifndef EST_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return est_fuzz_ggml_bin(data, size); }
#endif
