/* llava.h: the tokenizer of a GGUF file (tokenizer.ggml.*) and the Digits pre-tokenizer, against
   Hugging Face `tokenizers` (fixtures made by tools/py/make_gguftok_fixtures.py): ids on the project's
   test strings for each GGUF fixture and for SmolLM2-style tokenizer.json files, the Digits splits,
   and hostile metadata (files written here) refused with clear errors.
   Prints one line per test and "N passed, N failed" at the end; exits non-zero on any failure.

   usage: test_gguf_tokenizer [FIXTURES_DIR]   (default tests/fixtures/gguftok, run from the repository root)
   LLAVA_TEST_GGUF=model.gguf also loads a real model's tokenizer (skipped with a message when unset);
   LLAVA_TEST_GGUF_EXPECTED=ids.jsonl (from make_gguftok_fixtures.py --real) compares its ids;
   LLAVA_TEST_LLAMACPP_VOCABS=llama.cpp/models checks llama.cpp's SentencePiece vocabularies against its
   test-tokenizer-0 outputs. GGUF "llama" (SentencePiece) fixtures: tests/fixtures/spmgguf
   (tools/py/make_spmgguf_fixtures.py), against llama.cpp's rules. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#define TEST_FIXTURES "tests/fixtures/gguftok"
#include "../llava.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static char *read_all(const char *path, size_t *n) { return llava_read_file(path, (size_t)1 << 30, n); }

/* --- the test strings (tests/fixtures/tokenizer/texts.json) and the manifest --------------------- */
static LlavaJson g_man;

static int load_fixtures(void) {
    size_t n;
    char *s = read_all(fx("manifest.json"), &n);
    if (!s || llava_json_parse(&g_man, s, n, "manifest.json")) return -1;
    free(s);
    const char *texts = llava__tok_jstr(&g_man, &g_man.nodes[0], "texts");
    return texts ? load_texts(fx(texts)) : -1;
}

/* ids with and without special tokens, and decode(raw), for every text against an expected.jsonl */
#define MAXIDS 8192
static int compare_expected(LlavaTokenizer *t, const char *path, int check_dec) {
    size_t n;
    char *all = read_all(path, &n), *line = all;
    CHECK(all, "cannot read %s", path);
    static int ids[MAXIDS], exp[MAXIDS], raw[MAXIDS], eraw[MAXIDS];
    char a[1500], b[1500];
    int i, npre = llava_tokenize(t, "", 0, 1, NULL, 0), ok = 1;
    for (i = 0; i < g_ntexts && ok; i++) {
        char *nl = strchr(line, '\n');
        LlavaJson j;
        if (!nl) {
            snprintf(g_msg, sizeof g_msg, "%s: %d lines for %d texts", path, i, g_ntexts);
            ok = 0;
            break;
        }
        *nl = 0;
        if (llava_json_parse(&j, line, strlen(line), path)) {
            snprintf(g_msg, sizeof g_msg, "%s", llava_last_error());
            ok = 0;
            break;
        }
        const LlavaJsonNode *r = &j.nodes[0];
        const char *text = g_text[i];
        int ne = parse_ids(llava__tok_jstr(&j, r, "ids"), exp, MAXIDS);
        int ng = llava_tokenize(t, text, g_text_len[i], 1, ids, MAXIDS);
        if (!same_ids(exp, ne, ids, ng)) {
            fmt_ids(a, sizeof a, exp, ne);
            fmt_ids(b, sizeof b, ids, ng);
            snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\": ids [%s] but tokenizers says [%s]%s%.300s", i, text, b, a, ng < 0 ? ": " : "",
                     ng < 0 ? llava_last_error() : "");
            ok = 0;
        }
        const char *rs = llava__tok_jstr(&j, r, "raw");
        int ner = rs ? parse_ids(rs, eraw, MAXIDS) : ne - npre;
        if (!rs && ner > 0) memcpy(eraw, exp + npre, (size_t)ner * sizeof(int));
        int nr = llava_tokenize(t, text, g_text_len[i], 0, raw, MAXIDS);
        if (ok && !same_ids(eraw, ner, raw, nr)) {
            fmt_ids(a, sizeof a, eraw, ner);
            fmt_ids(b, sizeof b, raw, nr);
            snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\" without special tokens: [%s] but tokenizers says [%s]", i, text, b, a);
            ok = 0;
        }
        if (ok && check_dec) {
            const char *dec = llava__tok_jstr(&j, r, "dec");
            char *d = decode(t, eraw, ner, 0);
            if (!d || strcmp(d, dec ? dec : text))
                snprintf(g_msg, sizeof g_msg, "text %d: decode gives \"%.60s\", tokenizers \"%.60s\"", i, d ? d : "(error)", dec ? dec : text), ok = 0;
            free(d);
        }
        llava_json_free(&j);
        line = nl + 1;
    }
    free(all);
    return ok;
}

/* each GGUF fixture: the same ids as `tokenizers` with the tokenizer.json it was converted from */
static int t_gguf(const void *arg) {
    const char *name = (const char *)arg;
    const LlavaJsonNode *e = llava_json_get(&g_man, llava_json_get(&g_man, &g_man.nodes[0], "gguf"), name);
    const char *file = llava__tok_jstr(&g_man, e, "file"), *expected = llava__tok_jstr(&g_man, e, "expected");
    CHECK(file && expected, "manifest has no gguf entry '%s'", name);
    LlavaTokenizer *t = llava_tokenizer_load(fx(file));
    CHECK(t, "load %s: %s", file, llava_last_error());
    int ok = compare_expected(t, fx(expected), 1);
    const LlavaJsonNode *tok = llava_json_get(&g_man, e, "tokens");
    if (ok && tok && llava_tokenizer_vocab_size(t) != (int)tok->num)
        snprintf(g_msg, sizeof g_msg, "vocabulary %d, the file has %d tokens", llava_tokenizer_vocab_size(t), (int)tok->num), ok = 0;
    llava_tokenizer_free(t);
    return ok;
}

/* each byte-level GGUF fixture written out as tokenizer.json + tokenizer_config.json (what an assembled
   model's save writes for a GGUF language model): read back, the ids and decodes tokenizers gives with the
   tokenizer.json the GGUF was converted from; with "<image>" added, that token as the next id, special */
