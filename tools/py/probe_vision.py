#!/usr/bin/env python3
"""What a trained vision tower knows, patch by patch: linear probes on its patch features.

    python tools/py/probe_vision.py --model DIR --world DIR [--images 800] [--layers 0,-2]

For every patch whose centre lies inside an object's box (the topmost object where boxes overlap), the
label is that object's colour and, separately, its shape. A linear classifier is fitted on 70% of the
patches (standardized features, full-batch Adam) and scored on the rest, for each hidden-state layer
asked for (0: the embeddings; -2: what LLaVA's projector reads). Colour is visible inside a single patch;
shape is not (an object's inside is one flat colour), so a shape probe above the majority class shows
that the tower has learned to combine patches into objects.

Needs torch, transformers and Pillow (the model is loaded with transformers'
LlavaForConditionalGeneration, so this also checks that the checkpoint loads there).
"""
import argparse
import json
import os

import numpy as np
import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration

SHAPES = ["circle", "square", "triangle", "star", "cross", "ring", "diamond"]
COLORS = ["red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "brown", "white", "black"]


def probe(x, y, n_classes, seed):
    """held-out accuracy of a linear classifier x -> y (70/30 split, in the given order)"""
    torch.manual_seed(seed)
    n = int(len(x) * 0.7)
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y)
    mu, sd = x[:n].mean(0), x[:n].std(0) + 1e-6
    x = (x - mu) / sd
    clf = torch.nn.Linear(x.shape[1], n_classes)
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(clf(x[:n]), y[:n]).backward()
        opt.step()
    with torch.no_grad():
        acc = (clf(x[n:]).argmax(1) == y[n:]).float().mean().item()
    majority = np.bincount(y[n:].numpy()).max() / (len(y) - n)
    return acc, majority


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="LLaVA model directory (Hugging Face layout)")
    ap.add_argument("--world", required=True, help="build/world's directory (world.json, images/)")
    ap.add_argument("--images", type=int, default=800, help="images used (the first N of the world)")
    ap.add_argument("--layers", default="0,-2", help="hidden-state layers to probe (default 0,-2)")
    args = ap.parse_args()

    world = json.load(open(os.path.join(args.world, "world.json")))
    model = LlavaForConditionalGeneration.from_pretrained(args.model, torch_dtype=torch.float32).eval()
    tower = model.model.vision_tower if hasattr(model, "model") else model.vision_tower
    proc = json.load(open(os.path.join(args.model, "preprocessor_config.json")))
    mean, std = np.array(proc["image_mean"]), np.array(proc["image_std"])
    size = tower.config.image_size
    grid = size // tower.config.patch_size

    pixels, shape_lab, color_lab = [], [], []
    for sc in world["images"][: args.images]:
        img = Image.open(os.path.join(args.world, sc["file"])).convert("RGB")
        if img.size != (size, size):
            raise SystemExit(f"{sc['file']}: {img.size[0]}x{img.size[1]}, the tower takes {size}x{size}")
        pixels.append(((np.asarray(img, dtype=np.float32) / 255 - mean) / std).transpose(2, 0, 1))
        s, c = np.full(grid * grid, -1), np.full(grid * grid, -1)
        for o in sc["objects"]:  # drawing order: later objects on top
            x1, y1, x2, y2 = o["box"]
            for p in range(grid * grid):
                cx, cy = (p % grid + 0.5) / grid, (p // grid + 0.5) / grid
                if x1 <= cx <= x2 and y1 <= cy <= y2:
                    s[p], c[p] = SHAPES.index(o["shape"]), COLORS.index(o["color"])
        shape_lab.append(s)
        color_lab.append(c)
    with torch.no_grad():
        hidden = tower(torch.tensor(np.stack(pixels), dtype=torch.float32), output_hidden_states=True).hidden_states
    shape_lab, color_lab = np.concatenate(shape_lab), np.concatenate(color_lab)
    keep = shape_lab >= 0
    print(f"{args.model}: {len(pixels)} images, {keep.sum()} object patches")
    for layer in (int(v) for v in args.layers.split(",")):
        feats = hidden[layer][:, 1:, :].reshape(-1, hidden[layer].shape[-1]).numpy()[keep]  # CLS dropped
        for name, lab, k in (("colour", color_lab, len(COLORS)), ("shape", shape_lab, len(SHAPES))):
            acc, maj = probe(feats, lab[keep], k, 0)
            print(f"  layer {layer:3d}  {name:6s} probe accuracy {100 * acc:5.1f}%  (majority class {100 * maj:5.1f}%)")


if __name__ == "__main__":
    main()
