#!/usr/bin/env python3
"""Generate the PyTorch reference fixtures for training in llava.h (tests/fixtures/train/).

What it makes (every path below and in the manifest is relative to tests/fixtures/train/):
  manifest.json                   versions, notes, and per model: the training batch, the loss, the
                                  gradient files of every stage, and the optimizer-step records
  <model>/pixels.f32              pixel_values [2,3,32,32] float32 (the two images of the batch, in order)
  <model>/<stage>/<key>.f32       gradient of each trainable parameter, raw little-endian float32, in the
                                  parameter's own shape (row-major); <key> is the transformers 4.x
                                  safetensors key (as in models/tiny_hf4/model.safetensors)
  <model>/steps_<run>/after<N>/<key>.f32
                                  trainable parameter values after N optimizer steps of a step run

Models: tiny_hf4 and tiny_hf5 from tests/fixtures/models/ (made by tools/py/make_fixtures.py).
Stages: stage1 (projector only), stage2 (projector + whole language model), and for tiny_hf4 also
"vision" (vision tower only). Step runs (tiny_hf4): AdamW + cosine warmup schedule + grad clipping,
6 steps: stage2 on the whole batch, stage2 with gradient accumulation over two micro-batches, stage1.

Run from any directory (paths are found from this file; needs torch, transformers, safetensors, numpy):
    python3 tools/py/make_train_fixtures.py
Deterministic: fixed seeds, one torch thread, float32 on CPU, eager attention; tests/fixtures/train/ is
deleted and rewritten on every run.

Second use, checking a checkpoint that llava.h saved (config.json + model.safetensors, 4.x key layout,
F32 or BF16 weights):
    python3 tools/py/make_train_fixtures.py check-checkpoint DIR OUT.json [--logits FILE] [--model NAME]
                                                           [--tol X] [--save-logits FILE]
It loads DIR with LlavaForConditionalGeneration.from_pretrained, runs sample 0 of the training batch of
the matching model (ids + its image; picked from the number of image tokens per image unless --model is
given), compares the logits [positions][vocab] with the float32 file --logits (what llava.h computed), and
writes {"loaded", "missing_keys" (transformers' in-memory names; "missing_keys_hf4" spells them as 4.x keys),
"unexpected_keys" (as spelled in the file), "mismatched_keys", "max_abs_err", "transformers", "ok", ...}
to OUT.json. Exit status 0 when loaded with no missing/unexpected/mismatched keys and max_abs_err <= tol.
"""

import argparse
import copy
import json
import math
import platform
import shutil
import sys
from pathlib import Path

import numpy as np
import safetensors
import torch
import transformers
from safetensors.torch import load_file
from transformers import LlavaForConditionalGeneration, get_cosine_schedule_with_warmup
from transformers.trainer_pt_utils import get_parameter_names
from transformers.utils import logging as hf_logging

ROOT = Path(__file__).resolve().parent.parent.parent
FIX = ROOT / "tests" / "fixtures"
OUT = FIX / "train"

IMAGE_TOKEN = 599
PAD_ID = 0
BOS_ID = 1
EOS_ID = 2
IGNORE = -100
VOCAB = 600

MODELS = {
    "tiny_hf4": dict(seed=7001, n_img_tokens=16),
    "tiny_hf5": dict(seed=7002, n_img_tokens=17),
}

# step runs
LR = 2e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
WEIGHT_DECAY = 0.1
N_STEPS = 6
WARMUP_RATIO = 0.3
N_WARMUP = math.ceil(WARMUP_RATIO * N_STEPS)     # 2
MAX_GRAD_NORM = 1.0
SAVE_PARAMS_AFTER = (3, 6)

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()


def rel(p):
    return Path(p).relative_to(OUT).as_posix()


def write_json(path, obj):
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def write_f32(path, t):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(t.detach().cpu().numpy(), dtype="<f4").tofile(str(path))


def versions():
    return {"script": "tools/py/make_train_fixtures.py", "python": platform.python_version(),
            "torch": torch.__version__, "transformers": transformers.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__}


