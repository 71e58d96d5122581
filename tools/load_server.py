#!/usr/bin/env python3
"""load_server.py: the server's load figure (standard library only). Short greedy answers about an image (sent as
a data URL, max_tokens 8 by default) at 1 and at 8 concurrent clients, each client on its own keep-alive
connection: requests per second, p50 and p99 latency; then the server's resident memory (VmRSS in
/proc/PID/status) before and after --requests more at 8 clients. Every request has a timeout and the whole run a
deadline, so it stops by itself.

    build/server --model models/shapes-mini --port 8080 --slots 2 --queue 64 --quiet &
    python3 tools/load_server.py --url http://127.0.0.1:8080 --pid $! [--requests 10000] [--image models/shapes-mini/sample.png]

Prints one line per phase and a summary; --json FILE writes the figures. Exit 1 when a request failed."""
import argparse
import base64
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse


def rss_kib(pid):
    """the resident set size of process pid in KiB (VmRSS), None where /proc cannot tell"""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class Client:
    """one keep-alive connection; reconnects after an error"""

    def __init__(self, url, key, timeout):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.headers = {"Content-Type": "application/json"}
        if key:
            self.headers["Authorization"] = "Bearer " + key
        self.conn = None

    def post(self, body):
        """(status, seconds, completion tokens)"""
        t = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.conn.connect()
                self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn.request("POST", "/v1/chat/completions", body=body, headers=self.headers)
            r = self.conn.getresponse()
            data = r.read()
            n = 0
            if r.status == 200:
                n = json.loads(data)["usage"]["completion_tokens"]
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, time.perf_counter() - t, n
        except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
            self.close()
            return "%s: %s" % (type(e).__name__, e), time.perf_counter() - t, 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run(url, key, body, clients, requests, timeout, deadline):
    """requests spread over clients threads; returns (latencies, errors, tokens, seconds)"""
    lat, errors, tokens = [], {}, [0]
    lock = threading.Lock()
    left = [requests]

    def worker():
        c = Client(url, key, timeout)
        while time.monotonic() < deadline:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            status, dt, n = c.post(body)
            with lock:
                if status == 200:
                    lat.append(dt)
                    tokens[0] += n
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
        c.close()
    t = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(max(0.0, deadline - time.monotonic()) + timeout + 1)
    return lat, errors, tokens[0], time.perf_counter() - t


