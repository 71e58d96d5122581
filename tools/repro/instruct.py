#!/usr/bin/env python3
"""instruct.py --backend openai: LLaVA's GPT-assisted instruction data for the synthetic world.

For each image, the symbolic representation (five captions and the box list, from the context.jsonl
that `instruct` writes, or straight from a world.json) goes to an OpenAI-compatible chat-completions
endpoint with the paper's prompt structure: one system message per response type and few-shot
examples of symbolic input -> output as earlier user/assistant turns, for conversation, detailed
description and complex reasoning. Replies are checked (a conversation must parse into alternating
Question/Answer turns, a reasoning reply into one Question and one Answer, a description must be
prose without coordinates); malformed ones are retried and logged to rejected.jsonl.

    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=sk-... \\
    python3 tools/repro/instruct.py --backend openai --context OUT/context.jsonl --out OUT/gpt --model gpt-4o-mini \\
        [--types conv,detail,complex] [--conv N] [--detail N] [--complex N] [--rpm 60] [--retries 6] [--seed 1]

Output (OUT/gpt): raw.jsonl (append-only, one line per finished request, keyed by "key" =
"<image id>:<type>"; a rerun skips the keys it already holds, so an interrupted run resumes), and the
same LLaVA JSON files as the rules backend: conversation.json, detail.json, complex_reasoning.json,
instruct.json (the chosen types mixed). Only the Python 3 standard library is used.
"""
import argparse
import json
import os
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.request

# --------------------------------------------------------------------------------------------------
# Prompts: written for this world in the structure of LLaVA's playground/data/prompts
# (system_message.txt, then pairs NNN_caps.txt -> NNN_conv.txt as few-shot turns).
# --------------------------------------------------------------------------------------------------
SYSTEM = {
    "conv": (
        "You are an AI visual assistant looking at one image. Instead of pixels you are given five sentences "
        "that each describe this same image, followed by a list of the objects in it with bounding boxes "
        "(x1, y1, x2, y2), numbers from 0 to 1 giving the top-left and bottom-right corners; y grows downwards.\n\n"
        "Write a conversation between a person who asks about the image and you, the assistant, who answers as "
        "if looking at the picture directly. Ask varied questions: which objects are there, their colors and "
        "shapes, how many there are, where they are (left, right, top, bottom, center), how they relate to each "
        "other (left of, above, larger than, overlapping), and what the background looks like.\n"
        "Only ask questions with a definite answer: either the answer can be seen confidently in the image, or "
        "it can be seen confidently that something is absent. Never ask about details that cannot be settled.\n"
        "Include at least one question that needs two facts combined, and answer it step by step.\n"
        "Never mention captions, boxes or coordinates in the conversation.\n"
        "Write each turn as a block that starts with 'Question:' or 'Answer:' on its own line, and separate "
        "blocks with a line holding only '==='."
    ),
    "detail": (
        "You are an AI visual assistant that analyzes one image. You receive five sentences, each describing "
        "the same image, and the objects in it with bounding boxes (x1, y1, x2, y2) given as numbers from 0 to 1 "
        "(top-left and bottom-right corners; y grows downwards).\n\n"
        "Using the sentences and the boxes, describe the image in detail: how many objects there are, their "
        "colors, shapes and sizes, where each one is, where they are relative to each other, which ones "
        "overlap, and the background.\n"
        "Do not quote the coordinates; turn them into plain words. Do not say that your information comes from "
        "sentences or boxes: describe the scene as if you were looking at it. Answer with the description only."
    ),
    "complex": (
        "You are an AI visual assistant that analyzes one image. You receive five sentences, each describing "
        "the same image, and the objects in it with bounding boxes (x1, y1, x2, y2) given as numbers from 0 to 1 "
        "(top-left and bottom-right corners; y grows downwards).\n\n"
        "Create one question about the image that needs reasoning beyond listing what is there: answering it "
        "should require combining two or more facts (for example which object is closest to another and what "
        "color it is, how many objects meet a condition, which of two objects is larger and where it is, or "
        "what would change if an object were removed). Do not give the answer away in the question.\n"
        "Then answer it in detail, explaining the steps. Use words, not coordinates, and answer as if looking "
        "at the image; never mention sentences or boxes.\n"
        "Write 'Question:' on its own line, the question, a line holding only '===', then 'Answer:' on its own "
        "line and the answer."
    ),
}

