# llava.h build. `make` builds the programs, `make test` runs every test (needs only gcc and libstb-dev).
CC      ?= gcc
CXX     ?= g++
ARCH    ?= -march=native
CFLAGS  ?= -O2 $(ARCH) -fopenmp
WARN    := -Wall -Wextra
TWARN   := $(WARN) -Werror -Wno-format-truncation
LDLIBS  := -lm
PYTHON  ?= python3
BUILD   := build

# programs: dump and tokenize (compare with other implementations from the shell), chat, the
# two-stage trainer, and the synthetic world's tools (scenes, data, stage-0 pretraining, answering,
# scoring; tools/repro/pipeline.sh runs them end to end)
PROGRAMS := $(BUILD)/dump $(BUILD)/tokenize $(BUILD)/simple $(BUILD)/chat $(BUILD)/train_example \
            $(BUILD)/world $(BUILD)/instruct $(BUILD)/eval_sqa $(BUILD)/judge_offline $(BUILD)/stage0 $(BUILD)/answer
# the OpenAI-compatible server, where pkg-config finds GNU libmicrohttpd (Debian: libmicrohttpd-dev)
HAVE_MHD := $(shell pkg-config --exists libmicrohttpd 2>/dev/null && echo y)
ifeq ($(HAVE_MHD),y)
PROGRAMS += $(BUILD)/server
endif
# the tests in files of their own (tests/NAME.c, also run under the sanitizers): the file formats beyond
# safetensors (PyTorch .bin checkpoints, GGUF models, GGUF tokenizers), atomic saving under SIGKILL, every
# allocation failing in turn, and the backend seam (the model on a checking backend whose memory the host
# cannot touch, tests/check_backend.h)
FILE_TESTS := test_pickle test_gguf test_gguf_tokenizer test_save_kill test_oom test_backend test_smollm2
TESTS := $(BUILD)/test_c $(BUILD)/test_cpp $(BUILD)/test_fastmath $(BUILD)/test_tokenizer $(BUILD)/test_tokenizer_cpp \
         $(BUILD)/test_world $(FILE_TESTS:%=$(BUILD)/%)

.PHONY: all test test-asan fixtures fixtures-spm bench clean install uninstall test-server fuzz fuzz-smoke fuzz-replay

all: $(PROGRAMS)

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/%: tools/%.c tools/common.h llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -o $@ $< $(LDLIBS)

$(BUILD)/%: tools/repro/%.c tools/repro/world.h tools/common.h llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -o $@ $< $(LDLIBS)

$(BUILD)/simple: examples/simple.c llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -I. -o $@ $< $(LDLIBS)

$(BUILD)/chat: examples/chat.c tools/common.h llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -o $@ $< $(LDLIBS)

$(BUILD)/server: examples/server.c tools/common.h llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(WARN) $(shell pkg-config --cflags libmicrohttpd) -o $@ $< $(shell pkg-config --libs libmicrohttpd) $(LDLIBS) -lpthread

$(BUILD)/train_example: train_example.c tools/common.h tools/data.h tools/plot.h llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -o $@ $< $(LDLIBS)

# the tests: the model tests compiled as C11, as C++ (the header's C++ compatibility), and with
# -O3 -ffast-math; the tokenizer tests as C11 and C++; the world/data/eval tools' tests
$(BUILD)/test_c: tests/test_llava.c tests/check_backend.h tests/manifest.h llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

$(BUILD)/test_cpp: tests/test_llava.c tests/check_backend.h tests/manifest.h llava.h | $(BUILD)
	$(CXX) -x c++ -std=c++11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

$(BUILD)/test_fastmath: tests/test_llava.c tests/check_backend.h tests/manifest.h llava.h | $(BUILD)
	$(CC) -std=c11 -O3 -ffast-math $(ARCH) -fopenmp $(TWARN) -DLLAVA_TEST_FASTMATH -o $@ $< $(LDLIBS)

$(BUILD)/test_tokenizer: tests/test_tokenizer.c llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

$(BUILD)/test_tokenizer_cpp: tests/test_tokenizer.c llava.h | $(BUILD)
	$(CXX) -x c++ -std=c++11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

# the file-format tests (FILE_TESTS)
$(BUILD)/test_%: tests/test_%.c llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)
$(BUILD)/test_backend: tests/check_backend.h tests/manifest.h tests/test.h

$(BUILD)/test_world: tests/test_world.c llava.h tools/repro/world.h tools/common.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

