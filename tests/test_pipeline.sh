#!/bin/sh
# End-to-end test of the paper in miniature: tools/repro/pipeline.sh --quick (data, tokenizer, stage 0, stages
# 1-2, evaluation; a few minutes on 2 cores) into a temporary directory, then checks of what it left, and
# the error cases of build/answer, the evaluation's model runner.
# usage: sh tests/test_pipeline.sh [build]   (from the repository root, after make)
# Prints one line per test and "N passed, N failed"; exits non-zero on failure.
B=${1:-build}
T=$(mktemp -d /tmp/llava-pipeline-XXXXXX)
R=$T/run
pass=0; fail=0
check() { # name, status (0 = ok), reason
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok    $1"; else fail=$((fail + 1)); echo "FAIL  $1: $3"; fi
}
finish() {
    rm -rf "$T"
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit
}

t0=$(date +%s)
BUILD=$B sh tools/repro/pipeline.sh --quick --seed 1 --out "$R" > "$T/log" 2>&1; rc=$?
dt=$(($(date +%s) - t0))
check "pipeline --quick finishes (exit 0, $dt s; meant to take under 300 s)" $rc "exit $rc: $(tail -n 5 "$T/log" | tr '\n' ' ')"
[ $rc = 0 ] || { tail -n 30 "$T/log"; finish; }

# the phases' own output passed through (piped: every line, indented), progress lines with an ETA among it
grep -q '^   world: images 300/300 (100%)' "$T/log" && grep -q '^   instruct: problems [0-9]*/120 .*ETA' "$T/log"
check "the pipeline shows its steps' output and progress" $? "$(grep -c '^   ' "$T/log") lines of the steps' output in its log"

missing=
for p in data tokenizer stage0_init stage0_clip stage0_lm start train sqa eval_mc eval_mc_sqa eval_open eval_bench; do
    [ -f "$R/logs/$p.done" ] || missing="$missing $p"
done
[ -z "$missing" ]; check "every phase ran" $? "no record of:$missing"

# the mean loss of the last quarter of a stage's steps below that of its first quarter
fell() {
    awk -F, -v s="$1" 'NR > 1 && $1 == s { l[++n] = $3 }
        END { if (n < 4) { print "only " n " steps logged"; exit 1 } q = int(n / 4); a = 0; b = 0
              for (i = 1; i <= q; i++) { a += l[i]; b += l[n - q + i] }
              printf "first quarter %.4f, last quarter %.4f", a / q, b / q; exit !(b < a) }' "${2:-$R/train/loss.csv}"
}
why=$(fell 1); check "stage-1 loss fell ($why)" $? "$why"
why=$(fell 2); check "stage-2 loss fell ($why)" $? "$why"
why=$(fell 2 "$R/sqa/read/loss.csv"); check "the multiple-choice model's loss fell, questions without options ($why)" $? "$why"
why=$(fell 2 "$R/sqa/check/loss.csv"); check "the multiple-choice model's loss fell, the check of the options ($why)" $? "$why"

# one answer per question, none empty, the same ids as the questions
answered() { # questions answers
    nq=$(grep -c . "$1"); na=$(grep -c . "$2")
    ne=$(grep -c '"text": ""' "$2")
    qi=$(sed -n 's/^{"question_id": \([^,]*\),.*/\1/p' "$1" | sort)
    ai=$(sed -n 's/^{"question_id": \([^,]*\),.*/\1/p' "$2" | sort)
    [ "$nq" -gt 0 ] && [ "$nq" = "$na" ] && [ "$ne" = 0 ] && [ "$qi" = "$ai" ]
}
answered "$R/eval/mc_q.jsonl" "$R/eval/mc_answers.jsonl"
check "the final checkpoint answers every multiple-choice question" $? \
    "$(grep -c . "$R/eval/mc_q.jsonl") questions, $(grep -c . "$R/eval/mc_answers.jsonl") answers, $(grep -c '"text": ""' "$R/eval/mc_answers.jsonl") empty"
answered "$R/eval/sqa_q.jsonl" "$R/eval/sqa_answers.jsonl" && ! grep -q "option's letter" "$R/eval/sqa_q.jsonl"
check "the multiple-choice model answers every question, asked without the suffix" $? \
    "$(grep -c . "$R/eval/sqa_q.jsonl") questions, $(grep -c . "$R/eval/sqa_answers.jsonl") answers"
answered "$R/eval/open_q.jsonl" "$R/eval/open_answers.jsonl"
check "the final checkpoint answers every question without its options" $? \
    "$(grep -c . "$R/eval/open_q.jsonl") questions, $(grep -c . "$R/eval/open_answers.jsonl") answers"
