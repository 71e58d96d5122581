/* data.h: training data in LLaVA's own format, turned into batches of LlavaSample, on llava.h's public
   API. Include it after llava.h (and after common.h if the program uses it; data.h does not need it).

   The format, as LLaVA's repository writes it (a JSON list, one object per sample):
     [{"id": "000123", "image": "000123.png",
       "conversations": [{"from": "human", "value": "<image>\nWhat is in the picture?"},
                         {"from": "gpt", "value": "A red circle."}, ...]}, ...]
   "image" is optional (a text-only sample), relative to an images folder; "from" is human/gpt (also
   user/assistant), alternating and starting with human; the first human turn holds one "<image>" when
   there is an image and none otherwise.

   Use:
       DataSet d;
       if (data_load(&d, "stage1.json,more.json", "images", m, tok, LLAVA_TEMPLATE_PLAIN, 2048) != 0)
           fprintf(stderr, "%s\n", d.error);
       ...
       data_batch(&d, step, B, seed, llava_model_config(m), pixels, batch)   (each step)
       data_free(&d);

   Every sample is checked and tokenized once, at load (an error names the file and the sample), so a
   run never stops half-way on bad data; images are decoded when their batch comes. */
#ifndef LLAVA_TOOLS_DATA_H
#define LLAVA_TOOLS_DATA_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *id;           /* the sample's "id" ("#K", its position, when it has none) */
    char *image;        /* the image's path, or NULL for a text-only sample */
    int *ids, *labels;  /* [n] as llava_template_tokenize makes them, image placeholders included */
    int n;
} DataSample;

typedef struct {
    DataSample *s;       /* [n] in the files' order */
    int n;
    int truncated;       /* samples cut to max_len positions */
    int dropped;         /* samples left out: max_len would cut through their image's placeholders */
    long tokens;         /* positions in all samples, after truncation */
    int *perm;           /* [n] the data order of epoch perm_epoch (data_index) */
    long perm_epoch;
    char error[1024];    /* what went wrong, when a function returns -1 */
} DataSet;

#if defined(__GNUC__) || defined(__clang__)
#define DATA_UNUSED __attribute__((unused))
#define DATA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DATA_UNUSED
#define DATA_PRINTF(a, b)
#endif

/* sets d->error; returns -1 */
DATA_PRINTF(2, 3) static int data__fail(DataSet *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->error, sizeof d->error, fmt, ap);
    va_end(ap);
    return -1;
}

static char *data__join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *r = (char *)malloc(n);
    if (r) snprintf(r, n, "%s/%s", dir, name);
    return r;
}

/* one sample's conversation, checked, into msgs[64]; returns the turn count, or -1 with d->error set */
static int data__conversation(DataSet *d, const LlavaJson *j, const LlavaJsonNode *e, const char *path, const char *sid, int has_image,
                              LlavaMessage *msgs) {
    const LlavaJsonNode *conv = llava_json_get(j, e, "conversations"), *t;
    int nm = 0, images_in_text = 0;
    if (!conv || conv->type != LLAVA_JSON_ARR || conv->count < 2)
        return data__fail(d, "%s: sample %s: \"conversations\" must list at least one human and one gpt turn", path, sid);
    for (t = llava_json_first(j, conv); t; t = llava_json_next(j, t)) {
        const LlavaJsonNode *from = llava_json_get(j, t, "from"), *val = llava_json_get(j, t, "value");
        if (!from || from->type != LLAVA_JSON_STR || !val || val->type != LLAVA_JSON_STR || nm == 64)
            return data__fail(d, "%s: sample %s: turn %d needs string \"from\" and \"value\" (at most 64 turns)", path, sid, nm);
        const int human = !strcmp(from->str, "human") || !strcmp(from->str, "user");
        const int gpt = !strcmp(from->str, "gpt") || !strcmp(from->str, "assistant");
        if ((!human && !gpt) || (human != (nm % 2 == 0)))
            return data__fail(d, "%s: sample %s: the conversation does not alternate human, gpt, human, ... (turn %d is \"%s\")", path,
                              sid, nm, from->str);
        const char *p = val->str + strspn(val->str, " \n\t");
        if (gpt && !*p) return data__fail(d, "%s: sample %s: turn %d, an assistant turn, is empty", path, sid, nm);
        for (p = val->str; (p = strstr(p, "<image>")); p += 7) images_in_text++;
        msgs[nm].role = human ? "user" : "assistant";
        msgs[nm].text = val->str;
        nm++;
    }
    if (nm % 2) return data__fail(d, "%s: sample %s: the conversation ends with a human turn", path, sid);
    if (images_in_text != has_image)
        return data__fail(d, "%s: sample %s: %d <image> placeholders in the text for %d image%s", path, sid, images_in_text, has_image,
                          has_image ? "" : "s");
    return nm;
}

