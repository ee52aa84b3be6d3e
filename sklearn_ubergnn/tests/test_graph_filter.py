"""GFCFRecommender: the graph filter against a dense reference, ranking, ids, persistence, errors."""
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ubergnn.datasets import make_bipartite
from sklearn_ubergnn.disentangled import (
    GFCFRecommender,
    MostPopularRecommender,
    _graph_filter,
    train_test_split_edges,
)

# 4 users x 5 items; item 4 is only user 3's, item 0 the most popular.
#        item 0  1  2  3  4
R = np.array([[1, 1, 0, 0, 0],   # user 0
              [1, 0, 1, 0, 0],   # user 1
              [1, 1, 0, 1, 0],   # user 2
              [0, 0, 1, 0, 1]],  # user 3
             dtype=np.float64)


def _edges(matrix, weighted=False):
    users, items = np.nonzero(matrix)
    X = pd.DataFrame({"user": users, "item": items})
    if weighted:
        X["w"] = matrix[users, items]
    return X


def _dense_gfcf(matrix, n_components, alpha):
    """The paper's formula on dense NumPy arrays: R (R̃ᵀR̃ + alpha D_i^{-1/2} V Vᵀ D_i^{1/2})."""
    du, di = matrix.sum(axis=1), matrix.sum(axis=0)
    norm = matrix / np.sqrt(du)[:, None] / np.sqrt(di)[None, :]
    _, _, vt = np.linalg.svd(norm)
    v = vt[:n_components].T
    ideal = np.diag(di ** -0.5) @ v @ v.T @ np.diag(di ** 0.5)
    return matrix @ (norm.T @ norm + alpha * ideal)


@pytest.fixture(scope="module")
def small():
    edges, _, _ = make_bipartite(n_users=60, n_items=40, n_channels=2, edges_per_user=8, random_state=0)
    return train_test_split_edges(edges, 0.25, random_state=0)


def test_normalised_matrix_by_hand():
    model = GFCFRecommender(n_components=2, random_state=0).fit(_edges(R))
    norm = model.normalized_interactions_.toarray()
    # user 0 has 2 items, item 0 has 3 users, item 1 two: R̃[0, 0] = 1 / sqrt(2 * 3), R̃[0, 1] = 1 / 2
    assert norm[0, 0] == pytest.approx(1 / np.sqrt(6)) and norm[0, 1] == pytest.approx(0.5)
    np.testing.assert_array_equal(model.interactions_.toarray(), R)
    np.testing.assert_array_equal(model.item_degree_, [3, 2, 2, 1, 1])
    assert model.singular_values_[0] == pytest.approx(1.0)  # the spectrum of R̃ lies in [0, 1]
    # the linear filter of user 0 on item 2, by hand: sum over users v of (r_0 . R̃[v]) R̃[v, 2]
    by_hand = sum(R[0] @ norm[v] * norm[v, 2] for v in range(4))
    linear = GFCFRecommender(alpha=0.0).fit(_edges(R))._user_scores(np.array([0]))[0, 2]
    assert linear == pytest.approx(by_hand)


@pytest.mark.parametrize("n_components, alpha", [(1, 0.3), (2, 0.3), (3, 1.0), (4, 0.5)])
def test_filter_matches_the_dense_reference(n_components, alpha):
    model = GFCFRecommender(n_components=n_components, alpha=alpha, random_state=0).fit(_edges(R))
    scores = model._user_scores(np.arange(4))
    np.testing.assert_allclose(scores, _dense_gfcf(R, n_components, alpha), atol=1e-10)


def test_weighted_edges_fill_the_matrix():
    weighted = R * np.array([[2.0, 1, 1, 1, 1], [1, 1, 0.5, 1, 1], [1, 3, 1, 1, 1], [1, 1, 1, 1, 4]])
    model = GFCFRecommender(n_components=2, alpha=0.7, weight_column="w", random_state=0)
    scores = model.fit(_edges(weighted, weighted=True))._user_scores(np.arange(4))
    np.testing.assert_allclose(scores, _dense_gfcf(weighted, 2, 0.7), atol=1e-10)


