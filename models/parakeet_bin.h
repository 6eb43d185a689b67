/*
 * parakeet_bin.h - whisper.cpp's Parakeet ggml .bin layout (as its convert-parakeet-to-ggml.py and
 * parakeet-quantize write it) bound into an est_pk_model (models/parakeet.h); the layout is
 * described in models/parakeet-bin.md.
 *
 * Same two-call contract as est_pk_open_size / est_pk_open: the handle (model, layer table and the
 * few copies the layout forces: F32 vectors, which the file stores unaligned; the LSTM weights,
 * whose gates the peer stores as i, f, o, g; the vocabulary as GGUF strings) is planned by the
 * code that places it.  Weight matrices and the embedding stay in the image (zero copy); the
 * image must outlive the handle.
 */
#ifndef EST_PARAKEET_BIN_H
#define EST_PARAKEET_BIN_H

#include "parakeet.h"

/* 1 if the image looks like a Parakeet .bin (ggml magic, sub-sampling 8 and a filter-bank header
 * that agrees with n_mels / n_fft); a whisper.cpp Whisper .bin does not. */
EST_HIDDEN int est_pkbin_detect(const void *image, size_t size);
/* Bytes est_pkbin_open needs (validates the whole image). */
EST_HIDDEN int est_pkbin_open_size(const void *image, size_t size, size_t *bytes, edgestt_diag *diag);
/* Place the handle in mem[0, mem_size) and bind every tensor. */
EST_HIDDEN int est_pkbin_open(const void *image, size_t size, const est_kernels *kt, void *mem, size_t mem_size,
                              est_pk_model **out, edgestt_diag *diag);
/* edgestt_convert of a Parakeet .bin (est_pkbin_detect): this project's parakeet GGUF
 * (models/parakeet-gguf.md, parakeet.xscaling 0 as the peer), one file; 2-D weight matrices as
 * p->type (kept bit for bit when the type stays), everything else F32; LSTM gates back in
 * PyTorch's order, bias_h written as bias_hh; keep patterns refused, shard_bytes ignored. */
EST_HIDDEN int est_pkbin_convert(const void *image, size_t size, const edgestt_convert_params *p,
                                 edgestt_sink_fn sink, void *user, edgestt_convert_report *rep,
                                 edgestt_diag *diag);

#endif
