/* SentencePiece tokenizer.model (llava__spm_parse: the protobuf, from memory, then llava__spm_configure
   as llava__spm_load runs it): the model, then optionally FUZZ_CUT, a tokenizer_config.json (none when
   empty), FUZZ_CUT and a text. A tokenizer that loads encodes the text (or the model's first bytes),
   decodes the ids whole and through the streaming decoder, which must agree (fuzz_tok.h; a legacy
   tokenizer only when special tokens are skipped) */
#include "fuzz.h"
#include "fuzz_tok.h"

static void fuzz_init(void) {}

static void fuzz_one(const unsigned char *d, size_t n) {
    size_t mn, rn, cn = 0, tn = 0;
    const unsigned char *rest = fuzz_cut(d, n, &mn, &rn), *text = NULL;
    char *cfg = NULL;
    LlavaJson cj;
    int rc = 0;
    memset(&cj, 0, sizeof cj);
    if (rest) {
        text = fuzz_cut(rest, rn, &cn, &tn);
        if (cn) {
            if (!(cfg = (char *)malloc(cn + 1))) return;
            memcpy(cfg, rest, cn);
            cfg[cn] = 0;
        }
    }
    LlavaTokenizer *t = llava__spm_parse(d, mn, "fuzz.model");
    if (t && cfg) {
        rc = llava_json_parse(&cj, cfg, cn, "tokenizer_config.json");
        if (!rc && cj.nodes[0].type != LLAVA_JSON_OBJ) rc = 1;
    }
    if (t && !rc) rc = llava__spm_configure(t, &cj, cfg ? &cj.nodes[0] : NULL, NULL, NULL, NULL, NULL, "fuzz.model");
    if (t && !rc) {
        if (text) fuzz_codec(t, (const char *)text, tn < 1024 ? tn : 1024, t->spm->legacy ? 2 : 0);
        else fuzz_codec(t, (const char *)d, mn < 256 ? mn : 256, t->spm->legacy ? 2 : 0);
    } else if (!t && !llava_last_error()[0]) {
        abort();
    }
    llava_tokenizer_free(t);
    llava_json_free(&cj);
    free(cfg);
}
