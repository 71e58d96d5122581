/* llava.h tokenizer and template tests: ids and decodings against Hugging Face `tokenizers` fixtures,
   the BPE trainer's files, conversation templates against the original LLaVA code, malformed input.
   Prints one line per test and "N passed, N failed" at the end; exits non-zero on any failure.

   usage: test_tokenizer [FIXTURES_DIR]   (default tests/fixtures/tokenizer, run from the repository root) */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#define TEST_FIXTURES "tests/fixtures/tokenizer"
#include "../llava.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static char *read_all(const char *path, size_t *n) { return llava_read_file(path, (size_t)1 << 30, n); }
static int write_all(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(s), w = fwrite(s, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

/* --- the texts and every tokenizer's expected encodings --------------------------------------- */

#define MAXIDS 8192
static int t_expected(const void *arg) {
    const char *name = (const char *)arg;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", g_fix, name);
    LlavaTokenizer *t = llava_tokenizer_load(path);
    CHECK(t, "load: %s", llava_last_error());
    snprintf(path, sizeof path, "%s/%s/expected.jsonl", g_fix, name);
    size_t n;
    char *all = read_all(path, &n), *line = all;
    CHECK(all, "cannot read %s", path);
    static int ids[MAXIDS], exp[MAXIDS], raw[MAXIDS], eraw[MAXIDS];
    char a[2048], b[2048];
    int i, npre = llava_tokenize(t, "", 0, 1, NULL, 0), ok = 1;
    int ln, sampled = 0; /* lines with "i" cover some of the texts, the others all in order */
    for (ln = 0; ln < g_ntexts && ok && !(sampled && !*line); ln++) {
        char *nl = strchr(line, '\n');
        LlavaJson j;
        CHECK(nl, "%s: %d lines for %d texts", path, ln, g_ntexts);
        *nl = 0;
        CHECK(!llava_json_parse(&j, line, strlen(line), path), "%s", llava_last_error());
        const LlavaJsonNode *r = &j.nodes[0], *ix = llava_json_get(&j, r, "i");
        sampled |= ix != NULL;
        i = ix ? (int)ix->num : ln;
        CHECK(i >= 0 && i < g_ntexts, "%s line %d: text index %d out of range", path, ln + 1, i);
        const char *text = g_text[i];
        int ne = parse_ids(llava__tok_jstr(&j, r, "ids"), exp, MAXIDS);
        int ng = llava_tokenize(t, text, g_text_len[i], 1, ids, MAXIDS);
        fmt_ids(a, sizeof a, exp, ne);
        fmt_ids(b, sizeof b, ids, ng);
        if (!same_ids(exp, ne, ids, ng)) {
            snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\": ids [%s] but tokenizers says [%s]", i, text, b, a);
            ok = 0;
        }
        const char *rs = llava__tok_jstr(&j, r, "raw");
        int ner = rs ? parse_ids(rs, eraw, MAXIDS) : ne - npre;
        if (!rs) memcpy(eraw, exp + npre, (size_t)(ner > 0 ? ner : 0) * sizeof(int));
        int nr = llava_tokenize(t, text, g_text_len[i], 0, raw, MAXIDS);
        if (ok && !same_ids(eraw, ner, raw, nr)) {
            fmt_ids(a, sizeof a, eraw, ner);
            fmt_ids(b, sizeof b, raw, nr);
            snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\" without special tokens: [%s] but tokenizers says [%s]", i, text, b, a);
            ok = 0;
        }
        const char *dec = llava__tok_jstr(&j, r, "dec"), *skip = llava__tok_jstr(&j, r, "skip"), *full = llava__tok_jstr(&j, r, "full");
        if (!dec) dec = text;
        if (!skip) skip = dec;
        char *d1 = decode(t, eraw, ner, 0), *d2 = decode(t, exp, ne, 1), *d3 = full ? decode(t, exp, ne, 0) : NULL;
        if (ok && (!d1 || strcmp(d1, dec))) snprintf(g_msg, sizeof g_msg, "text %d: decode gives \"%.60s\", tokenizers \"%.60s\"", i, d1 ? d1 : "(error)", dec), ok = 0;
        if (ok && (!d2 || strcmp(d2, skip)))
            snprintf(g_msg, sizeof g_msg, "text %d: decode(skip_special) gives \"%.60s\", tokenizers \"%.60s\"", i, d2 ? d2 : "(error)", skip), ok = 0;
        if (ok && full && (!d3 || strcmp(d3, full)))
            snprintf(g_msg, sizeof g_msg, "text %d: decode with specials gives \"%.60s\", tokenizers \"%.60s\"", i, d3 ? d3 : "(error)", full), ok = 0;
        /* streaming: the pieces add up to the whole decode, and none ends inside a character */
        if (ok) {
            LlavaDecoder sd;
            LlavaBuf acc;
            memset(&acc, 0, sizeof acc);
            llava_buf_put(&acc, "", 0);
            llava_decoder_init(&sd, t, 1);
            int k;
            for (k = 0; k < ne && ok; k++) {
                size_t len;
                const char *p = llava_decoder_push(&sd, exp[k], &len);
                if (!p) snprintf(g_msg, sizeof g_msg, "text %d: streaming: %s", i, llava_last_error()), ok = 0;
                else {
                    if (len && !llava__tok_is_valid_utf8(p, len) && strcmp(skip, d2 ? d2 : ""))
                        snprintf(g_msg, sizeof g_msg, "text %d: streaming emitted a partial character", i), ok = 0;
                    llava_buf_put(&acc, p, len);
                }
            }
            size_t len;
            const char *p = llava_decoder_flush(&sd, &len);
            if (p) llava_buf_put(&acc, p, len);
            if (ok && strcmp(acc.p, d2 ? d2 : ""))
                snprintf(g_msg, sizeof g_msg, "text %d: streamed \"%.60s\" but decode gives \"%.60s\"", i, acc.p, d2 ? d2 : ""), ok = 0;
            llava_decoder_free(&sd);
            free(acc.p);
        }
        free(d1);
        free(d2);
        free(d3);
        llava_json_free(&j);
        line = nl + 1;
    }
    free(all);
    llava_tokenizer_free(t);
    return ok;
}

/* --- SentencePiece tokenizer.model: sentencepiece's own encode / decode (the "sp" / "spdec" fields) --- */
static int t_spm_raw(const void *arg) {
    const char *name = (const char *)arg;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", g_fix, name);
    LlavaTokenizer *t = llava_tokenizer_load(path);
    CHECK(t, "load: %s", llava_last_error());
    CHECK(t->spm, "%s did not load as a sentencepiece model", path);
    snprintf(path, sizeof path, "%s/%s/expected.jsonl", g_fix, name);
    size_t n;
    char *all = read_all(path, &n), *line = all;
    CHECK(all, "cannot read %s", path);
    static int exp[MAXIDS];
    static int offs[1 << 16];
    char a[2048], b[2048];
    int i, ok = 1, npre = llava_tokenize(t, "", 0, 1, NULL, 0);
    int ln, sampled = 0; /* lines with "i" cover some of the texts, the others all in order */
    for (ln = 0; ln < g_ntexts && ok && !(sampled && !*line); ln++) {
        char *nl = strchr(line, '\n');
        LlavaJson j;
        CHECK(nl, "%s: %d lines for %d texts", path, ln, g_ntexts);
        *nl = 0;
        CHECK(!llava_json_parse(&j, line, strlen(line), path), "%s", llava_last_error());
        const LlavaJsonNode *r = &j.nodes[0], *ix = llava_json_get(&j, r, "i");
        sampled |= ix != NULL;
        i = ix ? (int)ix->num : ln;
        CHECK(i >= 0 && i < g_ntexts, "%s line %d: text index %d out of range", path, ln + 1, i);
        const char *text = g_text[i], *sps = llava__tok_jstr(&j, r, "sp"), *spdec = llava__tok_jstr(&j, r, "spdec");
        CHECK(g_text_len[i] < sizeof offs / sizeof offs[0], "text %d too long for the test", i);
        int ne;
        if (sps) ne = parse_ids(sps, exp, MAXIDS);
        else if ((sps = llava__tok_jstr(&j, r, "raw")) != NULL) ne = parse_ids(sps, exp, MAXIDS); /* the same as without special tokens */
        else {
            int all_ids[MAXIDS], na = parse_ids(llava__tok_jstr(&j, r, "ids"), all_ids, MAXIDS);
            ne = na - npre;
            CHECK(ne >= 0, "text %d: fewer ids than special tokens", i);
            memcpy(exp, all_ids + npre, (size_t)ne * sizeof(int));
        }
        size_t k;
        for (k = 0; k <= g_text_len[i]; k++) offs[k] = (int)k;
        llava__tok_out out;
        memset(&out, 0, sizeof out);
        llava__spm_encode_raw(t, text, offs, g_text_len[i], t->spm->o.add_dummy_prefix, &out);
        if (!same_ids(exp, ne, out.ids.p, (int)out.ids.n)) {
            fmt_ids(a, sizeof a, exp, ne);
            fmt_ids(b, sizeof b, out.ids.p, (int)out.ids.n);
            snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\": sentencepiece encode [%s], llava.h [%s]", i, text, a, b);
            ok = 0;
        }
        /* DecodeIds: the pieces of the ids through DecodePieces */
        llava__tok_list l;
        LlavaBuf res;
        memset(&l, 0, sizeof l);
        memset(&res, 0, sizeof res);
        llava__tok_ipush(&l.off, 0);
        int q;
        for (q = 0; q < ne; q++) {
            size_t pl;
            const char *p = llava__tok_id_str(t, exp[q], &pl);
            llava__tok_list_add(&l, p, pl);
        }
        llava__spm_decode_pieces(t, &l, 0, (size_t)ne, t->spm->o.add_dummy_prefix, &res);
        llava_buf_put(&res, "", 0);
        if (!spdec) spdec = text;
        if (ok && strcmp(res.p, spdec)) snprintf(g_msg, sizeof g_msg, "text %d: sentencepiece decode \"%.60s\", llava.h \"%.60s\"", i, spdec, res.p), ok = 0;
        free(res.p);
        free(l.b.p);
        free(l.off.p);
        free(out.ids.p);
        free(out.start.p);
        free(out.end.p);
        llava_json_free(&j);
        line = nl + 1;
    }
    free(all);
    llava_tokenizer_free(t);
    return ok;
}

