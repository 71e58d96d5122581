#!/usr/bin/env python3
"""Makes tests/fixtures/tokenizer_unicode: byte-level BPEs with Unicode normalizers, trained by
`tokenizers`, and their encodings of the tokenizer corpus (tests/fixtures/tokenizer/texts.json, made by
make_tokenizer_fixtures.py) plus strings that exercise normalization (texts.json here).

  qwen2_nfc   Qwen2's layout: normalizer NFC, Split(Qwen2 pattern, Isolated) + ByteLevel(no prefix space,
              no regex), ByteLevel decoder and post-processor, <|endoftext|> <|im_start|> <|im_end|> <image>
  llama3_nfc  LLaMA-3's pattern and ignore_merges, NFC, <|begin_of_text|> added in front
  qwen2_nfd, qwen2_nfkc, qwen2_nfkd   Qwen2's layout with the other normalizers
  qwen2_seq   qwen2_nfd's file with the normalizer Sequence[Strip, NFKD, StripAccents, Lowercase, NFC] (normalizer.json
              here; the test puts it into qwen2_nfd/tokenizer.json), on this directory's texts only
Each also has two normalized (non-special) added tokens, "<ﬁ>" and "café", which are matched in the
normalized text. expected.jsonl has one row per text (the corpus's, then this directory's): "ids"
(with the configured special tokens), "dec" = decode(ids without special tokens) where it is not the
text, and for this directory's texts "starts": each token's start as a byte offset into the text.

usage: python3 tools/py/make_unicode_fixtures.py   (from any directory; deterministic; run
make_tokenizer_fixtures.py first if the corpus changed)"""
import json
import os
import random
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_fixtures import LLAMA3_RE, QWEN2_RE, corpus_lines  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer_unicode")
BASE_TEXTS = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "texts.json")

# pieces that normalization changes or must keep
MARKS = ["\u0301", "\u0300", "\u0302", "\u0308", "\u0323", "\u0327", "\u031b", "\u0345", "\u0334", "\u05b7", "\u05bc", "\u093c",
         "\u3099", "\u309a", "\u0344", "\u0340", "\u0f72", "\u0f71", "\u0f80"]
BASES = ["a", "e", "o", "u", "A", "E", "O", "n", "c", "s", "\u03b1", "\u03c9", "\u0391", "\u0435", "\u0418", "\u304b", "\u30ab",
         "\u0627", "\u05d0", "\u0915", "\u1100", "\u1161", "\u11a8", "\uac00", " ", "1"]
