/* chat: talk with a LLaVA model about an image, from the terminal (chat --help). The image is encoded once,
   the context keeps the conversation. Build: cc -O2 -march=native -fopenmp -o chat examples/chat.c -lm */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "../tools/common.h"

static const char usage[] =
    "usage: chat --model DIR --image FILE [--prompt TEXT] [options]\n"
    "       chat --model FILE.gguf --mmproj FILE.gguf --tokenizer PATH --image FILE [...]\n"
    "  --model DIR        Hugging Face LLaVA directory (config.json, safetensors, tokenizer.json), or a\n"
    "                     llama.cpp GGUF language model (FILE.gguf, with --mmproj)\n"
    "  --mmproj FILE      with a GGUF --model: llama.cpp's LLaVA image encoder (mmproj GGUF)\n"
    "  --image FILE       JPEG/PNG/BMP/GIF to talk about\n"
    "  --prompt TEXT      answer this one message and exit (default: interactive, one message per line;\n"
    "                     /image FILE loads another image and starts over, /clear starts over, /quit exits)\n"
    "  --tokenizer PATH   tokenizer.json or its directory (default: the model directory)\n"
    "  --template NAME    llava_hf, vicuna_v1, llava_v1 or plain (default llava_hf)\n"
    "  --temp T           sampling temperature in [0, 100], 0 = greedy (default 0.2)\n"
    "  --top-p P          nucleus sampling threshold in [0, 1], 1 = off (default 1)\n"
    "  --top-k K          keep the K most likely tokens, 0 = off (default 0)\n"
    "  --seed S           random seed, 0 to 2^64 - 1 (default 1234)\n"
    "  --max-tokens N     longest answer in tokens, at least 1 (default 512)\n"
    "  --ctx N            context size in positions, at most the model's (default: the model's, at most 4096)\n"
    "  --quiet            no last line on stderr (load time, image-encode time, prefill and decode tokens/s)\n"
    "  --help, --version  this text; the program's version\n";
static const char *const templates[] = {"llava_hf", "vicuna_v1", "llava_v1", "plain", NULL}; /* LlavaTemplate's order */

typedef struct {
    LlavaModel *m;
    LlavaTokenizer *tok;
    LlavaContext *c;
    LlavaSampling sp;
    LlavaDecoder dec;
    LlavaMessage *msgs; /* [n_msgs] the conversation so far, texts owned */
    int n_msgs, cap_msgs, tmpl, max_tokens;
    float *pixels, *features;            /* [3][crop_h][crop_w], [P][C] */
    double t_image, t_prefill, t_decode; /* seconds, and the positions they made: */
    long n_prefill, n_decode;
} Chat;

static int on_token(int token, void *decoder) { /* prints a token's text as soon as it is whole */
    size_t len;
    const char *s = llava_decoder_push((LlavaDecoder *)decoder, token, &len);
    if (s) fwrite(s, 1, len, stdout); /* stdout is unbuffered */
    return 0;
}

static void clear_conversation(Chat *ch) {
    while (ch->n_msgs > 0) free((char *)ch->msgs[--ch->n_msgs].text);
    llava_context_reset(ch->c);
}

static int load_image(Chat *ch, const char *path) { /* a new image starts a new conversation */
    LlavaImage img;
    int rc = llava_image_load(&img, path);
    if (rc == LLAVA_OK) rc = llava_preprocess(llava_model_config(ch->m), &img, LLAVA_PRE_DEFAULT, ch->pixels);
    llava_image_free(&img);
    const double t = cli_now();
    if (rc == LLAVA_OK && (rc = llava_encode_image(ch->m, ch->pixels, ch->features)) == LLAVA_OK) ch->t_image += cli_now() - t;
    if (rc == LLAVA_OK) clear_conversation(ch);
    else cli_note("%s", llava_last_error());
    return rc;
}

