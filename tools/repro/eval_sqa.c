/* eval_sqa: ScienceQA evaluation as LLaVA does it, for the real ScienceQA files and for the synthetic
   multiple-choice set (tools/repro/instruct.c --mc), which has the same format.

     eval_sqa --data DIR [--split test] --prompts OUT.jsonl [--no-suffix]
         writes the questions a model runner answers, one JSON object a line:
         {"question_id": "<pid>", "image": "images/<split>/<pid>/image.png", "text": "...", "category": "..."}
         ("image" relative to DIR, absent for problems without one). The text is LLaVA-1.5's
         (llava_test_CQM-A.json with --single-pred-prompt):
             Context: <hint>            (only when the hint is not empty)
             <question>
             A. <choice 0>
             B. <choice 1> ...
             Answer with the option's letter from the given choices directly.
         The runner puts the image token first, as llava/eval/model_vqa_science.py does.

     eval_sqa --data DIR [--split test] --predictions P.jsonl [--json OUT.json] [--options ABCDE]
         P.jsonl: {"question_id": "<pid>", "text": "<model output>"} per line (model_vqa_science.py output).
         The letter is extracted as llava/eval/eval_science_qa.py does: the whole output if it is one of
         the options; else its first character if followed by ". "; else the letter of
         "The answer is X." if that pattern occurs exactly once; else FAILED. A letter outside the
         problem's choices, FAILED and a missing prediction count as wrong (LLaVA's random fallback is
         dead code after a return). Prints accuracy overall, per category, and per ScienceQA group
         (NAT/SOC/LAN subject, TXT/IMG/NO context, G1-6/G7-12 grade) where the problems have them; --json
         writes the same and the parsed letter and chosen index per problem.

     eval_sqa --data DIR [--split test] --open --prompts OUT.jsonl
     eval_sqa --data DIR [--split test] --open --predictions P.jsonl [--json OUT.json]
         the same questions without their options (the context line and the question only), and their
         free answers scored by the choice they name first: whole words in any case, a count choice "0" to
         "10" also as its word ("two"; 0 also as "no" or "none"), the longer choice where two start at
         the same place. It separates what a model knows about the image from the step that maps that
         knowledge to a letter. An answer that names no choice is wrong.

     eval_sqa --data DIR [--split train] --to-llava OUT.json [--explain | --check | --open]
         training samples in LLaVA's format (a JSON list of {"id", "image", "conversations"}), the prompt as
         --prompts writes it with "<image>\n" first. The answer is the letter (LLaVA-1.5's format); with
         --explain the solution, then "The answer is X." (LLaVA's explanation-first format, no suffix in
         the prompt); with --check the solution, then the options in order up to the right one, each on a
         line of its own and followed by the right option's text, then the letter:
             The image shows a cyan triangle.
             Checking each option:
             A. white, is it cyan? no.
             B. cyan, is it cyan? yes.
             The answer is B.
         (no suffix). A small model states the fact and cannot look its letter up (README, "What limits
         it"); going through the options turns the lookup into steps it can take: a line copied from the
         prompt token for token, a comparison of two neighbouring texts, and the letter last marked. With
         --open the question without its options, answered by the solution.

     eval_sqa --data DIR [--split test] --prior TRAIN [--json OUT.json]
         scores a blind baseline the same way: it never sees the image, the question or the hint, and picks the
         choice that was most often right in TRAIN's problems (all of them) of the same category with the same
         set of choices, in any order; where TRAIN has no such problem, the choice most often right in the
         category; ties go to the first choice. What a model can score from the answer options alone. */
#define LLAVA_IMPLEMENTATION
#include "../../llava.h"
#include "world.h" /* w_number_word */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 64

