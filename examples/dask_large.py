"""A forward and backward pass over more data than would fit at once, with Dask.

The logits x (rows x columns, float32) come from Dask's random generator chunk
by chunk and are never materialised whole; fastact's calls on them return lazy
Dask arrays, computed one chunk at a time when the two results (a loss and a
gradient's norm) are asked for:

    h = mish(x);  lp = log_softmax(h, axis=1);  loss = -mean(lp[:, 0])
    dx = mish.backward(log_softmax.backward(dlp, lp, axis=1), x)

It prints the process's peak resident memory (VmHWM) before and after the
computation beside the size the input alone would take if materialised.

    python examples/dask_large.py                      # 2e8 elements (800 MB as float32)
    python examples/dask_large.py --elements 1e9       # 4 GB, the docs' size
    python examples/dask_large.py --json               # one JSON line (for tests)
    python examples/dask_large.py --workers 2          # a local dask.distributed cluster
"""
import argparse
import json
import resource
import time

import numpy as np
import dask
import dask.array as da

import fastact as fa


def peak_rss_mb():
    """This process's peak resident set size so far, in MB: Linux's VmHWM, which
    starts afresh at exec (getrusage's ru_maxrss keeps the peak of the process that
    started this one, a test runner's say); elsewhere ru_maxrss."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024          # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024    # KiB on Linux


def build(elements, chunk, columns, seed=0):
    """The lazy loss and gradient norm over a (elements / columns, columns) array."""
    rows = int(elements) // columns
    rows_per_chunk = max(1, int(chunk) // columns)
    x = da.random.default_rng(seed).standard_normal(
        (rows, columns), chunks=(rows_per_chunk, columns), dtype=np.float32)
    h = fa.mish(x)                                   # elementwise: chunk by chunk
    lp = fa.log_softmax(h, axis=1)                   # each row whole in its chunk
    loss = -lp[:, 0].mean(dtype=np.float64)          # cross-entropy, target class 0
    # d loss / d lp: -1 / rows in column 0, 0 elsewhere (broadcast, never materialised)
    dlp = da.where(da.arange(columns) == 0, np.float32(-1.0 / rows), np.float32(0.0))
    dx = fa.mish.backward(fa.log_softmax.backward(dlp[None, :], lp, axis=1), x)
    grad_norm = da.sqrt((dx * dx).sum(dtype=np.float64))
    return x, loss, grad_norm


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elements", type=float, default=2e8)
    parser.add_argument("--chunk", type=float, default=1e7, help="elements per chunk")
    parser.add_argument("--columns", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=0,
                        help="run on a local dask.distributed cluster of this many worker "
                             "processes (default: Dask's threaded scheduler)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)

    x, loss, grad_norm = build(args.elements, args.chunk, args.columns)
    materialised = x.nbytes / 2**20
    before = peak_rss_mb()
    start = time.perf_counter()
    workers_peak = None
    if args.workers:
        from dask.distributed import Client, LocalCluster
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, host="127.0.0.1") as cluster, \
                Client(cluster) as client:
            loss_value, norm = dask.compute(loss, grad_norm)
            workers_peak = sorted(client.run(peak_rss_mb).values())
    else:
        loss_value, norm = dask.compute(loss, grad_norm, scheduler="threads")
    seconds = time.perf_counter() - start
    report = {"elements": int(x.size), "chunk_elements": int(np.prod(x.chunksize)),
              "chunks": int(np.prod(x.numblocks)), "materialised_mb": round(materialised, 1),
              "peak_rss_before_mb": round(before, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
              "workers_peak_rss_mb": workers_peak, "seconds": round(seconds, 2),
              "loss": float(loss_value), "grad_norm": float(norm)}
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['elements']:.3g} float32 elements in {report['chunks']} chunks of "
          f"{report['chunk_elements']:.3g}: {materialised:.0f} MB if materialised")
    print(f"loss {report['loss']:.6f}, gradient norm {report['grad_norm']:.6g}, "
          f"{seconds:.1f} s")
    print(f"peak RSS: {before:.0f} MB before computing, {report['peak_rss_mb']:.0f} MB after")
    if workers_peak:
        print(f"workers' peak RSS: {', '.join(f'{v:.0f} MB' for v in workers_peak)}")


if __name__ == "__main__":
    main()