/* --- tokenizer.model: hand-made models, malformed files, the constructor from arrays --------------- */
static void pb_varint(LlavaBuf *b, uint64_t v) {
    do {
        unsigned char c = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) c |= 0x80;
        llava_buf_put(b, &c, 1);
    } while (v);
}
static void pb_bytes(LlavaBuf *b, unsigned field, const void *p, size_t n) {
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, n);
    llava_buf_put(b, p, n);
}
static void pb_int(LlavaBuf *b, unsigned field, int64_t v) {
    pb_varint(b, (uint64_t)field << 3);
    pb_varint(b, (uint64_t)v);
}
static void pb_piece(LlavaBuf *b, const char *piece, float score, int type) {
    LlavaBuf m;
    uint32_t bits;
    memset(&m, 0, sizeof m);
    pb_bytes(&m, 1, piece, strlen(piece));
    memcpy(&bits, &score, 4);
    pb_varint(&m, 2 << 3 | 5);
    unsigned char le[4] = {(unsigned char)bits, (unsigned char)(bits >> 8), (unsigned char)(bits >> 16), (unsigned char)(bits >> 24)};
    llava_buf_put(&m, le, 4);
    if (type != 1) pb_int(&m, 3, type);
    pb_bytes(b, 1, m.p, m.n);
    free(m.p);
}
/* a small BPE model: <unk> <s> </s> ▁ a b ▁a ab (+ what `extra` asks for) */
static void spm_model(LlavaBuf *b, int model_type, const char *charsmap, int unk, int extra) {
    LlavaBuf ts, ns;
    memset(b, 0, sizeof *b);
    memset(&ts, 0, sizeof ts);
    memset(&ns, 0, sizeof ns);
    if (unk) pb_piece(b, "<unk>", 0, 2);
    pb_piece(b, "<s>", 0, 3);
    pb_piece(b, "</s>", 0, 3);
    pb_piece(b, "\xe2\x96\x81", 0, 1);
    pb_piece(b, "a", -0.5f, 1);
    pb_piece(b, "b", -0.6f, 1);
    pb_piece(b, "\xe2\x96\x81" "a", -1, 1);
    pb_piece(b, "ab", -2, 1);
    if (extra == 1) pb_piece(b, "<0x41>", 0, 6); /* a byte piece without byte_fallback */
    if (extra == 2) pb_piece(b, "ab", -3, 1);    /* twice */
    if (extra == 4) pb_piece(b, "zz", 0, 4);     /* user-defined */
    if (model_type) pb_int(&ts, 3, model_type);
    pb_int(&ts, 43, -1); /* pad_id -1: a 10-byte varint */
    pb_bytes(b, 2, ts.p, ts.n);
    pb_bytes(&ns, 1, "identity", 8);
    if (charsmap) pb_bytes(&ns, 2, charsmap, strlen(charsmap));
    pb_bytes(b, 3, ns.p, ns.n);
    if (extra == 3) { /* an unknown field, skipped */
        pb_int(b, 99, 5);
        pb_bytes(b, 100, "xyz", 3);
    }
    free(ts.p);
    free(ns.p);
}
static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}
static int spm_fails(const LlavaBuf *b, const char *expect) {
    CHECK(write_bytes(tmp("bad.model"), b->p, b->n) == 0, "write");
    LlavaTokenizer *t = llava_tokenizer_load(tmp("bad.model"));
    if (t) llava_tokenizer_free(t);
    CHECK(!t, "a malformed model loaded (expected an error with '%s')", expect);
    CHECK(strstr(llava_last_error(), expect), "error '%s' does not say '%s'", llava_last_error(), expect);
    return 1;
}
static int t_spm_misc(const void *arg) {
    (void)arg;
    LlavaBuf b;
    int ids[64], n;
    /* the hand-made model, as a .model path with no configuration beside it */
    spm_model(&b, 2, NULL, 1, 3);
    CHECK(write_bytes(tmp("small.model"), b.p, b.n) == 0, "write");
    LlavaTokenizer *t = llava_tokenizer_load(tmp("small.model"));
    CHECK(t, "small.model: %s", llava_last_error());
    /* "▁ab▁a": ▁a (score -1) wins over ab (-2), leftmost first; bos added (LlamaTokenizer's default);
       the ids here are what sentencepiece 0.2.3 and LlamaTokenizer give for this model */
    n = llava_tokenize(t, "ab a", 4, 1, ids, 64);
    CHECK(n == 4 && ids[0] == 1 && ids[1] == 6 && ids[2] == 5 && ids[3] == 6, "'ab a' -> %d ids [%d %d %d %d]", n, ids[0], ids[1], ids[2], ids[3]);
    n = llava_tokenize(t, "<s>b", 4, 0, ids, 64); /* <s> split out; legacy: "b" gets the dummy prefix */
    CHECK(n == 3 && ids[0] == 1 && ids[1] == 3 && ids[2] == 5, "'<s>b' -> %d ids", n);
    n = llava_tokenize(t, "xa", 2, 0, ids, 64); /* ▁ x a: x unknown */
    CHECK(n == 3 && ids[0] == 3 && ids[1] == 0 && ids[2] == 4, "'xa' -> %d ids [%d %d %d]", n, ids[0], ids[1], ids[2]);
    CHECK(llava_tokenizer_vocab_size(t) == 8 && llava_tokenizer_bos(t) == 1 && llava_tokenizer_eos(t) == 2 && llava_tokenizer_unk(t) == 0 &&
              llava_tokenizer_pad(t) == -1,
          "vocab %d bos %d eos %d unk %d pad %d", llava_tokenizer_vocab_size(t), llava_tokenizer_bos(t), llava_tokenizer_eos(t),
          llava_tokenizer_unk(t), llava_tokenizer_pad(t));
    CHECK(llava_token_id(t, "ab") == 7 && !strcmp(llava_token_str(t, 6), "\xe2\x96\x81" "a") && llava_token_is_special(t, 1) && !llava_token_is_special(t, 4),
          "lookups");
    int dids[4] = {1, 6, 0, 5};
    char *d = decode(t, dids, 4, 0), *ds = decode(t, dids, 4, 1);
    /* LlamaTokenizer (transformers 4.57) on this model: '<s> a<unk>b' and 'ab' (special tokens are kept out of
       sentencepiece's decode, with legacy's space before them) */
    CHECK(d && !strcmp(d, "<s> a<unk>b") && ds && !strcmp(ds, "ab"), "decode '%s' / '%s'", d ? d : "(null)", ds ? ds : "(null)");
    free(d);
    free(ds);
    int bad = 8;
    CHECK(llava_detokenize(t, &bad, 1, 0, NULL, 0) < 0 && strstr(llava_last_error(), "id 8"), "bad id: %s", llava_last_error());
    llava_tokenizer_free(t);
    free(b.p);
    /* the same pieces as a Unigram model (the model type's default): the best-scoring split */
    spm_model(&b, 0, NULL, 1, 0);
    CHECK(write_bytes(tmp("uni.model"), b.p, b.n) == 0, "write");
    t = llava_tokenizer_load(tmp("uni.model"));
    CHECK(t, "uni.model: %s", llava_last_error());
    n = llava_tokenize(t, "ab a", 4, 0, ids, 64);
    CHECK(n == 5 && ids[0] == 3 && ids[1] == 4 && ids[2] == 5 && ids[3] == 3 && ids[4] == 4, "unigram 'ab a' -> %d ids [%d %d %d]", n, ids[0], ids[1], ids[2]);
    n = llava_tokenize(t, "xxa", 3, 0, ids, 64); /* two unknown characters: one unk id */
    CHECK(n == 3 && ids[0] == 3 && ids[1] == 0 && ids[2] == 4, "unigram 'xxa' -> %d ids [%d %d %d]", n, ids[0], ids[1], ids[2]);
    llava_tokenizer_free(t);
    free(b.p);
    /* refused models */
    spm_model(&b, 3, NULL, 1, 0);
    if (!spm_fails(&b, "WORD is not supported")) return 0;
    free(b.p);
    spm_model(&b, 1, NULL, 1, 4);
    if (!spm_fails(&b, "a Unigram model with user-defined pieces (1) is not supported")) return 0;
    free(b.p);
    spm_model(&b, 4, NULL, 1, 0);
    if (!spm_fails(&b, "CHAR is not supported")) return 0;
    free(b.p);
    spm_model(&b, 2, "xxxx", 1, 0);
    if (!spm_fails(&b, "precompiled_charsmap (4 bytes) is malformed")) return 0;
    free(b.p);
    spm_model(&b, 2, NULL, 0, 0);
    if (!spm_fails(&b, "no unknown piece")) return 0;
    free(b.p);
    spm_model(&b, 2, NULL, 1, 1);
    if (!spm_fails(&b, "byte_fallback is false")) return 0;
    free(b.p);
    spm_model(&b, 2, NULL, 1, 2);
    if (!spm_fails(&b, "'ab' (id 8) is already defined")) return 0;
    free(b.p);
    /* wire-format errors */
    memset(&b, 0, sizeof b);
    pb_varint(&b, 1 << 3 | 3); /* a group */
    if (!spm_fails(&b, "wire type 3")) return 0;
    b.n = 0;
    pb_varint(&b, 1 << 3 | 2);
    pb_varint(&b, 1000);
    llava_buf_put(&b, "abc", 3);
    if (!spm_fails(&b, "runs past the end")) return 0;
    b.n = 0;
    llava_buf_put(&b, "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
    if (!spm_fails(&b, "over-long varint")) return 0;
    b.n = 0;
    llava_buf_put(&b, "\x15\x01\x02", 3); /* field 2, 32-bit, truncated */
    if (!spm_fails(&b, "truncated 4-byte value")) return 0;
    b.n = 0;
    pb_int(&b, 1, 7); /* pieces as a varint */
    if (!spm_fails(&b, "field 1 is not a message")) return 0;
    b.n = 0;
    llava_buf_put(&b, "", 0);
    if (!spm_fails(&b, "empty")) return 0;
    free(b.p);
    /* every truncation and random edits of real models (BPE, BPE with a charsmap, Unigram): errors, never a crash */
    int mi;
    for (mi = 0; mi < 3; mi++) {
        const char *mpath = mi == 2 ? "spm/unigram/tokenizer.model" : mi ? "spm/charsmap/tokenizer.model" : "spm/bf_legacy/tokenizer.model";
        size_t sz;
        char *src = read_all(fx(mpath), &sz);
        CHECK(src && sz > 100, "read %s", mpath);
        size_t cut;
        for (cut = 0; cut < sz; cut += 1 + cut / 16) {
            CHECK(write_bytes(tmp("cut.model"), src, cut) == 0, "write");
            LlavaTokenizer *ft = llava_tokenizer_load(tmp("cut.model"));
            if (ft) {
                int buf[64];
                llava_tokenize(ft, "hello world", 11, 1, buf, 64);
                llava_tokenizer_free(ft);
            }
        }
        uint64_t rng = 777;
        int it;
        for (it = 0; it < 300; it++) {
            char *cp = (char *)malloc(sz);
            memcpy(cp, src, sz);
            int e;
            for (e = 0; e < 3; e++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                cp[(size_t)(rng >> 33) % sz] ^= (char)(1 + (rng >> 20) % 255);
            }
            CHECK(write_bytes(tmp("fuzz.model"), cp, sz) == 0, "write");
            free(cp);
            LlavaTokenizer *ft = llava_tokenizer_load(tmp("fuzz.model"));
            if (ft) {
                int buf[256], k;
                for (k = 0; k < 40 && k < g_ntexts; k++) {
                    int nn = llava_tokenize(ft, g_text[k * 37 % g_ntexts], g_text_len[k * 37 % g_ntexts], 1, buf, 256);
                    if (nn > 0) {
                        char *dd = decode(ft, buf, nn, 0);
                        free(dd);
                    }
                }
                llava_tokenizer_free(ft);
            }
        }
        free(src);
    }
    /* streaming a long run of ids (texts back to back with their special tokens): the pieces add up to
       the decode of all of them, with and without special tokens, for every tokenizer.model fixture */
    static const char *dirs[] = {"spm/bf_legacy", "spm/bf_nolegacy", "spm/nobf", "spm/v_unused", "spm/v_maps", "spm/charsmap", "spm/unigram"};
    size_t di;
    for (di = 0; di < sizeof dirs / sizeof dirs[0]; di++) {
        LlavaTokenizer *st = llava_tokenizer_load(fx(dirs[di]));
        CHECK(st, "%s: %s", dirs[di], llava_last_error());
        static int all[1 << 17];
        int na = 0, q, skip;
        for (q = 0; q < g_ntexts && na < (1 << 17) - 4096; q++) {
            int k = llava_tokenize(st, g_text[q], g_text_len[q], 1, all + na, (1 << 17) - na);
            CHECK(k >= 0, "%s: text %d: %s", dirs[di], q, llava_last_error());
            na += k;
        }
        for (skip = 0; skip < 2; skip++) {
            char *whole = decode(st, all, na, skip);
            if (!skip && st->spm->legacy) { /* the documented exception: legacy's space before special tokens moves */
                LlavaBuf w;
                memset(&w, 0, sizeof w);
                CHECK(!llava__spm_decode_x(st, all, na, 0, 1, &w), "%s", llava_last_error());
                size_t x, y, nw = strlen(whole);
                for (x = 0, y = 0; x < w.n || y < nw;) { /* the same text but for spaces */
                    while (x < w.n && w.p[x] == ' ') x++;
                    while (y < nw && whole[y] == ' ') y++;
                    CHECK((x < w.n) == (y < nw) && (x == w.n || w.p[x] == whole[y]), "%s: the stream's text is not the decode's but for spaces", dirs[di]);
                    if (x < w.n) x++, y++;
                }
                free(whole);
                whole = w.p;
            }
            LlavaDecoder sd;
            LlavaBuf acc;
            memset(&acc, 0, sizeof acc);
            llava_buf_put(&acc, "", 0);
            llava_decoder_init(&sd, st, skip);
            for (q = 0; q < na; q++) {
                size_t len;
                const char *p = llava_decoder_push(&sd, all[q], &len);
                CHECK(p, "%s: streaming id %d: %s", dirs[di], q, llava_last_error());
                llava_buf_put(&acc, p, len);
            }
            size_t len;
            const char *p = llava_decoder_flush(&sd, &len);
            if (p) llava_buf_put(&acc, p, len);
            CHECK(whole && !strcmp(acc.p, whole), "%s: %d ids streamed (skip_special %d) differ from their decode", dirs[di], na, skip);
            llava_decoder_free(&sd);
            free(acc.p);
            free(whole);
        }
        llava_tokenizer_free(st);
    }
    /* the constructor from arrays (what a GGUF "llama" tokenizer holds) gives the same tokenizer */
    t = llava_tokenizer_load(fx("spm/nobf"));
    CHECK(t, "spm/nobf: %s", llava_last_error());
    int np = t->spm->n, i;
    const char **pieces = (const char **)malloc((size_t)np * sizeof *pieces);
    int *types = (int *)malloc((size_t)np * sizeof(int));
    for (i = 0; i < np; i++) {
        size_t l;
        pieces[i] = llava__spm_piece_str(t, i, &l);
        types[i] = t->spm->type[i];
    }
    LlavaTokenizer *t2 = llava__tok_from_spm(pieces, t->spm->score, types, np, &t->spm->o);
    CHECK(t2, "from arrays: %s", llava_last_error());
    CHECK(!llava__spm_configure(t2, NULL, NULL, NULL, NULL, NULL, NULL, "arrays"), "configure: %s", llava_last_error());
    static int a1[MAXIDS], a2[MAXIDS];
    for (i = 0; i < g_ntexts; i++) {
        int n1 = llava_tokenize(t, g_text[i], g_text_len[i], 1, a1, MAXIDS), n2 = llava_tokenize(t2, g_text[i], g_text_len[i], 1, a2, MAXIDS);
        CHECK(same_ids(a1, n1, a2, n2), "text %d \"%.60s\": the tokenizer from arrays encodes it differently", i, g_text[i]);
    }
    free(pieces);
    free(types);
    llava_tokenizer_free(t2);
    llava_tokenizer_free(t);
    return 1;
}

/* --- the trainer: same files as the committed ones (which tokenizers encoded for the fixtures) ---- */
static int t_trainer(const void *arg) {
    const char *name = (const char *)arg;
    int vocab = !strcmp(name, "tiny600") ? 600 : 1000;
    size_t n, n1, n2;
    char *corpus = read_all(fx("train_corpus.txt"), &n);
    CHECK(corpus, "cannot read the training corpus");
    const char *specials[1] = {"<image>"};
    LlavaBpeTrainOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.vocab_size = vocab;
    opt.specials = specials;
    opt.n_specials = 1;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", g_tmp, name);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    int rc = llava_bpe_train(corpus, n, &opt, dir);
    free(corpus);
    CHECK(rc == 0, "train: %s", llava_last_error());
    const char *files[2] = {"tokenizer.json", "tokenizer_config.json"};
    int k;
    for (k = 0; k < 2; k++) {
        char p1[600], p2[600];
        snprintf(p1, sizeof p1, "%s/%s", dir, files[k]);
        snprintf(p2, sizeof p2, "%s/%s/%s", g_fix, name, files[k]);
        char *a = read_all(p1, &n1), *b = read_all(p2, &n2);
        int same = a && b && n1 == n2 && !memcmp(a, b, n1);
        free(a);
        free(b);
        CHECK(same, "%s differs from the committed %s", p1, p2);
    }
    LlavaTokenizer *t = llava_tokenizer_load(dir);
    CHECK(t, "load: %s", llava_last_error());
    int img = llava_token_id(t, "<image>"), V = llava_tokenizer_vocab_size(t), bos = llava_tokenizer_bos(t), eos = llava_tokenizer_eos(t);
    llava_tokenizer_free(t);
    CHECK(img == vocab - 1 && V == vocab && bos == 1 && eos == 2, "<image> %d, vocab %d, bos %d, eos %d", img, V, bos, eos);
    return 1;
}

/* --- the trainer keeps scripts apart, as SentencePiece's split_by_unicode_script does ------------- */
static int t_trainer_scripts(const void *arg) {
    (void)arg;
    /* "triangle." and "x1" are the most frequent pairs' material, yet no piece may join a letter to a
       digit or a punctuation mark; "▁" joins anything, and punctuation joins punctuation */
    static const char *line = "a triangle. a triangle? x1 x1 ... \xce\xb1\xce\xb2\xce\xb3" "a \xce\xb1\xce\xb2\xce\xb3" "a\n";
    char corpus[8192] = "", dir[512];
    int k;
    for (k = 0; k < 60; k++) strcat(corpus, line);
    LlavaBpeTrainOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.vocab_size = 330;
    snprintf(dir, sizeof dir, "%s/scripts", g_tmp);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    CHECK(llava_bpe_train(corpus, strlen(corpus), &opt, dir) == 0, "train: %s", llava_last_error());
    LlavaTokenizer *t = llava_tokenizer_load(dir);
    CHECK(t, "load: %s", llava_last_error());
    static const char *const want[] = {"\xe2\x96\x81triangle", "\xe2\x96\x81x", "\xe2\x96\x81...", "...", "\xe2\x96\x81\xce\xb1\xce\xb2\xce\xb3"},
                             *never[] = {"triangle.", "\xe2\x96\x81triangle.", "e.", "e?", "x1", "\xe2\x96\x81x1", "\xce\xb3" "a", "\xe2\x96\x81\xce\xb1\xce\xb2\xce\xb3" "a"};
    int ok = 1;
    const char *bad = NULL;
    for (k = 0; k < (int)(sizeof want / sizeof want[0]) && ok; k++)
        if (llava_token_id(t, want[k]) < 0) ok = 0, bad = want[k];
    for (k = 0; k < (int)(sizeof never / sizeof never[0]) && ok; k++)
        if (llava_token_id(t, never[k]) >= 0) ok = -1, bad = never[k];
    llava_tokenizer_free(t);
    CHECK(ok == 1, "%s '%s'", ok == 0 ? "no piece" : "a piece across scripts:", bad);
    return 1;
}

/* --- conversation templates against the original code ------------------------------------------ */
static int t_templates(const void *arg) {
    const char *file = arg ? (const char *)arg : "templates.json";
    size_t n;
    char *s = read_all(fx(file), &n);
    LlavaJson j;
    CHECK(s && !llava_json_parse(&j, s, n, file), "cannot read %s: %s", file, llava_last_error());
    const LlavaJsonNode *c;
    int k = 0, checked_labels = 0, ok = 1;
    for (c = llava_json_first(&j, &j.nodes[0]); c && ok; c = llava_json_next(&j, c), k++) {
        const char *tn = llava__tok_jstr(&j, c, "tokenizer"), *tmpl = llava__tok_jstr(&j, c, "template"), *text = llava__tok_jstr(&j, c, "text");
        char path[600], sample[64];
        snprintf(path, sizeof path, "%s/%s", g_fix, tn);
        snprintf(sample, sizeof sample, "case %d (%s, %s)", k, tmpl, tn);
        LlavaTokenizer *t = llava_tokenizer_load(path);
        CHECK(t, "load %s: %s", tn, llava_last_error());
        LlavaMessage msgs[16];
        int nm = 0;
        const LlavaJsonNode *m;
        for (m = llava_json_first(&j, llava_json_get(&j, c, "conv")); m && nm < 16; m = llava_json_next(&j, m), nm++) {
            msgs[nm].role = llava_json_at(&j, m, 0)->str;
            msgs[nm].text = llava_json_at(&j, m, 1)->str;
        }
        int T = llava_template_from_name(tmpl);
        char *r = llava_template_render((LlavaTemplate)T, msgs, nm, 0);
        if (!r || strcmp(r, text)) {
            snprintf(g_msg, sizeof g_msg, "%s: rendered \"%s\"\nexpected \"%s\"", sample, r ? r : llava_last_error(), text);
            ok = 0;
        }
        llava_free_string(r);
        static int ids[4096], labels[4096], exp[4096], elab[4096];
        int image_id = (int)llava_json_get(&j, c, "image_id")->num, rep = (int)llava_json_get(&j, c, "repeat")->num;
        int got = ok ? llava_template_tokenize(t, (LlavaTemplate)T, msgs, nm, 0, image_id, rep, sample, ids, labels, 4096) : -1;
        if (ok && got < 0) snprintf(g_msg, sizeof g_msg, "%s: %s", sample, llava_last_error()), ok = 0;
        int ne = 0;
        const LlavaJsonNode *x;
        for (x = llava_json_first(&j, llava_json_get(&j, c, "ids")); x; x = llava_json_next(&j, x)) exp[ne++] = (int)x->num;
        if (ok && !same_ids(ids, got, exp, ne)) {
            char a[4096], b[4096];
            fmt_ids(a, sizeof a, ids, got);
            fmt_ids(b, sizeof b, exp, ne);
            snprintf(g_msg, sizeof g_msg, "%s: ids [%s]\nexpected [%s]", sample, a, b);
            ok = 0;
        }
        /* labels: the original's where it has no tokenization mismatch, else the prefix-encoding mask */
        const LlavaJsonNode *lo = llava_json_get(&j, c, "labels_original"), *lp = llava_json_get(&j, c, "labels_prefix"), *mm = llava_json_get(&j, c, "original_mismatch");
        const LlavaJsonNode *use = lo && !(mm && mm->num) ? lo : (lp && lp->type == LLAVA_JSON_ARR ? lp : NULL);
        if (ok && use) {
            int nl = 0;
            for (x = llava_json_first(&j, use); x; x = llava_json_next(&j, x)) elab[nl++] = (int)x->num;
            if (!same_ids(labels, got, elab, nl)) {
                char a[4096], b[4096];
                fmt_ids(a, sizeof a, labels, got);
                fmt_ids(b, sizeof b, elab, nl);
                snprintf(g_msg, sizeof g_msg, "%s: labels [%s]\nexpected [%s]", sample, a, b);
                ok = 0;
            }
            checked_labels++;
        }
        /* the supervised tokens decode to the answers (and "</s>") */
        if (ok) {
            int q, sup = 0;
            for (q = 0; q < got; q++) sup += labels[q] != LLAVA_IGNORE_INDEX;
            if (!sup) snprintf(g_msg, sizeof g_msg, "%s: nothing supervised", sample), ok = 0;
        }
        llava_tokenizer_free(t);
    }
    llava_json_free(&j);
    free(s);
    if (ok && checked_labels < k / 2) snprintf(g_msg, sizeof g_msg, "only %d of %d cases had reference labels", checked_labels, k), ok = 0;
    return ok;
}

/* --- chatml (Qwen2 / SmolLM2 / LLaVA-OneVision) against transformers' apply_chat_template ---------- */
static int t_chatml(const void *arg) {
    (void)arg;
    size_t n;
    char *s = read_all(fx("../chatml/cases.json"), &n);
    LlavaJson j;
    CHECK(s && !llava_json_parse(&j, s, n, "cases.json"), "cannot read chatml/cases.json: %s", llava_last_error());
    const LlavaJsonNode *c, *x;
    int k = 0, ok = 1, pass;
    for (c = llava_json_first(&j, llava_json_get(&j, &j.nodes[0], "cases")); c && ok; c = llava_json_next(&j, c), k++) {
        const char *tn = llava__tok_jstr(&j, c, "tokenizer"), *text = llava__tok_jstr(&j, c, "text");
        const LlavaJsonNode *sys = llava_json_get(&j, c, "default_system");
        const int gen = (int)llava_json_get(&j, c, "add_generation_prompt")->num;
        LlavaMessage msgs[16];
        int nm = 0;
        if (sys && sys->type == LLAVA_JSON_STR) msgs[nm].role = "system", msgs[nm++].text = sys->str; /* what the Jinja template adds */
        for (x = llava_json_first(&j, llava_json_get(&j, c, "conv")); x && nm < 16; x = llava_json_next(&j, x), nm++) {
            msgs[nm].role = llava_json_at(&j, x, 0)->str;
            msgs[nm].text = llava_json_at(&j, x, 1)->str;
        }
        char *r = llava_template_render(LLAVA_TEMPLATE_CHATML, msgs, nm, gen);
        if (!r || strcmp(r, text)) snprintf(g_msg, sizeof g_msg, "case %d: rendered \"%s\"\nexpected \"%s\"", k, r ? r : llava_last_error(), text), ok = 0;
        llava_free_string(r);
        static int ids[4096], labels[4096], exp[4096], elab[4096];
        int ne = 0, nl = 0;
        for (x = llava_json_first(&j, llava_json_get(&j, c, "ids")); x && ne < 4096; x = llava_json_next(&j, x)) exp[ne++] = (int)x->num;
        for (x = llava_json_first(&j, llava_json_get(&j, c, "labels")); x && nl < 4096; x = llava_json_next(&j, x)) elab[nl++] = (int)x->num;
        const int image_id = (int)llava_json_get(&j, c, "image_id")->num, rep = (int)llava_json_get(&j, c, "repeat")->num;
        /* the smollm tokenizer also from its GGUF file (tokenizer.ggml.*): the same ids */
        for (pass = 0; pass < 2 && ok; pass++) {
            char path[600], sample[64];
            if (pass == 1 && strcmp(tn, "gguftok/smollm")) break;
            snprintf(path, sizeof path, "%s/../%s%s", g_fix, tn, pass ? ".gguf" : "");
            snprintf(sample, sizeof sample, "case %d (%s%s)", k, tn, pass ? ".gguf" : "");
            LlavaTokenizer *t = llava_tokenizer_load(path);
            CHECK(t, "load %s: %s", path, llava_last_error());
            int got = llava_template_tokenize(t, LLAVA_TEMPLATE_CHATML, msgs, nm, gen, image_id, rep, sample, ids, labels, 4096);
            char a[4096], b[4096];
            if (got < 0) snprintf(g_msg, sizeof g_msg, "%s: %s", sample, llava_last_error()), ok = 0;
            else if (!same_ids(ids, got, exp, ne))
                fmt_ids(a, sizeof a, ids, got), fmt_ids(b, sizeof b, exp, ne), snprintf(g_msg, sizeof g_msg, "%s: ids [%s]\nexpected [%s]", sample, a, b), ok = 0;
            else if (!same_ids(labels, got, elab, nl))
                fmt_ids(a, sizeof a, labels, got), fmt_ids(b, sizeof b, elab, nl), snprintf(g_msg, sizeof g_msg, "%s: labels [%s]\nexpected [%s]", sample, a, b), ok = 0;
            llava_tokenizer_free(t);
        }
    }
    CHECK(!ok || k >= 20, "only %d cases", k);
    /* detection: each Jinja template is chatml, with the system message it adds by itself */
    for (c = llava_json_first(&j, llava_json_get(&j, &j.nodes[0], "templates")); c && ok; c = llava_json_next(&j, c)) {
        const LlavaJsonNode *want = llava_json_get(&j, c, "default_system");
        char *sys = NULL;
        const int t = llava_template_detect(llava__tok_jstr(&j, c, "template"), &sys);
        const int same = want && want->type == LLAVA_JSON_STR ? sys && !strcmp(sys, want->str) : !sys;
        if (t != LLAVA_TEMPLATE_CHATML || !same)
            snprintf(g_msg, sizeof g_msg, "%s: detected %d, default system '%s'", llava__tok_jstr(&j, c, "name"), t, sys ? sys : "(none)"), ok = 0;
        llava_free_string(sys);
    }
    llava_json_free(&j);
    free(s);
    return ok;
}

/* llava_template_detect on the other formats, llava_chat_template_read's sources, chatml's continuation */
static int t_chatml_detect(const void *arg) {
    (void)arg;
    static const char *llava_hf = "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}"
                                  "{% endif %}...{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";
    char *sys = (char *)"x";
    CHECK(llava_template_detect(llava_hf, &sys) == LLAVA_TEMPLATE_LLAVA_HF && !sys, "llava_hf");
    CHECK(llava_template_detect("A chat between a curious user and ... USER: ... ASSISTANT:", NULL) == LLAVA_TEMPLATE_VICUNA_V1, "vicuna_v1");
    CHECK(llava_template_detect("A chat between a curious human and ... ASSISTANT:", NULL) == LLAVA_TEMPLATE_LLAVA_V1, "llava_v1");
    CHECK(llava_template_detect("{{ bos_token }}[INST] {{ m }} [/INST]", &sys) == -1 && !sys && strstr(llava_last_error(), "none of"), "other");
    CHECK(llava_template_detect(NULL, NULL) == -1, "NULL");
    /* Qwen2.5's default system literal, with escapes; a literal that only opens the system turn is skipped */
    const char *q25 = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
                      "{%- else %}{{- '<|im_start|>system\\nYou are Qwen, \\'created\\' by Alibaba Cloud.<|im_end|>\\n' }}{%- endif %}";
    CHECK(llava_template_detect(q25, &sys) == LLAVA_TEMPLATE_CHATML && sys && !strcmp(sys, "You are Qwen, 'created' by Alibaba Cloud."), "qwen2.5: %s", sys ? sys : "(none)");
    llava_free_string(sys);
    CHECK(llava_template_detect("<|im_start|>{{ role }}<|im_end|>", &sys) == LLAVA_TEMPLATE_CHATML && !sys, "chatml without a default system");
    /* the sources: tokenizer_config.json (a string, or the "default" of a list), chat_template.json, .jinja, GGUF */
    char *r;
    CHECK(write_all(tmp("tokenizer_config.json"), "{\"chat_template\": \"<|im_start|>a\\n<|im_end|>\"}") == 0, "write");
    r = llava_chat_template_read(g_tmp);
    CHECK(r && !strcmp(r, "<|im_start|>a\n<|im_end|>"), "tokenizer_config.json: %s", r ? r : llava_last_error());
    llava_free_string(r);
    r = llava_chat_template_read(tmp("tokenizer.json")); /* a file in the directory: the same */
    CHECK(r && !strcmp(r, "<|im_start|>a\n<|im_end|>"), "tokenizer.json's directory: %s", r ? r : llava_last_error());
    llava_free_string(r);
    CHECK(write_all(tmp("tokenizer_config.json"), "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"D\"}]}") == 0, "write");
    r = llava_chat_template_read(g_tmp);
    CHECK(r && !strcmp(r, "D"), "a list: %s", r ? r : llava_last_error());
    llava_free_string(r);
    CHECK(write_all(tmp("tokenizer_config.json"), "{\"model_max_length\": 8}") == 0 && write_all(tmp("chat_template.jinja"), "J\n") == 0, "write");
    r = llava_chat_template_read(g_tmp);
    CHECK(r && !strcmp(r, "J\n"), "chat_template.jinja: %s", r ? r : llava_last_error());
    llava_free_string(r);
    CHECK(write_all(tmp("chat_template.json"), "{\"chat_template\": \"C\"}") == 0, "write");
    r = llava_chat_template_read(g_tmp);
    CHECK(r && !strcmp(r, "C"), "chat_template.json before .jinja: %s", r ? r : llava_last_error());
    llava_free_string(r);
    r = llava_chat_template_read(fx("tiny600"));
    CHECK(!r && strstr(llava_last_error(), "no chat template"), "none: %s", r ? r : llava_last_error());
    r = llava_chat_template_read(fx("../gguftok/smollm.gguf"));
    CHECK(!r && strstr(llava_last_error(), "tokenizer.chat_template"), "a GGUF without one: %s", r ? r : llava_last_error());
    r = llava_chat_template_read(fx("../chatml/tiny-chatml.gguf"));
    CHECK(r && llava_template_detect(r, &sys) == LLAVA_TEMPLATE_CHATML && sys && strstr(sys, "SmolLM"), "a GGUF's: %s", r ? r : llava_last_error());
    llava_free_string(r);
    llava_free_string(sys);
    /* the answer's end, and a conversation continued past it */
    CHECK(!strcmp(llava_template_answer_end(LLAVA_TEMPLATE_CHATML), "<|im_end|>\n") && !strcmp(llava_template_answer_end(LLAVA_TEMPLATE_VICUNA_V1), "</s>") &&
          !strcmp(llava_template_answer_end((LlavaTemplate)99), ""), "answer ends");
    LlavaTokenizer *t = llava_tokenizer_load(fx("../gguftok/smollm"));
    CHECK(t, "load: %s", llava_last_error());
    LlavaMessage m[4] = {{"system", "S"}, {"user", "What is red?"}, {"assistant", "The circle."}, {"user", "And blue?"}};
    int a[256], tpl;
    char text[1024];
    for (tpl = 0; tpl < LLAVA_TEMPLATE_COUNT; tpl++) { /* every template ends a rendered answer with its answer_end */
        if (tpl == LLAVA_TEMPLATE_PLAIN) continue;
        char *w = llava_template_render((LlavaTemplate)tpl, m, 3, 0);
        const char *e = llava_template_answer_end((LlavaTemplate)tpl);
        const size_t lw = w ? strlen(w) : 0, le = strlen(e), la = strlen(m[2].text);
        const int fine = w && lw >= le + la && !strcmp(w + lw - le, e) && !strncmp(w + lw - le - la, m[2].text, la);
        llava_free_string(w);
        CHECK(fine, "%s: the answer does not end with '%s'", llava_template_name((LlavaTemplate)tpl), e);
    }
    const int n2 = llava_template_continue(t, LLAVA_TEMPLATE_CHATML, m, 3, 4, -1, 1, a, 256);
    const long nt = n2 > 0 ? llava_detokenize(t, a, n2, 0, text, sizeof text) : -1;
    CHECK(nt > 0 && !strcmp(text, "<|im_start|>user\nAnd blue?<|im_end|>\n<|im_start|>assistant\n"), "continued: '%s'", nt > 0 ? text : llava_last_error());
    m[2].role = "gpt";
    m[1].role = "human";
    r = llava_template_render(LLAVA_TEMPLATE_CHATML, m, 3, 0);
    CHECK(r && !strcmp(r, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nWhat is red?<|im_end|>\n<|im_start|>assistant\nThe circle.<|im_end|>\n"),
          "LLaVA's role names: %s", r ? r : llava_last_error());
    llava_free_string(r);
    CHECK(llava_template_from_name("chatml") == LLAVA_TEMPLATE_CHATML && !strcmp(llava_template_name(LLAVA_TEMPLATE_CHATML), "chatml"), "name");
    llava_tokenizer_free(t);
    return 1;
}

/* the mask around the answers of a generation prompt, and the error for tokens across an answer */
static const char *g_tiny_bpe =
    "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, \"a\": 3, \"b\": 4, \":\": 5,"
    " \"\\u2581\": 6, \":\\u2581\": 7, \":\\u2581a\": 8, \"U\": 9, \"S\": 10, \"E\": 11, \"R\": 12, \"A\": 13, \"I\": 14, \"T\": 15, \"N\": 16},"
    " \"merges\": [\": \\u2581\", \":\\u2581 a\"]},"
    " \"added_tokens\": [{\"id\": 2, \"content\": \"</s>\", \"special\": true}, {\"id\": 17, \"content\": \"<image>\", \"special\": true}],"
    " \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": \"first\", \"split\": false},"
    " \"decoder\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": \"first\"}}";
static int t_template_errors(const void *arg) {
    (void)arg;
    CHECK(write_all(tmp("tiny.json"), g_tiny_bpe) == 0, "write");
    LlavaTokenizer *t = llava_tokenizer_load(tmp("tiny.json"));
    CHECK(t, "load: %s", llava_last_error());
    LlavaMessage m[2];
    int ids[256], labels[256];
    m[0].role = "user";
    m[0].text = "<image>";
    m[1].role = "assistant";
    m[1].text = "ab";
    int n = llava_template_tokenize(t, LLAVA_TEMPLATE_LLAVA_HF, m, 2, 0, 17, 2, "sample-7", ids, labels, 256);
    CHECK(n < 0 && strstr(llava_last_error(), "sample-7") && strstr(llava_last_error(), "line up"), "misaligned answer: %d, %s", n, llava_last_error());
    m[1].role = "robot";
    n = llava_template_tokenize(t, LLAVA_TEMPLATE_VICUNA_V1, m, 2, 0, -200, 1, "s2", ids, labels, 256);
    CHECK(n < 0 && strstr(llava_last_error(), "robot"), "bad role: %s", llava_last_error());
    m[1].role = "user";
    n = llava_template_tokenize(t, LLAVA_TEMPLATE_VICUNA_V1, m, 2, 0, -200, 1, "s3", ids, labels, 256);
    CHECK(n < 0 && strstr(llava_last_error(), "alternate"), "two user turns: %s", llava_last_error());
    m[1].role = "assistant";
    n = llava_template_tokenize(t, LLAVA_TEMPLATE_PLAIN, m, 2, 0, -200, 1, "s4", ids, labels, 2);
    CHECK(n < 0 && strstr(llava_last_error(), "max_ids is 2"), "small max_ids: %s", llava_last_error());
    m[0].text = "no image";
    n = llava_template_tokenize(t, LLAVA_TEMPLATE_PLAIN, m, 2, 0, -200, 1, "s5", ids, labels, 256);
    CHECK(n < 0 && strstr(llava_last_error(), "<image>"), "plain without image: %s", llava_last_error());
    CHECK(llava_template_from_name("nope") == -1 && llava_template_from_name("vicuna_v1") == LLAVA_TEMPLATE_VICUNA_V1, "names");
    /* generation prompts */
    m[0].text = "<image>\nhi";
    char *r = llava_template_render(LLAVA_TEMPLATE_LLAVA_HF, m, 1, 1);
    CHECK(r && !strcmp(r, "USER: <image>\nhi ASSISTANT:"), "llava_hf prompt: %s", r ? r : "(null)");
    llava_free_string(r);
    r = llava_template_render(LLAVA_TEMPLATE_VICUNA_V1, m, 1, 1);
    CHECK(r && strstr(r, "questions. USER: <image>\nhi ASSISTANT:"), "vicuna prompt: %s", r ? r : "(null)");
    llava_free_string(r);
    llava_tokenizer_free(t);
    return 1;
}

/* a conversation continued turn by turn: the first turn is the whole prompt, a later one the text the
   template writes past the earlier turns, and their ids together make the conversation's text */
static int t_template_continue(const void *arg) {
    (void)arg;
    LlavaTokenizer *t = llava_tokenizer_load(fx("tiny600"));
    CHECK(t, "load: %s", llava_last_error());
    const int img = llava_token_id(t, "<image>");
    LlavaMessage m[3] = {{"user", "<image>\nWhat is red?"}, {"assistant", "The circle."}, {"user", "And blue?"}};
    int a[512], b[512], k;
    int tpl;
    for (tpl = 0; tpl < LLAVA_TEMPLATE_PLAIN; tpl++) {
        const int na = llava_template_continue(t, (LlavaTemplate)tpl, m, 0, 1, img, 3, a, 512);
        const int nb = llava_template_tokenize(t, (LlavaTemplate)tpl, m, 1, 1, img, 3, "first", b, NULL, 512);
        CHECK(na > 3 && na == nb && !memcmp(a, b, sizeof(int) * (size_t)na), "%s: first turn %d ids, whole prompt %d", llava_template_name((LlavaTemplate)tpl), na, nb);
        CHECK(llava_template_continue(t, (LlavaTemplate)tpl, m, 0, 1, img, 3, NULL, 0) == na, "counting the first turn");
        const int n2 = llava_template_continue(t, (LlavaTemplate)tpl, m, 2, 3, img, 3, a, 512);
        CHECK(n2 > 0 && llava_template_continue(t, (LlavaTemplate)tpl, m, 2, 3, img, 3, NULL, 0) == n2, "third turn: %d (%s)", n2, llava_last_error());
        char *before = llava_template_render((LlavaTemplate)tpl, m, 2, 0), *now = llava_template_render((LlavaTemplate)tpl, m, 3, 1);
        char text[1024];
        const long nt = llava_detokenize(t, a, n2, 0, text, sizeof text);
        /* the third turn's text is what the whole conversation adds past the first two (a leading space
           may go, as SentencePiece's decode drops the one it adds) */
        const char *tail = now + strlen(before);
        CHECK(nt > 0 && !strncmp(now, before, strlen(before)) && (!strcmp(text, tail) || (tail[0] == ' ' && !strcmp(text, tail + 1))),
              "%s: third turn decodes to '%s', the template adds '%s'", llava_template_name((LlavaTemplate)tpl), text, tail);
        for (k = 0; k < n2; k++) CHECK(a[k] != llava_tokenizer_bos(t), "a later turn has no BOS");
        llava_free_string(before);
        llava_free_string(now);
    }
    CHECK(llava_template_continue(t, LLAVA_TEMPLATE_VICUNA_V1, m, 3, 3, img, 3, a, 512) < 0 && strstr(llava_last_error(), "no new message"),
          "nothing new: %s", llava_last_error());
    llava_tokenizer_free(t);
    return 1;
}

/* --- malformed tokenizer files and inputs ---------------------------------------------------------- */
static const char *g_good =
    "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}, \"added_tokens\": []}";
static int load_fails(const char *json, const char *expect) {
    if (write_all(tmp("bad.json"), json)) return 0;
    LlavaTokenizer *t = llava_tokenizer_load(tmp("bad.json"));
    if (t) {
        llava_tokenizer_free(t);
        snprintf(g_msg, sizeof g_msg, "loaded: %s", json);
        return 0;
    }
    if (!strstr(llava_last_error(), expect)) {
        snprintf(g_msg, sizeof g_msg, "error \"%s\" does not mention \"%s\"", llava_last_error(), expect);
        return 0;
    }
    return 1;
}
static int t_malformed(const void *arg) {
    (void)arg;
    CHECK(write_all(tmp("good.json"), g_good) == 0, "write");
    LlavaTokenizer *t = llava_tokenizer_load(tmp("good.json"));
    CHECK(t, "the good file: %s", llava_last_error());
    int ids[8];
    CHECK(llava_tokenize(t, "ab", 2, 1, ids, 8) == 1 && ids[0] == 2, "good file encodes");
    llava_tokenizer_free(t);
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,}}", "malformed JSON")) return 0;
    if (!load_fails("not json", "malformed JSON")) return 0;
    if (!load_fails("", "empty")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "model type 'Unigram' is not supported")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]}}", "not in the vocabulary: 'c'")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}}", "not in the vocabulary: 'ab'")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 7}, \"merges\": []}}", "id 7, out of range")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": -1}, \"merges\": []}}", "non-integer id")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1, \"b\": 1}, \"merges\": []}}", "given to both")) return 0;
    /* ids far outside an integer's range (or not finite) are refused before any conversion (UBSan) */
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1.8e53}, \"merges\": []}}", "non-integer id")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": -1e300}, \"merges\": []}}", "non-integer id")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"id\": 1e40, \"content\": \"x\"}]}",
                    "without an integer id"))
        return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}", "not two tokens")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [], \"unk_token\": \"<unk>\"}}", "unk_token '<unk>'")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"id\": 99999999, \"content\": \"x\"}]}",
                    "out of range"))
        return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"id\": 3, \"content\": \"x\"}, "
                    "{\"id\": 3, \"content\": \"y\"}]}",
                    "two added tokens"))
        return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"normalizer\": {\"type\": \"BertNormalizer\"}}", "'BertNormalizer' is not supported")) return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"x+\"}, "
                    "\"behavior\": \"Isolated\"}}",
                    "'x+' is not supported"))
        return 0;
    if (!load_fails("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"post_processor\": {\"type\": \"TemplateProcessing\", "
                    "\"single\": [{\"SpecialToken\": {\"id\": \"<s>\"}}], \"special_tokens\": {\"<s>\": {\"ids\": [5]}}}}",
                    "outside the vocabulary"))
        return 0;
    t = llava_tokenizer_load("/nonexistent/dir");
    CHECK(!t && strstr(llava_last_error(), "/nonexistent/dir"), "missing file: %s", llava_last_error());
    /* fuzz: random byte edits of a real file never crash */
    size_t n;
    char *src = read_all(fx("trained/tokenizer.json"), &n);
    CHECK(src, "read trained/tokenizer.json");
    uint64_t rng = 12345;
    int it, loaded = 0;
    for (it = 0; it < 60; it++) {
        char *cp = (char *)malloc(n + 1);
        memcpy(cp, src, n + 1);
        int e;
        for (e = 0; e < 4; e++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 33) % n;
            cp[at] = "{}[]\",:0123456789 ab\\"[(rng >> 20) % 22];
        }
        FILE *f = fopen(tmp("fuzz.json"), "wb");
        fwrite(cp, 1, n, f);
        fclose(f);
        free(cp);
        LlavaTokenizer *ft = llava_tokenizer_load(tmp("fuzz.json"));
        if (ft) {
            int buf[64];
            llava_tokenize(ft, "hello world", 11, 1, buf, 64);
            loaded++;
            llava_tokenizer_free(ft);
        }
    }
    free(src);
    (void)loaded;
    return 1;
}

