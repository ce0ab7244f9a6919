"""torch_equiv.py - checks that fedsyn's FedSyn GAN computes what the same
network computes in PyTorch (Debian's python3-torch): rebuilds both nets
from the weights build/bench/bench_torch_equiv wrote to DIR, repeats its
discriminator step and generator step (BCE from logits, Adam 2e-4 / 0.5 /
0.999 / 1e-7, dropout off) and compares every output, loss, gradient and
updated weight.  Keras's 'same' padding for a stride-2 3x3 convolution puts
the one extra row and column at the bottom and right, which PyTorch's
padding=1 does not: ZeroPad2d((0, 1, 0, 1)) reproduces it.
Prints one line per compared array and exits 1 if any relative difference
exceeds 1e-4.   usage: /usr/bin/python3 torch_equiv.py DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

d_dir = sys.argv[1]
W, DW, BATCH = 128, 64, 8
HALF = BATCH // 2
TOL = 1e-4


def load(name, shape=None):
    a = torch.tensor(np.fromfile(os.path.join(d_dir, name + ".f32"), np.float32))
    return a.reshape(shape) if shape else a


torch.set_num_threads(2)
G = nn.Sequential(
    nn.Linear(100, 7 * 7 * W), nn.LeakyReLU(0.2), nn.Unflatten(1, (W, 7, 7)),
    nn.ConvTranspose2d(W, W, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.ConvTranspose2d(W, W, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(W, 1, 7, padding=3), nn.Sigmoid())
D = nn.Sequential(
    nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(1, DW, 3, 2, 0), nn.LeakyReLU(0.2),
    nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(DW, DW, 3, 2, 0), nn.LeakyReLU(0.2),
    nn.Flatten(), nn.Linear(DW * 7 * 7, 1))
# fedsyn's layer index -> the PyTorch module holding the same parameters
G_MAP = {0: G[0], 3: G[3], 5: G[5], 7: G[7]}
D_MAP = {1: D[1], 4: D[4], 8: D[7]}
with torch.no_grad():
    for net, mapping in (("g", G_MAP), ("d", D_MAP)):
        for i, mod in mapping.items():
            mod.weight.copy_(load(f"{net}{i}_w", mod.weight.shape))
            mod.bias.copy_(load(f"{net}{i}_b"))
og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
bce = nn.BCEWithLogitsLoss()
worst = 0.0
checked = 0


def compare(what, ours, theirs):
    global worst, checked
    ours = ours.reshape(-1).double()
    theirs = theirs.detach().reshape(-1).double()
    rel = ((ours - theirs).norm() / max(theirs.norm().item(), 1e-30)).item()
    worst = max(worst, rel)
    checked += 1
    print(f"  {what:<28} relative difference {rel:.2e}")


def backward_and_step(net, mapping, opt):
    """Compares a net's gradients (already computed), steps its optimiser and
    compares the step itself: the weights move by about lr, far below their
    size, so the step and not the new weights is what tells."""
    for i, mod in mapping.items():
        compare(f"{net.upper()} layer {i} weight grad", load(f"{net}{i}_dw"), mod.weight.grad)
        compare(f"{net.upper()} layer {i} bias grad", load(f"{net}{i}_db"), mod.bias.grad)
    opt.step()
    for i, mod in mapping.items():
        before = load(f"{net}{i}_w")
        compare(f"{net.upper()} layer {i} Adam step", load(f"{net}step{i}_w") - before,
                mod.weight - before.reshape(mod.weight.shape))


z = load("z", (BATCH, 100))
x_ours = load("x", (BATCH, 1, 28, 28))
compare("G(z) (half batch)", x_ours[HALF:], G(z[:HALF]))
logits = D(x_ours)
compare("D logits", load("d_logits"), logits)
t = torch.cat([torch.ones(HALF, 1), torch.zeros(HALF, 1)])
loss = bce(logits, t)
compare("D loss", load("d_loss"), loss)
od.zero_grad()
loss.backward()
backward_and_step("d", D_MAP, od)

og.zero_grad()
for p in D.parameters():
    p.requires_grad_(False)
loss = bce(D(G(z)), torch.ones(BATCH, 1))
compare("G loss", load("g_loss"), loss)
loss.backward()
backward_and_step("g", G_MAP, og)

verdict = "same" if worst <= TOL else "DIFFERENT"
print(f"torch equivalence: {checked} arrays, worst relative difference {worst:.2e} "
      f"(tolerance {TOL:g}): {verdict}")
sys.exit(0 if worst <= TOL else 1)
