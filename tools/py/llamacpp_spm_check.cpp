// llama.cpp's own tokenizer on a GGUF file, for make_spmgguf_fixtures.py --llamacpp (a developer check,
// not part of the build): loads the vocabulary with llama_model_loader + llama_vocab::load and tokenizes
// each text with parse_special on, add_special on and off, then detokenizes the ids without add_special
// with remove_special on / unparse_special off, and those with add_special with the reverse. Prints "ids|plain|dec|dec_special" per text
// (ids separated by spaces, the texts in hex; "ERR message" for a text llama.cpp throws on).
//
// usage: llamacpp_spm_check FILE.gguf TEXTS.bin   (TEXTS.bin: uint32 little-endian length + UTF-8 bytes, repeated)
//
// Building it needs only part of llama.cpp (no CPU backend). With L the llama.cpp tree (the commit in
// tests/fixtures/gguf_llamacpp/manifest.json), in a build directory:
//   cmake $L -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF && make ggml-base
//   g++ -std=c++17 -O1 -I$L/include -I$L/ggml/include -I$L/src -DLLAMACPP_SPM_CHECK_STUBS llamacpp_spm_check.cpp \
//       $L/src/{llama-vocab,unicode,unicode-data,llama-model-loader,llama-arch,llama-impl,llama-mmap,llama-hparams}.cpp \
//       -Lbin -lggml-base -Wl,-rpath,$PWD/bin -o llamacpp_spm_check
#include "llama-arch.h"
#include "llama-model-loader.h"
#include "llama-vocab.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#ifdef LLAMACPP_SPM_CHECK_STUBS
// what the loader references from the parts of llama.cpp not linked in (never called for a vocabulary)
extern "C" {
int32_t llama_split_path(char *, size_t, const char *, int32_t, int32_t) { return 0; }
int32_t llama_split_prefix(char *, size_t, const char *, int32_t, int32_t) { return 0; }
ggml_backend_dev_t ggml_backend_dev_by_type(enum ggml_backend_dev_type) { return nullptr; }
}
#endif

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s FILE.gguf TEXTS.bin\n", argv[0]);
        return 2;
    }
    llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    std::vector<std::string> splits;
    try {
        llama_model_loader ml(nullptr, nullptr, nullptr, argv[1], splits, nullptr, LLAMA_LOAD_MODE_NONE, false, true, false, nullptr, nullptr);
        LLM_KV kv(LLM_ARCH_LLAMA);
        llama_vocab vocab;
        vocab.load(ml, kv);
        FILE *f = fopen(argv[2], "rb");
        if (!f) return 2;
        uint32_t n;
        while (fread(&n, 4, 1, f) == 1) {
            std::string s(n, '\0');
            if (n && fread(&s[0], 1, n, f) != n) return 2;
            std::vector<llama_token> got[2]; /* [0] without, [1] with add_special */
            for (int add = 1; add >= 0; add--) {
                try {
                    std::vector<llama_token> ids = vocab.tokenize(s, add, true);
                    for (size_t i = 0; i < ids.size(); i++) printf(i ? " %d" : "%d", ids[i]);
                    got[add] = ids;
                } catch (const std::exception &e) {
                    printf("ERR %s", e.what());
                }
                printf("|");
            }
            for (int skip = 1; skip >= 0; skip--) {
                const std::vector<llama_token> &first = got[!skip];
                std::vector<char> buf(16 * first.size() + 64);
                int32_t k = vocab.detokenize(first.data(), (int32_t)first.size(), buf.data(), (int32_t)buf.size(), skip, !skip);
                if (k < 0) { /* -k bytes are needed */
                    buf.resize((size_t)-k);
                    k = vocab.detokenize(first.data(), (int32_t)first.size(), buf.data(), (int32_t)buf.size(), skip, !skip);
                }
                for (int32_t i = 0; i < k; i++) printf("%02x", (unsigned char)buf[i]);
                printf(skip ? "|" : "\n");
            }
        }
        fclose(f);
    } catch (const std::exception &e) {
        printf("LOADERR %s\n", e.what());
        return 1;
    }
    return 0;
}
