/* llava.h - v0.1.0 - LLaVA (Visual Instruction Tuning) in one C header. MIT license, see end of file.

   A CLIP ViT vision tower, a projector (linear or MLP) and a LLaMA-family decoder, loaded directly
   from Hugging Face model directories (config.json + safetensors), with numbers matching transformers'
   LlavaForConditionalGeneration.

   USAGE
     In exactly one C or C++ file:
         #define LLAVA_IMPLEMENTATION
         #include "llava.h"
     everywhere else just #include "llava.h". Link with -lm, add -fopenmp for threads.
     Images are decoded with stb_image from Debian's libstb-dev (#include <stb/stb_image.h>);
     #define LLAVA_NO_STB to build without a decoder (then pass raw RGB with llava_image_from_rgb).

   EXAMPLE
         LlavaModel *m = llava_model_load("llava-1.5-7b-hf");        // NULL: see llava_last_error()
         LlavaContext *c = llava_context_new(m, 1024);               // KV cache for one conversation
         const float *logits = llava_prompt(c, ids, n_ids, pixels, 1); // image + prompt ids -> logits
     `ids` is the prompt with the model's image placeholder token where the image goes (one per feature
     row for llava-hf models, as transformers expands them; one per image for the original LLaVA layout).
     `pixels` is float [n_images][3][S][S], made from an image by llava_preprocess().

   OPTIONS (define before the implementation)
     LLAVA_STATIC                         make every function static to the including file
     LLAVA_MALLOC/LLAVA_REALLOC/LLAVA_FREE  your allocator (all three or none)
     LLAVA_ASSERT(x)                      your assert, for programming errors inside the library
     LLAVA_NO_STB                         no image decoder

   ERRORS
     Functions return LLAVA_OK (0) / a count, or -1 / NULL on failure, and set a message that
     llava_last_error() returns (thread-local). Nothing in the library exits or aborts on bad input.

   SHAPES used in comments: T tokens, C text width, V vocab, P image patches, D vision width,
   H heads, KVH key/value heads, Dh head width, I MLP width, S image side.
*/
#ifndef LLAVA_H
#define LLAVA_H

#include <stddef.h>
#include <stdint.h>

#ifdef LLAVA_STATIC
#define LLAVADEF static
#else
#define LLAVADEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define LLAVA_OK 0
#define LLAVA_ERR (-1)

typedef enum { LLAVA_F32 = 0, LLAVA_F16 = 1, LLAVA_BF16 = 2 } LlavaDType;
typedef enum { LLAVA_ACT_GELU = 0, LLAVA_ACT_QUICK_GELU, LLAVA_ACT_GELU_TANH, LLAVA_ACT_SILU, LLAVA_ACT_RELU } LlavaAct;
typedef enum { LLAVA_PRE_DEFAULT = -1, LLAVA_PRE_CROP = 0, LLAVA_PRE_PAD = 1 } LlavaPreMode;

#define LLAVA_MAX_PROJ_LAYERS 4
#define LLAVA_MAX_EOS 4

/* Everything that defines a model, read from config.json (+ preprocessor_config.json). */
typedef struct LlavaConfig {
    /* vision tower: CLIPVisionConfig */
    int vision_image_size;        /* S, input side in pixels */
    int vision_patch_size;        /* patch side; P = (S / patch)^2 */
    int vision_channels;          /* 3 */
    int vision_hidden;            /* D */
    int vision_layers;            /* encoder layers in the file */
    int vision_heads;
    int vision_intermediate;      /* MLP width */
    float vision_ln_eps;
    LlavaAct vision_act;
    int vision_feature_layer;     /* index into hidden_states (0 = embeddings); negative counts from the end */
    int vision_select_full;       /* 0: "default" drops the CLS row, 1: "full" keeps it */
    /* projector: LlavaMultiModalProjector, or the original repository's mm_projector */
    int proj_layers;              /* 1 = linear, 2 = linear-act-linear (mlp2x_gelu) */
    int proj_bias;
    LlavaAct proj_act;
    /* language model: LlamaConfig */
    int text_hidden;              /* C */
    int text_layers;
    int text_heads;               /* H */
    int text_kv_heads;            /* KVH */
    int text_head_dim;            /* Dh */
    int text_intermediate;        /* I */
    int text_vocab;               /* V */
    int text_max_pos;
    float text_rms_eps;
    double text_rope_theta;
    double text_rope_linear_factor; /* rope_scaling {"type": "linear"}; 1 otherwise */
    int text_tied;                /* lm_head shares embed_tokens */
    int text_attn_bias;
    int text_mlp_bias;
    LlavaAct text_act;
    /* special tokens */
    int image_token_id;           /* placeholder id (llava-hf: 32000; original layout: -200) */
    int image_token_expands;      /* 1: one placeholder stands for all feature rows of an image */
    int bos_id;                   /* -1 when unknown */
    int eos_ids[LLAVA_MAX_EOS];
    int n_eos;
    /* image preprocessing: CLIPImageProcessor */
    int pre_pad;                  /* default mode: 1 = LLaVA-1.5 expand-to-square first */
    int pre_do_resize, pre_resize_short; /* resize so the shortest edge is pre_resize_short ... */
    int pre_resize_h, pre_resize_w;      /* ... or, when pre_resize_short is 0, to exactly h x w */
    int pre_do_crop, pre_crop_h, pre_crop_w;
    int pre_do_rescale;
    float pre_rescale;
    int pre_do_normalize;
    float pre_mean[3], pre_std[3];
    int pre_alpha_white;          /* images with alpha: 1 = composite onto white (transformers 5.x),
                                     0 = drop alpha (transformers 4.x, the original LLaVA) */
} LlavaConfig;

typedef struct LlavaModel LlavaModel;
typedef struct LlavaContext LlavaContext;

/* An 8-bit RGB image, rows top to bottom. */
typedef struct LlavaImage {
    int width, height;
    unsigned char *rgb;   /* [height][width][3] */
    unsigned char *alpha; /* [height][width], or NULL for an opaque image */
} LlavaImage;

typedef struct LlavaSampling {
    float temperature; /* <= 0: greedy */
    int top_k;         /* <= 0: off */
    float top_p;       /* >= 1 or <= 0: off */
    uint64_t seed;
    int ignore_eos;    /* keep going past EOS (for tests and benchmarks) */
} LlavaSampling;

typedef struct LlavaCandidate {
    float p;
    int id;
} LlavaCandidate;

typedef struct LlavaSampler {
    LlavaSampling s;
    uint64_t rng;
    LlavaCandidate *cand; /* [V] scratch */
    int cap;
} LlavaSampler;

/* Called for each generated token; return nonzero to stop. */
typedef int (*LlavaTokenCallback)(int token, void *user);

/* errors */
LLAVADEF const char *llava_last_error(void);

/* model */
LLAVADEF LlavaModel *llava_model_load(const char *dir);
LLAVADEF void llava_model_free(LlavaModel *m);
LLAVADEF const LlavaConfig *llava_model_config(const LlavaModel *m);
LLAVADEF int llava_image_tokens(const LlavaModel *m);   /* feature rows per image */
/* pixels [3][S][S] -> features [llava_image_tokens][C] (vision tower + projector) */
LLAVADEF int llava_encode_image(LlavaModel *m, const float *pixels, float *features);
/* positions `ids` occupies once image placeholders are expanded; -1 on invalid ids */
LLAVADEF int llava_expanded_length(const LlavaModel *m, const int *ids, int n_ids);

/* conversation context: KV cache and scratch */
LLAVADEF LlavaContext *llava_context_new(LlavaModel *m, int n_ctx);
LLAVADEF void llava_context_free(LlavaContext *c);
LLAVADEF void llava_context_reset(LlavaContext *c);
LLAVADEF int llava_context_used(const LlavaContext *c);
LLAVADEF int llava_context_size(const LlavaContext *c);
/* Appends ids (and the images their placeholders stand for) to the context. Writes every new
   position's logits to all_logits [positions][V] when it is not NULL; the last position's logits are
   always in llava_logits(). Returns the number of positions added, or -1. */
LLAVADEF int llava_eval(LlavaContext *c, const int *ids, int n_ids, const float *pixels, int n_images, float *all_logits);
LLAVADEF const float *llava_logits(const LlavaContext *c); /* [V] */
/* image + prompt ids -> next-token logits [V] (resets the context first) */
LLAVADEF const float *llava_prompt(LlavaContext *c, const int *ids, int n_ids, const float *pixels, int n_images);
/* continue by one token -> next-token logits [V] */
LLAVADEF const float *llava_step(LlavaContext *c, int token);

/* sampling and generation */
LLAVADEF void llava_sampler_init(LlavaSampler *s, const LlavaSampling *params);
LLAVADEF void llava_sampler_free(LlavaSampler *s);
LLAVADEF int llava_sample(LlavaSampler *s, const float *logits, int V);
LLAVADEF int llava_argmax(const float *x, int n);
/* Evaluates the prompt (if n_ids > 0, appended to what the context holds), then generates up to
   max_new tokens into out (*n_out of them), stopping at EOS (which is included), when cb returns
   nonzero, or at max_new. Returns LLAVA_OK, or -1 (for example when the context fills up). */
LLAVADEF int llava_generate(LlavaContext *c, const int *ids, int n_ids, const float *pixels, int n_images,
                            const LlavaSampling *params, int max_new, int *out, int *n_out,
                            LlavaTokenCallback cb, void *user);

/* images */
LLAVADEF int llava_image_load(LlavaImage *img, const char *path);
LLAVADEF int llava_image_load_memory(LlavaImage *img, const void *data, size_t n);
LLAVADEF int llava_image_from_rgb(LlavaImage *img, const unsigned char *rgb, int width, int height);
LLAVADEF void llava_image_free(LlavaImage *img);
/* CLIP's defaults (OpenAI mean/std, bicubic, shortest edge = crop = size), for use without a model */
LLAVADEF void llava_preprocess_defaults(LlavaConfig *cfg, int size);
/* image -> pixels [3][crop_h][crop_w] as CLIPImageProcessor makes them (mode: crop, pad, or the config's) */
LLAVADEF int llava_preprocess(const LlavaConfig *cfg, const LlavaImage *img, LlavaPreMode mode, float *pixels);

/* training (two-stage LLaVA recipe): see section 9 of the implementation */
typedef struct LlavaTrainer LlavaTrainer;

typedef struct LlavaTrainOptions {
    int stage;           /* 1: projector only (feature alignment); 2: projector + language model; 0: none (add groups) */
    float lr;            /* peak learning rate of the stage's groups */
    float weight_decay;  /* decoupled, on matrices and embeddings; never on biases and norm weights */
    float beta1, beta2, eps;
    float warmup_ratio;  /* linear warmup over ceil(ratio * total_steps) steps, then cosine decay to 0 */
    int total_steps;
    float max_grad_norm; /* global gradient-norm clipping; <= 0: off */
} LlavaTrainOptions;

/* one training sample: prompt + answer ids (image placeholders included), labels of the same length
   (-100 where nothing is supervised: the loss at position t predicts labels[t+1], as transformers shifts),
   and the pixels [n_images][3][S][S] of the images its placeholders stand for (NULL for text only) */
typedef struct LlavaSample {
    const int *ids;
    const int *labels;
    int n;
    const float *pixels;
    int n_images;
} LlavaSample;

typedef struct LlavaStepStats {
    float loss;      /* mean token cross-entropy of the batch */
    float lr;        /* learning rate factor x peak of the first group */
    float grad_norm; /* before clipping */
    long tokens;     /* supervised tokens */
    int step;        /* optimizer steps done, this one included */
} LlavaStepStats;

LLAVADEF void llava_train_defaults(LlavaTrainOptions *o, int stage); /* LLaVA's recipe per stage */
LLAVADEF LlavaTrainer *llava_trainer_new(LlavaModel *m, const LlavaTrainOptions *o);
LLAVADEF void llava_trainer_free(LlavaTrainer *t);
/* makes every parameter whose safetensors key starts with prefix trainable, with its own peak lr and
   weight decay ("multi_modal_projector.", "language_model.", "vision_tower.",
   "language_model.model.layers.3.", ...); the longest matching prefix wins. Before the first step. */
LLAVADEF int llava_trainer_add_group(LlavaTrainer *t, const char *prefix, float lr, float weight_decay);
/* forward and backward over samples, gradients accumulated (micro-batches of one step) */
LLAVADEF int llava_trainer_accumulate(LlavaTrainer *t, const LlavaSample *s, int n);
/* normalizes the accumulated gradients by the supervised-token count of everything accumulated (so
   accumulation equals one big batch), clips, applies AdamW with the schedule, zeroes the gradients.
   A NaN/Inf loss or gradient stops with an error and changes nothing. */
LLAVADEF int llava_trainer_update(LlavaTrainer *t, LlavaStepStats *st);
LLAVADEF int llava_trainer_step(LlavaTrainer *t, const LlavaSample *s, int n, LlavaStepStats *st); /* both */
/* gradients of the batch's mean loss, left in place without a step (for inspection: dump --grads) */
LLAVADEF int llava_trainer_grads(LlavaTrainer *t, const LlavaSample *s, int n, float *loss);
LLAVADEF double llava_trainer_lr_factor(const LlavaTrainer *t, int step); /* schedule at a 0-based step */
/* parameters in a fixed order: safetensors key, data, gradient (NULL when frozen), element count */
LLAVADEF int llava_trainer_n_params(const LlavaTrainer *t);
LLAVADEF const char *llava_trainer_param(const LlavaTrainer *t, int i, const float **data, const float **grad, size_t *n);
/* the model in Hugging Face's layout (config.json, model.safetensors, preprocessor and tokenizer files),
   weights as F32 or BF16; every file written to a temporary name, then renamed */
LLAVADEF int llava_model_save(LlavaModel *m, const char *dir, LlavaDType dtype);
/* model (F32) + optimizer moments + step, so that a run resumes exactly; and the reverse, into a
   trainer made with the same options for a model loaded from that directory */
LLAVADEF int llava_trainer_save(LlavaTrainer *t, const char *dir);
LLAVADEF int llava_trainer_resume(LlavaTrainer *t, const char *dir);
LLAVADEF int llava_trainer_steps_done(const LlavaTrainer *t);

#ifdef LLAVA_WITH_TOKENIZER_PART /* (development hook: the tokenizer section, until it is merged here) */
#include "parts/tokenizer.h"
#endif

#ifdef __cplusplus
}
#endif
#endif /* LLAVA_H */

/* ================================================================================================ */
/*                                        IMPLEMENTATION                                            */
/* ================================================================================================ */
#ifdef LLAVA_IMPLEMENTATION
#ifndef LLAVA__IMPLEMENTED
#define LLAVA__IMPLEMENTED
#if defined(__GNUC__) || defined(__clang__)
/* some private helpers (safetensors writer, naive reference kernels) serve only the tools and tests */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* ------------------------------------------------------------------------------------------------
   1. Configuration macros and defaults
   ------------------------------------------------------------------------------------------------ */
#if defined(LLAVA_MALLOC) || defined(LLAVA_FREE) || defined(LLAVA_REALLOC)
#if !defined(LLAVA_MALLOC) || !defined(LLAVA_FREE) || !defined(LLAVA_REALLOC)
#error "define all of LLAVA_MALLOC, LLAVA_REALLOC and LLAVA_FREE, or none"
#endif
#else
#include <stdlib.h>
#define LLAVA_MALLOC(n) malloc(n)
#define LLAVA_REALLOC(p, n) realloc(p, n)
#define LLAVA_FREE(p) free(p)
#endif
#ifndef LLAVA_ASSERT
#include <assert.h>
#define LLAVA_ASSERT(x) assert(x)
#endif

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#if defined(__unix__) || defined(__APPLE__)
#define LLAVA__POSIX 1
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#define LLAVA__OMP(x) _Pragma(#x)
#else
#define LLAVA__OMP(x)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LLAVA__VEC 1
#if defined(__AVX512F__) || defined(__AVX2__) || defined(__FMA__) || defined(__F16C__)
#include <immintrin.h>
#endif
#if defined(__AVX512F__)
#define LLAVA__VW 16
#else
#define LLAVA__VW 8
#endif
typedef float llava__vf __attribute__((vector_size(LLAVA__VW * 4)));
typedef uint16_t llava__vh __attribute__((vector_size(LLAVA__VW * 2)));
typedef uint32_t llava__vu __attribute__((vector_size(LLAVA__VW * 4)));
#if defined(__AVX512F__)
#define LLAVA__FMA(a, b, c) ((llava__vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#elif defined(__FMA__) && defined(__AVX__)
#define LLAVA__FMA(a, b, c) ((llava__vf)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#else
#define LLAVA__FMA(a, b, c) ((a) * (b) + (c))
#endif
#else
#define LLAVA__VW 8
#endif

#if defined(__cplusplus)
#define LLAVA__TLS thread_local
#elif defined(_MSC_VER)
#define LLAVA__TLS __declspec(thread)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#define LLAVA__TLS _Thread_local
#else
#define LLAVA__TLS __thread
#endif

#define LLAVA__MIN(a, b) ((a) < (b) ? (a) : (b))
#define LLAVA__MAX(a, b) ((a) > (b) ? (a) : (b))
#define LLAVA__LIMIT_DIM (1 << 20)     /* no single model dimension is larger than this */
#define LLAVA__LIMIT_JSON (256u << 20) /* largest JSON document read (config or safetensors header) */

/* ------------------------------------------------------------------------------------------------
   2. Errors, small utilities, JSON reader, safetensors reader/writer, mmap with a read fallback
   ------------------------------------------------------------------------------------------------ */
static LLAVA__TLS char llava__errbuf[1024];

LLAVADEF const char *llava_last_error(void) { return llava__errbuf; }

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
static int llava__err(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(llava__errbuf, sizeof llava__errbuf, fmt, ap);
    va_end(ap);
    return LLAVA_ERR;
}

static void *llava__calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t total = n * size;
    void *p = LLAVA_MALLOC(total ? total : 1);
    if (p) memset(p, 0, total);
    return p;
}

/* 64-byte aligned allocation on top of LLAVA_MALLOC (the original pointer sits just before) */
static void *llava__alloc_aligned(size_t n) {
    if (n > SIZE_MAX - 64 - sizeof(void *)) return NULL;
    unsigned char *raw = (unsigned char *)LLAVA_MALLOC(n + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t p = ((uintptr_t)(raw + sizeof(void *)) + 63) & ~(uintptr_t)63;
    ((void **)p)[-1] = raw;
    return (void *)p;
}
static void llava__free_aligned(void *p) {
    if (p) LLAVA_FREE(((void **)p)[-1]);
}

static char *llava__strdup(const char *s) {
    size_t n = strlen(s);
    char *r = (char *)LLAVA_MALLOC(n + 1);
    if (r) memcpy(r, s, n + 1);
    return r;
}

static char *llava__path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *r = (char *)LLAVA_MALLOC(a + b + 2);
    if (!r) return NULL;
    memcpy(r, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') r[k++] = '/';
    memcpy(r + k, name, b + 1);
    return r;
}

static float llava__f16_to_f32(uint16_t h) {
    uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, f = h & 0x3ffu, u;
    float r;
    if (e == 0) {
        r = (float)f * (1.0f / 16777216.0f); /* subnormal (or zero): f * 2^-24 */
        memcpy(&u, &r, 4);
        u |= s;
    } else if (e == 31) {
        u = s | 0x7f800000u | (f << 13);
    } else {
        u = s | ((e + 112) << 23) | (f << 13);
    }
    memcpy(&r, &u, 4);
    return r;
}
static float llava__bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float r;
    memcpy(&r, &u, 4);
    return r;
}
static uint16_t llava__f32_to_bf16(float f) { /* round to nearest even, NaN kept */
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
static uint16_t llava__f32_to_f16(float f) { /* round to nearest even */
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t s = (u >> 16) & 0x8000u, e = (u >> 23) & 0xffu, m = u & 0x7fffffu;
    if (e == 0xff) return (uint16_t)(s | 0x7c00u | (m ? 0x200u : 0));
    int ee = (int)e - 127 + 15;
    if (ee >= 31) return (uint16_t)(s | 0x7c00u);
    if (ee <= 0) {
        if (ee < -10) return (uint16_t)s;
        m |= 0x800000u;
        int shift = 14 - ee;
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(s | r);
    }
    uint32_t r = ((uint32_t)ee << 10) | (m >> 13), rem = m & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1))) r++;
    return (uint16_t)(s | r);
}

static size_t llava__dtype_size(LlavaDType t) { return t == LLAVA_F32 ? 4 : 2; }

/* dst[n] (f32) <- src[n] in dtype t */
static void llava__to_f32(float *dst, const void *src, LlavaDType t, size_t n) {
    size_t i;
    if (t == LLAVA_F32) {
        memcpy(dst, src, n * 4);
    } else if (t == LLAVA_BF16) {
        const uint16_t *s = (const uint16_t *)src;
        for (i = 0; i < n; i++) dst[i] = llava__bf16_to_f32(s[i]);
    } else {
        const uint16_t *s = (const uint16_t *)src;
        for (i = 0; i < n; i++) dst[i] = llava__f16_to_f32(s[i]);
    }
}

/* --- small RNG (xorshift64*), for sampling and tests -------------------------------------------- */
static uint64_t llava__rng_next(uint64_t *s) {
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
static float llava__rng_uniform(uint64_t *s) { return (float)(llava__rng_next(s) >> 40) * (1.0f / 16777216.0f); }

/* --- files: whole-file read, and mmap with a read fallback ------------------------------------ */
typedef struct {
    unsigned char *data;
    size_t size;
    int mapped;
} llava__file;

static int llava__file_open(llava__file *f, const char *path) {
    memset(f, 0, sizeof *f);
#ifdef LLAVA__POSIX
    int fd = open(path, O_RDONLY);
    if (fd < 0) return llava__err("%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return llava__err("%s: not a regular file", path);
    }
    f->size = (size_t)st.st_size;
    if (f->size > 0) {
        void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            f->data = (unsigned char *)p;
            f->mapped = 1;
            close(fd);
            return LLAVA_OK;
        }
    }
    close(fd);
#endif
    FILE *fp = fopen(path, "rb");
    if (!fp) return llava__err("%s: cannot open (%s)", path, strerror(errno));
    if (fseek(fp, 0, SEEK_END) != 0) {
        fclose(fp);
        return llava__err("%s: cannot seek", path);
    }
    long n = ftell(fp);
    if (n < 0) {
        fclose(fp);
        return llava__err("%s: cannot tell size", path);
    }
    rewind(fp);
    f->size = (size_t)n;
    f->data = (unsigned char *)LLAVA_MALLOC(f->size + 1);
    if (!f->data) {
        fclose(fp);
        return llava__err("%s: out of memory reading %zu bytes", path, f->size);
    }
    if (fread(f->data, 1, f->size, fp) != f->size) {
        fclose(fp);
        LLAVA_FREE(f->data);
        f->data = NULL;
        return llava__err("%s: read failed", path);
    }
    fclose(fp);
    return LLAVA_OK;
}

static void llava__file_close(llava__file *f) {
#ifdef LLAVA__POSIX
    if (f->mapped) {
        munmap(f->data, f->size);
        f->data = NULL;
        return;
    }
#endif
    LLAVA_FREE(f->data);
    f->data = NULL;
}

/* whole file as a NUL-terminated string; NULL (error set) if missing or larger than limit */
static char *llava__read_text(const char *path, size_t limit, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        llava__err("%s: cannot open (%s)", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = (char *)LLAVA_MALLOC(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > limit) {
                LLAVA_FREE(buf);
                fclose(fp);
                llava__err("%s: larger than %zu bytes", path, limit);
                return NULL;
            }
            char *nb = (char *)LLAVA_REALLOC(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, fp);
        n += got;
        if (got == 0) break;
    }
    fclose(fp);
    if (!buf) {
        llava__err("%s: out of memory", path);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static int llava__exists(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (fp) fclose(fp);
    return fp != NULL;
}

/* --- JSON reader --------------------------------------------------------------------------------
   A whole document parsed into a flat array of nodes. Children of arrays and objects are linked
   through `next`; object members carry their key. Strings are unescaped into one arena. */
enum { LLAVA__JNULL, LLAVA__JBOOL, LLAVA__JNUM, LLAVA__JSTR, LLAVA__JARR, LLAVA__JOBJ };

typedef struct {
    int type;
    int first, next; /* child list (arrays, objects), -1 terminated */
    int count;       /* children */
    double num;      /* numbers and bools */
    const char *str; /* strings (NUL-terminated, unescaped) */
    const char *key; /* member key when the parent is an object */
} llava__jnode;

typedef struct {
    llava__jnode *nodes;
    int n, cap;
    char *arena; /* unescaped strings */
    size_t arena_used;
    const char *src, *end, *p;
    const char *what; /* name for messages */
    int depth;
} llava__json;

static int llava__json_fail(llava__json *j, const char *msg) {
    return llava__err("%s: malformed JSON at byte %ld: %s", j->what, (long)(j->p - j->src), msg);
}
static void llava__json_ws(llava__json *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}
static int llava__json_node(llava__json *j, int type) {
    if (j->n == j->cap) {
        int nc = j->cap ? j->cap * 2 : 64;
        llava__jnode *nn = (llava__jnode *)LLAVA_REALLOC(j->nodes, (size_t)nc * sizeof *nn);
        if (!nn) return -1;
        j->nodes = nn;
        j->cap = nc;
    }
    llava__jnode *x = &j->nodes[j->n];
    memset(x, 0, sizeof *x);
    x->type = type;
    x->first = x->next = -1;
    return j->n++;
}
static int llava__hex4(const char *p) {
    int v = 0, i;
    for (i = 0; i < 4; i++) {
        int c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}
/* parses a string literal at j->p into the arena; returns the arena pointer or NULL */
static const char *llava__json_string(llava__json *j) {
    if (j->p >= j->end || *j->p != '"') {
        llava__json_fail(j, "expected a string");
        return NULL;
    }
    j->p++;
    char *out = j->arena + j->arena_used, *o = out;
    while (1) {
        if (j->p >= j->end) {
            llava__json_fail(j, "unterminated string");
            return NULL;
        }
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"') break;
        if (c < 0x20) {
            llava__json_fail(j, "control character in string");
            return NULL;
        }
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        if (j->p >= j->end) {
            llava__json_fail(j, "unterminated escape");
            return NULL;
        }
        c = (unsigned char)*j->p++;
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            if (j->end - j->p < 4) {
                llava__json_fail(j, "short \\u escape");
                return NULL;
            }
            long cp = llava__hex4(j->p);
            if (cp < 0) {
                llava__json_fail(j, "bad \\u escape");
                return NULL;
            }
            j->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                long lo = llava__hex4(j->p + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    j->p += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* lone surrogate */
            if (cp < 0x80) *o++ = (char)cp;
            else if (cp < 0x800) {
                *o++ = (char)(0xC0 | (cp >> 6));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | (cp >> 12));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (cp >> 18));
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: llava__json_fail(j, "unknown escape"); return NULL;
        }
    }
    *o++ = 0;
    j->arena_used += (size_t)(o - out);
    return out;
}
static int llava__json_value(llava__json *j) {
    llava__json_ws(j);
    if (j->p >= j->end) return llava__json_fail(j, "unexpected end"), -1;
    if (++j->depth > 128) return llava__json_fail(j, "nested too deeply"), -1;
    int id = -1;
    char c = *j->p;
    if (c == '{' || c == '[') {
        int obj = c == '{';
        id = llava__json_node(j, obj ? LLAVA__JOBJ : LLAVA__JARR);
        if (id < 0) return llava__err("%s: out of memory", j->what), -1;
        j->p++;
        int last = -1;
        llava__json_ws(j);
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
            j->p++;
        } else {
            while (1) {
                const char *key = NULL;
                llava__json_ws(j);
                if (obj) {
                    key = llava__json_string(j);
                    if (!key) return -1;
                    llava__json_ws(j);
                    if (j->p >= j->end || *j->p != ':') return llava__json_fail(j, "expected ':'"), -1;
                    j->p++;
                }
                int child = llava__json_value(j);
                if (child < 0) return -1;
                j->nodes[child].key = key;
                if (last < 0) j->nodes[id].first = child;
                else j->nodes[last].next = child;
                last = child;
                j->nodes[id].count++;
                llava__json_ws(j);
                if (j->p >= j->end) return llava__json_fail(j, "unexpected end"), -1;
                if (*j->p == ',') {
                    j->p++;
                    continue;
                }
                if (*j->p == (obj ? '}' : ']')) {
                    j->p++;
                    break;
                }
                return llava__json_fail(j, obj ? "expected ',' or '}'" : "expected ',' or ']'"), -1;
            }
        }
    } else if (c == '"') {
        const char *s = llava__json_string(j);
        if (!s) return -1;
        id = llava__json_node(j, LLAVA__JSTR);
        if (id < 0) return llava__err("%s: out of memory", j->what), -1;
        j->nodes[id].str = s;
    } else if (c == 't' && j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) {
        id = llava__json_node(j, LLAVA__JBOOL);
        if (id < 0) return -1;
        j->nodes[id].num = 1;
        j->p += 4;
    } else if (c == 'f' && j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) {
        id = llava__json_node(j, LLAVA__JBOOL);
        if (id < 0) return -1;
        j->p += 5;
    } else if (c == 'n' && j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) {
        id = llava__json_node(j, LLAVA__JNULL);
        if (id < 0) return -1;
        j->p += 4;
    } else if (c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I') {
        /* numbers; Python's json also writes NaN/Infinity, accept them */
        char buf[64];
        size_t k = 0;
        while (j->p + k < j->end && k < sizeof buf - 1 && strchr("+-0123456789.eEaINfinity", j->p[k])) k++;
        memcpy(buf, j->p, k);
        buf[k] = 0;
        char *e = NULL;
        double v = strtod(buf, &e);
        if (k == 0 || e == buf) return llava__json_fail(j, "bad number"), -1;
        j->p += (e - buf);
        id = llava__json_node(j, LLAVA__JNUM);
        if (id < 0) return -1;
        j->nodes[id].num = v;
    } else {
        return llava__json_fail(j, "unexpected character"), -1;
    }
    j->depth--;
    return id;
}
/* parses text[n]; on success the root is node 0 */
static int llava__json_parse(llava__json *j, const char *text, size_t n, const char *what) {
    memset(j, 0, sizeof *j);
    j->what = what;
    if (n > LLAVA__LIMIT_JSON) return llava__err("%s: JSON document of %zu bytes is too large", what, n);
    j->arena = (char *)LLAVA_MALLOC(n + 1);
    if (!j->arena) return llava__err("%s: out of memory", what);
    j->src = j->p = text;
    j->end = text + n;
    if (llava__json_value(j) < 0) return LLAVA_ERR;
    llava__json_ws(j);
    if (j->p != j->end) return llava__json_fail(j, "trailing characters after the document");
    return LLAVA_OK;
}
static void llava__json_free(llava__json *j) {
    LLAVA_FREE(j->nodes);
    LLAVA_FREE(j->arena);
    memset(j, 0, sizeof *j);
}
static const llava__jnode *llava__jget(const llava__json *j, const llava__jnode *obj, const char *key) {
    if (!obj || obj->type != LLAVA__JOBJ) return NULL;
    int i;
    for (i = obj->first; i >= 0; i = j->nodes[i].next)
        if (!strcmp(j->nodes[i].key, key)) return &j->nodes[i];
    return NULL;
}
static const llava__jnode *llava__jat(const llava__json *j, const llava__jnode *arr, int k) {
    if (!arr || (arr->type != LLAVA__JARR && arr->type != LLAVA__JOBJ)) return NULL;
    int i;
    for (i = arr->first; i >= 0 && k > 0; i = j->nodes[i].next) k--;
    return i >= 0 ? &j->nodes[i] : NULL;
}
static const llava__jnode *llava__jnext(const llava__json *j, const llava__jnode *x) {
    return x->next >= 0 ? &j->nodes[x->next] : NULL;
}
static const llava__jnode *llava__jfirst(const llava__json *j, const llava__jnode *x) {
    return x && x->first >= 0 ? &j->nodes[x->first] : NULL;
}

/* --- safetensors reader ---------------------------------------------------------------------------
   File: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
   then the data. Every field is checked before use: offsets inside the data, sizes matching
   dtype x shape, no two tensors overlapping. */
#define LLAVA__MAX_NDIM 8
typedef struct {
    char *name;
    int dtype; /* LlavaDType, or -1 for a dtype the model never uses (I64, U8, ...) */
    const char *dtype_name;
    int ndim;
    int64_t shape[LLAVA__MAX_NDIM];
    const unsigned char *data;
    size_t nbytes;
    int file; /* index of the shard */
} llava__tensor;

typedef struct {
    llava__file f;
    char *path;
} llava__shard;

typedef struct {
    llava__shard *shards;
    int n_shards;
    llava__tensor *t; /* sorted by name */
    int n, cap;
} llava__tensors;

static int llava__tensor_cmp(const void *a, const void *b) {
    return strcmp(((const llava__tensor *)a)->name, ((const llava__tensor *)b)->name);
}
typedef struct {
    uint64_t b, e;
    const char *name;
} llava__span;
static int llava__span_cmp(const void *a, const void *b) {
    const llava__span *x = (const llava__span *)a, *y = (const llava__span *)b;
    return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e);
}