typedef struct {
    char name[64];
    int count, correct;
} Tally;
typedef struct {
    Tally t[MAX_GROUPS];
    int n;
} Tallies;
static void tally(Tallies *ts, const char *name, int ok) {
    int i;
    for (i = 0; i < ts->n; i++)
        if (!strcmp(ts->t[i].name, name)) break;
    if (i == ts->n) {
        if (ts->n == MAX_GROUPS) return;
        snprintf(ts->t[ts->n++].name, sizeof ts->t[0].name, "%s", name);
    }
    ts->t[i].count++;
    ts->t[i].correct += ok;
}

/* a growable string */
typedef struct {
    char *p;
    size_t n, cap;
} Buf;
static void bput(Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        while (nc < b->n + n + 1) nc *= 2;
        char *np = (char *)realloc(b->p, nc);
        if (!np) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        b->p = np, b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void bputs(Buf *b, const char *s) { bput(b, s, strlen(s)); }
static void bjson(Buf *b, const char *s) {
    bputs(b, "\"");
    for (; *s; s++) {
        char e[8];
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') e[0] = '\\', e[1] = (char)c, e[2] = 0;
        else if (c == '\n') strcpy(e, "\\n");
        else if (c == '\t') strcpy(e, "\\t");
        else if (c == '\r') strcpy(e, "\\r");
        else if (c < 0x20) snprintf(e, sizeof e, "\\u%04x", c);
        else e[0] = (char)c, e[1] = 0;
        bputs(b, e);
    }
    bputs(b, "\"");
}

/* LLaVA's answer extraction (llava/eval/eval_science_qa.py); returns the letter or 0 for FAILED */
static char extract_letter(const char *s, const char *options) {
    size_t n = strlen(s), i;
    int hits = 0;
    char letter = 0;
    if (n == 1 && strchr(options, s[0])) return s[0];                          /* pred_text in options */
    if (n >= 3 && s[0] && strchr(options, s[0]) && s[1] == '.' && s[2] == ' ') return s[0]; /* "B. cat" */
    /* re.findall(r'The answer is ([A-Z]).') : '.' is any character but a newline */
    for (i = 0; i + 16 <= n;) {
        if (!strncmp(s + i, "The answer is ", 14) && s[i + 14] >= 'A' && s[i + 14] <= 'Z' && s[i + 15] != '\n') {
            hits++;
            letter = s[i + 14];
            i += 16;
        } else
            i++;
    }
    return hits == 1 ? letter : 0;
}

/* --open: where the whole word(s) w first occur in s, in any case; -1 if nowhere */
static long find_words(const char *s, const char *w) {
    size_t n = strlen(w), i, k;
    if (!n) return -1;
    for (i = 0; s[i]; i++) {
        if (i && isalnum((unsigned char)s[i - 1])) continue;
        for (k = 0; k < n && s[i + k] && tolower((unsigned char)s[i + k]) == tolower((unsigned char)w[k]); k++) {}
        if (k == n && !isalnum((unsigned char)s[i + n])) return (long)i;
    }
    return -1;
}
/* the index of the choice that answer s names first (see --open above), -1 if it names none */
static int named_choice(const char *s, const LlavaJson *j, const LlavaJsonNode *ch) {
    const LlavaJsonNode *c;
    long best = -1;
    size_t best_len = 0;
    int k = 0, idx = -1;
    for (c = llava_json_first(j, ch); c; c = llava_json_next(j, c), k++) {
        if (c->type != LLAVA_JSON_STR) continue;
        const char *forms[4] = {c->str, NULL, NULL, NULL};
        char *end;
        long v = strtol(c->str, &end, 10);
        int f;
        if (c->str[0] >= '0' && c->str[0] <= '9' && !*end && v <= 10) {
            forms[1] = w_number_word[v];
            if (v == 0) forms[2] = "no", forms[3] = "none";
        }
        for (f = 0; f < 4; f++) {
            long at = forms[f] ? find_words(s, forms[f]) : -1;
            size_t len = forms[f] ? strlen(forms[f]) : 0;
            if (at >= 0 && (best < 0 || at < best || (at == best && len > best_len))) best = at, best_len = len, idx = k;
        }
    }
    return idx;
}

static const char *jstr(const LlavaJson *j, const LlavaJsonNode *o, const char *key) {
    const LlavaJsonNode *x = llava_json_get(j, o, key);
    return x && x->type == LLAVA_JSON_STR ? x->str : NULL;
}

/* the blind baseline's counts (llava.h's string map): how often a choice text was the right answer,
   under a key of the category and the choice set, or of the category alone */
static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }
/* "category\x1f" + the choices sorted, "\x1e"-joined (set != 0) + "\x1f" + the answer's text */
static void prior_key(Buf *k, const char *cat, const LlavaJson *j, const LlavaJsonNode *ch, int set, const char *answer) {
    const char *c[64];
    const LlavaJsonNode *x;
    int n = 0, i;
    k->n = 0;
    bputs(k, cat ? cat : "");
    bputs(k, "\x1f");
    for (x = llava_json_first(j, ch); x && n < 64 && set; x = llava_json_next(j, x)) c[n++] = x->type == LLAVA_JSON_STR ? x->str : "";
    qsort(c, (size_t)n, sizeof *c, cmp_str);
    for (i = 0; i < n; i++) bputs(k, i ? "\x1e" : ""), bputs(k, c[i]);
    bputs(k, "\x1f");
    bputs(k, answer);
}
static const char *choice_text(const LlavaJson *j, const LlavaJsonNode *ch, int i) {
    const LlavaJsonNode *x = llava_json_first(j, ch);
    while (x && i-- > 0) x = llava_json_next(j, x);
    return x && x->type == LLAVA_JSON_STR ? x->str : NULL;
}

