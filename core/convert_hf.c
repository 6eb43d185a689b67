/*
 * convert_hf.c - Hugging Face Whisper checkpoints as a convert input (not yet implemented).
 */
#include "convert.h"

int est_convert_hf(const char *path, const edgestt_convert_params *p, edgestt_sink_fn sink, void *user,
                   edgestt_convert_report *rep, edgestt_diag *diag) {
    (void)p, (void)sink, (void)user, (void)rep;
    return est_diag(diag, EDGESTT_E_UNSUPPORTED, "convert: %s is not a GGUF or .bin model", path);
}