/* dtype name -> (LlavaDType or -1, element size); returns 0 for an unknown name */
static int llava__st_dtype(const char *s, int *dt, size_t *size, const char **name) {
    static const struct {
        const char *name;
        int dt;
        size_t size;
    } k[] = {{"F32", LLAVA_F32, 4}, {"F16", LLAVA_F16, 2}, {"BF16", LLAVA_BF16, 2}, {"F64", -1, 8},
             {"I64", -1, 8},        {"U64", -1, 8},        {"I32", -1, 4},          {"U32", -1, 4},
             {"I16", -1, 2},        {"U16", -1, 2},        {"I8", -1, 1},           {"U8", -1, 1},
             {"BOOL", -1, 1},       {"F8_E4M3", -1, 1},    {"F8_E5M2", -1, 1}};
    size_t i;
    for (i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(s, k[i].name)) {
            *dt = k[i].dt;
            *size = k[i].size;
            *name = k[i].name;
            return 1;
        }
    return 0;
}

/* adds every tensor of one safetensors file to ts */
static int llava__st_add(llava__tensors *ts, const char *path) {
    llava__shard *ns = (llava__shard *)LLAVA_REALLOC(ts->shards, (size_t)(ts->n_shards + 1) * sizeof *ns);
    if (!ns) return llava__err("out of memory");
    ts->shards = ns;
    llava__shard *sh = &ts->shards[ts->n_shards];
    memset(sh, 0, sizeof *sh);
    if (llava__file_open(&sh->f, path) != LLAVA_OK) return LLAVA_ERR;
    sh->path = llava__strdup(path);
    int shard = ts->n_shards++;
    const unsigned char *d = sh->f.data;
    size_t size = sh->f.size;
    if (size < 8) return llava__err("%s: truncated safetensors file (%zu bytes, header length needs 8)", path, size);
    uint64_t hl = 0;
    int i;
    for (i = 7; i >= 0; i--) hl = (hl << 8) | d[i];
    if (hl > size - 8)
        return llava__err("%s: safetensors header length %llu runs past the end of the file (%zu bytes)", path,
                          (unsigned long long)hl, size);
    if (hl > LLAVA__LIMIT_JSON) return llava__err("%s: safetensors header of %llu bytes is too large", path, (unsigned long long)hl);
    const unsigned char *base = d + 8 + hl;
    uint64_t data_size = size - 8 - hl;
    llava__json j;
    if (llava__json_parse(&j, (const char *)d + 8, (size_t)hl, path) != LLAVA_OK) {
        /* padding after the JSON object is allowed: retry up to the last '}' */
        size_t k = (size_t)hl;
        while (k > 0 && (d[8 + k - 1] == ' ' || d[8 + k - 1] == 0)) k--;
        llava__json_free(&j);
        if (k == (size_t)hl || llava__json_parse(&j, (const char *)d + 8, k, path) != LLAVA_OK) {
            llava__json_free(&j);
            return LLAVA_ERR;
        }
    }
    const llava__jnode *root = &j.nodes[0], *e;
    if (root->type != LLAVA__JOBJ) {
        llava__json_free(&j);
        return llava__err("%s: safetensors header is not a JSON object", path);
    }
    llava__span *spans = (llava__span *)llava__calloc((size_t)root->count + 1, sizeof *spans);
    int n_spans = 0, rc = LLAVA_OK;
    if (!spans) rc = llava__err("out of memory");
    for (e = llava__jfirst(&j, root); e && rc == LLAVA_OK; e = llava__jnext(&j, e)) {
        if (!strcmp(e->key, "__metadata__")) continue;
        const llava__jnode *dt = llava__jget(&j, e, "dtype"), *sh_ = llava__jget(&j, e, "shape"),
                           *off = llava__jget(&j, e, "data_offsets");
        if (!dt || dt->type != LLAVA__JSTR || !sh_ || sh_->type != LLAVA__JARR || !off || off->type != LLAVA__JARR ||
            off->count != 2) {
            rc = llava__err("%s: tensor '%s' lacks dtype, shape or data_offsets [begin, end]", path, e->key);
            break;
        }
        int dtype;
        size_t esize;
        const char *dname;
        if (!llava__st_dtype(dt->str, &dtype, &esize, &dname)) {
            rc = llava__err("%s: tensor '%s' has unknown dtype '%s'", path, e->key, dt->str);
            break;
        }
        if (sh_->count > LLAVA__MAX_NDIM) {
            rc = llava__err("%s: tensor '%s' has %d dimensions (at most %d)", path, e->key, sh_->count, LLAVA__MAX_NDIM);
            break;
        }
        llava__tensor t;
        memset(&t, 0, sizeof t);
        t.dtype = dtype;
        t.ndim = sh_->count;
        t.file = shard;
        uint64_t numel = 1;
        const llava__jnode *x;
        int k = 0;
        for (x = llava__jfirst(&j, sh_); x; x = llava__jnext(&j, x), k++) {
            if (x->type != LLAVA__JNUM || x->num < 0 || x->num > 9.0e15 || x->num != floor(x->num)) {
                rc = llava__err("%s: tensor '%s' has an invalid shape entry", path, e->key);
                break;
            }
            t.shape[k] = (int64_t)x->num;
            if (t.shape[k] && numel > UINT64_MAX / (uint64_t)t.shape[k] / 8) {
                rc = llava__err("%s: tensor '%s' shape overflows", path, e->key);
                break;
            }
            numel *= (uint64_t)t.shape[k];
        }
        if (rc != LLAVA_OK) break;
        const llava__jnode *b = llava__jat(&j, off, 0), *en = llava__jat(&j, off, 1);
        if (b->type != LLAVA__JNUM || en->type != LLAVA__JNUM || b->num < 0 || en->num < b->num ||
            b->num != floor(b->num) || en->num != floor(en->num) || en->num > (double)data_size) {
            rc = llava__err("%s: tensor '%s' data_offsets [%.0f, %.0f] lie outside the data (%llu bytes)", path, e->key,
                            b->num, en->num, (unsigned long long)data_size);
            break;
        }
        uint64_t ob = (uint64_t)b->num, oe = (uint64_t)en->num;
        if (oe - ob != numel * esize) {
            rc = llava__err("%s: tensor '%s' holds %llu bytes but %s x %llu elements need %llu", path, e->key,
                            (unsigned long long)(oe - ob), dt->str, (unsigned long long)numel,
                            (unsigned long long)(numel * esize));
            break;
        }
        t.data = base + ob;
        t.nbytes = (size_t)(oe - ob);
        t.name = llava__strdup(e->key);
        t.dtype_name = dname;
        if (!t.name) {
            rc = llava__err("out of memory");
            break;
        }
        if (ts->n == ts->cap) {
            int nc = ts->cap ? ts->cap * 2 : 256;
            llava__tensor *nt = (llava__tensor *)LLAVA_REALLOC(ts->t, (size_t)nc * sizeof *nt);
            if (!nt) {
                LLAVA_FREE(t.name);
                rc = llava__err("out of memory");
                break;
            }
            ts->t = nt;
            ts->cap = nc;
        }
        ts->t[ts->n++] = t;
        if (oe > ob) {
            spans[n_spans].b = ob;
            spans[n_spans].e = oe;
            spans[n_spans].name = ts->t[ts->n - 1].name;
            n_spans++;
        }
    }
    if (rc == LLAVA_OK && n_spans > 1) {
        qsort(spans, (size_t)n_spans, sizeof *spans, llava__span_cmp);
        for (i = 1; i < n_spans; i++)
            if (spans[i].b < spans[i - 1].e) {
                rc = llava__err("%s: tensors '%s' and '%s' overlap in the data section", path, spans[i - 1].name,
                                spans[i].name);
                break;
            }
    }
    LLAVA_FREE(spans);
    llava__json_free(&j);
    return rc;
}

static void llava__tensors_free(llava__tensors *ts) {
    int i;
    for (i = 0; i < ts->n; i++) LLAVA_FREE(ts->t[i].name);
    for (i = 0; i < ts->n_shards; i++) {
        llava__file_close(&ts->shards[i].f);
        LLAVA_FREE(ts->shards[i].path);
    }
    LLAVA_FREE(ts->t);
    LLAVA_FREE(ts->shards);
    memset(ts, 0, sizeof *ts);
}

/* sorts the index and rejects a name that occurs twice (in two shards) */
static int llava__tensors_index(llava__tensors *ts) {
    int i;
    if (ts->n > 1) qsort(ts->t, (size_t)ts->n, sizeof *ts->t, llava__tensor_cmp);
    for (i = 1; i < ts->n; i++)
        if (!strcmp(ts->t[i].name, ts->t[i - 1].name)) return llava__err("tensor '%s' occurs twice", ts->t[i].name);
    return LLAVA_OK;
}

static const llava__tensor *llava__tensors_find(const llava__tensors *ts, const char *name) {
    int lo = 0, hi = ts->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(name, ts->t[mid].name);
        if (!c) return &ts->t[mid];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

/* loads model.safetensors, or the shards model.safetensors.index.json names, from dir */
static int llava__tensors_load_dir(llava__tensors *ts, const char *dir) {
    char *single = llava__path_join(dir, "model.safetensors");
    char *index = llava__path_join(dir, "model.safetensors.index.json");
    int rc = LLAVA_OK;
    if (!single || !index) rc = llava__err("out of memory");
    else if (llava__exists(single)) rc = llava__st_add(ts, single);
    else if (llava__exists(index)) {
        size_t n;
        char *text = llava__read_text(index, LLAVA__LIMIT_JSON, &n);
        llava__json j;
        if (!text) rc = LLAVA_ERR;
        else if ((rc = llava__json_parse(&j, text, n, index)) == LLAVA_OK) {
            const llava__jnode *wm = llava__jget(&j, &j.nodes[0], "weight_map"), *e;
            if (!wm || wm->type != LLAVA__JOBJ) rc = llava__err("%s: no \"weight_map\" object", index);
            /* each distinct shard once, in order of first mention */
            for (e = llava__jfirst(&j, wm); e && rc == LLAVA_OK; e = llava__jnext(&j, e)) {
                const llava__jnode *f;
                int seen = 0;
                if (e->type != LLAVA__JSTR || strchr(e->str, '/') || !strcmp(e->str, "..")) {
                    rc = llava__err("%s: bad shard file name for '%s'", index, e->key);
                    break;
                }
                for (f = llava__jfirst(&j, wm); f != e; f = llava__jnext(&j, f))
                    if (!strcmp(f->str, e->str)) seen = 1;
                if (seen) continue;
                char *p = llava__path_join(dir, e->str);
                rc = p ? llava__st_add(ts, p) : llava__err("out of memory");
                LLAVA_FREE(p);
            }
        }
        if (text) llava__json_free(&j);
        LLAVA_FREE(text);
    } else {
        rc = llava__err("%s: neither model.safetensors nor model.safetensors.index.json is there", dir);
    }
    LLAVA_FREE(single);
    LLAVA_FREE(index);
    if (rc == LLAVA_OK) rc = llava__tensors_index(ts);
    return rc;
}

/* --- crash-safe file writing: everything goes to path.tmp, is flushed to disk, then renamed over
   path, so an interrupted save never destroys the previous file --------------------------------- */
typedef struct {
    char *path, *tmp;
    int ok;
#ifdef LLAVA__POSIX
    int fd;
#else
    FILE *fp;
#endif
} llava__wfile;

static int llava__wopen(llava__wfile *f, const char *path) {
    size_t n = strlen(path);
    memset(f, 0, sizeof *f);
    f->path = llava__strdup(path);
    f->tmp = (char *)LLAVA_MALLOC(n + 5);
    if (!f->path || !f->tmp) {
        LLAVA_FREE(f->path);
        LLAVA_FREE(f->tmp);
        return llava__err("out of memory");
    }
    memcpy(f->tmp, path, n);
    memcpy(f->tmp + n, ".tmp", 5);
#ifdef LLAVA__POSIX
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    f->ok = f->fd >= 0;
#else
    f->fp = fopen(f->tmp, "wb");
    f->ok = f->fp != NULL;
#endif
    if (!f->ok) {
        llava__err("%s: cannot create (%s)", f->tmp, strerror(errno));
        LLAVA_FREE(f->path);
        LLAVA_FREE(f->tmp);
        return LLAVA_ERR;
    }
    return LLAVA_OK;
}
static void llava__wwrite(llava__wfile *f, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    while (f->ok && n > 0) {
#ifdef LLAVA__POSIX
        ssize_t w = write(f->fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) f->ok = 0;
#else
        size_t w = fwrite(p, 1, n, f->fp);
        if (w == 0) f->ok = 0;
#endif
        else {
            p += w;
            n -= (size_t)w;
        }
    }
}
static int llava__wclose(llava__wfile *f) {
    int rc = LLAVA_OK;
#ifdef LLAVA__POSIX
    if (f->ok && fsync(f->fd) != 0) f->ok = 0;
    if (close(f->fd) != 0) f->ok = 0;
#else
    if (fclose(f->fp) != 0) f->ok = 0;
#endif
    if (!f->ok) rc = llava__err("%s: write failed (%s)", f->tmp, strerror(errno));
    else if (rename(f->tmp, f->path) != 0) rc = llava__err("%s: cannot rename to %s (%s)", f->tmp, f->path, strerror(errno));
    if (rc != LLAVA_OK) remove(f->tmp);
    LLAVA_FREE(f->path);
    LLAVA_FREE(f->tmp);
    return rc;
}

/* --- safetensors writer: to path.tmp, then renamed over path (a crash never leaves half a file) -- */
typedef struct {
    const char *name;
    LlavaDType dtype;
    int ndim;
    int64_t shape[LLAVA__MAX_NDIM];
    const void *data; /* in dtype */
} llava__st_entry;

static int llava__st_write(const char *path, const llava__st_entry *e, int n) {
    size_t cap = 256 + (size_t)n * 160, len = 0, i;
    int k, d;
    for (k = 0; k < n; k++) cap += strlen(e[k].name) * 6;
    char *h = (char *)LLAVA_MALLOC(cap);
    if (!h) return llava__err("out of memory");
    uint64_t off = 0;
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (k = 0; k < n; k++) {
        uint64_t numel = 1;
        for (d = 0; d < e[k].ndim; d++) numel *= (uint64_t)e[k].shape[d];
        uint64_t nb = numel * llava__dtype_size(e[k].dtype);
        len += (size_t)snprintf(h + len, cap - len, ",\"");
        for (i = 0; e[k].name[i]; i++) { /* names are plain ASCII; escape what JSON needs */
            unsigned char c = (unsigned char)e[k].name[i];
            if (c == '"' || c == '\\') len += (size_t)snprintf(h + len, cap - len, "\\%c", c);
            else if (c < 0x20) len += (size_t)snprintf(h + len, cap - len, "\\u%04x", c);
            else h[len++] = (char)c;
        }
        len += (size_t)snprintf(h + len, cap - len, "\":{\"dtype\":\"%s\",\"shape\":[",
                                e[k].dtype == LLAVA_F32 ? "F32" : e[k].dtype == LLAVA_F16 ? "F16" : "BF16");
        for (d = 0; d < e[k].ndim; d++) len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "", (long long)e[k].shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                                (unsigned long long)(off + nb));
        off += nb;
    }
    h[len++] = '}';
    while ((8 + len) % 8) h[len++] = ' '; /* data starts 8-byte aligned */
    llava__wfile f;
    int rc = llava__wopen(&f, path);
    if (rc == LLAVA_OK) {
        unsigned char hl[8];
        for (k = 0; k < 8; k++) hl[k] = (unsigned char)(((uint64_t)len >> (8 * k)) & 0xff);
        llava__wwrite(&f, hl, 8);
        llava__wwrite(&f, h, len);
        for (k = 0; k < n; k++) {
            uint64_t numel = 1;
            for (d = 0; d < e[k].ndim; d++) numel *= (uint64_t)e[k].shape[d];
            llava__wwrite(&f, e[k].data, (size_t)(numel * llava__dtype_size(e[k].dtype)));
        }
        rc = llava__wclose(&f);
    }
    LLAVA_FREE(h);
    return rc;
}

/* writes text to path via path.tmp and rename */
static int llava__write_text(const char *path, const char *text) {
    llava__wfile f;
    if (llava__wopen(&f, path) != LLAVA_OK) return LLAVA_ERR;
    llava__wwrite(&f, text, strlen(text));
    return llava__wclose(&f);
}

/* ------------------------------------------------------------------------------------------------
   3. Layers: forward kernels (argument order: outputs, inputs, cached statistics, sizes).
      The naive matmul stays next to the fast one, as the reference the tests compare against.
   ------------------------------------------------------------------------------------------------ */

/* A weight matrix [rows = out features][cols = in features], kept in its stored dtype. */
typedef struct {
    const void *data;
    LlavaDType dtype;
    int rows, cols;
} llava__w;

/* w row r, columns [c0, c0+n) -> dst[n] f32 */
static void llava__w_row(float *dst, const llava__w *w, int r, int c0, int n) {
    size_t off = (size_t)r * (size_t)w->cols + (size_t)c0;
    llava__to_f32(dst, (const unsigned char *)w->data + off * llava__dtype_size(w->dtype), w->dtype, (size_t)n);
}

/* naive reference: out[T,OC] = in[T,C] @ w[OC,C]^T + bias[OC] (double accumulation) */
static void llava__matmul_naive(float *out, const float *in, const llava__w *w, const float *bias, int T, int C, int OC) {
    float *row = (float *)LLAVA_MALLOC((size_t)C * sizeof(float));
    int t, o, k;
    if (!row) return;
    for (o = 0; o < OC; o++) {
        llava__w_row(row, w, o, 0, C);
        for (t = 0; t < T; t++) {
            double s = bias ? bias[o] : 0.0;
            for (k = 0; k < C; k++) s += (double)in[(size_t)t * C + k] * row[k];
            out[(size_t)t * OC + o] = (float)s;
        }
    }
    LLAVA_FREE(row);
}

/* dot(x[n], w[n]) with w in dtype; several accumulators, vectorized where the compiler allows */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized" /* false positive inside GCC's _mm512_cvtph_ps */
#endif
static float llava__dot(const float *x, const void *wv, LlavaDType dt, int n) {
    int i = 0;
    float s = 0.0f;
#ifdef LLAVA__VEC
    llava__vf a0 = {0}, a1 = {0};
    if (dt == LLAVA_F32) {
        const float *w = (const float *)wv;
        for (; i + 2 * LLAVA__VW <= n; i += 2 * LLAVA__VW) {
            llava__vf x0, x1, w0, w1;
            memcpy(&x0, x + i, sizeof x0);
            memcpy(&x1, x + i + LLAVA__VW, sizeof x1);
            memcpy(&w0, w + i, sizeof w0);
            memcpy(&w1, w + i + LLAVA__VW, sizeof w1);
            a0 = LLAVA__FMA(x0, w0, a0);
            a1 = LLAVA__FMA(x1, w1, a1);
        }
    } else if (dt == LLAVA_BF16) {
        const uint16_t *w = (const uint16_t *)wv;
        for (; i + 2 * LLAVA__VW <= n; i += 2 * LLAVA__VW) {
            llava__vf x0, x1, w0, w1;
            llava__vh h0, h1;
            memcpy(&x0, x + i, sizeof x0);
            memcpy(&x1, x + i + LLAVA__VW, sizeof x1);
            memcpy(&h0, w + i, sizeof h0);
            memcpy(&h1, w + i + LLAVA__VW, sizeof h1);
            llava__vu u0 = __builtin_convertvector(h0, llava__vu) << 16, u1 = __builtin_convertvector(h1, llava__vu) << 16;
            memcpy(&w0, &u0, sizeof w0);
            memcpy(&w1, &u1, sizeof w1);
            a0 = LLAVA__FMA(x0, w0, a0);
            a1 = LLAVA__FMA(x1, w1, a1);
        }
    }
#if defined(__AVX512F__)
    else {
        const uint16_t *w = (const uint16_t *)wv;
        for (; i + 2 * LLAVA__VW <= n; i += 2 * LLAVA__VW) {
            llava__vf x0, x1, w0, w1;
            memcpy(&x0, x + i, sizeof x0);
            memcpy(&x1, x + i + LLAVA__VW, sizeof x1);
            w0 = (llava__vf)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i)));
            w1 = (llava__vf)_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + LLAVA__VW)));
            a0 = LLAVA__FMA(x0, w0, a0);
            a1 = LLAVA__FMA(x1, w1, a1);
        }
    }
#elif defined(__F16C__) && defined(__AVX__)
    else {
        const uint16_t *w = (const uint16_t *)wv;
        for (; i + 2 * LLAVA__VW <= n; i += 2 * LLAVA__VW) {
            llava__vf x0, x1, w0, w1;
            memcpy(&x0, x + i, sizeof x0);
            memcpy(&x1, x + i + LLAVA__VW, sizeof x1);
            w0 = (llava__vf)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
            w1 = (llava__vf)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + LLAVA__VW)));
            a0 = LLAVA__FMA(x0, w0, a0);
            a1 = LLAVA__FMA(x1, w1, a1);
        }
    }
#endif
    a0 += a1;
    {
        int k;
        for (k = 0; k < LLAVA__VW; k++) s += a0[k];
    }
#endif
    if (dt == LLAVA_F32) {
        const float *w = (const float *)wv;
        for (; i < n; i++) s += x[i] * w[i];
    } else if (dt == LLAVA_BF16) {
        const uint16_t *w = (const uint16_t *)wv;
        for (; i < n; i++) s += x[i] * llava__bf16_to_f32(w[i]);
    } else {
        const uint16_t *w = (const uint16_t *)wv;
        for (; i < n; i++) s += x[i] * llava__f16_to_f32(w[i]);
    }
    return s;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Blocked GEMM. B is packed, a slab of KC rows of NR output columns at a time and converted to f32,
   into [KC][NR]; a 6 x NR register tile of out is then accumulated over it. Threads split the output
   columns. (A call from inside a parallel region runs on the calling thread: OpenMP nesting is off.) */
#define LLAVA__KC 256
#define LLAVA__MR 6
#define LLAVA__NR (2 * LLAVA__VW)

#ifdef LLAVA__VEC
/* out[mr, nr] (+)= a[mr, kc] (row stride lda) @ bp[kc, NR]; mode 0: out = bias + tile, 1: out += tile,
   2: out += bias + tile */
static void llava__gemm_tile(float *out, int ldo, const float *a, int lda, const float *bp, int kc, int mr, int nr,
                             int mode, const float *bias) {
    const float *a0 = a, *a1 = a + (mr > 1 ? 1 : 0) * (size_t)lda, *a2 = a + (mr > 2 ? 2 : 0) * (size_t)lda,
                *a3 = a + (mr > 3 ? 3 : 0) * (size_t)lda, *a4 = a + (mr > 4 ? 4 : 0) * (size_t)lda,
                *a5 = a + (mr > 5 ? 5 : 0) * (size_t)lda;
    llava__vf z = {0};
    llava__vf c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
    int k, i, j;
    for (k = 0; k < kc; k++) {
        const llava__vf b0 = *(const llava__vf *)(bp + (size_t)k * LLAVA__NR);
        const llava__vf b1 = *(const llava__vf *)(bp + (size_t)k * LLAVA__NR + LLAVA__VW);
        llava__vf t;
        t = z + a0[k]; c00 = LLAVA__FMA(t, b0, c00); c01 = LLAVA__FMA(t, b1, c01);
        t = z + a1[k]; c10 = LLAVA__FMA(t, b0, c10); c11 = LLAVA__FMA(t, b1, c11);
        t = z + a2[k]; c20 = LLAVA__FMA(t, b0, c20); c21 = LLAVA__FMA(t, b1, c21);
        t = z + a3[k]; c30 = LLAVA__FMA(t, b0, c30); c31 = LLAVA__FMA(t, b1, c31);
        t = z + a4[k]; c40 = LLAVA__FMA(t, b0, c40); c41 = LLAVA__FMA(t, b1, c41);
        t = z + a5[k]; c50 = LLAVA__FMA(t, b0, c50); c51 = LLAVA__FMA(t, b1, c51);
    }
    float tile[LLAVA__MR][LLAVA__NR];
    memcpy(tile[0], &c00, sizeof c00); memcpy(tile[0] + LLAVA__VW, &c01, sizeof c01);
    memcpy(tile[1], &c10, sizeof c10); memcpy(tile[1] + LLAVA__VW, &c11, sizeof c11);
    memcpy(tile[2], &c20, sizeof c20); memcpy(tile[2] + LLAVA__VW, &c21, sizeof c21);
    memcpy(tile[3], &c30, sizeof c30); memcpy(tile[3] + LLAVA__VW, &c31, sizeof c31);
    memcpy(tile[4], &c40, sizeof c40); memcpy(tile[4] + LLAVA__VW, &c41, sizeof c41);
    memcpy(tile[5], &c50, sizeof c50); memcpy(tile[5] + LLAVA__VW, &c51, sizeof c51);
    for (i = 0; i < mr; i++) {
        float *o = out + (size_t)i * ldo;
        if (mode == 0) {
            for (j = 0; j < nr; j++) o[j] = (bias ? bias[j] : 0.0f) + tile[i][j];
        } else if (mode == 2 && bias) {
            for (j = 0; j < nr; j++) o[j] += bias[j] + tile[i][j];
        } else {
            for (j = 0; j < nr; j++) o[j] += tile[i][j];
        }
    }
}
#endif

/* out[M,N] (+)= A[M,K] @ op(B) + bias[N], with B in dtype bdt stored as [N,K] (bt = 0: out = A B^T, a
   weight matrix as transformers stores it) or as [K,N] (bt = 1: out = A B). accumulate adds to out. */
static void llava__gemm(float *out, const float *A, const void *B, LlavaDType bdt, int bt, const float *bias, int M, int K,
                        int N, int accumulate) {
    const size_t es = llava__dtype_size(bdt);
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* empty sum */
        int m, n;
        for (m = 0; m < M; m++)
            for (n = 0; n < N; n++) out[(size_t)m * N + n] = (accumulate ? out[(size_t)m * N + n] : 0.0f) + (bias ? bias[n] : 0.0f);
        return;
    }
    if (M <= 3 && !bt) { /* matrix-vector: memory bound, stream each weight row once */
        int o;
        LLAVA__OMP(omp parallel for schedule(static) if ((size_t)N * K > 32768))
        for (o = 0; o < N; o++) {
            const void *row = (const unsigned char *)B + (size_t)o * (size_t)K * es;
            int t;
            for (t = 0; t < M; t++) {
                float v = llava__dot(A + (size_t)t * K, row, bdt, K) + (bias ? bias[o] : 0.0f);
                out[(size_t)t * N + o] = accumulate ? out[(size_t)t * N + o] + v : v;
            }
        }
        return;
    }
#ifdef LLAVA__VEC
    const int npanels = (N + LLAVA__NR - 1) / LLAVA__NR;
    int k0;
    for (k0 = 0; k0 < K; k0 += LLAVA__KC) {
        const int kc = LLAVA__MIN(LLAVA__KC, K - k0);
        const int mode = k0 == 0 ? (accumulate ? 2 : 0) : 1;
        LLAVA__OMP(omp parallel if ((size_t)M * N * K > 65536))
        {
            float *bp = (float *)llava__alloc_aligned((size_t)LLAVA__KC * LLAVA__NR * sizeof(float));
            float *row = (float *)LLAVA_MALLOC((size_t)LLAVA__KC * sizeof(float) + LLAVA__NR * sizeof(float));
            int p;
            LLAVA__OMP(omp for schedule(static))
            for (p = 0; p < npanels; p++) {
                if (!bp || !row) continue; /* out of memory: caught by LLAVA_ASSERT below */
                const int n0 = p * LLAVA__NR, nr = LLAVA__MIN(LLAVA__NR, N - n0);
                int j, k, t;
                if (!bt) {
                    for (j = 0; j < LLAVA__NR; j++) {
                        if (j < nr) {
                            llava__to_f32(row, (const unsigned char *)B + ((size_t)(n0 + j) * K + k0) * es, bdt, (size_t)kc);
                            for (k = 0; k < kc; k++) bp[(size_t)k * LLAVA__NR + j] = row[k];
                        } else {
                            for (k = 0; k < kc; k++) bp[(size_t)k * LLAVA__NR + j] = 0.0f;
                        }
                    }
                } else {
                    for (k = 0; k < kc; k++) {
                        float *dst = bp + (size_t)k * LLAVA__NR;
                        llava__to_f32(dst, (const unsigned char *)B + ((size_t)(k0 + k) * N + n0) * es, bdt, (size_t)nr);
                        for (j = nr; j < LLAVA__NR; j++) dst[j] = 0.0f;
                    }
                }
                for (t = 0; t < M; t += LLAVA__MR)
                    llava__gemm_tile(out + (size_t)t * N + n0, N, A + (size_t)t * K + k0, K, bp, kc, LLAVA__MIN(LLAVA__MR, M - t), nr,
                                     mode, bias ? bias + n0 : NULL);
            }
            LLAVA_ASSERT(bp && row);
            llava__free_aligned(bp);
            LLAVA_FREE(row);
        }
    }
