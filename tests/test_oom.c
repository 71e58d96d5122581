/* llava.h allocation-failure tests: LLAVA_MALLOC / LLAVA_REALLOC / LLAVA_FREE are this file's counting
   wrappers, and each scenario (a model load, a tokenizer load, context creation, a prompt, generation,
   trainer creation, training steps, saving) first runs once to count the allocations its operation makes,
   then once for every N in 1..count with the Nth of them failing. Every run must end in an error
   (NULL / -1) whose message (llava_last_error()) says that memory ran out, or, where the library
   survives the failure, in exactly the result of the run without failures; and once the objects are
   freed, every allocation must have been freed (the wrappers count the live ones; under make test-asan
   LeakSanitizer also checks each child process below). Training steps are also repeated without
   failures after each failed one: the trainer must give the same result as if the failed step had
   never been tried. The runs go in child processes (a new one after a crash), so that a crash is
   reported with its number (a failure of the scenario, as any crash is).
   Allocations inside third-party code (stb_image, the OpenMP runtime, libc) are not counted.
   Prints one line per scenario and "N passed, N failed" at the end; exits non-zero on any failure.

   usage: test_oom [--verbose] [--at N] [FIXTURES_DIR] [SCENARIO...]
     --verbose  one line per failed allocation: its number, the outcome and the message
     --at N     only the run with the Nth allocation failing, in this process (for a debugger)
     SCENARIO   run only the scenarios whose name contains one of these words */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>

/* the counting allocator: while armed, every allocation counts, and the fail_at-th returns NULL */
static int g_armed;
static long g_calls, g_fail_at, g_live, g_failed;

static int oom_fail_now(void) {
    if (!__atomic_load_n(&g_armed, __ATOMIC_SEQ_CST)) return 0;
    const long k = __atomic_add_fetch(&g_calls, 1, __ATOMIC_SEQ_CST);
    if (k == g_fail_at) {
        __atomic_add_fetch(&g_failed, 1, __ATOMIC_SEQ_CST);
        return 1;
    }
    return 0;
}
static void *oom_malloc(size_t n) {
    if (oom_fail_now()) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) __atomic_add_fetch(&g_live, 1, __ATOMIC_SEQ_CST);
    return p;
}
static void *oom_realloc(void *p, size_t n) {
    if (oom_fail_now()) return NULL;
    void *q = realloc(p, n ? n : 1);
    if (q && !p) __atomic_add_fetch(&g_live, 1, __ATOMIC_SEQ_CST);
    return q;
}
static void oom_free(void *p) {
    if (p) __atomic_sub_fetch(&g_live, 1, __ATOMIC_SEQ_CST);
    free(p);
}
#define LLAVA_MALLOC(n) oom_malloc(n)
#define LLAVA_REALLOC(p, n) oom_realloc(p, n)
#define LLAVA_FREE(p) oom_free(p)
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "test.h"

#include <stdio.h>
#include <string.h>
#if defined(__SANITIZE_ADDRESS__)
#define OOM_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OOM_LSAN 1
#endif
#endif
#ifdef OOM_LSAN
#include <sanitizer/lsan_interface.h>
#endif
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_verbose;

/* FNV-1a over a result */
static void h_bytes(uint64_t *h, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) *h = (*h ^ b[i]) * 1099511628211ull;
}
static void h_int(uint64_t *h, long v) { h_bytes(h, &v, sizeof v); }
static int h_file(uint64_t *h, const char *path) { /* 0, or -1 when it cannot be read */
    size_t n;
    char *s = llava_read_file(path, (size_t)1 << 28, &n);
    if (!s) return -1;
    h_bytes(h, s, n);
    LLAVA_FREE(s);
    return 0;
}

