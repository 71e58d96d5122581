/* Tests of the synthetic world and its data and evaluation tools: world, instruct, eval_sqa,
   judge_offline (built next to this test, e.g. build/). One line per test, "ok    name" or
   "FAIL  name: reason", then "N passed, N failed"; exit status non-zero on any failure.

     test_world [BIN_DIR]     (default: the directory this program is in) */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "../tools/repro/world.h"

#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_pass, g_fail;
static char g_msg[1024];
static char g_bin[1024] = "build", g_tmp[512], g_fix[1024] = "tests/fixtures";

static int failf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return 0;
}
static void report(const char *name, int ok) {
    if (ok) {
        g_pass++;
        printf("ok    %s\n", name);
    } else {
        g_fail++;
        printf("FAIL  %s: %s\n", name, g_msg);
    }
    fflush(stdout);
}

static int run(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4700];
    snprintf(full, sizeof full, "%s >/dev/null 2>%s/stderr.txt", cmd, g_tmp);
    int rc = system(full);
    if (rc != 0) {
        char path[600];
        snprintf(path, sizeof path, "%s/stderr.txt", g_tmp);
        char *err = llava_read_file(path, 4096, NULL);
        failf("'%s' failed: %s", cmd, err ? err : "");
        free(err);
    }
    return rc == 0;
}

