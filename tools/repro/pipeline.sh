#!/bin/sh
# The paper in miniature: data -> tokenizer -> stage 0 (CLIP and LM pretraining from nothing) ->
# stage 1 (feature alignment) -> stage 2 (visual instruction tuning) -> evaluation, for one seed.
#
#   sh tools/repro/pipeline.sh [--quick] [--seed S] [--out DIR] [--ablation NAME] [--reuse-stage0 DIR] [--no-mc-model] [--precision P]
#   sh tools/repro/pipeline.sh --lm PATH [the same options]     on a pretrained language model (below)
#   sh tools/repro/pipeline.sh --ablations [--seeds N] [--quick] [--out DIR] [--no-mc-model] [--precision P] [--table]
#   (--help lists every option)
#
# Run from the repository root after `make`. Writes under OUT
# (default runs/seedS, runs/quick-seedS with --quick, with -NAME for an ablation):
#   world/ instruct/           training world and its LLaVA-format data (tools/repro/world.c, tools/repro/instruct.c)
#   heldout/ bench/ mc/        a world from a disjoint seed, its LLaVA-Bench-style and multiple-choice sets
#   corpus.txt tokenizer/      the tokenizer's corpus (captions and instruction texts) and the tokenizer
#   world0/                    the training world extended to 40,000 images (full runs only): CLIP's, the MC model's
#   s0init/ s0clip/ s0/        stage 0 (tools/repro/stage0.c): fresh model, CLIP-pretrained tower, pretrained LM
#   start/                     the stage-0 model as stage 1 starts from it (vision_feature_layer -2)
#   data/ train/               stage-1/2 data files, train_example's checkpoints, loss.csv, loss.svg
#   sqa/                       the multiple-choice model's data, read/ and check/ fine-tunes (not with --no-mc-model)
#   eval/                      questions, answers, scores; logs/ every phase's output
#   results.json               the numbers and the seconds each phase took
# Ablations: nostage1 (stage 2 starts from the stage-0 model, projector untrained), lastlayer
# (vision_feature_layer -1 in stages 1-2), convonly (stage 2 on conversation.json only, same steps),
# noinstruct (no stage 2: the stage-1 model is evaluated).
#
# --lm PATH starts from a pretrained language model instead of stage 0's (a Hugging Face LLaMA-family
# directory or a GGUF file, e.g. SmolLM2-135M-Instruct): stage 0 trains only the CLIP tower (or
# --reuse-stage0 takes the tower of DIR), train_example assembles the LLaVA (tower, a fresh projector,
# the LLM with "<image>" added to its tokenizer: OUT/train/assembled), stage 2 and the evaluation use
# the LLM's own chat template (chatml), and --ablations adds noinstruct. OUT defaults to runs/lm-seedS.
# --ablations runs main and the three ablations per seed, stage 0 trained once per seed, and writes the
# table of means and standard deviations over seeds to OUT/ablations.md (default OUT: runs/ablations);
# with --table it only writes the table, from the runs already in OUT.
#
# A phase whose output is complete (OUT/logs/PHASE.done) is not run again: a stopped run continues
# where it stopped when started again with the same arguments. Every step is checked; the first that
# fails stops the pipeline with its name and the end of its log.
set -eu

BUILD=${BUILD:-build}
quick=0 seed=1 out= ablation=main reuse= ablations=0 seeds=3 table_only=0 mc_model=1 precision=auto quiet=0 lm=
steps0c= steps0l= steps1= steps2=

