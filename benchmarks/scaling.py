"""Memory (peak RSS) and time as data grow 1x, 10x, 100x: graph builders, recommenders, loaders.

Every measurement runs in a fresh Python process (this script calling itself with ``--child``),
so one run's memory never inflates the next. Two memory figures per step:

- **step peak**: the process's peak resident set size *during the step*. The child builds its
  inputs first, then resets the kernel's high-water mark (``echo 5 > /proc/self/clear_refs``)
  and reads ``VmHWM`` from ``/proc/self/status`` after the step;
- **step extra**: step peak minus the resident size just before the step (the inputs, Python,
  numpy, pandas and torch), i.e. what the step itself needs;

plus, per child, the whole process's peak (the largest ``VmHWM`` seen before each reset, and
``ru_maxrss`` of ``resource.getrusage``, what ``/usr/bin/time -v`` reports), which also counts
data generation. Where the kernel refuses ``clear_refs``, the step
figures fall back to the process peak so far.

Cases (``--cases``; each at every scale ``s`` of ``--scales``):

``session_graphs``
    ``build_session_graphs`` on every prefix of ``make_sessions(n_sessions=10_000 x s, n_items=5_000)``.
``session_knn``
    ``SessionKNNRecommender`` fit on those prefixes; recommend (k=20) 2,000 held-out prefixes.
``ubergnn``
    ``UberGNNRecommender`` (hidden 100, batch 100, one thread): one training epoch; recommend 2,000.
``ubergnn_catalogue``
    The same on 20,000 fixed prefixes, the catalogue 1,000 x s items (the full-softmax limit).
``dynamic_graph``
    ``DynamicInteractionGraph.from_interactions`` on ``make_interactions(20_000 x s)``, then the 2-hop
    sub-graphs (``max_nodes=32``) of 2,000 objects' latest nodes.
``bipartite``
    ``build_bipartite_graph`` on ``make_bipartite(n_users=2_000 x s)`` (about 20 edges per user).
``loader``
    ``load_session_csv`` of a CSV of ``100_000 x s`` clicks, whole and with ``chunksize=100_000``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/scaling.py                 # 1x, 10x, 100x (12 min on 2 busy cores)
    OMP_NUM_THREADS=1 python benchmarks/scaling.py --quick         # 0.1x, 1x (1-3 minutes)
    python benchmarks/scaling.py --cases ubergnn --scales 100 --timeout 3600   # the 100x epoch (long)

``ubergnn`` at 100x (2.4 million prefixes) is left out of the default run: its epoch alone takes
7-11 minutes on one busy core (time linear in the number of prefixes; see docs/scaling.md).
"""

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = (
    "session_graphs",
    "session_knn",
    "ubergnn",
    "ubergnn_catalogue",
    "dynamic_graph",
    "bipartite",
    "loader",
)
SKIP_BY_DEFAULT = {("ubergnn", 100)}  # run explicitly with --scales 100 --cases ubergnn
N_QUERIES = 2_000


