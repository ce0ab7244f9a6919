#!/usr/bin/env bash
# central.sh - the central GAN on all of MNIST (issue 2's reference and the
# FedSyn paper's): trains the paper's DCGAN (width 128, batch 256, Adam 2e-4,
# beta1 0.5) with a checkpoint and a sample grid after every epoch, then
# scores every checkpoint with `fedsyn eval` (10,000 samples: FID against the
# real test set, its floor and ceiling, label coverage) and writes
# DIR/table.md.  Training stops on Ctrl-C with a saved model; run it again
# with the same DIR to score what is there (scores already made are kept).
# When DIR already holds a run, training goes on up to --epochs in total:
# exactly where it stopped from DIR/gan.fsm (rewritten with the trainer's
# state after every epoch and on Ctrl-C), else from the latest epoch's
# weights (runs from before that state existed), so a run cut short (a
# session's end) goes on where it stopped.  --model cdcgan trains the same
# GAN conditioned on the labels instead (beyond the paper; its scores add
# CAS and the share of samples the evaluator files under their own label);
# --init CKPT starts it from a trained unconditional checkpoint.
#   usage: scripts/experiments/central.sh DIR [--epochs N] [--eval-only]
#          [--n SAMPLES] [--threads T] [--model dcgan|cdcgan] [--init CKPT]
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,17p' "$0"; exit 0; }
dir=${1:?usage: scripts/experiments/central.sh DIR [--epochs N] [--eval-only] [--n SAMPLES]}
shift
epochs=10 eval_only=0 n=10000 threads=2 model=dcgan init=()
while (($#)); do
    case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --eval-only) eval_only=1; shift ;;
    --n) n=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --init) init=(--init "$2"); shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "central.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
mkdir -p "$dir"
# a private copy of the binary, taken afresh at each start (by rename, so a
# copy still running is not disturbed): rebuilding build/ during a long
# run changes nothing there
cp "${FEDSYN:-build/fedsyn}" "$dir/fedsyn.new" && mv -f "$dir/fedsyn.new" "$dir/fedsyn"
FEDSYN=$dir/fedsyn
[[ -f evaluators/mnist.fsm ]] ||
    { echo "central.sh: no evaluators/mnist.fsm: run 'build/fedsyn evaluator train --dataset mnist'" >&2; exit 2; }
if ((!eval_only)); then
    done_epochs=0 resume=()
    for f in "$dir"/gan.epoch*.fsm; do
        [[ -f $f ]] || continue
        e=${f##*.epoch}; e=${e%.fsm}
        ((e > done_epochs)) && done_epochs=$e
    done
    if [[ -f $dir/gan.fsm ]] && { ((done_epochs == 0)) || [[ ! $dir/gan.epoch$done_epochs.fsm -nt $dir/gan.fsm ]]; }; then
        resume=(--resume "$dir/gan.fsm")
    elif ((done_epochs > 0)); then
        resume=(--resume "$dir/gan.epoch$done_epochs.fsm")
    fi
    # --init only starts a run: one under way goes on from its own state
    ((${#resume[@]})) && init=()
    rc=0
    if ((done_epochs >= epochs)); then
        echo "central.sh: $dir already holds epoch $done_epochs of $epochs: scoring only" >&2
    else
        echo "central.sh: training up to epoch $epochs into $dir${resume:+ from ${resume[1]}} (progress in $dir/train.log)" >&2
        echo "central.sh: $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')" >> "$dir/train.log"
        "$FEDSYN" train --model "$model" --dataset mnist --to-epoch "$epochs" "${resume[@]}" "${init[@]}" \
            --checkpoint-every 1 --threads "$threads" \
            --out "$dir/gan.fsm" --grid "$dir/final.png" 2>> "$dir/train.log" || rc=$?
    fi
    # 130: stopped by Ctrl-C, which saves; score what is there either way
    ((rc == 0 || rc == 130)) || echo "central.sh: training failed (exit $rc, see $dir/train.log); scoring the checkpoints there are" >&2
fi
for f in "$dir"/gan.epoch*.fsm; do
    [[ -f $f ]] || continue
    e=${f##*.epoch}; e=${e%.fsm}
    [[ -s $dir/eval.epoch$e.json ]] && continue
    echo "central.sh: scoring epoch $e ($n samples)" >&2
    "$FEDSYN" eval --model "$f" --n "$n" --json > "$dir/eval.epoch$e.json.tmp" 2> "$dir/eval.epoch$e.log"
    mv "$dir/eval.epoch$e.json.tmp" "$dir/eval.epoch$e.json"
done
python3 - "$dir" <<'PY'
import glob, json, os, re, sys
d = sys.argv[1]
rows = []
for f in glob.glob(os.path.join(d, "eval.epoch*.json")):
    e = int(re.search(r"epoch(\d+)\.json$", f).group(1))
    rows.append((e, json.load(open(f))))
rows.sort()
# a conditional GAN's scores also have the label agreement and true-label CAS
cond = any(r.get("label_agreement") is not None for _, r in rows)
extra_h = " label agreement | CAS |" if cond else ""
out = ["| epoch | FID vs test | classes (share >= 2%) | entropy | TV from real | confident (p >= 0.9) |"
       + extra_h + " class shares 0..9 |",
       "|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if cond else "") + "---|"]
for e, r in rows:
    c = r["coverage"]
    extra = ""
    if cond:
        a, cas = r.get("label_agreement"), r.get("cas")
        extra = (f" {100 * a:.1f}% |" if a is not None else " - |") + \
                (f" {100 * cas['accuracy']:.1f}% |" if cas else " - |")
    out.append(f"| {e} | {r['fid_test']:.1f} | {c['classes_present']} | {c['entropy']:.2f} | "
               f"{c['tv_from_real']:.2f} | {100 * c['confident']:.1f}% |" + extra + " "
               + " ".join(f"{s:.2f}".lstrip("0") for s in c["share"]) + " |")
if rows:
    r = rows[-1][1]
    out.append("")
    out.append(f"{r['samples']} samples per score; FID floor (real train vs test) "
               f"{r['fid_floor_train_vs_test']:.2f}, ceiling (uniform noise vs test) "
               f"{r['fid_ceiling_noise_vs_test']:.1f}; evaluator {r['evaluator']}.")
open(os.path.join(d, "table.md"), "w").write("\n".join(out) + "\n")
print("\n".join(out))
# the curve: FID (left axis) and the confident share (right) per epoch
with open(os.path.join(d, "curve.dat"), "w") as f:
    f.write("# epoch  fid_test  confident_percent  classes\n")
    for e, r in rows:
        c = r["coverage"]
        f.write(f"{e} {r['fid_test']:.4f} {100 * c['confident']:.2f} {c['classes_present']}\n")
PY
if command -v gnuplot > /dev/null; then
    gnuplot <<EOF
set terminal png size 900,520
set output '$dir/curve.png'
set xlabel 'epoch (234 iterations of batch 256)'
set ylabel 'FID vs real test set (evaluator features)'
set y2label 'samples the evaluator calls with p >= 0.9 (%)'
set ytics nomirror
set y2tics
set key below
set grid
set title 'central FedSyn GAN on all of MNIST ($dir)'
plot '$dir/curve.dat' using 1:2 with linespoints lw 2 title 'FID vs test', \\
     '$dir/curve.dat' using 1:3 axes x1y2 with linespoints dt 2 lw 2 title 'confident share (right axis)'
EOF
    echo "central.sh: $dir/table.md, $dir/curve.png" >&2
else
    echo "central.sh: gnuplot missing (apt-get install gnuplot-nox): no curve.png; data in $dir/curve.dat" >&2
fi
