/* answer: the model runner of the evaluations. It answers a file of questions with a LLaVA model, one
   greedy answer each, as LLaVA's llava/eval/model_vqa.py and model_vqa_science.py do.

     answer --model DIR --questions Q.jsonl --out A.jsonl [--images DIR] [--template vicuna_v1]
            [--max-tokens 128] [--temp 0] [--seed S] [--ctx N] [--model-id NAME] [--jobs N]

   Q.jsonl: one {"question_id", "image", "text", ...} a line, as `eval_sqa --prompts` and
   `instruct --bench` write them ("image" relative to --images, default the directory of Q.jsonl; a
   question without "image" is asked without one). Each question becomes a one-turn conversation,
   "<image>\n" + text as the user turn (the image first, as model_vqa_science.py puts it), rendered with
   the template and ending with the assistant's tag. The answer is decoded without special tokens and
   stripped of surrounding white space.

   A.jsonl: {"question_id", "prompt", "text", "model_id", "category"} a line (model_vqa.py's answer
   format; "category" copied when the question has one). The file is appended to and flushed after
   every answer: a run that stops (or is stopped) continues where it was with the same command, skipping
   the ids already answered. A question that cannot be answered (missing image, prompt longer than the
   context) is reported on stderr and skipped, and the exit status is then 1, so that a rerun retries
   exactly those.

   --jobs N answers N questions at once, each on one thread with a context of its own (by default one
   per OpenMP thread, unless their key-value caches would take more than 1 GiB together). A small
   model's kernels are too short to share between threads, so this is faster than one question at a time
   on all of them; the answers, and their order in A.jsonl, are the same. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../../llava.h"
#include "../common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: answer --model DIR --questions Q.jsonl --out A.jsonl [options]\n"
    "  answers each question with the model: one greedy (or sampled) answer a question, appended to A.jsonl\n"
    "  --model DIR        LLaVA model directory (config.json, safetensors, tokenizer.json) (required)\n"
    "  --questions FILE   one {\"question_id\", \"image\", \"text\"} a line (eval_sqa --prompts, instruct --bench) (required)\n"
    "  --out FILE         answers, one {\"question_id\", \"prompt\", \"text\", \"model_id\"} a line (required); appended\n"
    "                     to: ids already answered there are skipped (resume)\n"
    "  --images DIR       where the questions' image paths are relative to (default: the questions' directory)\n"
    "  --template NAME    vicuna_v1, llava_v1, llava_hf or plain (default vicuna_v1)\n"
    "  --max-tokens N     longest answer in tokens, 1 to 1000000 (default 128)\n"
    "  --temp T           sampling temperature, 0 to 100; 0 = greedy (default 0)\n"
    "  --seed S           sampling seed when --temp > 0 (default 1234)\n"
    "  --ctx N            context size in positions, at most the model's (default: the model's, at most 4096)\n"
    "  --model-id NAME    \"model_id\" of the answers (default: the model directory's name)\n"
    "  --jobs N           questions answered at once, each on one thread, 1 to 1024 (default: one per thread,\n"
    "                     while their key-value caches take at most 1 GiB together; 1: one at a time on all threads)\n"
    "  --quiet            no progress lines\n"
    "  --help, --version\n";

/* question_id as text (ids are strings in ScienceQA's files, numbers in LLaVA-Bench's); NULL if absent */
static const char *id_text(const LlavaJsonNode *q, char *num, size_t cap) {
    if (q && q->type == LLAVA_JSON_STR) return q->str;
    if (q && q->type == LLAVA_JSON_NUM) {
        snprintf(num, cap, "%.17g", q->num);
        return num;
    }
    return NULL;
}

/* the ids already answered: a set, llava.h's string map with the values unused */
static int id_done(const LlavaStrMap *done, const char *id) { return llava_strmap_get(done, id, strlen(id)) >= 0; }
static int id_add(LlavaStrMap *done, const char *id) { return llava_strmap_put(done, id, strlen(id), 0) < 0 ? -1 : 0; }

/* Reads the answers written so far into `done`. A run killed mid-write can leave a last line cut short:
   then the file is rewritten with its complete lines only, so that appending starts on a fresh line. */
