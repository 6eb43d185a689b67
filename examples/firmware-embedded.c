/*
 * firmware-embedded.c - edge-stt the way a firmware image uses it: no filesystem, no heap.
 *
 *   - the model is linked into .rodata (examples/edge-stt-embed.c, make EMBED_MODEL=...) and opened
 *     in place with edgestt_open_memory: the weights are read from flash/ROM, never copied;
 *   - the audio is a const array in the image too (a WAV linked with .incbin, decoded into a static
 *     PCM buffer; a device would fill that buffer from its microphone DMA instead);
 *   - the model handle and the transcription state live in fixed static buffers; their sizes are
 *     compile-time constants checked against edgestt_mem_size_memory / edgestt_state_mem_size at
 *     start-up (a firmware build would size them from those calls once, offline);
 *   - one thread, greedy decoding (the smallest state).
 * printf stands in for the UART.  Build: make (target build/<target>/firmware-embedded, also for
 * CROSS=aarch64-linux-gnu-).  The library itself still needs its port/ layer (clock, threads).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "edge-stt-embed.h"
#include "edgestt.h"

#ifndef FW_WAV_PATH
#error "FW_WAV_PATH (the WAV linked as the audio array) is set by the Makefile"
#endif

/* The audio: a WAV image as a const byte array in .rodata. */
__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl fw_wav_begin\n"
        ".hidden fw_wav_begin\n"
        "fw_wav_begin:\n"
        ".incbin \"" FW_WAV_PATH "\"\n"
        ".globl fw_wav_end\n"
        ".hidden fw_wav_end\n"
        "fw_wav_end:\n"
        ".previous\n");
extern const unsigned char fw_wav_begin[];
extern const unsigned char fw_wav_end[];

#define FW_MAX_SECONDS 30
#define FW_MODEL_ARENA (1u << 20)   /* model handle: tables and the tokenizer, not the weights */
#define FW_STATE_ARENA (48u << 20)  /* activations, K/V caches, decoder search, results */

static float pcm[16000 * FW_MAX_SECONDS];                        /* 16 kHz mono */
static _Alignas(64) unsigned char model_arena[FW_MODEL_ARENA];
static _Alignas(64) unsigned char state_arena[FW_STATE_ARENA];
static char text[4096];

int main(void) {
    size_t model_size;
    const unsigned char *model = edge_stt_embedded_model(&model_size);
    if (!model_size) {
        printf("firmware: no model linked in (build with make EMBED_MODEL=path/to/model-q8_0.gguf)\n");
        return 1;
    }
    edgestt_diag d;
    d.msg[0] = 0;
    /* the audio: parse the linked WAV and decode it into the static buffer */
    const size_t wav_size = (size_t)(fw_wav_end - fw_wav_begin);
    edgestt_wav_info wi;
    size_t scratch = 0;
    if (edgestt_wav_parse(fw_wav_begin, wav_size, &wi, &d) || edgestt_wav_scratch_size(&wi, &scratch) || scratch ||
        wi.n_samples_16k > sizeof pcm / sizeof pcm[0]) {
        printf("firmware: the linked WAV must be 16 kHz and at most %d s (%s)\n", FW_MAX_SECONDS, d.msg);
        return 1;
    }
    if (edgestt_wav_decode(fw_wav_begin, wav_size, &wi, pcm, NULL, 0, &d)) {
        printf("firmware: WAV: %s\n", d.msg);
        return 1;
    }
    const size_t n = (size_t)wi.n_samples_16k;

    /* the model, in place, its handle in a static buffer */
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.n_threads = 1;
    mp.beam_size = 1;
    size_t need = 0;
    if (edgestt_mem_size_memory(model, model_size, &mp, &need, &d) || need > sizeof model_arena) {
        printf("firmware: model handle needs %zu bytes, FW_MODEL_ARENA is %zu (%s)\n", need, sizeof model_arena, d.msg);
        return 1;
    }
    edgestt_model *m = NULL;
    if (edgestt_open_memory(model, model_size, &mp, model_arena, sizeof model_arena, &m, &d)) {
        printf("firmware: model: %s\n", d.msg);
        return 1;
    }

    /* one state, greedy, in the other static buffer */
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.n_threads = 1;
    fp.beam_size = 0;
    fp.best_of = 1;
    fp.max_tokens = 1024;
    fp.max_segments = 64;
    fp.max_prompt_bytes = 0;
    size_t state_need = 0;
    if (edgestt_state_mem_size(m, &fp, &state_need, &d) || state_need > sizeof state_arena) {
        printf("firmware: state needs %zu bytes, FW_STATE_ARENA is %zu (%s)\n", state_need, sizeof state_arena, d.msg);
        edgestt_close(m);
        return 1;
    }
    edgestt_state *s = NULL;
    if (edgestt_state_init(m, &fp, state_arena, sizeof state_arena, &s, &d)) {
        printf("firmware: state: %s\n", d.msg);
        edgestt_close(m);
        return 1;
    }
    int st = edgestt_transcribe(s, pcm, n, &fp);
    size_t len = 0;
    if (!st) st = edgestt_full_text(s, text, sizeof text, &len);
    if (st) {
        printf("firmware: transcribe: %s\n", edgestt_state_error(s)[0] ? edgestt_state_error(s) : edgestt_strerror(st));
    } else {
        edgestt_model_info in;
        edgestt_model_get_info(m, &in);
        printf("model %s: %zu bytes in .rodata (mapped %d), handle %zu / state %zu bytes in static buffers\n",
               edge_stt_embedded_name(), model_size, in.mapped, need, state_need);
        printf("audio %.2f s: %s\n", (double)n / 16000.0, text);
    }
    edgestt_state_free(s);
    edgestt_close(m);
    return st ? 1 : 0;
}
