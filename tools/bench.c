/* bench: llava.h speed as ratios measured in one run (so they mean something on a noisy machine).

   Prints a table and writes bench.json: [{"name", "value", "unit", "ref_name", "ref_value", "ratio",
   "config", "threads"}], ratio = value / ref_value, higher is better for us.

     bench [--quick] [--no-7b] [--cache DIR] [--repeat N]        (bench --help for the details)

   Figures: this machine's FMA peak and memory bandwidth (measured here), matmul GFLOP/s on the `7b`
   vision shapes against that peak and against the naive loop (and with bf16 operands, llava_use_bf16's
   products, against f32's), decode GEMV against the bandwidth, a `mini` stage-2 training step (f32, and
   with bf16 products against it), and
   for a `7b`-shaped BF16 checkpoint with random weights (written once to the cache directory,
   $LLAVA_CACHE or ~/.cache/llava.h) the load time, one image encode and decode tokens/s against the
   bandwidth roofline. Medians of several repetitions. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* the widest float vector this build targets, and a fused multiply-add on it (GCC/clang vector extensions) */
#if defined(__AVX512F__) || (defined(__FMA__) && defined(__AVX__))
#include <immintrin.h>
#endif
#if defined(__AVX512F__)
#define VW 16
#else
#define VW 8
#endif
typedef float vf __attribute__((vector_size(VW * 4)));
#if defined(__AVX512F__)
#define FMA(a, b, c) ((vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#elif defined(__FMA__) && defined(__AVX__)
#define FMA(a, b, c) ((vf)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#else
#define FMA(a, b, c) ((a) * (b) + (c))
#endif

#define MAX_REPEAT 64

/* n bytes on a 64-byte boundary (a cache line, and the widest vector load) */
static void *alloc64(size_t n) {
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (!p) cli_die("out of memory (%zu bytes)", n);
    return p;
}

/* f32 -> bf16, rounded to nearest even (as transformers' .to(torch.bfloat16)), NaN kept */
static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
static int threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* --- bench.json ------------------------------------------------------------------------------- */
static FILE *g_json;
static int g_first = 1;
static void emit(const char *name, double value, const char *unit, const char *ref_name, double ref_value, double ratio,
                 const char *config) {
    printf("%-44s %12.3f %-9s %-30s %12.3f %8.3f\n", name, value, unit, ref_name, ref_value, ratio);
    if (g_json)
        fprintf(g_json, "%s\n  {\"name\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"ref_name\": \"%s\", \"ref_value\": %.6g, "
                        "\"ratio\": %.6g, \"config\": \"%s\", \"threads\": %d}",
                g_first ? "" : ",", name, value, unit, ref_name, ref_value, ratio, config, threads());
    g_first = 0;
    fflush(stdout);
}

/* --- machine: FMA peak and memory bandwidth ------------------------------------------------------ */
/* 12 independent FMA chains per thread (more than latency x pipes on current cores) */
static double fma_peak_gflops(void) {
    double best = 0;
    int rep;
    for (rep = 0; rep < 5; rep++) {
        const long iters = 20000000;
        double t0 = now();
        float sink = 0;
        CLI_OMP(omp parallel reduction(+ : sink))
        {
            vf z = {0}, x = z + 0.999f, y = z + 1e-4f;
            vf a0 = z + 0.1f, a1 = z + 0.2f, a2 = z + 0.3f, a3 = z + 0.4f, a4 = z + 0.5f, a5 = z + 0.6f;
            vf a6 = z + 0.7f, a7 = z + 0.8f, a8 = z + 0.9f, a9 = z + 1.0f, a10 = z + 1.1f, a11 = z + 1.2f;
            long i;
            for (i = 0; i < iters; i++) {
                a0 = FMA(a0, x, y); a1 = FMA(a1, x, y); a2 = FMA(a2, x, y);
                a3 = FMA(a3, x, y); a4 = FMA(a4, x, y); a5 = FMA(a5, x, y);
                a6 = FMA(a6, x, y); a7 = FMA(a7, x, y); a8 = FMA(a8, x, y);
                a9 = FMA(a9, x, y); a10 = FMA(a10, x, y); a11 = FMA(a11, x, y);
            }
            vf r = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
            sink += r[0];
        }
        double t = now() - t0;
        double g = 2.0 * VW * 12 * (double)iters * threads() / t * 1e-9;
        if (sink == 12345.0f) printf(" ");
        if (g > best) best = g;
    }
    return best;
}

