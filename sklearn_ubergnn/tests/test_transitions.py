"""Tests of the item-transition graphs (sequential rules' matrix, GCE-GNN's global graph)."""
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from sklearn_ubergnn.graphs import item_transition_graph
from sklearn_ubergnn.graphs._transitions import neighbour_table, strongest_per_row

N_ITEMS = 6
sessions_strategy = st.lists(st.lists(st.integers(0, N_ITEMS - 1), min_size=0, max_size=7), max_size=8)


def flat(sessions):
    items = np.array([i for s in sessions for i in s], dtype=np.int64)
    session = np.repeat(np.arange(len(sessions)), [len(s) for s in sessions])
    return items, session


def reference(sessions, distance_weights, symmetric):
    """The graph by a loop over every pair of clicks of every session."""
    total = Counter()
    for s in sessions:
        for i in range(len(s)):
            for j in range(i + 1, min(len(s), i + 1 + len(distance_weights))):
                if s[i] != s[j]:
                    total[s[i], s[j]] += distance_weights[j - i - 1]
                    if symmetric:
                        total[s[j], s[i]] += distance_weights[j - i - 1]
    dense = np.zeros((N_ITEMS, N_ITEMS))
    for (p, q), w in total.items():
        dense[p, q] = w
    return dense


def test_global_graph_by_hand():
    # sessions [0, 1, 2, 0], [2, 1], [0, 1]; window 2, unit weights, both directions
    sessions = [[0, 1, 2, 0], [2, 1], [0, 1]]
    graph = item_transition_graph(*flat(sessions), 3, [1.0, 1.0], symmetric=True).toarray()
    # distance 1: (0,1) (1,2) (2,0) (2,1) (0,1); distance 2: (0,2) (1,0): 0-1 x3, 1-2 x2, 0-2 x2
    assert_array_equal(graph, [[0, 3, 2], [3, 0, 2], [2, 2, 0]])
    # one direction, distance 1 only, weight 0.5
    directed = item_transition_graph(*flat(sessions), 3, [0.5]).toarray()
    assert_array_equal(directed, [[0, 1, 0], [0, 0, 0.5], [0.5, 0.5, 0]])


@settings(max_examples=60, deadline=None)
@given(sessions_strategy, st.lists(st.floats(0.1, 3.0), min_size=1, max_size=4), st.booleans())
def test_matches_the_loop_over_pairs(sessions, distance_weights, symmetric):
    graph = item_transition_graph(*flat(sessions), N_ITEMS, distance_weights, symmetric=symmetric)
    assert graph.shape == (N_ITEMS, N_ITEMS) and graph.has_sorted_indices
    np.testing.assert_allclose(graph.toarray(), reference(sessions, distance_weights, symmetric))
    assert (graph.diagonal() == 0).all() and (graph.data > 0).all()


@settings(max_examples=60, deadline=None)
@given(sessions_strategy, st.integers(1, 4))
def test_neighbour_table_lists_the_strongest_entries_strongest_first(sessions, keep):
    graph = item_transition_graph(*flat(sessions), N_ITEMS, [1.0, 1.0, 1.0], symmetric=True)
    pruned = strongest_per_row(graph, keep)
    neighbours, values = neighbour_table(pruned, keep)
    dense, full = pruned.toarray(), graph.toarray()
    for row in range(N_ITEMS):
        expected = sorted(np.flatnonzero(full[row]), key=lambda col: (-full[row, col], col))[:keep]
        listed = neighbours[row][neighbours[row] >= 0]
        assert_array_equal(listed, expected)
        assert_array_equal(values[row][: len(listed)], dense[row, listed])
        assert (values[row][len(listed):] == 0).all() and (neighbours[row][len(listed):] == -1).all()


def test_neighbour_table_refuses_a_row_wider_than_the_table():
    with pytest.raises(ValueError, match="a row with 3 entries, more than width=2"):
        neighbour_table(sp.csr_matrix(np.ones((1, 3))), 2)


def test_empty_input():
    graph = item_transition_graph(np.zeros(0, np.int64), np.zeros(0, np.int64), 4, [1.0])
    assert graph.shape == (4, 4) and graph.nnz == 0
    neighbours, values = neighbour_table(strongest_per_row(graph, 3), 3)
    assert (neighbours == -1).all() and (values == 0).all()
