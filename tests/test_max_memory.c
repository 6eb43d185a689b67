/*
 * test_max_memory.c - edgestt_params.max_memory: a model whose handle plus one planned state needs
 * more than the limit is refused with EDGESTT_E_LIMIT and the exact number, before any tensor byte
 * is read.  The proof that no tensor byte is read: the model image lives in pages of our own, and
 * every page inside its tensor data section is made PROT_NONE before the opens -- a single read of
 * tensor data (weights or mel filters) would kill the test binary with SIGSEGV.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../models/whisper.h"
#include "edgestt.h"
#include "test.h"

/* The number after "needs " in a diag line, or 0. */
static size_t needs(const char *msg) {
    const char *p = strstr(msg, "needs ");
    return p ? (size_t)strtoull(p + 6, NULL, 10) : 0;
}

TEST(max_memory_refuses_before_tensor_data) {
    FILE *f = fopen(est_test_model("mini-en-f32.gguf"), "rb");
    CHECK(f);
    fseek(f, 0, SEEK_END);
    const size_t size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t map_bytes = (size + page - 1) / page * page;
    uint8_t *img = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(img != MAP_FAILED);
    const int ok = fread(img, 1, size, f) == size;
    fclose(f);
    CHECK(ok);
    est_whisper_probe pr;
    CHECK_ST(est_whisper_probe_image(img, size, &pr, NULL), EDGESTT_OK);
    /* planned sizes without a limit (before poisoning) */
    edgestt_params p;
    edgestt_params_default(&p);
    CHECK(p.max_memory == 0);
    edgestt_diag d;
    size_t handle = 0, state = 0, state1 = 0;
    edgestt_model *m = NULL;
    CHECK_ST(edgestt_mem_size_memory(img, size, &p, &handle, &d), EDGESTT_OK);
    CHECK_ST(edgestt_open_memory(img, size, &p, NULL, 0, &m, &d), EDGESTT_OK);
    edgestt_full_params fp;
    edgestt_full_params_default(&fp);
    fp.beam_size = fp.best_of = p.beam_size;
    CHECK_ST(edgestt_state_mem_size(m, &fp, &state, &d), EDGESTT_OK);
    fp.beam_size = fp.best_of = 1;
    CHECK_ST(edgestt_state_mem_size(m, &fp, &state1, &d), EDGESTT_OK);
    edgestt_close(m);
    const size_t need = handle + state;
    CHECK(state1 < state);
    /* poison every page of the tensor data section */
    const size_t lo = (pr.gguf.data_offset + page - 1) / page * page, hi = size / page * page;
    CHECKF(hi > lo && hi - lo > size / 2, "data section [%zu, %zu) of %zu", lo, hi, size);
    CHECK(mprotect(img + lo, hi - lo, PROT_NONE) == 0);
    /* far below the handle: refused before the handle is even allocated */
    p.max_memory = 4096;
    m = (edgestt_model *)&p;
    CHECK_ST(edgestt_open_memory(img, size, &p, NULL, 0, &m, &d), EDGESTT_E_LIMIT);
    CHECKF(m == NULL && strstr(d.msg, "max_memory 4096") && !strchr(d.msg, '\n'), "%s", d.msg);
    /* the handle fits, the state does not: the exact number is named */
    p.max_memory = need - 1;
    CHECK_ST(edgestt_open_memory(img, size, &p, NULL, 0, &m, &d), EDGESTT_E_LIMIT);
    CHECKF(m == NULL && needs(d.msg) == need, "need %zu: %s", need, d.msg);
    /* the same with a caller buffer */
    void *buf = malloc(handle);
    CHECK(buf);
    CHECK_ST(edgestt_open_memory(img, size, &p, buf, handle, &m, &d), EDGESTT_E_LIMIT);
    CHECKF(needs(d.msg) == need, "%s", d.msg);
    /* exactly enough: opens (still without reading tensor data), and one beam needs less */
    p.max_memory = need;
    CHECK_ST(edgestt_open_memory(img, size, &p, buf, handle, &m, &d), EDGESTT_OK);
    edgestt_close(m);
    p.beam_size = 1;
    p.max_memory = handle + state1;
    CHECK_ST(edgestt_open_memory(img, size, &p, NULL, 0, &m, &d), EDGESTT_OK);
    size_t sb = 0;
    CHECK_ST(edgestt_state_mem_size(m, &fp, &sb, &d), EDGESTT_OK); /* what the program checks: headers only */
    CHECK(sb == state1);
    edgestt_close(m);
    p.max_memory = handle + state1 - 1;
    CHECK_ST(edgestt_open_memory(img, size, &p, NULL, 0, &m, &d), EDGESTT_E_LIMIT);
    CHECKF(needs(d.msg) == handle + state1, "%s", d.msg);
    free(buf);
    munmap(img, map_bytes);
}

/* The file path: same refusal through edgestt_open (mapped), and mem_size ignores the limit. */
TEST(max_memory_open_path) {
    const char *path = est_test_model("mini-en-q8_0.gguf");
    edgestt_params p;
    edgestt_params_default(&p);
    edgestt_diag d;
    size_t handle = 0, h2 = 0;
    CHECK_ST(edgestt_mem_size(path, &p, &handle, &d), EDGESTT_OK);
    p.max_memory = handle;
    CHECK_ST(edgestt_mem_size(path, &p, &h2, &d), EDGESTT_OK);
    CHECK(h2 == handle);
    edgestt_model *m = NULL;
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_E_LIMIT);
    CHECKF(m == NULL && needs(d.msg) > handle && strstr(d.msg, "state"), "%s", d.msg);
    p.max_memory = needs(d.msg);
    CHECK_ST(edgestt_open(path, &p, NULL, 0, &m, &d), EDGESTT_OK);
    edgestt_close(m);
}