test: $(PROGRAMS) $(BUILD)/bench $(BUILD)/bench_tokenizer $(TESTS)
	$(CC) -std=c11 -DLLAVA_NO_STB -DLLAVA_STATIC $(WARN) -Werror -fsyntax-only -x c tests/no_stb.c
	sh tests/run.sh $(TESTS) "sh tests/test_cli.sh $(BUILD)" "sh tests/test_readme.sh $(BUILD)" "sh tests/test_chat.sh $(BUILD)/chat" \
	    "sh tests/test_train_example.sh $(BUILD)" "sh tests/test_stage0.sh $(BUILD)" "sh tests/test_pipeline.sh $(BUILD)" \
	    "py:tests/test_instruct.py" "py:tests/test_judge.py" "sh tests/test_install.sh $(BUILD)" "sh tests/test_server.sh $(BUILD)"

# the server end to end (curl, the openai client from PyPI, instruct.py and judge.py); builds it where
# pkg-config finds libmicrohttpd, else skipped with the reason
test-server: $(BUILD)/chat $(if $(shell pkg-config --exists libmicrohttpd 2>/dev/null && echo y),$(BUILD)/server)
	sh tests/run.sh "sh tests/test_server.sh $(BUILD)"

# the C tests under AddressSanitizer and UndefinedBehaviorSanitizer (no OpenMP: its runtime confuses the
# leak checker)
ASAN := -std=c11 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined $(ARCH) $(WARN)
test-asan: $(PROGRAMS) | $(BUILD)
	$(CC) $(ASAN) -o $(BUILD)/test_asan tests/test_llava.c $(LDLIBS)
	$(CC) $(ASAN) -o $(BUILD)/test_tokenizer_asan tests/test_tokenizer.c $(LDLIBS)
	$(CC) $(ASAN) -o $(BUILD)/chat_asan examples/chat.c $(LDLIBS)
	for t in $(FILE_TESTS); do $(CC) $(ASAN) -o $(BUILD)/$${t}_asan tests/$$t.c $(LDLIBS) || exit 1; done
	sh tests/run.sh $(BUILD)/test_asan $(BUILD)/test_tokenizer_asan $(FILE_TESTS:%=$(BUILD)/%_asan) "sh tests/test_chat.sh $(BUILD)/chat_asan"

# libFuzzer harnesses (tests/fuzz/fuzz_NAME.c, one per loader; needs clang): make fuzz runs each for FUZZ_TIME
# seconds on a copy of its seed corpus, make fuzz-smoke for a few (CI); a crash, leak or sanitizer report fails.
# make fuzz-replay runs the committed corpora once through each harness built with $(CC) and ASan/UBSan
FUZZERS   := safetensors json config tokenizer image data template pickle spm gguf gguftok
FUZZ_TIME ?= 60
FUZZ_CC   ?= clang
FUZZ_FLAGS = -std=c11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer $(WARN) -Werror
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/fuzz_tok.h llava.h tools/data.h
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_FLAGS) -o $@ $< $(LDLIBS)
$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/fuzz_tok.h llava.h tools/data.h
	@mkdir -p $(BUILD)/fuzz
	$(CC) -DFUZZ_STANDALONE $(FUZZ_FLAGS) -o $@ $< $(LDLIBS)
fuzz: $(FUZZERS:%=$(BUILD)/fuzz/fuzz_%)
	sh tests/fuzz/run.sh $(BUILD) $(FUZZ_TIME) $(FUZZERS)
fuzz-smoke: $(FUZZERS:%=$(BUILD)/fuzz/fuzz_%)
	sh tests/fuzz/run.sh $(BUILD) 12 $(FUZZERS)