static int t_gguf_written(const void *arg) {
    const char *name = (const char *)arg;
    const LlavaJsonNode *e = llava_json_get(&g_man, llava_json_get(&g_man, &g_man.nodes[0], "gguf"), name);
    const char *file = llava__tok_jstr(&g_man, e, "file"), *expected = llava__tok_jstr(&g_man, e, "expected");
    char dir[600], dir2[600];
    CHECK(file && expected, "manifest has no gguf entry '%s'", name);
    snprintf(dir, sizeof dir, "%s/written-%s", g_tmp, name);
    snprintf(dir2, sizeof dir2, "%s/written-img-%s", g_tmp, name);
    CHECK(mkdir(dir, 0755) == 0 && mkdir(dir2, 0755) == 0, "mkdir %s", dir);
    CHECK(llava__tok_files_from_gguf(fx(file), dir, -1) == LLAVA_OK, "write: %s", llava_last_error());
    LlavaTokenizer *t = llava_tokenizer_load(dir), *g = llava_tokenizer_load(fx(file));
    CHECK(t && g, "read back: %s", llava_last_error());
    int ok = compare_expected(t, fx(expected), 1);
    const int V = llava_tokenizer_vocab_size(g);
    if (ok && (llava_tokenizer_vocab_size(t) != V || llava_tokenizer_bos(t) != llava_tokenizer_bos(g) || llava_tokenizer_eos(t) != llava_tokenizer_eos(g)))
        snprintf(g_msg, sizeof g_msg, "vocabulary %d, bos %d, eos %d; the GGUF's %d, %d, %d", llava_tokenizer_vocab_size(t), llava_tokenizer_bos(t),
                 llava_tokenizer_eos(t), V, llava_tokenizer_bos(g), llava_tokenizer_eos(g)), ok = 0;
    /* (these vocabularies have "<image>" already: adding it again is refused) */
    if (ok && (llava__tok_files_from_gguf(fx(file), dir2, V) == LLAVA_OK || !strstr(llava_last_error(), "already")))
        snprintf(g_msg, sizeof g_msg, "\"<image>\" added to a vocabulary that has it: %s", llava_last_error()), ok = 0;
    llava_tokenizer_free(t);
    llava_tokenizer_free(g);
    return ok;
}

/* the SmolLM2-style tokenizer.json files (Digits + ByteLevel) through the tokenizer.json loader */
static int t_json(const void *arg) {
    const char *name = (const char *)arg;
    char p[600];
    snprintf(p, sizeof p, "%s/%s", g_fix, name);
    LlavaTokenizer *t = llava_tokenizer_load(p);
    CHECK(t, "load %s: %s", p, llava_last_error());
    snprintf(p, sizeof p, "%s/%s/expected.jsonl", g_fix, name);
    int ok = compare_expected(t, p, 1);
    llava_tokenizer_free(t);
    return ok;
}

/* Digits on its own: each listed string in both tokenizers (individual digits, runs of digits) */
static int t_digits(const void *arg) {
    (void)arg;
    const char *names[2] = {"smollm", "digits_runs"};
    LlavaTokenizer *t[2];
    int k, ok = 1;
    for (k = 0; k < 2; k++) {
        t[k] = llava_tokenizer_load(fx(names[k]));
        if (!t[k]) {
            snprintf(g_msg, sizeof g_msg, "load %s: %s", names[k], llava_last_error());
            if (k) llava_tokenizer_free(t[0]);
            return 0;
        }
    }
    const LlavaJsonNode *cases = llava_json_get(&g_man, &g_man.nodes[0], "digits_cases"), *c;
    int n_cases = 0;
    for (c = llava_json_first(&g_man, cases); c && ok; c = llava_json_next(&g_man, c), n_cases++) {
        const char *text = llava__tok_jstr(&g_man, c, "text");
        for (k = 0; k < 2 && ok; k++) {
            int exp[256], got[256], ne = 0, ng;
            const LlavaJsonNode *x;
            for (x = llava_json_first(&g_man, llava_json_get(&g_man, c, names[k])); x && ne < 256; x = llava_json_next(&g_man, x)) exp[ne++] = (int)x->num;
            ng = llava_tokenize(t[k], text, strlen(text), 0, got, 256);
            if (!same_ids(exp, ne, got, ng)) {
                char a[1024], b[1024];
                fmt_ids(a, sizeof a, exp, ne);
                fmt_ids(b, sizeof b, got, ng);
                snprintf(g_msg, sizeof g_msg, "%s \"%s\": [%s] but tokenizers says [%s]", names[k], text, b, a);
                ok = 0;
            }
        }
    }
    if (ok && n_cases < 10) snprintf(g_msg, sizeof g_msg, "only %d digits cases in the manifest", n_cases), ok = 0;
    /* the two differ where they should: "12" is two pieces with individual digits */
    int a[8], b[8];
    if (ok && !(llava_tokenize(t[0], "12", 2, 0, a, 8) == 2 && llava_tokenize(t[1], "12", 2, 0, b, 8) == 1))
        snprintf(g_msg, sizeof g_msg, "\"12\": individual digits give 2 tokens, runs 1"), ok = 0;
    llava_tokenizer_free(t[0]);
    llava_tokenizer_free(t[1]);
    return ok;
}

/* --- hostile metadata: GGUF files written here --------------------------------------------------- */
enum { GT_U8 = 0, GT_U32 = 4, GT_I32 = 5, GT_BOOL = 7, GT_STR = 8, GT_ARR = 9, GT_U64 = 10 };
typedef struct {
    LlavaBuf b;
    int n_kv;
} gw;
static void gw_u32(LlavaBuf *b, uint32_t v) { llava_buf_put(b, (const char *)&v, 4); } /* little-endian hosts only, like the reader */
static void gw_u64(LlavaBuf *b, uint64_t v) { llava_buf_put(b, (const char *)&v, 8); }
static void gw_s(LlavaBuf *b, const char *s) {
    gw_u64(b, strlen(s));
    llava_buf_put(b, s, strlen(s));
}
static void kv_str(gw *w, const char *k, const char *v) {
    gw_s(&w->b, k);
    gw_u32(&w->b, GT_STR);
    gw_s(&w->b, v);
    w->n_kv++;
}
static void kv_u32(gw *w, const char *k, uint32_t v) {
    gw_s(&w->b, k);
    gw_u32(&w->b, GT_U32);
    gw_u32(&w->b, v);
    w->n_kv++;
}
static void kv_bool(gw *w, const char *k, int v) {
    char c = (char)(v != 0);
    gw_s(&w->b, k);
    gw_u32(&w->b, GT_BOOL);
    llava_buf_put(&w->b, &c, 1);
    w->n_kv++;
}
static void kv_strs(gw *w, const char *k, const char *const *v, int n) {
    int i;
    gw_s(&w->b, k);
    gw_u32(&w->b, GT_ARR);
    gw_u32(&w->b, GT_STR);
    gw_u64(&w->b, (uint64_t)n);
    for (i = 0; i < n; i++) gw_s(&w->b, v[i]);
    w->n_kv++;
}
static void kv_i32s(gw *w, const char *k, const int *v, int n) {
    int i;
    gw_s(&w->b, k);
    gw_u32(&w->b, GT_ARR);
    gw_u32(&w->b, GT_I32);
    gw_u64(&w->b, (uint64_t)n);
    for (i = 0; i < n; i++) gw_u32(&w->b, (uint32_t)v[i]);
    w->n_kv++;
}
static int gw_write(gw *w, const char *path, size_t cut) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    LlavaBuf h;
    memset(&h, 0, sizeof h);
    llava_buf_put(&h, "GGUF", 4);
    gw_u32(&h, 3);
    gw_u64(&h, 0);
    gw_u64(&h, (uint64_t)w->n_kv);
    llava_buf_put(&h, w->b.p, w->b.n);
    size_t n = cut && cut < h.n ? cut : h.n;
    int rc = fwrite(h.p, 1, n, f) == n ? 0 : -1;
    fclose(f);
    free(h.p);
    free(w->b.p);
    memset(w, 0, sizeof *w);
    return rc;
}