# few-shot pairs: (symbolic input, reference output)
FEWSHOT = {
    "conv": [
        (
            "A large orange square and a small white star on a navy background.\n"
            "Two shapes on a plain navy background: a square and a star.\n"
            "An orange square on the left and a white star in the top right.\n"
            "An orange square to the left of a white star.\n"
            "Simple flat shapes in orange and white, on a navy background.\n\n"
            "orange square: [0.080, 0.420, 0.420, 0.760]\n"
            "white star: [0.640, 0.110, 0.820, 0.280]",
            "Question:\nWhat objects can you see in the image?\n===\nAnswer:\nThere are two objects: a large orange "
            "square and a small white star, both on a dark navy background.\n===\nQuestion:\nWhere is the white star?\n"
            "===\nAnswer:\nThe white star is in the top right of the image.\n===\nQuestion:\nIs there a green circle?\n"
            "===\nAnswer:\nNo, there is no green circle in the image.\n===\nQuestion:\nWhich object is larger, and is it "
            "to the left or to the right of the other one?\n===\nAnswer:\nThe orange square is larger than the white "
            "star. It sits on the left side of the image, so it is to the left of the white star, which is up in the "
            "top right corner.",
        ),
        (
            "A medium red circle, a small yellow triangle and a large blue ring on a beige background.\n"
            "Three objects on a beige background: a circle, a triangle and a ring.\n"
            "A red circle at the top, a yellow triangle in the bottom left and a blue ring on the right.\n"
            "A yellow triangle below a red circle.\n"
            "An image with a blue ring, a red circle and a yellow triangle.\n\n"
            "red circle: [0.400, 0.060, 0.620, 0.280]\n"
            "yellow triangle: [0.070, 0.700, 0.230, 0.840]\n"
            "blue ring: [0.600, 0.400, 0.960, 0.760]",
            "Question:\nHow many objects are in the image?\n===\nAnswer:\nThere are three objects in the image.\n===\n"
            "Question:\nWhat color is the triangle?\n===\nAnswer:\nThe triangle is yellow.\n===\nQuestion:\nWhat is the "
            "largest object, and where is it?\n===\nAnswer:\nThe blue ring is the largest object. It is on the right "
            "side of the image, a little below the middle.\n===\nQuestion:\nDo any of the shapes overlap?\n===\n"
            "Answer:\nNo, the three shapes are separate; none of them overlap.",
        ),
    ],
    "detail": [
        (
            "A small green diamond, a large purple cross and a medium pink circle against a gray background.\n"
            "Three shapes on a plain gray background: a circle, a cross and a diamond.\n"
            "A green diamond in the top left, a purple cross in the center and a pink circle in the bottom right.\n"
            "A purple cross overlapping a pink circle.\n"
            "Simple flat shapes in green, purple and pink, on a gray background.\n\n"
            "green diamond: [0.060, 0.050, 0.200, 0.230]\n"
            "pink circle: [0.560, 0.560, 0.840, 0.840]\n"
            "purple cross: [0.300, 0.300, 0.700, 0.700]",
            "The image shows three flat shapes on a plain gray background. A small green diamond sits in the top left "
            "corner, well apart from the others. In the center there is a large purple cross, and a medium pink circle "
            "is in the bottom right. The purple cross overlaps the pink circle and is drawn on top of it, so part of "
            "the circle is hidden behind the cross. The purple cross is the largest object in the scene.",
        ),
        (
            "A large black triangle on a silver and khaki background split down the middle.\n"
            "A single shape on a silver and khaki background: a triangle.\n"
            "A black triangle on the left.\n"
            "A simple drawing of a black triangle.\n"
            "An image with a black triangle.\n\n"
            "black triangle: [0.050, 0.300, 0.450, 0.650]",
            "The image contains a single shape: a large black triangle on the left side of the picture, pointing "
            "upwards. The background is divided into two halves, silver on the left and khaki on the right, so the "
            "triangle stands on the silver half.",
        ),
    ],
    "complex": [
        (
            "A medium cyan star, a small brown square and a medium red ring on a maroon background.\n"
            "Three shapes on a maroon background: a square, a star and a ring.\n"
            "A cyan star in the top left, a brown square at the top and a red ring at the bottom.\n"
            "A brown square to the right of a cyan star.\n"
            "An image with a red ring, a cyan star and a brown square.\n\n"
            "cyan star: [0.080, 0.080, 0.340, 0.330]\n"
            "brown square: [0.440, 0.100, 0.600, 0.260]\n"
            "red ring: [0.380, 0.620, 0.660, 0.900]",
            "Question:\nWhich object is closest to the cyan star, and what shape is it?\n===\nAnswer:\nThe cyan star is "
            "in the top left. The brown square is at the top, a short distance to its right, while the red ring is far "
            "below near the bottom of the image. So the object closest to the cyan star is the brown square, and its "
            "shape is a square.",
        ),
        (
            "A large white circle, a small orange diamond, a small yellow cross and a medium green star on a navy background.\n"
            "Four shapes on a navy background: a circle, a cross, a star and a diamond.\n"
            "A white circle on the left, an orange diamond in the top right and a green star in the bottom right.\n"
            "A yellow cross below an orange diamond.\n"
            "Simple flat shapes in white, orange, yellow and green, on a plain navy background.\n\n"
            "white circle: [0.040, 0.300, 0.420, 0.680]\n"
            "orange diamond: [0.700, 0.060, 0.840, 0.240]\n"
            "yellow cross: [0.700, 0.420, 0.860, 0.580]\n"
            "green star: [0.620, 0.700, 0.900, 0.950]",
            "Question:\nHow many objects are smaller than the green star, and where are they?\n===\nAnswer:\nThe green "
            "star is medium-sized. Two objects are smaller than it: the orange diamond and the yellow cross, which are "
            "both small. They are on the right side of the image, the orange diamond at the top right and the yellow "
            "cross just below it. The white circle is large, so it is not smaller than the star.",
        ),
    ],
}

