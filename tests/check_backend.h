/* A checking backend for the tests: "cpu-remote". It runs every entry with the CPU backend's kernels but
   keeps all of its memory in one region of its own that stays PROT_NONE except while one of its entries
   runs, so that it behaves as a device whose memory the host cannot touch (host_memory = 0):

   - model code that reads or writes backend memory itself, rather than through an entry, crashes with
     SIGSEGV (a handler names the address first);
   - every backend address an entry is given must lie, with the extent its shape implies, inside one live
     allocation of the region, and every host address outside it; otherwise the entry fails with a message
     naming the entry and the argument (and counts it in `bad`);
   - fresh allocations are filled with NaN bytes (0xff), as a device's memory holds whatever it held, so
     that reading memory never written shows in the results;
   - it counts what crosses between host and backend (uploads, downloads, maps), allocations and frees,
     and can be told to refuse allocations (fail_alloc, or fail_after successful ones).

   Memory entries copy between host and region (memcpy); compute entries call the same entry of an inner
   CPU backend (llava_backend_cpu_new) on the region's addresses, at the outer table's precision, so the
   results are bit-identical to the CPU backend's. mprotect is process-wide: the inner kernels' OpenMP
   threads see the region readable for as long as an entry runs.

   Include after llava.h's implementation (it uses llava__err). POSIX (mmap, mprotect); the including file
   asks for MAP_ANONYMOUS and MAP_NORESERVE (_DEFAULT_SOURCE before any include). Not thread-safe: one
   caller at a time.

       CheckBackend *cb = check_backend_new(1u << 30);     // the region: 1 GiB reserved, not committed
       LlavaLoadParams p = {&cb->b, LLAVA_PREC_F32};
       LlavaModel *m = llava_model_load_params(dir, &p);
       ... cb->n: counters (check_backend_reset zeroes all but live), cb->fail_alloc = 1 ...
       llava_model_free(m);
       check_backend_free(cb);                             // also llava_backend_free(&cb->b)
*/
#ifndef LLAVA_CHECK_BACKEND_H
#define LLAVA_CHECK_BACKEND_H

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(MAP_ANONYMOUS) || !defined(MAP_NORESERVE)
#error "check_backend.h needs MAP_ANONYMOUS and MAP_NORESERVE: #define _DEFAULT_SOURCE before the first include"
#endif

typedef struct {
    size_t uploaded, downloaded; /* bytes host -> backend (upload), backend -> host (download) */
    size_t mapped, maps, unmaps; /* bytes and calls of map; calls of unmap */
    size_t allocs, frees;        /* calls of alloc that succeeded, of free with a non-NULL address */
    size_t copied, fills;        /* bytes copied backend -> backend, calls of fill */
    size_t computes;             /* compute entries run */
    size_t bad;                  /* entries refused: an address outside the region or its allocation, a bad free */
    size_t live;                 /* allocations (alloc and map) not yet released; not reset */
    size_t live_bytes, peak_bytes;
} CheckCounts;

typedef struct {
    size_t off, len; /* in the region; len a multiple of 64 */
    int used;        /* 0 free, 1 alloc, 2 map */
} chk_block;

typedef struct {
    const void *host; /* what map was given */
    size_t bytes;
    const void *dev;
} chk_map;

typedef struct CheckBackend {
    LlavaBackend b;      /* the table the model gets (first: a LlavaBackend * is a CheckBackend *) */
    LlavaBackend *inner; /* the CPU backend that does the work */
    unsigned char *base; /* the region */
    size_t size;
    size_t top;          /* bytes of the region ever handed out (page-rounded: the part entries open) */
    chk_block *blk;      /* in address order, covering [0, top) */
    int nblk, capblk;
    chk_map *maps;       /* every map call, in order */
    int nmaps, capmaps;
    int depth;           /* entries running (the region is open while > 0) */
    int fail_alloc;      /* 1: alloc and map fail */
    long fail_after;     /* >= 0: that many more allocs/maps succeed, then they fail; -1: off */
    CheckCounts n;
    struct CheckBackend *next; /* the list of checking backends, for the SIGSEGV handler */
} CheckBackend;

static CheckBackend *chk_all;

