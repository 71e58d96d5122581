"""Writes the GGUF fixtures of tests/test_gguf.c into tests/fixtures/gguf with the `gguf` package
(llama.cpp's gguf-py): a file with every metadata type, hostile variants of it, and (further below) a
tiny LLaVA as llama.cpp's converters write it plus one tensor per quantized type.

usage: python tools/py/make_gguf_fixtures.py   (from the repository root)"""
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
    save_file({k: np.ascontiguousarray(v) for k, v in expected.items()}, path, metadata={k: str(v) for k, v in versions().items()})
    os.chmod(path, 0o644)


def main():
    os.makedirs(OUT, exist_ok=True)
    write_meta(os.path.join(OUT, "meta.gguf"))
    write_hostile(os.path.join(OUT, "meta.gguf"))
    write_quants(np.random.default_rng(1234))
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(versions(), f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
