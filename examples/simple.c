/* simple: one answer about one image, the smallest complete program on llava.h.
     usage: simple MODEL_DIR IMAGE [PROMPT]      (MODEL_DIR: a Hugging Face LLaVA directory)
     build: cc -O2 -march=native -fopenmp -I. -o simple examples/simple.c -lm */
#define LLAVA_IMPLEMENTATION
#include "llava.h" /* built from the repository root with -I. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* called with each generated token: prints its text as soon as it is whole (a character may span tokens) */
static int print_token(int token, void *decoder) {
    size_t len;
    const char *text = llava_decoder_push((LlavaDecoder *)decoder, token, &len);
    if (text) fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0; /* nonzero would stop the generation */
}

/* image + prompt -> the model's answer on stdout; returns NULL, or what went wrong */
static const char *answer(LlavaModel *m, LlavaTokenizer *tok, LlavaContext *c, const char *image, const char *prompt) {
    const LlavaConfig *cfg = llava_model_config(m);
    const int n_ctx = llava_context_size(c);
    float *pixels = malloc(sizeof(float) * 3 * cfg->pre_crop_h * cfg->pre_crop_w); /* [3][crop_h][crop_w] */
    int *ids = malloc(sizeof(int) * n_ctx), *out = malloc(sizeof(int) * n_ctx), n_ids = 0, n_out = 0;
    LlavaBuf text = {0}; /* the user's message: "<image>" marks where the image goes */
    llava_buf_printf(&text, "<image>\n%s", prompt);
    const char *err = pixels && ids && out && !text.oom ? NULL : "out of memory";

    /* the image, resized, cropped and normalized as the model's CLIPImageProcessor does it */
    LlavaImage img = {0};
    if (!err && (llava_image_load(&img, image) || llava_preprocess(cfg, &img, LLAVA_PRE_DEFAULT, pixels)))
        err = llava_last_error();
    llava_image_free(&img);

    /* the llava-1.5-hf chat format; "<image>" becomes the model's placeholder token, once per feature row
       of the image, or once where the config says that one placeholder stands for all of them */
    LlavaMessage msg = {"user", text.p};
    const int repeat = cfg->image_token_expands ? 1 : llava_image_tokens(m);
    if (!err && (n_ids = llava_template_tokenize(tok, LLAVA_TEMPLATE_LLAVA_HF, &msg, 1, 1, cfg->image_token_id, repeat,
                                                 "prompt", ids, NULL, n_ctx)) < 0)
        err = llava_last_error();

    /* sampled at temperature 0.2 as LLaVA's own command line does, until EOS or a full context */
    LlavaSampling sampling = {.temperature = 0.2f, .seed = 1234};
    LlavaDecoder dec;
    llava_decoder_init(&dec, tok, 1); /* 1: special tokens such as </s> stay out of the text */
    const int max_new = err ? 0 : n_ctx - llava_expanded_length(m, ids, n_ids); /* as many as fit */
    if (!err && llava_generate(c, ids, n_ids, pixels, 1, &sampling, max_new, out, &n_out, print_token, &dec) != LLAVA_OK)
        err = llava_last_error();
    const char *rest = llava_decoder_flush(&dec, NULL); /* what was held back for a whole character */
    if (n_out) printf("%s\n", rest ? rest : "");
    llava_decoder_free(&dec);
    llava_buf_free(&text);
    free(pixels);
    free(ids);
    free(out);
    return err;
}

int main(int argc, char **argv) {
    if (argc > 1 && argv[1][0] == '-') { /* no options but these two */
        const int help = !strcmp(argv[1], "--help"), version = !strcmp(argv[1], "--version");
        if (help) puts("usage: simple MODEL_DIR IMAGE [PROMPT]   (PROMPT: default \"Describe the image.\")\n"
                       "  --help, --version  this text; the program's version");
        else if (version) puts("simple (llava.h " LLAVA_VERSION ")");
        else fprintf(stderr, "simple: unknown option '%s' (see simple --help)\n", argv[1]);
        return help || version ? 0 : 2;
    }
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "simple: expected MODEL_DIR IMAGE [PROMPT] (see simple --help)\n");
        return 2;
    }
    LlavaModel *m = llava_model_load(argv[1]); /* each of the three is NULL on an error */
    LlavaTokenizer *tok = m ? llava_tokenizer_load(argv[1]) : NULL;
    LlavaContext *c = tok ? llava_context_new(m, 0) : NULL; /* one conversation's KV cache; 0: the model's length */
    const char *err = c ? answer(m, tok, c, argv[2], argc > 3 ? argv[3] : "Describe the image.") : llava_last_error();
    if (err) fprintf(stderr, "simple: %s\n", err);
    llava_context_free(c);
    llava_tokenizer_free(tok);
    llava_model_free(m);
    return err ? 1 : 0;
}
