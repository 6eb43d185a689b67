/* edge-stt-score.h - transcript scoring for `edge-stt eval` (examples/edge-stt-score.c): an English
 * text normaliser after OpenAI whisper's EnglishTextNormalizer (the parts listed in the .c file)
 * and word / character edit distances.  Host code (malloc), also compiled into the test binary. */
#ifndef EDGE_STT_SCORE_H
#define EDGE_STT_SCORE_H

#include <stddef.h>

/* Normalise UTF-8 text s into out (cap bytes incl. NUL); returns the full length of the result
 * (the output is cut when that is >= cap). */
size_t est_score_normalize(const char *s, char *out, size_t cap);

/* Edit counts of one hypothesis against one reference, both already normalised. */
typedef struct est_score {
    long word_errors, ref_words;  /* Levenshtein over space-separated words */
    long char_errors, ref_chars;  /* Levenshtein over bytes (spaces included, as jiwer's cer) */
} est_score;

/* Score hyp against ref (normalised strings); returns 0, or -1 when out of memory. */
int est_score_pair(const char *ref, const char *hyp, est_score *out);

#endif
