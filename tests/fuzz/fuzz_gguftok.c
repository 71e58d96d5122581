/* the tokenizer of a GGUF file (llava__tok_from_gguf, what llava_tokenizer_load runs on a .gguf, on a
   GGUF parsed from memory): tokenizer.ggml.* for SentencePiece ("llama") and byte-level BPE ("gpt2",
   with its pre-tokenizer names). The input: the GGUF file, then optionally FUZZ_CUT and a text. A
   tokenizer that loads encodes the text (or the file's first bytes), decodes the ids whole and through
   the streaming decoder, which must agree (fuzz_tok.h; a legacy SentencePiece vocabulary only when
   special tokens are skipped) */
#include "fuzz.h"
#include "fuzz_tok.h"

static void fuzz_init(void) {}

static void fuzz_one(const unsigned char *d, size_t n) {
    size_t gn, tn;
    const unsigned char *text = fuzz_cut(d, n, &gn, &tn);
    llava__gguf g;
    if (fuzz_gguf(&g, d, gn, "fuzz.gguf") != LLAVA_OK) {
        if (!llava_last_error()[0]) abort();
        return;
    }
    LlavaTokenizer *t = llava__tok_from_gguf(&g, "fuzz.gguf");
    llava__gguf_close(&g); /* (the tokenizer keeps nothing of the file) */
    if (t) {
        const int strip = t->spm && t->spm->legacy ? 2 : 0;
        if (text) fuzz_codec(t, (const char *)text, tn < 1024 ? tn : 1024, strip);
        else fuzz_codec(t, (const char *)d, gn < 256 ? gn : 256, strip);
        llava_tokenizer_free(t);
    } else if (!llava_last_error()[0]) {
        abort();
    }
}
