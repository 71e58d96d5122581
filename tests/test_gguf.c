/* llava.h GGUF tests: the reader (every metadata type, hostile files refused with a clear message),
   dequantization against the gguf package's, and GGUF models against their safetensors twins.
   Prints one line per test and "N passed, N failed" at the end; exits non-zero on any failure.

   usage: test_gguf [FIXTURES_DIR]   (default tests/fixtures/gguf, run from the repository root)
   env LLAVA_TEST_GGUF=path/to/model.gguf also loads a real llama.cpp text model (skipped when unset) */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#define TEST_FIXTURES "tests/fixtures/gguf"
#include "../llava.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_eval[1024]; /* logits_of's error */

/* every metadata type of meta.gguf (tools/py/make_gguf_fixtures.py write_meta) */
static int t_meta(const void *arg) {
    (void)arg;
    llava__gguf g;
    CHECK(llava__gguf_open(&g, fx("meta.gguf")) == LLAVA_OK, "open: %s", llava_last_error());
    int64_t i = 0;
    uint32_t u = 0;
    double d = 0;
    int b = 0, ok = 1;
    const char *s;
    size_t len;
    const llava__gguf_kv *kv;
    ok &= llava__gguf_int(&g, "t.u8", &i) == 1 && i == 200;
    ok &= llava__gguf_int(&g, "t.i8", &i) == 1 && i == -100;
    ok &= llava__gguf_int(&g, "t.u16", &i) == 1 && i == 60000;
    ok &= llava__gguf_int(&g, "t.i16", &i) == 1 && i == -30000;
    ok &= llava__gguf_u32(&g, "t.u32", &u) == 1 && u == 4000000000u;
    ok &= llava__gguf_int(&g, "t.i32", &i) == 1 && i == -2000000000;
    ok &= llava__gguf_float(&g, "t.f32", &d) == 1 && d == (double)0.1f;
    ok &= llava__gguf_int(&g, "t.u64", &i) == 1 && i == (int64_t)1 << 40;
    ok &= llava__gguf_int(&g, "t.i64", &i) == 1 && i == -((int64_t)1 << 40);
    ok &= llava__gguf_float(&g, "t.f64", &d) == 1 && d == 0.1;
    ok &= llava__gguf_bool(&g, "t.bool", &b) == 1 && b == 1;
    ok &= llava__gguf_str(&g, "t.str", &s, &len) == 1 && len == 6 && !memcmp(s, "h\xc3\xa9llo", 6);
    ok &= llava__gguf_str(&g, "general.architecture", &s, &len) == 1 && len == 5 && !memcmp(s, "llama", 5);
    int scalars = ok;
    ok &= llava__gguf_arr(&g, "t.arr_str", LLAVA__GGUF_STRING, &kv) == 1 && kv->n == 3;
    if (ok) {
        s = llava__gguf_arr_str(kv, 0, &len);
        ok &= len == 1 && s[0] == 'a';
        s = llava__gguf_arr_str(kv, 1, &len);
        ok &= len == 0;
        s = llava__gguf_arr_str(kv, 2, &len);
        ok &= len == 6 && !memcmp(s, "\xe4\xb8\xad\xe6\x96\x87", 6);
    }
    ok &= llava__gguf_arr(&g, "t.arr_i32", LLAVA__GGUF_INT32, &kv) == 1 && kv->n == 3 && llava__gguf_arr_i64(kv, 1) == -2;
    ok &= llava__gguf_arr(&g, "t.arr_f32", LLAVA__GGUF_ANY_NUM, &kv) == 1 && kv->n == 2 && llava__gguf_arr_num(kv, 1) == -1.25;
    ok &= llava__gguf_arr(&g, "t.arr_nested", LLAVA__GGUF_ARRAY, &kv) == 1 && kv->n == 2;
    int arrays = ok;
    /* absent keys: 0, no error; wrong types: an error naming the key */
    ok &= llava__gguf_int(&g, "t.none", &i) == 0;
    ok &= llava__gguf_int(&g, "t.str", &i) == LLAVA_ERR && strstr(llava_last_error(), "t.str") != NULL;
    ok &= llava__gguf_str(&g, "t.u8", &s, &len) == LLAVA_ERR;
    ok &= llava__gguf_u32(&g, "t.i8", &u) == LLAVA_ERR && strstr(llava_last_error(), "out of range") != NULL;
    ok &= llava__gguf_arr(&g, "t.arr_str", LLAVA__GGUF_INT32, &kv) == LLAVA_ERR;
    ok &= llava__gguf_bool(&g, "t.u8", &b) == LLAVA_ERR;
    int errors = ok;
    const llava__gguf_tensor *ta = llava__gguf_tensor_find(&g, "a"), *tb = llava__gguf_tensor_find(&g, "b");
    ok &= ta && ta->type == LLAVA__GGML_F32 && ta->n_dims == 2 && ta->ne[0] == 3 && ta->ne[1] == 2 && ta->nbytes == 24;
    ok &= tb && tb->type == LLAVA__GGML_F16 && tb->n_dims == 1 && tb->ne[0] == 4 && tb->nbytes == 8;
    if (ta) {
        float v[6];
        memcpy(v, ta->data, 24);
        ok &= v[0] == 0 && v[5] == 5;
    }
    ok &= llava__gguf_tensor_find(&g, "c") == NULL;
    int tensors = ok;
    llava__gguf_close(&g);
    llava__gguf_close(&g);
    CHECK(scalars, "a scalar value differs");
    CHECK(arrays, "an array differs");
    CHECK(errors, "a wrong-type lookup was not refused");
    CHECK(tensors, "a tensor info differs");
    return 1;
}

