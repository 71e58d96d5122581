/* llava.h backend tests: the model on a backend whose memory the host cannot touch (tests/check_backend.h,
   "cpu-remote": the CPU kernels over a region that is PROT_NONE outside its entries) and on the CPU
   backend, compared.
   - every transformers fixture of tests/test_llava.c on the checking backend: logits within the same
     tolerance of transformers', bit-identical to the CPU backend's; greedy ids; KV-cached steps against one
     evaluation of the whole sequence; images encoded ahead; two GGUF text models;
   - what crosses between host and backend: each weight mapped once at load, a prompt uploads its pixels
     and rows and downloads V logits, a decode step uploads one id and downloads V floats;
   - no allocation in a decode step, host (LLAVA_MALLOC, counted) or backend, on both backends;
   - contexts of one model on the CPU backend in several threads at once: the same logits as one at a time;
   - every compute entry of the CPU backend against the layer functions (or, where there is none, the
     kernel or a plain loop), and the same entry through the checking backend bit-identical;
   - a backend whose allocations or entries fail: NULL or -1 with a message, nothing leaked; training and
     saving refused with a message.
   Prints one line per test and "N passed, N failed" at the end; exits non-zero on any failure.

   usage: test_backend [FIXTURES_DIR]   (default tests/fixtures, run from the repository root) */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* host allocations, counted (OpenMP threads may allocate at once: atomics) */
static size_t g_mallocs, g_reallocs, g_frees;
static void *cnt_malloc(size_t n) {
    __atomic_add_fetch(&g_mallocs, 1, __ATOMIC_RELAXED);
    return malloc(n);
}
static void *cnt_realloc(void *p, size_t n) {
    __atomic_add_fetch(&g_reallocs, 1, __ATOMIC_RELAXED);
    return realloc(p, n);
}
static void cnt_free(void *p) {
    if (p) __atomic_add_fetch(&g_frees, 1, __ATOMIC_RELAXED);
    free(p);
}
#define LLAVA_MALLOC(n) cnt_malloc(n)
#define LLAVA_REALLOC(p, n) cnt_realloc(p, n)
#define LLAVA_FREE(p) cnt_free(p)

#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "test.h"
#include "check_backend.h"

#include <math.h>
#include <unistd.h>

#define TOL_LOGITS 1e-4 /* as tests/test_llava.c */
#define TOL_KV 1e-5

static CheckBackend *g_cb; /* the checking backend, 1 GiB of address space, for every test */
static LlavaBackend *g_cpu; /* a CPU backend for the entry tests */

/* --- helpers ----------------------------------------------------------------------------------- */
static void *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    rewind(f);
    void *p = malloc(sz > 0 ? (size_t)sz : 1);
    if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (n) *n = (size_t)sz;
    return p;
}
static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    return m;
}
static float frand(uint64_t *s) { return llava_rng_uniform(s) * 2.0f - 1.0f; }
static size_t host_allocs(void) {
    return __atomic_load_n(&g_mallocs, __ATOMIC_RELAXED) + __atomic_load_n(&g_reallocs, __ATOMIC_RELAXED) +
           __atomic_load_n(&g_frees, __ATOMIC_RELAXED);
}
static LlavaModel *load_on(const char *path, LlavaBackend *b, LlavaPrecision prec) {
    LlavaLoadParams p;
    llava_load_params_default(&p);
    p.backend = b;
    p.precision = prec;
    return llava_model_load_params(path, &p);
}
static LlavaModel *load_checked(const char *path) { return load_on(path, &g_cb->b, LLAVA_PREC_F32); }

/* a test fails (g_msg set) and jumps to its cleanup */
#define EXPECT(cond, ...)                                   \
    do {                                                    \
        if (!(cond)) {                                      \
            snprintf(g_msg, sizeof g_msg, __VA_ARGS__);     \
            ok = 0;                                         \
            goto done;                                      \
        }                                                   \
    } while (0)

/* --- the fixtures of tests/test_llava.c (manifest.h) ---------------------------------------------- */
#include "manifest.h"

/* one model on both backends, with a context each */
typedef struct {
    LlavaModel *m[2]; /* 0: the CPU backend (the model's own), 1: the checking backend */
    LlavaContext *c[2];
} pair;
static char g_perr[1200];
static int pair_open(pair *p, const char *path, int n_ctx) {
    memset(p, 0, sizeof *p);
    p->m[0] = llava_model_load(path);
    p->m[1] = p->m[0] ? load_checked(path) : NULL;
    p->c[0] = p->m[1] ? llava_context_new(p->m[0], n_ctx) : NULL;
    p->c[1] = p->c[0] ? llava_context_new(p->m[1], n_ctx) : NULL;
    if (p->c[1]) return 0;
    snprintf(g_perr, sizeof g_perr, "%s: %s", path, llava_last_error());
    return -1;
}
static void pair_close(pair *p) {
    int i;
    for (i = 0; i < 2; i++) llava_context_free(p->c[i]), llava_model_free(p->m[i]);
    memset(p, 0, sizeof *p);
}

/* (a) a fixture on the checking backend: against transformers and bit-identical to the CPU backend */
static int t_fixture(const void *arg) {
    const fcase *f = (const fcase *)arg;
    const size_t live0 = g_cb->n.live, bad0 = g_cb->n.bad;
    pair p;
    int ok = 1, i, k, gen[64], n_gen = 0, T = f->positions, G = f->n_greedy;
    const int V = f->vocab, TG = T + G;
    size_t n = 0;
    float *pixels = f->pixels[0] ? (float *)read_all(f->pixels, &n) : NULL;
    float *ref = (float *)read_all(f->logits, &n);
    float *all[2] = {(float *)malloc(sizeof(float) * (size_t)TG * V), (float *)malloc(sizeof(float) * (size_t)TG * V)};
    float *steps[2] = {(float *)malloc(sizeof(float) * (size_t)G * V), (float *)malloc(sizeof(float) * (size_t)G * V)};
    float *feat[2] = {NULL, NULL}, *fl[2] = {NULL, NULL}, *rows[2] = {NULL, NULL};
    int *ids2 = (int *)malloc(sizeof(int) * (size_t)(f->n_ids + G));
    memset(&p, 0, sizeof p);
    EXPECT(ref && n == sizeof(float) * (size_t)T * V && all[0] && all[1] && steps[0] && steps[1] && ids2, "fixture files of %s", f->name);
    EXPECT(pair_open(&p, f->model, TG) == 0, "%s", g_perr);
    EXPECT(!strcmp(llava_backend_name(p.m[1]), "cpu-remote"), "backend name %s", llava_backend_name(p.m[1]));
    EXPECT(llava_expanded_length(p.m[1], f->ids, f->n_ids) == T, "positions %d, the fixture says %d", llava_expanded_length(p.m[1], f->ids, f->n_ids), T);
    /* every position's logits */
    for (k = 0; k < 2; k++)
        EXPECT(llava_eval(p.c[k], f->ids, f->n_ids, pixels, f->n_images, all[k]) == T, "eval (%s): %s", k ? "cpu-remote" : "cpu", llava_last_error());
    {
        const double d = max_abs_diff(all[1], ref, (size_t)T * V);
        EXPECT(d <= TOL_LOGITS, "cpu-remote logits max abs error %g > %g", d, TOL_LOGITS);
    }
    EXPECT(!memcmp(all[0], all[1], sizeof(float) * (size_t)T * V), "cpu-remote logits differ from cpu's by up to %g",
           max_abs_diff(all[0], all[1], (size_t)T * V));
    EXPECT(!memcmp(llava_logits(p.c[0]), llava_logits(p.c[1]), sizeof(float) * V), "llava_logits differ");
    /* greedy continuation from the cache */
    {
        LlavaSampling s;
        memset(&s, 0, sizeof s);
        s.ignore_eos = 1;
        EXPECT(llava_generate(p.c[1], NULL, 0, NULL, 0, &s, G, gen, &n_gen, NULL, NULL) == LLAVA_OK && n_gen == G, "generate: %s",
               llava_last_error());
        for (i = 0; i < G; i++) EXPECT(gen[i] == f->greedy[i], "greedy id %d: %d, transformers %d", i, gen[i], f->greedy[i]);
    }
    /* the KV cache: the prompt, then one step per greedy id == one evaluation of the whole sequence */
    memcpy(ids2, f->ids, sizeof(int) * (size_t)f->n_ids);
    memcpy(ids2 + f->n_ids, f->greedy, sizeof(int) * (size_t)G);
    for (k = 0; k < 2; k++) {
        EXPECT(llava_prompt(p.c[k], f->ids, f->n_ids, pixels, f->n_images), "prompt: %s", llava_last_error());
        for (i = 0; i < G; i++) {
            const float *l = llava_step(p.c[k], f->greedy[i]);
            EXPECT(l, "step %d: %s", i, llava_last_error());
            memcpy(steps[k] + (size_t)i * V, l, sizeof(float) * V);
        }
        llava_context_reset(p.c[k]);
        EXPECT(llava_eval(p.c[k], ids2, f->n_ids + G, pixels, f->n_images, all[k]) == TG, "whole sequence: %s", llava_last_error());
    }
    EXPECT(!memcmp(steps[0], steps[1], sizeof(float) * (size_t)G * V), "cpu-remote's step logits differ from cpu's by up to %g",
           max_abs_diff(steps[0], steps[1], (size_t)G * V));
    EXPECT(!memcmp(all[0], all[1], sizeof(float) * (size_t)TG * V), "cpu-remote's whole-sequence logits differ from cpu's");
    {
        const double d = max_abs_diff(steps[1], all[1] + (size_t)T * V, (size_t)G * V);
        EXPECT(d <= TOL_KV, "cpu-remote: KV-cached logits differ from recomputation by %g", d);
    }
    /* images encoded ahead (llava_encode_image, llava_eval_features) and the tower's rows */
    if (f->n_images > 0) {
        const LlavaConfig *cfg = llava_model_config(p.m[0]);
        const int P = llava_image_tokens(p.m[0]), C = cfg->text_hidden, N = llava_tower_rows(p.m[0]), D = cfg->vision_hidden;
        const size_t npix = (size_t)3 * cfg->vision_image_size * cfg->vision_image_size;
        for (k = 0; k < 2; k++) {
            feat[k] = (float *)malloc(sizeof(float) * (size_t)f->n_images * P * C);
            fl[k] = (float *)malloc(sizeof(float) * (size_t)T * V);
            rows[k] = (float *)malloc(sizeof(float) * (size_t)N * D);
            EXPECT(feat[k] && fl[k] && rows[k], "out of memory");
            for (i = 0; i < f->n_images; i++)
                EXPECT(llava_encode_image(p.m[k], pixels + (size_t)i * npix, feat[k] + (size_t)i * P * C) == LLAVA_OK, "encode: %s",
                       llava_last_error());
            llava_context_reset(p.c[k]);
            EXPECT(llava_eval_features(p.c[k], f->ids, f->n_ids, feat[k], f->n_images, fl[k]) == T, "eval_features: %s", llava_last_error());
            EXPECT(llava_tower_encode(p.m[k], pixels, rows[k]) == LLAVA_OK, "tower_encode: %s", llava_last_error());
        }
        EXPECT(!memcmp(feat[0], feat[1], sizeof(float) * (size_t)f->n_images * P * C), "encoded features differ");
        EXPECT(!memcmp(fl[0], fl[1], sizeof(float) * (size_t)T * V), "logits from encoded features differ");
        EXPECT(!memcmp(fl[1], all[1], sizeof(float) * (size_t)T * V), "cpu-remote: logits from encoded features differ from those from pixels");
        EXPECT(!memcmp(rows[0], rows[1], sizeof(float) * (size_t)N * D), "llava_tower_encode rows differ");
    }
done:
    pair_close(&p);
    if (ok && g_cb->n.live != live0) snprintf(g_msg, sizeof g_msg, "%zu backend allocations left", g_cb->n.live - live0), ok = 0;
    if (ok && g_cb->n.bad != bad0) snprintf(g_msg, sizeof g_msg, "%zu entries refused an argument", g_cb->n.bad - bad0), ok = 0;
    for (k = 0; k < 2; k++) free(all[k]), free(steps[k]), free(feat[k]), free(fl[k]), free(rows[k]);
    free(pixels), free(ref), free(ids2);
    return ok;
}

