/* edge-stt-vad.h - `edge-stt --vad` (examples/edge-stt-vad.c): find and open the Silero VAD model,
 * cut a recording down to its speech and map times of the cut audio back to the file's timeline. */
#ifndef EDGE_STT_VAD_H
#define EDGE_STT_VAD_H

#include <stddef.h>
#include <stdint.h>

#include "edgestt.h"

/* One speech segment placed in the cut audio: samples [at, at + len) there are [orig, orig + len)
 * of the file. */
typedef struct edge_stt_vad_piece {
    int64_t at, orig, len;
} edge_stt_vad_piece;

typedef struct edge_stt_vad_map {
    edge_stt_vad_piece *p; /* malloc'd, n entries in order */
    size_t n;
} edge_stt_vad_map;

/* Open the VAD model: path if given, else $EDGESTT_VAD_MODEL, else models/silero-vad-v5.gguf of
 * the source tree the program was built in (<dir of the program>/../../models/), else
 * <dir of the program>/../share/edge-stt/silero-vad-v5.gguf (make install).  *used names the
 * file tried last (for messages; static storage). */
edgestt_status edge_stt_vad_open(const char *path, edgestt_vad **out, const char **used, edgestt_diag *diag);

/* The speech of pcm (get_speech_timestamps defaults) joined with 0.1 s of silence between the
 * segments: *out (malloc'd; NULL with *n_out 0 when there is no speech) and the map.  -1 when out
 * of memory or the VAD fails. */
int edge_stt_vad_cut(edgestt_vad *vad, const float *pcm, size_t n, float **out, size_t *n_out,
                     edge_stt_vad_map *map);

/* A time of the cut audio (ms) in the file's timeline: inside a piece, shifted with it; in a gap,
 * the end of the piece before it.  A NULL map returns ms unchanged. */
int64_t edge_stt_vad_map_ms(const edge_stt_vad_map *map, int64_t ms);

void edge_stt_vad_map_free(edge_stt_vad_map *map);

#endif
