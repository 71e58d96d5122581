#!/bin/sh
# shellcheck disable=SC2086 # $ARGS is split into its words on purpose
# End-to-end test of train_example: both stages on a tiny synthetic world with the tiny fixture model,
# a run stopped twice and resumed gives the same loss curve, bit for bit, as an uninterrupted one, the
# loss plot is one people can read, bad data is a clear error naming the sample, and the command line
# is strict.
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
    [ -f "$T/a/stage1/checkpoint-4/config.json" ] && [ "$(cat "$T/a/stage1/latest")" = checkpoint-4 ] &&
    [ "$(grep -c '^[12],' "$T/a/loss.csv")" = 12 ] && grep -q 'stage 2 step 6/6 (100%) loss .*steps/s' "$T/a.log"; r=$?
check "stage 1 then stage 2: progress lines, checkpoints, final model, loss.csv and loss.svg" $r "exit $rc: $(tail -n 2 "$T/a.log")"
# piped, a progress line every --log-every steps (and the first), with the rate and the time left
grep -q 'stage 1 step 4/6 (67%) loss [0-9.]*, lr .*, ETA [0-9]*m[0-9][0-9]s$' "$T/a.log" && ! grep -q 'stage 1 step 3/6' "$T/a.log" &&
    grep -q '^stage 1: 24 samples from .*, template plain, cpu' "$T/a.log"; r=$?
check "progress lines every --log-every steps, with rate and ETA" $r "$(grep 'step' "$T/a.log" | head -n 3)"

# the plot: numbered axes (round ticks), axis titles, a legend, the stage boundary; --plot-only redraws it
ticks() { sed -n '/<g class="'"$1"'"/,/<\/g>/s/.*<text[^>]*>\([-0-9.]*\)<\/text>/\1/p' "$T/a/loss.svg"; }
round() { # at least 3 ticks, evenly spaced by 1, 2 or 5 times a power of ten
    awk 'NR > 1 { d = $1 - p; if (NR == 2) s = d; else if (d - s > 1e-9 || s - d > 1e-9) bad = 1 } { p = $1 }
        END { if (NR < 3 || s <= 0) exit 1; for (m = s; m >= 10; ) m /= 10; while (m < 1) m *= 10
              exit bad || (m - 1 > 1e-6 && (m - 2 > 1e-6 || 2 - m > 1e-6) && (m - 5 > 1e-6 || 5 - m > 1e-6)) }'
}
[ "$(ticks x-axis | tr '\n' ' ')" = "0 2 4 6 8 10 12 " ] && ticks y-axis | round &&
    grep -q '>step (stage 1, then stage 2)</text>' "$T/a/loss.svg" && grep -q '>loss per answer token</text>' "$T/a/loss.svg" &&
    sed -n '/<g class="legend"/,/<\/g>/p' "$T/a/loss.svg" | grep -q '>stage 2</text>' &&
    grep -q '<line class="mark"' "$T/a/loss.svg" && grep -q 'text-anchor="end" fill="#333">stage 1</text>' "$T/a/loss.svg"; r=$?
check "loss.svg: numbered axes, axis titles, a legend, the stage boundary" $r "x ticks: $(ticks x-axis | tr '\n' ' ') y ticks: $(ticks y-axis | tr '\n' ' ')"
mkdir -p "$T/p" && cp "$T/a/loss.csv" "$T/p/" && "$B/train_example" --out "$T/p" --plot-only > /dev/null 2>&1 && cmp -s "$T/a/loss.svg" "$T/p/loss.svg"
check "--plot-only draws the same loss.svg from loss.csv" $? "$(diff "$T/a/loss.svg" "$T/p/loss.svg" | head -4)"

"$B/dump" --model "$T/a/stage2/final" --ids "1 5 6 7" --greedy 4 > "$T/dump.out" 2>&1; r=$?
check "the final model loads and generates" $r "$(cat "$T/dump.out")"

# the same run, stopped in stage 1 and again in stage 2, each time resumed
"$B/train_example" $ARGS --out "$T/b" --stop-after 3 > "$T/b1.log" 2>&1; rc1=$?
"$B/train_example" $ARGS --out "$T/b" --stop-after 2 --resume > "$T/b2.log" 2>&1; rc2=$?
"$B/train_example" $ARGS --out "$T/b" --resume --quiet > "$T/b3.log" 2>&1; rc3=$?
grep -q 'stage 1: stopped after step 3' "$T/b1.log" && grep -q 'stage 1: resuming after step 3' "$T/b2.log" &&
    grep -q 'stage 2: stopped after step 2' "$T/b2.log" && grep -q 'stage 1: already finished' "$T/b3.log" &&
    grep -q 'stage 2: resuming after step 2' "$T/b3.log" && grep -q 'stage 1 step 4/6 (67%)' "$T/b2.log" &&
    grep -q 'stage 2: done' "$T/b3.log" && ! grep -q 'step [0-9]*/' "$T/b3.log"; r=$?
check "--stop-after and --resume, in stage 1 and in stage 2; --quiet" $((rc1 + rc2 + rc3 + r)) "exits $rc1 $rc2 $rc3: $(tail -n 1 "$T/b3.log")"
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