/* a small valid vocabulary: the 256 ByteLevel characters (id = byte), "ab", "abc", then <|end|>
   (control) and <tool> (user-defined); merges "a b", "ab c" */
#define V_N 260
static char g_vs[V_N][8];
static const char *g_v[V_N];
static int g_vt[V_N];
static void small_vocab(void) {
    int i;
    for (i = 0; i < 256; i++) {
        int n = llava__tok_utf8_put(g_vs[i], llava__tok_bl_char(i));
        g_vs[i][n] = 0;
        g_v[i] = g_vs[i];
        g_vt[i] = 1;
    }
    g_v[256] = "ab";
    g_v[257] = "abc";
    g_v[258] = "<|end|>";
    g_v[259] = "<tool>";
    g_vt[256] = g_vt[257] = 1;
    g_vt[258] = 3;
    g_vt[259] = 4;
}
static const char *g_merges[2] = {"a b", "ab c"};


/* writes the small vocabulary with one thing changed (what) and checks the load fails naming expect */
enum { H_NONE, H_NO_MODEL, H_LLAMA_MODEL, H_BERT_MODEL, H_NO_TOKENS, H_TOKENS_I32, H_TYPES_SHORT, H_TYPE_BAD, H_MERGE_UNKNOWN,
       H_MERGE_RESULT, H_MERGE_NOSPACE, H_BOS_RANGE, H_ADD_BOS_NO_BOS, H_PRE_UNKNOWN, H_PRE_DEEPSEEK, H_BAD_UTF8, H_DUP_TOKEN,
       H_EMPTY_TOKEN, H_TRUNCATED, H_MODEL_NOT_STR, H_LLAMA3_DEFAULTS, H_UNUSED, H_PAD_MINUS1, H_BOS_UNUSED };
static int write_variant(const char *path, int what) {
    gw w;
    memset(&w, 0, sizeof w);
    const char *v[V_N];
    int ty[V_N], nt = V_N, i;
    for (i = 0; i < V_N; i++) {
        v[i] = g_v[i];
        ty[i] = g_vt[i];
    }
    if (what == H_TYPE_BAD) ty[100] = 9;
    if (what == H_BAD_UTF8) v[257] = "a\xff";
    if (what == H_DUP_TOKEN) v[257] = "ab";
    if (what == H_EMPTY_TOKEN) v[257] = "";
    if (what == H_UNUSED || what == H_BOS_UNUSED) {
        v[257] = "[PAD257]"; /* the converter's filler for an id without a token */
        ty[257] = 5;
    }
    kv_str(&w, "general.architecture", "llama");
    if (what == H_MODEL_NOT_STR) kv_u32(&w, "tokenizer.ggml.model", 2);
    else if (what != H_NO_MODEL) kv_str(&w, "tokenizer.ggml.model", what == H_LLAMA_MODEL ? "llama" : what == H_BERT_MODEL ? "bert" : "gpt2");
    kv_str(&w, "tokenizer.ggml.pre", what == H_PRE_UNKNOWN    ? "no-such-pre"
                                     : what == H_PRE_DEEPSEEK   ? "deepseek-llm"
                                     : what == H_LLAMA3_DEFAULTS ? "llama-bpe"
                                                                 : "gpt-2");
    if (what == H_TOKENS_I32) kv_i32s(&w, "tokenizer.ggml.tokens", ty, nt);
    else if (what != H_NO_TOKENS) kv_strs(&w, "tokenizer.ggml.tokens", v, nt);
    kv_i32s(&w, "tokenizer.ggml.token_type", ty, what == H_TYPES_SHORT ? nt - 1 : nt);
    const char *m[2] = {g_merges[0], g_merges[1]};
    if (what == H_MERGE_UNKNOWN) m[1] = "ab zz";
    if (what == H_MERGE_RESULT) m[1] = "c ab";
    if (what == H_MERGE_NOSPACE) m[1] = "abc";
    kv_strs(&w, "tokenizer.ggml.merges", m, what == H_UNUSED || what == H_BOS_UNUSED ? 1 : 2);
    if (what != H_ADD_BOS_NO_BOS) kv_u32(&w, "tokenizer.ggml.bos_token_id", what == H_BOS_RANGE ? 5000 : what == H_BOS_UNUSED ? 257 : 258);
    kv_u32(&w, "tokenizer.ggml.eos_token_id", 258);
    if (what == H_PAD_MINUS1) kv_u32(&w, "tokenizer.ggml.padding_token_id", 0xFFFFFFFFu);
    if (what != H_LLAMA3_DEFAULTS) kv_bool(&w, "tokenizer.ggml.add_bos_token", what == H_ADD_BOS_NO_BOS || what == H_BOS_UNUSED);
    return gw_write(&w, path, what == H_TRUNCATED ? 3000 : 0);
}

/* the small vocabulary (control and user-defined tokens; GPT-2's and llama-bpe's pre-tokenizers) written
   out: every corpus text gives the GGUF tokenizer's ids, with and without special tokens; with "<image>"
   added it is the next id, special, split out of the text */
static int t_small_written(const void *arg) {
    const int what = *(const int *)arg;
    char path[600], dir[600], dir2[600];
    int ok = 1, i, a[MAXIDS], b[MAXIDS], k;
    snprintf(path, sizeof path, "%s/small-written-%d.gguf", g_tmp, what);
    snprintf(dir, sizeof dir, "%s/small-written-%d", g_tmp, what);
    snprintf(dir2, sizeof dir2, "%s/small-written-img-%d", g_tmp, what);
    CHECK(write_variant(path, what) == 0 && mkdir(dir, 0755) == 0 && mkdir(dir2, 0755) == 0, "writing %s", path);
    if (what == H_BOS_UNUSED || what == H_UNUSED) {
        /* refused, the GGUF itself loading: a bos id without a string (tokenizer.json cannot name it); an
           UNUSED filler before the last token (tokenizer.json's ids would have a gap, which our loader, like
           the reader of any dense vocabulary, refuses) */
        const char *why = what == H_BOS_UNUSED ? "bos token, id 257, has no string" : "token 257 is UNUSED (a filler without a string) before token 259";
        LlavaTokenizer *g = llava_tokenizer_load(path);
        CHECK(g, "the GGUF: %s", llava_last_error());
        llava_tokenizer_free(g);
        CHECK(llava__tok_files_from_gguf(path, dir, -1) == LLAVA_ERR && strstr(llava_last_error(), why), "written: %s", llava_last_error());
        return 1;
    }
    CHECK(llava__tok_files_from_gguf(path, dir, -1) == LLAVA_OK && llava__tok_files_from_gguf(path, dir2, V_N) == LLAVA_OK, "write: %s",
          llava_last_error());
    LlavaTokenizer *g = llava_tokenizer_load(path), *t = llava_tokenizer_load(dir), *ti = llava_tokenizer_load(dir2);
    CHECK(g && t && ti, "read back: %s", llava_last_error());
    for (i = 0; ok && i < g_ntexts; i++)
        for (k = 0; ok && k < 2; k++) {
            const int na = llava_tokenize(g, g_text[i], g_text_len[i], k, a, MAXIDS), nb = llava_tokenize(t, g_text[i], g_text_len[i], k, b, MAXIDS);
            if (!same_ids(a, na, b, nb)) snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\"%s: %d ids from the written files, %d from the GGUF", i, g_text[i],
                                                  k ? "" : " without special tokens", nb, na), ok = 0;
        }
    const int n = llava_tokenize(ti, "ab<image>abc", 12, 0, a, MAXIDS);
    if (ok && (llava_token_id(ti, "<image>") != V_N || !llava_token_is_special(ti, V_N) || n != 3 || a[1] != V_N ||
               llava_tokenizer_vocab_size(ti) != V_N + 1))
        snprintf(g_msg, sizeof g_msg, "\"<image>\": id %d (want %d), \"ab<image>abc\" gives %d ids", llava_token_id(ti, "<image>"), V_N, n), ok = 0;
    llava_tokenizer_free(g), llava_tokenizer_free(t), llava_tokenizer_free(ti);
    return ok;
}