/* GGUF text models (one in f16, one dequantized from llama.cpp's quantizations): the same on both backends */
static int t_gguf(const void *arg) {
    const char *file = (const char *)arg;
    int ids[12] = {1, 5, 17, 42, 99, 3, 250, 7, 8, 300, 11, 12};
    pair p;
    int ok = 1, k, i;
    float *all[2] = {NULL, NULL}, st[2][600];
    EXPECT(pair_open(&p, test_path(g_fix, file), 32) == 0, "%s", g_perr);
    {
        const int V = llava_model_config(p.m[0])->text_vocab;
        EXPECT(V <= 600, "vocab %d", V);
        for (i = 0; i < 12; i++) ids[i] %= V;
        for (k = 0; k < 2; k++) {
            all[k] = (float *)malloc(sizeof(float) * 12 * (size_t)V);
            EXPECT(all[k] && llava_eval(p.c[k], ids, 12, NULL, 0, all[k]) == 12, "eval: %s", llava_last_error());
            for (i = 0; i < 3; i++) {
                const float *l = llava_step(p.c[k], (ids[i] + 1) % V);
                EXPECT(l, "step: %s", llava_last_error());
                memcpy(st[k], l, sizeof(float) * V);
            }
        }
        EXPECT(!memcmp(all[0], all[1], sizeof(float) * 12 * (size_t)V), "logits differ by up to %g", max_abs_diff(all[0], all[1], 12 * (size_t)V));
        EXPECT(!memcmp(st[0], st[1], sizeof(float) * V), "step logits differ");
        /* a language model alone: no tower to run, its parameters counted without one */
        for (k = 0; k < 2; k++) {
            float px[3], out[4];
            EXPECT(llava_tower_rows(p.m[k]) == 0 && llava_image_tokens(p.m[k]) == 0, "tower rows %d, image tokens %d", llava_tower_rows(p.m[k]),
                   llava_image_tokens(p.m[k]));
            EXPECT(llava_tower_encode(p.m[k], px, out) == LLAVA_ERR && strstr(llava_last_error(), "language model alone"), "tower_encode: %s",
                   llava_last_error());
            EXPECT(llava_encode_image(p.m[k], px, out) == LLAVA_ERR && strstr(llava_last_error(), "language model alone"), "encode_image: %s",
                   llava_last_error());
            EXPECT(llava_model_n_params(p.m[k], "vision_tower.") == 0 && llava_model_n_params(p.m[k], "") > 0, "n_params %zu, tower %zu",
                   llava_model_n_params(p.m[k], ""), llava_model_n_params(p.m[k], "vision_tower."));
        }
    }
done:
    pair_close(&p);
    free(all[0]), free(all[1]);
    return ok;
}

/* --- (b) transfers ------------------------------------------------------------------------------------ */
typedef struct {
    size_t count, bytes, elems;
} wsum;
static void wsum_fn(void *ctx, llava__pinfo *p) {
    wsum *s = (wsum *)ctx;
    s->count++;
    s->elems += p->n;
    s->bytes += p->n * (p->w ? llava__dtype_size(p->w->dtype) : sizeof(float));
}
static int cmp_map(const void *a, const void *b) {
    const chk_map *x = (const chk_map *)a, *y = (const chk_map *)b;
    return (uintptr_t)x->host < (uintptr_t)y->host ? -1 : (uintptr_t)x->host > (uintptr_t)y->host;
}

static size_t g_fig_prompt_up, g_fig_prompt_down, g_fig_step_up, g_fig_step_down, g_fig_ctx_allocs, g_fig_maps, g_fig_mapped;

/* loading maps each weight once (the bytes of the weights the model runs, in their stored dtypes, and the
   RoPE frequencies); a prompt uploads its pixels and embedding rows and downloads V logits; a step
   uploads one row id and downloads V logits; everything is released */
static int t_transfers(const void *arg) {
    const fcase *f = (const fcase *)arg;
    LlavaModel *m0 = NULL, *m = NULL;
    LlavaContext *c = NULL;
    float *pixels = NULL, *all = NULL;
    chk_map *maps = NULL;
    int ok = 1, i, nm0;
    size_t n;
    wsum w;
    memset(&w, 0, sizeof w);
    m0 = llava_model_load(f->model);
    EXPECT(m0, "load: %s", llava_last_error());
    llava__walk(m0, NULL, wsum_fn, &w);
    const LlavaConfig *cfg = llava_model_config(m0);
    const size_t inv = (size_t)(cfg->text_head_dim / 2);
    EXPECT(w.elems == llava_model_n_params(m0, ""), "walk: %zu elements, llava_model_n_params %zu", w.elems, llava_model_n_params(m0, ""));
    check_backend_reset(g_cb);
    nm0 = g_cb->nmaps;
    m = load_checked(f->model);
    EXPECT(m, "load on cpu-remote: %s", llava_last_error());
    EXPECT(g_cb->n.maps == w.count + 1 && g_cb->n.mapped == w.bytes + inv * sizeof(float),
           "load mapped %zu tensors, %zu bytes; the model runs %zu tensors (+ RoPE frequencies), %zu bytes (+ %zu)", g_cb->n.maps,
           g_cb->n.mapped, w.count, w.bytes, inv * sizeof(float));
    EXPECT(g_cb->n.uploaded == 0 && g_cb->n.downloaded == 0 && g_cb->n.allocs == 0 && g_cb->n.computes == 0,
           "load also uploaded %zu, downloaded %zu bytes, allocated %zu times, ran %zu entries", g_cb->n.uploaded, g_cb->n.downloaded,
           g_cb->n.allocs, g_cb->n.computes);
    /* each host tensor mapped once: no two maps of the same or overlapping host memory */
    {
        const int k = g_cb->nmaps - nm0;
        maps = (chk_map *)malloc(sizeof *maps * (size_t)k);
        EXPECT(maps, "out of memory");
        memcpy(maps, g_cb->maps + nm0, sizeof *maps * (size_t)k);
        qsort(maps, (size_t)k, sizeof *maps, cmp_map);
        for (i = 1; i < k; i++)
            EXPECT((const unsigned char *)maps[i - 1].host + maps[i - 1].bytes <= (const unsigned char *)maps[i].host,
                   "host memory %p (%zu bytes) mapped twice (or overlapping)", maps[i].host, maps[i].bytes);
    }
    g_fig_maps = g_cb->n.maps, g_fig_mapped = g_cb->n.mapped;
    /* a context: backend memory only (allocations), nothing moved */
    check_backend_reset(g_cb);
    c = llava_context_new(m, 0);
    EXPECT(c, "context: %s", llava_last_error());
    EXPECT(g_cb->n.uploaded == 0 && g_cb->n.downloaded == 0, "context_new moved %zu/%zu bytes", g_cb->n.uploaded, g_cb->n.downloaded);
    g_fig_ctx_allocs = g_cb->n.allocs;
    /* the prompt: its pixels and rows up, the last position's logits down */
    pixels = f->pixels[0] ? (float *)read_all(f->pixels, &n) : NULL;
    const int T = f->positions, V = cfg->text_vocab;
    const size_t px = (size_t)f->n_images * 3 * cfg->vision_image_size * cfg->vision_image_size * sizeof(float);
    check_backend_reset(g_cb);
    EXPECT(llava_prompt(c, f->ids, f->n_ids, pixels, f->n_images), "prompt: %s", llava_last_error());
    EXPECT(g_cb->n.uploaded == px + (size_t)T * sizeof(int) && g_cb->n.downloaded == (size_t)V * sizeof(float),
           "prompt of %d positions, %d images: uploaded %zu bytes (expected %zu), downloaded %zu (expected %zu)", T, f->n_images,
           g_cb->n.uploaded, px + (size_t)T * sizeof(int), g_cb->n.downloaded, (size_t)V * sizeof(float));
    g_fig_prompt_up = g_cb->n.uploaded, g_fig_prompt_down = g_cb->n.downloaded;
    /* decode steps */
    for (i = 0; i < 4; i++) {
        check_backend_reset(g_cb);
        EXPECT(llava_step(c, 5 + i), "step: %s", llava_last_error());
        EXPECT(g_cb->n.uploaded <= 16 && g_cb->n.downloaded == (size_t)V * sizeof(float) && g_cb->n.allocs == 0 && g_cb->n.frees == 0 &&
                   g_cb->n.maps == 0,
               "step %d: uploaded %zu bytes, downloaded %zu (V*4 = %zu), %zu allocations, %zu frees", i, g_cb->n.uploaded, g_cb->n.downloaded,
               (size_t)V * sizeof(float), g_cb->n.allocs, g_cb->n.frees);
        g_fig_step_up = g_cb->n.uploaded, g_fig_step_down = g_cb->n.downloaded;
    }
    /* every position's logits: T rows down */
    all = (float *)malloc(sizeof(float) * (size_t)T * V);
    EXPECT(all, "out of memory");
    llava_context_reset(c);
    check_backend_reset(g_cb);
    EXPECT(llava_eval(c, f->ids, f->n_ids, pixels, f->n_images, all) == T, "eval: %s", llava_last_error());
    EXPECT(g_cb->n.downloaded == (size_t)T * V * sizeof(float), "all logits: downloaded %zu bytes, expected %zu", g_cb->n.downloaded,
           (size_t)T * V * sizeof(float));
    check_backend_reset(g_cb);
    llava_context_free(c), c = NULL;
    llava_model_free(m), m = NULL;
    EXPECT(g_cb->n.live == 0, "%zu backend allocations left after the model and context are freed", g_cb->n.live);
    EXPECT(g_cb->n.unmaps == w.count + 1, "%zu unmaps for %zu maps", g_cb->n.unmaps, w.count + 1);
    EXPECT(g_cb->n.bad == 0, "%zu entries refused", g_cb->n.bad);
done:
    llava_context_free(c);
    llava_model_free(m);
    llava_model_free(m0);
    free(pixels), free(all), free(maps);
    return ok;
}

/* --- (c) no allocation in a decode step ---------------------------------------------------------------- */
typedef struct {
    const char *model; /* fixture directory (relative) */
    int checked;       /* 0: the CPU backend, 1: cpu-remote */
    LlavaPrecision prec;
    int short_prompt;  /* 1: a prompt of 3 tokens (one-row attention from the start), else the fixture's image prompt */
} alloc_case;

static int t_allocs(const void *arg) {
    const alloc_case *a = (const alloc_case *)arg;
    const fcase *f = NULL;
    CheckBackend *cb = NULL;
    LlavaModel *m = NULL;
    LlavaContext *c = NULL;
    float *pixels = NULL;
    int ok = 1, i;
    size_t n;
    for (i = 0; i < g_ncases; i++)
        if (!f && strstr(g_cases[i].model, a->model) && g_cases[i].n_images == 1) f = &g_cases[i];
    EXPECT(f, "no fixture with one image for %s", a->model);
    if (a->checked) { /* a fresh one: its inner CPU backend's scratch not grown by other tests */
        cb = check_backend_new((size_t)1 << 28);
        EXPECT(cb, "checking backend: %s", llava_last_error());
    }
    m = load_on(f->model, cb ? &cb->b : NULL, a->prec);
    EXPECT(m, "load: %s", llava_last_error());
    c = llava_context_new(m, 0);
    EXPECT(c, "context: %s", llava_last_error());
    pixels = (float *)read_all(f->pixels, &n);
    EXPECT(pixels, "pixels");
    if (a->short_prompt) {
        const int ids[3] = {1, 2, 3};
        EXPECT(llava_prompt(c, ids, 3, NULL, 0), "prompt: %s", llava_last_error());
    } else {
        EXPECT(llava_prompt(c, f->ids, f->n_ids, pixels, f->n_images), "prompt: %s", llava_last_error());
    }
    EXPECT(llava_step(c, 7), "warm-up step: %s", llava_last_error());
    /* then steps up to 40 positions further (the attention's rows grow past several 64-byte lines) */
    for (i = 0; i < 40 && llava_context_used(c) < llava_context_size(c); i++) {
        const size_t h0 = host_allocs(), b0 = cb ? cb->n.allocs : 0, f0 = cb ? cb->n.frees : 0;
        const float *l = llava_step(c, 10 + i);
        const size_t h = host_allocs() - h0, ba = cb ? cb->n.allocs - b0 : 0, bf = cb ? cb->n.frees - f0 : 0;
        EXPECT(l, "step %d: %s", i, llava_last_error());
        EXPECT(h == 0 && ba == 0 && bf == 0, "step %d (position %d): %zu host allocations/frees, %zu backend allocations, %zu frees", i,
               llava_context_used(c), h, ba, bf);
    }
done:
    llava_context_free(c);
    llava_model_free(m);
    if (ok && cb && cb->n.live) snprintf(g_msg, sizeof g_msg, "%zu backend allocations left", cb->n.live), ok = 0;
    check_backend_free(cb);
    free(pixels);
    return ok;
}

/* contexts of one model (one CPU backend) run by three threads at once (as a server's requests are): the
   same logits as one at a time. (The checking backend serves one thread at a time: not here.) */
static int t_threads_one_model(const void *arg) {
    const fcase *f = &g_cases[0];
    LlavaModel *m = NULL;
    float *pixels = NULL, ref[600];
    int ok = 1, good[3] = {0, 0, 0}, i;
    size_t n;
    (void)arg;
    pixels = (float *)read_all(f->pixels, &n);
    m = llava_model_load(f->model);
    EXPECT(pixels && m && f->vocab <= 600, "setup: %s", llava_last_error());
    {
        LlavaContext *c = llava_context_new(m, 0);
        const float *l = c ? llava_prompt(c, f->ids, f->n_ids, pixels, f->n_images) : NULL;
        for (i = 0; l && i < 8; i++) l = llava_step(c, 5 + i);
        if (l) memcpy(ref, l, sizeof(float) * (size_t)f->vocab);
        llava_context_free(c);
        EXPECT(l, "one thread: %s", llava_last_error());
    }
    LLAVA__OMP(omp parallel for num_threads(3) schedule(static, 1))
    for (i = 0; i < 3; i++) {
        LlavaContext *c = llava_context_new(m, 0);
        int r, k;
        good[i] = c != NULL;
        for (r = 0; c && r < 6; r++) { /* several rounds, so that the threads' entries overlap */
            const float *l = llava_prompt(c, f->ids, f->n_ids, pixels, f->n_images);
            for (k = 0; l && k < 8; k++) l = llava_step(c, 5 + k);
            if (!l || memcmp(l, ref, sizeof(float) * (size_t)f->vocab)) good[i] = 0;
        }
        llava_context_free(c);
    }
    for (i = 0; i < 3; i++) EXPECT(good[i], "thread %d: logits differ from one thread's, or failed (%s)", i, llava_last_error());
done:
    llava_model_free(m);
    free(pixels);
    return ok;
}

