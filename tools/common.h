/* common.h: the command-line convention of every program in this repository (examples, tools, the
   trainer), on top of llava.h's public API. Include it after llava.h, in the file that defines
   LLAVA_IMPLEMENTATION or not.

   The convention:
     --help      prints the program's usage (every option, with its default) on stdout, exit 0
     --version   prints "PROGRAM (llava.h VERSION)", exit 0
     --quiet     (where a program has progress) no progress lines
     numbers are parsed whole and range-checked:  chat: --temp: 'abc' is not a number      (exit 2)
     an unknown option:                            chat: unknown option '--tmep' (see chat --help)  (exit 2)
     every other error, on stderr:                 chat: models/x: cannot open (No such file ...)  (exit 1)
   Options take their value as the next argument or after '=' (--temp 0.7, --temp=0.7).

   A program's parse loop:
       CliArgs a = cli_begin(argc, argv, "chat", usage);
       while (cli_next(&a)) {
           if (cli_str(&a, "--model", &model) || cli_float(&a, "--temp", &temp, 0, 100) || cli_flag(&a, "--quiet", &quiet))
               continue;
           cli_unknown(&a);
       }
*/
#ifndef LLAVA_TOOLS_COMMON_H
#define LLAVA_TOOLS_COMMON_H

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define CLI_ISATTY(fd) isatty(fd)
#else
#define CLI_ISATTY(fd) 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CLI_UNUSED __attribute__((unused))
#else
#define CLI_PRINTF(a, b)
#define CLI_UNUSED
#endif

/* an OpenMP pragma, CLI_OMP(omp parallel for): nothing in a build without -fopenmp (no unknown-pragma warning) */
#ifdef _OPENMP
#define CLI_OMP(x) _Pragma(#x)
#else
#define CLI_OMP(x)
#endif

static const char *cli_prog = "llava"; /* the program's name in every message */

/* "PROG: message" and the end of the line on stderr, in one write so that threads' lines do not mix */
CLI_UNUSED static void cli_vsay(const char *end, const char *fmt, va_list ap) {
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "%s: %s%s\n", cli_prog, msg, end);
}

/* an error that ends the program: "PROG: message" on stderr, exit 1 */
CLI_PRINTF(1, 2) CLI_UNUSED static void cli_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cli_vsay("", fmt, ap);
    va_end(ap);
    exit(1);
}

/* a wrong command line: "PROG: message (see PROG --help)" on stderr, exit 2 */
CLI_PRINTF(1, 2) CLI_UNUSED static void cli_usage_error(const char *fmt, ...) {
    char end[128];
    va_list ap;
    snprintf(end, sizeof end, " (see %s --help)", cli_prog);
    va_start(ap, fmt);
    cli_vsay(end, fmt, ap);
    va_end(ap);
    exit(2);
}

/* a warning or a note that the program goes on after: "PROG: message" on stderr */
CLI_PRINTF(1, 2) CLI_UNUSED static void cli_note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    cli_vsay("", fmt, ap);
    va_end(ap);
}

CLI_UNUSED static void *cli_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) cli_die("out of memory (%zu bytes)", n);
    return p;
}
CLI_UNUSED static void *cli_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) cli_die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}
CLI_UNUSED static void *cli_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) cli_die("out of memory (%zu bytes)", n);
    return q;
}
CLI_UNUSED static char *cli_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return (char *)memcpy(cli_xmalloc(n), s, n);
}

/* JSON lines and other line files: the next line of text that is not blank, its leading blanks skipped,
   NUL-terminated in place (text is modified); *lineno its number from 1; NULL at the end. Start with
   *cursor = text and *lineno = 0. */
CLI_UNUSED static char *cli_next_line(char **cursor, int *lineno) {
    while (*cursor && **cursor) {
        char *line = *cursor, *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        *cursor = nl ? nl + 1 : NULL;
        ++*lineno;
        while (*line == ' ' || *line == '\t' || *line == '\r') line++;
        if (*line) return line;
    }
    return NULL;
}

