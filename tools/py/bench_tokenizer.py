#!/usr/bin/env python3
"""Tokenizer encode throughput, one thread: llava.h (build/bench_tokenizer) against Hugging Face
`tokenizers` on the same text, in the same run, printed as MB/s and as a ratio.

usage: python3 tools/py/bench_tokenizer.py [build/bench_tokenizer [bench.json]]
(the program's default is the repository's build/bench_tokenizer)
With a bench.json (written by build/bench), the figures are appended to it.
The text (~2 MB, one sentence per line, deterministic) comes from the fixture script's generator;
both sides encode each line as one text with special tokens, for the SentencePiece-style and the
byte-level fixture tokenizers."""
import json
import os
import random
import subprocess
import sys
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tools/py/ is two below it
from make_tokenizer_fixtures import corpus_lines  # noqa: E402

import tokenizers  # noqa: E402


def hf_mb_s(path, lines, nbytes, seconds=2.0):
    tok = tokenizers.Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
    t0, rounds, n_ids = time.perf_counter(), 0, 0
    while rounds == 0 or time.perf_counter() - t0 < seconds:
        n_ids = sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=True))
        rounds += 1
    return nbytes * rounds / (time.perf_counter() - t0) / 1e6, n_ids


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "bench_tokenizer")
    lines = corpus_lines(random.Random(2024), 30000)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(lines))
        path = f.name
    nbytes = len("\n".join(lines).encode())
    print(f"tokenizer encode, one thread, {nbytes / 1e6:.2f} MB of text in {len(lines)} lines (tokenizers {tokenizers.__version__})")
    entries = []
    for name in ("sp_first", "sp_normalizer", "bl_gpt2", "bl_llama3"):
        d = os.path.join(ROOT, "tests", "fixtures", "tokenizer", name)
        out = subprocess.run([exe, "--tokenizer", d, "--text", path], capture_output=True, text=True, check=True).stdout.split()
        ours, ours_ids = float(out[1]), int(out[3])
        hf, hf_ids = hf_mb_s(d, lines, nbytes)
        same = "same ids count" if ours_ids == hf_ids else f"ID COUNTS DIFFER ({ours_ids} vs {hf_ids})"
        print(f"  {name:14s} llava.h {ours:7.2f} MB/s   tokenizers {hf:7.2f} MB/s   ratio {ours / hf:5.2f}x   ({same})")
        entries.append({"name": f"tokenizer_encode_{name}", "value": ours, "unit": "MB/s", "ref_name": f"tokenizers {tokenizers.__version__}",
                        "ref_value": hf, "ratio": ours / hf, "config": f"tests/fixtures/tokenizer/{name}", "threads": 1})
    os.unlink(path)
    if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
        with open(sys.argv[2]) as f:
            bench = json.load(f)
        bench.extend(entries)
        with open(sys.argv[2], "w") as f:
            json.dump(bench, f, indent=1)


if __name__ == "__main__":
    main()
