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
/* Matrix products in bfloat16 (operands rounded to bf16, sums in f32), as LLaVA trains: on = 1 for the
   model's forward and backward passes from now on, 0 for f32 again. They run on AMX where the CPU has it
   and the build targets it (-march=native on such a CPU), else the rounding is emulated (slower than f32).
   Returns LLAVA_OK. */
LLAVADEF int llava_use_bf16(LlavaModel *m, int on);
LLAVADEF int llava_bf16_native(void); /* 1 where llava_use_bf16's products run on AMX, else 0 */
LLAVADEF const char *llava_backend_name(const LlavaModel *m); /* "cpu", "cpu-bf16" or "cpu-bf16-amx" */
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
/* a model of the given configuration with fresh weights (as transformers initializes them: normal with
   std 0.02, norms 1, biases 0), for training from scratch */
LLAVADEF LlavaModel *llava_model_new(const LlavaConfig *cfg, uint64_t seed);
/* model (F32) + optimizer moments + step, so that a run resumes exactly; and the reverse, into a
   trainer made with the same options for a model loaded from that directory */
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
   (then tokenizer_config.json is looked for beside it). NULL on error, with llava_last_error(). */
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
   return equals llava_detokenize of all ids. Fields are private. */
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
   plain:     stage-1 pretraining: "<image>{caption}\n" */
typedef enum {
    LLAVA_TEMPLATE_LLAVA_HF = 0,
    LLAVA_TEMPLATE_VICUNA_V1,
    LLAVA_TEMPLATE_LLAVA_V1,
    LLAVA_TEMPLATE_PLAIN,
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
        if (!nn) return -1;
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
        id = llava__json_node(j, LLAVA_JSON_STR);
        if (id < 0) return llava__err("%s: out of memory", j->what), -1;
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
    if (!j->arena) return llava__err("%s: out of memory", what);
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
    void **owned; /* buffers the table holds for tensors not mapped from a file (converted, copied) */
    int n_owned, cap_owned;
} llava__tensors;

/* hands p (from llava__alloc_aligned) to ts, freed with it; p NULL or out of memory is an error (p freed) */
LLAVA__MAYBE_UNUSED static int llava__tensors_own(llava__tensors *ts, void *p) {
    if (!p) return llava__err("out of memory");
    if (ts->n_owned == ts->cap_owned) {
        int nc = ts->cap_owned ? ts->cap_owned * 2 : 64;
        void **no = (void **)LLAVA_REALLOC(ts->owned, (size_t)nc * sizeof *no);
        if (!no) {
            llava__free_aligned(p);
            return llava__err("out of memory");
        }
        ts->owned = no;
        ts->cap_owned = nc;
    }
    ts->owned[ts->n_owned++] = p;
    return LLAVA_OK;
}

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
    if (!spans) rc = llava__err("out of memory");
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
    llava_json_free(&j);
    return rc;
}

/* adds every tensor of one safetensors file to ts (the file stays mapped while ts lives) */
static int llava__st_add(llava__tensors *ts, const char *path) {
    llava__shard *ns = (llava__shard *)LLAVA_REALLOC(ts->shards, (size_t)(ts->n_shards + 1) * sizeof *ns);
    if (!ns) return llava__err("out of memory");
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
    for (i = 0; i < ts->n_owned; i++) llava__free_aligned(ts->owned[i]);
    LLAVA_FREE(ts->owned);
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
    else if (llava_file_exists(single)) rc = llava__st_add(ts, single);
    else if (llava_file_exists(index)) {
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
                rc = p ? llava__st_add(ts, p) : llava__err("out of memory");
                LLAVA_FREE(p);
            }
        }
        if (text) llava_json_free(&j);
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
LLAVADEF int llava_write_text(const char *path, const char *text) {
    llava__wfile f;
    if (llava__wopen(&f, path) != LLAVA_OK) return LLAVA_ERR;
    llava__wwrite(&f, text, strlen(text));
    return llava__wclose(&f);
}

/* ------------------------------------------------------------------------------------------------
   3. Layers: forward kernels (argument order: outputs, inputs, cached statistics, sizes).
      The naive matmul stays next to the fast one, as the reference the tests compare against.
   ------------------------------------------------------------------------------------------------ */

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
            float *bp = (float *)llava__alloc_aligned((size_t)LLAVA__KC * LLAVA__NR * sizeof(float));
            float *row = (float *)LLAVA_MALLOC((size_t)LLAVA__KC * sizeof(float) + LLAVA__NR * sizeof(float));
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
static void llava__gemm_p(int prec, float *out, const float *A, const void *B, LlavaDType bdt, int bt, const float *bias, int M,
                          int K, int N, int accumulate) {
    float *ar, *br;
    if (prec == LLAVA__PREC_F32 || M <= 0 || N <= 0 || K <= 0) {
        llava__gemm(out, A, B, bdt, bt, bias, M, K, N, accumulate);
        return;
    }
#ifdef LLAVA__AMX
    if (prec == LLAVA__PREC_AMX && M >= 4) { /* (fewer rows: a 32-row block would be mostly padding) */
        llava__gemm_amx(out, A, 0, B, bdt, bt, bias, M, K, N, accumulate);
        return;
    }
#endif
    ar = (float *)llava__alloc_aligned((size_t)M * K * sizeof(float));
    br = (float *)llava__alloc_aligned((size_t)K * N * sizeof(float));
    LLAVA_ASSERT(ar && br);
    llava__round_bf16(ar, A, LLAVA_F32, (size_t)M * K);
    llava__round_bf16(br, B, bdt, (size_t)K * N);
    llava__gemm(out, ar, br, LLAVA_F32, bt, bias, M, K, N, accumulate);
    llava__free_aligned(ar);
    llava__free_aligned(br);
}

/* out[T,OC] = in[T,C] @ w[OC,C]^T + bias[OC]      (nn.Linear) */
static void llava__matmul_forward_p(int prec, float *out, const float *in, const LlavaWeight *w, const float *bias, int T, int C, int OC) {
    LLAVA_ASSERT(w->cols == C && w->rows == OC);
    llava__gemm_p(prec, out, in, w->data, w->dtype, 0, bias, T, C, OC, 0);
}

