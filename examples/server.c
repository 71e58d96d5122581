/* server: an OpenAI-compatible HTTP server for a LLaVA model (server --help). POST /v1/chat/completions
   answers conversations with images (data: URLs, or files under --image-dir), whole or streamed as
   Server-Sent Events; GET /v1/models; GET /health. HTTP is GNU libmicrohttpd's.
   Build: cc -O2 -march=native -fopenmp -o server examples/server.c $(pkg-config --cflags --libs libmicrohttpd) -lm -lpthread

   How a request flows: libmicrohttpd gives each connection a thread, which reads the body, checks it
   against the limits and turns it into a Job (prompt ids, preprocessed pixels, sampling), all before
   the job waits for anything. --slots worker threads, each with its own LlavaContext (KV cache) over
   the one shared model, take jobs from a queue of at most --queue waiting ones and generate. The
   connection thread waits for its job and writes the answer, or relays the stream as tokens arrive;
   while it waits it watches its socket, so a client that leaves cancels its job at once. */
#define _XOPEN_SOURCE 700 /* realpath, getaddrinfo, strncasecmp */
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "../tools/common.h"

#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char usage[] =
    "usage: server --model DIR [options]\n"
    "  --model DIR            Hugging Face LLaVA directory (config.json, safetensors, tokenizer.json), or a GGUF\n"
    "                         language model alone (FILE.gguf: text only, requests with images are refused)\n"
    "  --tokenizer PATH       tokenizer.json or its directory (default: the model directory)\n"
    "  --host ADDR            address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)\n"
    "  --port N               TCP port, 0 = a free one (default 8080)\n"
    "  --slots N              answers generated at once, each with its own context (default 2)\n"
    "  --queue N              requests waiting for a slot; more are answered 503 (default 16)\n"
    "  --ctx N                context per slot in positions, at most the model's (default: the model's, at most 4096)\n"
    "  --template NAME        llava_hf, vicuna_v1, llava_v1, plain or chatml (default: the one the model's chat\n"
    "                         template writes, else llava_hf for llava-hf models, vicuna_v1 for the original layout;\n"
    "                         chatml adds the system message the model's template adds when a request has none)\n"
    "  --model-id NAME        the model's name in answers and /v1/models (default: the model directory's base name)\n"
    "  --api-key KEY          require \"Authorization: Bearer KEY\" (default: $LLAVA_API_KEY, else no key)\n"
    "  --image-dir DIR        image_url may name files under DIR, as a path or a file:// URL (default: none,\n"
    "                         data: URLs only)\n"
    "  --max-body BYTES       largest request body (default 20971520, 20 MiB)\n"
    "  --max-image-bytes N    largest image file, after base64 decoding (default 10485760, 10 MiB)\n"
    "  --max-image-pixels N   largest image, width x height (default 16777216)\n"
    "  --max-images N         most images in one request (default 8)\n"
    "  --max-messages N       most messages in one request (default 256)\n"
    "  --max-tokens N         largest max_tokens a request may ask (default: the context size)\n"
    "  --quiet                no log line per request\n"
    "  --help, --version      this text; the program's version\n"
    "A request's defaults are OpenAI's: temperature 1, top_p 1, a random seed; max_tokens: as many as fit.\n"
    "Endpoints: POST /v1/chat/completions, GET /v1/models, GET /health. SIGINT or SIGTERM stops the server.\n";
static const char *const templates[] = {"llava_hf", "vicuna_v1", "llava_v1", "plain", "chatml", NULL}; /* LlavaTemplate's order */

#define MAX_STOP 4 /* stop sequences per request, as OpenAI allows */

/* ---- errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}} ------------------- */
typedef struct {
    int status;       /* HTTP status */
    const char *code; /* machine-readable, e.g. "invalid_base64" */
    char param[128];  /* the request field at fault ("messages[0].content[1].image_url.url"), or "" */
    char message[512];
} ApiError;

CLI_PRINTF(5, 6) static int fail(ApiError *e, int status, const char *code, const char *param, const char *fmt, ...) {
    va_list ap;
    e->status = status;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

static void error_json(LlavaBuf *b, const ApiError *e) {
    llava_buf_puts(b, "{\"error\": {\"message\": ");
    llava_buf_json_string(b, e->message, strlen(e->message));
    llava_buf_printf(b, ", \"type\": \"%s\", \"param\": ", e->status >= 500 ? "server_error" : "invalid_request_error");
    if (e->param[0]) llava_buf_json_string(b, e->param, strlen(e->param));
    else llava_buf_puts(b, "null");
    llava_buf_printf(b, ", \"code\": \"%s\"}}", e->code ? e->code : "error");
}

/* ---- the server's state ---------------------------------------------------------------------------- */
enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

/* One chat completion: what the connection thread prepared, and the answer the worker writes. */
typedef struct Job {
    /* the request, fixed once queued */
    int *ids, n_ids;    /* prompt ids, image placeholders included */
    int n_prompt;       /* positions they take once images are expanded (usage.prompt_tokens) */
    float *pixels;      /* [n_images][3][crop_h][crop_w] */
    int n_images, max_new, stream, include_usage, n_stop;
    LlavaSampling sp;
    char *stop[MAX_STOP];
    char id[40];
    long created;
    const char *model_id;
    /* the answer, under Server.lock */
    int state, refs;           /* refs: the connection's and the queue's (then the worker's) */
    atomic_int n_answer;       /* tokens generated so far (usage.completion_tokens) */
    const char *finish;        /* "stop" or "length" */
    LlavaBuf out;              /* streamed: the SSE bytes so far; else the answer's text */
    size_t sent;               /* streamed: bytes of out the connection has sent */
    int failed;                /* generation failed: err says why */
    ApiError err;
    atomic_int cancel;         /* the client left, or the server stops: the worker stops at the next token */
    pthread_cond_t cond;       /* signalled when out grows or the job is done */
    struct Job *next;          /* in the queue */
} Job;

typedef struct Server Server;
typedef struct {
    Server *srv;
    LlavaContext *ctx;
    Job *job; /* running now, or NULL (under Server.lock) */
    pthread_t thread;
} Slot;

struct Server {
    LlavaModel *m;
    LlavaTokenizer *tok;
    const LlavaConfig *cfg;
    int tmpl, n_ctx, n_slots, queue_cap, max_tokens, max_images, max_messages, quiet;
    char *default_system; /* chatml: the system message the model's chat template adds, or NULL */
    int stop[2], n_stop;  /* chatml: <|im_end|> and <|endoftext|> end an answer too (Qwen2's generation_config) */
    long long max_body, max_image_bytes, max_image_pixels;
    const char *model_id, *api_key;
    char *image_dir; /* resolved, or NULL */
    long started;
    Slot *slots;
    pthread_mutex_t lock;
    pthread_cond_t work;  /* signalled when a job is queued or the server stops */
    Job *head, *tail;     /* the queue */
    int n_queued, n_idle, stopping;
    atomic_int n_requests; /* in progress, for a shutdown that lets their answers go out */
    uint64_t rng;         /* request ids and default seeds */
};

static Job *job_new(void) {
    Job *job = (Job *)cli_xcalloc(1, sizeof *job);
    job->refs = 1;
    atomic_init(&job->cancel, 0);
    atomic_init(&job->n_answer, 0);
    pthread_cond_init(&job->cond, NULL);
    return job;
}

static void job_unref(Server *srv, Job *job) { /* the last of its holders frees it */
    pthread_mutex_lock(&srv->lock);
    const int last = --job->refs == 0;
    pthread_mutex_unlock(&srv->lock);
    if (!last) return;
    for (int k = 0; k < job->n_stop; k++) free(job->stop[k]);
    free(job->ids), free(job->pixels);
    llava_buf_free(&job->out);
    pthread_cond_destroy(&job->cond);
    free(job);
}

/* ---- reading the request: typed fields, images, the prompt ---------------------------------------- */
/* Each getter: 1 with the value when the field is there, 0 when it is absent or null (OpenAI's clients
   send null for "not given"), -1 with e set when it has the wrong type or range. */
static int get_number(const LlavaJson *j, const LlavaJsonNode *obj, const char *key, double lo, double hi, int whole, double *out, ApiError *e) {
    const LlavaJsonNode *v = llava_json_get(j, obj, key);
    if (!v || v->type == LLAVA_JSON_NULL) return 0;
    if (v->type != LLAVA_JSON_NUM || (whole && v->num != floor(v->num)))
        return fail(e, 400, "invalid_type", key, "'%s' must be %s", key, whole ? "an integer" : "a number");
    if (!(v->num >= lo && v->num <= hi)) return fail(e, 400, "invalid_value", key, "'%s' is %g; it must be in [%g, %g]", key, v->num, lo, hi);
    *out = v->num;
    return 1;
}
static int get_bool(const LlavaJson *j, const LlavaJsonNode *obj, const char *key, int *out, ApiError *e) {
    const LlavaJsonNode *v = llava_json_get(j, obj, key);
    if (!v || v->type == LLAVA_JSON_NULL) return 0;
    if (v->type != LLAVA_JSON_BOOL) return fail(e, 400, "invalid_type", key, "'%s' must be true or false", key);
    *out = v->num != 0;
    return 1;
}

static unsigned be32(const unsigned char *p) { return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3]; }

