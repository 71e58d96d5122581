/* LLaVA-format training data (tools/data.h data_load): a JSON list of conversations, a form feed, a
   template name (default llava_hf), a form feed, max_len (default 128). The fixture model tiny_hf4 and
   tokenizer tiny600 are loaded once; images are named relative to tests/fixtures/images. Data that loads
   makes its first batch, images decoded, as training would (images named with ".." are left out of
   that). Run from the repository root. */
#include "fuzz.h"
#include "../../tools/data.h"

static LlavaModel *model;
static LlavaTokenizer *tok;
static char *images;

static void fuzz_init(void) {
    model = llava_model_load("tests/fixtures/models/tiny_hf4");
    tok = llava_tokenizer_load("tests/fixtures/tokenizer/tiny600");
    images = realpath("tests/fixtures/images", NULL);
    if (!model || !tok || !images) {
        fprintf(stderr, "fuzz_data: %s (run from the repository root)\n", llava_last_error());
        exit(2);
    }
}

static void fuzz_one(const unsigned char *d, size_t n) {
    fuzz_parts p;
    char path[400];
    DataSet ds;
    if (!fuzz_split(&p, d, n, 3)) return;
    int tpl = p.count > 1 ? llava_template_from_name(p.s[1]) : LLAVA_TEMPLATE_LLAVA_HF;
    int max_len = p.count > 2 ? atoi(p.s[2]) : 128;
    if (tpl < 0) tpl = LLAVA_TEMPLATE_LLAVA_HF;
    if (max_len < 1 || max_len > 4096) max_len = 128;
    snprintf(path, sizeof path, "%s", fuzz_write("data.json", p.s[0], p.n[0]));
    if (data_load(&ds, path, images, model, tok, (LlavaTemplate)tpl, max_len) == 0) {
        int i, B = ds.n < 2 ? ds.n : 2, safe = 1;
        for (i = 0; i < ds.n; i++) {
            if (ds.s[i].n < 1 || ds.s[i].n > max_len) abort();
            if (ds.s[i].image && strstr(ds.s[i].image, "..")) safe = 0;
        }
        if (safe) {
            const LlavaConfig *cfg = llava_model_config(model);
            const size_t npix = (size_t)3 * cfg->vision_image_size * cfg->vision_image_size;
            float *px = (float *)malloc(sizeof(float) * npix * 2);
            LlavaSample batch[2];
            if (px && data_batch(&ds, 0, B, 7, cfg, px, batch) < 0 && !ds.error[0]) abort();
            free(px);
        }
        data_free(&ds);
    } else if (!ds.error[0]) {
        abort();
    }
    fuzz_parts_free(&p);
}
