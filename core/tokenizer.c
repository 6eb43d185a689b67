/*
 * tokenizer.c - Whisper vocabularies: id -> bytes (see tokenizer.h).  GPT-2's byte-level alphabet
 * maps the 188 printable bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) to themselves and the other 68
 * bytes, in order, to U+0100..U+0143; decoding inverts that.
 */
#include "tokenizer.h"

static const char *const lang_codes[EST_TOK_N_LANG_CODES] = {
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv",
    "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no",
    "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr",
    "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
    "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu",
    "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
    "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue"};

const char *est_tok_language(int i) {
    return i >= 0 && i < EST_TOK_N_LANG_CODES ? lang_codes[i] : NULL;
}

/* ---- GPT-2 byte-level alphabet ---------------------------------------------------------- */

static int printable(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

int est_gpt2_encode_byte(uint8_t b, uint8_t out[2]) {
    unsigned cp = b;
    if (!printable(b)) cp = 256 + (b <= 32 ? b : b <= 160 ? 33u + (b - 127u) : 67u);
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    out[0] = (uint8_t)(0xC0 | (cp >> 6));
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
}

/* Byte for a code point of the alphabet, or -1. */
static int alphabet_byte(unsigned cp) {
    if (cp < 256) return printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    unsigned k = cp - 256;
    return k <= 32 ? (int)k : k <= 66 ? (int)(127 + k - 33) : 173;
}

int64_t est_gpt2_decode(const uint8_t *s, size_t n, uint8_t *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        if (s[i] >= 33 && s[i] <= 126) { /* printable ASCII: itself (the common case) */
            out[o++] = s[i++];
            continue;
        }
        if (s[i] < 0x80) {
            cp = s[i++];
        } else if ((s[i] & 0xE0) == 0xC0 && i + 1 < n && (s[i + 1] & 0xC0) == 0x80) {
            cp = ((unsigned)(s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F);
            i += 2;
            if (cp < 0x80) return -1; /* overlong */
        } else {
            return -1; /* 3- and 4-byte sequences are all outside the alphabet */
        }
        int b = alphabet_byte(cp);
        if (b < 0) return -1;
        out[o++] = (uint8_t)b;
    }
    return (int64_t)o;
}

/* ---- textual forms of special ids ------------------------------------------------------- */

static size_t put(char *buf, size_t at, const char *s) {
    size_t n = strlen(s);
    if (at + n < EST_TOK_MAX_FORM) memcpy(buf + at, s, n);
    else n = 0;
    return at + n;
}

static size_t put_uint(char *buf, size_t at, uint32_t v, int min_digits) {
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < min_digits);
    while (n && at + 1 < EST_TOK_MAX_FORM) buf[at++] = tmp[--n];
    return at;
}

size_t est_tok_special_form(const edgestt_special_tokens *st, int id, char *buf) {
    size_t n = 0;
    const char *name = NULL;
    if (id == st->eot) name = "endoftext";
    else if (id == st->sot) name = "startoftranscript";
    else if (id == st->translate) name = "translate";
    else if (id == st->transcribe) name = "transcribe";
    else if (id == st->solm) name = "startoflm";
    else if (id == st->prev) name = "startofprev";
    else if (id == st->nosp) name = "nospeech";
    else if (id == st->no_timestamps) name = "notimestamps";
    else if (id >= st->lang_first && id < st->lang_first + st->n_languages) name = est_tok_language(id - st->lang_first);
    if (name) {
        n = put(buf, n, "<|");
        n = put(buf, n, name);
        n = put(buf, n, "|>");
    } else if (st->timestamp_begin >= 0 && id >= st->timestamp_begin) {
        uint32_t cs = (uint32_t)(id - st->timestamp_begin) * 2; /* 0.02 s steps */
        n = put(buf, n, "<|");
        n = put_uint(buf, n, cs / 100, 1);
        n = put(buf, n, ".");
        n = put_uint(buf, n, cs % 100, 2);
        n = put(buf, n, "|>");
    } else {
        n = put(buf, n, "[_extra_token_");
        n = put_uint(buf, n, (uint32_t)(id < 0 ? 0 : id), 1);
        n = put(buf, n, "]");
    }
    buf[n] = 0;
    return n;
}

/* Sum over v in [lo, hi) (0 <= lo) of the decimal digit count of floor(v / scale). */
static uint64_t digit_sum(int64_t lo, int64_t hi, int64_t scale) {
    uint64_t total = 0;
    int64_t start = 0, end = 10 * scale; /* values with d digits: [start, end) */
    for (int d = 1; d <= 11 && lo < hi; d++, start = end, end *= 10) {
        int64_t a = lo > start ? lo : start, b = hi < end ? hi : end;
        if (a < b) total += (uint64_t)(b - a) * (uint64_t)d;
    }
    return total;
}

/* Length of the form an id has when it is not named: a timestamp or an extra token. */
static uint64_t unnamed_bytes(const edgestt_special_tokens *st, int64_t lo, int64_t hi) {
    uint64_t total = 0;
    int64_t ts = st->timestamp_begin >= 0 ? st->timestamp_begin : INT64_MAX;
    int64_t xe = hi < ts ? hi : ts; /* extra tokens: [lo, xe) */
    if (lo < xe) {
        int64_t neg_end = xe < 0 ? xe : 0; /* a negative id prints as 0 */
        if (lo < neg_end) total += (uint64_t)(neg_end - lo) * 16u;
        int64_t a = lo > 0 ? lo : 0;
        if (a < xe) total += (uint64_t)(xe - a) * 15u + digit_sum(a, xe, 1);
    }
    int64_t a = lo > ts ? lo : ts; /* timestamps "<|s.cc|>": [a, hi), seconds = (id - ts) / 50 */
    if (a < hi) total += (uint64_t)(hi - a) * 7u + digit_sum(a - ts, hi - ts, 50);
    return total;
}

