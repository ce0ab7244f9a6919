"""torch_dcgan.py - the FedSyn DCGAN trained in PyTorch on MNIST the way
`fedsyn train` trains it, to tell the model's own pace from fedsyn's: Keras
'same' padding (the stride-2 convolutions' extra row and column at the
bottom and right), Glorot-uniform weights and zero biases, Adam 2e-4 /
beta1 0.5 / eps 1e-7, D on 128 real + 128 fake, G on 256, dropout 0.4 active
in both steps, shuffled passes over the 60,000 images, 234 iterations an
epoch.  Then writes 10,000 samples as an IDX file for `fedsyn eval
--samples`.  Mode `torch` uses PyTorch's default initialisation and
symmetric padding instead.

usage (from the repository root, with Debian's torch):
  /usr/bin/python3 scripts/experiments/torch_dcgan.py WIDTH EPOCHS SEED OUT.idx [keras|torch]
  build/fedsyn eval --samples OUT.idx --json
"""
import struct, sys, time
import numpy as np
import torch, torch.nn as nn

if len(sys.argv) not in (5, 6) or (len(sys.argv) == 6 and sys.argv[5] not in ("keras", "torch")):
    sys.exit(__doc__)
W, EPOCHS, SEED, OUT = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
MODE = sys.argv[5] if len(sys.argv) > 5 else "keras"
torch.set_num_threads(2)
torch.manual_seed(SEED)
raw = open("data/mnist/train-images-idx3-ubyte", "rb").read()
n = struct.unpack(">I", raw[4:8])[0]
X = torch.from_numpy(np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, 28, 28).astype(np.float32) / 255.0)
DW = W // 2
if MODE == "keras":
    dpad = lambda: nn.ZeroPad2d((0, 1, 0, 1))  # Keras 'same', stride 2, 3x3: extra row/col at bottom/right
    dconv = lambda i, o: nn.Conv2d(i, o, 3, 2, 0)
else:
    dpad = lambda: nn.Identity()
    dconv = lambda i, o: nn.Conv2d(i, o, 3, 2, 1)
G = nn.Sequential(
    nn.Linear(100, 7 * 7 * W), nn.LeakyReLU(0.2), nn.Unflatten(1, (W, 7, 7)),
    nn.ConvTranspose2d(W, W, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.ConvTranspose2d(W, W, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(W, 1, 7, padding=3), nn.Sigmoid())
D = nn.Sequential(
    dpad(), dconv(1, DW), nn.LeakyReLU(0.2), nn.Dropout(0.4),
    dpad(), dconv(DW, DW), nn.LeakyReLU(0.2), nn.Dropout(0.4),
    nn.Flatten(), nn.Linear(DW * 7 * 7, 1))
if MODE == "keras":
    for m in list(G) + list(D):
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            w = m.weight
            if isinstance(m, nn.Linear):
                fi, fo = w.shape[1], w.shape[0]
            elif isinstance(m, nn.ConvTranspose2d):  # [in][out][k][k]
                k = w.shape[2] * w.shape[3]; fi, fo = w.shape[0] * k, w.shape[1] * k
            else:
                k = w.shape[2] * w.shape[3]; fi, fo = w.shape[1] * k, w.shape[0] * k
            lim = (6.0 / (fi + fo)) ** 0.5
            nn.init.uniform_(w, -lim, lim)
            nn.init.zeros_(m.bias)
og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
bce = nn.BCEWithLogitsLoss()
t_d = torch.cat([torch.ones(128, 1), torch.zeros(128, 1)])
ones = torch.ones(256, 1)
iters = n // 256
perm, cur = torch.randperm(n), 0
t0 = time.time()
G.train(); D.train()
for ep in range(EPOCHS):
    for it in range(iters):
        if cur + 128 > n:
            perm, cur = torch.randperm(n), 0
        idx = perm[cur:cur + 128]; cur += 128
        with torch.no_grad():
            fake = G(torch.randn(128, 100))
        od.zero_grad()
        ld = bce(D(torch.cat([X[idx], fake])), t_d)
        ld.backward(); od.step()
        og.zero_grad()
        for p in D.parameters(): p.requires_grad_(False)
        lg = bce(D(G(torch.randn(256, 100))), ones)
        lg.backward()
        for p in D.parameters(): p.requires_grad_(True)
        og.step()
    print("epoch %d d %.3f g %.3f %.0fs" % (ep + 1, ld.item(), lg.item(), time.time() - t0), flush=True)
G.eval()
with torch.no_grad():
    imgs = torch.cat([G(torch.randn(500, 100)) for _ in range(20)])
u8 = (imgs.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy().reshape(-1, 28, 28)
with open(OUT, "wb") as f:
    f.write(struct.pack(">IIII", 0x803, u8.shape[0], 28, 28)); f.write(u8.tobytes())
