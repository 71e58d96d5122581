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
TESTS := $(BUILD)/test_c $(BUILD)/test_cpp $(BUILD)/test_fastmath $(BUILD)/test_tokenizer $(BUILD)/test_tokenizer_cpp \
         $(BUILD)/test_world

.PHONY: all test test-asan fixtures bench clean

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

$(BUILD)/train_example: train_example.c tools/common.h tools/data.h tools/plot.h llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -o $@ $< $(LDLIBS)

# the tests: the model tests compiled as C11, as C++ (the header's C++ compatibility), and with
# -O3 -ffast-math; the tokenizer tests as C11 and C++; the world/data/eval tools' tests
$(BUILD)/test_c: tests/test_llava.c llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

$(BUILD)/test_cpp: tests/test_llava.c llava.h | $(BUILD)
	$(CXX) -x c++ -std=c++11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

$(BUILD)/test_fastmath: tests/test_llava.c llava.h | $(BUILD)
	$(CC) -std=c11 -O3 -ffast-math $(ARCH) -fopenmp $(TWARN) -DLLAVA_TEST_FASTMATH -o $@ $< $(LDLIBS)

$(BUILD)/test_tokenizer: tests/test_tokenizer.c llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

$(BUILD)/test_tokenizer_cpp: tests/test_tokenizer.c llava.h | $(BUILD)
	$(CXX) -x c++ -std=c++11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

$(BUILD)/test_world: tests/test_world.c llava.h tools/repro/world.h tools/common.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

test: $(PROGRAMS) $(BUILD)/bench $(BUILD)/bench_tokenizer $(TESTS)
	$(CC) -std=c11 -DLLAVA_NO_STB -DLLAVA_STATIC $(WARN) -Werror -fsyntax-only -x c tests/no_stb.c
	sh tests/run.sh $(TESTS) "sh tests/test_cli.sh $(BUILD)" "sh tests/test_readme.sh $(BUILD)" "sh tests/test_chat.sh $(BUILD)/chat" \
	    "sh tests/test_train_example.sh $(BUILD)" "sh tests/test_stage0.sh $(BUILD)" "sh tests/test_pipeline.sh $(BUILD)" \
	    "py:tests/test_instruct.py" "py:tests/test_judge.py"

# the C tests under AddressSanitizer and UndefinedBehaviorSanitizer (no OpenMP: its runtime confuses the
# leak checker)
ASAN := -std=c11 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined $(ARCH) $(WARN)
test-asan: $(PROGRAMS) | $(BUILD)
	$(CC) $(ASAN) -o $(BUILD)/test_asan tests/test_llava.c $(LDLIBS)
	$(CC) $(ASAN) -o $(BUILD)/test_tokenizer_asan tests/test_tokenizer.c $(LDLIBS)
	$(CC) $(ASAN) -o $(BUILD)/chat_asan examples/chat.c $(LDLIBS)
	sh tests/run.sh $(BUILD)/test_asan $(BUILD)/test_tokenizer_asan "sh tests/test_chat.sh $(BUILD)/chat_asan"

# regenerates tests/fixtures with transformers (developer dependency: pip install -r tools/py/requirements.txt)
fixtures: $(BUILD)/tokenize $(BUILD)/dump
	$(PYTHON) tools/py/make_fixtures.py
	$(PYTHON) tools/py/make_train_fixtures.py
	$(PYTHON) tools/py/make_tokenizer_fixtures.py
	$(PYTHON) tools/py/check_saved_checkpoints.py

# figures as ratios measured in one run; writes bench.json. PyTorch's and tokenizers' figures are added
# where the Python given by PYTHON has them (e.g. make bench PYTHON=path/to/venv/bin/python)
bench: $(BUILD)/bench $(BUILD)/bench_tokenizer
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)} $(BUILD)/bench $(BENCH_ARGS)
	-OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)} $(PYTHON) tools/py/bench_torch.py bench.json
	-$(PYTHON) tools/py/bench_tokenizer.py $(BUILD)/bench_tokenizer bench.json

$(BUILD)/bench: tools/bench.c tools/common.h llava.h | $(BUILD)
	$(CC) -std=c11 -O3 $(ARCH) -fopenmp $(WARN) -o $@ $< $(LDLIBS)

clean:
	rm -rf $(BUILD) bench.json
