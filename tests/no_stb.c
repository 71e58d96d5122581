/* compile check: the header without an image decoder, with every function static */
#define LLAVA_IMPLEMENTATION
#include "../llava.h"
int main(void) {
    LlavaImage img;
    return llava_image_load_memory(&img, "x", 1) == LLAVA_OK; /* must fail without a decoder */
}
