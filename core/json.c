/*
 * json.c - the bounded JSON reader of json.h (RFC 8259 syntax; no allocation; recursion only in
 * est_json_skip, bounded by EST_JSON_MAX_DEPTH).
 */
#include "json.h"

void est_json_init(est_json *j, const void *s, size_t n, const char *what) {
    j->s = (const uint8_t *)s;
    j->n = s ? n : 0;
    j->pos = 0;
    j->what = what ? what : "json";
}

static void ws(est_json *j) {
    while (j->pos < j->n) {
        uint8_t c = j->s[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        j->pos++;
    }
}

int est_json_peek(est_json *j) {
    ws(j);
    return j->pos < j->n ? j->s[j->pos] : -1;
}

static int bad(est_json *j, edgestt_diag *diag, const char *what) {
    if (j->pos >= j->n)
        return est_diag(diag, EDGESTT_E_TRUNCATED, "%s: ends inside %s (byte %zu)", j->what, what, j->pos);
    return est_diag(diag, EDGESTT_E_FORMAT, "%s: bad %s at byte %zu", j->what, what, j->pos);
}

/* Consume the byte c after white space, or fail naming what. */
static int expect(est_json *j, uint8_t c, const char *what, edgestt_diag *diag) {
    if (est_json_peek(j) != c) return bad(j, diag, what);
    j->pos++;
    return EDGESTT_OK;
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* 4 hex digits at p (caller checked they are in bounds); -1 if not hex. */
static int32_t hex4(const uint8_t *p) {
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

int est_json_string(est_json *j, const uint8_t **body, size_t *len, edgestt_diag *diag) {
    if (est_json_peek(j) != '"') return bad(j, diag, "string");
    size_t start = ++j->pos;
    while (j->pos < j->n) {
        uint8_t c = j->s[j->pos];
        if (c == '"') {
            *body = j->s + start;
            *len = j->pos - start;
            j->pos++;
            return EDGESTT_OK;
        }
        if (c < 0x20) return bad(j, diag, "string (control byte)");
        if (c == '\\') {
            if (j->n - j->pos < 2) break;
            uint8_t e = j->s[j->pos + 1];
            if (e == 'u') {
                if (j->n - j->pos < 6) break;
                if (hex4(j->s + j->pos + 2) < 0) return bad(j, diag, "string (\\u escape)");
                j->pos += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || !e) return bad(j, diag, "string (escape)");
            j->pos += 2;
            continue;
        }
        j->pos++;
    }
    j->pos = j->n;
    return bad(j, diag, "string");
}

/* Validate a number at the cursor; *is_int gets 1 when it has no fraction or exponent. */
static int number(est_json *j, int *is_int, edgestt_diag *diag) {
    const uint8_t *s = j->s;
    size_t p = j->pos, n = j->n;
    *is_int = 1;
    if (p < n && s[p] == '-') p++;
    if (p >= n || s[p] < '0' || s[p] > '9') return j->pos = p, bad(j, diag, "number");
    if (s[p] == '0') p++;
    else while (p < n && s[p] >= '0' && s[p] <= '9') p++;
    if (p < n && s[p] == '.') {
        *is_int = 0;
        p++;
        if (p >= n || s[p] < '0' || s[p] > '9') return j->pos = p, bad(j, diag, "number");
        while (p < n && s[p] >= '0' && s[p] <= '9') p++;
    }
    if (p < n && (s[p] == 'e' || s[p] == 'E')) {
        *is_int = 0;
        p++;
        if (p < n && (s[p] == '+' || s[p] == '-')) p++;
        if (p >= n || s[p] < '0' || s[p] > '9') return j->pos = p, bad(j, diag, "number");
        while (p < n && s[p] >= '0' && s[p] <= '9') p++;
    }
    j->pos = p;
    return EDGESTT_OK;
}

int est_json_int(est_json *j, int64_t *v, edgestt_diag *diag) {
    int c = est_json_peek(j);
    if (c != '-' && (c < '0' || c > '9')) return bad(j, diag, "integer");
    size_t start = j->pos;
    int is_int, st = number(j, &is_int, diag);
    if (st) return st;
    if (!is_int) return j->pos = start, est_diag(diag, EDGESTT_E_FORMAT, "%s: number at byte %zu is not an integer", j->what, start);
    const int neg = j->s[start] == '-';
    uint64_t u = 0;
    for (size_t p = start + (size_t)neg; p < j->pos; p++) {
        uint64_t d = (uint64_t)(j->s[p] - '0');
        if (u > (UINT64_MAX - d) / 10 || u * 10 + d > (uint64_t)INT64_MAX + (uint64_t)neg)
            return est_diag(diag, EDGESTT_E_FORMAT, "%s: integer at byte %zu is out of range", j->what, start);
        u = u * 10 + d;
    }
    *v = neg ? (u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u) : (int64_t)u;
    return EDGESTT_OK;
}

/* A literal (true, false, null). */
static int literal(est_json *j, const char *lit, edgestt_diag *diag) {
    size_t n = strlen(lit);
    if (j->n - j->pos < n || memcmp(j->s + j->pos, lit, n)) return bad(j, diag, "literal");
    j->pos += n;
    return EDGESTT_OK;
}

int est_json_object(est_json *j, edgestt_diag *diag) { return expect(j, '{', "object", diag); }
int est_json_array(est_json *j, edgestt_diag *diag) { return expect(j, '[', "array", diag); }

int est_json_member(est_json *j, int *first, const uint8_t **key, size_t *klen, edgestt_diag *diag) {
    int c = est_json_peek(j);
    if (c == '}') {
        j->pos++;
        return 0;
    }
    if (!*first) {
        if (c != ',') return bad(j, diag, "object (',' or '}')");
        j->pos++;
    }
    *first = 0;
    int st = est_json_string(j, key, klen, diag);
    if (st) return st;
    return (st = expect(j, ':', "object (':')", diag)) != 0 ? st : 1;
}

int est_json_element(est_json *j, int *first, edgestt_diag *diag) {
    int c = est_json_peek(j);
    if (c == ']') {
        j->pos++;
        return 0;
    }
    if (!*first) {
        if (c != ',') return bad(j, diag, "array (',' or ']')");
        j->pos++;
        if (est_json_peek(j) == ']') return bad(j, diag, "array (trailing ',')");
    }
    *first = 0;
    return 1;
}

static int skip_depth(est_json *j, int depth, edgestt_diag *diag) {
    if (depth > EST_JSON_MAX_DEPTH)
        return est_diag(diag, EDGESTT_E_FORMAT, "%s: nested deeper than %d at byte %zu", j->what, EST_JSON_MAX_DEPTH, j->pos);
    int c = est_json_peek(j), st, first = 1, more;
    const uint8_t *k;
    size_t kl;
    switch (c) {
    case '"': return est_json_string(j, &k, &kl, diag);
    case 't': return literal(j, "true", diag);
    case 'f': return literal(j, "false", diag);
    case 'n': return literal(j, "null", diag);
    case '{':
        j->pos++;
        while ((more = est_json_member(j, &first, &k, &kl, diag)) == 1)
            if ((st = skip_depth(j, depth + 1, diag)) != 0) return st;
        return more;
    case '[':
        j->pos++;
        while ((more = est_json_element(j, &first, diag)) == 1)
            if ((st = skip_depth(j, depth + 1, diag)) != 0) return st;
        return more;
    default: {
        int is_int;
        return number(j, &is_int, diag);
    }
    }
}

int est_json_skip(est_json *j, edgestt_diag *diag) { return skip_depth(j, 0, diag); }

/* UTF-8 of code point cp into out at *at (if room); advances *at by its length. */
static void put_utf8(uint32_t cp, uint8_t *out, size_t cap, size_t *at) {
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) b[0] = (uint8_t)cp, n = 1;
    else if (cp < 0x800) b[0] = (uint8_t)(0xC0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (uint8_t)(0xE0 | cp >> 12), b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), b[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
    else
        b[0] = (uint8_t)(0xF0 | cp >> 18), b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F)),
        b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), b[3] = (uint8_t)(0x80 | (cp & 0x3F)), n = 4;
    for (size_t i = 0; i < n; i++, (*at)++)
        if (out && *at < cap) out[*at] = b[i];
}

int64_t est_json_unescape(const uint8_t *s, size_t len, uint8_t *out, size_t cap) {
    size_t at = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] != '\\') {
            if (out && at < cap) out[at] = s[i];
            at++, i++;
            continue;
        }
        if (len - i < 2) return -1;
        uint8_t e = s[i + 1], c;
        switch (e) {
        case '"': case '\\': case '/': c = e; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            if (len - i < 6) return -1;
            int32_t u = hex4(s + i + 2);
            if (u < 0) return -1;
            uint32_t cp = (uint32_t)u;
            i += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* a lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (len - i < 6 || s[i] != '\\' || s[i + 1] != 'u') return -1;
                int32_t lo = hex4(s + i + 2);
                if (lo < 0xDC00 || lo > 0xDFFF) return -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                i += 6;
            }
            put_utf8(cp, out, cap, &at);
            continue;
        }
        default: return -1;
        }
        if (out && at < cap) out[at] = c;
        at++, i += 2;
    }
    return (int64_t)at;
}
