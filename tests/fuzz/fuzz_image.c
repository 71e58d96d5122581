/* image decoding and preprocessing (llava_image_load_memory, llava_preprocess): any bytes as a JPEG, PNG,
   BMP or GIF; an image that decodes is preprocessed to 24 x 24 the three ways (a large one, one of them) (CLIP's resize and crop,
   LLaVA-1.5's pad, the default), under a preprocessing configuration that the input's last byte varies.
   The pixel cap is lowered so that each input stays fast (the default cap is tested in test_llava). */
#define LLAVA_MAX_IMAGE_PIXELS (1 << 20)
#include "fuzz.h"

static void fuzz_init(void) {}

static void fuzz_one(const unsigned char *d, size_t n) {
    LlavaImage img;
    static float px[3 * 24 * 24];
    if (llava_image_load_memory(&img, d, n) != LLAVA_OK) {
        if (!llava_last_error()[0]) abort();
        return;
    }
    if (img.width <= 0 || img.height <= 0 || !img.rgb) abort();
    LlavaConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    llava_preprocess_defaults(&cfg, 24);
    const unsigned v = d[n - 1];
    cfg.pre_do_resize = !(v & 1);
    cfg.pre_alpha_white = !(v & 2);
    cfg.pre_do_rescale = !(v & 4);
    cfg.pre_do_normalize = !(v & 8);
    if (v & 16) cfg.pre_resize_short = 0, cfg.pre_resize_h = 20 + (int)(v >> 5), cfg.pre_resize_w = 31 - (int)(v >> 5);
    cfg.vision_image_size = 24;
    /* each way resamples every pixel, so a large image (which decoding made slow already) goes one way,
       picked by the input's last byte; small ones go all three */
    const int all = (size_t)img.width * (size_t)img.height <= 128 * 128, one = (int)(v >> 5) % 3;
    if (all || one == 0) llava_preprocess(&cfg, &img, LLAVA_PRE_CROP, px);
    if (all || one == 1) llava_preprocess(&cfg, &img, LLAVA_PRE_PAD, px);
    cfg.pre_pad = 1;
    if (all || one == 2) llava_preprocess(&cfg, &img, LLAVA_PRE_DEFAULT, px);
    llava_image_free(&img);
}
