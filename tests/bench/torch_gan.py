"""torch_gan.py - the reference for `make bench`: the same FedSyn DCGAN
iteration in PyTorch (Debian's python3-torch), same shapes, batch 256,
Adam(2e-4, 0.5), BCE from logits.  Prints one JSON line of seconds per
iteration.  Run with /usr/bin/python3 (Debian's torch imports only there).
"""
import json
import sys
import time

import torch
import torch.nn as nn

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 10
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(threads)
torch.manual_seed(1)
W = 128

G = nn.Sequential(
    nn.Linear(100, 7 * 7 * W), nn.LeakyReLU(0.2), nn.Unflatten(1, (W, 7, 7)),
    nn.ConvTranspose2d(W, W, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.ConvTranspose2d(W, W, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(W, 1, 7, padding=3), nn.Sigmoid())
D = nn.Sequential(
    nn.Conv2d(1, 64, 3, 2, 1), nn.LeakyReLU(0.2), nn.Dropout(0.4),
    nn.Conv2d(64, 64, 3, 2, 1), nn.LeakyReLU(0.2), nn.Dropout(0.4),
    nn.Flatten(), nn.Linear(64 * 7 * 7, 1))
assert sum(p.numel() for p in G.parameters()) == 1164289
assert sum(p.numel() for p in D.parameters()) == 40705
og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()
real = torch.rand(1024, 1, 28, 28)
t_d = torch.cat([torch.ones(128, 1), torch.zeros(128, 1)])
ones = torch.ones(256, 1)


def step():
    idx = torch.randint(0, 1024, (128,))
    with torch.no_grad():
        fake = G(torch.randn(128, 100))
    od.zero_grad()
    bce(D(torch.cat([real[idx], fake])), t_d).backward()
    od.step()
    og.zero_grad()
    for p in D.parameters():
        p.requires_grad_(False)
    bce(D(G(torch.randn(256, 100))), ones).backward()
    for p in D.parameters():
        p.requires_grad_(True)
    og.step()


step()
secs = []
for _ in range(iters):
    t0 = time.perf_counter()
    step()
    secs.append(time.perf_counter() - t0)
print(json.dumps({"threads": threads, "torch": torch.__version__,
                  "seconds": [round(s, 4) for s in secs]}))