static int t_small(const void *arg) {
    (void)arg;
    CHECK(write_variant(tmp("small.gguf"), H_NONE) == 0, "write");
    LlavaTokenizer *t = llava_tokenizer_load(tmp("small.gguf"));
    CHECK(t, "the valid file: %s", llava_last_error());
    int ids[32], n, ok = 1;
    n = llava_tokenize(t, "abc<|end|>ab<tool>x", 19, 1, ids, 32);
    /* add_bos false: abc, <|end|>, ab, <tool>, x */
    if (!(n == 5 && ids[0] == 257 && ids[1] == 258 && ids[2] == 256 && ids[3] == 259 && ids[4] == 'x'))
        snprintf(g_msg, sizeof g_msg, "ids %d: %d %d %d %d %d", n, ids[0], ids[1], ids[2], ids[3], ids[4]), ok = 0;
    if (ok && !(llava_tokenizer_bos(t) == 258 && llava_tokenizer_eos(t) == 258 && llava_tokenizer_vocab_size(t) == V_N))
        snprintf(g_msg, sizeof g_msg, "bos %d eos %d vocab %d", llava_tokenizer_bos(t), llava_tokenizer_eos(t), llava_tokenizer_vocab_size(t)), ok = 0;
    if (ok && !(llava_token_is_special(t, 258) && !llava_token_is_special(t, 259) && !llava_token_is_special(t, 256)))
        snprintf(g_msg, sizeof g_msg, "control tokens are special, user-defined ones are not"), ok = 0;
    char *d = ok ? decode(t, ids, n, 1) : NULL;
    if (ok && (!d || strcmp(d, "abcab<tool>x"))) snprintf(g_msg, sizeof g_msg, "decode(skip_special) \"%s\"", d ? d : "(error)"), ok = 0;
    free(d);
    llava_tokenizer_free(t);
    return ok;
}

/* what llama.cpp's names and fillers mean: llama-bpe adds BOS unless the file says otherwise (and
   ignores merges for a piece that is a token); UNUSED fillers are no tokens; -1 as u32 is no id */
static int t_small_defaults(const void *arg) {
    (void)arg;
    int ids[16], n;
    CHECK(write_variant(tmp("llama3.gguf"), H_LLAMA3_DEFAULTS) == 0, "write");
    LlavaTokenizer *t = llava_tokenizer_load(tmp("llama3.gguf"));
    CHECK(t, "llama-bpe: %s", llava_last_error());
    n = llava_tokenize(t, "ab", 2, 1, ids, 16);
    llava_tokenizer_free(t);
    CHECK(n == 2 && ids[0] == 258 && ids[1] == 256, "llama-bpe without add_bos_token: %d ids (%d %d), expected BOS then ab", n, ids[0], ids[1]);
    CHECK(write_variant(tmp("unused.gguf"), H_UNUSED) == 0, "write");
    t = llava_tokenizer_load(tmp("unused.gguf"));
    CHECK(t, "UNUSED filler: %s", llava_last_error());
    n = llava_tokenize(t, "abc[PAD257]", 11, 0, ids, 16);
    const char *s257 = llava_token_str(t, 257);
    int vs = llava_tokenizer_vocab_size(t);
    llava_tokenizer_free(t);
    /* ab c [ P A D 2 5 7 ]: the filler's spelling is plain text */
    CHECK(n == 10 && ids[0] == 256 && ids[1] == 'c' && ids[2] == '[' && ids[9] == ']', "UNUSED filler: %d ids (%d %d %d)", n, ids[0], ids[1], ids[2]);
    CHECK(!s257 && vs == V_N, "the filler has no string (%s), vocabulary %d", s257 ? s257 : "NULL", vs);
    CHECK(write_variant(tmp("pad.gguf"), H_PAD_MINUS1) == 0, "write");
    t = llava_tokenizer_load(tmp("pad.gguf"));
    CHECK(t, "padding id 0xFFFFFFFF: %s", llava_last_error());
    int pad = llava_tokenizer_pad(t);
    llava_tokenizer_free(t);
    CHECK(pad == -1, "padding id 0xFFFFFFFF reads as %d, expected none (-1)", pad);
    return 1;
}

static int fails(int what, const char *expect1, const char *expect2) {
    char name[64];
    snprintf(name, sizeof name, "hostile%d.gguf", what);
    if (write_variant(tmp(name), what)) {
        snprintf(g_msg, sizeof g_msg, "write %s", name);
        return 0;
    }
    LlavaTokenizer *t = llava_tokenizer_load(tmp(name));
    if (t) {
        llava_tokenizer_free(t);
        snprintf(g_msg, sizeof g_msg, "variant %d loaded; expected an error with '%s'", what, expect1);
        return 0;
    }
    const char *e = llava_last_error();
    if (!strstr(e, expect1) || (expect2 && !strstr(e, expect2))) {
        snprintf(g_msg, sizeof g_msg, "variant %d: error \"%s\" does not say '%s'%s%s", what, e, expect1, expect2 ? " / " : "", expect2 ? expect2 : "");
        return 0;
    }
    return 1;
}

