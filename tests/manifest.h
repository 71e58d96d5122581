/* manifest.h: the whole-model fixtures of tests/fixtures/manifest.json (made by tools/py/make_fixtures.py)
   for the tests that run them (include after llava.h's implementation and test.h) */
#ifndef LLAVA_TEST_MANIFEST_H
#define LLAVA_TEST_MANIFEST_H

typedef struct {
    char name[64], model[256], pixels[256], logits[256]; /* paths under the fixtures directory */
    int ids[256], n_ids, greedy[64], n_greedy, n_images, positions, vocab;
} fcase;
static fcase g_cases[32];
static int g_ncases;

/* adds the cases of a manifest (rel: "manifest.json", or "lm/manifest.json" for the language models alone)
   to g_cases, then hands the parsed file to more (when not NULL) for the rest of it; 0, or -1 when the
   file cannot be read */
static int manifest_load(const char *rel, void (*more)(const LlavaJson *j)) {
    size_t n;
    char *text = llava_read_file(fx(rel), (size_t)1 << 26, &n);
    LlavaJson j;
    if (!text || llava_json_parse(&j, text, n, rel) != LLAVA_OK) {
        LLAVA_FREE(text);
        return -1;
    }
    const LlavaJsonNode *cs = llava_json_get(&j, &j.nodes[0], "cases"), *c, *x;
    for (c = llava_json_first(&j, cs); c && g_ncases < 32; c = llava_json_next(&j, c)) {
        fcase *f = &g_cases[g_ncases++];
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", llava_json_get(&j, c, "name")->str);
        snprintf(f->model, sizeof f->model, "%s", fx(llava_json_get(&j, c, "model")->str));
        snprintf(f->logits, sizeof f->logits, "%s", fx(llava_json_get(&j, c, "logits")->str));
        x = llava_json_get(&j, c, "pixels");
        if (x && x->type == LLAVA_JSON_STR) snprintf(f->pixels, sizeof f->pixels, "%s", fx(x->str));
        for (x = llava_json_first(&j, llava_json_get(&j, c, "ids")); x && f->n_ids < 256; x = llava_json_next(&j, x)) f->ids[f->n_ids++] = (int)x->num;
        for (x = llava_json_first(&j, llava_json_get(&j, c, "greedy")); x && f->n_greedy < 64; x = llava_json_next(&j, x))
            f->greedy[f->n_greedy++] = (int)x->num;
        f->n_images = (int)llava_json_get(&j, c, "n_images")->num; /* (0: a prompt without pixels) */
        f->positions = (int)llava_json_get(&j, c, "positions")->num;
        f->vocab = (int)llava_json_get(&j, c, "vocab")->num;
    }
    if (more) more(&j);
    llava_json_free(&j);
    LLAVA_FREE(text);
    return 0;
}

#endif