# --------------------------------------------------------------------------------------
# parameter names: transformers 5.24 in-memory name <-> transformers 4.x safetensors key
# --------------------------------------------------------------------------------------

def mem_to_hf4(name):
    if name.startswith("model.vision_tower."):
        return "vision_tower.vision_model." + name[len("model.vision_tower."):]
    if name.startswith("model.multi_modal_projector."):
        return name[len("model."):]
    if name.startswith("model.language_model."):
        return "language_model.model." + name[len("model.language_model."):]
    if name == "lm_head.weight":
        return "language_model.lm_head.weight"
    raise KeyError(name)


def file_key_to_hf4(k):   # the hf5 file spells the vision tower without vision_model.
    if k.startswith("vision_tower.") and not k.startswith("vision_tower.vision_model."):
        return "vision_tower.vision_model." + k[len("vision_tower."):]
    return k


def stage_of(name):
    if name.startswith("model.vision_tower."):
        return "vision"
    if name.startswith("model.multi_modal_projector."):
        return "projector"
    if name.startswith("model.language_model.") or name == "lm_head.weight":
        return "lm"
    raise KeyError(name)


STAGE_PARTS = {"stage1": {"projector"}, "stage2": {"projector", "lm"}, "vision": {"vision"}}


def no_decay(name):
    """Rule of the brief (HF Trainer get_decay_parameter_names: LayerNorm/RMSNorm weights and biases)."""
    n = name.lower()
    return "norm" in n or "layrnorm" in n or n.endswith(".bias")


def load_model(name):
    d = FIX / "models" / name
    m = LlavaForConditionalGeneration.from_pretrained(str(d), dtype=torch.float32, attn_implementation="eager")
    m.train()   # every dropout of these configs is 0.0, train() and eval() give the same numbers
    file_keys = {file_key_to_hf4(k) for k in load_file(str(d / "model.safetensors"))}
    mem_keys = {mem_to_hf4(n) for n, _ in m.named_parameters()}
    assert file_keys == mem_keys, (name, file_keys ^ mem_keys)
    return m


# --------------------------------------------------------------------------------------
# the batch
# --------------------------------------------------------------------------------------

def make_batch(name):
    spec = MODELS[name]
    g = torch.Generator().manual_seed(spec["seed"])

    def txt(n):
        t = torch.randint(3, 598, (n,), generator=g).tolist()
        assert all(3 <= x <= 597 for x in t)
        return t

    img = [IMAGE_TOKEN] * spec["n_img_tokens"]
    samples = []
    # segments: (ids, supervised?)
    # sample 0: bos, text, image, prompt, answer + eos (supervised)
    samples.append([([BOS_ID] + txt(3) + img + txt(5), False), (txt(4) + [EOS_ID], True)])
    # sample 1: two turns: bos, image, prompt, answer1 + eos, prompt2, answer2 + eos
    samples.append([([BOS_ID] + img + txt(2), False), (txt(2) + [EOS_ID], True),
                    (txt(1), False), (txt(2) + [EOS_ID], True)])
    # sample 2: text only
    samples.append([([BOS_ID] + txt(8), False), (txt(5) + [EOS_ID], True)])
    ids, labels = [], []
    for segs in samples:
        i, l = [], []
        for seg, sup in segs:
            i += seg
            l += seg if sup else [IGNORE] * len(seg)
        ids.append(i)
        labels.append(l)
    T = max(len(i) for i in ids)
    assert len(ids[0]) == T and len(ids[1]) < T and len(ids[2]) == 15
    lengths = [len(i) for i in ids]
    mask = [[1] * n + [0] * (T - n) for n in lengths]
    ids = [i + [PAD_ID] * (T - len(i)) for i in ids]
    labels = [l + [IGNORE] * (T - len(l)) for l in labels]
    px = torch.randn(2, 3, 32, 32, generator=g)
    return {"input_ids": ids, "labels": labels, "attention_mask": mask, "lengths": lengths,
            "pixel_values": px, "image_samples": [0, 1]}


