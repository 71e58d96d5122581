/* llava.h tests: saving is atomic. llava_trainer_save and llava_model_save write a whole directory
   beside the old one and swap it in with renames, so a process killed at any instant leaves the
   previous checkpoint or the new one, complete, under a name the loaders find. Here a child process
   trains one more step from checkpoint A and saves B over it; the parent kills it with SIGKILL, at each
   of the save's crash points and then 100 times at random instants inside the save, and loads what
   is there: exactly A or exactly B, and one more step from it is bit for bit the step an uninterrupted
   run takes. Also the rules around the swap: leftovers of interrupted saves, a caller's own files kept,
   symbolic links, and the errors.

   usage: test_save_kill [FIXTURES_DIR]   (default tests/fixtures, run from the repository root) */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define NS 3   /* samples in a batch */
#define MAXT 64 /* tokens in a sample */
typedef struct {
    LlavaSample s[NS];
    int ids[NS][MAXT], labels[NS][MAXT];
    float *pixels;
} batch;

static LlavaConfig g_cfg;                  /* tiny_hf4's, for llava_model_new */
static batch g_b[3];                       /* the steps' batches: 1 (to A), 2 (to B), 3 (after resuming) */
static size_t g_np;                        /* parameter floats */
static float *g_snap[2], *g_after[2];      /* every parameter at A and B, and after one more step from each */
static float g_loss[2];                    /* that step's loss */
static int g_crash_at = -1, g_points;      /* the child: SIGKILL itself at crash point g_crash_at */

static int err_has(const char *s) { return strstr(llava_last_error(), s) != NULL; }
static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}
static char *sib(const char *dir, const char *suffix) { /* dir + suffix, in a rotating buffer */
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s%s", dir, suffix);
    return buf[k];
}
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* three samples of random tokens, the first with an image (its placeholders unsupervised) */
static int make_batch(batch *b, uint64_t seed) {
    const int img_tok = g_cfg.image_token_id, nimg = (g_cfg.vision_image_size / g_cfg.vision_patch_size) *
                                                  (g_cfg.vision_image_size / g_cfg.vision_patch_size);
    const size_t npx = (size_t)3 * (size_t)g_cfg.vision_image_size * (size_t)g_cfg.vision_image_size;
    int i, k;
    size_t p;
    if (nimg + 40 > MAXT || !(b->pixels = (float *)malloc(npx * sizeof(float)))) return -1;
    for (p = 0; p < npx; p++) b->pixels[p] = llava_rng_uniform(&seed) * 2.0f - 1.0f;
    for (i = 0; i < NS; i++) {
        int n = 0;
        b->ids[i][n] = 1, b->labels[i][n++] = -100;
        for (k = 0; i == 0 && k < nimg; k++) b->ids[i][n] = img_tok, b->labels[i][n++] = -100;
        for (k = 0; k < 20 + 8 * i; k++) {
            int id = 2 + (int)(llava_rng_uniform(&seed) * (float)(g_cfg.text_vocab - 3));
            if (id == img_tok) id = 2;
            b->ids[i][n] = id, b->labels[i][n++] = k < 3 ? -100 : id;
        }
        b->s[i].ids = b->ids[i];
        b->s[i].labels = b->labels[i];
        b->s[i].n = n;
        b->s[i].pixels = i == 0 ? b->pixels : NULL;
        b->s[i].n_images = i == 0;
    }
    return 0;
}

