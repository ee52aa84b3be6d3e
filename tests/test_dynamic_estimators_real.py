"""Real-data smoke tests of the dynamic estimators (CollegeMsg, Bitcoin-OTC); skipped without the data.

The full protocol and the reported figures are in ``benchmarks/dynamic_suite.py``; these tests run
a shortened version of it (a prefix of each stream, few epochs) in well under a minute.
"""
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from sklearn_ubergnn.datasets import load_interactions_csv
from sklearn_ubergnn.dynamic import DynamicGraphEmbedder, DynamicInteractionClassifier, EdgeBankBaseline

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _stream_scores(model, test, objects, seed=0, batch=200):
    rng = np.random.default_rng(seed)
    y, p = [], []
    for start in range(0, len(test), batch):
        pos = test.iloc[start:start + batch]
        neg = pos.assign(target=objects[rng.integers(0, len(objects), len(pos))])
        p.append(model.predict_link_proba(pd.concat([pos, neg], ignore_index=True)))
        y.append(np.r_[np.ones(len(pos)), np.zeros(len(pos))])
        model.partial_fit(pos, update_only=True)  # one signature for EdgeBank and the neural estimators
    return np.concatenate(y), np.concatenate(p)


def test_collegemsg_link_prediction_beats_edgebank(shared_data):
    df = load_interactions_csv(shared_data("collegemsg") / "CollegeMsg.txt", format="collegemsg").iloc[:12000]
    fit, test = df.iloc[:10000], df.iloc[10000:].reset_index(drop=True)
    objects = np.unique(np.r_[df["source"].to_numpy(), df["target"].to_numpy()])
    model = DynamicGraphEmbedder(n_hops=2, embedding_dim=32, max_epochs=2, validation_fraction=0.15,
                                 random_state=0)
    y, p = _stream_scores(model.fit(fit), test, objects)
    yb, pb = _stream_scores(EdgeBankBaseline().fit(fit), test, objects)
    assert average_precision_score(y, p) > average_precision_score(yb, pb) + 0.05
    assert roc_auc_score(y, p) > 0.8


def test_bitcoin_event_classification_learns(shared_data):
    df = load_interactions_csv(shared_data("bitcoin-otc") / "soc-sign-bitcoinotc.csv", format="bitcoin")
    df = df.iloc[:22000]
    label = (df["rating"] < 0).astype(int)
    X = df[["source", "target", "time"]]
    clf = DynamicInteractionClassifier(n_hops=3, embedding_dim=32, max_epochs=3, random_state=0)
    clf.fit(X.iloc[:20000], label.iloc[:20000])
    p = []
    for start in range(20000, 22000, 200):
        batch = X.iloc[start:start + 200]
        p.append(clf.predict_proba(batch)[:, 1])
        clf.partial_fit(batch, label.iloc[start:start + 200])
    assert roc_auc_score(label.iloc[20000:], np.concatenate(p)) > 0.7
