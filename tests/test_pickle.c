/* llava.h PyTorch checkpoint tests: the zip reader and restricted unpickler against torch.save's files
   (tools/py/make_bin_fixtures.py writes tests/fixtures/bin): a sharded .bin model gives logits
   bit-identical to its safetensors twin, a stage-1 mm_projector.bin loads as the projector (the same
   weights, logits and first training loss as its safetensors copy), small valid files read as torch
   reads them, and every hostile file is refused with a message naming the problem.
   Prints one line per test and "N passed, N failed" at the end; exits non-zero on any failure.

   usage: test_pickle [FIXTURES_DIR]   (default tests/fixtures, run from the repository root) */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static LlavaJson g_man;      /* bin/manifest.json */
static LlavaJson g_cases;    /* manifest.json (the prompt of the twin's case) */

static int load_json(LlavaJson *j, const char *path) {
    size_t n;
    char *text = llava_read_file(path, (size_t)1 << 26, &n);
    if (!text) return -1;
    int rc = llava_json_parse(j, text, n, path);
    free(text); /* (the parsed nodes own their strings) */
    return rc;
}

/* the twin's prompt: ids and pixels of manifest case bin/manifest.json names */
typedef struct {
    int ids[64], labels[64], n;
    float *pixels;
} prompt;
static int prompt_load(prompt *p) {
    const LlavaJsonNode *cases = llava_json_get(&g_cases, &g_cases.nodes[0], "cases"), *c, *want = llava_json_get(&g_man, &g_man.nodes[0], "case");
    const LlavaJsonNode *ids = NULL, *px = NULL;
    for (c = llava_json_first(&g_cases, cases); c; c = llava_json_next(&g_cases, c)) {
        const LlavaJsonNode *nm = llava_json_get(&g_cases, c, "name");
        if (nm && !strcmp(nm->str, want->str)) ids = llava_json_get(&g_cases, c, "ids"), px = llava_json_get(&g_cases, c, "pixels");
    }
    if (!ids || !px || ids->count > 64) return -1;
    p->n = 0;
    for (c = llava_json_first(&g_cases, ids); c; c = llava_json_next(&g_cases, c)) {
        p->ids[p->n] = (int)c->num;
        p->labels[p->n] = c->num < 0 || p->n < 2 ? LLAVA_IGNORE_INDEX : (int)c->num; /* the text after the image is supervised */
        p->n++;
    }
    size_t n;
    p->pixels = (float *)llava_read_file(fx(px->str), (size_t)1 << 26, &n);
    return p->pixels ? 0 : -1;
}

/* all logits of the prompt */
static float *logits_of(LlavaModel *m, const prompt *p, int *count) {
    LlavaContext *c = llava_context_new(m, 0);
    if (!c) return NULL;
    int T = llava_expanded_length(m, p->ids, p->n);
    const int V = llava_model_config(m)->text_vocab;
    float *all = (float *)malloc(sizeof(float) * (size_t)T * (size_t)V);
    if (all && llava_eval(c, p->ids, p->n, p->pixels, 1, all) != T) free(all), all = NULL;
    llava_context_free(c);
    *count = T * V;
    return all;
}

static int t_sharded_model(const void *arg) {
    (void)arg;
    prompt p;
    CHECK(prompt_load(&p) == 0, "the twin's case: %s", llava_last_error());
    LlavaModel *a = llava_model_load(fx("bin/tiny_orig_mlp")), *b = a ? llava_model_load(fx("models/tiny_orig_mlp")) : NULL;
    if (!a || !b) {
        snprintf(g_msg, sizeof g_msg, "load: %s", llava_last_error());
        free(p.pixels), llava_model_free(a);
        return 0;
    }
    int na = 0, nb = 0;
    float *la = logits_of(a, &p, &na), *lb = logits_of(b, &p, &nb);
    int ok = la && lb && na == nb && na > 0 && !memcmp(la, lb, sizeof(float) * (size_t)na);
    if (!ok) snprintf(g_msg, sizeof g_msg, "logits of the .bin model differ from its safetensors twin (%d vs %d values)", na, nb);
    free(la), free(lb), free(p.pixels);
    llava_model_free(a), llava_model_free(b);
    return ok;
}

