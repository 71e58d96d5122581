#!/bin/sh
# One command-line convention for every program (tools/common.h): --help and --version exit 0, a number
# that is not one exits 2 with a message that starts with the program's name, an unknown option exits 2
# with "PROG: unknown option '...'".
# usage: sh tests/test_cli.sh BUILD_DIR
B=${1:-build}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok    $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; }

# check NAME "COMMAND PREFIX" "BAD-NUMBER ARGUMENTS" (empty: the program takes no number)
check() {
    name=$1; cmd=$2; badnum=$3
    $cmd --help > "$T/out" 2> "$T/err"; rc=$?
    if [ $rc -eq 0 ] && [ -s "$T/out" ] && grep -q -- '--' "$T/out"; then ok "$name --help"; else bad "$name --help (exit $rc)"; fi
    $cmd --version > "$T/out" 2> "$T/err"; rc=$?
    if [ $rc -eq 0 ] && grep -q "^$name (llava.h [0-9]" "$T/out"; then ok "$name --version"; else bad "$name --version (exit $rc: $(cat "$T/out" "$T/err" | head -1))"; fi
    if [ -n "$badnum" ]; then
        $cmd $badnum > "$T/out" 2> "$T/err" < /dev/null; rc=$?
        if [ $rc -eq 2 ] && grep -q "^$name: .*'abc' is not a" "$T/err"; then ok "$name $badnum: exit 2, named"
        else bad "$name $badnum: exit $rc, stderr: $(head -1 "$T/err")"; fi
    fi
    $cmd --bogus-option > "$T/out" 2> "$T/err" < /dev/null; rc=$?
    if [ $rc -eq 2 ] && grep -q "^$name: unknown option '--bogus-option'" "$T/err"; then ok "$name --bogus-option: exit 2"
    else bad "$name --bogus-option: exit $rc, stderr: $(head -1 "$T/err")"; fi
}

check chat "$B/chat" "--temp abc"
check simple "$B/simple" ""
check train_example "$B/train_example" "--steps1 abc"
check dump "$B/dump" "--greedy abc"
check tokenize "$B/tokenize" "--vocab abc"
check bench "$B/bench" "--repeat abc"
check bench_tokenizer "$B/bench_tokenizer" "--seconds abc"
check world "$B/world" "--n abc"
check instruct "$B/instruct" "--n abc"
check eval_sqa "$B/eval_sqa" "--options abc"
check judge_offline "$B/judge_offline" ""
check answer "$B/answer" "--temp abc"
check stage0 "$B/stage0" "clip --steps abc"
check pipeline "sh tools/repro/pipeline.sh" "--seed abc"
# tokenize on a SentencePiece tokenizer.model (the ids the slow LlamaTokenizer gives, tests/fixtures/tokenizer/spm)
S=tests/fixtures/tokenizer/spm
out=$(printf 'hello\n' | "$B/tokenize" --tokenizer $S/bf_legacy 2>&1)
if [ "$out" = "1 271 316 569" ]; then ok "tokenize --tokenizer DIR with tokenizer.model"; else bad "tokenize on tokenizer.model: '$out'"; fi
out=$(printf '1 271 316 569\n' | "$B/tokenize" --tokenizer $S/bf_legacy/tokenizer.model --decode --skip-special 2>&1)
if [ "$out" = "hello" ]; then ok "tokenize --decode with a .model path"; else bad "tokenize --decode on tokenizer.model: '$out'"; fi
# the server is built only where libmicrohttpd is
if [ -x "$B/server" ]; then check server "$B/server" "--port abc"; else echo "skip  server: not built (no libmicrohttpd)"; fi

# dump with llama.cpp's files: the F16 GGUF pair gives the F16 safetensors model's logits byte for byte;
# the GGUF text model alone runs text and refuses images (exit 2, named)
G=tests/fixtures/gguf; IMG=tests/fixtures/images/rgb_97x61.png
if $B/dump --model tests/fixtures/models/tiny_f16_sharded --image "$IMG" --preprocess crop --ids "1 5 <image> 7" --logits "$T/st.f32" 2> "$T/err" &&
   $B/dump --model $G/tiny-f16.gguf --mmproj $G/tiny-mmproj-f16.gguf --image "$IMG" --preprocess crop --ids "1 5 <image> 7" \
       --logits "$T/gg.f32" 2>> "$T/err" && cmp -s "$T/st.f32" "$T/gg.f32"; then ok "dump --mmproj: GGUF logits = safetensors logits"
else bad "dump --mmproj: $(tail -1 "$T/err")"; fi
if $B/dump --model $G/tiny-f16.gguf --ids "1 5 7" --greedy 2 > "$T/out" 2> "$T/err"; then ok "dump: GGUF text model alone"
else bad "dump: GGUF text model alone: $(tail -1 "$T/err")"; fi
$B/dump --model $G/tiny-f16.gguf --image "$IMG" --ids "1 5 7" > "$T/out" 2> "$T/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "^dump: .*language model alone" "$T/err"; then ok "dump: an image for a GGUF text model alone: exit 2, named"
else bad "dump: an image for a GGUF text model alone: exit $rc, $(head -1 "$T/err")"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
