"""Writes the fixtures of a LLaMA-family language model alone (LlamaForCausalLM.save_pretrained, no vision
tower) into tests/fixtures/lm: two tiny random models (untied with grouped-query attention; tied
embeddings with attention biases), each with the tiny600 tokenizer beside it, and for one prompt the
logits of every position and 12 greedy ids from transformers, which tests/test_llava.c compares with
llava_model_load(DIR) (config text_only).

usage: python tools/py/make_lm_fixtures.py   (from the repository root)"""
import json
import os
import shutil

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

OUT = os.path.join("tests", "fixtures", "lm")
TOK = os.path.join("tests", "fixtures", "tokenizer", "tiny600")
IDS = [1, 17, 250, 33, 98, 411, 5, 77, 302, 12, 64, 513, 9, 140]


def versions():
    import importlib.metadata as md
    return {p: md.version(p) for p in ("torch", "transformers", "safetensors", "numpy")}


def make(name, seed, **kw):
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=599, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                      max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0, bos_token_id=1, eos_token_id=2,
                      **kw)
    m = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # weights far from the init's tiny values, so that every path shows in the logits
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    m.save_pretrained(d, safe_serialization=True)
    # tiny600's tokenizer without its "<image>" (id 599): a language model's own vocabulary, to which
    # assembling a LLaVA adds the image token
    tj = json.load(open(os.path.join(TOK, "tokenizer.json")))
    tj["added_tokens"] = [t for t in tj["added_tokens"] if t["content"] != "<image>"]
    tj["model"]["vocab"].pop("<image>", None)
    json.dump(tj, open(os.path.join(d, "tokenizer.json"), "w"), ensure_ascii=False)
    tc = json.load(open(os.path.join(TOK, "tokenizer_config.json")))
    tc["added_tokens_decoder"] = {k: v for k, v in tc["added_tokens_decoder"].items() if v["content"] != "<image>"}
    json.dump(tc, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=1)
    ids = torch.tensor([IDS])
    with torch.no_grad():
        logits = m(ids).logits[0].float().numpy()
        out = m.generate(ids, max_new_tokens=12, do_sample=False, eos_token_id=None, pad_token_id=0)[0, len(IDS):].tolist()
    logits.astype("<f4").tofile(os.path.join(d, "logits.f32"))
    # (the schema of tests/fixtures/manifest.json's cases, paths relative to tests/fixtures)
    return {"name": name, "model": "lm/" + name, "logits": "lm/" + name + "/logits.f32", "ids": IDS, "n_images": 0,
            "positions": len(IDS), "vocab": 599, "greedy": out, "tied": bool(cfg.tie_word_embeddings),
            "kv_heads": cfg.num_key_value_heads, "attention_bias": bool(cfg.attention_bias)}


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [make("tiny_llama", 11, num_key_value_heads=2, tie_word_embeddings=False),
             make("tiny_llama_tied", 12, num_key_value_heads=4, tie_word_embeddings=True, attention_bias=True)]
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"versions": versions(), "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
