/* llava.h tests: ops against naive references, whole models against transformers' fixtures,
   preprocessing against CLIPImageProcessor, and malformed input. Prints one line per test and
   "N passed, N failed" at the end; exits non-zero on any failure.

   usage: test_llava [FIXTURES_DIR]   (default tests/fixtures, run from the repository root; --help) */
#define _DEFAULT_SOURCE /* (check_backend.h: MAP_ANONYMOUS, MAP_NORESERVE) */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
#include "check_backend.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_sub[2048]; /* detail from helpers such as load_fails() */

/* --- helpers ----------------------------------------------------------------------------------- */
static void *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    rewind(f);
    void *p = malloc(sz > 0 ? (size_t)sz : 1);
    if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (n) *n = (size_t)sz;
    return p;
}
static int write_all(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}
static int copy_file(const char *from, const char *to) {
    size_t n;
    void *p = read_all(from, &n);
    if (!p) return -1;
    int rc = write_all(to, p, n);
    free(p);
    return rc;
}
static float frand(uint64_t *s) { return llava_rng_uniform(s) * 2.0f - 1.0f; }
static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d != d ? INFINITY : d;
    }
    return m;
}
static int err_has(const char *needle) { return strstr(llava_last_error(), needle) != NULL; }

#ifdef LLAVA_TEST_FASTMATH
#define TOL_LOGITS 2e-4
#else
#define TOL_LOGITS 1e-4
#endif