def pct(xs, p):
    """the p-th percentile (nearest rank) of xs, in milliseconds"""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return 1000 * s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="load_server.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080", help="the server (default: http://127.0.0.1:8080)")
    ap.add_argument("--pid", type=int, default=0, help="the server's process id, for its memory (default: none, no memory figure)")
    ap.add_argument("--api-key", default=os.environ.get("LLAVA_API_KEY", ""), help="sent as Authorization: Bearer (default: $LLAVA_API_KEY)")
    ap.add_argument("--model", default="", help="the request's model field (default: the first of /v1/models)")
    ap.add_argument("--image", default="models/shapes-mini/sample.png", help="the image asked about (default: models/shapes-mini/sample.png; "
                    "'' for none)")
    ap.add_argument("--prompt", default="What shape is in the image?", help="the question (default: What shape is in the image?)")
    ap.add_argument("--max-tokens", type=int, default=8, help="max_tokens of each answer, greedy (default: 8)")
    ap.add_argument("--measure", type=int, default=500, help="requests timed at each concurrency (default: 500)")
    ap.add_argument("--clients", default="1,8", help="the concurrencies timed (default: 1,8)")
    ap.add_argument("--requests", type=int, default=10000, help="requests between the two memory readings, at the largest "
                    "concurrency (default: 10000)")
    ap.add_argument("--warmup", type=int, default=100, help="requests before the first memory reading (default: 100)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds one request may take (default: 60)")
    ap.add_argument("--max-seconds", type=float, default=1800, help="the whole run's deadline (default: 1800)")
    ap.add_argument("--json", default="", help="write the figures here (default: none)")
    args = ap.parse_args(argv)
    try:
        clients = [int(c) for c in args.clients.split(",") if c]
        assert clients and min(clients) >= 1
    except (ValueError, AssertionError):
        ap.error("--clients: a list of whole numbers of at least 1, like 1,8")
    for name in ("max_tokens", "measure", "requests", "warmup"):
        if getattr(args, name) < (1 if name == "max_tokens" else 0):
            ap.error("--%s: %d is out of range" % (name.replace("_", "-"), getattr(args, name)))
    deadline = time.monotonic() + args.max_seconds
    model = args.model
    if not model:
        try:
            c = http.client.HTTPConnection(urllib.parse.urlsplit(args.url).hostname, urllib.parse.urlsplit(args.url).port or 80, timeout=args.timeout)
            c.request("GET", "/v1/models", headers={"Authorization": "Bearer " + args.api_key} if args.api_key else {})
            r = c.getresponse()
            model = json.loads(r.read())["data"][0]["id"]
            c.close()
        except (OSError, http.client.HTTPException, ValueError, KeyError, IndexError) as e:
            sys.exit("load_server.py: %s/v1/models: %s" % (args.url, e))
    content = args.prompt
    if args.image:
        try:
            img = open(args.image, "rb").read()
        except OSError as e:
            sys.exit("load_server.py: %s" % e)
        ext = os.path.splitext(args.image)[1].lower().lstrip(".").replace("jpg", "jpeg") or "png"
        content = [{"type": "text", "text": args.prompt},
                   {"type": "image_url", "image_url": {"url": "data:image/%s;base64,%s" % (ext, base64.b64encode(img).decode())}}]
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": content}], "temperature": 0,
                       "max_tokens": args.max_tokens}).encode()
    figures = {"url": args.url, "model": model, "max_tokens": args.max_tokens, "image": args.image, "timed": []}
    failed = 0

    def report(what, lat, errors, tokens, secs):
        nonlocal failed
        n = len(lat)
        failed += sum(errors.values())
        rps = n / secs if secs > 0 else 0.0
        print("%-28s %6d requests in %6.2f s: %8.1f requests/s, p50 %7.2f ms, p99 %7.2f ms, %5.2f tokens/answer%s" % (
            what, n, secs, rps, pct(lat, 50), pct(lat, 99), tokens / n if n else 0.0,
            ", errors %s" % errors if errors else ""), flush=True)
        return {"requests": n, "seconds": round(secs, 3), "requests_per_s": round(rps, 2), "p50_ms": round(pct(lat, 50), 3),
                "p99_ms": round(pct(lat, 99), 3), "tokens_per_answer": round(tokens / n, 3) if n else 0, "errors": errors}

    for k in clients:
        run(args.url, args.api_key, body, k, min(args.measure, 2 * k + 10), args.timeout, deadline)  # connections and slots warm
        f = report("%d client%s" % (k, "" if k == 1 else "s"), *run(args.url, args.api_key, body, k, args.measure, args.timeout, deadline))
        f["clients"] = k
        figures["timed"].append(f)
    if args.requests > 0:
        k = max(clients)
        if args.warmup:
            run(args.url, args.api_key, body, k, args.warmup, args.timeout, deadline)
        before = rss_kib(args.pid) if args.pid else None
        f = report("memory run, %d clients" % k, *run(args.url, args.api_key, body, k, args.requests, args.timeout, deadline))
        after = rss_kib(args.pid) if args.pid else None
        figures["memory"] = dict(f, clients=k, rss_before_kib=before, rss_after_kib=after)
        if before is not None and after is not None:
            print("server RSS (VmRSS of pid %d): %.1f MiB before, %.1f MiB after %d requests (%+.1f MiB)" % (
                args.pid, before / 1024, after / 1024, f["requests"], (after - before) / 1024))
        elif args.pid:
            print("server RSS: /proc/%d/status cannot be read" % args.pid)
        if f["requests"] + sum(f["errors"].values()) < args.requests:
            print("load_server.py: stopped at the deadline (--max-seconds %g)" % args.max_seconds)
            failed += 1
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
