"""Speed and accuracy of UberGNNRecommender on an SR-GNN split (YOOCHOOSE 1/64 by default).

The network is the estimator's defaults (``--sr-gnn``: SR-GNN's, ``--set``: any parameter), trained
for exactly ``--epochs`` epochs (``refit=False``; ``--validation-fraction`` adds early stopping).
Trains on every prefix of ``all_train_seq.txt`` (369,859 samples for YOOCHOOSE 1/64, SR-GNN's
``train.txt``), ranks the test prefixes of ``test.txt`` and prints:

- seconds per training epoch (skorch's ``dur`` per epoch, data batching included),
- recommend throughput (test sessions per second, top 20, batches of ``--batch-size``),
- P@20 and MRR@20 in percent (SR-GNN's conventions: P@20 = target in the top 20),
- peak resident memory of the process (``resource.getrusage``), before and after ``recommend``.

Examples
--------
The data flat end to end (issue #16: no Python list of sessions; ``--clicks`` fits from a long
click table through ``FlatSessions.from_frame``, written once by ``--write-clicks``)::

    python benchmarks/ubergnn_speed.py --write-clicks /tmp/yoochoose1_64_clicks.csv
    python benchmarks/ubergnn_speed.py --epochs 1 --threads 1 --sr-gnn --clicks /tmp/yoochoose1_64_clicks.csv
    python benchmarks/ubergnn_speed.py --epochs 1 --threads 1 --sr-gnn --flat   # the SR-GNN pickles, flat

Quick check (the 20k most recent training samples, 1 epoch)::

    python benchmarks/ubergnn_speed.py --max-train 20000 --epochs 1

The SR-GNN comparison (SR-GNN's network, hidden 100, batch 100, lr 1e-3 decayed x0.1 every 3
epochs, all data; drop ``--sr-gnn`` for the defaults' network)::

    python benchmarks/ubergnn_speed.py --epochs 10 --validation-fraction 0 --sr-gnn

A synthetic catalogue of 50,000 items and about 500,000 training prefixes (``make_sessions``;
the last 10 % of the sessions are the test set)::

    python benchmarks/ubergnn_speed.py --synthetic 50000 500000 --epochs 1 --threads 1

The scale of the larger session benchmarks (issue #18: 720k prefixes, 43k items), one idle epoch
with the estimator's own thread choice::

    python benchmarks/ubergnn_speed.py --synthetic 43000 720000 --epochs 1 --max-test 50000
"""
import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np


def peak_rss_mb():
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _last(X, n):
    """The last ``n`` sessions of a list or a FlatSessions."""
    return X.take(np.arange(max(len(X) - n, 0), len(X))) if hasattr(X, "take") else X[-n:]


def _first(X, n):
    """The first ``n`` sessions of a list or a FlatSessions."""
    return X.take(np.arange(min(n, len(X)))) if hasattr(X, "take") else X[:n]


