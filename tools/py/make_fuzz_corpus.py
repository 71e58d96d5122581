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


# --- GGUF: the small hostile fixtures, the quantized tensors, and a miniature LLaMA text model with its
# mmproj (written here, F32/F16/Q8_0, a few KB) joined by CUT as the model loader's (text, mmproj) pair
def gguf_str(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(x)) + x


def gguf_val(v):
    """a (type, value) pair: type 4 uint32, 5 int32, 6 float32, 7 bool, 8 string, (9, t) array of t"""
    t, x = v
    if isinstance(t, tuple):
        return struct.pack("<IQ", t[1], len(x)) + b"".join(gguf_val((t[1], e))[4:] for e in x)
    body = {4: lambda: struct.pack("<I", x), 5: lambda: struct.pack("<i", x), 6: lambda: struct.pack("<f", x),
            7: lambda: struct.pack("<?", x), 8: lambda: gguf_str(x)}[t]()
    return struct.pack("<I", t) + body


def gguf_file(kvs, tensors):
    """kvs: [(key, (type, value))]; tensors: [(name, ne (fastest first), ggml type, bytes)]"""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, v in kvs:
        t = v[0]
        out += gguf_str(k) + (struct.pack("<I", 9) + gguf_val(v) if isinstance(t, tuple) else gguf_val(v))
    data, offs = b"", []
    for name, ne, ty, b in tensors:
        data += b"\0" * (-len(data) % 32)
        offs.append(len(data))
        data += b
    for (name, ne, ty, b), off in zip(tensors, offs):
        out += gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", e) for e in ne) + struct.pack("<IQ", ty, off)
    out += b"\0" * (-len(out) % 32)
    return out + data


def f32s(n, seed):
    return b"".join(struct.pack("<f", ((i * 37 + seed * 11) % 17 - 8) / 64.0) for i in range(n))


def f16s(n, seed):
    return b"".join(struct.pack("<e", ((i * 29 + seed * 7) % 13 - 6) / 32.0) for i in range(n))