/* --- (d) the compute entries ------------------------------------------------------------------------------
   An entry runs on one host buffer of inputs and outputs three ways: on the CPU backend (in place), on the
   checking backend (the buffer uploaded whole, run, downloaded whole) and as the reference (the layer
   function on a copy of the buffer); the three buffers are compared byte for byte, so outputs match and
   inputs are left alone alike. An op is written once over "where the buffer is" (at()). */
typedef struct {
    unsigned char *h;   /* the host buffer (after run3: the CPU backend's results) */
    unsigned char *h0;  /* its contents before */
    unsigned char *cur; /* where the op's addresses point: h, a backend copy, or the reference copy */
    size_t n, used;
    double out[2];      /* host results (a loss, a sum of squares) */
} arena;
static void *at(const arena *A, const void *p) { return p ? (void *)(A->cur + ((const unsigned char *)p - A->h)) : NULL; }
#define AT(T, p) ((T *)at(A, (p)))
static void *take(arena *A, size_t bytes) {
    void *p = A->h + A->used;
    A->used += (bytes + 63) & ~(size_t)63;
    LLAVA_ASSERT(A->used <= A->n);
    return p;
}
static float *takef(arena *A, size_t n, uint64_t *s) { /* n random floats in [-1, 1) */
    float *p = (float *)take(A, n * sizeof(float));
    size_t i;
    for (i = 0; i < n; i++) p[i] = frand(s);
    return p;
}
static int arena_new(arena *A, size_t n) {
    memset(A, 0, sizeof *A);
    A->n = n;
    A->h = (unsigned char *)calloc(1, n);
    A->h0 = (unsigned char *)calloc(1, n);
    return A->h && A->h0 ? 0 : -1;
}
static void arena_free(arena *A) { free(A->h), free(A->h0); }

typedef int (*op_fn)(LlavaBackend *b, const arena *A, const void *op);
typedef void (*ref_fn)(arena *A, const void *op);

/* runs op on the CPU backend and the checking backend, ref on a copy; 1 when all three agree */
static int run3(arena *A, op_fn f, ref_fn r, const void *op, const char *what) {
    unsigned char *back = (unsigned char *)malloc(A->used), *rb = (unsigned char *)malloc(A->used);
    double out_cpu[2];
    int ok = 1;
    void *dev = NULL;
    EXPECT(back && rb, "out of memory");
    memcpy(A->h0, A->h, A->used);
    /* the CPU backend, in place */
    A->cur = A->h;
    A->out[0] = A->out[1] = 0;
    EXPECT(f(g_cpu, A, op) == LLAVA_OK, "%s on cpu: %s", what, llava_last_error());
    memcpy(out_cpu, A->out, sizeof out_cpu);
    /* the checking backend */
    dev = g_cb->b.alloc(&g_cb->b, A->used);
    EXPECT(dev && g_cb->b.upload(&g_cb->b, dev, A->h0, A->used) == LLAVA_OK, "%s: upload: %s", what, llava_last_error());
    A->cur = (unsigned char *)dev;
    A->out[0] = A->out[1] = 0;
    EXPECT(f(&g_cb->b, A, op) == LLAVA_OK, "%s on cpu-remote: %s", what, llava_last_error());
    EXPECT(g_cb->b.download(&g_cb->b, back, dev, A->used) == LLAVA_OK, "%s: download: %s", what, llava_last_error());
    EXPECT(!memcmp(back, A->h, A->used), "%s: cpu-remote's results differ from cpu's", what);
    EXPECT(!memcmp(out_cpu, A->out, sizeof out_cpu), "%s: cpu-remote's host results %.17g %.17g differ from cpu's %.17g %.17g", what, A->out[0],
           A->out[1], out_cpu[0], out_cpu[1]);
    /* the reference */
    if (r) {
        memcpy(rb, A->h0, A->used);
        A->cur = rb;
        A->out[0] = A->out[1] = 0;
        r(A, op);
        if (memcmp(rb, A->h, A->used)) {
            size_t i = 0, j;
            while (rb[i] == A->h[i]) i++;
            j = i & ~(size_t)3;
            float x, y;
            memcpy(&x, rb + j, 4), memcpy(&y, A->h + j, 4);
            EXPECT(0, "%s: the cpu backend differs from the reference at byte %zu (as floats: %.9g, reference %.9g)", what, i, y, x);
        }
        EXPECT(!memcmp(out_cpu, A->out, sizeof out_cpu), "%s: host results %.17g %.17g, reference %.17g %.17g", what, out_cpu[0], out_cpu[1],
               A->out[0], A->out[1]);
    }
    memcpy(A->out, out_cpu, sizeof out_cpu);
done:
    if (dev) g_cb->b.free(&g_cb->b, dev);
    A->cur = A->h;
    free(back), free(rb);
    return ok;
}

/* the ops: each a struct of host addresses (in the arena) and sizes, an op_fn and a ref_fn */
typedef struct {
    LlavaPrecision prec;
    float *out, *in, *bias, *din, *dw, *db, *dout;
    void *w;
    LlavaDType dt;
    int T, C, OC;
} mm_op;
static int op_matmul(LlavaBackend *b, const arena *A, const void *o) {
    const mm_op *p = (const mm_op *)o;
    const LlavaWeight W = {at(A, p->w), p->dt, p->OC, p->C};
    b->precision = p->prec;
    return b->matmul(b, AT(float, p->out), AT(float, p->in), &W, AT(float, p->bias), p->T, p->C, p->OC);
}
static void ref_matmul(arena *A, const void *o) {
    const mm_op *p = (const mm_op *)o;
    const LlavaWeight W = {at(A, p->w), p->dt, p->OC, p->C};
    llava_matmul_forward(p->prec, AT(float, p->out), AT(float, p->in), &W, AT(float, p->bias), p->T, p->C, p->OC);
}
static int op_matmul_bw(LlavaBackend *b, const arena *A, const void *o) {
    const mm_op *p = (const mm_op *)o;
    const LlavaWeight W = {at(A, p->w), p->dt, p->OC, p->C};
    b->precision = p->prec;
    return b->matmul_backward(b, AT(float, p->din), AT(float, p->dw), AT(float, p->db), AT(float, p->dout), AT(float, p->in), &W, p->T, p->C,
                              p->OC);
}
static void ref_matmul_bw(arena *A, const void *o) {
    const mm_op *p = (const mm_op *)o;
    const LlavaWeight W = {at(A, p->w), p->dt, p->OC, p->C};
    llava_matmul_backward(p->prec, AT(float, p->din), AT(float, p->dw), AT(float, p->db), AT(float, p->dout), AT(float, p->in), &W, p->T, p->C,
                          p->OC);
}

static void *take_weight(arena *A, LlavaDType dt, size_t n, uint64_t *s) {
    void *w = take(A, n * (dt == LLAVA_F32 ? 4 : 2));
    size_t i;
    for (i = 0; i < n; i++) {
        const float v = frand(s);
        if (dt == LLAVA_F32) ((float *)w)[i] = v;
        else if (dt == LLAVA_BF16) ((uint16_t *)w)[i] = llava__f32_to_bf16(v);
        else ((uint16_t *)w)[i] = llava__f32_to_f16(v);
    }
    return w;
}

static int t_entry_matmul(const void *arg) {
    static const int Ts[3] = {1, 37, 70};
    arena A;
    int ok = 1, ti, dt, pr, bi;
    uint64_t s = 11;
    char what[128];
    (void)arg;
    EXPECT(arena_new(&A, 1 << 20) == 0, "out of memory");
    for (ti = 0; ti < 3; ti++)
        for (dt = 0; dt < 3; dt++)
            for (pr = 0; pr < 2; pr++)
                for (bi = 0; bi < 2; bi++) {
                    mm_op p;
                    memset(&p, 0, sizeof p);
                    A.used = 0;
                    p.prec = pr ? LLAVA_PREC_BF16 : LLAVA_PREC_F32;
                    p.dt = (LlavaDType)dt;
                    p.T = Ts[ti], p.C = 48, p.OC = 40;
                    p.in = takef(&A, (size_t)p.T * p.C, &s);
                    p.out = takef(&A, (size_t)p.T * p.OC, &s);
                    p.w = take_weight(&A, p.dt, (size_t)p.OC * p.C, &s);
                    p.bias = bi ? takef(&A, (size_t)p.OC, &s) : NULL;
                    p.dout = takef(&A, (size_t)p.T * p.OC, &s);
                    p.din = takef(&A, (size_t)p.T * p.C, &s);
                    p.dw = takef(&A, (size_t)p.OC * p.C, &s);
                    p.db = bi ? takef(&A, (size_t)p.OC, &s) : NULL;
                    snprintf(what, sizeof what, "matmul T %d dtype %d precision %d bias %d", p.T, dt, pr, bi);
                    if (!run3(&A, op_matmul, ref_matmul, &p, what)) goto fail;
                    snprintf(what, sizeof what, "matmul_backward T %d dtype %d precision %d bias %d", p.T, dt, pr, bi);
                    if (!run3(&A, op_matmul_bw, ref_matmul_bw, &p, what)) goto fail;
                    if (bi) { /* gradients not wanted: din only, dw only */
                        float *dw = p.dw, *db = p.db;
                        p.dw = p.db = NULL;
                        if (!run3(&A, op_matmul_bw, ref_matmul_bw, &p, "matmul_backward, din only")) goto fail;
                        p.dw = dw, p.db = db, p.din = NULL;
                        if (!run3(&A, op_matmul_bw, ref_matmul_bw, &p, "matmul_backward, dw and db only")) goto fail;
                    }
                }
done:
    arena_free(&A);
    return ok;
fail:
    ok = 0;
    goto done;
}

/* layernorm, rmsnorm, rope, act, glu, add */
typedef struct {
    float *out, *in, *w, *b, *mean, *rstd, *din, *dw, *db, *dout, *inv;
    int T, C, pos0, nh, Dh;
    LlavaAct act;
    size_t n;
} nrm_op;
static int op_ln(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->layernorm(b, AT(float, p->out), AT(float, p->mean), AT(float, p->rstd), AT(float, p->in), AT(float, p->w), AT(float, p->b), p->T,
                        p->C, 1e-5f);
}
static void ref_ln(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    llava_layernorm_forward(AT(float, p->out), AT(float, p->mean), AT(float, p->rstd), AT(float, p->in), AT(float, p->w), AT(float, p->b), p->T,
                            p->C, 1e-5f);
}
static int op_ln_bw(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->layernorm_backward(b, AT(float, p->din), AT(float, p->dw), AT(float, p->db), AT(float, p->dout), AT(float, p->in), AT(float, p->w),
                                 AT(float, p->mean), AT(float, p->rstd), p->T, p->C);
}
static void ref_ln_bw(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    llava_layernorm_backward(AT(float, p->din), AT(float, p->dw), AT(float, p->db), AT(float, p->dout), AT(float, p->in), AT(float, p->w),
                             AT(float, p->mean), AT(float, p->rstd), p->T, p->C);
}
static int op_rms(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->rmsnorm(b, AT(float, p->out), AT(float, p->rstd), AT(float, p->in), AT(float, p->w), p->T, p->C, 1e-6f);
}
static void ref_rms(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    llava__rmsnorm_forward(AT(float, p->out), AT(float, p->rstd), AT(float, p->in), AT(float, p->w), p->T, p->C, 1e-6f);
}
static int op_rms_bw(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->rmsnorm_backward(b, AT(float, p->din), AT(float, p->dw), AT(float, p->dout), AT(float, p->in), AT(float, p->w), AT(float, p->rstd),
                               p->T, p->C);
}
static void ref_rms_bw(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    llava__rmsnorm_backward(AT(float, p->din), AT(float, p->dw), AT(float, p->dout), AT(float, p->in), AT(float, p->w), AT(float, p->rstd), p->T,
                            p->C);
}
static int op_rope(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->rope(b, AT(float, p->out), AT(float, p->inv), p->pos0, p->T, p->nh, p->Dh);
}
static void ref_rope(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    llava__rope_forward(AT(float, p->out), AT(float, p->inv), p->pos0, p->T, p->nh, p->Dh);
}
static int op_rope_bw(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->rope_backward(b, AT(float, p->out), AT(float, p->inv), p->pos0, p->T, p->nh, p->Dh);
}
static void ref_rope_bw(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    llava__rope_backward(AT(float, p->out), AT(float, p->inv), p->pos0, p->T, p->nh, p->Dh);
}
static int op_act(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->act(b, AT(float, p->out), AT(float, p->in), p->n, p->act);
}
static void ref_act(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    if (p->out != p->in) memcpy(AT(float, p->out), AT(float, p->in), p->n * sizeof(float));
    llava_act_forward(AT(float, p->out), p->n, p->act);
}
static int op_act_bw(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->act_backward(b, AT(float, p->din), AT(float, p->dout), AT(float, p->in), p->n, p->act);
}
static void ref_act_bw(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    llava_act_backward(AT(float, p->din), AT(float, p->dout), AT(float, p->in), p->n, p->act);
}
static int op_glu(LlavaBackend *b, const arena *A, const void *o) { /* gate: in, up: w */
    const nrm_op *p = (const nrm_op *)o;
    return b->glu(b, AT(float, p->out), AT(float, p->in), AT(float, p->w), p->n, p->act);
}
static void ref_glu(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    llava__glu_forward(AT(float, p->out), AT(float, p->in), AT(float, p->w), p->n, p->act);
}
static int op_glu_bw(LlavaBackend *b, const arena *A, const void *o) { /* dgate: din, dup: dw */
    const nrm_op *p = (const nrm_op *)o;
    return b->glu_backward(b, AT(float, p->din), AT(float, p->dw), AT(float, p->dout), AT(float, p->in), AT(float, p->w), p->n, p->act);
}
static void ref_glu_bw(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    llava__glu_backward(AT(float, p->din), AT(float, p->dw), AT(float, p->dout), AT(float, p->in), AT(float, p->w), p->n, p->act);
}
static int op_add(LlavaBackend *b, const arena *A, const void *o) { /* out = in + w */
    const nrm_op *p = (const nrm_op *)o;
    return b->add(b, AT(float, p->out), AT(float, p->in), AT(float, p->w), p->n);
}
static void ref_add(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    if (p->out == p->in) {
        llava_add(AT(float, p->out), AT(float, p->w), p->n);
    } else {
        if (p->out != p->w) memcpy(AT(float, p->out), AT(float, p->w), p->n * sizeof(float));
        llava_add(AT(float, p->out), AT(float, p->in), p->n); /* w + in: the same float sum as in + w */
    }
}
static int op_fill(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->fill(b, AT(float, p->out), 0.625f, p->n);
}
static void ref_fill(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    size_t i;
    for (i = 0; i < p->n; i++) AT(float, p->out)[i] = 0.625f;
}
static int op_copy(LlavaBackend *b, const arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    return b->copy(b, AT(float, p->out), AT(float, p->in), p->n * sizeof(float));
}
static void ref_copy(arena *A, const void *o) {
    const nrm_op *p = (const nrm_op *)o;
    memcpy(AT(float, p->out), AT(float, p->in), p->n * sizeof(float));
}

