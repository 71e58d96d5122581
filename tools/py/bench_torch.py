#!/usr/bin/env python3
"""PyTorch on the same shapes as tools/bench.c, in the same `make bench` run.

Reads bench.json (written by build/bench just before), measures PyTorch (CPU, float32, the same
number of threads) on the same matmul shapes, the same decode GEMV and the 7b CLIP vision tower
encode (transformers' CLIPVisionModel with random weights), and appends entries
{"name": "<ours>_vs_torch", "value": ours, "ref_name": "torch", "ref_value": torch, "ratio": ours/torch}.
Skips quietly when torch is not installed (it is a developer dependency only).
"""
import json
import os
import statistics
import sys
import time


def median_time(fn, reps):
    fn()  # warm up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def torch_train_mini(torch):
    """transformers' LlavaForConditionalGeneration at the `mini` shapes, the same batch layout as
    tools/bench.c (8 x 256: 64 image rows, 192 text, last 160 supervised), vision frozen, AdamW, eager f32"""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration
    V, B, T, P = 2048, 8, 256, 64
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=128, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                                       image_size=64, patch_size=8, hidden_act="quick_gelu"),
        text_config=LlamaConfig(hidden_size=256, intermediate_size=688, num_hidden_layers=6, num_attention_heads=8,
                                num_key_value_heads=4, vocab_size=V, max_position_embeddings=256, rms_norm_eps=1e-5),
        image_token_index=V - 1, vision_feature_layer=-2, vision_feature_select_strategy="default")
    cfg._attn_implementation = "sdpa"
    model = LlavaForConditionalGeneration(cfg).train()
    for n, p in model.named_parameters():
        p.requires_grad_("vision_tower" not in n)
    ids = torch.randint(3, V - 2, (B, T))
    ids[:, 0] = 1
    ids[:, 1:1 + P] = V - 1
    labels = ids.clone()
    labels[:, :T - 160] = -100
    px = torch.randn(B, 3, 64, 64)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5, weight_decay=0.0)

    def step():
        loss = model(input_ids=ids, pixel_values=px, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    with torch.enable_grad():
        t = median_time(step, 4)
    return B * T / t


def main():
    try:
        import torch
    except ImportError:
        print("bench_torch: torch is not installed; skipping the PyTorch comparison")
        return 0
    path = sys.argv[1] if len(sys.argv) > 1 else "bench.json"
    with open(path) as f:
        entries = json.load(f)
    ours = {e["name"]: e for e in entries}
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    added = []

    def add(name, our_value, torch_value, unit, config):
        e = {"name": name + "_vs_torch", "value": our_value, "unit": unit, "ref_name": "torch " + torch.__version__,
             "ref_value": torch_value, "ratio": our_value / torch_value, "config": config, "threads": threads}
        added.append(e)
        print(f"{e['name']:<44} {our_value:12.3f} {unit:<9} {'torch':<30} {torch_value:12.3f} {e['ratio']:8.3f}")

    with torch.no_grad():
        for name, (T, C, OC) in {"matmul_577x1024x1024_f32": (577, 1024, 1024),
                                 "matmul_577x4096x1024_f32": (577, 1024, 4096)}.items():
            if name not in ours:
                continue
            x, w = torch.randn(T, C), torch.randn(OC, C)
            t = median_time(lambda: torch.nn.functional.linear(x, w), 7)
            add(name, ours[name]["value"], 2 * T * C * OC / t * 1e-9, "GFLOP/s", "7b")
        if "gemv_1x4096x4096_bf16" in ours:
            ws = [torch.randn(4096, 4096).to(torch.bfloat16) for _ in range(12)]
            x = torch.randn(1, 4096).to(torch.bfloat16)
            k = [0]

            def gemv():
                k[0] += 1
                return torch.nn.functional.linear(x, ws[k[0] % 12])
            t = median_time(gemv, 48)
            add("gemv_1x4096x4096_bf16", ours["gemv_1x4096x4096_bf16"]["value"], 4096 * 4096 * 2 / t * 1e-9, "GB/s", "7b")
        if "7b_encode_image" in ours:
            from transformers import CLIPVisionConfig, CLIPVisionModel
            cfg = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16,
                                   image_size=336, patch_size=14, attn_implementation="sdpa")
            model = CLIPVisionModel(cfg).eval()
            px = torch.randn(1, 3, 336, 336)
            t = median_time(lambda: model(px, output_hidden_states=False), 3)
            ms = ours["7b_encode_image"]["value"]
            # higher is better for us: images per second
            add("7b_encode_image_per_s", 1000.0 / ms, 1.0 / t, "image/s", "7b (23 CLIP layers, torch f32)")
        if "train_mini_stage2" in ours:
            add("train_mini_stage2", ours["train_mini_stage2"]["value"], torch_train_mini(torch), "tok/s", "mini B=8 T=256 stage 2 f32")
    entries.extend(added)
    with open(path, "w") as f:
        json.dump(entries, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