DETAIL_INSTRUCTIONS = [
    "Describe the following image in detail.", "Give a detailed description of this image.",
    "What is in this picture? Describe it thoroughly.", "Explain the visual content of the image in detail.",
    "Write a comprehensive description of the image.", "Describe everything you see in the picture.",
    "Provide a detailed account of the scene shown.", "Tell me about this image, with as much detail as you can.",
    "Walk me through what this image shows.", "Analyze the image in a detailed manner.",
]

TYPE_FILE = {"conv": "conversation.json", "detail": "detail.json", "complex": "complex_reasoning.json"}


class Malformed(Exception):
    """a reply that does not have the required shape"""


def split_blocks(text):
    """'Question:\\n...\\n===\\nAnswer:\\n...' -> [('question', '...'), ('answer', '...'), ...]"""
    blocks = [b.strip() for b in re.split(r"^\s*===+\s*$", text.strip(), flags=re.M)]
    out = []
    for b in blocks:
        if not b:
            continue
        m = re.match(r"(question|answer)\s*:\s*", b, flags=re.I)
        if not m:
            raise Malformed("a block starts with neither 'Question:' nor 'Answer:': %r" % b[:60])
        body = b[m.end():].strip()
        if not body:
            raise Malformed("an empty %s" % m.group(1).lower())
        out.append((m.group(1).lower(), body))
    return out


def parse_reply(kind, text):
    """returns the turns [(human, gpt), ...] of a valid reply, or raises Malformed"""
    if not isinstance(text, str) or not text.strip():
        raise Malformed("empty reply")
    if kind == "detail":
        t = text.strip()
        if re.search(r"^\s*(question|answer)\s*:", t, flags=re.I | re.M) or "===" in t:
            raise Malformed("a description with Question/Answer markers")
        if re.search(r"\[\s*0?\.\d+\s*,", t) or re.search(r"\bbounding box", t, flags=re.I):
            raise Malformed("a description that quotes coordinates or boxes")
        if len(t) < 40 or len(re.findall(r"[.!?](\s|$)", t)) < 2:
            raise Malformed("a description of fewer than two sentences")
        return [(None, t)]
    blocks = split_blocks(text)
    if len(blocks) < 2 or len(blocks) % 2:
        raise Malformed("%d blocks; want Question/Answer pairs" % len(blocks))
    for i, (role, _) in enumerate(blocks):
        if role != ("question" if i % 2 == 0 else "answer"):
            raise Malformed("turn %d is %s; Question and Answer must alternate" % (i + 1, role))
    if kind == "complex" and len(blocks) != 2:
        raise Malformed("a reasoning reply must be one question and one answer, not %d blocks" % len(blocks))
    return [(blocks[i][1], blocks[i + 1][1]) for i in range(0, len(blocks), 2)]