static int read_done(const char *path, LlavaStrMap *done) {
    size_t n;
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0; /* nothing answered yet */
    fclose(fp);
    char *text = llava_read_file(path, (size_t)1 << 30, &n), *line = text;
    if (!text) return cli_note("%s", llava_last_error()), -1;
    LlavaBuf keep = {0};
    int bad = 0;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        LlavaJson j;
        int ok = 0;
        if (len && llava_json_parse(&j, line, len, path) == LLAVA_OK) {
            char num[64];
            const char *id = id_text(llava_json_get(&j, &j.nodes[0], "question_id"), num, sizeof num);
            const LlavaJsonNode *t = llava_json_get(&j, &j.nodes[0], "text");
            if (id && t && t->type == LLAVA_JSON_STR && nl) { /* complete lines only */
                ok = 1;
                llava_buf_put(&keep, line, len + 1);
                if (id_add(done, id) || keep.oom) {
                    llava_json_free(&j);
                    free(text), llava_buf_free(&keep);
                    return cli_note("out of memory"), -1;
                }
            }
            llava_json_free(&j);
        }
        bad += !ok && len > 0;
        line = nl ? nl + 1 : NULL;
    }
    if (bad) {
        cli_note("%s: dropping %d incomplete or unreadable line%s of an earlier run", path, bad, bad == 1 ? "" : "s");
        if (llava_write_text(path, keep.p ? keep.p : "") != LLAVA_OK) {
            cli_note("%s", llava_last_error());
            free(text), llava_buf_free(&keep);
            return -1;
        }
    }
    free(text), llava_buf_free(&keep);
    return 0;
}

#ifdef _OPENMP
#include <omp.h>
static int answer_threads(void) { return omp_get_max_threads(); }
static int answer_thread(void) { return omp_get_thread_num(); }
static void answer_nest_off(void) { omp_set_max_active_levels(1); }
#else
static int answer_threads(void) { return 1; }
static int answer_thread(void) { return 0; }
static void answer_nest_off(void) {}
#endif

/* --- answering: what all workers read, one worker's buffers, a question's outcome --------------------- */
typedef struct {
    LlavaModel *m;
    const LlavaConfig *cfg;
    LlavaTokenizer *tok;
    const char *qpath, *images, *model_id;
    char **lines;
    const int *linenos;
    const char *pre_done; /* [question]: answered in an earlier run */
    int tpl, image_id, image_repeat, n_ctx, max_tokens;
    const LlavaSampling *sp;
    int V, V_tok, eos[LLAVA_MAX_EOS + 1], n_eos;
} Job;

typedef struct {
    LlavaContext *c;
    float *pixels, *masked; /* [3*S*S], [V] */
    int *ids, ids_cap, *gen;
} Worker;

typedef struct {
    int status; /* 1 answered, 0 answered in an earlier run, -1 failed (reported on stderr) */
    int ready, n_gen;
    char *id;
    LlavaBuf line; /* the answer's JSON line */
} Result;

/* 0, -1 when the context cannot be made (llava_last_error() says why), -2 when out of memory */
static int worker_init(Worker *w, const Job *jb) {
    const size_t S = (size_t)jb->cfg->vision_image_size;
    memset(w, 0, sizeof *w);
    w->ids_cap = jb->n_ctx + jb->image_repeat + 64;
    w->c = llava_context_new(jb->m, jb->n_ctx);
    if (!w->c) return -1; /* llava_last_error() says why */
    w->pixels = (float *)malloc(3 * S * S * sizeof(float));
    w->masked = (float *)malloc(sizeof(float) * (size_t)jb->V);
    w->ids = (int *)malloc(sizeof(int) * (size_t)w->ids_cap);
    w->gen = (int *)malloc(sizeof(int) * (size_t)(jb->max_tokens + 1));
    return w->pixels && w->masked && w->ids && w->gen ? 0 : -2;
}
static void worker_free(Worker *w) {
    llava_context_free(w->c);
    free(w->pixels), free(w->masked), free(w->ids), free(w->gen);
}

