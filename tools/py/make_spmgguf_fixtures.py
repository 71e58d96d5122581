"""GGUF versions of some SentencePiece fixture tokenizers (tests/fixtures/tokenizer/spm/), with the ids
llama.cpp gives them, for tests/test_gguf_tokenizer.c.

Each GGUF holds the vocabulary llama.cpp's convert_hf_to_gguf.py writes for a LLaMA model with a
tokenizer.model (_create_vocab_sentencepiece: pieces, scores and types from sentencepiece, then
added_tokens.json entries as USER_DEFINED and tokenizer_config.json's added_tokens_decoder as CONTROL when
special or special-looking, else USER_DEFINED with "\u2581" read as " "; LlamaModel.set_vocab:
add_space_prefix from tokenizer_config.json's add_prefix_space), the special ids and add_bos/add_eos that
gguf-py's SpecialVocab finds, written with gguf-py's GGUFWriter. The model's vocab_size is taken as the
largest id + 1 (what a config.json gives), so the added tokens stay in.

The expected ids come from a Python re-implementation of llama.cpp's tokenizer for SPM vocabularies
(src/llama-vocab.cpp at the commit in tests/fixtures/gguf_llamacpp/manifest.json: the load's token
attributes, tokenizer_st_partition, the "\u2581" prefix, llm_tokenizer_spm_session, byte_to_token), with
parse_special on and add_special on ("ids") and off ("plain"), and on every other text its detokenize of
"plain" with remove_special on / unparse_special off ("dec") and of "ids" with the reverse ("dec_special"),
bytes that are not valid UTF-8 as U+FFFD. A text llama.cpp cannot tokenize (a character without a token or a byte token)
has "error" instead. Where the texts have no special tokens
and the normalizer is the identity, these ids equal the slow LlamaTokenizer's with legacy=True (the
spm fixtures' expected.jsonl): the manifest counts the texts on which they agree and differ.

Optional: --llamacpp PROGRAM runs tools/py/llamacpp_spm_check.cpp (built against llama.cpp's own
src/llama-vocab.cpp, see its header) on every fixture and text and checks each expected line against it;
the manifest records the check ("llama.cpp_checked").

usage: python tools/py/make_spmgguf_fixtures.py [--llamacpp PROGRAM]
"""
import argparse
import heapq
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile

import gguf
import sentencepiece

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPM = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "spm")
TEXTS = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "texts.json")
OUT = os.path.join(ROOT, "tests", "fixtures", "spmgguf")

# name -> (source fixture, changes: add_prefix_space (None: as the config says), general.name, extra
# user-defined tokens appended to the vocabulary)
FIXTURES = {
    "spm_bf": ("bf_legacy", {}),
    "spm_nobf": ("nobf", {}),
    "spm_unused": ("v_unused", {}),
    "spm_maps": ("v_maps", {}),
    "spm_nosp": ("v_plain", {"add_prefix_space": False}),
    "spm_phi3": ("bf_legacy", {"name": "Phi-3 mini (test)", "extra": [("<|endoftext|>", True), ("<|user|>", True), ("<tool>", False)]}),
}

# texts written for these fixtures, besides a selection of the project's texts
EXTRA = [
    "<s>", "</s>", "<unk>", " <s> x", "x<s> y", "<s>  two", "a</s>\n</s>b", "<image>", " <image> ", "<image><image>", "a <image>\nb",
    "<image> ", "<pad><image>", "<mask>x", " <mask> y", "x <mask>", "<<image>>", "<unk>text", "\u2581", "\u2581x", "a\u2581b",
    "  leading", "trailing  ", " ", "  ", "\n", "\t x", "x\u3000y", "caf\u00e9", "\U0001F600 smile", "\u00ff\u0100",
    "<|endoftext|> x", "<|user|>\n hi <|endoftext|>\n\n", "<tool>  a", "a <tool>", "<|user|>  <|user|>",
    "[PAD5]", "<0x41>", "<0x0A>B", "<s", "s>",
]


def versions():
    v = {"python": platform.python_version(), "gguf": gguf.__version__ if hasattr(gguf, "__version__") else None,
         "sentencepiece": sentencepiece.__version__}
    try:
        from importlib.metadata import version
        v["gguf"] = version("gguf")
    except Exception:
        pass
    return v


def looks_special(s):
    """convert_hf_to_gguf.py's does_token_look_special"""
    return (s in ("<pad>", "<mask>", "<2mass>", "[@BOS@]") or (s.startswith("<|") and s.endswith("|>"))
            or (s.startswith("<\uff5c") and s.endswith("\uff5c>")) or (s.startswith("<unused") and s.endswith(">")))


