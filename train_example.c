/* train_example: LLaVA's two-stage recipe from the command line.

     train_example --model DIR --data DIR --out DIR [options]

   Stage 1 (feature alignment): only the projector learns, on image-caption pairs rendered with the
   `plain` template. Stage 2 (visual instruction tuning): projector and language model learn, the vision
   tower stays frozen, on instruction data rendered with `vicuna_v1`. Data is LLaVA's own JSON:
   [{"id", "image", "conversations": [{"from": "human", "value": "<image>\n..."}, {"from": "gpt", ...}]}],
   DATA/stage1.json and DATA/stage2.json by default, image paths relative to DATA/images (or DATA).

   OUT/stage1/ and OUT/stage2/ get checkpoint-N/ directories (Hugging Face's layout plus the optimizer
   state; a `latest` file names the newest complete one) and final/; OUT/loss.csv and OUT/loss.svg the
   loss curves. --resume continues from the newest checkpoint with the same losses, bit for bit, as a
   run that was never stopped. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "llava.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
    const char *model, *data, *out, *images, *data_file[2], *tpl_name[2];
    int stages[2];          /* which stages to run */
    int steps[2];           /* optimizer steps per stage (0: from epochs) */
    float epochs[2];
    float lr[2];
    int batch, max_len, save_every, log_every, resume, stop_after, bf16;
    struct {
        const char *prefix;
        float lr, wd;
    } groups[8];
    int n_groups;
    float warmup, wd, clip;
    uint64_t seed;
} opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: train_example --model DIR --data DIR --out DIR [options]\n"
            "  --model DIR          starting model (Hugging Face layout, with tokenizer.json)\n"
            "  --data DIR           stage1.json and stage2.json in LLaVA's format, images under DIR/images or DIR\n"
            "  --out DIR            checkpoints, final models, loss.csv, loss.svg\n"
            "  --stages LIST        1, 2 or 1,2 (default 1,2)\n"
            "  --stage1-data FILES  --stage2-data FILES  other data files (comma-separated lists are joined)\n"
            "  --images DIR         where image paths are relative to\n"
            "  --steps1 N --steps2 N    optimizer steps (default: from --epochs1/--epochs2, default 1 epoch)\n"
            "  --epochs1 X --epochs2 X\n"
            "  --lr1 X --lr2 X      peak learning rates (default 1e-3 and 2e-5, LLaVA-1.5's)\n"
            "  --batch N            samples per step (default 8)\n"
            "  --warmup X           warmup ratio (default 0.03)\n"
            "  --wd X               weight decay (default 0)\n"
            "  --clip X             gradient-norm clipping (default 1.0; 0 off)\n"
            "  --max-len N          truncate samples to N positions (default: the model's context)\n"
            "  --template1 NAME --template2 NAME   (default plain and vicuna_v1)\n"
            "  --save-every N       checkpoint every N steps (default 100)\n"
            "  --log-every N        progress line every N steps (default 10)\n"
            "  --seed S             data order (default 1)\n"
            "  --group PREFIX:LR:WD also train the parameters whose key starts with PREFIX (e.g. vision_tower.)\n"
            "  --resume             continue from the newest checkpoints in OUT\n"
            "  --stop-after N       checkpoint and stop after step N of a stage (then --resume)\n"
            "  --precision P        the matrix products' operands in f32 (default) or bf16, as LLaVA trains (llava_use_bf16:\n"
            "                       on AMX where the CPU has it, emulated elsewhere); auto: bf16 where AMX is, else f32\n");
}

/* --- data ------------------------------------------------------------------------------------------ */
typedef struct {
    char *id, *image; /* image path, or NULL */
    int *ids, *labels, n;
} sample;

typedef struct {
    sample *s;
    int n, truncated, dropped;
    long tokens;
} dataset;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *r = (char *)malloc(n);
    snprintf(r, n, "%s/%s", a, b);
    return r;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* reads and tokenizes a LLaVA JSON file; errors name the sample */
