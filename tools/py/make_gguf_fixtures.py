"""Writes the GGUF fixtures of tests/test_gguf.c into tests/fixtures/gguf with the `gguf` package
(llama.cpp's gguf-py): a file with every metadata type, hostile variants of it, and (further below) a
tiny LLaVA as llama.cpp's converters write it plus one tensor per quantized type.

usage: python tools/py/make_gguf_fixtures.py   (from the repository root; transformers needs the accelerate
package to read GGUF files)"""
import json
import os
import struct
import sys

import numpy as np
import gguf

OUT = os.path.join("tests", "fixtures", "gguf")


def versions():
    import importlib.metadata as md
    v = {"gguf": md.version("gguf"), "numpy": np.__version__}
    for p in ("torch", "transformers", "safetensors"):
        try:
            v[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return v


def write_meta(path):
    """every metadata value type, nested arrays, and two small tensors"""
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.1)
    w.add_uint64("t.u64", 1 << 40)
    w.add_int64("t.i64", -(1 << 40))
    w.add_float64("t.f64", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "h\u00e9llo")
    w.add_array("t.arr_str", ["a", "", "\u4e2d\u6587"])
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_array("t.arr_f32", [0.5, -1.25])
    w.add_array("t.arr_nested", [[1, 2], [3]])
    w.add_tensor("a", np.arange(6, dtype=np.float32).reshape(2, 3))
    w.add_tensor("b", np.arange(4, dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def walk(data):
    """byte positions in a GGUF file: {key: (key_pos, type_pos, value_pos)}, {tensor: (name_pos, ndim_pos,
    type_pos, offset_pos)}, header positions"""
    pos = 24
    kvs, tensors = {}, {}
    n_t, n_kv = struct.unpack_from("<QQ", data, 8)

    def skip(t, pos):
        sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
        if t in sizes:
            return pos + sizes[t]
        if t == 8:
            (n,) = struct.unpack_from("<Q", data, pos)
            return pos + 8 + n
        et, n = struct.unpack_from("<IQ", data, pos)
        pos += 12
        for _ in range(n):
            pos = skip(et, pos)
        return pos

    for _ in range(n_kv):
        kp = pos
        (n,) = struct.unpack_from("<Q", data, pos)
        key = data[pos + 8:pos + 8 + n].decode()
        pos += 8 + n
        (t,) = struct.unpack_from("<I", data, pos)
        kvs[key] = (kp, pos, pos + 4)
        pos = skip(t, pos + 4)
    for _ in range(n_t):
        np_ = pos
        (n,) = struct.unpack_from("<Q", data, pos)
        name = data[pos + 8:pos + 8 + n].decode()
        pos += 8 + n
        (nd,) = struct.unpack_from("<I", data, pos)
        tp = pos + 4 + 8 * nd
        tensors[name] = (np_, pos, tp, tp + 4)
        pos = tp + 12
    return kvs, tensors


def write_hostile(meta_path):
    """variants of meta.gguf, each broken in one way; tests/test_gguf.c expects each to be refused with
    the message fragment listed in hostile.txt"""
    data = open(meta_path, "rb").read()
    kvs, ts = walk(data)
    cases = []

    def put(name, blob, fragment):
        with open(os.path.join(OUT, "bad_" + name + ".gguf"), "wb") as f:
            f.write(blob)
        cases.append((name, fragment))

    def patch(off, fmt, *vals):
        b = bytearray(data)
        struct.pack_into(fmt, b, off, *vals)
        return bytes(b)

    put("truncated_data", data[:len(data) - 30], "runs past the end")
    put("truncated_meta", data[:kvs["t.str"][2] + 4], "truncated GGUF file")
    put("magic", b"GGUX" + data[4:], "not a GGUF file")
    put("version1", patch(4, "<I", 1), "version 1 is not supported")
    put("big_endian", patch(4, ">I", 3), "big-endian")
    put("offset_past_end", patch(ts["b"][3], "<Q", 1 << 20), "runs past the end")
    put("offset_unaligned", patch(ts["b"][3], "<Q", 40), "not a multiple of the alignment")
    put("overlap", patch(ts["b"][3], "<Q", 0), "overlap")
    put("huge_kv_count", patch(16, "<Q", 1 << 60), "metadata entries")
    put("huge_tensor_count", patch(8, "<Q", 1 << 60), "tensors, more than")
    put("huge_array", patch(kvs["t.arr_i32"][2] + 4, "<Q", 1 << 62), "array elements")
    put("value_type", patch(kvs["t.u8"][1], "<I", 99), "unknown value type")
    put("tensor_type", patch(ts["a"][2], "<I", 99), "unknown ggml type 99")
    put("tensor_type_removed", patch(ts["a"][2], "<I", 4), "unknown ggml type 4")
    put("string_past_end", patch(kvs["t.str"][2], "<Q", 1 << 40), "t.str")
    put("key_past_end", patch(kvs["t.u16"][0], "<Q", 1 << 50), "key")
    put("n_dims", patch(ts["a"][1], "<I", 5), "dimensions")
    put("bool", patch(kvs["t.bool"][2], "<B", 2), "bool")
    b = bytearray(data)
    b[kvs["t.i8"][0] + 8:kvs["t.i8"][0] + 12] = b"t.u8"
    put("duplicate_key", bytes(b), "occurs twice")
    b = bytearray(data)
    nm = ts["b"][0] + 8
    b[nm:nm + 1] = b"a"
    put("duplicate_tensor", bytes(b), "occurs twice")
    # an array of arrays of ... 20 deep
    inner = struct.pack("<IQ", 5, 1) + struct.pack("<i", 7)
    for _ in range(20):
        inner = struct.pack("<IQ", 9, 1) + inner
    # rebuild: header with one kv (the deep array) and no tensors
    body = struct.pack("<Q", 4) + b"deep" + struct.pack("<I", 9) + inner
    put("deep_nesting", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body, "nests arrays")
    # alignment 24 (not a power of two)
    body = struct.pack("<Q", 17) + b"general.alignment" + struct.pack("<II", 4, 24)
    put("alignment", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body, "not a power of two")
    body = struct.pack("<Q", 17) + b"general.alignment" + struct.pack("<IQ", 10, 32)
    put("alignment_type", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body, "not a uint32")
    with open(os.path.join(OUT, "hostile.txt"), "w") as f:
        for name, frag in cases:
            f.write("bad_%s.gguf\t%s\n" % (name, frag))


QUANT_TYPES = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"]
# byte offsets of the f16 scale fields in each block (ggml-common.h): set to finite values so that no
# NaN (whose payload numpy and C may carry differently) enters the expected values
F16_FIELDS = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0], "Q4_K": [0, 2], "Q5_K": [0, 2],
              "Q6_K": [208]}


