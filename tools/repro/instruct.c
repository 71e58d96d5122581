/* instruct: LLaVA training data and held-out sets from a synthetic world (tools/repro/world.c), written by
   rules from the symbolic representation (captions + boxes), in LLaVA's own JSON formats.

     instruct --world DIR --out OUT [--backend rules] [--types conv,detail,complex]
              [--conv N] [--detail N] [--complex N] [--captions K] [--seed S]
         OUT/pretrain.json           stage-1 caption pairs (as blip_laion_cc_sbu_558k.json), K per image
         OUT/conversation.json       multi-turn Q&A          (as conversation_58k.json)
         OUT/detail.json             detailed descriptions   (as detail_23k.json)
         OUT/complex_reasoning.json  reasoning questions     (as complex_reasoning_77k.json)
         OUT/instruct.json           the chosen types mixed  (as llava_instruct_150k.json)
         OUT/context.jsonl           per image the prompt input (captions + boxes), for tools/repro/instruct.py
       Defaults: N conversations = images, N/2 descriptions, N complex; images are used in turn.
       "image" fields name files in DIR/images.

     instruct --bench --world DIR --out OUT [--n 30] [--seed S]
         LLaVA-Bench style: OUT/questions.jsonl ({"question_id", "image", "text", "category"}: conv, detail,
         complex for each of the first n images), OUT/answers_ref.jsonl ({"question_id", "text", "category",
         "answer_id", "model_id"}), OUT/context.jsonl, OUT/images/

     instruct --mc --world DIR --out OUT [--n 1200] [--test 1000] [--seed S]
         multiple choice in ScienceQA's format: OUT/problems.json, OUT/pid_splits.json,
         OUT/images/<split>/<pid>/image.png, OUT/mc_info.json (category counts, answer positions, chance)

   Use a world from another seed for --bench and --mc than for training. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../../llava.h"
#include "../common.h"
#include "world.h"


/* ---- phrases -------------------------------------------------------------------------------------- */
typedef struct {
    char s[96];
} Str;
static Str nm(const WObj *o) { /* "red circle" */
    Str r;
    snprintf(r.s, sizeof r.s, "%s %s", w_color_name[o->color], w_shape_name[o->shape]);
    return r;
}
static Str a_nm(const WObj *o) { /* "a red circle", "an orange star" */
    Str r;
    snprintf(r.s, sizeof r.s, "%s %s %s", w_article(w_color_name[o->color]), w_color_name[o->color], w_shape_name[o->shape]);
    return r;
}
static Str a_full(const WObj *o) { /* "a large red circle" */
    Str r;
    snprintf(r.s, sizeof r.s, "a %s %s %s", w_size_name[o->size], w_color_name[o->color], w_shape_name[o->shape]);
    return r;
}
static const char *pick(WRng *r, const char *const *list, int n) { return list[w_rng_int(r, n)]; }
#define PICK(r, arr) pick(r, arr, (int)(sizeof(arr) / sizeof(arr[0])))

/* fills a template: {A} {B} {C} object names, {s} shape, {ss} plural shape, {c} colour, {p} position phrase */
typedef struct {
    const char *A, *B, *C, *s, *ss, *c, *p, *n;
} Fill;
static void fill(LlavaBuf *b, const char *tpl, const Fill *f) {
    const char *p = tpl;
    while (*p) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            if (e) {
                char key[8];
                size_t k = (size_t)(e - p - 1);
                const char *v = NULL;
                if (k < sizeof key) {
                    memcpy(key, p + 1, k);
                    key[k] = 0;
                    v = !strcmp(key, "A") ? f->A : !strcmp(key, "B") ? f->B : !strcmp(key, "C") ? f->C : !strcmp(key, "s") ? f->s
                      : !strcmp(key, "ss") ? f->ss : !strcmp(key, "c") ? f->c : !strcmp(key, "p") ? f->p : !strcmp(key, "n") ? f->n : NULL;
                }
                if (v) {
                    llava_buf_puts(b, v);
                    p = e + 1;
                    continue;
                }
            }
        }
        llava_buf_put(b, p, 1);
        p++;
    }
}
static void cap_first(char *s) { s[0] = (char)toupper((unsigned char)s[0]); }

static int unique_shape(const WScene *sc, int k) { return w_count(sc, sc->o[k].shape, -1) == 1; }
static int unique_color(const WScene *sc, int k) { return w_count(sc, -1, sc->o[k].color) == 1; }
/* h/v position clear enough to state (not at a zone border) */
static int pos_clear(const WObj *o) {
    double x = w_cx(o), y = w_cy(o);
    return fabs(x - 0.4) > 0.02 && fabs(x - 0.6) > 0.02 && fabs(y - 0.4) > 0.02 && fabs(y - 0.6) > 0.02;
}
static const char *posph(const WObj *o) { return w_pos_phrase(w_hpos(o), w_vpos(o)); }

/* ---- conversation turns: each kind returns 1 and appends Q and A, or 0 if it does not apply ----- */
typedef int (*QAFn)(const WScene *, WRng *, LlavaBuf *, LlavaBuf *);

