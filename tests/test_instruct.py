#!/usr/bin/env python3
"""Tests of tools/repro/instruct.py (the OpenAI-compatible backend) against a fake chat-completions server
started here, in a thread: prompt structure, parsing and rejection of malformed replies, retry on 429,
rate limiting, resumable output, LLaVA JSON. Standard library only; prints "ok    name" or
"FAIL  name: reason" per test and ends with "N passed, N failed"."""
import http.server
import io
import json
import os
import sys
import tempfile
import threading
import time

from pycheck import check, expect, summary  # tests/, the script's own folder

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "repro"))
import instruct  # noqa: E402

GOOD = {
    "conv": "Question:\nWhat color is the circle?\n===\nAnswer:\nThe circle is red.\n===\n"
            "Question:\nHow many objects are there?\n===\nAnswer:\nThere are two objects.",
    "detail": "The image shows a red circle on the left. A blue square is on the right side of the picture.",
    "complex": "Question:\nWhich object is larger, and where is it?\n===\nAnswer:\nThe red circle is larger than "
               "the blue square. It is on the left of the image.",
}
BAD_CONV = "Question:\nWhat color is the circle?\n===\nQuestion:\nIs it round?"

CONTEXTS = [
    {"id": "000000", "image": "000000.png", "captions": ["A red circle and a blue square.", "Two shapes.", "A red circle on the left.",
                                                          "A red circle to the left of a blue square.", "Red and blue shapes."],
     "instances": [{"category": "red circle", "bbox": [0.1, 0.3, 0.4, 0.6]}, {"category": "blue square", "bbox": [0.7, 0.4, 0.85, 0.55]}]},
    {"id": "000001", "image": "000001.png", "captions": ["A green star.", "One shape.", "A green star in the center.",
                                                          "A simple drawing of a green star.", "An image with a green star."],
     "instances": [{"category": "green star", "bbox": [0.4, 0.4, 0.6, 0.6]}]},
]


class Fake:
    """scripted server state"""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []  # (kind, first caption, status)
        self.sent_429 = False
        self.sent_bad = False
        self.bodies = []


def kind_of(system):
    if "conversation" in system:
        return "conv"
    if "describe the image in detail" in system:
        return "detail"
    return "complex"


