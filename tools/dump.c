/* dump: run a LLaVA model on token ids and write what it computes, to compare llava.h with any
   other implementation from the shell.

     dump --model DIR (--image FILE | --pixels FILE)... --ids "1 2 3 ..." [--logits OUT] [--greedy N]
     dump --model FILE.gguf [--mmproj FILE.gguf] ... (llama.cpp's files; without --mmproj text only)
     dump --image FILE --preprocess crop|pad --size N --pixels-out OUT
     dump --model DIR --image FILE [--preprocess crop|pad] --pixels-out OUT
     dump --model DIR (--image FILE | --pixels FILE) --ids "..." --labels "..." --stage 1|2|3 --grads OUTDIR

   --logits writes every position's logits as raw little-endian float32 [positions][vocab] (positions
   after image placeholders are expanded); --greedy N prints N greedy ids (argmax, no sampling, EOS
   ignored). --pixels takes raw float32 [3][S][S] (or several images back to back) at the model's
   image size and bypasses preprocessing. --pixels-out writes the preprocessed pixel values.
   --labels (same length as --ids, -100 where nothing is supervised) with --stage computes the mean
   token cross-entropy (printed) and writes each trainable parameter's gradient as raw float32 to
   OUTDIR/<safetensors key>.f32 (stage 1: projector; 2: projector + language model; 3: vision tower).
   tools/py/check_saved_checkpoints.py and the tests read what it prints and writes: keep it as it is. */
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "common.h"

static const char usage[] =
    "usage:\n"
    "  dump --model DIR (--image FILE | --pixels FILE)... --ids \"1 2 3 ...\" [--logits OUT] [--greedy N]\n"
    "  dump --image FILE... [--preprocess crop|pad] --size N --pixels-out OUT\n"
    "  dump --model DIR --image FILE... [--preprocess crop|pad] --pixels-out OUT\n"
    "  dump --model DIR (--image FILE | --pixels FILE)... --ids \"...\" --labels \"...\" --stage 1|2|3\n"
    "       [--grads OUTDIR] [--steps N] [--save DIR [--save-bf16]]\n"
    "  dump --model DIR --save DIR [--save-bf16]\n"
    "Runs a LLaVA model on token ids and writes what it computes (logits, greedy ids, preprocessed\n"
    "pixels, a loss and its gradients), to compare llava.h with another implementation.\n"
    "options:\n"
    "  --model DIR        Hugging Face LLaVA directory (config.json, safetensors), or a llama.cpp GGUF\n"
    "                     language model (FILE.gguf); without it, only preprocessing (--image, --size,\n"
    "                     --pixels-out)\n"
    "  --mmproj FILE      with a GGUF --model: llama.cpp's LLaVA image encoder (mmproj GGUF) for images\n"
    "                     (default: none; the GGUF model runs as a language model alone)\n"
    "  --image FILE       JPEG/PNG/BMP/GIF, preprocessed as the model's preprocessor_config.json says\n"
    "                     (repeatable: one per <image> in --ids)\n"
    "  --pixels FILE      raw float32 [3][S][S] per image, already preprocessed (repeatable; not with --image)\n"
    "  --ids \"...\"        prompt token ids, separated by spaces or commas; <image> stands for one\n"
    "                     image's placeholder tokens\n"
    "  --logits OUT       write the logits of every position, float32 [positions][vocab] (default: none)\n"
    "  --greedy N         print N greedy continuation ids, EOS ignored (default 0: none)\n"
    "  --ctx N            context size (default 0: prompt + greedy tokens)\n"
    "  --preprocess MODE  crop (CLIPImageProcessor) or pad (LLaVA-1.5: expand to a square first)\n"
    "                     (default: as the model's preprocessor_config.json says; crop without a model)\n"
    "  --size N           image side for preprocessing without a model (required there)\n"
    "  --pixels-out OUT   write the preprocessed pixels, float32 [3][S][S] per image (default: none)\n"
    "  --labels \"...\"     training labels, one per id (-100: not supervised; <image> as in --ids)\n"
    "  --stage N          with --labels: 1 projector, 2 projector + language model, 3 vision tower\n"
    "  --grads OUTDIR     with --labels: write each trainable parameter's gradient to OUTDIR/<key>.f32\n"
    "                     (default: none; the loss is printed either way)\n"
    "  --steps N          with --labels: then N AdamW steps on the sample (lr 1e-3, warmup 0.3, cosine),\n"
    "                     their losses printed (default 0)\n"
    "  --save DIR         save the model in Hugging Face's layout, F32 (with --labels: after the steps;\n"
    "                     without: just convert the model) (default: none)\n"
    "  --save-bf16        --save writes BF16 instead of F32\n"
    "  --help, --version  this text; the version\n";

