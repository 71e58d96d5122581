/* train_example: LLaVA's two-stage recipe from the command line.

     train_example --model DIR --data DIR --out DIR [options]
     train_example --vision-tower DIR --lm PATH --data DIR --out DIR [options]

   The second form starts as LLaVA's train.py does from --vision_tower and --model_name_or_path: the model
   is assembled (llava_model_assemble: the tower, the language model, a fresh projector, "<image>" added)
   and saved to OUT/assembled/ before stage 1.

   Stage 1 (feature alignment): only the projector learns, on image-caption pairs rendered with the
   `plain` template. Stage 2 (visual instruction tuning): projector and language model learn, the vision
   tower stays frozen, on instruction data rendered with `vicuna_v1`. Data is LLaVA's own JSON
   (tools/data.h reads it), DATA/stage1.json and DATA/stage2.json by default, image paths relative to
   DATA/images (or DATA).

   OUT/stage1/ and OUT/stage2/ get checkpoint-N/ directories (Hugging Face's layout plus the optimizer
   state; a `latest` file names the newest complete one) and final/; OUT/loss.csv and OUT/loss.svg the
   loss curves (tools/plot.h). --resume continues from the newest checkpoint with the same losses, bit
   for bit, as a run that was never stopped. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "llava.h"
#include "tools/common.h"
#include "tools/data.h"
#include "tools/plot.h"

#include <sys/stat.h>

static const char usage[] =
    "usage: train_example --model DIR --data DIR --out DIR [options]\n"
    "       train_example --vision-tower DIR --lm PATH --data DIR --out DIR [options]\n"
    "LLaVA's two-stage training: stage 1 trains the projector on captions, stage 2 the projector and the\n"
    "language model on instructions; data in LLaVA's JSON format.\n"
    "  --model DIR           the starting model (Hugging Face layout, with tokenizer.json); required unless\n"
    "                        --vision-tower and --lm are given\n"
    "  --vision-tower DIR    with --lm, in place of --model: a LLaVA assembled from this CLIP tower (a CLIP\n"
    "                        directory, or a LLaVA's such as stage 0's output), the language model --lm, a\n"
    "                        fresh projector and \"<image>\" added to its tokenizer, saved to OUT/assembled/\n"
    "  --lm PATH             the language model alone: a LlamaForCausalLM-family directory, or a GGUF file with a\n"
    "                        byte-level BPE tokenizer (SmolLM2, Qwen2, LLaMA-3)\n"
    "  --vision-layer N      the assembled model's vision_feature_layer (default -2, LLaVA's)\n"
    "  --data DIR            the folder of stage1.json, stage2.json and images/; required\n"
    "  --out DIR             where OUT/stage1/, OUT/stage2/ (checkpoints, final/), loss.csv and loss.svg go; required\n"
    "  --stages 1|2|1,2      the stages to run (default 1,2; stage 2 alone starts from --model)\n"
    "  --projector FILE      a stage-1 projector (LLaVA's mm_projector.bin, or .safetensors) over --model's\n"
    "                        projector before the first stage that runs, as LLaVA's --pretrain_mm_mlp_adapter\n"
    "                        (not when --resume continues from a checkpoint) (default: none)\n"
    "  --stage1-data FILES   stage 1's data: a file, or files joined by commas (default DATA/stage1.json)\n"
    "  --stage2-data FILES   stage 2's data (default DATA/stage2.json)\n"
    "  --images DIR          the folder image paths are relative to (default DATA/images, or DATA without it)\n"
    "  --template1 NAME      stage 1's conversation template: llava_hf, vicuna_v1, llava_v1 or plain (default plain)\n"
    "  --template2 NAME      stage 2's template (default vicuna_v1)\n"
    "  --steps1 N            stage 1's optimizer steps (default 0: from --epochs1)\n"
    "  --steps2 N            stage 2's optimizer steps (default 0: from --epochs2)\n"
    "  --epochs1 X           passes over stage 1's data, when --steps1 is 0 (default 1)\n"
    "  --epochs2 X           passes over stage 2's data, when --steps2 is 0 (default 1)\n"
    "  --lr1 X               stage 1's peak learning rate (default 1e-3, LLaVA-1.5's)\n"
    "  --lr2 X               stage 2's peak learning rate (default 2e-5, LLaVA-1.5's)\n"
    "  --batch N             samples per optimizer step (default 8)\n"
    "  --warmup X            linear warmup over this fraction of the steps, then cosine decay (default 0.03)\n"
    "  --wd X                weight decay (default 0)\n"
    "  --clip X              gradient-norm clipping (default 1; 0: off)\n"
    "  --max-len N           cut samples to N positions (default 0: the model's context)\n"
    "  --group PREFIX:LR:WD  also train the parameters whose key starts with PREFIX (e.g. vision_tower.) at peak\n"
    "                        learning rate LR and weight decay WD; up to 8 times (default: none)\n"
    "  --seed S              the data order (default 1)\n"
    "  --precision P         the matrix products' operands: f32, bf16 (as LLaVA trains; on AMX where the CPU has it,\n"
    "                        emulated elsewhere) or auto (bf16 where AMX is, else f32) (default f32)\n"
    "  --save-every N        a checkpoint every N steps (default 100)\n"
    "  --stop-after N        a checkpoint and stop after step N of a stage, to continue with --resume (default 0: never)\n"
    "  --resume              continue from the newest checkpoints in OUT (a finished stage is skipped)\n"
    "  --log-every N         a progress line every N steps when the output is not a terminal (default 10)\n"
    "  --quiet               no progress lines\n"
    "  --plot-only           only draw OUT/loss.svg again from OUT/loss.csv (needs only --out)\n"
    "  --help, --version     this text; the version\n";

typedef struct {
    const char *model, *data, *out, *images, *data_file[2], *projector, *vision_tower, *lm;
    int vision_layer;
    int stages, tpl[2];     /* stages: 0 "1", 1 "2", 2 "1,2"; tpl: LlavaTemplate per stage */
    int steps[2];           /* optimizer steps per stage (0: from epochs) */
    float epochs[2], lr[2];
    int batch, max_len, save_every, log_every, resume, stop_after, bf16, quiet, plot_only;
    struct {
        const char *prefix;
        float lr, wd;
    } groups[8];
    int n_groups;
    float warmup, wd, clip;
    uint64_t seed;
} Options;

