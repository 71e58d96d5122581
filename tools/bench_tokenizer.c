/* bench_tokenizer: llava.h's encoding throughput, one thread, in MB of UTF-8 text per second.

     bench_tokenizer --tokenizer DIR --text FILE [--seconds S] [--whole]

   Encodes each line of FILE as one text (--whole: the file as one text) over and over for at least
   S seconds (default 2) and prints "encode_mb_s X ids N". tools/py/bench_tokenizer.py runs it next to
   Hugging Face `tokenizers` on the same text and prints the ratio. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    const char *tp = NULL, *text_path = NULL;
    double seconds = 2;
    int whole = 0, i;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) tp = argv[++i];
        else if (!strcmp(argv[i], "--text") && i + 1 < argc) text_path = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--whole")) whole = 1;
        else {
            fprintf(stderr, "usage: bench_tokenizer --tokenizer DIR --text FILE [--seconds S] [--whole]\n");
            return 2;
        }
    }
    if (!tp || !text_path) {
        fprintf(stderr, "usage: bench_tokenizer --tokenizer DIR --text FILE [--seconds S] [--whole]\n");
        return 2;
    }
    LlavaTokenizer *t = llava_tokenizer_load(tp);
    size_t n;
    char *text = llava_read_file(text_path, (size_t)1 << 30, &n);
    if (!t || !text) {
        fprintf(stderr, "bench_tokenizer: %s\n", llava_last_error());
        return 1;
    }
    int cap = (int)n + 16;
    int *ids = (int *)malloc((size_t)cap * sizeof(int));
    long total_ids = 0;
    double t0 = now(), bytes = 0;
    int rounds = 0;
    while (rounds == 0 || now() - t0 < seconds) {
        size_t p = 0;
        total_ids = 0;
        while (p < n) {
            size_t e = whole ? n : p;
            while (e < n && text[e] != '\n') e++;
            int k = llava_tokenize(t, text + p, e - p, 1, ids, cap);
            if (k < 0) {
                fprintf(stderr, "bench_tokenizer: %s\n", llava_last_error());
                return 1;
            }
            total_ids += k;
            p = e + 1;
        }
        bytes += (double)n;
        rounds++;
    }
    double dt = now() - t0;
    printf("encode_mb_s %.3f ids %ld\n", bytes / dt / 1e6, total_ids);
    free(ids);
    free(text);
    llava_tokenizer_free(t);
    return 0;
}
