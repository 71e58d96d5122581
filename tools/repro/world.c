/* world: a synthetic world of flat shapes, deterministic from a seed, with the paper's symbolic
   representation of every image (five captions and a box list).

     world --seed 1 --n 5000 --out data/world [--size 64] [--max-objects 5] [--overlap 0.3] [--quiet]

   writes DIR/images/NNNNNN.png (RGB, anti-aliased by 4x4 supersampling) and DIR/world.json:
     {"seed": 1, "size": 64, "n": 5000, "max_objects": 5,
      "images": [{"id": "000000", "file": "images/000000.png",
                  "background": {"kind": "plain" | "split_v" | "split_h", "colors": ["gray"] | ["beige", "navy"]},
                  "objects": [{"shape": "circle", "color": "red", "size": "large", "box": [0.102, 0.250, 0.398, 0.547]}],
                  "captions": ["five", "captions", ...],
                  "boxes": "red circle: [0.102, 0.250, 0.398, 0.547]\n..."}]}
   Boxes are [x1, y1, x2, y2] normalized to 0-1 (y down), rounded to 3 decimals; objects are listed in
   drawing order (later ones on top). Image i depends only on (seed, i): the same seed and arguments give
   byte-identical files, and a larger --n extends a smaller one. Held-out sets use another seed. */
#define _POSIX_C_SOURCE 200809L
#define LLAVA_IMPLEMENTATION
#include "../../llava.h"
#include "../common.h"
#include "world.h"


#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* half extent of each size class, as a fraction of the image side */
static const double size_lo[W_NSIZE] = {0.075, 0.12, 0.175}, size_hi[W_NSIZE] = {0.095, 0.145, 0.205};

static int color_distance(const unsigned char *a, const unsigned char *b) {
    int d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
    return (int)sqrt((double)(d0 * d0 + d1 * d1 + d2 * d2));
}

/* fraction of samples of a's box-intersection with b that both shapes cover; and of a left visible */
static void overlap_stats(const WObj *a, const WObj *b, double *shared, double *a_visible) {
    double ba[4], bb[4];
    int i, j, in_a = 0, both = 0, n = 48;
    w_exact_box(a, ba);
    w_exact_box(b, bb);
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            double x = ba[0] + (ba[2] - ba[0]) * (i + 0.5) / n, y = ba[1] + (ba[3] - ba[1]) * (j + 0.5) / n;
            if (!w_inside(a, x, y)) continue;
            in_a++;
            both += w_inside(b, x, y);
        }
    *shared = in_a ? (double)both / in_a : 0;
    *a_visible = in_a ? 1.0 - (double)both / in_a : 0;
}

static int boxes_apart(const double *a, const double *b, double gap) {
    return a[2] + gap <= b[0] || b[2] + gap <= a[0] || a[3] + gap <= b[1] || b[3] + gap <= a[1];
}

