#!/usr/bin/env bash
# t0008-sites.sh - three institutions on three hosts, as docs/operations.md
# sets them up: each site in its own network namespace with its own
# address on a shared link (10.88.0.0/24, not loopback), its own keys
# (only identity.pub leaves a site), the founder's genesis and a
# configuration per site made by `netcfg provision` from one description,
# netcfg check (and --probe once the peers run),
# the nodes started inside their namespaces, then status, the ledgers and
# every kept model verified.  A link taken down and up again (one site cut
# off for a while) must leave one history.  Needs root and `ip netns`;
# skips with the reason otherwise.  Emits TAP.
set -u
FEDSYN=${FEDSYN:-build/fedsyn}
FEDSYN=$(cd "$(dirname "$FEDSYN")" && pwd)/$(basename "$FEDSYN")
S=${FEDSYN_TEST_SLOW:-1}
WRAP=${FEDSYN_WRAP:-}
PLAN=10
echo "1..$PLAN"
skip_all() { for i in $(seq 1 $PLAN); do echo "ok $i # skip $1"; done; exit 0; }
[[ $(id -u) == 0 ]] || skip_all "needs root for network namespaces"
command -v ip >/dev/null || skip_all "no ip command (iproute2)"
tag=fs8$$
sites=(alice bob carol)
. "$(dirname "$0")/netns.sh"
netns_net=10.88.0
tmp=$(mktemp -d /tmp/fedsyn-t0008-XXXXXX)
n=0
fails=0
cleanup() {
    for s in "${sites[@]}"; do
        [[ -f $tmp/$s/node.pid ]] && kill "$(cat "$tmp/$s/node.pid")" 2>/dev/null
    done
    sleep 0.5
    for s in "${sites[@]}"; do
        [[ -f $tmp/$s/node.pid ]] && kill -9 "$(cat "$tmp/$s/node.pid")" 2>/dev/null
    done
    netns_delete "${sites[@]}"
    if [[ ${FEDSYN_TEST_KEEP:-0} == 1 ]] && ((fails > 0)); then
        echo "# kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; local x
           for x in "${@:2}"; do sed "s|^|# $(basename "$x"): |" "$x" 2>/dev/null | tail -8; done; }
check() { local d=$1; shift; if "$@" >"$tmp/out" 2>"$tmp/err"; then ok "$d"; else not_ok "$d" "$tmp/err"; fi; }
wait_for() { local end=$((SECONDS + $1)); shift
             while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.3; done; return 1; }

# the network: a bridge in a switch namespace, one veth per site
# (tests/integration/netns.sh; a kernel without bridges or veth pairs skips
# the test, saying so)
netns_create "${sites[@]}"
addr() { case $1 in alice) echo 10.88.0.1 ;; bob) echo 10.88.0.2 ;; carol) echo 10.88.0.3 ;; esac; }

# a small MNIST-shaped data set per site (its own labels), as in t0004
/usr/bin/python3 "$(dirname "$0")/bars_fixture.py" "$tmp/data" 900 8

# 2. keys: each site makes its own; only identity.pub goes to the founder
mkdir -p "$tmp/founder"
for s in "${sites[@]}"; do
    mkdir -p "$tmp/$s/etc/keys"
    $FEDSYN keygen --dir "$tmp/$s/etc/keys/$s" --name "$s" >/dev/null 2>&1
    cp "$tmp/$s/etc/keys/$s/identity.pub" "$tmp/founder/$s.pub"
done
# 3. the founder (alice) describes the federation and provisions it: the
# genesis and a configuration per site, sent to each site with the genesis
cat > "$tmp/founder/federation.zpl" <<DESC
federation
    name = t0008
    model = cgan:8
    server-lr = 2
    rounds = 6
    local-iters = 10
    timeout-ms = $((15000 * S))
    quorum = 2
    noise = gaussian-clipped
    clip = 1
    scale = 1e-3
sites
    keys = etc/keys
    state = state
    genesis = etc/genesis.fsl
    data = $tmp/data
    keep-models = all
site
    name = alice
    endpoint = tcp://10.88.0.1:7100
    identity = alice.pub
    labels = 0,1,2
site
    name = bob
    endpoint = tcp://10.88.0.2:7100
    identity = bob.pub
    labels = 3,4,5,6
site
    name = carol
    endpoint = tcp://10.88.0.3:7100
    identity = carol.pub
    labels = 7,8,9