/* one user message -> a streamed answer; after an error the conversation starts over */
static int turn(Chat *ch, const char *text) {
    const int first = llava_context_used(ch->c) == 0;
    if (ch->n_msgs + 2 > ch->cap_msgs) ch->msgs = cli_xrealloc(ch->msgs, (size_t)(ch->cap_msgs = 2 * ch->cap_msgs + 8) * sizeof *ch->msgs);
    char *msg = cli_xmalloc(strlen(text) + 9);
    sprintf(msg, "%s%s", first && !strstr(text, "<image>") ? "<image>\n" : "", text);
    ch->msgs[ch->n_msgs++] = (LlavaMessage){"user", msg};
    /* the ids this turn adds, counted first: a prompt too long for the context gets llava_eval's message */
    const LlavaConfig *cfg = llava_model_config(ch->m); /* "<image>": one placeholder per feature row, or one that expands */
    const int done = first ? 0 : ch->n_msgs - 1, image_id = cfg->image_token_id, repeat = cfg->image_token_expands ? 1 : llava_image_tokens(ch->m);
    int n_ids = llava_template_continue(ch->tok, ch->tmpl, ch->msgs, done, ch->n_msgs, image_id, repeat, NULL, 0);
    int *ids = cli_xcalloc(n_ids > 0 ? (size_t)n_ids : 1, sizeof(int)), *out = cli_xcalloc((size_t)ch->max_tokens, sizeof(int));
    const int ok = n_ids > 0 && llava_template_continue(ch->tok, ch->tmpl, ch->msgs, done, ch->n_msgs, image_id, repeat, ids, n_ids) == n_ids;
    int n_out = 0, rc = LLAVA_ERR;
    double t = cli_now();
    if (ok && llava_eval_features(ch->c, ids, n_ids, first ? ch->features : NULL, first, NULL) >= 0) {
        ch->t_prefill += cli_now() - t;
        ch->n_prefill += llava_expanded_length(ch->m, ids, n_ids);
        t = cli_now();
        rc = llava_generate(ch->c, NULL, 0, NULL, 0, &ch->sp, ch->max_tokens, out, &n_out, on_token, &ch->dec);
        ch->t_decode += cli_now() - t;
        ch->n_decode += n_out;
        const char *rest = llava_decoder_flush(&ch->dec, NULL);
        printf("%s\n", rest ? rest : "");
    }
    if (rc == LLAVA_OK) { /* the answer joins the conversation, for the template to write the next turn */
        const long n = llava_detokenize(ch->tok, out, n_out, 1, NULL, 0);
        char *answer = cli_xcalloc(n > 0 ? (size_t)n + 1 : 1, 1);
        if (n > 0) llava_detokenize(ch->tok, out, n_out, 1, answer, (size_t)n + 1);
        ch->msgs[ch->n_msgs++] = (LlavaMessage){"assistant", answer};
    } else {
        cli_note("%s (starting over)", n_ids == 0 ? "empty prompt" : llava_last_error());
        clear_conversation(ch);
    }
    free(ids), free(out);
    return rc;
}

