/*
 * status.c - status code strings and weight type names (public, thread-safe, static data only).
 */
#include "internal.h"

const char *edgestt_strerror(int status) {
    switch (status) {
    case EDGESTT_OK: return "ok";
    case EDGESTT_E_INVALID_ARG: return "invalid argument";
    case EDGESTT_E_NOMEM: return "arena too small (out of planned memory)";
    case EDGESTT_E_IO: return "i/o error (cannot open, map or read file)";
    case EDGESTT_E_FORMAT: return "malformed or corrupt input";
    case EDGESTT_E_TRUNCATED: return "input is truncated";
    case EDGESTT_E_UNSUPPORTED: return "unsupported format, version or type";
    case EDGESTT_E_MODEL: return "model tensor missing, duplicated, misshaped or wrongly typed";
    case EDGESTT_E_LIMIT: return "dimension or size beyond the engine's limits";
    case EDGESTT_E_NOT_FOUND: return "not found";
    case EDGESTT_E_INTERNAL: return "internal error (a bug in edge-stt)";
    default: return "unknown status";
    }
}

const char *edgestt_type_name(int type) {
    switch (type) {
    case EDGESTT_TYPE_F32: return "f32";
    case EDGESTT_TYPE_F16: return "f16";
    case EDGESTT_TYPE_Q4_0: return "q4_0";
    case EDGESTT_TYPE_Q8_0: return "q8_0";
    default: return "?";
    }
}

const char *edgestt_kv_type_name(int kv_type) {
    return kv_type == EDGESTT_KV_F16 ? "f16" : kv_type == EDGESTT_KV_F32 ? "f32" : "?";
}

void edgestt_params_default(edgestt_params *p) {
    if (!p) return;
    p->n_threads = 1;
    p->beam_size = 5;
    p->max_audio_windows = 1;
    p->kernels = NULL;
    p->max_memory = 0;
    p->kv_type = EDGESTT_KV_F16;
}
