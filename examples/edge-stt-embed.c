/*
 * edge-stt-embed.c - links a model file into the program's .rodata with an .incbin assembly stub
 * (64-byte aligned, hidden symbols), so `edge-stt clip.wav` works with no model argument: the
 * library opens it with edgestt_open_memory and uses the weights in place (nothing is copied; the
 * pages come from the executable's mapping).
 *
 * The Makefile passes EDGE_STT_EMBED_PATH (the file) and EDGE_STT_EMBED_NAME (its base name) when
 * EMBED_MODEL is set; without them the program has no embedded model.
 */
#include "edge-stt-embed.h"

#include <stdio.h>
#include <string.h>


#ifdef EDGE_STT_EMBED_PATH
__asm__(".section .rodata\n"
        ".balign 64\n"
        ".globl edge_stt_blob_begin\n"
        ".hidden edge_stt_blob_begin\n"
        "edge_stt_blob_begin:\n"
        ".incbin \"" EDGE_STT_EMBED_PATH "\"\n"
        ".globl edge_stt_blob_end\n"
        ".hidden edge_stt_blob_end\n"
        "edge_stt_blob_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const unsigned char edge_stt_blob_begin[];
extern const unsigned char edge_stt_blob_end[];

const unsigned char *edge_stt_embedded_model(size_t *size) {
    *size = (size_t)(edge_stt_blob_end - edge_stt_blob_begin);
    return edge_stt_blob_begin;
}
const char *edge_stt_embedded_name(void) { return "embedded:" EDGE_STT_EMBED_NAME; }
#else
const unsigned char *edge_stt_embedded_model(size_t *size) {
    *size = 0;
    return NULL;
}
const char *edge_stt_embedded_name(void) { return ""; }
#endif

edgestt_status edge_stt_open_model(const char *path, const edgestt_params *params, edgestt_model **out,
                                   edgestt_diag *diag) {
    if (path) return edgestt_open(path, params, NULL, 0, out, diag);
    size_t size;
    const unsigned char *blob = edge_stt_embedded_model(&size);
    if (!size) {
        if (diag) snprintf(diag->msg, sizeof diag->msg, "no model: give -m MODEL (this program has none embedded)");
        return EDGESTT_E_INVALID_ARG;
    }
    return edgestt_open_memory(blob, size, params, NULL, 0, out, diag);
}