/* places n objects; returns 0 on success, -1 to retry with fresh draws */
static int place(WRng *r, WScene *sc, int n, int want_overlap) {
    int k, t;
    sc->n = 0;
    for (k = 0; k < n; k++) {
        WObj *o = &sc->o[k];
        int ok = 0;
        /* a (colour, shape) pair new to the scene, with contrast against the background */
        for (t = 0; t < 200 && !ok; t++) {
            int j;
            o->shape = w_rng_int(r, W_NSHAPE);
            o->color = w_rng_int(r, W_NCOLOR);
            ok = color_distance(w_color_rgb[o->color], w_bg_rgb[sc->bg[0]]) >= 120 &&
                 (sc->bg_kind == W_BG_PLAIN || color_distance(w_color_rgb[o->color], w_bg_rgb[sc->bg[1]]) >= 120);
            for (j = 0; j < k && ok; j++)
                if (sc->o[j].shape == o->shape && sc->o[j].color == o->color) ok = 0;
        }
        if (!ok) return -1;
        o->size = w_rng_int(r, W_NSIZE);
        o->s = size_lo[o->size] + (size_hi[o->size] - size_lo[o->size]) * w_rng_unif(r);
        /* the last object of an overlapping scene overlaps exactly one earlier object */
        int overlap_with = (want_overlap && k == n - 1 && k > 0) ? w_rng_int(r, k) : -1;
        ok = 0;
        for (t = 0; t < 400 && !ok; t++) {
            double b[4];
            int j;
            o->cx = 0.02 + o->s + (0.96 - 2 * o->s) * w_rng_unif(r);
            o->cy = 0.02 + o->s + (0.96 - 2 * o->s) * w_rng_unif(r);
            w_exact_box(o, b);
            if (b[0] < 0.02 || b[1] < 0.02 || b[2] > 0.98 || b[3] > 0.98) continue;
            ok = 1;
            for (j = 0; j < k && ok; j++) {
                double bj[4];
                w_exact_box(&sc->o[j], bj);
                if (j == overlap_with) {
                    double shared, vis;
                    if (boxes_apart(b, bj, 0.0)) ok = 0;
                    else {
                        overlap_stats(&sc->o[j], o, &shared, &vis);
                        /* a real overlap, and the one below still clearly visible */
                        if (shared < 0.12 || vis < 0.5) ok = 0;
                    }
                } else if (!boxes_apart(b, bj, 0.03))
                    ok = 0;
            }
        }
        if (!ok) return -1;
        sc->n = k + 1;
    }
    for (k = 0; k < n; k++) {
        double b[4];
        int q;
        w_exact_box(&sc->o[k], b);
        for (q = 0; q < 4; q++) sc->o[k].box[q] = w_round3(b[q] < 0 ? 0 : b[q] > 1 ? 1 : b[q]);
    }
    return 0;
}

/* ---- captions ------------------------------------------------------------------------------------- */

static void bg_phrase(const WScene *sc, LlavaBuf *b, WRng *r) {
    if (sc->bg_kind == W_BG_PLAIN) {
        llava_buf_printf(b, w_rng_int(r, 2) ? "a plain %s background" : "a %s background", w_bg_name[sc->bg[0]]);
    } else {
        const char *how = sc->bg_kind == W_BG_SPLIT_V ? (w_rng_int(r, 2) ? "split down the middle" : "divided into left and right halves")
                                                    : (w_rng_int(r, 2) ? "split across the middle" : "divided into top and bottom halves");
        llava_buf_printf(b, "a %s and %s background %s", w_bg_name[sc->bg[0]], w_bg_name[sc->bg[1]], how);
    }
}
static void obj_np(const WObj *o, LlavaBuf *b, int with_size, int capital) {
    const char *first = with_size ? w_size_name[o->size] : w_color_name[o->color];
    const char *a = w_article(first);
    if (with_size) llava_buf_printf(b, "%s%s %s %s %s", capital ? (a[1] ? "An" : "A") : a, "", w_size_name[o->size], w_color_name[o->color], w_shape_name[o->shape]);
    else llava_buf_printf(b, "%s %s %s", capital ? (a[1] ? "An" : "A") : a, w_color_name[o->color], w_shape_name[o->shape]);
}
static void list_join(LlavaBuf *b, int k, int n) { llava_buf_puts(b, k == n - 1 ? "" : k == n - 2 ? " and " : ", "); }