/* one JSON file appended to d */
static int data__file(DataSet *d, const char *path, const char *images, const LlavaModel *m, const LlavaTokenizer *tok, LlavaTemplate tpl,
                      int max_len, int *ids, int *labels, int cap) {
    const LlavaConfig *cfg = llava_model_config(m);
    /* the placeholders the model's splice expects: one LLAVA_IMAGE_INDEX the splice expands (the original
       layout), or llava-hf's image token repeated once per feature row */
    const int image_id = cfg->image_token_expands ? LLAVA_IMAGE_INDEX : cfg->image_token_id;
    const int image_repeat = cfg->image_token_expands ? 1 : llava_image_tokens(m);
    size_t len;
    char *text = llava_read_file(path, (size_t)1 << 31, &len);
    LlavaJson j;
    int rc = 0, k = 0, usable = 0;
    if (!text) return data__fail(d, "%s", llava_last_error());
    if (llava_json_parse(&j, text, len, path) != LLAVA_OK) {
        rc = data__fail(d, "%s", llava_last_error());
    } else if (j.nodes[0].type != LLAVA_JSON_ARR) {
        rc = data__fail(d, "%s: not a JSON list of samples", path);
    } else {
        DataSample *grown = (DataSample *)realloc(d->s, sizeof(DataSample) * ((size_t)d->n + (size_t)j.nodes[0].count + 1));
        if (!grown) rc = data__fail(d, "%s: out of memory", path);
        else d->s = grown;
    }
    const LlavaJsonNode *e;
    for (e = rc ? NULL : llava_json_first(&j, &j.nodes[0]); e && !rc; e = llava_json_next(&j, e), k++) {
        const LlavaJsonNode *idn = llava_json_get(&j, e, "id"), *img = llava_json_get(&j, e, "image");
        char sid[128];
        if (idn && idn->type == LLAVA_JSON_STR) snprintf(sid, sizeof sid, "%s", idn->str);
        else if (idn && idn->type == LLAVA_JSON_NUM) snprintf(sid, sizeof sid, "%.0f", idn->num);
        else snprintf(sid, sizeof sid, "#%d", k);
        const int has_image = img && img->type == LLAVA_JSON_STR;
        LlavaMessage msgs[64];
        const int nm = data__conversation(d, &j, e, path, sid, has_image, msgs);
        if (nm < 0) {
            rc = -1;
            break;
        }
        char *ipath = has_image ? data__join(images, img->str) : NULL;
        FILE *fp = ipath ? fopen(ipath, "rb") : NULL;
        if (ipath && !fp) {
            rc = data__fail(d, "%s: sample %s: image %s cannot be opened (%s)", path, sid, ipath, strerror(errno));
            free(ipath);
            break;
        }
        if (fp) fclose(fp);
        int n = llava_template_tokenize(tok, tpl, msgs, nm, 0, image_id, image_repeat, sid, ids, labels, cap);
        if (n < 0) {
            rc = data__fail(d, "%s", llava_last_error());
            free(ipath);
            break;
        }
        if (n > max_len) { /* truncated; a cut through the image's placeholders would leave a broken image: dropped */
            int i, cut_image = 0;
            for (i = max_len; i < n; i++) cut_image |= ids[i] == image_id && i > 0 && ids[i - 1] == image_id;
            if (cut_image || (has_image && image_repeat > max_len)) {
                d->dropped++;
                free(ipath);
                continue;
            }
            d->truncated++;
            n = max_len;
        }
        DataSample *s = &d->s[d->n++];
        s->id = (char *)malloc(strlen(sid) + 1);
        s->image = ipath;
        s->n = n;
        s->ids = (int *)malloc(sizeof(int) * (size_t)n);
        s->labels = (int *)malloc(sizeof(int) * (size_t)n);
        if (!s->id || !s->ids || !s->labels) {
            rc = data__fail(d, "%s: out of memory", path);
            break;
        }
        strcpy(s->id, sid);
        memcpy(s->ids, ids, sizeof(int) * (size_t)n);
        memcpy(s->labels, labels, sizeof(int) * (size_t)n);
        d->tokens += n;
        usable++;
    }
    llava_json_free(&j);
    llava_free_string(text);
    if (rc == 0 && usable == 0) rc = data__fail(d, "%s: no usable samples", path);
    return rc;
}