#else
    { /* portable fallback */
        int m, n, k;
        float *rowb = (float *)LLAVA_MALLOC((size_t)K * sizeof(float));
        LLAVA_ASSERT(rowb);
        for (n = 0; n < N; n++) {
            if (!bt) llava__to_f32(rowb, (const unsigned char *)B + (size_t)n * K * es, bdt, (size_t)K);
            else
                for (k = 0; k < K; k++) llava__to_f32(rowb + k, (const unsigned char *)B + ((size_t)k * N + n) * es, bdt, 1);
            for (m = 0; m < M; m++) {
                float s = bias ? bias[n] : 0.0f;
                for (k = 0; k < K; k++) s += A[(size_t)m * K + k] * rowb[k];
                out[(size_t)m * N + n] = accumulate ? out[(size_t)m * N + n] + s : s;
            }
        }
        LLAVA_FREE(rowb);
    }
#endif
}

/* out[T,OC] = in[T,C] @ w[OC,C]^T + bias[OC]      (nn.Linear) */
static void llava__matmul_forward(float *out, const float *in, const llava__w *w, const float *bias, int T, int C, int OC) {
    LLAVA_ASSERT(w->cols == C && w->rows == OC);
    llava__gemm(out, in, w->data, w->dtype, 0, bias, T, C, OC, 0);
}

/* din[T,C] += dout[T,OC] @ w[OC,C];  dw[OC,C] += dout^T @ in;  db[OC] += sum_t dout  (any may be NULL) */
static void llava__matmul_backward(float *din, float *dw, float *db, const float *dout, const float *in, const llava__w *w, int T,
                                   int C, int OC) {
    int t, o;
    if (din) llava__gemm(din, dout, w->data, w->dtype, 1, NULL, T, OC, C, 1);
    if (dw) {
        float *dT = (float *)llava__alloc_aligned((size_t)T * OC * sizeof(float)); /* [OC, T] */
        LLAVA_ASSERT(dT);
        LLAVA__OMP(omp parallel for schedule(static) if ((size_t)T * OC > 65536))
        for (o = 0; o < OC; o++) {
            int tt;
            for (tt = 0; tt < T; tt++) dT[(size_t)o * T + tt] = dout[(size_t)tt * OC + o];
        }
        llava__gemm(dw, dT, in, LLAVA_F32, 1, NULL, OC, T, C, 1);
        llava__free_aligned(dT);
    }
    if (db)
        for (t = 0; t < T; t++)
            for (o = 0; o < OC; o++) db[o] += dout[(size_t)t * OC + o];
}

/* CLIP LayerNorm: out[T,C] = (in - mean) / sqrt(var + eps) * w + b; mean, rstd [T] kept for the backward
   pass when not NULL. out may alias in. */
static void llava__layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w, const float *b,
                                     int T, int C, float eps) {
    int t;
    LLAVA__OMP(omp parallel for schedule(static) if ((size_t)T * C > 32768))
    for (t = 0; t < T; t++) {
        const float *x = in + (size_t)t * C;
        float *o = out + (size_t)t * C;
        float m = 0.0f, v = 0.0f;
        int i;
        for (i = 0; i < C; i++) m += x[i];
        m /= (float)C;
        for (i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
        v /= (float)C;
        float r = 1.0f / sqrtf(v + eps);
        for (i = 0; i < C; i++) o[i] = (x[i] - m) * r * w[i] + b[i];
        if (mean) mean[t] = m;
        if (rstd) rstd[t] = r;
    }
}
/* din[T,C] += dL/din; dw, db [C] += (either may be NULL) */
static void llava__layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                                      const float *mean, const float *rstd, int T, int C) {
    int t, i;
    for (t = 0; t < T && (dw || db); t++) { /* parameter gradients: sums over rows */
        const float *x = in + (size_t)t * C, *dy = dout + (size_t)t * C;
        for (i = 0; i < C; i++) {
            if (dw) dw[i] += dy[i] * (x[i] - mean[t]) * rstd[t];
            if (db) db[i] += dy[i];
        }
    }
    if (!din) return;
    LLAVA__OMP(omp parallel for schedule(static) if ((size_t)T * C > 32768))
    for (t = 0; t < T; t++) {
        const float *x = in + (size_t)t * C, *dy = dout + (size_t)t * C;
        const float m = mean[t], r = rstd[t];
        float s1 = 0.0f, s2 = 0.0f; /* mean(dxhat), mean(dxhat * xhat) */
        int j;
        for (j = 0; j < C; j++) {
            const float dxh = dy[j] * w[j];
            s1 += dxh;
            s2 += dxh * (x[j] - m) * r;
        }
        s1 /= (float)C;
        s2 /= (float)C;
        for (j = 0; j < C; j++) din[(size_t)t * C + j] += r * (dy[j] * w[j] - s1 - (x[j] - m) * r * s2);
    }
}

/* LlamaRMSNorm: out[T,C] = w * (in * rsqrt(mean(in^2) + eps)); rstd [T] kept when not NULL */
static void llava__rmsnorm_forward(float *out, float *rstd, const float *in, const float *w, int T, int C, float eps) {
    int t;
    LLAVA__OMP(omp parallel for schedule(static) if ((size_t)T * C > 32768))
    for (t = 0; t < T; t++) {
        const float *x = in + (size_t)t * C;
        float *o = out + (size_t)t * C;
        float ss = 0.0f;
        int i;
        for (i = 0; i < C; i++) ss += x[i] * x[i];
        float r = 1.0f / sqrtf(ss / (float)C + eps);
        for (i = 0; i < C; i++) o[i] = w[i] * (x[i] * r);
        if (rstd) rstd[t] = r;
    }
}
/* din[T,C] += dL/din; dw [C] += (may be NULL) */
static void llava__rmsnorm_backward(float *din, float *dw, const float *dout, const float *in, const float *w, const float *rstd,
                                    int T, int C) {
    int t, i;
    for (t = 0; t < T && dw; t++) /* the weight's gradient: a sum over rows */
        for (i = 0; i < C; i++) dw[i] += dout[(size_t)t * C + i] * in[(size_t)t * C + i] * rstd[t];
    if (!din) return;
    LLAVA__OMP(omp parallel for schedule(static) if ((size_t)T * C > 32768))
    for (t = 0; t < T; t++) {
        const float *x = in + (size_t)t * C, *dy = dout + (size_t)t * C;
        const float r = rstd[t];
        float s = 0.0f; /* sum(dy * w * x) */
        int j;
        for (j = 0; j < C; j++) s += dy[j] * w[j] * x[j];
        const float k = s * r * r * r / (float)C;
        for (j = 0; j < C; j++) din[(size_t)t * C + j] += dy[j] * w[j] * r - x[j] * k;
    }
}

/* rotary embedding, in place, "rotate_half" convention (LLaMA as transformers stores it):
   x[T, nh*Dh]; token t sits at position pos0 + t; inv_freq[Dh/2] */
static void llava__rope_forward(float *x, const float *inv_freq, int pos0, int T, int nh, int Dh) {
    int t, half = Dh / 2;
    LLAVA__OMP(omp parallel for schedule(static) if ((size_t)T * nh * Dh > 32768))
    for (t = 0; t < T; t++) {
        int h, i;
        for (i = 0; i < half; i++) {
            float f = (float)(pos0 + t) * inv_freq[i];
            float c = cosf(f), s = sinf(f);
            for (h = 0; h < nh; h++) {
                float *v = x + (size_t)t * nh * Dh + (size_t)h * Dh;
                float a = v[i], b = v[i + half];
                v[i] = a * c - b * s;
                v[i + half] = b * c + a * s;
            }
        }
    }
}

/* the rotation's transpose: gradients of x from gradients of rope(x), in place */
static void llava__rope_backward(float *dx, const float *inv_freq, int pos0, int T, int nh, int Dh) {
    int t, half = Dh / 2;
    LLAVA__OMP(omp parallel for schedule(static) if ((size_t)T * nh * Dh > 32768))
    for (t = 0; t < T; t++) {
        int h, i;
        for (i = 0; i < half; i++) {
            float f = (float)(pos0 + t) * inv_freq[i];
            float c = cosf(f), s = sinf(f);
            for (h = 0; h < nh; h++) {
                float *v = dx + (size_t)t * nh * Dh + (size_t)h * Dh;
                float a = v[i], b = v[i + half];
                v[i] = a * c + b * s;
                v[i + half] = b * c - a * s;
            }
        }
    }
}

/* scaled dot-product attention. out[T, H*Dh]; q[T, H*Dh]; k, v[S, KVH*Dh] where query t sits at
   position pos0 + t; causal: sees keys 0..pos0+t, else all S keys. Head h reads kv head h/(H/KVH).
   Few queries (decoding): one row at a time. Many (prefill, the vision tower): per head and block of
   queries, scores = Q K^T and out = P V through the blocked matmul, threads over (head, block).
   probs [H][T][S], when not NULL, keeps the attention probabilities for the backward pass. */
static void llava__attention_forward(float *out, float *probs, const float *q, const float *k, const float *v, int T, int S,
                                     int pos0, int H, int KVH, int Dh, int causal) {
    const float scale = 1.0f / sqrtf((float)Dh);
    const int group = H / KVH;
    if (T < 16) {
        int th;
        LLAVA__OMP(omp parallel)
        {
            float *att = (float *)LLAVA_MALLOC((size_t)S * sizeof(float));
            LLAVA__OMP(omp for schedule(dynamic, 4))
            for (th = 0; th < T * H; th++) {
                const int t = th / H, h = th % H, kh = h / group;
                const float *qt = q + (size_t)t * H * Dh + (size_t)h * Dh;
                float *ot = out + (size_t)t * H * Dh + (size_t)h * Dh;
                const int n = causal ? pos0 + t + 1 : S;
                int s, i;
                float mx = -3.0e38f, sum = 0.0f; /* (not -INFINITY: stays right under -ffast-math) */
                if (!att) continue;
                for (s = 0; s < n; s++) {
                    att[s] = llava__dot(qt, k + (size_t)s * KVH * Dh + (size_t)kh * Dh, LLAVA_F32, Dh) * scale;
                    if (att[s] > mx) mx = att[s];
                }
                for (s = 0; s < n; s++) {
                    att[s] = expf(att[s] - mx);
                    sum += att[s];
                }
                if (probs) {
                    float *pr = probs + ((size_t)h * T + t) * S;
                    for (s = 0; s < S; s++) pr[s] = s < n ? att[s] / sum : 0.0f;
                }
                for (i = 0; i < Dh; i++) ot[i] = 0.0f;
                for (s = 0; s < n; s++) {
                    const float *vs = v + (size_t)s * KVH * Dh + (size_t)kh * Dh;
                    const float p = att[s] / sum;
                    for (i = 0; i < Dh; i++) ot[i] += p * vs[i];
                }
            }
            LLAVA_ASSERT(att);
            LLAVA_FREE(att);
        }
        return;
    }
    const int QB = 128, nb = (T + QB - 1) / QB;
    int job;
    LLAVA__OMP(omp parallel)
    {
        float *kh = (float *)llava__alloc_aligned((size_t)S * Dh * sizeof(float));  /* [S, Dh] this head's keys */
        float *vt = (float *)llava__alloc_aligned((size_t)S * Dh * sizeof(float));  /* [Dh, S] its values, transposed */
        float *qh = (float *)llava__alloc_aligned((size_t)QB * Dh * sizeof(float)); /* [QB, Dh] */
        float *sc = (float *)llava__alloc_aligned((size_t)QB * S * sizeof(float));  /* [QB, S] scores, then probabilities */
        float *oh = (float *)llava__alloc_aligned((size_t)QB * Dh * sizeof(float)); /* [QB, Dh] */
        LLAVA__OMP(omp for schedule(dynamic, 1))
        for (job = 0; job < H * nb; job++) {
            const int h = job / nb, t0 = (job % nb) * QB, tb = LLAVA__MIN(QB, T - t0), kvh = h / group;
            const int nk = causal ? LLAVA__MIN(S, pos0 + t0 + tb) : S; /* keys any query of the block sees */
            int s, t, i;
            if (!kh || !vt || !qh || !sc || !oh) continue;
            for (s = 0; s < nk; s++) {
                const float *ks = k + (size_t)s * KVH * Dh + (size_t)kvh * Dh, *vs = v + (size_t)s * KVH * Dh + (size_t)kvh * Dh;
                memcpy(kh + (size_t)s * Dh, ks, (size_t)Dh * sizeof(float));
                for (i = 0; i < Dh; i++) vt[(size_t)i * nk + s] = vs[i];
            }
            for (t = 0; t < tb; t++) memcpy(qh + (size_t)t * Dh, q + (size_t)(t0 + t) * H * Dh + (size_t)h * Dh, (size_t)Dh * sizeof(float));
            llava__w K = {kh, LLAVA_F32, nk, Dh}, Vt = {vt, LLAVA_F32, Dh, nk};
            llava__matmul_forward(sc, qh, &K, NULL, tb, Dh, nk); /* (nested: runs on this thread) */
            for (t = 0; t < tb; t++) {
                float *row = sc + (size_t)t * nk, mx = -3.0e38f, sum = 0.0f;
                const int n = causal ? pos0 + t0 + t + 1 : nk;
                for (s = 0; s < n; s++) {
                    row[s] *= scale;
                    if (row[s] > mx) mx = row[s];
                }
                for (s = 0; s < n; s++) {
                    row[s] = expf(row[s] - mx);
                    sum += row[s];
                }
                for (s = 0; s < n; s++) row[s] /= sum;
                for (; s < nk; s++) row[s] = 0.0f; /* masked: later positions */
                if (probs) {
                    float *pr = probs + ((size_t)h * T + t0 + t) * S;
                    memcpy(pr, row, (size_t)nk * sizeof(float));
                    for (s = nk; s < S; s++) pr[s] = 0.0f;
                }
            }
            llava__matmul_forward(oh, sc, &Vt, NULL, tb, nk, Dh);
            for (t = 0; t < tb; t++) memcpy(out + (size_t)(t0 + t) * H * Dh + (size_t)h * Dh, oh + (size_t)t * Dh, (size_t)Dh * sizeof(float));
        }
        LLAVA_ASSERT(kh && vt && qh && sc && oh);
        llava__free_aligned(kh), llava__free_aligned(vt), llava__free_aligned(qh), llava__free_aligned(sc), llava__free_aligned(oh);
    }
}

static float llava__act1(float x, LlavaAct a) {
    switch (a) {
    case LLAVA_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case LLAVA_ACT_QUICK_GELU: return x / (1.0f + expf(-1.702f * x));
    case LLAVA_ACT_GELU_TANH: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case LLAVA_ACT_SILU: return x / (1.0f + expf(-x));
    case LLAVA_ACT_RELU: return x > 0.0f ? x : 0.0f;
    }
    return x;
}

/* x[n] = act(x[n]), in place */
static void llava__act_forward(float *x, size_t n, LlavaAct a) {
    long i;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536))
    for (i = 0; i < (long)n; i++) x[i] = llava__act1(x[i], a);
}

/* LLaMA MLP gate: out[n] = act(gate[n]) * up[n] (out may alias gate) */
static void llava__glu_forward(float *out, const float *gate, const float *up, size_t n, LlavaAct a) {
    long i;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536))
    for (i = 0; i < (long)n; i++) out[i] = llava__act1(gate[i], a) * up[i];
}

/* attention backward for a whole sequence (S == T, no cache offset: training). From dout [T, H*Dh] and
   the kept probabilities [H][T][T]: dq [T, H*Dh], dk, dv [T, KVH*Dh] (overwritten). Per head, through the
   blocked matmul:  dP = dO V^T,  dV += P^T dO,  dS = P * (dP - rowsum(dP * P)),  dQ = dS K / sqrt(Dh),
   dK += dS^T Q / sqrt(Dh). Threads over kv heads (a kv head's group accumulates into the same dk, dv). */
static void llava__attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *probs, const float *q,
                                      const float *k, const float *v, int T, int H, int KVH, int Dh) {
    const float scale = 1.0f / sqrtf((float)Dh);
    const int group = H / KVH;
    int kvh;
    LLAVA__OMP(omp parallel)
    {
        const size_t td = (size_t)T * Dh, tt = (size_t)T * T;
        float *buf = (float *)llava__alloc_aligned((7 * td + tt) * sizeof(float));
        LLAVA__OMP(omp for schedule(dynamic, 1))
        for (kvh = 0; kvh < KVH; kvh++) {
            /* per kv head: K, V [T, Dh]; per query head Q, dO [T, Dh] and their transposes [Dh, T];
               dK^T, dV^T [Dh, T] accumulated over the group (transposed, so every product below is a
               plain row-major matmul and only T x Dh matrices are ever transposed) */
            float *kh = buf, *vh = kh + td, *qt = vh + td, *dot = qt + td, *doh = dot + td, *dkt = doh + td, *dvt = dkt + td;
            float *dp = dvt + td;
            int g, t, s, i;
            if (!buf) continue;
            for (t = 0; t < T; t++) {
                memcpy(kh + (size_t)t * Dh, k + ((size_t)t * KVH + kvh) * Dh, (size_t)Dh * sizeof(float));
                memcpy(vh + (size_t)t * Dh, v + ((size_t)t * KVH + kvh) * Dh, (size_t)Dh * sizeof(float));
            }
            memset(dkt, 0, td * sizeof(float));
            memset(dvt, 0, td * sizeof(float));
            for (g = 0; g < group; g++) {
                const int h = kvh * group + g;
                const float *P = probs + (size_t)h * tt;
                for (t = 0; t < T; t++) {
                    const float *qr = q + ((size_t)t * H + h) * Dh, *dr = dout + ((size_t)t * H + h) * Dh;
                    memcpy(doh + (size_t)t * Dh, dr, (size_t)Dh * sizeof(float));
                    for (i = 0; i < Dh; i++) {
                        qt[(size_t)i * T + t] = qr[i];
                        dot[(size_t)i * T + t] = dr[i];
                    }
                }
                llava__gemm(dp, doh, vh, LLAVA_F32, 0, NULL, T, Dh, T, 0); /* dP = dO V^T */
                llava__gemm(dvt, dot, P, LLAVA_F32, 1, NULL, Dh, T, T, 1); /* dV^T += dO^T P */
                for (t = 0; t < T; t++) {
                    float *row = dp + (size_t)t * T;
                    const float *pr = P + (size_t)t * T;
                    float d = 0.0f;
                    for (s = 0; s < T; s++) d += row[s] * pr[s];
                    for (s = 0; s < T; s++) row[s] = pr[s] * (row[s] - d) * scale; /* dS, scaled */
                }
                llava__gemm(doh, dp, kh, LLAVA_F32, 1, NULL, T, T, Dh, 0); /* dQ = dS K (into doh's buffer) */
                for (t = 0; t < T; t++) memcpy(dq + ((size_t)t * H + h) * Dh, doh + (size_t)t * Dh, (size_t)Dh * sizeof(float));
                llava__gemm(dkt, qt, dp, LLAVA_F32, 1, NULL, Dh, T, T, 1); /* dK^T += Q^T dS */
            }
            for (t = 0; t < T; t++)
                for (i = 0; i < Dh; i++) {
                    dk[((size_t)t * KVH + kvh) * Dh + i] = dkt[(size_t)i * T + t];
                    dv[((size_t)t * KVH + kvh) * Dh + i] = dvt[(size_t)i * T + t];
                }
        }
        LLAVA_ASSERT(buf);
        llava__free_aligned(buf);
    }
}

/* d act(x) / dx */
static float llava__act_grad1(float x, LlavaAct a) {
    switch (a) {
    case LLAVA_ACT_GELU: return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * expf(-0.5f * x * x) * 0.3989422804014327f;
    case LLAVA_ACT_QUICK_GELU: {
        float sg = 1.0f / (1.0f + expf(-1.702f * x));
        return sg + 1.702f * x * sg * (1.0f - sg);
    }
    case LLAVA_ACT_GELU_TANH: {
        const float k = 0.7978845608028654f;
        float th = tanhf(k * (x + 0.044715f * x * x * x));
        return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * k * (1.0f + 3.0f * 0.044715f * x * x);
    }
    case LLAVA_ACT_SILU: {
        float sg = 1.0f / (1.0f + expf(-x));
        return sg * (1.0f + x * (1.0f - sg));
    }
    case LLAVA_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    }
    return 1.0f;
}

/* dx[n] = dout[n] * act'(x[n]), x the pre-activation (dx may alias dout) */
static void llava__act_backward(float *dx, const float *dout, const float *x, size_t n, LlavaAct a) {
    long i;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536))
    for (i = 0; i < (long)n; i++) dx[i] = dout[i] * llava__act_grad1(x[i], a);
}

/* out = act(gate) * up:  dgate = dout * up * act'(gate),  dup = dout * act(gate)  (overwritten) */
static void llava__glu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n, LlavaAct a) {
    long i;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536))
    for (i = 0; i < (long)n; i++) {
        const float d = dout[i], g = gate[i], u = up[i];
        dgate[i] = d * u * llava__act_grad1(g, a);
        dup[i] = d * llava__act1(g, a);
    }
}

/* token cross-entropy. logits [T,V]; targets [T] (-100 = not supervised). Returns the sum of the losses of
   supervised rows; dlogits [T,V] (may alias logits) = scale * (softmax - onehot) on those rows, 0 elsewhere. */
static double llava__crossentropy_forward_backward(float *dlogits, const float *logits, const int *targets, int T, int V, float scale) {
    double total = 0.0;
    int t;
    LLAVA__OMP(omp parallel for schedule(static) reduction(+ : total) if ((size_t)T * V > 32768))
    for (t = 0; t < T; t++) {
        const float *l = logits + (size_t)t * V;
        float *d = dlogits + (size_t)t * V;
        int i;
        if (targets[t] < 0) {
            for (i = 0; i < V; i++) d[i] = 0.0f;
            continue;
        }
        float mx = l[0];
        for (i = 1; i < V; i++)
            if (l[i] > mx) mx = l[i];
        double sum = 0.0;
        for (i = 0; i < V; i++) sum += exp((double)l[i] - mx);
        const double lse = mx + log(sum);
        total += lse - l[targets[t]];
        for (i = 0; i < V; i++) d[i] = (float)(exp((double)l[i] - lse)) * scale;
        d[targets[t]] -= scale;
    }
    return total;
}

/* AdamW (torch.optim.AdamW): p -= lr * wd * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).  t counts from 1. */
static void llava__adamw(float *p, float *m, float *v, const float *g, size_t n, float lr, float b1, float b2, float eps, float wd, int t) {
    const float bc1 = 1.0f - powf(b1, (float)t), bc2s = sqrtf(1.0f - powf(b2, (float)t)), step = lr / bc1;
    long i;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536))
    for (i = 0; i < (long)n; i++) {
        float pi = p[i] * (1.0f - lr * wd);
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] = pi - step * (m[i] / (sqrtf(v[i]) / bc2s + eps));
    }
}

/* ------------------------------------------------------------------------------------------------
   4. The backend table and the CPU backend. The model code calls compute only through this table,
      so another backend (llava_cuda.cu) can provide the same entries over device memory.
   ------------------------------------------------------------------------------------------------ */
typedef struct LlavaBackend {
    const char *name;
    void (*matmul)(float *out, const float *in, const llava__w *w, const float *bias, int T, int C, int OC);
    void (*matmul_backward)(float *din, float *dw, float *db, const float *dout, const float *in, const llava__w *w, int T, int C, int OC);
    void (*layernorm)(float *out, float *mean, float *rstd, const float *in, const float *w, const float *b, int T, int C, float eps);
    void (*layernorm_backward)(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, const float *mean,
                               const float *rstd, int T, int C);
    void (*rmsnorm)(float *out, float *rstd, const float *in, const float *w, int T, int C, float eps);
    void (*rmsnorm_backward)(float *din, float *dw, const float *dout, const float *in, const float *w, const float *rstd, int T, int C);
    void (*rope)(float *x, const float *inv_freq, int pos0, int T, int nh, int Dh);
    void (*rope_backward)(float *dx, const float *inv_freq, int pos0, int T, int nh, int Dh);
    void (*attention)(float *out, float *probs, const float *q, const float *k, const float *v, int T, int S, int pos0, int H, int KVH,
                      int Dh, int causal);
    void (*attention_backward)(float *dq, float *dk, float *dv, const float *dout, const float *probs, const float *q, const float *k,
                               const float *v, int T, int H, int KVH, int Dh);
    void (*act)(float *x, size_t n, LlavaAct a);
    void (*act_backward)(float *dx, const float *dout, const float *x, size_t n, LlavaAct a);
    void (*glu)(float *out, const float *gate, const float *up, size_t n, LlavaAct a);
    void (*glu_backward)(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n, LlavaAct a);
    void (*adamw)(float *p, float *m, float *v, const float *g, size_t n, float lr, float b1, float b2, float eps, float wd, int t);
} LlavaBackend;

static const LlavaBackend llava__cpu_backend = {"cpu",
                                                llava__matmul_forward,
                                                llava__matmul_backward,
                                                llava__layernorm_forward,
                                                llava__layernorm_backward,
                                                llava__rmsnorm_forward,
                                                llava__rmsnorm_backward,
                                                llava__rope_forward,
                                                llava__rope_backward,
                                                llava__attention_forward,
                                                llava__attention_backward,
                                                llava__act_forward,
                                                llava__act_backward,
                                                llava__glu_forward,
                                                llava__glu_backward,
                                                llava__adamw};

/* x[n] += y[n] */
static void llava__add(float *x, const float *y, size_t n) {
    long i;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 262144))
    for (i = 0; i < (long)n; i++) x[i] += y[i];
}

/* ------------------------------------------------------------------------------------------------
   5-7. The model: configuration, weights, vision encoder, projector, decoder
   ------------------------------------------------------------------------------------------------ */

/* One CLIP encoder layer.  transformers: CLIPEncoderLayer */
typedef struct {
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b; /* [D] */
    llava__w q, k, v, o;                  /* [D, D] */
    float *qb, *kb, *vb, *ob;             /* [D] */
    llava__w fc1, fc2;                    /* [Iv, D], [D, Iv] */
    float *fc1b, *fc2b;                   /* [Iv], [D] */
} llava__vlayer;

/* One LLaMA decoder layer.  transformers: LlamaDecoderLayer */
typedef struct {
    float *in_norm, *post_norm; /* [C] */
    llava__w q, k, v, o;        /* [H*Dh, C], [KVH*Dh, C] x2, [C, H*Dh] */
    float *qb, *kb, *vb, *ob;   /* attention_bias only */
    llava__w gate, up, down;    /* [I, C] x2, [C, I] */
    float *gate_b, *up_b, *down_b; /* mlp_bias only */
} llava__tlayer;

struct LlavaModel {
    LlavaConfig cfg;
    const LlavaBackend *be;
    llava__tensors files;  /* the model's safetensors */
    llava__tensors vfiles; /* the vision tower's own directory (original LLaVA layout) */
    /* vision tower.  transformers: CLIPVisionTransformer */
    llava__w patch;               /* [D, 3*ps*ps] (Conv2d weight [D, 3, ps, ps] flattened) */
    float *class_emb;             /* [D] */
    float *pos_emb;               /* [P+1, D] */
    float *pre_ln_w, *pre_ln_b;   /* [D] */
    llava__vlayer *vl;            /* [vision_run] */
    int vision_run;               /* encoder layers run to reach the feature layer */
    /* projector.  transformers: LlavaMultiModalProjector */
    llava__w proj[LLAVA_MAX_PROJ_LAYERS];     /* [C, D], then [C, C] */
    float *proj_b[LLAVA_MAX_PROJ_LAYERS];     /* [C] */
    /* decoder.  transformers: LlamaModel + lm_head */
    llava__w embed;               /* [V, C] */
    llava__tlayer *tl;            /* [text_layers] */
    float *norm;                  /* [C] */
    llava__w head;                /* [V, C] (embed when tied) */
    float *inv_freq;              /* [Dh/2] RoPE frequencies */
    void **owned;                 /* f32 copies and realigned tensors */
    int n_owned, cap_owned;
    /* where it came from, for saving: the directory, and the vision tower's tensors and key prefix */
    char *dir;
    const llava__tensors *vsrc;
    char vprefix[96];
};

struct LlavaContext {
    LlavaModel *m;
    int n_ctx, n_past;
    float *kcache, *vcache; /* [layers][n_ctx][KVH*Dh] */
    float *logits;          /* [V] of the last position */
};

/* --- configuration ------------------------------------------------------------------------------ */
typedef struct {
    const llava__json *j;
    const char *file;
    int rc;
} llava__cfgr;

static const llava__jnode *llava__cfg_get(const llava__cfgr *r, const llava__jnode *o, const char *key) {
    const llava__jnode *x = llava__jget(r->j, o, key);
    return x && x->type != LLAVA__JNULL ? x : NULL;
}
static double llava__cfg_num(llava__cfgr *r, const llava__jnode *o, const char *sec, const char *key, double def) {
    const llava__jnode *x = llava__cfg_get(r, o, key);
    if (!x) return def;
    if (x->type != LLAVA__JNUM && x->type != LLAVA__JBOOL) {
        if (r->rc == LLAVA_OK) r->rc = llava__err("%s: %s%s must be a number", r->file, sec, key);
        return def;
    }
    return x->num;
}
static int llava__cfg_int(llava__cfgr *r, const llava__jnode *o, const char *sec, const char *key, int def) {
    const llava__jnode *x = llava__cfg_get(r, o, key);
    if (!x) return def;
    if ((x->type != LLAVA__JNUM && x->type != LLAVA__JBOOL) || x->num != floor(x->num) || fabs(x->num) > 2.0e9) {
        if (r->rc == LLAVA_OK) r->rc = llava__err("%s: %s%s must be an integer", r->file, sec, key);
        return def;
    }
    return (int)x->num;
}
static const char *llava__cfg_str(llava__cfgr *r, const llava__jnode *o, const char *sec, const char *key, const char *def) {
    const llava__jnode *x = llava__cfg_get(r, o, key);
    if (!x) return def;
    if (x->type != LLAVA__JSTR) {
        if (r->rc == LLAVA_OK) r->rc = llava__err("%s: %s%s must be a string", r->file, sec, key);
        return def;
    }
    return x->str;
}
static LlavaAct llava__cfg_act(llava__cfgr *r, const llava__jnode *o, const char *sec, const char *key, const char *def) {
    const char *s = llava__cfg_str(r, o, sec, key, def);
    if (!strcmp(s, "gelu")) return LLAVA_ACT_GELU;
    if (!strcmp(s, "quick_gelu")) return LLAVA_ACT_QUICK_GELU;
    if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast")) return LLAVA_ACT_GELU_TANH;
    if (!strcmp(s, "silu") || !strcmp(s, "swish")) return LLAVA_ACT_SILU;
    if (!strcmp(s, "relu")) return LLAVA_ACT_RELU;
    if (r->rc == LLAVA_OK) r->rc = llava__err("%s: %s%s \"%s\" is not supported (gelu, quick_gelu, gelu_pytorch_tanh, silu, relu)", r->file, sec, key, s);
    return LLAVA_ACT_GELU;
}

