/* world.h: the synthetic shapes world, shared by tools/repro/world.c (which draws it), tools/repro/instruct.c
   (which writes instruction data and held-out sets about it), tools/repro/judge_offline.c (which checks what
   an answer says against it) and tests/test_world.c.

   A scene is 1-5 flat shapes on a plain or two-tone background. All geometry is in normalized image
   coordinates: x to the right, y down, both in [0, 1]. Every fact the text tools state or check is
   derived from the box list (rounded to 3 decimals, as world.json stores it) and the size class, so
   any program that reads world.json re-derives exactly the same facts.

   Include after llava.h (with LLAVA_IMPLEMENTATION): text is built in its LlavaBuf, world.json read with
   its JSON reader. */
#ifndef WORLD_H
#define WORLD_H
#ifndef LLAVA_H
#error "include llava.h before world.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../common.h" /* cli_xstrdup; CLI_UNUSED: each program uses some of the helpers below */

#define W_MAX_OBJ 8
#define W_PI 3.14159265358979323846

/* ---- vocabulary ------------------------------------------------------------------------------- */
enum { W_CIRCLE, W_SQUARE, W_TRIANGLE, W_STAR, W_CROSS, W_RING, W_DIAMOND, W_NSHAPE };
static const char *const w_shape_name[W_NSHAPE] = {"circle", "square", "triangle", "star", "cross", "ring", "diamond"};
static const char *const w_shape_plural[W_NSHAPE] = {"circles", "squares", "triangles", "stars",
                                                     "crosses", "rings",   "diamonds"};

#define W_NCOLOR 11
static const char *const w_color_name[W_NCOLOR] = {"red",  "orange", "yellow", "green", "cyan", "blue",
                                                   "purple", "pink", "brown",  "white", "black"};
static const unsigned char w_color_rgb[W_NCOLOR][3] = {
    {220, 30, 30},  {245, 140, 20}, {245, 225, 30},  {40, 170, 50},   {40, 220, 230}, {35, 70, 220},
    {140, 50, 190}, {250, 140, 200}, {130, 80, 35}, {255, 255, 255}, {15, 15, 15}};

/* background tones have names of their own, so "gray background" never reads as an object colour */
#define W_NBG 8
static const char *const w_bg_name[W_NBG] = {"gray", "silver", "beige", "navy", "olive", "teal", "maroon", "khaki"};
static const unsigned char w_bg_rgb[W_NBG][3] = {{128, 128, 128}, {192, 192, 192}, {232, 220, 190}, {25, 30, 90},
                                                 {110, 110, 40},  {30, 110, 110},  {100, 25, 35},  {190, 175, 120}};

enum { W_SMALL, W_MEDIUM, W_LARGE, W_NSIZE };
static const char *const w_size_name[W_NSIZE] = {"small", "medium", "large"};

enum { W_BG_PLAIN, W_BG_SPLIT_V, W_BG_SPLIT_H }; /* split_v: left | right halves; split_h: top / bottom */
static const char *const w_bg_kind_name[3] = {"plain", "split_v", "split_h"};

static const char *const w_number_word[11] = {"zero", "one", "two", "three", "four", "five",
                                              "six",  "seven", "eight", "nine", "ten"};
static const char *const w_number_cap[11] = {"Zero", "One", "Two", "Three", "Four", "Five",
                                             "Six",  "Seven", "Eight", "Nine", "Ten"};
/* "a" or "an" before a word of the world's (its colours and shapes: a vowel letter is a vowel sound) */
CLI_UNUSED static const char *w_article(const char *word) { return strchr("aeiou", word[0]) ? "an" : "a"; }

/* ---- scene -------------------------------------------------------------------------------------- */
typedef struct {
    int shape, color, size;
    double cx, cy, s; /* drawing geometry: centre and half extent (world.c only; not in world.json) */
    double box[4];    /* x1, y1, x2, y2, normalized, 3 decimals */
} WObj;

typedef struct {
    char id[32];
    char file[96];
    int bg_kind, bg[2]; /* bg[1] only for split backgrounds (right or bottom half) */
    int n;
    WObj o[W_MAX_OBJ]; /* in drawing order: later objects are drawn on top */
    char *cap[5];      /* captions (owned) */
} WScene;

