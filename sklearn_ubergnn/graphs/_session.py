"""Session graphs: the dense adjacency of one session and flat, padding-free batches of many.

A session ``[v1, v2, v3, v2, v4]`` becomes a directed graph on its distinct items with one edge
per pair of consecutive clicks ``v_{i-1} -> v_i``, counted with multiplicity (a repeated
consecutive click is a self loop). Two row-normalised connection matrices describe it, as in
SR-GNN:

* ``A_out[i, j] = count(i -> j) / sum_j' count(i -> j')`` (successors of ``i``),
* ``A_in[i, j] = count(j -> i) / sum_j' count(j' -> i)`` (predecessors of ``i``, the transposed
  graph normalised the same way).

:func:`session_adjacency` returns both matrices, dense, for one session (for teaching and tests).
:func:`build_session_graphs` builds a :class:`SessionGraphBatch`: many sessions as one disjoint
graph stored as flat edge lists (PyTorch Geometric style), with whole-array NumPy operations only.
"""
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch

from .._arrays import offsets_from_lengths, take_segments
from .._validation import FlatSessions, check_sessions

__all__ = ["SessionGraphBatch", "build_session_graphs", "session_adjacency"]

# Fields that to_torch() hands to a torch module's forward, in a fixed order.
_TORCH_FIELDS = (
    "items",
    "node_graph",
    "node_offsets",
    "edge_src",
    "edge_dst",
    "edge_weight_out",
    "edge_weight_in",
    "alias",
    "alias_offsets",
    "last_node",
)


def session_adjacency(session):
    """Dense out- and in-adjacency matrices of one session (SR-GNN's ``A_out`` and ``A_in``).

    Meant for teaching and for tests: it builds two ``(n, n)`` matrices. Use
    :func:`build_session_graphs` for real workloads.

    Parameters
    ----------
    session : sequence of item ids
        One session in click order (raw ids, all integers or all strings; at least one click).

    Returns
    -------
    items : ndarray of shape (n,)
        The distinct items of the session, sorted (``np.unique`` order). Row and column ``i`` of
        both matrices belong to ``items[i]``.
    A_out : ndarray of shape (n, n), float64
        ``A_out[i, j] = count(items[i] -> items[j]) / sum_j' count(items[i] -> items[j'])``.
        The row of an item that no click follows (the last item, unless it occurs earlier too)
        is all zeros.
    A_in : ndarray of shape (n, n), float64
        ``A_in[i, j] = count(items[j] -> items[i]) / sum_j' count(items[j'] -> items[i])``.
        The row of an item that no click precedes (the first item, unless it occurs later too)
        is all zeros.

    Notes
    -----
    Edges are pairs of consecutive clicks ``(v_{k-1}, v_k)`` counted with multiplicity, so
    ``[a, b, a, b]`` gives ``count(a -> b) = 2``; a repeated consecutive click ``[a, a]`` is a self
    loop. SR-GNN's published code marks an edge present (1) whatever its count; we keep counts, as
    the papers' equations do.

    Examples
    --------
    >>> items, A_out, A_in = session_adjacency([1, 2, 3, 2, 4])
    >>> items
    array([1, 2, 3, 4])
    >>> A_out[1]            # 2 -> 3 once, 2 -> 4 once
    array([0. , 0. , 0.5, 0.5])
    >>> A_in[1]             # 1 -> 2 once, 3 -> 2 once
    array([0.5, 0. , 0.5, 0. ])
    """
    if isinstance(session, (str, bytes)) or not hasattr(session, "__len__"):
        raise TypeError(
            f"session must be one sequence of item ids (e.g. [1, 2, 3]), got {type(session).__name__}."
        )
    flat = check_sessions([session], input_name="session")
    items, index = np.unique(flat.items, return_inverse=True)
    n = len(items)
    counts = np.zeros((n, n))
    np.add.at(counts, (index[:-1], index[1:]), 1.0)
    return items, _row_normalise(counts), _row_normalise(counts.T)


def _row_normalise(counts):
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


