#!/bin/sh
# End-to-end test of the OpenAI-compatible server (examples/server.c) on the committed small model, on a free
# loopback port: with curl, answers about an image (plain and streamed) that equal chat's for greedy decoding and
# for the same seed, 8 concurrent clients, each malformed request answered with its status and an OpenAI-shaped
# error while the server keeps serving, a full queue (503), SIGTERM (exit 0); then the official `openai` Python
# client (tests/test_server.py, in a virtual environment made here; skipped with a message where PyPI cannot be
# reached), and tools/repro/instruct.py --backend openai and tools/repro/judge.py end to end.
# usage: sh tests/test_server.sh [BUILD]   (from the repository root; BUILD holds server and chat, default build)
# Skipped, with the reason and "0 passed, 0 failed", where BUILD/server is not built (it needs libmicrohttpd).
# Set TEST_SERVER_PYTHON to a python3 that has `openai` to skip making the virtual environment.
B=${1:-build}
SERVER=$B/server
CHAT=$B/chat
M=models/shapes-mini
IMG=$M/sample.png
KEY=test-key-0123456789
pass=0; fail=0
skip() { echo "test_server.sh: skipped: $1"; echo "0 passed, 0 failed"; exit 0; }
[ -x "$SERVER" ] || skip "no $SERVER (it needs libmicrohttpd: apt-get install libmicrohttpd-dev pkg-config; make $SERVER)"
[ -x "$CHAT" ] || skip "no $CHAT (make $CHAT)"
command -v curl > /dev/null 2>&1 || skip "no curl"
command -v python3 > /dev/null 2>&1 || skip "no python3 (the responses are read with its json module)"
T=$(mktemp -d /tmp/llava-server-XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2> /dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
check() { # name, condition result (0 = ok), what to say on failure
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok    $1"; else fail=$((fail + 1)); echo "FAIL  $1: $3"; fi
}
# the checks tests/test_server.py printed ("ok    ..." / "FAIL  ..."), added to the counts
count_py() { # output file
    grep -v '^[0-9]* passed, [0-9]* failed$' "$1"
    pass=$((pass + $(grep -c '^ok ' "$1"))); fail=$((fail + $(grep -c '^FAIL ' "$1")))
}
# jq-like: a Python expression over the JSON document d (a file) that must be true
jtrue() { # file, expression
    python3 -c 'import json, sys
try:
    d = json.load(open(sys.argv[1]))
    sys.exit(0 if eval(sys.argv[2]) else 1)
except Exception:
    sys.exit(1)' "$1" "$2" 2> /dev/null
}
# the error shape of OpenAI's API: {"error": {"message": "...", "type": "...", "param": ..., "code": ...}}
ERR='isinstance(d["error"]["message"], str) and d["error"]["message"] != "" and isinstance(d["error"]["type"], str) and "param" in d["error"] and "code" in d["error"]'

# start_server LOG ARGS...: starts the server on a free loopback port, sets SPID and URL; 0 when it is up
start_server() {
    log=$1; shift
    "$SERVER" --model $M --host 127.0.0.1 --port 0 "$@" 2> "$log" &
    SPID=$!; PIDS="$PIDS $SPID"; URL=""
    i=0
    while [ $i -lt 300 ]; do # 30 s for the first line
        line=$(head -n 1 "$log" 2> /dev/null)
        case "$line" in "server: listening on http://127.0.0.1:"[0-9]*) URL=${line#server: listening on }; break ;; esac
        kill -0 $SPID 2> /dev/null || break
        sleep 0.1; i=$((i + 1))
    done
    [ -n "$URL" ] || return 1
    i=0
    while [ $i -lt 100 ]; do # and 10 s for /health
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/health")" = 200 ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
# stop_server [SIGNAL]: SIGTERM (or SIGNAL), waits up to 10 s; sets STOP_RC (the exit status; 124 if it did not stop)
stop_server() {
    kill -"${1:-TERM}" $SPID 2> /dev/null
    i=0
    while kill -0 $SPID 2> /dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 $SPID 2> /dev/null; then kill -9 $SPID; wait $SPID 2> /dev/null; STOP_RC=124; else wait $SPID; STOP_RC=$?; fi
}
# post NAME BODYFILE [curl options...]: POSTs to /v1/chat/completions; the status in $T/NAME.code, the body in $T/NAME
post() {
    name=$1; body=$2; shift 2
    curl -sS --max-time 60 -o "$T/$name" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "${AUTH:-Authorization: Bearer $KEY}" --data-binary @"$body" "$@" "$URL/v1/chat/completions" > "$T/$name.code" 2> "$T/$name.err"
}
code() { cat "$T/$1.code" 2> /dev/null; }
# a JSON string literal of stdin's text
jstr() { python3 -c 'import json, sys; sys.stdout.write(json.dumps(sys.stdin.read()))'; }
DATA_URL="data:image/png;base64,$(base64 < $IMG | tr -d '\n')"
# request BODYFILE PROMPT MAX_TOKENS [EXTRA JSON FIELDS]: a request with the image as a data URL
request() {
    printf '{"model":"shapes-mini","messages":[{"role":"user","content":[{"type":"text","text":%s},{"type":"image_url","image_url":{"url":"%s"}}]}],"max_tokens":%s%s}' \
        "$(printf '%s' "$2" | jstr)" "$DATA_URL" "$3" "${4:+,$4}" > "$1"
}
# chat's answer to the same question, the newline it ends with removed
chat_answer() { # out file, prompt, max tokens, chat options...
    out=$1; cprompt=$2; cn=$3; shift 3
    "$CHAT" --model $M --image $IMG --prompt "$cprompt" --max-tokens "$cn" --quiet "$@" > "$out.nl" 2> "$out.err" &&
        python3 -c 'import sys; t = open(sys.argv[1]).read(); open(sys.argv[2], "w").write(t[:-1] if t.endswith("\n") else t)' "$out.nl" "$out"
}
# the text of a streamed answer (the deltas joined) and its shape checked: every line "data: {chunk}" or a blank,
# chunks of object chat.completion.chunk, one finish_reason, then (include_usage) a usage chunk with no choices,
# then "data: [DONE]" last. Writes the text to OUT; exit 0 when the shape is right.
sse() { # stream file, out file, want usage (0/1)
    python3 - "$1" "$2" "$3" << 'EOF'
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
lines = [l for l in raw.split("\n") if l.strip()]
assert lines and lines[-1] == "data: [DONE]", "does not end with data: [DONE]"
chunks = [json.loads(l[len("data: "):]) for l in lines[:-1] if l.startswith("data: ")]
assert len(chunks) == len(lines) - 1, "a line that is not data: ..."
text, finish, usage = "", [], None
for c in chunks:
    assert c["object"] == "chat.completion.chunk" and c["id"] and isinstance(c["created"], int), "chunk fields"
    if c.get("usage"):
        usage = c
        continue
    for ch in c["choices"]:
        text += ch["delta"].get("content") or ""
        if ch.get("finish_reason"):
            finish.append(ch["finish_reason"])
assert len(finish) == 1 and finish[0] in ("stop", "length"), "finish_reasons %r" % finish
if sys.argv[3] == "1":
    assert usage is not None and usage["choices"] == [] and usage is chunks[-1], "no usage chunk last"
    u = usage["usage"]
    assert u["completion_tokens"] > 0 and u["prompt_tokens"] > 0 and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], "usage %r" % u
open(sys.argv[2], "w", encoding="utf-8").write(text)
EOF
}
# the content of a non-streamed answer, and its shape checked
content() { # answer file, out file
    python3 - "$1" "$2" << 'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["object"] == "chat.completion" and d["id"] and isinstance(d["created"], int) and d["model"], "fields"
c = d["choices"][0]
assert c["index"] == 0 and c["message"]["role"] == "assistant" and c["finish_reason"] in ("stop", "length"), "choice %r" % c
u = d["usage"]
assert u["prompt_tokens"] > 0 and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"], "usage %r" % u
open(sys.argv[2], "w", encoding="utf-8").write(c["message"]["content"])
EOF
}
same() { cmp -s "$1" "$2"; }
show() { printf '%s' "$(head -c 200 "$1" 2> /dev/null)"; } # a file's start, for a failure message

# ---------------------------------------------------------------------------------------------------------------
# the server, as the README starts it, with small limits to reach
if ! start_server "$T/log" --slots 2 --queue 8 --api-key "$KEY" --max-body 262144 --max-images 2 --max-messages 8 \
        --max-image-bytes 100000 --max-image-pixels 1000000; then
    check "server starts on a free loopback port and answers /health" 1 "log: $(head -c 400 "$T/log")"
    echo "$pass passed, $fail failed"; exit 1
fi
check "server starts on a free loopback port, prints its address, answers /health" 0 ""

curl -sS --max-time 10 -H "Authorization: Bearer $KEY" -o "$T/models" "$URL/v1/models"
jtrue "$T/models" 'd["object"] == "list" and [m["id"] for m in d["data"]] == ["shapes-mini"] and d["data"][0]["object"] == "model"'
check "GET /v1/models lists the model by its directory's name" $? "$(show "$T/models")"

P="What shape is in the image?"
N=24
chat_answer "$T/want_greedy" "$P" $N --temp 0
chat_answer "$T/want_seed" "$P" $N --temp 0.7 --seed 42
chat_answer "$T/want_short" "$P" 3 --temp 0
[ -s "$T/want_greedy" ] && [ -s "$T/want_seed" ]; check "chat answers the same questions" $? "$(show "$T/want_greedy.err")"

request "$T/q_greedy" "$P" $N '"temperature":0'
post greedy "$T/q_greedy"
[ "$(code greedy)" = 200 ] && content "$T/greedy" "$T/got_greedy" 2> "$T/e" && same "$T/got_greedy" "$T/want_greedy"
check "a greedy answer about an image (data URL) is chat's answer" $? "status $(code greedy): $(show "$T/greedy") / want '$(cat "$T/want_greedy")' $(tail -n 1 "$T/e")"
jtrue "$T/greedy" 'd["choices"][0]["finish_reason"] == "stop" and d["usage"]["completion_tokens"] < '$N
check "an answer that ends by itself: finish_reason stop" $? "$(show "$T/greedy")"

request "$T/q_short" "$P" 3 '"temperature":0'
post short "$T/q_short"
[ "$(code short)" = 200 ] && content "$T/short" "$T/got_short" 2> "$T/e" && same "$T/got_short" "$T/want_short" &&
    jtrue "$T/short" 'd["choices"][0]["finish_reason"] == "length" and d["usage"]["completion_tokens"] == 3'
check "max_tokens 3: chat's 3 tokens, finish_reason length" $? "status $(code short): $(show "$T/short") / want '$(cat "$T/want_short")'"

request "$T/q_stream" "$P" $N '"temperature":0,"stream":true,"stream_options":{"include_usage":true}'
post stream "$T/q_stream" -N
[ "$(code stream)" = 200 ] && sse "$T/stream" "$T/got_stream" 1 2> "$T/e" && same "$T/got_stream" "$T/want_greedy"
check "a streamed answer (SSE, include_usage, [DONE]) is chat's answer" $? "status $(code stream): $(tail -n 1 "$T/e") $(show "$T/stream")"

request "$T/q_seed" "$P" $N '"temperature":0.7,"seed":42'
post seed "$T/q_seed"
[ "$(code seed)" = 200 ] && content "$T/seed" "$T/got_seed" && same "$T/got_seed" "$T/want_seed"
check "a sampled answer with seed 42, temperature 0.7 is chat's with --seed 42 --temp 0.7" $? "got '$(cat "$T/got_seed" 2> /dev/null)', want '$(cat "$T/want_seed")'"

request "$T/q_seed_s" "$P" $N '"temperature":0.7,"seed":42,"stream":true'
post seed_s "$T/q_seed_s" -N
[ "$(code seed_s)" = 200 ] && sse "$T/seed_s" "$T/got_seed_s" 0 && same "$T/got_seed_s" "$T/want_seed"
check "the same seed streamed: the same answer" $? "status $(code seed_s): $(show "$T/seed_s")"

# 8 concurrent clients, half streamed, greedy and seeded, each answer chat's
i=1
for q in "What is in the picture?" "Describe the image." "What color is the shape?" "Where is the shape?" \
         "Is there a circle?" "How many shapes are there?" "What do you see?" "Tell me about the image."; do
    if [ $((i % 2)) = 0 ]; then opt="--temp 0.7 --seed $i"; extra='"temperature":0.7,"seed":'$i; else opt="--temp 0"; extra='"temperature":0'; fi
    chat_answer "$T/want_c$i" "$q" 16 $opt
    if [ $i -gt 4 ]; then extra="$extra,\"stream\":true"; fi
    request "$T/q_c$i" "$q" 16 "$extra"
    i=$((i + 1))
done
i=1; cpids=""
while [ $i -le 8 ]; do post "c$i" "$T/q_c$i" -N & cpids="$cpids $!"; i=$((i + 1)); done
for p in $cpids; do wait $p; done
bad=""
i=1
while [ $i -le 8 ]; do
    if [ $i -gt 4 ]; then sse "$T/c$i" "$T/got_c$i" 0 2> /dev/null; else content "$T/c$i" "$T/got_c$i" 2> /dev/null; fi
    { [ "$(code c$i)" = 200 ] && same "$T/got_c$i" "$T/want_c$i"; } || bad="$bad client $i (status $(code c$i): '$(cat "$T/got_c$i" 2> /dev/null)' want '$(cat "$T/want_c$i")')"
    i=$((i + 1))
done
[ -z "$bad" ]; check "8 concurrent clients (4 streamed, 4 seeded) each get chat's answer" $? "$bad"

# malformed and refused requests: their status and an OpenAI-shaped error; the server keeps serving
refused() { # name, want status, body file, [curl options...]
    what=$1; want=$2; rbody=$3; shift 3
    post refused "$rbody" "$@"
    [ "$(code refused)" = "$want" ] && jtrue "$T/refused" "$ERR"
    check "$what: $want and an OpenAI error" $? "status $(code refused): $(show "$T/refused")"
}
printf '{"model":"shapes-mini","messages":[{"role":"user","content":"Hi"}' > "$T/b1"
refused "malformed JSON" 400 "$T/b1"
printf '{"model":"shapes-mini","messages":"Hi"}' > "$T/b2"
refused "messages a string" 400 "$T/b2"
printf '{"model":"shapes-mini"}' > "$T/b3"
refused "no messages" 400 "$T/b3"
request "$T/b4" "$P" 8 '"temperature":"hot"'
refused "temperature a string" 400 "$T/b4"
request "$T/b5" "$P" '"8"'
refused "max_tokens a string" 400 "$T/b5"
printf '{"model":"shapes-mini","messages":[{"role":"user","content":[{"type":"text","text":7}]}]}' > "$T/b6"
refused "a text part that is a number" 400 "$T/b6"
printf '{"model":"shapes-mini","messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,@@@not*base64@@@"}}]}]}' > "$T/b7"
refused "bad base64" 400 "$T/b7"
printf '{"model":"shapes-mini","messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}}]}]}' \
    "$(printf 'this is not an image, only some text' | base64 | tr -d '\n')" > "$T/b8"
refused "an undecodable image" 422 "$T/b8"
printf '{"model":"shapes-mini","messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"/etc/passwd"}}]}]}' > "$T/b9"
refused "a local path without --image-dir" 400 "$T/b9"
printf '{"model":"shapes-mini","messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"%s"}},{"type":"image_url","image_url":{"url":"%s"}},{"type":"image_url","image_url":{"url":"%s"}}]}]}' \
    "$DATA_URL" "$DATA_URL" "$DATA_URL" > "$T/b10"
refused "3 images over --max-images 2" 400 "$T/b10"
python3 -c 'import json; print(json.dumps({"model": "shapes-mini", "messages": [{"role": "user", "content": "Hi"}] * 9}))' > "$T/b11"
refused "9 messages over --max-messages 8" 400 "$T/b11"
request "$T/b12" "$P" 100000
refused "max_tokens over the limit" 400 "$T/b12"
request "$T/b13" "$P" 0
refused "max_tokens 0" 400 "$T/b13"
python3 -c 'import json; print(json.dumps({"model": "shapes-mini", "messages": [{"role": "user", "content": "a red circle " * 300}]}))' > "$T/b14"
refused "a prompt longer than the context" 400 "$T/b14"
python3 -c 'import json; print(json.dumps({"model": "shapes-mini", "messages": [{"role": "user", "content": "x" * 300000}]}))' > "$T/b15"
refused "a body over --max-body" 413 "$T/b15"
# images over the byte and pixel limits: a PNG of 120 kB of noise, a PNG of 1200 x 1000 pixels (small when packed)
python3 - "$T" << 'EOF'
import base64, json, os, struct, sys, zlib
def png(w, h, rows):
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"".join(b"\0" + r for r in rows), 9)) + chunk(b"IEND", b"")
big = png(200, 200, [os.urandom(600) for _ in range(200)])
wide = png(1200, 1000, [bytes(3600)] * 1000)
for name, img in (("b16", big), ("b17", wide)):
    url = "data:image/png;base64," + base64.b64encode(img).decode()
    json.dump({"model": "shapes-mini", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Hi"}, {"type": "image_url", "image_url": {"url": url}}]}]}, open(os.path.join(sys.argv[1], name), "w"))
EOF
refused "an image over --max-image-bytes" 413 "$T/b16"
refused "an image over --max-image-pixels" 413 "$T/b17"
AUTH="X-Nothing: 1"; refused "no API key" 401 "$T/q_greedy"
AUTH="Authorization: Bearer wrong-key-0123456789"; refused "a wrong API key" 401 "$T/q_greedy"
AUTH=""
curl -sS --max-time 10 -o "$T/r404" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$URL/v1/nothing" > "$T/r404.code" 2> /dev/null
[ "$(cat "$T/r404.code")" = 404 ] && jtrue "$T/r404" "$ERR"
check "an unknown path: 404 and an OpenAI error" $? "status $(cat "$T/r404.code"): $(show "$T/r404")"
post after "$T/q_greedy"
[ "$(code after)" = 200 ] && content "$T/after" "$T/got_after" && same "$T/got_after" "$T/want_greedy"
check "after the refused requests the server still answers the same" $? "status $(code after): $(show "$T/after")"

# a full queue: 40 requests sent at once to 2 slots and a queue of 8; the ones past them get 503
request "$T/q_long" "$P" 200 '"temperature":1.5,"seed":3'
python3 tests/test_server.py burst "$URL" "$KEY" "$T/q_long" 40 > "$T/burst" 2>&1
count_py "$T/burst"
post after2 "$T/q_greedy"
[ "$(code after2)" = 200 ] && content "$T/after2" "$T/got_after2" && same "$T/got_after2" "$T/want_greedy"
check "after a full queue the server still answers the same" $? "status $(code after2): $(show "$T/after2")"

# the official openai client (from PyPI, in a virtual environment made here)
PY=${TEST_SERVER_PYTHON:-}
if [ -z "$PY" ]; then
    if timeout 60 python3 -m venv "$T/venv" > "$T/venv.log" 2>&1 &&
        timeout 300 "$T/venv/bin/python" -m pip install --disable-pip-version-check --timeout 20 --retries 1 -q openai >> "$T/venv.log" 2>&1; then
        PY=$T/venv/bin/python
    else
        echo "skipped: the openai client checks (no virtual environment or no PyPI: $(tail -n 1 "$T/venv.log"))"
    fi
fi
if [ -n "$PY" ]; then
    timeout 300 "$PY" tests/test_server.py openai "$URL" "$KEY" shapes-mini "$IMG" "$P" $N "$T/want_greedy" 42 "$T/want_seed" > "$T/oai" 2>&1
    rc=$?
    count_py "$T/oai"
    [ $rc = 0 ] || grep -q '^FAIL ' "$T/oai" || check "tests/test_server.py openai" 1 "exit $rc: $(tail -n 3 "$T/oai")"
fi

stop_server
check "SIGTERM: the server exits 0" $STOP_RC "exit $STOP_RC"
n=$(grep -c -v '^server: listening' "$T/log")
[ "$n" -ge 30 ]; check "one log line per request ($n lines)" $? "$(tail -n 3 "$T/log")"

# a language model alone (a GGUF text model with SmolLM2's chat template): chatml with its default system message,
# greedy answers equal transformers' (ending on <|im_end|>, the file's EOS, or <|endoftext|>); images refused
M0=$M; M=tests/fixtures/chatml/tiny-chatml.gguf
if start_server "$T/log3" --slots 1 --queue 4; then
    k=0
    while IFS="$(printf '\t')" read -r n q want; do
        k=$((k + 1))
        printf '{"messages":[{"role":"user","content":%s}],"temperature":0,"max_tokens":24}' "$(printf '%s' "$q" | jstr)" > "$T/text$k.json"
        post "text$k" "$T/text$k.json"
        printf '%s' "$want" > "$T/text$k.want"
        [ "$(code "text$k")" = 200 ] && jtrue "$T/text$k" 'd["choices"][0]["message"]["content"] == open("'"$T/text$k.want"'").read() and d["choices"][0]["finish_reason"] == "stop" and d["usage"]["completion_tokens"] == '"$n"
        check "text model alone: '$q' -> transformers' $n tokens, finish_reason stop" $? "status $(code "text$k"): $(head -c 300 "$T/text$k")"
    done < tests/fixtures/chatml/tiny-chatml.expected.tsv
    request "$T/textimg.json" "What is this?" 4
    post textimg "$T/textimg.json"
    [ "$(code textimg)" = 400 ] && jtrue "$T/textimg" "$ERR"' and "takes no images" in d["error"]["message"] and d["error"]["param"] == "messages[0].content[1].image_url.url"'
    check "text model alone: a request with an image is a 400 error" $? "status $(code textimg): $(head -c 300 "$T/textimg")"
    stop_server
else
    check "the server starts with a GGUF text model" 1 "$(tail -n 3 "$T/log3")"
fi
M=$M0

# instruct.py and judge.py end to end. Their prompts (a system message and few-shot turns) are longer than the
# small model's 256 positions: the same weights, declared with 4096 (rotary positions extend; the answers are
# the small model's, malformed for instruct.py, scoreless for the judge, but every request is answered)
mkdir "$T/m4k" && cp $M/model.safetensors $M/preprocessor_config.json $M/tokenizer.json $M/tokenizer_config.json "$T/m4k/" &&
    sed 's/"max_position_embeddings": *256/"max_position_embeddings": 4096/' $M/config.json > "$T/m4k/config.json"
M=$T/m4k
if start_server "$T/log2" --slots 2 --queue 8 --model-id shapes-mini-4k; then
    export OPENAI_BASE_URL="$URL/v1" OPENAI_API_KEY=unused
    python3 - "$T" << 'EOF'
import json, os, sys
t = sys.argv[1]
ctx = [{"id": "%06d" % i, "image": "%06d.png" % i, "captions": c, "instances": b} for i, (c, b) in enumerate([
    (["A red circle and a blue square.", "Two shapes.", "A red circle on the left.", "A red circle left of a blue square.",
      "Red and blue shapes."], [{"category": "red circle", "bbox": [0.1, 0.3, 0.4, 0.6]}, {"category": "blue square", "bbox": [0.7, 0.4, 0.85, 0.55]}]),
    (["A green star.", "One shape.", "A green star in the center.", "A drawing of a green star.", "An image with a green star."],
     [{"category": "green star", "bbox": [0.4, 0.4, 0.6, 0.6]}])])]
w = lambda name, rows: open(os.path.join(t, name), "w").write("".join(json.dumps(r) + "\n" for r in rows))
w("context.jsonl", ctx)
w("questions.jsonl", [{"question_id": i, "image": "%06d.png" % (i % 2), "text": q, "category": c}
                      for i, (q, c) in enumerate([("What color is the circle?", "conv"), ("Describe the image.", "detail")])])
w("answers_ref.jsonl", [{"question_id": 0, "text": "The circle is red."}, {"question_id": 1, "text": "A green star in the center."}])
w("answers.jsonl", [{"question_id": 0, "text": "It is red."}, {"question_id": 1, "text": "A star."}])
EOF
    timeout 120 python3 tools/repro/instruct.py --backend openai --context "$T/context.jsonl" --out "$T/gpt" --model shapes-mini-4k \
        --rpm 0 --retries 1 --backoff 0.1 --timeout 30 --max-attempts 1 --max-tokens 48 > "$T/instruct.log" 2>&1
    rc=$?
    sent=$(sed -n 's/^instruct.py: \([0-9]*\) requests sent.*/\1/p' "$T/instruct.log")
    answered=$(cat "$T/gpt/raw.jsonl" "$T/gpt/rejected.jsonl" 2> /dev/null | grep -c '"reply"')
    [ "$rc" -le 1 ] && [ "$sent" = 6 ] && [ "$answered" = 6 ] && ! grep -q 'HTTP\|failed (' "$T/instruct.log" && [ -f "$T/gpt/instruct.json" ]
    check "instruct.py --backend openai: 6 requests, each answered, LLaVA JSON written" $? "exit $rc, $sent sent, $answered answered: $(tail -n 3 "$T/instruct.log")"
    timeout 120 python3 tools/repro/judge.py --questions "$T/questions.jsonl" --context "$T/context.jsonl" --reference "$T/answers_ref.jsonl" \
        --answers "$T/answers.jsonl" --out "$T/reviews.jsonl" --json "$T/summary.json" --model shapes-mini-4k --rpm 0 --retries 1 \
        --backoff 0.1 --timeout 30 --max-attempts 1 --max-tokens 32 > "$T/judge.log" 2>&1
    rc=$?
    [ $rc = 0 ] && [ "$(grep -c '"content": "[^"]' "$T/reviews.jsonl")" = 2 ] && [ -f "$T/summary.json" ] && ! grep -q 'HTTP\|failed (' "$T/judge.log"
    check "judge.py: 2 reviews written by the server, a summary" $? "exit $rc: $(tail -n 3 "$T/judge.log") $(show "$T/reviews.jsonl")"
    stop_server INT
    check "SIGINT: the second server exits 0" $STOP_RC "exit $STOP_RC"
else
    check "a second server (4096 positions) starts" 1 "$(head -c 300 "$T/log2")"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