/* each bad_*.gguf of hostile.txt is refused with its message fragment */
static int t_hostile(const void *arg) {
    (void)arg;
    size_t n;
    char *list = llava_read_file(fx("hostile.txt"), 1 << 20, &n);
    CHECK(list, "%s", llava_last_error());
    char *line = list, *next;
    int count = 0;
    for (; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        llava__gguf g;
        int rc = llava__gguf_open(&g, fx(line));
        if (rc == LLAVA_OK) llava__gguf_close(&g);
        if (rc == LLAVA_OK || !strstr(llava_last_error(), tab + 1)) {
            snprintf(g_msg, sizeof g_msg, "%s: %s (wanted an error with '%s')", line,
                     rc == LLAVA_OK ? "accepted" : llava_last_error(), tab + 1);
            free(list);
            return 0;
        }
        count++;
    }
    free(list);
    CHECK(count >= 20, "only %d hostile files listed", count);
    return 1;
}

/* every tensor of quants.gguf dequantizes bit-identically to gguf.quants.dequantize (quants_expected.safetensors) */
static int t_quants(const void *arg) {
    (void)arg;
    llava__gguf g;
    llava__tensors ts, ex;
    memset(&ts, 0, sizeof ts);
    memset(&ex, 0, sizeof ex);
    CHECK(llava__gguf_open(&g, fx("quants.gguf")) == LLAVA_OK, "open: %s", llava_last_error());
    int ok = llava__st_add(&ex, fx("quants_expected.safetensors")) == LLAVA_OK && llava__tensors_index(&ex) == LLAVA_OK;
    int i, n_checked = 0, bad = -1;
    size_t bad_at = 0;
    char why[256] = "";
    if (!ok) snprintf(why, sizeof why, "expected values: %s", llava_last_error());
    for (i = 0; ok && i < g.n_t; i++)
        if (llava__gguf_put(&ts, 0, &g.t[i], g.t[i].name, 0) != LLAVA_OK) {
            snprintf(why, sizeof why, "%s: %s", g.t[i].name, llava_last_error());
            ok = 0;
        }
    if (ok) llava__tensors_index(&ts);
    for (i = 0; ok && i < ts.n; i++) {
        const llava__tensor *t = &ts.t[i], *e = llava__tensors_find(&ex, t->name);
        size_t k, n = t->nbytes / llava__dtype_size((LlavaDType)t->dtype);
        float *v = (float *)malloc(n * sizeof(float) + 1);
        if (!e || !v || e->nbytes != n * 4 || t->ndim != 2 || t->shape[0] != 3 || t->shape[1] != 512) {
            snprintf(why, sizeof why, "%s: no expected values of its size, or a wrong shape", t->name);
            ok = 0;
        } else {
            llava__to_f32(v, t->data, (LlavaDType)t->dtype, n);
            for (k = 0; k < n && bad < 0; k++)
                if (memcmp(v + k, e->data + 4 * k, 4)) bad = i, bad_at = k;
            if (bad >= 0) {
                float want;
                memcpy(&want, e->data + 4 * bad_at, 4);
                snprintf(why, sizeof why, "%s[%zu] = %.9g, gguf.quants.dequantize gives %.9g", t->name, bad_at, v[bad_at], want);
                ok = 0;
            }
            n_checked++;
        }
        free(v);
    }
    /* F16 and BF16 stay in the file (zero-copy), the rest become F32 */
    const llava__tensor *f16 = llava__tensors_find(&ts, "F16"), *q = llava__tensors_find(&ts, "Q6_K.random");
    int kinds = f16 && f16->dtype == LLAVA_F16 && f16->data == llava__gguf_tensor_find(&g, "F16")->data && q && q->dtype == LLAVA_F32;
    llava__tensors_free(&ts);
    llava__tensors_free(&ex);
    llava__gguf_close(&g);
    CHECK(ok, "%s", why);
    CHECK(n_checked == ex.n || n_checked >= 15, "only %d tensors compared", n_checked);
    CHECK(kinds, "F16 not kept zero-copy, or a quantized tensor not converted to F32");
    return 1;
}