/* width x height from an image's header, so that a small file that decodes to a huge image is refused
   before it is decoded (0 when the format is not recognized: the decoder then says what is wrong) */
static long long image_pixels(const unsigned char *p, size_t n) {
    if (n >= 24 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return (long long)be32(p + 16) * be32(p + 20);
    if (n >= 10 && !memcmp(p, "GIF8", 4)) return (long long)(p[6] | p[7] << 8) * (p[8] | p[9] << 8);
    if (n >= 26 && p[0] == 'B' && p[1] == 'M') { /* BITMAPINFOHEADER: int32 width, height (negative: top-down) */
        long long w = (int32_t)(p[18] | p[19] << 8 | p[20] << 16 | (unsigned)p[21] << 24);
        long long h = (int32_t)(p[22] | p[23] << 8 | p[24] << 16 | (unsigned)p[25] << 24);
        return llabs(w) * llabs(h);
    }
    if (n >= 4 && p[0] == 0xFF && p[1] == 0xD8) { /* JPEG: walk the segments to the frame header (SOFn) */
        size_t i = 2;
        while (i + 9 < n && p[i] == 0xFF) {
            const int mk = p[i + 1];
            if (mk == 0xFF) { i++; continue; }
            if (mk >= 0xC0 && mk <= 0xCF && mk != 0xC4 && mk != 0xC8 && mk != 0xCC)
                return (long long)(p[i + 5] << 8 | p[i + 6]) * (p[i + 7] << 8 | p[i + 8]);
            i += 2 + (size_t)(p[i + 2] << 8 | p[i + 3]);
        }
    }
    return 0;
}

/* strict base64 (RFC 4648 section 4): the alphabet, '=' padding to a multiple of 4 and nowhere else, and
   the unused bits of the last group zero; anything else is -1. out holds n / 4 * 3 bytes. */
static long base64_decode(const char *s, size_t n, unsigned char *out) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    if (n % 4) return -1;
    for (i = 0; i < n; i += 4) {
        int v[4], pad = 0, k;
        for (k = 0; k < 4; k++) {
            const char *c = s[i + k] ? strchr(abc, s[i + k]) : NULL;
            if (s[i + k] == '=' && i + 4 == n && k >= 2) pad++, v[k] = 0;
            else if (!c || pad) return -1; /* not base64, or data after '=' */
            else v[k] = (int)(c - abc);
        }
        if ((pad == 2 && (v[1] & 15)) || (pad == 1 && (v[2] & 3))) return -1;
        const uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (unsigned char)(x >> 16);
        if (pad < 2) out[o++] = (unsigned char)(x >> 8);
        if (pad < 1) out[o++] = (unsigned char)x;
    }
    return (long)o;
}

/* the bytes of an image_url: a data:image/...;base64 URL, or a file under --image-dir; NULL with e set */
static unsigned char *image_bytes(const Server *srv, const char *url, const char *param, size_t *n, ApiError *e) {
    unsigned char *data = NULL;
    if (!strncmp(url, "data:", 5)) {
        const char *comma = strchr(url, ',');
        if (strncmp(url + 5, "image/", 6) || !comma || comma - url < 19 || strncmp(comma - 7, ";base64", 7))
            return fail(e, 400, "invalid_image_url", param, "a data URL must look like data:image/png;base64,..."), NULL;
        const size_t len = strlen(comma + 1);
        if ((long long)(len / 4 * 3) > srv->max_image_bytes + 2)
            return fail(e, 413, "image_too_large", param, "the image is larger than %lld bytes", srv->max_image_bytes), NULL;
        data = (unsigned char *)cli_xmalloc(len / 4 * 3 + 1);
        const long got = base64_decode(comma + 1, len, data);
        if (got <= 0) return free(data), fail(e, 400, "invalid_base64", param, "the data URL's payload is not valid base64"), NULL;
        if (got > srv->max_image_bytes)
            return free(data), fail(e, 413, "image_too_large", param, "the image is larger than %lld bytes", srv->max_image_bytes), NULL;
        *n = (size_t)got;
        return data;
    }
    if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
        return fail(e, 400, "invalid_image_url", param, "remote image URLs are not fetched; send the image as a data: URL"), NULL;
    if (!srv->image_dir)
        return fail(e, 400, "invalid_image_url", param, "local image paths are refused (the server has no --image-dir); send a data: URL"), NULL;
    /* a path (relative to --image-dir) or file:// URL, resolved with its links before the check, so that
       neither "../" nor a symbolic link leads out of the directory; one message for "missing" and "outside"
       so that the answer tells nothing about files elsewhere */
    const char *path = !strncmp(url, "file://", 7) ? url + 7 : url;
    char *joined = (char *)cli_xmalloc(strlen(srv->image_dir) + strlen(path) + 2), *real;
    sprintf(joined, "%s%s%s", path[0] == '/' ? "" : srv->image_dir, path[0] == '/' ? "" : "/", path);
    real = realpath(joined, NULL);
    free(joined);
    const size_t nd = strlen(srv->image_dir);
    struct stat st;
    if (!real || strncmp(real, srv->image_dir, nd) || real[nd] != '/' || stat(real, &st) || !S_ISREG(st.st_mode)) {
        free(real);
        return fail(e, 400, "invalid_image_url", param, "'%.200s' is not a readable file under the image directory", url), NULL;
    }
    if ((long long)st.st_size > srv->max_image_bytes) {
        free(real);
        return fail(e, 413, "image_too_large", param, "the image is larger than %lld bytes", srv->max_image_bytes), NULL;
    }
    data = (unsigned char *)llava_read_file(real, (size_t)srv->max_image_bytes, n);
    free(real);
    if (!data) fail(e, 400, "invalid_image_url", param, "'%.200s' is not a readable file under the image directory", url);
    return data;
}