def make_handler(fake):
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(n))
            msgs = body["messages"]
            kind = kind_of(msgs[0]["content"])
            cap = msgs[-1]["content"].split("\n")[0]
            with fake.lock:
                fake.bodies.append(body)
                if self.path != "/v1/chat/completions" or self.headers.get("Authorization") != "Bearer test-key":
                    status, text = 401, None
                elif not fake.sent_429:
                    fake.sent_429 = True
                    status, text = 429, None
                elif kind == "conv" and cap.startswith("A red circle") and not fake.sent_bad:
                    fake.sent_bad = True
                    status, text = 200, BAD_CONV
                else:
                    status, text = 200, GOOD[kind]
                fake.requests.append((kind, cap, status))
            if status != 200:
                self.send_response(status)
                self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error": {"message": "slow down"}}')
                return
            out = json.dumps({"id": "x", "object": "chat.completion", "model": body["model"],
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                           "finish_reason": "stop"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
    return H


def start(fake):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    return srv




def test_parse():
    t = instruct.parse_reply("conv", GOOD["conv"])
    expect(t == [("What color is the circle?", "The circle is red."), ("How many objects are there?", "There are two objects.")],
           "good conversation parsed as %r" % (t,))
    for kind, text in [("conv", BAD_CONV), ("conv", "Answer:\nred\n===\nQuestion:\nwhat?"), ("conv", "Just some text."),
                       ("conv", "Question:\nx\n===\nAnswer:\n"), ("conv", ""), ("complex", GOOD["conv"]),
                       ("detail", "A red circle: [0.102, 0.250, 0.398, 0.547]. It is red."), ("detail", "Red."),
                       ("detail", "Question:\nWhat?\n===\nAnswer:\nA circle. A square.")]:
        try:
            instruct.parse_reply(kind, text)
        except instruct.Malformed:
            continue
        raise AssertionError("%s reply %r was accepted" % (kind, text))
    expect(len(instruct.parse_reply("complex", GOOD["complex"])) == 1, "reasoning reply")
    expect(instruct.parse_reply("detail", GOOD["detail"])[0][1] == GOOD["detail"], "description")


def test_prompt_structure():
    msgs = instruct.build_messages("conv", "CAPS")
    expect(msgs[0]["role"] == "system" and msgs[-1] == {"role": "user", "content": "CAPS"}, "system first, query last")
    roles = [m["role"] for m in msgs[1:-1]]
    expect(len(roles) >= 2 and roles == ["user", "assistant"] * (len(roles) // 2), "few-shot user/assistant pairs")
    for kind in ("conv", "detail", "complex"):
        for caps, out in instruct.FEWSHOT[kind]:
            instruct.parse_reply(kind, out)  # the examples obey the format they teach
            expect(": [" in caps, "few-shot input has a box list")


def run_main(tmp, base, extra=()):
    os.environ["OPENAI_BASE_URL"] = base
    os.environ["OPENAI_API_KEY"] = "test-key"
    log = io.StringIO()
    rc = instruct.main(["--backend", "openai", "--context", os.path.join(tmp, "context.jsonl"), "--out",
                        os.path.join(tmp, "out"), "--model", "fake-model", "--rpm", "0", "--backoff", "0.01"] + list(extra),
                       log=log)
    return rc, log.getvalue()


def test_end_to_end():
    fake = Fake()
    srv = start(fake)
    base = "http://127.0.0.1:%d/v1" % srv.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "context.jsonl"), "w") as f:
            for c in CONTEXTS:
                f.write(json.dumps(c) + "\n")
        rc, log = run_main(tmp, base)
        expect(rc == 0, "exit status %d: %s" % (rc, log))
        statuses = [s for _, _, s in fake.requests]
        expect(statuses[0] == 429 and statuses.count(429) == 1, "the first request gets 429 and is retried: %r" % statuses)
        expect(len(fake.requests) == 8, "6 items + one 429 retry + one malformed retry = 8 requests, got %d" % len(fake.requests))
        expect(all(b["model"] == "fake-model" for b in fake.bodies), "model passed through")
        out = os.path.join(tmp, "out")
        rej = [json.loads(x) for x in open(os.path.join(out, "rejected.jsonl"))]
        expect(len(rej) == 1 and rej[0]["key"] == "000000:conv" and "alternate" in rej[0]["reason"], "rejection logged: %r" % rej)
        conv = json.load(open(os.path.join(out, "conversation.json")))
        expect(len(conv) == 2, "two conversations")
        for rec in conv:
            v = [c["from"] for c in rec["conversations"]]
            expect(v == ["human", "gpt", "human", "gpt"], "alternating turns: %r" % v)
            first = rec["conversations"][0]["value"]
            expect(first.startswith("<image>\n") or first.endswith("\n<image>"), "image token in the first turn")
            expect(rec["image"] in ("000000.png", "000001.png") and rec["id"].endswith("_conv0"), "id and image")
        mix = json.load(open(os.path.join(out, "instruct.json")))
        expect(len(mix) == 6, "six records in the mix, got %d" % len(mix))
        det = json.load(open(os.path.join(out, "detail.json")))
        expect(det[0]["conversations"][1]["value"] == GOOD["detail"], "description kept")
        cx = json.load(open(os.path.join(out, "complex_reasoning.json")))
        expect(cx[0]["conversations"][0]["value"].replace("<image>", "").strip() == "Which object is larger, and where is it?",
               "reasoning question from the reply")
        before = open(os.path.join(out, "instruct.json")).read()
        # resume: nothing left to do
        n = len(fake.requests)
        rc, log = run_main(tmp, base)
        expect(rc == 0 and len(fake.requests) == n, "a rerun sent %d requests" % (len(fake.requests) - n))
        expect(open(os.path.join(out, "instruct.json")).read() == before, "a rerun changed instruct.json")
        # a crash mid-write: the last raw line cut short is redone, and only it
        raw = os.path.join(out, "raw.jsonl")
        lines = open(raw).read().splitlines()
        with open(raw, "w") as f:
            f.write("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
        rc, log = run_main(tmp, base)
        expect(rc == 0 and len(fake.requests) == n + 1, "resume after a cut line sent %d requests" % (len(fake.requests) - n))
        expect(open(os.path.join(out, "instruct.json")).read() == before, "resumed output differs")
        # more items: only the new ones are asked for
        rc, log = run_main(tmp, base, ["--conv", "3"])
        expect(len(fake.requests) == n + 2, "--conv 3 after 2 sent %d requests" % (len(fake.requests) - n - 1))
        conv = json.load(open(os.path.join(out, "conversation.json")))
        expect([r["id"] for r in conv] == ["000000_conv0", "000001_conv0", "000000_conv1"], "ids %r" % [r["id"] for r in conv])
    srv.shutdown()


def test_rate_limit_and_errors():
    fake = Fake()
    fake.sent_429 = True
    srv = start(fake)
    base = "http://127.0.0.1:%d/v1" % srv.server_address[1]
    c = instruct.ChatClient("m", base_url=base, api_key="test-key", rpm=1200, retries=2, backoff=0.01, log=io.StringIO())
    t0 = time.monotonic()
    for _ in range(5):
        c.chat([{"role": "system", "content": "detail? describe the image in detail"}, {"role": "user", "content": "x"}])
    dt = time.monotonic() - t0
    expect(dt >= 4 * 0.05 - 0.01, "5 requests at 1200/min took %.3fs (want >= 0.2s)" % dt)
    # 401 is not retried
    bad = instruct.ChatClient("m", base_url=base, api_key="wrong", rpm=0, retries=3, backoff=0.01, log=io.StringIO())
    n = len(fake.requests)
    try:
        bad.chat([{"role": "system", "content": "describe the image in detail"}, {"role": "user", "content": "x"}])
        raise AssertionError("a 401 did not raise")
    except RuntimeError as e:
        expect("401" in str(e) and len(fake.requests) == n + 1, "401 retried or not reported: %s" % e)
    srv.shutdown()
    # a dead server: retries, then gives up
    dead = instruct.ChatClient("m", base_url="http://127.0.0.1:9/v1", api_key="k", rpm=0, retries=2, backoff=0.01, timeout=2,
                               log=io.StringIO())
    try:
        dead.chat([{"role": "user", "content": "x"}])
        raise AssertionError("no error from a dead server")
    except RuntimeError as e:
        expect("3 tries" in str(e), "gave up after: %s" % e)


def test_world_json_input():
    with tempfile.TemporaryDirectory() as tmp:
        world = {"seed": 1, "size": 64, "n": 1, "images": [{
            "id": "000000", "file": "images/000000.png", "background": {"kind": "plain", "colors": ["gray"]},
            "objects": [{"shape": "circle", "color": "red", "size": "large", "box": [0.1, 0.2, 0.3, 0.4]}],
            "captions": ["a", "b", "c", "d", "e"], "boxes": "red circle: [0.100, 0.200, 0.300, 0.400]"}]}
        json.dump(world, open(os.path.join(tmp, "world.json"), "w"))
        c = instruct.load_contexts(tmp)
        expect(len(c) == 1 and c[0]["image"] == "000000.png", "world.json read")
        expect(instruct.context_text(c[0]) == "a\nb\nc\nd\ne\n\nred circle: [0.100, 0.200, 0.300, 0.400]", "context text")


if __name__ == "__main__":
    check("parse and reject replies", test_parse)
    check("prompt structure: system, few-shot pairs, query", test_prompt_structure)
    check("end to end: 429 retry, malformed reply, resume", test_end_to_end)
    check("rate limit, non-retryable errors, dead server", test_rate_limit_and_errors)
    check("world.json as input", test_world_json_input)
    sys.exit(summary())