/* The total of est_tok_special_form over [n_text, n_vocab), in closed form: every id's unnamed
 * form, corrected for the named ids (each counted once; a language range may hold a single). */
size_t est_tok_special_bytes(const edgestt_special_tokens *st, int n_text, int n_vocab) {
    char buf[EST_TOK_MAX_FORM];
    if (n_vocab <= n_text) return 0;
    uint64_t total = unnamed_bytes(st, n_text, n_vocab);
    const int single[8] = {st->eot, st->sot, st->translate, st->transcribe, st->solm, st->prev, st->nosp,
                           st->no_timestamps};
    int64_t l0 = st->lang_first, l1 = (int64_t)st->lang_first + (st->n_languages > 0 ? st->n_languages : 0);
    for (int64_t id = l0 > n_text ? l0 : n_text; id < l1 && id < n_vocab; id++)
        total += est_tok_special_form(st, (int)id, buf) - unnamed_bytes(st, id, id + 1);
    for (int i = 0; i < 8; i++) {
        int id = single[i], seen = id < n_text || id >= n_vocab || (id >= l0 && id < l1);
        for (int j = 0; j < i && !seen; j++) seen = single[j] == id;
        if (!seen) total += est_tok_special_form(st, id, buf) - unnamed_bytes(st, id, (int64_t)id + 1);
    }
    return (size_t)total;
}

void est_tok_build_special(est_tokenizer *t, uint8_t *bytes, uint32_t *off) {
    char buf[EST_TOK_MAX_FORM];
    uint32_t at = 0;
    for (int id = t->n_text; id < t->n_vocab; id++) {
        size_t n = est_tok_special_form(&t->st, id, buf);
        off[id - t->n_text] = at;
        memcpy(bytes + at, buf, n);
        at += (uint32_t)n;
    }
    off[t->n_vocab - t->n_text] = at;
    t->spec = bytes;
    t->spec_off = off;
}

/* ---- stored text tokens ----------------------------------------------------------------- */

int est_tok_index_records(est_tokenizer *t, const uint8_t *records, size_t records_bytes, int n,
                          uint32_t *off, edgestt_diag *diag) {
    size_t pos = 0;
    if (records_bytes > UINT32_MAX - 8)
        return est_diag(diag, EDGESTT_E_LIMIT, "vocabulary of %zu bytes is too large", records_bytes);
    for (int i = 0; i < n; i++) {
        if (records_bytes - pos < 4) return est_diag(diag, EDGESTT_E_TRUNCATED, "vocabulary word %d is cut", i);
        uint32_t len = est_rd_u32(records + pos);
        if (len > records_bytes - pos - 4)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "vocabulary word %d is cut", i);
        off[i] = (uint32_t)(pos + 4);
        pos += 4 + (size_t)len;
    }
    off[n] = (uint32_t)(pos + 4);
    t->text = records;
    t->text_off = off;
    t->gap = 4;
    t->n_text = n;
    return EDGESTT_OK;
}

int est_tok_index_gpt2(est_tokenizer *t, const uint8_t *first, const uint8_t *end, int n, uint8_t *bytes,
                       size_t cap, uint32_t *off, edgestt_diag *diag) {
    const uint8_t *p = first;
    size_t at = 0;
    if (cap > UINT32_MAX) return est_diag(diag, EDGESTT_E_LIMIT, "vocabulary of %zu bytes is too large", cap);
    for (int i = 0; i < n; i++) {
        uint64_t len = 0;
        if (end < p || (size_t)(end - p) < 8 || (len = est_rd_u64(p)) > (uint64_t)(end - p) - 8)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "vocabulary token %d is cut", i);
        if (len > cap - at) return est_diag(diag, EDGESTT_E_INTERNAL, "vocabulary grew between scan and fill");
        int64_t got = est_gpt2_decode(p + 8, (size_t)len, bytes + at);
        if (got < 0)
            return est_diag(diag, EDGESTT_E_FORMAT, "token %d '%.*s' is not a GPT-2 byte-level string", i,
                            (int)(len > 40 ? 40 : len), (const char *)p + 8);
        off[i] = (uint32_t)at;
        at += (size_t)got;
        p += 8 + (size_t)len;
    }
    off[n] = (uint32_t)at;
    t->text = bytes;
    t->text_off = off;
    t->gap = 0;
    t->n_text = n;
    return EDGESTT_OK;
}

int est_tok_bytes(const est_tokenizer *t, int id, const uint8_t **bytes, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return EDGESTT_E_NOT_FOUND;
    if (id < t->n_text) {
        *bytes = t->text + t->text_off[id];
        *len = t->text_off[id + 1] - t->text_off[id] - t->gap;
    } else {
        int k = id - t->n_text;
        *bytes = t->spec + t->spec_off[k];
        *len = t->spec_off[k + 1] - t->spec_off[k];
    }
    return EDGESTT_OK;
}
