/*
 * edge-stt-score.c - WER / CER scoring for `edge-stt eval` (see edge-stt-score.h).
 *
 * The normaliser follows OpenAI whisper's EnglishTextNormalizer (whisper/normalizers/english.py)
 * in its order, for ASCII text plus Latin-1 letters:
 *   lowercase (Latin-1 accented letters fold to their base letter); remove [..], <..> and (..)
 *   spans; remove the fillers hmm, mm, mhm, mmm, uh, um; join " '" to "'"; whisper's contraction
 *   and title replacements (won't -> will not, can't -> can not, let's -> let us, n't -> not,
 *   're -> are, 's -> is, 'd -> would, 'll -> will, 've -> have, 'm -> am, mr -> mister, dr ->
 *   doctor, ...); commas between digits removed; periods not followed by a digit removed; every
 *   other symbol or punctuation character (apostrophes included) becomes a space, keeping . % $ ¢ £ €;
 *   spelled-out numbers become digits as EnglishNumberNormalizer does in the common cases (see
 *   numbers() below); . $ ¢ £ € not before a digit and % not after one are removed; whitespace
 *   collapsed.
 * Not implemented: British -> American spellings, fractions, and non-Latin-1 diacritics and symbols
 * (kept as is).
 *
 * Scores are Levenshtein distances: over words (WER) and over bytes of the normalised text
 * including spaces (CER, as jiwer's cer); corpus rates are sums of errors over sums of reference
 * lengths.
 */
#include "edge-stt-score.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== a growable string ================================================================== */

typedef struct str {
    char *p;
    size_t n, cap;
    int oom;
} str;

static void s_putn(str *s, const char *p, size_t n) {
    if (s->oom) return;
    if (s->n + n + 1 > s->cap) {
        size_t c = (s->n + n + 1) * 2 + 64;
        char *q = realloc(s->p, c);
        if (!q) {
            s->oom = 1;
            return;
        }
        s->p = q;
        s->cap = c;
    }
    memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n] = 0;
}
static void s_puts(str *s, const char *p) { s_putn(s, p, strlen(p)); }
static void s_putc(str *s, char c) { s_putn(s, &c, 1); }

static int is_digit(int c) { return c >= '0' && c <= '9'; }
/* \w of Python's re on UTF-8 bytes: ASCII letters, digits, '_' and any non-ASCII byte. */
static int is_word(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c >= 0x80; }
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* ==== character steps ==================================================================== */

/* Latin-1 letters U+00C0..U+00FF without their marks (lowercase); 0 = not a letter there. */
static char latin1_base(unsigned cp) {
    static const char map[] = "aaaaaaaceeeeiiiidnooooo\0ouuuuyts" /* C0..DF */
                              "aaaaaaaceeeeiiiidnooooo\0ouuuuyty"; /* E0..FF */
    return cp >= 0xC0 && cp <= 0xFF ? map[cp - 0xC0] : 0;
}

/* Lowercase; Latin-1 accented letters to their base letter (ß -> ss, æ -> ae, þ -> th as
 * whisper's ADDITIONAL_DIACRITICS); other UTF-8 kept. */
static void lower_fold(const char *in, str *o) {
    const unsigned char *s = (const unsigned char *)in;
    for (size_t i = 0; s[i];) {
        unsigned c = s[i];
        if (c == 0xC3 && s[i + 1] >= 0x80 && s[i + 1] < 0xC0) {
            unsigned cp = 0xC0 + (s[i + 1] & 0x3F);
            if (cp == 0xDF) s_puts(o, "ss");
            else if (cp == 0xC6 || cp == 0xE6) s_puts(o, "ae");
            else if (cp == 0xDE || cp == 0xFE) s_puts(o, "th");
            else if (cp == 0xD7 || cp == 0xF7) s_putc(o, ' '); /* x and division signs: symbols */
            else if (latin1_base(cp)) s_putc(o, latin1_base(cp));
            else s_putn(o, (const char *)s + i, 2);
            i += 2;
            continue;
        }
        if (c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0x98 || s[i + 2] == 0x99)) { /* ‘ ’ -> ' */
            s_putc(o, '\'');
            i += 3;
            continue;
        }
        s_putc(o, c >= 'A' && c <= 'Z' ? (char)(c + 32) : (char)c);
        i++;
    }
}

