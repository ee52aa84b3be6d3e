"""UBER-GNN's readout variants (V1-V4) against SR-GNN on planted synthetic sessions, over seeds.

Generates ``make_sessions`` data (the seed drives the data and the models), splits the sessions in
time (the last 20 % are the test set), trains SR-GNN (``readout="local"`` without user columns) and
UBER-GNN V1-V4 with the portrait, and prints P@20 / MRR@20 per seed and mean ± sample std.

Examples
--------
The ``ubergnn demo`` settings, three seeds::

    python benchmarks/ubergnn_variants.py --seeds 0 1 2

Data where the click that matters depends on the user (see ``make_sessions(anchored_segments=...)``)::

    python benchmarks/ubergnn_variants.py --seeds 0 1 2 --n-sessions 20000 --n-items 500 --anchored-segments 0.5
"""
import argparse
import os
import statistics
import sys
from pathlib import Path

import pandas as pd
import torch

VARIANTS = ("sr-gnn", "mean", "local", "user", "hybrid")


def split(n_sessions, n_items, anchored_segments, seed):
    """(X_train, y_train, X_test, y_test): per-prefix frames with the session and the user's portrait."""
    from sklearn_ubergnn.datasets import make_sessions
    from sklearn_ubergnn.preprocessing import session_prefixes

    sessions, session_users, users = make_sessions(
        n_sessions=n_sessions, n_items=n_items, anchored_segments=anchored_segments, random_state=seed
    )
    cut = int(0.8 * len(sessions))

    def frame(part, offset):
        X, y, index = session_prefixes(part, return_session_index=True)
        rows = users.loc[session_users[offset + index]].reset_index(drop=True)
        rows.insert(0, "session", pd.Series(X, dtype=object))
        return rows, y

    return (*frame(sessions[:cut], 0), *frame(sessions[cut:], cut))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-sessions", type=int, default=4000)
    parser.add_argument("--n-items", type=int, default=100)
    parser.add_argument("--anchored-segments", type=float, default=0.0)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sklearn_ubergnn import UberGNNRecommender
    from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k

    # caps the estimators' n_jobs=None (usable CPUs) and torch work outside them

    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    torch.set_num_threads(args.threads)
    scores = {name: [] for name in args.variants}
    for seed in args.seeds:
        X, y, X_test, y_test = split(args.n_sessions, args.n_items, args.anchored_segments, seed)
        for name in args.variants:
            no_users = {"categorical_columns": [], "continuous_columns": []} if name == "sr-gnn" else {}
            model = UberGNNRecommender(
                readout="local" if name == "sr-gnn" else name, hidden_size=args.hidden, max_epochs=args.epochs,
                lr=args.lr, random_state=seed, **no_users,
            ).fit(X, y)
            top = model.recommend(X_test, k=20)
            scores[name].append((100 * precision_at_k(y_test, top, k=20), 100 * mrr_at_k(y_test, top, k=20)))
            print(f"seed {seed}  {name:7s} P@20 {scores[name][-1][0]:6.2f}  MRR@20 {scores[name][-1][1]:6.2f}",
                  flush=True)

    def summary(values):
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.2f} ± {spread:.2f}"

    print("\n| model | P@20 | MRR@20 |\n|---|---|---|")
    for name, rows in scores.items():
        print(f"| {name} | {summary([p for p, _ in rows])} | {summary([m for _, m in rows])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