# ----------------------------------------------------------------------------------- child side
def _status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Steps:
    """Time and memory of the named steps of one child run."""

    def __init__(self):
        self.rows, self.info = [], {}
        self.process_peak = 0.0  # resetting VmHWM also resets what getrusage reports: keep the maximum here

    def peak_so_far(self):
        return max(
            self.process_peak, _status_mib("VmHWM"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )

    def run(self, name, fn, *args, **kwargs):
        gc.collect()
        self.process_peak = self.peak_so_far()
        before = _status_mib("VmRSS")
        reset = _reset_peak()
        tic = time.perf_counter()
        out = fn(*args, **kwargs)
        seconds = time.perf_counter() - tic
        peak = _status_mib("VmHWM")
        self.rows.append(
            {
                "step": name,
                "seconds": seconds,
                "peak_mib": peak,
                "extra_mib": peak - before,
                "hwm_reset": reset,
            }
        )
        return out


def _sessions(scale, cache, extra_sessions=0):
    """(FlatSessions X, y) of every prefix of make_sessions(10_000 x scale, 5_000 items), cached on disk."""
    from sklearn_ubergnn.utils import FlatSessions

    n_sessions = int(10_000 * scale)
    path = Path(cache) / f"sessions_{n_sessions}_{extra_sessions}.npz"
    if not path.exists():
        from sklearn_ubergnn.datasets import make_sessions
        from sklearn_ubergnn.preprocessing import session_prefixes

        sessions, _, _ = make_sessions(n_items=5_000, n_sessions=n_sessions + extra_sessions, random_state=0)
        arrays = {}
        parts = [("train", sessions[:n_sessions])] + (
            [("test", sessions[n_sessions:])] if extra_sessions else []
        )
        for part, chunk in parts:
            X, y = session_prefixes(chunk)
            lengths = np.fromiter((len(s) for s in X), dtype=np.int64, count=len(X))
            arrays[f"{part}_items"] = np.fromiter(
                (v for s in X for v in s), dtype=np.int64, count=lengths.sum()
            )
            arrays[f"{part}_offsets"] = np.concatenate([[0], np.cumsum(lengths)])
            arrays[f"{part}_y"] = np.asarray(y, dtype=np.int64)
        np.savez(path, **arrays)
    data = np.load(path)
    train = FlatSessions(data["train_items"], data["train_offsets"])
    test = FlatSessions(data["test_items"], data["test_offsets"]) if extra_sessions else None
    return train, data["train_y"], test


def case_session_graphs(scale, cache, steps):
    from sklearn_ubergnn.graphs import build_session_graphs
    from sklearn_ubergnn.utils import FlatSessions, ItemVocabulary

    X, _, _ = _sessions(scale, cache)
    vocab = ItemVocabulary().fit(X.items)
    codes = FlatSessions(vocab.transform(X.items), X.offsets)
    batch = steps.run("build", build_session_graphs, codes, vocab.classes_)
    steps.info.update(
        sessions=len(X),
        clicks=len(X.items),
        nodes=batch.n_nodes,
        edges=batch.n_edges,
        items=len(vocab.classes_),
    )


def case_session_knn(scale, cache, steps):
    from sklearn_ubergnn import SessionKNNRecommender

    X, y, test = _sessions(scale, cache, extra_sessions=1_000)
    queries = test.take(np.arange(min(N_QUERIES, len(test))))
    est = steps.run("fit", SessionKNNRecommender().fit, X, y)
    steps.run(f"recommend {len(queries):,}", est.recommend, queries, k=20)
    steps.info.update(sessions=len(X), clicks=len(X.items), items=est.n_items_)


def _ubergnn(X, y, queries, steps):
    import torch

    from sklearn_ubergnn import UberGNNRecommender

    torch.set_num_threads(1)
    est = UberGNNRecommender(
        hidden_size=100, batch_size=100, max_epochs=1, validation_fraction=None, random_state=0
    )
    steps.run("fit, 1 epoch", est.fit, X, y)
    steps.run(f"recommend {len(queries):,}", est.recommend, queries, k=20)
    steps.info.update(sessions=len(X), clicks=len(X.items), items=est.n_items_)


def case_ubergnn(scale, cache, steps):
    X, y, test = _sessions(scale, cache, extra_sessions=1_000)
    _ubergnn(X, y, test.take(np.arange(min(N_QUERIES, len(test)))), steps)


def case_ubergnn_catalogue(scale, cache, steps):
    """20,000 prefixes of 5 clicks whose items cover a catalogue of 1,000 x scale items exactly."""
    from sklearn_ubergnn.utils import FlatSessions

    n_items, n_samples, length = int(1_000 * scale), 20_000, 5
    rng = np.random.default_rng(0)
    clicks = rng.permutation(
        np.resize(np.arange(n_items), n_samples * length)
    )  # each item >= once up to 100k
    X = FlatSessions(clicks.astype(np.int64), np.arange(0, n_samples * length + 1, length, dtype=np.int64))
    y = rng.integers(0, n_items, n_samples)
    _ubergnn(X, y, X.take(np.arange(N_QUERIES)), steps)


def case_dynamic_graph(scale, cache, steps):
    from sklearn_ubergnn.datasets import make_interactions
    from sklearn_ubergnn.graphs import DynamicInteractionGraph

    n = int(20_000 * scale)
    df = make_interactions(n_objects=max(100, n // 20), n_interactions=n, random_state=0)
    src, dst, t = df["source"].to_numpy(), df["target"].to_numpy(), df["time"].to_numpy()
    graph = steps.run("build", DynamicInteractionGraph.from_interactions, src, dst, t)
    objects = np.random.default_rng(0).choice(graph.n_objects, size=N_QUERIES)  # object codes
    targets = graph.target_node(objects)
    batch = steps.run(f"sub-graphs of {N_QUERIES:,}", graph.subgraphs, targets, n_hops=2, max_nodes=32)
    steps.info.update(
        interactions=len(graph),
        nodes=graph.n_nodes,
        objects=graph.n_objects,
        subgraph_nodes=int(batch.n_nodes),
    )


def case_bipartite(scale, cache, steps):
    from sklearn_ubergnn.datasets import make_bipartite
    from sklearn_ubergnn.graphs import build_bipartite_graph

    n_users = int(2_000 * scale)
    out = make_bipartite(n_users=n_users, n_items=n_users * 3 // 2, random_state=0)
    edges = out[0] if isinstance(out, tuple) else out
    user, item = edges["user"].to_numpy(), edges["item"].to_numpy()
    graph = steps.run("build", build_bipartite_graph, user, item, n_users, n_users * 3 // 2)
    steps.info.update(users=n_users, items=n_users * 3 // 2, edges=graph.n_edges)


def _click_file(scale, cache):
    """CSV of 100_000 x scale clicks (session,item,time,user) from make_sessions, lines shuffled."""
    n_clicks = int(100_000 * scale)
    path = Path(cache) / f"clicks_{n_clicks}.csv"
    if not path.exists():
        import pandas as pd

        from sklearn_ubergnn.datasets import make_sessions

        sessions, session_users, _ = make_sessions(
            n_items=5_000, n_users=10_000, n_sessions=int(n_clicks / 3.2) + 10, random_state=0
        )
        lengths = np.fromiter((len(s) for s in sessions), dtype=np.int64, count=len(sessions))
        session = np.repeat(np.arange(len(sessions)), lengths)[:n_clicks]
        frame = pd.DataFrame(
            {
                "session": session,
                "item": np.fromiter((v for s in sessions for v in s), dtype=np.int64, count=lengths.sum())[
                    :n_clicks
                ],
                "time": 1.4e9 + 60.0 * np.arange(n_clicks),
                "user": np.asarray(session_users)[session],
            }
        ).sample(frac=1.0, random_state=0)
        frame.to_csv(path, index=False)
    return path


def case_loader(scale, cache, steps, chunksize=None):
    from sklearn_ubergnn.datasets import load_session_csv

    path = _click_file(scale, cache)
    kw = dict(session_col="session", item_col="item", time_col="time", user_col="user")
    name = "whole file" if chunksize is None else f"chunksize={chunksize:,}"
    sessions, meta = steps.run(name, load_session_csv, path, chunksize=chunksize, **kw)
    # the output itself: list objects, int objects (one per click: tolist() makes new ones) and meta
    output = sum(map(sys.getsizeof, sessions)) + sum(sys.getsizeof(v) for s in sessions for v in s)
    output += meta.memory_usage(deep=True).sum()
    steps.info.update(
        clicks=sum(map(len, sessions)),
        sessions=len(sessions),
        file_mib=round(path.stat().st_size / 2**20, 1),
        output_mib=round(output / 2**20, 1),
    )


def case_loader_chunked(scale, cache, steps):
    case_loader(scale, cache, steps, chunksize=100_000)


def child(case, scale, cache):
    steps = Steps()
    globals()[f"case_{case}"](scale, cache, steps)
    print(json.dumps({"rows": steps.rows, "info": steps.info, "process_peak_mib": steps.peak_so_far()}))


# ---------------------------------------------------------------------------------- parent side
def run_child(case, scale, cache, timeout):
    """Run one case in a fresh process; the figures it prints (JSON, last line of its output)."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    cmd = [sys.executable, __file__, "--child", case, str(scale), cache]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    tic = time.perf_counter()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"case": case, "scale": scale, "error": f"timed out after {timeout} s"}
    wall = time.perf_counter() - tic
    if proc.returncode != 0:
        return {
            "case": case,
            "scale": scale,
            "error": err.strip().splitlines()[-1] if err.strip() else "failed",
        }
    result = json.loads(out.strip().splitlines()[-1])
    result.update(case=case, scale=scale, wall=wall)
    return result


def _fmt_info(info):
    return ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in info.items())


def table(results):
    lines = [
        "| case | scale | size | step | seconds | step peak RSS (MiB) | step extra (MiB) "
        "| process peak (MiB) |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['case']} | {r['scale']:g}x | | {r['error']} | | | | |")
            continue
        for i, row in enumerate(r["rows"]):
            size = _fmt_info(r["info"]) if i == 0 else ""
            lines.append(
                f"| {r['case']} | {r['scale']:g}x | {size} | {row['step']} | {row['seconds']:.2f} | "
                f"{row['peak_mib']:,.0f} | {row['extra_mib']:,.0f} | {r['process_peak_mib']:,.0f} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("CASE", "SCALE", "CACHE"), help=argparse.SUPPRESS)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument(
        "--scales", nargs="+", type=float, default=None, help="default 1 10 100 (--quick: 0.1 1)"
    )
    parser.add_argument("--quick", action="store_true", help="scales 0.1x and 1x only (a smoke test)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per child process")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.child:
        case, scale, cache = args.child
        return child(case, float(scale), cache)
    scales = args.scales or ([0.1, 1] if args.quick else [1, 10, 100])
    explicit = args.scales is not None
    results = []
    with tempfile.TemporaryDirectory(prefix="ubergnn-scaling-") as cache:
        for case in args.cases:
            for scale in scales:
                if (case, scale) in SKIP_BY_DEFAULT and not (explicit and args.cases == [case]):
                    continue
                subcases = ["loader", "loader_chunked"] if case == "loader" else [case]
                for sub in subcases:
                    r = run_child(sub, scale, cache, args.timeout)
                    r["case"] = case
                    results.append(r)
                    status = r.get("error") or ", ".join(
                        f"{x['step']} {x['seconds']:.2f} s" for x in r["rows"]
                    )
                    print(f"{case} {scale:g}x: {status}", file=sys.stderr, flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