static int t_hostile(const void *arg) {
    (void)arg;
    if (!fails(H_NO_MODEL, "tokenizer.ggml.model", NULL)) return 0;
    if (!fails(H_MODEL_NOT_STR, "tokenizer.ggml.model", NULL)) return 0;
    if (!fails(H_BERT_MODEL, "'bert'", NULL)) return 0;
    if (!fails(H_NO_TOKENS, "tokenizer.ggml.tokens", NULL)) return 0;
    if (!fails(H_TOKENS_I32, "tokenizer.ggml.tokens", NULL)) return 0;
    if (!fails(H_TYPES_SHORT, "token_type", "259")) return 0;
    if (!fails(H_TYPE_BAD, "token 100 has type 9", NULL)) return 0;
    if (!fails(H_MERGE_UNKNOWN, "merge 1", "not in the vocabulary: 'zz'")) return 0;
    if (!fails(H_MERGE_RESULT, "merge 1", "not in the vocabulary: 'cab'")) return 0;
    if (!fails(H_MERGE_NOSPACE, "merge 1 'abc'", "one space")) return 0;
    if (!fails(H_BOS_RANGE, "bos token id 5000", "outside")) return 0;
    if (!fails(H_ADD_BOS_NO_BOS, "add_bos_token", "bos_token_id")) return 0;
    if (!fails(H_PRE_UNKNOWN, "'no-such-pre'", NULL)) return 0;
    if (!fails(H_PRE_DEEPSEEK, "'deepseek-llm'", NULL)) return 0;
    if (!fails(H_BAD_UTF8, "token 257", "UTF-8")) return 0;
    if (!fails(H_DUP_TOKEN, "token 257 'ab' repeats token 256", NULL)) return 0;
    if (!fails(H_EMPTY_TOKEN, "token 257 is empty", NULL)) return 0;
    if (!fails(H_TRUNCATED, "hostile", NULL)) return 0; /* cut short: the reader's error, naming the file */
    /* more control tokens than the added-token matcher is given (a bound, so a hostile file stays fast) */
    {
        enum { NC = 256 + (1 << 15) + 1 };
        static char names[NC - 256][16];
        static const char *v[NC];
        static int ty[NC];
        int i;
        for (i = 0; i < NC; i++) {
            if (i < 256) v[i] = g_v[i];
            else {
                snprintf(names[i - 256], sizeof names[0], "<c%d>", i);
                v[i] = names[i - 256];
            }
            ty[i] = i < 256 ? 1 : 3;
        }
        gw w;
        memset(&w, 0, sizeof w);
        kv_str(&w, "tokenizer.ggml.model", "gpt2");
        kv_strs(&w, "tokenizer.ggml.tokens", v, NC);
        kv_i32s(&w, "tokenizer.ggml.token_type", ty, NC);
        kv_strs(&w, "tokenizer.ggml.merges", v, 0);
        CHECK(gw_write(&w, tmp("many.gguf"), 0) == 0, "write many.gguf");
        LlavaTokenizer *t = llava_tokenizer_load(tmp("many.gguf"));
        llava_tokenizer_free(t);
        CHECK(!t && strstr(llava_last_error(), "32769 control and user-defined tokens"), "32769 control tokens: %s", t ? "loaded" : llava_last_error());
    }
    /* fuzz: random byte edits of a fixture never crash (under ASan: never read out of bounds) */
    size_t n;
    char *src = read_all(fx("smollm.gguf"), &n);
    CHECK(src && n > 64, "read smollm.gguf");
    uint64_t rng = 777;
    int it;
    for (it = 0; it < 80; it++) {
        char *cp = (char *)malloc(n);
        memcpy(cp, src, n);
        int e;
        for (e = 0; e < 3; e++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 33) % (it < 40 ? 4096 : n); /* half in the header and first keys */
            cp[at] = (char)(rng >> 24);
        }
        FILE *f = fopen(tmp("fuzz.gguf"), "wb");
        size_t len = it % 7 == 6 ? (size_t)(rng >> 40) % n : n; /* some cut short */
        fwrite(cp, 1, len, f);
        fclose(f);
        free(cp);
        LlavaTokenizer *ft = llava_tokenizer_load(tmp("fuzz.gguf"));
        if (ft) {
            int buf[64];
            llava_tokenize(ft, "hello world 123", 15, 1, buf, 64);
            llava_tokenizer_free(ft);
        }
    }
    free(src);
    return 1;
}

/* --- GGUF "llama" (SentencePiece) vocabularies, against llama.cpp's rules --------------------------- */
/* tests/fixtures/spmgguf (tools/py/make_spmgguf_fixtures.py): each line a text with llama.cpp's ids with
   and without add_special ("ids", "plain"), on every other line its detokenize of "ids" with and without
   the special tokens ("dec", "dec_special"), or "error" where llama.cpp cannot tokenize the text (a
   character with neither a token nor a byte token) */
static int t_spm(const void *arg) {
    const char *name = (const char *)arg;
    static int exp[4096], got[4096];
    char rel[128], a[1024], b[1024];
    snprintf(rel, sizeof rel, "../spmgguf/%s.gguf", name);
    LlavaTokenizer *t = llava_tokenizer_load(fx(rel));
    CHECK(t, "%s: %s", rel, llava_last_error());
    snprintf(rel, sizeof rel, "../spmgguf/%s.expected.jsonl", name);
    size_t n = 0;
    char *js = read_all(fx(rel), &n), *p = js;
    int ok = js != NULL, lines = 0, errs = 0, k;
    if (!js) snprintf(g_msg, sizeof g_msg, "cannot read %s", rel);
    while (ok && p && *p) {
        char *e = strchr(p, '\n');
        size_t ln = e ? (size_t)(e - p) : strlen(p);
        LlavaJson j;
        if (llava_json_parse(&j, p, ln, rel) != LLAVA_OK) {
            snprintf(g_msg, sizeof g_msg, "%s line %d: %s", rel, lines + 1, llava_last_error());
            ok = 0;
            break;
        }
        const LlavaJsonNode *tx = llava_json_get(&j, &j.nodes[0], "text"), *er = llava_json_get(&j, &j.nodes[0], "error");
        const char *text = tx && tx->type == LLAVA_JSON_STR ? tx->str : NULL;
        if (!text) snprintf(g_msg, sizeof g_msg, "%s line %d has no text", rel, lines + 1), ok = 0;
        else if (er) { /* llama.cpp fails: so does llava_tokenize, naming the missing byte token */
            int ng = llava_tokenize(t, text, strlen(text), 1, got, 4096);
            if (ng >= 0 || !strstr(llava_last_error(), "byte token"))
                snprintf(g_msg, sizeof g_msg, "%s \"%s\": %d ids / \"%s\", expected an error (%s)", name, text, ng, ng >= 0 ? "" : llava_last_error(), er->str),
                    ok = 0;
            errs++;
        } else {
            for (k = 0; k < 2 && ok; k++) {
                const LlavaJsonNode *w = llava_json_get(&j, &j.nodes[0], k ? "plain" : "ids");
                int ne = w && w->type == LLAVA_JSON_STR ? parse_ids(w->str, exp, 4096) : -1;
                int ng = llava_tokenize(t, text, strlen(text), !k, got, 4096);
                if (ne < 0 || !same_ids(exp, ne, got, ng)) {
                    fmt_ids(a, sizeof a, exp, ne < 0 ? 0 : ne);
                    fmt_ids(b, sizeof b, got, ng < 0 ? 0 : ng);
                    snprintf(g_msg, sizeof g_msg, "%s \"%s\" (add_special %d): [%s]%s but llama.cpp gives [%s]", name, text, !k, b,
                             ng < 0 ? llava_last_error() : "", a);
                    ok = 0;
                }
            }
            /* llama.cpp's detokenize (where the line has it), whole and streamed id by id: of the ids without
               add_special skipping special tokens, of those with add_special keeping them */
            for (k = 0; k < 2 && ok; k++) {
                const LlavaJsonNode *w = llava_json_get(&j, &j.nodes[0], k ? "dec_special" : "dec");
                int ng = llava_tokenize(t, text, strlen(text), k, got, 4096);
                if (!w || ng < 0) continue;
                char *d = decode(t, got, ng, !k);
                LlavaBuf st;
                LlavaDecoder dd;
                size_t dl;
                int q;
                memset(&st, 0, sizeof st);
                llava_decoder_init(&dd, t, !k);
                for (q = 0; q <= ng; q++) {
                    const char *piece = q < ng ? llava_decoder_push(&dd, got[q], &dl) : llava_decoder_flush(&dd, &dl);
                    if (piece) llava_buf_put(&st, piece, dl);
                }
                llava_decoder_free(&dd);
                if (!d || strcmp(d, w->str) || !st.p || strcmp(st.p, w->str)) {
                    snprintf(g_msg, sizeof g_msg, "%s \"%s\" decode(skip_special %d) \"%s\", streamed \"%s\", but llama.cpp gives \"%s\"", name, text, !k,
                             d ? d : llava_last_error(), st.p ? st.p : "(null)", w->str);
                    ok = 0;
                }
                free(d);
                free(st.p);
            }
        }
        llava_json_free(&j);
        lines++;
        p = e ? e + 1 : NULL;
    }
    free(js);
    llava_tokenizer_free(t);
    if (ok && lines < 150) snprintf(g_msg, sizeof g_msg, "%s: only %d texts", rel, lines), ok = 0;
    if (ok && !strcmp(name, "spm_nobf") && errs < 10) snprintf(g_msg, sizeof g_msg, "%s: only %d texts llama.cpp cannot tokenize", rel, errs), ok = 0;
    return ok;
}