/* --- ops ----------------------------------------------------------------------------------------- */
static int t_half_conversions(const void *arg) {
    (void)arg;
    uint64_t s = 7;
    int i;
    CHECK(llava__f16_to_f32(0x3c00) == 1.0f && llava__f16_to_f32(0xc000) == -2.0f, "f16 basics");
    CHECK(llava__f16_to_f32(0x0001) == 5.9604644775390625e-08f, "f16 subnormal");
    CHECK(llava__bf16_to_f32(0x3f80) == 1.0f, "bf16 basics");
    for (i = 0; i < 10000; i++) {
        float x = frand(&s) * 100.0f;
        float h = llava__f16_to_f32(llava__f32_to_f16(x)), b = llava__bf16_to_f32(llava__f32_to_bf16(x));
        CHECK(fabsf(h - x) <= fabsf(x) * (1.0f / 2048.0f) + 1e-7f, "f16 round trip of %g gave %g", x, h);
        CHECK(fabsf(b - x) <= fabsf(x) * (1.0f / 256.0f), "bf16 round trip of %g gave %g", x, b);
    }
    for (i = 0; i < 65536; i++) { /* every f16 value survives f16 -> f32 -> f16 */
        uint16_t h = (uint16_t)i;
        if (((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff)) continue; /* NaN payloads */
        CHECK(llava__f32_to_f16(llava__f16_to_f32(h)) == h, "f16 %04x does not round-trip", h);
    }
    return 1;
}

/* w[i] = v in dtype dt (0 f32, 1 f16, 2 bf16); returns the value as stored */
static float wstore(void *w, int dt, int i, float v) {
    if (dt == 0) return ((float *)w)[i] = v;
    if (dt == 1) return llava__f16_to_f32(((uint16_t *)w)[i] = llava__f32_to_f16(v));
    return llava__bf16_to_f32(((uint16_t *)w)[i] = llava__f32_to_bf16(v));
}

static int t_matmul(const void *arg) {
    (void)arg;
    static const int Ts[] = {1, 2, 3, 4, 6, 7, 13, 64}, Cs[] = {1, 5, 48, 257, 300, 512}, OCs[] = {1, 17, 32, 33, 70, 96};
    uint64_t s = 1;
    size_t a, b, c;
    int dt;
    for (dt = 0; dt < 3; dt++)
        for (a = 0; a < sizeof Ts / sizeof *Ts; a++)
            for (b = 0; b < sizeof Cs / sizeof *Cs; b++)
                for (c = 0; c < sizeof OCs / sizeof *OCs; c++) {
                    int T = Ts[a], C = Cs[b], OC = OCs[c], i;
                    float *in = (float *)malloc(sizeof(float) * T * C), *bias = (float *)malloc(sizeof(float) * OC);
                    float *o1 = (float *)malloc(sizeof(float) * T * OC), *o2 = (float *)malloc(sizeof(float) * T * OC);
                    void *w = malloc((size_t)4 * OC * C);
                    for (i = 0; i < T * C; i++) in[i] = frand(&s);
                    for (i = 0; i < OC; i++) bias[i] = frand(&s);
                    for (i = 0; i < OC * C; i++) wstore(w, dt, i, frand(&s));
                    LlavaWeight W = {w, (LlavaDType)dt, OC, C};
                    const float *bb = (c % 2) ? bias : NULL;
                    llava_matmul_forward(LLAVA_PREC_F32, o1, in, &W, bb, T, C, OC);
                    llava__matmul_naive(o2, in, &W, bb, T, C, OC);
                    double d = max_abs_diff(o1, o2, (size_t)T * OC);
                    free(in), free(bias), free(o1), free(o2), free(w);
                    CHECK(d <= 1e-5 * sqrt((double)C) + 1e-6, "dtype %d T=%d C=%d OC=%d: max error %g", dt, T, C, OC, d);
                }
    /* the other layout, B stored [K, N] (as the backward pass uses it), added to what out holds */
    for (dt = 0; dt < 3; dt++)
        for (a = 0; a < sizeof Ts / sizeof *Ts; a++)
            for (b = 0; b < sizeof Cs / sizeof *Cs; b++)
                for (c = 0; c < sizeof OCs / sizeof *OCs; c++) {
                    int M = Ts[a], K = Cs[b], N = OCs[c], i, m, n, k;
                    float *A = (float *)malloc(sizeof(float) * M * K), *Bf = (float *)malloc(sizeof(float) * K * N);
                    float *o = (float *)malloc(sizeof(float) * M * N), *o0 = (float *)malloc(sizeof(float) * M * N);
                    void *w = malloc((size_t)4 * K * N);
                    double d = 0.0;
                    for (i = 0; i < M * K; i++) A[i] = frand(&s);
                    for (i = 0; i < M * N; i++) o[i] = o0[i] = frand(&s);
                    for (i = 0; i < K * N; i++) Bf[i] = wstore(w, dt, i, frand(&s));
                    llava__gemm(NULL, o, A, w, (LlavaDType)dt, 1, NULL, M, K, N, 1);
                    for (m = 0; m < M; m++)
                        for (n = 0; n < N; n++) {
                            double ref = o0[(size_t)m * N + n];
                            for (k = 0; k < K; k++) ref += (double)A[(size_t)m * K + k] * Bf[(size_t)k * N + n];
                            d = fmax(d, fabs(ref - o[(size_t)m * N + n]));
                        }
                    free(A), free(Bf), free(o), free(o0), free(w);
                    CHECK(d <= 1e-5 * sqrt((double)K) + 1e-6, "B as [K,N], dtype %d M=%d K=%d N=%d: max error %g", dt, M, K, N, d);
                }
    return 1;
}

/* products in bf16 (emulated, and on AMX where this machine has it) against a double loop over the operands
   rounded to bf16: an f32 product would miss by far more than the tolerance */
static int t_matmul_bf16(const void *arg) {
    static const int Ms[] = {1, 4, 5, 33, 65, 100}, Ks[] = {1, 7, 32, 33, 100, 300, 600}, Ns[] = {1, 16, 17, 40, 70};
    const int precs[2] = {LLAVA__PREC_BF16, LLAVA__PREC_AMX}, np = *(const int *)arg ? 2 : 1;
    uint64_t s = 5;
    size_t a, b, c;
    int dt, bt, p;
    /* the rounding: ties to even, NaN kept, infinities and tiny values, in the vector body and the tail */
    static const float sp[] = {1.0f, 1.00390625f, 1.01171875f, -1.00390625f, 3.0e38f, -3.4e38f, 1.0e-40f, -0.0f, 0.0f};
    float x[37];
    uint16_t r[37];
    for (a = 0; a < 37; a++) x[a] = a < 9 ? sp[a] : a == 9 ? NAN : a == 10 ? INFINITY : frand(&s) * 1000.0f;
    llava__to_bf16(r, x, LLAVA_F32, 37);
    for (a = 0; a < 37; a++) {
        const uint16_t e = llava__f32_to_bf16(x[a]);
        CHECK(r[a] == e || (x[a] != x[a] && (r[a] & 0x7fc0) == 0x7fc0), "bf16 of %g: %04x, expected %04x", x[a], r[a], e);
    }
    CHECK(r[1] == 0x3f80 && r[2] == 0x3f82, "ties to even: %04x %04x", r[1], r[2]);
    for (p = 0; p < np; p++)
        for (dt = 0; dt < 3; dt++)
            for (bt = 0; bt < 2; bt++)
                for (a = 0; a < sizeof Ms / sizeof *Ms; a++)
                    for (b = 0; b < sizeof Ks / sizeof *Ks; b++)
                        for (c = 0; c < sizeof Ns / sizeof *Ns; c++) {
                            const int M = Ms[a], K = Ks[b], N = Ns[c], acc = (int)((a + b + c) % 2);
                            int i, m, n, k;
                            float *A = (float *)malloc(sizeof(float) * M * K), *Ar = (float *)malloc(sizeof(float) * M * K);
                            float *Br = (float *)malloc(sizeof(float) * K * N), *bias = (float *)malloc(sizeof(float) * N);
                            float *o = (float *)malloc(sizeof(float) * M * N), *o0 = (float *)malloc(sizeof(float) * M * N);
                            void *w = malloc((size_t)4 * K * N);
                            const float *bb = (b % 2) ? bias : NULL;
                            double d = 0.0;
                            for (i = 0; i < M * K; i++) A[i] = frand(&s), Ar[i] = llava__bf16_to_f32(llava__f32_to_bf16(A[i]));
                            for (i = 0; i < N; i++) bias[i] = frand(&s);
                            for (i = 0; i < M * N; i++) o[i] = o0[i] = frand(&s);
                            for (i = 0; i < K * N; i++) Br[i] = llava__bf16_to_f32(llava__f32_to_bf16(wstore(w, dt, i, frand(&s))));
                            llava__gemm_p(NULL, precs[p], o, A, w, (LlavaDType)dt, bt, bb, M, K, N, acc);
                            for (m = 0; m < M; m++)
                                for (n = 0; n < N; n++) {
                                    double ref = (acc ? o0[(size_t)m * N + n] : 0.0) + (bb ? bb[n] : 0.0);
                                    for (k = 0; k < K; k++)
                                        ref += (double)Ar[(size_t)m * K + k] * (bt ? Br[(size_t)k * N + n] : Br[(size_t)n * K + k]);
                                    d = fmax(d, fabs(ref - o[(size_t)m * N + n]));
                                }
                            free(A), free(Ar), free(Br), free(bias), free(o), free(o0), free(w);
                            CHECK(d <= 1e-5 * sqrt((double)K) + 1e-6, "%s, dtype %d, B as %s, M=%d K=%d N=%d%s%s: max error %g",
                                  p ? "AMX" : "emulated", dt, bt ? "[K,N]" : "[N,K]", M, K, N, bb ? ", bias" : "", acc ? ", accumulate" : "", d);
                        }
    /* the weight gradient, dw[OC,C] += dout^T in (on AMX, dout^T is packed from dout directly); K and T of 600
       take the AMX product's K in two chunks */
    for (p = 0; p < np; p++)
        for (a = 0; a < 5; a++)
            for (b = 0; b < 4; b++)
                for (c = 0; c < 4; c++) {
                    static const int Ts[] = {4, 5, 33, 65, 600}, Cs[] = {1, 7, 33, 100}, OCs[] = {3, 17, 40, 70};
                    const int T = Ts[a], C = Cs[b], OC = OCs[c];
                    int i, o, k, t;
                    float *dout = (float *)malloc(sizeof(float) * T * OC), *in = (float *)malloc(sizeof(float) * T * C);
                    float *dw = (float *)malloc(sizeof(float) * OC * C), *dw0 = (float *)malloc(sizeof(float) * OC * C);
                    float *wd = (float *)calloc((size_t)OC * C, sizeof(float));
                    LlavaWeight W = {wd, LLAVA_F32, OC, C};
                    double d = 0.0;
                    for (i = 0; i < T * OC; i++) dout[i] = frand(&s);
                    for (i = 0; i < T * C; i++) in[i] = frand(&s);
                    for (i = 0; i < OC * C; i++) dw[i] = dw0[i] = frand(&s);
                    llava__matmul_backward_p(NULL, precs[p], NULL, dw, NULL, dout, in, &W, T, C, OC);
                    for (o = 0; o < OC; o++)
                        for (k = 0; k < C; k++) {
                            double ref = dw0[(size_t)o * C + k];
                            for (t = 0; t < T; t++)
                                ref += (double)llava__bf16_to_f32(llava__f32_to_bf16(dout[(size_t)t * OC + o])) *
                                       llava__bf16_to_f32(llava__f32_to_bf16(in[(size_t)t * C + k]));
                            d = fmax(d, fabs(ref - dw[(size_t)o * C + k]));
                        }
                    free(dout), free(in), free(dw), free(dw0), free(wd);
                    CHECK(d <= 1e-5 * sqrt((double)T) + 1e-6, "%s weight gradient, T=%d C=%d OC=%d: max error %g", p ? "AMX" : "emulated", T, C, OC, d);
                }
    return 1;
}

/* attention, norms and rope against double-precision loops */
static int t_attention(const void *arg) {
    (void)arg;
    /* few queries (the row-at-a-time path) and many (the blocked matmul path, two blocks) */
    static const int Ts[2] = {5, 150};
    const int pos0 = 3, H = 4, KVH = 2, Dh = 6;
    uint64_t s = 3;
    static float q[150 * 24], k[153 * 12], v[153 * 12], out[150 * 24];
    static double sc[153];
    int i, t, h, j, causal, ti;
    for (ti = 0; ti < 2; ti++)
    for (causal = 0; causal < 2; causal++) {
        const int T = Ts[ti], S = pos0 + T;
        for (i = 0; i < T * 24; i++) q[i] = frand(&s) * 2;
        for (i = 0; i < S * 12; i++) k[i] = frand(&s) * 2, v[i] = frand(&s);
        llava_attention_forward(LLAVA_PREC_F32, out, NULL, q, k, v, T, S, pos0, H, KVH, Dh, causal);
        for (t = 0; t < T; t++)
            for (h = 0; h < H; h++) {
                int kh = h / (H / KVH), n = causal ? pos0 + t + 1 : S, ss;
                double mx = -1e300, sum = 0;
                for (ss = 0; ss < n; ss++) {
                    double d = 0;
                    for (j = 0; j < Dh; j++) d += (double)q[t * H * Dh + h * Dh + j] * k[ss * KVH * Dh + kh * Dh + j];
                    sc[ss] = d / sqrt((double)Dh);
                    if (sc[ss] > mx) mx = sc[ss];
                }
                for (ss = 0; ss < n; ss++) sum += (sc[ss] = exp(sc[ss] - mx));
                for (j = 0; j < Dh; j++) {
                    double o = 0;
                    for (ss = 0; ss < n; ss++) o += sc[ss] / sum * v[ss * KVH * Dh + kh * Dh + j];
                    CHECK(fabs(o - out[t * H * Dh + h * Dh + j]) < 1e-5, "T=%d causal=%d t=%d h=%d j=%d: %g vs %g", T, causal, t, h, j, o,
                          out[t * H * Dh + h * Dh + j]);
                }
            }
    }
    return 1;
}

static int t_norms_rope(const void *arg) {
    (void)arg;
    const int T = 3, C = 10;
    uint64_t s = 5;
    float x[30], w[10], b[10], o[30], inv[3];
    int t, i, h;
    for (i = 0; i < 30; i++) x[i] = frand(&s) * 3 + 1;
    for (i = 0; i < 10; i++) w[i] = frand(&s), b[i] = frand(&s);
    llava__layernorm_forward(o, NULL, NULL, x, w, b, T, C, 1e-5f);
    for (t = 0; t < T; t++) {
        double m = 0, var = 0;
        for (i = 0; i < C; i++) m += x[t * C + i];
        m /= C;
        for (i = 0; i < C; i++) var += (x[t * C + i] - m) * (x[t * C + i] - m);
        var /= C;
        for (i = 0; i < C; i++) CHECK(fabs((x[t * C + i] - m) / sqrt(var + 1e-5) * w[i] + b[i] - o[t * C + i]) < 1e-5, "layernorm");
    }
    llava__rmsnorm_forward(o, NULL, x, w, T, C, 1e-6f);
    for (t = 0; t < T; t++) {
        double ss = 0;
        for (i = 0; i < C; i++) ss += (double)x[t * C + i] * x[t * C + i];
        for (i = 0; i < C; i++) CHECK(fabs(x[t * C + i] / sqrt(ss / C + 1e-6) * w[i] - o[t * C + i]) < 1e-5, "rmsnorm");
    }
    /* rope: 2 heads of width 6 at positions 7, 8, 9 */
    for (i = 0; i < 3; i++) inv[i] = (float)(1.0 / pow(10000.0, 2.0 * i / 6));
    float r[36], r0[36];
    for (i = 0; i < 36; i++) r[i] = r0[i] = frand(&s);
    llava__rope_forward(r, inv, 7, 3, 2, 6);
    for (t = 0; t < 3; t++)
        for (h = 0; h < 2; h++)
            for (i = 0; i < 3; i++) {
                double f = (7 + t) * (double)inv[i], a = r0[t * 12 + h * 6 + i], bb = r0[t * 12 + h * 6 + i + 3];
                CHECK(fabs(a * cos(f) - bb * sin(f) - r[t * 12 + h * 6 + i]) < 1e-5, "rope first half");
                CHECK(fabs(bb * cos(f) + a * sin(f) - r[t * 12 + h * 6 + i + 3]) < 1e-5, "rope second half");
            }
    /* activations */
    CHECK(fabsf(llava__act1(1.0f, LLAVA_ACT_GELU) - 0.8413447f) < 1e-6f, "gelu(1)");
    CHECK(fabsf(llava__act1(1.0f, LLAVA_ACT_QUICK_GELU) - (float)(1.0 / (1.0 + exp(-1.702)))) < 1e-6f, "quick_gelu(1)");
    CHECK(fabsf(llava__act1(-2.0f, LLAVA_ACT_SILU) - (float)(-2.0 / (1.0 + exp(2.0)))) < 1e-6f, "silu(-2)");
    {   /* the vectorized exp (softmax, cross-entropy) and sigmoid activations, tails included */
        enum { NE = 2001 };
#ifdef LLAVA_TEST_FASTMATH
        const double EXP_TOL = 2e-5; /* -ffast-math reassociates the reduction by ln 2's two parts */
#else
        const double EXP_TOL = 3.6e-7; /* 3 ulp */
#endif
        static float e[NE], y[NE], g[NE], one[NE];
        double sum = 0.0;
        for (i = 0; i < NE; i++) e[i] = -87.0f + 175.0f * i / (NE - 1), one[i] = 1.0f;
        llava__exp_shift(e, NE, 0.5f);
        for (i = 0; i < NE; i++) {
            const float x = -87.0f + 175.0f * i / (NE - 1);
            const double want = exp((double)(x - 0.5f));
            CHECK(fabs(e[i] - want) <= EXP_TOL * want + 1.2e-38, "exp(%.4f): %.9g, want %.9g", x - 0.5, e[i], want);
        }
        for (i = 0; i < NE; i++) e[i] = -9.0f + 18.0f * i / (NE - 1), sum += exp((double)(e[i] - 9.0f));
        const float got = llava__exp_shift(e, NE, 9.0f); /* as a softmax calls it, with the maximum */
        CHECK(fabs(got - sum) <= 1e-5 * sum, "exp sum %.9g, want %.9g", got, sum);
        for (i = 0; i < 64; i++) { /* vector and scalar tail alike */
            e[i] = i % 3 == 0 ? -1000.0f : i % 3 == 1 ? 1000.0f : NAN;
            y[i] = e[i];
        }
        llava__exp_shift(e, 64, 0.0f);
        llava__exp_shift(y + 63, 1, 0.0f);
        for (i = 0; i < 64; i++) {
            CHECK(i % 3 != 0 || e[i] == 0.0f, "exp(-1000) = %g", e[i]);
            CHECK(i % 3 != 1 || e[i] > 3.4e38f, "exp(1000) = %g", e[i]);
#ifndef LLAVA_TEST_FASTMATH
            CHECK(i % 3 != 2 || e[i] != e[i], "exp(NaN) = %g", e[i]);
#endif
        }
        CHECK(y[63] == e[63], "exp(-1000): tail %g, vector %g", y[63], e[63]);
        LlavaAct acts[2] = {LLAVA_ACT_SILU, LLAVA_ACT_QUICK_GELU};
        for (t = 0; t < 2; t++) {
            const double k = acts[t] == LLAVA_ACT_SILU ? 1.0 : 1.702;
            for (i = 0; i < 37; i++) y[i] = e[i] = -9.0f + 0.5f * i;
            llava__act_forward(y, 37, acts[t]);
            llava__act_backward(g, one, e, 37, acts[t]);
            for (i = 0; i < 37; i++) {
                const double x = e[i], sg = 1.0 / (1.0 + exp(-k * x)), dg = sg + k * x * sg * (1.0 - sg);
                CHECK(fabs(y[i] - x * sg) < 2e-6 * (1.0 + fabs(x)), "act %d (%g): %.8g, want %.8g", t, x, y[i], x * sg);
                CHECK(fabs(g[i] - dg) < 2e-6 * (1.0 + fabs(x)), "act %d' (%g): %.8g, want %.8g", t, x, g[i], dg);
            }
        }
    }
    return 1;
}

/* --- backward passes against central finite differences ------------------------------------------
   Each op is wrapped as out = f(x) over one flat input vector x (all its inputs); with L = <out, R> for
   a random R, the analytic dL/dx from the backward kernel is compared with (L(x+h) - L(x-h)) / 2h at
   every coordinate. f32 throughout, h = 1e-2 on unit-scale inputs: truncation error ~h^2, rounding
   ~1e-7/h, so the stated tolerance is 2e-3 relative to the largest gradient. */
typedef struct {
    int T, C, OC, H, KVH, Dh, causal;
    LlavaAct act;
} fdctx;
typedef void (*fd_fwd)(const fdctx *c, const float *x, float *out);
typedef void (*fd_bwd)(const fdctx *c, const float *x, const float *dout, float *dx);

static int fd_check(const char *what, const fdctx *c, fd_fwd f, fd_bwd b, int nx, int nout, uint64_t seed) {
    float *x = (float *)calloc(nx, 4), *out = (float *)calloc(nout, 4), *R = (float *)calloc(nout, 4), *dx = (float *)calloc(nx, 4);
    uint64_t s = seed;
    int i, j, ok = 1;
    double gmax = 0, worst = 0;
    for (i = 0; i < nx; i++) x[i] = frand(&s);
    for (i = 0; i < nout; i++) R[i] = frand(&s);
    b(c, x, R, dx);
    for (i = 0; i < nx; i++) gmax = fmax(gmax, fabs(dx[i]));
    for (i = 0; i < nx; i++) {
        const float h = 1e-2f, x0 = x[i];
        double lp = 0, lm = 0;
        x[i] = x0 + h;
        f(c, x, out);
        for (j = 0; j < nout; j++) lp += (double)out[j] * R[j];
        x[i] = x0 - h;
        f(c, x, out);
        for (j = 0; j < nout; j++) lm += (double)out[j] * R[j];
        x[i] = x0;
        double fdv = (lp - lm) / (2.0 * h), err = fabs(fdv - dx[i]);
        if (err > worst) worst = err;
        if (err > 2e-3 * fmax(1.0, gmax)) {
            snprintf(g_sub, sizeof g_sub, "%s: coordinate %d: analytic %g, finite difference %g", what, i, dx[i], fdv);
            ok = 0;
            break;
        }
    }
    free(x), free(out), free(R), free(dx);
    return ok;
}

/* matmul: x = [in (T*C) | w (OC*C) | b (OC)] */
static void fd_mm_f(const fdctx *c, const float *x, float *out) {
    LlavaWeight w = {x + c->T * c->C, LLAVA_F32, c->OC, c->C};
    llava_matmul_forward(LLAVA_PREC_F32, out, x, &w, x + c->T * c->C + c->OC * c->C, c->T, c->C, c->OC);
}
static void fd_mm_b(const fdctx *c, const float *x, const float *d, float *dx) {
    LlavaWeight w = {x + c->T * c->C, LLAVA_F32, c->OC, c->C};
    memset(dx, 0, sizeof(float) * (c->T * c->C + c->OC * c->C + c->OC));
    llava_matmul_backward(LLAVA_PREC_F32, dx, dx + c->T * c->C, dx + c->T * c->C + c->OC * c->C, d, x, &w, c->T, c->C, c->OC);
}
/* layernorm: x = [in | w | b] */
static void fd_ln_f(const fdctx *c, const float *x, float *out) {
    llava__layernorm_forward(out, NULL, NULL, x, x + c->T * c->C, x + c->T * c->C + c->C, c->T, c->C, 1e-5f);
}
static void fd_ln_b(const fdctx *c, const float *x, const float *d, float *dx) {
    float mean[16], rstd[16], *out = (float *)malloc(sizeof(float) * c->T * c->C);
    llava__layernorm_forward(out, mean, rstd, x, x + c->T * c->C, x + c->T * c->C + c->C, c->T, c->C, 1e-5f);
    memset(dx, 0, sizeof(float) * (c->T * c->C + 2 * c->C));
    llava__layernorm_backward(dx, dx + c->T * c->C, dx + c->T * c->C + c->C, d, x, x + c->T * c->C, mean, rstd, c->T, c->C);
    free(out);
}
/* rmsnorm: x = [in | w] */
static void fd_rms_f(const fdctx *c, const float *x, float *out) { llava__rmsnorm_forward(out, NULL, x, x + c->T * c->C, c->T, c->C, 1e-6f); }
static void fd_rms_b(const fdctx *c, const float *x, const float *d, float *dx) {
    float rstd[16], *out = (float *)malloc(sizeof(float) * c->T * c->C);
    llava__rmsnorm_forward(out, rstd, x, x + c->T * c->C, c->T, c->C, 1e-6f);
    memset(dx, 0, sizeof(float) * (c->T * c->C + c->C));
    llava__rmsnorm_backward(dx, dx + c->T * c->C, d, x, x + c->T * c->C, rstd, c->T, c->C);
    free(out);
}
/* rope at positions 3.. : x = [T, H*Dh] */
static const float *fd_inv(int Dh) {
    static float inv[64];
    int i;
    for (i = 0; i < Dh / 2; i++) inv[i] = (float)(1.0 / pow(10000.0, 2.0 * i / Dh));
    return inv;
}
static void fd_rope_f(const fdctx *c, const float *x, float *out) {
    memcpy(out, x, sizeof(float) * c->T * c->H * c->Dh);
    llava__rope_forward(out, fd_inv(c->Dh), 3, c->T, c->H, c->Dh);
}
static void fd_rope_b(const fdctx *c, const float *x, const float *d, float *dx) {
    (void)x;
    memcpy(dx, d, sizeof(float) * c->T * c->H * c->Dh);
    llava__rope_backward(dx, fd_inv(c->Dh), 3, c->T, c->H, c->Dh);
}
/* attention: x = [q (T*H*Dh) | k (T*KVH*Dh) | v (T*KVH*Dh)] */
static void fd_att_f(const fdctx *c, const float *x, float *out) {
    const int nq = c->T * c->H * c->Dh, nk = c->T * c->KVH * c->Dh;
    llava_attention_forward(LLAVA_PREC_F32, out, NULL, x, x + nq, x + nq + nk, c->T, c->T, 0, c->H, c->KVH, c->Dh, c->causal);
}
static void fd_att_b(const fdctx *c, const float *x, const float *d, float *dx) {
    const int nq = c->T * c->H * c->Dh, nk = c->T * c->KVH * c->Dh;
    float *out = (float *)malloc(sizeof(float) * nq), *P = (float *)malloc(sizeof(float) * c->H * c->T * c->T);
    llava_attention_forward(LLAVA_PREC_F32, out, P, x, x + nq, x + nq + nk, c->T, c->T, 0, c->H, c->KVH, c->Dh, c->causal);
    llava_attention_backward(LLAVA_PREC_F32, dx, dx + nq, dx + nq + nk, d, P, x, x + nq, x + nq + nk, c->T, c->H, c->KVH, c->Dh);
    free(out), free(P);
}
static void fd_act_f(const fdctx *c, const float *x, float *out) {
    memcpy(out, x, sizeof(float) * c->T);
    llava__act_forward(out, (size_t)c->T, c->act);
}
static void fd_act_b(const fdctx *c, const float *x, const float *d, float *dx) { llava__act_backward(dx, d, x, (size_t)c->T, c->act); }
/* glu: x = [gate | up] */
static void fd_glu_f(const fdctx *c, const float *x, float *out) { llava__glu_forward(out, x, x + c->T, (size_t)c->T, c->act); }
static void fd_glu_b(const fdctx *c, const float *x, const float *d, float *dx) {
    llava__glu_backward(dx, dx + c->T, d, x, x + c->T, (size_t)c->T, c->act);
}
/* cross-entropy: x = logits [T, OC]; out = [loss] with targets t % OC, every other row unsupervised */
static void fd_ce_targets(const fdctx *c, int *tg) {
    int t;
    for (t = 0; t < c->T; t++) tg[t] = t % 2 ? -100 : (t * 7) % c->OC;
}
static void fd_ce_f(const fdctx *c, const float *x, float *out) {
    int tg[16];
    float *d = (float *)malloc(sizeof(float) * c->T * c->OC);
    fd_ce_targets(c, tg);
    out[0] = (float)llava__crossentropy_forward_backward(d, x, tg, c->T, c->OC, 1.0f);
    free(d);
}
static void fd_ce_b(const fdctx *c, const float *x, const float *d, float *dx) {
    int tg[16];
    fd_ce_targets(c, tg);
    llava__crossentropy_forward_backward(dx, x, tg, c->T, c->OC, d[0]);
}

static int t_backward_fd(const void *arg) {
    (void)arg;
    fdctx c;
    memset(&c, 0, sizeof c);
    c.T = 7, c.C = 9, c.OC = 5;
    CHECK(fd_check("matmul", &c, fd_mm_f, fd_mm_b, c.T * c.C + c.OC * c.C + c.OC, c.T * c.OC, 1), "%s", g_sub);
    c.T = 9, c.C = 40, c.OC = 37; /* large enough for the blocked kernel */
    CHECK(fd_check("matmul (blocked)", &c, fd_mm_f, fd_mm_b, c.T * c.C + c.OC * c.C + c.OC, c.T * c.OC, 2), "%s", g_sub);
    c.T = 4, c.C = 6;
    CHECK(fd_check("layernorm", &c, fd_ln_f, fd_ln_b, c.T * c.C + 2 * c.C, c.T * c.C, 3), "%s", g_sub);
    CHECK(fd_check("rmsnorm", &c, fd_rms_f, fd_rms_b, c.T * c.C + c.C, c.T * c.C, 4), "%s", g_sub);
    c.T = 3, c.H = 2, c.Dh = 8;
    CHECK(fd_check("rope", &c, fd_rope_f, fd_rope_b, c.T * c.H * c.Dh, c.T * c.H * c.Dh, 5), "%s", g_sub);
    int causal, big;
    for (big = 0; big < 2; big++)
        for (causal = 0; causal < 2; causal++) {
            c.T = big ? 17 : 5, c.H = 4, c.KVH = 2, c.Dh = 3, c.causal = causal;
            CHECK(fd_check(causal ? "attention (causal, GQA)" : "attention (bidirectional, GQA)", &c, fd_att_f, fd_att_b,
                           c.T * (c.H + 2 * c.KVH) * c.Dh, c.T * c.H * c.Dh, 6 + causal), "%s", g_sub);
        }
    static const LlavaAct acts[5] = {LLAVA_ACT_GELU, LLAVA_ACT_QUICK_GELU, LLAVA_ACT_GELU_TANH, LLAVA_ACT_SILU, LLAVA_ACT_RELU};
    int a;
    for (a = 0; a < 5; a++) {
        c.T = 20, c.act = acts[a];
        if (acts[a] != LLAVA_ACT_RELU) CHECK(fd_check("activation", &c, fd_act_f, fd_act_b, c.T, c.T, 10 + a), "act %d: %s", a, g_sub);
        CHECK(fd_check("glu", &c, fd_glu_f, fd_glu_b, 2 * c.T, c.T, 20 + a), "act %d: %s", a, g_sub);
    }
    c.T = 6, c.OC = 11;
    CHECK(fd_check("cross-entropy", &c, fd_ce_f, fd_ce_b, c.T * c.OC, 1, 30), "%s", g_sub);
    return 1;
}

/* the public layers (llava_matmul_forward, ...) are the kernels the model runs: bit-identical to them, and
   llava_matmul_reference to the naive loop */
static int t_layers_public(const void *arg) {
    const int T = 37, C = 48, OC = 40, H = 4, KVH = 2, Dh = 12, S = 37;
    const int bf16prec = llava__amx_available() ? LLAVA__PREC_AMX : LLAVA__PREC_BF16;
    const size_t nbig = (size_t)T * C * 2 + (size_t)OC * C + (size_t)H * T * S + 4096;
    float *a = (float *)malloc(sizeof(float) * nbig * 12);
    float *x = a, *y = x + nbig, *wf = y + nbig, *bias = wf + nbig, *o1 = bias + nbig, *o2 = o1 + nbig;
    float *g1 = o2 + nbig, *g2 = g1 + nbig, *h1 = g2 + nbig, *h2 = h1 + nbig, *k1 = h2 + nbig, *k2 = k1 + nbig;
    uint16_t wb[48 * 40];
    uint64_t s = 77;
    size_t i;
    int p, dt, causal, act;
    (void)arg;
    if (!a) return 0;
    for (i = 0; i < nbig; i++) x[i] = frand(&s), y[i] = frand(&s), wf[i] = frand(&s), bias[i] = frand(&s);
    for (i = 0; i < (size_t)OC * C; i++) wb[i] = llava__f32_to_bf16(wf[i]);
#define SAME(A, B, N, ...) CHECK(!memcmp((A), (B), sizeof(float) * (size_t)(N)), __VA_ARGS__)
    for (p = 0; p < 2; p++)
        for (dt = 0; dt < 2; dt++) {
            const LlavaPrecision pub = p ? LLAVA_PREC_BF16 : LLAVA_PREC_F32;
            const int prec = p ? bf16prec : LLAVA__PREC_F32;
            LlavaWeight W = {dt ? (const void *)wb : (const void *)wf, dt ? LLAVA_BF16 : LLAVA_F32, OC, C};
            llava_matmul_forward(pub, o1, x, &W, bias, T, C, OC);
            llava__matmul_forward_p(NULL, prec, o2, x, &W, bias, T, C, OC);
            SAME(o1, o2, T * OC, "matmul forward, precision %d, dtype %d", p, dt);
            for (i = 0; i < (size_t)T * C; i++) g1[i] = g2[i] = y[i];
            for (i = 0; i < (size_t)OC * C; i++) h1[i] = h2[i] = y[i + 1];
            for (i = 0; i < (size_t)OC; i++) k1[i] = k2[i] = y[i + 2];
            llava_matmul_backward(pub, g1, h1, k1, x, y, &W, T, C, OC);
            llava__matmul_backward_p(NULL, prec, g2, h2, k2, x, y, &W, T, C, OC);
            SAME(g1, g2, T * C, "matmul backward din, precision %d, dtype %d", p, dt);
            SAME(h1, h2, OC * C, "matmul backward dw, precision %d, dtype %d", p, dt);
            SAME(k1, k2, OC, "matmul backward db, precision %d, dtype %d", p, dt);
            if (p == 0) {
                llava_matmul_reference(o1, x, &W, bias, T, C, OC);
                llava__matmul_naive(o2, x, &W, bias, T, C, OC);
                SAME(o1, o2, T * OC, "matmul reference, dtype %d", dt);
                llava_matmul_forward(pub, o2, x, &W, bias, T, C, OC);
                CHECK(max_abs_diff(o1, o2, (size_t)T * OC) < 1e-4, "matmul vs reference, dtype %d: %g", dt,
                      max_abs_diff(o1, o2, (size_t)T * OC));
            }
        }
    llava_layernorm_forward(o1, h1, k1, x, wf, bias, T, C, 1e-5f);
    llava__layernorm_forward(o2, h2, k2, x, wf, bias, T, C, 1e-5f);
    SAME(o1, o2, T * C, "layernorm forward");
    SAME(h1, h2, T, "layernorm mean");
    SAME(k1, k2, T, "layernorm rstd");
    for (i = 0; i < (size_t)T * C + 2 * C; i++) g1[i] = g2[i] = y[i];
    llava_layernorm_backward(g1, g1 + T * C, g1 + T * C + C, y, x, wf, h1, k1, T, C);
    llava__layernorm_backward(g2, g2 + T * C, g2 + T * C + C, y, x, wf, h2, k2, T, C);
    SAME(g1, g2, T * C + 2 * C, "layernorm backward");
    for (act = 0; act <= LLAVA_ACT_RELU; act++) {
        memcpy(o1, x, sizeof(float) * T * C);
        memcpy(o2, x, sizeof(float) * T * C);
        llava_act_forward(o1, (size_t)T * C, (LlavaAct)act);
        llava__act_forward(o2, (size_t)T * C, (LlavaAct)act);
        SAME(o1, o2, T * C, "activation %d forward", act);
        llava_act_backward(g1, y, x, (size_t)T * C, (LlavaAct)act);
        llava__act_backward(g2, y, x, (size_t)T * C, (LlavaAct)act);
        SAME(g1, g2, T * C, "activation %d backward", act);
    }
    for (p = 0; p < 2; p++)
        for (causal = 0; causal < 2; causal++) {
            const LlavaPrecision pub = p ? LLAVA_PREC_BF16 : LLAVA_PREC_F32;
            const int prec = p ? bf16prec : LLAVA__PREC_F32;
            const float *q = x, *k = y, *v = wf;
            llava_attention_forward(pub, o1, h1, q, k, v, T, S, 0, H, KVH, Dh, causal);
            llava__attention_forward_p(NULL, prec, o2, h2, q, k, v, T, S, 0, H, KVH, Dh, causal);
            SAME(o1, o2, T * H * Dh, "attention forward, precision %d, causal %d", p, causal);
            SAME(h1, h2, H * T * S, "attention probabilities, precision %d, causal %d", p, causal);
            llava_attention_backward(pub, g1, k1, k1 + T * KVH * Dh, bias, h1, q, k, v, T, H, KVH, Dh);
            llava__attention_backward_p(NULL, prec, g2, k2, k2 + T * KVH * Dh, bias, h2, q, k, v, T, H, KVH, Dh);
            SAME(g1, g2, T * H * Dh, "attention backward dq, precision %d, causal %d", p, causal);
            SAME(k1, k2, 2 * T * KVH * Dh, "attention backward dk, dv, precision %d, causal %d", p, causal);
        }
    /* a cached prefix: 5 queries at positions 32..36 of S keys */
    llava_attention_forward(LLAVA_PREC_F32, o1, h1, x, y, wf, 5, S, S - 5, H, KVH, Dh, 1);
    llava__attention_forward_p(NULL, LLAVA__PREC_F32, o2, h2, x, y, wf, 5, S, S - 5, H, KVH, Dh, 1);
    SAME(o1, o2, 5 * H * Dh, "attention with pos0");
    SAME(h1, h2, H * 5 * S, "attention probabilities with pos0");
    for (i = 0; i < 3000; i++) o1[i] = o2[i] = x[i], g1[i] = g2[i] = 0.01f * y[i], h1[i] = h2[i] = 0.001f * fabsf(wf[i]);
    for (int t = 1; t <= 3; t++) {
        llava_adamw(o1, g1, h1, bias, 3000, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, t);
        llava__adamw(o2, g2, h2, bias, 3000, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, t);
    }
    SAME(o1, o2, 3000, "adamw parameters");
    SAME(g1, g2, 3000, "adamw first moment");
    SAME(h1, h2, 3000, "adamw second moment");
    llava_add(o1, y, 3000);
    llava__add(o2, y, 3000);
    SAME(o1, o2, 3000, "add");
#undef SAME
    free(a);
    return 1;
}

static int t_json(const void *arg) {
    (void)arg;
    const char *good = " {\"a\": [1, -2.5e3, true, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\": {\"c\": false}} ";
    LlavaJson j;
    CHECK(llava_json_parse(&j, good, strlen(good), "good") == LLAVA_OK, "valid JSON rejected: %s", llava_last_error());
    const LlavaJsonNode *a = llava_json_get(&j, &j.nodes[0], "a");
    CHECK(a && a->count == 5, "array");
    CHECK(llava_json_at(&j, a, 1)->num == -2500.0, "number");
    CHECK(!strcmp(llava_json_at(&j, a, 4)->str, "x\xc3\xa9\xf0\x9f\x98\x80\n"), "unicode escapes");
    CHECK(llava_json_get(&j, llava_json_get(&j, &j.nodes[0], "b"), "c")->type == LLAVA_JSON_BOOL, "nested");
    llava_json_free(&j);
    static const char *bad[] = {"", "{", "{\"a\" 1}", "[1,]", "{\"a\":1,}", "\"abc", "[1 2]", "{} x", "[\"\\q\"]", "nul", "[-]"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(llava_json_parse(&j, bad[i], strlen(bad[i]), "bad") != LLAVA_OK, "accepted bad JSON '%s'", bad[i]);
        CHECK(err_has("malformed JSON"), "message for '%s': %s", bad[i], llava_last_error());
        llava_json_free(&j);
    }
    /* deep nesting is refused, not a stack overflow */
    char deep[2001];
    memset(deep, '[', 2000);
    deep[2000] = 0;
    CHECK(llava_json_parse(&j, deep, 2000, "deep") != LLAVA_OK && err_has("deep"), "deep nesting: %s", llava_last_error());
    llava_json_free(&j);
    return 1;
}

static int t_sampling(const void *arg) {
    (void)arg;
    float logits[50];
    int i, counts[50] = {0};
    uint64_t s = 11;
    for (i = 0; i < 50; i++) logits[i] = frand(&s) * 3;
    int best = llava_argmax(logits, 50);
    LlavaSampling p;
    memset(&p, 0, sizeof p);
    LlavaSampler sm;
    llava_sampler_init(&sm, &p);
    CHECK(llava_sample(&sm, logits, 50) == best, "temperature 0 is greedy");
    llava_sampler_free(&sm);
    p.temperature = 1.0f;
    p.top_k = 1;
    p.seed = 5;
    llava_sampler_init(&sm, &p);
    for (i = 0; i < 20; i++) CHECK(llava_sample(&sm, logits, 50) == best, "top_k 1 is greedy");
    llava_sampler_free(&sm);
    p.top_k = 3;
    llava_sampler_init(&sm, &p);
    for (i = 0; i < 2000; i++) counts[llava_sample(&sm, logits, 50)]++;
    llava_sampler_free(&sm);
    int distinct = 0;
    for (i = 0; i < 50; i++) distinct += counts[i] > 0;
    CHECK(distinct == 3, "top_k 3 drew %d distinct tokens", distinct);
    /* the same seed gives the same draws */
    p.top_k = 0;
    p.top_p = 0.9f;
    int x[30], y[30];
    llava_sampler_init(&sm, &p);
    for (i = 0; i < 30; i++) x[i] = llava_sample(&sm, logits, 50);
    llava_sampler_free(&sm);
    llava_sampler_init(&sm, &p);
    for (i = 0; i < 30; i++) y[i] = llava_sample(&sm, logits, 50);
    llava_sampler_free(&sm);
    CHECK(!memcmp(x, y, sizeof x), "seeded sampling is not reproducible");
    return 1;
}

/* --- whole models against transformers ------------------------------------------------------------- */
#include "manifest.h"

typedef struct {
    char image[128], pixels[128];
    int size, pad, alpha_white;
} fpre;
static fpre g_pre[64];
static int g_npre;

/* the preprocessing cases of manifest.json */
static void manifest_pre(const LlavaJson *j) {
    const LlavaJsonNode *c, *x;
    const LlavaJsonNode *ps = llava_json_get(j, &j->nodes[0], "preprocess");
    for (c = llava_json_first(j, ps); c && g_npre < 64; c = llava_json_next(j, c)) {
        fpre *p = &g_pre[g_npre++];
        snprintf(p->image, sizeof p->image, "%s", llava_json_get(j, c, "image")->str);
        snprintf(p->pixels, sizeof p->pixels, "%s", llava_json_get(j, c, "pixels")->str);
        p->size = (int)llava_json_get(j, c, "size")->num;
        p->pad = !strcmp(llava_json_get(j, c, "mode")->str, "pad");
        x = llava_json_get(j, c, "alpha");
        p->alpha_white = !(x && x->type == LLAVA_JSON_STR && !strcmp(x->str, "drop"));
    }
}

/* logits of every position within TOL_LOGITS; 32 greedy ids identical; KV-cached decoding equal to
   full recomputation within 1e-5 */
static int t_case(const void *arg) {
    const fcase *f = (const fcase *)arg;
    LlavaModel *m = llava_model_load(f->model);
    CHECK(m, "load: %s", llava_last_error());
    const int V = llava_model_config(m)->text_vocab;
    int T = llava_expanded_length(m, f->ids, f->n_ids), i, ok = 1;
    size_t n;
    float *pixels = f->pixels[0] ? (float *)read_all(f->pixels, &n) : NULL;
    float *ref = (float *)read_all(f->logits, &n);
    float *all = (float *)malloc(sizeof(float) * (size_t)(T + f->n_greedy) * V);
    float *steps = (float *)malloc(sizeof(float) * (size_t)f->n_greedy * V);
    int *ids2 = (int *)malloc(sizeof(int) * (f->n_ids + f->n_greedy)), gen[64], n_gen = 0;
    LlavaContext *ctx = llava_context_new(m, T + f->n_greedy);
    snprintf(g_msg, sizeof g_msg, "setup");
    if (V != f->vocab || T != f->positions || !ref || n != sizeof(float) * (size_t)T * V || !ctx) {
        snprintf(g_msg, sizeof g_msg, "vocab %d/%d positions %d/%d: %s", V, f->vocab, T, f->positions, llava_last_error());
        ok = 0;
    }
    if (ok && llava_eval(ctx, f->ids, f->n_ids, pixels, f->n_images, all) != T) {
        snprintf(g_msg, sizeof g_msg, "eval: %s", llava_last_error());
        ok = 0;
    }
    if (ok) {
        double d = max_abs_diff(all, ref, (size_t)T * V);
        if (d > TOL_LOGITS) snprintf(g_msg, sizeof g_msg, "logits max abs error %g > %g", d, TOL_LOGITS), ok = 0;
    }
    /* greedy continuation with the KV cache */
    if (ok) {
        LlavaSampling s;
        memset(&s, 0, sizeof s);
        s.ignore_eos = 1;
        if (llava_generate(ctx, NULL, 0, NULL, 0, &s, f->n_greedy, gen, &n_gen, NULL, NULL) != LLAVA_OK || n_gen != f->n_greedy) {
            snprintf(g_msg, sizeof g_msg, "generate: %s", llava_last_error());
            ok = 0;
        }
        for (i = 0; ok && i < n_gen; i++)
            if (gen[i] != f->greedy[i]) snprintf(g_msg, sizeof g_msg, "greedy id %d: %d, transformers %d", i, gen[i], f->greedy[i]), ok = 0;
    }
    /* decoding token by token from the cache == recomputing the whole sequence */
    if (ok) {
        llava_context_reset(ctx);
        ok = llava_eval(ctx, f->ids, f->n_ids, pixels, f->n_images, NULL) == T;
        for (i = 0; ok && i < f->n_greedy; i++) {
            const float *l = llava_step(ctx, f->greedy[i]);
            if (!l) ok = 0;
            else memcpy(steps + (size_t)i * V, l, sizeof(float) * V);
        }
        memcpy(ids2, f->ids, sizeof(int) * f->n_ids);
        memcpy(ids2 + f->n_ids, f->greedy, sizeof(int) * f->n_greedy);
        llava_context_reset(ctx);
        if (ok && llava_eval(ctx, ids2, f->n_ids + f->n_greedy, pixels, f->n_images, all) != T + f->n_greedy) ok = 0;
        if (!ok) snprintf(g_msg, sizeof g_msg, "kv check: %s", llava_last_error());
        /* step i's logits are those of position T + i */
        double d = ok ? max_abs_diff(steps, all + (size_t)T * V, (size_t)(f->n_greedy) * V) : 0;
        if (ok && d > 1e-5) snprintf(g_msg, sizeof g_msg, "KV-cached logits differ from recomputation by %g", d), ok = 0;
    }
    llava_context_free(ctx);
    llava_model_free(m);
    free(pixels), free(ref), free(all), free(steps), free(ids2);
    return ok;
}

/* --- preprocessing against CLIPImageProcessor ---------------------------------------------------------- */
static int t_preprocess(const void *arg) {
    const fpre *p = (const fpre *)arg;
    LlavaConfig cfg;
    LlavaImage img;
    int i, c;
    memset(&cfg, 0, sizeof cfg);
    llava_preprocess_defaults(&cfg, p->size);
    cfg.pre_alpha_white = p->alpha_white;
    CHECK(llava_image_load(&img, fx(p->image)) == LLAVA_OK, "load %s: %s", p->image, llava_last_error());
    size_t n, np = (size_t)3 * p->size * p->size;
    float *ref = (float *)read_all(fx(p->pixels), &n), *out = (float *)malloc(np * sizeof(float));
    int rc = llava_preprocess(&cfg, &img, p->pad ? LLAVA_PRE_PAD : LLAVA_PRE_CROP, out);
    llava_image_free(&img);
    double worst = 0;
    if (rc == LLAVA_OK && ref && n == np * sizeof(float))
        for (c = 0; c < 3; c++)
            for (i = 0; i < p->size * p->size; i++) {
                size_t k = (size_t)c * p->size * p->size + i;
                /* compare before normalization, in units of 1/255 */
                double a = out[k] * cfg.pre_std[c] + cfg.pre_mean[c], b = ref[k] * cfg.pre_std[c] + cfg.pre_mean[c];
                if (fabs(a - b) > worst) worst = fabs(a - b);
            }
    free(ref), free(out);
    CHECK(rc == LLAVA_OK, "preprocess: %s", llava_last_error());
    CHECK(n == np * sizeof(float), "fixture size");
    CHECK(worst <= 2.0 / 255.0 + 1e-6, "max difference %.2f/255 (limit 2/255)", worst * 255);
    return 1;
}

/* raw decoded RGB (no decoder in the loop): resize and crop must match Pillow to the last bit */
static int t_preprocess_exact(const void *arg) {
    (void)arg;
    int k, tested = 0;
    for (k = 0; k < g_npre; k++) {
        const fpre *p = &g_pre[k];
        char rel[256];
        const char *base = strrchr(p->image, '/') + 1;
        if (!p->alpha_white) continue; /* the RGBA image's stored bytes are pre-composite */
        snprintf(rel, sizeof rel, "preprocess/%s.rgb.u8", base);
        LlavaImage img, dec;
        CHECK(llava_image_load(&dec, fx(p->image)) == LLAVA_OK, "%s", llava_last_error());
        size_t n;
        unsigned char *rgb = (unsigned char *)read_all(fx(rel), &n);
        int w = dec.width, h = dec.height;
        int has_alpha = dec.alpha != NULL;
        llava_image_free(&dec);
        if (!rgb || has_alpha) {
            free(rgb);
            continue;
        }
        CHECK(n == (size_t)w * h * 3, "%s size", rel);
        llava_image_from_rgb(&img, rgb, w, h);
        free(rgb);
        LlavaConfig cfg;
        memset(&cfg, 0, sizeof cfg);
        llava_preprocess_defaults(&cfg, p->size);
        size_t np = (size_t)3 * p->size * p->size;
        float *out = (float *)malloc(np * 4), *ref = (float *)read_all(fx(p->pixels), &n);
        int rc = llava_preprocess(&cfg, &img, p->pad ? LLAVA_PRE_PAD : LLAVA_PRE_CROP, out);
        llava_image_free(&img);
        double d = rc == LLAVA_OK ? max_abs_diff(out, ref, np) : 1e9;
        free(out), free(ref);
        CHECK(d < 1e-5, "%s %s %d: max difference %g from the decoded bytes", p->image, p->pad ? "pad" : "crop", p->size, d);
        tested++;
    }
    CHECK(tested >= 20, "only %d exact preprocessing checks ran", tested);
    return 1;
}

static int t_images_bad(const void *arg) {
    (void)arg;
    LlavaImage img;
    CHECK(llava_image_load(&img, fx("images/corrupt.png")) != LLAVA_OK, "truncated PNG accepted");
    CHECK(err_has("corrupt.png"), "message does not name the file: %s", llava_last_error());
    CHECK(llava_image_load(&img, fx("images/notanimage.jpg")) != LLAVA_OK, "random bytes accepted");
    CHECK(llava_image_load(&img, fx("images/does-not-exist.png")) != LLAVA_OK && err_has("cannot open"), "missing file: %s", llava_last_error());
    CHECK(llava_image_load_memory(&img, "", 0) != LLAVA_OK, "empty buffer accepted");
    CHECK(llava_image_from_rgb(&img, NULL, 4, 4) != LLAVA_OK, "NULL rgb accepted");
    LlavaConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    llava_preprocess_defaults(&cfg, 32);
    memset(&img, 0, sizeof img);
    float out[3 * 32 * 32];
    CHECK(llava_preprocess(&cfg, &img, LLAVA_PRE_CROP, out) != LLAVA_OK, "empty image preprocessed");
    /* a GIF gives its first frame only, grayscale becomes RGB */
    CHECK(llava_image_load(&img, fx("images/gray_45x80.png")) == LLAVA_OK && img.width == 45 && img.height == 80, "gray");
    int i, gray = 1;
    for (i = 0; i < 45 * 80; i++) gray &= img.rgb[i * 3] == img.rgb[i * 3 + 1] && img.rgb[i * 3] == img.rgb[i * 3 + 2];
    llava_image_free(&img);
    CHECK(gray, "grayscale not replicated to RGB");
    return 1;
}

/* --- malformed input: each a clear error, no crash --------------------------------------------------- */
static int g_tmpn;
/* a fresh model directory with tiny_hf4's config and preprocessor; returns its path */
static char *mkmodel(void) {
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/m%d", g_tmp, g_tmpn++);
    mkdir(dir, 0755);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/config.json", dir);
    copy_file(fx("models/tiny_hf4/config.json"), a);
    snprintf(b, sizeof b, "%s/preprocessor_config.json", dir);
    copy_file(fx("models/tiny_hf4/preprocessor_config.json"), b);
    return dir;
}
static void put(const char *dir, const char *name, const void *p, size_t n) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_all(path, p, n);
}
static void put_str(const char *dir, const char *name, const char *s) { put(dir, name, s, strlen(s)); }
/* a safetensors file with this header and n zero bytes of data */
static void put_st(const char *dir, const char *name, const char *header, size_t n) {
    size_t hl = strlen(header), i;
    unsigned char *buf = (unsigned char *)calloc(8 + hl + n, 1);
    for (i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    put(dir, name, buf, 8 + hl + n);
    free(buf);
}
static int load_fails(const char *dir, const char *needle) {
    LlavaModel *m = llava_model_load(dir);
    if (m) {
        llava_model_free(m);
        snprintf(g_sub, sizeof g_sub, "loaded although it should fail with '%s'", needle);
        return 0;
    }
    if (!err_has(needle)) {
        snprintf(g_sub, sizeof g_sub, "error '%s' does not say '%s'", llava_last_error(), needle);
        return 0;
    }
    return 1;
}

/* rewrites tiny_hf4's weights into dir with one change: drop `drop`, or give `reshape` a new shape */
static int rewrite_weights(const char *dir, const char *drop, const char *reshape, int64_t r0, int64_t r1) {
    llava__tensors ts;
    memset(&ts, 0, sizeof ts);
    if (llava__tensors_load_dir(&ts, fx("models/tiny_hf4")) != LLAVA_OK) return -1;
    llava__st_entry *e = (llava__st_entry *)calloc((size_t)ts.n, sizeof *e);
    int i, k = 0, d;
    for (i = 0; i < ts.n; i++) {
        if (drop && !strcmp(ts.t[i].name, drop)) continue;
        e[k].name = ts.t[i].name;
        e[k].dtype = (LlavaDType)ts.t[i].dtype;
        e[k].ndim = ts.t[i].ndim;
        for (d = 0; d < ts.t[i].ndim; d++) e[k].shape[d] = ts.t[i].shape[d];
        if (reshape && !strcmp(ts.t[i].name, reshape)) {
            e[k].ndim = 2;
            e[k].shape[0] = r0;
            e[k].shape[1] = r1;
        }
        e[k].data = ts.t[i].data;
        k++;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = llava__st_write(path, e, k);
    free(e);
    llava__tensors_free(&ts);
    return rc;
}

static int t_bad_safetensors(const void *arg) {
    (void)arg;
    size_t n;
    unsigned char *good = (unsigned char *)read_all(fx("models/tiny_hf4/model.safetensors"), &n);
    CHECK(good, "fixture missing");
    char *d = mkmodel();
    put(d, "model.safetensors", good, 5);
    CHECK(load_fails(d, "truncated safetensors"), "5-byte file: %s", g_sub);
    put(d, "model.safetensors", good, n / 2);
    CHECK(load_fails(d, "outside the data"), "half file: %s", g_sub);
    unsigned char hdr[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, '{', '}'};
    put(d, "model.safetensors", hdr, 10);
    CHECK(load_fails(d, "runs past the end"), "huge header length: %s", g_sub);
    put_st(d, "model.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
    CHECK(load_fails(d, "overlap"), "overlap: %s", g_sub);
    put_st(d, "model.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
    CHECK(load_fails(d, "outside the data"), "out of bounds: %s", g_sub);
    put_st(d, "model.safetensors", "{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16);
    CHECK(load_fails(d, "need 8"), "dtype/size mismatch: %s", g_sub);
    put_st(d, "model.safetensors", "{\"a\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,2]}}", 2);
    CHECK(load_fails(d, "unknown dtype"), "unknown dtype: %s", g_sub);
    put_st(d, "model.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16);
    CHECK(load_fails(d, "invalid shape"), "negative shape: %s", g_sub);
    put_st(d, "model.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,16]}}", 16);
    CHECK(load_fails(d, "overflows"), "shape overflow: %s", g_sub);
    put_st(d, "model.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 16);
    CHECK(load_fails(d, "outside the data"), "reversed offsets: %s", g_sub);
    put_st(d, "model.safetensors", "[1,2,3]", 0);
    CHECK(load_fails(d, "not a JSON object"), "array header: %s", g_sub);
    put_st(d, "model.safetensors", "{\"a\":{\"dtype\":\"F32\"", 0);
    CHECK(load_fails(d, "malformed JSON"), "broken header: %s", g_sub);
    /* a well-formed file whose tensors do not fit the config */
    CHECK(rewrite_weights(d, "language_model.model.layers.1.mlp.up_proj.weight", NULL, 0, 0) == LLAVA_OK, "%s", llava_last_error());
    CHECK(load_fails(d, "missing tensor 'language_model.model.layers.1.mlp.up_proj.weight'"), "missing: %s", g_sub);
    CHECK(rewrite_weights(d, NULL, "language_model.model.norm.weight", 24, 2) == LLAVA_OK, "%s", llava_last_error());
    CHECK(load_fails(d, "'language_model.model.norm.weight' has shape [24, 2] but the config implies [48]"), "shape: %s", g_sub);
    CHECK(rewrite_weights(d, NULL, "multi_modal_projector.linear_1.weight", 64, 32) == LLAVA_OK, "%s", llava_last_error());
    CHECK(load_fails(d, "projector output width 64"), "projector width: %s", g_sub);
    put_st(d, "model.safetensors",
           "{\"language_model.model.embed_tokens.weight\":{\"dtype\":\"F32\",\"shape\":[600,48],\"data_offsets\":[0,115200]},"
           "\"multi_modal_projector.linear_1.weight\":{\"dtype\":\"F32\",\"shape\":[48,32],\"data_offsets\":[115200,121344]},"
           "\"vision_tower.vision_model.embeddings.patch_embedding.weight\":{\"dtype\":\"I64\",\"shape\":[32,3,8,8],\"data_offsets\":[121344,170496]}}",
           170496);
    CHECK(load_fails(d, "I64"), "integer tensor: %s", g_sub);
    /* sharded: a missing shard, a shard name that leaves the directory */
    remove(tmp("model.safetensors"));
    char *d2 = mkmodel();
    put_str(d2, "model.safetensors.index.json", "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\"}}");
    CHECK(load_fails(d2, "model-00001-of-00002.safetensors"), "missing shard: %s", g_sub);
    put_str(d2, "model.safetensors.index.json", "{\"weight_map\": {\"a\": \"../../etc/passwd\"}}");
    CHECK(load_fails(d2, "bad shard file name"), "path escape: %s", g_sub);
    char *d3 = mkmodel();
    CHECK(load_fails(d3, "neither model.safetensors"), "no weights: %s", g_sub);
    free(good);
    return 1;
}

/* random byte flips in the header of a real file: must load or fail cleanly (run under ASan too) */
static int t_fuzz_header(const void *arg) {
    (void)arg;
    size_t n, i;
    unsigned char *good = (unsigned char *)read_all(fx("models/tiny_hf4/model.safetensors"), &n);
    CHECK(good && n > 64, "fixture");
    uint64_t hl = 0;
    for (i = 0; i < 8; i++) hl |= (uint64_t)good[i] << (8 * i);
    char *d = mkmodel();
    uint64_t s = 99;
    int k, loaded = 0;
    unsigned char *buf = (unsigned char *)malloc(n);
    for (k = 0; k < 150; k++) {
        memcpy(buf, good, n);
        int flips = 1 + (int)(llava_rng_next(&s) % 4), f;
        for (f = 0; f < flips; f++) {
            size_t pos = (size_t)(llava_rng_next(&s) % (8 + hl));
            static const char pick[] = "0123456789[]{}\",:-eE. aZ\\";
            buf[pos] = (k % 3) ? (unsigned char)pick[llava_rng_next(&s) % (sizeof pick - 1)] : (unsigned char)llava_rng_next(&s);
        }
        put(d, "model.safetensors", buf, n);
        LlavaModel *m = llava_model_load(d);
        if (m) loaded++, llava_model_free(m);
        else CHECK(llava_last_error()[0], "failed without a message");
    }
    free(buf);
    free(good);
    return 1;
}

static int t_bad_config(const void *arg) {
    (void)arg;
    char *d = mkmodel();
    char st[600];
    snprintf(st, sizeof st, "%s/model.safetensors", d);
    copy_file(fx("models/tiny_hf4/model.safetensors"), st);
    LlavaModel *m = llava_model_load(d);
    CHECK(m, "the unchanged copy does not load: %s", llava_last_error());
    llava_model_free(m);
    static const struct {
        const char *cfg, *needle;
    } cases[] = {
        {"{\"model_type\": \"llava\", \"text_config\": {", "malformed JSON"},
        {"", "malformed JSON"},
        {"[]", "not a JSON object"},
        {"{\"model_type\": \"bert\"}", "not a LLaVA model"},
        {"{\"model_type\": \"llava\", \"image_token_index\": 599, \"text_config\": {\"hidden_size\": 48, \"num_attention_heads\": 5, \"num_key_value_heads\": 5, "
         "\"vocab_size\": 600}, \"vision_config\": {\"hidden_size\": 32, \"image_size\": 32, \"patch_size\": 8, \"num_attention_heads\": 4}}",
         "num_attention_heads (5) does not divide hidden_size (48)"},
        {"{\"model_type\": \"llava\", \"image_token_index\": 599, \"text_config\": {\"hidden_size\": 48, \"num_attention_heads\": 4, \"num_key_value_heads\": 3, "
         "\"vocab_size\": 600}, \"vision_config\": {\"hidden_size\": 32, \"image_size\": 32, \"patch_size\": 8, \"num_attention_heads\": 4}}",
         "num_key_value_heads (3) does not divide"},
        {"{\"model_type\": \"llava\", \"image_token_index\": 599, \"text_config\": {\"hidden_size\": \"big\"}}", "hidden_size must be an integer"},
        {"{\"model_type\": \"llava\", \"image_token_index\": 599, \"text_config\": {\"hidden_size\": -48}}", "hidden_size (-48)"},
        {"{\"model_type\": \"llava\", \"image_token_index\": 700, \"text_config\": {\"hidden_size\": 48, \"num_attention_heads\": 4, \"vocab_size\": 600}, "
         "\"vision_config\": {\"hidden_size\": 32, \"image_size\": 32, \"patch_size\": 8, \"num_attention_heads\": 4}}",
         "image_token_index (700) is outside the vocabulary"},
        {"{\"model_type\": \"llava\", \"image_token_index\": 599, \"vision_feature_layer\": 5, \"text_config\": {\"hidden_size\": 48, \"num_attention_heads\": 4, "
         "\"vocab_size\": 600}, \"vision_config\": {\"hidden_size\": 32, \"image_size\": 32, \"patch_size\": 8, \"num_attention_heads\": 4, \"num_hidden_layers\": 2}}",
         "vision_feature_layer (5)"},
        {"{\"model_type\": \"llava\", \"image_token_index\": 599, \"text_config\": {\"hidden_size\": 48, \"num_attention_heads\": 4, \"vocab_size\": 600}, "
         "\"vision_config\": {\"hidden_size\": 32, \"image_size\": 30, \"patch_size\": 8, \"num_attention_heads\": 4}}",
         "patch_size (8) does not divide image_size (30)"},
        {"{\"model_type\": \"llava\", \"image_token_index\": 599, \"vision_feature_select_strategy\": \"cls\", \"text_config\": {\"hidden_size\": 48, \"num_attention_heads\": 4}}",
         "vision_feature_select_strategy \"cls\""},
        {"{\"model_type\": \"llava\", \"text_config\": {\"model_type\": \"gpt2\"}}", "model_type \"gpt2\" is not supported"},
        {"{\"model_type\": \"llava\", \"text_config\": {\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}}", "rope type \"yarn\""},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        put_str(d, "config.json", cases[i].cfg);
        CHECK(load_fails(d, cases[i].needle), "config %zu: %s", i, g_sub);
    }
    /* a preprocessor that makes images of the wrong size, and bad ones */
    snprintf(st, sizeof st, "%s/config.json", d);
    copy_file(fx("models/tiny_hf4/config.json"), st);
    put_str(d, "preprocessor_config.json", "{\"crop_size\": 30, \"size\": 30}");
    CHECK(load_fails(d, "preprocessing makes 30x30 images but the vision tower takes 32x32"), "crop size: %s", g_sub);
    put_str(d, "preprocessor_config.json", "{\"image_mean\": [0.5, 0.5]}");
    CHECK(load_fails(d, "image_mean must be a list of 3 numbers"), "mean: %s", g_sub);
    put_str(d, "preprocessor_config.json", "{\"resample\": 2}");
    CHECK(load_fails(d, "resample 2"), "resample: %s", g_sub);
    return 1;
}

/* inputs the fuzzers (tests/fuzz) found, each a clear error or a correct result now */
static int t_fuzz_found(const void *arg) {
    (void)arg;
    /* f16 / bf16 tensors at odd addresses (a 5-byte header, no padding): converted without misaligned loads */
    static const char hdr[] = "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[1,5]},"
                              "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[5,7]}}";
    const size_t hl = sizeof hdr - 1;
    unsigned char *buf = (unsigned char *)calloc(8 + hl + 7, 1);
    size_t i;
    CHECK(buf && (8 + hl) % 2 == 0, "setup");
    for (i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    static const unsigned char data[7] = {0, 0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f}; /* f16 1, -2; bf16 1 */
    memcpy(buf + 8 + hl, data, 7);
    llava__tensors ts;
    memset(&ts, 0, sizeof ts);
    float f[2] = {0, 0}, b = 0;
    int rc = llava__st_parse(&ts, 0, buf, 8 + hl + 7, "odd.safetensors");
    const llava__tensor *ta = rc == LLAVA_OK && llava__tensors_index(&ts) == LLAVA_OK ? llava__tensors_find(&ts, "a") : NULL;
    const llava__tensor *tb = ta ? llava__tensors_find(&ts, "b") : NULL;
    if (ta && tb) {
        llava__to_f32(f, ta->data, LLAVA_F16, 2);
        llava__to_f32(&b, tb->data, LLAVA_BF16, 1);
    }
    int odd = ta && ((uintptr_t)ta->data & 1);
    llava__tensors_free(&ts);
    free(buf);
    CHECK(ta && tb, "unaligned tensors not parsed: %s", llava_last_error());
    CHECK(odd && f[0] == 1.0f && f[1] == -2.0f && b == 1.0f, "odd-address f16/bf16: %g %g %g", f[0], f[1], b);
    /* numbers too large for an int in the configuration: an error, not an undefined conversion */
    char *d = mkmodel();
    char st[600];
    snprintf(st, sizeof st, "%s/model.safetensors", d);
    copy_file(fx("models/tiny_hf4/model.safetensors"), st);
    static const struct {
        const char *file, *text, *needle;
    } cases[] = {
        {"preprocessor_config.json", "{\"size\": 1e300}", "size must be an integer"},
        {"preprocessor_config.json", "{\"crop_size\": -1e300}", "crop_size must be an integer"},
        {"preprocessor_config.json", "{\"image_mean\": [1e300, 0, 0]}", "image_mean must be a list of 3 numbers"},
        {"preprocessor_config.json", "{\"image_std\": [\"a\", 1, 1]}", "image_std must be a list of 3 numbers"},
        {"preprocessor_config.json", "{\"image_mean\": 1e300}", "image_mean must be a list of 3 numbers"},
        {"config.json", "{\"model_type\": \"llava\", \"text_config\": {\"eos_token_id\": [2, 1e300]}}", "eos_token_id must list integers"},
    };
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        char cp[600], pp[600];
        snprintf(cp, sizeof cp, "%s/config.json", d);
        snprintf(pp, sizeof pp, "%s/preprocessor_config.json", d);
        copy_file(fx("models/tiny_hf4/config.json"), cp);
        copy_file(fx("models/tiny_hf4/preprocessor_config.json"), pp);
        put_str(d, cases[i].file, cases[i].text);
        CHECK(load_fails(d, cases[i].needle), "case %zu: %s", i, g_sub);
    }
    /* a PNG header claiming 16000 x 16000 pixels in 33 bytes: refused before stb_image allocates 1 GB */
    static const unsigned char png[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                          0, 0, 0x3e, 0x80, 0, 0, 0x3e, 0x80, 8, 2, 0, 0, 0, 0, 0, 0, 0};
    LlavaImage img;
    CHECK(llava_image_load_memory(&img, png, sizeof png) != LLAVA_OK && err_has("16000x16000") && err_has("LLAVA_MAX_IMAGE_PIXELS"),
          "huge PNG header: %s", llava_last_error());
    /* a JPEG whose Huffman table declares 257 codes: stb_image 2.27 writes past its table (before 2.28) */
    static const unsigned char jpg[] = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x13, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 255, 0xFF, 0xD9};
    CHECK(llava_image_load_memory(&img, jpg, sizeof jpg) != LLAVA_OK && err_has("Huffman table"), "bad DHT: %s", llava_last_error());
    unsigned char jpg2[sizeof jpg + 2] = {0xFF, 0xFF, 0xFF}; /* stb takes 0xFF...0xFF 0xD8 as the start too */
    memcpy(jpg2 + 3, jpg + 1, sizeof jpg - 1);
    CHECK(llava_image_load_memory(&img, jpg2, sizeof jpg2) != LLAVA_OK && err_has("Huffman table"), "bad DHT after 0xFF fill: %s",
          llava_last_error());
    /* the walk steps over entropy-coded data and stays with stb on real files */
    CHECK(llava_image_load(&img, fx("images/photo_123x59.jpg")) == LLAVA_OK, "photo: %s", llava_last_error());
    llava_image_free(&img);
    /* padding a 32768 x 1 strip to a square: over LLAVA_MAX_IMAGE_PIXELS, an error (not 3 GB and minutes) */
    unsigned char *strip = (unsigned char *)calloc((size_t)32768 * 3, 1);
    CHECK(strip && llava_image_from_rgb(&img, strip, 32768, 1) == LLAVA_OK, "from_rgb");
    free(strip);
    LlavaConfig pc;
    memset(&pc, 0, sizeof pc);
    llava_preprocess_defaults(&pc, 32);
    float po[3 * 32 * 32];
    rc = llava_preprocess(&pc, &img, LLAVA_PRE_PAD, po);
    llava_image_free(&img);
    CHECK(rc != LLAVA_OK && err_has("32768x32768") && err_has("LLAVA_MAX_IMAGE_PIXELS"), "pad: %s", rc == LLAVA_OK ? "accepted" : llava_last_error());
    /* resize of a 32768:1 image to a 65536 short edge: the long edge would pass INT_MAX */
    unsigned char *row = (unsigned char *)calloc((size_t)32768 * 3, 1);
    CHECK(row && llava_image_from_rgb(&img, row, 32768, 1) == LLAVA_OK, "from_rgb");
    free(row);
    LlavaConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    llava_preprocess_defaults(&cfg, 32);
    cfg.pre_resize_short = 65536;
    float out[3 * 32 * 32];
    rc = llava_preprocess(&cfg, &img, LLAVA_PRE_CROP, out);
    llava_image_free(&img);
    CHECK(rc != LLAVA_OK && err_has("out of range"), "resize past INT_MAX: %s", rc == LLAVA_OK ? "accepted" : llava_last_error());
    return 1;
}

/* bad prompts on a good model: errors name the numbers */
static int t_bad_prompts(const void *arg) {
    (void)arg;
    LlavaModel *m = llava_model_load(fx("models/tiny_hf4"));
    CHECK(m, "%s", llava_last_error());
    const fcase *f = &g_cases[0];
    size_t n;
    float *pixels = (float *)read_all(f->pixels, &n);
    LlavaContext *ctx = llava_context_new(m, 20);
    int ok = 1, ids[64], i;
    memcpy(ids, f->ids, sizeof(int) * f->n_ids);
    snprintf(g_msg, sizeof g_msg, "?");
    if (llava_eval(ctx, f->ids, f->n_ids, pixels, 1, NULL) >= 0 || !err_has("prompt of 28 positions does not fit: the context holds 20"))
        snprintf(g_msg, sizeof g_msg, "over-long prompt: %s", llava_last_error()), ok = 0;
    llava_context_free(ctx);
    ctx = llava_context_new(m, 64);
    for (i = 0; i < f->n_ids; i++)
        if (ids[i] == 599) {
            ids[i] = 5; /* one placeholder fewer */
            break;
        }
    if (ok && (llava_eval(ctx, ids, f->n_ids, pixels, 1, NULL) >= 0 || !err_has("15 image placeholder tokens (id 599) but 1 image(s) give 16 feature rows")))
        snprintf(g_msg, sizeof g_msg, "placeholder count: %s", llava_last_error()), ok = 0;
    ids[0] = 600;
    if (ok && (llava_eval(ctx, ids, f->n_ids, pixels, 1, NULL) >= 0 || !err_has("token id 600 at position 0 is outside the vocabulary")))
        snprintf(g_msg, sizeof g_msg, "id out of range: %s", llava_last_error()), ok = 0;
    if (ok && (llava_eval(ctx, f->ids, f->n_ids, NULL, 1, NULL) >= 0 || !err_has("no pixels")))
        snprintf(g_msg, sizeof g_msg, "no pixels: %s", llava_last_error()), ok = 0;
    if (ok && (llava_eval(ctx, ids, 0, NULL, 0, NULL) >= 0 || !err_has("empty prompt")))
        snprintf(g_msg, sizeof g_msg, "empty: %s", llava_last_error()), ok = 0;
    if (ok && llava_context_used(ctx) != 0) snprintf(g_msg, sizeof g_msg, "failed calls changed the context"), ok = 0;
    /* filling the context, then one more step */
    int t = 1;
    for (i = 0; ok && i < 64; i++)
        if (!llava_step(ctx, t)) snprintf(g_msg, sizeof g_msg, "step %d: %s", i, llava_last_error()), ok = 0;
    if (ok && (llava_step(ctx, t) || !err_has("context full")))
        snprintf(g_msg, sizeof g_msg, "full context: %s", llava_last_error()), ok = 0;
    llava_context_free(ctx);
    llava_model_free(m);
    free(pixels);
    return ok;
}

/* writing every tensor back with the safetensors writer and loading that gives bit-identical logits */
static int t_roundtrip(const void *arg) {
    (void)arg;
    char *d = mkmodel();
    CHECK(rewrite_weights(d, NULL, NULL, 0, 0) == LLAVA_OK, "write: %s", llava_last_error());
    LlavaModel *a = llava_model_load(fx("models/tiny_hf4")), *b = llava_model_load(d);
    CHECK(a && b, "load: %s", llava_last_error());
    const fcase *f = &g_cases[0];
    size_t n;
    float *pixels = (float *)read_all(f->pixels, &n);
    LlavaContext *ca = llava_context_new(a, 64), *cb = llava_context_new(b, 64);
    const float *la = llava_prompt(ca, f->ids, f->n_ids, pixels, 1), *lb = llava_prompt(cb, f->ids, f->n_ids, pixels, 1);
    int same = la && lb && !memcmp(la, lb, sizeof(float) * 600);
    llava_context_free(ca), llava_context_free(cb);
    llava_model_free(a), llava_model_free(b);
    free(pixels);
    CHECK(same, "logits differ after the round trip");
    return 1;
}

/* llava_eval_features with llava_encode_image's output == llava_eval with the pixels, bit for bit */
static int t_eval_features(const void *arg) {
    (void)arg;
    const fcase *f = &g_cases[1]; /* two images */
    LlavaModel *m = llava_model_load(f->model);
    CHECK(m, "%s", llava_last_error());
    size_t n;
    float *px = (float *)read_all(f->pixels, &n);
    const int P = llava_image_tokens(m), C = llava_model_config(m)->text_hidden, V = f->vocab;
    float *feat = (float *)malloc(sizeof(float) * 2 * P * C), *a = (float *)malloc(sizeof(float) * f->positions * V),
          *b = (float *)malloc(sizeof(float) * f->positions * V);
    int ok = llava_encode_image(m, px, feat) == LLAVA_OK && llava_encode_image(m, px + 3 * 32 * 32, feat + P * C) == LLAVA_OK;
    LlavaContext *c1 = llava_context_new(m, 64), *c2 = llava_context_new(m, 64);
    ok = ok && llava_eval(c1, f->ids, f->n_ids, px, 2, a) == f->positions && llava_eval_features(c2, f->ids, f->n_ids, feat, 2, b) == f->positions;
    int same = ok && !memcmp(a, b, sizeof(float) * f->positions * V);
    llava_context_free(c1), llava_context_free(c2), llava_model_free(m);
    free(px), free(feat), free(a), free(b);
    CHECK(ok, "%s", llava_last_error());
    CHECK(same, "logits differ");
    return 1;
}

/* two models and two contexts in two threads are independent: same results as one at a time */
static int t_threads_independent(const void *arg) {
    (void)arg;
    const fcase *f = &g_cases[0];
    size_t n;
    float *pixels = (float *)read_all(f->pixels, &n);
    float out[2][600];
    int ok[2] = {0, 0}, i;
    LLAVA__OMP(omp parallel for num_threads(2))
    for (i = 0; i < 2; i++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/models/tiny_hf4", g_fix);
        LlavaModel *m = llava_model_load(dir);
        LlavaContext *c = m ? llava_context_new(m, 64) : NULL;
        const float *l = c ? llava_prompt(c, f->ids, f->n_ids, pixels, 1) : NULL;
        if (l) memcpy(out[i], l, sizeof out[i]), ok[i] = 1;
        llava_context_free(c);
        llava_model_free(m);
    }
    free(pixels);
    CHECK(ok[0] && ok[1], "a thread failed");
    CHECK(!memcmp(out[0], out[1], sizeof out[0]), "threads disagree");
    return 1;
}

/* --- training against PyTorch (tests/fixtures/train, made by tools/py/make_train_fixtures.py) --------- */
static LlavaJson g_tj;
static char *g_ttext;

/* The training tests run twice: on the CPU backend, then with the model on the checking backend
   (check_backend.h: memory the host cannot touch), where parameters, gradients and moments are read
   through llava_trainer_read. */
static LlavaBackend *g_tb; /* NULL: the load's own CPU backend */
static LlavaModel *tload(const char *dir) {
    LlavaLoadParams p;
    llava_load_params_default(&p);
    p.backend = g_tb;
    return llava_model_load_params(dir, &p);
}
/* parameter i as f32 in host memory (malloc'd; NULL on failure) */
static float *tread(const LlavaTrainer *t, int i, int grad) {
    size_t n;
    llava_trainer_param(t, i, NULL, NULL, &n);
    float *h = (float *)malloc(n * sizeof(float) + 1);
    if (h && llava_trainer_read(t, i, grad ? NULL : h, grad ? h : NULL) != LLAVA_OK) free(h), h = NULL;
    return h;
}

static const LlavaJsonNode *tj(const LlavaJsonNode *o, const char *k) { return llava_json_get(&g_tj, o, k); }
static const LlavaJsonNode *tmodel(const char *name) { return tj(tj(&g_tj.nodes[0], "models"), name); }

typedef struct {
    LlavaSample s[8];
    int ids[8][64], labels[8][64];
    float *pixels;
    int n;
} tbatch;

/* the fixture batch, each sample without its padding (right padding never reaches a real position) */
static int tbatch_load(tbatch *b, const char *model) {
    const LlavaJsonNode *bt = tj(tmodel(model), "batch"), *ids = tj(bt, "input_ids"), *lab = tj(bt, "labels"), *len = tj(bt, "lengths");
    const LlavaJsonNode *imgs = tj(bt, "image_samples");
    char rel[256];
    size_t n;
    int i, k, img = 0;
    memset(b, 0, sizeof *b);
    snprintf(rel, sizeof rel, "train/%s", tj(bt, "pixels")->str);
    b->pixels = (float *)read_all(fx(rel), &n);
    if (!b->pixels) return -1;
    b->n = ids->count;
    for (i = 0; i < b->n; i++) {
        const LlavaJsonNode *ri = llava_json_at(&g_tj, ids, i), *rl = llava_json_at(&g_tj, lab, i);
        int L = (int)llava_json_at(&g_tj, len, i)->num, has = 0;
        for (k = 0; k < L; k++) {
            b->ids[i][k] = (int)llava_json_at(&g_tj, ri, k)->num;
            b->labels[i][k] = (int)llava_json_at(&g_tj, rl, k)->num;
        }
        for (k = 0; k < imgs->count; k++) has |= (int)llava_json_at(&g_tj, imgs, k)->num == i;
        b->s[i].ids = b->ids[i];
        b->s[i].labels = b->labels[i];
        b->s[i].n = L;
        b->s[i].n_images = has;
        b->s[i].pixels = has ? b->pixels + (size_t)img++ * 3 * 32 * 32 : NULL;
    }
    return 0;
}

static LlavaTrainer *ttrainer(LlavaModel *m, const char *stage, int steps) {
    LlavaTrainOptions o;
    llava_train_defaults(&o, 2);
    o.stage = !strcmp(stage, "stage1") ? 1 : !strcmp(stage, "stage2") ? 2 : 0;
    o.lr = 2e-3f;
    o.weight_decay = 0.1f;
    o.warmup_ratio = 0.3f;
    o.total_steps = steps;
    o.max_grad_norm = 1.0f;
    LlavaTrainer *t = llava_trainer_new(m, &o);
    if (t && o.stage == 0) llava_trainer_add_group(t, "vision_tower.", o.lr, o.weight_decay);
    return t;
}

static int tparam_index(const LlavaTrainer *t, const char *key) {
    int i;
    for (i = 0; i < llava_trainer_n_params(t); i++)
        if (!strcmp(llava_trainer_param(t, i, NULL, NULL, NULL), key)) return i;
    return -1;
}

/* loss within 1e-5; every trainable parameter's gradient within 1e-4 relative (L2) of PyTorch's. With
   "@bf16" after the stage, the model's products take bf16 operands (llava_use_bf16), as PyTorch's autocast
   would: the loss within 1e-2 relative and the gradients within BF16_TOL of the f32 reference, and some
   gradient further than 1e-4 from it (the rounding did happen). */
#define BF16_TOL 2e-2
static int t_train_grads(const void *arg) {
    const char *which = (const char *)arg; /* "model/stage" or "model/stage@bf16" */
    char model[32], stage[32];
    const int bf16 = strstr(which, "@bf16") != NULL;
    double worst = 0.0;
    sscanf(which, "%31[^/]/%31[^@]", model, stage);
    const LlavaJsonNode *st = tj(tj(tmodel(model), "stages"), stage), *tr = tj(st, "trainable"), *e;
    char dir[300];
    snprintf(dir, sizeof dir, "models/%s", model);
    LlavaModel *m = tload(fx(dir));
    CHECK(m, "%s", llava_last_error());
    if (bf16) llava_use_bf16(m, 1);
    tbatch b;
    LlavaTrainer *t = ttrainer(m, stage, 6);
    float loss = 0;
    int ok = tbatch_load(&b, model) == 0 && t && llava_trainer_grads(t, b.s, b.n, &loss) == LLAVA_OK;
    snprintf(g_msg, sizeof g_msg, "grads: %s", llava_last_error());
    double ref_loss = tj(st, "loss")->num;
    if (ok && fabs(loss - ref_loss) > (bf16 ? 1e-2 * fabs(ref_loss) : 1e-5)) snprintf(g_msg, sizeof g_msg, "loss %.7f, PyTorch %.7f", loss, ref_loss), ok = 0;
    int n_trainable = 0, i;
    for (i = 0; ok && i < llava_trainer_n_params(t); i++) {
        const float *g = NULL;
        llava_trainer_param(t, i, NULL, &g, NULL);
        n_trainable += g != NULL;
    }
    if (ok && n_trainable != tr->count) snprintf(g_msg, sizeof g_msg, "%d trainable tensors, PyTorch %d", n_trainable, tr->count), ok = 0;
    for (e = llava_json_first(&g_tj, tr); ok && e; e = llava_json_next(&g_tj, e)) {
        const char *key = tj(e, "key")->str;
        char rel[300];
        size_t n, k, pn;
        snprintf(rel, sizeof rel, "train/%s", tj(e, "grad")->str);
        float *ref = (float *)read_all(fx(rel), &n);
        int idx = tparam_index(t, key);
        float *g = NULL;
        pn = 0;
        if (idx >= 0) llava_trainer_param(t, idx, NULL, NULL, &pn), g = tread(t, idx, 1);
        if (!ref || !g || n != pn * sizeof(float)) {
            snprintf(g_msg, sizeof g_msg, "%s: no gradient here or no fixture", key), ok = 0;
        } else {
            double d2 = 0, r2 = 0, dmax = 0;
            for (k = 0; k < pn; k++) d2 += ((double)g[k] - ref[k]) * ((double)g[k] - ref[k]), r2 += (double)ref[k] * ref[k], dmax = fmax(dmax, fabs((double)g[k] - ref[k]));
            /* (k_proj.bias of CLIP: zero in exact arithmetic, rounding noise in both; absolute check) */
            int zero = tj(e, "analytically_zero") && tj(e, "analytically_zero")->num;
            if (!zero) worst = fmax(worst, sqrt(d2 / (r2 > 0 ? r2 : 1)));
            if (zero ? dmax > (bf16 ? 1e-4 : 1e-6) : sqrt(d2) > (bf16 ? BF16_TOL : 1e-4) * sqrt(r2))
                snprintf(g_msg, sizeof g_msg, "%s: relative error %.3g (max abs %.3g)", key, sqrt(d2 / (r2 > 0 ? r2 : 1)), dmax), ok = 0;
        }
        free(ref), free(g);
    }
    if (ok && bf16 && worst <= 1e-4) snprintf(g_msg, sizeof g_msg, "%s: every gradient within 1e-4 of f32's: no bf16 rounding", llava_backend_name(m)), ok = 0;
    if (getenv("LLAVA_TEST_VERBOSE")) fprintf(stderr, "%s: worst relative gradient error %.3g, loss %.7f vs %.7f\n", which, worst, loss, ref_loss);
    llava_model_free(m);
    llava_trainer_free(t);
    free(b.pixels);
    return ok;
}

/* compares the model's trainable parameters with a directory of <key>.f32 files */
static int tparams_match(const LlavaTrainer *t, const char *reldir, double tol, double *worst) {
    int i;
    *worst = 0;
    for (i = 0; i < llava_trainer_n_params(t); i++) {
        const float *g;
        size_t n, k, fn;
        const char *key = llava_trainer_param(t, i, NULL, &g, &n);
        if (!g) continue;
        char rel[400];
        snprintf(rel, sizeof rel, "train/%s/%s.f32", reldir, key);
        float *ref = (float *)read_all(fx(rel), &fn), *d = tread(t, i, 0);
        if (!ref || !d || fn != n * sizeof(float)) {
            free(ref), free(d);
            snprintf(g_sub, sizeof g_sub, "%s: missing fixture or unreadable parameter (%s)", rel, llava_last_error());
            return 0;
        }
        for (k = 0; k < n; k++) *worst = fmax(*worst, fabs((double)d[k] - ref[k]));
        free(ref), free(d);
    }
    if (*worst > tol) {
        snprintf(g_sub, sizeof g_sub, "parameters differ by up to %g", *worst);
        return 0;
    }
    return 1;
}

/* 6 AdamW steps with warmup, cosine and clipping: losses within 1e-5, learning rates, parameters after,
   frozen parameters bit-identical */
static int t_train_steps(const void *arg) {
    const char *run = (const char *)arg; /* stage2, stage2_accum, stage1 */
    const LlavaJsonNode *sr = tj(tj(tmodel("tiny_hf4"), "steps"), run);
    const int nsteps = (int)tj(sr, "num_steps")->num, accum = !strcmp(run, "stage2_accum");
    LlavaModel *m = tload(fx("models/tiny_hf4")), *ref = llava_model_load(fx("models/tiny_hf4"));
    CHECK(m && ref, "%s", llava_last_error());
    tbatch b;
    CHECK(tbatch_load(&b, "tiny_hf4") == 0, "batch");
    LlavaTrainer *t = ttrainer(m, strncmp(run, "stage2", 6) ? "stage1" : "stage2", nsteps);
    LlavaTrainer *tr = ttrainer(ref, "stage0", nsteps); /* only to list the reference model's frozen tensors */
    int i, ok = t && tr;
    for (i = 0; ok && i < nsteps; i++) {
        LlavaStepStats st;
        if (accum) ok = llava_trainer_accumulate(t, b.s, 2) == LLAVA_OK && llava_trainer_accumulate(t, b.s + 2, 1) == LLAVA_OK &&
                        llava_trainer_update(t, &st) == LLAVA_OK;
        else ok = llava_trainer_step(t, b.s, b.n, &st) == LLAVA_OK;
        if (!ok) {
            snprintf(g_msg, sizeof g_msg, "step %d: %s", i + 1, llava_last_error());
            break;
        }
        double rl = llava_json_at(&g_tj, tj(sr, "losses"), i)->num, rlr = llava_json_at(&g_tj, tj(sr, "lrs"), i)->num;
        double rg = llava_json_at(&g_tj, tj(sr, "grad_norms"), i)->num;
        if (fabs(st.loss - rl) > 1e-5) snprintf(g_msg, sizeof g_msg, "step %d: loss %.7f, PyTorch %.7f", i + 1, st.loss, rl), ok = 0;
        else if (fabs(st.lr - rlr) > 1e-9 + 1e-6 * rlr) snprintf(g_msg, sizeof g_msg, "step %d: lr %g, PyTorch %g", i + 1, st.lr, rlr), ok = 0;
        else if (fabs(st.grad_norm - rg) > 1e-4 * rg) snprintf(g_msg, sizeof g_msg, "step %d: grad norm %g, PyTorch %g", i + 1, st.grad_norm, rg), ok = 0;
    }
    if (ok) {
        float loss;
        ok = llava_trainer_grads(t, b.s, b.n, &loss) == LLAVA_OK;
        double fl = tj(sr, "final_loss")->num;
        if (!ok || fabs(loss - fl) > 1e-5) snprintf(g_msg, sizeof g_msg, "final loss %.7f, PyTorch %.7f", loss, fl), ok = 0;
    }
    double worst;
    const LlavaJsonNode *after = tj(tj(sr, "params_after"), "6");
    if (!after) after = tj(tj(tj(tj(tmodel("tiny_hf4"), "steps"), "stage2"), "params_after"), "6"); /* accumulation: same as one batch */
    if (ok && !tparams_match(t, after->str, 1e-5, &worst)) snprintf(g_msg, sizeof g_msg, "after %d steps: %s", nsteps, g_sub), ok = 0;
    /* frozen tensors: bit-identical to a fresh load */
    llava_trainer_accumulate(tr, b.s, 0);
    for (i = 0; ok && i < llava_trainer_n_params(t); i++) {
        const float *g;
        size_t n;
        const char *key = llava_trainer_param(t, i, NULL, &g, &n);
        if (g) continue;
        float *d = tread(t, i, 0), *d0 = tread(tr, i, 0);
        if (!d || !d0 || memcmp(d, d0, n * sizeof(float))) snprintf(g_msg, sizeof g_msg, "frozen %s changed", key), ok = 0;
        free(d), free(d0);
    }
    llava_trainer_free(t);
    llava_trainer_free(tr);
    llava_model_free(m);
    llava_model_free(ref);
    free(b.pixels);
    return ok;
}

/* stopped after 3 steps, saved, loaded, resumed: the same losses as an uninterrupted run, bit for bit */
static int t_train_resume(const void *arg) {
    (void)arg;
    tbatch b;
    CHECK(tbatch_load(&b, "tiny_hf4") == 0, "batch");
    float la[6], lb[6];
    LlavaStepStats st;
    int i, ok = 1;
    LlavaModel *m = tload(fx("models/tiny_hf4"));
    LlavaTrainer *t = ttrainer(m, "stage2", 6);
    for (i = 0; ok && i < 6; i++) ok = llava_trainer_step(t, b.s, b.n, &st) == LLAVA_OK, la[i] = st.loss;
    llava_trainer_free(t);
    llava_model_free(m);
    CHECK(ok, "uninterrupted run: %s", llava_last_error());
    m = tload(fx("models/tiny_hf4"));
    t = ttrainer(m, "stage2", 6);
    for (i = 0; ok && i < 3; i++) ok = llava_trainer_step(t, b.s, b.n, &st) == LLAVA_OK, lb[i] = st.loss;
    char *ck = tmp("ckpt-3");
    if (ok) ok = llava_trainer_save(t, ck) == LLAVA_OK;
    llava_trainer_free(t);
    llava_model_free(m);
    CHECK(ok, "first half / save: %s", llava_last_error());
    m = tload(ck);
    CHECK(m, "the checkpoint does not load: %s", llava_last_error());
    t = ttrainer(m, "stage2", 6);
    ok = llava_trainer_resume(t, ck) == LLAVA_OK && llava_trainer_steps_done(t) == 3;
    CHECK(ok, "resume: %s", llava_last_error());
    for (i = 3; ok && i < 6; i++) ok = llava_trainer_step(t, b.s, b.n, &st) == LLAVA_OK, lb[i] = st.loss;
    llava_trainer_free(t);
    llava_model_free(m);
    free(b.pixels);
    CHECK(ok, "second half: %s", llava_last_error());
    for (i = 0; i < 6; i++) CHECK(la[i] == lb[i], "step %d: %.9g uninterrupted, %.9g resumed", i + 1, la[i], lb[i]);
    return 1;
}

/* a fresh model: initialized as transformers does (norms 1, biases 0, weights ~N(0, 0.02)), saves, loads */
static int t_model_new(const void *arg) {
    (void)arg;
    LlavaModel *a = llava_model_load(fx("models/tiny_hf4"));
    CHECK(a, "%s", llava_last_error());
    LlavaConfig c = *llava_model_config(a);
    llava_model_free(a);
    LlavaModel *m = llava_model_new(&c, 5);
    CHECK(m, "new: %s", llava_last_error());
    CHECK(m->norm[0] == 1.0f && m->vl[0].qb[3] == 0.0f, "norm weights 1, biases 0");
    double ss = 0;
    int i, n = c.text_vocab * c.text_hidden;
    for (i = 0; i < n; i++) ss += (double)((const float *)m->embed.data)[i] * ((const float *)m->embed.data)[i];
    CHECK(fabs(sqrt(ss / n) - 0.02) < 0.002, "embedding std %g, expected 0.02", sqrt(ss / n));
    char *d = tmp("newmodel");
    CHECK(llava_model_save(m, d, LLAVA_F32) == LLAVA_OK, "save: %s", llava_last_error());
    LlavaModel *b = llava_model_load(d);
    CHECK(b, "load: %s", llava_last_error());
    const int ids[5] = {1, 5, 6, 7, 8};
    LlavaContext *ca = llava_context_new(m, 16), *cb = llava_context_new(b, 16);
    const float *la = llava_prompt(ca, ids, 5, NULL, 0), *lb = llava_prompt(cb, ids, 5, NULL, 0);
    int same = la && lb && !memcmp(la, lb, sizeof(float) * 600);
    llava_context_free(ca), llava_context_free(cb);
    llava_model_free(m), llava_model_free(b);
    CHECK(same, "logits differ after save and load");
    c.text_heads = 5;
    CHECK(!llava_model_new(&c, 1) && err_has("does not divide"), "a bad config: %s", llava_last_error());
    return 1;
}

/* a language model alone (tests/fixtures/lm: LlamaForCausalLM as transformers saves it, vocabulary 599: tiny600 without "<image>"): config text_only, no
   image rows; a prompt with pixels, training and saving refused with a message (its logits, greedy ids and
   KV cache: the transformers fixtures above) */
static int t_lm_alone(const void *arg) {
    (void)arg;
    LlavaModel *m = llava_model_load(fx("lm/tiny_llama_tied"));
    CHECK(m, "load: %s", llava_last_error());
    const LlavaConfig *c = llava_model_config(m);
    int ok = c->text_only && c->text_tied && c->text_attn_bias && c->text_kv_heads == 4 && llava_image_tokens(m) == 0;
    if (!ok) snprintf(g_msg, sizeof g_msg, "config: text_only %d, tied %d, attention bias %d, kv heads %d, image tokens %d", c->text_only,
                      c->text_tied, c->text_attn_bias, c->text_kv_heads, llava_image_tokens(m));
    static float px[3 * 32 * 32];
    const int ids[3] = {1, 7, 5};
    LlavaContext *ctx = ok ? llava_context_new(m, 32) : NULL;
    if (ok && (!ctx || llava_prompt(ctx, ids, 3, px, 1) || (!err_has("no vision tower") && !err_has("language model alone"))))
        snprintf(g_msg, sizeof g_msg, "a prompt with an image: %s", llava_last_error()), ok = 0;
    LlavaTrainOptions o;
    llava_train_defaults(&o, 2);
    LlavaTrainer *t = ok ? llava_trainer_new(m, &o) : NULL;
    if (ok && (t || !err_has("language model alone"))) snprintf(g_msg, sizeof g_msg, "a trainer: %s", t ? "made" : llava_last_error()), ok = 0;
    if (ok && (llava_model_save(m, tmp("lm-saved"), LLAVA_F32) == LLAVA_OK || !err_has("language model alone")))
        snprintf(g_msg, sizeof g_msg, "saving: %s", llava_last_error()), ok = 0;
    llava_trainer_free(t);
    llava_context_free(ctx);
    llava_model_free(m);
    LlavaModel *u = llava_model_load(fx("lm/tiny_llama"));
    if (ok && (!u || llava_model_config(u)->text_tied || llava_model_config(u)->text_kv_heads != 2 || !llava_model_config(u)->text_only))
        snprintf(g_msg, sizeof g_msg, "tiny_llama: %s", u ? "untied with 2 kv heads expected" : llava_last_error()), ok = 0;
    llava_model_free(u);
    return ok;
}

/* llava_model_assemble: tiny_hf4's tower + a language model alone (tests/fixtures/lm, vocabulary 599) + a
   fresh projector. The text logits over the LM's vocabulary are the LM's bit for bit, the tower's rows
   tiny_hf4's; "<image>" is id 599, its embedding row (and the untied head's) a draw near the rows' mean;
   saved as llava-hf with the token in the tokenizer files, it loads with the same logits (an image prompt
   too); with python3 having torch and transformers (LLAVA_TEST_TORCH_PYTHON, else python3), transformers
   loads the saved directory and gives our logits (tools/py/check_assembled.py); bad sources are errors */
static int t_assemble(const void *arg) {
    (void)arg;
    const int ids[8] = {1, 17, 250, 33, 98, 411, 5, 77};
    char dir[600], cmd[1600], lp[700];
    LlavaModel *m = llava_model_assemble(fx("models/tiny_hf4"), fx("lm/tiny_llama"), -2, 0, 7);
    CHECK(m, "assemble: %s", llava_last_error());
    LlavaModel *l = llava_model_load(fx("lm/tiny_llama")), *v = llava_model_load(fx("models/tiny_hf4")), *b = NULL;
    const LlavaConfig *c = llava_model_config(m);
    int ok = l && v, i, k;
    if (ok && (c->text_vocab != 600 || c->image_token_id != 599 || c->text_only || c->text_hidden != 64 || c->vision_hidden != v->cfg.vision_hidden ||
               llava_image_tokens(m) != llava_image_tokens(v) || c->text_tied))
        snprintf(g_msg, sizeof g_msg, "config: vocab %d, image token %d, text_only %d, image tokens %d", c->text_vocab, c->image_token_id,
                 c->text_only, llava_image_tokens(m)), ok = 0;
    LlavaContext *cm = ok ? llava_context_new(m, 64) : NULL, *cl = ok ? llava_context_new(l, 64) : NULL, *cb = NULL;
    const float *a = cm ? llava_prompt(cm, ids, 8, NULL, 0) : NULL, *r = cl ? llava_prompt(cl, ids, 8, NULL, 0) : NULL;
    /* (a vocabulary of 600 rather than 599 may take another product kernel: the same sums in another order) */
    if (ok && (!a || !r || max_abs_diff(a, r, 599) > 1e-5))
        snprintf(g_msg, sizeof g_msg, "text logits differ from the LM's by %g: %s", a && r ? max_abs_diff(a, r, 599) : -1.0, llava_last_error()), ok = 0;
    /* the tower */
    size_t n;
    float *px = (float *)read_all(fx("cases/tiny_hf4_img.pixels.f32"), &n), *ra = NULL, *rb = NULL;
    const size_t nr = (size_t)llava_tower_rows(v) * v->cfg.vision_hidden;
    ra = (float *)malloc(nr * sizeof(float)), rb = (float *)malloc(nr * sizeof(float));
    if (ok && (!px || !ra || !rb || llava_tower_encode(m, px, ra) != LLAVA_OK || llava_tower_encode(v, px, rb) != LLAVA_OK || memcmp(ra, rb, nr * sizeof(float))))
        snprintf(g_msg, sizeof g_msg, "the tower's rows differ from tiny_hf4's: %s", llava_last_error()), ok = 0;
    /* the new rows: near the mean, not the mean */
    for (k = 0; ok && k < 2; k++) {
        const float *E = (const float *)(k ? m->head.data : m->embed.data), *E0 = (const float *)l->embed.data;
        double dmax = 0, dsum = 0;
        for (i = 0; i < 64; i++) {
            double mu = 0;
            int rr;
            for (rr = 0; rr < 599; rr++) mu += E0[(size_t)rr * 64 + i];
            mu /= 599;
            dmax = fmax(dmax, fabs(E[(size_t)599 * 64 + i] - mu)), dsum += fabs(E[(size_t)599 * 64 + i] - mu);
        }
        const float *H0 = (const float *)(k ? l->head.data : l->embed.data);
        if (memcmp(E, H0, sizeof(float) * 599 * 64)) snprintf(g_msg, sizeof g_msg, "%s: the first 599 rows changed", k ? "lm_head" : "embedding"), ok = 0;
        else if (!(dmax < 0.02 && dsum > 0)) snprintf(g_msg, sizeof g_msg, "%s row 599: %g from the mean at most", k ? "lm_head" : "embedding", dmax), ok = 0;
    }
    /* saved and loaded: the same logits, with an image; the tokenizer knows "<image>" */
    snprintf(dir, sizeof dir, "%s", tmp("assembled"));
    LlavaTokenizer *tk = NULL;
    if (ok && (llava_model_save(m, dir, LLAVA_F32) != LLAVA_OK || !(b = llava_model_load(dir)) || !(tk = llava_tokenizer_load(dir)) ||
               llava_token_id(tk, "<image>") != 599))
        snprintf(g_msg, sizeof g_msg, "save, load: %s", llava_last_error()), ok = 0;
    int pid[32];
    const int np = tk ? llava_tokenize(tk, "<image>\nhello there", strlen("<image>\nhello there"), 1, pid, 32) : -1;
    if (ok && (np < 3 || pid[1] != 599)) snprintf(g_msg, sizeof g_msg, "\"<image>\\nhello there\": %d ids, the second %d", np, np > 1 ? pid[1] : -1), ok = 0;
    int xid[64], nx = 0; /* the placeholder repeated for every image row, as the processor expands it */
    for (i = 0; ok && i < np && nx < 48; i++)
        for (k = 0; k < (pid[i] == 599 ? llava_image_tokens(m) : 1); k++) xid[nx++] = pid[i];
    cb = ok ? llava_context_new(b, 64) : NULL;
    llava_context_reset(cm);
    a = cb ? llava_prompt(cm, xid, nx, px, 1) : NULL;
    float *am = a ? (float *)malloc(sizeof(float) * 600) : NULL;
    if (am) memcpy(am, a, sizeof(float) * 600);
    r = am ? llava_prompt(cb, xid, nx, px, 1) : NULL;
    if (ok && (!am || !r || memcmp(am, r, sizeof(float) * 600))) snprintf(g_msg, sizeof g_msg, "logits after save and load: %s", llava_last_error()), ok = 0;
    /* transformers on the saved directory */
    const char *py = getenv("LLAVA_TEST_TORCH_PYTHON") ? getenv("LLAVA_TEST_TORCH_PYTHON") : "python3";
    snprintf(cmd, sizeof cmd, "%s -c 'import torch, transformers' > /dev/null 2>&1", py);
    if (ok && system(cmd) == 0) {
        snprintf(lp, sizeof lp, "%s/ours.f32", dir);
        FILE *f = fopen(lp, "wb");
        if (f) fwrite(am, sizeof(float), 600, f), fclose(f);
        snprintf(cmd, sizeof cmd, "%s tools/py/check_assembled.py '%s' '%s' '%s' > '%s/check.log' 2>&1", py, dir, fx("cases/tiny_hf4_img.pixels.f32"), lp, dir);
        const int rc = system(cmd);
        char *log = NULL;
        snprintf(lp, sizeof lp, "%s/check.log", dir);
        log = (char *)read_all(lp, &n);
        if (rc != 0) snprintf(g_msg, sizeof g_msg, "transformers on the saved directory: %.1500s", log ? log : "(no log)"), ok = 0;
        else if (log && n && strstr(log, "max abs difference")) printf("      %.*s", (int)n, strstr(log, "transformers vs"));
        free(log);
    } else if (ok) {
        printf("      (transformers check skipped: %s has no torch and transformers; set LLAVA_TEST_TORCH_PYTHON)\n", py);
    }
    llava_tokenizer_free(tk);
    llava_context_free(cm), llava_context_free(cl), llava_context_free(cb);
    llava_model_free(m), llava_model_free(l), llava_model_free(v), llava_model_free(b);
    free(px), free(ra), free(rb), free(am);
    if (!ok) return 0;
    /* a tied LM, the CLS row too: the head is the grown embedding */
    m = llava_model_assemble(fx("models/tiny_hf4"), fx("lm/tiny_llama_tied"), -1, 1, 0);
    CHECK(m && m->cfg.text_tied && m->head.data == m->embed.data && m->cfg.text_vocab == 600 && llava_image_tokens(m) == 17,
          "tied: %s", m ? "head, vocabulary or image rows wrong" : llava_last_error());
    llava_model_free(m);
    /* bad sources */
    CHECK(!llava_model_assemble(fx("models/tiny_hf4"), fx("models/tiny_hf5"), -2, 0, 1) && err_has("language model alone"), "a LLaVA as the LM: %s",
          llava_last_error());
    CHECK(!llava_model_assemble(fx("lm/tiny_llama"), fx("lm/tiny_llama"), -2, 0, 1) && err_has("no vision tower"), "an LM as the tower: %s",
          llava_last_error());
    CHECK(!llava_model_assemble(fx("nothing-here"), fx("lm/tiny_llama"), -2, 0, 1) && err_has("nothing-here"), "a missing tower: %s", llava_last_error());
    CHECK(!llava_model_assemble(fx("models/tiny_hf4"), fx("models/tiny_hf4"), -2, 0, 1), "tiny_hf4 as the LM");
    return 1;
}

/* a language model whose tokenizer is a SentencePiece tokenizer.model alone (no tokenizer.json), as the
   LLaVA authors' Vicuna and LLaMA-2 directories have it: "<image>" (the tokenizer's next id, past this
   fixture's 599 embedding rows, which grow to hold it) saved into added_tokens.json and tokenizer_config.json, new where the
   language model has none, added to them where it has; the saved model and tokenizer load with it */
static int t_assemble_spm(const void *arg) {
    (void)arg;
    static const char *const files[] = {"config.json", "model.safetensors", "generation_config.json"};
    char lm[600], out[600], p[700], q[700];
    int k, i;
    for (k = 0; k < 2; k++) { /* without, then with the fixture's tokenizer_config.json */
        snprintf(lm, sizeof lm, "%s", tmp(k ? "lm_spm_cfg" : "lm_spm"));
        snprintf(out, sizeof out, "%s", tmp(k ? "assembled_spm_cfg" : "assembled_spm"));
        CHECK(mkdir(lm, 0755) == 0, "mkdir %s", lm);
        for (i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s/%s", fx("lm/tiny_llama"), files[i]), snprintf(q, sizeof q, "%s/%s", lm, files[i]);
            CHECK(llava_copy_file(p, q) == LLAVA_OK, "copy %s: %s", files[i], llava_last_error());
        }
        snprintf(q, sizeof q, "%s/tokenizer.model", lm);
        CHECK(llava_copy_file(fx("tokenizer/spm/v_plain/tokenizer.model"), q) == LLAVA_OK, "copy tokenizer.model: %s", llava_last_error());
        snprintf(q, sizeof q, "%s/tokenizer_config.json", lm);
        CHECK(!k || llava_write_text(q, "{\"add_bos_token\": true, \"pad_token\": \"<pad>\", \"added_tokens_decoder\": {\"1200\": {\"content\": \"<pad>\", "
                                        "\"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false, \"special\": true}}}\n") == LLAVA_OK,
              "tokenizer_config.json: %s", llava_last_error());
        LlavaTokenizer *t0 = llava_tokenizer_load(lm), *tk = NULL;
        CHECK(t0, "the language model's tokenizer: %s", llava_last_error());
        const int want = llava_tokenizer_vocab_size(t0); /* 1200 pieces, 1201 with the config's <pad> */
        LlavaModel *m = llava_model_assemble(fx("models/tiny_hf4"), lm, -2, 0, 3), *b = NULL;
        if (!m || m->cfg.image_token_id != want || m->cfg.text_vocab != want + 1) llava_tokenizer_free(t0);
        CHECK(m && m->cfg.image_token_id == want && m->cfg.text_vocab == want + 1, "assemble: %s (image token %d, vocabulary %d; want %d)",
              m ? "image token or vocabulary wrong" : llava_last_error(), m ? m->cfg.image_token_id : -1, m ? m->cfg.text_vocab : -1, want);
        const int saved = llava_model_save(m, out, LLAVA_F32);
        llava_model_free(m);
        if (saved != LLAVA_OK) llava_tokenizer_free(t0);
        CHECK(saved == LLAVA_OK, "save: %s", llava_last_error());
        tk = llava_tokenizer_load(out);
        int ids[32], ids0[32], n = -1, n0 = -1;
        if (tk) n = llava_tokenize(tk, "<image>\nhello there", strlen("<image>\nhello there"), 1, ids, 32);
        n0 = llava_tokenize(t0, "hello there", strlen("hello there"), 1, ids0, 32);
        b = llava_model_load(out);
        const int img = b ? b->cfg.image_token_id : -1;
        llava_model_free(b);
        const int tid = tk ? llava_token_id(tk, "<image>") : -2, special = tk && tid >= 0 ? llava_token_is_special(tk, tid) : -1;
        llava_tokenizer_free(tk), llava_tokenizer_free(t0);
        CHECK(img == want && tid == want && special == 1, "saved: model image token %d, tokenizer \"<image>\" %d (special %d; want %d): %s", img, tid,
              special, want, llava_last_error());
        /* "<image>" split out, the rest as the language model's own tokenizer spells it (its "\n" aside) */
        CHECK(n >= 3 && n0 >= 2 && ids[1] == want && ids[n - 1] == ids0[n0 - 1], "\"<image>\\nhello there\": %d ids (second %d)", n, n > 1 ? ids[1] : -1);
    }
    return 1;
}

/* sum(r * rows) in double over the tower's rows of n images (the loss of the tower test) */
static double tower_loss(LlavaTowerCache *a, const float *const *px, int n, const float *r, float *rows, size_t nr) {
    double L = 0;
    size_t i;
    if (llava_tower_forward(a, px, n, rows) != LLAVA_OK) return NAN;
    for (i = 0; i < nr; i++) L += (double)r[i] * rows[i];
    return L;
}

/* the public API for training a vision tower: its rows are the inference pass's, its gradients those of
   finite differences, a caller's buffer gets what the trainer's own gradients get, bad input is an
   error; an extra tensor saved beside the model reads back and replaces the loaded one */
static int t_tower(const void *arg) {
    (void)arg;
    LlavaModel *m = llava_model_load(fx("models/tiny_hf4")), *m1 = llava_model_load(fx("models/tiny_hf4"));
    CHECK(m && m1, "%s", llava_last_error());
    const LlavaConfig *c = llava_model_config(m);
    const int S = c->vision_image_size, D = c->vision_hidden, N = llava_tower_rows(m), n = 2;
    CHECK(N == 17 && llava_tower_layers(m) == 1, "rows %d, layers %d: expected 17 and 1 (feature layer -2 of 2)", N, llava_tower_layers(m));
    LlavaTrainer *t = ttrainer(m1, "stage1", 4); /* the projector only: nothing of the tower to train */
    CHECK(t && !llava_tower_cache_new(t, n) && err_has("no parameter of the vision tower"), "stage 1 trainer: %s", llava_last_error());
    llava_trainer_free(t);
    llava_model_free(m1);
    const size_t npix = (size_t)3 * S * S, nr = (size_t)n * N * D;
    float *pix = (float *)malloc(sizeof(float) * (npix * n + 3 * nr)), *rows = pix + npix * n, *enc = rows + nr, *r = enc + nr;
    uint64_t s = 91;
    size_t i, k, q, off = 0;
    for (i = 0; i < npix * n; i++) pix[i] = frand(&s);
    for (i = 0; i < nr; i++) r[i] = frand(&s);
    const float *px[2] = {pix, pix + npix};
    t = ttrainer(m, "vision", 4);
    LlavaTowerCache *a = t ? llava_tower_cache_new(t, n) : NULL;
    CHECK(a, "cache: %s", llava_last_error());
    CHECK(llava_tower_forward(a, px, 3, rows) != LLAVA_OK && err_has("the cache holds 1 to 2"), "3 images in a cache of 2: %s",
          llava_last_error());
    CHECK(llava_tower_forward(a, px, n, rows) == LLAVA_OK, "forward: %s", llava_last_error());
    for (k = 0; k < (size_t)n; k++) CHECK(llava_tower_encode(m, px[k], enc + k * N * D) == LLAVA_OK, "encode: %s", llava_last_error());
    CHECK(max_abs_diff(rows, enc, nr) < 1e-5, "training forward vs inference: %g", max_abs_diff(rows, enc, nr));
    CHECK(llava__encode_host(m, px[0], rows, m->cfg.vision_select_full, 0) == LLAVA_OK && !memcmp(rows, enc + D, sizeof(float) * (N - 1) * D),
          "llava_tower_encode without its CLS row is not what LLaVA reads");
    /* gradients into a buffer, then into the trainer: the same numbers, in the trainer's order */
    const size_t ng = llava_tower_grad_size(a);
    CHECK(ng == llava_model_n_params(m, "vision_tower.") && ng > 0, "buffer of %zu floats for %zu tower parameters", ng,
          llava_model_n_params(m, "vision_tower."));
    float *gb = (float *)calloc(ng, sizeof(float));
    CHECK(tower_loss(a, px, n, r, rows, nr) == tower_loss(a, px, n, r, rows, nr), "forward: %s", llava_last_error());
    CHECK(llava_tower_backward(a, r, gb) == LLAVA_OK && llava_tower_backward(a, r, NULL) == LLAVA_OK, "backward: %s", llava_last_error());
    double d2 = 0, g2 = 0;
    int p, checked = 0;
    for (p = 0; p < llava_trainer_n_params(t); p++) {
        const float *d, *g;
        size_t pn;
        const char *name = llava_trainer_param(t, p, &d, &g, &pn);
        if (!g || strncmp(name, "vision_tower.", 13)) continue;
        CHECK(off + pn <= ng && !memcmp(g, gb + off, sizeof(float) * pn), "%s: the buffer's gradient is not the trainer's", name);
        off += pn;
        for (k = 0; k < 3; k++) { /* central differences at three entries of every tensor */
            float *w = (float *)(uintptr_t)d, w0;
            const float h = 1e-2f;
            q = (k * 7919 + 13) % pn;
            w0 = w[q];
            w[q] = w0 + h;
            const double lp = tower_loss(a, px, n, r, rows, nr);
            w[q] = w0 - h;
            const double lm = tower_loss(a, px, n, r, rows, nr);
            w[q] = w0;
            const double fd = (lp - lm) / (2.0 * h);
            d2 += (fd - g[q]) * (fd - g[q]), g2 += (double)g[q] * g[q];
            checked++;
        }
    }
    CHECK(off == ng, "the buffer has %zu floats, the tower's trainable parameters %zu", ng, off);
    if (getenv("LLAVA_TEST_VERBOSE")) fprintf(stderr, "tower: %d entries, gradients vs finite differences, relative error %.3g\n", checked, sqrt(d2 / g2));
    CHECK(sqrt(d2) <= 1e-2 * sqrt(g2), "%d entries: gradients vs finite differences, relative error %.3g", checked, sqrt(d2 / g2));
    /* an update with the caller's loss: one step done, the gradients zeroed */
    LlavaStepStats st;
    const float *g0;
    CHECK(llava_trainer_apply(t, 1.5, &st) == LLAVA_OK && st.step == 1 && st.loss == 1.5f, "apply: %s", llava_last_error());
    llava_trainer_param(t, 0, NULL, &g0, NULL);
    CHECK(g0 && g0[0] == 0.0f && llava_trainer_steps_done(t) == 1, "gradients after apply");
    /* post_layernorm (loaded from the fixture, not run) replaced by the caller's */
    float pw[64], back[64];
    for (k = 0; k < (size_t)D; k++) pw[k] = 1.0f + 0.01f * (float)k;
    LlavaTensor x = {"vision_tower.vision_model.post_layernorm.weight", pw, 1, {D, 0, 0, 0}};
    CHECK(llava_model_read_tensor(m, x.name, back, (size_t)D) == LLAVA_OK, "the fixture's post_layernorm: %s",
          llava_last_error());
    CHECK(llava_model_save_with(m, tmp("tower"), LLAVA_F32, &x, 1) == LLAVA_OK, "save: %s", llava_last_error());
    LlavaModel *b = llava_model_load(tmp("tower"));
    CHECK(b, "load: %s", llava_last_error());
    int ok = llava_model_read_tensor(b, x.name, back, (size_t)D) == LLAVA_OK && !memcmp(back, pw, sizeof(float) * D);
    snprintf(g_msg, sizeof g_msg, "post_layernorm read back: %s", llava_last_error());
    if (ok && (llava_model_read_tensor(b, x.name, back, (size_t)D - 1) == LLAVA_OK || !err_has("elements")))
        snprintf(g_msg, sizeof g_msg, "a wrong size: %s", llava_last_error()), ok = 0;
    if (ok && (llava_model_read_tensor(b, "vision_tower.vision_model.nothing", back, 1) == LLAVA_OK || !err_has("no tensor")))
        snprintf(g_msg, sizeof g_msg, "a missing tensor: %s", llava_last_error()), ok = 0;
    size_t fn;
    char *file = (char *)read_all(tmp("tower/model.safetensors"), &fn);
    const char *h1 = file ? strstr(file + 8, "post_layernorm.weight") : NULL;
    if (ok && (!h1 || strstr(h1 + 1, "post_layernorm.weight"))) snprintf(g_msg, sizeof g_msg, "post_layernorm.weight saved %s", h1 ? "twice" : "never"), ok = 0;
    free(file);
    llava_model_free(b);
    llava_tower_cache_free(a);
    llava_trainer_free(t);
    llava_model_free(m);
    free(pix), free(gb);
    return ok;
}

/* bad training input names the sample; a NaN loss stops without touching the parameters */
static int t_train_bad(const void *arg) {
    (void)arg;
    tbatch b;
    CHECK(tbatch_load(&b, "tiny_hf4") == 0, "batch");
    LlavaModel *m = tload(fx("models/tiny_hf4"));
    LlavaTrainer *t = ttrainer(m, "stage2", 6);
    LlavaStepStats st;
    LlavaSample s[3];
    int ok = 1;
    memcpy(s, b.s, sizeof s);
    s[1].n_images = 0; /* placeholders without an image */
    if (llava_trainer_step(t, s, 3, &st) == LLAVA_OK || !err_has("sample 1: 16 image placeholder tokens"))
        snprintf(g_msg, sizeof g_msg, "missing image: %s", llava_last_error()), ok = 0;
    int lab[64];
    memcpy(s, b.s, sizeof s);
    memcpy(lab, b.labels[2], sizeof lab);
    lab[3] = 600;
    s[2].labels = lab;
    if (ok && (llava_trainer_step(t, s, 3, &st) == LLAVA_OK || !err_has("sample 2: label 600")))
        snprintf(g_msg, sizeof g_msg, "bad label: %s", llava_last_error()), ok = 0;
    int none[64];
    memcpy(s, b.s, sizeof s);
    for (int i = 0; i < 64; i++) none[i] = -100;
    s[2].labels = none;
    if (ok && (llava_trainer_step(t, s + 2, 1, &st) == LLAVA_OK || !err_has("no supervised tokens")))
        snprintf(g_msg, sizeof g_msg, "unsupervised batch: %s", llava_last_error()), ok = 0;
    /* NaN pixels: the loss is NaN, the update refuses, the parameters stay as they were */
    size_t n;
    int pi = tparam_index(t, "multi_modal_projector.linear_1.weight");
    llava_trainer_param(t, pi, NULL, NULL, &n);
    float *before = tread(t, pi, 0), *after = NULL;
    float *px = (float *)malloc(sizeof(float) * 2 * 3 * 32 * 32);
    memcpy(px, b.pixels, sizeof(float) * 2 * 3 * 32 * 32);
    px[5] = NAN;
    memcpy(s, b.s, sizeof s);
    s[0].pixels = px;
    if (ok && (llava_trainer_step(t, s, 3, &st) == LLAVA_OK || !err_has("the loss is nan")))
        snprintf(g_msg, sizeof g_msg, "NaN loss: %s", llava_last_error()), ok = 0;
    if (ok && (!before || !(after = tread(t, pi, 0)) || memcmp(before, after, n * sizeof(float))))
        snprintf(g_msg, sizeof g_msg, "parameters changed by a NaN step (or unreadable: %s)", llava_last_error()), ok = 0;
    if (ok && llava_trainer_step(t, b.s, 3, &st) != LLAVA_OK) snprintf(g_msg, sizeof g_msg, "a good step after the bad ones: %s", llava_last_error()), ok = 0;
    free(before), free(after), free(px), free(b.pixels);
    llava_trainer_free(t);
    llava_model_free(m);
    return ok;
}

/* a saved model loads here with the same logits; BF16 and the original layout (linear projector) too */
static int t_save_load(const void *arg) {
    (void)arg;
    static const char *models[3] = {"models/tiny_hf4", "models/tiny_hf5", "models/tiny_orig_linear"};
    int k, ok = 1;
    for (k = 0; k < 3 && ok; k++) {
        const fcase *f = NULL;
        int i;
        for (i = 0; i < g_ncases; i++)
            if (strstr(g_cases[i].model, models[k]) && g_cases[i].n_images == 1) f = &g_cases[i];
        LlavaModel *a = llava_model_load(fx(models[k]));
        char *d = tmp(k == 0 ? "saved0" : k == 1 ? "saved1" : "saved2");
        int rc = a ? llava_model_save(a, d, LLAVA_F32) : -1;
        LlavaModel *b = rc == LLAVA_OK ? llava_model_load(d) : NULL;
        if (!b) {
            snprintf(g_msg, sizeof g_msg, "%s: %s", models[k], llava_last_error());
            ok = 0;
        } else {
            size_t n;
            float *px = (float *)read_all(f->pixels, &n);
            LlavaContext *ca = llava_context_new(a, 64), *cb = llava_context_new(b, 64);
            const float *la = llava_prompt(ca, f->ids, f->n_ids, px, 1), *lb = llava_prompt(cb, f->ids, f->n_ids, px, 1);
            if (!la || !lb || memcmp(la, lb, sizeof(float) * 600)) snprintf(g_msg, sizeof g_msg, "%s: logits differ after save/load", models[k]), ok = 0;
            llava_context_free(ca), llava_context_free(cb);
            free(px);
        }
        llava_model_free(a), llava_model_free(b);
    }
    return ok;
}

int main(int argc, char **argv) {
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: %s [FIXTURES_DIR]\n"
               "Runs llava.h's tests (kernels, models against transformers' fixtures, preprocessing, malformed input,\n"
               "training); one line per test, then \"N passed, N failed\"; exit 1 on any failure.\n"
               "  FIXTURES_DIR   the committed fixtures (default tests/fixtures: run from the repository root)\n"
               "  --help         this text\n",
               prog);
        return 0;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, argc > 2 ? "%s: unexpected argument '%s' (see %s --help)\n" : "%s: unknown option '%s' (see %s --help)\n", prog,
                argv[argc > 2 ? 2 : 1], prog);
        return 2;
    }
    if (argc > 1) g_fix = argv[1];
    snprintf(g_tmp, sizeof g_tmp, "/tmp/llava-test-XXXXXX");
    if (!mkdtemp(g_tmp)) {
        fprintf(stderr, "cannot make a temporary directory\n");
        return 1;
    }
    run("half precision conversions", t_half_conversions, NULL);
    run("matmul (fast) vs naive, f32/f16/bf16 weights, both layouts", t_matmul, NULL);
    {
        static int amx;
        amx = llava__amx_available();
        run(amx ? "matmul with bf16 operands (emulated, and on AMX) vs a double loop" : "matmul with bf16 operands (emulated; no AMX here) vs a double loop",
            t_matmul_bf16, &amx);
    }
    run("attention vs double reference (causal, GQA)", t_attention, NULL);
    run("layernorm, rmsnorm, rope, activations", t_norms_rope, NULL);
    run("backward passes vs finite differences", t_backward_fd, NULL);
    run("public layers (llava_matmul_forward, ...) are the kernels the model runs", t_layers_public, NULL);
    run("json reader", t_json, NULL);
    run("sampling: greedy, top-k, top-p, seed", t_sampling, NULL);
    if (manifest_load("manifest.json", manifest_pre) != 0 || manifest_load("lm/manifest.json", NULL) != 0) {
        printf("FAIL  fixtures: cannot read %s/manifest.json\n", g_fix);
        g_fail++;
    } else {
        int i;
        char name[160];
        for (i = 0; i < g_ncases; i++) {
            snprintf(name, sizeof name, "transformers fixture %s: logits, greedy, KV cache", g_cases[i].name);
            run(name, t_case, &g_cases[i]);
        }
        for (i = 0; i < g_npre; i++) {
            snprintf(name, sizeof name, "preprocess %s %s %d%s", g_pre[i].image, g_pre[i].pad ? "pad" : "crop", g_pre[i].size,
                     g_pre[i].alpha_white ? "" : " (alpha dropped)");
            run(name, t_preprocess, &g_pre[i]);
        }
        run("preprocess from decoded bytes is bit-exact with Pillow", t_preprocess_exact, NULL);
        run("bad images", t_images_bad, NULL);
        run("malformed safetensors", t_bad_safetensors, NULL);
        run("fuzzed safetensors headers", t_fuzz_header, NULL);
        run("malformed config.json / preprocessor_config.json", t_bad_config, NULL);
        run("inputs the fuzzers found: odd-address f16, huge config numbers, huge image headers and pads, bad JPEG tables", t_fuzz_found, NULL);
        run("bad prompts: too long, wrong placeholders, bad ids, full context", t_bad_prompts, NULL);
        run("safetensors write -> load round trip is bit-exact", t_roundtrip, NULL);
        run("two models in two threads", t_threads_independent, NULL);
        run("images encoded ahead (llava_eval_features) give the same logits", t_eval_features, NULL);
        run("save -> load: same logits (HF layout, tied head, original layout)", t_save_load, NULL);
        run("a language model alone (LlamaForCausalLM): text only; images, training, saving refused", t_lm_alone, NULL);
        run("llava_model_assemble: a tower + a language model alone + a fresh projector, \"<image>\" added; saved, loaded, transformers", t_assemble, NULL);
        run("llava_model_assemble with a SentencePiece tokenizer.model alone: \"<image>\" saved in added_tokens.json, tokenizer_config.json", t_assemble_spm,
            NULL);
        run("a new model from a config: initialized, saved, loaded", t_model_new, NULL);
        run("training a vision tower: rows, gradients vs finite differences, buffers, extra tensors", t_tower, NULL);
    }
    size_t tn;
    g_ttext = (char *)read_all(fx("train/manifest.json"), &tn);
    if (!g_ttext || llava_json_parse(&g_tj, g_ttext, tn, "train/manifest.json") != LLAVA_OK) {
        printf("FAIL  training fixtures: cannot read %s/train/manifest.json\n", g_fix);
        g_fail++;
    } else {
        static const char *grads[5] = {"tiny_hf4/stage1", "tiny_hf4/stage2", "tiny_hf4/vision", "tiny_hf5/stage1", "tiny_hf5/stage2"};
        static const char *runs[3] = {"stage2", "stage2_accum", "stage1"};
        char name[260];
        const char *on;
        int i, pass;
        static const char *bgrads[2] = {"tiny_hf4/stage2@bf16", "tiny_hf4/vision@bf16"};
        CheckBackend *cb = check_backend_new((size_t)1 << 30);
        for (pass = 0; pass < 2; pass++) {
            g_tb = pass ? (cb ? &cb->b : NULL) : NULL;
            on = pass ? "cpu-remote: " : "";
            if (pass && !cb) {
                printf("FAIL  the checking backend: %s\n", llava_last_error());
                g_fail++;
                break;
            }
            for (i = 0; i < 5; i++) {
                snprintf(name, sizeof name, "%straining gradients vs PyTorch: %s", on, grads[i]);
                run(name, t_train_grads, grads[i]);
            }
            for (i = 0; i < 2; i++) {
                snprintf(name, sizeof name, "%straining gradients with bf16 products (%s) vs PyTorch's f32, within %g: %s", on,
                         llava__amx_available() ? "AMX" : "emulated", BF16_TOL, bgrads[i]);
                run(name, t_train_grads, bgrads[i]);
            }
            for (i = 0; i < 3; i++) {
                snprintf(name, sizeof name, "%sAdamW steps vs PyTorch (warmup, cosine, clipping): %s", on, runs[i]);
                run(name, t_train_steps, runs[i]);
            }
            snprintf(name, sizeof name, "%sstop, save, resume: bit-identical losses", on);
            run(name, t_train_resume, NULL);
            snprintf(name, sizeof name, "%sbad training input; a NaN loss changes nothing", on);
            run(name, t_train_bad, NULL);
        }
        g_tb = NULL;
        if (cb && (cb->n.live != 0 || cb->n.bad != 0)) {
            printf("FAIL  cpu-remote after the training tests: %zu allocations still live, %zu entries refused\n", cb->n.live, cb->n.bad);
            g_fail++;
        }
        check_backend_free(cb);
        llava_json_free(&g_tj);
    }
    free(g_ttext);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    return test_summary();
}
