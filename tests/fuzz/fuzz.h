/* fuzz.h: what every harness in tests/fuzz shares. A harness is one file, fuzz_NAME.c, that includes
   this header (which includes llava.h with its implementation, so internals are reachable) and defines

       static void fuzz_init(void);                            once per process (load fixtures), may be empty
       static void fuzz_one(const unsigned char *d, size_t n); one input; must not leak

   Built with clang -fsanitize=fuzzer it is a libFuzzer target (make fuzz, make fuzz-smoke); built with
   -DFUZZ_STANDALONE and any compiler it is a program that runs the files named on its command line once
   each (make fuzz-replay replays the committed corpora that way, and coverage builds use it). Inputs
   made of several parts separate them with a form feed (0x0C), a byte no valid JSON document holds
   outside a string escape, so a JSON seed stays valid and a dictionary entry "\f" lets the fuzzer
   add parts. */
#ifndef LLAVA_FUZZ_H
#define LLAVA_FUZZ_H

#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* mkdtemp */
#endif
#define LLAVA_IMPLEMENTATION
#include "../../llava.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fuzz_init(void);
static void fuzz_one(const unsigned char *d, size_t n);

/* the input's parts: at most max of them, each a NUL-terminated copy (the last one takes the rest, form
   feeds included); returns the count, 0 when out of memory. Free with fuzz_parts_free. */
typedef struct {
    char *s[8];
    size_t n[8];
    int count;
} fuzz_parts;
LLAVA__MAYBE_UNUSED static int fuzz_split(fuzz_parts *p, const unsigned char *d, size_t n, int max) {
    size_t b = 0, i;
    memset(p, 0, sizeof *p);
    if (max > 8) max = 8;
    for (i = 0; i <= n; i++) {
        if (i < n && (d[i] != '\f' || p->count == max - 1)) continue;
        char *s = (char *)malloc(i - b + 1);
        if (!s) return p->count = 0;
        if (i > b) memcpy(s, d + b, i - b);
        s[i - b] = 0;
        p->s[p->count] = s;
        p->n[p->count++] = i - b;
        b = i + 1;
        if (p->count == max) break;
    }
    return p->count;
}
LLAVA__MAYBE_UNUSED static void fuzz_parts_free(fuzz_parts *p) {
    int i;
    for (i = 0; i < p->count; i++) free(p->s[i]);
    p->count = 0;
}

/* binary inputs (a GGUF file, a zip, a protobuf) hold form feeds of their own, so their parts are cut at a
   longer marker, FUZZ_CUT: returns the part after the first marker (and its length in *rest_n), the
   first part's length in *first_n; NULL (the whole input is the first part) when there is no marker */
#define FUZZ_CUT "\f--8<--\f"
LLAVA__MAYBE_UNUSED static const unsigned char *fuzz_cut(const unsigned char *d, size_t n, size_t *first_n, size_t *rest_n) {
    const size_t m = sizeof FUZZ_CUT - 1;
    size_t i;
    for (i = 0; i + m <= n; i++)
        if (d[i] == '\f' && !memcmp(d + i, FUZZ_CUT, m)) {
            *first_n = i;
            *rest_n = n - i - m;
            return d + i + m;
        }
    *first_n = n;
    *rest_n = 0;
    return NULL;
}

/* a GGUF file parsed from memory (llava__gguf_parse on a copy of d[n], as llava__gguf_open runs it on a
   mapped file): LLAVA_OK, or LLAVA_ERR with g closed. Free with llava__gguf_close. */
LLAVA__MAYBE_UNUSED static int fuzz_gguf(llava__gguf *g, const unsigned char *d, size_t n, const char *name) {
    memset(g, 0, sizeof *g);
    g->path = llava__strdup(name);
    g->f.data = (unsigned char *)LLAVA_MALLOC(n + 1); /* (not mapped: llava__gguf_close frees it) */
    if (!g->path || !g->f.data) {
        llava__gguf_close(g);
        return llava__err("out of memory");
    }
    if (n) memcpy(g->f.data, d, n);
    g->f.size = n;
    if (llava__gguf_parse(g) != LLAVA_OK) {
        llava__gguf_close(g);
        return LLAVA_ERR;
    }
    return LLAVA_OK;
}

/* a private directory for the files a loader wants to read (removed at exit) */
static char fuzz__dir[256];
static void fuzz__rmdir(void) {
    char cmd[300];
    if (!fuzz__dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz__dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fuzz__dir);
}
static const char *fuzz_dir(void) {
    if (!fuzz__dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz__dir, sizeof fuzz__dir, "%s/llava-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz__dir)) {
            perror("fuzz: mkdtemp");
            exit(2);
        }
        atexit(fuzz__rmdir);
    }
    return fuzz__dir;
}
/* DIR/name with data[n] in it (n == (size_t)-1: remove the file instead); returns the path (static) */
LLAVA__MAYBE_UNUSED static const char *fuzz_write(const char *name, const void *data, size_t n) {
    static char path[400];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    if (n == (size_t)-1) {
        remove(path);
        return path;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
    return path;
}

#ifdef FUZZ_STANDALONE
/* usage: fuzz_NAME [-v] FILE...; -v prints each input's last error (empty when it was accepted) */
int main(int argc, char **argv) {
    int i, bad = 0, verbose = argc > 1 && !strcmp(argv[1], "-v");
    fuzz_init();
    for (i = 1 + verbose; i < argc; i++) {
        size_t n = 0;
        llava__err("%s", ""); /* so a message is from this input */
        char *d = llava_read_file(argv[i], (size_t)1 << 28, &n);
        if (!d) {
            fprintf(stderr, "%s\n", llava_last_error());
            bad = 1;
            continue;
        }
        fuzz_one((const unsigned char *)d, n);
        if (verbose) printf("%s: %s\n", argv[i], llava_last_error());
        free(d);
    }
    printf("%s: %d inputs, no crash\n", strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0], argc - 1 - verbose - bad);
    return bad;
}
#else
#ifdef __cplusplus
extern "C" {
#endif
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *d, size_t n);
#ifdef __cplusplus
}
#endif
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}
int LLVMFuzzerTestOneInput(const unsigned char *d, size_t n) {
    fuzz_one(d, n);
    return 0;
}
#endif
#endif