static double bandwidth_gbs(void) {
    const size_t n = (size_t)64 << 20; /* 256 MB of floats */
    float *a = (float *)alloc64(n * sizeof(float));
    long i;
    CLI_OMP(omp parallel for schedule(static))
    for (i = 0; i < (long)n; i++) a[i] = (float)(i & 7);
    double best = 0;
    int rep;
    for (rep = 0; rep < 7; rep++) {
        double t0 = now(), s = 0;
        CLI_OMP(omp parallel for schedule(static) reduction(+ : s))
        for (i = 0; i < (long)(n / VW); i++) {
            vf v;
            memcpy(&v, a + (size_t)i * VW, sizeof v);
            s += v[0] + v[VW - 1];
        }
        double t = now() - t0;
        if (s == -1) printf(" ");
        double g = n * sizeof(float) / t * 1e-9;
        if (g > best) best = g;
    }
    free(a);
    return best;
}

/* --- matmul --------------------------------------------------------------------------------------- */
/* median seconds of out[T,OC] = in[T,C] @ w^T with llava_matmul_forward at precision p (or, naive, by
   llava_matmul_reference); nw distinct weight copies are used in turn so that a memory-bound call streams
   its weight from memory rather than from the last-level cache. dt: LLAVA_F32 or LLAVA_BF16 */
static double time_matmul_p(LlavaPrecision p, int T, int C, int OC, LlavaDType dt, int naive, int reps, int nw) {
    float *in = (float *)alloc64(sizeof(float) * T * C), *out = (float *)alloc64(sizeof(float) * T * OC);
    void *w[16];
    uint64_t s = 1;
    size_t i;
    int r, c;
    for (i = 0; i < (size_t)T * C; i++) in[i] = llava_rng_uniform(&s) - 0.5f;
    for (c = 0; c < nw; c++) {
        w[c] = alloc64((dt == LLAVA_F32 ? 4 : 2) * (size_t)OC * C);
        for (i = 0; i < (size_t)OC * C; i++) {
            float v = llava_rng_uniform(&s) - 0.5f;
            if (dt == LLAVA_F32) ((float *)w[c])[i] = v;
            else ((uint16_t *)w[c])[i] = to_bf16(v);
        }
    }
    double ts[MAX_REPEAT];
    for (r = 0; r < reps; r++) {
        LlavaWeight W = {w[r % nw], dt, OC, C};
        double t0 = now();
        if (naive) llava_matmul_reference(out, in, &W, NULL, T, C, OC);
        else llava_matmul_forward(p, out, in, &W, NULL, T, C, OC);
        ts[r] = now() - t0;
    }
    free(in), free(out);
    for (c = 0; c < nw; c++) free(w[c]);
    return median(ts, reps);
}
static double time_matmul(int T, int C, int OC, LlavaDType dt, int naive, int reps, int nw) {
    return time_matmul_p(LLAVA_PREC_F32, T, C, OC, dt, naive, reps, nw);
}

/* --- a 7b-shaped checkpoint with random BF16 weights, written once ------------------------------------
   Shard by shard (one vision or text layer each), so that memory holds one layer at a time: the 7b model
   is 14 GB in BF16, and twice that as llava_model_new's F32 weights. A safetensors file is an 8-byte
   little-endian header length, a JSON header of names, dtypes, shapes and byte offsets, then the data. */
