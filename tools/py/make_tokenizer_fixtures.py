#!/usr/bin/env python3
"""Makes tests/fixtures/tokenizer: tokenizers and expected encodings from the real libraries.

  (a) a SentencePiece BPE with byte fallback trained by `sentencepiece`, converted by transformers'
      LlamaTokenizerFast, in three spellings: Metaspace prepend_scheme "first" (legacy=False),
      Metaspace "always" (legacy=True), and the older normalizer form (Prepend + Replace) that the
      llava-1.5-*-hf checkpoints ship;
  (b) byte-level BPEs trained by `tokenizers`: GPT-2's ByteLevel pre-tokenizer, and the LLaMA-3 /
      Qwen2 Split patterns (with ignore_merges as LLaMA-3 has it);
  (c) tokenizers trained by llava.h's own trainer (built from tools/tokenize.c with gcc), loaded here
      by `tokenizers`: the test re-trains and must get the same file and the same ids.
Each has "<image>" added. Expected ids (with the configuration's special tokens, and without) and
decodings of a corpus of test strings are written for every tokenizer, and 2-turn conversations are
rendered and masked by a port of the original LLaVA code (conversation.py, train.py, mm_utils.py)
and by the llava-1.5-hf chat template.

usage: python3 tools/py/make_tokenizer_fixtures.py   (from any directory; deterministic)"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import jinja2
import sentencepiece as spm
import tokenizers
import transformers
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tools/py/ is two below it
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
LLAMA3_RE = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_RE = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

WORDS = ("the a an of to in is it that was for on are with as his they be at one have this from or had by word but what "
         "some we can out other were all there when up use your how said each she which do their time if will way about many "
         "then them write would like so these her long make thing see him two has look more day could go come did number sound "
         "no most people my over know water than call first who may down side been now find any new work part take get place "
         "made live where after back little only round man year came show every good me give our under name very through just "
         "form sentence great think say help low line differ turn cause much mean before move right boy old too same tell does "
         "set three want air well also play small end put home read hand port large spell add even land here must big high such "
         "image picture photo cat dog person street car tree sky color red blue green white black describe detail scene").split()
CJK = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴致"
JAPANESE = "これは日本語の文章です。カタカナとひらがな、そして漢字。"
KOREAN = "한국어 문장입니다. 안녕하세요 여러분"
EMOJI = ["😀", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "🐱", "🚗", "✨", "🤖"]
COMBINING = ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "\u0915\u093f", "\u05e9\u05c1", "Z\u0335\u0336"]
RARE = ["𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ꙮ", "𓀀", "🜁", "⟁", "ᚠᚢᚦ", "Ⅻ", "½", "²", "٣", "𝟙𝟚", "ǅ", "ß", "ﬁ", "Ω", "Å"]
OTHER_SCRIPTS = ["Привет, как дела?", "Γειά σου κόσμε", "مرحبا بالعالم", "नमस्ते दुनिया", "שלום עולם", "Xin chào thế giới",
                 "Ça va très bien, merci.", "Fußgängerübergänge", "ÅÄÖ åäö", "Dziękuję bardzo"]
CODE = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}", "#include <stdio.h>",
        "x = {'a': 1, \"b\": [2, 3]}", "if (a && b || !c) { return -1; }", "SELECT * FROM t WHERE id = 42;",
        "console.log(`${name}`);", "    indented  code\t\twith tabs", "a->b = c[i] >> 2;", "<div class=\"x\">hi</div>",
        "fn main() -> Result<(), Box<dyn Error>> {}", "$ ls -la /tmp | grep foo", "// comment: TODO(me)", "λx.x + 1"]
SPECIALS = ["<image>", "</s>", "<s>", "<unk>", "<pad>", "<|endoftext|>", "<|begin_of_text|>", "<mask>"]


def corpus_lines(rng, n):
    """training text for the tokenizers (not the test strings)"""
    out = []
    for i in range(n):
        k = rng.random()
        if k < 0.6:
            s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16)))
            s = s[0].upper() + s[1:] + rng.choice([".", "!", "?", ",", ";", ":"])
        elif k < 0.7:
            s = rng.choice(CODE).replace("\n", " ")
        elif k < 0.8:
            s = "".join(rng.choice(CJK) for _ in range(rng.randint(3, 20)))
        elif k < 0.85:
            s = rng.choice(OTHER_SCRIPTS)
        elif k < 0.9:
            s = " ".join(str(rng.randint(0, 10 ** rng.randint(1, 8))) for _ in range(rng.randint(1, 5)))
        else:
            s = rng.choice(WORDS).capitalize() + " " + rng.choice(EMOJI) + " " + rng.choice(COMBINING) + " " + JAPANESE[: rng.randint(3, 20)]
        out.append(s)
    return out


def test_strings(rng):
    """the test corpus: at least 2000 strings of every kind the issue names"""
    t = ["", " ", "  ", "\n", "\t", "\r\n", "a", "A", "hello", " hello", "hello ", "  hello  world  ", "Hello\nworld", "Hello\n\nworld",
         "tab\there", "\t\tx", "x\n\n\n", " \n \n", "I'm", "DON'T", "we'll", "'s", "it's 'quoted'", "He said \"hi\".",
         "1234567890", "3.14159", "-42", "1,000,000", "2024-01-01", "0x1F", "v1.2.3", "12345678901234567890"]
    for s in SPECIALS:
        t += [s, "a" + s + "b", " " + s + " ", s + s, "foo" + s, s + "bar", "x " + s + "\ny", "<" + s + ">", s[:-1], s + "\n" + s]
    t += ["USER: <image>\nWhat is this? ASSISTANT:", "<image>\nDescribe the image.", "answer</s>USER: next", "a</s>b</s>c", "<s> <s>", "</s></s>"]
    t += EMOJI + COMBINING + RARE + OTHER_SCRIPTS + CODE + [JAPANESE, KOREAN, CJK[:30], CJK[100:140]]
    t += ["e\u0301\u0301\u0301", "\u0301start", "Z\u0335\u0336\u0337ALGO", "👍🏽👍🏽", "a👨‍👩‍👧‍👦b", "日本語 English 混合 text"]
    t += [" " * k + "x" + " " * k for k in range(1, 9)] + ["\t" * k for k in range(1, 5)] + ["\n" * k for k in range(1, 5)]
    t += ["a" * k for k in (10, 50, 100, 300)] + ["ab" * 60, "the " * 40, "日" * 50, "😀" * 20]
    while len(t) < 2050:
        k = rng.random()
        if k < 0.35:
            s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))
            if rng.random() < 0.5:
                s = s.capitalize() + rng.choice([".", "!", "?", ",", "...", ""])
        elif k < 0.45:
            s = rng.choice(CODE)
        elif k < 0.52:
            s = "".join(rng.choice(CJK) for _ in range(rng.randint(1, 12)))
        elif k < 0.58:
            s = " ".join(str(rng.randint(0, 10 ** rng.randint(1, 12))) for _ in range(rng.randint(1, 4)))
        elif k < 0.66:
            parts = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
            s = rng.choice(["", " ", "  ", "\t", "\n"]).join(parts)
            s = rng.choice(["", " ", "   ", "\n", "\t "]) + s + rng.choice(["", " ", "  \n", "\n\n", "\t"])
        elif k < 0.74:
            w = rng.choice(WORDS)
            sp = rng.choice(SPECIALS)
            s = rng.choice([w + sp, sp + w, w[:2] + sp + w[2:], w + " " + sp, sp + " " + w, w + sp + w + sp])
        elif k < 0.8:
            s = rng.choice(WORDS) + rng.choice(EMOJI) + rng.choice(COMBINING) + rng.choice(["", " ", rng.choice(RARE)])
        elif k < 0.86:
            s = rng.choice(OTHER_SCRIPTS) + " " + rng.choice(RARE)
        elif k < 0.9:
            s = rng.choice(["I'm", "you're", "they've", "She'll", "IT'S", "we'd", "o'clock", "don't", "'tis"]) + " " + rng.choice(WORDS)
        elif k < 0.95:
            s = "".join(rng.choice("abc XYZ 123 .,;:!?-_()[]{}<>/\\|@#$%^&*+=~`'\"\t\n") for _ in range(rng.randint(1, 30)))
        else:
            s = rng.choice(JAPANESE + KOREAN + CJK[:200]) * rng.randint(1, 3) + rng.choice(WORDS)
        t.append(s)
    return t


def add_image(tok, special=True):
    tok.add_tokens([AddedToken("<image>", special=special, normalized=not special)])


def bos_template(tok, bos):
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                       special_tokens=[(bos, tok.token_to_id(bos))])


def write_tok(name, tok, config):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    if config is not None:
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump(config, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return d


def llama_config(tok, extra=()):
    dec = {}
    for tid, at in sorted(tok.get_added_tokens_decoder().items()):
        dec[str(tid)] = {"content": at.content, "lstrip": at.lstrip, "normalized": at.normalized, "rstrip": at.rstrip,
                         "single_word": at.single_word, "special": at.special}
    cfg = {"add_bos_token": True, "add_eos_token": False, "added_tokens_decoder": dec, "bos_token": "<s>",
           "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None, "legacy": False, "tokenizer_class": "LlamaTokenizer",
           "chat_template": "{{ ignored }}"}
    cfg.update(extra)
    return cfg


def make_sp(tmp, lines):
    path = os.path.join(tmp, "sp_corpus.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    spm.SentencePieceTrainer.train(input=path, model_prefix=os.path.join(tmp, "sp"), vocab_size=1500, model_type="bpe",
                                   byte_fallback=True, character_coverage=0.9995, normalization_rule_name="identity",
                                   add_dummy_prefix=True, remove_extra_whitespaces=False, split_digits=True,
                                   allow_whitespace_only_pieces=True, num_threads=1, input_sentence_size=0,
                                   shuffle_input_sentence=False, minloglevel=2)
    d = os.path.join(tmp, "spdir")
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(tmp, "sp.model"), os.path.join(d, "tokenizer.model"))
    out = {}
    for legacy in (False, True):
        fast = transformers.LlamaTokenizerFast.from_pretrained(d, legacy=legacy)
        tok = Tokenizer.from_str(fast.backend_tokenizer.to_str())
        add_image(tok)
        bos_template(tok, "<s>")
        out["first" if not legacy else "always"] = tok
    # the older spelling (llava-1.5-7b-hf's tokenizer.json): normalizer Prepend + Replace, no pre-tokenizer
    j = json.loads(out["always"].to_str())
    j["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                          {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
    j["pre_tokenizer"] = None
    out["normalizer"] = Tokenizer.from_str(json.dumps(j))
    return out


def make_bl(lines, pattern):
    tok = Tokenizer(models.BPE(ignore_merges=pattern == "llama3"))
    if pattern == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(tokenizers.Regex(LLAMA3_RE), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    special = "<|endoftext|>" if pattern == "gpt2" else "<|begin_of_text|>"
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=[special], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    if pattern == "gpt2":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        add_image(tok)
        # a normalized, non-special added token and one that strips spaces on its left
        tok.add_tokens([AddedToken("<mask>", lstrip=True, special=False, normalized=True)])
    else:
        bos_template(tok, special)
        add_image(tok)
        tok.add_special_tokens([AddedToken("<|eot_id|>", special=True)])
    return tok


def build_c_tool(tmp):
    exe = os.path.join(tmp, "tokenize")
    subprocess.run(["gcc", "-std=c11", "-O2", "-o", exe, os.path.join(ROOT, "tools", "tokenize.c"), "-lm"], check=True)
    return exe


def encodings(tok, texts):
    """per text: ids with the configured special tokens; "raw" (ids without them) only where it is not
    ids minus the leading special tokens; "dec" = decode(raw) only where it is not the text; "skip" =
    decode(ids, skip_special_tokens=True) only where it is not dec; "full" = decode(ids) for every
    10th text (null fields are left out to keep the files small)"""
    n_pre = len(tok.encode("", add_special_tokens=True).ids)
    ids = [e.ids for e in tok.encode_batch(texts, add_special_tokens=True)]
    raw = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    rows = []
    for i, (t, a, b) in enumerate(zip(texts, ids, raw)):
        d = tok.decode(b, skip_special_tokens=False)
        ds = tok.decode(a, skip_special_tokens=True)
        r = {"ids": " ".join(map(str, a))}
        if b != a[n_pre:]:
            r["raw"] = " ".join(map(str, b))
        if d != t:
            r["dec"] = d
        if ds != d:
            r["skip"] = ds
        if i % 10 == 0:
            r["full"] = tok.decode(a, skip_special_tokens=False)
        rows.append(r)
    return rows


# --- conversation templates: a port of the original LLaVA code -------------------------------------
SYS_VICUNA = ("A chat between a curious user and an artificial intelligence assistant. "
              "The assistant gives helpful, detailed, and polite answers to the user's questions.")
SYS_LLAVA = ("A chat between a curious human and an artificial intelligence assistant. "
             "The assistant gives helpful, detailed, and polite answers to the human's questions.")
LLAVA_HF_TEMPLATE = ("{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
                     "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
                     "{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}"
                     "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}"
                     "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}"
                     "{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}"
                     "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")


def get_prompt_two(system, messages):  # conversation.py, SeparatorStyle.TWO, sep " ", sep2 "</s>"
    seps = [" ", "</s>"]
    ret = system + seps[0]
    for i, (role, message) in enumerate(messages):
        ret += role + ": " + message + seps[i % 2] if message else role + ":"
    return ret


def preprocess_multimodal(value):  # train.py
    if "<image>" in value:
        value = value.replace("<image>", "").strip()
        value = "<image>\n" + value
        value = value.strip()
    return value


def tokenizer_image_token(prompt, tok, bos_id, image_index=-200):  # mm_utils.py
    chunks = [tok.encode(c).ids for c in prompt.split("<image>")]
    ids, offset = [], 0
    if chunks and chunks[0] and chunks[0][0] == bos_id:
        offset = 1
        ids.append(chunks[0][0])
    seps = [x for sub in zip(chunks, [[image_index] * (offset + 1)] * len(chunks)) for x in sub][:-1]
    for x in seps:
        ids.extend(x[offset:])
    return ids


def preprocess_v1(system, source, tok, bos_id, legacy):  # train.py preprocess_v1, has_image=True
    msgs = [("USER" if m["from"] == "human" else "ASSISTANT", preprocess_multimodal(m["value"])) for m in source]
    conversation = get_prompt_two(system, msgs)
    input_ids = tokenizer_image_token(conversation, tok, bos_id)
    target = list(input_ids)
    sep = " " + "ASSISTANT" + ": "
    total_len = len(target)
    rounds = conversation.split("</s>")
    cur_len = 1
    target[:cur_len] = [-100] * cur_len
    for i, rou in enumerate(rounds):
        if rou == "":
            break
        parts = rou.split(sep)
        if len(parts) != 2:
            break
        parts[0] += sep
        round_len = len(tokenizer_image_token(rou, tok, bos_id))
        instruction_len = len(tokenizer_image_token(parts[0], tok, bos_id)) - 2
        if i != 0 and not legacy:
            round_len -= 1
            instruction_len -= 1
        target[cur_len: cur_len + instruction_len] = [-100] * instruction_len
        cur_len += round_len
    target[cur_len:] = [-100] * max(0, len(target) - cur_len)
    mismatch = cur_len != total_len
    if mismatch:
        target = [-100] * len(target)
    return conversation, input_ids, target, mismatch


def preprocess_plain(source, tok, bos_id):  # train.py preprocess_plain
    conversation = "<image>" + source[1]["value"] + "\n"
    input_ids = tokenizer_image_token(conversation, tok, bos_id)
    n = len(tokenizer_image_token("<image>", tok, bos_id))
    return conversation, input_ids, [-100] * n + input_ids[n:]


def prefix_labels(tok, text, spans, encode):
    """independent mask: the ids added by each answer, from encoding the text up to its start and end"""
    ids = encode(text)
    labels = [-100] * len(ids)
    for a0, a1 in spans:
        pre, upto = encode(text[:a0]), encode(text[:a1])
        if ids[:len(upto)] != upto or upto[:len(pre)] != pre:
            return None
        for k in range(len(pre), len(upto)):
            labels[k] = ids[k]
    return labels


CONVS = [
    [("human", "<image>\nWhat is in the picture?"), ("gpt", "A cat sitting on a red car."),
     ("human", "What color is the car?"), ("gpt", "The car is red.")],
    [("human", "Describe this image in detail.\n<image>"), ("gpt", "There are two dogs playing in the park, 3 trees and a bench."),
     ("human", "How many trees?"), ("gpt", "Three.")],
    [("human", "<image>\n图片里有什么？"), ("gpt", "一只猫。 😀"), ("human", "Is it   happy?"), ("gpt", "Yes, it's smiling.")],
]


def template_cases(sp_toks):
    cases = []
    for tname, tok in sp_toks.items():
        bos = tok.token_to_id("<s>")
        legacy = tname != "sp_first"
        for ci, conv in enumerate(CONVS):
            source = [{"from": f, "value": v} for f, v in conv]
            for tmpl, system in (("vicuna_v1", SYS_VICUNA), ("llava_v1", SYS_LLAVA)):
                text, ids, labels, mismatch = preprocess_v1(system, source, tok, bos, legacy)
                # the answer spans, in the rendered text, for the independent check
                spans, pos = [], 0
                for f, v in conv:
                    if f == "gpt":
                        a = text.index("ASSISTANT: " + v + "</s>", pos) + len("ASSISTANT: ")
                        spans.append((len(text[:a].encode()), len(text[:a + len(v) + 4].encode())))
                        pos = a
                # spans from the space after "ASSISTANT:" through "</s>" (what preprocess_v1 supervises)
                spans = [(a - 1, b) for a, b in spans]
                chars = [(len(text.encode()[:a].decode()), len(text.encode()[:b].decode())) for a, b in spans]
                lab = prefix_labels(tok, text, chars, lambda s: tokenizer_image_token(s, tok, bos))
                cases.append({"tokenizer": tname, "template": tmpl, "conv": conv, "text": text, "image_id": -200, "repeat": 1,
                              "ids": ids, "labels_original": labels, "original_mismatch": mismatch, "labels_prefix": lab})
            text, ids, labels = preprocess_plain(source[:2], tok, bos)
            cases.append({"tokenizer": tname, "template": "plain", "conv": conv[:2], "text": text, "image_id": -200, "repeat": 1,
                          "ids": ids, "labels_original": labels, "original_mismatch": False})
            # llava-hf: the chat template, whole text tokenized with <image> as a token, 3 placeholders
            env = jinja2.Environment(extensions=["jinja2.ext.do"])
            msgs = []
            for f, v in conv:
                content = ([{"type": "image"}] if "<image>" in v else []) + [{"type": "text", "text": v.replace("<image>", "").strip() if "<image>" in v else v}]
                msgs.append({"role": "user" if f == "human" else "assistant", "content": content})
            src = LLAVA_HF_TEMPLATE.replace("{% generation %}", "").replace("{% endgeneration %}", "")
            text = env.from_string(src).render(messages=msgs, add_generation_prompt=False)
            img = tok.token_to_id("<image>")
            enc = lambda s: tok.encode(s).ids
            ids = []
            for i in enc(text):
                ids += [img] * 3 if i == img else [i]
            spans, pos = [], 0
            for f, v in conv:
                if f == "gpt":
                    a = text.index("ASSISTANT: " + v + " ", pos) + len("ASSISTANT: ")
                    spans.append((a - 1, a + len(v)))  # from the space after "ASSISTANT:" to the end of the answer
                    pos = a
            lab = prefix_labels(tok, text, spans, enc)
            labs = None
            if lab is not None:
                labs = []
                for i, l in zip(enc(text), lab):
                    labs += [-100] * 3 if i == img else [l]
            cases.append({"tokenizer": tname, "template": "llava_hf", "conv": conv, "text": text, "image_id": img, "repeat": 3,
                          "ids": ids, "labels_prefix": labs})
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(1234)
    lines = corpus_lines(rng, 4000)
    texts = test_strings(random.Random(99))
    versions = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__,
                "sentencepiece": spm.__version__, "python": sys.version.split()[0]}
    toks = {}
    with tempfile.TemporaryDirectory() as tmp:
        sp = make_sp(tmp, lines)
        toks["sp_first"] = (sp["first"], llama_config(sp["first"]))
        toks["sp_always"] = (sp["always"], llama_config(sp["always"], {"legacy": True}))
        toks["sp_normalizer"] = (sp["normalizer"], llama_config(sp["normalizer"], {"legacy": True}))
        toks["bl_gpt2"] = (make_bl(lines, "gpt2"), None)
        toks["bl_llama3"] = (make_bl(lines, "llama3"), {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"})
        q = json.loads(toks["bl_llama3"][0].to_str())
        q["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = QWEN2_RE
        q["model"]["ignore_merges"] = False
        toks["bl_qwen2"] = (Tokenizer.from_str(json.dumps(q)), None)
        # llava.h's trainer
        exe = build_c_tool(tmp)
        with open(os.path.join(OUT, "train_corpus.txt"), "w") as f:
            f.write("\n".join(corpus_lines(random.Random(7), 1500)) + "\n")
        for name, vocab in (("trained", 1000), ("tiny600", 600)):
            d = os.path.join(OUT, name)
            os.makedirs(d, exist_ok=True)
            subprocess.run([exe, "--train", os.path.join(OUT, "train_corpus.txt"), "--vocab", str(vocab), "--special", "<image>",
                            "--out", d], check=True)
        toks["trained"] = (Tokenizer.from_file(os.path.join(OUT, "trained", "tokenizer.json")), None)
        t600 = Tokenizer.from_file(os.path.join(OUT, "tiny600", "tokenizer.json"))
        assert t600.get_vocab_size() == 600 and t600.token_to_id("<image>") == 599, "tiny600: <image> must be id 599"
    manifest = {"versions": versions, "texts": "texts.json", "tokenizers": {}}
    with open(os.path.join(OUT, "texts.json"), "w") as f:
        json.dump(texts, f, ensure_ascii=False, indent=0)
        f.write("\n")
    for name, (tok, cfg) in toks.items():
        if name not in ("trained",):
            write_tok(name, tok, cfg)
        rows = encodings(tok, texts)
        with open(os.path.join(OUT, name, "expected.jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        manifest["tokenizers"][name] = {"dir": name, "vocab_size": tok.get_vocab_size()}
    cases = template_cases({n: toks[n][0] for n in ("sp_first", "sp_normalizer")})
    with open(os.path.join(OUT, "templates.json"), "w") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("wrote", os.path.relpath(OUT, ROOT), {k: v["vocab_size"] for k, v in manifest["tokenizers"].items()}, len(texts), "texts,", len(cases), "template cases")


if __name__ == "__main__":
    main()