/* an image_url -> pixels [3][crop_h][crop_w] as the model's processor makes them */
static int load_image(const Server *srv, const char *url, const char *param, float *pixels, ApiError *e) {
    size_t n = 0;
    unsigned char *data = image_bytes(srv, url, param, &n, e);
    if (!data) return -1;
    LlavaImage img = {0};
    const long long px = image_pixels(data, n);
    int rc = -1;
    if (px > srv->max_image_pixels)
        fail(e, 413, "image_too_large", param, "the image has %lld pixels; at most %lld are taken", px, srv->max_image_pixels);
    else if (llava_image_load_memory(&img, data, n) != LLAVA_OK)
        fail(e, 422, "invalid_image", param, "the image cannot be decoded: %s", llava_last_error());
    else if ((long long)img.width * img.height > srv->max_image_pixels) /* the decoder's word over the header's */
        fail(e, 413, "image_too_large", param, "the image has %lld pixels; at most %lld are taken", (long long)img.width * img.height, srv->max_image_pixels);
    else if (llava_preprocess(srv->cfg, &img, LLAVA_PRE_DEFAULT, pixels) != LLAVA_OK)
        fail(e, 422, "invalid_image", param, "the image cannot be preprocessed: %s", llava_last_error());
    else
        rc = 0;
    llava_image_free(&img);
    free(data);
    return rc;
}

/* "<image>" is the template's placeholder: typed in a message, it would take an image's place */
static int no_placeholder(ApiError *e, const char *param) {
    return fail(e, 400, "invalid_value", param, "message text may not contain '<image>'; send images as image_url parts");
}

/* messages -> LlavaMessage texts (an image part becomes "<image>", parts joined by "\n") and the images'
   pixels in the order they appear, which is the order of their placeholders in the prompt */
static int read_messages(const Server *srv, const LlavaJson *j, const LlavaJsonNode *msgs, Job *job, LlavaMessage *lm, LlavaBuf *texts, ApiError *e) {
    const size_t npix = 3 * (size_t)srv->cfg->pre_crop_h * (size_t)srv->cfg->pre_crop_w;
    const char **urls = (const char **)cli_xcalloc((size_t)srv->max_images + 1, sizeof *urls);
    char(*params)[128] = cli_xcalloc((size_t)srv->max_images + 1, sizeof *params);
    char param[128];
    int k = 0, rc = 0;
    for (const LlavaJsonNode *msg = llava_json_first(j, msgs); msg && !rc; msg = llava_json_next(j, msg), k++) {
        snprintf(param, sizeof param, "messages[%d]", k);
        if (msg->type != LLAVA_JSON_OBJ) { rc = fail(e, 400, "invalid_type", param, "%s must be an object", param); break; }
        const LlavaJsonNode *role = llava_json_get(j, msg, "role"), *content = llava_json_get(j, msg, "content");
        snprintf(param, sizeof param, "messages[%d].role", k);
        if (!role || role->type != LLAVA_JSON_STR) { rc = fail(e, 400, "invalid_type", param, "%s must be a string", param); break; }
        const char *r = role->str;
        if (!strcmp(r, "developer")) r = "system"; /* OpenAI's newer name for it */
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant")) {
            rc = fail(e, 400, "invalid_value", param, "%s is '%.40s'; this server takes system, developer, user and assistant", param, role->str);
            break;
        }
        lm[k].role = r;
        llava_buf_put(&texts[k], "", 0);
        snprintf(param, sizeof param, "messages[%d].content", k);
        if ((!content || content->type == LLAVA_JSON_NULL) && !strcmp(r, "assistant")) {
            /* an assistant turn with no text (it called tools): an empty answer */
        } else if (content && content->type == LLAVA_JSON_STR) {
            if (strstr(content->str, "<image>")) rc = no_placeholder(e, param);
            llava_buf_puts(&texts[k], content->str);
        } else if (content && content->type == LLAVA_JSON_ARR) {
            int q = 0;
            for (const LlavaJsonNode *part = llava_json_first(j, content); part && !rc; part = llava_json_next(j, part), q++) {
                const LlavaJsonNode *type = llava_json_get(j, part, "type");
                snprintf(param, sizeof param, "messages[%d].content[%d]", k, q);
                if (part->type != LLAVA_JSON_OBJ || !type || type->type != LLAVA_JSON_STR) {
                    rc = fail(e, 400, "invalid_type", param, "%s must be an object with a \"type\"", param);
                } else if (!strcmp(type->str, "text")) {
                    const LlavaJsonNode *text = llava_json_get(j, part, "text");
                    if (!text || text->type != LLAVA_JSON_STR) rc = fail(e, 400, "invalid_type", param, "%s.text must be a string", param);
                    else if (strstr(text->str, "<image>")) rc = no_placeholder(e, param);
                    else llava_buf_printf(&texts[k], "%s%s", q ? "\n" : "", text->str);
                } else if (!strcmp(type->str, "image_url")) {
                    const LlavaJsonNode *iu = llava_json_get(j, part, "image_url"), *url = iu && iu->type == LLAVA_JSON_STR ? iu : llava_json_get(j, iu, "url");
                    snprintf(param, sizeof param, "messages[%d].content[%d].image_url.url", k, q);
                    if (!url || url->type != LLAVA_JSON_STR) rc = fail(e, 400, "invalid_type", param, "%s must be a string", param);
                    else if (strcmp(r, "user")) rc = fail(e, 400, "invalid_value", param, "images are taken in user messages only");
                    else if (srv->cfg->text_only) rc = fail(e, 400, "invalid_value", param, "the model is a language model alone: it takes no images");
                    else if (job->n_images == srv->max_images)
                        rc = fail(e, 400, "too_many_images", param, "more than %d images in one request", srv->max_images);
                    if (!rc) {
                        memcpy(params[job->n_images], param, sizeof param);
                        urls[job->n_images++] = url->str;
                        llava_buf_printf(&texts[k], "%s<image>", q ? "\n" : "");
                    }
                } else {
                    rc = fail(e, 400, "invalid_value", param, "content parts of type '%.40s' are not taken (text and image_url are)", type->str);
                }
            }
        } else {
            rc = fail(e, 400, "invalid_type", param, "%s must be a string or an array of parts", param);
        }
        if (!rc && texts[k].oom) rc = fail(e, 500, "out_of_memory", NULL, "out of memory");
        lm[k].text = texts[k].p;
    }
    /* every field checked: now the images, the costly part */
    if (!rc && job->n_images) job->pixels = (float *)cli_xmalloc((size_t)job->n_images * npix * sizeof(float));
    for (k = 0; !rc && k < job->n_images; k++) rc = load_image(srv, urls[k], params[k], job->pixels + (size_t)k * npix, e);
    free(urls), free(params);
    return rc;
}