@dataclass(eq=False)
class SessionGraphBatch:
    """A batch of ``B`` session graphs stored as one disjoint graph (flat arrays, no padding).

    The nodes of a session are its distinct known items, contiguous and sorted by item code;
    sessions keep their input order. Node, edge and click indices are global (0 at the first
    node, edge or click of the batch), and ``*_offsets`` give each session's range:
    session ``b`` owns nodes ``node_offsets[b]:node_offsets[b + 1]``, edges
    ``edge_offsets[b]:edge_offsets[b + 1]`` and clicks ``alias_offsets[b]:alias_offsets[b + 1]``.
    Build batches with :func:`build_session_graphs` (or
    :class:`~sklearn_ubergnn.session.SessionGraphTransformer`), not by hand.

    Parameters
    ----------
    items : ndarray of shape (N,), int64
        Item code of each node (an index into ``classes``).
    node_graph : ndarray of shape (N,), int64
        Session of each node (non-decreasing).
    node_offsets : ndarray of shape (B + 1,), int64
        Node range of each session.
    edge_src, edge_dst : ndarray of shape (E,), int64
        Global node indices of each distinct directed edge ``v_{k-1} -> v_k``; edges are sorted
        by session (then by source and destination node).
    edge_weight_out : ndarray of shape (E,), float32
        ``count(src -> dst) / sum_j count(src -> j)``: the entry ``A_out[src, dst]``. Weights of
        the out-edges of every node that has some sum to 1.
    edge_weight_in : ndarray of shape (E,), float32
        ``count(src -> dst) / sum_j count(j -> dst)``: the entry ``A_in[dst, src]``. Weights of the
        in-edges of every node that has some sum to 1.
    edge_offsets : ndarray of shape (B + 1,), int64
        Edge range of each session.
    alias : ndarray of shape (L,), int64
        Global node index of every kept (known) click, in click order:
        ``items[alias]`` are the codes of the clicks.
    alias_offsets : ndarray of shape (B + 1,), int64
        Click range of each session in ``alias``.
    last_node : ndarray of shape (B,), int64
        Global node index of each session's last kept click; ``-1`` for a session without a
        known item (it has no nodes and no edges).
    classes : ndarray of shape (n_items,)
        Raw ids of the vocabulary: ``classes[items]`` are the raw ids of the nodes.

    Notes
    -----
    Message passing (SR-GNN): out-messages flow ``dst -> src`` weighted by ``edge_weight_out``
    (node ``i`` aggregates its successors, ``A_out @ H``); in-messages flow ``src -> dst`` weighted
    by ``edge_weight_in`` (node ``i`` aggregates its predecessors, ``A_in @ H``)::

        out_msg = H.new_zeros(H.shape).index_add_(0, edge_src, H[edge_dst] * w_out[:, None])
        in_msg = H.new_zeros(H.shape).index_add_(0, edge_dst, H[edge_src] * w_in[:, None])

    ``len(batch)`` is ``B``; ``batch[idx]`` (an int, an int array, a slice or a boolean mask of
    length ``B``) is the sub-batch of those sessions with re-based indices, equal to building
    them directly. ``batch.to_torch(device)`` gives the tensors a ``forward`` takes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ubergnn._validation import FlatSessions
    >>> codes = FlatSessions(np.array([0, 1, 0, 2, -1]), np.array([0, 3, 4, 5]))
    >>> batch = build_session_graphs(codes, np.array([10, 20, 30]))
    >>> batch
    SessionGraphBatch(n_sessions=3, n_nodes=3, n_edges=2, n_clicks=4, n_items=3)
    >>> batch.items, batch.node_offsets, batch.last_node
    (array([0, 1, 2]), array([0, 2, 3, 3]), array([ 0,  2, -1]))
    >>> batch[[1]].last_node
    array([0])
    """

    items: np.ndarray
    node_graph: np.ndarray
    node_offsets: np.ndarray
    edge_src: np.ndarray
    edge_dst: np.ndarray
    edge_weight_out: np.ndarray
    edge_weight_in: np.ndarray
    edge_offsets: np.ndarray
    alias: np.ndarray
    alias_offsets: np.ndarray
    last_node: np.ndarray
    classes: np.ndarray

    def __post_init__(self):
        # O(1) consistency checks: catch a hand-made batch with mismatched arrays early.
        n_sessions = len(self.last_node)
        for name in ("node_offsets", "edge_offsets", "alias_offsets"):
            if len(getattr(self, name)) != n_sessions + 1:
                raise ValueError(
                    f"{name} must have len(last_node) + 1 = {n_sessions + 1} entries, "
                    f"got {len(getattr(self, name))}."
                )
        for offsets, names in (
            ("node_offsets", ("items", "node_graph")),
            ("edge_offsets", ("edge_src", "edge_dst", "edge_weight_out", "edge_weight_in")),
            ("alias_offsets", ("alias",)),
        ):
            total = int(getattr(self, offsets)[-1])
            for name in names:
                if len(getattr(self, name)) != total:
                    raise ValueError(
                        f"{name} must have {offsets}[-1] = {total} entries, got {len(getattr(self, name))}."
                    )

    def __len__(self):
        return len(self.last_node)

    @property
    def n_nodes(self):
        """int: total number of nodes ``N``."""
        return len(self.items)

    @property
    def n_edges(self):
        """int: total number of distinct edges ``E``."""
        return len(self.edge_src)

    @property
    def n_clicks(self):
        """int: total number of kept clicks ``L``."""
        return len(self.alias)

    def __repr__(self):
        return (
            f"{type(self).__name__}(n_sessions={len(self)}, n_nodes={self.n_nodes}, "
            f"n_edges={self.n_edges}, n_clicks={self.n_clicks}, n_items={len(self.classes)})"
        )

    def __getitem__(self, index):
        """Sub-batch of the sessions selected by ``index``, with re-based node indices.

        Parameters
        ----------
        index : int, slice, array-like of int or array-like of bool
            Sessions to keep, in the order given (repeats allowed). An int selects a batch of one
            session; a boolean mask must have length ``B``.

        Returns
        -------
        batch : SessionGraphBatch
            The selected sessions, as if built directly from them.
        """
        sel = _session_selection(index, len(self))
        n_sel = len(sel)
        node_idx, node_offsets, n_nodes = take_segments(self.node_offsets, sel)
        edge_idx, edge_offsets, n_edges = take_segments(self.edge_offsets, sel)
        alias_idx, alias_offsets, n_clicks = take_segments(self.alias_offsets, sel)
        # New start of each selected session minus its old start: added to its node indices.
        shift = node_offsets[:-1] - self.node_offsets[sel]
        edge_shift = np.repeat(shift, n_edges)
        last = self.last_node[sel]
        return SessionGraphBatch(
            items=self.items[node_idx],
            node_graph=np.repeat(np.arange(n_sel, dtype=np.int64), n_nodes),
            node_offsets=node_offsets,
            edge_src=self.edge_src[edge_idx] + edge_shift,
            edge_dst=self.edge_dst[edge_idx] + edge_shift,
            edge_weight_out=self.edge_weight_out[edge_idx],
            edge_weight_in=self.edge_weight_in[edge_idx],
            edge_offsets=edge_offsets,
            alias=self.alias[alias_idx] + np.repeat(shift, n_clicks),
            alias_offsets=alias_offsets,
            last_node=np.where(last >= 0, last + shift, -1),
            classes=self.classes,
        )

    def to_torch(self, device=None):
        """The batch as a dict of tensors keyed by ``forward`` argument names.

        Parameters
        ----------
        device : str or torch.device, default=None
            Where to put the tensors; ``None`` leaves them on the CPU.

        Returns
        -------
        tensors : dict of str to torch.Tensor
            ``items``, ``node_graph``, ``node_offsets``, ``edge_src``, ``edge_dst``, ``alias``,
            ``alias_offsets``, ``last_node`` as ``long`` tensors and ``edge_weight_out``,
            ``edge_weight_in`` as ``float32`` tensors, with the shapes of the fields of the same
            names. ``edge_offsets`` and ``classes`` stay in NumPy (no module needs them). On the
            CPU the tensors share memory with the batch: do not modify them in place.

        Shapes
        ------
        - items, node_graph: ``(N,) long``
        - node_offsets, alias_offsets: ``(B + 1,) long``
        - edge_src, edge_dst: ``(E,) long``; edge_weight_out, edge_weight_in: ``(E,) float32``
        - alias: ``(L,) long``; last_node: ``(B,) long`` (``-1`` for a session with no node)
        """
        return {
            name: torch.as_tensor(np.ascontiguousarray(getattr(self, name)), device=device)
            for name in _TORCH_FIELDS
        }

    @classmethod
    def concatenate(cls, batches):
        """Join batches built on the same vocabulary into one, sessions in order.

        Parameters
        ----------
        batches : sequence of SessionGraphBatch
            At least one batch; all must share ``classes``.

        Returns
        -------
        batch : SessionGraphBatch
            Equal to building all the sessions at once.
        """
        batches = list(batches)
        if not batches or not all(isinstance(b, SessionGraphBatch) for b in batches):
            raise TypeError("concatenate expects a non-empty sequence of SessionGraphBatch objects.")
        classes = batches[0].classes
        for i, b in enumerate(batches[1:], start=1):
            if b.classes is not classes and not np.array_equal(b.classes, classes):
                raise ValueError(
                    f"batches must share one vocabulary; batch {i} has {len(b.classes)} classes that "
                    f"differ from batch 0's {len(classes)}. Build them with the same classes."
                )
        node_start = np.cumsum([0] + [b.n_nodes for b in batches[:-1]])
        session_start = np.cumsum([0] + [len(b) for b in batches[:-1]])

        def cat(name, shifts=None):
            arrays = [getattr(b, name) for b in batches]
            if shifts is not None:
                arrays = [a + s for a, s in zip(arrays, shifts)]
            return np.concatenate(arrays)

        def cat_offsets(name):
            ends = np.cumsum([0] + [int(getattr(b, name)[-1]) for b in batches[:-1]])
            return np.concatenate([[0]] + [getattr(b, name)[1:] + e for b, e in zip(batches, ends)])

        return cls(
            items=cat("items"),
            node_graph=cat("node_graph", session_start),
            node_offsets=cat_offsets("node_offsets").astype(np.int64),
            edge_src=cat("edge_src", node_start),
            edge_dst=cat("edge_dst", node_start),
            edge_weight_out=cat("edge_weight_out"),
            edge_weight_in=cat("edge_weight_in"),
            edge_offsets=cat_offsets("edge_offsets").astype(np.int64),
            alias=cat("alias", node_start),
            alias_offsets=cat_offsets("alias_offsets").astype(np.int64),
            last_node=np.concatenate(
                [np.where(b.last_node >= 0, b.last_node + s, -1) for b, s in zip(batches, node_start)]
            ),
            classes=classes,
        )


