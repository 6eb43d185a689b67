/*
 * test_tokenizer.c - token id -> bytes for both model layouts: GPT-2 byte-level decoding, text
 * tokens equal across .gguf (decoded) and .bin (raw), the textual forms of every special id for
 * the English-only, multilingual and large-v3 layouts, and detokenize (skips, prefix on NOMEM).
 */
#include <stdlib.h>

#include "../core/model.h"
#include "test.h"

static edgestt_model *open_model(const char *name) {
    edgestt_diag d;
    edgestt_model *m = NULL;
    int st = edgestt_open(est_test_model(name), NULL, NULL, 0, &m, &d);
    if (st) printf("open %s: %s\n", name, d.msg);
    return st ? NULL : m;
}

/* 1 if token id of m has exactly the bytes of s. */
static int tok_is(const edgestt_model *m, int id, const char *s) {
    const char *b;
    size_t n;
    if (edgestt_token_bytes(m, id, &b, &n)) return 0;
    return n == strlen(s) && !memcmp(b, s, n);
}

TEST(tokenizer_gpt2_alphabet_roundtrip) {
    uint8_t enc[2], dec[2];
    int n_two = 0;
    for (int b = 0; b < 256; b++) {
        int n = est_gpt2_encode_byte((uint8_t)b, enc);
        n_two += n == 2;
        CHECKF(est_gpt2_decode(enc, (size_t)n, dec) == 1 && dec[0] == b, "byte %d", b);
    }
    CHECK(n_two == 256 - 94); /* '!'..'~' stay one byte */
    CHECK(est_gpt2_encode_byte(' ', enc) == 2 && enc[0] == 0xC4 && enc[1] == 0xA0); /* U+0120 'Ġ' */
    CHECK(est_gpt2_encode_byte('\n', enc) == 2 && enc[0] == 0xC4 && enc[1] == 0x8A); /* U+010A 'Ċ' */
    uint8_t out[8];
    CHECK(est_gpt2_decode((const uint8_t *)"\xe2\x82\xac", 3, out) == -1); /* U+20AC not in the alphabet */
    CHECK(est_gpt2_decode((const uint8_t *)"\xc0\xa1", 2, out) == -1);     /* overlong '!' */
    CHECK(est_gpt2_decode((const uint8_t *)"\xc4", 1, out) == -1);         /* cut sequence */
    CHECK(est_gpt2_decode((const uint8_t *)" ", 1, out) == -1);            /* raw space is not in it */
    CHECK(est_gpt2_decode((const uint8_t *)"\xc3\x83\xc2\xa9", 4, out) == 2 && out[0] == 0xC3 && out[1] == 0xA9);
}

TEST(tokenizer_text_tokens_match_across_layouts) {
    edgestt_model *g = open_model("mini-en-f16.gguf"), *b = open_model("mini-en-f16.bin");
    CHECK(g && b);
    CHECK(tok_is(g, 262, " the") && tok_is(b, 262, " the"));
    CHECK(tok_is(g, 15496, "Hello") && tok_is(g, 0, "!") && tok_is(g, 198, "\n"));
    CHECK(tok_is(g, 2634, "\xc3\xa9"));
    for (int id = 0; id < 50256; id++) {
        const char *x, *y;
        size_t nx, ny;
        CHECK_ST(edgestt_token_bytes(g, id, &x, &nx), EDGESTT_OK);
        CHECK_ST(edgestt_token_bytes(b, id, &y, &ny), EDGESTT_OK);
        CHECKF(nx == ny && nx > 0 && !memcmp(x, y, nx), "token %d differs (%zu vs %zu bytes)", id, nx, ny);
    }
    edgestt_close(g);
    edgestt_close(b);
}

