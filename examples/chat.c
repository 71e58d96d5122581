/* chat: talk with a LLaVA model about an image, from the terminal.

     chat --model DIR --image FILE [--prompt TEXT] [options]

   With --prompt: one answer, streamed to stdout. Without: an interactive session reading one message
   per line from stdin, where /image FILE switches to another image (and starts over), /clear starts
   over, /quit leaves. A final line on stderr gives load time, image-encode time, prefill and decode
   tokens/s. The prompt is written with the llava-1.5-hf template (USER: <image>\n... ASSISTANT:) unless
   --template names another; "<image>" becomes the model's placeholder tokens.

   Build: cc -O2 -march=native -fopenmp -o chat examples/chat.c -lm */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f) {
    fprintf(f, "usage: chat --model DIR --image FILE [--prompt TEXT] [options]\n"
               "  --model DIR        Hugging Face LLaVA directory (config.json, safetensors, tokenizer.json)\n"
               "  --image FILE       JPEG/PNG/BMP/GIF to talk about\n"
               "  --prompt TEXT      answer this one message and exit (default: interactive, one message per line;\n"
               "                     /image FILE loads another image and starts over, /clear starts over, /quit exits)\n"
               "  --tokenizer PATH   tokenizer.json or its directory (default: the model directory)\n"
               "  --template NAME    llava_hf (default), vicuna_v1, llava_v1 or plain\n"
               "  --temp T           sampling temperature, 0 = greedy (default 0.2)\n"
               "  --top-p P          nucleus sampling threshold, 1 = off (default 1)\n"
               "  --top-k K          keep the K most likely tokens, 0 = off (default 0)\n"
               "  --seed S           random seed (default 1234)\n"
               "  --max-tokens N     longest answer in tokens (default 512)\n"
               "  --ctx N            context size in positions (default: the model's, at most 4096)\n"
               "  --help             this text\n"
               "The last line on stderr: load time, image-encode time, prefill and decode tokens per second.\n");
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    LlavaModel *m;
    LlavaTokenizer *tok;
    LlavaContext *c;
    LlavaTemplate tmpl;
    LlavaSampling sp;
    int max_tokens, image_id, image_repeat;
    float *pixels, *features; /* [3][S][S], [P][C]: the image is encoded once, when it is loaded */
    int have_image;
    LlavaMessage msgs[256];
    int n_msgs;
    LlavaDecoder dec;
    /* statistics */
    double t_load, t_image, t_prefill, t_decode;
    long n_prefill, n_decode;
} Chat;

static int on_token(int token, void *user) {
    Chat *ch = (Chat *)user;
    size_t len;
    const char *s = llava_decoder_push(&ch->dec, token, &len);
    if (s && len) {
        fwrite(s, 1, len, stdout);
        fflush(stdout);
    }
    ch->n_decode++;
    return 0;
}

static void clear_conversation(Chat *ch) {
    int i;
    for (i = 0; i < ch->n_msgs; i++) free((char *)ch->msgs[i].text);
    ch->n_msgs = 0;
    llava_context_reset(ch->c);
}

static int load_image(Chat *ch, const char *path) {
    LlavaImage img;
    const LlavaConfig *cfg = llava_model_config(ch->m);
    if (llava_image_load(&img, path) != LLAVA_OK || llava_preprocess(cfg, &img, LLAVA_PRE_DEFAULT, ch->pixels) != LLAVA_OK) {
        fprintf(stderr, "chat: %s\n", llava_last_error());
        llava_image_free(&img);
        return -1;
    }
    llava_image_free(&img);
    /* the encoder runs again inside llava_eval; this run only measures it */
    double t = now();
    if (llava_encode_image(ch->m, ch->pixels, ch->features) != LLAVA_OK) {
        fprintf(stderr, "chat: %s\n", llava_last_error());
        return -1;
    }
    ch->t_image += now() - t;
    ch->have_image = 1;
    return 0;
}

