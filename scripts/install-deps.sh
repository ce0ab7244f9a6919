#!/usr/bin/env bash
# install-deps.sh - installs the Debian packages fedsyn needs that this
# machine lacks; idempotent and non-interactive.  Run as root (or via sudo).
set -euo pipefail

# build and runtime libraries (why each: README.md, "Dependencies")
PKGS=(build-essential pkg-config
      libczmq-dev libzmq3-dev libsodium-dev libopenblas-dev
      libpng-dev zlib1g-dev libcmocka-dev ca-certificates
      clang-14 libclang-rt-14-dev python3-nacl valgrind help2man)
# data and the benchmark reference
PKGS+=(dataset-fashion-mnist)
# the integration tests' separate hosts: namespaces, and links that lose
# packets (t0012; tc netem is a kernel module this image's kernel lacks)
PKGS+=(iproute2 nftables)
if [[ "${FEDSYN_WITH_TORCH:-0}" == 1 ]]; then
    PKGS+=(python3-torch python3-numpy)
fi
# the experiments' plots (make experiments)
if [[ "${FEDSYN_WITH_PLOT:-0}" == 1 ]]; then
    PKGS+=(gnuplot-nox)
fi

missing=()
# tools count as present when their command exists, whoever installed them
# (this image's node/npm do not come from Debian, and Debian's npm would
# conflict with them)
for tool in npm:npm prove:perl python3:python3; do
    if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
        missing+=("${tool##*:}")
    fi
done
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all packages and tools present"
    exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
