/* stage0: what the LLaVA paper takes as given, pretrained here from nothing: a CLIP vision tower and a
   language model of a mini shape (a 4-layer ViT on 64-pixel images, a 6-layer LLaMA of width 256), on the
   synthetic world's images and text. Public API only: the tower trains through llava.h's "training a
   vision tower" functions, the CLIP text transformer on its layers.

     stage0 init --tokenizer DIR --out DIR [--seed S] [--feature-layer -1]
     stage0 clip --model DIR --world DIR --out DIR [--steps N] [--batch B] [--lr X] [--seed S] [--log-every N]
                 [--negatives 0|1] [--shape-text X] [--pool cls|mean] [--regions W] [--precision P] [--quiet]
     stage0 lm   --model DIR --world DIR --out DIR [--steps N] [--batch B] [--lr X] [--seed S] [--log-every N]
                 [--max-len 256] [--instruct FILE] [--repeats N] [--precision P] [--quiet]

   init   a LLaVA of the mini shape with fresh weights (llava_model_new), vocabulary and special tokens
          from the tokenizer, vision_feature_layer -1 so that every vision layer exists and trains;
          LLaVA's stages later load the same files with -2.
   clip   contrastive image-caption pretraining of the vision tower, as in CLIP (Radford et al. 2021):
          image embedding = visual_projection(post_layernorm(CLS after the last layer)), text embedding =
          text_projection(ln_final(EOS state)) of a small causal text transformer, both L2-normalized,
          logits = exp(t) img @ txt^T, loss = symmetric cross-entropy over the batch. Only the tower goes
          into the LLaVA checkpoint (with the trained post_layernorm, so that transformers' CLIPVisionModel
          finds every weight); the text transformer and the projections are scaffolding and are dropped.
          Three additions make the mini tower learn what LLaVA's questions ask (docs/reproduction.md, "Shapes
          in the vision tower"): --shape-text, a colour-free text view of the scene, so that matching needs shapes;
          --pool mean, the image embedding from the mean of the patch rows; --regions, a region loss in
          the manner of CLIP's zero-shot classifier, each object's patch rows (pooled) against the 77
          "a <colour> <shape>" phrases, so that the patches LLaVA's projector reads describe their object.
   lm     next-token pretraining of the language model on the world's captions (and, with --instruct,
          LLaVA-format conversations) as plain text: <s> text </s>, no image; --repeats adds texts written
          twice, from which the model learns to copy from its context (induction heads).

   Every subcommand saves OUT in Hugging Face's layout (F32) with the tokenizer files, then loads it
   back as a check. The last min(200, n/5) images of the world are held out of both clip and lm and
   used for the final retrieval accuracy and validation loss. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../../llava.h"
#include "../common.h"
#include "world.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* --- defaults: the whole of stage 0 (clip + lm) in about 10-15 minutes on 2 CPU cores ------------- */
#define CLIP_STEPS 800
#define CLIP_BATCH 64
#define CLIP_LR 5e-4f
#define SHAPE_TEXT 0.0f
#define MEAN_POOL 0
#define REGIONS 0.0f
#define LM_STEPS 400
#define LM_BATCH 32
#define LM_LR 2e-3f
/* images through the tower together in CLIP training (rows of one product: 8 x 65 for the mini tower) */
#define VCHUNK 8
#define WARMUP 0.05f
#define WD 0.1f

/* the CLIP text transformer and the shared embedding space (pre-LN GPT-2/CLIP-text blocks) */
#define TX_W 128    /* width */
#define TX_L 3      /* layers */
#define TX_H 4      /* heads */
#define TX_I 512    /* MLP width */
#define TX_CTX 64   /* positions: longer captions are cut, keeping the EOS */
#define EMB 128     /* joint embedding width */

/* "dir/name", or, when path names a .json file, the file `name` beside it */
static char *beside(const char *path, const char *name) {
    size_t l = strlen(path);
    char *r = (char *)cli_xcalloc(l + strlen(name) + 3, 1);
    if (l > 5 && !strcmp(path + l - 5, ".json")) {
        while (l > 0 && path[l - 1] != '/') l--;
        if (l == 0) sprintf(r, "%s", name);
        else sprintf(r, "%.*s%s", (int)l, path, name);
    } else {
        sprintf(r, "%s/%s", path, name);
    }
    return r;
}

/* tokenizer.json (required) and tokenizer_config.json (when present) from src into dir */
static int copy_tokenizer(const char *src, const char *dir) {
    static const char *const files[2] = {"tokenizer.json", "tokenizer_config.json"};
    int i, rc = LLAVA_OK;
    for (i = 0; i < 2 && rc == LLAVA_OK; i++) {
        char *from = beside(src, files[i]), *to = beside(dir, files[i]);
        if (i == 0 || llava_file_exists(from)) rc = llava_copy_file(from, to);
        free(from);
        free(to);
    }
    return rc;
}

/* --- options -------------------------------------------------------------------------------------- */
typedef struct {
    const char *cmd, *tokenizer, *model, *world, *out, *instruct;
    int steps, batch, log_every, max_len, feature_layer, negatives, mean_pool, repeats, bf16, quiet;
    float lr, wd, warmup, shape_text, regions;
    uint64_t seed;
} opts;

static char usage_text[6144];

static const char *usage(void) {
    snprintf(usage_text, sizeof usage_text,
             "usage:\n"
             "  stage0 init --tokenizer DIR --out DIR [--seed S] [--feature-layer K]\n"
             "  stage0 clip --model DIR --world DIR --out DIR [--steps N] [--batch B] [--lr X] [--wd X] [--warmup X] [--seed S]\n"
             "              [--log-every N] [--negatives 0|1] [--shape-text X] [--pool cls|mean] [--regions W] [--precision P]\n"
             "              [--quiet]\n"
             "  stage0 lm   --model DIR --world DIR --out DIR [--steps N] [--batch B] [--lr X] [--wd X] [--warmup X] [--seed S]\n"
             "              [--log-every N] [--max-len N] [--instruct FILE] [--repeats N] [--precision P] [--quiet]\n"
             "Stage 0 pretrains what LLaVA starts from, at a mini shape (a 4-layer ViT on 64-pixel images, a 6-layer\n"
             "LLaMA of width 256):\n"
             "  init   fresh LLaVA weights; vocabulary, <image>, <s> and </s> from the tokenizer (build/tokenize --train\n"
             "         ... --special \"<image>\"); vision_feature_layer -1 so that every vision layer trains\n"
             "  clip   CLIP-style contrastive pretraining of the vision tower on world.json's captions\n"
             "  lm     next-token pretraining of the language model on the captions (+ --instruct conversations,\n"
             "         LLaVA JSON) as plain text\n"
             "options:\n"
             "  --tokenizer DIR    init: tokenizer.json (+ tokenizer_config.json); copied into OUT (required)\n"
             "  --model DIR        clip, lm: the model to continue from, init's or clip's OUT (required)\n"
             "  --world DIR        clip, lm: build/world's directory, world.json and images/ (required)\n"
             "  --out DIR          where the model is saved: Hugging Face layout, F32, tokenizer files (required)\n"
             "  --steps N          clip, lm: optimizer steps, warmup then cosine to 0 (default clip %d, lm %d)\n"
             "  --batch B          clip: distinct images per step; lm: text samples per step (default clip %d, lm %d)\n"
             "  --lr X             clip, lm: peak learning rate (default clip %g, lm %g)\n"
             "  --wd X             clip, lm: AdamW weight decay on matrices and embeddings (default %g)\n"
             "  --warmup X         clip, lm: warmup ratio of the steps (default %g)\n"
             "  --seed S           initialization (init), data order (clip, lm) (default 1)\n"
             "  --log-every N      clip, lm: a log line with the mean loss every N steps (default 10)\n"
             "  --precision P      clip, lm: the matrix products' operands in f32, or bf16 as LLaVA trains\n"
             "                     (llava_use_bf16: on AMX where the CPU has it, emulated elsewhere); auto: bf16 where\n"
             "                     AMX is, else f32 (default f32)\n"
             "  --quiet            clip, lm: no progress line (rate and time left) on stderr\n"
             "  --max-len N        lm: samples longer than N tokens are cut (default 256)\n"
             "  --instruct FILE    lm: also train on these conversations' text (default none)\n"
             "  --repeats N        lm: also train on N texts of random words from the training texts, written twice, so\n"
             "                     that the model learns to copy from its context (induction heads) (default 0)\n"
             "  --negatives 0|1    clip: 1 adds a hard negative per caption (one shape or color word swapped) to the\n"
             "                     image -> text softmax (default 0)\n"
             "  --shape-text X     clip: the fraction of texts that are the colour-free view of the scene, its objects'\n"
             "                     sizes and shapes only (\"A large circle, a small ring and a medium cross.\"), where\n"
             "                     the rest are world.json's captions (default %g)\n"
             "  --pool cls|mean    clip: the image embedding reads the last layer's CLS row (CLIP's) or the mean of\n"
             "                     its patch rows (default %s)\n"
             "  --regions W        clip: adds W x a region loss: each object's patch rows (those whose centre lies in\n"
             "                     its box), averaged, against the 77 phrases \"a red circle\" ... (default %g)\n"
             "  --feature-layer K  init: vision_feature_layer written to config.json (default -1)\n"
             "  --help, --version\n",
             CLIP_STEPS, LM_STEPS, CLIP_BATCH, LM_BATCH, (double)CLIP_LR, (double)LM_LR, (double)WD, (double)WARMUP, (double)SHAPE_TEXT,
             MEAN_POOL ? "mean" : "cls", (double)REGIONS);
    return usage_text;
}

static void parse(opts *o, int argc, char **argv) {
    /* which options each subcommand takes */
    static const char *const cmds[3] = {"init", "clip", "lm"};
    static const char *const allowed[3] = {
        " --tokenizer --out --seed --feature-layer ",
        " --model --world --out --steps --batch --lr --wd --warmup --seed --log-every --negatives --shape-text --pool --regions "
        "--precision --quiet ",
        " --model --world --out --steps --batch --lr --wd --warmup --seed --log-every --max-len --instruct --repeats --precision --quiet "};
    static const char *const pools[] = {"cls", "mean", NULL}, *const precs[] = {"f32", "bf16", "auto", NULL};
    const char *seen[64];
    size_t seen_len[64];
    int nseen = 0, k = -1, i, steps = -1, batch = -1, pool = MEAN_POOL, prec = 0;
    long long seed = 1;
    float lr = -1.0f;
    memset(o, 0, sizeof *o);
    o->wd = WD;
    o->warmup = WARMUP;
    o->log_every = 10;
    o->max_len = 256;
    o->feature_layer = -1;
    o->shape_text = SHAPE_TEXT;
    o->regions = REGIONS;
    CliArgs a = cli_begin(argc, argv, "stage0", usage());
    while (cli_next(&a)) {
        const char *arg = a.argv[a.i];
        const size_t nl = a.name_len;
        if (cli_str(&a, "--tokenizer", &o->tokenizer) || cli_str(&a, "--model", &o->model) || cli_str(&a, "--world", &o->world) ||
            cli_str(&a, "--out", &o->out) || cli_str(&a, "--instruct", &o->instruct) || cli_int(&a, "--steps", &steps, 1, 100000000) ||
            cli_int(&a, "--batch", &batch, 2, 4096) || cli_int(&a, "--log-every", &o->log_every, 1, 100000000) ||
            cli_int(&a, "--max-len", &o->max_len, 2, 1 << 20) || cli_int(&a, "--repeats", &o->repeats, 0, 10000000) ||
            cli_int(&a, "--negatives", &o->negatives, 0, 1) || cli_int(&a, "--feature-layer", &o->feature_layer, -1000, 1000) ||
            cli_long(&a, "--seed", &seed, 0, 2147483647) || cli_float(&a, "--lr", &lr, 0.0, 1.0) || cli_float(&a, "--wd", &o->wd, 0.0, 10.0) ||
            cli_float(&a, "--warmup", &o->warmup, 0.0, 1.0) || cli_float(&a, "--regions", &o->regions, 0.0, 100.0) ||
            cli_float(&a, "--shape-text", &o->shape_text, 0.0, 1.0) || cli_choice(&a, "--pool", &pool, pools) ||
            cli_choice(&a, "--precision", &prec, precs) || cli_flag(&a, "--quiet", &o->quiet)) {
            if (nseen < 64) seen[nseen] = arg, seen_len[nseen++] = nl;
            continue;
        }
        const char *word = cli_positional(&a);
        if (!word || k >= 0) cli_unknown(&a);
        for (i = 0; i < 3; i++)
            if (!strcmp(word, cmds[i])) k = i;
        if (k < 0) cli_usage_error("unknown subcommand '%s' (init, clip or lm)", word);
    }
    if (k < 0) cli_usage_error("a subcommand is needed: init, clip or lm");
    o->cmd = cmds[k];
    for (i = 0; i < nseen; i++) {
        char key[72];
        snprintf(key, sizeof key, " %.*s ", (int)MIN(seen_len[i], 64), seen[i]);
        if (!strstr(allowed[k], key)) cli_usage_error("%s does not take %.*s", o->cmd, (int)seen_len[i], seen[i]);
    }
    o->steps = steps > 0 ? steps : k == 1 ? CLIP_STEPS : LM_STEPS;
    o->batch = batch > 0 ? batch : k == 1 ? CLIP_BATCH : LM_BATCH;
    o->lr = lr >= 0.0f ? lr : k == 1 ? CLIP_LR : LM_LR;
    o->seed = (uint64_t)seed;
    o->mean_pool = pool == 1;
    o->bf16 = prec == 1 || (prec == 2 && llava_bf16_native());
    if (k == 0) {
        cli_require(o->tokenizer, "--tokenizer");
    } else {
        cli_require(o->model, "--model");
        cli_require(o->world, "--world");
    }
    cli_require(o->out, "--out");
}