/* llava_generate's loop (prompt, then sample and step until EOS or max_new), over logits restricted to
   the ids the tokenizer can spell: a model's vocabulary is often padded past the tokenizer's (as
   LLaVA's 32064 rows for a 32000-token tokenizer), and an untrained row or the image placeholder must
   not be chosen. EOS is the config's or the tokenizer's; it ends the answer and is kept in out. */
static int generate(const Job *jb, Worker *w, int n_ids, const float *pixels, int n_images, int max_new, int *n_out) {
    LlavaSampler s;
    int i, k, rc = LLAVA_OK;
    *n_out = 0;
    llava_context_reset(w->c);
    if (llava_eval(w->c, w->ids, n_ids, pixels, n_images, NULL) < 0) return LLAVA_ERR;
    llava_sampler_init(&s, jb->sp); /* the same seed for every question: an answer does not depend on the order */
    const float *logits = llava_logits(w->c);
    for (i = 0; i < max_new && logits; i++) {
        memcpy(w->masked, logits, sizeof(float) * (size_t)jb->V);
        for (k = jb->V_tok; k < jb->V; k++) w->masked[k] = -INFINITY;
        if (jb->cfg->image_token_id >= 0 && jb->cfg->image_token_id < jb->V) w->masked[jb->cfg->image_token_id] = -INFINITY;
        int tok = llava_sample(&s, w->masked, jb->V), eos = 0;
        if (tok < 0) {
            rc = LLAVA_ERR;
            break;
        }
        w->gen[(*n_out)++] = tok;
        for (k = 0; k < jb->n_eos; k++) eos |= tok == jb->eos[k];
        if (eos || i + 1 == max_new) break;
        if (!(logits = llava_step(w->c, tok))) rc = LLAVA_ERR;
    }
    llava_sampler_free(&s);
    return rc;
}

/* Question q on worker w: its JSON line into r (status 1), or a message on stderr (status -1). Workers
   run side by side: each message is one fprintf, so that two workers' lines do not mix. */
