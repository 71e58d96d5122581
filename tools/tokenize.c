/* tokenize: llava.h's tokenizer from the shell, to compare it with any other.

     tokenize --tokenizer DIR_OR_FILE [--json] [--no-special]     text per line -> ids per line
     tokenize --tokenizer DIR_OR_FILE --decode [--skip-special]    ids per line -> text per line
     tokenize --train CORPUS --vocab N [--special TOK]... --out DIR  train a BPE tokenizer

   Special tokens are added as the tokenizer's own configuration says (tokenizer_config.json's
   add_bos_token/add_eos_token, else tokenizer.json's post_processor); --no-special adds none.
   --json: each input line is a JSON string literal (so texts with newlines can be given), and
   --decode prints each text as a JSON string literal. tools/py/make_tokenizer_fixtures.py trains
   the fixture tokenizers with it. */
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "common.h"

static const char usage[] =
    "usage:\n"
    "  tokenize --tokenizer DIR_OR_FILE [--json] [--no-special]                 one text per line -> ids per line\n"
    "  tokenize --tokenizer DIR_OR_FILE --decode [--skip-special] [--json]      ids per line -> text per line\n"
    "  tokenize --train CORPUS --vocab N [--special TOK]... --out DIR           train a SentencePiece-style BPE\n"
    "Encodes or decodes stdin line by line with llava.h's tokenizer, or trains one.\n"
    "options:\n"
    "  --tokenizer PATH required to encode or decode: a directory with tokenizer.json\n"
    "                   (+ tokenizer_config.json) or a SentencePiece tokenizer.model; a\n"
    "                   tokenizer.json or .model file; or a GGUF file (its tokenizer.ggml.*)\n"
    "  --json           input texts (or, with --decode, output texts) are JSON string literals\n"
    "                   (default: raw lines)\n"
    "  --no-special     add no special tokens (default: as the tokenizer's configuration says)\n"
    "  --decode         read ids (separated by spaces), print text (default: read text, print ids)\n"
    "  --skip-special   with --decode: leave special tokens out (default: keep them)\n"
    "  --train CORPUS   train on a UTF-8 text file, one sentence per line (instead of --tokenizer)\n"
    "  --vocab N        required with --train: vocabulary size, specials included\n"
    "  --special TOK    with --train: a special token (repeatable), given the last ids (default: none)\n"
    "  --out DIR        required with --train: an existing directory where tokenizer.json and\n"
    "                   tokenizer_config.json are written\n"
    "  --help           this text\n"
    "  --version        the program's and llava.h's version\n";

/* the whole line without its "\n", NULL at EOF. Not cli_read_line: a "\r" before the newline is part
   of the text here, and *n counts NUL bytes inside the line (they are tokenized too) */
