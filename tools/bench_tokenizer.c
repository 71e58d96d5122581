/* bench_tokenizer: llava.h's encoding throughput, one thread, in MB of UTF-8 text per second.

     bench_tokenizer --tokenizer DIR --text FILE [--seconds S] [--whole]

   Encodes each line of FILE as one text (--whole: the file as one text) over and over for at least
   S seconds (default 2) and prints "encode_mb_s X ids N". tools/py/bench_tokenizer.py runs it next to
   Hugging Face `tokenizers` on the same text and prints the ratio. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "common.h"

static const char usage[] =
    "usage: bench_tokenizer --tokenizer DIR --text FILE [--seconds S] [--whole]\n"
    "Encodes FILE with llava.h's tokenizer, one thread, over and over, and prints\n"
    "\"encode_mb_s X ids N\" (MB of UTF-8 text per second, ids of one pass).\n"
    "options:\n"
    "  --tokenizer DIR    required: a directory with tokenizer.json (or a tokenizer.json)\n"
    "  --text FILE        required: UTF-8 text; each line is one text, special tokens added\n"
    "  --seconds S        encode for at least S seconds, whole passes over the file (default 2)\n"
    "  --whole            encode the file as one text instead of line by line\n"
    "  --help, --version  this text; the version\n";

int main(int argc, char **argv) {
    const char *tp = NULL, *text_path = NULL;
    double seconds = 2;
    int whole = 0;
    CliArgs a = cli_begin(argc, argv, "bench_tokenizer", usage);
    while (cli_next(&a)) {
        if (cli_str(&a, "--tokenizer", &tp) || cli_str(&a, "--text", &text_path) || cli_double(&a, "--seconds", &seconds, 0, 86400) ||
            cli_flag(&a, "--whole", &whole))
            continue;
        cli_unknown(&a);
    }
    cli_require(tp, "--tokenizer");
    cli_require(text_path, "--text");
    LlavaTokenizer *t = llava_tokenizer_load(tp);
    if (!t) cli_die("%s", llava_last_error());
    size_t n;
    char *text = llava_read_file(text_path, (size_t)1 << 30, &n);
    if (!text) cli_die("%s", llava_last_error());
    int cap = (int)n + 16;
    int *ids = (int *)cli_xmalloc((size_t)cap * sizeof(int));
    long total_ids = 0;
    double t0 = cli_now(), bytes = 0;
    int rounds = 0;
    while (rounds == 0 || cli_now() - t0 < seconds) {
        size_t p = 0;
        total_ids = 0;
        while (p < n) {
            size_t e = whole ? n : p;
            while (e < n && text[e] != '\n') e++;
            int k = llava_tokenize(t, text + p, e - p, 1, ids, cap);
            if (k < 0) cli_die("%s", llava_last_error());
            total_ids += k;
            p = e + 1;
        }
        bytes += (double)n;
        rounds++;
    }
    double dt = cli_now() - t0;
    printf("encode_mb_s %.3f ids %ld\n", bytes / dt / 1e6, total_ids);
    free(ids);
    llava_free_string(text);
    llava_tokenizer_free(t);
    return 0;
}
