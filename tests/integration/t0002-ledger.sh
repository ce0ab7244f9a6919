#!/usr/bin/env bash
# t0002-ledger.sh - identities and the ledger as a user audits them: keygen
# (file modes, public line, refusal to overwrite), ledger init, verify, show
# and export; an independent PyNaCl verifier (docs/ledger.md) agreeing with
# fedsyn on valid and damaged ledgers; a torn tail; equivocation evidence.
# Emits TAP.
set -u
FEDSYN=${FEDSYN:-build/fedsyn}
TOOLS=${FEDSYN_TOOLS:-build/tools}
RUN="${FEDSYN_WRAP:-} $FEDSYN"
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/fedsyn-t0002-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$tmp/err" "$tmp/out" 2>/dev/null | tail -6; }
check() { # description, then command
    local d=$1; shift
    if "$@" >"$tmp/out" 2>"$tmp/err"; then ok "$d"; else not_ok "$d"; fi
}
fails_with() { # description, exit code, message fragment, command...
    local d=$1 want=$2 frag=$3; shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    if [[ $rc -eq $want ]] && grep -q -- "$frag" "$tmp/out" "$tmp/err"; then ok "$d"; else not_ok "$d (rc $rc)"; fi
}
PY=/usr/bin/python3

echo "1..31"
check "keygen --help and ledger --help" bash -c "$RUN keygen --help | grep -q usage && $RUN ledger --help | grep -q verify"
for x in a b c; do $RUN keygen --dir "$tmp/keys/$x" >"$tmp/$x.pub" 2>"$tmp/err"; done
check "keygen writes a 0600 secret and a 0700 directory" \
    bash -c "[[ \$(stat -c %a $tmp/keys/a/identity.secret) == 600 && \$(stat -c %a $tmp/keys/a) == 700 ]]"
check "keygen prints the public line of identity.pub" cmp -s "$tmp/a.pub" "$tmp/keys/a/identity.pub"
check "keygen writes the CurveZMQ certificate" test -s "$tmp/keys/a/curve.cert_secret"
fails_with "keygen refuses to replace an identity" 2 "refusing to replace" $RUN keygen --dir "$tmp/keys/a"
chmod 644 "$tmp/keys/b/identity.secret"
fails_with "a secret readable by others is refused with the fix" 2 "chmod 600" \
    $RUN ledger init --key "$tmp/keys/b" --out "$tmp/x.fsl"
chmod 600 "$tmp/keys/b/identity.secret"
check "ledger init founds a federation of three" \
    $RUN ledger init --key "$tmp/keys/a" --member "$tmp/keys/b/identity.pub" \
        --member "$tmp/keys/c/identity.pub" --width 16 --noise laplace-clipped --clip 0.1 \
        --scale 0.01 --out "$tmp/fed.fsl"
check "ledger verify accepts the new ledger" bash -c "$RUN ledger verify $tmp/fed.fsl | grep -q 'valid, 1 block (genesis + 0 rounds), 3 active members'"
fails_with "ledger init never replaces a ledger" 2 "refusing to replace" \
    $RUN ledger init --key "$tmp/keys/a" --out "$tmp/fed.fsl"
check "a genesis with a server step: show and export name it, the PyNaCl verifier accepts it" \
    bash -c "$RUN ledger init --key $tmp/keys/a --member $tmp/keys/b/identity.pub --model cgan:8 \
               --server-lr 2 --out $tmp/slr.fsl && $RUN ledger show $tmp/slr.fsl |
             grep -q 'server step 2 on the averaged update' && $RUN ledger export --json $tmp/slr.fsl |
             grep -q '\"server_lr\": 2, \"request_window\": 64, \"finality\": \"majority\"}' && $PY $HERE/verify_ledger.py $tmp/slr.fsl"