/* ---- RNG: splitmix64 for seeding, xorshift64* for the stream ---------------------------------------- */
typedef struct { uint64_t s; } WRng;
CLI_UNUSED static uint64_t w_splitmix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
CLI_UNUSED static void w_rng_seed(WRng *r, uint64_t seed, uint64_t stream) {
    r->s = w_splitmix(w_splitmix(seed) ^ w_splitmix(stream + 0x632BE59BD9B4E019ull));
    if (!r->s) r->s = 1;
}
CLI_UNUSED static uint64_t w_rng_next(WRng *r) {
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
CLI_UNUSED static double w_rng_unif(WRng *r) { return (double)(w_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }
CLI_UNUSED static int w_rng_int(WRng *r, int n) { return n > 0 ? (int)(w_rng_next(r) % (uint64_t)n) : 0; }
CLI_UNUSED static void w_shuffle(WRng *r, int *a, int n) {
    int i;
    for (i = n - 1; i > 0; i--) {
        int j = w_rng_int(r, i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ---- geometry: the exact point sets world.c rasterizes ------------------------------------------- */
CLI_UNUSED static void w_star_vertices(const WObj *o, double *vx, double *vy) {
    int k;
    for (k = 0; k < 10; k++) {
        double a = -W_PI / 2 + k * W_PI / 5, r = (k & 1) ? o->s * 0.45 : o->s;
        vx[k] = o->cx + r * cos(a);
        vy[k] = o->cy + r * sin(a);
    }
}
CLI_UNUSED static int w_in_polygon(const double *vx, const double *vy, int n, double x, double y) {
    int i, j, c = 0;
    for (i = 0, j = n - 1; i < n; j = i++)
        if (((vy[i] > y) != (vy[j] > y)) && (x < (vx[j] - vx[i]) * (y - vy[i]) / (vy[j] - vy[i]) + vx[i])) c = !c;
    return c;
}
/* does the shape cover point (x, y)? */
CLI_UNUSED static int w_inside(const WObj *o, double x, double y) {
    double dx = x - o->cx, dy = y - o->cy, s = o->s;
    switch (o->shape) {
    case W_CIRCLE: return dx * dx + dy * dy <= s * s;
    case W_RING: {
        double d2 = dx * dx + dy * dy;
        return d2 <= s * s && d2 >= 0.3025 * s * s; /* inner radius 0.55 s */
    }
    case W_SQUARE: return fabs(dx) <= 0.85 * s && fabs(dy) <= 0.85 * s;
    case W_DIAMOND: return fabs(dx) / (0.8 * s) + fabs(dy) / s <= 1.0;
    case W_CROSS: return (fabs(dx) <= s && fabs(dy) <= 0.33 * s) || (fabs(dx) <= 0.33 * s && fabs(dy) <= s);
    case W_TRIANGLE: {
        double vx[3] = {o->cx, o->cx + s, o->cx - s}, vy[3] = {o->cy - s, o->cy + 0.75 * s, o->cy + 0.75 * s};
        return w_in_polygon(vx, vy, 3, x, y);
    }
    case W_STAR: {
        double vx[10], vy[10];
        w_star_vertices(o, vx, vy);
        return w_in_polygon(vx, vy, 10, x, y);
    }
    }
    return 0;
}
/* the tight box of the shape, unrounded */
CLI_UNUSED static void w_exact_box(const WObj *o, double *b) {
    double s = o->s, hx = s, top = s, bot = s;
    switch (o->shape) {
    case W_SQUARE: hx = top = bot = 0.85 * s; break;
    case W_DIAMOND: hx = 0.8 * s; break;
    case W_TRIANGLE: bot = 0.75 * s; break;
    case W_STAR: hx = s * cos(W_PI / 10); bot = s * sin(3 * W_PI / 10); break;
    default: break;
    }
    b[0] = o->cx - hx;
    b[1] = o->cy - top;
    b[2] = o->cx + hx;
    b[3] = o->cy + bot;
}
CLI_UNUSED static double w_round3(double v) { return floor(v * 1000.0 + 0.5) / 1000.0; }

/* ---- facts, all from the (rounded) box ------------------------------------------------------------ */
CLI_UNUSED static double w_cx(const WObj *o) { return 0.5 * (o->box[0] + o->box[2]); }
CLI_UNUSED static double w_cy(const WObj *o) { return 0.5 * (o->box[1] + o->box[3]); }
CLI_UNUSED static double w_dist(const WObj *a, const WObj *b) {
    double dx = w_cx(a) - w_cx(b), dy = w_cy(a) - w_cy(b);
    return sqrt(dx * dx + dy * dy);
}
CLI_UNUSED static int w_overlap(const WObj *a, const WObj *b) {
    return a->box[0] < b->box[2] && b->box[0] < a->box[2] && a->box[1] < b->box[3] && b->box[1] < a->box[3];
}

/* Positions. A claim ("on the left") is true inside a generous zone; the text generators only use the
   narrower zones of w_hpos/w_vpos, and multiple-choice questions only ask where exactly one choice is
   true. h: 0 left, 1 centre, 2 right; v: 0 top, 1 middle, 2 bottom. */
CLI_UNUSED static int w_hclaim(const WObj *o, int h) {
    double c = w_cx(o);
    return h == 0 ? c < 0.42 : h == 2 ? c > 0.58 : (c > 0.35 && c < 0.65);
}
CLI_UNUSED static int w_vclaim(const WObj *o, int v) {
    double c = w_cy(o);
    return v == 0 ? c < 0.42 : v == 2 ? c > 0.58 : (c > 0.35 && c < 0.65);
}
CLI_UNUSED static int w_hpos(const WObj *o) { double c = w_cx(o); return c < 0.4 ? 0 : c > 0.6 ? 2 : 1; }
CLI_UNUSED static int w_vpos(const WObj *o) { double c = w_cy(o); return c < 0.4 ? 0 : c > 0.6 ? 2 : 1; }

/* "in the top left", "on the right", "at the bottom", "in the center" */
CLI_UNUSED static const char *w_pos_phrase(int h, int v) {
    static const char *const p[3][3] = {{"in the top left", "at the top", "in the top right"},
                                        {"on the left", "in the center", "on the right"},
                                        {"in the bottom left", "at the bottom", "in the bottom right"}};
    return p[v][h];
}
CLI_UNUSED static const char *w_pos_name(int h, int v) {
    static const char *const p[3][3] = {{"top left", "top", "top right"},
                                        {"left", "center", "right"},
                                        {"bottom left", "bottom", "bottom right"}};
    return p[v][h];
}

/* relations: true and false as a checker sees them; the generators state them only with a wide margin */
enum { W_REL_LEFT, W_REL_RIGHT, W_REL_ABOVE, W_REL_BELOW, W_REL_LARGER, W_REL_SMALLER, W_REL_OVERLAP, W_REL_CLOSEST, W_NREL };
static const char *const w_rel_name[W_NREL] = {"left_of", "right_of", "above", "below", "larger_than", "smaller_than", "overlaps", "closest_to"};
CLI_UNUSED static int w_rel(const WScene *sc, int a, int b, int rel) {
    const WObj *A = &sc->o[a], *B = &sc->o[b];
    int k;
    if (a == b) return 0;
    switch (rel) {
    case W_REL_LEFT: return w_cx(A) < w_cx(B) - 0.02;
    case W_REL_RIGHT: return w_cx(A) > w_cx(B) + 0.02;
    case W_REL_ABOVE: return w_cy(A) < w_cy(B) - 0.02;
    case W_REL_BELOW: return w_cy(A) > w_cy(B) + 0.02;
    case W_REL_LARGER: return A->size > B->size;
    case W_REL_SMALLER: return A->size < B->size;
    case W_REL_OVERLAP: return w_overlap(A, B);
    case W_REL_CLOSEST: /* A is (one of) the nearest objects to B */
        for (k = 0; k < sc->n; k++)
            if (k != a && k != b && w_dist(&sc->o[k], B) < w_dist(A, B) - 1e-9) return 0;
        return 1;
    }
    return 0;
}
/* the same relation with the margin the generators require before they state it */
CLI_UNUSED static int w_rel_clear(const WScene *sc, int a, int b, int rel) {
    const WObj *A = &sc->o[a], *B = &sc->o[b];
    int k;
    if (a == b) return 0;
    switch (rel) {
    case W_REL_LEFT: return w_cx(A) < w_cx(B) - 0.1;
    case W_REL_RIGHT: return w_cx(A) > w_cx(B) + 0.1;
    case W_REL_ABOVE: return w_cy(A) < w_cy(B) - 0.1;
    case W_REL_BELOW: return w_cy(A) > w_cy(B) + 0.1;
    case W_REL_CLOSEST:
        for (k = 0; k < sc->n; k++)
            if (k != a && k != b && w_dist(&sc->o[k], B) < 1.25 * w_dist(A, B)) return 0;
        return 1;
    default: return w_rel(sc, a, b, rel);
    }
}
CLI_UNUSED static int w_count(const WScene *sc, int shape, int color) { /* -1: any */
    int k, c = 0;
    for (k = 0; k < sc->n; k++)
        if ((shape < 0 || sc->o[k].shape == shape) && (color < 0 || sc->o[k].color == color)) c++;
    return c;
}
CLI_UNUSED static int w_find(const WScene *sc, int shape, int color) {
    int k;
    for (k = 0; k < sc->n; k++)
        if ((shape < 0 || sc->o[k].shape == shape) && (color < 0 || sc->o[k].color == color)) return k;
    return -1;
}
CLI_UNUSED static int w_bg_has(const WScene *sc, int bg) {
    return sc->bg[0] == bg || (sc->bg_kind != W_BG_PLAIN && sc->bg[1] == bg);
}

/* ---- text output: llava.h's byte buffer ---------------------------------------------------------- */
CLI_UNUSED static void w_buf_clear(LlavaBuf *b) {
    b->n = 0;
    if (b->p) b->p[0] = 0;
}
/* a JSON string literal, quotes included */
CLI_UNUSED static void w_json(LlavaBuf *b, const char *s) { llava_buf_json_string(b, s, strlen(s)); }

/* ---- symbolic representation ----------------------------------------------------------------------- */
CLI_UNUSED static const char *w_obj_name(const WObj *o, char *buf, size_t cap) {
    snprintf(buf, cap, "%s %s", w_color_name[o->color], w_shape_name[o->shape]);
    return buf;
}
/* the paper's box list: "red circle: [0.102, 0.250, 0.398, 0.547]", one line per object */
CLI_UNUSED static void w_boxes_text(const WScene *sc, LlavaBuf *b) {
    int k;
    char nm[64];
    for (k = 0; k < sc->n; k++)
        llava_buf_printf(b, "%s%s: [%.3f, %.3f, %.3f, %.3f]", k ? "\n" : "", w_obj_name(&sc->o[k], nm, sizeof nm), sc->o[k].box[0],
                         sc->o[k].box[1], sc->o[k].box[2], sc->o[k].box[3]);
}
/* captions, a blank line, boxes: the user message of the paper's prompts */
CLI_UNUSED static void w_context_text(const WScene *sc, LlavaBuf *b) {
    int k;
    for (k = 0; k < 5; k++)
        if (sc->cap[k]) llava_buf_printf(b, "%s\n", sc->cap[k]);
    llava_buf_puts(b, "\n");
    w_boxes_text(sc, b);
}

CLI_UNUSED static void w_copy(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (!cap) return;
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}
/* mkdir -p: 0, or -1 with errno */
CLI_UNUSED static int w_mkdir_p(const char *path) {
    char buf[1024];
    size_t i, n = strlen(path);
    if (n >= sizeof buf) return errno = ENAMETOOLONG, -1;
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++)
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
            buf[i] = c;
        }
    return 0;
}
CLI_UNUSED static int w_lookup(const char *const *names, int n, const char *s) {
    int k;
    for (k = 0; k < n; k++)
        if (!strcmp(names[k], s)) return k;
    return -1;
}

/* ---- world.json loader ------------------------------------------------------------------------------ */
CLI_UNUSED static int w_scene_from_json(const LlavaJson *j, const LlavaJsonNode *im, WScene *sc, char *err, size_t errcap) {
    const LlavaJsonNode *x, *o;
    int k;
    memset(sc, 0, sizeof *sc);
    x = llava_json_get(j, im, "id");
    if (!x || x->type != LLAVA_JSON_STR) return snprintf(err, errcap, "image without a string \"id\""), -1;
    snprintf(sc->id, sizeof sc->id, "%s", x->str);
    x = llava_json_get(j, im, "file");
    if (!x) x = llava_json_get(j, im, "image");
    snprintf(sc->file, sizeof sc->file, "%s", x && x->type == LLAVA_JSON_STR ? x->str : "");
    x = llava_json_get(j, im, "background");
    if (x && x->type == LLAVA_JSON_OBJ) {
        const LlavaJsonNode *kind = llava_json_get(j, x, "kind"), *cols = llava_json_get(j, x, "colors");
        sc->bg_kind = kind && kind->type == LLAVA_JSON_STR ? w_lookup(w_bg_kind_name, 3, kind->str) : 0;
        if (sc->bg_kind < 0) return snprintf(err, errcap, "%s: unknown background kind", sc->id), -1;
        for (k = 0; k < 2; k++) {
            const LlavaJsonNode *c = llava_json_at(j, cols, k);
            sc->bg[k] = c && c->type == LLAVA_JSON_STR ? w_lookup(w_bg_name, W_NBG, c->str) : (k ? sc->bg[0] : -1);
            if (sc->bg[k] < 0) return snprintf(err, errcap, "%s: unknown background colour", sc->id), -1;
        }
    }
    x = llava_json_get(j, im, "objects");
    if (!x || x->type != LLAVA_JSON_ARR) return snprintf(err, errcap, "%s: no \"objects\" array", sc->id), -1;
    for (o = llava_json_first(j, x); o; o = llava_json_next(j, o)) {
        const LlavaJsonNode *sh = llava_json_get(j, o, "shape"), *co = llava_json_get(j, o, "color"),
                           *sz = llava_json_get(j, o, "size"), *bx = llava_json_get(j, o, "box");
        WObj *w;
        if (sc->n == W_MAX_OBJ) return snprintf(err, errcap, "%s: more than %d objects", sc->id, W_MAX_OBJ), -1;
        w = &sc->o[sc->n++];
        if (!sh || sh->type != LLAVA_JSON_STR || (w->shape = w_lookup(w_shape_name, W_NSHAPE, sh->str)) < 0 || !co ||
            co->type != LLAVA_JSON_STR || (w->color = w_lookup(w_color_name, W_NCOLOR, co->str)) < 0 || !sz ||
            sz->type != LLAVA_JSON_STR || (w->size = w_lookup(w_size_name, W_NSIZE, sz->str)) < 0 || !bx ||
            bx->type != LLAVA_JSON_ARR || bx->count != 4)
            return snprintf(err, errcap, "%s: object %d lacks a known shape, color, size or 4-number box", sc->id, sc->n - 1), -1;
        for (k = 0; k < 4; k++) {
            const LlavaJsonNode *v = llava_json_at(j, bx, k);
            if (!v || v->type != LLAVA_JSON_NUM) return snprintf(err, errcap, "%s: box entry is not a number", sc->id), -1;
            w->box[k] = v->num;
        }
        w->cx = w_cx(w);
        w->cy = w_cy(w);
    }
    x = llava_json_get(j, im, "captions");
    for (k = 0; k < 5; k++) {
        const LlavaJsonNode *c = llava_json_at(j, x, k);
        if (c && c->type == LLAVA_JSON_STR) sc->cap[k] = cli_xstrdup(c->str);
    }
    return 0;
}
CLI_UNUSED static void w_scene_free(WScene *sc) {
    int k;
    for (k = 0; k < 5; k++) free(sc->cap[k]), sc->cap[k] = NULL;
}
/* reads DIR/world.json (or a path to a .json file); returns the scene count or -1 */
CLI_UNUSED static int w_load_world(const char *path, WScene **out, int *size, uint64_t *seed, char *err, size_t errcap) {
    char full[1024];
    size_t len = strlen(path), n = 0;
    LlavaJson j;
    const LlavaJsonNode *root, *ims, *im, *x;
    int count = 0;
    if (len > 5 && !strcmp(path + len - 5, ".json")) snprintf(full, sizeof full, "%s", path);
    else snprintf(full, sizeof full, "%s/world.json", path);
    char *text = llava_read_file(full, (size_t)1 << 30, &n);
    *out = NULL;
    if (!text) return w_copy(err, errcap, llava_last_error()), -1;
    if (llava_json_parse(&j, text, n, full) != LLAVA_OK) {
        w_copy(err, errcap, llava_last_error());
        llava_json_free(&j);
        free(text);
        return -1;
    }
    root = &j.nodes[0];
    ims = llava_json_get(&j, root, "images");
    if (!ims || ims->type != LLAVA_JSON_ARR) {
        snprintf(err, errcap, "%.400s: no \"images\" array", full);
        count = -1;
    } else {
        x = llava_json_get(&j, root, "size");
        if (size) *size = x && x->type == LLAVA_JSON_NUM ? (int)x->num : 64;
        x = llava_json_get(&j, root, "seed");
        if (seed) *seed = x && x->type == LLAVA_JSON_NUM ? (uint64_t)x->num : 0;
        *out = (WScene *)calloc((size_t)(ims->count ? ims->count : 1), sizeof(WScene));
        for (im = llava_json_first(&j, ims); im && *out; im = llava_json_next(&j, im)) {
            if (w_scene_from_json(&j, im, &(*out)[count], err, errcap) != 0) {
                count = -1;
                break;
            }
            count++;
        }
    }
    llava_json_free(&j);
    free(text);
    return count;
}

/* ---- the fact checker -------------------------------------------------------------------------------
   Reads English as the generators write it (and as a model trained on that data answers) and turns
   what it can parse into claims about the scene, each of which is true or false:
     exists   "a red circle", "the large blue square", "the circle is red"   (size checked when given)
     absent   "there is no green star", "the image does not contain a cross"
     count    "three objects", "two circles", "no red shapes", "two objects to the left of the star"
     position "the red circle is in the top left"            (one object in the clause)
     relation "the red circle is to the left of / above / larger than / overlapping the blue square",
              "the X and the Y overlap", "the object closest to the X is the Y", "X is the largest"
     background "on a gray background"
   Anything else is ignored. Clauses are split at punctuation and at and/but/while/which; clauses with
   "if"/"would" (hypotheticals) are skipped. The keys of true claims let a judge measure how much of a
   reference answer a candidate covers. */
enum { WT_WORD, WT_NUM, WT_COLOR, WT_BG, WT_SHAPE, WT_SHAPES, WT_NOUN, WT_NOUNS, WT_SIZE, WT_SEP, WT_END };
typedef struct {
    int kind, val;
    char w[24];
} WTok;

typedef struct {
    int n_true, n_false;
    LlavaBuf keys;    /* "\n"-separated canonical keys of true claims */
    LlavaBuf explain; /* one line per false claim */
} WCheck;

CLI_UNUSED static int w_tokenize(const char *text, WTok **out) {
    size_t len = strlen(text), cap = len / 2 + 8;
    int n = 0;
    WTok *t = (WTok *)calloc(cap, sizeof(WTok));
    const char *p = text;
    if (!t) return 0;
    while (*p) {
        if ((size_t)n + 2 >= cap) break;
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) || c == '\'') {
            char w[24];
            size_t k = 0;
            while (*p && (isalnum((unsigned char)*p) || *p == '\'')) {
                if (k < sizeof w - 1) w[k++] = (char)tolower((unsigned char)*p);
                p++;
            }
            w[k] = 0;
            WTok *x = &t[n++];
            snprintf(x->w, sizeof x->w, "%s", w);
            x->kind = WT_WORD;
            int v;
            if (isdigit((unsigned char)w[0])) {
                x->kind = WT_NUM;
                x->val = atoi(w);
            } else if ((v = w_lookup(w_number_word, 11, w)) >= 1) x->kind = WT_NUM, x->val = v;
            else if ((v = w_lookup(w_color_name, W_NCOLOR, w)) >= 0) x->kind = WT_COLOR, x->val = v;
            else if (!strcmp(w, "grey")) x->kind = WT_BG, x->val = 0;
            else if ((v = w_lookup(w_bg_name, W_NBG, w)) >= 0) x->kind = WT_BG, x->val = v;
            else if ((v = w_lookup(w_shape_name, W_NSHAPE, w)) >= 0) x->kind = WT_SHAPE, x->val = v;
            else if ((v = w_lookup(w_shape_plural, W_NSHAPE, w)) >= 0) x->kind = WT_SHAPES, x->val = v;
            else if (!strcmp(w, "object") || !strcmp(w, "shape") || !strcmp(w, "item") || !strcmp(w, "figure")) x->kind = WT_NOUN;
            else if (!strcmp(w, "objects") || !strcmp(w, "shapes") || !strcmp(w, "items") || !strcmp(w, "figures")) x->kind = WT_NOUNS;
            else if ((v = w_lookup(w_size_name, W_NSIZE, w)) >= 0) x->kind = WT_SIZE, x->val = v;
            else if (!strcmp(w, "big")) x->kind = WT_SIZE, x->val = W_LARGE;
            else if (!strcmp(w, "tiny")) x->kind = WT_SIZE, x->val = W_SMALL;
            else if (!strcmp(w, "single")) x->kind = WT_NUM, x->val = 1;
            else if (!strcmp(w, "and") || !strcmp(w, "but") || !strcmp(w, "while") || !strcmp(w, "whereas") ||
                     !strcmp(w, "which") || !strcmp(w, "where") || !strcmp(w, "so") || !strcmp(w, "then"))
                x->kind = WT_SEP, x->val = 1; /* val 1: a word separator */
        } else {
            if (c == '.' || c == '!' || c == '?' || c == '\n') t[n++].kind = WT_END;
            else if (c == ',' || c == ';' || c == ':' || c == '(' || c == ')') t[n++].kind = WT_SEP;
            p++;
        }
    }
    t[n++].kind = WT_END;
    *out = t;
    return n;
}

CLI_UNUSED static int w_is(const WTok *t, const char *w) { return t->kind != WT_END && t->kind != WT_SEP ? !strcmp(t->w, w) : (t->kind == WT_SEP && t->val == 1 && !strcmp(t->w, w)); }

/* a noun phrase: [number|a|the|no] [size] [color] (shape|shapes|object|objects) */
typedef struct {
    int start, end; /* tokens [start, end) */
    int num;        /* -1 none, else stated number (0 for "no") */
    int neg;        /* determiner "no" */
    int plural;
    int size, color, shape; /* -1 unknown */
} WMention;

CLI_UNUSED static void wc_key(WCheck *c, const char *fmt, ...) {
    va_list ap;
    char buf[160];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    llava_buf_puts(&c->keys, buf);
    llava_buf_puts(&c->keys, "\n");
}
CLI_UNUSED static void wc_false(WCheck *c, const char *fmt, ...) {
    va_list ap;
    char buf[200];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->n_false++;
    llava_buf_puts(&c->explain, buf);
    llava_buf_puts(&c->explain, "\n");
}
CLI_UNUSED static void w_spec_name(const WMention *m, char *buf, size_t cap) {
    snprintf(buf, cap, "%s%s%s%s%s", m->size >= 0 ? w_size_name[m->size] : "", m->size >= 0 ? " " : "",
             m->color >= 0 ? w_color_name[m->color] : "", m->color >= 0 ? " " : "", m->shape >= 0 ? w_shape_name[m->shape] : "object");
}
CLI_UNUSED static int w_match(const WObj *o, const WMention *m) {
    return (m->shape < 0 || o->shape == m->shape) && (m->color < 0 || o->color == m->color) && (m->size < 0 || o->size == m->size);
}
/* the single object a mention refers to: -1 none, -2 several */
CLI_UNUSED static int w_resolve(const WScene *sc, const WMention *m) {
    int k, hit = -1;
    for (k = 0; k < sc->n; k++)
        if (w_match(&sc->o[k], m)) {
            if (hit >= 0) return -2;
            hit = k;
        }
    return hit;
}

CLI_UNUSED static int w_rel_at(const WTok *t, int i, int e, int *len) {
    /* relation phrase starting at token i: returns W_REL_* or -1; *len tokens consumed */
    *len = 1;
    if (i >= e) return -1;
    if ((w_is(&t[i], "left") || w_is(&t[i], "right")) && i + 1 < e && w_is(&t[i + 1], "of")) {
        /* "left of the image" is a position, "left of the red circle" a relation */
        int j = i + 2;
        while (j < e && (w_is(&t[j], "the") || w_is(&t[j], "a") || w_is(&t[j], "an"))) j++;
        if (j < e && (w_is(&t[j], "image") || w_is(&t[j], "picture") || w_is(&t[j], "scene") || w_is(&t[j], "frame") ||
                      w_is(&t[j], "canvas")))
            return -1;
        *len = 2;
        return w_is(&t[i], "left") ? W_REL_LEFT : W_REL_RIGHT;
    }
    if (w_is(&t[i], "above")) return W_REL_ABOVE;
    if (w_is(&t[i], "below") || w_is(&t[i], "under") || w_is(&t[i], "beneath") || w_is(&t[i], "underneath")) return W_REL_BELOW;
    if (i + 1 < e && w_is(&t[i + 1], "than")) {
        *len = 2;
        if (w_is(&t[i], "larger") || w_is(&t[i], "bigger")) return W_REL_LARGER;
        if (w_is(&t[i], "smaller")) return W_REL_SMALLER;
        if (w_is(&t[i], "higher")) return W_REL_ABOVE;
        if (w_is(&t[i], "lower")) return W_REL_BELOW;
        *len = 1;
    }
    if (w_is(&t[i], "overlaps") || w_is(&t[i], "overlapping") || w_is(&t[i], "overlap") || w_is(&t[i], "overlapped")) {
        if (i + 1 < e && w_is(&t[i + 1], "with")) *len = 2;
        return W_REL_OVERLAP;
    }
    if ((w_is(&t[i], "closest") || w_is(&t[i], "nearest")) && i + 1 < e && w_is(&t[i + 1], "to")) {
        *len = 2;
        return W_REL_CLOSEST;
    }
    return -1;
}

/* parses the noun phrase ending at a noun token k (scanning back over modifiers) */
CLI_UNUSED static int w_mention_at(const WTok *t, int s, int k, WMention *m) {
    int j = k;
    memset(m, 0, sizeof *m);
    m->num = -1;
    m->size = m->color = m->shape = -1;
    m->end = k + 1;
    if (t[k].kind == WT_SHAPE || t[k].kind == WT_SHAPES) m->shape = t[k].val;
    m->plural = t[k].kind == WT_SHAPES || t[k].kind == WT_NOUNS;
    if (t[k].kind == WT_NOUN || t[k].kind == WT_NOUNS) {
        /* "the red object": a colour or size is needed for a plain noun to say anything */
        if (!(j - 1 >= s && (t[j - 1].kind == WT_COLOR || t[j - 1].kind == WT_SIZE || t[j - 1].kind == WT_NUM ||
                             w_is(&t[j - 1], "no"))))
            return 0;
    }
    while (j - 1 >= s) {
        const WTok *p = &t[j - 1];
        if (p->kind == WT_COLOR && m->color < 0) m->color = p->val;
        else if (p->kind == WT_SIZE && m->size < 0) m->size = p->val;
        else if (p->kind == WT_NUM && m->num < 0) m->num = p->val;
        else if (w_is(p, "no") && m->num < 0) m->num = 0, m->neg = 1;
        else if (w_is(p, "sized") || w_is(p, "colored") || w_is(p, "coloured")) {
        } else break;
        j--;
    }
    m->start = j;
    return 1;
}

CLI_UNUSED static void w_check_clause(const WScene *sc, const WTok *t, int s, int e, WCheck *c) {
    WMention ms[8];
    int nm = 0, i, neg = 0, rel = -1, rel_at = -1, rel_len = 0, hyp = 0;
    int h = -1, v = -1, posw = 0, super = -1;
    char nm1[64], nm2[64];
    for (i = s; i < e; i++) {
        if (w_is(&t[i], "not") || w_is(&t[i], "isn't") || w_is(&t[i], "aren't") || w_is(&t[i], "doesn't") ||
            w_is(&t[i], "don't") || w_is(&t[i], "neither") || w_is(&t[i], "nor") || w_is(&t[i], "without") ||
            w_is(&t[i], "none") || w_is(&t[i], "never") || w_is(&t[i], "cannot") || w_is(&t[i], "lacks"))
            neg = 1;
        if (w_is(&t[i], "if") || w_is(&t[i], "would") || w_is(&t[i], "could") || w_is(&t[i], "were") || w_is(&t[i], "might"))
            hyp = 1;
    }
    if (hyp) return;
    for (i = s; i < e && nm < 8; i++) {
        int len;
        if (t[i].kind == WT_SHAPE || t[i].kind == WT_SHAPES || t[i].kind == WT_NOUN || t[i].kind == WT_NOUNS) {
            if (w_mention_at(t, s, i, &ms[nm])) nm++;
            continue;
        }
        if (rel < 0) {
            int r = w_rel_at(t, i, e, &len);
            if (r >= 0) {
                rel = r, rel_at = i, rel_len = len;
                i += len - 1;
                continue;
            }
        }
        if (w_is(&t[i], "largest") || w_is(&t[i], "biggest")) super = W_LARGE;
        if (w_is(&t[i], "smallest")) super = W_SMALL;
        /* position words ("top", "left" ...), unless part of a relation phrase */
        if (w_is(&t[i], "left")) h = 0, posw = 1;
        else if (w_is(&t[i], "right") && !(i > s && w_is(&t[i - 1], "all"))) h = 2, posw = 1;
        else if (w_is(&t[i], "top") || w_is(&t[i], "upper")) {
            if (!(i + 1 < e && w_is(&t[i + 1], "of") && !(i + 3 < e && (w_is(&t[i + 3], "image") || w_is(&t[i + 3], "picture") || w_is(&t[i + 3], "scene")))))
                v = 0, posw = 1;
        } else if (w_is(&t[i], "bottom") || (w_is(&t[i], "lower") && !(i + 1 < e && w_is(&t[i + 1], "than")))) {
            if (!(i + 1 < e && w_is(&t[i + 1], "of") && !(i + 3 < e && (w_is(&t[i + 3], "image") || w_is(&t[i + 3], "picture") || w_is(&t[i + 3], "scene")))))
                v = 2, posw = 1;
        } else if (w_is(&t[i], "center") || w_is(&t[i], "centre") || w_is(&t[i], "middle") || w_is(&t[i], "central"))
            posw = 2;
    }
    if (posw == 2) { /* "center": the other axis (or both) at the centre */
        if (h < 0) h = 1;
        if (v < 0) v = 1;
    }
    /* background colours: "gray background", "beige and gray background" */
    for (i = s; i < e; i++)
        if (t[i].kind == WT_BG || (t[i].kind == WT_COLOR && i + 1 < e && w_is(&t[i + 1], "background"))) {
            int j = i + 1;
            while (j < e && (t[j].kind == WT_BG || w_is(&t[j], "and"))) j++;
            if (j < e && w_is(&t[j], "background") && t[i].kind == WT_BG) {
                if (w_bg_has(sc, t[i].val)) wc_key(c, "bg %s", w_bg_name[t[i].val]);
                else if (!neg) wc_false(c, "the background is not %s", w_bg_name[t[i].val]);
            } else if (j < e && w_is(&t[j], "background") && t[i].kind == WT_COLOR && !neg)
                wc_false(c, "the background is not %s", w_color_name[t[i].val]);
        }
    /* "the circle is red": shape, then is/are, then a colour */
    for (i = 0; i < nm; i++)
        if (ms[i].color < 0 && ms[i].num < 0 && ms[i].end + 1 < e && (w_is(&t[ms[i].end], "is") || w_is(&t[ms[i].end], "looks")) &&
            t[ms[i].end + 1].kind == WT_COLOR && !(ms[i].end + 2 < e && (t[ms[i].end + 2].kind == WT_SHAPE || t[ms[i].end + 2].kind == WT_NOUN)))
            ms[i].color = t[ms[i].end + 1].val;
        else if (ms[i].size < 0 && ms[i].num < 0 && ms[i].end + 1 < e && w_is(&t[ms[i].end], "is") && t[ms[i].end + 1].kind == WT_SIZE &&
                 !(ms[i].end + 2 < e && (t[ms[i].end + 2].kind == WT_SHAPE || t[ms[i].end + 2].kind == WT_NOUN || t[ms[i].end + 2].kind == WT_COLOR)))
            ms[i].size = t[ms[i].end + 1].val;

    /* counts (a number with a plural noun, or "one"/"no"): conditional when a relation follows */
    for (i = 0; i < nm; i++) {
        WMention *m = &ms[i];
        char nmb[64];
        w_spec_name(m, nmb, sizeof nmb);
        if (m->num >= 0 && (m->plural || m->num == 1 || m->num == 0)) {
            int cnt = 0, k, anchor = -1;
            int gap_ok = rel >= 0 && rel != W_REL_CLOSEST && rel_at >= m->end && i + 1 < nm && ms[i + 1].start >= rel_at + rel_len;
            for (k = m->end; gap_ok && k < rel_at; k++)
                if (!(w_is(&t[k], "are") || w_is(&t[k], "is") || w_is(&t[k], "to") || w_is(&t[k], "the") ||
                      w_is(&t[k], "located") || w_is(&t[k], "placed") || w_is(&t[k], "positioned") || w_is(&t[k], "lie") ||
                      w_is(&t[k], "sit") || w_is(&t[k], "appear") || w_is(&t[k], "on")))
                    gap_ok = 0;
            if (gap_ok) {
                int r = rel;
                anchor = w_resolve(sc, &ms[i + 1]);
                rel = -2; /* the phrase belongs to the count: no relation claim of its own */
                if (anchor >= 0) {
                    for (k = 0; k < sc->n; k++)
                        if (k != anchor && w_match(&sc->o[k], m) && w_rel(sc, k, anchor, r)) cnt++;
                    w_obj_name(&sc->o[anchor], nm1, sizeof nm1);
                    if (cnt == m->num && !neg) wc_key(c, "count %s %s %s %d", nmb, w_rel_name[r], nm1, m->num);
                    else if (cnt != m->num && !neg) wc_false(c, "%d %s(s) are %s the %s, not %d", cnt, nmb, w_rel_name[r], nm1, m->num);
                }
                m->num = -3;
                continue;
            }
            for (k = 0; k < sc->n; k++) cnt += w_match(&sc->o[k], m);
            if (cnt == m->num && !neg) wc_key(c, "count %s %d", nmb, m->num);
            else if (cnt != m->num && !neg) wc_false(c, "there %s %d %s(s), not %d", cnt == 1 ? "is" : "are", cnt, nmb, m->num);
            m->num = -3; /* handled */
        }
    }
    /* existence / absence */
    for (i = 0; i < nm; i++) {
        WMention *m = &ms[i];
        char nmb[64];
        int cnt, k;
        if (m->num == -3) continue;
        if (m->plural && m->num < 0) continue; /* "circles" without a number: nothing definite */
        w_spec_name(m, nmb, sizeof nmb);
        for (cnt = 0, k = 0; k < sc->n; k++) cnt += w_match(&sc->o[k], m);
        int absent = m->neg || (neg && rel < 0 && !posw && super < 0);
        if (absent) {
            if (cnt == 0) wc_key(c, "absent %s", nmb);
            else wc_false(c, "there is a %s", nmb);
        } else if (cnt > 0) {
            if (m->color >= 0 || m->size >= 0 || m->shape >= 0) wc_key(c, "exists %s", nmb);
        } else {
            WMention loose = *m;
            loose.size = -1;
            if (m->size >= 0 && w_resolve(sc, &loose) >= 0) wc_false(c, "the %s is not %s", nmb + strlen(w_size_name[m->size]) + 1, w_size_name[m->size]);
            else wc_false(c, "there is no %s", nmb);
        }
    }
    /* relation between the mention before the phrase and the mention after it */
    if (rel >= 0) {
        int a = -1, b = -1;
        for (i = 0; i < nm; i++) {
            if (ms[i].end <= rel_at) a = i;
            else if (ms[i].start >= rel_at + rel_len && b < 0) b = i;
        }
        if (rel == W_REL_OVERLAP && b < 0 && a >= 1) b = a, a = a - 1; /* "the X and the Y overlap" (joined below) */
        if (rel == W_REL_CLOSEST) {
            /* "the object closest to Y is X" / "X is closest to Y" */
            int anchor = b, other = -1;
            for (i = 0; i < nm; i++)
                if (i != b && ms[i].num != -3 && (ms[i].color >= 0 || ms[i].shape >= 0)) other = i;
            a = other;
            b = anchor;
        }
        if (a >= 0 && b >= 0) {
            int A = w_resolve(sc, &ms[a]), B = w_resolve(sc, &ms[b]);
            if (A >= 0 && B >= 0) {
                int truth = w_rel(sc, A, B, rel);
                w_obj_name(&sc->o[A], nm1, sizeof nm1);
                w_obj_name(&sc->o[B], nm2, sizeof nm2);
                if (truth != neg) wc_key(c, "%s%s %s %s", neg ? "not " : "", nm1, w_rel_name[rel], nm2);
                else wc_false(c, "the %s is %s%s the %s", nm1, truth ? "" : "not ", w_rel_name[rel], nm2);
            }
        }
    } else if (super >= 0 && nm >= 1) {
        /* "the X is the largest (object)": no object of a larger size class */
        int A = w_resolve(sc, &ms[0]), k, ok = 1;
        if (A >= 0) {
            for (k = 0; k < sc->n; k++)
                if (super == W_LARGE ? sc->o[k].size > sc->o[A].size : sc->o[k].size < sc->o[A].size) ok = 0;
            w_obj_name(&sc->o[A], nm1, sizeof nm1);
            if (ok != neg) wc_key(c, "%s %s", nm1, super == W_LARGE ? "largest" : "smallest");
            else wc_false(c, "the %s is %sthe %s", nm1, ok ? "" : "not ", super == W_LARGE ? "largest" : "smallest");
        }
    } else if (posw && (h >= 0 || v >= 0)) {
        /* one object (counts aside) and a position */
        int which = -1, k = 0;
        for (i = 0; i < nm; i++)
            if (ms[i].num != -3 && !ms[i].plural) which = i, k++;
        if (k == 1) {
            int A = w_resolve(sc, &ms[which]);
            if (A >= 0) {
                int ok = (h < 0 || w_hclaim(&sc->o[A], h)) && (v < 0 || w_vclaim(&sc->o[A], v));
                w_obj_name(&sc->o[A], nm1, sizeof nm1);
                if (ok != neg) wc_key(c, "pos %s %s", nm1, w_pos_name(h < 0 ? 1 : h, v < 0 ? 1 : v));
                else wc_false(c, "the %s is %sat %s", nm1, ok ? "" : "not ", w_pos_name(h < 0 ? 1 : h, v < 0 ? 1 : v));
            }
        }
    }
}

/* checks every clause of text against the scene; returns c->n_false */
CLI_UNUSED static int w_check_text(const WScene *sc, const char *text, WCheck *c) {
    WTok *t = NULL;
    int n = w_tokenize(text, &t), s = 0, i;
    if (!t) return 0;
    /* "the X and the Y overlap": join across "and" before splitting */
    for (i = 0; i < n; i++) {
        if (t[i].kind == WT_SEP && t[i].val == 1 && !strcmp(t[i].w, "and")) {
            int j = i + 1, len;
            while (j < n && t[j].kind != WT_END && t[j].kind != WT_SEP && w_rel_at(t, j, n, &len) < 0) j++;
            if (j < n && t[j].kind != WT_END && t[j].kind != WT_SEP && w_rel_at(t, j, n, &len) == W_REL_OVERLAP &&
                !(j + len < n && (t[j + len].kind == WT_SHAPE || t[j + len].kind == WT_COLOR || w_is(&t[j + len], "the") ||
                                  w_is(&t[j + len], "a") || w_is(&t[j + len], "an"))))
                t[i].kind = WT_WORD; /* keep "X and Y overlap" in one clause */
        }
    }
    for (i = 0; i < n; i++)
        if (t[i].kind == WT_SEP || t[i].kind == WT_END) {
            if (i > s) w_check_clause(sc, t, s, i, c);
            s = i + 1;
        }
    free(t);
    return c->n_false;
}
CLI_UNUSED static void w_check_free(WCheck *c) {
    llava_buf_free(&c->keys);
    llava_buf_free(&c->explain);
}

#endif /* WORLD_H */
