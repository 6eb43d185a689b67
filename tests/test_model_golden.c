/*
 * test_model_golden.c - the loading golden (tests/data/golden/models_mini.txt, written by
 * tests/reference/make_goldens_models.py with independent numpy readers): every tensor of the
 * mini models, loaded through our readers in both layouts and dequantized with
 * est_dequantize_row, must have the golden's type, shape, FNV-1a 64 of its float32 bytes and first
 * 8 values, bit for bit.
 */
#include <stdlib.h>

#include "../core/model.h"
#include "../kernels/quant.h"
#include "test.h"

static uint64_t fnv1a_floats(const float *v, int64_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int b = 0; b < 4; b++) h = (h ^ ((u >> (8 * b)) & 0xff)) * 0x100000001b3ull; /* little-endian bytes */
    }
    return h;
}

static const est_tensor *find_tensor(const edgestt_model *m, const char *name) {
    char n[96];
    const est_tensor *t;
    for (int i = 0; est_whisper_slot(&m->w, &m->hp, i, n, sizeof n, &t); i++)
        if (!strcmp(n, name)) return t;
    return NULL;
}

/* One golden tensor line against one open model; returns 0 and reports on mismatch. */
static int check_line(const edgestt_model *m, const char *file, char *line, float **buf, int64_t *cap) {
    char name[96], type[8];
    long long ne[4];
    unsigned long long hash;
    int used = 0;
    if (sscanf(line, "tensor %95s %7s %lld %lld %lld %lld %llx%n", name, type, &ne[0], &ne[1], &ne[2], &ne[3], &hash,
               &used) != 7) {
        est_test_fail(__FILE__, __LINE__, "bad golden line '%s'", line);
        return 0;
    }
    const est_tensor *t = find_tensor(m, name);
    if (!t || !t->data) {
        est_test_fail(__FILE__, __LINE__, "%s: tensor %s not bound", file, name);
        return 0;
    }
    int64_t tne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
    if (tne[0] == 1 && tne[2] == 1 && strstr(name, ".bias")) { /* .bin conv bias (n_state, 1) */
        tne[0] = tne[1];
        tne[1] = 1;
    }
    if (strcmp(edgestt_type_name(t->type), type) || tne[0] != ne[0] || tne[1] != ne[1] || tne[2] != ne[2] ||
        tne[3] != ne[3]) {
        est_test_fail(__FILE__, __LINE__, "%s: %s is %s [%lld %lld %lld %lld], golden %s [%lld %lld %lld %lld]", file,
                      name, edgestt_type_name(t->type), (long long)tne[0], (long long)tne[1], (long long)tne[2],
                      (long long)tne[3], type, ne[0], ne[1], ne[2], ne[3]);
        return 0;
    }
    int64_t n = est_tensor_nelem(t);
    if (n > *cap) {
        free(*buf);
        *buf = malloc((size_t)n * sizeof(float));
        *cap = *buf ? n : 0;
        if (!*buf) return 0;
    }
    est_dequantize_row(t->type, t->data, *buf, n);
    uint64_t h = fnv1a_floats(*buf, n);
    if (h != hash) {
        est_test_fail(__FILE__, __LINE__, "%s: %s hash %016llx, golden %016llx", file, name, (unsigned long long)h, hash);
        return 0;
    }
    char *p = line + used;
    for (int i = 0; i < 8 && i < n; i++) {
        char *end;
        float g = strtof(p, &end);
        if (end == p || memcmp(&g, &(*buf)[i], 4)) {
            est_test_fail(__FILE__, __LINE__, "%s: %s[%d] = %.9g, golden %.9g", file, name, i, (double)(*buf)[i],
                          (double)g);
            return 0;
        }
        p = end;
    }
    return 1;
}

TEST(model_loading_golden) {
    FILE *f = fopen(est_test_data("golden/models_mini.txt"), "r");
    CHECKF(f != NULL, "cannot open %s", est_test_data("golden/models_mini.txt"));
    char line[1024];
    edgestt_model *m[2] = {NULL, NULL};
    char files[2][128];
    float *buf = NULL;
    int64_t cap = 0;
    int n_models = 0, n_lines = 0, ok = 1;
    while (ok && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || !line[0]) continue;
        if (!strncmp(line, "model ", 6)) {
            for (int g = 0; g < 2; g++) {
                edgestt_close(m[g]);
                m[g] = NULL;
                snprintf(files[g], sizeof files[g], "%.100s.%s", line + 6, g ? "gguf" : "bin");
                edgestt_diag d;
                if (edgestt_open(est_test_model(files[g]), NULL, NULL, 0, &m[g], &d)) {
                    est_test_fail(__FILE__, __LINE__, "%s: %s", files[g], d.msg);
                    ok = 0;
                }
            }
            n_models++;
            continue;
        }
        for (int g = 0; g < 2 && ok; g++) {
            char copy[1024];
            memcpy(copy, line, sizeof copy);
            ok = m[g] && check_line(m[g], files[g], copy, &buf, &cap);
        }
        n_lines++;
    }
    fclose(f);
    edgestt_close(m[0]);
    edgestt_close(m[1]);
    free(buf);
    if (!ok) return;
    CHECKF(n_models == 6 && n_lines == 6 * 89, "golden has %d models, %d tensor lines", n_models, n_lines);
}