static char *slurp(const char *fmt, ...) {
    char path[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    return llava_read_file(path, (size_t)1 << 30, NULL);
}
static int same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = llava_read_file(a, (size_t)1 << 30, &na), *y = llava_read_file(b, (size_t)1 << 30, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* ---- the world ------------------------------------------------------------------------------------ */
static WScene *g_sc, *g_held;
static int g_nsc, g_nheld;

static int test_determinism(void) {
    int i;
    char a[1200], b[1200];
    if (!run("%s/world --seed 7 --n 40 --out %s/wa", g_bin, g_tmp) || !run("%s/world --seed 7 --n 40 --out %s/wb", g_bin, g_tmp) ||
        !run("%s/world --seed 8 --n 40 --out %s/wc", g_bin, g_tmp))
        return 0;
    snprintf(a, sizeof a, "%s/wa/world.json", g_tmp);
    snprintf(b, sizeof b, "%s/wb/world.json", g_tmp);
    if (!same_file(a, b)) return failf("world.json differs between two runs with the same seed");
    for (i = 0; i < 40; i++) {
        snprintf(a, sizeof a, "%s/wa/images/%06d.png", g_tmp, i);
        snprintf(b, sizeof b, "%s/wb/images/%06d.png", g_tmp, i);
        if (!same_file(a, b)) return failf("image %d differs between two runs with the same seed", i);
    }
    snprintf(b, sizeof b, "%s/wc/world.json", g_tmp);
    if (same_file(a, b)) return failf("seeds 7 and 8 gave the same world");
    /* a larger --n extends a smaller one */
    if (!run("%s/world --seed 7 --n 10 --out %s/wd", g_bin, g_tmp)) return 0;
    snprintf(a, sizeof a, "%s/wa/images/%06d.png", g_tmp, 9);
    snprintf(b, sizeof b, "%s/wd/images/%06d.png", g_tmp, 9);
    if (!same_file(a, b)) return failf("--n 10 and --n 40 differ on image 9");
    if (!run("%s/instruct --world %s/wa --out %s/ia", g_bin, g_tmp, g_tmp) || !run("%s/instruct --world %s/wb --out %s/ib", g_bin, g_tmp, g_tmp))
        return 0;
    snprintf(a, sizeof a, "%s/ia/instruct.json", g_tmp);
    snprintf(b, sizeof b, "%s/ib/instruct.json", g_tmp);
    if (!same_file(a, b)) return failf("instruct.json differs between two runs on the same world");
    return 1;
}

static int test_scenes(void) {
    int i, k, j, hist[6] = {0}, shapes[W_NSHAPE] = {0}, colors[W_NCOLOR] = {0}, overl = 0, split = 0;
    for (i = 0; i < g_nsc; i++) {
        const WScene *s = &g_sc[i];
        if (s->n < 1 || s->n > 5) return failf("%s has %d objects", s->id, s->n);
        hist[s->n]++;
        split += s->bg_kind != W_BG_PLAIN;
        for (k = 0; k < 5; k++)
            if (!s->cap[k] || !s->cap[k][0]) return failf("%s lacks caption %d", s->id, k);
        for (k = 0; k < 5; k++)
            for (j = k + 1; j < 5; j++)
                if (!strcmp(s->cap[k], s->cap[j])) return failf("%s: captions %d and %d are the same", s->id, k, j);
        for (k = 0; k < s->n; k++) {
            const double *b = s->o[k].box;
            shapes[s->o[k].shape]++;
            colors[s->o[k].color]++;
            if (!(b[0] >= 0 && b[1] >= 0 && b[2] <= 1 && b[3] <= 1 && b[0] < b[2] && b[1] < b[3]))
                return failf("%s object %d: box [%g, %g, %g, %g] outside [0,1] or empty", s->id, k, b[0], b[1], b[2], b[3]);
            for (j = 0; j < k; j++) {
                if (s->o[j].shape == s->o[k].shape && s->o[j].color == s->o[k].color) return failf("%s: two %s %s", s->id, w_color_name[s->o[k].color], w_shape_name[s->o[k].shape]);
                overl += w_overlap(&s->o[j], &s->o[k]);
            }
        }
    }
    for (k = 1; k <= 5; k++)
        if (hist[k] < g_nsc / 10) return failf("only %d of %d scenes have %d objects", hist[k], g_nsc, k);
    for (k = 0; k < W_NSHAPE; k++)
        if (!shapes[k]) return failf("no %s in %d scenes", w_shape_name[k], g_nsc);
    for (k = 0; k < W_NCOLOR; k++)
        if (!colors[k]) return failf("no %s object in %d scenes", w_color_name[k], g_nsc);
    if (!overl || !split) return failf("no overlapping objects (%d) or no two-tone backgrounds (%d)", overl, split);
    /* the box text matches the objects */
    LlavaBuf b = {0};
    w_boxes_text(&g_sc[0], &b);
    char want[128], nm[64];
    snprintf(want, sizeof want, "%s: [%.3f, %.3f, %.3f, %.3f]", w_obj_name(&g_sc[0].o[0], nm, sizeof nm), g_sc[0].o[0].box[0], g_sc[0].o[0].box[1],
             g_sc[0].o[0].box[2], g_sc[0].o[0].box[3]);
    int ok = b.p && !strncmp(b.p, want, strlen(want));
    llava_buf_free(&b);
    return ok ? 1 : failf("box text does not start with '%s'", want);
}

/* the PNGs: background exactly where no box is; each object's colour inside its box; boxes tight */
static int test_pixels(void) {
    int i, S = 64;
    for (i = 0; i < 60 && i < g_nsc; i++) {
        const WScene *s = &g_sc[i];
        LlavaImage img;
        char path[1200];
        int x, y, k;
        snprintf(path, sizeof path, "%s/w/%s", g_tmp, s->file);
        if (llava_image_load(&img, path) != LLAVA_OK) return failf("%s", llava_last_error());
        if (img.width != S || img.height != S) return failf("%s is %dx%d", path, img.width, img.height);
        for (y = 0; y < S; y++)
            for (x = 0; x < S; x++) {
                const unsigned char *p = img.rgb + (y * S + x) * 3;
                int inside = 0;
                for (k = 0; k < s->n; k++) {
                    const double *b = s->o[k].box;
                    if ((x + 1.0) / S > b[0] - 0.002 && (double)x / S < b[2] + 0.002 && (y + 1.0) / S > b[1] - 0.002 && (double)y / S < b[3] + 0.002)
                        inside = 1;
                }
                int half = s->bg_kind == W_BG_SPLIT_V ? x >= S / 2 : s->bg_kind == W_BG_SPLIT_H ? y >= S / 2 : 0;
                const unsigned char *bg = w_bg_rgb[s->bg[half]];
                if (!inside && memcmp(p, bg, 3)) return failf("%s pixel (%d,%d) outside every box is not the background", s->id, x, y);
            }
        for (k = 0; k < s->n; k++) {
            const WObj *o = &s->o[k];
            const unsigned char *c = w_color_rgb[o->color];
            int x0 = S, y0 = S, x1 = -1, y1 = -1, exact = 0, alone = 1, j;
            for (j = 0; j < s->n; j++)
                if (j != k && w_overlap(o, &s->o[j])) alone = 0;
            for (y = (int)(o->box[1] * S) - 1; y <= (int)(o->box[3] * S) + 1; y++)
                for (x = (int)(o->box[0] * S) - 1; x <= (int)(o->box[2] * S) + 1; x++) {
                    if (x < 0 || y < 0 || x >= S || y >= S) continue;
                    const unsigned char *p = img.rgb + (y * S + x) * 3;
                    int half = s->bg_kind == W_BG_SPLIT_V ? x >= S / 2 : s->bg_kind == W_BG_SPLIT_H ? y >= S / 2 : 0;
                    if (!memcmp(p, c, 3)) exact++;
                    if (memcmp(p, w_bg_rgb[s->bg[half]], 3)) {
                        if (x < x0) x0 = x;
                        if (y < y0) y0 = y;
                        if (x > x1) x1 = x;
                        if (y > y1) y1 = y;
                    }
                }
            if (exact < 4) return failf("%s: the %s %s has %d pixels of its colour in its box", s->id, w_color_name[o->color], w_shape_name[o->shape], exact);
            if (alone && (fabs(x0 - o->box[0] * S) > 1.5 || fabs(y0 - o->box[1] * S) > 1.5 || fabs(x1 + 1 - o->box[2] * S) > 1.5 ||
                          fabs(y1 + 1 - o->box[3] * S) > 1.5))
                return failf("%s: the %s %s covers pixels [%d..%d]x[%d..%d] but its box is [%.1f, %.1f, %.1f, %.1f] px", s->id,
                             w_color_name[o->color], w_shape_name[o->shape], x0, x1, y0, y1, o->box[0] * S, o->box[1] * S, o->box[2] * S,
                             o->box[3] * S);
        }
        llava_image_free(&img);
    }
    return 1;
}

/* ---- the fact checker itself --------------------------------------------------------------------- */
static int test_checker(void) {
    WScene s;
    memset(&s, 0, sizeof s);
    s.n = 2;
    s.bg[0] = s.bg[1] = 0; /* gray */
    s.o[0] = (WObj){W_CIRCLE, 0, W_LARGE, 0, 0, 0, {0.05, 0.05, 0.35, 0.35}};  /* red circle, top left */
    s.o[1] = (WObj){W_SQUARE, 5, W_SMALL, 0, 0, 0, {0.70, 0.70, 0.85, 0.85}}; /* blue square, bottom right */
    static const struct {
        const char *text;
        int want_false, want_true;
    } cases[] = {
        {"There is a red circle in the top left.", 0, 2},
        {"The red circle is on the right.", 1, 1},
        {"There are two objects.", 0, 1},
        {"There are three objects.", 1, 0},
        {"There is no green star in the image.", 0, 1},
        {"There is no red circle.", 1, 0},
        {"The red circle is to the left of the blue square.", 0, 3},
        {"The red circle is below the blue square.", 1, 2},
        {"The red circle is not below the blue square.", 0, 3},
        {"The blue square is larger than the red circle.", 1, 2},
        {"The circle is red.", 0, 1},
        {"The circle is blue.", 1, 0},
        {"A small red circle.", 1, 0},
        {"The red circle and the blue square do not overlap.", 0, 3},
        {"One object is to the left of the blue square: the red circle.", 0, 3},
        {"Two objects are to the left of the blue square.", 1, 1},
        {"The object closest to the blue square is the red circle.", 0, 3},
        {"The red circle is the largest object.", 0, 2},
        {"It is a plain gray background.", 0, 1},
        {"It is a plain navy background.", 1, 0},
        {"If the red circle were removed, two objects would remain.", 0, 0},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        WCheck c = {0};
        w_check_text(&s, cases[i].text, &c);
        int nt = 0;
        const char *p = c.keys.p;
        while (p && *p) nt += *p++ == '\n';
        int ok = c.n_false == cases[i].want_false && nt == cases[i].want_true;
        if (!ok) {
            failf("'%s': %d true, %d false (want %d, %d); true: %s", cases[i].text, nt, c.n_false, cases[i].want_true, cases[i].want_false,
                  c.keys.p ? c.keys.p : "");
            w_check_free(&c);
            return 0;
        }
        w_check_free(&c);
    }
    return 1;
}

/* ---- generated data: every answer true to the scene ----------------------------------------------- */
static const WScene *scene_of(const WScene *sc, int n, const char *image) {
    int i;
    for (i = 0; i < n; i++) {
        const char *b = strrchr(sc[i].file, '/');
        if (!strcmp(b ? b + 1 : sc[i].file, image)) return &sc[i];
    }
    return NULL;
}
static int check_answer(const WScene *s, const char *text, const char *where, int *n_checked) {
    WCheck c = {0};
    w_check_text(s, text, &c);
    int ok = c.n_false == 0 && c.keys.n > 0;
    if (!ok)
        failf("%s (%s): \"%s\" -> %s", where, s->id, text, c.n_false ? c.explain.p : "nothing checkable");
    w_check_free(&c);
    (*n_checked)++;
    return ok;
}
static int check_llava_file(const char *name, int min_records) {
    char *text = slurp("%s/i/%s", g_tmp, name);
    LlavaJson j;
    int records = 0, checked = 0, ok = 1;
    if (!text) return failf("%s", llava_last_error());
    if (llava_json_parse(&j, text, strlen(text), name) != LLAVA_OK) return free(text), failf("%s", llava_last_error());
    const LlavaJsonNode *rec;
    for (rec = llava_json_first(&j, &j.nodes[0]); rec && ok; rec = llava_json_next(&j, rec)) {
        const LlavaJsonNode *id = llava_json_get(&j, rec, "id"), *im = llava_json_get(&j, rec, "image"), *cv = llava_json_get(&j, rec, "conversations"), *t;
        if (!id || id->type != LLAVA_JSON_STR || !im || im->type != LLAVA_JSON_STR || !cv || cv->type != LLAVA_JSON_ARR || cv->count < 2 || cv->count % 2) {
            ok = failf("%s: record %d lacks id, image or an even number of turns", name, records);
            break;
        }
        const WScene *s = scene_of(g_sc, g_nsc, im->str);
        if (!s) {
            ok = failf("%s: unknown image %s", name, im->str);
            break;
        }
        int k = 0;
        for (t = llava_json_first(&j, cv); t && ok; t = llava_json_next(&j, t), k++) {
            const LlavaJsonNode *from = llava_json_get(&j, t, "from"), *v = llava_json_get(&j, t, "value");
            if (!from || !v || from->type != LLAVA_JSON_STR || v->type != LLAVA_JSON_STR || strcmp(from->str, k % 2 ? "gpt" : "human")) {
                ok = failf("%s: %s turn %d is not from %s", name, id->str, k, k % 2 ? "gpt" : "human");
                break;
            }
            size_t L = strlen(v->str);
            int img_tokens = 0;
            const char *p = v->str;
            while ((p = strstr(p, "<image>"))) img_tokens++, p++;
            if (k == 0 && !(img_tokens == 1 && (!strncmp(v->str, "<image>\n", 8) || (L > 8 && !strcmp(v->str + L - 8, "\n<image>")))))
                ok = failf("%s: %s: first turn does not start with '<image>\\n' or end with '\\n<image>'", name, id->str);
            else if (k > 0 && img_tokens)
                ok = failf("%s: %s: <image> outside the first turn", name, id->str);
            else if (k % 2 && !check_answer(s, v->str, id->str, &checked))
                ok = 0;
        }
        records++;
    }
    llava_json_free(&j);
    free(text);
    if (ok && records < min_records) return failf("%s has %d records, expected at least %d", name, records, min_records);
    return ok;
}
static int test_instruct_data(void) {
    if (!run("%s/instruct --world %s/w --out %s/i --conv 300 --detail 150 --complex 300 --captions 2 --seed 3", g_bin, g_tmp, g_tmp)) return 0;
    return check_llava_file("pretrain.json", 2 * g_nsc) && check_llava_file("conversation.json", 300) && check_llava_file("detail.json", 150) &&
           check_llava_file("complex_reasoning.json", 250) && check_llava_file("instruct.json", 700);
}
static int test_captions_true(void) {
    int i, k, n = 0;
    for (i = 0; i < g_nsc; i++)
        for (k = 0; k < 5; k++)
            if (!check_answer(&g_sc[i], g_sc[i].cap[k], "caption", &n)) return 0;
    for (i = 0; i < g_nheld; i++)
        for (k = 0; k < 5; k++)
            if (!check_answer(&g_held[i], g_held[i].cap[k], "caption", &n)) return 0;
    return 1;
}
static int test_types_filter(void) {
    if (!run("%s/instruct --world %s/w --out %s/ic --types conv --conv 50 --detail 20 --complex 20", g_bin, g_tmp, g_tmp)) return 0;
    char *t = slurp("%s/ic/instruct.json", g_tmp);
    int ok = t && strstr(t, "_conv") && !strstr(t, "_detail") && !strstr(t, "_complex");
    free(t);
    return ok ? 1 : failf("--types conv left other types in instruct.json");
}

/* LLaVA-Bench style set: 30 images x 3 categories, reference answers true */
static int test_bench(void) {
    if (!run("%s/instruct --bench --world %s/h --out %s/b", g_bin, g_tmp, g_tmp)) return 0;
    char *q = slurp("%s/b/questions.jsonl", g_tmp), *a = slurp("%s/b/answers_ref.jsonl", g_tmp), *c = slurp("%s/b/context.jsonl", g_tmp);
    int ok = 1, nq = 0, cat[3] = {0, 0, 0}, checked = 0;
    if (!q || !a || !c) return failf("bench files missing");
    char *lq = q, *la = a;
    while (ok && lq && *lq && la && *la) {
        char *eq = strchr(lq, '\n'), *ea = strchr(la, '\n');
        if (eq) *eq = 0;
        if (ea) *ea = 0;
        LlavaJson jq, ja;
        if (llava_json_parse(&jq, lq, strlen(lq), "questions") || llava_json_parse(&ja, la, strlen(la), "answers")) {
            ok = failf("%s", llava_last_error());
            break;
        }
        const LlavaJsonNode *qid = llava_json_get(&jq, &jq.nodes[0], "question_id"), *img = llava_json_get(&jq, &jq.nodes[0], "image"),
                           *ct = llava_json_get(&jq, &jq.nodes[0], "category"), *aid = llava_json_get(&ja, &ja.nodes[0], "question_id"),
                           *txt = llava_json_get(&ja, &ja.nodes[0], "text");
        if (!qid || !aid || qid->num != aid->num || !img || !ct || !txt || qid->num != nq) ok = failf("question %d and its answer do not line up", nq);
        else {
            const WScene *s = scene_of(g_held, g_nheld, img->str);
            int k = !strcmp(ct->str, "conv") ? 0 : !strcmp(ct->str, "detail") ? 1 : !strcmp(ct->str, "complex") ? 2 : -1;
            if (!s || k < 0) ok = failf("question %d: unknown image or category", nq);
            else {
                cat[k]++;
                ok = check_answer(s, txt->str, "bench reference", &checked);
            }
        }
        llava_json_free(&jq);
        llava_json_free(&ja);
        nq++;
        lq = eq ? eq + 1 : NULL;
        la = ea ? ea + 1 : NULL;
    }
    if (ok && (nq != 90 || cat[0] != 30 || cat[1] != 30 || cat[2] != 30)) ok = failf("%d questions (%d/%d/%d), want 90 (30 each)", nq, cat[0], cat[1], cat[2]);
    if (ok && !strstr(c, "\"instances\": [{\"category\": ")) ok = failf("context.jsonl lacks LLaVA's instances list");
    free(q), free(a), free(c);
    return ok;
}

/* the multiple-choice set: format, answers right, wrong choices wrong, balance */
static int test_mc(void) {
    if (!run("%s/instruct --mc --world %s/h --out %s/mc --n 1100 --test 1000", g_bin, g_tmp, g_tmp)) return 0;
    char *text = slurp("%s/mc/problems.json", g_tmp), *splits = slurp("%s/mc/pid_splits.json", g_tmp);
    LlavaJson j, js;
    int ok = 1, n = 0, pos[6][5], cats[8] = {0}, cnt_opt[8][4] = {{0}};
    static const char *const catname[5] = {"color", "shape", "count", "position", "relation"};
    memset(pos, 0, sizeof pos);
    if (!text || !splits) return failf("problems.json or pid_splits.json missing");
    if (llava_json_parse(&j, text, strlen(text), "problems.json") || llava_json_parse(&js, splits, strlen(splits), "pid_splits.json"))
        return failf("%s", llava_last_error());
    const LlavaJsonNode *p, *test = llava_json_get(&js, &js.nodes[0], "test");
    if (!test || test->count < 1000 || !llava_json_get(&js, &js.nodes[0], "val") || !llava_json_get(&js, &js.nodes[0], "train"))
        ok = failf("pid_splits.json: test has %d problems (want >= 1000) or train/val missing", test ? test->count : 0);
    for (p = llava_json_first(&j, &j.nodes[0]); p && ok; p = llava_json_next(&j, p), n++) {
        static const char *const fields[] = {"question", "choices", "answer", "hint", "image", "task", "grade", "subject", "topic",
                                             "category", "skill", "lecture", "solution", "split"};
        size_t f;
        for (f = 0; f < sizeof fields / sizeof fields[0]; f++)
            if (!llava_json_get(&j, p, fields[f])) ok = failf("problem %s lacks \"%s\"", p->key, fields[f]);
        if (!ok) break;
        const LlavaJsonNode *ch = llava_json_get(&j, p, "choices"), *ans = llava_json_get(&j, p, "answer"), *sol = llava_json_get(&j, p, "solution"),
                           *wi = llava_json_get(&j, p, "world_image"), *cat = llava_json_get(&j, p, "category"), *sp = llava_json_get(&j, p, "split");
        int k = ch->count, a = (int)ans->num, c;
        if (k < 2 || k > 5 || a < 0 || a >= k) {
            ok = failf("problem %s: %d choices, answer %d", p->key, k, a);
            break;
        }
        pos[k][a]++;
        for (c = 0; c < 5; c++)
            if (!strcmp(cat->str, catname[c])) cats[c]++;
        if (!strcmp(cat->str, "count")) { /* the options' lowest count and the answer's rank among them */
            int lo = 99, rank = 0, v;
            for (c = 0; c < k; c++) lo = (v = atoi(llava_json_at(&j, ch, c)->str)) < lo ? v : lo;
            for (c = 0; c < k; c++) rank += atoi(llava_json_at(&j, ch, c)->str) < atoi(llava_json_at(&j, ch, a)->str);
            if (k != 4 || lo < 0 || lo > 7) ok = failf("count problem %s: %d choices from %d", p->key, k, lo);
            else cnt_opt[lo][rank]++;
        }
        char img[1200];
        snprintf(img, sizeof img, "%s/mc/images/%s/%s/image.png", g_tmp, sp->str, p->key);
        if (access(img, R_OK) != 0) {
            ok = failf("problem %s: no %s", p->key, img);
            break;
        }
        /* re-derive: the solution with each choice put in must be true for the answer only */
        const WScene *s = NULL;
        int i;
        for (i = 0; i < g_nheld; i++)
            if (wi && !strcmp(g_held[i].id, wi->str)) s = &g_held[i];
        if (!s) {
            ok = failf("problem %s: unknown world image", p->key);
            break;
        }
        const char *right = llava_json_at(&j, ch, a)->str, *at = strstr(sol->str, right);
        if (!at) {
            ok = failf("problem %s: the solution does not contain the answer '%s'", p->key, right);
            break;
        }
        for (c = 0; c < k && ok; c++) {
            const char *choice = llava_json_at(&j, ch, c)->str;
            char stmt[512];
            int d;
            for (d = 0; d < c; d++)
                if (!strcmp(choice, llava_json_at(&j, ch, d)->str)) ok = failf("problem %s: choice '%s' twice", p->key, choice);
            snprintf(stmt, sizeof stmt, "%.*s%s%s", (int)(at - sol->str), sol->str, choice, at + strlen(right));
            WCheck w = {0};
            w_check_text(s, stmt, &w);
            if (c == a && (w.n_false || !w.keys.n)) ok = failf("problem %s (%s): the answer's statement '%s' is not true: %s", p->key, s->id, stmt, w.explain.p ? w.explain.p : "");
            if (c != a && !w.n_false) ok = failf("problem %s (%s): the wrong choice's statement '%s' is not false", p->key, s->id, stmt);
            w_check_free(&w);
        }
    }
    for (int k = 2; k <= 5 && ok; k++) {
        int lo = 1 << 30, hi = 0, c;
        for (c = 0; c < k; c++) lo = pos[k][c] < lo ? pos[k][c] : lo, hi = pos[k][c] > hi ? pos[k][c] : hi;
        if (hi && hi - lo > 1) ok = failf("answer positions for %d choices are unbalanced (%d..%d)", k, lo, hi);
    }
    /* count questions: neither the set of options nor the answer's rank in it tells the answer (options
       drawn around the true count would have it in the middle) */
    int clo = 1 << 30, chi = 0;
    for (int l = 0; l < 8; l++)
        for (int r = 0; r < 4; r++)
            if (cnt_opt[l][r]) clo = cnt_opt[l][r] < clo ? cnt_opt[l][r] : clo, chi = cnt_opt[l][r] > chi ? cnt_opt[l][r] : chi;
    if (ok && chi - clo > 1)
        ok = failf("count questions: the options from each lowest count and the answer's rank in them are unbalanced (%d..%d)", clo, chi);
    for (int c = 0; c < 5 && ok; c++) {
        if (cats[c] < n / 7) ok = failf("category %s has %d of %d problems", catname[c], cats[c], n);
    }
    if (ok && n < 1100) ok = failf("%d problems, want 1100", n);
    llava_json_free(&j);
    llava_json_free(&js);
    free(text), free(splits);
    return ok;
}

/* ---- eval_sqa: LLaVA's letter extraction and prompt ------------------------------------------------ */
/* b written to TMP/FILE (and freed), then eval_sqa on the committed sample with OPTION TMP/ARG
   ("--predictions", "--prior"), its --json output parsed into *j; returns the text *j points into (free
   it after llava_json_free), NULL after a failf */
static char *sqa_json(LlavaJson *j, LlavaBuf *b, const char *file, const char *option, const char *arg) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g_tmp, file);
    int wrote = llava_write_text(path, b->p) == LLAVA_OK;
    llava_buf_free(b);
    if (!wrote) return failf("cannot write %s", path), (char *)NULL;
    if (!run("%s/eval_sqa --data %s/sqa_sample --split test %s %s/%s --json %s/sqa.json", g_bin, g_fix, option, g_tmp, arg, g_tmp)) return NULL;
    char *t = slurp("%s/sqa.json", g_tmp);
    if (!t || llava_json_parse(j, t, strlen(t), "sqa.json")) return free(t), failf("cannot read eval_sqa's JSON"), (char *)NULL;
    return t;
}
static int test_sqa_scorer(void) {
    /* the committed sample: pids 11..16 in test with 3, 2, 4, 5, 3, 2 choices; answers B, B, C, A, B, B */
    static const struct {
        const char *pid, *text, *parsed;
        int idx;
    } cases[] = {
        {"11", "B", "B", 1},                                      /* the whole output is a letter: right */
        {"12", "B. ladder", "B", 1},                              /* "X. ...": right */
        {"13", "I think The answer is C, Rome.", "C", 2},          /* one "The answer is X." match: right */
        {"14", "The answer is A. The answer is B.", "FAILED", -1}, /* two matches: failed */
        {"15", "E", "E", -1},                                      /* a letter outside the 3 choices: wrong */
    };
    /* pid 16 has no prediction: wrong */
    LlavaBuf b = {0};
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llava_buf_printf(&b, "{\"question_id\": \"%s\", \"text\": ", cases[i].pid);
        w_json(&b, cases[i].text);
        llava_buf_puts(&b, "}\n");
    }
    LlavaJson j;
    char *t = sqa_json(&j, &b, "pred.jsonl", "--predictions", "pred.jsonl");
    if (!t) return 0;
    const LlavaJsonNode *root = &j.nodes[0], *res = llava_json_get(&j, root, "results"), *par = llava_json_get(&j, root, "parsed"),
                       *cnt = llava_json_get(&j, root, "count"), *cor = llava_json_get(&j, root, "correct"), *groups = llava_json_get(&j, root, "groups");
    int ok = cnt && cor && cnt->num == 6 && cor->num == 3;
    if (!ok) failf("count %g correct %g, want 6 and 3", cnt ? cnt->num : -1, cor ? cor->num : -1);
    for (i = 0; ok && i < sizeof cases / sizeof cases[0]; i++) {
        const LlavaJsonNode *r = llava_json_get(&j, res, cases[i].pid), *pp = llava_json_get(&j, par, cases[i].pid);
        if (!r || !pp || (int)r->num != cases[i].idx || strcmp(pp->str, cases[i].parsed))
            ok = failf("'%s' parsed as %s (index %g), want %s (%d)", cases[i].text, pp ? pp->str : "?", r ? r->num : -9, cases[i].parsed, cases[i].idx);
    }
    const LlavaJsonNode *nat = llava_json_get(&j, groups, "NAT"), *txt = llava_json_get(&j, groups, "TXT"), *g712 = llava_json_get(&j, groups, "G7-12");
    if (ok && (!nat || llava_json_get(&j, nat, "count")->num != 3 || !txt || llava_json_get(&j, txt, "count")->num != 2 || !g712 ||
               llava_json_get(&j, g712, "count")->num != 2))
        ok = failf("ScienceQA groups NAT/TXT/G7-12 miscounted");
    llava_json_free(&j);
    free(t);
    /* the prompt: context line only with a hint, lettered choices, LLaVA-1.5's suffix */
    if (ok && !run("%s/eval_sqa --data %s/sqa_sample --split test --prompts %s/q.jsonl", g_bin, g_fix, g_tmp)) return 0;
    t = slurp("%s/q.jsonl", g_tmp);
    if (ok && (!t || !strstr(t, "{\"question_id\": \"13\", \"image\": \"images/test/13/image.png\", \"text\": \"Context: The map shows a country in "
                                  "southern Europe shaped like a boot.\\nWhat is the capital city of the highlighted country?\\nA. Lisbon\\nB. Madrid\\nC. "
                                  "Rome\\nD. Athens\\nAnswer with the option's letter from the given choices directly.\"") ||
               !strstr(t, "{\"question_id\": \"11\", \"text\": \"Which material is the best conductor of electricity?\\nA. rubber\\n")))
        ok = failf("prompt text differs from LLaVA's: %.300s", t ? t : "");
    free(t);
    return ok;
}
static int test_sqa_extraction_more(void) {
    /* the extraction rules on their own, through a one-problem data set with five choices (answer A) */
    static const struct {
        const char *text;
        int right;
    } cases[] = {{"A", 1},  {"A. friction", 1}, {"The answer is A.", 1}, {"The answer is A", 0}, {"a", 0},  {" A", 0},
                 {"A.", 0}, {"A friction", 0},  {"", 0},                 {"The answer is A\n", 0}, {"answer: The answer is A!", 1}};
    char path[1200];
    size_t i;
    snprintf(path, sizeof path, "%s/one", g_tmp);
    mkdir(path, 0755);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        LlavaBuf b = {0};
        llava_buf_puts(&b, "{\"question_id\": \"14\", \"text\": ");
        w_json(&b, cases[i].text);
        llava_buf_puts(&b, "}\n");
        LlavaJson j;
        char *t = sqa_json(&j, &b, "pred1.jsonl", "--predictions", "pred1.jsonl");
        if (!t) return 0;
        const LlavaJsonNode *r = llava_json_get(&j, llava_json_get(&j, &j.nodes[0], "results"), "14");
        int right = r && r->num == 0;
        llava_json_free(&j);
        free(t);
        if (right != cases[i].right) return failf("'%s' scored %s, want %s", cases[i].text, right ? "right" : "wrong", cases[i].right ? "right" : "wrong");
    }
    return 1;
}