static void make_captions(WScene *sc, WRng *r) {
    LlavaBuf b = {0};
    int k, i, n = sc->n, order[W_MAX_OBJ];
    for (k = 0; k < n; k++) order[k] = k;
    /* 1: every object with its size, and the background */
    w_shuffle(r, order, n);
    for (k = 0; k < n; k++) {
        obj_np(&sc->o[order[k]], &b, 1, k == 0);
        list_join(&b, k, n);
    }
    llava_buf_puts(&b, w_rng_int(r, 2) ? " on " : " against ");
    bg_phrase(sc, &b, r);
    llava_buf_puts(&b, ".");
    sc->cap[0] = cli_xstrdup(b.p);
    /* 2: how many shapes, grouped by kind */
    w_buf_clear(&b);
    {
        int per[W_NSHAPE] = {0}, kinds = 0, done = 0;
        for (k = 0; k < n; k++) per[sc->o[k].shape]++;
        for (k = 0; k < W_NSHAPE; k++) kinds += per[k] > 0;
        if (n == 1) llava_buf_printf(&b, "%s", w_rng_int(r, 2) ? "A single shape on " : "Just one shape on ");
        else llava_buf_printf(&b, "%s %s on ", w_number_cap[n], w_rng_int(r, 2) ? "shapes" : "objects");
        bg_phrase(sc, &b, r);
        llava_buf_puts(&b, ": ");
        for (k = 0; k < W_NSHAPE; k++)
            if (per[k]) {
                if (per[k] == 1) llava_buf_printf(&b, "%s %s", w_article(w_shape_name[k]), w_shape_name[k]);
                else llava_buf_printf(&b, "%s %s", w_number_word[per[k]], w_shape_plural[k]);
                list_join(&b, done++, kinds);
            }
        llava_buf_puts(&b, ".");
    }
    sc->cap[1] = cli_xstrdup(b.p);
    /* 3: where things are (up to three objects) */
    w_buf_clear(&b);
    w_shuffle(r, order, n);
    {
        int m = n < 3 ? n : 3;
        for (k = 0; k < m; k++) {
            const WObj *o = &sc->o[order[k]];
            obj_np(o, &b, 0, k == 0);
            llava_buf_printf(&b, " %s", w_pos_phrase(w_hpos(o), w_vpos(o)));
            list_join(&b, k, m);
        }
        llava_buf_puts(&b, ".");
    }
    sc->cap[2] = cli_xstrdup(b.p);
    /* 4: one relation between two objects, if one is clear */
    w_buf_clear(&b);
    {
        int done = 0;
        for (i = 0; i < n * n && !done && n > 1; i++) {
            int a = w_rng_int(r, n), c = w_rng_int(r, n), rel = w_rng_int(r, 5);
            static const char *const phr[5] = {"to the left of", "to the right of", "above", "below", "overlapping"};
            static const int rels[5] = {W_REL_LEFT, W_REL_RIGHT, W_REL_ABOVE, W_REL_BELOW, W_REL_OVERLAP};
            if (a == c || !w_rel_clear(sc, a, c, rels[rel])) continue;
            obj_np(&sc->o[a], &b, 0, 1);
            llava_buf_printf(&b, " %s ", phr[rel]);
            obj_np(&sc->o[c], &b, 0, 0);
            llava_buf_puts(&b, ".");
            done = 1;
        }
        if (!done) {
            llava_buf_puts(&b, w_rng_int(r, 2) ? "A simple drawing of " : "A flat illustration showing ");
            for (k = 0; k < n; k++) {
                obj_np(&sc->o[k], &b, 0, 0);
                list_join(&b, k, n);
            }
            llava_buf_puts(&b, ".");
        }
    }
    sc->cap[3] = cli_xstrdup(b.p);
    /* 5: colours first */
    w_buf_clear(&b);
    {
        int seen[W_NCOLOR] = {0}, cols[W_MAX_OBJ], nc = 0;
        for (k = 0; k < n; k++)
            if (!seen[sc->o[k].color]) seen[sc->o[k].color] = 1, cols[nc++] = sc->o[k].color;
        if (w_rng_int(r, 2)) {
            llava_buf_puts(&b, n == 1 ? "A simple flat shape in " : "Simple flat shapes in ");
            for (k = 0; k < nc; k++) {
                llava_buf_puts(&b, w_color_name[cols[k]]);
                list_join(&b, k, nc);
            }
            llava_buf_puts(&b, nc == 1 ? " on " : ", on ");
            bg_phrase(sc, &b, r);
            llava_buf_puts(&b, ".");
        } else {
            llava_buf_puts(&b, "An image with ");
            w_shuffle(r, order, n);
            for (k = 0; k < n; k++) {
                obj_np(&sc->o[order[k]], &b, 0, 0);
                list_join(&b, k, n);
            }
            llava_buf_puts(&b, ".");
        }
    }
    sc->cap[4] = cli_xstrdup(b.p);
    llava_buf_free(&b);
}

