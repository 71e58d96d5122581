/* tokenize: llava.h's tokenizer from the shell, to compare it with any other.

     tokenize --tokenizer DIR_OR_FILE [--json] [--no-special]     text per line -> ids per line
     tokenize --tokenizer DIR_OR_FILE --decode [--skip-special]    ids per line -> text per line
     tokenize --train CORPUS --vocab N [--special TOK]... --out DIR  train a BPE tokenizer

   Special tokens are added as the tokenizer's own configuration says (tokenizer_config.json's
   add_bos_token/add_eos_token, else tokenizer.json's post_processor); --no-special adds none.
   --json: each input line is a JSON string literal (so texts with newlines can be given), and
   --decode prints each text as a JSON string literal. */
#define LLAVA_IMPLEMENTATION
#include "../llava.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage:\n"
               "  tokenize --tokenizer DIR_OR_FILE [--json] [--no-special]      one text per line -> ids per line\n"
               "  tokenize --tokenizer DIR_OR_FILE --decode [--skip-special] [--json]  ids per line -> text per line\n"
               "  tokenize --train CORPUS --vocab N [--special TOK]... --out DIR   train a SentencePiece-style BPE\n"
               "options:\n"
               "  --tokenizer P    a directory with tokenizer.json (+ tokenizer_config.json) or a tokenizer.json\n"
               "  --json           input texts (or, with --decode, output texts) are JSON string literals\n"
               "  --no-special     add no special tokens (default: as the tokenizer's configuration says)\n"
               "  --decode         read ids, print text\n"
               "  --skip-special   with --decode: leave special tokens out\n"
               "  --train CORPUS   train on a UTF-8 text file, one sentence per line\n"
               "  --vocab N        vocabulary size for --train (specials included)\n"
               "  --special TOK    a special token for --train (repeatable), given the last ids\n"
               "  --out DIR        where --train writes tokenizer.json and tokenizer_config.json\n");
}

static char *read_line(FILE *f, size_t *n) { /* whole line without the newline; NULL at EOF */
    size_t cap = 256, k = 0;
    char *b = (char *)malloc(cap);
    int c;
    if (!b) return NULL;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (k + 1 >= cap) {
            char *nb = (char *)realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
        }
        b[k++] = (char)c;
    }
    if (c == EOF && k == 0) {
        free(b);
        return NULL;
    }
    b[k] = 0;
    *n = k;
    return b;
}

static void print_json_string(const char *s, size_t n) {
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') fputs("\\\"", stdout);
        else if (c == '\\') fputs("\\\\", stdout);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    const char *tok_path = NULL, *train = NULL, *out_dir = NULL;
    const char *specials[64];
    int n_specials = 0, json = 0, no_special = 0, decode = 0, skip_special = 0, vocab = 0, i, rc = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--tokenizer") && has) tok_path = argv[++i];
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--no-special")) no_special = 1;
        else if (!strcmp(a, "--decode")) decode = 1;
        else if (!strcmp(a, "--skip-special")) skip_special = 1;
        else if (!strcmp(a, "--train") && has) train = argv[++i];
        else if (!strcmp(a, "--vocab") && has) vocab = atoi(argv[++i]);
        else if (!strcmp(a, "--special") && has && n_specials < 64) specials[n_specials++] = argv[++i];
        else if (!strcmp(a, "--out") && has) out_dir = argv[++i];
        else {
            fprintf(stderr, "tokenize: unknown or incomplete argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (train) {
        size_t n = 0;
        if (!out_dir || vocab <= 0) {
            usage(stderr);
            return 2;
        }
        char *corpus = llava_read_file(train, (size_t)1 << 30, &n);
        LlavaBpeTrainOptions opt;
        memset(&opt, 0, sizeof opt);
        opt.vocab_size = vocab;
        opt.specials = specials;
        opt.n_specials = n_specials;
        if (!corpus || llava_bpe_train(corpus, n, &opt, out_dir) != LLAVA_OK) {
            fprintf(stderr, "tokenize: %s\n", llava_last_error());
            free(corpus);
            return 1;
        }
        free(corpus);
        return 0;
    }
    if (!tok_path) {
        usage(stderr);
        return 2;
    }
    LlavaTokenizer *tok = llava_tokenizer_load(tok_path);
    if (!tok) {
        fprintf(stderr, "tokenize: %s\n", llava_last_error());
        return 1;
    }
    size_t n, lineno = 0;
    char *line;
    while ((line = read_line(stdin, &n)) != NULL) {
        lineno++;
        if (decode) {
            int cap = 64, k = 0;
            int *ids = (int *)malloc((size_t)cap * sizeof(int));
            char *p = line, *e;
            while (ids) {
                long v = strtol(p, &e, 10);
                if (e == p) break;
                if (k == cap) {
                    int *ni = (int *)realloc(ids, (size_t)(cap *= 2) * sizeof(int));
                    if (!ni) break;
                    ids = ni;
                }
                ids[k++] = (int)v;
                p = e;
            }
            long len = ids ? llava_detokenize(tok, ids, k, skip_special, NULL, 0) : -1;
            char *text = len >= 0 ? (char *)malloc((size_t)len + 1) : NULL;
            if (!text || llava_detokenize(tok, ids, k, skip_special, text, (size_t)len + 1) < 0) {
                fprintf(stderr, "tokenize: line %zu: %s\n", lineno, llava_last_error());
                rc = 1;
            } else if (json) {
                print_json_string(text, (size_t)len);
                putchar('\n');
            } else {
                fwrite(text, 1, (size_t)len, stdout);
                putchar('\n');
            }
            free(text);
            free(ids);
        } else {
            const char *text = line;
            size_t tn = n;
            LlavaJson j;
            memset(&j, 0, sizeof j);
            if (json) {
                if (llava_json_parse(&j, line, n, "input line") != LLAVA_OK || j.nodes[0].type != LLAVA_JSON_STR) {
                    fprintf(stderr, "tokenize: line %zu: %s\n", lineno, j.nodes ? "not a JSON string" : llava_last_error());
                    llava_json_free(&j);
                    free(line);
                    rc = 1;
                    continue;
                }
                text = j.nodes[0].str;
                /* the string's length: the JSON reader NUL-terminates it; \u0000 inside ends it early */
                tn = strlen(text);
            }
            int cnt = llava_tokenize(tok, text, tn, !no_special, NULL, 0);
            int *ids = cnt >= 0 ? (int *)malloc(((size_t)cnt + 1) * sizeof(int)) : NULL;
            if (!ids || llava_tokenize(tok, text, tn, !no_special, ids, cnt) < 0) {
                fprintf(stderr, "tokenize: line %zu: %s\n", lineno, llava_last_error());
                putchar('\n');
                rc = 1;
            } else {
                int k;
                for (k = 0; k < cnt; k++) printf(k ? " %d" : "%d", ids[k]);
                putchar('\n');
            }
            free(ids);
            llava_json_free(&j);
        }
        free(line);
    }
    llava_tokenizer_free(tok);
    return rc;
}