/* the body of POST /v1/chat/completions -> a job ready to queue; -1 with e set */
static int read_request(Server *srv, const char *body, size_t n, Job *job, ApiError *e) {
    LlavaJson j;
    memset(&j, 0, sizeof j);
    LlavaMessage *lm = NULL;
    LlavaBuf *texts = NULL;
    int n_msgs = 0, rc = 0, flag = 0;
    double v = 0;
    if (llava_json_parse(&j, body ? body : "", n, "request body") != LLAVA_OK) {
        rc = fail(e, 400, "invalid_json", NULL, "%s", llava_last_error());
        goto done;
    }
    const LlavaJsonNode *root = &j.nodes[0], *msgs = llava_json_get(&j, root, "messages"), *x;
    if (root->type != LLAVA_JSON_OBJ) { rc = fail(e, 400, "invalid_json", NULL, "the request body must be a JSON object"); goto done; }
    if (!msgs || msgs->type != LLAVA_JSON_ARR || msgs->count == 0) {
        rc = fail(e, 400, msgs ? "invalid_type" : "missing_required_parameter", "messages", "'messages' must be a non-empty array of messages");
        goto done;
    }
    if (msgs->count > srv->max_messages) {
        rc = fail(e, 400, "too_many_messages", "messages", "%d messages; at most %d are taken", msgs->count, srv->max_messages);
        goto done;
    }
    /* the options: OpenAI's names, types and ranges (top_k is an extension, as in other servers) */
    job->sp.temperature = 1.0f, job->sp.top_p = 1.0f;
    if ((x = llava_json_get(&j, root, "model")) && x->type != LLAVA_JSON_STR && x->type != LLAVA_JSON_NULL) rc = fail(e, 400, "invalid_type", "model", "'model' must be a string");
    if (!rc && (rc = get_number(&j, root, "temperature", 0, 2, 0, &v, e)) > 0) job->sp.temperature = (float)v;
    if (rc >= 0 && (rc = get_number(&j, root, "top_p", 0, 1, 0, &v, e)) > 0) job->sp.top_p = (float)v;
    if (rc >= 0 && (rc = get_number(&j, root, "top_k", 0, 1 << 30, 1, &v, e)) > 0) job->sp.top_k = (int)v;
    if (rc >= 0 && (rc = get_number(&j, root, "n", 1, 1, 1, &v, e)) < 0) rc = fail(e, 400, "unsupported_value", "n", "only n = 1 is supported");
    if (rc >= 0 && (rc = get_bool(&j, root, "logprobs", &flag, e)) >= 0 && flag) rc = fail(e, 400, "unsupported_value", "logprobs", "logprobs are not given by this server");
    if (rc >= 0 && (rc = get_bool(&j, root, "stream", &job->stream, e)) >= 0) {
        const LlavaJsonNode *so = llava_json_get(&j, root, "stream_options");
        if (so && so->type != LLAVA_JSON_NULL && so->type != LLAVA_JSON_OBJ) rc = fail(e, 400, "invalid_type", "stream_options", "'stream_options' must be an object");
        else if (so && (rc = get_bool(&j, so, "include_usage", &job->include_usage, e)) < 0) snprintf(e->param, sizeof e->param, "stream_options.include_usage");
    }
    if (rc >= 0 && (rc = get_number(&j, root, "seed", -9223372036854775808.0, 18446744073709551615.0, 1, &v, e)) > 0)
        job->sp.seed = v < 0 ? (uint64_t)(int64_t)v : v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
    else if (rc == 0) { /* no seed: a different one each time, as OpenAI does */
        pthread_mutex_lock(&srv->lock);
        job->sp.seed = llava_rng_next(&srv->rng);
        pthread_mutex_unlock(&srv->lock);
    }
    int max_tokens = 0; /* 0: as many as fit */
    const char *mt = llava_json_get(&j, root, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    if (rc >= 0 && (rc = get_number(&j, root, mt, 1, 1e15, 1, &v, e)) > 0) {
        if (v > srv->max_tokens) rc = fail(e, 400, "invalid_value", mt, "'%s' is %.0f; this server gives at most %d tokens", mt, v, srv->max_tokens);
        else max_tokens = (int)v;
    }
    if (rc >= 0 && (x = llava_json_get(&j, root, "stop")) && x->type != LLAVA_JSON_NULL) {
        const int list = x->type == LLAVA_JSON_ARR;
        if (!list && x->type != LLAVA_JSON_STR) rc = fail(e, 400, "invalid_type", "stop", "'stop' must be a string or an array of strings");
        else if (list && x->count > MAX_STOP) rc = fail(e, 400, "invalid_value", "stop", "at most %d stop sequences are taken", MAX_STOP);
        for (const LlavaJsonNode *s = list ? llava_json_first(&j, x) : x; rc >= 0 && s; s = list ? llava_json_next(&j, s) : NULL) {
            if (s->type != LLAVA_JSON_STR || !s->str[0]) rc = fail(e, 400, "invalid_value", "stop", "each stop sequence must be a non-empty string");
            else job->stop[job->n_stop++] = cli_xstrdup(s->str);
        }
    }
    if (rc < 0) goto done;
    if (job->sp.top_p <= 0) job->sp.temperature = 0; /* top_p 0 keeps only the likeliest token (the library reads 0 as "off") */
    rc = 0;

    /* the conversation -> prompt ids, as chat makes them: llava_template_tokenize with a generation prompt */
    n_msgs = msgs->count;
    lm = (LlavaMessage *)cli_xcalloc((size_t)n_msgs + 1, sizeof *lm);
    texts = (LlavaBuf *)cli_xcalloc((size_t)n_msgs, sizeof *texts);
    if ((rc = read_messages(srv, &j, msgs, job, lm + 1, texts, e)) < 0) goto done;
    LlavaMessage *conv = lm + 1; /* lm[0]: room for the system message the model's chat template adds to a conversation without one */
    if (srv->default_system && n_msgs > 0 && strcmp(conv[0].role, "system")) lm[0] = (LlavaMessage){"system", srv->default_system}, conv = lm, n_msgs++;
    const LlavaConfig *cfg = srv->cfg;
    const int repeat = cfg->image_token_expands || cfg->text_only ? 1 : llava_image_tokens(srv->m), id = cfg->image_token_id;
    int n_ids = llava_template_tokenize(srv->tok, srv->tmpl, conv, n_msgs, 1, id, repeat, "request", NULL, NULL, 0);
    if (n_ids > 0) job->ids = (int *)cli_xmalloc((size_t)n_ids * sizeof(int));
    if (n_ids <= 0 || llava_template_tokenize(srv->tok, srv->tmpl, conv, n_msgs, 1, id, repeat, "request", job->ids, NULL, n_ids) != n_ids) {
        rc = fail(e, 400, "invalid_value", "messages", "%s", n_ids == 0 ? "the conversation is empty" : llava_last_error());
        goto done;
    }
    job->n_ids = n_ids;
    int placeholders = 0;
    for (int i = 0; i < n_ids; i++) placeholders += job->ids[i] == id;
    if (placeholders != job->n_images * repeat) { /* the original templates keep one image per message */
        rc = fail(e, 400, "invalid_value", "messages", "the %s template writes %d image placeholder(s) for %d image(s): send one image per message",
                  templates[srv->tmpl], placeholders / repeat, job->n_images);
        goto done;
    }
    /* the context: the prompt must fit, and the answer gets what is left (the last token is never evaluated) */
    job->n_prompt = llava_expanded_length(srv->m, job->ids, n_ids);
    if (job->n_prompt < 0 || job->n_prompt > srv->n_ctx) {
        rc = fail(e, 400, "context_length_exceeded", "messages", "the prompt takes %d positions (images included) but the context holds %d",
                  job->n_prompt, srv->n_ctx);
        goto done;
    }
    const int fit = srv->n_ctx - job->n_prompt + 1;
    job->max_new = max_tokens ? (max_tokens < fit ? max_tokens : fit) : (srv->max_tokens < fit ? srv->max_tokens : fit);
done:
    for (int k = 0; texts && k < msgs->count; k++) llava_buf_free(&texts[k]);
    free(texts), free(lm);
    llava_json_free(&j);
    return rc < 0 ? -1 : 0;
}

/* ---- slots and the queue ----------------------------------------------------------------------------- */
/* queues a job, or 503 when --queue jobs already wait beyond the idle slots */
static int submit(Server *srv, Job *job, ApiError *e) {
    int rc = 0;
    pthread_mutex_lock(&srv->lock);
    if (srv->stopping) {
        rc = fail(e, 503, "shutting_down", NULL, "the server is shutting down");
    } else if (srv->n_queued >= srv->n_idle + srv->queue_cap) {
        rc = fail(e, 503, "server_busy", NULL, "all %d slots are busy and %d requests are waiting; try again later", srv->n_slots, srv->n_queued);
    } else {
        uint64_t r = llava_rng_next(&srv->rng);
        snprintf(job->id, sizeof job->id, "chatcmpl-%016llx", (unsigned long long)r);
        job->created = (long)time(NULL);
        job->model_id = srv->model_id;
        job->state = JOB_QUEUED;
        job->refs++;
        if (srv->tail) srv->tail->next = job;
        else srv->head = job;
        srv->tail = job;
        srv->n_queued++;
        pthread_cond_signal(&srv->work);
    }
    pthread_mutex_unlock(&srv->lock);
    return rc;
}

/* A chunk of the stream: data: {chat.completion.chunk}. content NULL: no content in the delta. */
static void sse_chunk(LlavaBuf *b, const Job *job, int role, const char *content, size_t n, const char *finish) {
    llava_buf_printf(b, "data: {\"id\": \"%s\", \"object\": \"chat.completion.chunk\", \"created\": %ld, \"model\": ", job->id, job->created);
    llava_buf_json_string(b, job->model_id, strlen(job->model_id));
    llava_buf_puts(b, ", \"choices\": [{\"index\": 0, \"delta\": {");
    if (role) llava_buf_puts(b, "\"role\": \"assistant\", \"content\": \"\"");
    if (content) llava_buf_puts(b, "\"content\": "), llava_buf_json_string(b, content, n);
    llava_buf_printf(b, "}, \"logprobs\": null, \"finish_reason\": %s%s%s}]", finish ? "\"" : "", finish ? finish : "null", finish ? "\"" : "");
    llava_buf_puts(b, job->include_usage ? ", \"usage\": null}\n\n" : "}\n\n");
}

static void usage_json(LlavaBuf *b, Job *job) {
    const int n = atomic_load(&job->n_answer);
    llava_buf_printf(b, "{\"prompt_tokens\": %d, \"completion_tokens\": %d, \"total_tokens\": %d}", job->n_prompt, n, job->n_prompt + n);
}

/* one generation in progress, on its slot's thread */
typedef struct {
    Server *srv;
    Job *job;
    LlavaDecoder dec;
    LlavaBuf text;  /* the answer so far, cut at a stop sequence */
    size_t emitted; /* bytes of text streamed */
    int stopped;    /* a stop sequence was found */
    int ended;      /* a token that ends an answer besides the model's EOS (Server.stop) */
} Gen;

/* the earliest stop sequence in text, looking only where the last piece could have completed one */
static void find_stop(Gen *g, size_t before) {
    for (int k = 0; k < g->job->n_stop; k++) {
        const size_t ls = strlen(g->job->stop[k]);
        for (size_t i = before >= ls ? before - ls + 1 : 0; i + ls <= g->text.n; i++)
            if (!memcmp(g->text.p + i, g->job->stop[k], ls)) {
                g->text.n = i, g->text.p[i] = 0, g->stopped = 1;
                break;
            }
    }
}

/* streams what of the answer is settled: all of it at the end, else all but a tail that may be the
   start of a stop sequence (it is sent once the next tokens show that it is not) */
static void emit(Gen *g, int final) {
    Job *job = g->job;
    size_t hold = 0;
    for (int k = 0; k < job->n_stop && !final; k++)
        for (size_t l = strlen(job->stop[k]) - 1; l > hold; l--)
            if (l <= g->text.n && !memcmp(g->text.p + g->text.n - l, job->stop[k], l)) {
                hold = l;
                break;
            }
    if (!job->stream || g->text.n - hold <= g->emitted) return;
    pthread_mutex_lock(&g->srv->lock);
    sse_chunk(&job->out, job, 0, g->text.p + g->emitted, g->text.n - hold - g->emitted, NULL);
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&g->srv->lock);
    g->emitted = g->text.n - hold;
}