def build_messages(kind, context_text):
    msgs = [{"role": "system", "content": SYSTEM[kind]}]
    for caps, out in FEWSHOT[kind]:
        msgs.append({"role": "user", "content": caps})
        msgs.append({"role": "assistant", "content": out})
    msgs.append({"role": "user", "content": context_text})
    return msgs


# --------------------------------------------------------------------------------------------------
# An OpenAI-compatible client: retries with exponential backoff, requests-per-minute limit
# --------------------------------------------------------------------------------------------------
class ChatClient:
    RETRY_STATUS = (408, 409, 429, 500, 502, 503, 504)

    def __init__(self, model, base_url=None, api_key=None, rpm=60.0, retries=6, backoff=1.0, timeout=120.0,
                 log=sys.stderr):
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.interval = 60.0 / rpm if rpm and rpm > 0 else 0.0
        self.retries, self.backoff, self.timeout, self.log = retries, backoff, timeout, log
        self._lock = threading.Lock()
        self._next = 0.0
        self.requests = 0

    def _wait_turn(self):
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)

    def chat(self, messages, temperature=0.7, max_tokens=1024):
        """the assistant's reply text; raises RuntimeError when every try failed"""
        url = self.base_url + "/chat/completions"
        body = json.dumps({"model": self.model, "messages": messages, "temperature": temperature,
                           "max_tokens": max_tokens}).encode()
        last = None
        for attempt in range(self.retries + 1):
            self._wait_turn()
            self.requests += 1
            req = urllib.request.Request(url, data=body, method="POST", headers={
                "Content-Type": "application/json", "Authorization": "Bearer " + self.api_key})
            delay = self.backoff * (2 ** attempt)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    data = json.loads(resp.read().decode("utf-8"))
                content = data["choices"][0]["message"]["content"]
                if content is None:
                    raise ValueError("no content in the reply")
                return content
            except urllib.error.HTTPError as e:
                last = "HTTP %d: %s" % (e.code, e.read()[:200].decode("utf-8", "replace"))
                if e.code not in self.RETRY_STATUS:
                    raise RuntimeError(last)
                ra = e.headers.get("Retry-After") if e.headers else None
                if ra:
                    try:
                        delay = max(delay, float(ra))
                    except ValueError:
                        pass
            except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError, KeyError, IndexError) as e:
                last = "%s: %s" % (type(e).__name__, e)
            if attempt < self.retries:
                print("request failed (%s); retry %d/%d in %.2fs" % (last, attempt + 1, self.retries, delay),
                      file=self.log)
                time.sleep(delay)
        raise RuntimeError("giving up after %d tries: %s" % (self.retries + 1, last))


# --------------------------------------------------------------------------------------------------
# symbolic inputs
# --------------------------------------------------------------------------------------------------
def context_text(entry):
    if entry.get("text"):
        return entry["text"]
    caps = "\n".join(entry.get("captions", []))
    boxes = "\n".join("%s: [%s]" % (i["category"], ", ".join("%.3f" % v for v in i["bbox"]))
                      for i in entry.get("instances", []))
    return caps + "\n\n" + boxes


def load_contexts(path):
    """context.jsonl from `instruct`, or a world directory / world.json from `world`"""
    if os.path.isdir(path):
        path = os.path.join(path, "world.json")
    if path.endswith(".jsonl"):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    with open(path) as f:
        world = json.load(f)
    out = []
    for im in world["images"]:
        out.append({"id": im["id"], "image": os.path.basename(im["file"]), "captions": im["captions"],
                    "instances": [{"category": "%s %s" % (o["color"], o["shape"]), "bbox": o["box"]}
                                  for o in im["objects"]],
                    "text": "\n".join(im["captions"]) + "\n\n" + im["boxes"]})
    return out