static int load_data(dataset *d, const char *path, const char *images, LlavaTokenizer *tok, LlavaTemplate tpl, const LlavaModel *m,
                     int max_len) {
    size_t n;
    char *text = llava_read_file(path, (size_t)1 << 31, &n);
    LlavaJson j;
    memset(d, 0, sizeof *d);
    if (!text) return -1;
    if (llava_json_parse(&j, text, n, path) != LLAVA_OK) {
        free(text);
        return -1;
    }
    const LlavaJsonNode *root = &j.nodes[0], *e;
    int rc = 0, k = 0;
    if (root->type != LLAVA_JSON_ARR) {
        llava__err("%s: not a JSON list of samples", path);
        rc = -1;
    }
    const LlavaConfig *cfg = llava_model_config(m);
    const int image_id = cfg->image_token_expands ? LLAVA_IMAGE_INDEX : cfg->image_token_id;
    const int image_repeat = cfg->image_token_expands ? 1 : llava_image_tokens(m);
    const int full = 1 << 16;
    int *ids = (int *)malloc(sizeof(int) * full), *labels = (int *)malloc(sizeof(int) * full);
    d->s = rc ? NULL : (sample *)calloc((size_t)root->count + 1, sizeof(sample));
    for (e = llava_json_first(&j, root); e && rc == 0; e = llava_json_next(&j, e), k++) {
        const LlavaJsonNode *idn = llava_json_get(&j, e, "id"), *img = llava_json_get(&j, e, "image"), *conv = llava_json_get(&j, e, "conversations");
        char sid[128];
        if (idn && idn->type == LLAVA_JSON_STR) snprintf(sid, sizeof sid, "%s", idn->str);
        else if (idn && idn->type == LLAVA_JSON_NUM) snprintf(sid, sizeof sid, "%.0f", idn->num);
        else snprintf(sid, sizeof sid, "#%d", k);
        if (!conv || conv->type != LLAVA_JSON_ARR || conv->count < 2) {
            llava__err("%s: sample %s: \"conversations\" must list at least one human and one gpt turn", path, sid);
            rc = -1;
            break;
        }
        LlavaMessage msgs[64];
        int nm = 0, images_in_text = 0;
        const LlavaJsonNode *t;
        for (t = llava_json_first(&j, conv); t && rc == 0; t = llava_json_next(&j, t)) {
            const LlavaJsonNode *from = llava_json_get(&j, t, "from"), *val = llava_json_get(&j, t, "value");
            if (!from || from->type != LLAVA_JSON_STR || !val || val->type != LLAVA_JSON_STR || nm == 64) {
                llava__err("%s: sample %s: turn %d needs string \"from\" and \"value\" (at most 64 turns)", path, sid, nm);
                rc = -1;
                break;
            }
            const int human = !strcmp(from->str, "human") || !strcmp(from->str, "user");
            const int gpt = !strcmp(from->str, "gpt") || !strcmp(from->str, "assistant");
            if ((!human && !gpt) || (human != (nm % 2 == 0))) {
                llava__err("%s: sample %s: the conversation does not alternate human, gpt, human, ... (turn %d is \"%s\")", path, sid, nm,
                           from->str);
                rc = -1;
                break;
            }
            const char *p = val->str;
            int empty = 1;
            for (; *p; p++)
                if (*p != ' ' && *p != '\n' && *p != '\t') empty = 0;
            if (gpt && empty) {
                llava__err("%s: sample %s: turn %d, an assistant turn, is empty", path, sid, nm);
                rc = -1;
                break;
            }
            for (p = val->str; (p = strstr(p, "<image>")); p += 7) images_in_text++;
            msgs[nm].role = human ? "user" : "assistant";
            msgs[nm].text = val->str;
            nm++;
        }
        if (rc) break;
        if (nm % 2) {
            llava__err("%s: sample %s: the conversation ends with a human turn", path, sid);
            rc = -1;
            break;
        }
        const int has_image = img && img->type == LLAVA_JSON_STR;
        if (images_in_text != (has_image ? 1 : 0)) {
            llava__err("%s: sample %s: %d <image> placeholders in the text for %d image%s", path, sid, images_in_text, has_image,
                       has_image ? "" : "s");
            rc = -1;
            break;
        }
        char *ipath = has_image ? join(images, img->str) : NULL;
        FILE *fp = ipath ? fopen(ipath, "rb") : NULL;
        if (ipath && !fp) {
            llava__err("%s: sample %s: image %s cannot be opened (%s)", path, sid, ipath, strerror(errno));
            free(ipath);
            rc = -1;
            break;
        }
        if (fp) fclose(fp);
        int cnt = llava_template_tokenize(tok, tpl, msgs, nm, 0, image_id, image_repeat, sid, ids, labels, full);
        if (cnt < 0) {
            free(ipath);
            rc = -1;
            break;
        }
        if (cnt > max_len) { /* truncate; a cut through the image's placeholders would leave a broken image: drop */
            int i, cut_image = 0;
            for (i = max_len; i < cnt; i++) cut_image |= ids[i] == image_id && i > 0 && ids[i - 1] == image_id;
            if (cut_image || (has_image && image_repeat > max_len)) {
                d->dropped++;
                free(ipath);
                continue;
            }
            d->truncated++;
            cnt = max_len;
        }
        sample *s = &d->s[d->n++];
        s->id = strdup(sid);
        s->image = ipath;
        s->n = cnt;
        s->ids = (int *)malloc(sizeof(int) * cnt);
        s->labels = (int *)malloc(sizeof(int) * cnt);
        memcpy(s->ids, ids, sizeof(int) * cnt);
        memcpy(s->labels, labels, sizeof(int) * cnt);
        d->tokens += cnt;
    }
    free(ids), free(labels);
    llava_json_free(&j);
    free(text);
    if (rc == 0 && d->n == 0) {
        llava__err("%s: no usable samples", path);
        rc = -1;
    }
    return rc;
}

