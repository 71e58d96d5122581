/* conversation templates (llava_template_from_name, _render, _tokenize, _continue): a template name,
   then messages, one per form-feed-separated part, each "role:text". Every conversation is rendered
   with and without the generation prompt and tokenized both ways the loaders do (the original layout's
   LLAVA_IMAGE_INDEX placeholder, and llava-hf's <image> token repeated), with the tiny600 tokenizer,
   which knows "<image>". Run from the repository root. */
#include "fuzz.h"

static LlavaTokenizer *tok;

static void fuzz_init(void) {
    tok = llava_tokenizer_load("tests/fixtures/tokenizer/tiny600");
    if (!tok) {
        fprintf(stderr, "fuzz_template: %s (run from the repository root)\n", llava_last_error());
        exit(2);
    }
}

static void fuzz_one(const unsigned char *d, size_t n) {
    fuzz_parts p;
    LlavaMessage msgs[8];
    static int ids[8192], labels[8192];
    int i, nm = 0, gen, t;
    if (!fuzz_split(&p, d, n, 8)) return;
    t = llava_template_from_name(p.s[0]);
    if (t < 0) t = (int)(n % LLAVA_TEMPLATE_COUNT);
    if (strcmp(llava_template_name((LlavaTemplate)t), p.s[0]) && llava_template_from_name(llava_template_name((LlavaTemplate)t)) != t) abort();
    for (i = 1; i < p.count; i++) {
        char *c = strchr(p.s[i], ':');
        if (!c) continue;
        *c = 0;
        msgs[nm].role = p.s[i];
        msgs[nm].text = c + 1;
        nm++;
    }
    const int image_token = llava_token_id(tok, "<image>");
    for (gen = 0; gen < 2; gen++) {
        char *s = llava_template_render((LlavaTemplate)t, msgs, nm, gen);
        if (!s && !llava_last_error()[0]) abort();
        llava_free_string(s);
        llava_template_tokenize(tok, (LlavaTemplate)t, msgs, nm, gen, LLAVA_IMAGE_INDEX, 1, "fuzz", ids, labels, 8192);
        llava_template_tokenize(tok, (LlavaTemplate)t, msgs, nm, gen, image_token, 5, "fuzz", ids, gen ? NULL : labels, 8192);
    }
    for (i = 0; i <= nm; i++) {
        llava_template_continue(tok, (LlavaTemplate)t, msgs, i, nm, LLAVA_IMAGE_INDEX, 1, ids, 8192);
        llava_template_continue(tok, (LlavaTemplate)t, msgs, i, nm, image_token, 3, NULL, 0);
    }
    fuzz_parts_free(&p);
}
