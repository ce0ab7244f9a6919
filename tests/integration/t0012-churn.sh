#!/usr/bin/env bash
# t0012-churn.sh - one history over lossy, slow links and through churn
# (issue 19 item 8): five nodes, each in its own network namespace with its
# own address (tests/integration/netns.sh), `--finality majority`.  First
# the links lose packets and slow down: every node's outgoing packets are
# delayed by tc netem where the kernel has it, else held to a narrow rate by
# a token bucket (tbf), and a share of them is dropped at random (netem's
# loss, else an nftables rule).  Then, for many rounds, members come and go
# as they do in practice: one leaves by `fedsyn node leave`, one crashes
# (SIGKILL), one is stopped (SIGTERM); one away for two rounds is evicted,
# and each comes back and asks to join again, at most two away at a time.
# At the end every ledger must be one history, valid for fedsyn and for the
# independent PyNaCl verifier, and every block any node held at any moment
# must still be in its ledger (nothing final is lost).  The figures (blocks
# per second with and without loss, the leaves and joins recorded) are
# printed as TAP comments.  Needs root and `ip netns`; skips with the
# reason otherwise.  FEDSYN_T0012_SEED picks the order of the churn,
# FEDSYN_T0012_LOSS the share of packets lost (percent, default 5).
# Emits TAP.
set -u
FEDSYN=${FEDSYN:-build/fedsyn}
FEDSYN=$(cd "$(dirname "$FEDSYN")" && pwd)/$(basename "$FEDSYN")
export FEDSYN
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FED="$ROOT/scripts/federation.sh"
. "$ROOT/tests/integration/netns.sh"
S=${FEDSYN_TEST_SLOW:-1}
LOSS=${FEDSYN_T0012_LOSS:-5}
PLAN=8
echo "1..$PLAN"
skip_all() { for i in $(seq 1 $PLAN); do echo "ok $i # skip $1"; done; exit 0; }
[[ $(id -u) == 0 ]] || skip_all "needs root for network namespaces"
command -v ip >/dev/null || skip_all "no ip command (iproute2)"
command -v tc >/dev/null || skip_all "no tc command (iproute2)"
tag=fs12$$
names=(alice bob carol dave erin)
. "$ROOT/tests/integration/harness.sh"
tap_cleanup_hook() { netns_delete "${names[@]}"; }
tap_begin t0012

netns_create "${names[@]}"
/usr/bin/python3 "$ROOT/tests/integration/bars_fixture.py" "$tmp/data" 500 1
"$FED" init "$f" --nodes 5 --data "$tmp/data" --width 4 --rounds 0 --local-iters 1 --batch 16 \
    --timeout-ms $((2000 * S)) --attempt-extra-ms 500 --inactive-after 2 --quorum 1 \
    --port 7700 >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
netns_readdress 7700 5
netns_wrapper "$tmp/wrap"
FEDSYN_WRAP=$tmp/wrap "$FED" start "$f" 2>>"$tmp/start.err"

# blocks a node appends in T seconds
rate() { local a b; a=$(ledger_height "$1"); sleep "$2"; b=$(ledger_height "$1"); echo $((b - a)); }
if wait_height 3 $((60 * S)) "${names[@]}"; then ok "five nodes in five namespaces finalize 3 rounds"
else not_ok "five nodes in five namespaces finalize 3 rounds" "$f/logs/alice.log" "$f/logs/carol.log"; fi
clean_rate=$(rate carol $((8 * S)))