static int t_inputs(const void *arg) {
    (void)arg;
    LlavaTokenizer *t = llava_tokenizer_load(fx("sp_first"));
    CHECK(t, "load: %s", llava_last_error());
    int ids[64], n;
    n = llava_tokenize(t, "ab\xff" "cd", 5, 1, ids, 64);
    CHECK(n < 0 && strstr(llava_last_error(), "not valid UTF-8") && strstr(llava_last_error(), "offset 2"), "invalid UTF-8: %s", llava_last_error());
    n = llava_tokenize(t, "\xe6\x97", 2, 1, ids, 64);
    CHECK(n < 0 && strstr(llava_last_error(), "UTF-8"), "truncated UTF-8: %s", llava_last_error());
    n = llava_tokenize(t, "\xed\xa0\x80", 3, 1, ids, 64);
    CHECK(n < 0, "a surrogate is not UTF-8");
    n = llava_tokenize(t, "hello world, this is a test", 27, 1, ids, 3);
    CHECK(n < 0 && strstr(llava_last_error(), "max_ids is 3"), "small max_ids: %s", llava_last_error());
    int need = llava_tokenize(t, "hello world, this is a test", 27, 1, NULL, 0);
    CHECK(need > 3 && llava_tokenize(t, "hello world, this is a test", 27, 1, ids, need) == need, "counting mode: %d", need);
    size_t big = (size_t)LLAVA_TOKENIZE_MAX_BYTES + 1;
    char *s = (char *)malloc(big);
    CHECK(s, "malloc");
    memset(s, 'a', big);
    n = llava_tokenize(t, s, big, 1, NULL, 0);
    free(s);
    CHECK(n < 0 && strstr(llava_last_error(), "longer than"), "over-long: %s", llava_last_error());
    /* a long text without spaces still encodes quickly (heap BPE, no quadratic pass) */
    size_t L = (size_t)1 << 20;
    s = (char *)malloc(L);
    size_t i;
    for (i = 0; i < L; i++) s[i] = "abcdefgh"[(i * 7 + i / 13) % 8];
    n = llava_tokenize(t, s, L, 0, NULL, 0);
    free(s);
    CHECK(n > 0, "1 MiB without spaces: %s", llava_last_error());
    char out[16];
    ids[0] = 1;
    ids[1] = 999999;
    CHECK(llava_detokenize(t, ids, 2, 0, out, sizeof out) < 0 && strstr(llava_last_error(), "999999"), "decode of a bad id: %s", llava_last_error());
    /* lookups */
    CHECK(llava_token_id(t, "<image>") == 1501 - 1 + 0 || llava_token_id(t, "<image>") > 0, "<image> id");
    CHECK(llava_tokenizer_bos(t) == 1 && llava_tokenizer_eos(t) == 2 && llava_tokenizer_unk(t) == 0, "bos/eos/unk %d %d %d", llava_tokenizer_bos(t),
          llava_tokenizer_eos(t), llava_tokenizer_unk(t));
    CHECK(llava_token_is_special(t, llava_token_id(t, "<image>")) && !llava_token_is_special(t, 100), "special flags");
    CHECK(!strcmp(llava_token_str(t, llava_token_id(t, "<image>")), "<image>"), "token string");
    /* streaming never splits a character: the three byte tokens of U+65E5 */
    LlavaDecoder d;
    llava_decoder_init(&d, t, 1);
    int b1 = llava_token_id(t, "<0xE6>"), b2 = llava_token_id(t, "<0x97>"), b3 = llava_token_id(t, "<0xA5>");
    size_t l1, l2, l3;
    const char *p1 = llava_decoder_push(&d, b1, &l1);
    const char *p2 = p1 ? llava_decoder_push(&d, b2, &l2) : NULL;
    CHECK(p1 && p2 && l1 == 0 && l2 == 0, "partial character emitted");
    const char *p3 = llava_decoder_push(&d, b3, &l3);
    CHECK(p3 && l3 == 3 && !memcmp(p3, "\xe6\x97\xa5", 3), "the character after its last byte");
    CHECK(llava_decoder_push(&d, 123456, &l1) == NULL, "bad id in the stream");
    llava_decoder_free(&d);
    llava_tokenizer_free(t);
    return 1;
}