/* Remove [..] / <..> spans (either opener, either closer, as whisper's regex) and (..) spans. */
static void drop_spans(const char *s, str *o) {
    for (size_t i = 0; s[i];) {
        if (s[i] == '[' || s[i] == '<') {
            size_t j = i + 1;
            while (s[j] && s[j] != ']' && s[j] != '>') j++;
            if (s[j]) {
                i = j + 1;
                continue;
            }
        } else if (s[i] == '(' && s[i + 1] && s[i + 1] != ')') {
            size_t j = i + 1;
            while (s[j] && s[j] != ')') j++;
            if (s[j]) {
                i = j + 1;
                continue;
            }
        }
        s_putc(o, s[i++]);
    }
}

/* Replace every match of pat (word boundary before it when lead, after it when it ends in a word
 * character, as the \b of whisper's patterns) with rep. */
static void replace_all(const char *s, const char *pat, const char *rep, int lead, str *o) {
    const size_t pl = strlen(pat);
    const int trail = is_word((unsigned char)pat[pl - 1]);
    for (size_t i = 0; s[i];) {
        if (!strncmp(s + i, pat, pl) && (!lead || i == 0 || !is_word((unsigned char)s[i - 1])) &&
            (!trail || !is_word((unsigned char)s[i + pl]))) {
            s_puts(o, rep);
            i += pl;
            continue;
        }
        s_putc(o, s[i++]);
    }
}

/* whisper's replacers in their order: whole words, titles, perfect tenses, general contractions. */
static const struct { const char *pat, *rep; int lead; } replacers[] = {
    {"won't", "will not", 1}, {"can't", "can not", 1}, {"let's", "let us", 1}, {"ain't", "aint", 1},
    {"y'all", "you all", 1}, {"wanna", "want to", 1}, {"gotta", "got to", 1}, {"gonna", "going to", 1},
    {"i'ma", "i am going to", 1}, {"imma", "i am going to", 1}, {"woulda", "would have", 1},
    {"coulda", "could have", 1}, {"shoulda", "should have", 1}, {"ma'am", "madam", 1},
    {"mr", "mister ", 1}, {"mrs", "missus ", 1}, {"st", "saint ", 1}, {"dr", "doctor ", 1},
    {"prof", "professor ", 1}, {"capt", "captain ", 1}, {"gov", "governor ", 1}, {"ald", "alderman ", 1},
    {"gen", "general ", 1}, {"sen", "senator ", 1}, {"rep", "representative ", 1}, {"pres", "president ", 1},
    {"rev", "reverend ", 1}, {"hon", "honorable ", 1}, {"asst", "assistant ", 1}, {"assoc", "associate ", 1},
    {"lt", "lieutenant ", 1}, {"col", "colonel ", 1}, {"jr", "junior ", 1}, {"sr", "senior ", 1},
    {"esq", "esquire ", 1},
    {"'d been", " had been", 0}, {"'s been", " has been", 0}, {"'d gone", " had gone", 0},
    {"'s gone", " has gone", 0}, {"'d done", " had done", 0}, {"'s got", " has got", 0},
    {"n't", " not", 0}, {"'re", " are", 0}, {"'s", " is", 0}, {"'d", " would", 0}, {"'ll", " will", 0},
    {"'t", " not", 0}, {"'ve", " have", 0}, {"'m", " am", 0},
};

/* Fillers, commas between digits, " '" joined, periods not before a digit, symbols to spaces. */
static void symbols(const char *s, str *o) {
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ',' && i > 0 && is_digit((unsigned char)s[i - 1]) && is_digit((unsigned char)s[i + 1])) continue;
        if (c == '.' && !is_digit((unsigned char)s[i + 1])) {
            s_putc(o, ' ');
            continue;
        }
        if (c >= 0x80) { /* general punctuation U+2010..U+205E and the Latin-1 symbols: spaces */
            if (c == 0xE2 && (unsigned char)s[i + 1] == 0x80) {
                s_putc(o, ' ');
                i += 2;
                continue;
            }
            if (c == 0xC2 && ((unsigned char)s[i + 1] == 0xA2 || (unsigned char)s[i + 1] == 0xA3)) { /* ¢ £ kept */
                s_putn(o, s + i, 2);
                i += 1;
                continue;
            }
            if (c == 0xC2 && (unsigned char)s[i + 1] >= 0xA0 && (unsigned char)s[i + 1] <= 0xBF) {
                s_putc(o, ' ');
                i += 1;
                continue;
            }
            s_putc(o, (char)c);
            continue;
        }
        if (is_word(c) && c != '_') s_putc(o, (char)c);
        else if (c == '.' || c == '%' || c == '$') s_putc(o, (char)c);
        else s_putc(o, ' ');
    }
}