/* LlamaConfig fields (LLaMA, Vicuna, Mistral, Qwen2), defaults as transformers has them */
static void llava__config_text(LlavaConfig *c, llava__cfgr *r, const llava__jnode *tc, const char *sec) {
    const char *type = llava__cfg_str(r, tc, sec, "model_type", "llama");
    if (!strncmp(type, "llava_", 6)) type += 6; /* the original repository's llava_llama / llava_mistral */
    int mistral = !strcmp(type, "mistral"), qwen = !strcmp(type, "qwen2");
    if (!mistral && !qwen && strcmp(type, "llama") && r->rc == LLAVA_OK)
        r->rc = llava__err("%s: %smodel_type \"%s\" is not supported (llama, mistral, qwen2)", r->file, sec, type);
    c->text_vocab = llava__cfg_int(r, tc, sec, "vocab_size", qwen ? 151936 : 32000);
    c->text_hidden = llava__cfg_int(r, tc, sec, "hidden_size", 4096);
    c->text_intermediate = llava__cfg_int(r, tc, sec, "intermediate_size", mistral ? 14336 : qwen ? 22016 : 11008);
    c->text_layers = llava__cfg_int(r, tc, sec, "num_hidden_layers", 32);
    c->text_heads = llava__cfg_int(r, tc, sec, "num_attention_heads", 32);
    c->text_kv_heads = llava__cfg_int(r, tc, sec, "num_key_value_heads", mistral ? 8 : c->text_heads);
    c->text_max_pos = llava__cfg_int(r, tc, sec, "max_position_embeddings", mistral ? 131072 : qwen ? 32768 : 2048);
    c->text_rms_eps = (float)llava__cfg_num(r, tc, sec, "rms_norm_eps", 1e-6);
    c->text_act = llava__cfg_act(r, tc, sec, "hidden_act", "silu");
    c->text_attn_bias = llava__cfg_int(r, tc, sec, "attention_bias", qwen ? 1 : 0);
    c->text_mlp_bias = llava__cfg_int(r, tc, sec, "mlp_bias", 0);
    c->text_head_dim = llava__cfg_int(r, tc, sec, "head_dim", c->text_heads > 0 ? c->text_hidden / c->text_heads : 0);
    if (!llava__cfg_get(r, tc, "head_dim") && c->text_heads > 0 && c->text_hidden % c->text_heads && r->rc == LLAVA_OK)
        r->rc = llava__err("%s: %snum_attention_heads (%d) does not divide hidden_size (%d)", r->file, sec, c->text_heads, c->text_hidden);
    c->text_tied = llava__cfg_int(r, tc, sec, "tie_word_embeddings", c->text_tied);
    /* rotary: 4.x spells rope_theta + rope_scaling, 5.x rope_parameters {rope_theta, rope_type} */
    const llava__jnode *rp = llava__cfg_get(r, tc, "rope_parameters"), *rs = llava__cfg_get(r, tc, "rope_scaling");
    c->text_rope_theta = llava__cfg_num(r, tc, sec, "rope_theta", rp ? llava__cfg_num(r, rp, "rope_parameters.", "rope_theta", 10000.0) : 10000.0);
    c->text_rope_linear_factor = 1.0;
    const llava__jnode *sc = rs ? rs : rp;
    if (sc) {
        const char *rt = llava__cfg_str(r, sc, "rope.", "rope_type", llava__cfg_str(r, sc, "rope.", "type", "default"));
        if (!strcmp(rt, "linear")) c->text_rope_linear_factor = llava__cfg_num(r, sc, "rope.", "factor", 1.0);
        else if (strcmp(rt, "default") && r->rc == LLAVA_OK)
            r->rc = llava__err("%s: %srope type \"%s\" is not supported (default, linear)", r->file, sec, rt);
    }
    c->bos_id = llava__cfg_int(r, tc, sec, "bos_token_id", qwen ? -1 : 1);
    const llava__jnode *eos = llava__cfg_get(r, tc, "eos_token_id");
    c->n_eos = 0;
    if (eos && eos->type == LLAVA__JARR) {
        const llava__jnode *x;
        for (x = llava__jfirst(r->j, eos); x && c->n_eos < LLAVA_MAX_EOS; x = llava__jnext(r->j, x))
            if (x->type == LLAVA__JNUM) c->eos_ids[c->n_eos++] = (int)x->num;
    } else {
        int e = llava__cfg_int(r, tc, sec, "eos_token_id", qwen ? 151643 : 2);
        if (e >= 0) c->eos_ids[c->n_eos++] = e;
    }
}

/* CLIPVisionConfig fields; `dflt` is 0 for CLIPVisionConfig's own defaults (ViT-B/32), 1 for the
   ViT-L/14-336 that LlavaConfig builds when vision_config is absent */
static void llava__config_vision(LlavaConfig *c, llava__cfgr *r, const llava__jnode *vc, const char *sec, int big) {
    const char *type = llava__cfg_str(r, vc, sec, "model_type", "clip_vision_model");
    if (strcmp(type, "clip_vision_model") && strcmp(type, "clip") && r->rc == LLAVA_OK)
        r->rc = llava__err("%s: %smodel_type \"%s\" is not supported (clip_vision_model)", r->file, sec, type);
    c->vision_hidden = llava__cfg_int(r, vc, sec, "hidden_size", big ? 1024 : 768);
    c->vision_intermediate = llava__cfg_int(r, vc, sec, "intermediate_size", big ? 4096 : 3072);
    c->vision_layers = llava__cfg_int(r, vc, sec, "num_hidden_layers", big ? 24 : 12);
    c->vision_heads = llava__cfg_int(r, vc, sec, "num_attention_heads", big ? 16 : 12);
    c->vision_channels = llava__cfg_int(r, vc, sec, "num_channels", 3);
    c->vision_image_size = llava__cfg_int(r, vc, sec, "image_size", big ? 336 : 224);
    c->vision_patch_size = llava__cfg_int(r, vc, sec, "patch_size", big ? 14 : 32);
    c->vision_ln_eps = (float)llava__cfg_num(r, vc, sec, "layer_norm_eps", 1e-5);
    c->vision_act = llava__cfg_act(r, vc, sec, "hidden_act", "quick_gelu");
}

LLAVADEF void llava_preprocess_defaults(LlavaConfig *c, int size) {
    static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f}, std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    int i;
    c->pre_pad = 0;
    c->pre_do_resize = 1;
    c->pre_resize_short = size;
    c->pre_resize_h = c->pre_resize_w = size;
    c->pre_do_crop = 1;
    c->pre_crop_h = c->pre_crop_w = size;
    c->pre_do_rescale = 1;
    c->pre_rescale = 1.0f / 255.0f;
    c->pre_do_normalize = 1;
    c->pre_alpha_white = 1;
    for (i = 0; i < 3; i++) {
        c->pre_mean[i] = mean[i];
        c->pre_std[i] = std[i];
    }
}

/* preprocessor_config.json (optional: without it CLIP's defaults at the tower's size apply) */
static int llava__config_preprocessor(LlavaConfig *c, const char *path) {
    llava_preprocess_defaults(c, c->vision_image_size);
    if (!llava__exists(path)) return LLAVA_OK;
    size_t n;
    char *text = llava__read_text(path, 1 << 20, &n);
    if (!text) return LLAVA_ERR;
    llava__json j;
    int rc = llava__json_parse(&j, text, n, path);
    if (rc == LLAVA_OK) {
        llava__cfgr r = {&j, path, LLAVA_OK};
        const llava__jnode *root = &j.nodes[0], *x;
        int i;
        c->pre_do_resize = llava__cfg_int(&r, root, "", "do_resize", 1);
        c->pre_do_crop = llava__cfg_int(&r, root, "", "do_center_crop", 1);
        c->pre_do_rescale = llava__cfg_int(&r, root, "", "do_rescale", 1);
        c->pre_rescale = (float)llava__cfg_num(&r, root, "", "rescale_factor", 1.0 / 255.0);
        c->pre_do_normalize = llava__cfg_int(&r, root, "", "do_normalize", 1);
        if ((x = llava__cfg_get(&r, root, "size"))) {
            if (x->type == LLAVA__JNUM) c->pre_resize_short = (int)x->num;
            else if (llava__cfg_get(&r, x, "shortest_edge")) c->pre_resize_short = llava__cfg_int(&r, x, "size.", "shortest_edge", 0);
            else {
                c->pre_resize_short = 0;
                c->pre_resize_h = llava__cfg_int(&r, x, "size.", "height", 0);
                c->pre_resize_w = llava__cfg_int(&r, x, "size.", "width", 0);
            }
        }
        if ((x = llava__cfg_get(&r, root, "crop_size"))) {
            if (x->type == LLAVA__JNUM) c->pre_crop_h = c->pre_crop_w = (int)x->num;
            else {
                c->pre_crop_h = llava__cfg_int(&r, x, "crop_size.", "height", 0);
                c->pre_crop_w = llava__cfg_int(&r, x, "crop_size.", "width", 0);
            }
        }
        const char *keys[2] = {"image_mean", "image_std"};
        for (i = 0; i < 2; i++)
            if ((x = llava__cfg_get(&r, root, keys[i]))) {
                float *dst = i ? c->pre_std : c->pre_mean;
                int k;
                if (x->type == LLAVA__JNUM) dst[0] = dst[1] = dst[2] = (float)x->num;
                else if (x->type != LLAVA__JARR || x->count != 3) {
                    if (r.rc == LLAVA_OK) r.rc = llava__err("%s: %s must be a list of 3 numbers", path, keys[i]);
                } else
                    for (k = 0; k < 3; k++) dst[k] = (float)llava__jat(&j, x, k)->num;
            }
        int resample = llava__cfg_int(&r, root, "", "resample", 3);
        if (resample != 3 && r.rc == LLAVA_OK) r.rc = llava__err("%s: resample %d is not supported (3 = bicubic)", path, resample);
        for (i = 0; i < 3; i++)
            if (!(c->pre_std[i] > 0.0f) && r.rc == LLAVA_OK) r.rc = llava__err("%s: image_std must be positive", path);
        if ((c->pre_resize_short < 0 || c->pre_resize_short > 65536 || c->pre_resize_h <= 0 || c->pre_resize_w <= 0 ||
             c->pre_resize_h > 65536 || c->pre_resize_w > 65536 || c->pre_crop_h <= 0 || c->pre_crop_w <= 0 ||
             c->pre_crop_h > 65536 || c->pre_crop_w > 65536) && r.rc == LLAVA_OK)
            r.rc = llava__err("%s: size / crop_size out of range", path);
        rc = r.rc;
    }
    llava__json_free(&j);
    LLAVA_FREE(text);
    return rc;
}

/* checks that the numbers make a model this code can run, before any tensor is looked at */
static int llava__config_check(const LlavaConfig *c, const char *file) {
    const struct {
        const char *name;
        int v;
    } pos[] = {{"vision_config.hidden_size", c->vision_hidden}, {"vision_config.intermediate_size", c->vision_intermediate},
               {"vision_config.num_hidden_layers", c->vision_layers}, {"vision_config.num_attention_heads", c->vision_heads},
               {"vision_config.image_size", c->vision_image_size}, {"vision_config.patch_size", c->vision_patch_size},
               {"text_config.hidden_size", c->text_hidden}, {"text_config.intermediate_size", c->text_intermediate},
               {"text_config.num_hidden_layers", c->text_layers}, {"text_config.num_attention_heads", c->text_heads},
               {"text_config.num_key_value_heads", c->text_kv_heads}, {"text_config.head_dim", c->text_head_dim},
               {"text_config.vocab_size", c->text_vocab}, {"text_config.max_position_embeddings", c->text_max_pos}};
    size_t i;
    for (i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].v <= 0 || pos[i].v > LLAVA__LIMIT_DIM)
            return llava__err("%s: %s (%d) must be between 1 and %d", file, pos[i].name, pos[i].v, LLAVA__LIMIT_DIM);
    if (c->vision_channels != 3) return llava__err("%s: vision_config.num_channels (%d) must be 3", file, c->vision_channels);
    if (c->vision_hidden % c->vision_heads)
        return llava__err("%s: vision_config.num_attention_heads (%d) does not divide hidden_size (%d)", file, c->vision_heads, c->vision_hidden);
    if (c->vision_image_size % c->vision_patch_size)
        return llava__err("%s: vision_config.patch_size (%d) does not divide image_size (%d)", file, c->vision_patch_size, c->vision_image_size);
    if (c->text_heads % c->text_kv_heads)
        return llava__err("%s: text_config.num_key_value_heads (%d) does not divide num_attention_heads (%d)", file, c->text_kv_heads, c->text_heads);
    if (c->text_head_dim % 2) return llava__err("%s: text_config.head_dim (%d) must be even for rotary embeddings", file, c->text_head_dim);
    if ((int64_t)c->text_heads * c->text_head_dim > LLAVA__LIMIT_DIM) return llava__err("%s: text_config: heads x head_dim too large", file);
    if (c->vision_feature_layer > c->vision_layers || c->vision_feature_layer < -(c->vision_layers + 1))
        return llava__err("%s: vision_feature_layer (%d) is outside the %d hidden states of a %d-layer vision tower", file,
                          c->vision_feature_layer, c->vision_layers + 1, c->vision_layers);
    if (c->proj_layers < 1 || c->proj_layers > LLAVA_MAX_PROJ_LAYERS) return llava__err("%s: projector has %d layers (1 to %d supported)", file, c->proj_layers, LLAVA_MAX_PROJ_LAYERS);
    if (!c->image_token_expands && (c->image_token_id < 0 || c->image_token_id >= c->text_vocab))
        return llava__err("%s: image_token_index (%d) is outside the vocabulary (%d)", file, c->image_token_id, c->text_vocab);
    if (!(c->text_rms_eps >= 0.0f) || !(c->vision_ln_eps >= 0.0f)) return llava__err("%s: negative norm epsilon", file);
    if (!(c->text_rope_theta > 0.0) || !(c->text_rope_linear_factor > 0.0)) return llava__err("%s: rope_theta and rope factor must be positive", file);
    if (c->pre_crop_h != c->vision_image_size || c->pre_crop_w != c->vision_image_size)
        return llava__err("%s: preprocessing makes %dx%d images but the vision tower takes %dx%d", file, c->pre_crop_w,
                          c->pre_crop_h, c->vision_image_size, c->vision_image_size);
    return LLAVA_OK;
}

/* --- tensors ------------------------------------------------------------------------------------ */
/* names, relative to the prefixes that layout detection finds (llama.cpp keeps them in one place too) */
#define LLAVA__N_PATCH "%sembeddings.patch_embedding.weight"
#define LLAVA__N_CLASS "%sembeddings.class_embedding"
#define LLAVA__N_POS "%sembeddings.position_embedding.weight"
#define LLAVA__N_PRE_LN "%spre_layrnorm.%s"
#define LLAVA__N_VLAYER "%sencoder.layers.%d.%s"
#define LLAVA__N_EMBED "%sembed_tokens.weight"
#define LLAVA__N_TLAYER "%slayers.%d.%s"
#define LLAVA__N_NORM "%snorm.weight"

static int llava__own(LlavaModel *m, void *p) {
    if (!p) return llava__err("out of memory");
    if (m->n_owned == m->cap_owned) {
        int nc = m->cap_owned ? m->cap_owned * 2 : 256;
        void **no = (void **)LLAVA_REALLOC(m->owned, (size_t)nc * sizeof *no);
        if (!no) {
            llava__free_aligned(p);
            return llava__err("out of memory");
        }
        m->owned = no;
        m->cap_owned = nc;
    }
    m->owned[m->n_owned++] = p;
    return LLAVA_OK;
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 5, 6)))
#endif
/* finds a float tensor by formatted name and checks its shape (dims = its numel split as given) */
static const llava__tensor *llava__need(const llava__tensors *ts, int ndim, const int64_t *shape, char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, 256, fmt, ap);
    va_end(ap);
    const llava__tensor *t = llava__tensors_find(ts, name);
    int i, ok;
    if (!t) {
        llava__err("missing tensor '%s'", name);
        return NULL;
    }
    if (t->dtype < 0) {
        llava__err("tensor '%s' has dtype %s; F32, F16 or BF16 expected", name, t->dtype_name);
        return NULL;
    }
    ok = t->ndim == ndim;
    for (i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char a[128] = "", b[128] = "";
        size_t la = 0, lb = 0;
        for (i = 0; i < t->ndim && la < 100; i++) la += (size_t)snprintf(a + la, sizeof a - la, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        for (i = 0; i < ndim && lb < 100; i++) lb += (size_t)snprintf(b + lb, sizeof b - lb, "%s%lld", i ? ", " : "", (long long)shape[i]);
        llava__err("tensor '%s' has shape [%s] but the config implies [%s]", name, a, b);
        return NULL;
    }
    return t;
}

/* a matrix weight, kept in its stored dtype (copied only if misaligned in the file) */
static int llava__load_w(LlavaModel *m, const llava__tensors *ts, llava__w *w, int rows, int cols, const char *pfx, const char *fmt2, int layer, const char *leaf) {
    char name[256];
    int64_t shape[2] = {rows, cols};
    const llava__tensor *t = layer >= 0 ? llava__need(ts, 2, shape, name, fmt2, pfx, layer, leaf) : llava__need(ts, 2, shape, name, fmt2, pfx, leaf);
    if (!t) return LLAVA_ERR;
    w->rows = rows;
    w->cols = cols;
    w->dtype = (LlavaDType)t->dtype;
    w->data = t->data;
    if ((uintptr_t)t->data % llava__dtype_size(w->dtype)) {
        void *p = llava__alloc_aligned(t->nbytes);
        if (llava__own(m, p) != LLAVA_OK) return LLAVA_ERR;
        memcpy(p, t->data, t->nbytes);
        w->data = p;
    }
    return LLAVA_OK;
}

/* a small tensor (norm, bias, embedding table) as an f32 copy */
static int llava__load_f32(LlavaModel *m, const llava__tensors *ts, float **dst, int ndim, const int64_t *shape, const char *name) {
    char nm[256];
    const llava__tensor *t = llava__need(ts, ndim, shape, nm, "%s", name);
    if (!t) return LLAVA_ERR;
    size_t n = t->nbytes / llava__dtype_size((LlavaDType)t->dtype);
    float *p = (float *)llava__alloc_aligned(n * sizeof(float) + 1);
    if (llava__own(m, p) != LLAVA_OK) return LLAVA_ERR;
    llava__to_f32(p, t->data, (LlavaDType)t->dtype, n);
    *dst = p;
    return LLAVA_OK;
}
static int llava__load_vec(LlavaModel *m, const llava__tensors *ts, float **dst, int n, const char *fmt, const char *pfx, int layer, const char *leaf) {
    char name[256];
    int64_t shape[1] = {n};
    if (layer >= 0) snprintf(name, sizeof name, fmt, pfx, layer, leaf);
    else snprintf(name, sizeof name, fmt, pfx, leaf);
    return llava__load_f32(m, ts, dst, 1, shape, name);
}

/* first prefix p for which p + probe names a tensor, or NULL */
static const char *llava__probe(const llava__tensors *ts, const char *const *prefixes, int n, const char *probe) {
    char name[256];
    int i;
    for (i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s%s", prefixes[i], probe);
        if (llava__tensors_find(ts, name)) return prefixes[i];
    }
    return NULL;
}

static int llava__load_vision(LlavaModel *m, const llava__tensors *ts, const char *vp) {
    const LlavaConfig *c = &m->cfg;
    m->vsrc = ts;
    snprintf(m->vprefix, sizeof m->vprefix, "%s", vp);
    const int D = c->vision_hidden, Iv = c->vision_intermediate, ps = c->vision_patch_size;
    const int G = c->vision_image_size / ps;
    char name[256];
    int64_t pshape[4] = {D, 3, ps, ps}, one[1] = {D}, pos[2] = {(int64_t)G * G + 1, D};
    const llava__tensor *t = llava__need(ts, 4, pshape, name, LLAVA__N_PATCH, vp);
    if (!t) return LLAVA_ERR;
    m->patch.rows = D;
    m->patch.cols = 3 * ps * ps;
    m->patch.dtype = (LlavaDType)t->dtype;
    m->patch.data = t->data;
    if ((uintptr_t)t->data % llava__dtype_size(m->patch.dtype)) {
        void *p = llava__alloc_aligned(t->nbytes);
        if (llava__own(m, p) != LLAVA_OK) return LLAVA_ERR;
        memcpy(p, t->data, t->nbytes);
        m->patch.data = p;
    }
    snprintf(name, sizeof name, LLAVA__N_CLASS, vp);
    if (llava__load_f32(m, ts, &m->class_emb, 1, one, name) != LLAVA_OK) return LLAVA_ERR;
    snprintf(name, sizeof name, LLAVA__N_POS, vp);
    if (llava__load_f32(m, ts, &m->pos_emb, 2, pos, name) != LLAVA_OK) return LLAVA_ERR;
    if (llava__load_vec(m, ts, &m->pre_ln_w, D, LLAVA__N_PRE_LN, vp, -1, "weight") ||
        llava__load_vec(m, ts, &m->pre_ln_b, D, LLAVA__N_PRE_LN, vp, -1, "bias"))
        return LLAVA_ERR;
    /* hidden_states[k] is the output of k layers; only those layers are needed (and required) */
    int fl = c->vision_feature_layer;
    m->vision_run = fl < 0 ? c->vision_layers + 1 + fl : fl;
    m->vl = (llava__vlayer *)llava__calloc((size_t)LLAVA__MAX(m->vision_run, 1), sizeof *m->vl);
    if (!m->vl) return llava__err("out of memory");
    int l;
    for (l = 0; l < m->vision_run; l++) {
        llava__vlayer *L = &m->vl[l];
        if (llava__load_vec(m, ts, &L->ln1_w, D, LLAVA__N_VLAYER, vp, l, "layer_norm1.weight") ||
            llava__load_vec(m, ts, &L->ln1_b, D, LLAVA__N_VLAYER, vp, l, "layer_norm1.bias") ||
            llava__load_vec(m, ts, &L->ln2_w, D, LLAVA__N_VLAYER, vp, l, "layer_norm2.weight") ||
            llava__load_vec(m, ts, &L->ln2_b, D, LLAVA__N_VLAYER, vp, l, "layer_norm2.bias") ||
            llava__load_w(m, ts, &L->q, D, D, vp, LLAVA__N_VLAYER, l, "self_attn.q_proj.weight") ||
            llava__load_w(m, ts, &L->k, D, D, vp, LLAVA__N_VLAYER, l, "self_attn.k_proj.weight") ||
            llava__load_w(m, ts, &L->v, D, D, vp, LLAVA__N_VLAYER, l, "self_attn.v_proj.weight") ||
            llava__load_w(m, ts, &L->o, D, D, vp, LLAVA__N_VLAYER, l, "self_attn.out_proj.weight") ||
            llava__load_vec(m, ts, &L->qb, D, LLAVA__N_VLAYER, vp, l, "self_attn.q_proj.bias") ||
            llava__load_vec(m, ts, &L->kb, D, LLAVA__N_VLAYER, vp, l, "self_attn.k_proj.bias") ||
            llava__load_vec(m, ts, &L->vb, D, LLAVA__N_VLAYER, vp, l, "self_attn.v_proj.bias") ||
            llava__load_vec(m, ts, &L->ob, D, LLAVA__N_VLAYER, vp, l, "self_attn.out_proj.bias") ||
            llava__load_w(m, ts, &L->fc1, Iv, D, vp, LLAVA__N_VLAYER, l, "mlp.fc1.weight") ||
            llava__load_w(m, ts, &L->fc2, D, Iv, vp, LLAVA__N_VLAYER, l, "mlp.fc2.weight") ||
            llava__load_vec(m, ts, &L->fc1b, Iv, LLAVA__N_VLAYER, vp, l, "mlp.fc1.bias") ||
            llava__load_vec(m, ts, &L->fc2b, D, LLAVA__N_VLAYER, vp, l, "mlp.fc2.bias"))
            return LLAVA_ERR;
    }
    return LLAVA_OK;
}

static int llava__load_text(LlavaModel *m, const llava__tensors *ts, const char *tp) {
    const LlavaConfig *c = &m->cfg;
    const int C = c->text_hidden, H = c->text_heads, KVH = c->text_kv_heads, Dh = c->text_head_dim, I = c->text_intermediate;
    char name[256];
    if (llava__load_w(m, ts, &m->embed, c->text_vocab, C, tp, LLAVA__N_EMBED, -1, "")) return LLAVA_ERR;
    m->tl = (llava__tlayer *)llava__calloc((size_t)c->text_layers, sizeof *m->tl);
    if (!m->tl) return llava__err("out of memory");
    int l;
    for (l = 0; l < c->text_layers; l++) {
        llava__tlayer *L = &m->tl[l];
        if (llava__load_vec(m, ts, &L->in_norm, C, LLAVA__N_TLAYER, tp, l, "input_layernorm.weight") ||
            llava__load_vec(m, ts, &L->post_norm, C, LLAVA__N_TLAYER, tp, l, "post_attention_layernorm.weight") ||
            llava__load_w(m, ts, &L->q, H * Dh, C, tp, LLAVA__N_TLAYER, l, "self_attn.q_proj.weight") ||
            llava__load_w(m, ts, &L->k, KVH * Dh, C, tp, LLAVA__N_TLAYER, l, "self_attn.k_proj.weight") ||
            llava__load_w(m, ts, &L->v, KVH * Dh, C, tp, LLAVA__N_TLAYER, l, "self_attn.v_proj.weight") ||
            llava__load_w(m, ts, &L->o, C, H * Dh, tp, LLAVA__N_TLAYER, l, "self_attn.o_proj.weight") ||
            llava__load_w(m, ts, &L->gate, I, C, tp, LLAVA__N_TLAYER, l, "mlp.gate_proj.weight") ||
            llava__load_w(m, ts, &L->up, I, C, tp, LLAVA__N_TLAYER, l, "mlp.up_proj.weight") ||
            llava__load_w(m, ts, &L->down, C, I, tp, LLAVA__N_TLAYER, l, "mlp.down_proj.weight"))
            return LLAVA_ERR;
        if (c->text_attn_bias &&
            (llava__load_vec(m, ts, &L->qb, H * Dh, LLAVA__N_TLAYER, tp, l, "self_attn.q_proj.bias") ||
             llava__load_vec(m, ts, &L->kb, KVH * Dh, LLAVA__N_TLAYER, tp, l, "self_attn.k_proj.bias") ||
             llava__load_vec(m, ts, &L->vb, KVH * Dh, LLAVA__N_TLAYER, tp, l, "self_attn.v_proj.bias")))
            return LLAVA_ERR;
        /* Qwen2 has q/k/v biases but none on o_proj; LLaMA's attention_bias covers o_proj too */
        snprintf(name, sizeof name, LLAVA__N_TLAYER, tp, l, "self_attn.o_proj.bias");
        if (c->text_attn_bias && llava__tensors_find(ts, name) &&
            llava__load_vec(m, ts, &L->ob, C, LLAVA__N_TLAYER, tp, l, "self_attn.o_proj.bias"))
            return LLAVA_ERR;
        if (c->text_mlp_bias &&
            (llava__load_vec(m, ts, &L->gate_b, I, LLAVA__N_TLAYER, tp, l, "mlp.gate_proj.bias") ||
             llava__load_vec(m, ts, &L->up_b, I, LLAVA__N_TLAYER, tp, l, "mlp.up_proj.bias") ||
             llava__load_vec(m, ts, &L->down_b, C, LLAVA__N_TLAYER, tp, l, "mlp.down_proj.bias")))
            return LLAVA_ERR;
    }
    if (llava__load_vec(m, ts, &m->norm, C, LLAVA__N_NORM, tp, -1, "")) return LLAVA_ERR;
    if (c->text_tied) {
        m->head = m->embed;
    } else {
        /* the head sits beside the decoder: language_model.lm_head (4.x) or lm_head */
        const char *heads[2] = {"language_model.lm_head.weight", "lm_head.weight"};
        const char *h = !strcmp(tp, "language_model.model.") ? heads[0] : heads[1];
        if (llava__load_w(m, ts, &m->head, c->text_vocab, C, "", "%s%s", -1, h)) return LLAVA_ERR;
    }
    /* RoPE inverse frequencies, as LlamaRotaryEmbedding computes them (float32) */
    int half = Dh / 2, i;
    m->inv_freq = (float *)llava__alloc_aligned((size_t)half * sizeof(float) + 1);
    if (llava__own(m, m->inv_freq) != LLAVA_OK) return LLAVA_ERR;
    for (i = 0; i < half; i++) {
        float e = (float)(2 * i) / (float)Dh;
        m->inv_freq[i] = (float)(1.0 / pow(c->text_rope_theta, (double)e)) / (float)c->text_rope_linear_factor;
    }
    return LLAVA_OK;
}

static int llava__load_projector(LlavaModel *m, const llava__tensors *ts, const char *pp, int original) {
    LlavaConfig *c = &m->cfg;
    const int D = c->vision_hidden, C = c->text_hidden;
    int i;
    char name[256];
    for (i = 0; i < c->proj_layers; i++) {
        char wn[64], bn[64];
        if (original) { /* nn.Linear, or nn.Sequential(Linear, GELU, Linear, ...) */
            if (c->proj_layers == 1) snprintf(wn, sizeof wn, "weight"), snprintf(bn, sizeof bn, "bias");
            else snprintf(wn, sizeof wn, "%d.weight", 2 * i), snprintf(bn, sizeof bn, "%d.bias", 2 * i);
        } else {
            snprintf(wn, sizeof wn, "linear_%d.weight", i + 1);
            snprintf(bn, sizeof bn, "linear_%d.bias", i + 1);
        }
        int in = i == 0 ? D : C;
        snprintf(name, sizeof name, "%s%s", pp, wn);
        const llava__tensor *t = llava__tensors_find(ts, name);
        if (t && t->ndim == 2 && t->shape[1] == in && t->shape[0] != C)
            return llava__err("projector output width %lld (tensor '%s') does not match the language model width %d",
                              (long long)t->shape[0], name, C);
        if (llava__load_w(m, ts, &m->proj[i], C, in, pp, "%s%s", -1, wn)) return LLAVA_ERR;
        if (c->proj_bias && llava__load_vec(m, ts, &m->proj_b[i], C, "%s%s", pp, -1, bn)) return LLAVA_ERR;
    }
    return LLAVA_OK;
}

LLAVADEF void llava_model_free(LlavaModel *m) {
    int i;
    if (!m) return;
    for (i = 0; i < m->n_owned; i++) llava__free_aligned(m->owned[i]);
    LLAVA_FREE(m->owned);
    LLAVA_FREE(m->vl);
    LLAVA_FREE(m->tl);
    LLAVA_FREE(m->dir);
    llava__tensors_free(&m->files);
    llava__tensors_free(&m->vfiles);
    LLAVA_FREE(m);
}

/* the original LLaVA repository's checkpoint: flat LLaMA config + mm_* fields, model.mm_projector.*,
   and the CLIP tower in its own directory (named by mm_vision_tower) */