answered "$R/bench/questions.jsonl" "$R/eval/bench_answers.jsonl"
check "the final checkpoint answers every bench question" $? \
    "$(grep -c . "$R/bench/questions.jsonl") questions, $(grep -c . "$R/eval/bench_answers.jsonl") answers"

acc=$(sed -n 's/^ *"mc_acc": \([0-9][0-9.]*\),*$/\1/p' "$R/results.json" 2>/dev/null)
blind=$(sed -n 's/^ *"mc_blind": \([0-9][0-9.]*\),*$/\1/p' "$R/results.json" 2>/dev/null)
open=$(sed -n 's/^ *"mc_open": \([0-9][0-9.]*\),*$/\1/p' "$R/results.json" 2>/dev/null)
sqa=$(sed -n 's/^ *"mc_sqa": \([0-9][0-9.]*\),*$/\1/p' "$R/results.json" 2>/dev/null)
rel=$(sed -n 's/^ *"bench_relative": {"conv": [0-9.]*, "detail": [0-9.]*, "complex": [0-9.]*, "all": \([0-9.]*\)}.*/\1/p' "$R/results.json" 2>/dev/null)
[ -n "$acc" ] && [ -n "$blind" ] && [ -n "$open" ] && [ -n "$sqa" ] && [ -n "$rel" ] && grep -q '"total_s": [0-9]' "$R/results.json" &&
    grep -q '"mc_sqa_categories": {"' "$R/results.json"
check "results.json: MC accuracy $acc% (multiple-choice model $sqa%, blind baseline $blind%, free answers $open%), relative score $rel, phase times" $? "$(head -c 600 "$R/results.json" 2>&1)"

# a second run finds every phase done and only rewrites the summary; with --no-mc-model, the summary
# has no multiple-choice model
BUILD=$B sh tools/repro/pipeline.sh --quick --mc-model --seed 1 --out "$R" > "$T/log2" 2>&1; rc=$?
n=$(grep -c 'done before' "$T/log2")
[ $rc = 0 ] && [ "$n" = 12 ]; check "a second run skips the 12 finished phases" $? "exit $rc, $n skipped"
BUILD=$B sh tools/repro/pipeline.sh --quick --no-mc-model --seed 1 --out "$R" > "$T/log2" 2>&1; rc=$?
n=$(grep -c 'done before' "$T/log2")
[ $rc = 0 ] && [ "$n" = 10 ] && grep -q '"mc_sqa": null' "$R/results.json" && grep -q '"sqa_read": 0, "sqa_check": 0' "$R/results.json" &&
    ! grep -q 'multiple-choice model' "$T/log2"
check "--no-mc-model: neither the fine-tune nor its evaluation, no figure for it" $? "exit $rc, $n skipped: $(grep mc_sqa "$R/results.json")"

BUILD=$T/nowhere sh tools/repro/pipeline.sh --quick --out "$T/x" > /dev/null 2> "$T/err"; rc=$?
[ $rc != 0 ] && grep -q "nowhere/world is missing" "$T/err"; check "pipeline: missing programs are a clear error" $? "exit $rc: $(head -n 1 "$T/err")"
sh tools/repro/pipeline.sh --ablation nosuch > /dev/null 2> "$T/err"; rc=$?
[ $rc = 2 ] && grep -q "unknown ablation" "$T/err"; check "pipeline: an unknown ablation is a clear error" $? "exit $rc: $(head -n 1 "$T/err")"
sh tools/repro/pipeline.sh --seeds 0 --ablations > /dev/null 2> "$T/err"; rc=$?
[ $rc = 2 ] && grep -q "^pipeline: --seeds: 0 is out of range \[1, 1000\]" "$T/err"; check "pipeline: a number out of range is a usage error" $? "exit $rc: $(head -n 1 "$T/err")"
sh tools/repro/pipeline.sh --steps1=12x > /dev/null 2> "$T/err"; rc=$?
[ $rc = 2 ] && grep -q "^pipeline: --steps1: '12x' is not a whole number" "$T/err"; check "pipeline: --steps1=12x is a usage error" $? "exit $rc: $(head -n 1 "$T/err")"
sh tools/repro/pipeline.sh --table > /dev/null 2> "$T/err"; rc=$?
[ $rc = 2 ] && grep -q "goes with --ablations" "$T/err"; check "pipeline: --table alone is a clear error" $? "exit $rc: $(head -n 1 "$T/err")"

