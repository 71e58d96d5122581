#!/bin/sh
# End-to-end test of the chat program on the tiny fixture model with the 600-token fixture tokenizer.
# usage: sh tests/test_chat.sh [build/chat]   (from the repository root)
# Prints one line per test and "N passed, N failed"; exits non-zero on failure.
CHAT=${1:-build/chat}
M=tests/fixtures/models/tiny_hf4
TOK=tests/fixtures/tokenizer/tiny600
IMG=tests/fixtures/images/rgb_97x61.png
T=$(mktemp -d /tmp/llava-chat-XXXXXX)
pass=0; fail=0
check() { # name, condition result
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok    $1"; else fail=$((fail + 1)); echo "FAIL  $1: $3"; fi
}
STATS='^load [0-9.]* s, image encode [0-9.]* s, prefill [0-9]* tokens at [0-9.]* tokens/s, decode [0-9]* tokens at [0-9.]* tokens/s$'

"$CHAT" --help > "$T/help" 2>&1; rc=$?
grep -q -- '--top-p' "$T/help" && grep -q -- '--max-tokens' "$T/help" && grep -q '/image FILE' "$T/help"; r=$?
check "chat --help lists every option" $((rc + r)) "exit $rc"

"$CHAT" --model $M --tokenizer $TOK --image $IMG --prompt "What is in the picture?" --max-tokens 12 --temp 0 > "$T/out1" 2> "$T/err1"; rc=$?
[ $rc = 0 ] && [ -s "$T/out1" ] && tail -n 1 "$T/err1" | grep -q "$STATS" && grep -q 'decode 12 tokens' "$T/err1"; r=$?
check "chat --prompt: streams an answer, exits 0, prints the stats line" $r "exit $rc, stderr: $(tail -n 1 "$T/err1")"

"$CHAT" --model $M --tokenizer $TOK --image $IMG --prompt "What is in the picture?" --max-tokens 12 --temp 0 > "$T/out1b" 2>/dev/null
cmp -s "$T/out1" "$T/out1b"; check "chat: greedy answers are reproducible" $? "two runs differ"

printf 'Describe the image.\nAnd the colors?\n/image tests/fixtures/images/gray_45x80.png\nWhat now?\n/clear\nHello\n/quit\n' | \
    "$CHAT" --model $M --tokenizer $TOK --image $IMG --max-tokens 6 --temp 0.8 --top-p 0.9 --top-k 50 --seed 7 > "$T/out2" 2> "$T/err2"; rc=$?
n=$(wc -l < "$T/out2")
[ $rc = 0 ] && [ "$n" = 4 ] && tail -n 1 "$T/err2" | grep -q "$STATS" && grep -q 'decode 24 tokens' "$T/err2"; r=$?
check "chat interactive: 4 answers over /image and /clear, exits 0, stats line" $r "exit $rc, $n answer lines, stderr: $(tail -n 1 "$T/err2")"

for tmpl in vicuna_v1 llava_v1 plain; do
    "$CHAT" --model $M --tokenizer $TOK --image $IMG --template $tmpl --ctx 512 --prompt "Hi" --max-tokens 4 > /dev/null 2> "$T/err3"; rc=$?
    check "chat --template $tmpl" $rc "exit $rc: $(head -n 1 "$T/err3")"
done

"$CHAT" --model $M --tokenizer $TOK --image $IMG --template vicuna_v1 --prompt "Hi" > /dev/null 2> "$T/err5"; rc=$?
[ $rc != 0 ] && grep -q "does not fit" "$T/err5"; check "chat: a prompt longer than the context is a clear error" $? "exit $rc: $(head -n 1 "$T/err5")"

"$CHAT" --model $M --tokenizer $TOK --image /nonexistent.png --prompt "x" > /dev/null 2> "$T/err4"; rc=$?
[ $rc != 0 ] && grep -q nonexistent "$T/err4"; check "chat: a missing image is a clear error" $? "exit $rc"

rm -rf "$T"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