int main(int argc, char **argv) {
    const char *model_dir = NULL, *image = NULL, *prompt = NULL, *tok_path = NULL, *mmproj = NULL;
    int n_ctx = 0, quiet = 0, rc = 0;
    Chat ch = {.sp = {.temperature = 0.2f, .top_p = 1.0f, .seed = 1234}, .tmpl = LLAVA_TEMPLATE_LLAVA_HF, .max_tokens = 512};
    CliArgs a = cli_begin(argc, argv, "chat", usage);
    while (cli_next(&a))
        if (!(cli_str(&a, "--model", &model_dir) || cli_str(&a, "--image", &image) || cli_str(&a, "--prompt", &prompt) ||
              cli_str(&a, "--tokenizer", &tok_path) || cli_str(&a, "--mmproj", &mmproj) || cli_choice(&a, "--template", &ch.tmpl, templates) ||
              cli_float(&a, "--temp", &ch.sp.temperature, 0, 100) || cli_float(&a, "--top-p", &ch.sp.top_p, 0, 1) ||
              cli_int(&a, "--top-k", &ch.sp.top_k, 0, INT_MAX) || cli_u64(&a, "--seed", &ch.sp.seed) || cli_flag(&a, "--quiet", &quiet) ||
              cli_int(&a, "--max-tokens", &ch.max_tokens, 1, 1 << 24) || cli_int(&a, "--ctx", &n_ctx, 1, INT_MAX)))
            cli_unknown(&a);
    if (!model_dir || !image) cli_usage_error("--model and --image are required");
    const double t0 = cli_now();
    if (!(ch.m = mmproj ? llava_model_load_gguf(model_dir, mmproj) : llava_model_load(model_dir)) ||
        !(ch.tok = llava_tokenizer_load(tok_path ? tok_path : model_dir)))
        cli_die("%s", llava_last_error());
    const LlavaConfig *cfg = llava_model_config(ch.m);
    if (cfg->text_only) cli_usage_error("%s is a language model alone: give --mmproj FILE (the image encoder)", model_dir);
    if (n_ctx > cfg->text_max_pos) /* past its positions a model was never trained, and its answers fall apart */
        cli_note("--ctx %d is more than the model's %d positions; using %d", n_ctx, cfg->text_max_pos, cfg->text_max_pos);
    if (n_ctx == 0 || n_ctx > cfg->text_max_pos) n_ctx = n_ctx == 0 && cfg->text_max_pos > 4096 ? 4096 : cfg->text_max_pos;
    if (!(ch.c = llava_context_new(ch.m, n_ctx))) cli_die("%s", llava_last_error());
    ch.pixels = cli_xmalloc(3 * (size_t)cfg->pre_crop_h * (size_t)cfg->pre_crop_w * sizeof(float));
    ch.features = cli_xmalloc((size_t)llava_image_tokens(ch.m) * (size_t)cfg->text_hidden * sizeof(float));
    llava_decoder_init(&ch.dec, ch.tok, 1);
    setvbuf(stdout, NULL, _IONBF, 0); /* each token's text shows as it comes */
    const double t_load = cli_now() - t0;
    char *line = NULL;
    if (load_image(&ch, image) != LLAVA_OK) rc = 1;
    else if (prompt) rc = turn(&ch, prompt) == LLAVA_OK ? 0 : 1;
    else
        for (fputs("> ", stderr); (line = cli_read_line(stdin)) && strcmp(line, "/quit"); free(line), fputs("> ", stderr)) {
            if (!strcmp(line, "/clear")) {
                clear_conversation(&ch), fputs("(conversation cleared)\n", stderr);
            } else if (!strncmp(line, "/image ", 7)) {
                if (load_image(&ch, line + 7) == LLAVA_OK) fprintf(stderr, "(new image: %s; conversation cleared)\n", line + 7);
            } else if (line[0] == '/') {
                cli_note("unknown command '%.*s' (commands: /image FILE, /clear, /quit)", (int)strcspn(line, " "), line);
            } else if (line[0]) {
                turn(&ch, line);
            }
        }
    if (!prompt && rc == 0) fputc('\n', stderr);
    if (!quiet)
        fprintf(stderr, "load %.2f s, image encode %.3f s, prefill %ld tokens at %.1f tokens/s, decode %ld tokens at %.1f tokens/s\n", t_load,
                ch.t_image, ch.n_prefill, ch.n_prefill / (ch.t_prefill + 1e-9), ch.n_decode, ch.n_decode / (ch.t_decode + 1e-9));
    clear_conversation(&ch);
    free(line), free(ch.msgs), free(ch.pixels), free(ch.features);
    llava_decoder_free(&ch.dec);
    llava_context_free(ch.c);
    llava_tokenizer_free(ch.tok);
    llava_model_free(ch.m);
    return rc;
}
