/*
 * test_convert.c - CRC-32 vectors, edgestt_convert round trips (a .bin and a GGUF of one seed convert
 * to byte-identical files), shard sets that open as the whole model, and edgestt_check on a damaged
 * corpus generated here (truncations, flipped bytes, .part names, missing shards).
 */
#include <stdlib.h>
#include <string.h>

#include "../core/crc32.h"
#include "edgestt.h"
#include "test.h"

TEST(crc32_vectors) {
    CHECK(est_crc32(0, "", 0) == 0);
    CHECK(est_crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK(est_crc32(0, "The quick brown fox jumps over the lazy dog", 43) == 0x414FA339u);
    CHECK(est_crc32(est_crc32(0, "12345", 5), "6789", 4) == 0xCBF43926u);
    uint8_t z[32] = {0};
    CHECK(est_crc32(0, z, 32) == 0x190A55ADu);
}

/* A growable in-memory sink: one buffer per shard. */
typedef struct memout {
    uint8_t *b[8];
    size_t n[8], cap[8];
    int n_shards;
} memout;

static int mem_sink(void *user, int shard, int n_shards, uint64_t off, const void *data, size_t n) {
    memout *m = (memout *)user;
    if (shard >= 8) return 1;
    m->n_shards = n_shards;
    if (off + n > m->cap[shard]) {
        size_t c = (size_t)(off + n) * 2;
        uint8_t *nb = realloc(m->b[shard], c);
        if (!nb) return 1;
        memset(nb + m->cap[shard], 0, c - m->cap[shard]);
        m->b[shard] = nb;
        m->cap[shard] = c;
    }
    memcpy(m->b[shard] + off, data, n);
    if (off + n > m->n[shard]) m->n[shard] = (size_t)(off + n);
    return 0;
}

static void mem_free(memout *m) {
    for (int i = 0; i < 8; i++) free(m->b[i]);
    memset(m, 0, sizeof *m);
}

static int convert_mem(const char *rel, int type, uint64_t shard, memout *m, edgestt_convert_report *r) {
    edgestt_convert_params p;
    edgestt_convert_params_default(&p);
    p.type = type;
    p.shard_bytes = shard;
    p.name = "t";
    memset(m, 0, sizeof *m);
    edgestt_diag d;
    d.msg[0] = 0;
    int st = edgestt_convert(est_test_model(rel), &p, mem_sink, m, r, &d);
    if (st) printf("  convert %s: %s\n", rel, d.msg);
    return st;
}

static int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* .bin and .gguf of one seed, same target: identical output files; the result opens and checks. */
TEST(convert_bin_and_gguf_agree) {
    static const struct { const char *bin, *gguf; int type; } c[] = {
        {"mini-en-f32.bin", "mini-en-q8_0.gguf", EDGESTT_TYPE_Q8_0},
        {"mini-en-f32.bin", "mini-en-q4_0.gguf", EDGESTT_TYPE_Q4_0},
        {"mini-en-f32.bin", "mini-en-f16.gguf", EDGESTT_TYPE_F16},
        {"mini-en-f32.gguf", "mini-en-f32.bin", EDGESTT_TYPE_F32},
        {"mini-multi-f16.bin", "mini-multi-f16.gguf", EDGESTT_TYPE_Q8_0},
        {"mini-v3-f16.gguf", "mini-v3-f16.bin", EDGESTT_TYPE_F16},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        memout a, b;
        edgestt_convert_report ra, rb;
        CHECK_ST(convert_mem(c[i].bin, c[i].type, 0, &a, &ra), EDGESTT_OK);
        CHECK_ST(convert_mem(c[i].gguf, c[i].type, 0, &b, &rb), EDGESTT_OK);
        CHECKF(a.n[0] == b.n[0] && !memcmp(a.b[0], b.b[0], a.n[0]), "case %zu: %s and %s convert differently", i,
               c[i].bin, c[i].gguf);
        CHECK(ra.n_shards == 1 && ra.bytes == a.n[0] && ra.n_requantized == 0);
        edgestt_model *m = NULL;
        edgestt_diag d;
        CHECK_ST(edgestt_open_memory(a.b[0], a.n[0], NULL, NULL, 0, &m, &d), EDGESTT_OK);
        edgestt_model_info in;
        edgestt_model_get_info(m, &in);
        CHECK(in.n_by_type[c[i].type] > 0);
        edgestt_close(m);
        const char *path = est_test_tmp("conv.gguf");
        CHECK(write_file(path, a.b[0], a.n[0]));
        CHECKF(edgestt_check(path, 0, &d) == EDGESTT_CHECK_COMPLETE, "check: %s", d.msg);
        mem_free(&a);
        mem_free(&b);
    }
}

/* whisper-gen's q8_0 file converted to q4_0 equals dequantize+requantize done here by the engine's
 * quantizers: only checks the policy counts and that F32 stays F32. */
TEST(convert_policy_and_keep) {
    edgestt_convert_params p;
    edgestt_convert_params_default(&p);
    const char *keep[] = {"decoder.token_embedding.weight=f16", "*.mlp.0.weight=q4_0"};
    p.keep = keep;
    p.n_keep = 2;
    memout m;
    memset(&m, 0, sizeof m);
    edgestt_convert_report r;
    edgestt_diag d;
    CHECK_ST(edgestt_convert(est_test_model("mini-en-f16.gguf"), &p, mem_sink, &m, &r, &d), EDGESTT_OK);
    /* 2 layers x (enc 1 + dec 1) mlp.0 weights in q4_0; token embedding and convs f16 */
    CHECK(r.n_by_type[EDGESTT_TYPE_Q4_0] == 4);
    CHECK(r.n_by_type[EDGESTT_TYPE_F16] == 3);
    CHECK(r.n_by_type[EDGESTT_TYPE_Q8_0] == 2 * 6 + 2 * 10 - 4);
    mem_free(&m);
    const char *bad[] = {"encoder.blocks.0.attn_ln.weight=q8_0"};
    p.keep = bad;
    p.n_keep = 1;
    CHECK_ST(edgestt_convert(est_test_model("mini-en-f16.gguf"), &p, mem_sink, &m, &r, &d), EDGESTT_E_INVALID_ARG);
    mem_free(&m);
}

/* Write a shard set under the tmp dir; returns the shard count. */
static int write_shards(const char *base, memout *m) {
    char name[4096];
    for (int s = 0; s < m->n_shards; s++) {
        if (edgestt_shard_name(base, s + 1, m->n_shards, name, sizeof name)) return 0;
        if (!write_file(name, m->b[s], m->n[s])) return 0;
    }
    return m->n_shards;
}

TEST(convert_shards_open_as_whole) {
    memout one, sh;
    edgestt_convert_report r1, r2;
    CHECK_ST(convert_mem("mini-en-f32.bin", EDGESTT_TYPE_F16, 0, &one, &r1), EDGESTT_OK);
    CHECK_ST(convert_mem("mini-en-f32.bin", EDGESTT_TYPE_F16, 2u << 20, &sh, &r2), EDGESTT_OK);
    CHECK(r2.n_shards >= 3 && r2.n_shards <= 8);
    for (int s = 0; s < r2.n_shards; s++) CHECK(sh.n[s] <= (2u << 20) || s == 1); /* the embedding alone */
    const char *base = est_test_tmp("sh.gguf");
    CHECK(write_shards(base, &sh) == r2.n_shards);
    char first[4096], name[4096];
    edgestt_shard_name(base, 1, r2.n_shards, first, sizeof first);
    edgestt_model *a = NULL, *b = NULL;
    edgestt_diag d;
    CHECK_ST(edgestt_open_memory(one.b[0], one.n[0], NULL, NULL, 0, &a, &d), EDGESTT_OK);
    int st = edgestt_open(first, NULL, NULL, 0, &b, &d);
    CHECKF(st == 0, "open shards: %s", d.msg);
    edgestt_model_info ia, ib;
    edgestt_model_get_info(a, &ia);
    edgestt_model_get_info(b, &ib);
    CHECK(ia.n_tensors == ib.n_tensors && ia.n_params == ib.n_params && ia.weight_bytes == ib.weight_bytes);
    edgestt_close(a);
    edgestt_close(b);
    CHECKF(edgestt_check(first, 0, &d) == EDGESTT_CHECK_COMPLETE, "%s", d.msg);
    /* a missing shard: incomplete, from the first or any shard */
    edgestt_shard_name(base, r2.n_shards, r2.n_shards, name, sizeof name);
    char moved[4200];
    snprintf(moved, sizeof moved, "%s.part", name);
    CHECK(rename(name, moved) == 0);
    CHECK(edgestt_check(first, 1, &d) == EDGESTT_CHECK_INCOMPLETE);
    CHECK(strstr(d.msg, "missing") != NULL);
    CHECK(edgestt_open(first, NULL, NULL, 0, &b, &d) != 0);
    CHECK(rename(moved, name) == 0);
    /* a flipped byte in the embedding's shard: corrupt, naming the tensor; quick does not see it */
    sh.b[1][sh.n[1] - 100] ^= 0x40;
    edgestt_shard_name(base, 2, r2.n_shards, name, sizeof name);
    CHECK(write_file(name, sh.b[1], sh.n[1]));
    CHECK(edgestt_check(first, 0, &d) == EDGESTT_CHECK_CORRUPT);
    CHECKF(strstr(d.msg, "decoder.token_embedding.weight") != NULL, "%s", d.msg);
    CHECK(edgestt_check(first, 1, &d) == EDGESTT_CHECK_COMPLETE);
    mem_free(&one);
    mem_free(&sh);
}

/* A damaged corpus of one converted file: every state where it belongs. */
TEST(check_damaged_corpus) {
    memout m;
    edgestt_convert_report r;
    CHECK_ST(convert_mem("mini-en-f16.bin", EDGESTT_TYPE_Q4_0, 0, &m, &r), EDGESTT_OK);
    const char *path = est_test_tmp("dmg.gguf");
    edgestt_diag d;
    uint64_t seed = est_test_seed();
    /* truncations: header, KV pairs, vocabulary, tensor infos, data, last byte */
    size_t cuts[] = {0, 3, 10, 30, 200, 4000, m.n[0] / 3, m.n[0] / 2, m.n[0] - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        CHECK(write_file(path, m.b[0], cuts[i]));
        edgestt_check_state s = edgestt_check(path, 0, &d);
        CHECKF(s == EDGESTT_CHECK_INCOMPLETE, "cut at %zu: state %d (%s)", cuts[i], s, d.msg);
    }
    /* random flipped bytes in the tensor data (the last 3/4 of the file is data) */
    for (int k = 0; k < 8; k++) {
        size_t at = m.n[0] / 4 + (size_t)(est_test_rand(&seed) % (m.n[0] * 3 / 4));
        uint8_t bit = (uint8_t)(1u << (est_test_rand(&seed) % 8));
        m.b[0][at] ^= bit;
        CHECK(write_file(path, m.b[0], m.n[0]));
        edgestt_check_state s = edgestt_check(path, 0, &d);
        m.b[0][at] ^= bit;
        /* a flip in inter-tensor padding changes no tensor */
        CHECKF(s == EDGESTT_CHECK_CORRUPT || s == EDGESTT_CHECK_COMPLETE, "flip at %zu: %d (%s)", at, s, d.msg);
        if (s == EDGESTT_CHECK_CORRUPT) CHECKF(strstr(d.msg, "CRC") != NULL, "%s", d.msg);
    }
    /* header: magic, version, architecture */
    m.b[0][0] ^= 1;
    CHECK(write_file(path, m.b[0], m.n[0]));
    CHECK(edgestt_check(path, 1, &d) == EDGESTT_CHECK_CORRUPT);
    m.b[0][0] ^= 1;
    m.b[0][4] = 7;
    CHECK(write_file(path, m.b[0], m.n[0]));
    CHECK(edgestt_check(path, 1, &d) == EDGESTT_CHECK_UNSUPPORTED);
    m.b[0][4] = 3;
    uint8_t *arch = NULL;
    for (size_t i = 0; i + 7 <= 200 && !arch; i++)
        if (!memcmp(m.b[0] + i, "whisper", 7)) arch = m.b[0] + i;
    CHECK(arch != NULL);
    arch[0] = 'W';
    CHECK(write_file(path, m.b[0], m.n[0]));
    CHECKF(edgestt_check(path, 1, &d) == EDGESTT_CHECK_UNSUPPORTED, "%s", d.msg);
    arch[0] = 'w';
    CHECK(write_file(path, m.b[0], m.n[0]));
    CHECK(edgestt_check(path, 0, &d) == EDGESTT_CHECK_COMPLETE);
    /* a download left as .part, a missing file */
    const char *part = est_test_tmp("dmg.gguf.part");
    CHECK(write_file(part, m.b[0], m.n[0]));
    CHECK(edgestt_check(part, 0, &d) == EDGESTT_CHECK_INCOMPLETE);
    CHECK(edgestt_check(est_test_tmp("nothing.gguf"), 0, &d) == EDGESTT_CHECK_INCOMPLETE);
    mem_free(&m);
}

/* .bin: complete as generated, incomplete when cut at a record boundary or inside a record. */
TEST(check_bin_files) {
    edgestt_diag d;
    CHECK(edgestt_check(est_test_model("mini-en-q8_0.bin"), 0, &d) == EDGESTT_CHECK_COMPLETE);
    FILE *f = fopen(est_test_model("mini-en-q8_0.bin"), "rb");
    CHECK(f != NULL);
    static uint8_t buf[8 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK(n > 0 && n < sizeof buf);
    const char *path = est_test_tmp("cut.bin");
    size_t cuts[] = {2, 60, 1000, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        CHECK(write_file(path, buf, cuts[i]));
        edgestt_check_state s = edgestt_check(path, 0, &d);
        CHECKF(s == EDGESTT_CHECK_INCOMPLETE, "cut at %zu: %d (%s)", cuts[i], s, d.msg);
    }
}

TEST(model_table) {
    const edgestt_model_desc *t;
    int n = edgestt_model_table(&t);
    CHECK(n == 12);
    CHECK(!strcmp(t[0].name, "tiny.en") && !strcmp(t[0].ggml_file, "ggml-tiny.en.bin"));
    /* tiny-en-f16 from the generator has the tiny.en dimensions; its weight bytes match the table */
    edgestt_model *m = NULL;
    edgestt_diag d;
    CHECK_ST(edgestt_open(est_test_model("tiny-en-f16.gguf"), NULL, NULL, 0, &m, &d), EDGESTT_OK);
    edgestt_model_info in;
    edgestt_model_get_info(m, &in);
    int k = edgestt_model_table_find(&in);
    CHECK(k == 0);
    CHECK(in.n_params == t[0].n_params);
    CHECKF(in.weight_bytes + 80 * 201 * 4 == edgestt_model_desc_weight_bytes(&t[0], EDGESTT_TYPE_F16), "%zu vs %llu",
           in.weight_bytes, (unsigned long long)edgestt_model_desc_weight_bytes(&t[0], EDGESTT_TYPE_F16));
    edgestt_close(m);
}

/* Our Q8_0 conversion of the generator's f16 .bin agrees byte for byte with whisper.cpp's quantizer
 * (golden: per-tensor CRC-32 of the peer's output, tests/data/golden/peer_q8_0_mini.txt, in the
 * .bin's tensor order, which the conversion keeps after mel_filters). */
TEST(convert_matches_peer_quantizer) {
    memout m;
    edgestt_convert_report r;
    CHECK_ST(convert_mem("mini-en-f16.bin", EDGESTT_TYPE_Q8_0, 0, &m, &r), EDGESTT_OK);
    /* the edgestt.crc32 array: key, u32 ARRAY, u32 U32, u64 n, n x u32 */
    const uint8_t *crcs = NULL;
    uint64_t n_crc = 0;
    for (size_t i = 0; i + 13 + 16 < m.n[0] && !crcs; i++)
        if (!memcmp(m.b[0] + i, "edgestt.crc32", 13)) {
            memcpy(&n_crc, m.b[0] + i + 13 + 8, 8);
            crcs = m.b[0] + i + 13 + 16;
        }
    CHECK(crcs != NULL && n_crc == 90);
    FILE *f = fopen(est_test_data("golden/peer_q8_0_mini.txt"), "r");
    CHECK(f != NULL);
    char line[256];
    int n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128];
        int type;
        unsigned crc;
        if (line[0] == '#' || sscanf(line, "%127s %d %x", name, &type, &crc) != 3) continue;
        uint32_t ours;
        memcpy(&ours, crcs + 4 * (size_t)(n + 1), 4);
        if (ours != crc) {
            if (!bad) printf("  %s: ours %08x, peer %08x\n", name, ours, crc);
            bad++;
        }
        n++;
    }
    fclose(f);
    CHECKF(n == 89 && bad == 0, "%d tensors, %d differ", n, bad);
    mem_free(&m);
}
