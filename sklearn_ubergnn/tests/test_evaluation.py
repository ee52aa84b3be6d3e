"""The evaluation loops of sklearn_ubergnn.evaluation: protocols (no peeking), outputs, old import paths."""
import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_stream_events_return_each_rows_score_in_test_order():
    class BySource(_Recorder):
        def predict_proba(self, X):
            p = X["source"].to_numpy() / 10.0
            return np.c_[1 - p, p]

    test = pd.DataFrame({"source": [3, 1, 4, 1, 5], "target": range(5), "time": np.arange(5.0),
                         "label": [0, 1, 0, 1, 1]})
    result = evaluate_stream_events(BySource(), test, ["source", "target", "time"], batch_size=2)
    np.testing.assert_allclose(result["proba"], [0.3, 0.1, 0.4, 0.1, 0.5])


def test_stream_links_with_edgebank_are_seeded(stream):
    columns = ["source", "target", "time"]
    objects = np.unique(stream[["source", "target"]].to_numpy())
    runs = [evaluate_stream_links(EdgeBankBaseline().fit(stream[:450]), stream[450:][columns], objects,
                                  random_state=seed) for seed in (0, 0, 1)]
    assert runs[0]["ap"] == runs[1]["ap"] and runs[0]["auc"] == runs[1]["auc"]
    assert runs[0]["n_scored"] == 2 * 150
    assert 0.5 < runs[0]["auc"] <= 1.0  # repeated pairs are known to EdgeBank


def test_stream_links_random_one_negative_keeps_the_old_figures(stream):
    """negatives="random", n_negatives=1: the draws and figures of the loop before the options (old code, seed 3)."""
    objects = np.unique(stream[["source", "target"]].to_numpy())
    test = stream[450:][["source", "target", "time"]]
    for window, (ap, auc) in ((None, (0.664711111111111, 0.7266666666666667)), (50.0, (0.5746341463414634, 0.59))):
        result = evaluate_stream_links(EdgeBankBaseline(time_window=window).fit(stream[:450]), test, objects,
                                       random_state=3, batch_size=50)
        assert (result["ap"], result["auc"]) == (ap, auc)


# A toy stream worked by hand. History (1,2)@0, (2,3)@1; test batches of two rows:
#   batch 1: (1,2)@2 (3,1)@3   historical: {(1,2),(2,3)} - batch = {(2,3)}        inductive: {} (all random)
#   batch 2: (1,3)@4 (3,1)@5   historical: {(1,2),(2,3),(3,1)} - batch = {(1,2),(2,3)}
#                              inductive: {(3,1)} - batch = {}                     ((1,2) is in the history)
#   batch 3: (2,3)@6           historical: {(1,2),(3,1),(1,3)}                     inductive: {(3,1),(1,3)}
TOY_HISTORY = pd.DataFrame({"source": [1, 2], "target": [2, 3], "time": [0.0, 1.0]})
TOY_TEST = pd.DataFrame({"source": [1, 3, 1, 3, 2], "target": [2, 1, 3, 1, 3], "time": np.arange(2.0, 7.0)})
TOY_OBJECTS = np.array([1, 2, 3, 4])


def _negative_pairs(negatives, n_negatives, seed=0):
    """The negative pairs scored in each batch of the toy stream."""
    model = _Recorder()
    evaluate_stream_links(model, TOY_TEST, TOY_OBJECTS, random_state=seed, batch_size=2, negatives=negatives,
                          n_negatives=n_negatives, history=TOY_HISTORY)
    scored = [c for c in model.calls if c[0] == "score"]
    n_pos = [2, 2, 1]
    return [list(zip(c[1][n:], c[2][n:])) for c, n in zip(scored, n_pos)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_historical_negatives_by_hand(seed):
    batches = _negative_pairs("historical", 1, seed)
    assert (2, 3) in batches[0]  # the one candidate, the other negative a random fill
    assert sorted(batches[1]) == [(1, 2), (2, 3)]  # exactly the two candidates, without replacement
    assert batches[2][0] in {(1, 2), (3, 1), (1, 3)}
    assert sorted(_negative_pairs("historical", 3, seed)[2]) == [(1, 2), (1, 3), (3, 1)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inductive_negatives_by_hand(seed):
    batches = _negative_pairs("inductive", 1, seed)
    assert batches[2][0] in {(3, 1), (1, 3)}
    assert sorted(_negative_pairs("inductive", 2, seed)[2]) == [(1, 3), (3, 1)]
    # no candidates in batches 1 and 2: random negatives, the positive's source, never a pair of the batch
    for batch, rows in zip(batches[:2], ([(1, 2), (3, 1)], [(1, 3), (3, 1)])):
        assert [s for s, _ in batch] == [s for s, _ in rows]
        assert not set(batch) & set(rows)


@pytest.mark.parametrize("negatives", ["historical", "inductive"])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), n_objects=st.integers(4, 12), n_negatives=st.integers(1, 4),
       batch_size=st.integers(1, 30))
