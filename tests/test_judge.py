#!/usr/bin/env python3
"""Tests of tools/repro/judge.py (the LLaVA-Bench judge) against a fake chat-completions server started here:
the review prompt's layout, robust score parsing, retry on 429 and on unreadable scores, resumable
reviews, and the relative score. Standard library only; prints "ok    name" or "FAIL  name: reason"
per test and ends with "N passed, N failed"."""
import http.server
import io
import json
import os
import sys
import tempfile
import threading

from pycheck import check, expect, summary  # tests/, the script's own folder

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "repro"))
import judge  # noqa: E402



def test_parse_scores():
    cases = [
        ("8 7\nBoth are fine.", [8, 7]),
        ("8,7\nok", [8, 7]),
        ("8, 6.5\nok", [8, 6.5]),
        ("10 3", [10, 3]),
        ("**9 4**\nThe second is wrong.", [9, 4]),
        ("Here are my scores.\nAssistant 1: 8\nAssistant 2: 5", [8, 5]),
        ("Assistant 1 receives a 9, and Assistant 2 receives 6.", [9, 6]),
        ("I would give 7/10 to the first and 4/10 to the second.", [7, 4]),
        ("Scores: 9 and 3 (out of 10)\nexplanation", [9, 3]),
        ("I cannot evaluate this.", None),
        ("", None),
        ("42 17\nout of range", None),
    ]
    for text, want in cases:
        got = judge.parse_scores(text)
        expect(got == want, "%r parsed as %r, want %r" % (text, got, want))


def test_content_layout():
    c = judge.build_content("CAPS\n\nBOXES", "What is it?", "REF", "CAND")
    expect(c.startswith("[Context]\nCAPS\n\nBOXES\n\n[Question]\nWhat is it?\n\n[Assistant 1]\nREF\n\n[End of Assistant 1]\n\n"
                        "[Assistant 2]\nCAND\n\n[End of Assistant 2]\n\n[System]\n"), "layout: %r" % c[:200])
    expect("two scores" in c and "1 to 10" in c, "the review prompt asks for two scores 1-10")


class Fake:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.sent_429 = False
        self.sent_junk = False


def make_handler(fake):
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            user = body["messages"][-1]["content"]
            cand = user.split("[Assistant 2]\n")[1].split("\n\n[End of Assistant 2]")[0]
            with fake.lock:
                fake.requests.append(cand)
                if not fake.sent_429:
                    fake.sent_429 = True
                    status = 429
                else:
                    status = 200
                    if cand == "JUNK" and not fake.sent_junk:
                        fake.sent_junk = True
                        text = "Both answers have merits."
                    elif cand.startswith("GOOD"):
                        text = "8 8\nBoth are accurate."
                    else:
                        text = "8 2\nAssistant 2 is wrong."
            if status != 200:
                self.send_response(429)
                self.send_header("Retry-After", "0")
                self.end_headers()
                return
            out = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
    return H


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def test_end_to_end():
    fake = Fake()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    os.environ["OPENAI_BASE_URL"] = "http://127.0.0.1:%d/v1" % srv.server_address[1]
    os.environ["OPENAI_API_KEY"] = "k"
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda n: os.path.join(tmp, n)  # noqa: E731
        write_jsonl(p("q.jsonl"), [{"question_id": i, "image": "000000.png", "text": "Q%d" % i, "category": c}
                                   for i, c in enumerate(["conv", "detail", "complex", "conv"])])
        write_jsonl(p("c.jsonl"), [{"id": "000000", "image": "000000.png", "captions": ["A red circle."],
                                    "instances": [{"category": "red circle", "bbox": [0.1, 0.1, 0.3, 0.3]}]}])
        write_jsonl(p("r.jsonl"), [{"question_id": i, "text": "REF"} for i in range(4)])
        write_jsonl(p("a.jsonl"), [{"question_id": 0, "text": "GOOD"}, {"question_id": 1, "text": "BAD"},
                                   {"question_id": 2, "text": "JUNK"}, {"question_id": 3, "text": "GOOD too"}])
        args = ["--questions", p("q.jsonl"), "--context", p("c.jsonl"), "--reference", p("r.jsonl"), "--answers", p("a.jsonl"),
                "--out", p("rev.jsonl"), "--json", p("s.json"), "--model", "judge", "--rpm", "0", "--backoff", "0.01"]
        out = io.StringIO()
        judge.main(args, log=out)
        expect(len(fake.requests) == 6, "4 questions + a 429 retry + an unreadable review = 6 requests, got %d" % len(fake.requests))
        s = json.load(open(p("s.json")))
        expect(s["conv"]["relative"] == 100.0 and s["detail"]["relative"] == 25.0 and s["complex"]["relative"] == 25.0,
               "per-category relative scores %r" % s)
        expect(abs(s["all"]["relative"] - 62.5) < 1e-9 and s["all"]["count"] == 4, "overall relative %r" % s["all"])
        revs = [json.loads(x) for x in open(p("rev.jsonl"))]
        expect([r["tuple"] for r in revs] == [[8, 8], [8, 2], [8, 2], [8, 8]], "tuples %r" % [r["tuple"] for r in revs])
        expect(all("question_id" in r and "category" in r and "content" in r for r in revs), "review fields")
        # resume: nothing is asked again
        n = len(fake.requests)
        judge.main(args, log=io.StringIO())
        expect(len(fake.requests) == n, "a rerun sent %d requests" % (len(fake.requests) - n))
        # summarize a review file alone (judge_offline writes the same shape), unreadable ones left out
        write_jsonl(p("off.jsonl"), [{"question_id": 0, "category": "conv", "tuple": [10.0, 5.0]},
                                     {"question_id": 1, "category": "conv", "tuple": [-1, -1]},
                                     {"question_id": 2, "category": "llava_bench_detail", "tuple": [8.0, 8.0]}])
        out = io.StringIO()
        judge.main(["--summarize", p("off.jsonl"), "--json", p("s2.json")], log=out)
        s2 = json.load(open(p("s2.json")))
        expect(s2["conv"]["relative"] == 50.0 and s2["conv"]["unparsed"] == 1 and s2["detail"]["relative"] == 100.0,
               "summary %r" % s2)
        expect("relative" in out.getvalue(), "a table is printed")
    srv.shutdown()


if __name__ == "__main__":
    check("score parsing: LLaVA's first line and fallbacks", test_parse_scores)
    check("review prompt layout as LLaVA's", test_content_layout)
    check("end to end: 429, unreadable scores, resume, relative score", test_end_to_end)
    sys.exit(summary())
