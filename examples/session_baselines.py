"""Session-kNN and popularity: GridSearchCV, top-k scorers, joblib
===============================================================

Session baselines with scikit-learn tooling: GridSearchCV with top-k scorers, then joblib.

Fits the session-kNN recommender (V-SKNN) on synthetic sessions with planted structure, tunes its
number of neighbours with ``GridSearchCV`` on P@20 and MRR@20 (scorers that call ``recommend``, so no
probability matrix is ever built), compares it with popularity on later sessions, and saves and
reloads the best model with joblib.

Run ``python examples/session_baselines.py`` (``--quick`` for the small mode CI uses).
"""
import argparse
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_ubergnn import PopularityRecommender, SessionKNNRecommender
from sklearn_ubergnn.datasets import make_sessions
from sklearn_ubergnn.metrics import make_topk_scorer, mrr_at_k, precision_at_k
from sklearn_ubergnn.pipeline import make_pipeline
from sklearn_ubergnn.preprocessing import session_prefixes


def main(quick=False):
    sessions, _, _ = make_sessions(n_sessions=800 if quick else 4000, random_state=0)
    cut = int(0.8 * len(sessions))  # sessions come in time order: the last 20 % are the test set
    X, y = session_prefixes(sessions[:cut])
    X_test, y_test = session_prefixes(sessions[cut:])

    search = GridSearchCV(
        make_pipeline(SessionKNNRecommender()),
        {"sessionknnrecommender__k": [20, 100], "sessionknnrecommender__sample_size": [100, 500]},
        scoring={"P@20": make_topk_scorer("precision", k=20), "MRR@20": make_topk_scorer("mrr", k=20)},
        refit="MRR@20",
        cv=KFold(3),  # prefixes of one session stay together when not shuffled
        n_jobs=2,
    )
    search.fit(X, y)
    print("best parameters:", search.best_params_)

    for name, model in [("popularity", PopularityRecommender().fit(X, y)), ("session-kNN", search.best_estimator_)]:
        top = model.recommend(X_test, k=20)
        print(f"{name:12s} P@20 {100 * precision_at_k(y_test, top, k=20):5.2f}   "
              f"MRR@20 {100 * mrr_at_k(y_test, top, k=20):5.2f}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "session_knn.joblib"
        joblib.dump(search.best_estimator_, path)
        restored = joblib.load(path)
    assert np.array_equal(restored.recommend(X_test[:5], k=20), search.best_estimator_.recommend(X_test[:5], k=20))
    print("reloaded model recommends identically; top 5 for the first test session:", restored.recommend(X_test[:1], k=5)[0])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for CI")
    main(quick=parser.parse_args().quick)