def write_quants(rng):
    """quants.gguf: per type, a tensor of random blocks (every bit pattern of the quants, finite scales)
    and, for the types gguf can quantize, random normal data quantized by gguf.quants.quantize; the
    expected f32 values from gguf.quants.dequantize in quants_expected.safetensors (same names)"""
    from safetensors.numpy import save_file
    w = gguf.GGUFWriter(os.path.join(OUT, "quants.gguf"), arch="llama")
    expected = {}
    rows, cols = 3, 512
    for name in QUANT_TYPES:
        qt = gguf.GGMLQuantizationType[name]
        block, tsize = gguf.GGML_QUANT_SIZES[qt]
        if name in ("F16", "BF16"):
            data = rng.standard_normal((rows, cols)).astype(np.float32)
            data[0, :4] = [0.0, -0.0, 1e-30, 65504.0]
            raw = gguf.quants.quantize(data, qt)
            w.add_tensor(name, raw, raw_dtype=qt)
            expected[name] = gguf.quants.dequantize(raw, qt).astype(np.float32)
            continue
        raw = rng.integers(0, 256, size=(rows, cols // block, tsize), dtype=np.uint8)
        for off in F16_FIELDS[name]:
            scales = (rng.standard_normal((rows, cols // block)) * 0.05).astype(np.float16)
            scales[0, 0] = np.float16(6e-8)  # a subnormal
            scales[0, 1] = np.float16(-0.0)
            raw[:, :, off:off + 2] = scales.view(np.uint8).reshape(rows, cols // block, 2)
        raw = raw.reshape(rows, cols // block * tsize)
        w.add_tensor(name + ".random", raw, raw_dtype=qt)
        expected[name + ".random"] = gguf.quants.dequantize(raw, qt).astype(np.float32)
        try:
            data = rng.standard_normal((rows, cols)).astype(np.float32)
            q = gguf.quants.quantize(data, qt)
        except NotImplementedError:
            continue
        w.add_tensor(name + ".normal", q, raw_dtype=qt)
        expected[name + ".normal"] = gguf.quants.dequantize(q, qt).astype(np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    path = os.path.join(OUT, "quants_expected.safetensors")
    save_file({k: np.ascontiguousarray(v) for k, v in expected.items()}, path)  # versions: versions.json
    os.chmod(path, 0o644)


MODEL = os.path.join("tests", "fixtures", "models", "tiny_f16_sharded")


def load_model():
    from safetensors.numpy import load_file
    cfg = json.load(open(os.path.join(MODEL, "config.json")))
    pre = json.load(open(os.path.join(MODEL, "preprocessor_config.json")))
    idx = json.load(open(os.path.join(MODEL, "model.safetensors.index.json")))
    sd = {}
    for f in sorted(set(idx["weight_map"].values())):
        sd.update(load_file(os.path.join(MODEL, f)))
    return cfg, pre, sd


def permute(w, n_head, n_head_kv):
    """convert_hf_to_gguf.py LlamaModel.permute: rows of each head interleaved (the rotary halves)"""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def add(w, name, data):
    """the converters' storage types: matrices (and 4-D) F16, vectors F32"""
    data = np.ascontiguousarray(data.astype(np.float16 if data.ndim >= 2 else np.float32))
    w.add_tensor(name, data)


def write_text(cfg, sd, path, tokens=True):
    """the language model as convert_hf_to_gguf.py writes a llava-hf model's LlamaForCausalLM (F16):
    llama.* hyperparameters, a tokenizer vocabulary, q/k rows permuted"""
    tc = cfg["text_config"]
    H, KVH, L = tc["num_attention_heads"], tc["num_key_value_heads"], tc["num_hidden_layers"]
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_name("tiny llava text model")
    w.add_context_length(tc["max_position_embeddings"])
    w.add_embedding_length(tc["hidden_size"])
    w.add_block_count(L)
    w.add_feed_forward_length(tc["intermediate_size"])
    w.add_rope_dimension_count(tc["head_dim"])
    w.add_head_count(H)
    w.add_head_count_kv(KVH)
    w.add_rope_freq_base(tc.get("rope_theta", tc.get("rope_parameters", {}).get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(tc["rms_norm_eps"])
    w.add_key_length(tc["head_dim"])
    w.add_value_length(tc["head_dim"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_vocab_size(tc["vocab_size"])
    if tokens:
        # a stand-in vocabulary (the fixture model has no tokenizer): the special tokens and "<image>"
        # where the model's image_token_index says
        V = tc["vocab_size"]
        toks = ["<unk>", "<s>", "</s>"] + ["t%d" % i for i in range(3, V)]
        toks[cfg["image_token_index"]] = "<image>"
        w.add_tokenizer_model("llama")
        w.add_token_list(toks)
        w.add_token_scores([0.0] * V)
        w.add_token_types([2, 3, 3] + [1] * (V - 3))
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
    p = "language_model.model."
    add(w, "token_embd.weight", sd[p + "embed_tokens.weight"])
    for l in range(L):
        q = p + "layers.%d." % l
        b = "blk.%d." % l
        add(w, b + "attn_norm.weight", sd[q + "input_layernorm.weight"])
        add(w, b + "attn_q.weight", permute(sd[q + "self_attn.q_proj.weight"], H, H))
        add(w, b + "attn_k.weight", permute(sd[q + "self_attn.k_proj.weight"], H, KVH))
        add(w, b + "attn_v.weight", sd[q + "self_attn.v_proj.weight"])
        add(w, b + "attn_output.weight", sd[q + "self_attn.o_proj.weight"])
        add(w, b + "ffn_norm.weight", sd[q + "post_attention_layernorm.weight"])
        add(w, b + "ffn_gate.weight", sd[q + "mlp.gate_proj.weight"])
        add(w, b + "ffn_up.weight", sd[q + "mlp.up_proj.weight"])
        add(w, b + "ffn_down.weight", sd[q + "mlp.down_proj.weight"])
    add(w, "output_norm.weight", sd[p + "norm.weight"])
    if "language_model.lm_head.weight" in sd:
        add(w, "output.weight", sd["language_model.lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_mmproj(cfg, pre, sd, path, legacy):
    """the image encoder as llama.cpp's LLaVA tools write it (llava_surgery_v2.py +
    convert_image_encoder_to_gguf.py). legacy: that converter's LLaVA-1.5 files, the last encoder layer
    dropped (block_count = layers - 1, no feature_layer key) and fc1 / fc2 named ffn_down / ffn_up; else
    every layer kept with clip.vision.feature_layer (hidden_states index) and gguf-py's ffn_up = fc1"""
    vc = cfg["vision_config"]
    n = vc["num_hidden_layers"]
    fl = cfg["vision_feature_layer"]
    fl = fl if fl >= 0 else n + fl + 1
    blocks = n - 1 if legacy else n
    w = gguf.GGUFWriter(path, arch="clip")
    w.add_bool("clip.has_text_encoder", False)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_llava_projector", True)
    w.add_file_type(1)
    w.add_name("tiny llava image encoder")
    w.add_description("image encoder for LLaVA")
    w.add_string("clip.projector_type", "mlp")
    w.add_uint32("clip.vision.image_size", vc["image_size"])
    w.add_uint32("clip.vision.patch_size", vc["patch_size"])
    w.add_uint32("clip.vision.embedding_length", vc["hidden_size"])
    w.add_uint32("clip.vision.feed_forward_length", vc["intermediate_size"])
    w.add_uint32("clip.vision.projection_dim", vc.get("projection_dim", 512))
    w.add_uint32("clip.vision.attention.head_count", vc["num_attention_heads"])
    w.add_float32("clip.vision.attention.layer_norm_epsilon", vc["layer_norm_eps"])
    w.add_uint32("clip.vision.block_count", blocks)
    if not legacy:
        w.add_array("clip.vision.feature_layer", [fl])
    w.add_array("clip.vision.image_mean", pre["image_mean"])
    w.add_array("clip.vision.image_std", pre["image_std"])
    w.add_bool("clip.use_gelu", vc["hidden_act"] == "gelu")
    for i, hf in ((0, "linear_1"), (2, "linear_2")):
        for leaf in ("weight", "bias"):
            k = "multi_modal_projector.%s.%s" % (hf, leaf)
            if k in sd:
                add(w, "mm.%d.%s" % (i, leaf), sd[k])
    p = "vision_tower.vision_model."
    add(w, "v.class_embd", sd[p + "embeddings.class_embedding"])
    add(w, "v.patch_embd.weight", sd[p + "embeddings.patch_embedding.weight"])
    add(w, "v.position_embd.weight", sd[p + "embeddings.position_embedding.weight"])
    add(w, "v.pre_ln.weight", sd[p + "pre_layrnorm.weight"])
    add(w, "v.pre_ln.bias", sd[p + "pre_layrnorm.bias"])
    up, down = ("ffn_down", "ffn_up") if legacy else ("ffn_up", "ffn_down")
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.out_proj": "attn_out", "layer_norm1": "ln1", "layer_norm2": "ln2", "mlp.fc1": up, "mlp.fc2": down}
    for l in range(blocks):
        for hf, g in names.items():
            for leaf in ("weight", "bias"):
                add(w, "v.blk.%d.%s.%s" % (l, g, leaf), sd[p + "encoder.layers.%d.%s.%s" % (l, hf, leaf)])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_quant_text(rng):
    """tiny-quant.gguf: a small random llama (1 layer, width 256 so that every type's block fits a row)
    with a different quantized type per matrix (q Q4_K and k Q5_K: permuted rows in quantized blocks),
    and the logits transformers computes on it through its own GGUF loading (tiny-quant.json: the ids,
    tiny-quant-logits.f32: float32 [positions][vocab]). K-quant blocks are random (gguf cannot quantize
    to them) with scales that keep the weights small; the others quantize random normal matrices."""
    C, H, KVH, I, V = 256, 4, 2, 256, 64
    Dh = C // H
    path = os.path.join(OUT, "tiny-quant.gguf")
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_name("tiny quantized llama")
    w.add_context_length(64)
    w.add_embedding_length(C)
    w.add_block_count(1)
    w.add_feed_forward_length(I)
    w.add_rope_dimension_count(Dh)
    w.add_head_count(H)
    w.add_head_count_kv(KVH)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    w.add_vocab_size(V)
    w.add_tokenizer_model("llama")
    w.add_token_list(["<unk>", "<s>", "</s>"] + ["t%d" % i for i in range(3, V)])
    w.add_token_scores([0.0] * V)
    w.add_token_types([2, 3, 3] + [1] * (V - 3))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    # scale-field offsets and magnitudes for the random K-quant blocks (weights of about 0.05)
    kq = {"Q4_K": ([0, 2], 5e-5), "Q5_K": ([0, 2], 2.5e-5), "Q6_K": ([208], 1.2e-5)}

    def mat(name, rows, cols, qtype, perm=None):
        qt = gguf.GGMLQuantizationType[qtype]
        if qtype in kq:
            block, tsize = gguf.GGML_QUANT_SIZES[qt]
            raw = rng.integers(0, 256, size=(rows, cols // block, tsize), dtype=np.uint8)
            offs, mag = kq[qtype]
            for off in offs:
                sc = (np.abs(rng.standard_normal((rows, cols // block))) * mag).astype(np.float16)
                raw[:, :, off:off + 2] = sc.view(np.uint8).reshape(rows, cols // block, 2)
            raw = raw.reshape(rows, -1)
        else:
            data = (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)
            if perm:
                data = permute(data, H, perm)
            raw = gguf.quants.quantize(data, qt)
        w.add_tensor(name, raw, raw_dtype=qt)

    mat("token_embd.weight", V, C, "Q5_1")
    w.add_tensor("blk.0.attn_norm.weight", (1 + 0.1 * rng.standard_normal(C)).astype(np.float32))
    mat("blk.0.attn_q.weight", H * Dh, C, "Q4_K")
    mat("blk.0.attn_k.weight", KVH * Dh, C, "Q5_K")
    mat("blk.0.attn_v.weight", KVH * Dh, C, "Q6_K")
    mat("blk.0.attn_output.weight", C, H * Dh, "Q8_0")
    w.add_tensor("blk.0.ffn_norm.weight", (1 + 0.1 * rng.standard_normal(C)).astype(np.float32))
    mat("blk.0.ffn_gate.weight", I, C, "Q4_0")
    mat("blk.0.ffn_up.weight", I, C, "Q5_0")
    mat("blk.0.ffn_down.weight", C, I, "Q4_1")
    w.add_tensor("output_norm.weight", (1 + 0.1 * rng.standard_normal(C)).astype(np.float32))
    mat("output.weight", V, C, "Q8_0")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    # transformers' reading of the same file
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(OUT, gguf_file="tiny-quant.gguf", dtype=torch.float32)
    model.eval()
    ids = [1, 17, 5, 63, 40, 2, 9, 33, 12, 50]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float().numpy()
    assert logits.shape == (len(ids), V)
    logits.astype("<f4").tofile(os.path.join(OUT, "tiny-quant-logits.f32"))
    with open(os.path.join(OUT, "tiny-quant.json"), "w") as f:
        json.dump({"ids": ids, "vocab": V, "versions": versions()}, f, indent=1)
        f.write("\n")


def write_bad_models():
    """model files this loader refuses by name: an mmproj with another projector, a text model with a
    type it cannot convert (IQ2_XXS)"""
    w = gguf.GGUFWriter(os.path.join(OUT, "bad_mmproj_ldp.gguf"), arch="clip")
    w.add_bool("clip.has_vision_encoder", True)
    w.add_string("clip.projector_type", "ldp")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    w = gguf.GGUFWriter(os.path.join(OUT, "bad_text_iq2.gguf"), arch="llama")
    for k, v in (("embedding_length", 256), ("block_count", 1), ("feed_forward_length", 256), ("attention.head_count", 4)):
        w.add_uint32("llama." + k, v)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    qt = gguf.GGMLQuantizationType.IQ2_XXS
    w.add_tensor("token_embd.weight", np.zeros((2, gguf.GGML_QUANT_SIZES[qt][1]), dtype=np.uint8), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    write_meta(os.path.join(OUT, "meta.gguf"))
    write_hostile(os.path.join(OUT, "meta.gguf"))
    write_quants(np.random.default_rng(1234))
    cfg, pre, sd = load_model()
    write_text(cfg, sd, os.path.join(OUT, "tiny-f16.gguf"))
    write_mmproj(cfg, pre, sd, os.path.join(OUT, "tiny-mmproj-f16.gguf"), legacy=True)
    write_mmproj(cfg, pre, sd, os.path.join(OUT, "tiny-mmproj-f16-new.gguf"), legacy=False)
    write_quant_text(np.random.default_rng(99))
    write_bad_models()
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(versions(), f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
