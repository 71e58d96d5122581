/* judge_offline: the LLaVA-Bench relative score for the synthetic world, without a judge model.
   Each answer is read by the fact checker of tools/repro/world.h: every colour, shape, size, count,
   position and relation it states is checked against the scene. An answer scores
       1 + 9 * (precision + coverage) / 2
   where precision is the share of its checkable statements that are true and coverage the share of the
   reference answer's true statements it also makes (the reference covers itself). An answer that states
   nothing checkable scores 1. The reference and the candidate are both scored, and, as in LLaVA,
   relative score = mean candidate score / mean reference score x 100, per category and overall.

     judge_offline --questions Q.jsonl --context C.jsonl --reference R.jsonl --answers A.jsonl
                   [--out reviews.jsonl] [--json summary.json]

   Q: {"question_id", "image", "text", "category"}; C: tools/repro/instruct.c's context.jsonl (captions, boxes and
   the objects of each image); R, A: {"question_id", "text"} (model_vqa.py's answer format). reviews.jsonl
   has LLaVA's review shape: {"id", "question_id", "category", "tuple": [reference, candidate], "content"}. */
#define LLAVA_IMPLEMENTATION
#include "../../llava.h"
#include "../common.h"
#include "world.h"

typedef struct {
    char *key; /* question_id as text */
    char *image, *text, *category;
} Row;
typedef struct {
    Row *r;
    int n, cap;
} Rows;

static char *dup_or_empty(const char *s) { return cli_xstrdup(s ? s : ""); }

/* reads a jsonl file; the fields kept are question_id, image, text, category; an error ends the program */
static void read_jsonl(const char *path, Rows *rows, const char *idkey) {
    size_t n;
    char *text = llava_read_file(path, (size_t)1 << 30, &n), *cursor = text, *s;
    int lineno = 0;
    if (!text) cli_die("%s", llava_last_error());
    while ((s = cli_next_line(&cursor, &lineno))) {
        LlavaJson j;
        if (llava_json_parse(&j, s, strlen(s), path) != LLAVA_OK) cli_die("%s line %d: %s", path, lineno, llava_last_error());
        const LlavaJsonNode *root = &j.nodes[0], *id = llava_json_get(&j, root, idkey), *x;
        char num[32] = "";
        if (rows->n == rows->cap) {
            rows->cap = rows->cap ? rows->cap * 2 : 64;
            rows->r = (Row *)cli_xrealloc(rows->r, sizeof(Row) * (size_t)rows->cap);
        }
        Row *r = &rows->r[rows->n++];
        if (id && id->type == LLAVA_JSON_NUM) snprintf(num, sizeof num, "%.0f", id->num);
        r->key = cli_xstrdup(id && id->type == LLAVA_JSON_STR ? id->str : num);
        x = llava_json_get(&j, root, "image");
        r->image = dup_or_empty(x && x->type == LLAVA_JSON_STR ? x->str : NULL);
        x = llava_json_get(&j, root, "text");
        r->text = dup_or_empty(x && x->type == LLAVA_JSON_STR ? x->str : NULL);
        x = llava_json_get(&j, root, "category");
        r->category = dup_or_empty(x && x->type == LLAVA_JSON_STR ? x->str : NULL);
        llava_json_free(&j);
    }
    free(text);
}
static const Row *find_row(const Rows *rows, const char *key) {
    int i;
    for (i = rows->n - 1; i >= 0; i--)
        if (!strcmp(rows->r[i].key, key)) return &rows->r[i];
    return NULL;
}

/* keys are "\n"-separated; counts distinct lines of a that also occur in b */
static int count_lines(const char *a) {
    int n = 0;
    const char *p = a;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        n++;
        p = e ? e + 1 : NULL;
    }
    return n;
}
static int line_in(const char *text, const char *line, size_t len) {
    const char *p = text;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && !strncmp(p, line, len)) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}
