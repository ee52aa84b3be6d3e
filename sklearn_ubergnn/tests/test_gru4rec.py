"""Tests of GRU4RecRecommender and its torch module (fast: tiny models, few epochs)."""
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ubergnn import GRU4RecRecommender as RootExport
from sklearn_ubergnn._arrays import pad_segments
from sklearn_ubergnn._validation import FlatSessions
from sklearn_ubergnn.datasets import make_sessions
from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
from sklearn_ubergnn.nn import GRU4Rec
from sklearn_ubergnn.preprocessing import session_prefixes
from sklearn_ubergnn.session import GRU4RecRecommender, PopularityRecommender
from sklearn_ubergnn.session._data import PaddedSessionSource
from sklearn_ubergnn.tests._session_checks import check_renaming_items_renames_the_output

FAST = {"hidden_size": 8, "max_epochs": 2, "batch_size": 32, "validation_fraction": None, "random_state": 0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@pytest.fixture(scope="module")
def data():
    sessions, _, _ = make_sessions(n_sessions=300, random_state=0)
    X, y = session_prefixes(sessions[:240])
    X_test, y_test = session_prefixes(sessions[240:])
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    return GRU4RecRecommender(**FAST).fit(X, y)


# ---------------------------------------------------------------------------------- torch module
def _reference_state(module, session):
    """The top-layer GRU state after the last click, one session at a time, unpacked."""
    x = module.embedding(torch.as_tensor([session]))
    _, h_n = module.gru(x)
    return h_n[-1, 0]


def test_module_equals_one_session_at_a_time():
    torch.manual_seed(0)
    module = GRU4Rec(n_items=12, hidden_size=6, embedding_size=4, n_layers=2).eval()
    sessions = [[3, 1, 4, 1, 5], [9], [2, 6], [11, 0, 7, 8]]
    items, lengths = pad_segments(np.concatenate(sessions), np.cumsum([0] + [len(s) for s in sessions]))
    with torch.no_grad():
        states = module.session_vectors(torch.as_tensor(items), torch.as_tensor(lengths))
        logits = module(torch.as_tensor(items), torch.as_tensor(lengths))
        for b, session in enumerate(sessions):
            expected = _reference_state(module, session)
            torch.testing.assert_close(states[b], expected, atol=1e-6, rtol=0)
            torch.testing.assert_close(logits[b], module.output(expected), atol=1e-6, rtol=0)
    assert logits.shape == (4, 12)


def test_module_padding_values_do_not_matter_and_empty_sessions_are_zero():
    torch.manual_seed(0)
    module = GRU4Rec(n_items=5, hidden_size=3).eval()
    lengths = torch.tensor([2, 0, 1])
    a = torch.tensor([[1, 2, 0], [0, 0, 0], [4, 0, 0]])
    b = torch.tensor([[1, 2, 3], [4, 4, 4], [4, 1, 2]])
    with torch.no_grad():
        torch.testing.assert_close(module.session_vectors(a, lengths), module.session_vectors(b, lengths))
        assert torch.equal(module.session_vectors(a, lengths)[1], torch.zeros(3))
        torch.testing.assert_close(module(a, lengths)[1], module.output.bias)


def test_module_errors_name_the_tensor():
    module = GRU4Rec(n_items=5, hidden_size=3)
    with pytest.raises(ValueError, match="items must have 2 dimension"):
        module(torch.tensor([1, 2]), torch.tensor([2]))
    with pytest.raises(ValueError, match="lengths must have size 2"):
        module(torch.tensor([[1, 2], [3, 4]]), torch.tensor([2]))
    with pytest.raises(ValueError, match="items must lie in"):
        module(torch.tensor([[1, 7]]), torch.tensor([2]))
    with pytest.raises(ValueError, match="lengths must lie in"):
        module(torch.tensor([[1, 2]]), torch.tensor([3]))
    with pytest.raises(ValueError, match="hidden_size"):
        GRU4Rec(n_items=5, hidden_size=0)
    assert "n_layers=1" in repr(module)


def test_padded_batches_drop_unseen_codes():
    codes = FlatSessions(np.array([3, -1, 2, -1, 5, 1, 4]), np.array([0, 3, 4, 7]))
    batch, y = PaddedSessionSource(codes, y=np.array([1, 2, 3])).batch(np.array([2, 1, 0]))
    np.testing.assert_array_equal(batch.fields["items"].numpy(), [[5, 1, 4], [0, 0, 0], [3, 2, 0]])
    np.testing.assert_array_equal(batch.fields["lengths"].numpy(), [3, 0, 2])
    np.testing.assert_array_equal(y.numpy(), [3, 2, 1])
    assert len(batch) == 3


# ---------------------------------------------------------------------------------- scikit-learn API
def test_exported_from_the_package_root():
    assert RootExport is GRU4RecRecommender


def test_fused_loss_trains_as_torch_cross_entropy_on_the_logits(data, monkeypatch):
    """The criterion gets the factors of the logits in training (a fused loss, the output layer's bias
    included); handing it the logits instead must give the same training, up to float rounding."""
    X, y, X_test, _ = data
    params = {**FAST, "validation_fraction": 0.2, "refit": False, "dropout": 0.2}
    fused = GRU4RecRecommender(**params).fit(X, y)
    monkeypatch.setattr(GRU4RecRecommender, "_training_method", "forward")
    plain = GRU4RecRecommender(**params).fit(X, y)
    for key in ("train_loss", "valid_loss"):
        np.testing.assert_allclose(fused.history_[:, key], plain.history_[:, key], rtol=1e-4)
    np.testing.assert_allclose(fused.predict_proba(X_test), plain.predict_proba(X_test), atol=1e-5)


def test_fit_predict_recommend_shapes_and_raw_ids(fitted, data):
    _, _, X_test, y_test = data
    top = fitted.recommend(X_test, k=20)
    assert top.shape == (len(X_test), 20) and np.isin(top, fitted.classes_).all()
    assert all(len(set(row)) == 20 for row in top)
    np.testing.assert_array_equal(fitted.predict(X_test), top[:, 0])
    proba = fitted.predict_proba(X_test[:9])
    assert proba.shape == (9, fitted.n_items_)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], top[:9, 0])
    assert fitted.score(X_test, y_test) == precision_at_k(y_test, top, k=20)
    assert len(fitted.history_) == FAST["max_epochs"]
    assert isinstance(fitted.net_.module_, GRU4Rec)


