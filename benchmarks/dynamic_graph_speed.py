"""Time the dynamic interaction graph: appends stay O(new); sub-graphs of many targets at once.

Measures, on a synthetic stream (Zipf-like activity over ``--objects`` objects, many equal
timestamps):

* appending ``--batch`` interactions to a graph that already holds ``--small`` interactions and
  to one that holds ``--large`` (ms per append, median of ``--repeats``, and the ratio; an
  amortised O(new) append keeps the ratio near 1 whatever the graph size);
* extracting the sub-graphs of ``--targets`` target nodes at ``--hops`` hops (ms, nodes per
  sub-graph), with and without a ``max_nodes`` cap;
* peak resident memory of the process.

Usage::

    python benchmarks/dynamic_graph_speed.py [--large 1000000] [--small 10000] [--batch 1000]
"""
import argparse
import resource
import time

import numpy as np

from sklearn_ubergnn.graphs import DynamicInteractionGraph


def stream(n, n_objects, rng, start=0.0):
    weights = 1.0 / np.arange(1, n_objects + 1)
    weights /= weights.sum()
    src = rng.choice(n_objects, size=n, p=weights)
    dst = rng.choice(n_objects, size=n, p=weights)
    times = start + np.floor(np.cumsum(rng.exponential(0.5, size=n)))  # ~40 % ties
    return src, dst, times


def time_appends(graph, batch, repeats, n_objects, rng):
    timings = []
    for _ in range(repeats):
        src, dst, times = stream(batch, n_objects, rng, start=graph.last_time)
        t0 = time.perf_counter()
        graph.append(src, dst, times)
        timings.append((time.perf_counter() - t0) * 1e3)
    return np.median(timings), np.mean(timings)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--hops", type=int, default=3)
    parser.add_argument("--max-nodes", type=int, default=64)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    rows = []
    graphs = {}
    for size in (args.small, args.large):
        src, dst, times = stream(size, args.objects, rng)
        t0 = time.perf_counter()
        graph = DynamicInteractionGraph().append(src, dst, times)
        build = time.perf_counter() - t0
        median, mean = time_appends(graph, args.batch, args.repeats, args.objects, rng)
        rows.append((size, build, median, mean))
        graphs[size] = graph
    print(f"append {args.batch} interactions ({args.repeats} appends, {args.objects} objects)")
    print(f"{'graph size':>12} {'build s':>9} {'median ms':>10} {'mean ms':>9}")
    for size, build, median, mean in rows:
        print(f"{size:>12,} {build:>9.2f} {median:>10.3f} {mean:>9.3f}")
    print(f"ratio large/small (median): {rows[1][2] / rows[0][2]:.2f}")

    graph = graphs[args.large]
    targets = rng.integers(0, graph.n_nodes, size=args.targets)
    for cap in (None, args.max_nodes):
        t0 = time.perf_counter()
        batch = graph.subgraphs(targets, n_hops=args.hops, max_nodes=cap)
        ms = (time.perf_counter() - t0) * 1e3
        lengths = batch.lengths
        print(f"subgraphs of {args.targets:,} targets, n_hops={args.hops}, max_nodes={cap}: {ms:.1f} ms, "
              f"{batch.n_nodes:,} nodes (mean {lengths.mean():.1f}, max {lengths.max()}, "
              f"max level {batch.level.max()})")
    t0 = time.perf_counter()
    graph.target_node(rng.integers(0, args.objects, size=args.targets), time=graph.last_time / 2)
    print(f"target_node of {args.targets:,} objects at a time: {(time.perf_counter() - t0) * 1e3:.1f} ms "
          "(first call sorts the by-object index)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