/* Every special id of one model has its textual form. */
static void check_specials(const char *name, int n_vocab, int eot, int n_lang, const char *last_lang) {
    edgestt_model *m = open_model(name);
    CHECK(m);
    edgestt_special_tokens st;
    CHECK_ST(edgestt_special_tokens_get(m, &st), EDGESTT_OK);
    CHECKF(st.eot == eot && st.sot == eot + 1 && st.lang_first == eot + 2 && st.n_languages == n_lang,
           "%s: eot %d sot %d lang %d n_lang %d", name, st.eot, st.sot, st.lang_first, st.n_languages);
    CHECK(st.translate == st.lang_first + n_lang && st.transcribe == st.translate + 1 && st.solm == st.translate + 2);
    CHECK(st.prev == st.translate + 3 && st.nosp == st.translate + 4 && st.no_timestamps == st.translate + 5);
    CHECKF(st.timestamp_begin == st.translate + 6 && n_vocab - st.timestamp_begin == 1501, "%s: beg %d", name,
           st.timestamp_begin);
    CHECK(tok_is(m, st.eot, "<|endoftext|>") && tok_is(m, st.sot, "<|startoftranscript|>"));
    CHECK(tok_is(m, st.lang_first, "<|en|>") && tok_is(m, st.lang_first + 1, "<|zh|>"));
    CHECK(tok_is(m, st.lang_first + n_lang - 1, last_lang));
    CHECK(tok_is(m, st.translate, "<|translate|>") && tok_is(m, st.transcribe, "<|transcribe|>"));
    CHECK(tok_is(m, st.solm, "<|startoflm|>") && tok_is(m, st.prev, "<|startofprev|>"));
    CHECK(tok_is(m, st.nosp, "<|nospeech|>") && tok_is(m, st.no_timestamps, "<|notimestamps|>"));
    CHECK(tok_is(m, st.timestamp_begin, "<|0.00|>") && tok_is(m, st.timestamp_begin + 1, "<|0.02|>"));
    CHECK(tok_is(m, st.timestamp_begin + 50, "<|1.00|>") && tok_is(m, st.timestamp_begin + 777, "<|15.54|>"));
    CHECK(tok_is(m, n_vocab - 1, "<|30.00|>"));
    const char *b;
    size_t n;
    CHECK_ST(edgestt_token_bytes(m, n_vocab, &b, &n), EDGESTT_E_NOT_FOUND);
    CHECK_ST(edgestt_token_bytes(m, -1, &b, &n), EDGESTT_E_NOT_FOUND);
    CHECK_ST(edgestt_token_bytes(m, 0, NULL, &n), EDGESTT_E_INVALID_ARG);
    if (eot == 50257) CHECK(tok_is(m, 50256, "<|filler|>"));
    edgestt_close(m);
}

TEST(tokenizer_special_tokens_english) {
    check_specials("mini-en-f16.gguf", 51864, 50256, 99, "<|su|>");
    check_specials("mini-en-f16.bin", 51864, 50256, 99, "<|su|>");
    check_specials("tiny-en-f16.bin", 51864, 50256, 99, "<|su|>");
}

TEST(tokenizer_special_tokens_multilingual) {
    check_specials("mini-multi-f16.gguf", 51865, 50257, 99, "<|su|>");
    check_specials("mini-multi-f16.bin", 51865, 50257, 99, "<|su|>");
}

TEST(tokenizer_special_tokens_large_v3) {
    check_specials("mini-v3-f16.gguf", 51866, 50257, 100, "<|yue|>");
    check_specials("mini-v3-f16.bin", 51866, 50257, 100, "<|yue|>");
}

TEST(tokenizer_known_ids_match_openai) {
    /* openai/whisper tokenizer.py + whisper.cpp: multilingual translate 50358, transcribe 50359,
     * notimestamps 50363, timestamp_begin 50364; large-v3 (100 languages) shifts those by one more */
    edgestt_special_tokens st;
    edgestt_diag d;
    CHECK_ST(est_whisper_derive_special(51865, &st, &d), EDGESTT_OK);
    CHECK(st.translate == 50358 && st.transcribe == 50359 && st.no_timestamps == 50363 && st.timestamp_begin == 50364);
    CHECK_ST(est_whisper_derive_special(51866, &st, &d), EDGESTT_OK);
    CHECK(st.translate == 50359 && st.transcribe == 50360 && st.no_timestamps == 50364 && st.timestamp_begin == 50365);
    CHECK_ST(est_whisper_derive_special(51864, &st, &d), EDGESTT_OK);
    CHECK(st.translate == 50357 && st.no_timestamps == 50362 && st.timestamp_begin == 50363 && st.solm == 50359);
    CHECK_ST(est_whisper_derive_special(51867, &st, &d), EDGESTT_E_LIMIT);
    CHECK_ST(est_whisper_derive_special(50000, &st, &d), EDGESTT_E_LIMIT);
    CHECK(!strcmp(est_tok_language(0), "en") && !strcmp(est_tok_language(99), "yue") && !est_tok_language(100));
    /* extra ids in a gap of a stored vocabulary get whisper.cpp's name */
    char buf[EST_TOK_MAX_FORM];
    st.eot = 100;
    CHECK(est_tok_special_form(&st, 99, buf) == 17 && !strcmp(buf, "[_extra_token_99]"));
}