# the impairment, on every node's way out (so each direction of a link has it)
how=""
impair() { # NODE-NUMBER NAME
    local dev="${tag}h$1" ns="$tag$2"
    if [[ $how != tbf ]] && tc -n "$ns" qdisc add dev "$dev" root netem delay 20ms 10ms loss "$LOSS%" 2>/dev/null; then
        how=netem; return 0
    fi
    how=tbf
    # 8 Mbit/s: a 1,500-byte packet waits 1.5 ms behind each one before
    # it (a block and its model to four peers, about 0.2 s); a queue longer
    # than 400 ms worth is dropped at its tail
    tc -n "$ns" qdisc add dev "$dev" root tbf rate 8mbit burst 16kb latency 400ms || return 1
    ((LOSS == 0)) && return 0
    ip netns exec "$ns" nft add table inet fs12 &&
    ip netns exec "$ns" nft add chain inet fs12 out '{ type filter hook output priority 0; }' &&
    ip netns exec "$ns" nft add rule inet fs12 out ip daddr 10.99.0.0/24 numgen random mod 100 '<' "$LOSS" drop
}
impaired=1
i=0
for s in "${names[@]}"; do
    i=$((i + 1))
    impair $i "$s" 2>"$tmp/err" || { impaired=0; break; }
done
if ((impaired == 0)); then
    # a host without netem and without nftables still runs the churn below
    echo "ok $((n += 1)) # skip links without loss here: neither tc netem nor nftables works ($(head -1 "$tmp/err"))"
else
    at=$(ledger_height carol); t0=$SECONDS
    wait_height $((at + 5)) $((60 * S)) "${names[@]}"
    lossy_rate=$(rate carol $((8 * S)))
    echo "# links: $how, $LOSS% of packets lost; carol appended $clean_rate blocks in $((8 * S)) s before," \
         "$lossy_rate in $((8 * S)) s after (5 blocks took $((SECONDS - t0 - 8 * S)) s)"
    if ((lossy_rate > 0)); then ok "over links that lose $LOSS% of packets ($how) the five go on finalizing blocks"
    else not_ok "over links that lose $LOSS% of packets ($how) the five go on finalizing blocks" \
        "$f/logs/carol.log"; fi
fi

# churn: at most two away at a time; every ledger copied before each step
RANDOM=${FEDSYN_T0012_SEED:-12}
away=()
actions=(leave crash stop)
n_actions=0
left_by=()
mkdir -p "$tmp/snap"
snapshot() { local x; for x in "${names[@]}"; do
    cp "$f/state/$x/ledger.fsl" "$tmp/snap/$x.$1" 2>/dev/null; done; }
present() { local x y; for x in "${names[@]}"; do
    for y in "${away[@]}"; do [[ $x == "$y" ]] && continue 2; done; echo "$x"; done; }