usage() {
    cat <<USAGE
usage: sh tools/repro/pipeline.sh [options]                 one run: data, stage 0, stages 1-2, evaluation
       sh tools/repro/pipeline.sh --ablations [options]     main and the three ablations per seed, and their table
  --quick              a small world and few steps (a few minutes): checks that every phase works
  --seed S             world, initialization and data order, 0 to 999999999999 (default 1); the held-out
                       sets use 1000000 + S
  --out DIR            output directory (default runs/seedS, or runs/quick-seedS with --quick, with -NAME
                       for an ablation; with --ablations: runs/ablations)
  --ablation NAME      main (default), nostage1 (no stage 1), lastlayer (vision features from the last
                       layer), convonly (stage 2 on conversations only) or noinstruct (no stage 2)
  --lm PATH            a pretrained language model (LLaMA-family Hugging Face directory or GGUF file) in
                       place of stage 0's: stage 0 trains the vision tower only, stage 2 and the
                       evaluation use the chatml template; OUT defaults to runs/lm-seedS (lm-quick-seedS)
  --reuse-stage0 DIR   take stage 0 from an earlier run of the same seed (its OUT, or its OUT/s0); with
                       --lm, any LLaVA or CLIP directory whose vision tower to use
  --no-mc-model        leave out the multiple-choice model (phases sqa and eval_mc_sqa)
  --mc-model           with the multiple-choice model (the default)
  --precision P        the training's matrix products: f32, bf16 (operands rounded to bf16, as LLaVA trains)
                       or auto (the default): bf16 where the CPU has AMX to run them on, else f32
  --clip-steps N       stage 0's CLIP steps, 1 to 1000000000 (default 3000; --quick 20)
  --lm-steps N         stage 0's language-model steps, 1 to 1000000000 (default 4000; --quick 60)
  --steps1 N           stage 1's steps, 1 to 1000000000 (default 625; --quick 40; --lm --quick 100)
  --steps2 N           stage 2's steps, 1 to 1000000000 (default 3000; --quick 60; --lm --quick 150)
  --ablations          run main and the ablations for seeds 1..N, then write OUT/ablations.md
  --seeds N            with --ablations: how many seeds, 1 to 1000 (default 3)
  --table              with --ablations: only write the table, from the runs already in OUT
  --quiet              no progress of the phases' programs: one line per phase, then the results
  --help, --version
A phase already done (OUT/logs/PHASE.done) is skipped: the same command continues a stopped run.
Each phase's output is in OUT/logs/PHASE.log; on a terminal the latest line of the running phase is
shown on one line, rewritten, and when the output is not a terminal every line is passed through.
environment: BUILD, the directory of the programs (default build).
USAGE
}
# the convention of the repository's programs (tools/common.h): usage errors exit 2, others 1
usage_error() { echo "pipeline: $* (see pipeline --help)" >&2; exit 2; }
die() { echo "pipeline: $*" >&2; exit 1; }
# whole number VALUE of option NAME within [LO, HI] (HI at most 15 digits, within the shell's arithmetic)
whole() { # NAME VALUE LO HI
    case "$2" in '' | *[!0-9]*) usage_error "$1: '$2' is not a whole number" ;; esac
    [ ${#2} -le 15 ] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || usage_error "$1: $2 is out of range [$3, $4]"
}

while [ $# -gt 0 ]; do
    opt=$1 val= has=0
    case "$opt" in --*=*) val=${opt#*=} opt=${opt%%=*} has=1 ;; esac
    case "$opt" in
    --quick | --ablations | --mc-model | --no-mc-model | --table | --quiet | --help | -h | --version)
        [ "$has" = 0 ] || usage_error "$opt takes no value"
        case "$opt" in
        --quick) quick=1 ;; --ablations) ablations=1 ;; --mc-model) mc_model=1 ;; --no-mc-model) mc_model=0 ;;
        --table) table_only=1 ;; --quiet) quiet=1 ;; --help | -h) usage; exit 0 ;;
        --version) echo "pipeline (llava.h $(sed -n 's/^#define LLAVA_VERSION "\(.*\)"$/\1/p' "$(dirname "$0")/../../llava.h"))"; exit 0 ;;
        esac ;;
    --seed | --out | --ablation | --reuse-stage0 | --seeds | --clip-steps | --lm-steps | --steps1 | --steps2 | --precision | --lm)
        if [ "$has" = 0 ]; then
            [ $# -ge 2 ] || usage_error "$opt needs a value"
            val=$2
            shift
        fi
        case "$opt" in
        --seed) whole "$opt" "$val" 0 999999999999; seed=$val ;;
        --seeds) whole "$opt" "$val" 1 1000; seeds=$val ;;
        --clip-steps) whole "$opt" "$val" 1 1000000000; steps0c=$val ;;
        --lm-steps) whole "$opt" "$val" 1 1000000000; steps0l=$val ;;
        --steps1) whole "$opt" "$val" 1 1000000000; steps1=$val ;;
        --steps2) whole "$opt" "$val" 1 1000000000; steps2=$val ;;
        --out) out=$val ;; --ablation) ablation=$val ;; --reuse-stage0) reuse=$val ;; --precision) precision=$val ;;
        --lm) [ -n "$val" ] || usage_error "--lm needs a path"; lm=$val ;;
        esac ;;
    -*) usage_error "unknown option '$opt'" ;;
    *) usage_error "unexpected argument '$opt'" ;;
    esac
    shift
done
[ "$table_only" = 0 ] || [ "$ablations" = 1 ] || usage_error "--table goes with --ablations"
case "$precision" in f32 | bf16 | auto) ;; *) usage_error "--precision: '$precision' is not one of f32|bf16|auto" ;; esac
case "$ablation" in main | nostage1 | lastlayer | convonly | noinstruct) ;; *)
    usage_error "unknown ablation '$ablation' (main, nostage1, lastlayer, convonly, noinstruct)" ;;
