/* chat: talk with a LLaVA model about an image, or with a language model alone (a GGUF text model), from the
   terminal (chat --help). The image is encoded once, the context keeps the conversation.
   Build: cc -O2 -march=native -fopenmp -o chat examples/chat.c -lm */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "../tools/common.h"

static const char usage[] =
    "usage: chat --model DIR --image FILE [--prompt TEXT] [options]\n"
    "       chat --model FILE.gguf --mmproj FILE.gguf --tokenizer PATH --image FILE [...]\n"
    "       chat --model FILE.gguf [--prompt TEXT] [options]   (a language model alone: text, no --image)\n"
    "  --model DIR        Hugging Face LLaVA directory (config.json, safetensors, tokenizer.json), or a\n"
    "                     llama.cpp GGUF language model (FILE.gguf, with --mmproj)\n"
    "  --mmproj FILE      with a GGUF --model: llama.cpp's LLaVA image encoder (mmproj GGUF)\n"
    "  --image FILE       JPEG/PNG/BMP/GIF to talk about\n"
    "  --prompt TEXT      answer this one message and exit (default: interactive, one message per line;\n"
    "                     /image FILE loads another image and starts over, /clear starts over, /quit exits)\n"
    "  --tokenizer PATH   tokenizer.json or its directory (default: the model directory)\n"
    "  --template NAME    llava_hf, vicuna_v1, llava_v1, plain or chatml (default: the one the model's chat\n"
    "                     template writes (tokenizer_config.json, a GGUF's tokenizer.chat_template), else llava_hf)\n"
    "  --system TEXT      system message (default: the one the model's chatml template adds by itself, e.g.\n"
    "                     SmolLM2's or Qwen2's; vicuna_v1 and llava_v1 have their own)\n"
    "  --temp T           sampling temperature in [0, 100], 0 = greedy (default 0.2)\n"
    "  --top-p P          nucleus sampling threshold in [0, 1], 1 = off (default 1)\n"
    "  --top-k K          keep the K most likely tokens, 0 = off (default 0)\n"
    "  --seed S           random seed, 0 to 2^64 - 1 (default 1234)\n"
    "  --max-tokens N     longest answer in tokens, at least 1 (default 512)\n"
    "  --ctx N            context size in positions, at most the model's (default: the model's, at most 4096)\n"
    "  --quiet            no last line on stderr (load time, image-encode time, prefill and decode tokens/s)\n"
    "  --help, --version  this text; the program's version\n";
static const char *const templates[] = {"llava_hf", "vicuna_v1", "llava_v1", "plain", "chatml", NULL}; /* LlavaTemplate's order */

typedef struct {
    LlavaModel *m;
    LlavaTokenizer *tok;
    LlavaContext *c;
    LlavaSampling sp;
    LlavaDecoder dec;
    LlavaMessage *msgs; /* [n_msgs] the conversation so far (the first n_fixed: the system message), texts owned */
    int n_msgs, n_fixed, cap_msgs, tmpl, max_tokens, text_only;
    int stop[3], n_stop; /* tokens that end an answer besides the model's EOS (chatml: <|im_end|>, <|endoftext|>) */
    float *pixels, *features;            /* [3][crop_h][crop_w], [P][C] */
    double t_image, t_prefill, t_decode; /* seconds, and the positions they made: */
    long n_prefill, n_decode;
} Chat;

static int is_stop(const Chat *ch, int token) {
    for (int k = 0; k < ch->n_stop; k++)
        if (token == ch->stop[k]) return 1;
    return 0;
}

static int on_token(int token, void *chat) { /* prints a token's text as soon as it is whole; nonzero: the answer ends */
    size_t len;
    const char *s = llava_decoder_push(&((Chat *)chat)->dec, token, &len);
    if (s) fwrite(s, 1, len, stdout); /* stdout is unbuffered */
    return is_stop(chat, token);
}

static void clear_conversation(Chat *ch) { /* the system message stays */
    while (ch->n_msgs > ch->n_fixed) free((char *)ch->msgs[--ch->n_msgs].text);
    llava_context_reset(ch->c);
}