/* ---- drawing ---------------------------------------------------------------------------------------- */
static void render(const WScene *sc, int S, unsigned char *rgb) {
    const int SS = 4;
    int px, py, i, j, k;
    for (py = 0; py < S; py++)
        for (px = 0; px < S; px++) {
            int acc[3] = {0, 0, 0};
            for (j = 0; j < SS; j++)
                for (i = 0; i < SS; i++) {
                    double x = (px + (i + 0.5) / SS) / S, y = (py + (j + 0.5) / SS) / S;
                    int half = sc->bg_kind == W_BG_SPLIT_V ? x >= 0.5 : sc->bg_kind == W_BG_SPLIT_H ? y >= 0.5 : 0;
                    const unsigned char *c = w_bg_rgb[sc->bg[half]];
                    for (k = 0; k < sc->n; k++) {
                        const WObj *o = &sc->o[k];
                        if (x < o->box[0] - 0.01 || x > o->box[2] + 0.01 || y < o->box[1] - 0.01 || y > o->box[3] + 0.01) continue;
                        if (w_inside(o, x, y)) c = w_color_rgb[o->color];
                    }
                    acc[0] += c[0], acc[1] += c[1], acc[2] += c[2];
                }
            for (k = 0; k < 3; k++) rgb[(py * S + px) * 3 + k] = (unsigned char)((acc[k] + SS * SS / 2) / (SS * SS));
        }
}

static void make_scene(WScene *sc, uint64_t seed, int index, int max_objects, double p_overlap) {
    WRng r;
    int tries;
    w_rng_seed(&r, seed, (uint64_t)index);
    memset(sc, 0, sizeof *sc);
    snprintf(sc->id, sizeof sc->id, "%06d", index);
    snprintf(sc->file, sizeof sc->file, "images/%06d.png", index);
    for (tries = 0;; tries++) {
        double u = w_rng_unif(&r);
        sc->bg_kind = u < 0.6 ? W_BG_PLAIN : u < 0.8 ? W_BG_SPLIT_V : W_BG_SPLIT_H;
        sc->bg[0] = w_rng_int(&r, W_NBG);
        do sc->bg[1] = w_rng_int(&r, W_NBG);
        while (sc->bg[1] == sc->bg[0]);
        if (sc->bg_kind == W_BG_PLAIN) sc->bg[1] = sc->bg[0];
        int n = 1 + w_rng_int(&r, max_objects - (tries / 20 < max_objects - 1 ? tries / 20 : max_objects - 1));
        int overlap = n > 1 && w_rng_unif(&r) < p_overlap;
        if (place(&r, sc, n, overlap) == 0) break;
    }
    make_captions(sc, &r);
}

static void scene_json(const WScene *sc, LlavaBuf *b) {
    int k;
    LlavaBuf t = {0};
    llava_buf_printf(b, "    {\"id\": \"%s\", \"file\": \"%s\",\n     \"background\": {\"kind\": \"%s\", \"colors\": [\"%s\"", sc->id,
                     sc->file, w_bg_kind_name[sc->bg_kind], w_bg_name[sc->bg[0]]);
    if (sc->bg_kind != W_BG_PLAIN) llava_buf_printf(b, ", \"%s\"", w_bg_name[sc->bg[1]]);
    llava_buf_puts(b, "]},\n     \"objects\": [");
    for (k = 0; k < sc->n; k++) {
        const WObj *o = &sc->o[k];
        llava_buf_printf(b, "%s{\"shape\": \"%s\", \"color\": \"%s\", \"size\": \"%s\", \"box\": [%.3f, %.3f, %.3f, %.3f]}",
                         k ? ",\n                 " : "", w_shape_name[o->shape], w_color_name[o->color], w_size_name[o->size],
                         o->box[0], o->box[1], o->box[2], o->box[3]);
    }
    llava_buf_puts(b, "],\n     \"captions\": [");
    for (k = 0; k < 5; k++) {
        if (k) llava_buf_puts(b, ",\n                  ");
        w_json(b, sc->cap[k]);
    }
    llava_buf_puts(b, "],\n     \"boxes\": ");
    w_boxes_text(sc, &t);
    llava_buf_json_string(b, t.p ? t.p : "", t.n);
    llava_buf_puts(b, "}");
    llava_buf_free(&t);
}