NORM = [
    "e\u0301", "\u00e9", "cafe\u0301", "caf\u00e9", "a\u0323\u0302", "a\u0302\u0323", "\u1ead", "o\u031b\u0301", "o\u0301\u031b",
    "\u01a1\u0301", "\u1edb", "e\u0301\u0301\u0301", "a\u0308\u0304", "\u01df", "u\u0308\u0301", "\u01d8", "s\u0323\u0307",
    "s\u0307\u0323", "\u1e69", "q\u0307\u0323", "\u0301", "\u0301a", "\u0323\u0302\u0301", "A\u030a", "\u212b", "\u00c5",
    "\u2126", "\u03a9", "K", "\u212a", "\u0958", "\u0915\u093c", "\u2adc", "\u2add\u0338", "\u0f73", "\u0f71\u0f72", "\u0344",
    "\u0340\u0341", "\u0374\u037e\u0387", "\u1f71", "\u03ac", "\u1fee", "\u0385", "\u03d3", "\u03d2\u0301",
    "\ud55c\uad6d\uc5b4", "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165", "\u1100\u1161", "\uac00\u11a8", "\uac01", "\u1100\u1161\u11a8",
    "\uac00\u11a7", "\u1100\u1100\u1161\u1161", "\u3131\u314f", "\u1100\u0301\u1161", "\u1161\u1100",
    "\ufb01", "\ufb01nance", "\ufb00\ufb02\ufb03\ufb04", "\u2460\u2461\u2473", "\u338f", "\u3392 \u33a1", "\uff21\uff22\uff23",
    "\uff48\uff45\uff4c\uff4c\uff4f", "\uff11\uff12\uff13", "x\u00b2 + y\u00b3", "H\u2082O", "\u00bd \u00bc \u2153", "\u2167",
    "\u2122 \u2120", "\u00aa\u00ba", "\u017f", "\u1e9b\u0323", "\u0132\u0133", "\u01c4\u01c5\u01c6", "\u2474\u2488",
    "\u3300", "\u32a4", "\u3250", "\U0001d400\U0001d41a\U0001d7d8", "\u00a0x\u00a0", "\u2002\u2003\u3000",
    "\u2024\u2025\u2026", "\ufe30", "\ufdfa", "\ufdfb", "\ufb2a", "\ufb4f", "\u0675", "\u0e33", "\u0eb3", "\u2044",
    "\u2329\u232a", "\uf900\uf901\ufa10", "\u2f00\u2f01", "\u3038", "\u309b\u309c", "\u30ac\u30ab\u3099", "\u304c", "\u304b\u3099",
    "\uff76\uff9e", "\uff8a\uff9f", "\u0390", "\u03b9\u0308\u0301", "\u1e0a\u0323", "\u1e0c\u0307", "D\u0307\u0323", "D\u0323\u0307",
    "\u1e9e\u00df", "\u0130", "i\u0307", "\u00c7\u0301", "\u1e08", "C\u0327\u0301", "C\u0301\u0327",
    "\U0001d15e\U0001d15f", "\U0001d157\U0001d165", "\U00011099\U000110ba", "\U0001109a", "\U00011131\U00011127",
    "\u0b47\u0b3e", "\u0b4b", "\u0cc6\u0cc2\u0cd5", "\u0cca\u0cd5", "\u1b05\u1b35", "\u0d46\u0d3e", "\u09c7\u09be",
    "\u05e9\u05c1\u05bc", "\u05e9\u05bc\u05c1", "\ufb2c", "\u0627\u0653", "\u0622", "\u0648\u0654", "\u06c1\u0654",
    "\u4e2d\u6587\u6f22\u5b57", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "\u2e80\u2ee0", "\u329e",
    "\U0001f44d\U0001f3fd", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\u2764\ufe0f", "\u263a\ufe0e", "\U0001f1eb\U0001f1f7",
    "1\ufe0f\u20e3", "#\ufe0f\u20e3", "\u00e9\U0001f600e\u0301", "\U0001f600\u0301", "\u200b\u200c\u200d\u2060\ufeff",
    "\u0041\u030a\u0301", "\u00c5\u0301", "\u01fa", "\u1e14", "\u0112\u0300", "E\u0304\u0300", "E\u0300\u0304",
    "\u0020\u0301", "\t\u0301", "\n\u0301", "'\u0301s", "I'\u0301m",
]
ADDED = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<image>", "<\ufb01>", "caf\u00e9"]


def norm_texts(rng):
    t = list(NORM)
    for s in NORM[:40]:  # around the added tokens and in sentences
        t += [s + "<|im_start|>" + s, "<image>" + s, s + " <|im_end|>\n", "the " + s + " cat", s.upper(), s + s]
    t += ["<\ufb01>", "<fi>", "x<\ufb01>y", "caf\u00e9", "cafe\u0301", "CAF\u00c9", "a caf\u00e9 <\ufb01> cafe\u0301s", "<\uff46\uff49>",
          "<|im_start|>user\nCaf\u00e9 \u2460 \ufb01<|im_end|>\n<|im_start|>assistant\n\ud55c\uad6d\uc5b4<|im_end|>",
          "<\ufb01<\ufb01>>", "caf\u00e9caf\u00e9", "\u212b<image>\u212b", "e<|endoftext|>\u0301", "<|endoftext|>\u0301"]
    for k in range(150):  # random mixes of bases and marks in every order
        s = ""
        for _ in range(rng.randint(1, 6)):
            s += rng.choice(BASES) + "".join(rng.choice(MARKS) for _ in range(rng.randint(0, 4)))
        t.append(s)
    for k in range(50):
        t.append(" ".join(rng.choice(NORM) for _ in range(rng.randint(1, 5))))
    return t


def train_lines(rng):
    lines = corpus_lines(random.Random(1234), 4000)
    for k in range(1500):
        lines.append(" ".join(rng.choice(NORM) + rng.choice(["", " ", "s", "ing"]) for _ in range(rng.randint(1, 8))))
    return lines