DATA_UNUSED static void data_free(DataSet *d) {
    int i;
    for (i = 0; i < d->n; i++) free(d->s[i].id), free(d->s[i].image), free(d->s[i].ids), free(d->s[i].labels);
    free(d->s);
    free(d->perm);
    d->s = NULL;
    d->perm = NULL;
    d->n = 0;
}

/* Reads and tokenizes `files` (one path, or several joined by commas, in that order) with template tpl
   for model m; image paths are relative to the folder `images`. Samples longer than max_len positions
   are cut to it. Returns 0, or -1 with d->error naming the file and the sample (d is then empty). */
DATA_UNUSED static int data_load(DataSet *d, const char *files, const char *images, const LlavaModel *m, const LlavaTokenizer *tok,
                                 LlavaTemplate tpl, int max_len) {
    const int cap = 1 << 16; /* the longest sample before truncation */
    int *ids = (int *)malloc(sizeof(int) * cap), *labels = (int *)malloc(sizeof(int) * cap), rc = 0;
    char *list = (char *)malloc(strlen(files) + 1), *f, *next;
    memset(d, 0, sizeof *d);
    d->perm_epoch = -1;
    if (!ids || !labels || !list) rc = data__fail(d, "out of memory");
    else strcpy(list, files);
    for (f = list; !rc && f; f = next) {
        next = strchr(f, ',');
        if (next) *next++ = 0;
        if (*f) rc = data__file(d, f, images, m, tok, tpl, max_len, ids, labels, cap);
    }
    if (!rc && d->n == 0) rc = data__fail(d, "%s: no samples", files);
    if (!rc && !(d->perm = (int *)malloc(sizeof(int) * (size_t)d->n))) rc = data__fail(d, "out of memory");
    free(ids), free(labels), free(list);
    if (rc) data_free(d);
    return rc;
}

/* The sample at position k of the data order: a fresh permutation per epoch of d->n samples, from the
   seed and the epoch only, so that a resumed run sees the same order as one never stopped. */
DATA_UNUSED static int data_index(DataSet *d, long k, uint64_t seed) {
    const long epoch = k / d->n;
    if (d->perm_epoch != epoch) {
        uint64_t r = seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch * 0xD1B54A32D192ED03ull + 1;
        int i;
        for (i = 0; i < d->n; i++) d->perm[i] = i;
        for (i = d->n - 1; i > 0; i--) { /* Fisher-Yates */
            int j = (int)(llava_rng_next(&r) % (uint64_t)(i + 1)), t = d->perm[i];
            d->perm[i] = d->perm[j];
            d->perm[j] = t;
        }
        d->perm_epoch = epoch;
    }
    return d->perm[k % d->n];
}

/* The batch of optimizer step `step` (0-based): samples step*B .. step*B+B-1 of the data order, their
   images decoded and preprocessed for cfg into pixels [B][3][S][S]. Returns the batch's token count, or
   -1 with d->error naming the sample whose image failed. */
DATA_UNUSED static long data_batch(DataSet *d, long step, int B, uint64_t seed, const LlavaConfig *cfg, float *pixels, LlavaSample *batch) {
    const size_t npix = (size_t)3 * (size_t)cfg->vision_image_size * (size_t)cfg->vision_image_size;
    long tokens = 0;
    int k;
    for (k = 0; k < B; k++) {
        const DataSample *s = &d->s[data_index(d, step * B + k, seed)];
        float *px = pixels + npix * (size_t)k;
        batch[k].ids = s->ids;
        batch[k].labels = s->labels;
        batch[k].n = s->n;
        batch[k].n_images = s->image ? 1 : 0;
        batch[k].pixels = s->image ? px : NULL;
        if (s->image) {
            LlavaImage img;
            int bad = llava_image_load(&img, s->image) != LLAVA_OK;
            if (!bad) {
                bad = llava_preprocess(cfg, &img, LLAVA_PRE_DEFAULT, px) != LLAVA_OK;
                llava_image_free(&img);
            }
            if (bad) return data__fail(d, "sample %s: %s", s->id, llava_last_error());
        }
        tokens += s->n;
    }
    return tokens;
}

#endif /* LLAVA_TOOLS_DATA_H */