def q8_0(n, seed):  # blocks of 32: f16 scale, 32 int8
    return b"".join(struct.pack("<e", 0.01 * (b + 1)) + bytes((i * 5 + b + seed) % 256 for i in range(32)) for b in range(n // 32))


def gguf_mini_text():
    H, F, V, L = 32, 64, 16, 1
    toks = ["<unk>", "<s>", "</s>", "<image>"] + ["\u2581" + c for c in "abcdef"] + list("abcdef")
    kvs = [("general.architecture", (8, "llama")), ("llama.context_length", (4, 64)), ("llama.embedding_length", (4, H)),
           ("llama.block_count", (4, L)), ("llama.feed_forward_length", (4, F)), ("llama.rope.dimension_count", (4, 8)),
           ("llama.attention.head_count", (4, 4)), ("llama.attention.head_count_kv", (4, 2)),
           ("llama.rope.freq_base", (6, 10000.0)), ("llama.attention.layer_norm_rms_epsilon", (6, 1e-5)),
           ("tokenizer.ggml.model", (8, "llama")), ("tokenizer.ggml.tokens", ((9, 8), toks)),
           ("tokenizer.ggml.scores", ((9, 6), [0.0] * 4 + [-float(i) for i in range(12)])),
           ("tokenizer.ggml.token_type", ((9, 5), [2, 3, 3, 4] + [1] * 12)),
           ("tokenizer.ggml.bos_token_id", (4, 1)), ("tokenizer.ggml.eos_token_id", (4, 2))]
    ts = [("token_embd.weight", [H, V], 1, f16s(H * V, 1))]
    for b in range(L):
        p = f"blk.{b}."
        ts += [(p + "attn_norm.weight", [H], 0, f32s(H, 2)), (p + "attn_q.weight", [H, H], 8, q8_0(H * H, 3)),
               (p + "attn_k.weight", [H, H // 2], 1, f16s(H * H // 2, 4)), (p + "attn_v.weight", [H, H // 2], 0, f32s(H * H // 2, 5)),
               (p + "attn_output.weight", [H, H], 1, f16s(H * H, 6)), (p + "ffn_norm.weight", [H], 0, f32s(H, 7)),
               (p + "ffn_gate.weight", [H, F], 8, q8_0(H * F, 8)), (p + "ffn_up.weight", [H, F], 1, f16s(H * F, 9)),
               (p + "ffn_down.weight", [F, H], 1, f16s(F * H, 10))]
    ts += [("output_norm.weight", [H], 0, f32s(H, 11))]
    return gguf_file(kvs, ts)


def gguf_mini_mmproj():
    D, F, P, S, H = 16, 32, 4, 8, 32
    n_pos = (S // P) ** 2 + 1
    kvs = [("general.architecture", (8, "clip")), ("clip.has_text_encoder", (7, False)), ("clip.has_vision_encoder", (7, True)),
           ("clip.has_llava_projector", (7, True)), ("clip.projector_type", (8, "mlp")), ("clip.vision.image_size", (4, S)),
           ("clip.vision.patch_size", (4, P)), ("clip.vision.embedding_length", (4, D)), ("clip.vision.feed_forward_length", (4, F)),
           ("clip.vision.projection_dim", (4, H)), ("clip.vision.attention.head_count", (4, 2)),
           ("clip.vision.attention.layer_norm_epsilon", (6, 1e-5)), ("clip.vision.block_count", (4, 1)),
           ("clip.vision.image_mean", ((9, 6), [0.5, 0.5, 0.5])), ("clip.vision.image_std", ((9, 6), [0.25, 0.25, 0.25])),
           ("clip.use_gelu", (7, True))]
    ts = [("mm.0.weight", [D, H], 1, f16s(D * H, 1)), ("mm.0.bias", [H], 0, f32s(H, 2)), ("mm.2.weight", [H, H], 8, q8_0(H * H, 3)),
          ("mm.2.bias", [H], 0, f32s(H, 4)), ("v.class_embd", [D], 0, f32s(D, 5)),
          ("v.patch_embd.weight", [P, P, 3, D], 1, f16s(P * P * 3 * D, 6)), ("v.position_embd.weight", [D, n_pos], 1, f16s(D * n_pos, 7)),
          ("v.pre_ln.weight", [D], 0, f32s(D, 8)), ("v.pre_ln.bias", [D], 0, f32s(D, 9))]
    p = "v.blk.0."
    for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
        ts += [(p + n + ".weight", [D, D], 1, f16s(D * D, len(ts))), (p + n + ".bias", [D], 0, f32s(D, len(ts)))]
    for n in ("ln1", "ln2"):
        ts += [(p + n + ".weight", [D], 0, f32s(D, len(ts))), (p + n + ".bias", [D], 0, f32s(D, len(ts)))]
    ts += [(p + "ffn_down.weight", [D, F], 1, f16s(D * F, 30)), (p + "ffn_down.bias", [F], 0, f32s(F, 31)),
           (p + "ffn_up.weight", [F, D], 1, f16s(F * D, 32)), (p + "ffn_up.bias", [D], 0, f32s(D, 33))]
    return gguf_file(kvs, ts)


def ggufs():
    for f in sorted(os.listdir(os.path.join(FX, "gguf"))):
        if f.endswith(".gguf") and (f.startswith("bad_") or f in ("meta.gguf", "quants.gguf")):
            put("gguf", f[:-5], read("gguf/" + f))
    text, mm = gguf_mini_text(), gguf_mini_mmproj()
    put("gguf", "mini_text", text)
    put("gguf", "mini_pair", text + CUT + mm)
    put("gguf", "mini_pair_ldp", text + CUT + read("gguf/bad_mmproj_ldp.gguf"))


# --- GGUF tokenizers: the fixtures' (metadata only) trimmed to their first tokens and the merges among
# them, and the miniature model's SentencePiece vocabulary; CUT, then a text to encode
def gguf_read_kvs(b):
    """the metadata of a GGUF file without tensors: [(key, (type, value))] as gguf_val takes them"""
    sizes = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
    pos = [24]

    def take(fmt):
        v = struct.unpack_from(fmt, b, pos[0])[0]
        pos[0] += struct.calcsize(fmt)
        return v

    def string():
        n = take("<Q")
        pos[0] += n
        return b[pos[0] - n:pos[0]].decode("utf-8", "surrogateescape")

    def value(t):
        return string() if t == 8 else take(sizes[t])

    assert b[:4] == b"GGUF" and struct.unpack_from("<Q", b, 8)[0] == 0
    kvs = []
    for _ in range(struct.unpack_from("<Q", b, 16)[0]):
        k, t = string(), take("<I")
        if t == 9:
            at, n = take("<I"), take("<Q")
            kvs.append((k, ((9, at), [value(at) for _ in range(n)])))
        else:
            kvs.append((k, (t, value(t))))
    return kvs


def gguftoks():
    text = "Hello  world!\n<|im_start|>user caf\u00e9 \u4e2d\u6587 \U0001F600 12345 don't\t\tx".encode()
    for name in ("bl_gpt2", "bl_llama3", "bl_qwen2", "smollm"):
        kvs, keep = dict(gguf_read_kvs(read(f"gguftok/{name}.gguf"))), 300
        toks = kvs["tokenizer.ggml.tokens"][1][:keep]
        have = set(toks)
        kvs["tokenizer.ggml.tokens"] = ((9, 8), toks)
        kvs["tokenizer.ggml.token_type"] = ((9, 5), kvs["tokenizer.ggml.token_type"][1][:keep])
        kvs["tokenizer.ggml.merges"] = ((9, 8), [m for m in kvs["tokenizer.ggml.merges"][1]
                                                 if all(x in have for x in m.split(" ", 1)) and m.replace(" ", "", 1) in have][:80])
        for k in ("tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"):
            if k in kvs and kvs[k][1] >= keep:
                kvs[k] = (4, keep - 1)
        put("gguftok", name, gguf_file(list(kvs.items()), []) + CUT + text)
    put("gguftok", "mini_spm", gguf_mini_text() + CUT + text)


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
    ggufs()
    gguftoks()
    for h in sorted(os.listdir(OUT)):
        d = os.path.join(OUT, h)
        print(f"{h}: {len(os.listdir(d))} files, {sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))} bytes")


if __name__ == "__main__":
    main()
