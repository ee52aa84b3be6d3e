"""Real-data smoke tests of the dynamic estimators (CollegeMsg, Bitcoin-OTC); skipped without the data.

The full protocol and the reported figures are in ``benchmarks/dynamic_suite.py``; these tests run
a shortened version of it (a prefix of each stream, few epochs) in well under a minute.
"""
import numpy as np
import pytest
import torch

from sklearn_ubergnn.datasets import load_interactions_csv
from sklearn_ubergnn.dynamic import DynamicGraphEmbedder, DynamicInteractionClassifier, EdgeBankBaseline
from sklearn_ubergnn.evaluation import evaluate_stream_events, evaluate_stream_links

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_collegemsg_link_prediction_beats_edgebank(shared_data):
    df = load_interactions_csv(shared_data("collegemsg") / "CollegeMsg.txt", format="collegemsg").iloc[:12000]
    fit, test = df.iloc[:10000], df.iloc[10000:].reset_index(drop=True)
    objects = np.unique(np.r_[df["source"].to_numpy(), df["target"].to_numpy()])
    model = DynamicGraphEmbedder(n_hops=2, embedding_dim=32, max_epochs=2, validation_fraction=0.15,
                                 random_state=0)
    learned = evaluate_stream_links(model.fit(fit), test, objects, random_state=0)
    bank = evaluate_stream_links(EdgeBankBaseline().fit(fit), test, objects, random_state=0)
    assert learned["ap"] > bank["ap"] + 0.05
    assert learned["auc"] > 0.8


def test_bitcoin_event_classification_learns(shared_data):
    df = load_interactions_csv(shared_data("bitcoin-otc") / "soc-sign-bitcoinotc.csv", format="bitcoin")
    df = df.iloc[:22000]
    label = (df["rating"] < 0).astype(int)
    X = df[["source", "target", "time"]]
    clf = DynamicInteractionClassifier(n_hops=3, embedding_dim=32, max_epochs=3, random_state=0)
    clf.fit(X.iloc[:20000], label.iloc[:20000])
    test = X.iloc[20000:].assign(label=label.iloc[20000:]).reset_index(drop=True)
    assert evaluate_stream_events(clf, test, ["source", "target", "time"])["auc"] > 0.7