/* --- shared: the world, held-out split, tokenizer, saving ---------------------------------------- */
typedef struct {
    WScene *sc;
    int n, n_train; /* images [0, n_train) train, [n_train, n) are held out */
    char *dir;      /* image paths are relative to it */
} world;

/* the last min(200, n/5) images are held out of every stage-0 run: the same split for clip and lm */
static int held_out(int n) { return n >= 1000 ? 200 : n / 5; }

static void load_world(const char *path, world *w) {
    char err[512] = "";
    uint64_t seed = 0;
    int size = 0, i, k;
    memset(w, 0, sizeof *w);
    w->n = w_load_world(path, &w->sc, &size, &seed, err, sizeof err);
    if (w->n < 0) cli_die("world %s: %s", path, err);
    if (w->n == 0) cli_die("world %s: world.json lists no images", path);
    w->n_train = w->n - held_out(w->n);
    w->dir = beside(path, "");
    for (i = 0; i < w->n; i++) {
        int have = 0;
        for (k = 0; k < 5; k++) have += w->sc[i].cap[k] != NULL;
        if (!have) cli_die("world %s: image %s has no captions", path, w->sc[i].id);
    }
}

static void free_world(world *w) {
    int i;
    for (i = 0; i < w->n; i++) w_scene_free(&w->sc[i]);
    free(w->sc);
    free(w->dir);
}

/* scene i's image, preprocessed as the model says, into pixels [3][S][S] */
static void load_pixels(const LlavaModel *m, const world *w, int i, float *pixels) {
    LlavaImage img;
    size_t l = strlen(w->dir) + strlen(w->sc[i].file) + 1;
    char *path = (char *)cli_xcalloc(l, 1);
    snprintf(path, l, "%s%s", w->dir, w->sc[i].file);
    if (!w->sc[i].file[0]) cli_die("world: image %s names no file", w->sc[i].id);
    if (llava_image_load(&img, path) != LLAVA_OK) cli_die("%s", llava_last_error());
    if (llava_preprocess(llava_model_config(m), &img, LLAVA_PRE_DEFAULT, pixels) != LLAVA_OK) cli_die("%s: %s", path, llava_last_error());
    llava_image_free(&img);
    free(path);
}

static LlavaTokenizer *model_tokenizer(const char *dir) {
    LlavaTokenizer *tok = llava_tokenizer_load(dir);
    if (!tok) cli_die("%s (the model directory needs the tokenizer files: stage0 init copies them there)", llava_last_error());
    if (llava_tokenizer_eos(tok) < 0) cli_die("%s: the tokenizer has no EOS token (eos_token in tokenizer_config.json)", dir);
    return tok;
}

/* text -> ids[max] without special tokens; -1 with the error set */
static int tokenize(const LlavaTokenizer *tok, const char *text, int *ids, int max) {
    return llava_tokenize(tok, text, strlen(text), 0, ids, max);
}

