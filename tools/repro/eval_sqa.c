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
         (no suffix). A small model states the fact and cannot look its letter up (docs/reproduction.md,
         "From a fact to a letter"); going through the options turns the lookup into steps it can take: a
         line copied from the prompt token for token, a comparison of two neighbouring texts, and the letter
         last marked. With --open the question without its options, answered by the solution.

     eval_sqa --data DIR [--split test] --prior TRAIN [--json OUT.json]
         scores a blind baseline the same way: it never sees the image, the question or the hint, and picks the
         choice that was most often right in TRAIN's problems (all of them) of the same category with the same
         set of choices, in any order; where TRAIN has no such problem, the choice most often right in the
         category; ties go to the first choice. What a model can score from the answer options alone. */
#define LLAVA_IMPLEMENTATION
#include "../../llava.h"
#include "../common.h"
#include "world.h" /* w_number_word, w_json */

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
/* the members of a JSON object, one a tally: "name": {"count", "correct", "acc"} */
static void tallies_json(LlavaBuf *o, const Tallies *ts) {
    int i;
    for (i = 0; i < ts->n; i++) {
        llava_buf_puts(o, i ? ", " : "");
        w_json(o, ts->t[i].name);
        llava_buf_printf(o, ": {\"count\": %d, \"correct\": %d, \"acc\": %.4f}", ts->t[i].count, ts->t[i].correct,
                         100.0 * ts->t[i].correct / ts->t[i].count);
    }
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
static void prior_key(LlavaBuf *k, const char *cat, const LlavaJson *j, const LlavaJsonNode *ch, int set, const char *answer) {
    const char *c[64];
    const LlavaJsonNode *x;
    int n = 0, i;
    w_buf_clear(k);
    llava_buf_puts(k, cat ? cat : "");
    llava_buf_puts(k, "\x1f");
    for (x = llava_json_first(j, ch); x && n < 64 && set; x = llava_json_next(j, x)) c[n++] = x->type == LLAVA_JSON_STR ? x->str : "";
    qsort(c, (size_t)n, sizeof *c, cmp_str);
    for (i = 0; i < n; i++) llava_buf_puts(k, i ? "\x1e" : ""), llava_buf_puts(k, c[i]);
    llava_buf_puts(k, "\x1f");
    llava_buf_puts(k, answer);
}
static const char *choice_text(const LlavaJson *j, const LlavaJsonNode *ch, int i) {
    const LlavaJsonNode *x = llava_json_first(j, ch);
    while (x && i-- > 0) x = llava_json_next(j, x);
    return x && x->type == LLAVA_JSON_STR ? x->str : NULL;
}

static const char usage[] =
    "usage: eval_sqa --data DIR [--split test] --prompts OUT.jsonl [--no-suffix]   (questions for a model runner)\n"
    "       eval_sqa --data DIR [--split train] --to-llava OUT.json [--explain | --check | --open]   (training data)\n"
    "       eval_sqa --data DIR [--split test] --predictions P.jsonl [--json OUT.json] [--options ABCDE]   (scores)\n"
    "       eval_sqa --data DIR [--split test] --open --prompts OUT.jsonl | --predictions P.jsonl [--json OUT.json]\n"
    "       eval_sqa --data DIR [--split test] --prior TRAIN [--json OUT.json]   (the blind baseline's scores)\n"
    "ScienceQA's evaluation as LLaVA does it, for ScienceQA's data/scienceqa and for instruct --mc's sets.\n"
    "  --data DIR          problems.json and pid_splits.json (required)\n"
    "  --split NAME        the split of pid_splits.json: test, val, train, minival, ... (default test)\n"
    "  --prompts FILE      write the split's questions, one {\"question_id\", \"image\", \"text\", \"category\"} a\n"
    "                      line, with LLaVA-1.5's prompt (context, question, lettered options, the suffix)\n"
    "  --no-suffix         without \"Answer with the option's letter from the given choices directly.\"\n"
    "  --to-llava FILE     write the split as training samples in LLaVA's format; the answer is the letter\n"
    "  --explain           with --to-llava: the solution, then \"The answer is X.\" (no suffix)\n"
    "  --check             with --to-llava: the solution, the options in order up to the right one, a line each\n"
    "                      (\"A. white, is it cyan? no.\"), then \"The answer is X.\" (no suffix)\n"
    "  --open              the questions without their options; answers scored by the choice they name first\n"
    "                      (with --to-llava: the question -> the solution)\n"
    "  --predictions FILE  score a model's answers, one {\"question_id\", \"text\"} a line (answer's output);\n"
    "                      the letter is read as llava/eval/eval_science_qa.py reads it\n"
    "  --prior TRAIN       score the blind baseline: the choice most often right in TRAIN's problems\n"
    "  --json FILE         with --predictions or --prior: the scores and each problem's parsed letter as JSON\n"
    "  --options LETTERS   the letters an answer may give, capital letters (default ABCDE)\n"
    "  --help, --version\n";

int main(int argc, char **argv) {
    const char *data = NULL, *split = "test", *prompts = NULL, *preds = NULL, *json_out = NULL, *options = "ABCDE", *to_llava = NULL, *prior = NULL;
    int no_suffix = 0, explain = 0, check = 0, open = 0, i;
    CliArgs cl = cli_begin(argc, argv, "eval_sqa", usage);
    while (cli_next(&cl)) {
        if (cli_flag(&cl, "--no-suffix", &no_suffix) || cli_flag(&cl, "--explain", &explain) || cli_flag(&cl, "--check", &check) ||
            cli_flag(&cl, "--open", &open) || cli_str(&cl, "--data", &data) || cli_str(&cl, "--split", &split) ||
            cli_str(&cl, "--prompts", &prompts) || cli_str(&cl, "--to-llava", &to_llava) || cli_str(&cl, "--predictions", &preds) ||
            cli_str(&cl, "--prior", &prior) || cli_str(&cl, "--json", &json_out) || cli_str(&cl, "--options", &options))
            continue;
        cli_unknown(&cl);
    }
    const int suffix = !(no_suffix || explain || check);
    for (i = 0; options[i]; i++)
        if (options[i] < 'A' || options[i] > 'Z' || strchr(options + i + 1, options[i])) break;
    if (options[i] || i < 2) cli_usage_error("--options: '%s' is not a set of two or more capital letters (such as ABCDE)", options);
    cli_require(data, "--data");
    if (to_llava && prompts) cli_usage_error("--prompts and --to-llava: one at a time");
    if (to_llava) prompts = to_llava;
    if (!!prompts + !!preds + !!prior != 1) cli_usage_error("one of --prompts, --to-llava, --predictions and --prior is needed");
    if (open && prior) cli_usage_error("--open goes with --prompts, --predictions or --to-llava");
    if ((explain || check) && (!to_llava || open)) cli_usage_error("--explain and --check go with --to-llava (without --open)");

    char path[1200];
    size_t n;
    LlavaJson jp, js;
    snprintf(path, sizeof path, "%s/problems.json", data);
    char *ptext = llava_read_file(path, (size_t)1 << 30, &n);
    if (!ptext || llava_json_parse(&jp, ptext, n, path) != LLAVA_OK) cli_die("%s", llava_last_error());
    snprintf(path, sizeof path, "%s/pid_splits.json", data);
    char *stext = llava_read_file(path, (size_t)1 << 30, &n);
    if (!stext || llava_json_parse(&js, stext, n, path) != LLAVA_OK) cli_die("%s", llava_last_error());
    const LlavaJsonNode *probs = &jp.nodes[0], *ids = llava_json_get(&js, &js.nodes[0], split), *id;
    if (probs->type != LLAVA_JSON_OBJ) cli_die("problems.json is not an object");
    if (!ids || ids->type != LLAVA_JSON_ARR) cli_die("pid_splits.json has no split \"%s\"", split);

    if (prompts) {
        LlavaBuf out = {0};
        int count = 0;
        for (id = llava_json_first(&js, ids); id; id = llava_json_next(&js, id)) {
            const LlavaJsonNode *p = id->type == LLAVA_JSON_STR ? llava_json_get(&jp, probs, id->str) : NULL, *ch, *c;
            if (!p) cli_die("split lists a problem that problems.json lacks");
            const char *hint = jstr(&jp, p, "hint"), *q = jstr(&jp, p, "question"), *img = jstr(&jp, p, "image"),
                       *psplit = jstr(&jp, p, "split"), *cat = jstr(&jp, p, "category");
            LlavaBuf t = {0};
            int k = 0;
            if (hint && hint[0]) llava_buf_puts(&t, "Context: "), llava_buf_puts(&t, hint), llava_buf_puts(&t, "\n");
            llava_buf_puts(&t, q ? q : "");
            ch = llava_json_get(&jp, p, "choices");
            for (c = open ? NULL : llava_json_first(&jp, ch); c; c = llava_json_next(&jp, c), k++) {
                char head[8];
                snprintf(head, sizeof head, "\n%c. ", 'A' + k);
                llava_buf_puts(&t, head);
                llava_buf_puts(&t, c->type == LLAVA_JSON_STR ? c->str : "");
            }
            if (suffix && !open) llava_buf_puts(&t, "\nAnswer with the option's letter from the given choices directly.");
            if (to_llava) {
                /* LLaVA's training format, as its ScienceQA conversion (LLaVA-1.5 style: the answer is the letter);
                   the synthetic set's images by their world image, real ones by their own path */
                const char *wi = jstr(&jp, p, "world_image");
                const LlavaJsonNode *an = llava_json_get(&jp, p, "answer");
                int nch = 0;
                for (c = llava_json_first(&jp, ch); c; c = llava_json_next(&jp, c)) nch++;
                if (!an || an->type != LLAVA_JSON_NUM || !(an->num >= 0 && an->num < nch && an->num < 26) || an->num != (int)an->num)
                    cli_die("--to-llava: problem %s: \"answer\" is not the index of one of its %d choices", id->str, nch);
                char ip[600], letter[2] = {(char)('A' + (int)an->num), 0};
                if (wi) snprintf(ip, sizeof ip, "%s.png", wi);
                else snprintf(ip, sizeof ip, "images/%s/%s/%s", psplit ? psplit : split, id->str, img ? img : "image.png");
                llava_buf_puts(&out, count ? ",\n" : "[\n");
                llava_buf_puts(&out, "{\"id\": ");
                char sid[96];
                snprintf(sid, sizeof sid, "mc-%s", id->str);
                w_json(&out, sid);
                if (img && img[0]) llava_buf_puts(&out, ", \"image\": "), w_json(&out, ip);
                LlavaBuf h = {0};
                if (img && img[0]) llava_buf_puts(&h, "<image>\n");
                llava_buf_puts(&h, t.p ? t.p : "");
                llava_buf_puts(&out, ", \"conversations\": [{\"from\": \"human\", \"value\": ");
                w_json(&out, h.p);
                llava_buf_puts(&out, "}, {\"from\": \"gpt\", \"value\": ");
                const char *sol = jstr(&jp, p, "solution");
                if (open) { /* the question without its options: the solution is the answer */
                    if (!sol || !sol[0]) cli_die("--open --to-llava: problem %s has no solution to answer with", id->str);
                    w_json(&out, sol);
                } else if (explain || check) {
                    /* the explanation first, then the answer (LLaVA's "EA" output format); with --check the
                       options are gone through in order up to the right one, each on a line of its own as
                       in the prompt (the same tokens, so that copying it is a plain repeat), each followed
                       by the right option's text (so that the yes or no compares two neighbours), and the
                       letter given last is the one just marked */
                    LlavaBuf e = {0};
                    if (sol && sol[0]) llava_buf_puts(&e, sol), llava_buf_puts(&e, check ? "\n" : " ");
                    if (check) {
                        const char *right = choice_text(&jp, ch, letter[0] - 'A');
                        llava_buf_puts(&e, "Checking each option:\n");
                        for (c = llava_json_first(&jp, ch), k = 0; c && 'A' + k <= letter[0]; c = llava_json_next(&jp, c), k++) {
                            char head[8];
                            snprintf(head, sizeof head, "%c. ", 'A' + k);
                            llava_buf_puts(&e, head), llava_buf_puts(&e, c->type == LLAVA_JSON_STR ? c->str : "");
                            llava_buf_puts(&e, ", is it "), llava_buf_puts(&e, right ? right : ""), llava_buf_puts(&e, "? ");
                            llava_buf_puts(&e, 'A' + k == letter[0] ? "yes.\n" : "no.\n");
                        }
                    }
                    llava_buf_puts(&e, "The answer is "), llava_buf_puts(&e, letter), llava_buf_puts(&e, ".");
                    w_json(&out, e.p);
                    llava_buf_free(&e);
                } else
                    w_json(&out, letter);
                llava_buf_puts(&out, "}]}");
                llava_buf_free(&h), llava_buf_free(&t);
                count++;
                continue;
            }
            llava_buf_puts(&out, "{\"question_id\": ");
            w_json(&out, id->str);
            if (img && img[0]) {
                char ip[600];
                snprintf(ip, sizeof ip, "images/%s/%s/%s", psplit ? psplit : split, id->str, img);
                llava_buf_puts(&out, ", \"image\": ");
                w_json(&out, ip);
            }
            llava_buf_puts(&out, ", \"text\": ");
            w_json(&out, t.p ? t.p : "");
            if (cat) llava_buf_puts(&out, ", \"category\": "), w_json(&out, cat);
            llava_buf_puts(&out, "}\n");
            llava_buf_free(&t);
            count++;
        }
        if (to_llava) llava_buf_puts(&out, count ? "\n]\n" : "[]\n");
        if (out.oom) cli_die("out of memory");
        if (llava_write_text(prompts, out.p ? out.p : "") != LLAVA_OK) cli_die("%s", llava_last_error());
        if (to_llava) /* the synthetic set names its world's images, ScienceQA's own are under DIR */
            printf("eval_sqa: %d samples (%s split) in %s; images relative to the world's images/ (synthetic set) or %s\n", count, split, prompts, data);
        else
            printf("eval_sqa: %d prompts (%s split) in %s; images relative to %s\n", count, split, prompts, data);
        llava_buf_free(&out), free(ptext), free(stext);
        llava_json_free(&jp);
        llava_json_free(&js);
        return 0;
    }

    /* the blind baseline: TRAIN's answers counted by category and choice set, and by category */
    LlavaStrMap pc;
    LlavaBuf key = {0};
    memset(&pc, 0, sizeof pc);
    if (prior) {
        LlavaJson jt;
        snprintf(path, sizeof path, "%s/problems.json", prior);
        char *tt = llava_read_file(path, (size_t)1 << 30, &n);
        if (!tt || llava_json_parse(&jt, tt, n, path) != LLAVA_OK) cli_die("%s", llava_last_error());
        const LlavaJsonNode *p;
        int used = 0;
        for (p = jt.nodes[0].type == LLAVA_JSON_OBJ ? llava_json_first(&jt, &jt.nodes[0]) : NULL; p; p = llava_json_next(&jt, p)) {
            const LlavaJsonNode *ch = llava_json_get(&jt, p, "choices"), *an = llava_json_get(&jt, p, "answer");
            const char *at = an && an->type == LLAVA_JSON_NUM ? choice_text(&jt, ch, (int)an->num) : NULL;
            int set;
            if (!at) continue;
            for (set = 0; set < 2; set++) {
                prior_key(&key, jstr(&jt, p, "category"), &jt, ch, set, at);
                if (llava_strmap_count(&pc, key.p, key.n) < 0) cli_die("out of memory");
            }
            used++;
        }
        llava_json_free(&jt);
        free(tt);
        if (!used) cli_die("%s has no problem with an answer", path);
        printf("eval_sqa: blind baseline from the answers of %d problems in %s\n", used, path);
    }

    /* predictions: one JSON object a line */
    char *pr = preds ? llava_read_file(preds, (size_t)1 << 30, &n) : NULL;
    if (preds && !pr) cli_die("%s", llava_last_error());
    int npred = 0, cap = 1024;
    char **pid_of = (char **)cli_xmalloc(sizeof(char *) * (size_t)cap), **text_of = (char **)cli_xmalloc(sizeof(char *) * (size_t)cap);
    char *cursor = pr, *s, blind[2] = {0, 0};
    int lineno = 0;
    while ((s = cli_next_line(&cursor, &lineno))) {
        LlavaJson jl;
        if (llava_json_parse(&jl, s, strlen(s), preds) != LLAVA_OK) cli_die("line %d: %s", lineno, llava_last_error());
        const LlavaJsonNode *q = llava_json_get(&jl, &jl.nodes[0], "question_id"), *t = llava_json_get(&jl, &jl.nodes[0], "text");
        if (q && t && t->type == LLAVA_JSON_STR && (q->type == LLAVA_JSON_STR || q->type == LLAVA_JSON_NUM)) {
            char num[32];
            if (npred == cap) {
                cap *= 2;
                pid_of = (char **)cli_xrealloc(pid_of, sizeof(char *) * (size_t)cap);
                text_of = (char **)cli_xrealloc(text_of, sizeof(char *) * (size_t)cap);
            }
            if (q->type == LLAVA_JSON_NUM) snprintf(num, sizeof num, "%.0f", q->num);
            const char *qs = q->type == LLAVA_JSON_STR ? q->str : num;
            pid_of[npred] = cli_xstrdup(qs);
            text_of[npred] = cli_xstrdup(t->str);
            npred++;
        }
        llava_json_free(&jl);
    }

    Tallies cats = {{{{0}, 0, 0}}, 0}, groups = {{{{0}, 0, 0}}, 0};
    LlavaBuf res = {0}, parsed = {0};
    int total = 0, correct = 0, failed = 0, missing = 0;
    double chance = 0;
    for (id = llava_json_first(&js, ids); id; id = llava_json_next(&js, id)) {
        const LlavaJsonNode *p = id->type == LLAVA_JSON_STR ? llava_json_get(&jp, probs, id->str) : NULL;
        if (!p) cli_die("split lists a problem that problems.json lacks");
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
        llava_buf_puts(&res, res.n ? ", " : "");
        w_json(&res, id->str);
        snprintf(e, sizeof e, ": %d", idx);
        llava_buf_puts(&res, e);
        llava_buf_puts(&parsed, parsed.n ? ", " : "");
        w_json(&parsed, id->str);
        snprintf(e, sizeof e, ": \"%s%s\"", letter ? (char[2]){letter, 0} : "", letter ? "" : "FAILED");
        llava_buf_puts(&parsed, e);
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
        LlavaBuf o = {0};
        char e[256];
        snprintf(e, sizeof e, "{\"split\": \"%s\", \"count\": %d, \"correct\": %d, \"acc\": %.4f, \"failed\": %d, \"missing\": %d, \"chance\": %.4f,\n \"categories\": {",
                 split, total, correct, acc, failed, missing, total ? 100.0 * chance / total : 0);
        llava_buf_puts(&o, e);
        tallies_json(&o, &cats);
        llava_buf_puts(&o, "},\n \"groups\": {");
        tallies_json(&o, &groups);
        llava_buf_puts(&o, "},\n \"results\": {");
        llava_buf_puts(&o, res.p ? res.p : "");
        llava_buf_puts(&o, "},\n \"parsed\": {");
        llava_buf_puts(&o, parsed.p ? parsed.p : "");
        llava_buf_puts(&o, "}}\n");
        if (o.oom || res.oom || parsed.oom) cli_die("out of memory");
        if (llava_write_text(json_out, o.p) != LLAVA_OK) cli_die("%s", llava_last_error());
        llava_buf_free(&o);
    }
    llava_strmap_free(&pc);
    llava_buf_free(&key);
    for (i = 0; i < npred; i++) free(pid_of[i]), free(text_of[i]);
    free(pid_of), free(text_of), llava_buf_free(&res), llava_buf_free(&parsed), free(pr), free(ptext), free(stext);
    llava_json_free(&jp);
    llava_json_free(&js);
    return 0;
}
