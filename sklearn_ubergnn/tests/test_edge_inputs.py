"""Inputs at the edge of what estimators accept: too few samples to validate on, empty sessions."""
import warnings

import numpy as np
import pandas as pd
import pytest

from sklearn_ubergnn import (
    GRU4RecRecommender,
    PopularityRecommender,
    SessionGraphTransformer,
    SessionKNNRecommender,
    UberGNNRecommender,
)
from sklearn_ubergnn._validation import check_sessions, check_validation_split
from sklearn_ubergnn.datasets import make_interactions
from sklearn_ubergnn.dynamic import DynamicGraphEmbedder, DynamicInteractionClassifier
from sklearn_ubergnn.pipeline import make_pipeline

FAST = {"max_epochs": 1, "batch_size": 16, "device": "cpu", "random_state": 0}


# ------------------------------------------------------------------------------------------------
# too few samples for the internal validation split: train on all, without it, and warn
# ------------------------------------------------------------------------------------------------
def test_check_validation_split():
    assert check_validation_split(10, None) is None
    assert check_validation_split(2, 0.2) == 0.2  # one sample each side (ceil(0.4) = 1)
    assert check_validation_split(4, 0.15, chronological=True) == 0.15  # round(0.6) = 1
    with pytest.warns(UserWarning, match=r"^validation_fraction=0\.2 holds out 1 of the 1 training samples, "
                      r"which leaves no sample to train on; the validation split needs at least 2 samples\. "
                      r"Training on all 1 samples without validation \(and without early stopping\)\. Pass "
                      r"more samples, or validation_fraction=None to silence this warning\.$"):
        assert check_validation_split(1, 0.2) is None
    with pytest.warns(UserWarning, match="holds out 0 of the 3 training samples, which leaves no validation "
                      "sample; the validation split needs at least 4 samples"):
        assert check_validation_split(3, 0.15, chronological=True) is None
    with pytest.warns(UserWarning, match="holds out 2 of the 2 .* needs at least 10 samples"):
        check_validation_split(2, 0.9)


@pytest.fixture(scope="module")
def stream():
    return make_interactions(n_objects=20, n_interactions=40, random_state=0)


@pytest.mark.parametrize("n_rows", [1, 3])
def test_dynamic_embedder_short_stream_trains_without_validation(stream, n_rows):
    emb = DynamicGraphEmbedder(embedding_dim=8, n_hops=1, **FAST)
    with pytest.warns(UserWarning, match=rf"validation_fraction=0\.15 holds out 0 of the {n_rows} training "
                      r"samples.*needs at least 4 samples") as record:
        emb.fit(stream[:n_rows])
    assert record[0].filename == __file__  # points at the user's call, not into the package
    assert "valid_loss" not in emb.history_[-1]
    assert emb.transform(stream[n_rows:n_rows + 2]).shape == (2, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DynamicGraphEmbedder(embedding_dim=8, n_hops=1, validation_fraction=None, **FAST).fit(stream[:n_rows])


def test_dynamic_classifier_short_stream_trains_without_validation(stream):
    clf = DynamicInteractionClassifier(embedding_dim=8, n_hops=1, **FAST)
    with pytest.warns(UserWarning, match="holds out 0 of the 2 training samples"):
        clf.fit(stream[:2], [0, 1])
    assert clf.predict_proba(stream[2:4]).shape == (2, 2)


@pytest.mark.parametrize(
    "estimator",
    [UberGNNRecommender(hidden_size=8, **FAST), GRU4RecRecommender(hidden_size=8, **FAST)],
    ids=lambda e: type(e).__name__,
)
def test_session_networks_single_sample_trains_without_validation(estimator):
    with pytest.warns(UserWarning, match="holds out 1 of the 1 training samples, which leaves no sample to "
                      "train on; the validation split needs at least 2 samples") as record:
        estimator.fit([[1, 2]], [3])
    assert record[0].filename == __file__
    assert "valid_loss" not in estimator.history_[-1]
    assert estimator.recommend([[1]], k=2).shape == (1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # two samples split 1 + 1: no warning
        estimator.fit([[1, 2], [2]], [3, 3])
    # with refit=True (UberGNNRecommender's default) the validation columns are in the selection run
    assert "valid_loss" in (estimator.selection_history_ or estimator.history_)[-1]


# ------------------------------------------------------------------------------------------------
# an empty session at recommend time: the documented fallback, the popularity ranking
# ------------------------------------------------------------------------------------------------
RECOMMENDERS = [
    PopularityRecommender(),
    SessionKNNRecommender(k=5, sample_size=10),
    UberGNNRecommender(hidden_size=8, validation_fraction=None, **FAST),
    GRU4RecRecommender(hidden_size=8, validation_fraction=None, **FAST),
]
SESSIONS = [["a", "b"], ["b", "c"], ["a", "c", "b"], ["c"], ["b", "a"]]
NEXT = ["c", "a", "c", "b", "c"]


@pytest.mark.parametrize("estimator", RECOMMENDERS, ids=lambda e: type(e).__name__)
def test_empty_session_gets_the_popularity_ranking(estimator):
    est = estimator.fit(SESSIONS, NEXT)
    popular = est.recommend([["unseen"]], k=3)[0]  # the documented fallback: no known item
    ranked = est.recommend([[], ["a"], []], k=3)
    np.testing.assert_array_equal(ranked[0], popular)
    np.testing.assert_array_equal(ranked[2], popular)
    np.testing.assert_array_equal(est.recommend([[]], k=3)[0], popular)
    assert est.predict([[]])[0] == popular[0]
    prior = est.item_counts_ / est.item_counts_.sum()
    np.testing.assert_allclose(est.predict_proba([[], []]), [prior, prior])
    assert 0 <= est.score([[], ["a"]], ["c", "b"]) <= 1
    with pytest.raises(ValueError, match=r"session 1 of X is empty\. Drop empty sessions before fit\."):
        estimator.fit([["a"], []], ["b", "c"])  # fit still refuses them


def test_empty_session_with_user_columns_and_in_a_pipeline():
    X = pd.DataFrame({"session": [[1, 2], [2, 3], [3, 1], [1]], "gender": ["f", "m", "f", "m"]})
    rec = UberGNNRecommender(hidden_size=8, readout="hybrid", categorical_columns=["gender"],
                             continuous_columns=[], validation_fraction=None, **FAST).fit(X, [3, 1, 2, 2])
    query = pd.DataFrame({"session": [[], [9]], "gender": ["m", "f"]})
    np.testing.assert_array_equal(rec.recommend(query, k=3)[0], rec.recommend(query, k=3)[1])
    pipe = make_pipeline(SessionGraphTransformer(),
                         UberGNNRecommender(hidden_size=8, validation_fraction=None, **FAST))
    pipe.fit([[1, 2], [2, 3], [3]], [3, 1, 2])
    batch = pipe[0].transform([[], [1]])
    assert len(batch) == 2
    assert pipe[-1].recommend(batch, k=2).shape == (2, 2)


def test_check_sessions_allow_empty():
    flat = check_sessions([[], [1, 2], []], allow_empty=True)
    assert flat.lengths.tolist() == [0, 2, 0]
    assert check_sessions([[], []], allow_empty=True).items.dtype == np.int64
    assert len(check_sessions(np.zeros((3, 0), dtype=np.int64), allow_empty=True)) == 3
    with pytest.raises(ValueError, match="session 0 of X is empty"):
        check_sessions([[], [1]])