static int llava__load_original(LlavaModel *m, const char *dir, llava__cfgr *r, const llava__jnode *root) {
    LlavaConfig *c = &m->cfg;
    llava__config_text(c, r, root, "");
    const char *pt = llava__cfg_str(r, root, "", "mm_projector_type", "linear");
    if (!strcmp(pt, "linear")) c->proj_layers = 1;
    else if (sscanf(pt, "mlp%dx_gelu", &c->proj_layers) != 1 && r->rc == LLAVA_OK)
        r->rc = llava__err("%s: mm_projector_type \"%s\" is not supported (linear, mlp2x_gelu)", r->file, pt);
    c->proj_bias = 1;
    c->proj_act = LLAVA_ACT_GELU;
    c->vision_feature_layer = llava__cfg_int(r, root, "", "mm_vision_select_layer", -2);
    const char *sf = llava__cfg_str(r, root, "", "mm_vision_select_feature", "patch");
    if (!strcmp(sf, "patch")) c->vision_select_full = 0;
    else if (!strcmp(sf, "cls_patch")) c->vision_select_full = 1;
    else if (r->rc == LLAVA_OK) r->rc = llava__err("%s: mm_vision_select_feature \"%s\" is not supported (patch, cls_patch)", r->file, sf);
    c->image_token_id = -200; /* IMAGE_TOKEN_INDEX of the original code */
    c->image_token_expands = 1;
    const char *tower = llava__cfg_str(r, root, "", "mm_vision_tower", llava__cfg_str(r, root, "", "vision_tower", ""));
    const char *aspect = llava__cfg_str(r, root, "", "image_aspect_ratio", "");
    int pad = !strcmp(aspect, "pad");
    if (r->rc != LLAVA_OK) return r->rc;
    /* the tower: inside the checkpoint (when it was trained), else its directory */
    static const char *const inside[] = {"model.vision_tower.vision_tower.vision_model."};
    const char *vp = llava__probe(&m->files, inside, 1, "embeddings.patch_embedding.weight");
    char *vdir = NULL;
    {
        const char *base = strrchr(tower, '/');
        char *cand[3] = {NULL, NULL, NULL};
        int k;
        if (tower[0] == '/') cand[0] = llava__strdup(tower);
        cand[1] = llava__path_join(dir, tower);
        cand[2] = llava__path_join(dir, base ? base + 1 : tower);
        for (k = 0; k < 3; k++) {
            char *cfg = cand[k] && tower[0] ? llava__path_join(cand[k], "config.json") : NULL;
            if (!vdir && cfg && llava__exists(cfg)) {
                vdir = cand[k];
                cand[k] = NULL;
            }
            LLAVA_FREE(cfg);
            LLAVA_FREE(cand[k]);
        }
    }
    if (!vdir) return llava__err("%s: the vision tower \"%s\" (mm_vision_tower) is not a directory with config.json, "
                                 "looked for it as given and inside %s", r->file, tower, dir);
    /* the tower's own config: a CLIPVisionConfig, or a CLIPConfig with vision_config inside */
    char *vcfg = llava__path_join(vdir, "config.json");
    size_t n;
    char *text = vcfg ? llava__read_text(vcfg, 1 << 24, &n) : NULL;
    llava__json j;
    int rc = text ? llava__json_parse(&j, text, n, vcfg) : LLAVA_ERR;
    if (rc == LLAVA_OK) {
        llava__cfgr vr = {&j, vcfg, LLAVA_OK};
        const llava__jnode *vroot = &j.nodes[0], *sub = llava__cfg_get(&vr, vroot, "vision_config");
        llava__config_vision(c, &vr, sub ? sub : vroot, sub ? "vision_config." : "", 0);
        rc = vr.rc;
    }
    if (text) llava__json_free(&j);
    LLAVA_FREE(text);
    LLAVA_FREE(vcfg);
    if (rc == LLAVA_OK) {
        char *pre = llava__path_join(dir, "preprocessor_config.json");
        if (pre && !llava__exists(pre)) {
            LLAVA_FREE(pre);
            pre = llava__path_join(vdir, "preprocessor_config.json");
        }
        rc = pre ? llava__config_preprocessor(c, pre) : llava__err("out of memory");
        LLAVA_FREE(pre);
        c->pre_pad = pad;
        c->pre_alpha_white = 0; /* the original code's .convert("RGB") drops alpha */
    }
    if (rc == LLAVA_OK) rc = llava__config_check(c, r->file);
    if (rc == LLAVA_OK && !vp) {
        rc = llava__tensors_load_dir(&m->vfiles, vdir);
        static const char *const vps[] = {"vision_model.", "vision_tower.vision_model."};
        if (rc == LLAVA_OK && !(vp = llava__probe(&m->vfiles, vps, 2, "embeddings.patch_embedding.weight")))
            rc = llava__err("%s: no CLIP vision weights (vision_model.embeddings.patch_embedding.weight)", vdir);
        if (rc == LLAVA_OK) rc = llava__load_vision(m, &m->vfiles, vp);
    } else if (rc == LLAVA_OK) {
        rc = llava__load_vision(m, &m->files, vp);
    }
    LLAVA_FREE(vdir);
    if (rc == LLAVA_OK) rc = llava__load_projector(m, &m->files, "model.mm_projector.", 1);
    if (rc == LLAVA_OK) rc = llava__load_text(m, &m->files, "model.");
    return rc;
}

/* a llava-hf checkpoint (LlavaForConditionalGeneration.save_pretrained), any transformers version */
static int llava__load_hf(LlavaModel *m, const char *dir, llava__cfgr *r, const llava__jnode *root) {
    LlavaConfig *c = &m->cfg;
    const llava__jnode *tc = llava__cfg_get(r, root, "text_config"), *vc = llava__cfg_get(r, root, "vision_config");
    c->text_tied = llava__cfg_int(r, root, "", "tie_word_embeddings", 0);
    if (tc) llava__config_text(c, r, tc, "text_config.");
    else llava__config_text(c, r, NULL, "text_config.");
    llava__config_vision(c, r, vc, "vision_config.", vc == NULL);
    c->image_token_id = llava__cfg_int(r, root, "", "image_token_index", llava__cfg_int(r, root, "", "image_token_id", 32000));
    c->image_token_expands = 0;
    const llava__jnode *fl = llava__cfg_get(r, root, "vision_feature_layer");
    if (fl && fl->type == LLAVA__JARR) {
        if (r->rc == LLAVA_OK) r->rc = llava__err("%s: a list of vision_feature_layer values is not supported; give one index", r->file);
    } else {
        c->vision_feature_layer = llava__cfg_int(r, root, "", "vision_feature_layer", -2);
    }
    const char *st = llava__cfg_str(r, root, "", "vision_feature_select_strategy", "default");
    if (!strcmp(st, "default")) c->vision_select_full = 0;
    else if (!strcmp(st, "full")) c->vision_select_full = 1;
    else if (r->rc == LLAVA_OK) r->rc = llava__err("%s: vision_feature_select_strategy \"%s\" is not supported (default, full)", r->file, st);
    c->proj_layers = 2;
    c->proj_act = llava__cfg_act(r, root, "", "projector_hidden_act", "gelu");
    c->proj_bias = llava__cfg_int(r, root, "", "multimodal_projector_bias", 1);
    if (r->rc != LLAVA_OK) return r->rc;
    char *pre = llava__path_join(dir, "preprocessor_config.json");
    int rc = pre ? llava__config_preprocessor(c, pre) : llava__err("out of memory");
    LLAVA_FREE(pre);
    if (rc != LLAVA_OK || (rc = llava__config_check(c, r->file)) != LLAVA_OK) return rc;
    if ((rc = llava__tensors_load_dir(&m->files, dir)) != LLAVA_OK) return rc;
    static const char *const tps[] = {"language_model.model.", "model.language_model.", "language_model.", "model."};
    static const char *const vps[] = {"vision_tower.vision_model.", "vision_tower.", "model.vision_tower.vision_model.", "model.vision_tower."};
    static const char *const pps[] = {"multi_modal_projector.", "model.multi_modal_projector."};
    const char *tp = llava__probe(&m->files, tps, 4, "embed_tokens.weight");
    const char *vp = llava__probe(&m->files, vps, 4, "embeddings.patch_embedding.weight");
    const char *pp = llava__probe(&m->files, pps, 2, "linear_1.weight");
    if (!tp) return llava__err("%s: no language model weights (looked for language_model.model.embed_tokens.weight and the other layouts)", dir);
    if (!vp) return llava__err("%s: no vision tower weights (looked for vision_tower.vision_model.embeddings.patch_embedding.weight and the other layouts)", dir);
    if (!pp) return llava__err("%s: no projector weights (looked for multi_modal_projector.linear_1.weight)", dir);
    if ((rc = llava__load_vision(m, &m->files, vp)) != LLAVA_OK) return rc;
    if ((rc = llava__load_projector(m, &m->files, pp, 0)) != LLAVA_OK) return rc;
    return llava__load_text(m, &m->files, tp);
}

LLAVADEF LlavaModel *llava_model_load(const char *dir) {
    LlavaModel *m = (LlavaModel *)llava__calloc(1, sizeof *m);
    if (!m) {
        llava__err("out of memory");
        return NULL;
    }
    m->be = &llava__cpu_backend;
    m->dir = llava__strdup(dir);
    char *path = llava__path_join(dir, "config.json");
    size_t n = 0;
    char *text = path ? llava__read_text(path, 1 << 24, &n) : NULL;
    llava__json j;
    int rc = text ? llava__json_parse(&j, text, n, path) : LLAVA_ERR;
    if (rc == LLAVA_OK && j.nodes[0].type != LLAVA__JOBJ) rc = llava__err("%s: not a JSON object", path);
    if (rc == LLAVA_OK) {
        llava__cfgr r = {&j, path, LLAVA_OK};
        const llava__jnode *root = &j.nodes[0];
        const char *type = llava__cfg_str(&r, root, "", "model_type", "");
        int original = llava__cfg_get(&r, root, "mm_vision_tower") || llava__cfg_get(&r, root, "mm_projector_type") ||
                       !strcmp(type, "llava_llama") || !strcmp(type, "llava_mistral");
        if (original) {
            rc = llava__tensors_load_dir(&m->files, dir);
            if (rc == LLAVA_OK) rc = llava__load_original(m, dir, &r, root);
        } else if (strcmp(type, "llava") && r.rc == LLAVA_OK) {
            rc = llava__err("%s: model_type \"%s\" is not a LLaVA model (llava, or the original repository's llava_llama)", path, type);
        } else {
            rc = llava__load_hf(m, dir, &r, root);
        }
    }
    if (text) llava__json_free(&j);
    LLAVA_FREE(text);
    LLAVA_FREE(path);
    if (rc != LLAVA_OK) {
        llava_model_free(m);
        return NULL;
    }
    return m;
}

LLAVADEF const LlavaConfig *llava_model_config(const LlavaModel *m) { return &m->cfg; }

LLAVADEF int llava_image_tokens(const LlavaModel *m) {
    int G = m->cfg.vision_image_size / m->cfg.vision_patch_size;
    return G * G + (m->cfg.vision_select_full ? 1 : 0);
}

/* --- vision encoder.  transformers: CLIPVisionTransformer, hidden_states[vision_feature_layer] --- */
/* pixels [3,S,S] -> out [Psel, D], the selected rows of the feature layer's hidden state */
static int llava__vision_forward(LlavaModel *m, const float *pixels, float *out) {
    const LlavaConfig *c = &m->cfg;
    const LlavaBackend *be = m->be;
    const int S = c->vision_image_size, ps = c->vision_patch_size, G = S / ps, P = G * G, N = P + 1;
    const int D = c->vision_hidden, Iv = c->vision_intermediate, K = 3 * ps * ps, Hv = c->vision_heads, Dh = D / Hv;
    size_t sz = (size_t)P * K + (size_t)N * D * 6 + (size_t)N * Iv;
    float *buf = (float *)llava__alloc_aligned(sz * sizeof(float));
    if (!buf) return llava__err("out of memory encoding an image (%zu MB)", sz * 4 >> 20);
    float *patches = buf;                  /* [P, 3*ps*ps] */
    float *x = patches + (size_t)P * K;    /* [N, D] residual stream */
    float *h = x + (size_t)N * D;          /* [N, D] */
    float *q = h + (size_t)N * D, *k = q + (size_t)N * D, *v = k + (size_t)N * D; /* [N, D] */
    float *att = v + (size_t)N * D;        /* [N, D] */
    float *f = att + (size_t)N * D;        /* [N, Iv] */
    int gy, gx, ch, ky, i, l;
    /* patch_embedding (Conv2d, stride = kernel = ps, no bias) as a matmul over flattened patches */
    for (gy = 0; gy < G; gy++)
        for (gx = 0; gx < G; gx++)
            for (ch = 0; ch < 3; ch++)
                for (ky = 0; ky < ps; ky++)
                    memcpy(patches + (size_t)(gy * G + gx) * K + (size_t)ch * ps * ps + (size_t)ky * ps,
                           pixels + (size_t)ch * S * S + (size_t)(gy * ps + ky) * S + (size_t)gx * ps, (size_t)ps * sizeof(float));
    be->matmul(h, patches, &m->patch, NULL, P, K, D);
    /* [CLS; patches] + position_embedding */
    for (i = 0; i < D; i++) x[i] = m->class_emb[i] + m->pos_emb[i];
    for (l = 0; l < P; l++)
        for (i = 0; i < D; i++) x[(size_t)(l + 1) * D + i] = h[(size_t)l * D + i] + m->pos_emb[(size_t)(l + 1) * D + i];
    be->layernorm(x, NULL, NULL, x, m->pre_ln_w, m->pre_ln_b, N, D, c->vision_ln_eps); /* pre_layrnorm: hidden_states[0] */
    for (l = 0; l < m->vision_run; l++) {
        const llava__vlayer *L = &m->vl[l];
        /* x = x + out_proj(attn(layer_norm1(x))) */
        be->layernorm(h, NULL, NULL, x, L->ln1_w, L->ln1_b, N, D, c->vision_ln_eps);
        be->matmul(q, h, &L->q, L->qb, N, D, D);
        be->matmul(k, h, &L->k, L->kb, N, D, D);
        be->matmul(v, h, &L->v, L->vb, N, D, D);
        be->attention(att, NULL, q, k, v, N, N, 0, Hv, Hv, Dh, 0);
        be->matmul(h, att, &L->o, L->ob, N, D, D);
        llava__add(x, h, (size_t)N * D);
        /* x = x + fc2(act(fc1(layer_norm2(x)))) */
        be->layernorm(h, NULL, NULL, x, L->ln2_w, L->ln2_b, N, D, c->vision_ln_eps);
        be->matmul(f, h, &L->fc1, L->fc1b, N, D, Iv);
        be->act(f, (size_t)N * Iv, c->vision_act);
        be->matmul(h, f, &L->fc2, L->fc2b, N, Iv, D);
        llava__add(x, h, (size_t)N * D);
    }
    /* "default" drops the CLS row: hidden_states[layer][:, 1:] */
    if (c->vision_select_full) memcpy(out, x, (size_t)N * D * sizeof(float));
    else memcpy(out, x + D, (size_t)P * D * sizeof(float));
    llava__free_aligned(buf);
    return LLAVA_OK;
}

/* --- projector.  transformers: LlavaMultiModalProjector (linear_1, act, linear_2) --------------- */
/* feat [n, D] -> out [n, C] */
static int llava__project(LlavaModel *m, const float *feat, int n, float *out) {
    const LlavaConfig *c = &m->cfg;
    const int C = c->text_hidden;
    float *tmp = (float *)llava__alloc_aligned((size_t)n * C * sizeof(float));
    int i;
    if (!tmp) return llava__err("out of memory");
    const float *in = feat;
    for (i = 0; i < c->proj_layers; i++) {
        float *dst = ((c->proj_layers - 1 - i) % 2 == 0) ? out : tmp; /* the last layer lands in out */
        m->be->matmul(dst, in, &m->proj[i], m->proj_b[i], n, i == 0 ? c->vision_hidden : C, C);
        if (i < c->proj_layers - 1) m->be->act(dst, (size_t)n * C, c->proj_act);
        in = dst;
    }
    llava__free_aligned(tmp);
    return LLAVA_OK;
}

LLAVADEF int llava_encode_image(LlavaModel *m, const float *pixels, float *features) {
    const LlavaConfig *c = &m->cfg;
    int n = llava_image_tokens(m);
    float *feat = (float *)llava__alloc_aligned((size_t)n * c->vision_hidden * sizeof(float));
    if (!feat) return llava__err("out of memory");
    int rc = llava__vision_forward(m, pixels, feat);
    if (rc == LLAVA_OK) rc = llava__project(m, feat, n, features);
    llava__free_aligned(feat);
    return rc;
}

/* --- decoder.  transformers: LlamaModel.forward + lm_head ---------------------------------------- */
/* x [T, C]: embeddings of the next T positions (overwritten). Appends their keys and values to the
   cache, writes logits for every position to all_logits [T, V] if given, the last to c->logits. */
static int llava__text_forward(LlavaContext *ctx, float *x, int T, float *all_logits) {
    LlavaModel *m = ctx->m;
    const LlavaConfig *c = &m->cfg;
    const LlavaBackend *be = m->be;
    const int C = c->text_hidden, H = c->text_heads, KVH = c->text_kv_heads, Dh = c->text_head_dim, I = c->text_intermediate;
    const int V = c->text_vocab, pos0 = ctx->n_past, KD = KVH * Dh;
    size_t sz = (size_t)T * C + (size_t)T * H * Dh * 2 + (size_t)T * I * 2;
    float *buf = (float *)llava__alloc_aligned(sz * sizeof(float));
    if (!buf) return llava__err("out of memory running %d positions", T);
    float *h = buf;                        /* [T, C] */
    float *q = h + (size_t)T * C;          /* [T, H*Dh] */
    float *att = q + (size_t)T * H * Dh;   /* [T, H*Dh] */
    float *g = att + (size_t)T * H * Dh;   /* [T, I] */
    float *u = g + (size_t)T * I;          /* [T, I] */
    int l;
    for (l = 0; l < c->text_layers; l++) {
        const llava__tlayer *L = &m->tl[l];
        float *kc = ctx->kcache + (size_t)l * ctx->n_ctx * KD, *vc = ctx->vcache + (size_t)l * ctx->n_ctx * KD;
        /* x = x + o_proj(attn(rope(q), rope(k), v)), q/k/v from input_layernorm(x) */
        be->rmsnorm(h, NULL, x, L->in_norm, T, C, c->text_rms_eps);
        be->matmul(q, h, &L->q, L->qb, T, C, H * Dh);
        be->matmul(kc + (size_t)pos0 * KD, h, &L->k, L->kb, T, C, KD);
        be->matmul(vc + (size_t)pos0 * KD, h, &L->v, L->vb, T, C, KD);
        be->rope(q, m->inv_freq, pos0, T, H, Dh);
        be->rope(kc + (size_t)pos0 * KD, m->inv_freq, pos0, T, KVH, Dh);
        be->attention(att, NULL, q, kc, vc, T, pos0 + T, pos0, H, KVH, Dh, 1);
        be->matmul(h, att, &L->o, L->ob, T, H * Dh, C);
        llava__add(x, h, (size_t)T * C);
        /* x = x + down_proj(act(gate_proj(h)) * up_proj(h)), h = post_attention_layernorm(x) */
        be->rmsnorm(h, NULL, x, L->post_norm, T, C, c->text_rms_eps);
        be->matmul(g, h, &L->gate, L->gate_b, T, C, I);
        be->matmul(u, h, &L->up, L->up_b, T, C, I);
        be->glu(g, g, u, (size_t)T * I, c->text_act);
        be->matmul(h, g, &L->down, L->down_b, T, I, C);
        llava__add(x, h, (size_t)T * C);
    }
    be->rmsnorm(x, NULL, x, m->norm, T, C, c->text_rms_eps);
    if (all_logits) {
        be->matmul(all_logits, x, &m->head, NULL, T, C, V);
        memcpy(ctx->logits, all_logits + (size_t)(T - 1) * V, (size_t)V * sizeof(float));
    } else {
        be->matmul(ctx->logits, x + (size_t)(T - 1) * C, &m->head, NULL, 1, C, V);
    }
    ctx->n_past += T;
    llava__free_aligned(buf);
    return LLAVA_OK;
}

/* ------------------------------------------------------------------------------------------------
   8. Splicing image features into the text sequence
   ------------------------------------------------------------------------------------------------ */
LLAVADEF int llava_expanded_length(const LlavaModel *m, const int *ids, int n_ids) {
    const LlavaConfig *c = &m->cfg;
    int i, n = 0, ph = 0;
    if (n_ids < 0 || (n_ids > 0 && !ids)) return llava__err("no token ids given");
    for (i = 0; i < n_ids; i++) {
        if (ids[i] == c->image_token_id) ph++;
        else if (ids[i] < 0 || ids[i] >= c->text_vocab)
            return llava__err("token id %d at position %d is outside the vocabulary (0..%d)", ids[i], i, c->text_vocab - 1);
    }
    n = c->image_token_expands ? n_ids - ph + ph * llava_image_tokens(m) : n_ids;
    return n;
}

LLAVADEF LlavaContext *llava_context_new(LlavaModel *m, int n_ctx) {
    const LlavaConfig *c = &m->cfg;
    if (n_ctx <= 0) n_ctx = c->text_max_pos;
    if (n_ctx > LLAVA__LIMIT_DIM) {
        llava__err("context of %d positions is too large", n_ctx);
        return NULL;
    }
    LlavaContext *ctx = (LlavaContext *)llava__calloc(1, sizeof *ctx);
    size_t kv = (size_t)c->text_layers * (size_t)n_ctx * (size_t)c->text_kv_heads * (size_t)c->text_head_dim;
    if (ctx) {
        ctx->m = m;
        ctx->n_ctx = n_ctx;
        ctx->kcache = (float *)llava__alloc_aligned(kv * sizeof(float));
        ctx->vcache = (float *)llava__alloc_aligned(kv * sizeof(float));
        ctx->logits = (float *)llava__alloc_aligned((size_t)c->text_vocab * sizeof(float));
    }
    if (!ctx || !ctx->kcache || !ctx->vcache || !ctx->logits) {
        llava__err("out of memory for a context of %d positions (%zu MB of KV cache)", n_ctx, kv * 8 >> 20);
        llava_context_free(ctx);
        return NULL;
    }
    memset(ctx->logits, 0, (size_t)c->text_vocab * sizeof(float));
    return ctx;
}

LLAVADEF void llava_context_free(LlavaContext *c) {
    if (!c) return;
    llava__free_aligned(c->kcache);
    llava__free_aligned(c->vcache);
    llava__free_aligned(c->logits);
    LLAVA_FREE(c);
}
LLAVADEF void llava_context_reset(LlavaContext *c) { c->n_past = 0; }
LLAVADEF int llava_context_used(const LlavaContext *c) { return c->n_past; }
LLAVADEF int llava_context_size(const LlavaContext *c) { return c->n_ctx; }
LLAVADEF const float *llava_logits(const LlavaContext *c) { return c->logits; }

LLAVADEF int llava_eval(LlavaContext *ctx, const int *ids, int n_ids, const float *pixels, int n_images, float *all_logits) {
    LlavaModel *m = ctx->m;
    const LlavaConfig *c = &m->cfg;
    const int C = c->text_hidden, P = llava_image_tokens(m);
    int i, ph = 0;
    if (n_ids <= 0 || !ids) return llava__err("empty prompt: no token ids given");
    if (n_images < 0 || (n_images > 0 && !pixels)) return llava__err("%d images announced but no pixels given", n_images);
    int T = llava_expanded_length(m, ids, n_ids);
    if (T < 0) return LLAVA_ERR;
    for (i = 0; i < n_ids; i++) ph += ids[i] == c->image_token_id;
    if (c->image_token_expands ? ph != n_images : ph != n_images * P) {
        if (c->image_token_expands)
            return llava__err("prompt has %d image placeholders (id %d) but %d image(s) were given", ph, c->image_token_id, n_images);
        return llava__err("prompt has %d image placeholder tokens (id %d) but %d image(s) give %d feature rows", ph,
                          c->image_token_id, n_images, n_images * P);
    }
    if (T > ctx->n_ctx - ctx->n_past)
        return llava__err("prompt of %d positions does not fit: the context holds %d and %d are used", T, ctx->n_ctx, ctx->n_past);
    float *x = (float *)llava__alloc_aligned((size_t)T * C * sizeof(float));
    float *feat = n_images ? (float *)llava__alloc_aligned((size_t)n_images * P * C * sizeof(float)) : NULL;
    int rc = LLAVA_OK;
    if (!x || (n_images && !feat)) rc = llava__err("out of memory for a prompt of %d positions", T);
    const size_t npix = (size_t)3 * c->vision_image_size * c->vision_image_size;
    for (i = 0; i < n_images && rc == LLAVA_OK; i++) rc = llava_encode_image(m, pixels + (size_t)i * npix, feat + (size_t)i * P * C);
    if (rc == LLAVA_OK) {
        /* embed_tokens for text, the image's projected features (in order) for placeholders */
        int t = 0, f = 0;
        for (i = 0; i < n_ids; i++) {
            if (ids[i] == c->image_token_id) {
                int rows = c->image_token_expands ? P : 1;
                memcpy(x + (size_t)t * C, feat + (size_t)f * C, (size_t)rows * C * sizeof(float));
                t += rows;
                f += rows;
            } else {
                llava__w_row(x + (size_t)t * C, &m->embed, ids[i], 0, C);
                t++;
            }
        }
        rc = llava__text_forward(ctx, x, T, all_logits);
    }
    llava__free_aligned(x);
    llava__free_aligned(feat);
    return rc == LLAVA_OK ? T : LLAVA_ERR;
}

LLAVADEF const float *llava_prompt(LlavaContext *c, const int *ids, int n_ids, const float *pixels, int n_images) {
    llava_context_reset(c);
    return llava_eval(c, ids, n_ids, pixels, n_images, NULL) < 0 ? NULL : c->logits;
}

LLAVADEF const float *llava_step(LlavaContext *c, int token) {
    if (token == c->m->cfg.image_token_id) {
        llava__err("llava_step: token %d is the image placeholder", token);
        return NULL;
    }
    if (c->n_past >= c->n_ctx) {
        llava__err("context full: all %d positions are used", c->n_ctx);
        return NULL;
    }
    return llava_eval(c, &token, 1, NULL, 0, NULL) < 0 ? NULL : c->logits;
}

/* ------------------------------------------------------------------------------------------------
   9. Training: parameters and their gradients, forward passes that keep activations, backward passes,
      the loss, AdamW with warmup + cosine and clipping, checkpoints in Hugging Face's layout.

   Every sample of a batch runs on its own (the batch is right-padded in transformers, and with a
   causal mask the padding never reaches a real position, so this is the same computation); gradients
   of the summed token losses accumulate over samples and micro-batches and are divided by the total
   number of supervised tokens at the update: the loss transformers computes for the whole batch.
   Trainable parameters become f32 copies in one allocation; frozen ones stay as loaded (memory-mapped,
   in their stored dtype), get no gradient or optimizer memory, and are never written.
   ------------------------------------------------------------------------------------------------ */

/* gradients, shaped like the model: a llava__w's data (f32) or a vector is NULL where frozen */
typedef struct {
    llava__w patch;
    float *class_emb, *pos_emb, *pre_ln_w, *pre_ln_b;
    llava__vlayer *vl;
    llava__w proj[LLAVA_MAX_PROJ_LAYERS];
    float *proj_b[LLAVA_MAX_PROJ_LAYERS];
    llava__w embed;
    llava__tlayer *tl;
    float *norm;
    llava__w head;
} llava__gradset;

/* one parameter as the walk over the model sees it */
typedef struct {
    char name[128];
    int ndim;
    int64_t shape[4];
    size_t n;
    llava__w *w;     /* the model's matrix slot, or NULL ... */
    float **vec;     /* ... its vector slot */
    llava__w *gw;    /* the gradient's slots (NULL without a gradset) */
    float **gvec;
    int kind;        /* 0 vision, 1 projector, 2 language model */
} llava__pinfo;

typedef void (*llava__pfn)(void *ctx, llava__pinfo *p);

static void llava__p_w(llava__pfn fn, void *ctx, int kind, llava__w *w, llava__w *gw, int ndim, const int64_t *shape, const char *fmt, ...) {
    llava__pinfo p;
    va_list ap;
    int i;
    memset(&p, 0, sizeof p);
    va_start(ap, fmt);
    vsnprintf(p.name, sizeof p.name, fmt, ap);
    va_end(ap);
    p.ndim = ndim;
    p.n = 1;
    for (i = 0; i < ndim; i++) p.shape[i] = shape[i], p.n *= (size_t)shape[i];
    p.w = w;
    p.gw = gw;
    p.kind = kind;
    fn(ctx, &p);
}
static void llava__p_v(llava__pfn fn, void *ctx, int kind, float **v, float **gv, int64_t n0, int64_t n1, const char *fmt, ...) {
    llava__pinfo p;
    va_list ap;
    memset(&p, 0, sizeof p);
    va_start(ap, fmt);
    vsnprintf(p.name, sizeof p.name, fmt, ap);
    va_end(ap);
    p.ndim = n1 ? 2 : 1;
    p.shape[0] = n0;
    p.shape[1] = n1;
    p.n = (size_t)n0 * (size_t)(n1 ? n1 : 1);
    p.vec = v;
    p.gvec = gv;
    p.kind = kind;
    fn(ctx, &p);
}

/* calls fn for every parameter the model uses, in a fixed order, named by its transformers 4.x
   safetensors key (the head is skipped when tied to the embeddings) */
