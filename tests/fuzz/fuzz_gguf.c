/* GGUF (llava__gguf_parse from memory, the typed metadata getters, llava__gguf_put: every tensor
   dequantized or mapped, with and without the q/k row permutation) and the GGUF model loader
   (llava_model_load_gguf). The input: a text-model GGUF, then optionally FUZZ_CUT and an mmproj GGUF.
   Each part that parses has its metadata read through every getter and its tensors read whole; when the
   text part parses the pair is written out and loaded as a model. */
#include "fuzz.h"

static void fuzz_init(void) {}

static volatile unsigned char fuzz__sink;

/* every getter on every key; every tensor through llava__gguf_put and read whole; 1 when d[n] parses */
static int exercise(const unsigned char *d, size_t n) {
    llava__gguf g;
    llava__tensors ts;
    int i;
    if (fuzz_gguf(&g, d, n, "fuzz.gguf") != LLAVA_OK) {
        if (!llava_last_error()[0]) abort();
        return 0;
    }
    for (i = 0; i < g.n_kv; i++) {
        const char *key = g.kv[i].key, *s;
        const llava__gguf_kv *kv;
        size_t len;
        int64_t i64;
        uint32_t u32;
        double dv;
        int b;
        uint64_t k;
        if (llava__gguf_find(&g, key) != &g.kv[i]) abort(); /* keys are unique and sorted */
        if (llava__gguf_str(&g, key, &s, &len) == 1 && len) fuzz__sink ^= (unsigned char)(s[0] ^ s[len - 1]);
        llava__gguf_int(&g, key, &i64);
        llava__gguf_u32(&g, key, &u32);
        llava__gguf_float(&g, key, &dv);
        llava__gguf_bool(&g, key, &b);
        if (llava__gguf_arr(&g, key, LLAVA__GGUF_STRING, &kv) == 1)
            for (k = 0; k < kv->n && k < 64; k++)
                if ((s = llava__gguf_arr_str(kv, k, &len)) != NULL && len) fuzz__sink ^= (unsigned char)(s[0] ^ s[len - 1]);
        if (llava__gguf_arr(&g, key, LLAVA__GGUF_ANY_NUM, &kv) == 1)
            for (k = 0; k < kv->n && k < 64; k++) {
                fuzz__sink ^= (unsigned char)(llava__gguf_arr_num(kv, k) != 0);
                if (llava__gguf_is_int(kv->arr_type) || kv->arr_type == LLAVA__GGUF_BOOL) fuzz__sink ^= (unsigned char)llava__gguf_arr_i64(kv, k);
            }
    }
    memset(&ts, 0, sizeof ts);
    if (llava__gguf_adopt(&ts, &g) == LLAVA_OK) {
        for (i = 0; i < g.n_t; i++) {
            const llava__gguf_tensor *gt = &g.t[i];
            if (llava__gguf_tensor_find(&g, gt->name) != gt) abort();
            const int before = ts.n;
            if (llava__gguf_put(&ts, 0, gt, gt->name, i % 2 ? 2 : 0) != LLAVA_OK) {
                if (!llava_last_error()[0]) abort();
                continue;
            }
            const llava__tensor *t = &ts.t[before];
            size_t j;
            for (j = 0; j < t->nbytes; j++) fuzz__sink ^= t->data[j]; /* ASan: all of it is inside something */
        }
    }
    llava__tensors_free(&ts);
    llava__gguf_close(&g);
    return 1;
}

static void fuzz_one(const unsigned char *d, size_t n) {
    size_t tn, vn;
    const unsigned char *v = fuzz_cut(d, n, &tn, &vn);
    const int ok = exercise(d, tn);
    if (v) exercise(v, vn);
    if (!ok) return; /* (the model loader's parse would fail the same way) */
    char text[400];
    snprintf(text, sizeof text, "%s", fuzz_write("model.gguf", d, tn));
    const char *mm = v ? fuzz_write("mmproj.gguf", v, vn) : NULL;
    llava__err("%s", "");
    LlavaModel *m = llava_model_load_gguf(text, mm);
    if (m) llava_model_free(m);
    else if (!llava_last_error()[0]) abort();
}