def test_linear_filter_alone_skips_the_svd():
    model = GFCFRecommender(alpha=0.0).fit(_edges(R))
    assert model.n_components_ == 0 and model.components_.shape == (0, 5)
    np.testing.assert_allclose(model._user_scores(np.arange(4)), _dense_gfcf(R, 0, 0.0), atol=1e-12)


def test_every_singular_vector_makes_the_ideal_filter_the_identity(small):
    train, _ = small
    full = GFCFRecommender(n_components=10_000, alpha=1.0, random_state=0).fit(train)
    assert full.n_components_ == min(full.n_users_, full.n_items_)
    linear = GFCFRecommender(alpha=0.0).fit(train)
    codes = np.arange(full.n_users_)
    # r_u D_i^{-1/2} lies in the row space of R̃, so projecting on all of it gives r_u back
    np.testing.assert_allclose(full._user_scores(codes) - linear._user_scores(codes),
                               full.interactions_.toarray(), atol=1e-8)


def test_scoring_in_small_blocks_changes_nothing(small, monkeypatch):
    train, _ = small
    model = GFCFRecommender(n_components=8, random_state=0).fit(train)
    codes = np.arange(model.n_users_)[::-1]
    whole = model._user_scores(codes)
    monkeypatch.setattr(_graph_filter, "_BLOCK_BYTES", 8 * model.n_users_ * 3)  # three users per block
    np.testing.assert_array_equal(model._user_scores(codes), whole)


def test_recommend_excludes_seen_items_and_ranks_by_the_filter(small):
    train, _ = small
    model = GFCFRecommender(n_components=8, random_state=0).fit(train)
    users = model.users_[:15]
    codes = model.user_vocabulary_.transform(users)
    scores = model._user_scores(codes)
    top = model.recommend(users, k=5)
    for user, row, ranked in zip(users, scores, top):
        seen = set(train.loc[train["user"] == user, "item"])
        assert not seen & set(ranked)
        unseen = np.setdiff1d(np.arange(model.n_items_), model.item_vocabulary_.transform(list(seen)))
        best = unseen[np.argsort(-row[unseen], kind="stable")[:5]]
        np.testing.assert_array_equal(ranked, model.classes_[best])
    with_seen = model.recommend(users, k=5, exclude_seen=False)
    best_with_seen = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(with_seen, model.classes_[best_with_seen])


def test_unseen_users_get_popularity_and_string_ids_round_trip():
    X = pd.DataFrame({"u": ["x", "x", "y", "y", "z"], "i": ["a", "b", "b", "c", "a"]})
    model = GFCFRecommender(n_components=2, random_state=0, user_column="u", item_column="i").fit(X)
    popular = MostPopularRecommender(user_column="u", item_column="i").fit(X).recommend(["new"], k=3)
    np.testing.assert_array_equal(model.recommend(["new"], k=3), popular)
    assert model.recommend(["x"], k=1)[0, 0] == "c"  # the only unseen item
    assert model.recommend(pd.DataFrame({"u": ["z", "x"]}), k=3).shape == (2, 3)


def test_seed_gives_identical_models(small):
    train, _ = small
    first = GFCFRecommender(n_components=8, random_state=0).fit(train)
    second = clone(first).fit(train)
    np.testing.assert_array_equal(first.components_, second.components_)
    np.testing.assert_array_equal(first.recommend(first.users_, k=10), second.recommend(first.users_, k=10))


def test_joblib_round_trip_gives_identical_recommendations(small, tmp_path):
    train, test = small
    model = GFCFRecommender(n_components=8, random_state=0).fit(train)
    joblib.dump(model, tmp_path / "gfcf.joblib")
    loaded = joblib.load(tmp_path / "gfcf.joblib")
    users = np.unique(test["user"])
    np.testing.assert_array_equal(loaded.recommend(users, k=10), model.recommend(users, k=10))
    assert loaded.score(test) == model.score(test)