static void llava__walk(LlavaModel *m, llava__gradset *g, llava__pfn fn, void *ctx) {
    const LlavaConfig *c = &m->cfg;
    const int64_t D = c->vision_hidden, Iv = c->vision_intermediate, ps = c->vision_patch_size, G = c->vision_image_size / ps;
    const int64_t C = c->text_hidden, H = c->text_heads, KVH = c->text_kv_heads, Dh = c->text_head_dim, I = c->text_intermediate,
                  V = c->text_vocab;
    const char *vp = "vision_tower.vision_model.", *tp = "language_model.model.";
    int l, i;
#define LLAVA__GW(field) (g ? &g->field : NULL)
#define LLAVA__GV(field) (g ? &g->field : NULL)
    {
        int64_t sh[4] = {D, 3, ps, ps};
        llava__p_w(fn, ctx, 0, &m->patch, LLAVA__GW(patch), 4, sh, "%sembeddings.patch_embedding.weight", vp);
    }
    llava__p_v(fn, ctx, 0, &m->class_emb, LLAVA__GV(class_emb), D, 0, "%sembeddings.class_embedding", vp);
    llava__p_v(fn, ctx, 0, &m->pos_emb, LLAVA__GV(pos_emb), G * G + 1, D, "%sembeddings.position_embedding.weight", vp);
    llava__p_v(fn, ctx, 0, &m->pre_ln_w, LLAVA__GV(pre_ln_w), D, 0, "%spre_layrnorm.weight", vp);
    llava__p_v(fn, ctx, 0, &m->pre_ln_b, LLAVA__GV(pre_ln_b), D, 0, "%spre_layrnorm.bias", vp);
    for (l = 0; l < m->vision_run; l++) {
        llava__vlayer *L = &m->vl[l], *GL = g ? &g->vl[l] : NULL;
        const int64_t dd[2] = {D, D}, fc1[2] = {Iv, D}, fc2[2] = {D, Iv};
        static const char *const nm[4] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        llava__w *ws[4] = {&L->q, &L->k, &L->v, &L->o}, *gws[4] = {GL ? &GL->q : NULL, GL ? &GL->k : NULL, GL ? &GL->v : NULL, GL ? &GL->o : NULL};
        float **bs[4] = {&L->qb, &L->kb, &L->vb, &L->ob}, **gbs[4] = {GL ? &GL->qb : NULL, GL ? &GL->kb : NULL, GL ? &GL->vb : NULL, GL ? &GL->ob : NULL};
        for (i = 0; i < 4; i++) {
            llava__p_w(fn, ctx, 0, ws[i], gws[i], 2, dd, "%sencoder.layers.%d.self_attn.%s.weight", vp, l, nm[i]);
            llava__p_v(fn, ctx, 0, bs[i], gbs[i], D, 0, "%sencoder.layers.%d.self_attn.%s.bias", vp, l, nm[i]);
        }
        llava__p_v(fn, ctx, 0, &L->ln1_w, GL ? &GL->ln1_w : NULL, D, 0, "%sencoder.layers.%d.layer_norm1.weight", vp, l);
        llava__p_v(fn, ctx, 0, &L->ln1_b, GL ? &GL->ln1_b : NULL, D, 0, "%sencoder.layers.%d.layer_norm1.bias", vp, l);
        llava__p_w(fn, ctx, 0, &L->fc1, GL ? &GL->fc1 : NULL, 2, fc1, "%sencoder.layers.%d.mlp.fc1.weight", vp, l);
        llava__p_v(fn, ctx, 0, &L->fc1b, GL ? &GL->fc1b : NULL, Iv, 0, "%sencoder.layers.%d.mlp.fc1.bias", vp, l);
        llava__p_w(fn, ctx, 0, &L->fc2, GL ? &GL->fc2 : NULL, 2, fc2, "%sencoder.layers.%d.mlp.fc2.weight", vp, l);
        llava__p_v(fn, ctx, 0, &L->fc2b, GL ? &GL->fc2b : NULL, D, 0, "%sencoder.layers.%d.mlp.fc2.bias", vp, l);
        llava__p_v(fn, ctx, 0, &L->ln2_w, GL ? &GL->ln2_w : NULL, D, 0, "%sencoder.layers.%d.layer_norm2.weight", vp, l);
        llava__p_v(fn, ctx, 0, &L->ln2_b, GL ? &GL->ln2_b : NULL, D, 0, "%sencoder.layers.%d.layer_norm2.bias", vp, l);
    }
    for (i = 0; i < c->proj_layers; i++) {
        const int64_t sh[2] = {C, i == 0 ? D : C};
        llava__p_w(fn, ctx, 1, &m->proj[i], LLAVA__GW(proj[i]), 2, sh, "multi_modal_projector.linear_%d.weight", i + 1);
        if (c->proj_bias) llava__p_v(fn, ctx, 1, &m->proj_b[i], LLAVA__GV(proj_b[i]), C, 0, "multi_modal_projector.linear_%d.bias", i + 1);
    }
    {
        const int64_t sh[2] = {V, C};
        llava__p_w(fn, ctx, 2, &m->embed, LLAVA__GW(embed), 2, sh, "%sembed_tokens.weight", tp);
    }
    for (l = 0; l < c->text_layers; l++) {
        llava__tlayer *L = &m->tl[l], *GL = g ? &g->tl[l] : NULL;
        const int64_t q[2] = {H * Dh, C}, kv[2] = {KVH * Dh, C}, o[2] = {C, H * Dh}, up[2] = {I, C}, down[2] = {C, I};
        llava__p_v(fn, ctx, 2, &L->in_norm, GL ? &GL->in_norm : NULL, C, 0, "%slayers.%d.input_layernorm.weight", tp, l);
        llava__p_w(fn, ctx, 2, &L->q, GL ? &GL->q : NULL, 2, q, "%slayers.%d.self_attn.q_proj.weight", tp, l);
        llava__p_w(fn, ctx, 2, &L->k, GL ? &GL->k : NULL, 2, kv, "%slayers.%d.self_attn.k_proj.weight", tp, l);
        llava__p_w(fn, ctx, 2, &L->v, GL ? &GL->v : NULL, 2, kv, "%slayers.%d.self_attn.v_proj.weight", tp, l);
        llava__p_w(fn, ctx, 2, &L->o, GL ? &GL->o : NULL, 2, o, "%slayers.%d.self_attn.o_proj.weight", tp, l);
        if (L->qb) llava__p_v(fn, ctx, 2, &L->qb, GL ? &GL->qb : NULL, H * Dh, 0, "%slayers.%d.self_attn.q_proj.bias", tp, l);
        if (L->kb) llava__p_v(fn, ctx, 2, &L->kb, GL ? &GL->kb : NULL, KVH * Dh, 0, "%slayers.%d.self_attn.k_proj.bias", tp, l);
        if (L->vb) llava__p_v(fn, ctx, 2, &L->vb, GL ? &GL->vb : NULL, KVH * Dh, 0, "%slayers.%d.self_attn.v_proj.bias", tp, l);
        if (L->ob) llava__p_v(fn, ctx, 2, &L->ob, GL ? &GL->ob : NULL, C, 0, "%slayers.%d.self_attn.o_proj.bias", tp, l);
        llava__p_v(fn, ctx, 2, &L->post_norm, GL ? &GL->post_norm : NULL, C, 0, "%slayers.%d.post_attention_layernorm.weight", tp, l);
        llava__p_w(fn, ctx, 2, &L->gate, GL ? &GL->gate : NULL, 2, up, "%slayers.%d.mlp.gate_proj.weight", tp, l);
        llava__p_w(fn, ctx, 2, &L->up, GL ? &GL->up : NULL, 2, up, "%slayers.%d.mlp.up_proj.weight", tp, l);
        llava__p_w(fn, ctx, 2, &L->down, GL ? &GL->down : NULL, 2, down, "%slayers.%d.mlp.down_proj.weight", tp, l);
        if (L->gate_b) llava__p_v(fn, ctx, 2, &L->gate_b, GL ? &GL->gate_b : NULL, I, 0, "%slayers.%d.mlp.gate_proj.bias", tp, l);
        if (L->up_b) llava__p_v(fn, ctx, 2, &L->up_b, GL ? &GL->up_b : NULL, I, 0, "%slayers.%d.mlp.up_proj.bias", tp, l);
        if (L->down_b) llava__p_v(fn, ctx, 2, &L->down_b, GL ? &GL->down_b : NULL, C, 0, "%slayers.%d.mlp.down_proj.bias", tp, l);
    }
    llava__p_v(fn, ctx, 2, &m->norm, LLAVA__GV(norm), C, 0, "%snorm.weight", tp);
    if (!c->text_tied) {
        const int64_t sh[2] = {V, C};
        llava__p_w(fn, ctx, 2, &m->head, LLAVA__GW(head), 2, sh, "language_model.lm_head.weight");
    }
#undef LLAVA__GW
#undef LLAVA__GV
}

/* AdamW applies weight decay to matrices and embeddings, not to biases and norm weights
   (as transformers' Trainer: get_decay_parameter_names leaves out LayerNorm/RMSNorm and biases) */
static int llava__decays(const char *name) {
    size_t n = strlen(name);
    return !(strstr(name, "norm") || (n >= 5 && !strcmp(name + n - 5, ".bias")));
}

#define LLAVA__MAX_GROUPS 16
typedef struct {
    char prefix[96];
    float lr, wd;
} llava__group;

typedef struct {
    char name[128];
    float *data, *grad, *m, *v; /* f32 [n] (grad, m, v only when trainable) */
    size_t n;
    int group; /* -1: frozen */
    int decay;
} llava__tparam;

struct LlavaTrainer {
    LlavaModel *m;
    LlavaTrainOptions opt;
    llava__group groups[LLAVA__MAX_GROUPS];
    int n_groups;
    int ready;                  /* parameters materialized, gradients allocated */
    llava__gradset g;
    llava__tparam *p;
    int n_params;
    float *buf;                 /* one allocation: trainable weights, gradients, moments */
    int train_vision, train_proj, train_text_any, train_embed;
    int step;                   /* optimizer steps done */
    double acc_loss;            /* summed token losses since the last update */
    long acc_tokens;
};

LLAVADEF void llava_train_defaults(LlavaTrainOptions *o, int stage) {
    memset(o, 0, sizeof *o);
    o->stage = stage;
    /* LLaVA-1.5: stage 1 lr 1e-3, stage 2 lr 2e-5; no weight decay; warmup 3%, cosine; clip 1.0 */
    o->lr = stage == 1 ? 1e-3f : 2e-5f;
    o->weight_decay = 0.0f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->warmup_ratio = 0.03f;
    o->total_steps = 1000;
    o->max_grad_norm = 1.0f;
}

LLAVADEF LlavaTrainer *llava_trainer_new(LlavaModel *m, const LlavaTrainOptions *o) {
    LlavaTrainer *t = (LlavaTrainer *)llava__calloc(1, sizeof *t);
    if (!t) {
        llava__err("out of memory");
        return NULL;
    }
    t->m = m;
    t->opt = *o;
    if (o->total_steps <= 0 || !(o->lr >= 0.0f) || !(o->warmup_ratio >= 0.0f) || !(o->beta1 >= 0.0f && o->beta1 < 1.0f) ||
        !(o->beta2 >= 0.0f && o->beta2 < 1.0f) || !(o->eps > 0.0f) || o->stage < 0 || o->stage > 2) {
        llava__err("training options out of range (total_steps %d, lr %g, warmup_ratio %g, betas %g %g, eps %g, stage %d)",
                   o->total_steps, o->lr, o->warmup_ratio, o->beta1, o->beta2, o->eps, o->stage);
        LLAVA_FREE(t);
        return NULL;
    }
    if (o->stage >= 1) llava_trainer_add_group(t, "multi_modal_projector.", o->lr, o->weight_decay);
    if (o->stage == 2) llava_trainer_add_group(t, "language_model.", o->lr, o->weight_decay);
    return t;
}

LLAVADEF int llava_trainer_add_group(LlavaTrainer *t, const char *prefix, float lr, float wd) {
    if (t->ready) return llava__err("llava_trainer_add_group: training has started; add groups before the first step");
    if (t->n_groups == LLAVA__MAX_GROUPS) return llava__err("at most %d parameter groups", LLAVA__MAX_GROUPS);
    if (strlen(prefix) >= sizeof t->groups[0].prefix) return llava__err("group prefix too long: %s", prefix);
    snprintf(t->groups[t->n_groups].prefix, sizeof t->groups[0].prefix, "%s", prefix);
    t->groups[t->n_groups].lr = lr;
    t->groups[t->n_groups].wd = wd;
    t->n_groups++;
    return LLAVA_OK;
}

static int llava__group_of(const LlavaTrainer *t, const char *name) {
    int i, best = -1;
    size_t bl = 0;
    for (i = 0; i < t->n_groups; i++) {
        size_t l = strlen(t->groups[i].prefix);
        if (!strncmp(name, t->groups[i].prefix, l) && (best < 0 || l > bl)) best = i, bl = l;
    }
    return best;
}

typedef struct {
    LlavaTrainer *t;
    int pass; /* 0: count, 1: assign */
    size_t floats;
    int idx;
} llava__setup;

static void llava__setup_fn(void *ctx, llava__pinfo *p) {
    llava__setup *s = (llava__setup *)ctx;
    LlavaTrainer *t = s->t;
    const int grp = llava__group_of(t, p->name);
    if (s->pass == 0) {
        if (grp >= 0) s->floats += 4 * ((p->n + 15) & ~(size_t)15); /* data, grad, m, v; 64-byte aligned */
        s->idx++;
        return;
    }
    llava__tparam *tp = &t->p[s->idx++];
    snprintf(tp->name, sizeof tp->name, "%s", p->name);
    tp->n = p->n;
    tp->group = grp;
    tp->decay = llava__decays(p->name);
    if (grp < 0) { /* frozen: stays as loaded */
        tp->data = NULL;
        return;
    }
    const size_t np = (p->n + 15) & ~(size_t)15;
    float *base = t->buf + s->floats;
    s->floats += 4 * np;
    tp->data = base;
    tp->grad = base + np;
    tp->m = base + 2 * np;
    tp->v = base + 3 * np;
    /* the f32 master copy replaces the model's tensor */
    if (p->w) {
        llava__to_f32(tp->data, p->w->data, p->w->dtype, p->n);
        p->w->data = tp->data;
        p->w->dtype = LLAVA_F32;
        p->gw->data = tp->grad;
        p->gw->dtype = LLAVA_F32;
        p->gw->rows = p->w->rows;
        p->gw->cols = p->w->cols;
    } else {
        memcpy(tp->data, *p->vec, p->n * sizeof(float));
        *p->vec = tp->data;
        *p->gvec = tp->grad;
    }
    if (p->kind == 0) t->train_vision = 1;
    if (p->kind == 1) t->train_proj = 1;
    if (p->kind == 2) t->train_text_any = 1;
    if (strstr(p->name, "embed_tokens")) t->train_embed = 1;
}

static int llava__trainer_ready(LlavaTrainer *t) {
    LlavaModel *m = t->m;
    if (t->ready) return LLAVA_OK;
    if (t->n_groups == 0) return llava__err("nothing to train: no parameter group (stage 1 or 2, or llava_trainer_add_group)");
    t->g.vl = (llava__vlayer *)llava__calloc((size_t)LLAVA__MAX(m->vision_run, 1), sizeof *t->g.vl);
    t->g.tl = (llava__tlayer *)llava__calloc((size_t)m->cfg.text_layers, sizeof *t->g.tl);
    if (!t->g.vl || !t->g.tl) return llava__err("out of memory");
    llava__setup s;
    memset(&s, 0, sizeof s);
    s.t = t;
    llava__walk(m, &t->g, llava__setup_fn, &s);
    t->n_params = s.idx;
    if (s.floats == 0) return llava__err("nothing to train: no parameter matches the groups (e.g. \"%s\")", t->groups[0].prefix);
    t->p = (llava__tparam *)llava__calloc((size_t)t->n_params, sizeof *t->p);
    t->buf = (float *)llava__alloc_aligned(s.floats * sizeof(float));
    if (!t->p || !t->buf) return llava__err("out of memory for %zu MB of trainable parameters and optimizer state", s.floats * 4 >> 20);
    /* the model owns the buffer (its trainable tensors live there): it stays usable after the trainer */
    if (llava__own(m, t->buf) != LLAVA_OK) {
        t->buf = NULL;
        return LLAVA_ERR;
    }
    memset(t->buf, 0, s.floats * sizeof(float));
    s.pass = 1;
    s.idx = 0;
    s.floats = 0;
    llava__walk(m, &t->g, llava__setup_fn, &s);
    if (m->cfg.text_tied) { /* the head is the embedding matrix: same data, same gradient */
        m->head = m->embed;
        t->g.head = t->g.embed;
    }
    t->ready = 1;
    return LLAVA_OK;
}

LLAVADEF void llava_trainer_free(LlavaTrainer *t) {
    if (!t) return;
    LLAVA_FREE(t->g.vl);
    LLAVA_FREE(t->g.tl);
    LLAVA_FREE(t->p);
    LLAVA_FREE(t); /* (t->buf belongs to the model) */
}

LLAVADEF int llava_trainer_n_params(const LlavaTrainer *t) { return t->n_params; }
LLAVADEF int llava_trainer_steps_done(const LlavaTrainer *t) { return t->step; }

typedef struct {
    int want, idx;
    llava__pinfo info;
    int found;
} llava__pfind;
static void llava__pfind_fn(void *ctx, llava__pinfo *p) {
    llava__pfind *f = (llava__pfind *)ctx;
    if (f->idx++ == f->want) f->info = *p, f->found = 1;
}

LLAVADEF const char *llava_trainer_param(const LlavaTrainer *t, int i, const float **data, const float **grad, size_t *n) {
    if (data) *data = NULL;
    if (grad) *grad = NULL;
    if (n) *n = 0;
    if (!t->ready || i < 0 || i >= t->n_params) return NULL;
    const llava__tparam *p = &t->p[i];
    if (data) {
        *data = p->data;
        if (!p->data) { /* frozen: its loaded tensor, f32 only */
            llava__pfind f;
            memset(&f, 0, sizeof f);
            f.want = i;
            llava__walk(t->m, NULL, llava__pfind_fn, &f);
            if (f.found && f.info.w && f.info.w->dtype == LLAVA_F32) *data = (const float *)f.info.w->data;
            else if (f.info.vec) *data = *f.info.vec;
        }
    }
    if (grad) *grad = p->grad;
    if (n) *n = p->n;
    return p->name;
}

/* --- vision tower with activations kept (only when it is trained) ---------------------------------- */
typedef struct {
    float *patches;              /* [P, 3*ps*ps] */
    float *x0, *pre_mean, *pre_rstd; /* [N, D] embeddings before pre_layrnorm, its statistics [N] */
    float *x;                    /* [L+1][N][D] residual stream entering each layer (x[0] after pre_layrnorm) */
    float *xm;                   /* [L][N][D] after the attention residual */
    float *h1, *h2;              /* [L][N][D] layer_norm1 / layer_norm2 outputs */
    float *m1, *r1, *m2, *r2;    /* [L][N] their statistics */
    float *q, *k, *v, *ao;       /* [L][N][D] */
    float *p;                    /* [L][H][N][N] */
    float *f, *fa;               /* [L][N][Iv] fc1 output, after the activation */
    float *mem;
} llava__vcache;

static int llava__vcache_alloc(llava__vcache *A, const LlavaModel *m) {
    const LlavaConfig *c = &m->cfg;
    const size_t G = (size_t)(c->vision_image_size / c->vision_patch_size), P = G * G, N = P + 1, D = (size_t)c->vision_hidden;
    const size_t L = (size_t)m->vision_run, Iv = (size_t)c->vision_intermediate, H = (size_t)c->vision_heads, K = 3 * (size_t)c->vision_patch_size * c->vision_patch_size;
    size_t sz = P * K + N * D + 2 * N + (L + 1) * N * D + L * N * D * 8 + L * N * 4 + L * H * N * N + 2 * L * N * Iv;
    float *b = (float *)llava__alloc_aligned(sz * sizeof(float));
    if (!b) return llava__err("out of memory for the vision tower's activations (%zu MB)", sz * 4 >> 20);
    A->mem = b;
    A->patches = b, b += P * K;
    A->x0 = b, b += N * D;
    A->pre_mean = b, b += N;
    A->pre_rstd = b, b += N;
    A->x = b, b += (L + 1) * N * D;
    A->xm = b, b += L * N * D;
    A->h1 = b, b += L * N * D;
    A->h2 = b, b += L * N * D;
    A->q = b, b += L * N * D;
    A->k = b, b += L * N * D;
    A->v = b, b += L * N * D;
    A->ao = b, b += L * N * D;
    A->m1 = b, b += L * N;
    A->r1 = b, b += L * N;
    A->m2 = b, b += L * N;
    A->r2 = b, b += L * N;
    A->p = b, b += L * H * N * N;
    A->f = b, b += L * N * Iv;
    A->fa = b;
    return LLAVA_OK;
}

/* pixels [3,S,S] -> out [Psel, D], keeping activations in A */
static void llava__vision_train_forward(LlavaModel *m, llava__vcache *A, const float *pixels, float *out) {
    const LlavaConfig *c = &m->cfg;
    const LlavaBackend *be = m->be;
    const int S = c->vision_image_size, ps = c->vision_patch_size, G = S / ps, P = G * G, N = P + 1;
    const int D = c->vision_hidden, Iv = c->vision_intermediate, K = 3 * ps * ps, Hv = c->vision_heads, Dh = D / Hv;
    const size_t ND = (size_t)N * D;
    int gy, gx, ch, ky, i, l;
    float *tmp = (float *)llava__alloc_aligned(ND * sizeof(float));
    LLAVA_ASSERT(tmp);
    for (gy = 0; gy < G; gy++)
        for (gx = 0; gx < G; gx++)
            for (ch = 0; ch < 3; ch++)
                for (ky = 0; ky < ps; ky++)
                    memcpy(A->patches + (size_t)(gy * G + gx) * K + (size_t)ch * ps * ps + (size_t)ky * ps,
                           pixels + (size_t)ch * S * S + (size_t)(gy * ps + ky) * S + (size_t)gx * ps, (size_t)ps * sizeof(float));
    be->matmul(tmp, A->patches, &m->patch, NULL, P, K, D);
    for (i = 0; i < D; i++) A->x0[i] = m->class_emb[i] + m->pos_emb[i];
    for (l = 0; l < P; l++)
        for (i = 0; i < D; i++) A->x0[(size_t)(l + 1) * D + i] = tmp[(size_t)l * D + i] + m->pos_emb[(size_t)(l + 1) * D + i];
    be->layernorm(A->x, A->pre_mean, A->pre_rstd, A->x0, m->pre_ln_w, m->pre_ln_b, N, D, c->vision_ln_eps);
    for (l = 0; l < m->vision_run; l++) {
        const llava__vlayer *L = &m->vl[l];
        const float *x = A->x + l * ND;
        float *xm = A->xm + l * ND, *h1 = A->h1 + l * ND, *h2 = A->h2 + l * ND, *xn = A->x + (l + 1) * ND;
        float *q = A->q + l * ND, *k = A->k + l * ND, *v = A->v + l * ND, *ao = A->ao + l * ND;
        float *f = A->f + (size_t)l * N * Iv, *fa = A->fa + (size_t)l * N * Iv;
        be->layernorm(h1, A->m1 + (size_t)l * N, A->r1 + (size_t)l * N, x, L->ln1_w, L->ln1_b, N, D, c->vision_ln_eps);
        be->matmul(q, h1, &L->q, L->qb, N, D, D);
        be->matmul(k, h1, &L->k, L->kb, N, D, D);
        be->matmul(v, h1, &L->v, L->vb, N, D, D);
        be->attention(ao, A->p + (size_t)l * Hv * N * N, q, k, v, N, N, 0, Hv, Hv, Dh, 0);
        be->matmul(tmp, ao, &L->o, L->ob, N, D, D);
        for (i = 0; i < (int)ND; i++) xm[i] = x[i] + tmp[i];
        be->layernorm(h2, A->m2 + (size_t)l * N, A->r2 + (size_t)l * N, xm, L->ln2_w, L->ln2_b, N, D, c->vision_ln_eps);
        be->matmul(f, h2, &L->fc1, L->fc1b, N, D, Iv);
        memcpy(fa, f, (size_t)N * Iv * sizeof(float));
        be->act(fa, (size_t)N * Iv, c->vision_act);
        be->matmul(tmp, fa, &L->fc2, L->fc2b, N, Iv, D);
        for (i = 0; i < (int)ND; i++) xn[i] = xm[i] + tmp[i];
    }
    const float *last = A->x + (size_t)m->vision_run * ND;
    if (c->vision_select_full) memcpy(out, last, ND * sizeof(float));
    else memcpy(out, last + D, (size_t)P * D * sizeof(float));
    llava__free_aligned(tmp);
}

/* dout [Psel, D] -> gradients of the vision tower's parameters (where G has them) */
static void llava__vision_train_backward(LlavaModel *m, const llava__gradset *Gs, const llava__vcache *A, const float *dout) {
    const LlavaConfig *c = &m->cfg;
    const LlavaBackend *be = m->be;
    const int S = c->vision_image_size, ps = c->vision_patch_size, G = S / ps, P = G * G, N = P + 1;
    const int D = c->vision_hidden, Iv = c->vision_intermediate, K = 3 * ps * ps, Hv = c->vision_heads, Dh = D / Hv;
    const size_t ND = (size_t)N * D, NI = (size_t)N * Iv;
    size_t sz = ND * 9 + NI * 2;
    float *b = (float *)llava__alloc_aligned(sz * sizeof(float));
    LLAVA_ASSERT(b);
    float *dx = b, *dxm = dx + ND, *dh = dxm + ND, *dao = dh + ND, *dq = dao + ND, *dk = dq + ND, *dv = dk + ND, *dX = dv + ND;
    float *d0 = dX + ND, *dfa = d0 + ND, *df = dfa + NI;
    int l, i;
    memset(dx, 0, ND * sizeof(float));
    if (c->vision_select_full) memcpy(dx, dout, ND * sizeof(float));
    else memcpy(dx + D, dout, (size_t)P * D * sizeof(float));
    for (l = m->vision_run - 1; l >= 0; l--) {
        const llava__vlayer *L = &m->vl[l], *GL = &Gs->vl[l];
        const float *x = A->x + l * ND, *xm = A->xm + l * ND, *h1 = A->h1 + l * ND, *h2 = A->h2 + l * ND;
        const float *q = A->q + l * ND, *k = A->k + l * ND, *v = A->v + l * ND, *ao = A->ao + l * ND;
        const float *f = A->f + (size_t)l * NI, *fa = A->fa + (size_t)l * NI;
        /* x_next = xm + fc2(act(fc1(layer_norm2(xm)))) */
        memcpy(dxm, dx, ND * sizeof(float));
        memset(dfa, 0, NI * sizeof(float));
        be->matmul_backward(dfa, (float *)GL->fc2.data, GL->fc2b, dx, fa, &L->fc2, N, Iv, D);
        be->act_backward(df, dfa, f, NI, c->vision_act);
        memset(dh, 0, ND * sizeof(float));
        be->matmul_backward(dh, (float *)GL->fc1.data, GL->fc1b, df, h2, &L->fc1, N, D, Iv);
        be->layernorm_backward(dxm, GL->ln2_w, GL->ln2_b, dh, xm, L->ln2_w, A->m2 + (size_t)l * N, A->r2 + (size_t)l * N, N, D);
        /* xm = x + out_proj(attention(layer_norm1(x))) */
        memcpy(dX, dxm, ND * sizeof(float));
        memset(dao, 0, ND * sizeof(float));
        be->matmul_backward(dao, (float *)GL->o.data, GL->ob, dxm, ao, &L->o, N, D, D);
        be->attention_backward(dq, dk, dv, dao, A->p + (size_t)l * Hv * N * N, q, k, v, N, Hv, Hv, Dh);
        memset(dh, 0, ND * sizeof(float));
        be->matmul_backward(dh, (float *)GL->q.data, GL->qb, dq, h1, &L->q, N, D, D);
        be->matmul_backward(dh, (float *)GL->k.data, GL->kb, dk, h1, &L->k, N, D, D);
        be->matmul_backward(dh, (float *)GL->v.data, GL->vb, dv, h1, &L->v, N, D, D);
        be->layernorm_backward(dX, GL->ln1_w, GL->ln1_b, dh, x, L->ln1_w, A->m1 + (size_t)l * N, A->r1 + (size_t)l * N, N, D);
        memcpy(dx, dX, ND * sizeof(float));
    }
    /* pre_layrnorm, then [CLS; patches] + positions */
    memset(d0, 0, ND * sizeof(float));
    be->layernorm_backward(d0, Gs->pre_ln_w, Gs->pre_ln_b, dx, A->x0, m->pre_ln_w, A->pre_mean, A->pre_rstd, N, D);
    if (Gs->pos_emb)
        for (i = 0; i < (int)ND; i++) Gs->pos_emb[i] += d0[i];
    if (Gs->class_emb)
        for (i = 0; i < D; i++) Gs->class_emb[i] += d0[i];
    if (Gs->patch.data) be->matmul_backward(NULL, (float *)Gs->patch.data, NULL, d0 + D, A->patches, &m->patch, P, K, D);
    llava__free_aligned(b);
}

/* --- decoder with activations kept ------------------------------------------------------------------ */
typedef struct {
    float *x;        /* [L+1][T][C] residual stream entering each layer; x[L] after the last */
    float *xm;       /* [L][T][C] after the attention residual */
    float *h1, *h2;  /* [L][T][C] input_layernorm / post_attention_layernorm outputs */
    float *r1, *r2;  /* [L][T] their rstd */
    float *q;        /* [L][T][H*Dh] after RoPE */
    float *k, *v;    /* [L][T][KVH*Dh] (k after RoPE) */
    float *p;        /* [L][per sequence: H][Ti][Ti] attention probabilities */
    size_t pl;       /* floats of p per layer */
    float *ao;       /* [L][T][H*Dh] attention output */
    float *g, *u, *a; /* [L][T][I] gate, up, act(gate) * up */
    float *hf, *rf;  /* [T][C] final norm output, [T] its rstd */
    float *mem;
} llava__tcache;

/* T rows in all, made of nseg sequences (samples) of seg_len[i] rows each, back to back */
static int llava__tcache_alloc(llava__tcache *A, const LlavaModel *m, int T, const int *seg_len, int nseg) {
    const LlavaConfig *c = &m->cfg;
    const size_t L = (size_t)c->text_layers, C = (size_t)c->text_hidden, QD = (size_t)c->text_heads * c->text_head_dim;
    const size_t KD = (size_t)c->text_kv_heads * c->text_head_dim, I = (size_t)c->text_intermediate, H = (size_t)c->text_heads, t = (size_t)T;
    size_t tt = 0;
    int i;
    for (i = 0; i < nseg; i++) tt += (size_t)seg_len[i] * seg_len[i];
    A->pl = H * tt;
    size_t sz = (L + 1) * t * C + L * t * C * 3 + 2 * L * t + 2 * L * t * QD + 2 * L * t * KD + L * H * tt + 3 * L * t * I + t * C + t;
    float *b = (float *)llava__alloc_aligned(sz * sizeof(float));
    if (!b) return llava__err("out of memory for the activations of %d positions (%zu MB)", T, sz * 4 >> 20);
    A->mem = b;
    A->x = b, b += (L + 1) * t * C;
    A->xm = b, b += L * t * C;
    A->h1 = b, b += L * t * C;
    A->h2 = b, b += L * t * C;
    A->r1 = b, b += L * t;
    A->r2 = b, b += L * t;
    A->q = b, b += L * t * QD;
    A->ao = b, b += L * t * QD;
    A->k = b, b += L * t * KD;
    A->v = b, b += L * t * KD;
    A->p = b, b += L * H * tt;
    A->g = b, b += L * t * I;
    A->u = b, b += L * t * I;
    A->a = b, b += L * t * I;
    A->hf = b, b += t * C;
    A->rf = b;
    return LLAVA_OK;
}

/* A->x[0] holds the input embeddings [T, C] of nseg sequences back to back (positions restart at 0 in
   each, and attention stays inside each); fills the rest, ending at A->hf */
