# tests/fuzz/fuzz.mk - libFuzzer harnesses (run through `make fuzz`, which calls this file).
#
#   make fuzz                    build build/fuzz/fuzz_<h> (clang, -fsanitize=fuzzer,address,undefined),
#                                build/fuzz/replay_<h> (no libFuzzer) and build/fuzz/make_seeds
#   make fuzz FUZZ_RUNS=N        ... then run each harness for N executions
#   make fuzz FUZZ_RUNS=N FUZZ_HARNESSES="wav gguf" FUZZ_ARGS="-max_total_time=600"
#   make -f tests/fuzz/fuzz.mk coverage   line coverage of the library by each harness's corpus
#                                         (committed + build/fuzz/work), via llvm-cov
#
# The library is built by the main Makefile into build/fuzz/lib with coverage instrumentation
# (-fsanitize=fuzzer-no-link) and ASan+UBSan.  A run reads the committed corpus
# (tests/fuzz/corpus/<h>) and generated seeds (build/fuzz/seeds/<h>), writes new inputs to
# build/fuzz/work/<h> and crashes to build/fuzz/crash-<h>-*; copy reproducers into the corpus.

FUZZ_CC        ?= clang
FUZZ_HARNESSES ?= gguf ggml_bin wav tokenizer json
FUZZ_RUNS      ?=
FUZZ_ARGS      ?=
FUZZ_DIR       := build/fuzz
FUZZ_LIB       := $(FUZZ_DIR)/lib/libedgestt-internal.a
FUZZ_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS    := -std=c11 -O1 -g -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow -Wstrict-prototypes \
                  -Wmissing-prototypes -Werror -Icore -Iport -Ikernels $(FUZZ_SAN)
FUZZ_BINS      := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/fuzz_%)
REPLAY_BINS    := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/replay_%)
FUZZ_COMMON    := tests/fuzz/fuzz_common.c tests/fuzz/fuzz.h

# -max_len per harness: model images need room for headers and a tiny model; WAV and id lists less.
FUZZ_MAXLEN_gguf      := 65536
FUZZ_MAXLEN_ggml_bin  := 131072
FUZZ_MAXLEN_wav       := 8192
FUZZ_MAXLEN_tokenizer := 4096

.PHONY: all lib run seeds coverage cov-lib
all: $(FUZZ_BINS) $(REPLAY_BINS) $(FUZZ_DIR)/make_seeds $(if $(FUZZ_RUNS),run)

lib:
	@$(MAKE) --no-print-directory -f Makefile CC=$(FUZZ_CC) CROSS= BUILD=$(FUZZ_DIR)/lib OPT=-O1 WERROR=1 \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link -fsanitize-coverage-ignorelist=tests/fuzz/cov_ignore.txt $(FUZZ_SAN)" $(FUZZ_LIB)

$(FUZZ_LIB): lib

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_COMMON) $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< tests/fuzz/fuzz_common.c $(FUZZ_LIB) -lpthread -lm

$(FUZZ_DIR)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_COMMON) $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/replay.c tests/fuzz/fuzz_common.c $(FUZZ_LIB) -lpthread -lm

$(FUZZ_DIR)/make_seeds: tests/fuzz/make_seeds.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -O1 -g -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -o $@ $<

seeds: $(FUZZ_DIR)/make_seeds
	@$(MAKE) --no-print-directory -f Makefile models
	$(FUZZ_DIR)/make_seeds $(FUZZ_DIR)/seeds --models build/testmodels --big

run: $(FUZZ_BINS) seeds
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  mkdir -p $(FUZZ_DIR)/work/$$h; \
	  case $$h in gguf) ml=$(FUZZ_MAXLEN_gguf);; ggml_bin) ml=$(FUZZ_MAXLEN_ggml_bin);; \
	              wav) ml=$(FUZZ_MAXLEN_wav);; *) ml=$(FUZZ_MAXLEN_tokenizer);; esac; \
	  echo "== fuzz_$$h: $(FUZZ_RUNS) runs, max_len $$ml"; \
	  EDGESTT_FUZZ_MODELS=build/testmodels $(FUZZ_DIR)/fuzz_$$h -runs=$(FUZZ_RUNS) -max_len=$$ml -timeout=5 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crash-$$h- $(FUZZ_ARGS) \
	    $(FUZZ_DIR)/work/$$h tests/fuzz/corpus/$$h $(FUZZ_DIR)/seeds/$$h; \
	done

# ---- line coverage of the corpora (clang source-based coverage, no sanitizers) ---------------
COV_DIR   := $(FUZZ_DIR)/cov
COV_LIB   := $(COV_DIR)/lib/libedgestt-internal.a
COV_FLAGS := -fprofile-instr-generate -fcoverage-mapping
COV_FILES ?= core/gguf.c core/ggml_bin.c core/wav.c core/resample.c core/tokenizer.c core/model.c models/whisper.c core/json.c

cov-lib:
	@$(MAKE) --no-print-directory -f Makefile CC=$(FUZZ_CC) CROSS= BUILD=$(COV_DIR)/lib OPT=-O1 WERROR=1 \
	  EXTRA_CFLAGS="$(COV_FLAGS)" $(COV_LIB)

coverage: cov-lib
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  $(FUZZ_CC) -std=c11 -O1 -g -D_POSIX_C_SOURCE=200809L -Icore -Iport -Ikernels $(COV_FLAGS) -o $(COV_DIR)/replay_$$h \
	    tests/fuzz/fuzz_$$h.c tests/fuzz/replay.c tests/fuzz/fuzz_common.c $(COV_LIB) -lpthread -lm; \
	  rm -f $(COV_DIR)/$$h.profraw; \
	  LLVM_PROFILE_FILE=$(COV_DIR)/$$h.profraw EDGESTT_FUZZ_MODELS=build/testmodels $(COV_DIR)/replay_$$h \
	    tests/fuzz/corpus/$$h $$(ls -d $(FUZZ_DIR)/work/$$h 2>/dev/null) > /dev/null; \
	  llvm-profdata merge -o $(COV_DIR)/$$h.profdata $(COV_DIR)/$$h.profraw; \
	  echo "== $$h"; llvm-cov report $(COV_DIR)/replay_$$h -instr-profile=$(COV_DIR)/$$h.profdata $(COV_FILES) | \
	    awk 'NR == 1 || /^(core|models)/ || /^TOTAL/'; \
	done
