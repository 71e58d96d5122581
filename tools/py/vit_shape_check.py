#!/usr/bin/env python3
"""Can the mini vision tower learn shapes, and from how many images? A supervised check.

    python tools/py/vit_shape_check.py --train DIR[,DIR...] --test DIR [--n 4800] [--steps 6000] [--lr 5e-4]
                                    [--pos learned|sincos] [--readout cls|mean] [--device cuda]

A CLIP vision tower of the `mini` shape (docs/performance.md) (transformers' CLIPVisionModel, initialized as
llava_model_new does: N(0, 0.02), norms 1, biases 0) with a linear head is trained to say which of the
7 shapes are in an image (multi-label, binary cross-entropy, AdamW with CLIP's betas, 5% warmup then
cosine, gradient norm clipped at 1, batch 64). Per-label and exact-match accuracy on the --test world
(its first 1,000 images) are printed at a few steps; guessing "absent" everywhere is the baseline.
--train takes build/world directories (several are joined, comma-separated); their first --n images
train. No text is involved: this separates "the tower cannot learn shapes" from "CLIP's captions do
not ask for them" (docs/reproduction.md, "Shapes in the vision tower").

Needs torch, transformers, numpy and Pillow. A GPU makes it quick (8 runs of 6,000 steps at once in
about 3 minutes on one H200); on 2 CPU cores 1,300 steps took about 190 s.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
from PIL import Image
from transformers import CLIPVisionConfig, CLIPVisionModel

SHAPES = ["circle", "square", "triangle", "star", "cross", "ring", "diamond"]
MEAN = [0.48145466, 0.4578275, 0.40821073]  # CLIP's, as preprocessor_config.json has them
STD = [0.26862954, 0.26130258, 0.27577711]


def load(dirs, n):
    """the first n images of the worlds in dirs (comma-separated) -> uint8 [n,64,64,3], labels [n,7]"""
    scenes = [(d, s) for d in dirs.split(",") for s in json.load(open(os.path.join(d, "world.json")))["images"]][:n]
    x = np.stack([np.asarray(Image.open(os.path.join(d, s["file"])).convert("RGB")) for d, s in scenes])
    y = np.zeros((len(scenes), len(SHAPES)), np.float32)
    for i, (_, s) in enumerate(scenes):
        for o in s["objects"]:
            y[i, SHAPES.index(o["shape"])] = 1
    return torch.tensor(x), torch.tensor(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True, help="world directories, comma-separated")
    ap.add_argument("--test", required=True, help="a world directory of a different seed")
    ap.add_argument("--n", type=int, default=4800, help="training images (default 4800)")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--pos", choices=["learned", "sincos"], default="learned",
                    help="position embeddings initialized at random (learned) or as 2-D sines")
    ap.add_argument("--readout", choices=["cls", "mean"], default="cls")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    dev = a.device

    xtr, ytr = load(a.train, a.n)
    xte, yte = load(a.test, 1000)
    xtr, ytr, xte, yte = xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev)
    mean = torch.tensor(MEAN, device=dev).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=dev).view(1, 3, 1, 1)

    cfg = CLIPVisionConfig(hidden_size=128, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                           image_size=64, patch_size=8, hidden_act="quick_gelu", layer_norm_eps=1e-5)
    model = CLIPVisionModel(cfg).to(dev)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.zero_()
            elif "norm" in name:
                p.fill_(1)
            else:
                p.normal_(0, 0.02)
        if a.pos == "sincos":
            vm = model.vision_model if hasattr(model, "vision_model") else model
            g, d = 8, 128
            om = 1.0 / 10000 ** (torch.arange(d // 4, dtype=torch.float32) / (d // 4))
            ys, xs = torch.meshgrid(torch.arange(g, dtype=torch.float32), torch.arange(g, dtype=torch.float32), indexing="ij")
            ex, ey = xs.reshape(-1, 1) * om, ys.reshape(-1, 1) * om
            pe = vm.embeddings.position_embedding.weight
            pe[0] = 0
            pe[1:] = torch.cat([ex.sin(), ex.cos(), ey.sin(), ey.cos()], 1).to(dev)
    head = torch.nn.Linear(128, len(SHAPES)).to(dev)
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": a.wd},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-6)
    warm = max(1, int(0.05 * a.steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, a.steps - warm))))

    def features(x):
        out = model(pixel_values=(x.permute(0, 3, 1, 2).float() / 255 - mean) / std)
        return out.pooler_output if a.readout == "cls" else out.last_hidden_state[:, 1:].mean(1)

    def evaluate():
        model.eval()
        with torch.no_grad():
            pred = torch.cat([head(features(xte[i:i + 500])) for i in range(0, len(xte), 500)]) > 0
        model.train()
        right = pred == (yte > 0)
        return 100 * right.float().mean().item(), 100 * right.all(1).float().mean().item()

    print(f"{len(xtr)} training images, lr {a.lr}, position embeddings {a.pos}, readout {a.readout}; "
          f"guessing 'absent' gets {100 * (yte == 0).float().mean().item():.1f}% per label", flush=True)
    gen = torch.Generator().manual_seed(a.seed)
    t0 = time.time()
    for step in range(1, a.steps + 1):
        idx = torch.randint(0, len(xtr), (64,), generator=gen).to(dev)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(head(features(xtr[idx])), ytr[idx])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step in (400, 800, 1600, 3000, 6000, 12000) or step == a.steps:
            acc, exact = evaluate()
            print(f"step {step}: per label {acc:.1f}%, every label right {exact:.1f}% ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