esac
if [ -n "$lm" ]; then
    [ -e "$lm" ] || usage_error "--lm: $lm does not exist"
    case "$lm" in /*) ;; *) lm=$(pwd)/$lm ;; esac
fi

now() { date +%s; }
T_START=$(now)

# --- the ablation study: this script once per seed and variant, then the table -------------------------
if [ "$ablations" = 1 ]; then
    q=; [ "$quick" = 1 ] && q=--quick
    mcm=; [ "$mc_model" = 0 ] && mcm=--no-mc-model
    qq=; [ "$quiet" = 1 ] && qq=--quiet
    if [ -n "$lm" ]; then out=${out:-runs/lm-ablations}; else out=${out:-runs/ablations}; fi
    mkdir -p "$out"
    variants="main nostage1 lastlayer convonly"
    [ -n "$lm" ] && variants="$variants noinstruct"
    seed_list=$(seq "$seeds")
    [ "$table_only" = 1 ] && seed_list= # the runs are there already
    for s in $seed_list; do
        for a in $variants; do
            echo "===== seed $s, $a ($(($(now) - T_START)) s so far)"
            if [ "$a" = main ]; then r=$reuse; else r="$out/seed$s-main"; fi
            # one pipeline per variant; stage 0 comes from the seed's main run
            sh "$0" $q ${mcm:+"$mcm"} ${qq:+"$qq"} ${lm:+--lm "$lm"} --precision "$precision" --seed "$s" --ablation "$a" --out "$out/seed$s-$a" ${r:+--reuse-stage0 "$r"} \
                ${steps0c:+--clip-steps "$steps0c"} ${steps0l:+--lm-steps "$steps0l"} \
                ${steps1:+--steps1 "$steps1"} ${steps2:+--steps2 "$steps2"} ||
                die "the run for seed $s, $a failed (see $out/seed$s-$a/logs)"
        done
    done
    # a figure of a run's results.json, nothing where the run has not finished: fig FILE KEY (a
    # top-level number, or a bench type's relative score)
    fig() {
        [ -f "$1" ] || return 0
        case $2 in
            conv | detail | complex | all) sed -n 's/^ *"bench_relative": .*"'"$2"'": \([-0-9.]*\).*$/\1/p' "$1" ;;
            *) sed -n 's/^ *"'"$2"'": \([-0-9.]*\),*$/\1/p' "$1" ;;
        esac
    }
    # mean +- sample standard deviation over seeds of each figure, one row per variant; the runs' own
    # phase seconds added up (each run's total_s; the variants reuse their seed's stage 0)
    table="$out/ablations.md" spent=0
    {
        echo "| variant | MC accuracy % | MC model % | free answers % | bench conv | bench detail | bench complex | bench all |"
        echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
        for a in $variants; do
            row="| $a |"
            for s in $(seq "$seeds"); do v=$(fig "$out/seed$s-$a/results.json" total_s); spent=$((spent + ${v:-0})); done
            for key in mc_acc mc_sqa mc_open conv detail complex all; do
                vals=
                for s in $(seq "$seeds"); do v=$(fig "$out/seed$s-$a/results.json" "$key"); vals="$vals ${v:-nan}"; done
                row="$row $(echo "$vals" | awk '{ n = 0; s = 0; for (i = 1; i <= NF; i++) if ($i != "nan") { x[++n] = $i; s += $i }
                    if (n == 0) { print "-"; exit } m = s / n; v = 0; for (i = 1; i <= n; i++) v += (x[i] - m) ^ 2
                    if (n > 1) printf "%.1f ± %.1f", m, sqrt(v / (n - 1)); else printf "%.1f", m }') |"
            done
            echo "$row"
        done
        pct() { fig "$out/seed1-main/results.json" "$1" | awk '{ printf "%.1f", $1 }'; }
        chance=$(pct mc_chance) blind=$(pct mc_blind)
        echo
        echo "$seeds seed(s)$( [ "$quick" = 1 ] && echo ', quick mode'). MC: the stage-2 model's accuracy on the held-out multiple-choice test split, the letter asked for (chance ${chance}%; blind baseline ${blind}%, seed 1)."
        echo "MC model: the multiple-choice model's (the stage-2 model fine-tuned on questions about world0, the fact and a check of the options before the letter)."
        echo "free answers: the same questions without their options, answered freely, scored by the choice the answer names first (eval_sqa --open)."
        echo "bench: the offline judge's relative score (candidate / reference x 100) per question type."
        echo "nostage1: no feature alignment; lastlayer: vision features from the last layer instead of the second to last;"
        echo "convonly: stage 2 on conversations only, same number of steps$( [ -n "$lm" ] && echo '; noinstruct: no stage 2, the stage-1 model asked')."
        [ -n "$lm" ] && echo "Language model: $(basename "$lm") (pipeline --lm)."
        echo "Time: $spent s in the runs' phases, $(($(now) - T_START)) s in this invocation."
    } > "$table"
    cat "$table"
    exit 0
fi

# --- one run -----------------------------------------------------------------------------------------
if [ -z "$out" ]; then
    out=runs/seed$seed
    [ "$quick" = 1 ] && out=runs/quick-seed$seed
    [ -n "$lm" ] && out=runs/lm-${out#runs/}
    [ "$ablation" != main ] && out=$out-$ablation
fi
for p in world instruct tokenize stage0 train_example eval_sqa answer judge_offline; do
    [ -x "$BUILD/$p" ] || die "$BUILD/$p is missing: run make"
done
mkdir -p "$out/logs" "$out/eval" "$out/data"
log=$out/logs

# Sizes. Full: about 57 minutes on a 2-core Intel Xeon with AMX (--precision auto, the default, where a
# CPU has AMX), 39 without the multiple-choice model; docs/reproduction.md has the time of each phase.
# Quick: under 5 minutes, enough for every loss to fall and every program to run on real data.
heldout_seed=$((1000000 + seed))
if [ "$quick" = 1 ]; then
    n_world=300 n_world0=0 n_heldout=160 n_bench=10 n_mc=120 n_test=100 n_mctrain=200
    n_sqa=200 sqa_read=20 sqa_check=20
    clip_steps=20 clip_batch=32 lm_steps=60 repeats=200 s1=40 s2=60 batch=8
else
    n_world=5000 n_world0=40000 n_heldout=1300 n_bench=30 n_mc=1200 n_test=1000 n_mctrain=3000
    n_sqa=40000 sqa_read=1500 sqa_check=3000
    clip_steps=3000 clip_batch=64 lm_steps=4000 repeats=40000 s1=625 s2=3000 batch=8
fi
# stage 2's learning rate: LLaVA's 2e-5 is for a 7B model; a model this small and this briefly trained
# moves too little with it (the same reason stage 0 uses 2e-3)
lr1=1e-3 lr2=2e-4
# stage 2's template: vicuna_v1 (LLaVA-1.5's) for stage 0's language model, which learns it here; a
# pretrained instruct model's own (chatml for SmolLM2 and Qwen2), the format its instruction tuning taught
tpl=vicuna_v1
if [ -n "$lm" ]; then
    # A pretrained language model: the evaluation sets at full size in both modes (they are what the
    # run is for), the tower's CLIP pretraining as in a full run; --quick shortens stages 1-2 to fit an
    # hour on 2 CPU cores (a step of 8 takes about 5 s in stage 1, 13 s in stage 2 with SmolLM2-135M).
    # A model with 20 times stage 0's parameters and trained before: LLaVA-1.5's stage-2 rate, raised for
    # a 135M model and few steps (1e-4); the chat template its instruction tuning used.
    n_world=5000 n_world0=40000 n_heldout=1300 n_bench=30 n_mc=1200 n_test=1000 n_mctrain=3000
    clip_steps=3000 clip_batch=64 lr2=1e-4 tpl=chatml
    [ "$quick" = 1 ] && s1=100 s2=150 n_bench=10
fi
clip_steps=${steps0c:-$clip_steps} lm_steps=${steps0l:-$lm_steps} s1=${steps1:-$s1} s2=${steps2:-$s2}

# show: a phase's output as it comes. On a terminal, its latest line on one line rewritten (the running
# program's progress, with its rate and ETA); else every line; with --quiet, none.
show() {
    if [ "$quiet" = 1 ]; then
        cat > /dev/null
    elif [ -t 1 ]; then
        cols=$(tput cols 2> /dev/null || echo 80)
        cr=$(printf '\r')
        while IFS= read -r line || [ -n "$line" ]; do
            line=${line##*"$cr"}
            [ -n "$line" ] && printf '\r\033[K   %.*s' $((cols > 20 ? cols - 4 : 16)) "$line"
        done
        printf '\r\033[K'
    else
        while IFS= read -r line || [ -n "$line" ]; do printf '   %s\n' "$line"; done
    fi
}

# phase NAME CMD...: runs CMD with its output in logs/NAME.log (and shown as it comes), stops the pipeline
# with the log's end when it fails, records the seconds in logs/NAME.done; a phase already done is skipped.
# CMD runs where `set -e` does not apply (left of ||), so the functions below check each step themselves.
times=
phase() {
    name=$1
    shift
    if [ -f "$log/$name.done" ]; then
        echo "-- $name: done before ($(cat "$log/$name.done") s), skipped"
        times="$times $name=$(cat "$log/$name.done")"
        return 0
    fi
    echo "-- $name: $*"
    t0=$(now)
    rm -f "$log/$name.rc"
    { "$@" 2>&1 || echo $? > "$log/$name.rc"; } | tee "$log/$name.log" | show
    if [ -f "$log/$name.rc" ]; then
        echo "pipeline: phase '$name' failed (exit $(cat "$log/$name.rc")); the end of $log/$name.log:" >&2
        tail -n 15 "$log/$name.log" >&2
        exit 1
    fi
    dt=$(($(now) - t0))
    echo "$dt" > "$log/$name.done"
    times="$times $name=$dt"
    echo "-- $name: ${dt} s"
}

# --- data ---
data() {
    "$BUILD/world" --seed "$seed" --n "$n_world" --out "$out/world" || return
    # the training mix by the rules backend; quick mode keeps the default proportions of a small world
    "$BUILD/instruct" --world "$out/world" --out "$out/instruct" --seed "$seed" || return
    # held out: a world of a disjoint seed, LLaVA-Bench shapes (3 question types per image) and multiple choice
    "$BUILD/world" --seed "$heldout_seed" --n "$n_heldout" --out "$out/heldout" || return
    "$BUILD/instruct" --bench --world "$out/heldout" --out "$out/bench" --n "$n_bench" --seed "$heldout_seed" || return
    "$BUILD/instruct" --mc --world "$out/heldout" --out "$out/mc" --n "$n_mc" --test "$n_test" --seed "$heldout_seed" || return
    # multiple-choice questions about the TRAINING world in the stage-2 mix, as LLaVA-1.5's mix has
    # ScienceQA/A-OKVQA-style "Answer with the option's letter" data: the answer format is learned here,
    # the held-out MC set above is never trained on
    "$BUILD/instruct" --mc --world "$out/world" --out "$out/mctrain" --n "$n_mctrain" --test "$n_mctrain" --seed "$seed" || return
    "$BUILD/eval_sqa" --data "$out/mctrain" --split test --to-llava "$out/data/mc.json" || return
    cp "$out/instruct/pretrain.json" "$out/data/stage1.json" || return
    if [ "$ablation" = convonly ]; then cp "$out/instruct/conversation.json" "$out/data/stage2.json"
    else cp "$out/instruct/instruct.json" "$out/data/stage2.json"; fi
}
phase data data

# --- tokenizer: trained on the world's captions and the instruction texts ---
# JSON string literals are pulled out with grep and unescaped with sed (the texts are ASCII: \n and \"
# are the only escapes the tools write); "<image>" is left out, it is a special token of its own.
# The template's fixed words are added as often as the training data renders them, so that they merge.
tokenizer() {
    {
        tr '\n' ' ' < "$out/world/world.json" | grep -o '"captions": \[[^]]*\]' | grep -o '"\([^"\\]\|\\.\)*"' |
            grep -v '^"captions"$' | sed 's/^"//; s/"$//'
        grep -h -o '"value": "\([^"\\]\|\\.\)*"' "$out/instruct/instruct.json" "$out/instruct/pretrain.json" |
            sed 's/^"value": "//; s/"$//; s/<image>//g; s/\\"/"/g; s/\\n/\
/g'
        awk 'BEGIN { for (i = 0; i < 2000; i++) {
            print "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user'"'"'s questions. USER: ASSISTANT:"
            print "Answer with the option'"'"'s letter from the given choices directly. A. B. C. D. E." } }'
    } | grep -v '^[[:space:]]*$' > "$out/corpus.txt" || return
    [ -s "$out/corpus.txt" ] || { echo "empty corpus" >&2; return 1; }
    mkdir -p "$out/tokenizer" || return
    "$BUILD/tokenize" --train "$out/corpus.txt" --vocab 2048 --special "<image>" --out "$out/tokenizer" || return
    grep -q '"content": *"<image>"' "$out/tokenizer/tokenizer.json" ||
        { echo "the trained vocabulary has no <image> token" >&2; return 1; }
}

# world0: the training world extended to n_world0 images (its first n_world are the training world's),
# for CLIP pretraining and the multiple-choice fine-tune; regenerated if its files were deleted
world0=$out/world
if [ "$n_world0" -gt "$n_world" ]; then
    world0=$out/world0
    if [ -z "$reuse" ] || [ "$mc_model" = 1 ]; then
        [ -f "$world0/world.json" ] || rm -f "$log/world0.done"
        phase world0 "$BUILD/world" --seed "$seed" --n "$n_world0" --out "$world0"
    fi
fi

# --- stage 0: or an earlier run's, for the same seed ---
if [ -n "$reuse" ]; then
    if [ -f "$reuse/s0/config.json" ]; then s0=$reuse/s0; else s0=$reuse; fi
    if [ -n "$lm" ]; then
        [ -f "$s0/config.json" ] || die "--reuse-stage0 $reuse: no model (config.json) there or in its s0/"
    else
        [ -f "$s0/config.json" ] && [ -f "$s0/tokenizer.json" ] ||
            die "--reuse-stage0 $reuse: no stage-0 model (config.json, tokenizer.json) there or in its s0/"
    fi
    echo "-- stage 0: reused from $s0"
else
    phase tokenizer tokenizer
    phase stage0_init "$BUILD/stage0" init --tokenizer "$out/tokenizer" --out "$out/s0init" --seed "$seed"
    # CLIP's images are world0. A tower this small learns shapes only from many more images than stages
    # 1-2 need: on the training world's 5,000 it overfits before it does (docs/reproduction.md,
    # "Shapes in the vision tower"). Half the texts are the colour-free view and a region loss ties each object's patches to
    # "a <colour> <shape>": every caption names colours, which alone tell a batch's images apart.
    phase stage0_clip "$BUILD/stage0" clip --model "$out/s0init" --world "$world0" --out "$out/s0clip" --steps "$clip_steps" \
        --batch "$clip_batch" --lr 1e-3 --shape-text 0.5 --pool mean --regions 1 --seed "$seed" --precision "$precision"
    # the language model: the world's text, and texts written twice (--repeats) from which it learns to
    # copy from its context, as a language model pretrained on natural text has (docs/reproduction.md, "What limits it");
    # with --lm only the tower is stage 0's
    if [ -n "$lm" ]; then
        s0=$out/s0clip
    else
        phase stage0_lm "$BUILD/stage0" lm --model "$out/s0clip" --world "$out/world" --instruct "$out/instruct/instruct.json" \
            --repeats "$repeats" --out "$out/s0" --steps "$lm_steps" --lr 3e-3 --seed "$seed" --precision "$precision"
        s0=$out/s0
    fi
fi

# the model stages 1-2 start from: stage 0's files, with the paper's vision feature layer (-2, the
# second to last) instead of stage 0's -1 (which trained every layer); a copy, so stage 0 stays reusable
start() {
    rm -rf "$out/start" && mkdir -p "$out/start" && cp -R "$s0/." "$out/start/" || return
    sed 's/"vision_feature_layer": *-\{0,1\}[0-9]*/"vision_feature_layer": '"$layer"'/' "$s0/config.json" > "$out/start/config.json" || return
    grep -q '"vision_feature_layer": '"$layer"'[,}[:space:]]' "$out/start/config.json" ||
        { echo "could not set vision_feature_layer in $out/start/config.json" >&2; return 1; }
}
layer=-2
[ "$ablation" = lastlayer ] && layer=-1
# (with --lm, train_example assembles the model from stage 0's tower and the language model instead)
[ -z "$lm" ] && phase start start

