"""SequentialRulesRecommender: rules worked by hand, pruning, and learning on planted sessions."""
import numpy as np
import pytest

from sklearn_ubergnn.metrics import precision_at_k
from sklearn_ubergnn.preprocessing import session_prefixes
from sklearn_ubergnn.session import PopularityRecommender, SequentialRulesRecommender
from sklearn_ubergnn.tests._session_checks import markov_sessions


def test_rules_by_hand():
    # one session 1 2 1 3: rules within 2 steps, self-pairs skipped (1 -> 1 at distance 2)
    X, y = [[1, 2, 1]], [3]
    rules = SequentialRulesRecommender(steps=2).fit(X, y).rules_.toarray()
    expected = np.zeros((3, 3))
    expected[0, 1] = 1.0  # 1 -> 2 at distance 1
    expected[1, 0] = 1.0  # 2 -> 1 at distance 1
    expected[0, 2] = 1.0  # 1 -> 3 at distance 1
    expected[1, 2] = 0.5  # 2 -> 3 at distance 2
    np.testing.assert_allclose(rules, expected)
    same = SequentialRulesRecommender(steps=2, weighting="same").fit(X, y).rules_.toarray()
    assert same[1, 2] == 1.0


@pytest.mark.parametrize("weighting, w3", [("div", 1 / 3), ("linear", 0.7), ("quadratic", 1 / 9),
                                           ("log", 1 / np.log10(4.7))])
def test_weight_of_a_distant_rule(weighting, w3):
    rules = SequentialRulesRecommender(weighting=weighting).fit([[1, 2, 3]], [4]).rules_
    assert rules[0, 3] == pytest.approx(w3)


def test_pruning_keeps_the_strongest_rules_ties_by_code():
    # 1 is followed by 2 (twice), 3 and 4 (once each)
    X, y = [[1], [1], [1], [1]], [2, 2, 3, 4]
    full = SequentialRulesRecommender(pruning=None).fit(X, y).rules_.toarray()
    np.testing.assert_allclose(full[0], [0, 2, 1, 1])
    pruned = SequentialRulesRecommender(pruning=2).fit(X, y).rules_.toarray()
    np.testing.assert_allclose(pruned[0], [0, 2, 1, 0])


def test_last_known_item_decides_and_fallback_is_popularity():
    rec = SequentialRulesRecommender().fit([[1, 2], [3, 1], [3, 1]], [3, 2, 2])
    # a session is scored by its last known item (unseen ones dropped): 1 -> 2 weighs 3, 1 -> 3 only 1/2
    np.testing.assert_array_equal(rec.recommend([[99, 1, 77]], k=1), [[2]])
    popular = PopularityRecommender().fit([[1, 2], [3, 1], [3, 1]], [3, 2, 2]).recommend([[5]], k=3)
    np.testing.assert_array_equal(rec.recommend([[5]], k=3), popular)  # no known item
    np.testing.assert_array_equal(rec.recommend([[2]], k=3)[:, :1], [[3]])  # 2 -> 3, then popularity


def test_learns_planted_transitions_far_better_than_popularity():
    rng = np.random.default_rng(0)
    sessions = markov_sessions(1500, rng)
    X, y = session_prefixes(sessions[:1200])
    X_test, y_test = session_prefixes(sessions[1200:])
    rules = SequentialRulesRecommender().fit(X, y).recommend(X_test, k=5)
    popular = PopularityRecommender().fit(X, y).recommend(X_test, k=5)
    # the successor is the next item in 70 % of the cases (plus chance): SR finds it, popularity cannot
    assert precision_at_k(y_test, rules, k=1) > 0.65
    assert precision_at_k(y_test, popular, k=5) < 0.2