def main(argv=None):
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(here.parent / "shared" / "data" / "yoochoose1_64"),
                        help="folder with SR-GNN's all_train_seq.txt and test.txt")
    parser.add_argument("--synthetic", type=int, nargs=2, metavar=("N_ITEMS", "N_PREFIXES"), default=None,
                        help="use make_sessions with this many items and about this many training prefixes "
                             "instead of --data")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--max-train", type=int, default=None,
                        help="use only the N most recent training samples (quick mode)")
    parser.add_argument("--max-test", type=int, default=None, help="use only the first N test samples")
    parser.add_argument("--sr-gnn", action="store_true",
                        help="SR-GNN's network: the post-SR-GNN techniques of the defaults switched off")
    parser.add_argument("--set", default="{}",
                        help="JSON of further parameters, e.g. '{\"readout\": \"mean\"}'")
    parser.add_argument("--validation-fraction", type=float, default=0.0,
                        help="held-out share for early stopping; 0 trains on everything (SR-GNN)")
    parser.add_argument("--threads", type=int, default=None,
                        help="n_jobs of the estimator, torch threads during its calls (default: its own choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--flat", action="store_true",
                        help="keep the data flat end to end: load_srgnn(as_flat=True), session_prefixes("
                             "as_flat=True), FlatSessions to fit and recommend; no Python list of sessions")
    parser.add_argument("--clicks", default=None, metavar="CSV",
                        help="train on this long click table (columns session, item, time; see --write-clicks): "
                             "pandas.read_csv, FlatSessions.from_frame, session_prefixes(as_flat=True); the test "
                             "prefixes of --data are loaded flat after fit")
    parser.add_argument("--write-clicks", default=None, metavar="CSV",
                        help="write the training sessions of --data as a long click table (one row per click: "
                             "session = position in all_train_seq.txt, item, time = position in the session) "
                             "and exit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(here))
    import pandas as pd

    from sklearn_ubergnn.datasets import FlatSessions, load_srgnn, make_sessions
    from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
    from sklearn_ubergnn.preprocessing import session_prefixes
    from sklearn_ubergnn.session import SR_GNN_PARAMS, UberGNNRecommender

    if args.synthetic:
        n_items, n_prefixes = args.synthetic
        # make_sessions' mean length 3.5 gives about 2.5 prefixes per session; 10 % more sessions for the test set
        n_sessions = int(n_prefixes / 2.5 / 0.9)
        sessions, _, _ = make_sessions(n_users=10_000, n_items=n_items, n_sessions=n_sessions,
                                       n_clusters=max(10, n_items // 500), popularity_exponent=0.5,
                                       random_state=args.seed)
        cut = int(0.9 * n_sessions)
        X, y = session_prefixes(sessions[:cut])
        X_test, y_test = session_prefixes(sessions[cut:])
        del sessions
    elif args.write_clicks:
        train = load_srgnn(args.data, as_flat=True).train_sessions
        position = np.arange(len(train.items)) - np.repeat(train.offsets[:-1], train.lengths)
        pd.DataFrame({"session": train.session_index, "item": train.items, "time": position}).to_csv(
            args.write_clicks, index=False)
        print(f"wrote {len(train.items):,} clicks of {len(train):,} sessions to {args.write_clicks}")
        return 0
    elif args.clicks:  # fit from a long click table; sessions sorted by id = all_train_seq.txt's order
        train = FlatSessions.from_frame(pd.read_csv(args.clicks), session="session", item="item", time="time")
        X, y = session_prefixes(train, order="srgnn", as_flat=True)
        del train
        X_test = y_test = None  # loaded after fit
    elif args.flat:
        data = load_srgnn(args.data, as_flat=True)
        X, y = session_prefixes(data.train_sessions, order="srgnn", as_flat=True)
        X_test, y_test = data.test_X, data.test_y
        del data
    else:
        data = load_srgnn(args.data)
        X, y = session_prefixes(data.train_sessions, order="srgnn")
        X_test, y_test = data.test_X, np.asarray(data.test_y)
    if args.max_train:  # files are in time order
        X, y = _last(X, args.max_train), y[-args.max_train :]

    def first_test(X_test, y_test):
        return (_first(X_test, args.max_test), y_test[: args.max_test]) if args.max_test else (X_test, y_test)

    if X_test is not None:
        X_test, y_test = first_test(X_test, y_test)
    print(f"train samples {len(X):,}  test samples {'after fit' if X_test is None else f'{len(X_test):,}'}  "
          f"n_jobs {args.threads}  peak RSS after loading {peak_rss_mb():.0f} MiB", flush=True)

    params = {**(SR_GNN_PARAMS if args.sr_gnn else {}), **json.loads(args.set)}
    model = UberGNNRecommender(
        hidden_size=args.hidden, batch_size=args.batch_size, max_epochs=args.epochs,
        validation_fraction=args.validation_fraction or None, refit=False, device=args.device,
        random_state=args.seed, verbose=args.verbose, n_jobs=args.threads, **params,
    )
    start = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - start
    epoch_s = [row["dur"] for row in model.history_]
    rss_fit = peak_rss_mb()
    if X_test is None:
        data = load_srgnn(args.data, as_flat=True)
        X_test, y_test = first_test(data.test_X, data.test_y)
        del data

    start = time.perf_counter()
    ranked = model.recommend(X_test, k=20)
    rec_s = time.perf_counter() - start
    p20, mrr20 = 100 * precision_at_k(y_test, ranked, k=20), 100 * mrr_at_k(y_test, ranked, k=20)
    print(f"items {model.n_items_:,}  epochs {len(epoch_s)}  fit {fit_s:.1f} s")
    print(f"s/epoch        {np.mean(epoch_s):.1f}  (per epoch: {', '.join(f'{s:.1f}' for s in epoch_s)})")
    print(f"recommend      {len(X_test) / rec_s:,.0f} sessions/s  ({rec_s:.1f} s for {len(X_test):,})")
    print(f"P@20           {p20:.2f}")
    print(f"MRR@20         {mrr20:.2f}")
    print(f"peak RSS       {rss_fit:.0f} MiB after fit, {peak_rss_mb():.0f} MiB after recommend")
    return 0


if __name__ == "__main__":
    sys.exit(main())