/* ==== numbers (EnglishNumberNormalizer, common cases) ===================================== */
/*
 * whisper's process_words over the words, with its value kept as none / integer / digit string:
 * zeros (zero, oh, o) append a 0; ones (one..nineteen), tens (twenty..ninety) and multipliers
 * (hundred .. trillion) accumulate ("thirty five" -> 35, "two hundred fifty" -> 250, "one thousand
 * two hundred" -> 1200) or concatenate when spoken as digits ("four five two one" -> 4521, "seven
 * thirty" -> 730, "seven thirty five" -> 735, "twelve o clock" -> 120 clock, as whisper gives it);
 * ordinals and plurals (first, twelfth, twentieth, hundredth, sixes, twenties) end the number with
 * their suffix; "and" after a multiplier before a number is dropped; "double" / "triple" repeat a
 * digit; "point" starts decimals; "percent" / "per cent" append %, "dollars", "cents", "pounds",
 * "euros" after a number prefix $ ¢ £ €; arabic numbers start a value ("5 o clock" -> 50 clock, as
 * whisper gives it); then "1" / "1s" are written "one" / "ones".  Not done: signs and prefixes on
 * arabic numbers, "minus"/"plus", "and a half", cents merged into dollars.
 */

static const char *const ones_w[] = {"", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                     "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                                     "seventeen", "eighteen", "nineteen"};
static const char *const ones_ord[] = {"zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
                                       "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
                                       "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth"};
static const char *const tens_w[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
static const struct { const char *w; long long v; } mults[] = {
    {"hundred", 100LL}, {"thousand", 1000LL}, {"million", 1000000LL}, {"billion", 1000000000LL},
    {"trillion", 1000000000000LL}};

enum { W_NONE, W_ZERO, W_ONES, W_ONES_SUF, W_TENS, W_TENS_SUF, W_MULT, W_MULT_SUF, W_FOLLOW, W_SUFFIXER, W_SPECIAL };

/* Class of word w (whisper's word sets); *v its value, *suf the suffix of the suffixed forms. */
static int word_class(const char *w, long long *v, const char **suf) {
    char tmp[32];
    *v = 0;
    *suf = "";
    if (!w) return W_NONE;
    if (!strcmp(w, "zero") || !strcmp(w, "oh") || !strcmp(w, "o")) return W_ZERO;
    for (int i = 1; i < 20; i++) {
        if (!strcmp(w, ones_w[i])) return *v = i, W_ONES;
        snprintf(tmp, sizeof tmp, "%s%s", i == 6 ? "sixe" : ones_w[i], "s");
        if (!strcmp(w, tmp)) return *v = i, *suf = "s", W_ONES_SUF;
    }
    for (int i = 0; i < 20; i++)
        if (!strcmp(w, ones_ord[i])) return *v = i, *suf = i == 1 ? "st" : i == 2 ? "nd" : i == 3 ? "rd" : "th", W_ONES_SUF;
    for (int i = 2; i < 10; i++) {
        size_t l = strlen(tens_w[i]);
        if (!strcmp(w, tens_w[i])) return *v = 10 * i, W_TENS;
        if (!strncmp(w, tens_w[i], l - 1) && (!strcmp(w + l - 1, "ies") || !strcmp(w + l - 1, "ieth")))
            return *v = 10 * i, *suf = w[l + 1] == 's' ? "s" : "th", W_TENS_SUF;
    }
    for (size_t i = 0; i < sizeof mults / sizeof mults[0]; i++) {
        size_t l = strlen(mults[i].w);
        if (!strcmp(w, mults[i].w)) return *v = mults[i].v, W_MULT;
        if (!strncmp(w, mults[i].w, l) && (!strcmp(w + l, "s") || !strcmp(w + l, "th")))
            return *v = mults[i].v, *suf = w + l, W_MULT_SUF;
    }
    if (!strcmp(w, "dollar") || !strcmp(w, "dollars") || !strcmp(w, "cent") || !strcmp(w, "cents") ||
        !strcmp(w, "pound") || !strcmp(w, "pounds") || !strcmp(w, "euro") || !strcmp(w, "euros"))
        return W_FOLLOW;
    if (!strcmp(w, "per") || !strcmp(w, "percent")) return W_SUFFIXER;
    if (!strcmp(w, "and") || !strcmp(w, "double") || !strcmp(w, "triple") || !strcmp(w, "point")) return W_SPECIAL;
    return W_NONE;
}

static const char *follow_symbol(const char *w) {
    return w[0] == 'd' ? "$" : w[0] == 'c' ? "\xc2\xa2" : w[0] == 'p' ? "\xc2\xa3" : "\xe2\x82\xac";
}

typedef struct numval {
    int kind;           /* 0 none, 1 integer, 2 string */
    long long num;
    char s[128];
    const char *prefix; /* $ ¢ £ € or NULL */
} numval;

static const char *nv_text(numval *n) {
    if (n->kind == 1) snprintf(n->s, sizeof n->s, "%lld", n->num);
    return n->s;
}
static void nv_str(numval *n) {
    if (n->kind != 2) {
        if (n->kind == 1) snprintf(n->s, sizeof n->s, "%lld", n->num);
        else n->s[0] = 0;
        n->kind = 2;
    }
}
static void nv_cat(numval *n, const char *t) {
    nv_str(n);
    size_t l = strlen(n->s);
    snprintf(n->s + l, sizeof n->s - l, "%s", t);
}
static void nv_cat_int(numval *n, long long v) {
    char t[24];
    snprintf(t, sizeof t, "%lld", v);
    nv_cat(n, t);
}

/* whisper's output(): the value (with its prefix) as one word, then the value is cleared. */
static void emit_word(str *o, const char *w) {
    if (o->n) s_putc(o, ' ');
    s_puts(o, w);
}
static void nv_out(numval *n, str *o, const char *suffix) {
    if (!n->kind) return;
    char buf[192];
    snprintf(buf, sizeof buf, "%s%s%s", n->prefix ? n->prefix : "", nv_text(n), suffix ? suffix : "");
    emit_word(o, buf);
    memset(n, 0, sizeof *n);
}

/* value + ones (or the ones of a suffixed word) as whisper combines them. */
static void add_ones(numval *n, long long ones, int prev_ones, int prev_tens) {
    if (!n->kind) n->kind = 1, n->num = ones;
    else if (n->kind == 2 || prev_ones) {
        nv_str(n);
        size_t l = strlen(n->s);
        if (prev_tens && ones < 10 && l) n->s[l - 1] = (char)('0' + ones); /* the tens' zero becomes the digit */
        else nv_cat_int(n, ones);
    } else if (ones < 10) {
        if (n->num % 10 == 0) n->num += ones;
        else nv_cat_int(n, ones);
    } else {
        if (n->num % 100 == 0) n->num += ones;
        else nv_cat_int(n, ones);
    }
}

static void add_tens(numval *n, long long tens) {
    if (!n->kind) n->kind = 1, n->num = tens;
    else if (n->kind == 2) nv_cat_int(n, tens);
    else if (n->num % 100 == 0) n->num += tens;
    else nv_cat_int(n, tens);
}

/* Returns 0, or 1 when the string value could not be multiplied (whisper then outputs it first). */
static int add_mult(numval *n, long long m) {
    if (!n->kind) {
        n->kind = 1, n->num = m;
    } else if (n->kind == 2 || n->num == 0) {
        double x = n->kind == 2 ? atof(n->s) * (double)m : 0.0;
        int ok = n->kind == 2 && n->s[0] && strspn(n->s, "0123456789.") == strlen(n->s) && x < 9e15 &&
                 x == (double)(long long)x;
        if (!ok) return 1;
        n->kind = 1, n->num = (long long)x;
    } else {
        long long before = n->num / 1000 * 1000, residual = n->num % 1000;
        n->num = before + residual * m;
    }
    return 0;
}

/* Words of s (space separated) with spelled-out numbers as digits, into o. */
static void numbers(const char *s, str *o) {
    char *buf = strdup(s);
    if (!buf) {
        o->oom = 1;
        return;
    }
    size_t cap = strlen(s) / 2 + 2;
    char **words = malloc(cap * sizeof *words);
    if (!words) {
        free(buf);
        o->oom = 1;
        return;
    }
    int nw = 0;
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) words[nw++] = t;
    numval n;
    memset(&n, 0, sizeof n);
    str out = {0};
    for (int i = 0; i < nw; i++) {
        const char *prev = i ? words[i - 1] : NULL, *cur = words[i], *next = i + 1 < nw ? words[i + 1] : NULL;
        long long v, pv, nv;
        const char *suf, *psuf, *nsuf;
        int cls = word_class(cur, &v, &suf), pc = word_class(prev, &pv, &psuf), nc = word_class(next, &nv, &nsuf);
        const int prev_ones = pc == W_ONES, prev_tens = pc == W_TENS;
        const size_t dl = strspn(cur, "0123456789");
        if (dl && (!cur[dl] || (cur[dl] == '.' && cur[dl + 1] && strspn(cur + dl + 1, "0123456789") == strlen(cur + dl + 1)))) {
            /* arabic numbers join decimals after "point", else start a new value */
            if (n.kind == 2 && n.s[0] && n.s[strlen(n.s) - 1] == '.') {
                nv_cat(&n, cur);
                continue;
            }
            nv_out(&n, &out, NULL);
            if (!cur[dl] && dl < 16) n.kind = 1, n.num = atoll(cur);
            else nv_cat(&n, cur);
            continue;
        }
        switch (cls) {
        case W_NONE:
            nv_out(&n, &out, NULL);
            emit_word(&out, cur);
            break;
        case W_ZERO: nv_cat(&n, "0"); break;
        case W_ONES: add_ones(&n, v, prev_ones, prev_tens); break;
        case W_ONES_SUF: add_ones(&n, v, prev_ones, prev_tens), nv_out(&n, &out, suf); break;
        case W_TENS: add_tens(&n, v); break;
        case W_TENS_SUF: add_tens(&n, v), nv_out(&n, &out, suf); break;
        case W_MULT:
            if (add_mult(&n, v)) nv_out(&n, &out, NULL), n.kind = 1, n.num = v;
            break;
        case W_MULT_SUF:
            if (add_mult(&n, v)) nv_out(&n, &out, NULL), n.kind = 1, n.num = v;
            nv_out(&n, &out, suf);
            break;
        case W_FOLLOW:
            if (n.kind) n.prefix = follow_symbol(cur), nv_out(&n, &out, NULL);
            else emit_word(&out, cur);
            break;
        case W_SUFFIXER:
            if (!n.kind) emit_word(&out, cur);
            else if (!strcmp(cur, "percent")) nv_out(&n, &out, "%");
            else if (next && !strcmp(next, "cent")) nv_out(&n, &out, "%"), i++;
            else nv_out(&n, &out, NULL), emit_word(&out, cur);
            break;
        default: /* and, double, triple, point */
            if (nc == W_NONE) {
                nv_out(&n, &out, NULL);
                emit_word(&out, cur);
            } else if (!strcmp(cur, "and")) {
                if (pc != W_MULT) nv_out(&n, &out, NULL), emit_word(&out, cur);
            } else if (!strcmp(cur, "double") || !strcmp(cur, "triple")) {
                if (nc == W_ONES || nc == W_ZERO) {
                    for (int r = 0; r < (cur[0] == 'd' ? 2 : 3); r++) nv_cat_int(&n, nc == W_ONES ? nv : 0);
                    i++;
                } else {
                    nv_out(&n, &out, NULL);
                    emit_word(&out, cur);
                }
            } else if (nc == W_ONES || nc == W_TENS || nc == W_ZERO) { /* point */
                nv_cat(&n, ".");
            }
            break;
        }
    }
    nv_out(&n, &out, NULL);
    /* "1" / "1s" as words are written "one" / "ones" (whisper's postprocess) */
    if (out.p)
        for (char *t = out.p; (t = strstr(t, "1")) != NULL; t++) {
            int start = t == out.p || t[-1] == ' ';
            int plural = t[1] == 's';
            if (start && (t[1 + plural] == ' ' || !t[1 + plural])) {
                *t = 0;
                str r = {0};
                s_puts(&r, out.p), s_puts(&r, plural ? "ones" : "one"), s_puts(&r, t + 1 + plural);
                size_t at = (size_t)(t - out.p) + 3;
                free(out.p);
                out = r;
                if (!out.p) break;
                t = out.p + at - 1;
            }
        }
    if (out.oom) o->oom = 1;
    if (out.p) s_puts(o, out.p);
    free(out.p);
    free(words);
    free(buf);
}

/* . $ ¢ £ € not before a digit and % not after one become spaces; whitespace collapsed and trimmed. */
static void finish(const char *s, str *o) {
    int pending = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if ((c == '.' || c == '$') && !is_digit((unsigned char)s[i + 1])) c = ' ';
        if ((!strncmp(s + i, "\xc2\xa2", 2) || !strncmp(s + i, "\xc2\xa3", 2)) && !is_digit((unsigned char)s[i + 2])) {
            pending = o->n > 0; /* ¢ £ not before a digit */
            i += 1;
            continue;
        }
        if (!strncmp(s + i, "\xe2\x82\xac", 3) && !is_digit((unsigned char)s[i + 3])) { /* € */
            pending = o->n > 0;
            i += 2;
            continue;
        }
        if (c == '%' && (i == 0 || !is_digit((unsigned char)s[i - 1]))) c = ' ';
        if (is_space((unsigned char)c)) {
            pending = o->n > 0;
            continue;
        }
        if (pending) s_putc(o, ' '), pending = 0;
        s_putc(o, c);
    }
}

