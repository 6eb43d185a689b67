/*
 * test_fuzz_replay.c - replays every committed fuzz corpus file (tests/fuzz/corpus/<harness>/)
 * through the harnesses' own entry points, compiled here from the tests/fuzz/ sources without libFuzzer
 * (EST_FUZZ_NO_MAIN), so `make test`, `make sanitize` and the qemu runs re-check every seed and
 * every saved crash reproducer.  Each input sits right before a PROT_NONE page, so a read past its
 * end faults even without ASan.  A broken harness contract (FZ_CHECK) fails the test naming the file.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EST_FUZZ_NO_MAIN
#include "fuzz/fuzz_common.c"
#include "fuzz/fuzz_ggml_bin.c"
#include "fuzz/fuzz_gguf.c"
#include "fuzz/fuzz_json.c"
#include "fuzz/fuzz_tokenizer.c"
#include "fuzz/fuzz_wav.c"
#include "test.h"

/* A file's bytes placed to end exactly at a PROT_NONE page; base and map_len for munmap. */
static uint8_t *guarded_load(const char *path, size_t *size, void **base, size_t *map_len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t data_pages = ((size_t)(n > 0 ? n : 0) + page - 1) / page;
    *map_len = (data_pages + 1) * page;
    uint8_t *m = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        fclose(f);
        return NULL;
    }
    uint8_t *p = m + data_pages * page - (size_t)n;
    size_t got = n > 0 ? fread(p, 1, (size_t)n, f) : 0;
    fclose(f);
    if (got != (size_t)(n > 0 ? n : 0) || mprotect(m + data_pages * page, page, PROT_NONE) != 0) {
        munmap(m, *map_len);
        return NULL;
    }
    *size = got;
    *base = m;
    return p;
}

static int not_hidden(const struct dirent *e) { return e->d_name[0] != '.'; }

/* Replay every file of corpus/<name>/ through fn; at least min_files must be there. */
static void replay_dir(const char *name, int (*fn)(const uint8_t *, size_t), int min_files) {
    char rel[128];
    snprintf(rel, sizeof rel, "../fuzz/corpus/%s", name);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", est_test_data(rel));
    struct dirent **list = NULL;
    int n = scandir(dir, &list, not_hidden, alphasort);
    if (n < min_files) est_test_fail(__FILE__, __LINE__, "%s: %d corpus files (want >= %d)", dir, n, min_files);
    est_fuzz_abort_on_fail = 0;
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        size_t size = 0, map_len = 0;
        void *base = NULL;
        uint8_t *img = guarded_load(path, &size, &base, &map_len);
        if (!img) {
            est_test_fail(__FILE__, __LINE__, "cannot load %s", path);
        } else {
            unsigned before = est_fuzz_failures;
            fn(img, size);
            if (est_fuzz_failures != before) {
                est_test_fail(__FILE__, __LINE__, "%s: %u harness contract(s) broken (see stderr)", path,
                              est_fuzz_failures - before);
            }
            munmap(base, map_len);
        }
        free(list[i]);
    }
    free(list);
}

TEST(fuzz_replay_gguf) { replay_dir("gguf", est_fuzz_gguf, 5); }
TEST(fuzz_replay_ggml_bin) { replay_dir("ggml_bin", est_fuzz_ggml_bin, 5); }
TEST(fuzz_replay_wav) { replay_dir("wav", est_fuzz_wav, 5); }
TEST(fuzz_replay_json) { replay_dir("json", est_fuzz_json, 5); }
TEST(fuzz_replay_tokenizer) {
    est_fuzz_tokenizer_set_dir(est_test_model(""));
    replay_dir("tokenizer", est_fuzz_tokenizer, 5);
    est_fuzz_tokenizer_release();
}
