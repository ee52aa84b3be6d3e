"""Event (fraud) classification on an interaction stream, updated incrementally
============================================================================

Classify the events of a time-ordered interaction stream from their history, then keep the model
current as new events arrive.

``DynamicInteractionClassifier`` builds the dynamic interaction graph of the stream (each event
adds two nodes linked to the previous event of each object) and classifies every event from the
sub-graph of its two ends *strictly before* its time; the labels of past events are part of that
history, the event's own label and features never are. The example:

1. fits the classifier on the first 60 % of the stream (in time);
2. appends the next 20 % with ``partial_fit``: the new events and their revealed labels join the
   graph, and the network takes one more training pass over them;
3. streams the last 20 %: each batch is scored, then appended with its labels revealed
   (``partial_fit(batch, labels, update_only=True)``: history only, no training);
4. compares ROC-AUC and average precision on those later events with a simple baseline that
   scores an event by the smoothed share of positive past events of its two ends, computed from
   the same revealed history;
5. saves the model with joblib, reloads it, and checks that it scores identically.

The data are ``make_interactions`` (planted anomalous bursts; ``--quick``), or the Bitcoin-OTC
trust network (label = negative rating) when ``../shared/data/bitcoin-otc`` is present.

Run ``python examples/dynamic_event_classification.py`` (``--quick`` for the small mode CI uses).
"""
import argparse
import os
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from sklearn_ubergnn import DynamicInteractionClassifier
from sklearn_ubergnn.datasets import load_interactions_csv, make_interactions

DATA = Path(os.environ.get("UBERGNN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
COLUMNS = ["source", "target", "time"]


class LabelRateBaseline:
    """Score an event by the smoothed positive share of the past events of its two ends.

    ``(positives of source + positives of target + prior) / (events of source + events of target + 1)``
    over the revealed history; ``update`` reveals a batch. Whole-array NumPy per batch.
    """

    def __init__(self, n_objects, prior):
        self.events = np.zeros(n_objects)
        self.positives = np.zeros(n_objects)
        self.prior = prior

    def score(self, src, dst):
        return (self.positives[src] + self.positives[dst] + self.prior) / (self.events[src] + self.events[dst] + 1)

    def update(self, src, dst, labels):
        for ends in (src, dst):
            np.add.at(self.events, ends, 1)
            np.add.at(self.positives, ends, labels)


def load_stream(quick):
    path = DATA / "bitcoin-otc" / "soc-sign-bitcoinotc.csv"
    if not quick and path.exists():
        df = load_interactions_csv(path, format="bitcoin")
        df["label"] = (df["rating"] < 0).astype(int)
        return df, "Bitcoin-OTC (label = negative rating)"
    n = 1500 if quick else 6000
    df = make_interactions(n_objects=60 if quick else 200, n_interactions=n, anomaly_fraction=0.08, random_state=2)
    return df, "make_interactions (planted anomalous bursts)"


def main(quick=False):
    df, name = load_stream(quick)
    n = len(df)
    first, second = int(0.6 * n), int(0.8 * n)
    fit_part, update_part, later = df.iloc[:first], df.iloc[first:second], df.iloc[second:].reset_index(drop=True)
    print(f"{name}: {n:,} events, {df['label'].mean():.1%} positive; fit on {len(fit_part):,}, "
          f"append {len(update_part):,}, score the last {len(later):,}")

    clf = DynamicInteractionClassifier(
        n_hops=2, max_nodes=16, embedding_dim=16, object_dim=4, max_epochs=8 if quick else 6, batch_size=100,
        lr=3e-3, validation_fraction=None, random_state=0,
    )
    clf.fit(fit_part[COLUMNS], fit_part["label"])
    clf.partial_fit(update_part[COLUMNS].reset_index(drop=True), update_part["label"], update_only=False)
    print(f"fitted in {len(clf.history_)} epochs; history now holds {len(clf.state_):,} events")

    codes = {obj: i for i, obj in enumerate(np.unique(df[["source", "target"]].to_numpy()))}
    src = df["source"].map(codes).to_numpy()
    dst = df["target"].map(codes).to_numpy()
    labels = df["label"].to_numpy()
    baseline = LabelRateBaseline(len(codes), prior=labels[:second].mean())
    baseline.update(src[:second], dst[:second], labels[:second])

    batch_size = 200
    p_model, p_base = [], []
    for start in range(0, len(later), batch_size):
        batch = later.iloc[start:start + batch_size]
        rows = slice(second + start, second + start + len(batch))
        p_model.append(clf.predict_proba(batch[COLUMNS])[:, 1])  # scored from the history before the batch
        p_base.append(baseline.score(src[rows], dst[rows]))
        clf.partial_fit(batch[COLUMNS], batch["label"], update_only=True)  # then its labels are revealed
        baseline.update(src[rows], dst[rows], labels[rows])
    y_later = later["label"].to_numpy()
    for model_name, p in [("label-rate baseline", np.concatenate(p_base)),
                          ("DynamicInteractionClassifier", np.concatenate(p_model))]:
        print(f"{model_name:30s} ROC-AUC {roc_auc_score(y_later, p):.3f}   AP {average_precision_score(y_later, p):.3f}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "event_classifier.joblib"
        joblib.dump(clf, path)
        restored = joblib.load(path)
    query = later.iloc[-50:][COLUMNS]
    assert np.array_equal(restored.predict_proba(query), clf.predict_proba(query))
    print(f"reloaded with joblib ({len(restored.state_):,} events of history): identical probabilities")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for CI")
    main(quick=parser.parse_args().quick)