static LlavaTrainer *trainer(LlavaModel *m) {
    LlavaTrainOptions o;
    llava_train_defaults(&o, 2);
    o.lr = 2e-3f;
    o.weight_decay = 0.1f;
    o.warmup_ratio = 0.3f;
    o.total_steps = 8;
    o.max_grad_norm = 1.0f;
    return m ? llava_trainer_new(m, &o) : NULL;
}
static int step(LlavaTrainer *t, int k, float *loss) {
    LlavaStepStats st;
    memset(&st, 0, sizeof st);
    int rc = llava_trainer_step(t, g_b[k].s, NS, &st);
    if (loss) *loss = st.loss;
    return rc;
}
static void snapshot(const LlavaTrainer *t, float *out) {
    int i;
    size_t o = 0;
    for (i = 0; i < llava_trainer_n_params(t); i++) {
        const float *d;
        size_t n;
        llava_trainer_param(t, i, &d, NULL, &n);
        if (out) memcpy(out + o, d, n * sizeof(float));
        o += n;
    }
    if (!out) g_np = o;
}
static int same_params(const LlavaTrainer *t, const float *want, const char **which) {
    int i;
    size_t o = 0;
    for (i = 0; i < llava_trainer_n_params(t); i++) {
        const float *d;
        size_t n;
        const char *key = llava_trainer_param(t, i, &d, NULL, &n);
        if (o + n > g_np || memcmp(want + o, d, n * sizeof(float))) {
            *which = key;
            return 0;
        }
        o += n;
    }
    *which = "(count)";
    return o == g_np;
}

/* the model, the batches, and what an uninterrupted run gives: the parameters at A (after step 1) and
   at B (after step 2), and the loss and parameters of one more step (batch 3) from each */
static int setup(void) {
    LlavaModel *f = llava_model_load(fx("models/tiny_hf4"));
    int w, k;
    if (!f) return -1;
    g_cfg = *llava_model_config(f);
    llava_model_free(f);
    for (k = 0; k < 3; k++)
        if (make_batch(&g_b[k], 1000 + (uint64_t)k) != 0) return 0;
    for (w = 0; w < 2; w++) {
        LlavaModel *m = llava_model_new(&g_cfg, 7);
        LlavaTrainer *t = trainer(m);
        int ok = t && step(t, 0, NULL) == LLAVA_OK && (!w || step(t, 1, NULL) == LLAVA_OK); /* (parameters listed from the first step on) */
        if (ok && !g_np) snapshot(t, NULL);
        g_snap[w] = (float *)malloc(g_np * sizeof(float) + 1);
        g_after[w] = (float *)malloc(g_np * sizeof(float) + 1);
        ok = ok && g_np && g_snap[w] && g_after[w];
        if (ok) snapshot(t, g_snap[w]);
        ok = ok && step(t, 2, &g_loss[w]) == LLAVA_OK;
        if (ok) snapshot(t, g_after[w]);
        llava_trainer_free(t);
        llava_model_free(m);
        if (!ok) return 0;
    }
    return memcmp(g_snap[0], g_snap[1], g_np * sizeof(float)) ? 1 : 0;
}

/* what dir holds, loaded and resumed: 0 (A) or 1 (B), each bit for bit with its next step as the
   uninterrupted run's; -1 with the reason in g_msg */
static int loaded(const char *dir) {
    LlavaModel *m = llava_model_load(dir);
    LlavaTrainer *t = trainer(m);
    const char *key = "";
    float loss;
    int w = -1;
    if (!m || !t || llava_trainer_resume(t, dir) != LLAVA_OK)
        snprintf(g_msg, sizeof g_msg, "%s does not load and resume: %s", dir, llava_last_error());
    else if (llava_trainer_steps_done(t) != 1 && llava_trainer_steps_done(t) != 2)
        snprintf(g_msg, sizeof g_msg, "%s: %d steps done, neither A's 1 nor B's 2", dir, llava_trainer_steps_done(t));
    else if (w = llava_trainer_steps_done(t) - 1, !same_params(t, g_snap[w], &key))
        snprintf(g_msg, sizeof g_msg, "%s: the step count of %c, but %s is not %c's", dir, "AB"[w], key, "AB"[w]), w = -1;
    else if (step(t, 2, &loss) != LLAVA_OK || memcmp(&loss, &g_loss[w], sizeof loss))
        snprintf(g_msg, sizeof g_msg, "%s (%c): the next step's loss %.9g, uninterrupted %.9g (%s)", dir, "AB"[w], loss, g_loss[w],
                 llava_last_error()), w = -1;
    else if (!same_params(t, g_after[w], &key))
        snprintf(g_msg, sizeof g_msg, "%s (%c): after the next step %s differs from the uninterrupted run's", dir, "AB"[w], key), w = -1;
    llava_trainer_free(t);
    llava_model_free(m);
    return w;
}