/* "1 2 <image> 3" -> ids; <image> is the model's placeholder run for one image (value `img`).
   `what` (--ids, --labels) names the option in the message when a value is not a number. */
static int *parse_ids(const char *what, const char *str, const LlavaModel *m, int img, int *n_out) {
    const LlavaConfig *cfg = llava_model_config(m);
    int cap = 64, n = 0;
    int *ids = (int *)cli_xmalloc(cap * sizeof(int));
    const char *p = str;
    char *end;
    while (1) {
        while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t') p++;
        int rep = 1, v;
        if (!strncmp(p, "<image>", 7)) {
            v = img;
            rep = cfg->image_token_expands ? 1 : llava_image_tokens(m);
            end = (char *)p + 7;
        } else {
            errno = 0;
            long x = strtol(p, &end, 10);
            if (end == p) break;
            if (errno == ERANGE || x < INT_MIN || x > INT_MAX) cli_usage_error("%s: %.*s is out of range", what, (int)(end - p), p);
            v = (int)x;
        }
        while (rep-- > 0) {
            if (n == cap) ids = (int *)cli_xrealloc(ids, (cap *= 2) * sizeof(int));
            ids[n++] = v;
        }
        p = end;
    }
    if (*p) cli_usage_error("%s: '%s' is not a number", what, p);
    *n_out = n;
    return ids;
}

static void write_floats(const char *path, const float *x, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) cli_die("cannot write %s", path);
    int ok = fwrite(x, sizeof(float), n, f) == n;
    if (fclose(f) != 0 || !ok) cli_die("cannot write %s", path);
}

/* images[n] -> pixels [n][3][crop][crop] as cfg preprocesses them */
static float *preprocess_all(const LlavaConfig *cfg, const char **images, int n, LlavaPreMode mode, size_t per) {
    float *px = (float *)cli_xmalloc(per * n * sizeof(float));
    int i;
    for (i = 0; i < n; i++) {
        LlavaImage img;
        if (llava_image_load(&img, images[i]) != LLAVA_OK || llava_preprocess(cfg, &img, mode, px + per * i) != LLAVA_OK)
            cli_die("%s", llava_last_error());
        llava_image_free(&img);
    }
    return px;
}

/* --labels with --stage: the loss, the gradients, then --steps AdamW steps and --save */
static void train(LlavaModel *m, const int *ids, const int *labels, int n, const float *pixels, int n_images, int stage,
                  int steps, const char *grads_dir, const char *save_dir, int save_bf16) {
    LlavaTrainOptions o;
    llava_train_defaults(&o, stage == 2 ? 2 : 1);
    if (stage == 3) o.stage = 0;
    if (steps > 0) { /* a short run: a schedule that shows warmup and decay */
        o.lr = 1e-3f;
        o.warmup_ratio = 0.3f;
        o.total_steps = steps;
    }
    LlavaTrainer *t = llava_trainer_new(m, &o);
    if (!t) cli_die("%s", llava_last_error());
    if (stage == 3 && llava_trainer_add_group(t, "vision_tower.", o.lr, 0.0f) != LLAVA_OK) cli_die("%s", llava_last_error());
    LlavaSample smp = {ids, labels, n, pixels, n_images};
    float loss = 0;
    if (llava_trainer_grads(t, &smp, 1, &loss) != LLAVA_OK) cli_die("%s", llava_last_error());
    printf("loss %.9g\n", loss);
    int i;
    for (i = 0; grads_dir && i < llava_trainer_n_params(t); i++) {
        const float *g;
        size_t k;
        const char *key = llava_trainer_param(t, i, NULL, &g, &k);
        char path[1024];
        if (!g) continue;
        snprintf(path, sizeof path, "%s/%s.f32", grads_dir, key);
        write_floats(path, g, k);
    }
    for (i = 0; i < steps; i++) {
        LlavaStepStats st;
        if (llava_trainer_step(t, &smp, 1, &st) != LLAVA_OK) cli_die("%s", llava_last_error());
        printf("step %d loss %.9g lr %.9g grad_norm %.9g\n", st.step, st.loss, st.lr, st.grad_norm);
    }
    if (save_dir && llava_model_save(m, save_dir, save_bf16 ? LLAVA_BF16 : LLAVA_F32) != LLAVA_OK) cli_die("%s", llava_last_error());
    llava_trainer_free(t);
}