static int test_sqa_prior(void) {
    /* the blind baseline: the choice most often right for the same category and choice set, else for the
       category, else the first; TRAIN below against the sample's test problems 11..16 */
    static const struct {
        const char *cat, *choices;
        int answer, times;
    } train[] = {
        {"Materials", "\"glass\", \"copper\", \"rubber\"", 2, 2}, /* pid 11's set in another order: rubber (wrong) */
        {"Materials", "\"copper\", \"glass\", \"rubber\"", 0, 1},
        {"Capitals", "\"Rome\", \"Paris\"", 0, 3},                 /* no set like pid 13's: the category's Rome (right) */
        {"Classification", "\"shark\", \"whale\", \"frog\"", 1, 1}, /* pid 15's set says whale (right), */
        {"Classification", "\"frog\", \"cat\"", 0, 3},             /* though the category says frog */
    };
    static const int want[6] = {0, 0, 2, 0, 1, 0}; /* pids 11..16; 12, 14 and 16 have no data: A */
    char path[1200];
    LlavaBuf b = {0};
    size_t i;
    int t, id = 100, ok = 1;
    llava_buf_puts(&b, "{");
    for (i = 0; i < sizeof train / sizeof train[0]; i++)
        for (t = 0; t < train[i].times; t++)
            llava_buf_printf(&b, "%s\"%d\": {\"question\": \"q\", \"choices\": [%s], \"answer\": %d, \"category\": \"%s\"}", id > 100 ? ", " : "", id, train[i].choices,
                             train[i].answer, train[i].cat), id++;
    llava_buf_puts(&b, "}\n");
    snprintf(path, sizeof path, "%s/prior", g_tmp);
    mkdir(path, 0755);
    LlavaJson j;
    char *txt = sqa_json(&j, &b, "prior/problems.json", "--prior", "prior");
    if (!txt) return 0;
    const LlavaJsonNode *res = llava_json_get(&j, &j.nodes[0], "results"), *cor = llava_json_get(&j, &j.nodes[0], "correct");
    for (i = 0; i < 6 && ok; i++) {
        char pid[8];
        snprintf(pid, sizeof pid, "%d", 11 + (int)i);
        const LlavaJsonNode *r = llava_json_get(&j, res, pid);
        if (!r || (int)r->num != want[i]) ok = failf("blind baseline chose %g for pid %s, want %d", r ? r->num : -9, pid, want[i]);
    }
    if (ok && (!cor || cor->num != 3)) ok = failf("blind baseline: %g right, want 3 (pids 13, 14, 15)", cor ? cor->num : -1);
    llava_json_free(&j);
    free(txt);
    /* a TRAIN with no answered problem is an error, not a baseline of nothing */
    snprintf(path, sizeof path, "%s/prior/problems.json", g_tmp);
    llava_write_text(path, "{}");
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "%s/eval_sqa --data %s/sqa_sample --split test --prior %s/prior >/dev/null 2>&1", g_bin, g_fix, g_tmp);
    if (ok && system(cmd) == 0) ok = failf("an empty TRAIN was accepted");
    return ok;
}