static int qa_exists_yes(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"Is there {A} in the image?", "Can you see {A} in this picture?", "Does the image contain {A}?",
                                    "Is {A} visible here?", "Do you see {A}?"};
    static const char *const A[] = {"Yes, there is {A} {p}.", "Yes, {A} is visible {p}.", "Yes. The {B} is {p} of the image."};
    int k = w_rng_int(r, sc->n);
    Str x = a_nm(&sc->o[k]), y = nm(&sc->o[k]);
    Fill f = {x.s, y.s, 0, 0, 0, 0, posph(&sc->o[k]), 0};
    if (!pos_clear(&sc->o[k])) f.p = "in the image";
    fill(q, PICK(r, Q), &f);
    fill(a, PICK(r, A), &f);
    return 1;
}
static int qa_exists_no(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"Is there {A} in the image?", "Can you see {A} in this picture?", "Does the image contain {A}?",
                                    "Is {A} visible here?", "Do you see {A}?"};
    int k = w_rng_int(r, sc->n), t;
    WObj fake = sc->o[k];
    for (t = 0; t < 50; t++) { /* a near miss: same shape or same colour as something present */
        if (w_rng_int(r, 2)) fake.color = w_rng_int(r, W_NCOLOR);
        else fake.shape = w_rng_int(r, W_NSHAPE);
        if (w_count(sc, fake.shape, fake.color) == 0) break;
    }
    if (t == 50) return 0;
    Str x = a_nm(&fake), y = nm(&fake), z = a_nm(&sc->o[k]);
    Fill f = {x.s, y.s, z.s, 0, 0, 0, 0, 0};
    fill(q, PICK(r, Q), &f);
    static const char *const A[] = {"No, there is no {B} in the image, but there is {C}.", "No, the image does not contain {A}; it does have {C}.",
                                    "No, there is no {B} here."};
    fill(a, PICK(r, A), &f);
    return 1;
}
static int qa_color(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"What color is the {s}?", "What is the color of the {s}?", "Which color does the {s} have?",
                                    "What color is the {s} in the image?", "Tell me the color of the {s}."};
    static const char *const A[] = {"The {s} is {c}.", "It is {c}; the image shows {A}.", "That is {A}."};
    int k = w_rng_int(r, sc->n);
    if (!unique_shape(sc, k)) return 0;
    Str x = a_nm(&sc->o[k]);
    Fill f = {x.s, 0, 0, w_shape_name[sc->o[k].shape], 0, w_color_name[sc->o[k].color], 0, 0};
    fill(q, PICK(r, Q), &f);
    fill(a, PICK(r, A), &f);
    return 1;
}
static int qa_shape(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"What shape is the {c} object?", "Which shape is {c}?", "What is the {c} shape?",
                                    "Can you tell me the shape of the {c} object?", "What kind of shape is drawn in {c}?"};
    static const char *const A[] = {"It is {A}.", "The {c} object is a {s}.", "The {c} shape is a {s}: {A} {p}."};
    int k = w_rng_int(r, sc->n);
    if (!unique_color(sc, k)) return 0;
    Str x = a_nm(&sc->o[k]);
    Fill f = {x.s, 0, 0, w_shape_name[sc->o[k].shape], 0, w_color_name[sc->o[k].color], posph(&sc->o[k]), 0};
    if (!pos_clear(&sc->o[k])) f.p = "in the image";
    fill(q, PICK(r, Q), &f);
    fill(a, PICK(r, A), &f);
    return 1;
}
static int qa_count(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"How many objects are there in the image?", "How many shapes can you see?",
                                    "Count the shapes in the picture.", "What is the number of objects in this image?"};
    fill(q, PICK(r, Q), &(Fill){0});
    if (sc->n == 1) {
        Str x = a_nm(&sc->o[0]);
        llava_buf_printf(a, "There is only one object in the image: %s.", x.s);
    } else {
        static const char *const A[] = {"There are {n} objects in the image.", "I can see {n} shapes.", "The image contains {n} shapes in total."};
        Fill f = {0};
        f.n = w_number_word[sc->n];
        fill(a, PICK(r, A), &f);
    }
    return 1;
}
static int qa_count_shape(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"How many {ss} are there?", "How many {ss} can you count in the image?", "How many {ss} does the picture show?"};
    int s = w_rng_int(r, 3) ? sc->o[w_rng_int(r, sc->n)].shape : w_rng_int(r, W_NSHAPE), cnt = w_count(sc, s, -1);
    Fill f = {0};
    f.ss = w_shape_plural[s];
    f.s = w_shape_name[s];
    f.n = w_number_word[cnt];
    fill(q, PICK(r, Q), &f);
    if (cnt == 0) fill(a, "There are no {ss} in the image.", &f);
    else if (cnt == 1) fill(a, "There is one {s} in the image.", &f);
    else fill(a, "There are {n} {ss} in the image.", &f);
    return 1;
}
static int qa_count_color(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"How many {c} objects are in the image?", "How many {c} shapes do you see?", "Count the {c} shapes."};
    int c = w_rng_int(r, 3) ? sc->o[w_rng_int(r, sc->n)].color : w_rng_int(r, W_NCOLOR), cnt = w_count(sc, -1, c), k, done = 0;
    Fill f = {0};
    f.c = w_color_name[c];
    f.n = w_number_word[cnt];
    fill(q, PICK(r, Q), &f);
    if (cnt == 0) fill(a, "There are no {c} objects in the image.", &f);
    else {
        fill(a, cnt == 1 ? "There is one {c} object: " : "There are {n} {c} objects: ", &f);
        for (k = 0; k < sc->n; k++)
            if (sc->o[k].color == c) {
                Str x = a_nm(&sc->o[k]);
                llava_buf_printf(a, "%s%s", done ? (done == cnt - 1 ? " and " : ", ") : "", x.s);
                done++;
            }
        llava_buf_puts(a, ".");
    }
    return 1;
}
static int qa_position(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"Where is the {A}?", "Where is the {A} located?", "In which part of the image is the {A}?",
                                    "Where can the {A} be found?"};
    static const char *const A[] = {"The {A} is {p} of the image.", "It is {p}: the {A} is {p} of the picture.", "The {A} is {p}."};
    int k = w_rng_int(r, sc->n);
    if (!pos_clear(&sc->o[k])) return 0;
    Str x = nm(&sc->o[k]);
    Fill f = {x.s, 0, 0, 0, 0, 0, posph(&sc->o[k]), 0};
    fill(q, PICK(r, Q), &f);
    fill(a, PICK(r, A), &f);
    return 1;
}
static const char *const rel_phrase[4] = {"to the left of", "to the right of", "above", "below"};
static int qa_relation_yn(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int i = w_rng_int(r, sc->n), j = w_rng_int(r, sc->n), axis = w_rng_int(r, 2), asked, truth;
    if (i == j) return 0;
    int pos = axis ? W_REL_ABOVE : W_REL_LEFT, negr = axis ? W_REL_BELOW : W_REL_RIGHT;
    if (!w_rel_clear(sc, i, j, pos) && !w_rel_clear(sc, i, j, negr)) return 0;
    asked = w_rng_int(r, 2) ? pos : negr;
    truth = w_rel_clear(sc, i, j, asked) ? asked : (asked == pos ? negr : pos);
    Str x = nm(&sc->o[i]), y = nm(&sc->o[j]);
    static const char *const Q[] = {"Is the {A} {p} the {B}?", "Would you say the {A} is {p} the {B}?", "Is the {A} positioned {p} the {B}?"};
    Fill f = {x.s, y.s, 0, 0, 0, 0, rel_phrase[asked], 0};
    fill(q, PICK(r, Q), &f);
    llava_buf_printf(a, "%s, the %s is %s the %s.", asked == truth ? "Yes" : "No", x.s, rel_phrase[truth], y.s);
    return 1;
}
/* "what is left of the X": every other object clearly on one side */
static int qa_relation_what(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int j = w_rng_int(r, sc->n), rel = w_rng_int(r, 4), k, cnt = 0, opp = rel ^ 1;
    if (sc->n < 2) return 0;
    for (k = 0; k < sc->n; k++)
        if (k != j && !w_rel_clear(sc, k, j, rel) && !w_rel_clear(sc, k, j, opp)) return 0;
    Str y = nm(&sc->o[j]);
    static const char *const Q[] = {"What is {p} the {B}?", "Which objects are {p} the {B}?", "Is anything {p} the {B}?"};
    Fill f = {0, y.s, 0, 0, 0, 0, rel_phrase[rel], 0};
    fill(q, PICK(r, Q), &f);
    for (k = 0; k < sc->n; k++) cnt += k != j && w_rel_clear(sc, k, j, rel);
    if (cnt == 0) {
        llava_buf_printf(a, "No object is %s the %s.", rel_phrase[rel], y.s);
        return 1;
    }
    llava_buf_printf(a, "%s %s %s %s the %s: ", w_number_cap[cnt], cnt == 1 ? "object" : "objects", cnt == 1 ? "is" : "are", rel_phrase[rel], y.s);
    int done = 0;
    for (k = 0; k < sc->n; k++)
        if (k != j && w_rel_clear(sc, k, j, rel)) {
            Str x = nm(&sc->o[k]);
            llava_buf_printf(a, "%sthe %s", done ? (done == cnt - 1 ? " and " : ", ") : "", x.s);
            done++;
        }
    llava_buf_puts(a, ".");
    return 1;
}
static int qa_size(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"How big is the {A}?", "What size is the {A}?", "Is the {A} small, medium or large?"};
    int k = w_rng_int(r, sc->n);
    Str x = nm(&sc->o[k]), y = a_full(&sc->o[k]);
    Fill f = {x.s, y.s, 0, 0, 0, 0, 0, 0};
    fill(q, PICK(r, Q), &f);
    if (w_rng_int(r, 2)) llava_buf_printf(a, "The %s is %s.", x.s, w_size_name[sc->o[k].size]);
    else llava_buf_printf(a, "It is %s.", y.s);
    return 1;
}
static int qa_compare(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int i = w_rng_int(r, sc->n), j = w_rng_int(r, sc->n);
    if (i == j) return 0;
    Str x = nm(&sc->o[i]), y = nm(&sc->o[j]);
    if (w_rng_int(r, 2)) {
        if (sc->o[i].size == sc->o[j].size) return 0;
        llava_buf_printf(q, w_rng_int(r, 2) ? "Which is larger, the %s or the %s?" : "Which one is bigger: the %s or the %s?", x.s, y.s);
        if (sc->o[i].size > sc->o[j].size) llava_buf_printf(a, "The %s is larger than the %s.", x.s, y.s);
        else llava_buf_printf(a, "The %s is larger than the %s.", y.s, x.s);
    } else {
        llava_buf_printf(q, "Is the %s bigger than the %s?", x.s, y.s);
        if (sc->o[i].size > sc->o[j].size) llava_buf_printf(a, "Yes, the %s is larger than the %s.", x.s, y.s);
        else if (sc->o[i].size < sc->o[j].size) llava_buf_printf(a, "No, the %s is smaller than the %s.", x.s, y.s);
        else llava_buf_printf(a, "No, the %s and the %s are about the same size; both are %s.", x.s, y.s, w_size_name[sc->o[i].size]);
    }
    return 1;
}
static int qa_overlap(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int i = w_rng_int(r, sc->n), j = w_rng_int(r, sc->n), k;
    if (sc->n < 2) return 0;
    for (k = 0; k < sc->n && w_rng_int(r, 2); k++) /* prefer an overlapping pair when there is one */
        for (j = 0; j < sc->n; j++)
            if (j != k && w_overlap(&sc->o[k], &sc->o[j])) {
                i = k;
                goto found;
            }
    j = w_rng_int(r, sc->n);
found:
    if (i == j) return 0;
    Str x = nm(&sc->o[i]), y = nm(&sc->o[j]);
    llava_buf_printf(q, w_rng_int(r, 2) ? "Do the %s and the %s overlap?" : "Are the %s and the %s overlapping?", x.s, y.s);
    if (w_overlap(&sc->o[i], &sc->o[j])) llava_buf_printf(a, "Yes, the %s overlaps the %s.", x.s, y.s);
    else llava_buf_printf(a, "No, the %s and the %s do not overlap.", x.s, y.s);
    return 1;
}
static int qa_background(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    static const char *const Q[] = {"What color is the background?", "Describe the background of the image.", "What does the background look like?"};
    fill(q, PICK(r, Q), &(Fill){0});
    if (sc->bg_kind == W_BG_PLAIN) llava_buf_printf(a, "It is a plain %s background.", w_bg_name[sc->bg[0]]);
    else
        llava_buf_printf(a, "The image has a %s and %s background: the %s half is %s and the %s half is %s.", w_bg_name[sc->bg[0]], w_bg_name[sc->bg[1]],
                         sc->bg_kind == W_BG_SPLIT_V ? "left" : "top", w_bg_name[sc->bg[0]], sc->bg_kind == W_BG_SPLIT_V ? "right" : "bottom",
                         w_bg_name[sc->bg[1]]);
    return 1;
}