fuzz-replay: $(FUZZERS:%=$(BUILD)/fuzz/replay_%)
	for h in $(FUZZERS); do $(BUILD)/fuzz/replay_$$h tests/fuzz/corpus/$$h/* || exit 1; done

# regenerates tests/fixtures with transformers (developer dependency: pip install -r tools/py/requirements.txt);
# LLAMA_CPP=path (a llama.cpp tree or llama-cpp-python sdist) also reconverts tests/fixtures/gguf_llamacpp,
# with LLAMA_CPP_PYTHON if given (llama.cpp's converters want transformers 4.x)
fixtures: $(BUILD)/tokenize $(BUILD)/dump
	$(PYTHON) tools/py/make_fixtures.py
	$(PYTHON) tools/py/make_train_fixtures.py
	$(PYTHON) tools/py/make_bin_fixtures.py
	$(PYTHON) tools/py/make_tokenizer_fixtures.py
	$(PYTHON) tools/py/make_unicode_fixtures.py
	$(PYTHON) tools/py/make_gguf_fixtures.py
	$(PYTHON) tools/py/make_gguftok_fixtures.py
	$(PYTHON) tools/py/make_spmgguf_fixtures.py
	$(PYTHON) tools/py/make_chatml_fixtures.py
	if [ -n "$(LLAMA_CPP)" ]; then $(or $(LLAMA_CPP_PYTHON),$(PYTHON)) tools/py/make_llamacpp_gguf_fixtures.py "$(LLAMA_CPP)"; fi
	$(PYTHON) tools/py/check_saved_checkpoints.py

# regenerates tests/fixtures/tokenizer/spm (tokenizer.model): its reference is transformers' slow, sentencepiece-based
# LlamaTokenizer, gone from transformers 5, so PYTHON_TF4 is a Python with transformers<5, sentencepiece, protobuf, jinja2
PYTHON_TF4 ?= $(PYTHON)
fixtures-spm:
	$(PYTHON_TF4) tools/py/make_spm_fixtures.py

# figures as ratios measured in one run; writes bench.json. PyTorch's and tokenizers' figures are added
# where the Python given by PYTHON has them (e.g. make bench PYTHON=path/to/venv/bin/python)
bench: $(BUILD)/bench $(BUILD)/bench_tokenizer
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)} $(BUILD)/bench $(BENCH_ARGS)
	-OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)} $(PYTHON) tools/py/bench_torch.py bench.json
	-$(PYTHON) tools/py/bench_tokenizer.py $(BUILD)/bench_tokenizer bench.json

$(BUILD)/bench: tools/bench.c tools/common.h llava.h | $(BUILD)
	$(CC) -std=c11 -O3 $(ARCH) -fopenmp $(WARN) -o $@ $< $(LDLIBS)

# make install [PREFIX=/usr/local] [DESTDIR=]: llava.h (and the CUDA backend's files where they exist) in
# include/, the programs as llava-NAME in bin/, llava.pc (pkg-config) in lib/pkgconfig/; make uninstall removes
# exactly those. The synthetic world's own tools (world, instruct, judge_offline, stage0) stay in build/ for
# tools/repro/pipeline.sh; answer and eval_sqa work on any model and on the real ScienceQA, so they install
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
INCLUDEDIR   ?= $(PREFIX)/include
LIBDIR       ?= $(PREFIX)/lib
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL      ?= install
# built name:installed name; the server (it needs libmicrohttpd) installs only where it was built
INSTALL_PROGRAMS := chat:llava-chat simple:llava-simple train_example:llava-train dump:llava-dump \
                    tokenize:llava-tokenize answer:llava-answer eval_sqa:llava-eval-sqa
INSTALL_OPTIONAL := server:llava-server
INSTALL_HEADERS  := llava.h llava_cuda.cu llava_cuda.h
LLAVA_VERSION = $(shell sed -n 's/^.define LLAVA_VERSION "\(.*\)"$$/\1/p' llava.h)

install: all
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(PKGCONFIGDIR)"
	for f in $(INSTALL_HEADERS); do [ ! -f $$f ] || $(INSTALL) -m 644 $$f "$(DESTDIR)$(INCLUDEDIR)/$$f" || exit 1; done
	for p in $(INSTALL_PROGRAMS); do $(INSTALL) -m 755 "$(BUILD)/$${p%%:*}" "$(DESTDIR)$(BINDIR)/$${p#*:}" || exit 1; done
	for p in $(INSTALL_OPTIONAL); do [ ! -f "$(BUILD)/$${p%%:*}" ] || \
	    $(INSTALL) -m 755 "$(BUILD)/$${p%%:*}" "$(DESTDIR)$(BINDIR)/$${p#*:}" || exit 1; done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(LLAVA_VERSION)|' llava.pc.in > $(BUILD)/llava.pc
	$(INSTALL) -m 644 $(BUILD)/llava.pc "$(DESTDIR)$(PKGCONFIGDIR)/llava.pc"

uninstall:
	for f in $(INSTALL_HEADERS); do rm -f "$(DESTDIR)$(INCLUDEDIR)/$$f"; done
	for p in $(INSTALL_PROGRAMS) $(INSTALL_OPTIONAL); do rm -f "$(DESTDIR)$(BINDIR)/$${p#*:}"; done
	rm -f "$(DESTDIR)$(PKGCONFIGDIR)/llava.pc"

clean:
	rm -rf $(BUILD) bench.json
