"""Tests for sklearn_ubergnn.graphs: dense adjacency of one session and flat session graph batches."""
import pickle
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_ubergnn._validation import FlatSessions
from sklearn_ubergnn.graphs import SessionGraphBatch, build_session_graphs, session_adjacency

N_ITEMS = 6
CLASSES = np.arange(100, 100 + N_ITEMS)  # raw ids differ from codes on purpose

# Sessions of item codes; -1 = unseen. Small alphabet, so repeats and self loops are common.
code_sessions = st.lists(
    st.lists(st.integers(-1, N_ITEMS - 1), min_size=0, max_size=9), min_size=1, max_size=8
)


def flat(sessions):
    lengths = np.array([len(s) for s in sessions], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    items = np.array([c for s in sessions for c in s], dtype=np.int64)
    return FlatSessions(items, offsets)


def build(sessions, classes=CLASSES):
    return build_session_graphs(flat(sessions), classes)


def assert_batch_equal(a, b):
    assert len(a) == len(b)
    for name in ("items", "node_graph", "node_offsets", "edge_src", "edge_dst", "edge_offsets",
                 "alias", "alias_offsets", "last_node"):
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == np.int64, name
    for name in ("edge_weight_out", "edge_weight_in"):
        assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-6, err_msg=name)
        assert getattr(a, name).dtype == np.float32, name
    assert_array_equal(a.classes, b.classes)


def dense_of_session(batch, b):
    """Densify session ``b`` of a flat batch: (A_out, A_in) over its nodes, in node order."""
    start, stop = batch.node_offsets[b], batch.node_offsets[b + 1]
    e0, e1 = batch.edge_offsets[b], batch.edge_offsets[b + 1]
    src, dst = batch.edge_src[e0:e1] - start, batch.edge_dst[e0:e1] - start
    n = stop - start
    A_out, A_in = np.zeros((n, n)), np.zeros((n, n))
    A_out[src, dst] = batch.edge_weight_out[e0:e1]
    A_in[dst, src] = batch.edge_weight_in[e0:e1]
    return A_out, A_in


# --------------------------------------------------------------------------- the paper's session
# SR-GNN / UBER-GNN worked example: [v1, v2, v3, v2, v3, v2, v4].
# Edges with counts: v1->v2 1, v2->v3 2, v3->v2 2, v2->v4 1.
PAPER_SESSION = ["v1", "v2", "v3", "v2", "v3", "v2", "v4"]
#                        v1   v2   v3   v4
PAPER_A_OUT = np.array([[0,   1,   0,   0],      # v1 -> v2 only
                        [0,   0, 2/3, 1/3],      # v2 -> v3 twice, v2 -> v4 once
                        [0,   1,   0,   0],      # v3 -> v2 twice
                        [0,   0,   0,   0]])     # nothing follows v4
PAPER_A_IN = np.array([[0,   0,   0,   0],       # nothing precedes v1
                       [1/3, 0, 2/3,   0],       # into v2: from v1 once, from v3 twice
                       [0,   1,   0,   0],       # into v3: from v2 twice
                       [0,   1,   0,   0]])      # into v4: from v2 once


def test_paper_session_dense():
    items, A_out, A_in = session_adjacency(PAPER_SESSION)
    assert_array_equal(items, ["v1", "v2", "v3", "v4"])
    assert_allclose(A_out, PAPER_A_OUT)
    assert_allclose(A_in, PAPER_A_IN)


def test_paper_session_flat_batch_matches_hand_computation():
    classes = np.array(["v0", "v1", "v2", "v3", "v4", "v5"], dtype=object)
    encode = {v: i for i, v in enumerate(classes)}
    # Surround the paper's session with others so its node indices are not 0-based.
    sessions = [["v5", "v0", "v5"], PAPER_SESSION, ["v4"]]
    batch = build([[encode[v] for v in s] for s in sessions], classes)
    assert len(batch) == 3
    start = batch.node_offsets[1]
    assert start == 2
    assert_array_equal(batch.classes[batch.items[start:batch.node_offsets[2]]], ["v1", "v2", "v3", "v4"])
    A_out, A_in = dense_of_session(batch, 1)
    assert_allclose(A_out, PAPER_A_OUT, rtol=1e-6)
    assert_allclose(A_in, PAPER_A_IN, rtol=1e-6)
    # Node of every click (v1 v2 v3 v2 v3 v2 v4 -> local 0 1 2 1 2 1 3) and of the last click.
    a0, a1 = batch.alias_offsets[1], batch.alias_offsets[2]
    assert_array_equal(batch.alias[a0:a1] - start, [0, 1, 2, 1, 2, 1, 3])
    assert batch.last_node[1] == start + 3
    # The other sessions: {v0, v5} with v5 -> v0, v0 -> v5; {v4} alone.
    assert_array_equal(batch.node_offsets, [0, 2, 6, 7])
    assert_array_equal(batch.edge_offsets, [0, 2, 6, 6])
    assert_array_equal(batch.last_node, [1, 5, 6])