static int t_entry_elementwise(const void *arg) {
    static const int Ts[2] = {3, 700}; /* 700 x 64: past the kernels' threading thresholds */
    arena A;
    int ok = 1, ti, a, place;
    uint64_t s = 12;
    char what[128];
    (void)arg;
    EXPECT(arena_new(&A, 8 << 20) == 0, "out of memory");
    for (ti = 0; ti < 2; ti++) {
        nrm_op p;
        memset(&p, 0, sizeof p);
        A.used = 0;
        p.T = Ts[ti], p.C = 64, p.nh = 4, p.Dh = 16, p.pos0 = 5, p.n = (size_t)p.T * p.C;
        p.in = takef(&A, p.n, &s), p.out = takef(&A, p.n, &s), p.dout = takef(&A, p.n, &s), p.din = takef(&A, p.n, &s);
        p.w = takef(&A, p.n, &s), p.b = takef(&A, (size_t)p.C, &s), p.dw = takef(&A, p.n, &s), p.db = takef(&A, (size_t)p.C, &s);
        p.mean = takef(&A, (size_t)p.T, &s), p.rstd = takef(&A, (size_t)p.T, &s);
        p.inv = takef(&A, (size_t)p.Dh / 2, &s);
        {
            int i;
            for (i = 0; i < p.Dh / 2; i++) p.inv[i] = powf(10000.0f, -2.0f * i / p.Dh);
        }
        snprintf(what, sizeof what, "layernorm T %d", p.T);
        if (!run3(&A, op_ln, ref_ln, &p, what)) goto fail;
        snprintf(what, sizeof what, "layernorm_backward T %d", p.T); /* mean and rstd: the forward's */
        if (!run3(&A, op_ln_bw, ref_ln_bw, &p, what)) goto fail;
        {
            float *dw = p.dw, *db = p.db, *mean = p.mean;
            p.dw = p.db = NULL;
            if (!run3(&A, op_ln_bw, ref_ln_bw, &p, "layernorm_backward, din only")) goto fail;
            p.dw = dw, p.db = db;
            p.mean = NULL;
            if (!run3(&A, op_ln, ref_ln, &p, "layernorm without statistics")) goto fail;
            p.mean = mean;
        }
        snprintf(what, sizeof what, "rmsnorm T %d", p.T);
        if (!run3(&A, op_rms, ref_rms, &p, what)) goto fail;
        snprintf(what, sizeof what, "rmsnorm_backward T %d", p.T);
        if (!run3(&A, op_rms_bw, ref_rms_bw, &p, what)) goto fail;
        snprintf(what, sizeof what, "rope T %d", p.T);
        if (!run3(&A, op_rope, ref_rope, &p, what)) goto fail;
        snprintf(what, sizeof what, "rope_backward T %d", p.T);
        if (!run3(&A, op_rope_bw, ref_rope_bw, &p, what)) goto fail;
        for (a = 0; a <= LLAVA_ACT_RELU; a++) {
            p.act = (LlavaAct)a;
            for (place = 0; place < 2; place++) {
                float *out = p.out;
                if (place) p.out = p.in; /* in place */
                snprintf(what, sizeof what, "act %d T %d%s", a, p.T, place ? " in place" : "");
                if (!run3(&A, op_act, ref_act, &p, what)) goto fail;
                snprintf(what, sizeof what, "glu %d T %d%s", a, p.T, place ? " in place (out = gate)" : "");
                if (!run3(&A, op_glu, ref_glu, &p, what)) goto fail;
                p.out = out;
            }
            snprintf(what, sizeof what, "act_backward %d T %d", a, p.T);
            if (!run3(&A, op_act_bw, ref_act_bw, &p, what)) goto fail;
            snprintf(what, sizeof what, "glu_backward %d T %d", a, p.T);
            if (!run3(&A, op_glu_bw, ref_glu_bw, &p, what)) goto fail;
        }
        for (place = 0; place < 3; place++) {
            float *out = p.out;
            if (place == 1) p.out = p.in;
            if (place == 2) p.out = p.w;
            snprintf(what, sizeof what, "add T %d, out %s", p.T, place == 0 ? "apart" : place == 1 ? "= x" : "= y");
            if (!run3(&A, op_add, ref_add, &p, what)) goto fail;
            p.out = out;
        }
        if (!run3(&A, op_fill, ref_fill, &p, "fill")) goto fail;
        if (!run3(&A, op_copy, ref_copy, &p, "copy")) goto fail;
    }
done:
    arena_free(&A);
    return ok;
fail:
    ok = 0;
    goto done;
}

/* attention: the entry's out against llava_attention_forward, and for a training call (S == T, pos0 0) its
   stash, which the CPU fills with the probabilities, against that function's probs; the backward entry,
   given the forward's out and stash, against llava_attention_backward given those probabilities */
typedef struct {
    LlavaPrecision prec;
    float *out, *stash, *q, *k, *v, *dq, *dk, *dv, *dout;
    int T, S, pos0, H, KVH, Dh, causal;
} att_op;
static int op_att(LlavaBackend *b, const arena *A, const void *o) {
    const att_op *p = (const att_op *)o;
    b->precision = p->prec;
    return b->attention(b, AT(float, p->out), AT(float, p->stash), AT(float, p->q), AT(float, p->k), AT(float, p->v), p->T, p->S, p->pos0, p->H,
                        p->KVH, p->Dh, p->causal);
}
static void ref_att(arena *A, const void *o) {
    const att_op *p = (const att_op *)o;
    llava_attention_forward(p->prec, AT(float, p->out), AT(float, p->stash), AT(float, p->q), AT(float, p->k), AT(float, p->v), p->T, p->S,
                            p->pos0, p->H, p->KVH, p->Dh, p->causal);
}
static int op_att_bw(LlavaBackend *b, const arena *A, const void *o) {
    const att_op *p = (const att_op *)o;
    b->precision = p->prec;
    return b->attention_backward(b, AT(float, p->dq), AT(float, p->dk), AT(float, p->dv), AT(float, p->dout), AT(float, p->out),
                                 AT(float, p->stash), AT(float, p->q), AT(float, p->k), AT(float, p->v), p->T, p->H, p->KVH, p->Dh, p->causal);
}
static void ref_att_bw(arena *A, const void *o) {
    const att_op *p = (const att_op *)o;
    float *probs = (float *)malloc(sizeof(float) * (size_t)p->H * p->T * p->T), *out = (float *)malloc(sizeof(float) * (size_t)p->T * p->H * p->Dh);
    if (!probs || !out) {
        free(probs), free(out);
        return; /* (the comparison fails) */
    }
    llava_attention_forward(p->prec, out, probs, AT(float, p->q), AT(float, p->k), AT(float, p->v), p->T, p->T, 0, p->H, p->KVH, p->Dh, p->causal);
    llava_attention_backward(p->prec, AT(float, p->dq), AT(float, p->dk), AT(float, p->dv), AT(float, p->dout), probs, AT(float, p->q),
                             AT(float, p->k), AT(float, p->v), p->T, p->H, p->KVH, p->Dh);
    free(probs), free(out);
}

static int t_entry_attention(const void *arg) {
    /* T, S, pos0, H, KVH, causal: few queries (one row at a time) and many (blocked), with a cached prefix,
       grouped-query and plain multi-head, causal and not */
    static const int cases[][6] = {{5, 5, 0, 4, 2, 1},    {5, 19, 14, 4, 2, 1}, {37, 37, 0, 4, 2, 1}, {37, 37, 0, 4, 4, 0},
                                   {20, 50, 30, 4, 1, 1}, {1, 64, 63, 4, 2, 1}, {17, 17, 0, 2, 2, 0}, {150, 150, 0, 2, 1, 1}};
    const int nc = (int)(sizeof cases / sizeof cases[0]);
    arena A;
    int ok = 1, ci, pr, wl;
    uint64_t s = 13;
    char what[160];
    (void)arg;
    EXPECT(arena_new(&A, 4 << 20) == 0, "out of memory");
    for (ci = 0; ci < nc; ci++)
        for (pr = 0; pr < 2; pr++)
            for (wl = 0; wl < 2; wl++) {
                att_op p;
                memset(&p, 0, sizeof p);
                A.used = 0;
                p.prec = pr ? LLAVA_PREC_BF16 : LLAVA_PREC_F32;
                p.T = cases[ci][0], p.S = cases[ci][1], p.pos0 = cases[ci][2], p.H = cases[ci][3], p.KVH = cases[ci][4], p.causal = cases[ci][5];
                p.Dh = 16;
                const size_t qn = (size_t)p.T * p.H * p.Dh, kn = (size_t)p.S * p.KVH * p.Dh;
                p.q = takef(&A, qn, &s), p.k = takef(&A, kn, &s), p.v = takef(&A, kn, &s), p.out = takef(&A, qn, &s);
                if (wl && (p.S != p.T || p.pos0 != 0)) continue; /* a stash is for training calls */
                p.stash = wl ? takef(&A, (size_t)p.H * p.T * p.T, &s) : NULL; /* (the CPU's: attention_stash) */
                snprintf(what, sizeof what, "attention T %d S %d pos0 %d H %d KVH %d causal %d precision %d%s", p.T, p.S, p.pos0, p.H, p.KVH,
                         p.causal, pr, wl ? " with a stash" : "");
                if (!run3(&A, op_att, ref_att, &p, what)) goto fail;
                if (!wl) continue;
                /* the backward pass over the whole sequence, given the forward's out and stash */
                p.dout = takef(&A, qn, &s), p.dq = takef(&A, qn, &s);
                p.dk = takef(&A, (size_t)p.T * p.KVH * p.Dh, &s), p.dv = takef(&A, (size_t)p.T * p.KVH * p.Dh, &s);
                snprintf(what, sizeof what, "attention_backward T %d H %d KVH %d causal %d precision %d", p.T, p.H, p.KVH, p.causal, pr);
                if (!run3(&A, op_att_bw, ref_att_bw, &p, what)) goto fail;
            }
done:
    arena_free(&A);
    return ok;
fail:
    ok = 0;
    goto done;
}

/* embed (token rows and feature rows, f32/f16/bf16 tables), patchify, patch positions, their backward
   passes, against plain loops; cross_entropy and scale_sumsq against the kernels and a double sum; adamw
   against llava_adamw */
