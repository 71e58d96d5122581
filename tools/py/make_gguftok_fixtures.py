#!/usr/bin/env python3
"""Makes tests/fixtures/gguftok: GGUF files that hold only a tokenizer (the tokenizer.ggml.* metadata,
no tensors), written the way llama.cpp's convert_hf_to_gguf.py writes a byte-level BPE vocabulary
(Model.get_vocab_base + _set_vocab_gpt2: one token per id with its type, "[PADn]" UNUSED fillers,
added tokens as CONTROL / USER_DEFINED, then gguf.SpecialVocab for merges, special ids and
add_bos/add_eos), and the ids `tokenizers` gives for the project's test strings with each source
tokenizer.json.

Sources: the byte-level tokenizers of tests/fixtures/tokenizer (GPT-2 ByteLevel, LLaMA-3 and Qwen2
Split), and two trained here in SmolLM2's layout (pre_tokenizer Sequence[Digits, ByteLevel]): one with
individual digits (as SmolLM2 / StarCoder ship it, tokenizer.ggml.pre "smollm") and one with runs of
digits (only as tokenizer.json: it has no llama.cpp pre-tokenizer name).

GGUF keeps no lstrip/rstrip/single_word flags for added tokens, so a source whose added tokens use
them is encoded for the expectations with those flags off (bl_gpt2's "<mask>", lstrip=True); the
manifest lists every such change.

Optional: with --real FILE.gguf (a real model, e.g. SmolLM2-135M-Instruct) two references are written
for the test strings (not committed): --real-out holds the ids of `tokenizers` with the tokenizer
rebuilt from the file's metadata in its models' tokenizer.json layout, --real-out.transformers.jsonl
those of transformers' own GGUF tokenizer (AutoTokenizer.from_pretrained(dir, gguf_file=...)); the
script prints how often they agree. tests/test_gguf_tokenizer compares llava.h with either
(LLAVA_TEST_GGUF=FILE.gguf LLAVA_TEST_GGUF_EXPECTED=the .jsonl).

usage: python3 tools/py/make_gguftok_fixtures.py [--real FILE.gguf --real-out FILE.jsonl]"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile

import gguf
import tokenizers
import transformers
from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors, trainers, models

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
OUT = os.path.join(ROOT, "tests", "fixtures", "gguftok")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tokenizer_fixtures as mtf  # noqa: E402  (the corpus generators)


DIGIT_CASES = ["0", "12", "x1y22z333", "a 1 2  345 ", "3.14159", "1,000,000", "v1.2.3-rc4", "\u0663\u0664\u0665 and \u00b2\u00b3",
               "\u216b12\u00bd", "\uff11\uff12\uff13", "\U0001d7d9\U0001d7da", "100%", "\n42\n", "abc", "<image>123<image>"]


def looks_special(text):
    """convert_hf_to_gguf.py Model.does_token_look_special"""
    if text in ("<pad>", "<mask>", "<2mass>", "[@BOS@]"):
        return True
    if text.startswith("<|") and text.endswith("|>"):
        return True
    if text.startswith("<\uff5c") and text.endswith("\uff5c>"):
        return True
    return text.startswith("<unused") and text.endswith(">")


def vocab_base(d):
    """convert_hf_to_gguf.py Model.get_vocab_base, with transformers' fast tokenizer of directory d"""
    tok = transformers.PreTrainedTokenizerFast.from_pretrained(d)
    vocab = tok.get_vocab()
    vocab_size = max(vocab.values()) + 1
    reverse = {i: t for t, i in vocab.items()}
    added_vocab = tok.get_added_vocab()
    added_dec = tok.added_tokens_decoder
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in reverse:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        t = reverse[i]
        if t in added_vocab:
            if not added_dec[i].normalized:
                t = tok.decode(tok.encode(t, add_special_tokens=False))
            if added_dec[i].special or looks_special(t):
                types.append(gguf.TokenType.CONTROL)
            else:
                t = t.replace("\u2581", " ")
                types.append(gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
        tokens.append(t)
    return tokens, types


def write_gguf(d, pre, path):
    tokens, types = vocab_base(d)
    w = gguf.GGUFWriter(path, "llama")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    sv = gguf.SpecialVocab(d, load_merges=True, n_vocab=len(tokens))
    sv.add_to_gguf(w, quiet=True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return {"tokens": len(tokens), "merges": len(sv.merges), "special_ids": sv.special_token_ids, "add": sv.add_special_token}


def gguf_expressible(tok):
    """the tokenizer with the added-token flags GGUF cannot hold turned off; returns it and the changes"""
    j = json.loads(tok.to_str())
    changes = []
    for a in j.get("added_tokens", []):
        for k in ("lstrip", "rstrip", "single_word"):
            if a.get(k):
                a[k] = False
                changes.append(f"{a['content']}: {k} off")
    return Tokenizer.from_str(json.dumps(j)), changes


def expected_rows(tok, texts):
    """per text: "ids" with the special tokens the tokenizer adds, "raw" without them only where it is
    not ids minus the leading special tokens, "dec" = decode(raw) only where it is not the text (the
    layout of tests/fixtures/tokenizer/*/expected.jsonl)"""
    n_pre = len(tok.encode("", add_special_tokens=True).ids)
    ids = [e.ids for e in tok.encode_batch(texts, add_special_tokens=True)]
    raw = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    rows = []
    for t, a, b in zip(texts, ids, raw):
        r = {"ids": " ".join(map(str, a))}
        if b != a[n_pre:]:
            r["raw"] = " ".join(map(str, b))
        d = tok.decode(b, skip_special_tokens=False)
        if d != t:
            r["dec"] = d
        rows.append(r)
    return rows


def read_rows(path):
    with open(path) as f:
        return [{k: v for k, v in json.loads(line).items() if k in ("ids", "raw", "dec")} for line in f]


def write_rows(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


def make_smollm_style(lines, individual):
    """a byte-level BPE in SmolLM2's layout: Digits + ByteLevel(add_prefix_space=False), its special
    tokens first, no post-processor tokens"""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=individual),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    tok.add_tokens([AddedToken("<image>", special=True, normalized=False)])
    return tok


def from_gguf_metadata(path):
    """a `tokenizers` tokenizer rebuilt from a GGUF file's tokenizer.ggml.* in the tokenizer.json layout of
    the models that carry its tokenizer.ggml.pre name (smollm: SmolLM2 / StarCoder's Digits + ByteLevel)"""
    r = gguf.GGUFReader(path)
    f = lambda k: r.fields[k].contents() if k in r.fields else None
    assert f("tokenizer.ggml.model") == "gpt2", "only 'gpt2' (byte-level BPE) files"
    pre = f("tokenizer.ggml.pre") or "default"
    tokens, types = f("tokenizer.ggml.tokens"), f("tokenizer.ggml.token_type")
    vocab = {t: i for i, t in enumerate(tokens) if types[i] != gguf.TokenType.UNUSED}
    merges = [tuple(m.split(" ")) for m in f("tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab, merges, ignore_merges=pre in ("llama3", "llama-v3", "llama-bpe")))
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre in ("smollm", "starcoder"):
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), bl])
    elif pre in ("default", "gpt-2"):
        tok.pre_tokenizer = bl
    else:
        raise SystemExit(f"--real: tokenizer.ggml.pre '{pre}' is not rebuilt here")
    tok.decoder = decoders.ByteLevel()
    tok.add_tokens([AddedToken(t, special=types[i] == gguf.TokenType.CONTROL, normalized=types[i] != gguf.TokenType.CONTROL)
                    for i, t in enumerate(tokens) if types[i] in (gguf.TokenType.CONTROL, gguf.TokenType.USER_DEFINED)])
    bos = f("tokenizer.ggml.bos_token_id")
    if f("tokenizer.ggml.add_bos_token") and bos is not None:
        tok.post_processor = processors.TemplateProcessing(single=f"{tokens[bos]} $A", special_tokens=[(tokens[bos], bos)])
    return tok, pre


def real_check(path, out, texts):
    """two references for a real model's GGUF: `tokenizers` with the tokenizer rebuilt from the file's
    metadata (written to out), and transformers' own GGUF tokenizer (written to out + ".transformers.jsonl");
    how often they agree is printed"""
    tok, pre = from_gguf_metadata(path)
    rebuilt = expected_rows(tok, texts)
    write_rows(out, rebuilt)
    d = os.path.dirname(os.path.abspath(path))
    hf = transformers.AutoTokenizer.from_pretrained(d, gguf_file=os.path.basename(path))
    hf_rows = [{"ids": " ".join(map(str, hf.encode(t, add_special_tokens=True))),
                "raw": " ".join(map(str, hf.encode(t, add_special_tokens=False)))} for t in texts]
    write_rows(out + ".transformers.jsonl", hf_rows)
    same = sum(r["ids"] == h["ids"] for r, h in zip(rebuilt, hf_rows))
    print(f"real: {os.path.basename(path)} (pre '{pre}'): rebuilt tokenizer's ids for {len(texts)} texts in {out}; "
          f"transformers' GGUF tokenizer agrees on {same} of them (its ids in {out}.transformers.jsonl)")
    for t, r, h in zip(texts, rebuilt, hf_rows):
        if r["ids"] != h["ids"]:
            print(f"  first difference: {t!r}: tokenizers {r['ids']} / transformers {h['ids']}")
            break


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", help="a real model's GGUF to compare transformers' GGUF tokenizer on (not committed)")
    ap.add_argument("--real-out", help="where to write transformers' ids for --real (JSONL)")
    args = ap.parse_args()
    with open(os.path.join(SRC, "texts.json")) as f:
        texts = json.load(f)
    assert texts == mtf.test_strings(random.Random(99)), "texts.json is not make_tokenizer_fixtures' corpus"
    os.makedirs(OUT, exist_ok=True)
    lines = mtf.corpus_lines(random.Random(1234), 4000)
    manifest = {"versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
                             "gguf": getattr(gguf, "__version__", None) or __import__("importlib.metadata").metadata.version("gguf"),
                             "python": sys.version.split()[0]},
                "texts": "../tokenizer/texts.json", "gguf": {}, "json": {}}
    with tempfile.TemporaryDirectory() as tmp:
        sources = {}
        for name, pre in (("bl_gpt2", "gpt-2"), ("bl_llama3", "llama-bpe"), ("bl_qwen2", "qwen2")):
            sources[name] = (os.path.join(SRC, name), pre, os.path.join(SRC, name))
        # bl_qwen2's post-processor adds "<|begin_of_text|>" but the directory has no tokenizer_config.json
        # to name it bos_token, so SpecialVocab would write add_bos_token without a bos id; a real model
        # directory names it: the converter reads a copy with that one-line configuration
        qd = os.path.join(tmp, "bl_qwen2")
        os.makedirs(qd)
        shutil.copy(os.path.join(SRC, "bl_qwen2", "tokenizer.json"), qd)
        with open(os.path.join(qd, "tokenizer_config.json"), "w") as f:
            json.dump({"bos_token": "<|begin_of_text|>"}, f)
        sources["bl_qwen2"] = (qd, "qwen2", os.path.join(SRC, "bl_qwen2"))
        # SmolLM2-style tokenizers, trained here; their tokenizer.json is committed too
        for name, individual in (("smollm", True), ("digits_runs", False)):
            tok = make_smollm_style(lines, individual)
            d = os.path.join(OUT, name)
            os.makedirs(d, exist_ok=True)
            tok.save(os.path.join(d, "tokenizer.json"))
            write_rows(os.path.join(d, "expected.jsonl"), expected_rows(tok, texts))
            manifest["json"][name] = {"dir": name, "digits": "individual" if individual else "runs", "vocab_size": tok.get_vocab_size()}
        # the Digits pre-tokenizer on its own: a few strings, ids without special tokens
        digit_toks = {n: Tokenizer.from_file(os.path.join(OUT, n, "tokenizer.json")) for n in ("smollm", "digits_runs")}
        manifest["digits_cases"] = [{"text": t, **{n: tk.encode(t, add_special_tokens=False).ids for n, tk in digit_toks.items()}}
                                    for t in DIGIT_CASES]
        sources["smollm"] = (os.path.join(OUT, "smollm"), "smollm", os.path.join(OUT, "smollm"))
        for name, (d, pre, fixture) in sources.items():
            src = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
            tok, changes = gguf_expressible(src)
            info = write_gguf(d, pre, os.path.join(OUT, name + ".gguf"))
            rows = expected_rows(tok, texts)
            # the source's own expectations where they are the same ids, else a file of their own
            exp = os.path.join(fixture, "expected.jsonl")
            if changes or read_rows(exp) != rows:
                exp = os.path.join(OUT, name + ".expected.jsonl")
                write_rows(exp, rows)
            manifest["gguf"][name] = {"file": name + ".gguf", "expected": os.path.relpath(exp, OUT), "pre": pre,
                                      "source": os.path.relpath(os.path.join(fixture, "tokenizer.json"), OUT),
                                      "tokens": info["tokens"], "merges": info["merges"],
                                      "special_ids": info["special_ids"], "add_special": info["add"],
                                      "flags_dropped": changes}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("wrote", os.path.relpath(OUT, ROOT), {k: (v["tokens"], v["pre"], v["flags_dropped"]) for k, v in manifest["gguf"].items()})
    if args.real:
        if not args.real_out:
            ap.error("--real needs --real-out")
        real_check(args.real, args.real_out, texts)


if __name__ == "__main__":
    main()
