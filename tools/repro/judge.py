#!/usr/bin/env python3
"""judge.py: the LLaVA-Bench judge with an OpenAI-compatible endpoint (standard library only).

For each question, the symbolic context of its image (captions and boxes), the question, a reference
answer (assistant 1) and the candidate answer (assistant 2) go to the judge model with a review prompt
in the structure of LLaVA's llava/eval/table/rule.json: two scores from 1 to 10 on the first line, then
an explanation. The relative score, as in LLaVA's summarize_gpt_review.py, is
mean(candidate) / mean(reference) x 100, per question category (conv, detail, complex) and overall.

    OPENAI_BASE_URL=... OPENAI_API_KEY=... python3 tools/repro/judge.py \\
        --questions bench/questions.jsonl --context bench/context.jsonl \\
        --reference bench/answers_ref.jsonl --answers model_answers.jsonl \\
        --out reviews.jsonl --model gpt-4o [--rpm 60] [--json summary.json]
    python3 tools/repro/judge.py --summarize reviews.jsonl [--json summary.json]

questions: {"question_id", "image", "text", "category"}; context: {"image", "captions", "instances"} (or
"text") per image; answers: {"question_id", "text"}. reviews.jsonl (append-only, a rerun skips the
question ids it holds): {"id", "question_id", "category", "tuple": [reference, candidate], "content"},
the same shape judge_offline (tools/repro/judge_offline.c) writes, so --summarize reads both. Reviews whose scores cannot be
read are asked again, then kept with [-1, -1] and left out of the means.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from instruct import ChatClient, HelpFormatter, context_text, end_with_newline, number, version  # noqa: E402

JUDGE_SYSTEM = "You are a careful, impartial assistant who checks how good answers to questions are."

REVIEW_PROMPT = (
    "We would like your feedback on how two AI assistants answered the user question shown above. The user "
    "asked it while looking at an image. So that you can see the image's content, it is given as five "
    "sentences that each describe the same image, followed by the objects in it with bounding boxes "
    "(x1, y1, x2, y2): numbers from 0 to 1 for the top-left and bottom-right corners, with y growing downwards.\n"
    "Rate the helpfulness, relevance, accuracy and level of detail of each response. Each assistant gets one "
    "overall score from 1 to 10, where higher means better.\n"
    "On the first line, write only the two scores, for Assistant 1 and Assistant 2 in that order, separated "
    "by a space. From the next line on, explain your judgement in full, without letting the order in which "
    "the answers were shown, or their length, sway you."
)


def build_content(context, question, ans1, ans2, role="Assistant"):
    """the user message, laid out as LLaVA's eval_gpt_review_bench.py lays it out"""
    return ("[Context]\n%s\n\n[Question]\n%s\n\n[%s 1]\n%s\n\n[End of %s 1]\n\n[%s 2]\n%s\n\n[End of %s 2]\n\n"
            "[System]\n%s\n\n" % (context, question, role, ans1, role, role, ans2, role, REVIEW_PROMPT))


NUM = r"(10(?:\.0+)?|[0-9](?:\.[0-9]+)?)"


def parse_scores(review):
    """two scores from a review, or None. LLaVA's rule first (the first line holds exactly two numbers,
    space or comma separated); then "Assistant 1: 8 ... Assistant 2: 7"; then "8/10 ... 7/10"; then the
    first line's first two numbers."""
    if not isinstance(review, str) or not review.strip():
        return None
    lines = review.strip().split("\n")
    first = lines[0].replace(",", " ").strip().strip("*`#").strip()
    sp = first.split()
    ok = lambda a: all(0 <= x <= 10 for x in a)  # noqa: E731
    if len(sp) == 2:
        try:
            a = [float(sp[0]), float(sp[1])]
            if ok(a):
                return a
        except ValueError:
            pass
    m1 = re.search(r"assistant\s*1\D{0,20}?" + NUM, review, flags=re.I)
    m2 = re.search(r"assistant\s*2\D{0,20}?" + NUM, review, flags=re.I)
    if m1 and m2:
        return [float(m1.group(1)), float(m2.group(1))]
    fr = re.findall(NUM + r"\s*/\s*10\b", review)
    if len(fr) >= 2:
        return [float(fr[0]), float(fr[1])]
    nums = re.findall(r"(?<![\d.])" + NUM + r"(?![\d.])", lines[0])
    if len(nums) >= 2:
        a = [float(nums[0]), float(nums[1])]
        if ok(a):
            return a
    return None


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarize(reviews):
    """{category: {"count", "reference", "candidate", "relative", "unparsed"}}, with "all" """
    cats = {}
    for r in reviews:
        c = r.get("category", "all")
        c = c[len("llava_bench_"):] if c.startswith("llava_bench_") else c
        for k in (c, "all") if c != "all" else ("all",):
            d = cats.setdefault(k, {"ref": [], "cand": [], "unparsed": 0})
            t = r.get("tuple")
            if not t or len(t) != 2 or t[0] < 0 or t[1] < 0:
                d["unparsed"] += 1
            else:
                d["ref"].append(float(t[0]))
                d["cand"].append(float(t[1]))
    out = {}
    order = [k for k in ("conv", "detail", "complex") if k in cats] + sorted(k for k in cats if k not in
                                                                            ("conv", "detail", "complex", "all"))
    for k in order + ["all"]:
        if k not in cats:
            continue
        d = cats[k]
        n = len(d["ref"])
        mr = sum(d["ref"]) / n if n else 0.0
        mc = sum(d["cand"]) / n if n else 0.0
        out[k] = {"count": n, "reference": round(mr, 3), "candidate": round(mc, 3),
                  "relative": round(100.0 * mc / mr, 1) if mr > 0 else 0.0, "unparsed": d["unparsed"]}
    return out


