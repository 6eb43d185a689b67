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
 *   other symbol or punctuation character (apostrophes included) becomes a space, keeping . % $;
 *   spelled-out numbers become digits as EnglishNumberNormalizer does in the common cases (see
 *   numbers() below); . $ not before a digit and % not after one are removed; whitespace collapsed.
 * Not implemented: British -> American spellings, fractions, currencies other than dollars
 * ("cents", pounds, euros), "double"/"triple", and non-Latin-1 diacritics and symbols (kept as is).
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
 * Over the words: ones (zero..nineteen), tens (twenty..ninety) and multipliers (hundred, thousand,
 * million, billion, trillion) accumulate a value the way whisper's process_words does: "thirty
 * five" -> 35, "two hundred fifty" -> 250, "one thousand two hundred" -> 1200, digits spoken in a
 * row concatenate ("four five two one" -> 4521, "seven thirty" -> 730, "nineteen ninety nine" ->
 * 1999); "and" between a multiplier and a number is dropped; "oh"/"o" after a number word is a 0;
 * "point" followed by number words makes a decimal; ordinals (first.. ninth, tenth.. nineteenth,
 * twentieth.. ninetieth, hundredth, thousandth, millionth) end the number with st/nd/rd/th
 * ("second" only after a number word); a number followed by "percent" gets "%", by "dollar(s)"
 * a leading "$".
 */

