#!/usr/bin/env python3
"""Makes tests/fixtures/chatml/cases.json: conversations rendered with transformers' apply_chat_template
and the chat templates of Qwen2-Instruct, SmolLM2-Instruct and LLaVA-OneVision (below, as those models
ship them), tokenized with two test tokenizers that have <|im_start|>, <|im_end|> and <image> as added
tokens: tests/fixtures/gguftok/smollm (SmolLM2's layout: Digits + ByteLevel) and
tests/fixtures/tokenizer_unicode/qwen2_nfc (Qwen2's layout: Split + ByteLevel, an NFC normalizer).

Each case holds the messages as llava.h takes them (role, text; "<image>" marks an image), the system
message the Jinja template adds by itself when the conversation has none (tests pass it as the first
message: llava.h's chatml template writes only the messages it is given), the rendered text, the ids
(each "<image>" token repeated `repeat` times as the image placeholder) and the labels. The labels are
made turn by turn, in the way of LLaVA-NeXT's preprocess_qwen: every piece of the conversation is
tokenized on its own, an assistant's text and its "<|im_end|>" supervised, the rest IGNORE_INDEX;
the pieces' ids must join to the ids of the whole text (checked here).

For the LLaVA-OneVision template a message's content is given as transformers' list of parts: one
{"type": "image"} per "<image>" mark, then the text without the marks, stripped (as LLaVA's
preprocess_multimodal strips it).

Template sources: Qwen/Qwen2-7B-Instruct tokenizer_config.json "chat_template";
HuggingFaceTB/SmolLM2-135M-Instruct tokenizer_config.json "chat_template" (also the tokenizer.chat_template
of its GGUF files); transformers src/transformers/models/llava_onevision/convert_llava_onevision_weights_to_hf.py
"chat_template" (llava-hf/llava-onevision-qwen2-*-hf).

Also tests/fixtures/chatml/tiny-chatml.gguf: a tiny random LLaMA (F16, untied lm_head) with the smollm
test tokenizer (tokenizer.ggml.*, eos <|im_end|>) and SmolLM2's chat template, written as
convert_hf_to_gguf.py writes a LlamaForCausalLM; and tiny-chatml.json, its greedy answers from
transformers' generate with eos_token_id [<|im_end|>, <|endoftext|>] (as Qwen2-Instruct's
generation_config.json lists them) for prompts rendered with the template's default system message
(also as tiny-chatml.expected.tsv for tests/test_chat.sh).
The lm_head rows of <|im_end|> and <|endoftext|> are set (from the model's own final hidden states) so
that one answer ends on each.

usage: python3 tools/py/make_chatml_fixtures.py"""
import json
import os
import sys

import gguf
import numpy as np
import tokenizers
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_gguf_fixtures as mgf  # noqa: E402  (permute, add: the converter's layout)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(FIX, "chatml")
IGNORE = -100

QWEN2 = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
         "{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}"
         "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
         "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
SMOLLM2 = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
           "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
           "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
           "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
ONEVISION = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}"
             "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
             "{{ '<image>\n' }}{% endfor %}"
             "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
             "{{ '<video>\n' }}{% endfor %}"
             "{# Render all text next #}{% if message['role'] != 'assistant' %}"
             "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
             "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
             "{% generation %}{{ content['text'] }}{% endgeneration %}{% endfor %}{% endif %}"
             "{{'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
TEMPLATES = {"qwen2": QWEN2, "smollm2": SMOLLM2, "onevision": ONEVISION}
DEFAULT_SYSTEM = {"qwen2": "You are a helpful assistant",
                  "smollm2": "You are a helpful AI assistant named SmolLM, trained by Hugging Face", "onevision": None}
TOKENIZERS = {"smollm": "gguftok/smollm", "qwen2_nfc": "tokenizer_unicode/qwen2_nfc"}

