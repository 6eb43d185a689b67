/*
 * replay.c - a main() that feeds files to one harness's LLVMFuzzerTestOneInput without libFuzzer,
 * so a reproducer can be run under gcc's sanitizers, valgrind or qemu:
 *   build/fuzz/replay_<harness> FILE|DIR...
 * Each input is copied into a buffer of exactly its size (so ASan sees a read past its end).
 * Exit status 0 if every input ran and no contract broke (a crash ends the process anyway).
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Linked only with the tokenizer harness. */
#pragma weak est_fuzz_tokenizer_release

static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    unsigned before = est_fuzz_failures;
    LLVMFuzzerTestOneInput(buf, (size_t)(n > 0 ? n : 0));
    free(buf);
    printf("%s %s (%ld bytes)\n", est_fuzz_failures != before ? "FAIL" : "ok  ", path, n);
    return est_fuzz_failures != before;
}

int main(int argc, char **argv) {
    int bad = 0, files = 0;
    est_fuzz_abort_on_fail = 0;
    for (int i = 1; i < argc; i++) {
        struct stat s;
        if (stat(argv[i], &s) == 0 && S_ISDIR(s.st_mode)) {
            DIR *dir = opendir(argv[i]);
            struct dirent *e;
            while (dir && (e = readdir(dir)) != NULL) {
                if (e->d_name[0] == '.') continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                bad += replay_file(path);
                files++;
            }
            if (dir) closedir(dir);
        } else {
            bad += replay_file(argv[i]);
            files++;
        }
    }
    if (est_fuzz_tokenizer_release) est_fuzz_tokenizer_release();
    printf("%d inputs, %d failed\n", files, bad);
    return bad ? 1 : 0;
}
