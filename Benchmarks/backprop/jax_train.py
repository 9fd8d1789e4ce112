#!/usr/bin/env python3
"""JAX (jit) peer of `bench train --data synthetic`: training throughput of an MLP in samples/s.

Same data and model as torch_train.py: a seeded synthetic set, shuffled each epoch (NumPy, on the
host), minibatches (the last partial batch included: it compiles once more, during the warm-up epoch),
one jitted step = forward, softmax cross-entropy, backward and a plain SGD update with the parameters
donated. One untimed warm-up epoch (compilation), then --epochs timed epochs. Threads: pinned to T CPUs;
with one thread XLA's multi-threaded Eigen is off and intra_op_parallelism_threads=1.
"""
import time

import peer_common as pc

a = pc.train_args(__doc__)
pc.limit_threads(a.threads, jax=True)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.default_rng(a.seed)
w = a.widths
X = rng.standard_normal((a.samples, w[0]), dtype=np.float32)
teacher = rng.standard_normal((w[0], w[-1]), dtype=np.float32)
Y = (X @ teacher).argmax(axis=1).astype(np.int32)

key = jax.random.PRNGKey(a.seed)
params = []
for i in range(len(w) - 1):
    key, sub = jax.random.split(key)
    bound = 1.0 / np.sqrt(w[i])  # torch.nn.Linear's default scale
    params += [jax.random.uniform(sub, (w[i], w[i + 1]), jnp.float32, -bound, bound),
               jnp.zeros(w[i + 1], jnp.float32)]


def loss_fn(p, x, y):
    h = x
    n = len(p) // 2
    for i in range(n):
        h = h @ p[2 * i] + p[2 * i + 1]
        if i < n - 1:
            h = jax.nn.relu(h)
    logp = jax.nn.log_softmax(h)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def train_step(p, x, y):
    value, grads = jax.value_and_grad(loss_fn)(p, x, y)
    return value, [q - a.lr * g for q, g in zip(p, grads)]


step = jax.jit(train_step, donate_argnums=0)


def epoch():
    global params
    perm = rng.permutation(a.samples)
    value = None
    for start in range(0, a.samples, a.batch):
        idx = perm[start:start + a.batch]
        value, params = step(params, X[idx], Y[idx])
    jax.block_until_ready(params)
    return float(value)


epoch()
t0 = time.perf_counter()
for _ in range(a.epochs):
    final = epoch()
seconds = time.perf_counter() - t0
pc.report_train("jax", a, a.samples * a.epochs, seconds, final, {"version": jax.__version__})