/* dir holds w (0: A, 1: B), else 0 with the reason in g_msg, led by what */
static int holds(const char *dir, int w, const char *what) {
    char m[sizeof g_msg];
    int got = loaded(dir);
    if (got == w) return 1;
    if (got >= 0) snprintf(g_msg, sizeof g_msg, "%s holds %c, not %c", dir, "AB"[got], "AB"[w]);
    snprintf(m, sizeof m, "%s", g_msg);
    snprintf(g_msg, sizeof g_msg, "%s: %.3000s", what, m);
    return 0;
}

static void crash_hook(const char *point) {
    (void)point;
    if (g_points++ == g_crash_at) raise(SIGKILL);
}

/* a child that takes step 2 from A (the parent's tA) and saves B into dir (a model only: llava_model_save),
   crashing at point crash_at (-1: none); it says on fd when the save starts, and then the save's seconds */
static pid_t spawn(LlavaModel *mA, LlavaTrainer *tA, const char *dir, int model_only, int crash_at, int *fd) {
    int p[2];
    fflush(stdout);
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (step(tA, 1, NULL) != LLAVA_OK) _exit(2);
        g_crash_at = crash_at;
        g_points = 0;
        llava__save_hook = crash_hook;
        if (write(p[1], "s", 1) != 1) _exit(3);
        double t0 = now();
        int rc = model_only ? llava_model_save(mA, dir, LLAVA_F32) : llava_trainer_save(tA, dir);
        double dt = now() - t0;
        if (rc != LLAVA_OK) fprintf(stderr, "child: %s\n", llava_last_error());
        if (write(p[1], &dt, sizeof dt) != (ssize_t)sizeof dt) _exit(3);
        _exit(rc == LLAVA_OK ? 0 : 1);
    }
    close(p[1]);
    if (pid < 0) close(p[0]);
    *fd = p[0];
    return pid;
}

/* the child's end: 1 killed, 0 finished (its save's seconds in *dt), -1 (g_msg) a failure */
static int reap(pid_t pid, int fd, double *dt) {
    int status = 0;
    ssize_t r = read(fd, dt, sizeof *dt);
    close(fd);
    if (waitpid(pid, &status, 0) != pid) return snprintf(g_msg, sizeof g_msg, "waitpid: %s", strerror(errno)), -1;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return 1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || r != (ssize_t)sizeof *dt)
        return snprintf(g_msg, sizeof g_msg, "the child failed (status %d)", status), -1;
    return 0;
}

/* A: a model and trainer after step 1, saved into dir */
static int make_a(LlavaModel **m, LlavaTrainer **t, const char *dir) {
    *m = llava_model_new(&g_cfg, 7);
    *t = trainer(*m);
    return *t && step(*t, 0, NULL) == LLAVA_OK && llava_trainer_save(*t, dir) == LLAVA_OK ? 0 : -1;
}

/* a child killed at each crash point of the save in turn (the hook in llava.h: each file written and
   renamed, the directory's renames, the removal of the old one), until one finishes: A or B each time,
   A until the swap and B after it; the state between the two renames (no DIR, the previous one as
   DIR.llava-old) among them. Then the same for llava_model_save. */
