"""Tests of UberGNNRecommender (fast: tiny models, few epochs)."""
import contextlib
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sklearn_ubergnn.datasets import make_sessions
from sklearn_ubergnn.graphs import item_transition_graph
from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
from sklearn_ubergnn.nn import ItemLogits, segment_mean
from sklearn_ubergnn.preprocessing import session_prefixes
from sklearn_ubergnn.session import SR_GNN_PARAMS, PopularityRecommender
from sklearn_ubergnn.session._transformer import SessionGraphTransformer
from sklearn_ubergnn.session._ubergnn import UberGNNRecommender
from sklearn_ubergnn.tests._session_checks import (
    check_cuda_model_predicts_on_cpu,
    check_renaming_items_renames_the_output,
)

FAST = {"hidden_size": 8, "max_epochs": 2, "batch_size": 32, "validation_fraction": None, "random_state": 0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def _frame(sessions, session_users, users):
    X, y, index = session_prefixes(sessions, return_session_index=True)
    df = users.loc[session_users[index]].reset_index(drop=True)
    df.insert(0, "session", X)
    return df, y


@pytest.fixture(scope="module")
def data():
    sessions, session_users, users = make_sessions(n_sessions=300, random_state=0)
    train, y = _frame(sessions[:240], session_users[:240], users)
    test, y_test = _frame(sessions[240:], session_users[240:], users)
    return train, y, test, y_test


@pytest.fixture(scope="module")
def fitted(data):
    train, y, _, _ = data
    return UberGNNRecommender(**FAST).fit(train["session"].tolist(), y)


@pytest.fixture(scope="module")
def fitted_users(data):
    train, y, _, _ = data
    return UberGNNRecommender(**FAST).fit(train, y)


# ---------------------------------------------------------------------------------- basic API
def test_fit_predict_recommend_shapes_and_raw_ids(fitted, data):
    train, y, test, _ = data
    X_test = test["session"].tolist()
    assert fitted.readout_ == "local" and fitted.user_encoder_ is None
    all_ids = np.concatenate([np.concatenate(train["session"]), y])
    np.testing.assert_array_equal(fitted.classes_, np.unique(all_ids))
    top = fitted.recommend(X_test, k=7)
    assert top.shape == (len(X_test), 7) and top.dtype == fitted.classes_.dtype
    assert np.isin(top, fitted.classes_).all()
    assert all(len(set(row)) == 7 for row in top)
    np.testing.assert_array_equal(fitted.predict(X_test), top[:, 0])
    proba = fitted.predict_proba(X_test[:9])
    assert proba.shape == (9, fitted.n_items_)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(X_test[:9]))
    assert fitted.recommend(X_test[:2], k=10_000).shape == (2, fitted.n_items_)
    assert len(fitted.history_) == FAST["max_epochs"]


def test_score_is_p_at_20(fitted, data):
    _, _, test, y_test = data
    X_test = test["session"].tolist()
    expected = precision_at_k(y_test, fitted.recommend(X_test, k=20), k=20)
    assert fitted.score(X_test, y_test) == pytest.approx(expected)


def test_string_ids():
    X = [["a", "b"], ["b", "c"], ["a"], ["c", "a", "b"]]
    y = ["c", "a", "b", "b"]
    est = UberGNNRecommender(**FAST).fit(X, y)
    assert est.classes_.tolist() == ["a", "b", "c"]
    assert set(est.recommend([["a"]], k=3)[0]) == {"a", "b", "c"}
    with pytest.raises(TypeError, match="str item ids"):
        est.recommend([[1, 2]])


