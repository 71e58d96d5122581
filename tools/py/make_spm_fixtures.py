#!/usr/bin/env python3
"""Makes tests/fixtures/tokenizer/spm: SentencePiece tokenizer.model directories (no tokenizer.json) and
what the real libraries make of the project's test strings (tests/fixtures/tokenizer/texts.json).

Models, trained by `sentencepiece` on the corpus of make_tokenizer_fixtures.py (identity normalization
unless named):
  bf_legacy     BPE with byte fallback and user-defined symbols, tokenizer_config.json with legacy=true,
                "<image>" and "<pad>" added after the pieces
  bf_nolegacy   the same model, legacy=false
  nobf          BPE without byte fallback (unknown characters -> <unk>), remove_extra_whitespaces=true,
                and no tokenizer_config.json at all (LlamaTokenizer's defaults: legacy, <s> added)
and variants of the bf model edited through sentencepiece_model_pb2:
  v_unused      every 5th merged piece UNUSED (re-split after merging) and "<sep>" CONTROL, legacy=true
  v_rews        remove_extra_whitespaces=true, legacy=false
  v_plain       add_dummy_prefix=false, escape_whitespaces=false, legacy=true, add_eos_token=true
  charsmap      BPE with byte fallback and a precompiled_charsmap that sentencepiece compiles from rules
                (charsmap_rules: NFKC of the characters and pairs the texts hold, whitespace, a deletion,
                overlapping rules; nmt_nfkc's whole table would be 240 KB), remove_extra_whitespaces=true
  unigram       a Unigram model with byte fallback (no user-defined symbols: llava.h refuses those), legacy=false
  v_maps        the bf model with special_tokens_map.json (pad = unk, additional special tokens) and
                added_tokens.json ("<pad>" not special) instead of tokenizer_config.json
Variants, nobf (every 2nd text), unigram (every 3rd) and charsmap (every 4th and those its rules change) cover a selection of
the texts; their lines carry "i", the text's index. Each expected.jsonl line (same fields as tests/fixtures/tokenizer/*/expected.jsonl) comes from transformers'
slow, sentencepiece-based LlamaTokenizer (transformers < 5): "ids" encode(text), "raw" encode without special
tokens (when not ids minus the leading ones), "dec" decode(raw) (when not the text), "skip"
decode(ids, skip_special_tokens=True) (when not dec), "full" decode(ids) every 10th text; and from
sentencepiece itself: "sp" SentencePieceProcessor.encode(text) with the model as trained (when not the
raw ids), "spdec" its decode (when not the text). templates.json: conversations rendered and masked by the port of the original
LLaVA code in make_tokenizer_fixtures.py, with the slow tokenizer of bf_legacy and bf_nolegacy.

usage: python3 tools/py/make_spm_fixtures.py   (needs transformers<5, sentencepiece, protobuf, jinja2;
       deterministic)"""
import json
import os
import random
import shutil
import sys
import tempfile
import types
import unicodedata

import google.protobuf
import sentencepiece as spm
import transformers
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_fixtures import ROOT, corpus_lines, template_cases  # noqa: E402

assert int(transformers.__version__.split(".")[0]) < 5, "the slow sentencepiece LlamaTokenizer needs transformers < 5"
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "spm")
USER_DEFINED = ["<sep>", "\t\t", "foo", "\u2581\u2581\u2581\u2581"]