/* the tiny LLaVA of tests/fixtures/models/tiny_f16_sharded (F16 safetensors) and its GGUF files */
static char *model_dir(void) {
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/../models/tiny_f16_sharded", g_fix);
    return buf;
}
static void make_pixels(float *px, int n) {
    int i;
    for (i = 0; i < n; i++) px[i] = (float)sin(0.37 * i) * 1.5f;
}

/* logits of every position for ids (+ one image) on model m; NULL on error (message in g_eval) */
static float *logits_of(LlavaModel *m, const int *ids, int n, const float *px, int n_images) {
    LlavaContext *c = llava_context_new(m, 64);
    const LlavaConfig *cfg = llava_model_config(m);
    int T = llava_expanded_length(m, ids, n);
    float *out = T > 0 ? (float *)malloc(sizeof(float) * (size_t)T * cfg->text_vocab) : NULL;
    if (!c || !out || llava_eval(c, ids, n, px, n_images, out) != T) {
        snprintf(g_eval, sizeof g_eval, "eval: %s", llava_last_error());
        free(out);
        out = NULL;
    }
    llava_context_free(c);
    return out;
}

static int same_config(const LlavaConfig *a, const LlavaConfig *b, int vision) {
    int ok = a->text_hidden == b->text_hidden && a->text_layers == b->text_layers && a->text_heads == b->text_heads &&
             a->text_kv_heads == b->text_kv_heads && a->text_head_dim == b->text_head_dim &&
             a->text_intermediate == b->text_intermediate && a->text_vocab == b->text_vocab && a->text_max_pos == b->text_max_pos &&
             a->text_rms_eps == b->text_rms_eps && a->text_rope_theta == b->text_rope_theta && a->text_tied == b->text_tied &&
             a->bos_id == b->bos_id && a->n_eos == b->n_eos && a->eos_ids[0] == b->eos_ids[0];
    if (vision)
        ok = ok && a->vision_image_size == b->vision_image_size && a->vision_patch_size == b->vision_patch_size &&
             a->vision_hidden == b->vision_hidden && a->vision_heads == b->vision_heads &&
             a->vision_intermediate == b->vision_intermediate && a->vision_ln_eps == b->vision_ln_eps &&
             a->vision_act == b->vision_act && a->vision_select_full == b->vision_select_full && a->proj_layers == b->proj_layers &&
             a->proj_bias == b->proj_bias && a->proj_act == b->proj_act && a->image_token_id == b->image_token_id &&
             a->image_token_expands == b->image_token_expands && !memcmp(a->pre_mean, b->pre_mean, sizeof a->pre_mean) &&
             !memcmp(a->pre_std, b->pre_std, sizeof a->pre_std);
    return ok;
}

