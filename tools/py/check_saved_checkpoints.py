#!/usr/bin/env python3
"""Checks that checkpoints written by llava.h load in transformers and give the same logits.

For tiny_hf4 (untied head; F32 and BF16 files) and tiny_hf5 (tied head), build/dump trains 4 AdamW
steps of stage 2 on sample 0 of the training fixtures' batch and saves the model in Hugging Face's
layout; build/dump then computes the saved model's logits on that sample, and
`tools/py/make_train_fixtures.py check-checkpoint` loads the directory with
LlavaForConditionalGeneration.from_pretrained and compares. The results go to
tests/fixtures/train/checkpoint_check.json. Run after `make` (from any directory), with a Python
that has torch and transformers:  python3 tools/py/check_saved_checkpoints.py
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures")


def run(args):
    r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args[:3])}...: exit {r.returncode}\n{r.stderr}")
    return r.stdout


def main():
    manifest = json.load(open(os.path.join(FIX, "train", "manifest.json")))
    dump = os.path.join(ROOT, "build", "dump")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for model, bf16 in (("tiny_hf4", False), ("tiny_hf4", True), ("tiny_hf5", False)):
            b = manifest["models"][model]["batch"]
            n = b["lengths"][0]
            ids = " ".join(map(str, b["input_ids"][0][:n]))
            labels = " ".join(map(str, b["labels"][0][:n]))
            raw = open(os.path.join(FIX, "train", b["pixels"]), "rb").read()
            px = os.path.join(tmp, "px.f32")
            open(px, "wb").write(raw[: 3 * 32 * 32 * 4])
            ck = os.path.join(tmp, f"{model}-{'bf16' if bf16 else 'f32'}")
            out = run([dump, "--model", os.path.join(FIX, "models", model), "--pixels", px, "--ids", ids, "--labels", labels,
                       "--stage", "2", "--steps", "4", "--save", ck] + (["--save-bf16"] if bf16 else []))
            logits = os.path.join(tmp, "logits.f32")
            run([dump, "--model", ck, "--pixels", px, "--ids", ids, "--logits", logits])
            res = os.path.join(tmp, "res.json")
            subprocess.run([sys.executable, os.path.join(ROOT, "tools", "py", "make_train_fixtures.py"), "check-checkpoint", ck, res,
                            "--logits", logits, "--model", model], cwd=ROOT)
            r = json.load(open(res))
            r["model"] = model
            r["dtype"] = "BF16" if bf16 else "F32"
            r["train_log"] = out.strip().splitlines()
            r.pop("checkpoint", None)
            results.append(r)
            print(f"{model} {r['dtype']}: loaded={r['loaded']} missing={len(r['missing_keys'])} "
                  f"unexpected={len(r['unexpected_keys'])} max_abs_err={r['max_abs_err']}")
    path = os.path.join(FIX, "train", "checkpoint_check.json")
    with open(path, "w") as f:
        json.dump({"script": "tools/py/check_saved_checkpoints.py", "results": results}, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
