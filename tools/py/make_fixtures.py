#!/usr/bin/env python3
"""Generate the reference fixtures for llava.h (tests/fixtures/).

What it makes (all paths below are relative to tests/fixtures/):
  models/<name>/      six tiny random LLaVA checkpoints in different on-disk layouts
                      (transformers 4.x keys, 5.x keys, in-memory names in BF16,
                      F16 sharded, and two original haotian-liu/LLaVA layouts)
  cases/<case>.*      random token ids / pixels, float32 logits of every prompt
                      position, and a 32-token greedy continuation per case
  images/             small deterministic test images (PNG/JPEG/BMP/GIF, plus a
                      corrupt PNG and a non-image)
  preprocess/         CLIPImageProcessor (PIL backend) outputs for every image,
                      for modes "crop" and "pad" (LLaVA-1.5 expand2square) and
                      sizes 32 and 40, plus the decoded RGB bytes of every image
  manifest.json       describes everything above, package versions and notes

Run from any directory (paths are found from this file; needs torch, transformers, safetensors, numpy, pillow):
    python3 tools/py/make_fixtures.py
The output is deterministic: fixed seeds, single-threaded torch, and the
directories it owns under tests/fixtures/ are deleted and rewritten each run.
"""

import json
import math
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import PIL
import safetensors
import torch
import transformers
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    CLIPVisionModel,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
)
from transformers.utils import logging as hf_logging

ROOT = Path(__file__).resolve().parent.parent.parent
FIX = ROOT / "tests" / "fixtures"

OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGE_TOKEN = 599           # image_token_index of every tiny model (vocab 600)
ORIG_PLACEHOLDER = -200     # IMAGE_TOKEN_INDEX of haotian-liu/LLaVA
VOCAB = 600
N_GREEDY = 32
MARGIN_TARGET = 1e-2        # seed search wants every greedy top1-top2 margin above this
MARGIN_FLOOR = 1e-3         # hard requirement
MIN_DISTINCT = 6            # seed search also wants a greedy continuation that is not one repeated token

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------

def rel(p):
    return Path(p).relative_to(FIX).as_posix()


def write_json(path, obj):
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def save_st(path, tensors):
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})


def write_f32(path, arr):
    np.ascontiguousarray(arr, dtype="<f4").tofile(str(path))


def preprocessor_config(style, size):
    if style == "old":   # as in openai/clip-vit-large-patch14-336
        return {
            "crop_size": size,
            "do_center_crop": True,
            "do_normalize": True,
            "do_resize": True,
            "feature_extractor_type": "CLIPFeatureExtractor",
            "image_mean": OPENAI_CLIP_MEAN,
            "image_std": OPENAI_CLIP_STD,
            "resample": 3,
            "size": size,
        }
    return {              # as in llava-hf/llava-1.5-7b-hf
        "crop_size": {"height": size, "width": size},
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": OPENAI_CLIP_MEAN,
        "image_processor_type": "CLIPImageProcessor",
        "image_std": OPENAI_CLIP_STD,
        "processor_class": "LlavaProcessor",
        "resample": 3,
        "rescale_factor": 1 / 255,
        "size": {"shortest_edge": size},
    }


# --------------------------------------------------------------------------------------
# model specifications
# --------------------------------------------------------------------------------------

MODELS = [
    dict(name="tiny_hf4", layout="hf4", dtype="F32", seed=101,
         kv_heads=2, rope_theta=10000.0, rms_eps=1e-6, vision_act="quick_gelu",
         feature_layer=-2, strategy="default", tied=False, proj_bias=True, projector="llava",
         pp_style="old"),
    dict(name="tiny_hf5", layout="hf5", dtype="F32", seed=202, out_scale=4.0,
         kv_heads=4, rope_theta=500000.0, rms_eps=1e-5, vision_act="gelu",
         feature_layer=-1, strategy="full", tied=True, proj_bias=False, projector="llava",
         pp_style="new"),
    dict(name="tiny_mem_bf16", layout="mem", dtype="BF16", seed=303,
         kv_heads=2, rope_theta=10000.0, rms_eps=1e-5, vision_act="quick_gelu",
         feature_layer=1, strategy="default", tied=False, proj_bias=True, projector="llava",
         pp_style="new"),
    dict(name="tiny_f16_sharded", layout="hf4", dtype="F16", seed=404,
         kv_heads=2, rope_theta=1000000.0, rms_eps=1e-5, vision_act="gelu",
         feature_layer=-2, strategy="default", tied=False, proj_bias=True, projector="llava",
         pp_style="old", shards=3),
    dict(name="tiny_orig_linear", layout="orig", dtype="F32", seed=505,
         kv_heads=4, rope_theta=10000.0, rms_eps=1e-5, vision_act="quick_gelu",
         feature_layer=-2, strategy="default", tied=False, proj_bias=True, projector="linear",
         pp_style="old"),
    dict(name="tiny_orig_mlp", layout="orig", dtype="F32", seed=606,
         kv_heads=2, rope_theta=10000.0, rms_eps=1e-5, vision_act="quick_gelu",
         feature_layer=-1, strategy="default", tied=False, proj_bias=True, projector="mlp2x_gelu",
         pp_style="old"),
]

VISION = dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
              num_attention_heads=4, intermediate_size=64, layer_norm_eps=1e-5)
TEXT = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
            vocab_size=VOCAB, max_position_embeddings=128)
