/* The C tests' shared frame: a test is a function returning 1 (passed), 0 (failed, with the reason
   in g_msg, usually by CHECK) or -1 (skipped, the reason in g_msg); run() prints one line per test
   ("ok", "FAIL", "skip"), and test_summary() prints the closing "N passed, N failed" and gives the exit
   status. Fixture paths are relative to g_fix (TEST_FIXTURES unless the test sets it from argv);
   temporary ones to g_tmp, which a test that writes files fills in (mkdtemp). Include after llava.h. */
#ifndef LLAVA_TEST_H
#define LLAVA_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TEST_FIXTURES
#define TEST_FIXTURES "tests/fixtures"
#endif
#if defined(__GNUC__) || defined(__clang__)
#define TEST_UNUSED __attribute__((unused))
#else
#define TEST_UNUSED
#endif

static int g_pass, g_fail, g_skip;
static char g_msg[4096];
static const char *g_fix = TEST_FIXTURES;
TEST_UNUSED static char g_tmp[256];

#define CHECK(cond, ...)                                \
    do {                                                \
        if (!(cond)) {                                  \
            snprintf(g_msg, sizeof g_msg, __VA_ARGS__); \
            return 0;                                   \
        }                                               \
    } while (0)

typedef int (*test_fn)(const void *arg);
static void run(const char *name, test_fn f, const void *arg) {
    g_msg[0] = 0;
    int r = f(arg);
    if (r > 0) {
        g_pass++;
        printf("ok    %s\n", name);
    } else if (r < 0) {
        g_skip++;
        printf("skip  %s: %s\n", name, g_msg);
    } else {
        g_fail++;
        printf("FAIL  %s: %s\n", name, g_msg);
    }
    fflush(stdout);
}

/* dir/rel in one of a few rotating buffers, so several can be used in one call */
static char *test_path(const char *dir, const char *rel) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, rel);
    return buf[k];
}
TEST_UNUSED static char *fx(const char *rel) { return test_path(g_fix, rel); }
TEST_UNUSED static char *tmp(const char *rel) { return test_path(g_tmp, rel); }

/* ids: parsed from "1 2 3", compared, printed; decoded to a malloc'd string (NULL on error) */
TEST_UNUSED static int parse_ids(const char *s, int *ids, int cap) {
    int n = 0;
    char *e;
    while (s && *s && n < cap) {
        long v = strtol(s, &e, 10);
        if (e == s) break;
        ids[n++] = (int)v;
        s = e;
    }
    return n;
}
TEST_UNUSED static int same_ids(const int *a, int na, const int *b, int nb) {
    return na == nb && (na == 0 || !memcmp(a, b, (size_t)na * sizeof(int)));
}
TEST_UNUSED static void fmt_ids(char *out, size_t cap, const int *ids, int n) {
    size_t k = 0;
    int i;
    out[0] = 0;
    for (i = 0; i < n && k + 16 < cap; i++) k += (size_t)snprintf(out + k, cap - k, i ? " %d" : "%d", ids[i]);
}
TEST_UNUSED static char *decode(const LlavaTokenizer *t, const int *ids, int n, int skip) {
    long len = llava_detokenize(t, ids, n, skip, NULL, 0);
    if (len < 0) return NULL;
    char *s = (char *)malloc((size_t)len + 1);
    if (s) llava_detokenize(t, ids, n, skip, s, (size_t)len + 1);
    return s;
}

/* the tokenizer tests' strings: a JSON list of strings (tests/fixtures/tokenizer/texts.json), kept parsed in
   g_texts; g_text[i] and g_text_len[i] for i < g_ntexts. Returns 0, or -1 when it cannot be read */
static LlavaJson g_texts;
static int g_ntexts;
static const char **g_text;
static size_t *g_text_len;
TEST_UNUSED static int load_texts(const char *path) {
    size_t n;
    char *s = llava_read_file(path, (size_t)1 << 30, &n);
    if (!s || llava_json_parse(&g_texts, s, n, "texts.json")) {
        free(s);
        return -1;
    }
    free(s);
    const LlavaJsonNode *root = &g_texts.nodes[0], *x;
    g_ntexts = root->count;
    g_text = (const char **)calloc((size_t)g_ntexts + 1, sizeof *g_text);
    g_text_len = (size_t *)calloc((size_t)g_ntexts + 1, sizeof *g_text_len);
    if (!g_text || !g_text_len) return -1;
    int i = 0;
    for (x = llava_json_first(&g_texts, root); x; x = llava_json_next(&g_texts, x), i++) {
        g_text[i] = x->str;
        g_text_len[i] = strlen(x->str);
    }
    return 0;
}

static int test_summary(void) {
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

#endif