/* --- the region ----------------------------------------------------------------------------------- */
static size_t chk_open_len(const CheckBackend *c) {
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (c->top + pg - 1) / pg * pg;
}
static void chk_open(CheckBackend *c) {
    if (c->depth++ == 0 && c->top) mprotect(c->base, chk_open_len(c), PROT_READ | PROT_WRITE);
}
static void chk_close(CheckBackend *c) {
    if (--c->depth == 0 && c->top) mprotect(c->base, chk_open_len(c), PROT_NONE);
}

static void chk_segv(int sig, siginfo_t *si, void *uc) {
    static const char msg[] = "check backend: SIGSEGV on backend memory outside a backend entry (the host touched it)\n";
    const CheckBackend *c;
    (void)uc;
    for (c = chk_all; c; c = c->next)
        if ((unsigned char *)si->si_addr >= c->base && (unsigned char *)si->si_addr < c->base + c->size) {
            ssize_t w = write(2, msg, sizeof msg - 1);
            (void)w;
            break;
        }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* the block holding backend address p, or -1 */
static int chk_find(const CheckBackend *c, const void *p) {
    const unsigned char *q = (const unsigned char *)p;
    int lo = 0, hi = c->nblk - 1;
    if (q < c->base || q >= c->base + c->top) return -1;
    const size_t off = (size_t)(q - c->base);
    while (lo <= hi) {
        const int mid = (lo + hi) / 2;
        if (off < c->blk[mid].off) hi = mid - 1;
        else if (off >= c->blk[mid].off + c->blk[mid].len) lo = mid + 1;
        else return mid;
    }
    return -1;
}
static int chk_in_region(const CheckBackend *c, const void *p) {
    return (const unsigned char *)p >= c->base && (const unsigned char *)p < c->base + c->size;
}

/* a backend argument: [p, p + bytes) inside one live allocation (p NULL only where allowed) */
static int chk_dev(CheckBackend *c, const char *entry, const char *arg, const void *p, size_t bytes, int may_be_null) {
    if (!p) {
        if (may_be_null) return 1;
        c->n.bad++;
        llava__err("check backend: %s: %s is NULL", entry, arg);
        return 0;
    }
    const int i = chk_find(c, p);
    if (i < 0 || !c->blk[i].used) {
        c->n.bad++;
        llava__err("check backend: %s: %s (%p) is not in a live allocation of backend memory%s", entry, arg, p,
                   chk_in_region(c, p) ? "" : " (a host address?)");
        return 0;
    }
    const size_t off = (size_t)((const unsigned char *)p - c->base);
    if (bytes > c->blk[i].off + c->blk[i].len - off) {
        c->n.bad++;
        llava__err("check backend: %s: %s (%zu bytes) runs %zu bytes past the end of its allocation", entry, arg, bytes,
                   bytes - (c->blk[i].off + c->blk[i].len - off));
        return 0;
    }
    return 1;
}
/* a host argument: outside the region */
static int chk_host(CheckBackend *c, const char *entry, const char *arg, const void *p) {
    if (!chk_in_region(c, p)) return 1;
    c->n.bad++;
    llava__err("check backend: %s: %s (%p) is backend memory where host memory is expected", entry, arg, p);
    return 0;
}
static size_t chk_wbytes(const LlavaWeight *w) { return (size_t)w->rows * (size_t)w->cols * (w->dtype == LLAVA_F32 ? 4 : 2); }

/* --- the allocator: first fit over the block table, 64-byte alignment, neighbours merged on free --- */
static int chk_insert(CheckBackend *c, int at, chk_block b) {
    if (c->nblk == c->capblk) {
        const int cap = c->capblk ? 2 * c->capblk : 256;
        chk_block *g = (chk_block *)realloc(c->blk, (size_t)cap * sizeof *g);
        if (!g) return 0;
        c->blk = g, c->capblk = cap;
    }
    memmove(c->blk + at + 1, c->blk + at, (size_t)(c->nblk - at) * sizeof *c->blk);
    c->blk[at] = b;
    c->nblk++;
    return 1;
}
static void chk_remove(CheckBackend *c, int at) {
    memmove(c->blk + at, c->blk + at + 1, (size_t)(c->nblk - at - 1) * sizeof *c->blk);
    c->nblk--;
}

static void *chk_take(CheckBackend *c, size_t bytes, int kind, const char *entry) {
    const size_t len = bytes ? (bytes + 63) & ~(size_t)63 : 64;
    int i;
    if (c->fail_alloc || c->fail_after == 0) {
        llava__err("check backend: %s of %zu bytes: out of memory (refused: the failure switch is on)", entry, bytes);
        return NULL;
    }
    if (bytes > c->size) {
        llava__err("check backend: %s of %zu bytes: out of memory (the region holds %zu)", entry, bytes, c->size);
        return NULL;
    }
    for (i = 0; i < c->nblk; i++)
        if (!c->blk[i].used && c->blk[i].len >= len) break;
    if (i == c->nblk) { /* a new block at the top (the last free block, if it ends there, grows) */
        size_t off = c->top;
        if (c->nblk && !c->blk[c->nblk - 1].used) off = c->blk[c->nblk - 1].off, chk_remove(c, c->nblk - 1), i = c->nblk;
        if (len > c->size - off) {
            if (off != c->top) chk_insert(c, c->nblk, (chk_block){off, c->top - off, 0});
            llava__err("check backend: %s of %zu bytes: out of memory (%zu of the region's %zu bytes in use)", entry, bytes,
                       c->n.live_bytes, c->size);
            return NULL;
        }
        if (!chk_insert(c, i, (chk_block){off, len, kind})) {
            llava__err("check backend: %s: out of host memory for the block table", entry);
            return NULL;
        }
        if (off + len > c->top) {
            c->top = off + len;
            if (c->depth) mprotect(c->base, chk_open_len(c), PROT_READ | PROT_WRITE); /* (open already: the new part too) */
        }
    } else {
        if (c->blk[i].len > len && !chk_insert(c, i + 1, (chk_block){c->blk[i].off + len, c->blk[i].len - len, 0})) {
            llava__err("check backend: %s: out of host memory for the block table", entry);
            return NULL;
        }
        c->blk[i].len = len;
        c->blk[i].used = kind;
    }
    if (c->fail_after > 0) c->fail_after--;
    c->n.live++;
    c->n.live_bytes += len;
    if (c->n.live_bytes > c->n.peak_bytes) c->n.peak_bytes = c->n.live_bytes;
    return c->base + c->blk[i].off;
}

static void chk_give(CheckBackend *c, const void *p, int kind, const char *entry) {
    int i = chk_find(c, p);
    if (i < 0 || c->blk[i].used != kind || c->base + c->blk[i].off != (const unsigned char *)p) {
        c->n.bad++;
        llava__err("check backend: %s of %p: not the start of a live %s", entry, p, kind == 2 ? "mapping" : "allocation");
        return;
    }
    memset(c->base + c->blk[i].off, 0xff, c->blk[i].len); /* freed memory reads as NaN, as a reused device buffer would */
    c->n.live--;
    c->n.live_bytes -= c->blk[i].len;
    c->blk[i].used = 0;
    if (i + 1 < c->nblk && !c->blk[i + 1].used) c->blk[i].len += c->blk[i + 1].len, chk_remove(c, i + 1);
    if (i > 0 && !c->blk[i - 1].used) c->blk[i - 1].len += c->blk[i].len, chk_remove(c, i);
}

/* --- memory entries --------------------------------------------------------------------------------- */
#define CHK(b) ((CheckBackend *)(b))

static void *chk_alloc(LlavaBackend *b, size_t bytes) {
    CheckBackend *c = CHK(b);
    chk_open(c);
    void *p = chk_take(c, bytes, 1, "alloc");
    if (p) {
        memset(p, 0xff, bytes ? bytes : 1); /* a device's fresh memory holds anything: here NaNs */
        c->n.allocs++;
    }
    chk_close(c);
    return p;
}
static void chk_free(LlavaBackend *b, void *p) {
    CheckBackend *c = CHK(b);
    if (!p) return;
    chk_open(c);
    c->n.frees++;
    chk_give(c, p, 1, "free");
    chk_close(c);
}
static int chk_upload(LlavaBackend *b, void *dst, const void *src, size_t bytes) {
    CheckBackend *c = CHK(b);
    if (!chk_dev(c, "upload", "dst", dst, bytes, 0) || !chk_host(c, "upload", "host_src", src)) return LLAVA_ERR;
    chk_open(c);
    if (bytes) memcpy(dst, src, bytes);
    chk_close(c);
    c->n.uploaded += bytes;
    return LLAVA_OK;
}
static int chk_download(LlavaBackend *b, void *dst, const void *src, size_t bytes) {
    CheckBackend *c = CHK(b);
    if (!chk_dev(c, "download", "src", src, bytes, 0) || !chk_host(c, "download", "host_dst", dst)) return LLAVA_ERR;
    chk_open(c);
    if (bytes) memcpy(dst, src, bytes);
    chk_close(c);
    c->n.downloaded += bytes;
    return LLAVA_OK;
}
static int chk_copy(LlavaBackend *b, void *dst, const void *src, size_t bytes) {
    CheckBackend *c = CHK(b);
    if (!chk_dev(c, "copy", "dst", dst, bytes, 0) || !chk_dev(c, "copy", "src", src, bytes, 0)) return LLAVA_ERR;
    chk_open(c);
    const int rc = c->inner->copy(c->inner, dst, src, bytes);
    chk_close(c);
    c->n.copied += bytes;
    return rc;
}
static int chk_fill(LlavaBackend *b, float *dst, float value, size_t n) {
    CheckBackend *c = CHK(b);
    if (!chk_dev(c, "fill", "dst", dst, n * sizeof(float), 0)) return LLAVA_ERR;
    chk_open(c);
    const int rc = c->inner->fill(c->inner, dst, value, n);
    chk_close(c);
    c->n.fills++;
    return rc;
}
static const void *chk_mapfn(LlavaBackend *b, const void *host, size_t bytes) {
    CheckBackend *c = CHK(b);
    if (!chk_host(c, "map", "host", host)) return NULL;
    if (c->nmaps == c->capmaps) {
        const int cap = c->capmaps ? 2 * c->capmaps : 256;
        chk_map *g = (chk_map *)realloc(c->maps, (size_t)cap * sizeof *g);
        if (!g) {
            llava__err("check backend: map: out of host memory for the map log");
            return NULL;
        }
        c->maps = g, c->capmaps = cap;
    }
    chk_open(c);
    void *p = chk_take(c, bytes, 2, "map");
    if (p && bytes) memcpy(p, host, bytes);
    chk_close(c);
    if (!p) return NULL;
    c->maps[c->nmaps].host = host, c->maps[c->nmaps].bytes = bytes, c->maps[c->nmaps].dev = p;
    c->nmaps++;
    c->n.maps++;
    c->n.mapped += bytes;
    return p;
}
static void chk_unmap(LlavaBackend *b, const void *p) {
    CheckBackend *c = CHK(b);
    if (!p) return;
    chk_open(c);
    c->n.unmaps++;
    chk_give(c, p, 2, "unmap");
    chk_close(c);
}

static void check_backend_free(CheckBackend *c) {
    CheckBackend **p;
    if (!c) return;
    for (p = &chk_all; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    llava_backend_free(c->inner);
    if (c->base) munmap(c->base, c->size);
    free(c->blk);
    free(c->maps);
    free(c);
}
static void chk_destroy(LlavaBackend *b) { check_backend_free(CHK(b)); }

/* --- compute entries: the arguments checked, the region opened, the inner CPU backend's entry run ------ */
#define CHK_DEV(arg, bytes, null_ok)                                                                                          \
    do {                                                                                                                       \
        if (!chk_dev(c, entry, #arg, (arg), (bytes), (null_ok))) return LLAVA_ERR;                                             \
    } while (0)
#define CHK_RUN(call)                                                                                                          \
    do {                                                                                                                       \
        int rc_;                                                                                                               \
        c->inner->precision = c->b.precision;                                                                                  \
        c->n.computes++;                                                                                                       \
        chk_open(c);                                                                                                           \
        rc_ = c->inner->call;                                                                                                  \
        chk_close(c);                                                                                                          \
        return rc_;                                                                                                            \
    } while (0)
#define F4(n) ((size_t)(n) * sizeof(float))

static int chk_matmul(LlavaBackend *b, float *out, const float *in, const LlavaWeight *w, const float *bias, int T, int C, int OC) {
    CheckBackend *c = CHK(b);
    const char *entry = "matmul";
    CHK_DEV(out, F4((size_t)T * OC), 0);
    CHK_DEV(in, F4((size_t)T * C), 0);
    CHK_DEV(w->data, chk_wbytes(w), 0);
    CHK_DEV(bias, F4(OC), 1);
    CHK_RUN(matmul(c->inner, out, in, w, bias, T, C, OC));
}
static int chk_matmul_backward(LlavaBackend *b, float *din, float *dw, float *db, const float *dout, const float *in, const LlavaWeight *w,
                               int T, int C, int OC) {
    CheckBackend *c = CHK(b);
    const char *entry = "matmul_backward";
    CHK_DEV(din, F4((size_t)T * C), 1);
    CHK_DEV(dw, F4((size_t)OC * C), 1);
    CHK_DEV(db, F4(OC), 1);
    CHK_DEV(dout, F4((size_t)T * OC), 0);
    CHK_DEV(in, F4((size_t)T * C), !dw);
    CHK_DEV(w->data, chk_wbytes(w), !din);
    CHK_RUN(matmul_backward(c->inner, din, dw, db, dout, in, w, T, C, OC));
}
static int chk_layernorm(LlavaBackend *b, float *out, float *mean, float *rstd, const float *in, const float *w, const float *bias, int T,
                         int C, float eps) {
    CheckBackend *c = CHK(b);
    const char *entry = "layernorm";
    CHK_DEV(out, F4((size_t)T * C), 0);
    CHK_DEV(mean, F4(T), 1);
    CHK_DEV(rstd, F4(T), 1);
    CHK_DEV(in, F4((size_t)T * C), 0);
    CHK_DEV(w, F4(C), 0);
    CHK_DEV(bias, F4(C), 0);
    CHK_RUN(layernorm(c->inner, out, mean, rstd, in, w, bias, T, C, eps));
}
static int chk_layernorm_backward(LlavaBackend *b, float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                                  const float *mean, const float *rstd, int T, int C) {
    CheckBackend *c = CHK(b);
    const char *entry = "layernorm_backward";
    CHK_DEV(din, F4((size_t)T * C), 1);
    CHK_DEV(dw, F4(C), 1);
    CHK_DEV(db, F4(C), 1);
    CHK_DEV(dout, F4((size_t)T * C), 0);
    CHK_DEV(in, F4((size_t)T * C), 0);
    CHK_DEV(w, F4(C), 0);
    CHK_DEV(mean, F4(T), 0);
    CHK_DEV(rstd, F4(T), 0);
    CHK_RUN(layernorm_backward(c->inner, din, dw, db, dout, in, w, mean, rstd, T, C));
}
static int chk_rmsnorm(LlavaBackend *b, float *out, float *rstd, const float *in, const float *w, int T, int C, float eps) {
    CheckBackend *c = CHK(b);
    const char *entry = "rmsnorm";
    CHK_DEV(out, F4((size_t)T * C), 0);
    CHK_DEV(rstd, F4(T), 1);
    CHK_DEV(in, F4((size_t)T * C), 0);
    CHK_DEV(w, F4(C), 0);
    CHK_RUN(rmsnorm(c->inner, out, rstd, in, w, T, C, eps));
}
static int chk_rmsnorm_backward(LlavaBackend *b, float *din, float *dw, const float *dout, const float *in, const float *w, const float *rstd,
                                int T, int C) {
    CheckBackend *c = CHK(b);
    const char *entry = "rmsnorm_backward";
    CHK_DEV(din, F4((size_t)T * C), 1);
    CHK_DEV(dw, F4(C), 1);
    CHK_DEV(dout, F4((size_t)T * C), 0);
    CHK_DEV(in, F4((size_t)T * C), 0);
    CHK_DEV(w, F4(C), 0);
    CHK_DEV(rstd, F4(T), 0);
    CHK_RUN(rmsnorm_backward(c->inner, din, dw, dout, in, w, rstd, T, C));
}
static int chk_rope(LlavaBackend *b, float *x, const float *inv_freq, int pos0, int T, int nh, int Dh) {
    CheckBackend *c = CHK(b);
    const char *entry = "rope";
    CHK_DEV(x, F4((size_t)T * nh * Dh), 0);
    CHK_DEV(inv_freq, F4(Dh / 2), 0);
    CHK_RUN(rope(c->inner, x, inv_freq, pos0, T, nh, Dh));
}
static int chk_rope_backward(LlavaBackend *b, float *dx, const float *inv_freq, int pos0, int T, int nh, int Dh) {
    CheckBackend *c = CHK(b);
    const char *entry = "rope_backward";
    CHK_DEV(dx, F4((size_t)T * nh * Dh), 0);
    CHK_DEV(inv_freq, F4(Dh / 2), 0);
    CHK_RUN(rope_backward(c->inner, dx, inv_freq, pos0, T, nh, Dh));
}
static size_t chk_attention_stash(LlavaBackend *b, int T, int H) { return CHK(b)->inner->attention_stash(CHK(b)->inner, T, H); }
static int chk_attention(LlavaBackend *b, float *out, float *stash, const float *q, const float *k, const float *v, int T, int S, int pos0, int H,
                         int KVH, int Dh, int causal) {
    CheckBackend *c = CHK(b);
    const char *entry = "attention";
    CHK_DEV(out, F4((size_t)T * H * Dh), 0);
    CHK_DEV(stash, F4(chk_attention_stash(b, T, H)), 1);
    CHK_DEV(q, F4((size_t)T * H * Dh), 0);
    CHK_DEV(k, F4((size_t)S * KVH * Dh), 0);
    CHK_DEV(v, F4((size_t)S * KVH * Dh), 0);
    CHK_RUN(attention(c->inner, out, stash, q, k, v, T, S, pos0, H, KVH, Dh, causal));
}
static int chk_attention_backward(LlavaBackend *b, float *dq, float *dk, float *dv, const float *dout, const float *out, const float *stash,
                                  const float *q, const float *k, const float *v, int T, int H, int KVH, int Dh, int causal) {
    CheckBackend *c = CHK(b);
    const char *entry = "attention_backward";
    CHK_DEV(dq, F4((size_t)T * H * Dh), 0);
    CHK_DEV(dk, F4((size_t)T * KVH * Dh), 0);
    CHK_DEV(dv, F4((size_t)T * KVH * Dh), 0);
    CHK_DEV(dout, F4((size_t)T * H * Dh), 0);
    CHK_DEV(out, F4((size_t)T * H * Dh), 1);
    CHK_DEV(stash, F4(chk_attention_stash(b, T, H)), 1);
    CHK_DEV(q, F4((size_t)T * H * Dh), 0);
    CHK_DEV(k, F4((size_t)T * KVH * Dh), 0);
    CHK_DEV(v, F4((size_t)T * KVH * Dh), 0);
    CHK_RUN(attention_backward(c->inner, dq, dk, dv, dout, out, stash, q, k, v, T, H, KVH, Dh, causal));
}
static int chk_act(LlavaBackend *b, float *out, const float *in, size_t n, LlavaAct a) {
    CheckBackend *c = CHK(b);
    const char *entry = "act";
    CHK_DEV(out, F4(n), 0);
    CHK_DEV(in, F4(n), 0);
    CHK_RUN(act(c->inner, out, in, n, a));
}
static int chk_act_backward(LlavaBackend *b, float *dx, const float *dout, const float *x, size_t n, LlavaAct a) {
    CheckBackend *c = CHK(b);
    const char *entry = "act_backward";
    CHK_DEV(dx, F4(n), 0);
    CHK_DEV(dout, F4(n), 0);
    CHK_DEV(x, F4(n), 0);
    CHK_RUN(act_backward(c->inner, dx, dout, x, n, a));
}
static int chk_glu(LlavaBackend *b, float *out, const float *gate, const float *up, size_t n, LlavaAct a) {
    CheckBackend *c = CHK(b);
    const char *entry = "glu";
    CHK_DEV(out, F4(n), 0);
    CHK_DEV(gate, F4(n), 0);
    CHK_DEV(up, F4(n), 0);
    CHK_RUN(glu(c->inner, out, gate, up, n, a));
}
static int chk_glu_backward(LlavaBackend *b, float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n,
                            LlavaAct a) {
    CheckBackend *c = CHK(b);
    const char *entry = "glu_backward";
    CHK_DEV(dgate, F4(n), 0);
    CHK_DEV(dup, F4(n), 0);
    CHK_DEV(dout, F4(n), 0);
    CHK_DEV(gate, F4(n), 0);
    CHK_DEV(up, F4(n), 0);
    CHK_RUN(glu_backward(c->inner, dgate, dup, dout, gate, up, n, a));
}
static int chk_add(LlavaBackend *b, float *out, const float *x, const float *y, size_t n) {
    CheckBackend *c = CHK(b);
    const char *entry = "add";
    CHK_DEV(out, F4(n), 0);
    CHK_DEV(x, F4(n), 0);
    CHK_DEV(y, F4(n), 0);
    CHK_RUN(add(c->inner, out, x, y, n));
}
/* rows[T] (backend memory, read here with the region open): the largest token row and feature row */
static void chk_rows_max(CheckBackend *c, const int *rows, int T, int *max_tok, int *max_feat) {
    int t;
    *max_tok = *max_feat = -1;
    chk_open(c);
    for (t = 0; t < T; t++) {
        if (rows[t] >= 0 && rows[t] > *max_tok) *max_tok = rows[t];
        if (rows[t] < 0 && -1 - rows[t] > *max_feat) *max_feat = -1 - rows[t];
    }
    chk_close(c);
}
static int chk_embed(LlavaBackend *b, float *x, const int *rows, const float *feat, const LlavaWeight *embed, int T, int C) {
    CheckBackend *c = CHK(b);
    const char *entry = "embed";
    int mt, mf;
    CHK_DEV(x, F4((size_t)T * C), 0);
    CHK_DEV(rows, (size_t)T * sizeof(int), 0);
    chk_rows_max(c, rows, T, &mt, &mf);
    if (mt >= embed->rows) {
        c->n.bad++;
        return llava__err("check backend: embed: row %d of an embedding with %d rows", mt, embed->rows);
    }
    CHK_DEV(embed->data, chk_wbytes(embed), 0);
    CHK_DEV(feat, F4((size_t)(mf + 1) * C), mf < 0);
    CHK_RUN(embed(c->inner, x, rows, feat, embed, T, C));
}
static int chk_embed_backward(LlavaBackend *b, float *dembed, float *dfeat, const float *dx, const int *rows, int T, int C) {
    CheckBackend *c = CHK(b);
    const char *entry = "embed_backward";
    int mt, mf;
    CHK_DEV(dx, F4((size_t)T * C), 0);
    CHK_DEV(rows, (size_t)T * sizeof(int), 0);
    chk_rows_max(c, rows, T, &mt, &mf);
    CHK_DEV(dembed, F4((size_t)(mt + 1) * C), 1);
    CHK_DEV(dfeat, F4((size_t)(mf + 1) * C), 1);
    CHK_RUN(embed_backward(c->inner, dembed, dfeat, dx, rows, T, C));
}
static int chk_patchify(LlavaBackend *b, float *patches, const float *pixels, int n, int S, int ps) {
    CheckBackend *c = CHK(b);
    const char *entry = "patchify";
    CHK_DEV(patches, F4((size_t)n * (S / ps) * (S / ps) * 3 * ps * ps), 0);
    CHK_DEV(pixels, F4((size_t)n * 3 * S * S), 0);
    CHK_RUN(patchify(c->inner, patches, pixels, n, S, ps));
}
static int chk_patch_positions(LlavaBackend *b, float *x, const float *pe, const float *class_emb, const float *pos_emb, int n, int P, int D) {
    CheckBackend *c = CHK(b);
    const char *entry = "patch_positions";
    CHK_DEV(x, F4((size_t)n * (P + 1) * D), 0);
    CHK_DEV(pe, F4((size_t)n * P * D), 0);
    CHK_DEV(class_emb, F4(D), 0);
    CHK_DEV(pos_emb, F4((size_t)(P + 1) * D), 0);
    CHK_RUN(patch_positions(c->inner, x, pe, class_emb, pos_emb, n, P, D));
}
static int chk_patch_positions_backward(LlavaBackend *b, float *dclass, float *dpos, float *dpe, const float *dx, int n, int P, int D) {
    CheckBackend *c = CHK(b);
    const char *entry = "patch_positions_backward";
    CHK_DEV(dclass, F4(D), 1);
    CHK_DEV(dpos, F4((size_t)(P + 1) * D), 1);
    CHK_DEV(dpe, F4((size_t)n * P * D), 1);
    CHK_DEV(dx, F4((size_t)n * (P + 1) * D), 0);
    CHK_RUN(patch_positions_backward(c->inner, dclass, dpos, dpe, dx, n, P, D));
}
static int chk_cross_entropy(LlavaBackend *b, double *loss, float *dlogits, const float *logits, const int *targets, int T, int V, float scale) {
    CheckBackend *c = CHK(b);
    const char *entry = "cross_entropy";
    if (!chk_host(c, entry, "loss", loss)) return LLAVA_ERR;
    CHK_DEV(dlogits, F4((size_t)T * V), 0);
    CHK_DEV(logits, F4((size_t)T * V), 0);
    CHK_DEV(targets, (size_t)T * sizeof(int), 0);
    CHK_RUN(cross_entropy(c->inner, loss, dlogits, logits, targets, T, V, scale));
}
static int chk_scale_sumsq(LlavaBackend *b, double *sumsq, float *x, float f, size_t n) {
    CheckBackend *c = CHK(b);
    const char *entry = "scale_sumsq";
    if (sumsq && !chk_host(c, entry, "sumsq", sumsq)) return LLAVA_ERR;
    CHK_DEV(x, F4(n), 0);
    CHK_RUN(scale_sumsq(c->inner, sumsq, x, f, n));
}
static int chk_adamw(LlavaBackend *b, float *p, float *m, float *v, const float *g, size_t n, float lr, float b1, float b2, float eps, float wd,
                     int t) {
    CheckBackend *c = CHK(b);
    const char *entry = "adamw";
    CHK_DEV(p, F4(n), 0);
    CHK_DEV(m, F4(n), 0);
    CHK_DEV(v, F4(n), 0);
    CHK_DEV(g, F4(n), 0);
    CHK_RUN(adamw(c->inner, p, m, v, g, n, lr, b1, b2, eps, wd, t));
}
#undef CHK_DEV
#undef CHK_RUN
#undef F4

/* --- making one --------------------------------------------------------------------------------------- */
/* region_bytes of address space reserved (not committed: MAP_NORESERVE), e.g. 1 GiB; NULL with the error set */
static CheckBackend *check_backend_new(size_t region_bytes) {
    CheckBackend *c = (CheckBackend *)calloc(1, sizeof *c);
    if (!c) {
        llava__err("check backend: out of memory");
        return NULL;
    }
    c->size = region_bytes;
    c->fail_after = -1;
    c->inner = llava_backend_cpu_new(LLAVA_PREC_F32);
    void *r = c->inner ? mmap(NULL, region_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) : MAP_FAILED;
    if (r == MAP_FAILED) {
        if (c->inner) llava__err("check backend: cannot reserve %zu bytes of address space", region_bytes);
        check_backend_free(c);
        return NULL;
    }
    c->base = (unsigned char *)r;
    LlavaBackend *b = &c->b;
    b->name = "cpu-remote";
    b->impl = c;
    b->precision = LLAVA_PREC_F32;
    b->host_memory = 0;
    b->alloc = chk_alloc, b->free = chk_free, b->upload = chk_upload, b->download = chk_download;
    b->copy = chk_copy, b->fill = chk_fill, b->map = chk_mapfn, b->unmap = chk_unmap, b->destroy = chk_destroy;
    b->matmul = chk_matmul, b->matmul_backward = chk_matmul_backward;
    b->layernorm = chk_layernorm, b->layernorm_backward = chk_layernorm_backward;
    b->rmsnorm = chk_rmsnorm, b->rmsnorm_backward = chk_rmsnorm_backward;
    b->rope = chk_rope, b->rope_backward = chk_rope_backward;
    b->attention_stash = chk_attention_stash;
    b->attention = chk_attention, b->attention_backward = chk_attention_backward;
    b->act = chk_act, b->act_backward = chk_act_backward;
    b->glu = chk_glu, b->glu_backward = chk_glu_backward;
    b->add = chk_add;
    b->embed = chk_embed, b->embed_backward = chk_embed_backward;
    b->patchify = chk_patchify;
    b->patch_positions = chk_patch_positions, b->patch_positions_backward = chk_patch_positions_backward;
    b->cross_entropy = chk_cross_entropy, b->scale_sumsq = chk_scale_sumsq, b->adamw = chk_adamw;
    c->next = chk_all;
    chk_all = c;
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = chk_segv;
        sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
    }
    return c;
}

/* zeroes the counters (not live, live_bytes: what is held now; peak_bytes restarts from it) */
LLAVA__MAYBE_UNUSED static void check_backend_reset(CheckBackend *c) {
    const size_t live = c->n.live, lb = c->n.live_bytes;
    memset(&c->n, 0, sizeof c->n);
    c->n.live = live, c->n.live_bytes = lb, c->n.peak_bytes = lb;
}

#undef CHK
#endif