static int t_crash_points(const void *arg) {
    (void)arg;
    LlavaModel *mA;
    LlavaTrainer *tA;
    const char *dir = tmp("points");
    int k, fd, got_b = 0, missing = 0, w, rc = 0;
    double dt;
    CHECK(make_a(&mA, &tA, dir) == 0, "checkpoint A: %s", llava_last_error());
    for (k = 0; k < 200; k++) {
        pid_t pid = spawn(mA, tA, dir, 0, k, &fd);
        CHECK(pid > 0, "fork: %s", strerror(errno));
        char c;
        CHECK(read(fd, &c, 1) == 1, "the child did not reach the save");
        if ((rc = reap(pid, fd, &dt)) < 0) return 0;
        missing += !exists(dir);
        if ((w = loaded(dir)) < 0) {
            char m[sizeof g_msg];
            snprintf(m, sizeof m, "%s", g_msg);
            snprintf(g_msg, sizeof g_msg, "killed at crash point %d: %.3000s", k, m);
            return 0;
        }
        CHECK(rc == 1 || w == 1, "the save finished, yet %s holds A", dir);
        CHECK(!(got_b && w == 0), "crash point %d: A again after B", k);
        got_b |= w;
        if (rc == 0) break;
    }
    CHECK(rc == 0, "the save did not finish in 200 crash points");
    CHECK(k >= 10 && got_b && missing > 0, "%d crash points, B seen %d, DIR missing %d times", k, got_b, missing);
    CHECK(!exists(sib(dir, ".llava-partial")) && !exists(sib(dir, ".llava-old")), "a finished save left a temporary behind");
    const int points = k;
    /* llava_model_save into a directory of its own: the model is A's or B's */
    const char *md = tmp("points-model");
    CHECK(llava_model_save(mA, md, LLAVA_F32) == LLAVA_OK, "model A: %s", llava_last_error());
    for (k = 0; k < 200; k++) {
        pid_t pid = spawn(mA, tA, md, 1, k, &fd);
        char c;
        CHECK(pid > 0 && read(fd, &c, 1) == 1, "fork");
        if ((rc = reap(pid, fd, &dt)) < 0) return 0;
        LlavaModel *m = llava_model_load(md);
        LlavaTrainer *t = trainer(m);
        const char *key = "";
        float l;
        if (t && llava_trainer_grads(t, g_b[2].s, NS, &l) != LLAVA_OK) llava_trainer_free(t), t = NULL; /* (lists its parameters) */
        int a = t && same_params(t, g_snap[0], &key), b = t && same_params(t, g_snap[1], &key);
        llava_trainer_free(t);
        llava_model_free(m);
        CHECK(a || b, "llava_model_save killed at crash point %d: the model is neither A nor B (%s)", k, m ? key : llava_last_error());
        CHECK(rc == 1 || b, "llava_model_save finished, yet the model is A");
        if (rc == 0) break;
    }
    CHECK(rc == 0 && k >= 5, "llava_model_save: %d crash points", k);
    llava_trainer_free(tA);
    llava_model_free(mA);
    printf("      %d crash points in llava_trainer_save, %d in llava_model_save\n", points, k);
    return 1;
}

/* 100 children killed at random instants inside the save (seeded; spread over 1.2 times the median of
   three uninterrupted saves, timed in the child): each time DIR loads as A or B, bit for bit. After a
   kill, the next save starts on what it left; after B, the parent saves A again */