/* the F16 GGUF pair (text + mmproj) gives the safetensors model's logits bit for bit, image included */
static int t_pair(const void *arg) {
    const char *mmproj = (const char *)arg;
    LlavaModel *ref = llava_model_load(model_dir());
    CHECK(ref, "safetensors model: %s", llava_last_error());
    LlavaModel *m = llava_model_load_gguf(fx("tiny-f16.gguf"), fx(mmproj));
    if (!m) llava_model_free(ref);
    CHECK(m, "gguf: %s", llava_last_error());
    const LlavaConfig ca = *llava_model_config(ref), cb = *llava_model_config(m), *a = &ca, *b = &cb; /* copies: read after the models are freed */
    int cfg_ok = same_config(a, b, 1) && !b->text_only && llava_image_tokens(m) == llava_image_tokens(ref) && llava_image_tokens(m) == 16;
    /* hidden_states[-2] of the 2-layer tower: layer 1 of 2, whichever way the file records it */
    int fl_ok = (a->vision_feature_layer == -2) && (b->vision_feature_layer == 1) && b->vision_layers == (strstr(mmproj, "new") ? 2 : 1);
    int ids[24], i, n = 0;
    ids[n++] = 1;
    ids[n++] = 17;
    for (i = 0; i < 16; i++) ids[n++] = a->image_token_id;
    ids[n++] = 33;
    ids[n++] = 250;
    ids[n++] = 598;
    const int np = 3 * a->vision_image_size * a->vision_image_size;
    float *px = (float *)malloc(sizeof(float) * (size_t)np);
    make_pixels(px, np);
    float *la = cfg_ok ? logits_of(ref, ids, n, px, 1) : NULL, *lb = la ? logits_of(m, ids, n, px, 1) : NULL;
    size_t k, total = (size_t)n * a->text_vocab, diff = 0;
    float maxd = 0;
    for (k = 0; la && lb && k < total; k++)
        if (memcmp(la + k, lb + k, 4)) {
            diff++;
            if (fabsf(la[k] - lb[k]) > maxd) maxd = fabsf(la[k] - lb[k]);
        }
    int ran = la && lb;
    free(la);
    free(lb);
    free(px);
    llava_model_free(ref);
    llava_model_free(m);
    CHECK(cfg_ok, "the GGUF pair's configuration differs from the safetensors model's");
    CHECK(fl_ok, "feature layer: safetensors %d, gguf %d of %d layers", a->vision_feature_layer, b->vision_feature_layer, b->vision_layers);
    CHECK(ran, "%s", g_eval);
    CHECK(diff == 0, "%zu of %zu logits differ (max %g)", diff, total, maxd);
    return 1;
}

/* the text GGUF alone: a language model (no vision tower); text logits equal the safetensors model's */
static int t_text_only(const void *arg) {
    (void)arg;
    LlavaModel *ref = llava_model_load(model_dir());
    CHECK(ref, "safetensors model: %s", llava_last_error());
    LlavaModel *m = llava_model_load(fx("tiny-f16.gguf")); /* a .gguf path: llava_model_load_gguf(path, NULL) */
    if (!m) llava_model_free(ref);
    CHECK(m, "gguf: %s", llava_last_error());
    const LlavaConfig *a = llava_model_config(ref), *b = llava_model_config(m);
    int cfg_ok = same_config(a, b, 0) && b->text_only == 1 && llava_image_tokens(m) == 0 && b->vision_hidden == 0;
    int ids[] = {1, 17, 33, 250, 598, 599, 2, 45};
    const int n = (int)(sizeof ids / sizeof ids[0]);
    float *la = logits_of(ref, ids, 5, NULL, 0), *lb = la ? logits_of(m, ids, 5, NULL, 0) : NULL;
    int same = la && lb && !memcmp(la, lb, sizeof(float) * 5 * (size_t)a->text_vocab);
    free(la);
    free(lb);
    /* every id of the vocabulary is text here (599 is the safetensors model's image placeholder) */
    float *lc = logits_of(m, ids, n, NULL, 0);
    int all_text = lc != NULL;
    free(lc);
    /* images are refused with a clear message */
    LlavaContext *c = llava_context_new(m, 64);
    float px[3 * 32 * 32], feat[16];
    make_pixels(px, 3 * 32 * 32);
    int img_rc = c ? llava_eval(c, ids, 3, px, 1, NULL) : 0;
    int img_msg = img_rc < 0 && strstr(llava_last_error(), "no vision tower") != NULL;
    int enc_rc = llava_encode_image(m, px, feat);
    int step_ok = c && llava_prompt(c, ids, 2, NULL, 0) && llava_step(c, 599) != NULL;
    llava_context_free(c);
    LlavaTrainOptions o;
    llava_train_defaults(&o, 2);
    o.total_steps = 1;
    LlavaTrainer *t = llava_trainer_new(m, &o);
    llava_trainer_free(t);
    llava_model_free(ref);
    llava_model_free(m);
    CHECK(cfg_ok, "text-only configuration differs");
    CHECK(same, "text-only logits differ from the safetensors model's");
    CHECK(all_text, "id 599 was not taken as text: %s", g_eval);
    CHECK(img_msg, "an image given to a text-only model: rc %d, '%s'", img_rc, llava_last_error());
    CHECK(enc_rc < 0, "llava_encode_image on a text-only model did not fail");
    CHECK(step_ok, "prompt/step on a text-only model: %s", llava_last_error());
    CHECK(t == NULL, "a trainer on a text-only model was not refused");
    return 1;
}

