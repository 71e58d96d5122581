#!/bin/sh
# End-to-end test of tools/repro/stage0.c (pretraining the vision tower and the language model from nothing) on
# a tiny world: init, clip and lm run, their losses fall, the results load (also with the feature layer
# LLaVA's stages use), and bad input gives a clear error.
# usage: sh tests/test_stage0.sh [BUILD_DIR]   (from the repository root; needs stage0, world, tokenize, dump)
# Prints one line per test and "N passed, N failed"; exits non-zero on failure.
B=${1:-build}
T=$(mktemp -d /tmp/llava-stage0-XXXXXX)
pass=0; fail=0
check() { # name, status (0 = pass), reason
    if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok    $1"; else fail=$((fail + 1)); echo "FAIL  $1: $3"; fi
}
# loss of the first and of the last progress line ("step N/M  loss X ...")
first_loss() { grep '^step ' "$1" | head -n 1 | sed 's/.*loss \([0-9.]*\).*/\1/'; }
last_loss() { grep '^step ' "$1" | tail -n 1 | sed 's/.*loss \([0-9.]*\).*/\1/'; }
falls() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && b < a - 0.05) }'; }
# a crash (signal) shows as an exit status above 128
clean_error() { [ "$1" -ne 0 ] && [ "$1" -lt 128 ]; }

# a world of 64 images and a tokenizer trained on its text (world.json itself serves as the corpus)
"$B/world" --seed 3 --n 64 --out "$T/w" > "$T/log_world" 2>&1; rc=$?
mkdir -p "$T/tok" "$T/tok_noimg"
"$B/tokenize" --train "$T/w/world.json" --vocab 400 --special "<image>" --out "$T/tok" > "$T/log_tok" 2>&1; rc2=$?
"$B/tokenize" --train "$T/w/world.json" --vocab 400 --out "$T/tok_noimg" > /dev/null 2>&1; rc3=$?
check "setup: a 64-image world and two tokenizers" $((rc + rc2 + rc3)) "world exit $rc, tokenize exits $rc2 $rc3"

"$B/stage0" init --tokenizer "$T/tok" --out "$T/m0" --seed 2 > "$T/log_init" 2>&1; rc=$?
[ $rc = 0 ] && [ -s "$T/m0/model.safetensors" ] && [ -s "$T/m0/tokenizer.json" ] && [ -s "$T/m0/tokenizer_config.json" ] &&
    grep -q '"vision_feature_layer": -1' "$T/m0/config.json" && grep -q '"num_hidden_layers": 4' "$T/m0/config.json" &&
    grep -q '"hidden_size": 256' "$T/m0/config.json"; r=$?
check "init: mini model with feature layer -1, tokenizer files copied" $r "exit $rc: $(tail -n 1 "$T/log_init")"

# (the loss must end below chance, ln 16 = 2.77: embeddings that collapse to one point also "fall" to it)
"$B/stage0" clip --model "$T/m0" --world "$T/w" --out "$T/m1" --steps 30 --batch 16 --lr 5e-4 --log-every 5 > "$T/log_clip" 2>&1; rc=$?
a=$(first_loss "$T/log_clip"); b=$(last_loss "$T/log_clip")
[ $rc = 0 ] && falls "$a" "$b" && falls 2.77 "$b" && grep -q 'image->caption top-1' "$T/log_clip" &&
    grep -q '^clip 30/30 (100%) loss [0-9.]*, [0-9.]* steps/s$' "$T/log_clip"; r=$?
