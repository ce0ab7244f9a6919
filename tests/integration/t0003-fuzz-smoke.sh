#!/usr/bin/env bash
# t0003-fuzz-smoke.sh - a short libFuzzer run (10 s) of each decoder
# harness built by `make fuzz-build`; `make fuzz` runs them longer.
# Each starts from seeds written here from the golden vectors
# (tests/vectors) and small valid inputs, so that ten seconds reach past
# the magic numbers.  Emits TAP; skips when clang-14 was not available.
set -u
dir=${FEDSYN_FUZZERS:-build/fuzz/fuzzers}
secs=${FEDSYN_FUZZ_SMOKE_SECONDS:-10}
shopt -s nullglob
fuzzers=("$dir"/fuzz_*)
if [[ ${#fuzzers[@]} -eq 0 ]]; then
    echo "1..0 # SKIP no fuzzers in $dir (clang-14 missing: make deps)"
    exit 0
fi
dir=$(cd "$dir" && pwd)
fuzzers=("$dir"/fuzz_*)
tmp=$(mktemp -d /tmp/fedsyn-t0003-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
# seeds: NAME of a harness, then its files
/usr/bin/python3 - "$here/../vectors" "$tmp" <<'PY'
import os, struct, sys
vec, out = sys.argv[1], sys.argv[2]
def load(name):
    return bytes.fromhex("".join(l.strip() for l in open(os.path.join(vec, name + ".hex"))
                                 if not l.startswith("#")))
def seed(harness, name, data):
    os.makedirs(os.path.join(out, harness), exist_ok=True)
    open(os.path.join(out, harness, name), "wb").write(data)
for i, v in enumerate(["wire-hello", "wire-block", "wire-syncrep"]):
    seed("fuzz_wire", v, bytes([i]) + load(v))
# the witness messages (docs/wire.md types 8-10), and a sync reply ending
# with a certificate of one vote
blk = load("wire-block")
seed("fuzz_wire", "wire-syncrep-cert", bytes([2]) + load("wire-syncrep") +
     struct.pack("<IH", 1, 1) + bytes(96))
seed("fuzz_wire", "wire-propose", bytes([3]) + struct.pack("<I", 2) + bytes(64) + blk)
seed("fuzz_wire", "wire-motion", bytes([6, 1]) + struct.pack("<Q", 9) + bytes([4]) + b"dave" +
     bytes(96) + struct.pack("<H", 1) + bytes(96))
seed("fuzz_wire", "wire-vote", bytes([4]) + struct.pack("<QI", 5, 1) + bytes(32 + 32 + 64))
seed("fuzz_wire", "wire-promise", bytes([5]) + struct.pack("<QI", 5, 1) + bytes(32) +
     struct.pack("<I", 0) + bytes(32 + 64) + blk)
for v in ["genesis", "block-1", "block-2"]:
    seed("fuzz_block", v, load(v))
seed("fuzz_envelope", "envelope", load("envelope"))
seed("fuzz_idx", "images", struct.pack(">I3I", 0x803, 2, 2, 2) + bytes(range(8)))
seed("fuzz_idx", "labels", struct.pack(">II", 0x801, 3) + bytes([1, 2, 3]))
seed("fuzz_config", "node.zpl", b"""node
    name = alice
    keys = keys/alice
    dir = state/alice
    listen = tcp://127.0.0.1:7101
federation
    genesis = ledger.fsl
    model = "cgan:32"
peers
    bob = tcp://127.0.0.1:7102
data
    dataset = mnist
    labels = 0,1,2
train
    batch = 64
""")
PY
echo "1..${#fuzzers[@]}"
n=0
for f in "${fuzzers[@]}"; do
    n=$((n + 1))
    name=$(basename "$f")
    mkdir -p "$tmp/$name"
    if (cd "$tmp" && "$f" -max_total_time="$secs" -rss_limit_mb=2048 "$tmp/$name" >"$tmp/log" 2>&1); then
        echo "ok $n - $name: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$tmp/log" | tail -1 || true)$(tail -1 "$tmp/log" | sed 's/^/ /')"
    else
        echo "not ok $n - $name found a crash"
        tail -20 "$tmp/log" | sed 's/^/# /'
    fi
done
