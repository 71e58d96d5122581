/* JSON reader (llava_json_parse): any bytes; a parsed document is walked through the public accessors
   and its strings written back out (llava_buf_json_string) */
#include "fuzz.h"

static void fuzz_init(void) {}

static void walk(const LlavaJson *j, const LlavaJsonNode *x, LlavaBuf *b, int depth) {
    const LlavaJsonNode *c;
    int k = 0;
    if (x->key) llava_buf_json_string(b, x->key, strlen(x->key));
    if (x->type == LLAVA_JSON_STR) llava_buf_json_string(b, x->str, strlen(x->str));
    if (x->type != LLAVA_JSON_ARR && x->type != LLAVA_JSON_OBJ) return;
    for (c = llava_json_first(j, x); c; c = llava_json_next(j, c), k++) {
        if (k < 64 && llava_json_at(j, x, k) != c) abort(); /* the accessors disagree */
        if (c->key && !llava_json_get(j, x, c->key)) abort();
        walk(j, c, b, depth + 1);
    }
    if (k != x->count) abort();
}

static void fuzz_one(const unsigned char *d, size_t n) {
    LlavaJson j;
    if (llava_json_parse(&j, (const char *)d, n, "fuzz") == LLAVA_OK) {
        LlavaBuf b;
        memset(&b, 0, sizeof b);
        walk(&j, &j.nodes[0], &b, 0);
        llava_buf_free(&b);
    } else if (!llava_last_error()[0]) {
        abort(); /* a failure must say why */
    }
    llava_json_free(&j);
}