static void shuffle(int *a, int n, uint64_t *rng) {
    int i;
    for (i = n - 1; i > 0; i--) {
        int j = (int)(llava_rng_next(rng) % (uint64_t)(i + 1)), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* a permutation of [0, n) consumed b at a time; a new shuffle when fewer than b remain (so a batch
   never holds the same item twice) */
typedef struct {
    int *perm, n, pos;
    uint64_t rng;
} sampler;
static void sampler_init(sampler *s, int n, uint64_t seed) {
    int i;
    s->perm = (int *)cli_xcalloc((size_t)n, sizeof(int));
    s->n = n;
    s->pos = n;
    s->rng = seed * 0x9E3779B97F4A7C15ull + 12345;
    for (i = 0; i < n; i++) s->perm[i] = i;
}
static const int *sampler_next(sampler *s, int b) {
    if (s->pos + b > s->n) {
        shuffle(s->perm, s->n, &s->rng);
        s->pos = 0;
    }
    s->pos += b;
    return s->perm + s->pos - b;
}

/* saves (with tensors the model does not run, extra[n_extra]), copies the tokenizer files, and loads the
   result back, so that a broken file fails here */
static void save_and_check(LlavaModel *m, const LlavaTensor *extra, int n_extra, const char *tokdir, const char *out) {
    if (llava_model_save_with(m, out, LLAVA_F32, extra, n_extra) != LLAVA_OK) cli_die("saving %s: %s", out, llava_last_error());
    if (copy_tokenizer(tokdir, out) != LLAVA_OK) cli_die("copying the tokenizer files into %s: %s", out, llava_last_error());
    LlavaModel *back = llava_model_load(out);
    if (!back) cli_die("the saved model does not load: %s", llava_last_error());
    llava_model_free(back);
    printf("saved %s (F32, with the tokenizer files)\n", out);
}

/* ================================================================================================ */
/* init                                                                                             */
/* ================================================================================================ */
static int cmd_init(const opts *o) {
    LlavaTokenizer *tok = llava_tokenizer_load(o->tokenizer);
    if (!tok) cli_die("%s", llava_last_error());
    const int image_id = llava_token_id(tok, "<image>");
    if (image_id < 0)
        cli_die("the tokenizer in %s has no \"<image>\" token, which LLaVA's prompts need (train it with build/tokenize --train "
                "CORPUS --vocab N --special \"<image>\" --out DIR)", o->tokenizer);
    LlavaConfig c;
    memset(&c, 0, sizeof c);
    /* vision tower: the mini shape, a CLIP ViT with quick_gelu */
    c.vision_image_size = 64;
    c.vision_patch_size = 8;
    c.vision_channels = 3;
    c.vision_hidden = 128;
    c.vision_layers = 4;
    c.vision_heads = 4;
    c.vision_intermediate = 512;
    c.vision_ln_eps = 1e-5f;
    c.vision_act = LLAVA_ACT_QUICK_GELU;
    c.vision_feature_layer = o->feature_layer;
    c.vision_select_full = 0; /* "default": CLS dropped */
    /* projector: mlp2x_gelu */
    c.proj_layers = 2;
    c.proj_bias = 1;
    c.proj_act = LLAVA_ACT_GELU;
    /* language model: LLaMA */
    c.text_hidden = 256;
    c.text_layers = 6;
    c.text_heads = 8;
    c.text_kv_heads = 4;
    c.text_head_dim = 256 / 8;
    c.text_intermediate = 688;
    c.text_vocab = llava_tokenizer_vocab_size(tok);
    c.text_max_pos = 256;
    c.text_rms_eps = 1e-5f;
    c.text_rope_theta = 10000.0;
    c.text_rope_linear_factor = 1.0;
    c.text_tied = 0;
    c.text_act = LLAVA_ACT_SILU;
    /* special tokens: one placeholder per feature row (llava-hf) */
    c.image_token_id = image_id;
    c.image_token_expands = 0;
    c.bos_id = llava_tokenizer_bos(tok);
    c.n_eos = 0;
    if (llava_tokenizer_eos(tok) >= 0) c.eos_ids[c.n_eos++] = llava_tokenizer_eos(tok);
    llava_preprocess_defaults(&c, 64);
    LlavaModel *m = llava_model_new(&c, o->seed);
    if (!m) cli_die("%s", llava_last_error());
    printf("init: vision tower %.2fM, projector %.2fM, language model %.2fM parameters; vocab %d, <image> %d, bos %d, eos %d, "
           "vision_feature_layer %d\n",
           llava_model_n_params(m, "vision_tower.") / 1e6, llava_model_n_params(m, "multi_modal_projector.") / 1e6,
           llava_model_n_params(m, "language_model.") / 1e6, c.text_vocab, image_id, c.bos_id, c.n_eos ? c.eos_ids[0] : -1,
           c.vision_feature_layer);
    save_and_check(m, NULL, 0, o->tokenizer, o->out);
    llava_model_free(m);
    llava_tokenizer_free(tok);
    return 0;
}

/* ================================================================================================ */
/* clip: the contrastive head (post-LN, projections, temperature) and the text transformer are this */
/* file's own f32 parameters with their own AdamW state; the tower trains through an LlavaTrainer.   */
/* ================================================================================================ */
typedef struct {
    const char *name;
    float *w, *g, *m, *v; /* [n] */
    size_t n;
    int decay;
} hparam;

enum { /* the head's parameters, in the table below */
    P_POST_W, P_POST_B, P_VPROJ, P_SCALE, P_TOK, P_POS, P_LNF_W, P_LNF_B, P_TPROJ, P_LAYER0
};
enum { L_LN1W, L_LN1B, L_Q, L_QB, L_K, L_KB, L_V, L_VB, L_O, L_OB, L_LN2W, L_LN2B, L_FC1, L_FC1B, L_FC2, L_FC2B, L_N };
#define P_N (P_LAYER0 + TX_L * L_N)
#define LP(l, k) (P_LAYER0 + (l) * L_N + (k))

typedef struct {
    hparam p[P_N];
    int V, D;      /* text vocabulary, vision width */
    int mean_pool; /* the image embedding reads the mean of the patch rows instead of the CLS row */
    LlavaPrecision prec; /* the matrix products' operands, as the tower's (--precision) */
} head;

/* the tower's output rows o[N][D] -> the row the head reads: CLS (row 0) or the mean of the patches */
static void pool_rows(const head *h, const float *o, int N, float *out) {
    int r, i;
    if (!h->mean_pool) {
        memcpy(out, o, (size_t)h->D * sizeof(float));
        return;
    }
    memset(out, 0, (size_t)h->D * sizeof(float));
    for (r = 1; r < N; r++)
        for (i = 0; i < h->D; i++) out[i] += o[(size_t)r * h->D + i];
    for (i = 0; i < h->D; i++) out[i] /= (float)(N - 1);
}
/* its backward: the pooled row's gradient g[D] into d[N][D] (zeroed first) */
static void unpool_rows(const head *h, const float *g, int N, float *d) {
    int r, i;
    memset(d, 0, (size_t)N * h->D * sizeof(float));
    if (!h->mean_pool) {
        memcpy(d, g, (size_t)h->D * sizeof(float));
        return;
    }
    for (r = 1; r < N; r++)
        for (i = 0; i < h->D; i++) d[(size_t)r * h->D + i] = g[i] / (float)(N - 1);
}

static float randn(uint64_t *r) { /* Box-Muller */
    float u1 = llava_rng_uniform(r), u2 = llava_rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

static void hp_init(hparam *p, const char *name, size_t n, int decay, float std, float fill, uint64_t *rng) {
    size_t i;
    p->name = name;
    p->n = n;
    p->decay = decay;
    p->w = (float *)cli_xcalloc(n, sizeof(float));
    p->g = (float *)cli_xcalloc(n, sizeof(float));
    p->m = (float *)cli_xcalloc(n, sizeof(float));
    p->v = (float *)cli_xcalloc(n, sizeof(float));
    for (i = 0; i < n; i++) p->w[i] = std > 0.0f ? std * randn(rng) : fill;
}

/* CLIP's initialization: embeddings 0.02 / 0.01, attention and MLP by width, residual outputs scaled
   down with depth, projections width^-1/2, logit scale log(1/0.07) */
static void head_init(head *h, int V, int D, const float *post_w, const float *post_b, uint64_t seed) {
    static const char *const ln[L_N] = {"ln1.w", "ln1.b", "q", "q.b", "k", "k.b", "v", "v.b", "o", "o.b", "ln2.w", "ln2.b",
                                        "fc1", "fc1.b", "fc2", "fc2.b"};
    uint64_t rng = seed * 0x2545F4914F6CDD1Dull + 99;
    const float attn_std = 1.0f / sqrtf((float)TX_W), proj_std = attn_std / sqrtf(2.0f * TX_L);
    const float fc_std = 1.0f / sqrtf(2.0f * TX_W);
    int l, k;
    memset(h, 0, sizeof *h);
    h->V = V;
    h->D = D;
    hp_init(&h->p[P_POST_W], "post_layernorm.weight", (size_t)D, 0, 0.0f, 1.0f, &rng);
    hp_init(&h->p[P_POST_B], "post_layernorm.bias", (size_t)D, 0, 0.0f, 0.0f, &rng);
    if (post_w) memcpy(h->p[P_POST_W].w, post_w, (size_t)D * sizeof(float));
    if (post_b) memcpy(h->p[P_POST_B].w, post_b, (size_t)D * sizeof(float));
    hp_init(&h->p[P_VPROJ], "visual_projection", (size_t)EMB * D, 1, 1.0f / sqrtf((float)D), 0.0f, &rng);
    hp_init(&h->p[P_SCALE], "logit_scale", 1, 0, 0.0f, logf(1.0f / 0.07f), &rng);
    hp_init(&h->p[P_TOK], "token_embedding", (size_t)V * TX_W, 1, 0.02f, 0.0f, &rng);
    hp_init(&h->p[P_POS], "position_embedding", (size_t)TX_CTX * TX_W, 1, 0.01f, 0.0f, &rng);
    hp_init(&h->p[P_LNF_W], "ln_final.weight", TX_W, 0, 0.0f, 1.0f, &rng);
    hp_init(&h->p[P_LNF_B], "ln_final.bias", TX_W, 0, 0.0f, 0.0f, &rng);
    hp_init(&h->p[P_TPROJ], "text_projection", (size_t)EMB * TX_W, 1, 1.0f / sqrtf((float)TX_W), 0.0f, &rng);
    for (l = 0; l < TX_L; l++)
        for (k = 0; k < L_N; k++) {
            const int bias = k == L_QB || k == L_KB || k == L_VB || k == L_OB || k == L_FC1B || k == L_FC2B || k == L_LN1B || k == L_LN2B;
            const int gain = k == L_LN1W || k == L_LN2W;
            const size_t n = (k == L_FC1 || k == L_FC2) ? (size_t)TX_W * TX_I : k == L_FC1B ? TX_I : (bias || gain) ? TX_W : (size_t)TX_W * TX_W;
            const float std = (bias || gain) ? 0.0f : k == L_O ? proj_std : k == L_FC1 ? fc_std : k == L_FC2 ? proj_std : attn_std;
            hp_init(&h->p[LP(l, k)], ln[k], n, !(bias || gain), std, gain ? 1.0f : 0.0f, &rng);
        }
}

static void head_free(head *h) {
    int i;
    for (i = 0; i < P_N; i++) free(h->p[i].w), free(h->p[i].g), free(h->p[i].m), free(h->p[i].v);
}

static LlavaWeight MAT(const head *h, int i, int rows, int cols) {
    LlavaWeight w;
    w.data = h->p[i].w;
    w.dtype = LLAVA_F32;
    w.rows = rows;
    w.cols = cols;
    return w;
}
#define HW(i) (h->p[i].w)
#define HG(i) (h->p[i].g)

/* the text transformer's activations for B captions, concatenated into R rows */
typedef struct {
    int B, R;
    int *off, *len, *ids;  /* [B], [B], [R] */
    size_t *poff;          /* [B] start of each caption's attention probabilities in a layer */
    size_t psz;            /* probabilities per layer */
    float *x;              /* [L+1][R][W] residual stream */
    float *xm, *h1, *h2, *q, *k, *v, *ao; /* [L][R][W] */
    float *m1, *r1, *m2, *r2;             /* [L][R] */
    float *f, *fa;                        /* [L][R][I] */
    float *p;                             /* [L][psz] */
    float *eos, *lnf, *mf, *rf;           /* [B][W], [B][W], [B], [B] */
    float *emb;                           /* [B][EMB] before normalization */
} tcache;

static void tcache_free(tcache *A) {
    free(A->off), free(A->len), free(A->ids), free(A->poff), free(A->x), free(A->xm), free(A->h1), free(A->h2), free(A->q), free(A->k);
    free(A->v), free(A->ao), free(A->m1), free(A->r1), free(A->m2), free(A->r2), free(A->f), free(A->fa), free(A->p), free(A->eos);
    free(A->lnf), free(A->mf), free(A->rf), free(A->emb);
    memset(A, 0, sizeof *A);
}

/* captions (ids[b][len[b]], each ending in EOS) -> A->emb [B][EMB] */
static void text_forward(const head *h, tcache *A, const int *const *ids, const int *len, int B) {
    const int W = TX_W, I = TX_I, H = TX_H, Dh = TX_W / TX_H;
    int b, l, i, R = 0;
    memset(A, 0, sizeof *A);
    A->B = B;
    A->off = (int *)cli_xcalloc((size_t)B, sizeof(int));
    A->len = (int *)cli_xcalloc((size_t)B, sizeof(int));
    A->poff = (size_t *)cli_xcalloc((size_t)B, sizeof(size_t));
    for (b = 0; b < B; b++) {
        A->off[b] = R;
        A->len[b] = len[b];
        A->poff[b] = A->psz;
        A->psz += (size_t)H * len[b] * len[b];
        R += len[b];
    }
    A->R = R;
    const size_t RW = (size_t)R * W, RI = (size_t)R * I;
    A->ids = (int *)cli_xcalloc((size_t)R, sizeof(int));
    A->x = (float *)cli_xcalloc((TX_L + 1) * RW, sizeof(float));
    A->xm = (float *)cli_xcalloc(TX_L * RW, sizeof(float));
    A->h1 = (float *)cli_xcalloc(TX_L * RW, sizeof(float));
    A->h2 = (float *)cli_xcalloc(TX_L * RW, sizeof(float));
    A->q = (float *)cli_xcalloc(TX_L * RW, sizeof(float));
    A->k = (float *)cli_xcalloc(TX_L * RW, sizeof(float));
    A->v = (float *)cli_xcalloc(TX_L * RW, sizeof(float));
    A->ao = (float *)cli_xcalloc(TX_L * RW, sizeof(float));
    A->m1 = (float *)cli_xcalloc((size_t)TX_L * R, sizeof(float));
    A->r1 = (float *)cli_xcalloc((size_t)TX_L * R, sizeof(float));
    A->m2 = (float *)cli_xcalloc((size_t)TX_L * R, sizeof(float));
    A->r2 = (float *)cli_xcalloc((size_t)TX_L * R, sizeof(float));
    A->f = (float *)cli_xcalloc(TX_L * RI, sizeof(float));
    A->fa = (float *)cli_xcalloc(TX_L * RI, sizeof(float));
    A->p = (float *)cli_xcalloc(TX_L * A->psz, sizeof(float));
    A->eos = (float *)cli_xcalloc((size_t)B * W, sizeof(float));
    A->lnf = (float *)cli_xcalloc((size_t)B * W, sizeof(float));
    A->mf = (float *)cli_xcalloc((size_t)B, sizeof(float));
    A->rf = (float *)cli_xcalloc((size_t)B, sizeof(float));
    A->emb = (float *)cli_xcalloc((size_t)B * EMB, sizeof(float));
    float *tmp = (float *)cli_xcalloc(RW, sizeof(float));
    /* token + learned position embeddings */
    for (b = 0; b < B; b++)
        for (i = 0; i < len[b]; i++) {
            const int row = A->off[b] + i, id = ids[b][i];
            float *x = A->x + (size_t)row * W;
            const float *te = HW(P_TOK) + (size_t)id * W, *pe = HW(P_POS) + (size_t)i * W;
            int j;
            A->ids[row] = id;
            for (j = 0; j < W; j++) x[j] = te[j] + pe[j];
        }
    for (l = 0; l < TX_L; l++) {
        const float *x = A->x + l * RW;
        float *xm = A->xm + l * RW, *h1 = A->h1 + l * RW, *h2 = A->h2 + l * RW, *xn = A->x + (l + 1) * RW;
        float *q = A->q + l * RW, *k = A->k + l * RW, *v = A->v + l * RW, *ao = A->ao + l * RW;
        float *f = A->f + l * RI, *fa = A->fa + l * RI;
        LlavaWeight Wq = MAT(h, LP(l, L_Q), W, W), Wk = MAT(h, LP(l, L_K), W, W), Wv = MAT(h, LP(l, L_V), W, W), Wo = MAT(h, LP(l, L_O), W, W);
        LlavaWeight W1 = MAT(h, LP(l, L_FC1), I, W), W2 = MAT(h, LP(l, L_FC2), W, I);
        llava_layernorm_forward(h1, A->m1 + (size_t)l * R, A->r1 + (size_t)l * R, x, HW(LP(l, L_LN1W)), HW(LP(l, L_LN1B)), R, W, 1e-5f);
        llava_matmul_forward(h->prec, q, h1, &Wq, HW(LP(l, L_QB)), R, W, W);
        llava_matmul_forward(h->prec, k, h1, &Wk, HW(LP(l, L_KB)), R, W, W);
        llava_matmul_forward(h->prec, v, h1, &Wv, HW(LP(l, L_VB)), R, W, W);
        /* causal attention within each caption; captions spread over threads (one parallel region,
           rather than one per caption inside the kernel: robust when the cores are shared) */
        CLI_OMP(omp parallel for schedule(dynamic, 1))
        for (b = 0; b < B; b++) {
            const size_t o = (size_t)A->off[b] * W;
            llava_attention_forward(h->prec, ao + o, A->p + l * A->psz + A->poff[b], q + o, k + o, v + o, len[b], len[b], 0, H, H, Dh, 1);
        }
        llava_matmul_forward(h->prec, tmp, ao, &Wo, HW(LP(l, L_OB)), R, W, W);
        for (i = 0; i < (int)RW; i++) xm[i] = x[i] + tmp[i];
        llava_layernorm_forward(h2, A->m2 + (size_t)l * R, A->r2 + (size_t)l * R, xm, HW(LP(l, L_LN2W)), HW(LP(l, L_LN2B)), R, W, 1e-5f);
        llava_matmul_forward(h->prec, f, h2, &W1, HW(LP(l, L_FC1B)), R, W, I);
        memcpy(fa, f, RI * sizeof(float));
        llava_act_forward(fa, RI, LLAVA_ACT_QUICK_GELU); /* (CLIP's text transformer's, as its tower's) */
        llava_matmul_forward(h->prec, tmp, fa, &W2, HW(LP(l, L_FC2B)), R, I, W);
        for (i = 0; i < (int)RW; i++) xn[i] = xm[i] + tmp[i];
    }
    /* the EOS (last) position of each caption -> ln_final -> text_projection */
    for (b = 0; b < B; b++) memcpy(A->eos + (size_t)b * W, A->x + TX_L * RW + (size_t)(A->off[b] + len[b] - 1) * W, W * sizeof(float));
    llava_layernorm_forward(A->lnf, A->mf, A->rf, A->eos, HW(P_LNF_W), HW(P_LNF_B), B, W, 1e-5f);
    LlavaWeight Wt = MAT(h, P_TPROJ, EMB, W);
    llava_matmul_forward(h->prec, A->emb, A->lnf, &Wt, NULL, B, W, EMB);
    free(tmp);
}

/* demb [B][EMB] -> gradients of the text transformer's parameters */
static void text_backward(head *h, const tcache *A, const float *demb) {
    const int W = TX_W, I = TX_I, H = TX_H, Dh = TX_W / TX_H, B = A->B, R = A->R;
    const size_t RW = (size_t)R * W, RI = (size_t)R * I;
    float *dlnf = (float *)cli_xcalloc((size_t)B * W, sizeof(float)), *deos = (float *)cli_xcalloc((size_t)B * W, sizeof(float));
    float *dx = (float *)cli_xcalloc(RW, sizeof(float)), *dxm = (float *)cli_xcalloc(RW, sizeof(float)), *dX = (float *)cli_xcalloc(RW, sizeof(float));
    float *dh = (float *)cli_xcalloc(RW, sizeof(float)), *dao = (float *)cli_xcalloc(RW, sizeof(float));
    float *dq = (float *)cli_xcalloc(RW, sizeof(float)), *dk = (float *)cli_xcalloc(RW, sizeof(float)), *dv = (float *)cli_xcalloc(RW, sizeof(float));
    float *dfa = (float *)cli_xcalloc(RI, sizeof(float)), *df = (float *)cli_xcalloc(RI, sizeof(float));
    int b, l, i;
    LlavaWeight Wt = MAT(h, P_TPROJ, EMB, W);
    llava_matmul_backward(h->prec, dlnf, HG(P_TPROJ), NULL, demb, A->lnf, &Wt, B, W, EMB);
    llava_layernorm_backward(deos, HG(P_LNF_W), HG(P_LNF_B), dlnf, A->eos, HW(P_LNF_W), A->mf, A->rf, B, W);
    for (b = 0; b < B; b++) memcpy(dx + (size_t)(A->off[b] + A->len[b] - 1) * W, deos + (size_t)b * W, W * sizeof(float));
    for (l = TX_L - 1; l >= 0; l--) {
        const float *x = A->x + l * RW, *xm = A->xm + l * RW, *h1 = A->h1 + l * RW, *h2 = A->h2 + l * RW;
        const float *q = A->q + l * RW, *k = A->k + l * RW, *v = A->v + l * RW, *ao = A->ao + l * RW;
        const float *f = A->f + l * RI, *fa = A->fa + l * RI;
        LlavaWeight Wq = MAT(h, LP(l, L_Q), W, W), Wk = MAT(h, LP(l, L_K), W, W), Wv = MAT(h, LP(l, L_V), W, W), Wo = MAT(h, LP(l, L_O), W, W);
        LlavaWeight W1 = MAT(h, LP(l, L_FC1), I, W), W2 = MAT(h, LP(l, L_FC2), W, I);
        /* x_next = xm + fc2(quick_gelu(fc1(ln2(xm)))) */
        memcpy(dxm, dx, RW * sizeof(float));
        memset(dfa, 0, RI * sizeof(float));
        llava_matmul_backward(h->prec, dfa, HG(LP(l, L_FC2)), HG(LP(l, L_FC2B)), dx, fa, &W2, R, I, W);
        llava_act_backward(df, dfa, f, RI, LLAVA_ACT_QUICK_GELU);
        memset(dh, 0, RW * sizeof(float));
        llava_matmul_backward(h->prec, dh, HG(LP(l, L_FC1)), HG(LP(l, L_FC1B)), df, h2, &W1, R, W, I);
        llava_layernorm_backward(dxm, HG(LP(l, L_LN2W)), HG(LP(l, L_LN2B)), dh, xm, HW(LP(l, L_LN2W)), A->m2 + (size_t)l * R,
                                  A->r2 + (size_t)l * R, R, W);
        /* xm = x + o(attention(ln1(x))) */
        memcpy(dX, dxm, RW * sizeof(float));
        memset(dao, 0, RW * sizeof(float));
        llava_matmul_backward(h->prec, dao, HG(LP(l, L_O)), HG(LP(l, L_OB)), dxm, ao, &Wo, R, W, W);
        CLI_OMP(omp parallel for schedule(dynamic, 1))
        for (b = 0; b < B; b++) {
            const size_t o = (size_t)A->off[b] * W;
            llava_attention_backward(h->prec, dq + o, dk + o, dv + o, dao + o, A->p + l * A->psz + A->poff[b], q + o, k + o, v + o, A->len[b], H, H, Dh);
        }
        memset(dh, 0, RW * sizeof(float));
        llava_matmul_backward(h->prec, dh, HG(LP(l, L_Q)), HG(LP(l, L_QB)), dq, h1, &Wq, R, W, W);
        llava_matmul_backward(h->prec, dh, HG(LP(l, L_K)), HG(LP(l, L_KB)), dk, h1, &Wk, R, W, W);
        llava_matmul_backward(h->prec, dh, HG(LP(l, L_V)), HG(LP(l, L_VB)), dv, h1, &Wv, R, W, W);
        llava_layernorm_backward(dX, HG(LP(l, L_LN1W)), HG(LP(l, L_LN1B)), dh, x, HW(LP(l, L_LN1W)), A->m1 + (size_t)l * R,
                                  A->r1 + (size_t)l * R, R, W);
        memcpy(dx, dX, RW * sizeof(float));
    }
    for (b = 0; b < B; b++)
        for (i = 0; i < A->len[b]; i++) {
            const int row = A->off[b] + i;
            float *gt = HG(P_TOK) + (size_t)A->ids[row] * W, *gp = HG(P_POS) + (size_t)i * W;
            const float *d = dx + (size_t)row * W;
            int j;
            for (j = 0; j < W; j++) gt[j] += d[j], gp[j] += d[j];
        }
    free(dlnf), free(deos), free(dx), free(dxm), free(dX), free(dh), free(dao), free(dq), free(dk), free(dv), free(dfa), free(df);
}

/* CLS states cls [B][D] -> post_layernorm -> visual_projection -> emb [B][EMB]; pl, pm, pr kept */
static void image_head_forward(const head *h, const float *cls, int B, float *pl, float *pm, float *pr, float *emb) {
    LlavaWeight Wv = MAT(h, P_VPROJ, EMB, h->D);
    llava_layernorm_forward(pl, pm, pr, cls, HW(P_POST_W), HW(P_POST_B), B, h->D, 1e-5f);
    llava_matmul_forward(h->prec, emb, pl, &Wv, NULL, B, h->D, EMB);
}

/* rows of x [n][EMB] -> unit rows u; norms [n] */
static void l2norm(float *u, float *norms, const float *x, int n) {
    int i, j;
    for (i = 0; i < n; i++) {
        double s = 0.0;
        for (j = 0; j < EMB; j++) s += (double)x[(size_t)i * EMB + j] * x[(size_t)i * EMB + j];
        const float nr = (float)sqrt(s) + 1e-12f;
        norms[i] = nr;
        for (j = 0; j < EMB; j++) u[(size_t)i * EMB + j] = x[(size_t)i * EMB + j] / nr;
    }
}
/* d(x/|x|): dx = (du - u (u . du)) / |x| */
static void l2norm_backward(float *dx, const float *du, const float *u, const float *norms, int n) {
    int i, j;
    for (i = 0; i < n; i++) {
        double d = 0.0;
        for (j = 0; j < EMB; j++) d += (double)u[(size_t)i * EMB + j] * du[(size_t)i * EMB + j];
        for (j = 0; j < EMB; j++) dx[(size_t)i * EMB + j] = (du[(size_t)i * EMB + j] - u[(size_t)i * EMB + j] * (float)d) / norms[i];
    }
}

/* the backward of image_head_forward + l2norm for n rows x [n][D]: the unit rows' gradient du [n][EMB]
   -> dx [n][D] (overwritten), the head's post_layernorm and projection gradients accumulated; de [n][EMB]
   and dpl [n][D] are scratch */
static void image_head_backward(head *h, const float *du, const float *u, const float *norms, const float *x, const float *pl,
                                const float *pm, const float *pr, int n, float *de, float *dpl, float *dx) {
    LlavaWeight Wv = MAT(h, P_VPROJ, EMB, h->D);
    l2norm_backward(de, du, u, norms, n);
    memset(dpl, 0, (size_t)n * h->D * sizeof(float));
    memset(dx, 0, (size_t)n * h->D * sizeof(float));
    llava_matmul_backward(h->prec, dpl, HG(P_VPROJ), NULL, de, pl, &Wv, n, h->D, EMB);
    llava_layernorm_backward(dx, HG(P_POST_W), HG(P_POST_B), dpl, x, HW(P_POST_W), pm, pr, n, h->D);
}

/* symmetric InfoNCE over B pairs (u_i, v_i), with texts v_B .. v_{R-1} as extra negatives of the
   image -> text direction: loss, in-batch top-1 accuracy (image -> caption, among the R texts), and the
   gradients du [B][EMB], dv [R][EMB] and d(log-scale) */
static double clip_loss(const float *u, const float *v, int B, int R, float log_scale, float *du, float *dv, float *dscale, double *acc) {
    const double s = exp((double)log_scale);
    double *L = (double *)cli_xcalloc((size_t)B * R, sizeof(double)), *G = (double *)cli_xcalloc((size_t)B * R, sizeof(double));
    double loss = 0.0, ds = 0.0;
    int i, j, k, right = 0;
    for (i = 0; i < B; i++)
        for (j = 0; j < R; j++) {
            double d = 0.0;
            for (k = 0; k < EMB; k++) d += (double)u[(size_t)i * EMB + k] * v[(size_t)j * EMB + k];
            L[(size_t)i * R + j] = s * d;
        }
    for (i = 0; i < B; i++) { /* image i against every text (rows), caption i against every image (columns) */
        double mr = -1e300, mc = -1e300, sr = 0.0, sc = 0.0;
        int best = 0;
        for (j = 0; j < R; j++)
            if (L[(size_t)i * R + j] > mr) mr = L[(size_t)i * R + j], best = j;
        for (j = 0; j < B; j++)
            if (L[(size_t)j * R + i] > mc) mc = L[(size_t)j * R + i];
        right += best == i;
        for (j = 0; j < R; j++) sr += exp(L[(size_t)i * R + j] - mr);
        for (j = 0; j < B; j++) sc += exp(L[(size_t)j * R + i] - mc);
        loss += (mr + log(sr) - L[(size_t)i * R + i]) + (mc + log(sc) - L[(size_t)i * R + i]);
        for (j = 0; j < R; j++) G[(size_t)i * R + j] += 0.5 / B * (exp(L[(size_t)i * R + j] - mr) / sr - (i == j));
        for (j = 0; j < B; j++) G[(size_t)j * R + i] += 0.5 / B * (exp(L[(size_t)j * R + i] - mc) / sc - (i == j));
    }
    if (du && dv) {
        memset(du, 0, (size_t)B * EMB * sizeof(float));
        memset(dv, 0, (size_t)R * EMB * sizeof(float));
        for (i = 0; i < B; i++)
            for (j = 0; j < R; j++) {
                const double g = G[(size_t)i * R + j];
                ds += g * L[(size_t)i * R + j]; /* d logits / d log_scale = logits */
                for (k = 0; k < EMB; k++) {
                    du[(size_t)i * EMB + k] += (float)(s * g * v[(size_t)j * EMB + k]);
                    dv[(size_t)j * EMB + k] += (float)(s * g * u[(size_t)i * EMB + k]);
                }
            }
        if (dscale) *dscale = (float)ds;
    }
    if (acc) *acc = (double)right / B;
    free(L);
    free(G);
    return 0.5 * loss / B;
}

/* The tower runs a chunk of the batch's images at a time, one chunk per thread (the kernels inside then
   run on that thread: nested parallel regions are off), and each chunk's gradients go to a buffer of
   their own (llava_tower_backward's layout), summed into the trainer's after the batch in the chunks'
   order: the sum does not depend on which thread took which chunk. */
typedef struct {
    LlavaTowerCache *cache; /* the chunk's activations */
    float *grad;            /* [n] the tower's gradients, in the trainer's parameter order */
    size_t n;
    int images;
    int failed; /* the tower's forward or backward pass ran out of memory this step */
} chunk;

/* adds the chunks' buffers into the trainer's gradients, in order (its first parameters are the tower's),
   and zeroes them */
static void chunks_reduce(LlavaTrainer *t, chunk *ck, int nc) {
    size_t off = 0, n;
    int i, k;
    for (i = 0; i < llava_trainer_n_params(t) && off < ck[0].n; i++) {
        const char *name = llava_trainer_param(t, i, NULL, NULL, &n);
        float *g = llava_trainer_grad(t, i);
        if (!g) continue; /* frozen: not in the buffers */
        if (strncmp(name, "vision_tower.", 13)) cli_die("the trainer's parameter %d, %s, is not the tower's", i, name);
        for (k = 0; k < nc; k++) {
            llava_add(g, ck[k].grad + off, n);
            memset(ck[k].grad + off, 0, n * sizeof(float));
        }
        off += n;
    }
}

static int n_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* the texts of image i: ids[i * VIEWS + k], k < 5 its captions, k = SHAPE_VIEW the colour-free view */
#define VIEWS 6
#define SHAPE_VIEW 5
#define NPHR (W_NCOLOR * W_NSHAPE)
typedef struct {
    int **ids; /* [n*VIEWS] token ids ending in EOS (NULL where the image has fewer captions) */
    int *len;
    int **neg; /* [n*VIEWS] the text's hard negative (one shape or color word changed), same layout */
    int *nlen;
    int *phr[NPHR]; /* the region loss's phrases: "a red circle", phrase color * W_NSHAPE + shape */
    int plen[NPHR];
} captions;

/* whole-word occurrence of one of words[n] in text at or after p: its start (NULL if none), *which */
static const char *find_word(const char *text, const char *p, const char *const *words, int n, int *which) {
    for (; *p; p++) {
        int k;
        if (p > text && isalpha((unsigned char)p[-1])) continue;
        for (k = 0; k < n; k++) {
            const size_t l = strlen(words[k]);
            if (strncmp(p, words[k], l) || isalpha((unsigned char)p[l])) continue;
            *which = k;
            return p;
        }
    }
    return NULL;
}

/* A hard negative for CLIP (as NegCLIP, Yuksekgonul et al. 2023, does with word swaps): the caption
   with one shape word (or, in a third of the cases and when it names no shape, one color word)
   replaced by another. Batches of a few dozen images are told apart by their colors alone; these
   negatives are meant to make the tower learn shapes (on the mini world they did not: see docs/reproduction.md,
   "Shapes in the vision tower"). Returns 0 when the caption names neither. A plural and its singular
   never match at the same place: "circle" is not a whole word inside "circles". */
static int hard_negative(const char *cap, uint64_t *rng, char *out, size_t cap_out) {
    const char *const *lists[3] = {w_shape_plural, w_shape_name, w_color_name};
    const int sizes[3] = {W_NSHAPE, W_NSHAPE, W_NCOLOR};
    const char *hit[64];
    int kind[64], which[64], n = 0, want_color = (int)(llava_rng_next(rng) % 3) == 0, pass, L;
    for (pass = 0; pass < 2 && !n; pass++, want_color = !want_color)
        for (L = 0; L < 3; L++) {
            const char *p = cap;
            int k;
            if ((L == 2) != want_color) continue;
            while (n < 64 && (p = find_word(cap, p, lists[L], sizes[L], &k))) {
                hit[n] = p, kind[n] = L, which[n] = k, n++;
                p += strlen(lists[L][k]);
            }
        }
    if (!n) return 0;
    const int h = (int)(llava_rng_next(rng) % (uint64_t)n), Lh = kind[h];
    const int other = (which[h] + 1 + (int)(llava_rng_next(rng) % (uint64_t)(sizes[Lh] - 1))) % sizes[Lh];
    snprintf(out, cap_out, "%.*s%s%s", (int)(hit[h] - cap), cap, lists[Lh][other], hit[h] + strlen(lists[Lh][which[h]]));
    return 1;
}

static int *caption_ids(const LlavaTokenizer *tok, const char *c, const char *what, const char *id, int k, int *len, int *cut, int *longest) {
    int buf[4096], n = tokenize(tok, c, buf, 4095);
    if (n < 0) cli_die("image %s %s %d: %s", id, what, k, llava_last_error());
    if (n > *longest) *longest = n;
    if (n > TX_CTX - 1) n = TX_CTX - 1, (*cut)++; /* keep the EOS, whose state is the caption's embedding */
    buf[n++] = llava_tokenizer_eos(tok);
    int *ids = (int *)cli_xcalloc((size_t)n, sizeof(int));
    memcpy(ids, buf, (size_t)n * sizeof(int));
    *len = n;
    return ids;
}

/* The colour-free view of a scene: its objects' sizes and shapes in a shuffled order, "A large circle, a
   small ring and a medium cross." Every caption of world.json names colours, and colours alone tell the
   images of a batch apart, so a tower trained on the captions alone need not learn shapes; matching
   this view to its image needs them. */
static void shape_text(const WScene *sc, uint64_t *rng, char *out, size_t cap) {
    int order[W_MAX_OBJ], i, len = 0;
    for (i = 0; i < sc->n; i++) order[i] = i;
    for (i = sc->n - 1; i > 0; i--) {
        const int j = (int)(llava_rng_next(rng) % (uint64_t)(i + 1)), x = order[i];
        order[i] = order[j], order[j] = x;
    }
    out[0] = 0;
    for (i = 0; i < sc->n && len >= 0 && (size_t)len < cap; i++) {
        const WObj *o = &sc->o[order[i]];
        len += snprintf(out + len, cap - (size_t)len, "%s%s %s %s", i == 0 ? "" : i == sc->n - 1 ? " and " : ", ", i ? "a" : "A",
                        w_size_name[o->size], w_shape_name[o->shape]);
    }
    if (len >= 0 && (size_t)len + 1 < cap) out[len] = '.', out[len + 1] = 0;
}

static void tokenize_captions(const world *w, const LlavaTokenizer *tok, captions *cp) {
    int i, k, cut = 0, longest = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    char neg[2048], view[1024];
    cp->ids = (int **)cli_xcalloc((size_t)w->n * VIEWS, sizeof(int *));
    cp->len = (int *)cli_xcalloc((size_t)w->n * VIEWS, sizeof(int));
    cp->neg = (int **)cli_xcalloc((size_t)w->n * VIEWS, sizeof(int *));
    cp->nlen = (int *)cli_xcalloc((size_t)w->n * VIEWS, sizeof(int));
    for (i = 0; i < w->n; i++)
        for (k = 0; k < VIEWS; k++) {
            const size_t at = (size_t)i * VIEWS + (size_t)k;
            const char *c = view;
            if (k == SHAPE_VIEW) shape_text(&w->sc[i], &rng, view, sizeof view);
            else c = w->sc[i].cap[k];
            if (!c || !c[0]) continue;
            cp->ids[at] = caption_ids(tok, c, "caption", w->sc[i].id, k, &cp->len[at], &cut, &longest);
            if (hard_negative(c, &rng, neg, sizeof neg))
                cp->neg[at] = caption_ids(tok, neg, "negative of caption", w->sc[i].id, k, &cp->nlen[at], &cut, &longest);
        }
    for (k = 0; k < NPHR; k++) {
        snprintf(view, sizeof view, "a %s %s", w_color_name[k / W_NSHAPE], w_shape_name[k % W_NSHAPE]);
        cp->phr[k] = caption_ids(tok, view, "phrase", "-", k, &cp->plen[k], &cut, &longest);
    }
    if (cut) printf("clip: %d captions longer than %d tokens were cut (longest %d)\n", cut, TX_CTX - 1, longest);
}

/* The patches of a scene's objects on a G x G grid: obj[p] is the object whose box holds patch p's
   centre (the topmost, where boxes overlap) or -1. */
static void patch_objects(const WScene *sc, int G, int *obj) {
    int p, j;
    for (p = 0; p < G * G; p++) {
        const double cx = (p % G + 0.5) / G, cy = (p / G + 0.5) / G;
        obj[p] = -1;
        for (j = 0; j < sc->n; j++) /* drawing order: later objects on top */
            if (cx >= sc->o[j].box[0] && cx <= sc->o[j].box[2] && cy >= sc->o[j].box[1] && cy <= sc->o[j].box[3]) obj[p] = j;
    }
}

/* the regions of nb images: for image b, obj + b*G*G holds its patches' objects; each object with a patch
   becomes region r (rid[b * W_MAX_OBJ + j] = r, else -1) with its patch count and its phrase. Returns the
   number of regions. */
static int find_regions(const world *w, const int *imgs, int nb, int G, int *obj, int *rid, int *cnt, int *phrase) {
    int b, j, p, nr = 0;
    for (b = 0; b < nb; b++) {
        const WScene *sc = &w->sc[imgs[b]];
        int *ob = obj + (size_t)b * G * G;
        patch_objects(sc, G, ob);
        for (j = 0; j < W_MAX_OBJ; j++) rid[b * W_MAX_OBJ + j] = -1;
        for (p = 0; p < G * G; p++) {
            if (ob[p] < 0) continue;
            int *r = &rid[b * W_MAX_OBJ + ob[p]];
            if (*r < 0) *r = nr++, cnt[*r] = 0, phrase[*r] = sc->o[ob[p]].color * W_NSHAPE + sc->o[ob[p]].shape;
            cnt[*r]++;
        }
    }
    return nr;
}

/* the regions' pooled rows reg [nr][D]: the mean of each region's patch rows of the tower's output rows
   out [nb][N][D] (row 0 the CLS) */
static void pool_regions(const float *out, int nb, int N, int D, const int *obj, const int *rid, const int *cnt, int nr, float *reg) {
    int b, p, i;
    const int G2 = N - 1;
    memset(reg, 0, (size_t)nr * D * sizeof(float));
    for (b = 0; b < nb; b++)
        for (p = 0; p < G2; p++) {
            const int j = obj[(size_t)b * G2 + p];
            if (j < 0) continue;
            const int r = rid[b * W_MAX_OBJ + j];
            const float *x = out + ((size_t)b * N + p + 1) * D;
            for (i = 0; i < D; i++) reg[(size_t)r * D + i] += x[i] / (float)cnt[r];
        }
}

/* pool_regions' backward for image b: its regions' gradients r_d [nr][D] into its rows d [N][D] (added) */
static void unpool_regions(const float *r_d, int b, int N, int D, const int *obj, const int *rid, const int *cnt, float *d) {
    int p, i;
    const int G2 = N - 1;
    for (p = 0; p < G2; p++) {
        const int j = obj[(size_t)b * G2 + p];
        if (j < 0) continue;
        const int r = rid[b * W_MAX_OBJ + j];
        for (i = 0; i < D; i++) d[(size_t)(p + 1) * D + i] += r_d[(size_t)r * D + i] / (float)cnt[r];
    }
}

/* cross-entropy of each region against the P phrases (one direction, like CLIP's zero-shot classifier):
   regions u [n][EMB], phrases v [P][EMB], target phrase t[n]; mean loss, top-1 accuracy (and how often the
   top phrase's colour and its shape are right), gradients du [n][EMB], dv [P][EMB] and d(log-scale) */
static double region_loss(const float *u, const float *v, int n, int P, const int *t, float log_scale, float *du, float *dv, float *dscale,
                          double acc[3]) {
    const double s = exp((double)log_scale);
    double *L = (double *)cli_xcalloc((size_t)P, sizeof(double)), loss = 0.0, ds = 0.0;
    int i, j, k, right[3] = {0, 0, 0};
    if (du) memset(du, 0, (size_t)n * EMB * sizeof(float));
    if (dv) memset(dv, 0, (size_t)P * EMB * sizeof(float));
    for (i = 0; i < n; i++) {
        double mx = -1e300, z = 0.0;
        int best = 0;
        for (j = 0; j < P; j++) {
            double d = 0.0;
            for (k = 0; k < EMB; k++) d += (double)u[(size_t)i * EMB + k] * v[(size_t)j * EMB + k];
            L[j] = s * d;
            if (L[j] > mx) mx = L[j], best = j;
        }
        for (j = 0; j < P; j++) z += exp(L[j] - mx);
        loss += mx + log(z) - L[t[i]];
        right[0] += best == t[i];
        right[1] += best / W_NSHAPE == t[i] / W_NSHAPE;
        right[2] += best % W_NSHAPE == t[i] % W_NSHAPE;
        if (!du || !dv) continue;
        for (j = 0; j < P; j++) {
            const double g = (exp(L[j] - mx) / z - (j == t[i])) / n;
            ds += g * L[j];
            for (k = 0; k < EMB; k++) {
                du[(size_t)i * EMB + k] += (float)(s * g * v[(size_t)j * EMB + k]);
                dv[(size_t)j * EMB + k] += (float)(s * g * u[(size_t)i * EMB + k]);
            }
        }
    }
    if (dscale) *dscale = (float)ds;
    for (k = 0; k < 3; k++) acc[k] = n ? (double)right[k] / n : 0.0;
    free(L);
    return n ? loss / n : 0.0;
}

/* the objects of a batch as regions (--regions), with the head's activations over them */
typedef struct {
    int n;                                    /* regions found */
    int *obj, *rid, *cnt, *phr;               /* find_regions' patch objects, region ids, sizes, phrases */
    float *reg, *pl, *pm, *pr, *emb, *u, *nr; /* pooled rows -> post_layernorm -> projection -> unit rows */
    float *du, *de, *dpl, *dreg;              /* their gradients (when training) */
} regions;

static void regions_alloc(regions *r, int nimg, int G, int D, int grads) {
    const size_t MR = (size_t)nimg * W_MAX_OBJ;
    memset(r, 0, sizeof *r);
    r->obj = (int *)cli_xcalloc((size_t)nimg * G * G, sizeof(int));
    r->rid = (int *)cli_xcalloc(MR, sizeof(int)), r->cnt = (int *)cli_xcalloc(MR, sizeof(int)), r->phr = (int *)cli_xcalloc(MR, sizeof(int));
    r->reg = (float *)cli_xcalloc(MR * D, sizeof(float)), r->pl = (float *)cli_xcalloc(MR * D, sizeof(float));
    r->pm = (float *)cli_xcalloc(MR, sizeof(float)), r->pr = (float *)cli_xcalloc(MR, sizeof(float)), r->nr = (float *)cli_xcalloc(MR, sizeof(float));
    r->emb = (float *)cli_xcalloc(MR * EMB, sizeof(float)), r->u = (float *)cli_xcalloc(MR * EMB, sizeof(float));
    if (!grads) return;
    r->du = (float *)cli_xcalloc(MR * EMB, sizeof(float)), r->de = (float *)cli_xcalloc(MR * EMB, sizeof(float));
    r->dpl = (float *)cli_xcalloc(MR * D, sizeof(float)), r->dreg = (float *)cli_xcalloc(MR * D, sizeof(float));
}

static void regions_free(regions *r) {
    free(r->obj), free(r->rid), free(r->cnt), free(r->phr), free(r->reg), free(r->pl), free(r->pm), free(r->pr), free(r->nr);
    free(r->emb), free(r->u), free(r->du), free(r->de), free(r->dpl), free(r->dreg);
}

/* the regions' unit embeddings r->u, from the tower's output rows [nb][G*G+1][D] of images imgs[nb] */
static void regions_forward(regions *r, const head *h, const world *w, const int *imgs, int nb, const float *rows, int G) {
    r->n = find_regions(w, imgs, nb, G, r->obj, r->rid, r->cnt, r->phr);
    pool_regions(rows, nb, G * G + 1, h->D, r->obj, r->rid, r->cnt, r->n, r->reg);
    image_head_forward(h, r->reg, r->n, r->pl, r->pm, r->pr, r->emb);
    l2norm(r->u, r->nr, r->emb, r->n);
}

/* caption k of image i, or the next one it has */
static int caption_of(const captions *cp, int i, int k) {
    int j;
    for (j = 0; j < 5; j++)
        if (cp->ids[i * VIEWS + (k + j) % 5]) return i * VIEWS + (k + j) % 5;
    return -1;
}

/* unit image embeddings [n][EMB] of images idx[n] (no activations kept); the tower's output rows too
   when rows [n][N][D] is not NULL */
static void embed_images(LlavaModel *m, const head *h, const world *w, const int *idx, int n, float *u, float *rows) {
    const LlavaConfig *c = llava_model_config(m);
    const int S = c->vision_image_size, D = c->vision_hidden, N = (S / c->vision_patch_size) * (S / c->vision_patch_size) + 1;
    float *pix = (float *)cli_xcalloc((size_t)3 * S * S * n, sizeof(float)), *out = (float *)cli_xcalloc((size_t)N * D * n_threads(), sizeof(float));
    float *cls = (float *)cli_xcalloc((size_t)n * D, sizeof(float)), *pl = (float *)cli_xcalloc((size_t)n * D, sizeof(float));
    float *pm = (float *)cli_xcalloc((size_t)n, sizeof(float)), *pr = (float *)cli_xcalloc((size_t)n, sizeof(float));
    float *e = (float *)cli_xcalloc((size_t)n * EMB, sizeof(float)), *nr = (float *)cli_xcalloc((size_t)n, sizeof(float));
    const size_t npix = (size_t)3 * S * S;
    int i, bad = 0;
    for (i = 0; i < n; i++) load_pixels(m, w, idx[i], pix + (size_t)i * npix);
    CLI_OMP(omp parallel for schedule(dynamic, 1) reduction(| : bad))
    for (i = 0; i < n; i++) {
        float *o = out + (size_t)thread_id() * N * D;
        if (llava_tower_encode(m, pix + (size_t)i * npix, o) != LLAVA_OK) bad = 1;
        else {
            pool_rows(h, o, N, cls + (size_t)i * D); /* every row, the CLS first */
            if (rows) memcpy(rows + (size_t)i * N * D, o, (size_t)N * D * sizeof(float));
        }
    }
    if (bad) cli_die("out of memory encoding images");
    image_head_forward(h, cls, n, pl, pm, pr, e);
    l2norm(u, nr, e, n);
    free(pix), free(out), free(cls), free(pl), free(pm), free(pr), free(e), free(nr);
}

/* unit text embeddings [n][EMB] of the captions cap[n] (indices into cp), or of their hard negatives */
static void embed_captions(const head *h, const captions *cp, const int *cap, int n, int neg, float *v) {
    const int chunk = 128;
    int i0, i;
    float *nr = (float *)cli_xcalloc((size_t)chunk, sizeof(float));
    for (i0 = 0; i0 < n; i0 += chunk) {
        const int b = MIN(chunk, n - i0);
        const int *ids[128];
        int len[128];
        tcache A;
        for (i = 0; i < b; i++)
            if (neg) ids[i] = cp->neg[cap[i0 + i]], len[i] = cp->nlen[cap[i0 + i]];
            else ids[i] = cp->ids[cap[i0 + i]], len[i] = cp->len[cap[i0 + i]];
        text_forward(h, &A, ids, len, b);
        l2norm(v + (size_t)i0 * EMB, nr, A.emb, b);
        tcache_free(&A);
    }
    free(nr);
}

/* retrieval over images idx[n]: top-1 image -> caption among all n captions, and among groups of `group`
   (the in-batch view), averaged over the five caption kinds; caption -> image among all n; and how often
   the image is closer to its caption than to the caption's hard negative (one shape or color word
   swapped: what telling shapes and colors apart takes) */
static void retrieval(const char *what, LlavaModel *m, const head *h, const world *w, const captions *cp, const int *idx,
                      int n, int group, int with_regions) {
    float *u = (float *)cli_xcalloc((size_t)n * EMB, sizeof(float)), *v = (float *)cli_xcalloc((size_t)n * EMB, sizeof(float));
    float *vn = (float *)cli_xcalloc((size_t)n * EMB, sizeof(float));
    int *cap = (int *)cli_xcalloc((size_t)n, sizeof(int)), *withneg = (int *)cli_xcalloc((size_t)n, sizeof(int));
    double all = 0.0, grp = 0.0, t2i = 0.0, sgrp = 0.0;
    int i, j, k, e, kinds = 0, negright = 0, negn = 0, snegright = 0, snegn = 0;
    if (group > n) group = n;
    const int ngroups = n / group;
    const LlavaConfig *c = llava_model_config(m);
    const int G = c->vision_image_size / c->vision_patch_size, N = G * G + 1, D = c->vision_hidden;
    float *rows = with_regions ? (float *)cli_xcalloc((size_t)n * N * D, sizeof(float)) : NULL;
    embed_images(m, h, w, idx, n, u, rows);
    if (with_regions) { /* each object's patch rows against the phrases, as the region loss trains them */
        regions rg;
        float *pv = (float *)cli_xcalloc((size_t)NPHR * EMB, sizeof(float)), *pn = (float *)cli_xcalloc((size_t)NPHR, sizeof(float));
        double racc[3];
        tcache A;
        regions_alloc(&rg, n, G, D, 0);
        regions_forward(&rg, h, w, idx, n, rows, G);
        text_forward(h, &A, (const int *const *)cp->phr, cp->plen, NPHR);
        l2norm(pv, pn, A.emb, NPHR);
        tcache_free(&A);
        region_loss(rg.u, pv, rg.n, NPHR, rg.phr, HW(P_SCALE)[0], NULL, NULL, NULL, racc);
        printf("clip: %s, %d objects: colour and shape from the object's patches, top-1 among the %d phrases %.1f%% (chance %.1f%%); "
               "its colour right %.1f%%, its shape right %.1f%%\n",
               what, rg.n, NPHR, 100.0 * racc[0], 100.0 / NPHR, 100.0 * racc[1], 100.0 * racc[2]);
        regions_free(&rg);
        free(pv), free(pn);
    }
    free(rows);
    for (k = 0; k < VIEWS; k++) { /* the five captions, then the colour-free view */
        int right = 0, gright = 0, tright = 0;
        for (i = 0; i < n; i++) cap[i] = k == SHAPE_VIEW && cp->ids[idx[i] * VIEWS + k] ? idx[i] * VIEWS + k : caption_of(cp, idx[i], k % 5);
        embed_captions(h, cp, cap, n, 0, v);
        for (i = j = 0; i < n; i++)
            if (cp->neg[cap[i]]) withneg[j++] = cap[i];
        embed_captions(h, cp, withneg, j, 1, vn);
        for (i = j = 0; i < n; i++) {
            float sp = 0.0f, sn = 0.0f;
            if (!cp->neg[cap[i]]) continue;
            for (e = 0; e < EMB; e++) sp += u[(size_t)i * EMB + e] * v[(size_t)i * EMB + e], sn += u[(size_t)i * EMB + e] * vn[(size_t)j * EMB + e];
            if (k == SHAPE_VIEW) snegright += sp > sn, snegn++;
            else negright += sp > sn, negn++;
            j++;
        }
        for (i = 0; i < n; i++) {
            int best = 0, gbest = -1, tbest = 0;
            float bs = -2.0f, gs = -2.0f, ts = -2.0f;
            const int g0 = (i / group) * group;
            for (j = 0; j < n; j++) {
                float s = 0.0f, st = 0.0f;
                for (e = 0; e < EMB; e++) s += u[(size_t)i * EMB + e] * v[(size_t)j * EMB + e];
                for (e = 0; e < EMB; e++) st += v[(size_t)i * EMB + e] * u[(size_t)j * EMB + e];
                if (s > bs) bs = s, best = j;
                if (st > ts) ts = st, tbest = j;
                if (j >= g0 && j < g0 + group && s > gs) gs = s, gbest = j;
            }
            right += best == i;
            tright += tbest == i;
            if (i < ngroups * group) gright += gbest == i;
        }
        if (k == SHAPE_VIEW) {
            sgrp = (double)gright / (ngroups * group);
            continue;
        }
        all += (double)right / n;
        t2i += (double)tright / n;
        grp += (double)gright / (ngroups * group);
        kinds++;
    }
    printf("clip: %s, %d images: image->caption top-1 %.1f%% among all %d captions (chance %.1f%%), %.1f%% in batches of %d "
           "(chance %.1f%%); caption->image %.1f%%; caption over its hard negative %.1f%% of %d (chance 50%%)\n",
           what, n, 100.0 * all / kinds, n, 100.0 / n, 100.0 * grp / kinds, group, 100.0 / group, 100.0 * t2i / kinds,
           negn ? 100.0 * negright / negn : 0.0, negn);
    printf("clip: %s, colour-free view (sizes and shapes only): image->text %.1f%% in batches of %d; over its hard negative %.1f%% of %d\n",
           what, 100.0 * sgrp, group, snegn ? 100.0 * snegright / snegn : 0.0, snegn);
    free(u), free(v), free(vn), free(cap), free(withneg);
}

/* the trained post_layernorm goes into the checkpoint beside the tower (LLaVA does not run it; transformers'
   CLIPVisionModel wants it) */
static void save_with_post_ln(LlavaModel *m, const head *h, const char *tokdir, const char *out) {
    LlavaTensor t[2];
    int i;
    memset(t, 0, sizeof t);
    for (i = 0; i < 2; i++) {
        t[i].name = i ? "vision_tower.vision_model.post_layernorm.weight" : "vision_tower.vision_model.post_layernorm.bias";
        t[i].data = i ? HW(P_POST_W) : HW(P_POST_B);
        t[i].ndim = 1;
        t[i].shape[0] = h->D;
    }
    save_and_check(m, t, 2, tokdir, out);
}

static int cmd_clip(const opts *o) {
    LlavaModel *m = llava_model_load(o->model);
    if (!m) cli_die("%s", llava_last_error());
    if (o->bf16) llava_use_bf16(m, 1);
    printf("clip: matrix products on %s\n", llava_backend_name(m));
    const LlavaConfig *c = llava_model_config(m);
    if (llava_tower_layers(m) != c->vision_layers)
        cli_die("%s: vision_feature_layer %d runs %d of the tower's %d layers; CLIP trains the output of the last one, so load a "
                "model with vision_feature_layer -1 (stage0 init's default)",
                o->model, c->vision_feature_layer, llava_tower_layers(m), c->vision_layers);
    LlavaTokenizer *tok = model_tokenizer(o->model);
    world w;
    load_world(o->world, &w);
    if (w.n_train < 2) cli_die("world %s: %d images leave %d for training; clip needs at least 2", o->world, w.n, w.n_train);
    int B = o->batch;
    if (B > w.n_train) {
        printf("clip: --batch %d is more than the %d training images; using %d\n", B, w.n_train, w.n_train);
        B = w.n_train;
    }
    captions cp;
    tokenize_captions(&w, tok, &cp);
    const int S = c->vision_image_size, D = c->vision_hidden, N = llava_tower_rows(m);
    const size_t npix = (size_t)3 * S * S;

    /* the tower: an LlavaTrainer over "vision_tower." (stage 0: no default group). Gradient clipping is
       done here, over the tower and the head together, so the trainer's own is off. */
    LlavaTrainOptions to;
    llava_train_defaults(&to, 0);
    to.lr = o->lr;
    to.weight_decay = o->wd;
    to.beta2 = 0.98f; /* CLIP's */
    to.eps = 1e-6f;
    to.warmup_ratio = o->warmup;
    to.total_steps = o->steps;
    to.max_grad_norm = 0.0f;
    LlavaTrainer *t = llava_trainer_new(m, &to);
    if (!t || llava_trainer_add_group(t, "vision_tower.", o->lr, o->wd) != LLAVA_OK) cli_die("%s", llava_last_error());
#ifdef _OPENMP
    omp_set_max_active_levels(1); /* the kernels inside a per-image (per-caption) thread stay on it */
#endif

    /* the head; post_layernorm continues from the checkpoint when it has one (a second clip run) */
    float *post = (float *)cli_xcalloc((size_t)2 * D, sizeof(float));
    const int have_post = llava_model_read_tensor(m, "vision_tower.vision_model.post_layernorm.weight", post, (size_t)D) == LLAVA_OK &&
                          llava_model_read_tensor(m, "vision_tower.vision_model.post_layernorm.bias", post + D, (size_t)D) == LLAVA_OK;
    head hd, *h = &hd;
    head_init(h, llava_tokenizer_vocab_size(tok), D, have_post ? post : NULL, have_post ? post + D : NULL, o->seed);
    free(post);
    h->mean_pool = o->mean_pool;
    h->prec = o->bf16 ? LLAVA_PREC_BF16 : LLAVA_PREC_F32;
    size_t nhead = 0;
    int i, j, step;
    for (i = 0; i < P_N; i++) nhead += h->p[i].n;
    printf("clip: %d training images (%d held out), batch %d%s, %d steps, lr %g, wd %g, warmup %g, image embedding from the %s; "
           "vision tower %.2fM parameters, text transformer + head %.2fM\n",
           w.n_train, w.n - w.n_train, B, o->negatives ? " (+ a hard negative caption each)" : "", o->steps, (double)o->lr, (double)o->wd, (double)o->warmup, o->mean_pool ? "mean of the patch rows" : "CLS row", llava_model_n_params(m, "vision_tower.") / 1e6, nhead / 1e6);

    if (o->negatives) { /* one example, so that the log shows what the negatives are */
        char ex[2048];
        uint64_t r = 1;
        for (i = 0; i < w.n_train; i++)
            if (w.sc[i].cap[0] && hard_negative(w.sc[i].cap[0], &r, ex, sizeof ex)) {
                printf("clip: hard negative of \"%s\": \"%s\"\n", w.sc[i].cap[0], ex);
                break;
            }
    }
    if (o->shape_text > 0.0f) { /* likewise for the colour-free view */
        char ex[1024];
        uint64_t r = 1;
        shape_text(&w.sc[0], &r, ex, sizeof ex);
        printf("clip: %.0f%% of the texts are the colour-free view, as for image %s: \"%s\"\n", 100.0 * o->shape_text, w.sc[0].id, ex);
    }
    /* per-step buffers; the tower's activations for the batch are kept for its backward, a chunk of
       VCHUNK images together (one product per linear layer and chunk) */
    const int nvc = (B + VCHUNK - 1) / VCHUNK;
    chunk *ck = (chunk *)cli_xcalloc((size_t)nvc, sizeof *ck);
    for (i = 0; i < nvc; i++) {
        ck[i].images = MIN(VCHUNK, B - i * VCHUNK);
        ck[i].cache = llava_tower_cache_new(t, ck[i].images);
        if (!ck[i].cache) cli_die("%s", llava_last_error());
        ck[i].n = llava_tower_grad_size(ck[i].cache);
        ck[i].grad = (float *)cli_xcalloc(ck[i].n, sizeof(float));
    }
    const int nt = n_threads();
    float *pix = (float *)cli_xcalloc(npix * B, sizeof(float)), *vout = (float *)cli_xcalloc((size_t)N * D * B, sizeof(float));
    const float **ppix = (const float **)cli_xcalloc((size_t)B, sizeof *ppix);
    for (i = 0; i < B; i++) ppix[i] = pix + (size_t)i * npix;
    float *cls = (float *)cli_xcalloc((size_t)B * D, sizeof(float)), *pl = (float *)cli_xcalloc((size_t)B * D, sizeof(float));
    float *pm = (float *)cli_xcalloc((size_t)B, sizeof(float)), *pr = (float *)cli_xcalloc((size_t)B, sizeof(float));
    float *ie = (float *)cli_xcalloc((size_t)B * EMB, sizeof(float)), *u = (float *)cli_xcalloc((size_t)B * EMB, sizeof(float));
    /* R texts a step: the B captions, then (with negatives) a hard negative of each */
    const int R = o->negatives ? 2 * B : B;
    /* RT texts through the text transformer: the R, then (with --regions) the NPHR phrases */
    const int RT = R + (o->regions > 0.0f ? NPHR : 0);
    float *vv = (float *)cli_xcalloc((size_t)RT * EMB, sizeof(float)), *un = (float *)cli_xcalloc((size_t)B, sizeof(float));
    float *vn = (float *)cli_xcalloc((size_t)RT, sizeof(float)), *du = (float *)cli_xcalloc((size_t)B * EMB, sizeof(float));
    float *dv = (float *)cli_xcalloc((size_t)RT * EMB, sizeof(float)), *die_ = (float *)cli_xcalloc((size_t)B * EMB, sizeof(float));
    float *dte = (float *)cli_xcalloc((size_t)RT * EMB, sizeof(float)), *dpl = (float *)cli_xcalloc((size_t)B * D, sizeof(float));
    float *dcls = (float *)cli_xcalloc((size_t)B * D, sizeof(float));
    float *te = (float *)cli_xcalloc((size_t)RT * EMB, sizeof(float));
    /* the objects of a batch (--regions) */
    const int G = S / c->vision_patch_size;
    regions rg;
    regions_alloc(&rg, o->regions > 0.0f ? B : 0, G, D, 1);
    double rloss_sum = 0.0, racc_sum = 0.0;
    /* texts [ch[k], ch[k+1]) go to thread k; its text gradients to th[k], a head sharing h's weights */
    int *ch = (int *)cli_xcalloc((size_t)nt + 1, sizeof(int));
    tcache *TA = (tcache *)cli_xcalloc((size_t)nt, sizeof *TA);
    head *th = (head *)cli_xcalloc((size_t)nt, sizeof *th);
    for (i = 0; i <= nt; i++) ch[i] = (int)((long)RT * i / nt);
    for (i = 0; i < nt; i++) {
        th[i] = *h;
        for (j = 0; j < P_N; j++) th[i].p[j].g = (float *)cli_xcalloc(h->p[j].n, sizeof(float));
    }
    const int **capids = (const int **)cli_xcalloc((size_t)RT, sizeof(int *));
    int *caplen = (int *)cli_xcalloc((size_t)RT, sizeof(int));
    for (i = R; i < RT; i++) capids[i] = cp.phr[i - R], caplen[i] = cp.plen[i - R];
    sampler smp;
    sampler_init(&smp, w.n_train, o->seed);
    uint64_t crng = o->seed * 0xD1B54A32D192ED03ull + 7;
    double t0 = cli_now(), tlog = t0, loss_sum = 0.0, acc_sum = 0.0, first = -1.0, last = 0.0;
    CliProgress pg; /* on stderr: rate and time left */
    cli_progress_begin(&pg, "clip", o->steps, o->quiet);
    int nlog = 0;
    const float ln100 = logf(100.0f);
    for (step = 0; step < o->steps; step++) {
        const int *batch = sampler_next(&smp, B);
        for (i = 0; i < P_N; i++) memset(h->p[i].g, 0, h->p[i].n * sizeof(float));
        /* images: tower (activations kept), one image per thread; CLS row -> head */
        for (i = 0; i < B; i++) {
            load_pixels(m, &w, batch[i], pix + (size_t)i * npix);
            const int k = o->shape_text > 0.0f && (double)(llava_rng_next(&crng) >> 11) * 0x1.0p-53 < (double)o->shape_text &&
                                  cp.ids[batch[i] * VIEWS + SHAPE_VIEW]
                              ? batch[i] * VIEWS + SHAPE_VIEW
                              : caption_of(&cp, batch[i], (int)(llava_rng_next(&crng) % 5));
            capids[i] = cp.ids[k];
            caplen[i] = cp.len[k];
            if (R > B) { /* its hard negative; for a caption without one, a caption of an image outside the batch */
                int q = k;
                if (!cp.neg[k]) q = caption_of(&cp, (batch[i] + 1 + (int)(llava_rng_next(&crng) % (uint64_t)(w.n_train - 1))) % w.n_train, 0);
                capids[B + i] = cp.neg[k] ? cp.neg[k] : cp.ids[q];
                caplen[B + i] = cp.neg[k] ? cp.nlen[k] : cp.len[q];
            }
        }
        /* One parallel region per step, so that few barriers stand between the threads (with the cores
           shared, every barrier can wait a whole time slice): the images a chunk per thread, captions in
           one chunk per thread; the small head in between on one thread. Kernels called inside run on
           their caller's thread (nested regions are off). */
        double loss = 0.0, acc = 0.0;
        CLI_OMP(omp parallel private(i, j))
        {
            CLI_OMP(omp for schedule(dynamic, 1))
            for (i = 0; i < nvc; i++) {
                float *o = vout + (size_t)i * VCHUNK * N * D;
                ck[i].failed = llava_tower_forward(ck[i].cache, ppix + i * VCHUNK, ck[i].images, o) != LLAVA_OK;
                for (j = 0; j < ck[i].images; j++) pool_rows(h, o + (size_t)j * N * D, N, cls + ((size_t)i * VCHUNK + j) * D);
            }
            CLI_OMP(omp for schedule(static, 1))
            for (i = 0; i < nt; i++)
                if (ch[i + 1] > ch[i]) text_forward(h, &TA[i], capids + ch[i], caplen + ch[i], ch[i + 1] - ch[i]);
            CLI_OMP(omp single)
            {
                float dscale = 0.0f;
                for (j = 0; j < nt; j++)
                    if (ch[j + 1] > ch[j]) memcpy(te + (size_t)ch[j] * EMB, TA[j].emb, (size_t)(ch[j + 1] - ch[j]) * EMB * sizeof(float));
                image_head_forward(h, cls, B, pl, pm, pr, ie);
                l2norm(u, un, ie, B);
                l2norm(vv, vn, te, RT);
                loss = clip_loss(u, vv, B, R, HW(P_SCALE)[0], du, dv, &dscale, &acc);
                HG(P_SCALE)[0] += dscale;
                rg.n = 0;
                if (o->regions > 0.0f) { /* the objects through the same head, against the phrases (texts R..RT-1) */
                    double racc[3];
                    regions_forward(&rg, h, &w, batch, B, vout, G);
                    const double rl = region_loss(rg.u, vv + (size_t)R * EMB, rg.n, NPHR, rg.phr, HW(P_SCALE)[0], rg.du, dv + (size_t)R * EMB,
                                                  &dscale, racc);
                    const float wr = o->regions;
                    size_t e;
                    for (e = 0; e < (size_t)rg.n * EMB; e++) rg.du[e] *= wr;
                    for (e = 0; e < (size_t)NPHR * EMB; e++) dv[(size_t)R * EMB + e] *= wr;
                    HG(P_SCALE)[0] += wr * dscale;
                    rloss_sum += rl, racc_sum += racc[0]; /* logged apart from the contrastive loss */
                    image_head_backward(h, rg.du, rg.u, rg.nr, rg.reg, rg.pl, rg.pm, rg.pr, rg.n, rg.de, rg.dpl, rg.dreg);
                }
                l2norm_backward(dte, dv, vv, vn, RT);
                image_head_backward(h, du, u, un, cls, pl, pm, pr, B, die_, dpl, dcls);
            }
            CLI_OMP(omp for schedule(static, 1))
            for (i = 0; i < nt; i++) {
                if (ch[i + 1] > ch[i]) text_backward(&th[i], &TA[i], dte + (size_t)ch[i] * EMB);
                tcache_free(&TA[i]);
            }
            CLI_OMP(omp for schedule(dynamic, 1))
            for (i = 0; i < nvc; i++) {
                for (j = i * VCHUNK; j < i * VCHUNK + ck[i].images; j++) {
                    float *d = vout + (size_t)j * N * D;
                    unpool_rows(h, dcls + (size_t)j * D, N, d); /* only the pooled rows have a gradient */
                    if (rg.n) unpool_regions(rg.dreg, j, N, D, rg.obj, rg.rid, rg.cnt, d); /* and each object's rows */
                }
                if (llava_tower_backward(ck[i].cache, vout + (size_t)i * VCHUNK * N * D, ck[i].grad) != LLAVA_OK) ck[i].failed = 1;
            }
        }
        for (i = 0; i < nvc; i++)
            if (ck[i].failed) cli_die("step %d: out of memory in the vision tower", step + 1);
        if (!(loss == loss) || loss > 1e30) cli_die("step %d: the loss is %g; stopping (try a lower --lr)", step + 1, loss);
        chunks_reduce(t, ck, nvc);
        for (j = 0; j < nt; j++) /* the text transformer's per-thread gradients into the head's */
            for (i = P_TOK; i < P_N; i++) {
                llava_add(h->p[i].g, th[j].p[i].g, h->p[i].n);
                memset(th[j].p[i].g, 0, h->p[i].n * sizeof(float));
            }
        /* one gradient norm over tower and head (torch.nn.utils.clip_grad_norm_ at 1.0) */
        double norm2 = 0.0;
        size_t q, n;
        for (i = 0; i < llava_trainer_n_params(t); i++) {
            const float *g;
            llava_trainer_param(t, i, NULL, &g, &n);
            if (g)
                for (q = 0; q < n; q++) norm2 += (double)g[q] * g[q];
        }
        for (i = 0; i < P_N; i++)
            for (q = 0; q < h->p[i].n; q++) norm2 += (double)h->p[i].g[q] * h->p[i].g[q];
        const double norm = sqrt(norm2);
        if (!(norm == norm) || norm > 1e30) cli_die("step %d: the gradient norm is %g; stopping (try a lower --lr)", step + 1, norm);
        if (norm > 1.0) {
            const float coef = (float)(1.0 / (norm + 1e-6));
            for (i = 0; i < llava_trainer_n_params(t); i++) {
                float *g = llava_trainer_grad(t, i);
                llava_trainer_param(t, i, NULL, NULL, &n);
                if (g)
                    for (q = 0; q < n; q++) g[q] *= coef;
            }
            for (i = 0; i < P_N; i++)
                for (q = 0; q < h->p[i].n; q++) h->p[i].g[q] *= coef;
        }
        /* the head's AdamW at the trainer's schedule, then the trainer's update of the tower (its
           gradients are already the batch mean's) */
        const int done = llava_trainer_steps_done(t);
        const double f = llava_trainer_lr_factor(t, done);
        for (i = 0; i < P_N; i++)
            llava_adamw(h->p[i].w, h->p[i].m, h->p[i].v, h->p[i].g, h->p[i].n, (float)(o->lr * f), to.beta1, to.beta2, to.eps,
                        h->p[i].decay ? o->wd : 0.0f, done + 1);
        if (HW(P_SCALE)[0] > ln100) HW(P_SCALE)[0] = ln100; /* CLIP clips the logit scale at 100 */
        if (HW(P_SCALE)[0] < 0.0f) HW(P_SCALE)[0] = 0.0f;
        LlavaStepStats st;
        if (llava_trainer_apply(t, loss, &st) != LLAVA_OK) cli_die("%s", llava_last_error());
        if (first < 0) first = loss;
        last = loss;
        loss_sum += loss;
        acc_sum += acc;
        nlog++;
        {
            char info[48];
            snprintf(info, sizeof info, "loss %.4f", (double)loss);
            fflush(stdout); /* the log's lines before the progress line, where both go to one file */
            cli_progress(&pg, step + 1, info);
        }
        if ((step + 1) % o->log_every == 0 || step + 1 == o->steps) {
            const double tn = cli_now();
            char rs[96] = "";
            if (o->regions > 0.0f) snprintf(rs, sizeof rs, "  region loss %.4f acc %5.1f%%", rloss_sum / nlog, 100.0 * racc_sum / nlog);
            printf("step %5d/%d  loss %.4f  batch acc %5.1f%%%s  lr %.2e  temp %6.2f  grad %.3f  %.1f img/s\n", step + 1, o->steps,
                   loss_sum / nlog, 100.0 * acc_sum / nlog, rs, (double)o->lr * f, exp((double)HW(P_SCALE)[0]), norm,
                   nlog * B / (tn - tlog));
            fflush(stdout);
            tlog = tn;
            loss_sum = acc_sum = rloss_sum = racc_sum = 0.0;
            nlog = 0;
        }
    }
    cli_progress_end(&pg);
    const double ttrain = cli_now() - t0;
    printf("clip: %d steps in %.1f s (%.2f s/step); loss %.4f -> %.4f (chance ln %d = %.4f)\n", o->steps, ttrain, ttrain / o->steps, first,
           last, B, log((double)B));
    /* retrieval on held-out images, and on as many training images for comparison */
    {
        const int nh = w.n - w.n_train, nt = MIN(w.n_train, MAX(nh, 2));
        int *idx = (int *)cli_xcalloc((size_t)MAX(nh, nt), sizeof(int));
        const double te = cli_now();
        if (nh >= 2) {
            for (j = 0; j < nh; j++) idx[j] = w.n_train + j;
            retrieval("held-out", m, h, &w, &cp, idx, nh, B, o->regions > 0.0f);
        }
        for (j = 0; j < nt; j++) idx[j] = j;
        retrieval("training", m, h, &w, &cp, idx, nt, B, o->regions > 0.0f);
        printf("clip: evaluation %.1f s\n", cli_now() - te);
        free(idx);
    }
    save_with_post_ln(m, h, o->model, o->out);

    for (i = 0; i < nvc; i++) llava_tower_cache_free(ck[i].cache), free(ck[i].grad);
    for (i = 0; i < nt; i++)
        for (j = 0; j < P_N; j++) free(th[i].p[j].g);
    free(ck), free(te), free(ch), free(TA), free(th);
    free(ppix), free(pix), free(vout), free(cls), free(pl), free(pm), free(pr), free(ie), free(u), free(vv), free(un), free(vn);
    free(du), free(dv), free(die_), free(dte), free(dpl), free(dcls), free(capids), free(caplen), free(smp.perm);
    regions_free(&rg);
    for (i = 0; i < w.n * VIEWS; i++) free(cp.ids[i]), free(cp.neg[i]);
    for (i = 0; i < NPHR; i++) free(cp.phr[i]);
    free(cp.ids), free(cp.len), free(cp.neg), free(cp.nlen);
    head_free(h);
    free_world(&w);
    llava_trainer_free(t);
    llava_tokenizer_free(tok);
    llava_model_free(m);
    return 0;
}

/* ================================================================================================ */
/* lm                                                                                               */
/* ================================================================================================ */
typedef struct {
    int **ids, *len, n, cap;
    long tokens;
    int cut;
    LlavaStrMap *words; /* when set, add_text counts the words of what it adds (--repeats) */
} texts;

/* the words (letters and digits, lowercased) of a text, counted in *m */
static void count_words(LlavaStrMap *m, const char *text) {
    const char *p = text;
    while (*p) {
        if (!isalnum((unsigned char)*p)) {
            p++;
            continue;
        }
        char w[32];
        size_t n = 0;
        while (isalnum((unsigned char)*p)) {
            if (n < sizeof w) w[n] = (char)tolower((unsigned char)*p);
            n++, p++;
        }
        if (n > sizeof w) continue; /* no word of the world is this long */
        if (llava_strmap_count(m, w, n) < 0) cli_die("out of memory");
    }
}

/* <s> text </s>, cut to max_len */
static void add_text(texts *tx, const LlavaTokenizer *tok, const char *text, int max_len, const char *where) {
    const int bos = llava_tokenizer_bos(tok), eos = llava_tokenizer_eos(tok);
    int n = tokenize(tok, text, NULL, 0);
    if (n < 0) cli_die("%s: %s", where, llava_last_error());
    if (tx->words) count_words(tx->words, text);
    int *ids = (int *)cli_xcalloc((size_t)n + 2, sizeof(int)), k = 0;
    if (bos >= 0) ids[k++] = bos;
    if (tokenize(tok, text, ids + k, n) != n) cli_die("%s: %s", where, llava_last_error());
    k += n;
    ids[k++] = eos;
    if (k > max_len) k = max_len, tx->cut++;
    if (tx->n == tx->cap) {
        tx->cap = tx->cap ? 2 * tx->cap : 1024;
        tx->ids = (int **)realloc(tx->ids, (size_t)tx->cap * sizeof(int *));
        tx->len = (int *)realloc(tx->len, (size_t)tx->cap * sizeof(int));
        if (!tx->ids || !tx->len) cli_die("out of memory");
    }
    tx->ids[tx->n] = ids;
    tx->len[tx->n++] = k;
    tx->tokens += k;
}

static const char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}
static const world *sort_world; /* qsort has no context argument */
static int by_file(const void *a, const void *b) {
    return strcmp(base_name(sort_world->sc[*(const int *)a].file), base_name(sort_world->sc[*(const int *)b].file));
}

/* "000123.png", "images/000123.png" -> the scene it shows, by file name (order: scenes sorted by file
   name); -1 if none */
static int scene_of(const world *w, const int *order, const char *image) {
    const char *b = base_name(image);
    int lo = 0, hi = w->n - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2, c = strcmp(base_name(w->sc[order[mid]].file), b);
        if (!c) return order[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* LLaVA JSON conversations -> their turns' text joined by newlines, "<image>" and the newline beside it
   removed (the language model learns the world's language here, not the image placeholder). Samples
   about held-out images stay out. */
static void add_instruct(texts *tx, const LlavaTokenizer *tok, const world *w, const char *path, int max_len, int *skipped) {
    size_t n = 0;
    char *text = llava_read_file(path, (size_t)1 << 31, &n);
    LlavaJson j;
    if (!text) cli_die("--instruct: %s", llava_last_error());
    if (llava_json_parse(&j, text, n, path) != LLAVA_OK) cli_die("--instruct: %s", llava_last_error());
    const LlavaJsonNode *root = &j.nodes[0], *e, *t;
    if (root->type != LLAVA_JSON_ARR) cli_die("--instruct %s: not a JSON list of samples (LLaVA's format)", path);
    int k = 0, *order = (int *)cli_xcalloc((size_t)w->n, sizeof(int));
    for (k = 0; k < w->n; k++) order[k] = k;
    sort_world = w;
    qsort(order, (size_t)w->n, sizeof(int), by_file);
    k = 0;
    for (e = llava_json_first(&j, root); e; e = llava_json_next(&j, e), k++) {
        const LlavaJsonNode *img = llava_json_get(&j, e, "image"), *conv = llava_json_get(&j, e, "conversations");
        char where[160];
        snprintf(where, sizeof where, "--instruct %.100s: sample %d", path, k);
        if (!conv || conv->type != LLAVA_JSON_ARR) cli_die("%s has no \"conversations\" list", where);
        if (img && img->type == LLAVA_JSON_STR) {
            const int s = scene_of(w, order, img->str);
            if (s >= w->n_train) {
                (*skipped)++;
                continue;
            }
        }
        size_t cap = 1, len = 0;
        for (t = llava_json_first(&j, conv); t; t = llava_json_next(&j, t)) {
            const LlavaJsonNode *v = llava_json_get(&j, t, "value");
            if (!v || v->type != LLAVA_JSON_STR) cli_die("%s: a turn without a string \"value\"", where);
            cap += strlen(v->str) + 1;
        }
        char *s = (char *)cli_xcalloc(cap, 1);
        for (t = llava_json_first(&j, conv); t; t = llava_json_next(&j, t)) {
            const char *p = llava_json_get(&j, t, "value")->str;
            if (len) s[len++] = '\n';
            while (*p) {
                if (!strncmp(p, "<image>", 7)) {
                    p += 7;
                    if (*p == '\n') p++;
                    else if (len && s[len - 1] == '\n') len--;
                    continue;
                }
                s[len++] = *p++;
            }
            while (len && (s[len - 1] == '\n' || s[len - 1] == ' ')) len--;
        }
        s[len] = 0;
        if (len) add_text(tx, tok, s, max_len, where);
        free(s);
    }
    llava_json_free(&j);
    free(text);
    free(order);
}

/* --repeats N: N texts of random words written twice, "w1 ... wk" newline "w1 ... wk" (k from 5 to 16),
   from the words that occur at least 20 times in the training texts. A language model pretrained on
   natural text has met text that repeats itself and has learned to copy from its context by position
   (induction heads); the world's captions hardly repeat, and a model trained on them alone does not learn
   it (tools/py/probe_lm.py, "repeat"). Only copying predicts a repetition's words. Naming the letter written
   before the option that matches, as multiple choice asks, is a lookup in the context of the same kind. */
static void add_repeats(texts *tx, const LlavaTokenizer *tok, const LlavaStrMap *words, int n, uint64_t seed,
                        int max_len) {
    int *pick = (int *)cli_xcalloc((size_t)words->n + 1, sizeof(int)), np = 0, e, i, k;
    for (e = 0; e < words->n; e++)
        if (words->val[e] >= 20) pick[np++] = e;
    if (np < 2) cli_die("--repeats: the training texts have %d words that occur 20 times or more; at least 2 are needed", np);
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 777;
    char *buf = (char *)cli_xcalloc(2 * 16 * 34 + 2, 1); /* two halves of at most 16 words of at most 32 bytes and a space */
    for (i = 0; i < n; i++) {
        const int nw = 5 + (int)(llava_rng_next(&rng) % 12);
        size_t len = 0;
        for (k = 0; k < nw; k++) {
            const int w = pick[llava_rng_next(&rng) % (uint64_t)np];
            if (k) buf[len++] = ' ';
            memcpy(buf + len, words->keys.p + words->koff[w], words->klen[w]);
            len += words->klen[w];
        }
        buf[len] = '\n';
        memcpy(buf + len + 1, buf, len);
        buf[2 * len + 1] = 0;
        add_text(tx, tok, buf, max_len, "--repeats");
        if (!i) printf("lm: repeats like \"%.*s\\n%s\" (from %d words)\n", (int)len, buf, buf + len + 1, np);
    }
    free(buf);
    free(pick);
}

/* mean next-token cross-entropy of the samples, through the inference path */
static double val_loss(LlavaModel *m, const texts *tx, int max_len, long *ntok) {
    const int V = llava_model_config(m)->text_vocab;
    LlavaContext *ctx = llava_context_new(m, max_len);
    float *logits = (float *)cli_xcalloc((size_t)max_len * V, sizeof(float));
    double sum = 0.0;
    long n = 0;
    int i, p, v;
    if (!ctx) cli_die("%s", llava_last_error());
    for (i = 0; i < tx->n; i++) {
        llava_context_reset(ctx);
        if (llava_eval(ctx, tx->ids[i], tx->len[i], NULL, 0, logits) < 0) cli_die("validation: %s", llava_last_error());
        for (p = 0; p + 1 < tx->len[i]; p++) {
            const float *l = logits + (size_t)p * V;
            float mx = l[0];
            double s = 0.0;
            for (v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
            for (v = 0; v < V; v++) s += exp((double)l[v] - mx);
            sum += mx + log(s) - l[tx->ids[i][p + 1]];
            n++;
        }
    }
    llava_context_free(ctx);
    free(logits);
    *ntok = n;
    return n ? sum / n : 0.0;
}

static void free_texts(texts *tx) {
    int i;
    for (i = 0; i < tx->n; i++) free(tx->ids[i]);
    free(tx->ids);
    free(tx->len);
}

static int cmd_lm(const opts *o) {
    LlavaModel *m = llava_model_load(o->model);
    if (!m) cli_die("%s", llava_last_error());
    if (o->bf16) llava_use_bf16(m, 1);
    printf("lm: matrix products on %s\n", llava_backend_name(m));
    const LlavaConfig *c = llava_model_config(m);
    LlavaTokenizer *tok = model_tokenizer(o->model);
    if (llava_tokenizer_vocab_size(tok) > c->text_vocab)
        cli_die("%s: the tokenizer has %d tokens but the model's vocabulary is %d", o->model, llava_tokenizer_vocab_size(tok), c->text_vocab);
    const int max_len = MIN(o->max_len, c->text_max_pos);
    world w;
    load_world(o->world, &w);
    texts tr, va;
    LlavaStrMap words;
    int i, k, skipped = 0;
    memset(&tr, 0, sizeof tr);
    memset(&va, 0, sizeof va);
    memset(&words, 0, sizeof words);
    if (o->repeats) tr.words = &words;
    for (i = 0; i < w.n; i++)
        for (k = 0; k < 5; k++) {
            char where[96];
            if (!w.sc[i].cap[k]) continue;
            snprintf(where, sizeof where, "image %s caption %d", w.sc[i].id, k);
            if (i < w.n_train) add_text(&tr, tok, w.sc[i].cap[k], max_len, where);
        }
    for (i = w.n_train; i < w.n; i++) /* validation: one caption per held-out image, the kind rotating */
        for (k = 0; k < 5; k++)
            if (w.sc[i].cap[(i + k) % 5]) {
                add_text(&va, tok, w.sc[i].cap[(i + k) % 5], max_len, "held-out caption");
                break;
            }
    const int ncap = tr.n;
    if (o->instruct) add_instruct(&tr, tok, &w, o->instruct, max_len, &skipped);
    const int nlang = tr.n;
    tr.words = NULL;
    if (o->repeats) add_repeats(&tr, tok, &words, o->repeats, o->seed, max_len);
    llava_strmap_free(&words);
    if (tr.n < 1) cli_die("no training text");
    const int B = MIN(o->batch, tr.n);
    printf("lm: %d training texts (%d captions%s%d conversations, %d about held-out images left out; %d repeats), %ld tokens, %d cut "
           "to %d; %d held-out captions\n",
           tr.n, ncap, o->instruct ? " + " : ", ", nlang - ncap, skipped, tr.n - nlang, tr.tokens, tr.cut, max_len, va.n);

    LlavaTrainOptions to;
    llava_train_defaults(&to, 0);
    to.lr = o->lr;
    to.weight_decay = o->wd;
    to.beta2 = 0.95f; /* GPT/LLaMA pretraining's */
    to.warmup_ratio = o->warmup;
    to.total_steps = o->steps;
    to.max_grad_norm = 1.0f;
    LlavaTrainer *t = llava_trainer_new(m, &to);
    if (!t || llava_trainer_add_group(t, "language_model.", o->lr, o->wd) != LLAVA_OK) cli_die("%s", llava_last_error());
    printf("lm: batch %d, %d steps, lr %g, wd %g, warmup %g; language model %.2fM parameters, vocab %d (ln V = %.3f)\n", B, o->steps,
           (double)o->lr, (double)o->wd, (double)o->warmup, llava_model_n_params(m, "language_model.") / 1e6, c->text_vocab, log((double)c->text_vocab));
    if (va.n) {
        long nt;
        const double l0 = val_loss(m, &va, max_len, &nt);
        printf("lm: held-out loss before training %.4f (%ld tokens)\n", l0, nt);
    }
    LlavaSample *s = (LlavaSample *)cli_xcalloc((size_t)B, sizeof *s);
    sampler smp;
    sampler_init(&smp, tr.n, o->seed);
    double t0 = cli_now(), tlog = t0, loss_sum = 0.0, first = -1.0, last = 0.0;
    CliProgress pg;
    cli_progress_begin(&pg, "lm", o->steps, o->quiet);
    long tok_log = 0;
    int nlog = 0, step;
    for (step = 0; step < o->steps; step++) {
        const int *batch = sampler_next(&smp, B);
        LlavaStepStats st;
        for (i = 0; i < B; i++) {
            s[i].ids = tr.ids[batch[i]];
            s[i].labels = tr.ids[batch[i]]; /* every next token is supervised (the trainer shifts) */
            s[i].n = tr.len[batch[i]];
            s[i].pixels = NULL;
            s[i].n_images = 0;
        }
        if (llava_trainer_step(t, s, B, &st) != LLAVA_OK) cli_die("step %d: %s", step + 1, llava_last_error());
        if (first < 0) first = st.loss;
        last = st.loss;
        loss_sum += st.loss;
        tok_log += st.tokens;
        nlog++;
        {
            char info[48];
            snprintf(info, sizeof info, "loss %.4f", (double)st.loss);
            fflush(stdout); /* the log's lines before the progress line, where both go to one file */
            cli_progress(&pg, step + 1, info);
        }
        if ((step + 1) % o->log_every == 0 || step + 1 == o->steps) {
            const double tn = cli_now();
            printf("step %5d/%d  loss %.4f  lr %.2e  grad %.3f  %.0f tok/s\n", step + 1, o->steps, loss_sum / nlog, (double)st.lr,
                   (double)st.grad_norm, tok_log / (tn - tlog));
            fflush(stdout);
            tlog = tn;
            loss_sum = 0.0;
            tok_log = 0;
            nlog = 0;
        }
    }
    cli_progress_end(&pg);
    const double ttrain = cli_now() - t0;
    printf("lm: %d steps in %.1f s (%.2f s/step); loss %.4f -> %.4f\n", o->steps, ttrain, ttrain / o->steps, first, last);
    if (va.n) {
        long nt;
        const double te = cli_now(), l1 = val_loss(m, &va, max_len, &nt);
        printf("lm: held-out loss %.4f (perplexity %.2f; %ld tokens, %.1f s)\n", l1, exp(l1), nt, cli_now() - te);
    }
    { /* a greedy sample from <s>, to see what the model writes */
        LlavaContext *ctx = llava_context_new(m, max_len);
        LlavaSampling sp;
        int out[64], nout = 0, start = llava_tokenizer_bos(tok);
        char text[1024];
        memset(&sp, 0, sizeof sp);
        if (ctx && start >= 0 && llava_generate(ctx, &start, 1, NULL, 0, &sp, MIN(60, max_len - 1), out, &nout, NULL, NULL) == LLAVA_OK &&
            llava_detokenize(tok, out, nout, 1, text, sizeof text) >= 0)
            printf("lm: greedy from <s>: \"%s\"\n", text);
        llava_context_free(ctx);
    }
    save_and_check(m, NULL, 0, o->model, o->out);
    free(s);
    free(smp.perm);
    free_texts(&tr);
    free_texts(&va);
    free_world(&w);
    llava_trainer_free(t);
    llava_tokenizer_free(tok);
    llava_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    opts o;
#ifdef _OPENMP
    /* libgomp's threads spin at every barrier by default. Training here runs thousands of short parallel
       regions per step, and on cores shared with other jobs a spinning thread holds a core that the thread
       it waits for needs: measured 40x slower (57 vs 2,300 tokens/s) with two such jobs on 2 cores. The
       policy is read once at start-up, so the program starts itself again with threads that sleep while
       they wait (set OMP_WAIT_POLICY yourself to choose otherwise). */
    if (!getenv("OMP_WAIT_POLICY") && setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0) {
        execv("/proc/self/exe", argv);
        if (strchr(argv[0], '/')) execv(argv[0], argv);
        else execvp(argv[0], argv);
        /* no re-exec possible: go on with the default policy */
    }
#endif
    parse(&o, argc, argv);
    if (!strcmp(o.cmd, "init")) return cmd_init(&o);
    if (!strcmp(o.cmd, "clip")) return cmd_clip(&o);
    return cmd_lm(&o);
}
