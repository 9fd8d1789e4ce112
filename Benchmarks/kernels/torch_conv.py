#!/usr/bin/env python3
"""PyTorch peer of `bench conv`: the LeNet-5 convolution and pooling kernels alone, batch 64.

For each layer (conv1 28x28x1->6, kernel 5, padding 2; conv2 14x14x6->16, kernel 5) it times, in
PyTorch's native NCHW layout (oneDNN on CPU): the forward convolution, the input gradient and the
filter gradient (aten.convolution_backward with one output at a time), then 2x2 max pooling forward
and backward (aten.max_pool2d_with_indices_backward). Median ms per call after warm-up; the process is
pinned to --threads CPUs, torch.set_num_threads(threads).
"""
import argparse
import json
import os
import statistics
import time

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--repeat", type=int, default=50)
p.add_argument("--json", action="store_true")
a = p.parse_args()
cpus = sorted(os.sched_getaffinity(0))
os.sched_setaffinity(0, cpus[:a.threads])
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(a.threads)

import torch  # noqa: E402

torch.set_num_threads(a.threads)
torch.manual_seed(0)
aten = torch.ops.aten


def median_ms(fn):
    for _ in range(3):
        fn()
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


rows = []
with torch.no_grad():
    for name, (h, cin, cout, pad) in (("conv1 28x28x1->6 k5 p2", (28, 1, 6, 2)), ("conv2 14x14x6->16 k5", (14, 6, 16, 0))):
        x = torch.randn(a.batch, cin, h, h)
        w = torch.randn(cout, cin, 5, 5)
        y = torch.nn.functional.conv2d(x, w, padding=pad)
        dy = torch.randn_like(y)
        oh = y.shape[2]
        flops = 2.0 * a.batch * oh * oh * cout * 25 * cin

        def backward(mask):
            return aten.convolution_backward(dy, x, w, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, mask)
        for op, fn in (("forward", lambda: torch.nn.functional.conv2d(x, w, padding=pad)),
                       ("backward input", lambda: backward([True, False, False])),
                       ("backward filter", lambda: backward([False, True, False]))):
            ms = median_ms(fn)
            rows.append({"op": f"{name} {op}", "median_ms": ms, "gflops": flops / ms / 1e6})
        pooled, indices = torch.nn.functional.max_pool2d(y, 2, return_indices=True)
        pdy = torch.randn_like(pooled)
        compares = float(y.numel())
        for op, fn in (("maxpool2 forward", lambda: torch.nn.functional.max_pool2d(y, 2)),
                       ("maxpool2 backward", lambda: aten.max_pool2d_with_indices_backward(pdy, y, [2, 2], [2, 2], [0, 0], [1, 1], False, indices))):
            ms = median_ms(fn)
            rows.append({"op": f"{name} {op}", "median_ms": ms, "gflops": compares / ms / 1e6})

print(f"pytorch {torch.__version__} conv2d and max pooling kernels, batch {a.batch}, threads={a.threads} (median of {a.repeat})")
for r in rows:
    print(f"{r['op']:<38} {r['median_ms']:8.3f} {r['gflops']:10.2f}")
if a.json:
    print(json.dumps({"system": "pytorch", "threads": a.threads, "batch": a.batch, "version": torch.__version__, "results": rows}))
