#!/usr/bin/env python3
"""JAX (jit) peer of the default digits run: ours is `bench train --data train.csv --test-data test.csv
--hidden 256 --optimizer adam --lr 0.001 --batch 32 --epochs 30 --seed S --threads T --json`.

Same data, model and schedule as torch_digits.py: the split CSV files standardized with the training
rows' statistics, 64-256-10 ReLU MLP, softmax cross-entropy (mean over the batch), He-normal weights
(std sqrt(2 / fan_in), every layer), zero biases, Adam with --lr, betas 0.9, 0.999 and eps 1e-8 written
in jax.numpy with PyTorch's formula (p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps));
every epoch reshuffles the rows (NumPy, seeded, on the host) and runs every minibatch, the last partial
one included.

One jitted step takes the whole training state (parameters, Adam moments, step count, the epoch's
loss sum; donated) and the batch's row indices, gathers the rows from the training set (a device
array, passed in), and does forward, loss, backward and the Adam update; the epoch's mean loss is read
once at its end (which also waits for the last step). Both batch shapes (full and last partial) are
compiled before any clock starts, by running the step on a copy of the state (ours likewise builds its
plans first). Timed per epoch: the shuffle and every step. samples_per_s: epochs 2..E (the first
excluded, like ours). Held-out accuracy once, after the last epoch. Threads: pinned to T CPUs; with
one thread XLA's multi-threaded Eigen is off and intra_op_parallelism_threads=1.
"""
import time

import digits_common as dc

a = dc.digits_args(__doc__)
dc.limit_threads(a.threads, jax=True)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

xtr, ytr, xte, yte, classes = dc.load(a)
n, inputs = xtr.shape
X, Y = jnp.asarray(xtr), jnp.asarray(ytr.astype(np.int32))
Xte = jnp.asarray(xte)
B1, B2, EPS = 0.9, 0.999, 1e-8

key = jax.random.PRNGKey(a.seed)
params = []
for fan_in, fan_out in ((inputs, a.hidden), (a.hidden, classes)):
    key, sub = jax.random.split(key)
    params += [jax.random.normal(sub, (fan_in, fan_out), jnp.float32) * np.float32((2.0 / fan_in) ** 0.5),
               jnp.zeros(fan_out, jnp.float32)]
state = {"params": params, "m": [jnp.zeros_like(p) for p in params], "v": [jnp.zeros_like(p) for p in params],
         "t": jnp.zeros((), jnp.float32), "loss_sum": jnp.zeros((), jnp.float32)}


def logits(p, x):
    return jax.nn.relu(x @ p[0] + p[1]) @ p[2] + p[3]


def loss_fn(p, x, y):
    logp = jax.nn.log_softmax(logits(p, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def train_step(s, X, Y, idx):
    x, y = X[idx], Y[idx]
    loss, grads = jax.value_and_grad(loss_fn)(s["params"], x, y)
    t = s["t"] + 1
    step_size = a.lr / (1 - B1 ** t)
    inv_sqrt_bc2 = 1 / jnp.sqrt(1 - B2 ** t)
    m = [B1 * mi + (1 - B1) * g for mi, g in zip(s["m"], grads)]
    v = [B2 * vi + (1 - B2) * g * g for vi, g in zip(s["v"], grads)]
    p = [pi - step_size * mi / (jnp.sqrt(vi) * inv_sqrt_bc2 + EPS) for pi, mi, vi in zip(s["params"], m, v)]
    return {"params": p, "m": m, "v": v, "t": t, "loss_sum": s["loss_sum"] + loss * idx.shape[0]}


step = jax.jit(train_step, donate_argnums=0)
predict = jax.jit(lambda p, x: jnp.argmax(logits(p, x), axis=1))

# Compile both batch shapes before any clock starts, on a copy of the state (donated, then dropped).
for rows in sorted({min(a.batch, n), n % a.batch or min(a.batch, n)}):
    jax.block_until_ready(step(jax.tree.map(jnp.copy, state), X, Y, np.arange(rows, dtype=np.int32)))
rng = np.random.default_rng(a.seed)


def epoch():
    global state
    start = time.perf_counter()
    perm = rng.permutation(n).astype(np.int32)
    state["loss_sum"] = jnp.zeros((), jnp.float32)
    for s in range(0, n, a.batch):
        state = step(state, X, Y, perm[s:s + a.batch])
    total = float(state["loss_sum"])  # waits for the last step
    return n, time.perf_counter() - start, total / n


epochs = [epoch() for _ in range(a.epochs)]
accuracy = float(np.mean(np.asarray(predict(state["params"], Xte)) == yte))
dc.report("jax", a, epochs, accuracy, {"inputs": inputs, "classes": classes, "version": jax.__version__})
