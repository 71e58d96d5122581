"""PyTorch .bin fixtures for tests/test_pickle.c, written to tests/fixtures/bin/:

  tiny_orig_mlp/    the original-layout tiny model of tests/fixtures/models/tiny_orig_mlp, saved with
                    torch.save in 2 shards + pytorch_model.bin.index.json (one shard an OrderedDict with
                    state_dict()'s _metadata, a transposed (non-contiguous) tensor, three tensors sharing
                    one storage at offsets, a Parameter); its clip/ tower as one pytorch_model.bin
                    repacked with ZIP64 records. The safetensors twin is tests/fixtures/models/tiny_orig_mlp.
  mm_projector.bin  a stage-1 projector as LLaVA's train.py saves it (fresh weights, seeded), and the same
  mm_projector.safetensors  weights in safetensors; mm_projector_bad_shape.bin with a wrong width
  ok/               small valid files: protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL), a nested {"state_dict": ...}
  bad/              hostile files: each must be refused with the words manifest.json lists
  manifest.json     the package versions, the test prompt, and the expectations

usage: python tools/py/make_bin_fixtures.py   (torch, safetensors; run from the repository root)
"""
import collections
import io
import json
import shutil
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
OUT = FIX / "bin"


def zip_write(entries, zip64=False):
    """A zip archive of (name, bytes, method) entries, data aligned to 64 bytes as torch.save does;
    zip64 forces ZIP64 extra fields and end records (as a > 4 GB shard has them)."""
    out, cd = bytearray(), bytearray()
    for name, data, method in entries:
        nb = name.encode()
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp = c.compress(data) + c.flush()
        else:
            comp = data
        crc = zlib.crc32(data)
        off = len(out)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(comp)) if zip64 else b""
        pad = (-(off + 30 + len(nb) + len(extra))) % 64
        if pad:
            pad = pad if pad >= 4 else pad + 64
            extra += struct.pack("<HH", 0x4650, pad - 4) + b"Z" * (pad - 4)
        big = 0xFFFFFFFF
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0, method, 0, 0x21, crc,
                           big if zip64 else len(comp), big if zip64 else len(data), len(nb), len(extra))
        out += nb + extra + comp
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(comp), off) if zip64 else b""
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45 if zip64 else 20, 0, method, 0, 0x21, crc,
                          big if zip64 else len(comp), big if zip64 else len(data), len(nb), len(cextra), 0, 0, 0, 0,
                          big if zip64 else off)
        cd += nb + cextra
    cd_off = len(out)
    out += cd
    n = len(entries)
    if zip64:
        z = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(cd), cd_off)
        out += struct.pack("<IIQI", 0x07064B50, 0, z, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), cd_off, 0)
    return bytes(out)


def torch_bytes(obj, **kw):
    b = io.BytesIO()
    torch.save(obj, b, **kw)
    return b.getvalue()


