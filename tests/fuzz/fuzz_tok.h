/* fuzz_tok.h: what the tokenizer harnesses run on a tokenizer that loaded (included after fuzz.h) */
#ifndef LLAVA_FUZZ_TOK_H
#define LLAVA_FUZZ_TOK_H

/* encodes the text with and without special tokens, decodes the ids whole and through the streaming
   decoder, which must agree (not checked with strip 1: a Strip decoder; with strip 2 only when special
   tokens are skipped: a legacy tokenizer.model's stream puts the space before a special token right
   before it, llava__spm_tokens_to_string), decodes ids made from the
   text's bytes (some outside the vocabulary), and looks the vocabulary's strings up */
LLAVA__MAYBE_UNUSED static void fuzz_codec(const LlavaTokenizer *t, const char *text, size_t len, int strip) {
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
                if (p && m < (long)sizeof out && (!strip || (strip == 2 && skip)) && (sn != (size_t)m || memcmp(st, out, sn))) abort();
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

#endif