def print_summary(s, log=sys.stdout):
    print("%-8s %5s %9s %9s %9s" % ("", "count", "reference", "candidate", "relative"), file=log)
    for k, v in s.items():
        extra = "  (%d unparsed)" % v["unparsed"] if v["unparsed"] else ""
        print("%-8s %5d %9.2f %9.2f %9.1f%s" % (k, v["count"], v["reference"], v["candidate"], v["relative"], extra),
              file=log)


def judge(args, log=sys.stderr):
    questions = read_jsonl(args.questions)
    contexts = {c["image"]: c for c in read_jsonl(args.context)}
    refs = {str(a["question_id"]): a for a in read_jsonl(args.reference)}
    cands = {str(a["question_id"]): a for a in read_jsonl(args.answers)}
    done = {}
    end_with_newline(args.out)
    if os.path.exists(args.out):
        for line in open(args.out):
            try:
                r = json.loads(line)
                done[str(r["question_id"])] = r
            except ValueError:
                pass
    client = ChatClient(args.model, rpm=args.rpm, retries=args.retries, backoff=args.backoff, timeout=args.timeout,
                        log=log)
    with open(args.out, "a") as f:
        for i, q in enumerate(questions):
            qid = str(q["question_id"])
            if qid in done:
                continue
            if q["image"] not in contexts:
                raise SystemExit("no context for image %r" % q["image"])
            if qid not in refs:
                raise SystemExit("no reference answer for question %s" % qid)
            ans2 = cands[qid]["text"] if qid in cands else ""
            content = build_content(context_text(contexts[q["image"]]), q["text"], refs[qid]["text"], ans2)
            msgs = [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": content}]
            review, scores = "", None
            for _ in range(args.max_attempts):
                try:
                    review = client.chat(msgs, temperature=args.temperature, max_tokens=args.max_tokens)
                except RuntimeError as e:
                    print("question %s: %s" % (qid, e), file=log)
                    break
                scores = parse_scores(review)
                if scores:
                    break
            rec = {"id": i + 1, "question_id": q["question_id"], "category": q.get("category", "all"),
                   "answer1_id": refs[qid].get("answer_id", qid), "answer2_id": cands.get(qid, {}).get("answer_id", qid),
                   "tuple": scores or [-1, -1], "content": review}
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
            done[qid] = rec
    return [done[str(q["question_id"])] for q in questions if str(q["question_id"]) in done], client.requests


def main(argv=None, log=sys.stdout):
    ap = argparse.ArgumentParser(prog="judge.py", description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--version", action="version", version=version("judge.py"))
    ap.add_argument("--questions", help="the questions, instruct --bench's questions.jsonl")
    ap.add_argument("--context", help="each image's captions and boxes, instruct --bench's context.jsonl")
    ap.add_argument("--reference", help="the reference answers (assistant 1), instruct --bench's answers_ref.jsonl")
    ap.add_argument("--answers", help="the answers to judge (assistant 2), answer's output")
    ap.add_argument("--out", help="reviews.jsonl (appended to; a rerun resumes)")
    ap.add_argument("--summarize", help="only summarize this reviews.jsonl (the other inputs are not needed)")
    ap.add_argument("--json", help="write the summary here")
    ap.add_argument("--model", default="gpt-4o", help="the endpoint's judge model")
    ap.add_argument("--rpm", type=number(float, 0), default=60.0, help="requests per minute (0: no limit)")
    ap.add_argument("--retries", type=number(int, 0), default=6, help="retries of a failed request (HTTP 429/5xx, network)")
    ap.add_argument("--backoff", type=number(float, 0), default=1.0, help="first retry delay in seconds, doubled each retry")
    ap.add_argument("--max-attempts", type=number(int, 1), default=3, help="requests per question when scores cannot be read")
    ap.add_argument("--timeout", type=number(float, 0), default=120.0, help="seconds a request may take")
    ap.add_argument("--temperature", type=number(float, 0, 2), default=0.2, help="the judge's sampling temperature")
    ap.add_argument("--max-tokens", type=number(int, 1), default=1024, help="longest review in tokens")
    args = ap.parse_args(argv)
    if args.summarize:
        reviews = read_jsonl(args.summarize)
    else:
        for k in ("questions", "context", "reference", "answers", "out"):
            if not getattr(args, k):
                ap.error("--%s is needed (or --summarize)" % k)
        reviews, _ = judge(args, log=sys.stderr)
    s = summarize(reviews)
    print_summary(s, log)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(s, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
