"""Time the flat session-graph builder against a per-session loop, in one run.

The baseline is what SR-GNN's data loader does: one Python iteration per session building its dense
``A_out``/``A_in`` (here :func:`~sklearn_ubergnn.graphs.session_adjacency`). The package's
:func:`~sklearn_ubergnn.graphs.build_session_graphs` builds all sessions at once with whole-array numpy.
Both run on the same sessions (every training prefix of YOOCHOOSE 1/64 when the data are present,
else ``make_sessions``); the per-session loop runs on the first ``--loop-sessions`` only and is
reported per session, so the ratio compares like with like.

Usage::

    python benchmarks/session_graphs.py [--data ../shared/data/yoochoose1_64] [--loop-sessions 20000]
"""
import argparse
import time
from pathlib import Path

import numpy as np

from sklearn_ubergnn.graphs import build_session_graphs, session_adjacency
from sklearn_ubergnn.preprocessing import session_prefixes
from sklearn_ubergnn.utils import FlatSessions, ItemVocabulary, check_sessions

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "yoochoose1_64"


def _sessions(folder):
    if Path(folder).exists():
        from sklearn_ubergnn.datasets import load_srgnn

        X, _ = session_prefixes(load_srgnn(folder).train_sessions)
        return X, f"YOOCHOOSE 1/64 training prefixes ({folder})"
    from sklearn_ubergnn.datasets import make_sessions

    sessions, _, _ = make_sessions(n_sessions=100_000, n_items=5000, random_state=0)
    X, _ = session_prefixes(sessions)
    return X, "make_sessions(n_sessions=100_000, n_items=5000) prefixes"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT))
    parser.add_argument("--loop-sessions", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    X, source = _sessions(args.data)
    flat = check_sessions(X)
    vocab = ItemVocabulary().fit(flat.items)
    codes = FlatSessions(vocab.transform(flat.items), flat.offsets)

    best = np.inf
    for _ in range(args.repeats):
        tic = time.perf_counter()
        batch = build_session_graphs(codes, vocab.classes_)
        best = min(best, time.perf_counter() - tic)
    n_loop = min(args.loop_sessions, len(X))
    tic = time.perf_counter()
    for session in X[:n_loop]:
        session_adjacency(session)
    loop = time.perf_counter() - tic

    per_flat, per_loop = best / len(X) * 1e6, loop / n_loop * 1e6
    print(f"data: {source}: {len(X):,} sessions, {batch.n_nodes:,} nodes, {batch.n_edges:,} edges")
    print(f"flat build (all sessions, best of {args.repeats}): {best:.3f} s = {per_flat:.2f} us/session")
    print(f"per-session dense loop ({n_loop:,} sessions): {loop:.3f} s = {per_loop:.2f} us/session")
    print(f"speed-up of the flat build: {per_loop / per_flat:.0f}x")


if __name__ == "__main__":
    main()