typedef struct {
    float *x, *feat, *dx, *dembed, *dfeat, *pix, *patches, *pe, *cls, *pos, *dcls, *dpos, *dpe;
    int *rows;
    void *table;
    LlavaDType dt;
    int T, C, V, F, n, S, ps, P, D;
} emb_op;
static int op_embed(LlavaBackend *b, const arena *A, const void *o) {
    const emb_op *p = (const emb_op *)o;
    const LlavaWeight E = {at(A, p->table), p->dt, p->V, p->C};
    return b->embed(b, AT(float, p->x), AT(int, p->rows), AT(float, p->feat), &E, p->T, p->C);
}
static float table_at(const emb_op *p, const void *table, int r, int i) {
    const size_t k = (size_t)r * p->C + i;
    if (p->dt == LLAVA_F32) return ((const float *)table)[k];
    if (p->dt == LLAVA_BF16) return llava__bf16_to_f32(((const uint16_t *)table)[k]);
    return llava__f16_to_f32(((const uint16_t *)table)[k]);
}
static void ref_embed(arena *A, const void *o) {
    const emb_op *p = (const emb_op *)o;
    const int *rows = AT(int, p->rows);
    int t, i;
    for (t = 0; t < p->T; t++)
        for (i = 0; i < p->C; i++)
            AT(float, p->x)[(size_t)t * p->C + i] = rows[t] >= 0 ? table_at(p, at(A, p->table), rows[t], i) : AT(float, p->feat)[(size_t)(-1 - rows[t]) * p->C + i];
}
static int op_embed_bw(LlavaBackend *b, const arena *A, const void *o) {
    const emb_op *p = (const emb_op *)o;
    return b->embed_backward(b, AT(float, p->dembed), AT(float, p->dfeat), AT(float, p->dx), AT(int, p->rows), p->T, p->C);
}
static void ref_embed_bw(arena *A, const void *o) {
    const emb_op *p = (const emb_op *)o;
    const int *rows = AT(int, p->rows);
    int t, i;
    for (t = 0; t < p->T; t++)
        for (i = 0; i < p->C; i++) {
            const float d = AT(float, p->dx)[(size_t)t * p->C + i];
            if (rows[t] >= 0 && p->dembed) AT(float, p->dembed)[(size_t)rows[t] * p->C + i] += d;
            if (rows[t] < 0 && p->dfeat) AT(float, p->dfeat)[(size_t)(-1 - rows[t]) * p->C + i] = d;
        }
}
static int op_patchify(LlavaBackend *b, const arena *A, const void *o) {
    const emb_op *p = (const emb_op *)o;
    return b->patchify(b, AT(float, p->patches), AT(float, p->pix), p->n, p->S, p->ps);
}
static void ref_patchify(arena *A, const void *o) { /* patch (gy, gx) of image im, as Conv2d's weight [3][ps][ps] is flattened */
    const emb_op *p = (const emb_op *)o;
    const int G = p->S / p->ps, K = 3 * p->ps * p->ps;
    int im, g, ch, y, x;
    for (im = 0; im < p->n; im++)
        for (g = 0; g < G * G; g++)
            for (ch = 0; ch < 3; ch++)
                for (y = 0; y < p->ps; y++)
                    for (x = 0; x < p->ps; x++)
                        AT(float, p->patches)[((size_t)im * G * G + g) * K + (size_t)(ch * p->ps + y) * p->ps + x] =
                            AT(float, p->pix)[(((size_t)im * 3 + ch) * p->S + (size_t)(g / G) * p->ps + y) * p->S + (size_t)(g % G) * p->ps + x];
}
static int op_ppos(LlavaBackend *b, const arena *A, const void *o) {
    const emb_op *p = (const emb_op *)o;
    return b->patch_positions(b, AT(float, p->x), AT(float, p->pe), AT(float, p->cls), AT(float, p->pos), p->n, p->P, p->D);
}
static void ref_ppos(arena *A, const void *o) {
    const emb_op *p = (const emb_op *)o;
    int im, r, i;
    for (im = 0; im < p->n; im++)
        for (r = 0; r <= p->P; r++)
            for (i = 0; i < p->D; i++)
                AT(float, p->x)[((size_t)im * (p->P + 1) + r) * p->D + i] =
                    (r ? AT(float, p->pe)[((size_t)im * p->P + r - 1) * p->D + i] : AT(float, p->cls)[i]) + AT(float, p->pos)[(size_t)r * p->D + i];
}
static int op_ppos_bw(LlavaBackend *b, const arena *A, const void *o) {
    const emb_op *p = (const emb_op *)o;
    return b->patch_positions_backward(b, AT(float, p->dcls), AT(float, p->dpos), AT(float, p->dpe), AT(float, p->dx), p->n, p->P, p->D);
}
static void ref_ppos_bw(arena *A, const void *o) {
    const emb_op *p = (const emb_op *)o;
    int im, r, i;
    for (im = 0; im < p->n; im++)
        for (r = 0; r <= p->P; r++)
            for (i = 0; i < p->D; i++) {
                const float d = AT(float, p->dx)[((size_t)im * (p->P + 1) + r) * p->D + i];
                if (p->dpos) AT(float, p->dpos)[(size_t)r * p->D + i] += d;
                if (r == 0 && p->dcls) AT(float, p->dcls)[i] += d;
                if (r > 0 && p->dpe) AT(float, p->dpe)[((size_t)im * p->P + r - 1) * p->D + i] = d;
            }
}

static int t_entry_embed(const void *arg) {
    arena A;
    int ok = 1, dt, t, nul;
    uint64_t s = 14;
    char what[96];
    (void)arg;
    EXPECT(arena_new(&A, 4 << 20) == 0, "out of memory");
    for (dt = 0; dt < 3; dt++) {
        emb_op p;
        memset(&p, 0, sizeof p);
        A.used = 0;
        p.dt = (LlavaDType)dt, p.T = 40, p.C = 24, p.V = 50, p.F = 12;
        p.table = take_weight(&A, p.dt, (size_t)p.V * p.C, &s);
        p.rows = (int *)take(&A, sizeof(int) * (size_t)p.T);
        for (t = 0; t < p.T; t++) /* tokens (some repeated), with the feature rows 0..F-1 in order in the middle */
            p.rows[t] = t >= 10 && t < 10 + p.F ? -1 - (t - 10) : (int)(llava_rng_next(&s) % (uint64_t)(t % 3 ? p.V : 4));
        p.feat = takef(&A, (size_t)p.F * p.C, &s), p.x = takef(&A, (size_t)p.T * p.C, &s), p.dx = takef(&A, (size_t)p.T * p.C, &s);
        p.dembed = takef(&A, (size_t)p.V * p.C, &s), p.dfeat = takef(&A, (size_t)p.F * p.C, &s);
        snprintf(what, sizeof what, "embed, dtype %d", dt);
        if (!run3(&A, op_embed, ref_embed, &p, what)) goto fail;
        if (dt) continue;
        for (nul = 0; nul < 3; nul++) {
            float *de = p.dembed, *df = p.dfeat;
            if (nul == 1) p.dembed = NULL;
            if (nul == 2) p.dfeat = NULL;
            snprintf(what, sizeof what, "embed_backward%s", nul == 1 ? ", no dembed" : nul == 2 ? ", no dfeat" : "");
            if (!run3(&A, op_embed_bw, ref_embed_bw, &p, what)) goto fail;
            p.dembed = de, p.dfeat = df;
        }
    }
    {
        emb_op p;
        memset(&p, 0, sizeof p);
        A.used = 0;
        p.n = 2, p.S = 24, p.ps = 6, p.P = 16, p.D = 20;
        p.pix = takef(&A, (size_t)p.n * 3 * p.S * p.S, &s), p.patches = takef(&A, (size_t)p.n * p.P * 3 * p.ps * p.ps, &s);
        if (!run3(&A, op_patchify, ref_patchify, &p, "patchify")) goto fail;
        p.pe = takef(&A, (size_t)p.n * p.P * p.D, &s), p.cls = takef(&A, (size_t)p.D, &s), p.pos = takef(&A, (size_t)(p.P + 1) * p.D, &s);
        p.x = takef(&A, (size_t)p.n * (p.P + 1) * p.D, &s), p.dx = takef(&A, (size_t)p.n * (p.P + 1) * p.D, &s);
        p.dcls = takef(&A, (size_t)p.D, &s), p.dpos = takef(&A, (size_t)(p.P + 1) * p.D, &s), p.dpe = takef(&A, (size_t)p.n * p.P * p.D, &s);
        if (!run3(&A, op_ppos, ref_ppos, &p, "patch_positions")) goto fail;
        if (!run3(&A, op_ppos_bw, ref_ppos_bw, &p, "patch_positions_backward")) goto fail;
        p.dcls = p.dpe = NULL;
        if (!run3(&A, op_ppos_bw, ref_ppos_bw, &p, "patch_positions_backward, dpos only")) goto fail;
    }
done:
    arena_free(&A);
    return ok;
fail:
    ok = 0;
    goto done;
}

typedef struct {
    float *logits, *dlogits, *x, *p, *m, *v, *g;
    int *targets;
    int T, V, t, with_sumsq;
    size_t n;
    float scale;
} opt_op;
static int op_ce(LlavaBackend *b, const arena *A, const void *o) {
    const opt_op *p = (const opt_op *)o;
    double *loss = (double *)&((arena *)A)->out[0];
    return b->cross_entropy(b, loss, AT(float, p->dlogits), AT(float, p->logits), AT(int, p->targets), p->T, p->V, p->scale);
}
static void ref_ce(arena *A, const void *o) {
    const opt_op *p = (const opt_op *)o;
    A->out[0] = llava__crossentropy_forward_backward(AT(float, p->dlogits), AT(float, p->logits), AT(int, p->targets), p->T, p->V, p->scale);
}
static int op_sumsq(LlavaBackend *b, const arena *A, const void *o) {
    const opt_op *p = (const opt_op *)o;
    return b->scale_sumsq(b, p->with_sumsq ? (double *)&((arena *)A)->out[0] : NULL, AT(float, p->x), p->scale, p->n);
}
static void ref_sumsq(arena *A, const void *o) {
    const opt_op *p = (const opt_op *)o;
    if (p->with_sumsq) A->out[0] = llava__scale_sumsq(AT(float, p->x), p->scale, p->n);
    else llava__scale(AT(float, p->x), p->scale, p->n);
}
static int op_adamw(LlavaBackend *b, const arena *A, const void *o) {
    const opt_op *p = (const opt_op *)o;
    return b->adamw(b, AT(float, p->p), AT(float, p->m), AT(float, p->v), AT(float, p->g), p->n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, p->t);
}
static void ref_adamw(arena *A, const void *o) {
    const opt_op *p = (const opt_op *)o;
    llava_adamw(AT(float, p->p), AT(float, p->m), AT(float, p->v), AT(float, p->g), p->n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, p->t);
}

static int t_entry_loss_opt(const void *arg) {
    arena A;
    int ok = 1, t, i, inplace, big;
    uint64_t s = 15;
    char what[96];
    (void)arg;
    EXPECT(arena_new(&A, 8 << 20) == 0, "out of memory");
    for (big = 0; big < 2; big++)
        for (inplace = 0; inplace < 2; inplace++) {
            opt_op p;
            memset(&p, 0, sizeof p);
            A.used = 0;
            p.T = big ? 90 : 9, p.V = big ? 600 : 37, p.scale = 0.125f;
            p.logits = takef(&A, (size_t)p.T * p.V, &s);
            for (i = 0; i < p.T * p.V; i++) p.logits[i] *= 6.0f;
            p.dlogits = inplace ? p.logits : takef(&A, (size_t)p.T * p.V, &s);
            p.targets = (int *)take(&A, sizeof(int) * (size_t)p.T);
            for (t = 0; t < p.T; t++) p.targets[t] = t % 4 == 1 ? LLAVA_IGNORE_INDEX : (int)(llava_rng_next(&s) % (uint64_t)p.V);
            snprintf(what, sizeof what, "cross_entropy T %d V %d%s", p.T, p.V, inplace ? " in place" : "");
            if (!run3(&A, op_ce, ref_ce, &p, what)) goto fail;
            /* the loss against a double sum over the inputs (A.h0: before the entry) */
            {
                const float *l0 = (const float *)(A.h0 + ((unsigned char *)p.logits - A.h));
                double want = 0;
                for (t = 0; t < p.T; t++) {
                    if (p.targets[t] < 0) continue;
                    double mx = -1e300, sum = 0;
                    for (i = 0; i < p.V; i++) mx = fmax(mx, l0[(size_t)t * p.V + i]);
                    for (i = 0; i < p.V; i++) sum += exp(l0[(size_t)t * p.V + i] - mx);
                    want += mx + log(sum) - l0[(size_t)t * p.V + p.targets[t]];
                }
                EXPECT(fabs(A.out[0] - want) <= 1e-5 * fabs(want), "%s: loss %.9g, a double sum %.9g", what, A.out[0], want);
            }
        }
    for (big = 0; big < 2; big++)
        for (i = 0; i < 2; i++) {
            opt_op p;
            memset(&p, 0, sizeof p);
            A.used = 0;
            p.n = big ? 300001 : 1000, p.scale = 0.75f, p.with_sumsq = i == 0;
            p.x = takef(&A, p.n, &s);
            snprintf(what, sizeof what, "scale_sumsq n %zu%s", p.n, p.with_sumsq ? "" : " (no sum)");
            if (!run3(&A, op_sumsq, ref_sumsq, &p, what)) goto fail;
            if (p.with_sumsq) {
                double want = 0;
                size_t k;
                for (k = 0; k < p.n; k++) want += (double)p.x[k] * p.x[k]; /* (p.x: the scaled values, the CPU's) */
                EXPECT(fabs(A.out[0] - want) <= 1e-12 * want, "%s: %.17g, a double sum %.17g", what, A.out[0], want);
            }
        }
    for (big = 0; big < 2; big++) {
        opt_op p;
        memset(&p, 0, sizeof p);
        A.used = 0;
        p.n = big ? 100003 : 3000;
        p.p = takef(&A, p.n, &s), p.m = takef(&A, p.n, &s), p.v = takef(&A, p.n, &s), p.g = takef(&A, p.n, &s);
        for (size_t k = 0; k < p.n; k++) p.m[k] *= 0.01f, p.v[k] = 0.001f * fabsf(p.v[k]), p.g[k] *= 0.1f;
        for (p.t = 1; p.t <= 3; p.t++) {
            snprintf(what, sizeof what, "adamw n %zu step %d", p.n, p.t);
            if (!run3(&A, op_adamw, ref_adamw, &p, what)) goto fail;
        }
    }
done:
    arena_free(&A);
    return ok;
fail:
    ok = 0;
    goto done;
}

