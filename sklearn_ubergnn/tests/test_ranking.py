"""Tests of the one top-k of the package (``_ranking.top_k``) and of its row blocks."""
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sklearn_ubergnn._ranking import row_blocks, top_k


def brute_force(scores, k, fallback, min_score):
    """The ranking rule written row by row: candidates by (-score, code), then the fallback."""
    out = []
    for row in scores:
        ranked = sorted((j for j in range(len(row)) if row[j] > min_score), key=lambda j: (-row[j], j))[:k]
        ranked += [j for j in fallback if j not in ranked][: k - len(ranked)]
        out.append(ranked)
    return np.array(out, dtype=np.int64)


def test_worked_example():
    scores = np.array([[0.0, 2.0, 1.0, 2.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]])
    fallback = np.array([3, 0, 1, 2])
    # row 0: ties 1 and 3 broken by code; row 1: nothing scored, the fallback; row 2: 2, then fallback
    np.testing.assert_array_equal(top_k(scores, 3, fallback), [[1, 3, 2], [3, 0, 1], [2, 3, 0]])


def test_logits_and_excluded_items():
    logits = np.array([[-1.0, -np.inf, -3.0, -np.inf], [-5.0, -5.0, -5.0, -5.0]])
    fallback = np.array([1, 3, 0, 2])
    # row 0: two finite scores then the fallback's excluded items; row 1: a four-way tie in code order
    np.testing.assert_array_equal(top_k(logits, 4, fallback, min_score=-np.inf), [[0, 2, 1, 3], [0, 1, 2, 3]])


def test_shared_row_is_broadcast():
    scores = np.array([[0.0, 1.0, 3.0]])
    np.testing.assert_array_equal(top_k(scores, 2, np.array([0, 1]), n_rows=3), [[2, 1]] * 3)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.integers(1, 8).flatmap(
            lambda m: st.tuples(
                arrays(np.float64, (n, m), elements=st.sampled_from([0.0, 0.5, 1.0, 2.0, -np.inf])),
                st.integers(1, m),
                st.permutations(list(range(m))),
                st.sampled_from([0.0, -np.inf]),
            )
        )
    )
)
def test_matches_the_rule_for_every_input_kind(case):
    scores, k, fallback, min_score = case
    fallback = np.array(fallback[:k], dtype=np.int64)
    expected = brute_force(scores, k, fallback, min_score)
    np.testing.assert_array_equal(top_k(scores, k, fallback, min_score=min_score), expected)
    np.testing.assert_array_equal(top_k(torch.from_numpy(scores), k, fallback, min_score=min_score), expected)
    if min_score == 0.0:  # a sparse matrix holds the positive scores
        sparse = sp.csr_matrix(np.where(scores > 0, scores, 0.0))
        np.testing.assert_array_equal(top_k(sparse, k, fallback), expected)


@pytest.mark.parametrize("n_rows, n_columns, max_rows", [(0, 5, None), (10, 3, 4), (1000, 10**6, None)])
def test_row_blocks_cover_the_rows_within_working_memory(n_rows, n_columns, max_rows):
    with sklearn.config_context(working_memory=1):  # 1 MiB
        blocks = list(row_blocks(n_rows, n_columns, max_rows=max_rows))
    covered = np.concatenate([np.arange(n_rows)[b] for b in blocks]) if blocks else np.array([], dtype=int)
    np.testing.assert_array_equal(covered, np.arange(n_rows))
    assert all((b.stop - b.start) * n_columns * 8 <= max(2**20, n_columns * 8) for b in blocks)
    if max_rows is not None:
        assert all(b.stop - b.start <= max_rows for b in blocks)
