#!/bin/sh
# Runs libFuzzer harnesses, one after another, each for SECONDS on a fresh copy of its seed corpus
# (tests/fuzz/corpus/NAME) with its dictionary (tests/fuzz/NAME.dict) where there is one. One line per
# harness; a crash, leak, sanitizer report, timeout (10 s per input) or out-of-memory (2 GB) fails it,
# and the input that did it is kept as BUILD/fuzz/NAME-crash-... (replay: BUILD/fuzz/fuzz_NAME FILE).
# usage: sh tests/fuzz/run.sh BUILD_DIR SECONDS NAME...   (from the repository root)
B=$1; T=$2; shift 2
pass=0; fail=0
for h in "$@"; do
    w="$B/fuzz/work/$h"; log="$B/fuzz/$h.log"
    rm -rf "$w" && mkdir -p "$w" && cp tests/fuzz/corpus/"$h"/* "$w"/ || exit 2
    dict=""; [ -f "tests/fuzz/$h.dict" ] && dict="-dict=tests/fuzz/$h.dict"
    # shellcheck disable=SC2086 # $dict is one word or none
    "$B/fuzz/fuzz_$h" $dict -max_total_time="$T" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$B/fuzz/$h-" "$w" > "$log" 2>&1; rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ $rc = 0 ]; then
        pass=$((pass + 1))
        echo "ok    fuzz $h: ${runs:-?} inputs in ${T} s (${rate:-?}/s), ${cov:-cov: ?}, corpus $(ls "$w" | wc -l)"
    else
        fail=$((fail + 1))
        echo "FAIL  fuzz $h: exit $rc after ${runs:-?} inputs; $(grep -m 1 -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log")"
        grep -E 'runtime error|^ERROR|^    #[0-9]|Test unit written' "$log" | head -n 12 | sed 's/^/      /'
    fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