# --- stages 1 and 2 (train_example; --resume continues a stopped run from its last checkpoint) ---
stages=1,2 s1_arg="--steps1 $s1" s2_arg="--steps2 $s2"
[ "$ablation" = nostage1 ] && stages=2 s1_arg=
[ "$ablation" = noinstruct ] && stages=1 s2_arg=
# a checkpoint (model and optimizer state, to resume from) about every third of the longer stage; none in quick mode
save=$(( (s2 > s1 ? s2 : s1) / 3 + 1 ))
save_sqa=$((sqa_check / 3 + 1))
[ "$quick" = 1 ] && save=1000000 save_sqa=1000000
# train FROM...: train_example from the model its arguments name
# shellcheck disable=SC2086
train() {
    "$BUILD/train_example" "$@" --data "$out/data" --images "$out/world/images" --out "$out/train" \
        --stage2-data "$out/data/stage2.json,$out/data/mc.json" --template2 "$tpl" \
        --stages "$stages" $s1_arg $s2_arg --batch "$batch" --lr1 "$lr1" --lr2 "$lr2" --seed "$seed" \
        --save-every "$save" --log-every 25 --resume --precision "$precision"
}
if [ -n "$lm" ]; then phase train train --vision-tower "$s0" --lm "$lm" --vision-layer "$layer"
else phase train train --model "$out/start"; fi
final=$out/train/stage2/final
[ "$ablation" = noinstruct ] && final=$out/train/stage1/final