static void usage(FILE *f) {
    fprintf(f, "usage:\n"
               "  eval_sqa --data DIR [--split test] --prompts OUT.jsonl [--no-suffix]\n"
               "  eval_sqa --data DIR [--split train] --to-llava OUT.json [--explain | --check | --open]   (training data:\n"
               "      prompt -> answer letter; --explain: the solution, then \"The answer is X.\"; --check: the solution, the\n"
               "      options in order up to the right one, a line each (\"A. white, is it cyan? no.\"), then the letter; no\n"
               "      suffix with either; --open: the question without options -> the solution)\n"
               "  eval_sqa --data DIR [--split test] --predictions P.jsonl [--json OUT.json] [--options ABCDE]\n"
               "  eval_sqa --data DIR [--split test] --open --prompts OUT.jsonl | --predictions P.jsonl [--json OUT.json]\n"
               "      (the questions without their options; an answer is scored by the choice it names first)\n"
               "  eval_sqa --data DIR [--split test] --prior TRAIN [--json OUT.json]   (blind baseline from TRAIN's answers)\n"
               "DIR holds problems.json and pid_splits.json (ScienceQA's data/scienceqa, or tools/instruct --mc output)\n");
}

int main(int argc, char **argv) {
    const char *data = NULL, *split = "test", *prompts = NULL, *preds = NULL, *json_out = NULL, *options = "ABCDE", *to_llava = NULL, *prior = NULL;
    int suffix = 1, explain = 0, check = 0, open = 0, i;
    const char *v = NULL;
    for (i = 1; i < argc; i += v ? 2 : 1) {
        const char *a = argv[i];
        v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        if (!strcmp(a, "--no-suffix")) { suffix = 0; v = NULL; continue; }
        if (!strcmp(a, "--explain")) { explain = 1, suffix = 0; v = NULL; continue; }
        if (!strcmp(a, "--check")) { check = 1, suffix = 0; v = NULL; continue; }
        if (!strcmp(a, "--open")) { open = 1; v = NULL; continue; }
        if (!v) return usage(stderr), fprintf(stderr, "%s needs a value\n", a), 2;
        if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--split")) split = v;
        else if (!strcmp(a, "--prompts")) prompts = v;
        else if (!strcmp(a, "--to-llava")) to_llava = v, prompts = v;
        else if (!strcmp(a, "--predictions")) preds = v;
        else if (!strcmp(a, "--prior")) prior = v;
        else if (!strcmp(a, "--json")) json_out = v;
        else if (!strcmp(a, "--options")) options = v;
        else return usage(stderr), fprintf(stderr, "unknown option %s\n", a), 2;
    }
    if (!data || (!!prompts + !!preds + !!prior != 1)) return usage(stderr), 2;
    if (open && prior) return fprintf(stderr, "eval_sqa: --open goes with --prompts, --predictions or --to-llava\n"), 2;
    if ((explain || check) && (!to_llava || open)) return fprintf(stderr, "eval_sqa: --explain and --check go with --to-llava (without --open)\n"), 2;

    char path[1200];
    size_t n;
    LlavaJson jp, js;
    snprintf(path, sizeof path, "%s/problems.json", data);
    char *ptext = llava_read_file(path, (size_t)1 << 30, &n);
    if (!ptext || llava_json_parse(&jp, ptext, n, path) != LLAVA_OK) return fprintf(stderr, "eval_sqa: %s\n", llava_last_error()), 1;
    snprintf(path, sizeof path, "%s/pid_splits.json", data);
    char *stext = llava_read_file(path, (size_t)1 << 30, &n);
    if (!stext || llava_json_parse(&js, stext, n, path) != LLAVA_OK) return fprintf(stderr, "eval_sqa: %s\n", llava_last_error()), 1;
    const LlavaJsonNode *probs = &jp.nodes[0], *ids = llava_json_get(&js, &js.nodes[0], split), *id;
    if (probs->type != LLAVA_JSON_OBJ) return fprintf(stderr, "eval_sqa: problems.json is not an object\n"), 1;
    if (!ids || ids->type != LLAVA_JSON_ARR) return fprintf(stderr, "eval_sqa: pid_splits.json has no split \"%s\"\n", split), 1;

    if (prompts) {
        Buf out = {0};
        int count = 0;
        for (id = llava_json_first(&js, ids); id; id = llava_json_next(&js, id)) {
            const LlavaJsonNode *p = id->type == LLAVA_JSON_STR ? llava_json_get(&jp, probs, id->str) : NULL, *ch, *c;
            if (!p) return fprintf(stderr, "eval_sqa: split lists a problem that problems.json lacks\n"), 1;
            const char *hint = jstr(&jp, p, "hint"), *q = jstr(&jp, p, "question"), *img = jstr(&jp, p, "image"),
                       *psplit = jstr(&jp, p, "split"), *cat = jstr(&jp, p, "category");
            Buf t = {0};
            int k = 0;
            if (hint && hint[0]) bputs(&t, "Context: "), bputs(&t, hint), bputs(&t, "\n");
            bputs(&t, q ? q : "");
            ch = llava_json_get(&jp, p, "choices");
            for (c = open ? NULL : llava_json_first(&jp, ch); c; c = llava_json_next(&jp, c), k++) {
                char head[8];
                snprintf(head, sizeof head, "\n%c. ", 'A' + k);
                bputs(&t, head);
                bputs(&t, c->type == LLAVA_JSON_STR ? c->str : "");
            }
            if (suffix && !open) bputs(&t, "\nAnswer with the option's letter from the given choices directly.");
            if (to_llava) {
                /* LLaVA's training format, as its ScienceQA conversion (LLaVA-1.5 style: the answer is the letter);
                   the synthetic set's images by their world image, real ones by their own path */
                const char *wi = jstr(&jp, p, "world_image");
                const LlavaJsonNode *an = llava_json_get(&jp, p, "answer");
                int nch = 0;
                for (c = llava_json_first(&jp, ch); c; c = llava_json_next(&jp, c)) nch++;
                if (!an || an->type != LLAVA_JSON_NUM || !(an->num >= 0 && an->num < nch && an->num < 26) || an->num != (int)an->num)
                    return fprintf(stderr, "eval_sqa: --to-llava: problem %s: \"answer\" is not the index of one of its %d choices\n", id->str, nch), 1;
                char ip[600], letter[2] = {(char)('A' + (int)an->num), 0};
                if (wi) snprintf(ip, sizeof ip, "%s.png", wi);
                else snprintf(ip, sizeof ip, "images/%s/%s/%s", psplit ? psplit : split, id->str, img ? img : "image.png");
                bputs(&out, count ? ",\n" : "[\n");
                bputs(&out, "{\"id\": ");
                char sid[96];
                snprintf(sid, sizeof sid, "mc-%s", id->str);
                bjson(&out, sid);
                if (img && img[0]) bputs(&out, ", \"image\": "), bjson(&out, ip);
                Buf h = {0};
                if (img && img[0]) bputs(&h, "<image>\n");
                bputs(&h, t.p ? t.p : "");
                bputs(&out, ", \"conversations\": [{\"from\": \"human\", \"value\": ");
                bjson(&out, h.p);
                bputs(&out, "}, {\"from\": \"gpt\", \"value\": ");
                const char *sol = jstr(&jp, p, "solution");
                if (open) { /* the question without its options: the solution is the answer */
                    if (!sol || !sol[0]) return fprintf(stderr, "eval_sqa: --open --to-llava: problem %s has no solution to answer with\n", id->str), 1;
                    bjson(&out, sol);
                } else if (explain || check) {
                    /* the explanation first, then the answer (LLaVA's "EA" output format); with --check the
                       options are gone through in order up to the right one, each on a line of its own as
                       in the prompt (the same tokens, so that copying it is a plain repeat), each followed
                       by the right option's text (so that the yes or no compares two neighbours), and the
                       letter given last is the one just marked */
                    Buf e = {0};
                    if (sol && sol[0]) bputs(&e, sol), bputs(&e, check ? "\n" : " ");
                    if (check) {
                        const char *right = choice_text(&jp, ch, letter[0] - 'A');
                        bputs(&e, "Checking each option:\n");
                        for (c = llava_json_first(&jp, ch), k = 0; c && 'A' + k <= letter[0]; c = llava_json_next(&jp, c), k++) {
                            char head[8];
                            snprintf(head, sizeof head, "%c. ", 'A' + k);
                            bputs(&e, head), bputs(&e, c->type == LLAVA_JSON_STR ? c->str : "");
                            bputs(&e, ", is it "), bputs(&e, right ? right : ""), bputs(&e, "? ");
                            bputs(&e, 'A' + k == letter[0] ? "yes.\n" : "no.\n");
                        }
                    }
                    bputs(&e, "The answer is "), bputs(&e, letter), bputs(&e, ".");
                    bjson(&out, e.p);
                    free(e.p);
                } else
                    bjson(&out, letter);
                bputs(&out, "}]}");
                free(h.p), free(t.p);
                count++;
                continue;
            }
            bputs(&out, "{\"question_id\": ");
            bjson(&out, id->str);
            if (img && img[0]) {
                char ip[600];
                snprintf(ip, sizeof ip, "images/%s/%s/%s", psplit ? psplit : split, id->str, img);
                bputs(&out, ", \"image\": ");
                bjson(&out, ip);
            }
            bputs(&out, ", \"text\": ");
            bjson(&out, t.p ? t.p : "");
            if (cat) bputs(&out, ", \"category\": "), bjson(&out, cat);
            bputs(&out, "}\n");
            free(t.p);
            count++;
        }
        if (to_llava) bputs(&out, count ? "\n]\n" : "[]\n");
        if (llava_write_text(prompts, out.p ? out.p : "") != LLAVA_OK) return fprintf(stderr, "eval_sqa: %s\n", llava_last_error()), 1;
        if (to_llava) /* the synthetic set names its world's images, ScienceQA's own are under DIR */
            printf("eval_sqa: %d samples (%s split) in %s; images relative to the world's images/ (synthetic set) or %s\n", count, split, prompts, data);
        else
            printf("eval_sqa: %d prompts (%s split) in %s; images relative to %s\n", count, split, prompts, data);
        free(out.p), free(ptext), free(stext);
        llava_json_free(&jp);
        llava_json_free(&js);
        return 0;
    }

    /* the blind baseline: TRAIN's answers counted by category and choice set, and by category */
    LlavaStrMap pc;
    Buf key = {0};
    memset(&pc, 0, sizeof pc);
    if (prior) {
        LlavaJson jt;
        snprintf(path, sizeof path, "%s/problems.json", prior);
        char *tt = llava_read_file(path, (size_t)1 << 30, &n);
        if (!tt || llava_json_parse(&jt, tt, n, path) != LLAVA_OK) return fprintf(stderr, "eval_sqa: %s\n", llava_last_error()), 1;
        const LlavaJsonNode *p;
        int used = 0;
        for (p = jt.nodes[0].type == LLAVA_JSON_OBJ ? llava_json_first(&jt, &jt.nodes[0]) : NULL; p; p = llava_json_next(&jt, p)) {
            const LlavaJsonNode *ch = llava_json_get(&jt, p, "choices"), *an = llava_json_get(&jt, p, "answer");
            const char *at = an && an->type == LLAVA_JSON_NUM ? choice_text(&jt, ch, (int)an->num) : NULL;
            int set;
            if (!at) continue;
            for (set = 0; set < 2; set++) {
                prior_key(&key, jstr(&jt, p, "category"), &jt, ch, set, at);
                if (llava_strmap_count(&pc, key.p, key.n) < 0) return fprintf(stderr, "eval_sqa: out of memory\n"), 1;
            }
            used++;
        }
        llava_json_free(&jt);
        free(tt);
        if (!used) return fprintf(stderr, "eval_sqa: %s has no problem with an answer\n", path), 1;
        printf("eval_sqa: blind baseline from the answers of %d problems in %s\n", used, path);
    }

    /* predictions: one JSON object a line */
    char *pr = preds ? llava_read_file(preds, (size_t)1 << 30, &n) : NULL;
    if (preds && !pr) return fprintf(stderr, "eval_sqa: %s\n", llava_last_error()), 1;
    int npred = 0, cap = 1024;
    char **pid_of = (char **)malloc(sizeof(char *) * (size_t)cap), **text_of = (char **)malloc(sizeof(char *) * (size_t)cap);
    char *line = pr, blind[2] = {0, 0};
    int lineno = 0;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        if (*s) {
            LlavaJson jl;
            if (llava_json_parse(&jl, s, strlen(s), preds) != LLAVA_OK) return fprintf(stderr, "eval_sqa: line %d: %s\n", lineno, llava_last_error()), 1;
            const LlavaJsonNode *q = llava_json_get(&jl, &jl.nodes[0], "question_id"), *t = llava_json_get(&jl, &jl.nodes[0], "text");
            if (q && t && t->type == LLAVA_JSON_STR && (q->type == LLAVA_JSON_STR || q->type == LLAVA_JSON_NUM)) {
                char num[32];
                if (npred == cap) {
                    cap *= 2;
                    pid_of = (char **)realloc(pid_of, sizeof(char *) * (size_t)cap);
                    text_of = (char **)realloc(text_of, sizeof(char *) * (size_t)cap);
                }
                if (q->type == LLAVA_JSON_NUM) snprintf(num, sizeof num, "%.0f", q->num);
                const char *qs = q->type == LLAVA_JSON_STR ? q->str : num;
                pid_of[npred] = (char *)malloc(strlen(qs) + 1);
                strcpy(pid_of[npred], qs);
                text_of[npred] = (char *)malloc(strlen(t->str) + 1);
                strcpy(text_of[npred], t->str);
                npred++;
            }
            llava_json_free(&jl);
        }
        line = nl ? nl + 1 : NULL;
    }

    Tallies cats = {{{{0}, 0, 0}}, 0}, groups = {{{{0}, 0, 0}}, 0};
    Buf res = {0}, parsed = {0};
    int total = 0, correct = 0, failed = 0, missing = 0;
    double chance = 0;
    for (id = llava_json_first(&js, ids); id; id = llava_json_next(&js, id)) {
        const LlavaJsonNode *p = id->type == LLAVA_JSON_STR ? llava_json_get(&jp, probs, id->str) : NULL;
        if (!p) return fprintf(stderr, "eval_sqa: split lists a problem that problems.json lacks\n"), 1;
        const LlavaJsonNode *ch = llava_json_get(&jp, p, "choices"), *ans = llava_json_get(&jp, p, "answer");
        int nch = ch && ch->type == LLAVA_JSON_ARR ? ch->count : 0, k, found = -1;
        for (k = npred - 1; k >= 0; k--) /* the last prediction for a pid wins, as a dict does */
            if (!strcmp(pid_of[k], id->str)) {
                found = k;
                break;
            }
        const char *pred_text = found >= 0 ? text_of[found] : "FAILED";
        if (prior) { /* the choice most often right for this choice set, else for this category */
            const char *cat = jstr(&jp, p, "category");
            int set, best = -1, bc = 0;
            for (set = 1; set >= 0 && best < 0; set--)
                for (k = 0; k < nch; k++) {
                    const char *ct = choice_text(&jp, ch, k);
                    if (!ct) continue; /* a choice that is not a string is never picked */
                    prior_key(&key, cat, &jp, ch, set, ct);
                    int c = llava_strmap_get(&pc, key.p, key.n);
                    if (c > bc) bc = c, best = k;
                }
            blind[0] = (char)('A' + (best < 0 ? 0 : best));
            pred_text = blind, found = 0;
        }
        missing += found < 0;
        char letter = open ? 0 : extract_letter(pred_text, options);
        int idx = -1;
        if (open) {
            idx = found >= 0 ? named_choice(pred_text, &jp, ch) : -1;
            letter = idx >= 0 ? (char)('A' + idx) : 0;
        } else if (letter) {
            const char *at = strchr(options, letter);
            if (at && at - options < nch) idx = (int)(at - options);
        }
        failed += letter == 0;
        int ok = ans && ans->type == LLAVA_JSON_NUM && idx == (int)ans->num;
        total++;
        correct += ok;
        chance += nch ? 1.0 / nch : 0;
        const char *cat = jstr(&jp, p, "category"), *subj = jstr(&jp, p, "subject"), *hint = jstr(&jp, p, "hint"),
                   *img = jstr(&jp, p, "image"), *grade = jstr(&jp, p, "grade");
        tally(&cats, cat ? cat : "(none)", ok);
        if (subj && !strcmp(subj, "natural science")) tally(&groups, "NAT", ok);
        if (subj && !strcmp(subj, "social science")) tally(&groups, "SOC", ok);
        if (subj && !strcmp(subj, "language science")) tally(&groups, "LAN", ok);
        if (hint && hint[0]) tally(&groups, "TXT", ok);
        if (img && img[0]) tally(&groups, "IMG", ok);
        if (!(hint && hint[0]) && !(img && img[0])) tally(&groups, "NO", ok);
        if (grade && !strncmp(grade, "grade", 5)) {
            int g = atoi(grade + 5);
            if (g >= 1 && g <= 6) tally(&groups, "G1-6", ok);
            if (g >= 7 && g <= 12) tally(&groups, "G7-12", ok);
        }
        char e[64];
        bputs(&res, res.n ? ", " : "");
        bjson(&res, id->str);
        snprintf(e, sizeof e, ": %d", idx);
        bputs(&res, e);
        bputs(&parsed, parsed.n ? ", " : "");
        bjson(&parsed, id->str);
        snprintf(e, sizeof e, ": \"%s%s\"", letter ? (char[2]){letter, 0} : "", letter ? "" : "FAILED");
        bputs(&parsed, e);
    }
    double acc = total ? 100.0 * correct / total : 0;
    printf("ScienceQA-format evaluation%s: %s, split %s\n", prior ? " of the blind baseline" : open ? " of free answers" : "", data, split);
    printf("  %-14s %6s %8s %8s\n", "", "count", "correct", "acc %");
    printf("  %-14s %6d %8d %8.2f\n", "all", total, correct, acc);
    for (i = 0; i < cats.n; i++)
        printf("  %-14s %6d %8d %8.2f\n", cats.t[i].name, cats.t[i].count, cats.t[i].correct, 100.0 * cats.t[i].correct / cats.t[i].count);
    static const char *const order[8] = {"NAT", "SOC", "LAN", "TXT", "IMG", "NO", "G1-6", "G7-12"};
    int g;
    for (g = 0; g < 8; g++)
        for (i = 0; i < groups.n; i++)
            if (!strcmp(groups.t[i].name, order[g]))
                printf("  %-14s %6d %8d %8.2f\n", groups.t[i].name, groups.t[i].count, groups.t[i].correct, 100.0 * groups.t[i].correct / groups.t[i].count);
    printf("  %s: %d, no prediction: %d, chance accuracy: %.2f%%\n", open ? "no choice named" : "no letter found", failed, missing, total ? 100.0 * chance / total : 0);
    if (json_out) {
        Buf o = {0};
        char e[256];
        snprintf(e, sizeof e, "{\"split\": \"%s\", \"count\": %d, \"correct\": %d, \"acc\": %.4f, \"failed\": %d, \"missing\": %d, \"chance\": %.4f,\n \"categories\": {",
                 split, total, correct, acc, failed, missing, total ? 100.0 * chance / total : 0);
        bputs(&o, e);
        for (i = 0; i < cats.n; i++) {
            bputs(&o, i ? ", " : "");
            bjson(&o, cats.t[i].name);
            snprintf(e, sizeof e, ": {\"count\": %d, \"correct\": %d, \"acc\": %.4f}", cats.t[i].count, cats.t[i].correct,
                     100.0 * cats.t[i].correct / cats.t[i].count);
            bputs(&o, e);
        }
        bputs(&o, "},\n \"groups\": {");
        for (i = 0; i < groups.n; i++) {
            bputs(&o, i ? ", " : "");
            bjson(&o, groups.t[i].name);
            snprintf(e, sizeof e, ": {\"count\": %d, \"correct\": %d, \"acc\": %.4f}", groups.t[i].count, groups.t[i].correct,
                     100.0 * groups.t[i].correct / groups.t[i].count);
            bputs(&o, e);
        }
        bputs(&o, "},\n \"results\": {");
        bputs(&o, res.p ? res.p : "");
        bputs(&o, "},\n \"parsed\": {");
        bputs(&o, parsed.p ? parsed.p : "");
        bputs(&o, "}}\n");
        if (llava_write_text(json_out, o.p) != LLAVA_OK) return fprintf(stderr, "eval_sqa: %s\n", llava_last_error()), 1;
        free(o.p);
    }
    llava_strmap_free(&pc);
    free(key.p);
    for (i = 0; i < npred; i++) free(pid_of[i]), free(text_of[i]);
    free(pid_of), free(text_of), free(res.p), free(parsed.p), free(pr), free(ptext), free(stext);
    llava_json_free(&jp);
    llava_json_free(&js);
    return 0;
}
