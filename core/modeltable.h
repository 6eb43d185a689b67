/*
 * modeltable.h - the Whisper family table (public view in edgestt.h: edgestt_model_table) and the
 * convert type policy it shares with core/convert.c, so info, check and convert agree.
 */
#ifndef EST_MODELTABLE_H
#define EST_MODELTABLE_H

#include "internal.h"

/* Tensor classes of the type policy. */
enum { EST_TC_F32 = 0, EST_TC_CONV = 1, EST_TC_MATRIX = 2 };

/* Class of an OpenAI-named Whisper tensor with n_dims stored dims: mel filters, norms, biases and
 * positional embeddings EST_TC_F32; encoder.conv{1,2}.weight EST_TC_CONV; the rest (linear
 * weights, token embedding) EST_TC_MATRIX. */
EST_HIDDEN int est_modeltable_class(const char *name, size_t len);
/* The type a class takes when the file's type is type (F32 files are all F32). */
EST_HIDDEN int est_modeltable_policy(int cls, int type);
/* ggml's general.file_type number for a file whose matrices are type (F32 0, F16 1, Q4_0 2, Q8_0 7). */
EST_HIDDEN int est_modeltable_file_type(int type);

#endif
