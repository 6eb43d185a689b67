/*
 * bpe.h - text -> token ids for Whisper vocabularies, as tiktoken does it (internal; core/bpe.c).
 *
 * Pre-tokenisation: GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * scanned by hand over UTF-8 (Unicode 14 letter / number classes, whitespace = Python's str.isspace,
 * exactly what tests/reference/tokenizer_ref.py uses).  Bytes that are not valid UTF-8 count as
 * one "other" character each.  Each piece is then merged byte-pair style where the rank of a byte
 * string is its token id (only ids below eot): repeatedly merge the leftmost adjacent pair whose
 * concatenation has the lowest rank; a piece that is itself a token is taken whole.
 *
 * The bytes -> id table is an open-addressing hash of token ids (the bytes stay in the tokenizer),
 * planned in the caller's arena (the model handle has no reverse table).  Duplicate byte strings
 * keep their lowest id, as tiktoken's rank dictionary does.
 */
#ifndef EST_BPE_H
#define EST_BPE_H

#include "tokenizer.h"

typedef struct est_bpe {
    const est_tokenizer *tok;
    int32_t *slots;      /* [mask + 1] token id, -1 = empty */
    uint32_t mask;       /* slot count - 1 (a power of two >= 2 * n_ranks) */
    int n_ranks;         /* ids [0, n_ranks) are mergeable: min(n_text, eot) */
    int max_token_bytes; /* longest byte string of any id (specials' textual forms included) */
} est_bpe;

/* Reserve the table in a (measuring or placing) and, when placing, fill it from tok (which must
 * stay valid as long as b is used). */
EST_HIDDEN int est_bpe_plan(const est_tokenizer *tok, est_arena *a, est_bpe *b);

/* Id of the token with exactly these bytes among the ranks, or -1. */
EST_HIDDEN int est_bpe_lookup(const est_bpe *b, const uint8_t *s, size_t n);

/* End (exclusive) of the pre-tokeniser piece that starts at text[pos] (pos < n). */
EST_HIDDEN size_t est_bpe_next_piece(const uint8_t *text, size_t n, size_t pos);

/* Character class the pre-tokeniser uses for code point cp: 0 other, 1 letter (\p{L}),
 * 2 number (\p{N}), 3 whitespace. */
EST_HIDDEN int est_bpe_char_class(uint32_t cp);

/* Scratch bytes est_bpe_encode needs for pieces up to max_piece bytes. */
EST_HIDDEN size_t est_bpe_scratch_size(size_t max_piece);

/* Encode n bytes of UTF-8.  ids (cap entries) receives the LAST min(cap, total) ids in order,
 * *n_total the number of ids of the whole text (may exceed cap).  EDGESTT_E_LIMIT if one piece is
 * longer than the scratch allows. */
EST_HIDDEN int est_bpe_encode(const est_bpe *b, const uint8_t *text, size_t n, int *ids, int cap,
                              int *n_total, void *scratch, size_t scratch_size);

#endif