def _session_selection(index, n_sessions):
    """Normalise a batch index (int, slice, int array, bool mask) to an int64 array of sessions."""
    if isinstance(index, slice):
        return np.arange(n_sessions, dtype=np.int64)[index]
    if isinstance(index, (Integral, np.integer)) and not isinstance(index, (bool, np.bool_)):
        if not -n_sessions <= index < n_sessions:
            raise IndexError(f"session index {index} is out of range for a batch of {n_sessions} sessions.")
        return np.array([index % n_sessions], dtype=np.int64)
    index = np.asarray(index)
    if index.ndim != 1:
        raise IndexError(f"a batch is indexed by a 1-D array of sessions, got shape {index.shape}.")
    if index.dtype == bool:
        if len(index) != n_sessions:
            raise IndexError(
                f"boolean mask has {len(index)} entries but the batch has {n_sessions} sessions."
            )
        return np.flatnonzero(index).astype(np.int64)
    if len(index) == 0:
        return np.zeros(0, dtype=np.int64)
    if index.dtype.kind not in "iu":
        raise IndexError(
            f"a batch is indexed by ints, a slice or a boolean mask, got an array of dtype {index.dtype}."
        )
    index = index.astype(np.int64)
    bad = (index < -n_sessions) | (index >= n_sessions)
    if bad.any():
        raise IndexError(
            f"session index {int(index[bad][0])} is out of range for a batch of {n_sessions} sessions."
        )
    return np.where(index < 0, index + n_sessions, index)