static int t_random_kills(const void *arg) {
    (void)arg;
    LlavaModel *mA;
    LlavaTrainer *tA;
    const char *dir = tmp("kills");
    uint64_t rng = 20240607;
    int i, fd, w, rc, n[2] = {0, 0}, finished = 0, writing = 0, between = 0, removing = 0;
    double dt, cal[3], tsave;
    CHECK(make_a(&mA, &tA, dir) == 0, "checkpoint A: %s", llava_last_error());
    for (i = 0; i < 3; i++) { /* calibration: uninterrupted saves give B */
        pid_t pid = spawn(mA, tA, dir, 0, -1, &fd);
        char c;
        CHECK(pid > 0 && read(fd, &c, 1) == 1, "fork");
        CHECK(reap(pid, fd, &dt) == 0, "an uninterrupted save failed");
        if (!holds(dir, 1, "after an uninterrupted save")) return 0;
        CHECK(llava_trainer_save(tA, dir) == LLAVA_OK, "A again: %s", llava_last_error());
        cal[i] = dt;
    }
    tsave = cal[0] + cal[1] + cal[2] - LLAVA__MAX(cal[0], LLAVA__MAX(cal[1], cal[2])) - LLAVA__MIN(cal[0], LLAVA__MIN(cal[1], cal[2]));
    for (i = 0; i < 100; i++) {
        const double delay = 1.2 * tsave * (double)llava_rng_uniform(&rng);
        pid_t pid = spawn(mA, tA, dir, 0, -1, &fd);
        char c;
        CHECK(pid > 0, "fork: %s", strerror(errno));
        CHECK(read(fd, &c, 1) == 1, "the child did not reach the save");
        const double t0 = now();
        while (now() - t0 < delay) {
        }
        kill(pid, SIGKILL);
        if ((rc = reap(pid, fd, &dt)) < 0) return 0;
        const int d = exists(dir), p = exists(sib(dir, ".llava-partial")), o = exists(sib(dir, ".llava-old"));
        finished += rc == 0;
        writing += rc == 1 && d && p;
        between += rc == 1 && !d;
        removing += rc == 1 && d && o;
        if ((w = loaded(dir)) < 0) {
            char m[sizeof g_msg];
            snprintf(m, sizeof m, "%s", g_msg);
            snprintf(g_msg, sizeof g_msg, "trial %d, killed after %.2f ms: %.3000s", i, delay * 1e3, m);
            return 0;
        }
        CHECK(rc == 1 || w == 1, "trial %d: the save finished, yet %s holds A", i, dir);
        n[w]++;
        if (w == 1) CHECK(llava_trainer_save(tA, dir) == LLAVA_OK, "A again: %s", llava_last_error());
    }
    llava_trainer_free(tA);
    llava_model_free(mA);
    /* how the kills fell (informative: the instants are timed, so no count is asserted) */
    printf("      a save takes %.1f ms; loaded A %d times, B %d; killed while writing %d, between the renames %d, removing the old "
           "directory %d; finished %d\n", tsave * 1e3, n[0], n[1], writing, between, removing, finished);
    return 1;
}

