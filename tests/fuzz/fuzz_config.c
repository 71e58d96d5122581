/* model configuration through the loader (llava_model_load): config.json, a form feed, then
   preprocessor_config.json (absent when there is no second part). Each input is loaded twice: beside
   the llava-hf fixture's weights (tiny_hf4) and beside the original layout's (tiny_orig_linear, its CLIP
   tower in clip/), so a configuration that parses also meets the tensor shape checks. Run from the
   repository root (the weights are the committed fixtures). */
#include "fuzz.h"

static char dirs[2][300];

static void fuzz_init(void) {
    static const char *const models[2] = {"tiny_hf4", "tiny_orig_linear"};
    char src[PATH_MAX], *abs_, cmd[1200];
    int i;
    for (i = 0; i < 2; i++) {
        snprintf(src, sizeof src, "tests/fixtures/models/%s", models[i]);
        if (!(abs_ = realpath(src, NULL))) {
            fprintf(stderr, "fuzz_config: %s is missing (run from the repository root)\n", src);
            exit(2);
        }
        snprintf(dirs[i], sizeof dirs[i], "%s/%s", fuzz_dir(), models[i]);
        /* the weights and the tower as links; the two JSON files are the fuzzer's */
        snprintf(cmd, sizeof cmd, "mkdir -p '%s' && ln -s '%s/model.safetensors' '%s/' && { [ ! -d '%s/clip' ] || ln -s '%s/clip' '%s/'; }",
                 dirs[i], abs_, dirs[i], abs_, abs_, dirs[i]);
        free(abs_);
        if (system(cmd) != 0) {
            fprintf(stderr, "fuzz_config: setting up %s failed\n", dirs[i]);
            exit(2);
        }
    }
}

static void fuzz_one(const unsigned char *d, size_t n) {
    fuzz_parts p;
    char path[400];
    int i;
    if (!fuzz_split(&p, d, n, 2)) return;
    /* a config.json that is not JSON fails both loads the same way, before any weights: load it once */
    LlavaJson j;
    const int is_json = llava_json_parse(&j, p.s[0], p.n[0], "config.json") == LLAVA_OK;
    llava_json_free(&j); /* (a failed parse leaves its nodes to free too) */
    for (i = 0; i < (is_json ? 2 : 1); i++) {
        FILE *f;
        snprintf(path, sizeof path, "%s/config.json", dirs[i]);
        if (!(f = fopen(path, "wb")) || fwrite(p.s[0], 1, p.n[0], f) != p.n[0] || fclose(f)) abort();
        snprintf(path, sizeof path, "%s/preprocessor_config.json", dirs[i]);
        if (p.count > 1) {
            if (!(f = fopen(path, "wb")) || fwrite(p.s[1], 1, p.n[1], f) != p.n[1] || fclose(f)) abort();
        } else {
            remove(path);
        }
        LlavaModel *m = llava_model_load(dirs[i]);
        if (m) {
            /* what a caller reads first */
            if (llava_image_tokens(m) <= 0) abort();
            llava_model_free(m);
        } else if (!llava_last_error()[0]) {
            abort();
        }
    }
    fuzz_parts_free(&p);
}