def test_dataframe_input_uses_the_session_column(fitted, data):
    X, y, X_test, y_test = data
    frame = pd.DataFrame({"session": X_test, "user": np.arange(len(X_test))})
    np.testing.assert_array_equal(fitted.recommend(frame, k=5), fitted.recommend(X_test, k=5))
    np.testing.assert_allclose(fitted.predict_proba(frame.head(4)), fitted.predict_proba(X_test[:4]))
    assert fitted.score(frame, y_test) == fitted.score(X_test, y_test)
    named = GRU4RecRecommender(**FAST, session_column="clicks").fit(pd.DataFrame({"clicks": X}), y)
    np.testing.assert_array_equal(named.recommend(X_test, k=5), fitted.recommend(X_test, k=5))
    with pytest.raises(ValueError, match="session column 'session'"):
        fitted.recommend(frame.rename(columns={"session": "clicks"}))


def test_string_ids():
    X = [["a", "b"], ["b", "c"], ["a"], ["c", "a"]]
    rec = GRU4RecRecommender(**FAST).fit(X, ["c", "a", "b", "b"])
    assert rec.classes_.tolist() == ["a", "b", "c"]
    assert set(rec.recommend([["a", "zz"]], k=3)[0]) == {"a", "b", "c"}


def test_learns_planted_transitions_better_than_popularity():
    """Next items follow item clusters: the GRU must beat the popularity ranking by far."""
    sessions, _, _ = make_sessions(n_items=300, n_clusters=30, n_successors=10, n_sessions=1500, random_state=0)
    X, y = session_prefixes(sessions[:1200])
    X_test, y_test = session_prefixes(sessions[1200:])
    rec = GRU4RecRecommender(hidden_size=32, lr=0.01, max_epochs=5, validation_fraction=None, random_state=0)
    ranked = rec.fit(X, y).recommend(X_test, k=20)
    popular = PopularityRecommender().fit(X, y).recommend(X_test, k=20)
    p_gru, p_pop = precision_at_k(y_test, ranked, k=20), precision_at_k(y_test, popular, k=20)
    mrr_gru, mrr_pop = mrr_at_k(y_test, ranked, k=20), mrr_at_k(y_test, popular, k=20)
    assert p_gru > p_pop + 0.1, (p_gru, p_pop)
    assert mrr_gru > 1.5 * mrr_pop, (mrr_gru, mrr_pop)


def test_unseen_items_are_dropped_and_unknown_sessions_get_popularity(fitted, data):
    X, y, X_test, _ = data
    session = list(X_test[0])
    np.testing.assert_array_equal(fitted.recommend([session[:1] + [-5] + session[1:] + [-6]], k=10),
                                  fitted.recommend([session], k=10))
    popular = PopularityRecommender().fit(X, y)
    np.testing.assert_array_equal(fitted.recommend([[-12345], [-1, -2]], k=7),
                                  popular.recommend([[-12345], [-1, -2]], k=7))
    np.testing.assert_allclose(fitted.predict_proba([[-3]])[0], fitted.item_counts_ / fitted.item_counts_.sum())


def test_recommend_never_exceeds_the_catalogue():
    rec = GRU4RecRecommender(**FAST).fit([[1, 2], [2, 3]], [3, 1])
    assert rec.recommend([[1]], k=50).shape == (1, 3)


