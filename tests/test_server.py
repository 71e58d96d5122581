#!/usr/bin/env python3
"""The client side of tests/test_server.sh, against a running server (examples/server.c). Prints "ok    name" or
"FAIL  name: reason" per check; exits non-zero when one failed.

    test_server.py openai URL KEY MODEL IMAGE PROMPT MAX_TOKENS GREEDY_FILE SEED SEEDED_FILE
        with the official `openai` package: models.list, a non-streamed and a streamed answer (include_usage)
        about IMAGE sent as a data URL that equal GREEDY_FILE (chat's greedy answer to PROMPT), a sampled one with
        SEED at temperature 0.7 that equals SEEDED_FILE, stop sequences, max_completion_tokens, a text-only
        message, and the errors the client raises (400, 401, 404)
    test_server.py burst URL KEY BODY_FILE N
        standard library only: N connections opened first, then the same request sent on all at once; the server
        (2 slots, a queue of 8) answers each 200 or 503 with an OpenAI error, some of each"""
import base64
import json
import socket
import sys
import threading
import time
import urllib.parse

from pycheck import check, expect, summary  # tests/, the script's own folder



def openai_checks(url, key, model, image, prompt, max_tokens, greedy_file, seed, seeded_file):
    import openai  # the official client: pip install openai

    greedy = open(greedy_file, encoding="utf-8").read()
    seeded = open(seeded_file, encoding="utf-8").read()
    max_tokens, seed = int(max_tokens), int(seed)
    client = openai.OpenAI(base_url=url + "/v1", api_key=key, timeout=60, max_retries=0)
    data_url = "data:image/png;base64," + base64.b64encode(open(image, "rb").read()).decode()
    messages = [{"role": "user", "content": [{"type": "text", "text": prompt},
                                             {"type": "image_url", "image_url": {"url": data_url}}]}]

    def models():
        ids = [m.id for m in client.models.list()]
        expect(ids == [model], "models %r" % ids)

    def plain():
        r = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=max_tokens)
        c = r.choices[0]
        expect(c.message.content == greedy, "%r, chat says %r" % (c.message.content, greedy))
        expect(c.message.role == "assistant" and c.finish_reason == "stop", "role %r, finish_reason %r" % (c.message.role, c.finish_reason))
        u = r.usage
        expect(u.prompt_tokens > 64 and 0 < u.completion_tokens < max_tokens and u.total_tokens == u.prompt_tokens + u.completion_tokens,
               "usage %r" % u)
        expect(r.object == "chat.completion" and r.id and r.model, "fields %r" % r)

    def streamed():
        text, finish, usage = "", [], None
        stream = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=max_tokens,
                                                stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            if chunk.usage is not None:
                expect(chunk.choices == [], "the usage chunk has choices")
                usage = chunk.usage
            for c in chunk.choices:
                text += c.delta.content or ""
                if c.finish_reason:
                    finish.append(c.finish_reason)
        expect(text == greedy, "%r, chat says %r" % (text, greedy))
        expect(finish == ["stop"], "finish_reasons %r" % finish)
        expect(usage is not None and usage.completion_tokens > 0 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens,
               "usage %r" % usage)

    def sampled():
        for _ in range(2):
            r = client.chat.completions.create(model=model, messages=messages, temperature=0.7, seed=seed, max_tokens=max_tokens)
            expect(r.choices[0].message.content == seeded, "%r, chat --seed %d says %r" % (r.choices[0].message.content, seed, seeded))

    def stop():
        words = greedy.split()
        expect(len(words) >= 3, "the greedy answer %r is too short to cut" % greedy)
        cut = " " + words[2]
        want = greedy[:greedy.index(cut)]
        r = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=max_tokens, stop=[cut, "zzzz"])
        c = r.choices[0]
        expect(c.message.content == want and c.finish_reason == "stop", "stop %r: %r (%s), want %r" % (cut, c.message.content, c.finish_reason, want))
        text = "".join(ch.choices[0].delta.content or "" for ch in client.chat.completions.create(
            model=model, messages=messages, temperature=0, max_tokens=max_tokens, stop=cut, stream=True) if ch.choices)
        expect(text == want, "streamed, stop %r: %r, want %r" % (cut, text, want))

    def completion_tokens():
        r = client.chat.completions.create(model=model, messages=messages, temperature=0, max_completion_tokens=2)
        expect(r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 2, "%r" % r)
        expect(greedy.startswith(r.choices[0].message.content), "%r is not the start of %r" % (r.choices[0].message.content, greedy))

    def text_only():
        r = client.chat.completions.create(model=model, temperature=0, max_tokens=8,
                                           messages=[{"role": "system", "content": "You answer briefly."},
                                                     {"role": "user", "content": "Hello"}])
        expect(r.usage.completion_tokens > 0 and isinstance(r.choices[0].message.content, str), "%r" % r)

    def errors():
        bad = [{"role": "user", "content": [{"type": "text", "text": "Hi"},
                                            {"type": "image_url", "image_url": {"url": "data:image/png;base64,%%%"}}]}]
        try:
            client.chat.completions.create(model=model, messages=bad, max_tokens=4)
            raise AssertionError("bad base64 was answered")
        except openai.BadRequestError as e:
            expect(e.status_code == 400 and isinstance(e.body, dict) and e.body.get("message"), "body %r" % e.body)
        try:
            client.chat.completions.create(model=model, messages=messages, max_tokens=10 ** 6)
            raise AssertionError("max_tokens 10**6 was answered")
        except openai.BadRequestError as e:
            expect(e.status_code == 400, "status %d" % e.status_code)
        try:
            openai.OpenAI(base_url=url + "/v1", api_key="wrong-key", timeout=30, max_retries=0).models.list()
            raise AssertionError("a wrong key was let in")
        except openai.AuthenticationError as e:
            expect(e.status_code == 401, "status %d" % e.status_code)
        try:
            client.completions.create(model=model, prompt="Hi", max_tokens=4)  # the legacy endpoint is not served
            raise AssertionError("/v1/completions was answered")
        except openai.NotFoundError as e:
            expect(e.status_code == 404, "status %d" % e.status_code)

    check("openai %s: models.list" % openai.__version__, models)
    check("openai: an image as a data URL, greedy: chat's answer, usage", plain)
    check("openai: streamed with include_usage: chat's answer, a usage chunk", streamed)
    check("openai: seed %d, temperature 0.7, twice: chat's sampled answer" % seed, sampled)
    check("openai: stop sequences, plain and streamed", stop)
    check("openai: max_completion_tokens 2: finish_reason length", completion_tokens)
    check("openai: a text-only conversation with a system message", text_only)
    check("openai: errors raised as BadRequestError, AuthenticationError, NotFoundError", errors)