static int test_sqa_to_llava(void) {
    /* training samples: the letter after LLaVA-1.5's suffix, or with --explain the solution, then
       "The answer is X.", and no suffix (pid 13: answer C, a hint, an image) */
    if (!run("%s/eval_sqa --data %s/sqa_sample --split test --to-llava %s/l.json", g_bin, g_fix, g_tmp) ||
        !run("%s/eval_sqa --data %s/sqa_sample --split test --to-llava %s/le.json --explain", g_bin, g_fix, g_tmp))
        return 0;
    char *l = slurp("%s/l.json", g_tmp), *le = slurp("%s/le.json", g_tmp);
    const char *q13 = "{\"id\": \"mc-13\", \"image\": \"images/test/13/image.png\", \"conversations\": [{\"from\": \"human\", \"value\": "
                      "\"<image>\\nContext: The map shows a country in southern Europe shaped like a boot.\\nWhat is the capital city of the "
                      "highlighted country?\\nA. Lisbon\\nB. Madrid\\nC. Rome\\nD. Athens";
    char want[1024], want_e[1024];
    snprintf(want, sizeof want, "%s\\nAnswer with the option's letter from the given choices directly.\"}, {\"from\": \"gpt\", \"value\": \"C\"}]}", q13);
    snprintf(want_e, sizeof want_e, "%s\"}, {\"from\": \"gpt\", \"value\": \"The boot-shaped country is Italy; its capital is Rome. The answer is C.\"}]}", q13);
    int ok = l && le && strstr(l, want) && strstr(le, want_e) && !strstr(le, "option's letter");
    if (!ok) failf("to-llava samples differ: %.400s | %.400s", l ? l : "", le ? le : "");
    free(l), free(le);
    /* --check: the solution, the options in order up to the right one, each on its line and followed by
       the right one's text, the letter; --open: the question without its options, answered by the solution */
    if (!ok || !run("%s/eval_sqa --data %s/sqa_sample --split test --to-llava %s/lc.json --check", g_bin, g_fix, g_tmp) ||
        !run("%s/eval_sqa --data %s/sqa_sample --split test --to-llava %s/lo.json --open", g_bin, g_fix, g_tmp))
        return 0;
    char *lc = slurp("%s/lc.json", g_tmp), *lo = slurp("%s/lo.json", g_tmp);
    snprintf(want, sizeof want, "%s\"}, {\"from\": \"gpt\", \"value\": \"The boot-shaped country is Italy; its capital is Rome.\\nChecking each "
             "option:\\nA. Lisbon, is it Rome? no.\\nB. Madrid, is it Rome? no.\\nC. Rome, is it Rome? yes.\\nThe answer is C.\"}]}", q13);
    snprintf(want_e, sizeof want_e, "highlighted country?\"}, {\"from\": \"gpt\", \"value\": \"The boot-shaped country is Italy; its capital is Rome.\"}]}");
    ok = lc && lo && strstr(lc, want) && strstr(lo, want_e) && !strstr(lo, "Lisbon");
    if (!ok) failf("--check / --open samples differ: %.500s | %.400s", lc ? lc : "", lo ? lo : "");
    free(lc), free(lo);
    /* the answer formats are training data: not with --prompts */
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "%s/eval_sqa --data %s/sqa_sample --split test --prompts %s/x.jsonl --check >/dev/null 2>&1", g_bin, g_fix, g_tmp);
    if (ok && system(cmd) == 0) ok = failf("--check with --prompts was accepted");
    /* an answer that is not the index of a choice is an error that names the problem, not a letter past
       the options */
    char path[1024];
    snprintf(path, sizeof path, "%s/badans", g_tmp);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/badans/problems.json", g_tmp);
    const char *bad = "{\"7\": {\"question\": \"Which?\", \"choices\": [\"a\", \"b\"], \"answer\": 2, \"split\": \"test\"}}";
    llava_write_text(path, bad);
    snprintf(path, sizeof path, "%s/badans/pid_splits.json", g_tmp);
    llava_write_text(path, "{\"test\": [\"7\"]}");
    snprintf(cmd, sizeof cmd, "%s/eval_sqa --data %s/badans --split test --to-llava %s/lb.json --check 2>%s/lb.err", g_bin, g_tmp, g_tmp, g_tmp);
    char *err = NULL;
    if (ok && (system(cmd) == 0 || !(err = slurp("%s/lb.err", g_tmp)) || !strstr(err, "problem 7: \"answer\" is not the index of one of its 2 choices")))
        ok = failf("an answer past the choices was not a clear error: %.200s", err ? err : "");
    free(err);
    return ok;
}