# --- the multiple-choice model: LLaVA's ScienceQA result is a model of its own, fine-tuned on ScienceQA's
# training questions, and so is this one. The stage-2 model is fine-tuned on questions about world0 in two
# steps: without their options, answered by the fact (eval_sqa --open), which teaches the reading; then
# with them, answered by the fact and a check of the options in order (eval_sqa --check), which gets a
# model this small from the fact to its letter (docs/reproduction.md, "From a fact to a letter"). It is a third of a run's time;
# a shorter fine-tune (1,000 + 2,000 steps) did not learn the check reliably. --no-mc-model leaves it out.
sqa() {
    "$BUILD/instruct" --mc --world "$world0" --out "$out/sqa/mc" --n "$n_sqa" --test "$n_sqa" --seed "$seed" || return
    "$BUILD/eval_sqa" --data "$out/sqa/mc" --split test --to-llava "$out/sqa/read.json" --open || return
    "$BUILD/eval_sqa" --data "$out/sqa/mc" --split test --to-llava "$out/sqa/check.json" --check || return
    rm -rf "$out/sqa/mc/images" || return # the samples name world0's images; the copies are not needed
    from=$final
    for step in read check; do
        if [ $step = read ]; then n=$sqa_read; else n=$sqa_check; fi
        "$BUILD/train_example" --model "$from" --data "$out/sqa" --stage2-data "$out/sqa/$step.json" --images "$world0/images" \
            --out "$out/sqa/$step" --stages 2 --steps2 "$n" --batch "$batch" --lr2 "$lr2" --seed "$seed" --template2 "$tpl" \
            --save-every "$save_sqa" --log-every 25 --resume --precision "$precision" || return
        from=$out/sqa/$step/stage2/final
    done
}
[ "$mc_model" = 1 ] && phase sqa sqa
sqa_model=$out/sqa/check/stage2/final

