/*
 * test_eval_score.c - the scoring of `edge-stt eval` (examples/edge-stt-score.c, compiled into this
 * test directly): the English normaliser on cases whose whisper EnglishTextNormalizer output is
 * known, and word / character edit counts counted by hand.
 */
#include "../examples/edge-stt-score.c"

#include "test.h"

static void norm_is(const char *in, const char *want) {
    char out[512];
    size_t n = est_score_normalize(in, out, sizeof out);
    CHECKF(n == strlen(want) && !strcmp(out, want), "normalize('%s') = '%s', want '%s'", in, out, want);
}

TEST(eval_normalize_text) {
    norm_is("Hello, World!", "hello world");
    norm_is("  It's   5 o'clock.  ", "it is 50 clock"); /* whisper's own reading of o as a zero */
    norm_is("[MUSIC] Don't go (laughs) there", "do not go there");
    norm_is("Um, I need a second.", "i need a 2nd");  /* whisper's too */
    norm_is("Mr. Smith won't pay", "mister smith will not pay");
    norm_is("Caf\xc3\xa9 \xe2\x80\x9cna\xc3\xafve\xe2\x80\x9d", "cafe naive");
    norm_is("1,000 people; 3.5 kg", "1000 people 3.5 kg");
    norm_is("", "");
    /* truncation keeps a NUL-terminated prefix and reports the full length */
    char small[6];
    CHECK(est_score_normalize("Hello, World!", small, sizeof small) == 11 && !strcmp(small, "hello"));
}

TEST(eval_normalize_numbers) {
    norm_is("seven thirty p m", "730 p m");
    norm_is("Seven thirty P.M.", "730 p m");
    norm_is("four five two one", "4521");
    norm_is("thirty five", "35");
    norm_is("two hundred fifty", "250");
    norm_is("two hundred and five dollars", "$205");
    norm_is("one thousand two hundred", "1200");
    norm_is("nineteen ninety nine", "1999");
    norm_is("seven thirty five", "735");
    norm_is("one point five percent", "1.5%");
    norm_is("the twenty first of march", "the 21st of march");
    norm_is("first and second", "1st and 2nd");
    norm_is("four oh five", "405");
    norm_is("zero", "0");
    norm_is("one", "one");
    norm_is("one two", "12");
    norm_is("remind me at twelve o'clock", "remind me at 120 clock");
    norm_is("double five six", "556");
    norm_is("the nineteen sixties", "the 1960s");
    norm_is("seven cents and ten pounds", "\xc2\xa2" "7 and \xc2\xa3" "10");
    norm_is("fifty per cent", "50%");
    norm_is("a hundred and twelve", "a 112");
    norm_is("ten twenty", "1020");
    norm_is("gate twelve then left", "gate 12 then left");
}

TEST(eval_score_counts) {
    est_score s;
    /* one substitution (sat -> sit) and one deletion (the): 2 of 6 words */
    CHECK(est_score_pair("the cat sat on the mat", "the cat sit on mat", &s) == 0);
    CHECKF(s.word_errors == 2 && s.ref_words == 6, "%ld / %ld words", s.word_errors, s.ref_words);
    /* characters: a -> i, then "the " deleted: 1 + 4 of 22 */
    CHECKF(s.char_errors == 5 && s.ref_chars == 22, "%ld / %ld chars", s.char_errors, s.ref_chars);
    CHECK(est_score_pair("abc", "abd", &s) == 0 && s.char_errors == 1 && s.ref_chars == 3 && s.word_errors == 1);
    /* an empty hypothesis deletes everything; an empty reference counts insertions over 0 */
    CHECK(est_score_pair("a b c", "", &s) == 0 && s.word_errors == 3 && s.ref_words == 3 && s.char_errors == 5);
    CHECK(est_score_pair("", "x y", &s) == 0 && s.word_errors == 2 && s.ref_words == 0);
    /* the eval CLI case of tests/test_cli.sh: 3 word edits either way of aligning */
    CHECK(est_score_pair("permission to spa the commissioners", "permission spa prot sidney commissioners", &s) == 0);
    CHECKF(s.word_errors == 3 && s.ref_words == 5, "%ld / %ld", s.word_errors, s.ref_words);
}
