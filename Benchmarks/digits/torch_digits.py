#!/usr/bin/env python3
"""PyTorch (eager) peer of the default digits run: ours is `bench train --data train.csv --test-data
test.csv --hidden 256 --optimizer adam --lr 0.001 --batch 32 --epochs 30 --seed S --threads T --json`.

Data: the split CSV files (--train, --test; 64 pixel columns, label last, no header), features
standardized with the training rows' mean and population std (a constant column's std counts as 1),
float32. Model: 64-256-10, Linear-ReLU-Linear, softmax cross-entropy (mean over the batch); every weight
He-normal (std sqrt(2 / fan_in)), the last layer's too, as ours draws them for a ReLU MLP; biases zero.
torch.optim.Adam with --lr and PyTorch's defaults (betas 0.9, 0.999, eps 1e-8; --adam picks its
implementation: the default for-loop one on CPU, foreach or fused). Every epoch reshuffles the
training rows (torch.randperm, seeded) and runs every minibatch, the last partial one included.

Timed per epoch: the shuffle and every step (gather the batch, zero_grad, forward, backward, Adam,
loss.item() for the epoch's mean loss). samples_per_s: epochs 2..E (the first excluded, like ours).
Held-out accuracy once, after the last epoch. Threads: pinned to T CPUs, torch.set_num_threads(T),
inter-op pool 1.
"""
import time

import digits_common as dc

a = dc.digits_args(__doc__, torch_adam=True)
dc.limit_threads(a.threads)

import torch  # noqa: E402

torch.set_num_threads(a.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass

xtr, ytr, xte, yte, classes = dc.load(a)
X, Y = torch.from_numpy(xtr), torch.from_numpy(ytr)
Xte, Yte = torch.from_numpy(xte), torch.from_numpy(yte)
n, inputs = X.shape

g = torch.Generator().manual_seed(a.seed)
model = torch.nn.Sequential(torch.nn.Linear(inputs, a.hidden), torch.nn.ReLU(), torch.nn.Linear(a.hidden, classes))
with torch.no_grad():
    for layer in (model[0], model[2]):
        layer.weight.normal_(0.0, (2.0 / layer.in_features) ** 0.5, generator=g)
        layer.bias.zero_()
impl = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[a.adam]
opt = torch.optim.Adam(model.parameters(), lr=a.lr, **impl)
loss_fn = torch.nn.CrossEntropyLoss()


def epoch():
    start = time.perf_counter()
    perm = torch.randperm(n, generator=g)
    total = 0.0
    for s in range(0, n, a.batch):
        idx = perm[s:s + a.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[idx]), Y[idx])
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return n, time.perf_counter() - start, total / n


epochs = [epoch() for _ in range(a.epochs)]
with torch.no_grad():
    accuracy = (model(Xte).argmax(dim=1) == Yte).double().mean().item()
dc.report("pytorch", a, epochs, accuracy, {"inputs": inputs, "classes": classes, "version": torch.__version__,
                                           "adam": a.adam})