def _sort_pairs(major, minor, minor_size):
    """Order sorting int pairs by ``(major, minor)`` and a flag marking the first of each distinct pair.

    ``minor`` lies in ``[0, minor_size)``. Uses one combined int64 key when it cannot overflow,
    ``np.lexsort`` otherwise.
    """
    n = len(major)
    first = np.ones(n, dtype=bool)
    if n == 0:
        return np.zeros(0, dtype=np.int64), first
    if int(major.max()) < np.iinfo(np.int64).max // max(minor_size, 1):
        key = major * minor_size + minor
        order = np.argsort(key)
        sorted_key = key[order]
        np.not_equal(sorted_key[1:], sorted_key[:-1], out=first[1:])
    else:  # pragma: no cover - needs more than ~9e18 / n_items sessions
        order = np.lexsort((minor, major))
        a, b = major[order], minor[order]
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return order, first


def _check_codes(codes, n_items):
    if not isinstance(codes, FlatSessions):
        raise TypeError(
            "codes must be a FlatSessions of item codes, e.g. "
            "FlatSessions(vocabulary.transform(sessions.items), sessions.offsets) where "
            f"sessions = check_sessions(X); got {type(codes).__name__}."
        )
    items, offsets = np.asarray(codes.items), np.asarray(codes.offsets)
    if items.ndim != 1 or (len(items) and items.dtype.kind not in "iu"):
        raise TypeError(
            f"codes.items must be a 1-D integer array of item codes, got dtype {items.dtype} "
            f"and shape {items.shape}. Encode raw ids with ItemVocabulary.transform first."
        )
    if offsets.ndim != 1 or len(offsets) == 0 or offsets.dtype.kind not in "iu":
        raise ValueError(
            f"codes.offsets must be a 1-D integer array of n_sessions + 1 entries, got {offsets!r}."
        )
    if offsets[0] != 0 or offsets[-1] != len(items) or (np.diff(offsets) < 0).any():
        raise ValueError(
            "codes.offsets must start at 0, never decrease and end at len(codes.items) = "
            f"{len(items)}; got offsets[0] = {offsets[0]}, offsets[-1] = {offsets[-1]}."
        )
    if len(items):
        low, high = int(items.min()), int(items.max())
        if low < -1 or high >= n_items:
            bad = int(np.flatnonzero((items < -1) | (items >= n_items))[0])
            session = int(np.searchsorted(offsets, bad, side="right") - 1)
            raise ValueError(
                f"item codes must lie in [-1, {n_items}) for a vocabulary of {n_items} items (-1 = unseen); "
                f"session {session}, position {bad - offsets[session]} holds {int(items[bad])}."
            )
    return items.astype(np.int64, copy=False), offsets.astype(np.int64, copy=False)