CONVS = [
    # (template, messages, add_generation_prompt)
    ("smollm2", [["user", "What is the capital of France?"]], True),
    ("qwen2", [["user", "What is the capital of France?"]], True),
    ("smollm2", [["user", "Hi there!"], ["assistant", "Hello! How can I help you today?"], ["user", "Count: 1, 2, 3."],
                 ["assistant", "1, 2, 3, 4, 5 \u2014 done."]], False),
    ("qwen2", [["system", "You answer in French."], ["user", "Good morning"], ["assistant", "Bonjour ! Caf\u00e9 ?"]], False),
    ("qwen2", [["system", "Be brief."], ["user", "  spaces around  "], ["assistant", " leading space"], ["user", "tabs\tand\nnewlines\n"],
               ["assistant", "\n\nstarts with newlines\n"]], False),
    ("smollm2", [["user", "\u4f60\u597d\uff0c\u4e16\u754c"], ["assistant", "\u3053\u3093\u306b\u3061\u306f \U0001F600"], ["user", "again"]], True),
    ("qwen2", [["user", "Empty answer next"], ["assistant", ""], ["user", "ok"]], True),
    ("onevision", [["user", "<image>\nWhat is in the picture?"], ["assistant", "A red circle."]], False),
    ("onevision", [["system", "You are a helpful assistant."], ["user", "Describe <image> this"], ["assistant", "Two shapes."],
                   ["user", "And the colors?"], ["assistant", "Red and blue."]], False),
    ("onevision", [["user", "<image><image>Compare the two images."]], True),
]


def hf_messages(template, conv):
    if template != "onevision":
        return [{"role": r, "content": t} for r, t in conv]
    out = []
    for r, t in conv:
        parts = [{"type": "image"} for _ in range(t.count("<image>"))]
        text = t.replace("<image>", "")
        parts.append({"type": "text", "text": text.strip() if parts else text})
        out.append({"role": r, "content": parts})
    return out


def main():
    cases = []
    for tname, rel in TOKENIZERS.items():
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(FIX, rel, "tokenizer.json"))
        image_id = tok.convert_tokens_to_ids("<image>")
        for template, conv, gen in CONVS:
            text = tok.apply_chat_template(hf_messages(template, conv), chat_template=TEMPLATES[template], tokenize=False,
                                           add_generation_prompt=gen)
            system = DEFAULT_SYSTEM[template] if conv[0][0] != "system" else None
            full = [{"role": "system", "content": system}] + hf_messages(template, conv) if system else hf_messages(template, conv)
            # the pieces, each tokenized on its own: role headers and separators ignored, answers and their end supervised
            ids, labels, rendered = [], [], ""
            for m in full:
                content = m["content"]
                if isinstance(content, list):
                    body = "<image>\n" * sum(p["type"] == "image" for p in content) + "".join(p["text"] for p in content if p["type"] == "text")
                else:
                    body = content
                sup = m["role"] == "assistant"
                for piece, s in (("<|im_start|>" + m["role"] + "\n", False), (body, sup), ("<|im_end|>", sup), ("\n", False)):
                    if not piece:
                        continue
                    p = tok(piece, add_special_tokens=False).input_ids
                    ids += p
                    labels += p if s else [IGNORE] * len(p)
                    rendered += piece
            if gen:
                p = tok("<|im_start|>assistant\n", add_special_tokens=False).input_ids
                ids += p
                labels += [IGNORE] * len(p)
                rendered += "<|im_start|>assistant\n"
            assert rendered == text, (template, rendered, text)
            whole = tok(text, add_special_tokens=False).input_ids
            assert whole == ids, (tname, template, text, whole, ids)
            repeat = 3
            eids, elabels = [], []
            for i, l in zip(ids, labels):
                k = repeat if i == image_id else 1
                eids += [i] * k
                elabels += [l] * k
            cases.append({"tokenizer": rel, "template": template, "conv": conv, "default_system": system,
                          "add_generation_prompt": gen, "text": text, "image_id": image_id, "repeat": repeat,
                          "ids": eids, "labels": elabels})
    detect = [{"name": n, "template": t, "default_system": DEFAULT_SYSTEM[n]} for n, t in TEMPLATES.items()]
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                                "python": sys.version.split()[0]},
                   "cases": cases, "templates": detect}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"{len(cases)} cases -> {os.path.relpath(OUT, ROOT)}/cases.json")
    make_model()


PROMPTS = ["What is the capital of France?", "Tell me a story.", "Hi"]
MAX_NEW = 24


def greedy(model, ids):
    out = model.generate(torch.tensor([ids]), max_new_tokens=MAX_NEW, do_sample=False, eos_token_id=[2, 0], pad_token_id=0)
    return out[0, len(ids):].tolist()


def final_hidden(model, ids, k):
    """the final-norm hidden state that predicts greedy answer token k"""
    ans = greedy(model, ids)
    seq = ids + ans[:k]
    with torch.no_grad():
        h = model.model(torch.tensor([seq])).last_hidden_state[0, -1]
    return h


