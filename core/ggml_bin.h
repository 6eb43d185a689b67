/*
 * ggml_bin.h - reader for whisper.cpp's legacy ggml-*.bin model files over a byte range.
 *
 * Layout (all little-endian, nothing aligned): u32 magic 0x67676d6c; 11 i32 hparams (n_vocab,
 * n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head,
 * n_text_layer, n_mels, ftype with the quantization version folded in as ftype / 1000); mel filters
 * (i32 n_mel, i32 n_fft, n_mel * n_fft f32); vocabulary (i32 count, then per word u32 length +
 * raw bytes); then tensor records to the end of the file: i32 n_dims, i32 name length, i32 ggml
 * type, n_dims i32 dims (ne0 first), the name, the data.  Tensor data is used in place.
 *
 * Like gguf.c: est_ggml_bin_scan validates everything and counts the tensors without storing;
 * est_ggml_bin_fill walks the records again into a caller-reserved table.  A record cut short by
 * the end of the file is EDGESTT_E_TRUNCATED.  Hparam values are not judged here (the model
 * binder does that); only what the reader itself needs (counts, lengths) is checked.
 */
#ifndef EST_GGML_BIN_H
#define EST_GGML_BIN_H

#include "modelfile.h"

#define EST_GGML_MAGIC 0x67676d6cu
#define EST_GGML_N_HPARAMS 11
#define EST_GGML_QNT_VERSION_FACTOR 1000

enum {
    EST_BIN_N_VOCAB, EST_BIN_N_AUDIO_CTX, EST_BIN_N_AUDIO_STATE, EST_BIN_N_AUDIO_HEAD,
    EST_BIN_N_AUDIO_LAYER, EST_BIN_N_TEXT_CTX, EST_BIN_N_TEXT_STATE, EST_BIN_N_TEXT_HEAD,
    EST_BIN_N_TEXT_LAYER, EST_BIN_N_MELS, EST_BIN_FTYPE
};

typedef struct est_ggml_bin {
    const uint8_t *data;       /* the image */
    size_t size;
    int32_t hp[EST_GGML_N_HPARAMS]; /* as stored (hp[EST_BIN_FTYPE] still has the version folded in) */
    int32_t ftype;             /* hp[EST_BIN_FTYPE] % 1000 */
    int32_t qnt_version;       /* hp[EST_BIN_FTYPE] / 1000 */
    int32_t mel_n_mel, mel_n_fft;
    const uint8_t *mel;        /* [mel_n_mel][mel_n_fft] f32, unaligned */
    int32_t n_words;           /* vocabulary entries stored */
    const uint8_t *words;      /* first word record (u32 length + bytes) */
    size_t words_bytes;        /* bytes of all word records */
    size_t tensors_at;         /* offset of the first tensor record */
    uint64_t n_tensors;
    est_file_tensor *tensors;  /* [n_tensors] after est_ggml_bin_fill */
} est_ggml_bin;

EST_HIDDEN int est_ggml_bin_scan(const void *data, size_t size, est_ggml_bin *b, edgestt_diag *diag);
/* The same in two steps, so a caller can judge the header before the tensor walk: header, mel
 * filters and vocabulary; then the tensor records (sets n_tensors). */
EST_HIDDEN int est_ggml_bin_scan_header(const void *data, size_t size, est_ggml_bin *b, edgestt_diag *diag);
EST_HIDDEN int est_ggml_bin_scan_tensors(est_ggml_bin *b, edgestt_diag *diag);
EST_HIDDEN int est_ggml_bin_fill(est_ggml_bin *b, est_file_tensor *tab, edgestt_diag *diag);

#endif