/* --ids without --labels: the logits of every position, then --greedy ids */
static int evaluate(LlavaModel *m, const int *ids, int n_ids, const float *pixels, int n_images, int n_ctx, int greedy,
                    const char *logits_out) {
    const int V = llava_model_config(m)->text_vocab;
    int T = llava_expanded_length(m, ids, n_ids), i;
    if (T < 0) cli_die("%s", llava_last_error());
    if (T == 0) cli_usage_error("--ids: no ids");
    LlavaContext *ctx = llava_context_new(m, n_ctx > 0 ? n_ctx : T + greedy);
    if (!ctx) cli_die("%s", llava_last_error());
    float *logits = logits_out ? (float *)cli_xmalloc((size_t)T * V * sizeof(float)) : NULL;
    if (llava_eval(ctx, ids, n_ids, pixels, n_images, logits) < 0) cli_die("%s", llava_last_error());
    if (logits_out) write_floats(logits_out, logits, (size_t)T * V);
    free(logits);
    fprintf(stderr, "dump: %d positions (%d ids, %d images), vocab %d\n", T, n_ids, n_images, V);
    int rc = 0;
    if (greedy > 0) {
        LlavaSampling s;
        memset(&s, 0, sizeof s);
        s.ignore_eos = 1;
        int *out = (int *)cli_xmalloc(greedy * sizeof(int)), n_out = 0;
        if (llava_generate(ctx, NULL, 0, NULL, 0, &s, greedy, out, &n_out, NULL, NULL) != LLAVA_OK) {
            cli_note("%s", llava_last_error());
            rc = 1; /* the ids made before the failure are still printed */
        }
        for (i = 0; i < n_out; i++) printf("%s%d", i ? " " : "", out[i]);
        printf("\n");
        free(out);
    }
    llava_context_free(ctx);
    return rc;
}

