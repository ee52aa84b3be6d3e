"""Tests of the dynamic interaction graph (graphs/_dynamic.py)."""
import pickle
from itertools import pairwise
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ubergnn._validation import check_interactions
from sklearn_ubergnn._vocabulary import GrowingVocabulary
from sklearn_ubergnn.graphs import DynamicInteractionGraph, DynamicSubgraphBatch
from sklearn_ubergnn.graphs import _dynamic as dynamic_graph_module

# --------------------------------------------------------------------------------------------
# the hand-built stream
#   i0: (A, B, t=1) -> nodes 0 (A), 1 (B)     first appearances: no parents
#   i1: (B, C, t=2) -> nodes 2 (B), 3 (C)     B's previous interaction is i0 -> (1, 0); C new
#   i2: (A, C, t=3) -> nodes 4 (A), 5 (C)     A -> i0: (0, 1); C -> i1: (3, 2)
#   i3: (C, B, t=5) -> nodes 6 (C), 7 (B)     C -> i2: (5, 4); B -> i1: (2, 3)
# parents list the object's own previous node first, then its partner's node.
# --------------------------------------------------------------------------------------------
# objects are codes (the estimators' vocabulary encodes raw ids once): A = 0, B = 1, C = 2; Z = 9 was never seen
A, B, C, D, E, Z = 0, 1, 2, 3, 4, 9
SRC, DST, TIME = [A, B, A, C], [B, C, C, B], [1.0, 2.0, 3.0, 5.0]
PARENTS = np.array([[-1, -1], [-1, -1], [1, 0], [-1, -1], [0, 1], [3, 2], [5, 4], [2, 3]])


@pytest.fixture
def hand():
    return DynamicInteractionGraph().append(SRC, DST, TIME)