/* one user message -> a streamed answer */
static int turn(Chat *ch, const char *text) {
    int first = llava_context_used(ch->c) == 0, n_ids, rc = 0;
    if (ch->n_msgs + 2 > 256) {
        fprintf(stderr, "chat: conversation too long, starting over\n");
        clear_conversation(ch);
        first = 1;
    }
    size_t tl = strlen(text);
    char *msg = (char *)malloc(tl + 16);
    if (!msg) return -1;
    snprintf(msg, tl + 16, "%s%s", first && ch->have_image && !strstr(text, "<image>") ? "<image>\n" : "", text);
    ch->msgs[ch->n_msgs].role = "user";
    ch->msgs[ch->n_msgs].text = msg;
    ch->n_msgs++;
    /* room for the whole prompt: a prompt longer than the context is llava_eval's error to report */
    int cap = first ? llava_template_tokenize(ch->tok, ch->tmpl, ch->msgs, ch->n_msgs, 1, ch->image_id, ch->image_repeat, "chat", NULL, NULL, 0) : 0;
    cap = LLAVA__MAX(cap, 0) + llava_context_size(ch->c) + 16;
    int *ids = (int *)malloc((size_t)cap * sizeof(int)), *out = (int *)malloc((size_t)(ch->max_tokens + 1) * sizeof(int));
    if (!ids || !out) {
        free(ids);
        free(out);
        return -1;
    }
    if (first) {
        n_ids = llava_template_tokenize(ch->tok, ch->tmpl, ch->msgs, ch->n_msgs, 1, ch->image_id, ch->image_repeat, "chat", ids, NULL, cap);
    } else {
        /* only the new text: what the conversation renders to now, past what it rendered to before
           (the context already holds the earlier turns as they were generated) */
        char *full = llava_template_render(ch->tmpl, ch->msgs, ch->n_msgs, 1);
        char *prev = llava_template_render(ch->tmpl, ch->msgs, ch->n_msgs - 1, 0);
        size_t pl = prev ? strlen(prev) : 0;
        if (!full || !prev || strncmp(full, prev, pl)) n_ids = -1;
        else n_ids = llava_tokenize(ch->tok, full + pl, strlen(full + pl), 0, ids, cap);
        llava_free_string(full);
        llava_free_string(prev);
    }
    int n_images = first && ch->have_image ? 1 : 0;
    if (n_ids > 0) {
        int positions = llava_expanded_length(ch->m, ids, n_ids);
        double t = now();
        if (llava_eval_features(ch->c, ids, n_ids, n_images ? ch->features : NULL, n_images, NULL) < 0) n_ids = -1;
        else {
            ch->t_prefill += now() - t;
            ch->n_prefill += positions;
        }
    }
    if (n_ids <= 0) {
        fprintf(stderr, "chat: %s (starting over)\n", n_ids == 0 ? "empty prompt" : llava_last_error());
        clear_conversation(ch);
        free(ids);
        free(out);
        return -1;
    }
    int n_out = 0;
    llava_decoder_init(&ch->dec, ch->tok, 1);
    double t = now();
    rc = llava_generate(ch->c, NULL, 0, NULL, 0, &ch->sp, ch->max_tokens, out, &n_out, on_token, ch);
    ch->t_decode += now() - t;
    size_t len;
    const char *rest = llava_decoder_flush(&ch->dec, &len);
    if (rest && len) fwrite(rest, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    llava_decoder_free(&ch->dec);
    if (rc != LLAVA_OK) {
        fprintf(stderr, "chat: %s (starting over)\n", llava_last_error());
        clear_conversation(ch);
    } else {
        long dl = llava_detokenize(ch->tok, out, n_out, 1, NULL, 0);
        char *answer = dl >= 0 ? (char *)malloc((size_t)dl + 1) : NULL;
        if (answer) llava_detokenize(ch->tok, out, n_out, 1, answer, (size_t)dl + 1);
        ch->msgs[ch->n_msgs].role = "assistant";
        ch->msgs[ch->n_msgs].text = answer ? answer : (char *)calloc(1, 1);
        ch->n_msgs++;
    }
    free(ids);
    free(out);
    return rc == LLAVA_OK ? 0 : -1;
}

static char *read_line(FILE *f) {
    size_t cap = 256, k = 0;
    char *b = (char *)malloc(cap);
    int c;
    if (!b) return NULL;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (k + 1 >= cap) {
            char *nb = (char *)realloc(b, cap *= 2);
            if (!nb) break;
            b = nb;
        }
        b[k++] = (char)c;
    }
    if (c == EOF && k == 0) {
        free(b);
        return NULL;
    }
    if (k && b[k - 1] == '\r') k--;
    b[k] = 0;
    return b;
}