/* llava_generate's token callback: nonzero stops the generation (a stop sequence, or the client left) */
static int on_token(int token, void *user) {
    Gen *g = (Gen *)user;
    size_t len = 0;
    const char *s = llava_decoder_push(&g->dec, token, &len);
    atomic_fetch_add(&g->job->n_answer, 1);
    const size_t before = g->text.n;
    if (s && len) llava_buf_put(&g->text, s, len), find_stop(g, before);
    emit(g, g->stopped);
    for (int k = 0; k < g->srv->n_stop; k++) g->ended |= token == g->srv->stop[k];
    return g->stopped || g->ended || atomic_load(&g->job->cancel);
}

static void run_job(Slot *slot, Job *job) {
    Server *srv = slot->srv;
    const LlavaConfig *cfg = srv->cfg;
    Gen g = {.srv = srv, .job = job};
    int *out = (int *)cli_xmalloc((size_t)job->max_new * sizeof(int)), n_out = 0, rc = LLAVA_OK;
    llava_decoder_init(&g.dec, srv->tok, 1);
    llava_buf_put(&g.text, "", 0);
    if (!atomic_load(&job->cancel)) {
        llava_context_reset(slot->ctx); /* a new conversation each time: llava_generate appends to the context */
        rc = llava_generate(slot->ctx, job->ids, job->n_ids, job->pixels, job->n_images, &job->sp, job->max_new, out, &n_out, on_token, &g);
        const char *rest = g.stopped ? NULL : llava_decoder_flush(&g.dec, NULL); /* what was held for a whole character */
        const size_t before = g.text.n;
        if (rest && *rest) llava_buf_put(&g.text, rest, strlen(rest)), find_stop(&g, before);
        emit(&g, 1);
    }
    int eos = 0;
    for (int k = 0; n_out && k < cfg->n_eos; k++) eos |= out[n_out - 1] == cfg->eos_ids[k];
    pthread_mutex_lock(&srv->lock);
    atomic_store(&job->n_answer, n_out);
    job->finish = g.stopped || g.ended || eos || n_out < job->max_new ? "stop" : "length";
    if (rc != LLAVA_OK) {
        job->failed = 1;
        fail(&job->err, 500, "generation_failed", NULL, "generation failed: %s", llava_last_error());
    }
    if (job->stream && !atomic_load(&job->cancel)) { /* the stream's end: finish_reason, usage, [DONE] */
        if (job->failed) {
            llava_buf_puts(&job->out, "data: "), error_json(&job->out, &job->err), llava_buf_puts(&job->out, "\n\n");
        } else {
            sse_chunk(&job->out, job, 0, NULL, 0, job->finish);
            if (job->include_usage) {
                llava_buf_printf(&job->out, "data: {\"id\": \"%s\", \"object\": \"chat.completion.chunk\", \"created\": %ld, \"model\": ", job->id, job->created);
                llava_buf_json_string(&job->out, job->model_id, strlen(job->model_id));
                llava_buf_puts(&job->out, ", \"choices\": [], \"usage\": "), usage_json(&job->out, job), llava_buf_puts(&job->out, "}\n\n");
            }
        }
        llava_buf_puts(&job->out, "data: [DONE]\n\n");
    } else if (!job->stream) { /* the whole answer, for the connection to wrap */
        llava_buf_free(&job->out);
        job->out = g.text;
        memset(&g.text, 0, sizeof g.text);
    }
    pthread_mutex_unlock(&srv->lock);
    llava_decoder_free(&g.dec);
    llava_buf_free(&g.text);
    free(out);
}