/* a Python-side value list [[shape...], [values...]] against a loaded tensor */
static int t_ok_files(const void *arg) {
    (void)arg;
    const LlavaJsonNode *ok = llava_json_get(&g_man, &g_man.nodes[0], "ok"), *f, *e;
    for (f = llava_json_first(&g_man, ok); f; f = llava_json_next(&g_man, f)) {
        char rel[256];
        snprintf(rel, sizeof rel, "bin/ok/%s", f->key);
        llava__tensors ts;
        memset(&ts, 0, sizeof ts);
        int rc = llava__pt_add(&ts, fx(rel));
        if (rc == LLAVA_OK) rc = llava__tensors_index(&ts);
        if (rc != LLAVA_OK) {
            snprintf(g_msg, sizeof g_msg, "%s: %s", rel, llava_last_error());
            llava__tensors_free(&ts);
            return 0;
        }
        for (e = llava_json_first(&g_man, f); e; e = llava_json_next(&g_man, e)) {
            const llava__tensor *t = llava__tensors_find(&ts, e->key);
            const LlavaJsonNode *sh = llava_json_at(&g_man, e, 0), *vals = llava_json_at(&g_man, e, 1);
            int good = t && t->dtype >= 0 && t->ndim == sh->count, k;
            for (k = 0; good && k < sh->count; k++) good = t->shape[k] == (int64_t)llava_json_at(&g_man, sh, k)->num;
            if (good) {
                size_t n = t->nbytes / llava__dtype_size((LlavaDType)t->dtype);
                float *v = (float *)malloc(n * sizeof(float) + 1);
                llava__to_f32(v, t->data, (LlavaDType)t->dtype, n);
                good = (int)n == vals->count;
                for (k = 0; good && k < vals->count; k++) good = v[k] == (float)llava_json_at(&g_man, vals, k)->num;
                free(v);
            }
            if (!good) {
                snprintf(g_msg, sizeof g_msg, "%s: tensor '%s' differs from what torch.load gives", rel, e->key);
                llava__tensors_free(&ts);
                return 0;
            }
        }
        llava__tensors_free(&ts);
    }
    return 1;
}

static int t_hostile(const void *arg) {
    (void)arg;
    const LlavaJsonNode *bad = llava_json_get(&g_man, &g_man.nodes[0], "bad"), *b;
    int n = 0;
    for (b = llava_json_first(&g_man, bad); b; b = llava_json_next(&g_man, b), n++) {
        const char *file = llava_json_get(&g_man, b, "file")->str, *expect = llava_json_get(&g_man, b, "expect")->str;
        char rel[256];
        snprintf(rel, sizeof rel, "bin/%s", file);
        llava__tensors ts;
        memset(&ts, 0, sizeof ts);
        int rc = llava__pt_add(&ts, fx(rel));
        llava__tensors_free(&ts);
        CHECK(rc == LLAVA_ERR, "%s was accepted", file);
        CHECK(strstr(llava_last_error(), expect), "%s: message '%s' lacks '%s'", file, llava_last_error(), expect);
    }
    CHECK(n >= 20, "only %d hostile files in the manifest", n);
    return 1;
}

static int copy_file(const char *from, const char *to) {
    size_t n;
    char *d = llava_read_file(from, (size_t)1 << 26, &n);
    FILE *fp = d ? fopen(to, "wb") : NULL;
    int ok = fp && fwrite(d, 1, n, fp) == n;
    if (fp) ok = fclose(fp) == 0 && ok;
    free(d);
    return ok ? 0 : -1;
}

/* through llava_model_load: a model directory whose pytorch_model.bin holds an os.system global */
static int t_hostile_model(const void *arg) {
    (void)arg;
    char dir[512], a[600], b[600];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/llava-pickle-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir), "cannot make a temporary directory");
    snprintf(a, sizeof a, "%s/config.json", dir);
    snprintf(b, sizeof b, "%s/pytorch_model.bin", dir);
    int ok = copy_file(fx("bin/tiny_orig_mlp/config.json"), a) == 0 && copy_file(fx("bin/bad/os_system.bin"), b) == 0;
    LlavaModel *m = ok ? llava_model_load(dir) : NULL;
    if (!ok) snprintf(g_msg, sizeof g_msg, "cannot write %s", dir);
    else if (m || !strstr(llava_last_error(), "pytorch_model.bin: data.pkl at byte 13: global 'os.system' is not allowed"))
        ok = 0, snprintf(g_msg, sizeof g_msg, "model load: %s", m ? "accepted" : llava_last_error());
    llava_model_free(m);
    remove(a), remove(b), rmdir(dir);
    return ok;
}