static int test_sqa_open(void) {
    /* --open: free answers scored by the choice they name first (whole words, any case, count words, the
       longer choice on a tie); the prompt without options */
    static const struct {
        const char *choices, *text;
        int answer, named;
    } cases[] = {
        {"\"rubber\", \"copper\", \"glass\"", "Copper, not glass.", 1, 1},
        {"\"rubber\", \"copper\", \"glass\"", "glass is better than COPPER", 1, 2},
        {"\"0\", \"1\", \"2\", \"3\"", "There are no red objects.", 0, 0},
        {"\"0\", \"1\", \"2\", \"3\"", "There are two stars and 1 circle.", 2, 2},
        {"\"pink\", \"pink star\", \"white star\"", "The pink star is above it.", 1, 1},
        {"\"cat\", \"dog\"", "A catalog of dogs.", 0, -1},
    };
    const int n = (int)(sizeof cases / sizeof cases[0]);
    char path[1200];
    LlavaBuf b = {0};
    int i, ok = 1;
    snprintf(path, sizeof path, "%s/open", g_tmp);
    mkdir(path, 0755);
    llava_buf_puts(&b, "{");
    for (i = 0; i < n; i++)
        llava_buf_printf(&b, "%s\"%d\": {\"question\": \"q%d?\", \"choices\": [%s], \"answer\": %d, \"hint\": \"%s\", \"category\": \"c\"}", i ? ", " : "", i + 1, i + 1,
                         cases[i].choices, cases[i].answer, i == 0 ? "Some context." : "");
    llava_buf_puts(&b, "}\n");
    snprintf(path, sizeof path, "%s/open/problems.json", g_tmp);
    if (llava_write_text(path, b.p)) ok = failf("cannot write %s", path);
    llava_buf_free(&b);
    snprintf(path, sizeof path, "%s/open/pid_splits.json", g_tmp);
    static const char splits[] = "{\"test\": [\"1\", \"2\", \"3\", \"4\", \"5\", \"6\"]}";
    if (ok && llava_write_text(path, splits)) ok = failf("cannot write %s", path);
    for (i = 0; ok && i < n; i++) {
        llava_buf_printf(&b, "{\"question_id\": \"%d\", \"text\": ", i + 1);
        w_json(&b, cases[i].text);
        llava_buf_puts(&b, "}\n");
    }
    snprintf(path, sizeof path, "%s/open/pred.jsonl", g_tmp);
    if (ok && llava_write_text(path, b.p)) ok = failf("cannot write %s", path);
    llava_buf_free(&b);
    if (ok && !run("%s/eval_sqa --data %s/open --open --predictions %s/open/pred.jsonl --json %s/open/r.json", g_bin, g_tmp, g_tmp, g_tmp)) return 0;
    char *t = ok ? slurp("%s/open/r.json", g_tmp) : NULL;
    LlavaJson j;
    if (ok && (!t || llava_json_parse(&j, t, strlen(t), "r.json"))) return free(t), failf("cannot read eval_sqa's JSON");
    if (ok) {
        const LlavaJsonNode *res = llava_json_get(&j, &j.nodes[0], "results"), *cor = llava_json_get(&j, &j.nodes[0], "correct"),
                           *fail = llava_json_get(&j, &j.nodes[0], "failed");
        for (i = 0; ok && i < n; i++) {
            char pid[8];
            snprintf(pid, sizeof pid, "%d", i + 1);
            const LlavaJsonNode *r = llava_json_get(&j, res, pid);
            if (!r || (int)r->num != cases[i].named) ok = failf("'%s' named choice %g, want %d", cases[i].text, r ? r->num : -9, cases[i].named);
        }
        if (ok && (!cor || cor->num != 4 || !fail || fail->num != 1))
            ok = failf("%g right and %g naming none, want 4 and 1", cor ? cor->num : -1, fail ? fail->num : -1);
        llava_json_free(&j);
    }
    free(t);
    /* the prompt: context and question, no options, no suffix */
    if (ok && !run("%s/eval_sqa --data %s/open --open --prompts %s/open/q.jsonl", g_bin, g_tmp, g_tmp)) return 0;
    t = ok ? slurp("%s/open/q.jsonl", g_tmp) : NULL;
    if (ok && (!t || !strstr(t, "{\"question_id\": \"1\", \"text\": \"Context: Some context.\\nq1?\", \"category\": \"c\"}\n") ||
               !strstr(t, "{\"question_id\": \"2\", \"text\": \"q2?\", \"category\": \"c\"}\n")))
        ok = failf("open prompts differ: %.300s", t ? t : "");
    free(t);
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "%s/eval_sqa --data %s/open --open --prior %s/open >/dev/null 2>&1", g_bin, g_tmp, g_tmp);
    if (ok && system(cmd) == 0) ok = failf("--open with --prior was accepted");
    return ok;
}