/* removes a directory the test wrote (and what is in it), so that each run starts without it */
static void rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    struct stat st;
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) rm_dir(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* the operation under test runs between arm() and disarm(); the message of a failure is kept */
static char g_err[1024];
static void arm(long fail_at) {
    llava__errbuf[0] = 0;
    g_calls = 0;
    g_failed = 0;
    g_fail_at = fail_at;
    __atomic_store_n(&g_armed, 1, __ATOMIC_SEQ_CST);
}
static void disarm(void) {
    __atomic_store_n(&g_armed, 0, __ATOMIC_SEQ_CST);
    snprintf(g_err, sizeof g_err, "%s", llava_last_error());
}

/* --- shared inputs ------------------------------------------------------------------------------- */
/* manifest case tiny_hf4_img: a prompt with one image (599 = <image>, 16 feature rows) and its pixels */
static const int g_ids[28] = {170, 402, 495, 91, 414, 599, 599, 599, 599, 599, 599, 599, 599, 599,
                              599, 599, 599, 599, 599, 599, 599, 417, 49,  575, 290, 42,  93,  528};
static int g_labels[28];
static float *g_pixels;            /* [3][32][32], the test's own (malloc) */
static char g_model[300];          /* tiny_hf4 with the tiny600 tokenizer beside it, in g_tmp */
static const char *const g_strs[] = {"Hello world! What is in the picture?", "  two  spaces, digits 12345 and \xc3\xa9t\xc3\xa9",
                                      "<image>\nA red circle."};

/* a model's fingerprint: its configuration, an image's features and the logits of a prompt without images */
static int h_model(uint64_t *h, LlavaModel *m) {
    const LlavaConfig *c = llava_model_config(m);
    const int V = c->text_vocab, ids[6] = {1, 7, 30, 2, 11, 5};
    int ok = 0;
    h_bytes(h, c, sizeof *c);
    if (!c->text_only) {
        const size_t nf = (size_t)llava_image_tokens(m) * (size_t)c->text_hidden;
        float *f = (float *)malloc(nf * sizeof(float));
        if (!f || c->vision_image_size != 32 || llava_encode_image(m, g_pixels, f) != LLAVA_OK) ok = -1;
        else h_bytes(h, f, nf * sizeof(float));
        free(f);
    }
    LlavaContext *ctx = ok == 0 ? llava_context_new(m, 16) : NULL;
    const float *lg = ctx ? llava_prompt(ctx, ids, 6, NULL, 0) : NULL;
    if (lg) h_bytes(h, lg, (size_t)V * sizeof(float));
    else ok = -1;
    llava_context_free(ctx);
    return ok;
}

/* --- scenarios: each takes the allocation to fail (0: none) and returns 1 when the operation under test
   succeeded (its fingerprint in *h), 0 when it failed, -1 when the test itself could not run (g_msg) ---- */
typedef int (*scenario_fn)(const void *arg, long fail_at, uint64_t *h);

static int sc_load(const void *arg, long fail_at, uint64_t *h) {
    const char *const *paths = (const char *const *)arg; /* dir or .gguf, and an mmproj .gguf or NULL */
    arm(fail_at);
    LlavaModel *m = paths[1] ? llava_model_load_gguf(paths[0], paths[1]) : llava_model_load(paths[0]);
    disarm();
    if (!m) return 0;
    int r = h_model(h, m);
    llava_model_free(m);
    if (r) snprintf(g_msg, sizeof g_msg, "the loaded model does not run: %s", llava_last_error());
    return r ? -1 : 1;
}

static int sc_load_projector(const void *arg, long fail_at, uint64_t *h) {
    LlavaModel *m = llava_model_load(fx("bin/tiny_orig_mlp"));
    if (!m) {
        snprintf(g_msg, sizeof g_msg, "bin/tiny_orig_mlp: %s", llava_last_error());
        return -1;
    }
    arm(fail_at);
    int rc = llava_model_load_projector(m, fx((const char *)arg));
    disarm();
    int r = rc == LLAVA_OK ? h_model(h, m) : 0;
    llava_model_free(m);
    if (r) snprintf(g_msg, sizeof g_msg, "the model does not run: %s", llava_last_error());
    return r ? -1 : rc == LLAVA_OK;
}

static int sc_tokenizer(const void *arg, long fail_at, uint64_t *h) {
    arm(fail_at);
    LlavaTokenizer *t = llava_tokenizer_load((const char *)arg);
    disarm();
    if (!t) return 0;
    size_t i;
    int ids[256], r = 1;
    char out[1024];
    h_int(h, llava_tokenizer_vocab_size(t));
    for (i = 0; i < sizeof g_strs / sizeof g_strs[0]; i++) {
        int n = llava_tokenize(t, g_strs[i], strlen(g_strs[i]), 1, ids, 256);
        long len = n >= 0 ? llava_detokenize(t, ids, n, 0, out, sizeof out) : -1;
        if (n < 0 || len < 0 || len >= (long)sizeof out) {
            snprintf(g_msg, sizeof g_msg, "the loaded tokenizer does not run: %s", llava_last_error());
            r = -1;
            break;
        }
        h_bytes(h, ids, (size_t)n * sizeof(int));
        h_bytes(h, out, (size_t)len);
    }
    llava_tokenizer_free(t);
    return r;
}

/* a byte-level BPE GGUF's tokenizer written as tokenizer.json and tokenizer_config.json (an assembled
   model's save), then read back */
static int sc_tokenizer_written(const void *arg, long fail_at, uint64_t *h) {
    char dir[300];
    snprintf(dir, sizeof dir, "%s", tmp("written_tokenizer"));
    rm_dir(dir);
    if (mkdir(dir, 0755) != 0) {
        snprintf(g_msg, sizeof g_msg, "mkdir %s", dir);
        return -1;
    }
    arm(fail_at);
    int rc = llava__tok_files_from_gguf((const char *)arg, dir, -1);
    disarm();
    int r = rc == LLAVA_OK ? sc_tokenizer(dir, 0, h) : 0;
    if (r == 0 && rc == LLAVA_OK) snprintf(g_msg, sizeof g_msg, "the written tokenizer does not load: %s", llava_last_error()), r = -1;
    h_file(h, test_path(dir, "tokenizer_config.json"));
    rm_dir(dir);
    return r;
}

/* the inference scenarios share one model, loaded (and run once) before them */
static LlavaModel *g_m;
static int need_model(void) {
    if (!g_m) snprintf(g_msg, sizeof g_msg, "%s: %s", g_model, llava_last_error());
    return g_m ? 0 : -1;
}

static int sc_context(const void *arg, long fail_at, uint64_t *h) {
    (void)arg;
    if (need_model()) return -1;
    arm(fail_at);
    LlavaContext *c = llava_context_new(g_m, 0);
    disarm();
    if (!c) return 0;
    const float *lg = llava_prompt(c, g_ids, 28, g_pixels, 1);
    if (lg) h_bytes(h, lg, 600 * sizeof(float));
    else snprintf(g_msg, sizeof g_msg, "the context does not run: %s", llava_last_error());
    llava_context_free(c);
    return lg ? 1 : -1;
}

static int sc_prompt(const void *arg, long fail_at, uint64_t *h) {
    (void)arg;
    if (need_model()) return -1;
    LlavaContext *c = llava_context_new(g_m, 0);
    if (!c) {
        snprintf(g_msg, sizeof g_msg, "context: %s", llava_last_error());
        return -1;
    }
    arm(fail_at);
    const float *lg = llava_prompt(c, g_ids, 28, g_pixels, 1);
    disarm();
    if (lg) h_bytes(h, lg, 600 * sizeof(float));
    h_int(h, llava_context_used(c));
    llava_context_free(c);
    return lg != NULL;
}

static int sc_generate(const void *arg, long fail_at, uint64_t *h) {
    const LlavaSampling *sp = (const LlavaSampling *)arg;
    if (need_model()) return -1;
    LlavaContext *c = llava_context_new(g_m, 0);
    if (!c) {
        snprintf(g_msg, sizeof g_msg, "context: %s", llava_last_error());
        return -1;
    }
    int out[8], n_out = 0;
    arm(fail_at);
    int rc = llava_generate(c, g_ids, 28, g_pixels, 1, sp, 6, out, &n_out, NULL, NULL);
    disarm();
    if (rc == LLAVA_OK) {
        h_bytes(h, out, (size_t)n_out * sizeof(int));
        h_bytes(h, llava_logits(c), 600 * sizeof(float));
    }
    llava_context_free(c);
    return rc == LLAVA_OK;
}

/* training: one sample of the prompt above, its last six tokens supervised; the trainer's fingerprint is
   the step's statistics and every parameter */
typedef struct {
    int stage;       /* 1 or 2 */
    int vision;      /* also a group "vision_tower." */
    int steps_before; /* steps without failures before the one under test; -1: the trainer's creation */
    int save;        /* the operation under test is llava_trainer_save, after the steps */
} train_arg;

static void h_trainer(uint64_t *h, const LlavaTrainer *t, const LlavaStepStats *st) {
    int i, n = llava_trainer_n_params(t);
    h_bytes(h, &st->loss, sizeof st->loss);
    h_bytes(h, &st->grad_norm, sizeof st->grad_norm);
    h_int(h, st->tokens);
    h_int(h, st->step);
    for (i = 0; i < n; i++) {
        const float *d;
        size_t k;
        llava_trainer_param(t, i, &d, NULL, &k);
        if (d) h_bytes(h, d, k * sizeof(float));
    }
}

static LlavaTrainer *new_trainer(LlavaModel *m, const train_arg *a) {
    LlavaTrainOptions o;
    llava_train_defaults(&o, a->stage);
    o.total_steps = 10;
    o.warmup_ratio = 0.0f;
    o.lr = 1e-3f;
    LlavaTrainer *t = llava_trainer_new(m, &o);
    if (t && a->vision && llava_trainer_add_group(t, "vision_tower.", 1e-4f, 0.0f) != LLAVA_OK) {
        llava_trainer_free(t);
        return NULL;
    }
    return t;
}

static int sc_train(const void *arg, long fail_at, uint64_t *h) {
    const train_arg *a = (const train_arg *)arg;
    const LlavaSample s = {g_ids, g_labels, 28, g_pixels, 1};
    LlavaStepStats st;
    memset(&st, 0, sizeof st);
    LlavaModel *m = llava_model_load(g_model); /* its own: training changes it */
    if (!m) {
        snprintf(g_msg, sizeof g_msg, "%s: %s", g_model, llava_last_error());
        return -1;
    }
    LlavaTrainer *t = NULL;
    int i, r = 1;
    if (a->steps_before < 0) {
        arm(fail_at);
        t = new_trainer(m, a);
        disarm();
        if (!t) {
            llava_model_free(m);
            return 0;
        }
        h_int(h, llava_trainer_n_params(t));
        r = llava_trainer_step(t, &s, 1, &st) == LLAVA_OK ? 1 : -1; /* the new trainer works */
        if (r < 0) snprintf(g_msg, sizeof g_msg, "a step of the new trainer: %s", llava_last_error());
        else h_trainer(h, t, &st);
    } else {
        t = new_trainer(m, a);
        for (i = 0; t && i < a->steps_before && r == 1; i++)
            if (llava_trainer_step(t, &s, 1, &st) != LLAVA_OK) r = -1;
        if (!t || r < 0) {
            snprintf(g_msg, sizeof g_msg, "trainer or a step without failures: %s", llava_last_error());
            llava_trainer_free(t);
            llava_model_free(m);
            return -1;
        }
        if (!a->save) {
            arm(fail_at);
            r = llava_trainer_step(t, &s, 1, &st) == LLAVA_OK;
            disarm();
            if (!r) { /* the failed step changed nothing: the same step again gives what it would have */
                if (llava_trainer_step(t, &s, 1, &st) != LLAVA_OK) {
                    snprintf(g_msg, sizeof g_msg, "allocation %ld failed the step (%s), and the step again fails: %s", fail_at, g_err,
                             llava_last_error());
                    r = -1;
                } else r = 2;
            }
            if (r > 0) h_trainer(h, t, &st);
        } else {
            static const char *const files[] = {"model.safetensors", "optimizer.safetensors", "config.json", "preprocessor_config.json",
                                                "trainer_state.json", "tokenizer.json", "tokenizer_config.json"};
            char dir[300];
            snprintf(dir, sizeof dir, "%s", tmp("saved"));
            rm_dir(dir);
            arm(fail_at);
            r = llava_trainer_save(t, dir) == LLAVA_OK;
            disarm();
            for (i = 0; r && i < (int)(sizeof files / sizeof files[0]); i++)
                if (h_file(h, test_path(dir, files[i])) != 0) {
                    snprintf(g_msg, sizeof g_msg, "the checkpoint has no %s", files[i]);
                    r = -1;
                }
        }
    }
    llava_trainer_free(t);
    llava_model_free(m);
    return r;
}

/* llava_trainer_resume from a checkpoint of one step, into a new trainer of the model saved there; the
   fingerprint is the step after it */
static int sc_resume(const void *arg, long fail_at, uint64_t *h) {
    static const train_arg a = {2, 0, 0, 0};
    const LlavaSample smp = {g_ids, g_labels, 28, g_pixels, 1};
    static char ck[300];
    LlavaStepStats st;
    (void)arg;
    if (!ck[0]) { /* the checkpoint, once */
        LlavaModel *m = llava_model_load(g_model);
        LlavaTrainer *t = m ? new_trainer(m, &a) : NULL;
        snprintf(ck, sizeof ck, "%s", tmp("resume"));
        int ok = t && llava_trainer_step(t, &smp, 1, &st) == LLAVA_OK && llava_trainer_save(t, ck) == LLAVA_OK;
        if (!ok) snprintf(g_msg, sizeof g_msg, "the checkpoint to resume from: %s", llava_last_error());
        llava_trainer_free(t);
        llava_model_free(m);
        if (!ok) return -1;
    }
    LlavaModel *m = llava_model_load(ck);
    LlavaTrainer *t = m ? new_trainer(m, &a) : NULL;
    if (!t) {
        snprintf(g_msg, sizeof g_msg, "%s: %s", ck, llava_last_error());
        llava_model_free(m);
        return -1;
    }
    arm(fail_at);
    int r = llava_trainer_resume(t, ck) == LLAVA_OK;
    disarm();
    if (r) {
        if (llava_trainer_step(t, &smp, 1, &st) != LLAVA_OK) {
            snprintf(g_msg, sizeof g_msg, "a step after resuming: %s", llava_last_error());
            r = -1;
        } else h_trainer(h, t, &st);
    }
    llava_trainer_free(t);
    llava_model_free(m);
    return r;
}

/* llava_model_new with the configuration of the shared model */
static int sc_model_new(const void *arg, long fail_at, uint64_t *h) {
    (void)arg;
    if (need_model()) return -1;
    arm(fail_at);
    LlavaModel *m = llava_model_new(llava_model_config(g_m), 7);
    disarm();
    if (!m) return 0;
    int r = h_model(h, m);
    llava_model_free(m);
    if (r) snprintf(g_msg, sizeof g_msg, "the new model does not run: %s", llava_last_error());
    return r ? -1 : 1;
}

/* llava_model_assemble (tiny_hf4's tower, a language model alone) and the assembled model saved (its
   tokenizer files rewritten with "<image>") */
static int sc_assemble(const void *arg, long fail_at, uint64_t *h) {
    static const char *const files[] = {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"};
    char dir[300], tower[300], lm[300];
    (void)arg;
    snprintf(dir, sizeof dir, "%s", tmp("assembled"));
    snprintf(tower, sizeof tower, "%s", fx("models/tiny_hf4"));
    snprintf(lm, sizeof lm, "%s", fx("lm/tiny_llama"));
    rm_dir(dir);
    arm(fail_at);
    LlavaModel *m = llava_model_assemble(tower, lm, -2, 0, 3);
    int i, r = m && llava_model_save(m, dir, LLAVA_F32) == LLAVA_OK;
    disarm();
    if (r && h_model(h, m) != 0) snprintf(g_msg, sizeof g_msg, "the assembled model does not run: %s", llava_last_error()), r = -1;
    for (i = 0; r == 1 && i < (int)(sizeof files / sizeof files[0]); i++)
        if (h_file(h, test_path(dir, files[i])) != 0) snprintf(g_msg, sizeof g_msg, "the saved model has no %s", files[i]), r = -1;
    llava_model_free(m);
    rm_dir(dir);
    return r;
}

/* llava_model_save of the original layout (clip/ beside it), in bf16 */
static int sc_save_original(const void *arg, long fail_at, uint64_t *h) {
    static const char *const files[] = {"model.safetensors", "config.json", "clip/model.safetensors", "clip/config.json",
                                        "clip/preprocessor_config.json"};
    (void)arg;
    LlavaModel *m = llava_model_load(fx("models/tiny_orig_mlp"));
    if (!m) {
        snprintf(g_msg, sizeof g_msg, "models/tiny_orig_mlp: %s", llava_last_error());
        return -1;
    }
    char dir[300];
    snprintf(dir, sizeof dir, "%s", tmp("saved_orig"));
    rm_dir(dir);
    arm(fail_at);
    int i, r = llava_model_save(m, dir, LLAVA_BF16) == LLAVA_OK;
    disarm();
    for (i = 0; r && i < (int)(sizeof files / sizeof files[0]); i++)
        if (h_file(h, test_path(dir, files[i])) != 0) {
            snprintf(g_msg, sizeof g_msg, "the saved model has no %s", files[i]);
            r = -1;
        }
    llava_model_free(m);
    return r;
}

/* --- the driver -----------------------------------------------------------------------------------
   The runs with a failing allocation go in a child process (fork), one after another; when one crashes,
   a new child goes on from the next, and the crash is reported with its number instead of ending the
   test. */

typedef struct {
    const char *name;
    scenario_fn fn;
    const void *arg;
    int none; /* the operation must allocate nothing (a training step after the first) */
} scenario;

static long g_only_at; /* --at N: only the run with allocation N failing */

/* one run with allocation n failing, against the result ref of the run without failures: 'E' an error,
   'R' an error and then the same result (training steps), 'S' success with the same result, 'M' the
   allocation was never made (and the same result), 'F' a failure of the test (why) */
static int one_run(const scenario *s, long n, long live0, uint64_t ref, char *why, size_t cap) {
    uint64_t h = 14695981039346656037ull;
    g_msg[0] = 0;
    g_err[0] = 0;
    int r = s->fn(s->arg, n, &h);
    const long failed = g_failed;
    why[0] = 0;
    if (r < 0) return snprintf(why, cap, "%s", g_msg), 'F';
    if (g_live != live0)
        return snprintf(why, cap, "%ld allocations are not freed (%s)", g_live - live0, r == 1 ? "the call succeeded" : g_err), 'F';
    if (!failed) return r == 1 && h == ref ? 'M' : (snprintf(why, cap, "the allocation was never made, and the result differs"), 'F');
    if (r == 1) return h == ref ? 'S' : (snprintf(why, cap, "the call succeeded with a different result"), 'F');
    if (!g_err[0]) return snprintf(why, cap, "the call failed with no message"), 'F';
    if (!strstr(g_err, "memory")) return snprintf(why, cap, "the message does not say that memory ran out: %s", g_err), 'F';
    if (r == 2 && h != ref) return snprintf(why, cap, "after the error (%s), the operation again gives a different result", g_err), 'F';
    snprintf(why, cap, "%s", g_err);
    return r == 2 ? 'R' : 'E';
}

/* runs allocations from..to (each failing in turn) in a child process, which writes a line
   "@result N C WHY" per run, stops after a 'F', and ends with "@done"; returns its output (malloc'd,
   NULL when the child could not be made) */
static char *child_runs(const scenario *s, long from, long to, long live0, uint64_t ref) {
    int fd[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fd) != 0) return NULL;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        return NULL;
    }
    if (pid == 0) { /* the child: everything it prints goes to the pipe */
        char w[2048], line[2200];
        long n;
        close(fd[0]);
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        for (n = from; n <= to; n++) {
            const int c = one_run(s, n, live0, ref, w, sizeof w);
            char *q;
            for (q = w; *q; q++)
                if (*q == '\n') *q = ' ';
            int k = snprintf(line, sizeof line, "\n@result %ld %c %s\n", n, c, w);
            if (write(fd[1], line, (size_t)LLAVA__MIN(k, (int)sizeof line - 1)) < 0) _exit(3);
            if (c == 'F') break;
        }
#ifdef OOM_LSAN /* what LeakSanitizer finds (anything unreachable, also outside LLAVA_MALLOC: an unclosed file) */
        if (n > to && __lsan_do_recoverable_leak_check()) {
            int k = snprintf(line, sizeof line, "\n@result %ld F LeakSanitizer reports leaks in the runs with allocation %ld to %ld failing\n",
                             to, from, to);
            if (write(fd[1], line, (size_t)LLAVA__MIN(k, (int)sizeof line - 1)) < 0) _exit(3);
        }
#endif
        if (write(fd[1], "\n@done\n", 7) < 0) _exit(3);
        _exit(0); /* (no exit handlers: the leak checker runs in the parent) */
    }
    close(fd[1]);
    size_t used = 0, cap = 1 << 16;
    char *out = (char *)malloc(cap);
    ssize_t got;
    while (out && (got = read(fd[0], out + used, cap - 1 - used)) > 0) {
        used += (size_t)got;
        if (used + 1 == cap) {
            char *o = (char *)realloc(out, cap * 2);
            if (!o) free(out);
            out = o, cap *= 2;
        }
    }
    if (out) out[used] = 0;
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    if (out && !strstr(out, "\n@done\n") && strlen(out) < cap - 64) { /* how it ended */
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "\n(%s %d)", WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    return out;
}

static int t_scenario(const void *arg) {
    const scenario *s = (const scenario *)arg;
    const long live0 = g_live;
    uint64_t ref = 14695981039346656037ull;
    g_msg[0] = 0;
    int r = s->fn(s->arg, 0, &ref);
    const long count = g_calls;
    if (r < 0) return 0; /* g_msg says why */
    CHECK(r == 1, "without failures: %s", g_err);
    CHECK(g_live == live0, "without failures, %ld allocations are not freed", g_live - live0);
    if (s->none) {
        CHECK(count == 0, "%ld allocations where none may be made", count);
        printf("      no allocation\n");
        return 1;
    }
    CHECK(count > 0, "no allocation counted");
    long n, tally[4] = {0, 0, 0, 0}; /* E R S M */
    char why[2048];
    if (g_only_at) { /* in this process */
        n = g_only_at;
        const int c = n <= count ? one_run(s, n, live0, ref, why, sizeof why) : 'M';
        printf("      allocation %ld of %ld: %c %s\n", n, count, c, why);
        CHECK(c != 'F', "allocation %ld of %ld failing: %s", n, count, why);
        return 1;
    }
    n = 1;
    while (n <= count) { /* a child for the runs from n on; after a crash, a new one from the next */
        char *out = child_runs(s, n, count, live0, ref), *p = out, *q;
        int done = 0;
        if (!out) CHECK(0, "cannot run a child process");
        for (q = strstr(p, "\n@"); q; q = strstr(p, "\n@")) {
            long m;
            char c;
            if (!strncmp(q, "\n@done\n", 7)) {
                done = 1;
                break;
            }
            if (sscanf(q, "\n@result %ld %c", &m, &c) != 2) break;
            char *w = strchr(q + 9, ' ') + 3, *e = strchr(w, '\n'), *p0 = p;
            snprintf(why, sizeof why, "%.*s", (int)(e ? e - w : (long)strlen(w)), w);
            p = e ? e : q + 1;
            n = m + 1;
            if (g_verbose) printf("      allocation %ld of %ld: %c %s\n", m, count, c, why);
            if (c == 'F') { /* with what the child printed before it (a sanitizer's report) */
                char said[1600];
                while (*p0 == '\n') p0++;
                snprintf(said, sizeof said, "%.*s", (int)LLAVA__MIN(q - p0, 1500), p0);
                free(out);
                CHECK(0, "allocation %ld of %ld failing: %s%s%s", m, count, why, said[0] ? "\n" : "", said);
            }
            tally[c == 'E' ? 0 : c == 'R' ? 1 : c == 'S' ? 2 : 3]++;
        }
        if (!done) { /* run n crashed */
            while (*p == '\n') p++;
            snprintf(why, sizeof why, "%.1500s", p);
            free(out);
            CHECK(0, "allocation %ld of %ld failing: crashed: %s", n, count, why);
        }
        free(out);
    }
    printf("      %ld allocations, each failed in turn: %ld errors%s, %ld survived with the same result%s\n", count, tally[0] + tally[1],
           tally[1] ? " (and the same result when repeated)" : "", tally[2], tally[3] ? ", some never made" : "");
    return 1;
}

int main(int argc, char **argv) {
    const char *prog = argv[0];
    int i, n_sel = 0;
    const char *sel[32];
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            printf("usage: %s [--verbose] [--at N] [FIXTURES_DIR] [SCENARIO...]\n"
                   "Fails each allocation of llava.h's loaders, inference and training in turn: every one must give an error\n"
                   "(or the same result) and leave nothing allocated. One line per scenario, then \"N passed, N failed\".\n"
                   "  FIXTURES_DIR  the committed fixtures (default tests/fixtures: run from the repository root)\n"
                   "  SCENARIO      only the scenarios whose name contains one of these words\n"
                   "  --verbose     a line per failed allocation\n"
                   "  --at N        only the run with allocation N failing, in this process (for a debugger)\n",
                   prog);
            return 0;
        } else if (!strcmp(argv[i], "--verbose")) g_verbose = 1;
        else if (!strcmp(argv[i], "--at") && i + 1 < argc) g_only_at = atol(argv[++i]), g_verbose = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", prog, argv[i], prog);
            return 2;
        } else if (i == 1 && strchr(argv[i], '/')) g_fix = argv[i];
        else if (n_sel < 32) sel[n_sel++] = argv[i];
    }