check "the request window: 64 rounds unless told, 0 writes none; show, export and PyNaCl agree" \
    bash -c "$RUN ledger show $tmp/slr.fsl | grep -q 'join/leave requests valid for 64 rounds' &&
             $RUN ledger init --key $tmp/keys/a --member $tmp/keys/b/identity.pub --model cgan:8 \
               --request-window 0 --out $tmp/nowin.fsl && $RUN ledger show $tmp/nowin.fsl |
             grep -q 'join/leave requests without a window' && $RUN ledger export --json $tmp/nowin.fsl |
             grep -q '\"server_lr\": 1, \"request_window\": 0, \"finality\": \"signed\"}' && $PY $HERE/verify_ledger.py $tmp/nowin.fsl &&
             $RUN ledger init --key $tmp/keys/a --member $tmp/keys/b/identity.pub --model cgan:8 \
               --request-window 5 --out $tmp/win5.fsl && $PY $HERE/verify_ledger.py $tmp/win5.fsl &&
             $RUN ledger export --json $tmp/win5.fsl | grep -q '\"server_lr\": 1, \"request_window\": 5, \"finality\": \"majority\"}'"
check "majority-witnessed blocks by default (--finality signed: the old rule); show, export and PyNaCl agree; no window refused" \
    bash -c "$RUN ledger init --key $tmp/keys/a --member $tmp/keys/b/identity.pub --model cgan:8 \
               --finality signed --out $tmp/sig.fsl && $RUN ledger export --json $tmp/sig.fsl |
             grep -q '\"finality\": \"signed\"}' && $PY $HERE/verify_ledger.py $tmp/sig.fsl &&
             $RUN ledger init --key $tmp/keys/a --member $tmp/keys/b/identity.pub --model cgan:8 \
               --out $tmp/maj.fsl && $RUN ledger show $tmp/maj.fsl |
             grep -q 'final once a majority of the members witness it' &&
             $RUN ledger export --json $tmp/maj.fsl | grep -q '\"finality\": \"majority\"}' &&
             $PY $HERE/verify_ledger.py $tmp/maj.fsl && ! $RUN ledger init --key $tmp/keys/a \
               --member $tmp/keys/b/identity.pub --finality majority --request-window 0 \
               --out $tmp/maj0.fsl 2> $tmp/maj0.err && grep -q 'need a request window' $tmp/maj0.err &&
             ! $RUN ledger init --key $tmp/keys/a --finality most --out $tmp/maj1.fsl 2> $tmp/maj1.err &&
             grep -q 'finality is majority or signed' $tmp/maj1.err"
check "verify of two federations founded by one key says so, with both ids (no equivocation)" \
    bash -c "! $RUN ledger verify $tmp/fed.fsl $tmp/slr.fsl > $tmp/two.out 2>&1 &&
             grep -q 'DIFFERENT FEDERATIONS' $tmp/two.out && [[ \$(grep -c ': federation [0-9a-f]\{64\}' $tmp/two.out) == 2 ]] &&
             ! grep -q EQUIVOCATION $tmp/two.out"
fails_with "ledger init refuses a server step out of range, naming it" 2 "server-lr" \
    $RUN ledger init --key "$tmp/keys/a" --server-lr 11 --out "$tmp/slr11.fsl"

# a ledger of 12 rounds made by the test helper (fixed-seed identities)
"$TOOLS/mkledger" "$tmp/l.fsl" 4 12 2
check "ledger verify: valid ledger of 12 rounds" bash -c "$RUN ledger verify $tmp/l.fsl | grep -q 'valid, 13 blocks'"
check "ledger show prints one line per round with epsilon" \
    bash -c "$RUN ledger show $tmp/l.fsl > $tmp/show && [[ \$(grep -c -E '^ +[0-9]+  20' $tmp/show) == 12 ]] && grep -q deadline $tmp/show"
check "ledger show gives the whole federation id a joiner needs (export's fed_id)" \
    bash -c "id=\$($RUN ledger export --json $tmp/l.fsl | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"blocks\"][0][\"fed_id\"])') &&
             $RUN ledger show $tmp/l.fsl | grep -q \"^id \$id \""
check "ledger export --json is JSON with signed bytes" \
    bash -c "$RUN ledger export --json $tmp/l.fsl | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d[\"blocks\"])==13 and all(\"signed_bytes\" in b for b in d[\"blocks\"])'"
