"""UBER-GNN with user portraits against SR-GNN
===========================================

UBER-GNN with user portraits: GridSearchCV on P@20/MRR@20, then save and reload with joblib.

Sessions from ``make_sessions`` carry a planted user segment that only the user portrait (region and
age band) reveals. The example tunes ``UberGNNRecommender``'s readout on P@20 and MRR@20 with
``GridSearchCV`` (``n_jobs=2``), compares the best model with SR-GNN (the same network without the
portrait) on later sessions, and checks that the model reloaded with joblib recommends identically.

Run ``python examples/ubergnn_user_portraits.py`` (``--quick`` for the small mode CI uses).
"""
import argparse
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_ubergnn import UberGNNRecommender
from sklearn_ubergnn.datasets import make_sessions
from sklearn_ubergnn.metrics import make_topk_scorer, mrr_at_k, precision_at_k
from sklearn_ubergnn.preprocessing import session_prefixes


def with_portraits(sessions, session_users, users):
    """Every prefix as a DataFrame row: the ``session`` column and the user's portrait columns."""
    X, y, session = session_prefixes(sessions, return_session_index=True)
    frame = users.loc[session_users[session]].reset_index(drop=True)
    frame.insert(0, "session", pd.Series(X, dtype=object))
    return frame, y


def main(quick=False):
    n_sessions = 800 if quick else 3000
    sessions, session_users, users = make_sessions(n_sessions=n_sessions, random_state=0)
    cut = int(0.8 * n_sessions)  # sessions come in time order: the last 20 % are the test set
    X, y = with_portraits(sessions[:cut], session_users[:cut], users)
    X_test, y_test = with_portraits(sessions[cut:], session_users[cut:], users)
    print(f"{len(X):,} training prefixes, {len(X_test):,} test prefixes; portrait columns:",
          ", ".join(c for c in X.columns if c != "session"))

    settings = dict(hidden_size=32, max_epochs=3 if quick else 8, lr=1e-2, random_state=0)
    search = GridSearchCV(
        UberGNNRecommender(validation_fraction=None, **settings),  # the folds validate
        {"readout": ["mean", "hybrid"]},
        scoring={"P@20": make_topk_scorer("precision", k=20), "MRR@20": make_topk_scorer("mrr", k=20)},
        refit="MRR@20",
        cv=KFold(2),
        n_jobs=2,
    )
    search.fit(X, y)
    print("best readout:", search.best_params_["readout"])

    sr_gnn = UberGNNRecommender(readout="local", validation_fraction=None, **settings)
    sr_gnn.fit(X["session"].tolist(), y)  # the same network without the portraits
    for name, model, X_eval in [("SR-GNN (no user)", sr_gnn, X_test["session"].tolist()),
                                ("UBER-GNN (best)", search.best_estimator_, X_test)]:
        top = model.recommend(X_eval, k=20)
        print(f"{name:17s} P@20 {100 * precision_at_k(y_test, top, k=20):5.2f}   "
              f"MRR@20 {100 * mrr_at_k(y_test, top, k=20):5.2f}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ubergnn.joblib"
        joblib.dump(search.best_estimator_, path)
        restored = joblib.load(path)
    same = np.array_equal(restored.recommend(X_test, k=20), search.best_estimator_.recommend(X_test, k=20))
    assert same, "a reloaded model must recommend identically"
    print("reloaded model recommends identically:", same)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for CI")
    main(quick=parser.parse_args().quick)
