/* plot.h: line charts as SVG files (no dependency), and a training run's loss log: a CSV of one row per
   optimizer step and its chart. On llava.h's public API (LlavaBuf, llava_read_file, llava_write_text);
   include it after llava.h.

   A chart:
       double x[] = {1, 2, 3}, y[] = {2.5, 1.7, 1.2};
       PlotLine line = {"loss", "#1f77b4", x, y, 3, 2.0, 1.0};
       PlotChart c = {"Training loss", "step", "loss", &line, 1, NULL, 0, 0, 0};
       plot_svg("loss.svg", &c);
   Axes are numbered at round values (1, 2 or 5 times a power of ten), the y axis from and to a tick,
   the x axis from a tick to the last point; a line with a label gets a legend entry; a mark is a
   dashed vertical line with a label on either side (the stages of a run). */
#ifndef LLAVA_TOOLS_PLOT_H
#define LLAVA_TOOLS_PLOT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define PLOT_UNUSED __attribute__((unused))
#else
#define PLOT_UNUSED
#endif

typedef struct {
    const char *label;     /* legend text, or NULL for no legend entry */
    const char *color;     /* SVG color, "#1f77b4" */
    const double *x, *y;   /* [n] */
    int n;
    double width, opacity; /* stroke width in pixels, 0..1 */
} PlotLine;

typedef struct {
    double x;                 /* where the dashed vertical line stands */
    const char *left, *right; /* labels before and after it (either may be NULL) */
} PlotMark;

typedef struct {
    const char *title, *xlabel, *ylabel;
    const PlotLine *lines;
    int n_lines;
    const PlotMark *marks;
    int n_marks;
    int width, height; /* pixels; 0: 720 x 405 */
} PlotChart;

/* the tick spacing for `range` split into at most max_ticks intervals: 1, 2 or 5 times a power of ten */
PLOT_UNUSED static double plot_tick(double range, int max_ticks) {
    const double raw = range > 0 ? range / max_ticks : 1, mag = pow(10, floor(log10(raw)));
    return raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
}

/* a tick's value with as many decimals as the spacing needs (0.5 -> "2.5", 500 -> "1500") */
static void plot__num(char *out, size_t cap, double v, double tick) {
    const int dec = tick >= 1 ? 0 : (int)ceil(-log10(tick) - 1e-9);
    snprintf(out, cap, "%.*f", dec, fabs(v) < tick * 1e-6 ? 0.0 : v);
}

/* text with &, < and > escaped */
static void plot__text(LlavaBuf *b, const char *s) {
    for (; *s; s++)
        if (*s == '&' || *s == '<' || *s == '>') llava_buf_puts(b, *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : "&gt;");
        else llava_buf_put(b, s, 1);
}