/* the projector of mm_projector.bin and of mm_projector.safetensors: same weights, logits, first loss;
   and the loaded values are what training starts from (the loss differs from the model's own) */
static int t_projector(const void *arg) {
    (void)arg;
    prompt p;
    CHECK(prompt_load(&p) == 0, "the twin's case: %s", llava_last_error());
    LlavaModel *m[3];
    int i, ok = 1;
    for (i = 0; i < 3; i++) m[i] = llava_model_load(fx("models/tiny_orig_mlp"));
    if (!m[0] || !m[1] || !m[2]) ok = 0, snprintf(g_msg, sizeof g_msg, "load: %s", llava_last_error());
    if (ok && llava_model_load_projector(m[0], fx("bin/mm_projector.bin")) != LLAVA_OK)
        ok = 0, snprintf(g_msg, sizeof g_msg, "mm_projector.bin: %s", llava_last_error());
    if (ok && llava_model_load_projector(m[1], fx("bin/mm_projector.safetensors")) != LLAVA_OK)
        ok = 0, snprintf(g_msg, sizeof g_msg, "mm_projector.safetensors: %s", llava_last_error());
    /* a wrong shape: refused, the model unchanged */
    if (ok && (llava_model_load_projector(m[2], fx("bin/mm_projector_bad_shape.bin")) == LLAVA_OK ||
               !strstr(llava_last_error(), "has shape [48, 16] but the config implies [48, 32]")))
        ok = 0, snprintf(g_msg, sizeof g_msg, "bad shape: '%s'", llava_last_error());
    if (ok && llava_model_load_projector(m[2], fx("bin/bad/os_system.bin")) == LLAVA_OK) ok = 0, snprintf(g_msg, sizeof g_msg, "os_system.bin accepted");
    for (i = 0; ok && i < m[0]->cfg.proj_layers; i++) {
        const LlavaWeight *a = &m[0]->proj[i], *b = &m[1]->proj[i];
        size_t nb = (size_t)a->rows * (size_t)a->cols * 4;
        if (a->dtype != LLAVA_F32 || b->dtype != LLAVA_F32 || memcmp(a->data, b->data, nb) || memcmp(m[0]->proj_b[i], m[1]->proj_b[i], (size_t)a->rows * 4) ||
            !memcmp(a->data, m[2]->proj[i].data, nb))
            ok = 0, snprintf(g_msg, sizeof g_msg, "projector layer %d: weights differ between .bin and safetensors (or equal the model's own)", i);
    }
    if (ok) {
        int na = 0, nb = 0;
        float *la = logits_of(m[0], &p, &na), *lb = logits_of(m[1], &p, &nb);
        if (!la || !lb || na != nb || memcmp(la, lb, sizeof(float) * (size_t)na)) ok = 0, snprintf(g_msg, sizeof g_msg, "logits differ");
        free(la), free(lb);
    }
    float loss[3] = {0, 0, 0};
    for (i = 0; ok && i < 3; i++) {
        LlavaTrainOptions o;
        llava_train_defaults(&o, 2);
        o.total_steps = 10;
        LlavaTrainer *t = llava_trainer_new(m[i], &o);
        LlavaSample s = {p.ids, p.labels, p.n, p.pixels, 1};
        LlavaStepStats st;
        memset(&st, 0, sizeof st);
        if (!t || llava_trainer_step(t, &s, 1, &st) != LLAVA_OK) ok = 0, snprintf(g_msg, sizeof g_msg, "step: %s", llava_last_error());
        loss[i] = st.loss;
        llava_trainer_free(t);
    }
    if (ok && (loss[0] != loss[1] || loss[0] == loss[2]))
        ok = 0, snprintf(g_msg, sizeof g_msg, "first stage-2 losses: .bin %.9g, safetensors %.9g, the model's own %.9g", loss[0], loss[1], loss[2]);
    for (i = 0; i < 3; i++) llava_model_free(m[i]);
    free(p.pixels);
    return ok;
}