/* din[T,C] += dout[T,OC] @ w[OC,C];  dw[OC,C] += dout^T @ in;  db[OC] += sum_t dout  (any may be NULL) */
static void llava__matmul_backward_p(int prec, float *din, float *dw, float *db, const float *dout, const float *in, const LlavaWeight *w,
                                     int T, int C, int OC) {
    int t, o;
    if (din) llava__gemm_p(prec, din, dout, w->data, w->dtype, 1, NULL, T, OC, C, 1);
#ifdef LLAVA__AMX
    if (dw && prec == LLAVA__PREC_AMX && OC >= 4) { /* dout^T packed straight from dout */
        llava__gemm_amx(dw, dout, 1, in, LLAVA_F32, 1, NULL, OC, T, C, 1);
        dw = NULL;
    }
#endif
    if (dw) {
        float *dT = (float *)llava__alloc_aligned((size_t)T * OC * sizeof(float)); /* [OC, T] */
        LLAVA_ASSERT(dT);
        LLAVA__OMP(omp parallel for schedule(static) if ((size_t)T * OC > 65536))
        for (o = 0; o < OC; o++) {
            int tt;
            for (tt = 0; tt < T; tt++) dT[(size_t)o * T + tt] = dout[(size_t)tt * OC + o];
        }
        llava__gemm_p(prec, dw, dT, in, LLAVA_F32, 1, NULL, OC, T, C, 1);
        llava__free_aligned(dT);
    }
    if (db)
        for (t = 0; t < T; t++)
            for (o = 0; o < OC; o++) db[o] += dout[(size_t)t * OC + o];
}

/* the backends' entries: f32, bf16 emulated, bf16 on AMX */
#define LLAVA__MATMULS(suffix, prec)                                                                                           \
    static void llava__matmul_forward##suffix(float *out, const float *in, const LlavaWeight *w, const float *bias, int T, int C,  \
                                              int OC) {                                                                        \
        llava__matmul_forward_p(prec, out, in, w, bias, T, C, OC);                                                             \
    }                                                                                                                          \
    static void llava__matmul_backward##suffix(float *din, float *dw, float *db, const float *dout, const float *in,           \
                                               const LlavaWeight *w, int T, int C, int OC) {                                      \
        llava__matmul_backward_p(prec, din, dw, db, dout, in, w, T, C, OC);                                                    \
    }
LLAVA__MATMULS(, LLAVA__PREC_F32)
LLAVA__MATMULS(_bf16, LLAVA__PREC_BF16)
LLAVA__MATMULS(_amx, LLAVA__PREC_AMX)
#undef LLAVA__MATMULS

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
static void llava__attention_forward_p(int prec, float *out, float *probs, const float *q, const float *k, const float *v, int T,
                                       int S, int pos0, int H, int KVH, int Dh, int causal) {
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
            LlavaWeight K = {kh, LLAVA_F32, nk, Dh}, Vt = {vt, LLAVA_F32, Dh, nk};
            llava__matmul_forward_p(prec, sc, qh, &K, NULL, tb, Dh, nk); /* (nested: runs on this thread) */
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
            llava__matmul_forward_p(prec, oh, sc, &Vt, NULL, tb, nk, Dh);
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
static void llava__attention_backward_p(int prec, float *dq, float *dk, float *dv, const float *dout, const float *probs,
                                        const float *q, const float *k, const float *v, int T, int H, int KVH, int Dh) {
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
                llava__gemm_p(prec, dp, doh, vh, LLAVA_F32, 0, NULL, T, Dh, T, 0); /* dP = dO V^T */
                llava__gemm_p(prec, dvt, dot, P, LLAVA_F32, 1, NULL, Dh, T, T, 1); /* dV^T += dO^T P */
                for (t = 0; t < T; t++) {
                    float *row = dp + (size_t)t * T;
                    const float *pr = P + (size_t)t * T;
                    float d = 0.0f;
                    for (s = 0; s < T; s++) d += row[s] * pr[s];
                    for (s = 0; s < T; s++) row[s] = pr[s] * (row[s] - d) * scale; /* dS, scaled */
                }
                llava__gemm_p(prec, doh, dp, kh, LLAVA_F32, 1, NULL, T, T, Dh, 0); /* dQ = dS K (into doh's buffer) */
                for (t = 0; t < T; t++) memcpy(dq + ((size_t)t * H + h) * Dh, doh + (size_t)t * Dh, (size_t)Dh * sizeof(float));
                llava__gemm_p(prec, dkt, qt, dp, LLAVA_F32, 1, NULL, Dh, T, T, 1); /* dK^T += Q^T dS */
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

/* the backends' entries (f32, bf16 emulated, bf16 on AMX): the products in attention as in nn.Linear */
#define LLAVA__ATTENTIONS(suffix, prec)                                                                                        \
    static void llava__attention_forward##suffix(float *out, float *probs, const float *q, const float *k, const float *v,     \
                                                 int T, int S, int pos0, int H, int KVH, int Dh, int causal) {                 \
        llava__attention_forward_p(prec, out, probs, q, k, v, T, S, pos0, H, KVH, Dh, causal);                                 \
    }                                                                                                                          \
    static void llava__attention_backward##suffix(float *dq, float *dk, float *dv, const float *dout, const float *probs,      \
                                                  const float *q, const float *k, const float *v, int T, int H, int KVH,       \
                                                  int Dh) {                                                                    \
        llava__attention_backward_p(prec, dq, dk, dv, dout, probs, q, k, v, T, H, KVH, Dh);                                    \
    }