# --- evaluation ---
# a pretrained model's context (SmolLM2: 8,192) would give each of answer's workers a key-value cache of
# its length; the questions need a few hundred positions
ctx_arg=
[ -n "$lm" ] && ctx_arg="--ctx 1024"
# the held-out multiple-choice set as NAME_q.jsonl, MODEL's answers (at most MAX tokens) and their
# scores NAME.json: ask NAME MAX MODEL [--open | --no-suffix]
ask() {
    "$BUILD/eval_sqa" --data "$out/mc" --split test ${4:+"$4"} --prompts "$out/eval/$1_q.jsonl" || return
    "$BUILD/answer" --model "$3" --questions "$out/eval/$1_q.jsonl" --images "$out/mc" --out "$out/eval/$1_answers.jsonl" \
        --template "$tpl" --max-tokens "$2" --model-id "$ablation-seed$seed" $ctx_arg || return
    "$BUILD/eval_sqa" --data "$out/mc" --split test ${4:+"$4"} --predictions "$out/eval/$1_answers.jsonl" --json "$out/eval/$1.json"
}
eval_mc() {
    # the letter and EOS are all an answer needs; a longer output is cut (and still parsed as LLaVA does)
    ask mc 16 "$final" || return
    # the blind baseline: what the answer options alone score, from the training questions' answers
    "$BUILD/eval_sqa" --data "$out/mc" --split test --prior "$out/mctrain" --json "$out/eval/mc_blind.json"
}
# the multiple-choice model, asked as it was trained: without the suffix, room for the fact and the check
eval_mc_sqa() { ask sqa 160 "$sqa_model" --no-suffix; }
# the same questions without their options, scored by the choice the free answer names first: what
# the model reads from the image, apart from the step to the option's letter
eval_open() { ask open 24 "$final" --open; }
eval_bench() {
    "$BUILD/answer" --model "$final" --questions "$out/bench/questions.jsonl" --images "$out/bench/images" \
        --out "$out/eval/bench_answers.jsonl" --template "$tpl" --max-tokens 128 --model-id "$ablation-seed$seed" $ctx_arg || return
    "$BUILD/judge_offline" --questions "$out/bench/questions.jsonl" --context "$out/bench/context.jsonl" \
        --reference "$out/bench/answers_ref.jsonl" --answers "$out/eval/bench_answers.jsonl" \
        --out "$out/eval/bench_reviews.jsonl" --json "$out/eval/bench.json"
}
phase eval_mc eval_mc
[ "$mc_model" = 1 ] && phase eval_mc_sqa eval_mc_sqa
phase eval_open eval_open
phase eval_bench eval_bench