static const QAFn conv_kinds[] = {qa_exists_yes, qa_exists_no,  qa_color,       qa_shape,   qa_count,   qa_count_shape, qa_count_color,
                                  qa_position,   qa_relation_yn, qa_relation_what, qa_size, qa_compare, qa_overlap,     qa_background};
#define N_CONV_KINDS ((int)(sizeof conv_kinds / sizeof conv_kinds[0]))

/* ---- detailed description ------------------------------------------------------------------------ */
static const char *const detail_instr[] = {
    "Describe the following image in detail.",          "Give a detailed description of this image.",
    "What is in this picture? Describe it thoroughly.", "Explain the visual content of the image in detail.",
    "Write a comprehensive description of the image.",  "Describe everything you see in the picture.",
    "Provide a detailed account of the scene shown.",   "Tell me about this image, with as much detail as you can.",
    "Walk me through what this image shows.",           "Analyze the image in a detailed manner."};

static void describe(const WScene *sc, WRng *r, LlavaBuf *a) {
    int order[W_MAX_OBJ], k, i, j;
    for (k = 0; k < sc->n; k++) order[k] = k;
    w_shuffle(r, order, sc->n);
    if (sc->n == 1) llava_buf_puts(a, "The image shows a single shape on ");
    else llava_buf_printf(a, "The image shows %s %s on ", w_number_word[sc->n], w_rng_int(r, 2) ? "shapes" : "objects");
    if (sc->bg_kind == W_BG_PLAIN) llava_buf_printf(a, "a plain %s background.", w_bg_name[sc->bg[0]]);
    else llava_buf_printf(a, "a %s and %s background, divided into %s halves.", w_bg_name[sc->bg[0]], w_bg_name[sc->bg[1]],
                          sc->bg_kind == W_BG_SPLIT_V ? "left and right" : "top and bottom");
    for (k = 0; k < sc->n; k++) {
        const WObj *o = &sc->o[order[k]];
        Str f = a_full(o);
        const char *p = pos_clear(o) ? posph(o) : "in the image";
        switch (pos_clear(o) ? w_rng_int(r, 3) : 0) {
        case 0: llava_buf_printf(a, " There is %s %s.", f.s, p); break;
        case 1: cap_first(f.s); llava_buf_printf(a, " %s sits %s.", f.s, p); break;
        default: cap_first(f.s); llava_buf_printf(a, " %s appears %s.", f.s, p); break;
        }
    }
    /* relations: overlaps always, then up to two clear spatial relations */
    for (i = 0; i < sc->n; i++)
        for (j = i + 1; j < sc->n; j++)
            if (w_overlap(&sc->o[i], &sc->o[j])) {
                Str x = nm(&sc->o[j]), y = nm(&sc->o[i]);
                llava_buf_printf(a, " The %s overlaps the %s and is drawn on top of it.", x.s, y.s);
            }
    int said = 0, lastx = -1, lasty = -1;
    for (k = 0; k < 8 && said < 2 && sc->n > 1; k++) {
        int x = w_rng_int(r, sc->n), y = w_rng_int(r, sc->n), rel = w_rng_int(r, 4);
        if (x == y || !w_rel_clear(sc, x, y, rel) || (x == lastx && y == lasty) || (x == lasty && y == lastx)) continue;
        lastx = x, lasty = y;
        Str nx = nm(&sc->o[x]), ny = nm(&sc->o[y]);
        llava_buf_printf(a, " The %s is %s the %s.", nx.s, rel_phrase[rel], ny.s);
        said++;
    }
    /* the largest object, if only one has the top size class */
    if (sc->n > 1) {
        int best = 0, ties = 0;
        for (k = 1; k < sc->n; k++)
            if (sc->o[k].size > sc->o[best].size) best = k;
        for (k = 0; k < sc->n; k++) ties += sc->o[k].size == sc->o[best].size;
        if (ties == 1) {
            Str x = nm(&sc->o[best]);
            llava_buf_printf(a, " The %s is the largest object in the scene.", x.s);
        }
    }
}