int main(int argc, char **argv) {
    const char *model_dir = NULL, *ids_str = NULL, *logits_out = NULL, *pixels_out = NULL;
    const char *labels_str = NULL, *grads_dir = NULL, *save_dir = NULL, *mmproj = NULL;
    const char **images = (const char **)cli_xcalloc((size_t)argc, sizeof *images); /* at most argc of each */
    const char **pixel_files = (const char **)cli_xcalloc((size_t)argc, sizeof *pixel_files);
    static const char *const modes[] = {"crop", "pad", NULL};
    int stage = 0, steps = 0, save_bf16 = 0, pre = -1, n_img_files = 0, n_pix_files = 0, greedy = 0, size = 0, n_ctx = 0, i;
    const char *s;
    CliArgs a = cli_begin(argc, argv, "dump", usage);
    while (cli_next(&a)) {
        if (cli_str(&a, "--image", &s)) images[n_img_files++] = s;
        else if (cli_str(&a, "--pixels", &s)) pixel_files[n_pix_files++] = s;
        else if (cli_str(&a, "--model", &model_dir) || cli_str(&a, "--mmproj", &mmproj) || cli_str(&a, "--ids", &ids_str) || cli_str(&a, "--logits", &logits_out) ||
                 cli_int(&a, "--greedy", &greedy, 0, 1 << 24) || cli_choice(&a, "--preprocess", &pre, modes) ||
                 cli_int(&a, "--size", &size, 1, 1 << 16) || cli_str(&a, "--pixels-out", &pixels_out) ||
                 cli_int(&a, "--ctx", &n_ctx, 0, 1 << 24) || cli_str(&a, "--labels", &labels_str) ||
                 cli_int(&a, "--stage", &stage, 1, 3) || cli_str(&a, "--grads", &grads_dir) ||
                 cli_int(&a, "--steps", &steps, 0, 1 << 24) || cli_str(&a, "--save", &save_dir) ||
                 cli_flag(&a, "--save-bf16", &save_bf16))
            continue;
        else cli_unknown(&a);
    }
    const LlavaPreMode mode = pre < 0 ? LLAVA_PRE_DEFAULT : pre == 0 ? LLAVA_PRE_CROP : LLAVA_PRE_PAD;
    if (n_img_files && n_pix_files) cli_usage_error("give --image or --pixels, not both");
    if (labels_str && (!ids_str || !stage)) cli_usage_error("--labels needs --ids and --stage 1, 2 or 3");
    if (!labels_str && (stage || grads_dir || steps)) cli_usage_error("--stage, --grads and --steps need --labels");
    if (labels_str && (logits_out || greedy)) cli_usage_error("--logits and --greedy do not go with --labels");
    if (save_bf16 && !save_dir) cli_usage_error("--save-bf16 needs --save");
    if (mmproj && !model_dir) cli_usage_error("--mmproj needs --model (a GGUF language model)");

    /* preprocessing only, without a model */
    if (!model_dir) {
        if (!n_img_files || !pixels_out || !size) cli_usage_error("without --model: --image, --size and --pixels-out are needed");
        if (n_pix_files || ids_str || save_dir) cli_usage_error("--pixels, --ids and --save need --model");
        LlavaConfig cfg;
        memset(&cfg, 0, sizeof cfg);
        llava_preprocess_defaults(&cfg, size);
        const size_t per = (size_t)3 * size * size;
        float *px = preprocess_all(&cfg, images, n_img_files, mode, per);
        write_floats(pixels_out, px, per * n_img_files);
        free(px);
        return 0;
    }
    if (!ids_str && !pixels_out && !save_dir) cli_usage_error("nothing to do: give --ids, --pixels-out or --save");

    LlavaModel *m = mmproj ? llava_model_load_gguf(model_dir, mmproj) : llava_model_load(model_dir);
    if (!m) cli_die("%s", llava_last_error());
    const LlavaConfig *cfg = llava_model_config(m);
    if (cfg->text_only && (n_img_files || n_pix_files || pixels_out))
        cli_usage_error("%s is a language model alone: images need --mmproj FILE (the image encoder)", model_dir);
    const int S = cfg->vision_image_size;
    const size_t per = (size_t)3 * S * S;
    float *pixels = n_img_files ? preprocess_all(cfg, images, n_img_files, mode, per) : NULL;
    int n_images = n_img_files, rc = 0;
    for (i = 0; i < n_pix_files; i++) {
        size_t bytes = 0;
        char *p = llava_read_file(pixel_files[i], SIZE_MAX, &bytes);
        if (!p) cli_die("%s", llava_last_error());
        const size_t n = bytes / sizeof(float);
        if (n == 0 || n % per) cli_die("%s: expected float32 [3][%d][%d] per image, got %zu floats", pixel_files[i], S, S, n);
        pixels = (float *)cli_xrealloc(pixels, (per * n_images + n) * sizeof(float));
        memcpy(pixels + per * n_images, p, n * sizeof(float));
        n_images += (int)(n / per);
        llava_free_string(p);
    }
    if (pixels_out) write_floats(pixels_out, pixels ? pixels : (const float *)"", per * n_images);
    if (save_dir && !labels_str) { /* conversion: the model as loaded, saved again (e.g. as BF16) */
        if (llava_model_save(m, save_dir, save_bf16 ? LLAVA_BF16 : LLAVA_F32) != LLAVA_OK) cli_die("%s", llava_last_error());
    }
    if (ids_str) {
        int n_ids = 0, n_lab = 0;
        int *ids = parse_ids("--ids", ids_str, m, cfg->image_token_id, &n_ids);
        if (labels_str) {
            int *labels = parse_ids("--labels", labels_str, m, -100, &n_lab);
            if (n_ids != n_lab) cli_usage_error("%d ids but %d labels", n_ids, n_lab);
            train(m, ids, labels, n_ids, pixels, n_images, stage, steps, grads_dir, save_dir, save_bf16);
            free(labels);
        } else {
            rc = evaluate(m, ids, n_ids, pixels, n_images, n_ctx, greedy, logits_out);
        }
        free(ids);
    }
    free(pixels);
    free(images);
    free(pixel_files);
    llava_model_free(m);
    return rc;
}