def test_session_adjacency_small_cases():
    items, A_out, A_in = session_adjacency([7])
    assert_array_equal(items, [7])
    assert_array_equal(A_out, [[0.0]])
    assert_array_equal(A_in, [[0.0]])
    # A repeated consecutive click is a self loop, counted like any edge.
    items, A_out, A_in = session_adjacency(["a", "a", "b"])
    assert_allclose(A_out, [[0.5, 0.5], [0, 0]])
    assert_allclose(A_in, [[1, 0], [1, 0]])  # into a: from a once; into b: from a once
    # Counts, not presence: a -> b twice, a -> c once.
    _, A_out, _ = session_adjacency([1, 2, 1, 2, 1, 3])
    assert_allclose(A_out[0], [0, 2 / 3, 1 / 3])


def test_session_adjacency_errors():
    with pytest.raises(TypeError, match="one sequence of item ids"):
        session_adjacency("abc")
    with pytest.raises(ValueError, match="at least one item"):
        session_adjacency([])
    with pytest.raises(TypeError, match="not a mix"):
        session_adjacency([1, "a"])


def test_to_torch_message_passing_matches_dense():
    """The documented message directions reproduce A_out @ H and A_in @ H."""
    sessions = [[0, 1, 2, 1, 2, 1, 3], [4, 4, 5, -1, 4], [3]]
    batch = build(sessions)
    t = batch.to_torch()
    assert set(t) == {"items", "node_graph", "node_offsets", "edge_src", "edge_dst", "edge_weight_out",
                      "edge_weight_in", "alias", "alias_offsets", "last_node"}
    assert t["edge_src"].dtype == torch.long and t["edge_weight_out"].dtype == torch.float32
    H = torch.randn(batch.n_nodes, 3, generator=torch.Generator().manual_seed(0))
    src, dst = t["edge_src"], t["edge_dst"]
    out_msg = H.new_zeros(H.shape).index_add_(0, src, H[dst] * t["edge_weight_out"][:, None])  # A_out @ H
    in_msg = H.new_zeros(H.shape).index_add_(0, dst, H[src] * t["edge_weight_in"][:, None])  # A_in @ H
    for b in range(len(batch)):
        lo, hi = batch.node_offsets[b], batch.node_offsets[b + 1]
        A_out, A_in = (torch.as_tensor(A, dtype=torch.float32) for A in dense_of_session(batch, b))
        assert torch.allclose(out_msg[lo:hi], A_out @ H[lo:hi], atol=1e-6)
        assert torch.allclose(in_msg[lo:hi], A_in @ H[lo:hi], atol=1e-6)


# --------------------------------------------------------------------------- hypothesis invariants
@settings(max_examples=60, deadline=None)
@given(code_sessions)
def test_nodes_are_distinct_known_items(sessions):
    batch = build(sessions)
    for b, s in enumerate(sessions):
        nodes = batch.items[batch.node_offsets[b]:batch.node_offsets[b + 1]]
        assert_array_equal(nodes, sorted({c for c in s if c >= 0}))
    assert_array_equal(batch.node_graph, np.repeat(np.arange(len(sessions)), np.diff(batch.node_offsets)))