def sub_batch(batch, idx):
    """Samples idx (in order), padding trimmed to their longest, pixel_values of their images."""
    T = max(batch["lengths"][i] for i in idx)
    t = lambda k: torch.tensor([batch[k][i][:T] for i in idx])
    imgs = [batch["image_samples"].index(i) for i in idx if i in batch["image_samples"]]
    px = batch["pixel_values"][imgs] if imgs else None
    return {"input_ids": t("input_ids"), "labels": t("labels"), "attention_mask": t("attention_mask"),
            "pixel_values": px}


def n_supervised(labels):   # tokens that count in the causal-LM loss (after the shift)
    return int((labels[..., 1:] != IGNORE).sum())


def forward(model, b, **kw):
    return model(input_ids=b["input_ids"], pixel_values=b["pixel_values"], attention_mask=b["attention_mask"],
                 labels=b["labels"], **kw)


def manual_loss(logits, labels):
    """float64 sum of token cross-entropies / number of supervised tokens, plus per-sample details."""
    lg = logits.detach().double()[:, :-1]
    tgt = labels[:, 1:]
    lsm = torch.log_softmax(lg, -1)
    per = []
    total, count = 0.0, 0
    for s in range(lg.shape[0]):
        pos = (tgt[s] != IGNORE).nonzero().flatten().tolist()
        ce = [float(-lsm[s, p, tgt[s, p]]) for p in pos]
        per.append({"target_positions": [p + 1 for p in pos], "n_supervised": len(pos), "loss_sum": sum(ce)})
        total += sum(ce)
        count += len(pos)
    return total / count, count, per


# --------------------------------------------------------------------------------------
# gradients
# --------------------------------------------------------------------------------------

def set_stage(model, stage):
    parts = STAGE_PARTS[stage]
    trainable, frozen = [], []
    for n, p in model.named_parameters():
        on = stage_of(n) in parts
        p.requires_grad_(on)
        p.grad = None
        (trainable if on else frozen).append(n)
    return trainable, frozen


def grads_for(model, batch_t, stage):
    trainable, frozen = set_stage(model, stage)
    out = forward(model, batch_t)
    out.loss.backward()
    params = dict(model.named_parameters())
    g = {n: (None if params[n].grad is None else params[n].grad.detach().clone()) for n in trainable}
    for n in frozen:
        assert params[n].grad is None
    return out.loss.detach(), g, trainable, frozen


def stage_record(name, model, batch_t, stage, ref_loss):
    loss, g, trainable, frozen = grads_for(model, batch_t, stage)
    assert torch.equal(loss, ref_loss), (name, stage)
    # float64 rerun of the same stage: the float32 noise level the C side can expect
    m64 = copy.deepcopy(model).double()
    b64 = dict(batch_t, pixel_values=batch_t["pixel_values"].double())
    loss64, g64, _, _ = grads_for(m64, b64, stage)
    shapes = dict((n, list(p.shape)) for n, p in model.named_parameters())
    entries, no_grad, zero_grad = [], [], []
    max_diff, max_rel = 0.0, 0.0
    total_sq = 0.0
    for n in trainable:
        key = mem_to_hf4(n)
        if g[n] is None:
            assert g64[n] is None
            no_grad.append(key)
            continue
        if not bool(g[n].any()):
            zero_grad.append(key)
        f = OUT / name / stage / f"{key}.f32"
        write_f32(f, g[n])
        gn = float(g[n].double().norm())
        total_sq += gn * gn
        d = float((g[n].double() - g64[n]).abs().max())
        max_diff = max(max_diff, d)
        e = {"key": key, "shape": shapes[n], "grad": rel(f), "grad_norm": gn,
             "grad_max_abs": float(g[n].abs().max()), "float64_max_abs_diff": d}
        if n.endswith("self_attn.k_proj.bias"):
            # adds q.b_k to every score of a query row: softmax is invariant, the exact gradient is 0
            e["analytically_zero"] = True
            assert float(g[n].abs().max()) < 1e-6
        else:
            max_rel = max(max_rel, d / max(float(g64[n].abs().max()), 1e-30))
        if n.endswith("embed_tokens.weight"):
            rows = (g[n] != 0).any(1).nonzero().flatten().tolist()
            e["nonzero_rows"] = len(rows)
            e["zero_rows_include"] = [r for r in (PAD_ID, IMAGE_TOKEN) if r not in rows]
        entries.append(e)
    rec = {"trainable": entries, "frozen": sorted(mem_to_hf4(n) for n in frozen),
           "no_grad": no_grad, "zero_grad": zero_grad, "grad_total_norm": math.sqrt(total_sq),
           "loss": float(loss), "float64": {"loss": float(loss64), "grad_max_abs_diff": max_diff,
                                             "grad_max_rel_diff": max_rel}}
    return rec, g