def test_hand_nodes_and_parents(hand):
    assert len(hand) == 4 and hand.n_nodes == 8 and hand.n_objects == 3
    np.testing.assert_array_equal(hand.parents, PARENTS)
    np.testing.assert_array_equal(hand.parent_interaction, [-1, -1, 0, -1, 0, 1, 2, 1])
    np.testing.assert_array_equal(hand.node_object, [0, 1, 1, 2, 0, 2, 2, 1])
    np.testing.assert_array_equal(hand.node_role, [0, 1, 0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(hand.node_interaction, [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(hand.node_time, [1, 1, 2, 2, 3, 3, 5, 5])
    np.testing.assert_array_equal(hand.latest_node, [4, 7, 6])
    assert hand.last_time == 5.0


def test_hand_own_ancestor(hand):
    # B: nodes 1 -> 2 -> 7; C: 3 -> 5 -> 6; A: 0 -> 4
    nodes = [7, 6, 4, 0, -1]
    np.testing.assert_array_equal(hand.own_ancestor(nodes, 0), nodes)
    np.testing.assert_array_equal(hand.own_ancestor(nodes, 1), [2, 5, 0, -1, -1])
    np.testing.assert_array_equal(hand.own_ancestor(nodes, 2), [1, 3, -1, -1, -1])
    np.testing.assert_array_equal(hand.own_ancestor(nodes, 3), [-1, -1, -1, -1, -1])


def test_hand_target_node(hand):
    np.testing.assert_array_equal(hand.target_node([A, B, C, Z]), [4, 7, 6, -1])
    # strictly before the query time
    np.testing.assert_array_equal(
        hand.target_node([A, A, C, C, B, Z], time=[3.0, 3.5, 2.0, 2.5, 10.0, 4.0]),
        [0, 4, -1, 3, 7, -1],
    )
    np.testing.assert_array_equal(hand.target_node([A, C], time=0.5), [-1, -1])


def _subgraph(batch, b):
    sl = slice(batch.offsets[b], batch.offsets[b + 1])
    return (batch.node[sl].tolist(), batch.depth[sl].tolist(), batch.local_parents[sl].tolist(),
            batch.level[sl].tolist(), batch.delta_t[sl].tolist())


def test_hand_subgraphs_by_hops(hand):
    batch = hand.subgraphs([6, 7, 0], n_hops=2)
    assert isinstance(batch, DynamicSubgraphBatch) and len(batch) == 3
    nodes, depth, parents, level, dt = _subgraph(batch, 0)
    assert nodes == [0, 1, 2, 3, 4, 5, 6]
    assert depth == [2, 2, 2, 2, 1, 1, 0]
    assert parents == [[-1, -1], [-1, -1], [1, 0], [-1, -1], [0, 1], [3, 2], [5, 4]]
    assert level == [0, 0, 1, 0, 1, 2, 3]
    assert dt == [4.0, 4.0, 3.0, 3.0, 2.0, 2.0, 0.0]
    nodes, depth, parents, _, _ = _subgraph(batch, 1)
    assert nodes == [0, 1, 2, 3, 7] and depth == [2, 2, 1, 1, 0]
    assert parents == [[-1, -1], [-1, -1], [1, 0], [-1, -1], [2, 3]]
    assert _subgraph(batch, 2)[0] == [0]  # a first appearance: just itself
    np.testing.assert_array_equal(batch.target_index, [6, 11, 12])
    np.testing.assert_array_equal(batch.offsets, [0, 7, 12, 13])
    # one hop
    assert _subgraph(hand.subgraphs([6], n_hops=1), 0)[:2] == ([4, 5, 6], [1, 1, 0])
    assert _subgraph(hand.subgraphs([6], n_hops=0), 0)[0] == [6]
    # the attributes of the nodes
    np.testing.assert_array_equal(batch.object[:7], [0, 1, 1, 2, 0, 2, 2])
    np.testing.assert_array_equal(batch.role[:7], [0, 1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(batch.interaction[:7], [0, 0, 1, 1, 2, 2, 3])


def test_hand_subgraphs_by_window(hand):
    assert _subgraph(hand.subgraphs([6], time_window=2.5), 0)[0] == [4, 5, 6]
    nodes, depth, parents, level, _ = _subgraph(hand.subgraphs([6], time_window=3.0), 0)
    assert nodes == [2, 3, 4, 5, 6]  # i1 (age 3) is in; i0 (age 4) is out
    assert depth == [2, 2, 1, 1, 0]
    assert parents == [[-1, -1], [-1, -1], [-1, -1], [1, 0], [3, 2]]
    assert level == [0, 0, 0, 1, 2]
    # both limits: both conditions
    assert _subgraph(hand.subgraphs([6], n_hops=1, time_window=1.0), 0)[0] == [6]
    assert _subgraph(hand.subgraphs([6], n_hops=1, time_window=10.0), 0)[0] == [4, 5, 6]
    assert _subgraph(hand.subgraphs([6], n_hops=5, time_window=3.0), 0)[0] == [2, 3, 4, 5, 6]


def test_hand_max_nodes_keeps_most_recent(hand):
    batch = hand.subgraphs([6, 6, 6], n_hops=3, max_nodes=None)
    capped = [hand.subgraphs([6], n_hops=3, max_nodes=k) for k in (1, 2, 4, 7)]
    assert [_subgraph(c, 0)[0] for c in capped] == [[6], [5, 6], [3, 4, 5, 6], [0, 1, 2, 3, 4, 5, 6]]
    assert _subgraph(capped[2], 0)[2] == [[-1, -1], [-1, -1], [0, -1], [2, 1]]  # node 2 was cut
    assert batch.n_nodes == 21


def test_empty_subgraph_for_unknown_target(hand):
    batch = hand.subgraphs(hand.target_node([Z, A], time=[9.0, 2.0]), n_hops=2)
    np.testing.assert_array_equal(batch.offsets, [0, 0, 1])
    np.testing.assert_array_equal(batch.target_index, [-1, 0])
    torch_batch = batch.to_torch()
    assert set(torch_batch) == {"offsets", "delta_t", "depth", "parents", "level"}
    assert torch_batch["parents"].shape == (1, 2)


# --------------------------------------------------------------------------------------------
# equal timestamps
# --------------------------------------------------------------------------------------------
EQ_SRC, EQ_DST, EQ_TIME = [A, A, A, B, A], [B, C, D, A, E], [1, 2, 2, 2, 3]
#   i0 (A,B,1): 0, 1     i1 (A,C,2): A -> i0     i2 (A,D,2): A -> i0, not i1 (same time)
#   i3 (B,A,2): B -> i0, A -> i0                 i4 (A,E,3): A -> i3 (its last node before 3)
EQ_PARENT_INTERACTION = [-1, -1, 0, -1, 0, -1, 0, 0, 3, -1]


def test_equal_timestamps_do_not_see_each_other():
    g = DynamicInteractionGraph().append(EQ_SRC, EQ_DST, EQ_TIME)
    np.testing.assert_array_equal(g.parent_interaction, EQ_PARENT_INTERACTION)
    np.testing.assert_array_equal(g.parents[8], [7, 6])
    np.testing.assert_array_equal(g.parents[6], [1, 0])
    # nothing at time 2 sees anything else at time 2
    sub = g.subgraphs([4, 7], time_window=10.0)
    assert sub.node[sub.offsets[0]:sub.offsets[1]].tolist() == [0, 1, 4]
    assert sub.node[sub.offsets[1]:sub.offsets[2]].tolist() == [0, 1, 7]
    # a query at time 2 sees only time 1
    np.testing.assert_array_equal(g.target_node([A, B], time=2.0), [0, 1])


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_equal_timestamps_across_batches(cut):
    g = DynamicInteractionGraph().append(EQ_SRC[:cut], EQ_DST[:cut], EQ_TIME[:cut])
    g.append(EQ_SRC[cut:], EQ_DST[cut:], EQ_TIME[cut:])
    np.testing.assert_array_equal(g.parent_interaction, EQ_PARENT_INTERACTION)


def test_self_loop_nodes_share_parents():
    g = DynamicInteractionGraph().append([1, 1, 1], [2, 1, 3], [0.0, 1.0, 2.0])
    # a self loop: both nodes share the parents; the source node counts as the "own" one
    np.testing.assert_array_equal(g.parents[2:], [[0, 1], [0, 1], [2, 3], [-1, -1]])


# --------------------------------------------------------------------------------------------
# growth, vocabulary, persistence
# --------------------------------------------------------------------------------------------
def test_new_objects_at_any_time_keep_codes():
    """The stream's one growing vocabulary: codes by first appearance, never renumbered."""
    vocabulary = GrowingVocabulary()
    assert vocabulary.add(np.array(["x", "y", "y", "z"], dtype=object)).tolist() == [0, 1, 1, 2]
    assert vocabulary.add(np.array(["a", "y", "x", "b"], dtype=object)).tolist() == [3, 1, 0, 4]
    assert vocabulary.ids.tolist() == ["x", "y", "z", "a", "b"]
    assert vocabulary.transform(np.array(["b", "nope"], dtype=object)).tolist() == [4, -1]
    with pytest.raises(TypeError, match="str object ids"):
        vocabulary.transform(np.array([1, 2]))
    g = DynamicInteractionGraph().append([0, 1], [1, 2], [0, 1])
    g.append([3, 1], [0, 4], [1, 4])  # new codes at any time
    assert g.n_objects == 5
    np.testing.assert_array_equal(g.parents[4:], [[-1, -1], [0, 1], [2, 3], [-1, -1]])


def test_capacity_growth_many_small_appends():
    rng = np.random.default_rng(0)
    src, dst = rng.integers(0, 30, 500), rng.integers(0, 30, 500)
    times = np.sort(rng.integers(0, 100, 500)).astype(float)
    whole = DynamicInteractionGraph().append(src, dst, times)
    pieces = DynamicInteractionGraph()
    for lo in range(0, 500, 7):
        pieces.append(src[lo:lo + 7], dst[lo:lo + 7], times[lo:lo + 7])
    np.testing.assert_array_equal(whole.parents, pieces.parents)
    np.testing.assert_array_equal(whole.node_object, pieces.node_object)


def test_features_and_labels_are_stored():
    g = DynamicInteractionGraph(n_classes=2).append([1, 2], [2, 3], [0, 1], features=[[1.0, 2.0], [3.0, 4.0]],
                                                    labels=[1, -1])
    g.append([3], [1], [2], features=np.array([[5.0, 6.0]]))
    assert g.n_features == 2 and g.interaction_features.dtype == np.float32
    np.testing.assert_array_equal(g.interaction_features, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(g.interaction_label, [1, -1, -1])
    assert g.node_stats.shape == (6, 6) and not g.node_stats.flags.writeable


def test_pickle_round_trip_then_append():
    g = DynamicInteractionGraph().append(EQ_SRC, EQ_DST, EQ_TIME)
    h = pickle.loads(pickle.dumps(g))
    for graph in (g, h):
        graph.append([E, 5], [A, A], [3, 7])
    for name in ("parents", "node_time", "node_object", "node_stats", "latest_node"):
        np.testing.assert_array_equal(getattr(g, name), getattr(h, name))
    assert repr(h).startswith("DynamicInteractionGraph(n_interactions=7")
    np.testing.assert_array_equal(g.target_node([A], time=5), h.target_node([A], time=5))


def test_inputs_are_not_mutated():
    src, dst, t = np.array([3, 1]), np.array([1, 2]), np.array([2.0, 1.0])[::-1].copy()
    copies = [a.copy() for a in (src, dst, t)]
    DynamicInteractionGraph().append(src, dst, t)
    for a, b in zip((src, dst, t), copies):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def _frame(sources, targets, times):
    return pd.DataFrame({"source": sources, "target": targets, "time": times})


def test_unsorted_times_name_the_row():
    with pytest.raises(ValueError, match="row 2 has time 1.0 after 3.0 at row 1"):
        check_interactions(_frame([1, 2, 3], [2, 3, 1], [0.0, 3.0, 1.0]))
    check_interactions(_frame([1, 2, 3], [2, 3, 1], [0.0, 3.0, 1.0]), require_sorted=False)


def test_bad_ids_and_times():
    with pytest.raises(ValueError, match=r"sources\[1\]"):
        check_interactions(_frame([1, np.nan], [2, 3], [0, 1]))
    with pytest.raises(ValueError, match=r"targets\[0\]"):
        check_interactions(_frame(["a", "b"], [None, "c"], [0, 1]))
    with pytest.raises(TypeError, match="one id type"):
        check_interactions(_frame([1, 2], ["a", "b"], [0, 1]))
    with pytest.raises(ValueError, match="row 1 has time nan"):
        check_interactions(_frame([1, 2], [2, 3], [0.0, np.nan]))
    with pytest.raises(TypeError, match="real numbers"):
        check_interactions(_frame([1, 2], [2, 3], ["May", "June"]))
    X = _frame([1, 2], [2, 3], [0.0, 1.0]).assign(f=[1.0, np.inf])
    with pytest.raises(ValueError, match="features must be finite; row 1, column 0"):
        check_interactions(X, features=["f"])
    _, _, t, f = check_interactions(X.assign(f=[1, 2]), features=["f"])
    assert f.dtype == np.float32 and f.shape == (2, 1) and t.dtype == np.float64


def test_bad_subgraph_arguments(hand):
    with pytest.raises(ValueError, match="time_window must be a number >= 0"):
        hand.subgraphs([6], time_window=-1.0)
    with pytest.raises(ValueError, match="n_hops must be >= 0"):
        hand.subgraphs([6], n_hops=-1)
    with pytest.raises(TypeError, match="n_hops must be an int"):
        hand.subgraphs([6], n_hops=1.5)
    with pytest.raises(ValueError, match="give n_hops, time_window or both"):
        hand.subgraphs([6])
    with pytest.raises(ValueError, match=r"target_nodes\[1\] is 8"):
        hand.subgraphs([6, 8], n_hops=1)
    with pytest.raises(ValueError, match="max_nodes must be >= 1"):
        hand.subgraphs([6], n_hops=1, max_nodes=0)


# --------------------------------------------------------------------------------------------
# history statistics (the classifier's wide inputs and the logistic-regression baseline's)
#   i0: (A, B, t=1, label 1)   i1: (A, C, t=2, label 0)   i2: (B, A, t=2, label 1)
#   i3: (A, B, t=4, not revealed)   i4: (A, C, t=6, label 1)
# columns per object: log1p(given), given fraction of class 1, the same over the last `recent`
# given, then received likewise, then log1p(time since the last event) (1e4 units when none)
# --------------------------------------------------------------------------------------------
def test_history_features_by_hand():
    g = DynamicInteractionGraph(n_classes=2).append([A, A, B, A, A], [B, C, A, B, C], [1.0, 2.0, 2.0, 4.0, 6.0],
                                                    labels=[1, 0, 1, -1, 1])
    assert g.n_history_features == 7
    got = g.history_features([A, A, A, A, B, Z, -1], [2.0, 4.0, 6.0, 7.0, 4.0, 3.0, 3.0],
                             before=None, recent=2)
    never = np.log1p(1e4)
    expected = [
        # A at t=2: i0 only (i1, i2 are at its own time)
        [np.log1p(1), 1 / 2, 1 / 2, 0, 0, 0, np.log1p(1)],
        # A at t=4 (i3's time: i3 is not seen): gave i0 (1), i1 (0); received i2 (1); last event t=2
        [np.log1p(2), 1 / 3, 1 / 3, np.log1p(1), 1 / 2, 1 / 2, np.log1p(2)],
        # A at t=6 (i4's own time): gave i0, i1, i3 (i3's label not revealed: counted, not a positive);
        # the last 2 given are i1 (0) and i3 (unrevealed)
        [np.log1p(3), 1 / 4, 0 / 3, np.log1p(1), 1 / 2, 1 / 2, np.log1p(2)],
        # A at t=7: gave i0, i1, i3, i4 -> positives i0, i4; the last 2: i3, i4
        [np.log1p(4), 2 / 5, 1 / 3, np.log1p(1), 1 / 2, 1 / 2, np.log1p(1)],
        # B at t=4: gave i2 (1), received i0 (1)
        [np.log1p(1), 1 / 2, 1 / 2, np.log1p(1), 1 / 2, 1 / 2, np.log1p(2)],
        [0, 0, 0, 0, 0, 0, never],  # never seen
        [0, 0, 0, 0, 0, 0, never],  # unknown code
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # `before`: B at t=4 seeing the first interaction only (as when labels come batch by batch); gap in
    # units of 2, and A before anything
    got = g.history_features([B, A], [4.0, 4.0], before=[1, 0], time_unit=2.0, never=7.0)
    np.testing.assert_allclose(got, [[0, 0, 0, np.log1p(1), 1 / 2, 1 / 2, np.log1p(1.5)],
                                     [0, 0, 0, 0, 0, 0, np.log1p(7.0)]], rtol=1e-12)
    # no labels: the counts and the gap alone; an empty graph has no history
    plain = DynamicInteractionGraph().append([A, A, B, A, A], [B, C, A, B, C], [1.0, 2.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(plain.history_features([A], [6.0]), [[np.log1p(3), np.log1p(1), np.log1p(2)]])
    np.testing.assert_allclose(DynamicInteractionGraph(2).history_features([A], [1.0]), [[0] * 6 + [never]])


def test_history_features_follow_appends_and_pickles():
    g = DynamicInteractionGraph(n_classes=2).append([A, A], [B, C], [1.0, 2.0], labels=[1, 0])
    before = g.history_features([A], [5.0])
    g.append([A], [B], [3.0], labels=[1])  # the cached index is rebuilt after an append
    after = g.history_features([A], [5.0])
    assert after[0, 0] == np.log1p(3) and after[0, 1] == 2 / 4 and before[0, 0] == np.log1p(2)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(g)).history_features([A], [5.0]), after)


def test_bad_history_features_arguments(hand):
    with pytest.raises(ValueError, match="one length"):
        hand.history_features([A, B], [1.0])
    with pytest.raises(ValueError, match="recent must be an int >= 1"):
        hand.history_features([A], [1.0], recent=0)
    with pytest.raises(ValueError, match="time_unit must be > 0"):
        hand.history_features([A], [1.0], time_unit=0.0)
    with pytest.raises(ValueError, match="before must have the shape"):
        hand.history_features([A], [1.0], before=[1, 2])


def test_frame_check_names_missing_columns():
    X = pd.DataFrame({"src": [1], "target": [2], "time": [0.0]})
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['source'\]"):
        check_interactions(X)
    with pytest.raises(TypeError, match="DataFrame"):
        check_interactions([[1, 2, 0.0]])
    s, _, _, f = check_interactions(X, source="src")
    assert s.tolist() == [1] and f is None


# --------------------------------------------------------------------------------------------
# properties against a brute-force reference
# --------------------------------------------------------------------------------------------
def _reference_prev(src, dst, times):
    """Per node: the previous interaction of its object with a strictly earlier time (loops)."""
    prev = []
    for i in range(len(src)):
        for obj in (src[i], dst[i]):
            cands = [j for j in range(i) if obj in (src[j], dst[j]) and times[j] < times[i]]
            prev.append(max(cands) if cands else -1)
    return np.array(prev, dtype=np.int64)


def _reference_subgraph(parents, node_time, target, n_hops, window):
    depth = {target: 0}
    frontier = [target]
    d = 0
    while frontier and (n_hops is None or d < n_hops):
        d += 1
        nxt = []
        for v in frontier:
            for p in parents[v]:
                inside = window is None or node_time[target] - node_time[p] <= window
                if p >= 0 and p not in depth and inside:
                    depth[p] = d
                    nxt.append(p)
        frontier = nxt
    return depth


streams = st.integers(1, 25).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
        st.lists(st.integers(0, 8), min_size=n, max_size=n).map(sorted),
    )
)


@settings(max_examples=60, deadline=None)
@given(streams)
def test_parents_match_reference_and_are_strictly_earlier(stream):
    src, dst, times = stream
    g = DynamicInteractionGraph().append(src, dst, times)
    np.testing.assert_array_equal(g.parent_interaction, _reference_prev(src, dst, times))
    par, t, obj = g.parents, g.node_time, g.node_object
    has = par[:, 0] >= 0
    assert (t[par[has]] < t[has, None]).all()
    assert (obj[par[has, 0]] == obj[has]).all()  # own previous node first
    assert ((par >= 0).sum(1) % 2 == 0).all()  # 0 or 2 parents


@settings(max_examples=40, deadline=None)
@given(streams, st.lists(st.integers(0, 25), max_size=4))
def test_append_in_pieces_equals_build_at_once(stream, cuts):
    src, dst, times = stream
    whole = DynamicInteractionGraph.from_interactions(src, dst, times)
    bounds = sorted({0, len(src), *[c for c in cuts if c < len(src)]})
    pieces = DynamicInteractionGraph()
    for lo, hi in pairwise(bounds):
        pieces.append(src[lo:hi], dst[lo:hi], times[lo:hi])
    np.testing.assert_array_equal(whole.parents, pieces.parents)
    np.testing.assert_array_equal(whole.node_object, pieces.node_object)
    np.testing.assert_array_equal(whole.latest_node, pieces.latest_node)


@settings(max_examples=40, deadline=None)
@given(streams, st.one_of(st.none(), st.integers(0, 4)), st.one_of(st.none(), st.integers(0, 6)),
       st.one_of(st.none(), st.integers(1, 9)))
def test_subgraphs_match_reference(stream, n_hops, window, max_nodes):
    if n_hops is None and window is None:
        n_hops = 2
    src, dst, times = stream
    g = DynamicInteractionGraph().append(src, dst, times)
    targets = np.arange(g.n_nodes)
    batch = g.subgraphs(targets, n_hops=n_hops, time_window=window, max_nodes=max_nodes)
    parents, node_time = g.parents, g.node_time
    for b, target in enumerate(targets):
        ref = _reference_subgraph(parents, node_time, target, n_hops, window)
        keep = sorted(ref)[-max_nodes:] if max_nodes else sorted(ref)
        sl = slice(batch.offsets[b], batch.offsets[b + 1])
        assert batch.node[sl].tolist() == keep
        assert batch.depth[sl].tolist() == [ref[v] for v in keep]
        assert batch.target_index[b] == sl.stop - 1
        # within the limits
        assert (batch.delta_t[sl] >= 0).all()
        if window is not None:
            assert (batch.delta_t[sl] <= window).all()
        if n_hops is not None:
            assert (batch.depth[sl] <= n_hops).all()
        # parents point inside the same sub-graph to the node's real parents, levels are topological
        local = batch.local_parents[sl]
        for k, v in enumerate(keep):
            expect = [keep.index(p) if p in keep else -1 for p in parents[v]]
            assert local[k].tolist() == expect
            inside = [q for q in local[k] if q >= 0]
            lv = batch.level[sl]
            assert lv[k] == (1 + max(lv[q] for q in inside) if inside else 0)


@settings(max_examples=40, deadline=None)
@given(streams, st.lists(st.floats(-1, 10), min_size=1, max_size=5))
def test_target_node_matches_reference(stream, query_times):
    src, dst, times = stream
    g = DynamicInteractionGraph().append(src, dst, times)
    objects = [o % 7 for o in range(len(query_times))]  # object 6 is never seen
    got = g.target_node(objects, time=query_times)
    for o, t, node in zip(objects, query_times, got):
        cands = [2 * i + r for i in range(len(src)) for r, obj in enumerate((src[i], dst[i]))
                 if obj == o and times[i] < t]
        assert node == (max(cands) if cands else -1)


def _reference_history(src, dst, times, labels, n_classes, o, t, cut, recent, never):
    """History features of object ``o`` from the first ``cut`` interactions, by looping over them."""
    row, last = [], None
    for role, ends in ((0, src), (1, dst)):
        mine = [i for i in range(cut) if ends[i] == o]
        tail = mine[-recent:]
        row.append(np.log1p(len(mine)))
        row += [sum(labels[i] == k for i in mine) / (len(mine) + 1) for k in range(1, n_classes)]
        row += [sum(labels[i] == k for i in tail) / (len(tail) + 1) for k in range(1, n_classes)]
        if mine:
            last = max(last or 0, times[mine[-1]])
    row.append(np.log1p(t - last if last is not None else never))
    return row


@settings(max_examples=50, deadline=None)
@given(streams, st.data())
def test_history_features_match_reference(stream, data):
    src, dst, times = stream
    n_classes = data.draw(st.integers(0, 3))
    labels = data.draw(st.lists(st.integers(-1, n_classes - 1), min_size=len(src), max_size=len(src)))
    recent = data.draw(st.integers(1, 4))
    g = DynamicInteractionGraph(n_classes).append(src, dst, times, labels=labels if n_classes else None)
    if not n_classes:
        labels = [-1] * len(src)
    objects = data.draw(st.lists(st.integers(-1, 7), min_size=1, max_size=6))
    query_times = data.draw(st.lists(st.integers(0, 10), min_size=len(objects), max_size=len(objects)))
    got = g.history_features(objects, query_times, recent=recent)
    assert got.shape == (len(objects), g.n_history_features)
    # the role chains carry across appends: a graph built in pieces answers the same
    cut = data.draw(st.integers(0, len(src)))
    pieces = DynamicInteractionGraph(n_classes).append(src[:cut], dst[:cut], times[:cut], labels=labels[:cut]
                                                       if n_classes else None)
    pieces.append(src[cut:], dst[cut:], times[cut:], labels=labels[cut:] if n_classes else None)
    np.testing.assert_array_equal(pieces.history_features(objects, query_times, recent=recent), got)
    for j, (o, t) in enumerate(zip(objects, query_times)):
        cut = sum(ti < t for ti in times)  # strictly before the query time
        expected = _reference_history(src, dst, times, labels, n_classes, o, t, cut, recent, 1e4)
        np.testing.assert_allclose(got[j], expected, rtol=1e-12, atol=1e-12)
    # an explicit cut (the first `before` interactions), gaps measured to a later time
    before = data.draw(st.lists(st.integers(0, len(src)), min_size=len(objects), max_size=len(objects)))
    got = g.history_features(objects, [20] * len(objects), before=before, recent=recent, time_unit=2.0)
    for j, (o, cut) in enumerate(zip(objects, before)):
        expected = _reference_history(src, dst, [x / 2 for x in times], labels, n_classes, o, 10, cut, recent, 1e4)
        np.testing.assert_allclose(got[j], expected, rtol=1e-12, atol=1e-12)


def test_pair_features_by_hand():
    """The hand-built stream: B and C meet at t=2 (B -> C) and t=5 (C -> B); A and B at t=1, A and C at t=3."""
    g = DynamicInteractionGraph().append(SRC, DST, TIME)
    got = g.pair_features([B, C, B, A, A, Z], [C, B, C, B, C, A], [5.0, 5.0, 9.0, 9.0, 2.0, 9.0], time_unit=0.5,
                          recent=1)
    assert got.shape == (6, g.n_pair_features) == (6, 6)
    counts = np.expm1(got[:, :2]).round()
    np.testing.assert_array_equal(counts, [[1, 0], [0, 1], [1, 1], [1, 0], [0, 0], [0, 0]])
    # gaps since the pair's latest meeting in either direction, in units of 0.5; none: 10^4 units
    np.testing.assert_allclose(np.expm1(got[:, 2]), [6.0, 6.0, 8.0, 16.0, 1e4, 1e4])
    # common partners: B and C share A (A-B at 1, A-C at 3) before 5 and 9; A and B share C by 9; A and C
    # share nothing by 2 (C first met B at 2, not before)
    np.testing.assert_array_equal(np.expm1(got[:, 3]).round(), [1, 1, 1, 1, 0, 0])
    # the pair's meetings within each end's last event: B's last before 5 is i1 (with C), C's is i2 (with A);
    # at 9, A's last is i2 (with C) and B's is i3 (with C): no A-B meeting
    np.testing.assert_array_equal(np.expm1(got[:, 4:]).round(), [[1, 0], [0, 1], [1, 1], [0, 0], [0, 0], [0, 0]])


def _reference_pair(src, dst, times, labels, n_classes, s, d, t, cut, never, recent):
    """Pair features of ``(s, d)`` from the first ``cut`` interactions, by looping over them."""
    row = []
    mine = [[i for i in range(cut) if (src[i], dst[i]) == pair] for pair in ((s, d), (d, s))]
    row += [np.log1p(len(rows)) for rows in mine]
    for rows in mine:
        row += [sum(labels[i] == k for i in rows) / (len(rows) + 1) for k in range(1, n_classes)]
    seen = mine[0] + mine[1]
    row.append(np.log1p(t - times[max(seen)] if seen else never))

    def partners(o):
        return {dst[i] if src[i] == o else src[i] for i in range(cut) if o in (src[i], dst[i]) and src[i] != dst[i]}
    row.append(np.log1p(len(partners(s) & partners(d) - {s, d})))
    for o in (s, d):
        events = [i for i in range(cut) if o in (src[i], dst[i])]
        start = cut
        if events:  # step back from the last event, a whole time at a time, recent - 1 times
            start = events[-1]
            for _ in range(recent - 1):
                earlier = [i for i in events if times[i] < times[start]]
                if not earlier:
                    start = 0
                    break
                start = earlier[-1]
        row.append(np.log1p(sum(i >= start for i in seen)))
    return row


@settings(max_examples=50, deadline=None)
@given(streams, st.data())
def test_pair_features_match_reference(stream, data):
    """Counts, label fractions, the gap, common partners and recent meetings of every queried pair, against a
    loop over the history; the same from a graph built in pieces (the indices are rebuilt after each append)."""
    src, dst, times = stream
    n_classes = data.draw(st.integers(0, 3))
    labels = data.draw(st.lists(st.integers(-1, n_classes - 1), min_size=len(src), max_size=len(src)))
    if not n_classes:
        labels = [-1] * len(src)
    recent = data.draw(st.integers(1, 4))
    g = DynamicInteractionGraph(n_classes).append(src, dst, times, labels=labels if n_classes else None)
    n = data.draw(st.integers(1, 6))
    sources = data.draw(st.lists(st.integers(-1, 7), min_size=n, max_size=n))
    targets = data.draw(st.lists(st.integers(-1, 7), min_size=n, max_size=n))
    query_times = data.draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    got = g.pair_features(sources, targets, query_times, recent=recent)
    assert got.shape == (n, g.n_pair_features) == (n, 6 + 2 * max(n_classes - 1, 0))
    cut = data.draw(st.integers(0, len(src)))
    pieces = DynamicInteractionGraph(n_classes).append(src[:cut], dst[:cut], times[:cut],
                                                       labels=labels[:cut] if n_classes else None)
    pieces.pair_features(sources, targets, query_times)  # builds the indices of the first piece
    pieces.append(src[cut:], dst[cut:], times[cut:], labels=labels[cut:] if n_classes else None)
    np.testing.assert_array_equal(pieces.pair_features(sources, targets, query_times, recent=recent), got)
    for j, (s, d, t) in enumerate(zip(sources, targets, query_times)):
        cut = sum(ti < t for ti in times)  # strictly before the query time
        expected = _reference_pair(src, dst, times, labels, n_classes, s, d, t, cut, 1e4, recent)
        np.testing.assert_allclose(got[j], expected, rtol=1e-12, atol=1e-12)
    # an explicit cut (the first `before` interactions), gaps measured to a later time
    before = data.draw(st.lists(st.integers(0, len(src)), min_size=n, max_size=n))
    got = g.pair_features(sources, targets, [20] * n, before=before, recent=recent, time_unit=2.0)
    for j, (s, d, cut) in enumerate(zip(sources, targets, before)):
        expected = _reference_pair(src, dst, [x / 2 for x in times], labels, n_classes, s, d, 10, cut, 1e4, recent)
        np.testing.assert_allclose(got[j], expected, rtol=1e-12, atol=1e-12)


def test_pair_features_errors_and_empty_graph():
    g = DynamicInteractionGraph()
    np.testing.assert_allclose(g.pair_features([0], [1], [1.0]), [[0.0, 0.0, np.log1p(1e4), 0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="one length"):
        g.pair_features([0, 1], [1], [1.0, 2.0])
    with pytest.raises(ValueError, match="time_unit must be > 0"):
        g.pair_features([0], [1], [1.0], time_unit=0)
    with pytest.raises(ValueError, match="recent must be an int >= 1"):
        g.pair_features([0], [1], [1.0], recent=0)
    g.append(SRC, DST, TIME)
    with pytest.raises(ValueError, match="before must have the shape of sources"):
        g.pair_features([0], [1], [1.0], before=[1, 2])
    # a pickled graph drops the index and rebuilds it
    again = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(again.pair_features([B, C], [C, B], [9.0, 9.0]),
                                  g.pair_features([B, C], [C, B], [9.0, 9.0]))


@settings(max_examples=30, deadline=None)
@given(streams, st.data())
def test_pair_features_of_a_stream_appended_in_pieces(stream, data):
    """A stream appended in many small pieces, queried after each (the indices' first block rebuilt whenever
    the tail outgrows a tiny bound, the tail after every append), answers as the graph built at once."""
    src, dst, times = stream
    labels = data.draw(st.lists(st.integers(-1, 1), min_size=len(src), max_size=len(src)))
    whole = DynamicInteractionGraph(2).append(src, dst, times, labels=labels)
    pieces = DynamicInteractionGraph(2)
    sources, targets = [0, 1, 2, 3, 5, -1], [1, 0, 3, 2, 4, 0]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(src)), max_size=6)))
    start = 0
    with patch.object(dynamic_graph_module, "_TAIL_ROWS", data.draw(st.integers(0, 3))):
        for cut in [*cuts, len(src)]:
            pieces.append(src[start:cut], dst[start:cut], times[start:cut], labels=labels[start:cut])
            start = max(start, cut)
            before = [min(start, k) for k in range(len(sources))]
            got = pieces.pair_features(sources, targets, [20] * 6, before=before, recent=2)
            np.testing.assert_array_equal(got, whole.pair_features(sources, targets, [20] * 6, before=before,
                                                                   recent=2))
            if start == len(src):  # queries after the last interaction: each object's latest node
                np.testing.assert_array_equal(pieces.pair_features(sources, targets, [20] * 6, recent=2),
                                              whole.pair_features(sources, targets, [20] * 6, recent=2))