static const char usage[] =
    "usage: world --out DIR [options]\n"
    "  draws a synthetic world of flat shapes: DIR/images/NNNNNN.png, and DIR/world.json with each image's\n"
    "  background, objects (shape, colour, size class, box), five captions and the box list\n"
    "  --out DIR          output directory (required; created)\n"
    "  --seed N           the world's seed: image i depends only on (seed, i) (default 1)\n"
    "  --n N              number of images, 1 to 1000000 (default 100); a larger n extends a smaller one\n"
    "  --size PX          image side in pixels, 16 to 1024 (default 64)\n"
    "  --max-objects N    at most N shapes per image, 1 to 5 (default 5)\n"
    "  --overlap P        probability that a scene's last shape overlaps an earlier one, 0 to 1 (default 0.3)\n"
    "  --quiet            no progress lines\n"
    "  --help, --version\n";

int main(int argc, char **argv) {
    uint64_t seed = 1;
    int n = 100, S = 64, max_objects = 5, quiet = 0, i;
    double p_overlap = 0.3;
    const char *out = NULL;
    CliArgs a = cli_begin(argc, argv, "world", usage);
    while (cli_next(&a)) {
        if (cli_str(&a, "--out", &out) || cli_u64(&a, "--seed", &seed) || cli_int(&a, "--n", &n, 1, 1000000) ||
            cli_int(&a, "--size", &S, 16, 1024) || cli_int(&a, "--max-objects", &max_objects, 1, 5) ||
            cli_double(&a, "--overlap", &p_overlap, 0, 1) || cli_flag(&a, "--quiet", &quiet))
            continue;
        cli_unknown(&a);
    }
    cli_require(out, "--out");
    char path[1200];
    snprintf(path, sizeof path, "%s/images", out);
    if (w_mkdir_p(path) != 0) cli_die("%s: cannot create (%s)", path, strerror(errno));
    /* a scene depends on (seed, i) alone: chunks of scenes are drawn, rendered and written on every thread,
       and their JSON joined in order */
    enum { CHUNK = 512 };
    LlavaBuf js = {0}, *part = (LlavaBuf *)cli_xcalloc(CHUNK, sizeof(LlavaBuf));
    int bad = -1, i0;
    CliProgress prog;
    cli_progress_begin(&prog, "world: images", n, quiet);
    stbi_write_png_compression_level = 9;
    llava_buf_printf(&js, "{\"seed\": %llu, \"size\": %d, \"n\": %d, \"max_objects\": %d,\n \"images\": [\n", (unsigned long long)seed, S,
                     n, max_objects);
    for (i0 = 0; i0 < n && bad < 0; i0 += CHUNK) {
        const int m = n - i0 < CHUNK ? n - i0 : CHUNK;
        CLI_OMP(omp parallel for schedule(dynamic, 8))
        for (i = 0; i < m; i++) {
            WScene sc;
            unsigned char *img = (unsigned char *)malloc((size_t)S * S * 3);
            char file[1200];
            int k;
            w_buf_clear(&part[i]);
            if (!img) {
                CLI_OMP(omp critical)
                bad = i0 + i;
                continue;
            }
            make_scene(&sc, seed, i0 + i, max_objects, p_overlap);
            render(&sc, S, img);
            snprintf(file, sizeof file, "%s/%s", out, sc.file);
            if (!stbi_write_png(file, S, S, 3, img, S * 3)) {
                CLI_OMP(omp critical)
                bad = i0 + i;
            }
            scene_json(&sc, &part[i]);
            for (k = 0; k < 5; k++) free(sc.cap[k]);
            free(img);
        }
        for (i = 0; i < m && bad < 0; i++) {
            llava_buf_put(&js, part[i].p, part[i].n);
            llava_buf_puts(&js, i0 + i + 1 < n ? ",\n" : "\n");
        }
        if (bad < 0) cli_progress(&prog, i0 + m, NULL);
    }
    cli_progress_end(&prog);
    for (i = 0; i < CHUNK; i++) llava_buf_free(&part[i]);
    free(part);
    if (bad >= 0) cli_die("%s: cannot write image %d (out of memory or the disk)", out, bad);
    llava_buf_puts(&js, " ]}\n");
    if (js.oom) cli_die("out of memory");
    snprintf(path, sizeof path, "%s/world.json", out);
    if (llava_write_text(path, js.p) != LLAVA_OK) cli_die("%s", llava_last_error());
    printf("world: %d images (%dx%d) and %s\n", n, S, S, path);
    llava_buf_free(&js);
    return 0;
}
