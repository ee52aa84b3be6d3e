"""Logistic regression on past-interaction statistics: the baseline of Bitcoin-OTC event classification.

Label = ``rating < 0``. Chronological 70/15/15 split. The whole stream is processed in batches
of 200: the features of a batch come from the history before it (rows of earlier batches, with
their labels revealed), then the batch joins the history. So a row never sees itself, its own
batch or the future, exactly as the learned classifier in ``dynamic_suite.py classify``.

Features of a row ``(s, d, t)``, for each end ``o`` in ``(s, d)``: ``log1p`` of the ratings
``o`` gave and received so far, the fraction of them that were negative (``neg / (n + 1)``), the
same fractions over ``o``'s last 10 given/received ratings (recent outcomes) and
``log1p(days since o's last event)`` (10^4 days when none). The model (``StandardScaler`` +
``LogisticRegression``) is fitted on train + validation and scored on test (ROC-AUC).

The features come from :func:`sklearn_ubergnn.benchmark.history_features`, the ``lr-history``
model of ``python -m benchmarks run --suite dynamic --data bitcoin``.

Usage::

    python benchmarks/bitcoin_lr_baseline.py [--no-recent]
"""
import os
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ubergnn.benchmark import history_features
from sklearn_ubergnn.datasets import load_interactions_csv

DATA = Path(os.environ.get("UBERGNN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-recent", action="store_true", help="drop the last-10 fractions (counts only)")
    args = parser.parse_args(argv)
    df = load_interactions_csv(DATA / "bitcoin-otc" / "soc-sign-bitcoinotc.csv", format="bitcoin")
    df["label"] = (df["rating"] < 0).astype(int)
    X = history_features(df)
    if args.no_recent:
        X = np.delete(X, [2, 5, 9, 12], axis=1)
    n = len(df)
    cut = int(n * 0.85)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:cut], df["label"][:cut])
    p = model.predict_proba(X[cut:])[:, 1]
    y = df["label"].to_numpy()[cut:]
    print(f"Bitcoin-OTC event classification, logistic regression on history statistics"
          f"{' (no recent fractions)' if args.no_recent else ''}: "
          f"ROC-AUC {roc_auc_score(y, p):.4f}, AP {average_precision_score(y, p):.4f} "
          f"(test rows {len(y)}, negative rate {y.mean():.3f})")


if __name__ == "__main__":
    main()