/* a quantized llama (a different type per matrix, q/k permuted within quantized blocks) against the
   logits transformers computes through its own GGUF loading (tiny-quant.json, tiny-quant-logits.f32) */
static int t_quant_model(const void *arg) {
    (void)arg;
    size_t n_json = 0, n_ref = 0;
    char *js = llava_read_file(fx("tiny-quant.json"), 1 << 20, &n_json);
    char *ref = llava_read_file(fx("tiny-quant-logits.f32"), 1 << 24, &n_ref);
    LlavaJson j;
    int ids[64], n = 0, parsed = js && llava_json_parse(&j, js, n_json, "tiny-quant.json") == LLAVA_OK;
    if (parsed) {
        const LlavaJsonNode *a = llava_json_get(&j, &j.nodes[0], "ids"), *x;
        for (x = a ? llava_json_first(&j, a) : NULL; x && n < 64; x = llava_json_next(&j, x)) ids[n++] = (int)x->num;
        llava_json_free(&j);
    }
    free(js);
    LlavaModel *m = parsed && ref ? llava_model_load_gguf(fx("tiny-quant.gguf"), NULL) : NULL;
    float *l = m ? logits_of(m, ids, n, NULL, 0) : NULL;
    const int V = m ? llava_model_config(m)->text_vocab : 0;
    size_t k;
    double maxd = 0, maxv = 0;
    int sized = l && n_ref == sizeof(float) * (size_t)n * V;
    for (k = 0; sized && k < (size_t)n * V; k++) {
        float r;
        memcpy(&r, ref + 4 * k, 4);
        if (fabs(l[k] - r) > maxd) maxd = fabs(l[k] - r);
        if (fabs(r) > maxv) maxv = fabs(r);
    }
    const LlavaConfig *c = m ? llava_model_config(m) : NULL;
    int cfg_ok = c && c->text_hidden == 256 && c->text_heads == 4 && c->text_kv_heads == 2 && c->text_head_dim == 64 && !c->text_tied;
    printf("      quantized llama vs transformers: max |difference| %.3g (max |logit| %.3g)\n", maxd, maxv);
    free(l);
    free(ref);
    llava_model_free(m);
    CHECK(parsed && n > 0, "tiny-quant.json: %s", llava_last_error());
    CHECK(m, "load: %s", llava_last_error());
    CHECK(cfg_ok, "configuration");
    CHECK(sized, "logits: %s, or tiny-quant-logits.f32 has the wrong size", g_eval);
    CHECK(maxd <= 1e-4 * (maxv > 1 ? maxv : 1), "max |difference| %g", maxd);
    return 1;
}

/* wrong files in the wrong places: each gives an error naming the problem */
static int t_model_errors(const void *arg) {
    (void)arg;
    static const struct {
        const char *model, *mmproj, *want;
    } k[] = {{"tiny-mmproj-f16.gguf", NULL, "general.architecture \"clip\" is not supported"},
             {"tiny-f16.gguf", "tiny-f16.gguf", "clip.vision.image_size"},
             {"meta.gguf", NULL, "llama.embedding_length"},
             {"quants.gguf", NULL, "llama.embedding_length"},
             {"bad_overlap.gguf", NULL, "overlap"},
             {"tiny-f16.gguf", "bad_mmproj_ldp.gguf", "clip.projector_type \"ldp\" is not supported"},
             {"bad_text_iq2.gguf", NULL, "IQ2_XXS, which llava.h cannot convert"},
             {"missing.gguf", NULL, "cannot open"}};
    size_t i;
    for (i = 0; i < sizeof k / sizeof k[0]; i++) {
        char mp[512];
        snprintf(mp, sizeof mp, "%s", k[i].mmproj ? fx(k[i].mmproj) : "");
        LlavaModel *m = llava_model_load_gguf(fx(k[i].model), k[i].mmproj ? mp : NULL);
        if (m) llava_model_free(m);
        CHECK(!m, "%s + %s: loaded", k[i].model, k[i].mmproj ? k[i].mmproj : "(none)");
        CHECK(strstr(llava_last_error(), k[i].want), "%s + %s: '%s' (wanted '%s')", k[i].model, k[i].mmproj ? k[i].mmproj : "(none)",
              llava_last_error(), k[i].want);
    }
    return 1;
}

