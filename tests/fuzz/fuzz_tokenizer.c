/* tokenizer (llava_tokenizer_load): tokenizer.json, a form feed, tokenizer_config.json (absent when the
   part is empty or missing), a form feed, a text. A tokenizer that loads encodes the text (or, with no
   text part, the start of its own tokenizer.json), decodes the ids whole and through the streaming
   decoder, which must agree, and decodes ids made from the text's bytes (some outside the vocabulary) */
#include "fuzz.h"

static void fuzz_init(void) {}

static void codec(const LlavaTokenizer *t, const char *text, size_t len, int strip) {
    int ids[2048], n, k, V = llava_tokenizer_vocab_size(t), skip;
    char out[8192], *st = (char *)malloc(8192 * 4);
    if (!st) return;
    for (k = 0; k < 2; k++) {
        n = llava_tokenize(t, text, len, k, ids, 2048);
        if (n < 0) continue;
        if (n > 2048) abort();
        for (skip = 0; skip < 2; skip++) {
            long m = llava_detokenize(t, ids, n, skip, out, sizeof out);
            if (m < 0) abort(); /* ids the tokenizer made decode */
            /* the streaming decoder gives the same text */
            LlavaDecoder dec;
            size_t sn = 0, pl;
            int i, ok = 1;
            llava_decoder_init(&dec, t, skip);
            for (i = 0; i < n && ok; i++) {
                const char *p = llava_decoder_push(&dec, ids[i], &pl);
                if (!p) ok = 0;
                else if (sn + pl < 8192 * 4) memcpy(st + sn, p, pl), sn += pl;
                else ok = 0;
            }
            if (ok) {
                const char *p = llava_decoder_flush(&dec, &pl);
                if (p && sn + pl < 8192 * 4) memcpy(st + sn, p, pl), sn += pl;
                /* tokenizers' DecodeStream decodes a window of the ids, so a Strip decoder that removes more
                   than the one leading space can take text the whole decode keeps (tokenizers does the same) */
                if (p && m < (long)sizeof out && !strip && (sn != (size_t)m || memcmp(st, out, sn))) abort();
            }
            llava_decoder_free(&dec);
        }
    }
    /* ids from the bytes, a few past the vocabulary */
    for (k = 0; k < (int)len && k < 256; k++) ids[k] = (int)(((unsigned char)text[k] * 7919u + (unsigned)k) % (unsigned)(V + 3));
    llava_detokenize(t, ids, k, 0, out, sizeof out);
    llava_detokenize(t, ids, k, 1, out, 16);
    for (k = -1; k <= V; k += V / 7 + 1) {
        const char *s = llava_token_str(t, k);
        if (s && llava_token_id(t, s) < 0) abort(); /* the vocabulary's own strings look up */
        llava_token_is_special(t, k);
    }
    llava_tokenizer_bos(t), llava_tokenizer_eos(t), llava_tokenizer_pad(t), llava_tokenizer_unk(t);
    free(st);
}

static void fuzz_one(const unsigned char *d, size_t n) {
    fuzz_parts p;
    if (!fuzz_split(&p, d, n, 3)) return;
    char path[400];
    snprintf(path, sizeof path, "%s", fuzz_write("tokenizer.json", p.s[0], p.n[0]));
    fuzz_write("tokenizer_config.json", p.count > 1 ? p.s[1] : NULL, p.count > 1 && p.n[1] ? p.n[1] : (size_t)-1);
    LlavaTokenizer *t = llava_tokenizer_load(path);
    if (t) {
        const int strip = strstr(p.s[0], "\"Strip\"") != NULL;
        if (p.count > 2) codec(t, p.s[2], p.n[2], strip);
        else codec(t, p.s[0], p.n[0] < 512 ? p.n[0] : 512, strip);
        llava_tokenizer_free(t);
    } else if (!llava_last_error()[0]) {
        abort();
    }
    fuzz_parts_free(&p);
}