/* a small SentencePiece vocabulary (tokenizer.ggml.model "llama"): <unk> <s> </s>, the 256 byte tokens,
   then "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab", "<x>" (user-defined), with one thing changed */
enum { S_NONE, S_SCORES_SHORT, S_SCORES_STR, S_TYPES_SHORT, S_TYPE_BAD, S_TYPE_ZERO, S_BOS_RANGE, S_UNK_RANGE, S_DUP, S_NUL,
       S_EMPTY, S_ADD_BOS_NONE, S_ADD_EOS_NONE, S_NO_TOKENS, S_SCORES_I32, S_NO_SPACE };
#define S_N (3 + 256 + 6)
static int write_spm(const char *path, int what) {
    static char bytes[256][8];
    const char *v[S_N];
    int ty[S_N], i, nt = what == S_ADD_BOS_NONE ? 1 : S_N;
    float sc[S_N];
    gw w;
    memset(&w, 0, sizeof w);
    v[0] = "<unk>", v[1] = "<s>", v[2] = "</s>";
    ty[0] = 2, ty[1] = ty[2] = 3;
    for (i = 0; i < 256; i++) {
        snprintf(bytes[i], sizeof bytes[i], "<0x%02X>", i);
        v[3 + i] = bytes[i];
        ty[3 + i] = 6;
    }
    v[259] = "\xe2\x96\x81", v[260] = "a", v[261] = "b", v[262] = "\xe2\x96\x81" "a", v[263] = "ab", v[264] = "<x>";
    for (i = 0; i < S_N; i++) {
        sc[i] = i < 259 ? 0.0f : -(float)(i - 258);
        if (i >= 259) ty[i] = 1;
    }
    ty[264] = 4;
    if (what == S_TYPE_BAD) ty[261] = 7;
    if (what == S_TYPE_ZERO) ty[261] = 0;
    if (what == S_DUP) v[263] = "a";
    if (what == S_EMPTY) v[263] = "";
    kv_str(&w, "general.architecture", "llama");
    kv_str(&w, "tokenizer.ggml.model", "llama");
    if (what == S_NUL) { /* token 263 is "a\0b": written by hand */
        gw_s(&w.b, "tokenizer.ggml.tokens");
        gw_u32(&w.b, GT_ARR);
        gw_u32(&w.b, GT_STR);
        gw_u64(&w.b, (uint64_t)nt);
        for (i = 0; i < nt; i++) {
            if (i == 263) {
                gw_u64(&w.b, 3);
                llava_buf_put(&w.b, "a\0b", 3);
            } else {
                gw_s(&w.b, v[i]);
            }
        }
        w.n_kv++;
    } else if (what != S_NO_TOKENS) {
        kv_strs(&w, "tokenizer.ggml.tokens", v, nt);
    }
    if (what == S_SCORES_STR) kv_strs(&w, "tokenizer.ggml.scores", v, nt);
    else if (what == S_SCORES_I32) {
        int is[S_N];
        for (i = 0; i < S_N; i++) is[i] = (int)sc[i];
        kv_i32s(&w, "tokenizer.ggml.scores", is, nt);
    } else {
        gw_s(&w.b, "tokenizer.ggml.scores");
        gw_u32(&w.b, GT_ARR);
        gw_u32(&w.b, 6); /* float32 */
        gw_u64(&w.b, (uint64_t)(what == S_SCORES_SHORT ? nt - 1 : nt));
        for (i = 0; i < (what == S_SCORES_SHORT ? nt - 1 : nt); i++) llava_buf_put(&w.b, (const char *)&sc[i], 4);
        w.n_kv++;
    }
    kv_i32s(&w, "tokenizer.ggml.token_type", ty, what == S_TYPES_SHORT ? nt - 10 : nt);
    if (what == S_BOS_RANGE) kv_u32(&w, "tokenizer.ggml.bos_token_id", 5000);
    if (what == S_UNK_RANGE) kv_u32(&w, "tokenizer.ggml.unknown_token_id", S_N);
    if (what == S_ADD_EOS_NONE) {
        kv_bool(&w, "tokenizer.ggml.add_eos_token", 1);
        kv_u32(&w, "tokenizer.ggml.eos_token_id", 0xFFFFFFFFu); /* -1: llama.cpp keeps its default, 2 */
    }
    if (what == S_NO_SPACE) kv_bool(&w, "tokenizer.ggml.add_space_prefix", 0);
    return gw_write(&w, path, 0);
}
static int spm_fails(int what, const char *expect1, const char *expect2) {
    char name[64];
    snprintf(name, sizeof name, "spm%d.gguf", what);
    CHECK(write_spm(tmp(name), what) == 0, "write %s", name);
    LlavaTokenizer *t = llava_tokenizer_load(tmp(name));
    llava_tokenizer_free(t);
    CHECK(!t, "variant %d loaded; expected an error with '%s'", what, expect1);
    const char *e = llava_last_error();
    CHECK(strstr(e, expect1) && (!expect2 || strstr(e, expect2)), "variant %d: error \"%s\" does not say '%s'%s%s", what, e, expect1,
          expect2 ? " / " : "", expect2 ? expect2 : "");
    return 1;
}
static int spm_ids(int what, const char *text, int add, const char *want) {
    int ids[64], exp[64], n, ne = parse_ids(want, exp, 64);
    char name[64], a[512], b[512];
    snprintf(name, sizeof name, "spm%d.gguf", what);
    CHECK(write_spm(tmp(name), what) == 0, "write %s", name);
    LlavaTokenizer *t = llava_tokenizer_load(tmp(name));
    CHECK(t, "variant %d: %s", what, llava_last_error());
    n = llava_tokenize(t, text, strlen(text), add, ids, 64);
    llava_tokenizer_free(t);
    fmt_ids(a, sizeof a, ids, n < 0 ? 0 : n);
    fmt_ids(b, sizeof b, exp, ne);
    CHECK(same_ids(ids, n, exp, ne), "variant %d \"%s\": [%s], expected [%s]", what, text, a, b);
    return 1;
}