static void free_data(dataset *d) {
    int i;
    for (i = 0; i < d->n; i++) free(d->s[i].id), free(d->s[i].image), free(d->s[i].ids), free(d->s[i].labels);
    free(d->s);
}

/* the sample at position k of the data order: a fresh permutation per epoch, from the seed only, so a
   resumed run sees the same order */
static int order_at(long k, int n, uint64_t seed, int *perm, long *perm_epoch) {
    long epoch = k / n;
    if (*perm_epoch != epoch) {
        uint64_t r = seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch * 0xD1B54A32D192ED03ull + 1;
        int i;
        for (i = 0; i < n; i++) perm[i] = i;
        for (i = n - 1; i > 0; i--) {
            int j = (int)(llava_rng_next(&r) % (uint64_t)(i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        *perm_epoch = epoch;
    }
    return perm[k % n];
}

/* --- loss curves ------------------------------------------------------------------------------------ */
typedef struct {
    int stage, step;
    float loss, lr, grad_norm, tok_s;
} logrow;

static int write_csv(const char *path, const logrow *r, int n) {
    size_t cap = 64 + (size_t)n * 96, len = 0;
    char *b = (char *)malloc(cap);
    int i;
    len += (size_t)snprintf(b + len, cap - len, "stage,step,loss,lr,grad_norm,tokens_per_s\n");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(b + len, cap - len, "%d,%d,%.9g,%.9g,%.9g,%.1f\n", r[i].stage, r[i].step, r[i].loss, r[i].lr, r[i].grad_norm,
                                r[i].tok_s);
    int rc = llava_write_text(path, b);
    free(b);
    return rc;
}

static int read_csv(const char *path, logrow **rows, int *n) {
    size_t len;
    char *t = llava_read_file(path, (size_t)1 << 28, &len), *p;
    *rows = NULL;
    *n = 0;
    if (!t) return 0;
    int cap = 0;
    for (p = strchr(t, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        logrow r;
        if (sscanf(p + 1, "%d,%d,%f,%f,%f,%f", &r.stage, &r.step, &r.loss, &r.lr, &r.grad_norm, &r.tok_s) != 6) continue;
        if (*n == cap) *rows = (logrow *)realloc(*rows, sizeof(logrow) * (size_t)(cap = cap ? cap * 2 : 256));
        (*rows)[(*n)++] = r;
    }
    free(t);
    return 0;
}

/* the loss of each stage against the step, as an SVG line chart (no dependency) */
static int write_svg(const char *path, const logrow *r, int n) {
    const double W = 640, H = 360, L = 56, R = 16, T = 24, B = 40;
    double lo = 1e30, hi = -1e30;
    int maxstep[3] = {1, 1, 1}, i, st;
    for (i = 0; i < n; i++) {
        if (r[i].loss < lo) lo = r[i].loss;
        if (r[i].loss > hi) hi = r[i].loss;
        if (r[i].step > maxstep[r[i].stage]) maxstep[r[i].stage] = r[i].step;
    }
    if (n == 0) lo = 0, hi = 1;
    if (hi - lo < 1e-6) hi = lo + 1;
    const double total = maxstep[1] + maxstep[2];
    size_t cap = 4096 + (size_t)n * 40, len = 0;
    char *b = (char *)malloc(cap);
    len += (size_t)snprintf(b + len, cap - len,
                            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
                            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                            "<text x=\"%.0f\" y=\"16\">training loss (stage 1 then stage 2)</text>\n"
                            "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n"
                            "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n",
                            W, H, L, L, H - B, W - R, H - B, L, T, L, H - B);
    for (i = 0; i <= 4; i++) {
        double v = lo + (hi - lo) * i / 4, y = H - B - (H - T - B) * i / 4;
        len += (size_t)snprintf(b + len, cap - len, "<text x=\"4\" y=\"%.1f\">%.3g</text>\n", y + 4, v);
    }
    len += (size_t)snprintf(b + len, cap - len, "<text x=\"%.0f\" y=\"%.0f\">step</text>\n", W / 2, H - 8);
    static const char *colors[3] = {"", "#1f77b4", "#d62728"};
    for (st = 1; st <= 2; st++) {
        int any = 0;
        for (i = 0; i < n; i++) any |= r[i].stage == st;
        if (!any) continue;
        len += (size_t)snprintf(b + len, cap - len, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", colors[st]);
        for (i = 0; i < n && len + 40 < cap; i++) {
            if (r[i].stage != st) continue;
            double xs = (st == 1 ? r[i].step : maxstep[1] + r[i].step) / total;
            double x = L + (W - L - R) * xs, y = H - B - (H - T - B) * (r[i].loss - lo) / (hi - lo);
            len += (size_t)snprintf(b + len, cap - len, "%.1f,%.1f ", x, y);
        }
        len += (size_t)snprintf(b + len, cap - len, "\"/>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">stage %d</text>\n",
                                W - R - 60, T + 16.0 * st, colors[st], st);
    }
    snprintf(b + len, cap - len, "</svg>\n");
    int rc = llava_write_text(path, b);
    free(b);
    return rc;
}

/* --- one stage --------------------------------------------------------------------------------------- */
static int run_stage(const opts *o, int stage, const char *from_model, logrow **log, int *nlog) {
    const int si = stage - 1;
    int i;
    char *sdir = join(o->out, stage == 1 ? "stage1" : "stage2"), *final = join(sdir, "final"), *latest = join(sdir, "latest");
    int rc = 0;
    mkdir(sdir, 0755);
    if (o->resume && is_dir(final)) {
        char *cfg = join(final, "config.json");
        int done = llava_file_exists(cfg);
        free(cfg);
        if (done) {
            printf("stage %d: already finished (%s)\n", stage, final);
            free(sdir), free(final), free(latest);
            return 0;
        }
    }
    /* where to start: the newest checkpoint when resuming, else the model given */
    char *start = NULL;
    if (o->resume) {
        size_t n;
        char *name = llava_read_file(latest, 4096, &n);
        if (name) {
            while (n && (name[n - 1] == '\n' || name[n - 1] == ' ')) name[--n] = 0;
            start = join(sdir, name);
            free(name);
        }
    }
    LlavaModel *m = llava_model_load(start ? start : from_model);
    LlavaTokenizer *tok = m ? llava_tokenizer_load(start ? start : from_model) : NULL;
    if (!m || !tok) {
        fprintf(stderr, "train_example: stage %d: %s\n", stage, llava_last_error());
        llava_model_free(m);
        free(sdir), free(final), free(latest), free(start);
        return 1;
    }
    if (o->bf16) llava_use_bf16(m, 1);
    const LlavaConfig *cfg = llava_model_config(m);
    const int tpl = llava_template_from_name(o->tpl_name[si]);
    char *dfile = o->data_file[si] ? strdup(o->data_file[si]) : join(o->data, stage == 1 ? "stage1.json" : "stage2.json");
    char *images = o->images ? strdup(o->images) : join(o->data, "images");
    if (!o->images && !is_dir(images)) free(images), images = strdup(o->data);
    dataset d;
    const int max_len = o->max_len > 0 ? o->max_len : cfg->text_max_pos;
    if (tpl < 0) {
        fprintf(stderr, "train_example: unknown template '%s'\n", o->tpl_name[si]);
        rc = 1;
    } else {
        /* one file, or several joined */
        char *list = strdup(dfile), *save = NULL, *f;
        memset(&d, 0, sizeof d);
        for (f = strtok_r(list, ",", &save); f && !rc; f = strtok_r(NULL, ",", &save)) {
            dataset part;
            if (load_data(&part, f, images, tok, (LlavaTemplate)tpl, m, max_len) != 0) {
                fprintf(stderr, "train_example: %s\n", llava_last_error());
                rc = 1;
                break;
            }
            d.s = (sample *)realloc(d.s, sizeof(sample) * (size_t)(d.n + part.n));
            memcpy(d.s + d.n, part.s, sizeof(sample) * (size_t)part.n);
            d.n += part.n;
            d.truncated += part.truncated;
            d.dropped += part.dropped;
            d.tokens += part.tokens;
            free(part.s);
        }
        free(list);
        if (rc) free_data(&d);
    }
    if (rc) {
        llava_tokenizer_free(tok);
        llava_model_free(m);
        free(sdir), free(final), free(latest), free(start), free(dfile), free(images);
        return rc;
    }
    const int B = o->batch;
    int total = o->steps[si] > 0 ? o->steps[si] : (int)ceil(o->epochs[si] * d.n / B);
    if (total < 1) total = 1;
    printf("stage %d: %d samples from %s (%ld tokens, %d truncated to %d, %d dropped), %d steps of %d, template %s, %s\n", stage, d.n,
           dfile, d.tokens, d.truncated, max_len, d.dropped, total, B, o->tpl_name[si], llava_backend_name(m));
    LlavaTrainOptions to;
    llava_train_defaults(&to, stage);
    to.lr = o->lr[si];
    to.weight_decay = o->wd;
    to.warmup_ratio = o->warmup;
    to.total_steps = total;
    to.max_grad_norm = o->clip;
    LlavaTrainer *t = llava_trainer_new(m, &to);
    if (!t) rc = 1;
    for (i = 0; t && !rc && i < o->n_groups; i++)
        if (llava_trainer_add_group(t, o->groups[i].prefix, o->groups[i].lr, o->groups[i].wd) != LLAVA_OK) rc = 1;
    if (!rc && start && llava_trainer_resume(t, start) != LLAVA_OK) rc = 1;
    if (rc) fprintf(stderr, "train_example: %s\n", llava_last_error());
    /* the loss curve so far: rows of earlier stages, and of this one up to where it resumes */
    int step = t && !rc ? llava_trainer_steps_done(t) : 0, k;
    {
        int w = 0;
        for (i = 0; i < *nlog; i++)
            if ((*log)[i].stage < stage || ((*log)[i].stage == stage && (*log)[i].step <= step)) (*log)[w++] = (*log)[i];
        *nlog = w;
    }
    if (start && !rc) printf("stage %d: resuming after step %d from %s\n", stage, step, start);
    const size_t npix = (size_t)3 * cfg->vision_image_size * cfg->vision_image_size;
    float *pixels = (float *)malloc(npix * sizeof(float) * (size_t)B);
    int *perm = (int *)malloc(sizeof(int) * (size_t)d.n);
    long perm_epoch = -1;
    LlavaSample *batch = (LlavaSample *)calloc((size_t)B, sizeof(LlavaSample));
    double t_start = now(), t_last = now();
    long tok_since = 0;
    int steps_since = 0;
    char *csv = join(o->out, "loss.csv"), *svg = join(o->out, "loss.svg");
    while (!rc && step < total) {
        /* the batch of this step: B samples in the data order, images decoded and preprocessed */
        for (k = 0; k < B && !rc; k++) {
            const sample *s = &d.s[order_at((long)step * B + k, d.n, o->seed + (uint64_t)stage * 1000003u, perm, &perm_epoch)];
            batch[k].ids = s->ids;
            batch[k].labels = s->labels;
            batch[k].n = s->n;
            batch[k].n_images = s->image ? 1 : 0;
            batch[k].pixels = s->image ? pixels + npix * (size_t)k : NULL;
            if (s->image) {
                LlavaImage img;
                if (llava_image_load(&img, s->image) != LLAVA_OK || llava_preprocess(cfg, &img, LLAVA_PRE_DEFAULT, pixels + npix * (size_t)k) != LLAVA_OK) {
                    fprintf(stderr, "train_example: sample %s: %s\n", s->id, llava_last_error());
                    rc = 1;
                }
                llava_image_free(&img);
            }
            tok_since += s->n;
        }
        LlavaStepStats st;
        if (!rc && llava_trainer_step(t, batch, B, &st) != LLAVA_OK) {
            /* e.g. a NaN loss: stop here, without writing a checkpoint of a poisoned model */
            fprintf(stderr, "train_example: stage %d: %s\n", stage, llava_last_error());
            rc = 1;
            break;
        }
        if (rc) break;
        step = st.step;
        steps_since++;
        double tnow = now(), tok_s = tok_since / (tnow - t_last);
        if (*nlog % 256 == 0) *log = (logrow *)realloc(*log, sizeof(logrow) * (size_t)(*nlog + 256));
        logrow lr = {stage, step, st.loss, st.lr, st.grad_norm, (float)tok_s};
        (*log)[(*nlog)++] = lr;
        if (step % o->log_every == 0 || step == total) {
            double eta = (tnow - t_start) / (step - (start ? llava_trainer_steps_done(t) - steps_since : 0)) * (total - step);
            printf("stage %d step %d/%d loss %.4f lr %.3g grad_norm %.3g | %.0f tok/s | ETA %dm%02ds\n", stage, step, total, st.loss, st.lr,
                   st.grad_norm, tok_s, (int)(eta / 60), (int)fmod(eta, 60));
            fflush(stdout);
            t_last = tnow;
            tok_since = 0;
        }
        const int stop = o->stop_after > 0 && step == o->stop_after && step < total;
        if ((step % o->save_every == 0 || stop) && step < total) {
            /* a new directory each time; `latest` changes only once it is complete */
            char name[64];
            snprintf(name, sizeof name, "checkpoint-%d", step);
            char *ck = join(sdir, name);
            if (llava_trainer_save(t, ck) != LLAVA_OK || llava_write_text(latest, name) != LLAVA_OK) {
                fprintf(stderr, "train_example: checkpoint: %s\n", llava_last_error());
                rc = 1;
            }
            write_csv(csv, *log, *nlog);
            write_svg(svg, *log, *nlog);
            free(ck);
        }
        if (stop && !rc) {
            printf("stage %d: stopped after step %d (continue with --resume)\n", stage, step);
            rc = 3;
        }
    }
    if (rc == 3) { /* stopped on request: the checkpoint is written, nothing else */
        free(csv), free(svg), free(pixels), free(perm), free(batch);
        free_data(&d);
        llava_tokenizer_free(tok);
        llava_trainer_free(t);
        llava_model_free(m);
        free(sdir), free(final), free(latest), free(start), free(dfile), free(images);
        return 3;
    }
    if (!rc && (llava_model_save(m, final, LLAVA_F32) != LLAVA_OK)) {
        fprintf(stderr, "train_example: %s\n", llava_last_error());
        rc = 1;
    }
    if (!rc) printf("stage %d: done, %s (%.1f s)\n", stage, final, now() - t_start);
    write_csv(csv, *log, *nlog);
    write_svg(svg, *log, *nlog);
    free(csv), free(svg);
    free(pixels), free(perm), free(batch);
    free_data(&d);
    llava_tokenizer_free(tok);
    llava_model_free(m);
    llava_trainer_free(t);
    free(sdir), free(final), free(latest), free(start), free(dfile), free(images);
    return rc;
}

int main(int argc, char **argv) {
    opts o;
    int i;
    memset(&o, 0, sizeof o);
    o.stages[0] = o.stages[1] = 1;
    o.epochs[0] = o.epochs[1] = 1.0f;
    o.lr[0] = 1e-3f;
    o.lr[1] = 2e-5f;
    o.batch = 8;
    o.save_every = 100;
    o.log_every = 10;
    o.warmup = 0.03f;
    o.clip = 1.0f;
    o.seed = 1;
    o.tpl_name[0] = "plain";
    o.tpl_name[1] = "vicuna_v1";
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && ++i)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (ARG("--model")) o.model = v;
        else if (ARG("--data")) o.data = v;
        else if (ARG("--out")) o.out = v;
        else if (ARG("--images")) o.images = v;
        else if (ARG("--stage1-data")) o.data_file[0] = v;
        else if (ARG("--stage2-data")) o.data_file[1] = v;
        else if (ARG("--stages")) o.stages[0] = strchr(v, '1') != NULL, o.stages[1] = strchr(v, '2') != NULL;
        else if (ARG("--steps1")) o.steps[0] = atoi(v);
        else if (ARG("--steps2")) o.steps[1] = atoi(v);
        else if (ARG("--epochs1")) o.epochs[0] = (float)atof(v);
        else if (ARG("--epochs2")) o.epochs[1] = (float)atof(v);
        else if (ARG("--lr1")) o.lr[0] = (float)atof(v);
        else if (ARG("--lr2")) o.lr[1] = (float)atof(v);
        else if (ARG("--batch")) o.batch = atoi(v);
        else if (ARG("--warmup")) o.warmup = (float)atof(v);
        else if (ARG("--wd")) o.wd = (float)atof(v);
        else if (ARG("--clip")) o.clip = (float)atof(v);
        else if (ARG("--max-len")) o.max_len = atoi(v);
        else if (ARG("--template1")) o.tpl_name[0] = v;
        else if (ARG("--template2")) o.tpl_name[1] = v;
        else if (ARG("--save-every")) o.save_every = atoi(v);
        else if (ARG("--log-every")) o.log_every = atoi(v);
        else if (ARG("--seed")) o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--resume")) o.resume = 1;
        else if (ARG("--precision")) {
            if (strcmp(v, "f32") && strcmp(v, "bf16") && strcmp(v, "auto")) {
                fprintf(stderr, "train_example: --precision takes f32, bf16 or auto, not '%s'\n", v);
                return 2;
            }
            o.bf16 = !strcmp(v, "bf16") || (!strcmp(v, "auto") && llava_bf16_native());
        }
        else if (ARG("--stop-after")) o.stop_after = atoi(v);
        else if (ARG("--group")) {
            char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c1 || !c2 || o.n_groups == 8) {
                fprintf(stderr, "train_example: --group PREFIX:LR:WD (at most 8)\n");
                return 2;
            }
            *c1 = 0;
            o.groups[o.n_groups].prefix = v;
            o.groups[o.n_groups].lr = (float)atof(c1 + 1);
            o.groups[o.n_groups].wd = (float)atof(c2 + 1);
            o.n_groups++;
        }
        else {
            fprintf(stderr, "train_example: unknown or incomplete argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
#undef ARG
    }
    if (!o.model || !o.data || !o.out || o.batch <= 0 || o.save_every <= 0 || o.log_every <= 0 || (!o.stages[0] && !o.stages[1])) {
        usage(stderr);
        return 2;
    }
    mkdir(o.out, 0755);
    logrow *log = NULL;
    int nlog = 0, rc = 0;
    char *csv = join(o.out, "loss.csv");
    if (o.resume) read_csv(csv, &log, &nlog);
    else nlog = 0;
    free(csv);
    if (o.stages[0]) rc = run_stage(&o, 1, o.model, &log, &nlog);
    if (!rc && o.stages[1]) {
        char *s1 = join(o.out, "stage1/final");
        rc = run_stage(&o, 2, o.stages[0] ? s1 : o.model, &log, &nlog);
        free(s1);
    }
    free(log);
    return rc == 3 ? 0 : rc;
}