/* --- Unicode normalizers (NFC, NFD, NFKC, NFKD) ------------------------------------------------- */
/* one normalizer on s: the text and the offset of every output byte (and of the end) */
static int norm_is(int type, const char *s, const char *want, const int *want_off) {
    size_t n = strlen(s), i;
    int o[64];
    LlavaBuf out;
    llava__tok_ints oo;
    CHECK(n < 63, "test string too long");
    for (i = 0; i <= n; i++) o[i] = (int)i;
    memset(&out, 0, sizeof out);
    memset(&oo, 0, sizeof oo);
    int rc = llava__tok_unorm(s, n, o, type == LLAVA__NORM_NFKD || type == LLAVA__NORM_NFKC, type == LLAVA__NORM_NFC || type == LLAVA__NORM_NFKC, &out, &oo);
    int same = rc == 0 && out.n == strlen(want) && !memcmp(out.p ? out.p : "", want, out.n) && oo.n == out.n + 1;
    for (i = 0; same && want_off && i <= out.n; i++) same = oo.p[i] == want_off[i];
    char got[256] = "", offs[256] = "";
    size_t k = 0;
    for (i = 0; i < out.n && k + 8 < sizeof got; i++) k += (size_t)snprintf(got + k, sizeof got - k, "%02X ", (unsigned char)out.p[i]);
    for (i = 0, k = 0; i < oo.n && k + 8 < sizeof offs; i++) k += (size_t)snprintf(offs + k, sizeof offs - k, "%d ", oo.p[i]);
    free(out.p);
    free(oo.p);
    CHECK(same, "normalizer %d of \"%s\": bytes [%s] offsets [%s]", type, s, got, offs);
    return 1;
}
static int t_normalizers(const void *arg) {
    (void)arg;
    /* composition: e + U+0301 -> U+00E9, aligned to the e only (as tokenizers' transform does) */
    static const int o1[] = {0, 0, 3};
    if (!norm_is(LLAVA__NORM_NFC, "e\xcc\x81", "\xc3\xa9", o1)) return 0;
    /* decomposition: U+00E9 -> e + U+0301, the mark inserted with the e's alignment */
    static const int o2[] = {0, 0, 0, 2};
    if (!norm_is(LLAVA__NORM_NFD, "\xc3\xa9", "e\xcc\x81", o2)) return 0;
    /* NFKC of U+FB01 is "fi"; NFKD of U+2460 is "1"; full-width, superscript, squared units */
    static const int o3[] = {0, 0, 3};
    if (!norm_is(LLAVA__NORM_NFKC, "\xef\xac\x81", "fi", o3)) return 0;
    if (!norm_is(LLAVA__NORM_NFKD, "\xe2\x91\xa0", "1", NULL)) return 0;
    if (!norm_is(LLAVA__NORM_NFKC, "\xef\xbc\xa1\xc2\xb2\xe3\x8e\x8f", "A2kg", NULL)) return 0;
    if (!norm_is(LLAVA__NORM_NFC, "\xef\xac\x81", "\xef\xac\x81", NULL)) return 0; /* not canonical */
    /* canonical ordering: a + U+0302 (230) + U+0323 (220) -> a + U+0323 + U+0302; each mark takes the
       alignment of the position it lands in */
    static const int o4[] = {0, 1, 2, 3, 4, 5};
    if (!norm_is(LLAVA__NORM_NFD, "a\xcc\x82\xcc\xa3", "a\xcc\xa3\xcc\x82", o4)) return 0;
    if (!norm_is(LLAVA__NORM_NFC, "a\xcc\x82\xcc\xa3", "\xe1\xba\xad", NULL)) return 0; /* U+1EAD */
    if (!norm_is(LLAVA__NORM_NFC, "a\xcc\xa3\xcc\x82", "\xe1\xba\xad", NULL)) return 0;
    /* a blocked mark stays: U+0301 after U+0301 */
    if (!norm_is(LLAVA__NORM_NFC, "e\xcc\x81\xcc\x81", "\xc3\xa9\xcc\x81", NULL)) return 0;
    /* singletons and exclusions: U+212B -> U+00C5, U+2126 -> U+03A9, U+0958 stays decomposed */
    if (!norm_is(LLAVA__NORM_NFC, "\xe2\x84\xab", "\xc3\x85", NULL)) return 0;
    if (!norm_is(LLAVA__NORM_NFC, "\xe2\x84\xa6", "\xce\xa9", NULL)) return 0;
    if (!norm_is(LLAVA__NORM_NFC, "\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc", NULL)) return 0;
    /* Hangul: jamo L V T compose to U+AC01, which decomposes back; LV + U+11A7 (not a T) does not */
    static const int o5[] = {0, 1, 2, 9}; /* same length as the L it replaces: its bytes */
    if (!norm_is(LLAVA__NORM_NFC, "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81", o5)) return 0;
    if (!norm_is(LLAVA__NORM_NFD, "\xea\xb0\x81", "\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", NULL)) return 0;
    if (!norm_is(LLAVA__NORM_NFC, "\xea\xb0\x80\xe1\x86\xa7", "\xea\xb0\x80\xe1\x86\xa7", NULL)) return 0;
    /* Lowercase: U+0130 becomes i + U+0307 (the mark inserted with the offset of the character), U+023A
       (2 bytes) becomes U+2C65 (3 bytes), U+1E9E becomes U+00DF; Greek capital sigma is always small sigma */
    {
        static const char *in[] = {"A\xc4\xb0", "\xc8\xba", "\xe1\xba\x9e\xce\xa3", "\xf0\x90\x90\x80"};
        static const char *want[] = {"ai\xcc\x87", "\xe2\xb1\xa5", "\xc3\x9f\xcf\x83", "\xf0\x90\x90\xa8"};
        static const int off0[] = {0, 1, 1, 1, 3}, off1[] = {0, 0, 0, 2};
        const int *offs[] = {off0, off1, NULL, NULL};
        int k;
        for (k = 0; k < 4; k++) {
            size_t n = strlen(in[k]), q;
            int o[16];
            LlavaBuf out;
            llava__tok_ints oo;
            for (q = 0; q <= n; q++) o[q] = (int)q;
            memset(&out, 0, sizeof out);
            memset(&oo, 0, sizeof oo);
            llava__tok_norm_lower(in[k], n, o, &out, &oo);
            int same = out.n == strlen(want[k]) && !memcmp(out.p, want[k], out.n) && oo.n == out.n + 1;
            for (q = 0; same && offs[k] && q <= out.n; q++) same = oo.p[q] == offs[k][q];
            free(out.p);
            free(oo.p);
            CHECK(same, "Lowercase of string %d is not as tokenizers makes it", k);
        }
    }
    /* ASCII and an empty string are unchanged */
    static const int o6[] = {0, 1, 2, 3};
    if (!norm_is(LLAVA__NORM_NFKC, "abc", "abc", o6)) return 0;
    if (!norm_is(LLAVA__NORM_NFD, "", "", NULL)) return 0;
    return 1;
}