static int t_spm_small(const void *arg) {
    (void)arg;
    /* " ab a" -> "\xe2\x96\x81" "a" (score -4) before "ab" (-5): [▁a] b [▁a]; bos added by default */
    if (!spm_ids(S_NONE, "ab a", 1, "1 262 261 262")) return 0;
    /* a user-defined token splits the text; the text after it gets the "▁" prefix too */
    if (!spm_ids(S_NONE, "a<x>a", 0, "262 264 262")) return 0;
    /* "<s>" (control) in the text is the token; a character with no token: its byte tokens */
    if (!spm_ids(S_NONE, "<s>c", 0, "1 259 102")) return 0;
    /* add_space_prefix false; int32 scores work the same */
    if (!spm_ids(S_NO_SPACE, "a a", 0, "260 262")) return 0;
    if (!spm_ids(S_SCORES_I32, "ab a", 0, "262 261 262")) return 0;
    /* an empty token is llama.cpp's "[EMPTY_<id>]"; eos -1 keeps the default (2), which add_eos_token adds */
    CHECK(write_spm(tmp("spm_empty.gguf"), S_EMPTY) == 0, "write");
    LlavaTokenizer *t = llava_tokenizer_load(tmp("spm_empty.gguf"));
    CHECK(t, "empty token: %s", llava_last_error());
    const char *s = llava_token_str(t, 263);
    int ok = s && !strcmp(s, "[EMPTY_263]");
    llava_tokenizer_free(t);
    CHECK(ok, "empty token 263 reads as '%s'", s ? s : "(null)");
    if (!spm_ids(S_ADD_EOS_NONE, "a", 1, "1 262 2")) return 0;
    return 1;
}

static int t_spm_hostile(const void *arg) {
    (void)arg;
    if (!spm_fails(S_NO_TOKENS, "no tokenizer.ggml.tokens", NULL)) return 0;
    if (!spm_fails(S_SCORES_SHORT, "tokenizer.ggml.scores has 264 entries for 265 tokens", NULL)) return 0;
    if (!spm_fails(S_SCORES_STR, "tokenizer.ggml.scores is not an array of float32 or int32", NULL)) return 0;
    if (!spm_fails(S_TYPES_SHORT, "tokenizer.ggml.token_type has 255 entries for 265 tokens", NULL)) return 0;
    if (!spm_fails(S_TYPE_BAD, "token 261 'b' has type 7", NULL)) return 0;
    if (!spm_fails(S_TYPE_ZERO, "token 261 'b' has type 0", NULL)) return 0;
    if (!spm_fails(S_BOS_RANGE, "bos_token_id = 5000 is outside the vocabulary of 265", NULL)) return 0;
    if (!spm_fails(S_UNK_RANGE, "unknown_token_id = 265 is outside", NULL)) return 0;
    if (!spm_fails(S_DUP, "'a'", "already defined")) return 0;
    if (!spm_fails(S_NUL, "token 263 holds a NUL byte", NULL)) return 0;
    if (!spm_fails(S_ADD_BOS_NONE, "add_bos_token is true, but there is no bos token", NULL)) return 0;
    /* fuzz: random byte edits of a fixture never crash (under ASan: never read out of bounds) */
    size_t n;
    char *src = read_all(fx("../spmgguf/spm_bf.gguf"), &n);
    CHECK(src && n > 64, "read spm_bf.gguf");
    uint64_t rng = 4242;
    int it;
    for (it = 0; it < 80; it++) {
        char *cp = (char *)malloc(n);
        memcpy(cp, src, n);
        int e;
        for (e = 0; e < 3; e++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 33) % (it < 40 ? 4096 : n);
            cp[at] = (char)(rng >> 24);
        }
        FILE *f = fopen(tmp("spmfuzz.gguf"), "wb");
        size_t len = it % 7 == 6 ? (size_t)(rng >> 40) % n : n;
        fwrite(cp, 1, len, f);
        fclose(f);
        free(cp);
        LlavaTokenizer *ft = llava_tokenizer_load(tmp("spmfuzz.gguf"));
        if (ft) {
            int buf[64];
            llava_tokenize(ft, "hello <image> world \xf0\x9f\x98\x80", 24, 1, buf, 64);
            llava_tokenizer_free(ft);
        }
    }
    free(src);
    return 1;
}

/* LLAVA_TEST_LLAMACPP_VOCABS=dir (llama.cpp's models/ directory): its SentencePiece vocabularies
   (ggml-vocab-llama-spm.gguf, ggml-vocab-phi-3.gguf) on its own test texts (.inp) give the ids of its
   .out files (test-tokenizer-0: add_special off) */
