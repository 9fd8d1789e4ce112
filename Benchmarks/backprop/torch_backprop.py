#!/usr/bin/env python3
"""PyTorch peer of `bench backprop`: forward + backward (+ SGD step with --update) per step, eager or,
with --compile, through torch.compile (the loss function, whose backward AOTAutograd compiles too, and
the optimizer step; compilation happens in the untimed warm-up steps).

Models (the same as `bench backprop`):
  mlp        784-1024-1024-10, ReLU, softmax cross-entropy (mean over the batch), batch 64 or 256
  char       character model: embedding 70x64, learned positions, 4-head causal self-attention with residual,
             layer norm, last position, dense 64-70, softmax cross-entropy; context 32, batch 64
  cnn        LeNet-5 on 28x28x1 images, batch 64: conv 5x5x6 (padding 2), ReLU, 2x2 max pool, conv 5x5x16,
             ReLU, 2x2 max pool, dense 400-120-84-10 with ReLUs, softmax cross-entropy. PyTorch runs it in
             its native NCHW layout (oneDNN convolutions); ours is NHWC: each runs its own default.
  wide       K=4 (--branches) independent branches relu(x_k W1_k) W2_k, x_k 256x1024, W 1024x1024; loss = sum of all outputs
  deep       100 layers of width 64, h = relu(h W_i + b_i), batch 64; loss = sum(h)
  small-ops  50 branches on 64-float tensors; h = x_b, then 40 ops: i%3==0 tanh(h), 1: h*w_b, 2: h+x_b;
             loss = sum over branches of sum(h); gradients wrt every x_b and w_b
Gradients are taken wrt every parameter (and for small-ops every x_b). --update applies
p -= lr * grad to every parameter (torch.optim.SGD, its default foreach path). Threads: the process is
pinned to T CPUs and torch.set_num_threads(T). Median of --repeat steps after --warmup steps.
"""
import time

import peer_common as pc

a = pc.backprop_args(__doc__)
pc.limit_threads(a.threads)

import torch  # noqa: E402  (after the thread limits)

torch.set_num_threads(a.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass
torch.manual_seed(0)
LR = 0.01


def he(rows, cols):
    return (torch.randn(rows, cols) * (2.0 / rows) ** 0.5).requires_grad_()


def build(model, batch):
    """Returns (parameters, inputs, loss function)."""
    if model == "mlp":
        widths = [784, 1024, 1024, 10]
        params = []
        for i in range(3):
            params += [he(widths[i], widths[i + 1]), torch.zeros(widths[i + 1], requires_grad=True)]
        x = torch.randn(batch, 784)
        y = torch.randint(0, 10, (batch,))

        def loss():
            h = x
            for i in range(3):
                h = h @ params[2 * i] + params[2 * i + 1]
                if i < 2:
                    h = torch.relu(h)
            return torch.nn.functional.cross_entropy(h, y)
        return params, loss
    if model == "cnn":
        def conv(cin, cout):
            return ((torch.randn(cout, cin, 5, 5) * (2.0 / (25 * cin)) ** 0.5).requires_grad_(),
                    torch.zeros(cout, requires_grad=True))
        c0, c1 = conv(1, 6), conv(6, 16)
        params = [*c0, *c1]
        widths = [400, 120, 84, 10]
        for i in range(3):
            params += [he(widths[i], widths[i + 1]), torch.zeros(widths[i + 1], requires_grad=True)]
        x = torch.randn(batch, 1, 28, 28)
        y = torch.randint(0, 10, (batch,))
        F = torch.nn.functional

        def loss():
            h = F.max_pool2d(torch.relu(F.conv2d(x, params[0], params[1], padding=2)), 2)
            h = F.max_pool2d(torch.relu(F.conv2d(h, params[2], params[3])), 2)
            h = h.reshape(batch, 400)
            for i in range(3):
                h = h @ params[4 + 2 * i] + params[5 + 2 * i]
                if i < 2:
                    h = torch.relu(h)
            return F.cross_entropy(h, y)
        return params, loss
    if model == "char":
        V, T, D, H = 70, 32, 64, 4
        emb = (torch.randn(V, D) / D ** 0.5).requires_grad_()
        pos = (torch.randn(T, D) * 0.02).requires_grad_()
        limit = (6.0 / (2 * D)) ** 0.5
        wq, wk, wv, wo = [((torch.rand(D, D) * 2 - 1) * limit).requires_grad_() for _ in range(4)]
        gamma, beta = torch.ones(D, requires_grad=True), torch.zeros(D, requires_grad=True)
        w, b = ((torch.rand(D, V) * 2 - 1) * (6.0 / (D + V)) ** 0.5).requires_grad_(), torch.zeros(V, requires_grad=True)
        params = [emb, pos, wq, wk, wv, wo, gamma, beta, w, b]
        x = torch.randint(0, V, (batch, T))
        y = torch.randint(0, V, (batch,))
        mask = torch.triu(torch.full((T, T), -1e9), diagonal=1)
        F = torch.nn.functional

        def loss():
            h = emb[x] + pos
            def heads(t):
                return t.reshape(batch, T, H, D // H).transpose(1, 2)
            q, k, v = heads(h @ wq), heads(h @ wk), heads(h @ wv)
            att = torch.softmax(q @ k.transpose(-1, -2) * (1 / (D // H) ** 0.5) + mask, dim=-1) @ v
            h = h + att.transpose(1, 2).reshape(batch, T, D) @ wo
            h = F.layer_norm(h, (D,), gamma, beta)
            return F.cross_entropy(h[:, -1] @ w + b, y)
        return params, loss
    if model == "wide":
        K = a.branches
        params = [he(1024, 1024) for _ in range(2 * K)]
        xs = [torch.randn(batch, 1024) for _ in range(K)]

        def loss():
            total = 0
            for k in range(K):
                total = total + (torch.relu(xs[k] @ params[2 * k]) @ params[2 * k + 1]).sum()
            return total
        return params, loss
    if model == "deep":
        params = []
        for _ in range(100):
            params += [he(64, 64), torch.zeros(64, requires_grad=True)]
        x = torch.randn(batch, 64)

        def loss():
            h = x
            for i in range(100):
                h = torch.relu(h @ params[2 * i] + params[2 * i + 1])
            return h.sum()
        return params, loss
    # small-ops
    B, OPS = 50, 40
    xs = [torch.randn(64).requires_grad_() for _ in range(B)]
    ws = [(torch.rand(64) * 0.5 + 0.75).requires_grad_() for _ in range(B)]

    def loss():
        total = 0
        for b in range(B):
            h = xs[b]
            for i in range(OPS):
                if i % 3 == 0:
                    h = torch.tanh(h)
                elif i % 3 == 1:
                    h = h * ws[b]
                else:
                    h = h + xs[b]
            total = total + h.sum()
        return total
    return xs + ws, loss


params, loss_fn = build(a.model, a.batch)
opt = torch.optim.SGD(params, lr=LR) if a.update else None
optimizer_step = opt.step if opt is not None else None
if a.compile:
    loss_fn = torch.compile(loss_fn)
    if opt is not None:
        optimizer_step = torch.compile(opt.step)


def step():
    for p in params:
        p.grad = None
    value = loss_fn()
    value.backward()
    if optimizer_step is not None:
        optimizer_step()
    return value


for _ in range(a.warmup):
    step()
times = []
for _ in range(a.repeat):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
pc.report("pytorch-compile" if a.compile else "pytorch", a, times,
          {"version": torch.__version__, "intra_op_threads": torch.get_num_threads(), "compiled": a.compile})
