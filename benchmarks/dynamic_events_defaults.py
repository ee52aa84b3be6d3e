"""Event classification with ``DynamicInteractionClassifier``'s defaults, against the regression on its own inputs.

Protocol: chronological 70/15/15 by rows; the classifier is fitted on the first 85 % exactly as
constructed (``DynamicInteractionClassifier(random_state=SEED)``: its own validation tail, early
stopping, threads unpinned), then the last 15 % are streamed in batches of 200
(:func:`~sklearn_ubergnn.evaluation.evaluate_stream_events`): each batch scored, then its labels
revealed. Beside it, in the same process, two logistic regressions (``StandardScaler`` +
``LogisticRegression``) fitted on the same 85 %:

- ``lr_own``: on exactly the classifier's wide inputs (its time unit, its replay of the training
  rows, the test batches from the cut): the linear model on the same statistics;
- ``lr_days``: the same statistics with gaps in days and batches from row 0
  (``benchmarks/bitcoin_lr_baseline.py``, the figure issue #17 quotes).

``bitcoin`` labels a rating as positive when it is negative (``rating < 0``); ``synthetic K``
(K = 0..3) is one of the four labelled ``make_interactions`` streams of RESULTS.md.

Usage::

    python benchmarks/dynamic_events_defaults.py bitcoin|synthetic0..3 SEED

prints one JSON line: ROC-AUC and AP in percent for the three models, the classifier's fit
seconds, epochs and whether its start (the regression) was kept, and ``auc_minus_lr_own``: the
classifier's ROC-AUC less ``lr_own``'s on the same test rows with the standard error of that
difference (a paired bootstrap over the test rows, 2,000 resamples), to tell a gap from noise. Set ``UBERGNN_SHARED_DATA`` if
the data folder is not ``../shared/data``.
"""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ubergnn.benchmark import history_features
from sklearn_ubergnn.benchmark._dynamic import synthetic_stream
from sklearn_ubergnn.datasets import load_interactions_csv
from sklearn_ubergnn.dynamic import DynamicInteractionClassifier
from sklearn_ubergnn.evaluation import evaluate_stream_events

DATA = Path(os.environ.get("UBERGNN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def load(name):
    if name == "bitcoin":
        df = load_interactions_csv(DATA / "bitcoin-otc" / "soc-sign-bitcoinotc.csv", format="bitcoin")
        return df.assign(label=(df["rating"] < 0).astype(int))
    return synthetic_stream(int(name.removeprefix("synthetic")))


def _scores(y, p):
    return round(100 * roc_auc_score(y, p), 3), round(100 * average_precision_score(y, p), 2)


def paired_auc_difference(y, p, q, n_resamples=2000, random_state=0):
    """ROC-AUC of ``p`` less that of ``q`` on the same rows, and its paired-bootstrap standard error."""
    rng = np.random.default_rng(random_state)
    diffs = []
    for _ in range(n_resamples):
        rows = rng.integers(0, len(y), len(y))
        if 0 < y[rows].sum() < len(rows):
            diffs.append(roc_auc_score(y[rows], p[rows]) - roc_auc_score(y[rows], q[rows]))
    return roc_auc_score(y, p) - roc_auc_score(y, q), float(np.std(diffs))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    data, seed = argv[0], int(argv[1])
    df = load(data)
    cut, columns = int(0.85 * len(df)), ["source", "target", "time"]
    y = df["label"].to_numpy()
    start = time.perf_counter()
    clf = DynamicInteractionClassifier(random_state=seed).fit(df[:cut][columns], y[:cut])
    fit_s = time.perf_counter() - start
    history = clf.selection_history_ if clf.selection_history_ is not None else clf.history_
    out = {"data": data, "seed": seed, "fit_s": round(fit_s, 1), "best_epoch": clf.best_epoch_,
           "start_kept": history[-1].get("start_kept"), "valid_gain_se": history[-1].get("valid_gain_se")}
    result = evaluate_stream_events(clf, df[cut:], columns)  # appends the test rows to clf
    out["classifier"] = [round(100 * result["auc"], 3), round(100 * result["ap"], 2)]
    for name, X in (("lr_own", history_features(df, time_unit=clf.time_scale_, cut=cut)),
                    ("lr_days", history_features(df))):
        lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:cut], y[:cut])
        proba = lr.predict_proba(X[cut:])[:, 1]
        out[name] = list(_scores(y[cut:], proba))
        if name == "lr_own":
            gap, se = paired_auc_difference(y[cut:], result["proba"], proba)
            out["auc_minus_lr_own"] = [round(100 * gap, 3), round(100 * se, 3)]
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
