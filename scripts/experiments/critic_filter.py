#!/usr/bin/env python3
"""critic_filter.py - discriminator rejection, done simply (Azadi et al. 2019).

Trains a fresh real-vs-fake critic (a small CNN, PyTorch, 2 threads) on the
real MNIST training images against FAKE_TRAIN (an IDX file of generated
images), scores the images of FAKE_POOL, and writes the highest-scoring
fraction of them (up to 10,000) as OUT_PREFIX<percent>.idx for
`fedsyn eval --samples`.  It asks whether a generator's poor samples can be
told apart from its good ones by how real they look (docs/results.md).

  usage: /usr/bin/python3 scripts/experiments/critic_filter.py MNIST_DIR FAKE_TRAIN
             FAKE_POOL OUT_PREFIX [EPOCHS]
"""
import struct
import sys

import numpy as np
import torch
import torch.nn as nn


def idx_images(path):
    b = open(path, "rb").read()
    n, h, w = struct.unpack(">III", b[4:16])
    return np.frombuffer(b[16:], np.uint8).reshape(n, 1, h, w)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    mnist, fake_train, fake_pool, prefix = sys.argv[1:5]
    epochs = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    torch.set_num_threads(2)
    torch.manual_seed(0)
    real = idx_images(f"{mnist}/train-images-idx3-ubyte")
    fake = idx_images(fake_train)
    pool = idx_images(fake_pool)
    x = torch.tensor(np.concatenate([real, fake])).float() / 255
    y = torch.tensor(np.r_[np.ones(len(real)), np.zeros(len(fake))]).float()
    net = nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1), nn.LeakyReLU(0.2),
                        nn.Conv2d(32, 64, 3, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                        nn.Linear(64 * 49, 1))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for ep in range(epochs):
        perm = torch.randperm(len(x))
        tot = acc = 0.0
        for i in range(0, len(x), 128):
            j = perm[i:i + 128]
            logit = net(x[j]).squeeze(1)
            loss = nn.functional.binary_cross_entropy_with_logits(logit, y[j])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item() * len(j)
            acc += ((logit > 0).float() == y[j]).sum().item()
        print(f"epoch {ep + 1}/{epochs}: loss {tot / len(x):.4f}, accuracy {acc / len(x):.4f}",
              flush=True)

    def scores(images):
        with torch.no_grad():
            t = torch.tensor(images).float() / 255
            return torch.cat([net(t[i:i + 1000]).squeeze(1) for i in range(0, len(t), 1000)]).numpy()

    s = scores(pool)
    st = scores(idx_images(f"{mnist}/t10k-images-idx3-ubyte"))
    print(f"held out: real test images called real {(st > 0).mean():.4f}; "
          f"pool fakes called real {(s > 0).mean():.4f}")
    order = np.argsort(-s)
    for keep in (0.5, 0.25):
        sel = pool[np.sort(order[:int(len(pool) * keep)])][:10000]
        with open(f"{prefix}{int(keep * 100)}.idx", "wb") as f:
            f.write(struct.pack(">IIII", 0x803, len(sel), 28, 28) + sel.tobytes())


if __name__ == "__main__":
    main()
