#!/bin/sh
# End-to-end test of the chat program on the tiny fixture model with the 600-token fixture tokenizer, its
# command line (strict numbers, ranges, unknown options and commands), and of examples/simple on the
# bundled model (the simple program is looked for beside chat).
# usage: sh tests/test_chat.sh [build/chat]   (from the repository root)
# Prints one line per test and "N passed, N failed"; exits non-zero on failure.
CHAT=${1:-build/chat}
SIMPLE=$(dirname "$CHAT")/simple
M=tests/fixtures/models/tiny_hf4
TOK=tests/fixtures/tokenizer/tiny600
IMG=tests/fixtures/images/rgb_97x61.png
G=tests/fixtures/chatml/tiny-chatml.gguf
T=$(mktemp -d /tmp/llava-chat-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
check() { # name, condition result, what to say on failure
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok    $1"; else fail=$((fail + 1)); echo "FAIL  $1: $3"; fi
}
STATS='^load [0-9.]* s, image encode [0-9.]* s, prefill [0-9]* tokens at [0-9.]* tokens/s, decode [0-9]* tokens at [0-9.]* tokens/s$'

"$CHAT" --help > "$T/help" 2>&1; rc=$?
grep -q -- '--top-p' "$T/help" && grep -q -- '--max-tokens' "$T/help" && grep -q -- '--quiet' "$T/help" && grep -q '/image FILE' "$T/help"; r=$?
check "chat --help lists every option" $((rc + r)) "exit $rc"

"$CHAT" --version > "$T/version" 2>&1; rc=$?
[ $rc = 0 ] && grep -q '^chat (llava.h [0-9]' "$T/version"; check "chat --version" $? "exit $rc: $(head -n 1 "$T/version")"

"$CHAT" --model $M --tokenizer $TOK --image $IMG --prompt "What is in the picture?" --max-tokens 12 --temp 0 > "$T/out1" 2> "$T/err1"; rc=$?
[ $rc = 0 ] && [ -s "$T/out1" ] && tail -n 1 "$T/err1" | grep -q "$STATS" && grep -q 'decode 12 tokens' "$T/err1"; r=$?
check "chat --prompt: streams an answer, exits 0, prints the stats line" $r "exit $rc, stderr: $(tail -n 1 "$T/err1")"

"$CHAT" --model $M --tokenizer $TOK --image $IMG --prompt "What is in the picture?" --max-tokens 12 --temp 0 > "$T/out1b" 2>/dev/null
cmp -s "$T/out1" "$T/out1b"; check "chat: greedy answers are reproducible" $? "two runs differ"

"$CHAT" --model $M --tokenizer $TOK --image $IMG --prompt "What is in the picture?" --max-tokens 12 --temp 0 --quiet > "$T/out1q" 2> "$T/err1q"; rc=$?
[ $rc = 0 ] && cmp -s "$T/out1" "$T/out1q" && [ ! -s "$T/err1q" ]; check "chat --quiet: the same answer, no stats line" $? "exit $rc, stderr: $(head -n 1 "$T/err1q")"

printf 'Describe the image.\nAnd the colors?\n/image tests/fixtures/images/gray_45x80.png\nWhat now?\n/clear\nHello\n/quit\n' | \
    "$CHAT" --model $M --tokenizer $TOK --image $IMG --max-tokens 6 --temp 0.8 --top-p 0.9 --top-k 50 --seed 7 > "$T/out2" 2> "$T/err2"; rc=$?
n=$(wc -l < "$T/out2")
[ $rc = 0 ] && [ "$n" = 4 ] && tail -n 1 "$T/err2" | grep -q "$STATS" && grep -q 'decode 24 tokens' "$T/err2"; r=$?
check "chat interactive: 4 answers over /image and /clear, exits 0, stats line" $r "exit $rc, $n answer lines, stderr: $(tail -n 1 "$T/err2")"

printf '/bogus now\nHello\n' | "$CHAT" --model $M --tokenizer $TOK --image $IMG --max-tokens 6 --temp 0 > "$T/out6" 2> "$T/err6"; rc=$?
n=$(wc -l < "$T/out6")
[ $rc = 0 ] && [ "$n" = 1 ] && grep -q "^[> ]*chat: unknown command '/bogus' (commands: /image FILE, /clear, /quit)$" "$T/err6" && grep -q 'decode 6 tokens' "$T/err6"; r=$?
check "chat interactive: an unknown command is named, not sent to the model" $r "exit $rc, $n answer lines, stderr: $(head -n 1 "$T/err6")"

# the templates with a system prompt need more than tiny_hf4's 128 positions: the same model, declared with 512
mkdir "$T/m512" && cp $M/model.safetensors $M/preprocessor_config.json "$T/m512/" &&
    sed 's/"max_position_embeddings": *128/"max_position_embeddings": 512/' $M/config.json > "$T/m512/config.json"
for tmpl in vicuna_v1 llava_v1 plain; do
    "$CHAT" --model "$T/m512" --tokenizer $TOK --image $IMG --template $tmpl --ctx 512 --prompt "Hi" --max-tokens 4 > /dev/null 2> "$T/err3"; rc=$?
    check "chat --template $tmpl" $rc "exit $rc: $(head -n 1 "$T/err3")"
done

"$CHAT" --model $M --tokenizer $TOK --image $IMG --template vicuna_v1 --prompt "Hi" > /dev/null 2> "$T/err5"; rc=$?
[ $rc != 0 ] && grep -q "does not fit" "$T/err5"; check "chat: a prompt longer than the context is a clear error" $? "exit $rc: $(head -n 1 "$T/err5")"

"$CHAT" --model $M --tokenizer $TOK --image /nonexistent.png --prompt "x" > /dev/null 2> "$T/err4"; rc=$?
[ $rc = 1 ] && grep -q "^chat: .*nonexistent" "$T/err4"; check "chat: a missing image is a clear error" $? "exit $rc"

"$CHAT" --model $M --tokenizer $TOK --image $IMG --ctx 100000 --prompt "Hi" --max-tokens 4 > "$T/out7" 2> "$T/err7"; rc=$?
[ $rc = 0 ] && [ -s "$T/out7" ] && grep -q "^chat: --ctx 100000 is more than the model's 128 positions; using 128$" "$T/err7"; r=$?
check "chat --ctx past the model's positions: capped, with a note" $r "exit $rc: $(head -n 1 "$T/err7")"

# a wrong command line: exit 2 and a message that starts with the program's name and says what is wrong
bad() { # name, expected message (a grep pattern), arguments...
    name=$1; want=$2; shift 2
    "$CHAT" "$@" > "$T/outb" 2> "$T/errb" < /dev/null; rc=$?
    [ $rc = 2 ] && [ ! -s "$T/outb" ] && grep -q -- "$want" "$T/errb"; check "$name" $? "exit $rc, stderr: $(head -n 1 "$T/errb")"
}
bad "chat --temp abc" "^chat: --temp: 'abc' is not a number" --model $M --image $IMG --temp abc
bad "chat --temp -1" "^chat: --temp: -1 is out of range" --model $M --image $IMG --temp -1
bad "chat --top-p xyz" "^chat: --top-p: 'xyz' is not a number" --model $M --image $IMG --top-p xyz
bad "chat --top-p 1.5" "^chat: --top-p: 1.5 is out of range \[0, 1\]" --model $M --image $IMG --top-p 1.5
bad "chat --top-k 2.5" "^chat: --top-k: '2.5' is not a whole number" --model $M --image $IMG --top-k 2.5
bad "chat --ctx -5" "^chat: --ctx: -5 is out of range" --model $M --image $IMG --ctx -5
bad "chat --seed -1" "^chat: --seed: '-1' is not a non-negative whole number" --model $M --image $IMG --seed -1
bad "chat --max-tokens 0" "^chat: --max-tokens: 0 is out of range \[1, " --model $M --image $IMG --max-tokens 0
bad "chat --max-tokens 12x" "^chat: --max-tokens: '12x' is not a whole number" --model $M --image $IMG --max-tokens 12x
bad "chat --template nope" "^chat: --template: 'nope' is not one of llava_hf|vicuna_v1|llava_v1|plain" --model $M --image $IMG --template nope
bad "chat --bogus-option" "^chat: unknown option '--bogus-option' (see chat --help)" --model $M --image $IMG --bogus-option
bad "chat --temp without a value" "^chat: --temp needs a value" --model $M --image $IMG --temp
bad "chat without --model" "^chat: --model is required" --image $IMG
bad "chat: a LLaVA model without --image" "^chat: --image is required: $M is a LLaVA model" --model $M --tokenizer $TOK
bad "chat: --image with a language model alone" "is a language model alone: it takes no --image (give --mmproj FILE" --model $G --image $IMG

# a language model alone (a GGUF text model with SmolLM2's chat template): chatml and its default system message by
# default, greedy answers equal transformers' generate, ending on <|im_end|> (the file's EOS) or <|endoftext|>
k=0
while IFS="$(printf '\t')" read -r n q want; do
    k=$((k + 1))
    "$CHAT" --model $G --prompt "$q" --temp 0 --max-tokens 24 > "$T/g$k" 2> "$T/ge$k"; rc=$?
    [ $rc = 0 ] && printf '%s\n' "$want" | cmp -s - "$T/g$k" && grep -q "decode $n tokens" "$T/ge$k"; r=$?
    check "chat, text model alone: '$q' -> transformers' $n tokens" $r "exit $rc, got '$(cat "$T/g$k")', want '$want', $(tail -n 1 "$T/ge$k")"
done < tests/fixtures/chatml/tiny-chatml.expected.tsv
printf 'Hi\n/image %s\nTell me a story.\n/quit\n' "$IMG" | "$CHAT" --model $G --temp 0 --max-tokens 24 > "$T/g9" 2> "$T/ge9"; rc=$?
[ $rc = 0 ] && [ "$(wc -l < "$T/g9")" = 2 ] && grep -q "^[> ]*chat: the model is a language model alone: it takes no images$" "$T/ge9"; r=$?
check "chat, text model alone: two turns, /image refused" $r "exit $rc, $(cat "$T/ge9")"
"$CHAT" --model $G --template llava_hf --system "Be brief." --prompt "Hi" --temp 0 --max-tokens 3 > /dev/null 2> "$T/ge10"; rc=$?
check "chat, text model alone: --template llava_hf --system" $rc "exit $rc: $(head -n 1 "$T/ge10")"

# examples/simple on the bundled model
"$SIMPLE" models/shapes-mini models/shapes-mini/sample.png "Describe the image." > "$T/s1" 2> "$T/serr1"; rc=$?
[ $rc = 0 ] && grep -q '[a-z]' "$T/s1" && [ ! -s "$T/serr1" ]; check "simple: an answer from the bundled model" $? "exit $rc: $(head -n 1 "$T/serr1")"
"$SIMPLE" --help > "$T/s2" 2>&1; rc=$?
[ $rc = 0 ] && grep -q '^usage: simple MODEL_DIR IMAGE' "$T/s2"; check "simple --help" $? "exit $rc"
"$SIMPLE" models/shapes-mini > "$T/s3" 2>&1; rc=$?
[ $rc = 2 ] && grep -q '^simple: expected MODEL_DIR IMAGE' "$T/s3"; check "simple: a missing argument is exit 2" $? "exit $rc: $(head -n 1 "$T/s3")"
"$SIMPLE" models/shapes-mini /nonexistent.png > "$T/s4" 2> "$T/serr4"; rc=$?
[ $rc = 1 ] && [ ! -s "$T/s4" ] && grep -q '^simple: .*nonexistent' "$T/serr4"; check "simple: a missing image is a clear error" $? "exit $rc"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