def test_inference_does_not_depend_on_batch_size(fitted, data):
    _, _, X_test, _ = data
    expected, proba = fitted.recommend(X_test, k=10), fitted.predict_proba(X_test[:50])
    other = pickle.loads(pickle.dumps(fitted)).set_params(batch_size=7)
    np.testing.assert_array_equal(other.recommend(X_test, k=10), expected)
    np.testing.assert_allclose(other.predict_proba(X_test[:50]), proba, rtol=1e-5, atol=1e-9)


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "params", [{"hidden_size": 0}, {"embedding_size": 0}, {"n_layers": 0}, {"dropout": 1.0},
               {"lr": 0}, {"batch_size": 0}, {"max_epochs": 0}, {"validation_fraction": 1.0}]
)
def test_bad_parameters(data, params):
    X, y, _, _ = data
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        GRU4RecRecommender(**params).fit(X, y)


def test_bad_predict_input(fitted):
    for k, error in [(0, ValueError), (-1, ValueError), (2.5, TypeError)]:
        with pytest.raises(error, match="k must be a positive integer"):
            fitted.recommend([[1]], k=k)
    with pytest.raises(TypeError, match="int item ids"):
        fitted.recommend([["a"]])
    # an empty session is not an error at recommend time: the popularity ranking (see test_edge_inputs)
    np.testing.assert_array_equal(fitted.recommend([[1], []])[1], fitted.recommend([[10**9]])[0])


# ---------------------------------------------------------------------------------- contract
def test_determinism_clone_and_refit(data):
    X, y, X_test, _ = data
    est = GRU4RecRecommender(**{**FAST, "validation_fraction": 0.2, "dropout": 0.2})
    first = est.fit(X, y).recommend(X_test, k=10)
    proba = est.predict_proba(X_test[:20])
    twin = clone(est)
    assert not any(name.endswith("_") and not name.startswith("__") for name in vars(twin))
    np.testing.assert_array_equal(twin.fit(X, y).recommend(X_test, k=10), first)
    np.testing.assert_array_equal(est.fit(X, y).predict_proba(X_test[:20]), proba)
    other = clone(est).set_params(random_state=1).fit(X, y).predict_proba(X_test[:20])
    assert not np.array_equal(other, proba)


def test_early_stopping_restores_the_best_epoch(data):
    X, y, X_test, _ = data
    params = {"hidden_size": 8, "lr": 0.05, "validation_fraction": 0.3, "random_state": 0}
    est = GRU4RecRecommender(**params, max_epochs=30, patience=1).fit(X, y)
    losses = est.history_[:, "valid_loss"]
    best = int(np.argmin(losses))
    assert len(losses) < 30 and best == len(losses) - 2  # patience 1: one epoch past the best
    # the restored weights are those of the best epoch: training just that long gives the same model
    short = GRU4RecRecommender(**params, max_epochs=best + 1, patience=None).fit(X, y)
    np.testing.assert_allclose(est.predict_proba(X_test[:20]), short.predict_proba(X_test[:20]), rtol=1e-6)


def test_inputs_are_not_mutated(data):
    X, y, X_test, _ = data
    X_arrays = [np.array(s) for s in X]
    before = ([a.copy() for a in X_arrays], y.copy(), [list(s) for s in X_test])
    est = GRU4RecRecommender(**FAST).fit(X_arrays, y)
    est.recommend(X_test, k=3)
    est.predict_proba(X_test[:3])
    assert all(np.array_equal(a, b) for a, b in zip(X_arrays, before[0]))
    np.testing.assert_array_equal(y, before[1])
    assert [list(s) for s in X_test] == before[2]


def test_pickle_and_joblib_round_trip(fitted, data, tmp_path):
    _, _, X_test, _ = data
    expected = fitted.recommend(X_test, k=10)
    proba = fitted.predict_proba(X_test[:10])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).recommend(X_test, k=10), expected)
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.recommend(X_test, k=10), expected)
    np.testing.assert_array_equal(loaded.predict_proba(X_test[:10]), proba)
    assert not loaded.net_.optimizer_.state  # weights only: the optimiser's moments were released


# ---------------------------------------------------------------------------------- invariants
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16))
def test_permuting_sessions_permutes_outputs(fitted, data, seed):
    _, _, X_test, _ = data
    X = X_test[:40]
    order = np.random.default_rng(seed).permutation(len(X))
    permuted = [X[i] for i in order]
    np.testing.assert_array_equal(fitted.recommend(permuted, k=10), fitted.recommend(X, k=10)[order])
    np.testing.assert_allclose(fitted.predict_proba(permuted), fitted.predict_proba(X)[order], rtol=1e-5, atol=1e-9)


def test_renaming_items_renames_the_output(data):
    X, y, X_test, _ = data
    check_renaming_items_renames_the_output(GRU4RecRecommender(**FAST), X, y, X_test)