/* tests/fixtures/gguf_llamacpp: the same tiny model converted by llama.cpp's own scripts
   (tools/py/make_llamacpp_gguf_fixtures.py: convert_hf_to_gguf.py for the text model, llava_surgery_v2.py +
   convert_image_encoder_to_gguf.py for the mmproj) */
static char *lfx(const char *rel) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/../gguf_llamacpp/%s", g_fix, rel);
    return buf[k];
}

typedef struct {
    const char *text, *mmproj;
} lcpp_pair;

/* count of positions whose logits differ in any bit; -1 when either run failed */
static long diff_logits(LlavaModel *a, LlavaModel *b, const int *ids, int n, const float *px, int n_images, int V, float *maxd) {
    float *la = logits_of(a, ids, n, px, n_images), *lb = la ? logits_of(b, ids, n, px, n_images) : NULL;
    long diff = la && lb ? 0 : -1;
    size_t k, T = la ? (size_t)llava_expanded_length(a, ids, n) : 0;
    for (k = 0; la && lb && k < T * (size_t)V; k++)
        if (memcmp(la + k, lb + k, 4)) {
            diff++;
            if (fabsf(la[k] - lb[k]) > *maxd) *maxd = fabsf(la[k] - lb[k]);
        }
    free(la);
    free(lb);
    return diff;
}

/* a llama.cpp-converted pair (and its text model alone) = the safetensors model, bit for bit, with and
   without an image */
static int t_llamacpp_pair(const void *arg) {
    const lcpp_pair *p = (const lcpp_pair *)arg;
    LlavaModel *ref = llava_model_load(model_dir());
    CHECK(ref, "safetensors model: %s", llava_last_error());
    LlavaModel *m = llava_model_load_gguf(lfx(p->text), lfx(p->mmproj));
    if (!m) llava_model_free(ref);
    CHECK(m, "gguf %s + %s: %s", p->text, p->mmproj, llava_last_error());
    LlavaModel *t = llava_model_load_gguf(lfx(p->text), NULL);
    if (!t) {
        llava_model_free(ref);
        llava_model_free(m);
    }
    CHECK(t, "gguf %s alone: %s", p->text, llava_last_error());
    const LlavaConfig ca = *llava_model_config(ref), cb = *llava_model_config(m), *a = &ca, *b = &cb; /* copies: read after the models are freed */
    int cfg_ok = same_config(a, b, 1) && !b->text_only && llava_image_tokens(m) == 16 && same_config(a, llava_model_config(t), 0) &&
                 llava_model_config(t)->text_only;
    /* hidden_states[-2] of the 2-layer tower: one layer stored (the converter keeps layers up to the
       feature layer, or drops the last one without clip.vision.feature_layer); its output is used */
    int fl_ok = a->vision_feature_layer == -2 && b->vision_layers == 1 && b->vision_feature_layer == 1 && llava_tower_layers(m) == 1;
    int ids[24], i, n = 0;
    ids[n++] = 1;
    ids[n++] = 17;
    for (i = 0; i < 16; i++) ids[n++] = a->image_token_id;
    ids[n++] = 33;
    ids[n++] = 250;
    ids[n++] = 598;
    const int text_ids[] = {1, 259, 265, 260, 268, 268, 261, 13, 598, 2, 45};
    const int np = 3 * a->vision_image_size * a->vision_image_size, V = a->text_vocab;
    float *px = (float *)malloc(sizeof(float) * (size_t)np), maxd = 0;
    make_pixels(px, np);
    long d_img = -1, d_txt = -1, d_alone = -1;
    if (cfg_ok && fl_ok) {
        d_img = diff_logits(ref, m, ids, n, px, 1, V, &maxd);
        d_txt = diff_logits(ref, m, text_ids, 11, NULL, 0, V, &maxd);
        d_alone = diff_logits(ref, t, text_ids, 11, NULL, 0, V, &maxd);
    }
    free(px);
    llava_model_free(ref);
    llava_model_free(m);
    llava_model_free(t);
    CHECK(cfg_ok, "the converted pair's configuration differs from the safetensors model's");
    CHECK(fl_ok, "feature layer: safetensors %d, gguf %d of %d stored layers", a->vision_feature_layer, b->vision_feature_layer, b->vision_layers);
    CHECK(d_img >= 0 && d_txt >= 0 && d_alone >= 0, "%s", g_eval);
    CHECK(d_img == 0, "with an image: %ld logits differ (max %g)", d_img, maxd);
    CHECK(d_txt == 0, "text only: %ld logits differ (max %g)", d_txt, maxd);
    CHECK(d_alone == 0, "the text model alone: %ld logits differ (max %g)", d_alone, maxd);
    return 1;
}

