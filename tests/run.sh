#!/bin/sh
# Runs each test given and ends with one line "N passed, N failed" summing them. A test is a program
# path, a shell command ("sh tests/x.sh ARG"), or "py:FILE" for a Python test (standard library only;
# reported as skipped where there is no python3). Each must end with its own "N passed, N failed".
pass=0; fail=0; skipped=0; status=0
for t in "$@"; do
    case "$t" in
    py:*)
        f=${t#py:}
        if ! command -v python3 >/dev/null 2>&1; then
            echo "== $f: skipped (no python3)"; skipped=$((skipped + 1)); continue
        fi
        cmd="python3 $f" ;;
    *) cmd="$t" ;;
    esac
    echo "== $cmd"
    out=$(sh -c "$cmd" 2>&1); rc=$?
    printf '%s\n' "$out" | sed '$d' | grep -v '^request failed\|^retry'
    last=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        printf '%s\n' "$last"
        echo "FAIL  $cmd did not finish (exit status $rc)"
        p=0; f=1
    fi
    echo "   $cmd: $p passed, $f failed"
    pass=$((pass + p)); fail=$((fail + f))
    [ "$rc" -ne 0 ] && status=1
done
[ "$fail" -ne 0 ] && status=1
if [ "$skipped" -ne 0 ]; then echo "$pass passed, $fail failed, $skipped skipped"; else echo "$pass passed, $fail failed"; fi
exit $status