#ifdef _OPENMP
    omp_set_num_threads(1); /* the allocations in one order, run after run */
#endif
    snprintf(g_tmp, sizeof g_tmp, "/tmp/llava-test-XXXXXX");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot make a temporary directory\n");
        return 1;
    }
    /* the model with a tokenizer beside it: tiny_hf4's files and tiny600's */
    {
        static const char *const files[][2] = {{"models/tiny_hf4", "config.json"},
                                               {"models/tiny_hf4", "model.safetensors"},
                                               {"models/tiny_hf4", "preprocessor_config.json"},
                                               {"tokenizer/tiny600", "tokenizer.json"},
                                               {"tokenizer/tiny600", "tokenizer_config.json"}};
        snprintf(g_model, sizeof g_model, "%s/tiny_hf4_tok", g_tmp);
        if (llava__mkdir(g_model) != LLAVA_OK) {
            fprintf(stderr, "%s\n", llava_last_error());
            return 1;
        }
        for (i = 0; i < (int)(sizeof files / sizeof files[0]); i++)
            if (llava_copy_file(fx(test_path(files[i][0], files[i][1])), test_path(g_model, files[i][1])) != LLAVA_OK) {
                printf("FAIL  fixtures: %s\n", llava_last_error());
                return 1;
            }
        size_t n;
        char *px = llava_read_file(fx("cases/tiny_hf4_img.pixels.f32"), (size_t)1 << 20, &n);
        if (!px || n != 3 * 32 * 32 * sizeof(float)) {
            printf("FAIL  fixtures: cases/tiny_hf4_img.pixels.f32: %s\n", px ? "not 3x32x32 floats" : llava_last_error());
            return 1;
        }
        g_pixels = (float *)malloc(n);
        memcpy(g_pixels, px, n);
        LLAVA_FREE(px);
        for (i = 0; i < 28; i++) g_labels[i] = i >= 22 ? g_ids[i] : LLAVA_IGNORE_INDEX;
    }
    uint64_t h0 = 0;
    g_m = llava_model_load(g_model);
    if (g_m && h_model(&h0, g_m) != 0) llava_model_free(g_m), g_m = NULL;
    static const char *const p_hf[2] = {g_model, NULL};
    static char p_quant[300], p_sharded[300], p_orig[300], p_bin[300], p_gguf[300], p_mmproj[300], p_tok[300], p_tok_gguf[300], p_spm[300], p_spm_gguf[300];
    snprintf(p_sharded, sizeof p_sharded, "%s", fx("models/tiny_f16_sharded"));
    snprintf(p_orig, sizeof p_orig, "%s", fx("models/tiny_orig_mlp"));
    snprintf(p_bin, sizeof p_bin, "%s", fx("bin/tiny_orig_mlp"));
    snprintf(p_gguf, sizeof p_gguf, "%s", fx("gguf/tiny-f16.gguf"));
    snprintf(p_mmproj, sizeof p_mmproj, "%s", fx("gguf/tiny-mmproj-f16.gguf"));
    snprintf(p_quant, sizeof p_quant, "%s", fx("gguf/tiny-quant.gguf"));
    snprintf(p_tok, sizeof p_tok, "%s", fx("tokenizer/tiny600"));
    snprintf(p_tok_gguf, sizeof p_tok_gguf, "%s", fx("gguftok/bl_gpt2.gguf"));
    snprintf(p_spm, sizeof p_spm, "%s", fx("tokenizer/spm/bf_legacy"));
    snprintf(p_spm_gguf, sizeof p_spm_gguf, "%s", fx("spmgguf/spm_bf.gguf"));
    static const char *const p_sh[2] = {p_sharded, NULL}, *const p_or[2] = {p_orig, NULL}, *const p_bi[2] = {p_bin, NULL};
    static const char *const p_gg[2] = {p_gguf, p_mmproj}, *const p_gq[2] = {p_quant, NULL};
    static char p_lm_dir[300];
    snprintf(p_lm_dir, sizeof p_lm_dir, "%s", fx("lm/tiny_llama"));
    static const char *const p_lm[2] = {p_lm_dir, NULL};
    static const LlavaSampling greedy = {0.0f, 0, 0.0f, 1, 1}, sampled = {0.8f, 20, 0.9f, 7, 1};
    static const train_arg tr_new = {2, 0, -1, 0}, tr_s2_first = {2, 0, 0, 0}, tr_s2_second = {2, 0, 1, 0},
                           tr_vision = {2, 1, 0, 0}, tr_save = {2, 0, 1, 1};
    const scenario scs[] = {
        {"load: llava-hf directory (safetensors, tokenizer beside)", sc_load, p_hf, 0},
        {"load: sharded f16 safetensors", sc_load, p_sh, 0},
        {"load: original layout (clip/ directory)", sc_load, p_or, 0},
        {"load: PyTorch .bin shards", sc_load, p_bi, 0},
        {"load: GGUF model and mmproj", sc_load, p_gg, 0},
        {"load: GGUF quantized language model alone", sc_load, p_gq, 0},
        {"load: a language model alone (LlamaForCausalLM directory)", sc_load, p_lm, 0},
        {"load: projector (mm_projector.bin)", sc_load_projector, "bin/mm_projector.bin", 0},
        {"tokenizer: tokenizer.json", sc_tokenizer, p_tok, 0},
        {"tokenizer: GGUF byte-level BPE", sc_tokenizer, p_tok_gguf, 0},
        {"tokenizer: GGUF byte-level BPE written as tokenizer.json", sc_tokenizer_written, p_tok_gguf, 0},
        {"tokenizer: SentencePiece tokenizer.model", sc_tokenizer, p_spm, 0},
        {"tokenizer: GGUF SentencePiece", sc_tokenizer, p_spm_gguf, 0},
        {"context: llava_context_new", sc_context, NULL, 0},
        {"prompt: llava_prompt with an image", sc_prompt, NULL, 0},
        {"generate: greedy, 6 tokens", sc_generate, &greedy, 0},
        {"generate: sampled (top-k, top-p), 6 tokens", sc_generate, &sampled, 0},
        {"train: trainer creation (and its first step)", sc_train, &tr_new, 0},
        {"train: stage 2 with an image, first step", sc_train, &tr_s2_first, 0},
        {"train: stage 2 with an image, second step (allocates nothing)", sc_train, &tr_s2_second, 1},
        {"train: stage 2 and the vision tower, first step", sc_train, &tr_vision, 0},
        {"train: llava_trainer_save", sc_train, &tr_save, 0},
        {"train: llava_trainer_resume", sc_resume, NULL, 0},
        {"new: llava_model_new", sc_model_new, NULL, 0},
        {"save: original layout in bf16", sc_save_original, NULL, 0},
        {"assemble: a tower and a language model, saved with \"<image>\" added", sc_assemble, NULL, 0},
    };
    for (i = 0; i < (int)(sizeof scs / sizeof scs[0]); i++) {
        int k, want = n_sel == 0;
        for (k = 0; k < n_sel; k++) want |= strstr(scs[i].name, sel[k]) != NULL;
        if (want) run(scs[i].name, t_scenario, &scs[i]);
    }
    llava_model_free(g_m);
    free(g_pixels);
    rm_dir(g_tmp);
    return test_summary();
}