TEST(tokenizer_detokenize) {
    edgestt_model *m = open_model("mini-en-q4_0.bin");
    CHECK(m);
    edgestt_special_tokens st;
    edgestt_special_tokens_get(m, &st);
    const int ids[] = {st.sot, st.lang_first, st.transcribe, st.no_timestamps, 15496, 11, 995, 13,
                       st.timestamp_begin + 5, 19945, 2634, st.eot};
    const int n = (int)(sizeof ids / sizeof ids[0]);
    char out[64];
    size_t w = 99;
    CHECK_ST(edgestt_detokenize(m, ids, n, out, sizeof out, &w), EDGESTT_OK);
    CHECKF(!strcmp(out, "Hello, world. caf\xc3\xa9") && w == strlen(out), "got '%s' (%zu)", out, w);
    CHECK_ST(edgestt_detokenize(m, ids, n, out, 6, &w), EDGESTT_E_NOMEM);
    CHECK(!strcmp(out, "Hello") && w == 5);
    CHECK_ST(edgestt_detokenize(m, ids, n, out, 1, &w), EDGESTT_E_NOMEM);
    CHECK(out[0] == 0 && w == 0);
    CHECK_ST(edgestt_detokenize(m, ids, 4, out, 1, &w), EDGESTT_OK); /* only specials: "" fits */
    CHECK(out[0] == 0 && w == 0);
    CHECK_ST(edgestt_detokenize(m, ids, 0, out, 0, &w), EDGESTT_E_NOMEM);
    const int bad[] = {262, 51864};
    CHECK_ST(edgestt_detokenize(m, bad, 2, out, sizeof out, &w), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_detokenize(m, NULL, 2, out, sizeof out, &w), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_detokenize(m, ids, n, out, sizeof out, NULL), EDGESTT_OK);
    edgestt_close(m);
}

/* The closed-form byte count of the special forms equals formatting every id, for the real
 * vocabulary layouts, for a stored vocabulary cut anywhere, and for random (fuzz-like) layouts:
 * overlapping named ids, a language range holding singles, no timestamps, huge or negative ids. */
static size_t special_bytes_by_formatting(const edgestt_special_tokens *st, int n_text, int n_vocab) {
    char buf[EST_TOK_MAX_FORM];
    size_t total = 0;
    for (int id = n_text; id < n_vocab; id++) total += est_tok_special_form(st, id, buf);
    return total;
}

TEST(tokenizer_special_bytes_closed_form) {
    edgestt_special_tokens st;
    edgestt_diag d;
    const int vocabs[] = {51864, 51865, 51866};
    for (int v = 0; v < 3; v++) {
        CHECK_ST(est_whisper_derive_special(vocabs[v], &st, &d), EDGESTT_OK);
        const int cuts[] = {0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 50256, 50257, 50300, vocabs[v] - 1, vocabs[v]};
        for (int c = 0; c < (int)(sizeof cuts / sizeof cuts[0]); c++) {
            size_t want = special_bytes_by_formatting(&st, cuts[c], vocabs[v]);
            size_t got = est_tok_special_bytes(&st, cuts[c], vocabs[v]);
            CHECKF(got == want, "vocab %d from %d: %zu, formatting gives %zu", vocabs[v], cuts[c], got, want);
        }
    }
    uint64_t seed = est_test_seed(), rs = seed;
    int bad = 0;
    for (int it = 0; it < 400 && bad < 3; it++) {
        int n_vocab = 1 + (int)(est_test_rand(&rs) % 70000);
        int n_text = (int)(est_test_rand(&rs) % 3 == 0 ? 0 : est_test_rand(&rs) % (uint64_t)n_vocab);
        int *f[] = {&st.eot, &st.sot, &st.translate, &st.transcribe, &st.solm, &st.prev, &st.nosp, &st.no_timestamps,
                    &st.lang_first};
        for (int i = 0; i < 9; i++) {
            uint64_t r = est_test_rand(&rs);
            /* mostly inside the vocabulary, sometimes equal to another, negative or far out */
            *f[i] = r % 7 == 0 ? *f[(i + 1) % 9] : r % 11 == 0 ? -(int)(r % 5) - 1 : (int)(r % (uint64_t)(n_vocab + 200));
        }
        st.n_languages = (int)(est_test_rand(&rs) % 101);
        uint64_t r = est_test_rand(&rs);
        st.timestamp_begin = r % 5 == 0 ? -1 : (int)(r % (uint64_t)(n_vocab + 10));
        if (r % 13 == 0) n_vocab = n_text; /* empty range */
        size_t want = special_bytes_by_formatting(&st, n_text, n_vocab);
        size_t got = est_tok_special_bytes(&st, n_text, n_vocab);
        if (got != want) bad++;
        CHECKF(got == want, "seed %llu it %d: n_text %d n_vocab %d ts %d lang %d+%d eot %d: %zu vs %zu",
               (unsigned long long)seed, it, n_text, n_vocab, st.timestamp_begin, st.lang_first, st.n_languages, st.eot,
               got, want);
    }
}
