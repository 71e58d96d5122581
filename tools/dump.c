/* dump: run a LLaVA model on token ids and write what it computes, to compare llava.h with any
   other implementation from the shell.

     dump --model DIR (--image FILE | --pixels FILE)... --ids "1 2 3 ..." [--logits OUT] [--greedy N]
     dump --image FILE --preprocess crop|pad --size N --pixels-out OUT
     dump --model DIR --image FILE [--preprocess crop|pad] --pixels-out OUT
     dump --model DIR (--image FILE | --pixels FILE) --ids "..." --labels "..." --stage 1|2 --grads OUTDIR

   --logits writes every position's logits as raw little-endian float32 [positions][vocab] (positions
   after image placeholders are expanded); --greedy N prints N greedy ids (argmax, no sampling, EOS
   ignored). --pixels takes raw float32 [3][S][S] (or several images back to back) at the model's
   image size and bypasses preprocessing. --pixels-out writes the preprocessed pixel values.
   --labels (same length as --ids, -100 where nothing is supervised) with --stage computes the mean
   token cross-entropy (printed) and writes each trainable parameter's gradient as raw float32 to
   OUTDIR/<safetensors key>.f32 (stage 1: projector; 2: projector + language model; 3: vision tower). */
#define LLAVA_IMPLEMENTATION
#include "../llava.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IMAGES 16

static void usage(FILE *f) {
    fprintf(f,
            "usage:\n"
            "  dump --model DIR (--image FILE | --pixels FILE)... --ids \"1 2 3 ...\" [--logits OUT] [--greedy N]\n"
            "  dump --image FILE --preprocess crop|pad --size N --pixels-out OUT\n"
            "  dump --model DIR --image FILE [--preprocess crop|pad] --pixels-out OUT\n"
            "options:\n"
            "  --model DIR        Hugging Face LLaVA directory (config.json, safetensors)\n"
            "  --image FILE       JPEG/PNG/BMP/GIF, preprocessed as the model's preprocessor_config.json says\n"
            "  --pixels FILE      raw float32 [3][S][S] per image, already preprocessed\n"
            "  --ids \"...\"        prompt token ids; <image> stands for one image's placeholder tokens\n"
            "  --logits OUT       write logits of every position, float32 [positions][vocab]\n"
            "  --greedy N         print N greedy continuation ids\n"
            "  --preprocess MODE  crop (CLIPImageProcessor) or pad (LLaVA-1.5 expand to square first)\n"
            "  --size N           image side for --preprocess without a model\n"
            "  --pixels-out OUT   write the preprocessed pixels, float32 [3][S][S] per image\n"
            "  --ctx N            context size (default: prompt + greedy tokens)\n"
            "  --labels \"...\"     training labels, one per id (-100: not supervised; <image> as in --ids)\n"
            "  --stage N          1: projector, 2: projector + language model, 3: vision tower\n"
            "  --grads OUTDIR     write each trainable parameter's gradient to OUTDIR/<key>.f32\n"
            "  --steps N          then N AdamW steps on the sample (lr 1e-3, warmup 0.3, cosine), losses printed\n"
            "  --save DIR         then save the model in Hugging Face's layout (F32; --save-bf16 for BF16);\n"
            "                     without --labels: just convert the model\n");
}

static float *read_floats(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    rewind(f);
    float *p = sz > 0 ? (float *)malloc((size_t)sz) : NULL;
    if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = p ? (size_t)sz / sizeof(float) : 0;
    return p;
}

/* "1 2 <image> 3" -> ids; <image> is the model's placeholder run for one image (value `img`) */
static int *parse_ids(const char *str, const LlavaModel *m, int img, int *n_out) {
    const LlavaConfig *cfg = llava_model_config(m);
    int cap = 64, n = 0;
    int *ids = (int *)malloc(cap * sizeof(int));
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
            v = (int)strtol(p, &end, 10);
            if (end == p) break;
        }
        while (rep-- > 0) {
            if (n == cap) ids = (int *)realloc(ids, (cap *= 2) * sizeof(int));
            ids[n++] = v;
        }
        p = end;
    }
    if (*p) {
        fprintf(stderr, "dump: '%s' is not a number\n", p);
        free(ids);
        return NULL;
    }
    *n_out = n;
    return ids;
}

