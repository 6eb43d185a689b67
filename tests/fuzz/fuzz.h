/*
 * fuzz.h - the fuzz harnesses' entry points and shared checks (tests/fuzz/, built by `make fuzz`).
 *
 * Each harness file (fuzz_gguf.c, fuzz_ggml_bin.c, fuzz_wav.c, fuzz_tokenizer.c, fuzz_json.c) defines one entry
 * point est_fuzz_<name>(data, size) and, unless EST_FUZZ_NO_MAIN is defined, libFuzzer's
 * LLVMFuzzerTestOneInput calling it.  tests/test_fuzz_replay.c includes the harness sources with
 * EST_FUZZ_NO_MAIN and replays the committed corpora (tests/fuzz/corpus/<name>/) through the very
 * same entry points inside the normal test binary; tests/fuzz/replay.c is a main() that does the
 * same for one harness without libFuzzer (gcc, valgrind, qemu).
 *
 * Besides "no crash, no leak, no out-of-bounds read, no hang" (the sanitizers' and libFuzzer's
 * job), the harnesses assert the API's contracts with FZ_CHECK: every failure has a non-empty,
 * NUL-terminated diag line; a buffer one byte short of edgestt_mem_size is refused; a reader
 * that scanned an image also fills it; results stay inside the image.  A broken contract calls
 * est_fuzz_fail, which aborts under libFuzzer (a crash with a reproducer) and only counts in
 * replay mode (est_fuzz_abort_on_fail = 0), so the test binary reports it and carries on.
 */
#ifndef EST_FUZZ_H
#define EST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/edgestt.h"

/* Harness entry points: always return 0 (libFuzzer's convention). */
int est_fuzz_gguf(const uint8_t *data, size_t size);
int est_fuzz_ggml_bin(const uint8_t *data, size_t size);
int est_fuzz_wav(const uint8_t *data, size_t size);
int est_fuzz_tokenizer(const uint8_t *data, size_t size);
int est_fuzz_json(const uint8_t *data, size_t size);

/* libFuzzer's hook (defined by each harness unless EST_FUZZ_NO_MAIN). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- shared (fuzz_common.c) ------------------------------------------------------------- */
/* A broken contract: print "file:line: expr" and abort (fuzzing) or count it (replay). */
void est_fuzz_fail(const char *file, int line, const char *what);
extern int est_fuzz_abort_on_fail;   /* 1 (default): abort; 0: count in est_fuzz_failures */
extern unsigned est_fuzz_failures;

#define FZ_CHECK(cond) ((cond) ? (void)0 : est_fuzz_fail(__FILE__, __LINE__, #cond))

/* Largest arena / decode buffer a harness allocates (bigger plans are skipped, not run). */
#define EST_FUZZ_MAX_ALLOC ((size_t)64 << 20)

/* Contract of a call that returned st with diag d: OK, or a known negative code with a non-empty
 * NUL-terminated line. */
void est_fuzz_check_status(int st, const edgestt_diag *d);

/* The model path shared by the GGUF and .bin harnesses: mem_size_memory, a caller buffer of that
 * size (refused one byte short), open_memory, get_info, special tokens, token bytes, detokenize,
 * a log-mel on small models, close.  seed varies the buffer alignment and the ids tried. */
void est_fuzz_model_image(const uint8_t *data, size_t size, uint32_t seed);

/* FNV-1a of the input (a cheap deterministic seed for the choices a harness makes). */
uint32_t est_fuzz_hash(const uint8_t *data, size_t size);

/* Directory of the generated test models the tokenizer harness loads (default: env
 * EDGESTT_FUZZ_MODELS, else build/testmodels); set before the first call. */
void est_fuzz_tokenizer_set_dir(const char *dir);
/* Close the models the tokenizer harness opened (replay mode, so leak checkers stay quiet). */
void est_fuzz_tokenizer_release(void);

#endif