static char *path2(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *r = (char *)cli_xmalloc(n);
    snprintf(r, n, "%s/%s", dir, name);
    return r;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* the loss of every step of the run, OUT/loss.csv and OUT/loss.svg */
typedef struct {
    LossRow *rows;
    int n, cap;
    char *csv, *svg;
} LossLog;

static void log_save(const LossLog *l) {
    if (loss_csv_write(l->csv, l->rows, l->n) != 0 || loss_svg_write(l->svg, l->rows, l->n) != 0) cli_note("%s", llava_last_error());
}

/* one stage, from the model in `from` or from its newest checkpoint; 0 done, 3 stopped by --stop-after */
static int run_stage(const Options *o, int stage, const char *from, LossLog *log) {
    const int si = stage - 1;
    char *sdir = path2(o->out, stage == 1 ? "stage1" : "stage2"), *final = path2(sdir, "final"), *latest = path2(sdir, "latest");
    char *start = NULL, *done = path2(final, "config.json");
    int i, rc = 0;
    mkdir(sdir, 0755);
    if (o->resume && llava_file_exists(done)) {
        printf("stage %d: already finished (%s)\n", stage, final);
        free(sdir), free(final), free(latest), free(done);
        return 0;
    }
    size_t len;
    char *name = o->resume ? llava_read_file(latest, 4096, &len) : NULL;
    if (name) { /* where to start when resuming: the checkpoint `latest` names */
        while (len && (name[len - 1] == '\n' || name[len - 1] == ' ')) name[--len] = 0;
        start = path2(sdir, name);
        llava_free_string(name);
    }
    LlavaModel *m = llava_model_load(start ? start : from);
    LlavaTokenizer *tok = m ? llava_tokenizer_load(start ? start : from) : NULL;
    if (!tok) cli_die("stage %d: %s", stage, llava_last_error());
    if (o->projector && !start && stage == (o->stages == 1 ? 2 : 1)) {
        if (llava_model_load_projector(m, o->projector) != LLAVA_OK) cli_die("--projector: %s", llava_last_error());
        printf("stage %d: projector from %s\n", stage, o->projector);
    }
    if (o->bf16) llava_use_bf16(m, 1);
    const LlavaConfig *cfg = llava_model_config(m);

    /* the data, checked and tokenized before the first step */
    char *files = o->data_file[si] ? cli_xstrdup(o->data_file[si]) : path2(o->data, stage == 1 ? "stage1.json" : "stage2.json");
    char *images = o->images ? cli_xstrdup(o->images) : path2(o->data, "images");
    if (!o->images && !is_dir(images)) free(images), images = cli_xstrdup(o->data);
    int max_len = o->max_len > 0 ? o->max_len : cfg->text_max_pos;
    if (max_len > cfg->text_max_pos) {
        cli_note("--max-len %d is more than the model's %d positions: %d", max_len, cfg->text_max_pos, cfg->text_max_pos);
        max_len = cfg->text_max_pos;
    }
    DataSet d;
    if (data_load(&d, files, images, m, tok, (LlavaTemplate)o->tpl[si], max_len) != 0) cli_die("%s", d.error);
    const int B = o->batch;
    int total = o->steps[si] > 0 ? o->steps[si] : (int)ceil(o->epochs[si] * d.n / B);
    if (total < 1) total = 1;
    printf("stage %d: %d samples from %s (%ld tokens, %d truncated to %d, %d dropped), %d steps of %d, template %s, %s\n", stage, d.n,
           files, d.tokens, d.truncated, max_len, d.dropped, total, B, llava_template_name((LlavaTemplate)o->tpl[si]), llava_backend_name(m));

    /* the trainer: the stage's parameter group, any other groups asked for, the checkpoint's state */
    LlavaTrainOptions to;
    llava_train_defaults(&to, stage);
    to.lr = o->lr[si];
    to.weight_decay = o->wd;
    to.warmup_ratio = o->warmup;
    to.total_steps = total;
    to.max_grad_norm = o->clip;
    LlavaTrainer *t = llava_trainer_new(m, &to);
    int ok = t != NULL;
    for (i = 0; ok && i < o->n_groups; i++)
        ok = llava_trainer_add_group(t, o->groups[i].prefix, o->groups[i].lr, o->groups[i].wd) == LLAVA_OK;
    if (ok && start) ok = llava_trainer_resume(t, start) == LLAVA_OK;
    if (!ok) cli_die("stage %d: %s", stage, llava_last_error());
    int step = llava_trainer_steps_done(t), w = 0;
    for (i = 0; i < log->n; i++) /* the loss log: earlier stages, and this one up to where it resumes */
        if (log->rows[i].stage < stage || (log->rows[i].stage == stage && log->rows[i].step <= step)) log->rows[w++] = log->rows[i];
    log->n = w;
    if (start) printf("stage %d: resuming after step %d from %s\n", stage, step, start);

    const size_t npix = (size_t)3 * (size_t)cfg->vision_image_size * (size_t)cfg->vision_image_size;
    float *pixels = (float *)cli_xmalloc(sizeof(float) * npix * (size_t)B);
    LlavaSample *batch = (LlavaSample *)cli_xcalloc((size_t)B, sizeof(LlavaSample));
    const uint64_t seed = o->seed + (uint64_t)stage * 1000003u; /* each stage its own data order */
    char what[32], info[128];
    snprintf(what, sizeof what, "stage %d step", stage);
    CliProgress p;
    cli_progress_begin(&p, what, total, o->quiet);
    p.every = o->log_every;
    p.first = step;
    const double t0 = cli_now();
    while (step < total) {
        const double ts = cli_now();
        const long tokens = data_batch(&d, step, B, seed, cfg, pixels, batch);
        LlavaStepStats st;
        if (tokens < 0) cli_die("%s", d.error);
        if (llava_trainer_step(t, batch, B, &st) != LLAVA_OK) {
            /* e.g. a NaN loss: stop here, without writing a checkpoint of a poisoned model */
            cli_progress_end(&p);
            log_save(log);
            cli_die("stage %d: %s", stage, llava_last_error());
        }
        step = st.step;
        if (log->n == log->cap) log->rows = (LossRow *)cli_xrealloc(log->rows, sizeof(LossRow) * (size_t)(log->cap = 2 * log->cap + 256));
        LossRow row = {stage, step, st.loss, st.lr, st.grad_norm, (float)((double)tokens / (cli_now() - ts))};
        log->rows[log->n++] = row;
        snprintf(info, sizeof info, "loss %.4f, lr %.3g, grad norm %.3g, %.0f tok/s", st.loss, st.lr, st.grad_norm, row.tok_s);
        cli_progress(&p, step, info);
        const int stop = o->stop_after > 0 && step == o->stop_after && step < total;
        if ((step % o->save_every == 0 || stop) && step < total) {
            /* a new directory each time; `latest` changes only once it is complete */
            char ck_name[64];
            snprintf(ck_name, sizeof ck_name, "checkpoint-%d", step);
            char *ck = path2(sdir, ck_name);
            if (llava_trainer_save(t, ck) != LLAVA_OK || llava_write_text(latest, ck_name) != LLAVA_OK)
                cli_die("checkpoint: %s", llava_last_error());
            free(ck);
            log_save(log);
        }
        if (stop) {
            cli_progress_end(&p);
            printf("stage %d: stopped after step %d (continue with --resume)\n", stage, step);
            rc = 3;
            break;
        }
    }
    cli_progress_end(&p);
    if (rc == 0) {
        if (llava_model_save(m, final, LLAVA_F32) != LLAVA_OK) cli_die("%s", llava_last_error());
        printf("stage %d: done, %s (%.1f s)\n", stage, final, cli_now() - t0);
        log_save(log);
    }
    free(pixels), free(batch), free(files), free(images);
    data_free(&d);
    llava_trainer_free(t);
    llava_tokenizer_free(tok);
    llava_model_free(m);
    free(sdir), free(final), free(latest), free(done), free(start);
    return rc;
}

int main(int argc, char **argv) {
    Options o = {0};
    static const char *stages[] = {"1", "2", "1,2", NULL}, *precisions[] = {"f32", "bf16", "auto", NULL};
    const char *tpl_name[2] = {"plain", "vicuna_v1"};
    int i, precision = 0;
    o.stages = 2;
    o.epochs[0] = o.epochs[1] = 1.0f;
    o.lr[0] = 1e-3f, o.lr[1] = 2e-5f;
    o.batch = 8, o.save_every = 100, o.log_every = 10;
    o.warmup = 0.03f, o.clip = 1.0f, o.seed = 1, o.vision_layer = -2;
    CliArgs a = cli_begin(argc, argv, "train_example", usage);
    while (cli_next(&a)) {
        if (cli_str(&a, "--model", &o.model) || cli_str(&a, "--data", &o.data) || cli_str(&a, "--out", &o.out) ||
            cli_choice(&a, "--stages", &o.stages, stages) || cli_str(&a, "--images", &o.images) || cli_str(&a, "--projector", &o.projector) ||
            cli_str(&a, "--stage1-data", &o.data_file[0]) || cli_str(&a, "--stage2-data", &o.data_file[1]) ||
            cli_str(&a, "--template1", &tpl_name[0]) || cli_str(&a, "--template2", &tpl_name[1]) ||
            cli_int(&a, "--steps1", &o.steps[0], 0, INT_MAX) || cli_int(&a, "--steps2", &o.steps[1], 0, INT_MAX) ||
            cli_float(&a, "--epochs1", &o.epochs[0], 0, 1e6) || cli_float(&a, "--epochs2", &o.epochs[1], 0, 1e6) ||
            cli_float(&a, "--lr1", &o.lr[0], 0, 100) || cli_float(&a, "--lr2", &o.lr[1], 0, 100) ||
            cli_int(&a, "--batch", &o.batch, 1, 1 << 20) || cli_float(&a, "--warmup", &o.warmup, 0, 1) ||
            cli_float(&a, "--wd", &o.wd, 0, 100) || cli_float(&a, "--clip", &o.clip, 0, 1e30) ||
            cli_int(&a, "--max-len", &o.max_len, 0, INT_MAX) || cli_u64(&a, "--seed", &o.seed) ||
            cli_choice(&a, "--precision", &precision, precisions) || cli_int(&a, "--save-every", &o.save_every, 1, INT_MAX) ||
            cli_int(&a, "--stop-after", &o.stop_after, 0, INT_MAX) || cli_flag(&a, "--resume", &o.resume) ||
            cli_int(&a, "--log-every", &o.log_every, 1, INT_MAX) || cli_flag(&a, "--quiet", &o.quiet) ||
            cli_flag(&a, "--plot-only", &o.plot_only) || cli_str(&a, "--vision-tower", &o.vision_tower) || cli_str(&a, "--lm", &o.lm) ||
            cli_int(&a, "--vision-layer", &o.vision_layer, -1000, 1000))
            continue;
        if (cli_is(&a, "--group")) { /* PREFIX:LR:WD */
            char *v = (char *)cli_value(&a), *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c1 || !c2 || o.n_groups == 8) cli_usage_error("--group takes PREFIX:LR:WD, at most 8 times");
            *c1 = *c2 = 0;
            o.groups[o.n_groups].prefix = v;
            o.groups[o.n_groups].lr = (float)cli_parse_double("--group: LR", c1 + 1, 0, 100);
            o.groups[o.n_groups++].wd = (float)cli_parse_double("--group: WD", c2 + 1, 0, 100);
            continue;
        }
        cli_unknown(&a);
    }
    for (i = 0; i < 2; i++) /* LLaVA's names, and its alias v1 for vicuna_v1 */
        if ((o.tpl[i] = llava_template_from_name(tpl_name[i])) < 0)
            cli_usage_error("--template%d: '%s' is not one of llava_hf|vicuna_v1|llava_v1|plain", i + 1, tpl_name[i]);
    cli_require(o.out, "--out");
    if ((o.vision_tower || o.lm) && (!o.vision_tower || !o.lm || o.model))
        cli_usage_error("--vision-tower and --lm go together, in place of --model");
    if (!o.plot_only && !o.vision_tower) cli_require(o.model, "--model");
    if (!o.plot_only) cli_require(o.data, "--data");
    o.bf16 = precision == 1 || (precision == 2 && llava_bf16_native());
    setvbuf(stdout, NULL, _IOLBF, 0); /* the stage lines in order with the progress lines on stderr */
    if (!o.plot_only) mkdir(o.out, 0755);
    LossLog log = {NULL, 0, 0, path2(o.out, "loss.csv"), path2(o.out, "loss.svg")};
    int rc = 0;
    if ((o.resume || o.plot_only) && loss_csv_read(log.csv, &log.rows, &log.n) != 0) cli_die("%s: %s", log.csv, llava_last_error());
    log.cap = log.n;
    if (o.plot_only) {
        if (log.n == 0) cli_die("%s: no loss rows to plot", log.csv);
        if (loss_svg_write(log.svg, log.rows, log.n) != 0) cli_die("%s", llava_last_error());
        printf("%s: %d steps\n", log.svg, log.n);
    }
    char *assembled = NULL;
    if (!o.plot_only && o.vision_tower) { /* LLaVA's train.py: --vision_tower + --model_name_or_path */
        char *done = path2(assembled = path2(o.out, "assembled"), "config.json");
        if (!(o.resume && llava_file_exists(done))) {
            LlavaModel *m = llava_model_assemble(o.vision_tower, o.lm, o.vision_layer, 0, o.seed);
            if (!m) cli_die("assembling from --vision-tower %s and --lm %s: %s", o.vision_tower, o.lm, llava_last_error());
            if (llava_model_save(m, assembled, LLAVA_F32) != LLAVA_OK) cli_die("saving the assembled model: %s", llava_last_error());
            printf("assembled %s: the tower of %s, the language model %s, a fresh projector, \"<image>\" = %d\n", assembled, o.vision_tower,
                   o.lm, llava_model_config(m)->image_token_id);
            llava_model_free(m);
        }
        free(done);
        o.model = assembled;
    }
    if (!o.plot_only && o.stages != 1) rc = run_stage(&o, 1, o.model, &log);
    if (!o.plot_only && rc == 0 && o.stages != 0) {
        char *s1 = path2(o.out, "stage1/final");
        rc = run_stage(&o, 2, o.stages == 2 ? s1 : o.model, &log);
        free(s1);
    }
    free(log.rows), free(log.csv), free(log.svg), free(assembled);
    return rc == 3 ? 0 : rc;
}
