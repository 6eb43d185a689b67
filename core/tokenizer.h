/*
 * tokenizer.h - token id -> UTF-8 bytes for Whisper vocabularies (internal; core/tokenizer.c).
 *
 * Text tokens (ids below n_text) have stored bytes: for .bin files the raw bytes inside the
 * mapping (each preceded by its u32 length, hence gap = 4), for GGUF files the GPT-2 byte-level
 * strings decoded once at open into arena bytes (gap = 0).  Token i is
 * text[text_off[i] .. text_off[i + 1] - gap).  Every id from n_text to n_vocab gets a textual form
 * built at open ("<|endoftext|>", "<|en|>", "<|0.00|>", ...; "[_extra_token_N]" for ids in a gap of
 * the stored vocabulary, as whisper.cpp names them).  No-speech is spelled "<|nospeech|>" (the
 * name in current OpenAI tokenizers; old vocabularies called it <|nocaptions|>).
 */
#ifndef EST_TOKENIZER_H
#define EST_TOKENIZER_H

#include "internal.h"

#define EST_TOK_MAX_FORM 32   /* longest textual form of a special id, incl. NUL */
#define EST_TOK_N_LANG_CODES 100

typedef struct est_tokenizer {
    int n_vocab;
    int n_text;                /* ids [0, n_text) have stored bytes */
    const uint8_t *text;       /* base of the stored bytes */
    const uint32_t *text_off;  /* [n_text + 1] */
    uint32_t gap;
    const uint8_t *spec;       /* textual forms of ids [n_text, n_vocab) */
    const uint32_t *spec_off;  /* [n_vocab - n_text + 1] */
    edgestt_special_tokens st;
} est_tokenizer;

/* Compact vocabularies: fewer ids than any released Whisper model (n_vocab below 50001), only
 * allowed with explicit whisper.token.* keys (this project's small character-level models, see
 * models/whisper-gguf.md).  They use the multilingual prompt [sot, <|lang|>, <|task|>]. */
#define EST_TOK_COMPACT_MAX 50000
static inline int est_tok_is_compact(int n_vocab) { return n_vocab <= EST_TOK_COMPACT_MAX; }
/* The prompt layout: [sot, lang, task] for multilingual (n_vocab >= 51865) and compact vocabularies
 * that have language tokens; [sot] for English-only ones. */
static inline int est_tok_multilingual(int n_vocab, int n_languages) {
    return n_vocab >= 51865 || (est_tok_is_compact(n_vocab) && n_languages > 0);
}

/* Whisper's language codes in token order (i < EST_TOK_N_LANG_CODES), NULL past the end. */
EST_HIDDEN const char *est_tok_language(int i);

/* Textual form of a special or extra id into buf (EST_TOK_MAX_FORM bytes); returns the length. */
EST_HIDDEN size_t est_tok_special_form(const edgestt_special_tokens *st, int id, char *buf);
/* Bytes all forms of ids [n_text, n_vocab) take (planning). */
EST_HIDDEN size_t est_tok_special_bytes(const edgestt_special_tokens *st, int n_text, int n_vocab);
/* Write those forms into bytes / off[n_vocab - n_text + 1] and set t->spec*. */
EST_HIDDEN void est_tok_build_special(est_tokenizer *t, uint8_t *bytes, uint32_t *off);

/* Index raw word records (u32 length + bytes, as whisper.cpp's .bin stores them): off[n + 1]. */
EST_HIDDEN int est_tok_index_records(est_tokenizer *t, const uint8_t *records, size_t records_bytes,
                                     int n, uint32_t *off, edgestt_diag *diag);
/* Decode n GPT-2 byte-level strings (GGUF string-array elements starting at first, inside an
 * image ending at end) into bytes (cap bytes) and off[n + 1]. */
EST_HIDDEN int est_tok_index_gpt2(est_tokenizer *t, const uint8_t *first, const uint8_t *end, int n,
                                  uint8_t *bytes, size_t cap, uint32_t *off, edgestt_diag *diag);

/* GPT-2 byte-level decoding of one string: out gets at most n bytes.  Returns the decoded length,
 * or -1 if a character is not in the GPT-2 byte alphabet or the UTF-8 is malformed. */
EST_HIDDEN int64_t est_gpt2_decode(const uint8_t *s, size_t n, uint8_t *out);
/* The GPT-2 byte-level character for byte b as UTF-8 into out[2]; returns 1 or 2. */
EST_HIDDEN int est_gpt2_encode_byte(uint8_t b, uint8_t out[2]);

/* Bytes of token id (valid while the tokenizer's memory is). */
EST_HIDDEN int est_tok_bytes(const est_tokenizer *t, int id, const uint8_t **bytes, size_t *len);

#endif