/* ---- complex reasoning: one question, an answer that combines several facts ------------------------- */
static int cr_closest(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int j = w_rng_int(r, sc->n), k, best = -1, rel;
    if (sc->n < 3) return 0;
    for (k = 0; k < sc->n; k++)
        if (k != j && w_rel_clear(sc, k, j, W_REL_CLOSEST)) best = k;
    if (best < 0) return 0;
    Str y = nm(&sc->o[j]), x = nm(&sc->o[best]);
    static const char *const Q[] = {"Which object is closest to the {B}, and what color is it?", "What is the nearest shape to the {B}, and what color does it have?",
                                    "Find the object nearest to the {B}. What color is it?"};
    Fill f = {0, y.s, 0, 0, 0, 0, 0, 0};
    fill(q, PICK(r, Q), &f);
    llava_buf_printf(a, "The object closest to the %s is the %s. Its color is %s.", y.s, x.s, w_color_name[sc->o[best].color]);
    for (rel = 0; rel < 4; rel++)
        if (w_rel_clear(sc, best, j, rel)) {
            llava_buf_printf(a, " The %s is %s the %s", x.s, rel_phrase[rel], y.s);
            llava_buf_puts(a, w_overlap(&sc->o[best], &sc->o[j]) ? ", and they even overlap." : ".");
            break;
        }
    if (rel == 4 && w_overlap(&sc->o[best], &sc->o[j])) llava_buf_printf(a, " The %s overlaps the %s.", x.s, y.s);
    return 1;
}
static int cr_count_rel(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int j = w_rng_int(r, sc->n), rel = w_rng_int(r, 6), k, cnt = 0, done = 0;
    static const int rels[6] = {W_REL_LEFT, W_REL_RIGHT, W_REL_ABOVE, W_REL_BELOW, W_REL_LARGER, W_REL_SMALLER};
    static const char *const ph[6] = {"to the left of", "to the right of", "above", "below", "larger than", "smaller than"};
    static const int opp[6] = {W_REL_RIGHT, W_REL_LEFT, W_REL_BELOW, W_REL_ABOVE, -1, -1};
    if (sc->n < 3) return 0;
    for (k = 0; k < sc->n; k++) {
        if (k == j) continue;
        if (opp[rel] >= 0 && !w_rel_clear(sc, k, j, rels[rel]) && !w_rel_clear(sc, k, j, opp[rel])) return 0;
        cnt += w_rel_clear(sc, k, j, rels[rel]);
    }
    Str y = nm(&sc->o[j]);
    llava_buf_printf(q, w_rng_int(r, 2) ? "How many objects are %s the %s?" : "Count the shapes that are %s the %s.", ph[rel], y.s);
    if (cnt == 0) {
        llava_buf_printf(a, "No object is %s the %s.", ph[rel], y.s);
        if (rel >= 4) llava_buf_printf(a, " The %s is %s, and no other shape is of a %s size class.", y.s, w_size_name[sc->o[j].size],
                                       rel == 4 ? "larger" : "smaller");
        return 1;
    }
    llava_buf_printf(a, "%s %s %s %s the %s: ", w_number_cap[cnt], cnt == 1 ? "object" : "objects", cnt == 1 ? "is" : "are", ph[rel], y.s);
    for (k = 0; k < sc->n; k++)
        if (k != j && w_rel_clear(sc, k, j, rels[rel])) {
            Str x = nm(&sc->o[k]);
            llava_buf_printf(a, "%sthe %s", done ? (done == cnt - 1 ? " and " : ", ") : "", x.s);
            done++;
        }
    llava_buf_puts(a, ".");
    if (rel >= 4) llava_buf_printf(a, " The %s itself is %s.", y.s, w_size_name[sc->o[j].size]);
    else if (pos_clear(&sc->o[j])) llava_buf_printf(a, " The %s itself is %s of the image.", y.s, posph(&sc->o[j]));
    return 1;
}
static int cr_larger_where(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int i = w_rng_int(r, sc->n), j = w_rng_int(r, sc->n);
    if (i == j || sc->o[i].size == sc->o[j].size) return 0;
    int big = sc->o[i].size > sc->o[j].size ? i : j, small = big == i ? j : i;
    if (!pos_clear(&sc->o[big])) return 0;
    Str x = nm(&sc->o[i]), y = nm(&sc->o[j]), b = nm(&sc->o[big]), s = nm(&sc->o[small]);
    llava_buf_printf(q, w_rng_int(r, 2) ? "Which is larger, the %s or the %s, and where is the larger one?"
                                 : "Of the %s and the %s, which one is bigger, and in which part of the image is it?", x.s, y.s);
    llava_buf_printf(a, "The %s is larger than the %s: it is %s, while the %s is %s. The %s is %s of the image.", b.s, s.s,
                     w_size_name[sc->o[big].size], s.s, w_size_name[sc->o[small].size], b.s, posph(&sc->o[big]));
    return 1;
}
static int cr_more(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int s1 = sc->o[w_rng_int(r, sc->n)].shape, s2 = w_rng_int(r, W_NSHAPE);
    if (s1 == s2) return 0;
    int c1 = w_count(sc, s1, -1), c2 = w_count(sc, s2, -1);
    llava_buf_printf(q, "Are there more %s than %s in the image?", w_shape_plural[s1], w_shape_plural[s2]);
    const char *ans = c1 > c2 ? "Yes" : "No";
    llava_buf_printf(a, "%s. ", ans);
    if (c1 == 1) llava_buf_printf(a, "There is one %s", w_shape_name[s1]);
    else if (c1 == 0) llava_buf_printf(a, "There are no %s", w_shape_plural[s1]);
    else llava_buf_printf(a, "There are %s %s", w_number_word[c1], w_shape_plural[s1]);
    if (c2 == 1) llava_buf_printf(a, ", and there is one %s", w_shape_name[s2]);
    else if (c2 == 0) llava_buf_printf(a, ", and there are no %s", w_shape_plural[s2]);
    else llava_buf_printf(a, ", and there are %s %s", w_number_word[c2], w_shape_plural[s2]);
    if (c1 > c2) llava_buf_printf(a, ". So there are more %s than %s.", w_shape_plural[s1], w_shape_plural[s2]);
    else if (c1 == c2) llava_buf_printf(a, ". So there are just as many %s as %s.", w_shape_plural[s1], w_shape_plural[s2]);
    else llava_buf_printf(a, ". So there are fewer %s than %s.", w_shape_plural[s1], w_shape_plural[s2]);
    return 1;
}
static int cr_extreme(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int axis = w_rng_int(r, 4), k, best = 0, others = 0;
    static const char *const word[4] = {"leftmost", "rightmost", "highest", "lowest"};
    static const int rel[4] = {W_REL_LEFT, W_REL_RIGHT, W_REL_ABOVE, W_REL_BELOW};
    if (sc->n < 2) return 0;
    for (best = 0; best < sc->n; best++) {
        int ok = 1;
        for (k = 0; k < sc->n; k++)
            if (k != best && !w_rel_clear(sc, best, k, rel[axis])) ok = 0;
        if (ok) break;
    }
    if (best == sc->n) return 0;
    Str x = nm(&sc->o[best]);
    llava_buf_printf(q, w_rng_int(r, 2) ? "Which object is the %s in the image, and what shape is it?" : "What is the %s object, and what is its shape?", word[axis]);
    llava_buf_printf(a, "The %s object is the %s, so its shape is a %s. The %s is %s", word[axis], x.s, w_shape_name[sc->o[best].shape], x.s, rel_phrase[axis]);
    for (k = 0; k < sc->n; k++)
        if (k != best) {
            Str y = nm(&sc->o[k]);
            llava_buf_printf(a, "%s the %s", others ? (others == sc->n - 2 ? " and" : ",") : "", y.s);
            others++;
        }
    llava_buf_puts(a, ".");
    return 1;
}
static int cr_order(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int order[W_MAX_OBJ], k, i;
    if (sc->n < 3) return 0;
    for (k = 0; k < sc->n; k++) order[k] = k;
    for (k = 0; k < sc->n; k++) /* sort by x */
        for (i = k + 1; i < sc->n; i++)
            if (w_cx(&sc->o[order[i]]) < w_cx(&sc->o[order[k]])) {
                int t = order[i];
                order[i] = order[k];
                order[k] = t;
            }
    for (k = 0; k + 1 < sc->n; k++)
        if (!w_rel_clear(sc, order[k], order[k + 1], W_REL_LEFT)) return 0;
    llava_buf_puts(q, w_rng_int(r, 2) ? "List the objects from left to right." : "In what order do the shapes appear from left to right?");
    llava_buf_puts(a, "From left to right: ");
    for (k = 0; k < sc->n; k++) {
        Str x = nm(&sc->o[order[k]]);
        llava_buf_printf(a, "%sthe %s", k ? (k == sc->n - 1 ? " and " : ", ") : "", x.s);
    }
    llava_buf_puts(a, ".");
    for (k = 0; k + 1 < sc->n && k < 2; k++) {
        Str x = nm(&sc->o[order[k]]), y = nm(&sc->o[order[k + 1]]);
        llava_buf_printf(a, " The %s is to the left of the %s.", x.s, y.s);
    }
    return 1;
}
static int cr_remove(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int j = w_rng_int(r, sc->n), k, done = 0;
    if (sc->n < 2) return 0;
    Str y = nm(&sc->o[j]);
    llava_buf_printf(q, w_rng_int(r, 2) ? "If the %s were removed, what would remain in the image?" : "What would be left if someone erased the %s?", y.s);
    llava_buf_printf(a, "If the %s were removed, %s %s would remain: ", y.s, w_number_word[sc->n - 1], sc->n - 1 == 1 ? "object" : "objects");
    for (k = 0; k < sc->n; k++)
        if (k != j) {
            Str x = a_nm(&sc->o[k]);
            llava_buf_printf(a, "%s%s", done ? (done == sc->n - 2 ? " and " : ", ") : "", x.s);
            done++;
        }
    llava_buf_printf(a, ". The background would stay %s.", w_bg_name[sc->bg[0]]);
    if (sc->bg_kind != W_BG_PLAIN) a->n -= 1, a->p[a->n] = 0, llava_buf_printf(a, " and %s.", w_bg_name[sc->bg[1]]);
    return 1;
}
static int cr_hidden(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int i, j;
    llava_buf_puts(q, w_rng_int(r, 2) ? "Is any shape partly hidden by another one? Explain." : "Do any of the objects cover each other?");
    for (i = 0; i < sc->n; i++)
        for (j = i + 1; j < sc->n; j++)
            if (w_overlap(&sc->o[i], &sc->o[j])) {
                Str lo = nm(&sc->o[i]), hi = nm(&sc->o[j]);
                llava_buf_printf(a, "Yes. The %s overlaps the %s and is drawn on top of it, so part of the %s is hidden.", hi.s, lo.s, lo.s);
                return 1;
            }
    if (sc->n == 1) llava_buf_puts(a, "There is only one shape, so nothing can be hidden.");
    else llava_buf_printf(a, "No. There are %s shapes, and none of them overlap, so every shape is fully visible.", w_number_word[sc->n]);
    return 1;
}
static const QAFn complex_kinds[] = {cr_closest, cr_count_rel, cr_larger_where, cr_more, cr_extreme, cr_order, cr_remove, cr_hidden};
#define N_COMPLEX_KINDS ((int)(sizeof complex_kinds / sizeof complex_kinds[0]))

static const char *const brief_instr[] = {
    "Describe the image briefly.",          "Give a short caption for this image.",      "Summarize the picture in a few words.",
    "What does this image show, in short?", "Write a brief description of the image.",   "Provide a concise caption.",
    "Share a quick summary of the picture.", "Describe the picture in one sentence.",    "Caption this image.",
    "Offer a short description of what is shown.", "In a sentence, what is in this picture?"};