/* the converted tokenizer (manifest.json "tokenize"): the tokenizer.json gives `tokenizers`' ids; the
   GGUF (tokenizer.ggml.model "llama", SentencePiece) gives the ids of llama.cpp's rules for it, which add
   a space prefix at the start and after each special token where the tokenizer.json's Metaspace
   (prepend_scheme "first") does not: "ids_gguf", equal to "ids" on the texts without those cases. While
   llava.h refuses that tokenizer kind it must say so. */
static int ids_equal(const LlavaTokenizer *tok, const char *text, int add_special, const LlavaJsonNode *want, const LlavaJson *j) {
    int ids[256], n = llava_tokenize(tok, text, strlen(text), add_special, ids, 256), i = 0;
    const LlavaJsonNode *x;
    if (n < 0 || n != want->count) return 0;
    for (x = llava_json_first(j, want); x; x = llava_json_next(j, x), i++)
        if (ids[i] != (int)x->num) return 0;
    return 1;
}
static int t_llamacpp_tokenizer(const void *arg) {
    (void)arg;
    size_t len = 0;
    char *js = llava_read_file(lfx("manifest.json"), 1 << 20, &len);
    CHECK(js, "manifest.json: %s", llava_last_error());
    LlavaJson j;
    int parsed = llava_json_parse(&j, js, len, "manifest.json") == LLAVA_OK;
    free(js);
    CHECK(parsed, "%s", llava_last_error());
    char dir[512];
    snprintf(dir, sizeof dir, "%s/../tokenizer/tiny600", g_fix);
    LlavaTokenizer *hf = llava_tokenizer_load(dir), *gg = llava_tokenizer_load(lfx("tiny-f16.gguf"));
    char gerr[1024];
    snprintf(gerr, sizeof gerr, "%s", gg ? "" : llava_last_error());
    const LlavaJsonNode *list = llava_json_get(&j, &j.nodes[0], "tokenize"), *e;
    int n = 0, hf_ok = hf != NULL, gg_ok = gg != NULL;
    const char *bad = "";
    for (e = list ? llava_json_first(&j, list) : NULL; e; e = llava_json_next(&j, e), n++) {
        const LlavaJsonNode *tx = llava_json_get(&j, e, "text"), *w = llava_json_get(&j, e, "ids"), *wp = llava_json_get(&j, e, "ids_plain"),
                            *gw = llava_json_get(&j, e, "ids_gguf"), *gwp = llava_json_get(&j, e, "ids_gguf_plain");
        if (!tx || tx->type != LLAVA_JSON_STR || !w || !wp || !gw || !gwp) {
            hf_ok = 0;
            bad = "(malformed entry)";
            break;
        }
        if (hf_ok && !(ids_equal(hf, tx->str, 1, w, &j) && ids_equal(hf, tx->str, 0, wp, &j))) hf_ok = 0, bad = tx->str;
        if (gg && gg_ok && !(ids_equal(gg, tx->str, 1, gw, &j) && ids_equal(gg, tx->str, 0, gwp, &j))) gg_ok = 0, bad = tx->str;
    }
    int vocab_ok = 1, i;
    if (hf && gg) {
        vocab_ok = llava_tokenizer_vocab_size(gg) == llava_tokenizer_vocab_size(hf) && llava_tokenizer_bos(gg) == llava_tokenizer_bos(hf) &&
                   llava_tokenizer_eos(gg) == llava_tokenizer_eos(hf) && llava_token_id(gg, "<image>") == 599;
        for (i = 0; vocab_ok && i < llava_tokenizer_vocab_size(hf); i++) {
            const char *x = llava_token_str(hf, i), *y = llava_token_str(gg, i);
            vocab_ok = x && y && !strcmp(x, y);
        }
    }
    llava_tokenizer_free(hf);
    llava_tokenizer_free(gg);
    llava_json_free(&j);
    CHECK(n >= 5, "manifest.json lists %d texts", n);
    CHECK(hf_ok, "tokenizer.json: ids differ from tokenizers' for \"%s\": %s", bad, llava_last_error());
    CHECK(gg, "tiny-f16.gguf: the tokenizer does not load: %s", gerr);
    CHECK(gg_ok, "GGUF tokenizer: ids differ from llama.cpp's rules (ids_gguf) for \"%s\"", bad);
    CHECK(vocab_ok, "GGUF tokenizer: vocabulary or special ids differ from the tokenizer.json's");
    return 1;
}