def make_model():
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(FIX, "gguftok", "smollm", "tokenizer.json"))
    assert tok.convert_tokens_to_ids("<|im_end|>") == 2 and tok.convert_tokens_to_ids("<|endoftext|>") == 0
    V = 1201
    cfg = LlamaConfig(vocab_size=V, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                      num_key_value_heads=1, head_dim=8, max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0,
                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(7)
    model = LlamaForCausalLM(cfg).float().eval()
    with torch.no_grad():
        for n, p in model.named_parameters():  # peaked logits: greedy chains far from ties
            if "norm" not in n:
                p.normal_(0, 1.0 if "embed" in n or "lm_head" in n else 0.5)
            p.copy_(p.half().float())  # the weights exactly as the F16 file holds them
    prompts = [tok.apply_chat_template([{"role": "user", "content": q}], chat_template=SMOLLM2, tokenize=False, add_generation_prompt=True)
               for q in PROMPTS]
    ids = [tok(p, add_special_tokens=False).input_ids for p in prompts]
    # answer 0 ends on <|im_end|>, answer 1 on <|endoftext|> (asserted below)
    with torch.no_grad():
        for stop, which, k in ((2, 0, 5), (0, 1, 8)):
            h = final_hidden(model, ids[which], k)
            logits = model.lm_head.weight @ h
            logits[stop] = -1e9
            # just above the best other logit there: elsewhere (another direction) it stays below
            model.lm_head.weight[stop] = (h * (logits.max() + 1.0) / h.dot(h)).half().float()
    answers = [greedy(model, i) for i in ids]
    assert answers[0][-1] == 2 and answers[1][-1] == 0, answers
    expected = [{"prompt": q, "ids": a, "text": tok.decode(a, skip_special_tokens=True)} for q, a in zip(PROMPTS, answers)]
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    path = os.path.join(OUT, "tiny-chatml.gguf")
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_name("tiny chatml text model")
    w.add_context_length(256)
    w.add_embedding_length(16)
    w.add_block_count(1)
    w.add_feed_forward_length(32)
    w.add_rope_dimension_count(8)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_key_length(8)
    w.add_value_length(8)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_vocab_size(V)
    r = gguf.GGUFReader(os.path.join(FIX, "gguftok", "smollm.gguf"))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(r.fields["tokenizer.ggml.pre"].contents())
    w.add_token_list(r.fields["tokenizer.ggml.tokens"].contents())
    w.add_token_types(r.fields["tokenizer.ggml.token_type"].contents())
    w.add_token_merges(r.fields["tokenizer.ggml.merges"].contents())
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template(SMOLLM2)
    mgf.add(w, "token_embd.weight", sd["model.embed_tokens.weight"])
    q = "model.layers.0."
    mgf.add(w, "blk.0.attn_norm.weight", sd[q + "input_layernorm.weight"])
    mgf.add(w, "blk.0.attn_q.weight", mgf.permute(sd[q + "self_attn.q_proj.weight"], 2, 2))
    mgf.add(w, "blk.0.attn_k.weight", mgf.permute(sd[q + "self_attn.k_proj.weight"], 2, 1))
    mgf.add(w, "blk.0.attn_v.weight", sd[q + "self_attn.v_proj.weight"])
    mgf.add(w, "blk.0.attn_output.weight", sd[q + "self_attn.o_proj.weight"])
    mgf.add(w, "blk.0.ffn_norm.weight", sd[q + "post_attention_layernorm.weight"])
    mgf.add(w, "blk.0.ffn_gate.weight", sd[q + "mlp.gate_proj.weight"])
    mgf.add(w, "blk.0.ffn_up.weight", sd[q + "mlp.up_proj.weight"])
    mgf.add(w, "blk.0.ffn_down.weight", sd[q + "mlp.down_proj.weight"])
    mgf.add(w, "output_norm.weight", sd["model.norm.weight"])
    mgf.add(w, "output.weight", sd["lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(os.path.join(OUT, "tiny-chatml.json"), "w", encoding="utf-8") as f:
        json.dump({"versions": {"transformers": transformers.__version__, "torch": torch.__version__, "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "",
                                "numpy": np.__version__}, "max_new_tokens": MAX_NEW, "answers": expected}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    # the same for the shell test: decode count, prompt and answer per line, tab-separated
    with open(os.path.join(OUT, "tiny-chatml.expected.tsv"), "w", encoding="utf-8") as f:
        for e in expected:
            assert not any(c in e["prompt"] + e["text"] for c in "\t\n\r"), e
            f.write(f"{len(e['ids'])}\t{e['prompt']}\t{e['text']}\n")
    for e in expected:
        print(e)


if __name__ == "__main__":
    main()