/* the normalizing tokenizers of tests/fixtures/tokenizer_unicode: ids, decodings and token starts */
static LlavaJson g_utexts;
static int g_nutexts;
static int t_unicode_expected(const void *arg) {
    const char *name = (const char *)arg;
    char path[600];
    snprintf(path, sizeof path, "%s/../tokenizer_unicode/%s", g_fix, name);
    LlavaTokenizer *t = llava_tokenizer_load(path);
    CHECK(t, "load: %s", llava_last_error());
    snprintf(path, sizeof path, "%s/../tokenizer_unicode/%s/expected.jsonl", g_fix, name);
    size_t n;
    char *all = read_all(path, &n), *line = all;
    CHECK(all, "cannot read %s", path);
    static int exp[MAXIDS], starts[MAXIDS], raw[MAXIDS];
    char a[2048], b[2048];
    int i, ok = 1, total = g_ntexts + g_nutexts, npre = llava_tokenize(t, "", 0, 1, NULL, 0);
    const LlavaJsonNode *ut = llava_json_first(&g_utexts, &g_utexts.nodes[0]);
    for (i = 0; i < total && ok; i++) {
        char *nl = strchr(line, '\n');
        LlavaJson j;
        CHECK(nl, "%s: %d lines for %d texts", path, i, total);
        *nl = 0;
        CHECK(!llava_json_parse(&j, line, strlen(line), path), "%s", llava_last_error());
        const LlavaJsonNode *r = &j.nodes[0];
        const char *text = i < g_ntexts ? g_text[i] : ut->str;
        size_t tn = strlen(text);
        int ne = parse_ids(llava__tok_jstr(&j, r, "ids"), exp, MAXIDS);
        llava__tok_out out;
        memset(&out, 0, sizeof out);
        if (llava__tok_encode(t, text, tn, 1, &out)) {
            snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\": %s", i, text, llava_last_error());
            ok = 0;
        }
        if (ok && !same_ids(exp, ne, out.ids.p, (int)out.ids.n)) {
            fmt_ids(a, sizeof a, exp, ne);
            fmt_ids(b, sizeof b, out.ids.p, (int)out.ids.n);
            snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\": ids [%s] but tokenizers says [%s]", i, text, b, a);
            ok = 0;
        }
        /* token starts, where the token starts at a character of the text (byte-level tokens that
           begin inside a character are given the byte here, the character in tokenizers) */
        const char *ss = llava__tok_jstr(&j, r, "starts");
        if (ok && ss) {
            int ns = parse_ids(ss, starts, MAXIDS), k;
            CHECK(ns == ne, "text %d: %d starts for %d ids in the fixture", i, ns, ne);
            for (k = 0; k < ns && ok; k++) {
                int s = out.start.p[k];
                if (s < (int)tn && ((unsigned char)text[s] & 0xC0) == 0x80) continue;
                if (s != starts[k]) {
                    snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\": token %d (id %d) starts at byte %d, tokenizers says %d", i, text, k, exp[k], s,
                             starts[k]);
                    ok = 0;
                }
            }
        }
        llava__tok_out_free(&out);
        const char *dec = llava__tok_jstr(&j, r, "dec");
        if (!dec) dec = text;
        int nr = llava_tokenize(t, text, tn, 0, raw, MAXIDS);
        if (ok && (nr != ne - npre || !same_ids(raw, nr, exp + npre, ne - npre))) {
            snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\": without special tokens the ids are not the rest", i, text);
            ok = 0;
        }
        char *d1 = ok ? decode(t, raw, nr, 0) : NULL;
        if (ok && (!d1 || strcmp(d1, dec))) snprintf(g_msg, sizeof g_msg, "text %d: decode gives \"%.60s\", tokenizers \"%.60s\"", i, d1 ? d1 : "(error)", dec), ok = 0;
        free(d1);
        llava_json_free(&j);
        line = nl + 1;
        if (i >= g_ntexts) ut = llava_json_next(&g_utexts, ut);
    }
    free(all);
    llava_tokenizer_free(t);
    return ok;
}
/* Strip and StripAccents in a Sequence: qwen2_nfd's model with qwen2_seq/normalizer.json */
static int t_unicode_seq(const void *arg) {
    (void)arg;
    size_t n, nn;
    char path[600], *tj, *nj, *all, *line;
    snprintf(path, sizeof path, "%s/../tokenizer_unicode/qwen2_nfd/tokenizer.json", g_fix);
    tj = read_all(path, &n);
    snprintf(path, sizeof path, "%s/../tokenizer_unicode/qwen2_seq/normalizer.json", g_fix);
    nj = read_all(path, &nn);
    CHECK(tj && nj, "cannot read the fixture");
    static const char nfd[] = "\"normalizer\": {\n    \"type\": \"NFD\"\n  }";
    char *at = strstr(tj, nfd);
    CHECK(at, "qwen2_nfd/tokenizer.json has no NFD normalizer");
    while (nn && (nj[nn - 1] == '\n' || nj[nn - 1] == '\r')) nj[--nn] = 0;
    LlavaBuf b;
    memset(&b, 0, sizeof b);
    llava_buf_put(&b, tj, (size_t)(at - tj));
    llava_buf_put(&b, "\"normalizer\": ", 14);
    llava_buf_put(&b, nj, nn);
    llava_buf_put(&b, at + strlen(nfd), strlen(at + strlen(nfd)) + 1);
    free(tj);
    free(nj);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/seq", g_tmp);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    int wrc = write_all(path, b.p);
    free(b.p);
    CHECK(wrc == 0, "cannot write %s", path);
    LlavaTokenizer *t = llava_tokenizer_load(dir);
    CHECK(t, "load: %s", llava_last_error());
    snprintf(path, sizeof path, "%s/../tokenizer_unicode/qwen2_seq/expected.jsonl", g_fix);
    all = read_all(path, &n);
    CHECK(all, "cannot read %s", path);
    static int exp[MAXIDS], starts[MAXIDS];
    char a[2048], c[2048];
    int i, ok = 1;
    for (i = 0, line = all; *line && ok; i++) {
        char *nl = strchr(line, '\n');
        LlavaJson j;
        CHECK(nl, "%s: no newline at the end", path);
        *nl = 0;
        CHECK(!llava_json_parse(&j, line, strlen(line), path), "%s", llava_last_error());
        const LlavaJsonNode *r = &j.nodes[0];
        const char *text = llava__tok_jstr(&j, r, "text"), *dec = llava__tok_jstr(&j, r, "dec");
        CHECK(text, "%s: row %d has no text", path, i);
        if (!dec) dec = text;
        int ne = parse_ids(llava__tok_jstr(&j, r, "ids"), exp, MAXIDS), ns = parse_ids(llava__tok_jstr(&j, r, "starts"), starts, MAXIDS), k;
        llava__tok_out out;
        memset(&out, 0, sizeof out);
        if (llava__tok_encode(t, text, strlen(text), 1, &out)) snprintf(g_msg, sizeof g_msg, "text %d: %s", i, llava_last_error()), ok = 0;
        if (ok && !same_ids(exp, ne, out.ids.p, (int)out.ids.n)) {
            fmt_ids(a, sizeof a, exp, ne);
            fmt_ids(c, sizeof c, out.ids.p, (int)out.ids.n);
            snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\": ids [%s] but tokenizers says [%s]", i, text, c, a);
            ok = 0;
        }
        for (k = 0; ok && k < ns && k < ne; k++) {
            int s = out.start.p[k];
            if (s < (int)strlen(text) && ((unsigned char)text[s] & 0xC0) == 0x80) continue;
            if (s != starts[k])
                snprintf(g_msg, sizeof g_msg, "text %d \"%.60s\": token %d starts at byte %d, tokenizers says %d", i, text, k, s, starts[k]), ok = 0;
        }
        char *d = ok ? decode(t, out.ids.p, (int)out.ids.n, 0) : NULL;
        if (ok && (!d || strcmp(d, dec))) snprintf(g_msg, sizeof g_msg, "text %d: decode gives \"%.60s\", tokenizers \"%.60s\"", i, d ? d : "(error)", dec), ok = 0;
        free(d);
        llava__tok_out_free(&out);
        llava_json_free(&j);
        line = nl + 1;
    }
    free(all);
    llava_tokenizer_free(t);
    CHECK(!ok || i > 600, "only %d rows", i);
    return ok;
}