static int t_llamacpp_vocabs(const void *arg) {
    (void)arg;
    static const char *names[2] = {"llama-spm", "phi-3"};
    static int got[1 << 14];
    const char *dir = getenv("LLAVA_TEST_LLAMACPP_VOCABS");
    char path[1024], a[1024], b[1024];
    int k;
    if (!dir || !*dir) {
        snprintf(g_msg, sizeof g_msg, "set LLAVA_TEST_LLAMACPP_VOCABS=llama.cpp/models to check its SentencePiece vocabularies");
        return -1;
    }
    for (k = 0; k < 2; k++) {
        size_t ni = 0, no = 0;
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf.inp", dir, names[k]);
        char *inp = read_all(path, &ni);
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf.out", dir, names[k]);
        char *out = read_all(path, &no);
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, names[k]);
        LlavaTokenizer *t = inp && out ? llava_tokenizer_load(path) : NULL;
        int ok = t != NULL, cases = 0;
        if (!ok) snprintf(g_msg, sizeof g_msg, "%s: %s", path, inp && out ? llava_last_error() : "cannot read its .inp / .out");
        char *p = inp, *o = out;
        static const char sep[] = "\n__ggml_vocab_test__\n";
        while (ok && p && o) {
            char *e = strstr(p, sep), *oe = strchr(o, '\n');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (oe) *oe = 0;
            int exp[1 << 12], ne = parse_ids(o, exp, 1 << 12);
            int ng = llava_tokenize(t, p, len, 0, got, 1 << 14);
            if (!same_ids(exp, ne, got, ng)) {
                fmt_ids(a, sizeof a, exp, ne);
                fmt_ids(b, sizeof b, got, ng < 0 ? 0 : ng);
                snprintf(g_msg, sizeof g_msg, "%s case %d: [%s], llama.cpp's .out [%s]", names[k], cases, b, a);
                ok = 0;
            }
            cases++;
            p = e ? e + sizeof sep - 1 : NULL;
            o = oe ? oe + 1 : NULL;
        }
        llava_tokenizer_free(t);
        free(inp);
        free(out);
        if (!ok) return 0;
        CHECK(cases >= 20, "%s: only %d cases", names[k], cases);
    }
    return 1;
}

/* a real model's GGUF (LLAVA_TEST_GGUF), optionally against transformers' ids (LLAVA_TEST_GGUF_EXPECTED) */
static int t_real(const void *arg) {
    (void)arg;
    const char *path = getenv("LLAVA_TEST_GGUF"), *exp = getenv("LLAVA_TEST_GGUF_EXPECTED");
    if (!path || !path[0]) {
        snprintf(g_msg, sizeof g_msg, "set LLAVA_TEST_GGUF=model.gguf to load a real model's tokenizer");
        return -1;
    }
    LlavaTokenizer *t = llava_tokenizer_load(path);
    CHECK(t, "load %s: %s", path, llava_last_error());
    int ok = 1, ids[64];
    int n = llava_tokenize(t, "Hello world! 123", 16, 0, ids, 64);
    if (n <= 0) snprintf(g_msg, sizeof g_msg, "tokenize: %s", llava_last_error()), ok = 0;
    if (ok && exp && exp[0]) ok = compare_expected(t, exp, 0);
    else if (ok) printf("      (no LLAVA_TEST_GGUF_EXPECTED: loaded and encoded only)\n");
    llava_tokenizer_free(t);
    return ok;
}

int main(int argc, char **argv) {
    static const char usage[] =
        "usage: test_gguf_tokenizer [FIXTURES_DIR]\n"
        "Runs the GGUF tokenizer and Digits tests; prints one line per test and \"N passed, N failed\".\n"
        "  FIXTURES_DIR  the fixtures (default tests/fixtures/gguftok, from the repository root)\n"
        "  LLAVA_TEST_GGUF=model.gguf           also load a real model's tokenizer\n"
        "  LLAVA_TEST_GGUF_EXPECTED=ids.jsonl   and compare its ids (make_gguftok_fixtures.py --real)\n";
    int a;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (argv[a][0] == '-' || a > 1) {
            fprintf(stderr, "test_gguf_tokenizer: unexpected argument '%s' (see --help)\n", argv[a]);
            return 2;
        }
        g_fix = argv[a];
    }
    snprintf(g_tmp, sizeof g_tmp, "/tmp/llava-gguftok-test-XXXXXX");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot make a temporary directory\n");
        return 1;
    }
    small_vocab();
    char title[200];
    if (load_fixtures()) {
        printf("FAIL  fixtures: cannot read %s/manifest.json or its texts\n", g_fix);
        g_fail++;
    } else {
        static const char *json_names[] = {"smollm", "digits_runs"};
        static const char *gguf_names[] = {"bl_gpt2", "bl_llama3", "bl_qwen2", "smollm"};
        size_t i;
        run("Digits: individual digits and runs of digits split as tokenizers does", t_digits, NULL);
        for (i = 0; i < sizeof json_names / sizeof json_names[0]; i++) {
            snprintf(title, sizeof title, "%s/tokenizer.json (Digits + ByteLevel): %d texts, ids and decode identical to tokenizers", json_names[i], g_ntexts);
            run(title, t_json, json_names[i]);
        }
        for (i = 0; i < sizeof gguf_names / sizeof gguf_names[0]; i++) {
            snprintf(title, sizeof title, "%s.gguf: %d texts, ids and decode identical to tokenizers with its tokenizer.json", gguf_names[i], g_ntexts);
            run(title, t_gguf, gguf_names[i]);
        }
        for (i = 0; i < sizeof gguf_names / sizeof gguf_names[0]; i++) {
            snprintf(title, sizeof title, "%s.gguf written as tokenizer.json: %d texts identical to tokenizers; \"<image>\" not added twice", gguf_names[i], g_ntexts);
            run(title, t_gguf_written, gguf_names[i]);
        }
        {
            static const int variants[4] = {H_NONE, H_LLAMA3_DEFAULTS, H_BOS_UNUSED, H_UNUSED};
            static const char *const vnames[4] = {"gpt-2", "llama-bpe", "gpt-2 whose bos is an UNUSED filler (refused)",
                                                  "gpt-2 with an UNUSED filler before its last token (refused)"};
            for (i = 0; i < 4; i++) {
                snprintf(title, sizeof title, "the small %s vocabulary written as tokenizer.json: the GGUF's ids on %d texts; \"<image>\" added",
                         vnames[i], g_ntexts);
                run(title, t_small_written, &variants[i]);
            }
        }
    }
    run("a small GGUF vocabulary: merges, control and user-defined tokens, special ids", t_small, NULL);
    run("llama.cpp's defaults: llama-bpe adds BOS, UNUSED fillers, -1 ids", t_small_defaults, NULL);
    run("hostile GGUF metadata: clear errors; fuzzed files do not crash", t_hostile, NULL);
    {
        static const char *spm_names[] = {"spm_bf", "spm_nobf", "spm_unused", "spm_maps", "spm_nosp", "spm_phi3"};
        size_t i;
        for (i = 0; i < sizeof spm_names / sizeof spm_names[0]; i++) {
            snprintf(title, sizeof title, "%s.gguf (tokenizer.ggml.model llama): ids and decode identical to llama.cpp's", spm_names[i]);
            run(title, t_spm, spm_names[i]);
        }
    }
    run("a small SentencePiece GGUF: merges by score, split-out tokens, space prefix, byte fallback, defaults", t_spm_small, NULL);
    run("hostile SentencePiece GGUF metadata: clear errors; fuzzed files do not crash", t_spm_hostile, NULL);
    run("llama.cpp's SentencePiece vocabularies on its test texts (LLAVA_TEST_LLAMACPP_VOCABS)", t_llamacpp_vocabs, NULL);
    run("a real model's GGUF (LLAVA_TEST_GGUF)", t_real, NULL);
    llava_json_free(&g_texts);
    llava_json_free(&g_man);
    free(g_text);
    free(g_text_len);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    if (g_skip) printf("(%d skipped)\n", g_skip);
    return test_summary();
}
