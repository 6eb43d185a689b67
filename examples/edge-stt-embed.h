/* edge-stt-embed.h - the model linked into the edge-stt program (examples/edge-stt-embed.c) and
 * opening "the model": a path, or the embedded one when the path is NULL. */
#ifndef EDGE_STT_EMBED_H
#define EDGE_STT_EMBED_H

#include <stddef.h>

#include "edgestt.h"

/* The embedded model's bytes (64-byte aligned, in .rodata) and size; size 0 when the program was
 * built without one (make EMBED_MODEL= ...). */
const unsigned char *edge_stt_embedded_model(size_t *size);
/* Name shown for the embedded model ("embedded:<file name>"); "" when there is none. */
const char *edge_stt_embedded_name(void);
/* Open path, or (path NULL) the embedded model from memory, nothing copied. */
edgestt_status edge_stt_open_model(const char *path, const edgestt_params *params, edgestt_model **out,
                                   edgestt_diag *diag);

#endif