/* the checking backend itself refuses addresses outside its allocations (so the tests above mean something) */
static int t_checker(const void *arg) {
    float host[64], *dev = NULL, *dev2 = NULL;
    const size_t bad0 = g_cb->n.bad;
    LlavaBackend *b = &g_cb->b;
    int ok = 1;
    (void)arg;
    memset(host, 0, sizeof host);
    dev = (float *)b->alloc(b, 64 * sizeof(float));
    dev2 = (float *)b->alloc(b, 64 * sizeof(float));
    EXPECT(dev && dev2, "alloc: %s", llava_last_error());
    EXPECT(b->upload(b, dev, host, sizeof host) == LLAVA_OK, "upload: %s", llava_last_error());
    EXPECT(b->add(b, host, dev, dev, 64) == LLAVA_ERR && strstr(llava_last_error(), "add: out"), "a host address as out: %s", llava_last_error());
    EXPECT(b->add(b, dev, dev, dev + 1, 64) == LLAVA_ERR && strstr(llava_last_error(), "past the end"), "one float past the end: %s",
           llava_last_error());
    EXPECT(b->upload(b, dev, dev2, 4) == LLAVA_ERR, "upload from backend memory accepted");
    EXPECT(b->download(b, host, dev, sizeof host + 4) == LLAVA_ERR, "download past the end accepted");
    b->free(b, dev2);
    EXPECT(b->add(b, dev, dev, dev2, 64) == LLAVA_ERR && strstr(llava_last_error(), "not in a live allocation"), "a freed allocation: %s",
           llava_last_error());
    b->free(b, dev2), dev2 = NULL; /* a second free: counted as bad */
    EXPECT(g_cb->n.bad == bad0 + 6, "%zu refusals counted, expected 6", g_cb->n.bad - bad0);
    EXPECT(b->add(b, dev, dev, dev, 64) == LLAVA_OK && b->download(b, host, dev, sizeof host) == LLAVA_OK, "a good call: %s", llava_last_error());
done:
    if (dev) b->free(b, dev);
    g_cb->n.bad = bad0;
    return ok;
}

/* --- (e) errors -------------------------------------------------------------------------------------- */
/* a failure switch on every entry but memory management: the k-th call fails */
static long g_fail_call = -1;
static LlavaBackend g_saved; /* the checking backend's table, restored after */
#define FAILING(name, ret, params, args)                                                                          \
    static ret fl_##name params {                                                                                 \
        if (g_fail_call == 0) {                                                                                   \
            g_fail_call = -1;                                                                                     \
            llava__err("injected failure in " #name);                                                             \
            return LLAVA_ERR;                                                                                     \
        }                                                                                                         \
        if (g_fail_call > 0) g_fail_call--;                                                                       \
        return g_saved.name args;                                                                                 \
    }
FAILING(upload, int, (LlavaBackend * b, void *d, const void *s, size_t n), (b, d, s, n))
FAILING(download, int, (LlavaBackend * b, void *d, const void *s, size_t n), (b, d, s, n))
FAILING(copy, int, (LlavaBackend * b, void *d, const void *s, size_t n), (b, d, s, n))
FAILING(matmul, int, (LlavaBackend * b, float *o, const float *i, const LlavaWeight *w, const float *bi, int T, int C, int OC),
        (b, o, i, w, bi, T, C, OC))
FAILING(layernorm, int, (LlavaBackend * b, float *o, float *m, float *r, const float *i, const float *w, const float *bi, int T, int C, float e),
        (b, o, m, r, i, w, bi, T, C, e))
FAILING(rmsnorm, int, (LlavaBackend * b, float *o, float *r, const float *i, const float *w, int T, int C, float e), (b, o, r, i, w, T, C, e))
FAILING(rope, int, (LlavaBackend * b, float *x, const float *f, int p0, int T, int nh, int Dh), (b, x, f, p0, T, nh, Dh))
FAILING(attention, int,
        (LlavaBackend * b, float *o, float *l, const float *q, const float *k, const float *v, int T, int S, int p0, int H, int KVH, int Dh, int c),
        (b, o, l, q, k, v, T, S, p0, H, KVH, Dh, c))
FAILING(act, int, (LlavaBackend * b, float *o, const float *i, size_t n, LlavaAct a), (b, o, i, n, a))
FAILING(glu, int, (LlavaBackend * b, float *o, const float *g, const float *u, size_t n, LlavaAct a), (b, o, g, u, n, a))
FAILING(add, int, (LlavaBackend * b, float *o, const float *x, const float *y, size_t n), (b, o, x, y, n))
FAILING(embed, int, (LlavaBackend * b, float *x, const int *r, const float *f, const LlavaWeight *e, int T, int C), (b, x, r, f, e, T, C))
FAILING(patchify, int, (LlavaBackend * b, float *p, const float *px, int n, int S, int ps), (b, p, px, n, S, ps))
FAILING(patch_positions, int, (LlavaBackend * b, float *x, const float *pe, const float *c, const float *p, int n, int P, int D),
        (b, x, pe, c, p, n, P, D))
/* the training entries */
FAILING(fill, int, (LlavaBackend * b, float *d, float v, size_t n), (b, d, v, n))
FAILING(matmul_backward, int,
        (LlavaBackend * b, float *di, float *dw, float *db, const float *d, const float *i, const LlavaWeight *w, int T, int C, int OC),
        (b, di, dw, db, d, i, w, T, C, OC))
FAILING(layernorm_backward, int,
        (LlavaBackend * b, float *di, float *dw, float *db, const float *d, const float *i, const float *w, const float *m, const float *r,
         int T, int C),
        (b, di, dw, db, d, i, w, m, r, T, C))
FAILING(rmsnorm_backward, int,
        (LlavaBackend * b, float *di, float *dw, const float *d, const float *i, const float *w, const float *r, int T, int C),
        (b, di, dw, d, i, w, r, T, C))
FAILING(rope_backward, int, (LlavaBackend * b, float *x, const float *f, int p0, int T, int nh, int Dh), (b, x, f, p0, T, nh, Dh))
FAILING(attention_backward, int,
        (LlavaBackend * b, float *dq, float *dk, float *dv, const float *d, const float *o, const float *l, const float *q, const float *k,
         const float *v, int T, int H, int KVH, int Dh, int c),
        (b, dq, dk, dv, d, o, l, q, k, v, T, H, KVH, Dh, c))
FAILING(act_backward, int, (LlavaBackend * b, float *dx, const float *d, const float *x, size_t n, LlavaAct a), (b, dx, d, x, n, a))
FAILING(glu_backward, int, (LlavaBackend * b, float *dg, float *du, const float *d, const float *g, const float *u, size_t n, LlavaAct a),
        (b, dg, du, d, g, u, n, a))
FAILING(embed_backward, int, (LlavaBackend * b, float *de, float *df, const float *dx, const int *r, int T, int C), (b, de, df, dx, r, T, C))
FAILING(patch_positions_backward, int, (LlavaBackend * b, float *dc, float *dp, float *dpe, const float *dx, int n, int P, int D),
        (b, dc, dp, dpe, dx, n, P, D))
FAILING(cross_entropy, int, (LlavaBackend * b, double *l, float *dl, const float *lg, const int *t, int T, int V, float s), (b, l, dl, lg, t, T, V, s))
FAILING(scale_sumsq, int, (LlavaBackend * b, double *q, float *x, float f, size_t n), (b, q, x, f, n))
FAILING(adamw, int,
        (LlavaBackend * b, float *p, float *m, float *v, const float *g, size_t n, float lr, float b1, float b2, float eps, float wd, int step),
        (b, p, m, v, g, n, lr, b1, b2, eps, wd, step))
#undef FAILING
static void failing_on(void) {
    LlavaBackend *b = &g_cb->b;
    g_saved = *b;
    b->upload = fl_upload, b->download = fl_download, b->copy = fl_copy, b->matmul = fl_matmul, b->layernorm = fl_layernorm;
    b->rmsnorm = fl_rmsnorm, b->rope = fl_rope, b->attention = fl_attention, b->act = fl_act, b->glu = fl_glu, b->add = fl_add;
    b->embed = fl_embed, b->patchify = fl_patchify, b->patch_positions = fl_patch_positions;
    b->fill = fl_fill, b->matmul_backward = fl_matmul_backward, b->layernorm_backward = fl_layernorm_backward;
    b->rmsnorm_backward = fl_rmsnorm_backward, b->rope_backward = fl_rope_backward, b->attention_backward = fl_attention_backward;
    b->act_backward = fl_act_backward, b->glu_backward = fl_glu_backward, b->embed_backward = fl_embed_backward;
    b->patch_positions_backward = fl_patch_positions_backward, b->cross_entropy = fl_cross_entropy, b->scale_sumsq = fl_scale_sumsq;
    b->adamw = fl_adamw;
}
static void failing_off(void) {
    g_cb->b = g_saved;
    g_fail_call = -1;
}

/* allocations refused at every point of a load, a context and a prompt: NULL with a message, nothing
   left allocated; then the same calls succeed with the same logits as the CPU backend */
static int t_alloc_failures(const void *arg) {
    const fcase *f = &g_cases[1]; /* two images */
    LlavaModel *m = NULL, *m0 = NULL;
    LlavaContext *c = NULL, *c0 = NULL;
    float *pixels = NULL;
    int ok = 1, k, n_fail = 0;
    size_t n, live0 = g_cb->n.live;
    (void)arg;
    pixels = (float *)read_all(f->pixels, &n);
    EXPECT(pixels && f->n_images == 2, "fixture %s", f->name);
    /* the load: every map refused in turn */
    for (k = 0;; k++) {
        g_cb->fail_after = k;
        llava__errbuf[0] = 0;
        m = load_checked(f->model);
        const long left = g_cb->fail_after;
        g_cb->fail_after = -1;
        if (m) break;
        EXPECT(left == 0, "load failed before map %d was refused: %s", k, llava_last_error());
        EXPECT(strstr(llava_last_error(), "refused"), "load with map %d refused: message \"%s\"", k, llava_last_error());
        EXPECT(g_cb->n.live == live0, "load with map %d refused: %zu allocations left", k, g_cb->n.live - live0);
        n_fail++;
    }
    EXPECT(n_fail > 10, "only %d maps at load", n_fail);
    /* a context: every allocation refused in turn */
    for (k = 0;; k++) {
        const size_t l = g_cb->n.live;
        g_cb->fail_after = k;
        llava__errbuf[0] = 0;
        c = llava_context_new(m, 0);
        const long left = g_cb->fail_after;
        g_cb->fail_after = -1;
        if (c) break;
        EXPECT(left == 0, "context failed before allocation %d was refused: %s", k, llava_last_error());
        EXPECT(llava_last_error()[0] && strstr(llava_last_error(), "memory"), "context with allocation %d refused: message \"%s\"", k,
               llava_last_error());
        EXPECT(g_cb->n.live == l, "context with allocation %d refused: %zu allocations left", k, g_cb->n.live - l);
    }
    EXPECT(k >= 2, "a context made with %d allocations", k);
    g_cb->fail_alloc = 1;
    EXPECT(!llava_context_new(m, 0) && strstr(llava_last_error(), "memory"), "context with every allocation refused: %s", llava_last_error());
    g_cb->fail_alloc = 0;
    /* a prompt with images: its allocations (features, an image's activations) refused in turn */
    for (k = 0;; k++) {
        g_cb->fail_after = k;
        llava__errbuf[0] = 0;
        const float *l = llava_prompt(c, f->ids, f->n_ids, pixels, f->n_images);
        const long left = g_cb->fail_after;
        g_cb->fail_after = -1;
        if (l) break;
        EXPECT(left == 0, "prompt failed before allocation %d was refused: %s", k, llava_last_error());
        EXPECT(strstr(llava_last_error(), "memory"), "prompt with allocation %d refused: message \"%s\"", k, llava_last_error());
    }
    EXPECT(k >= 2, "a prompt with images made %d allocations", k);
    /* and after the failures the context works, as the CPU backend's */
    m0 = llava_model_load(f->model);
    c0 = m0 ? llava_context_new(m0, 0) : NULL;
    EXPECT(c0 && llava_prompt(c0, f->ids, f->n_ids, pixels, f->n_images), "cpu: %s", llava_last_error());
    EXPECT(llava_prompt(c, f->ids, f->n_ids, pixels, f->n_images), "prompt: %s", llava_last_error());
    EXPECT(!memcmp(llava_logits(c), llava_logits(c0), sizeof(float) * (size_t)f->vocab), "logits after the failures differ from cpu's");
    /* llava_encode_image with its activations refused */
    {
        float *feat = (float *)malloc(sizeof(float) * (size_t)llava_image_tokens(m) * llava_model_config(m)->text_hidden);
        g_cb->fail_alloc = 1;
        const int rc = feat ? llava_encode_image(m, pixels, feat) : LLAVA_ERR;
        g_cb->fail_alloc = 0;
        free(feat);
        EXPECT(rc == LLAVA_ERR && strstr(llava_last_error(), "memory"), "encode_image with allocations refused: %d, %s", rc, llava_last_error());
    }
done:
    g_cb->fail_after = -1, g_cb->fail_alloc = 0;
    llava_context_free(c), llava_context_free(c0);
    llava_model_free(m), llava_model_free(m0);
    if (ok && g_cb->n.live != live0) snprintf(g_msg, sizeof g_msg, "%zu allocations left at the end", g_cb->n.live - live0), ok = 0;
    free(pixels);
    return ok;
}