static const char *const ones_w[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                     "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                     "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const ones_ord[] = {"zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
                                       "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
                                       "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth"};
static const char *const tens_w[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
static const char *const tens_ord[] = {"", "", "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth",
                                       "seventieth", "eightieth", "ninetieth"};
static const struct { const char *w, *ord; long long v; } mults[] = {
    {"hundred", "hundredth", 100LL}, {"thousand", "thousandth", 1000LL}, {"million", "millionth", 1000000LL},
    {"billion", "billionth", 1000000000LL}, {"trillion", "trillionth", 1000000000000LL}};

enum { W_NONE, W_ONES, W_TENS, W_MULT };

/* Class of word w: *v its value, *ord 1 when it is the ordinal form. */
static int word_class(const char *w, long long *v, int *ord) {
    *ord = 0;
    for (int i = 0; i < 20; i++) {
        if (!strcmp(w, ones_w[i])) return *v = i, W_ONES;
        if (!strcmp(w, ones_ord[i])) return *v = i, *ord = 1, W_ONES;
    }
    for (int i = 2; i < 10; i++) {
        if (!strcmp(w, tens_w[i])) return *v = 10 * i, W_TENS;
        if (!strcmp(w, tens_ord[i])) return *v = 10 * i, *ord = 1, W_TENS;
    }
    for (size_t i = 0; i < sizeof mults / sizeof mults[0]; i++) {
        if (!strcmp(w, mults[i].w)) return *v = mults[i].v, W_MULT;
        if (!strcmp(w, mults[i].ord)) return *v = mults[i].v, *ord = 1, W_MULT;
    }
    return W_NONE;
}

typedef struct numval {
    int kind;           /* 0 none, 1 integer, 2 digit string */
    long long num;
    char digits[128];
} numval;

static void to_string(numval *n) {
    if (n->kind == 1) snprintf(n->digits, sizeof n->digits, "%lld", n->num);
    n->kind = 2;
}

static void append_digits(numval *n, long long v) {
    to_string(n);
    size_t l = strlen(n->digits);
    snprintf(n->digits + l, sizeof n->digits - l, "%lld", v);
}

/* Text of a number value (integer or digits) into buf. */
static const char *num_text(numval *n) {
    if (n->kind == 1) snprintf(n->digits, sizeof n->digits, "%lld", n->num);
    return n->digits;
}

static const char *ord_suffix(long long v, const char *digits) {
    size_t l = strlen(digits);
    int last = l ? digits[l - 1] - '0' : (int)(v % 10), tens = l > 1 ? digits[l - 2] - '0' : 0;
    if (tens == 1) return "th";
    return last == 1 ? "st" : last == 2 ? "nd" : last == 3 ? "rd" : "th";
}

/* Apply one number word to the running value (whisper's process_words cases). */
static void number_word(numval *n, int cls, long long v, int prev_cls) {
    if (cls == W_ONES) {
        if (!n->kind) n->kind = 1, n->num = v;
        else if (n->kind == 2 || prev_cls == W_ONES) {
            if (prev_cls == W_TENS && v < 10) { /* "seven thirty five": the tens' zero becomes the digit */
                to_string(n);
                n->digits[strlen(n->digits) - 1] = (char)('0' + v);
            } else {
                append_digits(n, v);
            }
        } else if (v < 10) {
            if (n->num % 10 == 0) n->num += v;
            else append_digits(n, v);
        } else {
            if (n->num % 100 == 0) n->num += v;
            else append_digits(n, v);
        }
    } else if (cls == W_TENS) {
        if (!n->kind) n->kind = 1, n->num = v;
        else if (n->kind == 2) append_digits(n, v);
        else if (n->num % 100 == 0) n->num += v;
        else append_digits(n, v);
    } else { /* multiplier */
        if (!n->kind) n->kind = 1, n->num = v;
        else if (n->kind == 2 || n->num == 0) { /* "four five hundred" -> 4500, "one point five million" */
            double x = n->kind == 2 ? atof(n->digits) * (double)v : 0.0;
            if (x > 0.0 && x < 9e15 && x == (double)(long long)x) n->kind = 1, n->num = (long long)x;
            else n->kind = 1, n->num = v; /* whisper outputs the old value first; rare enough to fold */
        } else {
            long long before = n->num / 1000 * 1000, residual = n->num % 1000;
            n->num = before + residual * v;
        }
    }
}

/* Words of s (space separated) with spelled-out numbers as digits, into o. */
static void numbers(const char *s, str *o) {
    char *buf = strdup(s);
    if (!buf) {
        o->oom = 1;
        return;
    }
    char *words[4096];
    int nw = 0;
    for (char *t = strtok(buf, " "); t && nw < 4096; t = strtok(NULL, " ")) words[nw++] = t;
    numval n;
    memset(&n, 0, sizeof n);
    int prev_cls = W_NONE, decimal = 0;
    str out = {0};
    for (int i = 0; i <= nw; i++) {
        const char *w = i < nw ? words[i] : NULL;
        long long v = 0;
        int ord = 0, cls = w ? word_class(w, &v, &ord) : W_NONE;
        if (cls != W_NONE && ord && !strcmp(w, "second") && !n.kind) cls = W_NONE; /* "a second" */
        if (cls == W_NONE && w && n.kind && prev_cls != W_NONE && (!strcmp(w, "oh") || !strcmp(w, "o"))) cls = W_ONES, v = 0;
        if (cls != W_NONE) {
            if (decimal && cls == W_ONES && v < 10) append_digits(&n, v);
            else if (decimal) { /* a decimal ends at anything but a digit */
                s_puts(&out, num_text(&n)), s_putc(&out, ' ');
                memset(&n, 0, sizeof n), decimal = 0;
                number_word(&n, cls, v, W_NONE);
            } else number_word(&n, cls, v, prev_cls);
            prev_cls = cls;
            if (ord) {
                const char *d = num_text(&n);
                s_puts(&out, d), s_puts(&out, ord_suffix(n.num, d)), s_putc(&out, ' ');
                memset(&n, 0, sizeof n), prev_cls = W_NONE, decimal = 0;
            }
            continue;
        }
        if (w && n.kind) {
            long long nv;
            int no, next = i + 1 < nw ? word_class(words[i + 1], &nv, &no) : W_NONE;
            if (!strcmp(w, "and") && prev_cls == W_MULT && next != W_NONE && !decimal) continue;
            if (!strcmp(w, "point") && next == W_ONES && nv < 10 && !decimal) {
                to_string(&n);
                size_t l = strlen(n.digits);
                if (l + 1 < sizeof n.digits) n.digits[l] = '.', n.digits[l + 1] = 0;
                decimal = 1;
                prev_cls = W_NONE;
                continue;
            }
            if (!strcmp(w, "percent")) {
                s_puts(&out, num_text(&n)), s_puts(&out, "% ");
                memset(&n, 0, sizeof n), prev_cls = W_NONE, decimal = 0;
                continue;
            }
            if (!strcmp(w, "dollar") || !strcmp(w, "dollars")) {
                s_putc(&out, '$'), s_puts(&out, num_text(&n)), s_putc(&out, ' ');
                memset(&n, 0, sizeof n), prev_cls = W_NONE, decimal = 0;
                continue;
            }
        }
        if (n.kind) s_puts(&out, num_text(&n)), s_putc(&out, ' ');
        memset(&n, 0, sizeof n);
        prev_cls = W_NONE;
        decimal = 0;
        if (w) s_puts(&out, w), s_putc(&out, ' ');
    }
    if (out.oom) o->oom = 1;
    if (out.p) s_puts(o, out.p);
    free(out.p);
    free(buf);
}

/* . $ not before a digit and % not after one become spaces; whitespace collapsed and trimmed. */
static void finish(const char *s, str *o) {
    int pending = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if ((c == '.' || c == '$') && !is_digit((unsigned char)s[i + 1])) c = ' ';
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
