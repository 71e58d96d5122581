/* PyTorch checkpoint reader (llava__pt_add: the zip directory by llava__zip_read, data.pkl by the
   restricted unpickler llava__pk_run, then each tensor's storage, offset, shape and strides): the input
   is the .bin file. Every tensor accepted is read whole (every byte, and its first elements converted
   as the loader converts them), and must lie inside the file or a buffer the table owns. */
#include "fuzz.h"

static void fuzz_init(void) {}

static void fuzz_one(const unsigned char *d, size_t n) {
    const char *path = fuzz_write("pytorch_model.bin", d, n);
    llava__tensors ts;
    int i;
    memset(&ts, 0, sizeof ts);
    if (llava__pt_add(&ts, path) == LLAVA_OK && llava__tensors_index(&ts) == LLAVA_OK) {
        volatile unsigned char sink = 0;
        float f[16];
        for (i = 0; i < ts.n; i++) {
            const llava__tensor *t = &ts.t[i];
            size_t k, numel = 1;
            int j;
            if (llava__tensors_find(&ts, t->name) != t) abort();
            if (t->ndim < 0 || t->ndim > LLAVA__MAX_NDIM) abort();
            for (j = 0; j < t->ndim; j++) numel *= (size_t)t->shape[j];
            for (k = 0; k < t->nbytes; k++) sink ^= t->data[k]; /* ASan: every byte is inside something */
            if (t->dtype >= 0) {
                if (numel * llava__dtype_size((LlavaDType)t->dtype) != t->nbytes) abort();
                llava__to_f32(f, t->data, (LlavaDType)t->dtype, numel < 16 ? numel : 16);
            }
        }
        (void)sink;
    } else if (!llava_last_error()[0]) {
        abort();
    }
    llava__tensors_free(&ts);
}