def test_transform_shape_dtype_and_feature_names(fitted, data):
    _, _, test, _ = data
    X_test = test["session"].tolist()
    vectors = fitted.transform(X_test)
    assert vectors.shape == (len(X_test), 8) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    names = fitted.get_feature_names_out()
    assert names.tolist() == [f"ubergnnrecommender{i}" for i in range(8)]
    # transform feeds recommend's scores: scale * s_h . E^T, plus repeat_bias's offsets for the session's
    # own items (by reversed position, and g . s_h per session), ranks like recommend
    module = fitted.net_.module_
    scores = module.logit_scale * vectors @ module.item_embeddings().detach().numpy().T
    r, g = module.repeat_bias.detach().numpy(), module.repeat_gate.detach().numpy()
    for row, session in enumerate(X_test):
        codes = np.searchsorted(fitted.classes_, session)
        for j in np.flatnonzero(fitted.classes_[np.minimum(codes, len(fitted.classes_) - 1)] == session):
            scores[row, codes[j]] += module.logit_scale * (r[min(len(session) - 1 - j, len(r) - 1)]
                                                           + vectors[row] @ g)
    known = np.abs(vectors).sum(axis=1) > 0  # sessions with a known item (the others are zero)
    np.testing.assert_array_equal(fitted.classes_[scores[known].argmax(axis=1)], fitted.predict(X_test)[known])