/* byte flips and cuts of real checkpoints (the archive's headers and data.pkl, where a reader can go
   wrong): every read gives tensors or a message, never a crash (make test-asan runs this under ASan) */
static int t_mutations(const void *arg) {
    (void)arg;
    static const char *const files[] = {"bin/mm_projector.bin", "bin/ok/proto4.bin", "bin/ok/nested.bin"};
    char path[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/llava-pickle-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path), f, it, accepted = 0, refused = 0;
    CHECK(fd >= 0, "cannot make a temporary file");
    close(fd);
    uint64_t r = 88172645463325252ull;
#define NEXT() (r ^= r << 13, r ^= r >> 7, r ^= r << 17, r)
    for (f = 0; f < 3; f++) {
        size_t n, k;
        unsigned char *orig = (unsigned char *)llava_read_file(fx(files[f]), (size_t)1 << 24, &n), *buf = (unsigned char *)malloc(n + 1);
        CHECK(orig && buf && n > 600, "%s: %s", files[f], llava_last_error());
        for (it = 0; it < 400; it++) {
            size_t len = n;
            memcpy(buf, orig, n);
            if (it % 8 == 7) {
                len = (size_t)(NEXT() % n); /* a cut */
            } else { /* 1 to 4 bytes: in the first 600 (headers, data.pkl) or the last 300 (central directory) */
                int flips = 1 + (int)(NEXT() % 4), j;
                for (j = 0; j < flips; j++) {
                    k = NEXT() % 2 ? (size_t)(NEXT() % 600) : n - 1 - (size_t)(NEXT() % 300);
                    buf[k] = (unsigned char)(NEXT() % 3 ? buf[k] ^ (1u << (NEXT() % 8)) : NEXT());
                }
            }
            FILE *fp = fopen(path, "wb");
            CHECK(fp && fwrite(buf, 1, len, fp) == len, "cannot write %s", path);
            fclose(fp);
            llava__tensors ts;
            memset(&ts, 0, sizeof ts);
            llava__errbuf[0] = 0;
            int rc = llava__pt_add(&ts, path);
            if (rc == LLAVA_OK) rc = llava__tensors_index(&ts);
            llava__tensors_free(&ts);
            if (rc == LLAVA_OK) accepted++;
            else if (llava_last_error()[0]) refused++;
            else CHECK(0, "%s mutation %d: refused without a message", files[f], it);
        }
        free(orig);
        free(buf);
    }
#undef NEXT
    remove(path);
    CHECK(refused > 100, "only %d of %d mutations refused", refused, accepted + refused);
    return 1;
}

/* the loader's message when a directory has no weights names every file it looks for */
static int t_missing(const void *arg) {
    (void)arg;
    llava__tensors ts;
    memset(&ts, 0, sizeof ts);
    int rc = llava__tensors_load_dir(&ts, fx("bin/ok"));
    llava__tensors_free(&ts);
    CHECK(rc == LLAVA_ERR && strstr(llava_last_error(), "pytorch_model.bin.index.json") && strstr(llava_last_error(), "model.safetensors"),
          "message: %s", llava_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc > 1) g_fix = argv[1];
    if (load_json(&g_man, fx("bin/manifest.json")) != 0 || load_json(&g_cases, fx("manifest.json")) != 0) {
        printf("FAIL  fixtures: %s\n0 passed, 1 failed\n", llava_last_error());
        return 1;
    }
    run("pickle: sharded pytorch_model.bin model = safetensors twin (bit-identical logits)", t_sharded_model, NULL);
    run("pickle: protocol 4 and nested state dicts read as torch.load", t_ok_files, NULL);
    run("pickle: hostile files refused with their message", t_hostile, NULL);
    run("pickle: a model directory with a hostile pytorch_model.bin: llava_model_load refuses it", t_hostile_model, NULL);
    run("pickle: mm_projector.bin as the projector (weights, logits, first stage-2 loss)", t_projector, NULL);
    run("pickle: no weights: the message names every file", t_missing, NULL);
    run("pickle: 1200 byte flips and cuts: tensors or a message, never a crash", t_mutations, NULL);
    llava_json_free(&g_man);
    llava_json_free(&g_cases);
    return test_summary();
}