/* ---- offline judge ---------------------------------------------------------------------------------- */
static int judge_rel(const char *answers, double *rel) {
    if (!run("%s/judge_offline --questions %s/b/questions.jsonl --context %s/b/context.jsonl --reference %s/b/answers_ref.jsonl --answers %s --json %s/j.json",
             g_bin, g_tmp, g_tmp, g_tmp, answers, g_tmp))
        return 0;
    char *t = slurp("%s/j.json", g_tmp);
    LlavaJson j;
    if (!t || llava_json_parse(&j, t, strlen(t), "j.json")) return free(t), failf("cannot read judge_offline's JSON");
    const LlavaJsonNode *all = llava_json_get(&j, &j.nodes[0], "all"), *r = llava_json_get(&j, all, "relative");
    *rel = r ? r->num : -1;
    llava_json_free(&j);
    free(t);
    return 1;
}
static int test_judge_offline(void) {
    char path[1200], bad[1200];
    double same, worse, empty;
    snprintf(path, sizeof path, "%s/b/answers_ref.jsonl", g_tmp);
    if (!judge_rel(path, &same)) return 0;
    /* wrong answers: every colour and side swapped, counts changed */
    char *t = slurp("%s", path);
    if (!t) return failf("no reference answers");
    LlavaBuf b = {0};
    const char *p = t;
    while (*p) {
        static const char *const from[] = {"red", "blue", "green", "left", "right", "top", "bottom", "two", "three", "one", "larger", "smaller", "above", "below"};
        static const char *const to[] = {"blue", "green", "red", "right", "left", "bottom", "top", "three", "four", "two", "smaller", "larger", "below", "above"};
        size_t k, done = 0;
        for (k = 0; k < sizeof from / sizeof from[0] && !done; k++)
            if (!strncmp(p, from[k], strlen(from[k])) && !isalpha((unsigned char)p[strlen(from[k])])) {
                llava_buf_puts(&b, to[k]);
                p += strlen(from[k]);
                done = 1;
            }
        if (!done) llava_buf_put(&b, p++, 1);
    }
    snprintf(bad, sizeof bad, "%s/bad.jsonl", g_tmp);
    llava_write_text(bad, b.p);
    llava_buf_free(&b);
    free(t);
    if (!judge_rel(bad, &worse)) return 0;
    /* no answers at all */
    snprintf(bad, sizeof bad, "%s/empty.jsonl", g_tmp);
    llava_write_text(bad, "");
    if (!judge_rel(bad, &empty)) return 0;
    if (fabs(same - 100) > 1e-6 || !(worse < 90) || !(empty < worse))
        return failf("relative scores: reference %.1f (want 100), wrong answers %.1f (want < 90), none %.1f (want lower still)", same, worse, empty);
    return 1;
}

