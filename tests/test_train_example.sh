#!/bin/sh
# End-to-end test of train_example: both stages on a tiny synthetic world with the tiny fixture model,
# a run stopped twice and resumed gives the same loss curve, bit for bit, as an uninterrupted one, and
# bad data is a clear error naming the sample.
# usage: sh tests/test_train_example.sh [BUILD_DIR]   (from the repository root)
B=${1:-build}
T=$(mktemp -d /tmp/llava-train-XXXXXX)
pass=0; fail=0
check() { # name, status, detail
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok    $1"; else fail=$((fail + 1)); echo "FAIL  $1: $3"; fi
}
"$B/world" --seed 3 --n 24 --out "$T/world" > /dev/null 2>&1 &&
"$B/instruct" --world "$T/world" --out "$T/instruct" --conv 16 --detail 8 --complex 16 > /dev/null 2>&1 &&
mkdir -p "$T/data" "$T/model" &&
cp "$T/instruct/pretrain.json" "$T/data/stage1.json" && cp "$T/instruct/instruct.json" "$T/data/stage2.json" &&
cp tests/fixtures/models/tiny_hf4/* tests/fixtures/tokenizer/tiny600/* "$T/model/"
check "tiny world, LLaVA-format data and a model with a tokenizer" $? "setup failed"

ARGS="--model $T/model --data $T/data --images $T/world/images --steps1 6 --steps2 6 --batch 4 --lr1 2e-3 --lr2 1e-3 --warmup 0.2 --save-every 2 --log-every 2 --max-len 120 --template2 llava_hf"
"$B/train_example" $ARGS --out "$T/a" > "$T/a.log" 2>&1; rc=$?
[ $rc = 0 ] && [ -f "$T/a/stage2/final/config.json" ] && [ -f "$T/a/stage2/final/tokenizer.json" ] && [ -f "$T/a/loss.svg" ] &&
    [ "$(grep -c '^[12],' "$T/a/loss.csv")" = 12 ] && grep -q 'stage 2 step 6/6 loss' "$T/a.log"; r=$?
check "stage 1 then stage 2: progress lines, checkpoints, final model, loss.csv and loss.svg" $r "exit $rc: $(tail -n 2 "$T/a.log")"

"$B/dump" --model "$T/a/stage2/final" --ids "1 5 6 7" --greedy 4 > "$T/dump.out" 2>&1; r=$?
check "the final model loads and generates" $r "$(cat "$T/dump.out")"

# the same run, stopped in stage 1 and again in stage 2, each time resumed
"$B/train_example" $ARGS --out "$T/b" --stop-after 3 > "$T/b1.log" 2>&1; rc1=$?
"$B/train_example" $ARGS --out "$T/b" --stop-after 2 --resume > "$T/b2.log" 2>&1; rc2=$?
"$B/train_example" $ARGS --out "$T/b" --resume > "$T/b3.log" 2>&1; rc3=$?
grep -q 'stage 1: stopped after step 3' "$T/b1.log" && grep -q 'stage 1: resuming after step 3' "$T/b2.log" &&
    grep -q 'stage 2: stopped after step 2' "$T/b2.log" && grep -q 'stage 1: already finished' "$T/b3.log" &&
    grep -q 'stage 2: resuming after step 2' "$T/b3.log"; r=$?
check "--stop-after and --resume, in stage 1 and in stage 2" $((rc1 + rc2 + rc3 + r)) "exits $rc1 $rc2 $rc3: $(tail -n 1 "$T/b3.log")"
cut -d, -f1-5 "$T/a/loss.csv" > "$T/a.csv"; cut -d, -f1-5 "$T/b/loss.csv" > "$T/b.csv"
cmp -s "$T/a.csv" "$T/b.csv"; check "a resumed run's losses equal the uninterrupted run's, bit for bit" $? "$(diff "$T/a.csv" "$T/b.csv" | head -4)"

# bad data: each a clear error that names the sample
bad() { # name, json, expected text
    printf '%s' "$2" > "$T/data/bad.json"
    "$B/train_example" $ARGS --stages 2 --stage2-data "$T/data/bad.json" --out "$T/bad" > "$T/bad.log" 2>&1; rc=$?
    [ $rc != 0 ] && grep -q -- "$3" "$T/bad.log"; check "bad data: $1" $? "exit $rc: $(tail -n 1 "$T/bad.log")"
}
H='{"from": "human", "value": "<image>\nWhat is this?"}'
bad "missing image file" "[{\"id\": \"s1\", \"image\": \"nope.png\", \"conversations\": [$H, {\"from\": \"gpt\", \"value\": \"A shape.\"}]}]" "sample s1: image .*nope.png"
bad "image placeholder count" "[{\"id\": \"s2\", \"image\": \"000000.png\", \"conversations\": [{\"from\": \"human\", \"value\": \"<image> <image> two?\"}, {\"from\": \"gpt\", \"value\": \"No.\"}]}]" "sample s2: 2 <image> placeholders"
bad "conversation that does not alternate" "[{\"id\": \"s3\", \"image\": \"000000.png\", \"conversations\": [$H, $H]}]" "sample s3: the conversation does not alternate"
bad "empty assistant turn" "[{\"id\": \"s4\", \"image\": \"000000.png\", \"conversations\": [$H, {\"from\": \"gpt\", \"value\": \"  \"}]}]" "sample s4: turn 1, an assistant turn, is empty"
bad "not a list" '{"id": 1}' "not a JSON list"
[ -n "$KEEP" ] || rm -rf "$T"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