def make_vocab(src, extra):
    """the converter's tokens, scores and types for the tokenizer in src"""
    sp = sentencepiece.SentencePieceProcessor()
    sp.LoadFromFile(os.path.join(src, "tokenizer.model"))
    added = {}
    p = os.path.join(src, "added_tokens.json")
    if os.path.isfile(p):
        added = json.load(open(p, encoding="utf-8"))
    cfg = {}
    p = os.path.join(src, "tokenizer_config.json")
    if os.path.isfile(p):
        cfg = json.load(open(p, encoding="utf-8"))
    dec = {int(k): v for k, v in cfg.get("added_tokens_decoder", {}).items()}
    n = max([sp.vocab_size() - 1] + list(added.values()) + list(dec)) + 1
    tokens = [("[PAD%d]" % i).encode() for i in range(n)]
    scores = [-10000.0] * n
    types = [gguf.TokenType.UNUSED] * n
    for i in range(sp.vocab_size()):
        t = gguf.TokenType.NORMAL
        if sp.IsUnknown(i):
            t = gguf.TokenType.UNKNOWN
        elif sp.IsControl(i):
            t = gguf.TokenType.CONTROL
        elif sp.IsUnused(i):
            t = gguf.TokenType.UNUSED
        elif sp.IsByte(i):
            t = gguf.TokenType.BYTE
        tokens[i] = sp.IdToPiece(i).encode("utf-8")
        scores[i] = sp.GetScore(i)
        types[i] = t
    for k, i in added.items():
        tokens[i] = k.encode("utf-8")
        scores[i] = -1000.0
        types[i] = gguf.TokenType.USER_DEFINED
    for i, d in dec.items():
        s = d["content"]
        if d.get("special") or looks_special(s):
            types[i] = gguf.TokenType.CONTROL
        else:
            s = s.replace("\u2581", " ")
            types[i] = gguf.TokenType.USER_DEFINED
        scores[i] = -1000.0
        tokens[i] = s.encode("utf-8")
    for s, control in extra:
        tokens.append(s.encode("utf-8"))
        scores.append(-1000.0)
        types.append(gguf.TokenType.CONTROL if control else gguf.TokenType.USER_DEFINED)
    return tokens, scores, [int(t) for t in types], cfg


def write_gguf(path, src, tokens, scores, types, cfg, change):
    w = gguf.GGUFWriter(path, "llama")
    if change.get("name"):
        w.add_name(change["name"])
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    sv = gguf.SpecialVocab(src, n_vocab=len(tokens))
    sv.add_to_gguf(w, quiet=True)
    aps = change.get("add_prefix_space", cfg.get("add_prefix_space"))
    if aps is not None:
        w.add_add_space_prefix(aps)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# --- llama.cpp's SPM tokenizer, re-implemented ---------------------------------------------------------
ATTR_UNKNOWN, ATTR_UNUSED, ATTR_NORMAL, ATTR_CONTROL, ATTR_USER, ATTR_BYTE = 2, 4, 8, 16, 32, 64
ATTR_LSTRIP, ATTR_RSTRIP = 256, 512
EOG = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
       "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
       "<eos>", "<turn|>", "<|tool_response>", "<\uff5cend\u2581of\u2581sentence\uff5c>", "[e~["]