/* --- strict numbers ------------------------------------------------------------------------------ */
/* text -> a number, whole (no trailing characters) and within [lo, hi], or a usage error naming `what` */
CLI_UNUSED static long long cli_parse_int(const char *what, const char *text, long long lo, long long hi) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || errno == ERANGE) {
        if (end != text && !*end) cli_usage_error("%s: '%s' is out of range [%lld, %lld]", what, text, lo, hi);
        cli_usage_error("%s: '%s' is not a whole number", what, text);
    }
    if (v < lo || v > hi) cli_usage_error("%s: %s is out of range [%lld, %lld]", what, text, lo, hi);
    return v;
}
CLI_UNUSED static uint64_t cli_parse_u64(const char *what, const char *text) {
    char *end;
    errno = 0;
    if (*text == '-' || *text == '+') cli_usage_error("%s: '%s' is not a non-negative whole number", what, text);
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end) cli_usage_error("%s: '%s' is not a non-negative whole number", what, text);
    if (errno == ERANGE) cli_usage_error("%s: '%s' is larger than 2^64 - 1", what, text);
    return (uint64_t)v;
}
CLI_UNUSED static double cli_parse_double(const char *what, const char *text, double lo, double hi) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || v != v) cli_usage_error("%s: '%s' is not a number", what, text);
    if (!(v >= lo && v <= hi)) cli_usage_error("%s: %s is out of range [%g, %g]", what, text, lo, hi);
    return v;
}

/* --- the parse loop ------------------------------------------------------------------------------ */
typedef struct {
    int argc;
    char **argv;
    int i;              /* the argument being looked at */
    const char *usage;  /* printed by --help */
    const char *value;  /* after '=' in --name=value, else NULL */
    size_t name_len;    /* length of the option's name (before '=') */
} CliArgs;

/* sets the program's name for every message; `usage` is the whole --help text */
CLI_UNUSED static CliArgs cli_begin(int argc, char **argv, const char *prog, const char *usage) {
    CliArgs a;
    cli_prog = prog;
    a.argc = argc;
    a.argv = argv;
    a.i = 0;
    a.usage = usage;
    a.value = NULL;
    a.name_len = 0;
    return a;
}

/* moves to the next argument (0 when there is none); answers --help and --version itself */
CLI_UNUSED static int cli_next(CliArgs *a) {
    if (++a->i >= a->argc) return 0;
    const char *s = a->argv[a->i], *eq = strncmp(s, "--", 2) ? NULL : strchr(s, '=');
    a->value = eq ? eq + 1 : NULL;
    a->name_len = eq ? (size_t)(eq - s) : strlen(s);
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
        fputs(a->usage, stdout);
        exit(0);
    }
    if (!strcmp(s, "--version")) {
        printf("%s (llava.h %s)\n", cli_prog, LLAVA_VERSION);
        exit(0);
    }
    return 1;
}

CLI_UNUSED static int cli_is(const CliArgs *a, const char *name) {
    return strlen(name) == a->name_len && !strncmp(a->argv[a->i], name, a->name_len);
}

/* the option's value (after '=' or the next argument); a usage error when it has none */
CLI_UNUSED static const char *cli_value(CliArgs *a) {
    if (a->value) return a->value;
    if (a->i + 1 >= a->argc) cli_usage_error("%s needs a value", a->argv[a->i]);
    return a->argv[++a->i];
}

/* Each matcher returns 1 (and stores the value) when the current argument is that option, else 0. */
CLI_UNUSED static int cli_flag(CliArgs *a, const char *name, int *on) {
    if (!cli_is(a, name)) return 0;
    if (a->value) cli_usage_error("%s takes no value", name);
    *on = 1;
    return 1;
}
CLI_UNUSED static int cli_str(CliArgs *a, const char *name, const char **out) {
    if (!cli_is(a, name)) return 0;
    *out = cli_value(a);
    return 1;
}
CLI_UNUSED static int cli_int(CliArgs *a, const char *name, int *out, int lo, int hi) {
    if (!cli_is(a, name)) return 0;
    *out = (int)cli_parse_int(name, cli_value(a), lo, hi);
    return 1;
}
CLI_UNUSED static int cli_long(CliArgs *a, const char *name, long long *out, long long lo, long long hi) {
    if (!cli_is(a, name)) return 0;
    *out = cli_parse_int(name, cli_value(a), lo, hi);
    return 1;
}
CLI_UNUSED static int cli_u64(CliArgs *a, const char *name, uint64_t *out) {
    if (!cli_is(a, name)) return 0;
    *out = cli_parse_u64(name, cli_value(a));
    return 1;
}
CLI_UNUSED static int cli_float(CliArgs *a, const char *name, float *out, double lo, double hi) {
    if (!cli_is(a, name)) return 0;
    *out = (float)cli_parse_double(name, cli_value(a), lo, hi);
    return 1;
}
CLI_UNUSED static int cli_double(CliArgs *a, const char *name, double *out, double lo, double hi) {
    if (!cli_is(a, name)) return 0;
    *out = cli_parse_double(name, cli_value(a), lo, hi);
    return 1;
}
/* one of a list of words: *out = the index of the value in choices (NULL-terminated) */
CLI_UNUSED static int cli_choice(CliArgs *a, const char *name, int *out, const char *const *choices) {
    if (!cli_is(a, name)) return 0;
    const char *v = cli_value(a);
    int k;
    for (k = 0; choices[k]; k++)
        if (!strcmp(v, choices[k])) {
            *out = k;
            return 1;
        }
    char list[256] = "";
    for (k = 0; choices[k]; k++) {
        strncat(list, k ? "|" : "", sizeof list - strlen(list) - 1);
        strncat(list, choices[k], sizeof list - strlen(list) - 1);
    }
    cli_usage_error("%s: '%s' is not one of %s", name, v, list);
    return 0;
}
/* the current argument when it is not an option (a positional argument), else NULL */
CLI_UNUSED static const char *cli_positional(const CliArgs *a) {
    const char *s = a->argv[a->i];
    return s[0] == '-' && s[1] ? NULL : s;
}
/* what every program says of an argument it does not know; does not return */
CLI_UNUSED static void cli_unknown(const CliArgs *a) {
    const char *s = a->argv[a->i];
    if (s[0] == '-' && s[1]) cli_usage_error("unknown option '%.*s'", (int)a->name_len, s);
    cli_usage_error("unexpected argument '%s'", s);
}
/* a required option that was not given */
CLI_UNUSED static void cli_require(const void *given, const char *name) {
    if (!given) cli_usage_error("%s is required", name);
}

