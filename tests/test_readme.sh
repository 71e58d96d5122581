#!/bin/sh
# The README's program is examples/simple.c, shown whole: the first ```c block of README.md must be that
# file, byte for byte; it compiles as the README says and answers about the bundled model's sample image.
# usage: sh tests/test_readme.sh BUILD_DIR
B=${1:-build}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok    $1"; }
bad() { fail=$((fail + 1)); echo "FAIL  $1"; }

awk '/^```c$/ { if (!seen) { on = 1; seen = 1; next } } /^```$/ { if (on) { on = 0; next } } on' README.md > "$T/readme.c"
if [ -s "$T/readme.c" ] && cmp -s "$T/readme.c" examples/simple.c; then ok "README's first C block is examples/simple.c"
else bad "README's first C block differs from examples/simple.c: $(diff "$T/readme.c" examples/simple.c | head -3 | tr '\n' ' ')"; fi

# built the way the README tells a user to build it (from the repository root, where llava.h is)
if ${CC:-cc} -O2 -fopenmp -I. -o "$T/simple" "$T/readme.c" -lm 2> "$T/err"; then ok "README's program compiles"
else bad "README's program does not compile: $(head -3 "$T/err")"; fi

if [ -x "$T/simple" ]; then
    "$T/simple" models/shapes-mini models/shapes-mini/sample.png "What color is the largest shape?" > "$T/out" 2> "$T/err"; rc=$?
    n=$(tr -d ' \n' < "$T/out" | wc -c)
    if [ $rc -eq 0 ] && [ "$n" -gt 3 ]; then ok "README's program answers: $(head -c 80 "$T/out" | tr '\n' ' ')"
    else bad "README's program: exit $rc, $n characters of answer, stderr: $(head -2 "$T/err")"; fi
    "$T/simple" models/shapes-mini models/no-such-image.png > "$T/out" 2> "$T/err"; rc=$?
    if [ $rc -ne 0 ] && grep -q "no-such-image.png" "$T/err"; then ok "README's program names an unreadable image and fails"
    else bad "README's program on a missing image: exit $rc, stderr: $(head -2 "$T/err")"; fi
fi
# llava.h's own opening example (its EXAMPLE section, as the body of main) compiles without a warning
{ echo '#define LLAVA_IMPLEMENTATION'; echo '#include "llava.h"'; echo 'int main(void) {'
  awk '/^   EXAMPLE/ { on = 1; next } /^   OPTIONS/ { on = 0 } on && /^         / { sub(/^         /, ""); print }' llava.h
  echo 'return 0; }'; } > "$T/header_example.c"
if [ "$(grep -c . "$T/header_example.c")" -gt 20 ] && ${CC:-cc} -std=c11 -Wall -Wextra -Werror -I. -fsyntax-only "$T/header_example.c" 2> "$T/err"; then
    ok "llava.h's opening example compiles"
else bad "llava.h's opening example: $(head -3 "$T/err")"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