DESC
check "netcfg provision: the genesis and three configurations from one description" \
    bash -c "$FEDSYN netcfg provision $tmp/founder/federation.zpl --key $tmp/alice/etc/keys/alice \
             --out $tmp/founder/kit > $tmp/fedid && [[ \$(wc -c < $tmp/fedid) == 65 ]] &&
             ls $tmp/founder/kit/alice.zpl $tmp/founder/kit/bob.zpl $tmp/founder/kit/carol.zpl"
# 4. each site receives the genesis and its configuration
for s in "${sites[@]}"; do
    cp "$tmp/founder/kit/genesis.fsl" "$tmp/$s/etc/genesis.fsl"
    cp "$tmp/founder/kit/$s.zpl" "$tmp/$s/site.zpl"
done
# 5. each site checks its kit
check "netcfg check passes every site's kit" bash -c "
    for s in ${sites[*]}; do $FEDSYN netcfg check $tmp/\$s/site.zpl || exit 1; done"
# 6. run: each node inside its own namespace
start() { # node.pid: the node's own pid (sh execs it)
    (cd "$tmp/$1" && ip netns exec "$tag$1" sh -c 'echo $$ > node.pid; exec '"$WRAP"' "$0" node \
        --config site.zpl >> node.out 2>> node.log' "$FEDSYN" &)
    wait_for 10 test -s "$tmp/$1/node.pid"
}
start alice
start bob
check "netcfg check --probe from carol's namespace: both peers answer and admit her" \
    wait_for $((20 * S)) bash -c "cd $tmp/carol && ip netns exec $tag""carol $FEDSYN netcfg check --probe site.zpl 2> probe.err &&
        [[ \$(grep -c 'answers at tcp://10.88.0.[12]:7100 and admits' probe.err) == 2 ]]"
check "from carol's namespace, loopback does not reach bob: the sites really are apart" \
    bash -c "cd $tmp/carol && sed 's|tcp://10.88.0.2:7100|tcp://127.0.0.1:7100|' site.zpl > lo.zpl &&
        ip netns exec $tag""carol $FEDSYN netcfg check --probe lo.zpl 2> lo.err;
        grep -q 'peer bob no answer at tcp://127.0.0.1:7100' lo.err"
start carol
check "fedsyn status reaches alice's node (its control socket is a file)" \
    wait_for $((60 * S)) bash -c "$FEDSYN status --config $tmp/alice/site.zpl --json |
        /usr/bin/python3 -c 'import json, sys; s = json.load(sys.stdin); assert s[\"height\"] >= 2, s'"
# a site cut off for a while: carol's link goes down, then up
carol_link=${tag}p3
ip netns exec "${tag}sw" ip link set "$carol_link" down
check "with carol cut off, alice and bob (a quorum of 2) go on closing rounds" \
    bash -c "h0=\$($FEDSYN status --config $tmp/alice/site.zpl --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"height\"])');
        end=\$((SECONDS + $((60 * S)))); while ((SECONDS < end)); do
          h=\$($FEDSYN status --config $tmp/alice/site.zpl --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"height\"])');
          ((h > h0)) && exit 0; sleep 0.5; done; exit 1"
ip netns exec "${tag}sw" ip link set "$carol_link" up
all_done() {
    for s in "${sites[@]}"; do kill -0 "$(cat "$tmp/$s/node.pid")" 2>/dev/null && return 1; done
    return 0
}
if wait_for $((240 * S)) all_done; then ok "all three sites finish the six rounds"
else not_ok "all three sites finish the six rounds" "$tmp/alice/node.log" "$tmp/carol/node.log"; fi
check "the three ledgers are identical" bash -c "
    cmp $tmp/alice/state/alice/ledger.fsl $tmp/bob/state/bob/ledger.fsl &&
    cmp $tmp/alice/state/alice/ledger.fsl $tmp/carol/state/carol/ledger.fsl"
check "ledger verify: valid, and every model alice kept is the one its block pins" \
    bash -c "$FEDSYN ledger verify $tmp/alice/state/alice/ledger.fsl > $tmp/v.out &&
        grep -q 'valid, 7 blocks' $tmp/v.out && grep -q 'models: 7 of 7 blocks. models kept' $tmp/v.out"
check "every block was closed by sites talking over 10.88.0.0/24 (no loopback peer)" \
    bash -c "! grep -h 'tcp://127' $tmp/*/site.zpl && grep -q 'listening on tcp://\*:7100' $tmp/alice/node.log &&
        grep -q 'advertise = tcp://10.88.0.1:7100' $tmp/alice/site.zpl"
exit 0
