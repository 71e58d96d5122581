#!/bin/sh
# Runs each test binary given, shows its output, and ends with one line "N passed, N failed" summing them.
pass=0; fail=0; status=0
for t in "$@"; do
    echo "== $t"
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | sed '$d'
    last=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        printf '%s\n' "$last"
        echo "FAIL  $t did not finish (exit status $rc)"
        p=0; f=1
    fi
    echo "   $t: $p passed, $f failed"
    pass=$((pass + p)); fail=$((fail + f))
    [ "$rc" -ne 0 ] && status=1
done
[ "$fail" -ne 0 ] && status=1
echo "$pass passed, $fail failed"
exit $status