# ---------------------------------------------------------------------------------- readouts, users
def test_mean_readout_is_the_mean_of_the_click_vectors(data):
    train, y, test, _ = data
    est = UberGNNRecommender(**FAST, **SR_GNN_PARAMS, readout="mean").fit(train["session"].tolist(), y)
    X_test = test["session"].tolist()[:20]
    module = est.net_.module_
    data = est._encode(*est._check_input(X_test, reset=False))
    batch, _ = est._source(data).batch(np.arange(len(X_test)))
    f = batch.fields
    with torch.no_grad():
        h = module.gnn(module.embedding(f["items"]), f["edge_src"], f["edge_dst"], f["edge_weight_out"],
                       f["edge_weight_in"])
        click_session = torch.repeat_interleave(torch.arange(len(X_test)), f["alias_offsets"].diff())
        s_g = segment_mean(h[f["alias"]], click_session, len(X_test))
        s_c = h[f["last_node"]]
        expected = module.session_readout.transform(torch.cat([s_c, s_g], dim=1)).numpy()
    np.testing.assert_allclose(est.transform(X_test), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("readout", ["mean", "local", "user", "hybrid"])
def test_all_readouts_train(data, readout):
    train, y, test, _ = data
    est = UberGNNRecommender(**{**FAST, "max_epochs": 3}, readout=readout).fit(train, y)
    assert est.readout_ == readout
    losses = [row["train_loss"] for row in est.history_]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert est.recommend(test, k=5).shape == (len(test), 5)


def test_auto_readout_and_user_attributes(fitted_users, data):
    _, _, test, _ = data
    assert fitted_users.readout_ == "hybrid"
    assert fitted_users.user_encoder_.categorical_ == ["region", "device"]
    assert fitted_users.user_encoder_.continuous_ == ["age", "income"]
    assert len(fitted_users.field_sizes_) == 4
    assert fitted_users.net_.module_.user_encoder is not None
    # a model with users needs them at predict time
    with pytest.raises(ValueError, match="user columns"):
        fitted_users.recommend(test["session"].tolist())


def test_users_help_on_planted_segments():
    """The planted segments (region x age band) make next items predictable: users must help. The
    repeat offsets are off: 18 % of these next clicks are repeats, and the offsets lift both readouts
    (P@20 0.578 / 0.526 -> 0.583 / 0.559), which narrows the gap the users make to 0.024."""
    sessions, session_users, users = make_sessions(n_sessions=1500, random_state=0)
    train, y = _frame(sessions[:1200], session_users[:1200], users)
    test, y_test = _frame(sessions[1200:], session_users[1200:], users)
    params = {"hidden_size": 16, "max_epochs": 5, "lr": 0.01, "lr_step_size": None, "validation_fraction": None,
              "random_state": 0, "repeat_bias": False}
    hybrid = UberGNNRecommender(**params, readout="hybrid").fit(train, y).recommend(test, k=20)
    local = UberGNNRecommender(**params, readout="local").fit(train["session"].tolist(), y)
    local = local.recommend(test["session"].tolist(), k=20)
    p_hybrid, p_local = precision_at_k(y_test, hybrid, k=20), precision_at_k(y_test, local, k=20)
    assert p_hybrid > p_local + 0.04, (p_hybrid, p_local)
    assert mrr_at_k(y_test, hybrid, k=20) >= mrr_at_k(y_test, local, k=20)


def test_user_columns_can_be_named(data):
    train, y, test, _ = data
    est = UberGNNRecommender(**FAST, categorical_columns=["region"], continuous_columns=["age"]).fit(train, y)
    assert est.user_encoder_.categorical_ == ["region"] and est.user_encoder_.continuous_ == ["age"]
    assert est.field_sizes_[0] == 5  # 4 regions + unknown
    renamed = train.rename(columns={"session": "clicks"})
    est = UberGNNRecommender(**FAST, session_column="clicks").fit(renamed, y)
    assert est.recommend(test.rename(columns={"session": "clicks"}), k=3).shape == (len(test), 3)


def test_dataframe_without_user_columns_is_sessions_only(data):
    train, y, test, _ = data
    est = UberGNNRecommender(**FAST).fit(train[["session"]], y)
    assert est.readout_ == "local" and est.user_encoder_ is None
    # extra columns at predict time are ignored by a model without users
    np.testing.assert_array_equal(est.recommend(test, k=5), est.recommend(test["session"].tolist(), k=5))


@pytest.mark.parametrize("readout", ["user", "hybrid"])
def test_user_readout_without_user_columns(data, readout):
    train, y, _, _ = data
    with pytest.raises(ValueError, match="needs user-portrait columns"):
        UberGNNRecommender(**FAST, readout=readout).fit(train["session"].tolist(), y)
    with pytest.raises(ValueError, match="needs user-portrait columns"):
        UberGNNRecommender(**FAST, readout=readout).fit(train[["session"]], y)


def test_unseen_users_get_the_unknown_value(fitted_users, data):
    _, _, test, _ = data
    strangers = test.head(6).copy()
    strangers["region"] = "atlantis"
    strangers["device"] = None
    strangers["age"] = np.nan
    fields = fitted_users._encode(*fitted_users._check_input(strangers, reset=False)).user_fields
    assert (fields[:, :2] == 0).all() and (fields[:, 2] == 0).all()
    top = fitted_users.recommend(strangers, k=5)
    assert top.shape == (6, 5) and np.isin(top, fitted_users.classes_).all()
    assert np.isfinite(fitted_users.transform(strangers)).all()


def test_unseen_items_fall_back_to_popularity(fitted, data):
    train, y, _, _ = data
    counts = fitted.item_counts_
    baseline = PopularityRecommender().fit(train["session"].tolist(), y)
    np.testing.assert_array_equal(counts, baseline.item_counts_)
    popular = fitted.classes_[np.argsort(-counts, kind="stable")[:5]]
    top = fitted.recommend([[-12345, -999], train["session"][0]], k=5)
    np.testing.assert_array_equal(top[0], popular)
    proba = fitted.predict_proba([[-12345]])
    np.testing.assert_allclose(proba[0], counts / counts.sum())
    np.testing.assert_array_equal(fitted.transform([[-12345]]), 0.0)
    # an unseen click inside a session is dropped: same as the session without it
    session = list(train["session"][3])
    np.testing.assert_array_equal(fitted.recommend([session + [-1]], k=5), fitted.recommend([session], k=5))


# ---------------------------------------------------------------------------------- other options
@pytest.mark.parametrize("params", [{"loss": "bce"}, {"normalize": True}, {"init": "normal"},
                                    {"attention_softmax": False, "n_steps": 2}, {"lr_step_size": 1},
                                    {"star_node": True, "highway": True, "n_positions": 5, "embedding_dropout": 0.2},
                                    {"star_node": True, "readout": "mean", "n_steps": 2},
                                    {"label_smoothing": 0.1}, {"global_neighbours": 4}])
def test_options_train(data, params):
    train, y, test, _ = data
    est = UberGNNRecommender(**{**FAST, "max_epochs": 3}, **params).fit(train["session"].tolist(), y)
    losses = [row["train_loss"] for row in est.history_]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert est.recommend(test["session"].tolist(), k=3).shape == (len(test), 3)


def test_label_smoothing_is_the_training_criterion(data):
    train, y, _, _ = data
    est = UberGNNRecommender(**{**FAST, "max_epochs": 1}, label_smoothing=0.3).fit(train["session"].tolist(), y)
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    target = torch.tensor([0, 2])
    log_p = torch.log_softmax(logits, dim=1)
    # (1 - s) * cross-entropy + s * the mean over the items of -log p_i, averaged over the batch
    expected = (0.7 * -log_p[[0, 1], target] + 0.3 * -log_p.mean(dim=1)).mean()
    assert torch.allclose(est.net_.get_loss(logits, target), expected)
    with pytest.raises(ValueError, match=r"label_smoothing=0.3 needs loss='cross_entropy'; got loss='bce'"):
        UberGNNRecommender(**FAST, label_smoothing=0.3, loss="bce").fit(train["session"].tolist(), y)


@pytest.mark.parametrize("params", [{}, {"label_smoothing": 0.2}, {"normalize": False}])
def test_fused_loss_trains_as_torch_cross_entropy_on_the_logits(data, params, monkeypatch):
    """The criterion gets the factors of the logits in training (a fused loss); handing it the logits
    instead (torch's cross-entropy) must give the same training, up to float rounding."""
    train, y, test, _ = data
    params = {**FAST, "max_epochs": 2, "validation_fraction": 0.2, "refit": False, **params}
    fused = UberGNNRecommender(**params).fit(train["session"].tolist(), y)
    batch, _ = fused._source(fused._encode(*fused._check_input(test["session"].tolist()[:5], reset=False))).batch(
        np.arange(5))
    fused.net_.module_.train()
    assert isinstance(fused.net_.infer(batch), ItemLogits)          # what the criterion got in training
    fused.net_.module_.eval()
    monkeypatch.setattr(UberGNNRecommender, "_training_method", "forward")
    plain = UberGNNRecommender(**params).fit(train["session"].tolist(), y)
    for key in ("train_loss", "valid_loss"):
        np.testing.assert_allclose(fused.history_[:, key], plain.history_[:, key], rtol=1e-4)
    np.testing.assert_allclose(fused.predict_proba(test["session"].tolist()),
                               plain.predict_proba(test["session"].tolist()), atol=1e-4)


def test_global_item_graph_is_built_from_the_training_sessions(tmp_path):
    """Every prefix of a session, or the session once: the same global graph (GCE-GNN's, window 3)."""
    sessions = [[1, 2, 3, 4, 5], [3, 1, 3], [2, 5], [4, 5, 1, 2]]
    X, y = session_prefixes(sessions)
    params = {**FAST, "global_neighbours": 2}
    est = UberGNNRecommender(**params).fit(X, y)
    once = UberGNNRecommender(**params).fit([s[:-1] for s in sessions], [s[-1] for s in sessions])
    codes = [[int(np.searchsorted(est.classes_, i)) for i in s] for s in sessions]
    full = item_transition_graph(np.concatenate(codes), np.repeat(np.arange(4), [len(s) for s in codes]),
                                 est.n_items_, [1.0, 1.0, 1.0], symmetric=True).toarray()
    # item 5 (code 4) is within 3 clicks of 2 three times, of 4 twice, of 1 and 3 once: two neighbours kept
    np.testing.assert_array_equal(est.global_item_graph_.toarray()[4], [0, 3, 0, 2, 0])
    for row, graph in enumerate(est.global_item_graph_.toarray()):
        kept = np.flatnonzero(graph)
        assert len(kept) == min(2, np.count_nonzero(full[row]))
        np.testing.assert_array_equal(graph[kept], full[row, kept])
        assert graph[kept].min() >= np.sort(full[row])[-2]  # the two strongest
    np.testing.assert_array_equal(once.global_item_graph_.toarray(), est.global_item_graph_.toarray())
    assert UberGNNRecommender(**FAST).fit(X, y).global_item_graph_ is None
    joblib.dump(est, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_reversed_positions_find_the_item_three_clicks_back():
    """Planted: the next item is a fixed permutation of the third-last click; the last two clicks carry
    nothing. One propagation step cannot bring that click into the last node, and attention by content
    cannot tell which click it is; reversed-position embeddings can."""
    rng = np.random.default_rng(0)
    permutation = rng.permutation(30)

    def sample(n):
        sessions = [rng.choice(30, size=rng.integers(4, 8), replace=False) for _ in range(n)]
        return [s.tolist() for s in sessions], permutation[[s[-3] for s in sessions]]

    X, y = sample(3000)
    X_test, y_test = sample(500)
    params = {"hidden_size": 16, "max_epochs": 8, "lr": 0.01, "lr_step_size": None, "validation_fraction": None,
              "random_state": 0}
    p1 = {n: precision_at_k(y_test, UberGNNRecommender(**params, n_positions=n).fit(X, y).recommend(X_test, k=1),
                            k=1) for n in (0, 8)}
    assert p1[8] > 0.9 and p1[0] < 0.6, p1


def test_repeat_bias_learns_whether_the_sessions_items_come_back():
    """Planted: the next click is drawn among the items NOT in the session (ratings: nothing is rated
    twice), or it is the last click again (a click log's reload). The offsets learn the sign of each: all
    negative in the first case, so the top 10 holds none of the session's items (without the option,
    most sessions keep some there); in the second the last click's offset is positive and the largest."""
    rng = np.random.default_rng(0)

    def sample(n, repeat):
        X = [rng.choice(30, size=rng.integers(3, 7), replace=False) for _ in range(n)]
        y = [s[-1] if repeat else rng.choice(np.setdiff1d(np.arange(30), s)) for s in X]
        return [s.tolist() for s in X], np.asarray(y)

    params = {"hidden_size": 16, "max_epochs": 8, "lr": 0.01, "lr_step_size": None,
              "validation_fraction": None, "random_state": 0}
    X, y = sample(3000, repeat=False)
    X_test, _ = sample(300, repeat=False)
    in_top = {}
    for repeat_bias in (False, True):
        est = UberGNNRecommender(**params, repeat_bias=repeat_bias).fit(X, y)
        top = est.recommend(X_test, k=10)
        in_top[repeat_bias] = np.mean([len(set(r) & set(s)) for r, s in zip(top, X_test)])
    offsets = est.net_.module_.repeat_bias.detach()
    assert (offsets[:6] < -0.1).all(), offsets                      # positions 0-5 occur in sessions of 3-6
    assert in_top[True] == 0 and in_top[False] > 0.3, in_top
    X, y = sample(3000, repeat=True)
    offsets = UberGNNRecommender(**params, repeat_bias=True).fit(X, y).net_.module_.repeat_bias.detach()
    assert offsets[0] > 0.1 and offsets[0] == offsets.max(), offsets


def test_early_stopping_and_callbacks(data):
    from skorch.callbacks import Callback

    class Count(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_begin(self, net, **kwargs):
            self.epochs_ += 1

    train, y, _, _ = data
    counter = Count()
    params = {**FAST, "validation_fraction": 0.2, "max_epochs": 30, "patience": 1, "lr": 0.05, "refit": False}
    est = UberGNNRecommender(**params, callbacks=[("count", counter)]).fit(train["session"].tolist(), y)
    assert "valid_loss" in est.history_[-1]
    assert len(est.history_) < 30  # stopped early
    assert dict(est.net_.callbacks_)["count"].epochs_ == len(est.history_)
    # released after fit: no optimiser moments
    assert len(est.net_.optimizer_.state) == 0


def test_lr_schedule(data):
    train, y, _, _ = data
    est = UberGNNRecommender(**{**FAST, "max_epochs": 3}, lr=0.01, lr_step_size=1, lr_gamma=0.5)
    est.fit(train["session"].tolist(), y)
    assert est.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5**3)


# ---------------------------------------------------------------------------------- bad input
def test_missing_session_column(data):
    train, y, _, _ = data
    with pytest.raises(ValueError, match="session column 'session'"):
        UberGNNRecommender(**FAST).fit(train.drop(columns="session"), y)


def test_bad_parameters(data):
    train, y, _, _ = data
    with pytest.raises(ValueError, match="readout"):
        UberGNNRecommender(readout="global").fit(train["session"].tolist(), y)
    with pytest.raises(ValueError, match="hidden_size"):
        UberGNNRecommender(hidden_size=0).fit(train["session"].tolist(), y)
    with pytest.raises(ValueError, match="not a DataFrame"):
        UberGNNRecommender(categorical_columns=["region"]).fit(train["session"].tolist(), y)


@pytest.mark.parametrize("k", [0, -1])
def test_bad_k(fitted, k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        fitted.recommend([[1]], k=k)


# ---------------------------------------------------------------------------------- contract
def test_determinism_clone_and_refit(data):
    train, y, test, _ = data
    X, X_test = train["session"].tolist(), test["session"].tolist()
    est = UberGNNRecommender(**{**FAST, "validation_fraction": 0.2})
    first = est.fit(X, y).recommend(X_test, k=10)
    first_vectors = est.transform(X_test)
    twin = clone(est)
    assert not any(name.endswith("_") and not name.startswith("__") for name in vars(twin))
    np.testing.assert_array_equal(twin.fit(X, y).recommend(X_test, k=10), first)
    np.testing.assert_array_equal(est.fit(X, y).transform(X_test), first_vectors)
    other = clone(est).set_params(random_state=1).fit(X, y).transform(X_test)
    assert not np.array_equal(other, first_vectors)


def test_inputs_are_not_mutated(data):
    train, y, test, _ = data
    train_copy, test_copy, y_copy = train.copy(deep=True), test.copy(deep=True), y.copy()
    sessions = [list(s) for s in train["session"]]
    est = UberGNNRecommender(**FAST).fit(train, y)
    est.recommend(test, k=3)
    est.predict_proba(test.head(3))
    est.transform(test)
    pd.testing.assert_frame_equal(train, train_copy)
    pd.testing.assert_frame_equal(test, test_copy)
    np.testing.assert_array_equal(y, y_copy)
    plain = UberGNNRecommender(**FAST).fit(sessions, y)
    plain.recommend(sessions[:5])
    assert sessions == [list(s) for s in train_copy["session"]]


def test_pickle_and_joblib_round_trip(fitted_users, data, tmp_path):
    _, _, test, _ = data
    expected = fitted_users.recommend(test, k=10)
    vectors = fitted_users.transform(test)
    again = pickle.loads(pickle.dumps(fitted_users))
    np.testing.assert_array_equal(again.recommend(test, k=10), expected)
    joblib.dump(fitted_users, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.recommend(test, k=10), expected)
    np.testing.assert_array_equal(loaded.transform(test), vectors)


def test_graph_batch_input_and_pipeline(data):
    train, y, test, _ = data
    X, X_test = train["session"].tolist(), test["session"].tolist() + [[-7, -8]]
    direct = UberGNNRecommender(**FAST).fit(X, y)
    graphs = SessionGraphTransformer().fit(X, y)
    via_graphs = UberGNNRecommender(**FAST).fit(graphs.transform(X), y)
    np.testing.assert_array_equal(via_graphs.classes_, direct.classes_)
    np.testing.assert_array_equal(via_graphs.recommend(graphs.transform(X_test), k=10),
                                  direct.recommend(X_test, k=10))
    pipe = make_pipeline(SessionGraphTransformer(), UberGNNRecommender(**FAST)).fit(X, y)
    np.testing.assert_array_equal(pipe.predict(X_test), direct.predict(X_test))
    assert pipe.predict_proba(X_test[:4]).shape == (4, direct.n_items_)
    assert 0.0 <= pipe.score(test["session"].tolist(), data[3]) <= 1.0


def test_device_can_be_changed_after_fit(fitted, data):
    _, _, test, _ = data
    X_test = test["session"].tolist()
    expected = fitted.recommend(X_test, k=5)
    est = pickle.loads(pickle.dumps(fitted)).set_params(device=torch.device("cpu"))
    np.testing.assert_array_equal(est.recommend(X_test, k=5), expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_model_with_portraits_predicts_on_cpu(data):
    train, y, test, _ = data
    check_cuda_model_predicts_on_cpu(UberGNNRecommender(**FAST, device="cuda"), train, y, test)


# ---------------------------------------------------------------------------------- invariants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16))
def test_permuting_sessions_permutes_outputs(fitted_users, data, seed):
    _, _, test, _ = data
    X = test.iloc[:40].reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(X))
    np.testing.assert_array_equal(
        fitted_users.recommend(X.iloc[order].reset_index(drop=True), k=10), fitted_users.recommend(X, k=10)[order]
    )
    np.testing.assert_allclose(
        fitted_users.transform(X.iloc[order].reset_index(drop=True)), fitted_users.transform(X)[order], atol=1e-6
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 39), copies=st.integers(2, 4))
def test_duplicate_sessions_get_identical_scores(fitted_users, data, row, copies):
    _, _, test, _ = data
    X = pd.concat([test.iloc[:40]] + [test.iloc[[row]]] * copies, ignore_index=True)
    proba = fitted_users.predict_proba(X)
    for extra in range(40, 40 + copies):  # equal up to float32 summation order within a batch (logits up to
        # scale=12 in size, so a last-bit difference moves a probability by ~1e-6 relative)
        np.testing.assert_allclose(proba[extra], proba[row], rtol=1e-5, atol=1e-9)
    top = fitted_users.recommend(X, k=5)
    assert all((top[extra] == top[row]).all() for extra in range(40, 40 + copies))


def test_renaming_items_renames_the_output(data):
    train, y, test, _ = data
    check_renaming_items_renames_the_output(UberGNNRecommender(**FAST), train["session"].tolist(), y,
                                            test["session"].tolist())


# ---------------------------------------------------------------------------------- one path: graphs, scores
def test_graph_batch_is_consumed_without_rebuilding_graphs(data, monkeypatch):
    """SessionGraphTransformer -> UberGNNRecommender: no decode, no rebuild, same answers as raw sessions."""
    import sklearn_ubergnn.graphs
    import sklearn_ubergnn.graphs._session
    import sklearn_ubergnn.session._data

    train, y, test, _ = data
    X, X_test = train["session"].tolist(), test["session"].tolist() + [[-7, -8]]
    direct = UberGNNRecommender(**FAST).fit(X, y)
    expected = direct.recommend(X_test, k=10), direct.predict_proba(X_test[:5]), direct.transform(X_test)
    graphs = SessionGraphTransformer().fit(X, y)
    batch, batch_test = graphs.transform(X), graphs.transform(X_test)

    def rebuild(*args, **kwargs):
        raise AssertionError("a session graph was rebuilt")

    for module in (sklearn_ubergnn.graphs, sklearn_ubergnn.graphs._session, sklearn_ubergnn.session._data):
        monkeypatch.setattr(module, "build_session_graphs", rebuild)
    via = UberGNNRecommender(**FAST).fit(batch, y)
    np.testing.assert_array_equal(via.classes_, direct.classes_)
    np.testing.assert_array_equal(via.item_counts_, direct.item_counts_)
    np.testing.assert_array_equal(via.recommend(batch_test, k=10), expected[0])
    np.testing.assert_allclose(via.predict_proba(batch_test[:5]), expected[1], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(via.transform(batch_test), expected[2], rtol=1e-6, atol=1e-7)
    from sklearn_ubergnn.pipeline import recommend  # the transformer builds the graphs once, the model none

    pipe = make_pipeline(SessionGraphTransformer(), UberGNNRecommender(**FAST)).fit(X, y)
    np.testing.assert_array_equal(recommend(pipe, X_test, k=10), expected[0])


def test_graph_batch_of_another_vocabulary(data):
    """A transformer fitted on other data: its codes are remapped; clicks unknown to the model dropped."""
    train, y, test, _ = data
    X, X_test = train["session"].tolist(), test["session"].tolist()[:40] + [[-7, -8]]
    direct = UberGNNRecommender(**FAST).fit(X, y)
    wider = SessionGraphTransformer().fit(X + X_test)  # knows items the recommender never saw
    np.testing.assert_array_equal(direct.recommend(wider.transform(X_test), k=5), direct.recommend(X_test, k=5))
    narrower = SessionGraphTransformer().fit(X[:50])  # drops the clicks it does not know
    kept = [[i for i in s if i in set(narrower.classes_)] for s in X_test]
    np.testing.assert_array_equal(direct.recommend(narrower.transform(X_test), k=5), direct.recommend(kept, k=5))
    with pytest.raises(ValueError, match="at least one item"):
        UberGNNRecommender(**FAST).fit(narrower.transform(X_test), y[: len(X_test)])


def test_predict_proba_is_the_softmax_of_the_training_logits(fitted_users, data):
    _, _, test, y_test = data
    X = test.iloc[:40].reset_index(drop=True)
    encoded = fitted_users._encode(*fitted_users._check_input(X, reset=False))
    batch, _ = fitted_users._source(encoded).batch(np.arange(len(X)))
    module = fitted_users.net_.module_
    with torch.no_grad():
        logits = module(**batch.fields)  # what the training loss sees
        codes = fitted_users.vocabulary_.transform(y_test[:40])
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(np.maximum(codes, 0)), reduction="none")
    proba = fitted_users.predict_proba(X)
    known = encoded.n_known > 0
    np.testing.assert_allclose(proba[known], torch.softmax(logits.double(), dim=1).numpy()[known], rtol=1e-6,
                               atol=1e-12)
    seen = known & (codes >= 0)  # the training loss is -log proba of the next item
    np.testing.assert_allclose(-np.log(proba[np.arange(40), codes])[seen], loss.numpy()[seen], rtol=1e-4)
    # recommend ranks as predict_proba: decreasing probability, ties in classes_ order
    order = np.argsort(-proba, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(fitted_users.recommend(X, k=10)[known], fitted_users.classes_[order][known])


# ---------------------------------------------------------------------------------- refit
@pytest.mark.parametrize("name", ["UberGNNRecommender", "GRU4RecRecommender"])
def test_refit_trains_on_every_sample_for_the_chosen_epochs(name, session_split):
    from sklearn_ubergnn import session

    cls = getattr(session, name)
    X, y, X_test, _ = session_split
    params = {"hidden_size": 8, "batch_size": 32, "lr": 0.05, "lr_step_size": None, "max_epochs": 8,
              "validation_fraction": 0.3, "patience": 2, "random_state": 0}
    plain = cls(**params, refit=False).fit(X, y)
    refit = cls(**params, refit=True).fit(X, y)
    # the selection run is the plain run; it chose the epoch of lowest validation loss
    selection = refit.selection_history_[:, "valid_loss"]
    np.testing.assert_array_equal(selection, plain.history_[:, "valid_loss"])
    assert refit.best_epoch_ == plain.best_epoch_ == int(np.argmin(selection)) + 1
    assert plain.selection_history_ is None
    # the returned network trained on every sample for that many epochs, without validation
    assert len(refit.history_) == refit.best_epoch_ and "valid_loss" not in refit.history_[-1]
    same = cls(**{**params, "validation_fraction": None, "max_epochs": refit.best_epoch_}).fit(X, y)
    np.testing.assert_allclose(refit.predict_proba(X_test[:20]), same.predict_proba(X_test[:20]), rtol=1e-5)
    assert not np.allclose(refit.predict_proba(X_test[:20]), plain.predict_proba(X_test[:20]))
    # no validation split: nothing to choose, one run of max_epochs
    alone = cls(**{**params, "validation_fraction": None, "max_epochs": 3}, refit=True).fit(X, y)
    assert alone.selection_history_ is None and alone.best_epoch_ == len(alone.history_) == 3


def test_best_epoch_is_the_epoch_early_stopping_restored():
    """Epochs that improve valid_loss by less than EarlyStopping's threshold (1e-4 relative) are not
    chosen: the weights kept are those of epoch 2, so best_epoch_ (and a refit) must say 2, not 5."""
    from types import SimpleNamespace

    from skorch.callbacks import EarlyStopping
    from skorch.history import History

    from sklearn_ubergnn.base import _best_epoch

    stop = EarlyStopping(monitor="valid_loss", patience=3, load_best=False)
    net = SimpleNamespace(history=History(), verbose=0, callbacks_=[("early_stop", stop)])
    stop.on_train_begin(net)
    for epoch, loss in enumerate([5.0, 4.0, 3.9999, 3.9998, 3.9997], start=1):
        net.history.new_epoch()
        net.history.record("epoch", epoch)
        net.history.record("valid_loss", loss)
        with contextlib.suppress(KeyboardInterrupt):  # how EarlyStopping stops skorch's loop
            stop.on_epoch_end(net)
    assert _best_epoch(net) == 2
    net.callbacks_ = []  # a validation split without early stopping: the lowest valid_loss
    assert _best_epoch(net) == 5
