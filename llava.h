/* llava.h - v0.1.0 - LLaVA (Visual Instruction Tuning) in one C header. MIT license, see end of file.

   A CLIP ViT vision tower, a projector (linear or MLP) and a LLaMA-family decoder, loaded directly
   from Hugging Face model directories (config.json + safetensors), with numbers matching transformers'
   LlavaForConditionalGeneration; the tokenizer (tokenizer.json) and LLaVA's conversation templates;
   and the two-stage training recipe (backward passes for every layer, AdamW, checkpoints that
   transformers loads).

   USAGE
     In exactly one C or C++ file:
         #define LLAVA_IMPLEMENTATION
         #include "llava.h"
     everywhere else just #include "llava.h". Link with -lm, add -fopenmp for threads.
     Images are decoded with stb_image from Debian's libstb-dev (#include <stb/stb_image.h>);
     #define LLAVA_NO_STB to build without a decoder (then pass raw RGB with llava_image_from_rgb).

   EXAMPLE (examples/simple.c is the same, whole, with every error checked)
         LlavaModel *m = llava_model_load("llava-1.5-7b-hf");           // NULL: see llava_last_error()
         LlavaTokenizer *tok = llava_tokenizer_load("llava-1.5-7b-hf");
         LlavaContext *c = llava_context_new(m, 0);                      // one conversation; 0: the model's length
         const LlavaConfig *cfg = llava_model_config(m);
         float *pixels = malloc(sizeof(float) * 3 * cfg->pre_crop_h * cfg->pre_crop_w);
         LlavaImage img;
         llava_image_load(&img, "photo.jpg");
         llava_preprocess(cfg, &img, LLAVA_PRE_DEFAULT, pixels);         // as CLIPImageProcessor does
         // llava-hf prompts hold the image token once per feature row (llava_image_tokens), as
         // transformers expands it; models whose config says it expands take it once
         const int repeat = cfg->image_token_expands ? 1 : llava_image_tokens(m);
         LlavaMessage msg = {"user", "<image>\nWhat is in the picture?"};
         int ids[1024], out[256], n_out;
         int n = llava_template_tokenize(tok, LLAVA_TEMPLATE_LLAVA_HF, &msg, 1, 1, cfg->image_token_id, repeat,
                                         "prompt", ids, NULL, 1024);
         LlavaSampling sampling = {0};                                    // temperature 0: greedy
         llava_generate(c, ids, n, pixels, 1, &sampling, 256, out, &n_out, NULL, NULL);
         // out[0..n_out) -> text: llava_detokenize, or a LlavaDecoder token by token

     Training (train_example.c is the whole two-stage recipe):
         LlavaTrainOptions opts;
         llava_train_defaults(&opts, 2);                  // stage 1: projector; 2: + language model
         opts.total_steps = 1000;
         LlavaTrainer *t = llava_trainer_new(m, &opts);
         LlavaMessage msgs[2] = {{"user", "<image>\nWhat is it?"}, {"assistant", "A red circle."}};
         int labels[1024];                                // the answer's ids; LLAVA_IGNORE_INDEX elsewhere
         n = llava_template_tokenize(tok, LLAVA_TEMPLATE_VICUNA_V1, msgs, 2, 0, cfg->image_token_id, repeat,
                                     "sample 1", ids, labels, 1024);
         LlavaSample sample = {ids, labels, n, pixels, 1};
         LlavaStepStats st;
         llava_trainer_step(t, &sample, 1, &st);          // forward, backward, AdamW; st.loss
         llava_trainer_save(t, "checkpoint-100");         // Hugging Face layout + optimizer state

   OPTIONS (define before the implementation)
     LLAVA_STATIC                         make every function static to the including file
     LLAVA_MALLOC/LLAVA_REALLOC/LLAVA_FREE  your allocator (all three or none)
     LLAVA_ASSERT(x)                      your assert, for programming errors inside the library
     LLAVA_NO_STB                         no image decoder
     LLAVA_MAX_IMAGE_PIXELS               largest image decoded or padded, width x height (default 2^26)

   ERRORS
     Functions return LLAVA_OK (0) / a count, or -1 / NULL on failure, and set a message that
     llava_last_error() returns (thread-local). Nothing in the library exits or aborts on bad input.

   BACKENDS
     A model runs on a backend (LlavaBackend, the public interface near the end of the declarations):
     the CPU backend built in, or another translation unit's. Weights, the KV cache and the working memory
     of a context live in the backend's memory, carved once when the context is made; a decode step sends
     one token id and receives the logits. Choose with llava_model_load_params:
         LlavaLoadParams lp;
         llava_load_params_default(&lp);                   // lp.backend NULL: a CPU backend of the model's own
         lp.precision = LLAVA_PREC_BF16;                   // products in bf16 with f32 sums (AMX where present)
         LlavaModel *m = llava_model_load_params("llava-1.5-7b-hf", &lp);
     A trainer keeps its f32 parameters, gradients and AdamW moments there too: a training step sends its
     batch (pixels, each position's embedding row and target) and receives the loss and the gradient's
     norm; saving downloads. llava_trainer_param gives backend addresses, llava_trainer_read host copies.

   SHAPES used in comments: T tokens (rows of a sequence), C text width, V vocab, S image side, ps patch
   side, G = S / ps patches per side, P = G * G image patches, N = P + 1 rows per image (the CLS row
   first), R = n * N rows of n images, K = 3 * ps * ps values per patch, D vision width, Hv vision heads,
   Iv vision MLP width, H heads, KVH key/value heads, Dh head width, I MLP width, OC output features of a
   product, F feature rows spliced into a sequence.
*/
#ifndef LLAVA_H
#define LLAVA_H

#include <stddef.h>
#include <stdint.h>

#ifdef LLAVA_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define LLAVADEF static __attribute__((unused)) /* a file that calls only some of them gets no warnings */
#else
#define LLAVADEF static
#endif
#else
#define LLAVADEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define LLAVA_VERSION "0.1.0"
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
    /* 1: a language model alone (a GGUF text model loaded without an mmproj file): no vision tower or
       projector, the vision_* and proj_* fields are 0, images are refused, llava_image_tokens is 0 */
    int text_only;
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

/* model: a LLaVA directory (llava-hf's LlavaForConditionalGeneration, or the original repository's
   layout), or a language model alone (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM: config
   text_only = 1, prompts without images) */
LLAVADEF LlavaModel *llava_model_load(const char *dir);
/* llama.cpp's files: a GGUF language model (general.architecture "llama"; F32, F16, BF16 kept as stored,
   Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K dequantized to f32 at load) and, for images, the CLIP
   mmproj GGUF that llama.cpp's LLaVA converter writes (projector "mlp"); mmproj_gguf NULL loads the
   language model alone (config text_only = 1). llava_model_load(path) takes a .gguf file too (text only). */
LLAVADEF LlavaModel *llava_model_load_gguf(const char *model_gguf, const char *mmproj_gguf);
LLAVADEF void llava_model_free(LlavaModel *m);
LLAVADEF const LlavaConfig *llava_model_config(const LlavaModel *m);
/* Replaces the projector's weights with a stage-1 checkpoint's, as the original LLaVA's
   --pretrain_mm_mlp_adapter does: its mm_projector.bin (keys [model.]mm_projector.0.weight, .0.bias,
   .2.weight, .2.bias; .weight and .bias for a linear projector) or the same in safetensors (by the
   .safetensors extension), or llava-hf keys ([model.]multi_modal_projector.linear_1.weight ...).
   Shapes are checked against the config; on failure the model is unchanged. Call it before a trainer's
   first step (the trainer copies the weights it trains then). */
LLAVADEF int llava_model_load_projector(LlavaModel *m, const char *path);
/* Matrix products in bfloat16 (operands rounded to bf16, sums in f32), as LLaVA trains: on = 1 for the
   model's forward and backward passes from now on, 0 for f32 again (the backend's precision). On the CPU
   they run on AMX where the CPU has it and the build targets it (-march=native on such a CPU), else the
   rounding is emulated (slower than f32). Returns LLAVA_OK. */
LLAVADEF int llava_use_bf16(LlavaModel *m, int on);
LLAVADEF int llava_bf16_native(void); /* 1 where llava_use_bf16's products run on AMX, else 0 */
LLAVADEF const char *llava_backend_name(const LlavaModel *m); /* the CPU's: "cpu", "cpu-bf16" or "cpu-bf16-amx" */
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
/* the same with the images already encoded: features [n_images][llava_image_tokens][C] from
   llava_encode_image (so an image is encoded once, or timed on its own) */
LLAVADEF int llava_eval_features(LlavaContext *c, const int *ids, int n_ids, const float *features, int n_images, float *all_logits);
LLAVADEF const float *llava_logits(const LlavaContext *c); /* [V] */
/* image + prompt ids -> next-token logits [V] (resets the context first) */
LLAVADEF const float *llava_prompt(LlavaContext *c, const int *ids, int n_ids, const float *pixels, int n_images);
/* continue by one token -> next-token logits [V] */
LLAVADEF const float *llava_step(LlavaContext *c, int token);

/* sampling and generation */
LLAVADEF void llava_sampler_init(LlavaSampler *s, const LlavaSampling *params);
LLAVADEF void llava_sampler_free(LlavaSampler *s);
/* the next token from logits [V]; -1 when out of memory (sampling with a temperature holds V candidates) */
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
/* parameters in a fixed order: safetensors key, data, gradient (NULL when frozen), element count. data
   and grad are addresses of the model's backend (llava_model_backend), host memory on the CPU backend;
   data is the f32 master copy when trainable, the loaded tensor when frozen and f32, else NULL */
LLAVADEF int llava_trainer_n_params(const LlavaTrainer *t);
LLAVADEF const char *llava_trainer_param(const LlavaTrainer *t, int i, const float **data, const float **grad, size_t *n);
/* parameter i copied to host memory as f32, on any backend: data [n] (frozen ones converted), grad [n]
   (an error when frozen); either may be NULL */
LLAVADEF int llava_trainer_read(const LlavaTrainer *t, int i, float *data, float *grad);
/* the model in Hugging Face's layout (config.json, model.safetensors, preprocessor and tokenizer files),
   weights as F32 or BF16. Atomic (POSIX): written whole into dir.llava-partial, then swapped in with
   renames, so an interrupted save leaves the previous dir or the new one, complete (dir.llava-old while
   dir is missing, where llava_model_load, llava_tokenizer_load and llava_trainer_resume look); files of
   the previous dir that a save does not write are kept. dir names a directory in an existing parent */
LLAVADEF int llava_model_save(LlavaModel *m, const char *dir, LlavaDType dtype);
/* a model of the given configuration with fresh weights (as transformers initializes them: normal with
   std 0.02, norms 1, biases 0), for training from scratch */
LLAVADEF LlavaModel *llava_model_new(const LlavaConfig *cfg, uint64_t seed);
/* A LLaVA assembled as the authors' train.py builds one from --vision_tower and --model_name_or_path:
   - vision: a CLIP directory (CLIPVisionModel, or CLIPModel with its vision_config; preprocessor_config.json
     beside it, else CLIPImageProcessor's defaults) or a LLaVA directory, such as stage 0's output, whose
     tower (every layer its files hold) is taken with its preprocessing;
   - lm: a language model alone (a LlamaForCausalLM-family directory, or a GGUF file, dequantized to f32);
   - a fresh two-layer GELU projector (llava-hf's layout) drawn as transformers initializes it (normal, std
     0.02; biases 0);
   - "<image>" as the LM tokenizer's next id, as llava-hf's convert_llava_weights_to_hf.py adds it: where
     that id is past the embedding, the embedding (and an untied lm_head) grows by a row drawn from a
     normal with the embedding rows' mean and 1e-5 times their covariance.
   The model references both sources' files. llava_model_save then writes an ordinary llava-hf directory
   with the LM's tokenizer files, "<image>" added to tokenizer.json and tokenizer_config.json; for a GGUF
   LM with a byte-level BPE tokenizer (tokenizer.ggml.model gpt2: SmolLM2, Qwen2, LLaMA-3) both files are
   written from the GGUF's metadata (a SentencePiece GGUF's: not yet, saving refuses). vision_feature_layer
   (e.g. -2) and select_full (1: the CLS row too) as in LlavaConfig; seed for the draws (0: 1). */
LLAVADEF LlavaModel *llava_model_assemble(const char *vision, const char *lm, int vision_feature_layer, int select_full, uint64_t seed);
/* model (F32) + optimizer moments + step, so that a run resumes exactly; and the reverse, into a
   trainer made with the same options for a model loaded from that directory. Saved atomically as a
   whole, as llava_model_save: a checkpoint being written never destroys the previous one, and a process
   killed at any instant of the save leaves one of the two, complete, to load and resume */
LLAVADEF int llava_trainer_save(LlavaTrainer *t, const char *dir);
LLAVADEF int llava_trainer_resume(LlavaTrainer *t, const char *dir);
LLAVADEF int llava_trainer_steps_done(const LlavaTrainer *t);

/* --- training a vision tower ---------------------------------------------------------------------
   The CLIP tower's forward pass with its activations kept, and its backward pass, for losses of the
   caller's own (CLIP's contrastive pretraining, fine-tuning the tower for another task): the caller makes
   a loss from the tower's output rows, hands back their gradient, and updates through a trainer whose
   groups cover the tower. N = P + 1 rows per image, the CLS row first.

       LlavaTrainer *t = llava_trainer_new(m, &opts);             // opts.stage 0: no default group
       llava_trainer_add_group(t, "vision_tower.", lr, wd);
       LlavaTowerCache *a = llava_tower_cache_new(t, n);          // activations of n images
       llava_tower_forward(a, pixels, n, rows);                   // rows [n][N][D]
       ... loss and drows [n][N][D] = dloss/drows ...
       llava_tower_backward(a, drows, NULL);                      // into the trainer's gradients
       llava_trainer_apply(t, loss, &stats);                      // clip, AdamW, zero the gradients

   pixels are host memory; rows, drows, a gradient buffer and llava_trainer_grad's are memory of the
   model's backend (llava_model_backend: host memory on the CPU backend, else the backend's alloc).
*/
typedef struct LlavaTowerCache LlavaTowerCache;
LLAVADEF int llava_tower_layers(const LlavaModel *m); /* encoder layers run (up to vision_feature_layer) */
LLAVADEF int llava_tower_rows(const LlavaModel *m);   /* N */
/* pixels [3][S][S] -> out [N][D]: every row of the last layer run, whatever vision_feature_select_strategy
   says; no activations kept (the inference pass) */
LLAVADEF int llava_tower_encode(LlavaModel *m, const float *pixels, float *out);
/* activations for up to n images at a time. Makes the trainer's parameters its f32 copies (as a first
   step would); NULL with the error set, also when the trainer's groups cover no tower parameter. */
LLAVADEF LlavaTowerCache *llava_tower_cache_new(LlavaTrainer *t, int n);
LLAVADEF void llava_tower_cache_free(LlavaTowerCache *a);
/* pixels[i] [3][S][S] for i < n (n at most the cache's) -> out [n][N][D], every row of the last layer
   run, the activations kept in a; each linear layer is one product over the n images. Caches of one
   model may run at the same time on different threads. */
LLAVADEF int llava_tower_forward(LlavaTowerCache *a, const float *const *pixels, int n, float *out);
/* dout [n][N][D], the loss's gradient with respect to the last forward pass's out -> the gradients of
   the tower's trainable parameters, ADDED to grad: a buffer of llava_tower_grad_size floats, those
   parameters back to back in the trainer's order (llava_trainer_param; the tower's come first), or the
   trainer's own gradients when grad is NULL. With a buffer each, caches may run backward at the same time
   on different threads; adding the buffers into llava_trainer_grad in a fixed order then gives the same
   sum however the work was spread. */
LLAVADEF int llava_tower_backward(LlavaTowerCache *a, const float *dout, float *grad);
LLAVADEF size_t llava_tower_grad_size(const LlavaTowerCache *a);
/* parameter i's gradient [n] (llava_trainer_param's order), to add to or scale before llava_trainer_apply;
   NULL when frozen or before the parameters exist (first step or llava_tower_cache_new) */
LLAVADEF float *llava_trainer_grad(LlavaTrainer *t, int i);
/* the update for gradients made outside llava_trainer_accumulate, already those of the batch's loss (not
   of a sum over tokens): clipping at max_grad_norm, AdamW at the schedule's rate, gradients zeroed; `loss`
   is what st reports (st->tokens is 1). A NaN/Inf loss or gradient stops with an error, nothing changed. */
LLAVADEF int llava_trainer_apply(LlavaTrainer *t, double loss, LlavaStepStats *st);
/* the elements of the parameters the model runs whose key starts with prefix ("vision_tower.",
   "multi_modal_projector.", "language_model.", "" for all) */
LLAVADEF size_t llava_model_n_params(LlavaModel *m, const char *prefix);
/* A tensor the model loaded but does not run, such as the tower's post_layernorm (CLIP's image embedding
   reads it; LLaVA does not): name as llava-hf spells it ("vision_tower.vision_model.post_layernorm.weight",
   looked up wherever the tower's tensors came from) or as the model's files do -> out [n] as f32.
   -1 with the error set when it is missing or does not have n elements. */
LLAVADEF int llava_model_read_tensor(const LlavaModel *m, const char *name, float *out, size_t n);
typedef struct LlavaTensor {
    const char *name;  /* llava-hf's key */
    const float *data; /* f32, shape[0] x ... x shape[ndim-1] */
    int ndim;
    int64_t shape[4];
} LlavaTensor;
/* llava_model_save with tensors the model does not run written beside its own (in the checkpoint's
   layout, converted to dt); each replaces a tensor of that name that saving copies from the loaded files */
LLAVADEF int llava_model_save_with(LlavaModel *m, const char *dir, LlavaDType dt, const LlavaTensor *extra, int n_extra);

/* --- tokenizer --------------------------------------------------------------------------------
   Hugging Face tokenizer.json (+ tokenizer_config.json beside it), encoding and decoding exactly as
   the `tokenizers` library does, for the BPE models LLaVA checkpoints ship: SentencePiece-style with
   byte fallback (LLaMA, Vicuna, Mistral) and byte-level (GPT-2, Qwen2, LLaMA-3). */
typedef struct LlavaTokenizer LlavaTokenizer;

#define LLAVA_IGNORE_INDEX (-100)     /* label of a position the loss ignores */
#define LLAVA_IMAGE_INDEX (-200)      /* the original LLaVA's image placeholder id */
#define LLAVA_TOKENIZE_MAX_BYTES (64u << 20) /* longest text one llava_tokenize call takes */

/* Loads DIR/tokenizer.json (+ DIR/tokenizer_config.json when present), or a tokenizer.json path
   (then tokenizer_config.json is looked for beside it). Without tokenizer.json, DIR/tokenizer.model (or
   a path ending in .model) is a SentencePiece BPE or Unigram model, encoded and decoded as transformers' slow
   LlamaTokenizer does with the tokenizer_config.json / special_tokens_map.json / added_tokens.json
   beside it (legacy: the config's "legacy", true when absent). A GGUF file gives the tokenizer in its
   tokenizer.ggml.* metadata (byte-level BPE, encoded as `tokenizers` encodes the tokenizer.json it was
   converted from; SentencePiece as llama.cpp encodes and decodes it). NULL on error, with llava_last_error(). */
LLAVADEF LlavaTokenizer *llava_tokenizer_load(const char *dir_or_file);
LLAVADEF void llava_tokenizer_free(LlavaTokenizer *tok);

/* text[len] (UTF-8) -> ids. add_special: add the tokens the configuration says (tokenizer_config's
   add_bos_token/add_eos_token when it names them, else tokenizer.json's post_processor).
   Returns the number of ids. With ids == NULL it only counts. When the text needs more than max_ids
   ids, it fails (-1) with an error naming both numbers. Invalid UTF-8 and texts longer than
   LLAVA_TOKENIZE_MAX_BYTES fail with an error naming the byte offset / the length. */
LLAVADEF int llava_tokenize(const LlavaTokenizer *tok, const char *text, size_t len, int add_special, int *ids, int max_ids);
/* ids -> UTF-8 text as `tokenizers`' decode(ids, skip_special_tokens) makes it. Writes at most cap
   bytes including the terminating NUL and returns the full length (like snprintf), or -1 on an id
   outside the vocabulary. */
LLAVADEF long llava_detokenize(const LlavaTokenizer *tok, const int *ids, int n, int skip_special, char *out, size_t cap);

/* lookups (-1 when absent) */
LLAVADEF int llava_tokenizer_vocab_size(const LlavaTokenizer *tok); /* largest id + 1, added tokens included */
LLAVADEF int llava_token_id(const LlavaTokenizer *tok, const char *token); /* exact token string, e.g. "<image>" */
LLAVADEF const char *llava_token_str(const LlavaTokenizer *tok, int id);   /* the string as the vocabulary spells it */
LLAVADEF int llava_token_is_special(const LlavaTokenizer *tok, int id);
LLAVADEF int llava_tokenizer_bos(const LlavaTokenizer *tok);
LLAVADEF int llava_tokenizer_eos(const LlavaTokenizer *tok);
LLAVADEF int llava_tokenizer_pad(const LlavaTokenizer *tok);
LLAVADEF int llava_tokenizer_unk(const LlavaTokenizer *tok);

/* Streaming decoder: feed generated ids one at a time and get the text they add, as tokenizers'
   DecodeStream does: never half a UTF-8 character, and the SentencePiece leading-space rule applied
   as decode() does for the whole growing sequence. The concatenation of everything push and flush
   return equals llava_detokenize of all ids (one exception: with a legacy tokenizer.model and
   skip_special 0, the space the slow LlamaTokenizer puts before the text that precedes a special token
   comes right before the special token, as the text is out by then). Fields are private. */
typedef struct LlavaDecoder {
    const LlavaTokenizer *tok;
    int skip_special;
    int *ids;          /* [cap] ids not yet settled */
    int n, cap, prefix_index;
    char *prefix;      /* decode(ids[0:prefix_index]) */
    size_t prefix_len;
    char *text;        /* [text_cap] scratch and returned text */
    size_t text_cap;
} LlavaDecoder;
LLAVADEF void llava_decoder_init(LlavaDecoder *d, const LlavaTokenizer *tok, int skip_special);
/* returns the new text (NUL-terminated, possibly empty; valid until the next call), *len its length;
   NULL on error */
LLAVADEF const char *llava_decoder_push(LlavaDecoder *d, int id, size_t *len);
LLAVADEF const char *llava_decoder_flush(LlavaDecoder *d, size_t *len); /* what is still held back */
LLAVADEF void llava_decoder_free(LlavaDecoder *d);

/* BPE trainer: corpus (UTF-8, one sentence per line) -> a SentencePiece-style BPE with byte fallback,
   written to dir/tokenizer.json and dir/tokenizer_config.json (the directory must exist), the way
   LLaMA's files are laid out: <unk> 0, <s> 1, </s> 2, <0x00>..<0xFF> 3..258, the characters (most
   frequent first), the merged tokens, then `specials` as added special tokens with the last ids.
   Deterministic: the same corpus and options give the same files. */
typedef struct LlavaBpeTrainOptions {
    int vocab_size;                 /* total, specials included */
    const char *const *specials;    /* extra special tokens, e.g. {"<image>"}; they get the last ids */
    int n_specials;
    int min_frequency;              /* a pair must occur this often to be merged (0: 2) */
    double character_coverage;      /* share of character occurrences the alphabet covers (0: 0.9995) */
} LlavaBpeTrainOptions;
LLAVADEF int llava_bpe_train(const char *corpus, size_t len, const LlavaBpeTrainOptions *opt, const char *dir);

/* --- conversation templates ----------------------------------------------------------------------
   llava_hf:  the llava-1.5-*-hf chat template: "USER: <image>\n{q} ASSISTANT: {a} USER: ... ASSISTANT:"
   vicuna_v1: LLaVA-1.5's conv_vicuna_v1 (system, "USER: {q} ASSISTANT: {a}</s>")
   llava_v1:  the original LLaVA's conv_llava_v1 (same layout, "human" system prompt)
   plain:     stage-1 pretraining: "<image>{caption}\n"
   chatml:    "<|im_start|>{role}\n{text}<|im_end|>\n" per message, the generation prompt
              "<|im_start|>assistant\n": the chat templates of Qwen2-Instruct and SmolLM2-Instruct, and
              LLaVA-OneVision's (a user message's "<image>" marks become "<image>\n" before its text).
              The template writes the messages it is given and no others: Qwen2's and SmolLM2's Jinja
              templates add a system message of their own when the first message is not one, so a
              program passes that one itself (llava_template_detect finds it in the model's template). */
typedef enum {
    LLAVA_TEMPLATE_LLAVA_HF = 0,
    LLAVA_TEMPLATE_VICUNA_V1,
    LLAVA_TEMPLATE_LLAVA_V1,
    LLAVA_TEMPLATE_PLAIN,
    LLAVA_TEMPLATE_CHATML,
    LLAVA_TEMPLATE_COUNT
} LlavaTemplate;

typedef struct LlavaMessage {
    const char *role; /* "system", "user" or "assistant" (also "human"/"gpt", as LLaVA's data says) */
    const char *text; /* "<image>" in the first user turn marks the image */
} LlavaMessage;

LLAVADEF int llava_template_from_name(const char *name); /* LlavaTemplate, or -1 */
LLAVADEF const char *llava_template_name(LlavaTemplate t);
/* The conversation as the template writes it; add_generation_prompt ends it with the assistant's
   role tag. Returns a NUL-terminated string to release with llava_free_string, or NULL. */
LLAVADEF char *llava_template_render(LlavaTemplate t, const LlavaMessage *msgs, int n_msgs, int add_generation_prompt);
LLAVADEF void llava_free_string(char *s);
/* Renders and tokenizes a conversation for training or for a prompt. ids[max_ids] receive the ids,
   labels (optional, same length) the training targets: the id where the position is part of an
   assistant answer or its end token (vicuna_v1/llava_v1: "</s>"; plain: the caption and its
   newline; llava_hf: the answer text, which that template ends with no token), LLAVA_IGNORE_INDEX
   elsewhere. Each "<image>" becomes image_repeat copies of image_id: with image_id < 0 (the original
   layout, LLAVA_IMAGE_INDEX) the text around it is tokenized piece by piece as the original's
   tokenizer_image_token does; otherwise the whole text is tokenized once and the tokenizer must know
   "<image>" as a token. The rendered text is tokenized once and each answer located in it by byte
   offsets; when an answer's tokens do not line up with its text the call fails with an error naming
   `sample` and the turn, rather than returning a silently masked sample. Returns the count or -1. */
LLAVADEF int llava_template_tokenize(const LlavaTokenizer *tok, LlavaTemplate t, const LlavaMessage *msgs, int n_msgs,
                                     int add_generation_prompt, int image_id, int image_repeat, const char *sample,
                                     int *ids, int *labels, int max_ids);
/* A conversation continued in one context: the ids that msgs[n_done..n_msgs) and the assistant's role tag
   add once the first n_done messages (answers included) are evaluated. n_done 0 gives the whole prompt,
   as llava_template_tokenize with a generation prompt; later turns are the text the template writes past
   what it wrote for the first n_done messages, tokenized with no special tokens added. With ids NULL it
   only counts. Fails when the template writes the earlier turns differently once more follow. Returns
   the count or -1. */
LLAVADEF int llava_template_continue(const LlavaTokenizer *tok, LlavaTemplate t, const LlavaMessage *msgs, int n_done, int n_msgs,
                                     int image_id, int image_repeat, int *ids, int max_ids);
/* The text a template writes right after an assistant answer: its end token and separator ("</s>",
   "<|im_end|>\n", " " for llava_hf, "\n" for plain); "" for an unknown template. A program that
   generated an answer evaluates it before the next turn, so that the context holds what the template
   writes (llava_template_continue starts past it). */
LLAVADEF const char *llava_template_answer_end(LlavaTemplate t);
/* The Jinja chat template a model ships: a GGUF file's tokenizer.chat_template, or, for a directory
   (or a file in it, e.g. tokenizer.json), tokenizer_config.json's "chat_template" (a string, or the
   entry named "default" of a list of {name, template}), else chat_template.json's, else
   chat_template.jinja. Returns a string to release with llava_free_string, or NULL (with
   llava_last_error()) when there is none. */
LLAVADEF char *llava_chat_template_read(const char *path);
/* Which LlavaTemplate a Jinja chat template writes, recognized from its text: "<|im_start|>" and
   "<|im_end|>" -> chatml (Qwen2, Qwen2.5, SmolLM2, LLaVA-OneVision); "ASSISTANT:" with LLaVA-1.5's
   system prompt -> vicuna_v1, with the original's -> llava_v1, without one -> llava_hf. -1 when none
   fits (NULL or another format). With default_system given, *default_system receives the system
   message the Jinja template adds when the conversation has none (a chatml template's string literal
   "<|im_start|>system\n...<|im_end|>", e.g. Qwen2's "You are a helpful assistant"), as a string to
   release with llava_free_string, or NULL when it adds none. */
LLAVADEF int llava_template_detect(const char *chat_template, char **default_system);

/* --- utilities -----------------------------------------------------------------------------------
   What the library itself uses to read its files, public for the programs around it (training data,
   evaluation sets): whole files, a JSON reader, a growable byte buffer, a string -> int map, and the
   random numbers of sampling. */

/* path -> its bytes with a NUL after them (*len the size, not counting it); NULL with an error when the
   file is missing, unreadable or larger than limit bytes. Release with llava_free_string. */
LLAVADEF char *llava_read_file(const char *path, size_t limit, size_t *len);
/* writes text to path through a temporary file and a rename, so that the old file survives a failure */
LLAVADEF int llava_write_text(const char *path, const char *text);
LLAVADEF int llava_copy_file(const char *from, const char *to); /* the same way */
LLAVADEF int llava_file_exists(const char *path);              /* 1 when it can be opened for reading */

/* A JSON document parsed into one flat array of nodes; nodes[0] is the root. The children of an array
   or object are linked through `next` (-1 ends the list); object members carry their key. Strings are
   NUL-terminated and unescaped. Every field is private except those of the nodes. */
typedef enum { LLAVA_JSON_NULL, LLAVA_JSON_BOOL, LLAVA_JSON_NUM, LLAVA_JSON_STR, LLAVA_JSON_ARR, LLAVA_JSON_OBJ } LlavaJsonType;
typedef struct LlavaJsonNode {
    int type;        /* LlavaJsonType */
    int first, next; /* first child, next sibling: indices into nodes, -1 for none */
    int count;       /* children of an array or object */
    double num;      /* numbers; bools as 0/1 */
    const char *str; /* strings */
    const char *key; /* the member's key when the parent is an object, else NULL */
} LlavaJsonNode;
typedef struct LlavaJson {
    LlavaJsonNode *nodes; /* [n] */
    int n, cap;
    char *arena;
    size_t arena_used;
    const char *src, *end, *p, *what;
    int depth;
} LlavaJson;
/* text[n] -> j; `what` names the document in error messages ("data.json: malformed JSON at byte 17:
   ..."). Returns LLAVA_OK or -1; release j with llava_json_free either way. */
LLAVADEF int llava_json_parse(LlavaJson *j, const char *text, size_t n, const char *what);
LLAVADEF void llava_json_free(LlavaJson *j);
/* navigation; each returns NULL where there is nothing (also for a NULL or mistyped node) */
LLAVADEF const LlavaJsonNode *llava_json_get(const LlavaJson *j, const LlavaJsonNode *obj, const char *key);
LLAVADEF const LlavaJsonNode *llava_json_at(const LlavaJson *j, const LlavaJsonNode *arr, int k);
LLAVADEF const LlavaJsonNode *llava_json_first(const LlavaJson *j, const LlavaJsonNode *x);
LLAVADEF const LlavaJsonNode *llava_json_next(const LlavaJson *j, const LlavaJsonNode *x);

/* A growable byte buffer, kept NUL-terminated; start from {0}. After a failed allocation `oom` is set
   and further writes are ignored. */
typedef struct LlavaBuf {
    char *p;
    size_t n, cap;
    int oom;
} LlavaBuf;
LLAVADEF void llava_buf_put(LlavaBuf *b, const void *data, size_t n);
LLAVADEF void llava_buf_puts(LlavaBuf *b, const char *s);
LLAVADEF void llava_buf_printf(LlavaBuf *b, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
LLAVADEF void llava_buf_json_string(LlavaBuf *b, const char *s, size_t n); /* s[n] as a quoted JSON string */
LLAVADEF void llava_buf_free(LlavaBuf *b);

/* A map from byte strings to ints with its own copy of the keys; start from {0}. Entries are numbered
   0..n-1 in insertion order: keys.p + koff[e] is entry e's key (NUL-terminated), val[e] its value. */
typedef struct LlavaStrMap {
    LlavaBuf keys;
    size_t *koff;   /* [n] */
    uint32_t *klen; /* [n] */
    int *val;       /* [n] */
    int n, cap;
    int *slot;      /* [mask+1] entry index, or -1 */
    uint32_t mask;
} LlavaStrMap;
LLAVADEF int llava_strmap_get(const LlavaStrMap *m, const char *key, size_t n);  /* value, or -1 when absent */
LLAVADEF int llava_strmap_find(const LlavaStrMap *m, const char *key, size_t n); /* entry, or -1 */
LLAVADEF int llava_strmap_put(LlavaStrMap *m, const char *key, size_t n, int val); /* entry, or -1: out of memory */
LLAVADEF int llava_strmap_count(LlavaStrMap *m, const char *key, size_t n);     /* value += 1 (new: 1); entry or -1 */
LLAVADEF void llava_strmap_free(LlavaStrMap *m);

/* xorshift64*: the library's random numbers (sampling, fresh weights), reproducible everywhere */
LLAVADEF uint64_t llava_rng_next(uint64_t *state);
LLAVADEF float llava_rng_uniform(uint64_t *state); /* [0, 1), 24 bits */

/* --- layers: the CPU kernels, forward and backward side by side ------------------------------------
   The kernels the model runs on the CPU, for reading and for programs that build models of their own
   (a CLIP text transformer, a small MLP). Arguments come in a fixed order: outputs, inputs, cached
   statistics, sizes. Every array is row-major f32 unless a LlavaWeight says otherwise. A backward pass
   accumulates (+=) into weight and bias gradients, so that gradients sum over a batch; whether it adds
   to or overwrites the input gradient is said at each function. Sizes are not checked beyond asserts:
   the caller passes arrays of the shapes given. Threads (OpenMP) are used where the work is large. */

/* A weight matrix [rows = out features][cols = in features] in its stored dtype (nn.Linear's weight). */
typedef struct LlavaWeight {
    const void *data;
    LlavaDType dtype;
    int rows, cols;
} LlavaWeight;

/* The precision of matrix products: f32, or operands rounded to bfloat16 with f32 sums (as LLaVA trains;
   BF16 runs on AMX tiles where llava_bf16_native(), else the rounding is emulated on the f32 kernel). */
typedef enum { LLAVA_PREC_F32 = 0, LLAVA_PREC_BF16 = 1 } LlavaPrecision;

/* nn.Linear: out[T,OC] = in[T,C] @ w[OC,C]^T + bias[OC] (bias may be NULL); w->rows == OC, w->cols == C */
LLAVADEF void llava_matmul_forward(LlavaPrecision p, float *out, const float *in, const LlavaWeight *w, const float *bias, int T,
                                   int C, int OC);
/* din[T,C] += dout[T,OC] @ w[OC,C];  dw[OC,C] += dout^T @ in[T,C];  db[OC] += sum over t of dout.
   Each output may be NULL (not wanted); all three accumulate. dw is f32 whatever w's dtype. */
LLAVADEF void llava_matmul_backward(LlavaPrecision p, float *din, float *dw, float *db, const float *dout, const float *in,
                                    const LlavaWeight *w, int T, int C, int OC);
/* the same product as llava_matmul_forward, by the naive loop with double sums: the reference to test against */
LLAVADEF void llava_matmul_reference(float *out, const float *in, const LlavaWeight *w, const float *bias, int T, int C, int OC);

/* nn.LayerNorm over rows: out[T,C] = (in - mean) / sqrt(var + eps) * w[C] + b[C] (biased variance).
   mean[T], rstd[T] (1 / sqrt(var + eps)) are kept for the backward pass when not NULL. out may be in. */
LLAVADEF void llava_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w, const float *b, int T,
                                      int C, float eps);
/* din[T,C] += dL/din; dw[C], db[C] += their gradients (any of the three may be NULL); in, mean, rstd as
   the forward pass took and kept them */
LLAVADEF void llava_layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                                       const float *mean, const float *rstd, int T, int C);

/* x[n] = act(x[n]) in place (GELU erf, QuickGELU x sigmoid(1.702 x), GELU tanh, SiLU, ReLU) */
LLAVADEF void llava_act_forward(float *x, size_t n, LlavaAct a);
/* dx[n] = dout[n] * act'(x[n]) (overwritten, not accumulated; dx may be dout), x the input of the forward
   pass (keep a copy: the forward pass works in place) */
LLAVADEF void llava_act_backward(float *dx, const float *dout, const float *x, size_t n, LlavaAct a);

/* Scaled dot-product attention, softmax(q k^T / sqrt(Dh)) v, per head.
   q[T, H*Dh] (T queries), k, v[S, KVH*Dh] (S keys), out[T, H*Dh]; query head h reads key/value head
   h / (H / KVH) (grouped-query attention; KVH == H for plain multi-head). Query t sits at position
   pos0 + t: with causal != 0 it sees keys 0 .. pos0 + t (pos0 + T <= S; pos0 > 0 when earlier keys are
   cached), with causal == 0 all S keys (pos0 unused). probs[H][T][S], when not NULL, receives the
   attention probabilities (0 where masked) for the backward pass. */
LLAVADEF void llava_attention_forward(LlavaPrecision p, float *out, float *probs, const float *q, const float *k, const float *v,
                                      int T, int S, int pos0, int H, int KVH, int Dh, int causal);
/* The backward pass over a whole sequence (S == T, pos0 == 0): from dout[T, H*Dh] and the forward pass's
   probs[H][T][T], q, k, v: dq[T, H*Dh], dk, dv[T, KVH*Dh], all three overwritten. Causal or not is in probs. */
LLAVADEF void llava_attention_backward(LlavaPrecision p, float *dq, float *dk, float *dv, const float *dout, const float *probs,
                                       const float *q, const float *k, const float *v, int T, int H, int KVH, int Dh);

/* torch.optim.AdamW, one step t (counting from 1) over p[n] with moments m[n], v[n] (zero before step 1)
   and gradient g[n]: p -= lr wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
LLAVADEF void llava_adamw(float *p, float *m, float *v, const float *g, size_t n, float lr, float b1, float b2, float eps, float wd,
                          int t);
/* y[n] += x[n] (a residual connection, or the gradient through one) */
LLAVADEF void llava_add(float *y, const float *x, size_t n);

/* --- backends: where a model's memory lives and where its layers run --------------------------------
   A model runs on one backend: the CPU backend built into this header, or another translation unit's
   (llava_cuda.cu). The model code keeps weights, the KV cache and every activation in the backend's
   memory and never reads or writes that memory itself: data moves only through the memory entries, and
   all arithmetic goes through the compute entries. A backend address (void *, float *, int *) is a
   pointer in the backend's own address space; the model code offsets it (p + n) and passes it back,
   nothing more. On the CPU it is host memory, and weights stay where the file is mapped (zero-copy).

   Every entry returns LLAVA_OK, or LLAVA_ERR with the message set (llava_last_error names the entry and
   the size where memory ran out). Shapes are as in the layer functions above, whose semantics the compute
   entries share; a gradient argument that is NULL is not wanted. The mapping to the reference classes
   (transformers): matmul nn.Linear; layernorm nn.LayerNorm; rmsnorm LlamaRMSNorm; rope
   apply_rotary_pos_emb; attention the eager/SDPA attention of CLIPAttention (causal 0) and LlamaAttention
   (causal 1, grouped-query when KVH < H); act / glu ACT2FN and LlamaMLP's act(gate) * up; add the
   residual connections; patchify + patch_positions CLIPVisionEmbeddings (Conv2d patch_embedding as a
   product over flattened patches, then [class_embedding; patches] + position_embedding); embed
   LlamaModel.embed_tokens with LlavaModel's masked_scatter of the image features into the placeholder
   rows; cross_entropy the loss of LlavaForConditionalGeneration (shifted labels, -100 ignored, summed);
   scale_sumsq the norm in clip_grad_norm_; adamw torch.optim.AdamW. */
typedef struct LlavaBackend LlavaBackend;
struct LlavaBackend {
    const char *name;         /* "cpu", "cpu-bf16", "cpu-bf16-amx", ... */
    void *impl;               /* the backend's own state */
    LlavaPrecision precision; /* matrix products and attention: f32, or bf16 operands with f32 sums */
    int host_memory;          /* 1 when backend addresses are host memory the caller may read (the CPU) */
    /* memory: bytes unless said; alloc returns NULL with the error set; free(NULL) does nothing */
    void *(*alloc)(LlavaBackend *b, size_t bytes);
    void (*free)(LlavaBackend *b, void *p);
    int (*upload)(LlavaBackend *b, void *dst, const void *host_src, size_t bytes);
    int (*download)(LlavaBackend *b, void *host_dst, const void *src, size_t bytes); /* waits for the work before it */
    int (*copy)(LlavaBackend *b, void *dst, const void *src, size_t bytes);
    int (*fill)(LlavaBackend *b, float *dst, float value, size_t n); /* n floats */
    /* a weight in host memory that stays valid while the model lives (a mapped file): its backend address,
       the host memory itself where the backend can use it in place (the CPU), else a copy; released by unmap */
    const void *(*map)(LlavaBackend *b, const void *host, size_t bytes);
    void (*unmap)(LlavaBackend *b, const void *p);
    void (*destroy)(LlavaBackend *b); /* frees the backend itself */
    /* compute: nn.Linear, forward and both backward products (w in its stored dtype, bias may be NULL) */
    int (*matmul)(LlavaBackend *b, float *out, const float *in, const LlavaWeight *w, const float *bias, int T, int C, int OC);
    int (*matmul_backward)(LlavaBackend *b, float *din, float *dw, float *db, const float *dout, const float *in, const LlavaWeight *w,
                           int T, int C, int OC);
    int (*layernorm)(LlavaBackend *b, float *out, float *mean, float *rstd, const float *in, const float *w, const float *bias, int T,
                     int C, float eps);
    int (*layernorm_backward)(LlavaBackend *b, float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                              const float *mean, const float *rstd, int T, int C);
    int (*rmsnorm)(LlavaBackend *b, float *out, float *rstd, const float *in, const float *w, int T, int C, float eps);
    int (*rmsnorm_backward)(LlavaBackend *b, float *din, float *dw, const float *dout, const float *in, const float *w,
                            const float *rstd, int T, int C);
    /* x[T, nh*Dh] rotated in place, token t at position pos0 + t; inv_freq [Dh/2] */
    int (*rope)(LlavaBackend *b, float *x, const float *inv_freq, int pos0, int T, int nh, int Dh);
    int (*rope_backward)(LlavaBackend *b, float *dx, const float *inv_freq, int pos0, int T, int nh, int Dh);
    /* out[T, H*Dh] = softmax(q k^T / sqrt(Dh)) v as llava_attention_forward. For training, stash (NULL
       otherwise) receives what the backend's backward pass wants of this call: attention_stash(b, T, H)
       floats, whatever the backend chooses (the CPU: the probabilities [H][T][T]; a flash-style kernel:
       each query's log-sum-exp [H][T]). The backward pass (S == T, pos0 == 0) gets the forward's out and
       stash, so the interface asks for no probability matrix. */
    size_t (*attention_stash)(LlavaBackend *b, int T, int H);
    int (*attention)(LlavaBackend *b, float *out, float *stash, const float *q, const float *k, const float *v, int T, int S, int pos0,
                     int H, int KVH, int Dh, int causal);
    int (*attention_backward)(LlavaBackend *b, float *dq, float *dk, float *dv, const float *dout, const float *out, const float *stash,
                              const float *q, const float *k, const float *v, int T, int H, int KVH, int Dh, int causal);
    /* out[n] = act(in[n]) (out may be in); dx[n] = dout * act'(x) (overwritten) */
    int (*act)(LlavaBackend *b, float *out, const float *in, size_t n, LlavaAct a);
    int (*act_backward)(LlavaBackend *b, float *dx, const float *dout, const float *x, size_t n, LlavaAct a);
    /* out[n] = act(gate) * up (out may be gate); its gradients, overwritten */
    int (*glu)(LlavaBackend *b, float *out, const float *gate, const float *up, size_t n, LlavaAct a);
    int (*glu_backward)(LlavaBackend *b, float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n, LlavaAct a);
    /* out[n] = x[n] + y[n] (out may be x or y) */
    int (*add)(LlavaBackend *b, float *out, const float *x, const float *y, size_t n);
    /* x[T, C]: row t is embed's row rows[t] when rows[t] >= 0, else feature row -1 - rows[t] of feat [F, C]
       (the image rows spliced where the placeholders are); rows[T] is backend memory */
    int (*embed)(LlavaBackend *b, float *x, const int *rows, const float *feat, const LlavaWeight *embed, int T, int C);
    /* dembed[V, C] += dx rows by token (in row order), dfeat [F, C] rows = dx rows by feature (either NULL) */
    int (*embed_backward)(LlavaBackend *b, float *dembed, float *dfeat, const float *dx, const int *rows, int T, int C);
    /* pixels [n][3][S][S] -> patches [n*P][3*ps*ps], P = (S/ps)^2, each patch as Conv2d's weight is flattened */
    int (*patchify)(LlavaBackend *b, float *patches, const float *pixels, int n, int S, int ps);
    /* x [n][P+1][D] = [class_emb; pe rows of the image] + pos_emb [P+1][D], pe [n*P][D]; and its backward
       (dclass[D], dpos[P+1][D] accumulated, dpe [n*P][D] overwritten; any may be NULL) */
    int (*patch_positions)(LlavaBackend *b, float *x, const float *pe, const float *class_emb, const float *pos_emb, int n, int P, int D);
    int (*patch_positions_backward)(LlavaBackend *b, float *dclass, float *dpos, float *dpe, const float *dx, int n, int P, int D);
    /* logits [T, V], targets [T] (backend memory; < 0: not supervised): *loss (host) = the sum over
       supervised rows of -log softmax(logits)[target]; dlogits (may be logits) = scale * its gradient,
       0 on rows not supervised */
    int (*cross_entropy)(LlavaBackend *b, double *loss, float *dlogits, const float *logits, const int *targets, int T, int V, float scale);
    /* x[n] *= f; *sumsq (host, may be NULL) = the sum of squares after, the same for any number of threads */
    int (*scale_sumsq)(LlavaBackend *b, double *sumsq, float *x, float f, size_t n);
    /* torch.optim.AdamW, as llava_adamw */
    int (*adamw)(LlavaBackend *b, float *p, float *m, float *v, const float *g, size_t n, float lr, float b1, float b2, float eps,
                 float wd, int t);
};

/* The CPU backend (OpenMP threads; bf16 products on AMX where the CPU has it). llava_backend_free calls
   destroy. The layer functions above are the same kernels without a backend. */
LLAVADEF LlavaBackend *llava_backend_cpu_new(LlavaPrecision precision);
LLAVADEF void llava_backend_free(LlavaBackend *b);

/* How a model is loaded. Zeroed (or llava_load_params_default) is the default: a CPU backend of the
   model's own, f32 products. */
typedef struct LlavaLoadParams {
    LlavaBackend *backend;    /* where the model runs; NULL: a CPU backend the model owns. The caller's backend
                                 must outlive the model */
    LlavaPrecision precision; /* for the model's own CPU backend: LLAVA_PREC_BF16 as llava_use_bf16(m, 1) */
} LlavaLoadParams;
LLAVADEF void llava_load_params_default(LlavaLoadParams *p);
/* llava_model_load (a directory or a .gguf file) with parameters; weights are mapped or uploaded once here */
LLAVADEF LlavaModel *llava_model_load_params(const char *path, const LlavaLoadParams *p);
LLAVADEF LlavaBackend *llava_model_backend(const LlavaModel *m);

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
/* marks the few private helpers that only the tests call, so that everything else stays checked */
#if defined(__GNUC__) || defined(__clang__)
#define LLAVA__MAYBE_UNUSED __attribute__((unused))
#else
#define LLAVA__MAYBE_UNUSED
#endif

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#if defined(__unix__) || defined(__APPLE__)
#define LLAVA__POSIX 1
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
/* lstat, readlink, symlink: declared where POSIX.1-2001 or more is asked for (or by default); without
   them (-std=c11 alone) a symbolic link given as a save's directory is replaced, not followed */
#if defined(__APPLE__) || defined(_GNU_SOURCE) || defined(_DEFAULT_SOURCE) || defined(_BSD_SOURCE) || defined(_XOPEN_SOURCE) || \
    (defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200112L)
#define LLAVA__LSTAT 1
#endif
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
LLAVA__MAYBE_UNUSED static uint16_t llava__f32_to_f16(float f) { /* round to nearest even (the library only reads f16: for tests) */
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
    /* src may sit at an odd address (a safetensors file need not align its tensors): read each element
       through memcpy, which compiles to a plain load */
    const unsigned char *s = (const unsigned char *)src;
    uint16_t h;
    if (t == LLAVA_F32) {
        memcpy(dst, src, n * 4);
    } else if (t == LLAVA_BF16) {
        for (i = 0; i < n; i++) {
            memcpy(&h, s + 2 * i, 2);
            dst[i] = llava__bf16_to_f32(h);
        }
    } else {
        for (i = 0; i < n; i++) {
            memcpy(&h, s + 2 * i, 2);
            dst[i] = llava__f16_to_f32(h);
        }
    }
}

/* --- small RNG (xorshift64*), for sampling and tests -------------------------------------------- */
LLAVADEF uint64_t llava_rng_next(uint64_t *s) {
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
LLAVADEF float llava_rng_uniform(uint64_t *s) { return (float)(llava_rng_next(s) >> 40) * (1.0f / 16777216.0f); }

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
LLAVADEF char *llava_read_file(const char *path, size_t limit, size_t *len) {
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
            if (!nb) { /* (not a shorter file: an error) */
                LLAVA_FREE(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, fp);
        n += got;
        if (got == 0) break;
    }
    fclose(fp);
    if (!buf) {
        llava__err("%s: out of memory reading it (%zu bytes)", path, n + 1 >= cap ? cap * 2 : cap);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

LLAVADEF int llava_file_exists(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (fp) fclose(fp);
    return fp != NULL;
}

/* --- JSON reader --------------------------------------------------------------------------------
   A whole document parsed into a flat array of nodes. Children of arrays and objects are linked
   through `next`; object members carry their key. Strings are unescaped into one arena. */
static int llava__json_fail(LlavaJson *j, const char *msg) {
    return llava__err("%s: malformed JSON at byte %ld: %s", j->what, (long)(j->p - j->src), msg);
}
static void llava__json_ws(LlavaJson *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}
static int llava__json_node(LlavaJson *j, int type) {
    if (j->n == j->cap) {
        int nc = j->cap ? j->cap * 2 : 64;
        LlavaJsonNode *nn = (LlavaJsonNode *)LLAVA_REALLOC(j->nodes, (size_t)nc * sizeof *nn);
        if (!nn) return llava__err("%s: out of memory for %d JSON nodes (%zu bytes)", j->what, nc, (size_t)nc * sizeof *nn), -1;
        j->nodes = nn;
        j->cap = nc;
    }
    LlavaJsonNode *x = &j->nodes[j->n];
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
static const char *llava__json_string(LlavaJson *j) {
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
static int llava__json_value(LlavaJson *j) {
    llava__json_ws(j);
    if (j->p >= j->end) return llava__json_fail(j, "unexpected end"), -1;
    if (++j->depth > 128) return llava__json_fail(j, "nested too deeply"), -1;
    int id = -1;
    char c = *j->p;
    if (c == '{' || c == '[') {
        int obj = c == '{';
        id = llava__json_node(j, obj ? LLAVA_JSON_OBJ : LLAVA_JSON_ARR);
        if (id < 0) return -1;
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
        id = llava__json_node(j, LLAVA_JSON_STR);
        if (id < 0) return -1;
        j->nodes[id].str = s;
    } else if (c == 't' && j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) {
        id = llava__json_node(j, LLAVA_JSON_BOOL);
        if (id < 0) return -1;
        j->nodes[id].num = 1;
        j->p += 4;
    } else if (c == 'f' && j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) {
        id = llava__json_node(j, LLAVA_JSON_BOOL);
        if (id < 0) return -1;
        j->p += 5;
    } else if (c == 'n' && j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) {
        id = llava__json_node(j, LLAVA_JSON_NULL);
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
        id = llava__json_node(j, LLAVA_JSON_NUM);
        if (id < 0) return -1;
        j->nodes[id].num = v;
    } else {
        return llava__json_fail(j, "unexpected character"), -1;
    }
    j->depth--;
    return id;
}
/* parses text[n]; on success the root is node 0 */
LLAVADEF int llava_json_parse(LlavaJson *j, const char *text, size_t n, const char *what) {
    memset(j, 0, sizeof *j);
    j->what = what;
    if (n > LLAVA__LIMIT_JSON) return llava__err("%s: JSON document of %zu bytes is too large", what, n);
    j->arena = (char *)LLAVA_MALLOC(n + 1);
    if (!j->arena) return llava__err("%s: out of memory for its strings (%zu bytes)", what, n + 1);
    j->src = j->p = text;
    j->end = text + n;
    if (llava__json_value(j) < 0) return LLAVA_ERR;
    llava__json_ws(j);
    if (j->p != j->end) return llava__json_fail(j, "trailing characters after the document");
    return LLAVA_OK;
}
LLAVADEF void llava_json_free(LlavaJson *j) {
    LLAVA_FREE(j->nodes);
    LLAVA_FREE(j->arena);
    memset(j, 0, sizeof *j);
}
LLAVADEF const LlavaJsonNode *llava_json_get(const LlavaJson *j, const LlavaJsonNode *obj, const char *key) {
    if (!obj || obj->type != LLAVA_JSON_OBJ) return NULL;
    int i;
    for (i = obj->first; i >= 0; i = j->nodes[i].next)
        if (!strcmp(j->nodes[i].key, key)) return &j->nodes[i];
    return NULL;
}
LLAVADEF const LlavaJsonNode *llava_json_at(const LlavaJson *j, const LlavaJsonNode *arr, int k) {
    if (!arr || (arr->type != LLAVA_JSON_ARR && arr->type != LLAVA_JSON_OBJ)) return NULL;
    int i;
    for (i = arr->first; i >= 0 && k > 0; i = j->nodes[i].next) k--;
    return i >= 0 ? &j->nodes[i] : NULL;
}
LLAVADEF const LlavaJsonNode *llava_json_next(const LlavaJson *j, const LlavaJsonNode *x) {
    return x->next >= 0 ? &j->nodes[x->next] : NULL;
}
LLAVADEF const LlavaJsonNode *llava_json_first(const LlavaJson *j, const LlavaJsonNode *x) {
    return x && x->first >= 0 ? &j->nodes[x->first] : NULL;
}

/* --- growable byte buffer ------------------------------------------------------------------------ */
static int llava__buf_reserve(LlavaBuf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->n + extra + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + extra + 1) nc *= 2;
        char *np = (char *)LLAVA_REALLOC(b->p, nc);
        if (!np) {
            b->oom = 1;
            return -1;
        }
        b->p = np;
        b->cap = nc;
    }
    return 0;
}
LLAVADEF void llava_buf_put(LlavaBuf *b, const void *s, size_t n) {
    if (llava__buf_reserve(b, n)) return;
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
LLAVADEF void llava_buf_puts(LlavaBuf *b, const char *s) { llava_buf_put(b, s, strlen(s)); }
LLAVADEF void llava_buf_printf(LlavaBuf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k > 0 && llava__buf_reserve(b, (size_t)k) == 0) {
        vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap2);
        b->n += (size_t)k;
    }
    va_end(ap2);
}
LLAVADEF void llava_buf_free(LlavaBuf *b) {
    LLAVA_FREE(b->p);
    memset(b, 0, sizeof *b);
}
LLAVADEF void llava_buf_json_string(LlavaBuf *o, const char *s, size_t n) {
    size_t i;
    llava_buf_put(o, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') llava_buf_puts(o, "\\\"");
        else if (c == '\\') llava_buf_puts(o, "\\\\");
        else if (c == '\n') llava_buf_puts(o, "\\n");
        else if (c == '\t') llava_buf_puts(o, "\\t");
        else if (c == '\r') llava_buf_puts(o, "\\r");
        else if (c < 0x20) llava_buf_printf(o, "\\u%04x", c);
        else llava_buf_put(o, s + i, 1);
    }
    llava_buf_put(o, "\"", 1);
}

/* --- string -> int hash map (own copy of the keys) -------------------------------------------------- */

static uint64_t llava__hash(const void *p, size_t n) { /* FNV-1a, then a final mix */
    const unsigned char *s = (const unsigned char *)p;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}
LLAVADEF void llava_strmap_free(LlavaStrMap *m) {
    LLAVA_FREE(m->keys.p);
    LLAVA_FREE(m->koff);
    LLAVA_FREE(m->klen);
    LLAVA_FREE(m->val);
    LLAVA_FREE(m->slot);
    memset(m, 0, sizeof *m);
}
LLAVADEF int llava_strmap_find(const LlavaStrMap *m, const char *k, size_t n) { /* entry or -1 */
    if (!m->slot) return -1;
    uint32_t h = (uint32_t)llava__hash(k, n) & m->mask;
    while (m->slot[h] >= 0) {
        int e = m->slot[h];
        if (m->klen[e] == n && !memcmp(m->keys.p + m->koff[e], k, n)) return e;
        h = (h + 1) & m->mask;
    }
    return -1;
}
LLAVADEF int llava_strmap_get(const LlavaStrMap *m, const char *k, size_t n) { /* value or -1 */
    int e = llava_strmap_find(m, k, n);
    return e < 0 ? -1 : m->val[e];
}
static int llava__strmap_grow(LlavaStrMap *m) {
    uint32_t ns = m->slot ? (m->mask + 1) * 2 : 1024, i;
    int *slot = (int *)LLAVA_MALLOC(ns * sizeof(int));
    if (!slot) return -1;
    for (i = 0; i < ns; i++) slot[i] = -1;
    int e;
    for (e = 0; e < m->n; e++) {
        uint32_t h = (uint32_t)llava__hash(m->keys.p + m->koff[e], m->klen[e]) & (ns - 1);
        while (slot[h] >= 0) h = (h + 1) & (ns - 1);
        slot[h] = e;
    }
    LLAVA_FREE(m->slot);
    m->slot = slot;
    m->mask = ns - 1;
    return 0;
}
/* inserts or overwrites; returns the entry index, or -1 when out of memory */
LLAVADEF int llava_strmap_put(LlavaStrMap *m, const char *k, size_t n, int val) {
    int e = llava_strmap_find(m, k, n);
    if (e >= 0) {
        m->val[e] = val;
        return e;
    }
    if (!m->slot || (uint32_t)(m->n + 1) * 2 > m->mask + 1)
        if (llava__strmap_grow(m)) return -1;
    if (m->n == m->cap) {
        int nc = m->cap ? m->cap * 2 : 256;
        size_t *ko = (size_t *)LLAVA_REALLOC(m->koff, (size_t)nc * sizeof(size_t));
        if (ko) m->koff = ko;
        uint32_t *kl = (uint32_t *)LLAVA_REALLOC(m->klen, (size_t)nc * sizeof(uint32_t));
        if (kl) m->klen = kl;
        int *v = (int *)LLAVA_REALLOC(m->val, (size_t)nc * sizeof(int));
        if (v) m->val = v;
        if (!ko || !kl || !v) return -1;
        m->cap = nc;
    }
    size_t off = m->keys.n;
    llava_buf_put(&m->keys, k, n);
    llava_buf_put(&m->keys, "", 1); /* each key NUL-terminated, so it can be handed out as a string */
    if (m->keys.oom) return -1;
    e = m->n++;
    m->koff[e] = off;
    m->klen[e] = (uint32_t)n;
    m->val[e] = val;
    uint32_t h = (uint32_t)llava__hash(k, n) & m->mask;
    while (m->slot[h] >= 0) h = (h + 1) & m->mask;
    m->slot[h] = e;
    return e;
}
/* counts one more of the key (a new key starts at 1); returns the entry index, or -1 when out of memory */
LLAVADEF int llava_strmap_count(LlavaStrMap *m, const char *k, size_t n) {
    int e = llava_strmap_find(m, k, n);
    if (e < 0) return llava_strmap_put(m, k, n, 1);
    m->val[e]++;
    return e;
}

/* --- safetensors reader ---------------------------------------------------------------------------
   File: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
   then the data. Every field is checked before use: offsets inside the data, sizes matching
   dtype x shape, no two tensors overlapping. */
/* buffers from llava__alloc_aligned that one owner (a tensor table, a model) frees together */
typedef struct {
    void **p;
    int n, cap;
} llava__owned;
/* adds p; p NULL or out of memory is an error (and p is freed) */
static int llava__owned_add(llava__owned *o, void *p) {
    if (!p) return llava__err("out of memory for a tensor's buffer");
    if (o->n == o->cap) {
        int nc = o->cap ? o->cap * 2 : 64;
        void **np = (void **)LLAVA_REALLOC(o->p, (size_t)nc * sizeof *np);
        if (!np) {
            llava__free_aligned(p);
            return llava__err("out of memory for a table of %d buffers (%zu bytes)", nc, (size_t)nc * sizeof *np);
        }
        o->p = np;
        o->cap = nc;
    }
    o->p[o->n++] = p;
    return LLAVA_OK;
}
static void llava__owned_free(llava__owned *o) {
    int i;
    for (i = 0; i < o->n; i++) llava__free_aligned(o->p[i]);
    LLAVA_FREE(o->p);
    memset(o, 0, sizeof *o);
}

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
    llava__owned owned; /* buffers for tensors not mapped from a file (converted, copied) */
} llava__tensors;

/* hands p (from llava__alloc_aligned) to ts, freed with it; p NULL or out of memory is an error (p freed) */
static int llava__tensors_own(llava__tensors *ts, void *p) { return llava__owned_add(&ts->owned, p); }

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

/* adds every tensor of the safetensors file d[size] (shard `shard`, named path in errors) to ts; the
   tensors point into d, which must outlive ts */
static int llava__st_parse(llava__tensors *ts, int shard, const unsigned char *d, size_t size, const char *path) {
    int i;
    if (size < 8) return llava__err("%s: truncated safetensors file (%zu bytes, header length needs 8)", path, size);
    uint64_t hl = 0;
    for (i = 7; i >= 0; i--) hl = (hl << 8) | d[i];
    if (hl > size - 8)
        return llava__err("%s: safetensors header length %llu runs past the end of the file (%zu bytes)", path,
                          (unsigned long long)hl, size);
    if (hl > LLAVA__LIMIT_JSON) return llava__err("%s: safetensors header of %llu bytes is too large", path, (unsigned long long)hl);
    const unsigned char *base = d + 8 + hl;
    uint64_t data_size = size - 8 - hl;
    LlavaJson j;
    if (llava_json_parse(&j, (const char *)d + 8, (size_t)hl, path) != LLAVA_OK) {
        /* padding after the JSON object is allowed: retry up to the last '}' */
        size_t k = (size_t)hl;
        while (k > 0 && (d[8 + k - 1] == ' ' || d[8 + k - 1] == 0)) k--;
        llava_json_free(&j);
        if (k == (size_t)hl || llava_json_parse(&j, (const char *)d + 8, k, path) != LLAVA_OK) {
            llava_json_free(&j);
            return LLAVA_ERR;
        }
    }
    const LlavaJsonNode *root = &j.nodes[0], *e;
    if (root->type != LLAVA_JSON_OBJ) {
        llava_json_free(&j);
        return llava__err("%s: safetensors header is not a JSON object", path);
    }
    llava__span *spans = (llava__span *)llava__calloc((size_t)root->count + 1, sizeof *spans);
    int n_spans = 0, rc = LLAVA_OK;
    if (!spans) rc = llava__err("%s: out of memory for %d tensors (%zu bytes)", path, root->count, ((size_t)root->count + 1) * sizeof *spans);
    for (e = llava_json_first(&j, root); e && rc == LLAVA_OK; e = llava_json_next(&j, e)) {
        if (!strcmp(e->key, "__metadata__")) continue;
        const LlavaJsonNode *dt = llava_json_get(&j, e, "dtype"), *sh_ = llava_json_get(&j, e, "shape"),
                           *off = llava_json_get(&j, e, "data_offsets");
        if (!dt || dt->type != LLAVA_JSON_STR || !sh_ || sh_->type != LLAVA_JSON_ARR || !off || off->type != LLAVA_JSON_ARR ||
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
        const LlavaJsonNode *x;
        int k = 0;
        for (x = llava_json_first(&j, sh_); x; x = llava_json_next(&j, x), k++) {
            if (x->type != LLAVA_JSON_NUM || x->num < 0 || x->num > 9.0e15 || x->num != floor(x->num)) {
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
        const LlavaJsonNode *b = llava_json_at(&j, off, 0), *en = llava_json_at(&j, off, 1);
        if (b->type != LLAVA_JSON_NUM || en->type != LLAVA_JSON_NUM || b->num < 0 || en->num < b->num ||
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
            rc = llava__err("%s: out of memory for a tensor name (%zu bytes)", path, strlen(e->key) + 1);
            break;
        }
        if (ts->n == ts->cap) {
            int nc = ts->cap ? ts->cap * 2 : 256;
            llava__tensor *nt = (llava__tensor *)LLAVA_REALLOC(ts->t, (size_t)nc * sizeof *nt);
            if (!nt) {
                LLAVA_FREE(t.name);
                rc = llava__err("%s: out of memory for the table of %d tensors (%zu bytes)", path, nc, (size_t)nc * sizeof *nt);
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
    llava_json_free(&j);
    return rc;
}

/* adds every tensor of one safetensors file to ts (the file stays mapped while ts lives) */
static int llava__st_add(llava__tensors *ts, const char *path) {
    llava__shard *ns = (llava__shard *)LLAVA_REALLOC(ts->shards, (size_t)(ts->n_shards + 1) * sizeof *ns);
    if (!ns) return llava__err("%s: out of memory for the table of %d files (%zu bytes)", path, ts->n_shards + 1, (size_t)(ts->n_shards + 1) * sizeof *ns);
    ts->shards = ns;
    llava__shard *sh = &ts->shards[ts->n_shards];
    memset(sh, 0, sizeof *sh);
    if (llava__file_open(&sh->f, path) != LLAVA_OK) return LLAVA_ERR;
    sh->path = llava__strdup(path);
    int shard = ts->n_shards++;
    return llava__st_parse(ts, shard, sh->f.data, sh->f.size, path);
}

static void llava__tensors_free(llava__tensors *ts) {
    int i;
    for (i = 0; i < ts->n; i++) LLAVA_FREE(ts->t[i].name);
    llava__owned_free(&ts->owned);
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

/* --- PyTorch checkpoints (.bin): torch.save's zip archive, read with a restricted unpickler ------
   torch.save (PyTorch >= 1.6, _use_new_zipfile_serialization) writes a zip archive of STORED entries:
   <archive>/data.pkl (the pickled object), <archive>/data/<key> (one entry per storage: its raw bytes,
   little-endian), <archive>/byteorder and <archive>/version. Only STORED entries are read (torch
   writes nothing else; refusing compressed ones also refuses zip bombs) and every offset and size is
   checked against the file, ZIP64 records included (a 7B model's shards are larger than 4 GB).
   data.pkl is interpreted, never executed: a small stack machine knows the pickle opcodes a state
   dict uses (protocol 2 as torch.save writes it, plus protocol 4-5 framing) and exactly the globals
   torch.serialization._load resolves for one: collections.OrderedDict, torch._utils._rebuild_tensor_v2
   / _rebuild_parameter, and the storage types in persistent ids ('storage', torch.XStorage, key,
   location, numel). Anything else is refused with a message naming it. Containers are sealed once
   placed inside another object (pickle fills a container before using it), which refuses recursive
   structures; nesting, the stack, the memo and the object count are bounded. */
#define LLAVA__PT_MAX_DEPTH 64        /* nesting of tuples, lists and dicts */
#define LLAVA__PT_MAX_STACK (1 << 15) /* pickle stack and mark stack (a state dict needs ~2000) */
#define LLAVA__PT_MAX_OBJS (1 << 24)  /* objects plus container slots in one data.pkl */
#define LLAVA__PT_MAX_ENTRIES (1 << 22) /* zip entries (one per storage, ~300 in a 7B shard) */

static uint32_t llava__pt_u16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t llava__pt_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t llava__pt_u64(const unsigned char *p) { return (uint64_t)llava__pt_u32(p) | (uint64_t)llava__pt_u32(p + 4) << 32; }

typedef struct {
    const char *name; /* not NUL-terminated (points into the central directory) */
    size_t name_len;
    const unsigned char *data;
    uint64_t size;
} llava__zip_entry;

static int llava__zip_entry_cmp(const void *a, const void *b) {
    const llava__zip_entry *x = (const llava__zip_entry *)a, *y = (const llava__zip_entry *)b;
    size_t n = LLAVA__MIN(x->name_len, y->name_len);
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_len < y->name_len ? -1 : x->name_len > y->name_len);
}

/* the entries of a zip archive (APPNOTE.TXT 4.3), sorted by name; STORED only */
static int llava__zip_read(const unsigned char *d, size_t size, const char *path, llava__zip_entry **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    if (size < 22) return llava__err("%s: not a zip archive (%zu bytes; torch.save writes one since PyTorch 1.6)", path, size);
    /* end of central directory: 22 bytes + a comment of up to 65535, at the end of the file */
    size_t pos = size - 22, stop = size - 22 > 65535 ? size - 22 - 65535 : 0, eocd = (size_t)-1;
    for (;; pos--) {
        if (llava__pt_u32(d + pos) == 0x06054b50u && pos + 22 + llava__pt_u16(d + pos + 20) <= size) {
            eocd = pos;
            break;
        }
        if (pos == stop) break;
    }
    if (eocd == (size_t)-1) {
        if (size >= 2 && d[0] == 0x80 && d[1] <= 5)
            return llava__err("%s: a pickle, not a zip archive: the legacy torch.save format (before PyTorch 1.6) is not "
                              "supported; load and save it again with a current PyTorch", path);
        return llava__err("%s: not a zip archive (no end-of-central-directory record; truncated?)", path);
    }
    const unsigned char *e = d + eocd;
    uint64_t n = llava__pt_u16(e + 10), cd_size = llava__pt_u32(e + 12), cd_off = llava__pt_u32(e + 16);
    uint32_t disk = llava__pt_u16(e + 4), cd_disk = llava__pt_u16(e + 6);
    if (eocd >= 20 && llava__pt_u32(d + eocd - 20) == 0x07064b50u) { /* ZIP64 locator -> ZIP64 end record */
        uint64_t z = llava__pt_u64(d + eocd - 20 + 8);
        if (llava__pt_u32(d + eocd - 20 + 4) != 0 || llava__pt_u32(d + eocd - 20 + 16) > 1)
            return llava__err("%s: a multi-disk zip archive is not supported", path);
        if (z > eocd - 20 || eocd - 20 - z < 56 || llava__pt_u32(d + z) != 0x06064b50u)
            return llava__err("%s: the ZIP64 end-of-central-directory record is missing or lies outside the file", path);
        disk = llava__pt_u32(d + z + 16);
        cd_disk = llava__pt_u32(d + z + 20);
        n = llava__pt_u64(d + z + 32);
        cd_size = llava__pt_u64(d + z + 40);
        cd_off = llava__pt_u64(d + z + 48);
    } else if (n == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        return llava__err("%s: the zip archive needs ZIP64 records but has no ZIP64 locator", path);
    }
    if (disk != 0 || cd_disk != 0) return llava__err("%s: a multi-disk zip archive is not supported", path);
    if (cd_off > size || cd_size > size - cd_off)
        return llava__err("%s: the zip central directory (%llu bytes at %llu) lies outside the file (%zu bytes)", path,
                          (unsigned long long)cd_size, (unsigned long long)cd_off, size);
    if (n > cd_size / 46 || n > LLAVA__PT_MAX_ENTRIES)
        return llava__err("%s: the zip archive claims %llu entries in a central directory of %llu bytes", path,
                          (unsigned long long)n, (unsigned long long)cd_size);
    llava__zip_entry *ents = (llava__zip_entry *)llava__calloc((size_t)n + 1, sizeof *ents);
    if (!ents) return llava__err("%s: out of memory for %llu zip entries (%zu bytes)", path, (unsigned long long)n, ((size_t)n + 1) * sizeof *ents);
    const unsigned char *p = d + cd_off, *cd_end = d + cd_off + cd_size;
    uint64_t i;
    for (i = 0; i < n; i++) {
        if ((size_t)(cd_end - p) < 46 || llava__pt_u32(p) != 0x02014b50u) {
            LLAVA_FREE(ents);
            return llava__err("%s: zip central directory entry %llu is malformed", path, (unsigned long long)i);
        }
        uint32_t flags = llava__pt_u16(p + 8), method = llava__pt_u16(p + 10), nlen = llava__pt_u16(p + 28),
                 xlen = llava__pt_u16(p + 30), clen = llava__pt_u16(p + 32);
        uint64_t csize = llava__pt_u32(p + 20), usize = llava__pt_u32(p + 24), loff = llava__pt_u32(p + 42);
        if ((size_t)(cd_end - p) - 46 < (size_t)nlen + xlen + clen) {
            LLAVA_FREE(ents);
            return llava__err("%s: zip central directory entry %llu runs past the directory", path, (unsigned long long)i);
        }
        const char *name = (const char *)p + 46;
        /* ZIP64 extended information (header 0x0001): the 64-bit values of the fields set to 0xffffffff */
        const unsigned char *x = p + 46 + nlen, *xe = x + xlen;
        int bad = 0;
        while (xe - x >= 4) {
            uint32_t id = llava__pt_u16(x), len = llava__pt_u16(x + 2);
            const unsigned char *v = x + 4;
            if ((size_t)(xe - v) < len) {
                bad = 1;
                break;
            }
            if (id == 0x0001) {
                uint64_t *f[3] = {&usize, &csize, &loff};
                const unsigned char *q = v;
                int j;
                for (j = 0; j < 3 && !bad; j++)
                    if (*f[j] == 0xffffffffu) {
                        if (v + len - q < 8) bad = 1;
                        else *f[j] = llava__pt_u64(q), q += 8;
                    }
                if (bad) break;
            }
            x = v + len;
        }
        if (bad || usize == 0xffffffffu || csize == 0xffffffffu || loff == 0xffffffffu) {
            LLAVA_FREE(ents);
            return llava__err("%s: zip entry '%.*s' has a malformed ZIP64 extra field", path, (int)nlen, name);
        }
        if (flags & 1) {
            LLAVA_FREE(ents);
            return llava__err("%s: zip entry '%.*s' is encrypted", path, (int)nlen, name);
        }
        if (method != 0 || csize != usize) {
            LLAVA_FREE(ents);
            return llava__err("%s: zip entry '%.*s' is compressed (method %u); only stored entries are read, as torch.save "
                              "writes them", path, (int)nlen, name, method);
        }
        /* the local header: its own name and extra field lengths place the data */
        if (loff > size || size - loff < 30 || llava__pt_u32(d + loff) != 0x04034b50u) {
            LLAVA_FREE(ents);
            return llava__err("%s: zip entry '%.*s' has no local header at offset %llu", path, (int)nlen, name, (unsigned long long)loff);
        }
        uint64_t lnlen = llava__pt_u16(d + loff + 26), lxlen = llava__pt_u16(d + loff + 28), data = loff + 30 + lnlen + lxlen;
        if (data > size || usize > size - data) {
            LLAVA_FREE(ents);
            return llava__err("%s: zip entry '%.*s' (%llu bytes at %llu) runs past the end of the file (%zu bytes; truncated?)", path,
                              (int)nlen, name, (unsigned long long)usize, (unsigned long long)data, size);
        }
        if (lnlen != nlen || memcmp(d + loff + 30, name, nlen) != 0) {
            LLAVA_FREE(ents);
            return llava__err("%s: zip entry '%.*s' names another file in its local header", path, (int)nlen, name);
        }
        ents[i].name = name;
        ents[i].name_len = nlen;
        ents[i].data = d + data;
        ents[i].size = usize;
        p += 46 + nlen + xlen + clen;
    }
    if (n > 1) qsort(ents, (size_t)n, sizeof *ents, llava__zip_entry_cmp);
    for (i = 1; i < n; i++)
        if (!llava__zip_entry_cmp(&ents[i - 1], &ents[i])) {
            int rc = llava__err("%s: zip entry '%.*s' occurs twice", path, (int)ents[i].name_len, ents[i].name);
            LLAVA_FREE(ents);
            return rc;
        }
    *out = ents;
    *n_out = (int)n;
    return LLAVA_OK;
}

static const llava__zip_entry *llava__zip_find(const llava__zip_entry *e, int n, const char *a, size_t al, const char *b) {
    char buf[512];
    size_t bl = strlen(b);
    if (al + bl > sizeof buf) return NULL;
    memcpy(buf, a, al);
    memcpy(buf + al, b, bl);
    llava__zip_entry key;
    key.name = buf;
    key.name_len = al + bl;
    return (const llava__zip_entry *)bsearch(&key, e, (size_t)n, sizeof *e, llava__zip_entry_cmp);
}

/* the storage types torch.serialization pickles (torch.<Name>Storage) */
static const struct {
    const char *name, *dtype_name;
    int dtype;
    size_t size;
} llava__pt_storages[] = {
    {"FloatStorage", "F32", LLAVA_F32, 4},  {"HalfStorage", "F16", LLAVA_F16, 2},    {"BFloat16Storage", "BF16", LLAVA_BF16, 2},
    {"DoubleStorage", "F64", -1, 8},        {"LongStorage", "I64", -1, 8},           {"IntStorage", "I32", -1, 4},
    {"ShortStorage", "I16", -1, 2},         {"CharStorage", "I8", -1, 1},            {"ByteStorage", "U8", -1, 1},
    {"BoolStorage", "BOOL", -1, 1},         {"ComplexFloatStorage", "C64", -1, 8},   {"ComplexDoubleStorage", "C128", -1, 16},
    {"Float8_e4m3fnStorage", "F8_E4M3", -1, 1}, {"Float8_e5m2Storage", "F8_E5M2", -1, 1}, {"UInt16Storage", "U16", -1, 2},
    {"UInt32Storage", "U32", -1, 4},        {"UInt64Storage", "U64", -1, 8}};
#define LLAVA__PT_N_STORAGES ((int)(sizeof llava__pt_storages / sizeof llava__pt_storages[0]))

enum { LLAVA__PK_NONE, LLAVA__PK_BOOL, LLAVA__PK_INT, LLAVA__PK_FLOAT, LLAVA__PK_STR, LLAVA__PK_TUPLE, LLAVA__PK_LIST, LLAVA__PK_DICT,
       LLAVA__PK_GLOBAL, LLAVA__PK_STORAGE, LLAVA__PK_TENSOR };
enum { LLAVA__PG_ODICT, LLAVA__PG_REBUILD, LLAVA__PG_PARAM, LLAVA__PG_STORAGE }; /* + storage index */
static const char *const llava__pk_type_names[] = {"None", "bool", "int", "float", "str", "tuple", "list", "dict", "global", "storage", "tensor"};

typedef struct {
    unsigned char type, sealed;
    unsigned short depth;
    int n, cap;  /* children: TUPLE and LIST items, DICT key/value pairs (2 per item) */
    int *kids;
    int64_t i;   /* BOOL, INT; GLOBAL: LLAVA__PG_*; STORAGE, TENSOR: index in their tables */
    double f;
    const char *s; /* STR: into data.pkl, not NUL-terminated */
    size_t len;
} llava__pk_obj;

typedef struct {
    const unsigned char *data;
    uint64_t numel;
    int st; /* index in llava__pt_storages */
} llava__pk_storage;

typedef struct {
    int storage, ndim;
    int64_t offset, shape[LLAVA__MAX_NDIM], stride[LLAVA__MAX_NDIM];
} llava__pk_tensor;

typedef struct {
    const char *path;
    const unsigned char *pkl, *pos, *end;
    const llava__zip_entry *ents;
    int n_ents;
    const char *arch; /* "<archive>/" */
    size_t arch_len;
    llava__pk_obj *o;
    int n_o, cap_o;
    long budget; /* objects + container slots left */
    int *stack, n_stack, *marks, n_marks;
    int *memo, n_memo, cap_memo;
    llava__pk_storage *st;
    int n_st, cap_st;
    llava__pk_tensor *t;
    int n_t, cap_t;
} llava__pk;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static int llava__pk_err(llava__pk *u, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return llava__err("%s: data.pkl at byte %zu: %s", u->path, (size_t)(u->pos - u->pkl), msg);
}

static int llava__pk_grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return LLAVA_OK;
    int nc = *cap ? *cap : 64;
    while (nc < need) nc = nc > INT32_MAX / 2 ? need : nc * 2;
    void *np = LLAVA_REALLOC(*p, (size_t)nc * elem);
    if (!np) return llava__err("out of memory for the unpickler's tables (%zu bytes)", (size_t)nc * elem);
    *p = np;
    *cap = nc;
    return LLAVA_OK;
}

/* a new object of type ty; its index, or -1 */
static int llava__pk_new(llava__pk *u, int ty) {
    if (--u->budget < 0) return llava__pk_err(u, "more than %d objects", LLAVA__PT_MAX_OBJS), -1;
    if (llava__pk_grow((void **)&u->o, &u->cap_o, u->n_o + 1, sizeof *u->o) != LLAVA_OK) return -1;
    llava__pk_obj *o = &u->o[u->n_o];
    memset(o, 0, sizeof *o);
    o->type = (unsigned char)ty;
    o->depth = 1;
    return u->n_o++;
}

static int llava__pk_push(llava__pk *u, int obj) {
    if (obj < 0) return LLAVA_ERR;
    if (u->n_stack >= LLAVA__PT_MAX_STACK) return llava__pk_err(u, "stack deeper than %d", LLAVA__PT_MAX_STACK);
    u->stack[u->n_stack++] = obj;
    return LLAVA_OK;
}
static int llava__pk_pop(llava__pk *u, int *obj) {
    int floor_ = u->n_marks ? u->marks[u->n_marks - 1] : 0;
    if (u->n_stack <= floor_) return llava__pk_err(u, "stack underflow");
    *obj = u->stack[--u->n_stack];
    return LLAVA_OK;
}
/* the stack position of the topmost mark, which is removed */
static int llava__pk_pop_mark(llava__pk *u, int *at) {
    if (!u->n_marks) return llava__pk_err(u, "no MARK on the stack");
    *at = u->marks[--u->n_marks];
    return LLAVA_OK;
}

/* child c goes inside container (or tuple) p: c is sealed from now on; p must not be sealed */
static int llava__pk_adopt(llava__pk *u, int p, int c) {
    llava__pk_obj *po = &u->o[p], *co = &u->o[c];
    if (p == c) return llava__pk_err(u, "a %s is put inside itself (a recursive structure)", llava__pk_type_names[po->type]);
    if (po->sealed) return llava__pk_err(u, "a %s is modified after being placed in another object (a recursive structure)", llava__pk_type_names[po->type]);
    if (co->depth + 1 > LLAVA__PT_MAX_DEPTH) return llava__pk_err(u, "nesting deeper than %d", LLAVA__PT_MAX_DEPTH);
    if (--u->budget < 0) return llava__pk_err(u, "more than %d objects", LLAVA__PT_MAX_OBJS);
    if (llava__pk_grow((void **)&po->kids, &po->cap, po->n + 1, sizeof(int)) != LLAVA_OK) return LLAVA_ERR;
    po = &u->o[p];
    po->kids[po->n++] = c;
    u->o[c].sealed = 1;
    if (u->o[c].depth + 1 > po->depth) po->depth = (unsigned short)(u->o[c].depth + 1);
    return LLAVA_OK;
}

/* a tuple of the stack's items from position at on */
static int llava__pk_tuple(llava__pk *u, int at) {
    int t = llava__pk_new(u, LLAVA__PK_TUPLE), k;
    if (t < 0) return LLAVA_ERR;
    for (k = at; k < u->n_stack; k++)
        if (llava__pk_adopt(u, t, u->stack[k]) != LLAVA_OK) return LLAVA_ERR;
    u->n_stack = at;
    return llava__pk_push(u, t);
}

static int llava__pk_need(llava__pk *u, size_t k, const char *what) {
    if ((size_t)(u->end - u->pos) < k) return llava__pk_err(u, "truncated: %s needs %zu more bytes", what, k);
    return LLAVA_OK;
}

static int llava__pk_str(llava__pk *u, uint64_t len) {
    if (len > (uint64_t)(u->end - u->pos)) return llava__pk_err(u, "truncated: a string of %llu bytes runs past the end", (unsigned long long)len);
    int s = llava__pk_new(u, LLAVA__PK_STR);
    if (s < 0) return LLAVA_ERR;
    u->o[s].s = (const char *)u->pos;
    u->o[s].len = (size_t)len;
    u->pos += len;
    return llava__pk_push(u, s);
}

static int llava__pk_int(llava__pk *u, int64_t v) {
    int s = llava__pk_new(u, LLAVA__PK_INT);
    if (s < 0) return LLAVA_ERR;
    u->o[s].i = v;
    return llava__pk_push(u, s);
}

static int llava__pk_streq(const llava__pk_obj *o, const char *s) {
    return o->type == LLAVA__PK_STR && o->len == strlen(s) && !memcmp(o->s, s, o->len);
}

/* module.name -> an allowed global (pushed), or an error naming it */
static int llava__pk_global(llava__pk *u, const char *mod, size_t ml, const char *nm, size_t nl) {
    int g = -1, k;
#define LLAVA__PK_IS(a, al, s) ((al) == strlen(s) && !memcmp((a), (s), (al)))
    if (LLAVA__PK_IS(mod, ml, "collections") && LLAVA__PK_IS(nm, nl, "OrderedDict")) g = LLAVA__PG_ODICT;
    else if (LLAVA__PK_IS(mod, ml, "torch._utils") && LLAVA__PK_IS(nm, nl, "_rebuild_tensor_v2")) g = LLAVA__PG_REBUILD;
    else if (LLAVA__PK_IS(mod, ml, "torch._utils") && LLAVA__PK_IS(nm, nl, "_rebuild_parameter")) g = LLAVA__PG_PARAM;
    else if (LLAVA__PK_IS(mod, ml, "torch"))
        for (k = 0; k < LLAVA__PT_N_STORAGES; k++)
            if (LLAVA__PK_IS(nm, nl, llava__pt_storages[k].name)) g = LLAVA__PG_STORAGE + k;
#undef LLAVA__PK_IS
    if (g < 0)
        return llava__pk_err(u, "global '%.*s.%.*s' is not allowed (a state dict needs only collections.OrderedDict, "
                                "torch._utils._rebuild_tensor_v2 and _rebuild_parameter, and torch storage types)",
                             (int)LLAVA__MIN(ml, 100), mod, (int)LLAVA__MIN(nl, 100), nm);
    int o = llava__pk_new(u, LLAVA__PK_GLOBAL);
    if (o < 0) return LLAVA_ERR;
    u->o[o].i = g;
    return llava__pk_push(u, o);
}

/* the name of a storage-type global (the only ones REDUCE refuses) */
static const char *llava__pk_global_name(int g) { return llava__pt_storages[g - LLAVA__PG_STORAGE].name; }

/* an int tuple (size or stride) into v[]; its length, or -1 */
static int llava__pk_ints(llava__pk *u, int obj, int64_t *v, const char *what) {
    const llava__pk_obj *o = &u->o[obj];
    int k;
    if (o->type != LLAVA__PK_TUPLE) return llava__pk_err(u, "tensor %s is a %s, not a tuple", what, llava__pk_type_names[o->type]), -1;
    if (o->n > LLAVA__MAX_NDIM) return llava__pk_err(u, "tensor %s has %d dimensions (at most %d)", what, o->n, LLAVA__MAX_NDIM), -1;
    for (k = 0; k < o->n; k++) {
        const llava__pk_obj *x = &u->o[o->kids[k]];
        if (x->type != LLAVA__PK_INT || x->i < 0) return llava__pk_err(u, "tensor %s entry %d is not a non-negative int", what, k), -1;
        v[k] = x->i;
    }
    return o->n;
}

/* torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]):
   checked so that every element the tensor reaches lies inside its storage */
static int llava__pk_rebuild(llava__pk *u, int args) {
    const llava__pk_obj *a = &u->o[args];
    if (a->n != 6 && a->n != 7) return llava__pk_err(u, "_rebuild_tensor_v2 takes 6 or 7 arguments, not %d", a->n);
    const llava__pk_obj *so = &u->o[a->kids[0]], *oo = &u->o[a->kids[1]];
    if (so->type != LLAVA__PK_STORAGE) return llava__pk_err(u, "_rebuild_tensor_v2: the first argument is a %s, not a storage", llava__pk_type_names[so->type]);
    if (oo->type != LLAVA__PK_INT || oo->i < 0) return llava__pk_err(u, "_rebuild_tensor_v2: the storage offset is not a non-negative int");
    llava__pk_tensor t;
    memset(&t, 0, sizeof t);
    t.storage = (int)so->i;
    t.offset = oo->i;
    int64_t stride[LLAVA__MAX_NDIM];
    int nd = llava__pk_ints(u, a->kids[2], t.shape, "size"), ns = nd < 0 ? -1 : llava__pk_ints(u, a->kids[3], stride, "stride");
    if (nd < 0 || ns < 0) return LLAVA_ERR;
    if (nd != ns) return llava__pk_err(u, "tensor size has %d dimensions but stride %d", nd, ns);
    t.ndim = nd;
    memcpy(t.stride, stride, sizeof stride);
    const llava__pk_storage *s = &u->st[t.storage];
    /* the largest element index reached: offset + sum (size_i - 1) * stride_i, overflow-checked */
    uint64_t numel = 1, last = (uint64_t)t.offset, lim = (uint64_t)1 << 62;
    int k, empty = 0;
    for (k = 0; k < nd; k++) {
        uint64_t sz = (uint64_t)t.shape[k], sd = (uint64_t)t.stride[k];
        if (sz == 0) empty = 1;
        if (sz && numel > lim / sz) return llava__pk_err(u, "tensor size overflows");
        numel *= sz;
        if (sz > 1 && sd && (sz - 1 > lim / sd || last > lim - (sz - 1) * sd)) return llava__pk_err(u, "tensor stride overflows");
        if (sz > 1) last += (sz - 1) * sd;
    }
    if (empty ? (uint64_t)t.offset > s->numel : last >= s->numel)
        return llava__pk_err(u, "tensor (storage offset %lld, sizes and strides reaching element %llu) runs past its %s of %llu elements",
                             (long long)t.offset, (unsigned long long)last, llava__pt_storages[s->st].name, (unsigned long long)s->numel);
    if (!empty && numel > s->numel)
        return llava__pk_err(u, "tensor of %llu elements is a broadcast view of a storage of %llu (not supported)",
                             (unsigned long long)numel, (unsigned long long)s->numel);
    if (llava__pk_grow((void **)&u->t, &u->cap_t, u->n_t + 1, sizeof *u->t) != LLAVA_OK) return LLAVA_ERR;
    u->t[u->n_t] = t;
    int o = llava__pk_new(u, LLAVA__PK_TENSOR);
    if (o < 0) return LLAVA_ERR;
    u->o[o].i = u->n_t++;
    return llava__pk_push(u, o);
}

/* BINPERSID: ('storage', torch.XStorage, key, location, numel), torch.serialization's persistent id */
static int llava__pk_persid(llava__pk *u, int pid) {
    const llava__pk_obj *p = &u->o[pid];
    if (p->type != LLAVA__PK_TUPLE || p->n != 5 || !llava__pk_streq(&u->o[p->kids[0]], "storage"))
        return llava__pk_err(u, "persistent id is not ('storage', type, key, location, numel)");
    const llava__pk_obj *ty = &u->o[p->kids[1]], *key = &u->o[p->kids[2]], *loc = &u->o[p->kids[3]], *ne = &u->o[p->kids[4]];
    if (ty->type != LLAVA__PK_GLOBAL || ty->i < LLAVA__PG_STORAGE) return llava__pk_err(u, "persistent id: the storage type is not a torch storage type");
    if (key->type != LLAVA__PK_STR || loc->type != LLAVA__PK_STR || ne->type != LLAVA__PK_INT || ne->i < 0)
        return llava__pk_err(u, "persistent id: key and location must be strings and numel a non-negative int");
    if (key->len == 0 || key->len > 200 || memchr(key->s, '/', key->len) || memchr(key->s, 0, key->len))
        return llava__pk_err(u, "persistent id: bad storage key");
    int st = (int)(ty->i - LLAVA__PG_STORAGE);
    char kb[256];
    snprintf(kb, sizeof kb, "data/%.*s", (int)key->len, key->s);
    const llava__zip_entry *e = llava__zip_find(u->ents, u->n_ents, u->arch, u->arch_len, kb);
    if (!e) return llava__pk_err(u, "storage key '%.*s' has no data entry (%.*s%s)", (int)key->len, key->s, (int)u->arch_len, u->arch, kb);
    uint64_t esz = llava__pt_storages[st].size, n = (uint64_t)ne->i;
    if (n > UINT64_MAX / esz || n * esz != e->size)
        return llava__pk_err(u, "storage '%.*s' of %llu x %s needs %llu bytes but its data entry holds %llu", (int)key->len, key->s,
                             (unsigned long long)n, llava__pt_storages[st].name,
                             n > UINT64_MAX / esz ? 0ull : (unsigned long long)(n * esz), (unsigned long long)e->size);
    if (llava__pk_grow((void **)&u->st, &u->cap_st, u->n_st + 1, sizeof *u->st) != LLAVA_OK) return LLAVA_ERR;
    u->st[u->n_st].data = e->data;
    u->st[u->n_st].numel = n;
    u->st[u->n_st].st = st;
    int o = llava__pk_new(u, LLAVA__PK_STORAGE);
    if (o < 0) return LLAVA_ERR;
    u->o[o].i = u->n_st++;
    return llava__pk_push(u, o);
}

static int llava__pk_memo_put(llava__pk *u, uint64_t idx) {
    if (!u->n_stack) return llava__pk_err(u, "memo put on an empty stack");
    if (idx > (uint64_t)u->n_memo) return llava__pk_err(u, "memo index %llu out of order (next is %d)", (unsigned long long)idx, u->n_memo);
    if (idx == (uint64_t)u->n_memo) {
        if (u->n_memo >= LLAVA__PT_MAX_OBJS) return llava__pk_err(u, "memo larger than %d", LLAVA__PT_MAX_OBJS);
        if (llava__pk_grow((void **)&u->memo, &u->cap_memo, u->n_memo + 1, sizeof(int)) != LLAVA_OK) return LLAVA_ERR;
        u->n_memo++;
    }
    u->memo[idx] = u->stack[u->n_stack - 1];
    return LLAVA_OK;
}
static int llava__pk_memo_get(llava__pk *u, uint64_t idx) {
    if (idx >= (uint64_t)u->n_memo) return llava__pk_err(u, "memo slot %llu was never set", (unsigned long long)idx);
    return llava__pk_push(u, u->memo[idx]);
}

/* runs data.pkl; *result is the object STOP returns */
static int llava__pk_run(llava__pk *u, int *result) {
    while (u->pos < u->end) {
        const unsigned char op = *u->pos++;
        int a = 0, b = 0, c = 0, at = 0, k;
        switch (op) {
        case 0x80: /* PROTO */
            if (llava__pk_need(u, 1, "PROTO")) return LLAVA_ERR;
            if (*u->pos < 2 || *u->pos > 5) return llava__pk_err(u, "pickle protocol %d (2 to 5 are read)", *u->pos);
            u->pos++;
            break;
        case 0x95: /* FRAME: a length; the frame's opcodes follow in place */
            if (llava__pk_need(u, 8, "FRAME")) return LLAVA_ERR;
            if (llava__pt_u64(u->pos) > (uint64_t)(u->end - u->pos - 8)) return llava__pk_err(u, "truncated: a frame runs past the end");
            u->pos += 8;
            break;
        case '.': /* STOP */
            if (llava__pk_pop(u, result)) return LLAVA_ERR;
            return LLAVA_OK;
        case '(': /* MARK */
            if (u->n_marks >= LLAVA__PT_MAX_STACK) return llava__pk_err(u, "more than %d marks", LLAVA__PT_MAX_STACK);
            u->marks[u->n_marks++] = u->n_stack;
            break;
        case '}': if (llava__pk_push(u, llava__pk_new(u, LLAVA__PK_DICT))) return LLAVA_ERR; break;  /* EMPTY_DICT */
        case ']': if (llava__pk_push(u, llava__pk_new(u, LLAVA__PK_LIST))) return LLAVA_ERR; break;  /* EMPTY_LIST */
        case ')': if (llava__pk_push(u, llava__pk_new(u, LLAVA__PK_TUPLE))) return LLAVA_ERR; break; /* EMPTY_TUPLE */
        case 'N': if (llava__pk_push(u, llava__pk_new(u, LLAVA__PK_NONE))) return LLAVA_ERR; break;  /* NONE */
        case 0x88: case 0x89: /* NEWTRUE, NEWFALSE */
            if ((a = llava__pk_new(u, LLAVA__PK_BOOL)) < 0) return LLAVA_ERR;
            u->o[a].i = op == 0x88;
            if (llava__pk_push(u, a)) return LLAVA_ERR;
            break;
        case 't': /* TUPLE */
            if (llava__pk_pop_mark(u, &at) || llava__pk_tuple(u, at)) return LLAVA_ERR;
            break;
        case 0x85: case 0x86: case 0x87: /* TUPLE1, TUPLE2, TUPLE3 */
            k = op - 0x84;
            if (u->n_stack - k < (u->n_marks ? u->marks[u->n_marks - 1] : 0)) return llava__pk_err(u, "stack underflow");
            if (llava__pk_tuple(u, u->n_stack - k)) return LLAVA_ERR;
            break;
        case 'l': case 'd': /* LIST, DICT: from the items above the mark */
            if (llava__pk_pop_mark(u, &at)) return LLAVA_ERR;
            if (op == 'd' && (u->n_stack - at) % 2) return llava__pk_err(u, "DICT with an odd number of items");
            if ((a = llava__pk_new(u, op == 'l' ? LLAVA__PK_LIST : LLAVA__PK_DICT)) < 0) return LLAVA_ERR;
            for (k = at; k < u->n_stack; k++)
                if (llava__pk_adopt(u, a, u->stack[k])) return LLAVA_ERR;
            u->n_stack = at;
            if (llava__pk_push(u, a)) return LLAVA_ERR;
            break;
        case 'X': /* BINUNICODE */
            if (llava__pk_need(u, 4, "BINUNICODE")) return LLAVA_ERR;
            u->pos += 4;
            if (llava__pk_str(u, llava__pt_u32(u->pos - 4))) return LLAVA_ERR;
            break;
        case 0x8c: /* SHORT_BINUNICODE */
            if (llava__pk_need(u, 1, "SHORT_BINUNICODE")) return LLAVA_ERR;
            u->pos += 1;
            if (llava__pk_str(u, u->pos[-1])) return LLAVA_ERR;
            break;
        case 0x8d: /* BINUNICODE8 */
            if (llava__pk_need(u, 8, "BINUNICODE8")) return LLAVA_ERR;
            u->pos += 8;
            if (llava__pk_str(u, llava__pt_u64(u->pos - 8))) return LLAVA_ERR;
            break;
        case 'J': /* BININT: signed 32-bit */
            if (llava__pk_need(u, 4, "BININT")) return LLAVA_ERR;
            u->pos += 4;
            if (llava__pk_int(u, (int64_t)(int32_t)llava__pt_u32(u->pos - 4))) return LLAVA_ERR;
            break;
        case 'K': /* BININT1 */
            if (llava__pk_need(u, 1, "BININT1")) return LLAVA_ERR;
            u->pos += 1;
            if (llava__pk_int(u, u->pos[-1])) return LLAVA_ERR;
            break;
        case 'M': /* BININT2 */
            if (llava__pk_need(u, 2, "BININT2")) return LLAVA_ERR;
            u->pos += 2;
            if (llava__pk_int(u, llava__pt_u16(u->pos - 2))) return LLAVA_ERR;
            break;
        case 0x8a: { /* LONG1: n bytes, little-endian two's complement; up to 8 */
            if (llava__pk_need(u, 1, "LONG1")) return LLAVA_ERR;
            const int nb = *u->pos++;
            uint64_t v = 0;
            if (nb > 8) return llava__pk_err(u, "LONG1 of %d bytes (at most 8 are read)", nb);
            if (llava__pk_need(u, (size_t)nb, "LONG1")) return LLAVA_ERR;
            for (k = nb - 1; k >= 0; k--) v = v << 8 | u->pos[k];
            if (nb > 0 && nb < 8 && (u->pos[nb - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * nb);
            u->pos += nb;
            int64_t sv;
            memcpy(&sv, &v, sizeof sv);
            if (llava__pk_int(u, sv)) return LLAVA_ERR;
            break;
        }
        case 'G': { /* BINFLOAT: big-endian double */
            if (llava__pk_need(u, 8, "BINFLOAT")) return LLAVA_ERR;
            uint64_t v = 0;
            for (k = 0; k < 8; k++) v = v << 8 | u->pos[k];
            u->pos += 8;
            if ((a = llava__pk_new(u, LLAVA__PK_FLOAT)) < 0) return LLAVA_ERR;
            memcpy(&u->o[a].f, &v, sizeof v);
            if (llava__pk_push(u, a)) return LLAVA_ERR;
            break;
        }
        case 'q': /* BINPUT */
            if (llava__pk_need(u, 1, "BINPUT")) return LLAVA_ERR;
            u->pos += 1;
            if (llava__pk_memo_put(u, u->pos[-1])) return LLAVA_ERR;
            break;
        case 'r': /* LONG_BINPUT */
            if (llava__pk_need(u, 4, "LONG_BINPUT")) return LLAVA_ERR;
            u->pos += 4;
            if (llava__pk_memo_put(u, llava__pt_u32(u->pos - 4))) return LLAVA_ERR;
            break;
        case 0x94: /* MEMOIZE */
            if (llava__pk_memo_put(u, (uint64_t)u->n_memo)) return LLAVA_ERR;
            break;
        case 'h': /* BINGET */
            if (llava__pk_need(u, 1, "BINGET")) return LLAVA_ERR;
            u->pos += 1;
            if (llava__pk_memo_get(u, u->pos[-1])) return LLAVA_ERR;
            break;
        case 'j': /* LONG_BINGET */
            if (llava__pk_need(u, 4, "LONG_BINGET")) return LLAVA_ERR;
            u->pos += 4;
            if (llava__pk_memo_get(u, llava__pt_u32(u->pos - 4))) return LLAVA_ERR;
            break;
        case '0': /* POP */
            if (llava__pk_pop(u, &a)) return LLAVA_ERR;
            break;
        case '1': /* POP_MARK */
            if (llava__pk_pop_mark(u, &at)) return LLAVA_ERR;
            u->n_stack = at;
            break;
        case 's': case 'u': /* SETITEM, SETITEMS */
        case 'a': case 'e': { /* APPEND, APPENDS */
            const int dict = op == 's' || op == 'u', many = op == 'u' || op == 'e';
            if (many) {
                if (llava__pk_pop_mark(u, &at)) return LLAVA_ERR;
            } else {
                at = u->n_stack - (dict ? 2 : 1);
                if (at < (u->n_marks ? u->marks[u->n_marks - 1] : 0)) return llava__pk_err(u, "stack underflow");
            }
            if (at < 1 || (u->n_marks && at - 1 < u->marks[u->n_marks - 1])) return llava__pk_err(u, "stack underflow");
            c = u->stack[at - 1];
            if (u->o[c].type != (dict ? LLAVA__PK_DICT : LLAVA__PK_LIST))
                return llava__pk_err(u, "%s on a %s", dict ? "SETITEM" : "APPEND", llava__pk_type_names[u->o[c].type]);
            if (dict && (u->n_stack - at) % 2) return llava__pk_err(u, "SETITEMS with an odd number of items");
            for (k = at; k < u->n_stack; k++)
                if (llava__pk_adopt(u, c, u->stack[k])) return LLAVA_ERR;
            u->n_stack = at;
            break;
        }
        case 'c': { /* GLOBAL: "module\nname\n" */
            const unsigned char *m = u->pos, *nl1 = (const unsigned char *)memchr(m, '\n', (size_t)LLAVA__MIN(u->end - m, 256));
            const unsigned char *nm = nl1 ? nl1 + 1 : NULL, *nl2 = nm ? (const unsigned char *)memchr(nm, '\n', (size_t)LLAVA__MIN(u->end - nm, 256)) : NULL;
            if (!nl2) return llava__pk_err(u, "GLOBAL: truncated or overlong module and name");
            u->pos = nl2 + 1;
            if (llava__pk_global(u, (const char *)m, (size_t)(nl1 - m), (const char *)nm, (size_t)(nl2 - nm))) return LLAVA_ERR;
            break;
        }
        case 0x93: /* STACK_GLOBAL: module, name from the stack */
            if (llava__pk_pop(u, &b) || llava__pk_pop(u, &a)) return LLAVA_ERR;
            if (u->o[a].type != LLAVA__PK_STR || u->o[b].type != LLAVA__PK_STR) return llava__pk_err(u, "STACK_GLOBAL of non-strings");
            if (llava__pk_global(u, u->o[a].s, u->o[a].len, u->o[b].s, u->o[b].len)) return LLAVA_ERR;
            break;
        case 'Q': /* BINPERSID */
            if (llava__pk_pop(u, &a) || llava__pk_persid(u, a)) return LLAVA_ERR;
            break;
        case 'R': { /* REDUCE: callable(*args), for the allowed callables only */
            if (llava__pk_pop(u, &b) || llava__pk_pop(u, &a)) return LLAVA_ERR;
            const llava__pk_obj *f = &u->o[a], *args = &u->o[b];
            if (f->type != LLAVA__PK_GLOBAL) return llava__pk_err(u, "REDUCE of a %s", llava__pk_type_names[f->type]);
            if (args->type != LLAVA__PK_TUPLE) return llava__pk_err(u, "REDUCE with %s arguments", llava__pk_type_names[args->type]);
            if (f->i == LLAVA__PG_ODICT) {
                if (args->n) return llava__pk_err(u, "collections.OrderedDict with arguments");
                if (llava__pk_push(u, llava__pk_new(u, LLAVA__PK_DICT))) return LLAVA_ERR;
            } else if (f->i == LLAVA__PG_REBUILD) {
                if (llava__pk_rebuild(u, b)) return LLAVA_ERR;
            } else if (f->i == LLAVA__PG_PARAM) { /* _rebuild_parameter(data, requires_grad, backward_hooks): the tensor */
                if (args->n != 3 || u->o[args->kids[0]].type != LLAVA__PK_TENSOR)
                    return llava__pk_err(u, "_rebuild_parameter takes (tensor, requires_grad, backward_hooks)");
                if (llava__pk_push(u, args->kids[0])) return LLAVA_ERR;
            } else {
                return llava__pk_err(u, "REDUCE of torch.%s is not allowed", llava__pk_global_name((int)f->i));
            }
            break;
        }
        case 'b': /* BUILD: only an OrderedDict's attributes (state_dict()'s _metadata), dropped */
            if (llava__pk_pop(u, &b) || llava__pk_pop(u, &a)) return LLAVA_ERR;
            if (u->o[a].type != LLAVA__PK_DICT) return llava__pk_err(u, "BUILD on a %s", llava__pk_type_names[u->o[a].type]);
            u->o[b].sealed = 1;
            if (llava__pk_push(u, a)) return LLAVA_ERR;
            break;
        default:
            if (op >= 0x20 && op < 0x7f) return llava__pk_err(u, "pickle opcode '%c' (0x%02x) is not supported", op, op);
            return llava__pk_err(u, "pickle opcode 0x%02x is not supported", op);
        }
    }
    return llava__pk_err(u, "truncated: no STOP opcode");
}

/* adds every tensor of one torch.save checkpoint to ts: the dict data.pkl holds, or the dict under its
   "state_dict", "model" or "module" key when it holds no tensor itself (training checkpoints) */
static int llava__pt_add(llava__tensors *ts, const char *path) {
    llava__shard *ns = (llava__shard *)LLAVA_REALLOC(ts->shards, (size_t)(ts->n_shards + 1) * sizeof *ns);
    if (!ns) return llava__err("%s: out of memory for the table of %d files (%zu bytes)", path, ts->n_shards + 1, (size_t)(ts->n_shards + 1) * sizeof *ns);
    ts->shards = ns;
    llava__shard *sh = &ts->shards[ts->n_shards];
    memset(sh, 0, sizeof *sh);
    if (llava__file_open(&sh->f, path) != LLAVA_OK) return LLAVA_ERR;
    sh->path = llava__strdup(path);
    const int shard = ts->n_shards++;
    llava__pk u;
    memset(&u, 0, sizeof u);
    u.path = path;
    int rc = llava__zip_read(sh->f.data, sh->f.size, path, (llava__zip_entry **)&u.ents, &u.n_ents), k, res = -1;
    const llava__zip_entry *pkl = NULL, *bo = NULL;
    if (rc == LLAVA_OK) { /* the archive's name: the first entry's directory, as torch's reader takes it */
        const llava__zip_entry *first = NULL;
        for (k = 0; k < u.n_ents; k++) /* (the first by position in the file) */
            if (!first || u.ents[k].data < first->data) first = &u.ents[k];
        const char *slash = first ? (const char *)memchr(first->name, '/', first->name_len) : NULL;
        if (slash) {
            u.arch = first->name;
            u.arch_len = (size_t)(slash - first->name) + 1;
            pkl = llava__zip_find(u.ents, u.n_ents, u.arch, u.arch_len, "data.pkl");
            bo = llava__zip_find(u.ents, u.n_ents, u.arch, u.arch_len, "byteorder");
        }
        if (!pkl) rc = llava__err("%s: a zip archive without <archive>/data.pkl: not a PyTorch checkpoint", path);
        else if (bo && !(bo->size == 6 && !memcmp(bo->data, "little", 6)))
            rc = llava__err("%s: byteorder is '%.*s': only little-endian checkpoints are read", path, (int)LLAVA__MIN(bo->size, 16), (const char *)bo->data);
    }
    if (rc == LLAVA_OK) {
        u.pkl = u.pos = pkl->data;
        u.end = pkl->data + pkl->size;
        u.budget = LLAVA__PT_MAX_OBJS;
        u.stack = (int *)LLAVA_MALLOC(LLAVA__PT_MAX_STACK * sizeof(int));
        u.marks = (int *)LLAVA_MALLOC(LLAVA__PT_MAX_STACK * sizeof(int));
        rc = u.stack && u.marks ? llava__pk_run(&u, &res)
                                : llava__err("%s: out of memory for the unpickler's stacks (%zu bytes)", path, 2 * LLAVA__PT_MAX_STACK * sizeof(int));
    }
    if (rc == LLAVA_OK) {
        const llava__pk_obj *d = &u.o[res];
        int has = 0;
        if (d->type != LLAVA__PK_DICT) rc = llava__err("%s: data.pkl holds a %s, not a state dict", path, llava__pk_type_names[d->type]);
        for (k = 1; rc == LLAVA_OK && k < d->n; k += 2) has |= u.o[d->kids[k]].type == LLAVA__PK_TENSOR;
        if (rc == LLAVA_OK && !has) {
            static const char *const inner[] = {"state_dict", "model", "module"};
            int j;
            for (j = 0; j < 3 && !has; j++)
                for (k = 0; k < d->n; k += 2)
                    if (llava__pk_streq(&u.o[d->kids[k]], inner[j]) && u.o[d->kids[k + 1]].type == LLAVA__PK_DICT) {
                        d = &u.o[d->kids[k + 1]];
                        has = 1;
                        break;
                    }
        }
        for (k = 0; rc == LLAVA_OK && k < d->n; k += 2) {
            const llava__pk_obj *key = &u.o[d->kids[k]], *val = &u.o[d->kids[k + 1]];
            if (val->type != LLAVA__PK_TENSOR) continue; /* (ints, strings beside the weights) */
            if (key->type != LLAVA__PK_STR || !key->len || memchr(key->s, 0, key->len) || key->len > 1000) {
                rc = llava__err("%s: a tensor's key is not a name (a %s)", path, llava__pk_type_names[key->type]);
                break;
            }
            const llava__pk_tensor *pt = &u.t[val->i];
            const llava__pk_storage *ps = &u.st[pt->storage];
            const size_t es = llava__pt_storages[ps->st].size;
            llava__tensor t;
            memset(&t, 0, sizeof t);
            t.dtype = llava__pt_storages[ps->st].dtype;
            t.dtype_name = llava__pt_storages[ps->st].dtype_name;
            t.ndim = pt->ndim;
            t.file = shard;
            size_t numel = 1;
            int i, contig = 1;
            int64_t want = 1;
            for (i = pt->ndim - 1; i >= 0; i--) { /* row-major strides (any stride on a dimension of 1) */
                t.shape[i] = pt->shape[i];
                numel *= (size_t)pt->shape[i];
                if (pt->shape[i] != 1 && pt->stride[i] != want) contig = 0;
                /* (a dimension of 0 makes the tensor empty, and the others may then be anything: no overflow) */
                want = pt->shape[i] > 0 && want <= INT64_MAX / pt->shape[i] ? want * pt->shape[i] : -1;
            }
            t.nbytes = numel * es; /* (bounded by the storage's size, checked at REDUCE) */
            if (contig || numel == 0) {
                t.data = ps->data + (size_t)pt->offset * es;
            } else { /* a strided view: gathered into a buffer the table owns */
                unsigned char *buf = (unsigned char *)llava__alloc_aligned(t.nbytes);
                if (llava__tensors_own(ts, buf) != LLAVA_OK) {
                    rc = LLAVA_ERR;
                    break;
                }
                int64_t idx[LLAVA__MAX_NDIM] = {0};
                size_t e;
                for (e = 0; e < numel; e++) {
                    int64_t off = pt->offset;
                    for (i = 0; i < pt->ndim; i++) off += idx[i] * pt->stride[i];
                    memcpy(buf + e * es, ps->data + (size_t)off * es, es);
                    for (i = pt->ndim - 1; i >= 0 && ++idx[i] == pt->shape[i]; i--) idx[i] = 0;
                }
                t.data = buf;
            }
            t.name = (char *)LLAVA_MALLOC(key->len + 1);
            if (!t.name) {
                rc = llava__err("%s: out of memory for a tensor name (%zu bytes)", path, (size_t)key->len + 1);
                break;
            }
            memcpy(t.name, key->s, key->len);
            t.name[key->len] = 0;
            if (ts->n == ts->cap) {
                int nc = ts->cap ? ts->cap * 2 : 256;
                llava__tensor *nt = (llava__tensor *)LLAVA_REALLOC(ts->t, (size_t)nc * sizeof *nt);
                if (!nt) {
                    LLAVA_FREE(t.name);
                    rc = llava__err("%s: out of memory for the table of %d tensors (%zu bytes)", path, nc, (size_t)nc * sizeof *nt);
                    break;
                }
                ts->t = nt;
                ts->cap = nc;
            }
            ts->t[ts->n++] = t;
        }
    }
    for (k = 0; k < u.n_o; k++) LLAVA_FREE(u.o[k].kids);
    LLAVA_FREE(u.o);
    LLAVA_FREE(u.stack);
    LLAVA_FREE(u.marks);
    LLAVA_FREE(u.memo);
    LLAVA_FREE(u.st);
    LLAVA_FREE(u.t);
    LLAVA_FREE((void *)u.ents);
    return rc;
}

/* loads model.safetensors, or the shards model.safetensors.index.json names, from dir; else the same
   as PyTorch checkpoints: pytorch_model.bin, or the shards of pytorch_model.bin.index.json */
static int llava__tensors_load_dir(llava__tensors *ts, const char *dir) {
    static const char *const names[4] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                         "pytorch_model.bin.index.json"};
    char *index = NULL;
    int rc = LLAVA_OK, k;
    for (k = 0; k < 4; k++) {
        LLAVA_FREE(index);
        if (!(index = llava__path_join(dir, names[k]))) return llava__err("out of memory for the path of %s/%s", dir, names[k]);
        if (llava_file_exists(index)) break;
    }
    int (*add)(llava__tensors *, const char *) = k < 2 ? llava__st_add : llava__pt_add;
    if (k == 0 || k == 2) rc = add(ts, index);
    else if (k == 1 || k == 3) {
        size_t n;
        char *text = llava_read_file(index, LLAVA__LIMIT_JSON, &n);
        LlavaJson j;
        if (!text) rc = LLAVA_ERR;
        else if ((rc = llava_json_parse(&j, text, n, index)) == LLAVA_OK) {
            const LlavaJsonNode *wm = llava_json_get(&j, &j.nodes[0], "weight_map"), *e;
            if (!wm || wm->type != LLAVA_JSON_OBJ) rc = llava__err("%s: no \"weight_map\" object", index);
            /* each distinct shard once, in order of first mention */
            for (e = llava_json_first(&j, wm); e && rc == LLAVA_OK; e = llava_json_next(&j, e)) {
                const LlavaJsonNode *f;
                int seen = 0;
                if (e->type != LLAVA_JSON_STR || strchr(e->str, '/') || !strcmp(e->str, "..")) {
                    rc = llava__err("%s: bad shard file name for '%s'", index, e->key);
                    break;
                }
                for (f = llava_json_first(&j, wm); f != e; f = llava_json_next(&j, f))
                    if (!strcmp(f->str, e->str)) seen = 1;
                if (seen) continue;
                char *p = llava__path_join(dir, e->str);
                rc = p ? add(ts, p) : llava__err("out of memory for the path of %s/%s", dir, e->str);
                LLAVA_FREE(p);
            }
        }
        if (text) llava_json_free(&j);
        LLAVA_FREE(text);
    } else {
        rc = llava__err("%s: neither model.safetensors nor model.safetensors.index.json nor pytorch_model.bin nor "
                        "pytorch_model.bin.index.json is there", dir);
    }
    LLAVA_FREE(index);
    if (rc == LLAVA_OK) rc = llava__tensors_index(ts);
    return rc;
}

/* --- GGUF reader (llama.cpp's model files) ---------------------------------------------------------
   File (little-endian; versions 2 and 3; ggml/src/gguf.cpp gguf_init_from_file_impl is the reference):
   "GGUF", u32 version, u64 tensor count, u64 metadata count; the metadata as (string key, u32 value
   type, value); per tensor (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset);
   padding up to general.alignment (default 32); then the data, each tensor at its offset from the
   data's start. A string is a u64 length and the bytes (no NUL); an array is a u32 element type, a u64
   count and the elements (arrays may nest). Every count, length, offset and size is checked against
   the file before use; a tensor's ne[0] is its fastest-moving dimension (the reverse of PyTorch's shape).

   Internal API (the model loader and the tokenizer read GGUF files through it):
     llava__gguf_open(&g, path)       parses and checks a file (mapped, as llava__file_open does):
                                      LLAVA_OK, or LLAVA_ERR with the message set and g left closed
     llava__gguf_close(&g)            frees it (safe on a zeroed or already closed g)
     llava__gguf_find(&g, key)        the metadata entry (const llava__gguf_kv *) or NULL
   The typed getters return 1 when the key is there with a fitting type (value in *out), 0 when it is
   absent (*out untouched, no error set), LLAVA_ERR when it is there with another type or its value is
   out of range (message set, naming the file and key):
     llava__gguf_str(&g, key, &s, &len)  string: s points into the file, is NOT NUL-terminated
     llava__gguf_int(&g, key, &i64)      any integer type (a uint64 must fit int64)
     llava__gguf_u32(&g, key, &u32)      any integer type with a value in [0, 2^32)
     llava__gguf_float(&g, key, &dbl)    float32 or float64 (or an integer type)
     llava__gguf_bool(&g, key, &i)       bool (0 or 1)
     llava__gguf_arr(&g, key, t, &kv)    an array whose elements have value type t (LLAVA__GGUF_STRING,
                                         LLAVA__GGUF_INT32, ...; LLAVA__GGUF_ANY_NUM accepts any integer,
                                         float or bool type); kv->n is its length; then per element:
       llava__gguf_arr_str(kv, i, &len)  string element i (NOT NUL-terminated)
       llava__gguf_arr_num(kv, i)        numeric or bool element i as a double (exact for float32, int32)
       llava__gguf_arr_i64(kv, i)        integer element i (a uint64 above INT64_MAX saturates)
     llava__gguf_tensor_find(&g, name) the tensor (const llava__gguf_tensor *: name, ggml type, n_dims,
                                       ne[], offset, nbytes, data pointing into the file) or NULL
     llava__gguf_type_name(type)       "F16", "Q4_K", ... ("?" for an unknown id) */
enum {
    LLAVA__GGUF_UINT8 = 0, LLAVA__GGUF_INT8, LLAVA__GGUF_UINT16, LLAVA__GGUF_INT16, LLAVA__GGUF_UINT32,
    LLAVA__GGUF_INT32, LLAVA__GGUF_FLOAT32, LLAVA__GGUF_BOOL, LLAVA__GGUF_STRING, LLAVA__GGUF_ARRAY,
    LLAVA__GGUF_UINT64, LLAVA__GGUF_INT64, LLAVA__GGUF_FLOAT64, LLAVA__GGUF_N_TYPES,
    LLAVA__GGUF_ANY_NUM = 100
};
/* ggml tensor types (ggml.h enum ggml_type) the loader converts */
enum {
    LLAVA__GGML_F32 = 0, LLAVA__GGML_F16 = 1, LLAVA__GGML_Q4_0 = 2, LLAVA__GGML_Q4_1 = 3, LLAVA__GGML_Q5_0 = 6,
    LLAVA__GGML_Q5_1 = 7, LLAVA__GGML_Q8_0 = 8, LLAVA__GGML_Q4_K = 12, LLAVA__GGML_Q5_K = 13, LLAVA__GGML_Q6_K = 14,
    LLAVA__GGML_BF16 = 30
};
#define LLAVA__GGUF_MAX_COUNT (1u << 24)  /* metadata entries, tensors */
#define LLAVA__GGUF_MAX_KEY 65535         /* bytes of a key */
#define LLAVA__GGUF_MAX_NAME 255          /* bytes of a tensor name */
#define LLAVA__GGUF_MAX_DEPTH 8           /* arrays inside arrays */

typedef struct {
    char *key;                    /* NUL-terminated copy */
    int type;                     /* LLAVA__GGUF_* */
    int arr_type;                 /* arrays: the elements' type */
    uint64_t n;                   /* arrays: element count; 1 otherwise */
    const unsigned char *p;       /* the value's bytes in the file (arrays: the first element) */
    const unsigned char **strs;   /* string arrays: each element's length field */
} llava__gguf_kv;

typedef struct {
    char *name;
    int type; /* ggml type */
    int n_dims;
    int64_t ne[4]; /* ne[0] fastest; unused dimensions are 1 */
    uint64_t offset;
    size_t nbytes;
    const unsigned char *data;
} llava__gguf_tensor;

typedef struct {
    llava__file f;
    char *path;
    uint32_t version, alignment;
    llava__gguf_kv *kv;
    int n_kv;
    llava__gguf_tensor *t;
    int n_t;
    size_t data_off, data_size;
} llava__gguf;

/* ggml type -> (elements per block, bytes per block, name); gguf-py constants GGML_QUANT_SIZES */
static int llava__ggml_type_size(int type, int *block, int *bytes, const char **name) {
    static const struct {
        int id, block, bytes;
        const char *name;
    } k[] = {{0, 1, 4, "F32"},          {1, 1, 2, "F16"},          {2, 32, 18, "Q4_0"},      {3, 32, 20, "Q4_1"},
             {6, 32, 22, "Q5_0"},        {7, 32, 24, "Q5_1"},       {8, 32, 34, "Q8_0"},      {9, 32, 40, "Q8_1"},
             {10, 256, 84, "Q2_K"},      {11, 256, 110, "Q3_K"},    {12, 256, 144, "Q4_K"},   {13, 256, 176, "Q5_K"},
             {14, 256, 210, "Q6_K"},     {15, 256, 292, "Q8_K"},    {16, 256, 66, "IQ2_XXS"}, {17, 256, 74, "IQ2_XS"},
             {18, 256, 98, "IQ3_XXS"},   {19, 256, 50, "IQ1_S"},    {20, 32, 18, "IQ4_NL"},   {21, 256, 110, "IQ3_S"},
             {22, 256, 82, "IQ2_S"},     {23, 256, 136, "IQ4_XS"},  {24, 1, 1, "I8"},         {25, 1, 2, "I16"},
             {26, 1, 4, "I32"},          {27, 1, 8, "I64"},         {28, 1, 8, "F64"},        {29, 256, 56, "IQ1_M"},
             {30, 1, 2, "BF16"},         {34, 256, 54, "TQ1_0"},    {35, 256, 66, "TQ2_0"},   {39, 32, 17, "MXFP4"}};
    size_t i;
    for (i = 0; i < sizeof k / sizeof k[0]; i++)
        if (k[i].id == type) {
            if (block) *block = k[i].block;
            if (bytes) *bytes = k[i].bytes;
            if (name) *name = k[i].name;
            return 1;
        }
    return 0;
}
LLAVA__MAYBE_UNUSED static const char *llava__gguf_type_name(int type) {
    const char *n = "?";
    llava__ggml_type_size(type, NULL, NULL, &n);
    return n;
}

static uint64_t llava__le64(const unsigned char *p) {
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint32_t llava__le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t llava__le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

typedef struct {
    const unsigned char *d;
    size_t size, pos;
    const char *path;
} llava__gcur;

static int llava__gc_need(llava__gcur *c, uint64_t n, const char *what) {
    if (n > c->size - c->pos)
        return llava__err("%s: truncated GGUF file: %s at byte %zu needs %llu bytes, %zu remain", c->path, what, c->pos,
                          (unsigned long long)n, c->size - c->pos);
    return LLAVA_OK;
}
static int llava__gc_u32(llava__gcur *c, uint32_t *v, const char *what) {
    if (llava__gc_need(c, 4, what) != LLAVA_OK) return LLAVA_ERR;
    *v = llava__le32(c->d + c->pos);
    c->pos += 4;
    return LLAVA_OK;
}
static int llava__gc_u64(llava__gcur *c, uint64_t *v, const char *what) {
    if (llava__gc_need(c, 8, what) != LLAVA_OK) return LLAVA_ERR;
    *v = llava__le64(c->d + c->pos);
    c->pos += 8;
    return LLAVA_OK;
}
/* a string: its bytes' position and length; limit caps the length */
static int llava__gc_str(llava__gcur *c, const unsigned char **s, uint64_t *len, uint64_t limit, const char *what) {
    if (llava__gc_u64(c, len, what) != LLAVA_OK) return LLAVA_ERR;
    if (*len > limit) return llava__err("%s: %s at byte %zu is %llu bytes long (at most %llu)", c->path, what, c->pos - 8,
                                        (unsigned long long)*len, (unsigned long long)limit);
    if (llava__gc_need(c, *len, what) != LLAVA_OK) return LLAVA_ERR;
    *s = c->d + c->pos;
    c->pos += (size_t)*len;
    return LLAVA_OK;
}

static const size_t llava__gguf_vsize[LLAVA__GGUF_N_TYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static const char *const llava__gguf_vname[LLAVA__GGUF_N_TYPES] = {"uint8", "int8",   "uint16", "int16",  "uint32",
                                                                   "int32", "float32", "bool",
                                                                   "string", "array",  "uint64", "int64",  "float64"};
static const char *llava__gguf_tname(int t) { return t >= 0 && t < LLAVA__GGUF_N_TYPES ? llava__gguf_vname[t] : "?"; }

/* steps over one value of type t (checking it), depth arrays deep */
static int llava__gguf_skip(llava__gcur *c, uint32_t t, int depth, const char *key) {
    if (t >= LLAVA__GGUF_N_TYPES) return llava__err("%s: metadata '%s' has unknown value type %u", c->path, key, t);
    if (t == LLAVA__GGUF_STRING) {
        const unsigned char *s;
        uint64_t len;
        return llava__gc_str(c, &s, &len, UINT64_MAX, key);
    }
    if (t == LLAVA__GGUF_ARRAY) {
        uint32_t et;
        uint64_t n, i;
        if (depth >= LLAVA__GGUF_MAX_DEPTH)
            return llava__err("%s: metadata '%s' nests arrays more than %d deep", c->path, key, LLAVA__GGUF_MAX_DEPTH);
        if (llava__gc_u32(c, &et, key) != LLAVA_OK || llava__gc_u64(c, &n, key) != LLAVA_OK) return LLAVA_ERR;
        if (et >= LLAVA__GGUF_N_TYPES)
            return llava__err("%s: metadata '%s' is an array of unknown value type %u", c->path, key, et);
        /* each element takes at least its fixed size, 8 bytes (string length) or 12 (array header) */
        size_t min = et == LLAVA__GGUF_STRING ? 8 : et == LLAVA__GGUF_ARRAY ? 12 : llava__gguf_vsize[et];
        if (n > (c->size - c->pos) / min)
            return llava__err("%s: metadata '%s' claims %llu array elements but only %zu bytes remain", c->path, key,
                              (unsigned long long)n, c->size - c->pos);
        if (et != LLAVA__GGUF_STRING && et != LLAVA__GGUF_ARRAY) {
            if (et == LLAVA__GGUF_BOOL)
                for (i = 0; i < n; i++)
                    if (c->d[c->pos + i] > 1)
                        return llava__err("%s: metadata '%s' holds a bool that is neither 0 nor 1", c->path, key);
            c->pos += (size_t)n * min;
            return LLAVA_OK;
        }
        for (i = 0; i < n; i++)
            if (llava__gguf_skip(c, et, depth + 1, key) != LLAVA_OK) return LLAVA_ERR;
        return LLAVA_OK;
    }
    if (llava__gc_need(c, llava__gguf_vsize[t], key) != LLAVA_OK) return LLAVA_ERR;
    if (t == LLAVA__GGUF_BOOL && c->d[c->pos] > 1)
        return llava__err("%s: metadata '%s' is a bool of value %u (0 or 1)", c->path, key, c->d[c->pos]);
    c->pos += llava__gguf_vsize[t];
    return LLAVA_OK;
}

static void llava__gguf_close(llava__gguf *g) {
    int i;
    for (i = 0; i < g->n_kv; i++) {
        LLAVA_FREE(g->kv[i].key);
        LLAVA_FREE((void *)g->kv[i].strs);
    }
    for (i = 0; i < g->n_t; i++) LLAVA_FREE(g->t[i].name);
    LLAVA_FREE(g->kv);
    LLAVA_FREE(g->t);
    LLAVA_FREE(g->path);
    if (g->f.data) llava__file_close(&g->f);
    memset(g, 0, sizeof *g);
}

static int llava__gguf_strcmp_kv(const void *a, const void *b) {
    return strcmp((*(const llava__gguf_kv *const *)a)->key, (*(const llava__gguf_kv *const *)b)->key);
}

static const llava__gguf_kv *llava__gguf_find(const llava__gguf *g, const char *key) {
    int i;
    for (i = 0; i < g->n_kv; i++)
        if (!strcmp(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

static int llava__gguf_is_int(int t) {
    return t == LLAVA__GGUF_UINT8 || t == LLAVA__GGUF_INT8 || t == LLAVA__GGUF_UINT16 || t == LLAVA__GGUF_INT16 ||
           t == LLAVA__GGUF_UINT32 || t == LLAVA__GGUF_INT32 || t == LLAVA__GGUF_UINT64 || t == LLAVA__GGUF_INT64;
}
/* one integer value of type t at p; *big set when a uint64 exceeds INT64_MAX */
static int64_t llava__gguf_ival(int t, const unsigned char *p, int *big) {
    *big = 0;
    switch (t) {
    case LLAVA__GGUF_UINT8: return p[0];
    case LLAVA__GGUF_INT8: return (int8_t)p[0];
    case LLAVA__GGUF_UINT16: return llava__le16(p);
    case LLAVA__GGUF_INT16: return (int16_t)llava__le16(p);
    case LLAVA__GGUF_UINT32: return llava__le32(p);
    case LLAVA__GGUF_INT32: return (int32_t)llava__le32(p);
    case LLAVA__GGUF_INT64: return (int64_t)llava__le64(p);
    case LLAVA__GGUF_BOOL: return p[0];
    default: {
        uint64_t u = llava__le64(p);
        if (u > (uint64_t)INT64_MAX) {
            *big = 1;
            return INT64_MAX;
        }
        return (int64_t)u;
    }
    }
}
static double llava__gguf_fval(int t, const unsigned char *p) {
    if (t == LLAVA__GGUF_FLOAT32) {
        uint32_t u = llava__le32(p);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    if (t == LLAVA__GGUF_FLOAT64) {
        uint64_t u = llava__le64(p);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    int big;
    if (t == LLAVA__GGUF_UINT64) return (double)llava__le64(p);
    return (double)llava__gguf_ival(t, p, &big);
}

LLAVA__MAYBE_UNUSED static int llava__gguf_str(const llava__gguf *g, const char *key, const char **s, size_t *len) {
    const llava__gguf_kv *kv = llava__gguf_find(g, key);
    if (!kv) return 0;
    if (kv->type != LLAVA__GGUF_STRING)
        return llava__err("%s: metadata '%s' is a %s, not a string", g->path, key, llava__gguf_tname(kv->type));
    *s = (const char *)kv->p + 8;
    *len = (size_t)llava__le64(kv->p);
    return 1;
}
LLAVA__MAYBE_UNUSED static int llava__gguf_int(const llava__gguf *g, const char *key, int64_t *out) {
    const llava__gguf_kv *kv = llava__gguf_find(g, key);
    int big;
    if (!kv) return 0;
    if (!llava__gguf_is_int(kv->type))
        return llava__err("%s: metadata '%s' is a %s, not an integer", g->path, key, llava__gguf_tname(kv->type));
    int64_t v = llava__gguf_ival(kv->type, kv->p, &big);
    if (big) return llava__err("%s: metadata '%s' is too large", g->path, key);
    *out = v;
    return 1;
}
LLAVA__MAYBE_UNUSED static int llava__gguf_u32(const llava__gguf *g, const char *key, uint32_t *out) {
    int64_t v;
    int r = llava__gguf_int(g, key, &v);
    if (r != 1) return r;
    if (v < 0 || v > (int64_t)UINT32_MAX)
        return llava__err("%s: metadata '%s' = %lld is out of range [0, 2^32)", g->path, key, (long long)v);
    *out = (uint32_t)v;
    return 1;
}
LLAVA__MAYBE_UNUSED static int llava__gguf_float(const llava__gguf *g, const char *key, double *out) {
    const llava__gguf_kv *kv = llava__gguf_find(g, key);
    if (!kv) return 0;
    if (kv->type != LLAVA__GGUF_FLOAT32 && kv->type != LLAVA__GGUF_FLOAT64 && !llava__gguf_is_int(kv->type))
        return llava__err("%s: metadata '%s' is a %s, not a number", g->path, key, llava__gguf_tname(kv->type));
    *out = llava__gguf_fval(kv->type, kv->p);
    return 1;
}
LLAVA__MAYBE_UNUSED static int llava__gguf_bool(const llava__gguf *g, const char *key, int *out) {
    const llava__gguf_kv *kv = llava__gguf_find(g, key);
    if (!kv) return 0;
    if (kv->type != LLAVA__GGUF_BOOL)
        return llava__err("%s: metadata '%s' is a %s, not a bool", g->path, key, llava__gguf_tname(kv->type));
    *out = kv->p[0];
    return 1;
}
LLAVA__MAYBE_UNUSED static int llava__gguf_arr(const llava__gguf *g, const char *key, int type, const llava__gguf_kv **out) {
    const llava__gguf_kv *kv = llava__gguf_find(g, key);
    if (!kv) return 0;
    if (kv->type != LLAVA__GGUF_ARRAY)
        return llava__err("%s: metadata '%s' is a %s, not an array", g->path, key, llava__gguf_tname(kv->type));
    int ok = type == LLAVA__GGUF_ANY_NUM ? (llava__gguf_is_int(kv->arr_type) || kv->arr_type == LLAVA__GGUF_FLOAT32 ||
                                            kv->arr_type == LLAVA__GGUF_FLOAT64 || kv->arr_type == LLAVA__GGUF_BOOL)
                                         : kv->arr_type == type;
    if (!ok)
        return llava__err("%s: metadata '%s' is an array of %s, not of %s", g->path, key, llava__gguf_tname(kv->arr_type),
                          type == LLAVA__GGUF_ANY_NUM ? "numbers" : llava__gguf_tname(type));
    *out = kv;
    return 1;
}
LLAVA__MAYBE_UNUSED static const char *llava__gguf_arr_str(const llava__gguf_kv *kv, uint64_t i, size_t *len) {
    LLAVA_ASSERT(kv->arr_type == LLAVA__GGUF_STRING && i < kv->n);
    *len = (size_t)llava__le64(kv->strs[i]);
    return (const char *)kv->strs[i] + 8;
}
LLAVA__MAYBE_UNUSED static double llava__gguf_arr_num(const llava__gguf_kv *kv, uint64_t i) {
    LLAVA_ASSERT(i < kv->n && kv->arr_type < LLAVA__GGUF_N_TYPES && llava__gguf_vsize[kv->arr_type]);
    return llava__gguf_fval(kv->arr_type, kv->p + i * llava__gguf_vsize[kv->arr_type]);
}
LLAVA__MAYBE_UNUSED static int64_t llava__gguf_arr_i64(const llava__gguf_kv *kv, uint64_t i) {
    int big;
    LLAVA_ASSERT(i < kv->n && (llava__gguf_is_int(kv->arr_type) || kv->arr_type == LLAVA__GGUF_BOOL));
    return llava__gguf_ival(kv->arr_type, kv->p + i * llava__gguf_vsize[kv->arr_type], &big);
}

static int llava__gguf_tensor_cmp(const void *a, const void *b) {
    return strcmp(((const llava__gguf_tensor *)a)->name, ((const llava__gguf_tensor *)b)->name);
}
LLAVA__MAYBE_UNUSED static const llava__gguf_tensor *llava__gguf_tensor_find(const llava__gguf *g, const char *name) {
    int lo = 0, hi = g->n_t - 1;
    while (lo <= hi) { /* g->t is sorted by name after llava__gguf_open */
        int mid = lo + (hi - lo) / 2, c = strcmp(name, g->t[mid].name);
        if (!c) return &g->t[mid];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

static char *llava__strndup(const unsigned char *s, size_t n) {
    char *r = (char *)LLAVA_MALLOC(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = 0;
    }
    return r;
}

static int llava__gguf_parse(llava__gguf *g) {
    llava__gcur c;
    c.d = g->f.data;
    c.size = g->f.size;
    c.pos = 0;
    c.path = g->path;
    uint32_t version;
    uint64_t n_t, n_kv, i;
    if (c.size < 4 || memcmp(c.d, "GGUF", 4) != 0) return llava__err("%s: not a GGUF file (no \"GGUF\" magic)", g->path);
    c.pos = 4;
    if (llava__gc_u32(&c, &version, "the version") != LLAVA_OK) return LLAVA_ERR;
    if (version == 1) return llava__err("%s: GGUF version 1 is not supported (only versions 2 and 3)", g->path);
    if (version != 2 && version != 3) {
        if ((version & 0xffffu) == 0 && (version >> 16) != 0)
            return llava__err("%s: a big-endian GGUF file (version %u read byte-swapped); only little-endian files are "
                              "supported", g->path, version >> 24 | (version >> 8 & 0xff00u));
        return llava__err("%s: unsupported GGUF version %u (only versions 2 and 3)", g->path, version);
    }
    g->version = version;
    if (llava__gc_u64(&c, &n_t, "the tensor count") != LLAVA_OK || llava__gc_u64(&c, &n_kv, "the metadata count") != LLAVA_OK)
        return LLAVA_ERR;
    /* a metadata entry takes at least 13 bytes (key length, type, one byte), a tensor entry 32 */
    if (n_kv > LLAVA__GGUF_MAX_COUNT || n_kv > (c.size - c.pos) / 13)
        return llava__err("%s: GGUF header claims %llu metadata entries, more than the file can hold", g->path,
                          (unsigned long long)n_kv);
    if (n_t > LLAVA__GGUF_MAX_COUNT || n_t > (c.size - c.pos) / 32)
        return llava__err("%s: GGUF header claims %llu tensors, more than the file can hold", g->path, (unsigned long long)n_t);
    g->kv = (llava__gguf_kv *)llava__calloc((size_t)n_kv + 1, sizeof *g->kv);
    g->t = (llava__gguf_tensor *)llava__calloc((size_t)n_t + 1, sizeof *g->t);
    if (!g->kv || !g->t)
        return llava__err("%s: out of memory for %llu metadata entries and %llu tensors (%zu bytes)", g->path, (unsigned long long)n_kv,
                          (unsigned long long)n_t, ((size_t)n_kv + 1) * sizeof *g->kv + ((size_t)n_t + 1) * sizeof *g->t);
    for (i = 0; i < n_kv; i++) {
        llava__gguf_kv *kv = &g->kv[g->n_kv];
        const unsigned char *ks;
        uint64_t klen;
        uint32_t t;
        char what[64];
        snprintf(what, sizeof what, "metadata entry %llu's key", (unsigned long long)i);
        if (llava__gc_str(&c, &ks, &klen, LLAVA__GGUF_MAX_KEY, what) != LLAVA_OK) return LLAVA_ERR;
        if (klen == 0) return llava__err("%s: metadata entry %llu has an empty key", g->path, (unsigned long long)i);
        if (memchr(ks, 0, (size_t)klen)) return llava__err("%s: metadata entry %llu's key holds a NUL byte", g->path, (unsigned long long)i);
        if (!(kv->key = llava__strndup(ks, (size_t)klen))) return llava__err("%s: out of memory for a key (%zu bytes)", g->path, (size_t)klen + 1);
        g->n_kv++;
        if (llava__gc_u32(&c, &t, kv->key) != LLAVA_OK) return LLAVA_ERR;
        kv->type = (int)t;
        kv->n = 1;
        kv->p = c.d + c.pos;
        if (t == LLAVA__GGUF_ARRAY) {
            uint32_t et;
            if (llava__gc_u32(&c, &et, kv->key) != LLAVA_OK || llava__gc_u64(&c, &kv->n, kv->key) != LLAVA_OK) return LLAVA_ERR;
            kv->arr_type = (int)et;
            kv->p = c.d + c.pos;
            c.pos -= 12; /* the skip below reads the header again and checks every element */
            if (et == LLAVA__GGUF_STRING && kv->n <= (c.size - c.pos - 12) / 8) {
                kv->strs = (const unsigned char **)llava__calloc((size_t)kv->n + 1, sizeof *kv->strs);
                if (!kv->strs)
                    return llava__err("%s: out of memory for the %llu strings of %s (%zu bytes)", g->path, (unsigned long long)kv->n, kv->key,
                                      ((size_t)kv->n + 1) * sizeof *kv->strs);
                size_t p = c.pos + 12;
                uint64_t k;
                for (k = 0; k < kv->n; k++) { /* bounds: the skip below fails first when a string runs past */
                    if (p > c.size - 8) break;
                    kv->strs[k] = c.d + p;
                    uint64_t len = llava__le64(c.d + p);
                    if (len > c.size - p - 8) break;
                    p += 8 + (size_t)len;
                }
            }
        }
        if (llava__gguf_skip(&c, t, 0, kv->key) != LLAVA_OK) return LLAVA_ERR;
    }
    /* no key twice (gguf.cpp refuses duplicates too) */
    if (g->n_kv > 1) {
        const llava__gguf_kv **s = (const llava__gguf_kv **)llava__calloc((size_t)g->n_kv, sizeof *s);
        int k, dup = -1;
        if (!s) return llava__err("%s: out of memory (%zu bytes)", g->path, (size_t)g->n_kv * sizeof *s);
        for (k = 0; k < g->n_kv; k++) s[k] = &g->kv[k];
        qsort((void *)s, (size_t)g->n_kv, sizeof *s, llava__gguf_strcmp_kv);
        for (k = 1; k < g->n_kv && dup < 0; k++)
            if (!strcmp(s[k]->key, s[k - 1]->key)) dup = k;
        if (dup >= 0) {
            int rc = llava__err("%s: metadata key '%s' occurs twice", g->path, s[dup]->key);
            LLAVA_FREE((void *)s);
            return rc;
        }
        LLAVA_FREE((void *)s);
    }
    g->alignment = 32;
    {
        uint32_t al = 0;
        const llava__gguf_kv *akv = llava__gguf_find(g, "general.alignment");
        if (akv && akv->type != LLAVA__GGUF_UINT32)
            return llava__err("%s: general.alignment is a %s, not a uint32", g->path, llava__gguf_tname(akv->type));
        if (akv) {
            al = llava__le32(akv->p);
            if (al == 0 || (al & (al - 1)) != 0)
                return llava__err("%s: general.alignment %u is not a power of two", g->path, al);
            g->alignment = al;
        }
    }
    for (i = 0; i < n_t; i++) {
        llava__gguf_tensor *t = &g->t[g->n_t];
        const unsigned char *ns;
        uint64_t nlen, ne;
        uint32_t nd, type;
        int d, block, bytes;
        char what[64];
        snprintf(what, sizeof what, "tensor %llu's name", (unsigned long long)i);
        if (llava__gc_str(&c, &ns, &nlen, LLAVA__GGUF_MAX_NAME, what) != LLAVA_OK) return LLAVA_ERR;
        if (nlen == 0 || memchr(ns, 0, (size_t)nlen))
            return llava__err("%s: tensor %llu has an empty name or one with a NUL byte", g->path, (unsigned long long)i);
        if (!(t->name = llava__strndup(ns, (size_t)nlen))) return llava__err("%s: out of memory for a tensor name (%zu bytes)", g->path, (size_t)nlen + 1);
        g->n_t++;
        if (llava__gc_u32(&c, &nd, t->name) != LLAVA_OK) return LLAVA_ERR;
        if (nd < 1 || nd > 4) return llava__err("%s: tensor '%s' has %u dimensions (1 to 4)", g->path, t->name, nd);
        t->n_dims = (int)nd;
        uint64_t numel = 1;
        for (d = 0; d < 4; d++) t->ne[d] = 1;
        for (d = 0; d < (int)nd; d++) {
            if (llava__gc_u64(&c, &ne, t->name) != LLAVA_OK) return LLAVA_ERR;
            if (ne > (uint64_t)INT64_MAX || (ne && numel > (uint64_t)INT64_MAX / ne))
                return llava__err("%s: tensor '%s' has dimensions whose product overflows", g->path, t->name);
            t->ne[d] = (int64_t)ne;
            numel *= ne;
        }
        if (llava__gc_u32(&c, &type, t->name) != LLAVA_OK) return LLAVA_ERR;
        if (!llava__ggml_type_size((int)type, &block, &bytes, NULL))
            return llava__err("%s: tensor '%s' has unknown ggml type %u", g->path, t->name, type);
        t->type = (int)type;
        if (t->ne[0] % block != 0)
            return llava__err("%s: tensor '%s' (%s) has a row of %lld elements, not a multiple of its block of %d", g->path,
                              t->name, llava__gguf_type_name(t->type), (long long)t->ne[0], block);
        uint64_t nb = numel / (uint64_t)block; /* whole blocks, as ne[0] is a multiple of block */
        if (nb > (uint64_t)SIZE_MAX / (uint64_t)bytes || nb > UINT64_MAX / 2 / (uint64_t)bytes)
            return llava__err("%s: tensor '%s' is too large", g->path, t->name);
        t->nbytes = (size_t)(nb * (uint64_t)bytes);
        if (llava__gc_u64(&c, &t->offset, t->name) != LLAVA_OK) return LLAVA_ERR;
        if (t->offset % g->alignment != 0)
            return llava__err("%s: tensor '%s' offset %llu is not a multiple of the alignment %u", g->path, t->name,
                              (unsigned long long)t->offset, g->alignment);
    }
    /* the data starts at the next multiple of the alignment */
    size_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
    if (pad > c.size - c.pos) {
        if (g->n_t) return llava__err("%s: truncated GGUF file: the tensor data section is missing", g->path);
        g->data_off = c.size;
    } else {
        g->data_off = c.pos + pad;
    }
    g->data_size = c.size - g->data_off;
    llava__span *spans = (llava__span *)llava__calloc((size_t)g->n_t + 1, sizeof *spans);
    int n_spans = 0, k, rc = LLAVA_OK;
    if (!spans) return llava__err("%s: out of memory for %d tensors (%zu bytes)", g->path, g->n_t, ((size_t)g->n_t + 1) * sizeof *spans);
    for (k = 0; k < g->n_t; k++) {
        llava__gguf_tensor *t = &g->t[k];
        if (t->offset > g->data_size || t->nbytes > g->data_size - t->offset) {
            rc = llava__err("%s: tensor '%s' (%zu bytes at offset %llu) runs past the end of the data section (%zu bytes)",
                            g->path, t->name, t->nbytes, (unsigned long long)t->offset, g->data_size);
            break;
        }
        t->data = g->f.data + g->data_off + t->offset;
        if (t->nbytes) {
            spans[n_spans].b = t->offset;
            spans[n_spans].e = t->offset + t->nbytes;
            spans[n_spans].name = t->name;
            n_spans++;
        }
    }
    if (rc == LLAVA_OK && n_spans > 1) {
        qsort(spans, (size_t)n_spans, sizeof *spans, llava__span_cmp);
        for (k = 1; k < n_spans; k++)
            if (spans[k].b < spans[k - 1].e) {
                rc = llava__err("%s: tensors '%s' and '%s' overlap in the data section", g->path, spans[k - 1].name, spans[k].name);
                break;
            }
    }
    LLAVA_FREE(spans);
    if (rc != LLAVA_OK) return rc;
    if (g->n_t > 1) qsort(g->t, (size_t)g->n_t, sizeof *g->t, llava__gguf_tensor_cmp);
    for (k = 1; k < g->n_t; k++)
        if (!strcmp(g->t[k].name, g->t[k - 1].name)) return llava__err("%s: tensor '%s' occurs twice", g->path, g->t[k].name);
    return LLAVA_OK;
}

LLAVA__MAYBE_UNUSED static int llava__gguf_open(llava__gguf *g, const char *path) {
    memset(g, 0, sizeof *g);
    if (!(g->path = llava__strdup(path))) return llava__err("%s: out of memory (%zu bytes)", path, strlen(path) + 1);
    if (llava__file_open(&g->f, path) != LLAVA_OK) {
        llava__gguf_close(g);
        return LLAVA_ERR;
    }
    if (llava__gguf_parse(g) != LLAVA_OK) {
        llava__gguf_close(g);
        return LLAVA_ERR;
    }
    return LLAVA_OK;
}

/* --- GGUF tensors -> the tensor table: dequantization, llama.cpp's row permutation undone -----------
   Quantized blocks become f32 exactly as gguf-py's gguf.quants.dequantize computes them (its
   dequantize_blocks per type: float32 arithmetic in the same order, so the values are bit-identical;
   built with -ffp-contract=fast a compiler could fuse d * q + m and round once less). Block layouts are
   ggml's (ggml-common.h block_q4_0 ... block_q6_K): the scale d (and min m) as f16 first, except Q6_K. */
static float llava__le_f16(const unsigned char *p) { return llava__f16_to_f32(llava__le16(p)); }

/* Q4_K and Q5_K: the 6-bit scale and min of sub-block j (gguf-py Q4_K.get_scale_min) */
static void llava__q4k_scale_min(const unsigned char *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 0x3f;
        *mn = s[j + 4] & 0x3f;
    } else {
        *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 2) & 0x30);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 2) & 0x30);
    }
}

static int llava__ggml_can_dequant(int type) {
    return type == LLAVA__GGML_F32 || type == LLAVA__GGML_F16 || type == LLAVA__GGML_BF16 || type == LLAVA__GGML_Q4_0 ||
           type == LLAVA__GGML_Q4_1 || type == LLAVA__GGML_Q5_0 || type == LLAVA__GGML_Q5_1 || type == LLAVA__GGML_Q8_0 ||
           type == LLAVA__GGML_Q4_K || type == LLAVA__GGML_Q5_K || type == LLAVA__GGML_Q6_K;
}

/* n elements (whole blocks) of ggml type `type` at src -> dst; 0 for a type it cannot convert */
static int llava__ggml_dequant(int type, const unsigned char *src, float *dst, size_t n) {
    size_t b, nb;
    int i, j;
    switch (type) {
    case LLAVA__GGML_F32: memcpy(dst, src, n * 4); return 1;
    case LLAVA__GGML_F16:
        for (b = 0; b < n; b++) dst[b] = llava__le_f16(src + 2 * b);
        return 1;
    case LLAVA__GGML_BF16:
        for (b = 0; b < n; b++) dst[b] = llava__bf16_to_f32(llava__le16(src + 2 * b));
        return 1;
    case LLAVA__GGML_Q4_0: /* d, qs[16]: low nibbles are elements 0..15, high nibbles 16..31; d * (q - 8) */
        for (nb = n / 32, b = 0; b < nb; b++, src += 18, dst += 32) {
            const float d = llava__le_f16(src);
            for (i = 0; i < 16; i++) {
                dst[i] = d * (float)((src[2 + i] & 0x0f) - 8);
                dst[i + 16] = d * (float)((src[2 + i] >> 4) - 8);
            }
        }
        return 1;
    case LLAVA__GGML_Q4_1: /* d, m, qs[16]; d * q + m */
        for (nb = n / 32, b = 0; b < nb; b++, src += 20, dst += 32) {
            const float d = llava__le_f16(src), m = llava__le_f16(src + 2);
            for (i = 0; i < 16; i++) {
                float lo = d * (float)(src[4 + i] & 0x0f), hi = d * (float)(src[4 + i] >> 4);
                dst[i] = lo + m;
                dst[i + 16] = hi + m;
            }
        }
        return 1;
    case LLAVA__GGML_Q5_0: /* d, qh (u32: bit i is element i's fifth bit), qs[16]; d * (q - 16) */
        for (nb = n / 32, b = 0; b < nb; b++, src += 22, dst += 32) {
            const float d = llava__le_f16(src);
            const uint32_t qh = llava__le32(src + 2);
            for (i = 0; i < 32; i++) {
                int q = (i < 16 ? src[6 + i] & 0x0f : src[6 + i - 16] >> 4) | (int)((qh >> i) & 1) << 4;
                dst[i] = d * (float)(q - 16);
            }
        }
        return 1;
    case LLAVA__GGML_Q5_1: /* d, m, qh, qs[16]; d * q + m */
        for (nb = n / 32, b = 0; b < nb; b++, src += 24, dst += 32) {
            const float d = llava__le_f16(src), m = llava__le_f16(src + 2);
            const uint32_t qh = llava__le32(src + 4);
            for (i = 0; i < 32; i++) {
                int q = (i < 16 ? src[8 + i] & 0x0f : src[8 + i - 16] >> 4) | (int)((qh >> i) & 1) << 4;
                float t = d * (float)q;
                dst[i] = t + m;
            }
        }
        return 1;
    case LLAVA__GGML_Q8_0: /* d, qs[32] (int8); q * d */
        for (nb = n / 32, b = 0; b < nb; b++, src += 34, dst += 32) {
            const float d = llava__le_f16(src);
            for (i = 0; i < 32; i++) dst[i] = (float)(int8_t)src[2 + i] * d;
        }
        return 1;
    case LLAVA__GGML_Q4_K: /* d, dmin, scales[12], qs[128]: 8 sub-blocks of 32; (d * sc) * q - (dmin * m) */
        for (nb = n / 256, b = 0; b < nb; b++, src += 144, dst += 256) {
            const float d = llava__le_f16(src), dmin = llava__le_f16(src + 2);
            const unsigned char *qs = src + 16;
            for (j = 0; j < 8; j++) {
                int sc, mn;
                llava__q4k_scale_min(src + 4, j, &sc, &mn);
                const float ds = d * (float)sc, dm = dmin * (float)mn;
                const int sh = (j & 1) * 4;
                for (i = 0; i < 32; i++) {
                    float t = ds * (float)((qs[(j / 2) * 32 + i] >> sh) & 0x0f);
                    dst[j * 32 + i] = t - dm;
                }
            }
        }
        return 1;
    case LLAVA__GGML_Q5_K: /* d, dmin, scales[12], qh[32] (bit j: sub-block j), qs[128] */
        for (nb = n / 256, b = 0; b < nb; b++, src += 176, dst += 256) {
            const float d = llava__le_f16(src), dmin = llava__le_f16(src + 2);
            const unsigned char *qh = src + 16, *qs = src + 48;
            for (j = 0; j < 8; j++) {
                int sc, mn;
                llava__q4k_scale_min(src + 4, j, &sc, &mn);
                const float ds = d * (float)sc, dm = dmin * (float)mn;
                const int sh = (j & 1) * 4;
                for (i = 0; i < 32; i++) {
                    int q = ((qs[(j / 2) * 32 + i] >> sh) & 0x0f) | ((qh[i] >> j) & 1) << 4;
                    float t = ds * (float)q;
                    dst[j * 32 + i] = t - dm;
                }
            }
        }
        return 1;
    case LLAVA__GGML_Q6_K: /* ql[128], qh[64], scales[16] (int8), d; (d * scale) * (q - 32), 16 sub-blocks of 16 */
        for (nb = n / 256, b = 0; b < nb; b++, src += 210, dst += 256) {
            const unsigned char *ql = src, *qh = src + 128;
            const signed char *sc = (const signed char *)(src + 192);
            const float d = llava__le_f16(src + 208);
            for (i = 0; i < 256; i++) {
                const int half = i / 128, k = i % 128;
                const int lo = (ql[half * 64 + k % 64] >> ((k / 64) * 4)) & 0x0f;
                const int hi = (qh[half * 32 + k % 32] >> ((k / 32) * 2)) & 0x03;
                dst[i] = (d * (float)sc[i / 16]) * (float)((lo | hi << 4) - 32);
            }
        }
        return 1;
    }
    return 0;
}

/* moves g's open file into ts as one more shard (its tensors point into it); g keeps its tables */
LLAVA__MAYBE_UNUSED static int llava__gguf_adopt(llava__tensors *ts, llava__gguf *g) {
    llava__shard *ns = (llava__shard *)LLAVA_REALLOC(ts->shards, (size_t)(ts->n_shards + 1) * sizeof *ns);
    if (!ns) return llava__err("%s: out of memory for the table of %d files (%zu bytes)", g->path, ts->n_shards + 1, (size_t)(ts->n_shards + 1) * sizeof *ns);
    ts->shards = ns;
    ns[ts->n_shards].f = g->f;
    ns[ts->n_shards].path = llava__strdup(g->path);
    memset(&g->f, 0, sizeof g->f);
    ts->n_shards++;
    return LLAVA_OK;
}

/* adds GGUF tensor gt to ts as `name` with PyTorch's shape (ne reversed). F32/F16/BF16 stay in the file
   (zero-copy); other types are dequantized into a buffer ts owns. heads > 0 undoes llama.cpp's
   permutation of q/k rows (convert_hf_to_gguf.py LlamaModel.permute: within each of `heads` heads the
   rows were interleaved as [r0, r_half, r1, r_half+1, ...]; transformers' GGUF loader reverses it in
   reverse_permute_weights): HF row h*Dh + s*Dh/2 + j is GGUF row h*Dh + 2j + s. */
LLAVA__MAYBE_UNUSED static int llava__gguf_put(llava__tensors *ts, int shard, const llava__gguf_tensor *gt, const char *name, int heads) {
    llava__tensor t;
    int i;
    memset(&t, 0, sizeof t);
    t.ndim = gt->n_dims;
    for (i = 0; i < gt->n_dims; i++) t.shape[i] = gt->ne[gt->n_dims - 1 - i];
    t.file = shard;
    llava__ggml_type_size(gt->type, NULL, NULL, &t.dtype_name);
    const int direct = gt->type == LLAVA__GGML_F32 || gt->type == LLAVA__GGML_F16 || gt->type == LLAVA__GGML_BF16;
    t.dtype = gt->type == LLAVA__GGML_F32 ? LLAVA_F32 : gt->type == LLAVA__GGML_F16 ? LLAVA_F16 : gt->type == LLAVA__GGML_BF16 ? LLAVA_BF16 : LLAVA_F32;
    /* rows: the slowest dimension (a vector: each element, or the whole vector when it is quantized) */
    const uint64_t numel = (uint64_t)gt->ne[0] * (uint64_t)gt->ne[1] * (uint64_t)gt->ne[2] * (uint64_t)gt->ne[3];
    const uint64_t rows = gt->n_dims > 1 ? (uint64_t)gt->ne[gt->n_dims - 1] : direct ? numel : 1;
    if (heads > 0 && (gt->n_dims == 1 && !direct))
        return llava__err("tensor '%s' is a quantized vector (%s) whose rows are permuted; only F32/F16/BF16 are supported there",
                          name, t.dtype_name);
    if (heads > 0 && (rows % (uint64_t)heads || (rows / (uint64_t)heads) % 2))
        return llava__err("tensor '%s' has %llu rows, which do not split into %d heads of an even size", name,
                          (unsigned long long)rows, heads);
    if (rows == 0) heads = 0;
    if (rows > (uint64_t)(~0ul >> 1)) return llava__err("tensor '%s' has too many rows (%llu)", name, (unsigned long long)rows);
    if (!direct && !llava__ggml_can_dequant(gt->type))
        return llava__err("tensor '%s' has ggml type %s, which llava.h cannot convert (F32, F16, BF16, Q4_0, Q4_1, Q5_0, "
                          "Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)", name, t.dtype_name);
    if (direct && heads <= 0) {
        t.data = gt->data;
        t.nbytes = gt->nbytes;
    } else {
        const size_t esize = direct ? llava__dtype_size((LlavaDType)t.dtype) : 4;
        if (numel > SIZE_MAX / esize) return llava__err("tensor '%s' is too large", name);
        unsigned char *p = (unsigned char *)llava__alloc_aligned((size_t)(numel * esize) + 1);
        if (llava__tensors_own(ts, p) != LLAVA_OK) return LLAVA_ERR;
        const size_t out_row = rows ? (size_t)(numel / rows) * esize : 0, in_row = rows ? gt->nbytes / (size_t)rows : 0;
        const uint64_t dh = heads > 0 ? rows / (uint64_t)heads : 1;
        long r;
        LLAVA__OMP(omp parallel for schedule(static) if (rows >= 256 && numel >= 65536))
        for (r = 0; r < (long)rows; r++) {
            /* source row r lands at dest row perm(r) */
            uint64_t dr = (uint64_t)r;
            if (heads > 0) {
                uint64_t h = (uint64_t)r / dh, w = (uint64_t)r % dh, j = w / 2, s = w % 2;
                dr = h * dh + s * (dh / 2) + j;
            }
            if (direct) memcpy(p + dr * out_row, gt->data + (size_t)r * in_row, out_row);
            else llava__ggml_dequant(gt->type, gt->data + (size_t)r * in_row, (float *)(p + dr * out_row), (size_t)(numel / rows));
        }
        t.data = p;
        t.nbytes = (size_t)(numel * esize);
        if (!direct) t.dtype_name = "F32";
    }
    if (!(t.name = llava__strdup(name))) return llava__err("out of memory for a tensor name (%zu bytes)", strlen(name) + 1);
    if (ts->n == ts->cap) {
        int nc = ts->cap ? ts->cap * 2 : 256;
        llava__tensor *nt = (llava__tensor *)LLAVA_REALLOC(ts->t, (size_t)nc * sizeof *nt);
        if (!nt) {
            LLAVA_FREE(t.name);
            return llava__err("out of memory for the table of %d tensors (%zu bytes)", nc, (size_t)nc * sizeof *nt);
        }
        ts->t = nt;
        ts->cap = nc;
    }
    ts->t[ts->n++] = t;
    return LLAVA_OK;
}

/* --- crash-safe file writing: everything goes to path.tmp, is flushed to disk, then renamed over
   path, so an interrupted save never destroys the previous file --------------------------------- */
/* the tests' crash points: called, where set, at each step of a save that a crash could interrupt */
static void (*llava__save_hook)(const char *point);
#define LLAVA__SAVE_POINT(point) \
    do { \
        if (llava__save_hook) llava__save_hook(point); \
    } while (0)
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
        return llava__err("%s: out of memory for its paths (%zu bytes)", path, 2 * n + 6);
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
    else LLAVA__SAVE_POINT(f->tmp);
    if (rc == LLAVA_OK && rename(f->tmp, f->path) != 0) rc = llava__err("%s: cannot rename to %s (%s)", f->tmp, f->path, strerror(errno));
    if (rc == LLAVA_OK) LLAVA__SAVE_POINT(f->path);
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
    if (!h) return llava__err("%s: out of memory for the header (%zu bytes)", path, cap);
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
LLAVADEF int llava_write_text(const char *path, const char *text) {
    llava__wfile f;
    if (llava__wopen(&f, path) != LLAVA_OK) return LLAVA_ERR;
    llava__wwrite(&f, text, strlen(text));
    return llava__wclose(&f);
}

/* --- whole directories, swapped in at once ---------------------------------------------------------
   A model or checkpoint directory DIR is written into DIR.llava-partial (first removed where an earlier
   save left it), flushed, and swapped in with two renames: DIR -> DIR.llava-old, DIR.llava-partial -> DIR;
   then DIR.llava-old is removed. Only a complete directory is ever given the name DIR or DIR.llava-old,
   and each rename is atomic, so whenever a save is interrupted (a crash, SIGKILL, power loss) either DIR
   is a complete checkpoint, the previous one or the new one (any DIR.llava-old beside it is a leftover),
   or, between the two renames, DIR is missing and DIR.llava-old is the previous checkpoint, complete:
   the loaders read that one where DIR is missing (llava__dir_fallback), and the next save takes it as
   the previous checkpoint. Files of the previous DIR that the new save does not write (a caller's own)
   are linked (or copied) into the new one before the swap. DIR given as a symbolic link is followed
   (where lstat is declared) and the swap happens where it points. Elsewhere than POSIX the files are
   written into DIR one by one, each through its own temporary file. */
static char *llava__cat(const char *a, const char *b) {
    size_t n = strlen(a), k = strlen(b);
    char *r = (char *)LLAVA_MALLOC(n + k + 1);
    if (r) memcpy(r, a, n), memcpy(r + n, b, k + 1);
    return r;
}

#ifdef LLAVA__POSIX
/* DIR as the swap renames it: trailing slashes dropped, a symbolic link followed; NULL (error set) for
   a name that cannot be renamed ("/", ".", "..") or a link that does not resolve */
static char *llava__dir_target(const char *dir) {
    char *p = llava__strdup(dir);
    int hops = 0;
    if (!p) {
        llava__err("out of memory");
        return NULL;
    }
    for (;;) {
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/') p[--n] = 0;
        char *slash = strrchr(p, '/');
        const char *base = slash ? slash + 1 : p;
        if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
            llava__err("%s: a model is saved by renaming its directory into place: name the directory (not '.', '..' or '/')", dir);
            LLAVA_FREE(p);
            return NULL;
        }
#ifdef LLAVA__LSTAT
        struct stat st;
        char link[4096];
        ssize_t k;
        if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode)) return p;
        if (++hops > 16 || (k = readlink(p, link, sizeof link - 1)) <= 0) {
            llava__err("%s: a symbolic link that does not resolve (%s)", dir, hops > 16 ? "too many levels" : strerror(errno));
            LLAVA_FREE(p);
            return NULL;
        }
        link[k] = 0;
        char *q;
        if (link[0] == '/' || !slash) q = llava__strdup(link); /* absolute, or relative to the link's directory */
        else {
            slash[1] = 0;
            q = llava__path_join(p, link);
        }
        LLAVA_FREE(p);
        if (!(p = q)) {
            llava__err("out of memory");
            return NULL;
        }
#else
        (void)hops;
        return p;
#endif
    }
}

/* removes path, and for a directory everything in it, never following a symbolic link (unlink removes
   the link itself); for the save's own names only. 0, or -1 with errno set */
static int llava__rmtree(const char *path, int depth) {
    if (unlink(path) == 0 || errno == ENOENT) return 0;
    if (errno != EISDIR && errno != EPERM) return -1; /* EISDIR (Linux) or EPERM (POSIX): a directory */
    DIR *d = depth < 32 ? opendir(path) : NULL;
    struct dirent *e;
    int rc = 0;
    if (!d) return -1;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *c = llava__path_join(path, e->d_name);
        rc = c ? llava__rmtree(c, depth + 1) : (errno = ENOMEM, -1);
        LLAVA_FREE(c);
    }
    const int saved = errno;
    closedir(d);
    errno = saved;
    if (rc == 0 && rmdir(path) != 0 && errno != ENOENT) rc = -1;
    return rc;
}

/* what directory `from` has and `to` lacks, hard-linked (or copied) into `to`, subdirectories too; not
   the *.tmp files an interrupted write leaves */
static int llava__carry(const char *from, const char *to, int depth) {
    DIR *d = opendir(from);
    struct dirent *e;
    int rc = LLAVA_OK;
    if (!d) return llava__err("%s: cannot read the directory (%s)", from, strerror(errno));
    while (rc == LLAVA_OK && (e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        const size_t l = strlen(nm);
        if (!strcmp(nm, ".") || !strcmp(nm, "..") || (l > 4 && !strcmp(nm + l - 4, ".tmp"))) continue;
        char *a = llava__path_join(from, nm), *b = llava__path_join(to, nm);
        struct stat sa, sb;
        if (!a || !b) rc = llava__err("out of memory");
        else if (stat(b, &sb) == 0) { /* written by this save: its own, but a directory may lack something */
            if (S_ISDIR(sb.st_mode) && stat(a, &sa) == 0 && S_ISDIR(sa.st_mode) && depth < 32) rc = llava__carry(a, b, depth + 1);
        }
#ifdef LLAVA__LSTAT
        else if (lstat(a, &sa) == 0 && S_ISLNK(sa.st_mode)) { /* a symbolic link stays one */
            char link[4096];
            ssize_t k = readlink(a, link, sizeof link - 1);
            if (k > 0) link[k] = 0;
            if (k <= 0 || symlink(link, b) != 0) rc = llava__err("%s: cannot keep the link in %s (%s)", a, to, strerror(errno));
        }
#endif
        else if (link(a, b) != 0) { /* a directory, or a file system without hard links */
            if (stat(a, &sa) == 0 && S_ISDIR(sa.st_mode)) {
                if (depth >= 32 || mkdir(b, 0755) != 0) rc = llava__err("%s: cannot create it (%s)", b, depth >= 32 ? "too deep" : strerror(errno));
                else rc = llava__carry(a, b, depth + 1);
            } else if (llava_copy_file(a, b) != LLAVA_OK) {
                rc = llava__err("%s: cannot keep it in the new %s: neither a hard link nor a copy can be made", a, to);
            }
        }
        LLAVA_FREE(a), LLAVA_FREE(b);
    }
    closedir(d);
    return rc;
}

/* fsync on a directory and those inside it (their entries; the files were flushed when written) */
static void llava__sync_tree(const char *path, int depth) {
    DIR *d = depth < 32 ? opendir(path) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        struct stat st;
        char *c = strcmp(e->d_name, ".") && strcmp(e->d_name, "..") ? llava__path_join(path, e->d_name) : NULL;
        if (c && stat(c, &st) == 0 && S_ISDIR(st.st_mode)) llava__sync_tree(c, depth + 1);
        LLAVA_FREE(c);
    }
    if (d) closedir(d);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) { /* best effort: some file systems refuse fsync on a directory */
        (void)fsync(fd);
        close(fd);
    }
}
#endif

/* where a load reads dir from: NULL for dir itself, or DIR.llava-old (to free) where dir is missing and
   a save was interrupted between its two renames */
static char *llava__dir_fallback(const char *dir) {
#ifdef LLAVA__POSIX
    struct stat st;
    if (stat(dir, &st) == 0 || errno != ENOENT) return NULL;
    char *t = llava__dir_target(dir), *old = t ? llava__cat(t, ".llava-old") : NULL;
    LLAVA_FREE(t);
    if (old && stat(old, &st) == 0 && S_ISDIR(st.st_mode)) return old;
    LLAVA_FREE(old);
#else
    (void)dir;
#endif
    return NULL;
}

typedef struct {
    char *dir, *tmp, *old; /* DIR (as llava__dir_target gives it), DIR.llava-partial, DIR.llava-old */
    const char *out;       /* where the files go: tmp (POSIX), else DIR */
} llava__dirsave;

static void llava__dirsave_free(llava__dirsave *s) {
    LLAVA_FREE(s->dir), LLAVA_FREE(s->tmp), LLAVA_FREE(s->old);
    memset(s, 0, sizeof *s);
}

/* a save into dir begins: leftovers of earlier saves removed, the temporary directory made */
static int llava__dirsave_begin(llava__dirsave *s, const char *dir) {
    memset(s, 0, sizeof *s);
#ifdef LLAVA__POSIX
    struct stat st;
    int rc = LLAVA_OK;
    if (!(s->dir = llava__dir_target(dir))) return LLAVA_ERR;
    s->tmp = llava__cat(s->dir, ".llava-partial");
    s->old = llava__cat(s->dir, ".llava-old");
    if (!s->tmp || !s->old) rc = llava__err("out of memory");
    else if (stat(s->dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) rc = llava__err("%s: exists and is not a directory", s->dir);
        else if (llava__rmtree(s->old, 0) != 0) /* DIR is complete: DIR.llava-old is a finished save's leftover */
            rc = llava__err("%s: cannot remove what an earlier save left (%s)", s->old, strerror(errno));
    } else if (errno != ENOENT) {
        rc = llava__err("%s: %s", s->dir, strerror(errno));
    }
    if (rc == LLAVA_OK && llava__rmtree(s->tmp, 0) != 0) /* an interrupted save's */
        rc = llava__err("%s: cannot remove what an interrupted save left (%s)", s->tmp, strerror(errno));
    if (rc == LLAVA_OK && mkdir(s->tmp, 0755) != 0) rc = llava__err("%s: cannot create directory %s (%s)", dir, s->tmp, strerror(errno));
    if (rc != LLAVA_OK) {
        llava__dirsave_free(s);
        return rc;
    }
    s->out = s->tmp;
    LLAVA__SAVE_POINT("begun");
#else
    s->out = dir;
#endif
    return LLAVA_OK;
}

/* the save ends: rc is the writing's; where it succeeded, the new directory is swapped in (see above),
   else the temporary one is removed and DIR stays as it was */
static int llava__dirsave_end(llava__dirsave *s, int rc) {
#ifdef LLAVA__POSIX
    struct stat st;
    int have_dir = 0;
    if (rc == LLAVA_OK) {
        have_dir = stat(s->dir, &st) == 0;
        const char *prev = have_dir ? s->dir : stat(s->old, &st) == 0 ? s->old : NULL;
        if (prev) rc = llava__carry(prev, s->tmp, 0);
    }
    if (rc == LLAVA_OK) {
        llava__sync_tree(s->tmp, 0);
        LLAVA__SAVE_POINT("written");
        if (have_dir && rename(s->dir, s->old) != 0) rc = llava__err("%s: cannot rename to %s (%s)", s->dir, s->old, strerror(errno));
    }
    if (rc == LLAVA_OK) {
        LLAVA__SAVE_POINT("between the renames");
        if (rename(s->tmp, s->dir) != 0) {
            rc = llava__err("%s: cannot rename to %s (%s)", s->tmp, s->dir, strerror(errno));
            if (have_dir) (void)rename(s->old, s->dir); /* the previous one back under its name */
        }
    }
    if (rc == LLAVA_OK) {
        char *parent = llava__strdup(s->dir), *slash = parent ? strrchr(parent, '/') : NULL;
        if (slash) slash[slash == parent ? 1 : 0] = 0;
        if (parent) {
            int fd = open(slash ? parent : ".", O_RDONLY); /* the renames to disk (best effort) */
            if (fd >= 0) {
                (void)fsync(fd);
                close(fd);
            }
        }
        LLAVA_FREE(parent);
        LLAVA__SAVE_POINT("swapped");
        (void)llava__rmtree(s->old, 0); /* where this fails, the next save removes it */
        LLAVA__SAVE_POINT("done");
    } else {
        (void)llava__rmtree(s->tmp, 0);
    }
    llava__dirsave_free(s);
#else
    (void)s;
#endif
    return rc;
}

/* ------------------------------------------------------------------------------------------------
   3. Layers: forward kernels (argument order: outputs, inputs, cached statistics, sizes).
      The naive matmul stays next to the fast one, as the reference the tests compare against.
   ------------------------------------------------------------------------------------------------ */

/* Kernel scratch: one stack per thread, kept by a backend and reused by every call, so that a product or
   an attention step allocates nothing once the stacks have grown to the largest need seen (llava__ws_fit,
   between entries). A kernel opening a parallel region gives thread i stack i; a kernel called inside a
   region (nested, on one thread) gets a view of that thread's stack alone. Without a workspace (ws NULL,
   the public layer functions), or beyond a stack's room, scratch comes from the heap. */
typedef struct {
    unsigned char *base;
    size_t cap, top, need; /* need: the most this stack was asked to hold */
    size_t over;           /* bytes held on the heap beyond it, counted in need as if they were on it */
} llava__stack;
typedef struct {
    llava__stack *t;
    int nt;
    size_t *oom; /* where a failed request's size is noted (the kernel skips its work; the entry reports it) */
} llava__ws;
static int llava__tid(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
static void *llava__ws_push(llava__ws *ws, int i, size_t bytes) {
    llava__stack *st = ws && i < ws->nt ? &ws->t[i] : NULL;
    bytes = (bytes + 63) & ~(size_t)63;
    if (st) {
        if (st->top + st->over + bytes > st->need) st->need = st->top + st->over + bytes;
        if (st->base && st->over == 0 && st->top + bytes <= st->cap) {
            void *p = st->base + st->top;
            st->top += bytes;
            return p;
        }
    }
    /* from the heap, its size in a 64-byte header */
    unsigned char *raw = bytes <= SIZE_MAX - 64 ? (unsigned char *)llava__alloc_aligned(bytes + 64) : NULL;
    if (!raw) {
        if (ws && ws->oom) *ws->oom = bytes; /* (threads racing here all write a size that failed) */
        return NULL;
    }
    memcpy(raw, &bytes, sizeof bytes);
    if (st) st->over += bytes;
    return raw + 64;
}
static void llava__ws_pop(llava__ws *ws, int i, void *p) {
    llava__stack *st = ws && i < ws->nt ? &ws->t[i] : NULL;
    size_t bytes;
    if (!p) return;
    if (st && st->base && (unsigned char *)p >= st->base && (unsigned char *)p < st->base + st->cap) {
        st->top = (size_t)((unsigned char *)p - st->base);
        return;
    }
    memcpy(&bytes, (unsigned char *)p - 64, sizeof bytes);
    if (st) st->over -= bytes;
    llava__free_aligned((unsigned char *)p - 64);
}
/* thread i's stack alone, for a kernel nested in a parallel region */
static llava__ws llava__ws_view(llava__ws *ws, int i) {
    llava__ws v = {NULL, 0, ws ? ws->oom : NULL};
    if (ws && i < ws->nt) v.t = &ws->t[i], v.nt = 1;
    return v;
}
/* a kernel's scratch that is missing: an error the entry reports where there is a workspace to note it
   in (llava__ws oom), else (the layer functions, which return nothing) an assertion */
#define LLAVA__SCRATCH(ws, ok) LLAVA_ASSERT((ok) || ((ws) && (ws)->oom))

/* w row r, columns [c0, c0+n) -> dst[n] f32 */
static void llava__w_row(float *dst, const LlavaWeight *w, int r, int c0, int n) {
    size_t off = (size_t)r * (size_t)w->cols + (size_t)c0;
    llava__to_f32(dst, (const unsigned char *)w->data + off * llava__dtype_size(w->dtype), w->dtype, (size_t)n);
}

/* naive reference: out[T,OC] = in[T,C] @ w[OC,C]^T + bias[OC] (double accumulation) */
static void llava__matmul_naive(float *out, const float *in, const LlavaWeight *w, const float *bias, int T, int C, int OC) {
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
#ifdef LLAVA__VEC
/* bf16 [VW] -> f32 vector: the bits moved up by 16 */
static inline void llava__bf16_load(llava__vf *out, const uint16_t *p) { /* (out-parameter: no vector return ABI) */
#if defined(__AVX512F__)
    *out = (llava__vf)_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
#elif defined(__AVX2__)
    *out = (llava__vf)_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
#else
    llava__vh h;
    memcpy(&h, p, sizeof h);
    llava__vu u = __builtin_convertvector(h, llava__vu) << 16;
    memcpy(out, &u, sizeof *out);
#endif
}
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
        llava__vf a2 = {0}, a3 = {0}; /* four chains: enough FMAs in flight to keep up with memory */
        for (; i + 4 * LLAVA__VW <= n; i += 4 * LLAVA__VW) {
            llava__vf x0, x1, x2, x3, w0, w1, w2, w3;
            memcpy(&x0, x + i, sizeof x0);
            memcpy(&x1, x + i + LLAVA__VW, sizeof x1);
            memcpy(&x2, x + i + 2 * LLAVA__VW, sizeof x2);
            memcpy(&x3, x + i + 3 * LLAVA__VW, sizeof x3);
            llava__bf16_load(&w0, w + i);
            llava__bf16_load(&w1, w + i + LLAVA__VW);
            llava__bf16_load(&w2, w + i + 2 * LLAVA__VW);
            llava__bf16_load(&w3, w + i + 3 * LLAVA__VW);
            a0 = LLAVA__FMA(x0, w0, a0);
            a1 = LLAVA__FMA(x1, w1, a1);
            a2 = LLAVA__FMA(x2, w2, a2);
            a3 = LLAVA__FMA(x3, w3, a3);
        }
        a0 += a2;
        a1 += a3;
        for (; i + 2 * LLAVA__VW <= n; i += 2 * LLAVA__VW) {
            llava__vf x0, x1, w0, w1;
            memcpy(&x0, x + i, sizeof x0);
            memcpy(&x1, x + i + LLAVA__VW, sizeof x1);
            llava__bf16_load(&w0, w + i);
            llava__bf16_load(&w1, w + i + LLAVA__VW);
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

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized" /* false positive inside GCC's AVX-512 conversions */
#endif
#ifdef LLAVA__VEC

/* the body for one weight type T: LOADV(dst, ptr) fills a vector from ptr, SCALAR(v) widens one weight */
#define LLAVA__DOT4_BODY(T, LOADV, SCALAR)                                                              \
    do {                                                                                              \
        const T *w[4] = {(const T *)w0v, (const T *)w1v, (const T *)w2v, (const T *)w3v};            \
        llava__vf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                            \
        float s[4] = {0, 0, 0, 0};                                                                    \
        int i = 0, k;                                                                                 \
        for (; i + LLAVA__VW <= n; i += LLAVA__VW) {                                                  \
            llava__vf xv, wf[4];                                                                      \
            memcpy(&xv, x + i, sizeof xv);                                                            \
            for (k = 0; k < 4; k++) LOADV(&wf[k], w[k] + i);                                          \
            a0 = LLAVA__FMA(xv, wf[0], a0);                                                           \
            a1 = LLAVA__FMA(xv, wf[1], a1);                                                           \
            a2 = LLAVA__FMA(xv, wf[2], a2);                                                           \
            a3 = LLAVA__FMA(xv, wf[3], a3);                                                           \
        }                                                                                             \
        for (k = 0; k < LLAVA__VW; k++) s[0] += a0[k], s[1] += a1[k], s[2] += a2[k], s[3] += a3[k];   \
        for (; i < n; i++)                                                                            \
            for (k = 0; k < 4; k++) s[k] += x[i] * SCALAR(w[k][i]);                                   \
        for (k = 0; k < 4; k++) out[k] = s[k];                                                        \
    } while (0)
#define LLAVA__F32_LOADV(dst, p) memcpy((dst), (p), sizeof(llava__vf))
#define LLAVA__F32_SCALAR(v) (v)

/* four dot products with one x: out[r] = dot(x[n], w_r[n]), bf16 or f32 rows. Four weight streams at once
   keep more memory requests in flight than one row at a time (decoding is bound by them). */
static void llava__dot4(float *out, const float *x, const void *w0v, const void *w1v, const void *w2v, const void *w3v, LlavaDType dt, int n) {
    if (dt == LLAVA_BF16) LLAVA__DOT4_BODY(uint16_t, llava__bf16_load, llava__bf16_to_f32);
    else LLAVA__DOT4_BODY(float, LLAVA__F32_LOADV, LLAVA__F32_SCALAR);
}
#undef LLAVA__DOT4_BODY
#undef LLAVA__F32_LOADV
#undef LLAVA__F32_SCALAR
#endif
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
/* bp[kc][NR] = the NR rows of b (row stride ld, f32 or bf16) from their first kc columns, transposed a
   VW x VW block at a time in registers: log2(VW) rounds of interleaving rows i and i + VW/2 give the
   transpose (kc a multiple of VW). Packing one weight row at a time stores every float to its own cache
   line: in CLIP pretraining, where one image's matrices have 65 rows, that took a fifth of the time of
   the products it fed. */
#if LLAVA__VW == 16
#define LLAVA__ILO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define LLAVA__IHI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#else
#define LLAVA__ILO 0, 8, 1, 9, 2, 10, 3, 11
#define LLAVA__IHI 4, 12, 5, 13, 6, 14, 7, 15
#endif
#if defined(__clang__)
#define LLAVA__SHUF(a, b, idx) __builtin_shufflevector(a, b, idx)
#else
#define LLAVA__SHUF(a, b, idx) __builtin_shuffle(a, b, (llava__vu){idx})
#endif
static inline void llava__vtranspose(llava__vf *v) { /* v[VW] as a VW x VW matrix, in place */
    llava__vf t[LLAVA__VW];
    int i, r;
    for (r = 1; r < LLAVA__VW; r *= 2) {
        for (i = 0; i < LLAVA__VW / 2; i++) {
            t[2 * i] = LLAVA__SHUF(v[i], v[i + LLAVA__VW / 2], LLAVA__ILO);
            t[2 * i + 1] = LLAVA__SHUF(v[i], v[i + LLAVA__VW / 2], LLAVA__IHI);
        }
        memcpy(v, t, sizeof t);
    }
}
static void llava__pack_panel(float *bp, const void *b, LlavaDType dt, int ld, int kc) {
    int i, half, k0;
    for (half = 0; half < 2; half++)
        for (k0 = 0; k0 < kc; k0 += LLAVA__VW) {
            llava__vf v[LLAVA__VW];
            for (i = 0; i < LLAVA__VW; i++) {
                const size_t at = (size_t)(half * LLAVA__VW + i) * (size_t)ld + (size_t)k0;
                if (dt == LLAVA_BF16) llava__bf16_load(&v[i], (const uint16_t *)b + at);
                else memcpy(&v[i], (const float *)b + at, sizeof v[i]);
            }
            llava__vtranspose(v);
            for (i = 0; i < LLAVA__VW; i++) memcpy(bp + (size_t)(k0 + i) * LLAVA__NR + half * LLAVA__VW, &v[i], sizeof v[i]);
        }
}
#undef LLAVA__SHUF
#undef LLAVA__ILO
#undef LLAVA__IHI

/* out[mr, nr] (+)= a[mr, kc] (row stride lda) @ bp[kc, NR]; mode 0: out = bias + tile, 1: out += tile,
   2: out += bias + tile */
static void llava__gemm_tile(float *out, int ldo, const float *a, int lda, const float *bp, int kc, int mr, int nr,
                             int mode, const float *bias) {
    const float *a0 = a, *a1 = a + (mr > 1 ? 1 : 0) * (size_t)lda, *a2 = a + (mr > 2 ? 2 : 0) * (size_t)lda,
                *a3 = a + (mr > 3 ? 3 : 0) * (size_t)lda, *a4 = a + (mr > 4 ? 4 : 0) * (size_t)lda,
                *a5 = a + (mr > 5 ? 5 : 0) * (size_t)lda;
    const llava__vf z = {0}, nz = -z; /* -0 + x is x for every x: the adds below fold into broadcast loads */
    llava__vf c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
    int k, i, j;
    for (k = 0; k < kc; k++) {
        const llava__vf b0 = *(const llava__vf *)(bp + (size_t)k * LLAVA__NR);
        const llava__vf b1 = *(const llava__vf *)(bp + (size_t)k * LLAVA__NR + LLAVA__VW);
        llava__vf t;
        t = nz + a0[k]; c00 = LLAVA__FMA(t, b0, c00); c01 = LLAVA__FMA(t, b1, c01);
        t = nz + a1[k]; c10 = LLAVA__FMA(t, b0, c10); c11 = LLAVA__FMA(t, b1, c11);
        t = nz + a2[k]; c20 = LLAVA__FMA(t, b0, c20); c21 = LLAVA__FMA(t, b1, c21);
        t = nz + a3[k]; c30 = LLAVA__FMA(t, b0, c30); c31 = LLAVA__FMA(t, b1, c31);
        t = nz + a4[k]; c40 = LLAVA__FMA(t, b0, c40); c41 = LLAVA__FMA(t, b1, c41);
        t = nz + a5[k]; c50 = LLAVA__FMA(t, b0, c50); c51 = LLAVA__FMA(t, b1, c51);
    }
    if (nr == LLAVA__NR) { /* a whole tile: rows stored as vectors (the same sums, in the same order, as below) */
        const llava__vf *cv[LLAVA__MR][2] = {{&c00, &c01}, {&c10, &c11}, {&c20, &c21}, {&c30, &c31}, {&c40, &c41}, {&c50, &c51}};
        llava__vf bv[2] = {z, z}, ov;
        if (bias) memcpy(bv, bias, sizeof bv);
        for (i = 0; i < mr; i++)
            for (j = 0; j < 2; j++) {
                float *o = out + (size_t)i * ldo + j * LLAVA__VW;
                if (mode == 0) {
                    ov = bv[j] + *cv[i][j];
                } else {
                    memcpy(&ov, o, sizeof ov);
                    ov = mode == 2 && bias ? ov + (bv[j] + *cv[i][j]) : ov + *cv[i][j];
                }
                memcpy(o, &ov, sizeof ov);
            }
        return;
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
static void llava__gemm(llava__ws *ws, float *out, const float *A, const void *B, LlavaDType bdt, int bt, const float *bias, int M,
                        int K, int N, int accumulate) {
    const size_t es = llava__dtype_size(bdt);
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* empty sum */
        int m, n;
        for (m = 0; m < M; m++)
            for (n = 0; n < N; n++) out[(size_t)m * N + n] = (accumulate ? out[(size_t)m * N + n] : 0.0f) + (bias ? bias[n] : 0.0f);
        return;
    }
#ifdef LLAVA__VEC
    if (M == 1 && !bt && bdt != LLAVA_F16 && N % 4 == 0) { /* decoding: four rows at a time */
        int o4;
        LLAVA__OMP(omp parallel for schedule(static) if ((size_t)N * K > 32768))
        for (o4 = 0; o4 < N / 4; o4++) {
            const int o = o4 * 4;
            const unsigned char *b = (const unsigned char *)B + (size_t)o * (size_t)K * es;
            float r[4];
            int k;
            llava__dot4(r, A, b, b + (size_t)K * es, b + 2 * (size_t)K * es, b + 3 * (size_t)K * es, bdt, K);
            for (k = 0; k < 4; k++) {
                float v = r[k] + (bias ? bias[o + k] : 0.0f);
                out[o + k] = accumulate ? out[o + k] + v : v;
            }
        }
        return;
    }
#endif
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
            const int me = llava__tid();
            float *bp = (float *)llava__ws_push(ws, me, (size_t)LLAVA__KC * LLAVA__NR * sizeof(float));
            float *row = (float *)llava__ws_push(ws, me, (size_t)LLAVA__KC * sizeof(float) + LLAVA__NR * sizeof(float));
            int p;
            LLAVA__OMP(omp for schedule(static))
            for (p = 0; p < npanels; p++) {
                if (!bp || !row) continue; /* out of memory: caught by LLAVA_ASSERT below */
                const int n0 = p * LLAVA__NR, nr = LLAVA__MIN(LLAVA__NR, N - n0);
                int j, k, t;
                if (!bt && nr == LLAVA__NR && bdt != LLAVA_F16 && kc % LLAVA__VW == 0) {
                    llava__pack_panel(bp, (const unsigned char *)B + ((size_t)n0 * K + k0) * es, bdt, K, kc);
                } else if (!bt) {
                    for (j = 0; j < LLAVA__NR; j++) {
                        if (j < nr) { /* f32 is read where it is; other types converted to row first */
                            const unsigned char *src = (const unsigned char *)B + ((size_t)(n0 + j) * K + k0) * es;
                            const float *r = (const float *)src;
                            if (bdt != LLAVA_F32) llava__to_f32(row, src, bdt, (size_t)kc), r = row;
                            for (k = 0; k < kc; k++) bp[(size_t)k * LLAVA__NR + j] = r[k];
                        } else {
                            for (k = 0; k < kc; k++) bp[(size_t)k * LLAVA__NR + j] = 0.0f;
                        }
                    }
                } else {
                    for (k = 0; k < kc; k++) {
                        float *dst = bp + (size_t)k * LLAVA__NR;
                        const unsigned char *src = (const unsigned char *)B + ((size_t)(k0 + k) * N + n0) * es;
                        if (bdt == LLAVA_F32 && nr == LLAVA__NR) { /* a fixed size: copied inline */
                            memcpy(dst, src, LLAVA__NR * sizeof(float));
                            continue;
                        }
                        llava__to_f32(dst, src, bdt, (size_t)nr);
                        for (j = nr; j < LLAVA__NR; j++) dst[j] = 0.0f;
                    }
                }
                for (t = 0; t < M; t += LLAVA__MR)
                    llava__gemm_tile(out + (size_t)t * N + n0, N, A + (size_t)t * K + k0, K, bp, kc, LLAVA__MIN(LLAVA__MR, M - t), nr,
                                     mode, bias ? bias + n0 : NULL);
            }
            LLAVA__SCRATCH(ws, bp && row);
            llava__ws_pop(ws, me, row);
            llava__ws_pop(ws, me, bp);
        }
    }
#else
    { /* portable fallback */
        int m, n, k;
        float *rowb = (float *)llava__ws_push(ws, 0, (size_t)K * sizeof(float));
        LLAVA__SCRATCH(ws, rowb);
        if (!rowb) return;
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
        llava__ws_pop(ws, 0, rowb);
    }
#endif
}

/* --- products in bfloat16 ------------------------------------------------------------------------
   LLaVA trains in bf16 mixed precision: a matrix product takes its operands rounded to bf16 and sums in
   f32. llava_use_bf16() gives a model such products (forward and backward; everything else stays f32).
   Where the CPU has AMX (Intel Xeon since Sapphire Rapids) and the build targets it, they run on its tile
   unit, one 16 x 16 block of f32 sums += a 16 x 32 by 32 x 16 bf16 product per instruction; elsewhere the
   rounding is emulated on the f32 kernel (same operands, the sums in another order). */
enum { LLAVA__PREC_F32, LLAVA__PREC_BF16, LLAVA__PREC_AMX };

/* dst[n] = the bf16 bits of src[n] (dtype t), rounded to nearest even, NaN kept (as llava__f32_to_bf16) */
static void llava__to_bf16(uint16_t *dst, const void *src, LlavaDType t, size_t n) {
    size_t i = 0;
    if (t == LLAVA_BF16) {
        memcpy(dst, src, n * 2);
        return;
    }
    if (t == LLAVA_F16) {
        for (; i < n; i++) dst[i] = llava__f32_to_bf16(llava__f16_to_f32(((const uint16_t *)src)[i]));
        return;
    }
#ifdef LLAVA__VEC
    for (; i + LLAVA__VW <= n; i += LLAVA__VW) {
        llava__vu u, r, nan;
        llava__vh h;
        memcpy(&u, (const float *)src + i, sizeof u);
        nan = (llava__vu)((u & 0x7fffffffu) > 0x7f800000u);
        r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        r = (r & ~nan) | (((u >> 16) | 0x40u) & nan);
        h = __builtin_convertvector(r, llava__vh);
        memcpy(dst + i, &h, sizeof h);
    }
#endif
    for (; i < n; i++) dst[i] = llava__f32_to_bf16(((const float *)src)[i]);
}

/* dst[n] (f32) = src[n] rounded to bf16 */
static void llava__round_bf16(float *dst, const void *src, LlavaDType t, size_t n) {
    uint16_t tmp[256];
    size_t i, j, c;
    for (i = 0; i < n; i += c) {
        c = LLAVA__MIN((size_t)256, n - i);
        llava__to_bf16(tmp, (const unsigned char *)src + i * llava__dtype_size(t), t, c);
        for (j = 0; j < c; j++) dst[i + j] = llava__bf16_to_f32(tmp[j]);
    }
}

#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__linux__) && defined(__x86_64__) && LLAVA__VW == 16
#define LLAVA__AMX 1
#include <cpuid.h>
#include <immintrin.h>

/* the CPU has AMX-BF16 and the kernel lets this process use the tile registers: Linux wants a process to
   ask for them, arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA) (the system call made directly: syscall() needs
   feature macros that the including file may not define) */
static int llava__amx_available(void) {
    unsigned a, b, c, d;
    long r;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 22)) || !(d & (1u << 24))) return 0;
    __asm__ volatile("syscall" : "=a"(r) : "0"(158L /* SYS_arch_prctl */), "D"(0x1023L /* ARCH_REQ_XCOMP_PERM */), "S"(18L /* XTILEDATA */)
                     : "rcx", "r11", "memory");
    return r == 0;
}

/* llava__to_bf16 for the tile unit, by the CPU's own conversion where it has one (VCVTNE2PS2BF16: the same
   rounding, but a denormal becomes zero, as the tile unit takes it anyway) */
static void llava__amx_bf16(uint16_t *dst, const void *src, LlavaDType t, size_t n) {
    size_t i = 0;
#ifdef __AVX512BF16__
    if (t == LLAVA_F32) {
        const float *f = (const float *)src;
        for (; i + 32 <= n; i += 32) {
            const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(f + i + 16), _mm512_loadu_ps(f + i));
            _mm512_storeu_si512(dst + i, (__m512i)h);
        }
    }
#endif
    llava__to_bf16(dst + i, (const unsigned char *)src + i * llava__dtype_size(t), t, n - i);
}

/* 16 (k, k+1) pairs: r0[i] in the low half of the i-th 32-bit word of dst, r1[i] in the high half */
static inline void llava__amx_pairs(void *dst, const uint16_t *r0, const uint16_t *r1) {
    llava__vh h0, h1;
    llava__vu w;
    memcpy(&h0, r0, sizeof h0);
    memcpy(&h1, r1, sizeof h1);
    w = __builtin_convertvector(h0, llava__vu) | __builtin_convertvector(h1, llava__vu) << 16;
    memcpy(dst, &w, sizeof w);
}

/* out[M,N] (+)= A[M,K] @ op(B) + bias as llava__gemm, on the tile unit; with at, A is given as A^T [K, M]
   (the weight gradient's dout). A and B are packed as bf16 tiles, zero-padded to whole 32 x 32 blocks:
   A tile (i, kb) holds rows 16i.. and columns 32kb.. as 16 rows of 32; B tile (j, kb) holds output
   columns 16j.. as 16 rows of (k, k+1) pairs, the layout TDPBF16PS reads. A^T is packed from whole rows
   of it: (k, k+1) pairs interleaved, then 16 x 16 blocks of pairs transposed. The work is a row block of
   32 times a group of column blocks, groups outer, each 32 x 32 block of out in four accumulator tiles.
   K goes in chunks of at most 16 tiles, so that a row block's chunk of A (32 KB) stays in L1 while the
   group's B tiles (at most 512 KB) come from L2; between chunks the sums go back to out (or, at its
   edges, to the thread's buffer). The products at these sizes are bound by memory more than by the tile
   unit: out's rows are prefetched for writing before a block starts. */
static void llava__gemm_amx(float *out, const float *A, int at, const void *B, LlavaDType bdt, int bt, const float *bias, int M,
                            int K, int N, int accumulate) {
    const int kt = (K + 31) / 32, mb = (M + 31) / 32, nb = (N + 31) / 32;
    const size_t es = llava__dtype_size(bdt), tile = 512; /* bf16 per tile */
    const int par = (size_t)M * N * K > 65536, nc = (kt + 15) / 16; /* chunks of K */
    /* column groups: a group's B tiles (2 kt KB a block) stay in L2 (512 KB) while its row blocks go by */
    int ng = (nb + LLAVA__MAX(1, 256 / kt) - 1) / LLAVA__MAX(1, 256 / kt), nthr = 1;
#ifdef _OPENMP
    if (par && !omp_in_parallel()) nthr = omp_get_max_threads();
#else
    (void)par;
#endif
    while (mb * ng < 4 * nthr && ng < nb) ng++; /* enough pieces of work to share out */
    uint16_t *bp = (uint16_t *)llava__alloc_aligned((size_t)2 * nb * kt * tile * 2);
    uint16_t *ap = (uint16_t *)llava__alloc_aligned((size_t)2 * mb * kt * tile * 2);
    LLAVA_ASSERT(bp && ap);
    LLAVA__OMP(omp parallel if (par))
    {
        uint16_t *row = (uint16_t *)LLAVA_MALLOC(((size_t)16 * LLAVA__MAX(K, N) + 64 * mb + 512) * 2);
        float *cbs = (float *)llava__alloc_aligned((size_t)(nb / ng + 1) * 1024 * sizeof(float)); /* edge blocks' sums */
        unsigned char cfg[64];
        int r, j, k, it;
        LLAVA_ASSERT(row && cbs);
        if (!at) { /* A: a row at a time into its tile row */
            LLAVA__OMP(omp for schedule(static) nowait)
            for (r = 0; r < 32 * mb; r++) {
                uint16_t *dst = ap + ((size_t)(r / 16) * kt * 16 + r % 16) * 32;
                memset(row, 0, (size_t)kt * 32 * 2);
                if (r < M) llava__amx_bf16(row, A + (size_t)r * K, LLAVA_F32, (size_t)K);
                for (k = 0; k < kt; k++) memcpy(dst + (size_t)k * tile, row + (size_t)k * 32, 64);
            }
        } else { /* A^T [K, M]: per 32 k, rows k and k + 1 as (k, k+1) pairs, then 16 x 16 blocks of pairs transposed */
            const size_t lw = (size_t)32 * mb; /* pairs in a row */
            uint32_t *wb = (uint32_t *)llava__alloc_aligned(16 * lw * 4);
            int kb, p;
            LLAVA_ASSERT(wb);
            LLAVA__OMP(omp for schedule(static) nowait)
            for (kb = 0; kb < kt; kb++) {
                for (p = 0; p < 16; p++) {
                    const int kk = 32 * kb + 2 * p;
                    uint16_t *r0 = row, *r1 = row + lw;
                    memset(row, 0, 2 * lw * 2);
                    if (kk < K) llava__amx_bf16(r0, A + (size_t)kk * M, LLAVA_F32, (size_t)M);
                    if (kk + 1 < K) llava__amx_bf16(r1, A + ((size_t)kk + 1) * M, LLAVA_F32, (size_t)M);
                    for (j = 0; j < 2 * mb; j++) llava__amx_pairs(wb + (size_t)p * lw + 16 * j, r0 + 16 * j, r1 + 16 * j);
                }
                for (j = 0; j < 2 * mb; j++) {
                    llava__vf v[16];
                    for (p = 0; p < 16; p++) memcpy(&v[p], wb + (size_t)p * lw + 16 * j, 64);
                    llava__vtranspose(v);
                    memcpy(ap + ((size_t)j * kt + kb) * tile, v, sizeof v);
                }
            }
            llava__free_aligned(wb);
        }
        /* B: a pair of k rows (bt = 1) or 16 output columns (bt = 0) at a time */
        if (bt) {
            LLAVA__OMP(omp for schedule(static))
            for (k = 0; k < 16 * kt; k++) { /* rows 2k and 2k + 1 of B, interleaved: 16 (k, k+1) pairs a vector */
                uint16_t *r0 = row, *r1 = row + 32 * nb;
                memset(row, 0, (size_t)64 * nb * 2);
                if (2 * k < K) llava__amx_bf16(r0, (const unsigned char *)B + (size_t)2 * k * N * es, bdt, (size_t)N);
                if (2 * k + 1 < K) llava__amx_bf16(r1, (const unsigned char *)B + ((size_t)2 * k + 1) * N * es, bdt, (size_t)N);
                for (j = 0; j < 2 * nb; j++) llava__amx_pairs(bp + ((size_t)j * kt + k / 16) * tile + (size_t)(k % 16) * 32, r0 + 16 * j, r1 + 16 * j);
            }
        } else {
            LLAVA__OMP(omp for schedule(static))
            for (j = 0; j < 2 * nb; j++) { /* rows 16j.. of B: per 32 k, 16 x 16 (k, k+1) pairs transposed */
                const size_t lr = (size_t)kt * 32; /* row's length in bf16 */
                uint16_t *rows = row;
                llava__vf v[16];
                memset(rows, 0, 16 * lr * 2);
                for (r = 0; r < 16 && 16 * j + r < N; r++)
                    llava__amx_bf16(rows + r * lr, (const unsigned char *)B + (size_t)(16 * j + r) * K * es, bdt, (size_t)K);
                for (k = 0; k < kt; k++) {
                    for (r = 0; r < 16; r++) memcpy(&v[r], rows + r * lr + (size_t)k * 32, 64);
                    llava__vtranspose(v);
                    memcpy(bp + ((size_t)j * kt + k) * tile, v, sizeof v);
                }
            }
        }
        /* the tile configuration: palette 1; tiles 0-3 the sums (16 rows of 16 f32), 4-5 A, 6-7 B (16 rows of 64 bytes) */
        memset(cfg, 0, sizeof cfg);
        cfg[0] = 1;
        for (j = 0; j < 8; j++) cfg[16 + 2 * j] = 64, cfg[48 + j] = 16;
        _tile_loadconfig(cfg);
        LLAVA__OMP(omp for schedule(static))
        for (it = 0; it < mb * ng; it++) { /* groups outer: a thread's group of B tiles stays in its L2 */
            const int g = it / mb, bm = it % mb, m0 = 32 * bm, bn0 = (int)((long)g * nb / ng), bn1 = (int)((long)(g + 1) * nb / ng);
            const uint16_t *a0 = ap + (size_t)2 * bm * kt * tile, *a1 = a0 + (size_t)kt * tile;
            int bn, c;
            for (c = 0; c < nc; c++) {
                const int k0 = (int)((long)c * kt / nc), k1 = (int)((long)(c + 1) * kt / nc), last = c == nc - 1;
                for (bn = bn0; bn < bn1; bn++) {
                    const int n0 = 32 * bn;
                    const uint16_t *b0 = bp + (size_t)2 * bn * kt * tile, *b1 = b0 + (size_t)kt * tile;
                    float *o = out + (size_t)m0 * N + n0, *cs = cbs + (size_t)(bn - bn0) * 1024;
                    const int whole = m0 + 32 <= M && n0 + 32 <= N && !(accumulate && bias), ldo = 4 * N;
                    if (whole) /* out's lines, owned before the tile stores reach them */
                        for (r = 0; r < 32; r++) __builtin_prefetch(o + (size_t)r * N, 1, 3), __builtin_prefetch(o + (size_t)r * N + 16, 1, 3);
                    if (whole && (accumulate || c > 0)) { /* the sums start from out, and are stored back to it */
                        _tile_loadd(0, o, ldo);
                        _tile_loadd(1, o + 16, ldo);
                        _tile_loadd(2, o + (size_t)16 * N, ldo);
                        _tile_loadd(3, o + (size_t)16 * N + 16, ldo);
                    } else if (whole && bias) { /* from the bias: its 16 values as every row (a stride of 0) */
                        _tile_loadd(0, bias + n0, 0);
                        _tile_loadd(1, bias + n0 + 16, 0);
                        _tile_loadd(2, bias + n0, 0);
                        _tile_loadd(3, bias + n0 + 16, 0);
                    } else if (!whole && c > 0) { /* an edge block's sums so far */
                        _tile_loadd(0, cs, 128);
                        _tile_loadd(1, cs + 16, 128);
                        _tile_loadd(2, cs + 512, 128);
                        _tile_loadd(3, cs + 528, 128);
                    } else {
                        _tile_zero(0);
                        _tile_zero(1);
                        _tile_zero(2);
                        _tile_zero(3);
                    }
                    for (k = k0; k < k1; k++) {
                        _tile_loadd(4, a0 + (size_t)k * tile, 64);
                        _tile_loadd(5, a1 + (size_t)k * tile, 64);
                        _tile_loadd(6, b0 + (size_t)k * tile, 64);
                        _tile_loadd(7, b1 + (size_t)k * tile, 64);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                    if (whole) { /* straight to out (reading tile stores back with scalar loads stalls) */
                        _tile_stored(0, o, ldo);
                        _tile_stored(1, o + 16, ldo);
                        _tile_stored(2, o + (size_t)16 * N, ldo);
                        _tile_stored(3, o + (size_t)16 * N + 16, ldo);
                        continue;
                    }
                    _tile_stored(0, cs, 128); /* a block at the edge of out: its sums, its part of out at the end */
                    _tile_stored(1, cs + 16, 128);
                    _tile_stored(2, cs + 512, 128);
                    _tile_stored(3, cs + 528, 128);
                    if (!last) continue;
                    for (r = 0; r < 32 && m0 + r < M; r++) {
                        const float *cr = cs + (size_t)r * 32;
                        const int nn = LLAVA__MIN(32, N - n0);
                        for (j = 0; j < nn; j++) o[(size_t)r * N + j] = (accumulate ? o[(size_t)r * N + j] : 0.0f) + ((bias ? bias[n0 + j] : 0.0f) + cr[j]);
                    }
                }
            }
        }
        _tile_release();
        llava__free_aligned(cbs);
        LLAVA_FREE(row);
    }
    llava__free_aligned(bp);
    llava__free_aligned(ap);
}
#else
static int llava__amx_available(void) { return 0; }
#endif

/* llava__gemm with the operands' precision chosen: f32, bf16 emulated, or bf16 on AMX */
static void llava__gemm_p(llava__ws *ws, int prec, float *out, const float *A, const void *B, LlavaDType bdt, int bt, const float *bias, int M,
                          int K, int N, int accumulate) {
    float *ar, *br;
    if (prec == LLAVA__PREC_F32 || M <= 0 || N <= 0 || K <= 0) {
        llava__gemm(ws, out, A, B, bdt, bt, bias, M, K, N, accumulate);
        return;
    }
#ifdef LLAVA__AMX
    if (prec == LLAVA__PREC_AMX && M >= 4) { /* (fewer rows: a 32-row block would be mostly padding) */
        llava__gemm_amx(out, A, 0, B, bdt, bt, bias, M, K, N, accumulate);
        return;
    }
#endif
    ar = (float *)llava__ws_push(ws, 0, (size_t)M * K * sizeof(float));
    br = (float *)llava__ws_push(ws, 0, (size_t)K * N * sizeof(float));
    LLAVA__SCRATCH(ws, ar && br);
    if (!ar || !br) {
        llava__ws_pop(ws, 0, br);
        llava__ws_pop(ws, 0, ar);
        return;
    }
    llava__round_bf16(ar, A, LLAVA_F32, (size_t)M * K);
    llava__round_bf16(br, B, bdt, (size_t)K * N);
    llava__gemm(ws, out, ar, br, LLAVA_F32, bt, bias, M, K, N, accumulate);
    llava__ws_pop(ws, 0, br);
    llava__ws_pop(ws, 0, ar);
}

/* out[T,OC] = in[T,C] @ w[OC,C]^T + bias[OC]      (nn.Linear) */
static void llava__matmul_forward_p(llava__ws *ws, int prec, float *out, const float *in, const LlavaWeight *w, const float *bias, int T,
                                    int C, int OC) {
    LLAVA_ASSERT(w->cols == C && w->rows == OC);
    llava__gemm_p(ws, prec, out, in, w->data, w->dtype, 0, bias, T, C, OC, 0);
}

/* din[T,C] += dout[T,OC] @ w[OC,C];  dw[OC,C] += dout^T @ in;  db[OC] += sum_t dout  (any may be NULL) */
static void llava__matmul_backward_p(llava__ws *ws, int prec, float *din, float *dw, float *db, const float *dout, const float *in, const LlavaWeight *w,
                                     int T, int C, int OC) {
    int t, o;
    if (din) llava__gemm_p(ws, prec, din, dout, w->data, w->dtype, 1, NULL, T, OC, C, 1);
#ifdef LLAVA__AMX
    if (dw && prec == LLAVA__PREC_AMX && OC >= 4) { /* dout^T packed straight from dout */
        llava__gemm_amx(dw, dout, 1, in, LLAVA_F32, 1, NULL, OC, T, C, 1);
        dw = NULL;
    }
#endif
    if (dw) {
        float *dT = (float *)llava__ws_push(ws, 0, (size_t)T * OC * sizeof(float)); /* [OC, T] */
        LLAVA__SCRATCH(ws, dT);
        if (!dT) return;
        LLAVA__OMP(omp parallel for schedule(static) if ((size_t)T * OC > 65536))
        for (o = 0; o < OC; o++) {
            int tt;
            for (tt = 0; tt < T; tt++) dT[(size_t)o * T + tt] = dout[(size_t)tt * OC + o];
        }
        llava__gemm_p(ws, prec, dw, dT, in, LLAVA_F32, 1, NULL, OC, T, C, 1);
        llava__ws_pop(ws, 0, dT);
    }
    if (db)
        for (t = 0; t < T; t++)
            for (o = 0; o < OC; o++) db[o] += dout[(size_t)t * OC + o];
}


/* exp on a vector of floats: n = round(x / ln 2), exp(x) = 2^n exp(r) with r = x - n ln 2 in [-ln2/2, ln2/2]
   (ln 2 split in two for the subtraction) and exp(r) by Cephes' degree-7 polynomial, within 3 ulp of exp. Where
   x < -87.3 it is 0 (exp(x) < 1.2e-38), where x > 88 infinity (so 2^n stays a normal float); a NaN stays a NaN. In place (vectors
   passed by value would change the ABI where a build has no AVX). */
#ifdef LLAVA__VEC
typedef int32_t llava__vi __attribute__((vector_size(LLAVA__VW * 4)));
static inline void llava__vexp(llava__vf *px) {
    const llava__vf z = {0}, hi = z + 88.0f, lo = z - 87.3f;
    llava__vf x = *px;
    const llava__vi over = (llava__vi)(x > hi); /* exp(x) > 1.6e38 there: infinity, as expf overflows */
    x = (llava__vf)(((llava__vi)x & ~over) | ((llava__vi)hi & over));
    const llava__vi under = (llava__vi)(x < lo); /* exp(x) < 1.2e-38 there: 0 */
    x = (llava__vf)(((llava__vi)x & ~under) | ((llava__vi)lo & under));
    /* n = floor(x / ln 2 + 1/2) by conversions (an added and subtracted 1.5 * 2^23 would not survive -ffast-math) */
    const llava__vf h = x * 1.44269504088896341f + 0.5f;
    llava__vi ni = __builtin_convertvector(h, llava__vi); /* toward zero */
    ni += (llava__vi)(__builtin_convertvector(ni, llava__vf) > h); /* -1 where that was up */
    const llava__vf n = __builtin_convertvector(ni, llava__vf);
    const llava__vi e = (ni + 127) << 23;
    const llava__vf r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    llava__vf p = z + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    *px = (llava__vf)((((llava__vi)(p * (llava__vf)e) & ~under) & ~over) | (over & 0x7F800000));
}
#endif

/* x[i] = exp(x[i] - mx) for i < n; returns their sum (a softmax's denominator) */
static float llava__exp_shift(float *x, int n, float mx) {
    float sum = 0.0f;
    int i = 0;
#ifdef LLAVA__VEC
    llava__vf acc = {0};
    for (; i + LLAVA__VW <= n; i += LLAVA__VW) {
        llava__vf v;
        memcpy(&v, x + i, sizeof v);
        v -= mx;
        llava__vexp(&v);
        memcpy(x + i, &v, sizeof v);
        acc += v;
    }
    for (int j = 0; j < LLAVA__VW; j++) sum += acc[j];
#endif
    for (; i < n; i++) sum += x[i] = expf(x[i] - mx);
    return sum;
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
static void llava__attention_forward_p(llava__ws *ws, int prec, float *out, float *probs, const float *q, const float *k, const float *v, int T,
                                       int S, int pos0, int H, int KVH, int Dh, int causal) {
    const float scale = 1.0f / sqrtf((float)Dh);
    const int group = H / KVH;
    if (T < 16) {
        int th;
        LLAVA__OMP(omp parallel)
        {
            const int me = llava__tid();
            float *att = (float *)llava__ws_push(ws, me, (size_t)S * sizeof(float));
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
                sum = llava__exp_shift(att, n, mx);
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
            LLAVA__SCRATCH(ws, att);
            llava__ws_pop(ws, me, att);
        }
        return;
    }
    const int QB = 128, nb = (T + QB - 1) / QB;
    int job;
    LLAVA__OMP(omp parallel)
    {
        const int me = llava__tid();
        llava__ws mine = llava__ws_view(ws, me); /* for the products below, nested on this thread */
        float *kh = (float *)llava__ws_push(ws, me, (size_t)S * Dh * sizeof(float));  /* [S, Dh] this head's keys */
        float *vt = (float *)llava__ws_push(ws, me, (size_t)S * Dh * sizeof(float));  /* [Dh, S] its values, transposed */
        float *qh = (float *)llava__ws_push(ws, me, (size_t)QB * Dh * sizeof(float)); /* [QB, Dh] */
        float *sc = (float *)llava__ws_push(ws, me, (size_t)QB * S * sizeof(float));  /* [QB, S] scores, then probabilities */
        float *oh = (float *)llava__ws_push(ws, me, (size_t)QB * Dh * sizeof(float)); /* [QB, Dh] */
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
            LlavaWeight K = {kh, LLAVA_F32, nk, Dh}, Vt = {vt, LLAVA_F32, Dh, nk};
            llava__matmul_forward_p(&mine, prec, sc, qh, &K, NULL, tb, Dh, nk); /* (nested: runs on this thread) */
            for (t = 0; t < tb; t++) {
                float *row = sc + (size_t)t * nk, mx = -3.0e38f, sum = 0.0f;
                const int n = causal ? pos0 + t0 + t + 1 : nk;
                for (s = 0; s < n; s++) {
                    row[s] *= scale;
                    if (row[s] > mx) mx = row[s];
                }
                sum = llava__exp_shift(row, n, mx);
                for (s = 0; s < n; s++) row[s] /= sum;
                for (; s < nk; s++) row[s] = 0.0f; /* masked: later positions */
                if (probs) {
                    float *pr = probs + ((size_t)h * T + t0 + t) * S;
                    memcpy(pr, row, (size_t)nk * sizeof(float));
                    for (s = nk; s < S; s++) pr[s] = 0.0f;
                }
            }
            llava__matmul_forward_p(&mine, prec, oh, sc, &Vt, NULL, tb, nk, Dh);
            for (t = 0; t < tb; t++) memcpy(out + (size_t)(t0 + t) * H * Dh + (size_t)h * Dh, oh + (size_t)t * Dh, (size_t)Dh * sizeof(float));
        }
        LLAVA__SCRATCH(ws, kh && vt && qh && sc && oh);
        llava__ws_pop(ws, me, oh), llava__ws_pop(ws, me, sc), llava__ws_pop(ws, me, qh), llava__ws_pop(ws, me, vt), llava__ws_pop(ws, me, kh);
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

/* SiLU and QuickGELU are x sigmoid(k x), vectorized below; k is 0 for the other activations */
static float llava__sigmoid_k(LlavaAct a) { return a == LLAVA_ACT_SILU ? 1.0f : a == LLAVA_ACT_QUICK_GELU ? 1.702f : 0.0f; }
#ifdef LLAVA__VEC
/* act: act(x[VW]) = x s and, where grad is not NULL, act'(x) = s + k x s (1 - s), with s = sigmoid(k x) */
static inline void llava__vact_sigmoid(llava__vf *act, const float *x, float k, llava__vf *grad) {
    const llava__vf one = (llava__vf){0} + 1.0f;
    llava__vf v, e;
    memcpy(&v, x, sizeof v);
    e = -k * v;
    llava__vexp(&e);
    const llava__vf sg = one / (one + e);
    if (grad) *grad = sg + k * v * sg * (one - sg);
    *act = v * sg;
}
#endif
/* the vectors of n floats the vector paths below take (a scalar loop does the rest): 0 without them */
static long llava__nvec(size_t n, LlavaAct a) {
#ifdef LLAVA__VEC
    return llava__sigmoid_k(a) != 0.0f ? (long)(n / LLAVA__VW) : 0;
#else
    (void)n, (void)a;
    return 0;
#endif
}

/* x[n] = act(x[n]), in place */
static void llava__act_forward(float *x, size_t n, LlavaAct a) {
    const long nv = llava__nvec(n, a);
    long i;
#ifdef LLAVA__VEC
    const float k = llava__sigmoid_k(a);
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536))
    for (i = 0; i < nv; i++) {
        llava__vf y;
        llava__vact_sigmoid(&y, x + i * LLAVA__VW, k, NULL);
        memcpy(x + i * LLAVA__VW, &y, sizeof y);
    }
#endif
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536 && !nv))
    for (i = nv * LLAVA__VW; i < (long)n; i++) x[i] = llava__act1(x[i], a);
}

/* LLaMA MLP gate: out[n] = act(gate[n]) * up[n] (out may alias gate) */
static void llava__glu_forward(float *out, const float *gate, const float *up, size_t n, LlavaAct a) {
    const long nv = llava__nvec(n, a);
    long i;
#ifdef LLAVA__VEC
    const float k = llava__sigmoid_k(a);
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536))
    for (i = 0; i < nv; i++) {
        const size_t o = (size_t)i * LLAVA__VW;
        llava__vf y, u;
        memcpy(&u, up + o, sizeof u);
        llava__vact_sigmoid(&y, gate + o, k, NULL);
        y *= u;
        memcpy(out + o, &y, sizeof y);
    }
#endif
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536 && !nv))
    for (i = nv * LLAVA__VW; i < (long)n; i++) out[i] = llava__act1(gate[i], a) * up[i];
}

/* attention backward for a whole sequence (S == T, no cache offset: training). From dout [T, H*Dh] and
   the kept probabilities [H][T][T]: dq [T, H*Dh], dk, dv [T, KVH*Dh] (overwritten). Per head, through the
   blocked matmul:  dP = dO V^T,  dV += P^T dO,  dS = P * (dP - rowsum(dP * P)),  dQ = dS K / sqrt(Dh),
   dK += dS^T Q / sqrt(Dh). Threads over kv heads (a kv head's group accumulates into the same dk, dv). */
static void llava__attention_backward_p(llava__ws *ws, int prec, float *dq, float *dk, float *dv, const float *dout, const float *probs,
                                        const float *q, const float *k, const float *v, int T, int H, int KVH, int Dh) {
    const float scale = 1.0f / sqrtf((float)Dh);
    const int group = H / KVH;
    int kvh;
    LLAVA__OMP(omp parallel)
    {
        const size_t td = (size_t)T * Dh, tt = (size_t)T * T;
        const int me = llava__tid();
        llava__ws mine = llava__ws_view(ws, me); /* for the products below, nested on this thread */
        float *buf = (float *)llava__ws_push(ws, me, (7 * td + tt) * sizeof(float));
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
                llava__gemm_p(&mine, prec, dp, doh, vh, LLAVA_F32, 0, NULL, T, Dh, T, 0); /* dP = dO V^T */
                llava__gemm_p(&mine, prec, dvt, dot, P, LLAVA_F32, 1, NULL, Dh, T, T, 1); /* dV^T += dO^T P */
                for (t = 0; t < T; t++) {
                    float *row = dp + (size_t)t * T;
                    const float *pr = P + (size_t)t * T;
                    float d = 0.0f;
                    for (s = 0; s < T; s++) d += row[s] * pr[s];
                    for (s = 0; s < T; s++) row[s] = pr[s] * (row[s] - d) * scale; /* dS, scaled */
                }
                llava__gemm_p(&mine, prec, doh, dp, kh, LLAVA_F32, 1, NULL, T, T, Dh, 0); /* dQ = dS K (into doh's buffer) */
                for (t = 0; t < T; t++) memcpy(dq + ((size_t)t * H + h) * Dh, doh + (size_t)t * Dh, (size_t)Dh * sizeof(float));
                llava__gemm_p(&mine, prec, dkt, qt, dp, LLAVA_F32, 1, NULL, Dh, T, T, 1); /* dK^T += Q^T dS */
            }
            for (t = 0; t < T; t++)
                for (i = 0; i < Dh; i++) {
                    dk[((size_t)t * KVH + kvh) * Dh + i] = dkt[(size_t)i * T + t];
                    dv[((size_t)t * KVH + kvh) * Dh + i] = dvt[(size_t)i * T + t];
                }
        }
        LLAVA__SCRATCH(ws, buf);
        llava__ws_pop(ws, me, buf);
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
    const long nv = llava__nvec(n, a);
    long i;
#ifdef LLAVA__VEC
    const float k = llava__sigmoid_k(a);
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536))
    for (i = 0; i < nv; i++) {
        const size_t o = (size_t)i * LLAVA__VW;
        llava__vf y, g, d;
        memcpy(&d, dout + o, sizeof d);
        llava__vact_sigmoid(&y, x + o, k, &g);
        d *= g;
        memcpy(dx + o, &d, sizeof d);
    }
#endif
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536 && !nv))
    for (i = nv * LLAVA__VW; i < (long)n; i++) dx[i] = dout[i] * llava__act_grad1(x[i], a);
}

/* out = act(gate) * up:  dgate = dout * up * act'(gate),  dup = dout * act(gate)  (overwritten) */
static void llava__glu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n, LlavaAct a) {
    const long nv = llava__nvec(n, a);
    long i;
#ifdef LLAVA__VEC
    const float k = llava__sigmoid_k(a);
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536))
    for (i = 0; i < nv; i++) {
        const size_t o = (size_t)i * LLAVA__VW;
        llava__vf d, u, act, g;
        memcpy(&d, dout + o, sizeof d);
        memcpy(&u, up + o, sizeof u);
        llava__vact_sigmoid(&act, gate + o, k, &g);
        g *= d * u;
        act *= d;
        memcpy(dgate + o, &g, sizeof g);
        memcpy(dup + o, &act, sizeof act);
    }
#endif
    LLAVA__OMP(omp parallel for schedule(static) if (n > 65536 && !nv))
    for (i = nv * LLAVA__VW; i < (long)n; i++) {
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
        const float lt = l[targets[t]];
        float mx = l[0];
        for (i = 1; i < V; i++)
            if (l[i] > mx) mx = l[i];
        if (d != l) memcpy(d, l, (size_t)V * sizeof(float));
        const float sum = llava__exp_shift(d, V, mx), f = scale / sum; /* d = exp(l - mx) */
        total += mx + log((double)sum) - lt;
        for (i = 0; i < V; i++) d[i] *= f;
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

/* x[n] += y[n] */
static void llava__add(float *x, const float *y, size_t n) {
    long i;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 262144))
    for (i = 0; i < (long)n; i++) x[i] += y[i];
}

/* x[n] *= f */
static void llava__scale(float *x, float f, size_t n) {
    long i;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 262144))
    for (i = 0; i < (long)n; i++) x[i] *= f;
}

/* x[n] *= f, and returns the sum of the squares after; in 64 parts summed in order, so that the result
   does not depend on the number of threads */
static double llava__scale_sumsq(float *x, float f, size_t n) {
    double part[64], sum = 0.0;
    const size_t len = (n + 63) / 64;
    int c;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 262144))
    for (c = 0; c < 64; c++) {
        const size_t e = LLAVA__MIN(n, (size_t)(c + 1) * len);
        double q = 0.0;
        size_t i;
        for (i = (size_t)c * len; i < e; i++) {
            x[i] *= f;
            q += (double)x[i] * x[i];
        }
        part[c] = q;
    }
    for (c = 0; c < 64; c++) sum += part[c];
    return sum;
}

/* out[n] = x[n] + y[n] (a residual connection) */
static void llava__sum2(float *out, const float *x, const float *y, size_t n) {
    long i;
    LLAVA__OMP(omp parallel for schedule(static) if (n > 262144))
    for (i = 0; i < (long)n; i++) out[i] = x[i] + y[i];
}

/* --- the layers' public entries: the kernels above, the precision chosen as llava_use_bf16 does --- */
static int llava__prec(LlavaPrecision p) {
    if (p != LLAVA_PREC_BF16) return LLAVA__PREC_F32;
    return llava__amx_available() ? LLAVA__PREC_AMX : LLAVA__PREC_BF16;
}

/* --- the CPU backend: the public backend interface (section "backends" above) over host memory ------
   Backend addresses are host pointers; weights are used where the file is mapped. Each compute entry
   first grows the kernels' scratch stacks to the largest need seen so far, so that after the first call
   of a shape nothing is allocated. The stacks serve one entry at a time: an entry that finds them in use
   (contexts of one model run by several threads at once) takes its scratch from the heap instead. */
typedef struct {
    llava__ws ws;
    int busy; /* a thread is using ws; another's entries take their scratch from the heap meanwhile */
} llava__cpu;
/* one entry's scratch: the backend's stacks, or (another thread holds them) the heap; oom its failures */
typedef struct {
    llava__ws heap, *ws;
    size_t oom;
} llava__cpu_scratch;

/* between entries (every stack empty): the stacks grown to the largest need seen. Called as an entry
   ends too, so that the call after the one that needed more allocates nothing. entry NULL: quietly. */
static int llava__cpu_fit(LlavaBackend *b, const char *entry) {
    llava__ws *ws = &((llava__cpu *)b->impl)->ws;
    int i;
    for (i = 0; i < ws->nt; i++) {
        llava__stack *st = &ws->t[i];
        st->top = 0;
        if (st->need <= st->cap) continue;
        /* a power of two, 64 KiB at least, so that a need growing a little at a time (a decode step's
           attention row: one more position each step) does not reallocate every few steps */
        size_t cap = (size_t)1 << 16;
        while (cap < st->need && cap <= SIZE_MAX / 2) cap *= 2;
        if (cap < st->need) cap = st->need;
        llava__free_aligned(st->base);
        st->cap = 0;
        st->base = (unsigned char *)llava__alloc_aligned(cap);
        if (!st->base) return entry ? llava__err("%s: out of memory for %zu bytes of scratch", entry, cap) : LLAVA_ERR;
        st->cap = cap;
    }
    return LLAVA_OK;
}
/* the stacks for this entry, fitted, or heap scratch when another thread holds them; llava__cpu_done after */
static int llava__cpu_claim(LlavaBackend *b, const char *entry, llava__cpu_scratch *sc) {
    llava__cpu *c = (llava__cpu *)b->impl;
    memset(sc, 0, sizeof *sc);
    sc->heap.oom = &sc->oom;
    sc->ws = &sc->heap;
#if defined(__GNUC__) || defined(__clang__)
    if (__atomic_exchange_n(&c->busy, 1, __ATOMIC_ACQUIRE)) return LLAVA_OK;
#else
#ifdef _OPENMP
    if (omp_in_parallel()) return LLAVA_OK;
#endif
#endif
    if (llava__cpu_fit(b, entry) != LLAVA_OK) {
        c->busy = 0;
        return LLAVA_ERR;
    }
    c->ws.oom = &sc->oom;
    sc->ws = &c->ws;
    return LLAVA_OK;
}
/* releases the stacks; an error naming the entry when its scratch could not be had */
static int llava__cpu_done(LlavaBackend *b, llava__cpu_scratch *sc, const char *entry) {
    if (sc->ws != &sc->heap) {
        sc->ws->oom = NULL;
        llava__cpu_fit(b, NULL); /* (a failure here shows again at the next claim) */
#if defined(__GNUC__) || defined(__clang__)
        __atomic_store_n(&((llava__cpu *)b->impl)->busy, 0, __ATOMIC_RELEASE);
#else
        ((llava__cpu *)b->impl)->busy = 0;
#endif
    }
    if (sc->oom) return llava__err("%s: out of memory for %zu bytes of scratch", entry, sc->oom);
    return LLAVA_OK;
}

static void *llava__cpu_alloc(LlavaBackend *b, size_t bytes) {
    void *p = llava__alloc_aligned(bytes ? bytes : 1);
    (void)b;
    if (!p) llava__err("out of memory allocating %zu bytes", bytes);
    return p;
}
static void llava__cpu_free(LlavaBackend *b, void *p) {
    (void)b;
    llava__free_aligned(p);
}
static int llava__cpu_move(LlavaBackend *b, void *dst, const void *src, size_t bytes) {
    (void)b;
    if (bytes) memmove(dst, src, bytes);
    return LLAVA_OK;
}
static int llava__cpu_fill(LlavaBackend *b, float *dst, float value, size_t n) {
    size_t i;
    (void)b;
    for (i = 0; i < n; i++) dst[i] = value;
    return LLAVA_OK;
}
static const void *llava__cpu_map(LlavaBackend *b, const void *host, size_t bytes) {
    (void)b, (void)bytes;
    return host;
}
static void llava__cpu_unmap(LlavaBackend *b, const void *p) { (void)b, (void)p; }
static void llava__cpu_destroy(LlavaBackend *b) {
    if (!b) return;
    llava__cpu *c = (llava__cpu *)b->impl;
    int i;
    if (c) {
        for (i = 0; i < c->ws.nt; i++) llava__free_aligned(c->ws.t[i].base);
        LLAVA_FREE(c->ws.t);
        LLAVA_FREE(c);
    }
    LLAVA_FREE(b);
}

static int llava__cpu_matmul(LlavaBackend *b, float *out, const float *in, const LlavaWeight *w, const float *bias, int T, int C, int OC) {
    llava__cpu_scratch sc;
    if (llava__cpu_claim(b, "matmul", &sc) != LLAVA_OK) return LLAVA_ERR;
    llava__matmul_forward_p(sc.ws, llava__prec(b->precision), out, in, w, bias, T, C, OC);
    return llava__cpu_done(b, &sc, "matmul");
}
static int llava__cpu_matmul_backward(LlavaBackend *b, float *din, float *dw, float *db, const float *dout, const float *in,
                                      const LlavaWeight *w, int T, int C, int OC) {
    llava__cpu_scratch sc;
    if (llava__cpu_claim(b, "matmul_backward", &sc) != LLAVA_OK) return LLAVA_ERR;
    llava__matmul_backward_p(sc.ws, llava__prec(b->precision), din, dw, db, dout, in, w, T, C, OC);
    return llava__cpu_done(b, &sc, "matmul_backward");
}
static int llava__cpu_layernorm(LlavaBackend *b, float *out, float *mean, float *rstd, const float *in, const float *w,
                                const float *bias, int T, int C, float eps) {
    (void)b;
    llava__layernorm_forward(out, mean, rstd, in, w, bias, T, C, eps);
    return LLAVA_OK;
}
static int llava__cpu_layernorm_backward(LlavaBackend *b, float *din, float *dw, float *db, const float *dout, const float *in,
                                         const float *w, const float *mean, const float *rstd, int T, int C) {
    (void)b;
    llava__layernorm_backward(din, dw, db, dout, in, w, mean, rstd, T, C);
    return LLAVA_OK;
}
static int llava__cpu_rmsnorm(LlavaBackend *b, float *out, float *rstd, const float *in, const float *w, int T, int C, float eps) {
    (void)b;
    llava__rmsnorm_forward(out, rstd, in, w, T, C, eps);
    return LLAVA_OK;
}
static int llava__cpu_rmsnorm_backward(LlavaBackend *b, float *din, float *dw, const float *dout, const float *in, const float *w,
                                       const float *rstd, int T, int C) {
    (void)b;
    llava__rmsnorm_backward(din, dw, dout, in, w, rstd, T, C);
    return LLAVA_OK;
}
static int llava__cpu_rope(LlavaBackend *b, float *x, const float *inv_freq, int pos0, int T, int nh, int Dh) {
    (void)b;
    llava__rope_forward(x, inv_freq, pos0, T, nh, Dh);
    return LLAVA_OK;
}
static int llava__cpu_rope_backward(LlavaBackend *b, float *dx, const float *inv_freq, int pos0, int T, int nh, int Dh) {
    (void)b;
    llava__rope_backward(dx, inv_freq, pos0, T, nh, Dh);
    return LLAVA_OK;
}
/* the CPU keeps the probabilities for the backward pass, as the layer functions do */
static size_t llava__cpu_attention_stash(LlavaBackend *b, int T, int H) {
    (void)b;
    return (size_t)H * T * T;
}
static int llava__cpu_attention(LlavaBackend *b, float *out, float *stash, const float *q, const float *k, const float *v, int T, int S,
                                int pos0, int H, int KVH, int Dh, int causal) {
    llava__cpu_scratch sc;
    if (llava__cpu_claim(b, "attention", &sc) != LLAVA_OK) return LLAVA_ERR;
    llava__attention_forward_p(sc.ws, llava__prec(b->precision), out, stash, q, k, v, T, S, pos0, H, KVH, Dh, causal);
    return llava__cpu_done(b, &sc, "attention");
}
static int llava__cpu_attention_backward(LlavaBackend *b, float *dq, float *dk, float *dv, const float *dout, const float *out,
                                         const float *stash, const float *q, const float *k, const float *v, int T, int H, int KVH, int Dh,
                                         int causal) {
    llava__cpu_scratch sc;
    (void)out, (void)causal; /* (the mask is in the probabilities) */
    if (llava__cpu_claim(b, "attention_backward", &sc) != LLAVA_OK) return LLAVA_ERR;
    llava__attention_backward_p(sc.ws, llava__prec(b->precision), dq, dk, dv, dout, stash, q, k, v, T, H, KVH, Dh);
    return llava__cpu_done(b, &sc, "attention_backward");
}
static int llava__cpu_act(LlavaBackend *b, float *out, const float *in, size_t n, LlavaAct a) {
    (void)b;
    if (out != in) memcpy(out, in, n * sizeof(float));
    llava__act_forward(out, n, a);
    return LLAVA_OK;
}
static int llava__cpu_act_backward(LlavaBackend *b, float *dx, const float *dout, const float *x, size_t n, LlavaAct a) {
    (void)b;
    llava__act_backward(dx, dout, x, n, a);
    return LLAVA_OK;
}
static int llava__cpu_glu(LlavaBackend *b, float *out, const float *gate, const float *up, size_t n, LlavaAct a) {
    (void)b;
    llava__glu_forward(out, gate, up, n, a);
    return LLAVA_OK;
}
static int llava__cpu_glu_backward(LlavaBackend *b, float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                                   size_t n, LlavaAct a) {
    (void)b;
    llava__glu_backward(dgate, dup, dout, gate, up, n, a);
    return LLAVA_OK;
}
static int llava__cpu_add(LlavaBackend *b, float *out, const float *x, const float *y, size_t n) {
    (void)b;
    llava__sum2(out, x, y, n);
    return LLAVA_OK;
}
static int llava__cpu_embed(LlavaBackend *b, float *x, const int *rows, const float *feat, const LlavaWeight *embed, int T, int C) {
    int t;
    (void)b;
    for (t = 0; t < T; t++) {
        if (rows[t] >= 0) llava__w_row(x + (size_t)t * C, embed, rows[t], 0, C);
        else memcpy(x + (size_t)t * C, feat + (size_t)(-1 - rows[t]) * C, (size_t)C * sizeof(float));
    }
    return LLAVA_OK;
}
static int llava__cpu_embed_backward(LlavaBackend *b, float *dembed, float *dfeat, const float *dx, const int *rows, int T, int C) {
    int t;
    (void)b;
    for (t = 0; t < T; t++) {
        if (rows[t] >= 0 && dembed) llava__add(dembed + (size_t)rows[t] * C, dx + (size_t)t * C, (size_t)C);
        else if (rows[t] < 0 && dfeat) memcpy(dfeat + (size_t)(-1 - rows[t]) * C, dx + (size_t)t * C, (size_t)C * sizeof(float));
    }
    return LLAVA_OK;
}
static int llava__cpu_patchify(LlavaBackend *b, float *patches, const float *pixels, int n, int S, int ps) {
    const int G = S / ps, P = G * G, K = 3 * ps * ps;
    int im, gy, gx, ch, ky;
    (void)b;
    for (im = 0; im < n; im++)
        for (gy = 0; gy < G; gy++)
            for (gx = 0; gx < G; gx++)
                for (ch = 0; ch < 3; ch++)
                    for (ky = 0; ky < ps; ky++)
                        memcpy(patches + ((size_t)im * P + gy * G + gx) * K + (size_t)ch * ps * ps + (size_t)ky * ps,
                               pixels + (size_t)im * 3 * S * S + (size_t)ch * S * S + (size_t)(gy * ps + ky) * S + (size_t)gx * ps,
                               (size_t)ps * sizeof(float));
    return LLAVA_OK;
}
static int llava__cpu_patch_positions(LlavaBackend *b, float *x, const float *pe, const float *class_emb, const float *pos_emb, int n,
                                      int P, int D) {
    int im, l, i;
    (void)b;
    for (im = 0; im < n; im++) {
        float *x0 = x + (size_t)im * (P + 1) * D;
        const float *pt = pe + (size_t)im * P * D;
        for (i = 0; i < D; i++) x0[i] = class_emb[i] + pos_emb[i];
        for (l = 0; l < P; l++)
            for (i = 0; i < D; i++) x0[(size_t)(l + 1) * D + i] = pt[(size_t)l * D + i] + pos_emb[(size_t)(l + 1) * D + i];
    }
    return LLAVA_OK;
}
static int llava__cpu_patch_positions_backward(LlavaBackend *b, float *dclass, float *dpos, float *dpe, const float *dx, int n, int P,
                                               int D) {
    const size_t ND = (size_t)(P + 1) * D;
    size_t i;
    int im;
    (void)b;
    for (im = 0; im < n; im++) {
        const float *di = dx + im * ND;
        if (dpos)
            for (i = 0; i < ND; i++) dpos[i] += di[i];
        if (dclass)
            for (i = 0; i < (size_t)D; i++) dclass[i] += di[i];
        if (dpe) memcpy(dpe + (size_t)im * P * D, di + D, (size_t)P * D * sizeof(float));
    }
    return LLAVA_OK;
}
static int llava__cpu_cross_entropy(LlavaBackend *b, double *loss, float *dlogits, const float *logits, const int *targets, int T, int V,
                                    float scale) {
    (void)b;
    *loss = llava__crossentropy_forward_backward(dlogits, logits, targets, T, V, scale);
    return LLAVA_OK;
}
static int llava__cpu_scale_sumsq(LlavaBackend *b, double *sumsq, float *x, float f, size_t n) {
    (void)b;
    if (sumsq) *sumsq = llava__scale_sumsq(x, f, n);
    else llava__scale(x, f, n);
    return LLAVA_OK;
}
static int llava__cpu_adamw(LlavaBackend *b, float *p, float *m, float *v, const float *g, size_t n, float lr, float b1, float b2,
                            float eps, float wd, int t) {
    (void)b;
    llava__adamw(p, m, v, g, n, lr, b1, b2, eps, wd, t);
    return LLAVA_OK;
}

LLAVADEF LlavaBackend *llava_backend_cpu_new(LlavaPrecision precision) {
    LlavaBackend *b = (LlavaBackend *)llava__calloc(1, sizeof *b);
    llava__cpu *c = (llava__cpu *)llava__calloc(1, sizeof *c);
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    if (c) c->ws.t = (llava__stack *)llava__calloc((size_t)nt, sizeof *c->ws.t);
    if (!b || !c || !c->ws.t) {
        if (c) LLAVA_FREE(c->ws.t);
        LLAVA_FREE(c);
        LLAVA_FREE(b);
        llava__err("out of memory creating the CPU backend");
        return NULL;
    }
    c->ws.nt = nt;
    b->name = "cpu";
    b->impl = c;
    b->precision = precision;
    b->host_memory = 1;
    b->alloc = llava__cpu_alloc, b->free = llava__cpu_free;
    b->upload = llava__cpu_move, b->download = llava__cpu_move, b->copy = llava__cpu_move, b->fill = llava__cpu_fill;
    b->map = llava__cpu_map, b->unmap = llava__cpu_unmap, b->destroy = llava__cpu_destroy;
    b->matmul = llava__cpu_matmul, b->matmul_backward = llava__cpu_matmul_backward;
    b->layernorm = llava__cpu_layernorm, b->layernorm_backward = llava__cpu_layernorm_backward;
    b->rmsnorm = llava__cpu_rmsnorm, b->rmsnorm_backward = llava__cpu_rmsnorm_backward;
    b->rope = llava__cpu_rope, b->rope_backward = llava__cpu_rope_backward;
    b->attention_stash = llava__cpu_attention_stash;
    b->attention = llava__cpu_attention, b->attention_backward = llava__cpu_attention_backward;
    b->act = llava__cpu_act, b->act_backward = llava__cpu_act_backward;
    b->glu = llava__cpu_glu, b->glu_backward = llava__cpu_glu_backward;
    b->add = llava__cpu_add;
    b->embed = llava__cpu_embed, b->embed_backward = llava__cpu_embed_backward;
    b->patchify = llava__cpu_patchify;
    b->patch_positions = llava__cpu_patch_positions, b->patch_positions_backward = llava__cpu_patch_positions_backward;
    b->cross_entropy = llava__cpu_cross_entropy, b->scale_sumsq = llava__cpu_scale_sumsq, b->adamw = llava__cpu_adamw;
    return b;
}
LLAVADEF void llava_backend_free(LlavaBackend *b) {
    if (b && b->destroy) b->destroy(b);
}

LLAVADEF void llava_matmul_forward(LlavaPrecision p, float *out, const float *in, const LlavaWeight *w, const float *bias, int T,
                                   int C, int OC) {
    llava__matmul_forward_p(NULL, llava__prec(p), out, in, w, bias, T, C, OC);
}
LLAVADEF void llava_matmul_backward(LlavaPrecision p, float *din, float *dw, float *db, const float *dout, const float *in,
                                    const LlavaWeight *w, int T, int C, int OC) {
    llava__matmul_backward_p(NULL, llava__prec(p), din, dw, db, dout, in, w, T, C, OC);
}
LLAVADEF void llava_matmul_reference(float *out, const float *in, const LlavaWeight *w, const float *bias, int T, int C, int OC) {
    llava__matmul_naive(out, in, w, bias, T, C, OC);
}
LLAVADEF void llava_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w, const float *b, int T,
                                      int C, float eps) {
    llava__layernorm_forward(out, mean, rstd, in, w, b, T, C, eps);
}
LLAVADEF void llava_layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                                       const float *mean, const float *rstd, int T, int C) {
    llava__layernorm_backward(din, dw, db, dout, in, w, mean, rstd, T, C);
}
LLAVADEF void llava_act_forward(float *x, size_t n, LlavaAct a) { llava__act_forward(x, n, a); }
LLAVADEF void llava_act_backward(float *dx, const float *dout, const float *x, size_t n, LlavaAct a) {
    llava__act_backward(dx, dout, x, n, a);
}
LLAVADEF void llava_attention_forward(LlavaPrecision p, float *out, float *probs, const float *q, const float *k, const float *v,
                                      int T, int S, int pos0, int H, int KVH, int Dh, int causal) {
    llava__attention_forward_p(NULL, llava__prec(p), out, probs, q, k, v, T, S, pos0, H, KVH, Dh, causal);
}
LLAVADEF void llava_attention_backward(LlavaPrecision p, float *dq, float *dk, float *dv, const float *dout, const float *probs,
                                       const float *q, const float *k, const float *v, int T, int H, int KVH, int Dh) {
    llava__attention_backward_p(NULL, llava__prec(p), dq, dk, dv, dout, probs, q, k, v, T, H, KVH, Dh);
}
LLAVADEF void llava_adamw(float *p, float *m, float *v, const float *g, size_t n, float lr, float b1, float b2, float eps, float wd,
                          int t) {
    llava__adamw(p, m, v, g, n, lr, b1, b2, eps, wd, t);
}
LLAVADEF void llava_add(float *y, const float *x, size_t n) { llava__add(y, x, n); }

/* ------------------------------------------------------------------------------------------------
   5-7. The model: configuration, weights, vision encoder, projector, decoder
   ------------------------------------------------------------------------------------------------ */

/* The layers' fields are listed once, with the type of a matrix as MAT: LlavaWeight in the model, and
   llava__gmat (f32 [rows * cols], NULL where frozen) in a set of gradients (section 9). */
typedef float *llava__gmat; /* (a name: MAT q, k stays a list of the type) */

/* One CLIP encoder layer.  transformers: CLIPEncoderLayer */
#define LLAVA__VLAYER(MAT)                                                                                                     \
    struct {                                                                                                                   \
        float *ln1_w, *ln1_b, *ln2_w, *ln2_b; /* [D] */                                                                        \
        MAT q, k, v, o;                       /* [D, D] */                                                                     \
        float *qb, *kb, *vb, *ob;             /* [D] */                                                                        \
        MAT fc1, fc2;                         /* [Iv, D], [D, Iv] */                                                           \
        float *fc1b, *fc2b;                   /* [Iv], [D] */                                                                  \
    }
typedef LLAVA__VLAYER(LlavaWeight) llava__vlayer;
typedef LLAVA__VLAYER(llava__gmat) llava__vgrad;

/* One LLaMA decoder layer.  transformers: LlamaDecoderLayer */
#define LLAVA__TLAYER(MAT)                                                                                                     \
    struct {                                                                                                                   \
        float *in_norm, *post_norm;    /* [C] */                                                                               \
        MAT q, k, v, o;                /* [H*Dh, C], [KVH*Dh, C] x2, [C, H*Dh] */                                              \
        float *qb, *kb, *vb, *ob;      /* attention_bias only */                                                               \
        MAT gate, up, down;            /* [I, C] x2, [C, I] */                                                                 \
        float *gate_b, *up_b, *down_b; /* mlp_bias only */                                                                     \
    }
typedef LLAVA__TLAYER(LlavaWeight) llava__tlayer;
typedef LLAVA__TLAYER(llava__gmat) llava__tgrad;

struct LlavaModel {
    LlavaConfig cfg;
    LlavaBackend *b;              /* where it runs; the weights below are its addresses */
    int *b_refs;                  /* b made by the load: its users (the model, its trainers and tower caches);
                                     NULL: the caller's backend */
    void **mapped;                /* weights the backend copied (map), released at free */
    int n_mapped;
    void **bufs;                  /* backend memory the model's tensors point into (a trainer's f32 copies) */
    int n_bufs;
    llava__tensors files;  /* the model's safetensors */
    llava__tensors vfiles; /* the vision tower's own directory (original LLaVA layout) */
    /* vision tower.  transformers: CLIPVisionTransformer */
    LlavaWeight patch;               /* [D, 3*ps*ps] (Conv2d weight [D, 3, ps, ps] flattened) */
    float *class_emb;             /* [D] */
    float *pos_emb;               /* [P+1, D] */
    float *pre_ln_w, *pre_ln_b;   /* [D] */
    llava__vlayer *vl;            /* [vision_run] */
    int vision_run;               /* encoder layers run to reach the feature layer */
    /* projector.  transformers: LlavaMultiModalProjector */
    LlavaWeight proj[LLAVA_MAX_PROJ_LAYERS];     /* [C, D], then [C, C] */
    float *proj_b[LLAVA_MAX_PROJ_LAYERS];     /* [C] */
    /* decoder.  transformers: LlamaModel + lm_head */
    LlavaWeight embed;               /* [V, C] */
    llava__tlayer *tl;            /* [text_layers] */
    float *norm;                  /* [C] */
    LlavaWeight head;                /* [V, C] (embed when tied) */
    float *inv_freq;              /* [Dh/2] RoPE frequencies */
    llava__owned owned;           /* f32 copies and realigned tensors */
    /* where it came from, for saving: the directory, and the vision tower's tensors and key prefix */
    char *dir;
    const llava__tensors *vsrc;
    char vprefix[96];
    /* an assembled model (llava_model_assemble): the models its tensors come from, and the image token its
       saved tokenizer files get (-1: none) */
    LlavaModel *parts[2];
    int tok_image;
};


/* --- configuration ------------------------------------------------------------------------------ */
typedef struct {
    const LlavaJson *j;
    const char *file;
    int rc;
} llava__cfgr;

static const LlavaJsonNode *llava__cfg_get(const llava__cfgr *r, const LlavaJsonNode *o, const char *key) {
    const LlavaJsonNode *x = llava_json_get(r->j, o, key);
    return x && x->type != LLAVA_JSON_NULL ? x : NULL;
}
static double llava__cfg_num(llava__cfgr *r, const LlavaJsonNode *o, const char *sec, const char *key, double def) {
    const LlavaJsonNode *x = llava__cfg_get(r, o, key);
    if (!x) return def;
    if (x->type != LLAVA_JSON_NUM && x->type != LLAVA_JSON_BOOL) {
        if (r->rc == LLAVA_OK) r->rc = llava__err("%s: %s%s must be a number", r->file, sec, key);
        return def;
    }
    return x->num;
}
static int llava__cfg_int(llava__cfgr *r, const LlavaJsonNode *o, const char *sec, const char *key, int def) {
    const LlavaJsonNode *x = llava__cfg_get(r, o, key);
    if (!x) return def;
    if ((x->type != LLAVA_JSON_NUM && x->type != LLAVA_JSON_BOOL) || x->num != floor(x->num) || fabs(x->num) > 2.0e9) {
        if (r->rc == LLAVA_OK) r->rc = llava__err("%s: %s%s must be an integer", r->file, sec, key);
        return def;
    }
    return (int)x->num;
}
static const char *llava__cfg_str(llava__cfgr *r, const LlavaJsonNode *o, const char *sec, const char *key, const char *def) {
    const LlavaJsonNode *x = llava__cfg_get(r, o, key);
    if (!x) return def;
    if (x->type != LLAVA_JSON_STR) {
        if (r->rc == LLAVA_OK) r->rc = llava__err("%s: %s%s must be a string", r->file, sec, key);
        return def;
    }
    return x->str;
}
static LlavaAct llava__cfg_act(llava__cfgr *r, const LlavaJsonNode *o, const char *sec, const char *key, const char *def) {
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
static void llava__config_text(LlavaConfig *c, llava__cfgr *r, const LlavaJsonNode *tc, const char *sec) {
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
    const LlavaJsonNode *rp = llava__cfg_get(r, tc, "rope_parameters"), *rs = llava__cfg_get(r, tc, "rope_scaling");
    c->text_rope_theta = llava__cfg_num(r, tc, sec, "rope_theta", rp ? llava__cfg_num(r, rp, "rope_parameters.", "rope_theta", 10000.0) : 10000.0);
    c->text_rope_linear_factor = 1.0;
    const LlavaJsonNode *sc = rs ? rs : rp;
    if (sc) {
        const char *rt = llava__cfg_str(r, sc, "rope.", "rope_type", llava__cfg_str(r, sc, "rope.", "type", "default"));
        if (!strcmp(rt, "linear")) c->text_rope_linear_factor = llava__cfg_num(r, sc, "rope.", "factor", 1.0);
        else if (strcmp(rt, "default") && r->rc == LLAVA_OK)
            r->rc = llava__err("%s: %srope type \"%s\" is not supported (default, linear)", r->file, sec, rt);
    }
    c->bos_id = llava__cfg_int(r, tc, sec, "bos_token_id", qwen ? -1 : 1);
    const LlavaJsonNode *eos = llava__cfg_get(r, tc, "eos_token_id");
    c->n_eos = 0;
    if (eos && eos->type == LLAVA_JSON_ARR) {
        const LlavaJsonNode *x;
        for (x = llava_json_first(r->j, eos); x && c->n_eos < LLAVA_MAX_EOS; x = llava_json_next(r->j, x)) {
            if (x->type != LLAVA_JSON_NUM || x->num != floor(x->num) || fabs(x->num) > 2.0e9) {
                if (r->rc == LLAVA_OK) r->rc = llava__err("%s: %seos_token_id must list integers", r->file, sec);
                break;
            }
            c->eos_ids[c->n_eos++] = (int)x->num;
        }
    } else {
        int e = llava__cfg_int(r, tc, sec, "eos_token_id", qwen ? 151643 : 2);
        if (e >= 0) c->eos_ids[c->n_eos++] = e;
    }
}

/* CLIPVisionConfig fields; `dflt` is 0 for CLIPVisionConfig's own defaults (ViT-B/32), 1 for the
   ViT-L/14-336 that LlavaConfig builds when vision_config is absent */
static void llava__config_vision(LlavaConfig *c, llava__cfgr *r, const LlavaJsonNode *vc, const char *sec, int big) {
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
    if (!llava_file_exists(path)) return LLAVA_OK;
    size_t n;
    char *text = llava_read_file(path, 1 << 20, &n);
    if (!text) return LLAVA_ERR;
    LlavaJson j;
    int rc = llava_json_parse(&j, text, n, path);
    if (rc == LLAVA_OK) {
        llava__cfgr r = {&j, path, LLAVA_OK};
        const LlavaJsonNode *root = &j.nodes[0], *x;
        int i;
        c->pre_do_resize = llava__cfg_int(&r, root, "", "do_resize", 1);
        c->pre_do_crop = llava__cfg_int(&r, root, "", "do_center_crop", 1);
        c->pre_do_rescale = llava__cfg_int(&r, root, "", "do_rescale", 1);
        c->pre_rescale = (float)llava__cfg_num(&r, root, "", "rescale_factor", 1.0 / 255.0);
        c->pre_do_normalize = llava__cfg_int(&r, root, "", "do_normalize", 1);
        if ((x = llava__cfg_get(&r, root, "size"))) {
            if (x->type == LLAVA_JSON_NUM) c->pre_resize_short = llava__cfg_int(&r, root, "", "size", 0);
            else if (llava__cfg_get(&r, x, "shortest_edge")) c->pre_resize_short = llava__cfg_int(&r, x, "size.", "shortest_edge", 0);
            else {
                c->pre_resize_short = 0;
                c->pre_resize_h = llava__cfg_int(&r, x, "size.", "height", 0);
                c->pre_resize_w = llava__cfg_int(&r, x, "size.", "width", 0);
            }
        }
        if ((x = llava__cfg_get(&r, root, "crop_size"))) {
            if (x->type == LLAVA_JSON_NUM) c->pre_crop_h = c->pre_crop_w = llava__cfg_int(&r, root, "", "crop_size", 0);
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
                if (x->type == LLAVA_JSON_NUM && fabs(x->num) <= 1.0e6) dst[0] = dst[1] = dst[2] = (float)x->num;
                else if (x->type != LLAVA_JSON_ARR || x->count != 3) {
                    if (r.rc == LLAVA_OK) r.rc = llava__err("%s: %s must be a list of 3 numbers", path, keys[i]);
                } else
                    for (k = 0; k < 3; k++) {
                        const LlavaJsonNode *v = llava_json_at(&j, x, k);
                        /* finite and within float's range: the mean becomes a pad colour (an int) in llava_preprocess */
                        if (v->type != LLAVA_JSON_NUM || !(fabs(v->num) <= 1.0e6)) {
                            if (r.rc == LLAVA_OK) r.rc = llava__err("%s: %s must be a list of 3 numbers", path, keys[i]);
                        } else
                            dst[k] = (float)v->num;
                    }
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
    llava_json_free(&j);
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
        if ((pos[i].v <= 0 || pos[i].v > LLAVA__LIMIT_DIM) && !(c->text_only && !strncmp(pos[i].name, "vision", 6)))
            return llava__err("%s: %s (%d) must be between 1 and %d", file, pos[i].name, pos[i].v, LLAVA__LIMIT_DIM);
    if (c->text_only) { /* a language model alone: only its own checks below apply */
        if (c->text_heads % c->text_kv_heads)
            return llava__err("%s: num_key_value_heads (%d) does not divide num_attention_heads (%d)", file, c->text_kv_heads, c->text_heads);
        if (c->text_head_dim % 2) return llava__err("%s: head_dim (%d) must be even for rotary embeddings", file, c->text_head_dim);
        if ((int64_t)c->text_heads * c->text_head_dim > LLAVA__LIMIT_DIM) return llava__err("%s: heads x head_dim too large", file);
        if (!(c->text_rms_eps >= 0.0f)) return llava__err("%s: negative norm epsilon", file);
        if (!(c->text_rope_theta > 0.0) || !(c->text_rope_linear_factor > 0.0)) return llava__err("%s: rope_theta and rope factor must be positive", file);
        return LLAVA_OK;
    }
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
/* Tensor names, in this one place (llama.cpp keeps them in one place too): formats relative to the
   prefixes that layout detection finds, and the layers' parameters in the tables below. The loader and
   the walk over parameters (training, saving, llava_trainer_param) both read them. */
#define LLAVA__N_PATCH "%sembeddings.patch_embedding.weight"
#define LLAVA__N_CLASS "%sembeddings.class_embedding"
#define LLAVA__N_POS "%sembeddings.position_embedding.weight"
#define LLAVA__N_PRE_LN "%spre_layrnorm.%s"
#define LLAVA__N_VLAYER "%sencoder.layers.%d.%s"
#define LLAVA__N_PROJ "%slinear_%d.%s"
#define LLAVA__N_EMBED "%sembed_tokens.weight"
#define LLAVA__N_TLAYER "%slayers.%d.%s"
#define LLAVA__N_NORM "%snorm.weight"
#define LLAVA__N_HEAD "%slm_head.weight"
/* the prefixes of transformers 4.x's layout, which the walk names parameters with (and saving writes) */
#define LLAVA__P_VISION "vision_tower.vision_model."
#define LLAVA__P_PROJ "multi_modal_projector."
#define LLAVA__P_TEXT "language_model.model."
#define LLAVA__P_HEAD "language_model."

/* One parameter of a layer: its name after the layer's prefix; its slot in the model's layer and in a
   gradient layer; a matrix (LlavaWeight) or a vector (float *); its shape by letter (D, i = Iv: vision;
   C, Q = H*Dh, K = KVH*Dh, I: text; cols 0 for a vector); and opt: 0 always present, 'a' with
   attention_bias, 'o' the same where the file has it (Qwen2 has q/k/v biases but none on o_proj),
   'm' with mlp_bias. The tables list them in the walk's order: the order of the trainer's parameters,
   of saved checkpoints and of optimizer state. */
typedef struct {
    const char *leaf;
    size_t w, g;
    char mat, rows, cols, opt;
} llava__lparam;
#define LLAVA__VP(f, leaf, mat, r, c) {leaf, offsetof(llava__vlayer, f), offsetof(llava__vgrad, f), mat, r, c, 0}
#define LLAVA__TP(f, leaf, mat, r, c, opt) {leaf, offsetof(llava__tlayer, f), offsetof(llava__tgrad, f), mat, r, c, opt}
static const llava__lparam llava__vparams[] = {
    LLAVA__VP(q, "self_attn.q_proj.weight", 1, 'D', 'D'),   LLAVA__VP(qb, "self_attn.q_proj.bias", 0, 'D', 0),
    LLAVA__VP(k, "self_attn.k_proj.weight", 1, 'D', 'D'),   LLAVA__VP(kb, "self_attn.k_proj.bias", 0, 'D', 0),
    LLAVA__VP(v, "self_attn.v_proj.weight", 1, 'D', 'D'),   LLAVA__VP(vb, "self_attn.v_proj.bias", 0, 'D', 0),
    LLAVA__VP(o, "self_attn.out_proj.weight", 1, 'D', 'D'), LLAVA__VP(ob, "self_attn.out_proj.bias", 0, 'D', 0),
    LLAVA__VP(ln1_w, "layer_norm1.weight", 0, 'D', 0),      LLAVA__VP(ln1_b, "layer_norm1.bias", 0, 'D', 0),
    LLAVA__VP(fc1, "mlp.fc1.weight", 1, 'i', 'D'),          LLAVA__VP(fc1b, "mlp.fc1.bias", 0, 'i', 0),
    LLAVA__VP(fc2, "mlp.fc2.weight", 1, 'D', 'i'),          LLAVA__VP(fc2b, "mlp.fc2.bias", 0, 'D', 0),
    LLAVA__VP(ln2_w, "layer_norm2.weight", 0, 'D', 0),      LLAVA__VP(ln2_b, "layer_norm2.bias", 0, 'D', 0),
};
static const llava__lparam llava__tparams[] = {
    LLAVA__TP(in_norm, "input_layernorm.weight", 0, 'C', 0, 0),
    LLAVA__TP(q, "self_attn.q_proj.weight", 1, 'Q', 'C', 0),
    LLAVA__TP(k, "self_attn.k_proj.weight", 1, 'K', 'C', 0),
    LLAVA__TP(v, "self_attn.v_proj.weight", 1, 'K', 'C', 0),
    LLAVA__TP(o, "self_attn.o_proj.weight", 1, 'C', 'Q', 0),
    LLAVA__TP(qb, "self_attn.q_proj.bias", 0, 'Q', 0, 'a'),
    LLAVA__TP(kb, "self_attn.k_proj.bias", 0, 'K', 0, 'a'),
    LLAVA__TP(vb, "self_attn.v_proj.bias", 0, 'K', 0, 'a'),
    LLAVA__TP(ob, "self_attn.o_proj.bias", 0, 'C', 0, 'o'),
    LLAVA__TP(post_norm, "post_attention_layernorm.weight", 0, 'C', 0, 0),
    LLAVA__TP(gate, "mlp.gate_proj.weight", 1, 'I', 'C', 0),
    LLAVA__TP(up, "mlp.up_proj.weight", 1, 'I', 'C', 0),
    LLAVA__TP(down, "mlp.down_proj.weight", 1, 'C', 'I', 0),
    LLAVA__TP(gate_b, "mlp.gate_proj.bias", 0, 'I', 0, 'm'),
    LLAVA__TP(up_b, "mlp.up_proj.bias", 0, 'I', 0, 'm'),
    LLAVA__TP(down_b, "mlp.down_proj.bias", 0, 'C', 0, 'm'),
};
#undef LLAVA__VP
#undef LLAVA__TP
#define LLAVA__N_VPARAMS ((int)(sizeof llava__vparams / sizeof llava__vparams[0]))
#define LLAVA__N_TPARAMS ((int)(sizeof llava__tparams / sizeof llava__tparams[0]))

/* a shape letter of the tables above -> its size in configuration c */
static int llava__pdim(const LlavaConfig *c, char d) {
    switch (d) {
    case 'D': return c->vision_hidden;
    case 'i': return c->vision_intermediate;
    case 'C': return c->text_hidden;
    case 'Q': return c->text_heads * c->text_head_dim;
    case 'K': return c->text_kv_heads * c->text_head_dim;
    case 'I': return c->text_intermediate;
    }
    return 0;
}

static int llava__own(LlavaModel *m, void *p) { return llava__owned_add(&m->owned, p); }

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
static int llava__load_w(LlavaModel *m, const llava__tensors *ts, LlavaWeight *w, int rows, int cols, const char *pfx, const char *fmt2, int layer, const char *leaf) {
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

/* one layer's parameters by its table (llava__vparams, llava__tparams): L the layer, fmt its name format */
static int llava__load_layer(LlavaModel *m, const llava__tensors *ts, const llava__lparam *e, int n, char *L, const char *fmt,
                             const char *pfx, int l) {
    const LlavaConfig *c = &m->cfg;
    char name[256];
    int i;
    for (i = 0; i < n; i++, e++) {
        const int rows = llava__pdim(c, e->rows);
        if ((e->opt == 'a' || e->opt == 'o') && !c->text_attn_bias) continue;
        if (e->opt == 'm' && !c->text_mlp_bias) continue;
        if (e->opt == 'o') {
            snprintf(name, sizeof name, fmt, pfx, l, e->leaf);
            if (!llava__tensors_find(ts, name)) continue;
        }
        if (e->mat ? llava__load_w(m, ts, (LlavaWeight *)(L + e->w), rows, llava__pdim(c, e->cols), pfx, fmt, l, e->leaf)
                   : llava__load_vec(m, ts, (float **)(L + e->w), rows, fmt, pfx, l, e->leaf))
            return LLAVA_ERR;
    }
    return LLAVA_OK;
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
    const int D = c->vision_hidden, ps = c->vision_patch_size;
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
    for (l = 0; l < m->vision_run; l++)
        if (llava__load_layer(m, ts, llava__vparams, LLAVA__N_VPARAMS, (char *)&m->vl[l], LLAVA__N_VLAYER, vp, l)) return LLAVA_ERR;
    return LLAVA_OK;
}

static int llava__load_text(LlavaModel *m, const llava__tensors *ts, const char *tp) {
    const LlavaConfig *c = &m->cfg;
    const int C = c->text_hidden, Dh = c->text_head_dim;
    if (llava__load_w(m, ts, &m->embed, c->text_vocab, C, tp, LLAVA__N_EMBED, -1, "")) return LLAVA_ERR;
    m->tl = (llava__tlayer *)llava__calloc((size_t)c->text_layers, sizeof *m->tl);
    if (!m->tl) return llava__err("out of memory");
    int l;
    for (l = 0; l < c->text_layers; l++)
        if (llava__load_layer(m, ts, llava__tparams, LLAVA__N_TPARAMS, (char *)&m->tl[l], LLAVA__N_TLAYER, tp, l)) return LLAVA_ERR;
    if (llava__load_vec(m, ts, &m->norm, C, LLAVA__N_NORM, tp, -1, "")) return LLAVA_ERR;
    if (c->text_tied) {
        m->head = m->embed;
    } else {
        /* the head sits beside the decoder: language_model.lm_head (4.x) or lm_head */
        const char *hp = !strcmp(tp, LLAVA__P_TEXT) ? LLAVA__P_HEAD : "";
        if (llava__load_w(m, ts, &m->head, c->text_vocab, C, hp, LLAVA__N_HEAD, -1, "")) return LLAVA_ERR;
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
            snprintf(wn, sizeof wn, LLAVA__N_PROJ, "", i + 1, "weight");
            snprintf(bn, sizeof bn, LLAVA__N_PROJ, "", i + 1, "bias");
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

/* a model's own backend lives while the model or a trainer or tower cache made from it does (any of
   them may be freed first); a caller's backend is the caller's */
static void llava__backend_drop(LlavaBackend *b, int *refs) {
    if (!refs || --*refs > 0) return;
    llava_backend_free(b);
    LLAVA_FREE(refs);
}

LLAVADEF void llava_model_free(LlavaModel *m) {
    if (!m) return;
    if (m->b) {
        int i;
        for (i = 0; i < m->n_mapped; i++) m->b->unmap(m->b, m->mapped[i]);
        for (i = 0; i < m->n_bufs; i++) m->b->free(m->b, m->bufs[i]);
        llava__backend_drop(m->b, m->b_refs);
    }
    LLAVA_FREE(m->mapped);
    LLAVA_FREE(m->bufs);
    llava__owned_free(&m->owned);
    LLAVA_FREE(m->vl);
    LLAVA_FREE(m->tl);
    LLAVA_FREE(m->dir);
    llava__tensors_free(&m->files);
    llava__tensors_free(&m->vfiles);
    llava_model_free(m->parts[0]);
    llava_model_free(m->parts[1]);
    LLAVA_FREE(m);
}

/* the original LLaVA repository's checkpoint: flat LLaMA config + mm_* fields, model.mm_projector.*,
   and the CLIP tower in its own directory (named by mm_vision_tower) */
static int llava__load_original(LlavaModel *m, const char *dir, llava__cfgr *r, const LlavaJsonNode *root) {
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
        int oom = (tower[0] == '/' && !cand[0]) || !cand[1] || !cand[2];
        for (k = 0; k < 3; k++) {
            char *cfg = cand[k] && tower[0] ? llava__path_join(cand[k], "config.json") : NULL;
            oom |= cand[k] && tower[0] && !cfg;
            if (!vdir && cfg && llava_file_exists(cfg)) {
                vdir = cand[k];
                cand[k] = NULL;
            }
            LLAVA_FREE(cfg);
            LLAVA_FREE(cand[k]);
        }
        if (oom) {
            LLAVA_FREE(vdir);
            return llava__err("%s: out of memory for the paths of the vision tower \"%s\"", r->file, tower);
        }
    }
    if (!vdir) return llava__err("%s: the vision tower \"%s\" (mm_vision_tower) is not a directory with config.json, "
                                 "looked for it as given and inside %s", r->file, tower, dir);
    /* the tower's own config: a CLIPVisionConfig, or a CLIPConfig with vision_config inside */
    char *vcfg = llava__path_join(vdir, "config.json");
    size_t n;
    char *text = vcfg ? llava_read_file(vcfg, 1 << 24, &n) : NULL;
    LlavaJson j;
    int rc = text ? llava_json_parse(&j, text, n, vcfg) : vcfg ? LLAVA_ERR : llava__err("out of memory for the path of %s/config.json", vdir);
    if (rc == LLAVA_OK) {
        llava__cfgr vr = {&j, vcfg, LLAVA_OK};
        const LlavaJsonNode *vroot = &j.nodes[0], *sub = llava__cfg_get(&vr, vroot, "vision_config");
        llava__config_vision(c, &vr, sub ? sub : vroot, sub ? "vision_config." : "", 0);
        rc = vr.rc;
    }
    if (text) llava_json_free(&j);
    LLAVA_FREE(text);
    LLAVA_FREE(vcfg);
    if (rc == LLAVA_OK) {
        char *pre = llava__path_join(dir, "preprocessor_config.json");
        if (pre && !llava_file_exists(pre)) {
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
static int llava__load_hf(LlavaModel *m, const char *dir, llava__cfgr *r, const LlavaJsonNode *root) {
    LlavaConfig *c = &m->cfg;
    const LlavaJsonNode *tc = llava__cfg_get(r, root, "text_config"), *vc = llava__cfg_get(r, root, "vision_config");
    c->text_tied = llava__cfg_int(r, root, "", "tie_word_embeddings", 0);
    if (tc) llava__config_text(c, r, tc, "text_config.");
    else llava__config_text(c, r, NULL, "text_config.");
    llava__config_vision(c, r, vc, "vision_config.", vc == NULL);
    c->image_token_id = llava__cfg_int(r, root, "", "image_token_index", llava__cfg_int(r, root, "", "image_token_id", 32000));
    c->image_token_expands = 0;
    const LlavaJsonNode *fl = llava__cfg_get(r, root, "vision_feature_layer");
    if (fl && fl->type == LLAVA_JSON_ARR) {
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

/* a LLaMA-family language model alone (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM save_pretrained:
   the text config at the top level, model.* and lm_head.weight): config text_only, as a GGUF text model
   without an mmproj */
static int llava__load_lm(LlavaModel *m, const char *dir, llava__cfgr *r, const LlavaJsonNode *root) {
    static const char *const tps[] = {"model."};
    LlavaConfig *c = &m->cfg;
    int rc;
    llava__config_text(c, r, root, "");
    c->text_tied = llava__cfg_int(r, root, "", "tie_word_embeddings", 0); /* (LlamaConfig's default: untied) */
    c->text_only = 1;
    c->image_token_id = -1;
    c->image_token_expands = 0;
    if (r->rc != LLAVA_OK) return r->rc;
    if ((rc = llava__config_check(c, r->file)) != LLAVA_OK || (rc = llava__tensors_load_dir(&m->files, dir)) != LLAVA_OK) return rc;
    if (!llava__probe(&m->files, tps, 1, "embed_tokens.weight")) return llava__err("%s: no language model weights (model.embed_tokens.weight)", dir);
    return llava__load_text(m, &m->files, tps[0]);
}

/* an empty model on a CPU backend of its own */
static LlavaModel *llava__model_alloc(void) {
    LlavaModel *m = (LlavaModel *)llava__calloc(1, sizeof *m);
    if (!m) {
        llava__err("out of memory");
        return NULL;
    }
    m->b = llava_backend_cpu_new(LLAVA_PREC_F32);
    m->b_refs = (int *)LLAVA_MALLOC(sizeof *m->b_refs);
    if (!m->b || !m->b_refs) {
        if (m->b && !m->b_refs) llava__err("out of memory");
        llava_backend_free(m->b);
        LLAVA_FREE(m->b_refs);
        LLAVA_FREE(m);
        return NULL;
    }
    *m->b_refs = 1;
    m->tok_image = -1;
    return m;
}

LLAVADEF LlavaModel *llava_model_load(const char *dir) {
    size_t dl = strlen(dir);
    if (dl > 5 && !strcmp(dir + dl - 5, ".gguf")) return llava_model_load_gguf(dir, NULL); /* a llama.cpp file: text only */
    char *prev = llava__dir_fallback(dir); /* a save interrupted between its renames: the previous checkpoint */
    if (prev) {
        LlavaModel *r = llava_model_load(prev);
        LLAVA_FREE(prev);
        return r;
    }
    LlavaModel *m = llava__model_alloc();
    if (!m) return NULL;
    m->dir = llava__strdup(dir);
    char *path = m->dir ? llava__path_join(dir, "config.json") : NULL;
    size_t n = 0;
    char *text = path ? llava_read_file(path, 1 << 24, &n) : NULL;
    LlavaJson j;
    int rc = text ? llava_json_parse(&j, text, n, path) : path ? LLAVA_ERR : llava__err("out of memory for the paths of %s", dir);
    if (rc == LLAVA_OK && j.nodes[0].type != LLAVA_JSON_OBJ) rc = llava__err("%s: not a JSON object", path);
    if (rc == LLAVA_OK) {
        llava__cfgr r = {&j, path, LLAVA_OK};
        const LlavaJsonNode *root = &j.nodes[0];
        const char *type = llava__cfg_str(&r, root, "", "model_type", "");
        int original = llava__cfg_get(&r, root, "mm_vision_tower") || llava__cfg_get(&r, root, "mm_projector_type") ||
                       !strcmp(type, "llava_llama") || !strcmp(type, "llava_mistral");
        if (original) {
            rc = llava__tensors_load_dir(&m->files, dir);
            if (rc == LLAVA_OK) rc = llava__load_original(m, dir, &r, root);
        } else if ((!strcmp(type, "llama") || !strcmp(type, "mistral") || !strcmp(type, "qwen2")) && r.rc == LLAVA_OK) {
            rc = llava__load_lm(m, dir, &r, root);
        } else if (strcmp(type, "llava") && r.rc == LLAVA_OK) {
            rc = llava__err("%s: model_type \"%s\" is not a LLaVA model (llava, or the original repository's llava_llama) or a "
                            "LLaMA-family language model (llama, mistral, qwen2)", path, type);
        } else {
            rc = llava__load_hf(m, dir, &r, root);
        }
    }
    if (text) llava_json_free(&j);
    LLAVA_FREE(text);
    LLAVA_FREE(path);
    if (rc != LLAVA_OK) {
        llava_model_free(m);
        return NULL;
    }
    return m;
}

/* --- a copy of a weight on a backend without host memory (map), released with the model --------- */
typedef struct {
    LlavaModel *m;
    int rc;
} llava__mapper;
static int llava__map_one(llava__mapper *r, const void **data, size_t bytes) {
    LlavaModel *m = r->m;
    void **grown;
    if (r->rc != LLAVA_OK || !*data) return r->rc;
    grown = (void **)LLAVA_REALLOC(m->mapped, (size_t)(m->n_mapped + 1) * sizeof *grown);
    if (!grown) return r->rc = llava__err("out of memory");
    m->mapped = grown;
    const void *p = m->b->map(m->b, *data, bytes);
    if (!p) return r->rc = LLAVA_ERR;
    m->mapped[m->n_mapped++] = (void *)p;
    *data = p;
    return LLAVA_OK;
}
/* a stage-1 projector file over the model's projector (LLaVA's train.py: --pretrain_mm_mlp_adapter loads
   mm_projector.bin into model.mm_projector with the "mm_projector." prefix stripped) */
LLAVADEF int llava_model_load_projector(LlavaModel *m, const char *path) {
    const LlavaConfig *c = &m->cfg;
    static const char *const orig[] = {"model.mm_projector.", "mm_projector.", "model.model.mm_projector."};
    static const char *const hf[] = {"multi_modal_projector.", "model.multi_modal_projector."};
    llava__tensors ts;
    memset(&ts, 0, sizeof ts);
    const size_t pl = strlen(path);
    const int safet = pl >= 12 && !strcmp(path + pl - 12, ".safetensors");
    int rc = safet ? llava__st_add(&ts, path) : llava__pt_add(&ts, path), i;
    if (rc == LLAVA_OK) rc = llava__tensors_index(&ts);
    if (rc != LLAVA_OK) {
        llava__tensors_free(&ts);
        return LLAVA_ERR;
    }
    const char *pp = llava__probe(&ts, orig, 3, c->proj_layers == 1 ? "weight" : "0.weight");
    const int original = pp != NULL;
    if (!pp) pp = llava__probe(&ts, hf, 2, "linear_1.weight");
    if (!pp) {
        llava__tensors_free(&ts);
        return llava__err("%s: no projector weights (looked for model.mm_projector.%s, mm_projector.%s and "
                          "multi_modal_projector.linear_1.weight)", path, c->proj_layers == 1 ? "weight" : "0.weight",
                          c->proj_layers == 1 ? "weight" : "0.weight");
    }
    LlavaWeight w[LLAVA_MAX_PROJ_LAYERS];
    float *b[LLAVA_MAX_PROJ_LAYERS];
    memcpy(w, m->proj, sizeof w);
    memcpy(b, m->proj_b, sizeof b);
    rc = llava__load_projector(m, &ts, pp, original);
    /* the matrices point into the file, which is closed below: copies the model owns */
    for (i = 0; rc == LLAVA_OK && i < c->proj_layers; i++) {
        const size_t nb = (size_t)m->proj[i].rows * (size_t)m->proj[i].cols * llava__dtype_size(m->proj[i].dtype);
        void *p = llava__alloc_aligned(nb);
        if ((rc = llava__own(m, p)) == LLAVA_OK) {
            memcpy(p, m->proj[i].data, nb);
            m->proj[i].data = p;
        }
    }
    if (!m->b->host_memory) { /* the backend's copies (the old ones stay mapped until the model is freed) */
        llava__mapper r = {m, rc};
        for (i = 0; i < c->proj_layers; i++) {
            llava__map_one(&r, &m->proj[i].data, (size_t)m->proj[i].rows * (size_t)m->proj[i].cols * llava__dtype_size(m->proj[i].dtype));
            if (c->proj_bias) llava__map_one(&r, (const void **)&m->proj_b[i], (size_t)c->text_hidden * sizeof(float));
        }
        rc = r.rc;
    }
    if (rc != LLAVA_OK) {
        char msg[sizeof llava__errbuf];
        snprintf(msg, sizeof msg, "%s", llava__errbuf);
        memcpy(m->proj, w, sizeof w);
        memcpy(m->proj_b, b, sizeof b);
        llava__tensors_free(&ts);
        return llava__err("%s: %s", path, msg);
    }
    llava__tensors_free(&ts);
    return LLAVA_OK;
}

/* --- llama.cpp's GGUF files: the metadata -> LlavaConfig, the tensors -> the llava-hf names the loader
   above reads (transformers 4.x layout: language_model.model.*, vision_tower.vision_model.*,
   multi_modal_projector.*), then the same loading path as a Hugging Face directory ----------------- */

/* metadata key helpers: a required or optional positive integer, an optional number */
static int llava__gguf_dim(const llava__gguf *g, const char *key, int required, int def, int *out) {
    int64_t v = 0;
    int r = llava__gguf_int(g, key, &v);
    if (r == LLAVA_ERR) return LLAVA_ERR;
    if (r == 0) {
        if (required) return llava__err("%s: metadata '%s' is missing", g->path, key);
        *out = def;
        return LLAVA_OK;
    }
    if (v <= 0 || v > LLAVA__LIMIT_DIM) return llava__err("%s: metadata '%s' = %lld is out of range (1 to %d)", g->path, key, (long long)v, LLAVA__LIMIT_DIM);
    *out = (int)v;
    return LLAVA_OK;
}
static int llava__gguf_num(const llava__gguf *g, const char *key, double def, double *out) {
    int r = llava__gguf_float(g, key, out);
    if (r == 0) *out = def;
    return r == LLAVA_ERR ? LLAVA_ERR : LLAVA_OK;
}
/* key = prefix + "." + rest */
static const char *llava__gguf_key(char *buf, size_t n, const char *prefix, const char *rest) {
    snprintf(buf, n, "%s.%s", prefix, rest);
    return buf;
}

/* a token's id in tokenizer.ggml.tokens, or -1 */
static int llava__gguf_token_id(const llava__gguf *g, const char *tok) {
    const llava__gguf_kv *kv;
    uint64_t i;
    size_t n = strlen(tok), len;
    if (llava__gguf_arr(g, "tokenizer.ggml.tokens", LLAVA__GGUF_STRING, &kv) != 1) return -1;
    for (i = 0; i < kv->n && i < (uint64_t)INT32_MAX; i++) {
        const char *s = llava__gguf_arr_str(kv, i, &len);
        if (len == n && !memcmp(s, tok, n)) return (int)i;
    }
    return -1;
}

/* general.architecture "llama": llama.cpp's LLM_ARCH_LLAMA hyperparameters (convert_hf_to_gguf.py
   LlamaModel.set_gguf_parameters writes them from config.json) */
static int llava__gguf_text_config(LlavaConfig *c, const llava__gguf *g) {
    const char *arch;
    size_t alen;
    char k[128], a[64];
    int r = llava__gguf_str(g, "general.architecture", &arch, &alen);
    if (r != 1) return r == 0 ? llava__err("%s: no general.architecture; not a llama.cpp model file", g->path) : LLAVA_ERR;
    if (alen != 5 || memcmp(arch, "llama", 5))
        return llava__err("%s: general.architecture \"%.*s\" is not supported (llama)", g->path, (int)LLAVA__MIN(alen, 64), arch);
    snprintf(a, sizeof a, "llama");
    if (llava__gguf_dim(g, llava__gguf_key(k, sizeof k, a, "embedding_length"), 1, 0, &c->text_hidden) ||
        llava__gguf_dim(g, llava__gguf_key(k, sizeof k, a, "block_count"), 1, 0, &c->text_layers) ||
        llava__gguf_dim(g, llava__gguf_key(k, sizeof k, a, "feed_forward_length"), 1, 0, &c->text_intermediate) ||
        llava__gguf_dim(g, llava__gguf_key(k, sizeof k, a, "attention.head_count"), 1, 0, &c->text_heads) ||
        llava__gguf_dim(g, llava__gguf_key(k, sizeof k, a, "attention.head_count_kv"), 0, c->text_heads, &c->text_kv_heads) ||
        llava__gguf_dim(g, llava__gguf_key(k, sizeof k, a, "context_length"), 0, 2048, &c->text_max_pos))
        return LLAVA_ERR;
    if (c->text_hidden % c->text_heads && !llava__gguf_find(g, "llama.attention.key_length"))
        return llava__err("%s: llama.attention.head_count (%d) does not divide llama.embedding_length (%d)", g->path, c->text_heads, c->text_hidden);
    int vlen = 0, rot = 0;
    if (llava__gguf_dim(g, llava__gguf_key(k, sizeof k, a, "attention.key_length"), 0, c->text_hidden / c->text_heads, &c->text_head_dim) ||
        llava__gguf_dim(g, llava__gguf_key(k, sizeof k, a, "attention.value_length"), 0, c->text_head_dim, &vlen) ||
        llava__gguf_dim(g, llava__gguf_key(k, sizeof k, a, "rope.dimension_count"), 0, c->text_head_dim, &rot))
        return LLAVA_ERR;
    if (vlen != c->text_head_dim) return llava__err("%s: key_length %d and value_length %d differ (not supported)", g->path, c->text_head_dim, vlen);
    if (rot != c->text_head_dim)
        return llava__err("%s: llama.rope.dimension_count %d is not the head size %d (partial rotary is not supported)", g->path, rot, c->text_head_dim);
    int64_t experts = 0;
    if (llava__gguf_int(g, "llama.expert_count", &experts) == LLAVA_ERR) return LLAVA_ERR;
    if (experts > 0) return llava__err("%s: a mixture of experts (llama.expert_count %lld) is not supported", g->path, (long long)experts);
    double eps, theta, factor = 1.0;
    r = llava__gguf_float(g, "llama.attention.layer_norm_rms_epsilon", &eps);
    if (r != 1) return r == 0 ? llava__err("%s: metadata 'llama.attention.layer_norm_rms_epsilon' is missing", g->path) : LLAVA_ERR;
    if (llava__gguf_num(g, "llama.rope.freq_base", 10000.0, &theta)) return LLAVA_ERR;
    c->text_rms_eps = (float)eps;
    c->text_rope_theta = theta;
    /* rope scaling: none, or linear (rope.scaling.type + rope.scaling.factor, or the older rope.scale_linear) */
    const char *st;
    size_t slen;
    r = llava__gguf_str(g, "llama.rope.scaling.type", &st, &slen);
    if (r == LLAVA_ERR) return LLAVA_ERR;
    if (r == 1 && !(slen == 4 && !memcmp(st, "none", 4))) {
        if (!(slen == 6 && !memcmp(st, "linear", 6)))
            return llava__err("%s: rope scaling \"%.*s\" is not supported (none, linear)", g->path, (int)LLAVA__MIN(slen, 64), st);
        if (llava__gguf_num(g, "llama.rope.scaling.factor", 1.0, &factor)) return LLAVA_ERR;
    } else if (r == 0 && llava__gguf_num(g, "llama.rope.scale_linear", 1.0, &factor)) {
        return LLAVA_ERR;
    }
    c->text_rope_linear_factor = factor > 0.0 ? factor : 1.0;
    c->text_act = LLAVA_ACT_SILU;
    /* special tokens; the vocabulary size comes from token_embd */
    int64_t id;
    c->bos_id = -1;
    if ((r = llava__gguf_int(g, "tokenizer.ggml.bos_token_id", &id)) == LLAVA_ERR) return LLAVA_ERR;
    if (r == 1 && id >= 0 && id <= INT32_MAX) c->bos_id = (int)id;
    c->n_eos = 0;
    if ((r = llava__gguf_int(g, "tokenizer.ggml.eos_token_id", &id)) == LLAVA_ERR) return LLAVA_ERR;
    if (r == 1 && id >= 0 && id <= INT32_MAX) c->eos_ids[c->n_eos++] = (int)id;
    if ((r = llava__gguf_int(g, "tokenizer.ggml.eot_token_id", &id)) == LLAVA_ERR) return LLAVA_ERR;
    if (r == 1 && id >= 0 && id <= INT32_MAX && (c->n_eos == 0 || c->eos_ids[0] != (int)id)) c->eos_ids[c->n_eos++] = (int)id;
    return LLAVA_OK;
}

/* the language model's tensors: llama.cpp's names (gguf-py tensor_mapping.py, MODEL_ARCH.LLAMA) -> the
   llava-hf names; attn_q / attn_k rows un-permuted */
static int llava__gguf_text_tensors(llava__tensors *ts, llava__gguf *g, const LlavaConfig *c, int *tied, int *vocab) {
    static const struct {
        const char *gguf, *hf;
        int permute; /* 1: q (heads), 2: k (kv heads) */
    } leaf[] = {{"attn_norm.weight", "input_layernorm.weight", 0},   {"attn_q.weight", "self_attn.q_proj.weight", 1},
                {"attn_k.weight", "self_attn.k_proj.weight", 2},     {"attn_v.weight", "self_attn.v_proj.weight", 0},
                {"attn_output.weight", "self_attn.o_proj.weight", 0}, {"attn_q.bias", "self_attn.q_proj.bias", 1},
                {"attn_k.bias", "self_attn.k_proj.bias", 2},         {"attn_v.bias", "self_attn.v_proj.bias", 0},
                {"attn_output.bias", "self_attn.o_proj.bias", 0},    {"ffn_norm.weight", "post_attention_layernorm.weight", 0},
                {"ffn_gate.weight", "mlp.gate_proj.weight", 0},      {"ffn_up.weight", "mlp.up_proj.weight", 0},
                {"ffn_down.weight", "mlp.down_proj.weight", 0}};
    const llava__gguf_tensor *emb = llava__gguf_tensor_find(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2) return llava__err("%s: no token_embd.weight matrix", g->path);
    if (emb->ne[1] <= 0 || emb->ne[1] > INT32_MAX / 2) return llava__err("%s: token_embd.weight has %lld rows", g->path, (long long)emb->ne[1]);
    *vocab = (int)emb->ne[1];
    *tied = llava__gguf_tensor_find(g, "output.weight") == NULL;
    const int shard = ts->n_shards;
    if (llava__gguf_adopt(ts, g) != LLAVA_OK) return LLAVA_ERR;
    int i, rc = LLAVA_OK;
    char name[256];
    for (i = 0; i < g->n_t && rc == LLAVA_OK; i++) {
        const llava__gguf_tensor *t = &g->t[i];
        int layer = -1, off = 0, heads = 0;
        size_t k;
        name[0] = 0;
        if (!strcmp(t->name, "token_embd.weight")) snprintf(name, sizeof name, LLAVA__P_TEXT "embed_tokens.weight");
        else if (!strcmp(t->name, "output_norm.weight")) snprintf(name, sizeof name, LLAVA__P_TEXT "norm.weight");
        else if (!strcmp(t->name, "output.weight")) snprintf(name, sizeof name, LLAVA__P_HEAD "lm_head.weight");
        else if (!strcmp(t->name, "rope_freqs.weight"))
            rc = llava__err("%s: rope_freqs.weight (Llama 3.1 rope scaling) is not supported", g->path);
        else if (sscanf(t->name, "blk.%d.%n", &layer, &off) == 1 && off > 0 && layer >= 0 && layer < c->text_layers) {
            for (k = 0; k < sizeof leaf / sizeof leaf[0]; k++)
                if (!strcmp(t->name + off, leaf[k].gguf)) {
                    snprintf(name, sizeof name, LLAVA__P_TEXT "layers.%d.%s", layer, leaf[k].hf);
                    heads = leaf[k].permute == 1 ? c->text_heads : leaf[k].permute == 2 ? c->text_kv_heads : 0;
                }
        }
        if (rc == LLAVA_OK && !name[0])
            rc = llava__err("%s: tensor '%s' is not part of a llama model with %d layers", g->path, t->name, c->text_layers);
        if (rc == LLAVA_OK) rc = llava__gguf_put(ts, shard, t, name, heads);
    }
    return rc;
}

/* the mmproj file (clip.cpp's LLaVA encoder, written by examples/llava/convert_image_encoder_to_gguf.py):
   CLIPVisionConfig from clip.vision.*, tensors v.* and mm.0 / mm.2 -> vision_tower.vision_model.* and
   multi_modal_projector.linear_1 / linear_2 */
static int llava__gguf_vision(LlavaConfig *c, llava__tensors *ts, llava__gguf *g) {
    const char *s;
    size_t len;
    int r, b = 0;
    r = llava__gguf_str(g, "clip.projector_type", &s, &len);
    if (r == LLAVA_ERR) return LLAVA_ERR;
    if (r == 1 && !(len == 3 && !memcmp(s, "mlp", 3)))
        return llava__err("%s: clip.projector_type \"%.*s\" is not supported (mlp: LLaVA-1.5's two linear layers)", g->path,
                          (int)LLAVA__MIN(len, 64), s);
    if ((r = llava__gguf_bool(g, "clip.has_vision_encoder", &b)) == LLAVA_ERR) return LLAVA_ERR;
    if (r == 1 && !b) return llava__err("%s: clip.has_vision_encoder is false; not an image encoder", g->path);
    if ((r = llava__gguf_bool(g, "clip.use_silu", &b)) == LLAVA_ERR) return LLAVA_ERR;
    if (r == 1 && b) return llava__err("%s: clip.use_silu is not supported", g->path);
    int gelu = 0;
    if (llava__gguf_bool(g, "clip.use_gelu", &gelu) == LLAVA_ERR) return LLAVA_ERR;
    c->vision_act = gelu ? LLAVA_ACT_GELU : LLAVA_ACT_QUICK_GELU;
    c->vision_channels = 3;
    if (llava__gguf_dim(g, "clip.vision.image_size", 1, 0, &c->vision_image_size) ||
        llava__gguf_dim(g, "clip.vision.patch_size", 1, 0, &c->vision_patch_size) ||
        llava__gguf_dim(g, "clip.vision.embedding_length", 1, 0, &c->vision_hidden) ||
        llava__gguf_dim(g, "clip.vision.feed_forward_length", 1, 0, &c->vision_intermediate) ||
        llava__gguf_dim(g, "clip.vision.attention.head_count", 1, 0, &c->vision_heads) ||
        llava__gguf_dim(g, "clip.vision.block_count", 1, 0, &c->vision_layers))
        return LLAVA_ERR;
    double eps;
    if (llava__gguf_num(g, "clip.vision.attention.layer_norm_epsilon", 1e-5, &eps)) return LLAVA_ERR;
    c->vision_ln_eps = (float)eps;
    /* The feature layer. clip.vision.feature_layer (newer converters) holds hidden_states indices, as
       transformers' vision_feature_layer with negative values made positive. Without it (the converter
       of LLaVA-1.5's files) the last encoder layer was dropped when writing (block_count = layers - 1),
       so the output of every stored layer is hidden_states[-2], the layer LLaVA was trained on. (clip.cpp
       builds one layer fewer than stored for such files: llama.cpp issue 25817.) */
    const llava__gguf_kv *fl;
    int64_t one;
    c->vision_feature_layer = c->vision_layers;
    if ((r = llava__gguf_arr(g, "clip.vision.feature_layer", LLAVA__GGUF_ANY_NUM, &fl)) == 1) {
        if (fl->n != 1 || !llava__gguf_is_int(fl->arr_type))
            return llava__err("%s: clip.vision.feature_layer lists %llu layers; one integer index is supported", g->path,
                              (unsigned long long)fl->n);
        one = llava__gguf_arr_i64(fl, 0);
        if (one < 0 || one > c->vision_layers)
            return llava__err("%s: clip.vision.feature_layer %lld is outside the %d hidden states of the %d stored layers", g->path,
                              (long long)one, c->vision_layers + 1, c->vision_layers);
        c->vision_feature_layer = (int)one;
    } else if (r == LLAVA_ERR) {
        if ((r = llava__gguf_int(g, "clip.vision.feature_layer", &one)) != 1) return LLAVA_ERR;
        if (one < 0 || one > c->vision_layers) return llava__err("%s: clip.vision.feature_layer %lld is out of range", g->path, (long long)one);
        c->vision_feature_layer = (int)one;
    }
    c->vision_select_full = 0; /* clip.cpp keeps the patch rows only (drops the CLS row) for LLaVA */
    /* preprocessing: CLIP's at the tower's size, the file's mean/std, padded to a square first as
       LLaVA-1.5 and clip.cpp do */
    llava_preprocess_defaults(c, c->vision_image_size);
    c->pre_pad = 1;
    const char *mk[2] = {"clip.vision.image_mean", "clip.vision.image_std"};
    int i, j;
    for (i = 0; i < 2; i++) {
        const llava__gguf_kv *kv;
        if ((r = llava__gguf_arr(g, mk[i], LLAVA__GGUF_ANY_NUM, &kv)) == LLAVA_ERR) return LLAVA_ERR;
        if (r == 0) continue;
        if (kv->n != 3) return llava__err("%s: %s has %llu values (3 expected)", g->path, mk[i], (unsigned long long)kv->n);
        for (j = 0; j < 3; j++) (i ? c->pre_std : c->pre_mean)[j] = (float)llava__gguf_arr_num(kv, (uint64_t)j);
        if (i) for (j = 0; j < 3; j++) if (!(c->pre_std[j] > 0.0f)) return llava__err("%s: image_std must be positive", g->path);
    }
    /* projector: mm.0 and mm.2 (nn.Sequential(Linear, GELU, Linear) indices); GELU as LLaVA trains it
       (clip.cpp's ggml_gelu is the tanh approximation) */
    c->proj_layers = 2;
    c->proj_act = LLAVA_ACT_GELU;
    c->proj_bias = llava__gguf_tensor_find(g, "mm.0.bias") != NULL;
    /* ffn_up / ffn_down: the LLaVA converter names fc1 "ffn_down" and fc2 "ffn_up", gguf-py's tensor
       mapping the other way round; fc1 is the one with feed_forward_length output rows */
    const llava__gguf_tensor *dn = llava__gguf_tensor_find(g, "v.blk.0.ffn_down.weight");
    int swapped = dn && dn->n_dims == 2 && dn->ne[1] == c->vision_intermediate;
    if (c->vision_intermediate == c->vision_hidden) swapped = llava__gguf_find(g, "clip.has_llava_projector") != NULL;
    const int shard = ts->n_shards;
    if (llava__gguf_adopt(ts, g) != LLAVA_OK) return LLAVA_ERR;
    static const struct {
        const char *gguf, *hf;
    } leaf[] = {{"attn_q", "self_attn.q_proj"}, {"attn_k", "self_attn.k_proj"}, {"attn_v", "self_attn.v_proj"},
                {"attn_out", "self_attn.out_proj"}, {"ln1", "layer_norm1"}, {"ln2", "layer_norm2"},
                {"ffn_up", "mlp.fc1"}, {"ffn_down", "mlp.fc2"}};
    int rc = LLAVA_OK;
    char name[256];
    for (i = 0; i < g->n_t && rc == LLAVA_OK; i++) {
        const llava__gguf_tensor *t = &g->t[i];
        const char *n = t->name;
        int layer = -1, off = 0;
        size_t k;
        name[0] = 0;
        if (!strcmp(n, "v.patch_embd.weight")) snprintf(name, sizeof name, LLAVA__P_VISION "embeddings.patch_embedding.weight");
        else if (!strcmp(n, "v.class_embd")) snprintf(name, sizeof name, LLAVA__P_VISION "embeddings.class_embedding");
        else if (!strcmp(n, "v.position_embd.weight")) snprintf(name, sizeof name, LLAVA__P_VISION "embeddings.position_embedding.weight");
        else if (!strcmp(n, "v.pre_ln.weight") || !strcmp(n, "v.pre_ln.bias"))
            snprintf(name, sizeof name, LLAVA__P_VISION "pre_layrnorm.%s", n + 9);
        else if (!strcmp(n, "v.post_ln.weight") || !strcmp(n, "v.post_ln.bias") || !strncmp(n, "t.", 2))
            continue; /* never used: LLaVA reads a hidden state before post_layernorm; a text tower */
        else if (!strncmp(n, "mm.0.", 5) || !strncmp(n, "mm.2.", 5))
            snprintf(name, sizeof name, LLAVA__P_PROJ "linear_%d.%s", n[3] == '0' ? 1 : 2, n + 5);
        else if (sscanf(n, "v.blk.%d.%n", &layer, &off) == 1 && off > 0 && layer >= 0 && layer < c->vision_layers) {
            const char *rest = n + off, *dot = strchr(rest, '.');
            for (k = 0; dot && k < sizeof leaf / sizeof leaf[0]; k++)
                if (strlen(leaf[k].gguf) == (size_t)(dot - rest) && !strncmp(rest, leaf[k].gguf, (size_t)(dot - rest))) {
                    const char *hf = leaf[k].hf;
                    if (swapped && k >= 6) hf = k == 6 ? "mlp.fc2" : "mlp.fc1";
                    snprintf(name, sizeof name, LLAVA__P_VISION "encoder.layers.%d.%s%s", layer, hf, dot);
                }
        }
        if (!name[0]) {
            rc = llava__err("%s: tensor '%s' is not part of a LLaVA image encoder with %d layers", g->path, n, c->vision_layers);
            break;
        }
        rc = llava__gguf_put(ts, shard, t, name, 0);
    }
    return rc;
}

LLAVADEF LlavaModel *llava_model_load_gguf(const char *model_gguf, const char *mmproj_gguf) {
    LlavaModel *m = llava__model_alloc();
    llava__gguf g, v;
    memset(&g, 0, sizeof g);
    memset(&v, 0, sizeof v);
    if (!m) return NULL;
    LlavaConfig *c = &m->cfg;
    int rc = llava__gguf_open(&g, model_gguf), tied = 0;
    if (rc == LLAVA_OK) rc = llava__gguf_text_config(c, &g);
    if (rc == LLAVA_OK) rc = llava__gguf_text_tensors(&m->files, &g, c, &tied, &c->text_vocab);
    if (rc == LLAVA_OK) rc = llava__tensors_index(&m->files);
    c->text_tied = tied;
    if (rc == LLAVA_OK && m->files.n) { /* biases where the file has them (llama.cpp's llama allows them) */
        char nm[128];
        snprintf(nm, sizeof nm, LLAVA__P_TEXT "layers.0.self_attn.q_proj.bias");
        c->text_attn_bias = llava__tensors_find(&m->files, nm) != NULL;
        c->text_mlp_bias = 0;
    }
    if (rc == LLAVA_OK && mmproj_gguf) {
        rc = llava__gguf_open(&v, mmproj_gguf);
        if (rc == LLAVA_OK) rc = llava__gguf_vision(c, &m->vfiles, &v);
        if (rc == LLAVA_OK) rc = llava__tensors_index(&m->vfiles);
        /* the placeholder: "<image>" where the vocabulary has it (llava-hf's text models), else the
           original LLaVA's IMAGE_TOKEN_INDEX, one id standing for all of an image's rows */
        int id = llava__gguf_token_id(&g, "<image>");
        c->image_token_id = id >= 0 && id < c->text_vocab ? id : -200;
        c->image_token_expands = c->image_token_id == -200;
    } else if (rc == LLAVA_OK) {
        c->text_only = 1;
        c->image_token_id = -1;
        c->image_token_expands = 0;
    }
    if (rc == LLAVA_OK) rc = llava__config_check(c, mmproj_gguf && !c->text_only ? mmproj_gguf : model_gguf);
    if (rc == LLAVA_OK && !c->text_only) {
        rc = llava__load_vision(m, &m->vfiles, LLAVA__P_VISION);
        if (rc == LLAVA_OK) rc = llava__load_projector(m, &m->vfiles, LLAVA__P_PROJ, 0);
    }
    if (rc == LLAVA_OK) rc = llava__load_text(m, &m->files, LLAVA__P_TEXT);
    llava__gguf_close(&g);
    llava__gguf_close(&v);
    if (rc != LLAVA_OK) {
        llava_model_free(m);
        return NULL;
    }
    return m;
}

LLAVADEF const LlavaConfig *llava_model_config(const LlavaModel *m) { return &m->cfg; }
LLAVADEF const char *llava_backend_name(const LlavaModel *m) { return m->b->name; }

LLAVADEF int llava_bf16_native(void) { return llava__amx_available(); }

LLAVADEF int llava_use_bf16(LlavaModel *m, int on) {
    m->b->precision = on ? LLAVA_PREC_BF16 : LLAVA_PREC_F32;
    if (m->b->destroy == llava__cpu_destroy) /* the CPU backend names its precision */
        m->b->name = !on ? "cpu" : llava__amx_available() ? "cpu-bf16-amx" : "cpu-bf16";
    return LLAVA_OK;
}

LLAVADEF int llava_image_tokens(const LlavaModel *m) {
    if (m->cfg.text_only) return 0;
    int G = m->cfg.vision_image_size / m->cfg.vision_patch_size;
    return G * G + (m->cfg.vision_select_full ? 1 : 0);
}

#define LLAVA__TRY(call)                                                                                                     \
    do {                                                                                                                       \
        if ((call) != LLAVA_OK) return LLAVA_ERR;                                                                              \
    } while (0)

/* gradients, shaped like the model: f32, NULL where frozen */
typedef struct {
    float *patch; /* [D, 3*ps*ps] */
    float *class_emb, *pos_emb, *pre_ln_w, *pre_ln_b;
    llava__vgrad *vl;
    float *proj[LLAVA_MAX_PROJ_LAYERS];
    float *proj_b[LLAVA_MAX_PROJ_LAYERS];
    float *embed;
    llava__tgrad *tl;
    float *norm;
    float *head;
} llava__gradset;

/* --- vision encoder.  transformers: CLIPVisionTransformer, hidden_states[vision_feature_layer] --- */
/* activations of n images' pass, for the backward pass (R = n * N rows, image i's rows i*N .. i*N+N-1) */
typedef struct {
    int n;                       /* images */
    float *x0, *pre_mean, *pre_rstd; /* [R, D] embeddings before pre_layrnorm, its statistics [R] */
    float *x;                    /* [L+1][R][D] residual stream entering each layer (x[0] after pre_layrnorm) */
    float *xm;                   /* [L][R][D] after the attention residual */
    float *h1, *h2;              /* [L][R][D] layer_norm1 / layer_norm2 outputs */
    float *m1, *r1, *m2, *r2;    /* [L][R] their statistics */
    float *q, *k, *v, *ao;       /* [L][R][D] */
    float *stash;                /* [L][n][attention_stash(N, Hv)] what attention keeps for its backward */
    size_t sn;                   /* floats of stash per image and layer */
    float *f, *fa;               /* [L][R][Iv] fc1 output, after the activation */
    float *tmp;                  /* [R][D] */
    float *dx, *dxm, *dh, *dao, *dq, *dk, *dv, *dX, *d0; /* [R][D], the backward pass's */
    float *dfa, *df;             /* [R][Iv] */
    float *mem;
    int full;                    /* the output: every row (llava_tower_forward), or the selected ones */
} llava__vcache;

/* One image's working memory for inference in the backend: its pixels and patches, one layer's rows
   (reused by every layer), the tower's output rows and the projector's (training keeps every layer's
   rows in a llava__vcache instead). */
typedef struct {
    float *pix;                     /* [3, S, S] */
    float *patches;                 /* [P, 3*ps*ps] */
    float *x, *h, *q, *k, *v, *att; /* [N, D] */
    float *f;                       /* [N, Iv] */
    float *feat;                    /* [N, D] the output rows */
    float *ptmp, *proj;             /* [N, C] the projector's rows */
    void *mem;
} llava__vws;

/* n images [n][3,S,S] at pix -> out [n][rows][D], rows N (full) or the selected Psel (the "default"
   strategy drops the CLS row: hidden_states[layer][:, 1:]); patches [n*P, 3*ps*ps]. With A every
   activation is kept for llava__vision_backward; without, one layer's rows of w serve every layer (n 1). */
static int llava__vision_forward(LlavaModel *m, int n, const float *pix, float *patches, llava__vcache *A, const llava__vws *w, float *out,
                                 int full) {
    const LlavaConfig *c = &m->cfg;
    LlavaBackend *b = m->b;
    const int S = c->vision_image_size, ps = c->vision_patch_size, G = S / ps, P = G * G, N = P + 1, R = n * N;
    const int D = c->vision_hidden, Iv = c->vision_intermediate, K = 3 * ps * ps, Hv = c->vision_heads, Dh = D / Hv;
    const size_t RD = (size_t)R * D, RI = (size_t)R * Iv, ND = (size_t)N * D;
    const float eps = c->vision_ln_eps;
    float *x0 = A ? A->x0 : w->x, *tmp = A ? A->tmp : w->h;
    int l, im;
    /* patch_embedding (Conv2d, stride = kernel = ps, no bias) as a matmul over flattened patches, then
       [CLS; patches] + position_embedding and pre_layrnorm: hidden_states[0] */
    LLAVA__TRY(b->patchify(b, patches, pix, n, S, ps));
    LLAVA__TRY(b->matmul(b, tmp, patches, &m->patch, NULL, n * P, K, D));
    LLAVA__TRY(b->patch_positions(b, x0, tmp, m->class_emb, m->pos_emb, n, P, D));
    LLAVA__TRY(b->layernorm(b, A ? A->x : w->x, A ? A->pre_mean : NULL, A ? A->pre_rstd : NULL, x0, m->pre_ln_w, m->pre_ln_b, R, D, eps));
    for (l = 0; l < m->vision_run; l++) {
        const llava__vlayer *L = &m->vl[l];
        float *x = A ? A->x + l * RD : w->x, *xm = A ? A->xm + l * RD : w->x, *xn = A ? A->x + (l + 1) * RD : w->x;
        float *h1 = A ? A->h1 + l * RD : w->h, *h2 = A ? A->h2 + l * RD : w->h;
        float *m1 = A ? A->m1 + (size_t)l * R : NULL, *r1 = A ? A->r1 + (size_t)l * R : NULL;
        float *m2 = A ? A->m2 + (size_t)l * R : NULL, *r2 = A ? A->r2 + (size_t)l * R : NULL;
        float *q = A ? A->q + l * RD : w->q, *k = A ? A->k + l * RD : w->k, *v = A ? A->v + l * RD : w->v, *ao = A ? A->ao + l * RD : w->att;
        float *f = A ? A->f + l * RI : w->f, *fa = A ? A->fa + l * RI : w->f;
        /* xm = x + out_proj(attn(layer_norm1(x))), attention within each image */
        LLAVA__TRY(b->layernorm(b, h1, m1, r1, x, L->ln1_w, L->ln1_b, R, D, eps));
        LLAVA__TRY(b->matmul(b, q, h1, &L->q, L->qb, R, D, D));
        LLAVA__TRY(b->matmul(b, k, h1, &L->k, L->kb, R, D, D));
        LLAVA__TRY(b->matmul(b, v, h1, &L->v, L->vb, R, D, D));
        for (im = 0; im < n; im++)
            LLAVA__TRY(b->attention(b, ao + im * ND, A ? A->stash + ((size_t)l * n + im) * A->sn : NULL, q + im * ND, k + im * ND, v + im * ND,
                                    N, N, 0, Hv, Hv, Dh, 0));
        LLAVA__TRY(b->matmul(b, tmp, ao, &L->o, L->ob, R, D, D));
        LLAVA__TRY(b->add(b, xm, x, tmp, RD));
        /* x_next = xm + fc2(act(fc1(layer_norm2(xm)))) */
        LLAVA__TRY(b->layernorm(b, h2, m2, r2, xm, L->ln2_w, L->ln2_b, R, D, eps));
        LLAVA__TRY(b->matmul(b, f, h2, &L->fc1, L->fc1b, R, D, Iv));
        LLAVA__TRY(b->act(b, fa, f, RI, c->vision_act));
        LLAVA__TRY(b->matmul(b, tmp, fa, &L->fc2, L->fc2b, R, Iv, D));
        LLAVA__TRY(b->add(b, xn, xm, tmp, RD));
    }
    const float *last = A ? A->x + (size_t)m->vision_run * RD : w->x;
    for (im = 0; im < n; im++)
        LLAVA__TRY(b->copy(b, out + (size_t)im * (full ? N : P) * D, last + im * ND + (full ? 0 : D), (size_t)(full ? N : P) * D * sizeof(float)));
    return LLAVA_OK;
}

/* dout [n][rows][D] as llava__vision_forward gave out (A->full: every row) -> the gradients of the tower's
   parameters (where Gs has them), added; patches as the forward pass left them */
static int llava__vision_backward(LlavaModel *m, const llava__gradset *Gs, const llava__vcache *A, const float *patches, const float *dout) {
    const LlavaConfig *c = &m->cfg;
    LlavaBackend *b = m->b;
    const int S = c->vision_image_size, ps = c->vision_patch_size, G = S / ps, P = G * G, N = P + 1, n = A->n;
    const int D = c->vision_hidden, Iv = c->vision_intermediate, K = 3 * ps * ps, Hv = c->vision_heads, Dh = D / Hv, R = n * N;
    const size_t RD = (size_t)R * D, RI = (size_t)R * Iv, ND = (size_t)N * D;
    float *dx = A->dx, *dxm = A->dxm, *dh = A->dh, *dao = A->dao, *dq = A->dq, *dk = A->dk, *dv = A->dv, *dX = A->dX, *d0 = A->d0;
    float *dfa = A->dfa, *df = A->df;
    int l, im;
    LLAVA__TRY(b->fill(b, dx, 0.0f, RD));
    for (im = 0; im < n; im++) {
        if (A->full) LLAVA__TRY(b->copy(b, dx + im * ND, dout + im * ND, ND * sizeof(float)));
        else LLAVA__TRY(b->copy(b, dx + im * ND + D, dout + (size_t)im * P * D, (size_t)P * D * sizeof(float)));
    }
    for (l = m->vision_run - 1; l >= 0; l--) {
        const llava__vlayer *L = &m->vl[l];
        const llava__vgrad *GL = &Gs->vl[l];
        const float *x = A->x + l * RD, *xm = A->xm + l * RD, *h1 = A->h1 + l * RD, *h2 = A->h2 + l * RD;
        const float *q = A->q + l * RD, *k = A->k + l * RD, *v = A->v + l * RD, *ao = A->ao + l * RD;
        const float *f = A->f + l * RI, *fa = A->fa + l * RI;
        /* x_next = xm + fc2(act(fc1(layer_norm2(xm)))) */
        LLAVA__TRY(b->copy(b, dxm, dx, RD * sizeof(float)));
        LLAVA__TRY(b->fill(b, dfa, 0.0f, RI));
        LLAVA__TRY(b->matmul_backward(b, dfa, GL->fc2, GL->fc2b, dx, fa, &L->fc2, R, Iv, D));
        LLAVA__TRY(b->act_backward(b, df, dfa, f, RI, c->vision_act));
        LLAVA__TRY(b->fill(b, dh, 0.0f, RD));
        LLAVA__TRY(b->matmul_backward(b, dh, GL->fc1, GL->fc1b, df, h2, &L->fc1, R, D, Iv));
        LLAVA__TRY(b->layernorm_backward(b, dxm, GL->ln2_w, GL->ln2_b, dh, xm, L->ln2_w, A->m2 + (size_t)l * R, A->r2 + (size_t)l * R, R, D));
        /* xm = x + out_proj(attention(layer_norm1(x))) */
        LLAVA__TRY(b->copy(b, dX, dxm, RD * sizeof(float)));
        LLAVA__TRY(b->fill(b, dao, 0.0f, RD));
        LLAVA__TRY(b->matmul_backward(b, dao, GL->o, GL->ob, dxm, ao, &L->o, R, D, D));
        for (im = 0; im < n; im++)
            LLAVA__TRY(b->attention_backward(b, dq + im * ND, dk + im * ND, dv + im * ND, dao + im * ND, ao + im * ND,
                                             A->stash + ((size_t)l * n + im) * A->sn, q + im * ND, k + im * ND, v + im * ND, N, Hv, Hv, Dh, 0));
        LLAVA__TRY(b->fill(b, dh, 0.0f, RD));
        LLAVA__TRY(b->matmul_backward(b, dh, GL->q, GL->qb, dq, h1, &L->q, R, D, D));
        LLAVA__TRY(b->matmul_backward(b, dh, GL->k, GL->kb, dk, h1, &L->k, R, D, D));
        LLAVA__TRY(b->matmul_backward(b, dh, GL->v, GL->vb, dv, h1, &L->v, R, D, D));
        LLAVA__TRY(b->layernorm_backward(b, dX, GL->ln1_w, GL->ln1_b, dh, x, L->ln1_w, A->m1 + (size_t)l * R, A->r1 + (size_t)l * R, R, D));
        LLAVA__TRY(b->copy(b, dx, dX, RD * sizeof(float)));
    }
    /* pre_layrnorm, then [CLS; patches] + positions, then the patches' product */
    LLAVA__TRY(b->fill(b, d0, 0.0f, RD));
    LLAVA__TRY(b->layernorm_backward(b, d0, Gs->pre_ln_w, Gs->pre_ln_b, dx, A->x0, m->pre_ln_w, A->pre_mean, A->pre_rstd, R, D));
    LLAVA__TRY(b->patch_positions_backward(b, Gs->class_emb, Gs->pos_emb, Gs->patch ? dh : NULL, d0, n, P, D));
    if (Gs->patch) LLAVA__TRY(b->matmul_backward(b, NULL, Gs->patch, NULL, dh, patches, &m->patch, n * P, K, D));
    return LLAVA_OK;
}

/* room for n images' pass with every activation kept, in the backend; pix and patches in A->mem too */
/* Working memory as one backend allocation cut into pieces, in order: each piece's slot and its length in
   floats. llava__pieces_total sums them; llava__carve points the slots into base. */
typedef struct {
    float **slot;
    size_t n;
} llava__piece;
static size_t llava__pieces_total(const llava__piece *pc, int n) {
    size_t total = 0;
    int i;
    for (i = 0; i < n; i++) total += pc[i].n;
    return total;
}
static void llava__carve(float *base, const llava__piece *pc, int n) {
    int i;
    for (i = 0; i < n; i++) *pc[i].slot = base, base += pc[i].n;
}
/* a fresh allocation for the pieces; *mem the whole, NULL with the error (naming what) when it fails */
static int llava__carve_new(LlavaBackend *b, void **mem, const llava__piece *pc, int n, const char *what) {
    const size_t total = llava__pieces_total(pc, n);
    float *base = (float *)b->alloc(b, total * sizeof(float));
    *mem = base;
    if (!base) return llava__err("out of memory for %s (%zu MB)", what, total * 4 >> 20);
    llava__carve(base, pc, n);
    return LLAVA_OK;
}

static int llava__vcache_alloc(llava__vcache *A, LlavaModel *m, int n, float **pix, float **patches) {
    const LlavaConfig *c = &m->cfg;
    const size_t S = (size_t)c->vision_image_size, G = S / (size_t)c->vision_patch_size, P = G * G, N = P + 1, D = (size_t)c->vision_hidden;
    const size_t L = (size_t)m->vision_run, Iv = (size_t)c->vision_intermediate, H = (size_t)c->vision_heads, K = 3 * (size_t)c->vision_patch_size * c->vision_patch_size;
    const size_t R = (size_t)n * N, LRD = L * R * D, sn = m->b->attention_stash(m->b, (int)N, (int)H);
    const llava__piece pc[] = {{pix, n * 3 * S * S}, {patches, n * P * K}, {&A->x0, R * D}, {&A->pre_mean, R}, {&A->pre_rstd, R},
                               {&A->x, (L + 1) * R * D}, {&A->xm, LRD}, {&A->h1, LRD}, {&A->h2, LRD}, {&A->q, LRD}, {&A->k, LRD},
                               {&A->v, LRD}, {&A->ao, LRD}, {&A->m1, L * R}, {&A->r1, L * R}, {&A->m2, L * R}, {&A->r2, L * R},
                               {&A->stash, L * n * sn}, {&A->f, L * R * Iv}, {&A->fa, L * R * Iv}, {&A->tmp, R * D}, {&A->dx, R * D},
                               {&A->dxm, R * D}, {&A->dh, R * D}, {&A->dao, R * D}, {&A->dq, R * D}, {&A->dk, R * D}, {&A->dv, R * D},
                               {&A->dX, R * D}, {&A->d0, R * D}, {&A->dfa, R * Iv}, {&A->df, R * Iv}};
    void *mem;
    memset(A, 0, sizeof *A);
    if (llava__carve_new(m->b, &mem, pc, (int)(sizeof pc / sizeof pc[0]), "the vision tower's activations") != LLAVA_OK) return LLAVA_ERR;
    A->mem = (float *)mem;
    A->sn = sn;
    A->n = n;
    A->full = c->vision_select_full;
    return LLAVA_OK;
}

/* one image's working memory for inference (llava__vision_forward without activations kept) */
static int llava__vws_new(LlavaModel *m, llava__vws *w) {
    const LlavaConfig *c = &m->cfg;
    const size_t S = (size_t)c->vision_image_size, ps = (size_t)c->vision_patch_size, G = S / ps, P = G * G, N = P + 1;
    const size_t D = (size_t)c->vision_hidden, Iv = (size_t)c->vision_intermediate, C = (size_t)c->text_hidden;
    const llava__piece pc[] = {{&w->pix, 3 * S * S}, {&w->patches, P * 3 * ps * ps}, {&w->x, N * D}, {&w->h, N * D}, {&w->q, N * D},
                               {&w->k, N * D}, {&w->v, N * D}, {&w->att, N * D}, {&w->feat, N * D}, {&w->f, N * Iv},
                               {&w->ptmp, N * C}, {&w->proj, N * C}};
    memset(w, 0, sizeof *w);
    return llava__carve_new(m->b, &w->mem, pc, (int)(sizeof pc / sizeof pc[0]), "an image's activations");
}

/* --- projector.  transformers: LlavaMultiModalProjector (linear_1, act, linear_2) --------------- */
/* feat [n, D] -> out [n, C]; tmp [n, C] between layers. With keep ([proj_layers - 1][2][n][C]: each
   hidden layer's product and its activation) the activations stay for llava__project_backward. */
static int llava__project(LlavaModel *m, const float *feat, int n, float *out, float *tmp, float *keep) {
    const LlavaConfig *c = &m->cfg;
    LlavaBackend *b = m->b;
    const int C = c->text_hidden;
    const size_t nC = (size_t)n * C;
    const float *in = feat;
    int i;
    for (i = 0; i < c->proj_layers; i++) {
        const int last = i == c->proj_layers - 1;
        float *dst = last ? out : keep ? keep + (size_t)i * 2 * nC : ((c->proj_layers - 1 - i) % 2 == 0) ? out : tmp;
        float *act = keep ? dst + nC : dst;
        LLAVA__TRY(b->matmul(b, dst, in, &m->proj[i], m->proj_b[i], n, i == 0 ? c->vision_hidden : C, C));
        if (!last) LLAVA__TRY(b->act(b, act, dst, nC, c->proj_act));
        in = act;
    }
    return LLAVA_OK;
}
/* dout [n, C] (overwritten) -> the projector's gradients (where Gs has them, added) and dfeat [n, D] (NULL:
   not wanted); feat and keep as llava__project had them; dtmp [n, C] */
static int llava__project_backward(LlavaModel *m, const llava__gradset *Gs, const float *feat, const float *keep, int n, float *dout,
                                   float *dtmp, float *dfeat) {
    const LlavaConfig *c = &m->cfg;
    LlavaBackend *b = m->b;
    const int C = c->text_hidden, D = c->vision_hidden;
    const size_t nC = (size_t)n * C;
    int j;
    for (j = c->proj_layers - 1; j >= 0; j--) {
        const float *in = j == 0 ? feat : keep + (size_t)(j - 1) * 2 * nC + nC;
        float *din = j == 0 ? dfeat : dtmp;
        if (din) LLAVA__TRY(b->fill(b, din, 0.0f, (size_t)n * (j == 0 ? D : C)));
        LLAVA__TRY(b->matmul_backward(b, din, Gs->proj[j], Gs->proj_b[j], dout, in, &m->proj[j], n, j == 0 ? D : C, C));
        if (j > 0) LLAVA__TRY(b->act_backward(b, dout, dtmp, keep + (size_t)(j - 1) * 2 * nC, nC, c->proj_act));
    }
    return LLAVA_OK;
}

/* host pixels [3,S,S] -> the tower's rows (full: [N, D], else [Psel, D]) or, projected, features [Psel, C], on the host */
static int llava__encode_host(LlavaModel *m, const float *pixels, float *out, int full, int project) {
    const LlavaConfig *c = &m->cfg;
    llava__vws w;
    const int S = c->vision_image_size, rows = full ? llava_tower_rows(m) : llava_image_tokens(m);
    if (c->text_only) return llava__err("this model is a language model alone (no vision tower): it cannot encode images");
    if (llava__vws_new(m, &w) != LLAVA_OK) return LLAVA_ERR;
    int rc = m->b->upload(m->b, w.pix, pixels, (size_t)3 * S * S * sizeof(float));
    if (rc == LLAVA_OK) rc = llava__vision_forward(m, 1, w.pix, w.patches, NULL, &w, w.feat, full);
    if (rc == LLAVA_OK && project) rc = llava__project(m, w.feat, rows, w.proj, w.ptmp, NULL);
    if (rc == LLAVA_OK)
        rc = m->b->download(m->b, out, project ? w.proj : w.feat, (size_t)rows * (project ? c->text_hidden : c->vision_hidden) * sizeof(float));
    m->b->free(m->b, w.mem);
    return rc;
}

LLAVADEF int llava_encode_image(LlavaModel *m, const float *pixels, float *features) {
    return llava__encode_host(m, pixels, features, m->cfg.vision_select_full, 1);
}

/* --- decoder with activations kept ------------------------------------------------------------------ */
typedef struct {
    float *x;        /* [L+1][T][C] residual stream entering each layer; x[L] after the last */
    float *xm;       /* [L][T][C] after the attention residual */
    float *h1, *h2;  /* [L][T][C] input_layernorm / post_attention_layernorm outputs */
    float *r1, *r2;  /* [L][T] their rstd */
    float *q;        /* [L][T][H*Dh] after RoPE */
    float *k, *v;    /* [L][T][KVH*Dh] (k after RoPE) */
    float *stash;    /* [L][per sequence: attention_stash(Ti, H)] what attention keeps for its backward */
    size_t sl;       /* floats of stash per layer */
    float *ao;       /* [L][T][H*Dh] attention output */
    float *g, *u, *a; /* [L][T][I] gate, up, act(gate) * up */
    float *hf, *rf;  /* [T][C] final norm output, [T] its rstd */
    float *tmp;      /* [T][C] a product on its way to a residual */
    /* the backward pass's working rows */
    float *dx, *dxm, *dh, *dX; /* [T][C] */
    float *dao, *dq;           /* [T][H*Dh] */
    float *dk, *dv;            /* [T][KVH*Dh] */
    float *da, *dg, *du;       /* [T][I] */
} llava__tcache;

/* T rows in all, made of sequences (samples) back to back. A's arrays in *keep, a buffer of *keep_n
   floats in the backend, reused when it is large enough and replaced when it is not; it stays the caller's */
static int llava__tcache_alloc(llava__tcache *A, LlavaModel *m, int T, const int *seg_len, int nseg, float **keep, size_t *keep_n) {
    const LlavaConfig *c = &m->cfg;
    LlavaBackend *be = m->b;
    const size_t L = (size_t)c->text_layers, C = (size_t)c->text_hidden, QD = (size_t)c->text_heads * c->text_head_dim;
    const size_t KD = (size_t)c->text_kv_heads * c->text_head_dim, I = (size_t)c->text_intermediate, t = (size_t)T;
    int i;
    A->sl = 0;
    for (i = 0; i < nseg; i++) A->sl += be->attention_stash(be, seg_len[i], c->text_heads);
    const llava__piece pc[] = {{&A->x, (L + 1) * t * C}, {&A->xm, L * t * C}, {&A->h1, L * t * C}, {&A->h2, L * t * C}, {&A->r1, L * t},
                               {&A->r2, L * t}, {&A->q, L * t * QD}, {&A->ao, L * t * QD}, {&A->k, L * t * KD}, {&A->v, L * t * KD},
                               {&A->stash, L * A->sl}, {&A->g, L * t * I}, {&A->u, L * t * I}, {&A->a, L * t * I}, {&A->hf, t * C},
                               {&A->rf, t}, {&A->tmp, t * C}, {&A->dx, t * C}, {&A->dxm, t * C}, {&A->dh, t * C}, {&A->dX, t * C},
                               {&A->dao, t * QD}, {&A->dq, t * QD}, {&A->dk, t * KD}, {&A->dv, t * KD}, {&A->da, t * I},
                               {&A->dg, t * I}, {&A->du, t * I}};
    const int np = (int)(sizeof pc / sizeof pc[0]);
    const size_t sz = llava__pieces_total(pc, np);
    if (*keep_n < sz) {
        be->free(be, *keep);
        *keep_n = 0;
        if (!(*keep = (float *)be->alloc(be, sz * sizeof(float))))
            return llava__err("out of memory for the activations of %d positions (%zu MB)", T, sz * 4 >> 20);
        *keep_n = sz;
    }
    llava__carve(*keep, pc, np);
    return LLAVA_OK;
}

/* One pass of the decoder's layers (LlamaModel.layers) over T rows, for a conversation or for training:
   - a conversation's next positions: one sequence from position pos0, keys and values appended to the
     KV cache kc, vc [layers][n_ctx][KVH*Dh]; x [T, C] updated in place, h, q, att [T, *], g, u [T, I]
     its working rows;
   - training: nseg sequences of seg_len[i] rows back to back, each from position 0 and attending only
     within itself, every activation kept in A (the input embeddings in A->x[0]). */
typedef struct {
    int T;
    int pos0, n_ctx;                /* a conversation: positions before, and the cache's size */
    float *kc, *vc;
    float *x, *h, *q, *att, *g, *u;
    const int *seg_len;             /* training */
    int nseg;
    llava__tcache *A;
} llava__dpass;

static int llava__decoder_forward(LlavaModel *m, const llava__dpass *p) {
    const LlavaConfig *c = &m->cfg;
    LlavaBackend *b = m->b;
    llava__tcache *A = p->A;
    const int T = p->T, C = c->text_hidden, H = c->text_heads, KVH = c->text_kv_heads, Dh = c->text_head_dim, I = c->text_intermediate;
    const int KD = KVH * Dh;
    const size_t TC = (size_t)T * C, TQ = (size_t)T * H * Dh, TK = (size_t)T * KD, TI = (size_t)T * I;
    const float eps = c->text_rms_eps;
    int l;
    for (l = 0; l < c->text_layers; l++) {
        const llava__tlayer *L = &m->tl[l];
        /* where this layer reads and writes: kept per layer when training, in place otherwise */
        float *x = A ? A->x + l * TC : p->x, *xm = A ? A->xm + l * TC : p->x, *xn = A ? A->x + (l + 1) * TC : p->x;
        float *h1 = A ? A->h1 + l * TC : p->h, *h2 = A ? A->h2 + l * TC : p->h, *tmp = A ? A->tmp : p->h;
        float *r1 = A ? A->r1 + (size_t)l * T : NULL, *r2 = A ? A->r2 + (size_t)l * T : NULL;
        float *q = A ? A->q + l * TQ : p->q, *ao = A ? A->ao + l * TQ : p->att;
        float *k = A ? A->k + l * TK : p->kc + ((size_t)l * p->n_ctx + p->pos0) * KD;
        float *v = A ? A->v + l * TK : p->vc + ((size_t)l * p->n_ctx + p->pos0) * KD;
        float *g = A ? A->g + l * TI : p->g, *u = A ? A->u + l * TI : p->u, *a = A ? A->a + l * TI : p->g;
        /* xm = x + o_proj(attn(rope(q), rope(k), v)), q/k/v from h1 = input_layernorm(x) */
        LLAVA__TRY(b->rmsnorm(b, h1, r1, x, L->in_norm, T, C, eps));
        LLAVA__TRY(b->matmul(b, q, h1, &L->q, L->qb, T, C, H * Dh));
        LLAVA__TRY(b->matmul(b, k, h1, &L->k, L->kb, T, C, KD));
        LLAVA__TRY(b->matmul(b, v, h1, &L->v, L->vb, T, C, KD));
        if (A) {
            size_t off = 0, so = (size_t)l * A->sl;
            int sq;
            for (sq = 0; sq < p->nseg; sq++) {
                const int n = p->seg_len[sq];
                const size_t oq = off * H * Dh, ok = off * KD;
                LLAVA__TRY(b->rope(b, q + oq, m->inv_freq, 0, n, H, Dh));
                LLAVA__TRY(b->rope(b, k + ok, m->inv_freq, 0, n, KVH, Dh));
                LLAVA__TRY(b->attention(b, ao + oq, A->stash + so, q + oq, k + ok, v + ok, n, n, 0, H, KVH, Dh, 1));
                off += (size_t)n;
                so += b->attention_stash(b, n, H);
            }
        } else {
            const size_t layer = (size_t)l * p->n_ctx * KD;
            LLAVA__TRY(b->rope(b, q, m->inv_freq, p->pos0, T, H, Dh));
            LLAVA__TRY(b->rope(b, k, m->inv_freq, p->pos0, T, KVH, Dh));
            LLAVA__TRY(b->attention(b, ao, NULL, q, p->kc + layer, p->vc + layer, T, p->pos0 + T, p->pos0, H, KVH, Dh, 1));
        }
        LLAVA__TRY(b->matmul(b, tmp, ao, &L->o, L->ob, T, H * Dh, C));
        LLAVA__TRY(b->add(b, xm, x, tmp, TC));
        /* x_next = xm + down_proj(act(gate_proj(h2)) * up_proj(h2)), h2 = post_attention_layernorm(xm) */
        LLAVA__TRY(b->rmsnorm(b, h2, r2, xm, L->post_norm, T, C, eps));
        LLAVA__TRY(b->matmul(b, g, h2, &L->gate, L->gate_b, T, C, I));
        LLAVA__TRY(b->matmul(b, u, h2, &L->up, L->up_b, T, C, I));
        LLAVA__TRY(b->glu(b, a, g, u, TI, c->text_act));
        LLAVA__TRY(b->matmul(b, tmp, a, &L->down, L->down_b, T, I, C));
        LLAVA__TRY(b->add(b, xn, xm, tmp, TC));
    }
    return LLAVA_OK;
}

/* dlogits [ns, V] of the supervised rows -> weight gradients (where G has them) and A->dx [T, C], the
   gradient of the input embeddings. The backward of llava__decoder_forward with activations A, layer by
   layer in reverse. The head ran on the supervised rows only: hs [ns, C] = hf's rows -1 - gat[i] (gat
   as embed's feature rows); dhs [ns, C] is scratch. */
static int llava__decoder_backward(LlavaModel *m, const llava__gradset *Gs, const llava__tcache *A, const float *dlogits, const float *hs,
                                   float *dhs, const int *gat, int ns, int T, const int *seg_len, int nseg) {
    const LlavaConfig *c = &m->cfg;
    LlavaBackend *b = m->b;
    const int C = c->text_hidden, H = c->text_heads, KVH = c->text_kv_heads, Dh = c->text_head_dim, I = c->text_intermediate, V = c->text_vocab;
    const size_t TC = (size_t)T * C, TQ = (size_t)T * H * Dh, TK = (size_t)T * KVH * Dh, TI = (size_t)T * I;
    float *dx = A->dx, *dxm = A->dxm, *dh = A->dh, *dX = A->dX, *dao = A->dao, *dq = A->dq, *dk = A->dk, *dv = A->dv;
    float *da = A->da, *dg = A->dg, *du = A->du;
    int l;
    /* logits = hs @ head^T, hs = the supervised rows of hf = norm(x[L]): their gradients, then hf's (0
       where nothing is supervised) */
    LLAVA__TRY(b->fill(b, dhs, 0.0f, (size_t)ns * C));
    LLAVA__TRY(b->matmul_backward(b, dhs, Gs->head, NULL, dlogits, hs, &m->head, ns, C, V));
    LLAVA__TRY(b->fill(b, dh, 0.0f, TC));
    LLAVA__TRY(b->embed_backward(b, NULL, dh, dhs, gat, ns, C));
    LLAVA__TRY(b->fill(b, dx, 0.0f, TC));
    LLAVA__TRY(b->rmsnorm_backward(b, dx, Gs->norm, dh, A->x + (size_t)c->text_layers * TC, m->norm, A->rf, T, C));
    for (l = c->text_layers - 1; l >= 0; l--) {
        const llava__tlayer *L = &m->tl[l];
        const llava__tgrad *GL = &Gs->tl[l];
        const float *x = A->x + l * TC, *xm = A->xm + l * TC, *h1 = A->h1 + l * TC, *h2 = A->h2 + l * TC;
        const float *q = A->q + l * TQ, *k = A->k + l * TK, *v = A->v + l * TK, *ao = A->ao + l * TQ;
        const float *g = A->g + l * TI, *u = A->u + l * TI, *a = A->a + l * TI;
        /* x_next = xm + down(act(gate(h2)) * up(h2)), h2 = post_attention_layernorm(xm) */
        LLAVA__TRY(b->copy(b, dxm, dx, TC * sizeof(float)));
        LLAVA__TRY(b->fill(b, da, 0.0f, TI));
        LLAVA__TRY(b->matmul_backward(b, da, GL->down, GL->down_b, dx, a, &L->down, T, I, C));
        LLAVA__TRY(b->glu_backward(b, dg, du, da, g, u, TI, c->text_act));
        LLAVA__TRY(b->fill(b, dh, 0.0f, TC));
        LLAVA__TRY(b->matmul_backward(b, dh, GL->gate, GL->gate_b, dg, h2, &L->gate, T, C, I));
        LLAVA__TRY(b->matmul_backward(b, dh, GL->up, GL->up_b, du, h2, &L->up, T, C, I));
        LLAVA__TRY(b->rmsnorm_backward(b, dxm, GL->post_norm, dh, xm, L->post_norm, A->r2 + (size_t)l * T, T, C));
        /* xm = x + o_proj(attention(rope(q), rope(k), v)), from h1 = input_layernorm(x) */
        LLAVA__TRY(b->copy(b, dX, dxm, TC * sizeof(float)));
        LLAVA__TRY(b->fill(b, dao, 0.0f, TQ));
        LLAVA__TRY(b->matmul_backward(b, dao, GL->o, GL->ob, dxm, ao, &L->o, T, H * Dh, C));
        {
            size_t off = 0, so = (size_t)l * A->sl;
            int sq;
            for (sq = 0; sq < nseg; sq++) {
                const int n = seg_len[sq];
                const size_t oq = off * H * Dh, ok = off * KVH * Dh;
                LLAVA__TRY(b->attention_backward(b, dq + oq, dk + ok, dv + ok, dao + oq, ao + oq, A->stash + so, q + oq, k + ok, v + ok, n, H,
                                                 KVH, Dh, 1));
                so += b->attention_stash(b, n, H);
                LLAVA__TRY(b->rope_backward(b, dq + oq, m->inv_freq, 0, n, H, Dh));
                LLAVA__TRY(b->rope_backward(b, dk + ok, m->inv_freq, 0, n, KVH, Dh));
                off += (size_t)n;
            }
        }
        LLAVA__TRY(b->fill(b, dh, 0.0f, TC));
        LLAVA__TRY(b->matmul_backward(b, dh, GL->q, GL->qb, dq, h1, &L->q, T, C, H * Dh));
        LLAVA__TRY(b->matmul_backward(b, dh, GL->k, GL->kb, dk, h1, &L->k, T, C, KVH * Dh));
        LLAVA__TRY(b->matmul_backward(b, dh, GL->v, GL->vb, dv, h1, &L->v, T, C, KVH * Dh));
        LLAVA__TRY(b->rmsnorm_backward(b, dX, GL->in_norm, dh, x, L->in_norm, A->r1 + (size_t)l * T, T, C));
        LLAVA__TRY(b->copy(b, dx, dX, TC * sizeof(float)));
    }
    return LLAVA_OK;
}

/* a conversation: the KV cache and the working memory of a batch of positions, all in the backend */
struct LlavaContext {
    LlavaModel *m;
    int n_ctx, n_past;
    int n_batch, n_lrows;   /* positions per forward pass; logits rows per product */
    float *kcache, *vcache; /* [layers][n_ctx][KVH*Dh] */
    float *work;            /* the pieces below */
    float *x, *h;           /* [n_batch, C] */
    float *q, *att;         /* [n_batch, H*Dh] */
    float *g, *u;           /* [n_batch, I] */
    float *dlogits;         /* [n_lrows, V] */
    int *rows;              /* [n_batch] embedding rows: token ids, or -1 - feature row */
    float *feat;            /* [feat_cap][P][C] the prompt's projected image features */
    int feat_cap;
    llava__vws vws;         /* one image's activations, made at the first image */
    float *logits;          /* host [V]: the last position's */
    int *hrows;             /* host [n_batch] */
};

/* --- decoder.  transformers: LlamaModel.forward + lm_head ---------------------------------------- */
/* ctx->x [T, C]: embeddings of the next T positions (T <= n_batch; overwritten). Appends their keys and
   values to the cache; with all_logits, the logits of every position go there (host [T, V]), else those
   of the last position to ctx->logits (host [V]). */
static int llava__text_forward(LlavaContext *ctx, int T, float *all_logits) {
    LlavaModel *m = ctx->m;
    const LlavaConfig *c = &m->cfg;
    LlavaBackend *b = m->b;
    const int C = c->text_hidden, V = c->text_vocab;
    const float eps = c->text_rms_eps;
    float *x = ctx->x;
    int r;
    llava__dpass p;
    memset(&p, 0, sizeof p);
    p.T = T, p.pos0 = ctx->n_past, p.n_ctx = ctx->n_ctx, p.kc = ctx->kcache, p.vc = ctx->vcache;
    p.x = x, p.h = ctx->h, p.q = ctx->q, p.att = ctx->att, p.g = ctx->g, p.u = ctx->u;
    LLAVA__TRY(llava__decoder_forward(m, &p));
    ctx->n_past += T;
    if (!all_logits) { /* the norm is per row: only the last one is needed */
        LLAVA__TRY(b->rmsnorm(b, x, NULL, x + (size_t)(T - 1) * C, m->norm, 1, C, eps));
        LLAVA__TRY(b->matmul(b, ctx->dlogits, x, &m->head, NULL, 1, C, V));
        return b->download(b, ctx->logits, ctx->dlogits, (size_t)V * sizeof(float));
    }
    LLAVA__TRY(b->rmsnorm(b, x, NULL, x, m->norm, T, C, eps));
    for (r = 0; r < T; r += ctx->n_lrows) { /* the logits a few rows at a time */
        const int n = LLAVA__MIN(ctx->n_lrows, T - r);
        LLAVA__TRY(b->matmul(b, ctx->dlogits, x + (size_t)r * C, &m->head, NULL, n, C, V));
        LLAVA__TRY(b->download(b, all_logits + (size_t)r * V, ctx->dlogits, (size_t)n * V * sizeof(float)));
    }
    memcpy(ctx->logits, all_logits + (size_t)(T - 1) * V, (size_t)V * sizeof(float));
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
        if (ids[i] == c->image_token_id && !c->text_only) ph++;
        else if (ids[i] < 0 || ids[i] >= c->text_vocab)
            return llava__err("token id %d at position %d is outside the vocabulary (0..%d)", ids[i], i, c->text_vocab - 1);
    }
    n = c->image_token_expands ? n_ids - ph + ph * llava_image_tokens(m) : n_ids;
    return n;
}

/* prompts run n_batch positions at a time; the logits of all positions n_lrows at a time */
#define LLAVA__N_BATCH 512
#define LLAVA__N_LROWS 64

LLAVADEF LlavaContext *llava_context_new(LlavaModel *m, int n_ctx) {
    const LlavaConfig *c = &m->cfg;
    LlavaBackend *b = m->b;
    if (n_ctx <= 0) n_ctx = c->text_max_pos;
    if (n_ctx > LLAVA__LIMIT_DIM) {
        llava__err("context of %d positions is too large", n_ctx);
        return NULL;
    }
    LlavaContext *ctx = (LlavaContext *)llava__calloc(1, sizeof *ctx);
    if (!ctx) {
        llava__err("out of memory for a context");
        return NULL;
    }
    const size_t kv = (size_t)c->text_layers * (size_t)n_ctx * (size_t)c->text_kv_heads * (size_t)c->text_head_dim;
    const int B = LLAVA__MIN(n_ctx, LLAVA__N_BATCH), LR = LLAVA__MIN(B, LLAVA__N_LROWS);
    const size_t C = (size_t)c->text_hidden, HD = (size_t)c->text_heads * c->text_head_dim, I = (size_t)c->text_intermediate;
    ctx->m = m;
    ctx->n_ctx = n_ctx;
    ctx->n_batch = B;
    ctx->n_lrows = LR;
    ctx->kcache = (float *)b->alloc(b, kv * sizeof(float));
    ctx->vcache = ctx->kcache ? (float *)b->alloc(b, kv * sizeof(float)) : NULL;
    if (!ctx->vcache) {
        llava__err("out of memory for a context of %d positions (%zu MB of KV cache)", n_ctx, kv * 8 >> 20);
        llava_context_free(ctx);
        return NULL;
    }
    const llava__piece pc[] = {{&ctx->x, (size_t)B * C}, {&ctx->h, (size_t)B * C}, {&ctx->q, (size_t)B * HD}, {&ctx->att, (size_t)B * HD},
                               {&ctx->g, (size_t)B * I}, {&ctx->u, (size_t)B * I}, {&ctx->dlogits, (size_t)LR * c->text_vocab}};
    void *work = NULL;
    int rc = llava__carve_new(b, &work, pc, (int)(sizeof pc / sizeof pc[0]), "a context's working memory");
    ctx->work = (float *)work;
    ctx->rows = rc == LLAVA_OK ? (int *)b->alloc(b, (size_t)B * sizeof(int)) : NULL;
    ctx->logits = (float *)llava__alloc_aligned((size_t)c->text_vocab * sizeof(float));
    ctx->hrows = (int *)LLAVA_MALLOC((size_t)B * sizeof(int));
    if (!ctx->rows || !ctx->logits || !ctx->hrows) {
        if (ctx->rows) llava__err("out of memory for a context");
        llava_context_free(ctx);
        return NULL;
    }
    memset(ctx->logits, 0, (size_t)c->text_vocab * sizeof(float));
    return ctx;
}

LLAVADEF void llava_context_free(LlavaContext *c) {
    if (!c) return;
    LlavaBackend *b = c->m->b;
    b->free(b, c->kcache);
    b->free(b, c->vcache);
    b->free(b, c->work);
    b->free(b, c->rows);
    b->free(b, c->feat);
    b->free(b, c->vws.mem);
    llava__free_aligned(c->logits);
    LLAVA_FREE(c->hrows);
    LLAVA_FREE(c);
}
LLAVADEF void llava_context_reset(LlavaContext *c) { c->n_past = 0; }
LLAVADEF int llava_context_used(const LlavaContext *c) { return c->n_past; }
LLAVADEF int llava_context_size(const LlavaContext *c) { return c->n_ctx; }
LLAVADEF const float *llava_logits(const LlavaContext *c) { return c->logits; }

/* room for the projected features of n images in the context, kept for later prompts */
static int llava__ctx_features(LlavaContext *ctx, int n) {
    LlavaBackend *b = ctx->m->b;
    if (n <= ctx->feat_cap) return LLAVA_OK;
    const size_t sz = (size_t)n * llava_image_tokens(ctx->m) * ctx->m->cfg.text_hidden;
    b->free(b, ctx->feat);
    ctx->feat_cap = 0;
    ctx->feat = (float *)b->alloc(b, sz * sizeof(float));
    if (!ctx->feat) return llava__err("out of memory for the features of %d images (%zu MB)", n, sz * 4 >> 20);
    ctx->feat_cap = n;
    return LLAVA_OK;
}

static int llava__eval(LlavaContext *ctx, const int *ids, int n_ids, const float *pixels, const float *features, int n_images,
                       float *all_logits) {
    LlavaModel *m = ctx->m;
    LlavaBackend *b = m->b;
    const LlavaConfig *c = &m->cfg;
    const int C = c->text_hidden, P = llava_image_tokens(m), V = c->text_vocab;
    int i, ph = 0;
    if (n_ids <= 0 || !ids) return llava__err("empty prompt: no token ids given");
    if (n_images < 0 || (n_images > 0 && !pixels && !features)) return llava__err("%d images announced but no pixels given", n_images);
    if (c->text_only && n_images > 0)
        return llava__err("%d image(s) given to a language model alone (no vision tower: load an mmproj file for images)", n_images);
    int T = llava_expanded_length(m, ids, n_ids);
    if (T < 0) return LLAVA_ERR;
    for (i = 0; i < n_ids; i++) ph += ids[i] == c->image_token_id && !c->text_only;
    if (c->image_token_expands ? ph != n_images : ph != n_images * P) {
        if (c->image_token_expands)
            return llava__err("prompt has %d image placeholders (id %d) but %d image(s) were given", ph, c->image_token_id, n_images);
        return llava__err("prompt has %d image placeholder tokens (id %d) but %d image(s) give %d feature rows", ph,
                          c->image_token_id, n_images, n_images * P);
    }
    if (T > ctx->n_ctx - ctx->n_past)
        return llava__err("prompt of %d positions does not fit: the context holds %d and %d are used", T, ctx->n_ctx, ctx->n_past);
    /* the images' projected features, in order, in the context's backend memory */
    if (n_images > 0) {
        LLAVA__TRY(llava__ctx_features(ctx, n_images));
        if (features) {
            LLAVA__TRY(b->upload(b, ctx->feat, features, (size_t)n_images * P * C * sizeof(float)));
        } else {
            const size_t npix = (size_t)3 * c->vision_image_size * c->vision_image_size;
            if (!ctx->vws.mem) LLAVA__TRY(llava__vws_new(m, &ctx->vws));
            for (i = 0; i < n_images; i++) {
                LLAVA__TRY(b->upload(b, ctx->vws.pix, pixels + (size_t)i * npix, npix * sizeof(float)));
                LLAVA__TRY(llava__vision_forward(m, 1, ctx->vws.pix, ctx->vws.patches, NULL, &ctx->vws, ctx->vws.feat, c->vision_select_full));
                LLAVA__TRY(llava__project(m, ctx->vws.feat, P, ctx->feat + (size_t)i * P * C, ctx->vws.ptmp, NULL));
            }
        }
    }
    /* n_batch positions at a time: each row is a token's embedding (embed_tokens) or, where the
       placeholders are, the next feature row */
    int t = 0, k = 0, j = 0, f = 0; /* position, id, row within an expanded placeholder, feature row */
    while (t < T) {
        const int n = LLAVA__MIN(ctx->n_batch, T - t);
        int r;
        for (r = 0; r < n; r++) {
            if (ids[k] == c->image_token_id && !c->text_only) {
                ctx->hrows[r] = -1 - f++;
                if (!c->image_token_expands || ++j == P) j = 0, k++;
            } else {
                ctx->hrows[r] = ids[k++];
            }
        }
        LLAVA__TRY(b->upload(b, ctx->rows, ctx->hrows, (size_t)n * sizeof(int)));
        LLAVA__TRY(b->embed(b, ctx->x, ctx->rows, ctx->feat, &m->embed, n, C));
        LLAVA__TRY(llava__text_forward(ctx, n, all_logits ? all_logits + (size_t)t * V : NULL));
        t += n;
    }
    return T;
}

LLAVADEF int llava_eval(LlavaContext *ctx, const int *ids, int n_ids, const float *pixels, int n_images, float *all_logits) {
    return llava__eval(ctx, ids, n_ids, pixels, NULL, n_images, all_logits);
}

LLAVADEF int llava_eval_features(LlavaContext *ctx, const int *ids, int n_ids, const float *features, int n_images, float *all_logits) {
    return llava__eval(ctx, ids, n_ids, NULL, features, n_images, all_logits);
}

LLAVADEF const float *llava_prompt(LlavaContext *c, const int *ids, int n_ids, const float *pixels, int n_images) {
    llava_context_reset(c);
    return llava_eval(c, ids, n_ids, pixels, n_images, NULL) < 0 ? NULL : c->logits;
}

LLAVADEF const float *llava_step(LlavaContext *c, int token) {
    if (token == c->m->cfg.image_token_id && !c->m->cfg.text_only) {
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


/* one parameter as the walk over the model sees it */
typedef struct {
    char name[128];
    int ndim;
    int64_t shape[4];
    size_t n;
    LlavaWeight *w;  /* the model's matrix slot, or NULL ... */
    float **vec;     /* ... its vector slot */
    float **grad;    /* the gradient's slot (NULL without a gradset) */
    int kind;        /* 0 vision, 1 projector, 2 language model */
} llava__pinfo;

typedef void (*llava__pfn)(void *ctx, llava__pinfo *p);

static void llava__p_w(llava__pfn fn, void *ctx, int kind, LlavaWeight *w, float **gw, int ndim, const int64_t *shape, const char *fmt, ...) {
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
    p.grad = gw;
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
    p.grad = gv;
    p.kind = kind;
    fn(ctx, &p);
}

/* one layer's parameters by its table: L the model's layer, GL the gradient layer (or NULL); an optional
   vector (a bias) only where the model has it */
static void llava__p_layer(llava__pfn fn, void *ctx, int kind, const LlavaConfig *c, const llava__lparam *e, int n, char *L, char *GL,
                           const char *fmt, const char *pfx, int l) {
    int i;
    for (i = 0; i < n; i++, e++) {
        float **gs = GL ? (float **)(GL + e->g) : NULL;
        const int64_t sh[2] = {llava__pdim(c, e->rows), llava__pdim(c, e->cols)};
        if (e->mat) llava__p_w(fn, ctx, kind, (LlavaWeight *)(L + e->w), gs, 2, sh, fmt, pfx, l, e->leaf);
        else if (!e->opt || *(float **)(L + e->w)) llava__p_v(fn, ctx, kind, (float **)(L + e->w), gs, sh[0], 0, fmt, pfx, l, e->leaf);
    }
}

/* calls fn for every parameter the model uses, in a fixed order, named by its transformers 4.x
   safetensors key (the head is skipped when tied to the embeddings) */
static void llava__walk(LlavaModel *m, llava__gradset *g, llava__pfn fn, void *ctx) {
    const LlavaConfig *c = &m->cfg;
    const int64_t D = c->vision_hidden, ps = c->vision_patch_size, G = c->text_only ? 0 : c->vision_image_size / ps;
    const int64_t C = c->text_hidden, V = c->text_vocab;
    const char *vp = LLAVA__P_VISION, *tp = LLAVA__P_TEXT;
    int l, i;
#define LLAVA__G(field) (g ? &g->field : NULL)
    if (!c->text_only) { /* (a language model alone has no tower: its sizes are 0) */
        int64_t sh[4] = {D, 3, ps, ps};
        llava__p_w(fn, ctx, 0, &m->patch, LLAVA__G(patch), 4, sh, LLAVA__N_PATCH, vp);
        llava__p_v(fn, ctx, 0, &m->class_emb, LLAVA__G(class_emb), D, 0, LLAVA__N_CLASS, vp);
        llava__p_v(fn, ctx, 0, &m->pos_emb, LLAVA__G(pos_emb), G * G + 1, D, LLAVA__N_POS, vp);
        llava__p_v(fn, ctx, 0, &m->pre_ln_w, LLAVA__G(pre_ln_w), D, 0, LLAVA__N_PRE_LN, vp, "weight");
        llava__p_v(fn, ctx, 0, &m->pre_ln_b, LLAVA__G(pre_ln_b), D, 0, LLAVA__N_PRE_LN, vp, "bias");
    }
    for (l = 0; l < m->vision_run; l++)
        llava__p_layer(fn, ctx, 0, c, llava__vparams, LLAVA__N_VPARAMS, (char *)&m->vl[l], g ? (char *)&g->vl[l] : NULL, LLAVA__N_VLAYER, vp, l);
    for (i = 0; i < c->proj_layers; i++) {
        const int64_t sh[2] = {C, i == 0 ? D : C};
        llava__p_w(fn, ctx, 1, &m->proj[i], LLAVA__G(proj[i]), 2, sh, LLAVA__N_PROJ, LLAVA__P_PROJ, i + 1, "weight");
        if (c->proj_bias) llava__p_v(fn, ctx, 1, &m->proj_b[i], LLAVA__G(proj_b[i]), C, 0, LLAVA__N_PROJ, LLAVA__P_PROJ, i + 1, "bias");
    }
    {
        const int64_t sh[2] = {V, C};
        llava__p_w(fn, ctx, 2, &m->embed, LLAVA__G(embed), 2, sh, LLAVA__N_EMBED, tp);
    }
    for (l = 0; l < c->text_layers; l++)
        llava__p_layer(fn, ctx, 2, c, llava__tparams, LLAVA__N_TPARAMS, (char *)&m->tl[l], g ? (char *)&g->tl[l] : NULL, LLAVA__N_TLAYER, tp, l);
    llava__p_v(fn, ctx, 2, &m->norm, LLAVA__G(norm), C, 0, LLAVA__N_NORM, tp);
    if (!c->text_tied) {
        const int64_t sh[2] = {V, C};
        llava__p_w(fn, ctx, 2, &m->head, LLAVA__G(head), 2, sh, LLAVA__N_HEAD, LLAVA__P_HEAD);
    }
#undef LLAVA__G
}

/* --- loading onto a backend: weights mapped (the CPU: in place) or uploaded once ------------------- */
static void llava__map_fn(void *ctx, llava__pinfo *p) {
    llava__mapper *r = (llava__mapper *)ctx;
    if (p->w) llava__map_one(r, &p->w->data, p->n * llava__dtype_size(p->w->dtype));
    else llava__map_one(r, (const void **)p->vec, p->n * sizeof(float));
}

LLAVADEF void llava_load_params_default(LlavaLoadParams *p) { memset(p, 0, sizeof *p); }

LLAVADEF LlavaModel *llava_model_load_params(const char *path, const LlavaLoadParams *p) {
    LlavaModel *m = llava_model_load(path);
    if (!m || !p) return m;
    if (p->backend) {
        llava__mapper r = {m, LLAVA_OK};
        llava__backend_drop(m->b, m->b_refs);
        m->b = p->backend;
        m->b_refs = NULL;
        if (!p->backend->host_memory) { /* the copies go to the backend; the CPU backend uses the files in place */
            llava__walk(m, NULL, llava__map_fn, &r);
            llava__map_one(&r, (const void **)&m->inv_freq, (size_t)(m->cfg.text_head_dim / 2) * sizeof(float));
            if (m->cfg.text_tied) m->head = m->embed;
        }
        if (r.rc != LLAVA_OK) {
            llava_model_free(m);
            return NULL;
        }
    }
    llava_use_bf16(m, p->precision == LLAVA_PREC_BF16);
    return m;
}
LLAVADEF LlavaBackend *llava_model_backend(const LlavaModel *m) { return m->b; }

/* backend memory that tensors of the model point into, freed with the model (on failure: freed now) */
static int llava__own_b(LlavaModel *m, void *p) {
    void **grown = (void **)LLAVA_REALLOC(m->bufs, (size_t)(m->n_bufs + 1) * sizeof *grown);
    if (!grown) {
        m->b->free(m->b, p);
        return llava__err("out of memory (%zu bytes)", (size_t)(m->n_bufs + 1) * sizeof *grown);
    }
    m->bufs = grown;
    m->bufs[m->n_bufs++] = p;
    return LLAVA_OK;
}

/* n values of type dt at backend address src -> f32 at dst (backend): directly where the backend's memory
   is the host's, else through host memory (stage: room for LLAVA__STAGE f32 values and as many raw ones) */
#define LLAVA__STAGE 65536
static int llava__b_to_f32(LlavaBackend *b, float *dst, const void *src, LlavaDType dt, size_t n, float *stage) {
    const size_t es = llava__dtype_size(dt);
    size_t i;
    if (dt == LLAVA_F32) return b->copy(b, dst, src, n * sizeof(float));
    if (b->host_memory) {
        llava__to_f32(dst, src, dt, n);
        return LLAVA_OK;
    }
    for (i = 0; i < n; i += LLAVA__STAGE) {
        const size_t k = LLAVA__MIN(n - i, (size_t)LLAVA__STAGE);
        LLAVA__TRY(b->download(b, stage + LLAVA__STAGE, (const char *)src + i * es, k * es));
        llava__to_f32(stage, stage + LLAVA__STAGE, dt, k);
        LLAVA__TRY(b->upload(b, dst + i, stage, k * sizeof(float)));
    }
    return LLAVA_OK;
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

/* a trainer's working memory for a chunk of samples besides the decoder's activations */
typedef struct {
    int *h;                     /* host: each sample's rows, each row's target, label and embedding row */
    size_t h_n;
    float *f;                   /* backend: vision output, projector rows and activations, logits, gradients */
    size_t f_n;                 /* (bytes) */
    int *i;                     /* backend: embedding rows, targets */
    size_t i_n;
    llava__vcache VA;           /* the tower's pass when it learns, for v_cap images */
    float *vpix, *vpatches;
    int v_cap;
    llava__vws vw;              /* one image's pass when the tower is frozen */
} llava__chunkws;

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
    LlavaBackend *b;            /* the model's, held (b_refs) so that the trainer may outlive the model */
    int *b_refs;
    float *act;                 /* the text activations' buffer, kept from chunk to chunk: a fresh one */
    size_t act_n;               /* (150 MB for 8 samples of ~160 tokens) is page-faulted in every step */
    llava__chunkws cw;          /* the rest of a chunk's working memory, kept likewise */
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
    if (m->cfg.text_only) {
        llava__err("llava_trainer_new: training needs a full LLaVA model; this one is a language model alone (no vision tower or projector)");
        return NULL;
    }
    LlavaTrainer *t = (LlavaTrainer *)llava__calloc(1, sizeof *t);
    if (!t) {
        llava__err("llava_trainer_new: out of memory (%zu bytes)", sizeof *t);
        return NULL;
    }
    t->m = m;
    t->opt = *o;
    t->b = m->b;
    t->b_refs = m->b_refs;
    if (t->b_refs) ++*t->b_refs;
    if (o->total_steps <= 0 || !(o->lr >= 0.0f) || !(o->warmup_ratio >= 0.0f) || !(o->beta1 >= 0.0f && o->beta1 < 1.0f) ||
        !(o->beta2 >= 0.0f && o->beta2 < 1.0f) || !(o->eps > 0.0f) || o->stage < 0 || o->stage > 2) {
        llava__err("training options out of range (total_steps %d, lr %g, warmup_ratio %g, betas %g %g, eps %g, stage %d)",
                   o->total_steps, o->lr, o->warmup_ratio, o->beta1, o->beta2, o->eps, o->stage);
        llava_trainer_free(t);
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
    float *stage; /* host memory for llava__b_to_f32 (a backend without host memory) */
    int rc;
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
    if (s->rc == LLAVA_OK)
        s->rc = llava__b_to_f32(t->m->b, tp->data, p->w ? p->w->data : *p->vec, p->w ? p->w->dtype : LLAVA_F32, p->n, s->stage);
    if (s->rc != LLAVA_OK) return; /* (the model keeps its tensor) */
    if (p->w) {
        p->w->data = tp->data;
        p->w->dtype = LLAVA_F32;
    } else {
        *p->vec = tp->data;
    }
    *p->grad = tp->grad;
    if (p->kind == 0) t->train_vision = 1;
    if (p->kind == 1) t->train_proj = 1;
    if (p->kind == 2) t->train_text_any = 1;
    if (strstr(p->name, "embed_tokens")) t->train_embed = 1;
}

static int llava__trainer_ready(LlavaTrainer *t) {
    LlavaModel *m = t->m;
    if (t->ready) return LLAVA_OK;
    if (t->n_groups == 0) return llava__err("nothing to train: no parameter group (stage 1 or 2, or llava_trainer_add_group)");
    /* (what a failed call allocated stays for the next call, or for llava_trainer_free) */
    const size_t nvl = (size_t)LLAVA__MAX(m->vision_run, 1), ntl = (size_t)m->cfg.text_layers;
    if (!t->g.vl) t->g.vl = (llava__vgrad *)llava__calloc(nvl, sizeof *t->g.vl);
    if (!t->g.tl) t->g.tl = (llava__tgrad *)llava__calloc(ntl, sizeof *t->g.tl);
    if (!t->g.vl || !t->g.tl)
        return llava__err("out of memory for the gradients' tables (%zu bytes)", nvl * sizeof *t->g.vl + ntl * sizeof *t->g.tl);
    llava__setup s;
    memset(&s, 0, sizeof s);
    s.t = t;
    llava__walk(m, &t->g, llava__setup_fn, &s);
    t->n_params = s.idx;
    if (s.floats == 0) return llava__err("nothing to train: no parameter matches the groups (e.g. \"%s\")", t->groups[0].prefix);
    if (!t->p) t->p = (llava__tparam *)llava__calloc((size_t)t->n_params, sizeof *t->p);
    if (!t->p) return llava__err("out of memory for the table of %d parameters (%zu bytes)", t->n_params, (size_t)t->n_params * sizeof *t->p);
    t->buf = (float *)m->b->alloc(m->b, s.floats * sizeof(float));
    if (!t->buf)
        return llava__err("out of memory for the trainable parameters, their gradients and optimizer state (%zu bytes on the %s backend)",
                          s.floats * sizeof(float), m->b->name);
    /* the model owns the buffer (its trainable tensors live there): it stays usable after the trainer */
    if (llava__own_b(m, t->buf) != LLAVA_OK) { /* (it freed the buffer) */
        t->buf = NULL;
        return LLAVA_ERR;
    }
    LLAVA__TRY(m->b->fill(m->b, t->buf, 0.0f, s.floats));
    if (!m->b->host_memory && !(s.stage = (float *)LLAVA_MALLOC((size_t)LLAVA__STAGE * (sizeof(float) + 2))))
        return llava__err("out of memory for the conversion to f32 (%zu bytes)", (size_t)LLAVA__STAGE * (sizeof(float) + 2));
    s.pass = 1;
    s.idx = 0;
    s.floats = 0;
    llava__walk(m, &t->g, llava__setup_fn, &s);
    LLAVA_FREE(s.stage);
    if (s.rc != LLAVA_OK) return LLAVA_ERR;
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
    t->b->free(t->b, t->act);
    t->b->free(t->b, t->cw.f);
    t->b->free(t->b, t->cw.i);
    t->b->free(t->b, t->cw.VA.mem);
    t->b->free(t->b, t->cw.vw.mem);
    llava__backend_drop(t->b, t->b_refs);
    LLAVA_FREE(t->cw.h);
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

LLAVADEF int llava_trainer_read(const LlavaTrainer *t, int i, float *data, float *grad) {
    LlavaBackend *b = t->m->b;
    if (!t->ready || i < 0 || i >= t->n_params)
        return llava__err("llava_trainer_read: no parameter %d (%d, from the first step or llava_tower_cache_new on)", i, t->ready ? t->n_params : 0);
    const llava__tparam *p = &t->p[i];
    if (grad) {
        if (!p->grad) return llava__err("llava_trainer_read: %s is frozen: it has no gradient", p->name);
        LLAVA__TRY(b->download(b, grad, p->grad, p->n * sizeof(float)));
    }
    if (!data) return LLAVA_OK;
    if (p->data) return b->download(b, data, p->data, p->n * sizeof(float));
    llava__pfind f; /* frozen: its loaded tensor, converted to f32 */
    memset(&f, 0, sizeof f);
    f.want = i;
    llava__walk(t->m, NULL, llava__pfind_fn, &f);
    const LlavaDType dt = f.info.w ? f.info.w->dtype : LLAVA_F32;
    const void *src = f.info.w ? f.info.w->data : *f.info.vec;
    if (dt == LLAVA_F32) return b->download(b, data, src, p->n * sizeof(float));
    const size_t bytes = p->n * llava__dtype_size(dt);
    void *raw = LLAVA_MALLOC(bytes);
    if (!raw) return llava__err("llava_trainer_read: out of memory (%zu bytes)", bytes);
    int rc = b->download(b, raw, src, bytes);
    if (rc == LLAVA_OK) llava__to_f32(data, raw, dt, p->n);
    LLAVA_FREE(raw);
    return rc;
}

/* --- training a vision tower (public): the passes above over a cache of the caller's ---------------- */
struct LlavaTowerCache {
    LlavaTrainer *t;
    LlavaBackend *b;   /* the model's, held as a trainer holds it */
    int *b_refs;
    llava__vcache A;   /* every output row (full), room for `cap` images */
    float *pix, *patches; /* [cap][3, S, S], [cap * P][3*ps*ps] (in A.mem) */
    int cap;
    llava__gradset g;  /* the tower's gradient slots, pointed into a caller's buffer by each backward */
};

LLAVADEF int llava_tower_layers(const LlavaModel *m) { return m->vision_run; }
LLAVADEF int llava_tower_rows(const LlavaModel *m) {
    if (m->cfg.text_only) return 0; /* no tower (its sizes are 0) */
    const int G = m->cfg.vision_image_size / m->cfg.vision_patch_size;
    return G * G + 1;
}
LLAVADEF int llava_tower_encode(LlavaModel *m, const float *pixels, float *out) { return llava__encode_host(m, pixels, out, 1, 0); }

LLAVADEF LlavaTowerCache *llava_tower_cache_new(LlavaTrainer *t, int n) {
    LlavaTowerCache *a;
    int i;
    if (n < 1) {
        llava__err("llava_tower_cache_new: %d images (at least 1)", n);
        return NULL;
    }
    if (llava__trainer_ready(t) != LLAVA_OK) return NULL;
    for (i = 0; i < t->n_params; i++)
        if (t->p[i].grad && !strncmp(t->p[i].name, "vision_tower.", 13)) break;
    if (i == t->n_params) {
        llava__err("llava_tower_cache_new: the trainer trains no parameter of the vision tower (add a group \"vision_tower.\")");
        return NULL;
    }
    a = (LlavaTowerCache *)llava__calloc(1, sizeof *a);
    if (!a) {
        llava__err("llava_tower_cache_new: out of memory (%zu bytes)", sizeof *a);
        return NULL;
    }
    a->t = t;
    a->b = t->b;
    a->b_refs = t->b_refs;
    if (a->b_refs) ++*a->b_refs;
    a->cap = n;
    a->g.vl = (llava__vgrad *)llava__calloc((size_t)LLAVA__MAX(t->m->vision_run, 1), sizeof *a->g.vl);
    if (!a->g.vl || llava__vcache_alloc(&a->A, t->m, n, &a->pix, &a->patches) != LLAVA_OK) {
        if (!a->g.vl)
            llava__err("llava_tower_cache_new: out of memory (%zu bytes)", (size_t)LLAVA__MAX(t->m->vision_run, 1) * sizeof *a->g.vl);
        llava_tower_cache_free(a);
        return NULL;
    }
    a->A.full = 1;
    return a;
}

LLAVADEF void llava_tower_cache_free(LlavaTowerCache *a) {
    if (!a) return;
    a->b->free(a->b, a->A.mem);
    llava__backend_drop(a->b, a->b_refs);
    LLAVA_FREE(a->g.vl);
    LLAVA_FREE(a);
}

LLAVADEF int llava_tower_forward(LlavaTowerCache *a, const float *const *pixels, int n, float *out) {
    if (n < 1 || n > a->cap) return llava__err("llava_tower_forward: %d images, the cache holds 1 to %d", n, a->cap);
    LlavaModel *m = a->t->m;
    const size_t npix = (size_t)3 * m->cfg.vision_image_size * m->cfg.vision_image_size;
    int i;
    a->A.n = n; /* fewer images than the room: the same layout, the first rows of each block used */
    for (i = 0; i < n; i++) LLAVA__TRY(m->b->upload(m->b, a->pix + i * npix, pixels[i], npix * sizeof(float)));
    return llava__vision_forward(m, n, a->pix, a->patches, &a->A, NULL, out, a->A.full);
}

/* points the tower's trainable gradient slots of a gradset at consecutive stretches of a buffer */
typedef struct {
    const LlavaTrainer *t;
    float *base;
    size_t used;
    int idx;
} llava__tgmap;
static void llava__tgmap_fn(void *ctx, llava__pinfo *p) {
    llava__tgmap *r = (llava__tgmap *)ctx;
    const int i = r->idx++;
    if (p->kind != 0 || !r->t->p[i].grad) return;
    float *g = r->base + r->used;
    r->used += p->n;
    *p->grad = g;
}

LLAVADEF size_t llava_tower_grad_size(const LlavaTowerCache *a) {
    size_t n = 0;
    int i;
    for (i = 0; i < a->t->n_params; i++)
        if (a->t->p[i].grad && !strncmp(a->t->p[i].name, "vision_tower.", 13)) n += a->t->p[i].n;
    return n;
}

LLAVADEF int llava_tower_backward(LlavaTowerCache *a, const float *dout, float *grad) {
    LlavaTrainer *t = a->t;
    if (!grad) return llava__vision_backward(t->m, &t->g, &a->A, a->patches, dout);
    llava__tgmap r;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.base = grad;
    llava__walk(t->m, &a->g, llava__tgmap_fn, &r);
    return llava__vision_backward(t->m, &a->g, &a->A, a->patches, dout);
}

LLAVADEF float *llava_trainer_grad(LlavaTrainer *t, int i) {
    if (!t->ready || i < 0 || i >= t->n_params) return NULL;
    return t->p[i].grad;
}

LLAVADEF int llava_trainer_apply(LlavaTrainer *t, double loss, LlavaStepStats *st) {
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    t->acc_loss = loss;
    t->acc_tokens = 1; /* the gradients are the loss's already: llava_trainer_update divides by 1 */
    return llava_trainer_update(t, st);
}

typedef struct {
    const char *prefix;
    size_t n;
} llava__pcount;
static void llava__pcount_fn(void *ctx, llava__pinfo *p) {
    llava__pcount *c = (llava__pcount *)ctx;
    if (!strncmp(p->name, c->prefix, strlen(c->prefix))) c->n += p->n;
}
LLAVADEF size_t llava_model_n_params(LlavaModel *m, const char *prefix) {
    llava__pcount c = {prefix, 0};
    llava__walk(m, NULL, llava__pcount_fn, &c);
    return c.n;
}

LLAVADEF int llava_model_read_tensor(const LlavaModel *m, const char *name, float *out, size_t n) {
    static const char vp[] = LLAVA__P_VISION;
    const llava__tensor *t = NULL;
    char nm[256];
    if (m->vsrc && !strncmp(name, vp, sizeof vp - 1)) { /* under the prefix the tower was loaded from */
        snprintf(nm, sizeof nm, "%s%s", m->vprefix, name + sizeof vp - 1);
        t = llava__tensors_find(m->vsrc, nm);
    }
    if (!t) t = llava__tensors_find(&m->files, name);
    if (!t) return llava__err("%s: the model's files have no tensor %s", m->dir ? m->dir : "(new model)", name);
    size_t k = 1;
    int d;
    for (d = 0; d < t->ndim; d++) k *= (size_t)t->shape[d];
    if (t->dtype < 0 || k != n)
        return llava__err("tensor %s: %s with %zu elements, not %zu as f32, f16 or bf16", name, t->dtype_name, k, n);
    llava__to_f32(out, t->data, (LlavaDType)t->dtype, n);
    return LLAVA_OK;
}

/* a host buffer of at least `need` ints, grown (contents kept) when it is smaller */
static int llava__grow_ints(int **p, size_t *cap, size_t need) {
    if (need <= *cap) return LLAVA_OK;
    int *q = (int *)LLAVA_REALLOC(*p, need * sizeof(int));
    if (!q) return llava__err("out of memory for %zu bytes", need * sizeof(int));
    *p = q, *cap = need;
    return LLAVA_OK;
}
/* a backend buffer of at least `need` bytes, replaced (contents lost) when it is smaller */
static int llava__grow_backend(LlavaBackend *b, void **p, size_t *cap, size_t need) {
    if (need <= *cap) return LLAVA_OK;
    b->free(b, *p);
    *cap = 0;
    if (!(*p = b->alloc(b, need))) return LLAVA_ERR;
    *cap = need;
    return LLAVA_OK;
}

/* --- a chunk of samples: forward, loss, backward -------------------------------------------------------
   The samples' rows are concatenated, so the linear layers see one tall matrix; attention and RoPE run
   per sample. The working memory is the trainer's, kept from chunk to chunk (grown to the largest). */
static int llava__train_chunk(LlavaTrainer *t, const LlavaSample *s, int n, int index0) {
    LlavaModel *m = t->m;
    LlavaBackend *b = m->b;
    llava__chunkws *w = &t->cw;
    const LlavaConfig *c = &m->cfg;
    const int C = c->text_hidden, V = c->text_vocab, D = c->vision_hidden, P = llava_image_tokens(m);
    int i, k, j, T = 0, nimg = 0;
    LLAVA__TRY(llava__grow_ints(&w->h, &w->h_n, (size_t)n));
    int *seg = w->h;
    for (k = 0; k < n; k++) {
        const LlavaSample *sp = &s[k];
        int ph = 0;
        if (!sp->ids || !sp->labels || sp->n <= 0) return llava__err("sample %d: no tokens", index0 + k);
        for (i = 0; i < sp->n; i++) {
            if (sp->ids[i] == c->image_token_id) ph++;
            else if (sp->ids[i] < 0 || sp->ids[i] >= V)
                return llava__err("sample %d: token id %d at position %d is outside the vocabulary (0..%d)", index0 + k, sp->ids[i], i, V - 1);
            if (sp->labels[i] != -100 && (sp->labels[i] < 0 || sp->labels[i] >= V))
                return llava__err("sample %d: label %d at position %d is neither -100 nor a token id", index0 + k, sp->labels[i], i);
        }
        if (sp->n_images < 0 || (sp->n_images > 0 && !sp->pixels) || (c->image_token_expands ? ph != sp->n_images : ph != sp->n_images * P))
            return llava__err("sample %d: %d image placeholder tokens (id %d) but %d image(s)%s", index0 + k, ph, c->image_token_id, sp->n_images,
                              c->image_token_expands ? "" : " of that many feature rows each");
        seg[k] = c->image_token_expands ? sp->n - ph + ph * P : sp->n;
        T += seg[k];
        nimg += sp->n_images;
    }
    /* per row: what the loss at that row predicts (the next row's label, within the sample), its label,
       and where its embedding comes from (token id, or -1 - feature row) */
    LLAVA__TRY(llava__grow_ints(&w->h, &w->h_n, (size_t)n + 5 * (size_t)T));
    seg = w->h;
    int *targets = seg + n, *lab = targets + T, *row_of = lab + T, *sup_t = row_of + T, *sup_g = sup_t + T;
    const size_t nfeat = (size_t)nimg * P, nC = nfeat * C, nD = nfeat * D;
    const size_t fl = nD + nC + (size_t)LLAVA__MAX(c->proj_layers - 1, 0) * 2 * nC + (size_t)T * V + 2 * nC + (t->train_vision ? nD : 0) + 2 * (size_t)T * C;
    if (llava__grow_backend(b, (void **)&w->f, &w->f_n, fl * sizeof(float)) != LLAVA_OK ||
        llava__grow_backend(b, (void **)&w->i, &w->i_n, 3 * (size_t)T * sizeof(int)) != LLAVA_OK)
        return llava__err("out of memory for samples %d..%d (%d positions): %s", index0, index0 + n - 1, T, llava_last_error());
    float *vfeat = w->f, *pfeat = vfeat + nD, *keep = pfeat + nC, *logits = keep + (size_t)LLAVA__MAX(c->proj_layers - 1, 0) * 2 * nC;
    float *dp = logits + (size_t)T * V, *dq = dp + nC, *dvf = t->train_vision ? dq + nC : NULL, *hs = dq + nC + (t->train_vision ? nD : 0);
    float *dhs = hs + (size_t)T * C;
    int *rows = w->i, *tgt = rows + T, *gat = tgt + T;
    llava__tcache A;
    LLAVA__TRY(llava__tcache_alloc(&A, m, T, seg, n, &t->act, &t->act_n));
    /* vision tower (every activation kept only when it learns), then the projector keeping its own */
    if (nimg) {
        const size_t npix = (size_t)3 * c->vision_image_size * c->vision_image_size;
        int im = 0;
        if (t->train_vision && w->v_cap < nimg) {
            b->free(b, w->VA.mem);
            w->v_cap = 0;
            LLAVA__TRY(llava__vcache_alloc(&w->VA, m, nimg, &w->vpix, &w->vpatches));
            w->v_cap = nimg;
        }
        if (!t->train_vision && !w->vw.mem) LLAVA__TRY(llava__vws_new(m, &w->vw));
        for (k = 0; k < n; k++)
            for (i = 0; i < s[k].n_images; i++, im++) {
                if (t->train_vision) {
                    LLAVA__TRY(b->upload(b, w->vpix + im * npix, s[k].pixels + i * npix, npix * sizeof(float)));
                } else {
                    LLAVA__TRY(b->upload(b, w->vw.pix, s[k].pixels + i * npix, npix * sizeof(float)));
                    LLAVA__TRY(llava__vision_forward(m, 1, w->vw.pix, w->vw.patches, NULL, &w->vw, vfeat + (size_t)im * P * D, c->vision_select_full));
                }
            }
        if (t->train_vision) {
            w->VA.n = nimg;
            LLAVA__TRY(llava__vision_forward(m, nimg, w->vpix, w->vpatches, &w->VA, NULL, vfeat, w->VA.full));
        }
        LLAVA__TRY(llava__project(m, vfeat, (int)nfeat, pfeat, NULL, keep));
    }
    /* embeddings: token rows, and each image's projected rows where its placeholders are */
    {
        int tt = 0, f = 0;
        for (k = 0; k < n; k++) {
            const LlavaSample *sp = &s[k];
            const int t0 = tt;
            for (i = 0; i < sp->n; i++) {
                if (sp->ids[i] == c->image_token_id) {
                    const int r = c->image_token_expands ? P : 1;
                    for (j = 0; j < r; j++, tt++, f++) {
                        row_of[tt] = -1 - f;
                        lab[tt] = c->image_token_expands ? -100 : sp->labels[i];
                    }
                } else {
                    row_of[tt] = sp->ids[i];
                    lab[tt] = sp->labels[i];
                    tt++;
                }
            }
            for (i = t0; i < tt; i++) targets[i] = i + 1 < tt ? lab[i + 1] : -100;
        }
    }
    /* the supervised positions: their targets, and where their rows are (as embed's feature rows) */
    int ntok = 0;
    for (i = 0; i < T; i++)
        if (targets[i] >= 0) sup_t[ntok] = targets[i], sup_g[ntok++] = -1 - i;
    LLAVA__TRY(b->upload(b, rows, row_of, (size_t)T * sizeof(int)));
    if (ntok) {
        LLAVA__TRY(b->upload(b, tgt, sup_t, (size_t)ntok * sizeof(int)));
        LLAVA__TRY(b->upload(b, gat, sup_g, (size_t)ntok * sizeof(int)));
    }
    LLAVA__TRY(b->embed(b, A.x, rows, pfeat, &m->embed, T, C));
    /* the decoder keeping its activations, the final norm, the head, the loss */
    llava__dpass p;
    memset(&p, 0, sizeof p);
    p.T = T, p.seg_len = seg, p.nseg = n, p.A = &A;
    LLAVA__TRY(llava__decoder_forward(m, &p));
    LLAVA__TRY(b->rmsnorm(b, A.hf, A.rf, A.x + (size_t)c->text_layers * T * C, m->norm, T, C, c->text_rms_eps));
    if (ntok == 0) return LLAVA_OK; /* nothing to learn from (llava_trainer_update names it) */
    /* the head on the supervised rows only: a position without a label adds nothing to the loss, and
       its logits would be most of the head's work (the image rows, the prompt) */
    LLAVA__TRY(b->embed(b, hs, gat, A.hf, &m->embed, ntok, C));
    LLAVA__TRY(b->matmul(b, logits, hs, &m->head, NULL, ntok, C, V));
    /* gradients of the SUM of token losses; llava_trainer_update divides by the token count */
    double loss = 0.0;
    LLAVA__TRY(b->cross_entropy(b, &loss, logits, logits, tgt, ntok, V, 1.0f));
    t->acc_loss += loss;
    t->acc_tokens += ntok;
    LLAVA__TRY(llava__decoder_backward(m, &t->g, &A, logits, hs, dhs, gat, ntok, T, seg, n));
    /* the input rows' gradients: into embed_tokens by token, and the projected rows', back through the
       projector (and the tower, if it learns) */
    const int back_images = nimg && (t->train_proj || t->train_vision);
    LLAVA__TRY(b->embed_backward(b, t->g.embed, back_images ? dp : NULL, A.dx, rows, T, C));
    if (!back_images) return LLAVA_OK;
    LLAVA__TRY(llava__project_backward(m, &t->g, vfeat, keep, (int)nfeat, dp, dq, dvf));
    if (t->train_vision) LLAVA__TRY(llava__vision_backward(m, &t->g, &w->VA, w->vpatches, dvf));
    return LLAVA_OK;
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

static int llava__zero_grads(LlavaTrainer *t) {
    LlavaBackend *b = t->m->b;
    int i, rc = LLAVA_OK;
    for (i = 0; i < t->n_params && rc == LLAVA_OK; i++)
        if (t->p[i].grad) rc = b->fill(b, t->p[i].grad, 0.0f, t->p[i].n);
    t->acc_loss = 0.0;
    t->acc_tokens = 0;
    return rc;
}

/* isfinite by the bits, so that it still works under -ffast-math (which lets the compiler assume it) */
static int llava__finite(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return ((u >> 52) & 0x7ff) != 0x7ff;
}

LLAVADEF int llava_trainer_update(LlavaTrainer *t, LlavaStepStats *st) {
    LlavaBackend *b = t->m->b;
    int i;
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    if (t->acc_tokens == 0) {
        llava__zero_grads(t);
        return llava__err("step %d: the batch has no supervised tokens (every label is -100)", t->step + 1);
    }
    const double loss = t->acc_loss / (double)t->acc_tokens;
    const float inv = (float)(1.0 / (double)t->acc_tokens);
    double norm2 = 0.0, q;
    for (i = 0; i < t->n_params; i++)
        if (t->p[i].grad) {
            LLAVA__TRY(b->scale_sumsq(b, &q, t->p[i].grad, inv, t->p[i].n));
            norm2 += q;
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
                if (t->p[i].grad) LLAVA__TRY(b->scale_sumsq(b, NULL, t->p[i].grad, (float)coef, t->p[i].n));
    }
    const double f = llava_trainer_lr_factor(t, t->step);
    t->step++;
    for (i = 0; i < t->n_params; i++) {
        llava__tparam *p = &t->p[i];
        if (p->group < 0) continue;
        const llava__group *gr = &t->groups[p->group];
        LLAVA__TRY(b->adamw(b, p->data, p->m, p->v, p->grad, p->n, (float)(gr->lr * f), t->opt.beta1, t->opt.beta2, t->opt.eps,
                            p->decay ? gr->wd : 0.0f, t->step));
    }
    if (st) {
        st->loss = (float)loss;
        st->lr = (float)(t->groups[0].lr * f);
        st->grad_norm = (float)norm;
        st->tokens = t->acc_tokens;
        st->step = t->step;
    }
    return llava__zero_grads(t);
}

LLAVADEF int llava_trainer_step(LlavaTrainer *t, const LlavaSample *s, int n, LlavaStepStats *st) {
    if (llava_trainer_accumulate(t, s, n) != LLAVA_OK) {
        if (t->ready) llava__zero_grads(t);
        return LLAVA_ERR;
    }
    return llava_trainer_update(t, st);
}

LLAVADEF int llava_trainer_grads(LlavaTrainer *t, const LlavaSample *s, int n, float *loss) {
    LlavaBackend *b = t->m->b;
    int i;
    if (llava__trainer_ready(t) != LLAVA_OK || llava__zero_grads(t) != LLAVA_OK) return LLAVA_ERR;
    if (llava_trainer_accumulate(t, s, n) != LLAVA_OK) return LLAVA_ERR;
    if (t->acc_tokens == 0) return llava__err("the batch has no supervised tokens (every label is -100)");
    const float inv = (float)(1.0 / (double)t->acc_tokens);
    for (i = 0; i < t->n_params; i++)
        if (t->p[i].grad) LLAVA__TRY(b->scale_sumsq(b, NULL, t->p[i].grad, inv, t->p[i].n));
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
    size_t err_bytes; /* the allocation that failed */
    int original; /* the original repository's names */
    const LlavaTensor *extra; /* llava_model_save_with's tensors [n_extra] */
    int n_extra;
    LlavaBackend *b; /* the model's backend when its memory is not the host's (err 2: a download failed) */
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

/* a tensor to write: data in host memory, or the model's backend memory (on_b) */
static void llava__save_add(llava__saver *sv, const char *name, const void *data, int on_b, LlavaDType dt, int ndim, const int64_t *shape) {
    if (sv->err) return;
    if (sv->n == sv->cap) {
        int nc = sv->cap ? sv->cap * 2 : 256;
        llava__st_entry *ne = (llava__st_entry *)LLAVA_REALLOC(sv->e, (size_t)nc * sizeof *ne);
        void **nb = ne ? (void **)LLAVA_REALLOC(sv->bufs, (size_t)nc * sizeof *nb) : NULL;
        if (ne) sv->e = ne;
        if (!ne || !nb) {
            sv->err = 1;
            sv->err_bytes = (size_t)nc * (ne ? sizeof *nb : sizeof *ne);
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
        sv->err_bytes = buf ? strlen(nm) + 1 : n * llava__dtype_size(sv->dt) + 1;
        return;
    }
    void *staged = NULL;
    if (on_b && sv->b) { /* to the host first: into buf when the dtype stays */
        if (sv->dt != dt && !(staged = LLAVA_MALLOC(n * llava__dtype_size(dt) + 1))) {
            sv->err = 1;
            sv->err_bytes = n * llava__dtype_size(dt) + 1;
            return;
        }
        if (sv->b->download(sv->b, staged ? staged : buf, data, n * llava__dtype_size(dt)) != LLAVA_OK) {
            LLAVA_FREE(staged);
            sv->err = 2;
            return;
        }
        if (staged) data = staged;
    }
    if (sv->dt == dt) {
        if (!(on_b && sv->b)) memcpy(buf, data, n * llava__dtype_size(dt));
    } else if (sv->dt == LLAVA_F32) {
        llava__to_f32((float *)buf, data, dt, n);
    } else { /* to BF16: through f32 */
        float *tmp = (float *)LLAVA_MALLOC(n * sizeof(float) + 1);
        if (!tmp) {
            LLAVA_FREE(staged);
            sv->err = 1;
            sv->err_bytes = n * sizeof(float) + 1;
            return;
        }
        llava__to_f32(tmp, data, dt, n);
        for (i = 0; i < n; i++) ((uint16_t *)buf)[i] = llava__f32_to_bf16(tmp[i]);
        LLAVA_FREE(tmp);
    }
    LLAVA_FREE(staged);
    sv->n++;
}

static void llava__save_fn(void *ctx, llava__pinfo *p) {
    llava__saver *sv = (llava__saver *)ctx;
    if (sv->original && !strncmp(p->name, "vision_tower.", 13)) return; /* written into clip/ */
    if (p->w) llava__save_add(sv, p->name, p->w->data, 1, p->w->dtype, p->ndim, p->shape);
    else llava__save_add(sv, p->name, *p->vec, 1, LLAVA_F32, p->ndim, p->shape);
}
static void llava__save_vision_fn(void *ctx, llava__pinfo *p) {
    llava__saver *sv = (llava__saver *)ctx;
    if (strncmp(p->name, "vision_tower.", 13)) return;
    if (p->w) llava__save_add(sv, p->name, p->w->data, 1, p->w->dtype, p->ndim, p->shape);
    else llava__save_add(sv, p->name, *p->vec, 1, LLAVA_F32, p->ndim, p->shape);
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
        int k, replaced = 0;
        for (k = 0; k < sv->n_extra; k++) replaced |= !strcmp(sv->extra[k].name, name);
        if (!replaced) llava__save_add(sv, name, t->data, 0, (LlavaDType)t->dtype, t->ndim, t->shape);
    }
}

/* llava_model_save_with's tensors: the tower's (vision = 1) or the others (vision = 0) */
static void llava__save_extra(llava__saver *sv, int vision) {
    int k;
    for (k = 0; k < sv->n_extra; k++)
        if ((strncmp(sv->extra[k].name, "vision_tower.", 13) == 0) == vision)
            llava__save_add(sv, sv->extra[k].name, sv->extra[k].data, 0, LLAVA_F32, sv->extra[k].ndim, sv->extra[k].shape);
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

LLAVADEF int llava_copy_file(const char *from, const char *to) {
    size_t n;
    char *text = llava_read_file(from, (size_t)1 << 30, &n);
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
    if (!b) return llava__err("out of memory writing %s (16384 bytes)", path);
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
    int rc = llava_write_text(path, b);
    if (rc == LLAVA_OK && original) { /* the tower's own config, as CLIPVisionModel writes it */
        char *vdir = llava__strdup(path); /* the directory of config.json */
        size_t l = vdir ? strlen(vdir) : 0;
        while (l > 0 && vdir[l - 1] != '/') l--;
        if (vdir) vdir[l] = 0;
        if (vdir && !l) snprintf(vdir, strlen(path) + 1, ".");
        char *cdir = vdir ? llava__path_join(vdir, "clip") : NULL, *cpath = cdir ? llava__path_join(cdir, "config.json") : NULL;
        snprintf(b, 16384, "{\n  \"architectures\": [\"CLIPVisionModel\"],\n  %s,\n  \"torch_dtype\": \"%s\"\n}\n", vis, dts);
        rc = cpath ? llava_write_text(cpath, b) : llava__err("out of memory for the path of clip/config.json beside %s", path);
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
    return llava_write_text(path, b);
}

static int llava__tok_files_from_gguf(const char *path, const char *dir, int image_id);
static int llava__is_gguf_path(const char *p) {
    const size_t n = p ? strlen(p) : 0;
    return n > 5 && !strcmp(p + n - 5, ".gguf");
}

static int llava__save_check(const LlavaModel *m, LlavaDType dt, const LlavaTensor *extra, int n_extra) {
    int i;
    if (dt != LLAVA_F32 && dt != LLAVA_BF16) return llava__err("llava_model_save: F32 or BF16");
    if (m->cfg.text_only) return llava__err("llava_model_save: a language model alone (no vision tower or projector) has no LLaVA layout to save");
    if (m->tok_image >= 0 && !llava__is_gguf_path(m->dir)) { /* an assembled model: its tokenizer files get "<image>" */
        char *tj = llava__path_join(m->dir, "tokenizer.json"), *tm = llava__path_join(m->dir, "tokenizer.model");
        const int have = tj && tm && (llava_file_exists(tj) || llava_file_exists(tm));
        LLAVA_FREE(tj), LLAVA_FREE(tm);
        if (!tj || !tm) return llava__err("llava_model_save: out of memory for the paths of %s's tokenizer", m->dir);
        if (!have) return llava__err("llava_model_save: the language model's directory %s has neither tokenizer.json nor tokenizer.model", m->dir);
    }
    if (n_extra < 0 || (n_extra > 0 && !extra)) return llava__err("llava_model_save_with: %d extra tensors at %p", n_extra, (const void *)extra);
    for (i = 0; i < n_extra; i++)
        if (!extra[i].name || !extra[i].data || extra[i].ndim < 1 || extra[i].ndim > 4)
            return llava__err("llava_model_save_with: extra tensor %d has no name, no data or %d dimensions (1 to 4)", i, extra[i].ndim);
    return LLAVA_OK;
}

/* JSON text of node x (numbers that are integers written as such); add (when not NULL) is appended to the
   top-level member add_key's array or object */
static void llava__json_emit(LlavaBuf *o, const LlavaJson *j, const LlavaJsonNode *x, int top, const char *add_key, const char *add) {
    const LlavaJsonNode *y;
    switch (x->type) {
    case LLAVA_JSON_NULL: llava_buf_puts(o, "null"); return;
    case LLAVA_JSON_BOOL: llava_buf_puts(o, x->num != 0 ? "true" : "false"); return;
    case LLAVA_JSON_NUM:
        if (x->num == floor(x->num) && fabs(x->num) < 1e15) llava_buf_printf(o, "%.0f", x->num);
        else llava_buf_printf(o, "%.17g", x->num);
        return;
    case LLAVA_JSON_STR: llava_buf_json_string(o, x->str, strlen(x->str)); return;
    default: break;
    }
    const int obj = x->type == LLAVA_JSON_OBJ;
    llava_buf_puts(o, obj ? "{" : "[");
    for (y = llava_json_first(j, x); y; y = llava_json_next(j, y)) {
        if (y != llava_json_first(j, x)) llava_buf_puts(o, top ? ",\n  " : ", ");
        else if (top) llava_buf_puts(o, "\n  ");
        if (obj) llava_buf_json_string(o, y->key, strlen(y->key)), llava_buf_puts(o, ": ");
        llava__json_emit(o, j, y, 0, NULL, NULL);
        if (top && add && obj && !strcmp(y->key, add_key) && (y->type == LLAVA_JSON_ARR || y->type == LLAVA_JSON_OBJ)) {
            o->n--; /* (the closing bracket, put back after the addition) */
            llava_buf_printf(o, "%s%s%c", y->count ? ", " : "", add, y->type == LLAVA_JSON_OBJ ? '}' : ']');
        }
    }
    llava_buf_puts(o, top ? "\n}\n" : obj ? "}" : "]");
}

/* a tokenizer file of an assembled model's language model, with "<image>" (id) added where the file
   lists added tokens: tokenizer.json's added_tokens, tokenizer_config.json's added_tokens_decoder,
   added_tokens.json */
static int llava__tok_file_with_image(const char *from, const char *to, const char *file, int id) {
    static const char *tok = "\"content\": \"<image>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                             "\"normalized\": false, \"special\": true";
    char add[512];
    const char *key;
    if (!strcmp(file, "tokenizer.json")) key = "added_tokens", snprintf(add, sizeof add, "{\"id\": %d, %s}", id, tok);
    else if (!strcmp(file, "tokenizer_config.json")) key = "added_tokens_decoder", snprintf(add, sizeof add, "\"%d\": {%s}", id, tok);
    else if (!strcmp(file, "added_tokens.json")) key = NULL, snprintf(add, sizeof add, "\"<image>\": %d", id);
    else return llava_copy_file(from, to);
    size_t n;
    char *text = llava_read_file(from, (size_t)1 << 30, &n);
    LlavaJson j;
    int rc = text ? llava_json_parse(&j, text, n, from) : LLAVA_ERR;
    if (rc == LLAVA_OK && j.nodes[0].type != LLAVA_JSON_OBJ) rc = llava__err("%s: not a JSON object", from);
    if (rc == LLAVA_OK) {
        LlavaBuf o;
        memset(&o, 0, sizeof o);
        if (key) {
            llava__json_emit(&o, &j, &j.nodes[0], 1, key, add);
        } else { /* added_tokens.json: {token: id, ...} itself */
            llava__json_emit(&o, &j, &j.nodes[0], 0, NULL, NULL);
            if (o.n) o.n--;
            llava_buf_printf(&o, "%s%s}\n", j.nodes[0].count ? ", " : "", add);
        }
        rc = o.oom ? llava__err("out of memory writing %s", to) : llava_write_text(to, o.p);
        llava_buf_free(&o);
    }
    if (text) llava_json_free(&j); /* (also after a failed parse) */
    LLAVA_FREE(text);
    return rc;
}

/* the model's files into dir (the save's temporary directory) */
static int llava__model_write(LlavaModel *m, const char *dir, LlavaDType dt, const LlavaTensor *extra, int n_extra) {
    llava__saver sv;
    int rc, i;
    memset(&sv, 0, sizeof sv);
    sv.dt = dt;
    sv.extra = extra;
    sv.n_extra = n_extra;
    /* a linear projector has no place in LlavaForConditionalGeneration: the original repository's layout */
    sv.original = m->cfg.proj_layers != 2 || m->cfg.image_token_expands;
    sv.b = m->b->host_memory ? NULL : m->b;
    if ((rc = llava__mkdir(dir)) != LLAVA_OK) return rc;
    llava__walk(m, NULL, llava__save_fn, &sv);
    if (m->cfg.text_tied && sv.original) { /* the original layout always has lm_head */
        const int64_t sh[2] = {m->cfg.text_vocab, m->cfg.text_hidden};
        llava__save_add(&sv, "language_model.lm_head.weight", m->embed.data, 1, m->embed.dtype, 2, sh);
    }
    if (!sv.original) llava__save_passthrough(&sv, m), llava__save_extra(&sv, 1);
    llava__save_extra(&sv, 0);
    char *path = llava__path_join(dir, "model.safetensors");
    if (sv.err) rc = sv.err == 2 ? LLAVA_ERR : llava__err("out of memory saving the model (%zu bytes)", sv.err_bytes);
    else rc = path ? llava__st_write(path, sv.e, sv.n) : llava__err("out of memory for the path of %s/model.safetensors", dir);
    LLAVA_FREE(path);
    llava__saver_free(&sv);
    if (rc == LLAVA_OK && sv.original) { /* the vision tower as its own CLIPVisionModel directory */
        char *cdir = llava__path_join(dir, "clip"), *cp = cdir ? llava__path_join(cdir, "model.safetensors") : NULL;
        memset(&sv, 0, sizeof sv);
        sv.dt = dt;
        sv.original = 1;
        sv.extra = extra;
        sv.n_extra = n_extra;
        sv.b = m->b->host_memory ? NULL : m->b;
        rc = cp ? llava__mkdir(cdir) : llava__err("out of memory for the path of %s/clip/model.safetensors", dir);
        if (rc == LLAVA_OK) {
            llava__walk(m, NULL, llava__save_vision_fn, &sv);
            llava__save_passthrough(&sv, m);
            llava__save_extra(&sv, 1);
            rc = sv.err == 2 ? LLAVA_ERR
                 : sv.err    ? llava__err("out of memory saving the vision tower (%zu bytes)", sv.err_bytes)
                             : llava__st_write(cp, sv.e, sv.n);
        }
        if (rc == LLAVA_OK) {
            char *pp = llava__path_join(cdir, "preprocessor_config.json");
            rc = pp ? llava__write_preprocessor(m, pp) : llava__err("out of memory for the path of %s/clip/preprocessor_config.json", dir);
            LLAVA_FREE(pp);
        }
        llava__saver_free(&sv);
        LLAVA_FREE(cdir), LLAVA_FREE(cp);
    }
    if (rc == LLAVA_OK) {
        char *cp = llava__path_join(dir, "config.json");
        rc = cp ? llava__write_config(m, cp, dt, sv.original) : llava__err("out of memory for the path of %s/config.json", dir);
        LLAVA_FREE(cp);
    }
    if (rc == LLAVA_OK) {
        char *pp = llava__path_join(dir, "preprocessor_config.json");
        rc = pp ? llava__write_preprocessor(m, pp) : llava__err("out of memory for the path of %s/preprocessor_config.json", dir);
        LLAVA_FREE(pp);
    }
    /* the tokenizer files travel with the model */
    static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                                        "generation_config.json", "chat_template.json", "added_tokens.json"};
    if (rc == LLAVA_OK && m->tok_image >= 0 && llava__is_gguf_path(m->dir)) /* an assembled model's GGUF language model */
        rc = llava__tok_files_from_gguf(m->dir, dir, m->tok_image);
    for (i = 0; rc == LLAVA_OK && m->dir && !llava__is_gguf_path(m->dir) && i < (int)(sizeof files / sizeof files[0]); i++) {
        char *from = llava__path_join(m->dir, files[i]), *to = llava__path_join(dir, files[i]);
        if (!from || !to) rc = llava__err("out of memory for the paths of %s", files[i]);
        else if (llava_file_exists(from) && strcmp(from, to))
            rc = m->tok_image >= 0 ? llava__tok_file_with_image(from, to, files[i], m->tok_image) : llava_copy_file(from, to);
        LLAVA_FREE(from), LLAVA_FREE(to);
    }
    /* a tokenizer.model without tokenizer.json: "<image>" goes into added_tokens.json and tokenizer_config.json's
       added_tokens_decoder (both read with it, by transformers' LlamaTokenizer and by us), written new where
       the language model had none (a new tokenizer_config.json says LlamaTokenizer and its add_bos_token
       default, as which we read a tokenizer.model: transformers 5 adds no bos without them) */
    if (rc == LLAVA_OK && m->tok_image >= 0 && !llava__is_gguf_path(m->dir)) {
        char *tj = llava__path_join(m->dir, "tokenizer.json");
        const int spm = tj && !llava_file_exists(tj);
        LLAVA_FREE(tj);
        for (i = 0; rc == LLAVA_OK && spm && i < 2; i++) {
            const char *name = i ? "tokenizer_config.json" : "added_tokens.json";
            char *from = llava__path_join(m->dir, name), *to = llava__path_join(dir, name), text[512];
            if (!from || !to) rc = llava__err("out of memory for the paths of %s", name);
            else if (!llava_file_exists(from)) {
                if (i) snprintf(text, sizeof text, "{\n  \"tokenizer_class\": \"LlamaTokenizer\",\n  \"add_bos_token\": true,\n  \"added_tokens_decoder\": {\n    \"%d\": {\"content\": \"<image>\", \"single_word\": false, \"lstrip\": "
                                   "false, \"rstrip\": false, \"normalized\": false, \"special\": true}\n  }\n}\n", m->tok_image);
                else snprintf(text, sizeof text, "{\"<image>\": %d}\n", m->tok_image);
                rc = llava_write_text(to, text);
            }
            LLAVA_FREE(from), LLAVA_FREE(to);
        }
    }
    return rc;
}

/* written whole into a temporary directory, then swapped in (llava__dirsave_begin) */
LLAVADEF int llava_model_save_with(LlavaModel *m, const char *dir, LlavaDType dt, const LlavaTensor *extra, int n_extra) {
    llava__dirsave ds;
    int rc = llava__save_check(m, dt, extra, n_extra);
    if (rc == LLAVA_OK) rc = llava__dirsave_begin(&ds, dir);
    if (rc == LLAVA_OK) rc = llava__dirsave_end(&ds, llava__model_write(m, ds.out, dt, extra, n_extra));
    return rc;
}

LLAVADEF int llava_model_save(LlavaModel *m, const char *dir, LlavaDType dt) { return llava_model_save_with(m, dir, dt, NULL, 0); }

/* --- a new model with fresh weights ------------------------------------------------------------------ */
typedef struct {
    LlavaModel *m;
    uint64_t rng;
    int err;
    size_t err_bytes; /* the allocation that failed */
} llava__initer;

static float llava__randn(uint64_t *r) { /* Box-Muller */
    float u1 = llava_rng_uniform(r), u2 = llava_rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

static void llava__init_fn(void *ctx, llava__pinfo *p) {
    llava__initer *in = (llava__initer *)ctx;
    if (in->err) return; /* (the first failure is the one reported) */
    float *d = (float *)llava__alloc_aligned(p->n * sizeof(float) + 1);
    size_t i;
    if (llava__own(in->m, d) != LLAVA_OK) {
        in->err = 1;
        in->err_bytes = p->n * sizeof(float) + 1;
        return;
    }
    const size_t l = strlen(p->name);
    const int is_bias = l >= 5 && !strcmp(p->name + l - 5, ".bias"), is_norm = strstr(p->name, "norm") != NULL;
    for (i = 0; i < p->n; i++) d[i] = is_bias ? 0.0f : is_norm ? 1.0f : 0.02f * llava__randn(&in->rng);
    if (p->w) {
        p->w->data = d;
        p->w->dtype = LLAVA_F32;
        p->w->rows = (int)p->shape[0];
        p->w->cols = (int)(p->n / (size_t)p->shape[0]);
    } else {
        *p->vec = d;
    }
}

LLAVADEF LlavaModel *llava_model_new(const LlavaConfig *cfg, uint64_t seed) {
    LlavaModel *m = llava__model_alloc();
    int l;
    if (!m) return NULL;
    m->cfg = *cfg;
    if (cfg->text_only) {
        LLAVA_FREE(m);
        llava__err("llava_model_new: text_only configurations come from GGUF files only");
        return NULL;
    }
    if (m->cfg.pre_crop_h <= 0) llava_preprocess_defaults(&m->cfg, m->cfg.vision_image_size);
    if (llava__config_check(&m->cfg, "llava_model_new") != LLAVA_OK) {
        llava_model_free(m);
        return NULL;
    }
    const LlavaConfig *c = &m->cfg;
    m->vision_run = c->vision_feature_layer < 0 ? c->vision_layers + 1 + c->vision_feature_layer : c->vision_feature_layer;
    m->vl = (llava__vlayer *)llava__calloc((size_t)LLAVA__MAX(m->vision_run, 1), sizeof *m->vl);
    m->tl = (llava__tlayer *)llava__calloc((size_t)c->text_layers, sizeof *m->tl);
    if (!m->vl || !m->tl) {
        llava__err("llava_model_new: out of memory for the layers (%zu bytes)",
                   (size_t)LLAVA__MAX(m->vision_run, 1) * sizeof *m->vl + (size_t)c->text_layers * sizeof *m->tl);
        llava_model_free(m);
        return NULL;
    }
    /* optional biases exist before the walk, which lists what exists */
    static float llava__present = 0.0f;
    for (l = 0; l < c->text_layers; l++) {
        llava__tlayer *L = &m->tl[l];
        if (c->text_attn_bias) L->qb = L->kb = L->vb = &llava__present;
        if (c->text_mlp_bias) L->gate_b = L->up_b = L->down_b = &llava__present;
    }
    llava__initer in = {m, seed ? seed : 1, 0, 0};
    llava__walk(m, NULL, llava__init_fn, &in);
    if (c->text_tied) m->head = m->embed;
    int i, half = c->text_head_dim / 2;
    m->inv_freq = in.err ? NULL : (float *)llava__alloc_aligned((size_t)half * sizeof(float) + 1);
    if (in.err || llava__own(m, m->inv_freq) != LLAVA_OK) {
        llava__err("llava_model_new: out of memory for the weights (%zu bytes)", in.err ? in.err_bytes : (size_t)half * sizeof(float) + 1);
        llava_model_free(m);
        return NULL;
    }
    for (i = 0; i < half; i++)
        m->inv_freq[i] = (float)(1.0 / pow(c->text_rope_theta, (double)((float)(2 * i) / (float)c->text_head_dim))) / (float)c->text_rope_linear_factor;
    return m;
}

/* --- a LLaVA assembled from a vision tower and a language model ----------------------------------- */
/* The new embedding row: mean + A z, z standard normal, A A^T = 1e-5 * covariance of the rows (Cholesky);
   the mean alone where the covariance is not positive definite (as transformers' resize falls back). */
static int llava__embed_grow(LlavaModel *m, LlavaWeight *w, int extra_rows, const float *E, int V, int C, uint64_t *rng) {
    const size_t nC = (size_t)C;
    double *mu = (double *)llava__calloc(nC, sizeof *mu), *A = (double *)llava__calloc(nC * nC, sizeof *A);
    float *Xt = (float *)llava__alloc_aligned(nC * (size_t)V * sizeof(float)), *S = (float *)llava__alloc_aligned(nC * nC * sizeof(float));
    float *out = (float *)llava__alloc_aligned(((size_t)V + (size_t)extra_rows) * nC * sizeof(float));
    int i, j, k, r, pd = 1, rc = LLAVA_OK;
    size_t oom = 0;
    llava__ws ws;
    memset(&ws, 0, sizeof ws);
    if (!mu || !A || !Xt || !S || !out) {
        rc = llava__err("out of memory growing the embedding (%zu bytes)", nC * nC * 12 + nC * (size_t)V * 8);
        goto done;
    }
    memcpy(out, E, (size_t)V * nC * sizeof(float));
    for (r = 0; r < V; r++)
        for (i = 0; i < C; i++) mu[i] += E[(size_t)r * nC + i];
    for (i = 0; i < C; i++) mu[i] /= V;
    for (r = 0; r < V; r++) /* the centred rows, transposed: [C][V] */
        for (i = 0; i < C; i++) Xt[(size_t)i * V + r] = (float)(E[(size_t)r * nC + i] - mu[i]);
    ws.oom = &oom; /* (heap scratch; a failure noted, not asserted) */
    llava__gemm(&ws, S, Xt, Xt, LLAVA_F32, 0, NULL, C, V, C, 0); /* S = Xt Xt^T (sums of products) */
    if (oom) {
        rc = llava__err("out of memory for a product's scratch (%zu bytes) growing the embedding", oom);
        goto done;
    }
    for (i = 0; i < C && pd; i++) /* Cholesky of 1e-5 * S / V, in double */
        for (j = 0; j <= i; j++) {
            double v = 1e-5 * (double)S[(size_t)i * nC + j] / V;
            for (k = 0; k < j; k++) v -= A[(size_t)i * nC + k] * A[(size_t)j * nC + k];
            if (i == j) {
                if (!(v > 0.0)) {
                    pd = 0;
                    break;
                }
                A[(size_t)i * nC + i] = sqrt(v);
            } else {
                A[(size_t)i * nC + j] = v / A[(size_t)j * nC + j];
            }
        }
    for (r = 0; r < extra_rows; r++) {
        float *row = out + ((size_t)V + (size_t)r) * nC;
        for (i = 0; i < C; i++) S[i] = pd ? llava__randn(rng) : 0.0f; /* z (S is free now) */
        for (i = 0; i < C; i++) {
            double v = mu[i];
            for (k = 0; pd && k <= i; k++) v += A[(size_t)i * nC + k] * S[k];
            row[i] = (float)v;
        }
    }
    if ((rc = llava__own(m, out)) == LLAVA_OK) {
        w->data = out;
        w->dtype = LLAVA_F32;
        w->rows = V + extra_rows;
        w->cols = C;
    }
    out = NULL; /* (owned, or freed by llava__own) */
done:
    LLAVA_FREE(mu), LLAVA_FREE(A);
    llava__free_aligned(Xt), llava__free_aligned(S), llava__free_aligned(out);
    return rc;
}

/* the vision tower: a CLIP directory's, or a LLaVA model's (kept in *keep) */
static int llava__assemble_vision(LlavaModel *m, const char *dir, LlavaModel **keep) {
    LlavaConfig *c = &m->cfg;
    char *path = llava__path_join(dir, "config.json");
    size_t n = 0;
    char *text = path ? llava_read_file(path, 1 << 24, &n) : NULL;
    LlavaJson j;
    int rc = text ? llava_json_parse(&j, text, n, path) : path ? LLAVA_ERR : llava__err("out of memory for the paths of %s", dir);
    const llava__tensors *ts = NULL;
    const char *vp = NULL;
    if (rc == LLAVA_OK) {
        llava__cfgr r = {&j, path, LLAVA_OK};
        const LlavaJsonNode *root = &j.nodes[0];
        const char *type = root->type == LLAVA_JSON_OBJ ? llava__cfg_str(&r, root, "", "model_type", "") : "";
        if (!strcmp(type, "clip_vision_model") || !strcmp(type, "clip")) {
            const LlavaJsonNode *sub = llava__cfg_get(&r, root, "vision_config");
            static const char *const vps[] = {"vision_model.", "vision_tower.vision_model."};
            llava__config_vision(c, &r, sub ? sub : root, sub ? "vision_config." : "", 0);
            rc = r.rc;
            if (rc == LLAVA_OK) {
                char *pre = llava__path_join(dir, "preprocessor_config.json");
                if (!pre) rc = llava__err("out of memory");
                else if (llava_file_exists(pre)) rc = llava__config_preprocessor(c, pre);
                else llava_preprocess_defaults(c, c->vision_image_size);
                LLAVA_FREE(pre);
            }
            if (rc == LLAVA_OK) rc = llava__tensors_load_dir(&m->vfiles, dir);
            if (rc == LLAVA_OK && !(vp = llava__probe(&m->vfiles, vps, 2, "embeddings.patch_embedding.weight")))
                rc = llava__err("%s: no CLIP vision weights (vision_model.embeddings.patch_embedding.weight)", dir);
            ts = &m->vfiles;
        } else if (root->type == LLAVA_JSON_OBJ) {
            LlavaModel *v = *keep = llava_model_load(dir);
            if (!v) rc = LLAVA_ERR;
            else if (v->cfg.text_only) rc = llava__err("%s: a language model alone has no vision tower", dir);
            else {
                const LlavaConfig *vc = &v->cfg; /* the tower's fields, then the preprocessing's (each a run of LlavaConfig) */
                memcpy(&c->vision_image_size, &vc->vision_image_size, offsetof(LlavaConfig, vision_feature_layer) - offsetof(LlavaConfig, vision_image_size));
                memcpy(&c->pre_pad, &vc->pre_pad, offsetof(LlavaConfig, pre_alpha_white) + sizeof c->pre_alpha_white - offsetof(LlavaConfig, pre_pad));
                ts = v->vsrc, vp = v->vprefix;
            }
        } else {
            rc = llava__err("%s: not a JSON object", path);
        }
    }
    if (rc == LLAVA_OK) rc = llava__config_check(c, path);
    if (rc == LLAVA_OK) rc = llava__load_vision(m, ts, vp);
    if (text) llava_json_free(&j);
    LLAVA_FREE(text), LLAVA_FREE(path);
    return rc;
}

LLAVADEF LlavaModel *llava_model_assemble(const char *vision, const char *lm, int vision_feature_layer, int select_full, uint64_t seed) {
    LlavaModel *m = llava__model_alloc(), *l;
    LlavaConfig *c = m ? &m->cfg : NULL;
    LlavaTokenizer *tok = NULL;
    uint64_t rng = seed ? seed : 1;
    int rc, i;
    if (!m) return NULL;
    l = m->parts[1] = llava_model_load(lm);
    rc = l ? LLAVA_OK : LLAVA_ERR;
    if (rc == LLAVA_OK && !l->cfg.text_only)
        rc = llava__err("%s: a LLaVA, not a language model alone (a LlamaForCausalLM-family directory or a GGUF file)", lm);
    if (rc == LLAVA_OK) { /* the language model's half of the configuration, then the tower's */
        const LlavaConfig *lc = &l->cfg;
        memcpy(c, lc, sizeof *c);
        c->text_only = 0;
        c->vision_feature_layer = vision_feature_layer;
        c->vision_select_full = select_full ? 1 : 0;
        c->proj_layers = 2;
        c->proj_act = LLAVA_ACT_GELU;
        c->proj_bias = 1;
        c->image_token_expands = 0;
    }
    /* "<image>": the tokenizer's next id, the embedding grown to hold it (below) */
    if (rc == LLAVA_OK && !(tok = llava_tokenizer_load(lm))) rc = LLAVA_ERR;
    if (rc == LLAVA_OK && llava_token_id(tok, "<image>") >= 0)
        rc = llava__err("%s: the tokenizer already has \"<image>\" (id %d): its model is not a language model alone", lm, llava_token_id(tok, "<image>"));
    const int id = tok ? llava_tokenizer_vocab_size(tok) : 0, grow = l ? LLAVA__MAX(0, id + 1 - l->cfg.text_vocab) : 0;
    if (rc == LLAVA_OK) {
        c->image_token_id = m->tok_image = id;
        c->text_vocab += grow;
        rc = llava__assemble_vision(m, vision, &m->parts[0]);
    }
    if (rc == LLAVA_OK) {
        const int V = l->cfg.text_vocab, C = l->cfg.text_hidden;
        m->embed = l->embed;
        m->head = l->head;
        if (grow) {
            float *E = (float *)llava__alloc_aligned((size_t)V * C * sizeof(float));
            if (!E) rc = llava__err("out of memory (%zu bytes)", (size_t)V * C * sizeof(float));
            else llava__to_f32(E, l->embed.data, l->embed.dtype, (size_t)V * C);
            if (rc == LLAVA_OK) rc = llava__embed_grow(m, &m->embed, grow, E, V, C, &rng);
            if (rc == LLAVA_OK && !c->text_tied) { /* lm_head's new rows from the embedding's distribution too, as the script draws them */
                LlavaWeight h;
                rc = llava__embed_grow(m, &h, grow, E, V, C, &rng);
                if (rc == LLAVA_OK) llava__to_f32((float *)(uintptr_t)h.data, l->head.data, l->head.dtype, (size_t)V * C), m->head = h;
            }
            llava__free_aligned(E);
        }
        if (c->text_tied) m->head = m->embed;
    }
    if (rc == LLAVA_OK) { /* the decoder's other tensors as loaded */
        m->tl = (llava__tlayer *)llava__calloc((size_t)c->text_layers, sizeof *m->tl);
        if (!m->tl) rc = llava__err("out of memory");
        else memcpy(m->tl, l->tl, (size_t)c->text_layers * sizeof *m->tl);
        m->norm = l->norm;
        m->inv_freq = l->inv_freq;
    }
    for (i = 0; rc == LLAVA_OK && i < 2; i++) { /* the projector: normal(0, 0.02) weights, zero biases */
        const int in = i == 0 ? c->vision_hidden : c->text_hidden, C = c->text_hidden;
        float *w = (float *)llava__alloc_aligned((size_t)C * in * sizeof(float) + 1), *b;
        size_t k;
        if ((rc = llava__own(m, w)) != LLAVA_OK) break;
        b = (float *)llava__alloc_aligned((size_t)C * sizeof(float) + 1);
        if ((rc = llava__own(m, b)) != LLAVA_OK) break;
        for (k = 0; k < (size_t)C * in; k++) w[k] = 0.02f * llava__randn(&rng);
        memset(b, 0, (size_t)C * sizeof(float));
        m->proj[i].data = w, m->proj[i].dtype = LLAVA_F32, m->proj[i].rows = C, m->proj[i].cols = in;
        m->proj_b[i] = b;
    }
    if (rc == LLAVA_OK) rc = llava__config_check(c, "llava_model_assemble");
    /* where the tokenizer files come from when saving: the LM's directory, or its GGUF file (written out) */
    if (rc == LLAVA_OK && !(m->dir = llava__strdup(l->dir ? l->dir : lm))) rc = llava__err("out of memory");
    llava_tokenizer_free(tok);
    if (rc != LLAVA_OK) {
        llava_model_free(m);
        return NULL;
    }
    return m;
}

/* --- the trainer's own state beside the model ----------------------------------------------------- */
static int llava__trainer_write(LlavaTrainer *t, const char *dir) {
    LlavaBackend *be = t->m->b;
    int rc = LLAVA_OK, i, k = 0;
    llava__st_entry *e = (llava__st_entry *)llava__calloc((size_t)t->n_params * 2 + 1, sizeof *e);
    char **names = (char **)llava__calloc((size_t)t->n_params * 2 + 1, sizeof *names);
    float **held = (float **)llava__calloc((size_t)t->n_params * 2 + 1, sizeof *held); /* host copies (backend memory elsewhere) */
    if (!e || !names || !held)
        rc = llava__err("out of memory for the optimizer state's table (%zu bytes)", ((size_t)t->n_params * 2 + 1) * (sizeof *e + sizeof *names + sizeof *held));
    for (i = 0; i < t->n_params && rc == LLAVA_OK; i++) {
        const llava__tparam *p = &t->p[i];
        int j;
        if (p->group < 0) continue;
        for (j = 0; j < 2; j++) {
            size_t l = strlen(p->name) + 16;
            names[k] = (char *)LLAVA_MALLOC(l);
            if (!names[k]) {
                rc = llava__err("out of memory for a tensor name (%zu bytes)", l);
                break;
            }
            snprintf(names[k], l, "%s.%s", p->name, j ? "exp_avg_sq" : "exp_avg");
            e[k].name = names[k];
            e[k].dtype = LLAVA_F32;
            e[k].ndim = 1;
            e[k].shape[0] = (int64_t)p->n;
            e[k].data = j ? p->v : p->m;
            if (!be->host_memory) {
                if (!(held[k] = (float *)LLAVA_MALLOC(p->n * sizeof(float) + 1))) {
                    rc = llava__err("out of memory for a copy of %s (%zu bytes)", names[k], p->n * sizeof(float) + 1);
                    k++;
                    break;
                }
                if ((rc = be->download(be, held[k], e[k].data, p->n * sizeof(float))) != LLAVA_OK) {
                    k++;
                    break;
                }
                e[k].data = held[k];
            }
            k++;
        }
    }
    char *path = llava__path_join(dir, "optimizer.safetensors");
    if (rc == LLAVA_OK) rc = path ? llava__st_write(path, e, k) : llava__err("out of memory for the path of %s/optimizer.safetensors", dir);
    LLAVA_FREE(path);
    for (i = 0; i < k; i++) LLAVA_FREE(names[i]), LLAVA_FREE(held[i]);
    LLAVA_FREE(names), LLAVA_FREE(e), LLAVA_FREE(held);
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
        rc = sp ? llava_write_text(sp, b) : llava__err("out of memory for the path of %s/trainer_state.json", dir);
        LLAVA_FREE(sp);
    }
    return rc;
}

/* the model, the optimizer's state and trainer_state.json, written whole into a temporary directory,
   then swapped in (llava__dirsave_begin) */
LLAVADEF int llava_trainer_save(LlavaTrainer *t, const char *dir) {
    llava__dirsave ds;
    int rc;
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    if ((rc = llava__save_check(t->m, LLAVA_F32, NULL, 0)) != LLAVA_OK) return rc;
    if ((rc = llava__dirsave_begin(&ds, dir)) != LLAVA_OK) return rc;
    rc = llava__model_write(t->m, ds.out, LLAVA_F32, NULL, 0);
    if (rc == LLAVA_OK) rc = llava__trainer_write(t, ds.out);
    return llava__dirsave_end(&ds, rc);
}

LLAVADEF int llava_trainer_resume(LlavaTrainer *t, const char *dir) {
    int rc, i;
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    char *prev = llava__dir_fallback(dir); /* a save interrupted between its renames: the previous checkpoint */
    if (prev) {
        rc = llava_trainer_resume(t, prev);
        LLAVA_FREE(prev);
        return rc;
    }
    char *sp = llava__path_join(dir, "trainer_state.json");
    size_t n;
    char *text = sp ? llava_read_file(sp, 1 << 20, &n) : NULL;
    LlavaJson j;
    rc = text ? llava_json_parse(&j, text, n, sp) : sp ? LLAVA_ERR : llava__err("out of memory for the path of %s/trainer_state.json", dir);
    if (rc == LLAVA_OK) {
        const LlavaJsonNode *st = llava_json_get(&j, &j.nodes[0], "step"), *gs = llava_json_get(&j, &j.nodes[0], "groups");
        if (!st || st->type != LLAVA_JSON_NUM || !(st->num >= 0 && st->num <= 2.0e9) || !gs || gs->type != LLAVA_JSON_ARR)
            rc = llava__err("%s: no step or groups", sp);
        else if (gs->count != t->n_groups)
            rc = llava__err("%s: saved with %d parameter groups, this trainer has %d", sp, gs->count, t->n_groups);
        else {
            const LlavaJsonNode *g = llava_json_first(&j, gs);
            for (i = 0; g && rc == LLAVA_OK; g = llava_json_next(&j, g), i++) {
                const LlavaJsonNode *pf = llava_json_get(&j, g, "prefix");
                if (!pf || pf->type != LLAVA_JSON_STR || strcmp(pf->str, t->groups[i].prefix))
                    rc = llava__err("%s: group %d is \"%s\", this trainer's is \"%s\"", sp, i, pf && pf->type == LLAVA_JSON_STR ? pf->str : "?",
                                    t->groups[i].prefix);
            }
            t->step = (int)st->num;
        }
    }
    if (text) llava_json_free(&j);
    LLAVA_FREE(text), LLAVA_FREE(sp);
    if (rc != LLAVA_OK) return rc;
    llava__tensors ts;
    memset(&ts, 0, sizeof ts);
    char *op = llava__path_join(dir, "optimizer.safetensors");
    rc = op ? llava__st_add(&ts, op) : llava__err("out of memory for the path of %s/optimizer.safetensors", dir);
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
            else rc = t->m->b->upload(t->m->b, k ? p->v : p->m, tt->data, p->n * sizeof(float));
        }
    }
    llava__tensors_free(&ts);
    LLAVA_FREE(op);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
   10. Tokenizer: Hugging Face tokenizer.json, encoded and decoded as the `tokenizers` library does.
       Pipeline (tokenizers/src/tokenizer/mod.rs, encode_single_sequence):
         added tokens matched on the raw text (those with normalized=false)
         -> normalizer on the rest -> added tokens matched on the normalized text (normalized=true)
         -> pre-tokenizer splits the rest into pieces -> BPE model on each piece -> post-processor.
       Every step keeps, for each byte, the offset in the input it came from, so the conversation
       templates can find which tokens an answer covers.
   ------------------------------------------------------------------------------------------------ */

/* --- Unicode categories (generated; see tools/py/gen_unicode_tables.py) ----------------------------- */
/* BEGIN GENERATED UNICODE TABLES (tools/py/gen_unicode_tables.py, Unicode 14.0.0) */
/* \p{L}: Lu Ll Lt Lm Lo */
static const uint32_t llava__tok_uc_letter[648][2] = {
    {0x41,0x5A},{0x61,0x7A},{0xAA,0xAA},{0xB5,0xB5},{0xBA,0xBA},{0xC0,0xD6},{0xD8,0xF6},{0xF8,0x2C1},
    {0x2C6,0x2D1},{0x2E0,0x2E4},{0x2EC,0x2EC},{0x2EE,0x2EE},{0x370,0x374},{0x376,0x377},{0x37A,0x37D},{0x37F,0x37F},
    {0x386,0x386},{0x388,0x38A},{0x38C,0x38C},{0x38E,0x3A1},{0x3A3,0x3F5},{0x3F7,0x481},{0x48A,0x52F},{0x531,0x556},
    {0x559,0x559},{0x560,0x588},{0x5D0,0x5EA},{0x5EF,0x5F2},{0x620,0x64A},{0x66E,0x66F},{0x671,0x6D3},{0x6D5,0x6D5},
    {0x6E5,0x6E6},{0x6EE,0x6EF},{0x6FA,0x6FC},{0x6FF,0x6FF},{0x710,0x710},{0x712,0x72F},{0x74D,0x7A5},{0x7B1,0x7B1},
    {0x7CA,0x7EA},{0x7F4,0x7F5},{0x7FA,0x7FA},{0x800,0x815},{0x81A,0x81A},{0x824,0x824},{0x828,0x828},{0x840,0x858},
    {0x860,0x86A},{0x870,0x887},{0x889,0x88E},{0x8A0,0x8C9},{0x904,0x939},{0x93D,0x93D},{0x950,0x950},{0x958,0x961},
    {0x971,0x980},{0x985,0x98C},{0x98F,0x990},{0x993,0x9A8},{0x9AA,0x9B0},{0x9B2,0x9B2},{0x9B6,0x9B9},{0x9BD,0x9BD},
    {0x9CE,0x9CE},{0x9DC,0x9DD},{0x9DF,0x9E1},{0x9F0,0x9F1},{0x9FC,0x9FC},{0xA05,0xA0A},{0xA0F,0xA10},{0xA13,0xA28},
    {0xA2A,0xA30},{0xA32,0xA33},{0xA35,0xA36},{0xA38,0xA39},{0xA59,0xA5C},{0xA5E,0xA5E},{0xA72,0xA74},{0xA85,0xA8D},
    {0xA8F,0xA91},{0xA93,0xAA8},{0xAAA,0xAB0},{0xAB2,0xAB3},{0xAB5,0xAB9},{0xABD,0xABD},{0xAD0,0xAD0},{0xAE0,0xAE1},
    {0xAF9,0xAF9},{0xB05,0xB0C},{0xB0F,0xB10},{0xB13,0xB28},{0xB2A,0xB30},{0xB32,0xB33},{0xB35,0xB39},{0xB3D,0xB3D},
    {0xB5C,0xB5D},{0xB5F,0xB61},{0xB71,0xB71},{0xB83,0xB83},{0xB85,0xB8A},{0xB8E,0xB90},{0xB92,0xB95},{0xB99,0xB9A},
    {0xB9C,0xB9C},{0xB9E,0xB9F},{0xBA3,0xBA4},{0xBA8,0xBAA},{0xBAE,0xBB9},{0xBD0,0xBD0},{0xC05,0xC0C},{0xC0E,0xC10},
    {0xC12,0xC28},{0xC2A,0xC39},{0xC3D,0xC3D},{0xC58,0xC5A},{0xC5D,0xC5D},{0xC60,0xC61},{0xC80,0xC80},{0xC85,0xC8C},
    {0xC8E,0xC90},{0xC92,0xCA8},{0xCAA,0xCB3},{0xCB5,0xCB9},{0xCBD,0xCBD},{0xCDD,0xCDE},{0xCE0,0xCE1},{0xCF1,0xCF2},
    {0xD04,0xD0C},{0xD0E,0xD10},{0xD12,0xD3A},{0xD3D,0xD3D},{0xD4E,0xD4E},{0xD54,0xD56},{0xD5F,0xD61},{0xD7A,0xD7F},
    {0xD85,0xD96},{0xD9A,0xDB1},{0xDB3,0xDBB},{0xDBD,0xDBD},{0xDC0,0xDC6},{0xE01,0xE30},{0xE32,0xE33},{0xE40,0xE46},
    {0xE81,0xE82},{0xE84,0xE84},{0xE86,0xE8A},{0xE8C,0xEA3},{0xEA5,0xEA5},{0xEA7,0xEB0},{0xEB2,0xEB3},{0xEBD,0xEBD},
    {0xEC0,0xEC4},{0xEC6,0xEC6},{0xEDC,0xEDF},{0xF00,0xF00},{0xF40,0xF47},{0xF49,0xF6C},{0xF88,0xF8C},{0x1000,0x102A},
    {0x103F,0x103F},{0x1050,0x1055},{0x105A,0x105D},{0x1061,0x1061},{0x1065,0x1066},{0x106E,0x1070},{0x1075,0x1081},{0x108E,0x108E},
    {0x10A0,0x10C5},{0x10C7,0x10C7},{0x10CD,0x10CD},{0x10D0,0x10FA},{0x10FC,0x1248},{0x124A,0x124D},{0x1250,0x1256},{0x1258,0x1258},
    {0x125A,0x125D},{0x1260,0x1288},{0x128A,0x128D},{0x1290,0x12B0},{0x12B2,0x12B5},{0x12B8,0x12BE},{0x12C0,0x12C0},{0x12C2,0x12C5},
    {0x12C8,0x12D6},{0x12D8,0x1310},{0x1312,0x1315},{0x1318,0x135A},{0x1380,0x138F},{0x13A0,0x13F5},{0x13F8,0x13FD},{0x1401,0x166C},
    {0x166F,0x167F},{0x1681,0x169A},{0x16A0,0x16EA},{0x16F1,0x16F8},{0x1700,0x1711},{0x171F,0x1731},{0x1740,0x1751},{0x1760,0x176C},
    {0x176E,0x1770},{0x1780,0x17B3},{0x17D7,0x17D7},{0x17DC,0x17DC},{0x1820,0x1878},{0x1880,0x1884},{0x1887,0x18A8},{0x18AA,0x18AA},
    {0x18B0,0x18F5},{0x1900,0x191E},{0x1950,0x196D},{0x1970,0x1974},{0x1980,0x19AB},{0x19B0,0x19C9},{0x1A00,0x1A16},{0x1A20,0x1A54},
    {0x1AA7,0x1AA7},{0x1B05,0x1B33},{0x1B45,0x1B4C},{0x1B83,0x1BA0},{0x1BAE,0x1BAF},{0x1BBA,0x1BE5},{0x1C00,0x1C23},{0x1C4D,0x1C4F},
    {0x1C5A,0x1C7D},{0x1C80,0x1C88},{0x1C90,0x1CBA},{0x1CBD,0x1CBF},{0x1CE9,0x1CEC},{0x1CEE,0x1CF3},{0x1CF5,0x1CF6},{0x1CFA,0x1CFA},
    {0x1D00,0x1DBF},{0x1E00,0x1F15},{0x1F18,0x1F1D},{0x1F20,0x1F45},{0x1F48,0x1F4D},{0x1F50,0x1F57},{0x1F59,0x1F59},{0x1F5B,0x1F5B},
    {0x1F5D,0x1F5D},{0x1F5F,0x1F7D},{0x1F80,0x1FB4},{0x1FB6,0x1FBC},{0x1FBE,0x1FBE},{0x1FC2,0x1FC4},{0x1FC6,0x1FCC},{0x1FD0,0x1FD3},
    {0x1FD6,0x1FDB},{0x1FE0,0x1FEC},{0x1FF2,0x1FF4},{0x1FF6,0x1FFC},{0x2071,0x2071},{0x207F,0x207F},{0x2090,0x209C},{0x2102,0x2102},
    {0x2107,0x2107},{0x210A,0x2113},{0x2115,0x2115},{0x2119,0x211D},{0x2124,0x2124},{0x2126,0x2126},{0x2128,0x2128},{0x212A,0x212D},
    {0x212F,0x2139},{0x213C,0x213F},{0x2145,0x2149},{0x214E,0x214E},{0x2183,0x2184},{0x2C00,0x2CE4},{0x2CEB,0x2CEE},{0x2CF2,0x2CF3},
    {0x2D00,0x2D25},{0x2D27,0x2D27},{0x2D2D,0x2D2D},{0x2D30,0x2D67},{0x2D6F,0x2D6F},{0x2D80,0x2D96},{0x2DA0,0x2DA6},{0x2DA8,0x2DAE},
    {0x2DB0,0x2DB6},{0x2DB8,0x2DBE},{0x2DC0,0x2DC6},{0x2DC8,0x2DCE},{0x2DD0,0x2DD6},{0x2DD8,0x2DDE},{0x2E2F,0x2E2F},{0x3005,0x3006},
    {0x3031,0x3035},{0x303B,0x303C},{0x3041,0x3096},{0x309D,0x309F},{0x30A1,0x30FA},{0x30FC,0x30FF},{0x3105,0x312F},{0x3131,0x318E},
    {0x31A0,0x31BF},{0x31F0,0x31FF},{0x3400,0x4DBF},{0x4E00,0xA48C},{0xA4D0,0xA4FD},{0xA500,0xA60C},{0xA610,0xA61F},{0xA62A,0xA62B},
    {0xA640,0xA66E},{0xA67F,0xA69D},{0xA6A0,0xA6E5},{0xA717,0xA71F},{0xA722,0xA788},{0xA78B,0xA7CA},{0xA7D0,0xA7D1},{0xA7D3,0xA7D3},
    {0xA7D5,0xA7D9},{0xA7F2,0xA801},{0xA803,0xA805},{0xA807,0xA80A},{0xA80C,0xA822},{0xA840,0xA873},{0xA882,0xA8B3},{0xA8F2,0xA8F7},
    {0xA8FB,0xA8FB},{0xA8FD,0xA8FE},{0xA90A,0xA925},{0xA930,0xA946},{0xA960,0xA97C},{0xA984,0xA9B2},{0xA9CF,0xA9CF},{0xA9E0,0xA9E4},
    {0xA9E6,0xA9EF},{0xA9FA,0xA9FE},{0xAA00,0xAA28},{0xAA40,0xAA42},{0xAA44,0xAA4B},{0xAA60,0xAA76},{0xAA7A,0xAA7A},{0xAA7E,0xAAAF},
    {0xAAB1,0xAAB1},{0xAAB5,0xAAB6},{0xAAB9,0xAABD},{0xAAC0,0xAAC0},{0xAAC2,0xAAC2},{0xAADB,0xAADD},{0xAAE0,0xAAEA},{0xAAF2,0xAAF4},
    {0xAB01,0xAB06},{0xAB09,0xAB0E},{0xAB11,0xAB16},{0xAB20,0xAB26},{0xAB28,0xAB2E},{0xAB30,0xAB5A},{0xAB5C,0xAB69},{0xAB70,0xABE2},
    {0xAC00,0xD7A3},{0xD7B0,0xD7C6},{0xD7CB,0xD7FB},{0xF900,0xFA6D},{0xFA70,0xFAD9},{0xFB00,0xFB06},{0xFB13,0xFB17},{0xFB1D,0xFB1D},
    {0xFB1F,0xFB28},{0xFB2A,0xFB36},{0xFB38,0xFB3C},{0xFB3E,0xFB3E},{0xFB40,0xFB41},{0xFB43,0xFB44},{0xFB46,0xFBB1},{0xFBD3,0xFD3D},
    {0xFD50,0xFD8F},{0xFD92,0xFDC7},{0xFDF0,0xFDFB},{0xFE70,0xFE74},{0xFE76,0xFEFC},{0xFF21,0xFF3A},{0xFF41,0xFF5A},{0xFF66,0xFFBE},
    {0xFFC2,0xFFC7},{0xFFCA,0xFFCF},{0xFFD2,0xFFD7},{0xFFDA,0xFFDC},{0x10000,0x1000B},{0x1000D,0x10026},{0x10028,0x1003A},{0x1003C,0x1003D},
    {0x1003F,0x1004D},{0x10050,0x1005D},{0x10080,0x100FA},{0x10280,0x1029C},{0x102A0,0x102D0},{0x10300,0x1031F},{0x1032D,0x10340},{0x10342,0x10349},
    {0x10350,0x10375},{0x10380,0x1039D},{0x103A0,0x103C3},{0x103C8,0x103CF},{0x10400,0x1049D},{0x104B0,0x104D3},{0x104D8,0x104FB},{0x10500,0x10527},
    {0x10530,0x10563},{0x10570,0x1057A},{0x1057C,0x1058A},{0x1058C,0x10592},{0x10594,0x10595},{0x10597,0x105A1},{0x105A3,0x105B1},{0x105B3,0x105B9},
    {0x105BB,0x105BC},{0x10600,0x10736},{0x10740,0x10755},{0x10760,0x10767},{0x10780,0x10785},{0x10787,0x107B0},{0x107B2,0x107BA},{0x10800,0x10805},
    {0x10808,0x10808},{0x1080A,0x10835},{0x10837,0x10838},{0x1083C,0x1083C},{0x1083F,0x10855},{0x10860,0x10876},{0x10880,0x1089E},{0x108E0,0x108F2},
    {0x108F4,0x108F5},{0x10900,0x10915},{0x10920,0x10939},{0x10980,0x109B7},{0x109BE,0x109BF},{0x10A00,0x10A00},{0x10A10,0x10A13},{0x10A15,0x10A17},
    {0x10A19,0x10A35},{0x10A60,0x10A7C},{0x10A80,0x10A9C},{0x10AC0,0x10AC7},{0x10AC9,0x10AE4},{0x10B00,0x10B35},{0x10B40,0x10B55},{0x10B60,0x10B72},
    {0x10B80,0x10B91},{0x10C00,0x10C48},{0x10C80,0x10CB2},{0x10CC0,0x10CF2},{0x10D00,0x10D23},{0x10E80,0x10EA9},{0x10EB0,0x10EB1},{0x10F00,0x10F1C},
    {0x10F27,0x10F27},{0x10F30,0x10F45},{0x10F70,0x10F81},{0x10FB0,0x10FC4},{0x10FE0,0x10FF6},{0x11003,0x11037},{0x11071,0x11072},{0x11075,0x11075},
    {0x11083,0x110AF},{0x110D0,0x110E8},{0x11103,0x11126},{0x11144,0x11144},{0x11147,0x11147},{0x11150,0x11172},{0x11176,0x11176},{0x11183,0x111B2},
    {0x111C1,0x111C4},{0x111DA,0x111DA},{0x111DC,0x111DC},{0x11200,0x11211},{0x11213,0x1122B},{0x11280,0x11286},{0x11288,0x11288},{0x1128A,0x1128D},
    {0x1128F,0x1129D},{0x1129F,0x112A8},{0x112B0,0x112DE},{0x11305,0x1130C},{0x1130F,0x11310},{0x11313,0x11328},{0x1132A,0x11330},{0x11332,0x11333},
    {0x11335,0x11339},{0x1133D,0x1133D},{0x11350,0x11350},{0x1135D,0x11361},{0x11400,0x11434},{0x11447,0x1144A},{0x1145F,0x11461},{0x11480,0x114AF},
    {0x114C4,0x114C5},{0x114C7,0x114C7},{0x11580,0x115AE},{0x115D8,0x115DB},{0x11600,0x1162F},{0x11644,0x11644},{0x11680,0x116AA},{0x116B8,0x116B8},
    {0x11700,0x1171A},{0x11740,0x11746},{0x11800,0x1182B},{0x118A0,0x118DF},{0x118FF,0x11906},{0x11909,0x11909},{0x1190C,0x11913},{0x11915,0x11916},
    {0x11918,0x1192F},{0x1193F,0x1193F},{0x11941,0x11941},{0x119A0,0x119A7},{0x119AA,0x119D0},{0x119E1,0x119E1},{0x119E3,0x119E3},{0x11A00,0x11A00},
    {0x11A0B,0x11A32},{0x11A3A,0x11A3A},{0x11A50,0x11A50},{0x11A5C,0x11A89},{0x11A9D,0x11A9D},{0x11AB0,0x11AF8},{0x11C00,0x11C08},{0x11C0A,0x11C2E},
    {0x11C40,0x11C40},{0x11C72,0x11C8F},{0x11D00,0x11D06},{0x11D08,0x11D09},{0x11D0B,0x11D30},{0x11D46,0x11D46},{0x11D60,0x11D65},{0x11D67,0x11D68},
    {0x11D6A,0x11D89},{0x11D98,0x11D98},{0x11EE0,0x11EF2},{0x11FB0,0x11FB0},{0x12000,0x12399},{0x12480,0x12543},{0x12F90,0x12FF0},{0x13000,0x1342E},
    {0x14400,0x14646},{0x16800,0x16A38},{0x16A40,0x16A5E},{0x16A70,0x16ABE},{0x16AD0,0x16AED},{0x16B00,0x16B2F},{0x16B40,0x16B43},{0x16B63,0x16B77},
    {0x16B7D,0x16B8F},{0x16E40,0x16E7F},{0x16F00,0x16F4A},{0x16F50,0x16F50},{0x16F93,0x16F9F},{0x16FE0,0x16FE1},{0x16FE3,0x16FE3},{0x17000,0x187F7},
    {0x18800,0x18CD5},{0x18D00,0x18D08},{0x1AFF0,0x1AFF3},{0x1AFF5,0x1AFFB},{0x1AFFD,0x1AFFE},{0x1B000,0x1B122},{0x1B150,0x1B152},{0x1B164,0x1B167},
    {0x1B170,0x1B2FB},{0x1BC00,0x1BC6A},{0x1BC70,0x1BC7C},{0x1BC80,0x1BC88},{0x1BC90,0x1BC99},{0x1D400,0x1D454},{0x1D456,0x1D49C},{0x1D49E,0x1D49F},
    {0x1D4A2,0x1D4A2},{0x1D4A5,0x1D4A6},{0x1D4A9,0x1D4AC},{0x1D4AE,0x1D4B9},{0x1D4BB,0x1D4BB},{0x1D4BD,0x1D4C3},{0x1D4C5,0x1D505},{0x1D507,0x1D50A},
    {0x1D50D,0x1D514},{0x1D516,0x1D51C},{0x1D51E,0x1D539},{0x1D53B,0x1D53E},{0x1D540,0x1D544},{0x1D546,0x1D546},{0x1D54A,0x1D550},{0x1D552,0x1D6A5},
    {0x1D6A8,0x1D6C0},{0x1D6C2,0x1D6DA},{0x1D6DC,0x1D6FA},{0x1D6FC,0x1D714},{0x1D716,0x1D734},{0x1D736,0x1D74E},{0x1D750,0x1D76E},{0x1D770,0x1D788},
    {0x1D78A,0x1D7A8},{0x1D7AA,0x1D7C2},{0x1D7C4,0x1D7CB},{0x1DF00,0x1DF1E},{0x1E100,0x1E12C},{0x1E137,0x1E13D},{0x1E14E,0x1E14E},{0x1E290,0x1E2AD},
    {0x1E2C0,0x1E2EB},{0x1E7E0,0x1E7E6},{0x1E7E8,0x1E7EB},{0x1E7ED,0x1E7EE},{0x1E7F0,0x1E7FE},{0x1E800,0x1E8C4},{0x1E900,0x1E943},{0x1E94B,0x1E94B},
    {0x1EE00,0x1EE03},{0x1EE05,0x1EE1F},{0x1EE21,0x1EE22},{0x1EE24,0x1EE24},{0x1EE27,0x1EE27},{0x1EE29,0x1EE32},{0x1EE34,0x1EE37},{0x1EE39,0x1EE39},
    {0x1EE3B,0x1EE3B},{0x1EE42,0x1EE42},{0x1EE47,0x1EE47},{0x1EE49,0x1EE49},{0x1EE4B,0x1EE4B},{0x1EE4D,0x1EE4F},{0x1EE51,0x1EE52},{0x1EE54,0x1EE54},
    {0x1EE57,0x1EE57},{0x1EE59,0x1EE59},{0x1EE5B,0x1EE5B},{0x1EE5D,0x1EE5D},{0x1EE5F,0x1EE5F},{0x1EE61,0x1EE62},{0x1EE64,0x1EE64},{0x1EE67,0x1EE6A},
    {0x1EE6C,0x1EE72},{0x1EE74,0x1EE77},{0x1EE79,0x1EE7C},{0x1EE7E,0x1EE7E},{0x1EE80,0x1EE89},{0x1EE8B,0x1EE9B},{0x1EEA1,0x1EEA3},{0x1EEA5,0x1EEA9},
    {0x1EEAB,0x1EEBB},{0x20000,0x2A6DF},{0x2A700,0x2B738},{0x2B740,0x2B81D},{0x2B820,0x2CEA1},{0x2CEB0,0x2EBE0},{0x2F800,0x2FA1D},{0x30000,0x3134A},
};
/* \p{N}: Nd Nl No */
static const uint32_t llava__tok_uc_number[134][2] = {
    {0x30,0x39},{0xB2,0xB3},{0xB9,0xB9},{0xBC,0xBE},{0x660,0x669},{0x6F0,0x6F9},{0x7C0,0x7C9},{0x966,0x96F},
    {0x9E6,0x9EF},{0x9F4,0x9F9},{0xA66,0xA6F},{0xAE6,0xAEF},{0xB66,0xB6F},{0xB72,0xB77},{0xBE6,0xBF2},{0xC66,0xC6F},
    {0xC78,0xC7E},{0xCE6,0xCEF},{0xD58,0xD5E},{0xD66,0xD78},{0xDE6,0xDEF},{0xE50,0xE59},{0xED0,0xED9},{0xF20,0xF33},
    {0x1040,0x1049},{0x1090,0x1099},{0x1369,0x137C},{0x16EE,0x16F0},{0x17E0,0x17E9},{0x17F0,0x17F9},{0x1810,0x1819},{0x1946,0x194F},
    {0x19D0,0x19DA},{0x1A80,0x1A89},{0x1A90,0x1A99},{0x1B50,0x1B59},{0x1BB0,0x1BB9},{0x1C40,0x1C49},{0x1C50,0x1C59},{0x2070,0x2070},
    {0x2074,0x2079},{0x2080,0x2089},{0x2150,0x2182},{0x2185,0x2189},{0x2460,0x249B},{0x24EA,0x24FF},{0x2776,0x2793},{0x2CFD,0x2CFD},
    {0x3007,0x3007},{0x3021,0x3029},{0x3038,0x303A},{0x3192,0x3195},{0x3220,0x3229},{0x3248,0x324F},{0x3251,0x325F},{0x3280,0x3289},
    {0x32B1,0x32BF},{0xA620,0xA629},{0xA6E6,0xA6EF},{0xA830,0xA835},{0xA8D0,0xA8D9},{0xA900,0xA909},{0xA9D0,0xA9D9},{0xA9F0,0xA9F9},
    {0xAA50,0xAA59},{0xABF0,0xABF9},{0xFF10,0xFF19},{0x10107,0x10133},{0x10140,0x10178},{0x1018A,0x1018B},{0x102E1,0x102FB},{0x10320,0x10323},
    {0x10341,0x10341},{0x1034A,0x1034A},{0x103D1,0x103D5},{0x104A0,0x104A9},{0x10858,0x1085F},{0x10879,0x1087F},{0x108A7,0x108AF},{0x108FB,0x108FF},
    {0x10916,0x1091B},{0x109BC,0x109BD},{0x109C0,0x109CF},{0x109D2,0x109FF},{0x10A40,0x10A48},{0x10A7D,0x10A7E},{0x10A9D,0x10A9F},{0x10AEB,0x10AEF},
    {0x10B58,0x10B5F},{0x10B78,0x10B7F},{0x10BA9,0x10BAF},{0x10CFA,0x10CFF},{0x10D30,0x10D39},{0x10E60,0x10E7E},{0x10F1D,0x10F26},{0x10F51,0x10F54},
    {0x10FC5,0x10FCB},{0x11052,0x1106F},{0x110F0,0x110F9},{0x11136,0x1113F},{0x111D0,0x111D9},{0x111E1,0x111F4},{0x112F0,0x112F9},{0x11450,0x11459},
    {0x114D0,0x114D9},{0x11650,0x11659},{0x116C0,0x116C9},{0x11730,0x1173B},{0x118E0,0x118F2},{0x11950,0x11959},{0x11C50,0x11C6C},{0x11D50,0x11D59},
    {0x11DA0,0x11DA9},{0x11FC0,0x11FD4},{0x12400,0x1246E},{0x16A60,0x16A69},{0x16AC0,0x16AC9},{0x16B50,0x16B59},{0x16B5B,0x16B61},{0x16E80,0x16E96},
    {0x1D2E0,0x1D2F3},{0x1D360,0x1D378},{0x1D7CE,0x1D7FF},{0x1E140,0x1E149},{0x1E2F0,0x1E2F9},{0x1E8C7,0x1E8CF},{0x1E950,0x1E959},{0x1EC71,0x1ECAB},
    {0x1ECAD,0x1ECAF},{0x1ECB1,0x1ECB4},{0x1ED01,0x1ED2D},{0x1ED2F,0x1ED3D},{0x1F100,0x1F10C},{0x1FBF0,0x1FBF9},
};
/* \p{M}: Mn Mc Me (for word characters) */
static const uint32_t llava__tok_uc_mark[299][2] = {
    {0x300,0x36F},{0x483,0x489},{0x591,0x5BD},{0x5BF,0x5BF},{0x5C1,0x5C2},{0x5C4,0x5C5},{0x5C7,0x5C7},{0x610,0x61A},
    {0x64B,0x65F},{0x670,0x670},{0x6D6,0x6DC},{0x6DF,0x6E4},{0x6E7,0x6E8},{0x6EA,0x6ED},{0x711,0x711},{0x730,0x74A},
    {0x7A6,0x7B0},{0x7EB,0x7F3},{0x7FD,0x7FD},{0x816,0x819},{0x81B,0x823},{0x825,0x827},{0x829,0x82D},{0x859,0x85B},
    {0x898,0x89F},{0x8CA,0x8E1},{0x8E3,0x903},{0x93A,0x93C},{0x93E,0x94F},{0x951,0x957},{0x962,0x963},{0x981,0x983},
    {0x9BC,0x9BC},{0x9BE,0x9C4},{0x9C7,0x9C8},{0x9CB,0x9CD},{0x9D7,0x9D7},{0x9E2,0x9E3},{0x9FE,0x9FE},{0xA01,0xA03},
    {0xA3C,0xA3C},{0xA3E,0xA42},{0xA47,0xA48},{0xA4B,0xA4D},{0xA51,0xA51},{0xA70,0xA71},{0xA75,0xA75},{0xA81,0xA83},
    {0xABC,0xABC},{0xABE,0xAC5},{0xAC7,0xAC9},{0xACB,0xACD},{0xAE2,0xAE3},{0xAFA,0xAFF},{0xB01,0xB03},{0xB3C,0xB3C},
    {0xB3E,0xB44},{0xB47,0xB48},{0xB4B,0xB4D},{0xB55,0xB57},{0xB62,0xB63},{0xB82,0xB82},{0xBBE,0xBC2},{0xBC6,0xBC8},
    {0xBCA,0xBCD},{0xBD7,0xBD7},{0xC00,0xC04},{0xC3C,0xC3C},{0xC3E,0xC44},{0xC46,0xC48},{0xC4A,0xC4D},{0xC55,0xC56},
    {0xC62,0xC63},{0xC81,0xC83},{0xCBC,0xCBC},{0xCBE,0xCC4},{0xCC6,0xCC8},{0xCCA,0xCCD},{0xCD5,0xCD6},{0xCE2,0xCE3},
    {0xD00,0xD03},{0xD3B,0xD3C},{0xD3E,0xD44},{0xD46,0xD48},{0xD4A,0xD4D},{0xD57,0xD57},{0xD62,0xD63},{0xD81,0xD83},
    {0xDCA,0xDCA},{0xDCF,0xDD4},{0xDD6,0xDD6},{0xDD8,0xDDF},{0xDF2,0xDF3},{0xE31,0xE31},{0xE34,0xE3A},{0xE47,0xE4E},
    {0xEB1,0xEB1},{0xEB4,0xEBC},{0xEC8,0xECD},{0xF18,0xF19},{0xF35,0xF35},{0xF37,0xF37},{0xF39,0xF39},{0xF3E,0xF3F},
    {0xF71,0xF84},{0xF86,0xF87},{0xF8D,0xF97},{0xF99,0xFBC},{0xFC6,0xFC6},{0x102B,0x103E},{0x1056,0x1059},{0x105E,0x1060},
    {0x1062,0x1064},{0x1067,0x106D},{0x1071,0x1074},{0x1082,0x108D},{0x108F,0x108F},{0x109A,0x109D},{0x135D,0x135F},{0x1712,0x1715},
    {0x1732,0x1734},{0x1752,0x1753},{0x1772,0x1773},{0x17B4,0x17D3},{0x17DD,0x17DD},{0x180B,0x180D},{0x180F,0x180F},{0x1885,0x1886},
    {0x18A9,0x18A9},{0x1920,0x192B},{0x1930,0x193B},{0x1A17,0x1A1B},{0x1A55,0x1A5E},{0x1A60,0x1A7C},{0x1A7F,0x1A7F},{0x1AB0,0x1ACE},
    {0x1B00,0x1B04},{0x1B34,0x1B44},{0x1B6B,0x1B73},{0x1B80,0x1B82},{0x1BA1,0x1BAD},{0x1BE6,0x1BF3},{0x1C24,0x1C37},{0x1CD0,0x1CD2},
    {0x1CD4,0x1CE8},{0x1CED,0x1CED},{0x1CF4,0x1CF4},{0x1CF7,0x1CF9},{0x1DC0,0x1DFF},{0x20D0,0x20F0},{0x2CEF,0x2CF1},{0x2D7F,0x2D7F},
    {0x2DE0,0x2DFF},{0x302A,0x302F},{0x3099,0x309A},{0xA66F,0xA672},{0xA674,0xA67D},{0xA69E,0xA69F},{0xA6F0,0xA6F1},{0xA802,0xA802},
    {0xA806,0xA806},{0xA80B,0xA80B},{0xA823,0xA827},{0xA82C,0xA82C},{0xA880,0xA881},{0xA8B4,0xA8C5},{0xA8E0,0xA8F1},{0xA8FF,0xA8FF},
    {0xA926,0xA92D},{0xA947,0xA953},{0xA980,0xA983},{0xA9B3,0xA9C0},{0xA9E5,0xA9E5},{0xAA29,0xAA36},{0xAA43,0xAA43},{0xAA4C,0xAA4D},
    {0xAA7B,0xAA7D},{0xAAB0,0xAAB0},{0xAAB2,0xAAB4},{0xAAB7,0xAAB8},{0xAABE,0xAABF},{0xAAC1,0xAAC1},{0xAAEB,0xAAEF},{0xAAF5,0xAAF6},
    {0xABE3,0xABEA},{0xABEC,0xABED},{0xFB1E,0xFB1E},{0xFE00,0xFE0F},{0xFE20,0xFE2F},{0x101FD,0x101FD},{0x102E0,0x102E0},{0x10376,0x1037A},
    {0x10A01,0x10A03},{0x10A05,0x10A06},{0x10A0C,0x10A0F},{0x10A38,0x10A3A},{0x10A3F,0x10A3F},{0x10AE5,0x10AE6},{0x10D24,0x10D27},{0x10EAB,0x10EAC},
    {0x10F46,0x10F50},{0x10F82,0x10F85},{0x11000,0x11002},{0x11038,0x11046},{0x11070,0x11070},{0x11073,0x11074},{0x1107F,0x11082},{0x110B0,0x110BA},
    {0x110C2,0x110C2},{0x11100,0x11102},{0x11127,0x11134},{0x11145,0x11146},{0x11173,0x11173},{0x11180,0x11182},{0x111B3,0x111C0},{0x111C9,0x111CC},
    {0x111CE,0x111CF},{0x1122C,0x11237},{0x1123E,0x1123E},{0x112DF,0x112EA},{0x11300,0x11303},{0x1133B,0x1133C},{0x1133E,0x11344},{0x11347,0x11348},
    {0x1134B,0x1134D},{0x11357,0x11357},{0x11362,0x11363},{0x11366,0x1136C},{0x11370,0x11374},{0x11435,0x11446},{0x1145E,0x1145E},{0x114B0,0x114C3},
    {0x115AF,0x115B5},{0x115B8,0x115C0},{0x115DC,0x115DD},{0x11630,0x11640},{0x116AB,0x116B7},{0x1171D,0x1172B},{0x1182C,0x1183A},{0x11930,0x11935},
    {0x11937,0x11938},{0x1193B,0x1193E},{0x11940,0x11940},{0x11942,0x11943},{0x119D1,0x119D7},{0x119DA,0x119E0},{0x119E4,0x119E4},{0x11A01,0x11A0A},
    {0x11A33,0x11A39},{0x11A3B,0x11A3E},{0x11A47,0x11A47},{0x11A51,0x11A5B},{0x11A8A,0x11A99},{0x11C2F,0x11C36},{0x11C38,0x11C3F},{0x11C92,0x11CA7},
    {0x11CA9,0x11CB6},{0x11D31,0x11D36},{0x11D3A,0x11D3A},{0x11D3C,0x11D3D},{0x11D3F,0x11D45},{0x11D47,0x11D47},{0x11D8A,0x11D8E},{0x11D90,0x11D91},
    {0x11D93,0x11D97},{0x11EF3,0x11EF6},{0x16AF0,0x16AF4},{0x16B30,0x16B36},{0x16F4F,0x16F4F},{0x16F51,0x16F87},{0x16F8F,0x16F92},{0x16FE4,0x16FE4},
    {0x16FF0,0x16FF1},{0x1BC9D,0x1BC9E},{0x1CF00,0x1CF2D},{0x1CF30,0x1CF46},{0x1D165,0x1D169},{0x1D16D,0x1D172},{0x1D17B,0x1D182},{0x1D185,0x1D18B},
    {0x1D1AA,0x1D1AD},{0x1D242,0x1D244},{0x1DA00,0x1DA36},{0x1DA3B,0x1DA6C},{0x1DA75,0x1DA75},{0x1DA84,0x1DA84},{0x1DA9B,0x1DA9F},{0x1DAA1,0x1DAAF},
    {0x1E000,0x1E006},{0x1E008,0x1E018},{0x1E01B,0x1E021},{0x1E023,0x1E024},{0x1E026,0x1E02A},{0x1E130,0x1E136},{0x1E2AE,0x1E2AE},{0x1E2EC,0x1E2EF},
    {0x1E8D0,0x1E8D6},{0x1E944,0x1E94A},{0xE0100,0xE01EF},
};
/* White_Space */
static const uint32_t llava__tok_uc_space[10][2] = {
    {0x9,0xD},{0x20,0x20},{0x85,0x85},{0xA0,0xA0},{0x1680,0x1680},{0x2000,0x200A},{0x2028,0x2029},{0x202F,0x202F},
    {0x205F,0x205F},{0x3000,0x3000},
};
/* END GENERATED UNICODE TABLES */
/* BEGIN GENERATED NORMALIZATION TABLES (tools/py/gen_unicode_tables.py, Unicode 9.0.0 as tokenizers has it) */
/* canonical combining classes: {first, last, class} */
static const uint32_t llava__tok_uc_ccc[333][3] = {
    {0x300,0x314,230},{0x315,0x315,232},{0x316,0x319,220},{0x31A,0x31A,232},{0x31B,0x31B,216},{0x31C,0x320,220},{0x321,0x322,202},{0x323,0x326,220},
    {0x327,0x328,202},{0x329,0x333,220},{0x334,0x338,1},{0x339,0x33C,220},{0x33D,0x344,230},{0x345,0x345,240},{0x346,0x346,230},{0x347,0x349,220},
    {0x34A,0x34C,230},{0x34D,0x34E,220},{0x350,0x352,230},{0x353,0x356,220},{0x357,0x357,230},{0x358,0x358,232},{0x359,0x35A,220},{0x35B,0x35B,230},
    {0x35C,0x35C,233},{0x35D,0x35E,234},{0x35F,0x35F,233},{0x360,0x361,234},{0x362,0x362,233},{0x363,0x36F,230},{0x483,0x487,230},{0x591,0x591,220},
    {0x592,0x595,230},{0x596,0x596,220},{0x597,0x599,230},{0x59A,0x59A,222},{0x59B,0x59B,220},{0x59C,0x5A1,230},{0x5A2,0x5A7,220},{0x5A8,0x5A9,230},
    {0x5AA,0x5AA,220},{0x5AB,0x5AC,230},{0x5AD,0x5AD,222},{0x5AE,0x5AE,228},{0x5AF,0x5AF,230},{0x5B0,0x5B0,10},{0x5B1,0x5B1,11},{0x5B2,0x5B2,12},
    {0x5B3,0x5B3,13},{0x5B4,0x5B4,14},{0x5B5,0x5B5,15},{0x5B6,0x5B6,16},{0x5B7,0x5B7,17},{0x5B8,0x5B8,18},{0x5B9,0x5BA,19},{0x5BB,0x5BB,20},
    {0x5BC,0x5BC,21},{0x5BD,0x5BD,22},{0x5BF,0x5BF,23},{0x5C1,0x5C1,24},{0x5C2,0x5C2,25},{0x5C4,0x5C4,230},{0x5C5,0x5C5,220},{0x5C7,0x5C7,18},
    {0x610,0x617,230},{0x618,0x618,30},{0x619,0x619,31},{0x61A,0x61A,32},{0x64B,0x64B,27},{0x64C,0x64C,28},{0x64D,0x64D,29},{0x64E,0x64E,30},
    {0x64F,0x64F,31},{0x650,0x650,32},{0x651,0x651,33},{0x652,0x652,34},{0x653,0x654,230},{0x655,0x656,220},{0x657,0x65B,230},{0x65C,0x65C,220},
    {0x65D,0x65E,230},{0x65F,0x65F,220},{0x670,0x670,35},{0x6D6,0x6DC,230},{0x6DF,0x6E2,230},{0x6E3,0x6E3,220},{0x6E4,0x6E4,230},{0x6E7,0x6E8,230},
    {0x6EA,0x6EA,220},{0x6EB,0x6EC,230},{0x6ED,0x6ED,220},{0x711,0x711,36},{0x730,0x730,230},{0x731,0x731,220},{0x732,0x733,230},{0x734,0x734,220},
    {0x735,0x736,230},{0x737,0x739,220},{0x73A,0x73A,230},{0x73B,0x73C,220},{0x73D,0x73D,230},{0x73E,0x73E,220},{0x73F,0x741,230},{0x742,0x742,220},
    {0x743,0x743,230},{0x744,0x744,220},{0x745,0x745,230},{0x746,0x746,220},{0x747,0x747,230},{0x748,0x748,220},{0x749,0x74A,230},{0x7EB,0x7F1,230},
    {0x7F2,0x7F2,220},{0x7F3,0x7F3,230},{0x816,0x819,230},{0x81B,0x823,230},{0x825,0x827,230},{0x829,0x82D,230},{0x859,0x85B,220},{0x8D4,0x8E1,230},
    {0x8E3,0x8E3,220},{0x8E4,0x8E5,230},{0x8E6,0x8E6,220},{0x8E7,0x8E8,230},{0x8E9,0x8E9,220},{0x8EA,0x8EC,230},{0x8ED,0x8EF,220},{0x8F0,0x8F0,27},
    {0x8F1,0x8F1,28},{0x8F2,0x8F2,29},{0x8F3,0x8F5,230},{0x8F6,0x8F6,220},{0x8F7,0x8F8,230},{0x8F9,0x8FA,220},{0x8FB,0x8FF,230},{0x93C,0x93C,7},
    {0x94D,0x94D,9},{0x951,0x951,230},{0x952,0x952,220},{0x953,0x954,230},{0x9BC,0x9BC,7},{0x9CD,0x9CD,9},{0xA3C,0xA3C,7},{0xA4D,0xA4D,9},
    {0xABC,0xABC,7},{0xACD,0xACD,9},{0xB3C,0xB3C,7},{0xB4D,0xB4D,9},{0xBCD,0xBCD,9},{0xC4D,0xC4D,9},{0xC55,0xC55,84},{0xC56,0xC56,91},
    {0xCBC,0xCBC,7},{0xCCD,0xCCD,9},{0xD4D,0xD4D,9},{0xDCA,0xDCA,9},{0xE38,0xE39,103},{0xE3A,0xE3A,9},{0xE48,0xE4B,107},{0xEB8,0xEB9,118},
    {0xEC8,0xECB,122},{0xF18,0xF19,220},{0xF35,0xF35,220},{0xF37,0xF37,220},{0xF39,0xF39,216},{0xF71,0xF71,129},{0xF72,0xF72,130},{0xF74,0xF74,132},
    {0xF7A,0xF7D,130},{0xF80,0xF80,130},{0xF82,0xF83,230},{0xF84,0xF84,9},{0xF86,0xF87,230},{0xFC6,0xFC6,220},{0x1037,0x1037,7},{0x1039,0x103A,9},
    {0x108D,0x108D,220},{0x135D,0x135F,230},{0x1714,0x1714,9},{0x1734,0x1734,9},{0x17D2,0x17D2,9},{0x17DD,0x17DD,230},{0x18A9,0x18A9,228},{0x1939,0x1939,222},
    {0x193A,0x193A,230},{0x193B,0x193B,220},{0x1A17,0x1A17,230},{0x1A18,0x1A18,220},{0x1A60,0x1A60,9},{0x1A75,0x1A7C,230},{0x1A7F,0x1A7F,220},{0x1AB0,0x1AB4,230},
    {0x1AB5,0x1ABA,220},{0x1ABB,0x1ABC,230},{0x1ABD,0x1ABD,220},{0x1B34,0x1B34,7},{0x1B44,0x1B44,9},{0x1B6B,0x1B6B,230},{0x1B6C,0x1B6C,220},{0x1B6D,0x1B73,230},
    {0x1BAA,0x1BAB,9},{0x1BE6,0x1BE6,7},{0x1BF2,0x1BF3,9},{0x1C37,0x1C37,7},{0x1CD0,0x1CD2,230},{0x1CD4,0x1CD4,1},{0x1CD5,0x1CD9,220},{0x1CDA,0x1CDB,230},
    {0x1CDC,0x1CDF,220},{0x1CE0,0x1CE0,230},{0x1CE2,0x1CE8,1},{0x1CED,0x1CED,220},{0x1CF4,0x1CF4,230},{0x1CF8,0x1CF9,230},{0x1DC0,0x1DC1,230},{0x1DC2,0x1DC2,220},
    {0x1DC3,0x1DC9,230},{0x1DCA,0x1DCA,220},{0x1DCB,0x1DCC,230},{0x1DCD,0x1DCD,234},{0x1DCE,0x1DCE,214},{0x1DCF,0x1DCF,220},{0x1DD0,0x1DD0,202},{0x1DD1,0x1DF5,230},
    {0x1DFB,0x1DFB,230},{0x1DFC,0x1DFC,233},{0x1DFD,0x1DFD,220},{0x1DFE,0x1DFE,230},{0x1DFF,0x1DFF,220},{0x20D0,0x20D1,230},{0x20D2,0x20D3,1},{0x20D4,0x20D7,230},
    {0x20D8,0x20DA,1},{0x20DB,0x20DC,230},{0x20E1,0x20E1,230},{0x20E5,0x20E6,1},{0x20E7,0x20E7,230},{0x20E8,0x20E8,220},{0x20E9,0x20E9,230},{0x20EA,0x20EB,1},
    {0x20EC,0x20EF,220},{0x20F0,0x20F0,230},{0x2CEF,0x2CF1,230},{0x2D7F,0x2D7F,9},{0x2DE0,0x2DFF,230},{0x302A,0x302A,218},{0x302B,0x302B,228},{0x302C,0x302C,232},
    {0x302D,0x302D,222},{0x302E,0x302F,224},{0x3099,0x309A,8},{0xA66F,0xA66F,230},{0xA674,0xA67D,230},{0xA69E,0xA69F,230},{0xA6F0,0xA6F1,230},{0xA806,0xA806,9},
    {0xA8C4,0xA8C4,9},{0xA8E0,0xA8F1,230},{0xA92B,0xA92D,220},{0xA953,0xA953,9},{0xA9B3,0xA9B3,7},{0xA9C0,0xA9C0,9},{0xAAB0,0xAAB0,230},{0xAAB2,0xAAB3,230},
    {0xAAB4,0xAAB4,220},{0xAAB7,0xAAB8,230},{0xAABE,0xAABF,230},{0xAAC1,0xAAC1,230},{0xAAF6,0xAAF6,9},{0xABED,0xABED,9},{0xFB1E,0xFB1E,26},{0xFE20,0xFE26,230},
    {0xFE27,0xFE2D,220},{0xFE2E,0xFE2F,230},{0x101FD,0x101FD,220},{0x102E0,0x102E0,220},{0x10376,0x1037A,230},{0x10A0D,0x10A0D,220},{0x10A0F,0x10A0F,230},{0x10A38,0x10A38,230},
    {0x10A39,0x10A39,1},{0x10A3A,0x10A3A,220},{0x10A3F,0x10A3F,9},{0x10AE5,0x10AE5,230},{0x10AE6,0x10AE6,220},{0x11046,0x11046,9},{0x1107F,0x1107F,9},{0x110B9,0x110B9,9},
    {0x110BA,0x110BA,7},{0x11100,0x11102,230},{0x11133,0x11134,9},{0x11173,0x11173,7},{0x111C0,0x111C0,9},{0x111CA,0x111CA,7},{0x11235,0x11235,9},{0x11236,0x11236,7},
    {0x112E9,0x112E9,7},{0x112EA,0x112EA,9},{0x1133C,0x1133C,7},{0x1134D,0x1134D,9},{0x11366,0x1136C,230},{0x11370,0x11374,230},{0x11442,0x11442,9},{0x11446,0x11446,7},
    {0x114C2,0x114C2,9},{0x114C3,0x114C3,7},{0x115BF,0x115BF,9},{0x115C0,0x115C0,7},{0x1163F,0x1163F,9},{0x116B6,0x116B6,9},{0x116B7,0x116B7,7},{0x1172B,0x1172B,9},
    {0x11C3F,0x11C3F,9},{0x16AF0,0x16AF4,1},{0x16B30,0x16B36,230},{0x1BC9E,0x1BC9E,1},{0x1D165,0x1D166,216},{0x1D167,0x1D169,1},{0x1D16D,0x1D16D,226},{0x1D16E,0x1D172,216},
    {0x1D17B,0x1D182,220},{0x1D185,0x1D189,230},{0x1D18A,0x1D18B,220},{0x1D1AA,0x1D1AD,230},{0x1D242,0x1D244,230},{0x1E000,0x1E006,230},{0x1E008,0x1E018,230},{0x1E01B,0x1E021,230},
    {0x1E023,0x1E024,230},{0x1E026,0x1E02A,230},{0x1E8D0,0x1E8D6,220},{0x1E944,0x1E949,230},{0x1E94A,0x1E94A,7},
};
/* full decompositions, sorted: code point << 6 | compatibility << 5 | length; a compatibility entry
   only where it differs from the canonical one. Entry i's characters are in llava__tok_uc_dpool from
   llava__tok_uc_dat[i / 32] plus the lengths of the entries before it in its group of 32. */
static const uint32_t llava__tok_uc_dkey[5738] = {
    0x2821,0x2A22,0x2AA1,0x2BE2,0x2CA1,0x2CE1,0x2D22,0x2D61,0x2E22,0x2E61,0x2EA1,0x2F23,
    0x2F63,0x2FA3,0x3002,0x3042,0x3082,0x30C2,0x3102,0x3142,0x31C2,0x3202,0x3242,0x3282,
    0x32C2,0x3302,0x3342,0x3382,0x33C2,0x3442,0x3482,0x34C2,0x3502,0x3542,0x3582,0x3642,
    0x3682,0x36C2,0x3702,0x3742,0x3802,0x3842,0x3882,0x38C2,0x3902,0x3942,0x39C2,0x3A02,
    0x3A42,0x3A82,0x3AC2,0x3B02,0x3B42,0x3B82,0x3BC2,0x3C42,0x3C82,0x3CC2,0x3D02,0x3D42,
    0x3D82,0x3E42,0x3E82,0x3EC2,0x3F02,0x3F42,0x3FC2,0x4002,0x4042,0x4082,0x40C2,0x4102,
    0x4142,0x4182,0x41C2,0x4202,0x4242,0x4282,0x42C2,0x4302,0x4342,0x4382,0x43C2,0x4482,
    0x44C2,0x4502,0x4542,0x4582,0x45C2,0x4602,0x4642,0x4682,0x46C2,0x4702,0x4742,0x4782,
    0x47C2,0x4802,0x4842,0x4882,0x48C2,0x4902,0x4942,0x4A02,0x4A42,0x4A82,0x4AC2,0x4B02,
    0x4B42,0x4B82,0x4BC2,0x4C02,0x4CA2,0x4CE2,0x4D02,0x4D42,0x4D82,0x4DC2,0x4E42,0x4E82,
    0x4EC2,0x4F02,0x4F42,0x4F82,0x4FE2,0x5022,0x50C2,0x5102,0x5142,0x5182,0x51C2,0x5202,
    0x5262,0x5302,0x5342,0x5382,0x53C2,0x5402,0x5442,0x5502,0x5542,0x5582,0x55C2,0x5602,
    0x5642,0x5682,0x56C2,0x5702,0x5742,0x5782,0x57C2,0x5802,0x5842,0x5882,0x58C2,0x5902,
    0x5942,0x5A02,0x5A42,0x5A82,0x5AC2,0x5B02,0x5B42,0x5B82,0x5BC2,0x5C02,0x5C42,0x5C82,
    0x5CC2,0x5D02,0x5D42,0x5D82,0x5DC2,0x5E02,0x5E42,0x5E82,0x5EC2,0x5F02,0x5F42,0x5F82,
    0x5FE1,0x6802,0x6842,0x6BC2,0x6C02,0x7123,0x7163,0x71A3,0x71E2,0x7222,0x7262,0x72A2,
    0x72E2,0x7322,0x7342,0x7382,0x73C2,0x7402,0x7442,0x7482,0x74C2,0x7502,0x7543,0x7583,
    0x75C3,0x7603,0x7643,0x7683,0x76C3,0x7703,0x7783,0x77C3,0x7803,0x7843,0x7882,0x78C2,
    0x7982,0x79C2,0x7A02,0x7A42,0x7A82,0x7AC2,0x7B03,0x7B43,0x7B82,0x7BC2,0x7C02,0x7C62,
    0x7CA2,0x7CE2,0x7D02,0x7D42,0x7E02,0x7E42,0x7E83,0x7EC3,0x7F02,0x7F42,0x7F82,0x7FC2,
    0x8002,0x8042,0x8082,0x80C2,0x8102,0x8142,0x8182,0x81C2,0x8202,0x8242,0x8282,0x82C2,
    0x8302,0x8342,0x8382,0x83C2,0x8402,0x8442,0x8482,0x84C2,0x8502,0x8542,0x8582,0x85C2,
    0x8602,0x8642,0x8682,0x86C2,0x8782,0x87C2,0x8982,0x89C2,0x8A02,0x8A42,0x8A83,0x8AC3,
    0x8B03,0x8B43,0x8B82,0x8BC2,0x8C03,0x8C43,0x8C82,0x8CC2,0xAC21,0xAC61,0xACA1,0xACE1,
    0xAD21,0xAD61,0xADA1,0xADE1,0xAE21,0xB622,0xB662,0xB6A2,0xB6E2,0xB722,0xB762,0xB821,
    0xB861,0xB8A1,0xB8E1,0xB921,0xD001,0xD041,0xD0C1,0xD102,0xDD01,0xDEA2,0xDF81,0xE122,
    0xE142,0xE163,0xE182,0xE1C1,0xE202,0xE242,0xE282,0xE302,0xE382,0xE3C2,0xE403,0xEA82,
    0xEAC2,0xEB02,0xEB42,0xEB82,0xEBC2,0xEC03,0xF282,0xF2C2,0xF302,0xF342,0xF382,0xF421,
    0xF461,0xF4A1,0xF4C2,0xF4E2,0xF502,0xF522,0xF561,0xF5A1,0xFC21,0xFC61,0xFCA1,0xFD21,
    0xFD61,0xFE61,0x10002,0x10042,0x100C2,0x101C2,0x10302,0x10342,0x10382,0x10642,0x10E42,0x11402,
    0x11442,0x114C2,0x115C2,0x11702,0x11742,0x11782,0x11D82,0x11DC2,0x13042,0x13082,0x13402,0x13442,
    0x13482,0x134C2,0x13582,0x135C2,0x13682,0x136C2,0x13702,0x13742,0x13782,0x137C2,0x13882,0x138C2,
    0x13902,0x13942,0x13982,0x139C2,0x13A82,0x13AC2,0x13B02,0x13B42,0x13B82,0x13BC2,0x13C02,0x13C42,
    0x13C82,0x13CC2,0x13D02,0x13D42,0x13E02,0x13E42,0x161E2,0x18882,0x188C2,0x18902,0x18942,0x18982,
    0x19D62,0x19DA2,0x19DE2,0x19E22,0x1B002,0x1B082,0x1B4C2,0x24A42,0x24C42,0x24D02,0x25602,0x25642,
    0x25682,0x256C2,0x25702,0x25742,0x25782,0x257C2,0x272C2,0x27302,0x27702,0x27742,0x277C2,0x28CC2,
    0x28D82,0x29642,0x29682,0x296C2,0x29782,0x2D202,0x2D2C2,0x2D302,0x2D702,0x2D742,0x2E502,0x2F282,
    0x2F2C2,0x2F302,0x31202,0x33002,0x331C2,0x33202,0x33282,0x332C3,0x35282,0x352C2,0x35302,0x37682,
    0x37702,0x37743,0x37782,0x38CE2,0x3ACE2,0x3B722,0x3B762,0x3C321,0x3D0C2,0x3D342,0x3D482,0x3D5C2,
    0x3D702,0x3DA42,0x3DCC2,0x3DD42,0x3DD82,0x3DDE3,0x3DE02,0x3DE63,0x3E042,0x3E4C2,0x3E742,0x3E882,
    0x3E9C2,0x3EB02,0x3EE42,0x40982,0x43F21,0x6C182,0x6C202,0x6C282,0x6C302,0x6C382,0x6C482,0x6CEC2,
    0x6CF42,0x6D002,0x6D042,0x6D0C2,0x74B21,0x74B61,0x74BA1,0x74C21,0x74C61,0x74CA1,0x74CE1,0x74D21,
    0x74D61,0x74DA1,0x74DE1,0x74E21,0x74E61,0x74EA1,0x74F21,0x74F61,0x74FA1,0x74FE1,0x75021,0x75061,
    0x750A1,0x750E1,0x75121,0x75161,0x751A1,0x751E1,0x75221,0x75261,0x752A1,0x752E1,0x75321,0x75361,
    0x753E1,0x75421,0x75461,0x754A1,0x754E1,0x75521,0x75561,0x755A1,0x755E1,0x75621,0x75661,0x756A1,
    0x756E1,0x75721,0x75761,0x757A1,0x757E1,0x75821,0x75861,0x758A1,0x758E1,0x75921,0x75961,0x759A1,
    0x759E1,0x75A21,0x75A61,0x75AA1,0x75E21,0x766E1,0x76721,0x76761,0x767A1,0x767E1,0x76821,0x76861,
    0x768A1,0x768E1,0x76921,0x76961,0x769A1,0x769E1,0x76A21,0x76A61,0x76AA1,0x76AE1,0x76B21,0x76B61,
    0x76BA1,0x76BE1,0x76C21,0x76C61,0x76CA1,0x76CE1,0x76D21,0x76D61,0x76DA1,0x76DE1,0x76E21,0x76E61,
    0x76EA1,0x76EE1,0x76F21,0x76F61,0x76FA1,0x76FE1,0x78002,0x78042,0x78082,0x780C2,0x78102,0x78142,
    0x78182,0x781C2,0x78203,0x78243,0x78282,0x782C2,0x78302,0x78342,0x78382,0x783C2,0x78402,0x78442,
    0x78482,0x784C2,0x78503,0x78543,0x78583,0x785C3,0x78602,0x78642,0x78682,0x786C2,0x78703,0x78743,
    0x78782,0x787C2,0x78802,0x78842,0x78882,0x788C2,0x78902,0x78942,0x78982,0x789C2,0x78A02,0x78A42,
    0x78A82,0x78AC2,0x78B02,0x78B42,0x78B83,0x78BC3,0x78C02,0x78C42,0x78C82,0x78CC2,0x78D02,0x78D42,
    0x78D82,0x78DC2,0x78E03,0x78E43,0x78E82,0x78EC2,0x78F02,0x78F42,0x78F82,0x78FC2,0x79002,0x79042,
    0x79082,0x790C2,0x79102,0x79142,0x79182,0x791C2,0x79202,0x79242,0x79282,0x792C2,0x79303,0x79343,
    0x79383,0x793C3,0x79403,0x79443,0x79483,0x794C3,0x79502,0x79542,0x79582,0x795C2,0x79602,0x79642,
    0x79682,0x796C2,0x79703,0x79743,0x79782,0x797C2,0x79802,0x79842,0x79882,0x798C2,0x79903,0x79943,
    0x79983,0x799C3,0x79A03,0x79A43,0x79A82,0x79AC2,0x79B02,0x79B42,0x79B82,0x79BC2,0x79C02,0x79C42,
    0x79C82,0x79CC2,0x79D02,0x79D42,0x79D82,0x79DC2,0x79E03,0x79E43,0x79E83,0x79EC3,0x79F02,0x79F42,
    0x79F82,0x79FC2,0x7A002,0x7A042,0x7A082,0x7A0C2,0x7A102,0x7A142,0x7A182,0x7A1C2,0x7A202,0x7A242,
    0x7A282,0x7A2C2,0x7A302,0x7A342,0x7A382,0x7A3C2,0x7A402,0x7A442,0x7A482,0x7A4C2,0x7A502,0x7A542,
    0x7A582,0x7A5C2,0x7A602,0x7A642,0x7A6A2,0x7A6C2,0x7A6E2,0x7A802,0x7A842,0x7A882,0x7A8C2,0x7A903,
    0x7A943,0x7A983,0x7A9C3,0x7AA03,0x7AA43,0x7AA83,0x7AAC3,0x7AB03,0x7AB43,0x7AB83,0x7ABC3,0x7AC03,
    0x7AC43,0x7AC83,0x7ACC3,0x7AD03,0x7AD43,0x7AD83,0x7ADC3,0x7AE02,0x7AE42,0x7AE82,0x7AEC2,0x7AF02,
    0x7AF42,0x7AF83,0x7AFC3,0x7B003,0x7B043,0x7B083,0x7B0C3,0x7B103,0x7B143,0x7B183,0x7B1C3,0x7B202,
    0x7B242,0x7B282,0x7B2C2,0x7B302,0x7B342,0x7B382,0x7B3C2,0x7B403,0x7B443,0x7B483,0x7B4C3,0x7B503,
    0x7B543,0x7B583,0x7B5C3,0x7B603,0x7B643,0x7B683,0x7B6C3,0x7B703,0x7B743,0x7B783,0x7B7C3,0x7B803,
    0x7B843,0x7B883,0x7B8C3,0x7B902,0x7B942,0x7B982,0x7B9C2,0x7BA03,0x7BA43,0x7BA83,0x7BAC3,0x7BB03,
    0x7BB43,0x7BB83,0x7BBC3,0x7BC03,0x7BC43,0x7BC82,0x7BCC2,0x7BD02,0x7BD42,0x7BD82,0x7BDC2,0x7BE02,
    0x7BE42,0x7C002,0x7C042,0x7C083,0x7C0C3,0x7C103,0x7C143,0x7C183,0x7C1C3,0x7C202,0x7C242,0x7C283,
    0x7C2C3,0x7C303,0x7C343,0x7C383,0x7C3C3,0x7C402,0x7C442,0x7C483,0x7C4C3,0x7C503,0x7C543,0x7C602,
    0x7C642,0x7C683,0x7C6C3,0x7C703,0x7C743,0x7C802,0x7C842,0x7C883,0x7C8C3,0x7C903,0x7C943,0x7C983,
    0x7C9C3,0x7CA02,0x7CA42,0x7CA83,0x7CAC3,0x7CB03,0x7CB43,0x7CB83,0x7CBC3,0x7CC02,0x7CC42,0x7CC83,
    0x7CCC3,0x7CD03,0x7CD43,0x7CD83,0x7CDC3,0x7CE02,0x7CE42,0x7CE83,0x7CEC3,0x7CF03,0x7CF43,0x7CF83,
    0x7CFC3,0x7D002,0x7D042,0x7D083,0x7D0C3,0x7D103,0x7D143,0x7D202,0x7D242,0x7D283,0x7D2C3,0x7D303,
    0x7D343,0x7D402,0x7D442,0x7D483,0x7D4C3,0x7D503,0x7D543,0x7D583,0x7D5C3,0x7D642,0x7D6C3,0x7D743,
    0x7D7C3,0x7D802,0x7D842,0x7D883,0x7D8C3,0x7D903,0x7D943,0x7D983,0x7D9C3,0x7DA02,0x7DA42,0x7DA83,
    0x7DAC3,0x7DB03,0x7DB43,0x7DB83,0x7DBC3,0x7DC02,0x7DC42,0x7DC82,0x7DCC2,0x7DD02,0x7DD42,0x7DD82,
    0x7DDC2,0x7DE02,0x7DE42,0x7DE82,0x7DEC2,0x7DF02,0x7DF42,0x7E003,0x7E043,0x7E084,0x7E0C4,0x7E104,
    0x7E144,0x7E184,0x7E1C4,0x7E203,0x7E243,0x7E284,0x7E2C4,0x7E304,0x7E344,0x7E384,0x7E3C4,0x7E403,
    0x7E443,0x7E484,0x7E4C4,0x7E504,0x7E544,0x7E584,0x7E5C4,0x7E603,0x7E643,0x7E684,0x7E6C4,0x7E704,
    0x7E744,0x7E784,0x7E7C4,0x7E803,0x7E843,0x7E884,0x7E8C4,0x7E904,0x7E944,0x7E984,0x7E9C4,0x7EA03,
    0x7EA43,0x7EA84,0x7EAC4,0x7EB04,0x7EB44,0x7EB84,0x7EBC4,0x7EC02,0x7EC42,0x7EC83,0x7ECC2,0x7ED03,
    0x7ED82,0x7EDC3,0x7EE02,0x7EE42,0x7EE82,0x7EEC2,0x7EF02,0x7EF62,0x7EF81,0x7EFE2,0x7F022,0x7F042,
    0x7F063,0x7F083,0x7F0C2,0x7F103,0x7F182,0x7F1C3,0x7F202,0x7F242,0x7F282,0x7F2C2,0x7F302,0x7F342,
    0x7F363,0x7F382,0x7F3A3,0x7F3C2,0x7F3E3,0x7F402,0x7F442,0x7F483,0x7F4C3,0x7F582,0x7F5C3,0x7F602,
    0x7F642,0x7F682,0x7F6C2,0x7F742,0x7F763,0x7F782,0x7F7A3,0x7F7C2,0x7F7E3,0x7F802,0x7F842,0x7F883,
    0x7F8C3,0x7F902,0x7F942,0x7F982,0x7F9C3,0x7FA02,0x7FA42,0x7FA82,0x7FAC2,0x7FB02,0x7FB42,0x7FB63,
    0x7FB82,0x7FBA3,0x7FBC1,0x7FC83,0x7FCC2,0x7FD03,0x7FD82,0x7FDC3,0x7FE02,0x7FE42,0x7FE82,0x7FEC2,
    0x7FF02,0x7FF41,0x7FF62,0x7FFA2,0x80001,0x80021,0x80041,0x80061,0x800A1,0x800E1,0x80121,0x80161,
    0x801A1,0x801E1,0x80221,0x80261,0x802A1,0x80461,0x805E2,0x80921,0x80962,0x809A3,0x80BE1,0x80CE2,
    0x80D23,0x80DA2,0x80DE3,0x80F22,0x80FA2,0x811E2,0x81222,0x81262,0x815E4,0x817E1,0x81C21,0x81C61,
    0x81D21,0x81D61,0x81DA1,0x81DE1,0x81E21,0x81E61,0x81EA1,0x81EE1,0x81F21,0x81F61,0x81FA1,0x81FE1,
    0x82021,0x82061,0x820A1,0x820E1,0x82121,0x82161,0x821A1,0x821E1,0x82221,0x82261,0x822A1,0x822E1,
    0x82321,0x82361,0x823A1,0x82421,0x82461,0x824A1,0x824E1,0x82521,0x82561,0x825A1,0x825E1,0x82621,
    0x82661,0x826A1,0x826E1,0x82721,0x82A22,0x84023,0x84063,0x840A1,0x840E2,0x84163,0x841A3,0x841E1,
    0x84262,0x842A1,0x842E1,0x84321,0x84361,0x843A1,0x843E1,0x84421,0x84461,0x844A1,0x844E1,0x84561,
    0x845A2,0x84661,0x846A1,0x846E1,0x84721,0x84761,0x84822,0x84863,0x848A2,0x84921,0x84981,0x84A21,
    0x84A81,0x84AC2,0x84B21,0x84B61,0x84BE1,0x84C21,0x84C61,0x84CE1,0x84D21,0x84D61,0x84DA1,0x84DE1,
    0x84E21,0x84E61,0x84EE3,0x84F21,0x84F61,0x84FA1,0x84FE1,0x85021,0x85161,0x851A1,0x851E1,0x85221,
    0x85261,0x85423,0x85463,0x854A4,0x854E3,0x85523,0x85563,0x855A3,0x855E3,0x85623,0x85663,0x856A3,
    0x856E3,0x85723,0x85763,0x857A3,0x857E2,0x85821,0x85862,0x858A3,0x858E2,0x85921,0x85962,0x859A3,
    0x859E4,0x85A22,0x85A61,0x85AA2,0x85AE3,0x85B21,0x85B61,0x85BA1,0x85BE1,0x85C21,0x85C62,0x85CA3,
    0x85CE2,0x85D21,0x85D62,0x85DA3,0x85DE4,0x85E22,0x85E61,0x85EA2,0x85EE3,0x85F21,0x85F61,0x85FA1,
    0x85FE1,0x86263,0x86682,0x866C2,0x86B82,0x87342,0x87382,0x873C2,0x88102,0x88242,0x88302,0x88902,
    0x88982,0x88B22,0x88B63,0x88BE2,0x88C23,0x89042,0x89102,0x891C2,0x89242,0x89802,0x89882,0x89B42,
    0x89B82,0x89BC2,0x89C02,0x89C42,0x89D02,0x89D42,0x89E02,0x89E42,0x8A002,0x8A042,0x8A102,0x8A142,
    0x8A202,0x8A242,0x8AB02,0x8AB42,0x8AB82,0x8ABC2,0x8B802,0x8B842,0x8B882,0x8B8C2,0x8BA82,0x8BAC2,
    0x8BB02,0x8BB42,0x8CA41,0x8CA81,0x91821,0x91861,0x918A1,0x918E1,0x91921,0x91961,0x919A1,0x919E1,
    0x91A21,0x91A62,0x91AA2,0x91AE2,0x91B22,0x91B62,0x91BA2,0x91BE2,0x91C22,0x91C62,0x91CA2,0x91CE2,
    0x91D23,0x91D63,0x91DA3,0x91DE3,0x91E23,0x91E63,0x91EA3,0x91EE3,0x91F23,0x91F64,0x91FA4,0x91FE4,
    0x92024,0x92064,0x920A4,0x920E4,0x92124,0x92164,0x921A4,0x921E4,0x92222,0x92262,0x922A2,0x922E2,
    0x92322,0x92362,0x923A2,0x923E2,0x92422,0x92463,0x924A3,0x924E3,0x92523,0x92563,0x925A3,0x925E3,
    0x92623,0x92663,0x926A3,0x926E3,0x92723,0x92763,0x927A3,0x927E3,0x92823,0x92863,0x928A3,0x928E3,
    0x92923,0x92963,0x929A3,0x929E3,0x92A23,0x92A63,0x92AA3,0x92AE3,0x92B23,0x92B63,0x92BA3,0x92BE3,
    0x92C23,0x92C63,0x92CA3,0x92CE3,0x92D23,0x92D63,0x92DA1,0x92DE1,0x92E21,0x92E61,0x92EA1,0x92EE1,
    0x92F21,0x92F61,0x92FA1,0x92FE1,0x93021,0x93061,0x930A1,0x930E1,0x93121,0x93161,0x931A1,0x931E1,
    0x93221,0x93261,0x932A1,0x932E1,0x93321,0x93361,0x933A1,0x933E1,0x93421,0x93461,0x934A1,0x934E1,
    0x93521,0x93561,0x935A1,0x935E1,0x93621,0x93661,0x936A1,0x936E1,0x93721,0x93761,0x937A1,0x937E1,
    0x93821,0x93861,0x938A1,0x938E1,0x93921,0x93961,0x939A1,0x939E1,0x93A21,0x93A61,0x93AA1,0xA8324,
    0xA9D23,0xA9D62,0xA9DA3,0xAB702,0xB1F21,0xB1F61,0xB5BE1,0xBA7E1,0xBBCE1,0xBC021,0xBC061,0xBC0A1,
    0xBC0E1,0xBC121,0xBC161,0xBC1A1,0xBC1E1,0xBC221,0xBC261,0xBC2A1,0xBC2E1,0xBC321,0xBC361,0xBC3A1,
    0xBC3E1,0xBC421,0xBC461,0xBC4A1,0xBC4E1,0xBC521,0xBC561,0xBC5A1,0xBC5E1,0xBC621,0xBC661,0xBC6A1,
    0xBC6E1,0xBC721,0xBC761,0xBC7A1,0xBC7E1,0xBC821,0xBC861,0xBC8A1,0xBC8E1,0xBC921,0xBC961,0xBC9A1,
    0xBC9E1,0xBCA21,0xBCA61,0xBCAA1,0xBCAE1,0xBCB21,0xBCB61,0xBCBA1,0xBCBE1,0xBCC21,0xBCC61,0xBCCA1,
    0xBCCE1,0xBCD21,0xBCD61,0xBCDA1,0xBCDE1,0xBCE21,0xBCE61,0xBCEA1,0xBCEE1,0xBCF21,0xBCF61,0xBCFA1,
    0xBCFE1,0xBD021,0xBD061,0xBD0A1,0xBD0E1,0xBD121,0xBD161,0xBD1A1,0xBD1E1,0xBD221,0xBD261,0xBD2A1,
    0xBD2E1,0xBD321,0xBD361,0xBD3A1,0xBD3E1,0xBD421,0xBD461,0xBD4A1,0xBD4E1,0xBD521,0xBD561,0xBD5A1,
    0xBD5E1,0xBD621,0xBD661,0xBD6A1,0xBD6E1,0xBD721,0xBD761,0xBD7A1,0xBD7E1,0xBD821,0xBD861,0xBD8A1,
    0xBD8E1,0xBD921,0xBD961,0xBD9A1,0xBD9E1,0xBDA21,0xBDA61,0xBDAA1,0xBDAE1,0xBDB21,0xBDB61,0xBDBA1,
    0xBDBE1,0xBDC21,0xBDC61,0xBDCA1,0xBDCE1,0xBDD21,0xBDD61,0xBDDA1,0xBDDE1,0xBDE21,0xBDE61,0xBDEA1,
    0xBDEE1,0xBDF21,0xBDF61,0xBDFA1,0xBDFE1,0xBE021,0xBE061,0xBE0A1,0xBE0E1,0xBE121,0xBE161,0xBE1A1,
    0xBE1E1,0xBE221,0xBE261,0xBE2A1,0xBE2E1,0xBE321,0xBE361,0xBE3A1,0xBE3E1,0xBE421,0xBE461,0xBE4A1,
    0xBE4E1,0xBE521,0xBE561,0xBE5A1,0xBE5E1,0xBE621,0xBE661,0xBE6A1,0xBE6E1,0xBE721,0xBE761,0xBE7A1,
    0xBE7E1,0xBE821,0xBE861,0xBE8A1,0xBE8E1,0xBE921,0xBE961,0xBE9A1,0xBE9E1,0xBEA21,0xBEA61,0xBEAA1,
    0xBEAE1,0xBEB21,0xBEB61,0xBEBA1,0xBEBE1,0xBEC21,0xBEC61,0xBECA1,0xBECE1,0xBED21,0xBED61,0xBEDA1,
    0xBEDE1,0xBEE21,0xBEE61,0xBEEA1,0xBEEE1,0xBEF21,0xBEF61,0xBEFA1,0xBEFE1,0xBF021,0xBF061,0xBF0A1,
    0xBF0E1,0xBF121,0xBF161,0xBF1A1,0xBF1E1,0xBF221,0xBF261,0xBF2A1,0xBF2E1,0xBF321,0xBF361,0xBF3A1,
    0xBF3E1,0xBF421,0xBF461,0xBF4A1,0xBF4E1,0xBF521,0xBF561,0xC0021,0xC0DA1,0xC0E21,0xC0E61,0xC0EA1,
    0xC1302,0xC1382,0xC1402,0xC1482,0xC1502,0xC1582,0xC1602,0xC1682,0xC1702,0xC1782,0xC1802,0xC1882,
    0xC1942,0xC19C2,0xC1A42,0xC1C02,0xC1C42,0xC1CC2,0xC1D02,0xC1D82,0xC1DC2,0xC1E42,0xC1E82,0xC1F02,
    0xC1F42,0xC2502,0xC26E2,0xC2722,0xC2782,0xC27E2,0xC2B02,0xC2B82,0xC2C02,0xC2C82,0xC2D02,0xC2D82,
    0xC2E02,0xC2E82,0xC2F02,0xC2F82,0xC3002,0xC3082,0xC3142,0xC31C2,0xC3242,0xC3402,0xC3442,0xC34C2,
    0xC3502,0xC3582,0xC35C2,0xC3642,0xC3682,0xC3702,0xC3742,0xC3D02,0xC3DC2,0xC3E02,0xC3E42,0xC3E82,
    0xC3F82,0xC3FE2,0xC4C61,0xC4CA1,0xC4CE1,0xC4D21,0xC4D61,0xC4DA1,0xC4DE1,0xC4E21,0xC4E61,0xC4EA1,
    0xC4EE1,0xC4F21,0xC4F61,0xC4FA1,0xC4FE1,0xC5021,0xC5061,0xC50A1,0xC50E1,0xC5121,0xC5161,0xC51A1,
    0xC51E1,0xC5221,0xC5261,0xC52A1,0xC52E1,0xC5321,0xC5361,0xC53A1,0xC53E1,0xC5421,0xC5461,0xC54A1,
    0xC54E1,0xC5521,0xC5561,0xC55A1,0xC55E1,0xC5621,0xC5661,0xC56A1,0xC56E1,0xC5721,0xC5761,0xC57A1,
    0xC57E1,0xC5821,0xC5861,0xC58A1,0xC58E1,0xC5921,0xC5961,0xC59A1,0xC59E1,0xC5A21,0xC5A61,0xC5AA1,
    0xC5AE1,0xC5B21,0xC5B61,0xC5BA1,0xC5BE1,0xC5C21,0xC5C61,0xC5CA1,0xC5CE1,0xC5D21,0xC5D61,0xC5DA1,
    0xC5DE1,0xC5E21,0xC5E61,0xC5EA1,0xC5EE1,0xC5F21,0xC5F61,0xC5FA1,0xC5FE1,0xC6021,0xC6061,0xC60A1,
    0xC60E1,0xC6121,0xC6161,0xC61A1,0xC61E1,0xC6221,0xC6261,0xC62A1,0xC62E1,0xC6321,0xC6361,0xC63A1,
    0xC64A1,0xC64E1,0xC6521,0xC6561,0xC65A1,0xC65E1,0xC6621,0xC6661,0xC66A1,0xC66E1,0xC6721,0xC6761,
    0xC67A1,0xC67E1,0xC8023,0xC8063,0xC80A3,0xC80E3,0xC8123,0xC8163,0xC81A3,0xC81E3,0xC8223,0xC8263,
    0xC82A3,0xC82E3,0xC8323,0xC8363,0xC83A4,0xC83E4,0xC8424,0xC8464,0xC84A4,0xC84E4,0xC8524,0xC8564,
    0xC85A4,0xC85E4,0xC8624,0xC8664,0xC86A4,0xC86E4,0xC8724,0xC8767,0xC87A6,0xC8823,0xC8863,0xC88A3,
    0xC88E3,0xC8923,0xC8963,0xC89A3,0xC89E3,0xC8A23,0xC8A63,0xC8AA3,0xC8AE3,0xC8B23,0xC8B63,0xC8BA3,
    0xC8BE3,0xC8C23,0xC8C63,0xC8CA3,0xC8CE3,0xC8D23,0xC8D63,0xC8DA3,0xC8DE3,0xC8E23,0xC8E63,0xC8EA3,
    0xC8EE3,0xC8F23,0xC8F63,0xC8FA3,0xC8FE3,0xC9023,0xC9063,0xC90A3,0xC90E3,0xC9121,0xC9161,0xC91A1,
    0xC91E1,0xC9423,0xC9462,0xC94A2,0xC94E2,0xC9522,0xC9562,0xC95A2,0xC95E2,0xC9622,0xC9662,0xC96A2,
    0xC96E2,0xC9722,0xC9762,0xC97A2,0xC97E2,0xC9821,0xC9861,0xC98A1,0xC98E1,0xC9921,0xC9961,0xC99A1,
    0xC99E1,0xC9A21,0xC9A61,0xC9AA1,0xC9AE1,0xC9B21,0xC9B61,0xC9BA2,0xC9BE2,0xC9C22,0xC9C62,0xC9CA2,
    0xC9CE2,0xC9D22,0xC9D62,0xC9DA2,0xC9DE2,0xC9E22,0xC9E62,0xC9EA2,0xC9EE2,0xC9F25,0xC9F64,0xC9FA2,
    0xCA021,0xCA061,0xCA0A1,0xCA0E1,0xCA121,0xCA161,0xCA1A1,0xCA1E1,0xCA221,0xCA261,0xCA2A1,0xCA2E1,
    0xCA321,0xCA361,0xCA3A1,0xCA3E1,0xCA421,0xCA461,0xCA4A1,0xCA4E1,0xCA521,0xCA561,0xCA5A1,0xCA5E1,
    0xCA621,0xCA661,0xCA6A1,0xCA6E1,0xCA721,0xCA761,0xCA7A1,0xCA7E1,0xCA821,0xCA861,0xCA8A1,0xCA8E1,
    0xCA921,0xCA961,0xCA9A1,0xCA9E1,0xCAA21,0xCAA61,0xCAAA1,0xCAAE1,0xCAB21,0xCAB61,0xCABA1,0xCABE1,
    0xCAC21,0xCAC62,0xCACA2,0xCACE2,0xCAD22,0xCAD62,0xCADA2,0xCADE2,0xCAE22,0xCAE62,0xCAEA2,0xCAEE2,
    0xCAF22,0xCAF62,0xCAFA2,0xCAFE2,0xCB022,0xCB062,0xCB0A2,0xCB0E2,0xCB122,0xCB162,0xCB1A2,0xCB1E2,
    0xCB222,0xCB263,0xCB2A3,0xCB2E3,0xCB322,0xCB363,0xCB3A2,0xCB3E3,0xCB421,0xCB461,0xCB4A1,0xCB4E1,
    0xCB521,0xCB561,0xCB5A1,0xCB5E1,0xCB621,0xCB661,0xCB6A1,0xCB6E1,0xCB721,0xCB761,0xCB7A1,0xCB7E1,
    0xCB821,0xCB861,0xCB8A1,0xCB8E1,0xCB921,0xCB961,0xCB9A1,0xCB9E1,0xCBA21,0xCBA61,0xCBAA1,0xCBAE1,
    0xCBB21,0xCBB61,0xCBBA1,0xCBBE1,0xCBC21,0xCBC61,0xCBCA1,0xCBCE1,0xCBD21,0xCBD61,0xCBDA1,0xCBDE1,
    0xCBE21,0xCBE61,0xCBEA1,0xCBEE1,0xCBF21,0xCBF61,0xCBFA1,0xCC025,0xCC064,0xCC0A5,0xCC0E3,0xCC125,
    0xCC163,0xCC1A3,0xCC1E6,0xCC224,0xCC263,0xCC2A3,0xCC2E3,0xCC324,0xCC364,0xCC3A4,0xCC3E4,0xCC424,
    0xCC464,0xCC4A4,0xCC4E6,0xCC522,0xCC566,0xCC5A6,0xCC5E5,0xCC624,0xCC666,0xCC6A6,0xCC6E4,0xCC723,
    0xCC763,0xCC7A4,0xCC7E4,0xCC825,0xCC865,0xCC8A3,0xCC8E3,0xCC924,0xCC963,0xCC9A3,0xCC9E2,0xCCA22,
    0xCCA63,0xCCAA3,0xCCAE6,0xCCB24,0xCCB65,0xCCBA6,0xCCBE4,0xCCC23,0xCCC63,0xCCCA6,0xCCCE4,0xCCD26,
    0xCCD63,0xCCDA5,0xCCDE3,0xCCE24,0xCCE63,0xCCEA4,0xCCEE5,0xCCF24,0xCCF65,0xCCFA4,0xCCFE2,0xCD025,
    0xCD063,0xCD0A3,0xCD0E4,0xCD123,0xCD163,0xCD1A3,0xCD1E5,0xCD224,0xCD262,0xCD2A6,0xCD2E3,0xCD325,
    0xCD364,0xCD3A4,0xCD3E3,0xCD423,0xCD464,0xCD4A2,0xCD4E4,0xCD525,0xCD562,0xCD5A6,0xCD5E3,0xCD622,
    0xCD662,0xCD6A2,0xCD6E2,0xCD722,0xCD762,0xCD7A2,0xCD7E2,0xCD822,0xCD862,0xCD8A3,0xCD8E3,0xCD923,
    0xCD963,0xCD9A3,0xCD9E3,0xCDA23,0xCDA63,0xCDAA3,0xCDAE3,0xCDB23,0xCDB63,0xCDBA3,0xCDBE3,0xCDC23,
    0xCDC63,0xCDCA2,0xCDCE2,0xCDD23,0xCDD62,0xCDDA2,0xCDDE2,0xCDE23,0xCDE63,0xCDEA2,0xCDEE2,0xCDF22,
    0xCDF62,0xCDFA2,0xCDFE4,0xCE022,0xCE062,0xCE0A2,0xCE0E2,0xCE122,0xCE162,0xCE1A2,0xCE1E2,0xCE223,
    0xCE264,0xCE2A2,0xCE2E2,0xCE322,0xCE362,0xCE3A2,0xCE3E2,0xCE422,0xCE463,0xCE4A3,0xCE4E3,0xCE523,
    0xCE562,0xCE5A2,0xCE5E2,0xCE622,0xCE662,0xCE6A2,0xCE6E2,0xCE722,0xCE762,0xCE7A2,0xCE7E3,0xCE823,
    0xCE862,0xCE8A3,0xCE8E3,0xCE923,0xCE962,0xCE9A3,0xCE9E3,0xCEA24,0xCEA62,0xCEAA3,0xCEAE3,0xCEB23,
    0xCEB63,0xCEBA5,0xCEBE6,0xCEC22,0xCEC62,0xCECA2,0xCECE2,0xCED22,0xCED62,0xCEDA2,0xCEDE2,0xCEE22,
    0xCEE62,0xCEEA2,0xCEEE2,0xCEF22,0xCEF62,0xCEFA2,0xCEFE2,0xCF022,0xCF062,0xCF0A4,0xCF0E2,0xCF122,
    0xCF162,0xCF1A4,0xCF1E3,0xCF222,0xCF262,0xCF2A2,0xCF2E2,0xCF322,0xCF362,0xCF3A2,0xCF3E2,0xCF422,
    0xCF462,0xCF4A3,0xCF4E2,0xCF522,0xCF563,0xCF5A3,0xCF5E2,0xCF624,0xCF663,0xCF6A2,0xCF6E2,0xCF722,
    0xCF762,0xCF7A3,0xCF7E3,0xCF822,0xCF862,0xCF8A2,0xCF8E2,0xCF922,0xCF962,0xCF9A2,0xCF9E2,0xCFA22,
    0xCFA63,0xCFAA3,0xCFAE3,0xCFB23,0xCFB63,0xCFBA3,0xCFBE3,0xCFC23,0xCFC63,0xCFCA3,0xCFCE3,0xCFD23,
    0xCFD63,0xCFDA3,0xCFDE3,0xCFE23,0xCFE63,0xCFEA3,0xCFEE3,0xCFF23,0xCFF63,0xCFFA3,0xCFFE3,0x29A721,
    0x29A761,0x29DC21,0x29FE21,0x29FE61,0x2AD721,0x2AD761,0x2AD7A1,0x2AD7E1,0x3E4001,0x3E4041,0x3E4081,0x3E40C1,
    0x3E4101,0x3E4141,0x3E4181,0x3E41C1,0x3E4201,0x3E4241,0x3E4281,0x3E42C1,0x3E4301,0x3E4341,0x3E4381,0x3E43C1,
    0x3E4401,0x3E4441,0x3E4481,0x3E44C1,0x3E4501,0x3E4541,0x3E4581,0x3E45C1,0x3E4601,0x3E4641,0x3E4681,0x3E46C1,
    0x3E4701,0x3E4741,0x3E4781,0x3E47C1,0x3E4801,0x3E4841,0x3E4881,0x3E48C1,0x3E4901,0x3E4941,0x3E4981,0x3E49C1,
    0x3E4A01,0x3E4A41,0x3E4A81,0x3E4AC1,0x3E4B01,0x3E4B41,0x3E4B81,0x3E4BC1,0x3E4C01,0x3E4C41,0x3E4C81,0x3E4CC1,
    0x3E4D01,0x3E4D41,0x3E4D81,0x3E4DC1,0x3E4E01,0x3E4E41,0x3E4E81,0x3E4EC1,0x3E4F01,0x3E4F41,0x3E4F81,0x3E4FC1,
    0x3E5001,0x3E5041,0x3E5081,0x3E50C1,0x3E5101,0x3E5141,0x3E5181,0x3E51C1,0x3E5201,0x3E5241,0x3E5281,0x3E52C1,
    0x3E5301,0x3E5341,0x3E5381,0x3E53C1,0x3E5401,0x3E5441,0x3E5481,0x3E54C1,0x3E5501,0x3E5541,0x3E5581,0x3E55C1,
    0x3E5601,0x3E5641,0x3E5681,0x3E56C1,0x3E5701,0x3E5741,0x3E5781,0x3E57C1,0x3E5801,0x3E5841,0x3E5881,0x3E58C1,
    0x3E5901,0x3E5941,0x3E5981,0x3E59C1,0x3E5A01,0x3E5A41,0x3E5A81,0x3E5AC1,0x3E5B01,0x3E5B41,0x3E5B81,0x3E5BC1,
    0x3E5C01,0x3E5C41,0x3E5C81,0x3E5CC1,0x3E5D01,0x3E5D41,0x3E5D81,0x3E5DC1,0x3E5E01,0x3E5E41,0x3E5E81,0x3E5EC1,
    0x3E5F01,0x3E5F41,0x3E5F81,0x3E5FC1,0x3E6001,0x3E6041,0x3E6081,0x3E60C1,0x3E6101,0x3E6141,0x3E6181,0x3E61C1,
    0x3E6201,0x3E6241,0x3E6281,0x3E62C1,0x3E6301,0x3E6341,0x3E6381,0x3E63C1,0x3E6401,0x3E6441,0x3E6481,0x3E64C1,
    0x3E6501,0x3E6541,0x3E6581,0x3E65C1,0x3E6601,0x3E6641,0x3E6681,0x3E66C1,0x3E6701,0x3E6741,0x3E6781,0x3E67C1,
    0x3E6801,0x3E6841,0x3E6881,0x3E68C1,0x3E6901,0x3E6941,0x3E6981,0x3E69C1,0x3E6A01,0x3E6A41,0x3E6A81,0x3E6AC1,
    0x3E6B01,0x3E6B41,0x3E6B81,0x3E6BC1,0x3E6C01,0x3E6C41,0x3E6C81,0x3E6CC1,0x3E6D01,0x3E6D41,0x3E6D81,0x3E6DC1,
    0x3E6E01,0x3E6E41,0x3E6E81,0x3E6EC1,0x3E6F01,0x3E6F41,0x3E6F81,0x3E6FC1,0x3E7001,0x3E7041,0x3E7081,0x3E70C1,
    0x3E7101,0x3E7141,0x3E7181,0x3E71C1,0x3E7201,0x3E7241,0x3E7281,0x3E72C1,0x3E7301,0x3E7341,0x3E7381,0x3E73C1,
    0x3E7401,0x3E7441,0x3E7481,0x3E74C1,0x3E7501,0x3E7541,0x3E7581,0x3E75C1,0x3E7601,0x3E7641,0x3E7681,0x3E76C1,
    0x3E7701,0x3E7741,0x3E7781,0x3E77C1,0x3E7801,0x3E7841,0x3E7881,0x3E78C1,0x3E7901,0x3E7941,0x3E7981,0x3E79C1,
    0x3E7A01,0x3E7A41,0x3E7A81,0x3E7AC1,0x3E7B01,0x3E7B41,0x3E7B81,0x3E7BC1,0x3E7C01,0x3E7C41,0x3E7C81,0x3E7CC1,
    0x3E7D01,0x3E7D41,0x3E7D81,0x3E7DC1,0x3E7E01,0x3E7E41,0x3E7E81,0x3E7EC1,0x3E7F01,0x3E7F41,0x3E7F81,0x3E7FC1,
    0x3E8001,0x3E8041,0x3E8081,0x3E80C1,0x3E8101,0x3E8141,0x3E8181,0x3E81C1,0x3E8201,0x3E8241,0x3E8281,0x3E82C1,
    0x3E8301,0x3E8341,0x3E8401,0x3E8481,0x3E8541,0x3E8581,0x3E85C1,0x3E8601,0x3E8641,0x3E8681,0x3E86C1,0x3E8701,
    0x3E8741,0x3E8781,0x3E8801,0x3E8881,0x3E8941,0x3E8981,0x3E8A81,0x3E8AC1,0x3E8B01,0x3E8B41,0x3E8B81,0x3E8BC1,
    0x3E8C01,0x3E8C41,0x3E8C81,0x3E8CC1,0x3E8D01,0x3E8D41,0x3E8D81,0x3E8DC1,0x3E8E01,0x3E8E41,0x3E8E81,0x3E8EC1,
    0x3E8F01,0x3E8F41,0x3E8F81,0x3E8FC1,0x3E9001,0x3E9041,0x3E9081,0x3E90C1,0x3E9101,0x3E9141,0x3E9181,0x3E91C1,
    0x3E9201,0x3E9241,0x3E9281,0x3E92C1,0x3E9301,0x3E9341,0x3E9381,0x3E93C1,0x3E9401,0x3E9441,0x3E9481,0x3E94C1,
    0x3E9501,0x3E9541,0x3E9581,0x3E95C1,0x3E9601,0x3E9641,0x3E9681,0x3E96C1,0x3E9701,0x3E9741,0x3E9781,0x3E97C1,
    0x3E9801,0x3E9841,0x3E9881,0x3E98C1,0x3E9901,0x3E9941,0x3E9981,0x3E99C1,0x3E9A01,0x3E9A41,0x3E9A81,0x3E9AC1,
    0x3E9B01,0x3E9B41,0x3E9C01,0x3E9C41,0x3E9C81,0x3E9CC1,0x3E9D01,0x3E9D41,0x3E9D81,0x3E9DC1,0x3E9E01,0x3E9E41,
    0x3E9E81,0x3E9EC1,0x3E9F01,0x3E9F41,0x3E9F81,0x3E9FC1,0x3EA001,0x3EA041,0x3EA081,0x3EA0C1,0x3EA101,0x3EA141,
    0x3EA181,0x3EA1C1,0x3EA201,0x3EA241,0x3EA281,0x3EA2C1,0x3EA301,0x3EA341,0x3EA381,0x3EA3C1,0x3EA401,0x3EA441,
    0x3EA481,0x3EA4C1,0x3EA501,0x3EA541,0x3EA581,0x3EA5C1,0x3EA601,0x3EA641,0x3EA681,0x3EA6C1,0x3EA701,0x3EA741,
    0x3EA781,0x3EA7C1,0x3EA801,0x3EA841,0x3EA881,0x3EA8C1,0x3EA901,0x3EA941,0x3EA981,0x3EA9C1,0x3EAA01,0x3EAA41,
    0x3EAA81,0x3EAAC1,0x3EAB01,0x3EAB41,0x3EAB81,0x3EABC1,0x3EAC01,0x3EAC41,0x3EAC81,0x3EACC1,0x3EAD01,0x3EAD41,
    0x3EAD81,0x3EADC1,0x3EAE01,0x3EAE41,0x3EAE81,0x3EAEC1,0x3EAF01,0x3EAF41,0x3EAF81,0x3EAFC1,0x3EB001,0x3EB041,
    0x3EB081,0x3EB0C1,0x3EB101,0x3EB141,0x3EB181,0x3EB1C1,0x3EB201,0x3EB241,0x3EB281,0x3EB2C1,0x3EB301,0x3EB341,
    0x3EB381,0x3EB3C1,0x3EB401,0x3EB441,0x3EB481,0x3EB4C1,0x3EB501,0x3EB541,0x3EB581,0x3EB5C1,0x3EB601,0x3EB641,
    0x3EC022,0x3EC062,0x3EC0A2,0x3EC0E3,0x3EC123,0x3EC162,0x3EC1A2,0x3EC4E2,0x3EC522,0x3EC562,0x3EC5A2,0x3EC5E2,
    0x3EC742,0x3EC7C2,0x3EC821,0x3EC861,0x3EC8A1,0x3EC8E1,0x3EC921,0x3EC961,0x3EC9A1,0x3EC9E1,0x3ECA21,0x3ECA61,
    0x3ECA82,0x3ECAC2,0x3ECB03,0x3ECB43,0x3ECB82,0x3ECBC2,0x3ECC02,0x3ECC42,0x3ECC82,0x3ECCC2,0x3ECD02,0x3ECD42,
    0x3ECD82,0x3ECE02,0x3ECE42,0x3ECE82,0x3ECEC2,0x3ECF02,0x3ECF82,0x3ED002,0x3ED042,0x3ED0C2,0x3ED102,0x3ED182,
    0x3ED1C2,0x3ED202,0x3ED242,0x3ED282,0x3ED2C2,0x3ED302,0x3ED342,0x3ED382,0x3ED3E2,0x3ED421,0x3ED461,0x3ED4A1,
    0x3ED4E1,0x3ED521,0x3ED561,0x3ED5A1,0x3ED5E1,0x3ED621,0x3ED661,0x3ED6A1,0x3ED6E1,0x3ED721,0x3ED761,0x3ED7A1,
    0x3ED7E1,0x3ED821,0x3ED861,0x3ED8A1,0x3ED8E1,0x3ED921,0x3ED961,0x3ED9A1,0x3ED9E1,0x3EDA21,0x3EDA61,0x3EDAA1,
    0x3EDAE1,0x3EDB21,0x3EDB61,0x3EDBA1,0x3EDBE1,0x3EDC21,0x3EDC61,0x3EDCA1,0x3EDCE1,0x3EDD21,0x3EDD61,0x3EDDA1,
    0x3EDDE1,0x3EDE21,0x3EDE61,0x3EDEA1,0x3EDEE1,0x3EDF21,0x3EDF61,0x3EDFA1,0x3EDFE1,0x3EE021,0x3EE061,0x3EE0A1,
    0x3EE0E1,0x3EE121,0x3EE161,0x3EE1A1,0x3EE1E1,0x3EE221,0x3EE261,0x3EE2A1,0x3EE2E1,0x3EE321,0x3EE361,0x3EE3A1,
    0x3EE3E1,0x3EE421,0x3EE461,0x3EE4A1,0x3EE4E1,0x3EE521,0x3EE561,0x3EE5A1,0x3EE5E1,0x3EE621,0x3EE661,0x3EE6A1,
    0x3EE6E1,0x3EE721,0x3EE761,0x3EE7A1,0x3EE7E1,0x3EE821,0x3EE861,0x3EE8A1,0x3EE8E1,0x3EE922,0x3EE962,0x3EE9A1,
    0x3EE9E1,0x3EEA21,0x3EEA61,0x3EEAA1,0x3EEAE1,0x3EEB21,0x3EEB61,0x3EEBA1,0x3EEBE1,0x3EEC22,0x3EEC62,0x3EF4E1,
    0x3EF521,0x3EF561,0x3EF5A1,0x3EF5E1,0x3EF621,0x3EF661,0x3EF6A1,0x3EF6E1,0x3EF721,0x3EF762,0x3EF7A1,0x3EF7E1,
    0x3EF821,0x3EF861,0x3EF8A1,0x3EF8E1,0x3EF921,0x3EF961,0x3EF9A1,0x3EF9E1,0x3EFA21,0x3EFA61,0x3EFAA3,0x3EFAE3,
    0x3EFB23,0x3EFB63,0x3EFBA3,0x3EFBE3,0x3EFC23,0x3EFC63,0x3EFCA3,0x3EFCE3,0x3EFD23,0x3EFD63,0x3EFDA3,0x3EFDE3,
    0x3EFE23,0x3EFE63,0x3EFEA3,0x3EFEE3,0x3EFF21,0x3EFF61,0x3EFFA1,0x3EFFE1,0x3F0023,0x3F0063,0x3F00A3,0x3F00E3,
    0x3F0123,0x3F0162,0x3F01A2,0x3F01E2,0x3F0222,0x3F0262,0x3F02A2,0x3F02E2,0x3F0322,0x3F0362,0x3F03A2,0x3F03E2,
    0x3F0422,0x3F0462,0x3F04A2,0x3F04E2,0x3F0522,0x3F0562,0x3F05A2,0x3F05E2,0x3F0622,0x3F0662,0x3F06A2,0x3F06E2,
    0x3F0722,0x3F0762,0x3F07A2,0x3F07E2,0x3F0822,0x3F0862,0x3F08A2,0x3F08E2,0x3F0922,0x3F0962,0x3F09A2,0x3F09E2,
    0x3F0A22,0x3F0A62,0x3F0AA2,0x3F0AE2,0x3F0B22,0x3F0B62,0x3F0BA2,0x3F0BE2,0x3F0C22,0x3F0C62,0x3F0CA2,0x3F0CE2,
    0x3F0D22,0x3F0D62,0x3F0DA2,0x3F0DE2,0x3F0E22,0x3F0E62,0x3F0EA2,0x3F0EE2,0x3F0F22,0x3F0F62,0x3F0FA2,0x3F0FE2,
    0x3F1022,0x3F1062,0x3F10A2,0x3F10E2,0x3F1122,0x3F1162,0x3F11A2,0x3F11E2,0x3F1222,0x3F1262,0x3F12A2,0x3F12E2,
    0x3F1322,0x3F1362,0x3F13A2,0x3F13E2,0x3F1422,0x3F1462,0x3F14A2,0x3F14E2,0x3F1522,0x3F1562,0x3F15A2,0x3F15E2,
    0x3F1622,0x3F1662,0x3F16A2,0x3F16E2,0x3F1722,0x3F1762,0x3F17A3,0x3F17E3,0x3F1823,0x3F1863,0x3F18A3,0x3F18E3,
    0x3F1923,0x3F1963,0x3F19A3,0x3F19E3,0x3F1A23,0x3F1A63,0x3F1AA2,0x3F1AE2,0x3F1B22,0x3F1B62,0x3F1BA2,0x3F1BE2,
    0x3F1C22,0x3F1C62,0x3F1CA2,0x3F1CE2,0x3F1D22,0x3F1D62,0x3F1DA2,0x3F1DE2,0x3F1E22,0x3F1E62,0x3F1EA2,0x3F1EE2,
    0x3F1F22,0x3F1F62,0x3F1FA2,0x3F1FE2,0x3F2022,0x3F2062,0x3F20A2,0x3F20E2,0x3F2122,0x3F2162,0x3F21A2,0x3F21E2,
    0x3F2222,0x3F2262,0x3F22A2,0x3F22E2,0x3F2322,0x3F2362,0x3F23A2,0x3F23E2,0x3F2422,0x3F2462,0x3F24A2,0x3F24E2,
    0x3F2522,0x3F2562,0x3F25A2,0x3F25E3,0x3F2623,0x3F2663,0x3F26A3,0x3F26E3,0x3F2722,0x3F2762,0x3F27A2,0x3F27E2,
    0x3F2822,0x3F2862,0x3F28A2,0x3F28E2,0x3F2922,0x3F2962,0x3F29A2,0x3F29E2,0x3F2A22,0x3F2A62,0x3F2AA2,0x3F2AE2,
    0x3F2B22,0x3F2B62,0x3F2BA2,0x3F2BE2,0x3F2C22,0x3F2C62,0x3F2CA2,0x3F2CE2,0x3F2D22,0x3F2D62,0x3F2DA2,0x3F2DE2,
    0x3F2E22,0x3F2E62,0x3F2EA2,0x3F2EE2,0x3F2F22,0x3F2F62,0x3F2FA2,0x3F2FE2,0x3F3022,0x3F3062,0x3F30A2,0x3F30E2,
    0x3F3122,0x3F3162,0x3F31A2,0x3F31E2,0x3F3222,0x3F3262,0x3F32A2,0x3F32E2,0x3F3322,0x3F3362,0x3F33A2,0x3F33E2,
    0x3F3422,0x3F3462,0x3F34A2,0x3F34E2,0x3F3522,0x3F3562,0x3F35A2,0x3F35E2,0x3F3622,0x3F3662,0x3F36A2,0x3F36E2,
    0x3F3722,0x3F3762,0x3F37A2,0x3F37E3,0x3F3823,0x3F3862,0x3F38A2,0x3F38E2,0x3F3922,0x3F3962,0x3F39A2,0x3F39E2,
    0x3F3A22,0x3F3A62,0x3F3AA2,0x3F3AE2,0x3F3B22,0x3F3B62,0x3F3BA2,0x3F3BE2,0x3F3C22,0x3F3C62,0x3F3CA3,0x3F3CE3,
    0x3F3D23,0x3F3D62,0x3F3DA2,0x3F3DE2,0x3F3E22,0x3F3E62,0x3F3EA2,0x3F3EE2,0x3F3F22,0x3F3F62,0x3F3FA2,0x3F3FE2,
    0x3F4022,0x3F4062,0x3F40A2,0x3F40E2,0x3F4122,0x3F4162,0x3F41A2,0x3F41E2,0x3F4222,0x3F4262,0x3F42A2,0x3F42E2,
    0x3F4322,0x3F4362,0x3F43A2,0x3F43E2,0x3F4422,0x3F4462,0x3F44A2,0x3F44E2,0x3F4522,0x3F4562,0x3F45A2,0x3F45E2,
    0x3F4622,0x3F4662,0x3F46A2,0x3F46E2,0x3F4722,0x3F4762,0x3F47A2,0x3F47E2,0x3F4822,0x3F4862,0x3F48A2,0x3F48E2,
    0x3F4922,0x3F4962,0x3F49A2,0x3F49E2,0x3F4A22,0x3F4A62,0x3F4AA2,0x3F4AE2,0x3F4B22,0x3F4B62,0x3F4BA2,0x3F4BE2,
    0x3F4C22,0x3F4C62,0x3F4CA2,0x3F4CE2,0x3F4D22,0x3F4D62,0x3F4DA2,0x3F4DE2,0x3F4E22,0x3F4E62,0x3F4EA2,0x3F4EE2,
    0x3F4F22,0x3F4F62,0x3F5423,0x3F5463,0x3F54A3,0x3F54E3,0x3F5523,0x3F5563,0x3F55A3,0x3F55E3,0x3F5623,0x3F5663,
    0x3F56A3,0x3F56E3,0x3F5723,0x3F5763,0x3F57A3,0x3F57E3,0x3F5823,0x3F5863,0x3F58A3,0x3F58E3,0x3F5923,0x3F5963,
    0x3F59A3,0x3F59E3,0x3F5A23,0x3F5A63,0x3F5AA3,0x3F5AE3,0x3F5B23,0x3F5B63,0x3F5BA3,0x3F5BE3,0x3F5C23,0x3F5C63,
    0x3F5CA3,0x3F5CE3,0x3F5D23,0x3F5D63,0x3F5DA3,0x3F5DE3,0x3F5E23,0x3F5E63,0x3F5EA3,0x3F5EE3,0x3F5F23,0x3F5F63,
    0x3F5FA3,0x3F5FE3,0x3F6023,0x3F6063,0x3F60A3,0x3F60E3,0x3F6123,0x3F6163,0x3F61A3,0x3F61E3,0x3F6223,0x3F6263,
    0x3F62A3,0x3F62E3,0x3F6323,0x3F6363,0x3F63A3,0x3F63E3,0x3F64A3,0x3F64E3,0x3F6523,0x3F6563,0x3F65A3,0x3F65E3,
    0x3F6623,0x3F6663,0x3F66A3,0x3F66E3,0x3F6723,0x3F6763,0x3F67A3,0x3F67E3,0x3F6823,0x3F6863,0x3F68A3,0x3F68E3,
    0x3F6923,0x3F6963,0x3F69A3,0x3F69E3,0x3F6A23,0x3F6A63,0x3F6AA3,0x3F6AE3,0x3F6B23,0x3F6B63,0x3F6BA3,0x3F6BE3,
    0x3F6C23,0x3F6C63,0x3F6CA3,0x3F6CE3,0x3F6D23,0x3F6D63,0x3F6DA3,0x3F6DE3,0x3F6E23,0x3F6E63,0x3F6EA3,0x3F6EE3,
    0x3F6F23,0x3F6F63,0x3F6FA3,0x3F6FE3,0x3F7023,0x3F7063,0x3F70A3,0x3F70E3,0x3F7123,0x3F7163,0x3F71A3,0x3F71E3,
    0x3F7C23,0x3F7C63,0x3F7CA4,0x3F7CE4,0x3F7D24,0x3F7D64,0x3F7DA4,0x3F7DE4,0x3F7E24,0x3F7E63,0x3F7EB2,0x3F7EE8,
    0x3F7F24,0x3F8421,0x3F8461,0x3F84A1,0x3F84E1,0x3F8521,0x3F8561,0x3F85A1,0x3F85E1,0x3F8621,0x3F8663,0x3F8C22,
    0x3F8C61,0x3F8CA1,0x3F8CE1,0x3F8D21,0x3F8D61,0x3F8DA1,0x3F8DE1,0x3F8E21,0x3F8E61,0x3F8EA1,0x3F8EE1,0x3F8F21,
    0x3F8F61,0x3F8FA1,0x3F8FE1,0x3F9021,0x3F9061,0x3F90A1,0x3F90E1,0x3F9121,0x3F91E1,0x3F9221,0x3F9262,0x3F92A2,
    0x3F92E2,0x3F9322,0x3F9361,0x3F93A1,0x3F93E1,0x3F9421,0x3F9461,0x3F94A1,0x3F9521,0x3F9561,0x3F95A1,0x3F95E1,
    0x3F9621,0x3F9661,0x3F96A1,0x3F96E1,0x3F9721,0x3F9761,0x3F97A1,0x3F97E1,0x3F9821,0x3F9861,0x3F98A1,0x3F98E1,
    0x3F9921,0x3F9961,0x3F99A1,0x3F9A21,0x3F9A61,0x3F9AA1,0x3F9AE1,0x3F9C22,0x3F9C62,0x3F9CA2,0x3F9D22,0x3F9DA2,
    0x3F9DE2,0x3F9E22,0x3F9E62,0x3F9EA2,0x3F9EE2,0x3F9F22,0x3F9F62,0x3F9FA2,0x3F9FE2,0x3FA021,0x3FA062,0x3FA0A2,
    0x3FA0E2,0x3FA122,0x3FA162,0x3FA1A2,0x3FA1E2,0x3FA222,0x3FA262,0x3FA2A2,0x3FA2E2,0x3FA322,0x3FA361,0x3FA3A1,
    0x3FA3E1,0x3FA421,0x3FA461,0x3FA4A1,0x3FA4E1,0x3FA521,0x3FA561,0x3FA5A1,0x3FA5E1,0x3FA621,0x3FA661,0x3FA6A1,
    0x3FA6E1,0x3FA721,0x3FA761,0x3FA7A1,0x3FA7E1,0x3FA821,0x3FA861,0x3FA8A1,0x3FA8E1,0x3FA921,0x3FA961,0x3FA9A1,
    0x3FA9E1,0x3FAA21,0x3FAA61,0x3FAAA1,0x3FAAE1,0x3FAB21,0x3FAB61,0x3FABA1,0x3FABE1,0x3FAC21,0x3FAC61,0x3FACA1,
    0x3FACE1,0x3FAD21,0x3FAD61,0x3FADA1,0x3FADE1,0x3FAE21,0x3FAE61,0x3FAEA1,0x3FAEE1,0x3FAF21,0x3FAF61,0x3FAFA1,
    0x3FAFE1,0x3FB021,0x3FB061,0x3FB0A1,0x3FB0E1,0x3FB121,0x3FB161,0x3FB1A1,0x3FB1E1,0x3FB221,0x3FB261,0x3FB2A1,
    0x3FB2E1,0x3FB321,0x3FB361,0x3FB3A1,0x3FB3E1,0x3FB421,0x3FB461,0x3FB4A1,0x3FB4E1,0x3FB521,0x3FB561,0x3FB5A1,
    0x3FB5E1,0x3FB621,0x3FB661,0x3FB6A1,0x3FB6E1,0x3FB721,0x3FB761,0x3FB7A1,0x3FB7E1,0x3FB821,0x3FB861,0x3FB8A1,
    0x3FB8E1,0x3FB921,0x3FB961,0x3FB9A1,0x3FB9E1,0x3FBA21,0x3FBA61,0x3FBAA1,0x3FBAE1,0x3FBB21,0x3FBB61,0x3FBBA1,
    0x3FBBE1,0x3FBC21,0x3FBC61,0x3FBCA1,0x3FBCE1,0x3FBD21,0x3FBD63,0x3FBDA3,0x3FBDE3,0x3FBE23,0x3FBE63,0x3FBEA3,
    0x3FBEE2,0x3FBF22,0x3FC061,0x3FC0A1,0x3FC0E1,0x3FC121,0x3FC161,0x3FC1A1,0x3FC1E1,0x3FC221,0x3FC261,0x3FC2A1,
    0x3FC2E1,0x3FC321,0x3FC361,0x3FC3A1,0x3FC3E1,0x3FC421,0x3FC461,0x3FC4A1,0x3FC4E1,0x3FC521,0x3FC561,0x3FC5A1,
    0x3FC5E1,0x3FC621,0x3FC661,0x3FC6A1,0x3FC6E1,0x3FC721,0x3FC761,0x3FC7A1,0x3FC7E1,0x3FC821,0x3FC861,0x3FC8A1,
    0x3FC8E1,0x3FC921,0x3FC961,0x3FC9A1,0x3FC9E1,0x3FCA21,0x3FCA61,0x3FCAA1,0x3FCAE1,0x3FCB21,0x3FCB61,0x3FCBA1,
    0x3FCBE1,0x3FCC21,0x3FCC61,0x3FCCA1,0x3FCCE1,0x3FCD21,0x3FCD61,0x3FCDA1,0x3FCDE1,0x3FCE21,0x3FCE61,0x3FCEA1,
    0x3FCEE1,0x3FCF21,0x3FCF61,0x3FCFA1,0x3FCFE1,0x3FD021,0x3FD061,0x3FD0A1,0x3FD0E1,0x3FD121,0x3FD161,0x3FD1A1,
    0x3FD1E1,0x3FD221,0x3FD261,0x3FD2A1,0x3FD2E1,0x3FD321,0x3FD361,0x3FD3A1,0x3FD3E1,0x3FD421,0x3FD461,0x3FD4A1,
    0x3FD4E1,0x3FD521,0x3FD561,0x3FD5A1,0x3FD5E1,0x3FD621,0x3FD661,0x3FD6A1,0x3FD6E1,0x3FD721,0x3FD761,0x3FD7A1,
    0x3FD7E1,0x3FD821,0x3FD861,0x3FD8A1,0x3FD8E1,0x3FD921,0x3FD961,0x3FD9A1,0x3FD9E1,0x3FDA21,0x3FDA61,0x3FDAA1,
    0x3FDAE1,0x3FDB21,0x3FDB61,0x3FDBA1,0x3FDBE1,0x3FDC21,0x3FDC61,0x3FDCA1,0x3FDCE1,0x3FDD21,0x3FDD61,0x3FDDA1,
    0x3FDDE1,0x3FDE21,0x3FDE61,0x3FDEA1,0x3FDEE1,0x3FDF21,0x3FDF61,0x3FDFA1,0x3FDFE1,0x3FE021,0x3FE061,0x3FE0A1,
    0x3FE0E1,0x3FE121,0x3FE161,0x3FE1A1,0x3FE1E1,0x3FE221,0x3FE261,0x3FE2A1,0x3FE2E1,0x3FE321,0x3FE361,0x3FE3A1,
    0x3FE3E1,0x3FE421,0x3FE461,0x3FE4A1,0x3FE4E1,0x3FE521,0x3FE561,0x3FE5A1,0x3FE5E1,0x3FE621,0x3FE661,0x3FE6A1,
    0x3FE6E1,0x3FE721,0x3FE761,0x3FE7A1,0x3FE7E1,0x3FE821,0x3FE861,0x3FE8A1,0x3FE8E1,0x3FE921,0x3FE961,0x3FE9A1,
    0x3FE9E1,0x3FEA21,0x3FEA61,0x3FEAA1,0x3FEAE1,0x3FEB21,0x3FEB61,0x3FEBA1,0x3FEBE1,0x3FEC21,0x3FEC61,0x3FECA1,
    0x3FECE1,0x3FED21,0x3FED61,0x3FEDA1,0x3FEDE1,0x3FEE21,0x3FEE61,0x3FEEA1,0x3FEEE1,0x3FEF21,0x3FEF61,0x3FEFA1,
    0x3FF0A1,0x3FF0E1,0x3FF121,0x3FF161,0x3FF1A1,0x3FF1E1,0x3FF2A1,0x3FF2E1,0x3FF321,0x3FF361,0x3FF3A1,0x3FF3E1,
    0x3FF4A1,0x3FF4E1,0x3FF521,0x3FF561,0x3FF5A1,0x3FF5E1,0x3FF6A1,0x3FF6E1,0x3FF721,0x3FF821,0x3FF861,0x3FF8A1,
    0x3FF8E2,0x3FF921,0x3FF961,0x3FF9A1,0x3FFA21,0x3FFA61,0x3FFAA1,0x3FFAE1,0x3FFB21,0x3FFB61,0x3FFBA1,0x442682,
    0x442702,0x442AC2,0x444B82,0x444BC2,0x44D2C2,0x44D302,0x452EC2,0x452F02,0x452F82,0x456E82,0x456EC2,0x745782,
    0x7457C2,0x745803,0x745843,0x745883,0x7458C3,0x745903,0x746EC2,0x746F02,0x746F43,0x746F83,0x746FC3,0x747003,
    0x750021,0x750061,0x7500A1,0x7500E1,0x750121,0x750161,0x7501A1,0x7501E1,0x750221,0x750261,0x7502A1,0x7502E1,
    0x750321,0x750361,0x7503A1,0x7503E1,0x750421,0x750461,0x7504A1,0x7504E1,0x750521,0x750561,0x7505A1,0x7505E1,
    0x750621,0x750661,0x7506A1,0x7506E1,0x750721,0x750761,0x7507A1,0x7507E1,0x750821,0x750861,0x7508A1,0x7508E1,
    0x750921,0x750961,0x7509A1,0x7509E1,0x750A21,0x750A61,0x750AA1,0x750AE1,0x750B21,0x750B61,0x750BA1,0x750BE1,
    0x750C21,0x750C61,0x750CA1,0x750CE1,0x750D21,0x750D61,0x750DA1,0x750DE1,0x750E21,0x750E61,0x750EA1,0x750EE1,
    0x750F21,0x750F61,0x750FA1,0x750FE1,0x751021,0x751061,0x7510A1,0x7510E1,0x751121,0x751161,0x7511A1,0x7511E1,
    0x751221,0x751261,0x7512A1,0x7512E1,0x751321,0x751361,0x7513A1,0x7513E1,0x751421,0x751461,0x7514A1,0x7514E1,
    0x751521,0x7515A1,0x7515E1,0x751621,0x751661,0x7516A1,0x7516E1,0x751721,0x751761,0x7517A1,0x7517E1,0x751821,
    0x751861,0x7518A1,0x7518E1,0x751921,0x751961,0x7519A1,0x7519E1,0x751A21,0x751A61,0x751AA1,0x751AE1,0x751B21,
    0x751B61,0x751BA1,0x751BE1,0x751C21,0x751C61,0x751CA1,0x751CE1,0x751D21,0x751D61,0x751DA1,0x751DE1,0x751E21,
    0x751E61,0x751EA1,0x751EE1,0x751F21,0x751F61,0x751FA1,0x751FE1,0x752021,0x752061,0x7520A1,0x7520E1,0x752121,
    0x752161,0x7521A1,0x7521E1,0x752221,0x752261,0x7522A1,0x7522E1,0x752321,0x752361,0x7523A1,0x7523E1,0x752421,
    0x752461,0x7524A1,0x7524E1,0x752521,0x752561,0x7525A1,0x7525E1,0x752621,0x752661,0x7526A1,0x7526E1,0x752721,
    0x7527A1,0x7527E1,0x7528A1,0x752961,0x7529A1,0x752A61,0x752AA1,0x752AE1,0x752B21,0x752BA1,0x752BE1,0x752C21,
    0x752C61,0x752CA1,0x752CE1,0x752D21,0x752D61,0x752DA1,0x752DE1,0x752E21,0x752E61,0x752EE1,0x752F61,0x752FA1,
    0x752FE1,0x753021,0x753061,0x7530A1,0x7530E1,0x753161,0x7531A1,0x7531E1,0x753221,0x753261,0x7532A1,0x7532E1,
    0x753321,0x753361,0x7533A1,0x7533E1,0x753421,0x753461,0x7534A1,0x7534E1,0x753521,0x753561,0x7535A1,0x7535E1,
    0x753621,0x753661,0x7536A1,0x7536E1,0x753721,0x753761,0x7537A1,0x7537E1,0x753821,0x753861,0x7538A1,0x7538E1,
    0x753921,0x753961,0x7539A1,0x7539E1,0x753A21,0x753A61,0x753AA1,0x753AE1,0x753B21,0x753B61,0x753BA1,0x753BE1,
    0x753C21,0x753C61,0x753CA1,0x753CE1,0x753D21,0x753D61,0x753DA1,0x753DE1,0x753E21,0x753E61,0x753EA1,0x753EE1,
    0x753F21,0x753F61,0x753FA1,0x753FE1,0x754021,0x754061,0x7540A1,0x7540E1,0x754121,0x754161,0x7541E1,0x754221,
    0x754261,0x7542A1,0x754361,0x7543A1,0x7543E1,0x754421,0x754461,0x7544A1,0x7544E1,0x754521,0x7545A1,0x7545E1,
    0x754621,0x754661,0x7546A1,0x7546E1,0x754721,0x7547A1,0x7547E1,0x754821,0x754861,0x7548A1,0x7548E1,0x754921,
    0x754961,0x7549A1,0x7549E1,0x754A21,0x754A61,0x754AA1,0x754AE1,0x754B21,0x754B61,0x754BA1,0x754BE1,0x754C21,
    0x754C61,0x754CA1,0x754CE1,0x754D21,0x754D61,0x754DA1,0x754DE1,0x754E21,0x754E61,0x754EE1,0x754F21,0x754F61,
    0x754FA1,0x755021,0x755061,0x7550A1,0x7550E1,0x755121,0x7551A1,0x7552A1,0x7552E1,0x755321,0x755361,0x7553A1,
    0x7553E1,0x755421,0x7554A1,0x7554E1,0x755521,0x755561,0x7555A1,0x7555E1,0x755621,0x755661,0x7556A1,0x7556E1,
    0x755721,0x755761,0x7557A1,0x7557E1,0x755821,0x755861,0x7558A1,0x7558E1,0x755921,0x755961,0x7559A1,0x7559E1,
    0x755A21,0x755A61,0x755AA1,0x755AE1,0x755B21,0x755B61,0x755BA1,0x755BE1,0x755C21,0x755C61,0x755CA1,0x755CE1,
    0x755D21,0x755D61,0x755DA1,0x755DE1,0x755E21,0x755E61,0x755EA1,0x755EE1,0x755F21,0x755F61,0x755FA1,0x755FE1,
    0x756021,0x756061,0x7560A1,0x7560E1,0x756121,0x756161,0x7561A1,0x7561E1,0x756221,0x756261,0x7562A1,0x7562E1,
    0x756321,0x756361,0x7563A1,0x7563E1,0x756421,0x756461,0x7564A1,0x7564E1,0x756521,0x756561,0x7565A1,0x7565E1,
    0x756621,0x756661,0x7566A1,0x7566E1,0x756721,0x756761,0x7567A1,0x7567E1,0x756821,0x756861,0x7568A1,0x7568E1,
    0x756921,0x756961,0x7569A1,0x7569E1,0x756A21,0x756A61,0x756AA1,0x756AE1,0x756B21,0x756B61,0x756BA1,0x756BE1,
    0x756C21,0x756C61,0x756CA1,0x756CE1,0x756D21,0x756D61,0x756DA1,0x756DE1,0x756E21,0x756E61,0x756EA1,0x756EE1,
    0x756F21,0x756F61,0x756FA1,0x756FE1,0x757021,0x757061,0x7570A1,0x7570E1,0x757121,0x757161,0x7571A1,0x7571E1,
    0x757221,0x757261,0x7572A1,0x7572E1,0x757321,0x757361,0x7573A1,0x7573E1,0x757421,0x757461,0x7574A1,0x7574E1,
    0x757521,0x757561,0x7575A1,0x7575E1,0x757621,0x757661,0x7576A1,0x7576E1,0x757721,0x757761,0x7577A1,0x7577E1,
    0x757821,0x757861,0x7578A1,0x7578E1,0x757921,0x757961,0x7579A1,0x7579E1,0x757A21,0x757A61,0x757AA1,0x757AE1,
    0x757B21,0x757B61,0x757BA1,0x757BE1,0x757C21,0x757C61,0x757CA1,0x757CE1,0x757D21,0x757D61,0x757DA1,0x757DE1,
    0x757E21,0x757E61,0x757EA1,0x757EE1,0x757F21,0x757F61,0x757FA1,0x757FE1,0x758021,0x758061,0x7580A1,0x7580E1,
    0x758121,0x758161,0x7581A1,0x7581E1,0x758221,0x758261,0x7582A1,0x7582E1,0x758321,0x758361,0x7583A1,0x7583E1,
    0x758421,0x758461,0x7584A1,0x7584E1,0x758521,0x758561,0x7585A1,0x7585E1,0x758621,0x758661,0x7586A1,0x7586E1,
    0x758721,0x758761,0x7587A1,0x7587E1,0x758821,0x758861,0x7588A1,0x7588E1,0x758921,0x758961,0x7589A1,0x7589E1,
    0x758A21,0x758A61,0x758AA1,0x758AE1,0x758B21,0x758B61,0x758BA1,0x758BE1,0x758C21,0x758C61,0x758CA1,0x758CE1,
    0x758D21,0x758D61,0x758DA1,0x758DE1,0x758E21,0x758E61,0x758EA1,0x758EE1,0x758F21,0x758F61,0x758FA1,0x758FE1,
    0x759021,0x759061,0x7590A1,0x7590E1,0x759121,0x759161,0x7591A1,0x7591E1,0x759221,0x759261,0x7592A1,0x7592E1,
    0x759321,0x759361,0x7593A1,0x7593E1,0x759421,0x759461,0x7594A1,0x7594E1,0x759521,0x759561,0x7595A1,0x7595E1,
    0x759621,0x759661,0x7596A1,0x7596E1,0x759721,0x759761,0x7597A1,0x7597E1,0x759821,0x759861,0x7598A1,0x7598E1,
    0x759921,0x759961,0x7599A1,0x7599E1,0x759A21,0x759A61,0x759AA1,0x759AE1,0x759B21,0x759B61,0x759BA1,0x759BE1,
    0x759C21,0x759C61,0x759CA1,0x759CE1,0x759D21,0x759D61,0x759DA1,0x759DE1,0x759E21,0x759E61,0x759EA1,0x759EE1,
    0x759F21,0x759F61,0x759FA1,0x759FE1,0x75A021,0x75A061,0x75A0A1,0x75A0E1,0x75A121,0x75A161,0x75A1A1,0x75A1E1,
    0x75A221,0x75A261,0x75A2A1,0x75A2E1,0x75A321,0x75A361,0x75A3A1,0x75A3E1,0x75A421,0x75A461,0x75A4A1,0x75A4E1,
    0x75A521,0x75A561,0x75A5A1,0x75A5E1,0x75A621,0x75A661,0x75A6A1,0x75A6E1,0x75A721,0x75A761,0x75A7A1,0x75A7E1,
    0x75A821,0x75A861,0x75A8A1,0x75A8E1,0x75A921,0x75A961,0x75AA21,0x75AA61,0x75AAA1,0x75AAE1,0x75AB21,0x75AB61,
    0x75ABA1,0x75ABE1,0x75AC21,0x75AC61,0x75ACA1,0x75ACE1,0x75AD21,0x75AD61,0x75ADA1,0x75ADE1,0x75AE21,0x75AE61,
    0x75AEA1,0x75AEE1,0x75AF21,0x75AF61,0x75AFA1,0x75AFE1,0x75B021,0x75B061,0x75B0A1,0x75B0E1,0x75B121,0x75B161,
    0x75B1A1,0x75B1E1,0x75B221,0x75B261,0x75B2A1,0x75B2E1,0x75B321,0x75B361,0x75B3A1,0x75B3E1,0x75B421,0x75B461,
    0x75B4A1,0x75B4E1,0x75B521,0x75B561,0x75B5A1,0x75B5E1,0x75B621,0x75B661,0x75B6A1,0x75B6E1,0x75B721,0x75B761,
    0x75B7A1,0x75B7E1,0x75B821,0x75B861,0x75B8A1,0x75B8E1,0x75B921,0x75B961,0x75B9A1,0x75B9E1,0x75BA21,0x75BA61,
    0x75BAA1,0x75BAE1,0x75BB21,0x75BB61,0x75BBA1,0x75BBE1,0x75BC21,0x75BC61,0x75BCA1,0x75BCE1,0x75BD21,0x75BD61,
    0x75BDA1,0x75BDE1,0x75BE21,0x75BE61,0x75BEA1,0x75BEE1,0x75BF21,0x75BF61,0x75BFA1,0x75BFE1,0x75C021,0x75C061,
    0x75C0A1,0x75C0E1,0x75C121,0x75C161,0x75C1A1,0x75C1E1,0x75C221,0x75C261,0x75C2A1,0x75C2E1,0x75C321,0x75C361,
    0x75C3A1,0x75C3E1,0x75C421,0x75C461,0x75C4A1,0x75C4E1,0x75C521,0x75C561,0x75C5A1,0x75C5E1,0x75C621,0x75C661,
    0x75C6A1,0x75C6E1,0x75C721,0x75C761,0x75C7A1,0x75C7E1,0x75C821,0x75C861,0x75C8A1,0x75C8E1,0x75C921,0x75C961,
    0x75C9A1,0x75C9E1,0x75CA21,0x75CA61,0x75CAA1,0x75CAE1,0x75CB21,0x75CB61,0x75CBA1,0x75CBE1,0x75CC21,0x75CC61,
    0x75CCA1,0x75CCE1,0x75CD21,0x75CD61,0x75CDA1,0x75CDE1,0x75CE21,0x75CE61,0x75CEA1,0x75CEE1,0x75CF21,0x75CF61,
    0x75CFA1,0x75CFE1,0x75D021,0x75D061,0x75D0A1,0x75D0E1,0x75D121,0x75D161,0x75D1A1,0x75D1E1,0x75D221,0x75D261,
    0x75D2A1,0x75D2E1,0x75D321,0x75D361,0x75D3A1,0x75D3E1,0x75D421,0x75D461,0x75D4A1,0x75D4E1,0x75D521,0x75D561,
    0x75D5A1,0x75D5E1,0x75D621,0x75D661,0x75D6A1,0x75D6E1,0x75D721,0x75D761,0x75D7A1,0x75D7E1,0x75D821,0x75D861,
    0x75D8A1,0x75D8E1,0x75D921,0x75D961,0x75D9A1,0x75D9E1,0x75DA21,0x75DA61,0x75DAA1,0x75DAE1,0x75DB21,0x75DB61,
    0x75DBA1,0x75DBE1,0x75DC21,0x75DC61,0x75DCA1,0x75DCE1,0x75DD21,0x75DD61,0x75DDA1,0x75DDE1,0x75DE21,0x75DE61,
    0x75DEA1,0x75DEE1,0x75DF21,0x75DF61,0x75DFA1,0x75DFE1,0x75E021,0x75E061,0x75E0A1,0x75E0E1,0x75E121,0x75E161,
    0x75E1A1,0x75E1E1,0x75E221,0x75E261,0x75E2A1,0x75E2E1,0x75E321,0x75E361,0x75E3A1,0x75E3E1,0x75E421,0x75E461,
    0x75E4A1,0x75E4E1,0x75E521,0x75E561,0x75E5A1,0x75E5E1,0x75E621,0x75E661,0x75E6A1,0x75E6E1,0x75E721,0x75E761,
    0x75E7A1,0x75E7E1,0x75E821,0x75E861,0x75E8A1,0x75E8E1,0x75E921,0x75E961,0x75E9A1,0x75E9E1,0x75EA21,0x75EA61,
    0x75EAA1,0x75EAE1,0x75EB21,0x75EB61,0x75EBA1,0x75EBE1,0x75EC21,0x75EC61,0x75ECA1,0x75ECE1,0x75ED21,0x75ED61,
    0x75EDA1,0x75EDE1,0x75EE21,0x75EE61,0x75EEA1,0x75EEE1,0x75EF21,0x75EF61,0x75EFA1,0x75EFE1,0x75F021,0x75F061,
    0x75F0A1,0x75F0E1,0x75F121,0x75F161,0x75F1A1,0x75F1E1,0x75F221,0x75F261,0x75F2A1,0x75F2E1,0x75F3A1,0x75F3E1,
    0x75F421,0x75F461,0x75F4A1,0x75F4E1,0x75F521,0x75F561,0x75F5A1,0x75F5E1,0x75F621,0x75F661,0x75F6A1,0x75F6E1,
    0x75F721,0x75F761,0x75F7A1,0x75F7E1,0x75F821,0x75F861,0x75F8A1,0x75F8E1,0x75F921,0x75F961,0x75F9A1,0x75F9E1,
    0x75FA21,0x75FA61,0x75FAA1,0x75FAE1,0x75FB21,0x75FB61,0x75FBA1,0x75FBE1,0x75FC21,0x75FC61,0x75FCA1,0x75FCE1,
    0x75FD21,0x75FD61,0x75FDA1,0x75FDE1,0x75FE21,0x75FE61,0x75FEA1,0x75FEE1,0x75FF21,0x75FF61,0x75FFA1,0x75FFE1,
    0x7B8021,0x7B8061,0x7B80A1,0x7B80E1,0x7B8161,0x7B81A1,0x7B81E1,0x7B8221,0x7B8261,0x7B82A1,0x7B82E1,0x7B8321,
    0x7B8361,0x7B83A1,0x7B83E1,0x7B8421,0x7B8461,0x7B84A1,0x7B84E1,0x7B8521,0x7B8561,0x7B85A1,0x7B85E1,0x7B8621,
    0x7B8661,0x7B86A1,0x7B86E1,0x7B8721,0x7B8761,0x7B87A1,0x7B87E1,0x7B8861,0x7B88A1,0x7B8921,0x7B89E1,0x7B8A61,
    0x7B8AA1,0x7B8AE1,0x7B8B21,0x7B8B61,0x7B8BA1,0x7B8BE1,0x7B8C21,0x7B8C61,0x7B8CA1,0x7B8D21,0x7B8D61,0x7B8DA1,
    0x7B8DE1,0x7B8E61,0x7B8EE1,0x7B90A1,0x7B91E1,0x7B9261,0x7B92E1,0x7B9361,0x7B93A1,0x7B93E1,0x7B9461,0x7B94A1,
    0x7B9521,0x7B95E1,0x7B9661,0x7B96E1,0x7B9761,0x7B97E1,0x7B9861,0x7B98A1,0x7B9921,0x7B99E1,0x7B9A21,0x7B9A61,
    0x7B9AA1,0x7B9B21,0x7B9B61,0x7B9BA1,0x7B9BE1,0x7B9C21,0x7B9C61,0x7B9CA1,0x7B9D21,0x7B9D61,0x7B9DA1,0x7B9DE1,
    0x7B9E61,0x7B9EA1,0x7B9EE1,0x7B9F21,0x7B9FA1,0x7BA021,0x7BA061,0x7BA0A1,0x7BA0E1,0x7BA121,0x7BA161,0x7BA1A1,
    0x7BA1E1,0x7BA221,0x7BA261,0x7BA2E1,0x7BA321,0x7BA361,0x7BA3A1,0x7BA3E1,0x7BA421,0x7BA461,0x7BA4A1,0x7BA4E1,
    0x7BA521,0x7BA561,0x7BA5A1,0x7BA5E1,0x7BA621,0x7BA661,0x7BA6A1,0x7BA6E1,0x7BA861,0x7BA8A1,0x7BA8E1,0x7BA961,
    0x7BA9A1,0x7BA9E1,0x7BAA21,0x7BAA61,0x7BAAE1,0x7BAB21,0x7BAB61,0x7BABA1,0x7BABE1,0x7BAC21,0x7BAC61,0x7BACA1,
    0x7BACE1,0x7BAD21,0x7BAD61,0x7BADA1,0x7BADE1,0x7BAE21,0x7BAE61,0x7BAEA1,0x7BAEE1,0x7C4022,0x7C4062,0x7C40A2,
    0x7C40E2,0x7C4122,0x7C4162,0x7C41A2,0x7C41E2,0x7C4222,0x7C4262,0x7C42A2,0x7C4423,0x7C4463,0x7C44A3,0x7C44E3,
    0x7C4523,0x7C4563,0x7C45A3,0x7C45E3,0x7C4623,0x7C4663,0x7C46A3,0x7C46E3,0x7C4723,0x7C4763,0x7C47A3,0x7C47E3,
    0x7C4823,0x7C4863,0x7C48A3,0x7C48E3,0x7C4923,0x7C4963,0x7C49A3,0x7C49E3,0x7C4A23,0x7C4A63,0x7C4AA3,0x7C4AE1,
    0x7C4B21,0x7C4B62,0x7C4BA2,0x7C4C21,0x7C4C61,0x7C4CA1,0x7C4CE1,0x7C4D21,0x7C4D61,0x7C4DA1,0x7C4DE1,0x7C4E21,
    0x7C4E61,0x7C4EA1,0x7C4EE1,0x7C4F21,0x7C4F61,0x7C4FA1,0x7C4FE1,0x7C5021,0x7C5061,0x7C50A1,0x7C50E1,0x7C5121,
    0x7C5161,0x7C51A1,0x7C51E1,0x7C5221,0x7C5261,0x7C52A2,0x7C52E2,0x7C5322,0x7C5362,0x7C53A3,0x7C53E2,0x7C5AA2,
    0x7C5AE2,0x7C6422,0x7C8022,0x7C8062,0x7C80A1,0x7C8421,0x7C8461,0x7C84A1,0x7C84E2,0x7C8521,0x7C8561,0x7C85A1,
    0x7C85E1,0x7C8621,0x7C8661,0x7C86A1,0x7C86E1,0x7C8721,0x7C8761,0x7C87A1,0x7C87E1,0x7C8821,0x7C8861,0x7C88A1,
    0x7C88E1,0x7C8921,0x7C8961,0x7C89A1,0x7C89E1,0x7C8A21,0x7C8A61,0x7C8AA1,0x7C8AE1,0x7C8B21,0x7C8B61,0x7C8BA1,
    0x7C8BE1,0x7C8C21,0x7C8C61,0x7C8CA1,0x7C8CE1,0x7C8D21,0x7C8D61,0x7C8DA1,0x7C8DE1,0x7C8E21,0x7C8E61,0x7C8EA1,
    0x7C8EE1,0x7C9023,0x7C9063,0x7C90A3,0x7C90E3,0x7C9123,0x7C9163,0x7C91A3,0x7C91E3,0x7C9223,0x7C9421,0x7C9461,
    0xBE0001,0xBE0041,0xBE0081,0xBE00C1,0xBE0101,0xBE0141,0xBE0181,0xBE01C1,0xBE0201,0xBE0241,0xBE0281,0xBE02C1,
    0xBE0301,0xBE0341,0xBE0381,0xBE03C1,0xBE0401,0xBE0441,0xBE0481,0xBE04C1,0xBE0501,0xBE0541,0xBE0581,0xBE05C1,
    0xBE0601,0xBE0641,0xBE0681,0xBE06C1,0xBE0701,0xBE0741,0xBE0781,0xBE07C1,0xBE0801,0xBE0841,0xBE0881,0xBE08C1,
    0xBE0901,0xBE0941,0xBE0981,0xBE09C1,0xBE0A01,0xBE0A41,0xBE0A81,0xBE0AC1,0xBE0B01,0xBE0B41,0xBE0B81,0xBE0BC1,
    0xBE0C01,0xBE0C41,0xBE0C81,0xBE0CC1,0xBE0D01,0xBE0D41,0xBE0D81,0xBE0DC1,0xBE0E01,0xBE0E41,0xBE0E81,0xBE0EC1,
    0xBE0F01,0xBE0F41,0xBE0F81,0xBE0FC1,0xBE1001,0xBE1041,0xBE1081,0xBE10C1,0xBE1101,0xBE1141,0xBE1181,0xBE11C1,
    0xBE1201,0xBE1241,0xBE1281,0xBE12C1,0xBE1301,0xBE1341,0xBE1381,0xBE13C1,0xBE1401,0xBE1441,0xBE1481,0xBE14C1,
    0xBE1501,0xBE1541,0xBE1581,0xBE15C1,0xBE1601,0xBE1641,0xBE1681,0xBE16C1,0xBE1701,0xBE1741,0xBE1781,0xBE17C1,
    0xBE1801,0xBE1841,0xBE1881,0xBE18C1,0xBE1901,0xBE1941,0xBE1981,0xBE19C1,0xBE1A01,0xBE1A41,0xBE1A81,0xBE1AC1,
    0xBE1B01,0xBE1B41,0xBE1B81,0xBE1BC1,0xBE1C01,0xBE1C41,0xBE1C81,0xBE1CC1,0xBE1D01,0xBE1D41,0xBE1D81,0xBE1DC1,
    0xBE1E01,0xBE1E41,0xBE1E81,0xBE1EC1,0xBE1F01,0xBE1F41,0xBE1F81,0xBE1FC1,0xBE2001,0xBE2041,0xBE2081,0xBE20C1,
    0xBE2101,0xBE2141,0xBE2181,0xBE21C1,0xBE2201,0xBE2241,0xBE2281,0xBE22C1,0xBE2301,0xBE2341,0xBE2381,0xBE23C1,
    0xBE2401,0xBE2441,0xBE2481,0xBE24C1,0xBE2501,0xBE2541,0xBE2581,0xBE25C1,0xBE2601,0xBE2641,0xBE2681,0xBE26C1,
    0xBE2701,0xBE2741,0xBE2781,0xBE27C1,0xBE2801,0xBE2841,0xBE2881,0xBE28C1,0xBE2901,0xBE2941,0xBE2981,0xBE29C1,
    0xBE2A01,0xBE2A41,0xBE2A81,0xBE2AC1,0xBE2B01,0xBE2B41,0xBE2B81,0xBE2BC1,0xBE2C01,0xBE2C41,0xBE2C81,0xBE2CC1,
    0xBE2D01,0xBE2D41,0xBE2D81,0xBE2DC1,0xBE2E01,0xBE2E41,0xBE2E81,0xBE2EC1,0xBE2F01,0xBE2F41,0xBE2F81,0xBE2FC1,
    0xBE3001,0xBE3041,0xBE3081,0xBE30C1,0xBE3101,0xBE3141,0xBE3181,0xBE31C1,0xBE3201,0xBE3241,0xBE3281,0xBE32C1,
    0xBE3301,0xBE3341,0xBE3381,0xBE33C1,0xBE3401,0xBE3441,0xBE3481,0xBE34C1,0xBE3501,0xBE3541,0xBE3581,0xBE35C1,
    0xBE3601,0xBE3641,0xBE3681,0xBE36C1,0xBE3701,0xBE3741,0xBE3781,0xBE37C1,0xBE3801,0xBE3841,0xBE3881,0xBE38C1,
    0xBE3901,0xBE3941,0xBE3981,0xBE39C1,0xBE3A01,0xBE3A41,0xBE3A81,0xBE3AC1,0xBE3B01,0xBE3B41,0xBE3B81,0xBE3BC1,
    0xBE3C01,0xBE3C41,0xBE3C81,0xBE3CC1,0xBE3D01,0xBE3D41,0xBE3D81,0xBE3DC1,0xBE3E01,0xBE3E41,0xBE3E81,0xBE3EC1,
    0xBE3F01,0xBE3F41,0xBE3F81,0xBE3FC1,0xBE4001,0xBE4041,0xBE4081,0xBE40C1,0xBE4101,0xBE4141,0xBE4181,0xBE41C1,
    0xBE4201,0xBE4241,0xBE4281,0xBE42C1,0xBE4301,0xBE4341,0xBE4381,0xBE43C1,0xBE4401,0xBE4441,0xBE4481,0xBE44C1,
    0xBE4501,0xBE4541,0xBE4581,0xBE45C1,0xBE4601,0xBE4641,0xBE4681,0xBE46C1,0xBE4701,0xBE4741,0xBE4781,0xBE47C1,
    0xBE4801,0xBE4841,0xBE4881,0xBE48C1,0xBE4901,0xBE4941,0xBE4981,0xBE49C1,0xBE4A01,0xBE4A41,0xBE4A81,0xBE4AC1,
    0xBE4B01,0xBE4B41,0xBE4B81,0xBE4BC1,0xBE4C01,0xBE4C41,0xBE4C81,0xBE4CC1,0xBE4D01,0xBE4D41,0xBE4D81,0xBE4DC1,
    0xBE4E01,0xBE4E41,0xBE4E81,0xBE4EC1,0xBE4F01,0xBE4F41,0xBE4F81,0xBE4FC1,0xBE5001,0xBE5041,0xBE5081,0xBE50C1,
    0xBE5101,0xBE5141,0xBE5181,0xBE51C1,0xBE5201,0xBE5241,0xBE5281,0xBE52C1,0xBE5301,0xBE5341,0xBE5381,0xBE53C1,
    0xBE5401,0xBE5441,0xBE5481,0xBE54C1,0xBE5501,0xBE5541,0xBE5581,0xBE55C1,0xBE5601,0xBE5641,0xBE5681,0xBE56C1,
    0xBE5701,0xBE5741,0xBE5781,0xBE57C1,0xBE5801,0xBE5841,0xBE5881,0xBE58C1,0xBE5901,0xBE5941,0xBE5981,0xBE59C1,
    0xBE5A01,0xBE5A41,0xBE5A81,0xBE5AC1,0xBE5B01,0xBE5B41,0xBE5B81,0xBE5BC1,0xBE5C01,0xBE5C41,0xBE5C81,0xBE5CC1,
    0xBE5D01,0xBE5D41,0xBE5D81,0xBE5DC1,0xBE5E01,0xBE5E41,0xBE5E81,0xBE5EC1,0xBE5F01,0xBE5F41,0xBE5F81,0xBE5FC1,
    0xBE6001,0xBE6041,0xBE6081,0xBE60C1,0xBE6101,0xBE6141,0xBE6181,0xBE61C1,0xBE6201,0xBE6241,0xBE6281,0xBE62C1,
    0xBE6301,0xBE6341,0xBE6381,0xBE63C1,0xBE6401,0xBE6441,0xBE6481,0xBE64C1,0xBE6501,0xBE6541,0xBE6581,0xBE65C1,
    0xBE6601,0xBE6641,0xBE6681,0xBE66C1,0xBE6701,0xBE6741,0xBE6781,0xBE67C1,0xBE6801,0xBE6841,0xBE6881,0xBE68C1,
    0xBE6901,0xBE6941,0xBE6981,0xBE69C1,0xBE6A01,0xBE6A41,0xBE6A81,0xBE6AC1,0xBE6B01,0xBE6B41,0xBE6B81,0xBE6BC1,
    0xBE6C01,0xBE6C41,0xBE6C81,0xBE6CC1,0xBE6D01,0xBE6D41,0xBE6D81,0xBE6DC1,0xBE6E01,0xBE6E41,0xBE6E81,0xBE6EC1,
    0xBE6F01,0xBE6F41,0xBE6F81,0xBE6FC1,0xBE7001,0xBE7041,0xBE7081,0xBE70C1,0xBE7101,0xBE7141,0xBE7181,0xBE71C1,
    0xBE7201,0xBE7241,0xBE7281,0xBE72C1,0xBE7301,0xBE7341,0xBE7381,0xBE73C1,0xBE7401,0xBE7441,0xBE7481,0xBE74C1,
    0xBE7501,0xBE7541,0xBE7581,0xBE75C1,0xBE7601,0xBE7641,0xBE7681,0xBE76C1,0xBE7701,0xBE7741,0xBE7781,0xBE77C1,
    0xBE7801,0xBE7841,0xBE7881,0xBE78C1,0xBE7901,0xBE7941,0xBE7981,0xBE79C1,0xBE7A01,0xBE7A41,0xBE7A81,0xBE7AC1,
    0xBE7B01,0xBE7B41,0xBE7B81,0xBE7BC1,0xBE7C01,0xBE7C41,0xBE7C81,0xBE7CC1,0xBE7D01,0xBE7D41,0xBE7D81,0xBE7DC1,
    0xBE7E01,0xBE7E41,0xBE7E81,0xBE7EC1,0xBE7F01,0xBE7F41,0xBE7F81,0xBE7FC1,0xBE8001,0xBE8041,0xBE8081,0xBE80C1,
    0xBE8101,0xBE8141,0xBE8181,0xBE81C1,0xBE8201,0xBE8241,0xBE8281,0xBE82C1,0xBE8301,0xBE8341,0xBE8381,0xBE83C1,
    0xBE8401,0xBE8441,0xBE8481,0xBE84C1,0xBE8501,0xBE8541,0xBE8581,0xBE85C1,0xBE8601,0xBE8641,0xBE8681,0xBE86C1,
    0xBE8701,0xBE8741,
};
static const uint16_t llava__tok_uc_dat[180] = {
    0,60,124,188,252,316,382,460,526,592,641,696,760,824,888,955,
    1002,1034,1066,1114,1184,1254,1332,1400,1477,1559,1651,1732,1819,1906,1989,2109,
    2198,2273,2338,2388,2420,2467,2510,2584,2649,2711,2781,2876,2952,2984,3025,3057,
    3089,3121,3153,3185,3217,3265,3329,3375,3407,3439,3483,3601,3691,3741,3794,3826,
    3894,3926,4008,4139,4263,4354,4427,4515,4584,4664,4726,4758,4790,4822,4854,4886,
    4918,4950,4982,5014,5046,5078,5110,5142,5174,5228,5289,5321,5353,5389,5442,5515,
    5579,5643,5719,5783,5852,5916,5984,6049,6113,6199,6295,6391,6487,6576,6612,6660,
    6702,6734,6766,6812,6844,6876,6908,6940,6972,7004,7042,7103,7135,7167,7199,7231,
    7263,7295,7327,7359,7391,7423,7455,7487,7519,7551,7583,7615,7647,7679,7711,7743,
    7775,7807,7839,7871,7903,7935,7967,7999,8031,8063,8095,8127,8159,8191,8223,8298,
    8354,8399,8431,8481,8513,8545,8577,8609,8641,8673,8705,8737,8769,8801,8833,8865,
    8897,8929,8961,8993,
};
static const uint32_t llava__tok_uc_dpool[9003] = {
    32,32,776,97,32,772,50,51,32,769,956,32,807,49,111,49,8260,52,49,8260,
    50,51,8260,52,65,768,65,769,65,770,65,771,65,776,65,778,67,807,69,768,
    69,769,69,770,69,776,73,768,73,769,73,770,73,776,78,771,79,768,79,769,
    79,770,79,771,79,776,85,768,85,769,85,770,85,776,89,769,97,768,97,769,
    97,770,97,771,97,776,97,778,99,807,101,768,101,769,101,770,101,776,105,768,
    105,769,105,770,105,776,110,771,111,768,111,769,111,770,111,771,111,776,117,768,
    117,769,117,770,117,776,121,769,121,776,65,772,97,772,65,774,97,774,65,808,
    97,808,67,769,99,769,67,770,99,770,67,775,99,775,67,780,99,780,68,780,
    100,780,69,772,101,772,69,774,101,774,69,775,101,775,69,808,101,808,69,780,
    101,780,71,770,103,770,71,774,103,774,71,775,103,775,71,807,103,807,72,770,
    104,770,73,771,105,771,73,772,105,772,73,774,105,774,73,808,105,808,73,775,
    73,74,105,106,74,770,106,770,75,807,107,807,76,769,108,769,76,807,108,807,
    76,780,108,780,76,183,108,183,78,769,110,769,78,807,110,807,78,780,110,780,
    700,110,79,772,111,772,79,774,111,774,79,779,111,779,82,769,114,769,82,807,
    114,807,82,780,114,780,83,769,115,769,83,770,115,770,83,807,115,807,83,780,
    115,780,84,807,116,807,84,780,116,780,85,771,117,771,85,772,117,772,85,774,
    117,774,85,778,117,778,85,779,117,779,85,808,117,808,87,770,119,770,89,770,
    121,770,89,776,90,769,122,769,90,775,122,775,90,780,122,780,115,79,795,111,
    795,85,795,117,795,68,90,780,68,122,780,100,122,780,76,74,76,106,108,106,
    78,74,78,106,110,106,65,780,97,780,73,780,105,780,79,780,111,780,85,780,
    117,780,85,776,772,117,776,772,85,776,769,117,776,769,85,776,780,117,776,780,
    85,776,768,117,776,768,65,776,772,97,776,772,65,775,772,97,775,772,198,772,
    230,772,71,780,103,780,75,780,107,780,79,808,111,808,79,808,772,111,808,772,
    439,780,658,780,106,780,68,90,68,122,100,122,71,769,103,769,78,768,110,768,
    65,778,769,97,778,769,198,769,230,769,216,769,248,769,65,783,97,783,65,785,
    97,785,69,783,101,783,69,785,101,785,73,783,105,783,73,785,105,785,79,783,
    111,783,79,785,111,785,82,783,114,783,82,785,114,785,85,783,117,783,85,785,
    117,785,83,806,115,806,84,806,116,806,72,780,104,780,65,775,97,775,69,807,
    101,807,79,776,772,111,776,772,79,771,772,111,771,772,79,775,111,775,79,775,
    772,111,775,772,89,772,121,772,104,614,106,114,633,635,641,119,121,32,774,32,
    775,32,778,32,808,32,771,32,779,611,108,115,120,661,768,769,787,776,769,697,
    32,837,59,32,769,168,769,32,776,769,913,769,183,917,769,919,769,921,769,927,
    769,933,769,937,769,953,776,769,921,776,933,776,945,769,949,769,951,769,953,769,
    965,776,769,953,776,965,776,959,769,965,769,969,769,946,952,933,978,769,933,769,
    978,776,933,776,966,960,954,961,962,920,949,931,1045,768,1045,776,1043,769,1030,776,
    1050,769,1048,768,1059,774,1048,774,1080,774,1077,768,1077,776,1075,769,1110,776,1082,769,
    1080,768,1091,774,1140,783,1141,783,1046,774,1078,774,1040,774,1072,774,1040,776,1072,776,
    1045,774,1077,774,1240,776,1241,776,1046,776,1078,776,1047,776,1079,776,1048,772,1080,772,
    1048,776,1080,776,1054,776,1086,776,1256,776,1257,776,1069,776,1101,776,1059,772,1091,772,
    1059,776,1091,776,1059,779,1091,779,1063,776,1095,776,1067,776,1099,776,1381,1410,1575,1619,
    1575,1620,1608,1620,1575,1621,1610,1620,1575,1652,1608,1652,1735,1652,1610,1652,1749,1620,1729,1620,
    1746,1620,2344,2364,2352,2364,2355,2364,2325,2364,2326,2364,2327,2364,2332,2364,2337,2364,2338,2364,
    2347,2364,2351,2364,2503,2494,2503,2519,2465,2492,2466,2492,2479,2492,2610,2620,2616,2620,2582,2620,
    2583,2620,2588,2620,2603,2620,2887,2902,2887,2878,2887,2903,2849,2876,2850,2876,2962,3031,3014,3006,
    3015,3006,3014,3031,3142,3158,3263,3285,3270,3285,3270,3286,3270,3266,3270,3266,3285,3398,3390,3399,
    3390,3398,3415,3545,3530,3545,3535,3545,3535,3530,3545,3551,3661,3634,3789,3762,3755,3737,3755,3745,
    3851,3906,4023,3916,4023,3921,4023,3926,4023,3931,4023,3904,4021,3953,3954,3953,3956,4018,3968,4018,
    3953,3968,4019,3968,4019,3953,3968,3953,3968,3986,4023,3996,4023,4001,4023,4006,4023,4011,4023,3984,
    4021,4133,4142,4316,6917,6965,6919,6965,6921,6965,6923,6965,6925,6965,6929,6965,6970,6965,6972,6965,
    6974,6965,6975,6965,6978,6965,65,198,66,68,69,398,71,72,73,74,75,76,77,78,
    79,546,80,82,84,85,87,97,592,593,7426,98,100,101,601,603,604,103,107,109,
    331,111,596,7446,7447,112,116,117,7453,623,118,7461,946,947,948,966,967,105,114,117,
    118,946,947,961,966,967,1085,594,99,597,240,604,102,607,609,613,616,617,618,7547,
    669,621,7557,671,625,624,626,627,628,629,632,642,643,427,649,650,7452,651,652,122,
    656,657,658,952,65,805,97,805,66,775,98,775,66,803,98,803,66,817,98,817,
    67,807,769,99,807,769,68,775,100,775,68,803,100,803,68,817,100,817,68,807,
    100,807,68,813,100,813,69,772,768,101,772,768,69,772,769,101,772,769,69,813,
    101,813,69,816,101,816,69,807,774,101,807,774,70,775,102,775,71,772,103,772,
    72,775,104,775,72,803,104,803,72,776,104,776,72,807,104,807,72,814,104,814,
    73,816,105,816,73,776,769,105,776,769,75,769,107,769,75,803,107,803,75,817,
    107,817,76,803,108,803,76,803,772,108,803,772,76,817,108,817,76,813,108,813,
    77,769,109,769,77,775,109,775,77,803,109,803,78,775,110,775,78,803,110,803,
    78,817,110,817,78,813,110,813,79,771,769,111,771,769,79,771,776,111,771,776,
    79,772,768,111,772,768,79,772,769,111,772,769,80,769,112,769,80,775,112,775,
    82,775,114,775,82,803,114,803,82,803,772,114,803,772,82,817,114,817,83,775,
    115,775,83,803,115,803,83,769,775,115,769,775,83,780,775,115,780,775,83,803,
    775,115,803,775,84,775,116,775,84,803,116,803,84,817,116,817,84,813,116,813,
    85,804,117,804,85,816,117,816,85,813,117,813,85,771,769,117,771,769,85,772,
    776,117,772,776,86,771,118,771,86,803,118,803,87,768,119,768,87,769,119,769,
    87,776,119,776,87,775,119,775,87,803,119,803,88,775,120,775,88,776,120,776,
    89,775,121,775,90,770,122,770,90,803,122,803,90,817,122,817,104,817,116,776,
    119,778,121,778,97,702,383,775,115,775,65,803,97,803,65,777,97,777,65,770,
    769,97,770,769,65,770,768,97,770,768,65,770,777,97,770,777,65,770,771,97,
    770,771,65,803,770,97,803,770,65,774,769,97,774,769,65,774,768,97,774,768,
    65,774,777,97,774,777,65,774,771,97,774,771,65,803,774,97,803,774,69,803,
    101,803,69,777,101,777,69,771,101,771,69,770,769,101,770,769,69,770,768,101,
    770,768,69,770,777,101,770,777,69,770,771,101,770,771,69,803,770,101,803,770,
    73,777,105,777,73,803,105,803,79,803,111,803,79,777,111,777,79,770,769,111,
    770,769,79,770,768,111,770,768,79,770,777,111,770,777,79,770,771,111,770,771,
    79,803,770,111,803,770,79,795,769,111,795,769,79,795,768,111,795,768,79,795,
    777,111,795,777,79,795,771,111,795,771,79,795,803,111,795,803,85,803,117,803,
    85,777,117,777,85,795,769,117,795,769,85,795,768,117,795,768,85,795,777,117,
    795,777,85,795,771,117,795,771,85,795,803,117,795,803,89,768,121,768,89,803,
    121,803,89,777,121,777,89,771,121,771,945,787,945,788,945,787,768,945,788,768,
    945,787,769,945,788,769,945,787,834,945,788,834,913,787,913,788,913,787,768,913,
    788,768,913,787,769,913,788,769,913,787,834,913,788,834,949,787,949,788,949,787,
    768,949,788,768,949,787,769,949,788,769,917,787,917,788,917,787,768,917,788,768,
    917,787,769,917,788,769,951,787,951,788,951,787,768,951,788,768,951,787,769,951,
    788,769,951,787,834,951,788,834,919,787,919,788,919,787,768,919,788,768,919,787,
    769,919,788,769,919,787,834,919,788,834,953,787,953,788,953,787,768,953,788,768,
    953,787,769,953,788,769,953,787,834,953,788,834,921,787,921,788,921,787,768,921,
    788,768,921,787,769,921,788,769,921,787,834,921,788,834,959,787,959,788,959,787,
    768,959,788,768,959,787,769,959,788,769,927,787,927,788,927,787,768,927,788,768,
    927,787,769,927,788,769,965,787,965,788,965,787,768,965,788,768,965,787,769,965,
    788,769,965,787,834,965,788,834,933,788,933,788,768,933,788,769,933,788,834,969,
    787,969,788,969,787,768,969,788,768,969,787,769,969,788,769,969,787,834,969,788,
    834,937,787,937,788,937,787,768,937,788,768,937,787,769,937,788,769,937,787,834,
    937,788,834,945,768,945,769,949,768,949,769,951,768,951,769,953,768,953,769,959,
    768,959,769,965,768,965,769,969,768,969,769,945,787,837,945,788,837,945,787,768,
    837,945,788,768,837,945,787,769,837,945,788,769,837,945,787,834,837,945,788,834,
    837,913,787,837,913,788,837,913,787,768,837,913,788,768,837,913,787,769,837,913,
    788,769,837,913,787,834,837,913,788,834,837,951,787,837,951,788,837,951,787,768,
    837,951,788,768,837,951,787,769,837,951,788,769,837,951,787,834,837,951,788,834,
    837,919,787,837,919,788,837,919,787,768,837,919,788,768,837,919,787,769,837,919,
    788,769,837,919,787,834,837,919,788,834,837,969,787,837,969,788,837,969,787,768,
    837,969,788,768,837,969,787,769,837,969,788,769,837,969,787,834,837,969,788,834,
    837,937,787,837,937,788,837,937,787,768,837,937,788,768,837,937,787,769,837,937,
    788,769,837,937,787,834,837,937,788,834,837,945,774,945,772,945,768,837,945,837,
    945,769,837,945,834,945,834,837,913,774,913,772,913,768,913,769,913,837,32,787,
    953,32,787,32,834,168,834,32,776,834,951,768,837,951,837,951,769,837,951,834,
    951,834,837,917,768,917,769,919,768,919,769,919,837,8127,768,32,787,768,8127,769,
    32,787,769,8127,834,32,787,834,953,774,953,772,953,776,768,953,776,769,953,834,
    953,776,834,921,774,921,772,921,768,921,769,8190,768,32,788,768,8190,769,32,788,
    769,8190,834,32,788,834,965,774,965,772,965,776,768,965,776,769,961,787,961,788,
    965,834,965,776,834,933,774,933,772,933,768,933,769,929,788,168,768,32,776,768,
    168,769,32,776,769,96,969,768,837,969,837,969,769,837,969,834,969,834,837,927,
    768,927,769,937,768,937,769,937,837,180,32,769,32,788,8194,32,8195,32,32,32,
    32,32,32,32,32,32,32,8208,32,819,46,46,46,46,46,46,32,8242,8242,8242,
    8242,8242,8245,8245,8245,8245,8245,33,33,32,773,63,63,63,33,33,63,8242,8242,8242,
    8242,32,48,105,52,53,54,55,56,57,43,8722,61,40,41,110,48,49,50,51,
    52,53,54,55,56,57,43,8722,61,40,41,97,101,111,120,601,104,107,108,109,
    110,112,115,116,82,115,97,47,99,97,47,115,67,176,67,99,47,111,99,47,
    117,400,176,70,103,72,72,72,104,295,73,73,76,108,78,78,111,80,81,82,
    82,82,83,77,84,69,76,84,77,90,937,90,75,65,778,66,67,101,69,70,
    77,111,1488,1489,1490,1491,105,70,65,88,960,947,915,928,8721,68,100,101,105,106,
    49,8260,55,49,8260,57,49,8260,49,48,49,8260,51,50,8260,51,49,8260,53,50,
    8260,53,51,8260,53,52,8260,53,49,8260,54,53,8260,54,49,8260,56,51,8260,56,
    53,8260,56,55,8260,56,49,8260,73,73,73,73,73,73,73,86,86,86,73,86,
    73,73,86,73,73,73,73,88,88,88,73,88,73,73,76,67,68,77,105,105,
    105,105,105,105,105,118,118,118,105,118,105,105,118,105,105,105,105,120,120,120,
    105,120,105,105,108,99,100,109,48,8260,51,8592,824,8594,824,8596,824,8656,824,8660,
    824,8658,824,8707,824,8712,824,8715,824,8739,824,8741,824,8747,8747,8747,8747,8747,8750,8750,
    8750,8750,8750,8764,824,8771,824,8773,824,8776,824,61,824,8801,824,8781,824,60,824,62,
    824,8804,824,8805,824,8818,824,8819,824,8822,824,8823,824,8826,824,8827,824,8834,824,8835,
    824,8838,824,8839,824,8866,824,8872,824,8873,824,8875,824,8828,824,8829,824,8849,824,8850,
    824,8882,824,8883,824,8884,824,8885,824,12296,12297,49,50,51,52,53,54,55,56,57,
    49,48,49,49,49,50,49,51,49,52,49,53,49,54,49,55,49,56,49,57,
    50,48,40,49,41,40,50,41,40,51,41,40,52,41,40,53,41,40,54,41,
    40,55,41,40,56,41,40,57,41,40,49,48,41,40,49,49,41,40,49,50,
    41,40,49,51,41,40,49,52,41,40,49,53,41,40,49,54,41,40,49,55,
    41,40,49,56,41,40,49,57,41,40,50,48,41,49,46,50,46,51,46,52,
    46,53,46,54,46,55,46,56,46,57,46,49,48,46,49,49,46,49,50,46,
    49,51,46,49,52,46,49,53,46,49,54,46,49,55,46,49,56,46,49,57,
    46,50,48,46,40,97,41,40,98,41,40,99,41,40,100,41,40,101,41,40,
    102,41,40,103,41,40,104,41,40,105,41,40,106,41,40,107,41,40,108,41,
    40,109,41,40,110,41,40,111,41,40,112,41,40,113,41,40,114,41,40,115,
    41,40,116,41,40,117,41,40,118,41,40,119,41,40,120,41,40,121,41,40,
    122,41,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,
    83,84,85,86,87,88,89,90,97,98,99,100,101,102,103,104,105,106,107,108,
    109,110,111,112,113,114,115,116,117,118,119,120,121,122,48,8747,8747,8747,8747,58,
    58,61,61,61,61,61,61,10973,824,106,86,11617,27597,40863,19968,20008,20022,20031,20057,20101,
    20108,20128,20154,20799,20837,20843,20866,20886,20907,20960,20981,20992,21147,21241,21269,21274,21304,21313,21340,21353,
    21378,21430,21448,21475,22231,22303,22763,22786,22794,22805,22823,22899,23376,23424,23544,23567,23586,23608,23662,23665,
    24027,24037,24049,24062,24178,24186,24191,24308,24318,24331,24339,24400,24417,24435,24515,25096,25142,25163,25903,25908,
    25991,26007,26020,26041,26080,26085,26352,26376,26408,27424,27490,27513,27571,27595,27604,27611,27663,27668,27700,28779,
    29226,29238,29243,29247,29255,29273,29275,29356,29572,29577,29916,29926,29976,29983,29992,30000,30091,30098,30326,30333,
    30382,30399,30446,30683,30690,30707,31034,31160,31166,31348,31435,31481,31859,31992,32566,32593,32650,32701,32769,32780,
    32786,32819,32895,32905,33251,33258,33267,33276,33292,33307,33311,33390,33394,33400,34381,34411,34880,34892,34915,35198,
    35211,35282,35328,35895,35910,35925,35960,35997,36196,36208,36275,36523,36554,36763,36784,36789,37009,37193,37318,37324,
    37329,38263,38272,38428,38582,38585,38632,38737,38750,38754,38761,38859,38893,38899,38913,39080,39131,39135,39318,39321,
    39340,39592,39640,39647,39717,39727,39730,39740,39770,40165,40565,40575,40613,40635,40643,40653,40657,40697,40701,40718,
    40723,40736,40763,40778,40786,40845,40860,40864,32,12306,21313,21316,21317,12363,12441,12365,12441,12367,12441,12369,
    12441,12371,12441,12373,12441,12375,12441,12377,12441,12379,12441,12381,12441,12383,12441,12385,12441,12388,12441,12390,
    12441,12392,12441,12399,12441,12399,12442,12402,12441,12402,12442,12405,12441,12405,12442,12408,12441,12408,12442,12411,
    12441,12411,12442,12358,12441,32,12441,32,12442,12445,12441,12424,12426,12459,12441,12461,12441,12463,12441,12465,
    12441,12467,12441,12469,12441,12471,12441,12473,12441,12475,12441,12477,12441,12479,12441,12481,12441,12484,12441,12486,
    12441,12488,12441,12495,12441,12495,12442,12498,12441,12498,12442,12501,12441,12501,12442,12504,12441,12504,12442,12507,
    12441,12507,12442,12454,12441,12527,12441,12528,12441,12529,12441,12530,12441,12541,12441,12467,12488,4352,4353,4522,
    4354,4524,4525,4355,4356,4357,4528,4529,4530,4531,4532,4533,4378,4358,4359,4360,4385,4361,4362,4363,
    4364,4365,4366,4367,4368,4369,4370,4449,4450,4451,4452,4453,4454,4455,4456,4457,4458,4459,4460,4461,
    4462,4463,4464,4465,4466,4467,4468,4469,4448,4372,4373,4551,4552,4556,4558,4563,4567,4569,4380,4573,
    4575,4381,4382,4384,4386,4387,4391,4393,4395,4396,4397,4398,4399,4402,4406,4416,4423,4428,4593,4594,
    4439,4440,4441,4484,4485,4488,4497,4498,4500,4510,4513,19968,20108,19977,22235,19978,20013,19979,30002,20057,
    19993,19969,22825,22320,20154,40,4352,41,40,4354,41,40,4355,41,40,4357,41,40,4358,41,
    40,4359,41,40,4361,41,40,4363,41,40,4364,41,40,4366,41,40,4367,41,40,4368,
    41,40,4369,41,40,4370,41,40,4352,4449,41,40,4354,4449,41,40,4355,4449,41,40,
    4357,4449,41,40,4358,4449,41,40,4359,4449,41,40,4361,4449,41,40,4363,4449,41,40,
    4364,4449,41,40,4366,4449,41,40,4367,4449,41,40,4368,4449,41,40,4369,4449,41,40,
    4370,4449,41,40,4364,4462,41,40,4363,4457,4364,4453,4523,41,40,4363,4457,4370,4462,41,
    40,19968,41,40,20108,41,40,19977,41,40,22235,41,40,20116,41,40,20845,41,40,19971,
    41,40,20843,41,40,20061,41,40,21313,41,40,26376,41,40,28779,41,40,27700,41,40,
    26408,41,40,37329,41,40,22303,41,40,26085,41,40,26666,41,40,26377,41,40,31038,41,
    40,21517,41,40,29305,41,40,36001,41,40,31069,41,40,21172,41,40,20195,41,40,21628,
    41,40,23398,41,40,30435,41,40,20225,41,40,36039,41,40,21332,41,40,31085,41,40,
    20241,41,40,33258,41,40,33267,41,21839,24188,25991,31631,80,84,69,50,49,50,50,50,
    51,50,52,50,53,50,54,50,55,50,56,50,57,51,48,51,49,51,50,51,
    51,51,52,51,53,4352,4354,4355,4357,4358,4359,4361,4363,4364,4366,4367,4368,4369,4370,4352,
    4449,4354,4449,4355,4449,4357,4449,4358,4449,4359,4449,4361,4449,4363,4449,4364,4449,4366,4449,4367,
    4449,4368,4449,4369,4449,4370,4449,4366,4449,4535,4352,4457,4364,4462,4363,4468,4363,4462,19968,20108,
    19977,22235,20116,20845,19971,20843,20061,21313,26376,28779,27700,26408,37329,22303,26085,26666,26377,31038,21517,29305,
    36001,31069,21172,31192,30007,22899,36969,20778,21360,27880,38917,20241,20889,27491,19978,20013,19979,24038,21491,21307,
    23447,23398,30435,20225,36039,21332,22812,51,54,51,55,51,56,51,57,52,48,52,49,52,
    50,52,51,52,52,52,53,52,54,52,55,52,56,52,57,53,48,49,26376,50,
    26376,51,26376,52,26376,53,26376,54,26376,55,26376,56,26376,57,26376,49,48,26376,49,49,
    26376,49,50,26376,72,103,101,114,103,101,86,76,84,68,12450,12452,12454,12456,12458,12459,
    12461,12463,12465,12467,12469,12471,12473,12475,12477,12479,12481,12484,12486,12488,12490,12491,12492,12493,12494,12495,
    12498,12501,12504,12507,12510,12511,12512,12513,12514,12516,12518,12520,12521,12522,12523,12524,12525,12527,12528,12529,
    12530,12450,12495,12442,12540,12488,12450,12523,12501,12449,12450,12531,12504,12442,12450,12450,12540,12523,12452,12491,
    12531,12463,12441,12452,12531,12481,12454,12457,12531,12456,12473,12463,12540,12488,12441,12456,12540,12459,12540,12458,
    12531,12473,12458,12540,12512,12459,12452,12522,12459,12521,12483,12488,12459,12525,12522,12540,12459,12441,12525,12531,
    12459,12441,12531,12510,12461,12441,12459,12441,12461,12441,12491,12540,12461,12517,12522,12540,12461,12441,12523,12479,
    12441,12540,12461,12525,12461,12525,12463,12441,12521,12512,12461,12525,12513,12540,12488,12523,12461,12525,12527,12483,
    12488,12463,12441,12521,12512,12463,12441,12521,12512,12488,12531,12463,12523,12475,12441,12452,12525,12463,12525,12540,
    12493,12465,12540,12473,12467,12523,12490,12467,12540,12507,12442,12469,12452,12463,12523,12469,12531,12481,12540,12512,
    12471,12522,12531,12463,12441,12475,12531,12481,12475,12531,12488,12479,12441,12540,12473,12486,12441,12471,12488,12441,
    12523,12488,12531,12490,12494,12494,12483,12488,12495,12452,12484,12495,12442,12540,12475,12531,12488,12495,12442,12540,
    12484,12495,12441,12540,12524,12523,12498,12442,12450,12473,12488,12523,12498,12442,12463,12523,12498,12442,12467,12498,
    12441,12523,12501,12449,12521,12483,12488,12441,12501,12451,12540,12488,12501,12441,12483,12471,12455,12523,12501,12521,
    12531,12504,12463,12479,12540,12523,12504,12442,12477,12504,12442,12491,12498,12504,12523,12484,12504,12442,12531,12473,
    12504,12442,12540,12471,12441,12504,12441,12540,12479,12507,12442,12452,12531,12488,12507,12441,12523,12488,12507,12531,
    12507,12442,12531,12488,12441,12507,12540,12523,12507,12540,12531,12510,12452,12463,12525,12510,12452,12523,12510,12483,
    12495,12510,12523,12463,12510,12531,12471,12519,12531,12511,12463,12525,12531,12511,12522,12511,12522,12495,12441,12540,
    12523,12513,12459,12441,12513,12459,12441,12488,12531,12513,12540,12488,12523,12516,12540,12488,12441,12516,12540,12523,
    12518,12450,12531,12522,12483,12488,12523,12522,12521,12523,12498,12442,12540,12523,12540,12501,12441,12523,12524,12512,
    12524,12531,12488,12465,12441,12531,12527,12483,12488,48,28857,49,28857,50,28857,51,28857,52,28857,53,
    28857,54,28857,55,28857,56,28857,57,28857,49,48,28857,49,49,28857,49,50,28857,49,51,
    28857,49,52,28857,49,53,28857,49,54,28857,49,55,28857,49,56,28857,49,57,28857,50,
    48,28857,50,49,28857,50,50,28857,50,51,28857,50,52,28857,104,80,97,100,97,65,
    85,98,97,114,111,86,112,99,100,109,100,109,50,100,109,51,73,85,24179,25104,
    26157,21644,22823,27491,26126,27835,26666,24335,20250,31038,112,65,110,65,956,65,109,65,107,65,
    75,66,77,66,71,66,99,97,108,107,99,97,108,112,70,110,70,956,70,956,
    103,109,103,107,103,72,122,107,72,122,77,72,122,71,72,122,84,72,122,956,
    108,109,108,100,108,107,108,102,109,110,109,956,109,109,109,99,109,107,109,109,
    109,50,99,109,50,109,50,107,109,50,109,109,51,99,109,51,109,51,107,109,
    51,109,8725,115,109,8725,115,50,80,97,107,80,97,77,80,97,71,80,97,114,
    97,100,114,97,100,8725,115,114,97,100,8725,115,50,112,115,110,115,956,115,109,
    115,112,86,110,86,956,86,109,86,107,86,77,86,112,87,110,87,956,87,109,
    87,107,87,77,87,107,937,77,937,97,46,109,46,66,113,99,99,99,100,67,
    8725,107,103,67,111,46,100,66,71,121,104,97,72,80,105,110,75,75,75,77,
    107,116,108,109,108,110,108,111,103,108,120,109,98,109,105,108,109,111,108,80,
    72,112,46,109,46,80,80,77,80,82,115,114,83,118,87,98,86,8725,109,65,
    8725,109,49,26085,50,26085,51,26085,52,26085,53,26085,54,26085,55,26085,56,26085,57,26085,
    49,48,26085,49,49,26085,49,50,26085,49,51,26085,49,52,26085,49,53,26085,49,54,
    26085,49,55,26085,49,56,26085,49,57,26085,50,48,26085,50,49,26085,50,50,26085,50,
    51,26085,50,52,26085,50,53,26085,50,54,26085,50,55,26085,50,56,26085,50,57,26085,
    51,48,26085,51,49,26085,103,97,108,1098,1100,42863,294,339,42791,43831,619,43858,35912,26356,
    36554,36040,28369,20018,21477,40860,40860,22865,37329,21895,22856,25078,30313,32645,34367,34746,35064,37007,27138,27931,
    28889,29662,33853,37226,39409,20098,21365,27396,29211,34349,40478,23888,28651,34253,35172,25289,33240,34847,24266,26391,
    28010,29436,37070,20358,20919,21214,25796,27347,29200,30439,32769,34310,34396,36335,38706,39791,40442,30860,31103,32160,
    33737,37636,40575,35542,22751,24324,31840,32894,29282,30922,36034,38647,22744,23650,27155,28122,28431,32047,32311,38475,
    21202,32907,20956,20940,31260,32190,33777,38517,35712,25295,27138,35582,20025,23527,24594,29575,30064,21271,30971,20415,
    24489,19981,27852,25976,32034,21443,22622,30465,33865,35498,27578,36784,27784,25342,33509,25504,30053,20142,20841,20937,
    26753,31975,33391,35538,37327,21237,21570,22899,24300,26053,28670,31018,38317,39530,40599,40654,21147,26310,27511,36706,
    24180,24976,25088,25754,28451,29001,29833,31178,32244,32879,36646,34030,36899,37706,21015,21155,21693,28872,35010,35498,
    24265,24565,25467,27566,31806,29557,20196,22265,23527,23994,24604,29618,29801,32666,32838,37428,38646,38728,38936,20363,
    31150,37300,38584,24801,20102,20698,23534,23615,26009,27138,29134,30274,34044,36988,40845,26248,38446,21129,26491,26611,
    27969,28316,29705,30041,30827,32016,39006,20845,25134,38520,20523,23833,28138,36650,24459,24900,26647,29575,38534,21033,
    21519,23653,26131,26446,26792,27877,29702,30178,32633,35023,35041,37324,38626,21311,28346,21533,29136,29848,34298,38563,
    40023,40607,26519,28107,33256,31435,31520,31890,29376,28825,35672,20160,33590,21050,20999,24230,25299,31958,23429,27934,
    26292,36667,34892,38477,35211,24275,20800,21952,22618,26228,20958,29482,30410,31036,31070,31077,31119,38742,31934,32701,
    34322,35576,36920,37117,39151,39164,39208,40372,37086,38583,20398,20711,20813,21193,21220,21329,21917,22022,22120,22592,
    22696,23652,23662,24724,24936,24974,25074,25935,26082,26257,26757,28023,28186,28450,29038,29227,29730,30865,31038,31049,
    31048,31056,31062,31069,31117,31118,31296,31361,31680,32244,32265,32321,32626,32773,33261,33401,33401,33879,35088,35222,
    35585,35641,36051,36104,36790,36920,38627,38911,38971,24693,148206,33304,20006,20917,20840,20352,20805,20864,21191,21242,
    21917,21845,21913,21986,22618,22707,22852,22868,23138,23336,24274,24281,24425,24493,24792,24910,24840,24974,24928,25074,
    25140,25540,25628,25682,25942,26228,26391,26395,26454,27513,27578,27969,28379,28363,28450,28702,29038,30631,29237,29359,
    29482,29809,29958,30011,30237,30239,30410,30427,30452,30538,30528,30924,31409,31680,31867,32091,32244,32574,32773,33618,
    33775,34681,35137,35206,35222,35519,35576,35531,35585,35582,35565,35641,35722,36104,36664,36978,37273,37494,38524,38627,
    38742,38875,38911,38923,38971,39698,40860,141386,141380,144341,15261,16408,16441,152137,154832,163539,40771,40846,102,102,
    102,105,102,108,102,102,105,102,102,108,115,116,115,116,1396,1398,1396,1381,1396,1387,
    1406,1398,1396,1389,1497,1460,1522,1463,1506,1488,1491,1492,1499,1500,1501,1512,1514,43,1513,1473,
    1513,1474,1513,1468,1473,1513,1468,1474,1488,1463,1488,1464,1488,1468,1489,1468,1490,1468,1491,1468,
    1492,1468,1493,1468,1494,1468,1496,1468,1497,1468,1498,1468,1499,1468,1500,1468,1502,1468,1504,1468,
    1505,1468,1507,1468,1508,1468,1510,1468,1511,1468,1512,1468,1513,1468,1514,1468,1493,1465,1489,1471,
    1499,1471,1508,1471,1488,1500,1649,1649,1659,1659,1659,1659,1662,1662,1662,1662,1664,1664,1664,1664,
    1658,1658,1658,1658,1663,1663,1663,1663,1657,1657,1657,1657,1700,1700,1700,1700,1702,1702,1702,1702,
    1668,1668,1668,1668,1667,1667,1667,1667,1670,1670,1670,1670,1671,1671,1671,1671,1677,1677,1676,1676,
    1678,1678,1672,1672,1688,1688,1681,1681,1705,1705,1705,1705,1711,1711,1711,1711,1715,1715,1715,1715,
    1713,1713,1713,1713,1722,1722,1723,1723,1723,1723,1749,1620,1749,1620,1729,1729,1729,1729,1726,1726,
    1726,1726,1746,1746,1746,1620,1746,1620,1709,1709,1709,1709,1735,1735,1734,1734,1736,1736,1735,1652,
    1739,1739,1733,1733,1737,1737,1744,1744,1744,1744,1609,1609,1610,1620,1575,1610,1620,1575,1610,1620,
    1749,1610,1620,1749,1610,1620,1608,1610,1620,1608,1610,1620,1735,1610,1620,1735,1610,1620,1734,1610,
    1620,1734,1610,1620,1736,1610,1620,1736,1610,1620,1744,1610,1620,1744,1610,1620,1744,1610,1620,1609,
    1610,1620,1609,1610,1620,1609,1740,1740,1740,1740,1610,1620,1580,1610,1620,1581,1610,1620,1605,1610,
    1620,1609,1610,1620,1610,1576,1580,1576,1581,1576,1582,1576,1605,1576,1609,1576,1610,1578,1580,1578,
    1581,1578,1582,1578,1605,1578,1609,1578,1610,1579,1580,1579,1605,1579,1609,1579,1610,1580,1581,1580,
    1605,1581,1580,1581,1605,1582,1580,1582,1581,1582,1605,1587,1580,1587,1581,1587,1582,1587,1605,1589,
    1581,1589,1605,1590,1580,1590,1581,1590,1582,1590,1605,1591,1581,1591,1605,1592,1605,1593,1580,1593,
    1605,1594,1580,1594,1605,1601,1580,1601,1581,1601,1582,1601,1605,1601,1609,1601,1610,1602,1581,1602,
    1605,1602,1609,1602,1610,1603,1575,1603,1580,1603,1581,1603,1582,1603,1604,1603,1605,1603,1609,1603,
    1610,1604,1580,1604,1581,1604,1582,1604,1605,1604,1609,1604,1610,1605,1580,1605,1581,1605,1582,1605,
    1605,1605,1609,1605,1610,1606,1580,1606,1581,1606,1582,1606,1605,1606,1609,1606,1610,1607,1580,1607,
    1605,1607,1609,1607,1610,1610,1580,1610,1581,1610,1582,1610,1605,1610,1609,1610,1610,1584,1648,1585,
    1648,1609,1648,32,1612,1617,32,1613,1617,32,1614,1617,32,1615,1617,32,1616,1617,32,1617,
    1648,1610,1620,1585,1610,1620,1586,1610,1620,1605,1610,1620,1606,1610,1620,1609,1610,1620,1610,1576,
    1585,1576,1586,1576,1605,1576,1606,1576,1609,1576,1610,1578,1585,1578,1586,1578,1605,1578,1606,1578,
    1609,1578,1610,1579,1585,1579,1586,1579,1605,1579,1606,1579,1609,1579,1610,1601,1609,1601,1610,1602,
    1609,1602,1610,1603,1575,1603,1604,1603,1605,1603,1609,1603,1610,1604,1605,1604,1609,1604,1610,1605,
    1575,1605,1605,1606,1585,1606,1586,1606,1605,1606,1606,1606,1609,1606,1610,1609,1648,1610,1585,1610,
    1586,1610,1605,1610,1606,1610,1609,1610,1610,1610,1620,1580,1610,1620,1581,1610,1620,1582,1610,1620,
    1605,1610,1620,1607,1576,1580,1576,1581,1576,1582,1576,1605,1576,1607,1578,1580,1578,1581,1578,1582,
    1578,1605,1578,1607,1579,1605,1580,1581,1580,1605,1581,1580,1581,1605,1582,1580,1582,1605,1587,1580,
    1587,1581,1587,1582,1587,1605,1589,1581,1589,1582,1589,1605,1590,1580,1590,1581,1590,1582,1590,1605,
    1591,1581,1592,1605,1593,1580,1593,1605,1594,1580,1594,1605,1601,1580,1601,1581,1601,1582,1601,1605,
    1602,1581,1602,1605,1603,1580,1603,1581,1603,1582,1603,1604,1603,1605,1604,1580,1604,1581,1604,1582,
    1604,1605,1604,1607,1605,1580,1605,1581,1605,1582,1605,1605,1606,1580,1606,1581,1606,1582,1606,1605,
    1606,1607,1607,1580,1607,1605,1607,1648,1610,1580,1610,1581,1610,1582,1610,1605,1610,1607,1610,1620,
    1605,1610,1620,1607,1576,1605,1576,1607,1578,1605,1578,1607,1579,1605,1579,1607,1587,1605,1587,1607,
    1588,1605,1588,1607,1603,1604,1603,1605,1604,1605,1606,1605,1606,1607,1610,1605,1610,1607,1600,1614,
    1617,1600,1615,1617,1600,1616,1617,1591,1609,1591,1610,1593,1609,1593,1610,1594,1609,1594,1610,1587,
    1609,1587,1610,1588,1609,1588,1610,1581,1609,1581,1610,1580,1609,1580,1610,1582,1609,1582,1610,1589,
    1609,1589,1610,1590,1609,1590,1610,1588,1580,1588,1581,1588,1582,1588,1605,1588,1585,1587,1585,1589,
    1585,1590,1585,1591,1609,1591,1610,1593,1609,1593,1610,1594,1609,1594,1610,1587,1609,1587,1610,1588,
    1609,1588,1610,1581,1609,1581,1610,1580,1609,1580,1610,1582,1609,1582,1610,1589,1609,1589,1610,1590,
    1609,1590,1610,1588,1580,1588,1581,1588,1582,1588,1605,1588,1585,1587,1585,1589,1585,1590,1585,1588,
    1580,1588,1581,1588,1582,1588,1605,1587,1607,1588,1607,1591,1605,1587,1580,1587,1581,1587,1582,1588,
    1580,1588,1581,1588,1582,1591,1605,1592,1605,1575,1611,1575,1611,1578,1580,1605,1578,1581,1580,1578,
    1581,1580,1578,1581,1605,1578,1582,1605,1578,1605,1580,1578,1605,1581,1578,1605,1582,1580,1605,1581,
    1580,1605,1581,1581,1605,1610,1581,1605,1609,1587,1581,1580,1587,1580,1581,1587,1580,1609,1587,1605,
    1581,1587,1605,1581,1587,1605,1580,1587,1605,1605,1587,1605,1605,1589,1581,1581,1589,1581,1581,1589,
    1605,1605,1588,1581,1605,1588,1581,1605,1588,1580,1610,1588,1605,1582,1588,1605,1582,1588,1605,1605,
    1588,1605,1605,1590,1581,1609,1590,1582,1605,1590,1582,1605,1591,1605,1581,1591,1605,1581,1591,1605,
    1605,1591,1605,1610,1593,1580,1605,1593,1605,1605,1593,1605,1605,1593,1605,1609,1594,1605,1605,1594,
    1605,1610,1594,1605,1609,1601,1582,1605,1601,1582,1605,1602,1605,1581,1602,1605,1605,1604,1581,1605,
    1604,1581,1610,1604,1581,1609,1604,1580,1580,1604,1580,1580,1604,1582,1605,1604,1582,1605,1604,1605,
    1581,1604,1605,1581,1605,1581,1580,1605,1581,1605,1605,1581,1610,1605,1580,1581,1605,1580,1605,1605,
    1582,1580,1605,1582,1605,1605,1580,1582,1607,1605,1580,1607,1605,1605,1606,1581,1605,1606,1581,1609,
    1606,1580,1605,1606,1580,1605,1606,1580,1609,1606,1605,1610,1606,1605,1609,1610,1605,1605,1610,1605,
    1605,1576,1582,1610,1578,1580,1610,1578,1580,1609,1578,1582,1610,1578,1582,1609,1578,1605,1610,1578,
    1605,1609,1580,1605,1610,1580,1581,1609,1580,1605,1609,1587,1582,1609,1589,1581,1610,1588,1581,1610,
    1590,1581,1610,1604,1580,1610,1604,1605,1610,1610,1581,1610,1610,1580,1610,1610,1605,1610,1605,1605,
    1610,1602,1605,1610,1606,1581,1610,1602,1605,1581,1604,1581,1605,1593,1605,1610,1603,1605,1610,1606,
    1580,1581,1605,1582,1610,1604,1580,1605,1603,1605,1605,1604,1580,1605,1606,1580,1581,1580,1581,1610,
    1581,1580,1610,1605,1580,1610,1601,1605,1610,1576,1581,1610,1603,1605,1605,1593,1580,1605,1589,1605,
    1605,1587,1582,1610,1606,1580,1610,1589,1604,1746,1602,1604,1746,1575,1604,1604,1607,1575,1603,1576,
    1585,1605,1581,1605,1583,1589,1604,1593,1605,1585,1587,1608,1604,1593,1604,1610,1607,1608,1587,1604,
    1605,1589,1604,1609,1589,1604,1609,32,1575,1604,1604,1607,32,1593,1604,1610,1607,32,1608,1587,
    1604,1605,1580,1604,32,1580,1604,1575,1604,1607,1585,1740,1575,1604,44,12289,12290,58,59,33,
    63,12310,12311,46,46,46,46,46,8212,8211,95,95,40,41,123,125,12308,12309,12304,12305,
    12298,12299,12296,12297,12300,12301,12302,12303,91,93,32,773,32,773,32,773,32,773,95,95,
    95,44,12289,46,59,58,63,33,8212,40,41,123,125,12308,12309,35,38,42,43,45,
    60,62,61,92,36,37,64,32,1611,1600,1611,32,1612,32,1613,32,1614,1600,1614,32,
    1615,1600,1615,32,1616,1600,1616,32,1617,1600,1617,32,1618,1600,1618,1569,1575,1619,1575,1619,
    1575,1620,1575,1620,1608,1620,1608,1620,1575,1621,1575,1621,1610,1620,1610,1620,1610,1620,1610,1620,
    1575,1575,1576,1576,1576,1576,1577,1577,1578,1578,1578,1578,1579,1579,1579,1579,1580,1580,1580,1580,
    1581,1581,1581,1581,1582,1582,1582,1582,1583,1583,1584,1584,1585,1585,1586,1586,1587,1587,1587,1587,
    1588,1588,1588,1588,1589,1589,1589,1589,1590,1590,1590,1590,1591,1591,1591,1591,1592,1592,1592,1592,
    1593,1593,1593,1593,1594,1594,1594,1594,1601,1601,1601,1601,1602,1602,1602,1602,1603,1603,1603,1603,
    1604,1604,1604,1604,1605,1605,1605,1605,1606,1606,1606,1606,1607,1607,1607,1607,1608,1608,1609,1609,
    1610,1610,1610,1610,1604,1575,1619,1604,1575,1619,1604,1575,1620,1604,1575,1620,1604,1575,1621,1604,
    1575,1621,1604,1575,1604,1575,33,34,35,36,37,38,39,40,41,42,43,44,45,46,
    47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,
    67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,
    87,88,89,90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105,106,
    107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,
    10629,10630,12290,12300,12301,12289,12539,12530,12449,12451,12453,12455,12457,12515,12517,12519,12483,12540,12450,12452,
    12454,12456,12458,12459,12461,12463,12465,12467,12469,12471,12473,12475,12477,12479,12481,12484,12486,12488,12490,12491,
    12492,12493,12494,12495,12498,12501,12504,12507,12510,12511,12512,12513,12514,12516,12518,12520,12521,12522,12523,12524,
    12525,12527,12531,12441,12442,4448,4352,4353,4522,4354,4524,4525,4355,4356,4357,4528,4529,4530,4531,4532,
    4533,4378,4358,4359,4360,4385,4361,4362,4363,4364,4365,4366,4367,4368,4369,4370,4449,4450,4451,4452,
    4453,4454,4455,4456,4457,4458,4459,4460,4461,4462,4463,4464,4465,4466,4467,4468,4469,162,163,172,
    32,772,166,165,8361,9474,8592,8593,8594,8595,9632,9675,69785,69818,69787,69818,69797,69818,69937,69927,
    69938,69927,70471,70462,70471,70487,70841,70842,70841,70832,70841,70845,71096,71087,71097,71087,119127,119141,119128,119141,
    119128,119141,119150,119128,119141,119151,119128,119141,119152,119128,119141,119153,119128,119141,119154,119225,119141,119226,119141,119225,
    119141,119150,119226,119141,119150,119225,119141,119151,119226,119141,119151,65,66,67,68,69,70,71,72,73,
    74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,97,98,99,
    100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,
    120,121,122,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,
    82,83,84,85,86,87,88,89,90,97,98,99,100,101,102,103,105,106,107,108,
    109,110,111,112,113,114,115,116,117,118,119,120,121,122,65,66,67,68,69,70,
    71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,
    97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,
    117,118,119,120,121,122,65,67,68,71,74,75,78,79,80,81,83,84,85,86,
    87,88,89,90,97,98,99,100,102,104,105,106,107,108,109,110,112,113,114,115,
    116,117,118,119,120,121,122,65,66,67,68,69,70,71,72,73,74,75,76,77,
    78,79,80,81,82,83,84,85,86,87,88,89,90,97,98,99,100,101,102,103,
    104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,65,
    66,68,69,70,71,74,75,76,77,78,79,80,81,83,84,85,86,87,88,89,
    97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,
    117,118,119,120,121,122,65,66,68,69,70,71,73,74,75,76,77,79,83,84,
    85,86,87,88,89,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,
    112,113,114,115,116,117,118,119,120,121,122,65,66,67,68,69,70,71,72,73,
    74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,97,98,99,
    100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,
    120,121,122,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,
    82,83,84,85,86,87,88,89,90,97,98,99,100,101,102,103,104,105,106,107,
    108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,65,66,67,68,69,
    70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,
    90,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,
    116,117,118,119,120,121,122,65,66,67,68,69,70,71,72,73,74,75,76,77,
    78,79,80,81,82,83,84,85,86,87,88,89,90,97,98,99,100,101,102,103,
    104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,65,
    66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,
    86,87,88,89,90,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,
    112,113,114,115,116,117,118,119,120,121,122,65,66,67,68,69,70,71,72,73,
    74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,97,98,99,
    100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,
    120,121,122,305,567,913,914,915,916,917,918,919,920,921,922,923,924,925,926,927,
    928,929,920,931,932,933,934,935,936,937,8711,945,946,947,948,949,950,951,952,953,
    954,955,956,957,958,959,960,961,962,963,964,965,966,967,968,969,8706,949,952,954,
    966,961,960,913,914,915,916,917,918,919,920,921,922,923,924,925,926,927,928,929,
    920,931,932,933,934,935,936,937,8711,945,946,947,948,949,950,951,952,953,954,955,
    956,957,958,959,960,961,962,963,964,965,966,967,968,969,8706,949,952,954,966,961,
    960,913,914,915,916,917,918,919,920,921,922,923,924,925,926,927,928,929,920,931,
    932,933,934,935,936,937,8711,945,946,947,948,949,950,951,952,953,954,955,956,957,
    958,959,960,961,962,963,964,965,966,967,968,969,8706,949,952,954,966,961,960,913,
    914,915,916,917,918,919,920,921,922,923,924,925,926,927,928,929,920,931,932,933,
    934,935,936,937,8711,945,946,947,948,949,950,951,952,953,954,955,956,957,958,959,
    960,961,962,963,964,965,966,967,968,969,8706,949,952,954,966,961,960,913,914,915,
    916,917,918,919,920,921,922,923,924,925,926,927,928,929,920,931,932,933,934,935,
    936,937,8711,945,946,947,948,949,950,951,952,953,954,955,956,957,958,959,960,961,
    962,963,964,965,966,967,968,969,8706,949,952,954,966,961,960,988,989,48,49,50,
    51,52,53,54,55,56,57,48,49,50,51,52,53,54,55,56,57,48,49,50,
    51,52,53,54,55,56,57,48,49,50,51,52,53,54,55,56,57,48,49,50,
    51,52,53,54,55,56,57,1575,1576,1580,1583,1608,1586,1581,1591,1610,1603,1604,1605,1606,
    1587,1593,1601,1589,1602,1585,1588,1578,1579,1582,1584,1590,1592,1594,1646,1722,1697,1647,1576,1580,
    1607,1581,1610,1603,1604,1605,1606,1587,1593,1601,1589,1602,1588,1578,1579,1582,1590,1594,1580,1581,
    1610,1604,1606,1587,1593,1589,1602,1588,1582,1590,1594,1722,1647,1576,1580,1607,1581,1591,1610,1603,
    1605,1606,1587,1593,1601,1589,1602,1588,1578,1579,1582,1590,1592,1594,1646,1697,1575,1576,1580,1583,
    1607,1608,1586,1581,1591,1610,1604,1605,1606,1587,1593,1601,1589,1602,1585,1588,1578,1579,1582,1584,
    1590,1592,1594,1576,1580,1583,1608,1586,1581,1591,1610,1604,1605,1606,1587,1593,1601,1589,1602,1585,
    1588,1578,1579,1582,1584,1590,1592,1594,48,46,48,44,49,44,50,44,51,44,52,44,
    53,44,54,44,55,44,56,44,57,44,40,65,41,40,66,41,40,67,41,40,
    68,41,40,69,41,40,70,41,40,71,41,40,72,41,40,73,41,40,74,41,
    40,75,41,40,76,41,40,77,41,40,78,41,40,79,41,40,80,41,40,81,
    41,40,82,41,40,83,41,40,84,41,40,85,41,40,86,41,40,87,41,40,
    88,41,40,89,41,40,90,41,12308,83,12309,67,82,67,68,87,90,65,66,67,
    68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,
    88,89,90,72,86,77,86,83,68,83,83,80,80,86,87,67,77,67,77,68,
    68,74,12411,12363,12467,12467,12469,25163,23383,21452,12486,12441,20108,22810,35299,22825,20132,26144,28961,26009,
    21069,24460,20877,26032,21021,32066,29983,36009,22768,21561,28436,25237,25429,19968,19977,36938,24038,20013,21491,25351,
    36208,25171,31105,31354,21512,28288,26377,26376,30003,21106,21942,37197,12308,26412,12309,12308,19977,12309,12308,20108,
    12309,12308,23433,12309,12308,28857,12309,12308,25171,12309,12308,30423,12309,12308,21213,12309,12308,25943,12309,24471,
    21487,20029,20024,20033,131362,20320,20398,20411,20482,20602,20633,20711,20687,13470,132666,20813,20820,20836,20855,132380,
    13497,20839,20877,132427,20887,20900,20172,20908,20917,168415,20981,20995,13535,21051,21062,21106,21111,13589,21191,21193,
    21220,21242,21253,21254,21271,21321,21329,21338,21363,21373,21375,21375,21375,133676,28784,21450,21471,133987,21483,21489,
    21510,21662,21560,21576,21608,21666,21750,21776,21843,21859,21892,21892,21913,21931,21939,21954,22294,22022,22295,22097,
    22132,20999,22766,22478,22516,22541,22411,22578,22577,22700,136420,22770,22775,22790,22810,22818,22882,136872,136938,23020,
    23067,23079,23000,23142,14062,14076,23304,23358,23358,137672,23491,23512,23527,23539,138008,23551,23558,24403,23586,14209,
    23648,23662,23744,23693,138724,23875,138726,23918,23915,23932,24033,24034,14383,24061,24104,24125,24169,14434,139651,14460,
    24240,24243,24246,24266,172946,24318,140081,140081,33281,24354,24354,14535,144056,156122,24418,24427,14563,24474,24525,24535,
    24569,24705,14650,14620,24724,141012,24775,24904,24908,24910,24908,24954,24974,25010,24996,25007,25054,25074,25078,25104,
    25115,25181,25265,25300,25424,142092,25405,25340,25448,25475,25572,142321,25634,25541,25513,14894,25705,25726,25757,25719,
    14956,25935,25964,143370,26083,26360,26185,15129,26257,15112,15076,20882,20885,26368,26268,32941,17369,26391,26395,26401,
    26462,26451,144323,15177,26618,26501,26706,26757,144493,26766,26655,26900,15261,26946,27043,27114,27304,145059,27355,15384,
    27425,145575,27476,15438,27506,27551,27578,27579,146061,138507,146170,27726,146620,27839,27853,27751,27926,27966,28023,27969,
    28009,28024,28037,146718,27956,28207,28270,15667,28363,28359,147153,28153,28526,147294,147342,28614,28729,28702,28699,15766,
    28746,28797,28791,28845,132389,28997,148067,29084,148395,29224,29237,29264,149000,29312,29333,149301,149524,29562,29579,16044,
    29605,16056,16056,29767,29788,29809,29829,29898,16155,29988,150582,30014,150674,30064,139679,30224,151457,151480,151620,16380,
    16392,30452,151795,151794,151833,151859,30494,30495,30495,30538,16441,30603,16454,16534,152605,30798,30860,30924,16611,153126,
    31062,153242,153285,31119,31211,16687,31296,31306,31311,153980,154279,154279,31470,16898,154539,31686,31689,16935,154752,31954,
    17056,31976,31971,32000,155526,32099,17153,32199,32258,32325,17204,156200,156231,17241,156377,32634,156478,32661,32762,32773,
    156890,156963,32864,157096,32880,144223,17365,32946,33027,17419,33086,23221,157607,157621,144275,144284,33281,33284,36766,17515,
    33425,33419,33437,21171,33457,33459,33469,33510,158524,33509,33565,33635,33709,33571,33725,33767,33879,33619,33738,33740,
    33756,158774,159083,158933,17707,34033,34035,34070,160714,34148,159532,17757,17761,159665,159954,17771,34384,34396,34407,34409,
    34473,34440,34574,34530,34681,34600,34667,34694,17879,34785,34817,17913,34912,34915,161383,35031,35038,17973,35066,13499,
    161966,162150,18110,18119,35488,35565,35722,35925,162984,36011,36033,36123,36215,163631,133124,36299,36284,36336,133342,36564,
    36664,165330,165357,37012,37105,37137,165678,37147,37432,37591,37592,37500,37881,37909,166906,38283,18837,38327,167287,18918,
    38595,23986,38691,168261,168474,19054,19062,38880,168970,19122,169110,38923,38923,38953,169398,39138,19251,39209,39335,39362,
    39422,19406,170800,39698,40000,40189,19662,19693,40295,172238,19704,172293,172558,172689,40635,19798,40697,40702,40709,40719,
    40726,40763,173568,
};
/* canonical compositions (primary composites, composition exclusions left out): {first, second, composite} */
static const uint32_t llava__tok_uc_comp[940][3] = {
    {0x3C,0x338,0x226E},{0x3D,0x338,0x2260},{0x3E,0x338,0x226F},{0x41,0x300,0xC0},{0x41,0x301,0xC1},{0x41,0x302,0xC2},
    {0x41,0x303,0xC3},{0x41,0x304,0x100},{0x41,0x306,0x102},{0x41,0x307,0x226},{0x41,0x308,0xC4},{0x41,0x309,0x1EA2},
    {0x41,0x30A,0xC5},{0x41,0x30C,0x1CD},{0x41,0x30F,0x200},{0x41,0x311,0x202},{0x41,0x323,0x1EA0},{0x41,0x325,0x1E00},
    {0x41,0x328,0x104},{0x42,0x307,0x1E02},{0x42,0x323,0x1E04},{0x42,0x331,0x1E06},{0x43,0x301,0x106},{0x43,0x302,0x108},
    {0x43,0x307,0x10A},{0x43,0x30C,0x10C},{0x43,0x327,0xC7},{0x44,0x307,0x1E0A},{0x44,0x30C,0x10E},{0x44,0x323,0x1E0C},
    {0x44,0x327,0x1E10},{0x44,0x32D,0x1E12},{0x44,0x331,0x1E0E},{0x45,0x300,0xC8},{0x45,0x301,0xC9},{0x45,0x302,0xCA},
    {0x45,0x303,0x1EBC},{0x45,0x304,0x112},{0x45,0x306,0x114},{0x45,0x307,0x116},{0x45,0x308,0xCB},{0x45,0x309,0x1EBA},
    {0x45,0x30C,0x11A},{0x45,0x30F,0x204},{0x45,0x311,0x206},{0x45,0x323,0x1EB8},{0x45,0x327,0x228},{0x45,0x328,0x118},
    {0x45,0x32D,0x1E18},{0x45,0x330,0x1E1A},{0x46,0x307,0x1E1E},{0x47,0x301,0x1F4},{0x47,0x302,0x11C},{0x47,0x304,0x1E20},
    {0x47,0x306,0x11E},{0x47,0x307,0x120},{0x47,0x30C,0x1E6},{0x47,0x327,0x122},{0x48,0x302,0x124},{0x48,0x307,0x1E22},
    {0x48,0x308,0x1E26},{0x48,0x30C,0x21E},{0x48,0x323,0x1E24},{0x48,0x327,0x1E28},{0x48,0x32E,0x1E2A},{0x49,0x300,0xCC},
    {0x49,0x301,0xCD},{0x49,0x302,0xCE},{0x49,0x303,0x128},{0x49,0x304,0x12A},{0x49,0x306,0x12C},{0x49,0x307,0x130},
    {0x49,0x308,0xCF},{0x49,0x309,0x1EC8},{0x49,0x30C,0x1CF},{0x49,0x30F,0x208},{0x49,0x311,0x20A},{0x49,0x323,0x1ECA},
    {0x49,0x328,0x12E},{0x49,0x330,0x1E2C},{0x4A,0x302,0x134},{0x4B,0x301,0x1E30},{0x4B,0x30C,0x1E8},{0x4B,0x323,0x1E32},
    {0x4B,0x327,0x136},{0x4B,0x331,0x1E34},{0x4C,0x301,0x139},{0x4C,0x30C,0x13D},{0x4C,0x323,0x1E36},{0x4C,0x327,0x13B},
    {0x4C,0x32D,0x1E3C},{0x4C,0x331,0x1E3A},{0x4D,0x301,0x1E3E},{0x4D,0x307,0x1E40},{0x4D,0x323,0x1E42},{0x4E,0x300,0x1F8},
    {0x4E,0x301,0x143},{0x4E,0x303,0xD1},{0x4E,0x307,0x1E44},{0x4E,0x30C,0x147},{0x4E,0x323,0x1E46},{0x4E,0x327,0x145},
    {0x4E,0x32D,0x1E4A},{0x4E,0x331,0x1E48},{0x4F,0x300,0xD2},{0x4F,0x301,0xD3},{0x4F,0x302,0xD4},{0x4F,0x303,0xD5},
    {0x4F,0x304,0x14C},{0x4F,0x306,0x14E},{0x4F,0x307,0x22E},{0x4F,0x308,0xD6},{0x4F,0x309,0x1ECE},{0x4F,0x30B,0x150},
    {0x4F,0x30C,0x1D1},{0x4F,0x30F,0x20C},{0x4F,0x311,0x20E},{0x4F,0x31B,0x1A0},{0x4F,0x323,0x1ECC},{0x4F,0x328,0x1EA},
    {0x50,0x301,0x1E54},{0x50,0x307,0x1E56},{0x52,0x301,0x154},{0x52,0x307,0x1E58},{0x52,0x30C,0x158},{0x52,0x30F,0x210},
    {0x52,0x311,0x212},{0x52,0x323,0x1E5A},{0x52,0x327,0x156},{0x52,0x331,0x1E5E},{0x53,0x301,0x15A},{0x53,0x302,0x15C},
    {0x53,0x307,0x1E60},{0x53,0x30C,0x160},{0x53,0x323,0x1E62},{0x53,0x326,0x218},{0x53,0x327,0x15E},{0x54,0x307,0x1E6A},
    {0x54,0x30C,0x164},{0x54,0x323,0x1E6C},{0x54,0x326,0x21A},{0x54,0x327,0x162},{0x54,0x32D,0x1E70},{0x54,0x331,0x1E6E},
    {0x55,0x300,0xD9},{0x55,0x301,0xDA},{0x55,0x302,0xDB},{0x55,0x303,0x168},{0x55,0x304,0x16A},{0x55,0x306,0x16C},
    {0x55,0x308,0xDC},{0x55,0x309,0x1EE6},{0x55,0x30A,0x16E},{0x55,0x30B,0x170},{0x55,0x30C,0x1D3},{0x55,0x30F,0x214},
    {0x55,0x311,0x216},{0x55,0x31B,0x1AF},{0x55,0x323,0x1EE4},{0x55,0x324,0x1E72},{0x55,0x328,0x172},{0x55,0x32D,0x1E76},
    {0x55,0x330,0x1E74},{0x56,0x303,0x1E7C},{0x56,0x323,0x1E7E},{0x57,0x300,0x1E80},{0x57,0x301,0x1E82},{0x57,0x302,0x174},
    {0x57,0x307,0x1E86},{0x57,0x308,0x1E84},{0x57,0x323,0x1E88},{0x58,0x307,0x1E8A},{0x58,0x308,0x1E8C},{0x59,0x300,0x1EF2},
    {0x59,0x301,0xDD},{0x59,0x302,0x176},{0x59,0x303,0x1EF8},{0x59,0x304,0x232},{0x59,0x307,0x1E8E},{0x59,0x308,0x178},
    {0x59,0x309,0x1EF6},{0x59,0x323,0x1EF4},{0x5A,0x301,0x179},{0x5A,0x302,0x1E90},{0x5A,0x307,0x17B},{0x5A,0x30C,0x17D},
    {0x5A,0x323,0x1E92},{0x5A,0x331,0x1E94},{0x61,0x300,0xE0},{0x61,0x301,0xE1},{0x61,0x302,0xE2},{0x61,0x303,0xE3},
    {0x61,0x304,0x101},{0x61,0x306,0x103},{0x61,0x307,0x227},{0x61,0x308,0xE4},{0x61,0x309,0x1EA3},{0x61,0x30A,0xE5},
    {0x61,0x30C,0x1CE},{0x61,0x30F,0x201},{0x61,0x311,0x203},{0x61,0x323,0x1EA1},{0x61,0x325,0x1E01},{0x61,0x328,0x105},
    {0x62,0x307,0x1E03},{0x62,0x323,0x1E05},{0x62,0x331,0x1E07},{0x63,0x301,0x107},{0x63,0x302,0x109},{0x63,0x307,0x10B},
    {0x63,0x30C,0x10D},{0x63,0x327,0xE7},{0x64,0x307,0x1E0B},{0x64,0x30C,0x10F},{0x64,0x323,0x1E0D},{0x64,0x327,0x1E11},
    {0x64,0x32D,0x1E13},{0x64,0x331,0x1E0F},{0x65,0x300,0xE8},{0x65,0x301,0xE9},{0x65,0x302,0xEA},{0x65,0x303,0x1EBD},
    {0x65,0x304,0x113},{0x65,0x306,0x115},{0x65,0x307,0x117},{0x65,0x308,0xEB},{0x65,0x309,0x1EBB},{0x65,0x30C,0x11B},
    {0x65,0x30F,0x205},{0x65,0x311,0x207},{0x65,0x323,0x1EB9},{0x65,0x327,0x229},{0x65,0x328,0x119},{0x65,0x32D,0x1E19},
    {0x65,0x330,0x1E1B},{0x66,0x307,0x1E1F},{0x67,0x301,0x1F5},{0x67,0x302,0x11D},{0x67,0x304,0x1E21},{0x67,0x306,0x11F},
    {0x67,0x307,0x121},{0x67,0x30C,0x1E7},{0x67,0x327,0x123},{0x68,0x302,0x125},{0x68,0x307,0x1E23},{0x68,0x308,0x1E27},
    {0x68,0x30C,0x21F},{0x68,0x323,0x1E25},{0x68,0x327,0x1E29},{0x68,0x32E,0x1E2B},{0x68,0x331,0x1E96},{0x69,0x300,0xEC},
    {0x69,0x301,0xED},{0x69,0x302,0xEE},{0x69,0x303,0x129},{0x69,0x304,0x12B},{0x69,0x306,0x12D},{0x69,0x308,0xEF},
    {0x69,0x309,0x1EC9},{0x69,0x30C,0x1D0},{0x69,0x30F,0x209},{0x69,0x311,0x20B},{0x69,0x323,0x1ECB},{0x69,0x328,0x12F},
    {0x69,0x330,0x1E2D},{0x6A,0x302,0x135},{0x6A,0x30C,0x1F0},{0x6B,0x301,0x1E31},{0x6B,0x30C,0x1E9},{0x6B,0x323,0x1E33},
    {0x6B,0x327,0x137},{0x6B,0x331,0x1E35},{0x6C,0x301,0x13A},{0x6C,0x30C,0x13E},{0x6C,0x323,0x1E37},{0x6C,0x327,0x13C},
    {0x6C,0x32D,0x1E3D},{0x6C,0x331,0x1E3B},{0x6D,0x301,0x1E3F},{0x6D,0x307,0x1E41},{0x6D,0x323,0x1E43},{0x6E,0x300,0x1F9},
    {0x6E,0x301,0x144},{0x6E,0x303,0xF1},{0x6E,0x307,0x1E45},{0x6E,0x30C,0x148},{0x6E,0x323,0x1E47},{0x6E,0x327,0x146},
    {0x6E,0x32D,0x1E4B},{0x6E,0x331,0x1E49},{0x6F,0x300,0xF2},{0x6F,0x301,0xF3},{0x6F,0x302,0xF4},{0x6F,0x303,0xF5},
    {0x6F,0x304,0x14D},{0x6F,0x306,0x14F},{0x6F,0x307,0x22F},{0x6F,0x308,0xF6},{0x6F,0x309,0x1ECF},{0x6F,0x30B,0x151},
    {0x6F,0x30C,0x1D2},{0x6F,0x30F,0x20D},{0x6F,0x311,0x20F},{0x6F,0x31B,0x1A1},{0x6F,0x323,0x1ECD},{0x6F,0x328,0x1EB},
    {0x70,0x301,0x1E55},{0x70,0x307,0x1E57},{0x72,0x301,0x155},{0x72,0x307,0x1E59},{0x72,0x30C,0x159},{0x72,0x30F,0x211},
    {0x72,0x311,0x213},{0x72,0x323,0x1E5B},{0x72,0x327,0x157},{0x72,0x331,0x1E5F},{0x73,0x301,0x15B},{0x73,0x302,0x15D},
    {0x73,0x307,0x1E61},{0x73,0x30C,0x161},{0x73,0x323,0x1E63},{0x73,0x326,0x219},{0x73,0x327,0x15F},{0x74,0x307,0x1E6B},
    {0x74,0x308,0x1E97},{0x74,0x30C,0x165},{0x74,0x323,0x1E6D},{0x74,0x326,0x21B},{0x74,0x327,0x163},{0x74,0x32D,0x1E71},
    {0x74,0x331,0x1E6F},{0x75,0x300,0xF9},{0x75,0x301,0xFA},{0x75,0x302,0xFB},{0x75,0x303,0x169},{0x75,0x304,0x16B},
    {0x75,0x306,0x16D},{0x75,0x308,0xFC},{0x75,0x309,0x1EE7},{0x75,0x30A,0x16F},{0x75,0x30B,0x171},{0x75,0x30C,0x1D4},
    {0x75,0x30F,0x215},{0x75,0x311,0x217},{0x75,0x31B,0x1B0},{0x75,0x323,0x1EE5},{0x75,0x324,0x1E73},{0x75,0x328,0x173},
    {0x75,0x32D,0x1E77},{0x75,0x330,0x1E75},{0x76,0x303,0x1E7D},{0x76,0x323,0x1E7F},{0x77,0x300,0x1E81},{0x77,0x301,0x1E83},
    {0x77,0x302,0x175},{0x77,0x307,0x1E87},{0x77,0x308,0x1E85},{0x77,0x30A,0x1E98},{0x77,0x323,0x1E89},{0x78,0x307,0x1E8B},
    {0x78,0x308,0x1E8D},{0x79,0x300,0x1EF3},{0x79,0x301,0xFD},{0x79,0x302,0x177},{0x79,0x303,0x1EF9},{0x79,0x304,0x233},
    {0x79,0x307,0x1E8F},{0x79,0x308,0xFF},{0x79,0x309,0x1EF7},{0x79,0x30A,0x1E99},{0x79,0x323,0x1EF5},{0x7A,0x301,0x17A},
    {0x7A,0x302,0x1E91},{0x7A,0x307,0x17C},{0x7A,0x30C,0x17E},{0x7A,0x323,0x1E93},{0x7A,0x331,0x1E95},{0xA8,0x300,0x1FED},
    {0xA8,0x301,0x385},{0xA8,0x342,0x1FC1},{0xC2,0x300,0x1EA6},{0xC2,0x301,0x1EA4},{0xC2,0x303,0x1EAA},{0xC2,0x309,0x1EA8},
    {0xC4,0x304,0x1DE},{0xC5,0x301,0x1FA},{0xC6,0x301,0x1FC},{0xC6,0x304,0x1E2},{0xC7,0x301,0x1E08},{0xCA,0x300,0x1EC0},
    {0xCA,0x301,0x1EBE},{0xCA,0x303,0x1EC4},{0xCA,0x309,0x1EC2},{0xCF,0x301,0x1E2E},{0xD4,0x300,0x1ED2},{0xD4,0x301,0x1ED0},
    {0xD4,0x303,0x1ED6},{0xD4,0x309,0x1ED4},{0xD5,0x301,0x1E4C},{0xD5,0x304,0x22C},{0xD5,0x308,0x1E4E},{0xD6,0x304,0x22A},
    {0xD8,0x301,0x1FE},{0xDC,0x300,0x1DB},{0xDC,0x301,0x1D7},{0xDC,0x304,0x1D5},{0xDC,0x30C,0x1D9},{0xE2,0x300,0x1EA7},
    {0xE2,0x301,0x1EA5},{0xE2,0x303,0x1EAB},{0xE2,0x309,0x1EA9},{0xE4,0x304,0x1DF},{0xE5,0x301,0x1FB},{0xE6,0x301,0x1FD},
    {0xE6,0x304,0x1E3},{0xE7,0x301,0x1E09},{0xEA,0x300,0x1EC1},{0xEA,0x301,0x1EBF},{0xEA,0x303,0x1EC5},{0xEA,0x309,0x1EC3},
    {0xEF,0x301,0x1E2F},{0xF4,0x300,0x1ED3},{0xF4,0x301,0x1ED1},{0xF4,0x303,0x1ED7},{0xF4,0x309,0x1ED5},{0xF5,0x301,0x1E4D},
    {0xF5,0x304,0x22D},{0xF5,0x308,0x1E4F},{0xF6,0x304,0x22B},{0xF8,0x301,0x1FF},{0xFC,0x300,0x1DC},{0xFC,0x301,0x1D8},
    {0xFC,0x304,0x1D6},{0xFC,0x30C,0x1DA},{0x102,0x300,0x1EB0},{0x102,0x301,0x1EAE},{0x102,0x303,0x1EB4},{0x102,0x309,0x1EB2},
    {0x103,0x300,0x1EB1},{0x103,0x301,0x1EAF},{0x103,0x303,0x1EB5},{0x103,0x309,0x1EB3},{0x112,0x300,0x1E14},{0x112,0x301,0x1E16},
    {0x113,0x300,0x1E15},{0x113,0x301,0x1E17},{0x14C,0x300,0x1E50},{0x14C,0x301,0x1E52},{0x14D,0x300,0x1E51},{0x14D,0x301,0x1E53},
    {0x15A,0x307,0x1E64},{0x15B,0x307,0x1E65},{0x160,0x307,0x1E66},{0x161,0x307,0x1E67},{0x168,0x301,0x1E78},{0x169,0x301,0x1E79},
    {0x16A,0x308,0x1E7A},{0x16B,0x308,0x1E7B},{0x17F,0x307,0x1E9B},{0x1A0,0x300,0x1EDC},{0x1A0,0x301,0x1EDA},{0x1A0,0x303,0x1EE0},
    {0x1A0,0x309,0x1EDE},{0x1A0,0x323,0x1EE2},{0x1A1,0x300,0x1EDD},{0x1A1,0x301,0x1EDB},{0x1A1,0x303,0x1EE1},{0x1A1,0x309,0x1EDF},
    {0x1A1,0x323,0x1EE3},{0x1AF,0x300,0x1EEA},{0x1AF,0x301,0x1EE8},{0x1AF,0x303,0x1EEE},{0x1AF,0x309,0x1EEC},{0x1AF,0x323,0x1EF0},
    {0x1B0,0x300,0x1EEB},{0x1B0,0x301,0x1EE9},{0x1B0,0x303,0x1EEF},{0x1B0,0x309,0x1EED},{0x1B0,0x323,0x1EF1},{0x1B7,0x30C,0x1EE},
    {0x1EA,0x304,0x1EC},{0x1EB,0x304,0x1ED},{0x226,0x304,0x1E0},{0x227,0x304,0x1E1},{0x228,0x306,0x1E1C},{0x229,0x306,0x1E1D},
    {0x22E,0x304,0x230},{0x22F,0x304,0x231},{0x292,0x30C,0x1EF},{0x391,0x300,0x1FBA},{0x391,0x301,0x386},{0x391,0x304,0x1FB9},
    {0x391,0x306,0x1FB8},{0x391,0x313,0x1F08},{0x391,0x314,0x1F09},{0x391,0x345,0x1FBC},{0x395,0x300,0x1FC8},{0x395,0x301,0x388},
    {0x395,0x313,0x1F18},{0x395,0x314,0x1F19},{0x397,0x300,0x1FCA},{0x397,0x301,0x389},{0x397,0x313,0x1F28},{0x397,0x314,0x1F29},
    {0x397,0x345,0x1FCC},{0x399,0x300,0x1FDA},{0x399,0x301,0x38A},{0x399,0x304,0x1FD9},{0x399,0x306,0x1FD8},{0x399,0x308,0x3AA},
    {0x399,0x313,0x1F38},{0x399,0x314,0x1F39},{0x39F,0x300,0x1FF8},{0x39F,0x301,0x38C},{0x39F,0x313,0x1F48},{0x39F,0x314,0x1F49},
    {0x3A1,0x314,0x1FEC},{0x3A5,0x300,0x1FEA},{0x3A5,0x301,0x38E},{0x3A5,0x304,0x1FE9},{0x3A5,0x306,0x1FE8},{0x3A5,0x308,0x3AB},
    {0x3A5,0x314,0x1F59},{0x3A9,0x300,0x1FFA},{0x3A9,0x301,0x38F},{0x3A9,0x313,0x1F68},{0x3A9,0x314,0x1F69},{0x3A9,0x345,0x1FFC},
    {0x3AC,0x345,0x1FB4},{0x3AE,0x345,0x1FC4},{0x3B1,0x300,0x1F70},{0x3B1,0x301,0x3AC},{0x3B1,0x304,0x1FB1},{0x3B1,0x306,0x1FB0},
    {0x3B1,0x313,0x1F00},{0x3B1,0x314,0x1F01},{0x3B1,0x342,0x1FB6},{0x3B1,0x345,0x1FB3},{0x3B5,0x300,0x1F72},{0x3B5,0x301,0x3AD},
    {0x3B5,0x313,0x1F10},{0x3B5,0x314,0x1F11},{0x3B7,0x300,0x1F74},{0x3B7,0x301,0x3AE},{0x3B7,0x313,0x1F20},{0x3B7,0x314,0x1F21},
    {0x3B7,0x342,0x1FC6},{0x3B7,0x345,0x1FC3},{0x3B9,0x300,0x1F76},{0x3B9,0x301,0x3AF},{0x3B9,0x304,0x1FD1},{0x3B9,0x306,0x1FD0},
    {0x3B9,0x308,0x3CA},{0x3B9,0x313,0x1F30},{0x3B9,0x314,0x1F31},{0x3B9,0x342,0x1FD6},{0x3BF,0x300,0x1F78},{0x3BF,0x301,0x3CC},
    {0x3BF,0x313,0x1F40},{0x3BF,0x314,0x1F41},{0x3C1,0x313,0x1FE4},{0x3C1,0x314,0x1FE5},{0x3C5,0x300,0x1F7A},{0x3C5,0x301,0x3CD},
    {0x3C5,0x304,0x1FE1},{0x3C5,0x306,0x1FE0},{0x3C5,0x308,0x3CB},{0x3C5,0x313,0x1F50},{0x3C5,0x314,0x1F51},{0x3C5,0x342,0x1FE6},
    {0x3C9,0x300,0x1F7C},{0x3C9,0x301,0x3CE},{0x3C9,0x313,0x1F60},{0x3C9,0x314,0x1F61},{0x3C9,0x342,0x1FF6},{0x3C9,0x345,0x1FF3},
    {0x3CA,0x300,0x1FD2},{0x3CA,0x301,0x390},{0x3CA,0x342,0x1FD7},{0x3CB,0x300,0x1FE2},{0x3CB,0x301,0x3B0},{0x3CB,0x342,0x1FE7},
    {0x3CE,0x345,0x1FF4},{0x3D2,0x301,0x3D3},{0x3D2,0x308,0x3D4},{0x406,0x308,0x407},{0x410,0x306,0x4D0},{0x410,0x308,0x4D2},
    {0x413,0x301,0x403},{0x415,0x300,0x400},{0x415,0x306,0x4D6},{0x415,0x308,0x401},{0x416,0x306,0x4C1},{0x416,0x308,0x4DC},
    {0x417,0x308,0x4DE},{0x418,0x300,0x40D},{0x418,0x304,0x4E2},{0x418,0x306,0x419},{0x418,0x308,0x4E4},{0x41A,0x301,0x40C},
    {0x41E,0x308,0x4E6},{0x423,0x304,0x4EE},{0x423,0x306,0x40E},{0x423,0x308,0x4F0},{0x423,0x30B,0x4F2},{0x427,0x308,0x4F4},
    {0x42B,0x308,0x4F8},{0x42D,0x308,0x4EC},{0x430,0x306,0x4D1},{0x430,0x308,0x4D3},{0x433,0x301,0x453},{0x435,0x300,0x450},
    {0x435,0x306,0x4D7},{0x435,0x308,0x451},{0x436,0x306,0x4C2},{0x436,0x308,0x4DD},{0x437,0x308,0x4DF},{0x438,0x300,0x45D},
    {0x438,0x304,0x4E3},{0x438,0x306,0x439},{0x438,0x308,0x4E5},{0x43A,0x301,0x45C},{0x43E,0x308,0x4E7},{0x443,0x304,0x4EF},
    {0x443,0x306,0x45E},{0x443,0x308,0x4F1},{0x443,0x30B,0x4F3},{0x447,0x308,0x4F5},{0x44B,0x308,0x4F9},{0x44D,0x308,0x4ED},
    {0x456,0x308,0x457},{0x474,0x30F,0x476},{0x475,0x30F,0x477},{0x4D8,0x308,0x4DA},{0x4D9,0x308,0x4DB},{0x4E8,0x308,0x4EA},
    {0x4E9,0x308,0x4EB},{0x627,0x653,0x622},{0x627,0x654,0x623},{0x627,0x655,0x625},{0x648,0x654,0x624},{0x64A,0x654,0x626},
    {0x6C1,0x654,0x6C2},{0x6D2,0x654,0x6D3},{0x6D5,0x654,0x6C0},{0x928,0x93C,0x929},{0x930,0x93C,0x931},{0x933,0x93C,0x934},
    {0x9C7,0x9BE,0x9CB},{0x9C7,0x9D7,0x9CC},{0xB47,0xB3E,0xB4B},{0xB47,0xB56,0xB48},{0xB47,0xB57,0xB4C},{0xB92,0xBD7,0xB94},
    {0xBC6,0xBBE,0xBCA},{0xBC6,0xBD7,0xBCC},{0xBC7,0xBBE,0xBCB},{0xC46,0xC56,0xC48},{0xCBF,0xCD5,0xCC0},{0xCC6,0xCC2,0xCCA},
    {0xCC6,0xCD5,0xCC7},{0xCC6,0xCD6,0xCC8},{0xCCA,0xCD5,0xCCB},{0xD46,0xD3E,0xD4A},{0xD46,0xD57,0xD4C},{0xD47,0xD3E,0xD4B},
    {0xDD9,0xDCA,0xDDA},{0xDD9,0xDCF,0xDDC},{0xDD9,0xDDF,0xDDE},{0xDDC,0xDCA,0xDDD},{0x1025,0x102E,0x1026},{0x1B05,0x1B35,0x1B06},
    {0x1B07,0x1B35,0x1B08},{0x1B09,0x1B35,0x1B0A},{0x1B0B,0x1B35,0x1B0C},{0x1B0D,0x1B35,0x1B0E},{0x1B11,0x1B35,0x1B12},{0x1B3A,0x1B35,0x1B3B},
    {0x1B3C,0x1B35,0x1B3D},{0x1B3E,0x1B35,0x1B40},{0x1B3F,0x1B35,0x1B41},{0x1B42,0x1B35,0x1B43},{0x1E36,0x304,0x1E38},{0x1E37,0x304,0x1E39},
    {0x1E5A,0x304,0x1E5C},{0x1E5B,0x304,0x1E5D},{0x1E62,0x307,0x1E68},{0x1E63,0x307,0x1E69},{0x1EA0,0x302,0x1EAC},{0x1EA0,0x306,0x1EB6},
    {0x1EA1,0x302,0x1EAD},{0x1EA1,0x306,0x1EB7},{0x1EB8,0x302,0x1EC6},{0x1EB9,0x302,0x1EC7},{0x1ECC,0x302,0x1ED8},{0x1ECD,0x302,0x1ED9},
    {0x1F00,0x300,0x1F02},{0x1F00,0x301,0x1F04},{0x1F00,0x342,0x1F06},{0x1F00,0x345,0x1F80},{0x1F01,0x300,0x1F03},{0x1F01,0x301,0x1F05},
    {0x1F01,0x342,0x1F07},{0x1F01,0x345,0x1F81},{0x1F02,0x345,0x1F82},{0x1F03,0x345,0x1F83},{0x1F04,0x345,0x1F84},{0x1F05,0x345,0x1F85},
    {0x1F06,0x345,0x1F86},{0x1F07,0x345,0x1F87},{0x1F08,0x300,0x1F0A},{0x1F08,0x301,0x1F0C},{0x1F08,0x342,0x1F0E},{0x1F08,0x345,0x1F88},
    {0x1F09,0x300,0x1F0B},{0x1F09,0x301,0x1F0D},{0x1F09,0x342,0x1F0F},{0x1F09,0x345,0x1F89},{0x1F0A,0x345,0x1F8A},{0x1F0B,0x345,0x1F8B},
    {0x1F0C,0x345,0x1F8C},{0x1F0D,0x345,0x1F8D},{0x1F0E,0x345,0x1F8E},{0x1F0F,0x345,0x1F8F},{0x1F10,0x300,0x1F12},{0x1F10,0x301,0x1F14},
    {0x1F11,0x300,0x1F13},{0x1F11,0x301,0x1F15},{0x1F18,0x300,0x1F1A},{0x1F18,0x301,0x1F1C},{0x1F19,0x300,0x1F1B},{0x1F19,0x301,0x1F1D},
    {0x1F20,0x300,0x1F22},{0x1F20,0x301,0x1F24},{0x1F20,0x342,0x1F26},{0x1F20,0x345,0x1F90},{0x1F21,0x300,0x1F23},{0x1F21,0x301,0x1F25},
    {0x1F21,0x342,0x1F27},{0x1F21,0x345,0x1F91},{0x1F22,0x345,0x1F92},{0x1F23,0x345,0x1F93},{0x1F24,0x345,0x1F94},{0x1F25,0x345,0x1F95},
    {0x1F26,0x345,0x1F96},{0x1F27,0x345,0x1F97},{0x1F28,0x300,0x1F2A},{0x1F28,0x301,0x1F2C},{0x1F28,0x342,0x1F2E},{0x1F28,0x345,0x1F98},
    {0x1F29,0x300,0x1F2B},{0x1F29,0x301,0x1F2D},{0x1F29,0x342,0x1F2F},{0x1F29,0x345,0x1F99},{0x1F2A,0x345,0x1F9A},{0x1F2B,0x345,0x1F9B},
    {0x1F2C,0x345,0x1F9C},{0x1F2D,0x345,0x1F9D},{0x1F2E,0x345,0x1F9E},{0x1F2F,0x345,0x1F9F},{0x1F30,0x300,0x1F32},{0x1F30,0x301,0x1F34},
    {0x1F30,0x342,0x1F36},{0x1F31,0x300,0x1F33},{0x1F31,0x301,0x1F35},{0x1F31,0x342,0x1F37},{0x1F38,0x300,0x1F3A},{0x1F38,0x301,0x1F3C},
    {0x1F38,0x342,0x1F3E},{0x1F39,0x300,0x1F3B},{0x1F39,0x301,0x1F3D},{0x1F39,0x342,0x1F3F},{0x1F40,0x300,0x1F42},{0x1F40,0x301,0x1F44},
    {0x1F41,0x300,0x1F43},{0x1F41,0x301,0x1F45},{0x1F48,0x300,0x1F4A},{0x1F48,0x301,0x1F4C},{0x1F49,0x300,0x1F4B},{0x1F49,0x301,0x1F4D},
    {0x1F50,0x300,0x1F52},{0x1F50,0x301,0x1F54},{0x1F50,0x342,0x1F56},{0x1F51,0x300,0x1F53},{0x1F51,0x301,0x1F55},{0x1F51,0x342,0x1F57},
    {0x1F59,0x300,0x1F5B},{0x1F59,0x301,0x1F5D},{0x1F59,0x342,0x1F5F},{0x1F60,0x300,0x1F62},{0x1F60,0x301,0x1F64},{0x1F60,0x342,0x1F66},
    {0x1F60,0x345,0x1FA0},{0x1F61,0x300,0x1F63},{0x1F61,0x301,0x1F65},{0x1F61,0x342,0x1F67},{0x1F61,0x345,0x1FA1},{0x1F62,0x345,0x1FA2},
    {0x1F63,0x345,0x1FA3},{0x1F64,0x345,0x1FA4},{0x1F65,0x345,0x1FA5},{0x1F66,0x345,0x1FA6},{0x1F67,0x345,0x1FA7},{0x1F68,0x300,0x1F6A},
    {0x1F68,0x301,0x1F6C},{0x1F68,0x342,0x1F6E},{0x1F68,0x345,0x1FA8},{0x1F69,0x300,0x1F6B},{0x1F69,0x301,0x1F6D},{0x1F69,0x342,0x1F6F},
    {0x1F69,0x345,0x1FA9},{0x1F6A,0x345,0x1FAA},{0x1F6B,0x345,0x1FAB},{0x1F6C,0x345,0x1FAC},{0x1F6D,0x345,0x1FAD},{0x1F6E,0x345,0x1FAE},
    {0x1F6F,0x345,0x1FAF},{0x1F70,0x345,0x1FB2},{0x1F74,0x345,0x1FC2},{0x1F7C,0x345,0x1FF2},{0x1FB6,0x345,0x1FB7},{0x1FBF,0x300,0x1FCD},
    {0x1FBF,0x301,0x1FCE},{0x1FBF,0x342,0x1FCF},{0x1FC6,0x345,0x1FC7},{0x1FF6,0x345,0x1FF7},{0x1FFE,0x300,0x1FDD},{0x1FFE,0x301,0x1FDE},
    {0x1FFE,0x342,0x1FDF},{0x2190,0x338,0x219A},{0x2192,0x338,0x219B},{0x2194,0x338,0x21AE},{0x21D0,0x338,0x21CD},{0x21D2,0x338,0x21CF},
    {0x21D4,0x338,0x21CE},{0x2203,0x338,0x2204},{0x2208,0x338,0x2209},{0x220B,0x338,0x220C},{0x2223,0x338,0x2224},{0x2225,0x338,0x2226},
    {0x223C,0x338,0x2241},{0x2243,0x338,0x2244},{0x2245,0x338,0x2247},{0x2248,0x338,0x2249},{0x224D,0x338,0x226D},{0x2261,0x338,0x2262},
    {0x2264,0x338,0x2270},{0x2265,0x338,0x2271},{0x2272,0x338,0x2274},{0x2273,0x338,0x2275},{0x2276,0x338,0x2278},{0x2277,0x338,0x2279},
    {0x227A,0x338,0x2280},{0x227B,0x338,0x2281},{0x227C,0x338,0x22E0},{0x227D,0x338,0x22E1},{0x2282,0x338,0x2284},{0x2283,0x338,0x2285},
    {0x2286,0x338,0x2288},{0x2287,0x338,0x2289},{0x2291,0x338,0x22E2},{0x2292,0x338,0x22E3},{0x22A2,0x338,0x22AC},{0x22A8,0x338,0x22AD},
    {0x22A9,0x338,0x22AE},{0x22AB,0x338,0x22AF},{0x22B2,0x338,0x22EA},{0x22B3,0x338,0x22EB},{0x22B4,0x338,0x22EC},{0x22B5,0x338,0x22ED},
    {0x3046,0x3099,0x3094},{0x304B,0x3099,0x304C},{0x304D,0x3099,0x304E},{0x304F,0x3099,0x3050},{0x3051,0x3099,0x3052},{0x3053,0x3099,0x3054},
    {0x3055,0x3099,0x3056},{0x3057,0x3099,0x3058},{0x3059,0x3099,0x305A},{0x305B,0x3099,0x305C},{0x305D,0x3099,0x305E},{0x305F,0x3099,0x3060},
    {0x3061,0x3099,0x3062},{0x3064,0x3099,0x3065},{0x3066,0x3099,0x3067},{0x3068,0x3099,0x3069},{0x306F,0x3099,0x3070},{0x306F,0x309A,0x3071},
    {0x3072,0x3099,0x3073},{0x3072,0x309A,0x3074},{0x3075,0x3099,0x3076},{0x3075,0x309A,0x3077},{0x3078,0x3099,0x3079},{0x3078,0x309A,0x307A},
    {0x307B,0x3099,0x307C},{0x307B,0x309A,0x307D},{0x309D,0x3099,0x309E},{0x30A6,0x3099,0x30F4},{0x30AB,0x3099,0x30AC},{0x30AD,0x3099,0x30AE},
    {0x30AF,0x3099,0x30B0},{0x30B1,0x3099,0x30B2},{0x30B3,0x3099,0x30B4},{0x30B5,0x3099,0x30B6},{0x30B7,0x3099,0x30B8},{0x30B9,0x3099,0x30BA},
    {0x30BB,0x3099,0x30BC},{0x30BD,0x3099,0x30BE},{0x30BF,0x3099,0x30C0},{0x30C1,0x3099,0x30C2},{0x30C4,0x3099,0x30C5},{0x30C6,0x3099,0x30C7},
    {0x30C8,0x3099,0x30C9},{0x30CF,0x3099,0x30D0},{0x30CF,0x309A,0x30D1},{0x30D2,0x3099,0x30D3},{0x30D2,0x309A,0x30D4},{0x30D5,0x3099,0x30D6},
    {0x30D5,0x309A,0x30D7},{0x30D8,0x3099,0x30D9},{0x30D8,0x309A,0x30DA},{0x30DB,0x3099,0x30DC},{0x30DB,0x309A,0x30DD},{0x30EF,0x3099,0x30F7},
    {0x30F0,0x3099,0x30F8},{0x30F1,0x3099,0x30F9},{0x30F2,0x3099,0x30FA},{0x30FD,0x3099,0x30FE},{0x11099,0x110BA,0x1109A},{0x1109B,0x110BA,0x1109C},
    {0x110A5,0x110BA,0x110AB},{0x11131,0x11127,0x1112E},{0x11132,0x11127,0x1112F},{0x11347,0x1133E,0x1134B},{0x11347,0x11357,0x1134C},{0x114B9,0x114B0,0x114BC},
    {0x114B9,0x114BA,0x114BB},{0x114B9,0x114BD,0x114BE},{0x115B8,0x115AF,0x115BA},{0x115B9,0x115AF,0x115BB},
};
/* Unicode 9.0.0's marks are llava__tok_uc_mark's (Unicode 14.0.0) but for these */
static const uint32_t llava__tok_uc_mark_diff9[65][2] = {
    {0x7FD,0x7FD},{0x898,0x89F},{0x8CA,0x8D3},{0x9FE,0x9FE},{0xAFA,0xAFF},{0xB55,0xB55},{0xC04,0xC04},{0xC3C,0xC3C},
    {0xD00,0xD00},{0xD3B,0xD3C},{0xD81,0xD81},{0xEBA,0xEBA},{0x1715,0x1715},{0x180F,0x180F},{0x1ABF,0x1ACE},{0x1CF2,0x1CF3},
    {0x1CF7,0x1CF7},{0x1DF6,0x1DFA},{0xA82C,0xA82C},{0xA8FF,0xA8FF},{0x10D24,0x10D27},{0x10EAB,0x10EAC},{0x10F46,0x10F50},{0x10F82,0x10F85},
    {0x11070,0x11070},{0x11073,0x11074},{0x110C2,0x110C2},{0x11145,0x11146},{0x111C9,0x111C9},{0x111CE,0x111CF},{0x1133B,0x1133B},{0x1145E,0x1145E},
    {0x1182C,0x1183A},{0x11930,0x11935},{0x11937,0x11938},{0x1193B,0x1193E},{0x11940,0x11940},{0x11942,0x11943},{0x119D1,0x119D7},{0x119DA,0x119E0},
    {0x119E4,0x119E4},{0x11A01,0x11A0A},{0x11A33,0x11A39},{0x11A3B,0x11A3E},{0x11A47,0x11A47},{0x11A51,0x11A5B},{0x11A8A,0x11A99},{0x11D31,0x11D36},
    {0x11D3A,0x11D3A},{0x11D3C,0x11D3D},{0x11D3F,0x11D45},{0x11D47,0x11D47},{0x11D8A,0x11D8E},{0x11D90,0x11D91},{0x11D93,0x11D97},{0x11EF3,0x11EF6},
    {0x16F4F,0x16F4F},{0x16F7F,0x16F87},{0x16FE4,0x16FE4},{0x16FF0,0x16FF1},{0x1CF00,0x1CF2D},{0x1CF30,0x1CF46},{0x1E130,0x1E136},{0x1E2AE,0x1E2AE},
    {0x1E2EC,0x1E2EF},
};
/* Lowercase (Rust's char::to_lowercase, Unicode 17.0.0): {first, last, delta, stride}, U+0130 apart */
static const int32_t llava__tok_uc_lower[185][4] = {
    {0x41,0x5A,32,1},{0xC0,0xD6,32,1},{0xD8,0xDE,32,1},{0x100,0x12E,1,2},{0x132,0x136,1,2},{0x139,0x147,1,2},
    {0x14A,0x176,1,2},{0x178,0x178,-121,1},{0x179,0x17D,1,2},{0x181,0x181,210,1},{0x182,0x184,1,2},{0x186,0x186,206,1},
    {0x187,0x187,1,1},{0x189,0x18A,205,1},{0x18B,0x18B,1,1},{0x18E,0x18E,79,1},{0x18F,0x18F,202,1},{0x190,0x190,203,1},
    {0x191,0x191,1,1},{0x193,0x193,205,1},{0x194,0x194,207,1},{0x196,0x196,211,1},{0x197,0x197,209,1},{0x198,0x198,1,1},
    {0x19C,0x19C,211,1},{0x19D,0x19D,213,1},{0x19F,0x19F,214,1},{0x1A0,0x1A4,1,2},{0x1A6,0x1A6,218,1},{0x1A7,0x1A7,1,1},
    {0x1A9,0x1A9,218,1},{0x1AC,0x1AC,1,1},{0x1AE,0x1AE,218,1},{0x1AF,0x1AF,1,1},{0x1B1,0x1B2,217,1},{0x1B3,0x1B5,1,2},
    {0x1B7,0x1B7,219,1},{0x1B8,0x1B8,1,1},{0x1BC,0x1BC,1,1},{0x1C4,0x1C4,2,1},{0x1C5,0x1C5,1,1},{0x1C7,0x1C7,2,1},
    {0x1C8,0x1C8,1,1},{0x1CA,0x1CA,2,1},{0x1CB,0x1DB,1,2},{0x1DE,0x1EE,1,2},{0x1F1,0x1F1,2,1},{0x1F2,0x1F4,1,2},
    {0x1F6,0x1F6,-97,1},{0x1F7,0x1F7,-56,1},{0x1F8,0x21E,1,2},{0x220,0x220,-130,1},{0x222,0x232,1,2},{0x23A,0x23A,10795,1},
    {0x23B,0x23B,1,1},{0x23D,0x23D,-163,1},{0x23E,0x23E,10792,1},{0x241,0x241,1,1},{0x243,0x243,-195,1},{0x244,0x244,69,1},
    {0x245,0x245,71,1},{0x246,0x24E,1,2},{0x370,0x372,1,2},{0x376,0x376,1,1},{0x37F,0x37F,116,1},{0x386,0x386,38,1},
    {0x388,0x38A,37,1},{0x38C,0x38C,64,1},{0x38E,0x38F,63,1},{0x391,0x3A1,32,1},{0x3A3,0x3AB,32,1},{0x3CF,0x3CF,8,1},
    {0x3D8,0x3EE,1,2},{0x3F4,0x3F4,-60,1},{0x3F7,0x3F7,1,1},{0x3F9,0x3F9,-7,1},{0x3FA,0x3FA,1,1},{0x3FD,0x3FF,-130,1},
    {0x400,0x40F,80,1},{0x410,0x42F,32,1},{0x460,0x480,1,2},{0x48A,0x4BE,1,2},{0x4C0,0x4C0,15,1},{0x4C1,0x4CD,1,2},
    {0x4D0,0x52E,1,2},{0x531,0x556,48,1},{0x10A0,0x10C5,7264,1},{0x10C7,0x10C7,7264,1},{0x10CD,0x10CD,7264,1},{0x13A0,0x13EF,38864,1},
    {0x13F0,0x13F5,8,1},{0x1C89,0x1C89,1,1},{0x1C90,0x1CBA,-3008,1},{0x1CBD,0x1CBF,-3008,1},{0x1E00,0x1E94,1,2},{0x1E9E,0x1E9E,-7615,1},
    {0x1EA0,0x1EFE,1,2},{0x1F08,0x1F0F,-8,1},{0x1F18,0x1F1D,-8,1},{0x1F28,0x1F2F,-8,1},{0x1F38,0x1F3F,-8,1},{0x1F48,0x1F4D,-8,1},
    {0x1F59,0x1F5F,-8,2},{0x1F68,0x1F6F,-8,1},{0x1F88,0x1F8F,-8,1},{0x1F98,0x1F9F,-8,1},{0x1FA8,0x1FAF,-8,1},{0x1FB8,0x1FB9,-8,1},
    {0x1FBA,0x1FBB,-74,1},{0x1FBC,0x1FBC,-9,1},{0x1FC8,0x1FCB,-86,1},{0x1FCC,0x1FCC,-9,1},{0x1FD8,0x1FD9,-8,1},{0x1FDA,0x1FDB,-100,1},
    {0x1FE8,0x1FE9,-8,1},{0x1FEA,0x1FEB,-112,1},{0x1FEC,0x1FEC,-7,1},{0x1FF8,0x1FF9,-128,1},{0x1FFA,0x1FFB,-126,1},{0x1FFC,0x1FFC,-9,1},
    {0x2126,0x2126,-7517,1},{0x212A,0x212A,-8383,1},{0x212B,0x212B,-8262,1},{0x2132,0x2132,28,1},{0x2160,0x216F,16,1},{0x2183,0x2183,1,1},
    {0x24B6,0x24CF,26,1},{0x2C00,0x2C2F,48,1},{0x2C60,0x2C60,1,1},{0x2C62,0x2C62,-10743,1},{0x2C63,0x2C63,-3814,1},{0x2C64,0x2C64,-10727,1},
    {0x2C67,0x2C6B,1,2},{0x2C6D,0x2C6D,-10780,1},{0x2C6E,0x2C6E,-10749,1},{0x2C6F,0x2C6F,-10783,1},{0x2C70,0x2C70,-10782,1},{0x2C72,0x2C72,1,1},
    {0x2C75,0x2C75,1,1},{0x2C7E,0x2C7F,-10815,1},{0x2C80,0x2CE2,1,2},{0x2CEB,0x2CED,1,2},{0x2CF2,0x2CF2,1,1},{0xA640,0xA66C,1,2},
    {0xA680,0xA69A,1,2},{0xA722,0xA72E,1,2},{0xA732,0xA76E,1,2},{0xA779,0xA77B,1,2},{0xA77D,0xA77D,-35332,1},{0xA77E,0xA786,1,2},
    {0xA78B,0xA78B,1,1},{0xA78D,0xA78D,-42280,1},{0xA790,0xA792,1,2},{0xA796,0xA7A8,1,2},{0xA7AA,0xA7AA,-42308,1},{0xA7AB,0xA7AB,-42319,1},
    {0xA7AC,0xA7AC,-42315,1},{0xA7AD,0xA7AD,-42305,1},{0xA7AE,0xA7AE,-42308,1},{0xA7B0,0xA7B0,-42258,1},{0xA7B1,0xA7B1,-42282,1},{0xA7B2,0xA7B2,-42261,1},
    {0xA7B3,0xA7B3,928,1},{0xA7B4,0xA7C2,1,2},{0xA7C4,0xA7C4,-48,1},{0xA7C5,0xA7C5,-42307,1},{0xA7C6,0xA7C6,-35384,1},{0xA7C7,0xA7C9,1,2},
    {0xA7CB,0xA7CB,-42343,1},{0xA7CC,0xA7DA,1,2},{0xA7DC,0xA7DC,-42561,1},{0xA7F5,0xA7F5,1,1},{0xFF21,0xFF3A,32,1},{0x10400,0x10427,40,1},
    {0x104B0,0x104D3,40,1},{0x10570,0x1057A,39,1},{0x1057C,0x1058A,39,1},{0x1058C,0x10592,39,1},{0x10594,0x10595,39,1},{0x10C80,0x10CB2,64,1},
    {0x10D50,0x10D65,32,1},{0x118A0,0x118BF,32,1},{0x16E40,0x16E5F,32,1},{0x16EA0,0x16EB8,27,1},{0x1E900,0x1E921,34,1},
};
/* END GENERATED NORMALIZATION TABLES */

static int llava__tok_in(const uint32_t (*r)[2], int n, uint32_t cp) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < r[mid][0]) hi = mid - 1;
        else if (cp > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}
#define LLAVA__TOK_NR(t) ((int)(sizeof(t) / sizeof((t)[0])))
/* character classes of the split patterns; ASCII answered without a search */
enum { LLAVA__UC_OTHER = 0, LLAVA__UC_L = 1, LLAVA__UC_N = 2, LLAVA__UC_S = 3 };
static int llava__tok_class(uint32_t cp) {
    if (cp < 128) {
        if ((cp | 32) >= 'a' && (cp | 32) <= 'z') return LLAVA__UC_L;
        if (cp >= '0' && cp <= '9') return LLAVA__UC_N;
        if (cp == ' ' || (cp >= 9 && cp <= 13)) return LLAVA__UC_S;
        return LLAVA__UC_OTHER;
    }
    if (llava__tok_in(llava__tok_uc_letter, LLAVA__TOK_NR(llava__tok_uc_letter), cp)) return LLAVA__UC_L;
    if (llava__tok_in(llava__tok_uc_number, LLAVA__TOK_NR(llava__tok_uc_number), cp)) return LLAVA__UC_N;
    if (llava__tok_in(llava__tok_uc_space, LLAVA__TOK_NR(llava__tok_uc_space), cp)) return LLAVA__UC_S;
    return LLAVA__UC_OTHER;
}
static int llava__tok_is_space(uint32_t cp) { return llava__tok_class(cp) == LLAVA__UC_S; }
/* Rust regex's \w (added tokens' single_word): letters, marks, digits, connector punctuation */
static int llava__tok_is_word(uint32_t cp) {
    int c = llava__tok_class(cp);
    if (c == LLAVA__UC_L || c == LLAVA__UC_N) return 1;
    if (cp == '_' || cp == 0x203F || cp == 0x2040 || cp == 0x2054 || cp == 0xFE33 || cp == 0xFE34 ||
        (cp >= 0xFE4D && cp <= 0xFE4F) || cp == 0xFF3F || cp == 0x200C || cp == 0x200D)
        return 1;
    return cp >= 128 && llava__tok_in(llava__tok_uc_mark, LLAVA__TOK_NR(llava__tok_uc_mark), cp);
}

/* --- UTF-8 ------------------------------------------------------------------------------------- */
/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one. Follows Unicode's
   well-formed byte sequences table (no overlongs, no surrogates, nothing above U+10FFFF). */
static int llava__tok_utf8_valid(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    int len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if ((size_t)len > n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    int k;
    for (k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}
/* the bytes an invalid sequence at s covers, as Rust's from_utf8_lossy counts them (the lead byte
   and the continuation bytes that were still possible): each such run becomes one U+FFFD */
static int llava__tok_utf8_bad_len(const unsigned char *s, size_t n) {
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    int len, k;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 1;
    for (k = 1; k < len && (size_t)k < n; k++) {
        unsigned b = s[k];
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
    }
    return k;
}
/* decodes the (valid) character at s; returns its length */
static int llava__tok_utf8_next(const char *p, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)p;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] < 0xE0) {
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (s[0] < 0xF0) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return 4;
}
static int llava__tok_utf8_put(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
/* the first character of a UTF-8 string (0 if empty) */
static uint32_t llava__tok_first_cp(const char *s, size_t n) {
    uint32_t cp = 0;
    if (n && llava__tok_utf8_valid((const unsigned char *)s, n)) llava__tok_utf8_next(s, &cp);
    return cp;
}

/* growable int array */
typedef struct {
    int *p;
    size_t n, cap;
    int oom;
} llava__tok_ints;
static int llava__tok_ipush(llava__tok_ints *a, int v) {
    if (a->oom) return -1;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        int *np = (int *)LLAVA_REALLOC(a->p, nc * sizeof(int));
        if (!np) {
            a->oom = 1;
            return -1;
        }
        a->p = np;
        a->cap = nc;
    }
    a->p[a->n++] = v;
    return 0;
}

/* --- Unicode normalization: NFD, NFKD, NFC, NFKC as tokenizers applies them (NormalizedString::nfd
   etc. over the unicode-normalization-alignments crate). The crate yields each output character with
   a change (0: it replaces the next input character, 1: it is inserted, -N: it replaces the next
   input character and N more are removed); NormalizedString::transform turns those into the output's
   alignment to the input. Both steps are reproduced here, quirks included: a composed character is
   aligned to its first input character only, and characters that canonical ordering moves take the
   alignment of the position they land in. ------------------------------------------------------- */
#define LLAVA__HANGUL_S 0xAC00u
#define LLAVA__HANGUL_L 0x1100u
#define LLAVA__HANGUL_V 0x1161u
#define LLAVA__HANGUL_T 0x11A7u
#define LLAVA__HANGUL_NS 11172u /* 19 leading * 21 vowels * 28 trailing (the first "trailing" is none) */

static int llava__tok_uc_class_of(uint32_t cp) { /* canonical combining class */
    int lo = 0, hi = LLAVA__TOK_NR(llava__tok_uc_ccc) - 1;
    if (cp < 0x300) return 0;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < llava__tok_uc_ccc[mid][0]) hi = mid - 1;
        else if (cp > llava__tok_uc_ccc[mid][1]) lo = mid + 1;
        else return (int)llava__tok_uc_ccc[mid][2];
    }
    return 0;
}
/* the full decomposition of cp (canonical, or compatibility falling back to canonical, as the crate's
   decompose_compatible does), NULL when it has none; Hangul syllables are handled by the caller */
static const uint32_t *llava__tok_uc_decomp(uint32_t cp, int compat, int *len) {
    int n = LLAVA__TOK_NR(llava__tok_uc_dkey), lo = 0, hi = n, i, j;
    if (cp < 0x80 || cp > 0x10FFFF) return NULL;
    while (lo < hi) { /* the first key of cp */
        int mid = (lo + hi) / 2;
        if (llava__tok_uc_dkey[mid] >> 6 < cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo >= n || llava__tok_uc_dkey[lo] >> 6 != cp) return NULL;
    i = lo;
    if (compat && i + 1 < n && llava__tok_uc_dkey[i + 1] >> 6 == cp) i++; /* its compatibility entry */
    else if (!compat && (llava__tok_uc_dkey[i] >> 5 & 1)) return NULL;     /* only a compatibility one */
    size_t off = llava__tok_uc_dat[i / 32];
    for (j = i / 32 * 32; j < i; j++) off += llava__tok_uc_dkey[j] & 31;
    *len = (int)(llava__tok_uc_dkey[i] & 31);
    return llava__tok_uc_dpool + off;
}
/* the crate's compose: Hangul L+V and LV+T arithmetically, then the primary composites; 0 if none */
static uint32_t llava__tok_uc_compose(uint32_t a, uint32_t b) {
    if (a >= LLAVA__HANGUL_L && a < LLAVA__HANGUL_L + 19 && b >= LLAVA__HANGUL_V && b < LLAVA__HANGUL_V + 21)
        return LLAVA__HANGUL_S + ((a - LLAVA__HANGUL_L) * 21 + (b - LLAVA__HANGUL_V)) * 28;
    if (a >= LLAVA__HANGUL_S && a < LLAVA__HANGUL_S + LLAVA__HANGUL_NS && (a - LLAVA__HANGUL_S) % 28 == 0 && b > LLAVA__HANGUL_T &&
        b < LLAVA__HANGUL_T + 28)
        return a + (b - LLAVA__HANGUL_T);
    int lo = 0, hi = LLAVA__TOK_NR(llava__tok_uc_comp) - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const uint32_t *r = llava__tok_uc_comp[mid];
        if (a < r[0] || (a == r[0] && b < r[1])) hi = mid - 1;
        else if (a > r[0] || b > r[1]) lo = mid + 1;
        else return r[2];
    }
    return 0;
}

/* (character, change) sequence being built */
typedef struct {
    llava__tok_ints cp, chg;
} llava__tok_ucseq;
static void llava__tok_ucseq_push(llava__tok_ucseq *q, uint32_t cp, int chg) {
    llava__tok_ipush(&q->cp, (int)cp);
    llava__tok_ipush(&q->chg, chg);
}
static void llava__tok_ucseq_free(llava__tok_ucseq *q) {
    LLAVA_FREE(q->cp.p);
    LLAVA_FREE(q->chg.p);
    memset(q, 0, sizeof *q);
}
static int llava__tok_u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
/* the crate's Decompositions: every character's full decomposition (its first character with change
   0, the rest 1), each run of non-starters sorted stably by combining class */
static int llava__tok_uc_decompose(const uint32_t *in, size_t n, int compat, llava__tok_ucseq *d) {
    size_t i, a;
    uint64_t *key = NULL;
    int *tmp = NULL;
    size_t key_cap = 0;
    for (i = 0; i < n; i++) {
        uint32_t c = in[i];
        int len = 0, k;
        const uint32_t *dc;
        if (c >= LLAVA__HANGUL_S && c < LLAVA__HANGUL_S + LLAVA__HANGUL_NS) {
            uint32_t s = c - LLAVA__HANGUL_S;
            llava__tok_ucseq_push(d, LLAVA__HANGUL_L + s / (21 * 28), 0);
            llava__tok_ucseq_push(d, LLAVA__HANGUL_V + s % (21 * 28) / 28, 1);
            if (s % 28) llava__tok_ucseq_push(d, LLAVA__HANGUL_T + s % 28, 1);
        } else if ((dc = llava__tok_uc_decomp(c, compat, &len)) != NULL) {
            for (k = 0; k < len; k++) llava__tok_ucseq_push(d, dc[k], k > 0);
        } else {
            llava__tok_ucseq_push(d, c, 0);
        }
    }
    if (d->cp.oom || d->chg.oom) return -1;
    for (a = 0; a < d->cp.n;) { /* runs of non-starters */
        size_t b = a;
        while (b < d->cp.n && llava__tok_uc_class_of((uint32_t)d->cp.p[b])) b++;
        if (b - a > 1) {
            size_t m = b - a, q;
            int sorted = 1;
            for (q = a + 1; q < b && sorted; q++) sorted = llava__tok_uc_class_of((uint32_t)d->cp.p[q - 1]) <= llava__tok_uc_class_of((uint32_t)d->cp.p[q]);
            if (!sorted) { /* class << 32 | position: a plain sort of unique keys is a stable sort by class */
                if (m > key_cap) {
                    LLAVA_FREE(key);
                    LLAVA_FREE(tmp);
                    key_cap = m;
                    key = (uint64_t *)LLAVA_MALLOC(m * sizeof *key);
                    tmp = (int *)LLAVA_MALLOC(m * 2 * sizeof *tmp);
                    if (!key || !tmp) {
                        LLAVA_FREE(key);
                        LLAVA_FREE(tmp);
                        return -1;
                    }
                }
                for (q = 0; q < m; q++) key[q] = (uint64_t)llava__tok_uc_class_of((uint32_t)d->cp.p[a + q]) << 32 | q;
                qsort(key, m, sizeof *key, llava__tok_u64_cmp);
                for (q = 0; q < m; q++) {
                    size_t from = a + (size_t)(key[q] & 0xFFFFFFFFu);
                    tmp[q] = d->cp.p[from];
                    tmp[m + q] = d->chg.p[from];
                }
                for (q = 0; q < m; q++) {
                    d->cp.p[a + q] = tmp[q];
                    d->chg.p[a + q] = tmp[m + q];
                }
            }
        }
        a = b > a ? b : a + 1;
    }
    LLAVA_FREE(key);
    LLAVA_FREE(tmp);
    return 0;
}
/* the crate's Recompositions over a decomposed sequence: a composed character's change is the
   starter's plus the mark's minus one */
static int llava__tok_uc_recompose(const llava__tok_ucseq *d, llava__tok_ucseq *r) {
    llava__tok_ucseq held; /* non-starters that did not compose, in order */
    size_t i, h;
    int have = 0, last = -1, kchg = 0;
    uint32_t k = 0;
    memset(&held, 0, sizeof held);
    for (i = 0; i < d->cp.n; i++) {
        uint32_t c = (uint32_t)d->cp.p[i], m;
        int chg = d->chg.p[i], cc = llava__tok_uc_class_of(c);
        if (!have) {
            if (cc) llava__tok_ucseq_push(r, c, chg);
            else have = 1, k = c, kchg = chg;
            continue;
        }
        if (last >= 0 && last >= cc) { /* blocked from the starter */
            if (cc == 0) {
                llava__tok_ucseq_push(r, k, kchg);
                for (h = 0; h < held.cp.n; h++) llava__tok_ucseq_push(r, (uint32_t)held.cp.p[h], held.chg.p[h]);
                held.cp.n = held.chg.n = 0;
                k = c, kchg = chg, last = -1;
            } else {
                llava__tok_ucseq_push(&held, c, chg);
                last = cc;
            }
            continue;
        }
        if ((m = llava__tok_uc_compose(k, c)) != 0) {
            k = m;
            kchg += chg - 1;
            continue;
        }
        if (last < 0 && cc == 0) {
            llava__tok_ucseq_push(r, k, kchg);
            k = c, kchg = chg;
            continue;
        }
        llava__tok_ucseq_push(&held, c, chg);
        last = cc;
    }
    if (have) llava__tok_ucseq_push(r, k, kchg);
    for (h = 0; h < held.cp.n; h++) llava__tok_ucseq_push(r, (uint32_t)held.cp.p[h], held.chg.p[h]);
    int oom = held.cp.oom || held.chg.oom || r->cp.oom || r->chg.oom;
    llava__tok_ucseq_free(&held);
    return oom ? -1 : 0;
}
/* s[a..b) (UTF-8) with per-byte offsets o -> its NFD/NFKD/NFC/NFKC form appended to out, with an
   offset per byte in oo. An output character that replaces an input character of the same length
   keeps that character's byte offsets; otherwise every byte of it gets the offset of the character it
   is aligned to (NormalizedString::transform_range). Returns -1 when out of memory. */
static int llava__tok_unorm_run(const char *s, size_t a, size_t b, const int *o, int compat, int compose, LlavaBuf *out, llava__tok_ints *oo) {
    llava__tok_ints in, at; /* input characters and the byte where each starts */
    llava__tok_ucseq d, r;
    size_t i, pos = 0;
    int rc = 0;
    memset(&in, 0, sizeof in);
    memset(&at, 0, sizeof at);
    memset(&d, 0, sizeof d);
    memset(&r, 0, sizeof r);
    for (i = a; i < b;) {
        uint32_t cp;
        int l = llava__tok_utf8_valid((const unsigned char *)s + i, b - i);
        if (l) llava__tok_utf8_next(s + i, &cp);
        else cp = 0x110000u | (unsigned char)s[i], l = 1; /* not reached: the text was checked; kept as the byte */
        llava__tok_ipush(&in, (int)cp);
        llava__tok_ipush(&at, (int)i);
        i += (size_t)l;
    }
    llava__tok_ipush(&at, (int)b);
    if (in.oom || at.oom || llava__tok_uc_decompose((const uint32_t *)in.p, in.n, compat, &d) || (compose && llava__tok_uc_recompose(&d, &r))) rc = -1;
    const llava__tok_ucseq *q = compose ? &r : &d;
    for (i = 0; !rc && i < q->cp.n; i++) {
        uint32_t c = (uint32_t)q->cp.p[i];
        int chg = q->chg.p[i], len, k;
        char u[4];
        if (c >= 0x110000u) u[0] = (char)(c & 0xFF), len = 1;
        else len = llava__tok_utf8_put(u, c);
        llava_buf_put(out, u, (size_t)len);
        if (chg > 0 || pos >= in.n) { /* inserted: the alignment of the character before */
            int off = pos ? o[at.p[pos - 1]] : o[a];
            for (k = 0; k < len; k++) llava__tok_ipush(oo, off);
            continue;
        }
        int x = at.p[pos], y = at.p[pos + 1];
        for (k = 0; k < len; k++) llava__tok_ipush(oo, y - x == len ? o[x + k] : o[x]);
        pos += 1 + (size_t)(chg < 0 ? -chg : 0);
    }
    if (out->oom || oo->oom) rc = -1;
    LLAVA_FREE(in.p);
    LLAVA_FREE(at.p);
    llava__tok_ucseq_free(&d);
    llava__tok_ucseq_free(&r);
    return rc;
}
/* s[n] with offsets o[n+1] -> out with offsets oo (one per byte, and the end's). ASCII never
   decomposes, never reorders and is never the second character of a composition, so a normalization
   run can end before any ASCII character, and an ASCII character followed by ASCII (or the end) is
   copied as it is: only the stretches around other characters go through the tables. */
static int llava__tok_unorm(const char *s, size_t n, const int *o, int compat, int compose, LlavaBuf *out, llava__tok_ints *oo) {
    size_t i = 0, k;
    while (i < n) {
        size_t j = i;
        while (j < n && (unsigned char)s[j] < 0x80 && (j + 1 == n || (unsigned char)s[j + 1] < 0x80)) j++;
        llava_buf_put(out, s + i, j - i);
        for (k = i; k < j; k++) llava__tok_ipush(oo, o[k]);
        if (j == n) break;
        i = j; /* an ASCII character that may compose with what follows, or the first of the others */
        j = i + 1;
        while (j < n && (unsigned char)s[j] >= 0x80) j++;
        if (llava__tok_unorm_run(s, i, j, o, compat, compose, out, oo)) return -1;
        i = j;
    }
    llava__tok_ipush(oo, o[n]);
    return out->oom || oo->oom ? -1 : 0;
}

/* --- (id, id) -> (rank, merged id) hash map for BPE merges ------------------------------------------ */
typedef struct {
    uint64_t *key; /* [mask+1] (a << 32 | b) + 1, 0 = empty */
    int *rank, *id;
    uint32_t mask;
    int n;
} llava__tok_pmap;
static uint32_t llava__tok_phash(uint64_t k) {
    k ^= k >> 31;
    k *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(k >> 29);
}
static int llava__tok_pmap_init(llava__tok_pmap *m, int expect) {
    uint32_t cap = 1024;
    while (cap < (uint32_t)expect * 2 + 2) cap *= 2;
    m->key = (uint64_t *)llava__calloc(cap, sizeof(uint64_t));
    m->rank = (int *)LLAVA_MALLOC(cap * sizeof(int));
    m->id = (int *)LLAVA_MALLOC(cap * sizeof(int));
    m->mask = cap - 1;
    m->n = 0;
    return m->key && m->rank && m->id ? 0 : -1;
}
static void llava__tok_pmap_free(llava__tok_pmap *m) {
    LLAVA_FREE(m->key);
    LLAVA_FREE(m->rank);
    LLAVA_FREE(m->id);
    memset(m, 0, sizeof *m);
}
/* capacity fixed at init (merges are counted first); a repeated pair overwrites, as tokenizers'
   HashMap collect does (the later merge wins) */
static void llava__tok_pmap_put(llava__tok_pmap *m, int a, int b, int rank, int id) {
    uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    uint32_t h = llava__tok_phash(k) & m->mask;
    while (m->key[h] && m->key[h] != k) h = (h + 1) & m->mask;
    if (!m->key[h]) m->n++;
    m->key[h] = k;
    m->rank[h] = rank;
    m->id[h] = id;
}
static int llava__tok_pmap_get(const llava__tok_pmap *m, int a, int b, int *id) { /* rank or -1 */
    uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    uint32_t h = llava__tok_phash(k) & m->mask;
    while (m->key[h]) {
        if (m->key[h] == k) {
            *id = m->id[h];
            return m->rank[h];
        }
        h = (h + 1) & m->mask;
    }
    return -1;
}

/* --- the tokenizer ------------------------------------------------------------------------------- */
enum { LLAVA__NORM_PREPEND, LLAVA__NORM_REPLACE, LLAVA__NORM_NFD, LLAVA__NORM_NFKD, LLAVA__NORM_NFC, LLAVA__NORM_NFKC, LLAVA__NORM_STRIP,
       LLAVA__NORM_STRIP_ACCENTS, LLAVA__NORM_LOWERCASE };
typedef struct {
    int type;
    char *a, *b; /* prepend: a; replace: a -> b */
    size_t an, bn;
    int left, right; /* Strip: strip_left, strip_right */
} llava__tok_norm;

enum { LLAVA__PRE_METASPACE, LLAVA__PRE_BYTELEVEL, LLAVA__PRE_SPLIT, LLAVA__PRE_DIGITS };
enum { LLAVA__SCHEME_ALWAYS, LLAVA__SCHEME_FIRST, LLAVA__SCHEME_NEVER };
enum { LLAVA__PAT_GPT2, LLAVA__PAT_LLAMA3, LLAVA__PAT_QWEN2 };
typedef struct {
    int type;
    char rep[8];  /* Metaspace replacement character, UTF-8 */
    int rep_n, scheme, split;
    int add_prefix_space, use_regex; /* ByteLevel */
    int pattern;                     /* Split */
    int individual;                  /* Digits: each digit its own piece (else runs of digits) */
} llava__tok_pre;

enum { LLAVA__DEC_REPLACE, LLAVA__DEC_BYTEFALLBACK, LLAVA__DEC_FUSE, LLAVA__DEC_STRIP, LLAVA__DEC_METASPACE, LLAVA__DEC_BYTELEVEL };
typedef struct {
    int type;
    char *a, *b; /* Replace a -> b */
    size_t an, bn;
    uint32_t ch; /* Strip's character, Metaspace's replacement */
    int start, stop, scheme;
} llava__tok_dec;

typedef struct {
    char *content;
    size_t len;
    char *norm; /* content as the normalizer writes it (matched in normalized text when normalized) */
    size_t norm_len;
    int id;
    unsigned char special, lstrip, rstrip, single_word, normalized;
} llava__tok_added;

/* added tokens of one kind (normalized or not), ordered for leftmost-longest matching */
typedef struct {
    int *idx;        /* [n] indices into added, by first byte, longest first */
    int start[257];  /* idx[start[c]..start[c+1]) begin with byte c */
    int n;
} llava__tok_aset;

struct LlavaTokenizer {
    /* BPE model (tokenizers/src/models/bpe/model.rs) */
    int n_model;            /* model.vocab entries: ids 0..n_model-1 */
    LlavaStrMap vocab;  /* token string -> id */
    llava__tok_pmap merges; /* (left id, right id) -> (rank, merged id) */
    int byte_level;         /* vocabulary spelled in ByteLevel's byte-to-character map */
    int byte_id[256];       /* id standing for each byte: <0xNN> (byte fallback) or ByteLevel's char */
    int byte_fallback, fuse_unk, ignore_merges, unk_model;
    /* ids */
    int n_vocab;            /* largest id + 1 */
    int *ent_of_id;         /* [n_vocab] vocab entry of an id, or -1 */
    int *added_of_id;       /* [n_vocab] index into added, or -1 */
    llava__tok_added *added;
    int n_added;
    llava__tok_aset raw_set, norm_set;
    /* pipeline */
    llava__tok_norm *norm;
    int n_norm;
    llava__tok_pre *pre;
    int n_pre;
    llava__tok_dec *dec;
    int n_dec, has_decoder;
    llava__tok_ints pre_ids, post_ids; /* special tokens around a sequence */
    int bos, eos, pad, unk;
    struct llava__spm *spm; /* a SentencePiece tokenizer.model (see "SentencePiece tokenizer.model" below), else NULL */
};
/* SentencePiece tokenizer.model: defined after the streaming decoder */
struct llava__spm;
static void llava__spm_free(struct llava__spm *s);
static LlavaTokenizer *llava__spm_load(const char *model_path, const char *dir);

/* GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to U+0100 and up */
static uint32_t llava__tok_bl_char(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
    int n = 0, x;
    for (x = 0; x < b; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) n++;
    return 256u + (uint32_t)n;
}
static int llava__tok_bl_byte(uint32_t cp) { /* inverse, -1 if cp is not one of the 256 */
    if ((cp >= '!' && cp <= '~') || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return (int)cp;
    if (cp < 256 || cp >= 256 + 68) return -1;
    int n = 0, x;
    for (x = 0; x < 256; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) {
            if (256u + (uint32_t)n == cp) return x;
            n++;
        }
    return -1;
}

LLAVADEF void llava_tokenizer_free(LlavaTokenizer *t) {
    int i;
    if (!t) return;
    llava_strmap_free(&t->vocab);
    llava__tok_pmap_free(&t->merges);
    LLAVA_FREE(t->ent_of_id);
    LLAVA_FREE(t->added_of_id);
    for (i = 0; i < t->n_added; i++) {
        LLAVA_FREE(t->added[i].content);
        LLAVA_FREE(t->added[i].norm);
    }
    LLAVA_FREE(t->added);
    LLAVA_FREE(t->raw_set.idx);
    LLAVA_FREE(t->norm_set.idx);
    for (i = 0; i < t->n_norm; i++) {
        LLAVA_FREE(t->norm[i].a);
        LLAVA_FREE(t->norm[i].b);
    }
    LLAVA_FREE(t->norm);
    LLAVA_FREE(t->pre);
    for (i = 0; i < t->n_dec; i++) {
        LLAVA_FREE(t->dec[i].a);
        LLAVA_FREE(t->dec[i].b);
    }
    LLAVA_FREE(t->dec);
    LLAVA_FREE(t->pre_ids.p);
    LLAVA_FREE(t->post_ids.p);
    llava__spm_free(t->spm);
    LLAVA_FREE(t);
}

static const char *llava__tok_jstr(const LlavaJson *j, const LlavaJsonNode *o, const char *key) {
    const LlavaJsonNode *x = llava_json_get(j, o, key);
    return x && x->type == LLAVA_JSON_STR ? x->str : NULL;
}
static int llava__tok_jbool(const LlavaJson *j, const LlavaJsonNode *o, const char *key, int def) {
    const LlavaJsonNode *x = llava_json_get(j, o, key);
    return x && (x->type == LLAVA_JSON_BOOL || x->type == LLAVA_JSON_NUM) ? x->num != 0 : def;
}
static int llava__tok_is_int(const LlavaJsonNode *x, double lo, double hi) {
    /* the range first: converting a double outside long long's range (or NaN) is undefined */
    return x && x->type == LLAVA_JSON_NUM && x->num >= lo && x->num <= hi && x->num == (double)(long long)x->num;
}

/* id -> token string (added tokens first, as tokenizers' id_to_token does; a normalized added token
   in its normalized spelling, as AddedVocabulary::simple_id_to_token gives it to the decoder) */
static const char *llava__tok_id_str(const LlavaTokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    if (t->added_of_id[id] >= 0) {
        const llava__tok_added *a = &t->added[t->added_of_id[id]];
        if (a->normalized && a->norm) {
            *len = a->norm_len;
            return a->norm;
        }
        *len = a->len;
        return a->content;
    }
    int e = t->ent_of_id[id];
    if (e < 0) return NULL;
    *len = t->vocab.klen[e];
    return t->vocab.keys.p + t->vocab.koff[e];
}

/* Strip (NormalizedString::lrstrip: White_Space at either end) and StripAccents (filter of the marks,
   is_combining_mark of Unicode 9.0.0): the characters kept keep their offsets; the end's offset becomes
   the one after the last character kept, where a token that ends there is aligned to */
static int llava__tok_is_mark9(uint32_t cp) {
    return cp >= 0x300 && (llava__tok_in(llava__tok_uc_mark, LLAVA__TOK_NR(llava__tok_uc_mark), cp) ^
                           llava__tok_in(llava__tok_uc_mark_diff9, LLAVA__TOK_NR(llava__tok_uc_mark_diff9), cp));
}
static int llava__tok_next_in(const char *s, size_t n, uint32_t *cp) { /* a byte that starts no valid character is one */
    int l = llava__tok_utf8_valid((const unsigned char *)s, n);
    if (!l) {
        *cp = 0xFFFD;
        return 1;
    }
    return llava__tok_utf8_next(s, cp);
}
static void llava__tok_norm_drop(const llava__tok_norm *nm, const char *s, size_t n, const int *o, LlavaBuf *out, llava__tok_ints *oo) {
    size_t i, a = 0, b = n, last = n;
    if (nm->type == LLAVA__NORM_STRIP) {
        uint32_t cp;
        while (nm->left && a < n) { /* leading White_Space */
            int l = llava__tok_next_in(s + a, n - a, &cp);
            if (!llava__tok_is_space(cp)) break;
            a += (size_t)l;
        }
        while (nm->right && b > a) { /* trailing */
            size_t q = b - 1;
            while (q > a && ((unsigned char)s[q] & 0xC0) == 0x80) q--;
            if (llava__tok_next_in(s + q, b - q, &cp) != (int)(b - q) || !llava__tok_is_space(cp)) break;
            b = q;
        }
        if (a >= b) { /* nothing kept */
            llava__tok_ipush(oo, o[n]);
            return;
        }
        llava_buf_put(out, s + a, b - a);
        for (i = a; i <= b; i++) llava__tok_ipush(oo, o[i]);
        return;
    }
    for (i = 0; i < n;) { /* StripAccents */
        uint32_t cp;
        int l = llava__tok_next_in(s + i, n - i, &cp), k;
        if (!llava__tok_is_mark9(cp)) {
            llava_buf_put(out, s + i, (size_t)l);
            for (k = 0; k < l; k++) llava__tok_ipush(oo, o[i + (size_t)k]);
            last = i + (size_t)l;
        }
        i += (size_t)l;
    }
    llava__tok_ipush(oo, out->n ? o[last] : o[n]);
}

/* Rust's char::to_lowercase (tokenizers' Lowercase, NormalizedString::lowercase): writes 1 or 2 characters */
static int llava__tok_lower(uint32_t cp, uint32_t *out) {
    int lo = 0, hi = LLAVA__TOK_NR(llava__tok_uc_lower) - 1;
    out[0] = cp;
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') out[0] = cp + 32;
        return 1;
    }
    if (cp == 0x130) { /* capital I with dot above: i + combining dot above */
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const int32_t *r = llava__tok_uc_lower[mid];
        if ((int64_t)cp < r[0]) hi = mid - 1;
        else if ((int64_t)cp > r[1]) lo = mid + 1;
        else {
            if (((int32_t)cp - r[0]) % r[3] == 0) out[0] = (uint32_t)((int32_t)cp + r[2]);
            break;
        }
    }
    return 1;
}
/* each character's lowercase replaces it (keeping its byte offsets when of the same length, else all
   at its start); a second character is inserted with the offset of the first, as transform does */
static void llava__tok_norm_lower(const char *s, size_t n, const int *o, LlavaBuf *out, llava__tok_ints *oo) {
    size_t i, k;
    for (i = 0; i < n;) {
        uint32_t cp, lc[2];
        int l = llava__tok_next_in(s + i, n - i, &cp), m = llava__tok_lower(cp, lc), q;
        if (cp == 0xFFFD && l == 1 && (unsigned char)s[i] >= 0x80) lc[0] = 0, m = 0; /* not reached: invalid byte kept */
        if (!m) {
            llava_buf_put(out, s + i, 1);
            llava__tok_ipush(oo, o[i]);
        }
        for (q = 0; q < m; q++) {
            char u[4];
            int len = llava__tok_utf8_put(u, lc[q]);
            llava_buf_put(out, u, (size_t)len);
            for (k = 0; k < (size_t)len; k++) llava__tok_ipush(oo, q == 0 && len == l ? o[i + k] : o[i]);
        }
        i += (size_t)l;
    }
    llava__tok_ipush(oo, o[n]);
}

/* normalizer: in[n] with original offsets o[n+1] -> out with offsets (o[n] is the end's offset) */
static void llava__tok_normalize(const LlavaTokenizer *t, const char *in, const int *o, size_t n, LlavaBuf *out, llava__tok_ints *oo) {
    LlavaBuf a, tmp;
    llava__tok_ints ao, tmpo;
    size_t i;
    int k;
    memset(&a, 0, sizeof a);
    memset(&ao, 0, sizeof ao);
    llava_buf_put(&a, in, n);
    for (i = 0; i <= n; i++) llava__tok_ipush(&ao, o[i]);
    for (k = 0; k < t->n_norm; k++) {
        const llava__tok_norm *nm = &t->norm[k];
        memset(&tmp, 0, sizeof tmp);
        memset(&tmpo, 0, sizeof tmpo);
        if (nm->type == LLAVA__NORM_PREPEND) {
            if (a.n) { /* tokenizers: nothing is prepended to an empty string */
                llava_buf_put(&tmp, nm->a, nm->an);
                for (i = 0; i < nm->an; i++) llava__tok_ipush(&tmpo, ao.p[0]);
            }
            llava_buf_put(&tmp, a.p ? a.p : "", a.n);
            for (i = 0; i <= a.n; i++) llava__tok_ipush(&tmpo, ao.p[i]);
        } else if (nm->type == LLAVA__NORM_LOWERCASE) {
            if (a.oom || ao.oom || !ao.p) tmp.oom = tmpo.oom = 1;
            else llava__tok_norm_lower(a.p ? a.p : "", a.n, ao.p, &tmp, &tmpo);
        } else if (nm->type == LLAVA__NORM_STRIP || nm->type == LLAVA__NORM_STRIP_ACCENTS) {
            if (a.oom || ao.oom || !ao.p) tmp.oom = tmpo.oom = 1;
            else llava__tok_norm_drop(nm, a.p ? a.p : "", a.n, ao.p, &tmp, &tmpo);
        } else if (nm->type >= LLAVA__NORM_NFD && nm->type <= LLAVA__NORM_NFKC) {
            if (a.oom || ao.oom || !ao.p ||
                llava__tok_unorm(a.p ? a.p : "", a.n, ao.p, nm->type == LLAVA__NORM_NFKD || nm->type == LLAVA__NORM_NFKC,
                                 nm->type == LLAVA__NORM_NFC || nm->type == LLAVA__NORM_NFKC, &tmp, &tmpo))
                tmp.oom = tmpo.oom = 1;
        } else {
            for (i = 0; i < a.n;) {
                if (nm->an && i + nm->an <= a.n && !memcmp(a.p + i, nm->a, nm->an)) {
                    size_t q;
                    llava_buf_put(&tmp, nm->b, nm->bn);
                    for (q = 0; q < nm->bn; q++) llava__tok_ipush(&tmpo, ao.p[i]);
                    i += nm->an;
                } else {
                    llava_buf_put(&tmp, a.p + i, 1);
                    llava__tok_ipush(&tmpo, ao.p[i]);
                    i++;
                }
            }
            llava__tok_ipush(&tmpo, ao.p[a.n]);
        }
        LLAVA_FREE(a.p);
        LLAVA_FREE(ao.p);
        a = tmp;
        ao = tmpo;
    }
    *out = a;
    *oo = ao;
    if (!out->p) llava_buf_put(out, "", 0);
}

static int llava__tok_aset_cmp_len(const LlavaTokenizer *t, int x, int y, int norm) {
    const llava__tok_added *a = &t->added[x], *b = &t->added[y];
    const char *sa = norm ? a->norm : a->content, *sb = norm ? b->norm : b->content;
    size_t la = norm ? a->norm_len : a->len, lb = norm ? b->norm_len : b->len;
    if ((unsigned char)sa[0] != (unsigned char)sb[0]) return (unsigned char)sa[0] < (unsigned char)sb[0] ? -1 : 1;
    if (la != lb) return la > lb ? -1 : 1;
    return x < y ? -1 : (x > y);
}
static int llava__tok_build_aset(LlavaTokenizer *t, llava__tok_aset *s, int norm) {
    int i, j, n = 0;
    s->idx = (int *)LLAVA_MALLOC((size_t)(t->n_added + 1) * sizeof(int));
    if (!s->idx) return -1;
    for (i = 0; i < t->n_added; i++)
        if (t->added[i].normalized == norm && (norm ? t->added[i].norm_len : t->added[i].len) > 0) s->idx[n++] = i;
    for (i = 1; i < n; i++) { /* insertion sort: few added tokens */
        int v = s->idx[i];
        for (j = i - 1; j >= 0 && llava__tok_aset_cmp_len(t, s->idx[j], v, norm) > 0; j--) s->idx[j + 1] = s->idx[j];
        s->idx[j + 1] = v;
    }
    s->n = n;
    for (i = 0, j = 0; i <= 256; i++) {
        while (j < n && (unsigned char)(norm ? t->added[s->idx[j]].norm : t->added[s->idx[j]].content)[0] < i) j++;
        s->start[i] = j;
    }
    return 0;
}

/* the Split patterns tokenizer.json files spell, by LLAVA__PAT_ */
static const char *const llava__tok_patterns[3] = {
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
static int llava__tok_pattern_of(const char *re) {
    int i;
    for (i = 0; i < 3; i++)
        if (!strcmp(re, llava__tok_patterns[i])) return i;
    return -1;
}

static int llava__tok_load_norm(LlavaTokenizer *t, const LlavaJson *j, const LlavaJsonNode *x, const char *path) {
    if (!x || x->type == LLAVA_JSON_NULL) return 0;
    const char *type = llava__tok_jstr(j, x, "type");
    if (!type) return llava__err("%s: normalizer without a type", path);
    if (!strcmp(type, "Sequence")) {
        const LlavaJsonNode *c;
        for (c = llava_json_first(j, llava_json_get(j, x, "normalizers")); c; c = llava_json_next(j, c))
            if (llava__tok_load_norm(t, j, c, path)) return -1;
        return 0;
    }
    llava__tok_norm nm;
    memset(&nm, 0, sizeof nm);
    if (!strcmp(type, "Prepend")) {
        const char *p = llava__tok_jstr(j, x, "prepend");
        if (!p) return llava__err("%s: Prepend normalizer without 'prepend'", path);
        nm.type = LLAVA__NORM_PREPEND;
        nm.a = llava__strdup(p);
        nm.an = strlen(p);
    } else if (!strcmp(type, "Replace")) {
        const char *pat = llava__tok_jstr(j, llava_json_get(j, x, "pattern"), "String"), *content = llava__tok_jstr(j, x, "content");
        if (!pat || !content) return llava__err("%s: Replace normalizer: only a String pattern and a content are supported", path);
        nm.type = LLAVA__NORM_REPLACE;
        nm.a = llava__strdup(pat);
        nm.an = strlen(pat);
        nm.b = llava__strdup(content);
        nm.bn = strlen(content);
    } else if (!strcmp(type, "NFD") || !strcmp(type, "NFKD") || !strcmp(type, "NFC") || !strcmp(type, "NFKC")) {
        nm.type = !strcmp(type, "NFD") ? LLAVA__NORM_NFD : !strcmp(type, "NFKD") ? LLAVA__NORM_NFKD : !strcmp(type, "NFC") ? LLAVA__NORM_NFC : LLAVA__NORM_NFKC;
    } else if (!strcmp(type, "Strip")) {
        nm.type = LLAVA__NORM_STRIP;
        nm.left = llava__tok_jbool(j, x, "strip_left", 1);
        nm.right = llava__tok_jbool(j, x, "strip_right", 1);
    } else if (!strcmp(type, "StripAccents")) {
        nm.type = LLAVA__NORM_STRIP_ACCENTS;
    } else if (!strcmp(type, "Lowercase")) {
        nm.type = LLAVA__NORM_LOWERCASE;
    } else {
        return llava__err("%s: normalizer '%s' is not supported (supported: Sequence, Prepend, Replace, NFD, NFKD, NFC, NFKC, Strip, StripAccents, "
                          "Lowercase)",
                          path, type);
    }
    llava__tok_norm *nn = (llava__tok_norm *)LLAVA_REALLOC(t->norm, (size_t)(t->n_norm + 1) * sizeof *nn);
    if (!nn || ((nm.type == LLAVA__NORM_PREPEND || nm.type == LLAVA__NORM_REPLACE) && !nm.a) || (nm.type == LLAVA__NORM_REPLACE && !nm.b)) {
        LLAVA_FREE(nm.a);
        LLAVA_FREE(nm.b);
        if (nn) t->norm = nn;
        return llava__err("%s: out of memory", path);
    }
    t->norm = nn;
    t->norm[t->n_norm++] = nm;
    return 0;
}

static int llava__tok_scheme(const LlavaJson *j, const LlavaJsonNode *x) {
    const char *s = llava__tok_jstr(j, x, "prepend_scheme");
    if (s) return !strcmp(s, "first") ? LLAVA__SCHEME_FIRST : !strcmp(s, "never") ? LLAVA__SCHEME_NEVER : LLAVA__SCHEME_ALWAYS;
    /* older files: add_prefix_space */
    return llava__tok_jbool(j, x, "add_prefix_space", 1) ? LLAVA__SCHEME_ALWAYS : LLAVA__SCHEME_NEVER;
}

static int llava__tok_load_pre(LlavaTokenizer *t, const LlavaJson *j, const LlavaJsonNode *x, const char *path) {
    if (!x || x->type == LLAVA_JSON_NULL) return 0;
    const char *type = llava__tok_jstr(j, x, "type");
    if (!type) return llava__err("%s: pre_tokenizer without a type", path);
    if (!strcmp(type, "Sequence")) {
        const LlavaJsonNode *c;
        for (c = llava_json_first(j, llava_json_get(j, x, "pretokenizers")); c; c = llava_json_next(j, c))
            if (llava__tok_load_pre(t, j, c, path)) return -1;
        return 0;
    }
    llava__tok_pre p;
    memset(&p, 0, sizeof p);
    if (!strcmp(type, "Metaspace")) {
        const char *rep = llava__tok_jstr(j, x, "replacement");
        if (!rep) rep = "\xe2\x96\x81";
        if (!rep[0] || strlen(rep) >= sizeof p.rep) return llava__err("%s: Metaspace replacement '%s' is not one character", path, rep);
        p.type = LLAVA__PRE_METASPACE;
        strcpy(p.rep, rep);
        p.rep_n = (int)strlen(rep);
        p.scheme = llava__tok_scheme(j, x);
        p.split = llava__tok_jbool(j, x, "split", 1);
    } else if (!strcmp(type, "ByteLevel")) {
        p.type = LLAVA__PRE_BYTELEVEL;
        p.add_prefix_space = llava__tok_jbool(j, x, "add_prefix_space", 1);
        p.use_regex = llava__tok_jbool(j, x, "use_regex", 1);
    } else if (!strcmp(type, "Split")) {
        const char *re = llava__tok_jstr(j, llava_json_get(j, x, "pattern"), "Regex");
        const char *beh = llava__tok_jstr(j, x, "behavior");
        p.type = LLAVA__PRE_SPLIT;
        p.pattern = re ? llava__tok_pattern_of(re) : -1;
        if (p.pattern < 0)
            return llava__err("%s: Split pattern %s%s%s is not supported (supported: the GPT-2, LLaMA-3 and Qwen2 patterns)", path,
                              re ? "'" : "", re ? re : "(not a Regex)", re ? "'" : "");
        if (!beh || strcmp(beh, "Isolated") || llava__tok_jbool(j, x, "invert", 0))
            return llava__err("%s: Split pre-tokenizer: only behavior Isolated without invert is supported", path);
    } else if (!strcmp(type, "Digits")) {
        p.type = LLAVA__PRE_DIGITS;
        p.individual = llava__tok_jbool(j, x, "individual_digits", 0);
    } else {
        return llava__err("%s: pre_tokenizer '%s' is not supported (supported: Sequence, Metaspace, ByteLevel, Split, Digits)", path, type);
    }
    llava__tok_pre *np = (llava__tok_pre *)LLAVA_REALLOC(t->pre, (size_t)(t->n_pre + 1) * sizeof *np);
    if (!np) return llava__err("%s: out of memory", path);
    t->pre = np;
    t->pre[t->n_pre++] = p;
    return 0;
}

static int llava__tok_load_dec(LlavaTokenizer *t, const LlavaJson *j, const LlavaJsonNode *x, const char *path) {
    if (!x || x->type == LLAVA_JSON_NULL) return 0;
    const char *type = llava__tok_jstr(j, x, "type");
    if (!type) return llava__err("%s: decoder without a type", path);
    t->has_decoder = 1;
    if (!strcmp(type, "Sequence")) {
        const LlavaJsonNode *c;
        for (c = llava_json_first(j, llava_json_get(j, x, "decoders")); c; c = llava_json_next(j, c))
            if (llava__tok_load_dec(t, j, c, path)) return -1;
        return 0;
    }
    llava__tok_dec d;
    memset(&d, 0, sizeof d);
    if (!strcmp(type, "Replace")) {
        const char *pat = llava__tok_jstr(j, llava_json_get(j, x, "pattern"), "String"), *content = llava__tok_jstr(j, x, "content");
        if (!pat || !content) return llava__err("%s: Replace decoder: only a String pattern and a content are supported", path);
        d.type = LLAVA__DEC_REPLACE;
        d.a = llava__strdup(pat);
        d.an = strlen(pat);
        d.b = llava__strdup(content);
        d.bn = strlen(content);
        if (!d.a || !d.b) {
            LLAVA_FREE(d.a);
            LLAVA_FREE(d.b);
            return llava__err("%s: out of memory", path);
        }
    } else if (!strcmp(type, "ByteFallback")) {
        d.type = LLAVA__DEC_BYTEFALLBACK;
    } else if (!strcmp(type, "Fuse")) {
        d.type = LLAVA__DEC_FUSE;
    } else if (!strcmp(type, "Strip")) {
        const char *c = llava__tok_jstr(j, x, "content");
        const LlavaJsonNode *a = llava_json_get(j, x, "start"), *b = llava_json_get(j, x, "stop");
        if (!c || !llava__tok_is_int(a, 0, 1e6) || !llava__tok_is_int(b, 0, 1e6)) return llava__err("%s: Strip decoder needs content, start, stop", path);
        d.type = LLAVA__DEC_STRIP;
        d.ch = llava__tok_first_cp(c, strlen(c));
        d.start = (int)a->num;
        d.stop = (int)b->num;
    } else if (!strcmp(type, "Metaspace")) {
        const char *rep = llava__tok_jstr(j, x, "replacement");
        d.type = LLAVA__DEC_METASPACE;
        d.ch = rep ? llava__tok_first_cp(rep, strlen(rep)) : 0x2581;
        d.scheme = llava__tok_scheme(j, x);
    } else if (!strcmp(type, "ByteLevel")) {
        d.type = LLAVA__DEC_BYTELEVEL;
    } else {
        return llava__err("%s: decoder '%s' is not supported (supported: Sequence, Replace, ByteFallback, Fuse, Strip, Metaspace, ByteLevel)", path, type);
    }
    llava__tok_dec *nd = (llava__tok_dec *)LLAVA_REALLOC(t->dec, (size_t)(t->n_dec + 1) * sizeof *nd);
    if (!nd) {
        LLAVA_FREE(d.a);
        LLAVA_FREE(d.b);
        return llava__err("%s: out of memory", path);
    }
    t->dec = nd;
    t->dec[t->n_dec++] = d;
    return 0;
}

/* the ids a special token name stands for in a TemplateProcessing / Roberta / Bert post-processor */
static int llava__tok_push_special(LlavaTokenizer *t, llava__tok_ints *dst, const LlavaJson *j, const LlavaJsonNode *specials,
                                   const char *name, const char *path) {
    const LlavaJsonNode *sp = llava_json_get(j, specials, name), *ids = llava_json_get(j, sp, "ids"), *c;
    if (!ids) {
        int id = llava_token_id(t, name);
        if (id < 0) return llava__err("%s: post_processor names special token '%s', which is not in the vocabulary", path, name);
        return llava__tok_ipush(dst, id);
    }
    for (c = llava_json_first(j, ids); c; c = llava_json_next(j, c)) {
        if (!llava__tok_is_int(c, 0, t->n_vocab - 1))
            return llava__err("%s: post_processor special token '%s' has an id outside the vocabulary of %d", path, name, t->n_vocab);
        llava__tok_ipush(dst, (int)c->num);
    }
    return 0;
}
static int llava__tok_load_post(LlavaTokenizer *t, const LlavaJson *j, const LlavaJsonNode *x, const char *path) {
    if (!x || x->type == LLAVA_JSON_NULL) return 0;
    const char *type = llava__tok_jstr(j, x, "type");
    if (!type) return llava__err("%s: post_processor without a type", path);
    if (!strcmp(type, "Sequence")) {
        const LlavaJsonNode *c;
        for (c = llava_json_first(j, llava_json_get(j, x, "processors")); c; c = llava_json_next(j, c))
            if (llava__tok_load_post(t, j, c, path)) return -1;
        return 0;
    }
    if (!strcmp(type, "ByteLevel")) return 0; /* only trims offsets */
    /* each processor wraps what the previous ones made: new prefix before, new suffix after */
    llava__tok_ints pre, post;
    memset(&pre, 0, sizeof pre);
    memset(&post, 0, sizeof post);
    int rc = 0;
    size_t i;
    if (!strcmp(type, "TemplateProcessing")) {
        const LlavaJsonNode *single = llava_json_get(j, x, "single"), *specials = llava_json_get(j, x, "special_tokens"), *c;
        int seen_seq = 0;
        if (!single || single->type != LLAVA_JSON_ARR) return llava__err("%s: TemplateProcessing without 'single'", path);
        for (c = llava_json_first(j, single); c && !rc; c = llava_json_next(j, c)) {
            const LlavaJsonNode *st = llava_json_get(j, c, "SpecialToken");
            if (st) {
                const char *name = llava__tok_jstr(j, st, "id");
                if (!name) rc = llava__err("%s: TemplateProcessing SpecialToken without an id", path);
                else rc = llava__tok_push_special(t, seen_seq ? &post : &pre, j, specials, name, path);
            } else if (llava_json_get(j, c, "Sequence")) {
                seen_seq = 1;
            } else {
                rc = llava__err("%s: TemplateProcessing item is neither SpecialToken nor Sequence", path);
            }
        }
    } else if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
        const LlavaJsonNode *cls = llava_json_at(j, llava_json_get(j, x, "cls"), 1), *sep = llava_json_at(j, llava_json_get(j, x, "sep"), 1);
        if (!llava__tok_is_int(cls, 0, t->n_vocab - 1) || !llava__tok_is_int(sep, 0, t->n_vocab - 1))
            return llava__err("%s: %s needs cls and sep ids inside the vocabulary", path, type);
        llava__tok_ipush(&pre, (int)cls->num);
        llava__tok_ipush(&post, (int)sep->num);
    } else {
        return llava__err("%s: post_processor '%s' is not supported (supported: TemplateProcessing, ByteLevel, Roberta, Bert, Sequence)", path, type);
    }
    if (!rc) {
        for (i = 0; i < t->pre_ids.n; i++) llava__tok_ipush(&pre, t->pre_ids.p[i]);
        for (i = 0; i < post.n; i++) llava__tok_ipush(&t->post_ids, post.p[i]);
        LLAVA_FREE(t->pre_ids.p);
        t->pre_ids = pre;
        pre.p = NULL;
        if (t->pre_ids.oom || t->post_ids.oom) rc = llava__err("%s: out of memory", path);
    }
    LLAVA_FREE(pre.p);
    LLAVA_FREE(post.p);
    return rc;
}

static int llava__tok_add_added(LlavaTokenizer *t, const char *content, int id, int special, int lstrip, int rstrip, int single_word,
                                int normalized, const char *path) {
    int i;
    for (i = 0; i < t->n_added; i++) {
        if (t->added[i].id == id) {
            if (strcmp(t->added[i].content, content))
                return llava__err("%s: id %d is given to two added tokens, '%s' and '%s'", path, id, t->added[i].content, content);
            return 0; /* the same token again (tokenizer_config.json repeats tokenizer.json) */
        }
    }
    llava__tok_added *na = (llava__tok_added *)LLAVA_REALLOC(t->added, (size_t)(t->n_added + 1) * sizeof *na);
    if (!na) return llava__err("%s: out of memory", path);
    t->added = na;
    llava__tok_added *a = &t->added[t->n_added];
    memset(a, 0, sizeof *a);
    a->content = llava__strdup(content);
    if (!a->content) return llava__err("%s: out of memory", path);
    a->len = strlen(content);
    a->id = id;
    a->special = (unsigned char)special;
    a->lstrip = (unsigned char)lstrip;
    a->rstrip = (unsigned char)rstrip;
    a->single_word = (unsigned char)single_word;
    a->normalized = (unsigned char)normalized;
    t->n_added++;
    return 0;
}

static int llava__tok_load_added(LlavaTokenizer *t, const LlavaJson *j, const LlavaJsonNode *x, int id, const char *path) {
    const char *content = llava__tok_jstr(j, x, "content");
    if (!content || !content[0]) return llava__err("%s: added token %d has no content", path, id);
    if (id < 0 || id >= (1 << 24)) return llava__err("%s: added token '%s' has id %d, out of range", path, content, id);
    int special = llava__tok_jbool(j, x, "special", 0);
    return llava__tok_add_added(t, content, id, special, llava__tok_jbool(j, x, "lstrip", 0), llava__tok_jbool(j, x, "rstrip", 0),
                                llava__tok_jbool(j, x, "single_word", 0), llava__tok_jbool(j, x, "normalized", !special), path);
}

/* tokenizer_config.json names special tokens as strings or as {"content": ...} objects */
static const char *llava__tok_cfg_token(const LlavaJson *j, const LlavaJsonNode *cfg, const char *key) {
    const LlavaJsonNode *x = llava_json_get(j, cfg, key);
    if (!x) return NULL;
    if (x->type == LLAVA_JSON_STR) return x->str;
    return llava__tok_jstr(j, x, "content");
}

static int llava__tok_load_model(LlavaTokenizer *t, const LlavaJson *j, const LlavaJsonNode *model, const char *path) {
    const char *type = llava__tok_jstr(j, model, "type");
    const LlavaJsonNode *vocab = llava_json_get(j, model, "vocab"), *merges = llava_json_get(j, model, "merges"), *x;
    if (!model || model->type != LLAVA_JSON_OBJ) return llava__err("%s: no 'model' object", path);
    if (type && strcmp(type, "BPE")) return llava__err("%s: model type '%s' is not supported (only BPE)", path, type);
    if (!type && !merges) return llava__err("%s: model has no type and no merges: not a BPE model", path);
    if (!vocab || vocab->type != LLAVA_JSON_OBJ) return llava__err("%s: model.vocab is not an object", path);
    if (merges && merges->type != LLAVA_JSON_ARR) return llava__err("%s: model.merges is not an array", path);
    const char *csp = llava__tok_jstr(j, model, "continuing_subword_prefix"), *ews = llava__tok_jstr(j, model, "end_of_word_suffix");
    if ((csp && csp[0]) || (ews && ews[0])) return llava__err("%s: BPE continuing_subword_prefix / end_of_word_suffix are not supported", path);
    const LlavaJsonNode *drop = llava_json_get(j, model, "dropout");
    if (drop && drop->type == LLAVA_JSON_NUM && drop->num > 0) return llava__err("%s: BPE dropout %g is not supported", path, drop->num);
    t->n_model = vocab->count;
    t->byte_fallback = llava__tok_jbool(j, model, "byte_fallback", 0);
    t->fuse_unk = llava__tok_jbool(j, model, "fuse_unk", 0);
    t->ignore_merges = llava__tok_jbool(j, model, "ignore_merges", 0);
    t->ent_of_id = (int *)LLAVA_MALLOC((size_t)(t->n_model + 1) * sizeof(int));
    if (!t->ent_of_id) return llava__err("%s: out of memory", path);
    int i;
    for (i = 0; i < t->n_model; i++) t->ent_of_id[i] = -1;
    for (x = llava_json_first(j, vocab); x; x = llava_json_next(j, x)) {
        if (!llava__tok_is_int(x, 0, 2147483647.0)) return llava__err("%s: vocab token '%s' has a non-integer id", path, x->key);
        if (x->num >= t->n_model)
            return llava__err("%s: vocab token '%s' has id %.0f, out of range (the vocabulary has %d entries)", path, x->key, x->num, t->n_model);
        int id = (int)x->num;
        if (t->ent_of_id[id] >= 0)
            return llava__err("%s: vocab id %d is given to both '%s' and '%s'", path, id, t->vocab.keys.p + t->vocab.koff[t->ent_of_id[id]], x->key);
        size_t kn = strlen(x->key);
        if (llava_strmap_find(&t->vocab, x->key, kn) >= 0) return llava__err("%s: vocab token '%s' appears twice", path, x->key);
        int e = llava_strmap_put(&t->vocab, x->key, kn, id);
        if (e < 0) return llava__err("%s: out of memory", path);
        t->ent_of_id[id] = e;
    }
    const char *unk = llava__tok_jstr(j, model, "unk_token");
    t->unk_model = -1;
    if (unk) {
        t->unk_model = llava_strmap_get(&t->vocab, unk, strlen(unk));
        if (t->unk_model < 0) return llava__err("%s: unk_token '%s' is not in the vocabulary", path, unk);
    }
    if (llava__tok_pmap_init(&t->merges, merges ? merges->count : 0)) return llava__err("%s: out of memory", path);
    int rank = 0;
    LlavaBuf cat;
    memset(&cat, 0, sizeof cat);
    for (x = llava_json_first(j, merges); x; x = llava_json_next(j, x), rank++) {
        const char *a = NULL, *b = NULL;
        size_t an = 0, bn = 0;
        if (x->type == LLAVA_JSON_STR) { /* "a b": exactly one space, as tokenizers requires */
            const char *sp = strchr(x->str, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                LLAVA_FREE(cat.p);
                return llava__err("%s: merge %d '%s' is not two tokens separated by one space", path, rank, x->str);
            }
            a = x->str;
            an = (size_t)(sp - x->str);
            b = sp + 1;
            bn = strlen(b);
        } else if (x->type == LLAVA_JSON_ARR && x->count == 2 && llava_json_at(j, x, 0)->type == LLAVA_JSON_STR && llava_json_at(j, x, 1)->type == LLAVA_JSON_STR) {
            a = llava_json_at(j, x, 0)->str;
            b = llava_json_at(j, x, 1)->str;
            an = strlen(a);
            bn = strlen(b);
        } else {
            LLAVA_FREE(cat.p);
            return llava__err("%s: merge %d is neither \"a b\" nor [a, b]", path, rank);
        }
        cat.n = 0;
        llava_buf_put(&cat, a, an);
        int ia = llava_strmap_get(&t->vocab, cat.p, an);
        llava_buf_put(&cat, b, bn);
        int ib = llava_strmap_get(&t->vocab, cat.p + an, bn), iab = llava_strmap_get(&t->vocab, cat.p, an + bn);
        if (cat.oom) return llava__err("%s: out of memory", path);
        if (ia < 0 || ib < 0 || iab < 0) {
            llava__err("%s: merge %d ('%.*s' '%.*s') names a token that is not in the vocabulary: '%.*s'", path, rank, (int)an, a, (int)bn, b,
                       ia < 0 ? (int)an : ib < 0 ? (int)bn : (int)(an + bn), ia < 0 ? a : ib < 0 ? b : cat.p);
            LLAVA_FREE(cat.p);
            return -1;
        }
        llava__tok_pmap_put(&t->merges, ia, ib, rank, iab);
    }
    LLAVA_FREE(cat.p);
    return 0;
}

/* --- byte-level BPE from arrays (a GGUF file's tokenizer.ggml.* metadata) ----------------------------
   What llama.cpp's converter (convert_hf_to_gguf.py, get_vocab_base / _set_vocab_gpt2) writes from a
   tokenizer.json: one token per id spelled as the model vocabulary spells it (ByteLevel characters),
   a type per token, the merges as "a b" strings, special ids and add_bos/add_eos flags, and a name for
   the pre-tokenizer (tokenizer.ggml.pre). The tokenizer built here is the one `tokenizers` builds from
   that tokenizer.json: the pre-tokenizer each name stands for in llama.cpp's llama-vocab.cpp, spelled
   as the tokenizer.json of the models that carry the name; CONTROL tokens as special added tokens and
   USER_DEFINED ones as plain added tokens (GGUF keeps no lstrip/rstrip/single_word: they are off). */
#define LLAVA__TOK_MAX_ADDED (1 << 15) /* control + user-defined tokens a GGUF vocabulary may have */
#define LLAVA__TOK_MAX_TOKEN 65536     /* bytes in one token */
enum { LLAVA__BLPRE_GPT2, LLAVA__BLPRE_LLAMA3, LLAVA__BLPRE_QWEN2, LLAVA__BLPRE_SMOLLM };
/* llama.cpp's token types (llama_token_type / gguf.TokenType) */
enum { LLAVA__TT_NORMAL = 1, LLAVA__TT_UNKNOWN = 2, LLAVA__TT_CONTROL = 3, LLAVA__TT_USER = 4, LLAVA__TT_UNUSED = 5, LLAVA__TT_BYTE = 6 };
typedef struct {
    int n_tokens;
    const char *const *tok; /* [n_tokens] token i's bytes, tok_len[i] of them (no NUL needed) */
    const size_t *tok_len;
    const int32_t *type;    /* [n_tokens] LLAVA__TT_*, or NULL: all normal */
    int n_merges;
    const char *const *merge; /* [n_merges] "a b", merge_len[i] bytes */
    const size_t *merge_len;
    int bos, eos, unk, pad;   /* ids, -1 where the file names none */
    int add_bos, add_eos;     /* the post-processor: bos before, eos after a sequence */
    int pre;                  /* LLAVA__BLPRE_* */
    int ignore_merges;        /* a piece that is a token is taken whole (LLaMA-3's BPE) */
} llava__tok_bl_spec;

/* the tokenizer.json pre-tokenizer of each llama.cpp name, as tokenizers runs it */
static int llava__tok_bl_pre(LlavaTokenizer *t, int which, const char *path) {
    llava__tok_pre p[2];
    int n = 0, i;
    memset(p, 0, sizeof p);
    if (which == LLAVA__BLPRE_LLAMA3 || which == LLAVA__BLPRE_QWEN2) { /* Split(pattern, Isolated), ByteLevel without its regex */
        p[n].type = LLAVA__PRE_SPLIT;
        p[n++].pattern = which == LLAVA__BLPRE_LLAMA3 ? LLAVA__PAT_LLAMA3 : LLAVA__PAT_QWEN2;
        p[n++].type = LLAVA__PRE_BYTELEVEL;
    } else {
        if (which == LLAVA__BLPRE_SMOLLM) { /* Digits(individual_digits) before GPT-2's ByteLevel */
            p[n].type = LLAVA__PRE_DIGITS;
            p[n++].individual = 1;
        }
        p[n].type = LLAVA__PRE_BYTELEVEL;
        p[n++].use_regex = 1;
    }
    t->pre = (llava__tok_pre *)LLAVA_MALLOC((size_t)n * sizeof *t->pre);
    t->dec = (llava__tok_dec *)llava__calloc(1, sizeof *t->dec);
    if (!t->pre || !t->dec) return llava__err("%s: out of memory", path);
    for (i = 0; i < n; i++) t->pre[i] = p[i];
    t->n_pre = n;
    t->dec[0].type = LLAVA__DEC_BYTELEVEL;
    t->n_dec = 1;
    t->has_decoder = 1;
    return 0;
}

static int llava__tok_is_valid_utf8(const char *s, size_t n);
static LlavaTokenizer *llava__tok_bl_build(const llava__tok_bl_spec *s, const char *path) {
    LlavaTokenizer *t = (LlavaTokenizer *)llava__calloc(1, sizeof *t);
    LlavaBuf cat;
    int rc = 0, i;
    memset(&cat, 0, sizeof cat);
    if (!t) {
        llava__err("%s: out of memory", path);
        return NULL;
    }
    t->unk_model = -1;
    t->bos = t->eos = t->pad = t->unk = -1;
    if (s->n_tokens <= 0 || s->n_tokens > (1 << 24)) rc = llava__err("%s: %d tokens (expected 1 to %d)", path, s->n_tokens, 1 << 24);
    if (!rc && (s->n_merges < 0 || s->n_merges > (1 << 24))) rc = llava__err("%s: %d merges (expected at most %d)", path, s->n_merges, 1 << 24);
    if (!rc) {
        t->n_model = t->n_vocab = s->n_tokens;
        t->ent_of_id = (int *)LLAVA_MALLOC((size_t)(s->n_tokens + 1) * sizeof(int));
        t->added_of_id = (int *)LLAVA_MALLOC((size_t)(s->n_tokens + 1) * sizeof(int));
        if (!t->ent_of_id || !t->added_of_id) rc = llava__err("%s: out of memory", path);
    }
    /* the model vocabulary: every token but the UNUSED fillers; control and user-defined tokens are
       also added tokens, and are looked up by spelling only where no model token has theirs */
    int n_added = 0;
    for (i = 0; !rc && i < s->n_tokens; i++) {
        int ty = s->type ? s->type[i] : LLAVA__TT_NORMAL;
        if (ty < LLAVA__TT_NORMAL || ty > LLAVA__TT_BYTE) rc = llava__err("%s: token %d has type %d (expected 1 to 6)", path, i, ty);
        n_added += ty == LLAVA__TT_CONTROL || ty == LLAVA__TT_USER;
    }
    /* (the added-token matcher sorts and scans them: a bound keeps a hostile file from making that slow) */
    if (!rc && n_added > LLAVA__TOK_MAX_ADDED) rc = llava__err("%s: %d control and user-defined tokens (at most %d)", path, n_added, LLAVA__TOK_MAX_ADDED);
    if (!rc && n_added && !(t->added = (llava__tok_added *)llava__calloc((size_t)n_added, sizeof *t->added))) rc = llava__err("%s: out of memory", path);
    for (i = 0; !rc && i < s->n_tokens; i++) {
        const char *p = s->tok[i];
        size_t n = s->tok_len[i];
        int ty = s->type ? s->type[i] : LLAVA__TT_NORMAL, added = ty == LLAVA__TT_CONTROL || ty == LLAVA__TT_USER;
        t->ent_of_id[i] = t->added_of_id[i] = -1;
        if ((!p && n) || (n == 0 && ty != LLAVA__TT_UNUSED)) {
            rc = llava__err("%s: token %d is empty", path, i);
            break;
        }
        if (n > LLAVA__TOK_MAX_TOKEN || !llava__tok_is_valid_utf8(p ? p : "", n) || (n && memchr(p, 0, n))) {
            rc = llava__err("%s: token %d is not a UTF-8 string of at most %d bytes without NUL", path, i, LLAVA__TOK_MAX_TOKEN);
            break;
        }
        if (ty == LLAVA__TT_UNUSED) continue;
        int e = llava_strmap_find(&t->vocab, p, n);
        if (e < 0 || !added) {
            if (e >= 0) { /* a model token after an added token of the same spelling: the model's wins */
                int old = t->vocab.val[e];
                int oty = s->type ? s->type[old] : LLAVA__TT_NORMAL;
                if (oty != LLAVA__TT_CONTROL && oty != LLAVA__TT_USER) {
                    rc = llava__err("%s: token %d '%.*s' repeats token %d", path, i, (int)(n > 200 ? 200 : n), p, old);
                    break;
                }
                t->ent_of_id[old] = -1;
            }
            e = llava_strmap_put(&t->vocab, p, n, i);
            if (e < 0) {
                rc = llava__err("%s: out of memory", path);
                break;
            }
            t->ent_of_id[i] = e;
        }
        if (added) { /* ids rise, so no two added tokens share one */
            llava__tok_added *a = &t->added[t->n_added];
            a->content = (char *)LLAVA_MALLOC(n + 1);
            a->norm = (char *)LLAVA_MALLOC(n + 1); /* no normalizer: the normalized spelling is the text */
            if (!a->content || !a->norm) {
                LLAVA_FREE(a->content);
                LLAVA_FREE(a->norm);
                a->content = a->norm = NULL;
                rc = llava__err("%s: out of memory", path);
                break;
            }
            memcpy(a->content, p, n);
            memcpy(a->norm, p, n);
            a->content[n] = a->norm[n] = 0;
            a->len = a->norm_len = n;
            a->id = i;
            a->special = ty == LLAVA__TT_CONTROL;
            a->normalized = ty == LLAVA__TT_USER; /* tokenizers' defaults for special and plain added tokens */
            t->added_of_id[i] = t->n_added++;
        }
    }
    /* merges "a b" -> (rank, merged id), as tokenizers' BPE builder (bpe/model.rs) checks them */
    if (!rc && llava__tok_pmap_init(&t->merges, s->n_merges)) rc = llava__err("%s: out of memory", path);
    for (i = 0; !rc && i < s->n_merges; i++) {
        const char *m = s->merge[i];
        size_t n = s->merge_len[i];
        const char *sp = m ? (const char *)memchr(m, ' ', n) : NULL;
        if (!sp || sp == m || sp + 1 == m + n || memchr(sp + 1, ' ', (size_t)(m + n - sp - 1))) {
            rc = llava__err("%s: merge %d '%.*s' is not two tokens separated by one space", path, i, (int)(n > 200 ? 200 : n), m ? m : "");
            break;
        }
        size_t an = (size_t)(sp - m), bn = n - an - 1;
        cat.n = 0;
        llava_buf_put(&cat, m, an);
        llava_buf_put(&cat, sp + 1, bn);
        if (cat.oom) {
            rc = llava__err("%s: out of memory", path);
            break;
        }
        int ia = llava_strmap_get(&t->vocab, m, an), ib = llava_strmap_get(&t->vocab, sp + 1, bn), iab = llava_strmap_get(&t->vocab, cat.p, an + bn);
        if (ia < 0 || ib < 0 || iab < 0) {
            rc = llava__err("%s: merge %d ('%.*s' '%.*s') names a token that is not in the vocabulary: '%.*s'", path, i, (int)an, m, (int)bn, sp + 1,
                            ia < 0 ? (int)an : ib < 0 ? (int)bn : (int)(an + bn), ia < 0 ? m : ib < 0 ? sp + 1 : cat.p);
            break;
        }
        llava__tok_pmap_put(&t->merges, ia, ib, i, iab);
    }
    LLAVA_FREE(cat.p);
    if (!rc) rc = llava__tok_bl_pre(t, s->pre, path);
    /* special ids and what the post-processor adds */
    {
        const int ids[4] = {s->bos, s->eos, s->unk, s->pad};
        const char *names[4] = {"bos", "eos", "unknown", "padding"};
        for (i = 0; !rc && i < 4; i++)
            if (ids[i] < -1 || ids[i] >= s->n_tokens) rc = llava__err("%s: %s token id %d is outside the vocabulary of %d", path, names[i], ids[i], s->n_tokens);
    }
    if (!rc) {
        t->bos = s->bos;
        t->eos = s->eos;
        t->unk = s->unk;
        t->pad = s->pad;
        t->ignore_merges = s->ignore_merges;
        if (s->add_bos && s->bos < 0) rc = llava__err("%s: add_bos_token is true but there is no bos_token_id", path);
        else if (s->add_eos && s->eos < 0) rc = llava__err("%s: add_eos_token is true but there is no eos_token_id", path);
        if (!rc && s->add_bos) llava__tok_ipush(&t->pre_ids, s->bos);
        if (!rc && s->add_eos) llava__tok_ipush(&t->post_ids, s->eos);
        if (t->pre_ids.oom || t->post_ids.oom) rc = llava__err("%s: out of memory", path);
    }
    /* the ids bytes stand for, the added tokens' lookup */
    if (!rc) {
        t->byte_level = 1;
        for (i = 0; i < 256; i++) {
            char b[4];
            t->byte_id[i] = llava_strmap_get(&t->vocab, b, (size_t)llava__tok_utf8_put(b, llava__tok_bl_char(i)));
        }
        if (!rc && (llava__tok_build_aset(t, &t->raw_set, 0) || llava__tok_build_aset(t, &t->norm_set, 1))) rc = llava__err("%s: out of memory", path);
    }
    if (rc) {
        llava_tokenizer_free(t);
        return NULL;
    }
    return t;
}

/* --- a GGUF file's tokenizer (tokenizer.ggml.*), as llama.cpp's llama-vocab.cpp reads it ------------ */
/* tokenizer.ggml.model "llama" (SentencePiece: scores, byte tokens, add_space_prefix) is built by the
   SentencePiece tokenizer's constructor and tokenized by llama.cpp's rules (llava__spm_from_gguf) */
static LlavaTokenizer *llava__spm_from_gguf(const llava__gguf *g, const char *path);
static LlavaTokenizer *llava__tok_from_gguf_spm(const llava__gguf *g, const char *path) {
    return llava__spm_from_gguf(g, path); /* with the SentencePiece tokenizer, below */
}

/* tokenizer.ggml.pre -> the pre-tokenizer: llama.cpp's names (llama-vocab.cpp) for the pre-tokenizers
   whose tokenizer.json spelling this tokenizer runs. "default" (and a file without the key) is llama.cpp's
   fallback for a pre-tokenizer the converter did not recognize; it is read as GPT-2's ByteLevel, the
   tokenizer.json default of a byte-level BPE (llama.cpp's own "default" regex differs from it). */
static int llava__tok_gguf_pre(const char *s, size_t n, int *ignore_merges, int *add_bos) {
    static const struct {
        const char *name;
        int pre;
    } names[] = {{"default", LLAVA__BLPRE_GPT2},    {"gpt-2", LLAVA__BLPRE_GPT2},       {"llama3", LLAVA__BLPRE_LLAMA3},
                 {"llama-v3", LLAVA__BLPRE_LLAMA3}, {"llama-bpe", LLAVA__BLPRE_LLAMA3}, {"qwen2", LLAVA__BLPRE_QWEN2},
                 {"deepseek-r1-qwen", LLAVA__BLPRE_QWEN2}, {"smollm", LLAVA__BLPRE_SMOLLM}, {"starcoder", LLAVA__BLPRE_SMOLLM}};
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == n && !memcmp(names[i].name, s, n)) {
            /* LLaMA-3's tokenizer.json has ignore_merges and a post-processor that adds <|begin_of_text|>;
               llama.cpp sets the same two for these names (add_bos unless the file says otherwise) */
            *ignore_merges = *add_bos = names[i].pre == LLAVA__BLPRE_LLAMA3;
            return names[i].pre;
        }
    }
    return -1;
}

/* a token id key: absent, -1 or 0xFFFFFFFF (-1 written unsigned) is none (*id = -1) */
static int llava__tok_gguf_id(const llava__gguf *g, const char *key, int *id) {
    int64_t v = -1;
    int r = llava__gguf_int(g, key, &v);
    *id = -1;
    if (r < 0) return -1;
    if (r == 1 && v != -1 && v != 0xFFFFFFFFll) {
        if (v < 0 || v > INT32_MAX) return llava__err("%s: %s = %lld is not a token id", g->path, key, (long long)v);
        *id = (int)v;
    }
    return 0;
}

/* the tokenizer of an opened GGUF file */
static LlavaTokenizer *llava__tok_from_gguf(const llava__gguf *g, const char *path) {
    const char *model = NULL, *pre = NULL;
    size_t model_n = 0, pre_n = 0;
    int r = llava__gguf_str(g, "tokenizer.ggml.model", &model, &model_n);
    if (r < 0) return NULL;
    if (r == 0) {
        llava__err("%s: no tokenizer.ggml.model: the file holds no tokenizer", path);
        return NULL;
    }
    if (model_n == 5 && !memcmp(model, "llama", 5)) return llava__tok_from_gguf_spm(g, path);
    if (model_n != 4 || memcmp(model, "gpt2", 4)) {
        llava__err("%s: tokenizer.ggml.model '%.*s' is not supported (supported: 'gpt2', byte-level BPE)", path, (int)(model_n > 64 ? 64 : model_n), model);
        return NULL;
    }
    llava__tok_bl_spec s;
    memset(&s, 0, sizeof s);
    r = llava__gguf_str(g, "tokenizer.ggml.pre", &pre, &pre_n);
    if (r < 0) return NULL;
    if (r == 0) {
        pre = "default";
        pre_n = 7;
    }
    s.pre = llava__tok_gguf_pre(pre, pre_n, &s.ignore_merges, &s.add_bos);
    if (s.pre < 0) {
        llava__err("%s: tokenizer.ggml.pre '%.*s' is not supported (supported: default, gpt-2, llama3, llama-v3, llama-bpe, qwen2, "
                   "deepseek-r1-qwen, smollm, starcoder)", path, (int)(pre_n > 64 ? 64 : pre_n), pre);
        return NULL;
    }
    const llava__gguf_kv *tokens = NULL, *types = NULL, *merges = NULL;
    if ((r = llava__gguf_arr(g, "tokenizer.ggml.tokens", LLAVA__GGUF_STRING, &tokens)) <= 0) {
        if (r == 0) llava__err("%s: no tokenizer.ggml.tokens", path);
        return NULL;
    }
    if ((r = llava__gguf_arr(g, "tokenizer.ggml.merges", LLAVA__GGUF_STRING, &merges)) <= 0) {
        if (r == 0) llava__err("%s: no tokenizer.ggml.merges (a 'gpt2' tokenizer needs them)", path);
        return NULL;
    }
    if ((r = llava__gguf_arr(g, "tokenizer.ggml.token_type", LLAVA__GGUF_INT32, &types)) < 0) return NULL;
    if (tokens->n == 0 || tokens->n > (1u << 24)) {
        llava__err("%s: tokenizer.ggml.tokens has %llu entries (expected 1 to %d)", path, (unsigned long long)tokens->n, 1 << 24);
        return NULL;
    }
    if (merges->n > (1u << 24)) {
        llava__err("%s: tokenizer.ggml.merges has %llu entries (at most %d)", path, (unsigned long long)merges->n, 1 << 24);
        return NULL;
    }
    if (types && types->n != tokens->n) {
        llava__err("%s: tokenizer.ggml.token_type has %llu entries for %llu tokens", path, (unsigned long long)types->n, (unsigned long long)tokens->n);
        return NULL;
    }
    s.n_tokens = (int)tokens->n;
    s.n_merges = (int)merges->n;
    if (llava__tok_gguf_id(g, "tokenizer.ggml.bos_token_id", &s.bos) || llava__tok_gguf_id(g, "tokenizer.ggml.eos_token_id", &s.eos) ||
        llava__tok_gguf_id(g, "tokenizer.ggml.unknown_token_id", &s.unk) || llava__tok_gguf_id(g, "tokenizer.ggml.padding_token_id", &s.pad))
        return NULL;
    if (llava__gguf_bool(g, "tokenizer.ggml.add_bos_token", &s.add_bos) < 0 || llava__gguf_bool(g, "tokenizer.ggml.add_eos_token", &s.add_eos) < 0)
        return NULL;
    /* the arrays point into the mapped file */
    const char **tok = (const char **)LLAVA_MALLOC((size_t)s.n_tokens * sizeof *tok);
    size_t *tok_len = (size_t *)LLAVA_MALLOC((size_t)s.n_tokens * sizeof *tok_len);
    int32_t *type = types ? (int32_t *)LLAVA_MALLOC((size_t)s.n_tokens * sizeof *type) : NULL;
    const char **mer = (const char **)LLAVA_MALLOC(((size_t)s.n_merges + 1) * sizeof *mer);
    size_t *mer_len = (size_t *)LLAVA_MALLOC(((size_t)s.n_merges + 1) * sizeof *mer_len);
    LlavaTokenizer *t = NULL;
    if (!tok || !tok_len || (types && !type) || !mer || !mer_len) llava__err("%s: out of memory", path);
    else {
        int i;
        for (i = 0; i < s.n_tokens; i++) {
            tok[i] = llava__gguf_arr_str(tokens, (uint64_t)i, &tok_len[i]);
            if (types) {
                int64_t v = llava__gguf_arr_i64(types, (uint64_t)i);
                type[i] = v < 0 || v > 1000 ? 1000 : (int32_t)v; /* out of range either way: the constructor names it */
            }
        }
        for (i = 0; i < s.n_merges; i++) mer[i] = llava__gguf_arr_str(merges, (uint64_t)i, &mer_len[i]);
        s.tok = tok;
        s.tok_len = tok_len;
        s.type = type;
        s.merge = mer;
        s.merge_len = mer_len;
        t = llava__tok_bl_build(&s, path);
    }
    LLAVA_FREE(tok);
    LLAVA_FREE(tok_len);
    LLAVA_FREE(type);
    LLAVA_FREE(mer);
    LLAVA_FREE(mer_len);
    return t;
}

static LlavaTokenizer *llava__tok_load_gguf(const char *path) {
    llava__gguf g;
    memset(&g, 0, sizeof g);
    if (llava__gguf_open(&g, path) != LLAVA_OK) return NULL;
    LlavaTokenizer *t = llava__tok_from_gguf(&g, path);
    llava__gguf_close(&g);
    return t;
}

/* A byte-level BPE GGUF tokenizer ("gpt2") written out as tokenizer.json and tokenizer_config.json in
   dir, the files transformers and tokenizers read, spelling what llava__tok_from_gguf builds from it: the
   vocabulary (every token that is not UNUSED), the merges, CONTROL tokens as special added tokens and
   USER_DEFINED ones as plain added tokens, the pre-tokenizer of tokenizer.ggml.pre (ByteLevel; Digits
   first for smollm; Split with LLaMA-3's or Qwen2's pattern first), the ByteLevel decoder, and the bos
   token a post-processor adds where add_bos_token says so; tokenizer_config.json gets the special tokens'
   names and tokenizer.chat_template. image_id >= 0 adds "<image>" there (the file's next id). */
/* a GGUF vocabulary's added tokens (CONTROL: special; USER_DEFINED: not), then "<image>" as id image_id (the
   vocabulary's next) when it is not negative: tokenizer.json's added_tokens entries, or (keyed)
   tokenizer_config.json's added_tokens_decoder members */
static void llava__gguf_added_json(LlavaBuf *o, const llava__gguf_kv *tokens, const llava__gguf_kv *types, int image_id, int keyed) {
    uint64_t k;
    size_t n = 7;
    int first = 1;
    for (k = 0; k < tokens->n || (k == tokens->n && image_id >= 0); k++) {
        const int img = k == tokens->n;
        const int64_t ty = img ? (int64_t)LLAVA__TT_CONTROL : types ? llava__gguf_arr_i64(types, k) : (int64_t)LLAVA__TT_NORMAL;
        const char *ts = img ? "<image>" : llava__gguf_arr_str(tokens, k, &n);
        if (ty != LLAVA__TT_CONTROL && ty != LLAVA__TT_USER) continue;
        llava_buf_printf(o, keyed ? "%s\n    \"%llu\": {\"content\": " : "%s\n    {\"id\": %llu, \"content\": ", first ? "" : ",", (unsigned long long)k);
        llava_buf_json_string(o, ts, img ? 7 : n);
        llava_buf_printf(o, ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": %s}",
                         ty == LLAVA__TT_CONTROL ? "true" : "false");
        first = 0;
    }
}

/* the writer on an opened GGUF (path names it in errors) */
static int llava__tok_files_from_gguf_g(const llava__gguf *g, const char *path, const char *dir, int image_id) {
    LlavaTokenizer *t = NULL;
    LlavaBuf o;
    const llava__gguf_kv *tokens = NULL, *types = NULL, *merges = NULL;
    const char *model = NULL, *pre = "default", *tmpl = NULL;
    size_t model_n = 0, pre_n = 7, tmpl_n = 0, n;
    int rc = LLAVA_OK, i, which = -1, ig = 0, add_bos = 0, first;
    uint64_t k;
    memset(&o, 0, sizeof o);
    /* what the tokenizer is, checked by building it */
    if (!(t = llava__tok_from_gguf(g, path))) rc = LLAVA_ERR;
    if (rc == LLAVA_OK && (llava__gguf_str(g, "tokenizer.ggml.model", &model, &model_n) != 1 || model_n != 4 || memcmp(model, "gpt2", 4)))
        rc = llava__err("%s: only a byte-level BPE tokenizer (tokenizer.ggml.model gpt2) can be written as tokenizer.json yet", path);
    if (rc == LLAVA_OK && llava__gguf_str(g, "tokenizer.ggml.pre", &pre, &pre_n) < 0) rc = LLAVA_ERR;
    if (rc == LLAVA_OK) which = llava__tok_gguf_pre(pre, pre_n, &ig, &add_bos);
    if (rc == LLAVA_OK && (llava__gguf_bool(g, "tokenizer.ggml.add_bos_token", &add_bos) < 0 || llava__gguf_str(g, "tokenizer.chat_template", &tmpl, &tmpl_n) < 0 ||
                           llava__gguf_arr(g, "tokenizer.ggml.tokens", LLAVA__GGUF_STRING, &tokens) <= 0 ||
                           llava__gguf_arr(g, "tokenizer.ggml.merges", LLAVA__GGUF_STRING, &merges) <= 0 ||
                           llava__gguf_arr(g, "tokenizer.ggml.token_type", LLAVA__GGUF_INT32, &types) < 0))
        rc = LLAVA_ERR;
    if (rc == LLAVA_OK && image_id >= 0 && (uint64_t)image_id != tokens->n)
        rc = llava__err("%s: \"<image>\" would be id %d, the vocabulary has %llu tokens", path, image_id, (unsigned long long)tokens->n);
    if (rc == LLAVA_OK && image_id >= 0 && llava_token_id(t, "<image>") >= 0)
        rc = llava__err("%s: the vocabulary has \"<image>\" already (id %d)", path, llava_token_id(t, "<image>"));
    for (i = 0; rc == LLAVA_OK && i < 4; i++) { /* the special tokens are named by their strings there */
        const int id = i == 0 ? t->bos : i == 1 ? t->eos : i == 2 ? t->unk : t->pad;
        if (id >= 0 && !llava_token_str(t, id))
            rc = llava__err("%s: the %s token, id %d, has no string (an UNUSED filler): tokenizer.json cannot name it", path,
                            i == 0 ? "bos" : i == 1 ? "eos" : i == 2 ? "unknown" : "padding", id);
    }
    if (rc == LLAVA_OK && types) { /* tokenizer.json's ids run without gaps: UNUSED fillers only after the last token */
        uint64_t last = 0, gap = tokens->n;
        for (k = 0; k < tokens->n; k++) {
            if (llava__gguf_arr_i64(types, k) != LLAVA__TT_UNUSED) last = k;
            else if (gap == tokens->n) gap = k;
        }
        if (gap < last)
            rc = llava__err("%s: token %llu is UNUSED (a filler without a string) before token %llu: tokenizer.json's vocabulary would have a gap",
                            path, (unsigned long long)gap, (unsigned long long)last);
    }
    if (rc == LLAVA_OK) { /* tokenizer.json */
        const char *pat = which == LLAVA__BLPRE_LLAMA3 ? llava__tok_patterns[LLAVA__PAT_LLAMA3] : llava__tok_patterns[LLAVA__PAT_QWEN2];
        llava_buf_puts(&o, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [");
        llava__gguf_added_json(&o, tokens, types, image_id, 0);
        llava_buf_puts(&o, "\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": ");
        if (which == LLAVA__BLPRE_LLAMA3 || which == LLAVA__BLPRE_QWEN2) {
            llava_buf_puts(&o, "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": ");
            llava_buf_json_string(&o, pat, strlen(pat));
            llava_buf_puts(&o, "}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
                               "\"trim_offsets\": true, \"use_regex\": false}]}");
        } else {
            llava_buf_puts(&o, which == LLAVA__BLPRE_SMOLLM ? "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": true}, " : "");
            llava_buf_puts(&o, "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}");
            llava_buf_puts(&o, which == LLAVA__BLPRE_SMOLLM ? "]}" : "");
        }
        llava_buf_puts(&o, ",\n  \"post_processor\": ");
        if (add_bos && t->bos >= 0) {
            const char *b = llava_token_str(t, t->bos);
            LlavaBuf q;
            memset(&q, 0, sizeof q);
            llava_buf_json_string(&q, b, strlen(b));
            llava_buf_printf(&o, "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": %s, \"type_id\": 0}}, {\"Sequence\": "
                                 "{\"id\": \"A\", \"type_id\": 0}}], \"pair\": [{\"SpecialToken\": {\"id\": %s, \"type_id\": 0}}, {\"Sequence\": {\"id\": "
                                 "\"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": %s, \"type_id\": 1}}, {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}], "
                                 "\"special_tokens\": {%s: {\"id\": %s, \"ids\": [%d], \"tokens\": [%s]}}}",
                             q.p, q.p, q.p, q.p, q.p, t->bos, q.p);
            if (q.oom) o.oom = 1;
            llava_buf_free(&q);
        } else {
            llava_buf_puts(&o, "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true}");
        }
        llava_buf_printf(&o, ",\n  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n"
                             "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null, "
                             "\"end_of_word_suffix\": null, \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": %s,\n    \"vocab\": {",
                         ig ? "true" : "false");
        for (k = 0, first = 1; k < tokens->n; k++) {
            const char *ts = llava__gguf_arr_str(tokens, k, &n);
            if (types && llava__gguf_arr_i64(types, k) == LLAVA__TT_UNUSED) continue;
            llava_buf_puts(&o, first ? "\n      " : ",\n      ");
            llava_buf_json_string(&o, ts, n);
            llava_buf_printf(&o, ": %llu", (unsigned long long)k);
            first = 0;
        }
        llava_buf_puts(&o, "\n    },\n    \"merges\": [");
        for (k = 0; k < merges->n; k++) {
            const char *ms = llava__gguf_arr_str(merges, k, &n), *sp = (const char *)memchr(ms, ' ', n); /* (checked by the build) */
            llava_buf_puts(&o, k ? ",\n      [" : "\n      [");
            llava_buf_json_string(&o, ms, (size_t)(sp - ms));
            llava_buf_puts(&o, ", ");
            llava_buf_json_string(&o, sp + 1, n - (size_t)(sp - ms) - 1);
            llava_buf_puts(&o, "]");
        }
        llava_buf_puts(&o, "\n    ]\n  }\n}\n");
        char *tp = llava__path_join(dir, "tokenizer.json");
        rc = o.oom || !tp ? llava__err("out of memory writing %s/tokenizer.json", dir) : llava_write_text(tp, o.p);
        LLAVA_FREE(tp);
    }
    if (rc == LLAVA_OK) { /* tokenizer_config.json */
        static const char *const names[4] = {"bos_token", "eos_token", "unk_token", "pad_token"};
        const int ids[4] = {t->bos, t->eos, t->unk, t->pad};
        o.n = 0;
        o.p[0] = 0;
        llava_buf_printf(&o, "{\n  \"tokenizer_class\": \"GPT2Tokenizer\",\n  \"add_bos_token\": %s,\n  \"clean_up_tokenization_spaces\": false,\n"
                             "  \"model_max_length\": 1000000000000000019884624838656", add_bos ? "true" : "false");
        for (i = 0; i < 4; i++)
            if (ids[i] >= 0) {
                const char *b = llava_token_str(t, ids[i]);
                llava_buf_printf(&o, ",\n  \"%s\": ", names[i]);
                llava_buf_json_string(&o, b, strlen(b));
            }
        if (tmpl) llava_buf_puts(&o, ",\n  \"chat_template\": "), llava_buf_json_string(&o, tmpl, tmpl_n);
        llava_buf_puts(&o, ",\n  \"added_tokens_decoder\": {");
        llava__gguf_added_json(&o, tokens, types, image_id, 1);
        llava_buf_puts(&o, "\n  }\n}\n");
        char *cp = llava__path_join(dir, "tokenizer_config.json");
        rc = o.oom || !cp ? llava__err("out of memory writing %s/tokenizer_config.json", dir) : llava_write_text(cp, o.p);
        LLAVA_FREE(cp);
    }
    llava_buf_free(&o);
    llava_tokenizer_free(t);
    return rc;
}

static int llava__tok_files_from_gguf(const char *path, const char *dir, int image_id) {
    llava__gguf g;
    memset(&g, 0, sizeof g);
    if (llava__gguf_open(&g, path) != LLAVA_OK) return LLAVA_ERR;
    const int rc = llava__tok_files_from_gguf_g(&g, path, dir, image_id);
    llava__gguf_close(&g);
    return rc;
}

/* 1 when path is a file that starts with GGUF's magic */
static int llava__tok_is_gguf(const char *path) {
    char m[4];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(m, "GGUF", 4);
}

LLAVADEF LlavaTokenizer *llava_tokenizer_load(const char *dir_or_file) {
    if (llava__tok_is_gguf(dir_or_file)) return llava__tok_load_gguf(dir_or_file); /* a GGUF file's tokenizer.ggml.* */
    char *prev = llava__dir_fallback(dir_or_file); /* a save interrupted between its renames: the previous one */
    if (prev) {
        LlavaTokenizer *r = llava_tokenizer_load(prev);
        LLAVA_FREE(prev);
        return r;
    }
    char *path = llava__path_join(dir_or_file, "tokenizer.json"), *cfg_path = NULL, *text = NULL, *cfg_text = NULL;
    LlavaJson j, cj;
    int rc = 0, i, have_cfg = 0;
    size_t n = 0;
    memset(&j, 0, sizeof j);
    memset(&cj, 0, sizeof cj);
    LlavaTokenizer *t = (LlavaTokenizer *)llava__calloc(1, sizeof *t);
    if (!t || !path) {
        LLAVA_FREE(t);
        LLAVA_FREE(path);
        llava__err("out of memory");
        return NULL;
    }
    if (!llava_file_exists(path)) { /* a SentencePiece tokenizer.model: the directory's, or a .model file */
        char *mp = llava__path_join(dir_or_file, "tokenizer.model");
        size_t dl = strlen(dir_or_file);
        LlavaTokenizer *st = NULL;
        if (!mp) {
            LLAVA_FREE(t);
            LLAVA_FREE(path);
            llava__err("out of memory for the path of %s/tokenizer.model", dir_or_file);
            return NULL;
        }
        int is_spm = mp && llava_file_exists(mp), is_file = !is_spm && dl > 6 && !strcmp(dir_or_file + dl - 6, ".model");
        if (is_spm || is_file) {
            LLAVA_FREE(t);
            LLAVA_FREE(path);
            if (is_spm) st = llava__spm_load(mp, dir_or_file);
            else {
                char *dir = llava__strdup(dir_or_file), *slash = dir ? strrchr(dir, '/') : NULL;
                if (dir && slash) slash[slash == dir ? 1 : 0] = 0;
                st = dir ? llava__spm_load(dir_or_file, slash ? dir : ".") : NULL;
                if (!dir) llava__err("out of memory");
                LLAVA_FREE(dir);
            }
            LLAVA_FREE(mp);
            return st;
        }
        LLAVA_FREE(mp);
    }
    if (!llava_file_exists(path)) { /* a file given directly: tokenizer_config.json beside it */
        LLAVA_FREE(path);
        path = llava__strdup(dir_or_file);
        const char *slash = path ? strrchr(path, '/') : NULL;
        if (path) {
            size_t dn = slash ? (size_t)(slash - path) : 0;
            char *dir = (char *)LLAVA_MALLOC(dn + 2);
            if (dir) {
                if (dn) memcpy(dir, path, dn);
                else dir[dn++] = '.';
                dir[dn] = 0;
                cfg_path = llava__path_join(dir, "tokenizer_config.json");
                LLAVA_FREE(dir);
            }
        }
    } else {
        cfg_path = llava__path_join(dir_or_file, "tokenizer_config.json");
    }
    if (!path || !cfg_path) rc = llava__err("out of memory");
    if (!rc && !(text = llava_read_file(path, LLAVA__LIMIT_JSON, &n))) rc = -1;
    if (!rc && n == 0) rc = llava__err("%s: empty (or a directory without tokenizer.json)", path);
    if (!rc) rc = llava_json_parse(&j, text, n, path);
    const LlavaJsonNode *root = rc ? NULL : &j.nodes[0];
    if (!rc && root->type != LLAVA_JSON_OBJ) rc = llava__err("%s: not a JSON object", path);
    if (!rc) rc = llava__tok_load_model(t, &j, llava_json_get(&j, root, "model"), path);
    /* added tokens: tokenizer.json's, then tokenizer_config.json's added_tokens_decoder */
    t->n_vocab = t->n_model;
    if (!rc) {
        const LlavaJsonNode *x;
        for (x = llava_json_first(&j, llava_json_get(&j, root, "added_tokens")); x && !rc; x = llava_json_next(&j, x)) {
            const LlavaJsonNode *id = llava_json_get(&j, x, "id");
            if (!llava__tok_is_int(id, -2147483648.0, 2147483647.0)) rc = llava__err("%s: added token without an integer id", path);
            else rc = llava__tok_load_added(t, &j, x, (int)id->num, path);
        }
    }
    if (!rc && llava_file_exists(cfg_path)) {
        size_t cn = 0;
        if (!(cfg_text = llava_read_file(cfg_path, LLAVA__LIMIT_JSON, &cn)) || llava_json_parse(&cj, cfg_text, cn, cfg_path)) rc = -1;
        else if (cj.nodes[0].type != LLAVA_JSON_OBJ) rc = llava__err("%s: not a JSON object", cfg_path);
        else have_cfg = 1;
    }
    const LlavaJsonNode *cfg = have_cfg ? &cj.nodes[0] : NULL;
    if (!rc && cfg) {
        const LlavaJsonNode *x;
        for (x = llava_json_first(&cj, llava_json_get(&cj, cfg, "added_tokens_decoder")); x && !rc; x = llava_json_next(&cj, x)) {
            char *end = NULL;
            long id = strtol(x->key, &end, 10);
            if (!x->key[0] || *end || id < 0 || id >= (1 << 24)) rc = llava__err("%s: added_tokens_decoder key '%s' is not an id", cfg_path, x->key);
            else rc = llava__tok_load_added(t, &cj, x, (int)id, cfg_path);
        }
    }
    if (!rc) {
        for (i = 0; i < t->n_added; i++) t->n_vocab = LLAVA__MAX(t->n_vocab, t->added[i].id + 1);
        t->added_of_id = (int *)LLAVA_MALLOC((size_t)(t->n_vocab + 1) * sizeof(int));
        int *eo = (int *)LLAVA_REALLOC(t->ent_of_id, (size_t)(t->n_vocab + 1) * sizeof(int));
        if (eo) t->ent_of_id = eo;
        if (!t->added_of_id || !eo) rc = llava__err("%s: out of memory", path);
        for (i = 0; !rc && i < t->n_vocab; i++) {
            t->added_of_id[i] = -1;
            if (i >= t->n_model) t->ent_of_id[i] = -1;
        }
        for (i = 0; !rc && i < t->n_added; i++) t->added_of_id[t->added[i].id] = i;
    }
    if (!rc) rc = llava__tok_load_norm(t, &j, llava_json_get(&j, root, "normalizer"), path);
    if (!rc) rc = llava__tok_load_pre(t, &j, llava_json_get(&j, root, "pre_tokenizer"), path);
    if (!rc) rc = llava__tok_load_dec(t, &j, llava_json_get(&j, root, "decoder"), path);
    if (!rc) rc = llava__tok_load_post(t, &j, llava_json_get(&j, root, "post_processor"), path);
    /* special token ids */
    t->bos = t->eos = t->pad = -1;
    t->unk = t->unk_model;
    if (!rc && cfg) {
        const char *names[4] = {"bos_token", "eos_token", "pad_token", "unk_token"};
        int *dst[4] = {&t->bos, &t->eos, &t->pad, &t->unk};
        for (i = 0; i < 4 && !rc; i++) {
            const char *s = llava__tok_cfg_token(&cj, cfg, names[i]);
            if (!s) continue;
            *dst[i] = llava_token_id(t, s);
            if (*dst[i] < 0) rc = llava__err("%s: %s '%s' is not in the vocabulary", cfg_path, names[i], s);
        }
        /* transformers' LLaMA-style tokenizers rebuild the post-processor from these two flags */
        const LlavaJsonNode *ab = llava_json_get(&cj, cfg, "add_bos_token"), *ae = llava_json_get(&cj, cfg, "add_eos_token");
        int has_ab = ab && ab->type == LLAVA_JSON_BOOL, has_ae = ae && ae->type == LLAVA_JSON_BOOL;
        if (!rc && (has_ab || has_ae)) {
            t->pre_ids.n = t->post_ids.n = 0;
            if (has_ab && ab->num) {
                if (t->bos < 0) rc = llava__err("%s: add_bos_token is true but there is no bos_token", cfg_path);
                else llava__tok_ipush(&t->pre_ids, t->bos);
            }
            if (!rc && has_ae && ae->num) {
                if (t->eos < 0) rc = llava__err("%s: add_eos_token is true but there is no eos_token", cfg_path);
                else llava__tok_ipush(&t->post_ids, t->eos);
            }
        }
    }
    /* the ids single bytes stand for */
    if (!rc) {
        for (i = 0; i < t->n_pre; i++) t->byte_level |= t->pre[i].type == LLAVA__PRE_BYTELEVEL;
        for (i = 0; i < t->n_dec; i++) t->byte_level |= t->dec[i].type == LLAVA__DEC_BYTELEVEL;
        for (i = 0; i < 256; i++) {
            char s[8];
            int k;
            if (t->byte_level) k = llava__tok_utf8_put(s, llava__tok_bl_char(i));
            else k = snprintf(s, sizeof s, "<0x%02X>", i);
            t->byte_id[i] = t->byte_level || t->byte_fallback ? llava_strmap_get(&t->vocab, s, (size_t)k) : -1;
        }
    }
    /* normalized added tokens are matched in their normalized spelling */
    for (i = 0; !rc && i < t->n_added; i++) {
        llava__tok_added *a = &t->added[i];
        LlavaBuf s;
        llava__tok_ints o;
        int *oz = (int *)llava__calloc(a->len + 1, sizeof(int));
        if (!oz) {
            rc = llava__err("out of memory");
            break;
        }
        llava__tok_normalize(t, a->content, oz, a->len, &s, &o);
        LLAVA_FREE(oz);
        LLAVA_FREE(o.p);
        if (s.oom) rc = llava__err("out of memory");
        a->norm = s.p;
        a->norm_len = s.n;
    }
    if (!rc && (llava__tok_build_aset(t, &t->raw_set, 0) || llava__tok_build_aset(t, &t->norm_set, 1))) rc = llava__err("out of memory");
    llava_json_free(&j);
    llava_json_free(&cj);
    LLAVA_FREE(text);
    LLAVA_FREE(cfg_text);
    LLAVA_FREE(path);
    LLAVA_FREE(cfg_path);
    if (rc) {
        llava_tokenizer_free(t);
        return NULL;
    }
    return t;
}

LLAVADEF int llava_tokenizer_vocab_size(const LlavaTokenizer *t) { return t->n_vocab; }
LLAVADEF int llava_tokenizer_bos(const LlavaTokenizer *t) { return t->bos; }
LLAVADEF int llava_tokenizer_eos(const LlavaTokenizer *t) { return t->eos; }
LLAVADEF int llava_tokenizer_pad(const LlavaTokenizer *t) { return t->pad; }
LLAVADEF int llava_tokenizer_unk(const LlavaTokenizer *t) { return t->unk; }
LLAVADEF int llava_token_id(const LlavaTokenizer *t, const char *s) {
    int i;
    size_t n = strlen(s);
    for (i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && !memcmp(t->added[i].content, s, n)) return t->added[i].id;
    return llava_strmap_get(&t->vocab, s, n);
}
LLAVADEF const char *llava_token_str(const LlavaTokenizer *t, int id) {
    size_t n;
    return llava__tok_id_str(t, id, &n);
}
LLAVADEF int llava_token_is_special(const LlavaTokenizer *t, int id) {
    return id >= 0 && id < t->n_vocab && t->added_of_id[id] >= 0 && t->added[t->added_of_id[id]].special;
}

/* --- encoding ------------------------------------------------------------------------------------ */
/* tokens with the input byte range each came from */
typedef struct {
    llava__tok_ints ids, start, end;
} llava__tok_out;

static void llava__tok_emit(llava__tok_out *out, int id, int s, int e) {
    llava__tok_ipush(&out->ids, id);
    llava__tok_ipush(&out->start, s);
    llava__tok_ipush(&out->end, e);
}

/* pieces of pre-tokenized text: bytes back to back, each byte's input offset, piece bounds */
typedef struct {
    LlavaBuf b;
    llava__tok_ints o, ps, pe, poe; /* poe: input offset where a piece ends */
} llava__tok_pieces;
static void llava__tok_pieces_free(llava__tok_pieces *p) {
    LLAVA_FREE(p->b.p);
    LLAVA_FREE(p->o.p);
    LLAVA_FREE(p->ps.p);
    LLAVA_FREE(p->pe.p);
    LLAVA_FREE(p->poe.p);
    memset(p, 0, sizeof *p);
}
static void llava__tok_pieces_clear(llava__tok_pieces *p) { p->b.n = p->o.n = p->ps.n = p->pe.n = p->poe.n = 0; }
static int llava__tok_pieces_oom(const llava__tok_pieces *p) { return p->b.oom | p->o.oom | p->ps.oom | p->pe.oom | p->poe.oom; }
/* appends a piece s[n] with offsets o[n] (empty pieces are dropped, as tokenizers drops them) */
static void llava__tok_piece(llava__tok_pieces *p, const char *s, const int *o, size_t n, int oend) {
    size_t i;
    if (!n) return;
    llava__tok_ipush(&p->ps, (int)p->b.n);
    llava_buf_put(&p->b, s, n);
    for (i = 0; i < n; i++) llava__tok_ipush(&p->o, o[i]);
    llava__tok_ipush(&p->pe, (int)p->b.n);
    llava__tok_ipush(&p->poe, oend);
}

static int llava__tok_cp(const char *s, size_t n, size_t i, uint32_t *cp) {
    (void)n;
    return llava__tok_utf8_next(s + i, cp);
}
static int llava__tok_class_at(const char *s, size_t n, size_t i) {
    uint32_t c;
    if (i >= n) return -1;
    llava__tok_cp(s, n, i, &c);
    return llava__tok_class(c);
}
static size_t llava__tok_run(const char *s, size_t n, size_t j, int cls) {
    while (j < n) {
        uint32_t c;
        int l = llava__tok_cp(s, n, j, &c);
        if (llava__tok_class(c) != cls) break;
        j += (size_t)l;
    }
    return j;
}
/* The split patterns, hand-compiled. Each returns the end of the match that starts at i (the
   leftmost match always starts at i: every character is matched by some alternative).
   GPT-2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
   LLaMA-3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
   Qwen2:   the same with \p{N} for \p{N}{1,3} */
static size_t llava__tok_re_next(int pat, const char *s, size_t n, size_t i) {
    uint32_t c;
    int l = llava__tok_cp(s, n, i, &c), cls = llava__tok_class(c);
    int cls2 = i + (size_t)l < n ? llava__tok_class_at(s, n, i + (size_t)l) : -1;
    if (c == '\'' && i + 1 < n) { /* contractions */
        char a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
        if (pat != LLAVA__PAT_GPT2) {
            if (a >= 'A' && a <= 'Z') a = (char)(a + 32);
            if (b >= 'A' && b <= 'Z') b = (char)(b + 32);
        }
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
    if (pat == LLAVA__PAT_GPT2) {
        if (cls == LLAVA__UC_L || cls == LLAVA__UC_N || cls == LLAVA__UC_OTHER) return llava__tok_run(s, n, i + (size_t)l, cls);
        if (c == ' ' && cls2 >= 0 && cls2 != LLAVA__UC_S) return llava__tok_run(s, n, i + 1, cls2);
    } else {
        if (cls == LLAVA__UC_L) return llava__tok_run(s, n, i + (size_t)l, cls);
        if (c != '\r' && c != '\n' && cls != LLAVA__UC_N && cls2 == LLAVA__UC_L) return llava__tok_run(s, n, i + (size_t)l, LLAVA__UC_L);
        if (cls == LLAVA__UC_N) {
            size_t j = i + (size_t)l;
            int k;
            for (k = 1; k < (pat == LLAVA__PAT_LLAMA3 ? 3 : 1) && j < n && llava__tok_class_at(s, n, j) == LLAVA__UC_N; k++) {
                uint32_t d;
                j += (size_t)llava__tok_cp(s, n, j, &d);
            }
            return j;
        }
        if (cls == LLAVA__UC_OTHER || (c == ' ' && cls2 == LLAVA__UC_OTHER)) {
            size_t j = llava__tok_run(s, n, cls == LLAVA__UC_OTHER ? i : i + 1, LLAVA__UC_OTHER);
            while (j < n && (s[j] == '\r' || s[j] == '\n')) j++;
            return j;
        }
        /* \s*[\r\n]+ : up to and including the last line break of the whitespace run */
        size_t j = i, brk = 0;
        int found = 0;
        while (j < n) {
            uint32_t d;
            int dl = llava__tok_cp(s, n, j, &d);
            if (!llava__tok_is_space(d)) break;
            if (d == '\r' || d == '\n') {
                brk = j + 1;
                found = 1;
            }
            j += (size_t)dl;
        }
        if (found) return brk;
    }
    /* \s+(?!\S) | \s+ */
    size_t j = i, last = i;
    int count = 0;
    while (j < n) {
        uint32_t d;
        int dl = llava__tok_cp(s, n, j, &d);
        if (!llava__tok_is_space(d)) break;
        last = j;
        j += (size_t)dl;
        count++;
    }
    if (count == 0) return i + (size_t)l; /* not reached: every class is handled above */
    if (j == n || count == 1) return j;
    return last;
}

/* one pre-tokenizer step over every piece of `in`, into `out` */
static void llava__tok_pre_step(const llava__tok_pre *pt, const llava__tok_pieces *in, llava__tok_pieces *out, LlavaBuf *tb, llava__tok_ints *to) {
    size_t k, i;
    for (k = 0; k < in->ps.n; k++) {
        const char *s = in->b.p + in->ps.p[k];
        const int *o = in->o.p + in->ps.p[k];
        size_t n = (size_t)(in->pe.p[k] - in->ps.p[k]);
        int oend = in->poe.p[k];
        tb->n = to->n = 0;
        if (pt->type == LLAVA__PRE_METASPACE) {
            /* tokenizers/src/pre_tokenizers/metaspace.rs: spaces become the replacement, which is
               prepended (always, or only to the piece that starts the input), then split before it */
            int starts = s[0] == ' ' || (n >= (size_t)pt->rep_n && !memcmp(s, pt->rep, (size_t)pt->rep_n)); /* checked after the replacement */
            if (!starts && (pt->scheme == LLAVA__SCHEME_ALWAYS || (pt->scheme == LLAVA__SCHEME_FIRST && o[0] == 0))) {
                llava_buf_put(tb, pt->rep, (size_t)pt->rep_n);
                for (i = 0; i < (size_t)pt->rep_n; i++) llava__tok_ipush(to, o[0]);
            }
            for (i = 0; i < n; i++) {
                if (s[i] == ' ') {
                    size_t q;
                    llava_buf_put(tb, pt->rep, (size_t)pt->rep_n);
                    for (q = 0; q < (size_t)pt->rep_n; q++) llava__tok_ipush(to, o[i]);
                } else {
                    llava_buf_put(tb, s + i, 1);
                    llava__tok_ipush(to, o[i]);
                }
            }
            if (tb->oom || to->oom) return;
            if (!pt->split) {
                llava__tok_piece(out, tb->p, to->p, tb->n, oend);
                continue;
            }
            size_t a = 0;
            for (i = 1; i <= tb->n; i++) {
                if (i == tb->n || (i + (size_t)pt->rep_n <= tb->n && !memcmp(tb->p + i, pt->rep, (size_t)pt->rep_n))) {
                    llava__tok_piece(out, tb->p + a, to->p + a, i - a, i < tb->n ? to->p[i] : oend);
                    a = i;
                }
            }
        } else if (pt->type == LLAVA__PRE_BYTELEVEL) {
            /* tokenizers/src/pre_tokenizers/byte_level.rs: a space in front of every piece that lacks
               one (add_prefix_space), then the GPT-2 split; the byte-to-character map is implicit
               here because the model works on bytes */
            if (pt->add_prefix_space && s[0] != ' ') {
                llava_buf_put(tb, " ", 1);
                llava__tok_ipush(to, o[0]);
            }
            llava_buf_put(tb, s, n);
            for (i = 0; i < n; i++) llava__tok_ipush(to, o[i]);
            if (tb->oom || to->oom) return;
            if (!pt->use_regex) {
                llava__tok_piece(out, tb->p, to->p, tb->n, oend);
                continue;
            }
            for (i = 0; i < tb->n;) {
                size_t e = llava__tok_re_next(LLAVA__PAT_GPT2, tb->p, tb->n, i);
                llava__tok_piece(out, tb->p + i, to->p + i, e - i, e < tb->n ? to->p[e] : oend);
                i = e;
            }
        } else if (pt->type == LLAVA__PRE_DIGITS) {
            /* tokenizers/src/pre_tokenizers/digits.rs: split on char::is_numeric (Nd, Nl, No), each
               digit isolated (individual_digits) or runs of digits kept together (Contiguous); the
               text between digits stays one piece */
            size_t a = 0;
            int prev = -1; /* class of the current piece: 1 digits, 0 other */
            for (i = 0; i < n;) {
                uint32_t c;
                int l = llava__tok_cp(s, n, i, &c), dig = llava__tok_class(c) == LLAVA__UC_N;
                if (i > a && (dig != prev || (dig && pt->individual))) {
                    llava__tok_piece(out, s + a, o + a, i - a, o[i]);
                    a = i;
                }
                prev = dig;
                i += (size_t)l;
            }
            llava__tok_piece(out, s + a, o + a, n - a, oend);
        } else { /* Split, Isolated: every match is a piece */
            for (i = 0; i < n;) {
                size_t e = llava__tok_re_next(pt->pattern, s, n, i);
                llava__tok_piece(out, s + i, o + i, e - i, e < n ? o[e] : oend);
                i = e;
            }
        }
    }
}

/* --- BPE (tokenizers/src/models/bpe/word.rs merge_all): symbols in a linked list, candidate merges
   in a min-heap by (rank, position); a popped merge that no longer matches its pair is stale. */
typedef struct {
    int rank, pos, id;
} llava__tok_merge;
typedef struct {
    int *sid, *sst, *slen, *prev, *next; /* [cap] symbols */
    size_t cap;
    llava__tok_merge *heap;
    size_t hn, hcap;
    LlavaBuf bl; /* ByteLevel spelling of a piece (ignore_merges lookups) */
    int oom;
} llava__tok_bpew;
static void llava__tok_bpew_free(llava__tok_bpew *w) {
    LLAVA_FREE(w->sid);
    LLAVA_FREE(w->sst);
    LLAVA_FREE(w->slen);
    LLAVA_FREE(w->prev);
    LLAVA_FREE(w->next);
    LLAVA_FREE(w->heap);
    LLAVA_FREE(w->bl.p);
    memset(w, 0, sizeof *w);
}
static int llava__tok_bpew_reserve(llava__tok_bpew *w, size_t n) {
    if (n <= w->cap) return 0;
    size_t nc = w->cap ? w->cap : 64;
    while (nc < n) nc *= 2;
    int **arr[5] = {&w->sid, &w->sst, &w->slen, &w->prev, &w->next};
    int k;
    for (k = 0; k < 5; k++) {
        int *p = (int *)LLAVA_REALLOC(*arr[k], nc * sizeof(int));
        if (!p) return w->oom = 1, -1;
        *arr[k] = p;
    }
    llava__tok_merge *h = (llava__tok_merge *)LLAVA_REALLOC(w->heap, nc * sizeof *h);
    if (!h) return w->oom = 1, -1;
    w->heap = h;
    w->cap = w->hcap = nc;
    return 0;
}
static int llava__tok_mless(const llava__tok_merge *a, const llava__tok_merge *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}
static void llava__tok_hpush(llava__tok_bpew *w, llava__tok_merge m) {
    if (w->hn == w->hcap) { /* more merges queued than symbols: grow */
        llava__tok_merge *h = (llava__tok_merge *)LLAVA_REALLOC(w->heap, w->hcap * 2 * sizeof *h);
        if (!h) {
            w->oom = 1;
            return;
        }
        w->heap = h;
        w->hcap *= 2;
    }
    size_t i = w->hn++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!llava__tok_mless(&m, &w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = m;
}
static llava__tok_merge llava__tok_hpop(llava__tok_bpew *w) {
    llava__tok_merge top = w->heap[0], last = w->heap[--w->hn];
    size_t i = 0, n = w->hn;
    while (1) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && llava__tok_mless(&w->heap[c + 1], &w->heap[c])) c++;
        if (!llava__tok_mless(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}
static void llava__tok_sym(llava__tok_bpew *w, int *ns, int id, int st, int len) {
    w->sid[*ns] = id;
    w->sst[*ns] = st;
    w->slen[*ns] = len;
    (*ns)++;
}
/* one piece s[n] (input offsets o[n], oend) -> tokens */
static void llava__tok_bpe(const LlavaTokenizer *t, llava__tok_bpew *w, const char *s, const int *o, size_t n, int oend, llava__tok_out *out) {
    int ns = 0, k;
    if (!n) return;
    if (t->ignore_merges) { /* a piece that is a token as a whole is taken as is */
        int id;
        if (t->byte_level) {
            size_t i;
            w->bl.n = 0;
            for (i = 0; i < n; i++) {
                char u[4];
                llava_buf_put(&w->bl, u, (size_t)llava__tok_utf8_put(u, llava__tok_bl_char((unsigned char)s[i])));
            }
            id = w->bl.oom ? -1 : llava_strmap_get(&t->vocab, w->bl.p, w->bl.n);
        } else {
            id = llava_strmap_get(&t->vocab, s, n);
        }
        if (id >= 0) {
            llava__tok_emit(out, id, o[0], oend);
            return;
        }
    }
    if (llava__tok_bpew_reserve(w, n + 1)) return;
    /* initial symbols: characters (or bytes, for ByteLevel vocabularies); unknown ones become byte
       tokens (byte_fallback) or the unk token (runs of them fused when fuse_unk) */
    int unk_st = -1, unk_len = 0;
    size_t i;
    for (i = 0; i < n;) {
        int l = 1, id;
        if (t->byte_level) id = t->byte_id[(unsigned char)s[i]];
        else {
            uint32_t cp;
            l = llava__tok_utf8_next(s + i, &cp);
            id = llava_strmap_get(&t->vocab, s + i, (size_t)l);
        }
        if (id < 0 && t->byte_fallback && !t->byte_level) {
            int q, all = 1;
            for (q = 0; q < l; q++) all &= t->byte_id[(unsigned char)s[i + q]] >= 0;
            if (all) {
                if (unk_st >= 0) llava__tok_sym(w, &ns, t->unk_model, unk_st, unk_len), unk_st = -1;
                for (q = 0; q < l; q++) llava__tok_sym(w, &ns, t->byte_id[(unsigned char)s[i + q]], (int)i + q, 1);
                i += (size_t)l;
                continue;
            }
        }
        if (id >= 0) {
            if (unk_st >= 0) llava__tok_sym(w, &ns, t->unk_model, unk_st, unk_len), unk_st = -1;
            llava__tok_sym(w, &ns, id, (int)i, l);
        } else if (t->unk_model >= 0) {
            if (unk_st >= 0 && t->fuse_unk) unk_len += l;
            else {
                if (unk_st >= 0) llava__tok_sym(w, &ns, t->unk_model, unk_st, unk_len);
                unk_st = (int)i;
                unk_len = l;
            }
        } /* else: the character is dropped, as tokenizers drops it without an unk token */
        i += (size_t)l;
    }
    if (unk_st >= 0) llava__tok_sym(w, &ns, t->unk_model, unk_st, unk_len);
    for (k = 0; k < ns; k++) {
        w->prev[k] = k - 1;
        w->next[k] = k + 1 < ns ? k + 1 : -1;
    }
    w->hn = 0;
    for (k = 0; k + 1 < ns; k++) {
        llava__tok_merge m;
        m.rank = llava__tok_pmap_get(&t->merges, w->sid[k], w->sid[k + 1], &m.id);
        m.pos = k;
        if (m.rank >= 0) llava__tok_hpush(w, m);
    }
    while (w->hn && !w->oom) {
        llava__tok_merge top = llava__tok_hpop(w), m;
        int p = top.pos, q = w->next[p], id;
        if (w->slen[p] == 0 || q < 0) continue;
        if (llava__tok_pmap_get(&t->merges, w->sid[p], w->sid[q], &id) < 0 || id != top.id) continue; /* stale */
        w->sid[p] = top.id;
        w->slen[p] += w->slen[q];
        w->slen[q] = 0;
        w->next[p] = w->next[q];
        if (w->next[q] >= 0) w->prev[w->next[q]] = p;
        if (w->prev[p] >= 0) {
            m.rank = llava__tok_pmap_get(&t->merges, w->sid[w->prev[p]], w->sid[p], &m.id);
            m.pos = w->prev[p];
            if (m.rank >= 0) llava__tok_hpush(w, m);
        }
        if (w->next[p] >= 0) {
            m.rank = llava__tok_pmap_get(&t->merges, w->sid[p], w->sid[w->next[p]], &m.id);
            m.pos = p;
            if (m.rank >= 0) llava__tok_hpush(w, m);
        }
    }
    for (k = ns ? 0 : -1; k >= 0; k = w->next[k]) {
        size_t e = (size_t)(w->sst[k] + w->slen[k]);
        llava__tok_emit(out, w->sid[k], o[w->sst[k]], e < n ? o[e] : oend);
    }
}

/* tokenizers/src/tokenizer/added_vocabulary.rs find_matches: leftmost-longest matches of the set's
   tokens in s[n], honouring single_word, lstrip and rstrip. Writes (added index or -1, start, end)
   triples covering s. */
static void llava__tok_find_added(const LlavaTokenizer *t, const llava__tok_aset *set, int norm, const char *s, size_t n, llava__tok_ints *m) {
    size_t i = 0, start_offset = 0;
    m->n = 0;
    if (set->n)
        while (i < n) {
            unsigned char c = (unsigned char)s[i];
            int k, found = -1;
            size_t plen = 0;
            for (k = set->start[c]; k < set->start[c + 1]; k++) {
                const llava__tok_added *a = &t->added[set->idx[k]];
                const char *pat = norm ? a->norm : a->content;
                plen = norm ? a->norm_len : a->len;
                if (i + plen <= n && !memcmp(s + i, pat, plen)) {
                    found = set->idx[k];
                    break;
                }
            }
            if (found < 0) {
                i++;
                continue;
            }
            const llava__tok_added *a = &t->added[found];
            size_t ms = i, me = i + plen;
            i = me;
            if (a->single_word) {
                uint32_t before = 0, after = 0;
                if (ms > 0) {
                    size_t b = ms - 1;
                    while (b > 0 && ((unsigned char)s[b] & 0xC0) == 0x80) b--;
                    llava__tok_utf8_next(s + b, &before);
                }
                if (me < n) llava__tok_utf8_next(s + me, &after);
                if ((ms > 0 && llava__tok_is_word(before)) || (me < n && llava__tok_is_word(after))) continue;
            }
            if (a->lstrip) {
                size_t b = ms;
                while (b > 0) {
                    size_t q = b - 1;
                    uint32_t cp;
                    while (q > 0 && ((unsigned char)s[q] & 0xC0) == 0x80) q--;
                    llava__tok_utf8_next(s + q, &cp);
                    if (!llava__tok_is_space(cp)) break;
                    b = q;
                }
                ms = LLAVA__MAX(b, start_offset);
            }
            if (a->rstrip) {
                while (me < n) {
                    uint32_t cp;
                    int l = llava__tok_utf8_next(s + me, &cp);
                    if (!llava__tok_is_space(cp)) break;
                    me += (size_t)l;
                }
                i = me;
            }
            if (start_offset < ms) {
                llava__tok_ipush(m, -1);
                llava__tok_ipush(m, (int)start_offset);
                llava__tok_ipush(m, (int)ms);
            }
            llava__tok_ipush(m, found);
            llava__tok_ipush(m, (int)ms);
            llava__tok_ipush(m, (int)me);
            start_offset = me;
        }
    if (start_offset < n || n == 0) {
        llava__tok_ipush(m, -1);
        llava__tok_ipush(m, (int)start_offset);
        llava__tok_ipush(m, (int)n);
    }
}

typedef struct {
    llava__tok_ints m1, m2, to, oo;
    LlavaBuf tb, nb;
    llava__tok_pieces pa, pb;
    llava__tok_bpew w;
} llava__tok_scratch;
static void llava__tok_scratch_free(llava__tok_scratch *x) {
    LLAVA_FREE(x->m1.p);
    LLAVA_FREE(x->m2.p);
    LLAVA_FREE(x->to.p);
    LLAVA_FREE(x->oo.p);
    LLAVA_FREE(x->tb.p);
    LLAVA_FREE(x->nb.p);
    llava__tok_pieces_free(&x->pa);
    llava__tok_pieces_free(&x->pb);
    llava__tok_bpew_free(&x->w);
}

/* a stretch of input that no raw added token covers: normalize, match normalized added tokens,
   pre-tokenize, run the model */
static void llava__tok_encode_text(const LlavaTokenizer *t, llava__tok_scratch *x, const char *text, size_t a, size_t b, llava__tok_out *out) {
    size_t i, k;
    x->to.n = 0;
    for (i = a; i <= b; i++) llava__tok_ipush(&x->to, (int)i);
    if (x->to.oom) return;
    LLAVA_FREE(x->nb.p);
    LLAVA_FREE(x->oo.p);
    llava__tok_normalize(t, text + a, x->to.p, b - a, &x->nb, &x->oo);
    if (x->nb.oom || x->oo.oom) return;
    llava__tok_find_added(t, &t->norm_set, 1, x->nb.p, x->nb.n, &x->m2);
    for (k = 0; k + 2 < x->m2.n; k += 3) {
        int idx = x->m2.p[k], s = x->m2.p[k + 1], e = x->m2.p[k + 2];
        if (idx >= 0) {
            llava__tok_emit(out, t->added[idx].id, x->oo.p[s], x->oo.p[e]);
            continue;
        }
        if (s == e) continue;
        llava__tok_pieces *cur = &x->pa, *nxt = &x->pb, *sw;
        llava__tok_pieces_clear(cur);
        llava__tok_piece(cur, x->nb.p + s, x->oo.p + s, (size_t)(e - s), x->oo.p[e]);
        int q;
        for (q = 0; q < t->n_pre; q++) {
            llava__tok_pieces_clear(nxt);
            llava__tok_pre_step(&t->pre[q], cur, nxt, &x->tb, &x->to);
            sw = cur;
            cur = nxt;
            nxt = sw;
        }
        if (llava__tok_pieces_oom(cur) || x->tb.oom) {
            out->ids.oom = 1;
            return;
        }
        for (i = 0; i < cur->ps.n; i++)
            llava__tok_bpe(t, &x->w, cur->b.p + cur->ps.p[i], cur->o.p + cur->ps.p[i], (size_t)(cur->pe.p[i] - cur->ps.p[i]), cur->poe.p[i], out);
        if (x->w.oom) out->ids.oom = 1;
    }
}

static int llava__tok_check_text(const char *text, size_t len) {
    size_t i;
    if (len > LLAVA_TOKENIZE_MAX_BYTES)
        return llava__err("text of %zu bytes is longer than the tokenizer's limit of %u bytes (LLAVA_TOKENIZE_MAX_BYTES)", len,
                          (unsigned)LLAVA_TOKENIZE_MAX_BYTES);
    for (i = 0; i < len;) {
        if ((unsigned char)text[i] < 0x80) {
            i++;
            continue;
        }
        int l = llava__tok_utf8_valid((const unsigned char *)text + i, len - i);
        if (!l) return llava__err("text is not valid UTF-8: byte 0x%02X at offset %zu", (unsigned char)text[i], i);
        i += (size_t)l;
    }
    return 0;
}

static int llava__spm_encode(const LlavaTokenizer *t, const char *text, size_t len, int add_special, llava__tok_out *out);
/* the whole encoding: ids with the input byte range of each (special tokens added by the
   post-processor get empty ranges at the ends) */
static int llava__tok_encode(const LlavaTokenizer *t, const char *text, size_t len, int add_special, llava__tok_out *out) {
    llava__tok_scratch x;
    size_t k;
    if (!text && len) return llava__err("llava_tokenize: NULL text");
    if (llava__tok_check_text(text, len)) return -1;
    if (t->spm) return llava__spm_encode(t, text, len, add_special, out);
    memset(&x, 0, sizeof x);
    if (add_special)
        for (k = 0; k < t->pre_ids.n; k++) llava__tok_emit(out, t->pre_ids.p[k], 0, 0);
    llava__tok_find_added(t, &t->raw_set, 0, text ? text : "", len, &x.m1);
    for (k = 0; k + 2 < x.m1.n; k += 3) {
        int idx = x.m1.p[k], s = x.m1.p[k + 1], e = x.m1.p[k + 2];
        if (idx >= 0) llava__tok_emit(out, t->added[idx].id, s, e);
        else if (e > s) llava__tok_encode_text(t, &x, text, (size_t)s, (size_t)e, out);
    }
    if (add_special)
        for (k = 0; k < t->post_ids.n; k++) llava__tok_emit(out, t->post_ids.p[k], (int)len, (int)len);
    int oom = out->ids.oom || out->start.oom || out->end.oom || x.m1.oom || x.m2.oom || x.to.oom;
    llava__tok_scratch_free(&x);
    return oom ? llava__err("out of memory while tokenizing %zu bytes", len) : 0;
}
static void llava__tok_out_free(llava__tok_out *o) {
    LLAVA_FREE(o->ids.p);
    LLAVA_FREE(o->start.p);
    LLAVA_FREE(o->end.p);
    memset(o, 0, sizeof *o);
}

LLAVADEF int llava_tokenize(const LlavaTokenizer *t, const char *text, size_t len, int add_special, int *ids, int max_ids) {
    llava__tok_out out;
    memset(&out, 0, sizeof out);
    if (llava__tok_encode(t, text, len, add_special, &out)) {
        llava__tok_out_free(&out);
        return -1;
    }
    int n = (int)out.ids.n;
    if (ids && n > max_ids) {
        llava__tok_out_free(&out);
        return llava__err("the text needs %d token ids but max_ids is %d", n, max_ids);
    }
    if (ids && n) memcpy(ids, out.ids.p, (size_t)n * sizeof(int));
    llava__tok_out_free(&out);
    return n;
}

/* --- decoding (tokenizers/src/decoders): the token strings run through the decoder chain, then
   joined; without a decoder they are joined with spaces ------------------------------------------- */
typedef struct {
    LlavaBuf b;
    llava__tok_ints off; /* token k is b[off[k], off[k+1]) */
} llava__tok_list;
static void llava__tok_list_add(llava__tok_list *l, const char *s, size_t n) {
    if (!l->off.n) llava__tok_ipush(&l->off, 0);
    llava_buf_put(&l->b, s, n);
    llava__tok_ipush(&l->off, (int)l->b.n);
}
static size_t llava__tok_list_n(const llava__tok_list *l) { return l->off.n ? l->off.n - 1 : 0; }
/* Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes U+FFFD */
static void llava__tok_put_lossy(LlavaBuf *o, const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        int l = llava__tok_utf8_valid((const unsigned char *)s + i, n - i);
        if (l) {
            llava_buf_put(o, s + i, (size_t)l);
            i += (size_t)l;
        } else {
            llava_buf_put(o, "\xef\xbf\xbd", 3);
            i += (size_t)llava__tok_utf8_bad_len((const unsigned char *)s + i, n - i);
        }
    }
}
static int llava__tok_is_valid_utf8(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        int l = llava__tok_utf8_valid((const unsigned char *)s + i, n - i);
        if (!l) return 0;
        i += (size_t)l;
    }
    return 1;
}
static int llava__tok_hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
static void llava__tok_dec_step(const llava__tok_dec *d, const llava__tok_list *in, llava__tok_list *out) {
    size_t k, n = llava__tok_list_n(in), i;
    LlavaBuf pend;
    memset(&pend, 0, sizeof pend);
    if (!out->off.n) llava__tok_ipush(&out->off, 0);
    for (k = 0; k < n; k++) {
        const char *s = in->b.p + in->off.p[k];
        size_t len = (size_t)(in->off.p[k + 1] - in->off.p[k]);
        switch (d->type) {
        case LLAVA__DEC_REPLACE:
            for (i = 0; i < len;) {
                if (d->an && i + d->an <= len && !memcmp(s + i, d->a, d->an)) {
                    llava_buf_put(&out->b, d->b, d->bn);
                    i += d->an;
                } else llava_buf_put(&out->b, s + i++, 1);
            }
            llava__tok_ipush(&out->off, (int)out->b.n);
            break;
        case LLAVA__DEC_BYTEFALLBACK: {
            int hi = len == 6 && !memcmp(s, "<0x", 3) && s[5] == '>' ? llava__tok_hexval(s[3]) : -1;
            int lo = hi >= 0 ? llava__tok_hexval(s[4]) : -1;
            if (lo >= 0) {
                char c = (char)(hi * 16 + lo);
                llava_buf_put(&pend, &c, 1);
                break;
            }
            if (pend.n) {
                if (llava__tok_is_valid_utf8(pend.p, pend.n)) llava__tok_list_add(out, pend.p, pend.n);
                else
                    for (i = 0; i < pend.n; i++) llava__tok_list_add(out, "\xef\xbf\xbd", 3);
                pend.n = 0;
            }
            llava__tok_list_add(out, s, len);
            break;
        }
        case LLAVA__DEC_FUSE: llava_buf_put(&out->b, s, len); break;
        case LLAVA__DEC_STRIP: {
            /* up to `start` leading and `stop` trailing copies of the character */
            size_t a = 0, e = len;
            int q;
            char cb[4];
            size_t cl = (size_t)llava__tok_utf8_put(cb, d->ch);
            for (q = 0; q < d->start && a + cl <= e && !memcmp(s + a, cb, cl); q++) a += cl;
            for (q = 0; q < d->stop && e >= a + cl && !memcmp(s + e - cl, cb, cl); q++) e -= cl;
            llava__tok_list_add(out, s + a, e - a);
            break;
        }
        case LLAVA__DEC_METASPACE: {
            char cb[4];
            size_t cl = (size_t)llava__tok_utf8_put(cb, d->ch);
            for (i = 0; i < len;) {
                if (i + cl <= len && !memcmp(s + i, cb, cl)) {
                    if (!(k == 0 && d->scheme != LLAVA__SCHEME_NEVER)) llava_buf_put(&out->b, " ", 1);
                    i += cl;
                } else llava_buf_put(&out->b, s + i++, 1);
            }
            llava__tok_ipush(&out->off, (int)out->b.n);
            break;
        }
        case LLAVA__DEC_BYTELEVEL: {
            /* characters back to bytes; a token with a character outside the map is taken as is */
            size_t mark = pend.n;
            int ok = 1;
            for (i = 0; i < len;) {
                uint32_t cp;
                int l = llava__tok_utf8_next(s + i, &cp), b = llava__tok_bl_byte(cp);
                if (b < 0) {
                    ok = 0;
                    break;
                }
                char c = (char)b;
                llava_buf_put(&pend, &c, 1);
                i += (size_t)l;
            }
            if (!ok) {
                pend.n = mark;
                llava_buf_put(&pend, s, len);
            }
            break;
        }
        }
    }
    if (d->type == LLAVA__DEC_FUSE && n) llava__tok_ipush(&out->off, (int)out->b.n);
    if (d->type == LLAVA__DEC_BYTEFALLBACK && pend.n) {
        if (llava__tok_is_valid_utf8(pend.p, pend.n)) llava__tok_list_add(out, pend.p, pend.n);
        else
            for (i = 0; i < pend.n; i++) llava__tok_list_add(out, "\xef\xbf\xbd", 3);
    }
    if (d->type == LLAVA__DEC_BYTELEVEL) {
        size_t mark = out->b.n;
        llava__tok_put_lossy(&out->b, pend.p ? pend.p : "", pend.n);
        (void)mark;
        llava__tok_ipush(&out->off, (int)out->b.n);
    }
    LLAVA_FREE(pend.p);
}

static int llava__spm_decode(const LlavaTokenizer *t, const int *ids, int n, int skip_special, LlavaBuf *res);
static int llava__tok_decode(const LlavaTokenizer *t, const int *ids, int n, int skip_special, LlavaBuf *res) {
    llava__tok_list a, b, sw;
    int k;
    if (t->spm) return llava__spm_decode(t, ids, n, skip_special, res);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    llava__tok_ipush(&a.off, 0);
    for (k = 0; k < n; k++) {
        size_t len;
        const char *s = llava__tok_id_str(t, ids[k], &len);
        if (!s) {
            LLAVA_FREE(a.b.p);
            LLAVA_FREE(a.off.p);
            return llava__err("cannot decode id %d (at position %d): not in the vocabulary of %d", ids[k], k, t->n_vocab);
        }
        if (skip_special && llava_token_is_special(t, ids[k])) continue;
        llava__tok_list_add(&a, s, len);
    }
    if (!t->has_decoder) {
        size_t m = llava__tok_list_n(&a), i;
        for (i = 0; i < m; i++) {
            if (i) llava_buf_put(res, " ", 1);
            llava_buf_put(res, a.b.p + a.off.p[i], (size_t)(a.off.p[i + 1] - a.off.p[i]));
        }
    } else {
        for (k = 0; k < t->n_dec; k++) {
            b.b.n = b.off.n = 0;
            llava__tok_dec_step(&t->dec[k], &a, &b);
            sw = a;
            a = b;
            b = sw;
        }
        llava_buf_put(res, a.b.p ? a.b.p : "", a.b.n);
    }
    int oom = a.b.oom || a.off.oom || b.b.oom || b.off.oom || res->oom;
    LLAVA_FREE(a.b.p);
    LLAVA_FREE(a.off.p);
    LLAVA_FREE(b.b.p);
    LLAVA_FREE(b.off.p);
    if (!res->p) llava_buf_put(res, "", 0);
    return oom ? llava__err("out of memory while decoding %d ids", n) : 0;
}

LLAVADEF long llava_detokenize(const LlavaTokenizer *t, const int *ids, int n, int skip_special, char *out, size_t cap) {
    LlavaBuf r;
    memset(&r, 0, sizeof r);
    if (llava__tok_decode(t, ids, n, skip_special, &r)) {
        LLAVA_FREE(r.p);
        return -1;
    }
    if (cap) {
        size_t k = LLAVA__MIN(r.n, cap - 1);
        memcpy(out, r.p, k);
        out[k] = 0;
    }
    long len = (long)r.n;
    LLAVA_FREE(r.p);
    return len;
}

/* --- streaming decoder (tokenizers' DecodeStream / step_decode_stream) ----------------------------- */
LLAVADEF void llava_decoder_init(LlavaDecoder *d, const LlavaTokenizer *tok, int skip_special) {
    memset(d, 0, sizeof *d);
    d->tok = tok;
    d->skip_special = skip_special;
}
LLAVADEF void llava_decoder_free(LlavaDecoder *d) {
    LLAVA_FREE(d->ids);
    LLAVA_FREE(d->prefix);
    LLAVA_FREE(d->text);
    memset(d, 0, sizeof *d);
}
static int llava__tok_ends_fffd(const LlavaBuf *s) { return s->n >= 3 && !memcmp(s->p + s->n - 3, "\xef\xbf\xbd", 3); }
static const char *llava__tok_dec_ret(LlavaDecoder *d, const char *s, size_t n, size_t *len) {
    if (n + 1 > d->text_cap) {
        char *p = (char *)LLAVA_REALLOC(d->text, n + 64);
        if (!p) {
            llava__err("out of memory");
            return NULL;
        }
        d->text = p;
        d->text_cap = n + 64;
    }
    if (n) memcpy(d->text, s, n);
    d->text[n] = 0;
    if (len) *len = n;
    return d->text;
}
static int llava__tok_dec_set_prefix(LlavaDecoder *d, const LlavaBuf *s) {
    char *p = (char *)LLAVA_REALLOC(d->prefix, s->n + 1);
    if (!p) return llava__err("out of memory");
    memcpy(p, s->p, s->n + 1);
    d->prefix = p;
    d->prefix_len = s->n;
    return 0;
}
static const char *llava__spm_stream(LlavaDecoder *d, int id, size_t *len);
static int llava__spm_decode_x(const LlavaTokenizer *t, const int *ids, int n, int skip_special, int stream, LlavaBuf *res);
LLAVADEF const char *llava_decoder_push(LlavaDecoder *d, int id, size_t *len) {
    LlavaBuf s;
    const char *ret = NULL;
    memset(&s, 0, sizeof s);
    if (id < 0 || id >= d->tok->n_vocab || !llava_token_str(d->tok, id)) {
        llava__err("cannot decode id %d: not in the vocabulary of %d", id, d->tok->n_vocab);
        return NULL;
    }
    if (d->tok->spm) return llava__spm_stream(d, id, len);
    if (!d->prefix_len && d->n) { /* settle the prefix once it decodes to whole characters */
        if (llava__tok_decode(d->tok, d->ids, d->n, d->skip_special, &s)) goto done;
        if (!llava__tok_ends_fffd(&s)) {
            if (llava__tok_dec_set_prefix(d, &s)) goto done;
            d->prefix_index = d->n;
        }
        s.n = 0;
    }
    if (d->n == d->cap) {
        int nc = d->cap ? d->cap * 2 : 16;
        int *p = (int *)LLAVA_REALLOC(d->ids, (size_t)nc * sizeof(int));
        if (!p) {
            llava__err("out of memory");
            goto done;
        }
        d->ids = p;
        d->cap = nc;
    }
    d->ids[d->n++] = id;
    if (llava__tok_decode(d->tok, d->ids, d->n, d->skip_special, &s)) goto done;
    if (s.n > d->prefix_len && !llava__tok_ends_fffd(&s)) {
        if (memcmp(s.p, d->prefix ? d->prefix : "", d->prefix_len)) {
            llava__err("streaming decoder: the text of id %d does not continue the text before it", id);
            goto done;
        }
        ret = llava__tok_dec_ret(d, s.p + d->prefix_len, s.n - d->prefix_len, len);
        if (!ret) goto done;
        /* keep only the ids after the settled prefix, and their text as the new prefix */
        int new_index = d->n - d->prefix_index;
        memmove(d->ids, d->ids + d->prefix_index, (size_t)new_index * sizeof(int));
        d->n = new_index;
        s.n = 0;
        if (llava__tok_decode(d->tok, d->ids, d->n, d->skip_special, &s) || llava__tok_dec_set_prefix(d, &s)) {
            ret = NULL;
            goto done;
        }
        d->prefix_index = new_index;
    } else {
        ret = llava__tok_dec_ret(d, "", 0, len);
    }
done:
    LLAVA_FREE(s.p);
    return ret;
}
LLAVADEF const char *llava_decoder_flush(LlavaDecoder *d, size_t *len) {
    LlavaBuf s;
    const char *ret;
    memset(&s, 0, sizeof s);
    if (d->tok->spm ? llava__spm_decode_x(d->tok, d->ids, d->n, d->skip_special, 1, &s) : llava__tok_decode(d->tok, d->ids, d->n, d->skip_special, &s)) {
        LLAVA_FREE(s.p);
        return NULL;
    }
    if (s.n > d->prefix_len && !memcmp(s.p, d->prefix ? d->prefix : "", d->prefix_len))
        ret = llava__tok_dec_ret(d, s.p + d->prefix_len, s.n - d->prefix_len, len);
    else ret = llava__tok_dec_ret(d, "", 0, len);
    LLAVA_FREE(s.p);
    d->n = 0;
    d->prefix_len = 0;
    d->prefix_index = 0;
    return ret;
}

/* --- SentencePiece tokenizer.model ----------------------------------------------------------------
   A directory with tokenizer.model and no tokenizer.json (or a .model path) loads as transformers'
   slow, sentencepiece-based LlamaTokenizer does (transformers 4.x models/llama/tokenization_llama.py):
     - the model: sentencepiece's ModelProto read by a protobuf wire-format reader of our own; BPE and
       Unigram models (a Unigram model with user-defined pieces is refused: sentencepiece 0.2.3 breaks
       ties between their segmentations in a way not reproduced here; WORD/CHAR models and a
       denormalizer are refused too);
     - encoding: sentencepiece's normalizer (normalizer.cc Normalize: the precompiled_charsmap's rules,
       e.g. nmt_nfkc, through its Darts double-array trie, longest rule first; remove_extra_whitespaces,
       add_dummy_prefix, spaces escaped as U+2581) and bpe_model.cc Encode (user-defined pieces matched
       first and frozen, pairs merged by the score of the merged piece, ties leftmost, UNUSED pieces
       re-split), unknown pieces -> <0xXX> byte pieces with byte_fallback, else the unk id (a run of
       unknown pieces gives one, as sentencepiece_processor.cc PopulateSentencePieceText merges them);
     - on top, LlamaTokenizer: added tokens (tokenizer_config.json's added_tokens_decoder, the special
       tokens, added_tokens.json) split out of the raw text first, bos/eos from add_bos_token /
       add_eos_token, and `legacy`: the tokenizer_config.json key, true when absent (LlamaTokenizer's
       default). legacy=false follows LlamaTokenizer.tokenize/_tokenize: U+2581 in the text becomes a
       space, "▁" is put in front (add_prefix_space, default true), the model runs without its dummy
       prefix, and a piece that starts with a space is encoded behind the unk token, whose pieces are
       then dropped;
     - decoding: PreTrainedTokenizer._decode + LlamaTokenizer.convert_tokens_to_string over
       sentencepiece's DecodePieces (byte pieces joined into characters, each bad byte -> U+FFFD, the
       leading "▁" dropped once, or from every leading piece with remove_extra_whitespaces).
   With no tokenizer_config.json the special tokens are the pieces of the model's bos/eos/unk ids
   (LlamaTokenizer's "<s>", "</s>", "<unk>" for every LLaMA-family model). */

/* protobuf wire format: a cursor over one message */
typedef struct {
    const unsigned char *p, *end;
} llava__pb;
/* next field: its number, wire type, and value (varints / fixed) or bytes (length-delimited).
   Returns 1 for a field, 0 at the end, -1 on malformed input (with the error set) */
static int llava__pb_next(llava__pb *r, uint32_t *field, int *wire, uint64_t *v, const unsigned char **data, size_t *len, const char *what) {
    uint64_t key = 0, x;
    int k, shift;
    if (r->p >= r->end) return 0;
    for (k = 0, shift = 0;; k++, shift += 7) { /* the key, a varint */
        if (r->p >= r->end || k == 10) return llava__err("%s: truncated or over-long varint", what);
        key |= (uint64_t)(*r->p & 0x7f) << shift;
        if (!(*r->p++ & 0x80)) break;
    }
    *field = (uint32_t)(key >> 3);
    *wire = (int)(key & 7);
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff) return llava__err("%s: bad field number %llu", what, (unsigned long long)(key >> 3));
    *v = 0;
    *data = NULL;
    *len = 0;
    switch (*wire) {
    case 0:
        for (k = 0, shift = 0, x = 0;; k++, shift += 7) {
            if (r->p >= r->end || k == 10) return llava__err("%s: truncated or over-long varint in field %u", what, *field);
            x |= (uint64_t)(*r->p & 0x7f) << shift;
            if (!(*r->p++ & 0x80)) break;
        }
        *v = x;
        return 1;
    case 1:
    case 5: {
        size_t n = *wire == 1 ? 8 : 4, i;
        if ((size_t)(r->end - r->p) < n) return llava__err("%s: field %u: truncated %zu-byte value", what, *field, n);
        for (i = 0, x = 0; i < n; i++) x |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        *v = x;
        return 1;
    }
    case 2:
        for (k = 0, shift = 0, x = 0;; k++, shift += 7) {
            if (r->p >= r->end || k == 10) return llava__err("%s: field %u: truncated length", what, *field);
            x |= (uint64_t)(*r->p & 0x7f) << shift;
            if (!(*r->p++ & 0x80)) break;
        }
        if (x > (uint64_t)(r->end - r->p))
            return llava__err("%s: field %u: length %llu runs past the end (%zu bytes left)", what, *field, (unsigned long long)x, (size_t)(r->end - r->p));
        *data = r->p;
        *len = (size_t)x;
        r->p += x;
        return 1;
    default:
        return llava__err("%s: field %u has wire type %d (groups and unknown types are not supported)", what, *field, *wire);
    }
}

enum { LLAVA__SPM_NORMAL = 1, LLAVA__SPM_UNKNOWN = 2, LLAVA__SPM_CONTROL = 3, LLAVA__SPM_USER = 4, LLAVA__SPM_UNUSED = 5, LLAVA__SPM_BYTE = 6 };

/* what llava__tok_from_spm needs besides the pieces (a GGUF "llama" tokenizer gives the same) */
typedef struct {
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces, treat_whitespace_as_suffix;
    int byte_fallback;
    int unk_id, bos_id, eos_id, pad_id; /* -1: none */
    const char *unk_surface;            /* NULL: sentencepiece's " \xE2\x81\x87 " */
    int unigram;                        /* 0: BPE, 1: Unigram */
    const void *charsmap;               /* NormalizerSpec.precompiled_charsmap (NULL / 0 bytes: identity) */
    size_t charsmap_len;
    int gguf; /* a GGUF vocabulary: no unknown piece needed, byte pieces need not be all 256 (llama.cpp checks neither) */
} llava__spm_opts;

struct llava__spm {
    int n;                /* pieces: ids 0..n-1 */
    float *score;         /* [n] */
    unsigned char *type;  /* [n] LLAVA__SPM_* */
    int *user;            /* user-defined piece ids, longest first */
    int n_user;
    llava__spm_opts o;
    char *unk_surface;
    int max_piece;        /* longest piece in bytes */
    float min_score, max_score; /* over the NORMAL pieces (Unigram; max starts at FLT_MIN as there) */
    LlavaStrMap pfx;      /* Unigram: every prefix of a NORMAL / USER_DEFINED piece (the trie's paths) */
    unsigned char *charsmap; /* our copy of the precompiled charsmap: uint32 trie size, the trie, the strings */
    const unsigned char *trie; /* Darts double array: n_units little-endian uint32 */
    uint32_t n_units;
    const char *norm_str; /* NUL-separated replacement strings */
    size_t norm_len;
    /* LlamaTokenizer */
    int legacy, add_prefix_space, clean_up, unk_len; /* unk_len: pieces of the unk token without the dummy prefix */
    char *unk_token;      /* the unk token's string */
    unsigned char *all_special; /* [n_vocab] 1: id of one of all_special_tokens, 2: of additional_special_tokens */
    /* a GGUF "llama" vocabulary, tokenized as llama.cpp does (llava__spm_gguf_encode); gg_attr NULL otherwise */
    unsigned char *gg_attr; /* [n] LLAVA__GGA_* */
    int *gg_special;        /* ids split out of the text first, longest first */
    int n_gg_special, gg_space_prefix;
    int gg_byte[256];       /* the id byte fallback gives each byte, -1: none */
};

static void llava__spm_free(struct llava__spm *s) {
    if (!s) return;
    LLAVA_FREE(s->score);
    LLAVA_FREE(s->type);
    LLAVA_FREE(s->user);
    LLAVA_FREE(s->unk_surface);
    LLAVA_FREE(s->unk_token);
    LLAVA_FREE(s->all_special);
    LLAVA_FREE(s->gg_attr);
    LLAVA_FREE(s->gg_special);
    LLAVA_FREE(s->charsmap);
    llava_strmap_free(&s->pfx);
    LLAVA_FREE(s);
}

/* the string of piece id (0 <= id < n), before the added tokens are known */
static const char *llava__spm_piece_str(const LlavaTokenizer *t, int id, size_t *len) {
    int e = t->ent_of_id[id];
    *len = t->vocab.klen[e];
    return t->vocab.keys.p + t->vocab.koff[e];
}
/* sentencepiece's PieceToId: any piece, else the unk id */
static int llava__spm_piece_id(const LlavaTokenizer *t, const char *s, size_t n) {
    int id = llava_strmap_get(&t->vocab, s, n);
    return id >= 0 && id < t->spm->n ? id : t->spm->o.unk_id;
}
/* the pieces BPE may merge into (ModelInterface::pieces_: NORMAL, USER_DEFINED, UNUSED) */
static int llava__spm_mergeable(const LlavaTokenizer *t, const char *s, size_t n) {
    int id = llava_strmap_get(&t->vocab, s, n);
    if (id < 0 || id >= t->spm->n) return -1;
    int ty = t->spm->type[id];
    return ty == LLAVA__SPM_NORMAL || ty == LLAVA__SPM_USER || ty == LLAVA__SPM_UNUSED ? id : -1;
}
/* PrefixMatcher::PrefixMatch over the user-defined pieces: length of the longest at s, 0 if none */
static size_t llava__spm_user_match(const struct llava__spm *sp, const LlavaTokenizer *t, const char *s, size_t n) {
    int i;
    for (i = 0; i < sp->n_user; i++) { /* longest first */
        size_t l;
        const char *u = llava__spm_piece_str(t, sp->user[i], &l);
        if (u && l <= n && l && !memcmp(s, u, l)) return l;
    }
    return 0;
}
static size_t llava__spm_char_len(const char *s, size_t n) { /* input is valid UTF-8 */
    int l = llava__tok_utf8_valid((const unsigned char *)s, n);
    return l > 0 ? (size_t)l : 1;
}

/* Darts-clone's DoubleArray::commonPrefixSearch over the charsmap's trie, as normalizer.cc
   NormalizePrefix uses it: the longest of the (first 32) rules matching at s; returns its length and
   sets *val (the offset of its replacement), 0 if none. Every unit read is bounds-checked. */
static size_t llava__spm_trie_match(const struct llava__spm *sp, const char *s, size_t n, uint32_t *val) {
    size_t i, best = 0;
    int found = 0;
    uint32_t pos = 0, u;
#define LLAVA__SPM_UNIT(k) ((uint32_t)sp->trie[4 * (size_t)(k)] | (uint32_t)sp->trie[4 * (size_t)(k) + 1] << 8 | \
                            (uint32_t)sp->trie[4 * (size_t)(k) + 2] << 16 | (uint32_t)sp->trie[4 * (size_t)(k) + 3] << 24)
#define LLAVA__SPM_OFFSET(x) (((x) >> 10) << (((x) & (1u << 9)) >> 6))
    if (!sp->n_units) return 0;
    u = LLAVA__SPM_UNIT(0);
    pos ^= LLAVA__SPM_OFFSET(u);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        pos ^= c;
        if (pos >= sp->n_units) break;
        u = LLAVA__SPM_UNIT(pos);
        if ((u & ((1u << 31) | 0xFF)) != c) break;
        pos ^= LLAVA__SPM_OFFSET(u);
        if ((u >> 8) & 1) {
            if (pos >= sp->n_units) break;
            if (found++ < 32) {
                best = i + 1;
                *val = LLAVA__SPM_UNIT(pos) & ((1u << 31) - 1);
            }
        }
    }
#undef LLAVA__SPM_UNIT
#undef LLAVA__SPM_OFFSET
    return best;
}

/* normalizer.cc NormalizePrefix: the normalized text of the unit at s[0..n) in *out, *out_len; returns
   the bytes it consumes (user-defined pieces pass unchanged, then the charsmap's longest rule, else one
   character; the input is valid UTF-8) */
static size_t llava__spm_norm_prefix(const LlavaTokenizer *t, const char *s, size_t n, const char **out, size_t *out_len) {
    const struct llava__spm *sp = t->spm;
    size_t l = llava__spm_user_match(sp, t, s, n);
    if (!l && sp->trie) {
        uint32_t v = 0;
        l = llava__spm_trie_match(sp, s, n, &v);
        if (l && v < sp->norm_len) { /* the replacement, NUL-terminated inside the blob (checked at load) */
            *out = sp->norm_str + v;
            *out_len = strlen(sp->norm_str + v);
            return l;
        }
        l = 0;
    }
    if (!l) l = llava__spm_char_len(s, n);
    *out = s;
    *out_len = l;
    return l;
}

/* normalizer.cc Normalize: s[n] (offsets o[n+1]) -> out, oo[out.n + 1] */
static void llava__spm_normalize(const LlavaTokenizer *t, const char *s, const int *o, size_t n, int dummy, LlavaBuf *out, llava__tok_ints *oo) {
    const struct llava__spm *sp = t->spm;
    static const char ws[] = "\xe2\x96\x81";
    size_t i = 0, k;
    const char *p;
    size_t pl;
    int end = o[n];
    out->n = 0;
    oo->n = 0;
    if (sp->o.remove_extra_whitespaces)
        while (i < n) { /* leading units that normalize to " " */
            size_t l = llava__spm_norm_prefix(t, s + i, n - i, &p, &pl);
            if (pl != 1 || p[0] != ' ') break;
            i += l;
        }
    if (i == n) {
        llava__tok_ipush(oo, o[n]);
        llava_buf_put(out, "", 0);
        return;
    }
#define LLAVA__SPM_WS(at)                                                              \
    do {                                                                               \
        if (sp->o.escape_whitespaces) {                                                \
            llava_buf_put(out, ws, 3);                                                 \
            for (k = 0; k < 3; k++) llava__tok_ipush(oo, (at));                        \
        } else {                                                                       \
            llava_buf_put(out, " ", 1);                                                \
            llava__tok_ipush(oo, (at));                                                \
        }                                                                              \
    } while (0)
    if (!sp->o.treat_whitespace_as_suffix && dummy) LLAVA__SPM_WS(o[i]);
    int prev_space = sp->o.remove_extra_whitespaces;
    while (i < n) {
        size_t l = llava__spm_norm_prefix(t, s + i, n - i, &p, &pl), a = 0;
        if (prev_space)
            while (a < pl && p[a] == ' ') a++;
        if (a < pl) {
            for (k = a; k < pl; k++) {
                if (sp->o.escape_whitespaces && p[k] == ' ') {
                    size_t q;
                    llava_buf_put(out, ws, 3);
                    for (q = 0; q < 3; q++) llava__tok_ipush(oo, o[i]);
                } else {
                    llava_buf_put(out, p + k, 1);
                    llava__tok_ipush(oo, o[i]);
                }
            }
            prev_space = p[pl - 1] == ' ';
        }
        i += l;
        if (!sp->o.remove_extra_whitespaces) prev_space = 0;
    }
    if (sp->o.remove_extra_whitespaces) { /* trailing whitespace; the end's offset becomes the first one's */
        size_t wl = sp->o.escape_whitespaces ? 3 : 1;
        const char *w = sp->o.escape_whitespaces ? ws : " ";
        while (out->n >= wl && !memcmp(out->p + out->n - wl, w, wl) && oo->n >= wl) {
            out->n -= wl;
            oo->n -= wl;
            end = oo->p[oo->n];
        }
    }
    if (sp->o.treat_whitespace_as_suffix && dummy) LLAVA__SPM_WS(o[n]);
#undef LLAVA__SPM_WS
    llava__tok_ipush(oo, end);
    if (out->p) out->p[out->n] = 0;
}

/* bpe_model.cc Encode: symbols in a linked list, candidate pairs in a max-heap by (score, -left) */
typedef struct {
    float score;
    int left, right;
    size_t size;
} llava__spm_pair;
typedef struct {
    int prev, next;
    size_t st, len; /* bytes of the normalized text */
    int freeze;
} llava__spm_sym;
typedef struct {
    llava__spm_sym *sym;
    llava__spm_pair *heap;
    size_t n_sym, n_heap, cap_heap;
    LlavaStrMap rev; /* UNUSED piece -> bytes of the left piece of the last pair seen making it (rev_merge) */
    int oom;
} llava__spm_work;
static int llava__spm_before(const llava__spm_pair *a, const llava__spm_pair *b) { /* a pops first */
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}
static void llava__spm_push(llava__spm_work *w, llava__spm_pair p) {
    if (w->n_heap == w->cap_heap) {
        size_t nc = w->cap_heap ? w->cap_heap * 2 : 64;
        llava__spm_pair *h = (llava__spm_pair *)LLAVA_REALLOC(w->heap, nc * sizeof *h);
        if (!h) {
            w->oom = 1;
            return;
        }
        w->heap = h;
        w->cap_heap = nc;
    }
    size_t i = w->n_heap++;
    while (i > 0 && llava__spm_before(&p, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = p;
}
static llava__spm_pair llava__spm_pop(llava__spm_work *w) {
    llava__spm_pair top = w->heap[0], last = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && llava__spm_before(&w->heap[c + 1], &w->heap[c])) c++;
        if (!llava__spm_before(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}
static void llava__spm_maybe_pair(const LlavaTokenizer *t, llava__spm_work *w, const char *s, int l, int r) {
    if (l < 0 || r < 0 || w->sym[l].freeze || w->sym[r].freeze) return;
    size_t size = w->sym[l].len + w->sym[r].len;
    if ((int)size > t->spm->max_piece) return;
    int id = llava__spm_mergeable(t, s + w->sym[l].st, size);
    if (id < 0) return;
    if (t->spm->type[id] == LLAVA__SPM_UNUSED) {
        int e = llava_strmap_find(&w->rev, s + w->sym[l].st, size);
        if (e >= 0) w->rev.val[e] = (int)w->sym[l].len;
        else if (llava_strmap_put(&w->rev, s + w->sym[l].st, size, (int)w->sym[l].len) < 0) w->oom = 1;
    }
    llava__spm_pair p;
    p.score = t->spm->score[id];
    p.left = l;
    p.right = r;
    p.size = size;
    llava__spm_push(w, p);
}

/* one final piece s[n] (normalized bytes from `at`) -> ids, as SentencePieceProcessor::Encode emits it
   (UNUSED pieces split back into the two they were merged from, unknown ones into byte pieces) */
static void llava__spm_emit_id(const LlavaTokenizer *t, const char *s, size_t at, size_t n, int id, const int *oo, llava__tok_out *out, int *prev_unk);
static void llava__spm_emit_piece(const LlavaTokenizer *t, const LlavaStrMap *rev, const char *s, size_t at, size_t n, const int *oo, llava__tok_out *out,
                                  int *prev_unk, int depth) {
    const struct llava__spm *sp = t->spm;
    int id = llava__spm_piece_id(t, s + at, n);
    if (id >= 0 && sp->type[id] == LLAVA__SPM_UNUSED && depth < 256) {
        int c = llava_strmap_get(rev, s + at, n);
        if (c > 0 && (size_t)c < n) {
            llava__spm_emit_piece(t, rev, s, at, (size_t)c, oo, out, prev_unk, depth + 1);
            llava__spm_emit_piece(t, rev, s, at + (size_t)c, n - (size_t)c, oo, out, prev_unk, depth + 1);
            return;
        }
    }
    llava__spm_emit_id(t, s, at, n, id, oo, out, prev_unk);
}
/* the result piece s[at..at+n) with its id -> ids, as PopulateSentencePieceText makes them */
static void llava__spm_emit_id(const LlavaTokenizer *t, const char *s, size_t at, size_t n, int id, const int *oo, llava__tok_out *out, int *prev_unk) {
    const struct llava__spm *sp = t->spm;
    int unk = id >= 0 && sp->type[id] == LLAVA__SPM_UNKNOWN, was_unk = *prev_unk;
    *prev_unk = unk;
    if (unk && sp->o.byte_fallback) {
        size_t k;
        for (k = 0; k < n; k++) llava__tok_emit(out, t->byte_id[(unsigned char)s[at + k]], oo[at + k], oo[at + k + 1]);
        return;
    }
    if (unk && was_unk && out->end.n) { /* PopulateSentencePieceText: a run of unknown pieces is one */
        out->end.p[out->end.n - 1] = oo[at + n];
        return;
    }
    llava__tok_emit(out, id, oo[at], oo[at + n]);
}

/* unigram_model.cc EncodeOptimized: Viterbi over the normalized bytes; every piece (NORMAL,
   USER_DEFINED; UNUSED ones skipped) that starts at a character boundary, user-defined ones scored
   length * max_score - 0.1, a character no piece covers scored min_score - 10 as the unk id. Path scores
   are float sums and a tie keeps the path found first (starts left to right, shorter pieces first),
   which gives sentencepiece 0.2.3's ids on every fixture text. */
static void llava__spm_unigram(const LlavaTokenizer *t, const char *s, size_t n, const int *oo, llava__tok_out *out) {
    const struct llava__spm *sp = t->spm;
    typedef struct {
        int id, start;
        float score;
    } node;
    node *best = (node *)LLAVA_MALLOC((n + 1) * sizeof(node));
    int *path = (int *)LLAVA_MALLOC((n + 1) * sizeof(int));
    size_t st, i;
    const float unk_score = (float)((double)sp->min_score - 10.0);
    if (!best || !path) {
        LLAVA_FREE(best);
        LLAVA_FREE(path);
        out->ids.oom = 1;
        return;
    }
    for (i = 0; i <= n; i++) {
        best[i].id = -1;
        best[i].start = -1;
        best[i].score = 0;
    }
    for (st = 0; st < n;) {
        size_t mb = llava__spm_char_len(s + st, n - st), len;
        int single = 0;
        float till = best[st].score;
        for (len = 1; len <= n - st && len <= (size_t)sp->max_piece; len++) {
            if (llava_strmap_find(&sp->pfx, s + st, len) < 0) break; /* no piece goes on this way */
            int id = llava__spm_mergeable(t, s + st, len);
            if (id < 0 || sp->type[id] == LLAVA__SPM_UNUSED) continue;
            float sc = sp->type[id] == LLAVA__SPM_USER ? (float)((double)((float)len * sp->max_score) - 0.1) : sp->score[id];
            float cand = sc + till;
            node *tn = &best[st + len];
            if (tn->start == -1 || cand > tn->score) {
                tn->score = cand;
                tn->start = (int)st;
                tn->id = id;
            }
            if (len == mb) single = 1;
        }
        if (!single) {
            node *tn = &best[st + mb];
            float cand = unk_score + till;
            if (tn->start == -1 || cand > tn->score) {
                tn->score = cand;
                tn->start = (int)st;
                tn->id = sp->o.unk_id;
            }
        }
        st += mb;
    }
    int np = 0, e = (int)n, prev_unk = 0;
    while (e > 0 && best[e].start >= 0) { /* backtrack */
        path[np++] = e;
        e = best[e].start;
    }
    while (np-- > 0) {
        int end = path[np], beg = best[end].start;
        llava__spm_emit_id(t, s, (size_t)beg, (size_t)(end - beg), best[end].id, oo, out, &prev_unk);
    }
    LLAVA_FREE(best);
    LLAVA_FREE(path);
}

/* sentencepiece's Encode of text[n] (input offsets o[n+1]): normalize, split into characters and
   user-defined pieces, merge, emit (a Unigram model: llava__spm_unigram) */
static void llava__spm_encode_raw(const LlavaTokenizer *t, const char *text, const int *o, size_t n, int dummy, llava__tok_out *out) {
    LlavaBuf nb;
    llava__tok_ints oo;
    llava__spm_work w;
    size_t i;
    int k, prev_unk = 0;
    memset(&nb, 0, sizeof nb);
    memset(&oo, 0, sizeof oo);
    memset(&w, 0, sizeof w);
    llava__spm_normalize(t, text, o, n, dummy, &nb, &oo);
    if (nb.oom || oo.oom) goto fail;
    if (!nb.n) goto done;
    if (t->spm->o.unigram) {
        llava__spm_unigram(t, nb.p, nb.n, oo.p, out);
        goto done;
    }
    w.sym = (llava__spm_sym *)LLAVA_MALLOC(nb.n * sizeof *w.sym);
    if (!w.sym) goto fail;
    for (i = 0; i < nb.n;) {
        llava__spm_sym *y = &w.sym[w.n_sym];
        size_t l = llava__spm_user_match(t->spm, t, nb.p + i, nb.n - i);
        y->freeze = l > 0;
        if (!l) l = llava__spm_char_len(nb.p + i, nb.n - i);
        y->st = i;
        y->len = l;
        y->prev = w.n_sym ? (int)w.n_sym - 1 : -1;
        i += l;
        y->next = i < nb.n ? (int)w.n_sym + 1 : -1;
        w.n_sym++;
    }
    for (i = 1; i < w.n_sym; i++) llava__spm_maybe_pair(t, &w, nb.p, (int)i - 1, (int)i);
    while (w.n_heap && !w.oom) {
        llava__spm_pair top = llava__spm_pop(&w);
        llava__spm_sym *l = &w.sym[top.left], *r = &w.sym[top.right];
        if (!l->len || !r->len || l->len + r->len != top.size) continue; /* stale */
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0) w.sym[r->next].prev = top.left;
        r->len = 0;
        llava__spm_maybe_pair(t, &w, nb.p, l->prev, top.left);
        llava__spm_maybe_pair(t, &w, nb.p, top.left, l->next);
    }
    if (w.oom) goto fail;
    for (k = 0; k >= 0; k = w.sym[k].next) llava__spm_emit_piece(t, &w.rev, nb.p, w.sym[k].st, w.sym[k].len, oo.p, out, &prev_unk, 0);
    goto done;
fail:
    out->ids.oom = 1;
done:
    LLAVA_FREE(nb.p);
    LLAVA_FREE(oo.p);
    LLAVA_FREE(w.sym);
    LLAVA_FREE(w.heap);
    llava_strmap_free(&w.rev);
}

/* LlamaTokenizer._tokenize of one stretch text[a..b) that no added token covers (offsets o) */
static void llava__spm_encode_piece(const LlavaTokenizer *t, const char *text, const int *o, size_t a, size_t b, llava__tok_out *out) {
    const struct llava__spm *sp = t->spm;
    if (sp->legacy) {
        llava__spm_encode_raw(t, text + a, o + a, b - a, sp->o.add_dummy_prefix, out);
        return;
    }
    int lead = text[a] == ' ' || (b - a >= 3 && !memcmp(text + a, "\xe2\x96\x81", 3));
    if (!lead) {
        llava__spm_encode_raw(t, text + a, o + a, b - a, 0, out);
        return;
    }
    /* encode(unk_token + text)[unk_token_length:] */
    size_t un = strlen(sp->unk_token), i, n = un + (b - a);
    char *s = (char *)LLAVA_MALLOC(n + 1);
    int *so = (int *)LLAVA_MALLOC((n + 1) * sizeof(int));
    llava__tok_out tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!s || !so) {
        LLAVA_FREE(s);
        LLAVA_FREE(so);
        out->ids.oom = 1;
        return;
    }
    memcpy(s, sp->unk_token, un);
    memcpy(s + un, text + a, b - a);
    for (i = 0; i < un; i++) so[i] = o[a];
    for (i = 0; i <= b - a; i++) so[un + i] = o[a + i];
    llava__spm_encode_raw(t, s, so, n, 0, &tmp);
    size_t k0 = tmp.ids.n >= (size_t)sp->unk_len ? (size_t)sp->unk_len : 0, k;
    for (k = k0; k < tmp.ids.n; k++) llava__tok_emit(out, tmp.ids.p[k], tmp.start.p[k], tmp.end.p[k]);
    if (tmp.ids.oom || tmp.start.oom || tmp.end.oom) out->ids.oom = 1;
    LLAVA_FREE(tmp.ids.p);
    LLAVA_FREE(tmp.start.p);
    LLAVA_FREE(tmp.end.p);
    LLAVA_FREE(s);
    LLAVA_FREE(so);
}

/* LlamaTokenizer.tokenize + build_inputs_with_special_tokens (the text is valid UTF-8) */
static int llava__spm_gguf_encode(const LlavaTokenizer *t, const char *text, size_t len, int add_special, llava__tok_out *out);
static int llava__spm_encode(const LlavaTokenizer *t, const char *text, size_t len, int add_special, llava__tok_out *out) {
    const struct llava__spm *sp = t->spm;
    LlavaBuf s;
    llava__tok_ints o, m;
    size_t i, k;
    if (sp->gg_attr) return llava__spm_gguf_encode(t, text, len, add_special, out); /* a GGUF vocabulary: llama.cpp's rules */
    memset(&s, 0, sizeof s);
    memset(&o, 0, sizeof o);
    memset(&m, 0, sizeof m);
    if (add_special)
        for (k = 0; k < t->pre_ids.n; k++) llava__tok_emit(out, t->pre_ids.p[k], 0, 0);
    size_t first = out->ids.n;
    if (!sp->legacy && len) { /* text.replace("▁", " "), "▁" + text */
        if (sp->add_prefix_space) {
            llava_buf_put(&s, "\xe2\x96\x81", 3);
            for (k = 0; k < 3; k++) llava__tok_ipush(&o, 0);
        }
        for (i = 0; i < len;) {
            if (i + 3 <= len && !memcmp(text + i, "\xe2\x96\x81", 3)) {
                llava_buf_put(&s, " ", 1);
                llava__tok_ipush(&o, (int)i);
                i += 3;
            } else {
                llava_buf_put(&s, text + i, 1);
                llava__tok_ipush(&o, (int)i++);
            }
        }
    } else {
        llava_buf_put(&s, text ? text : "", len);
        for (i = 0; i < len; i++) llava__tok_ipush(&o, (int)i);
    }
    llava__tok_ipush(&o, (int)len);
    if (s.oom || o.oom) goto oom;
    llava__tok_find_added(t, &t->raw_set, 0, s.p, s.n, &m);
    for (k = 0; k + 2 < m.n; k += 3) {
        int idx = m.p[k], a = m.p[k + 1], e = m.p[k + 2];
        if (idx >= 0) llava__tok_emit(out, t->added[idx].id, o.p[a], o.p[e]);
        else if (e > a) llava__spm_encode_piece(t, s.p, o.p, (size_t)a, (size_t)e, out);
    }
    /* legacy=false: a lone leading "▁" before a special token is dropped */
    if (!sp->legacy && out->ids.n > first + 1 && !out->ids.oom) {
        int i0 = out->ids.p[first], i1 = out->ids.p[first + 1];
        size_t l0;
        const char *p0 = i0 < sp->n && t->added_of_id[i0] < 0 ? llava__tok_id_str(t, i0, &l0) : NULL;
        if (p0 && l0 == 3 && !memcmp(p0, "\xe2\x96\x81", 3) && sp->all_special[i1]) {
            memmove(out->ids.p + first, out->ids.p + first + 1, (out->ids.n - first - 1) * sizeof(int));
            memmove(out->start.p + first, out->start.p + first + 1, (out->ids.n - first - 1) * sizeof(int));
            memmove(out->end.p + first, out->end.p + first + 1, (out->ids.n - first - 1) * sizeof(int));
            out->ids.n--;
            out->start.n--;
            out->end.n--;
        }
    }
    if (add_special)
        for (k = 0; k < t->post_ids.n; k++) llava__tok_emit(out, t->post_ids.p[k], (int)len, (int)len);
    if (m.oom) goto oom;
    LLAVA_FREE(s.p);
    LLAVA_FREE(o.p);
    LLAVA_FREE(m.p);
    return 0;
oom:
    LLAVA_FREE(s.p);
    LLAVA_FREE(o.p);
    LLAVA_FREE(m.p);
    return llava__err("out of memory while tokenizing %zu bytes", len);
}

/* sentencepiece's DecodePieces of pieces p[0..n) (strings, as LlamaTokenizer hands them over): byte
   pieces gathered into characters (each byte that is not part of a valid one -> U+FFFD), control pieces
   vanish, the unk piece reads as unk_surface, "▁" -> " ", and the first piece that starts with "▁"
   while the text is still empty loses it when the model adds a dummy prefix (once) or removes extra
   whitespace (every such piece), as sentencepiece_processor.cc Decode does */
static void llava__spm_decode_pieces(const LlavaTokenizer *t, const llava__tok_list *l, size_t from, size_t to, int dummy, LlavaBuf *res) {
    const struct llava__spm *sp = t->spm;
    size_t i, start = res->n;
    int bos_ws = 1, ws_seen = 0; /* a leading "▁" may still be dropped; the last piece dropped one */
    LlavaBuf bytes;
    memset(&bytes, 0, sizeof bytes);
    for (i = from; i <= to; i++) {
        const char *p = NULL;
        size_t n = 0;
        int id = -1;
        if (i < to) {
            p = l->b.p + l->off.p[i];
            n = (size_t)(l->off.p[i + 1] - l->off.p[i]);
            id = llava__spm_piece_id(t, p, n);
            if (id >= 0 && sp->type[id] == LLAVA__SPM_BYTE) {
                int hi = llava__tok_hexval(p[3]), lo = llava__tok_hexval(p[4]);
                unsigned char c = (unsigned char)(hi * 16 + lo);
                llava_buf_put(&bytes, &c, 1);
                continue;
            }
        }
        size_t q = 0; /* the bytes so far: sentencepiece's ProcessBytePieces */
        while (q < bytes.n) {
            int v = llava__tok_utf8_valid((const unsigned char *)bytes.p + q, bytes.n - q);
            if (v > 0) {
                llava_buf_put(res, bytes.p + q, (size_t)v);
                q += (size_t)v;
            } else {
                llava_buf_put(res, "\xef\xbf\xbd", 3);
                q++;
            }
        }
        bytes.n = 0;
        if (i == to) break;
        if (ws_seen || res->n != start) bos_ws = 0;
        ws_seen = 0;
        if (id >= 0 && sp->type[id] == LLAVA__SPM_CONTROL) continue;
        if (id >= 0 && sp->type[id] == LLAVA__SPM_UNKNOWN) {
            size_t ul;
            const char *u = llava__tok_id_str(t, id, &ul);
            if (u && ul == n && !memcmp(u, p, n)) llava_buf_puts(res, sp->unk_surface);
            else llava_buf_put(res, p, n);
            continue;
        }
        if (bos_ws && (dummy || sp->o.remove_extra_whitespaces) && n >= 3 && !memcmp(p, "\xe2\x96\x81", 3)) {
            p += 3;
            n -= 3;
            ws_seen = !sp->o.remove_extra_whitespaces; /* with it, every leading "▁" goes */
        }
        size_t k;
        for (k = 0; k < n;) {
            if (k + 3 <= n && !memcmp(p + k, "\xe2\x96\x81", 3)) {
                llava_buf_put(res, " ", 1);
                k += 3;
            } else {
                llava_buf_put(res, p + k, 1);
                k++;
            }
        }
    }
    if (bytes.oom) res->oom = 1;
    LLAVA_FREE(bytes.p);
}

/* LlamaTokenizer.convert_tokens_to_string of the tokens l[from..to). stream: legacy's space before a
   special token goes right before it instead of before the text since the last special token (which
   a stream has already given out) */
static void llava__spm_tokens_to_string(const LlavaTokenizer *t, llava__tok_list *l, const int *ids, size_t from, size_t to, int stream, LlavaBuf *res) {
    const struct llava__spm *sp = t->spm;
    int dummy = sp->legacy ? sp->o.add_dummy_prefix : 0, prev_special = 0;
    size_t i, sub = from;
    if (to == from) return;
    if (sp->add_prefix_space && l->off.p[from + 1] - l->off.p[from] >= 3 && !memcmp(l->b.p + l->off.p[from], "\xe2\x96\x81", 3))
        l->off.p[from] += 3; /* tokens[0] = tokens[0][1:] */
    for (i = from; i < to; i++) {
        if (sp->all_special[ids[i]]) {
            int space = !prev_special && i != from && sp->legacy;
            if (space && !stream) llava_buf_put(res, " ", 1);
            llava__spm_decode_pieces(t, l, sub, i, dummy, res);
            if (space && stream) llava_buf_put(res, " ", 1);
            llava_buf_put(res, l->b.p + l->off.p[i], (size_t)(l->off.p[i + 1] - l->off.p[i]));
            prev_special = 1;
            sub = i + 1;
        } else {
            if (prev_special && i == from + 1 && sp->add_prefix_space &&
                !(l->off.p[i + 1] - l->off.p[i] >= 3 && !memcmp(l->b.p + l->off.p[i], "\xe2\x96\x81", 3)))
                llava_buf_put(res, " ", 1);
            prev_special = 0;
        }
    }
    llava__spm_decode_pieces(t, l, sub, to, dummy, res);
}

/* PreTrainedTokenizer.clean_up_tokenization */
static void llava__spm_clean_up(LlavaBuf *b) {
    static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"};
    static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re"};
    size_t r, i, w;
    for (r = 0; r < sizeof from / sizeof from[0]; r++) {
        size_t fl = strlen(from[r]), tl = strlen(to[r]);
        for (i = 0, w = 0; i < b->n;) { /* replacements never lengthen the text */
            if (i + fl <= b->n && !memcmp(b->p + i, from[r], fl)) {
                memmove(b->p + w, to[r], tl);
                w += tl;
                i += fl;
            } else {
                b->p[w++] = b->p[i++];
            }
        }
        b->n = w;
        if (b->p) b->p[w] = 0;
    }
}

/* PreTrainedTokenizer._decode (spaces_between_special_tokens as its default, true); stream: see
   llava__spm_tokens_to_string */
static int llava__spm_gguf_decode(const LlavaTokenizer *t, const int *ids, int n, int skip_special, LlavaBuf *res);
static int llava__spm_decode_x(const LlavaTokenizer *t, const int *ids, int n, int skip_special, int stream, LlavaBuf *res) {
    const struct llava__spm *sp = t->spm;
    llava__tok_list l;
    llava__tok_ints kept;
    int k, n_sub = 0;
    if (sp->gg_attr) return llava__spm_gguf_decode(t, ids, n, skip_special, res); /* a GGUF vocabulary: llama.cpp's rules */
    memset(&l, 0, sizeof l);
    memset(&kept, 0, sizeof kept);
    llava__tok_ipush(&l.off, 0);
    for (k = 0; k < n; k++) {
        size_t len;
        const char *s = llava__tok_id_str(t, ids[k], &len);
        if (!s) {
            LLAVA_FREE(l.b.p);
            LLAVA_FREE(l.off.p);
            LLAVA_FREE(kept.p);
            return llava__err("cannot decode id %d (at position %d): not in the vocabulary of %d", ids[k], k, t->n_vocab);
        }
        if (skip_special && sp->all_special[ids[k]]) continue;
        llava__tok_list_add(&l, s, len);
        llava__tok_ipush(&kept, ids[k]);
    }
    size_t m = kept.n, i, sub = 0;
    if (!l.b.oom && !l.off.oom && !kept.oom) {
        for (i = 0; i <= m; i++) {
            int f = i < m ? sp->all_special[kept.p[i]] : 0; /* legacy_added_tokens */
            int legacy_added = i < m && t->added_of_id[kept.p[i]] >= 0 && (!(f & 1) || ((f & 2) && kept.p[i] >= sp->n));
            if (i < m && !legacy_added) continue;
            if (i > sub) { /* the tokens before: one sub-text, dropped when empty */
                size_t at = res->n;
                if (n_sub) llava_buf_put(res, " ", 1);
                size_t body = res->n;
                llava__spm_tokens_to_string(t, &l, kept.p, sub, i, stream, res);
                if (res->n == body && i < m) res->n = at;
                else n_sub++;
            }
            if (i < m) {
                if (n_sub++) llava_buf_put(res, " ", 1);
                llava_buf_put(res, l.b.p + l.off.p[i], (size_t)(l.off.p[i + 1] - l.off.p[i]));
            }
            sub = i + 1;
        }
    }
    if (res->p) res->p[res->n] = 0;
    if (sp->clean_up && !res->oom) llava__spm_clean_up(res);
    int oom = l.b.oom || l.off.oom || kept.oom || res->oom;
    LLAVA_FREE(l.b.p);
    LLAVA_FREE(l.off.p);
    LLAVA_FREE(kept.p);
    if (!res->p) llava_buf_put(res, "", 0);
    return oom ? llava__err("out of memory while decoding %d ids", n) : 0;
}
static int llava__spm_decode(const LlavaTokenizer *t, const int *ids, int n, int skip_special, LlavaBuf *res) {
    return llava__spm_decode_x(t, ids, n, skip_special, 0, res);
}

/* The tokenizer from a SentencePiece vocabulary: pieces[n] with scores and types (LLAVA__SPM_*), as a
   tokenizer.model or GGUF's tokenizer.ggml.{tokens,scores,token_type} give them. Checks what
   sentencepiece's ModelInterface::InitializePieces checks. No added tokens yet: llava__spm_configure
   adds LlamaTokenizer's. */
static LlavaTokenizer *llava__tok_from_spm(const char *const *pieces, const float *scores, const int *types, int n, const llava__spm_opts *o) {
    LlavaTokenizer *t = (LlavaTokenizer *)llava__calloc(1, sizeof *t);
    struct llava__spm *sp = (struct llava__spm *)llava__calloc(1, sizeof *sp);
    int i, rc = 0, n_unk = 0, n_byte = 0;
    if (!t || !sp) {
        LLAVA_FREE(t);
        LLAVA_FREE(sp);
        llava__err("out of memory");
        return NULL;
    }
    t->spm = sp;
    sp->o = *o;
    sp->legacy = 1;
    sp->add_prefix_space = 1;
    if (n <= 0 || n >= (1 << 24)) rc = llava__err("sentencepiece model: %d pieces (expected 1 to %d)", n, (1 << 24) - 1);
    if (!rc) {
        sp->n = t->n_model = t->n_vocab = n;
        sp->score = (float *)LLAVA_MALLOC((size_t)n * sizeof(float));
        sp->type = (unsigned char *)LLAVA_MALLOC((size_t)n);
        sp->user = (int *)LLAVA_MALLOC((size_t)n * sizeof(int));
        t->ent_of_id = (int *)LLAVA_MALLOC((size_t)(n + 1) * sizeof(int));
        sp->unk_surface = llava__strdup(o->unk_surface ? o->unk_surface : " \xe2\x81\x87 ");
        if (!sp->score || !sp->type || !sp->user || !t->ent_of_id || !sp->unk_surface) rc = llava__err("out of memory");
    }
    for (i = 0; !rc && i < n; i++) {
        const char *p = pieces[i];
        size_t pl = p ? strlen(p) : 0;
        if (!pl) {
            rc = llava__err("sentencepiece model: piece %d is empty", i);
            break;
        }
        if (types[i] < LLAVA__SPM_NORMAL || types[i] > LLAVA__SPM_BYTE) {
            rc = llava__err("sentencepiece model: piece %d '%s' has type %d (expected 1 to 6)", i, p, types[i]);
            break;
        }
        if (llava__tok_check_text(p, pl)) {
            rc = llava__err("sentencepiece model: piece %d is not valid UTF-8", i);
            break;
        }
        if (llava_strmap_find(&t->vocab, p, pl) >= 0) {
            rc = llava__err("sentencepiece model: piece '%s' (id %d) is already defined", p, i);
            break;
        }
        int e = llava_strmap_put(&t->vocab, p, pl, i);
        if (e < 0) {
            rc = llava__err("out of memory");
            break;
        }
        t->ent_of_id[i] = e;
        sp->score[i] = scores ? scores[i] : 0.0f;
        sp->type[i] = (unsigned char)types[i];
        sp->max_piece = LLAVA__MAX(sp->max_piece, (int)LLAVA__MIN(pl, (size_t)1 << 30));
        if (types[i] == LLAVA__SPM_USER) sp->user[sp->n_user++] = i;
        if (types[i] == LLAVA__SPM_UNKNOWN) {
            n_unk++;
            if (n_unk == 1) sp->o.unk_id = i;
        }
        if (types[i] == LLAVA__SPM_BYTE) {
            int hi = pl == 6 && !memcmp(p, "<0x", 3) && p[5] == '>' ? llava__tok_hexval(p[3]) : -1, lo = pl == 6 ? llava__tok_hexval(p[4]) : -1;
            if (!o->byte_fallback) rc = llava__err("sentencepiece model: byte piece '%s' (id %d) is found although byte_fallback is false", p, i);
            else if (o->gguf && (hi < 0 || lo < 0 || p[3] >= 'a' || p[4] >= 'a' || t->byte_id[hi * 16 + lo])) continue; /* llama.cpp looks bytes up by spelling */
            else if (hi < 0 || lo < 0 || (p[3] >= 'a') || (p[4] >= 'a')) rc = llava__err("sentencepiece model: byte piece '%s' (id %d) is not <0xHH>", p, i);
            else {
                int b = hi * 16 + lo;
                if (t->byte_id[b]) rc = llava__err("sentencepiece model: byte piece '%s' appears twice", p);
                t->byte_id[b] = i + 1; /* +1 until all are seen */
                n_byte++;
            }
        }
    }
    for (i = 0; !rc && o->unigram && i < n; i++) { /* the prefixes the Viterbi search walks */
        size_t l, pl;
        const char *p = pieces[i];
        if (types[i] != LLAVA__SPM_NORMAL && types[i] != LLAVA__SPM_USER) continue;
        pl = strlen(p);
        for (l = 1; l <= pl && !rc; l++)
            if (llava_strmap_find(&sp->pfx, p, l) < 0 && llava_strmap_put(&sp->pfx, p, l, 0) < 0) rc = llava__err("out of memory");
    }
    if (!rc && o->unigram && sp->n_user)
        rc = llava__err("sentencepiece model: a Unigram model with user-defined pieces (%d) is not supported (sentencepiece breaks their "
                        "ties in a way llava.h does not reproduce)", sp->n_user);
    if (!rc && n_unk != 1 && !o->gguf) rc = llava__err("sentencepiece model: %s", n_unk ? "more than one unknown piece" : "no unknown piece (type UNKNOWN)");
    if (!rc && o->byte_fallback && n_byte != 256 && !o->gguf) rc = llava__err("sentencepiece model: byte_fallback is true but only %d of the 256 byte pieces are there", n_byte);
    for (i = 0; i < 256; i++) t->byte_id[i] = t->byte_id[i] ? t->byte_id[i] - 1 : -1;
    t->byte_fallback = o->byte_fallback;
    sp->min_score = 3.402823466e+38F; /* FLT_MAX */
    sp->max_score = 1.175494351e-38F; /* FLT_MIN, as unigram_model.cc starts it */
    for (i = 0; !rc && i < n; i++)
        if (sp->type[i] == LLAVA__SPM_NORMAL) {
            sp->min_score = LLAVA__MIN(sp->min_score, sp->score[i]);
            sp->max_score = LLAVA__MAX(sp->max_score, sp->score[i]);
        }
    if (!rc && o->charsmap && o->charsmap_len) { /* normalizer.cc DecodePrecompiledCharsMap */
        const unsigned char *c = (const unsigned char *)o->charsmap;
        size_t cl = o->charsmap_len;
        uint32_t ts = cl > 4 ? (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24 : 0;
        if (cl <= 4 || ts >= cl - 4 || ts % 4 || !ts)
            rc = llava__err("sentencepiece model: the precompiled_charsmap (%zu bytes) is malformed (trie of %u bytes)", cl, (unsigned)ts);
        else if (!(sp->charsmap = (unsigned char *)LLAVA_MALLOC(cl + 1))) rc = llava__err("out of memory");
        else {
            memcpy(sp->charsmap, c, cl);
            sp->charsmap[cl] = 0; /* the last replacement string is NUL-terminated even when the blob is not */
            sp->trie = sp->charsmap + 4;
            sp->n_units = ts / 4;
            sp->norm_str = (const char *)sp->charsmap + 4 + ts;
            sp->norm_len = cl - 4 - ts;
        }
    }
    if (!rc) { /* user-defined pieces: longest first (PrefixMatcher takes the longest) */
        int a, b;
        for (a = 1; a < sp->n_user; a++) {
            int v = sp->user[a];
            size_t lv = strlen(pieces[v]);
            for (b = a - 1; b >= 0 && strlen(pieces[sp->user[b]]) < lv; b--) sp->user[b + 1] = sp->user[b];
            sp->user[b + 1] = v;
        }
    }
    const int *ids[3] = {&o->bos_id, &o->eos_id, &o->pad_id};
    for (i = 0; !rc && i < 3; i++)
        if (*ids[i] >= n) rc = llava__err("sentencepiece model: %s id %d is outside the %d pieces", i == 0 ? "bos" : i == 1 ? "eos" : "pad", *ids[i], n);
    t->unk_model = t->unk = sp->o.unk_id;
    t->bos = t->eos = t->pad = -1;
    if (rc) {
        llava_tokenizer_free(t);
        return NULL;
    }
    return t;
}

/* the special token strings of a tokenizer_config.json (or special_tokens_map.json) key: a string, an
   {"content": ...} object, null (none: returns "" ), absent (returns NULL) */
static const char *llava__spm_cfg_tok(const LlavaJson *j, const LlavaJsonNode *cfg, const char *key) {
    const LlavaJsonNode *x = cfg ? llava_json_get(j, cfg, key) : NULL;
    if (!x) return NULL;
    if (x->type == LLAVA_JSON_NULL) return "";
    if (x->type == LLAVA_JSON_STR) return x->str;
    const char *c = llava__tok_jstr(j, x, "content");
    return c ? c : "";
}
/* an added token for a special token string, as PreTrainedTokenizer._add_tokens gives it: the id it
   has (added or a piece), else the next free id */
static int llava__spm_special(LlavaTokenizer *t, const char *s, const char *path) {
    int id = llava_token_id(t, s), i;
    if (id < 0) {
        id = t->n_model;
        for (i = 0; i < t->n_added; i++) id = LLAVA__MAX(id, t->added[i].id + 1);
    }
    for (i = 0; i < t->n_added; i++)
        if (t->added[i].len == strlen(s) && !memcmp(t->added[i].content, s, t->added[i].len)) break;
    if (i == t->n_added && llava__tok_add_added(t, s, id, 1, 0, 0, 0, 0, path)) return -1;
    if (id >= (1 << 24)) return llava__err("%s: special token '%s' would get id %d", path, s, id);
    return id;
}

/* LlamaTokenizer's configuration from tokenizer_config.json (cfg, may be NULL), special_tokens_map.json
   (smap) and added_tokens.json (atj); finishes the tokenizer */
static int llava__spm_configure(LlavaTokenizer *t, const LlavaJson *cj, const LlavaJsonNode *cfg, const LlavaJson *sj, const LlavaJsonNode *smap,
                                const LlavaJson *aj, const LlavaJsonNode *atj, const char *path) {
    struct llava__spm *sp = t->spm;
    const LlavaJsonNode *x;
    int rc = 0, i;
    if (cfg) {
        sp->legacy = llava__tok_jbool(cj, cfg, "legacy", 1);
        sp->add_prefix_space = llava__tok_jbool(cj, cfg, "add_prefix_space", 1);
        sp->clean_up = llava__tok_jbool(cj, cfg, "clean_up_tokenization_spaces", 0);
        for (x = llava_json_first(cj, llava_json_get(cj, cfg, "added_tokens_decoder")); x && !rc; x = llava_json_next(cj, x)) {
            char *end = NULL;
            long id = strtol(x->key, &end, 10);
            if (!x->key[0] || *end || id < 0 || id >= (1 << 24)) rc = llava__err("%s: added_tokens_decoder key '%s' is not an id", path, x->key);
            else rc = llava__tok_load_added(t, cj, x, (int)id, path);
        }
    }
    for (x = atj ? llava_json_first(aj, atj) : NULL; x && !rc; x = llava_json_next(aj, x)) { /* added_tokens.json: {"content": id} */
        if (!llava__tok_is_int(x, 0, (1 << 24) - 1)) rc = llava__err("%s: added_tokens.json: '%s' has no valid id", path, x->key);
        else if (llava_token_id(t, x->key) < 0 && x->key[0]) rc = llava__tok_add_added(t, x->key, (int)x->num, 0, 0, 0, 0, 0, path);
    }
    /* the special tokens (SPECIAL_TOKENS_ATTRIBUTES); absent keys: the model's own ids */
    static const char *const keys[7] = {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
    int ids[7] = {-1, -1, -1, -1, -1, -1, -1};
    const int mid[7] = {sp->o.bos_id, sp->o.eos_id, sp->o.unk_id, -1, -1, -1, -1};
    for (i = 0; i < 7 && !rc; i++) {
        const char *s = llava__spm_cfg_tok(cj, cfg, keys[i]);
        if (!s) s = llava__spm_cfg_tok(sj, smap, keys[i]);
        if (!s && mid[i] >= 0) {
            size_t l;
            s = llava__spm_piece_str(t, mid[i], &l);
        }
        if (s && s[0]) {
            ids[i] = llava__spm_special(t, s, path);
            if (ids[i] < 0) rc = -1;
        }
    }
    if (!rc && ids[2] >= 0) {
        size_t l;
        const char *u = llava__spm_cfg_tok(cj, cfg, "unk_token");
        if (!u) u = llava__spm_cfg_tok(sj, smap, "unk_token");
        if (!u || !u[0]) u = llava__spm_piece_str(t, sp->o.unk_id, &l);
        sp->unk_token = llava__strdup(u);
        if (!sp->unk_token) rc = llava__err("out of memory");
    } else if (!rc && !sp->legacy) {
        rc = llava__err("%s: legacy=false needs an unk_token", path);
    }
    const LlavaJsonNode *add = cfg ? llava_json_get(cj, cfg, "additional_special_tokens") : NULL;
    const LlavaJson *addj = cj;
    if (!add && smap) {
        add = llava_json_get(sj, smap, "additional_special_tokens");
        addj = sj;
    }
    llava__tok_ints extra;
    memset(&extra, 0, sizeof extra);
    for (x = add ? llava_json_first(addj, add) : NULL; x && !rc; x = llava_json_next(addj, x)) {
        const char *s = x->type == LLAVA_JSON_STR ? x->str : llava__tok_jstr(addj, x, "content");
        if (!s || !s[0]) continue;
        int id = llava__spm_special(t, s, path);
        if (id < 0) rc = -1;
        else llava__tok_ipush(&extra, id);
    }
    /* ids */
    if (!rc) {
        for (i = 0; i < t->n_added; i++) t->n_vocab = LLAVA__MAX(t->n_vocab, t->added[i].id + 1);
        t->added_of_id = (int *)LLAVA_MALLOC((size_t)(t->n_vocab + 1) * sizeof(int));
        int *eo = (int *)LLAVA_REALLOC(t->ent_of_id, (size_t)(t->n_vocab + 1) * sizeof(int));
        if (eo) t->ent_of_id = eo;
        sp->all_special = (unsigned char *)llava__calloc((size_t)t->n_vocab + 1, 1);
        if (!t->added_of_id || !eo || !sp->all_special || extra.oom) rc = llava__err("%s: out of memory", path);
        for (i = 0; !rc && i < t->n_vocab; i++) {
            t->added_of_id[i] = -1;
            if (i >= t->n_model) t->ent_of_id[i] = -1;
        }
        for (i = 0; !rc && i < t->n_added; i++) {
            t->added_of_id[t->added[i].id] = i;
            t->added[i].normalized = 0; /* the slow tokenizer matches every added token on the raw text */
        }
        for (i = 0; !rc && i < 7; i++)
            if (ids[i] >= 0) sp->all_special[ids[i]] |= 1;
        for (i = 0; !rc && i < (int)extra.n; i++) sp->all_special[extra.p[i]] |= 3;
    }
    LLAVA_FREE(extra.p);
    if (!rc) {
        t->bos = ids[0];
        t->eos = ids[1];
        t->unk = ids[2] >= 0 ? ids[2] : sp->o.unk_id;
        t->pad = ids[4];
        int ab = cfg ? llava__tok_jbool(cj, cfg, "add_bos_token", 1) : 1, ae = cfg ? llava__tok_jbool(cj, cfg, "add_eos_token", 0) : 0;
        if (ab && t->bos < 0) rc = llava__err("%s: add_bos_token is true but there is no bos_token", path);
        else if (ae && t->eos < 0) rc = llava__err("%s: add_eos_token is true but there is no eos_token", path);
        if (ab && !rc) llava__tok_ipush(&t->pre_ids, t->bos);
        if (ae && !rc) llava__tok_ipush(&t->post_ids, t->eos);
        if (!rc && (t->pre_ids.oom || t->post_ids.oom)) rc = llava__err("out of memory");
    }
    if (!rc && (llava__tok_build_aset(t, &t->raw_set, 0) || llava__tok_build_aset(t, &t->norm_set, 1))) rc = llava__err("out of memory");
    if (!rc && sp->unk_token) { /* LlamaTokenizer.unk_token_length, with the model that has no dummy prefix */
        llava__tok_out o;
        size_t un = strlen(sp->unk_token), k;
        int *oz = (int *)llava__calloc(un + 1, sizeof(int));
        memset(&o, 0, sizeof o);
        if (!oz) return llava__err("out of memory");
        for (k = 0; k <= un; k++) oz[k] = (int)k;
        llava__spm_encode_raw(t, sp->unk_token, oz, un, 0, &o);
        sp->unk_len = (int)o.ids.n;
        if (o.ids.oom || o.start.oom || o.end.oom) rc = llava__err("out of memory");
        LLAVA_FREE(oz);
        LLAVA_FREE(o.ids.p);
        LLAVA_FREE(o.start.p);
        LLAVA_FREE(o.end.p);
    }
    return rc;
}

/* sentencepiece_model.proto: ModelProto {1 pieces, 2 trainer_spec, 3 normalizer_spec},
   SentencePiece {1 piece, 2 score, 3 type}, TrainerSpec {3 model_type, 24 treat_whitespace_as_suffix,
   35 byte_fallback, 40-43 unk/bos/eos/pad id, 44 unk_surface}, NormalizerSpec {1 name, 2
   precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces} */
static LlavaTokenizer *llava__spm_parse(const unsigned char *buf, size_t len, const char *path) {
    llava__pb r, q;
    uint32_t f, g;
    int w, wq, rc = 0, n = 0, cap = 0, model_type = 1, k;
    uint64_t v, vq;
    const unsigned char *d, *dq;
    size_t dl, dql;
    char **pieces = NULL, *name = NULL, *surface = NULL;
    float *scores = NULL;
    int *types = NULL;
    llava__spm_opts o;
    LlavaTokenizer *t = NULL;
    memset(&o, 0, sizeof o);
    o.add_dummy_prefix = o.remove_extra_whitespaces = o.escape_whitespaces = 1;
    o.unk_id = 0;
    o.bos_id = 1;
    o.eos_id = 2;
    o.pad_id = -1;
    r.p = buf;
    r.end = buf + len;
    size_t charsmap = 0, denorm = 0;
    const unsigned char *charsmap_p = NULL;
#define LLAVA__PB_WANT(wt, what)                                                                                           \
    if (wq != (wt)) {                                                                                                      \
        rc = llava__err("%s: %s has wire type %d, expected %d", path, what, wq, wt);                                       \
        break;                                                                                                             \
    }
    while (!rc && (k = llava__pb_next(&r, &f, &w, &v, &d, &dl, path)) != 0) {
        if (k < 0) {
            rc = -1;
            break;
        }
        if (f == 5 && w == 2) { /* denormalizer_spec: refused when it has rules */
            q.p = d;
            q.end = d + dl;
            while (!rc && (k = llava__pb_next(&q, &g, &wq, &vq, &dq, &dql, path)) != 0)
                if (k < 0) rc = -1;
                else if (g == 2 && wq == 2) denorm = dql;
            continue;
        }
        if (f < 1 || f > 3) continue; /* self_test_data, unknown fields */
        if (w != 2) {
            rc = llava__err("%s: ModelProto field %u is not a message", path, f);
            break;
        }
        q.p = d;
        q.end = d + dl;
        if (f == 1) {
            if (n == cap) {
                int nc = cap ? cap * 2 : 1024;
                char **np = (char **)LLAVA_REALLOC(pieces, (size_t)nc * sizeof(char *));
                if (np) pieces = np;
                float *ns = (float *)LLAVA_REALLOC(scores, (size_t)nc * sizeof(float));
                if (ns) scores = ns;
                int *nt = (int *)LLAVA_REALLOC(types, (size_t)nc * sizeof(int));
                if (nt) types = nt;
                if (!np || !ns || !nt || n >= (1 << 24)) {
                    rc = n >= (1 << 24) ? llava__err("%s: more than %d pieces", path, 1 << 24) : llava__err("out of memory");
                    break;
                }
                cap = nc;
            }
            pieces[n] = NULL;
            scores[n] = 0;
            types[n] = LLAVA__SPM_NORMAL;
            n++;
            while (!rc && (k = llava__pb_next(&q, &g, &wq, &vq, &dq, &dql, path)) != 0) {
                if (k < 0) rc = -1;
                else if (g == 1) {
                    LLAVA__PB_WANT(2, "SentencePiece.piece");
                    LLAVA_FREE(pieces[n - 1]);
                    pieces[n - 1] = (char *)LLAVA_MALLOC(dql + 1);
                    if (!pieces[n - 1]) rc = llava__err("out of memory");
                    else {
                        if (dql) memcpy(pieces[n - 1], dq, dql);
                        pieces[n - 1][dql] = 0;
                        if (strlen(pieces[n - 1]) != dql) rc = llava__err("%s: piece %d holds a NUL byte", path, n - 1);
                    }
                } else if (g == 2) {
                    LLAVA__PB_WANT(5, "SentencePiece.score");
                    uint32_t bits = (uint32_t)vq;
                    memcpy(&scores[n - 1], &bits, 4);
                } else if (g == 3) {
                    LLAVA__PB_WANT(0, "SentencePiece.type");
                    types[n - 1] = vq >= 1 && vq <= 6 ? (int)vq : 0;
                }
            }
        } else if (f == 2) {
            while (!rc && (k = llava__pb_next(&q, &g, &wq, &vq, &dq, &dql, path)) != 0) {
                if (k < 0) rc = -1;
                else if (g == 3 || g == 24 || g == 35 || (g >= 40 && g <= 43)) {
                    LLAVA__PB_WANT(0, "a TrainerSpec field");
                    int iv = (int)(int32_t)(uint32_t)(vq & 0xffffffffu);
                    if (g == 3) model_type = iv;
                    else if (g == 24) o.treat_whitespace_as_suffix = vq != 0;
                    else if (g == 35) o.byte_fallback = vq != 0;
                    else if (g == 41) o.bos_id = iv;
                    else if (g == 42) o.eos_id = iv;
                    else if (g == 43) o.pad_id = iv;
                    else o.unk_id = iv;
                } else if (g == 44) {
                    LLAVA__PB_WANT(2, "TrainerSpec.unk_surface");
                    LLAVA_FREE(surface);
                    surface = (char *)LLAVA_MALLOC(dql + 1);
                    if (!surface) rc = llava__err("out of memory");
                    else {
                        if (dql) memcpy(surface, dq, dql);
                        surface[dql] = 0;
                    }
                }
            }
        } else {
            while (!rc && (k = llava__pb_next(&q, &g, &wq, &vq, &dq, &dql, path)) != 0) {
                if (k < 0) rc = -1;
                else if (g == 1) {
                    LLAVA__PB_WANT(2, "NormalizerSpec.name");
                    LLAVA_FREE(name);
                    name = (char *)LLAVA_MALLOC(dql + 1);
                    if (!name) rc = llava__err("out of memory");
                    else {
                        if (dql) memcpy(name, dq, dql);
                        name[dql] = 0;
                    }
                } else if (g == 2) {
                    LLAVA__PB_WANT(2, "NormalizerSpec.precompiled_charsmap");
                    charsmap = dql;
                    charsmap_p = dq;
                } else if (g >= 3 && g <= 5) {
                    LLAVA__PB_WANT(0, "a NormalizerSpec flag");
                    if (g == 3) o.add_dummy_prefix = vq != 0;
                    else if (g == 4) o.remove_extra_whitespaces = vq != 0;
                    else o.escape_whitespaces = vq != 0;
                }
            }
        }
    }
#undef LLAVA__PB_WANT
    if (!rc && model_type != 1 && model_type != 2)
        rc = llava__err("%s: sentencepiece model type %s is not supported (only BPE and UNIGRAM)", path,
                        model_type == 3 ? "WORD" : model_type == 4 ? "CHAR" : "(unknown)");
    o.unigram = model_type == 1;
    if (!rc && denorm) rc = llava__err("%s: a denormalizer (precompiled_charsmap of %zu bytes) is not supported", path, denorm);
    for (k = 0; !rc && k < n; k++) {
        if (!pieces[k]) rc = llava__err("%s: piece %d has no string", path, k);
        else if (!types[k]) rc = llava__err("%s: piece %d '%s' has an unknown type", path, k, pieces[k]);
    }
    if (!rc && o.treat_whitespace_as_suffix) rc = llava__err("%s: treat_whitespace_as_suffix is not supported", path);
    if (!rc) {
        o.unk_surface = surface;
        o.charsmap = charsmap_p;
        o.charsmap_len = charsmap;
        t = llava__tok_from_spm((const char *const *)pieces, scores, types, n, &o);
        if (t && (o.unk_id < 0 || o.unk_id >= n || t->spm->o.unk_id != o.unk_id)) {
            llava__err("%s: unk_id %d is not the unknown piece", path, o.unk_id);
            llava_tokenizer_free(t);
            t = NULL;
        }
    }
    for (k = 0; k < n; k++) LLAVA_FREE(pieces[k]);
    LLAVA_FREE(pieces);
    LLAVA_FREE(scores);
    LLAVA_FREE(types);
    LLAVA_FREE(name);
    LLAVA_FREE(surface);
    return t;
}

/* tokenizer.model at model_path; tokenizer_config.json, special_tokens_map.json, added_tokens.json in dir */
static LlavaTokenizer *llava__spm_load(const char *model_path, const char *dir) {
    static const char *const names[3] = {"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"};
    LlavaJson js[3];
    char *texts[3] = {NULL, NULL, NULL}, *paths[3] = {NULL, NULL, NULL};
    const LlavaJsonNode *roots[3] = {NULL, NULL, NULL};
    size_t n = 0;
    int i, rc = 0;
    LlavaTokenizer *t = NULL;
    memset(js, 0, sizeof js);
    char *buf = llava_read_file(model_path, LLAVA__LIMIT_JSON, &n);
    if (!buf) return NULL;
    if (!n) rc = llava__err("%s: empty", model_path);
    if (!rc) t = llava__spm_parse((const unsigned char *)buf, n, model_path);
    if (!t) rc = -1;
    for (i = 0; i < 3 && !rc; i++) {
        paths[i] = llava__path_join(dir, names[i]);
        if (!paths[i]) rc = llava__err("out of memory");
        else if (llava_file_exists(paths[i])) {
            size_t cn = 0;
            if (!(texts[i] = llava_read_file(paths[i], LLAVA__LIMIT_JSON, &cn)) || llava_json_parse(&js[i], texts[i], cn, paths[i])) rc = -1;
            else if (js[i].nodes[0].type != LLAVA_JSON_OBJ) rc = llava__err("%s: not a JSON object", paths[i]);
            else roots[i] = &js[i].nodes[0];
        }
    }
    if (!rc) rc = llava__spm_configure(t, &js[0], roots[0], &js[1], roots[1], &js[2], roots[2], roots[0] ? paths[0] : model_path);
    for (i = 0; i < 3; i++) {
        llava_json_free(&js[i]);
        LLAVA_FREE(texts[i]);
        LLAVA_FREE(paths[i]);
    }
    LLAVA_FREE(buf);
    if (rc) {
        llava_tokenizer_free(t);
        return NULL;
    }
    return t;
}

/* --- a GGUF "llama" vocabulary (SentencePiece), tokenized as llama.cpp's llama-vocab.cpp does ------- */
/* llama.cpp reads tokenizer.ggml.{tokens,scores,token_type}, the special ids (SPM defaults: bos 1, eos 2,
   unk 0), add_bos_token (default true), add_eos_token (false) and add_space_prefix (true). It applies
   no normalizer to this model: remove_extra_whitespaces and precompiled_charsmap only serve its "t5"
   (Unigram) tokenizer, so they are not read here. llama_vocab::impl::tokenize then
     - splits the text at every control, user-defined and unknown token (tokenizer_st_partition: the
       longest tokens first, each one's occurrences left to right in every stretch still text),
     - gives each stretch of text a " " in front when add_space_prefix and it starts the text or follows
       a split-out token, turns " " into "\xe2\x96\x81" and runs llm_tokenizer_spm_session on it: UTF-8
       characters merged pairwise, the pair that makes the token with the highest score first (ties: the
       leftmost), into any token of the vocabulary whatever its type, and a piece that is no token is
       given as its bytes' tokens ("<0xXX>", else the one-byte token).
   The token types also follow llama.cpp's load: a few spellings become control tokens whatever the file
   says (the end-of-generation and fill-in-the-middle names below, as of llama.cpp commit 0c1e570), and
   general.name "phi-3"/"phi3" makes the split-out tokens eat the whitespace after them (rstrip).
   Decoding is llama.cpp's detokenize (llava__spm_gguf_decode). Where llava.h differs on purpose: a
   special id outside the vocabulary and a token type outside 1..6 are refused (llama.cpp warns and keeps
   the default / reads the type as undefined); split-out tokens of equal length are tried in id order
   (llama.cpp's std::sort leaves that order open); a text llama.cpp throws on (a character with neither a
   token nor a byte token) is an error. */
/* llama_token_attr, as far as this vocabulary uses it (the bits are llava.h's) */
enum { LLAVA__GGA_CONTROL = 1, LLAVA__GGA_USER = 2, LLAVA__GGA_UNKNOWN = 4, LLAVA__GGA_RSTRIP = 8, LLAVA__GGA_LSTRIP = 16,
       LLAVA__GGA_NORMAL = 32, LLAVA__GGA_BYTE = 64, LLAVA__GGA_UNUSED = 128 };

static int llava__spm_gguf_space(char c) { /* isspace in the C locale */
    return c == ' ' || (c >= '\t' && c <= '\r');
}
/* first occurrence of nd[nl] (nl > 0) in h[hl], or hl when there is none (std::string_view::find) */
static size_t llava__spm_gguf_find(const char *h, size_t hl, const char *nd, size_t nl) {
    size_t i = 0;
    while (nl <= hl && i <= hl - nl) {
        const char *p = (const char *)memchr(h + i, (unsigned char)nd[0], hl - nl - i + 1);
        if (!p) break;
        i = (size_t)(p - h);
        if (!memcmp(p, nd, nl)) return i;
        i++;
    }
    return hl;
}

/* llm_tokenizer_spm_session::tokenize of s[n] (each byte's input offset oo[n + 1]) */
static int llava__spm_gguf_bpe(const LlavaTokenizer *t, const char *s, size_t n, const int *oo, llava__tok_out *out) {
    static const unsigned char lead_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}; /* unicode_len_utf8 */
    const struct llava__spm *sp = t->spm;
    llava__spm_work w;
    size_t i;
    int k, rc = 0;
    memset(&w, 0, sizeof w);
    if (!n) return 0;
    w.sym = (llava__spm_sym *)LLAVA_MALLOC(n * sizeof *w.sym);
    if (!w.sym) return llava__err("out of memory while tokenizing");
    for (i = 0; i < n;) {
        llava__spm_sym *y = &w.sym[w.n_sym];
        size_t l = lead_len[(unsigned char)s[i] >> 4];
        if (l > n - i) l = n - i;
        memset(y, 0, sizeof *y);
        y->st = i;
        y->len = l;
        y->prev = (int)w.n_sym - 1;
        i += l;
        y->next = i < n ? (int)w.n_sym + 1 : -1;
        w.n_sym++;
    }
    /* try_add_bigram: a pair whose text is a token (any type) is a candidate with that token's score */
#define LLAVA__GG_PAIR(l_, r_)                                                                         \
    do {                                                                                               \
        int pl_ = (l_), pr_ = (r_);                                                                    \
        if (pl_ >= 0 && pr_ >= 0) {                                                                    \
            size_t sz_ = w.sym[pl_].len + w.sym[pr_].len;                                              \
            int id_ = sz_ <= (size_t)sp->max_piece ? llava_strmap_get(&t->vocab, s + w.sym[pl_].st, sz_) : -1; \
            if (id_ >= 0 && id_ < sp->n) {                                                             \
                llava__spm_pair p_;                                                                    \
                p_.score = sp->score[id_];                                                             \
                p_.left = pl_;                                                                         \
                p_.right = pr_;                                                                        \
                p_.size = sz_;                                                                         \
                llava__spm_push(&w, p_);                                                               \
            }                                                                                          \
        }                                                                                              \
    } while (0)
    for (i = 1; i < w.n_sym; i++) LLAVA__GG_PAIR((int)i - 1, (int)i);
    while (w.n_heap && !w.oom) {
        llava__spm_pair top = llava__spm_pop(&w);
        llava__spm_sym *l = &w.sym[top.left], *r = &w.sym[top.right];
        if (!l->len || !r->len || l->len + r->len != top.size) continue; /* one of them was merged since */
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) w.sym[r->next].prev = top.left;
        LLAVA__GG_PAIR(l->prev, top.left);
        LLAVA__GG_PAIR(top.left, l->next);
    }
#undef LLAVA__GG_PAIR
    if (w.oom) rc = llava__err("out of memory while tokenizing");
    /* resegment: merged pieces are tokens; a character that is none goes out as its bytes */
    for (k = 0; !rc && k >= 0; k = w.sym[k].next) {
        const llava__spm_sym *y = &w.sym[k];
        int id = llava_strmap_get(&t->vocab, s + y->st, y->len);
        if (id >= 0 && id < sp->n) {
            llava__tok_emit(out, id, oo[y->st], oo[y->st + y->len]);
            continue;
        }
        for (i = 0; i < y->len; i++) {
            unsigned char c = (unsigned char)s[y->st + i];
            if (sp->gg_byte[c] < 0) {
                rc = llava__err("'%.*s' (at byte %d) is not in the vocabulary, which has no <0x%02X> byte token either "
                                "(llama.cpp fails on it too)", (int)y->len, s + y->st, oo[y->st], c);
                break;
            }
            llava__tok_emit(out, sp->gg_byte[c], oo[y->st + i], oo[y->st + i + 1]);
        }
    }
    LLAVA_FREE(w.sym);
    LLAVA_FREE(w.heap);
    llava_strmap_free(&w.rev);
    return rc;
}

/* llama_vocab::impl::tokenize for an SPM vocabulary, parse_special on (the text is valid UTF-8) */
static int llava__spm_gguf_encode(const LlavaTokenizer *t, const char *text, size_t len, int add_special, llava__tok_out *out) {
    const struct llava__spm *sp = t->spm;
    llava__tok_ints fr[2]; /* fragments: (token id or -1 for text, start, end) triples */
    LlavaBuf s;
    llava__tok_ints oo;
    int cur = 0, k, rc = 0, prev_special = 1;
    size_t f, i;
    memset(fr, 0, sizeof fr);
    memset(&s, 0, sizeof s);
    memset(&oo, 0, sizeof oo);
    if (len) {
        llava__tok_ipush(&fr[0], -1);
        llava__tok_ipush(&fr[0], 0);
        llava__tok_ipush(&fr[0], (int)len);
    }
    /* tokenizer_st_partition */
    for (k = 0; k < sp->n_gg_special && len; k++) {
        int id = sp->gg_special[k], attr = sp->gg_attr[id];
        size_t tl;
        const char *tok = llava__spm_piece_str(t, id, &tl);
        llava__tok_ints *a = &fr[cur], *b = &fr[!cur];
        int hit = 0;
        for (f = 0; f + 2 < a->n && !hit; f += 3) /* most tokens are in no fragment: look before copying */
            hit = a->p[f] < 0 && llava__spm_gguf_find(text + a->p[f + 1], (size_t)(a->p[f + 2] - a->p[f + 1]), tok, tl) <
                                     (size_t)(a->p[f + 2] - a->p[f + 1]);
        if (!hit) continue;
        b->n = 0;
        for (f = 0; f + 2 < a->n; f += 3) {
            size_t st = (size_t)a->p[f + 1], en = (size_t)a->p[f + 2];
            if (a->p[f] >= 0) {
                llava__tok_ipush(b, a->p[f]);
                llava__tok_ipush(b, (int)st);
                llava__tok_ipush(b, (int)en);
                continue;
            }
            while (st < en) {
                size_t m = st + llava__spm_gguf_find(text + st, en - st, tok, tl), le = m;
                if (m == en) { /* no more: the rest stays text */
                    llava__tok_ipush(b, -1);
                    llava__tok_ipush(b, (int)st);
                    llava__tok_ipush(b, (int)en);
                    break;
                }
                if (attr & LLAVA__GGA_LSTRIP)
                    while (le > st && llava__spm_gguf_space(text[le - 1])) le--;
                if (le > st) {
                    llava__tok_ipush(b, -1);
                    llava__tok_ipush(b, (int)st);
                    llava__tok_ipush(b, (int)le);
                }
                llava__tok_ipush(b, id);
                llava__tok_ipush(b, (int)m);
                llava__tok_ipush(b, (int)(m + tl));
                st = m + tl;
                if (attr & LLAVA__GGA_RSTRIP)
                    while (st < en && llava__spm_gguf_space(text[st])) st++;
            }
        }
        cur = !cur;
    }
    if (fr[0].oom || fr[1].oom) rc = llava__err("out of memory while tokenizing %zu bytes", len);
    if (add_special)
        for (i = 0; i < t->pre_ids.n; i++) llava__tok_emit(out, t->pre_ids.p[i], 0, 0);
    for (f = 0; !rc && f + 2 < fr[cur].n; f += 3) {
        int id = fr[cur].p[f], st = fr[cur].p[f + 1], en = fr[cur].p[f + 2], p;
        if (id >= 0) {
            llava__tok_emit(out, id, st, en);
            prev_special = 1;
            continue;
        }
        s.n = oo.n = 0;
        if (sp->gg_space_prefix && prev_special) { /* the " " in front, empty in the input */
            llava_buf_put(&s, "\xe2\x96\x81", 3);
            for (p = 0; p < 3; p++) llava__tok_ipush(&oo, st);
        }
        for (p = st; p < en; p++) { /* llama_escape_whitespace */
            if (text[p] == ' ') {
                llava_buf_put(&s, "\xe2\x96\x81", 3);
                llava__tok_ipush(&oo, p);
                llava__tok_ipush(&oo, p);
                llava__tok_ipush(&oo, p);
            } else {
                llava_buf_put(&s, text + p, 1);
                llava__tok_ipush(&oo, p);
            }
        }
        llava__tok_ipush(&oo, en);
        if (s.oom || oo.oom) rc = llava__err("out of memory while tokenizing %zu bytes", len);
        else rc = llava__spm_gguf_bpe(t, s.p, s.n, oo.p, out);
        prev_special = 0;
    }
    if (add_special && !rc)
        for (i = 0; i < t->post_ids.n; i++) llava__tok_emit(out, t->post_ids.p[i], (int)len, (int)len);
    if (!rc && (out->ids.oom || out->start.oom || out->end.oom)) rc = llava__err("out of memory while tokenizing %zu bytes", len);
    LLAVA_FREE(fr[0].p);
    LLAVA_FREE(fr[1].p);
    LLAVA_FREE(s.p);
    LLAVA_FREE(oo.p);
    return rc;
}

/* llama_vocab::impl::detokenize with remove_special = skip_special and unparse_special = !skip_special
   (no clean_spaces for SPM): each token's piece (token_to_piece: control and unknown tokens as spelled
   unless skipped, user-defined ones as spelled, normal ones with "\xe2\x96\x81" as " ", byte tokens as their
   byte, anything else nothing), the first one without its leading space when add_space_prefix (unless a
   removed bos came first). llama.cpp gives the raw bytes; here a byte that is not part of a valid UTF-8
   character becomes U+FFFD, as llava.h's decoding does everywhere. */
static int llava__spm_gguf_decode(const LlavaTokenizer *t, const int *ids, int n, int skip_special, LlavaBuf *res) {
    const struct llava__spm *sp = t->spm;
    LlavaBuf raw;
    int i, strip = sp->gg_space_prefix;
    size_t q;
    memset(&raw, 0, sizeof raw);
    for (i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= sp->n) return llava__err("cannot decode id %d (at position %d): not in the vocabulary of %d", ids[i], i, sp->n);
    if (skip_special && t->pre_ids.n && n > 0 && ids[0] == t->bos) {
        strip = 0;
        ids++;
        n--;
    }
    if (skip_special && t->post_ids.n && n > 0 && ids[n - 1] == t->eos) n--;
    for (i = 0; i < n; i++, strip = 0) {
        int a = sp->gg_attr[ids[i]];
        size_t pl, k = 0;
        const char *p = llava__spm_piece_str(t, ids[i], &pl);
        if (skip_special && (a & (LLAVA__GGA_CONTROL | LLAVA__GGA_UNKNOWN))) continue;
        if (a & (LLAVA__GGA_CONTROL | LLAVA__GGA_UNKNOWN | LLAVA__GGA_USER)) {
            if (strip && pl && p[0] == ' ') k = 1;
            llava_buf_put(&raw, p + k, pl - k);
        } else if (a & LLAVA__GGA_NORMAL) {
            if (strip && pl >= 3 && !memcmp(p, "\xe2\x96\x81", 3)) k = 3;
            else if (strip && pl && p[0] == ' ') k = 1;
            for (; k < pl; k++) {
                if (k + 3 <= pl && !memcmp(p + k, "\xe2\x96\x81", 3)) {
                    llava_buf_put(&raw, " ", 1);
                    k += 2;
                } else {
                    llava_buf_put(&raw, p + k, 1);
                }
            }
        } else if ((a & LLAVA__GGA_BYTE) && pl >= 4) { /* token_to_byte: the hex digits after "<0x" */
            int v = 0, h, d;
            for (d = 0; d < 2 && 3 + (size_t)d < pl && (h = llava__tok_hexval(p[3 + d])) >= 0; d++) v = v * 16 + h;
            unsigned char c = (unsigned char)v;
            if (!(strip && c == ' ')) llava_buf_put(&raw, &c, 1);
        }
    }
    for (q = 0; q < raw.n;) {
        int v = llava__tok_utf8_valid((const unsigned char *)raw.p + q, raw.n - q);
        if (v > 0) {
            llava_buf_put(res, raw.p + q, (size_t)v);
            q += (size_t)v;
        } else {
            llava_buf_put(res, "\xef\xbf\xbd", 3);
            q++;
        }
    }
    if (!res->p) llava_buf_put(res, "", 0);
    int oom = raw.oom || res->oom;
    LLAVA_FREE(raw.p);
    return oom ? llava__err("out of memory while decoding %d ids", n) : 0;
}

/* a special id key: absent -> *id unchanged (llama.cpp's default); -1 (0xFFFFFFFF) keeps the default as
   llama.cpp does; any other id outside the vocabulary is refused */
static int llava__spm_gguf_id(const llava__gguf *g, const char *key, int n, int *id) {
    int64_t v = 0;
    int r = llava__gguf_int(g, key, &v);
    if (r <= 0) return r;
    if (v == -1 || v == 0xFFFFFFFFll) return 0;
    if (v < 0 || v >= n) return llava__err("%s: %s = %lld is outside the vocabulary of %d tokens", g->path, key, (long long)v, n);
    *id = (int)v;
    return 0;
}

static int llava__spm_gguf_sort_cmp(const void *a, const void *b) { /* (length, id) pairs: longest first, then by id */
    const int *x = (const int *)a, *y = (const int *)b;
    if (x[0] != y[0]) return x[0] > y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

static int llava__spm_gguf_has_sub(const llava__gguf *g, const char *key, const char *const *subs, int n_subs, int lower) {
    const char *v = NULL;
    size_t vn = 0, i;
    int k;
    if (llava__gguf_str(g, key, &v, &vn) != 1) return 0;
    for (k = 0; k < n_subs; k++) {
        size_t sl = strlen(subs[k]);
        for (i = 0; sl <= vn && i + sl <= vn; i++) {
            size_t j;
            for (j = 0; j < sl; j++) {
                char c = v[i + j];
                if (lower && c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
                if (c != subs[k][j]) break;
            }
            if (j == sl) return 1;
        }
    }
    return 0;
}

/* the tokenizer of a GGUF file whose tokenizer.ggml.model is "llama" (llama_vocab::impl::load) */
static LlavaTokenizer *llava__spm_from_gguf(const llava__gguf *g, const char *path) {
    /* spellings llama.cpp's load makes control tokens: end of generation (always), fill-in-the-middle
       (unless the file names that role's id) */
    static const char *const eog[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                                      "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                                      "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                                      ("<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"), "[e~["};
    static const struct {
        const char *key, *key2;
        const char *names[8];
    } fim[6] = {
        {"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id",
         {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>",
          "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"}},
        {"tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id",
         {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>", "<SUF>",
          "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"}},
        {"tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id",
         {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>",
          "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"}},
        {"tokenizer.ggml.fim_pad_token_id", NULL, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
        {"tokenizer.ggml.fim_rep_token_id", NULL, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
        {"tokenizer.ggml.fim_sep_token_id", NULL, {"<|file_sep|>"}},
    };
    const llava__gguf_kv *tokens = NULL, *scores = NULL, *types = NULL;
    int r, i, k, n = 0, rc = 0;
    int bos = 1, eos = 2, unk = 0, pad = -1, add_bos = 1, add_eos = 0, space = 1, any_byte = 0, n_special = 0;
    char **pieces = NULL;
    float *sc = NULL;
    int *ty = NULL, *order = NULL;
    LlavaTokenizer *t = NULL;
    if ((r = llava__gguf_arr(g, "tokenizer.ggml.tokens", LLAVA__GGUF_STRING, &tokens)) <= 0) {
        if (r == 0) llava__err("%s: no tokenizer.ggml.tokens", path);
        return NULL;
    }
    if (tokens->n == 0 || tokens->n >= (1u << 24)) {
        llava__err("%s: tokenizer.ggml.tokens has %llu entries (expected 1 to %d)", path, (unsigned long long)tokens->n, (1 << 24) - 1);
        return NULL;
    }
    n = (int)tokens->n;
    {
        const llava__gguf_kv *kv = llava__gguf_find(g, "tokenizer.ggml.scores");
        if (kv && (kv->type != LLAVA__GGUF_ARRAY || (kv->arr_type != LLAVA__GGUF_FLOAT32 && kv->arr_type != LLAVA__GGUF_INT32)))
            rc = llava__err("%s: tokenizer.ggml.scores is not an array of float32 or int32", path);
        else if (kv && kv->n < tokens->n)
            rc = llava__err("%s: tokenizer.ggml.scores has %llu entries for %d tokens", path, (unsigned long long)kv->n, n);
        scores = kv;
    }
    if (!rc && (r = llava__gguf_arr(g, "tokenizer.ggml.token_type", LLAVA__GGUF_INT32, &types)) < 0) rc = -1;
    if (!rc && types && types->n < tokens->n)
        rc = llava__err("%s: tokenizer.ggml.token_type has %llu entries for %d tokens", path, (unsigned long long)types->n, n);
    if (!rc && (bos >= n || eos >= n || unk >= n)) { /* defaults outside a tiny vocabulary: none */
        if (bos >= n) bos = -1;
        if (eos >= n) eos = -1;
        if (unk >= n) unk = -1;
    }
    if (!rc && (llava__spm_gguf_id(g, "tokenizer.ggml.bos_token_id", n, &bos) || llava__spm_gguf_id(g, "tokenizer.ggml.eos_token_id", n, &eos) ||
                llava__spm_gguf_id(g, "tokenizer.ggml.unknown_token_id", n, &unk) ||
                llava__spm_gguf_id(g, "tokenizer.ggml.padding_token_id", n, &pad)))
        rc = -1;
    if (!rc && (llava__gguf_bool(g, "tokenizer.ggml.add_bos_token", &add_bos) < 0 || llava__gguf_bool(g, "tokenizer.ggml.add_eos_token", &add_eos) < 0 ||
                llava__gguf_bool(g, "tokenizer.ggml.add_space_prefix", &space) < 0))
        rc = -1;
    if (!rc && add_bos && bos < 0) rc = llava__err("%s: tokenizer.ggml.add_bos_token is true, but there is no bos token", path);
    if (!rc && add_eos && eos < 0) rc = llava__err("%s: tokenizer.ggml.add_eos_token is true, but there is no eos token", path);
    if (!rc) {
        pieces = (char **)llava__calloc((size_t)n, sizeof *pieces);
        sc = (float *)LLAVA_MALLOC((size_t)n * sizeof *sc);
        ty = (int *)LLAVA_MALLOC((size_t)n * sizeof *ty);
        if (!pieces || !sc || !ty) rc = llava__err("%s: out of memory", path);
    }
    for (i = 0; !rc && i < n; i++) {
        size_t l;
        const char *p = llava__gguf_arr_str(tokens, (uint64_t)i, &l);
        if (l > LLAVA__TOK_MAX_TOKEN) rc = llava__err("%s: token %d is %zu bytes long (at most %d)", path, i, l, LLAVA__TOK_MAX_TOKEN);
        else if (l && memchr(p, 0, l)) rc = llava__err("%s: token %d holds a NUL byte", path, i);
        else if (!(pieces[i] = (char *)LLAVA_MALLOC(l ? l + 1 : 32))) rc = llava__err("%s: out of memory", path);
        else if (l) {
            memcpy(pieces[i], p, l);
            pieces[i][l] = 0;
        } else {
            snprintf(pieces[i], 32, "[EMPTY_%d]", i); /* llama.cpp's name for an empty token */
        }
        if (rc) break;
        sc[i] = !scores ? 0.0f : scores->arr_type == LLAVA__GGUF_FLOAT32 ? (float)llava__gguf_arr_num(scores, (uint64_t)i)
                                                                          : (float)llava__gguf_arr_i64(scores, (uint64_t)i);
        int64_t v = types ? llava__gguf_arr_i64(types, (uint64_t)i) : (int64_t)LLAVA__SPM_NORMAL;
        if (v < LLAVA__SPM_NORMAL || v > LLAVA__SPM_BYTE) {
            rc = llava__err("%s: token %d '%.64s' has type %lld (llama.cpp's token types are 1 to 6)", path, i, pieces[i], (long long)v);
            break;
        }
        ty[i] = (int)v;
        any_byte |= v == LLAVA__SPM_BYTE;
    }
    if (!rc) {
        llava__spm_opts o;
        memset(&o, 0, sizeof o);
        o.add_dummy_prefix = space; /* what the slow tokenizer's decoding (used for decode) needs to know */
        o.escape_whitespaces = 1;
        o.byte_fallback = any_byte;
        o.gguf = 1;
        o.unk_id = unk;
        o.bos_id = bos;
        o.eos_id = eos;
        o.pad_id = pad;
        t = llava__tok_from_spm((const char *const *)pieces, sc, ty, n, &o);
        if (!t) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", llava_last_error());
            rc = llava__err("%s: %s", path, msg);
        }
    }
    /* llama.cpp's token attributes and the tokens split out first */
    struct llava__spm *sp = t ? t->spm : NULL;
    if (!rc) {
        sp->gg_attr = (unsigned char *)llava__calloc((size_t)n, 1);
        order = (int *)LLAVA_MALLOC((size_t)n * 2 * sizeof(int));
        if (!sp->gg_attr || !order) rc = llava__err("%s: out of memory", path);
    }
    for (i = 0; !rc && i < n; i++) {
        static const unsigned char attr_of_type[7] = {0, LLAVA__GGA_NORMAL, LLAVA__GGA_UNKNOWN, LLAVA__GGA_CONTROL, LLAVA__GGA_USER,
                                                      LLAVA__GGA_UNUSED, LLAVA__GGA_BYTE};
        sp->gg_attr[i] = attr_of_type[ty[i]];
    }
    for (k = 0; !rc && k < 6; k++) {
        int64_t v;
        if (llava__gguf_int(g, fim[k].key, &v) == 1 && v >= 0 && v < n) continue; /* the role's id is given */
        if (fim[k].key2 && llava__gguf_int(g, fim[k].key2, &v) == 1 && v >= 0 && v < n) continue;
        for (i = 0; i < 8 && fim[k].names[i]; i++) {
            int id = llava_strmap_get(&t->vocab, fim[k].names[i], strlen(fim[k].names[i]));
            if (id >= 0) sp->gg_attr[id] |= LLAVA__GGA_CONTROL;
        }
    }
    for (k = 0; !rc && k < (int)(sizeof eog / sizeof eog[0]); k++) {
        int id = llava_strmap_get(&t->vocab, eog[k], strlen(eog[k]));
        if (id >= 0) sp->gg_attr[id] |= LLAVA__GGA_CONTROL;
    }
    if (!rc) { /* "</s>" next to "<|tool_response>", or to a "<|plamo:eos|>" that ends generation (as eos or eot), is a
                  normal token (llama.cpp's workaround for those models) */
        int tr = llava_strmap_get(&t->vocab, "<|tool_response>", 16), es = llava_strmap_get(&t->vocab, "</s>", 4);
        int pe = llava_strmap_get(&t->vocab, "<|plamo:eos|>", 13), eot = -1;
        if (pe >= 0 && pe != eos && llava__spm_gguf_id(g, "tokenizer.ggml.eot_token_id", n, &eot)) rc = -1;
        if (es >= 0 && (tr >= 0 || (pe >= 0 && (pe == eos || pe == eot)))) sp->gg_attr[es] = LLAVA__GGA_NORMAL;
    }
    if (!rc) { /* tokens llama.cpp makes user-defined (printed when decoding): gpt-oss's, and "<|end|>" next to
                  "<|return|>" and "<|call|>", or "<|calls|>" and "<|flush|>" */
        static const char *const ud[4] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};
        for (k = 0; k < 4; k++) {
            int id = llava_strmap_get(&t->vocab, ud[k], strlen(ud[k]));
            if (id >= 0) sp->gg_attr[id] = LLAVA__GGA_USER;
        }
        int en = llava_strmap_get(&t->vocab, "<|end|>", 7), re = llava_strmap_get(&t->vocab, "<|return|>", 10);
        int ca = llava_strmap_get(&t->vocab, "<|call|>", 8), cs = llava_strmap_get(&t->vocab, "<|calls|>", 9);
        int fl = llava_strmap_get(&t->vocab, "<|flush|>", 9);
        if (en >= 0 && (ca >= 0 || cs >= 0) && (re >= 0 || fl >= 0)) sp->gg_attr[en] = LLAVA__GGA_USER;
    }
    for (i = 0; !rc && i < n; i++)
        if (sp->gg_attr[i] & (LLAVA__GGA_CONTROL | LLAVA__GGA_USER | LLAVA__GGA_UNKNOWN)) {
            order[2 * n_special] = (int)strlen(pieces[i]);
            order[2 * n_special + 1] = i;
            n_special++;
        }
    if (!rc) {
        qsort(order, (size_t)n_special, 2 * sizeof(int), llava__spm_gguf_sort_cmp);
        sp->gg_special = (int *)LLAVA_MALLOC(((size_t)n_special + 1) * sizeof(int));
        if (!sp->gg_special) rc = llava__err("%s: out of memory", path);
        for (i = 0; !rc && i < n_special; i++) sp->gg_special[i] = order[2 * i + 1];
        sp->n_gg_special = n_special;
    }
    if (!rc) { /* per-model attributes llama.cpp sets by name */
        static const char *const phi3[] = {"phi-3", "phi3"}, *const jina[] = {"jina-v2-de", "jina-v2-es", "jina-v2-code"},
                                 *const arch[] = {"nomic-bert-moe", "jina-bert-v3"}, *const mbert[] = {"modern-bert"};
        if (llava__spm_gguf_has_sub(g, "tokenizer.ggml.pre", jina, 3, 0) || llava__spm_gguf_has_sub(g, "general.architecture", arch, 2, 0)) {
            int id = llava_strmap_get(&t->vocab, "<mask>", 6);
            if (id >= 0) sp->gg_attr[id] |= LLAVA__GGA_LSTRIP;
        } else if (llava__spm_gguf_has_sub(g, "general.name", phi3, 2, 1)) {
            static const char *const keep[3] = {"<unk>", "<s>", "<|endoftext|>"};
            int es = llava_strmap_get(&t->vocab, "</s>", 4);
            for (i = 0; i < n_special; i++) sp->gg_attr[sp->gg_special[i]] |= LLAVA__GGA_RSTRIP;
            if (es < 0) rc = llava__err("%s: general.name says Phi-3 but there is no '</s>' token (llama.cpp refuses the file)", path);
            else sp->gg_attr[es] |= LLAVA__GGA_RSTRIP;
            for (k = 0; !rc && k < 3; k++) {
                int id = llava_strmap_get(&t->vocab, keep[k], strlen(keep[k]));
                if (id < 0) rc = llava__err("%s: general.name says Phi-3 but there is no '%s' token (llama.cpp refuses the file)", path, keep[k]);
                else sp->gg_attr[id] &= (unsigned char)~LLAVA__GGA_RSTRIP;
            }
        } else if (llava__spm_gguf_has_sub(g, "general.name", mbert, 1, 1)) {
            int id = llava_strmap_get(&t->vocab, "[MASK]", 6);
            if (id >= 0) sp->gg_attr[id] |= LLAVA__GGA_LSTRIP;
        }
    }
    for (i = 0; !rc && i < 256; i++) { /* llama_vocab::byte_to_token */
        static const char hex[] = "0123456789ABCDEF";
        char b[6] = {'<', '0', 'x', hex[i >> 4], hex[i & 15], '>'}, c = (char)i;
        int id = llava_strmap_get(&t->vocab, b, 6);
        if (id < 0) id = i ? llava_strmap_get(&t->vocab, &c, 1) : -1;
        sp->gg_byte[i] = id;
    }
    /* the rest of the tokenizer: control tokens (and bos / eos / unk) are its special tokens, for
       decoding (the slow tokenizer's rules) and llava_token_is_special */
    int n_added = 0;
    for (i = 0; !rc && i < n; i++) n_added += (sp->gg_attr[i] & LLAVA__GGA_CONTROL) || i == bos || i == eos || i == unk;
    if (!rc) {
        t->added = (llava__tok_added *)llava__calloc((size_t)n_added + 1, sizeof *t->added);
        t->added_of_id = (int *)LLAVA_MALLOC(((size_t)n + 1) * sizeof(int));
        sp->all_special = (unsigned char *)llava__calloc((size_t)n + 1, 1);
        if (!t->added || !t->added_of_id || !sp->all_special) rc = llava__err("%s: out of memory", path);
    }
    for (i = 0; !rc && i < n; i++) {
        t->added_of_id[i] = -1;
        if (!((sp->gg_attr[i] & LLAVA__GGA_CONTROL) || i == bos || i == eos || i == unk)) continue;
        llava__tok_added *a = &t->added[t->n_added];
        if (!(a->content = llava__strdup(pieces[i]))) {
            rc = llava__err("%s: out of memory", path);
            break;
        }
        a->len = strlen(pieces[i]);
        a->id = i;
        a->special = 1;
        sp->all_special[i] = 1;
        t->added_of_id[i] = t->n_added++;
    }
    if (!rc) {
        t->bos = bos;
        t->eos = eos;
        t->unk = unk;
        t->pad = pad;
        sp->gg_space_prefix = space;
        if (add_bos) llava__tok_ipush(&t->pre_ids, bos);
        if (add_eos) llava__tok_ipush(&t->post_ids, eos);
        if (t->pre_ids.oom || t->post_ids.oom || llava__tok_build_aset(t, &t->raw_set, 0) || llava__tok_build_aset(t, &t->norm_set, 1))
            rc = llava__err("%s: out of memory", path);
    }
    for (i = 0; pieces && i < n; i++) LLAVA_FREE(pieces[i]);
    LLAVA_FREE(pieces);
    LLAVA_FREE(sc);
    LLAVA_FREE(ty);
    LLAVA_FREE(order);
    if (rc) {
        llava_tokenizer_free(t);
        return NULL;
    }
    return t;
}

/* LlavaDecoder over a tokenizer.model: the slow tokenizer's decode of an arbitrary window does not
   compose (convert_tokens_to_string drops the window's first "▁", sentencepiece then another, special
   tokens get spaces by position), so each push decodes the ids since an anchor and returns what follows
   the text already returned for them (d->prefix), holding back text that ends in U+FFFD (an unfinished
   character) and, with clean_up_tokenization_spaces, the last 3 bytes (a " n't"-style replacement may
   still take them). An anchor is a NORMAL or USER_DEFINED piece that does not start with "▁": every rule
   of the decode then treats what follows it the same whether the text before it is there or not, so
   the window restarts at the last id once all text is out (not with clean_up, which rewrites across
   tokens). llava_decoder_flush returns the rest. */
static const char *llava__spm_stream(LlavaDecoder *d, int id, size_t *len) {
    LlavaBuf s;
    const char *ret = NULL;
    const struct llava__spm *sp = d->tok->spm;
    size_t keep;
    int all_out;
    memset(&s, 0, sizeof s);
    if (d->n == d->cap) {
        if (d->cap > (1 << 28)) {
            llava__err("streaming decoder: too many ids");
            return NULL;
        }
        int nc = d->cap ? d->cap * 2 : 16;
        int *p = (int *)LLAVA_REALLOC(d->ids, (size_t)nc * sizeof(int));
        if (!p) {
            llava__err("out of memory");
            return NULL;
        }
        d->ids = p;
        d->cap = nc;
    }
    d->ids[d->n++] = id;
    if (llava__spm_decode_x(d->tok, d->ids, d->n, d->skip_special, 1, &s)) goto done;
    keep = s.n;
    if (llava__tok_ends_fffd(&s)) keep = d->prefix_len;
    else if (sp->clean_up) {
        keep = s.n >= 3 ? s.n - 3 : 0;
        while (keep > 0 && ((unsigned char)s.p[keep] & 0xC0) == 0x80) keep--;
    }
    if (memcmp(s.p, d->prefix ? d->prefix : "", LLAVA__MIN(d->prefix_len, s.n)) || s.n < d->prefix_len) {
        llava__err("streaming decoder: the text of id %d does not continue the text before it", id);
        goto done;
    }
    all_out = keep == s.n;
    if (keep > d->prefix_len) {
        ret = llava__tok_dec_ret(d, s.p + d->prefix_len, keep - d->prefix_len, len);
        s.n = keep;
        s.p[keep] = 0;
        if (ret && llava__tok_dec_set_prefix(d, &s)) ret = NULL;
        if (ret) ret = d->text;
    } else {
        ret = llava__tok_dec_ret(d, "", 0, len);
    }
    if (ret && all_out && !sp->clean_up && id < sp->n && d->tok->added_of_id[id] < 0 &&
        (sp->type[id] == LLAVA__SPM_NORMAL || sp->type[id] == LLAVA__SPM_USER)) {
        size_t pl;
        const char *p = llava__tok_id_str(d->tok, id, &pl);
        if (p && pl && !(pl >= 3 && !memcmp(p, "\xe2\x96\x81", 3))) { /* the window restarts at this anchor */
            s.n = 0;
            d->ids[0] = id;
            d->n = 1;
            if (llava__spm_decode_x(d->tok, d->ids, 1, d->skip_special, 1, &s) || llava__tok_dec_set_prefix(d, &s)) ret = NULL;
        }
    }
done:
    LLAVA_FREE(s.p);
    return ret;
}

/* --- BPE trainer ------------------------------------------------------------------------------------
   SentencePiece-style: each line becomes "▁" + line with spaces as "▁" (Metaspace, prepend_scheme
   "first"), split into words before each "▁"; the alphabet is the most frequent characters (the rest
   fall back to bytes); then the most frequent adjacent pair is merged until the vocabulary is full
   (ties: the lexicographically smallest merged string), never joining two scripts (SentencePiece's
   split_by_unicode_script: letters, digits and punctuation stay apart). No merge ever crosses a "▁", so encoding a
   whole text (split=false, as LLaMA's tokenizer.json says) equals encoding word by word. */
typedef struct {
    char **s;
    size_t *n;
    int count, cap;
} llava__tok_vocabw;
static int llava__tok_vw_add(llava__tok_vocabw *v, const char *s, size_t n) {
    if (v->count == v->cap) {
        int nc = v->cap ? v->cap * 2 : 512;
        char **ns = (char **)LLAVA_REALLOC(v->s, (size_t)nc * sizeof(char *));
        if (ns) v->s = ns;
        size_t *nn = (size_t *)LLAVA_REALLOC(v->n, (size_t)nc * sizeof(size_t));
        if (nn) v->n = nn;
        if (!ns || !nn) return -1;
        v->cap = nc;
    }
    char *c = (char *)LLAVA_MALLOC(n + 1);
    if (!c) return -1;
    memcpy(c, s, n);
    c[n] = 0;
    v->s[v->count] = c;
    v->n[v->count] = n;
    return v->count++;
}
typedef struct {
    const char *s;
    size_t n;
    long long count;
} llava__tok_charfreq;
static int llava__tok_charfreq_cmp(const void *a, const void *b) {
    const llava__tok_charfreq *x = (const llava__tok_charfreq *)a, *y = (const llava__tok_charfreq *)b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    size_t m = LLAVA__MIN(x->n, y->n);
    int c = memcmp(x->s, y->s, m);
    return c ? c : (x->n < y->n ? -1 : x->n > y->n);
}
static void llava__tok_added_json(LlavaBuf *o, int id, const char *content) {
    llava_buf_printf(o, "{\"id\":%d,\"content\":", id);
    llava_buf_json_string(o, content, strlen(content));
    llava_buf_puts(o, ",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}");
}

/* The script class of a code point, as SentencePiece's trainer sees it with split_by_unicode_script (its
   default): no piece mixes two classes, so "triangle." stays "triangle" + ".". "▁" goes with any class;
   digits, punctuation and symbols are Common; letters go by their script, Hiragana and Katakana with Han.
   Scripts are told apart by their main Unicode blocks, an approximation of the script property that
   is exact for ASCII. */
enum { LLAVA__SC_ANY, LLAVA__SC_COMMON, LLAVA__SC_LATIN, LLAVA__SC_GREEK, LLAVA__SC_CYRILLIC, LLAVA__SC_ARMENIAN, LLAVA__SC_HEBREW,
       LLAVA__SC_ARABIC, LLAVA__SC_DEVANAGARI, LLAVA__SC_THAI, LLAVA__SC_HANGUL, LLAVA__SC_HAN, LLAVA__SC_OTHER };
static int llava__tok_script(uint32_t c) {
    if (c == 0x2581) return LLAVA__SC_ANY;
    if (c < 0x80) return ((c | 32) >= 'a' && (c | 32) <= 'z') ? LLAVA__SC_LATIN : LLAVA__SC_COMMON;
    if (c < 0xC0 || c == 0xD7 || c == 0xF7) return LLAVA__SC_COMMON;
    if (c < 0x250 || (c >= 0x1E00 && c < 0x1F00)) return LLAVA__SC_LATIN;
    if ((c >= 0x370 && c < 0x400) || (c >= 0x1F00 && c < 0x2000)) return LLAVA__SC_GREEK;
    if (c >= 0x400 && c < 0x530) return LLAVA__SC_CYRILLIC;
    if (c >= 0x530 && c < 0x590) return LLAVA__SC_ARMENIAN;
    if (c >= 0x590 && c < 0x600) return LLAVA__SC_HEBREW;
    if ((c >= 0x600 && c < 0x700) || (c >= 0x750 && c < 0x780)) return LLAVA__SC_ARABIC;
    if (c >= 0x900 && c < 0x980) return LLAVA__SC_DEVANAGARI;
    if (c >= 0xE00 && c < 0xE80) return LLAVA__SC_THAI;
    if ((c >= 0x1100 && c < 0x1200) || (c >= 0x3130 && c < 0x3190) || (c >= 0xAC00 && c < 0xD7B0)) return LLAVA__SC_HANGUL;
    if ((c >= 0x2E80 && c < 0x2FE0) || (c >= 0x3040 && c < 0x3100) || (c >= 0x3400 && c < 0x4DC0) || (c >= 0x4E00 && c < 0xA000) ||
        (c >= 0xF900 && c < 0xFB00) || (c >= 0x20000 && c < 0x30000))
        return LLAVA__SC_HAN;
    if ((c >= 0x2000 && c < 0x2C00) || (c >= 0x3000 && c < 0x3040) || (c >= 0xFE30 && c < 0xFE70)) return LLAVA__SC_COMMON;
    return LLAVA__SC_OTHER;
}
/* a token's class: its characters' (one class, as merges keep it), LLAVA__SC_ANY for "▁" alone */
static int llava__tok_script_of(const char *s, size_t n) {
    int c = LLAVA__SC_ANY;
    size_t q;
    for (q = 0; q < n;) {
        uint32_t cp;
        int l = llava__tok_utf8_next(s + q, &cp), k = llava__tok_script(cp);
        if (k != LLAVA__SC_ANY) c = k;
        q += (size_t)(l > 0 ? l : 1);
    }
    return c;
}

LLAVADEF int llava_bpe_train(const char *corpus, size_t len, const LlavaBpeTrainOptions *opt, const char *dir) {
    static const char *base[3] = {"<unk>", "<s>", "</s>"};
    const char *meta = "\xe2\x96\x81"; /* ▁ */
    LlavaStrMap words, chars;
    llava__tok_vocabw voc;
    LlavaBuf line, out;
    llava__tok_ints wsym, wstart, wcount, mleft, mright;
    llava__tok_charfreq *cf = NULL;
    long long total = 0;
    int rc = 0, i, k;
    size_t p;
    memset(&words, 0, sizeof words);
    memset(&chars, 0, sizeof chars);
    memset(&voc, 0, sizeof voc);
    memset(&line, 0, sizeof line);
    memset(&out, 0, sizeof out);
    memset(&wsym, 0, sizeof wsym);
    memset(&wstart, 0, sizeof wstart);
    memset(&wcount, 0, sizeof wcount);
    memset(&mleft, 0, sizeof mleft);
    memset(&mright, 0, sizeof mright);
    const int n_special = opt->n_specials > 0 ? opt->n_specials : 0;
    const int min_freq = opt->min_frequency > 0 ? opt->min_frequency : 2;
    const double coverage = opt->character_coverage > 0 ? opt->character_coverage : 0.9995;
    const int target = opt->vocab_size - n_special; /* model vocabulary size */
    if (target < 3 + 256 + 1)
        return llava__err("llava_bpe_train: vocab_size %d leaves no room beyond <unk>, <s>, </s>, 256 byte tokens and %d specials",
                          opt->vocab_size, n_special);
    if (llava__tok_check_text(corpus, len > LLAVA_TOKENIZE_MAX_BYTES ? 0 : len)) return -1;
    if (len > LLAVA_TOKENIZE_MAX_BYTES) return llava__err("llava_bpe_train: corpus of %zu bytes is over the limit of %u", len, (unsigned)LLAVA_TOKENIZE_MAX_BYTES);
    for (i = 0; i < n_special; i++)
        if (!opt->specials[i] || !opt->specials[i][0]) return llava__err("llava_bpe_train: special token %d is empty", i);
    /* words and their counts */
    for (p = 0; p <= len && !rc;) {
        size_t e = p;
        while (e < len && corpus[e] != '\n') e++;
        line.n = 0;
        if (e > p) {
            llava_buf_puts(&line, meta);
            for (size_t q = p; q < e; q++) {
                if (corpus[q] == ' ') llava_buf_puts(&line, meta);
                else llava_buf_put(&line, corpus + q, 1);
            }
            size_t a = 0, q;
            for (q = 3; q <= line.n; q++) {
                if (q == line.n || !memcmp(line.p + q, meta, 3)) {
                    if (llava_strmap_count(&words, line.p + a, q - a) < 0) rc = llava__err("llava_bpe_train: out of memory");
                    a = q;
                }
            }
        }
        p = e + 1;
    }
    /* character frequencies -> alphabet */
    for (i = 0; i < words.n && !rc; i++) {
        const char *w = words.keys.p + words.koff[i];
        size_t wn = words.klen[i], q;
        for (q = 0; q < wn;) {
            uint32_t cp;
            int l = llava__tok_utf8_next(w + q, &cp), ent = llava_strmap_find(&chars, w + q, (size_t)l);
            if (ent >= 0) chars.val[ent] += words.val[i];
            else if (llava_strmap_put(&chars, w + q, (size_t)l, words.val[i]) < 0) rc = llava__err("llava_bpe_train: out of memory");
            total += words.val[i];
            q += (size_t)l;
        }
    }
    if (!rc && !(cf = (llava__tok_charfreq *)llava__calloc((size_t)chars.n + 1, sizeof *cf))) rc = llava__err("llava_bpe_train: out of memory");
    for (i = 0; i < 3 && !rc; i++)
        if (llava__tok_vw_add(&voc, base[i], strlen(base[i])) < 0) rc = llava__err("llava_bpe_train: out of memory");
    for (i = 0; i < 256 && !rc; i++) {
        char b[8];
        snprintf(b, sizeof b, "<0x%02X>", i);
        if (llava__tok_vw_add(&voc, b, 6) < 0) rc = llava__err("llava_bpe_train: out of memory");
    }
    LlavaStrMap ids; /* token string -> id */
    memset(&ids, 0, sizeof ids);
    for (i = 0; i < voc.count && !rc; i++)
        if (llava_strmap_put(&ids, voc.s[i], voc.n[i], i) < 0) rc = llava__err("llava_bpe_train: out of memory");
    if (!rc) {
        for (i = 0; i < chars.n; i++) {
            cf[i].s = chars.keys.p + chars.koff[i];
            cf[i].n = chars.klen[i];
            cf[i].count = chars.val[i];
        }
        qsort(cf, (size_t)chars.n, sizeof *cf, llava__tok_charfreq_cmp);
        long long covered = 0;
        for (i = 0; i < chars.n && voc.count < target && !rc; i++) {
            if (i > 0 && (double)covered >= coverage * (double)total) break;
            covered += cf[i].count;
            int id = llava__tok_vw_add(&voc, cf[i].s, cf[i].n);
            if (id < 0 || llava_strmap_put(&ids, cf[i].s, cf[i].n, id) < 0) rc = llava__err("llava_bpe_train: out of memory");
        }
    }
    /* words as symbol ids (-1: a character outside the alphabet, never merged) */
    for (i = 0; i < words.n && !rc; i++) {
        const char *w = words.keys.p + words.koff[i];
        size_t wn = words.klen[i], q;
        llava__tok_ipush(&wstart, (int)wsym.n);
        llava__tok_ipush(&wcount, words.val[i]);
        for (q = 0; q < wn;) {
            uint32_t cp;
            int l = llava__tok_utf8_next(w + q, &cp);
            llava__tok_ipush(&wsym, llava_strmap_get(&ids, w + q, (size_t)l));
            q += (size_t)l;
        }
    }
    llava__tok_ipush(&wstart, (int)wsym.n);
    if (wsym.oom || wstart.oom || wcount.oom) rc = llava__err("llava_bpe_train: out of memory");
    /* merges; a pair whose tokens' script classes differ (neither "▁" alone) is never merged */
    int *cls = rc ? NULL : (int *)llava__calloc((size_t)target + 1, sizeof(int));
    if (!rc && !cls) rc = llava__err("llava_bpe_train: out of memory");
    for (i = 0; i < voc.count && !rc; i++) cls[i] = llava__tok_script_of(voc.s[i], voc.n[i]);
    llava__tok_pmap pc;
    memset(&pc, 0, sizeof pc);
    int *pcount = NULL;
    while (!rc && voc.count < target) {
        llava__tok_pmap_free(&pc);
        LLAVA_FREE(pcount);
        pcount = NULL;
        if (llava__tok_pmap_init(&pc, (int)wsym.n + 16) || !(pcount = (int *)llava__calloc((size_t)wsym.n + 16, sizeof(int)))) {
            rc = llava__err("llava_bpe_train: out of memory");
            break;
        }
        int n_pairs = 0, best = -1;
        int *pa = (int *)LLAVA_MALLOC(((size_t)wsym.n + 16) * 2 * sizeof(int));
        if (!pa) {
            rc = llava__err("llava_bpe_train: out of memory");
            break;
        }
        for (i = 0; i + 1 < (int)wstart.n; i++) {
            int a = wstart.p[i], b = wstart.p[i + 1];
            for (k = a; k + 1 < b; k++) {
                int x = wsym.p[k], y = wsym.p[k + 1], slot;
                if (x < 0 || y < 0 || (cls[x] != cls[y] && cls[x] != LLAVA__SC_ANY && cls[y] != LLAVA__SC_ANY)) continue;
                if (llava__tok_pmap_get(&pc, x, y, &slot) < 0) {
                    slot = n_pairs++;
                    llava__tok_pmap_put(&pc, x, y, 0, slot);
                    pa[2 * slot] = x;
                    pa[2 * slot + 1] = y;
                }
                pcount[slot] += wcount.p[i];
            }
        }
        for (k = 0; k < n_pairs; k++) {
            if (pcount[k] < min_freq) continue;
            if (best < 0 || pcount[k] > pcount[best]) {
                best = k;
                continue;
            }
            if (pcount[k] < pcount[best]) continue;
            /* tie: the smaller merged string, then the shorter left part */
            int xa = pa[2 * k], xb = pa[2 * k + 1], ya = pa[2 * best], yb = pa[2 * best + 1];
            line.n = 0;
            llava_buf_put(&line, voc.s[xa], voc.n[xa]);
            llava_buf_put(&line, voc.s[xb], voc.n[xb]);
            size_t ln = line.n;
            llava_buf_put(&line, voc.s[ya], voc.n[ya]);
            llava_buf_put(&line, voc.s[yb], voc.n[yb]);
            size_t rn = line.n - ln, m = LLAVA__MIN(ln, rn);
            int c = memcmp(line.p, line.p + ln, m);
            if (c < 0 || (c == 0 && (ln < rn || (ln == rn && voc.n[xa] < voc.n[ya])))) best = k;
        }
        if (best < 0) {
            LLAVA_FREE(pa);
            break; /* no pair is frequent enough: a smaller vocabulary */
        }
        int A = pa[2 * best], B = pa[2 * best + 1];
        LLAVA_FREE(pa);
        line.n = 0;
        llava_buf_put(&line, voc.s[A], voc.n[A]);
        llava_buf_put(&line, voc.s[B], voc.n[B]);
        int nid = llava_strmap_get(&ids, line.p, line.n);
        if (nid < 0) {
            nid = llava__tok_vw_add(&voc, line.p, line.n);
            if (nid < 0 || llava_strmap_put(&ids, line.p, line.n, nid) < 0) {
                rc = llava__err("llava_bpe_train: out of memory");
                break;
            }
            cls[nid] = cls[A] != LLAVA__SC_ANY ? cls[A] : cls[B];
        }
        llava__tok_ipush(&mleft, A);
        llava__tok_ipush(&mright, B);
        /* apply the merge in every word, left to right */
        for (i = 0; i + 1 < (int)wstart.n; i++) {
            int a = wstart.p[i], b = wstart.p[i + 1], w = a;
            for (k = a; k < b; k++) {
                if (k + 1 < b && wsym.p[k] == A && wsym.p[k + 1] == B) {
                    wsym.p[w++] = nid;
                    k++;
                } else wsym.p[w++] = wsym.p[k];
            }
            for (; w < b; w++) wsym.p[w] = -2; /* padding: never pairs (skipped below) */
        }
        /* compact the padding away */
        int w = 0, wi = 0;
        for (i = 0; i + 1 < (int)wstart.n; i++) {
            int a = wstart.p[i], b = wstart.p[i + 1];
            wstart.p[wi++] = w;
            for (k = a; k < b; k++)
                if (wsym.p[k] != -2) wsym.p[w++] = wsym.p[k];
        }
        wstart.p[wi] = w;
        wsym.n = (size_t)w;
    }
    llava__tok_pmap_free(&pc);
    LLAVA_FREE(pcount);
    LLAVA_FREE(cls);
    /* tokenizer.json */
    if (!rc) {
        llava_buf_puts(&out, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [\n");
        for (i = 0; i < 3; i++) {
            llava_buf_puts(&out, "    ");
            llava__tok_added_json(&out, i, base[i]);
            llava_buf_puts(&out, i + 1 < 3 + n_special ? ",\n" : "\n");
        }
        for (i = 0; i < n_special; i++) {
            llava_buf_puts(&out, "    ");
            llava__tok_added_json(&out, voc.count + i, opt->specials[i]);
            llava_buf_puts(&out, i + 1 < n_special ? ",\n" : "\n");
        }
        llava_buf_puts(&out, "  ],\n  \"normalizer\": null,\n"
                              "  \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\xe2\x96\x81\", \"prepend_scheme\": \"first\", \"split\": false},\n"
                              "  \"post_processor\": {\"type\": \"TemplateProcessing\", "
                              "\"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], "
                              "\"pair\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, "
                              "{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 1}}, {\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}], "
                              "\"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}}},\n"
                              "  \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": \"\xe2\x96\x81\"}, "
                              "\"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \", "
                              "\"start\": 1, \"stop\": 0}]},\n"
                              "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": \"<unk>\",\n"
                              "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": true,\n"
                              "    \"byte_fallback\": true,\n    \"ignore_merges\": false,\n    \"vocab\": {\n");
        for (i = 0; i < voc.count; i++) {
            llava_buf_puts(&out, "      ");
            llava_buf_json_string(&out, voc.s[i], voc.n[i]);
            llava_buf_printf(&out, ": %d%s\n", i, i + 1 < voc.count ? "," : "");
        }
        llava_buf_puts(&out, "    },\n    \"merges\": [\n");
        for (p = 0; p < mleft.n; p++) {
            llava_buf_puts(&out, "      [");
            llava_buf_json_string(&out, voc.s[mleft.p[p]], voc.n[mleft.p[p]]);
            llava_buf_puts(&out, ", ");
            llava_buf_json_string(&out, voc.s[mright.p[p]], voc.n[mright.p[p]]);
            llava_buf_puts(&out, p + 1 < mleft.n ? "],\n" : "]\n");
        }
        llava_buf_puts(&out, "    ]\n  }\n}\n");
        char *path = llava__path_join(dir, "tokenizer.json");
        if (out.oom || !path) rc = llava__err("llava_bpe_train: out of memory");
        else rc = llava_write_text(path, out.p);
        LLAVA_FREE(path);
    }
    /* tokenizer_config.json */
    if (!rc) {
        out.n = 0;
        llava_buf_puts(&out, "{\n  \"add_bos_token\": true,\n  \"add_eos_token\": false,\n  \"added_tokens_decoder\": {\n");
        for (i = 0; i < 3 + n_special; i++) {
            int id = i < 3 ? i : voc.count + i - 3;
            llava_buf_printf(&out, "    \"%d\": ", id);
            llava__tok_added_json(&out, id, i < 3 ? base[i] : opt->specials[i - 3]);
            llava_buf_puts(&out, i + 1 < 3 + n_special ? ",\n" : "\n");
        }
        llava_buf_puts(&out, "  },\n  \"bos_token\": \"<s>\",\n  \"clean_up_tokenization_spaces\": false,\n  \"eos_token\": \"</s>\",\n"
                              "  \"legacy\": false,\n  \"model_max_length\": 4096,\n  \"pad_token\": \"<unk>\",\n"
                              "  \"tokenizer_class\": \"LlamaTokenizer\",\n  \"unk_token\": \"<unk>\"\n}\n");
        char *path = llava__path_join(dir, "tokenizer_config.json");
        if (out.oom || !path) rc = llava__err("llava_bpe_train: out of memory");
        else rc = llava_write_text(path, out.p);
        LLAVA_FREE(path);
    }
    for (i = 0; i < voc.count; i++) LLAVA_FREE(voc.s[i]);
    LLAVA_FREE(voc.s);
    LLAVA_FREE(voc.n);
    llava_strmap_free(&words);
    llava_strmap_free(&chars);
    llava_strmap_free(&ids);
    LLAVA_FREE(cf);
    LLAVA_FREE(line.p);
    LLAVA_FREE(out.p);
    LLAVA_FREE(wsym.p);
    LLAVA_FREE(wstart.p);
    LLAVA_FREE(wcount.p);
    LLAVA_FREE(mleft.p);
    LLAVA_FREE(mright.p);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
   11. Conversation templates: the prompt formats LLaVA checkpoints were trained with, rendered to
       text and to ids with the training label mask.
       Reference: haotian-liu/LLaVA llava/conversation.py (get_prompt, SeparatorStyle.TWO / PLAIN),
       llava/train/train.py (preprocess_multimodal, preprocess_v1, preprocess_plain),
       llava/mm_utils.py (tokenizer_image_token); the llava-1.5-*-hf chat template; for chatml the chat
       templates of Qwen2-Instruct, SmolLM2-Instruct and llava-onevision-*-hf, LLaVA-NeXT's
       llava/train/train.py (preprocess_qwen).
   ------------------------------------------------------------------------------------------------ */
static const char *const llava__tpl_names[LLAVA_TEMPLATE_COUNT] = {"llava_hf", "vicuna_v1", "llava_v1", "plain", "chatml"};
static const char *const llava__tpl_system[LLAVA_TEMPLATE_COUNT] = {
    "",
    /* conv_vicuna_v1 (LLaVA-1.5) */
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions.",
    /* conv_llava_v1 */
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions.",
    "", ""};

LLAVADEF int llava_template_from_name(const char *name) {
    int i;
    if (!name) return -1;
    for (i = 0; i < LLAVA_TEMPLATE_COUNT; i++)
        if (!strcmp(name, llava__tpl_names[i])) return i;
    if (!strcmp(name, "v1")) return LLAVA_TEMPLATE_VICUNA_V1; /* the original's alias */
    return -1;
}
LLAVADEF const char *llava_template_name(LlavaTemplate t) { return (int)t >= 0 && t < LLAVA_TEMPLATE_COUNT ? llava__tpl_names[t] : NULL; }
LLAVADEF void llava_free_string(char *s) { LLAVA_FREE(s); }

enum { LLAVA__ROLE_SYSTEM, LLAVA__ROLE_USER, LLAVA__ROLE_ASSISTANT };
static int llava__tpl_role(const char *r) {
    if (!r) return -1;
    if (!strcmp(r, "user") || !strcmp(r, "human")) return LLAVA__ROLE_USER;
    if (!strcmp(r, "assistant") || !strcmp(r, "gpt")) return LLAVA__ROLE_ASSISTANT;
    if (!strcmp(r, "system")) return LLAVA__ROLE_SYSTEM;
    return -1;
}
/* Python's str.strip() bounds */
static void llava__tpl_strip(const char *s, size_t n, size_t *a, size_t *b) {
    size_t i = 0, e = n;
    while (i < e) {
        uint32_t cp;
        int l = llava__tok_utf8_next(s + i, &cp);
        if (!llava__tok_is_space(cp) && !(cp >= 0x1C && cp <= 0x1F)) break;
        i += (size_t)l;
    }
    while (e > i) {
        size_t q = e - 1;
        uint32_t cp;
        while (q > i && ((unsigned char)s[q] & 0xC0) == 0x80) q--;
        llava__tok_utf8_next(s + q, &cp);
        if (!llava__tok_is_space(cp) && !(cp >= 0x1C && cp <= 0x1F)) break;
        e = q;
    }
    *a = i;
    *b = e;
}
/* text without its "<image>" marks; returns how many there were */
static int llava__tpl_without_image(const char *s, LlavaBuf *o) {
    int k = 0;
    const char *p = s, *q;
    while ((q = strstr(p, "<image>"))) {
        llava_buf_put(o, p, (size_t)(q - p));
        p = q + 7;
        k++;
    }
    llava_buf_puts(o, p);
    return k;
}
/* preprocess_multimodal: a message with "<image>" becomes "<image>\n" + the rest, stripped */
static void llava__tpl_put_multimodal(LlavaBuf *o, const char *text) {
    LlavaBuf t;
    size_t a, b;
    memset(&t, 0, sizeof t);
    int k = llava__tpl_without_image(text, &t);
    if (!k) {
        llava_buf_puts(o, text);
    } else {
        llava__tpl_strip(t.p ? t.p : "", t.n, &a, &b);
        llava_buf_puts(o, "<image>\n");
        llava_buf_put(o, t.p ? t.p + a : "", b - a);
        if (b == a) o->n--, o->p[o->n] = 0; /* "<image>\n".strip() */
    }
    LLAVA_FREE(t.p);
}

/* chatml (Qwen2-Instruct's and SmolLM2-Instruct's chat templates, whose Jinja writes
   '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' per message and
   '<|im_start|>assistant\n' as the generation prompt). A user message with "<image>" marks is written
   as llava-onevision-hf's chat template writes its image parts: "<image>\n" per image, then the text
   (stripped, as the marks' newline goes with them). No default system message is added (see
   LLAVA_TEMPLATE_CHATML). The supervised span of an answer is its text and "<|im_end|>": the tokens the
   model generates before it stops. LLaVA-NeXT's preprocess_qwen supervises those too, and beside them
   each message's "<|im_start|>" and the "\n" after "<|im_end|>", which a model never generates within
   an answer; they are left out here. */
static int llava__tpl_render_chatml(const LlavaMessage *msgs, int n, int gen, LlavaBuf *o, llava__tok_ints *spans) {
    static const char *const role_name[3] = {"system", "user", "assistant"}; /* LLAVA__ROLE_*; "human"/"gpt" as user/assistant */
    int i, k;
    for (i = 0; i < n; i++) {
        const int r = llava__tpl_role(msgs[i].role);
        llava_buf_puts(o, "<|im_start|>");
        llava_buf_puts(o, role_name[r]);
        llava_buf_puts(o, "\n");
        if (r == LLAVA__ROLE_ASSISTANT) llava__tok_ipush(spans, (int)o->n);
        if (r == LLAVA__ROLE_USER && strstr(msgs[i].text, "<image>")) {
            LlavaBuf tx;
            size_t a, b;
            memset(&tx, 0, sizeof tx);
            const int im = llava__tpl_without_image(msgs[i].text, &tx);
            for (k = 0; k < im; k++) llava_buf_puts(o, "<image>\n");
            llava__tpl_strip(tx.p ? tx.p : "", tx.n, &a, &b);
            llava_buf_put(o, tx.p ? tx.p + a : "", b - a);
            LLAVA_FREE(tx.p);
        } else {
            llava_buf_puts(o, msgs[i].text);
        }
        llava_buf_puts(o, "<|im_end|>");
        if (r == LLAVA__ROLE_ASSISTANT) llava__tok_ipush(spans, (int)o->n);
        llava_buf_puts(o, "\n");
    }
    if (gen) llava_buf_puts(o, "<|im_start|>assistant\n");
    return o->oom || spans->oom ? llava__err("out of memory") : 0;
}

/* renders msgs; spans receives [start, end) byte pairs of each assistant answer and its end token */
static int llava__tpl_render(LlavaTemplate t, const LlavaMessage *msgs, int n, int gen, const char *sample, LlavaBuf *o, llava__tok_ints *spans) {
    int i, k = 0;
    const char *name = sample ? sample : "(unnamed)";
    if ((int)t < 0 || t >= LLAVA_TEMPLATE_COUNT) return llava__err("sample '%s': unknown template %d", name, (int)t);
    for (i = 0; i < n; i++) {
        if (llava__tpl_role(msgs[i].role) < 0)
            return llava__err("sample '%s': message %d has role '%s' (expected system, user or assistant)", name, i, msgs[i].role ? msgs[i].role : "(null)");
        if (!msgs[i].text) return llava__err("sample '%s': message %d has no text", name, i);
    }
    if (t == LLAVA_TEMPLATE_PLAIN) {
        /* preprocess_plain: exactly (image prompt, caption); the prompt is reduced to "<image>" */
        int u = -1, a = -1;
        for (i = 0; i < n; i++) {
            int r = llava__tpl_role(msgs[i].role);
            if (r == LLAVA__ROLE_USER && u < 0) u = i;
            else if (r == LLAVA__ROLE_ASSISTANT && u >= 0 && a < 0) a = i;
            else if (r != LLAVA__ROLE_SYSTEM) return llava__err("sample '%s': the plain template takes one user turn (with <image>) and one caption", name);
        }
        if (u < 0 || !strstr(msgs[u].text, "<image>")) return llava__err("sample '%s': the plain template needs a user turn with <image>", name);
        if (a < 0 && !gen) return llava__err("sample '%s': the plain template needs the caption (an assistant turn)", name);
        llava_buf_puts(o, "<image>");
        if (a >= 0) {
            llava__tok_ipush(spans, (int)o->n);
            llava_buf_puts(o, msgs[a].text);
            llava_buf_puts(o, "\n");
            llava__tok_ipush(spans, (int)o->n);
        }
        return o->oom || spans->oom ? llava__err("out of memory") : 0;
    }
    if (t == LLAVA_TEMPLATE_CHATML) return llava__tpl_render_chatml(msgs, n, gen, o, spans);
    if (t == LLAVA_TEMPLATE_LLAVA_HF) {
        /* {role.upper()}: {"<image>\n" per image}{text} , assistant text in {% generation %} */
        for (i = 0; i < n; i++) {
            int r = llava__tpl_role(msgs[i].role);
            if (r == LLAVA__ROLE_SYSTEM) {
                llava_buf_puts(o, msgs[i].text);
                llava_buf_puts(o, " ");
            } else if (r == LLAVA__ROLE_USER) {
                LlavaBuf tx;
                size_t a, b;
                memset(&tx, 0, sizeof tx);
                int im = llava__tpl_without_image(msgs[i].text, &tx);
                llava_buf_puts(o, "USER: ");
                for (k = 0; k < im; k++) llava_buf_puts(o, "<image>\n");
                if (im) llava__tpl_strip(tx.p ? tx.p : "", tx.n, &a, &b);
                else a = 0, b = tx.n;
                llava_buf_put(o, tx.p ? tx.p + a : "", b - a);
                llava_buf_puts(o, " ");
                LLAVA_FREE(tx.p);
            } else {
                llava_buf_puts(o, "ASSISTANT: ");
                llava__tok_ipush(spans, (int)o->n - 1); /* from the space, as for vicuna_v1 */
                llava_buf_puts(o, msgs[i].text);
                llava__tok_ipush(spans, (int)o->n);
                llava_buf_puts(o, " ");
            }
        }
        if (gen) llava_buf_puts(o, "ASSISTANT:");
        return o->oom || spans->oom ? llava__err("out of memory") : 0;
    }
    /* vicuna_v1 / llava_v1: SeparatorStyle.TWO, sep " ", sep2 "</s>" */
    const char *system = llava__tpl_system[t];
    i = 0;
    if (n > 0 && llava__tpl_role(msgs[0].role) == LLAVA__ROLE_SYSTEM) system = msgs[i++].text;
    if (i < n && llava__tpl_role(msgs[i].role) != LLAVA__ROLE_USER) i++; /* preprocess_v1 skips a first turn not from the human */
    llava_buf_puts(o, system);
    llava_buf_puts(o, " ");
    for (k = 0; i < n; i++, k++) {
        int r = llava__tpl_role(msgs[i].role);
        if (r != (k % 2 == 0 ? LLAVA__ROLE_USER : LLAVA__ROLE_ASSISTANT))
            return llava__err("sample '%s': message %d should be from the %s (turns alternate user, assistant)", name, i, k % 2 == 0 ? "user" : "assistant");
        if (!msgs[i].text[0]) { /* an empty message is the generation prompt */
            llava_buf_puts(o, r == LLAVA__ROLE_USER ? "USER:" : "ASSISTANT:");
            continue;
        }
        llava_buf_puts(o, r == LLAVA__ROLE_USER ? "USER: " : "ASSISTANT: ");
        /* the answer's span starts at the space after "ASSISTANT:": preprocess_v1 supervises from the
           token that holds it (instruction_len = len(tokens("... ASSISTANT: ")) - 2) */
        if (r == LLAVA__ROLE_ASSISTANT) llava__tok_ipush(spans, (int)o->n - 1);
        llava__tpl_put_multimodal(o, msgs[i].text);
        llava_buf_puts(o, r == LLAVA__ROLE_USER ? " " : "</s>");
        if (r == LLAVA__ROLE_ASSISTANT) llava__tok_ipush(spans, (int)o->n);
    }
    if (gen) llava_buf_puts(o, k % 2 == 0 ? "USER:" : "ASSISTANT:");
    return o->oom || spans->oom ? llava__err("out of memory") : 0;
}

LLAVADEF char *llava_template_render(LlavaTemplate t, const LlavaMessage *msgs, int n_msgs, int add_generation_prompt) {
    LlavaBuf o;
    llava__tok_ints sp;
    memset(&o, 0, sizeof o);
    memset(&sp, 0, sizeof sp);
    llava_buf_put(&o, "", 0);
    if (llava__tpl_render(t, msgs, n_msgs, add_generation_prompt, NULL, &o, &sp)) {
        LLAVA_FREE(o.p);
        o.p = NULL;
    }
    LLAVA_FREE(sp.p);
    return o.p;
}

LLAVADEF int llava_template_tokenize(const LlavaTokenizer *tok, LlavaTemplate t, const LlavaMessage *msgs, int n_msgs,
                                     int add_generation_prompt, int image_id, int image_repeat, const char *sample,
                                     int *ids, int *labels, int max_ids) {
    const char *name = sample ? sample : "(unnamed)";
    LlavaBuf text;
    llava__tok_ints spans, isimg;
    llava__tok_out all, part;
    int rc = 0;
    size_t k, q;
    memset(&text, 0, sizeof text);
    memset(&spans, 0, sizeof spans);
    memset(&isimg, 0, sizeof isimg);
    memset(&all, 0, sizeof all);
    memset(&part, 0, sizeof part);
    if (image_repeat < 1) return llava__err("sample '%s': image_repeat must be at least 1 (got %d)", name, image_repeat);
    llava_buf_put(&text, "", 0);
    rc = llava__tpl_render(t, msgs, n_msgs, add_generation_prompt, sample, &text, &spans);
    if (!rc && image_id < 0) {
        /* tokenizer_image_token: each piece between "<image>" marks tokenized on its own, with the
           leading special tokens (BOS) of the pieces after the first dropped */
        size_t a = 0;
        int first = 1, offset = 0;
        while (!rc) {
            const char *m = strstr(text.p + a, "<image>");
            size_t e = m ? (size_t)(m - text.p) : text.n;
            part.ids.n = part.start.n = part.end.n = 0;
            rc = llava__tok_encode(tok, text.p + a, e - a, 1, &part);
            if (rc) break;
            if (first) offset = part.ids.n > 0 && part.ids.p[0] == tok->bos && tok->bos >= 0;
            for (k = first ? 0 : (size_t)offset; k < part.ids.n; k++) {
                llava__tok_emit(&all, part.ids.p[k], part.start.p[k] + (int)a, part.end.p[k] + (int)a);
                llava__tok_ipush(&isimg, 0);
            }
            first = 0;
            if (!m) break;
            for (q = 0; q < (size_t)image_repeat; q++) {
                llava__tok_emit(&all, image_id, (int)e, (int)e + 7);
                llava__tok_ipush(&isimg, 1);
            }
            a = e + 7;
        }
    } else if (!rc) {
        /* the whole text at once, "<image>" being a token of the tokenizer (as LlavaProcessor does) */
        int img = llava_token_id(tok, "<image>");
        if (img < 0) rc = llava__err("sample '%s': the tokenizer has no \"<image>\" token (needed for image id %d)", name, image_id);
        if (!rc) rc = llava__tok_encode(tok, text.p, text.n, 1, &part);
        for (k = 0; !rc && k < part.ids.n; k++) {
            int is = part.ids.p[k] == img;
            for (q = 0; q < (is ? (size_t)image_repeat : 1); q++) {
                llava__tok_emit(&all, is ? image_id : part.ids.p[k], part.start.p[k], part.end.p[k]);
                llava__tok_ipush(&isimg, is);
            }
        }
    }
    if (!rc && (all.ids.oom || isimg.oom)) rc = llava__err("out of memory");
    int n = (int)all.ids.n;
    if (!rc && ids && n > max_ids) rc = llava__err("sample '%s': the conversation needs %d token ids but max_ids is %d", name, n, max_ids);
    if (!rc && ids) memcpy(ids, all.ids.p, (size_t)n * sizeof(int));
    if (!rc && labels) {
        /* a token is supervised when it overlaps an answer; it may reach before the answer only over
           whitespace (the "▁" of the space after "ASSISTANT:"), never past its end */
        int i;
        for (i = 0; i < n; i++) labels[i] = LLAVA_IGNORE_INDEX;
        for (k = 0; k + 1 < spans.n && !rc; k += 2) {
            int a0 = spans.p[k], a1 = spans.p[k + 1], got = 0;
            for (i = 0; i < n && !rc; i++) {
                int s = all.start.p[i], e = all.end.p[i];
                /* zero-width tokens (a "▁" prepended to a piece that starts the answer) count where they stand */
                if (!(e > s ? s < a1 && e > a0 : s >= a0 && s < a1)) continue;
                size_t sl = 0;
                const char *ts = isimg.p[i] ? "<image>" : llava__tok_id_str(tok, all.ids.p[i], &sl);
                if (isimg.p[i]) sl = 7;
                int bad = e > a1;
                for (q = (size_t)s; (int)q < a0 && !bad; q++) bad = !llava__tok_is_space((unsigned char)text.p[q]);
                if (bad || isimg.p[i])
                    rc = llava__err("sample '%s': assistant turn %d: token %d ('%.*s', bytes %d..%d) does not line up with the answer (bytes %d..%d)",
                                    name, (int)(k / 2), i, (int)LLAVA__MIN(sl, 40), ts ? ts : "", s, e, a0, a1);
                labels[i] = all.ids.p[i];
                got++;
            }
            if (!rc && !got && a1 > a0) rc = llava__err("sample '%s': assistant turn %d: no token covers the answer (bytes %d..%d)", name, (int)(k / 2), a0, a1);
        }
    }
    LLAVA_FREE(text.p);
    LLAVA_FREE(spans.p);
    LLAVA_FREE(isimg.p);
    llava__tok_out_free(&all);
    llava__tok_out_free(&part);
    return rc ? -1 : n;
}

LLAVADEF int llava_template_continue(const LlavaTokenizer *tok, LlavaTemplate t, const LlavaMessage *msgs, int n_done, int n_msgs,
                                     int image_id, int image_repeat, int *ids, int max_ids) {
    if (n_done <= 0) return llava_template_tokenize(tok, t, msgs, n_msgs, 1, image_id, image_repeat, "conversation", ids, NULL, max_ids);
    if (n_done >= n_msgs) return llava__err("template: no new message to continue with (%d of %d done)", n_done, n_msgs);
    char *now = llava_template_render(t, msgs, n_msgs, 1), *before = now ? llava_template_render(t, msgs, n_done, 0) : NULL;
    int n = LLAVA_ERR;
    if (before) {
        const size_t nb = strlen(before);
        if (strncmp(now, before, nb))
            llava__err("template %s: the first %d messages are written differently once more follow", llava_template_name(t), n_done);
        else
            n = llava_tokenize(tok, now + nb, strlen(now + nb), 0, ids, max_ids);
    }
    llava_free_string(now);
    llava_free_string(before);
    return n;
}

LLAVADEF const char *llava_template_answer_end(LlavaTemplate t) {
    static const char *const end[LLAVA_TEMPLATE_COUNT] = {" ", "</s>", "</s>", "\n", "<|im_end|>\n"};
    return (int)t >= 0 && t < LLAVA_TEMPLATE_COUNT ? end[t] : "";
}

/* --- a model's own chat template: read it, and tell which of the templates above it writes ----------- */
/* tokenizer_config.json's (or chat_template.json's) "chat_template": a string, or transformers' list of
   {"name", "template"} from which apply_chat_template takes "default" */
static char *llava__tpl_json_template(const char *path) {
    size_t n = 0;
    char *text = llava_read_file(path, (size_t)64 << 20, &n), *r = NULL;
    LlavaJson j;
    if (!text) return NULL;
    if (!llava_json_parse(&j, text, n, path)) {
        const LlavaJsonNode *ct = llava_json_get(&j, &j.nodes[0], "chat_template"), *x;
        if (ct && ct->type == LLAVA_JSON_STR) r = llava__strdup(ct->str);
        for (x = ct && ct->type == LLAVA_JSON_ARR ? llava_json_first(&j, ct) : NULL; x && !r; x = llava_json_next(&j, x)) {
            const LlavaJsonNode *nm = llava_json_get(&j, x, "name"), *tp = llava_json_get(&j, x, "template");
            if (nm && nm->type == LLAVA_JSON_STR && !strcmp(nm->str, "default") && tp && tp->type == LLAVA_JSON_STR) r = llava__strdup(tp->str);
        }
        llava_json_free(&j);
    }
    LLAVA_FREE(text);
    return r;
}

LLAVADEF char *llava_chat_template_read(const char *path) {
    if (!path) {
        llava__err("llava_chat_template_read: no path");
        return NULL;
    }
    if (llava__tok_is_gguf(path)) {
        llava__gguf g;
        const char *s = NULL;
        size_t len = 0;
        char *r = NULL;
        memset(&g, 0, sizeof g);
        if (llava__gguf_open(&g, path) != LLAVA_OK) return NULL;
        const int got = llava__gguf_str(&g, "tokenizer.chat_template", &s, &len);
        if (got == 1 && !(r = llava__strndup((const unsigned char *)s, len))) llava__err("out of memory");
        else if (got == 0) llava__err("%s: no tokenizer.chat_template", path);
        llava__gguf_close(&g);
        return r;
    }
    /* a directory, or a .json file in it (tokenizer.json), or a .jinja file */
    const size_t pn = strlen(path);
    char *dir = llava__strdup(path), *r = NULL;
    int i = 0;
    if (!dir) {
        llava__err("out of memory");
        return NULL;
    }
    if (pn > 6 && !strcmp(path + pn - 6, ".jinja")) {
        size_t n = 0;
        if ((r = llava_read_file(path, (size_t)64 << 20, &n)) && strlen(r) != n) LLAVA_FREE(r), r = NULL; /* no NUL inside */
        i = 3;
    } else if (pn > 5 && !strcmp(path + pn - 5, ".json")) {
        char *slash = strrchr(dir, '/');
        if (slash) slash[1] = 0;
        else strcpy(dir, ".");
    }
    static const char *const files[3] = {"tokenizer_config.json", "chat_template.json", "chat_template.jinja"};
    for (; i < 3 && !r; i++) {
        char *f = llava__path_join(dir, files[i]);
        size_t n = 0;
        if (f && i < 2) r = llava__tpl_json_template(f);
        else if (f && (r = llava_read_file(f, (size_t)64 << 20, &n)) && strlen(r) != n) LLAVA_FREE(r), r = NULL; /* no NUL inside */
        LLAVA_FREE(f);
    }
    if (!r) llava__err("%s: no chat template (tokenizer_config.json's chat_template, chat_template.json or chat_template.jinja)", path);
    LLAVA_FREE(dir);
    return r;
}

/* the default system message of a chatml template: the first Jinja string literal that starts with
   "<|im_start|>system\n" and holds "<|im_end|>", unescaped as Python string literals are */
static char *llava__tpl_default_system(const char *s) {
    const char *p = s;
    static const char head[] = "<|im_start|>system\n";
    for (; (p = strstr(p, "<|im_start|>system")); p++) {
        const char q = p > s ? p[-1] : 0;
        if (q != '\'' && q != '"') continue;
        LlavaBuf lit;
        const char *c;
        memset(&lit, 0, sizeof lit);
        for (c = p; *c && *c != q; c++) {
            if (*c != '\\' || !c[1]) {
                llava_buf_put(&lit, c, 1);
                continue;
            }
            c++;
            const char e = *c == 'n' ? '\n' : *c == 't' ? '\t' : *c == 'r' ? '\r' : *c;
            if (e == *c && *c != '\\' && *c != '\'' && *c != '"') llava_buf_put(&lit, c - 1, 1); /* Python keeps unknown escapes */
            llava_buf_put(&lit, &e, 1);
        }
        llava_buf_put(&lit, "", 0);
        const char *end = *c && lit.p && !strncmp(lit.p, head, sizeof head - 1) ? strstr(lit.p, "<|im_end|>") : NULL;
        char *r = end ? llava__strndup((const unsigned char *)lit.p + sizeof head - 1, (size_t)(end - lit.p) - (sizeof head - 1)) : NULL;
        LLAVA_FREE(lit.p);
        if (r) return r;
    }
    return NULL;
}

LLAVADEF int llava_template_detect(const char *chat_template, char **default_system) {
    int t = -1;
    if (default_system) *default_system = NULL;
    if (!chat_template) return llava__err("llava_template_detect: no chat template");
    if (strstr(chat_template, "<|im_start|>") && strstr(chat_template, "<|im_end|>")) t = LLAVA_TEMPLATE_CHATML;
    else if (strstr(chat_template, "ASSISTANT:") && strstr(chat_template, "A chat between a curious user")) t = LLAVA_TEMPLATE_VICUNA_V1;
    else if (strstr(chat_template, "ASSISTANT:") && strstr(chat_template, "A chat between a curious human")) t = LLAVA_TEMPLATE_LLAVA_V1;
    else if (strstr(chat_template, "ASSISTANT:")) t = LLAVA_TEMPLATE_LLAVA_HF;
    else return llava__err("the chat template is none of chatml, vicuna_v1, llava_v1, llava_hf");
    if (t == LLAVA_TEMPLATE_CHATML && default_system) *default_system = llava__tpl_default_system(chat_template);
    return t;
}

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
/* stb_image 2.27-2.28 declare stbi_set_unpremultiply_on_load_thread but define it under another name
   (stbi__unpremultiply_on_load_thread): one name for both, or GCC reports a static function declared and
   never defined, at the end of the file, where no pragma around the #include reaches */
#define stbi_set_unpremultiply_on_load_thread stbi__unpremultiply_on_load_thread
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
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
#endif
#undef stbi_set_unpremultiply_on_load_thread
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

/* stb_image up to 2.27 (Debian 12's libstb-dev among others) writes past a Huffman table when a JPEG's
   DHT segment declares more than 256 codes; 2.28 refuses such a table. The JPEG's segments are walked here
   the way stbi__process_marker reads them (a table's 16 counts, then its symbols, while the segment has
   bytes left; entropy-coded data skipped up to the next marker), and a file with such a table is refused
   before stb_image sees it. Returns 1 when the data is not a JPEG or has no such table. */
LLAVA__MAYBE_UNUSED static int llava__jpeg_tables_ok(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n && p[i] == 0xFF) i++; /* stbi__get_marker takes any run of 0xFF before SOI's 0xD8 */
    if (i == 0 || i >= n || p[i] != 0xD8) return 1;
    i++;
    while (i + 1 < n) {
        const unsigned m = p[i + 1];
        if (p[i] != 0xFF || m == 0xFF) { /* entropy-coded data, or fill bytes before a marker */
            i++;
            continue;
        }
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD9)) { /* stuffed 0xFF, TEM, RSTn, SOI, EOI: no length */
            i += 2;
            continue;
        }
        if (i + 3 >= n) break;
        const size_t len = ((size_t)p[i + 2] << 8) | p[i + 3];
        if (m == 0xC4) {
            long left = (long)len - 2;
            size_t k = i + 4;
            while (left > 0) {
                size_t codes = 0, c;
                for (c = 1; c <= 16; c++) codes += k + c < n ? p[k + c] : 0; /* stb reads 0 past the end */
                if (codes > 256) return 0;
                left -= 17 + (long)codes;
                k += 17 + codes;
            }
        }
        i += 2 + len;
    }
    return 1;
}

/* the largest image decoded, in pixels: stb_image (capped at STBI_MAX_DIMENSIONS per side) would
   otherwise allocate up to 16384 x 16384 x 4 bytes, and this loader as much again, for a header that
   claims such a size in a file of a few bytes */
#ifndef LLAVA_MAX_IMAGE_PIXELS
#define LLAVA_MAX_IMAGE_PIXELS (1 << 26)
#endif
LLAVADEF int llava_image_load_memory(LlavaImage *img, const void *data, size_t n) {
    memset(img, 0, sizeof *img);
#ifdef LLAVA_NO_STB
    (void)data;
    (void)n;
    return llava__err("image: built without an image decoder (LLAVA_NO_STB); pass RGB pixels");
#else
    int w, h, comp;
    if (!data || n == 0 || n > 0x7fffffff) return llava__err("image: empty or too large (%zu bytes)", n);
    if (!llava__jpeg_tables_ok((const unsigned char *)data, n))
        return llava__err("image: corrupt JPEG (a Huffman table declares more than 256 codes)");
    if (!stbi_info_from_memory((const stbi_uc *)data, (int)n, &w, &h, &comp))
        return llava__err("image: not a JPEG, PNG, BMP or GIF, or corrupt (%s)", stbi_failure_reason());
    if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > (uint64_t)LLAVA_MAX_IMAGE_PIXELS)
        return llava__err("image: %dx%d is larger than %llu pixels (LLAVA_MAX_IMAGE_PIXELS)", w, h, (unsigned long long)LLAVA_MAX_IMAGE_PIXELS);
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
        /* the square is an image too: a 16384 x 1 strip would become 16384 x 16384 (800 MB, seconds of work) */
        if ((uint64_t)side * (uint64_t)side > (uint64_t)LLAVA_MAX_IMAGE_PIXELS) {
            LLAVA_FREE(wh);
            return llava__err("image: padding %dx%d to a square of %dx%d is larger than %llu pixels (LLAVA_MAX_IMAGE_PIXELS)", w, h, side, side,
                              (unsigned long long)LLAVA_MAX_IMAGE_PIXELS);
        }
        sq = (unsigned char *)LLAVA_MALLOC((size_t)side * side * 3);
        if (!sq) {
            LLAVA_FREE(wh);
            return llava__err("image: out of memory");
        }
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
            /* the long edge can pass INT_MAX (65536 x a 32768:1 image): capped before it becomes an int */
            double lng = (double)s * (w <= h ? h : w) / (w <= h ? w : h);
            if (lng > (double)(1 << 28)) lng = 0;
            if (w <= h) {
                nw = s;
                nh = (int)lng;
            } else {
                nh = s;
                nw = (int)lng;
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
        if (!c) return llava__err("llava_sample: out of memory for %d candidates (%zu bytes)", V, (size_t)V * sizeof *c);
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
    double u = llava_rng_uniform(&s->rng) * sum, cum = 0.0;
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
        if (tok < 0) {
            rc = LLAVA_ERR;
            break;
        }
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