PLOT_UNUSED static int plot_svg(const char *path, const PlotChart *c) {
    const double W = c->width ? c->width : 720, H = c->height ? c->height : 405;
    const double L = 68, R = 20, T = 44, B = 56; /* margins: tick labels and axis titles outside the plot area */
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int i, k;
    for (i = 0; i < c->n_lines; i++)
        for (k = 0; k < c->lines[i].n; k++) {
            const double x = c->lines[i].x[k], y = c->lines[i].y[k];
            if (!isfinite(x) || !isfinite(y)) continue;
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
    if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1; /* no points: an empty frame */
    if (x1 - x0 < 1e-12) x1 = x0 + 1;
    if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
    const double xt = plot_tick(x1 - x0, 8), yt = plot_tick(y1 - y0, 6);
    x0 = floor(x0 / xt) * xt, y0 = floor(y0 / yt) * yt, y1 = ceil(y1 / yt) * yt;
    const double pw = W - L - R, ph = H - T - B;
#define PLOT_X(v) (L + pw * ((v) - x0) / (x1 - x0))
#define PLOT_Y(v) (T + ph * (1 - ((v) - y0) / (y1 - y0)))
    LlavaBuf b = {0};
    char num[64];
    llava_buf_printf(&b,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                     "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"13\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                     W, H, W, H);
    if (c->title) {
        llava_buf_printf(&b, "<text x=\"%.1f\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">", L + pw / 2);
        plot__text(&b, c->title);
        llava_buf_puts(&b, "</text>\n");
    }
    /* grid and numbered ticks */
    llava_buf_puts(&b, "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n");
    for (k = 0; y0 + k * yt <= y1 + yt * 1e-6; k++)
        llava_buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", L, PLOT_Y(y0 + k * yt), L + pw, PLOT_Y(y0 + k * yt));
    for (k = 0; x0 + k * xt <= x1 + xt * 1e-6; k++)
        llava_buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PLOT_X(x0 + k * xt), T, PLOT_X(x0 + k * xt), T + ph);
    llava_buf_puts(&b, "</g>\n<g class=\"y-axis\" fill=\"#333\" text-anchor=\"end\">\n");
    for (k = 0; y0 + k * yt <= y1 + yt * 1e-6; k++) {
        plot__num(num, sizeof num, y0 + k * yt, yt);
        llava_buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", L - 8, PLOT_Y(y0 + k * yt) + 4.5, num);
    }
    llava_buf_puts(&b, "</g>\n<g class=\"x-axis\" fill=\"#333\" text-anchor=\"middle\">\n");
    for (k = 0; x0 + k * xt <= x1 + xt * 1e-6; k++) {
        plot__num(num, sizeof num, x0 + k * xt, xt);
        llava_buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", PLOT_X(x0 + k * xt), T + ph + 19, num);
    }
    llava_buf_puts(&b, "</g>\n");
    if (c->xlabel) {
        llava_buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">", L + pw / 2, H - 12);
        plot__text(&b, c->xlabel);
        llava_buf_puts(&b, "</text>\n");
    }
    if (c->ylabel) {
        llava_buf_printf(&b, "<text transform=\"translate(20 %.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">", T + ph / 2);
        plot__text(&b, c->ylabel);
        llava_buf_puts(&b, "</text>\n");
    }
    /* the lines, clipped to the plot area */
    llava_buf_printf(&b, "<clipPath id=\"area\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n", L, T, pw, ph);
    for (i = 0; i < c->n_lines; i++) {
        const PlotLine *p = &c->lines[i];
        llava_buf_printf(&b, "<polyline clip-path=\"url(#area)\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.2g\" stroke-opacity=\"%.2g\" "
                             "stroke-linejoin=\"round\" points=\"", p->color, p->width, p->opacity);
        for (k = 0; k < p->n; k++)
            if (isfinite(p->x[k]) && isfinite(p->y[k])) llava_buf_printf(&b, "%.1f,%.1f ", PLOT_X(p->x[k]), PLOT_Y(p->y[k]));
        llava_buf_puts(&b, "\"/>\n");
    }
    /* marks: a dashed line, its labels just inside the top of the plot area */
    for (i = 0; i < c->n_marks; i++) {
        const double x = PLOT_X(c->marks[i].x);
        llava_buf_printf(&b, "<line class=\"mark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" stroke-dasharray=\"5 4\"/>\n", x, T, x, T + ph);
        if (c->marks[i].left) {
            llava_buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">", x - 6, T + 16);
            plot__text(&b, c->marks[i].left);
            llava_buf_puts(&b, "</text>\n");
        }
        if (c->marks[i].right) {
            llava_buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#333\">", x + 6, T + 16);
            plot__text(&b, c->marks[i].right);
            llava_buf_puts(&b, "</text>\n");
        }
    }
    /* the legend, top right inside the plot area, on a white box */
    int n_legend = 0;
    size_t longest = 0;
    for (i = 0; i < c->n_lines; i++)
        if (c->lines[i].label) n_legend++, longest = strlen(c->lines[i].label) > longest ? strlen(c->lines[i].label) : longest;
    if (n_legend) {
        const double lw = 44 + 7.0 * (double)longest, lx = L + pw - lw - 8, ly = T + 8;
        llava_buf_puts(&b, "<g class=\"legend\">\n");
        llava_buf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#ccc\"/>\n", lx, ly,
                         lw, 8 + 19 * n_legend);
        for (i = 0, k = 0; i < c->n_lines; i++) {
            const PlotLine *p = &c->lines[i];
            if (!p->label) continue;
            const double y = ly + 17 + 19 * k++;
            llava_buf_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%.2g\" stroke-opacity=\"%.2g\"/>\n",
                             lx + 8, y - 4.5, lx + 32, y - 4.5, p->color, p->width < 2 ? 2 : p->width, p->opacity);
            llava_buf_printf(&b, "<text x=\"%.1f\" y=\"%.1f\">", lx + 38, y);
            plot__text(&b, p->label);
            llava_buf_puts(&b, "</text>\n");
        }
        llava_buf_puts(&b, "</g>\n");
    }
    llava_buf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n</svg>\n", L, T, pw, ph);
#undef PLOT_X
#undef PLOT_Y
    int rc = b.oom ? -1 : llava_write_text(path, b.p);
    llava_buf_free(&b);
    return rc;
}

/* --- the loss log of a training run ------------------------------------------------------------------ */
typedef struct {
    int stage, step; /* step: optimizer steps of the stage done, this one included */
    float loss, lr, grad_norm, tok_s;
} LossRow;