size_t est_score_normalize(const char *s, char *out, size_t cap) {
    str a = {0}, b = {0};
    lower_fold(s, &a);
    if (a.p) drop_spans(a.p, &b);
    /* fillers (whole words) */
    static const char *const fillers[] = {"hmm", "mm", "mhm", "mmm", "uh", "um"};
    for (size_t k = 0; k < sizeof fillers / sizeof fillers[0] && b.p; k++) {
        a.n = 0;
        replace_all(b.p, fillers[k], "", 1, &a);
        str t = a;
        a = b, b = t;
    }
    /* " '" -> "'" (any whitespace run before an apostrophe) */
    a.n = 0;
    for (size_t i = 0; b.p && b.p[i]; i++) {
        if (is_space((unsigned char)b.p[i])) {
            size_t j = i;
            while (is_space((unsigned char)b.p[j])) j++;
            if (b.p[j] == '\'') {
                i = j - 1;
                continue;
            }
        }
        s_putc(&a, b.p[i]);
    }
    for (size_t k = 0; k < sizeof replacers / sizeof replacers[0] && a.p; k++) {
        b.n = 0;
        replace_all(a.p, replacers[k].pat, replacers[k].rep, replacers[k].lead, &b);
        str t = a;
        a = b, b = t;
    }
    b.n = 0;
    if (a.p) symbols(a.p, &b);
    a.n = 0;
    if (b.p) numbers(b.p, &a);
    b.n = 0;
    if (a.p) finish(a.p, &b);
    size_t n = b.oom || a.oom || !b.p ? 0 : b.n;
    if (cap) {
        size_t k = n < cap ? n : cap - 1;
        if (k) memcpy(out, b.p, k);
        out[k] = 0;
    }
    free(a.p);
    free(b.p);
    return n;
}