@settings(max_examples=60, deadline=None)
@given(code_sessions)
def test_edges_are_consecutive_known_clicks_with_counts(sessions):
    batch = build(sessions)
    for b, s in enumerate(sessions):
        kept = [c for c in s if c >= 0]
        counts = Counter(zip(kept[:-1], kept[1:]))
        e = slice(batch.edge_offsets[b], batch.edge_offsets[b + 1])
        src, dst = batch.edge_src[e], batch.edge_dst[e]
        lo, hi = batch.node_offsets[b], batch.node_offsets[b + 1]
        assert ((src >= lo) & (src < hi) & (dst >= lo) & (dst < hi)).all()
        pairs = list(zip(batch.items[src].tolist(), batch.items[dst].tolist()))
        assert len(pairs) == len(set(pairs))  # distinct edges
        assert set(pairs) == set(counts)
        out_deg = Counter()
        in_deg = Counter()
        for (u, v), c in counts.items():
            out_deg[u] += c
            in_deg[v] += c
        expected_out = [counts[p] / out_deg[p[0]] for p in pairs]
        expected_in = [counts[p] / in_deg[p[1]] for p in pairs]
        assert_allclose(batch.edge_weight_out[e], expected_out, rtol=1e-6)
        assert_allclose(batch.edge_weight_in[e], expected_in, rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(code_sessions)
def test_weights_sum_to_one_per_node(sessions):
    batch = build(sessions)
    out_sum = np.bincount(batch.edge_src, weights=batch.edge_weight_out, minlength=batch.n_nodes)
    in_sum = np.bincount(batch.edge_dst, weights=batch.edge_weight_in, minlength=batch.n_nodes)
    has_out = np.bincount(batch.edge_src, minlength=batch.n_nodes) > 0
    has_in = np.bincount(batch.edge_dst, minlength=batch.n_nodes) > 0
    assert_allclose(out_sum[has_out], 1.0, rtol=1e-6)
    assert_allclose(in_sum[has_in], 1.0, rtol=1e-6)
    assert (out_sum[~has_out] == 0).all() and (in_sum[~has_in] == 0).all()


@settings(max_examples=60, deadline=None)
@given(code_sessions)
def test_alias_and_last_node(sessions):
    batch = build(sessions)
    kept = [c for s in sessions for c in s if c >= 0]
    assert_array_equal(batch.items[batch.alias], kept)
    assert_array_equal(np.diff(batch.alias_offsets), [sum(c >= 0 for c in s) for s in sessions])
    session_of_click = np.repeat(np.arange(len(sessions)), np.diff(batch.alias_offsets))
    assert_array_equal(batch.node_graph[batch.alias], session_of_click)
    for b, s in enumerate(sessions):
        known = [c for c in s if c >= 0]
        if known:
            assert batch.items[batch.last_node[b]] == known[-1]
            assert batch.node_graph[batch.last_node[b]] == b
        else:
            assert batch.last_node[b] == -1
            assert batch.node_offsets[b] == batch.node_offsets[b + 1]
            assert batch.edge_offsets[b] == batch.edge_offsets[b + 1]


@settings(max_examples=40, deadline=None)
@given(code_sessions)
def test_flat_batch_matches_dense_session_adjacency(sessions):
    batch = build(sessions)
    for b, s in enumerate(sessions):
        kept = [c for c in s if c >= 0]
        if not kept:
            continue
        items, A_out, A_in = session_adjacency(CLASSES[kept])
        assert_array_equal(batch.classes[batch.items[batch.node_offsets[b]:batch.node_offsets[b + 1]]], items)
        flat_out, flat_in = dense_of_session(batch, b)
        assert_allclose(flat_out, A_out, rtol=1e-6)
        assert_allclose(flat_in, A_in, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(code_sessions)
def test_batch_equals_single_session_builds(sessions):
    batch = build(sessions)
    singles = [build([s]) for s in sessions]
    for b, single in enumerate(singles):
        assert_batch_equal(batch[b], single)
    assert_batch_equal(SessionGraphBatch.concatenate(singles), batch)


@settings(max_examples=60, deadline=None)
@given(code_sessions, st.data())
def test_slicing_equals_direct_build(sessions, data):
    batch = build(sessions)
    n = len(sessions)
    idx = data.draw(st.lists(st.integers(-n, n - 1), max_size=10), label="idx")
    assert_batch_equal(batch[np.array(idx, dtype=np.int64)], build([sessions[i] for i in idx]))
    mask = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="mask")
    assert_batch_equal(batch[np.array(mask)], build([s for s, m in zip(sessions, mask) if m]))
    start, stop, step = data.draw(
        st.tuples(st.integers(-n, n), st.integers(-n, n), st.sampled_from([1, 2, -1])), label="slice"
    )
    assert_batch_equal(batch[start:stop:step], build(sessions[start:stop:step]))


# --------------------------------------------------------------------------- unseen items, edge cases
def test_unseen_item_is_removed_and_its_neighbours_join():
    batch = build([[0, -1, 1]])  # [a, X, b] -> edge a -> b
    assert_array_equal(batch.items, [0, 1])
    assert_array_equal(batch.edge_src, [0])
    assert_array_equal(batch.edge_dst, [1])
    assert_array_equal(batch.alias, [0, 1])


def test_fully_unseen_and_empty_sessions():
    batch = build([[-1, -1], [2, 3], [], [-1]])
    assert_array_equal(batch.node_offsets, [0, 0, 2, 2, 2])
    assert_array_equal(batch.edge_offsets, [0, 0, 1, 1, 1])
    assert_array_equal(batch.alias_offsets, [0, 0, 2, 2, 2])
    assert_array_equal(batch.last_node, [-1, 1, -1, -1])
    assert_array_equal(batch[[0, 3]].last_node, [-1, -1])
    assert batch[[0, 3]].n_nodes == 0


def test_zero_sessions():
    batch = build_session_graphs(FlatSessions(np.zeros(0, np.int64), np.zeros(1, np.int64)), CLASSES)
    assert len(batch) == 0 and batch.n_nodes == 0 and batch.n_edges == 0
    assert len(build([[1, 2]])[[]]) == 0
    assert all(v.numel() == (1 if k.endswith("offsets") else 0) for k, v in batch.to_torch().items())


def test_dtypes_and_repr():
    batch = build([[0, 1, 0], [2]])
    assert_batch_equal(batch, batch)  # also checks int64 / float32 dtypes
    assert repr(batch) == "SessionGraphBatch(n_sessions=2, n_nodes=3, n_edges=2, n_clicks=4, n_items=6)"
    assert (batch.n_nodes, batch.n_edges, batch.n_clicks) == (3, 2, 4)


def test_getitem_int_iteration_and_errors():
    sessions = [[0, 1], [2], [3, 3, 4]]
    batch = build(sessions)
    assert_batch_equal(batch[-1], build([sessions[-1]]))
    assert len(list(batch)) == 3  # iteration stops at IndexError
    with pytest.raises(IndexError, match="out of range"):
        batch[3]
    with pytest.raises(IndexError, match="out of range"):
        batch[np.array([0, -4])]
    with pytest.raises(IndexError, match="boolean mask has 2 entries"):
        batch[np.array([True, False])]
    with pytest.raises(IndexError, match="dtype float64"):
        batch[np.array([0.0])]
    with pytest.raises(IndexError, match="1-D"):
        batch[np.zeros((1, 1), dtype=int)]


def test_build_errors():
    with pytest.raises(TypeError, match="FlatSessions"):
        build_session_graphs([[0, 1]], CLASSES)
    with pytest.raises(ValueError, match=r"\[-1, 6\).*session 1, position 0 holds 6"):
        build([[0], [6]])
    with pytest.raises(ValueError, match="holds -2"):
        build([[-2]])
    with pytest.raises(TypeError, match="integer array"):
        build_session_graphs(FlatSessions(np.array(["a"], dtype=object), np.array([0, 1])), CLASSES)
    with pytest.raises(ValueError, match="end at len"):
        build_session_graphs(FlatSessions(np.array([0, 1]), np.array([0, 1])), CLASSES)


def test_inconsistent_batch_and_concatenate_errors():
    batch = build([[0, 1]])
    with pytest.raises(ValueError, match="edge_src must have edge_offsets"):
        SessionGraphBatch(**{**vars(batch), "edge_src": np.zeros(3, np.int64)})
    with pytest.raises(ValueError, match="share one vocabulary"):
        SessionGraphBatch.concatenate([batch, build([[0]], np.arange(3))])
    with pytest.raises(TypeError, match="non-empty"):
        SessionGraphBatch.concatenate([])


def test_batch_pickles_and_input_is_not_modified():
    codes = flat([[0, -1, 1, 1], [2]])
    items_before, offsets_before = codes.items.copy(), codes.offsets.copy()
    batch = build_session_graphs(codes, CLASSES)
    assert_array_equal(codes.items, items_before)
    assert_array_equal(codes.offsets, offsets_before)
    assert_batch_equal(pickle.loads(pickle.dumps(batch)), batch)