def burst(url, key, body_file, n):
    """n connections first, then one request on each at once; returns [(status, body)]"""
    u = urllib.parse.urlsplit(url)
    body = open(body_file, "rb").read()
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (u.netloc, key, len(body))).encode()
    socks = [socket.create_connection((u.hostname, u.port), timeout=60) for _ in range(n)]
    go = threading.Barrier(n)
    out = [None] * n

    def one(i):
        s = socks[i]
        try:
            go.wait()
            s.sendall(head + body)
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
            status = int(data.split(b" ", 2)[1])
            out[i] = (status, data.split(b"\r\n\r\n", 1)[1])
        except Exception as e:  # noqa: BLE001
            out[i] = (0, str(e).encode())
        finally:
            s.close()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def burst_checks(url, key, body_file, n):
    t = time.time()
    out = burst(url, key, body_file, int(n))
    took = time.time() - t

    def statuses():
        got = sorted(set(s for s, _ in out))
        expect(got == [200, 503], "statuses %r" % [s for s, _ in out])
        ok = sum(1 for s, _ in out if s == 200)
        expect(ok >= 10, "only %d of %d answered (2 slots and a queue of 8 should take 10)" % (ok, len(out)))

    def bodies():
        for s, b in out:
            if s == 503:
                e = json.loads(b)["error"]
                expect(e["message"] and isinstance(e["type"], str) and "param" in e and "code" in e, "503 body %r" % b[:200])
            elif s == 200:
                d = json.loads(b)
                expect(d["choices"][0]["message"]["content"] is not None and d["usage"]["completion_tokens"] > 0, "200 body %r" % b[:200])
    check("a full queue: %d requests at once, %d answered, %d refused with 503 (%.1f s)" % (
        len(out), sum(1 for s, _ in out if s == 200), sum(1 for s, _ in out if s == 503), took), statuses)
    check("a full queue: the 503s are OpenAI errors, the answers whole", bodies)


def main(argv):
    modes = {"openai": (openai_checks, 9), "burst": (burst_checks, 4)}
    if len(argv) < 2 or argv[1] not in modes or len(argv) - 2 != modes[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    modes[argv[1]][0](*argv[2:])
    return summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
