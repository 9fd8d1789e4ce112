#!/usr/bin/env python3
"""PyTorch DistributedDataParallel (Gloo, CPU) peer of `bench train --distributed --data synthetic`.

--ranks N processes (torch.multiprocessing), each with --threads threads and pinned to its own share of
the CPUs (as `bench train --distributed` under `mpirun --bind-to none` splits a node's CPUs between its
ranks). Every rank builds the same seeded synthetic set and model (784-1024-1024-10 by default); each
global batch of N x --batch rows (--batch is per rank) is cut in N contiguous shares; DDP averages the
gradients in buckets of --bucket-mb MB (its default 25) during backward; plain SGD at --lr. One untimed
warm-up epoch, then --epochs timed epochs; rank 0 prints the global samples/s.
"""
import argparse
import json
import os
import socket
import sys
import time


def args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="784,1024,1024,10")
    p.add_argument("--batch", type=int, default=128, help="rows per rank per step")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="threads per rank")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--samples", type=int, default=6554, help="training rows (bench's default split of 8192)")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--bucket-mb", type=float, default=25)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    a.widths = [int(w) for w in a.model.split(",")]
    return a


def worker(rank, a, port):
    cpus = sorted(os.sched_getaffinity(0))
    share = cpus[rank * len(cpus) // a.ranks:(rank + 1) * len(cpus) // a.ranks] or cpus
    os.sched_setaffinity(0, share[:max(1, a.threads)] if len(share) >= a.threads else share)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import torch
    import torch.distributed as dist
    torch.set_num_threads(a.threads)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", rank=rank, world_size=a.ranks)

    g = torch.Generator().manual_seed(a.seed)
    w = a.widths
    X = torch.randn(a.samples, w[0], generator=g)
    teacher = torch.randn(w[0], w[-1], generator=g)
    Y = (X @ teacher).argmax(dim=1)
    torch.manual_seed(a.seed)
    layers = []
    for i in range(len(w) - 1):
        layers.append(torch.nn.Linear(w[i], w[i + 1]))
        if i < len(w) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(*layers), bucket_cap_mb=a.bucket_mb)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    glob = a.batch * a.ranks

    def epoch(e):
        perm = torch.randperm(a.samples, generator=torch.Generator().manual_seed(a.seed * 1000 + e))
        last = 0.0
        for start in range(0, a.samples, glob):
            rows = perm[start:start + glob]
            lo, hi = rank * len(rows) // a.ranks, (rank + 1) * len(rows) // a.ranks
            idx = rows[lo:hi]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
            last = loss.item()
        return last

    epoch(0)
    dist.barrier()
    t0 = time.perf_counter()
    for e in range(a.epochs):
        final = epoch(e + 1)
    dist.barrier()
    seconds = time.perf_counter() - t0
    if rank == 0:
        line = {"system": "pytorch-ddp-gloo", "model": a.model, "ranks": a.ranks, "threads": a.threads,
                "per_rank_batch": a.batch, "batch": glob, "epochs": a.epochs, "samples": a.samples * a.epochs,
                "seconds": seconds, "samples_per_s": a.samples * a.epochs / seconds, "final_loss": final,
                "bucket_mb": a.bucket_mb, "version": torch.__version__}
        print(json.dumps(line) if a.json else f"{line['samples_per_s']:.0f} samples/s ({a.ranks} ranks)")
        sys.stdout.flush()
    dist.destroy_process_group()


if __name__ == "__main__":
    a = args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import torch.multiprocessing as mp
    mp.spawn(worker, args=(a, port), nprocs=a.ranks, join=True)
