"""Converts the tiny llava-hf model of tests/fixtures/models/tiny_f16_sharded to GGUF with llama.cpp's own
converter scripts and writes the results to tests/fixtures/gguf_llamacpp (tests/test_gguf.c t_llamacpp
checks that llava.h runs them exactly as the safetensors model).

usage: python tools/py/make_llamacpp_gguf_fixtures.py LLAMA_CPP
       (from the repository root)

LLAMA_CPP is a llama.cpp source tree, or an unpacked llama-cpp-python source distribution (its
vendor/llama.cpp is used), or that distribution's .tar.gz. Nothing is downloaded: get one first, e.g.
  pip download --no-deps --no-binary :all: llama-cpp-python
The scripts run with this Python and llama.cpp's own gguf-py first on PYTHONPATH. They need torch,
numpy, safetensors, sentencepiece, tokenizers and transformers 4.x (llama.cpp's requirements pin
4.57.6; convert_image_encoder_to_gguf.py reads CLIPVisionModel.vision_model, which transformers 5
no longer has).

What is converted, the way llama.cpp documents it:
- the language model: convert_hf_to_gguf.py DIR --outtype f32 / f16 (LlavaForConditionalGeneration
  is converted as its llama text model). The fixture has no tokenizer, so tests/fixtures/tokenizer/
  tiny600 (600 ids, "<image>" = 599, as the model's image_token_index) is copied beside it.
- the image encoder + projector (mmproj): convert_hf_to_gguf.py --mmproj refuses a llava-hf model
  whose vision tower is CLIP (its LlavaVisionModel takes pixtral only); the outcome is recorded in the
  manifest. The documented path for a Hugging Face LLaVA (docs/multimodal/granitevision.md) is used:
  legacy-models/llava_surgery_v2.py -C (vision tower -> llava.clip, projector -> llava.projector), an
  encoder directory with llava.clip as pytorch_model.bin and the vision config as config.json, then
  legacy-models/convert_image_encoder_to_gguf.py --clip-model-is-vision --llava-projector, with the
  model's image mean/std. Written three ways: the config with vision_feature_layer (f16 and --use-f32),
  and without it (the converter then drops the last encoder layer, as for LLaVA-1.5's files).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.getcwd()
MODEL = os.path.join(ROOT, "tests", "fixtures", "models", "tiny_f16_sharded")
TOKENIZER = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "tiny600")
OUT = os.path.join(ROOT, "tests", "fixtures", "gguf_llamacpp")

# texts for the tokenizer check: ASCII, the image placeholder, the vocabulary's CJK / kana characters,
# characters outside the vocabulary (byte fallback), runs of spaces, a newline
TEXTS = ["hello world", "USER: <image>\nWhat is shown here? ASSISTANT:", "  two  spaces, then one.",
         "\u3053\u308c\u306f\u65e5\u672c\u8a9e\u306e\u6587\u3002 and \u6211\u5f00\u59cb\u5b66",
         "caf\u00e9 \U0001f600 \u00fcber", "line one\nline two\n", "<s>hi</s>", ""]


def find_llama_cpp(arg, tmp):
    """the llama.cpp source tree and a description of where it came from"""
    src = {"given": os.path.basename(os.path.abspath(arg))}
    if os.path.isfile(arg) and arg.endswith((".tar.gz", ".tgz")):
        src["sha256"] = sha256(arg)
        with tarfile.open(arg) as tf:
            tf.extractall(tmp, filter="data")
        tops = [d for d in os.listdir(tmp) if os.path.isdir(os.path.join(tmp, d))]
        if len(tops) != 1:
            sys.exit("%s: expected one top-level directory" % arg)
        arg = os.path.join(tmp, tops[0])
    root = arg
    if os.path.isfile(os.path.join(arg, "vendor", "llama.cpp", "convert_hf_to_gguf.py")):
        root = os.path.join(arg, "vendor", "llama.cpp")
        # llama-cpp-python: its version and the llama.cpp commit its changelog names for that version
        ver = None
        init = os.path.join(arg, "llama_cpp", "__init__.py")
        if os.path.isfile(init):
            m = re.search(r'__version__\s*=\s*"([^"]+)"', open(init, encoding="utf-8").read())
            ver = m.group(1) if m else None
        src["llama-cpp-python"] = ver
        log = os.path.join(arg, "CHANGELOG.md")
        if ver and os.path.isfile(log):
            text = open(log, encoding="utf-8").read()
            sec = text.split("## [%s]" % ver, 1)
            if len(sec) == 2:
                m = re.search(r"llama\.cpp@([0-9a-f]{7,40})", sec[1].split("\n## [", 1)[0])
                if m:
                    src["llama.cpp commit"] = m.group(1)
    if not os.path.isfile(os.path.join(root, "convert_hf_to_gguf.py")):
        sys.exit("%s: no convert_hf_to_gguf.py (give a llama.cpp tree or a llama-cpp-python sdist)" % arg)
    try:
        # a git checkout (or the sdist's submodule record): the exact commit, if the repository is llama.cpp's own
        rev = subprocess.run(["git", "-C", root, "rev-parse", "--show-toplevel", "HEAD"], capture_output=True, text=True)
        lines = rev.stdout.split()
        if rev.returncode == 0 and len(lines) == 2 and os.path.realpath(lines[0]) == os.path.realpath(root) and \
                re.fullmatch(r"[0-9a-f]{40}", lines[1]):
            src["llama.cpp commit"] = lines[1]
    except OSError:
        pass
    m = re.search(r'^version\s*=\s*"([^"]+)"', open(os.path.join(root, "gguf-py", "pyproject.toml"), encoding="utf-8").read(), re.M)
    src["gguf-py"] = m.group(1) if m else None
    return root, src


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def versions():
    import importlib.metadata as md
    v = {"python": "%d.%d.%d" % sys.version_info[:3]}
    for p in ("torch", "transformers", "tokenizers", "numpy", "safetensors", "sentencepiece"):
        try:
            v[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return v


def run(cmd, cwd, env, log, lc, may_fail=False):
    """runs one converter command; its command line goes to log, llama.cpp's scripts as LLAMA_CPP/...,
    other paths relative to the work directory"""
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    shown = ["python"]
    for c in cmd[1:]:
        if os.path.isabs(c):
            c = "LLAMA_CPP/" + os.path.relpath(c, lc) if c.startswith(lc + os.sep) else os.path.relpath(c, cwd)
        shown.append(c)
    entry = {"command": " ".join(shown), "exit": p.returncode}
    if p.returncode != 0:
        last = [l for l in (p.stderr or p.stdout).strip().splitlines() if l.strip()]
        entry["error"] = last[-1] if last else ""
        if not may_fail:
            sys.stderr.write(p.stdout + p.stderr)
            sys.exit("failed: %s" % entry["command"])
    log.append(entry)
    return p.returncode


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    work = tempfile.mkdtemp(prefix="llamacpp_gguf_")
    try:
        lc, source = find_llama_cpp(sys.argv[1], os.path.join(work, "src"))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(lc, "gguf-py") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        py = sys.executable
        convert = os.path.join(lc, "convert_hf_to_gguf.py")
        legacy = os.path.join(lc, "tools", "mtmd", "legacy-models")
        log = []
        # the llava-hf directory with a tokenizer
        tiny = os.path.join(work, "tiny")
        shutil.copytree(MODEL, tiny)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(TOKENIZER, f), tiny)
        cfg = json.load(open(os.path.join(tiny, "config.json")))
        pre = json.load(open(os.path.join(tiny, "preprocessor_config.json")))
        out = {}
        for t in ("f32", "f16"):
            run([py, convert, tiny, "--outtype", t, "--outfile", os.path.join(work, "tiny-%s.gguf" % t)], work, env, log, lc)
            out["tiny-%s.gguf" % t] = os.path.join(work, "tiny-%s.gguf" % t)
        # the mmproj through convert_hf_to_gguf.py: recorded, refused for a CLIP tower by this version
        rc = run([py, convert, tiny, "--mmproj", "--outtype", "f16", "--outfile", os.path.join(work, "mmproj-hf.gguf")], work, env, log, lc,
                 may_fail=True)
        if rc == 0:
            out["mmproj-convert_hf_to_gguf-f16.gguf"] = os.path.join(work, "mmproj-hf.gguf")
        # llava_surgery_v2.py on a copy: llava.clip + llava.projector (torch.save files)
        surg = os.path.join(work, "surgery")
        shutil.copytree(tiny, surg)
        run([py, os.path.join(legacy, "llava_surgery_v2.py"), "-C", "-m", surg], work, env, log, lc)
        mean = [str(x) for x in pre["image_mean"]]
        std = [str(x) for x in pre["image_std"]]
        for name, with_fl, f32 in (("mmproj-f16.gguf", True, False), ("mmproj-f32.gguf", True, True), ("mmproj-nofl-f16.gguf", False, False)):
            enc = os.path.join(work, "enc_" + name.replace(".gguf", ""))
            os.makedirs(enc)
            shutil.copy(os.path.join(surg, "llava.clip"), os.path.join(enc, "pytorch_model.bin"))
            shutil.copy(os.path.join(surg, "llava.projector"), enc)
            vc = dict(cfg["vision_config"])
            vc["architectures"] = ["CLIPVisionModel"]
            vc["_name_or_path"] = "tiny-clip"
            if with_fl:
                vc["vision_feature_layer"] = cfg["vision_feature_layer"]
            with open(os.path.join(enc, "config.json"), "w") as f:
                json.dump(vc, f, indent=2)
            cmd = [py, os.path.join(legacy, "convert_image_encoder_to_gguf.py"), "-m", enc, "--llava-projector",
                   os.path.join(enc, "llava.projector"), "--output-dir", enc, "--clip-model-is-vision",
                   "--image-mean", *mean, "--image-std", *std]
            if f32:
                cmd.append("--use-f32")
            run(cmd, work, env, log, lc)
            out[name] = os.path.join(enc, "mmproj-model-%s.gguf" % ("f32" if f32 else "f16"))
        # the ids the tokenizer.json gives (tokenizers), with and without the special tokens, and the ids
        # llama.cpp's rules give for the converted vocabulary: tokenizer.ggml.model "llama" without
        # tokenizer.ggml.add_space_prefix is llama-vocab.cpp's SPM with add_space_prefix on, a "\u2581" put
        # before the text and before each text fragment that follows a special token (the legacy LLaMA
        # tokenizer.json: normalizer Prepend("\u2581") + Replace(" ", "\u2581"), no pre-tokenizer). The
        # fixture's Metaspace prepend_scheme "first" does neither, and the converter does not record it.
        # (With single-character pieces and no merges, SentencePiece's merging and BPE agree otherwise.)
        from tokenizers import Tokenizer
        path = os.path.join(TOKENIZER, "tokenizer.json")
        tok = Tokenizer.from_file(path)
        spec = json.load(open(path, encoding="utf-8"))
        assert not spec["model"]["merges"] and all(len(k) == 1 or k.startswith("<") for k in spec["model"]["vocab"]), \
            "the llama.cpp ids below assume single-character pieces"
        spec["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                                   {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
        spec["pre_tokenizer"] = None
        legacy = Tokenizer.from_str(json.dumps(spec))
        toks = [{"text": s, "ids": tok.encode(s, add_special_tokens=True).ids,
                 "ids_plain": tok.encode(s, add_special_tokens=False).ids,
                 "ids_gguf": legacy.encode(s, add_special_tokens=True).ids,
                 "ids_gguf_plain": legacy.encode(s, add_special_tokens=False).ids} for s in TEXTS]
        if os.path.isdir(OUT):
            shutil.rmtree(OUT)
        os.makedirs(OUT)
        files = {}
        for name, path in out.items():
            shutil.copy(path, os.path.join(OUT, name))
            os.chmod(os.path.join(OUT, name), 0o644)
            files[name] = {"bytes": os.path.getsize(path), "sha256": sha256(path)}
        manifest = {
            "model": os.path.relpath(MODEL, ROOT),
            "tokenizer": os.path.relpath(TOKENIZER, ROOT),
            "llama.cpp": source,
            "versions": versions(),
            "commands": log,
            "files": files,
            "tokenize": toks,
            "tokenize_note": "ids / ids_plain: tokenizers on the tokenizer.json, with / without special tokens; "
                             "ids_gguf / ids_gguf_plain: llama.cpp's SPM rules on the converted vocabulary (a space "
                             "prefix at the start and after each special token), which the Metaspace prepend_scheme "
                             "'first' of the tokenizer.json does not have",
            "notes": "tiny-*.gguf: convert_hf_to_gguf.py. mmproj-*.gguf: llava_surgery_v2.py + "
                     "convert_image_encoder_to_gguf.py (a config.json for the vision tower beside llava.clip; "
                     "mmproj-nofl without vision_feature_layer)",
        }
        with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1, ensure_ascii=False)
            f.write("\n")
        for e in log:
            print("%s  (exit %d)%s" % (e["command"], e["exit"], ": " + e["error"] if "error" in e else ""))
        print("wrote %s" % os.path.relpath(OUT, ROOT))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