static void llava__text_train_forward(LlavaModel *m, llava__tcache *A, int T, const int *seg_len, int nseg) {
    const LlavaConfig *c = &m->cfg;
    const LlavaBackend *be = m->be;
    const int C = c->text_hidden, H = c->text_heads, KVH = c->text_kv_heads, Dh = c->text_head_dim, I = c->text_intermediate;
    const size_t TC = (size_t)T * C, TQ = (size_t)T * H * Dh, TK = (size_t)T * KVH * Dh, TI = (size_t)T * I;
    float *tmp = (float *)llava__alloc_aligned(TC * sizeof(float));
    size_t i;
    int l;
    LLAVA_ASSERT(tmp);
    for (l = 0; l < c->text_layers; l++) {
        const llava__tlayer *L = &m->tl[l];
        const float *x = A->x + l * TC;
        float *xm = A->xm + l * TC, *xn = A->x + (l + 1) * TC, *h1 = A->h1 + l * TC, *h2 = A->h2 + l * TC;
        float *q = A->q + l * TQ, *k = A->k + l * TK, *v = A->v + l * TK, *ao = A->ao + l * TQ;
        float *g = A->g + l * TI, *u = A->u + l * TI, *a = A->a + l * TI;
        be->rmsnorm(h1, A->r1 + (size_t)l * T, x, L->in_norm, T, C, c->text_rms_eps);
        be->matmul(q, h1, &L->q, L->qb, T, C, H * Dh);
        be->matmul(k, h1, &L->k, L->kb, T, C, KVH * Dh);
        be->matmul(v, h1, &L->v, L->vb, T, C, KVH * Dh);
        {
            size_t off = 0, poff = 0;
            int sq;
            for (sq = 0; sq < nseg; sq++) {
                const int n = seg_len[sq];
                be->rope(q + off * H * Dh, m->inv_freq, 0, n, H, Dh);
                be->rope(k + off * KVH * Dh, m->inv_freq, 0, n, KVH, Dh);
                be->attention(ao + off * H * Dh, A->p + (size_t)l * A->pl + poff, q + off * H * Dh, k + off * KVH * Dh, v + off * KVH * Dh, n,
                              n, 0, H, KVH, Dh, 1);
                off += (size_t)n;
                poff += (size_t)H * n * n;
            }
        }
        be->matmul(tmp, ao, &L->o, L->ob, T, H * Dh, C);
        for (i = 0; i < TC; i++) xm[i] = x[i] + tmp[i];
        be->rmsnorm(h2, A->r2 + (size_t)l * T, xm, L->post_norm, T, C, c->text_rms_eps);
        be->matmul(g, h2, &L->gate, L->gate_b, T, C, I);
        be->matmul(u, h2, &L->up, L->up_b, T, C, I);
        be->glu(a, g, u, TI, c->text_act);
        be->matmul(tmp, a, &L->down, L->down_b, T, I, C);
        for (i = 0; i < TC; i++) xn[i] = xm[i] + tmp[i];
    }
    be->rmsnorm(A->hf, A->rf, A->x + (size_t)c->text_layers * TC, m->norm, T, C, c->text_rms_eps);
    llava__free_aligned(tmp);
}

/* dlogits [T, V] -> weight gradients (where G has them) and demb [T, C], the gradient of the inputs */
static void llava__text_train_backward(LlavaModel *m, const llava__gradset *Gs, const llava__tcache *A, const float *dlogits, int T,
                                       const int *seg_len, int nseg, float *demb) {
    const LlavaConfig *c = &m->cfg;
    const LlavaBackend *be = m->be;
    const int C = c->text_hidden, H = c->text_heads, KVH = c->text_kv_heads, Dh = c->text_head_dim, I = c->text_intermediate, V = c->text_vocab;
    const size_t TC = (size_t)T * C, TQ = (size_t)T * H * Dh, TK = (size_t)T * KVH * Dh, TI = (size_t)T * I;
    size_t sz = TC * 4 + TQ * 2 + TK * 2 + TI * 3;
    float *b = (float *)llava__alloc_aligned(sz * sizeof(float));
    LLAVA_ASSERT(b);
    float *dx = b, *dxm = dx + TC, *dh = dxm + TC, *dX = dh + TC, *dao = dX + TC, *dq = dao + TQ, *dk = dq + TQ, *dv = dk + TK;
    float *da = dv + TK, *dg = da + TI, *du = dg + TI;
    int l;
    /* logits = hf @ head^T; hf = norm(x[L]) */
    memset(dh, 0, TC * sizeof(float));
    be->matmul_backward(dh, (float *)Gs->head.data, NULL, dlogits, A->hf, &m->head, T, C, V);
    memset(dx, 0, TC * sizeof(float));
    be->rmsnorm_backward(dx, Gs->norm, dh, A->x + (size_t)c->text_layers * TC, m->norm, A->rf, T, C);
    for (l = c->text_layers - 1; l >= 0; l--) {
        const llava__tlayer *L = &m->tl[l], *GL = &Gs->tl[l];
        const float *x = A->x + l * TC, *xm = A->xm + l * TC, *h1 = A->h1 + l * TC, *h2 = A->h2 + l * TC;
        const float *q = A->q + l * TQ, *k = A->k + l * TK, *v = A->v + l * TK, *ao = A->ao + l * TQ;
        const float *g = A->g + l * TI, *u = A->u + l * TI, *a = A->a + l * TI;
        /* x_next = xm + down(act(gate(h2)) * up(h2)), h2 = post_attention_layernorm(xm) */
        memcpy(dxm, dx, TC * sizeof(float));
        memset(da, 0, TI * sizeof(float));
        be->matmul_backward(da, (float *)GL->down.data, GL->down_b, dx, a, &L->down, T, I, C);
        be->glu_backward(dg, du, da, g, u, TI, c->text_act);
        memset(dh, 0, TC * sizeof(float));
        be->matmul_backward(dh, (float *)GL->gate.data, GL->gate_b, dg, h2, &L->gate, T, C, I);
        be->matmul_backward(dh, (float *)GL->up.data, GL->up_b, du, h2, &L->up, T, C, I);
        be->rmsnorm_backward(dxm, GL->post_norm, dh, xm, L->post_norm, A->r2 + (size_t)l * T, T, C);
        /* xm = x + o_proj(attention(rope(q), rope(k), v)), from h1 = input_layernorm(x) */
        memcpy(dX, dxm, TC * sizeof(float));
        memset(dao, 0, TQ * sizeof(float));
        be->matmul_backward(dao, (float *)GL->o.data, GL->ob, dxm, ao, &L->o, T, H * Dh, C);
        {
            size_t off = 0, poff = 0;
            int sq;
            for (sq = 0; sq < nseg; sq++) {
                const int n = seg_len[sq];
                be->attention_backward(dq + off * H * Dh, dk + off * KVH * Dh, dv + off * KVH * Dh, dao + off * H * Dh,
                                       A->p + (size_t)l * A->pl + poff, q + off * H * Dh, k + off * KVH * Dh, v + off * KVH * Dh, n, H,
                                       KVH, Dh);
                be->rope_backward(dq + off * H * Dh, m->inv_freq, 0, n, H, Dh);
                be->rope_backward(dk + off * KVH * Dh, m->inv_freq, 0, n, KVH, Dh);
                off += (size_t)n;
                poff += (size_t)H * n * n;
            }
        }
        memset(dh, 0, TC * sizeof(float));
        be->matmul_backward(dh, (float *)GL->q.data, GL->qb, dq, h1, &L->q, T, C, H * Dh);
        be->matmul_backward(dh, (float *)GL->k.data, GL->kb, dk, h1, &L->k, T, C, KVH * Dh);
        be->matmul_backward(dh, (float *)GL->v.data, GL->vb, dv, h1, &L->v, T, C, KVH * Dh);
        be->rmsnorm_backward(dX, GL->in_norm, dh, x, L->in_norm, A->r1 + (size_t)l * T, T, C);
        memcpy(dx, dX, TC * sizeof(float));
    }
    memcpy(demb, dx, TC * sizeof(float));
    llava__free_aligned(b);
}

/* --- a chunk of samples: forward, loss, backward -------------------------------------------------------
   The samples' rows are concatenated, so the linear layers see one tall matrix; attention and RoPE run
   per sample. */
static int llava__train_chunk(LlavaTrainer *t, const LlavaSample *s, int n, int index0) {
    LlavaModel *m = t->m;
    const LlavaConfig *c = &m->cfg;
    const int C = c->text_hidden, V = c->text_vocab, D = c->vision_hidden, P = llava_image_tokens(m);
    int i, k, rc = LLAVA_OK, T = 0, nimg = 0;
    int *seg = (int *)LLAVA_MALLOC((size_t)n * sizeof(int));
    if (!seg) return llava__err("out of memory");
    for (k = 0; k < n; k++) {
        const LlavaSample *sp = &s[k];
        int ph = 0;
        if (!sp->ids || !sp->labels || sp->n <= 0) rc = llava__err("sample %d: no tokens", index0 + k);
        for (i = 0; rc == LLAVA_OK && i < sp->n; i++) {
            if (sp->ids[i] == c->image_token_id) ph++;
            else if (sp->ids[i] < 0 || sp->ids[i] >= V)
                rc = llava__err("sample %d: token id %d at position %d is outside the vocabulary (0..%d)", index0 + k, sp->ids[i], i, V - 1);
            if (rc == LLAVA_OK && sp->labels[i] != -100 && (sp->labels[i] < 0 || sp->labels[i] >= V))
                rc = llava__err("sample %d: label %d at position %d is neither -100 nor a token id", index0 + k, sp->labels[i], i);
        }
        if (rc == LLAVA_OK && (sp->n_images < 0 || (sp->n_images > 0 && !sp->pixels) ||
                               (c->image_token_expands ? ph != sp->n_images : ph != sp->n_images * P)))
            rc = llava__err("sample %d: %d image placeholder tokens (id %d) but %d image(s)%s", index0 + k, ph, c->image_token_id, sp->n_images,
                            c->image_token_expands ? "" : " of that many feature rows each");
        if (rc != LLAVA_OK) break;
        seg[k] = c->image_token_expands ? sp->n - ph + ph * P : sp->n;
        T += seg[k];
        nimg += sp->n_images;
    }
    if (rc != LLAVA_OK) {
        LLAVA_FREE(seg);
        return rc;
    }
    /* per row: its label, what the loss at that row predicts (the next row's label, within the sample),
       and where its embedding came from (token id, or -1 - feature row) */
    int *targets = (int *)LLAVA_MALLOC((size_t)T * sizeof(int)), *lab = (int *)LLAVA_MALLOC((size_t)T * sizeof(int));
    int *row_of = (int *)LLAVA_MALLOC((size_t)T * sizeof(int));
    llava__tcache A;
    llava__vcache *VA = NULL;
    memset(&A, 0, sizeof A);
    const size_t nfeat = (size_t)nimg * P;
    float *vfeat = nimg ? (float *)llava__alloc_aligned(nfeat * D * sizeof(float)) : NULL;  /* vision output */
    float *pin = NULL, *pact = NULL;                                                      /* projector activations */
    float *pfeat = nimg ? (float *)llava__alloc_aligned(nfeat * C * sizeof(float)) : NULL; /* projected */
    float *logits = (float *)llava__alloc_aligned((size_t)T * V * sizeof(float));
    float *demb = (float *)llava__alloc_aligned((size_t)T * C * sizeof(float));
    if (!targets || !lab || !row_of || !logits || !demb || (nimg && (!vfeat || !pfeat)))
        rc = llava__err("out of memory for samples %d..%d (%d positions)", index0, index0 + n - 1, T);
    if (rc == LLAVA_OK) rc = llava__tcache_alloc(&A, m, T, seg, n);
    if (rc == LLAVA_OK && nimg && t->train_vision) {
        VA = (llava__vcache *)llava__calloc((size_t)nimg, sizeof *VA);
        for (i = 0; i < nimg && rc == LLAVA_OK && VA; i++) rc = llava__vcache_alloc(&VA[i], m);
        if (!VA) rc = llava__err("out of memory");
    }
    if (rc == LLAVA_OK && nimg && c->proj_layers > 1) {
        pin = (float *)llava__alloc_aligned((size_t)(c->proj_layers - 1) * nfeat * C * sizeof(float));
        pact = (float *)llava__alloc_aligned((size_t)(c->proj_layers - 1) * nfeat * C * sizeof(float));
        if (!pin || !pact) rc = llava__err("out of memory");
    }
    if (rc == LLAVA_OK) {
        const size_t npix = (size_t)3 * c->vision_image_size * c->vision_image_size;
        int tt = 0, f = 0, j, im = 0;
        /* vision tower (activations kept only when it learns), then the projector keeping its own */
        for (k = 0; k < n && rc == LLAVA_OK; k++)
            for (i = 0; i < s[k].n_images && rc == LLAVA_OK; i++, im++) {
                if (t->train_vision) llava__vision_train_forward(m, &VA[im], s[k].pixels + i * npix, vfeat + (size_t)im * P * D);
                else rc = llava__vision_forward(m, s[k].pixels + i * npix, vfeat + (size_t)im * P * D);
            }
        if (nimg && rc == LLAVA_OK) {
            const float *in = vfeat;
            for (j = 0; j < c->proj_layers; j++) {
                float *out = j == c->proj_layers - 1 ? pfeat : pin + (size_t)j * nfeat * C;
                m->be->matmul(out, in, &m->proj[j], m->proj_b[j], (int)nfeat, j == 0 ? D : C, C);
                if (j < c->proj_layers - 1) {
                    float *act = pact + (size_t)j * nfeat * C;
                    memcpy(act, out, nfeat * C * sizeof(float));
                    m->be->act(act, nfeat * C, c->proj_act);
                    in = act;
                }
            }
        }
        /* embeddings: token rows, and each image's projected rows where its placeholders are */
        for (k = 0; k < n && rc == LLAVA_OK; k++) {
            const LlavaSample *sp = &s[k];
            const int t0 = tt;
            for (i = 0; i < sp->n; i++) {
                if (sp->ids[i] == c->image_token_id) {
                    const int rows = c->image_token_expands ? P : 1;
                    for (j = 0; j < rows; j++, tt++, f++) {
                        memcpy(A.x + (size_t)tt * C, pfeat + (size_t)f * C, (size_t)C * sizeof(float));
                        row_of[tt] = -1 - f;
                        lab[tt] = c->image_token_expands ? -100 : sp->labels[i];
                    }
                } else {
                    llava__w_row(A.x + (size_t)tt * C, &m->embed, sp->ids[i], 0, C);
                    row_of[tt] = sp->ids[i];
                    lab[tt] = sp->labels[i];
                    tt++;
                }
            }
            for (i = t0; i < tt; i++) targets[i] = i + 1 < tt ? lab[i + 1] : -100;
        }
    }
    if (rc == LLAVA_OK) {
        long ntok = 0;
        for (i = 0; i < T; i++) ntok += targets[i] >= 0;
        llava__text_train_forward(m, &A, T, seg, n);
        m->be->matmul(logits, A.hf, &m->head, NULL, T, C, V);
        /* gradients of the SUM of token losses; llava_trainer_update divides by the token count */
        t->acc_loss += llava__crossentropy_forward_backward(logits, logits, targets, T, V, 1.0f);
        t->acc_tokens += ntok;
        if (ntok > 0) {
            llava__text_train_backward(m, &t->g, &A, logits, T, seg, n, demb);
            if (t->g.embed.data)
                for (i = 0; i < T; i++)
                    if (row_of[i] >= 0) llava__add((float *)t->g.embed.data + (size_t)row_of[i] * C, demb + (size_t)i * C, (size_t)C);
            if (nimg && (t->train_proj || t->train_vision)) {
                /* the projected rows' gradients, back through the projector (and the tower, if it learns) */
                float *dp = (float *)llava__alloc_aligned(nfeat * C * sizeof(float) * 2), *dq = dp + nfeat * C;
                float *dvf = t->train_vision ? (float *)llava__alloc_aligned(nfeat * D * sizeof(float)) : NULL;
                int j;
                LLAVA_ASSERT(dp && (!t->train_vision || dvf));
                for (i = 0; i < T; i++)
                    if (row_of[i] < 0) memcpy(dp + (size_t)(-1 - row_of[i]) * C, demb + (size_t)i * C, (size_t)C * sizeof(float));
                for (j = c->proj_layers - 1; j >= 0; j--) {
                    const float *in = j == 0 ? vfeat : pact + (size_t)(j - 1) * nfeat * C;
                    float *din = j == 0 ? dvf : dq;
                    if (din) memset(din, 0, nfeat * (j == 0 ? D : C) * sizeof(float));
                    m->be->matmul_backward(din, (float *)t->g.proj[j].data, t->g.proj_b[j], dp, in, &m->proj[j], (int)nfeat, j == 0 ? D : C, C);
                    if (j > 0) m->be->act_backward(dp, dq, pin + (size_t)(j - 1) * nfeat * C, nfeat * C, c->proj_act);
                }
                if (t->train_vision)
                    for (i = 0; i < nimg; i++) llava__vision_train_backward(m, &t->g, &VA[i], dvf + (size_t)i * P * D);
                llava__free_aligned(dp);
                llava__free_aligned(dvf);
            }
        }
    }
    if (VA) {
        for (i = 0; i < nimg; i++) llava__free_aligned(VA[i].mem);
        LLAVA_FREE(VA);
    }
    llava__free_aligned(A.mem);
    LLAVA_FREE(seg), LLAVA_FREE(targets), LLAVA_FREE(lab), LLAVA_FREE(row_of);
    llava__free_aligned(vfeat), llava__free_aligned(pfeat), llava__free_aligned(pin), llava__free_aligned(pact);
    llava__free_aligned(logits), llava__free_aligned(demb);
    return rc;
}

/* rows per chunk: enough for tall matrices, bounded so that activations stay a modest size */
#define LLAVA__TRAIN_CHUNK_ROWS 2048

LLAVADEF int llava_trainer_accumulate(LlavaTrainer *t, const LlavaSample *s, int n) {
    int i;
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    i = 0;
    while (i < n) { /* consecutive samples up to the row budget (at least one) */
        int j = i, rows = 0;
        while (j < n && (j == i || rows + s[j].n <= LLAVA__TRAIN_CHUNK_ROWS)) rows += LLAVA__MAX(s[j].n, 0), j++;
        if (llava__train_chunk(t, s + i, j - i, i) != LLAVA_OK) return LLAVA_ERR;
        i = j;
    }
    return LLAVA_OK;
}

/* transformers' get_cosine_schedule_with_warmup: warmup = ceil(ratio * total) steps */
LLAVADEF double llava_trainer_lr_factor(const LlavaTrainer *t, int step) {
    const int total = t->opt.total_steps, warm = (int)ceil((double)t->opt.warmup_ratio * total - 1e-9);
    if (step < warm) return (double)step / (double)LLAVA__MAX(1, warm);
    double progress = (double)(step - warm) / (double)LLAVA__MAX(1, total - warm);
    double f = 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
    return f > 0.0 ? f : 0.0;
}

static void llava__zero_grads(LlavaTrainer *t) {
    int i;
    for (i = 0; i < t->n_params; i++)
        if (t->p[i].grad) memset(t->p[i].grad, 0, t->p[i].n * sizeof(float));
    t->acc_loss = 0.0;
    t->acc_tokens = 0;
}

/* isfinite by the bits, so that it still works under -ffast-math (which lets the compiler assume it) */
static int llava__finite(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return ((u >> 52) & 0x7ff) != 0x7ff;
}

LLAVADEF int llava_trainer_update(LlavaTrainer *t, LlavaStepStats *st) {
    int i;
    size_t k;
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    if (t->acc_tokens == 0) {
        llava__zero_grads(t);
        return llava__err("step %d: the batch has no supervised tokens (every label is -100)", t->step + 1);
    }
    const double loss = t->acc_loss / (double)t->acc_tokens;
    const float inv = (float)(1.0 / (double)t->acc_tokens);
    double norm2 = 0.0;
    for (i = 0; i < t->n_params; i++) {
        float *g = t->p[i].grad;
        if (!g) continue;
        for (k = 0; k < t->p[i].n; k++) {
            g[k] *= inv;
            norm2 += (double)g[k] * g[k];
        }
    }
    const double norm = sqrt(norm2);
    if (!llava__finite(loss) || !llava__finite(norm)) {
        llava__zero_grads(t);
        return llava__err("step %d: the loss is %g and the gradient norm %g; stopping before the update (parameters unchanged)",
                          t->step + 1, loss, norm);
    }
    if (t->opt.max_grad_norm > 0.0f) { /* torch.nn.utils.clip_grad_norm_ */
        const double coef = t->opt.max_grad_norm / (norm + 1e-6);
        if (coef < 1.0)
            for (i = 0; i < t->n_params; i++)
                if (t->p[i].grad)
                    for (k = 0; k < t->p[i].n; k++) t->p[i].grad[k] *= (float)coef;
    }
    const double f = llava_trainer_lr_factor(t, t->step);
    t->step++;
    for (i = 0; i < t->n_params; i++) {
        llava__tparam *p = &t->p[i];
        if (p->group < 0) continue;
        const llava__group *gr = &t->groups[p->group];
        t->m->be->adamw(p->data, p->m, p->v, p->grad, p->n, (float)(gr->lr * f), t->opt.beta1, t->opt.beta2, t->opt.eps,
                        p->decay ? gr->wd : 0.0f, t->step);
    }
    if (st) {
        st->loss = (float)loss;
        st->lr = (float)(t->groups[0].lr * f);
        st->grad_norm = (float)norm;
        st->tokens = t->acc_tokens;
        st->step = t->step;
    }
    llava__zero_grads(t);
    return LLAVA_OK;
}

LLAVADEF int llava_trainer_step(LlavaTrainer *t, const LlavaSample *s, int n, LlavaStepStats *st) {
    if (llava_trainer_accumulate(t, s, n) != LLAVA_OK) {
        if (t->ready) llava__zero_grads(t);
        return LLAVA_ERR;
    }
    return llava_trainer_update(t, st);
}

LLAVADEF int llava_trainer_grads(LlavaTrainer *t, const LlavaSample *s, int n, float *loss) {
    int i;
    size_t k;
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    llava__zero_grads(t);
    if (llava_trainer_accumulate(t, s, n) != LLAVA_OK) return LLAVA_ERR;
    if (t->acc_tokens == 0) return llava__err("the batch has no supervised tokens (every label is -100)");
    const float inv = (float)(1.0 / (double)t->acc_tokens);
    for (i = 0; i < t->n_params; i++)
        if (t->p[i].grad)
            for (k = 0; k < t->p[i].n; k++) t->p[i].grad[k] *= inv;
    if (loss) *loss = (float)(t->acc_loss / (double)t->acc_tokens);
    t->acc_loss = 0.0;
    t->acc_tokens = 0;
    return LLAVA_OK;
}

/* --- saving: Hugging Face's layout ------------------------------------------------------------------ */
static const char *llava__act_name(LlavaAct a) {
    switch (a) {
    case LLAVA_ACT_GELU: return "gelu";
    case LLAVA_ACT_QUICK_GELU: return "quick_gelu";
    case LLAVA_ACT_GELU_TANH: return "gelu_pytorch_tanh";
    case LLAVA_ACT_SILU: return "silu";
    case LLAVA_ACT_RELU: return "relu";
    }
    return "gelu";
}

typedef struct {
    llava__st_entry *e;
    void **bufs;
    int n, cap;
    LlavaDType dt;
    int err;
    int original; /* the original repository's names */
} llava__saver;

/* name in the layout being written */
static void llava__save_name(const llava__saver *sv, const char *in, char *out, size_t cap) {
    static const struct {
        const char *from, *to;
    } orig[] = {{"language_model.model.", "model."}, {"language_model.lm_head.", "lm_head."},
                {"multi_modal_projector.linear_1.", "model.mm_projector."}, {"vision_tower.vision_model.", "vision_model."}};
    size_t i;
    if (sv->original)
        for (i = 0; i < sizeof orig / sizeof orig[0]; i++) {
            size_t l = strlen(orig[i].from);
            if (!strncmp(in, orig[i].from, l)) {
                snprintf(out, cap, "%s%s", orig[i].to, in + l);
                return;
            }
        }
    snprintf(out, cap, "%s", in);
}

static void llava__save_add(llava__saver *sv, const char *name, const void *data, LlavaDType dt, int ndim, const int64_t *shape) {
    if (sv->err) return;
    if (sv->n == sv->cap) {
        int nc = sv->cap ? sv->cap * 2 : 256;
        llava__st_entry *ne = (llava__st_entry *)LLAVA_REALLOC(sv->e, (size_t)nc * sizeof *ne);
        void **nb = ne ? (void **)LLAVA_REALLOC(sv->bufs, (size_t)nc * sizeof *nb) : NULL;
        if (ne) sv->e = ne;
        if (!ne || !nb) {
            sv->err = 1;
            return;
        }
        sv->bufs = nb;
        sv->cap = nc;
    }
    size_t n = 1, i;
    int d;
    for (d = 0; d < ndim; d++) n *= (size_t)shape[d];
    char nm[160];
    llava__save_name(sv, name, nm, sizeof nm);
    llava__st_entry *e = &sv->e[sv->n];
    memset(e, 0, sizeof *e);
    e->name = llava__strdup(nm);
    e->dtype = sv->dt;
    e->ndim = ndim;
    for (d = 0; d < ndim; d++) e->shape[d] = shape[d];
    void *buf = LLAVA_MALLOC(n * llava__dtype_size(sv->dt) + 1);
    sv->bufs[sv->n] = buf;
    e->data = buf;
    if (!buf || !e->name) {
        sv->err = 1;
        return;
    }
    if (sv->dt == dt) memcpy(buf, data, n * llava__dtype_size(dt));
    else if (sv->dt == LLAVA_F32) llava__to_f32((float *)buf, data, dt, n);
    else { /* to BF16: through f32 */
        float *tmp = (float *)LLAVA_MALLOC(n * sizeof(float) + 1);
        if (!tmp) {
            sv->err = 1;
            return;
        }
        llava__to_f32(tmp, data, dt, n);
        for (i = 0; i < n; i++) ((uint16_t *)buf)[i] = llava__f32_to_bf16(tmp[i]);
        LLAVA_FREE(tmp);
    }
    sv->n++;
}

static void llava__save_fn(void *ctx, llava__pinfo *p) {
    llava__saver *sv = (llava__saver *)ctx;
    if (sv->original && !strncmp(p->name, "vision_tower.", 13)) return; /* written into clip/ */
    if (p->w) llava__save_add(sv, p->name, p->w->data, p->w->dtype, p->ndim, p->shape);
    else llava__save_add(sv, p->name, *p->vec, LLAVA_F32, p->ndim, p->shape);
}
static void llava__save_vision_fn(void *ctx, llava__pinfo *p) {
    llava__saver *sv = (llava__saver *)ctx;
    if (strncmp(p->name, "vision_tower.", 13)) return;
    if (p->w) llava__save_add(sv, p->name, p->w->data, p->w->dtype, p->ndim, p->shape);
    else llava__save_add(sv, p->name, *p->vec, LLAVA_F32, p->ndim, p->shape);
}

/* vision tensors the model did not need (layers past the feature layer, post_layernorm) are copied
   through from the file they came from, so that the checkpoint stays complete */
static void llava__save_passthrough(llava__saver *sv, const LlavaModel *m) {
    const llava__tensors *ts = m->vsrc;
    const size_t pl = strlen(m->vprefix);
    int i;
    char name[256];
    if (!ts) return;
    for (i = 0; i < ts->n; i++) {
        const llava__tensor *t = &ts->t[i];
        const char *rest = t->name + pl;
        int layer;
        if (strncmp(t->name, m->vprefix, pl) || t->dtype < 0) continue;
        if (!(strncmp(rest, "post_layernorm.", 15) == 0 ||
              (sscanf(rest, "encoder.layers.%d.", &layer) == 1 && layer >= m->vision_run)))
            continue;
        snprintf(name, sizeof name, "vision_tower.vision_model.%s", rest);
        llava__save_add(sv, name, t->data, (LlavaDType)t->dtype, t->ndim, t->shape);
    }
}

static void llava__saver_free(llava__saver *sv) {
    int i;
    for (i = 0; i < sv->n; i++) {
        LLAVA_FREE((void *)sv->e[i].name);
        LLAVA_FREE(sv->bufs[i]);
    }
    if (sv->err && sv->n < sv->cap && sv->bufs) { /* a half-made last entry */
        LLAVA_FREE((void *)sv->e[sv->n].name);
        LLAVA_FREE(sv->bufs[sv->n]);
    }
    LLAVA_FREE(sv->e);
    LLAVA_FREE(sv->bufs);
}

static int llava__mkdir(const char *dir) {
#ifdef LLAVA__POSIX
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return llava__err("%s: cannot create directory (%s)", dir, strerror(errno));
    return LLAVA_OK;
#else
    (void)dir;
    return LLAVA_OK; /* the directory must exist */
#endif
}

static int llava__copy_file(const char *from, const char *to) {
    size_t n;
    char *text = llava__read_text(from, (size_t)1 << 30, &n);
    if (!text) return LLAVA_ERR;
    llava__wfile f;
    int rc = llava__wopen(&f, to);
    if (rc == LLAVA_OK) {
        llava__wwrite(&f, text, n);
        rc = llava__wclose(&f);
    }
    LLAVA_FREE(text);
    return rc;
}