/* a command line that must fail: its exit status, and its stderr must contain `want` */
static int refuses(int status, const char *want, const char *fmt, ...) {
    char cmd[2048], full[2800], path[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s/%s >/dev/null 2>%s/stderr.txt </dev/null", g_bin, cmd, g_tmp);
    int rc = system(full);
    rc = rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    snprintf(path, sizeof path, "%s/stderr.txt", g_tmp);
    char *err = llava_read_file(path, 4096, NULL);
    int ok = rc == status && err && strstr(err, want);
    if (!ok) failf("'%s': exit %d (not %d), stderr: %s (wanted '%s')", cmd, rc, status, err ? err : "", want);
    free(err);
    return ok;
}

/* the programs' command lines: numbers parsed whole and range-checked, required options named, options
   that do not go together refused (exit 2), and runtime errors prefixed by the program's name (exit 1) */
static int test_command_lines(void) {
    return refuses(2, "world: --n: 'abc' is not a whole number", "world --n abc --out %s/x", g_tmp) &&
           refuses(2, "world: --size: 8 is out of range [16, 1024]", "world --size 8 --out %s/x", g_tmp) &&
           refuses(2, "world: --overlap: '0.5x' is not a number", "world --overlap 0.5x --out %s/x", g_tmp) &&
           refuses(2, "world: --out is required", "world --n 3") &&
           refuses(2, "world: unknown option '--bogus' (see world --help)", "world --bogus --out %s/x", g_tmp) &&
           refuses(2, "instruct: --captions: 6 is out of range [1, 5]", "instruct --world %s/w --out %s/x --captions 6", g_tmp, g_tmp) &&
           refuses(2, "instruct: --bench and --mc", "instruct --bench --mc --world %s/w --out %s/x", g_tmp, g_tmp) &&
           refuses(2, "instruct: --seed: '-1' is not a non-negative whole number", "instruct --world %s/w --out %s/x --seed -1", g_tmp, g_tmp) &&
           refuses(1, "instruct: ", "instruct --world %s/nowhere --out %s/x", g_tmp, g_tmp) &&
           refuses(2, "eval_sqa: --options: 'AB1' is not", "eval_sqa --data %s/sqa_sample --predictions p --options AB1", g_fix) &&
           refuses(2, "eval_sqa: one of --prompts", "eval_sqa --data %s/sqa_sample", g_fix) &&
           refuses(2, "eval_sqa: --explain and --check go with --to-llava", "eval_sqa --data %s/sqa_sample --prompts p --check", g_fix) &&
           refuses(1, "eval_sqa: ", "eval_sqa --data %s/nowhere --prompts %s/p.jsonl", g_tmp, g_tmp) &&
           refuses(2, "judge_offline: --answers is required", "judge_offline --questions q --context c --reference r") &&
           refuses(1, "judge_offline: ", "judge_offline --questions %s/nowhere --context c --reference r --answers a", g_tmp);
}

int main(int argc, char **argv) {
    char err[512];
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: test_world [BIN_DIR]   (default: the directory this program is in)\n"
               "  runs world, instruct, eval_sqa and judge_offline from BIN_DIR and checks what they write\n");
        return 0;
    }
    if (argc > 2 || (argc > 1 && argv[1][0] == '-')) {
        fprintf(stderr, "test_world: unknown argument '%s' (see test_world --help)\n", argv[argc > 2 ? 2 : 1]);
        return 2;
    }
    if (argc > 1) snprintf(g_bin, sizeof g_bin, "%s", argv[1]);
    else {
        const char *s = strrchr(argv[0], '/');
        if (s) snprintf(g_bin, sizeof g_bin, "%.*s", (int)(s - argv[0]), argv[0]);
    }
    if (access("tests/fixtures/sqa_sample/problems.json", R_OK) != 0) snprintf(g_fix, sizeof g_fix, "%.900s/../tests/fixtures", g_bin);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/test_world_XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    if (!mkdtemp(g_tmp)) {
        printf("FAIL  setup: cannot make a temporary directory\n0 passed, 1 failed\n");
        return 1;
    }
    /* a training world and a held-out world from another seed */
    int ok = run("%s/world --seed 11 --n 300 --out %s/w", g_bin, g_tmp) && run("%s/world --seed 1000011 --n 1200 --out %s/h", g_bin, g_tmp);
    if (ok) {
        char path[1200];
        snprintf(path, sizeof path, "%s/w", g_tmp);
        g_nsc = w_load_world(path, &g_sc, NULL, NULL, err, sizeof err);
        snprintf(path, sizeof path, "%s/h", g_tmp);
        g_nheld = w_load_world(path, &g_held, NULL, NULL, err, sizeof err);
        if (g_nsc != 300 || g_nheld != 1200) ok = failf("world.json: %s", err);
    }
    report("world runs and world.json loads", ok);
    if (ok) {
        report("world determinism (same seed, same bytes)", test_determinism());
        report("scenes: 1-5 objects, boxes in [0,1], variety", test_scenes());
        report("pixels: background outside boxes, boxes tight", test_pixels());
        report("fact checker on hand-written sentences", test_checker());
        report("captions true to the scene", test_captions_true());
        report("instruct: LLaVA format, every answer true", test_instruct_data());
        report("instruct: --types filters the mix", test_types_filter());
        report("bench: 90 questions, references true", test_bench());
        report("multiple choice: format, answers, balance", test_mc());
        report("judge_offline ranks right above wrong", test_judge_offline());
    }
    report("command lines: strict numbers and ranges, required options, errors named", test_command_lines());
    report("eval_sqa: LLaVA's letter extraction and prompt", test_sqa_scorer());
    report("eval_sqa: extraction rules one by one", test_sqa_extraction_more());
    report("eval_sqa: the blind baseline from a training set's answers", test_sqa_prior());
    report("eval_sqa: LLaVA training samples: the letter; the explanation, then the letter; the option check; the open question", test_sqa_to_llava());
    report("eval_sqa --open: free answers scored by the choice they name first", test_sqa_open());
    int i;
    for (i = 0; i < g_nsc; i++) w_scene_free(&g_sc[i]);
    for (i = 0; i < g_nheld; i++) w_scene_free(&g_held[i]);
    free(g_sc);
    free(g_held);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