typedef struct {
    char name[160];
    int ndim;
    int64_t shape[4];
    void *data;
    size_t bytes;
} tensor;
typedef struct {
    tensor e[64];
    int n;
} shard;
static uint64_t g_rng = 12345;
static LlavaDType g_dtype = LLAVA_BF16; /* of the tensors add() makes */
static void add(shard *s, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3, float scale, float fill) {
    tensor *e = &s->e[s->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    e->shape[0] = d0, e->shape[1] = d1, e->shape[2] = d2, e->shape[3] = d3;
    size_t n = 1, i;
    int k;
    for (k = 0; k < ndim; k++) n *= (size_t)e->shape[k];
    e->bytes = n * (g_dtype == LLAVA_F32 ? 4 : 2);
    void *p = cli_xmalloc(e->bytes);
    for (i = 0; i < n; i += 2) { /* uniform in [-scale, scale] (two values per draw), or fill */
        uint64_t r = scale == 0 ? 0 : llava_rng_next(&g_rng);
        float v0 = scale == 0 ? fill : ((float)(r & 0xffffff) / 8388608.0f - 1.0f) * scale;
        float v1 = scale == 0 ? fill : ((float)((r >> 32) & 0xffffff) / 8388608.0f - 1.0f) * scale;
        if (g_dtype == LLAVA_F32) {
            ((float *)p)[i] = v0;
            if (i + 1 < n) ((float *)p)[i + 1] = v1;
        } else {
            ((uint16_t *)p)[i] = to_bf16(v0);
            if (i + 1 < n) ((uint16_t *)p)[i + 1] = to_bf16(v1);
        }
    }
    e->data = p;
}
/* writes the shard's tensors to dir/file (through file.tmp and a rename), lists them in the index and
   frees them; 0 or -1 (message printed) */
static int flush(shard *s, const char *dir, const char *file, FILE *index, int *first) {
    char path[2048], tmp[2100];
    LlavaBuf h = {0};
    uint64_t off = 0;
    int i, d, ok;
    llava_buf_puts(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (i = 0; i < s->n; i++) {
        llava_buf_printf(&h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", s->e[i].name, g_dtype == LLAVA_F32 ? "F32" : "BF16");
        for (d = 0; d < s->e[i].ndim; d++) llava_buf_printf(&h, "%s%lld", d ? "," : "", (long long)s->e[i].shape[d]);
        llava_buf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + s->e[i].bytes));
        off += s->e[i].bytes;
    }
    llava_buf_puts(&h, "}");
    while ((8 + h.n) % 8) llava_buf_puts(&h, " "); /* data starts 8-byte aligned */
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    ok = f != NULL && !h.oom;
    if (ok) {
        unsigned char hl[8];
        for (d = 0; d < 8; d++) hl[d] = (unsigned char)(((uint64_t)h.n >> (8 * d)) & 0xff);
        ok = fwrite(hl, 1, 8, f) == 8 && fwrite(h.p, 1, h.n, f) == h.n;
        for (i = 0; ok && i < s->n; i++) ok = fwrite(s->e[i].data, 1, s->e[i].bytes, f) == s->e[i].bytes;
    }
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        cli_note("%s: cannot write (%s)", path, strerror(errno));
        remove(tmp);
    }
    llava_buf_free(&h);
    for (i = 0; i < s->n; i++) {
        fprintf(index, "%s\n    \"%s\": \"%s\"", *first ? "" : ",", s->e[i].name, file);
        *first = 0;
        free(s->e[i].data);
    }
    s->n = 0;
    return ok ? 0 : -1;
}

/* mkdir -p */
static void mkdirs(const char *path) {
    char buf[2048];
    size_t i, n = strlen(path);
    if (n >= sizeof buf) return;
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++)
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            mkdir(buf, 0755);
            buf[i] = c;
        }
}

typedef struct {
    const char *name;
    int S, ps, D, Iv, Lv, Hv, C, I, L, H, KVH, V, maxpos;
    const char *vact;
} shape_cfg;
static const shape_cfg CFG_7B = {"7b", 336, 14, 1024, 4096, 24, 16, 4096, 11008, 32, 32, 32, 32064, 4096, "quick_gelu"};
static const shape_cfg CFG_MINI = {"mini", 64, 8, 128, 512, 4, 4, 256, 688, 6, 8, 4, 2048, 256, "quick_gelu"};

