#!/usr/bin/env python3
"""What a trained language model can do with its context, without an image: two zero-shot probes.

    python tools/py/probe_lm.py --model DIR [--n 200] [--seed 1]

- repeat: a random sequence of the world's words, a newline, and the same sequence again. Scored is the
  next-token accuracy over the repetition (from its second token on): a model that copies from its
  context by position (an induction head) gets it right; one that only knows the language's statistics
  cannot (the words are random).
- lookup: a multiple-choice question that names its answer, in the vicuna_v1 template the pipeline
  evaluates with: "Which option is cyan?", the options "A. white", "B. cyan", ..., and LLaVA's "Answer
  with the option's letter from the given choices directly." Scored is whether the option letter with the
  highest logit is the named option's (chance: 1 / the number of options). This is the last step of every
  multiple-choice answer, with the fact given instead of read from the image.

Needs torch and transformers (the model is loaded with transformers' LlavaForConditionalGeneration; only
its language model runs).
"""
import argparse
import random

import torch
from transformers import LlavaForConditionalGeneration, PreTrainedTokenizerFast

from probe_vision import COLORS, SHAPES  # the world's names (tools/py/, the script's folder, is on the path)

OTHER = ["small", "medium", "large", "left", "right", "top", "bottom", "middle", "background", "plain", "image", "shape",
         "object", "above", "below", "next", "two", "three", "four", "five", "one"]
SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the user's questions.")
LETTERS = "ABCDE"


def logits_last(model, ids):
    lm = model.model.language_model if hasattr(model, "model") else model.language_model
    with torch.no_grad():
        h = lm(input_ids=torch.tensor([ids])).last_hidden_state
        return model.get_output_embeddings()(h)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="LLaVA model directory (Hugging Face layout, with tokenizer.json)")
    ap.add_argument("--n", type=int, default=200, help="probes of each kind (default 200)")
    ap.add_argument("--seed", type=int, default=1, help="the probes' random words and options (default 1)")
    args = ap.parse_args()

    model = LlavaForConditionalGeneration.from_pretrained(args.model, torch_dtype=torch.float32).eval()
    tok = PreTrainedTokenizerFast(tokenizer_file=args.model + "/tokenizer.json")
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]
    bos = model.config.text_config.bos_token_id
    rng = random.Random(args.seed)
    words = SHAPES + COLORS + OTHER

    # repeat
    right = total = 0
    for _ in range(args.n):
        s = " ".join(rng.choice(words) for _ in range(rng.randint(6, 16)))
        first, again = [bos] + enc(s), enc("\n" + s)
        ids = first + again
        pred = logits_last(model, ids).argmax(-1).tolist()
        start = len(first) + 2  # the newline and the repetition's first token cannot be known
        for p in range(start, len(ids)):
            right += pred[p - 1] == ids[p]
            total += 1
    print(f"repeat: next-token accuracy over the repeated half {100.0 * right / total:.1f}% ({total} tokens)")

    # lookup
    letter_id = {c: enc("ASSISTANT: " + c)[-1] for c in LETTERS}
    right = 0
    chance = 0.0
    for _ in range(args.n):
        pool = COLORS if rng.random() < 0.5 else SHAPES
        k = rng.choice([2, 3, 4, 4, 5])
        options = rng.sample(pool, k)
        j = rng.randrange(k)
        q = f"Which option is {options[j]}?\n" + "".join(f"{LETTERS[i]}. {o}\n" for i, o in enumerate(options))
        q += "Answer with the option's letter from the given choices directly."
        ids = [bos] + enc(f"{SYSTEM} USER: {q} ASSISTANT:")
        lg = logits_last(model, ids)[-1]
        pred = max(range(k), key=lambda i: lg[letter_id[LETTERS[i]]].item())
        right += pred == j
        chance += 1.0 / k
    print(f"lookup: the named option's letter {100.0 * right / args.n:.1f}% of {args.n} (chance {100.0 * chance / args.n:.1f}%)")


if __name__ == "__main__":
    main()