static int load_image(Chat *ch, const char *path) { /* a new image starts a new conversation */
    if (ch->text_only) {
        cli_note("the model is a language model alone: it takes no images");
        return LLAVA_ERR;
    }
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
    sprintf(msg, "%s%s", first && !ch->text_only && !strstr(text, "<image>") ? "<image>\n" : "", text);
    ch->msgs[ch->n_msgs++] = (LlavaMessage){"user", msg};
    /* the ids this turn adds, counted first: a prompt too long for the context gets llava_eval's message */
    const LlavaConfig *cfg = llava_model_config(ch->m); /* "<image>": one placeholder per feature row, or one that expands */
    const int done = first ? 0 : ch->n_msgs - 1, image_id = cfg->image_token_id, repeat = cfg->image_token_expands || ch->text_only ? 1 : llava_image_tokens(ch->m);
    const int n_img = first && !ch->text_only;
    int n_ids = llava_template_continue(ch->tok, ch->tmpl, ch->msgs, done, ch->n_msgs, image_id, repeat, NULL, 0);
    int *ids = cli_xcalloc(n_ids > 0 ? (size_t)n_ids : 1, sizeof(int)), *out = cli_xcalloc((size_t)ch->max_tokens + 16, sizeof(int));
    const int ok = n_ids > 0 && llava_template_continue(ch->tok, ch->tmpl, ch->msgs, done, ch->n_msgs, image_id, repeat, ids, n_ids) == n_ids;
    int n_out = 0, rc = LLAVA_ERR;
    double t = cli_now();
    if (ok && llava_eval_features(ch->c, ids, n_ids, n_img ? ch->features : NULL, n_img, NULL) >= 0) {
        ch->t_prefill += cli_now() - t;
        ch->n_prefill += llava_expanded_length(ch->m, ids, n_ids);
        t = cli_now();
        rc = llava_generate(ch->c, NULL, 0, NULL, 0, &ch->sp, ch->max_tokens, out, &n_out, on_token, ch);
        ch->t_decode += cli_now() - t;
        ch->n_decode += n_out;
        const char *rest = llava_decoder_flush(&ch->dec, NULL);
        printf("%s\n", rest ? rest : "");
    }
    int stopped = 0;
    for (int k = 0; n_out > 0 && k < cfg->n_eos; k++) stopped |= out[n_out - 1] == cfg->eos_ids[k];
    stopped |= n_out > 0 && is_stop(ch, out[n_out - 1]);
    if (rc == LLAVA_OK) { /* the answer joins the conversation, for the template to write the next turn */
        const long n = llava_detokenize(ch->tok, out, n_out - stopped, 1, NULL, 0);
        char *answer = cli_xcalloc(n > 0 ? (size_t)n + 1 : 1, 1);
        if (n > 0) llava_detokenize(ch->tok, out, n_out - stopped, 1, answer, (size_t)n + 1);
        ch->msgs[ch->n_msgs++] = (LlavaMessage){"assistant", answer};
        /* the context then takes what llava_generate leaves out (its last token) and the template writes after the
           answer ("<|im_end|>\n", "</s>"): the next turn starts past it. A space or newline alone is left to the
           next turn's text, whose first word a SentencePiece tokenizer writes with it. */
        const char *end = llava_template_answer_end(ch->tmpl);
        int m = stopped || !n_out ? 0 : 1; /* out[n_out - 1], unless it is a stop token (the end written below stands for it) */
        const int n_end = end[strspn(end, " \n")] ? llava_tokenize(ch->tok, end, strlen(end), 0, out + n_out, 16) : 0;
        if (n_end > 0) m += n_end;
        t = cli_now();
        if (m > 0 && llava_eval_features(ch->c, out + n_out - 1 + stopped, m, NULL, 0, NULL) < 0) rc = LLAVA_ERR;
        ch->t_prefill += cli_now() - t, ch->n_prefill += m;
    }
    if (rc != LLAVA_OK) {
        cli_note("%s (starting over)", n_ids == 0 ? "empty prompt" : llava_last_error());
        clear_conversation(ch);
    }
    free(ids), free(out);
    return rc;
}