static int shared_lines(const char *a, const char *b) {
    int n = 0;
    const char *p = a;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        n += l > 0 && line_in(b, p, l);
        p = e ? e + 1 : NULL;
    }
    return n;
}

static double score(const WCheck *c, const char *ref_keys) {
    int t = count_lines(c->keys.p), f = c->n_false;
    if (t + f == 0) return 1.0;
    double prec = (double)t / (t + f);
    int rk = count_lines(ref_keys);
    double cover = rk ? (double)shared_lines(ref_keys, c->keys.p ? c->keys.p : "") / rk : 1.0;
    if (cover > 1) cover = 1;
    return floor((1.0 + 9.0 * 0.5 * (prec + cover)) * 10 + 0.5) / 10;
}

static const char usage[] =
    "usage: judge_offline --questions Q.jsonl --context C.jsonl --reference R.jsonl --answers A.jsonl [options]\n"
    "  scores answers about the synthetic world by checking what they state against each scene, and prints the\n"
    "  LLaVA-Bench relative score (candidate / reference x 100) per category (conv, detail, complex) and overall\n"
    "  --questions FILE   {\"question_id\", \"image\", \"text\", \"category\"} a line (instruct --bench) (required)\n"
    "  --context FILE     each image's scene, instruct's context.jsonl (required)\n"
    "  --reference FILE   the reference answers, {\"question_id\", \"text\"} a line (required)\n"
    "  --answers FILE     the answers to score, the same format (answer's output) (required)\n"
    "  --out FILE         reviews, one a line in LLaVA's review format (default: none written)\n"
    "  --json FILE        the scores per category as JSON (default: none written)\n"
    "  --help, --version\n";