# --lm: a pretrained language model in place of stage 0's (the tiny LLaMA fixture, its context raised to
# 1,024 positions for the prompts its 600-token vocabulary spells long), the tower of the bundled model:
# the LLaVA assembled, stages 1-2 and every evaluation with chatml; noinstruct evaluates the stage-1 model
sh tools/repro/pipeline.sh --lm "$T/nowhere" > /dev/null 2> "$T/err"; rc=$?
[ $rc = 2 ] && grep -q "^pipeline: --lm: .*nowhere does not exist" "$T/err"; check "pipeline: --lm on a missing path is a usage error" $? "exit $rc: $(head -n 1 "$T/err")"
cp -R tests/fixtures/lm/tiny_llama "$T/tl" && sed 's/"max_position_embeddings": *[0-9]*/"max_position_embeddings": 1024/' tests/fixtures/lm/tiny_llama/config.json > "$T/tl/config.json"
for a in main noinstruct; do
    L=$T/lm-$a
    BUILD=$B sh tools/repro/pipeline.sh --lm "$T/tl" --reuse-stage0 models/shapes-mini --quick --no-mc-model --steps1 2 --steps2 2 --ablation $a \
        --out "$L" > "$T/log4" 2>&1; rc=$?
    if [ $a = main ]; then m=$L/train/stage2/final s='"stage1": 2, "stage2": 2'; else m=$L/train/stage1/final s='"stage1": 2, "stage2": 0'; fi
    [ $rc = 0 ] && [ -f "$L/train/assembled/config.json" ] && [ ! -e "$L/start" ] && grep -q '"lm": "tl", "template": "chatml"' "$L/results.json" &&
        grep -q "\"model\": \"$m\"" "$L/results.json" && grep -q "$s" "$L/results.json" && grep -q '"mc_count": 1000,' "$L/results.json" &&
        { [ $a = noinstruct ] || grep -q "^stage 2: .*template chatml" "$L/logs/train.log"; }
    check "pipeline --lm, $a: assembled from the language model, chatml, evaluated" $? "exit $rc: $(tail -n 5 "$T/log4" | tr '\n' ' ')"
done

# the ablation table from runs already there: mean and sample standard deviation over the seeds that
# have a figure (a run without results.json has none), a variant with none shows "-", the phase seconds
# of every run add up
A=$T/abl
fake() { # seed variant mc_acc conv total_s mc_sqa
    mkdir -p "$A/seed$1-$2"
    printf '{\n  "mc_acc": %s,\n  "mc_chance": 29.85,\n  "mc_blind": 30.7,\n  "mc_open": 20,\n  "mc_sqa": %s,\n  "mc_sqa_categories": {"color": {"count": 1, "correct": 1, "acc": 100.0}},\n  "bench_relative": {"conv": %s, "detail": 1, "complex": 2, "all": 3},\n  "total_s": %s,\n  "wall_s": 1\n}\n' \
        "$3" "$6" "$4" "$5" > "$A/seed$1-$2/results.json"
}
fake 1 main 30 50 100 40; fake 2 main 32 54 200 44; fake 1 nostage1 40 60 10 null; fake 2 nostage1 null 62 20 null
fake 1 lastlayer null 1 1 null; fake 1 convonly 25 40 5 35; fake 2 convonly 25 40 5 35
sh tools/repro/pipeline.sh --ablations --seeds 2 --table --out "$A" > "$T/log3" 2>&1; rc=$?
[ $rc = 0 ] && ! grep -q '=====' "$T/log3" &&
    grep -q '^| main | 31.0 ± 1.4 | 42.0 ± 2.8 | 20.0 ± 0.0 | 52.0 ± 2.8 | 1.0 ± 0.0 | 2.0 ± 0.0 | 3.0 ± 0.0 |$' "$A/ablations.md" &&
    grep -q '^| nostage1 | 40.0 | - | 20.0 ± 0.0 | 61.0 ± 1.4 |' "$A/ablations.md" && grep -q '^| lastlayer | - | - |' "$A/ablations.md" &&
    grep -q '^| convonly | 25.0 ± 0.0 | 35.0 ± 0.0 |' "$A/ablations.md" && grep -q 'chance 29.9%; blind baseline 30.7%' "$A/ablations.md" &&
    grep -q 'Time: 341 s in the runs' "$A/ablations.md"
check "pipeline --ablations --table: means, standard deviations, missing figures, time" $? "exit $rc: $(cat "$A/ablations.md" 2>&1 | head -n 8)"

