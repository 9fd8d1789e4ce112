#!/usr/bin/env python3
"""JAX (jit) peer of `bench backprop`: one jitted step = forward + backward (+ SGD update with --update).

The models are those of torch_backprop.py (see there). The step is `jax.jit(jax.value_and_grad(loss))`,
or with --update a jitted function returning the loss and the updated parameters (donated, so XLA may
update them in place). Every step ends with block_until_ready. Threads: the process is pinned to T CPUs;
with one thread XLA's multi-threaded Eigen is off and intra_op_parallelism_threads=1. The first
--warmup steps (compilation included) are not timed.
"""
import time

import peer_common as pc

a = pc.backprop_args(__doc__)
pc.limit_threads(a.threads, jax=True)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

LR = 0.01
key = jax.random.PRNGKey(0)


def split():
    global key
    key, sub = jax.random.split(key)
    return sub


def he(rows, cols):
    return jax.random.normal(split(), (rows, cols), jnp.float32) * (2.0 / rows) ** 0.5


def build(model, batch):
    """Returns (trainable parameters, constant inputs, loss(params, inputs))."""
    if model == "mlp":
        widths = [784, 1024, 1024, 10]
        params = []
        for i in range(3):
            params += [he(widths[i], widths[i + 1]), jnp.zeros(widths[i + 1], jnp.float32)]
        inputs = (jax.random.normal(split(), (batch, 784), jnp.float32),
                  jax.random.randint(split(), (batch,), 0, 10))

        def loss(p, inp):
            x, y = inp
            h = x
            for i in range(3):
                h = h @ p[2 * i] + p[2 * i + 1]
                if i < 2:
                    h = jax.nn.relu(h)
            logp = jax.nn.log_softmax(h)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
        return params, inputs, loss
    if model == "cnn":
        # NHWC images and HWIO filters, as ours.
        params = []
        for cin, cout in ((1, 6), (6, 16)):
            params += [jax.random.normal(split(), (5, 5, cin, cout), jnp.float32) * (2.0 / (25 * cin)) ** 0.5,
                       jnp.zeros(cout, jnp.float32)]
        widths = [400, 120, 84, 10]
        for i in range(3):
            params += [he(widths[i], widths[i + 1]), jnp.zeros(widths[i + 1], jnp.float32)]
        inputs = (jax.random.normal(split(), (batch, 28, 28, 1), jnp.float32),
                  jax.random.randint(split(), (batch,), 0, 10))

        def pool(h):
            return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

        def loss(p, inp):
            x, y = inp
            h = x
            for i, pad in enumerate((2, 0)):
                h = jax.lax.conv_general_dilated(h, p[2 * i], (1, 1), [(pad, pad), (pad, pad)],
                                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
                h = pool(jax.nn.relu(h + p[2 * i + 1]))
            h = h.reshape(h.shape[0], 400)
            for i in range(3):
                h = h @ p[4 + 2 * i] + p[5 + 2 * i]
                if i < 2:
                    h = jax.nn.relu(h)
            logp = jax.nn.log_softmax(h)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
        return params, inputs, loss
    if model == "char":
        V, T, D, H = 70, 32, 64, 4
        limit = (6.0 / (2 * D)) ** 0.5
        params = [jax.random.normal(split(), (V, D), jnp.float32) / D ** 0.5,
                  jax.random.normal(split(), (T, D), jnp.float32) * 0.02]
        params += [jax.random.uniform(split(), (D, D), jnp.float32, -limit, limit) for _ in range(4)]
        lv = (6.0 / (D + V)) ** 0.5
        params += [jnp.ones(D, jnp.float32), jnp.zeros(D, jnp.float32),
                   jax.random.uniform(split(), (D, V), jnp.float32, -lv, lv), jnp.zeros(V, jnp.float32)]
        inputs = (jax.random.randint(split(), (batch, T), 0, V), jax.random.randint(split(), (batch,), 0, V))
        mask = jnp.triu(jnp.full((T, T), -1e9, jnp.float32), k=1)

        def loss(p, inp):
            x, y = inp
            emb, pos, wq, wk, wv, wo, gamma, beta, w, b = p
            h = emb[x] + pos

            def heads(t):
                return t.reshape(batch, T, H, D // H).transpose(0, 2, 1, 3)
            q, k, v = heads(h @ wq), heads(h @ wk), heads(h @ wv)
            att = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) * (1 / (D // H) ** 0.5) + mask, axis=-1) @ v
            h = h + att.transpose(0, 2, 1, 3).reshape(batch, T, D) @ wo
            mu = h.mean(-1, keepdims=True)
            var = ((h - mu) ** 2).mean(-1, keepdims=True)
            h = (h - mu) / jnp.sqrt(var + 1e-5) * gamma + beta
            logp = jax.nn.log_softmax(h[:, -1] @ w + b)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
        return params, inputs, loss
    if model == "wide":
        K = a.branches
        params = [he(1024, 1024) for _ in range(2 * K)]
        inputs = tuple(jax.random.normal(split(), (batch, 1024), jnp.float32) for _ in range(K))

        def loss(p, xs):
            return sum(jnp.sum(jax.nn.relu(xs[k] @ p[2 * k]) @ p[2 * k + 1]) for k in range(K))
        return params, inputs, loss
    if model == "deep":
        params = []
        for _ in range(100):
            params += [he(64, 64), jnp.zeros(64, jnp.float32)]
        inputs = jax.random.normal(split(), (batch, 64), jnp.float32)

        def loss(p, x):
            h = x
            for i in range(100):
                h = jax.nn.relu(h @ p[2 * i] + p[2 * i + 1])
            return jnp.sum(h)
        return params, inputs, loss
    # small-ops: the x_b are differentiated too, so they are "parameters" here
    B, OPS = 50, 40
    xs = [jax.random.normal(split(), (64,), jnp.float32) for _ in range(B)]
    ws = [jax.random.uniform(split(), (64,), jnp.float32) * 0.5 + 0.75 for _ in range(B)]

    def loss(p, _):
        total = 0.0
        for b in range(B):
            x, w = p[b], p[B + b]
            h = x
            for i in range(OPS):
                if i % 3 == 0:
                    h = jnp.tanh(h)
                elif i % 3 == 1:
                    h = h * w
                else:
                    h = h + x
            total = total + jnp.sum(h)
        return total
    return xs + ws, (), loss


params, inputs, loss_fn = build(a.model, a.batch)
grad_fn = jax.value_and_grad(loss_fn)

if a.update:
    def train_step(p, inp):
        value, grads = grad_fn(p, inp)
        return value, [w - LR * g for w, g in zip(p, grads)]
    step_fn = jax.jit(train_step, donate_argnums=0)

    def step():
        global params
        value, params = step_fn(params, inputs)
        jax.block_until_ready(params)
        return value
else:
    step_fn = jax.jit(grad_fn)

    def step():
        value, grads = step_fn(params, inputs)
        jax.block_until_ready(grads)
        return value

t0 = time.perf_counter()
step()
compile_s = time.perf_counter() - t0
for _ in range(max(0, a.warmup - 1)):
    step()
times = []
for _ in range(a.repeat):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
pc.report("jax", a, times, {"version": jax.__version__, "first_step_s": compile_s,
                            "xla_flags": __import__("os").environ.get("XLA_FLAGS", "")})