# --- summary and results.json ---
mcj=$out/eval/mc.json benchj=$out/eval/bench.json
num() { sed -n 's/.*"'"$1"'": \([-0-9.]*\).*/\1/p' "$2" | head -n 1; }
acc=$(num acc "$mcj") chance=$(num chance "$mcj") count=$(num count "$mcj") failed=$(num failed "$mcj")
blind=$(num acc "$out/eval/mc_blind.json") open=$(num acc "$out/eval/open.json")
cats() { sed -n 's/^ *"categories": \({.*}\),*$/\1/p' "$1"; }
cats=$(cats "$mcj") sqa= sqa_cats=
# (an earlier run's multiple-choice model in OUT is not this run's figure when it is left out)
[ "$mc_model" = 1 ] && [ -f "$out/eval/sqa.json" ] && sqa=$(num acc "$out/eval/sqa.json") sqa_cats=$(cats "$out/eval/sqa.json")
rel() { sed -n 's/.*"'"$1"'": {[^}]*"relative": \([-0-9.]*\)}.*/\1/p' "$benchj"; }
# the loss of each stage: mean of its first and of its last quarter of steps
losses=$(awk -F, 'NR > 1 { n[$1]++; l[$1, n[$1]] = $3 }
    END { sep = ""; for (s = 1; s <= 2; s++) { if (!n[s]) continue; q = int(n[s] / 4); if (q < 1) q = 1; a = 0; b = 0
        for (i = 1; i <= q; i++) { a += l[s, i]; b += l[s, n[s] - q + i] }
        printf "%s\"stage%d\": {\"steps\": %d, \"first_quarter\": %.4f, \"last_quarter\": %.4f}", sep, s, n[s], a / q, b / q; sep = ", " } }' \
    "$out/train/loss.csv")
# the backend train_example reported: cpu (f32), cpu-bf16 (emulated) or cpu-bf16-amx
products=$(sed -n 's/^stage [12]: .*, template [^,]*, \([a-z0-9-]*\)$/\1/p' "$log/train.log" | head -n 1)
total=$(($(now) - T_START))
tjson=$(echo "$times" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); printf "%s\"%s\": %s", (i > 1 ? ", " : ""), kv[1], kv[2] } }')
cat > "$out/results.json" <<EOF
{
  "seed": $seed, "quick": $([ "$quick" = 1 ] && echo true || echo false), "ablation": "$ablation",
  "lm": "$([ -n "$lm" ] && basename "$lm")", "template": "$tpl", "lr2": $lr2,
  "stage0": "$s0", "stage0_reused": $([ -n "$reuse" ] && echo true || echo false), "model": "$final",
  "precision": "$precision", "products": "$products",
  "steps": {"clip": $clip_steps, "clip_batch": $clip_batch, "lm": $([ -n "$lm" ] && echo 0 || echo "$lm_steps"), "stage1": $([ "$ablation" = nostage1 ] && echo 0 || echo "$s1"), "stage2": $([ "$ablation" = noinstruct ] && echo 0 || echo "$s2"), "sqa_read": $([ "$mc_model" = 1 ] && echo "$sqa_read" || echo 0), "sqa_check": $([ "$mc_model" = 1 ] && echo "$sqa_check" || echo 0), "batch": $batch},
  "mc_acc": ${acc:-null},
  "mc_chance": ${chance:-null},
  "mc_blind": ${blind:-null},
  "mc_open": ${open:-null},
  "mc_count": ${count:-null}, "mc_failed": ${failed:-null},
  "mc_categories": ${cats:-null},
  "mc_sqa": ${sqa:-null},
  "mc_sqa_categories": ${sqa_cats:-null},
  "bench_relative": {"conv": $(rel conv), "detail": $(rel detail), "complex": $(rel complex), "all": $(rel all)},
  "bench": $(cat "$benchj"),
  "loss": {$losses},
  "time_s": {$tjson},
  "total_s": $(echo "$times" | awk '{ s = 0; for (i = 1; i <= NF; i++) { split($i, kv, "="); s += kv[2] } print s }'),
  "wall_s": $total
}
EOF

