#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora, tests/fuzz/corpus/<harness>/, from the committed test fixtures,
trimmed to a few KB each (the Python standard library only; run from the repository root):

    python3 tools/py/make_fuzz_corpus.py

Inputs of several parts (config, tokenizer, data, template) separate them with a form feed, as
tests/fuzz/fuzz.h describes."""
import json
import os
import shutil
import struct
import sys

FX = "tests/fixtures"
OUT = "tests/fuzz/corpus"
FF = b"\f"


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(FX, path), "rb") as f:
        return f.read()


# --- safetensors: the smallest tensors of the fixture models, re-packed as the format lays them out
def st_read(path):
    b = read(path)
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def st_write(header, pad=True):
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h


def st_trim(path, keep, pad=True, meta=None):
    hdr, data = st_read(path)
    names = sorted((k for k in hdr if k != "__metadata__"),
                   key=lambda k: (hdr[k]["data_offsets"][1] - hdr[k]["data_offsets"][0], k))[:keep]
    out, body = {}, b""
    if meta is not None:
        out["__metadata__"] = meta
    for k in sorted(names):
        b, e = hdr[k]["data_offsets"]
        out[k] = {"dtype": hdr[k]["dtype"], "shape": hdr[k]["shape"], "data_offsets": [len(body), len(body) + e - b]}
        body += data[b:e]
    return st_write(out, pad) + body


def safetensors():
    put("safetensors", "hf4_f32", st_trim("models/tiny_hf4/model.safetensors", 4, meta={"format": "pt"}))
    put("safetensors", "bf16", st_trim("models/tiny_mem_bf16/model.safetensors", 4))
    put("safetensors", "f16_shard", st_trim("models/tiny_f16_sharded/model-00002-of-00003.safetensors", 3, pad=False))
    other = {"a": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]},
             "b": {"dtype": "U8", "shape": [3, 1], "data_offsets": [16, 19]},
             "c": {"dtype": "F16", "shape": [0, 4], "data_offsets": [19, 19]},
             "d": {"dtype": "BF16", "shape": [], "data_offsets": [19, 21]}}
    put("safetensors", "dtypes", st_write(other, pad=False) + bytes(range(21)))


# --- JSON: the fixture models' configuration files, and the corners of the syntax
def jsons():
    put("json", "config_hf4", read("models/tiny_hf4/config.json"))
    put("json", "preprocessor", read("models/tiny_hf5/preprocessor_config.json"))
    put("json", "tokenizer_config", read("tokenizer/tiny600/tokenizer_config.json"))
    put("json", "syntax", '{"a": [1, -2.5e-3, 1E+2, 0, true, false, null, NaN, -Infinity], "s": "q\\"\\\\\\/\\b\\f\\n\\r\\t", '
        '"u": "\\u00e9\\u4e2d\\ud83d\\ude00\\ud800x", "": {}, "e": [], "n": [[[[{"k": [{}]}]]]]}')
    put("json", "utf8", '["\u00e9\u4e2d\U0001F600", "\u2581tok"]')


# --- model configuration: config.json, a form feed, preprocessor_config.json
def configs():
    for m in ("tiny_hf4", "tiny_hf5", "tiny_mem_bf16"):
        put("config", m, read(f"models/{m}/config.json") + FF + read(f"models/{m}/preprocessor_config.json"))
    put("config", "tiny_orig_linear", read("models/tiny_orig_linear/config.json"))
    put("config", "tiny_f16_sharded", read("models/tiny_f16_sharded/config.json"))


# --- tokenizer.json, a form feed, tokenizer_config.json (optional), a form feed, text to encode
def tok_trim(path, keep):
    t = json.loads(read(path))
    m = t["model"]
    vocab = {k: v for k, v in m["vocab"].items() if v < keep}
    merges = []
    for x in m["merges"]:
        a, b = x.split(" ", 1) if isinstance(x, str) else x
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(x)
    m["vocab"], m["merges"] = vocab, merges[:60]
    added = []
    for a in t.get("added_tokens") or []:
        if a["id"] >= keep:
            a = dict(a, id=keep + len(added))
        added.append(a)
    t["added_tokens"] = added
    return json.dumps(t, ensure_ascii=False, separators=(",", ":")).encode(), {a["content"]: a["id"] for a in added}


def tok_config(path, ids):
    c = json.loads(read(path))
    dec = c.get("added_tokens_decoder")
    if dec:
        c["added_tokens_decoder"] = {str(ids.get(v["content"], k)): v for k, v in dec.items()}
    return json.dumps(c, separators=(",", ":")).encode()


def tokenizers():
    text = "USER: <image>\nWhat is  in the picture? ASSISTANT: A red circle.</s> caf\u00e9 \u4e2d\u6587 \U0001F600 123".encode()
    for name, keep in (("tiny600", 300), ("sp_first", 320), ("sp_normalizer", 320), ("bl_gpt2", 300), ("bl_llama3", 300), ("trained", 300)):
        tj, ids = tok_trim(f"tokenizer/{name}/tokenizer.json", keep)
        cfg = f"tokenizer/{name}/tokenizer_config.json"
        cj = tok_config(cfg, ids) if os.path.exists(os.path.join(FX, cfg)) else b""
        put("tokenizer", name, tj + FF + cj + FF + text)


# --- images: the small fixture images as they are (corrupt ones included)
def images():
    for f in ("anim_50x38.gif", "bitmap_33x47.bmp", "gray_45x80.png", "notanimage.jpg", "small_20x13.png", "photo_123x59.jpg"):
        put("image", f, read("images/" + f))


# --- LLaVA-format training data (tools/data.h), images named relative to tests/fixtures/images
def data():
    samples = [
        {"id": "0", "image": "small_20x13.png", "conversations": [
            {"from": "human", "value": "<image>\nWhat is in the picture?"}, {"from": "gpt", "value": "A red circle."},
            {"from": "human", "value": "And the colour?"}, {"from": "gpt", "value": "Red."}]},
        {"id": "1", "conversations": [{"from": "user", "value": "Say hi."}, {"from": "assistant", "value": "hi"}]},
        {"image": "gray_45x80.png", "conversations": [{"from": "human", "value": "Describe.\n<image>"},
                                                       {"from": "gpt", "value": "Gray."}]}]
    put("data", "samples", json.dumps(samples, indent=1))
    put("data", "plain", json.dumps(samples[2:], separators=(",", ":")) + "\fplain\f40")
    put("data", "vicuna", json.dumps(samples[1:], separators=(",", ":")) + "\fvicuna_v1")


# --- conversation templates: a template name, then the messages (role:text), one per part
def templates():
    put("template", "llava_hf", "llava_hf\fuser:<image>\nWhat is this?\fassistant:A cat.\fuser:Sure?")
    put("template", "vicuna", "vicuna_v1\fsystem:Be brief.\fuser:Hi <image> there\fassistant:Hello.")
    put("template", "plain", "plain\fuser:<image>\fassistant:a caption")
    put("template", "llava_v1", "llava_v1\fhuman:<image>\n\u4e2d\u6587?\fgpt:\u00e9\fhuman:x\fgpt:y")


# --- PyTorch .bin checkpoints: the small accepted ones and the hostile ones, as they are
def pickles():
    for f in sorted(os.listdir(os.path.join(FX, "bin/ok"))):
        put("pickle", "ok_" + f, read("bin/ok/" + f))
    for f in sorted(os.listdir(os.path.join(FX, "bin/bad"))):
        if os.path.getsize(os.path.join(FX, "bin/bad", f)) <= 10000:
            put("pickle", "bad_" + f, read("bin/bad/" + f))


# --- SentencePiece tokenizer.model, CUT, tokenizer_config.json, CUT, text (CUT: tests/fuzz/fuzz.h FUZZ_CUT)
CUT = b"\f--8<--\f"


def pb_varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def spm_trim(b, keep):
    """the ModelProto with its first `keep` pieces (field 1) and every other field as it is"""
    out, i, n = b"", 0, 0
    while i < len(b):
        start = i
        key, i = pb_varint(b, i)
        wt = key & 7
        if wt == 0:
            _, i = pb_varint(b, i)
        elif wt == 2:
            ln, i = pb_varint(b, i)
            i += ln
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        else:
            raise ValueError("unexpected wire type")
        if key >> 3 == 1:
            n += 1
            if n > keep:
                continue
        out += b[start:i]
    return out


def spms():
    text = "Hello  world!\n<s> caf\u00e9 \u4e2d\u6587 \U0001F600 123 \u2581x".encode()
    for name, keep in (("nobf", 300), ("charsmap", 300), ("unigram", 300), ("bf_legacy", 400), ("bf_nolegacy", 400)):
        cfg = f"tokenizer/spm/{name}/tokenizer_config.json"
        cj = read(cfg) if os.path.exists(os.path.join(FX, cfg)) else b""
        put("spm", name, spm_trim(read(f"tokenizer/spm/{name}/tokenizer.model"), keep) + CUT + cj + CUT + text)


def main():
    if not os.path.isdir(FX):
        sys.exit("run from the repository root")
    shutil.rmtree(OUT, ignore_errors=True)
    safetensors()
    jsons()
    configs()
    tokenizers()
    images()
    data()
    templates()
    pickles()
    spms()
    for h in sorted(os.listdir(OUT)):
        d = os.path.join(OUT, h)
        print(f"{h}: {len(os.listdir(d))} files, {sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))} bytes")


if __name__ == "__main__":
    main()
