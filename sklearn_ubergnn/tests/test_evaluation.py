"""The evaluation loops of sklearn_ubergnn.evaluation: protocols (no peeking), outputs, old import paths."""
import doctest

import numpy as np
import pandas as pd
import pytest

from sklearn_ubergnn import evaluation
from sklearn_ubergnn.datasets import make_interactions
from sklearn_ubergnn.dynamic import EdgeBankBaseline
from sklearn_ubergnn.evaluation import evaluate_stream_events, evaluate_stream_links


class _Recorder:
    """A stream model that records the order of its calls and scores every row 0.5."""

    def __init__(self):
        self.calls = []

    def predict_link_proba(self, X):
        self.calls.append(("score", X["source"].tolist(), X["target"].tolist()))
        return np.full(len(X), 0.5)

    def predict_proba(self, X):
        self.calls.append(("score", X["source"].tolist(), None))
        return np.full((len(X), 2), 0.5)

    def partial_fit(self, X, y=None, update_only=False):
        assert update_only, "the stream loops only append: update_only=True"
        self.calls.append(("append", X["source"].tolist(), None if y is None else list(y)))
        return self


@pytest.fixture(scope="module")
def stream():
    return make_interactions(n_objects=40, n_interactions=600, random_state=0)


def test_stream_links_score_each_batch_before_appending_it():
    test = pd.DataFrame({"source": range(5), "target": range(10, 15), "time": np.arange(5.0)})
    model = _Recorder()
    result = evaluate_stream_links(model, test, np.array([100, 200]), random_state=0, batch_size=2)
    kinds = [c[0] for c in model.calls]
    assert kinds == ["score", "append"] * 3
    scored, appended = model.calls[0], model.calls[1]
    assert scored[1] == [0, 1, 0, 1]  # positives then negatives with the same sources
    assert scored[2][:2] == [10, 11] and set(scored[2][2:]) <= {100, 200}  # negatives from `objects`
    assert appended[1] == [0, 1]  # only the positives join the history
    assert result["n_scored"] == 10 and result["auc"] == 0.5


def test_stream_events_reveal_labels_after_scoring():
    test = pd.DataFrame({"source": range(5), "target": range(5), "time": np.arange(5.0), "label": [0, 1, 0, 1, 1]})
    model = _Recorder()
    result = evaluate_stream_events(model, test, ["source", "target", "time"], batch_size=3)
    assert [c[0] for c in model.calls] == ["score", "append"] * 2
    assert model.calls[1] == ("append", [0, 1, 2], [0, 1, 0])
    assert model.calls[3] == ("append", [3, 4], [1, 1])
    assert result["n_scored"] == 5 and result["auc"] == 0.5


def test_stream_links_with_edgebank_are_seeded(stream):
    columns = ["source", "target", "time"]
    objects = np.unique(stream[["source", "target"]].to_numpy())
    runs = [evaluate_stream_links(EdgeBankBaseline().fit(stream[:450]), stream[450:][columns], objects,
                                  random_state=seed) for seed in (0, 0, 1)]
    assert runs[0]["ap"] == runs[1]["ap"] and runs[0]["auc"] == runs[1]["auc"]
    assert runs[0]["n_scored"] == 2 * 150
    assert 0.5 < runs[0]["auc"] <= 1.0  # repeated pairs are known to EdgeBank


def test_bipartite_loop_keeps_its_old_import_path_with_a_warning():
    from sklearn_ubergnn import disentangled

    with pytest.warns(FutureWarning, match="sklearn_ubergnn.evaluation"):
        assert disentangled.evaluate_bipartite is evaluation.evaluate_bipartite
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = disentangled.nope


def test_docstring_examples():
    result = doctest.testmod(evaluation, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and not result.failed