def tied_check(model, batch_t):
    """tiny_hf5: with lm_head untied into its own copy, grad(embed)+grad(lm_head) == tied grad(embed)."""
    m = copy.deepcopy(model)
    emb = m.model.language_model.embed_tokens.weight
    assert m.lm_head.weight is emb
    m.lm_head.weight = torch.nn.Parameter(emb.detach().clone())
    for p in m.parameters():
        p.requires_grad_(False)
    emb.requires_grad_(True)
    m.lm_head.weight.requires_grad_(True)
    forward(m, batch_t).loss.backward()
    return emb.grad + m.lm_head.weight.grad


# --------------------------------------------------------------------------------------
# optimizer steps
# --------------------------------------------------------------------------------------

class ShadowAdamW:
    """float64 numpy re-implementation of the documented update, checked against torch.optim.AdamW."""

    def __init__(self, params, wd):
        self.p = {n: p.detach().double().numpy().copy() for n, p in params.items()}
        self.m = {n: np.zeros_like(v) for n, v in self.p.items()}
        self.v = {n: np.zeros_like(v) for n, v in self.p.items()}
        self.wd = wd
        self.t = 0

    def step(self, grads, lr):
        self.t += 1
        b1, b2 = BETAS
        for n, g in grads.items():
            g = g.double().numpy()
            self.p[n] *= 1.0 - lr * self.wd[n]
            self.m[n] = b1 * self.m[n] + (1 - b1) * g
            self.v[n] = b2 * self.v[n] + (1 - b2) * g * g
            denom = np.sqrt(self.v[n]) / math.sqrt(1 - b2 ** self.t) + EPS
            self.p[n] -= lr / (1 - b1 ** self.t) * self.m[n] / denom