/* every entry call of a prompt (two images) and of a step made to fail in turn: each failure reaches
   the caller (NULL with the entry's message), and the context still works after */
static int t_call_failures(const void *arg) {
    const fcase *f = &g_cases[1];
    LlavaModel *m = NULL, *m0 = NULL;
    LlavaContext *c = NULL, *c0 = NULL;
    float *pixels = NULL, *want = NULL, *got = NULL;
    int ok = 1, k, on = 0;
    size_t n;
    const int T = f->positions, V = f->vocab;
    (void)arg;
    pixels = (float *)read_all(f->pixels, &n);
    want = (float *)malloc(sizeof(float) * (size_t)T * V), got = (float *)malloc(sizeof(float) * (size_t)T * V);
    m = load_checked(f->model), m0 = llava_model_load(f->model);
    c = m ? llava_context_new(m, 0) : NULL, c0 = m0 ? llava_context_new(m0, 0) : NULL;
    EXPECT(pixels && want && got && c && c0, "setup: %s", llava_last_error());
    EXPECT(llava_eval(c0, f->ids, f->n_ids, pixels, f->n_images, want) == T, "cpu: %s", llava_last_error());
    failing_on(), on = 1;
    for (k = 0;; k++) {
        g_fail_call = k;
        llava_context_reset(c);
        const int r = llava_eval(c, f->ids, f->n_ids, pixels, f->n_images, got);
        const int injected = g_fail_call == -1; /* call k was reached (and failed) */
        if (!injected) {
            EXPECT(r == T, "eval with no failure: %d, %s", r, llava_last_error());
            break;
        }
        EXPECT(r == -1 && strstr(llava_last_error(), "injected failure"), "eval with entry call %d failing: returned %d, message \"%s\"", k, r,
               llava_last_error());
    }
    EXPECT(k > 50, "a prompt of two images ran only %d entry calls", k);
    EXPECT(!memcmp(got, want, sizeof(float) * (size_t)T * V), "logits after the failures differ from cpu's");
    /* the steps */
    EXPECT(llava_step(c0, 9), "cpu step: %s", llava_last_error());
    for (k = 0;; k++) {
        llava_context_reset(c);
        g_fail_call = -1;
        EXPECT(llava_eval(c, f->ids, f->n_ids, pixels, f->n_images, NULL) == T, "prompt: %s", llava_last_error());
        g_fail_call = k;
        const float *l = llava_step(c, 9);
        if (g_fail_call != -1) { /* the step ran fewer than k + 1 calls: none failed */
            EXPECT(l && !memcmp(l, llava_logits(c0), sizeof(float) * (size_t)V), "step with no failure: %s", l ? "logits differ" : llava_last_error());
            break;
        }
        EXPECT(!l && strstr(llava_last_error(), "injected failure"), "step with entry call %d failing: %s, message \"%s\"", k,
               l ? "logits returned" : "NULL", llava_last_error());
    }
    EXPECT(k > 10, "a step ran only %d entry calls", k);
done:
    if (on) failing_off();
    llava_context_free(c), llava_context_free(c0);
    llava_model_free(m), llava_model_free(m0);
    free(pixels), free(want), free(got);
    return ok;
}

/* --- training with the model on cpu-remote ----------------------------------------------------------- */
static int files_equal(const char *a, const char *b) {
    size_t na, nb;
    void *pa = read_all(a, &na), *pb = read_all(b, &nb);
    const int same = pa && pb && na == nb && !memcmp(pa, pb, na);
    free(pa), free(pb);
    return same;
}

/* tiny_hf4's fixture with one image: its model on cpu-remote (*m) and on the CPU (*m0), its pixels; 0, or -1
   with g_msg set (what was made is the caller's to free) */
static int train_pair(const fcase **fp, LlavaModel **m, LlavaModel **m0, float **pixels) {
    const fcase *f = NULL;
    size_t n;
    int i;
    for (i = 0; i < g_ncases; i++)
        if (!f && strstr(g_cases[i].model, "tiny_hf4") && g_cases[i].n_images == 1) f = &g_cases[i];
    if (!f) return snprintf(g_msg, sizeof g_msg, "no tiny_hf4 fixture with one image"), -1;
    *fp = f;
    *m = load_checked(f->model);
    *m0 = llava_model_load(f->model);
    if (!*m || !*m0) return snprintf(g_msg, sizeof g_msg, "load: %s", llava_last_error()), -1;
    if (!(*pixels = (float *)read_all(f->pixels, &n))) return snprintf(g_msg, sizeof g_msg, "%s: unreadable", f->pixels), -1;
    return 0;
}

static size_t g_fig_tstep_up, g_fig_tstep_down, g_fig_tstep_rows, g_fig_tstep_px, g_fig_tstep_sup;

/* stage-2 steps of tiny_hf4 on cpu-remote and on the CPU: the same losses, gradient norms and parameters
   bit for bit; after the first, a step uploads its batch (pixels, each position's embedding row and
   target), downloads nothing (the loss and the gradient's sums of squares come back as the entries'
   scalars) and allocates nothing on either side; the checkpoints written from both are the same bytes */
static int t_train_remote(const void *arg) {
    const fcase *f = NULL;
    LlavaModel *m = NULL, *m0 = NULL;
    LlavaTrainer *t = NULL, *t0 = NULL;
    float *pixels = NULL, *a = NULL, *b = NULL;
    int ok = 1, i, k, lab[256], ids2[24], lab2[24];
    size_t n;
    char da[300], db[300], pa[400], pb[400];
    (void)arg;
    if (train_pair(&f, &m, &m0, &pixels) != 0) {
        ok = 0;
        goto done;
    }
    const LlavaConfig *cfg = llava_model_config(m);
    /* an image sample (its text after the image supervised) and a text-only one */
    for (i = 0, k = 0; i < f->n_ids; i++) lab[i] = f->ids[i] == cfg->image_token_id || k++ < 2 ? -100 : f->ids[i];
    for (i = 0; i < 24; i++) ids2[i] = 1 + (i * 37) % (cfg->text_vocab - 2), lab2[i] = i < 4 ? -100 : ids2[i];
    LlavaSample s[2] = {{f->ids, lab, f->n_ids, pixels, 1}, {ids2, lab2, 24, NULL, 0}};
    LlavaTrainOptions o;
    llava_train_defaults(&o, 2);
    o.lr = 2e-3f, o.weight_decay = 0.1f, o.total_steps = 8;
    t = llava_trainer_new(m, &o);
    t0 = llava_trainer_new(m0, &o);
    EXPECT(t && t0, "trainer: %s", llava_last_error());
    for (i = 0; i < 4; i++) {
        LlavaStepStats st, st0;
        const size_t h0 = host_allocs();
        check_backend_reset(g_cb);
        EXPECT(llava_trainer_step(t, s, 2, &st) == LLAVA_OK, "step %d on cpu-remote: %s", i + 1, llava_last_error());
        const size_t h = host_allocs() - h0;
        const CheckCounts c = g_cb->n;
        EXPECT(llava_trainer_step(t0, s, 2, &st0) == LLAVA_OK, "step %d on cpu: %s", i + 1, llava_last_error());
        EXPECT(st.loss == st0.loss && st.grad_norm == st0.grad_norm && st.tokens == st0.tokens,
               "step %d: loss %.9g, norm %.9g on cpu-remote; %.9g, %.9g on cpu", i + 1, st.loss, st.grad_norm, st0.loss, st0.grad_norm);
        if (i == 0) continue; /* the first step allocates the parameters' copies and the working memory */
        const int rows = llava_expanded_length(m, f->ids, f->n_ids) + 24;
        const size_t px = (size_t)3 * cfg->vision_image_size * cfg->vision_image_size * sizeof(float);
        /* the pixels, each position's row, each supervised position's target and row */
        const size_t want = px + (size_t)rows * sizeof(int) + (size_t)st.tokens * 2 * sizeof(int);
        EXPECT(c.uploaded == want && c.downloaded == 0,
               "step %d: uploaded %zu bytes (the batch: %zu of pixels + %d positions x 4 + %ld supervised x 8 = %zu), downloaded %zu", i + 1,
               c.uploaded, px, rows, (long)st.tokens, want, c.downloaded);
        EXPECT(c.allocs == 0 && c.frees == 0 && c.maps == 0 && h == 0, "step %d: %zu backend allocations, %zu frees, %zu maps; %zu host ones",
               i + 1, c.allocs, c.frees, c.maps, h);
        EXPECT(c.bad == 0, "step %d: %zu entries refused", i + 1, c.bad);
        g_fig_tstep_up = c.uploaded, g_fig_tstep_down = c.downloaded, g_fig_tstep_rows = (size_t)rows, g_fig_tstep_px = px;
        g_fig_tstep_sup = (size_t)st.tokens;
    }
    /* every parameter (trainable: the f32 copies; frozen: as loaded) */
    for (i = 0; i < llava_trainer_n_params(t); i++) {
        const float *g, *g0;
        const char *key = llava_trainer_param(t, i, NULL, &g, &n);
        llava_trainer_param(t0, i, NULL, &g0, NULL);
        a = (float *)malloc(n * sizeof(float)), b = (float *)malloc(n * sizeof(float));
        EXPECT(a && b, "out of memory");
        EXPECT(llava_trainer_read(t, i, a, NULL) == LLAVA_OK && llava_trainer_read(t0, i, b, NULL) == LLAVA_OK, "read %s: %s", key,
               llava_last_error());
        EXPECT(!memcmp(a, b, n * sizeof(float)), "%s differs between cpu-remote and cpu after 4 steps", key);
        EXPECT(!g == !g0, "%s: trainable on one backend only", key);
        EXPECT(g || llava_trainer_read(t, i, NULL, a) == LLAVA_ERR, "%s is frozen, but reading its gradient succeeded", key);
        free(a), free(b), a = b = NULL;
    }
    /* checkpoints: the same files */
    snprintf(da, sizeof da, "%s/ck-remote", g_tmp), snprintf(db, sizeof db, "%s/ck-cpu", g_tmp);
    EXPECT(llava_trainer_save(t, da) == LLAVA_OK, "save on cpu-remote: %s", llava_last_error());
    EXPECT(llava_trainer_save(t0, db) == LLAVA_OK, "save on cpu: %s", llava_last_error());
    {
        static const char *files[3] = {"model.safetensors", "optimizer.safetensors", "trainer_state.json"};
        for (i = 0; i < 3; i++) {
            snprintf(pa, sizeof pa, "%s/%s", da, files[i]), snprintf(pb, sizeof pb, "%s/%s", db, files[i]);
            EXPECT(files_equal(pa, pb), "%s differs between the checkpoints saved from cpu-remote and cpu", files[i]);
        }
    }
    EXPECT(g_cb->n.bad == 0, "%zu entries refused", g_cb->n.bad);
done:
    free(a), free(b);
    llava_trainer_free(t), llava_trainer_free(t0);
    llava_model_free(m), llava_model_free(m0);
    free(pixels);
    return ok;
}

/* training on cpu-remote when things fail: the first step (the parameters' copies, the working memory)
   with each backend allocation refused in turn, then a later step and a checkpoint's save with each entry
   call failing in turn: an error each time, naming the cause; a save that fails leaves no directory; the
   step after the allocation failures is the CPU's, bit for bit; nothing is left allocated */