/* LLAVA_TEST_GGUF=path: a real llama.cpp model loads and gives finite logits (skipped when unset) */
static int t_real(const void *arg) {
    const char *path = (const char *)arg;
    LlavaModel *m = llava_model_load_gguf(path, NULL);
    CHECK(m, "%s: %s", path, llava_last_error());
    const LlavaConfig *c = llava_model_config(m);
    int ids[6] = {1, 2, 3, 4, 5, 6}, i, finite = 1;
    for (i = 0; i < 6; i++) ids[i] = (ids[i] * 997) % c->text_vocab;
    if (c->bos_id >= 0) ids[0] = c->bos_id;
    float *l = logits_of(m, ids, 6, NULL, 0);
    size_t k;
    for (k = 0; l && k < (size_t)6 * c->text_vocab; k++) finite &= isfinite(l[k]) != 0;
    printf("      %s: %d layers, width %d, vocab %d, logits[0] %.6f\n", path, c->text_layers, c->text_hidden, c->text_vocab, l ? l[0] : 0.0f);
    free(l);
    llava_model_free(m);
    CHECK(l != NULL, "%s", g_eval);
    CHECK(finite, "non-finite logits");
    return 1;
}

int main(int argc, char **argv) {
    if (argc > 1) g_fix = argv[1];
    run("gguf metadata: every value type, lookups, tensor infos", t_meta, NULL);
    run("gguf hostile files refused with a clear message", t_hostile, NULL);
    run("gguf dequantization bit-identical to gguf.quants.dequantize (Q4_0 ... Q6_K, F16, BF16)", t_quants, NULL);
    run("gguf F16 text + mmproj (legacy LLaVA converter) = safetensors logits, bit for bit", t_pair, "tiny-mmproj-f16.gguf");
    run("gguf F16 text + mmproj (feature_layer key, gguf-py ffn names) = safetensors logits", t_pair, "tiny-mmproj-f16-new.gguf");
    run("gguf text model alone: language model, text logits = safetensors, images refused", t_text_only, NULL);
    run("gguf quantized llama (Q4_K ... Q8_0 per matrix) = transformers' GGUF loading", t_quant_model, NULL);
    run("gguf model loading errors name the problem", t_model_errors, NULL);
    static const lcpp_pair lp[] = {{"tiny-f32.gguf", "mmproj-f32.gguf"}, {"tiny-f16.gguf", "mmproj-f16.gguf"}, {"tiny-f16.gguf", "mmproj-nofl-f16.gguf"}};
    run("llama.cpp-converted F32 text + mmproj (convert_hf_to_gguf.py, convert_image_encoder_to_gguf.py) = safetensors, bit for bit", t_llamacpp_pair, &lp[0]);
    run("llama.cpp-converted F16 text + mmproj = safetensors, bit for bit", t_llamacpp_pair, &lp[1]);
    run("llama.cpp-converted F16 text + mmproj without clip.vision.feature_layer = safetensors, bit for bit", t_llamacpp_pair, &lp[2]);
    run("llama.cpp-converted tokenizer: tokenizer.json = tokenizers, GGUF = llama.cpp's SPM rules", t_llamacpp_tokenizer, NULL);
    const char *real = getenv("LLAVA_TEST_GGUF");
    if (real && *real) run("gguf real model (LLAVA_TEST_GGUF) loads, finite logits", t_real, real);
    else printf("skip  gguf real model: set LLAVA_TEST_GGUF=path/to/model.gguf to load one\n");
    return test_summary();
}