t_churn=$SECONDS
h_churn=$(ledger_height carol)
for cycle in $(seq 1 12); do
    snapshot "$cycle"
    if ((${#away[@]} < 2 && (${#away[@]} == 0 || RANDOM % 3 != 0))); then
        here=($(present))
        x=${here[$((RANDOM % ${#here[@]}))]}
        act=${actions[$((n_actions % 3))]}
        n_actions=$((n_actions + 1))
        case $act in
            leave)
                ( cd "$f" && ip netns exec "$tag$x" "$FEDSYN" node leave --config "$x.zpl" ) >/dev/null 2>&1
                # it exits once a block records its leave
                pid=$(cat "$f/run/$x.pid")
                end=$((SECONDS + 40 * S))
                while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.2; done
                kill -0 "$pid" 2>/dev/null && "$FED" stop "$f" "$x" >/dev/null 2>&1
                left_by+=("$x:$(cat "$f/run/$x.rc" 2>/dev/null || echo '?')") ;;
            crash) "$FED" kill "$f" "$x" >/dev/null 2>&1 ;;
            stop) "$FED" stop "$f" "$x" >/dev/null 2>&1 ;;
        esac
        away+=("$x")
        echo "# churn $cycle: $x $act (height $(ledger_height carol))"
    else
        k=$((RANDOM % ${#away[@]}))
        x=${away[$k]}
        away=("${away[@]:0:k}" "${away[@]:k+1}")
        FEDSYN_WRAP=$tmp/wrap "$FED" start "$f" "$x" 2>>"$tmp/start.err"
        echo "# churn $cycle: $x back (height $(ledger_height carol))"
    fi
    sleep $((3 * S))
done
# everyone back; done when a block has all five as contributors
for x in "${away[@]}"; do FEDSYN_WRAP=$tmp/wrap "$FED" start "$f" "$x" 2>>"$tmp/start.err"; done
all_five() { local end=$((SECONDS + $1)); while ((SECONDS < end)); do
    sleep 0.5
    for x in "${names[@]}"; do
        $FEDSYN ledger show "$f/state/$x/ledger.fsl" 2>/dev/null | tail -1 | grep -q ' 5/5 ' || continue 2
    done
    return 0; done; return 1; }
if all_five $((90 * S)); then
    ok "after $n_actions departures over $((SECONDS - t_churn)) s every node is back and contributes"
else
    not_ok "after the churn every node is back and contributes" "$f/logs/alice.log" "$f/logs/erin.log"
fi
h_end=$(ledger_height carol)
snapshot end
"$FED" stop "$f" >/dev/null 2>&1

check "every ledger is one history: fedsyn verify of all five finds no fork" \
    bash -c "$FEDSYN ledger verify $f/state/*/ledger.fsl > $tmp/v 2>&1; ! grep -q FORK $tmp/v &&
             [[ \$(grep -c ': valid' $tmp/v) == 5 ]]"
check "the PyNaCl verifier accepts every ledger (each commit a majority's witnesses)" \
    bash -c "for x in ${names[*]}; do /usr/bin/python3 $ROOT/tests/integration/verify_ledger.py $f/state/\$x/ledger.fsl || exit 1; done"
# nothing final is lost: every block a node held at any snapshot is still in
# its ledger, byte for byte (whole records only: a copy may catch an append)
check "every block any node held during the churn is still in its ledger" \
    /usr/bin/python3 - "$f/state" "$tmp/snap" "${names[@]}" <<'PY'
import glob, os, struct, sys
state, snap, names = sys.argv[1], sys.argv[2], sys.argv[3:]
def whole(d):
    o = 16
    while o + 4 <= len(d):
        n = struct.unpack_from("<I", d, o)[0]
        if n == 0 or o + 8 + n > len(d):
            break
        o += 8 + n
    return d[:o]
for x in names:
    final = open(os.path.join(state, x, "ledger.fsl"), "rb").read()
    for p in glob.glob(os.path.join(snap, x + ".*")):
        w = whole(open(p, "rb").read())
        if not final.startswith(w):
            sys.exit(f"{x}: its ledger at {os.path.basename(p)} is not a prefix of its final one")
print("ok")
PY
$FEDSYN ledger show "$f/state/carol/ledger.fsl" > "$tmp/show" 2>/dev/null
joins=$(grep -o 'joined: [a-z]*' "$tmp/show" | wc -l)
n_left=$(grep -o 'left: [a-z]*' "$tmp/show" | wc -l)
leaves=$(grep -o 'left: [a-z]* ([a-z]*)' "$tmp/show" | sort | uniq -c | awk '{printf "%s%s %s %s", sep, $1, $3, $4; sep=", "}')
echo "# churn: $n_actions departures in $((h_end - h_churn)) blocks; carol's ledger records $joins joins" \
     "and these leaves: ${leaves:-none}; leavers' exit statuses: ${left_by[*]:-none}"
# all five founders contribute at the end: each leave recorded was followed
# by a join (a crashed node back within inactive_after rounds needs neither)
if ((joins == n_left && n_left >= 2)); then ok "the ledger records $n_left leaves, each followed by a join"
else not_ok "the ledger records leaves each followed by a join ($n_left leaves, $joins joins)" "$tmp/show"; fi
check "a node that left by fedsyn node leave exited 0, and no node logged a refused final block" \
    bash -c "for x in ${left_by[*]:-}; do [[ \${x#*:} == 0 ]] || exit 1; done;
             ! grep -h 'differs from our final one' $f/logs/*.log"