N_PATCHES = (VISION["image_size"] // VISION["patch_size"]) ** 2   # 16


def n_image_tokens(spec):
    return N_PATCHES + (1 if spec["strategy"] == "full" else 0)


def build_config(spec):
    vc = CLIPVisionConfig(hidden_act=spec["vision_act"], **VISION)
    tc = LlamaConfig(num_key_value_heads=spec["kv_heads"], rms_norm_eps=spec["rms_eps"],
                     rope_parameters={"rope_type": "default", "rope_theta": spec["rope_theta"]},
                     tie_word_embeddings=spec["tied"], **TEXT)
    cfg = LlavaConfig(vision_config=vc, text_config=tc, image_token_index=IMAGE_TOKEN,
                      projector_hidden_act="gelu",
                      vision_feature_layer=spec["feature_layer"],
                      vision_feature_select_strategy=spec["strategy"],
                      multimodal_projector_bias=spec["proj_bias"],
                      tie_word_embeddings=spec["tied"],
                      image_seq_length=(576 if spec["layout"] == "hf4" else n_image_tokens(spec)))
    return cfg


def build_model(spec, cfg=None):
    cfg = cfg if cfg is not None else build_config(spec)
    model = LlavaForConditionalGeneration(cfg)
    if spec["projector"] == "linear":
        # original LLaVA "linear" projector: one nn.Linear(mm_hidden_size, hidden_size)
        model.model.multi_modal_projector = torch.nn.Linear(VISION["hidden_size"], TEXT["hidden_size"], bias=True)
    model.set_attn_implementation("eager")
    return model.eval()


@torch.no_grad()
def init_weights(model, seed, round_dtype=None, out_scale=1.0):
    """Re-initialise every parameter with sizeable random values (deterministic).

    out_scale multiplies the text o_proj/down_proj weights: with tied embeddings the token's own
    embedding otherwise dominates the residual stream and greedy decoding repeats one token."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():   # tied lm_head shares embed_tokens and is skipped here
        r = torch.randn(p.shape, generator=g)
        if "norm" in name and name.endswith("weight"):
            v = 1.0 + 0.1 * r
        elif name.endswith("bias"):
            v = 0.05 * r
        elif "embed_tokens" in name or "lm_head" in name:
            v = 0.2 * r
        elif "class_embedding" in name or "position_embedding" in name:
            v = 0.3 * r
        else:
            v = 0.1 * r
            if "language_model" in name and ("o_proj" in name or "down_proj" in name):
                v = v * out_scale
        if round_dtype is not None:
            v = v.to(round_dtype).to(torch.float32)
        p.copy_(v)


# --------------------------------------------------------------------------------------
# independent numpy (float64) forward pass, used to cross-check the torch reference
# --------------------------------------------------------------------------------------

def np_layernorm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_act(x, name):
    if name == "quick_gelu":
        return x / (1.0 + np.exp(-1.702 * x))
    if name == "gelu":
        return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
    if name == "silu":
        return x / (1.0 + np.exp(-x))
    raise ValueError(name)


def np_softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def np_forward(sd, spec, ids, pixels):
    """ids: expanded ids (image rows = IMAGE_TOKEN); pixels [n,3,32,32] or None. Returns logits [T,V]."""
    sd = {k: v.detach().double().numpy() for k, v in sd.items()}
    V = "model.vision_tower."
    feats = []
    if pixels is not None:
        ps, D, nh = VISION["patch_size"], VISION["hidden_size"], VISION["num_attention_heads"]
        hd = D // nh
        for img in pixels.double().numpy():
            g = VISION["image_size"] // ps
            # patches in row-major (gy, gx) order, each flattened as (c, py, px)
            patches = img.reshape(3, g, ps, g, ps).transpose(1, 3, 0, 2, 4).reshape(g * g, 3 * ps * ps)
            x = patches @ sd[V + "embeddings.patch_embedding.weight"].reshape(D, -1).T
            x = np.concatenate([sd[V + "embeddings.class_embedding"][None], x], 0)
            x = x + sd[V + "embeddings.position_embedding.weight"]
            x = np_layernorm(x, sd[V + "pre_layrnorm.weight"], sd[V + "pre_layrnorm.bias"], 1e-5)
            hs = [x]
            for l in range(VISION["num_hidden_layers"]):
                P = V + f"encoder.layers.{l}."
                h = np_layernorm(x, sd[P + "layer_norm1.weight"], sd[P + "layer_norm1.bias"], 1e-5)
                q, k, v = [(h @ sd[P + f"self_attn.{n}_proj.weight"].T + sd[P + f"self_attn.{n}_proj.bias"])
                           .reshape(-1, nh, hd).transpose(1, 0, 2) for n in "qkv"]
                a = np_softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd)) @ v
                a = a.transpose(1, 0, 2).reshape(-1, D)
                x = x + a @ sd[P + "self_attn.out_proj.weight"].T + sd[P + "self_attn.out_proj.bias"]
                h = np_layernorm(x, sd[P + "layer_norm2.weight"], sd[P + "layer_norm2.bias"], 1e-5)
                h = np_act(h @ sd[P + "mlp.fc1.weight"].T + sd[P + "mlp.fc1.bias"], spec["vision_act"])
                x = x + h @ sd[P + "mlp.fc2.weight"].T + sd[P + "mlp.fc2.bias"]
                hs.append(x)
            f = hs[spec["feature_layer"]]          # python indexing: 0 = after pre_layrnorm
            if spec["strategy"] == "default":
                f = f[1:]
            M = "model.multi_modal_projector."
            if spec["projector"] == "linear":
                f = f @ sd[M + "weight"].T + sd[M + "bias"]
            else:
                f = f @ sd[M + "linear_1.weight"].T + sd.get(M + "linear_1.bias", 0.0)
                f = np_act(f, "gelu")
                f = f @ sd[M + "linear_2.weight"].T + sd.get(M + "linear_2.bias", 0.0)
            feats.append(f)
    L = "model.language_model."
    x = sd[L + "embed_tokens.weight"][np.asarray(ids)]
    img_rows = np.nonzero(np.asarray(ids) == IMAGE_TOKEN)[0]
    if feats:
        x[img_rows] = np.concatenate(feats, 0)
    T, H = x.shape
    nh, nkv = TEXT["num_attention_heads"], spec["kv_heads"]
    hd = H // nh
    inv = 1.0 / spec["rope_theta"] ** (np.arange(0, hd, 2) / hd)
    ang = np.arange(T)[:, None] * inv[None]
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))

    def rope(t):  # t [heads, T, hd]; rotate_half convention (first half / second half)
        rot = np.concatenate([-t[..., hd // 2:], t[..., :hd // 2]], -1)
        return t * cos + rot * sin

    def rms(t, w):
        return t / np.sqrt((t * t).mean(-1, keepdims=True) + spec["rms_eps"]) * w

    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(TEXT["num_hidden_layers"]):
        P = L + f"layers.{l}."
        h = rms(x, sd[P + "input_layernorm.weight"])
        q = (h @ sd[P + "self_attn.q_proj.weight"].T).reshape(T, nh, hd).transpose(1, 0, 2)
        k = (h @ sd[P + "self_attn.k_proj.weight"].T).reshape(T, nkv, hd).transpose(1, 0, 2)
        v = (h @ sd[P + "self_attn.v_proj.weight"].T).reshape(T, nkv, hd).transpose(1, 0, 2)
        q, k = rope(q), rope(k)
        k = np.repeat(k, nh // nkv, 0)    # query head j uses kv head j // (nh / nkv)
        v = np.repeat(v, nh // nkv, 0)
        a = np_softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd) + mask) @ v
        x = x + a.transpose(1, 0, 2).reshape(T, H) @ sd[P + "self_attn.o_proj.weight"].T
        h = rms(x, sd[P + "post_attention_layernorm.weight"])
        h = np_act(h @ sd[P + "mlp.gate_proj.weight"].T, "silu") * (h @ sd[P + "mlp.up_proj.weight"].T)
        x = x + h @ sd[P + "mlp.down_proj.weight"].T
    x = rms(x, sd[L + "norm.weight"])
    head = sd[L + "embed_tokens.weight"] if spec["tied"] else sd["lm_head.weight"]
    return x @ head.T


# --------------------------------------------------------------------------------------
# writing the model directories
# --------------------------------------------------------------------------------------

def saved_by_transformers(model, tmp):
    """save_pretrained into tmp, return (tensors, config dict) as written by the installed transformers."""
    if os.path.isdir(tmp):
        shutil.rmtree(tmp)
    model.save_pretrained(tmp)
    tensors = load_file(os.path.join(tmp, "model.safetensors"))
    cfg = json.loads(Path(tmp, "config.json").read_text())
    return tensors, cfg


def hf4_minimal_config(spec):
    """config.json as transformers 4.x save_pretrained (to_diff_dict) would write it: defaults omitted."""
    text = {"hidden_size": TEXT["hidden_size"], "intermediate_size": TEXT["intermediate_size"],
            "max_position_embeddings": TEXT["max_position_embeddings"], "model_type": "llama",
            "num_attention_heads": TEXT["num_attention_heads"], "num_hidden_layers": TEXT["num_hidden_layers"],
            "num_key_value_heads": spec["kv_heads"], "vocab_size": VOCAB}
    vision = {"hidden_size": VISION["hidden_size"], "image_size": VISION["image_size"],
              "intermediate_size": VISION["intermediate_size"], "model_type": "clip_vision_model",
              "num_attention_heads": VISION["num_attention_heads"],
              "num_hidden_layers": VISION["num_hidden_layers"], "patch_size": VISION["patch_size"]}
    omitted = {
        "text_config.hidden_act": "silu",
        "text_config.rms_norm_eps": 1e-6,
        "text_config.rope_theta": 10000.0,
        "text_config.rope_scaling": None,
        "text_config.head_dim": TEXT["hidden_size"] // TEXT["num_attention_heads"],
        "text_config.tie_word_embeddings": False,
        "text_config.attention_bias": False,
        "text_config.mlp_bias": False,
        "text_config.bos_token_id": 1,
        "text_config.eos_token_id": 2,
        "vision_config.hidden_act": "quick_gelu",
        "vision_config.layer_norm_eps": 1e-5,
        "vision_config.num_channels": 3,
        "vision_config.projection_dim": 512,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default",
        "multimodal_projector_bias": True,
        "tie_word_embeddings": False,
        "image_seq_length": 576,
    }
    assert spec["rms_eps"] == 1e-6 and spec["rope_theta"] == 10000.0 and spec["vision_act"] == "quick_gelu"
    assert spec["feature_layer"] == -2 and spec["strategy"] == "default" and spec["proj_bias"] and not spec["tied"]
    cfg = {"architectures": ["LlavaForConditionalGeneration"], "image_token_index": IMAGE_TOKEN,
           "model_type": "llava", "text_config": text, "torch_dtype": "float32",
           "transformers_version": "4.44.2", "vision_config": vision}
    return cfg, omitted


def hf4_full_config(cfg5, spec, torch_dtype):
    """A non-minimal 4.x style config (to_dict style): rope_theta/rope_scaling flat in text_config."""
    cfg = json.loads(json.dumps(cfg5))
    cfg.pop("dtype", None)
    cfg["torch_dtype"] = torch_dtype
    cfg["transformers_version"] = "4.47.1"
    t = cfg["text_config"]
    rp = t.pop("rope_parameters")
    assert rp["rope_type"] == "default"
    t["rope_theta"] = rp["rope_theta"]
    t["rope_scaling"] = None
    t["torch_dtype"] = torch_dtype
    cfg["vision_config"]["torch_dtype"] = torch_dtype
    return cfg


def to_hf4_keys(k):   # save_pretrained(5.x) names -> transformers 4.x llava-hf names
    return ("vision_tower.vision_model." + k[len("vision_tower."):]) if k.startswith("vision_tower.") else k


def to_mem_keys(k):   # save_pretrained(5.x) names -> in-memory names (4.5x spelling, with vision_model.)
    if k.startswith("language_model.model."):
        return "model.language_model." + k[len("language_model.model."):]
    if k == "language_model.lm_head.weight":
        return "lm_head.weight"
    if k.startswith("vision_tower."):
        return "model.vision_tower.vision_model." + k[len("vision_tower."):]
    if k.startswith("multi_modal_projector."):
        return "model." + k
    raise KeyError(k)


def write_sharded(d, tensors, n_shards):
    keys = sorted(tensors)
    sizes = [tensors[k].numel() * tensors[k].element_size() for k in keys]
    total = sum(sizes)
    files = [f"model-{i + 1:05d}-of-{n_shards:05d}.safetensors" for i in range(n_shards)]
    shard_of, acc = {}, 0
    for k, s in zip(keys, sizes):
        shard_of[k] = min(n_shards - 1, acc * n_shards // total)
        acc += s
    assert len(set(shard_of.values())) == n_shards
    for i, f in enumerate(files):
        save_st(d / f, {k: tensors[k] for k in keys if shard_of[k] == i})
    write_json(d / "model.safetensors.index.json",
               {"metadata": {"total_size": total}, "weight_map": {k: files[shard_of[k]] for k in keys}})
    return files + ["model.safetensors.index.json"]


def orig_config(spec):
    return {
        "_name_or_path": "tiny-vicuna",
        "architectures": ["LlavaLlamaForCausalLM"],
        "attention_bias": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "freeze_mm_mlp_adapter": False,
        "hidden_act": "silu",
        "hidden_size": TEXT["hidden_size"],
        "image_aspect_ratio": "pad",
        "initializer_range": 0.02,
        "intermediate_size": TEXT["intermediate_size"],
        "max_position_embeddings": TEXT["max_position_embeddings"],
        "mm_hidden_size": VISION["hidden_size"],
        "mm_projector_lr": None,
        "mm_projector_type": spec["projector"],
        "mm_use_im_patch_token": False,
        "mm_use_im_start_end": False,
        "mm_vision_select_feature": "patch",
        "mm_vision_select_layer": spec["feature_layer"],
        "mm_vision_tower": "clip",
        "model_type": "llava_llama",
        "num_attention_heads": TEXT["num_attention_heads"],
        "num_hidden_layers": TEXT["num_hidden_layers"],
        "num_key_value_heads": spec["kv_heads"],
        "pad_token_id": 0,
        "pretraining_tp": 1,
        "rms_norm_eps": spec["rms_eps"],
        "rope_scaling": None,
        "rope_theta": spec["rope_theta"],
        "tie_word_embeddings": False,
        "tokenizer_model_max_length": TEXT["max_position_embeddings"],
        "tokenizer_padding_side": "right",
        "torch_dtype": "float32",
        "transformers_version": "4.31.0",
        "tune_mm_mlp_adapter": False,
        "use_cache": True,
        "use_mm_proj": True,
        "vocab_size": VOCAB,
    }


def orig_text_key(k):   # in-memory name -> original LLaVA name (None: vision tower, stored in clip/)
    if k.startswith("model.language_model."):
        return "model." + k[len("model.language_model."):]
    if k == "lm_head.weight":
        return k
    if k.startswith("model.multi_modal_projector."):
        rest = k[len("model.multi_modal_projector."):]
        rest = rest.replace("linear_1.", "0.").replace("linear_2.", "2.")
        return "model.mm_projector." + rest
    if k.startswith("model.vision_tower."):
        return None
    raise KeyError(k)


def load_orig_back(d, spec):
    """Re-read an original-layout directory into a fresh reference model (manual reload check)."""
    c = json.loads((d / "config.json").read_text())
    vc_d = json.loads((d / c["mm_vision_tower"] / "config.json").read_text())
    s2 = dict(spec, kv_heads=c["num_key_value_heads"], rms_eps=c["rms_norm_eps"], rope_theta=c["rope_theta"],
              feature_layer=c["mm_vision_select_layer"], vision_act=vc_d["hidden_act"],
              projector=c["mm_projector_type"])
    m = build_model(s2)
    text = load_file(str(d / "model.safetensors"))
    vis = load_file(str(d / c["mm_vision_tower"] / "model.safetensors"))
    sd = {}
    for k, v in text.items():
        if k.startswith("model.mm_projector."):
            rest = k[len("model.mm_projector."):]
            rest = rest.replace("0.", "linear_1.", 1) if rest.startswith("0.") else rest
            rest = rest.replace("2.", "linear_2.", 1) if rest.startswith("2.") else rest
            sd["model.multi_modal_projector." + rest] = v
        elif k == "lm_head.weight":
            sd[k] = v
        else:
            sd["model.language_model." + k[len("model."):]] = v
    for k, v in vis.items():
        assert k.startswith("vision_model.")
        sd["model.vision_tower." + k[len("vision_model."):]] = v
    m.load_state_dict(sd, strict=True)
    return m


def write_model(spec, tmpdir):
    name = spec["name"]
    d = FIX / "models" / name
    d.mkdir(parents=True)
    round_dtype = {"F32": None, "BF16": torch.bfloat16, "F16": torch.float16}[spec["dtype"]]
    model = build_model(spec)
    init_weights(model, spec["seed"], round_dtype, spec.get("out_scale", 1.0))
    info = {"name": name, "dir": rel(d), "layout": spec["layout"], "dtype": spec["dtype"],
            "vision_feature_layer": spec["feature_layer"], "vision_feature_select_strategy": spec["strategy"],
            "num_key_value_heads": spec["kv_heads"], "tie_word_embeddings": spec["tied"],
            "projector": spec["projector"], "projector_bias": spec["proj_bias"],
            "vision_hidden_act": spec["vision_act"], "rope_theta": spec["rope_theta"],
            "rms_norm_eps": spec["rms_eps"], "image_tokens_per_image": n_image_tokens(spec),
            "text_out_proj_scale": spec.get("out_scale", 1.0),
            "image_token_index": IMAGE_TOKEN if spec["layout"] != "orig" else None,
            "preprocessor_style": spec["pp_style"], "weight_seed": spec["seed"]}
    tensors5, cfg5 = saved_by_transformers(model, os.path.join(tmpdir, name))
    pp = preprocessor_config(spec["pp_style"], VISION["image_size"])
    tdt = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}[spec["dtype"]]

    if spec["layout"] == "hf5":
        assert not any("vision_model" in k for k in tensors5), "5.x save_pretrained wrote vision_model."
        assert "language_model.lm_head.weight" not in tensors5 and "lm_head.weight" not in tensors5
        assert any(k.startswith("vision_tower.encoder.layers.") for k in tensors5)
        cfg = dict(cfg5)
        assert "image_token_index" in cfg and "image_token_id" not in cfg
        cfg["image_token_id"] = cfg.pop("image_token_index")
        assert "rope_parameters" in cfg["text_config"] and "rope_theta" not in cfg["text_config"]
        write_json(d / "config.json", cfg)
        save_st(d / "model.safetensors", {k: v.to(tdt) for k, v in tensors5.items()})
        files = ["config.json", "model.safetensors"]
        info["config_style"] = "transformers 5.x save_pretrained (full), image_token_index renamed to image_token_id"
    elif spec["layout"] == "hf4" and "shards" not in spec:
        cfg, omitted = hf4_minimal_config(spec)
        write_json(d / "config.json", cfg)
        save_st(d / "model.safetensors", {to_hf4_keys(k): v.to(tdt) for k, v in tensors5.items()})
        files = ["config.json", "model.safetensors"]
        info["omitted_fields"] = sorted(omitted)
        info["omitted_defaults"] = omitted
        info["config_style"] = ("transformers 4.x minimal (to_diff_dict style, hand written); "
                                "transformers_version is nominal")
    elif spec["layout"] == "hf4":
        cfg = hf4_full_config(cfg5, spec, "float16")
        write_json(d / "config.json", cfg)
        files = ["config.json"] + write_sharded(d, {to_hf4_keys(k): v.to(tdt) for k, v in tensors5.items()},
                                                spec["shards"])
        info["config_style"] = ("transformers 4.x full (to_dict style): text_config has flat rope_theta and "
                                "rope_scaling null; torch_dtype float16; transformers_version is nominal")
    elif spec["layout"] == "mem":
        cfg = dict(cfg5)
        cfg["dtype"] = "bfloat16"
        write_json(d / "config.json", cfg)
        save_st(d / "model.safetensors", {to_mem_keys(k): v.to(tdt) for k, v in tensors5.items()})
        files = ["config.json", "model.safetensors"]
        info["config_style"] = "transformers 5.x save_pretrained (full), dtype bfloat16"
    else:  # orig
        sd = model.state_dict()
        text = {}
        for k, v in sd.items():
            nk = orig_text_key(k)
            if nk is not None:
                text[nk] = v.clone()
        write_json(d / "config.json", orig_config(spec))
        save_st(d / "model.safetensors", text)
        # vision tower: a CLIPVisionModel directory (what mm_vision_tower points at)
        vm = CLIPVisionModel(model.config.vision_config)
        vm.load_state_dict(model.model.vision_tower.state_dict())
        vt, vcfg = saved_by_transformers(vm, os.path.join(tmpdir, name + "_clip"))
        cd = d / "clip"
        cd.mkdir()
        # 5.x CLIPVisionModel.save_pretrained writes "embeddings..." (no prefix); CLIP checkpoints
        # (and 4.x) spell the keys "vision_model.embeddings...", which is what we store
        assert not any(k.startswith("vision_model.") for k in vt)
        save_st(cd / "model.safetensors", {"vision_model." + k: v for k, v in vt.items()})
        write_json(cd / "config.json", vcfg)
        write_json(cd / "preprocessor_config.json", pp)
        files = ["config.json", "model.safetensors", "clip/config.json", "clip/model.safetensors",
                 "clip/preprocessor_config.json"]
        info["config_style"] = "haotian-liu/LLaVA flat LlavaLlamaForCausalLM config; vision tower in clip/"
        info["image_placeholder"] = ORIG_PLACEHOLDER
        # CLIPVisionModel must load the clip/ directory with the vision_model. prefix
        vm2, li = CLIPVisionModel.from_pretrained(str(cd), output_loading_info=True)
        assert not li["missing_keys"] and not li["unexpected_keys"], li
        for k, v in vm.state_dict().items():
            assert torch.equal(v, vm2.state_dict()[k]), k
    if spec["layout"] != "orig":
        write_json(d / "preprocessor_config.json", pp)
        files.append("preprocessor_config.json")
    info["files"] = files
    return model, info


def check_reload(spec, model, d, probe):
    """Reload the written directory and assert bit-identical logits on a probe input."""
    ids, px = probe
    with torch.no_grad():
        ref = model(input_ids=ids, pixel_values=px).logits
        if spec["layout"] == "orig":
            m2 = load_orig_back(d, spec)
            how = "manual (original layout: weights mapped back by this script, transformers cannot load it)"
        else:
            m2, li = LlavaForConditionalGeneration.from_pretrained(str(d), dtype=torch.float32,
                                                                   attn_implementation="eager",
                                                                   output_loading_info=True)
            assert not li["missing_keys"] and not li["unexpected_keys"] and not li["mismatched_keys"], li
            m2.eval()
            assert m2.config.image_token_index == IMAGE_TOKEN
            how = "LlavaForConditionalGeneration.from_pretrained"
        out = m2(input_ids=ids, pixel_values=px).logits
    diff = (out - ref).abs().max().item()
    assert diff == 0.0, (spec["name"], diff)
    return how


# --------------------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------------------

CASES = [
    # name, model, segments: ints = number of random text ids, "I" = one image
    ("tiny_hf4_img", "tiny_hf4", [5, "I", 7]),
    ("tiny_hf4_2img", "tiny_hf4", [4, "I", 3, "I", 5]),
    ("tiny_hf4_text", "tiny_hf4", [28]),
    ("tiny_hf5_img", "tiny_hf5", [5, "I", 6]),
    ("tiny_mem_bf16_img", "tiny_mem_bf16", [6, "I", 6]),
    ("tiny_f16_sharded_img", "tiny_f16_sharded", [7, "I", 5]),
    ("tiny_orig_linear_img", "tiny_orig_linear", [5, "I", 7]),
    ("tiny_orig_mlp_img", "tiny_orig_mlp", [6, "I", 6]),
    ("tiny_orig_mlp_2img", "tiny_orig_mlp", [3, "I", 4, "I", 4]),
]


def make_inputs(spec, segments, seed):
    g = torch.Generator().manual_seed(seed)
    ids, expanded, n_img = [], [], 0
    for s in segments:
        if s == "I":
            n_img += 1
            if spec["layout"] == "orig":
                ids.append(ORIG_PLACEHOLDER)
            else:
                ids += [IMAGE_TOKEN] * n_image_tokens(spec)
            expanded += [IMAGE_TOKEN] * n_image_tokens(spec)
        else:
            t = torch.randint(3, 598, (s,), generator=g).tolist()
            ids += t
            expanded += t
    px = torch.randn(n_img, 3, 32, 32, generator=g) if n_img else None
    return ids, expanded, px


@torch.no_grad()
def run_case(model, expanded, px):
    logits = model(input_ids=torch.tensor([expanded]), pixel_values=px).logits[0]
    seq, greedy, margins = list(expanded), [], []
    for _ in range(N_GREEDY):
        last = model(input_ids=torch.tensor([seq]), pixel_values=px).logits[0, -1]
        top = torch.topk(last, 2).values
        nxt = int(torch.argmax(last))
        margins.append(float(top[0] - top[1]))
        greedy.append(nxt)
        seq.append(nxt)
    return logits, greedy, margins


def make_case(name, spec, model, segments, base_seed):
    best = None
    for attempt in range(200):
        seed = base_seed + attempt
        ids, expanded, px = make_inputs(spec, segments, seed)
        logits, greedy, margins = run_case(model, expanded, px)
        if IMAGE_TOKEN in greedy:
            continue
        mm = min(margins)
        score = (mm > MARGIN_FLOOR, min(len(set(greedy)), MIN_DISTINCT), mm)
        if best is None or score > best[0]:
            best = (score, mm, seed, ids, expanded, px, logits, greedy, margins)
        if mm > MARGIN_TARGET and len(set(greedy)) >= MIN_DISTINCT:
            break
    _, mm, seed, ids, expanded, px, logits, greedy, margins = best
    assert mm > MARGIN_FLOOR, (name, mm)
    # independent numpy forward of the prompt must agree with the torch reference
    npl = np_forward(model.state_dict(), spec, expanded, px)
    err = float(np.abs(npl - logits.double().numpy()).max())
    assert err < 2e-4, (name, err)
    cd = FIX / "cases"
    entry = {"name": name, "model": rel(FIX / "models" / spec["name"]), "ids": ids,
             "n_images": 0 if px is None else int(px.shape[0]), "image_size": VISION["image_size"],
             "pixels": None, "logits": rel(cd / f"{name}.logits.f32"), "positions": len(expanded),
             "vocab": VOCAB, "greedy": greedy, "min_margin": mm, "margins": margins, "input_seed": seed,
             "numpy_crosscheck_max_abs_err": err}
    if px is not None:
        write_f32(cd / f"{name}.pixels.f32", px.numpy())
        entry["pixels"] = rel(cd / f"{name}.pixels.f32")
    if spec["layout"] == "orig":
        entry["expanded_ids"] = [ORIG_PLACEHOLDER if t == IMAGE_TOKEN else t for t in expanded]
    write_f32(cd / f"{name}.logits.f32", logits.numpy())
    return entry


# --------------------------------------------------------------------------------------
# images and preprocessing
# --------------------------------------------------------------------------------------

def structured_rgb(w, h, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255.0 * xx / max(w - 1, 1)
    g = 255.0 * yy / max(h - 1, 1)
    b = 128.0 + 100.0 * np.sin(xx * 0.45) * np.cos(yy * 0.3)
    img = np.stack([r, g, b], -1)
    cx, cy, rad = w * 0.62, h * 0.4, min(w, h) * 0.28
    img[(xx - cx) ** 2 + (yy - cy) ** 2 < rad ** 2] = [230, 40, 60]
    x0, y0 = int(w * 0.1), int(h * 0.55)
    img[y0:y0 + max(2, h // 4), x0:x0 + max(2, w // 3)] = [20, 200, 90]
    img[:, (np.arange(w) % 11) == 3] *= 0.5          # thin dark stripes
    img += rng.normal(0.0, 12.0, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_images():
    d = FIX / "images"
    d.mkdir(parents=True)
    out = []

    Image.fromarray(structured_rgb(97, 61, 1), "RGB").save(d / "rgb_97x61.png")
    out.append("rgb_97x61.png")

    gray = structured_rgb(45, 80, 2).astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    Image.fromarray(np.clip(np.rint(gray), 0, 255).astype(np.uint8), "L").save(d / "gray_45x80.png")
    out.append("gray_45x80.png")

    rgb = structured_rgb(70, 70, 3)
    yy, xx = np.mgrid[0:70, 0:70]
    alpha = np.clip(np.rint(255.0 * (xx / 69.0) * (0.5 + 0.5 * np.cos(yy / 9.0))), 0, 255)
    alpha[:10, :] = 255          # fully opaque band
    alpha[:, :6] = 0             # fully transparent band
    rgba = np.concatenate([rgb, alpha.astype(np.uint8)[..., None]], -1)
    Image.fromarray(rgba, "RGBA").save(d / "rgba_70x70.png")
    out.append("rgba_70x70.png")

    Image.fromarray(structured_rgb(123, 59, 4), "RGB").save(d / "photo_123x59.jpg", quality=95, subsampling=0)
    out.append("photo_123x59.jpg")

    Image.fromarray(structured_rgb(33, 47, 5), "RGB").save(d / "bitmap_33x47.bmp")
    out.append("bitmap_33x47.bmp")

    f1 = Image.fromarray(structured_rgb(50, 38, 6), "RGB").quantize(colors=32, method=Image.Quantize.MEDIANCUT,
                                                                     dither=Image.Dither.NONE)
    f2 = Image.fromarray(255 - structured_rgb(50, 38, 7), "RGB").quantize(colors=32,
                                                                           method=Image.Quantize.MEDIANCUT,
                                                                           dither=Image.Dither.NONE)
    f1.save(d / "anim_50x38.gif", save_all=True, append_images=[f2], duration=100, loop=0)
    with Image.open(d / "anim_50x38.gif") as im:
        assert im.n_frames == 2 and im.mode == "P" and "transparency" not in im.info
        assert np.array_equal(np.array(im.convert("RGB")), np.array(f1.convert("RGB")))
    out.append("anim_50x38.gif")

    Image.fromarray(structured_rgb(20, 13, 8), "RGB").save(d / "small_20x13.png")
    out.append("small_20x13.png")

    data = (d / "rgb_97x61.png").read_bytes()
    (d / "corrupt.png").write_bytes(data[:len(data) // 2])
    (d / "notanimage.jpg").write_bytes(np.random.default_rng(9).integers(0, 256, 300, dtype=np.uint8).tobytes())
    for bad in ("corrupt.png", "notanimage.jpg"):
        try:
            with Image.open(d / bad) as im:
                im.load()
            raise AssertionError(bad + " decoded")
        except (OSError, SyntaxError, ValueError):
            pass
    return out, ["corrupt.png", "notanimage.jpg"]


def open_image(path):
    im = Image.open(path)
    im.load()          # first frame only (GIF)
    return im


# -- exact re-implementations (checked against PIL / the processor; documented for the C port) --

def pil_composite_on_white(rgba):
    """PIL alpha_composite(white, img).convert('RGB') in integer math (what 5.x convert_to_rgb does)."""
    a = rgba[..., 3:4].astype(np.int64)
    c = rgba[..., :3].astype(np.int64)
    coef1 = a * 128                       # = a*255*255*128 // (255*255)
    coef2 = 255 * 128 - coef1
    t = c * coef1 + 255 * coef2 + (0x80 << 7)
    v = (((t >> 8) + t) >> 8) >> 7
    return np.where(a == 0, 255, v).astype(np.uint8)


def pil_bicubic_coeffs(in_size, out_size):
    PREC = 22
    scale = in_size / out_size
    fscale = max(scale, 1.0)
    support = 2.0 * fscale

    def cubic(x):
        a = -0.5
        x = abs(x)
        if x < 1.0:
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
        if x < 2.0:
            return (((x - 5) * x + 8) * x - 4) * a
        return 0.0

    res = []
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        ss = 1.0 / fscale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        w = [cubic((x + xmin - center + 0.5) * ss) for x in range(xmax)]
        tot = sum(w)
        w = [v / tot for v in w] if tot != 0.0 else w
        k = [int(v * (1 << PREC) + (0.5 if v >= 0 else -0.5)) for v in w]
        res.append((xmin, np.array(k, dtype=np.int64)))
    return res


def pil_bicubic_resize(img, out_w, out_h):
    """PIL Image.resize(BICUBIC) on uint8 RGB [H,W,3]: horizontal pass, uint8 clamp, vertical pass."""
    PREC = 22
    h, w, _ = img.shape

    def one_pass(src, n_out, axis):
        src = np.moveaxis(src.astype(np.int64), axis, 0)
        out = np.empty((n_out,) + src.shape[1:], dtype=np.int64)
        for i, (xmin, k) in enumerate(pil_bicubic_coeffs(src.shape[0], n_out)):
            acc = (1 << (PREC - 1)) + np.tensordot(k, src[xmin:xmin + len(k)], axes=(0, 0))
            out[i] = np.clip(acc >> PREC, 0, 255)
        return np.moveaxis(out, 0, axis).astype(np.uint8)

    if (out_w, out_h) == (w, h):
        return img.copy()
    x = img
    if out_w != w:
        x = one_pass(x, out_w, 1)
    if out_h != h:
        x = one_pass(x, out_h, 0)
    return x


def manual_preprocess(rgb, S, mean, std):
    h, w, _ = rgb.shape
    if w <= h:
        nw, nh = S, int(S * h / w)
    else:
        nh, nw = S, int(S * w / h)
    r = pil_bicubic_resize(rgb, nw, nh)
    top, left = (nh - S) // 2, (nw - S) // 2
    r = r[top:top + S, left:left + S].transpose(2, 0, 1)
    x = (r.astype(np.float64) * (1 / 255)).astype(np.float32)
    m = np.array(mean, dtype=np.float32)[:, None, None]
    s = np.array(std, dtype=np.float32)[:, None, None]
    return (x - m) / s, (nw, nh), (left, top)


def expand2square(pil_img, background_color):   # verbatim logic of LLaVA-1.5 (llava/mm_utils.py)
    width, height = pil_img.size
    if width == height:
        return pil_img
    elif width > height:
        result = Image.new(pil_img.mode, (width, width), background_color)
        result.paste(pil_img, (0, (width - height) // 2))
        return result
    else:
        result = Image.new(pil_img.mode, (height, height), background_color)
        result.paste(pil_img, ((height - width) // 2, 0))
        return result


def processor_for(S):
    return CLIPImageProcessorPil(size={"shortest_edge": S}, crop_size={"height": S, "width": S}, resample=3,
                                 do_convert_rgb=True, image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD)


def run_processor(proc, img):
    out = proc(images=img, return_tensors="np")["pixel_values"]
    assert out.shape[0] == 1 and out.dtype == np.float32
    return out[0]


def make_preprocess(images):
    d = FIX / "preprocess"
    d.mkdir(parents=True)
    bg = tuple(int(x * 255) for x in OPENAI_CLIP_MEAN)
    entries, decoded, resize_log = [], [], []
    procs = {S: processor_for(S) for S in (32, 40)}
    for name in images:
        src = open_image(FIX / "images" / name)
        has_alpha = "A" in src.getbands()
        proc_rgb = Image.fromarray(procs[32].convert_to_rgb(src), "RGB")   # what the processor sees
        variants = [("white" if has_alpha else None, src, proc_rgb)]
        if has_alpha:   # 4.x convert_to_rgb / original LLaVA .convert("RGB"): alpha dropped
            drop = src.convert("RGB")
            variants.append(("drop", drop, drop))
        if has_alpha:
            assert np.array_equal(np.array(proc_rgb), pil_composite_on_white(np.array(src.convert("RGBA"))))
        for alpha, crop_input, rgb in variants:
            suffix = "" if alpha in (None, "white") else "-dropalpha"
            rgb_np = np.array(rgb)
            fn = d / f"{name}.rgb{suffix}.u8"
            rgb_np.astype(np.uint8).tofile(str(fn))
            decoded.append({"image": f"images/{name}", "rgb": rel(fn), "width": rgb.size[0],
                            "height": rgb.size[1], "mode": src.mode, "alpha": alpha})
            for mode in ("crop", "pad"):
                inp = crop_input if mode == "crop" else expand2square(rgb, bg)
                sq_np = np.array(inp.convert("RGB")) if mode == "pad" else rgb_np
                for S in (32, 40):
                    px = run_processor(procs[S], inp)
                    assert px.shape == (3, S, S)
                    man, (nw, nh), (left, top) = manual_preprocess(sq_np, S, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)
                    assert np.array_equal(man, px), (name, mode, S, float(np.abs(man - px).max()))
                    fn = d / f"{name}.{mode}{suffix}.{S}.f32"
                    write_f32(fn, px)
                    entries.append({"image": f"images/{name}", "mode": mode, "size": S, "alpha": alpha,
                                    "mean": OPENAI_CLIP_MEAN, "std": OPENAI_CLIP_STD, "pixels": rel(fn),
                                    "resized_wh": [nw, nh], "crop_offset_xy": [left, top],
                                    "pad_square_side": (max(rgb.size) if mode == "pad" else None)})
    return entries, decoded


def check_model_preprocessors(model_infos):
    """The committed preprocessor_config.json files must give the same output as the fixture processor."""
    img = open_image(FIX / "images" / "rgb_97x61.png")
    ref = run_processor(processor_for(32), img)
    for info in model_infos:
        d = FIX / info["dir"]
        pdir = d / "clip" if info["layout"] == "orig" else d
        p = transformers.AutoImageProcessor.from_pretrained(str(pdir), backend="pil")
        assert type(p).__name__ == "CLIPImageProcessorPil", type(p)
        assert np.array_equal(run_processor(p, img), ref), info["name"]


# --------------------------------------------------------------------------------------

NOTES = """\
MODELS
- Every model: CLIP vision 32px/patch 8 (16 patches + CLS), hidden 32, 2 layers, 4 heads, mlp 64, LN eps 1e-5;
  LLaMA hidden 48, 2 layers, 4 heads (head_dim 12), mlp 96, vocab 600, max_pos 128; image_token_index 599.
- Vision hidden_states[i] (what vision_feature_layer indexes, python-style, negatives from the end):
  [0] = pre_layrnorm(patch/class embeddings + position embeddings), [i] = output of encoder layer i-1,
  [-1] = output of the last encoder layer WITHOUT post_layernorm (post_layernorm is never used by LLaVA).
  strategy "default" drops the CLS row (16 rows per image); "full" keeps it (17 rows, CLS first).
- Patch embedding is a conv with stride 8 and no bias; patches in row-major order; CLS at row 0.
- Projector: linear_1 -> GELU (exact erf) -> linear_2 (original "mlp2x_gelu" is the same with keys .0/.2;
  original "linear" is a single Linear 32->48 with bias). quick_gelu(x) = x*sigmoid(1.702x).
- LLaMA RoPE is the HF rotate_half convention: pairs are (i, i+head_dim/2), inv_freq = theta^(-2i/head_dim).
  GQA: query head h uses kv head h // (num_heads/num_kv_heads). RMSNorm: x/sqrt(mean(x^2)+eps)*w.
- Image feature rows replace the embedding rows of the image tokens in order (image 0 first).
- The tied model (tiny_hf5) has no lm_head tensor: logits = h . embed_tokens^T.
- BF16/F16 models: reference logits are computed in float32 from the rounded weights (exactly the stored values).
- Reference: transformers LlavaForConditionalGeneration, eager attention, float32, CPU, one thread.
  Every case was also recomputed by an independent float64 numpy forward (numpy_crosscheck_max_abs_err).
- Greedy: plain loop of full recomputation, argmax of the last row, appended; never emits 599.
  margins[i] = top1 - top2 of the logits used for greedy step i.
- Original layout: ids hold one -200 per image; positions/logits are for the expanded sequence in which each
  -200 becomes 16 image-feature rows (expanded_ids marks those rows with -200). mm_vision_tower is a directory
  relative to the model directory (clip/), a CLIPVisionModel checkpoint with keys vision_model.*.
- tiny_hf4 config omits every default (see omitted_defaults), including head_dim (= hidden/heads),
  rms_norm_eps (LlamaConfig default 1e-6!), rope_theta (10000) and image_seq_length (default 576, which is NOT
  the real count 16: compute the count from image_size/patch_size and the strategy instead).

KEY NAMES / CONFIG AS WRITTEN BY THE INSTALLED transformers (see generator versions)
- In memory the 5.x model is model.language_model.*, model.vision_tower.{embeddings,pre_layrnorm,encoder,
  post_layernorm}.* (CLIPVisionModel has no vision_model submodule any more), model.multi_modal_projector.*,
  lm_head.weight; but save_pretrained maps the text part back to the legacy spelling: language_model.model.*,
  language_model.lm_head.weight (absent when tied), multi_modal_projector.*, vision_tower.embeddings.* etc.
  That is exactly tiny_hf5's file. CLIPVisionModel.save_pretrained likewise writes embeddings.* / encoder.*
  without the vision_model. prefix (tiny_orig_*/clip/ stores the classic vision_model.* spelling instead).
- 5.x writes "dtype" (not "torch_dtype"), text_config.rope_parameters {rope_theta, rope_type} and no flat
  rope_theta, and still writes "image_token_index" (tiny_hf5 renames it to "image_token_id", which 5.x
  accepts through its attribute_map). 5.x loads all four HF layouts here (4.x, 5.x and in-memory names, with
  or without vision_model.) to bit-identical logits.

PREPROCESSING (CLIPImageProcessorPil = the PIL "slow" processor, i.e. AutoImageProcessor(use_fast=False))
- Decode, then convert to RGB. L and P (no transparency) -> plain RGB conversion (gray replicated, palette looked
  up). Images with alpha: transformers 5.x composites onto OPAQUE WHITE with PIL's alpha_composite integer math:
  a=0 -> 255; else t = c*(a*128) + 255*(255-a)*128 + (128<<7); out = ((((t>>8)+t)>>8)>>7).
  transformers 4.x and the original LLaVA (.convert("RGB")) instead DROP alpha (keep r,g,b as stored).
  Both are provided for the RGBA image: alpha "white" (files without suffix) and "drop" (-dropalpha files).
- GIF: only the first frame is used.
- Resize (shortest_edge S): short side -> S, long side -> int(S*long/short) (truncation toward zero; e.g.
  97x61 at S=32 -> 50x32, not 51x32; 20x13 at S=32 -> 49x32).
  resized_wh in each entry gives the result. Done by PIL Image.resize(BICUBIC) on 8-bit RGB: separable,
  horizontal pass first (only if width changes), result rounded/clamped to uint8, then vertical pass (only if
  height changes). If the size is unchanged PIL returns the image unchanged. Per output index xx:
  scale=in/out, fscale=max(scale,1), support=2*fscale, center=(xx+0.5)*scale, xmin=max((int)(center-support+0.5),0),
  xmax=min((int)(center+support+0.5),in)-xmin, w[x]=cubic((x+xmin-center+0.5)/fscale) with a=-0.5, normalised by
  their sum, then fixed point k=(int)(w*2^22 +/- 0.5) (round half away from zero);
  out = clamp((2^21 + sum(pixel*k)) >> 22, 0, 255). Upscaling (small_20x13) uses the same formulas (fscale=1).
- Center crop S x S: left=(W-S)//2, top=(H-S)//2 (floor). crop_offset_xy in each entry.
- Rescale: float32(double(u8) * (1/255)), then normalize in float32: (x - mean[c]) / std[c].
  Output layout CHW float32 [3,S,S].
- "pad" mode (LLaVA-1.5 image_aspect_ratio "pad"): RGB image pasted into a square of side max(w,h) filled with
  (122,116,104) = int(mean*255) at offset ((side-w)//2, (side-h)//2), then the same processor (resize to S x S
  exactly since the input is square, crop is a no-op).
- Every preprocess fixture was checked bit-exactly against a numpy re-implementation of the rules above.
- JPEG: decoded by Pillow's libjpeg(-turbo) (4:4:4, quality 95); other decoders may differ by a few levels.
  The decoded RGB bytes of every image are stored as preprocess/<image>.rgb.u8 ([H,W,3] uint8) so resize and
  normalisation can be tested independently of the decoder.
- corrupt.png (valid PNG truncated to half) and notanimage.jpg (random bytes) must fail to load.
"""


def main():
    for sub in ("models", "cases", "images", "preprocess"):
        shutil.rmtree(FIX / sub, ignore_errors=True)
    (FIX / "cases").mkdir(parents=True, exist_ok=True)
    manifest_path = FIX / "manifest.json"
    if manifest_path.exists():
        manifest_path.unlink()

    models, live = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in MODELS:
            model, info = write_model(spec, tmp)
            probe_ids, probe_expanded, probe_px = make_inputs(spec, [3, "I", 4], 7)
            info["reload_check"] = check_reload(spec, model, FIX / info["dir"],
                                                (torch.tensor([probe_expanded]), probe_px))
            info["checked_reload"] = spec["layout"] != "orig"
            info["checked_manual_reload"] = spec["layout"] == "orig"
            models.append(info)
            live[spec["name"]] = (spec, model)
            print("model", spec["name"], "ok", file=sys.stderr)

    cases = []
    for i, (cname, mname, segments) in enumerate(CASES):
        spec, model = live[mname]
        cases.append(make_case(cname, spec, model, segments, 1000 * (i + 1)))
        print("case", cname, "min_margin %.4g" % cases[-1]["min_margin"], file=sys.stderr)

    images, invalid = make_images()
    preprocess, decoded = make_preprocess(images)
    check_model_preprocessors(models)

    manifest = {
        "generator": {"script": "tools/py/make_fixtures.py", "python": platform.python_version(),
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "safetensors": safetensors.__version__, "numpy": np.__version__,
                      "pillow": PIL.__version__},
        "models": models,
        "cases": cases,
        "images": [f"images/{n}" for n in images],
        "invalid_images": [f"images/{n}" for n in invalid],
        "decoded": decoded,
        "preprocess": preprocess,
        "notes": NOTES,
    }
    write_json(manifest_path, manifest)
    total = sum(f.stat().st_size for f in FIX.rglob("*") if f.is_file())
    print(f"wrote {manifest_path.relative_to(ROOT)}; tests/fixtures total {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
