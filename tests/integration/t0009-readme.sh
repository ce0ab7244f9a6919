#!/usr/bin/env bash
# t0009-readme.sh - README's commands, verbatim, in a fresh copy of the
# tree (what `git clone` gives: the tracked files and the new ones git does
# not ignore; no runs/, data/ or nodes/), with tiny settings.
#
# Each command line of README's code blocks that starts with build/fedsyn
# or scripts/federation.sh runs exactly as written, in README's order, from
# the copy's root, with options appended that shrink the work (fewer
# images, iterations and samples; a later option wins) and that never name
# a different file.  The data are a small MNIST-shaped fixture written
# into data/mnist, since `make data` needs the network.  Skipped, with the
# reason printed: lines with a placeholder ("..."), the long experiments,
# and the commands that need a node configuration README does not make
# (docs/operations.md's commands are t0008's, run there verbatim).
# Emits TAP.
set -u
FEDSYN=${FEDSYN:-build/fedsyn}
cd "$(dirname "$0")/../.."
ROOT=$PWD
tmp=$(mktemp -d /tmp/fedsyn-t0009-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$tmp/err" 2>/dev/null | tail -8; }
skip() { n=$((n + 1)); echo "ok $n # skip $1"; }

# README's command lines (continuations joined, comments cut), one per line
/usr/bin/python3 - "$ROOT/README.md" >"$tmp/commands" <<'EOF'
import re, sys
lines, block, cmd = [], False, ""
for raw in open(sys.argv[1], encoding="utf-8"):
    line = raw.rstrip("\n")
    if line.startswith("```"):
        block = not block
        continue
    if not block:
        continue
    if cmd:
        cmd += " " + line.strip()
    elif re.match(r"(build/fedsyn|scripts/federation\.sh) ", line):
        cmd = line.strip()
    else:
        continue
    if cmd.endswith("\\"):
        cmd = cmd[:-1].rstrip()
        continue
    cmd = re.sub(r"\s+#\s.*$", "", cmd)  # a trailing comment
    print(cmd)
    cmd = ""
EOF
count=$(wc -l <"$tmp/commands")
echo "1..$((count + 2))"

# the copy: what a clone holds, plus this tree's build (make then has
# nothing to do but what a clone's make does for its own commit)
copy=$tmp/clone
mkdir -p "$copy"
(git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$copy") 2>"$tmp/err"
if [[ -d $copy/node && ! -e $copy/runs && ! -e $copy/data ]]; then
    ok "a fresh copy of the tree: no runs/, no data/ ($(git ls-files | wc -l) tracked files)"
else not_ok "the copy of the tree"; fi
bdir=$(cd "$(dirname "$FEDSYN")" && pwd) # the build folder of the binary under test
if [[ $bdir == "$ROOT/build" ]]; then
    cp -a "$bdir" "$copy/build.tmp" && rm -rf "$copy/build" &&
        mv "$copy/build.tmp" "$copy/build" && find "$copy/build" -exec touch {} +
    if (cd "$copy" && make >"$tmp/make.out" 2>"$tmp/err") && [[ -x $copy/build/fedsyn ]]; then
        ok "README's first step, make, in the copy"
    else not_ok "make in the copy"; fi
else
    # another build (check-asan's): its objects carry other flags, which the
    # copy's plain make would mix with its own; the commands run its binary
    mkdir -p "$copy/build" && cp "$FEDSYN" "$copy/build/fedsyn"
    skip "make in the copy: the binary under test is not the default build ($FEDSYN)"
fi
/usr/bin/python3 "$ROOT/tests/integration/bars_fixture.py" "$copy/data/mnist" 1000 1
/usr/bin/python3 "$ROOT/tests/integration/bars_fixture.py" "$tmp/t10k" 300 2
mv "$tmp/t10k/train-images-idx3-ubyte" "$copy/data/mnist/t10k-images-idx3-ubyte"
mv "$tmp/t10k/train-labels-idx1-ubyte" "$copy/data/mnist/t10k-labels-idx1-ubyte"

# the options that shrink each command's work (appended: the last one wins)
tiny() {
    case "$1" in
        "build/fedsyn evaluator train "*) echo "--epochs 1 --limit 400" ;;
        # (not --width: README's cdcgan --init needs runs/gan.fsm at its width)
        "build/fedsyn train "*) echo "--limit 200 --iters 2 --batch 16" ;;
        "build/fedsyn eval "*) echo "--n 200 --cas-epochs 1" ;;
        "build/fedsyn fedsim "*) echo "--rounds 2 --local-iters 2 --batch 16 --score-samples 100" ;;
        "build/fedsyn ledger init "*) echo "--model dcgan:8" ;;
        "scripts/federation.sh run "*) echo "--rounds 1 --local-iters 2 --batch 16 --limit 300 --width 4 --port 7600" ;;
        *) echo "" ;;
    esac
}
reason() {
    case "$1" in
        *"..."*) echo "a placeholder ('...') in the line" ;;
        *nodes/alice.zpl*) echo "needs a node configuration README does not make (t0008 runs docs/operations.md's)" ;;
        *) echo "" ;;
    esac
}

while IFS= read -r cmd; do
    why=$(reason "$cmd")
    if [[ -n $why ]]; then skip "$cmd: $why"; continue; fi
    extra=$(tiny "$cmd")
    # keys/b and keys/c: README's founding block names them as the other
    # institutions' public lines, which reach the founder from elsewhere
    if [[ $cmd == "build/fedsyn ledger init "* ]]; then
        for k in b c; do (cd "$copy" && build/fedsyn keygen --dir keys/$k >/dev/null 2>&1); done
    fi
    # as a user's shell runs them: no FEDSYN from the test harness
    if (cd "$copy" && unset FEDSYN && eval "$cmd $extra" >"$tmp/out" 2>"$tmp/err"); then ok "$cmd"
    else
        rc=$?
        echo "# exit $rc: $cmd $extra" >>"$tmp/err"
        not_ok "$cmd"
    fi
done <"$tmp/commands"
exit $((fails > 0))