def build_session_graphs(codes, classes):
    """Build the session graphs of many sessions as one flat :class:`SessionGraphBatch`.

    Whole-array NumPy only (no Python loop over sessions): distinct items per session from one
    sort of ``(session, code)`` pairs, edges from consecutive kept clicks, edge counts from one
    sort of ``(src, dst)`` pairs, normalisers from ``np.bincount``.

    Parameters
    ----------
    codes : FlatSessions
        Sessions of item **codes** (``int``, indices into ``classes``), e.g.
        ``FlatSessions(vocabulary.transform(sessions.items), sessions.offsets)``. The code ``-1``
        marks an unseen item (see Notes). Empty sessions are allowed.
    classes : array-like of shape (n_items,)
        Raw ids of the vocabulary (``classes[code]`` is the raw id); stored in the batch.

    Returns
    -------
    batch : SessionGraphBatch
        ``B = len(codes)`` session graphs; see :class:`SessionGraphBatch` for the fields.

    Raises
    ------
    TypeError
        If ``codes`` is not a :class:`FlatSessions` of integer codes.
    ValueError
        If a code lies outside ``[-1, len(classes))`` or the offsets are inconsistent.

    Notes
    -----
    Clicks with code ``-1`` (items unseen in fit) are removed from their session before the
    graph is built, so the clicks around them become consecutive: ``[a, X, b]`` with ``X``
    unseen gives the edge ``a -> b``, as if ``X`` had never been clicked. A session whose clicks
    are all unseen has no nodes, no edges, no alias entries and ``last_node == -1``;
    recommenders fall back to popularity for it.

    Shapes
    ------
    - codes.items: ``(n_clicks,) int``; codes.offsets: ``(B + 1,) int``
    - out: ``items, node_graph (N,)``, ``edge_* (E,)``, ``alias (L,)``, ``last_node (B,)``,
      ``*_offsets (B + 1,)``, with ``N <= L <= n_clicks`` and ``E <= L - (non-empty sessions)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ubergnn._validation import FlatSessions
    >>> batch = build_session_graphs(FlatSessions(np.array([2, 0, 2, 1]), np.array([0, 3, 4])),
    ...                              np.array(["a", "b", "c"], dtype=object))
    >>> batch.classes[batch.items].tolist()      # nodes: session 0 {a, c}, session 1 {b}
    ['a', 'c', 'b']
    >>> batch.edge_src.tolist(), batch.edge_dst.tolist(), batch.alias.tolist()
    ([0, 1], [1, 0], [1, 0, 1, 2])
    """
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(f"classes must be a 1-D array of raw item ids, got shape {classes.shape}.")
    n_items = len(classes)
    codes_items, offsets = _check_codes(codes, n_items)
    n_sessions = len(offsets) - 1

    # Kept clicks (known items) with their session, in click order.
    session = np.repeat(np.arange(n_sessions, dtype=np.int64), np.diff(offsets))
    keep = codes_items >= 0
    if keep.all():
        kept_code, kept_session = codes_items, session
    else:
        kept_code, kept_session = codes_items[keep], session[keep]
    n_kept = np.bincount(kept_session, minlength=n_sessions).astype(np.int64)
    alias_offsets = offsets_from_lengths(n_kept)

    # Nodes: distinct (session, code) pairs, sorted by session then code; alias = node of each click.
    order, first = _sort_pairs(kept_session, kept_code, n_items)
    node_of_sorted = np.cumsum(first) - 1
    alias = np.empty(len(kept_code), dtype=np.int64)
    alias[order] = node_of_sorted
    first_sorted = order[first]
    items = kept_code[first_sorted]
    node_graph = kept_session[first_sorted]
    n_nodes = len(items)
    node_offsets = offsets_from_lengths(np.bincount(node_graph, minlength=n_sessions))

    # Edges: consecutive kept clicks of one session, counted by distinct (src, dst) pair.
    same = kept_session[1:] == kept_session[:-1]
    src, dst = alias[:-1][same], alias[1:][same]
    order, first = _sort_pairs(src, dst, n_nodes)
    starts = np.flatnonzero(first)
    count = np.diff(np.append(starts, len(src))).astype(np.float64)
    edge_src, edge_dst = src[order[starts]], dst[order[starts]]
    out_total = np.bincount(edge_src, weights=count, minlength=n_nodes)
    in_total = np.bincount(edge_dst, weights=count, minlength=n_nodes)
    edge_offsets = offsets_from_lengths(np.bincount(node_graph[edge_src], minlength=n_sessions))

    last_node = np.full(n_sessions, -1, dtype=np.int64)
    has_click = n_kept > 0
    last_node[has_click] = alias[alias_offsets[1:][has_click] - 1]

    return SessionGraphBatch(
        items=items,
        node_graph=node_graph,
        node_offsets=node_offsets,
        edge_src=edge_src,
        edge_dst=edge_dst,
        edge_weight_out=(count / out_total[edge_src]).astype(np.float32),
        edge_weight_in=(count / in_total[edge_dst]).astype(np.float32),
        edge_offsets=edge_offsets,
        alias=alias,
        alias_offsets=alias_offsets,
        last_node=last_node,
        classes=classes,
    )