FIM = [("fim_pre_token_id", "prefix_token_id", ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\uff5cfim\u2581begin\uff5c>", "<PRE>",
                                                  "\u2581<PRE>", "<|code_prefix|>", "<|prefix|>"]),
       ("fim_suf_token_id", "suffix_token_id", ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\uff5cfim\u2581hole\uff5c>", "<SUF>",
                                                 "\u2581<SUF>", "<|code_suffix|>", "<|suffix|>"]),
       ("fim_mid_token_id", "middle_token_id", ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\uff5cfim\u2581end\uff5c>", "<MID>",
                                                 "\u2581<MID>", "<|code_middle|>", "<|middle|>"]),
       ("fim_pad_token_id", None, ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
       ("fim_rep_token_id", None, ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
       ("fim_sep_token_id", None, ["<|file_sep|>"])]


class LlamaCppSpm:
    """llama_vocab::impl::load + tokenize for tokenizer.ggml.model "llama", from a GGUFReader"""

    def __init__(self, path):
        r = gguf.GGUFReader(path)
        f = {k: v.contents() for k, v in r.fields.items()}
        toks = [t.encode("utf-8") if isinstance(t, str) else bytes(t) for t in f["tokenizer.ggml.tokens"]]
        self.text = [t if t else ("[EMPTY_%d]" % i).encode() for i, t in enumerate(toks)]
        self.score = [float(s) for s in f.get("tokenizer.ggml.scores", [0.0] * len(toks))]
        tt = f.get("tokenizer.ggml.token_type", [1] * len(toks))
        amap = {2: ATTR_UNKNOWN, 5: ATTR_UNUSED, 1: ATTR_NORMAL, 3: ATTR_CONTROL, 4: ATTR_USER, 6: ATTR_BYTE}
        self.attr = [amap.get(int(t), 0) for t in tt]
        self.id = {}
        for i, t in enumerate(self.text):
            assert t not in self.id, "duplicate token"
            self.id[t] = i
        n = len(self.text)
        ids = {"bos": 1, "eos": 2, "unk": 0, "pad": -1, "eot": -1}
        for k in list(ids):
            if ids[k] >= n:
                ids[k] = -1
            key = {"unk": "unknown", "pad": "padding"}.get(k, k)
            v = f.get("tokenizer.ggml.%s_token_id" % key)
            if v is not None and int(v) < n:
                ids[k] = int(v)
        self.bos, self.eos, self.unk = ids["bos"], ids["eos"], ids["unk"]
        self.add_bos = bool(f.get("tokenizer.ggml.add_bos_token", True))
        self.add_eos = bool(f.get("tokenizer.ggml.add_eos_token", False))
        self.space_prefix = bool(f.get("tokenizer.ggml.add_space_prefix", True))
        assert not (self.add_bos and self.bos < 0) and not (self.add_eos and self.eos < 0)
        # text-detected control tokens (fill-in-the-middle: only where the file names no id for the role)
        for key, key2, names in FIM:
            given = [f.get("tokenizer.ggml." + k) for k in (key, key2) if k]
            if any(g is not None and int(g) < n for g in given):
                continue
            for s in names:
                if s.encode() in self.id:
                    self.attr[self.id[s.encode()]] |= ATTR_CONTROL
        for s in EOG:
            if s.encode() in self.id:
                self.attr[self.id[s.encode()]] |= ATTR_CONTROL
        es, tr, pe = self.id.get(b"</s>"), self.id.get(b"<|tool_response>"), self.id.get(b"<|plamo:eos|>")
        if es is not None and (tr is not None or (pe is not None and pe in (ids["eos"], ids["eot"]))):
            self.attr[es] = ATTR_NORMAL
        for s in (b"<|channel|>", b"<|message|>", b"<|start|>", b"<|constrain|>"):
            if s in self.id:
                self.attr[self.id[s]] = ATTR_USER
        has = lambda *ss: any(x in self.id for x in ss)
        if has(b"<|end|>") and has(b"<|call|>", b"<|calls|>") and has(b"<|return|>", b"<|flush|>"):
            self.attr[self.id[b"<|end|>"]] = ATTR_USER
        spec = [i for i in range(n) if self.attr[i] & (ATTR_CONTROL | ATTR_USER | ATTR_UNKNOWN)]
        self.special = sorted(spec, key=lambda i: (-len(self.text[i]), i))
        name = str(f.get("general.name", "")).lower()
        pre = str(f.get("tokenizer.ggml.pre", ""))
        arch = str(f.get("general.architecture", ""))
        if any(s in pre for s in ("jina-v2-de", "jina-v2-es", "jina-v2-code")) or any(s in arch for s in ("nomic-bert-moe", "jina-bert-v3")):
            if b"<mask>" in self.id:
                self.attr[self.id[b"<mask>"]] |= ATTR_LSTRIP
        elif "phi-3" in name or "phi3" in name:
            for i in self.special:
                self.attr[i] |= ATTR_RSTRIP
            self.attr[self.id[b"</s>"]] |= ATTR_RSTRIP
            for s in (b"<unk>", b"<s>", b"<|endoftext|>"):
                self.attr[self.id[s]] &= ~ATTR_RSTRIP
        elif "modern-bert" in name and b"[MASK]" in self.id:
            self.attr[self.id[b"[MASK]"]] |= ATTR_LSTRIP

    def partition(self, text):
        frags = [(None, 0, len(text))] if text else []
        for tid in self.special:
            tok, a = self.text[tid], self.attr[tid]
            out = []
            for fid, st, en in frags:
                if fid is not None:
                    out.append((fid, st, en))
                    continue
                while st < en:
                    m = text.find(tok, st, en)
                    if m < 0:
                        out.append((None, st, en))
                        break
                    le = m
                    if a & ATTR_LSTRIP:
                        while le > st and text[le - 1] in b" \t\n\v\f\r":
                            le -= 1
                    if le > st:
                        out.append((None, st, le))
                    out.append((tid, m, m + len(tok)))
                    st = m + len(tok)
                    if a & ATTR_RSTRIP:
                        while st < en and text[st] in b" \t\n\v\f\r":
                            st += 1
            frags = out
        return frags

    def byte_token(self, c):
        t = self.id.get(b"<0x%02X>" % c)
        if t is None:
            t = self.id.get(bytes([c]))
        if t is None:
            raise KeyError("no token for byte 0x%02X" % c)
        return t

    def merge(self, s, out):
        lens = [1] * 12 + [2, 2, 3, 4]
        sym = []  # [start, length, prev, next]
        i = 0
        while i < len(s):
            n = min(lens[s[i] >> 4], len(s) - i)
            sym.append([i, n, len(sym) - 1, -1])
            i += n
        for k in range(len(sym) - 1):
            sym[k][3] = k + 1
        heap = []

        def add(l, r):
            if l < 0 or r < 0:
                return
            t = self.id.get(s[sym[l][0]:sym[l][0] + sym[l][1] + sym[r][1]])
            if t is not None:
                heapq.heappush(heap, (-self.score[t], l, r, sym[l][1] + sym[r][1]))
        for k in range(1, len(sym)):
            add(k - 1, k)
        while heap:
            _, l, r, size = heapq.heappop(heap)
            L, R = sym[l], sym[r]
            if L[1] == 0 or R[1] == 0 or L[1] + R[1] != size:
                continue
            L[1] += R[1]
            R[1] = 0
            L[3] = R[3]
            if R[3] >= 0:
                sym[R[3]][2] = l
            add(L[2], l)
            add(l, L[3])
        k = 0 if sym else -1
        while k >= 0:
            st, n = sym[k][0], sym[k][1]
            t = self.id.get(s[st:st + n])
            if t is not None:
                out.append(t)
            else:
                out.extend(self.byte_token(c) for c in s[st:st + n])
            k = sym[k][3]

    def detokenize(self, ids, skip_special):
        """llama_vocab::impl::detokenize, remove_special = skip_special, unparse_special = not skip_special: bytes"""
        strip = self.space_prefix
        if skip_special and self.add_bos and ids and ids[0] == self.bos:
            strip, ids = False, ids[1:]
        if skip_special and self.add_eos and ids and ids[-1] == self.eos:
            ids = ids[:-1]
        out = b""
        for i in ids:
            a, t = self.attr[i], self.text[i]
            piece = b""
            if skip_special and a & (ATTR_CONTROL | ATTR_UNKNOWN):
                pass
            elif a & (ATTR_CONTROL | ATTR_UNKNOWN | ATTR_USER):
                piece = t
            elif a & ATTR_NORMAL:
                piece = t.replace("\u2581".encode(), b" ")
            elif a & ATTR_BYTE:
                piece = bytes([int(t[3:5], 16)])
            if strip and piece.startswith(b" "):
                piece = piece[1:]
            strip = False
            out += piece
        return out

    def tokenize(self, text, add_special):
        text = text.encode("utf-8")
        out = []
        if add_special and self.add_bos:
            out.append(self.bos)
        prev_special = True
        for fid, st, en in self.partition(text):
            if fid is not None:
                out.append(fid)
                prev_special = True
                continue
            s = (b" " if self.space_prefix and prev_special else b"") + text[st:en]
            self.merge(s.replace(b" ", "\u2581".encode()), out)
            prev_special = False
        if add_special and self.add_eos:
            out.append(self.eos)
        return out


def valid_utf8(b):
    """the bytes as text, each byte that is not part of a valid UTF-8 character as U+FFFD (llava.h's rule)"""
    out, i = [], 0
    while i < len(b):
        for n in (1, 2, 3, 4):
            try:
                out.append(b[i:i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)


def pick_texts(texts):
    """a selection that keeps the fixtures small: every 48th text, the first 80 short ones with "<" (special
    tokens in text) and 15 with leading or double spaces, and EXTRA"""
    keep = [t for i, t in enumerate(texts) if i % 48 == 0]
    keep += [t for i, t in enumerate(texts) if i % 48 and len(t) < 40 and "<" in t][:80]
    keep += [t for i, t in enumerate(texts) if i % 48 and len(t) < 40 and "<" not in t and (t.startswith(" ") or "  " in t)][:15]
    return keep + [t for t in EXTRA if t not in keep]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llamacpp", help="tools/py/llamacpp_spm_check.cpp, built (see its header)")
    ap.add_argument("--llamacpp-commit", help="the llama.cpp commit it was built from (recorded in the manifest)")
    args = ap.parse_args()
    texts = pick_texts(json.load(open(TEXTS, encoding="utf-8")))
    all_texts = json.load(open(TEXTS, encoding="utf-8"))
    os.makedirs(OUT, exist_ok=True)
    manifest = {"versions": versions(), "texts": len(texts), "ids": "llama.cpp's SPM tokenize re-implemented in this script "
                "(parse_special on; ids: add_special on, plain: off); dec: its detokenize of plain with remove_special on and unparse_special off, dec_special: of ids with the reverse, invalid UTF-8 bytes as U+FFFD", "gguf": {}}
    for name, (srcname, change) in FIXTURES.items():
        src = os.path.join(SPM, srcname)
        tokens, scores, types, cfg = make_vocab(src, change.get("extra", []))
        path = os.path.join(OUT, name + ".gguf")
        write_gguf(path, src, tokens, scores, types, cfg, change)
        tok = LlamaCppSpm(path)
        lines, n_err = [], 0
        raw = []
        for k, t in enumerate(texts):
            e = {"text": t}
            d = None
            try:
                ids, plain = tok.tokenize(t, True), tok.tokenize(t, False)
                e["ids"] = " ".join(map(str, ids))
                e["plain"] = " ".join(map(str, plain))
                d = (tok.detokenize(plain, True), tok.detokenize(ids, False))
                if k % 2 == 0:  # decoding on every other text keeps the files small
                    e["dec"], e["dec_special"] = valid_utf8(d[0]), valid_utf8(d[1])
            except KeyError as x:
                e = {"text": t, "error": str(x)}
                n_err += 1
            lines.append(e)
            raw.append(d)
        # the slow LlamaTokenizer (legacy=True) of the source fixture, on the same texts
        agree = differ = 0
        slow = [json.loads(x) for x in open(os.path.join(src, "expected.jsonl"), encoding="utf-8")]
        step = 2 if srcname == "nobf" else 4 if srcname.startswith("v_") else 1  # make_spm_fixtures.py's selections
        slow_of = {}
        for t, x in zip(all_texts[::step], slow):
            slow_of.setdefault(t, x["ids"])
        if not change:
            for e in lines:
                if "ids" in e and e["text"] in slow_of:
                    if slow_of[e["text"]] == e["ids"]:
                        agree += 1
                    else:
                        differ += 1
        with open(os.path.join(OUT, name + ".expected.jsonl"), "w", encoding="utf-8") as f:
            for e in lines:
                f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
        m = {"file": name + ".gguf", "expected": name + ".expected.jsonl", "source": "../tokenizer/spm/" + srcname,
             "changes": {k: v for k, v in change.items() if k != "extra"}, "extra_tokens": [s for s, _ in change.get("extra", [])],
             "tokens": len(tokens), "bos": tok.bos, "eos": tok.eos, "unk": tok.unk, "add_bos": tok.add_bos,
             "add_eos": tok.add_eos, "add_space_prefix": tok.space_prefix, "errors": n_err}
        if agree or differ:
            m["slow_legacy_true"] = {"agree": agree, "differ": differ}
        manifest["gguf"][name] = m
        if args.llamacpp:
            with tempfile.TemporaryDirectory() as d:
                tf = os.path.join(d, "texts.bin")
                with open(tf, "wb") as f:
                    for e in lines:
                        b = e["text"].encode("utf-8")
                        f.write(struct.pack("<I", len(b)) + b)
                res = subprocess.run([args.llamacpp, path, tf], capture_output=True, check=True).stdout.decode("utf-8").splitlines()
            assert len(res) == len(lines), (name, len(res), len(lines))
            bad = 0
            for e, r, d in zip(lines, res, raw):
                got = r.split("|")
                ok = (got[0].startswith("ERR") and got[1].startswith("ERR")) if "error" in e else (
                    got == [e["ids"], e["plain"], d[0].hex(), d[1].hex()])
                if not ok:
                    bad += 1
                    print("%s: %r: llama.cpp %r, here %r" % (name, e["text"], r, e.get("ids", e.get("error"))))
            m["llama.cpp_checked"] = {"texts": len(lines), "differ": bad, "commit": args.llamacpp_commit}
        print("%s: %d tokens, %d texts (%d errors)%s" % (name, len(tokens), len(lines), n_err,
              ", slow legacy=True agrees on %d, differs on %d" % (agree, differ) if agree or differ else ""))
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