/* a slot: its own context, jobs one at a time, OpenMP threads shared fairly with the other slots */
static void *slot_main(void *arg) {
    Slot *slot = (Slot *)arg;
    Server *srv = slot->srv;
#ifdef _OPENMP
    const int threads = omp_get_max_threads() / srv->n_slots;
    omp_set_num_threads(threads > 1 ? threads : 1);
#endif
    pthread_mutex_lock(&srv->lock);
    for (;;) {
        while (!srv->head && !srv->stopping) pthread_cond_wait(&srv->work, &srv->lock);
        Job *job = srv->head;
        if (!job) break; /* stopping, and nothing left */
        if (!(srv->head = job->next)) srv->tail = NULL;
        srv->n_queued--, srv->n_idle--;
        job->state = JOB_RUNNING;
        slot->job = job;
        pthread_mutex_unlock(&srv->lock);
        run_job(slot, job);
        pthread_mutex_lock(&srv->lock);
        job->state = JOB_DONE;
        slot->job = NULL;
        srv->n_idle++;
        pthread_cond_broadcast(&job->cond);
        pthread_mutex_unlock(&srv->lock);
        job_unref(srv, job);
        pthread_mutex_lock(&srv->lock);
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

/* ---- HTTP: routing, waiting for the answer, responses, one log line per request --------------------- */
typedef struct {
    Server *srv;
    double t0;
    char method[16], path[128];
    LlavaBuf body;
    int too_large, status, fd, ended; /* ended: the stream's last event is sent */
    Job *job;
} Req;

/* the client closed its connection (or reset it): a socket that polls readable with nothing to read */
static int client_gone(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    if (fd < 0 || poll(&p, 1, 0) <= 0) return 0;
    return (p.revents & (POLLERR | POLLHUP | POLLNVAL)) || recv(fd, &c, 1, MSG_PEEK) <= 0;
}

/* waits (srv->lock held) until the job has output past `have` bytes, is done, or is cancelled; checks
   the client every 100 ms and cancels the job when it is gone, so that its slot frees at once */
static void wait_job(Server *srv, Job *job, int fd, size_t have) {
    while (job->state != JOB_DONE && job->out.n <= have && !atomic_load(&job->cancel)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        if (pthread_cond_timedwait(&job->cond, &srv->lock, &ts) && client_gone(fd)) atomic_store(&job->cancel, 1);
    }
}

static enum MHD_Result respond(struct MHD_Connection *conn, Req *r, int status, LlavaBuf *body) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(body->n, body->p, MHD_RESPMEM_MUST_COPY);
    llava_buf_free(body);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    if (status == 405) MHD_add_response_header(resp, "Allow", strcmp(r->path, "/v1/chat/completions") ? "GET" : "POST");
    const enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, Req *r, const ApiError *e) {
    LlavaBuf b = {0};
    error_json(&b, e);
    return respond(conn, r, e->status, &b);
}

/* the stream's bytes as the worker writes them (called on the connection's thread, which may block) */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    Req *r = (Req *)cls;
    Job *job = r->job;
    ssize_t n;
    (void)pos;
    pthread_mutex_lock(&r->srv->lock);
    wait_job(r->srv, job, r->fd, job->sent);
    if (r->srv->stopping && job->state != JOB_DONE && !r->ended) { /* the stream ends with an error event, not a cut */
        static const char bye[] = "data: {\"error\": {\"message\": \"the server is shutting down\", \"type\": \"server_error\", "
                                  "\"param\": null, \"code\": \"shutting_down\"}}\n\ndata: [DONE]\n\n";
        n = (ssize_t)(sizeof bye - 1 < max ? sizeof bye - 1 : max);
        memcpy(buf, bye, (size_t)n);
        r->ended = 1;
    } else if (r->ended) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (job->out.n > job->sent) {
        n = (ssize_t)(job->out.n - job->sent < max ? job->out.n - job->sent : max);
        memcpy(buf, job->out.p + job->sent, (size_t)n);
        job->sent += (size_t)n;
    } else {
        n = job->state == JOB_DONE && !atomic_load(&job->cancel) ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    pthread_mutex_unlock(&r->srv->lock);
    return n;
}

static enum MHD_Result chat_completions(Server *srv, struct MHD_Connection *conn, Req *r) {
    ApiError e = {0};
    Job *job = job_new();
    if (read_request(srv, r->body.p, r->body.n, job, &e) < 0 || submit(srv, job, &e) < 0) {
        job_unref(srv, job);
        return respond_error(conn, r, &e);
    }
    llava_buf_free(&r->body);
    r->job = job;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    r->fd = ci ? ci->connect_fd : -1;
    if (job->stream) { /* 200 now; the role chunk first, as OpenAI sends it, then the worker's chunks */
        pthread_mutex_lock(&srv->lock);
        sse_chunk(&job->out, job, 1, NULL, 0, NULL);
        pthread_mutex_unlock(&srv->lock);
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, r, NULL);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        const enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        r->status = 200;
        return ret;
    }
    pthread_mutex_lock(&srv->lock);
    wait_job(srv, job, r->fd, SIZE_MAX);
    if (job->state != JOB_DONE && !srv->stopping) { /* the client left: nobody to answer, 499 in the log as nginx writes it */
        pthread_mutex_unlock(&srv->lock);
        r->status = 499;
        return MHD_NO;
    }
    LlavaBuf b = {0};
    int status = 200;
    if (job->state != JOB_DONE || job->failed) { /* cancelled: the client left (nobody reads this) or the server stops */
        const ApiError stop = {503, "shutting_down", "", "the server is shutting down"};
        error_json(&b, job->failed ? &job->err : &stop);
        status = job->failed ? job->err.status : 503;
    } else {
        llava_buf_printf(&b, "{\"id\": \"%s\", \"object\": \"chat.completion\", \"created\": %ld, \"model\": ", job->id, job->created);
        llava_buf_json_string(&b, job->model_id, strlen(job->model_id));
        llava_buf_puts(&b, ", \"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": ");
        llava_buf_json_string(&b, job->out.p ? job->out.p : "", job->out.n);
        llava_buf_printf(&b, "}, \"logprobs\": null, \"finish_reason\": \"%s\"}], \"usage\": ", job->finish);
        usage_json(&b, job);
        llava_buf_puts(&b, "}");
    }
    pthread_mutex_unlock(&srv->lock);
    return respond(conn, r, status, &b);
}

/* a secret compared in a time that depends on the key's length only, not on where a guess goes wrong */
static int same_secret(const char *given, const char *key) {
    const size_t n = strlen(key), g = strlen(given);
    unsigned d = g != n;
    for (size_t i = 0; i < n; i++) d |= (unsigned char)key[i] ^ (unsigned char)(i < g ? given[i] : 0);
    return d == 0;
}

/* libmicrohttpd's access handler: called once with the headers, then with each piece of the body,
   then once more with none; requests that need no body are answered on the first call */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
    Server *srv = (Server *)cls;
    Req *r = (Req *)*con_cls;
    ApiError e = {0};
    (void)version;
    if (!r) {
        r = (Req *)cli_xcalloc(1, sizeof *r);
        *con_cls = r;
        r->srv = srv, r->t0 = cli_now(), r->fd = -1;
        atomic_fetch_add(&srv->n_requests, 1);
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        const int chat = !strcmp(url, "/v1/chat/completions"), models = !strcmp(url, "/v1/models") || !strncmp(url, "/v1/models/", 11);
        const int health = !strcmp(url, "/health"), post = !strcmp(method, "POST"), get = !strcmp(method, "GET");
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (!chat && !models && !health) return respond_error(conn, r, (fail(&e, 404, "not_found", NULL, "no such endpoint: %.100s %.100s", method, url), &e));
        if (chat ? !post : !get) return respond_error(conn, r, (fail(&e, 405, "method_not_allowed", NULL, "%.100s takes %s", url, chat ? "POST" : "GET"), &e));
        if (srv->api_key && !health && (!auth || strncasecmp(auth, "Bearer ", 7) || !same_secret(auth + 7, srv->api_key)))
            return respond_error(conn, r, (fail(&e, 401, "invalid_api_key", NULL, "a valid API key is needed: Authorization: Bearer KEY"), &e));
        if (chat && length && strtoll(length, NULL, 10) > srv->max_body) /* refused before it is read */
            return respond_error(conn, r, (fail(&e, 413, "request_too_large", NULL, "the body is larger than %lld bytes", srv->max_body), &e));
        LlavaBuf b = {0};
        if (health) {
            pthread_mutex_lock(&srv->lock);
            llava_buf_printf(&b, "{\"status\": \"%s\", \"slots\": %d, \"slots_idle\": %d, \"queued\": %d}", srv->stopping ? "stopping" : "ok",
                             srv->n_slots, srv->n_idle, srv->n_queued);
            pthread_mutex_unlock(&srv->lock);
            return respond(conn, r, srv->stopping ? 503 : 200, &b);
        }
        if (models) {
            const int one = url[10] == '/'; /* /v1/models/ID */
            if (one && strcmp(url + 11, srv->model_id)) return respond_error(conn, r, (fail(&e, 404, "model_not_found", "model", "no model '%.100s' here", url + 11), &e));
            if (!one) llava_buf_puts(&b, "{\"object\": \"list\", \"data\": [");
            llava_buf_puts(&b, "{\"id\": "), llava_buf_json_string(&b, srv->model_id, strlen(srv->model_id));
            llava_buf_printf(&b, ", \"object\": \"model\", \"created\": %ld, \"owned_by\": \"llava.h\"}%s", srv->started, one ? "" : "]}");
            return respond(conn, r, 200, &b);
        }
        return MHD_YES; /* the body comes next */
    }
    if (*upload_size) { /* a piece of the body: kept up to --max-body, the rest read and dropped */
        if (!r->too_large && (long long)(r->body.n + *upload_size) <= srv->max_body) llava_buf_put(&r->body, upload, *upload_size);
        else r->too_large = 1, llava_buf_free(&r->body);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_large) return respond_error(conn, r, (fail(&e, 413, "request_too_large", NULL, "the body is larger than %lld bytes", srv->max_body), &e));
    if (r->body.oom) return respond_error(conn, r, (fail(&e, 500, "out_of_memory", NULL, "out of memory"), &e));
    return chat_completions(srv, conn, r);
}