/* ---- writing records ------------------------------------------------------------------------------ */
static const char *image_name(const WScene *sc) { /* file name inside the images folder */
    const char *s = strrchr(sc->file, '/');
    return s ? s + 1 : sc->file;
}
static void human_first(LlavaBuf *out, const char *text, WRng *r) {
    LlavaBuf v = {0};
    if (w_rng_int(r, 2)) llava_buf_printf(&v, "<image>\n%s", text);
    else llava_buf_printf(&v, "%s\n<image>", text);
    llava_buf_json_string(out, v.p, v.n);
    llava_buf_free(&v);
}
static void record_begin(LlavaBuf *out, const char *id, const WScene *sc) {
    llava_buf_puts(out, "{\"id\": ");
    w_json(out, id);
    llava_buf_puts(out, ", \"image\": ");
    w_json(out, image_name(sc));
    llava_buf_puts(out, ", \"conversations\": [");
}
static void turn(LlavaBuf *out, int first_turn, const char *from, const char *value, WRng *r, int first_human) {
    llava_buf_printf(out, "%s{\"from\": \"%s\", \"value\": ", first_turn ? "" : ", ", from);
    if (first_human) human_first(out, value, r);
    else w_json(out, value);
    llava_buf_puts(out, "}");
}

static int conversation(const WScene *sc, WRng *r, const char *id, LlavaBuf *out) {
    int used[N_CONV_KINDS] = {0}, turns = 2 + w_rng_int(r, 4), t, made = 0;
    LlavaBuf q = {0}, a = {0};
    record_begin(out, id, sc);
    for (t = 0; t < 60 && made < turns; t++) {
        int k = w_rng_int(r, N_CONV_KINDS);
        if (used[k]) continue;
        w_buf_clear(&q);
        w_buf_clear(&a);
        if (!conv_kinds[k](sc, r, &q, &a)) continue;
        used[k] = 1;
        turn(out, made == 0, "human", q.p, r, made == 0);
        turn(out, 0, "gpt", a.p, r, 0);
        made++;
    }
    llava_buf_puts(out, "]}");
    llava_buf_free(&q);
    llava_buf_free(&a);
    return made;
}
static void detail(const WScene *sc, WRng *r, const char *id, LlavaBuf *out) {
    LlavaBuf a = {0};
    record_begin(out, id, sc);
    describe(sc, r, &a);
    turn(out, 1, "human", PICK(r, detail_instr), r, 1);
    turn(out, 0, "gpt", a.p, r, 0);
    llava_buf_puts(out, "]}");
    llava_buf_free(&a);
}
static int complex_one(const WScene *sc, WRng *r, LlavaBuf *q, LlavaBuf *a) {
    int t;
    for (t = 0; t < 40; t++) {
        w_buf_clear(q);
        w_buf_clear(a);
        if (complex_kinds[w_rng_int(r, N_COMPLEX_KINDS)](sc, r, q, a)) return 1;
    }
    return 0;
}
static int complex_rec(const WScene *sc, WRng *r, const char *id, LlavaBuf *out) {
    LlavaBuf q = {0}, a = {0};
    int ok = complex_one(sc, r, &q, &a);
    if (ok) {
        record_begin(out, id, sc);
        turn(out, 1, "human", q.p, r, 1);
        turn(out, 0, "gpt", a.p, r, 0);
        llava_buf_puts(out, "]}");
    }
    llava_buf_free(&q);
    llava_buf_free(&a);
    return ok;
}

static void context_line(const WScene *sc, LlavaBuf *out, const char *image) {
    int k;
    LlavaBuf t = {0};
    char nb[64];
    llava_buf_printf(out, "{\"id\": \"%s\", \"image\": ", sc->id);
    w_json(out, image);
    llava_buf_puts(out, ", \"captions\": [");
    for (k = 0; k < 5; k++) {
        if (k) llava_buf_puts(out, ", ");
        w_json(out, sc->cap[k] ? sc->cap[k] : "");
    }
    llava_buf_puts(out, "], \"instances\": [");
    for (k = 0; k < sc->n; k++)
        llava_buf_printf(out, "%s{\"category\": \"%s\", \"bbox\": [%.3f, %.3f, %.3f, %.3f]}", k ? ", " : "", w_obj_name(&sc->o[k], nb, sizeof nb),
                         sc->o[k].box[0], sc->o[k].box[1], sc->o[k].box[2], sc->o[k].box[3]);
    llava_buf_printf(out, "], \"background\": {\"kind\": \"%s\", \"colors\": [\"%s\"", w_bg_kind_name[sc->bg_kind], w_bg_name[sc->bg[0]]);
    if (sc->bg_kind != W_BG_PLAIN) llava_buf_printf(out, ", \"%s\"", w_bg_name[sc->bg[1]]);
    llava_buf_puts(out, "]}, \"objects\": [");
    for (k = 0; k < sc->n; k++)
        llava_buf_printf(out, "%s{\"shape\": \"%s\", \"color\": \"%s\", \"size\": \"%s\", \"box\": [%.3f, %.3f, %.3f, %.3f]}", k ? ", " : "",
                         w_shape_name[sc->o[k].shape], w_color_name[sc->o[k].color], w_size_name[sc->o[k].size], sc->o[k].box[0], sc->o[k].box[1],
                         sc->o[k].box[2], sc->o[k].box[3]);
    llava_buf_puts(out, "], \"text\": ");
    w_context_text(sc, &t);
    llava_buf_json_string(out, t.p, t.n);
    llava_buf_puts(out, "}\n");
    llava_buf_free(&t);
}

/* writes DIR/NAME; an error ends the program */
static int save(const char *dir, const char *name, const LlavaBuf *b) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (b->oom) cli_die("%s: out of memory", path);
    if (llava_write_text(path, b->p ? b->p : "") != LLAVA_OK) cli_die("%s", llava_last_error());
    return 0;
}
static void copy_file(const char *from, const char *to) {
    if (llava_copy_file(from, to) != LLAVA_OK) cli_die("%s", llava_last_error());
}
static void world_dir(const char *world, char *dir, size_t cap) {
    size_t len = strlen(world);
    snprintf(dir, cap, "%s", world);
    if (len > 5 && !strcmp(world + len - 5, ".json")) {
        char *s = strrchr(dir, '/');
        if (s) *s = 0;
        else snprintf(dir, cap, ".");
    }
}

/* ---- training data ------------------------------------------------------------------------------- */
static int make_train(WScene *sc, int n, const char *out, const char *types, int n_conv, int n_detail, int n_complex, int n_caps,
                      uint64_t seed) {
    LlavaBuf pre = {0}, conv = {0}, det = {0}, cx = {0}, mix = {0}, ctx = {0}, rec = {0};
    int i, k, want_conv = strstr(types, "conv") != NULL, want_detail = strstr(types, "detail") != NULL,
              want_complex = strstr(types, "complex") != NULL, nmix = 0, cnt[3] = {0, 0, 0};
    char id[64];
    llava_buf_puts(&pre, "[\n");
    for (i = 0; i < n; i++) {
        WRng r;
        int idx[5] = {0, 1, 2, 3, 4};
        w_rng_seed(&r, seed, 0x100000000ull + (uint64_t)i);
        w_shuffle(&r, idx, 5);
        for (k = 0; k < n_caps && k < 5; k++) {
            if (n_caps == 1) snprintf(id, sizeof id, "%s", sc[i].id);
            else snprintf(id, sizeof id, "%s_%d", sc[i].id, k);
            if (pre.n > 2) llava_buf_puts(&pre, ",\n");
            record_begin(&pre, id, &sc[i]);
            turn(&pre, 1, "human", PICK(&r, brief_instr), &r, 1);
            turn(&pre, 0, "gpt", sc[i].cap[idx[k]] ? sc[i].cap[idx[k]] : "", &r, 0);
            llava_buf_puts(&pre, "]}");
        }
        context_line(&sc[i], &ctx, image_name(&sc[i]));
    }
    llava_buf_puts(&pre, "\n]\n");
    /* the three types, each on images in turn; the mix interleaves them in a seeded order */
    int total = n_conv + n_detail + n_complex, *kind = (int *)cli_xmalloc(sizeof(int) * (size_t)total);
    LlavaBuf *dst[3] = {&conv, &det, &cx};
    for (k = 0; k < 3; k++) llava_buf_puts(dst[k], "[\n");
    llava_buf_puts(&mix, "[\n");
    for (i = 0; i < total; i++) kind[i] = i < n_conv ? 0 : i < n_conv + n_detail ? 1 : 2;
    {
        WRng r;
        w_rng_seed(&r, seed, 0x200000000ull);
        w_shuffle(&r, kind, total);
    }
    for (i = 0; i < total; i++) {
        int t = kind[i], rep = cnt[t] / n, im = cnt[t] % n;
        WRng r;
        w_rng_seed(&r, seed, ((uint64_t)(t + 3) << 32) + (uint64_t)cnt[t]);
        cnt[t]++;
        snprintf(id, sizeof id, "%s_%s%d", sc[im].id, t == 0 ? "conv" : t == 1 ? "detail" : "complex", rep);
        w_buf_clear(&rec);
        if (t == 0) conversation(&sc[im], &r, id, &rec);
        else if (t == 1) detail(&sc[im], &r, id, &rec);
        else if (!complex_rec(&sc[im], &r, id, &rec)) continue;
        if (dst[t]->n > 2) llava_buf_puts(dst[t], ",\n");
        llava_buf_puts(dst[t], rec.p);
        if ((t == 0 && want_conv) || (t == 1 && want_detail) || (t == 2 && want_complex)) {
            if (mix.n > 2) llava_buf_puts(&mix, ",\n");
            llava_buf_puts(&mix, rec.p);
            nmix++;
        }
    }
    for (k = 0; k < 3; k++) llava_buf_puts(dst[k], "\n]\n");
    llava_buf_puts(&mix, "\n]\n");
    int rc = save(out, "pretrain.json", &pre) || save(out, "conversation.json", &conv) || save(out, "detail.json", &det) ||
             save(out, "complex_reasoning.json", &cx) || save(out, "instruct.json", &mix) || save(out, "context.jsonl", &ctx);
    if (!rc)
        printf("instruct: %d caption pairs, %d conversations, %d descriptions, %d reasoning -> %d in instruct.json (%s), in %s\n",
               n * (n_caps < 5 ? n_caps : 5), n_conv, n_detail, n_complex, nmix, types, out);
    free(kind);
    llava_buf_free(&pre), llava_buf_free(&conv), llava_buf_free(&det), llava_buf_free(&cx), llava_buf_free(&mix), llava_buf_free(&ctx), llava_buf_free(&rec);
    return rc ? 1 : 0;
}

