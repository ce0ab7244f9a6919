# netns.sh - separate hosts for the integration tests (sourced, not run):
# one network namespace per node with its own address on a shared bridge
# (10.99.0.N/24, not loopback), the bridges in a switch namespace, and the
# helpers the tests share to read a node's ledger as an outsider would.
#
# The caller sets, before sourcing:
#   tag     a prefix unique to the run (namespaces and links are named by it)
#   f       the federation folder (federation.sh's DIR)
#   tmp     a scratch folder
#   FEDSYN  the binary
# and calls skip_all REASON when the machine cannot do it (netns_create).
#
#   netns_create NAME...      a namespace per node, all on br0 (its number i
#                             in the list gives it $netns_net.i, 10.99.0.i
#                             unless the caller set netns_net); br1 waits empty
#   netns_split I...          nodes numbered I to br1: a partition
#   netns_heal N              nodes 1..N back to br0
#   netns_delete NAME...      removes what netns_create made
#   netns_wrapper FILE        writes FEDSYN_WRAP's script: a node runs in the
#                             namespace named after its configuration
#   netns_readdress PORT N    configurations name nodes' own addresses, not
#                             127.0.0.1 (node j listens on PORT + j)
#   ledger_height NAME        the node's whole ledger records now
#   wait_height H T NAME...   every one has at least H blocks within T seconds

netns_create() {
    ip netns add "${tag}sw" 2>/dev/null || skip_all "cannot create a network namespace here"
    if ! ip netns exec "${tag}sw" ip link add br0 type bridge 2>/dev/null ||
       ! ip netns exec "${tag}sw" ip link add br1 type bridge 2>/dev/null ||
       ! ip netns exec "${tag}sw" ip link add "${tag}t0" type veth peer name "${tag}t1" 2>/dev/null
    then
        ip netns del "${tag}sw" 2>/dev/null
        skip_all "this kernel cannot make a bridge or a veth pair in a namespace"
    fi
    ip netns exec "${tag}sw" ip link del "${tag}t0"
    ip netns exec "${tag}sw" ip link set br0 up
    ip netns exec "${tag}sw" ip link set br1 up
    local i=0 s
    for s in "$@"; do
        i=$((i + 1))
        ip netns add "$tag$s"
        ip link add "${tag}h$i" type veth peer name "${tag}p$i"
        ip link set "${tag}h$i" netns "$tag$s"
        ip link set "${tag}p$i" netns "${tag}sw"
        ip netns exec "${tag}sw" ip link set "${tag}p$i" master br0
        ip netns exec "${tag}sw" ip link set "${tag}p$i" up
        ip netns exec "$tag$s" ip link set lo up
        ip netns exec "$tag$s" ip addr add "${netns_net:-10.99.0}.$i/24" dev "${tag}h$i"
        ip netns exec "$tag$s" ip link set "${tag}h$i" up
    done
}

netns_split() {
    local i
    for i in "$@"; do ip netns exec "${tag}sw" ip link set "${tag}p$i" master br1; done
}

netns_heal() {
    local i
    for i in $(seq 1 "$1"); do ip netns exec "${tag}sw" ip link set "${tag}p$i" master br0; done
}

netns_delete() {
    local s
    for s in "$@"; do ip netns del "$tag$s" 2>/dev/null; done
    ip netns del "${tag}sw" 2>/dev/null
}

netns_wrapper() {
    cat > "$1" <<EOF
#!/usr/bin/env bash
# runs a node in its namespace (under the harness's own wrapper, valgrind
# say, when it has one): the configuration NAME.zpl is the last argument
name=\$(basename "\${@: -1}" .zpl)
exec ip netns exec "$tag\$name" ${FEDSYN_WRAP:-} "\$@"
EOF
    chmod +x "$1"
}

netns_readdress() {
    local port=$1 n=$2 c j
    for c in "$f"/*.zpl; do
        for j in $(seq 0 $((n - 1))); do
            sed -i "s|tcp://127.0.0.1:$((port + j))|tcp://10.99.0.$((j + 1)):$((port + j))|" "$c"
        done
    done
}

# (stdout is buffered in a file, so the ledger is read, docs/ledger.md §8)
ledger_height() {
    /usr/bin/python3 - "$f/state/$1/ledger.fsl" <<'PY'
import struct, sys
try:
    d = open(sys.argv[1], "rb").read()
except OSError:
    print(0); sys.exit()
o, k = 16, 0
while o + 4 <= len(d):
    n = struct.unpack_from("<I", d, o)[0]
    if n == 0 or o + 8 + n > len(d):
        break
    o, k = o + 8 + n, k + 1
print(k)
PY
}

wait_height() {
    local h=$1 t=$2; shift 2; local end=$((SECONDS + t)) x low
    while ((SECONDS < end)); do
        low=0
        for x in "$@"; do (( $(ledger_height "$x") >= h )) || low=1; done
        ((low == 0)) && return 0
        sleep 0.3
    done
    return 1
}