/* stage,step,loss,lr,grad_norm,tokens_per_s, with every float to 9 digits: it reads back bit for bit */
PLOT_UNUSED static int loss_csv_write(const char *path, const LossRow *r, int n) {
    LlavaBuf b = {0};
    int i;
    llava_buf_puts(&b, "stage,step,loss,lr,grad_norm,tokens_per_s\n");
    for (i = 0; i < n; i++)
        llava_buf_printf(&b, "%d,%d,%.9g,%.9g,%.9g,%.1f\n", r[i].stage, r[i].step, r[i].loss, r[i].lr, r[i].grad_norm, r[i].tok_s);
    int rc = b.oom ? -1 : llava_write_text(path, b.p);
    llava_buf_free(&b);
    return rc;
}

/* the rows of a CSV that loss_csv_write wrote; a missing file is no rows. Release *rows with free. */
PLOT_UNUSED static int loss_csv_read(const char *path, LossRow **rows, int *n) {
    size_t len;
    char *t = llava_file_exists(path) ? llava_read_file(path, (size_t)1 << 30, &len) : NULL, *p;
    int cap = 0;
    *rows = NULL;
    *n = 0;
    for (p = t ? strchr(t, '\n') : NULL; p && p[1]; p = strchr(p + 1, '\n')) {
        LossRow r;
        if (sscanf(p + 1, "%d,%d,%f,%f,%f,%f", &r.stage, &r.step, &r.loss, &r.lr, &r.grad_norm, &r.tok_s) != 6) continue;
        if (*n == cap) {
            LossRow *g = (LossRow *)realloc(*rows, sizeof(LossRow) * (size_t)(cap = cap ? cap * 2 : 256));
            if (!g) {
                llava_free_string(t);
                return -1;
            }
            *rows = g;
        }
        (*rows)[(*n)++] = r;
    }
    llava_free_string(t);
    return 0;
}

/* The loss of stages 1 and 2 against the step, stage 2's steps counted on after stage 1's, the stage
   boundary marked. Each step's loss is drawn thin and pale, and where a stage has 100 steps or more its
   mean over a window of about 2% of them (centered) on top, so that the trend shows through the noise. */
PLOT_UNUSED static int loss_svg_write(const char *path, const LossRow *r, int n) {
    static const char *color[2] = {"#1f77b4", "#d62728"};
    double *x = (double *)malloc(sizeof(double) * (size_t)(3 * n + 1)), *y = x + n, *mean = y + n;
    PlotLine lines[4];
    PlotMark mark = {0, "stage 1", "stage 2"};
    char label[4][48];
    int i, st, n_lines = 0, first[2] = {0, 0}, count[2] = {0, 0}, last1 = 0;
    if (!x) return -1;
    for (i = 0; i < n; i++)
        if (r[i].stage == 1 && r[i].step > last1) last1 = r[i].step;
    for (st = 0; st < 2; st++) { /* each stage's points together, in the log's (step) order */
        first[st] = st ? first[0] + count[0] : 0;
        for (i = 0; i < n; i++)
            if (r[i].stage == st + 1) {
                x[first[st] + count[st]] = st ? last1 + r[i].step : r[i].step;
                y[first[st] + count[st]++] = r[i].loss;
            }
    }
    for (st = 0; st < 2; st++) {
        const int m = count[st], o = first[st], half = m / 100;
        if (!m) continue;
        snprintf(label[n_lines], sizeof label[0], half ? "stage %d, each step" : "stage %d", st + 1);
        lines[n_lines] = (PlotLine){label[n_lines], color[st], x + o, y + o, m, half ? 1.0 : 2.0, half ? 0.3 : 1.0};
        n_lines++;
        if (!half) continue;
        for (i = 0; i < m; i++) {
            const int a = i - half < 0 ? 0 : i - half, e = i + half >= m ? m - 1 : i + half;
            double s = 0;
            int k;
            for (k = a; k <= e; k++) s += y[o + k];
            mean[o + i] = s / (e - a + 1);
        }
        snprintf(label[n_lines], sizeof label[0], "stage %d, mean of %d steps", st + 1, 2 * half + 1);
        lines[n_lines] = (PlotLine){label[n_lines], color[st], x + o, mean + o, m, 2.0, 1.0};
        n_lines++;
    }
    mark.x = last1 + 0.5;
    const int both = count[0] && count[1];
    PlotChart c = {"Training loss", both ? "step (stage 1, then stage 2)" : "step", "loss per answer token", lines, n_lines, &mark, both, 0, 0};
    int rc = plot_svg(path, &c);
    free(x);
    return rc;
}

#endif /* LLAVA_TOOLS_PLOT_H */
