/* tokenizer (llava_tokenizer_load): tokenizer.json, a form feed, tokenizer_config.json (absent when the
   part is empty or missing), a form feed, a text. A tokenizer that loads encodes the text (or, with no
   text part, the start of its own tokenizer.json), decodes the ids whole and through the streaming
   decoder, which must agree, and decodes ids made from the text's bytes (some outside the vocabulary) */
#include "fuzz.h"
#include "fuzz_tok.h"

static void fuzz_init(void) {}

static void fuzz_one(const unsigned char *d, size_t n) {
    fuzz_parts p;
    if (!fuzz_split(&p, d, n, 3)) return;
    char path[400];
    snprintf(path, sizeof path, "%s", fuzz_write("tokenizer.json", p.s[0], p.n[0]));
    fuzz_write("tokenizer_config.json", p.count > 1 ? p.s[1] : NULL, p.count > 1 && p.n[1] ? p.n[1] : (size_t)-1);
    LlavaTokenizer *t = llava_tokenizer_load(path);
    if (t) {
        const int strip = strstr(p.s[0], "\"Strip\"") != NULL;
        if (p.count > 2) fuzz_codec(t, p.s[2], p.n[2], strip);
        else fuzz_codec(t, p.s[0], p.n[0] < 512 ? p.n[0] : 512, strip);
        llava_tokenizer_free(t);
    } else if (!llava_last_error()[0]) {
        abort();
    }
    fuzz_parts_free(&p);
}