check "clip: 30 steps, the contrastive loss falls below chance ($a -> $b), retrieval reported, progress" $r "exit $rc: $(tail -n 1 "$T/log_clip")"
# the same run again gives the same model, byte for byte: the images' chunks go to whichever thread is
# free, but their gradients are summed in the chunks' order (batch 16: two chunks of 8); --quiet: no progress
"$B/stage0" clip --model "$T/m0" --world "$T/w" --out "$T/m1b" --steps 30 --batch 16 --lr 5e-4 --log-every 5 --quiet > "$T/log_clipb" 2> "$T/err_clipb"; rc=$?
[ $rc = 0 ] && cmp -s "$T/m1/model.safetensors" "$T/m1b/model.safetensors" && [ ! -s "$T/err_clipb" ]; r=$?
check "clip: a second run with the same seed writes the same model; --quiet prints no progress" $r "exit $rc: $(tail -n 1 "$T/log_clipb") $(head -n 1 "$T/err_clipb")"

# with a hard negative caption per image (one shape or color word swapped): the loss falls below its
# chance level (ln 32 image -> text, ln 16 text -> image: 3.12), and the logged negative differs from its
# caption in exactly one word
"$B/stage0" clip --model "$T/m0" --world "$T/w" --out "$T/m1n" --steps 30 --batch 16 --lr 5e-4 --log-every 5 --negatives 1 > "$T/log_clipn" 2>&1; rc=$?
a=$(first_loss "$T/log_clipn"); b=$(last_loss "$T/log_clipn")
ex=$(sed -n 's/^clip: hard negative of "\(.*\)": "\(.*\)"$/\1|\2/p' "$T/log_clipn")
words=$(echo "$ex" | awk -F'|' '{ n = split($1, a, " "); m = split($2, b, " "); d = 0; if (n != m) { print -1; exit }
    for (i = 1; i <= n; i++) d += a[i] != b[i]; print d }')
[ $rc = 0 ] && falls "$a" "$b" && falls 3.12 "$b" && [ "$words" = 1 ]; r=$?
check "clip --negatives 1: the loss falls below chance ($a -> $b), a negative differs in one word ($words)" $r "exit $rc: $(tail -n 1 "$T/log_clipn"); example: $ex"

# half the texts the colour-free view (sizes and shapes only), the image embedding from the mean of the
# patch rows: the loss falls below chance, the logged view names shapes and no colour, retrieval reports it
"$B/stage0" clip --model "$T/m0" --world "$T/w" --out "$T/m1s" --steps 30 --batch 16 --lr 5e-4 --log-every 5 --shape-text 0.5 \
    --pool mean > "$T/log_clips" 2>&1; rc=$?
a=$(first_loss "$T/log_clips"); b=$(last_loss "$T/log_clips")
view=$(sed -n 's/^clip: 50% of the texts are the colour-free view, as for image [0-9]*: "\(.*\)"$/\1/p' "$T/log_clips")
echo "$view" | grep -q -w -E 'circle|square|triangle|star|cross|ring|diamond'; shapes=$?
echo "$view" | grep -q -w -E 'red|orange|yellow|green|cyan|blue|purple|pink|brown|white|black'; colours=$?
[ $rc = 0 ] && falls "$a" "$b" && falls 2.77 "$b" && [ $shapes = 0 ] && [ $colours = 1 ] &&
    grep -q 'image embedding from the mean of the patch rows' "$T/log_clips" && grep -q 'held-out, colour-free view' "$T/log_clips"; r=$?
check "clip --shape-text 0.5 --pool mean: the loss falls below chance ($a -> $b), the view \"$view\" has no colour" $r \
    "exit $rc: $(tail -n 1 "$T/log_clips")"
# with the region loss: each object's patch rows against the 77 "a red circle" phrases; its loss falls and
# the held-out objects are scored
"$B/stage0" clip --model "$T/m0" --world "$T/w" --out "$T/m1r" --steps 30 --batch 16 --lr 1e-3 --log-every 5 --regions 1 > "$T/log_clipr" 2>&1; rc=$?
a=$(grep '^step ' "$T/log_clipr" | head -n 1 | sed 's/.*region loss \([0-9.]*\).*/\1/')
b=$(grep '^step ' "$T/log_clipr" | tail -n 1 | sed 's/.*region loss \([0-9.]*\).*/\1/')
[ $rc = 0 ] && falls "$a" "$b" && grep -q "held-out, [0-9]* objects: colour and shape from the object's patches" "$T/log_clipr"; r=$?
check "clip --regions 1: the region loss falls ($a -> $b), held-out objects scored" $r "exit $rc: $(tail -n 1 "$T/log_clipr")"
"$B/stage0" clip --model "$T/m0" --world "$T/w" --out "$T/bad" --pool max > /dev/null 2> "$T/errp"; rc=$?
[ $rc = 2 ] && grep -q -- "^stage0: --pool: 'max' is not one of cls|mean" "$T/errp" && [ ! -e "$T/bad" ]; r=$?
check "clip: an unknown --pool is a clear error" $r "exit $rc: $(head -n 1 "$T/errp")"

