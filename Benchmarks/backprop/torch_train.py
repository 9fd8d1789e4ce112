#!/usr/bin/env python3
"""PyTorch peer of `bench train --data synthetic`: training throughput of an MLP in samples/s, eager or,
with --compile, through torch.compile (the model and loss, forward and backward, and the SGD step; the
warm-up epoch compiles both batch shapes, the full one and the last partial one).

A seeded synthetic classification set (--samples rows of the first width's features, labels from a
random linear teacher over the last width's classes) is shuffled each epoch and cut into minibatches
(the last partial batch included); each step is forward (ReLU hidden layers, softmax cross-entropy),
backward and a plain SGD update (torch.optim.SGD). One untimed warm-up epoch, then --epochs timed epochs.
Threads: pinned to T CPUs, torch.set_num_threads(T).
"""
import time

import peer_common as pc

a = pc.train_args(__doc__)
pc.limit_threads(a.threads)

import torch  # noqa: E402

torch.set_num_threads(a.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass
g = torch.Generator().manual_seed(a.seed)
w = a.widths
X = torch.randn(a.samples, w[0], generator=g)
teacher = torch.randn(w[0], w[-1], generator=g)
Y = (X @ teacher).argmax(dim=1)

layers = []
for i in range(len(w) - 1):
    layers.append(torch.nn.Linear(w[i], w[i + 1]))
    if i < len(w) - 2:
        layers.append(torch.nn.ReLU())
model = torch.nn.Sequential(*layers)
opt = torch.optim.SGD(model.parameters(), lr=a.lr)
loss_fn = torch.nn.CrossEntropyLoss()


def forward_loss(x, y):
    return loss_fn(model(x), y)


optimizer_step = opt.step
if a.compile:
    forward_loss = torch.compile(forward_loss)
    optimizer_step = torch.compile(opt.step)


def epoch():
    perm = torch.randperm(a.samples, generator=g)
    last = 0.0
    for start in range(0, a.samples, a.batch):
        idx = perm[start:start + a.batch]
        opt.zero_grad(set_to_none=True)
        loss = forward_loss(X[idx], Y[idx])
        loss.backward()
        optimizer_step()
        last = loss.item()
    return last


epoch()
t0 = time.perf_counter()
for _ in range(a.epochs):
    final = epoch()
seconds = time.perf_counter() - t0
pc.report_train("pytorch-compile" if a.compile else "pytorch", a, a.samples * a.epochs, seconds, final,
                {"version": torch.__version__, "compiled": a.compile})
