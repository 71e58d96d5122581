/* safetensors reader (llava__st_parse, what llava__st_add runs on a mapped file): the header's JSON,
   dtypes, shapes and data_offsets against the bytes that follow; every tensor accepted is then read
   (first and last byte, and its first elements converted as the loader converts them) */
#include "fuzz.h"

static void fuzz_init(void) {}

static void fuzz_one(const unsigned char *d, size_t n) {
    llava__tensors ts;
    int i;
    memset(&ts, 0, sizeof ts);
    if (llava__st_parse(&ts, 0, d, n, "fuzz.safetensors") == LLAVA_OK && llava__tensors_index(&ts) == LLAVA_OK) {
        volatile unsigned char sink = 0;
        float f[16];
        for (i = 0; i < ts.n; i++) {
            const llava__tensor *t = &ts.t[i];
            if (llava__tensors_find(&ts, t->name) != t) abort();
            if (t->data < d || t->data + t->nbytes > d + n) abort();
            if (t->nbytes) sink ^= t->data[0] ^ t->data[t->nbytes - 1];
            if (t->dtype >= 0) {
                size_t es = llava__dtype_size((LlavaDType)t->dtype), k = t->nbytes / es;
                llava__to_f32(f, t->data, (LlavaDType)t->dtype, k < 16 ? k : 16);
            }
        }
        (void)sink;
    } else if (!llava_last_error()[0]) {
        abort();
    }
    llava__tensors_free(&ts);
}