LLAVA__ATTENTIONS(, LLAVA__PREC_F32)
LLAVA__ATTENTIONS(_bf16, LLAVA__PREC_BF16)
LLAVA__ATTENTIONS(_amx, LLAVA__PREC_AMX)
#undef LLAVA__ATTENTIONS

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
typedef struct LlavaBackend {
    const char *name;
    void (*matmul)(float *out, const float *in, const LlavaWeight *w, const float *bias, int T, int C, int OC);
    void (*matmul_backward)(float *din, float *dw, float *db, const float *dout, const float *in, const LlavaWeight *w, int T, int C, int OC);
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

#define LLAVA__CPU_BACKEND(name, suffix)                                                                                       \
    {name,                   llava__matmul_forward##suffix, llava__matmul_backward##suffix, llava__layernorm_forward,          \
     llava__layernorm_backward, llava__rmsnorm_forward,     llava__rmsnorm_backward,        llava__rope_forward,               \
     llava__rope_backward,   llava__attention_forward##suffix, llava__attention_backward##suffix, llava__act_forward,          \
     llava__act_backward,    llava__glu_forward,            llava__glu_backward,            llava__adamw}
static const LlavaBackend llava__cpu_backend = LLAVA__CPU_BACKEND("cpu", );
/* matrix products in bf16 (llava_use_bf16): emulated, and on AMX */
static const LlavaBackend llava__cpu_bf16_backend = LLAVA__CPU_BACKEND("cpu-bf16", _bf16);
static const LlavaBackend llava__cpu_amx_backend = LLAVA__CPU_BACKEND("cpu-bf16-amx", _amx);
#undef LLAVA__CPU_BACKEND

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

LLAVADEF void llava_matmul_forward(LlavaPrecision p, float *out, const float *in, const LlavaWeight *w, const float *bias, int T,
                                   int C, int OC) {
    llava__matmul_forward_p(llava__prec(p), out, in, w, bias, T, C, OC);
}
LLAVADEF void llava_matmul_backward(LlavaPrecision p, float *din, float *dw, float *db, const float *dout, const float *in,
                                    const LlavaWeight *w, int T, int C, int OC) {
    llava__matmul_backward_p(llava__prec(p), din, dw, db, dout, in, w, T, C, OC);
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
    llava__attention_forward_p(llava__prec(p), out, probs, q, k, v, T, S, pos0, H, KVH, Dh, causal);
}
LLAVADEF void llava_attention_backward(LlavaPrecision p, float *dq, float *dk, float *dv, const float *dout, const float *probs,
                                       const float *q, const float *k, const float *v, int T, int H, int KVH, int Dh) {
    llava__attention_backward_p(llava__prec(p), dq, dk, dv, dout, probs, q, k, v, T, H, KVH, Dh);
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
    const LlavaBackend *be;
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
        for (k = 0; k < 3; k++) {
            char *cfg = cand[k] && tower[0] ? llava__path_join(cand[k], "config.json") : NULL;
            if (!vdir && cfg && llava_file_exists(cfg)) {
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
    char *text = vcfg ? llava_read_file(vcfg, 1 << 24, &n) : NULL;
    LlavaJson j;
    int rc = text ? llava_json_parse(&j, text, n, vcfg) : LLAVA_ERR;
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
    char *text = path ? llava_read_file(path, 1 << 24, &n) : NULL;
    LlavaJson j;
    int rc = text ? llava_json_parse(&j, text, n, path) : LLAVA_ERR;
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
        } else if (strcmp(type, "llava") && r.rc == LLAVA_OK) {
            rc = llava__err("%s: model_type \"%s\" is not a LLaVA model (llava, or the original repository's llava_llama)", path, type);
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

LLAVADEF const LlavaConfig *llava_model_config(const LlavaModel *m) { return &m->cfg; }
LLAVADEF const char *llava_backend_name(const LlavaModel *m) { return m->be->name; }

LLAVADEF int llava_bf16_native(void) { return llava__amx_available(); }

LLAVADEF int llava_use_bf16(LlavaModel *m, int on) {
    m->be = &llava__cpu_backend;
    if (!on) return LLAVA_OK;
    m->be = &llava__cpu_bf16_backend;
#ifdef LLAVA__AMX
    if (llava__amx_available()) m->be = &llava__cpu_amx_backend;
#endif
    return LLAVA_OK;
}

LLAVADEF int llava_image_tokens(const LlavaModel *m) {
    int G = m->cfg.vision_image_size / m->cfg.vision_patch_size;
    return G * G + (m->cfg.vision_select_full ? 1 : 0);
}

/* --- vision encoder.  transformers: CLIPVisionTransformer, hidden_states[vision_feature_layer] --- */
/* pixels [3,S,S] -> out [Psel, D], the selected rows of the feature layer's hidden state (full: every row, [N, D]) */
static int llava__vision_rows(LlavaModel *m, const float *pixels, float *out, int full) {
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
    if (full) memcpy(out, x, (size_t)N * D * sizeof(float));
    else memcpy(out, x + D, (size_t)P * D * sizeof(float));
    llava__free_aligned(buf);
    return LLAVA_OK;
}
static int llava__vision_forward(LlavaModel *m, const float *pixels, float *out) {
    return llava__vision_rows(m, pixels, out, m->cfg.vision_select_full);
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

static int llava__eval(LlavaContext *ctx, const int *ids, int n_ids, const float *pixels, const float *features, int n_images,
                       float *all_logits) {
    LlavaModel *m = ctx->m;
    const LlavaConfig *c = &m->cfg;
    const int C = c->text_hidden, P = llava_image_tokens(m);
    int i, ph = 0;
    if (n_ids <= 0 || !ids) return llava__err("empty prompt: no token ids given");
    if (n_images < 0 || (n_images > 0 && !pixels && !features)) return llava__err("%d images announced but no pixels given", n_images);
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
    float *own = n_images && !features ? (float *)llava__alloc_aligned((size_t)n_images * P * C * sizeof(float)) : NULL;
    const float *feat = features ? features : own;
    int rc = LLAVA_OK;
    if (!x || (n_images && !feat)) rc = llava__err("out of memory for a prompt of %d positions", T);
    const size_t npix = (size_t)3 * c->vision_image_size * c->vision_image_size;
    for (i = 0; i < n_images && rc == LLAVA_OK && own; i++) rc = llava_encode_image(m, pixels + (size_t)i * npix, own + (size_t)i * P * C);
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
    llava__free_aligned(own);
    return rc == LLAVA_OK ? T : LLAVA_ERR;
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
    const int64_t D = c->vision_hidden, ps = c->vision_patch_size, G = c->vision_image_size / ps;
    const int64_t C = c->text_hidden, V = c->text_vocab;
    const char *vp = LLAVA__P_VISION, *tp = LLAVA__P_TEXT;
    int l, i;
#define LLAVA__G(field) (g ? &g->field : NULL)
    {
        int64_t sh[4] = {D, 3, ps, ps};
        llava__p_w(fn, ctx, 0, &m->patch, LLAVA__G(patch), 4, sh, LLAVA__N_PATCH, vp);
    }
    llava__p_v(fn, ctx, 0, &m->class_emb, LLAVA__G(class_emb), D, 0, LLAVA__N_CLASS, vp);
    llava__p_v(fn, ctx, 0, &m->pos_emb, LLAVA__G(pos_emb), G * G + 1, D, LLAVA__N_POS, vp);
    llava__p_v(fn, ctx, 0, &m->pre_ln_w, LLAVA__G(pre_ln_w), D, 0, LLAVA__N_PRE_LN, vp, "weight");
    llava__p_v(fn, ctx, 0, &m->pre_ln_b, LLAVA__G(pre_ln_b), D, 0, LLAVA__N_PRE_LN, vp, "bias");
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
    float *act;                 /* the text activations' buffer, kept from chunk to chunk: a fresh one */
    size_t act_n;               /* (150 MB for 8 samples of ~160 tokens) is page-faulted in every step */
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
    } else {
        memcpy(tp->data, *p->vec, p->n * sizeof(float));
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
    t->g.vl = (llava__vgrad *)llava__calloc((size_t)LLAVA__MAX(m->vision_run, 1), sizeof *t->g.vl);
    t->g.tl = (llava__tgrad *)llava__calloc((size_t)m->cfg.text_layers, sizeof *t->g.tl);
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
    llava__free_aligned(t->act);
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
/* A batch of n images goes through the tower together: R = n * N rows, image i's rows i*N .. i*N+N-1, so
   that every linear layer is one product over the whole batch; attention stays within an image. */
typedef struct {
    int n;                       /* images */
    float *patches;              /* [n*P, 3*ps*ps] */
    float *x0, *pre_mean, *pre_rstd; /* [R, D] embeddings before pre_layrnorm, its statistics [R] */
    float *x;                    /* [L+1][R][D] residual stream entering each layer (x[0] after pre_layrnorm) */
    float *xm;                   /* [L][R][D] after the attention residual */
    float *h1, *h2;              /* [L][R][D] layer_norm1 / layer_norm2 outputs */
    float *m1, *r1, *m2, *r2;    /* [L][R] their statistics */
    float *q, *k, *v, *ao;       /* [L][R][D] */
    float *p;                    /* [L][n][H][N][N] */
    float *f, *fa;               /* [L][R][Iv] fc1 output, after the activation */
    float *mem;
    int full;                    /* the output: every row (llava_tower_forward), or the selected ones */
} llava__vcache;

static int llava__vcache_alloc(llava__vcache *A, const LlavaModel *m, int n) {
    const LlavaConfig *c = &m->cfg;
    const size_t G = (size_t)(c->vision_image_size / c->vision_patch_size), P = G * G, N = P + 1, D = (size_t)c->vision_hidden;
    const size_t L = (size_t)m->vision_run, Iv = (size_t)c->vision_intermediate, H = (size_t)c->vision_heads, K = 3 * (size_t)c->vision_patch_size * c->vision_patch_size;
    const size_t R = (size_t)n * N;
    size_t sz = n * P * K + R * D + 2 * R + (L + 1) * R * D + L * R * D * 8 + L * R * 4 + L * n * H * N * N + 2 * L * R * Iv;
    float *b = (float *)llava__alloc_aligned(sz * sizeof(float));
    if (!b) return llava__err("out of memory for the vision tower's activations (%zu MB)", sz * 4 >> 20);
    A->n = n;
    A->mem = b;
    A->full = c->vision_select_full;
    A->patches = b, b += n * P * K;
    A->x0 = b, b += R * D;
    A->pre_mean = b, b += R;
    A->pre_rstd = b, b += R;
    A->x = b, b += (L + 1) * R * D;
    A->xm = b, b += L * R * D;
    A->h1 = b, b += L * R * D;
    A->h2 = b, b += L * R * D;
    A->q = b, b += L * R * D;
    A->k = b, b += L * R * D;
    A->v = b, b += L * R * D;
    A->ao = b, b += L * R * D;
    A->m1 = b, b += L * R;
    A->r1 = b, b += L * R;
    A->m2 = b, b += L * R;
    A->r2 = b, b += L * R;
    A->p = b, b += L * n * H * N * N;
    A->f = b, b += L * R * Iv;
    A->fa = b;
    return LLAVA_OK;
}

/* pixels[i] [3,S,S] for the A->n images -> out [n][Psel][D] (A->full: [n][N][D]), keeping activations in A */
static int llava__vision_train_forward(LlavaModel *m, llava__vcache *A, const float *const *pixels, float *out) {
    const LlavaConfig *c = &m->cfg;
    const LlavaBackend *be = m->be;
    const int S = c->vision_image_size, ps = c->vision_patch_size, G = S / ps, P = G * G, N = P + 1, n = A->n;
    const int D = c->vision_hidden, Iv = c->vision_intermediate, K = 3 * ps * ps, Hv = c->vision_heads, Dh = D / Hv, R = n * N;
    const size_t RD = (size_t)R * D, ND = (size_t)N * D, HNN = (size_t)Hv * N * N;
    int gy, gx, ch, ky, i, l, im;
    float *tmp = (float *)llava__alloc_aligned(RD * sizeof(float));
    if (!tmp) return llava__err("out of memory in the vision tower (%zu MB)", RD * 4 >> 20);
    for (im = 0; im < n; im++)
        for (gy = 0; gy < G; gy++)
            for (gx = 0; gx < G; gx++)
                for (ch = 0; ch < 3; ch++)
                    for (ky = 0; ky < ps; ky++)
                        memcpy(A->patches + ((size_t)im * P + gy * G + gx) * K + (size_t)ch * ps * ps + (size_t)ky * ps,
                               pixels[im] + (size_t)ch * S * S + (size_t)(gy * ps + ky) * S + (size_t)gx * ps, (size_t)ps * sizeof(float));
    be->matmul(tmp, A->patches, &m->patch, NULL, n * P, K, D);
    for (im = 0; im < n; im++) { /* [CLS; patches] + positions */
        float *x0 = A->x0 + (size_t)im * ND;
        const float *pt = tmp + (size_t)im * P * D;
        for (i = 0; i < D; i++) x0[i] = m->class_emb[i] + m->pos_emb[i];
        for (l = 0; l < P; l++)
            for (i = 0; i < D; i++) x0[(size_t)(l + 1) * D + i] = pt[(size_t)l * D + i] + m->pos_emb[(size_t)(l + 1) * D + i];
    }
    be->layernorm(A->x, A->pre_mean, A->pre_rstd, A->x0, m->pre_ln_w, m->pre_ln_b, R, D, c->vision_ln_eps);
    for (l = 0; l < m->vision_run; l++) {
        const llava__vlayer *L = &m->vl[l];
        const float *x = A->x + l * RD;
        float *xm = A->xm + l * RD, *h1 = A->h1 + l * RD, *h2 = A->h2 + l * RD, *xn = A->x + (l + 1) * RD;
        float *q = A->q + l * RD, *k = A->k + l * RD, *v = A->v + l * RD, *ao = A->ao + l * RD, *p = A->p + (size_t)l * n * HNN;
        float *f = A->f + (size_t)l * R * Iv, *fa = A->fa + (size_t)l * R * Iv;
        be->layernorm(h1, A->m1 + (size_t)l * R, A->r1 + (size_t)l * R, x, L->ln1_w, L->ln1_b, R, D, c->vision_ln_eps);
        be->matmul(q, h1, &L->q, L->qb, R, D, D);
        be->matmul(k, h1, &L->k, L->kb, R, D, D);
        be->matmul(v, h1, &L->v, L->vb, R, D, D);
        LLAVA__OMP(omp parallel for schedule(dynamic, 1)) /* an image per thread (the kernel inside stays on it) */
        for (im = 0; im < n; im++)
            be->attention(ao + im * ND, p + im * HNN, q + im * ND, k + im * ND, v + im * ND, N, N, 0, Hv, Hv, Dh, 0);
        be->matmul(tmp, ao, &L->o, L->ob, R, D, D);
        llava__sum2(xm, x, tmp, RD);
        be->layernorm(h2, A->m2 + (size_t)l * R, A->r2 + (size_t)l * R, xm, L->ln2_w, L->ln2_b, R, D, c->vision_ln_eps);
        be->matmul(f, h2, &L->fc1, L->fc1b, R, D, Iv);
        memcpy(fa, f, (size_t)R * Iv * sizeof(float));
        be->act(fa, (size_t)R * Iv, c->vision_act);
        be->matmul(tmp, fa, &L->fc2, L->fc2b, R, Iv, D);
        llava__sum2(xn, xm, tmp, RD);
    }
    const float *last = A->x + (size_t)m->vision_run * RD;
    for (im = 0; im < n; im++) {
        if (A->full) memcpy(out + im * ND, last + im * ND, ND * sizeof(float));
        else memcpy(out + (size_t)im * P * D, last + im * ND + D, (size_t)P * D * sizeof(float));
    }
    llava__free_aligned(tmp);
    return LLAVA_OK;
}

/* dout [n][Psel][D] (A->full: [n][N][D]) -> gradients of the vision tower's parameters (where Gs has them), added */
static int llava__vision_train_backward(LlavaModel *m, const llava__gradset *Gs, const llava__vcache *A, const float *dout) {
    const LlavaConfig *c = &m->cfg;
    const LlavaBackend *be = m->be;
    const int S = c->vision_image_size, ps = c->vision_patch_size, G = S / ps, P = G * G, N = P + 1, n = A->n;
    const int D = c->vision_hidden, Iv = c->vision_intermediate, K = 3 * ps * ps, Hv = c->vision_heads, Dh = D / Hv, R = n * N;
    const size_t RD = (size_t)R * D, RI = (size_t)R * Iv, ND = (size_t)N * D, HNN = (size_t)Hv * N * N;
    size_t sz = RD * 9 + RI * 2;
    float *b = (float *)llava__alloc_aligned(sz * sizeof(float));
    if (!b) return llava__err("out of memory in the vision tower's backward pass (%zu MB)", sz * 4 >> 20);
    float *dx = b, *dxm = dx + RD, *dh = dxm + RD, *dao = dh + RD, *dq = dao + RD, *dk = dq + RD, *dv = dk + RD, *dX = dv + RD;
    float *d0 = dX + RD, *dfa = d0 + RD, *df = dfa + RI;
    int l, i, im;
    memset(dx, 0, RD * sizeof(float));
    for (im = 0; im < n; im++) {
        if (A->full) memcpy(dx + im * ND, dout + im * ND, ND * sizeof(float));
        else memcpy(dx + im * ND + D, dout + (size_t)im * P * D, (size_t)P * D * sizeof(float));
    }
    for (l = m->vision_run - 1; l >= 0; l--) {
        const llava__vlayer *L = &m->vl[l];
        const llava__vgrad *GL = &Gs->vl[l];
        const float *x = A->x + l * RD, *xm = A->xm + l * RD, *h1 = A->h1 + l * RD, *h2 = A->h2 + l * RD;
        const float *q = A->q + l * RD, *k = A->k + l * RD, *v = A->v + l * RD, *ao = A->ao + l * RD, *p = A->p + (size_t)l * n * HNN;
        const float *f = A->f + (size_t)l * RI, *fa = A->fa + (size_t)l * RI;
        /* x_next = xm + fc2(act(fc1(layer_norm2(xm)))) */
        memcpy(dxm, dx, RD * sizeof(float));
        memset(dfa, 0, RI * sizeof(float));
        be->matmul_backward(dfa, GL->fc2, GL->fc2b, dx, fa, &L->fc2, R, Iv, D);
        be->act_backward(df, dfa, f, RI, c->vision_act);
        memset(dh, 0, RD * sizeof(float));
        be->matmul_backward(dh, GL->fc1, GL->fc1b, df, h2, &L->fc1, R, D, Iv);
        be->layernorm_backward(dxm, GL->ln2_w, GL->ln2_b, dh, xm, L->ln2_w, A->m2 + (size_t)l * R, A->r2 + (size_t)l * R, R, D);
        /* xm = x + out_proj(attention(layer_norm1(x))) */
        memcpy(dX, dxm, RD * sizeof(float));
        memset(dao, 0, RD * sizeof(float));
        be->matmul_backward(dao, GL->o, GL->ob, dxm, ao, &L->o, R, D, D);
        LLAVA__OMP(omp parallel for schedule(dynamic, 1))
        for (im = 0; im < n; im++)
            be->attention_backward(dq + im * ND, dk + im * ND, dv + im * ND, dao + im * ND, p + im * HNN, q + im * ND, k + im * ND,
                                   v + im * ND, N, Hv, Hv, Dh);
        memset(dh, 0, RD * sizeof(float));
        be->matmul_backward(dh, GL->q, GL->qb, dq, h1, &L->q, R, D, D);
        be->matmul_backward(dh, GL->k, GL->kb, dk, h1, &L->k, R, D, D);
        be->matmul_backward(dh, GL->v, GL->vb, dv, h1, &L->v, R, D, D);
        be->layernorm_backward(dX, GL->ln1_w, GL->ln1_b, dh, x, L->ln1_w, A->m1 + (size_t)l * R, A->r1 + (size_t)l * R, R, D);
        memcpy(dx, dX, RD * sizeof(float));
    }
    /* pre_layrnorm, then [CLS; patches] + positions */
    memset(d0, 0, RD * sizeof(float));
    be->layernorm_backward(d0, Gs->pre_ln_w, Gs->pre_ln_b, dx, A->x0, m->pre_ln_w, A->pre_mean, A->pre_rstd, R, D);
    for (im = 0; im < n; im++) {
        const float *di = d0 + im * ND;
        if (Gs->pos_emb)
            for (i = 0; i < (int)ND; i++) Gs->pos_emb[i] += di[i];
        if (Gs->class_emb)
            for (i = 0; i < D; i++) Gs->class_emb[i] += di[i];
    }
    if (Gs->patch) { /* the patch rows of every image, back to back */
        for (im = 0; im < n; im++) memmove(d0 + (size_t)im * P * D, d0 + im * ND + D, (size_t)P * D * sizeof(float));
        be->matmul_backward(NULL, Gs->patch, NULL, d0, A->patches, &m->patch, n * P, K, D);
    }
    llava__free_aligned(b);
    return LLAVA_OK;
}

/* --- training a vision tower (public): the passes above over a cache of the caller's ---------------- */
struct LlavaTowerCache {
    LlavaTrainer *t;
    llava__vcache A;   /* every output row (full), room for `cap` images */
    int cap;
    llava__gradset g;  /* the tower's gradient slots, pointed into a caller's buffer by each backward */
};

LLAVADEF int llava_tower_layers(const LlavaModel *m) { return m->vision_run; }
LLAVADEF int llava_tower_rows(const LlavaModel *m) {
    const int G = m->cfg.vision_image_size / m->cfg.vision_patch_size;
    return G * G + 1;
}
LLAVADEF int llava_tower_encode(LlavaModel *m, const float *pixels, float *out) { return llava__vision_rows(m, pixels, out, 1); }

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
        llava__err("out of memory");
        return NULL;
    }
    a->t = t;
    a->cap = n;
    a->g.vl = (llava__vgrad *)llava__calloc((size_t)LLAVA__MAX(t->m->vision_run, 1), sizeof *a->g.vl);
    if (!a->g.vl || llava__vcache_alloc(&a->A, t->m, n) != LLAVA_OK) {
        if (!a->g.vl) llava__err("out of memory");
        llava_tower_cache_free(a);
        return NULL;
    }
    a->A.full = 1;
    return a;
}

LLAVADEF void llava_tower_cache_free(LlavaTowerCache *a) {
    if (!a) return;
    llava__free_aligned(a->A.mem);
    LLAVA_FREE(a->g.vl);
    LLAVA_FREE(a);
}

LLAVADEF int llava_tower_forward(LlavaTowerCache *a, const float *const *pixels, int n, float *out) {
    if (n < 1 || n > a->cap) return llava__err("llava_tower_forward: %d images, the cache holds 1 to %d", n, a->cap);
    a->A.n = n; /* fewer images than the room: the same layout, the first rows of each block used */
    return llava__vision_train_forward(a->t->m, &a->A, pixels, out);
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
    if (!grad) return llava__vision_train_backward(t->m, &t->g, &a->A, dout);
    llava__tgmap r;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.base = grad;
    llava__walk(t->m, &a->g, llava__tgmap_fn, &r);
    return llava__vision_train_backward(t->m, &a->g, &a->A, dout);
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
} llava__tcache;

/* T rows in all, made of nseg sequences (samples) of seg_len[i] rows each, back to back */
/* A's arrays in *keep, a buffer of *keep_n floats, reused when it is large enough and replaced when it is
   not; it stays the caller's */
static int llava__tcache_alloc(llava__tcache *A, const LlavaModel *m, int T, const int *seg_len, int nseg, float **keep, size_t *keep_n) {
    const LlavaConfig *c = &m->cfg;
    const size_t L = (size_t)c->text_layers, C = (size_t)c->text_hidden, QD = (size_t)c->text_heads * c->text_head_dim;
    const size_t KD = (size_t)c->text_kv_heads * c->text_head_dim, I = (size_t)c->text_intermediate, H = (size_t)c->text_heads, t = (size_t)T;
    size_t tt = 0;
    int i;
    for (i = 0; i < nseg; i++) tt += (size_t)seg_len[i] * seg_len[i];
    A->pl = H * tt;
    size_t sz = (L + 1) * t * C + L * t * C * 3 + 2 * L * t + 2 * L * t * QD + 2 * L * t * KD + L * H * tt + 3 * L * t * I + t * C + t;
    if (*keep_n < sz) {
        llava__free_aligned(*keep);
        *keep_n = 0;
        if (!(*keep = (float *)llava__alloc_aligned(sz * sizeof(float))))
            return llava__err("out of memory for the activations of %d positions (%zu MB)", T, sz * 4 >> 20);
        *keep_n = sz;
    }
    float *b = *keep;
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
        llava__sum2(xm, x, tmp, TC);
        be->rmsnorm(h2, A->r2 + (size_t)l * T, xm, L->post_norm, T, C, c->text_rms_eps);
        be->matmul(g, h2, &L->gate, L->gate_b, T, C, I);
        be->matmul(u, h2, &L->up, L->up_b, T, C, I);
        be->glu(a, g, u, TI, c->text_act);
        be->matmul(tmp, a, &L->down, L->down_b, T, I, C);
        llava__sum2(xn, xm, tmp, TC);
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
    be->matmul_backward(dh, Gs->head, NULL, dlogits, A->hf, &m->head, T, C, V);
    memset(dx, 0, TC * sizeof(float));
    be->rmsnorm_backward(dx, Gs->norm, dh, A->x + (size_t)c->text_layers * TC, m->norm, A->rf, T, C);
    for (l = c->text_layers - 1; l >= 0; l--) {
        const llava__tlayer *L = &m->tl[l];
        const llava__tgrad *GL = &Gs->tl[l];
        const float *x = A->x + l * TC, *xm = A->xm + l * TC, *h1 = A->h1 + l * TC, *h2 = A->h2 + l * TC;
        const float *q = A->q + l * TQ, *k = A->k + l * TK, *v = A->v + l * TK, *ao = A->ao + l * TQ;
        const float *g = A->g + l * TI, *u = A->u + l * TI, *a = A->a + l * TI;
        /* x_next = xm + down(act(gate(h2)) * up(h2)), h2 = post_attention_layernorm(xm) */
        memcpy(dxm, dx, TC * sizeof(float));
        memset(da, 0, TI * sizeof(float));
        be->matmul_backward(da, GL->down, GL->down_b, dx, a, &L->down, T, I, C);
        be->glu_backward(dg, du, da, g, u, TI, c->text_act);
        memset(dh, 0, TC * sizeof(float));
        be->matmul_backward(dh, GL->gate, GL->gate_b, dg, h2, &L->gate, T, C, I);
        be->matmul_backward(dh, GL->up, GL->up_b, du, h2, &L->up, T, C, I);
        be->rmsnorm_backward(dxm, GL->post_norm, dh, xm, L->post_norm, A->r2 + (size_t)l * T, T, C);
        /* xm = x + o_proj(attention(rope(q), rope(k), v)), from h1 = input_layernorm(x) */
        memcpy(dX, dxm, TC * sizeof(float));
        memset(dao, 0, TQ * sizeof(float));
        be->matmul_backward(dao, GL->o, GL->ob, dxm, ao, &L->o, T, H * Dh, C);
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
        be->matmul_backward(dh, GL->q, GL->qb, dq, h1, &L->q, T, C, H * Dh);
        be->matmul_backward(dh, GL->k, GL->kb, dk, h1, &L->k, T, C, KVH * Dh);
        be->matmul_backward(dh, GL->v, GL->vb, dv, h1, &L->v, T, C, KVH * Dh);
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
    llava__vcache VA;
    const float **vpix = NULL; /* each image's pixels */
    memset(&A, 0, sizeof A);
    memset(&VA, 0, sizeof VA);
    const size_t nfeat = (size_t)nimg * P;
    float *vfeat = nimg ? (float *)llava__alloc_aligned(nfeat * D * sizeof(float)) : NULL;  /* vision output */
    float *pin = NULL, *pact = NULL;                                                      /* projector activations */
    float *pfeat = nimg ? (float *)llava__alloc_aligned(nfeat * C * sizeof(float)) : NULL; /* projected */
    float *logits = (float *)llava__alloc_aligned((size_t)T * V * sizeof(float));
    float *demb = (float *)llava__alloc_aligned((size_t)T * C * sizeof(float));
    if (!targets || !lab || !row_of || !logits || !demb || (nimg && (!vfeat || !pfeat)))
        rc = llava__err("out of memory for samples %d..%d (%d positions)", index0, index0 + n - 1, T);
    if (rc == LLAVA_OK) rc = llava__tcache_alloc(&A, m, T, seg, n, &t->act, &t->act_n);
    if (rc == LLAVA_OK && nimg && t->train_vision) {
        vpix = (const float **)llava__calloc((size_t)nimg, sizeof *vpix);
        rc = vpix ? llava__vcache_alloc(&VA, m, nimg) : llava__err("out of memory");
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
                if (t->train_vision) vpix[im] = s[k].pixels + i * npix;
                else rc = llava__vision_forward(m, s[k].pixels + i * npix, vfeat + (size_t)im * P * D);
            }
        if (t->train_vision && nimg && rc == LLAVA_OK) rc = llava__vision_train_forward(m, &VA, vpix, vfeat);
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
            if (t->g.embed)
                for (i = 0; i < T; i++)
                    if (row_of[i] >= 0) llava__add(t->g.embed + (size_t)row_of[i] * C, demb + (size_t)i * C, (size_t)C);
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
                    m->be->matmul_backward(din, t->g.proj[j], t->g.proj_b[j], dp, in, &m->proj[j], (int)nfeat, j == 0 ? D : C, C);
                    if (j > 0) m->be->act_backward(dp, dq, pin + (size_t)(j - 1) * nfeat * C, nfeat * C, c->proj_act);
                }
                if (t->train_vision) rc = llava__vision_train_backward(m, &t->g, &VA, dvf);
                llava__free_aligned(dp);
                llava__free_aligned(dvf);
            }
        }
    }
    llava__free_aligned(VA.mem);
    LLAVA_FREE(vpix);
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
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    if (t->acc_tokens == 0) {
        llava__zero_grads(t);
        return llava__err("step %d: the batch has no supervised tokens (every label is -100)", t->step + 1);
    }
    const double loss = t->acc_loss / (double)t->acc_tokens;
    const float inv = (float)(1.0 / (double)t->acc_tokens);
    double norm2 = 0.0;
    for (i = 0; i < t->n_params; i++)
        if (t->p[i].grad) norm2 += llava__scale_sumsq(t->p[i].grad, inv, t->p[i].n);
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
                if (t->p[i].grad) llava__scale(t->p[i].grad, (float)coef, t->p[i].n);
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
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    llava__zero_grads(t);
    if (llava_trainer_accumulate(t, s, n) != LLAVA_OK) return LLAVA_ERR;
    if (t->acc_tokens == 0) return llava__err("the batch has no supervised tokens (every label is -100)");
    const float inv = (float)(1.0 / (double)t->acc_tokens);
    for (i = 0; i < t->n_params; i++)
        if (t->p[i].grad) llava__scale(t->p[i].grad, inv, t->p[i].n);
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
    const LlavaTensor *extra; /* llava_model_save_with's tensors [n_extra] */
    int n_extra;
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
        int k, replaced = 0;
        for (k = 0; k < sv->n_extra; k++) replaced |= !strcmp(sv->extra[k].name, name);
        if (!replaced) llava__save_add(sv, name, t->data, (LlavaDType)t->dtype, t->ndim, t->shape);
    }
}

