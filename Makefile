# llava.h build. `make` builds the tools, `make test` runs every test (needs only gcc and libstb-dev).
CC      ?= gcc
CXX     ?= g++
ARCH    ?= -march=native
CFLAGS  ?= -O2 $(ARCH) -fopenmp
WARN    := -Wall -Wextra
TWARN   := $(WARN) -Werror -Wno-format-truncation
LDLIBS  := -lm
PYTHON  ?= python3
BUILD   := build

TOOLS := $(BUILD)/dump
TESTS := $(BUILD)/test_c $(BUILD)/test_cpp $(BUILD)/test_fastmath

.PHONY: all test test-asan fixtures bench clean

all: $(TOOLS)

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/dump: tools/dump.c llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -o $@ $< $(LDLIBS)

# the tests: compiled as C11, as C++ (the header's C++ compatibility), and with -O3 -ffast-math
$(BUILD)/test_c: tests/test_llava.c llava.h | $(BUILD)
	$(CC) -std=c11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

$(BUILD)/test_cpp: tests/test_llava.c llava.h | $(BUILD)
	$(CXX) -x c++ -std=c++11 $(CFLAGS) $(TWARN) -o $@ $< $(LDLIBS)

$(BUILD)/test_fastmath: tests/test_llava.c llava.h | $(BUILD)
	$(CC) -std=c11 -O3 -ffast-math $(ARCH) -fopenmp $(TWARN) -DLLAVA_TEST_FASTMATH -o $@ $< $(LDLIBS)

test: $(TOOLS) $(TESTS)
	$(CC) -std=c11 -DLLAVA_NO_STB -DLLAVA_STATIC $(WARN) -Werror -fsyntax-only -x c tests/no_stb.c
	sh tests/run.sh $(TESTS)

# AddressSanitizer + UndefinedBehaviorSanitizer (no OpenMP: its runtime confuses the leak checker)
test-asan: | $(BUILD)
	$(CC) -std=c11 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
	    $(ARCH) $(WARN) -o $(BUILD)/test_asan tests/test_llava.c $(LDLIBS)
	sh tests/run.sh $(BUILD)/test_asan

# regenerates tests/fixtures with transformers (developer dependency: pip install -r tools/requirements.txt)
fixtures:
	$(PYTHON) tools/make_fixtures.py

# figures as ratios measured in one run; writes bench.json. PyTorch's figures are added where the
# Python given by PYTHON has torch (e.g. make bench PYTHON=path/to/venv/bin/python)
bench: $(BUILD)/bench
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)} $(BUILD)/bench $(BENCH_ARGS)
	-OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)} $(PYTHON) tools/bench_torch.py bench.json

$(BUILD)/bench: tools/bench.c llava.h | $(BUILD)
	$(CC) -std=c11 -O3 $(ARCH) -fopenmp $(WARN) -o $@ $< $(LDLIBS)

clean:
	rm -rf $(BUILD) bench.json