def make(lines, pattern, norm):
    tok = Tokenizer(models.BPE(ignore_merges=pattern == "llama3"))
    tok.normalizer = norm
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(tokenizers.Regex(LLAMA3_RE if pattern == "llama3" else QWEN2_RE), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>"] if pattern == "llama3" else ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    if pattern == "llama3":
        bos = "<|begin_of_text|>"
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                           special_tokens=[(bos, tok.token_to_id(bos))])
        tok.add_special_tokens([AddedToken("<|im_start|>", special=True), AddedToken("<|im_end|>", special=True),
                                AddedToken("<|endoftext|>", special=True)])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<image>", special=True, normalized=False)])
    tok.add_tokens([AddedToken("<\ufb01>", special=False, normalized=True), AddedToken("caf\u00e9", special=False, normalized=True)])
    return tok


def byte_starts(text, offsets):
    at = [0]
    for ch in text:
        at.append(at[-1] + len(ch.encode()))
    return [at[a] for a, _ in offsets]


def main():
    os.makedirs(OUT, exist_ok=True)
    base = json.load(open(BASE_TEXTS, encoding="utf-8"))
    texts = norm_texts(random.Random(2024))
    lines = train_lines(random.Random(77))
    toks = {
        "qwen2_nfc": make(lines, "qwen2", normalizers.NFC()),
        "llama3_nfc": make(lines, "llama3", normalizers.NFC()),
        "qwen2_nfd": make(lines, "qwen2", normalizers.NFD()),
        "qwen2_nfkc": make(lines, "qwen2", normalizers.NFKC()),
        "qwen2_nfkd": make(lines, "qwen2", normalizers.NFKD()),
    }
    manifest = {"versions": {"tokenizers": tokenizers.__version__, "python": sys.version.split()[0]},
                "texts": ["../tokenizer/texts.json", "texts.json"], "tokenizers": {}}
    with open(os.path.join(OUT, "texts.json"), "w", encoding="utf-8") as f:
        json.dump(texts, f, ensure_ascii=False, indent=0)
        f.write("\n")
    for name, tok in toks.items():
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"))
        with open(os.path.join(d, "expected.jsonl"), "w", encoding="utf-8") as f:
            for i, t in enumerate(base + texts):
                e = tok.encode(t, add_special_tokens=True)
                raw = tok.encode(t, add_special_tokens=False)
                r = {"ids": " ".join(map(str, e.ids))}
                dec = tok.decode(raw.ids, skip_special_tokens=False)
                if dec != t:
                    r["dec"] = dec
                if i >= len(base):
                    r["starts"] = " ".join(map(str, byte_starts(t, e.offsets)))
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        manifest["tokenizers"][name] = {"dir": name, "vocab_size": tok.get_vocab_size()}
    # Strip and StripAccents, inside a Sequence: the model of qwen2_nfd with another normalizer
    seq = {"type": "Sequence", "normalizers": [{"type": "Strip", "strip_left": True, "strip_right": True}, {"type": "NFKD"},
                                               {"type": "StripAccents"}, {"type": "Lowercase"},
                                               {"type": "NFC"}]}
    j = json.loads(toks["qwen2_nfd"].to_str())
    j["normalizer"] = seq
    tok = Tokenizer.from_str(json.dumps(j))
    d = os.path.join(OUT, "qwen2_seq")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "normalizer.json"), "w") as f:
        json.dump(seq, f)
        f.write("\n")
    extra = [" x ", "\t\u00e9\n", " \u3000caf\u00e9\u2003", "   ", "\u0301 a\u0301 \u0301", "\u1ec7\u0301 ", " <|im_start|> a ",
             "<image>  \u00e0  ", "\u00a0\u00e9\u00a0", "\u0300\u0300", "a\u0300\u0300", "\u0130stanbul \u0130\u0301", "\u023a\u023e X",
             "\u03a3\u039f\u03a6\u039f\u03a3", "\u1e9e \u2126 \u212a \u212b", "\U00010400\U00016e40", "\u01c5\u01c4\u01c8"]
    with open(os.path.join(d, "expected.jsonl"), "w", encoding="utf-8") as f:
        for t in texts + extra:
            e = tok.encode(t, add_special_tokens=True)
            r = {"ids": " ".join(map(str, e.ids)), "starts": " ".join(map(str, byte_starts(t, e.offsets)))}
            dec = tok.decode(e.ids, skip_special_tokens=False)
            if dec != t:
                r["dec"] = dec
            r["text"] = t
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("wrote", os.path.relpath(OUT, ROOT), len(base), "+", len(texts), "texts,", list(toks))


if __name__ == "__main__":
    main()