int main(int argc, char **argv) {
    const char *qp = NULL, *cp = NULL, *rp = NULL, *ap = NULL, *out = NULL, *json_out = NULL;
    int i;
    CliArgs cl = cli_begin(argc, argv, "judge_offline", usage);
    while (cli_next(&cl)) {
        if (cli_str(&cl, "--questions", &qp) || cli_str(&cl, "--context", &cp) || cli_str(&cl, "--reference", &rp) ||
            cli_str(&cl, "--answers", &ap) || cli_str(&cl, "--out", &out) || cli_str(&cl, "--json", &json_out))
            continue;
        cli_unknown(&cl);
    }
    cli_require(qp, "--questions");
    cli_require(cp, "--context");
    cli_require(rp, "--reference");
    cli_require(ap, "--answers");
    Rows Q = {0}, R = {0}, A = {0};
    read_jsonl(qp, &Q, "question_id");
    read_jsonl(rp, &R, "question_id");
    read_jsonl(ap, &A, "question_id");

    /* the scenes, from context.jsonl */
    size_t n;
    char *ctext = llava_read_file(cp, (size_t)1 << 30, &n), *line = ctext;
    if (!ctext) cli_die("%s", llava_last_error());
    WScene *sc = NULL;
    int nsc = 0, cap = 0;
    while (line && *line) {
        char *nl = strchr(line, '\n'), err[512];
        if (nl) *nl = 0;
        if (line[0] == '{') {
            LlavaJson j;
            if (llava_json_parse(&j, line, strlen(line), cp) != LLAVA_OK) cli_die("%s", llava_last_error());
            if (nsc == cap) cap = cap ? cap * 2 : 64, sc = (WScene *)cli_xrealloc(sc, sizeof(WScene) * (size_t)cap);
            if (w_scene_from_json(&j, &j.nodes[0], &sc[nsc], err, sizeof err) != 0)
                cli_die("%s: %s (context.jsonl needs \"objects\", as instruct writes it)", cp, err);
            nsc++;
            llava_json_free(&j);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(ctext);

    LlavaBuf rev = {0};
    static const char *const cats[4] = {"conv", "detail", "complex", "all"};
    double sum_ref[4] = {0}, sum_cand[4] = {0};
    int cnt[4] = {0}, missing = 0;
    for (i = 0; i < Q.n; i++) {
        const Row *q = &Q.r[i], *r = find_row(&R, q->key), *a = find_row(&A, q->key);
        const WScene *s = NULL;
        int k;
        for (k = 0; k < nsc; k++)
            if (!strcmp(sc[k].file, q->image)) s = &sc[k];
        if (!s) cli_die("no context for image '%s'", q->image);
        if (!r) cli_die("no reference answer for question %s", q->key);
        missing += a == NULL;
        WCheck cr = {0}, cc = {0};
        w_check_text(s, r->text, &cr);
        w_check_text(s, a ? a->text : "", &cc);
        double sr = score(&cr, cr.keys.p ? cr.keys.p : ""), scand = score(&cc, cr.keys.p ? cr.keys.p : "");
        for (k = 0; k < 3; k++)
            if (!strcmp(q->category, cats[k])) break;
        int idx[2] = {k, 3};
        for (k = 0; k < 2; k++)
            if (idx[k] < 4) sum_ref[idx[k]] += sr, sum_cand[idx[k]] += scand, cnt[idx[k]]++;
        llava_buf_printf(&rev, "{\"id\": %d, \"question_id\": ", i + 1);
        w_json(&rev, q->key);
        llava_buf_puts(&rev, ", \"category\": ");
        w_json(&rev, q->category);
        llava_buf_printf(&rev, ", \"tuple\": [%.1f, %.1f], \"content\": ", sr, scand);
        LlavaBuf why = {0};
        llava_buf_printf(&why, "%.1f %.1f\nreference: %d checkable statements true, %d false; candidate: %d true, %d false, %d of the reference's made.",
                         sr, scand, count_lines(cr.keys.p), cr.n_false, count_lines(cc.keys.p), cc.n_false,
                         shared_lines(cr.keys.p ? cr.keys.p : "", cc.keys.p ? cc.keys.p : ""));
        if (cc.explain.p) llava_buf_printf(&why, "\nfalse in the candidate:\n%s", cc.explain.p);
        llava_buf_json_string(&rev, why.p, why.n);
        llava_buf_puts(&rev, "}\n");
        llava_buf_free(&why);
        w_check_free(&cr);
        w_check_free(&cc);
    }
    if (rev.oom) cli_die("out of memory");
    if (out && llava_write_text(out, rev.p ? rev.p : "") != LLAVA_OK) cli_die("%s", llava_last_error());
    LlavaBuf js = {0};
    printf("offline judge: %d questions%s\n", Q.n, missing ? " (some without a candidate answer: scored 1)" : "");
    printf("  %-8s %5s %9s %9s %9s\n", "", "count", "reference", "candidate", "relative");
    llava_buf_puts(&js, "{");
    int first = 1;
    for (i = 0; i < 4; i++) {
        if (!cnt[i]) continue;
        double mr = sum_ref[i] / cnt[i], mc = sum_cand[i] / cnt[i], rel = mr > 0 ? 100.0 * mc / mr : 0;
        printf("  %-8s %5d %9.2f %9.2f %9.1f\n", cats[i], cnt[i], mr, mc, rel);
        llava_buf_printf(&js, "%s\"%s\": {\"count\": %d, \"reference\": %.3f, \"candidate\": %.3f, \"relative\": %.2f}", first ? "" : ", ", cats[i], cnt[i], mr,
                         mc, rel);
        first = 0;
    }
    llava_buf_puts(&js, "}\n");
    if (json_out && llava_write_text(json_out, js.p) != LLAVA_OK) cli_die("%s", llava_last_error());
    llava_buf_free(&js);
    llava_buf_free(&rev);
    for (i = 0; i < nsc; i++) w_scene_free(&sc[i]);
    free(sc);
    Rows *all[3] = {&Q, &R, &A};
    for (int k = 0; k < 3; k++) {
        for (i = 0; i < all[k]->n; i++) free(all[k]->r[i].key), free(all[k]->r[i].image), free(all[k]->r[i].text), free(all[k]->r[i].category);
        free(all[k]->r);
    }
    return 0;
}