/* ---- LLaVA-Bench style held-out set --------------------------------------------------------------- */
static int make_bench(WScene *sc, int n, const char *world, const char *out, uint64_t seed) {
    LlavaBuf qs = {0}, an = {0}, ctx = {0}, q = {0}, a = {0};
    char dir[1024], from[1400], to[1400];
    int i, t, qid = 0;
    world_dir(world, dir, sizeof dir);
    snprintf(to, sizeof to, "%s/images", out);
    if (w_mkdir_p(to)) cli_die("%s: cannot create (%s)", to, strerror(errno));
    for (i = 0; i < n; i++) {
        const char *img = image_name(&sc[i]);
        snprintf(from, sizeof from, "%s/%s", dir, sc[i].file);
        snprintf(to, sizeof to, "%s/images/%s", out, img);
        copy_file(from, to);
        context_line(&sc[i], &ctx, img);
        for (t = 0; t < 3; t++) {
            static const char *const cat[3] = {"conv", "detail", "complex"};
            WRng r;
            int tries;
            w_rng_seed(&r, seed, 0x300000000ull + (uint64_t)qid);
            w_buf_clear(&q);
            w_buf_clear(&a);
            if (t == 0)
                for (tries = 0; tries < 100; tries++) {
                    w_buf_clear(&q);
                    w_buf_clear(&a);
                    if (conv_kinds[w_rng_int(&r, N_CONV_KINDS)](&sc[i], &r, &q, &a)) break;
                }
            else if (t == 1) {
                llava_buf_puts(&q, PICK(&r, detail_instr));
                describe(&sc[i], &r, &a);
            } else if (!complex_one(&sc[i], &r, &q, &a)) {
                w_buf_clear(&q);
                w_buf_clear(&a);
                cr_hidden(&sc[i], &r, &q, &a);
            }
            llava_buf_printf(&qs, "{\"question_id\": %d, \"image\": ", qid);
            w_json(&qs, img);
            llava_buf_puts(&qs, ", \"text\": ");
            llava_buf_json_string(&qs, q.p, q.n);
            llava_buf_printf(&qs, ", \"category\": \"%s\"}\n", cat[t]);
            llava_buf_printf(&an, "{\"question_id\": %d, \"text\": ", qid);
            llava_buf_json_string(&an, a.p, a.n);
            llava_buf_printf(&an, ", \"category\": \"%s\", \"answer_id\": \"ref-%d\", \"model_id\": \"rules\"}\n", cat[t], qid);
            qid++;
        }
    }
    int rc = save(out, "questions.jsonl", &qs) || save(out, "answers_ref.jsonl", &an) || save(out, "context.jsonl", &ctx);
    if (!rc) printf("instruct: bench of %d questions on %d images in %s\n", qid, n, out);
    llava_buf_free(&qs), llava_buf_free(&an), llava_buf_free(&ctx), llava_buf_free(&q), llava_buf_free(&a);
    return rc ? 1 : 0;
}

/* ---- multiple choice in ScienceQA's format ------------------------------------------------------------
   Every choice is turned into a statement ("The image shows a blue circle.") and run through the fact
   checker: a problem is kept only if the right choice's statement is true and every other one is false. */
enum { MC_COLOR, MC_SHAPE, MC_COUNT, MC_POSITION, MC_RELATION, MC_NCAT };
static const char *const mc_cat[MC_NCAT] = {"color", "shape", "count", "position", "relation"};
static const char *const mc_skill[MC_NCAT] = {"Identify the color of an object", "Identify the shape of an object",
                                              "Count objects", "Locate an object in the image", "Compare two objects"};
static const char *const mc_lecture[MC_NCAT] = {
    "Each shape in the picture is drawn in one flat color. Look at the shape the question names and read off its color.",
    "The shapes in these pictures are circles, squares, triangles, stars, crosses, rings and diamonds.",
    "To count objects, look at every shape in the picture once and keep a tally.",
    "The image can be split into left and right halves and into top and bottom halves; a shape's position is where its center lies.",
    "Objects can be compared by where they are (left, right, above, below) and by how big they are."};

typedef struct {
    char question[256];
    char choice[5][96];
    char stmt[5][256];
    int k, answer, cat;
} MCProb;

/* the statement for choice k (through a local buffer: the arguments live in the same struct) */
#define STMT(k, ...)                                      \
    do {                                                  \
        char s_[256];                                     \
        snprintf(s_, sizeof s_, __VA_ARGS__);             \
        memcpy(p->stmt[k], s_, sizeof s_);                \
    } while (0)

static int stmt_ok(const WScene *sc, const char *s, int want_true) {
    WCheck c = {0};
    w_check_text(sc, s, &c);
    int ok = want_true ? (c.n_false == 0 && c.keys.n > 0) : c.n_false > 0;
    w_check_free(&c);
    return ok;
}

/* want_count (0-11): a count question's options (the four counts from want_count / 4) and its answer
   (want_count % 4 among them), chosen by the caller so that each comes out as often */