static void answer_one(const Job *jb, Worker *w, int q, Result *r) {
    LlavaJson j;
    char num[64], where[96];
    memset(r, 0, sizeof *r);
    if (jb->pre_done[q]) return; /* status 0 */
    r->status = -1;
    snprintf(where, sizeof where, "%s line %d", jb->qpath, jb->linenos[q]);
    if (llava_json_parse(&j, jb->lines[q], strlen(jb->lines[q]), where) != LLAVA_OK) {
        fprintf(stderr, "answer: %s\n", llava_last_error());
        return;
    }
    const LlavaJsonNode *root = &j.nodes[0], *qid = llava_json_get(&j, root, "question_id"), *img = llava_json_get(&j, root, "image"),
                       *txt = llava_json_get(&j, root, "text"), *cat = llava_json_get(&j, root, "category");
    const char *id = id_text(qid, num, sizeof num);
    if (!id || !txt || txt->type != LLAVA_JSON_STR || (img && img->type != LLAVA_JSON_STR && img->type != LLAVA_JSON_NULL)) {
        fprintf(stderr, "answer: %s: needs \"question_id\" (string or number), \"text\" (string) and optionally \"image\" (string)\n", where);
        llava_json_free(&j);
        return;
    }
    const int has_image = img && img->type == LLAVA_JSON_STR && img->str[0];
    int rc = 0, n_ids = 0, n_gen = 0;
    char *user = NULL, *answer = NULL;
    if (has_image) { /* the image, relative to --images (an absolute path stays as it is) */
        size_t pl = strlen(jb->images) + strlen(img->str) + 2;
        char *ipath = (char *)malloc(pl);
        LlavaImage im;
        memset(&im, 0, sizeof im);
        if (!ipath) {
            fprintf(stderr, "answer: question %s: out of memory\n", id);
            rc = -1;
        } else {
            if (img->str[0] == '/') snprintf(ipath, pl, "%s", img->str);
            else snprintf(ipath, pl, "%s/%s", jb->images, img->str);
            if (llava_image_load(&im, ipath) != LLAVA_OK || llava_preprocess(jb->cfg, &im, LLAVA_PRE_DEFAULT, w->pixels) != LLAVA_OK) {
                fprintf(stderr, "answer: question %s: %s\n", id, llava_last_error());
                rc = -1;
            }
            llava_image_free(&im);
        }
        free(ipath);
    }
    if (!rc) { /* "<image>\n" + text as the one user turn (unless the text places the image itself) */
        size_t tl = strlen(txt->str) + 16;
        user = (char *)malloc(tl);
        if (user) {
            snprintf(user, tl, "%s%s", has_image && !strstr(txt->str, "<image>") ? "<image>\n" : "", txt->str);
            LlavaMessage msg = {"user", user};
            /* counted first: a prompt too long for the context is reported as such below */
            n_ids = llava_template_tokenize(jb->tok, (LlavaTemplate)jb->tpl, &msg, 1, 1, jb->image_id, jb->image_repeat, id, NULL, NULL, 0);
            if (n_ids > w->ids_cap) {
                int *nids = (int *)realloc(w->ids, sizeof(int) * (size_t)n_ids);
                if (nids) w->ids = nids, w->ids_cap = n_ids;
            }
            if (n_ids >= 0 && n_ids <= w->ids_cap)
                n_ids = llava_template_tokenize(jb->tok, (LlavaTemplate)jb->tpl, &msg, 1, 1, jb->image_id, jb->image_repeat, id, w->ids, NULL,
                                                w->ids_cap);
        }
        if (!user || n_ids < 0) {
            fprintf(stderr, "answer: question %s: %s\n", id, user ? llava_last_error() : "out of memory");
            rc = -1;
        }
    }
    if (!rc) { /* the answer gets what the context has left after the prompt, at most --max-tokens */
        int positions = llava_expanded_length(jb->m, w->ids, n_ids), room = jb->n_ctx - positions;
        if (positions < 0 || room < 1) {
            if (positions < 0) fprintf(stderr, "answer: question %s: %s\n", id, llava_last_error());
            else
                fprintf(stderr, "answer: question %s: the prompt takes %d positions and does not fit a context of %d (raise --ctx, if the model allows)\n",
                        id, positions, jb->n_ctx);
            rc = -1;
        } else if (generate(jb, w, n_ids, has_image ? w->pixels : NULL, has_image ? 1 : 0, room < jb->max_tokens ? room : jb->max_tokens, &n_gen) !=
                   LLAVA_OK) {
            fprintf(stderr, "answer: question %s: %s\n", id, llava_last_error());
            rc = -1;
        }
    }
    if (!rc) {
        long len = llava_detokenize(jb->tok, w->gen, n_gen, 1, NULL, 0);
        answer = len >= 0 ? (char *)malloc((size_t)len + 1) : NULL;
        if (!answer) {
            fprintf(stderr, "answer: question %s: %s\n", id, len < 0 ? llava_last_error() : "out of memory");
            rc = -1;
        } else {
            llava_detokenize(jb->tok, w->gen, n_gen, 1, answer, (size_t)len + 1);
            char *a = answer, *e = answer + strlen(answer);
            while (*a == ' ' || *a == '\n' || *a == '\t' || *a == '\r') a++;
            while (e > a && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r')) e--;
            *e = 0;
            memmove(answer, a, (size_t)(e - a) + 1);
        }
    }
    if (!rc) { /* the line as it will be written */
        LlavaBuf *o = &r->line;
        llava_buf_puts(o, "{\"question_id\": ");
        if (qid->type == LLAVA_JSON_NUM) llava_buf_puts(o, num);
        else llava_buf_json_string(o, id, strlen(id));
        llava_buf_puts(o, ", \"prompt\": ");
        llava_buf_json_string(o, txt->str, strlen(txt->str));
        llava_buf_puts(o, ", \"text\": ");
        llava_buf_json_string(o, answer, strlen(answer));
        llava_buf_puts(o, ", \"model_id\": ");
        llava_buf_json_string(o, jb->model_id, strlen(jb->model_id));
        if (cat && cat->type == LLAVA_JSON_STR) {
            llava_buf_puts(o, ", \"category\": ");
            llava_buf_json_string(o, cat->str, strlen(cat->str));
        }
        llava_buf_puts(o, "}\n");
        r->id = strdup(id);
        if (o->oom || !r->id) {
            cli_note("question %s: out of memory", id);
            llava_buf_free(&r->line), free(r->id);
            memset(&r->line, 0, sizeof r->line), r->id = NULL;
        } else {
            r->status = 1, r->n_gen = n_gen;
        }
    }
    free(user), free(answer);
    llava_json_free(&j);
}

/* The answers in the order of the questions: each outcome waits in res until those before it are in. */
typedef struct {
    FILE *out;
    const char *out_path;
    LlavaStrMap *done;
    Result *res;
    int nq, todo, next, answered, failed, skipped, stop;
    long gen_tokens;
    double t_start;
    CliProgress prog;
} Commit;

static void commit(Commit *cm, int q, const Result *r) {
    cm->res[q] = *r;
    cm->res[q].ready = 1;
    while (cm->next < cm->nq && cm->res[cm->next].ready) {
        Result *x = &cm->res[cm->next++];
        if (x->status == 0) {
            cm->skipped++;
        } else if (x->status < 0) {
            cm->failed++;
        } else if (cm->stop) { /* after a failed write nothing more is written */
        } else if (id_done(cm->done, x->id)) { /* a repeated id is answered once */
            cm->skipped++;
        } else if (fwrite(x->line.p, 1, x->line.n, cm->out) != x->line.n || fflush(cm->out) != 0) {
            /* one line, flushed: what is on disk is always whole answers (resume relies on it) */
            cli_note("%s: write failed", cm->out_path);
            cm->failed++;
            cm->stop = 1; /* a full disk will not get better with the next question */
        } else {
            id_add(cm->done, x->id);
            cm->answered++;
            cm->gen_tokens += x->n_gen;
        }
        llava_buf_free(&x->line), free(x->id);
        memset(&x->line, 0, sizeof x->line), x->id = NULL;
        if (x->status != 0) {
            char info[80];
            const double el = cli_now() - cm->t_start;
            snprintf(info, sizeof info, "%d failed, %.1f tokens/s", cm->failed, el > 0 ? (double)cm->gen_tokens / el : 0.0);
            cli_progress(&cm->prog, cm->answered + cm->failed, info);
        }
    }
}

int main(int argc, char **argv) {
    const char *model_dir = NULL, *qpath = NULL, *images = NULL, *out_path = NULL, *tpl_name = "vicuna_v1", *model_id = NULL;
    int max_tokens = 128, n_ctx = 0, quiet = 0, jobs_opt = 0, i;
    LlavaSampling sp;
    memset(&sp, 0, sizeof sp);
    sp.temperature = 0.0f;
    sp.top_p = 1.0f;
    sp.seed = 1234;
    CliArgs a = cli_begin(argc, argv, "answer", usage);
    while (cli_next(&a)) {
        if (cli_str(&a, "--model", &model_dir) || cli_str(&a, "--questions", &qpath) || cli_str(&a, "--images", &images) ||
            cli_str(&a, "--out", &out_path) || cli_str(&a, "--template", &tpl_name) || cli_int(&a, "--max-tokens", &max_tokens, 1, 1000000) ||
            cli_float(&a, "--temp", &sp.temperature, 0, 100) || cli_u64(&a, "--seed", &sp.seed) || cli_int(&a, "--ctx", &n_ctx, 1, 1 << 20) ||
            cli_str(&a, "--model-id", &model_id) || cli_int(&a, "--jobs", &jobs_opt, 1, 1024) || cli_flag(&a, "--quiet", &quiet))
            continue;
        cli_unknown(&a);
    }
    const int tpl = llava_template_from_name(tpl_name);
    if (tpl < 0) cli_usage_error("--template: unknown template '%s' (vicuna_v1, llava_v1, llava_hf or plain)", tpl_name);
    cli_require(model_dir, "--model");
    cli_require(qpath, "--questions");
    cli_require(out_path, "--out");
    /* the questions first: a wrong path is reported before the model takes time to load */
    size_t qlen;
    char *qtext = llava_read_file(qpath, (size_t)1 << 30, &qlen);
    if (!qtext) cli_die("questions: %s", llava_last_error());
    char *qdir = NULL;
    if (!images) { /* the questions' directory */
        const char *slash = strrchr(qpath, '/');
        qdir = slash ? strndup(qpath, (size_t)(slash - qpath) + (slash == qpath)) : strdup(".");
        images = qdir;
    }
    if (!model_id) { /* the model directory's last component */
        size_t l = strlen(model_dir);
        while (l > 1 && model_dir[l - 1] == '/') l--;
        size_t s = l;
        while (s > 0 && model_dir[s - 1] != '/') s--;
        static char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(l - s), model_dir + s);
        model_id = name;
    }
    LlavaStrMap done;
    memset(&done, 0, sizeof done);
    if (read_done(out_path, &done)) return free(qtext), free(qdir), 1;

    /* split the questions into lines; count what is left to do */
    int nq = 0, cap = 256, todo = 0, lineno = 0;
    char **lines = (char **)cli_xmalloc(sizeof(char *) * (size_t)cap);
    int *linenos = (int *)cli_xmalloc(sizeof(int) * (size_t)cap);
    char *cursor = qtext, *s;
    while ((s = cli_next_line(&cursor, &lineno))) {
        if (nq == cap) {
            cap *= 2;
            lines = (char **)cli_xrealloc(lines, sizeof(char *) * (size_t)cap);
            linenos = (int *)cli_xrealloc(linenos, sizeof(int) * (size_t)cap);
        }
        lines[nq] = s;
        linenos[nq++] = lineno;
    }
    if (nq == 0) {
        cli_note("%s: no questions", qpath);
        free(qtext), free(qdir), free(lines), free(linenos), llava_strmap_free(&done);
        return 1;
    }

    double t0 = cli_now();
    LlavaModel *m = llava_model_load(model_dir);
    LlavaTokenizer *tok = m ? llava_tokenizer_load(model_dir) : NULL;
    if (!m || !tok) {
        cli_note("%s", llava_last_error());
        llava_model_free(m);
        free(qtext), free(qdir), free(lines), free(linenos), llava_strmap_free(&done);
        return 1;
    }
    const LlavaConfig *cfg = llava_model_config(m);
    if (llava_tokenizer_vocab_size(tok) > cfg->text_vocab)
        cli_note("warning: the tokenizer has %d ids but the model only %d", llava_tokenizer_vocab_size(tok), cfg->text_vocab);
    /* the image placeholders as training made them (train_example.c): one per feature row for llava-hf
       models, one LLAVA_IMAGE_INDEX that the model expands for the original layout */
    const int image_id = cfg->image_token_expands ? LLAVA_IMAGE_INDEX : cfg->image_token_id;
    const int image_repeat = cfg->image_token_expands ? 1 : llava_image_tokens(m);
    if (n_ctx <= 0) n_ctx = cfg->text_max_pos > 0 ? (cfg->text_max_pos < 4096 ? cfg->text_max_pos : 4096) : 2048;
    if (cfg->text_max_pos > 0 && n_ctx > cfg->text_max_pos) { /* positions past the model's would be garbage */
        cli_note("--ctx %d is more than the model's %d positions: %d", n_ctx, cfg->text_max_pos, cfg->text_max_pos);
        n_ctx = cfg->text_max_pos;
    }
    char *pre_done = (char *)calloc((size_t)nq, 1); /* answered in an earlier run */
    if (!pre_done) {
        cli_note("out of memory");
        llava_tokenizer_free(tok), llava_model_free(m);
        free(qtext), free(qdir), free(lines), free(linenos), llava_strmap_free(&done);
        return 1;
    }
    for (i = 0; i < nq; i++) { /* what is left (ids are read again below; an unreadable line counts as left) */
        LlavaJson j;
        char num[64];
        if (llava_json_parse(&j, lines[i], strlen(lines[i]), qpath) != LLAVA_OK) {
            todo++;
            continue;
        }
        const char *id = id_text(llava_json_get(&j, &j.nodes[0], "question_id"), num, sizeof num);
        pre_done[i] = id && id_done(&done, id);
        todo += !pre_done[i];
        llava_json_free(&j);
    }

    /* Workers answer questions side by side, each with its own context and buffers (the kernels inside a
       worker then run on its thread, one question per thread); the answers are written in the order of
       the questions all the same, and are the same as one at a time with all threads. */
    int jobs = jobs_opt;
    if (jobs <= 0) { /* one per thread, while the key-value caches take at most 1 GiB together */
        const double kv = 8.0 * n_ctx * cfg->text_layers * cfg->text_kv_heads * cfg->text_head_dim;
        jobs = answer_threads();
        while (jobs > 1 && jobs * kv > 1024.0 * 1024 * 1024) jobs--;
    }
    if (jobs > todo) jobs = todo > 0 ? todo : 1;
    Job jb;
    memset(&jb, 0, sizeof jb);
    jb.m = m, jb.cfg = cfg, jb.tok = tok, jb.qpath = qpath, jb.images = images, jb.model_id = model_id, jb.lines = lines;
    jb.linenos = linenos;
    jb.pre_done = pre_done, jb.tpl = tpl, jb.image_id = image_id, jb.image_repeat = image_repeat, jb.n_ctx = n_ctx;
    jb.max_tokens = max_tokens, jb.sp = &sp, jb.V = cfg->text_vocab;
    jb.V_tok = llava_tokenizer_vocab_size(tok) < jb.V ? llava_tokenizer_vocab_size(tok) : jb.V;
    for (i = 0; i < cfg->n_eos; i++) jb.eos[jb.n_eos++] = cfg->eos_ids[i];
    if (llava_tokenizer_eos(tok) >= 0) jb.eos[jb.n_eos++] = llava_tokenizer_eos(tok);
    Worker *ws = (Worker *)calloc((size_t)jobs, sizeof(Worker));
    Result *res = (Result *)calloc((size_t)nq, sizeof(Result));
    int ready = ws && res;
    int why = 0;
    for (i = 0; ready && i < jobs; i++) ready = (why = worker_init(&ws[i], &jb)) == 0;
    FILE *out = ready ? fopen(out_path, "ab") : NULL;
    if (!out) {
        if (!ws || !res || why == -2) cli_note("out of memory");
        else if (!ready) cli_note("%s", llava_last_error());
        else cli_note("%s: cannot open for appending (%s)", out_path, strerror(errno));
        for (i = 0; ws && i < jobs; i++) worker_free(&ws[i]);
        free(ws), free(res), llava_tokenizer_free(tok), llava_model_free(m);
        free(qtext), free(qdir), free(lines), free(linenos), free(pre_done), llava_strmap_free(&done);
        return 1;
    }
    if (!quiet)
        cli_note("%d questions, %d already answered in %s, %d to go, %d at a time; model %s loaded in %.1f s", nq, nq - todo,
                out_path, todo, jobs, model_dir, cli_now() - t0);
    Commit cm;
    memset(&cm, 0, sizeof cm);
    cm.out = out, cm.out_path = out_path, cm.done = &done, cm.res = res, cm.nq = nq, cm.todo = todo;
    cm.t_start = cli_now();
    cli_progress_begin(&cm.prog, "answer: questions", todo, quiet);
    if (jobs > 1) answer_nest_off();
    int next = 0;
    CLI_OMP(omp parallel num_threads(jobs))
    {
        Worker *w = &ws[answer_thread()];
        for (;;) {
            int q, stop;
            CLI_OMP(omp critical(answer_take))
            {
                q = next++;
                stop = cm.stop;
            }
            if (q >= nq || stop) break;
            Result r;
            answer_one(&jb, w, q, &r);
            CLI_OMP(omp critical(answer_commit))
            commit(&cm, q, &r);
        }
    }
    cli_progress_end(&cm.prog);
    for (i = 0; i < jobs; i++) worker_free(&ws[i]);
    free(ws);
    int answered = cm.answered, failed = cm.failed, skipped = cm.skipped;
    const double t_start = cm.t_start;
    for (i = 0; i < nq; i++) llava_buf_free(&res[i].line);
    free(res);
    if (fclose(out) != 0) {
        cli_note("%s: write failed", out_path);
        failed++;
    }
    if (!quiet || failed)
        cli_note("%d answered, %d skipped (answered before), %d failed, in %.1f s; answers in %s", answered, skipped, failed,
                cli_now() - t_start, out_path);
    llava_tokenizer_free(tok);
    llava_model_free(m);
    free(qtext), free(qdir), free(lines), free(linenos), free(pre_done);
    llava_strmap_free(&done);
    return failed ? 1 : 0;
}