def train(tmp, name, lines, **kw):
    path = os.path.join(tmp, "corpus.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    args = dict(input=path, model_prefix=os.path.join(tmp, name), model_type="bpe", character_coverage=0.9995,
                normalization_rule_name="identity", split_digits=True, allow_whitespace_only_pieces=True, num_threads=1,
                input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
    args.update(kw)
    spm.SentencePieceTrainer.train(**args)
    path = os.path.join(tmp, name + ".model")
    m = sp_pb2.ModelProto()  # the temporary paths the trainer records would make every run's file differ
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    del m.trainer_spec.input[:]
    m.trainer_spec.model_prefix = name
    if m.normalizer_spec.normalization_rule_tsv:
        m.normalizer_spec.normalization_rule_tsv = os.path.basename(m.normalizer_spec.normalization_rule_tsv)
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def variant(tmp, model, kind):
    m = sp_pb2.ModelProto()
    with open(model, "rb") as f:
        m.ParseFromString(f.read())
    if kind == "unused":
        k = 0
        for p in m.pieces:
            if p.type == sp_pb2.ModelProto.SentencePiece.NORMAL and len(p.piece) >= 2:
                k += 1
                if k % 5 == 0:
                    p.type = sp_pb2.ModelProto.SentencePiece.UNUSED
            if p.piece == "<sep>":
                p.type = sp_pb2.ModelProto.SentencePiece.CONTROL
    elif kind == "rews":
        m.normalizer_spec.remove_extra_whitespaces = True
    else:
        m.normalizer_spec.add_dummy_prefix = False
        m.normalizer_spec.escape_whitespaces = False
    path = os.path.join(tmp, kind + ".model")
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


class Slow:
    """the slow tokenizer with the two calls template_cases makes of a `tokenizers` Tokenizer"""
    def __init__(self, tok):
        self.tok = tok

    def encode(self, s):
        return types.SimpleNamespace(ids=self.tok.encode(s))

    def token_to_id(self, t):
        return self.tok.convert_tokens_to_ids(t)


def charsmap_rules(texts):
    """normalization rules (source, target) for the charsmap model"""
    rules = {}
    for t in texts:
        for c in t:
            if unicodedata.normalize("NFKC", c) != c:
                rules[c] = unicodedata.normalize("NFKC", c)
        for i in range(len(t) - 1):  # compositions: two characters to one
            p = t[i:i + 2]
            if len(unicodedata.normalize("NFKC", p)) < 2:
                rules[p] = unicodedata.normalize("NFKC", p)
    rules.update({"\u3000": " ", "\u00a0": " ", "\t": " ", "\u200d": "", "ab": "x", "abc": "y"})
    return sorted(rules.items())


def added(tid, content, special=True):
    return str(tid), {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                      "special": special}


def expected(tok, sp, texts, pick=None):
    """rows for the texts pick(i, text) keeps (all without it); rows of a selection carry their index, i"""
    n_pre = len(tok.encode("", add_special_tokens=True))
    rows = []
    for i, t in enumerate(texts):
        if pick and not pick(i, t):
            continue
        a = tok.encode(t, add_special_tokens=True)
        b = tok.encode(t, add_special_tokens=False)
        d = tok.decode(b, skip_special_tokens=False)
        ds = tok.decode(a, skip_special_tokens=True)
        r = {"i": i} if pick else {}
        r["ids"] = " ".join(map(str, a))
        if b != a[n_pre:]:
            r["raw"] = " ".join(map(str, b))
        if d != t:
            r["dec"] = d
        if ds != d:
            r["skip"] = ds
        if len(rows) % 10 == 0:
            r["full"] = tok.decode(a, skip_special_tokens=False)
        s = sp.encode(t)
        if s != b:
            r["sp"] = " ".join(map(str, s))
        sd = sp.decode(s)
        if sd != t:
            r["spdec"] = sd
        rows.append(r)
    return rows


def main():
    with open(os.path.join(ROOT, "tests", "fixtures", "tokenizer", "texts.json")) as f:
        texts = json.load(f)
    lines = corpus_lines(random.Random(1234), 4000)
    versions = {"transformers": transformers.__version__, "sentencepiece": spm.__version__,
                "protobuf": google.protobuf.__version__, "python": sys.version.split()[0]}
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    manifest = {"versions": versions, "texts": "../texts.json", "tokenizers": {}}
    with tempfile.TemporaryDirectory() as tmp:
        bf = train(tmp, "bf", lines, vocab_size=1200, byte_fallback=True, add_dummy_prefix=True, remove_extra_whitespaces=False,
                   user_defined_symbols=USER_DEFINED)
        nobf = train(tmp, "nobf", lines[:1500], vocab_size=800, byte_fallback=False, add_dummy_prefix=True,
                     remove_extra_whitespaces=True)
        rules = os.path.join(tmp, "rules.tsv")
        with open(rules, "w") as f:
            for src, trg in charsmap_rules(texts):
                f.write(" ".join("%X" % ord(c) for c in src) + "\t" + " ".join("%X" % ord(c) for c in trg) + "\n")
        charsmap = train(tmp, "charsmap", lines[:2000], vocab_size=900, byte_fallback=True, normalization_rule_name="identity",
                         normalization_rule_tsv=rules, add_dummy_prefix=True, remove_extra_whitespaces=True)
        unigram = train(tmp, "unigram", lines, vocab_size=1000, model_type="unigram", byte_fallback=True, add_dummy_prefix=True,
                        remove_extra_whitespaces=False)
        n_bf = spm.SentencePieceProcessor(model_file=bf).get_piece_size()
        dec = dict([added(0, "<unk>"), added(1, "<s>"), added(2, "</s>"), added(n_bf, "<image>"), added(n_bf + 1, "<pad>")])
        base = {"add_bos_token": True, "add_eos_token": False, "added_tokens_decoder": dec, "bos_token": "<s>", "eos_token": "</s>",
                "unk_token": "<unk>", "pad_token": "<pad>", "clean_up_tokenization_spaces": False, "sp_model_kwargs": {},
                "tokenizer_class": "LlamaTokenizer", "model_max_length": 4096}
        dirs = {"bf_legacy": (bf, dict(base, legacy=True)),
                "bf_nolegacy": (bf, dict(base, legacy=False)),
                "nobf": (nobf, None),
                "v_unused": (variant(tmp, bf, "unused"), dict(base, legacy=True)),
                "v_rews": (variant(tmp, bf, "rews"), dict(base, legacy=False)),
                "v_plain": (variant(tmp, bf, "plain"), dict(base, legacy=True, add_eos_token=True)),
                "v_maps": (bf, None),
                "charsmap": (charsmap, dict(base, legacy=True)),
                "unigram": (unigram, dict(base, legacy=False))}
        sources = [src for src, _ in charsmap_rules(texts)]
        picks = {"nobf": lambda i, t: i % 2 == 0,  # selections keep the fixtures small
                 "charsmap": lambda i, t: i % 4 == 0 or any(src in t for src in sources),
                 "unigram": lambda i, t: i % 3 == 0}
        for name in dirs:
            if name.startswith("v_"):
                picks[name] = lambda i, t: i % 4 == 0
        for name, (model, cfg) in dirs.items():
            d = os.path.join(OUT, name)
            os.makedirs(d)
            if name in ("charsmap", "unigram"):  # <image>/<pad> after this model's pieces
                n = spm.SentencePieceProcessor(model_file=model).get_piece_size()
                cfg["added_tokens_decoder"] = dict([added(0, "<unk>"), added(1, "<s>"), added(2, "</s>"), added(n, "<image>"),
                                                    added(n + 1, "<pad>")])
            shutil.copy(model, os.path.join(d, "tokenizer.model"))
            files = {"tokenizer_config.json": cfg}
            if name == "v_maps":  # the older layout: no tokenizer_config.json
                files = {"special_tokens_map.json": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>",
                                                     "additional_special_tokens": ["<image>", "<mask>"]},
                         "added_tokens.json": {"<image>": n_bf, "<pad>": n_bf + 1, "<mask>": n_bf + 2}}
            for fname, content in files.items():
                if content is not None:
                    with open(os.path.join(d, fname), "w") as f:
                        json.dump(content, f, indent=2, ensure_ascii=False)
                        f.write("\n")
            tok = transformers.LlamaTokenizer.from_pretrained(d)
            assert tok.legacy == cfg.get("legacy", True) if cfg else tok.legacy
            sp = spm.SentencePieceProcessor(model_file=model)
            with open(os.path.join(d, "expected.jsonl"), "w") as f:
                for r in expected(tok, sp, texts, picks.get(name)):
                    f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
            manifest["tokenizers"][name] = {"dir": name, "vocab_size": len(tok), "all_special_tokens": tok.all_special_tokens}
    # conversation templates (the original LLaVA code ran the slow tokenizer): legacy and not
    cases = []
    for name, as_name in (("bf_legacy", "sp_always"), ("bf_nolegacy", "sp_first")):  # template_cases: legacy unless "sp_first"
        for c in template_cases({as_name: Slow(transformers.LlamaTokenizer.from_pretrained(os.path.join(OUT, name)))}):
            c["tokenizer"] = "spm/" + name
            cases.append(c)
    with open(os.path.join(OUT, "templates.json"), "w") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("wrote", os.path.relpath(OUT, ROOT), {k: v["vocab_size"] for k, v in manifest["tokenizers"].items()}, len(texts), "texts")


if __name__ == "__main__":
    main()