static int mc_make(const WScene *sc, WRng *r, int cat, int want_count, MCProb *p) {
    int k, t, o = w_rng_int(r, sc->n);
    const WObj *ob = &sc->o[o];
    Str on = nm(ob);
    memset(p, 0, sizeof *p);
    p->cat = cat;
    switch (cat) {
    case MC_COLOR: {
        if (!unique_shape(sc, o)) return 0;
        snprintf(p->question, sizeof p->question, w_rng_int(r, 2) ? "What color is the %s?" : "Which color is the %s in the image?", w_shape_name[ob->shape]);
        p->k = 4;
        int used[W_NCOLOR] = {0};
        used[ob->color] = 1;
        snprintf(p->choice[0], 96, "%s", w_color_name[ob->color]);
        for (k = 1; k < p->k; k++) {
            int c;
            do c = w_rng_int(r, W_NCOLOR);
            while (used[c]);
            used[c] = 1;
            snprintf(p->choice[k], 96, "%s", w_color_name[c]);
        }
        for (k = 0; k < p->k; k++) STMT(k, "The image shows %s %s %s.", w_article(p->choice[k]), p->choice[k], w_shape_name[ob->shape]);
        break;
    }
    case MC_SHAPE: {
        if (!unique_color(sc, o)) return 0;
        snprintf(p->question, sizeof p->question, w_rng_int(r, 2) ? "What shape is the %s object?" : "Which shape is drawn in %s?", w_color_name[ob->color]);
        p->k = 4;
        int used[W_NSHAPE] = {0};
        used[ob->shape] = 1;
        snprintf(p->choice[0], 96, "%s", w_shape_name[ob->shape]);
        for (k = 1; k < p->k; k++) {
            int s;
            do s = w_rng_int(r, W_NSHAPE);
            while (used[s]);
            used[s] = 1;
            snprintf(p->choice[k], 96, "%s", w_shape_name[s]);
        }
        for (k = 0; k < p->k; k++) STMT(k, "The image shows %s %s %s.", w_article(w_color_name[ob->color]), w_color_name[ob->color], p->choice[k]);
        break;
    }
    case MC_COUNT: {
        /* the options and the answer first, then a question about this scene with that answer (all
           objects, a shape or a colour, present or not). Counts drawn from the scenes would be mostly 1,
           and options drawn around the true count would name it by being their middle: the options
           alone would tell. Here every set of options has each of its counts right equally often. */
        const int lo = want_count / 4, cnt = lo + want_count % 4;
        int how[1 + W_NSHAPE + W_NCOLOR], which[1 + W_NSHAPE + W_NCOLOR], nq = 0, q;
        char noun[64];
        if (sc->n == cnt) how[nq] = 0, which[nq++] = 0;
        for (q = 0; q < W_NSHAPE; q++)
            if (w_count(sc, q, -1) == cnt) how[nq] = 1, which[nq++] = q;
        for (q = 0; q < W_NCOLOR; q++)
            if (w_count(sc, -1, q) == cnt) how[nq] = 2, which[nq++] = q;
        if (!nq) return 0;
        q = w_rng_int(r, nq);
        if (how[q] == 0) snprintf(noun, sizeof noun, "objects"), snprintf(p->question, 256, "How many objects are in the image?");
        else if (how[q] == 1) snprintf(noun, sizeof noun, "%s", w_shape_plural[which[q]]), snprintf(p->question, 256, "How many %s are there?", noun);
        else snprintf(noun, sizeof noun, "%s objects", w_color_name[which[q]]), snprintf(p->question, 256, "How many %s are there?", noun);
        p->k = 4;
        snprintf(p->choice[0], 96, "%d", cnt);
        for (k = 1, q = lo; q < lo + 4; q++)
            if (q != cnt) snprintf(p->choice[k++], 96, "%d", q);
        for (k = 0; k < p->k; k++) STMT(k, "There are %s %s in the image.", p->choice[k], noun);
        break;
    }
    case MC_POSITION: {
        int hl = w_hclaim(ob, 0), hr = w_hclaim(ob, 2), vt = w_vclaim(ob, 0), vb = w_vclaim(ob, 2);
        int quad = (hl != hr) && (vt != vb) && !w_hclaim(ob, 1) && !w_vclaim(ob, 1);
        int mode = quad && w_rng_int(r, 2) ? 2 : w_rng_int(r, 2); /* 0: left/right, 1: top/bottom, 2: quadrant */
        snprintf(p->question, 256, w_rng_int(r, 2) ? "Where is the %s?" : "In which part of the image is the %s?", on.s);
        if (mode == 2) {
            static const char *const qn[4] = {"top left", "top right", "bottom left", "bottom right"};
            int truth = (vb ? 2 : 0) + (hr ? 1 : 0);
            p->k = 4;
            snprintf(p->choice[0], 96, "%s", qn[truth]);
            for (k = 1, t = 0; t < 4; t++)
                if (t != truth) snprintf(p->choice[k++], 96, "%s", qn[t]);
        } else {
            int a = mode == 0 ? hl : vt, b = mode == 0 ? hr : vb;
            if (a == b) return 0;
            p->k = 2;
            snprintf(p->choice[0], 96, "%s", mode == 0 ? (a ? "left" : "right") : (a ? "top" : "bottom"));
            snprintf(p->choice[1], 96, "%s", mode == 0 ? (a ? "right" : "left") : (a ? "bottom" : "top"));
        }
        for (k = 0; k < p->k; k++) STMT(k, "The %s is in the %s part of the image.", on.s, p->choice[k]);
        break;
    }
    case MC_RELATION: {
        static const char *const ph[7] = {"to the left of", "to the right of", "above", "below", "larger than", "smaller than", "overlapping"};
        static const int rels[7] = {W_REL_LEFT, W_REL_RIGHT, W_REL_ABOVE, W_REL_BELOW, W_REL_LARGER, W_REL_SMALLER, W_REL_OVERLAP};
        int rl = w_rng_int(r, 7), hit = -1, nchoice = 0, used[W_NSHAPE][W_NCOLOR];
        memset(used, 0, sizeof used);
        if (sc->n < 2) return 0;
        for (k = 0; k < sc->n; k++)
            if (k != o && w_rel(sc, k, o, rels[rl])) {
                if (hit >= 0) return 0; /* more than one right answer */
                hit = k;
            }
        if (hit < 0 || (rels[rl] <= W_REL_BELOW && !w_rel_clear(sc, hit, o, rels[rl]))) return 0;
        if (rl == 6) snprintf(p->question, 256, "Which object overlaps the %s?", on.s);
        else snprintf(p->question, 256, "Which object is %s the %s?", ph[rl], on.s);
        Str hn = nm(&sc->o[hit]);
        snprintf(p->choice[nchoice++], 96, "%s", hn.s);
        used[sc->o[hit].shape][sc->o[hit].color] = used[ob->shape][ob->color] = 1;
        for (k = 0; k < sc->n && nchoice < 3; k++) /* distractors in the scene, then ones that are not */
            if (!used[sc->o[k].shape][sc->o[k].color]) {
                Str x = nm(&sc->o[k]);
                used[sc->o[k].shape][sc->o[k].color] = 1;
                snprintf(p->choice[nchoice++], 96, "%s", x.s);
            }
        for (t = 0; nchoice < 3 + (sc->n < 3) && t < 100; t++) {
            int s = w_rng_int(r, W_NSHAPE), c = w_rng_int(r, W_NCOLOR);
            if (used[s][c]) continue;
            used[s][c] = 1;
            snprintf(p->choice[nchoice++], 96, "%s %s", w_color_name[c], w_shape_name[s]);
        }
        p->k = nchoice;
        for (k = 0; k < p->k; k++) {
            if (rl == 6) STMT(k, "The %s overlaps the %s.", p->choice[k], on.s);
            else STMT(k, "The %s is %s the %s.", p->choice[k], ph[rl], on.s);
        }
        break;
    }
    }
    for (k = 0; k < p->k; k++)
        if (!stmt_ok(sc, p->stmt[k], k == 0)) return 0;
    return 1;
}