# build/answer: resume, and errors that name their cause without crashing (exit 1, not a signal)
M=$R/train/stage2/final
cp "$R/eval/mc_answers.jsonl" "$T/a.jsonl"
"$B/answer" --model "$M" --questions "$R/eval/mc_q.jsonl" --images "$R/mc" --out "$T/a.jsonl" --max-tokens 16 > /dev/null 2> "$T/err"; rc=$?
[ $rc = 0 ] && grep -q '^answer: 0 answered, [0-9]* skipped' "$T/err" && cmp -s "$T/a.jsonl" "$R/eval/mc_answers.jsonl"
check "answer: a rerun skips the questions already answered" $? "exit $rc: $(tail -n 1 "$T/err")"

head -n 3 "$R/eval/mc_q.jsonl" > "$T/q3.jsonl"
head -n 1 "$R/eval/mc_answers.jsonl" > "$T/a3.jsonl"
printf '{"question_id": "cut sh' >> "$T/a3.jsonl"
"$B/answer" --model "$M" --questions "$T/q3.jsonl" --images "$R/mc" --out "$T/a3.jsonl" --max-tokens 4 > /dev/null 2> "$T/err"; rc=$?
[ $rc = 0 ] && [ "$(grep -c . "$T/a3.jsonl")" = 3 ] && grep -q 'dropping 1 incomplete' "$T/err"
check "answer: resumes after a cut-off last line" $? "exit $rc, $(grep -c . "$T/a3.jsonl") lines: $(head -n 1 "$T/err")"

"$B/answer" --model "$T/no-model" --questions "$T/q3.jsonl" --out "$T/b.jsonl" > /dev/null 2> "$T/err"; rc=$?
[ $rc = 1 ] && grep -q "no-model" "$T/err"; check "answer: a missing model is a clear error" $? "exit $rc: $(head -n 1 "$T/err")"
"$B/answer" --model "$M" --questions "$T/no-questions.jsonl" --out "$T/b.jsonl" > /dev/null 2> "$T/err"; rc=$?
[ $rc = 1 ] && grep -q "no-questions.jsonl" "$T/err"; check "answer: a missing questions file is a clear error" $? "exit $rc: $(head -n 1 "$T/err")"
printf '{"question_id": 1, "image": "no-image.png", "text": "Hi"}\nnot json\n{"question_id": 3, "text": "What is it?"}\n' > "$T/bad.jsonl"
"$B/answer" --model "$M" --questions "$T/bad.jsonl" --out "$T/b.jsonl" --max-tokens 4 > /dev/null 2> "$T/err"; rc=$?
[ $rc = 1 ] && grep -q "question 1: .*no-image.png" "$T/err" && grep -q "line 2" "$T/err" && [ "$(grep -c . "$T/b.jsonl")" = 1 ]
check "answer: a missing image and a malformed line are reported, the rest answered, exit 1" $? "exit $rc: $(head -n 2 "$T/err" | tr '\n' ' ')"
head -n 30 "$R/eval/mc_q.jsonl" > "$T/q30.jsonl"
sed -n 2p "$R/eval/mc_q.jsonl" >> "$T/q30.jsonl" # a repeated id: answered once
"$B/answer" --model "$M" --questions "$T/q30.jsonl" --images "$R/mc" --out "$T/j1.jsonl" --max-tokens 24 --jobs 1 > /dev/null 2> "$T/err"; rc=$?
"$B/answer" --model "$M" --questions "$T/q30.jsonl" --images "$R/mc" --out "$T/j2.jsonl" --max-tokens 24 --jobs 3 > /dev/null 2> "$T/err2"; rc2=$?
ids() { sed 's/^{"question_id": \("[^"]*"\|[0-9.e+-]*\).*/\1/' "$1"; }
[ $rc = 0 ] && [ $rc2 = 0 ] && cmp -s "$T/j1.jsonl" "$T/j2.jsonl" && [ "$(grep -c . "$T/j2.jsonl")" = 30 ] &&
    [ "$(ids "$T/j2.jsonl")" = "$(head -n 30 "$T/q30.jsonl" | ids /dev/stdin)" ] && grep -q "3 at a time" "$T/err2"
check "answer --jobs 3: the answers of one question at a time, in the questions' order; a repeated id answered once" $? \
    "exit $rc and $rc2, $(grep -c . "$T/j1.jsonl") and $(grep -c . "$T/j2.jsonl") lines: $(tail -n 1 "$T/err2")"
"$B/answer" --model "$M" --questions "$T/q3.jsonl" --out "$T/b.jsonl" --template nosuch > /dev/null 2> "$T/err"; rc=$?
[ $rc = 2 ] && grep -q "unknown template" "$T/err"; check "answer: an unknown template is a usage error" $? "exit $rc"

finish