/* a checkpoint of the given shapes with random weights, in transformers 4.x's layout */
static int make_model(const char *dir, const shape_cfg *k) {
    char path[2048], name[160], file[64];
    int l, first = 1, rc = 0;
    const int D = k->D, Iv = k->Iv, Lv = k->Lv, C = k->C, I = k->I, L = k->L, V = k->V, ps = k->ps, G = k->S / k->ps;
    const int KD = C / k->H * k->KVH;
    mkdirs(dir);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    FILE *index = fopen(path, "w");
    if (!index) {
        cli_note("%s: cannot create (%s)", path, strerror(errno));
        return -1;
    }
    fprintf(index, "{\n  \"metadata\": {},\n  \"weight_map\": {");
    shard s;
    memset(&s, 0, sizeof s);
    cli_note("writing a %s-shaped checkpoint with random weights to %s (once) ...", k->name, dir);
    /* vision tower (CLIP ViT-L/14-336) */
    add(&s, "vision_tower.vision_model.embeddings.patch_embedding.weight", 4, D, 3, ps, ps, 0.02f, 0);
    add(&s, "vision_tower.vision_model.embeddings.class_embedding", 1, D, 0, 0, 0, 0.02f, 0);
    add(&s, "vision_tower.vision_model.embeddings.position_embedding.weight", 2, G * G + 1, D, 0, 0, 0.02f, 0);
    add(&s, "vision_tower.vision_model.pre_layrnorm.weight", 1, D, 0, 0, 0, 0, 1);
    add(&s, "vision_tower.vision_model.pre_layrnorm.bias", 1, D, 0, 0, 0, 0, 0);
    rc |= flush(&s, dir, "vision-embed.safetensors", index, &first);
    for (l = 0; l < Lv && !rc; l++) {
        static const char *lin[4] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj"};
        int kk;
        for (kk = 0; kk < 4; kk++) {
            const int k = kk;
            snprintf(name, sizeof name, "vision_tower.vision_model.encoder.layers.%d.%s.weight", l, lin[k]);
            add(&s, name, 2, D, D, 0, 0, 0.03f, 0);
            snprintf(name, sizeof name, "vision_tower.vision_model.encoder.layers.%d.%s.bias", l, lin[k]);
            add(&s, name, 1, D, 0, 0, 0, 0, 0);
        }
        snprintf(name, sizeof name, "vision_tower.vision_model.encoder.layers.%d.mlp.fc1.weight", l), add(&s, name, 2, Iv, D, 0, 0, 0.03f, 0);
        snprintf(name, sizeof name, "vision_tower.vision_model.encoder.layers.%d.mlp.fc1.bias", l), add(&s, name, 1, Iv, 0, 0, 0, 0, 0);
        snprintf(name, sizeof name, "vision_tower.vision_model.encoder.layers.%d.mlp.fc2.weight", l), add(&s, name, 2, D, Iv, 0, 0, 0.015f, 0);
        snprintf(name, sizeof name, "vision_tower.vision_model.encoder.layers.%d.mlp.fc2.bias", l), add(&s, name, 1, D, 0, 0, 0, 0, 0);
        for (kk = 1; kk <= 2; kk++) {
            snprintf(name, sizeof name, "vision_tower.vision_model.encoder.layers.%d.layer_norm%d.weight", l, kk), add(&s, name, 1, D, 0, 0, 0, 0, 1);
            snprintf(name, sizeof name, "vision_tower.vision_model.encoder.layers.%d.layer_norm%d.bias", l, kk), add(&s, name, 1, D, 0, 0, 0, 0, 0);
        }
        snprintf(file, sizeof file, "vision-%02d.safetensors", l);
        rc |= flush(&s, dir, file, index, &first);
    }
    add(&s, "multi_modal_projector.linear_1.weight", 2, C, D, 0, 0, 0.03f, 0);
    add(&s, "multi_modal_projector.linear_1.bias", 1, C, 0, 0, 0, 0, 0);
    add(&s, "multi_modal_projector.linear_2.weight", 2, C, C, 0, 0, 0.015f, 0);
    add(&s, "multi_modal_projector.linear_2.bias", 1, C, 0, 0, 0, 0, 0);
    add(&s, "language_model.model.embed_tokens.weight", 2, V, C, 0, 0, 0.02f, 0);
    add(&s, "language_model.model.norm.weight", 1, C, 0, 0, 0, 0, 1);
    add(&s, "language_model.lm_head.weight", 2, V, C, 0, 0, 0.02f, 0);
    rc |= flush(&s, dir, "text-embed.safetensors", index, &first);
    for (l = 0; l < L && !rc; l++) {
        static const char *lin[7] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
        int kk;
        for (kk = 0; kk < 7; kk++) {
            const int k = kk;
            snprintf(name, sizeof name, "language_model.model.layers.%d.%s.weight", l, lin[k]);
            add(&s, name, 2, k == 0 || k == 3 ? C : (k == 1 || k == 2) ? KD : k < 6 ? I : C, k < 6 ? C : I, 0, 0, 0.02f, 0);
        }
        snprintf(name, sizeof name, "language_model.model.layers.%d.input_layernorm.weight", l), add(&s, name, 1, C, 0, 0, 0, 0, 1);
        snprintf(name, sizeof name, "language_model.model.layers.%d.post_attention_layernorm.weight", l), add(&s, name, 1, C, 0, 0, 0, 0, 1);
        snprintf(file, sizeof file, "text-%02d.safetensors", l);
        rc |= flush(&s, dir, file, index, &first);
    }
    fprintf(index, "\n  }\n}\n");
    fclose(index);
    if (rc) return rc;
    /* config.json last: its presence marks a complete checkpoint (llava-1.5-7b-hf's names only these) */
    char cfg[4096];
    snprintf(cfg, sizeof cfg,
             "{\n  \"architectures\": [\"LlavaForConditionalGeneration\"],\n  \"image_token_index\": %d,\n  \"model_type\": \"llava\",\n"
             "  \"projector_hidden_act\": \"gelu\",\n  \"text_config\": {\"model_type\": \"llama\", \"hidden_size\": %d, "
             "\"intermediate_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, \"num_key_value_heads\": %d, "
             "\"max_position_embeddings\": %d, \"rms_norm_eps\": 1e-05, \"vocab_size\": %d},\n  \"tie_word_embeddings\": false,\n"
             "  \"vision_config\": {\"model_type\": \"clip_vision_model\", \"hidden_size\": %d, \"image_size\": %d, "
             "\"intermediate_size\": %d, \"num_attention_heads\": %d, \"num_hidden_layers\": %d, \"patch_size\": %d, "
             "\"hidden_act\": \"%s\"},\n  \"vision_feature_layer\": -2,\n  \"vision_feature_select_strategy\": \"default\"\n}\n",
             k == &CFG_7B ? 32000 : V - 1, C, I, L, k->H, k->KVH, k->maxpos, V, D, k->S, Iv, k->Hv, Lv, ps, k->vact);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (llava_write_text(path, cfg) != LLAVA_OK) {
        cli_note("%s", llava_last_error());
        return -1;
    }
    return 0;
}
int main(int argc, char **argv) {
    static const char usage[] =
        "usage: bench [--quick] [--no-7b] [--cache DIR] [--repeat N]\n"
        "llava.h's speed as ratios measured in one run: the machine's FMA peak and read bandwidth, matrix products\n"
        "(f32, bf16 weights, bf16 products, the naive loop), decode GEMV, a `mini` stage-2 training step, and a\n"
        "7b-shaped checkpoint with random weights (load, image encode, decode). Prints a table, writes bench.json\n"
        "in the current directory. Threads: OMP_NUM_THREADS.\n"
        "  --quick       fewer repetitions (3 per product, 16 GEMV, 2 training steps, 1 encode, 3 decode steps)\n"
        "                instead of 7, 48, 4, 3 and 8\n"
        "  --no-7b       skip the 7b-shaped checkpoint (writing it once takes 14 GB of disk and minutes)\n"
        "  --cache DIR   where the random checkpoints are written once and kept\n"
        "                (default: $LLAVA_CACHE, else ~/.cache/llava.h)\n"
        "  --repeat N    repetitions of every timing, 1 to 64, the median reported (default: as above)\n"
        "  --help, --version\n";
    int quick = 0, no7b = 0, repeat = 0, i;
    const char *cache_opt = NULL;
    char cache[900] = "";
    CliArgs a = cli_begin(argc, argv, "bench", usage);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--quick", &quick) || cli_flag(&a, "--no-7b", &no7b) || cli_str(&a, "--cache", &cache_opt) ||
            cli_int(&a, "--repeat", &repeat, 1, MAX_REPEAT))
            continue;
        cli_unknown(&a);
    }
    if (cache_opt) {
        snprintf(cache, sizeof cache, "%s", cache_opt);
    } else {
        const char *c = getenv("LLAVA_CACHE"), *h = getenv("HOME");
        if (c) snprintf(cache, sizeof cache, "%s", c);
        else snprintf(cache, sizeof cache, "%s/.cache/llava.h", h ? h : "/tmp");
    }
    /* repetitions of each kind of timing: products, GEMV, training steps, encodes, decode steps */
    const int reps = repeat ? repeat : quick ? 3 : 7, gemv_reps = repeat ? repeat : quick ? 16 : 48;
    const int train_reps = repeat ? repeat : quick ? 2 : 4, enc_reps = repeat ? repeat : quick ? 1 : 3;
    const int dec_reps = repeat ? repeat : quick ? 3 : 8;
    g_json = fopen("bench.json", "w");
    if (g_json) fprintf(g_json, "[");
    printf("llava.h bench: %d threads, vector width %d floats\n", threads(), VW);
    printf("%-44s %12s %-9s %-30s %12s %8s\n", "name", "value", "unit", "reference", "ref value", "ratio");
    double peak = fma_peak_gflops(), bw = bandwidth_gbs();
    emit("machine_fma_peak", peak, "GFLOP/s", "-", 0, 0, "machine");
    emit("machine_read_bandwidth", bw, "GB/s", "-", 0, 0, "machine");

    /* the 7b vision tower's matmuls: q/k/v/o (577x1024x1024) and fc1 (577x4096x1024) */
    static const struct {
        const char *name;
        int T, C, OC;
    } shapes[] = {{"matmul_577x1024x1024", 577, 1024, 1024}, {"matmul_577x4096x1024", 577, 1024, 4096}};
    int k;
    for (k = 0; k < 2; k++) {
        double flop = 2.0 * shapes[k].T * shapes[k].C * shapes[k].OC;
        char nm[96];
        int dt;
        for (dt = 0; dt < 3; dt += 2) {
            double t = time_matmul(shapes[k].T, shapes[k].C, shapes[k].OC, (LlavaDType)dt, 0, reps, 1), g = flop / t * 1e-9;
            snprintf(nm, sizeof nm, "%s_%s", shapes[k].name, dt ? "bf16" : "f32");
            emit(nm, g, "GFLOP/s", "machine_fma_peak", peak, g / peak, "7b");
            if (k == 0 && dt == 0) {
                double tn = time_matmul(shapes[k].T, shapes[k].C, shapes[k].OC, (LlavaDType)dt, 1, 1, 1), gn = flop / tn * 1e-9;
                snprintf(nm, sizeof nm, "%s_f32_vs_naive", shapes[k].name);
                emit(nm, g, "GFLOP/s", "naive loop", gn, g / gn, "7b");
                /* the products llava_use_bf16 gives training: bf16 operands, on AMX where this CPU has it */
                const int amx = llava_bf16_native();
                double tb = time_matmul_p(LLAVA_PREC_BF16, shapes[k].T, shapes[k].C, shapes[k].OC,
                                          LLAVA_F32, 0, reps, 1), gb = flop / tb * 1e-9;
                snprintf(nm, sizeof nm, "%s_bf16_products%s", shapes[k].name, amx ? "_amx" : "_emulated");
                emit(nm, gb, "GFLOP/s", "f32 products", g, gb / g, "7b");
            }
        }
    }
    /* decode GEMV: one token through a 4096x4096 BF16 weight (memory bound) */
    {
        double t = time_matmul(1, 4096, 4096, LLAVA_BF16, 0, gemv_reps, 12), gbs = 4096.0 * 4096 * 2 / t * 1e-9;
        emit("gemv_1x4096x4096_bf16", gbs, "GB/s", "machine_read_bandwidth", bw, gbs / bw, "7b");
        t = time_matmul(1, 4096, 4096, LLAVA_F32, 0, gemv_reps, 8), gbs = 4096.0 * 4096 * 4 / t * 1e-9;
        emit("gemv_1x4096x4096_f32", gbs, "GB/s", "machine_read_bandwidth", bw, gbs / bw, "7b");
    }

    /* stage-2 training step on the `mini` configuration: B = 8 samples of T = 256 positions (64 image rows
       and 192 text tokens, the last 160 supervised), vision frozen, AdamW */
    {
        char dir[1024], cfg[1100];
        snprintf(dir, sizeof dir, "%.900s/mini-random-f32", cache);
        snprintf(cfg, sizeof cfg, "%s/config.json", dir);
        g_dtype = LLAVA_F32;
        int ok = llava_file_exists(cfg) || make_model(dir, &CFG_MINI) == 0;
        g_dtype = LLAVA_BF16;
        LlavaModel *m = ok ? llava_model_load(dir) : NULL;
        if (!m) {
            if (ok) cli_note("mini model: %s", llava_last_error());
        } else {
            enum { B = 8, T = 256 };
            const LlavaConfig *c = llava_model_config(m);
            const int P = llava_image_tokens(m), S = c->vision_image_size;
            static int ids[B][T], labels[B][T];
            float *px = (float *)malloc(sizeof(float) * B * 3 * S * S);
            LlavaSample smp[B];
            uint64_t r = 7;
            int b, t;
            for (i = 0; i < B * 3 * S * S; i++) px[i] = llava_rng_uniform(&r) * 2 - 1;
            for (b = 0; b < B; b++) {
                for (t = 0; t < T; t++) {
                    ids[b][t] = t == 0 ? 1 : t <= P ? c->image_token_id : 3 + (int)(llava_rng_next(&r) % (uint64_t)(c->text_vocab - 5));
                    labels[b][t] = t < T - 160 ? -100 : ids[b][t];
                }
                smp[b].ids = ids[b];
                smp[b].labels = labels[b];
                smp[b].n = T;
                smp[b].pixels = px + (size_t)b * 3 * S * S;
                smp[b].n_images = 1;
            }
            LlavaTrainOptions o;
            llava_train_defaults(&o, 2);
            o.total_steps = 100;
            LlavaTrainer *tr = llava_trainer_new(m, &o);
            if (!tr) cli_die("%s", llava_last_error());
            LlavaStepStats st;
            double tt[MAX_REPEAT];
            const int nrep = train_reps;
            double ts = 0.0, tb;
            int bf16;
            for (bf16 = 0; bf16 < 2; bf16++) { /* f32 products, then the same steps with bf16 products */
                llava_use_bf16(m, bf16);
                llava_trainer_step(tr, smp, B, &st); /* warm-up */
                for (i = 0; i < nrep; i++) {
                    double t0 = now();
                    if (llava_trainer_step(tr, smp, B, &st) != LLAVA_OK) cli_note("%s", llava_last_error());
                    tt[i] = now() - t0;
                }
                if (!bf16) ts = median(tt, nrep);
            }
            tb = median(tt, nrep);
            emit("train_mini_stage2", B * T / ts, "tok/s", "-", 0, 0, "mini B=8 T=256 stage 2 f32");
            emit(llava_bf16_native() ? "train_mini_stage2_bf16_amx" : "train_mini_stage2_bf16_emulated", B * T / tb, "tok/s",
                 "train_mini_stage2", B * T / ts, ts / tb, "mini B=8 T=256 stage 2, bf16 products");
            llava_model_free(m);
            llava_trainer_free(tr);
            free(px);
        }
    }

    if (!no7b) {
        char dir[1024], cfg[1100];
        snprintf(dir, sizeof dir, "%.900s/7b-random-bf16", cache);
        snprintf(cfg, sizeof cfg, "%s/config.json", dir);
        if (!llava_file_exists(cfg) && make_model(dir, &CFG_7B) != 0) {
            cli_note("cannot write the 7b checkpoint; its figures are skipped");
            no7b = 1;
        }
    }
    if (!no7b) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/7b-random-bf16", cache);
        double t0 = now();
        LlavaModel *m = llava_model_load(dir);
        double tload = now() - t0;
        if (!m) cli_die("%s", llava_last_error());
        emit("7b_load_bf16", tload * 1e3, "ms", "-", 0, 0, "7b");
        const LlavaConfig *c = llava_model_config(m);
        const int S = c->vision_image_size, P = llava_image_tokens(m);
        float *pixels = (float *)malloc(sizeof(float) * 3 * S * S), *feat = (float *)malloc(sizeof(float) * P * c->text_hidden);
        uint64_t s = 3;
        for (i = 0; i < 3 * S * S; i++) pixels[i] = llava_rng_uniform(&s) * 2 - 1;
        double te[MAX_REPEAT];
        const int n_enc = enc_reps;
        for (i = 0; i < n_enc; i++) {
            t0 = now();
            llava_encode_image(m, pixels, feat);
            te[i] = now() - t0;
        }
        double tenc = median(te, n_enc);
        /* FLOPs of the encode: 23 used layers x (4 DxD + 2 DxIv matmuls, attention) + patches + projector */
        double N = 577, D = 1024, Iv = 4096, Lu = 23, C = 4096;
        double flops = 2 * N * (3 * 14 * 14) * D + Lu * (2 * N * (4 * D * D + 2 * D * Iv) + 4 * N * N * D) + 2 * 576 * (D * C + C * C);
        emit("7b_encode_image", tenc * 1e3, "ms", "machine_fma_peak (as GFLOP/s)", peak, flops / tenc * 1e-9 / peak, "7b");
        /* decode: a short text prompt, then single steps; every step reads all language-model weights */
        LlavaContext *ctx = llava_context_new(m, 8 + MAX_REPEAT);
        int ids[8] = {1, 450, 4996, 17354, 1701, 432, 1, 2};
        const float *l = llava_prompt(ctx, ids, 6, NULL, 0);
        int tok = l ? llava_argmax(l, c->text_vocab) : 1, n_dec = dec_reps;
        double td[MAX_REPEAT];
        for (i = 0; i < n_dec && l; i++) {
            t0 = now();
            l = llava_step(ctx, tok);
            td[i] = now() - t0;
            if (l) tok = llava_argmax(l, c->text_vocab);
        }
        if (!l) cli_die("decode: %s", llava_last_error());
        double tdec = median(td, n_dec);
        double bytes = 2.0 * (32.0 * (4 * C * C + 3 * C * 11008) + 32064.0 * C) + 32064.0 * 4096 * 2 / 32064; /* weights read per token */
        double roof = bw * 1e9 / bytes;
        emit("7b_decode_bf16", 1.0 / tdec, "tok/s", "bandwidth roofline", roof, (1.0 / tdec) / roof, "7b");
        llava_context_free(ctx);
        free(pixels), free(feat);
        llava_model_free(m);
    }
    if (g_json) {
        fprintf(g_json, "\n]\n");
        fclose(g_json);
    }
    return 0;
}