static int write_floats(const char *path, const float *x, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(x, sizeof(float), n, f) == n;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *model_dir = NULL, *ids_str = NULL, *logits_out = NULL, *pixels_out = NULL, *pre = NULL;
    const char *labels_str = NULL, *grads_dir = NULL, *save_dir = NULL;
    int stage = 0, steps = 0, save_bf16 = 0;
    const char *images[MAX_IMAGES], *pixel_files[MAX_IMAGES];
    int n_img_files = 0, n_pix_files = 0, greedy = 0, size = 0, n_ctx = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model") && has) model_dir = argv[++i];
        else if (!strcmp(a, "--image") && has && n_img_files < MAX_IMAGES) images[n_img_files++] = argv[++i];
        else if (!strcmp(a, "--pixels") && has && n_pix_files < MAX_IMAGES) pixel_files[n_pix_files++] = argv[++i];
        else if (!strcmp(a, "--ids") && has) ids_str = argv[++i];
        else if (!strcmp(a, "--logits") && has) logits_out = argv[++i];
        else if (!strcmp(a, "--greedy") && has) greedy = atoi(argv[++i]);
        else if (!strcmp(a, "--preprocess") && has) pre = argv[++i];
        else if (!strcmp(a, "--size") && has) size = atoi(argv[++i]);
        else if (!strcmp(a, "--pixels-out") && has) pixels_out = argv[++i];
        else if (!strcmp(a, "--ctx") && has) n_ctx = atoi(argv[++i]);
        else if (!strcmp(a, "--labels") && has) labels_str = argv[++i];
        else if (!strcmp(a, "--stage") && has) stage = atoi(argv[++i]);
        else if (!strcmp(a, "--grads") && has) grads_dir = argv[++i];
        else if (!strcmp(a, "--steps") && has) steps = atoi(argv[++i]);
        else if (!strcmp(a, "--save") && has) save_dir = argv[++i];
        else if (!strcmp(a, "--save-bf16")) save_bf16 = 1;
        else {
            fprintf(stderr, "dump: unknown or incomplete argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    LlavaPreMode mode = LLAVA_PRE_DEFAULT;
    if (pre) {
        if (!strcmp(pre, "crop")) mode = LLAVA_PRE_CROP;
        else if (!strcmp(pre, "pad")) mode = LLAVA_PRE_PAD;
        else {
            fprintf(stderr, "dump: --preprocess must be crop or pad\n");
            return 2;
        }
    }
    if (n_img_files && n_pix_files) {
        fprintf(stderr, "dump: give --image or --pixels, not both\n");
        return 2;
    }

    /* preprocessing only, without a model */
    if (!model_dir) {
        if (!n_img_files || !pixels_out || size <= 0) {
            usage(stderr);
            return 2;
        }
        LlavaConfig cfg;
        memset(&cfg, 0, sizeof cfg);
        llava_preprocess_defaults(&cfg, size);
        size_t per = (size_t)3 * size * size;
        float *px = (float *)malloc(per * n_img_files * sizeof(float));
        for (i = 0; i < n_img_files; i++) {
            LlavaImage img;
            if (llava_image_load(&img, images[i]) != LLAVA_OK || llava_preprocess(&cfg, &img, mode, px + per * i) != LLAVA_OK) {
                fprintf(stderr, "dump: %s\n", llava_last_error());
                llava_image_free(&img);
                free(px);
                return 1;
            }
            llava_image_free(&img);
        }
        int rc = write_floats(pixels_out, px, per * n_img_files);
        free(px);
        if (rc) fprintf(stderr, "dump: cannot write %s\n", pixels_out);
        return rc ? 1 : 0;
    }

    LlavaModel *m = llava_model_load(model_dir);
    if (!m) {
        fprintf(stderr, "dump: %s\n", llava_last_error());
        return 1;
    }
    const LlavaConfig *cfg = llava_model_config(m);
    const int S = cfg->vision_image_size, V = cfg->text_vocab;
    const size_t per = (size_t)3 * S * S;
    float *pixels = NULL;
    int n_images = 0, rc = 0;
    if (n_img_files) {
        pixels = (float *)malloc(per * n_img_files * sizeof(float));
        for (i = 0; i < n_img_files && !rc; i++) {
            LlavaImage img;
            if (llava_image_load(&img, images[i]) != LLAVA_OK || llava_preprocess(cfg, &img, mode, pixels + per * i) != LLAVA_OK) {
                fprintf(stderr, "dump: %s\n", llava_last_error());
                rc = 1;
            }
            llava_image_free(&img);
        }
        n_images = n_img_files;
    }
    for (i = 0; i < n_pix_files && !rc; i++) {
        size_t n = 0;
        float *p = read_floats(pixel_files[i], &n);
        if (!p || n == 0 || n % per) {
            fprintf(stderr, "dump: %s: expected float32 [3][%d][%d] per image, got %zu floats\n", pixel_files[i], S, S, n);
            free(p);
            rc = 1;
            break;
        }
        pixels = (float *)realloc(pixels, (per * n_images + n) * sizeof(float));
        memcpy(pixels + per * n_images, p, n * sizeof(float));
        n_images += (int)(n / per);
        free(p);
    }
    if (!rc && pixels_out) {
        if (write_floats(pixels_out, pixels ? pixels : (float *)"", per * n_images)) {
            fprintf(stderr, "dump: cannot write %s\n", pixels_out);
            rc = 1;
        }
    }
    if (!rc && save_dir && !labels_str) { /* conversion: the model as loaded, saved again (e.g. as BF16) */
        if (llava_model_save(m, save_dir, save_bf16 ? LLAVA_BF16 : LLAVA_F32) != LLAVA_OK) {
            fprintf(stderr, "dump: %s\n", llava_last_error());
            rc = 1;
        }
    }
    if (!rc && ids_str && labels_str) { /* training: loss and gradients */
        int n_ids = 0, n_lab = 0;
        int *ids = parse_ids(ids_str, m, cfg->image_token_id, &n_ids), *labels = parse_ids(labels_str, m, -100, &n_lab);
        rc = 1;
        if (ids && labels && n_ids != n_lab) fprintf(stderr, "dump: %d ids but %d labels\n", n_ids, n_lab);
        else if (ids && labels) {
            LlavaTrainOptions o;
            llava_train_defaults(&o, stage == 2 ? 2 : 1);
            if (stage == 3) o.stage = 0;
            if (steps > 0) { /* a short run: a schedule that shows warmup and decay */
                o.lr = 1e-3f;
                o.warmup_ratio = 0.3f;
                o.total_steps = steps;
            }
            LlavaTrainer *t = stage >= 1 && stage <= 3 ? llava_trainer_new(m, &o) : NULL;
            if (t && stage == 3) llava_trainer_add_group(t, "vision_tower.", o.lr, 0.0f);
            LlavaSample smp = {ids, labels, n_ids, pixels, n_images};
            float loss = 0;
            if (!t) fprintf(stderr, "dump: --stage must be 1, 2 or 3 (%s)\n", llava_last_error());
            else if (llava_trainer_grads(t, &smp, 1, &loss) != LLAVA_OK) fprintf(stderr, "dump: %s\n", llava_last_error());
            else {
                rc = 0;
                printf("loss %.9g\n", loss);
                for (i = 0; grads_dir && i < llava_trainer_n_params(t) && !rc; i++) {
                    const float *g;
                    size_t n;
                    const char *key = llava_trainer_param(t, i, NULL, &g, &n);
                    char path[1024];
                    if (!g) continue;
                    snprintf(path, sizeof path, "%s/%s.f32", grads_dir, key);
                    if (write_floats(path, g, n)) {
                        fprintf(stderr, "dump: cannot write %s\n", path);
                        rc = 1;
                    }
                }
            }
            for (i = 0; !rc && i < steps; i++) {
                LlavaStepStats st;
                if (llava_trainer_step(t, &smp, 1, &st) != LLAVA_OK) {
                    fprintf(stderr, "dump: %s\n", llava_last_error());
                    rc = 1;
                } else {
                    printf("step %d loss %.9g lr %.9g grad_norm %.9g\n", st.step, st.loss, st.lr, st.grad_norm);
                }
            }
            if (!rc && save_dir && llava_model_save(m, save_dir, save_bf16 ? LLAVA_BF16 : LLAVA_F32) != LLAVA_OK) {
                fprintf(stderr, "dump: %s\n", llava_last_error());
                rc = 1;
            }
            llava_trainer_free(t);
        }
        free(ids);
        free(labels);
        ids_str = NULL;
    }
    if (!rc && ids_str) {
        int n_ids = 0;
        int *ids = parse_ids(ids_str, m, cfg->image_token_id, &n_ids);
        const char *p = ids ? "" : "x";
        int T = *p ? -1 : llava_expanded_length(m, ids, n_ids);
        if (!*p && T < 0) fprintf(stderr, "dump: %s\n", llava_last_error());
        LlavaContext *ctx = T > 0 ? llava_context_new(m, n_ctx > 0 ? n_ctx : T + (greedy > 0 ? greedy : 0)) : NULL;
        if (T > 0 && !ctx) fprintf(stderr, "dump: %s\n", llava_last_error());
        rc = 1;
        if (ctx) {
            float *logits = logits_out ? (float *)malloc((size_t)T * V * sizeof(float)) : NULL;
            if (llava_eval(ctx, ids, n_ids, pixels, n_images, logits) < 0) {
                fprintf(stderr, "dump: %s\n", llava_last_error());
            } else if (logits_out && write_floats(logits_out, logits, (size_t)T * V)) {
                fprintf(stderr, "dump: cannot write %s\n", logits_out);
            } else {
                rc = 0;
                fprintf(stderr, "dump: %d positions (%d ids, %d images), vocab %d\n", T, n_ids, n_images, V);
                if (greedy > 0) {
                    LlavaSampling s;
                    memset(&s, 0, sizeof s);
                    s.ignore_eos = 1;
                    int *out = (int *)malloc(greedy * sizeof(int)), n_out = 0;
                    if (llava_generate(ctx, NULL, 0, NULL, 0, &s, greedy, out, &n_out, NULL, NULL) != LLAVA_OK) {
                        fprintf(stderr, "dump: %s\n", llava_last_error());
                        rc = 1;
                    }
                    for (i = 0; i < n_out; i++) printf("%s%d", i ? " " : "", out[i]);
                    printf("\n");
                    free(out);
                }
            }
            free(logits);
            llava_context_free(ctx);
        }
        free(ids);
    }
    free(pixels);
    llava_model_free(m);
    return rc;
}
