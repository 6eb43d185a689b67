/*
 * edge-stt-eval.c - `edge-stt eval`: transcribe every file of a manifest and score the transcripts
 * against its references (WER and CER after English normalisation, examples/edge-stt-score.c) and
 * the real-time factor (transcription time / audio duration, WAV decoding excluded).
 *
 *   edge-stt eval [-m MODEL] --manifest FILE [--json] [--per-file] [--threads N] [--beam N | --greedy]
 *                 [--no-fallback] [--kernels K]
 *
 * Manifest: one `WAV<TAB>reference text` per line, WAV relative to the manifest's directory (or
 * absolute); empty lines and lines starting with '#' are skipped.  Without -m the embedded model
 * is used.  Exit status: 0 ok, 1 a file failed to transcribe, 2 usage or a bad manifest, 3 the
 * model did not open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edge-stt-embed.h"
#include "edge-stt-eval.h"
#include "edge-stt-score.h"
#include "edgestt.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_MODEL 3

static int eval_usage(void) {
    fprintf(stderr,
            "usage: edge-stt eval [-m MODEL] --manifest FILE [--json] [--per-file] [--threads N]\n"
            "                     [--beam N | --greedy] [--no-fallback] [--kernels auto|ref|avx2|neon|neondot]\n"
            "  Manifest lines: WAV<TAB>reference text (WAV relative to the manifest's directory).\n"
            "  Prints WER and CER (Levenshtein over words / characters, summed over the files) and the\n"
            "  real-time factor.  Both texts are normalised as whisper's EnglishTextNormalizer does:\n"
            "  lowercase, accents folded, [..] <..> (..) and hmm/uh/um removed, contractions expanded\n"
            "  (n't -> not, 's -> is, ...), punctuation removed (. %% $ kept by numbers), spelled-out\n"
            "  numbers to digits (\"seven thirty\" -> 730, \"two hundred five\" -> 205, ordinals,\n"
            "  percent, dollars), whitespace collapsed.  Not done: British -> American spellings,\n"
            "  fractions, other currencies.  Without -m the embedded model is used.\n");
    return EXIT_USAGE;
}

static double wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Whole file into a malloc'd NUL-terminated buffer. */
static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size + 1 >= cap) {
            cap = cap ? cap * 2 : 1 << 16;
            char *q = realloc(buf, cap);
            if (!q) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = q;
        }
        size_t got = fread(buf + size, 1, cap - size - 1, f);
        size += got;
        if (!got) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    buf[size] = 0;
    *n = size;
    return buf;
}