def test_filter_beats_popularity_on_planted_interests():
    edges, _, _ = make_bipartite(n_users=300, n_items=200, n_channels=4, edges_per_user=15, random_state=0)
    train, test = train_test_split_edges(edges, 0.2, random_state=0)
    popularity = MostPopularRecommender().fit(train).score(test)
    assert GFCFRecommender(n_components=16, random_state=0).fit(train).score(test) > popularity + 0.1


@pytest.mark.parametrize("params, match", [
    ({"n_components": 0}, "'n_components' parameter of GFCFRecommender"),
    ({"n_components": "best"}, "'n_components' parameter of GFCFRecommender"),
    ({"alpha": -0.1}, "'alpha' parameter of GFCFRecommender"),
    ({"alpha": "best"}, "'alpha' parameter of GFCFRecommender"),
    ({"n_iter": "fast"}, "'n_iter' parameter of GFCFRecommender"),
    ({"random_state": "seed"}, "'random_state' parameter of GFCFRecommender"),
])
def test_bad_parameters_name_themselves(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        GFCFRecommender(**params).fit(_edges(R))


def test_bad_input_errors():
    with pytest.raises(NotFittedError):
        GFCFRecommender().recommend([0])
    with pytest.raises(ValueError, match=r"X is missing the column\(s\) \['movie'\]"):
        GFCFRecommender(item_column="movie").fit(_edges(R))
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        GFCFRecommender().fit(R)
    negative = _edges(R, weighted=True).assign(w=-1.0)
    with pytest.raises(ValueError, match="non-negative edge weights"):
        GFCFRecommender(weight_column="w").fit(negative)


# ---------------------------------------------------------------- n_components="auto", alpha="auto"
def _planted_blocks(n_blocks, n_users=300, n_items=240, per_user=15, noise=0.2, seed=0):
    """Users of ``n_blocks`` groups, each picking 15 items mostly (Zipf-like) from its group's items."""
    rng = np.random.default_rng(seed)
    user_block = rng.integers(n_blocks, size=n_users)
    item_block = np.arange(n_items) % n_blocks
    popularity = 1.0 / (1 + np.arange(n_items) // n_blocks)
    rows = []
    for user in range(n_users):
        p = np.where(item_block == user_block[user], popularity, noise * popularity.mean())
        rows += [(user, item) for item in rng.choice(n_items, per_user, replace=False, p=p / p.sum())]
    return pd.DataFrame(rows, columns=["user", "item"])


@pytest.mark.parametrize("n_blocks, best", [(2, 2), (6, 8)])
def test_auto_picks_the_rank_of_the_planted_blocks(n_blocks, best, monkeypatch):
    # alpha=5: the ideal filter dominates; rank 1 is the popularity direction, ranks above the
    # number of blocks fit noise, so the smallest candidate rank >= n_blocks wins
    monkeypatch.setattr(_graph_filter, "_AUTO_COMPONENTS", (1, 2, 8, 64))
    model = GFCFRecommender(alpha=5.0, random_state=0).fit(_planted_blocks(n_blocks))
    scores = model.validation_scores_
    np.testing.assert_array_equal(scores["n_components"], [1, 2, 8, 64])
    np.testing.assert_array_equal(scores["alpha"], [5.0] * 4)
    assert model.n_components_ == best == scores["n_components"][np.argmax(scores["recall"])]
    assert scores["recall"].max() > scores["recall"][-1] + 0.03  # well above the largest rank
    assert model.components_.shape == (best, model.n_items_)


def test_auto_refits_all_edges_at_the_chosen_rank(small):
    train, _ = small
    auto = GFCFRecommender(random_state=0).fit(train)
    assert auto.n_components == "auto" and auto.alpha_ == 0.3
    cap = min(auto.n_users_, auto.n_items_)  # 39 items: the candidates above are capped
    np.testing.assert_array_equal(auto.validation_scores_["n_components"], [16, 32, cap])
    assert ((auto.validation_scores_["recall"] >= 0) & (auto.validation_scores_["recall"] <= 1)).all()
    fixed = GFCFRecommender(n_components=auto.n_components_, random_state=0).fit(train)
    np.testing.assert_array_equal(auto.components_, fixed.components_)
    np.testing.assert_array_equal(auto.recommend(auto.users_, k=10), fixed.recommend(auto.users_, k=10))


def test_integer_rank_and_float_alpha_skip_the_validation(small):
    train, _ = small
    model = GFCFRecommender(n_components=8, alpha=0.5, random_state=0).fit(train)
    assert model.validation_scores_ is None and model.n_components_ == 8 and model.alpha_ == 0.5
    linear = GFCFRecommender(alpha=0.0).fit(train)  # no SVD at all, whatever n_components
    assert linear.validation_scores_ is None and linear.n_components_ == 0


def test_auto_alpha_scores_every_pair(small):
    train, _ = small
    model = GFCFRecommender(alpha="auto", random_state=0).fit(train)
    scores = pd.DataFrame(model.validation_scores_)
    assert list(scores.itertuples(index=False, name=None))[:2] == [(16, 0.3, scores["recall"][0]),
                                                                  (16, 1.0, scores["recall"][1])]
    assert len(scores) == 6
    best = scores.loc[scores["recall"].idxmax()]
    assert (model.n_components_, model.alpha_) == (best["n_components"], best["alpha"])
    only_alpha = GFCFRecommender(n_components=8, alpha="auto", random_state=0).fit(train)
    np.testing.assert_array_equal(only_alpha.validation_scores_["alpha"], [0.3, 1.0])


def test_auto_is_deterministic_and_ignores_row_order(small):
    train, _ = small
    first = GFCFRecommender(alpha="auto", random_state=3).fit(train)
    shuffled = GFCFRecommender(alpha="auto", random_state=3).fit(train.sample(frac=1.0, random_state=1))
    for key in ("n_components", "alpha", "recall"):
        np.testing.assert_array_equal(first.validation_scores_[key], shuffled.validation_scores_[key])
    np.testing.assert_array_equal(first.recommend(first.users_, k=10), shuffled.recommend(first.users_, k=10))
    other = GFCFRecommender(alpha="auto", random_state=4).fit(train)
    assert not np.array_equal(first.validation_scores_["recall"], other.validation_scores_["recall"])


def test_holdout_spares_small_users_and_bounds_the_sample(small, monkeypatch):
    train, _ = small
    graph = GFCFRecommender(n_components=2, random_state=0).fit(train).graph_
    counts = np.diff(graph.indptr)
    users, held = _graph_filter._holdout(graph, np.random.RandomState(0))
    np.testing.assert_array_equal(users, np.flatnonzero(counts >= 3))  # round(0.2 n) >= 1 and one edge kept
    held_per_user = np.bincount(graph.user[held], minlength=graph.n_users)
    np.testing.assert_array_equal(held_per_user[users], np.round(0.2 * counts[users]))
    assert (counts - held_per_user >= 1).all()
    monkeypatch.setattr(_graph_filter, "_MAX_VALIDATION_USERS", 5)
    users, held = _graph_filter._holdout(graph, np.random.RandomState(0))
    assert len(users) == 5 and set(graph.user[held]) == set(users)


def test_auto_without_users_to_validate_keeps_the_largest_rank():
    # every user has 2 edges, none to spare: no validation, the largest candidate (capped) is kept
    model = GFCFRecommender(alpha="auto", random_state=0).fit(_edges(R[[0, 1, 3]]))
    assert model.validation_scores_ is None
    assert (model.n_components_, model.alpha_) == (3, 0.3)


def test_auto_round_trip(small, tmp_path):
    train, test = small
    model = GFCFRecommender(random_state=0).fit(train)
    joblib.dump(model, tmp_path / "gfcf_auto.joblib")
    loaded = joblib.load(tmp_path / "gfcf_auto.joblib")
    assert loaded.n_components_ == model.n_components_ and loaded.validation_scores_.keys() == {
        "n_components", "alpha", "recall"}
    users = np.unique(test["user"])
    np.testing.assert_array_equal(loaded.recommend(users, k=10), model.recommend(users, k=10))