static char *read_line(FILE *f, size_t *n) {
    size_t cap = 256, k = 0;
    char *b = (char *)cli_xmalloc(cap);
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (k + 1 >= cap) b = (char *)cli_xrealloc(b, cap *= 2);
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

/* a line of ids -> text (0), or a message on stderr (1) */
static int decode_line(const LlavaTokenizer *tok, const char *line, size_t lineno, int skip_special, int json) {
    int cap = 64, k = 0;
    int *ids = (int *)cli_xmalloc((size_t)cap * sizeof(int));
    const char *p = line;
    char *e;
    while (1) {
        long v = strtol(p, &e, 10);
        if (e == p) break;
        if (k == cap) ids = (int *)cli_xrealloc(ids, (size_t)(cap *= 2) * sizeof(int));
        ids[k++] = (int)v;
        p = e;
    }
    long len = llava_detokenize(tok, ids, k, skip_special, NULL, 0);
    char *text = len >= 0 ? (char *)cli_xmalloc((size_t)len + 1) : NULL;
    int rc = 0;
    if (!text || llava_detokenize(tok, ids, k, skip_special, text, (size_t)len + 1) < 0) {
        cli_note("line %zu: %s", lineno, llava_last_error());
        rc = 1;
    } else if (json) {
        LlavaBuf b = {0};
        llava_buf_json_string(&b, text, (size_t)len);
        if (b.oom) cli_die("out of memory");
        fwrite(b.p, 1, b.n, stdout);
        putchar('\n');
        llava_buf_free(&b);
    } else {
        fwrite(text, 1, (size_t)len, stdout);
        putchar('\n');
    }
    free(text);
    free(ids);
    return rc;
}

/* a line of text -> ids (0), or a message on stderr (1); after a tokenizer error an empty line
   stands for the ids */
static int encode_line(const LlavaTokenizer *tok, const char *line, size_t n, size_t lineno, int add_special, int json) {
    const char *text = line;
    size_t tn = n;
    LlavaJson j;
    memset(&j, 0, sizeof j);
    if (json) {
        if (llava_json_parse(&j, line, n, "input line") != LLAVA_OK || j.nodes[0].type != LLAVA_JSON_STR) {
            cli_note("line %zu: %s", lineno, j.nodes ? "not a JSON string" : llava_last_error());
            llava_json_free(&j);
            return 1;
        }
        text = j.nodes[0].str;
        /* the string's length: the JSON reader NUL-terminates it; \u0000 inside ends it early */
        tn = strlen(text);
    }
    int rc = 0, cnt = llava_tokenize(tok, text, tn, add_special, NULL, 0);
    int *ids = cnt >= 0 ? (int *)cli_xmalloc(((size_t)cnt + 1) * sizeof(int)) : NULL;
    if (!ids || llava_tokenize(tok, text, tn, add_special, ids, cnt) < 0) {
        cli_note("line %zu: %s", lineno, llava_last_error());
        putchar('\n');
        rc = 1;
    } else {
        int k;
        for (k = 0; k < cnt; k++) printf(k ? " %d" : "%d", ids[k]);
        putchar('\n');
    }
    free(ids);
    llava_json_free(&j);
    return rc;
}

int main(int argc, char **argv) {
    const char *tok_path = NULL, *train = NULL, *out_dir = NULL;
    const char **specials = (const char **)cli_xcalloc((size_t)argc, sizeof *specials); /* at most argc */
    int n_specials = 0, json = 0, no_special = 0, decode = 0, skip_special = 0, vocab = 0, rc = 0;
    const char *s;
    CliArgs a = cli_begin(argc, argv, "tokenize", usage);
    while (cli_next(&a)) {
        if (cli_str(&a, "--special", &s)) specials[n_specials++] = s;
        else if (cli_str(&a, "--tokenizer", &tok_path) || cli_flag(&a, "--json", &json) || cli_flag(&a, "--no-special", &no_special) ||
                 cli_flag(&a, "--decode", &decode) || cli_flag(&a, "--skip-special", &skip_special) || cli_str(&a, "--train", &train) ||
                 cli_int(&a, "--vocab", &vocab, 1, INT_MAX) || cli_str(&a, "--out", &out_dir))
            continue;
        else cli_unknown(&a);
    }
    if (train) {
        if (tok_path) cli_usage_error("give --tokenizer or --train, not both");
        if (!out_dir || !vocab) cli_usage_error("--train needs --vocab and --out");
        size_t n = 0;
        char *corpus = llava_read_file(train, (size_t)1 << 30, &n);
        LlavaBpeTrainOptions opt;
        memset(&opt, 0, sizeof opt);
        opt.vocab_size = vocab;
        opt.specials = specials;
        opt.n_specials = n_specials;
        if (!corpus || llava_bpe_train(corpus, n, &opt, out_dir) != LLAVA_OK) cli_die("%s", llava_last_error());
        llava_free_string(corpus);
        free(specials);
        return 0;
    }
    if (!tok_path) cli_usage_error("--tokenizer is required (or --train to make one)");
    if (vocab || out_dir || n_specials) cli_usage_error("--vocab, --out and --special go with --train");
    if (skip_special && !decode) cli_usage_error("--skip-special goes with --decode");
    if (no_special && decode) cli_usage_error("--no-special does not go with --decode (see --skip-special)");
    LlavaTokenizer *tok = llava_tokenizer_load(tok_path);
    if (!tok) cli_die("%s", llava_last_error());
    size_t n, lineno = 0;
    char *line;
    while ((line = read_line(stdin, &n)) != NULL) {
        lineno++;
        if (decode ? decode_line(tok, line, lineno, skip_special, json) : encode_line(tok, line, n, lineno, !no_special, json)) rc = 1;
        free(line);
    }
    llava_tokenizer_free(tok);
    free(specials);
    return rc;
}