static int t_train_failures(const void *arg) {
    const fcase *f = NULL;
    LlavaModel *m = NULL, *m0 = NULL;
    LlavaTrainer *t = NULL, *t0 = NULL;
    float *pixels = NULL;
    int ok = 1, i, k, on = 0, lab[256];
    size_t live0 = g_cb->n.live;
    char dir[300];
    (void)arg;
    if (train_pair(&f, &m, &m0, &pixels) != 0) {
        ok = 0;
        goto done;
    }
    for (i = 0; i < f->n_ids; i++) lab[i] = f->ids[i] == llava_model_config(m)->image_token_id ? -100 : f->ids[i];
    LlavaSample s = {f->ids, lab, f->n_ids, pixels, 1};
    LlavaTrainOptions o;
    llava_train_defaults(&o, 2);
    o.lr = 2e-3f, o.total_steps = 8;
    t = llava_trainer_new(m, &o);
    t0 = llava_trainer_new(m0, &o);
    EXPECT(t && t0, "trainer: %s", llava_last_error());
    LlavaStepStats st, st0;
    for (k = 0;; k++) {
        g_cb->fail_after = k;
        llava__errbuf[0] = 0;
        const int rc = llava_trainer_step(t, &s, 1, &st);
        const long left = g_cb->fail_after;
        g_cb->fail_after = -1;
        if (rc == LLAVA_OK) break;
        EXPECT(left == 0, "the first step failed before allocation %d was refused: %s", k, llava_last_error());
        EXPECT(strstr(llava_last_error(), "memory"), "the first step with allocation %d refused: message \"%s\"", k, llava_last_error());
    }
    EXPECT(k >= 3, "a first training step made %d allocations", k);
    EXPECT(llava_trainer_step(t0, &s, 1, &st0) == LLAVA_OK, "cpu: %s", llava_last_error());
    EXPECT(st.loss == st0.loss && st.grad_norm == st0.grad_norm, "after the refusals: loss %.9g, norm %.9g; cpu %.9g, %.9g", st.loss,
           st.grad_norm, st0.loss, st0.grad_norm);
    failing_on(), on = 1;
    for (k = 0;; k++) {
        g_fail_call = k;
        const int rc = llava_trainer_step(t, &s, 1, &st);
        if (g_fail_call != -1) { /* fewer than k + 1 calls: none failed */
            EXPECT(rc == LLAVA_OK, "a step with no failure: %s", llava_last_error());
            break;
        }
        EXPECT(rc == LLAVA_ERR && strstr(llava_last_error(), "injected failure"), "step with entry call %d failing: %d, message \"%s\"", k, rc,
               llava_last_error());
    }
    EXPECT(k > 100, "a training step ran only %d entry calls", k);
    snprintf(dir, sizeof dir, "%s/ck-failing", g_tmp);
    for (k = 0;; k++) {
        g_fail_call = k;
        const int rc = llava_trainer_save(t, dir);
        if (g_fail_call != -1) {
            EXPECT(rc == LLAVA_OK && access(dir, F_OK) == 0, "a save with no failure: %s", llava_last_error());
            break;
        }
        EXPECT(rc == LLAVA_ERR && strstr(llava_last_error(), "injected failure in download"), "save with entry call %d failing: %d, \"%s\"", k,
               rc, llava_last_error());
        EXPECT(access(dir, F_OK) != 0, "a failed save (call %d) left %s", k, dir);
    }
    EXPECT(k > 20, "a save downloaded %d times", k);
done:
    if (on) failing_off();
    g_cb->fail_after = -1;
    llava_trainer_free(t), llava_trainer_free(t0);
    llava_model_free(m), llava_model_free(m0);
    if (ok && g_cb->n.live != live0) snprintf(g_msg, sizeof g_msg, "%zu allocations left at the end", g_cb->n.live - live0), ok = 0;
    free(pixels);
    return ok;
}

/* the model on cpu-remote: saved as the CPU saves it (F32 and BF16); a stage-1 projector replaces its
   projector's weights on the backend (mapped once more), giving the CPU's logits */
static int t_remote_save_projector(const void *arg) {
    LlavaModel *m = NULL, *m0 = NULL;
    LlavaContext *c = NULL, *c0 = NULL;
    int ok = 1, d;
    char da[300], db[300], pa[400], pb[400];
    (void)arg;
    m = load_checked(fx("models/tiny_orig_mlp"));
    m0 = llava_model_load(fx("models/tiny_orig_mlp"));
    EXPECT(m && m0, "load: %s", llava_last_error());
    for (d = 0; d < 2; d++) {
        const LlavaDType dt = d ? LLAVA_BF16 : LLAVA_F32;
        snprintf(da, sizeof da, "%s/saved-remote-%d", g_tmp, d), snprintf(db, sizeof db, "%s/saved-cpu-%d", g_tmp, d);
        EXPECT(llava_model_save(m, da, dt) == LLAVA_OK && llava_model_save(m0, db, dt) == LLAVA_OK, "save: %s", llava_last_error());
        snprintf(pa, sizeof pa, "%s/model.safetensors", da), snprintf(pb, sizeof pb, "%s/model.safetensors", db);
        EXPECT(files_equal(pa, pb), "model.safetensors (%s) differs between cpu-remote and cpu", d ? "BF16" : "F32");
        snprintf(pa, sizeof pa, "%s/clip/model.safetensors", da), snprintf(pb, sizeof pb, "%s/clip/model.safetensors", db);
        EXPECT(files_equal(pa, pb), "clip/model.safetensors (%s) differs between cpu-remote and cpu", d ? "BF16" : "F32");
    }
    const size_t maps0 = g_cb->n.maps;
    EXPECT(llava_model_load_projector(m, fx("bin/mm_projector.safetensors")) == LLAVA_OK, "load_projector on cpu-remote: %s", llava_last_error());
    EXPECT(llava_model_load_projector(m0, fx("bin/mm_projector.safetensors")) == LLAVA_OK, "load_projector on cpu: %s", llava_last_error());
    const LlavaConfig *cfg = llava_model_config(m);
    const size_t want = (size_t)cfg->proj_layers * (cfg->proj_bias ? 2 : 1);
    EXPECT(g_cb->n.maps - maps0 == want, "load_projector mapped %zu tensors, the projector has %zu", g_cb->n.maps - maps0, want);
    {
        const int ids[6] = {1, 5, 6, 7, 8, 9};
        c = llava_context_new(m, 16), c0 = llava_context_new(m0, 16);
        EXPECT(c && c0, "context: %s", llava_last_error());
        const float *l = llava_prompt(c, ids, 6, NULL, 0), *l0 = llava_prompt(c0, ids, 6, NULL, 0);
        EXPECT(l && l0 && !memcmp(l, l0, sizeof(float) * (size_t)cfg->text_vocab), "logits after load_projector differ: %s",
               l && l0 ? "" : llava_last_error());
    }
    EXPECT(llava_model_load_projector(m, fx("bin/mm_projector_bad_shape.bin")) == LLAVA_ERR, "a projector of the wrong shape loaded");
done:
    llava_context_free(c), llava_context_free(c0);
    llava_model_free(m), llava_model_free(m0);
    return ok;
}

int main(int argc, char **argv) {
    int i;
    char name[200];
#ifdef _OPENMP
    /* Threads that sleep while they wait: the checking backend runs each entry between two mprotect calls,
       and with OpenMP's default (spin first) a loaded machine spends ten times the work on spinning. The
       policy is read when the runtime starts, so the program starts again with it (once; on failure it
       goes on as it is). */
    if (!getenv("OMP_WAIT_POLICY") && setenv("OMP_WAIT_POLICY", "passive", 1) == 0) {
        fflush(stdout);
        execv("/proc/self/exe", argv);
    }
#endif
    if (argc > 1) g_fix = argv[1];
    snprintf(g_tmp, sizeof g_tmp, "/tmp/llava-test-backend-XXXXXX");
    g_cb = check_backend_new((size_t)1 << 30);
    g_cpu = llava_backend_cpu_new(LLAVA_PREC_F32);
    if (!g_cb || !g_cpu || !mkdtemp(g_tmp) || manifest_load("manifest.json", NULL) != 0 || manifest_load("lm/manifest.json", NULL) != 0) {
        printf("FAIL  setup (checking backend, CPU backend, temporary directory, %s/manifest.json): %s\n0 passed, 1 failed\n", g_fix,
               llava_last_error());
        return 1;
    }
    run("the checking backend refuses host addresses, overruns, freed memory", t_checker, NULL);
    for (i = 0; i < g_ncases; i++) {
        snprintf(name, sizeof name, "cpu-remote: transformers fixture %s: logits, greedy, KV cache, = cpu bit for bit", g_cases[i].name);
        run(name, t_fixture, &g_cases[i]);
    }
    run("cpu-remote = cpu: GGUF text model gguf/tiny-f16.gguf; no tower to run or count", t_gguf, "gguf/tiny-f16.gguf");
    run("cpu-remote = cpu: GGUF text model gguf/tiny-quant.gguf (dequantized); no tower to run or count", t_gguf, "gguf/tiny-quant.gguf");
    {
        static const char *models[] = {"tiny_hf4", "tiny_hf5", "tiny_mem_bf16", "tiny_f16_sharded", "tiny_orig_linear", "tiny_orig_mlp"};
        int j;
        for (j = 0; j < 6; j++)
            for (i = 0; i < g_ncases; i++)
                if (strstr(g_cases[i].model, models[j]) && g_cases[i].n_images == 1) {
                    snprintf(name, sizeof name, "transfers %s: each weight mapped once; prompt, step (4 bytes up, V*4 down), all logits",
                             models[j]);
                    run(name, t_transfers, &g_cases[i]);
                    if (j == 0)
                        printf("      tiny_hf4: load maps %zu tensors, %zu bytes; a context makes %zu allocations; a prompt (1 image, 28 positions) "
                               "uploads %zu bytes, downloads %zu; a step uploads %zu, downloads %zu\n",
                               g_fig_maps, g_fig_mapped, g_fig_ctx_allocs, g_fig_prompt_up, g_fig_prompt_down, g_fig_step_up, g_fig_step_down);
                    break;
                }
    }
    {
        static const alloc_case ac[] = {
            {"tiny_hf4", 0, LLAVA_PREC_F32, 0},      {"tiny_hf4", 1, LLAVA_PREC_F32, 0},      {"tiny_hf4", 0, LLAVA_PREC_F32, 1},
            {"tiny_hf4", 1, LLAVA_PREC_F32, 1},      {"tiny_f16_sharded", 0, LLAVA_PREC_F32, 0}, {"tiny_f16_sharded", 1, LLAVA_PREC_F32, 1},
            {"tiny_mem_bf16", 0, LLAVA_PREC_F32, 1}, {"tiny_mem_bf16", 1, LLAVA_PREC_F32, 0}, {"tiny_hf4", 0, LLAVA_PREC_BF16, 0},
            {"tiny_hf4", 1, LLAVA_PREC_BF16, 1},
        };
        for (i = 0; i < (int)(sizeof ac / sizeof ac[0]); i++) {
            snprintf(name, sizeof name, "no allocation in 40 decode steps: %s on %s, %s products, %s prompt", ac[i].model, ac[i].checked ? "cpu-remote" : "cpu",
                     ac[i].prec == LLAVA_PREC_BF16 ? "bf16" : "f32", ac[i].short_prompt ? "a 3-token" : "an image");
            run(name, t_allocs, &ac[i]);
        }
    }
    run("contexts of one model on the CPU backend in three threads = one at a time", t_threads_one_model, NULL);
    run("entries matmul, matmul_backward (f32/f16/bf16 weights, f32/bf16 products) = llava_matmul_*; cpu-remote = cpu", t_entry_matmul, NULL);
    run("entries layernorm, rmsnorm, rope, act, glu (+ backward), add, fill, copy = layer functions; cpu-remote = cpu", t_entry_elementwise, NULL);
    run("entries attention (the stash = the probabilities), attention_backward = llava_attention_* with probs; cpu-remote = cpu", t_entry_attention, NULL);
    run("entries embed, patchify, patch_positions (+ backward) = plain loops; cpu-remote = cpu", t_entry_embed, NULL);
    run("entries cross_entropy, scale_sumsq (= double sums), adamw = llava_adamw; cpu-remote = cpu", t_entry_loss_opt, NULL);
    run("refused allocations (load, context, prompt, encode): NULL with a message, nothing leaked, then the same logits", t_alloc_failures, NULL);
    run("every entry call of a prompt and a step failing in turn: the error reaches the caller", t_call_failures, NULL);
    run("training on cpu-remote = cpu bit for bit; a step uploads its batch, downloads nothing, allocates nothing; same checkpoints",
        t_train_remote, NULL);
    printf("      tiny_hf4 stage 2, 2 samples (%zu positions, %zu supervised, 1 image): a step uploads %zu bytes (%zu of pixels, 4 per position, 8 per "
           "supervised position), downloads %zu\n", g_fig_tstep_rows, g_fig_tstep_sup, g_fig_tstep_up, g_fig_tstep_px, g_fig_tstep_down);
    run("training on cpu-remote: refused allocations, failing entry calls and downloads in a step and a save: errors", t_train_failures, NULL);
    run("saving (F32, BF16) and load_projector on cpu-remote = cpu", t_remote_save_projector, NULL);
    if (g_cb->n.live != 0) {
        printf("FAIL  the checking backend holds %zu allocations at the end\n", g_cb->n.live);
        g_fail++;
    }
    llava_backend_free(g_cpu);
    check_backend_free(g_cb);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return test_summary();
}