def lr_formula(step):   # step counted from 0
    if step < N_WARMUP:
        return LR * step / max(1, N_WARMUP)
    progress = (step - N_WARMUP) / max(1, N_STEPS - N_WARMUP)
    return LR * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def run_steps(name, batch, stage, micro, run_name, save_params):
    model = load_model(name)
    init = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainable, frozen = set_stage(model, stage)
    params = dict(model.named_parameters())
    hf_decay = set(get_parameter_names(
        model, [torch.nn.LayerNorm], [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]))
    decay = [n for n in trainable if not no_decay(n)]
    nodecay = [n for n in trainable if no_decay(n)]
    assert set(decay) == hf_decay & set(trainable), "rule differs from HF Trainer get_decay_parameter_names"
    opt = torch.optim.AdamW([{"params": [params[n] for n in decay], "weight_decay": WEIGHT_DECAY},
                             {"params": [params[n] for n in nodecay], "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS, amsgrad=False, maximize=False, foreach=False)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=N_WARMUP, num_training_steps=N_STEPS)
    shadow = ShadowAdamW({n: params[n] for n in trainable},
                         {n: (WEIGHT_DECAY if n in decay else 0.0) for n in trainable})
    mbs = [sub_batch(batch, idx) for idx in micro]
    n_items = sum(n_supervised(b["labels"]) for b in mbs)
    tp = [params[n] for n in trainable]
    losses, lrs, gnorms, micro_losses = [], [], [], []
    shadow_diff, clip_diff = 0.0, 0.0
    for step in range(N_STEPS):
        opt.zero_grad(set_to_none=True)
        step_loss, ml = 0.0, []
        for b in mbs:
            if len(mbs) == 1:
                loss = forward(model, b).loss              # transformers' mean over supervised tokens
            else:                                          # HF's rule: sum / tokens of the whole accumulated batch
                loss = forward(model, b, num_items_in_batch=torch.tensor(n_items)).loss
            loss.backward()
            ml.append(float(loss.detach()))
            step_loss += float(loss.detach())
        pre = {n: params[n].grad.detach().clone() for n in trainable}
        gn = float(torch.nn.utils.clip_grad_norm_(tp, MAX_GRAD_NORM))
        coef = min(1.0, MAX_GRAD_NORM / (gn + 1e-6))
        for n in trainable:
            err = (params[n].grad.double() - pre[n].double() * coef).abs().max()
            clip_diff = max(clip_diff, float(err) / max(float(pre[n].abs().max()), 1e-30))
        lr = opt.param_groups[0]["lr"]
        assert all(g["lr"] == lr for g in opt.param_groups)
        assert abs(lr - lr_formula(step)) < 1e-15, (step, lr, lr_formula(step))
        opt.step()
        sched.step()
        shadow.step({n: params[n].grad.detach() for n in trainable}, lr)
        for n in trainable:
            shadow_diff = max(shadow_diff, float(np.abs(params[n].detach().double().numpy() - shadow.p[n]).max()))
        losses.append(step_loss)
        micro_losses.append(ml)
        lrs.append(lr)
        gnorms.append(gn)
        if (step + 1) in save_params:
            for n in trainable:
                write_f32(OUT / name / f"steps_{run_name}" / f"after{step + 1}" / f"{mem_to_hf4(n)}.f32", params[n])
    with torch.no_grad():
        final = float(forward(model, sub_batch(batch, [0, 1, 2])).loss)
    for n in frozen:
        assert torch.equal(params[n], init[n]), n
    assert shadow_diff < 1e-5, shadow_diff
    assert clip_diff < 1e-6, clip_diff
    rec = {
        "stage": stage,
        "micro_batches": [list(m) for m in micro],
        "n_supervised_total": n_items,
        "loss_normalization": ("single batch: transformers' mean over all supervised tokens of the batch"
                               if len(mbs) == 1 else
                               "each micro-batch: model(..., num_items_in_batch=N).loss = (sum of its token "
                               "cross-entropies) / N, N = supervised tokens of the whole accumulated batch; "
                               "gradients summed by backward() over the micro-batches; step loss = sum"),
        "optimizer": {"type": "torch.optim.AdamW", "lr": LR, "betas": list(BETAS), "eps": EPS,
                      "amsgrad": False, "foreach": False,
                      "param_groups": [{"weight_decay": WEIGHT_DECAY, "keys": [mem_to_hf4(n) for n in decay]},
                                       {"weight_decay": 0.0, "keys": [mem_to_hf4(n) for n in nodecay]}]},
        "scheduler": {"type": "transformers.get_cosine_schedule_with_warmup", "num_warmup_steps": N_WARMUP,
                      "num_training_steps": N_STEPS, "num_cycles": 0.5,
                      "warmup_ratio": WARMUP_RATIO},
        "clip_grad_norm": {"max_norm": MAX_GRAD_NORM, "norm_type": 2.0,
                           "rule": "total = L2 norm over all trainable grads; if total > max: g *= max/(total+1e-6)"},
        "num_steps": N_STEPS,
        "losses": losses,
        "micro_losses": micro_losses,
        "lrs": lrs,
        "grad_norms": gnorms,
        "final_loss": final,
        "trainable_keys": [mem_to_hf4(n) for n in trainable],
        "frozen_keys": sorted(mem_to_hf4(n) for n in frozen),
        "frozen_bit_identical": True,
        "float64_shadow_adamw_max_abs_param_diff": shadow_diff,
        "params_after": {str(k): f"{name}/steps_{run_name}/after{k}" for k in save_params},
    }
    final_params = {n: params[n].detach().clone() for n in trainable}
    return rec, final_params


# --------------------------------------------------------------------------------------

NOTES = """\
BATCH
- input_ids/labels/attention_mask are [3][T] lists, right padded with id 0, mask 0 and label -100.
  labels[s][t] is the token the model must predict at position t (HF convention): the loss compares
  logits[s][t-1] with labels[s][t] (shift), i.e. target_positions t >= 1 where labels != -100.
- Image placeholders (id 599) are n_image_tokens consecutive ids per image; pixels.f32 holds the images of
  samples 0 and 1 in batch order ([2,3,32,32] float32, already normalised). Sample 2 has no image.
- Supervised: the answer ids and the closing id 2 of each answer (sample 1 has two answer spans).
LOSS
- loss = sum over the whole batch of -log softmax(logits[s][t-1])[labels[s][t]] / (number of such terms):
  ONE mean over all supervised tokens of the batch (not a mean of per-sample means). Recomputed in float64 from
  the transformers logits (loss_manual); loss_manual_matches is |loss - loss_manual| <= 1e-6.
- Padding: padded positions are keys masked out with the dtype minimum; with right padding real tokens never
  see them anyway, and their labels are -100, so the pad rows affect nothing.
GRADIENTS
- <stage>.trainable[i].grad = d loss / d param, float32, same shape as the parameter. Keys are the 4.x keys
  (vision_tower.vision_model.*, multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight).
- Frozen parameters (stage.frozen) get no gradient and, in the step runs, stay bit-identical.
- embed_tokens: rows of ids that do not occur (and row 599: image rows are overwritten by projector outputs,
  row 0: padding) get exactly zero gradient.
- tiny_hf5 has a tied head: language_model.model.embed_tokens.weight is the only tensor and its gradient is
  the sum of the embedding-lookup part and the lm_head part (checked against an untied copy: tied_grad_check).
- "vision" (tiny_hf4 only): vision tower trainable, everything else frozen but back-propagated through.
  vision_feature_layer -2 uses hidden_states[-2] = output of encoder layer 0, so encoder layer 1 and
  post_layernorm are computed but unused: their grads are None (listed in no_grad, no files).
  The CLIP self_attn.k_proj.bias gradient is analytically zero (the bias adds q.b_k to a whole score row and
  softmax ignores that); its file holds float32 rounding noise (~1e-9), marked analytically_zero: compare it
  with an absolute tolerance only. grad_max_rel_diff leaves it out.
- float64: the same stage recomputed with the model in float64; grad_max_abs_diff is the float32 noise level.
STEPS (tiny_hf4)
- Per step: zero grads; forward+backward (the recorded loss is that forward's, i.e. BEFORE the update);
  clip_grad_norm_(trainable, 1.0) (grad_norms = the pre-clip total norm it returns); lr = scheduler's current
  value (lrs); AdamW step; scheduler.step(). final_loss = loss on the whole batch after the last step.
- torch AdamW (decoupled weight decay), per parameter, t = 1,2,...:
  p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
  p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). (A float64 numpy shadow of this formula was run
  alongside; float64_shadow_adamw_max_abs_param_diff.)
- Weight decay 0.1 except the no-decay group (norm weights and biases: names with "norm"/"layrnorm" or ending
  in ".bias"; this equals transformers.Trainer.get_decay_parameter_names on the trainable parameters).
- get_cosine_schedule_with_warmup(warmup 2, total 6): lr(step) = 2e-3 * step/2 for step < 2, else
  2e-3 * 0.5*(1+cos(pi*(step-2)/4)); steps counted from 0, so THE FIRST STEP USES lr = 0 (the parameters do
  not move, but Adam's m, v and t are updated, and weight decay multiplies by 1 - 0 = 1).
- stage2_accum: micro-batches [0,1] (padded to their longest) and [2] (unpadded, no pixel_values); each
  micro-batch loss is its token-loss sum divided by the token count of the WHOLE accumulated batch, so the
  summed gradients equal the single-batch ones; matches_single_batch compares with stage2 (tolerance 1e-5 on
  losses, grad norms and final parameters).
- params_after/<N>/<key>.f32: trainable parameters after N steps (for a resume test: stop after 3, resume).
"""


def make_model(name):
    model = load_model(name)
    raw = make_batch(name)
    bt = sub_batch(raw, [0, 1, 2])
    assert bt["input_ids"].tolist() == raw["input_ids"]
    nimg = MODELS[name]["n_img_tokens"]
    for s, ids in enumerate(raw["input_ids"]):
        assert ids.count(IMAGE_TOKEN) == (nimg if s in raw["image_samples"] else 0)
    d = OUT / name
    write_f32(d / "pixels.f32", raw["pixel_values"])

    with torch.no_grad():
        out = forward(model, bt)
        model.eval()
        out_eval = forward(model, bt)
        model.train()
    assert torch.equal(out.loss, out_eval.loss)
    loss = float(out.loss)
    man, count, per = manual_loss(out.logits, bt["labels"])
    assert count == n_supervised(bt["labels"])
    assert abs(loss - man) <= 1e-6, (loss, man)

    info = {
        "model_dir": f"../models/{name}",
        "n_image_tokens": nimg,
        "batch": {"input_ids": raw["input_ids"], "labels": raw["labels"], "attention_mask": raw["attention_mask"],
                  "lengths": raw["lengths"], "image_samples": raw["image_samples"],
                  "pixels": rel(d / "pixels.f32"), "pixels_shape": list(raw["pixel_values"].shape),
                  "pixels_seed": MODELS[name]["seed"], "pad_id": PAD_ID, "ignore_index": IGNORE,
                  "n_supervised": count, "per_sample": per},
        "loss": loss,
        "loss_manual": man,
        "loss_manual_abs_diff": abs(loss - man),
        "loss_manual_matches": True,
        "tie_word_embeddings": bool(model.config.tie_word_embeddings),
        "stages": {},
    }
    stages = ["stage1", "stage2"] + (["vision"] if name == "tiny_hf4" else [])
    for st in stages:
        rec, g = stage_record(name, model, bt, st, out.loss.detach())
        info["stages"][st] = rec
        if st == "stage2" and info["tie_word_embeddings"]:
            summed = tied_check(model, bt)
            diff = float((summed - g["model.language_model.embed_tokens.weight"]).abs().max())
            assert diff < 1e-6, diff
            rec["tied_grad_check_max_abs_diff"] = diff
        print(name, st, "grad norm %.6g" % rec["grad_total_norm"], file=sys.stderr)
    for n, p in model.named_parameters():
        p.requires_grad_(False)

    if name == "tiny_hf4":
        steps = {}
        steps["stage2"], p_single = run_steps(name, raw, "stage2", [[0, 1, 2]], "stage2", SAVE_PARAMS_AFTER)
        steps["stage2_accum"], p_acc = run_steps(name, raw, "stage2", [[0, 1], [2]], "stage2_accum", ())
        a, s = steps["stage2_accum"], steps["stage2"]
        dl = max(abs(x - y) for x, y in zip(a["losses"] + [a["final_loss"]], s["losses"] + [s["final_loss"]]))
        dg = max(abs(x - y) for x, y in zip(a["grad_norms"], s["grad_norms"]))
        dp = max(float((p_single[n] - p_acc[n]).abs().max()) for n in p_single)
        a["matches_single_batch"] = bool(dl < 1e-5 and dg < 1e-5 and dp < 1e-5)
        a["single_batch_max_abs_diff"] = {"losses": dl, "grad_norms": dg, "params": dp}
        assert a["matches_single_batch"], a["single_batch_max_abs_diff"]
        steps["stage1"], _ = run_steps(name, raw, "stage1", [[0, 1, 2]], "stage1", (N_STEPS,))
        info["steps"] = steps
        for k, r in steps.items():
            print(name, k, "losses", ["%.5f" % x for x in r["losses"]], "final %.5f" % r["final_loss"],
                  file=sys.stderr)
    return info


def generate():
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    manifest = {"generator": versions(), "notes": NOTES,
                "f32_format": "raw little-endian float32, row-major, no header; shapes in the manifest",
                "models": {}}
    for name in MODELS:
        manifest["models"][name] = make_model(name)
    write_json(OUT / "manifest.json", manifest)
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    nfiles = sum(1 for f in OUT.rglob("*") if f.is_file())
    assert total < 4 * 1024 * 1024, total
    print(f"wrote {OUT.relative_to(ROOT)}: {nfiles} files, {total} bytes", file=sys.stderr)


# --------------------------------------------------------------------------------------
# check-checkpoint
# --------------------------------------------------------------------------------------

def check_checkpoint(args):
    mf = json.loads((OUT / "manifest.json").read_text())
    res = {"loaded": False, "missing_keys": [], "unexpected_keys": [], "mismatched_keys": [],
           "max_abs_err": None, "transformers": transformers.__version__, "torch": torch.__version__,
           "checkpoint": Path(args.dir).name, "error": None}
    try:
        cfg = json.loads((Path(args.dir) / "config.json").read_text())
        name = args.model
        if name is None:
            vc = cfg["vision_config"]
            strategy = cfg.get("vision_feature_select_strategy", "default")
            n = (vc["image_size"] // vc["patch_size"]) ** 2 + (1 if strategy == "full" else 0)
            cands = [k for k, v in mf["models"].items() if v["n_image_tokens"] == n]
            if len(cands) != 1:
                raise ValueError(f"cannot pick the batch for {n} image tokens per image; use --model")
            name = cands[0]
        entry = mf["models"][name]
        res["batch_model"] = name
        b = entry["batch"]
        ids = b["input_ids"][0][:b["lengths"][0]]
        px = np.fromfile(str(OUT / b["pixels"]), dtype="<f4").reshape(b["pixels_shape"])[:1]
        model, li = LlavaForConditionalGeneration.from_pretrained(
            args.dir, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
        res["loaded"] = True
        res["missing_keys"] = sorted(li.get("missing_keys", []))
        res["unexpected_keys"] = sorted(li.get("unexpected_keys", []))
        res["missing_keys_hf4"] = [mem_to_hf4(k) if k.startswith(("model.", "lm_head.")) else k
                                   for k in res["missing_keys"]]
        res["mismatched_keys"] = sorted(str(x[0]) if isinstance(x, (tuple, list)) else str(x)
                                        for x in li.get("mismatched_keys", []))
        model.eval()
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids]), pixel_values=torch.from_numpy(px.copy())).logits[0]
        res["positions"], res["vocab"] = int(logits.shape[0]), int(logits.shape[1])
        if args.save_logits:
            write_f32(args.save_logits, logits)
        if args.logits:
            ref = np.fromfile(args.logits, dtype="<f4")
            if ref.size != logits.numel():
                raise ValueError(f"--logits has {ref.size} floats, expected {logits.shape[0]}x{logits.shape[1]}")
            res["max_abs_err"] = float(np.abs(ref.reshape(logits.shape).astype(np.float64)
                                              - logits.double().numpy()).max())
    except Exception as e:   # report, do not crash: the JSON is the result
        res["error"] = f"{type(e).__name__}: {e}"
    res["tol"] = args.tol
    res["ok"] = bool(res["loaded"] and not res["missing_keys"] and not res["unexpected_keys"]
                     and not res["mismatched_keys"] and res["max_abs_err"] is not None
                     and res["max_abs_err"] <= args.tol)
    write_json(args.out, res)
    print(json.dumps(res, sort_keys=True), file=sys.stderr)
    return 0 if res["ok"] else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    cc = sub.add_parser("check-checkpoint", help="load a checkpoint written by llava.h and compare logits")
    cc.add_argument("dir", help="checkpoint directory (config.json + model.safetensors)")
    cc.add_argument("out", help="JSON report to write")
    cc.add_argument("--logits", help="float32 [positions][vocab] logits llava.h computed for sample 0")
    cc.add_argument("--model", choices=sorted(MODELS), help="whose batch to use (default: from the config)")
    cc.add_argument("--tol", type=float, default=1e-4, help="max_abs_err allowed for ok (default 1e-4)")
    cc.add_argument("--save-logits", help="also write the transformers logits (float32) here")
    args = ap.parse_args()
    if args.cmd == "check-checkpoint":
        sys.exit(check_checkpoint(args))
    generate()


if __name__ == "__main__":
    main()