static int llava__write_config(const LlavaModel *m, const char *path, LlavaDType dt, int original) {
    const LlavaConfig *c = &m->cfg;
    char *b = (char *)LLAVA_MALLOC(16384);
    if (!b) return llava__err("out of memory");
    char eos[64] = "";
    if (c->n_eos == 1) snprintf(eos, sizeof eos, "%d", c->eos_ids[0]);
    else if (c->n_eos > 1) {
        int i;
        size_t l = (size_t)snprintf(eos, sizeof eos, "[");
        for (i = 0; i < c->n_eos; i++) l += (size_t)snprintf(eos + l, sizeof eos - l, "%s%d", i ? ", " : "", c->eos_ids[i]);
        snprintf(eos + l, sizeof eos - l, "]");
    } else snprintf(eos, sizeof eos, "null");
    char bos[16];
    if (c->bos_id >= 0) snprintf(bos, sizeof bos, "%d", c->bos_id);
    else snprintf(bos, sizeof bos, "null");
    const char *dts = dt == LLAVA_F32 ? "float32" : "bfloat16";
    char text[2048];
    snprintf(text, sizeof text,
             "\"vocab_size\": %d, \"hidden_size\": %d, \"intermediate_size\": %d, \"num_hidden_layers\": %d, "
             "\"num_attention_heads\": %d, \"num_key_value_heads\": %d, \"head_dim\": %d, \"max_position_embeddings\": %d, "
             "\"rms_norm_eps\": %.9g, \"rope_theta\": %.17g, %s\"hidden_act\": \"%s\", \"tie_word_embeddings\": %s, "
             "\"attention_bias\": %s, \"mlp_bias\": %s, \"bos_token_id\": %s, \"eos_token_id\": %s",
             c->text_vocab, c->text_hidden, c->text_intermediate, c->text_layers, c->text_heads, c->text_kv_heads, c->text_head_dim,
             c->text_max_pos, c->text_rms_eps, c->text_rope_theta,
             c->text_rope_linear_factor != 1.0 ? "\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 0}, " : "",
             llava__act_name(c->text_act), c->text_tied ? "true" : "false", c->text_attn_bias ? "true" : "false",
             c->text_mlp_bias ? "true" : "false", bos, eos);
    if (c->text_rope_linear_factor != 1.0) { /* the factor, with full precision */
        char *f = strstr(text, "\"factor\": 0");
        char tail[2048];
        snprintf(tail, sizeof tail, "%s", f + 11);
        snprintf(f, sizeof text - (size_t)(f - text), "\"factor\": %.17g%s", c->text_rope_linear_factor, tail);
    }
    char vis[1024];
    snprintf(vis, sizeof vis,
             "\"model_type\": \"clip_vision_model\", \"hidden_size\": %d, \"intermediate_size\": %d, \"num_hidden_layers\": %d, "
             "\"num_attention_heads\": %d, \"num_channels\": 3, \"image_size\": %d, \"patch_size\": %d, \"layer_norm_eps\": %.9g, "
             "\"hidden_act\": \"%s\", \"projection_dim\": 512",
             c->vision_hidden, c->vision_intermediate, c->vision_layers, c->vision_heads, c->vision_image_size, c->vision_patch_size,
             c->vision_ln_eps, llava__act_name(c->vision_act));
    if (!original) {
        snprintf(b, 16384,
                 "{\n  \"architectures\": [\"LlavaForConditionalGeneration\"],\n  \"model_type\": \"llava\",\n"
                 "  \"image_token_index\": %d,\n  \"image_seq_length\": %d,\n  \"projector_hidden_act\": \"%s\",\n"
                 "  \"multimodal_projector_bias\": %s,\n  \"vision_feature_layer\": %d,\n  \"vision_feature_select_strategy\": \"%s\",\n"
                 "  \"tie_word_embeddings\": %s,\n  \"torch_dtype\": \"%s\",\n"
                 "  \"text_config\": {\"model_type\": \"llama\", %s},\n  \"vision_config\": {%s}\n}\n",
                 c->image_token_id, llava_image_tokens(m), llava__act_name(c->proj_act), c->proj_bias ? "true" : "false",
                 c->vision_feature_layer, c->vision_select_full ? "full" : "default", c->text_tied ? "true" : "false", dts, text, vis);
    } else {
        snprintf(b, 16384,
                 "{\n  \"architectures\": [\"LlavaLlamaForCausalLM\"],\n  \"model_type\": \"llava_llama\",\n  %s,\n"
                 "  \"mm_projector_type\": \"%s\",\n  \"mm_hidden_size\": %d,\n  \"mm_vision_select_layer\": %d,\n"
                 "  \"mm_vision_select_feature\": \"%s\",\n  \"mm_vision_tower\": \"clip\",\n  \"mm_use_im_start_end\": false,\n"
                 "  \"mm_use_im_patch_token\": false,\n  \"image_aspect_ratio\": \"%s\",\n  \"torch_dtype\": \"%s\"\n}\n",
                 text, c->proj_layers == 1 ? "linear" : "mlp2x_gelu", c->vision_hidden, c->vision_feature_layer,
                 c->vision_select_full ? "cls_patch" : "patch", c->pre_pad ? "pad" : "square", dts);
        if (c->proj_layers > 2) {
            char *pt = strstr(b, "mlp2x_gelu");
            if (pt) pt[3] = (char)('0' + c->proj_layers);
        }
    }
    int rc = llava__write_text(path, b);
    if (rc == LLAVA_OK && original) { /* the tower's own config, as CLIPVisionModel writes it */
        char *vdir = llava__strdup(path); /* the directory of config.json */
        size_t l = vdir ? strlen(vdir) : 0;
        while (l > 0 && vdir[l - 1] != '/') l--;
        if (vdir) vdir[l] = 0;
        if (vdir && !l) snprintf(vdir, strlen(path) + 1, ".");
        char *cdir = llava__path_join(vdir, "clip"), *cpath = cdir ? llava__path_join(cdir, "config.json") : NULL;
        snprintf(b, 16384, "{\n  \"architectures\": [\"CLIPVisionModel\"],\n  %s,\n  \"torch_dtype\": \"%s\"\n}\n", vis, dts);
        rc = cpath ? llava__write_text(cpath, b) : llava__err("out of memory");
        LLAVA_FREE(vdir), LLAVA_FREE(cdir), LLAVA_FREE(cpath);
    }
    LLAVA_FREE(b);
    return rc;
}

static int llava__write_preprocessor(const LlavaModel *m, const char *path) {
    const LlavaConfig *c = &m->cfg;
    char b[1024];
    char size[96];
    if (c->pre_resize_short > 0) snprintf(size, sizeof size, "{\"shortest_edge\": %d}", c->pre_resize_short);
    else snprintf(size, sizeof size, "{\"height\": %d, \"width\": %d}", c->pre_resize_h, c->pre_resize_w);
    snprintf(b, sizeof b,
             "{\n  \"image_processor_type\": \"CLIPImageProcessor\",\n  \"do_resize\": %s,\n  \"size\": %s,\n  \"resample\": 3,\n"
             "  \"do_center_crop\": %s,\n  \"crop_size\": {\"height\": %d, \"width\": %d},\n  \"do_rescale\": %s,\n"
             "  \"rescale_factor\": %.9g,\n  \"do_normalize\": %s,\n  \"image_mean\": [%.9g, %.9g, %.9g],\n"
             "  \"image_std\": [%.9g, %.9g, %.9g],\n  \"do_convert_rgb\": true\n}\n",
             c->pre_do_resize ? "true" : "false", size, c->pre_do_crop ? "true" : "false", c->pre_crop_h, c->pre_crop_w,
             c->pre_do_rescale ? "true" : "false", c->pre_rescale, c->pre_do_normalize ? "true" : "false", c->pre_mean[0], c->pre_mean[1],
             c->pre_mean[2], c->pre_std[0], c->pre_std[1], c->pre_std[2]);
    return llava__write_text(path, b);
}

LLAVADEF int llava_model_save(LlavaModel *m, const char *dir, LlavaDType dt) {
    llava__saver sv;
    int rc, i;
    memset(&sv, 0, sizeof sv);
    if (dt != LLAVA_F32 && dt != LLAVA_BF16) return llava__err("llava_model_save: F32 or BF16");
    sv.dt = dt;
    /* a linear projector has no place in LlavaForConditionalGeneration: the original repository's layout */
    sv.original = m->cfg.proj_layers != 2 || m->cfg.image_token_expands;
    if ((rc = llava__mkdir(dir)) != LLAVA_OK) return rc;
    llava__walk(m, NULL, llava__save_fn, &sv);
    if (m->cfg.text_tied && sv.original) { /* the original layout always has lm_head */
        const int64_t sh[2] = {m->cfg.text_vocab, m->cfg.text_hidden};
        llava__save_add(&sv, "language_model.lm_head.weight", m->embed.data, m->embed.dtype, 2, sh);
    }
    if (!sv.original) llava__save_passthrough(&sv, m);
    char *path = llava__path_join(dir, "model.safetensors");
    if (sv.err) rc = llava__err("out of memory saving the model");
    else rc = path ? llava__st_write(path, sv.e, sv.n) : llava__err("out of memory");
    LLAVA_FREE(path);
    llava__saver_free(&sv);
    if (rc == LLAVA_OK && sv.original) { /* the vision tower as its own CLIPVisionModel directory */
        char *cdir = llava__path_join(dir, "clip"), *cp = cdir ? llava__path_join(cdir, "model.safetensors") : NULL;
        memset(&sv, 0, sizeof sv);
        sv.dt = dt;
        sv.original = 1;
        rc = cdir ? llava__mkdir(cdir) : llava__err("out of memory");
        if (rc == LLAVA_OK) {
            llava__walk(m, NULL, llava__save_vision_fn, &sv);
            llava__save_passthrough(&sv, m);
            rc = sv.err ? llava__err("out of memory saving the vision tower") : llava__st_write(cp, sv.e, sv.n);
        }
        if (rc == LLAVA_OK) {
            char *pp = llava__path_join(cdir, "preprocessor_config.json");
            rc = llava__write_preprocessor(m, pp);
            LLAVA_FREE(pp);
        }
        llava__saver_free(&sv);
        LLAVA_FREE(cdir), LLAVA_FREE(cp);
    }
    if (rc == LLAVA_OK) {
        char *cp = llava__path_join(dir, "config.json");
        rc = cp ? llava__write_config(m, cp, dt, sv.original) : llava__err("out of memory");
        LLAVA_FREE(cp);
    }
    if (rc == LLAVA_OK) {
        char *pp = llava__path_join(dir, "preprocessor_config.json");
        rc = pp ? llava__write_preprocessor(m, pp) : llava__err("out of memory");
        LLAVA_FREE(pp);
    }
    /* the tokenizer files travel with the model */
    static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                                        "generation_config.json", "chat_template.json", "added_tokens.json"};
    for (i = 0; rc == LLAVA_OK && m->dir && i < (int)(sizeof files / sizeof files[0]); i++) {
        char *from = llava__path_join(m->dir, files[i]), *to = llava__path_join(dir, files[i]);
        if (from && to && llava__exists(from) && strcmp(from, to)) rc = llava__copy_file(from, to);
        LLAVA_FREE(from), LLAVA_FREE(to);
    }
    return rc;
}

/* --- the trainer's own state beside the model ----------------------------------------------------- */
LLAVADEF int llava_trainer_save(LlavaTrainer *t, const char *dir) {
    int rc, i, k = 0;
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    if ((rc = llava_model_save(t->m, dir, LLAVA_F32)) != LLAVA_OK) return rc;
    llava__st_entry *e = (llava__st_entry *)llava__calloc((size_t)t->n_params * 2 + 1, sizeof *e);
    char **names = (char **)llava__calloc((size_t)t->n_params * 2 + 1, sizeof *names);
    if (!e || !names) rc = llava__err("out of memory");
    for (i = 0; i < t->n_params && rc == LLAVA_OK; i++) {
        const llava__tparam *p = &t->p[i];
        int j;
        if (p->group < 0) continue;
        for (j = 0; j < 2; j++) {
            size_t l = strlen(p->name) + 16;
            names[k] = (char *)LLAVA_MALLOC(l);
            if (!names[k]) {
                rc = llava__err("out of memory");
                break;
            }
            snprintf(names[k], l, "%s.%s", p->name, j ? "exp_avg_sq" : "exp_avg");
            e[k].name = names[k];
            e[k].dtype = LLAVA_F32;
            e[k].ndim = 1;
            e[k].shape[0] = (int64_t)p->n;
            e[k].data = j ? p->v : p->m;
            k++;
        }
    }
    char *path = llava__path_join(dir, "optimizer.safetensors");
    if (rc == LLAVA_OK) rc = path ? llava__st_write(path, e, k) : llava__err("out of memory");
    LLAVA_FREE(path);
    for (i = 0; i < k; i++) LLAVA_FREE(names[i]);
    LLAVA_FREE(names), LLAVA_FREE(e);
    if (rc == LLAVA_OK) {
        char b[4096];
        size_t l = (size_t)snprintf(b, sizeof b,
                                    "{\n  \"format\": \"llava.h trainer state\",\n  \"version\": 1,\n  \"step\": %d,\n  \"stage\": %d,\n"
                                    "  \"total_steps\": %d,\n  \"lr\": %.9g,\n  \"warmup_ratio\": %.9g,\n  \"max_grad_norm\": %.9g,\n"
                                    "  \"betas\": [%.9g, %.9g],\n  \"eps\": %.9g,\n  \"groups\": [",
                                    t->step, t->opt.stage, t->opt.total_steps, t->opt.lr, t->opt.warmup_ratio, t->opt.max_grad_norm,
                                    t->opt.beta1, t->opt.beta2, t->opt.eps);
        for (i = 0; i < t->n_groups && l < sizeof b - 256; i++)
            l += (size_t)snprintf(b + l, sizeof b - l, "%s{\"prefix\": \"%s\", \"lr\": %.9g, \"weight_decay\": %.9g}", i ? ", " : "",
                                  t->groups[i].prefix, t->groups[i].lr, t->groups[i].wd);
        snprintf(b + l, sizeof b - l, "]\n}\n");
        char *sp = llava__path_join(dir, "trainer_state.json");
        rc = sp ? llava__write_text(sp, b) : llava__err("out of memory");
        LLAVA_FREE(sp);
    }
    return rc;
}

LLAVADEF int llava_trainer_resume(LlavaTrainer *t, const char *dir) {
    int rc, i;
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    char *sp = llava__path_join(dir, "trainer_state.json");
    size_t n;
    char *text = sp ? llava__read_text(sp, 1 << 20, &n) : NULL;
    llava__json j;
    rc = text ? llava__json_parse(&j, text, n, sp) : LLAVA_ERR;
    if (rc == LLAVA_OK) {
        const llava__jnode *st = llava__jget(&j, &j.nodes[0], "step"), *gs = llava__jget(&j, &j.nodes[0], "groups");
        if (!st || st->type != LLAVA__JNUM || st->num < 0 || !gs || gs->type != LLAVA__JARR)
            rc = llava__err("%s: no step or groups", sp);
        else if (gs->count != t->n_groups)
            rc = llava__err("%s: saved with %d parameter groups, this trainer has %d", sp, gs->count, t->n_groups);
        else {
            const llava__jnode *g = llava__jfirst(&j, gs);
            for (i = 0; g && rc == LLAVA_OK; g = llava__jnext(&j, g), i++) {
                const llava__jnode *pf = llava__jget(&j, g, "prefix");
                if (!pf || pf->type != LLAVA__JSTR || strcmp(pf->str, t->groups[i].prefix))
                    rc = llava__err("%s: group %d is \"%s\", this trainer's is \"%s\"", sp, i, pf && pf->type == LLAVA__JSTR ? pf->str : "?",
                                    t->groups[i].prefix);
            }
            t->step = (int)st->num;
        }
    }
    if (text) llava__json_free(&j);
    LLAVA_FREE(text), LLAVA_FREE(sp);
    if (rc != LLAVA_OK) return rc;
    llava__tensors ts;
    memset(&ts, 0, sizeof ts);
    char *op = llava__path_join(dir, "optimizer.safetensors");
    rc = op ? llava__st_add(&ts, op) : llava__err("out of memory");
    if (rc == LLAVA_OK) rc = llava__tensors_index(&ts);
    for (i = 0; i < t->n_params && rc == LLAVA_OK; i++) {
        const llava__tparam *p = &t->p[i];
        char nm[160];
        int k;
        if (p->group < 0) continue;
        for (k = 0; k < 2 && rc == LLAVA_OK; k++) {
            snprintf(nm, sizeof nm, "%s.%s", p->name, k ? "exp_avg_sq" : "exp_avg");
            const llava__tensor *tt = llava__tensors_find(&ts, nm);
            if (!tt || tt->dtype != LLAVA_F32 || tt->nbytes != p->n * sizeof(float)) rc = llava__err("%s: missing or misshapen '%s'", op, nm);
            else memcpy(k ? p->v : p->m, tt->data, p->n * sizeof(float));
        }
    }
    llava__tensors_free(&ts);
    LLAVA_FREE(op);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
   10-11. The tokenizer and conversation templates
   ------------------------------------------------------------------------------------------------ */
#ifdef LLAVA_WITH_TOKENIZER_PART
#define LLAVA_PART_IMPL
#include "parts/tokenizer.h"
#undef LLAVA_PART_IMPL
#endif

/* ------------------------------------------------------------------------------------------------
   12. Image loading (stb_image) and preprocessing (CLIPImageProcessor, LLaVA-1.5 pad)
   ------------------------------------------------------------------------------------------------ */
#ifndef LLAVA_NO_STB
#define STBI_MAX_DIMENSIONS (1 << 14)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_MALLOC(sz) LLAVA_MALLOC(sz)
#define STBI_REALLOC(p, sz) LLAVA_REALLOC(p, sz)
#define STBI_FREE(p) LLAVA_FREE(p)
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wconversion"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
/* stb_image declares one static function it never defines; GCC reports that at the end of the file */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#endif

LLAVADEF void llava_image_free(LlavaImage *img) {
    if (!img) return;
    LLAVA_FREE(img->rgb);
    LLAVA_FREE(img->alpha);
    img->rgb = img->alpha = NULL;
    img->width = img->height = 0;
}

LLAVADEF int llava_image_from_rgb(LlavaImage *img, const unsigned char *rgb, int width, int height) {
    memset(img, 0, sizeof *img);
    if (!rgb || width <= 0 || height <= 0 || width > (1 << 15) || height > (1 << 15))
        return llava__err("image: %dx%d RGB data is empty or too large", width, height);
    size_t n = (size_t)width * height * 3;
    img->rgb = (unsigned char *)LLAVA_MALLOC(n);
    if (!img->rgb) return llava__err("image: out of memory");
    memcpy(img->rgb, rgb, n);
    img->width = width;
    img->height = height;
    return LLAVA_OK;
}

LLAVADEF int llava_image_load_memory(LlavaImage *img, const void *data, size_t n) {
    memset(img, 0, sizeof *img);
#ifdef LLAVA_NO_STB
    (void)data;
    (void)n;
    return llava__err("image: built without an image decoder (LLAVA_NO_STB); pass RGB pixels");
#else
    int w, h, comp;
    if (!data || n == 0 || n > 0x7fffffff) return llava__err("image: empty or too large (%zu bytes)", n);
    if (!stbi_info_from_memory((const stbi_uc *)data, (int)n, &w, &h, &comp))
        return llava__err("image: not a JPEG, PNG, BMP or GIF, or corrupt (%s)", stbi_failure_reason());
    /* grayscale is replicated to RGB (as PIL's convert("RGB")), alpha kept apart; GIF: first frame */
    int want = (comp == 2 || comp == 4) ? 4 : 3;
    unsigned char *p = stbi_load_from_memory((const stbi_uc *)data, (int)n, &w, &h, &comp, want);
    if (!p) return llava__err("image: cannot decode (%s)", stbi_failure_reason());
    if (want == 4) {
        size_t i, np = (size_t)w * h;
        img->alpha = (unsigned char *)LLAVA_MALLOC(np);
        img->rgb = (unsigned char *)LLAVA_MALLOC(np * 3);
        if (!img->alpha || !img->rgb) {
            stbi_image_free(p);
            llava_image_free(img);
            return llava__err("image: out of memory");
        }
        for (i = 0; i < np; i++) {
            img->rgb[i * 3] = p[i * 4];
            img->rgb[i * 3 + 1] = p[i * 4 + 1];
            img->rgb[i * 3 + 2] = p[i * 4 + 2];
            img->alpha[i] = p[i * 4 + 3];
        }
        stbi_image_free(p);
    } else {
        img->rgb = p;
    }
    img->width = w;
    img->height = h;
    return LLAVA_OK;
#endif
}

LLAVADEF int llava_image_load(LlavaImage *img, const char *path) {
    llava__file f;
    memset(img, 0, sizeof *img);
    if (llava__file_open(&f, path) != LLAVA_OK) return LLAVA_ERR;
    int rc = llava_image_load_memory(img, f.data, f.size);
    llava__file_close(&f);
    if (rc != LLAVA_OK) {
        char msg[sizeof llava__errbuf];
        memcpy(msg, llava__errbuf, sizeof msg);
        llava__err("%s: %s", path, msg + (strncmp(msg, "image: ", 7) ? 0 : 7));
    }
    return rc;
}

/* Pillow's bicubic filter (a = -0.5) */
static double llava__bicubic(double x) {
    const double a = -0.5;
    if (x < 0) x = -x;
    if (x < 1) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
}

#define LLAVA__PIL_BITS 22 /* Pillow's PRECISION_BITS for 8-bit images: 32 - 8 - 2 */

/* Pillow's resampling coefficients for one axis, in its fixed point: bounds[out][2] = (first input,
   count), kk[out][ksize]. Antialiased: when shrinking, the filter widens by the scale. */
static int llava__resample_coeffs(int in_size, int out_size, int *bounds, int32_t **kk_out, int *ksize_out) {
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale, support = 2.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1, xx, x;
    double *pre = (double *)llava__calloc((size_t)out_size * ksize, sizeof(double));
    int32_t *kk = (int32_t *)llava__calloc((size_t)out_size * ksize, sizeof(int32_t));
    if (!pre || !kk) {
        LLAVA_FREE(pre);
        LLAVA_FREE(kk);
        return llava__err("image: out of memory resizing");
    }
    for (xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax;
        if (xmin < 0) xmin = 0;
        xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double *k = pre + (size_t)xx * ksize;
        for (x = 0; x < xmax; x++) {
            double w = llava__bicubic((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        bounds[xx * 2] = xmin;
        bounds[xx * 2 + 1] = xmax;
    }
    for (x = 0; x < out_size * ksize; x++)
        kk[x] = (int32_t)(pre[x] < 0 ? (-0.5 + pre[x] * (1 << LLAVA__PIL_BITS)) : (0.5 + pre[x] * (1 << LLAVA__PIL_BITS)));
    LLAVA_FREE(pre);
    *kk_out = kk;
    *ksize_out = ksize;
    return LLAVA_OK;
}

static unsigned char llava__clip8(int64_t ss) {
    int64_t v = ss >> LLAVA__PIL_BITS; /* arithmetic shift: floor */
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* src [h][w][3] -> dst [nh][nw][3], bit-exact with Pillow's Image.resize(BICUBIC) on RGB:
   a horizontal pass into an 8-bit intermediate, then a vertical pass */
static int llava__resize_bicubic(const unsigned char *src, int w, int h, unsigned char *dst, int nw, int nh) {
    int *bx = (int *)LLAVA_MALLOC((size_t)nw * 2 * sizeof(int)), *by = (int *)LLAVA_MALLOC((size_t)nh * 2 * sizeof(int));
    int32_t *kx = NULL, *ky = NULL;
    int ksx = 0, ksy = 0, x, y, c, i;
    unsigned char *tmp = (unsigned char *)LLAVA_MALLOC((size_t)nw * h * 3);
    int rc = (!bx || !by || !tmp) ? llava__err("image: out of memory resizing") : LLAVA_OK;
    if (rc == LLAVA_OK) rc = llava__resample_coeffs(w, nw, bx, &kx, &ksx);
    if (rc == LLAVA_OK) rc = llava__resample_coeffs(h, nh, by, &ky, &ksy);
    if (rc == LLAVA_OK) {
        for (y = 0; y < h; y++)
            for (x = 0; x < nw; x++) {
                const int32_t *k = kx + (size_t)x * ksx;
                for (c = 0; c < 3; c++) {
                    int64_t ss = 1 << (LLAVA__PIL_BITS - 1);
                    for (i = 0; i < bx[2 * x + 1]; i++) ss += (int64_t)src[((size_t)y * w + bx[2 * x] + i) * 3 + c] * k[i];
                    tmp[((size_t)y * nw + x) * 3 + c] = llava__clip8(ss);
                }
            }
        for (y = 0; y < nh; y++) {
            const int32_t *k = ky + (size_t)y * ksy;
            for (x = 0; x < nw; x++)
                for (c = 0; c < 3; c++) {
                    int64_t ss = 1 << (LLAVA__PIL_BITS - 1);
                    for (i = 0; i < by[2 * y + 1]; i++) ss += (int64_t)tmp[((size_t)(by[2 * y] + i) * nw + x) * 3 + c] * k[i];
                    dst[((size_t)y * nw + x) * 3 + c] = llava__clip8(ss);
                }
        }
    }
    LLAVA_FREE(bx);
    LLAVA_FREE(by);
    LLAVA_FREE(kx);
    LLAVA_FREE(ky);
    LLAVA_FREE(tmp);
    return rc;
}

LLAVADEF int llava_preprocess(const LlavaConfig *cfg, const LlavaImage *img, LlavaPreMode mode, float *pixels) {
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0) return llava__err("image: empty");
    const int pad = mode == LLAVA_PRE_DEFAULT ? cfg->pre_pad : mode == LLAVA_PRE_PAD;
    int w = img->width, h = img->height, x, y, c;
    const unsigned char *src = img->rgb;
    unsigned char *sq = NULL, *rs = NULL, *wh = NULL;
    int rc = LLAVA_OK;
    if (img->alpha && cfg->pre_alpha_white) {
        /* transformers 5.x convert_rgb: Image.alpha_composite onto opaque white, in Pillow's integer math */
        size_t i, np = (size_t)w * h;
        if (!(wh = (unsigned char *)LLAVA_MALLOC(np * 3))) return llava__err("image: out of memory");
        for (i = 0; i < np * 3; i++) {
            uint32_t a = img->alpha[i / 3], t;
            if (a == 0) {
                wh[i] = 255;
                continue;
            }
            t = (uint32_t)img->rgb[i] * (a * 128) + 255u * (255u - a) * 128u + (128u << 7);
            wh[i] = (unsigned char)((((t >> 8) + t) >> 8) >> 7);
        }
        src = wh;
    }
    /* LLaVA-1.5 expand2square: centre the image on a square of the mean colour, int(mean * 255) */
    if (pad && w != h) {
        int side = LLAVA__MAX(w, h), ox = w > h ? 0 : (h - w) / 2, oy = w > h ? (w - h) / 2 : 0;
        sq = (unsigned char *)LLAVA_MALLOC((size_t)side * side * 3);
        if (!sq) return llava__err("image: out of memory");
        for (y = 0; y < side * side; y++)
            for (c = 0; c < 3; c++) sq[(size_t)y * 3 + c] = (unsigned char)(int)(cfg->pre_mean[c] * 255.0);
        for (y = 0; y < h; y++) memcpy(sq + ((size_t)(y + oy) * side + ox) * 3, src + (size_t)y * w * 3, (size_t)w * 3);
        src = sq;
        w = h = side;
    }
    /* resize: shortest edge to `size` (the long edge int(size * long / short)), or to exactly h x w */
    if (cfg->pre_do_resize) {
        int nw, nh;
        if (cfg->pre_resize_short > 0) {
            int s = cfg->pre_resize_short;
            if (w <= h) {
                nw = s;
                nh = (int)((double)s * h / w);
            } else {
                nh = s;
                nw = (int)((double)s * w / h);
            }
        } else {
            nw = cfg->pre_resize_w;
            nh = cfg->pre_resize_h;
        }
        if (nw <= 0 || nh <= 0 || (size_t)nw * nh > (size_t)1 << 28) rc = llava__err("image: resize to %dx%d is out of range", nw, nh);
        if (rc == LLAVA_OK && !(rs = (unsigned char *)LLAVA_MALLOC((size_t)nw * nh * 3))) rc = llava__err("image: out of memory");
        if (rc == LLAVA_OK) rc = llava__resize_bicubic(src, w, h, rs, nw, nh);
        src = rs;
        w = nw;
        h = nh;
    }
    const int oh = cfg->pre_crop_h, ow = cfg->pre_crop_w;
    int top = 0, left = 0;
    if (rc == LLAVA_OK && cfg->pre_do_crop) { /* center crop: offsets (h - crop_h) // 2, (w - crop_w) // 2 */
        top = (h - oh) >= 0 ? (h - oh) / 2 : -((oh - h + 1) / 2);
        left = (w - ow) >= 0 ? (w - ow) / 2 : -((ow - w + 1) / 2);
    } else if (rc == LLAVA_OK && (w != ow || h != oh)) {
        rc = llava__err("image: preprocessing gives %dx%d but %dx%d is needed (enable resize or crop)", w, h, ow, oh);
    }
    if (rc == LLAVA_OK) {
        for (c = 0; c < 3; c++)
            for (y = 0; y < oh; y++)
                for (x = 0; x < ow; x++) {
                    int sy = y + top, sx = x + left;
                    float v = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? (float)src[((size_t)sy * w + sx) * 3 + c] : 0.0f;
                    if (cfg->pre_do_rescale) v *= cfg->pre_rescale;
                    if (cfg->pre_do_normalize) v = (v - cfg->pre_mean[c]) / cfg->pre_std[c];
                    pixels[((size_t)c * oh + y) * ow + x] = v;
                }
    }
    LLAVA_FREE(sq);
    LLAVA_FREE(rs);
    LLAVA_FREE(wh);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
   13. Sampling and generation
   ------------------------------------------------------------------------------------------------ */
LLAVADEF int llava_argmax(const float *x, int n) {
    int i, best = 0;
    for (i = 1; i < n; i++)
        if (x[i] > x[best]) best = i; /* first of equal maxima, as torch.argmax */
    return best;
}

LLAVADEF void llava_sampler_init(LlavaSampler *s, const LlavaSampling *params) {
    memset(s, 0, sizeof *s);
    if (params) s->s = *params;
    s->rng = s->s.seed ? s->s.seed : 0x853c49e6748fea9bull;
}

LLAVADEF void llava_sampler_free(LlavaSampler *s) {
    LLAVA_FREE(s->cand);
    s->cand = NULL;
    s->cap = 0;
}

static int llava__cand_desc(const void *a, const void *b) {
    const LlavaCandidate *x = (const LlavaCandidate *)a, *y = (const LlavaCandidate *)b;
    return x->p > y->p ? -1 : x->p < y->p ? 1 : (x->id > y->id) - (x->id < y->id);
}

LLAVADEF int llava_sample(LlavaSampler *s, const float *logits, int V) {
    int i, n;
    if (s->s.temperature <= 0.0f || V <= 1) return llava_argmax(logits, V);
    if (s->cap < V) {
        LlavaCandidate *c = (LlavaCandidate *)LLAVA_REALLOC(s->cand, (size_t)V * sizeof *c);
        if (!c) return llava_argmax(logits, V); /* out of memory: fall back to greedy */
        s->cand = c;
        s->cap = V;
    }
    LlavaCandidate *c = s->cand;
    float mx = logits[llava_argmax(logits, V)];
    double sum = 0.0;
    for (i = 0; i < V; i++) {
        c[i].p = expf((logits[i] - mx) / s->s.temperature);
        c[i].id = i;
        sum += c[i].p;
    }
    n = V;
    if ((s->s.top_k > 0 && s->s.top_k < V) || (s->s.top_p > 0.0f && s->s.top_p < 1.0f)) {
        qsort(c, (size_t)V, sizeof *c, llava__cand_desc); /* most probable first */
        if (s->s.top_k > 0 && s->s.top_k < n) n = s->s.top_k;
        if (s->s.top_p > 0.0f && s->s.top_p < 1.0f) { /* smallest prefix holding top_p of the mass */
            double cum = 0.0;
            for (i = 0; i < n; i++) {
                cum += c[i].p / sum;
                if (cum >= s->s.top_p) {
                    n = i + 1;
                    break;
                }
            }
        }
        sum = 0.0;
        for (i = 0; i < n; i++) sum += c[i].p;
    }
    double u = llava__rng_uniform(&s->rng) * sum, cum = 0.0;
    for (i = 0; i < n; i++) {
        cum += c[i].p;
        if (u < cum) return c[i].id;
    }
    return c[n - 1].id;
}

LLAVADEF int llava_generate(LlavaContext *c, const int *ids, int n_ids, const float *pixels, int n_images,
                            const LlavaSampling *params, int max_new, int *out, int *n_out, LlavaTokenCallback cb, void *user) {
    const LlavaConfig *cfg = &c->m->cfg;
    LlavaSampler s;
    int i, k, rc = LLAVA_OK;
    *n_out = 0;
    if (n_ids > 0) {
        if (llava_eval(c, ids, n_ids, pixels, n_images, NULL) < 0) return LLAVA_ERR;
    } else if (c->n_past == 0) {
        return llava__err("llava_generate: empty prompt and empty context");
    }
    llava_sampler_init(&s, params);
    const float *logits = c->logits;
    for (i = 0; i < max_new; i++) {
        int tok = llava_sample(&s, logits, cfg->text_vocab), eos = 0;
        out[(*n_out)++] = tok;
        for (k = 0; k < cfg->n_eos; k++) eos |= tok == cfg->eos_ids[k];
        if (cb && cb(tok, user)) break;
        if ((eos && !s.s.ignore_eos) || i + 1 == max_new) break;
        if (!(logits = llava_step(c, tok))) {
            rc = LLAVA_ERR;
            break;
        }
    }
    llava_sampler_free(&s);
    return rc;
}

#endif /* LLAVA__IMPLEMENTED */
#endif /* LLAVA_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the llava.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