/* after the response (or when the client left): cancel what still runs, log, free */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    Server *srv = (Server *)cls;
    Req *r = (Req *)*con_cls;
    (void)conn;
    if (!r) return;
    int n_prompt = 0, n_answer = 0;
    if (r->job) {
        atomic_store(&r->job->cancel, 1); /* a no-op for a finished job */
        pthread_mutex_lock(&srv->lock);
        n_prompt = r->job->n_prompt, n_answer = atomic_load(&r->job->n_answer);
        pthread_mutex_unlock(&srv->lock);
        job_unref(srv, r->job);
    }
    if (!srv->quiet)
        fprintf(stderr, "server: %s %s %d prompt %d answer %d tokens %.0f ms%s\n", r->method, r->path, r->status, n_prompt, n_answer,
                1e3 * (cli_now() - r->t0), toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed early)");
    llava_buf_free(&r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->n_requests, 1);
}

/* a listening socket on host:port (port 0: the system picks one); -1 with why set */
static int listen_on(const char *host, int port, int *bound, char *why, size_t n) {
    struct addrinfo hints, *ai = NULL;
    char ps[16];
    int fd = -1, on = 1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC, hints.ai_socktype = SOCK_STREAM, hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(ps, sizeof ps, "%d", port);
    const int g = getaddrinfo(host, ps, &hints, &ai);
    if (g) return snprintf(why, n, "--host %s: %s", host, gai_strerror(g)), -1;
    if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
        snprintf(why, n, "cannot listen on %s port %d: %s", host, port, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *bound = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port : ((struct sockaddr_in *)&sa)->sin_port);
    return fd;
}