static int load_utexts(void) {
    size_t n;
    char path[600];
    snprintf(path, sizeof path, "%s/../tokenizer_unicode/texts.json", g_fix);
    char *s = read_all(path, &n);
    if (!s || llava_json_parse(&g_utexts, s, n, path)) {
        free(s);
        return -1;
    }
    free(s);
    g_nutexts = g_utexts.nodes[0].count;
    return 0;
}

int main(int argc, char **argv) {
    static const char usage[] =
        "usage: test_tokenizer [FIXTURES_DIR]\n"
        "Runs the tokenizer and template tests; prints one line per test and \"N passed, N failed\".\n"
        "  FIXTURES_DIR  the tokenizer fixtures (default tests/fixtures/tokenizer, from the repository root)\n"
        "  --help        this text\n";
    int a, n_pos = 0;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (argv[a][0] == '-' || n_pos++) {
            fprintf(stderr, "test_tokenizer: %s '%s' (see test_tokenizer --help)\n", argv[a][0] == '-' ? "unknown option" : "unexpected argument",
                    argv[a]);
            return 2;
        }
        g_fix = argv[a];
    }
    snprintf(g_tmp, sizeof g_tmp, "/tmp/llava-tok-test-XXXXXX");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot make a temporary directory\n");
        return 1;
    }
    static const char *names[] = {"sp_first", "sp_always", "sp_normalizer", "bl_gpt2", "bl_llama3", "bl_qwen2", "trained"};
    static const char *spm_names[] = {"spm/bf_legacy", "spm/bf_nolegacy", "spm/nobf", "spm/v_unused", "spm/v_rews", "spm/v_plain", "spm/v_maps", "spm/charsmap", "spm/unigram"};
    char title[200];
    size_t i;
    if (load_texts(fx("texts.json"))) {
        printf("FAIL  fixtures: cannot read %s/texts.json\n", g_fix);
        g_fail++;
    } else {
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(title, sizeof title, "%s: %d texts, ids/decode/skip_special/streaming identical to tokenizers", names[i], g_ntexts);
            run(title, t_expected, names[i]);
        }
        for (i = 0; i < sizeof spm_names / sizeof spm_names[0]; i++) {
            snprintf(title, sizeof title, "%s (tokenizer.model): expected.jsonl's texts, ids/decode/skip_special/streaming identical to the slow LlamaTokenizer",
                     spm_names[i]);
            run(title, t_expected, spm_names[i]);
            snprintf(title, sizeof title, "%s: expected.jsonl's texts, encode and decode identical to sentencepiece", spm_names[i]);
            run(title, t_spm_raw, spm_names[i]);
        }
    }
    run("normalizers: NFC, NFD, NFKC, NFKD, Lowercase of known strings, with each byte's alignment", t_normalizers, NULL);
    if (g_ntexts && load_utexts()) {
        printf("FAIL  fixtures: cannot read %s/../tokenizer_unicode/texts.json\n", g_fix);
        g_fail++;
    } else if (g_ntexts) {
        static const char *unames[] = {"qwen2_nfc", "llama3_nfc", "qwen2_nfd", "qwen2_nfkc", "qwen2_nfkd"};
        for (i = 0; i < sizeof unames / sizeof unames[0]; i++) {
            snprintf(title, sizeof title, "%s: %d texts, ids/token starts/decode identical to tokenizers", unames[i], g_ntexts + g_nutexts);
            run(title, t_unicode_expected, unames[i]);
        }
        llava_json_free(&g_utexts);
    }
    run("qwen2_seq: Strip, NFKD, StripAccents, Lowercase, NFC in a Sequence: ids/token starts/decode identical to tokenizers", t_unicode_seq, NULL);
    run("tokenizer.model: hand-made BPE/Unigram models, refused and malformed files, fuzzing, long streams, the constructor from arrays", t_spm_misc,
        NULL);
    run("trainer reproduces trained/ (vocab 1000) and tokenizers encodes it the same", t_trainer, "trained");
    run("trainer reproduces tiny600/ (vocab 600, <image> = 599)", t_trainer, "tiny600");
    run("trainer: no piece joins two scripts (letters, digits and punctuation apart)", t_trainer_scripts, NULL);
    run("templates: text, ids and labels equal the original LLaVA code / chat template", t_templates, NULL);
    run("templates (tokenizer.model, legacy and not): text, ids and labels equal the original LLaVA code / chat template", t_templates,
        "spm/templates.json");
    run("templates: misaligned answers, bad roles, generation prompts", t_template_errors, NULL);
    run("templates: a conversation continued turn by turn", t_template_continue, NULL);
    run("chatml: Qwen2 / SmolLM2 / LLaVA-OneVision chat templates: text, ids, labels (also from a GGUF tokenizer), detection", t_chatml, NULL);
    run("chatml: detecting the other templates, reading a model's chat template, an answer's end, continuing", t_chatml_detect, NULL);
    run("malformed tokenizer.json: clear errors, fuzzed files do not crash", t_malformed, NULL);
    run("inputs: invalid UTF-8, over-long, small max_ids, bad ids, lookups, streaming", t_inputs, NULL);
    llava_json_free(&g_texts);
    free(g_text);
    free(g_text_len);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return test_summary();
}