# the command line: strict numbers, ranges, known options and values, required options; each exit 2
# with a message that starts with the program's name, before any work
usage() { # name, expected text, arguments...
    name=$1 want=$2
    shift 2
    "$B/train_example" "$@" > "$T/u.out" 2> "$T/u.err"; rc=$?
    [ $rc = 2 ] && grep -q -- "^train_example: $want" "$T/u.err" && [ ! -s "$T/u.out" ]
    check "command line: $name" $? "exit $rc: $(head -n 1 "$T/u.err")"
}
usage "--steps1 abc" "--steps1: 'abc' is not a whole number" $ARGS --out "$T/u" --steps1 abc
usage "--lr2 1e-3x" "--lr2: '1e-3x' is not a number" $ARGS --out "$T/u" --lr2 1e-3x
usage "--batch 0" "--batch: 0 is out of range" $ARGS --out "$T/u" --batch 0
usage "--seed -1" "--seed: '-1' is not a non-negative whole number" $ARGS --out "$T/u" --seed -1
usage "--stages 3" "--stages: '3' is not one of 1|2|1,2" $ARGS --out "$T/u" --stages 3
usage "--template2 nope" "--template2: 'nope' is not one of" $ARGS --out "$T/u" --template2 nope
usage "--group without rates" "--group takes PREFIX:LR:WD" $ARGS --out "$T/u" --group vision_tower.
usage "--group LR abc" "--group: LR: 'abc' is not a number" $ARGS --out "$T/u" --group vision_tower.:abc:0
usage "an unknown option" "unknown option '--steps3' (see train_example --help)" $ARGS --out "$T/u" --steps3 5
usage "a stray argument" "unexpected argument 'extra'" $ARGS --out "$T/u" extra
usage "no --model" "--model is required" --data "$T/data" --out "$T/u"
[ ! -e "$T/u" ]; check "command-line errors write nothing" $? "$T/u exists"

# a stage-1 projector (LLaVA's mm_projector.bin, or the same weights in safetensors) where stage 2 starts,
# as LLaVA's --pretrain_mm_mlp_adapter: the same first loss from either file, another than without it
P1="--model $T/model --data $T/data --images $T/world/images --stages 2 --steps2 1 --batch 4 --max-len 120 --template2 llava_hf --quiet"
"$B/train_example" $P1 --out "$T/pj0" > "$T/pj0.log" 2>&1; rc0=$?
"$B/train_example" $P1 --out "$T/pj1" --projector tests/fixtures/bin/mm_projector.bin > "$T/pj1.log" 2>&1; rc1=$?
"$B/train_example" $P1 --out "$T/pj2" --projector tests/fixtures/bin/mm_projector.safetensors > "$T/pj2.log" 2>&1; rc2=$?
"$B/train_example" $P1 --out "$T/pj3" --projector tests/fixtures/bin/mm_projector_bad_shape.bin > "$T/pj3.log" 2>&1; rc3=$?
l0=$(grep '^2,1,' "$T/pj0/loss.csv" | cut -d, -f3); l1=$(grep '^2,1,' "$T/pj1/loss.csv" | cut -d, -f3)
l2=$(grep '^2,1,' "$T/pj2/loss.csv" | cut -d, -f3)
[ $rc0 = 0 ] && [ $rc1 = 0 ] && [ $rc2 = 0 ] && [ -n "$l1" ] && [ "$l1" = "$l2" ] && [ "$l1" != "$l0" ] &&
    grep -q 'stage 2: projector from tests/fixtures/bin/mm_projector.bin' "$T/pj1.log" && [ $rc3 != 0 ] &&
    grep -q 'has shape \[48, 16\] but the config implies \[48, 32\]' "$T/pj3.log"; r=$?
check "--projector mm_projector.bin starts stage 2 from it (= safetensors); a wrong shape is an error" $r \
    "exits $rc0 $rc1 $rc2 $rc3, first losses $l0 $l1 $l2: $(tail -n 1 "$T/pj3.log")"
# assembled as LLaVA's train.py does from --vision_tower and --model_name_or_path: --vision-tower and --lm in
# place of --model (the tower of the tiny fixture model, a language model alone with tiny600's tokenizer
# without "<image>"): saved to OUT/assembled with "<image>" added, then both stages
A1="--vision-tower tests/fixtures/models/tiny_hf4 --lm tests/fixtures/lm/tiny_llama --data $T/data --images $T/world/images"
A1="$A1 --steps1 2 --steps2 2 --batch 4 --max-len 120 --template2 llava_hf --quiet"
"$B/train_example" $A1 --out "$T/asm" > "$T/asm.log" 2>&1; rc=$?
[ $rc = 0 ] && grep -q '^assembled .*assembled: the tower of tests/fixtures/models/tiny_hf4, .*"<image>" = 599$' "$T/asm.log" &&
    grep -q '"content": "<image>"' "$T/asm/assembled/tokenizer.json" && [ -f "$T/asm/stage2/final/config.json" ] &&
    [ "$(grep -c '^[12],' "$T/asm/loss.csv")" = 4 ]; r=$?
check "--vision-tower and --lm: a LLaVA assembled into OUT/assembled, then both stages" $r "exit $rc: $(tail -n 2 "$T/asm.log")"
"$B/train_example" --vision-tower tests/fixtures/models/tiny_hf4 --data "$T/data" --out "$T/asm2" > "$T/asm2.log" 2>&1; rc=$?
[ $rc = 2 ] && grep -q -- '--vision-tower and --lm go together' "$T/asm2.log" && [ ! -e "$T/asm2" ]
check "--vision-tower without --lm: a usage error" $? "exit $rc: $(cat "$T/asm2.log")"
"$B/train_example" --help > "$T/help" 2>&1; rc=$?
missing=
for o in $(grep -o -- '"--[a-z0-9-]*"' train_example.c | tr -d '"' | sort -u); do
    grep -q -- "$o" "$T/help" || missing="$missing $o"
done
[ $rc = 0 ] && [ -z "$missing" ] && grep -q 'default 1,2' "$T/help"; check "--help lists every option, with its default" $? "exit $rc, missing:$missing"
[ -n "$KEEP" ] || rm -rf "$T"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