/* A WAV file decoded to 16 kHz mono floats (malloc'd); why gets the reason on failure. */
static float *load_wav(const char *path, size_t *n, char *why, size_t why_cap) {
    size_t size;
    char *img = slurp(path, &size);
    if (!img) {
        snprintf(why, why_cap, "%s", strerror(errno ? errno : EIO));
        return NULL;
    }
    edgestt_wav_info info;
    edgestt_diag d;
    d.msg[0] = 0;
    float *pcm = NULL;
    void *scratch = NULL;
    size_t sb = 0;
    int st = edgestt_wav_parse(img, size, &info, &d);
    if (!st) st = edgestt_wav_scratch_size(&info, &sb);
    if (!st && ((sb && !(scratch = malloc(sb))) || !(pcm = malloc((size_t)info.n_samples_16k * sizeof(float) + 4))))
        st = EDGESTT_E_NOMEM;
    if (!st) st = edgestt_wav_decode(img, size, &info, pcm, scratch, sb, &d);
    free(scratch);
    free(img);
    if (st) {
        free(pcm);
        snprintf(why, why_cap, "%s", d.msg[0] ? d.msg : edgestt_strerror(st));
        return NULL;
    }
    *n = (size_t)info.n_samples_16k;
    return pcm;
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static double rate(long e, long n) { return n ? 100.0 * (double)e / (double)n : 0.0; }

typedef struct item {
    char *wav, *ref;      /* into the manifest buffer */
    char *ref_n, *hyp_n;  /* normalised (malloc'd) */
    est_score sc;
    double audio_s, time_ms;
    int failed;
} item;

/* Normalised copy of s (malloc'd; NULL when out of memory). */
static char *normalized(const char *s) {
    size_t n = est_score_normalize(s, NULL, 0);
    char *out = malloc(n + 1);
    if (out) est_score_normalize(s, out, n + 1);
    return out;
}

int edge_stt_eval(int argc, char **argv) {
    const char *model = NULL, *manifest = NULL, *kernels = NULL;
    int json = 0, per_file = 0, rc = 0;
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && v) model = v, i++;
        else if (!strcmp(a, "--manifest") && v) manifest = v, i++;
        else if (!strcmp(a, "--kernels") && v) kernels = v, i++;
        else if (!strcmp(a, "--threads") && v) {
            fp.n_threads = atoi(v), i++;
            if (fp.n_threads < 1 || fp.n_threads > 256) return fprintf(stderr, "edge-stt eval: --threads %s: not 1..256\n", v), EXIT_USAGE;
        } else if (!strcmp(a, "--beam") && v) {
            fp.beam_size = atoi(v), i++;
            if (fp.beam_size < 1 || fp.beam_size > 32) return fprintf(stderr, "edge-stt eval: --beam %s: not 1..32\n", v), EXIT_USAGE;
        } else if (!strcmp(a, "--greedy")) fp.beam_size = 0;
        else if (!strcmp(a, "--no-fallback")) fp.temperature_inc = 0.0f;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--per-file")) per_file = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) return eval_usage(), 0;
        else return fprintf(stderr, "edge-stt eval: unknown option or missing value: %s\n", a), eval_usage();
    }
    if (!manifest) return fprintf(stderr, "edge-stt eval: no --manifest\n"), eval_usage();
    size_t msize;
    char *mbuf = slurp(manifest, &msize);
    if (!mbuf) return fprintf(stderr, "edge-stt eval: %s: cannot read\n", manifest), EXIT_USAGE;
    /* the manifest's directory, for relative WAV paths */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", manifest);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0;
    else dir[0] = 0;
    /* parse lines */
    size_t cap = 64, n = 0;
    item *items = calloc(cap, sizeof *items);
    int line_no = 0;
    for (char *line = mbuf; items && line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        line_no++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = 0;
        if (l && line[0] != '#') {
            char *tab = strchr(line, '\t');
            if (!tab) {
                fprintf(stderr, "edge-stt eval: %s:%d: no TAB between the WAV and the reference\n", manifest, line_no);
                rc = EXIT_USAGE;
                goto done;
            }
            *tab = 0;
            if (n == cap) {
                item *q = realloc(items, 2 * cap * sizeof *items);
                if (!q) break;
                memset(q + cap, 0, cap * sizeof *q);
                items = q;
                cap *= 2;
            }
            items[n].wav = line;
            items[n].ref = tab + 1;
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (!items) {
        fprintf(stderr, "edge-stt eval: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    if (!n) {
        fprintf(stderr, "edge-stt eval: %s: no entries\n", manifest);
        rc = EXIT_USAGE;
        goto done;
    }
    /* the model and one state */
    edgestt_params mp;
    edgestt_params_default(&mp);
    mp.n_threads = fp.n_threads;
    mp.kernels = kernels;
    edgestt_diag d;
    d.msg[0] = 0;
    edgestt_model *m = NULL;
    int st = edge_stt_open_model(model, &mp, &m, &d);
    const char *model_name = model ? model : edge_stt_embedded_name();
    if (st) {
        fprintf(stderr, "edge-stt eval: %s: %s\n", model ? model : "model", d.msg[0] ? d.msg : edgestt_strerror(st));
        rc = EXIT_MODEL;
        goto done;
    }
    edgestt_state *s = NULL;
    if ((st = edgestt_state_init(m, &fp, NULL, 0, &s, &d)) != 0) {
        fprintf(stderr, "edge-stt eval: state: %s\n", d.msg[0] ? d.msg : edgestt_strerror(st));
        edgestt_close(m);
        rc = EXIT_RUNTIME;
        goto done;
    }
    est_score tot;
    memset(&tot, 0, sizeof tot);
    double audio_s = 0.0, time_ms = 0.0;
    size_t text_cap = 1 << 16;
    char *text = malloc(text_cap);
    for (size_t i = 0; i < n && text; i++) {
        item *it = &items[i];
        char path[8192], why[512];
        if (it->wav[0] == '/') snprintf(path, sizeof path, "%s", it->wav);
        else snprintf(path, sizeof path, "%s%s", dir, it->wav);
        size_t ns = 0;
        float *pcm = load_wav(path, &ns, why, sizeof why);
        size_t len = 0;
        text[0] = 0;
        if (!pcm) {
            fprintf(stderr, "edge-stt eval: %s: %s\n", path, why);
            it->failed = 1;
        } else {
            double t0 = wall_ms();
            st = edgestt_transcribe(s, pcm, ns, &fp);
            it->time_ms = wall_ms() - t0;
            it->audio_s = (double)ns / 16000.0;
            free(pcm);
            if (!st) st = edgestt_full_text(s, text, text_cap, &len);
            if (st) {
                fprintf(stderr, "edge-stt eval: %s: %s\n", path, edgestt_state_error(s)[0] ? edgestt_state_error(s) : edgestt_strerror(st));
                it->failed = 1;
            }
        }
        if (it->failed) rc = EXIT_RUNTIME, text[0] = 0; /* scored as an empty transcript */
        it->ref_n = normalized(it->ref);
        it->hyp_n = normalized(text);
        if (!it->ref_n || !it->hyp_n || est_score_pair(it->ref_n, it->hyp_n, &it->sc)) {
            fprintf(stderr, "edge-stt eval: out of memory\n");
            rc = EXIT_RUNTIME;
            break;
        }
        tot.word_errors += it->sc.word_errors;
        tot.ref_words += it->sc.ref_words;
        tot.char_errors += it->sc.char_errors;
        tot.ref_chars += it->sc.ref_chars;
        audio_s += it->audio_s;
        time_ms += it->time_ms;
    }
    free(text);
    edgestt_state_free(s);
    edgestt_close(m);
    const double rtf = audio_s > 0.0 ? time_ms / 1000.0 / audio_s : 0.0;
    if (json) {
        printf("{\"model\": ");
        json_str(stdout, model_name);
        printf(", \"manifest\": ");
        json_str(stdout, manifest);
        printf(", \"files\": %zu, \"audio_s\": %.3f, \"time_s\": %.3f, \"rtf\": %.4f, \"wer\": %.4f, \"cer\": %.4f, "
               "\"word_errors\": %ld, \"ref_words\": %ld, \"char_errors\": %ld, \"ref_chars\": %ld",
               n, audio_s, time_ms / 1000.0, rtf, rate(tot.word_errors, tot.ref_words), rate(tot.char_errors, tot.ref_chars),
               tot.word_errors, tot.ref_words, tot.char_errors, tot.ref_chars);
        if (per_file) {
            printf(", \"per_file\": [");
            for (size_t i = 0; i < n; i++) {
                const item *it = &items[i];
                printf("%s\n  {\"file\": ", i ? "," : "");
                json_str(stdout, it->wav);
                printf(", \"ref\": ");
                json_str(stdout, it->ref_n ? it->ref_n : "");
                printf(", \"hyp\": ");
                json_str(stdout, it->hyp_n ? it->hyp_n : "");
                printf(", \"word_errors\": %ld, \"ref_words\": %ld, \"char_errors\": %ld, \"ref_chars\": %ld, "
                       "\"audio_s\": %.3f, \"time_s\": %.3f, \"failed\": %s}",
                       it->sc.word_errors, it->sc.ref_words, it->sc.char_errors, it->sc.ref_chars, it->audio_s,
                       it->time_ms / 1000.0, it->failed ? "true" : "false");
            }
            printf("]");
        }
        printf("}\n");
    } else {
        if (per_file)
            for (size_t i = 0; i < n; i++) {
                const item *it = &items[i];
                printf("%s\t%ld/%ld words\t%ld/%ld chars\tref: %s\thyp: %s%s\n", it->wav, it->sc.word_errors,
                       it->sc.ref_words, it->sc.char_errors, it->sc.ref_chars, it->ref_n ? it->ref_n : "",
                       it->hyp_n ? it->hyp_n : "", it->failed ? "\t(failed)" : "");
            }
        printf("model %s\n", model_name);
        printf("files %zu, audio %.1f s, transcription %.1f s, RTF %.3f\n", n, audio_s, time_ms / 1000.0, rtf);
        printf("WER %.2f %% (%ld / %ld words), CER %.2f %% (%ld / %ld characters)\n", rate(tot.word_errors, tot.ref_words),
               tot.word_errors, tot.ref_words, rate(tot.char_errors, tot.ref_chars), tot.char_errors, tot.ref_chars);
    }
done:
    for (size_t i = 0; items && i < n; i++) {
        free(items[i].ref_n);
        free(items[i].hyp_n);
    }
    free(items);
    free(mbuf);
    return rc;
}