/* ==== edit distances ===================================================================== */

/* Levenshtein distance between sequences a[na] and b[nb] of items compared by eq. */
static long levenshtein(const void *a, long na, const void *b, long nb, int (*eq)(const void *, long, const void *, long),
                        int *oom) {
    long *row = malloc(sizeof(long) * (size_t)(nb + 1));
    if (!row) {
        *oom = 1;
        return 0;
    }
    for (long j = 0; j <= nb; j++) row[j] = j;
    for (long i = 1; i <= na; i++) {
        long diag = row[0];
        row[0] = i;
        for (long j = 1; j <= nb; j++) {
            long up = row[j], best = diag + (eq(a, i - 1, b, j - 1) ? 0 : 1);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    long d = row[nb];
    free(row);
    return d;
}

static int eq_byte(const void *a, long i, const void *b, long j) { return ((const char *)a)[i] == ((const char *)b)[j]; }
static int eq_word(const void *a, long i, const void *b, long j) {
    return !strcmp(((char *const *)a)[i], ((char *const *)b)[j]);
}

/* Split a copy of s into words (malloc'd array of pointers into *buf). */
static char **split_words(const char *s, char **buf, long *n) {
    *n = 0;
    *buf = strdup(s);
    size_t cap = strlen(s) / 2 + 2;
    char **w = malloc(cap * sizeof *w);
    if (!*buf || !w) {
        free(w);
        return NULL;
    }
    for (char *t = strtok(*buf, " "); t; t = strtok(NULL, " ")) w[(*n)++] = t;
    return w;
}

int est_score_pair(const char *ref, const char *hyp, est_score *out) {
    int oom = 0;
    memset(out, 0, sizeof *out);
    out->ref_chars = (long)strlen(ref);
    out->char_errors = levenshtein(ref, out->ref_chars, hyp, (long)strlen(hyp), eq_byte, &oom);
    char *rb = NULL, *hb = NULL;
    long nr, nh;
    char **rw = split_words(ref, &rb, &nr), **hw = split_words(hyp, &hb, &nh);
    if (rw && hw) out->word_errors = levenshtein(rw, nr, hw, nh, eq_word, &oom);
    else oom = 1;
    out->ref_words = nr;
    free(rw);
    free(hw);
    free(rb);
    free(hb);
    return oom ? -1 : 0;
}
