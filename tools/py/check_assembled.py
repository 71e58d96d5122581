"""Loads a directory written by llava_model_assemble + llava_model_save with transformers
(LlavaForConditionalGeneration, AutoTokenizer) and checks it against llava.h: the tokenizer gives
"<image>" its id, and the last position's logits for "<image>\nhello there" with the given pixels are
within 1e-4 of ours. Prints what it compared; exits 1 on a mismatch.

usage: python tools/py/check_assembled.py DIR PIXELS.f32 OURS.f32   (tests/test_llava.c runs it)"""
import sys

import numpy as np
import torch
from transformers import AutoTokenizer, LlavaForConditionalGeneration


def main():
    d, pixels, ours = sys.argv[1:4]
    tok = AutoTokenizer.from_pretrained(d)
    model = LlavaForConditionalGeneration.from_pretrained(d, torch_dtype=torch.float32).eval()
    image = model.config.image_token_index
    ids = tok("<image>\nhello there")["input_ids"]
    assert tok.convert_tokens_to_ids("<image>") == image, (tok.convert_tokens_to_ids("<image>"), image)
    assert ids.count(image) == 1, ids
    n_rows = model.config.image_seq_length
    pos = ids.index(image)
    ids = ids[:pos] + [image] * n_rows + ids[pos + 1:]  # the processor's expansion
    size = model.config.vision_config.image_size
    px = torch.from_numpy(np.fromfile(pixels, dtype="<f4").reshape(1, 3, size, size))
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids]), pixel_values=px).logits[0, -1].numpy()
    ref = np.fromfile(ours, dtype="<f4")
    d = float(np.abs(logits - ref).max())
    print(f"transformers vs llava.h, last position's logits over {ref.size} ids: max abs difference {d:.3g}")
    sys.exit(0 if d < 1e-4 else 1)


if __name__ == "__main__":
    main()