def end_with_newline(path):
    """after a crash the last line may be cut short: start the next record on a line of its own"""
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path, "rb+") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")


def read_done(path):
    done = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash: redone
                done[rec["key"]] = rec
    return done


def append_line(path, rec, lock):
    with lock:
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())


def to_llava(rec, rng):
    """one raw record -> LLaVA's {"id", "image", "conversations"}"""
    conv = []
    if rec["type"] == "detail":
        conv = [{"from": "human", "value": rng.choice(DETAIL_INSTRUCTIONS)},
                {"from": "gpt", "value": rec["turns"][0][1]}]
    else:
        for q, a in rec["turns"]:
            conv += [{"from": "human", "value": q}, {"from": "gpt", "value": a}]
    first = conv[0]["value"]
    conv[0]["value"] = "<image>\n" + first if rng.random() < 0.5 else first + "\n<image>"
    return {"id": rec["id"], "image": rec["image"], "conversations": conv}


def write_json(path, records):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n")
    os.replace(tmp, path)


def generate(args, log=sys.stderr):
    contexts = load_contexts(args.context)
    if not contexts:
        raise SystemExit("no images in " + args.context)
    os.makedirs(args.out, exist_ok=True)
    raw_path = os.path.join(args.out, "raw.jsonl")
    rej_path = os.path.join(args.out, "rejected.jsonl")
    end_with_newline(raw_path)
    done = read_done(raw_path)
    types = [t for t in args.types.split(",") if t]
    for t in types:
        if t not in SYSTEM:
            raise SystemExit("unknown type %r (conv, detail, complex)" % t)
    counts = {"conv": args.conv, "detail": args.detail, "complex": args.complex}
    jobs = []
    for t in types:
        n = counts[t] if counts[t] is not None else len(contexts)
        for k in range(n):
            ctx = contexts[k % len(contexts)]
            rep = k // len(contexts)
            key = "%s:%s%s" % (ctx["id"], t, "" if rep == 0 else rep)
            jobs.append((key, t, ctx, rep))
    todo = [j for j in jobs if j[0] not in done]
    print("instruct.py: %d requests, %d already done, %d to go (%s, model %s)" % (
        len(jobs), len(jobs) - len(todo), len(todo), args.types, args.model), file=log)
    client = ChatClient(args.model, rpm=args.rpm, retries=args.retries, backoff=args.backoff, timeout=args.timeout,
                        log=log)
    lock = threading.Lock()
    failures = [0]

    def work(job):
        key, t, ctx, rep = job
        msgs = build_messages(t, context_text(ctx))
        for attempt in range(args.max_attempts):
            try:
                reply = client.chat(msgs, temperature=args.temperature, max_tokens=args.max_tokens)
            except RuntimeError as e:
                print("%s: %s" % (key, e), file=log)
                failures[0] += 1
                return
            try:
                turns = parse_reply(t, reply)
            except Malformed as e:
                append_line(rej_path, {"key": key, "attempt": attempt + 1, "reason": str(e), "reply": reply}, lock)
                continue
            rid = "%s_%s%d" % (ctx["id"], t, rep)
            append_line(raw_path, {"key": key, "id": rid, "image": ctx["image"], "type": t, "turns": turns,
                                   "reply": reply}, lock)
            return
        print("%s: %d malformed replies, skipped" % (key, args.max_attempts), file=log)
        failures[0] += 1

    threads = max(1, args.workers)
    if threads == 1:
        for job in todo:
            work(job)
    else:
        it = iter(todo)
        it_lock = threading.Lock()

        def loop():
            while True:
                with it_lock:
                    job = next(it, None)
                if job is None:
                    return
                work(job)
        pool = [threading.Thread(target=loop) for _ in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
    convert(args.out, types, [j[0] for j in jobs], args.seed)
    return failures[0], client.requests


def convert(out, types, keys, seed):
    """raw.jsonl -> LLaVA JSON files, in job order, deterministic given the seed"""
    done = read_done(os.path.join(out, "raw.jsonl"))
    per = {t: [] for t in TYPE_FILE}
    mix = []
    for key in keys:
        rec = done.get(key)
        if rec is None:
            continue
        rng = random.Random("%s:%s" % (seed, key))
        r = to_llava(rec, rng)
        per[rec["type"]].append(r)
        if rec["type"] in types:
            mix.append(r)
    random.Random(seed).shuffle(mix)
    for t, name in TYPE_FILE.items():
        if t in types:
            write_json(os.path.join(out, name), per[t])
    write_json(os.path.join(out, "instruct.json"), mix)
    return len(mix)


# --- the command line: the repository's convention (every option with its default in --help, --version,
# numbers checked, exit 2 on a wrong command line) ------------------------------------------------------
class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """the module's docstring as written, and each option's default after its help (where it has one and
    the help does not already say it)"""

    def _get_help_string(self, action):
        h = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in h:
            h += " (default: %(default)s)"
        return h


def version(prog):
    """PROG (llava.h VERSION), VERSION read from the repository's llava.h"""
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "llava.h")) as f:
            v = re.search(r'#define LLAVA_VERSION "([^"]*)"', f.read())
    except OSError:
        v = None
    return "%s (llava.h %s)" % (prog, v.group(1) if v else "unknown")


