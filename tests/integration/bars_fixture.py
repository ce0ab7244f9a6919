#!/usr/bin/python3
"""bars_fixture.py - a small MNIST-shaped training set for the integration
tests (they never need the network): N images, label i mod 10, each label a
noisy bar of its own length and column, so that labels matter.
    /usr/bin/python3 bars_fixture.py DIR N SEED
writes DIR/train-images-idx3-ubyte and DIR/train-labels-idx1-ubyte."""
import os
import random
import struct
import sys

d, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d, exist_ok=True)
random.seed(seed)
imgs, labs = bytearray(), bytearray()
for i in range(n):
    y = i % 10
    labs.append(y)
    px = bytearray(784)
    for r in range(4 + y, 24):
        for c in range(8 + (y % 3) * 4, 12 + (y % 3) * 4):
            px[r * 28 + c] = 200 + random.randrange(55)
    imgs += px
with open(os.path.join(d, "train-images-idx3-ubyte"), "wb") as f:
    f.write(struct.pack(">IIII", 2051, n, 28, 28) + imgs)
with open(os.path.join(d, "train-labels-idx1-ubyte"), "wb") as f:
    f.write(struct.pack(">II", 2049, n) + labs)
