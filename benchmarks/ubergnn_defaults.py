"""``UberGNNRecommender()`` with its defaults, fitted once and scored on a session split.

What a user gets from ``UberGNNRecommender(random_state=seed).fit(X, y)``: no setting is chosen
here and nothing is chosen on the test split (the estimator's own validation split and
``refit`` choose the epochs). Prints P@20, MRR@20 (percent, SR-GNN's conventions), the epochs
chosen, the fit time and the seconds per epoch, as one ``RESULT`` line.

Examples
--------
The issue #18 figures (YOOCHOOSE 1/64, no portraits; one line per seed)::

    python benchmarks/ubergnn_defaults.py --data yoochoose --seed 0

SR-GNN as published, in the same protocol (the later techniques switched off)::

    python benchmarks/ubergnn_defaults.py --data yoochoose --seed 0 --sr-gnn

MovieLens-100k sessions, sessions only (``--portraits`` adds the ``u.user`` columns: V4)::

    python benchmarks/ubergnn_defaults.py --data movielens --seed 0
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main(argv=None):
    here = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(here))
    from sklearn_ubergnn.benchmark._session import _resolve
    from sklearn_ubergnn.evaluation import load_session_split
    from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
    from sklearn_ubergnn.session import SR_GNN_PARAMS, UberGNNRecommender

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="yoochoose", help="yoochoose, movielens, or a folder / CSV")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="n_jobs (default: the estimator's choice)")
    parser.add_argument("--portraits", action="store_true", help="keep the user columns (MovieLens)")
    parser.add_argument("--sr-gnn", action="store_true", help="switch the post-SR-GNN techniques off")
    parser.add_argument("--set", default="{}", help="JSON of further parameters, e.g. '{\"refit\": false}'")
    args = parser.parse_args(argv)

    path, fmt, _ = _resolve(args.data)
    X, y, X_test, y_test = load_session_split(path, fmt)
    if isinstance(X, pd.DataFrame) and not args.portraits:
        X, X_test = X["session"].tolist(), X_test["session"].tolist()
    params = {**(SR_GNN_PARAMS if args.sr_gnn else {}), **json.loads(args.set)}
    model = UberGNNRecommender(random_state=args.seed, n_jobs=args.threads, verbose=1, **params)
    start = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - start
    ranked = model.recommend(X_test, k=20)
    p20 = 100 * precision_at_k(np.asarray(y_test), ranked, k=20)
    mrr20 = 100 * mrr_at_k(np.asarray(y_test), ranked, k=20)
    epochs = [row["dur"] for row in (model.selection_history_ or [])] + [row["dur"] for row in model.history_]
    print(f"RESULT data={args.data} seed={args.seed} params={json.dumps(params)} P@20={p20:.2f} MRR@20={mrr20:.2f} "
          f"best_epoch={model.best_epoch_} epochs_trained={len(epochs)} fit_s={fit_s:.0f} "
          f"s_per_epoch={np.mean(epochs):.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