check "the PyNaCl verifier written from docs/ledger.md accepts it" $PY "$HERE/verify_ledger.py" "$tmp/l.fsl"
# the golden vectors (tests/vectors, docs/wire.md), read from outside
VEC="$HERE/../vectors"
check "the PyNaCl verifier accepts the golden vectors (signatures, ids, envelope decrypted)" \
    bash -c "$PY $HERE/verify_ledger.py --vectors $VEC | grep -q 'vectors ok 10 files'"
check "fedsyn ledger verify reads the golden ledger vector" \
    bash -c "grep -v '^#' $VEC/ledger.hex | $PY -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read()))' > $tmp/vec.fsl && $RUN ledger verify $tmp/vec.fsl | grep -q 'valid, 3 blocks'"
mkdir -p "$tmp/badvec" && cp "$VEC"/*.hex "$tmp/badvec/"
sed -i '12s/^./0/' "$tmp/badvec/envelope.hex" # a ciphertext byte of the update
fails_with "the PyNaCl verifier refuses a vector with one byte changed" 1 "signature does not verify" \
    $PY "$HERE/verify_ledger.py" --vectors "$tmp/badvec"
check "privacy: the scale solved for a target epsilon spends exactly it after R rounds" \
    bash -c "$RUN privacy --noise gaussian-clipped --clip 1 --target-eps 8 --rounds 20 | grep -E '^ +20 ' | grep -qE ' 8\$'"
fails_with "privacy: an unknown mechanism is a usage error" 2 "expected laplace-clipped" \
    $RUN privacy --noise laplacian --clip 1 --scale 1
# the Gaussian mechanism's RDP figures, recomputed by the independent verifier
"$TOOLS/mkledger" "$tmp/g.fsl" 3 6 3
check "a gaussian-clipped ledger: show prints basic and tight totals, the PyNaCl verifier agrees" \
    bash -c "$RUN ledger show $tmp/g.fsl | grep -q gaussian-clipped && $PY $HERE/verify_ledger.py $tmp/g.fsl"

# damage in the middle: one byte of block 5's prev_hash
size5=$($PY - "$tmp/l.fsl" <<'PY'
import sys
d = open(sys.argv[1], "rb").read(); o = 16
for i in range(5):
    o += int.from_bytes(d[o:o+4], "little") + 8
print(o + 4 + 84 + 8)   # record start + length field + sigmsg header + time_ms
PY
)
cp "$tmp/l.fsl" "$tmp/bad.fsl"
printf '\xff' | dd of="$tmp/bad.fsl" bs=1 seek="$size5" conv=notrunc status=none
fails_with "a damaged middle block: exit 1 naming block 5" 1 "block 5" $RUN ledger verify "$tmp/bad.fsl"
fails_with "the PyNaCl verifier refuses it too" 1 "block 5" $PY "$HERE/verify_ledger.py" "$tmp/bad.fsl"
cmp -s "$tmp/l.fsl" "$tmp/bad.fsl" && not_ok "verify must not repair" || ok "verify leaves the damaged file for inspection"

# a torn tail: verify fails (exit 1) unless told it is acceptable
size=$(stat -c %s "$tmp/l.fsl")
head -c $((size - 30)) "$tmp/l.fsl" > "$tmp/torn.fsl"
fails_with "a torn tail: exit 1, naming it" 1 "has a torn tail" $RUN ledger verify "$tmp/torn.fsl"
fails_with "a torn tail with --allow-torn-tail: exit 0 with a warning" 0 "torn tail" $RUN ledger verify --allow-torn-tail "$tmp/torn.fsl"

# equivocation: same genesis, different block 1 from the same aggregator
"$TOOLS/mkledger" "$tmp/e1.fsl" 3 2 2 0
"$TOOLS/mkledger" "$tmp/e2.fsl" 3 2 2 1
fails_with "two ledgers with one round signed twice: equivocation evidence" 1 "EQUIVOCATION: block 1" \
    $RUN ledger verify "$tmp/e1.fsl" "$tmp/e2.fsl"