/* the rules around the swap: leftovers removed, a caller's files kept, the fallback, links, errors */
static int t_dir_rules(const void *arg) {
    (void)arg;
    LlavaModel *m = llava_model_new(&g_cfg, 7);
    LlavaTrainer *t = trainer(m);
    const char *dir = tmp("rules");
    size_t n;
    CHECK(t && step(t, 0, NULL) == LLAVA_OK, "step: %s", llava_last_error());
    /* an interrupted save's temporary directory, and a finished one's old directory: removed */
    CHECK(mkdir(sib(dir, ".llava-partial"), 0755) == 0 && mkdir(sib(dir, ".llava-partial/clip"), 0755) == 0, "mkdir");
    CHECK(llava_write_text(sib(dir, ".llava-partial/clip/model.safetensors"), "half") == LLAVA_OK, "write");
    CHECK(llava_trainer_save(t, dir) == LLAVA_OK, "save over leftovers: %s", llava_last_error());
    CHECK(!exists(sib(dir, ".llava-partial")), "the leftover is still there");
    CHECK(mkdir(sib(dir, ".llava-old"), 0755) == 0 && llava_write_text(sib(dir, ".llava-old/x"), "x") == LLAVA_OK, "mkdir");
    /* a caller's own files in the directory (and a subdirectory) stay */
    CHECK(llava_write_text(sib(dir, "/notes.txt"), "mine") == LLAVA_OK && mkdir(sib(dir, "/logs"), 0755) == 0 &&
              llava_write_text(sib(dir, "/logs/run.log"), "log") == LLAVA_OK,
          "write");
    CHECK(llava_trainer_save(t, dir) == LLAVA_OK, "save: %s", llava_last_error());
    CHECK(!exists(sib(dir, ".llava-old")), "the old directory's leftover is still there");
    char *s1 = llava_read_file(sib(dir, "/notes.txt"), 100, &n), *s2 = llava_read_file(sib(dir, "/logs/run.log"), 100, &n);
    const int kept = s1 && s2 && !strcmp(s1, "mine") && !strcmp(s2, "log");
    free(s1), free(s2);
    CHECK(kept, "a caller's files were not kept");
    if (!holds(dir, 0, "after saving twice")) return 0;
    /* interrupted between the renames: DIR missing, the previous one as DIR.llava-old, which the loaders
       read and the next save replaces */
    CHECK(rename(dir, sib(dir, ".llava-old")) == 0, "rename");
    if (!holds(dir, 0, "DIR.llava-old as the fallback")) return 0;
    CHECK(llava_trainer_save(t, sib(dir, "/")) == LLAVA_OK, "save (a trailing slash): %s", llava_last_error());
    CHECK(exists(dir) && !exists(sib(dir, ".llava-old")) && exists(sib(dir, "/notes.txt")), "after the save from DIR.llava-old");
    if (!holds(dir, 0, "after the save from DIR.llava-old")) return 0;
    /* a symbolic link: followed, the swap where it points; the link stays */
    const char *ln = tmp("rules-link");
    struct stat st;
    CHECK(symlink("rules", ln) == 0, "symlink: %s", strerror(errno));
    CHECK(llava_trainer_save(t, ln) == LLAVA_OK, "save through a link: %s", llava_last_error());
    CHECK(lstat(ln, &st) == 0 && S_ISLNK(st.st_mode) && !exists(sib(ln, ".llava-old")), "the link was replaced");
    if (!holds(ln, 0, "through the link") || !holds(dir, 0, "where the link points")) return 0;
    /* errors: a parent that does not exist, a file in the way, names that cannot be renamed */
    const char *nd = tmp("no/such/dir");
    CHECK(llava_model_save(m, nd, LLAVA_F32) == LLAVA_ERR && err_has(nd) && err_has("cannot create"), "%s", llava_last_error());
    CHECK(llava_trainer_save(t, nd) == LLAVA_ERR && err_has(nd) && err_has("cannot create"), "%s", llava_last_error());
    const char *file = tmp("a-file");
    CHECK(llava_write_text(file, "text") == LLAVA_OK, "write");
    CHECK(llava_trainer_save(t, file) == LLAVA_ERR && err_has(file) && err_has("not a directory"), "%s", llava_last_error());
    char *txt = llava_read_file(file, 100, &n);
    const int same = txt && !strcmp(txt, "text");
    free(txt);
    CHECK(same && !exists(sib(file, ".llava-partial")), "the file in the way was touched");
    CHECK(llava_model_save(m, ".", LLAVA_F32) == LLAVA_ERR && err_has("name the directory"), "'.': %s", llava_last_error());
    CHECK(llava_model_save(m, sib(g_tmp, "/.."), LLAVA_F32) == LLAVA_ERR && err_has("name the directory"), "'..': %s", llava_last_error());
    CHECK(llava_model_save(m, "/", LLAVA_F32) == LLAVA_ERR && err_has("name the directory"), "'/': %s", llava_last_error());
    llava_trainer_free(t);
    llava_model_free(m);
    return 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: test_save_kill [FIXTURES_DIR]   (default %s)\n", TEST_FIXTURES);
        return 0;
    }
    if (argc > 1) g_fix = argv[1];
#ifdef _OPENMP
    omp_set_num_threads(1); /* no thread pool to copy into the children fork makes */
#endif
    snprintf(g_tmp, sizeof g_tmp, "/tmp/llava-save-XXXXXX");
    if (!mkdtemp(g_tmp)) {
        printf("FAIL  a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    const int s = setup();
    if (s < 0) {
        printf("skip  atomic saving: no fixture %s (%s)\n", fx("models/tiny_hf4"), llava_last_error());
    } else if (s == 0) {
        printf("FAIL  atomic saving: the uninterrupted run (%s)\n", llava_last_error());
        g_fail++;
    } else {
        run("saving: leftovers removed, a caller's files kept, DIR.llava-old read while DIR is missing, links, errors", t_dir_rules, NULL);
        run("saving killed at each crash point: A or B, bit for bit, resumed as the uninterrupted run", t_crash_points, NULL);
        run("saving killed (SIGKILL) at 100 random instants: A or B, bit for bit, resumed as the uninterrupted run", t_random_kills, NULL);
    }
    if (llava__rmtree(g_tmp, 0) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return test_summary();
}