def test_negatives_never_repeat_a_positive_of_their_batch(negatives, seed, n_objects, n_negatives, batch_size):
    df = make_interactions(n_objects=n_objects, n_interactions=200, random_state=seed % 100)
    model = _Recorder()
    evaluate_stream_links(model, df[120:], np.unique(df[["source", "target"]].to_numpy()), random_state=seed,
                          batch_size=batch_size, negatives=negatives, n_negatives=n_negatives, history=df[:120])
    scored = [c for c in model.calls if c[0] == "score"]
    appended = [c for c in model.calls if c[0] == "append"]
    assert len(scored) == len(appended)
    for call, batch in zip(scored, appended):
        n = len(batch[1])
        pairs = list(zip(call[1], call[2]))
        assert len(pairs) == n * (1 + n_negatives)
        assert not set(pairs[n:]) & set(pairs[:n])


class _Oracle:
    """Knows the test stream: 1 for a row that is a test interaction (pair and time), else 0."""

    def __init__(self, test):
        self.keys = set(zip(test["source"], test["target"], test["time"]))

    def predict_link_proba(self, X):
        return np.array([float(k in self.keys) for k in zip(X["source"], X["target"], X["time"])])

    def partial_fit(self, X, y=None, update_only=True):
        return self


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), n_negatives=st.integers(1, 12), negatives=st.sampled_from(["historical", "inductive"]))
def test_mrr_is_one_when_positives_score_highest(seed, n_negatives, negatives):
    df = make_interactions(n_objects=15, n_interactions=300, random_state=seed % 50)
    test = df[200:]
    result = evaluate_stream_links(_Oracle(test), test, np.unique(df[["source", "target"]]), random_state=seed,
                                   batch_size=40, negatives=negatives, n_negatives=n_negatives, history=df[:200])
    assert result["mrr"] == result["hits@1"] == result["hits@10"] == 1.0
    assert result["ap"] == result["auc"] == 1.0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), n_negatives=st.integers(1, 12),
       negatives=st.sampled_from(["random", "historical", "inductive"]))
def test_mrr_lies_in_its_range(seed, n_negatives, negatives, stream):
    objects = np.unique(stream[["source", "target"]].to_numpy())
    result = evaluate_stream_links(EdgeBankBaseline().fit(stream[:450]), stream[450:], objects, random_state=seed,
                                   negatives=negatives, n_negatives=n_negatives, history=stream[:450])
    assert 1 / (n_negatives + 1) <= result["mrr"] <= 1.0
    assert 0.0 <= result["hits@1"] <= result["hits@10"] <= 1.0
    assert result["n_scored"] == 150 * (1 + n_negatives)


def test_constant_scores_rank_in_the_middle():
    """A model that scores every row alike: every positive ties with all its negatives."""
    result = evaluate_stream_links(_Recorder(), TOY_TEST, TOY_OBJECTS, random_state=0, n_negatives=4)
    assert result["mrr"] == pytest.approx(1 / 3) and result["hits@1"] == 0.0 and result["hits@10"] == 1.0


def test_stream_links_bad_parameters():
    model = EdgeBankBaseline().fit(TOY_HISTORY)
    with pytest.raises(ValueError, match="'negatives' parameter"):
        evaluate_stream_links(model, TOY_TEST, TOY_OBJECTS, negatives="hard")
    with pytest.raises(ValueError, match="'n_negatives' parameter"):
        evaluate_stream_links(model, TOY_TEST, TOY_OBJECTS, n_negatives=0)
    with pytest.raises(ValueError, match="'batch_size' parameter"):
        evaluate_stream_links(model, TOY_TEST, TOY_OBJECTS, batch_size=0)
    with pytest.raises(ValueError, match="negatives='historical' needs history="):
        evaluate_stream_links(model, TOY_TEST, TOY_OBJECTS, negatives="historical")
    with pytest.raises(ValueError, match="history must be a DataFrame with a 'target' column"):
        evaluate_stream_links(model, TOY_TEST, TOY_OBJECTS, negatives="inductive", history=TOY_HISTORY[["source"]])
    with pytest.raises(TypeError, match="str item ids"):
        evaluate_stream_links(model, TOY_TEST, TOY_OBJECTS.astype(str), negatives="inductive", history=TOY_HISTORY)


def test_bipartite_loop_keeps_its_old_import_path_with_a_warning():
    from sklearn_ubergnn import disentangled

    with pytest.warns(FutureWarning, match="sklearn_ubergnn.evaluation"):
        assert disentangled.evaluate_bipartite is evaluation.evaluate_bipartite
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = disentangled.nope


def test_docstring_examples():
    result = doctest.testmod(evaluation, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and not result.failed