/* llava_model_save_with's tensors: the tower's (vision = 1) or the others (vision = 0) */
static void llava__save_extra(llava__saver *sv, int vision) {
    int k;
    for (k = 0; k < sv->n_extra; k++)
        if ((strncmp(sv->extra[k].name, "vision_tower.", 13) == 0) == vision)
            llava__save_add(sv, sv->extra[k].name, sv->extra[k].data, LLAVA_F32, sv->extra[k].ndim, sv->extra[k].shape);
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
    int rc = llava_write_text(path, b);
    if (rc == LLAVA_OK && original) { /* the tower's own config, as CLIPVisionModel writes it */
        char *vdir = llava__strdup(path); /* the directory of config.json */
        size_t l = vdir ? strlen(vdir) : 0;
        while (l > 0 && vdir[l - 1] != '/') l--;
        if (vdir) vdir[l] = 0;
        if (vdir && !l) snprintf(vdir, strlen(path) + 1, ".");
        char *cdir = llava__path_join(vdir, "clip"), *cpath = cdir ? llava__path_join(cdir, "config.json") : NULL;
        snprintf(b, 16384, "{\n  \"architectures\": [\"CLIPVisionModel\"],\n  %s,\n  \"torch_dtype\": \"%s\"\n}\n", vis, dts);
        rc = cpath ? llava_write_text(cpath, b) : llava__err("out of memory");
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

LLAVADEF int llava_model_save_with(LlavaModel *m, const char *dir, LlavaDType dt, const LlavaTensor *extra, int n_extra) {
    llava__saver sv;
    int rc, i;
    memset(&sv, 0, sizeof sv);
    if (dt != LLAVA_F32 && dt != LLAVA_BF16) return llava__err("llava_model_save: F32 or BF16");
    if (n_extra < 0 || (n_extra > 0 && !extra)) return llava__err("llava_model_save_with: %d extra tensors at %p", n_extra, (const void *)extra);
    for (i = 0; i < n_extra; i++)
        if (!extra[i].name || !extra[i].data || extra[i].ndim < 1 || extra[i].ndim > 4)
            return llava__err("llava_model_save_with: extra tensor %d has no name, no data or %d dimensions (1 to 4)", i, extra[i].ndim);
    sv.dt = dt;
    sv.extra = extra;
    sv.n_extra = n_extra;
    /* a linear projector has no place in LlavaForConditionalGeneration: the original repository's layout */
    sv.original = m->cfg.proj_layers != 2 || m->cfg.image_token_expands;
    if ((rc = llava__mkdir(dir)) != LLAVA_OK) return rc;
    llava__walk(m, NULL, llava__save_fn, &sv);
    if (m->cfg.text_tied && sv.original) { /* the original layout always has lm_head */
        const int64_t sh[2] = {m->cfg.text_vocab, m->cfg.text_hidden};
        llava__save_add(&sv, "language_model.lm_head.weight", m->embed.data, m->embed.dtype, 2, sh);
    }
    if (!sv.original) llava__save_passthrough(&sv, m), llava__save_extra(&sv, 1);
    llava__save_extra(&sv, 0);
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
        sv.extra = extra;
        sv.n_extra = n_extra;
        rc = cdir ? llava__mkdir(cdir) : llava__err("out of memory");
        if (rc == LLAVA_OK) {
            llava__walk(m, NULL, llava__save_vision_fn, &sv);
            llava__save_passthrough(&sv, m);
            llava__save_extra(&sv, 1);
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
        if (from && to && llava_file_exists(from) && strcmp(from, to)) rc = llava_copy_file(from, to);
        LLAVA_FREE(from), LLAVA_FREE(to);
    }
    return rc;
}

LLAVADEF int llava_model_save(LlavaModel *m, const char *dir, LlavaDType dt) { return llava_model_save_with(m, dir, dt, NULL, 0); }

/* --- a new model with fresh weights ------------------------------------------------------------------ */
typedef struct {
    LlavaModel *m;
    uint64_t rng;
    int err;
} llava__initer;

static float llava__randn(uint64_t *r) { /* Box-Muller */
    float u1 = llava_rng_uniform(r), u2 = llava_rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

static void llava__init_fn(void *ctx, llava__pinfo *p) {
    llava__initer *in = (llava__initer *)ctx;
    float *d = (float *)llava__alloc_aligned(p->n * sizeof(float) + 1);
    size_t i;
    if (llava__own(in->m, d) != LLAVA_OK) {
        in->err = 1;
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
    LlavaModel *m = (LlavaModel *)llava__calloc(1, sizeof *m);
    int l;
    if (!m) {
        llava__err("out of memory");
        return NULL;
    }
    m->be = &llava__cpu_backend;
    m->cfg = *cfg;
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
        llava__err("out of memory");
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
    llava__initer in = {m, seed ? seed : 1, 0};
    llava__walk(m, NULL, llava__init_fn, &in);
    if (c->text_tied) m->head = m->embed;
    int i, half = c->text_head_dim / 2;
    m->inv_freq = (float *)llava__alloc_aligned((size_t)half * sizeof(float) + 1);
    if (in.err || llava__own(m, m->inv_freq) != LLAVA_OK) {
        llava__err("out of memory");
        llava_model_free(m);
        return NULL;
    }
    for (i = 0; i < half; i++)
        m->inv_freq[i] = (float)(1.0 / pow(c->text_rope_theta, (double)((float)(2 * i) / (float)c->text_head_dim))) / (float)c->text_rope_linear_factor;
    return m;
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
        rc = sp ? llava_write_text(sp, b) : llava__err("out of memory");
        LLAVA_FREE(sp);
    }
    return rc;
}

LLAVADEF int llava_trainer_resume(LlavaTrainer *t, const char *dir) {
    int rc, i;
    if (llava__trainer_ready(t) != LLAVA_OK) return LLAVA_ERR;
    char *sp = llava__path_join(dir, "trainer_state.json");
    size_t n;
    char *text = sp ? llava_read_file(sp, 1 << 20, &n) : NULL;
    LlavaJson j;
    rc = text ? llava_json_parse(&j, text, n, sp) : LLAVA_ERR;
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
enum { LLAVA__NORM_PREPEND, LLAVA__NORM_REPLACE };
typedef struct {
    int type;
    char *a, *b; /* prepend: a; replace: a -> b */
    size_t an, bn;
} llava__tok_norm;

enum { LLAVA__PRE_METASPACE, LLAVA__PRE_BYTELEVEL, LLAVA__PRE_SPLIT };
enum { LLAVA__SCHEME_ALWAYS, LLAVA__SCHEME_FIRST, LLAVA__SCHEME_NEVER };
enum { LLAVA__PAT_GPT2, LLAVA__PAT_LLAMA3, LLAVA__PAT_QWEN2 };
typedef struct {
    int type;
    char rep[8];  /* Metaspace replacement character, UTF-8 */
    int rep_n, scheme, split;
    int add_prefix_space, use_regex; /* ByteLevel */
    int pattern;                     /* Split */
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
};

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
    return x && x->type == LLAVA_JSON_NUM && x->num == (double)(long long)x->num && x->num >= lo && x->num <= hi;
}

/* id -> token string (added tokens first, as tokenizers' id_to_token does) */
static const char *llava__tok_id_str(const LlavaTokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    if (t->added_of_id[id] >= 0) {
        const llava__tok_added *a = &t->added[t->added_of_id[id]];
        *len = a->len;
        return a->content;
    }
    int e = t->ent_of_id[id];
    if (e < 0) return NULL;
    *len = t->vocab.klen[e];
    return t->vocab.keys.p + t->vocab.koff[e];
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

static int llava__tok_pattern_of(const char *re) {
    static const char *gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    static const char *llama3 =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static const char *qwen2 =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    if (!strcmp(re, gpt2)) return LLAVA__PAT_GPT2;
    if (!strcmp(re, llama3)) return LLAVA__PAT_LLAMA3;
    if (!strcmp(re, qwen2)) return LLAVA__PAT_QWEN2;
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
    } else {
        return llava__err("%s: normalizer '%s' is not supported (supported: Sequence, Prepend, Replace)", path, type);
    }
    llava__tok_norm *nn = (llava__tok_norm *)LLAVA_REALLOC(t->norm, (size_t)(t->n_norm + 1) * sizeof *nn);
    if (!nn || !nm.a || (nm.type == LLAVA__NORM_REPLACE && !nm.b)) {
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
    } else {
        return llava__err("%s: pre_tokenizer '%s' is not supported (supported: Sequence, Metaspace, ByteLevel, Split)", path, type);
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

LLAVADEF LlavaTokenizer *llava_tokenizer_load(const char *dir_or_file) {
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

/* the whole encoding: ids with the input byte range of each (special tokens added by the
   post-processor get empty ranges at the ends) */
static int llava__tok_encode(const LlavaTokenizer *t, const char *text, size_t len, int add_special, llava__tok_out *out) {
    llava__tok_scratch x;
    size_t k;
    if (!text && len) return llava__err("llava_tokenize: NULL text");
    if (llava__tok_check_text(text, len)) return -1;
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

static int llava__tok_decode(const LlavaTokenizer *t, const int *ids, int n, int skip_special, LlavaBuf *res) {
    llava__tok_list a, b, sw;
    int k;
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
LLAVADEF const char *llava_decoder_push(LlavaDecoder *d, int id, size_t *len) {
    LlavaBuf s;
    const char *ret = NULL;
    memset(&s, 0, sizeof s);
    if (id < 0 || id >= d->tok->n_vocab || !llava_token_str(d->tok, id)) {
        llava__err("cannot decode id %d: not in the vocabulary of %d", id, d->tok->n_vocab);
        return NULL;
    }
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
    if (llava__tok_decode(d->tok, d->ids, d->n, d->skip_special, &s)) {
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
       llava/mm_utils.py (tokenizer_image_token); the llava-1.5-*-hf chat template.
   ------------------------------------------------------------------------------------------------ */
static const char *const llava__tpl_names[LLAVA_TEMPLATE_COUNT] = {"llava_hf", "vicuna_v1", "llava_v1", "plain"};
static const char *const llava__tpl_system[LLAVA_TEMPLATE_COUNT] = {
    "",
    /* conv_vicuna_v1 (LLaVA-1.5) */
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions.",
    /* conv_llava_v1 */
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions.",
    ""};

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