/* the next line of f without its "\n" (or "\r\n"), to free; NULL at the end of f */
CLI_UNUSED static char *cli_read_line(FILE *f) {
    size_t n = 0, cap = 256;
    char *s = (char *)cli_xmalloc(cap);
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (n + 2 > cap) s = (char *)cli_xrealloc(s, cap *= 2);
        s[n++] = (char)c;
    }
    if (c == EOF && n == 0) {
        free(s);
        return NULL;
    }
    if (n && s[n - 1] == '\r') n--;
    s[n] = 0;
    return s;
}

/* --- progress: rate and ETA on a terminal (one line rewritten), plain lines when piped -------------- */
typedef struct {
    const char *what;  /* "stage 1", "clip", ... */
    long total;        /* steps expected (0: unknown) */
    long first;        /* steps done before this run (a resumed one): left out of the rate and ETA */
    int quiet, tty, open; /* open: a terminal line not yet ended */
    int every;         /* a plain line every this many steps when piped (0: total / 20) */
    double t0, last;   /* seconds */
} CliProgress;

CLI_UNUSED static double cli_now(void) {
    struct timespec ts;
#ifdef CLOCK_MONOTONIC
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else /* -std=c11 without POSIX feature macros (a build without -fopenmp): C11's wall clock */
    timespec_get(&ts, TIME_UTC);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

CLI_UNUSED static void cli_progress_begin(CliProgress *p, const char *what, long total, int quiet) {
    p->what = what;
    p->total = total;
    p->first = 0;
    p->quiet = quiet;
    p->tty = CLI_ISATTY(2);
    p->open = 0;
    p->every = total >= 20 ? (int)(total / 20) : 1;
    p->t0 = p->last = cli_now();
}

/* step `done` of total finished; `info` (may be NULL or "") is the step's own figures ("loss 2.31") */
CLI_UNUSED static void cli_progress(CliProgress *p, long done, const char *info) {
    if (p->quiet) return;
    const double now = cli_now(), el = now - p->t0;
    const int final = p->total > 0 && done >= p->total;
    if (p->tty) {
        if (!final && now - p->last < 0.2) return;
    } else if (!final && done % p->every && done != 1) {
        return;
    }
    p->last = now;
    p->open = p->tty && !final;
    char eta[32] = "";
    if (p->total > 0 && done > p->first && !final) {
        const double left = el / (double)(done - p->first) * (double)(p->total - done);
        snprintf(eta, sizeof eta, ", ETA %dm%02ds", (int)(left / 60), (int)fmod(left, 60.0));
    }
    const double rate = el > 0 ? (double)(done - p->first) / el : 0.0;
    if (p->total > 0)
        fprintf(stderr, "%s%s %ld/%ld (%.0f%%) %s%s%.2f steps/s%s%s", p->tty ? "\r\033[K" : "", p->what, done, p->total,
                100.0 * (double)done / (double)p->total, info ? info : "", info && *info ? ", " : "", rate, eta,
                p->tty && !final ? "" : "\n");
    else
        fprintf(stderr, "%s%s %ld %s%s%.2f steps/s%s", p->tty ? "\r\033[K" : "", p->what, done, info ? info : "",
                info && *info ? ", " : "", rate, p->tty ? "" : "\n");
    fflush(stderr);
}

/* ends a progress line left open on a terminal */
CLI_UNUSED static void cli_progress_end(CliProgress *p) {
    if (p->open) fputc('\n', stderr);
    p->open = 0;
}

#endif /* LLAVA_TOOLS_COMMON_H */
