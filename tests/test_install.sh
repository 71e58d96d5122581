#!/bin/sh
# make install and make uninstall into a temporary prefix and through DESTDIR: every file in its place and
# nothing else, llava.pc answering pkg-config, examples/simple.c built from a copy outside the repository
# with pkg-config's flags and run on the bundled model, the installed programs run, and after make uninstall
# nothing of ours left (and nothing else removed).
# usage: sh tests/test_install.sh [BUILD]   (from the repository root, after make; BUILD: default build)
# Prints one line per test and "N passed, N failed"; exits non-zero on failure.
BUILD=${1:-build}
ROOT=$(pwd)
T=$(mktemp -d /tmp/llava-install-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
check() { # name, condition result, what to say on failure
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok    $1"; else fail=$((fail + 1)); echo "FAIL  $1: $3"; fi
}
# this make's own flags and job server (when run from make test) are not for the make it starts
mk() { MAKEFLAGS= MFLAGS= make --no-print-directory -C "$ROOT" BUILD="$BUILD" "$@"; }
VERSION=$(sed -n 's/^#define LLAVA_VERSION "\(.*\)"$/\1/p' llava.h)
M=$ROOT/models/shapes-mini
P=$T/prefix

# what install must put there, as built name:installed name (the server only where it was built)
PROGS="chat:llava-chat simple:llava-simple train_example:llava-train dump:llava-dump tokenize:llava-tokenize
       answer:llava-answer eval_sqa:llava-eval-sqa"
[ -f "$BUILD/server" ] && PROGS="$PROGS server:llava-server"
HEADERS=llava.h
for f in llava_cuda.cu llava_cuda.h; do [ -f "$f" ] && HEADERS="$HEADERS $f"; done
{
    for p in $PROGS; do echo "bin/${p#*:}"; done
    for f in $HEADERS; do echo "include/$f"; done
    echo lib/pkgconfig/llava.pc
} | sort > "$T/expected"
files() { (cd "$1" 2>/dev/null && find . ! -type d | sed 's|^\./||' | sort); }

mk install PREFIX="$P" > "$T/log1" 2>&1; rc=$?
check "make install PREFIX=DIR" $rc "exit $rc: $(tail -n 1 "$T/log1")"

files "$P" > "$T/got"
cmp -s "$T/expected" "$T/got"; check "install puts exactly $(wc -l < "$T/expected") files there" $? \
    "$(diff "$T/expected" "$T/got" | grep '^[<>]' | tr '\n' ' ')"

r=0; bad=""
for p in $PROGS; do
    [ -x "$P/bin/${p#*:}" ] && cmp -s "$BUILD/${p%%:*}" "$P/bin/${p#*:}" || { r=1; bad="$bad ${p#*:}"; }
done
for f in $HEADERS; do
    [ -f "$P/include/$f" ] && [ ! -x "$P/include/$f" ] && cmp -s "$f" "$P/include/$f" || { r=1; bad="$bad $f"; }
done
check "the programs (executable) and headers are the built ones" $r "wrong:$bad"

r=0; bad=""
for p in $PROGS; do
    out=$("$P/bin/${p#*:}" --version 2>&1) && [ "$out" = "${p%%:*} (llava.h $VERSION)" ] || { r=1; bad="$bad ${p#*:} ($out)"; }
done
check "every installed program answers --version with its own name (llava.h $VERSION)" $r "wrong:$bad"

# an installed program, run away from the repository
(cd "$T" && "$P/bin/llava-chat" --model "$M" --image "$M/sample.png" --prompt "Describe the image." \
    --max-tokens 8 --temp 0 --quiet > "$T/chat1" 2> "$T/chaterr"); rc=$?
"$BUILD/chat" --model "$M" --image "$M/sample.png" --prompt "Describe the image." --max-tokens 8 --temp 0 --quiet > "$T/chat2" 2>/dev/null
[ $rc = 0 ] && grep -q '[a-z]' "$T/chat1" && cmp -s "$T/chat1" "$T/chat2"
check "llava-chat answers from another directory, as build's chat does" $? "exit $rc: $(head -n 1 "$T/chaterr")"

# llava.pc, and a program built with its flags alone from a copy of examples/simple.c
mkdir "$T/src" && cp examples/simple.c "$T/src/"
if command -v pkg-config > /dev/null 2>&1; then
    export PKG_CONFIG_PATH="$P/lib/pkgconfig"
    v=$(pkg-config --modversion llava 2>&1)
    cflags=$(pkg-config --cflags llava 2>&1 | sed 's/ *$//'); libs=$(pkg-config --libs llava 2>&1 | sed 's/ *$//')
    [ "$v" = "$VERSION" ] && [ "$cflags" = "-I$P/include" ] && [ "$libs" = "-lm" ]
    check "pkg-config llava: version $VERSION, --cflags -I\${includedir}, --libs -lm" $? "'$v' '$cflags' '$libs'"
else
    echo "skip  pkg-config llava: no pkg-config on this machine (the program below is built with -I and -lm)"
    cflags="-I$P/include"; libs="-lm"
fi
# the libraries after the source: with --as-needed linking a library before the object that needs it is dropped
(cd "$T/src" && ${CC:-cc} -O2 -fopenmp -Wall -Wextra $cflags -o simple simple.c $libs > "$T/ccerr" 2>&1); rc=$?
[ $rc = 0 ] && [ ! -s "$T/ccerr" ]
check "examples/simple.c built outside the repository with the installed header, no warnings" $? "exit $rc: $(head -n 3 "$T/ccerr")"
(cd "$T/src" && ./simple "$M" "$M/sample.png" "Describe the image." > "$T/s1" 2> "$T/serr"); rc=$?
[ $rc = 0 ] && grep -q '[a-z]' "$T/s1" && [ ! -s "$T/serr" ]
check "that program answers about the bundled model's image" $? "exit $rc: $(head -n 1 "$T/serr")"

# make uninstall: everything install put there goes, and nothing else
echo other > "$P/bin/other-tool"; echo other > "$P/include/other.h"
mk uninstall PREFIX="$P" > "$T/log2" 2>&1; rc=$?
check "make uninstall PREFIX=DIR" $rc "exit $rc: $(tail -n 1 "$T/log2")"
left=$(files "$P" | tr '\n' ' ')
[ "$left" = "bin/other-tool include/other.h " ]
check "uninstall leaves nothing of ours and removes nothing else" $? "left: $left"
mk uninstall PREFIX="$P" > "$T/log3" 2>&1; rc=$?
check "make uninstall again (nothing to remove) succeeds" $rc "exit $rc: $(tail -n 1 "$T/log3")"

# DESTDIR: files staged under it, the paths inside llava.pc without it
D=$T/stage
mk install DESTDIR="$D" PREFIX=/opt/llava > "$T/log4" 2>&1; rc=$?
files "$D/opt/llava" > "$T/got"
[ $rc = 0 ] && cmp -s "$T/expected" "$T/got" && grep -q '^prefix=/opt/llava$' "$D/opt/llava/lib/pkgconfig/llava.pc" &&
    ! grep -q "$T" "$D/opt/llava/lib/pkgconfig/llava.pc"
check "make install DESTDIR=STAGE PREFIX=/opt/llava: staged, llava.pc says /opt/llava" $? \
    "exit $rc: $(diff "$T/expected" "$T/got" | grep '^[<>]' | tr '\n' ' ')"
mk uninstall DESTDIR="$D" PREFIX=/opt/llava > "$T/log5" 2>&1; rc=$?
left=$(files "$D" | tr '\n' ' ')
[ $rc = 0 ] && [ -z "$left" ]; check "make uninstall DESTDIR=STAGE PREFIX=/opt/llava: nothing left" $? "exit $rc, left: $left"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