int main(int argc, char **argv) {
    const char *model_dir = NULL, *image = NULL, *prompt = NULL, *tok_path = NULL, *template_name = "llava_hf";
    int i, n_ctx = 0, rc = 0;
    Chat ch;
    memset(&ch, 0, sizeof ch);
    ch.sp.temperature = 0.2f;
    ch.sp.top_p = 1.0f;
    ch.sp.seed = 1234;
    ch.max_tokens = 512;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model") && has) model_dir = argv[++i];
        else if (!strcmp(a, "--image") && has) image = argv[++i];
        else if (!strcmp(a, "--prompt") && has) prompt = argv[++i];
        else if (!strcmp(a, "--tokenizer") && has) tok_path = argv[++i];
        else if (!strcmp(a, "--template") && has) template_name = argv[++i];
        else if (!strcmp(a, "--temp") && has) ch.sp.temperature = (float)atof(argv[++i]);
        else if (!strcmp(a, "--top-p") && has) ch.sp.top_p = (float)atof(argv[++i]);
        else if (!strcmp(a, "--top-k") && has) ch.sp.top_k = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && has) ch.sp.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--max-tokens") && has) ch.max_tokens = atoi(argv[++i]);
        else if (!strcmp(a, "--ctx") && has) n_ctx = atoi(argv[++i]);
        else {
            fprintf(stderr, "chat: unknown or incomplete argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    int t = llava_template_from_name(template_name);
    if (!model_dir || !image || t < 0 || ch.max_tokens < 1) {
        if (t < 0) fprintf(stderr, "chat: unknown template '%s'\n", template_name);
        usage(stderr);
        return 2;
    }
    ch.tmpl = (LlavaTemplate)t;
    double t0 = now();
    ch.m = llava_model_load(model_dir);
    if (!ch.m) {
        fprintf(stderr, "chat: %s\n", llava_last_error());
        return 1;
    }
    ch.tok = llava_tokenizer_load(tok_path ? tok_path : model_dir);
    if (!ch.tok) {
        fprintf(stderr, "chat: %s\n", llava_last_error());
        llava_model_free(ch.m);
        return 1;
    }
    const LlavaConfig *cfg = llava_model_config(ch.m);
    if (llava_tokenizer_vocab_size(ch.tok) > cfg->text_vocab)
        fprintf(stderr, "chat: warning: the tokenizer has %d ids but the model only %d\n", llava_tokenizer_vocab_size(ch.tok), cfg->text_vocab);
    if (n_ctx <= 0) n_ctx = LLAVA__MIN(cfg->text_max_pos > 0 ? cfg->text_max_pos : 2048, 4096);
    ch.c = llava_context_new(ch.m, n_ctx);
    ch.image_id = cfg->image_token_id;
    ch.image_repeat = cfg->image_token_expands ? 1 : llava_image_tokens(ch.m);
    const size_t S = (size_t)cfg->vision_image_size;
    ch.pixels = (float *)malloc(3 * S * S * sizeof(float));
    ch.features = (float *)malloc((size_t)llava_image_tokens(ch.m) * (size_t)cfg->text_hidden * sizeof(float));
    if (!ch.c || !ch.pixels || !ch.features) {
        fprintf(stderr, "chat: %s\n", ch.c ? "out of memory" : llava_last_error());
        rc = 1;
    }
    ch.t_load = now() - t0;
    if (!rc && load_image(&ch, image)) rc = 1;
    if (!rc && prompt) {
        rc = turn(&ch, prompt) ? 1 : 0;
    } else if (!rc) {
        char *line;
        fprintf(stderr, "> ");
        while ((line = read_line(stdin)) != NULL) {
            if (!strcmp(line, "/quit")) {
                free(line);
                break;
            } else if (!strcmp(line, "/clear")) {
                clear_conversation(&ch);
                fprintf(stderr, "(conversation cleared)\n");
            } else if (!strncmp(line, "/image ", 7)) {
                if (load_image(&ch, line + 7) == 0) {
                    clear_conversation(&ch);
                    fprintf(stderr, "(new image: %s; conversation cleared)\n", line + 7);
                }
            } else if (line[0]) {
                turn(&ch, line);
            }
            free(line);
            fprintf(stderr, "> ");
        }
        fprintf(stderr, "\n");
    }
    fprintf(stderr, "load %.2f s, image encode %.3f s, prefill %ld tokens at %.1f tokens/s, decode %ld tokens at %.1f tokens/s\n", ch.t_load,
            ch.t_image, ch.n_prefill, ch.t_prefill > 0 ? (double)ch.n_prefill / ch.t_prefill : 0.0, ch.n_decode,
            ch.t_decode > 0 ? (double)ch.n_decode / ch.t_decode : 0.0);
    clear_conversation(&ch);
    llava_context_free(ch.c);
    llava_tokenizer_free(ch.tok);
    llava_model_free(ch.m);
    free(ch.pixels);
    free(ch.features);
    return rc;
}