def entries_of(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    return [(i.filename, z.read(i.filename), 0) for i in z.infolist()]


def archive(pkl, storages=(), arch="archive", byteorder=b"little", method=0):
    """a torch-style archive around a hand-written data.pkl; storages: (key, bytes)"""
    e = [(f"{arch}/data.pkl", pkl, method), (f"{arch}/byteorder", byteorder, 0)]
    e += [(f"{arch}/data/{k}", v, 0) for k, v in storages]
    e += [(f"{arch}/version", b"3\n", 0)]
    return zip_write(e)


# hand-written protocol-2 pickles (opcodes as pickletools names them)
def u(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def i1(v):
    return b"K" + bytes([v])


def ij(v):
    return b"J" + struct.pack("<i", v)


def long1(v):
    b = v.to_bytes(8, "little", signed=True)
    return b"\x8a\x08" + b


def tup(*xs):
    return b"(" + b"".join(xs) + b"t"


def tensor(key, numel, offset, size, stride, stype="FloatStorage"):
    pid = tup(u("storage"), b"ctorch\n" + stype.encode() + b"\n", u(key), u("cpu"), ij(numel))
    return (b"ctorch._utils\n_rebuild_tensor_v2\n" + b"(" + pid + b"Q" + ij(offset) + tup(*[x if isinstance(x, bytes) else ij(x) for x in size])
            + tup(*[x if isinstance(x, bytes) else ij(x) for x in stride]) + b"\x89" + b"ccollections\nOrderedDict\n)R" + b"tR")


def state(*items):
    return b"\x80\x02}(" + b"".join(u(k) + v for k, v in items) + b"u."


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    torch.manual_seed(0)
    src = FIX / "models" / "tiny_orig_mlp"
    sd = load_file(str(src / "model.safetensors"))
    keys = sorted(sd)
    dst = OUT / "tiny_orig_mlp"
    dst.mkdir()
    shutil.copy(src / "config.json", dst / "config.json")
    # shard 1: an OrderedDict with _metadata (torch pickles it with BUILD), a Parameter
    half = len(keys) // 2
    s1 = collections.OrderedDict((k, sd[k].clone()) for k in keys[:half])
    s1._metadata = collections.OrderedDict([("", {"version": 1})])
    for k in s1:
        if k.endswith("layers.0.input_layernorm.weight"):
            s1[k] = torch.nn.Parameter(s1[k], requires_grad=False)
    # shard 2: a transposed copy (non-contiguous), q/k/v of layer 1 views into one storage
    s2 = {k: sd[k].clone() for k in keys[half:]}
    if "lm_head.weight" in s2:
        w = s2["lm_head.weight"]
        s2["lm_head.weight"] = torch.empty(w.shape[1], w.shape[0]).t().copy_(w)
    qkv = [f"model.layers.1.self_attn.{p}_proj.weight" for p in "qkv"]
    assert all(k in s2 for k in qkv), "q/k/v of layer 1 should sit in shard 2"
    flat = torch.cat([s2[k].flatten() for k in qkv])
    o = 0
    for k in qkv:
        n = s2[k].numel()
        s2[k] = flat[o:o + n].view(s2[k].shape)
        o += n
    names = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"]
    torch.save(s1, dst / names[0])
    torch.save(s2, dst / names[1])
    wm = {k: names[0] for k in s1}
    wm.update({k: names[1] for k in s2})
    total = sum(t.numel() * t.element_size() for t in sd.values())
    (dst / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": wm}, indent=2))
    # the tower: one pytorch_model.bin repacked with ZIP64 records
    (dst / "clip").mkdir()
    for f in ("config.json", "preprocessor_config.json"):
        shutil.copy(src / "clip" / f, dst / "clip" / f)
    vis = load_file(str(src / "clip" / "model.safetensors"))
    (dst / "clip" / "pytorch_model.bin").write_bytes(zip_write(entries_of(torch_bytes(vis)), zip64=True))
    # what torch reads back is the twin, exactly
    back = {}
    for nm in names:
        back.update(torch.load(dst / nm, weights_only=True))
    assert sorted(back) == keys and all(torch.equal(back[k], sd[k]) for k in keys)
    vb = torch.load(dst / "clip" / "pytorch_model.bin", weights_only=True)
    assert sorted(vb) == sorted(vis) and all(torch.equal(vb[k], vis[k]) for k in vis)
    assert zipfile.ZipFile(dst / "clip" / "pytorch_model.bin").testzip() is None

    # a stage-1 projector as LLaVA's train.py saves it (get_mm_adapter_state_maybe_zero_3 -> torch.save)
    g = torch.Generator().manual_seed(1234)
    proj = {}
    for k in sorted(k for k in keys if "mm_projector" in k):
        proj[k] = (torch.randn(sd[k].shape, generator=g) * 0.2).float()
    torch.save(proj, OUT / "mm_projector.bin")
    save_file(proj, str(OUT / "mm_projector.safetensors"))
    badp = dict(proj)
    badp["model.mm_projector.0.weight"] = torch.zeros(48, 16)
    torch.save(badp, OUT / "mm_projector_bad_shape.bin")

    # small valid files
    (OUT / "ok").mkdir()
    ar = torch.arange(12, dtype=torch.float32)
    torch.save({"w": ar.view(3, 4), "h": ar.to(torch.float16)[:5], "i": torch.arange(3)}, OUT / "ok" / "proto4.bin", pickle_protocol=4)
    torch.save({"state_dict": {"w": ar.view(3, 4).t()}, "epoch": 3, "lr": 0.5}, OUT / "ok" / "nested.bin")
    ok = {"proto4.bin": {"w": [[3, 4], ar.tolist()], "h": [[5], ar[:5].tolist()]},
          "nested.bin": {"w": [[4, 3], ar.view(3, 4).t().flatten().tolist()]}}

    # hostile files: (name, bytes, words the error must contain)
    good = torch_bytes({"w": ar})
    bad = [
        ("os_system.bin", archive(b"\x80\x02cos\nsystem\n" + u("echo hi") + b"\x85R."), "global 'os.system' is not allowed"),
        ("eval_reduce.bin", archive(b"\x80\x02cbuiltins\neval\n" + u("1+1") + b"\x85R."), "global 'builtins.eval' is not allowed"),
        ("stack_global.bin", archive(b"\x80\x04" + b"\x8c\x05posix\x8c\x06system\x93."), "global 'posix.system' is not allowed"),
        ("reduce_storage.bin", archive(b"\x80\x02ctorch\nFloatStorage\n)R."), "REDUCE of torch.FloatStorage is not allowed"),
        ("nesting.bin", archive(b"\x80\x02" + b"]" * 100 + b"a" * 99 + b"."), "nesting deeper than 64"),
        ("stack.bin", archive(b"\x80\x02" + b"]" * 40000 + b"."), "stack deeper than 32768"),
        ("memo_self.bin", archive(b"\x80\x02]q\x00h\x00a."), "put inside itself"),
        ("memo_loop.bin", archive(b"\x80\x02]q\x00]q\x01ah\x01h\x00a."), "modified after being placed"),
        ("memo_unset.bin", archive(b"\x80\x02]q\x00h\x05."), "memo slot 5 was never set"),
        ("memo_order.bin", archive(b"\x80\x02]r\x00\x00\x00\x01."), "memo index 16777216 out of order"),
        ("offset_past_end.bin", archive(state(("w", tensor("0", 6, 4, [3], [1]))), [("0", b"\0" * 24)]), "runs past its FloatStorage of 6 elements"),
        ("stride_past_end.bin", archive(state(("w", tensor("0", 6, 0, [2, 3], [3, 2]))), [("0", b"\0" * 24)]), "runs past its FloatStorage"),
        ("numel_mismatch.bin", archive(state(("w", tensor("0", 10, 0, [10], [1]))), [("0", b"\0" * 24)]), "needs 40 bytes but its data entry holds 24"),
        ("missing_key.bin", archive(state(("w", tensor("7", 6, 0, [6], [1]))), [("0", b"\0" * 24)]), "storage key '7' has no data entry"),
        ("size_overflow.bin", archive(state(("w", tensor("0", 6, 0, [long1(1 << 40)] * 3, [0, 0, 0]))), [("0", b"\0" * 24)]), "tensor size overflows"),
        ("broadcast.bin", archive(state(("w", tensor("0", 6, 0, [1000000, 6], [0, 1]))), [("0", b"\0" * 24)]), "broadcast view"),
        ("unknown_opcode.bin", archive(b"\x80\x02(i__main__\nX\n."), "pickle opcode 'i' (0x69) is not supported"),
        ("truncated_pkl.bin", archive(state(("w", tensor("0", 6, 0, [6], [1])))[:40], [("0", b"\0" * 24)]), "truncated"),
        ("not_dict.bin", archive(b"\x80\x02]."), "holds a list, not a state dict"),
        ("bigendian.bin", archive(state(("w", tensor("0", 6, 0, [6], [1]))), [("0", b"\0" * 24)], byteorder=b"big"), "only little-endian"),
        ("deflate.bin", archive(state(("w", tensor("0", 6, 0, [6], [1]))), [("0", b"\0" * 24)], method=8), "is compressed (method 8)"),
        ("zip_bomb.bin", zip_write([("archive/data.pkl", b"\x80\x02}.", 0), ("archive/data/0", b"\0" * (8 << 20), 8)]), "is compressed (method 8)"),
        ("truncated.bin", good[: len(good) // 2], "no end-of-central-directory record"),
        ("legacy.bin", torch_bytes({"w": ar}, _use_new_zipfile_serialization=False), "legacy torch.save format"),
        ("no_zip64_locator.bin", zip_write([("a/data.pkl", b"\x80\x02}.", 0)])[:-22] + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0), "no ZIP64 locator"),
        ("no_pkl.bin", zip_write([("a/other", b"x", 0)]), "without <archive>/data.pkl"),
    ]
    # an entry whose size runs past the end of the file: the central directory claims 1 GB
    z = bytearray(zip_write([("a/data.pkl", b"\x80\x02}.", 0)]))
    cdo = struct.unpack("<I", z[-6:-2])[0]
    struct.pack_into("<II", z, cdo + 20, 1 << 30, 1 << 30)
    bad.append(("entry_past_end.bin", bytes(z), "runs past the end of the file"))
    (OUT / "bad").mkdir()
    for name, data, _ in bad:
        (OUT / "bad" / name).write_bytes(data)
        if name in ("os_system.bin", "eval_reduce.bin", "reduce_storage.bin", "offset_past_end.bin"):
            try:  # torch refuses these too (weights_only; a big-endian file it would byte-swap)
                torch.load(OUT / "bad" / name, weights_only=True)
                raise SystemExit(f"torch.load accepted {name}")
            except SystemExit:
                raise
            except Exception:
                pass

    import safetensors
    manifest = {
        "versions": {"torch": torch.__version__, "safetensors": safetensors.__version__, "python": sys.version.split()[0]},
        "twin": "models/tiny_orig_mlp",
        "case": "tiny_orig_mlp_img",
        "ok": ok,
        "bad": [{"file": "bad/" + n, "expect": e} for n, _, e in bad],
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print("wrote", OUT, sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file()), "bytes")


if __name__ == "__main__":
    main()