def number(kind, lo, hi=None):
    """an argparse type: a number of `kind` within [lo, hi]"""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("'%s' is not a%s number" % (text, " whole" if kind is int else ""))
        if v != v or v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError("%s is out of range [%s, %s]" % (text, lo, "inf" if hi is None else hi))
        return v
    return parse


def main(argv=None, log=sys.stderr):
    ap = argparse.ArgumentParser(prog="instruct.py", description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--version", action="version", version=version("instruct.py"))
    ap.add_argument("--backend", default="openai", choices=["openai", "rules"],
                    help="openai (this script); rules is the C program build/instruct")
    ap.add_argument("--context", "--world", dest="context", required=True,
                    help="context.jsonl from instruct, or a world directory / world.json (required)")
    ap.add_argument("--out", required=True, help="output directory (required; created)")
    ap.add_argument("--model", default="gpt-4o-mini", help="the endpoint's model")
    ap.add_argument("--types", default="conv,detail,complex", help="the response types, of conv,detail,complex")
    ap.add_argument("--conv", type=number(int, 0), default=None, help="conversations (default: one per image)")
    ap.add_argument("--detail", type=number(int, 0), default=None, help="descriptions (default: one per image)")
    ap.add_argument("--complex", type=number(int, 0), default=None, help="reasoning questions (default: one per image)")
    ap.add_argument("--rpm", type=number(float, 0), default=60.0, help="requests per minute (0: no limit)")
    ap.add_argument("--retries", type=number(int, 0), default=6, help="retries of a failed request (HTTP 429/5xx, network)")
    ap.add_argument("--backoff", type=number(float, 0), default=1.0, help="first retry delay in seconds, doubled each retry")
    ap.add_argument("--max-attempts", type=number(int, 1), default=3, help="requests per item when replies are malformed")
    ap.add_argument("--timeout", type=number(float, 0), default=120.0, help="seconds a request may take")
    ap.add_argument("--temperature", type=number(float, 0, 2), default=0.7, help="the endpoint's sampling temperature")
    ap.add_argument("--max-tokens", type=number(int, 1), default=1024, help="longest reply in tokens")
    ap.add_argument("--workers", type=number(int, 1), default=1, help="parallel requests (the rpm limit holds across them)")
    ap.add_argument("--seed", type=int, default=1, help="instruct.json's order, the descriptions' instructions and where "
                    "<image> goes in each sample")
    args = ap.parse_args(argv)
    if args.backend == "rules":
        raise SystemExit("the rules backend is the C program: build/instruct --world DIR --out OUT")
    failures, requests = generate(args, log=log)
    print("instruct.py: %d requests sent, %d items failed; LLaVA JSON in %s" % (requests, failures, args.out), file=log)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
