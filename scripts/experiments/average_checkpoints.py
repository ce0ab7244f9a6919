#!/usr/bin/env python3
"""average_checkpoints.py - the mean of several model files' float sections.

Writes OUT with the first file's sections, every float vector replaced by
the element-wise mean over the inputs (in float64, stored as float32): a
uniform average of the weights along one training run (a crude cousin of
the moving averages of Yazici et al. 2019).  Used once, on the central GAN's
epochs 51-60 (docs/results.md); the file format is docs/model-file.md.

  usage: /usr/bin/python3 scripts/experiments/average_checkpoints.py OUT IN1 IN2 ...
"""
import struct
import sys
import zlib

import numpy as np


def load(path):
    b = open(path, "rb").read()
    if b[:8] != b"FSYNMODL":
        sys.exit(f"{path}: not a fedsyn model file")
    _, n = struct.unpack("<II", b[8:16])
    (size,) = struct.unpack("<Q", b[16:24])
    if size != len(b) or zlib.crc32(b[:-4]) != struct.unpack("<I", b[-4:])[0]:
        sys.exit(f"{path}: truncated or corrupt (size or CRC)")
    off, secs = 24, []
    for _ in range(n):
        (kind,) = struct.unpack("<I", b[off:off + 4])
        name = b[off + 4:off + 32].rstrip(b"\0").decode()
        (ln,) = struct.unpack("<Q", b[off + 32:off + 40])
        secs.append((kind, name, b[off + 40:off + 40 + ln]))
        off += 40 + ln
    return secs


def save(path, secs):
    body = b"".join(struct.pack("<I", k) + n.encode().ljust(28, b"\0") +
                    struct.pack("<Q", len(p)) + p for k, n, p in secs)
    head = b"FSYNMODL" + struct.pack("<IIQ", 1, len(secs), 24 + len(body) + 4)
    data = head + body
    open(path, "wb").write(data + struct.pack("<I", zlib.crc32(data)))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    files = [load(p) for p in sys.argv[2:]]
    if any([(k, n, len(p)) for k, n, p in f] != [(k, n, len(p)) for k, n, p in files[0]]
           for f in files):
        sys.exit("the files hold different sections")
    out = []
    for i, (kind, name, payload) in enumerate(files[0]):
        if kind == 1:
            mean = np.mean([np.frombuffer(f[i][2], dtype="<f4").astype(np.float64)
                            for f in files], axis=0)
            payload = mean.astype("<f4").tobytes()
        out.append((kind, name, payload))
    save(sys.argv[1], out)


if __name__ == "__main__":
    main()