static int make_mc(WScene *sc, int n_images, const char *world, const char *out, int n, int n_test, uint64_t seed, int quiet) {
    LlavaBuf pj = {0}, sp = {0}, info = {0};
    char dir[1024], from[1400], to[1400];
    int i, made = 0, want_count = 0, cat_count[MC_NCAT] = {0}, pos_count[6][5], bag[6][5], bag_left[6] = {0};
    double chance_test = 0, chance_all = 0;
    WRng r;
    memset(pos_count, 0, sizeof pos_count);
    w_rng_seed(&r, seed, 0x400000000ull);
    world_dir(world, dir, sizeof dir);
    llava_buf_puts(&pj, "{\n");
    CliProgress prog;
    cli_progress_begin(&prog, "instruct: problems", n, quiet);
    for (i = 0; i < n_images && made < n; i++) {
        MCProb p;
        int tries, c, k, ok = 0, byc[MC_NCAT];
        /* categories from the fewest problems so far; the first this scene can answer */
        for (c = 0; c < MC_NCAT; c++) byc[c] = c;
        for (c = 0; c < MC_NCAT; c++)
            for (k = c + 1; k < MC_NCAT; k++)
                if (cat_count[byc[k]] < cat_count[byc[c]]) {
                    int t = byc[k];
                    byc[k] = byc[c];
                    byc[c] = t;
                }
        for (c = 0; c < MC_NCAT && !ok; c++)
            for (tries = 0; tries < 8 && !ok; tries++) ok = mc_make(&sc[i], &r, byc[c], want_count, &p);
        if (!ok) continue;
        if (p.cat == MC_COUNT) want_count = (want_count + 1) % 12; /* the next count question's options and answer */
        /* balanced answer position: a shuffled bag of positions per choice count */
        if (!bag_left[p.k]) {
            for (k = 0; k < p.k; k++) bag[p.k][k] = k;
            w_shuffle(&r, bag[p.k], p.k);
            bag_left[p.k] = p.k;
        }
        int pos = bag[p.k][--bag_left[p.k]], order[5], rest[5], nr = 0;
        for (k = 1; k < p.k; k++) rest[nr++] = k;
        w_shuffle(&r, rest, nr);
        for (k = 0, nr = 0; k < p.k; k++) order[k] = k == pos ? 0 : rest[nr++];
        pos_count[p.k][pos]++;
        cat_count[p.cat]++;
        const char *split = made < n_test ? "test" : "val";
        char pid[32];
        snprintf(pid, sizeof pid, "%d", made + 1);
        snprintf(to, sizeof to, "%s/images/%s/%s", out, split, pid);
        if (w_mkdir_p(to)) cli_die("%s: cannot create (%s)", to, strerror(errno));
        snprintf(from, sizeof from, "%s/%s", dir, sc[i].file);
        snprintf(to, sizeof to, "%s/images/%s/%s/image.png", out, split, pid);
        copy_file(from, to);
        if (made) llava_buf_puts(&pj, ",\n");
        llava_buf_printf(&pj, "  \"%s\": {\"question\": ", pid);
        w_json(&pj, p.question);
        llava_buf_puts(&pj, ", \"choices\": [");
        for (k = 0; k < p.k; k++) {
            if (k) llava_buf_puts(&pj, ", ");
            w_json(&pj, p.choice[order[k]]);
        }
        llava_buf_printf(&pj, "], \"answer\": %d, \"hint\": \"\", \"image\": \"image.png\", \"task\": \"closed choice\", \"grade\": \"%s\", "
                       "\"subject\": \"visual perception\", \"topic\": \"shapes\", \"category\": \"%s\", \"skill\": \"%s\", \"lecture\": ",
                         pos, p.cat <= MC_COUNT ? "grade1" : "grade2", mc_cat[p.cat], mc_skill[p.cat]);
        w_json(&pj, mc_lecture[p.cat]);
        llava_buf_puts(&pj, ", \"solution\": ");
        w_json(&pj, p.stmt[0]);
        llava_buf_printf(&pj, ", \"split\": \"%s\", \"world_image\": \"%s\"}", split, sc[i].id);
        if (made < n_test) chance_test += 1.0 / p.k;
        chance_all += 1.0 / p.k;
        made++;
        cli_progress(&prog, made, NULL);
    }
    cli_progress_end(&prog);
    llava_buf_puts(&pj, "\n}\n");
    if (made < n) cli_note("only %d of %d problems (the world has %d images; make it larger)", made, n, n_images);
    int n_t = made < n_test ? made : n_test, n_v = made - n_t;
    llava_buf_puts(&sp, "{\"train\": [],\n \"test\": [");
    for (i = 0; i < n_t; i++) llava_buf_printf(&sp, "%s\"%d\"", i ? ", " : "", i + 1);
    llava_buf_puts(&sp, "],\n \"val\": [");
    for (i = 0; i < n_v; i++) llava_buf_printf(&sp, "%s\"%d\"", i ? ", " : "", n_t + i + 1);
    llava_buf_puts(&sp, "],\n \"minival\": [");
    for (i = 0; i < n_v && i < 100; i++) llava_buf_printf(&sp, "%s\"%d\"", i ? ", " : "", n_t + i + 1);
    llava_buf_puts(&sp, "],\n \"trainval\": [");
    for (i = 0; i < n_v; i++) llava_buf_printf(&sp, "%s\"%d\"", i ? ", " : "", n_t + i + 1);
    llava_buf_puts(&sp, "]}\n");
    llava_buf_printf(&info, "{\"problems\": %d, \"test\": %d, \"val\": %d, \"chance_test\": %.4f, \"chance_all\": %.4f,\n \"categories\": {", made, n_t,
                     n_v, n_t ? chance_test / n_t : 0, made ? chance_all / made : 0);
    for (i = 0; i < MC_NCAT; i++) llava_buf_printf(&info, "%s\"%s\": %d", i ? ", " : "", mc_cat[i], cat_count[i]);
    llava_buf_puts(&info, "},\n \"answer_positions\": {");
    int first = 1, k;
    for (i = 2; i <= 5; i++) {
        int tot = 0;
        for (k = 0; k < i; k++) tot += pos_count[i][k];
        if (!tot) continue;
        llava_buf_printf(&info, "%s\"%d choices\": [", first ? "" : ", ", i);
        for (k = 0; k < i; k++) llava_buf_printf(&info, "%s%d", k ? ", " : "", pos_count[i][k]);
        llava_buf_puts(&info, "]");
        first = 0;
    }
    llava_buf_puts(&info, "}}\n");
    int rc = save(out, "problems.json", &pj) || save(out, "pid_splits.json", &sp) || save(out, "mc_info.json", &info);
    if (!rc) printf("instruct: %d multiple-choice problems (test %d, val %d), chance accuracy on test %.1f%%, in %s\n", made, n_t, n_v,
                    n_t ? 100.0 * chance_test / n_t : 0, out);
    llava_buf_free(&pj), llava_buf_free(&sp), llava_buf_free(&info);
    return rc || made < n ? 1 : 0;
}

static const char usage[] =
    "usage: instruct --world DIR --out OUT [options]             training data (LLaVA's formats)\n"
    "       instruct --bench --world DIR --out OUT [options]     a LLaVA-Bench-style held-out set\n"
    "       instruct --mc --world DIR --out OUT [options]        multiple choice in ScienceQA's format\n"
    "  --world DIR        the world: world's output directory, or its world.json (required)\n"
    "  --out OUT          output directory (required; created)\n"
    "  --seed S           the seed of the texts' wording and order (default 1)\n"
    "  --quiet            no progress lines (--mc)\n"
    "training data: OUT/pretrain.json, conversation.json, detail.json, complex_reasoning.json, instruct.json\n"
    "(the chosen types mixed) and context.jsonl (each image's captions and boxes, for tools/repro/instruct.py)\n"
    "  --types LIST       the types instruct.json mixes, of conv,detail,complex (default: all three)\n"
    "  --conv N           conversations, 0 to 10000000 (default: one per image)\n"
    "  --detail N         detailed descriptions, 0 to 10000000 (default: one per two images)\n"
    "  --complex N        complex reasoning questions, 0 to 10000000 (default: one per image)\n"
    "  --captions K       caption pairs per image in pretrain.json, 1 to 5 (default 1)\n"
    "  --backend rules    the only backend of this program (the default); openai is tools/repro/instruct.py\n"
    "--bench: OUT/questions.jsonl, answers_ref.jsonl, context.jsonl and images/ (conv, detail, complex per image)\n"
    "  --n N              images, 1 to 10000000 (default 30; at most the world's)\n"
    "--mc: OUT/problems.json, pid_splits.json, mc_info.json and images/<split>/<pid>/image.png\n"
    "  --n N              problems, 1 to 10000000 (default 1200; at most one per image)\n"
    "  --test N           how many of them are the test split (the rest: val), 0 to 10000000 (default 1000)\n"
    "  --help, --version\n";

int main(int argc, char **argv) {
    const char *world = NULL, *out = NULL, *types = "conv,detail,complex", *backend = "rules";
    int n = -1, n_test = 1000, n_conv = -1, n_detail = -1, n_complex = -1, n_caps = 1, bench = 0, mc = 0, quiet = 0, i;
    uint64_t seed = 1;
    const int big = 10000000;
    CliArgs a = cli_begin(argc, argv, "instruct", usage);
    while (cli_next(&a)) {
        if (cli_flag(&a, "--bench", &bench) || cli_flag(&a, "--mc", &mc) || cli_str(&a, "--world", &world) || cli_str(&a, "--out", &out) ||
            cli_str(&a, "--types", &types) || cli_str(&a, "--backend", &backend) || cli_int(&a, "--conv", &n_conv, 0, big) ||
            cli_int(&a, "--detail", &n_detail, 0, big) || cli_int(&a, "--complex", &n_complex, 0, big) ||
            cli_int(&a, "--captions", &n_caps, 1, 5) || cli_int(&a, "--n", &n, 1, big) || cli_int(&a, "--test", &n_test, 0, big) ||
            cli_u64(&a, "--seed", &seed) || cli_flag(&a, "--quiet", &quiet))
            continue;
        cli_unknown(&a);
    }
    if (bench && mc) cli_usage_error("--bench and --mc make two different sets: one at a time");
    if (strcmp(backend, "rules")) cli_usage_error("--backend %s is tools/repro/instruct.py; this program is --backend rules", backend);
    cli_require(world, "--world");
    cli_require(out, "--out");
    WScene *sc = NULL;
    char err[512];
    int count = w_load_world(world, &sc, NULL, NULL, err, sizeof err);
    if (count < 0) cli_die("%s", err);
    if (count == 0) cli_die("the world has no images");
    if (w_mkdir_p(out)) cli_die("%s: cannot create (%s)", out, strerror(errno));
    int rc;
    if (bench) rc = make_bench(sc, n < 0 ? (count < 30 ? count : 30) : (n < count ? n : count), world, out, seed);
    else if (mc) rc = make_mc(sc, count, world, out, n < 0 ? 1200 : n, n_test, seed, quiet);
    else
        rc = make_train(sc, count, out, types, n_conv < 0 ? count : n_conv, n_detail < 0 ? count / 2 : n_detail, n_complex < 0 ? count : n_complex,
                        n_caps, seed);
    for (i = 0; i < count; i++) w_scene_free(&sc[i]);
    free(sc);
    return rc;
}