int main(int argc, char **argv) {
    const char *model_dir = NULL, *image = NULL, *prompt = NULL, *tok_path = NULL, *mmproj = NULL, *system = NULL;
    int n_ctx = 0, quiet = 0, rc = 0;
    Chat ch = {.sp = {.temperature = 0.2f, .top_p = 1.0f, .seed = 1234}, .tmpl = -1, .max_tokens = 512};
    CliArgs a = cli_begin(argc, argv, "chat", usage);
    while (cli_next(&a))
        if (!(cli_str(&a, "--model", &model_dir) || cli_str(&a, "--image", &image) || cli_str(&a, "--prompt", &prompt) ||
              cli_str(&a, "--tokenizer", &tok_path) || cli_str(&a, "--mmproj", &mmproj) || cli_choice(&a, "--template", &ch.tmpl, templates) ||
              cli_str(&a, "--system", &system) ||
              cli_float(&a, "--temp", &ch.sp.temperature, 0, 100) || cli_float(&a, "--top-p", &ch.sp.top_p, 0, 1) ||
              cli_int(&a, "--top-k", &ch.sp.top_k, 0, INT_MAX) || cli_u64(&a, "--seed", &ch.sp.seed) || cli_flag(&a, "--quiet", &quiet) ||
              cli_int(&a, "--max-tokens", &ch.max_tokens, 1, 1 << 24) || cli_int(&a, "--ctx", &n_ctx, 1, INT_MAX)))
            cli_unknown(&a);
    if (!model_dir) cli_usage_error("--model is required");
    const double t0 = cli_now();
    if (!(ch.m = mmproj ? llava_model_load_gguf(model_dir, mmproj) : llava_model_load(model_dir)) ||
        !(ch.tok = llava_tokenizer_load(tok_path ? tok_path : model_dir)))
        cli_die("%s", llava_last_error());
    const LlavaConfig *cfg = llava_model_config(ch.m);
    if ((ch.text_only = cfg->text_only) && image)
        cli_usage_error("%s is a language model alone: it takes no --image (give --mmproj FILE, its image encoder, to talk about images)", model_dir);
    if (!ch.text_only && !image) cli_usage_error("--image is required: %s is a LLaVA model", model_dir);
    /* the template the model's own chat template writes, and the system message it adds by itself */
    char *jinja = llava_chat_template_read(tok_path ? tok_path : model_dir), *default_system = NULL;
    const int detected = llava_template_detect(jinja, &default_system);
    if (ch.tmpl < 0) ch.tmpl = detected >= 0 ? detected : LLAVA_TEMPLATE_LLAVA_HF;
    if (!system && ch.tmpl == LLAVA_TEMPLATE_CHATML) system = default_system;
    if (system) ch.msgs = cli_xmalloc(sizeof *ch.msgs), ch.msgs[0] = (LlavaMessage){"system", cli_xstrdup(system)}, ch.n_msgs = ch.n_fixed = ch.cap_msgs = 1;
    llava_free_string(jinja), llava_free_string(default_system);
    const char *stops[3] = {NULL, "<|im_end|>", "<|endoftext|>"}; /* the tokenizer's EOS; chatml's ends (Qwen2's generation_config) */
    for (int k = 0; k < (ch.tmpl == LLAVA_TEMPLATE_CHATML ? 3 : 1); k++) {
        const int id = k ? llava_token_id(ch.tok, stops[k]) : llava_tokenizer_eos(ch.tok);
        if (id >= 0) ch.stop[ch.n_stop++] = id;
    }
    if (n_ctx > cfg->text_max_pos) /* past its positions a model was never trained, and its answers fall apart */
        cli_note("--ctx %d is more than the model's %d positions; using %d", n_ctx, cfg->text_max_pos, cfg->text_max_pos);
    if (n_ctx == 0 || n_ctx > cfg->text_max_pos) n_ctx = n_ctx == 0 && cfg->text_max_pos > 4096 ? 4096 : cfg->text_max_pos;
    if (!(ch.c = llava_context_new(ch.m, n_ctx))) cli_die("%s", llava_last_error());
    if (!ch.text_only) {
        ch.pixels = cli_xmalloc(3 * (size_t)cfg->pre_crop_h * (size_t)cfg->pre_crop_w * sizeof(float));
        ch.features = cli_xmalloc((size_t)llava_image_tokens(ch.m) * (size_t)cfg->text_hidden * sizeof(float));
    }
    llava_decoder_init(&ch.dec, ch.tok, 1);
    setvbuf(stdout, NULL, _IONBF, 0); /* each token's text shows as it comes */
    const double t_load = cli_now() - t0;
    char *line = NULL;
    if (image && load_image(&ch, image) != LLAVA_OK) rc = 1;
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
    if (ch.n_fixed) free((char *)ch.msgs[0].text);
    free(line), free(ch.msgs), free(ch.pixels), free(ch.features);
    llava_decoder_free(&ch.dec);
    llava_context_free(ch.c);
    llava_tokenizer_free(ch.tok);
    llava_model_free(ch.m);
    return rc;
}