echo
echo "== results ($ablation, seed $seed$([ "$quick" = 1 ] && echo ', quick')): $out/results.json"
echo "multiple choice, the stage-2 model asked for the letter: $acc% of $count held-out questions (chance $chance%, blind baseline $blind%; no letter in $failed answers)"
echo "the same questions without options, free answers naming the right choice first: $open%"
percats() { awk '{ while (match($0, /"[^"]*": [{]"count": [0-9]+, "correct": [0-9]+, "acc": [0-9.]+[}]/)) {
    e = substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH); split(e, f, /[":,{} ]+/)
    printf "  %-9s %6.2f%% (%d of %d)\n", f[2] ":", f[8], f[6], f[4] } }'; }
echo "$cats" | percats
if [ -n "$sqa" ]; then
    echo "the multiple-choice model (the stage-2 model fine-tuned on questions about world0): $sqa%"
    echo "$sqa_cats" | percats
fi
echo "training's matrix products (--precision $precision): $products"
echo "offline judge, relative score: conv $(rel conv), detail $(rel detail), complex $(rel complex), all $(rel all)"
echo "training loss (first quarter -> last quarter): $(echo "$losses" | sed 's/"\(stage[12]\)": {"steps": \([0-9]*\), "first_quarter": \([0-9.]*\), "last_quarter": \([0-9.]*\)}/\1 \3 -> \4 (\2 steps)/g')"
echo "seconds per phase:$times; this invocation $total"