# LLaVA's CLIPVisionModel needs post_layernorm; every vision layer must be there for feature layer -2
grep -a -q 'vision_tower.vision_model.post_layernorm.weight' "$T/m1/model.safetensors" &&
    grep -a -q 'vision_tower.vision_model.encoder.layers.3.mlp.fc2.weight' "$T/m1/model.safetensors" && [ -s "$T/m1/tokenizer.json" ]; r=$?
check "clip: checkpoint has post_layernorm, all 4 vision layers, the tokenizer" $r "missing tensors or files in $T/m1"

"$B/stage0" lm --model "$T/m1" --world "$T/w" --out "$T/m2" --steps 20 --batch 8 --lr 3e-3 --log-every 5 > "$T/log_lm" 2>&1; rc=$?
a=$(first_loss "$T/log_lm"); b=$(last_loss "$T/log_lm")
[ $rc = 0 ] && falls "$a" "$b" && grep -q 'held-out loss' "$T/log_lm"; r=$?
check "lm: 20 steps, the next-token loss falls ($a -> $b)" $r "exit $rc: $(tail -n 1 "$T/log_lm")"

"$B/stage0" lm --model "$T/m1" --world "$T/w" --out "$T/m3" --steps 2 --batch 8 --repeats 30 --log-every 1 > "$T/log_rep" 2>&1; rc=$?
n0=$(sed -n 's/^lm: \([0-9]*\) training texts.*/\1/p' "$T/log_lm"); n1=$(sed -n 's/^lm: \([0-9]*\) training texts.*; 30 repeats).*/\1/p' "$T/log_rep")
# the first repeat as the log shows it: "w1 ... wk\nw1 ... wk", each half the same words of the captions
rep=$(sed -n 's/^lm: repeats like "\(.*\)" (from [0-9]* words)$/\1/p' "$T/log_rep")
h1=${rep%%\\n*} h2=${rep#*\\n}
known=0
for x in $h1; do grep -q -i -w -- "$x" "$T/w/world.json" || known=1; done
[ $rc = 0 ] && [ -n "$n0" ] && [ "$n1" = $((n0 + 30)) ] && [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ $known = 0 ]; r=$?
check "lm --repeats 30: 30 more texts, each the same words of the world twice ($n0 -> $n1; \"$h1\")" $r "exit $rc: $(grep 'training texts\|repeats like' "$T/log_rep")"

"$B/dump" --model "$T/m2" --ids "1 5 6 7" --greedy 4 > "$T/log_dump" 2>&1; rc=$?
check "the result loads and runs a text prompt (dump)" $rc "exit $rc: $(tail -n 1 "$T/log_dump")"

# as LLaVA's stages load it: feature layer -2, an image in the prompt
mkdir -p "$T/m2b"
cp "$T/m2/"* "$T/m2b/"
sed 's/"vision_feature_layer": -1/"vision_feature_layer": -2/' "$T/m2/config.json" > "$T/m2b/config.json"
"$B/dump" --model "$T/m2b" --image "$T/w/images/000000.png" --ids "1 <image> 5 6" --greedy 2 > "$T/log_dump2" 2>&1; rc=$?
[ $rc = 0 ] && grep -q '"vision_feature_layer": -2' "$T/m2b/config.json"; r=$?
check "the result loads with vision_feature_layer -2 and runs an image prompt" $r "exit $rc: $(tail -n 1 "$T/log_dump2")"

"$B/stage0" init --tokenizer "$T/tok_noimg" --out "$T/bad" > /dev/null 2> "$T/err1"; rc=$?
clean_error $rc && grep -q '<image>' "$T/err1" && [ ! -e "$T/bad" ]; r=$?
check "init: a tokenizer without <image> is a clear error" $r "exit $rc: $(head -n 1 "$T/err1")"

"$B/stage0" clip --model "$T/m0" --world "$T/nowhere" --out "$T/bad" --steps 2 > /dev/null 2> "$T/err2"; rc=$?
clean_error $rc && grep -q 'nowhere' "$T/err2"; r=$?
"$B/stage0" lm --model "$T/m0" --world "$T/nowhere" --out "$T/bad" --steps 2 > /dev/null 2> "$T/err3"; rc2=$?
clean_error $rc2 && grep -q 'nowhere' "$T/err3"; r2=$?
check "clip, lm: a missing world is a clear error" $((r + r2)) "exits $rc $rc2: $(head -n 1 "$T/err2") / $(head -n 1 "$T/err3")"

"$B/stage0" clip --model "$T/nomodel" --world "$T/w" --out "$T/bad" --steps 2 > /dev/null 2> "$T/err4"; rc=$?
clean_error $rc && grep -q 'nomodel' "$T/err4"; r=$?
"$B/stage0" clip --world "$T/w" --out "$T/bad" > /dev/null 2> "$T/err5"; rc2=$?
clean_error $rc2 && grep -q -- '--model is required' "$T/err5"; r2=$?
"$B/stage0" lm --model "$T/m0" --world "$T/w" --out "$T/bad" --steps 0 > /dev/null 2> "$T/err6"; rc3=$?
clean_error $rc3 && grep -q -- '--steps' "$T/err6"; r3=$?
check "a missing model, a missing option, a bad value: clear errors" $((r + r2 + r3)) "exits $rc $rc2 $rc3: $(head -n 1 "$T/err4")"

# the command line: --help lists every subcommand's options with their defaults (and no file the
# repository lacks); an option of another subcommand, a bad number, no subcommand: exit 2, named
"$B/stage0" --help > "$T/help" 2>&1; rc=$?
miss=""
for o in --tokenizer --model --world --out --steps --batch --lr --wd --warmup --seed --log-every --precision --quiet --max-len \
    --instruct --repeats --negatives --shape-text --pool --regions --feature-layer; do
    grep -q -- "^  $o " "$T/help" || miss="$miss $o"
done
[ $rc = 0 ] && [ -z "$miss" ] && ! grep -q 'BENCH' "$T/help" && grep -q 'default clip 800, lm 400' "$T/help"; r=$?
"$B/stage0" init --tokenizer "$T/tok" --out "$T/bad" --steps 5 > /dev/null 2> "$T/err7"; rc2=$?
[ $rc2 = 2 ] && grep -q '^stage0: init does not take --steps' "$T/err7" && [ ! -e "$T/bad" ]; r2=$?
"$B/stage0" lm --model "$T/m0" --world "$T/w" --out "$T/bad" --lr 1e-3x > /dev/null 2> "$T/err8"; rc3=$?
[ $rc3 = 2 ] && grep -q "^stage0: --lr: '1e-3x' is not a number" "$T/err8"; r3=$?
"$B/stage0" --out "$T/bad" > /dev/null 2> "$T/err9"; rc4=$?
[ $rc4 = 2 ] && grep -q '^stage0: a subcommand is needed' "$T/err9"; r4=$?
check "command line: --help names every option (missing:${miss:- none}), wrong options and numbers exit 2" $((r + r2 + r3 + r4)) \
    "exits $rc $rc2 $rc3 $rc4: $(head -n 1 "$T/err7") / $(head -n 1 "$T/err8") / $(head -n 1 "$T/err9")"

rm -rf "$T"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