int main(int argc, char **argv) {
    Server srv = {.tmpl = -1, .n_slots = 2, .queue_cap = 16, .max_images = 8, .max_messages = 256,
                  .max_body = 20ll << 20, .max_image_bytes = 10ll << 20, .max_image_pixels = 16777216};
    const char *model_dir = NULL, *tok_path = NULL, *host = "127.0.0.1", *image_dir = NULL;
    int port = 8080, n_ctx = 0;
    CliArgs a = cli_begin(argc, argv, "server", usage);
    while (cli_next(&a))
        if (!(cli_str(&a, "--model", &model_dir) || cli_str(&a, "--tokenizer", &tok_path) || cli_str(&a, "--host", &host) ||
              cli_int(&a, "--port", &port, 0, 65535) || cli_int(&a, "--slots", &srv.n_slots, 1, 256) ||
              cli_int(&a, "--queue", &srv.queue_cap, 0, 1 << 20) || cli_int(&a, "--ctx", &n_ctx, 1, INT_MAX) ||
              cli_choice(&a, "--template", &srv.tmpl, templates) || cli_str(&a, "--model-id", &srv.model_id) ||
              cli_str(&a, "--api-key", &srv.api_key) || cli_str(&a, "--image-dir", &image_dir) ||
              cli_long(&a, "--max-body", &srv.max_body, 1, 1ll << 40) || cli_long(&a, "--max-image-bytes", &srv.max_image_bytes, 1, 0x7fffffff) ||
              cli_long(&a, "--max-image-pixels", &srv.max_image_pixels, 1, 1ll << 28) || cli_int(&a, "--max-images", &srv.max_images, 0, 1 << 16) ||
              cli_int(&a, "--max-messages", &srv.max_messages, 1, 1 << 20) || cli_int(&a, "--max-tokens", &srv.max_tokens, 1, INT_MAX) ||
              cli_flag(&a, "--quiet", &srv.quiet)))
            cli_unknown(&a);
    cli_require(model_dir, "--model");
    if (!srv.api_key && getenv("LLAVA_API_KEY") && *getenv("LLAVA_API_KEY")) srv.api_key = getenv("LLAVA_API_KEY");
    if (srv.api_key && !*srv.api_key) cli_usage_error("--api-key: the key is empty");
    if (image_dir && !(srv.image_dir = realpath(image_dir, NULL))) cli_die("--image-dir %s: %s", image_dir, strerror(errno));

    if (!(srv.m = llava_model_load(model_dir)) || !(srv.tok = llava_tokenizer_load(tok_path ? tok_path : model_dir)))
        cli_die("%s", llava_last_error());
    srv.cfg = llava_model_config(srv.m);
    if (n_ctx > srv.cfg->text_max_pos) /* past its positions a model was never trained */
        cli_note("--ctx %d is more than the model's %d positions; using %d", n_ctx, srv.cfg->text_max_pos, srv.cfg->text_max_pos);
    if (n_ctx == 0 || n_ctx > srv.cfg->text_max_pos) n_ctx = n_ctx == 0 && srv.cfg->text_max_pos > 4096 ? 4096 : srv.cfg->text_max_pos;
    srv.n_ctx = n_ctx;
    if (!srv.max_tokens) srv.max_tokens = n_ctx;
    char *jinja = llava_chat_template_read(tok_path ? tok_path : model_dir);
    const int detected = llava_template_detect(jinja, &srv.default_system);
    if (srv.tmpl < 0 && detected >= 0) srv.tmpl = detected;
    if (srv.tmpl < 0) srv.tmpl = srv.cfg->image_token_id < 0 ? LLAVA_TEMPLATE_VICUNA_V1 : LLAVA_TEMPLATE_LLAVA_HF; /* original layout: -200 */
    if (srv.tmpl != LLAVA_TEMPLATE_CHATML) llava_free_string(srv.default_system), srv.default_system = NULL;
    llava_free_string(jinja);
    for (int k = 0; srv.tmpl == LLAVA_TEMPLATE_CHATML && k < 2; k++) {
        const int id = llava_token_id(srv.tok, k ? "<|endoftext|>" : "<|im_end|>");
        if (id >= 0) srv.stop[srv.n_stop++] = id;
    }
    char *base = NULL;
    if (!srv.model_id) { /* the directory's last component, trailing slashes aside */
        base = cli_xstrdup(model_dir);
        for (size_t n = strlen(base); n > 1 && base[n - 1] == '/';) base[--n] = 0;
        srv.model_id = strrchr(base, '/') && strrchr(base, '/')[1] ? strrchr(base, '/') + 1 : base;
    }
    srv.slots = (Slot *)cli_xcalloc((size_t)srv.n_slots, sizeof *srv.slots);
    for (int i = 0; i < srv.n_slots; i++)
        if (!(srv.slots[i].ctx = llava_context_new(srv.m, n_ctx))) cli_die("slot %d: %s", i, llava_last_error());
    srv.started = (long)time(NULL);
    srv.rng = (uint64_t)srv.started * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid() ^ (uint64_t)(cli_now() * 1e9);
    srv.n_idle = srv.n_slots;
    pthread_mutex_init(&srv.lock, NULL);
    pthread_cond_init(&srv.work, NULL);
    atomic_init(&srv.n_requests, 0);

    char why[512];
    int bound = 0;
    const int fd = listen_on(host, port, &bound, why, sizeof why);
    if (fd < 0) cli_die("%s", why);
    /* SIGINT and SIGTERM are taken by sigwait below: blocked here, before any thread starts, so that every
       thread inherits the mask; SIGPIPE from a client that left is ignored (the write fails instead) */
    sigset_t sigs;
    sigemptyset(&sigs), sigaddset(&sigs, SIGINT), sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < srv.n_slots; i++) {
        srv.slots[i].srv = &srv;
        if (pthread_create(&srv.slots[i].thread, NULL, slot_main, &srv.slots[i])) cli_die("cannot start slot %d's thread", i);
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC, 0, NULL, NULL, on_request, &srv,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(srv.n_slots + srv.queue_cap + 64), /* beyond that, connections wait in the backlog */
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!d) cli_die("cannot start the HTTP server (libmicrohttpd)");
    fprintf(stderr, "server: listening on http://%s%s%s:%d\n", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", bound);

    int sig = 0;
    sigwait(&sigs, &sig);
    /* shutting down: new requests get 503, queued and running jobs are cancelled (their connections
       answer or end at once), then the HTTP threads and the slots are joined */
    pthread_mutex_lock(&srv.lock);
    srv.stopping = 1;
    for (Job *job = srv.head; job; job = job->next) atomic_store(&job->cancel, 1), pthread_cond_broadcast(&job->cond);
    for (int i = 0; i < srv.n_slots; i++)
        if (srv.slots[i].job) atomic_store(&srv.slots[i].job->cancel, 1), pthread_cond_broadcast(&srv.slots[i].job->cond);
    pthread_cond_broadcast(&srv.work);
    pthread_mutex_unlock(&srv.lock);
    MHD_quiesce_daemon(d); /* no new connections; the requests in progress get their answers out (2 s at most) */
    for (int i = 0; i < 200 && atomic_load(&srv.n_requests) > 0; i++) nanosleep(&(struct timespec){0, 10000000L}, NULL);
    MHD_stop_daemon(d);
    close(fd);
    for (int i = 0; i < srv.n_slots; i++) pthread_join(srv.slots[i].thread, NULL), llava_context_free(srv.slots[i].ctx);
    free(srv.slots), free(base), free(srv.image_dir), llava_free_string(srv.default_system);
    llava_tokenizer_free(srv.tok);
    llava_model_free(srv.m);
    return 0;
}
