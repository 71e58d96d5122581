/* llava.h GGUF tests: the reader (every metadata type, hostile files refused with a clear message),
   dequantization against the gguf package's, and GGUF models against their safetensors twins.
   Prints one line per test and "N passed, N failed" at the end; exits non-zero on any failure.

   usage: test_gguf [FIXTURES_DIR]   (default tests/fixtures/gguf, run from the repository root)
   env LLAVA_TEST_GGUF=path/to/model.gguf also loads a real llama.cpp text model (skipped when unset) */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_pass, g_fail;
static char g_msg[4096];
static const char *g_fix = "tests/fixtures/gguf";

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
    if (f(arg)) {
        g_pass++;
        printf("ok    %s\n", name);
    } else {
        g_fail++;
        printf("FAIL  %s: %s\n", name, g_msg);
    }
    fflush(stdout);
}

static char *fx(const char *rel) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_fix, rel);
    return buf[k];
}

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

int main(int argc, char **argv) {
    if (argc > 1) g_fix = argv[1];
    run("gguf metadata: every value type, lookups, tensor infos", t_meta, NULL);
    run("gguf hostile files refused with a clear message", t_hostile, NULL);
    run("gguf dequantization bit-identical to gguf.quants.dequantize (Q4_0 ... Q6_K, F16, BF16)", t_quants, NULL);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
