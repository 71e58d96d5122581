"""Compares llava.h's logits on a llama.cpp GGUF language model (through build/dump) with transformers'
own GGUF loading (AutoModelForCausalLM.from_pretrained(dir, gguf_file=...), which dequantizes with the
gguf package and runs in float32). Prints the largest absolute difference of the logits.

usage: python tools/py/compare_gguf_transformers.py MODEL.gguf [--dump build/dump] [--ids "1 2 3"]
(transformers needs the accelerate package to load GGUF files)"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf")
    ap.add_argument("--dump", default=os.path.join("build", "dump"))
    ap.add_argument("--ids", default="1 504 3456 28 253 1345 30 2 17 9000 12 800")
    args = ap.parse_args()
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    ids = [int(x) for x in args.ids.split()]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "logits.f32")
        subprocess.run([args.dump, "--model", args.gguf, "--ids", " ".join(map(str, ids)), "--logits", out], check=True)
        ours = np.fromfile(out, dtype=np.float32)
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(args.gguf)), gguf_file=os.path.basename(args.gguf),
                                                 dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits[0].float().numpy()
    ours = ours.reshape(len(ids), -1)[:, :ref.shape[1]]
    d = np.abs(ours - ref)
    same = (ours.argmax(-1) == ref.argmax(-1)).mean()
    print("transformers %s, gguf file %s" % (transformers.__version__, os.path.basename(args.gguf)))
    print("logits [%d x %d]: max abs difference %.3g (max |logit| %.3g), mean %.3g; same argmax at %.0f%% of positions"
          % (ref.shape[0], ref.shape[1], d.max(), np.abs(ref).max(), d.mean(), 100 * same))
    return 0


if __name__ == "__main__":
    sys.exit(main())
