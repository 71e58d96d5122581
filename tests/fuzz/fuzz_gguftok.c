/* the tokenizer of a GGUF file (llava__tok_from_gguf, what llava_tokenizer_load runs on a .gguf, on a
   GGUF parsed from memory): tokenizer.ggml.* for SentencePiece ("llama") and byte-level BPE ("gpt2",
   with its pre-tokenizer names). The input: the GGUF file, then optionally FUZZ_CUT and a text. A
   tokenizer that loads encodes the text (or the file's first bytes), decodes the ids whole and through
   the streaming decoder, which must agree (fuzz_tok.h; a legacy SentencePiece vocabulary only when
   special tokens are skipped). A byte-level BPE tokenizer that loads is also written out as
   tokenizer.json and tokenizer_config.json (llava__tok_files_from_gguf_g, what saving a model assembled
   from a GGUF language model runs; "<image>" added when the input's last byte is odd), which succeeds or
   names its reason, and what it wrote loads back and encodes the text to the same ids. */
#include "fuzz.h"
#include "fuzz_tok.h"

static void fuzz_init(void) {}

/* the tokenizer files written from the GGUF g (whose tokenizer t is) into the harness's directory: an
   error names itself; written, they load and encode x to t's ids */
static void fuzz_written(const llava__gguf *g, const LlavaTokenizer *t, const char *x, size_t xn, int with_image) {
    const char *dir = fuzz_dir();
    fuzz_write("tokenizer.json", NULL, (size_t)-1);
    fuzz_write("tokenizer_config.json", NULL, (size_t)-1);
    llava__errbuf[0] = 0;
    if (llava__tok_files_from_gguf_g(g, "fuzz.gguf", dir, with_image ? llava_tokenizer_vocab_size(t) : -1) != LLAVA_OK) {
        if (!llava_last_error()[0]) abort();
        return;
    }
    LlavaTokenizer *r = llava_tokenizer_load(dir);
    if (!r) { /* what the writer wrote, our own loader reads */
        fprintf(stderr, "the written tokenizer does not load: %s\n", llava_last_error());
        abort();
    }
    int a[1024], b[1024];
    const int na = llava_tokenize(t, x, xn, 1, a, 1024), nb = llava_tokenize(r, x, xn, 1, b, 1024);
    if (na != nb || (na > 0 && na <= 1024 && memcmp(a, b, (size_t)na * sizeof(int)))) {
        fprintf(stderr, "the written tokenizer encodes to %d ids, the GGUF's to %d\n", nb, na);
        abort();
    }
    llava_tokenizer_free(r);
}

static void fuzz_one(const unsigned char *d, size_t n) {
    size_t gn, tn;
    const unsigned char *text = fuzz_cut(d, n, &gn, &tn);
    llava__gguf g;
    if (fuzz_gguf(&g, d, gn, "fuzz.gguf") != LLAVA_OK) {
        if (!llava_last_error()[0]) abort();
        return;
    }
    LlavaTokenizer *t = llava__tok_from_gguf(&g, "fuzz.gguf");
    if (t) {
        const int strip = t->spm && t->spm->legacy ? 2 : 0;
        const char *x = text ? (const char *)text : (const char *)d;
        const size_t xn = text ? (tn < 1024 ? tn : 1024) : (gn < 256 ? gn : 256);
        fuzz_codec(t, x, xn, strip);
        if (!t->spm) fuzz_written(&g, t, x, xn, n && (d[n - 1] & 1));
        llava_tokenizer_free(t);
    } else if (!llava_last_error()[0]) {
        abort();
    }
    llava__gguf_close(&g);
}
