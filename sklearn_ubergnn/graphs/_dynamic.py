"""Dynamic interaction graph: a time-ordered stream of interactions as a DAG in flat arrays.

Every interaction ``i = (a, b, t)`` creates two nodes: node ``2 i`` for the source object ``a``
and node ``2 i + 1`` for the target object ``b``. Each new node gets an edge to both nodes of
the previous interaction of *its own* object (none on the object's first appearance), so every
node has 0 or 2 parents and the graph is a DAG ordered by time (DESIGN.md, section 2.2).

Interactions with equal timestamps never see each other: the "previous interaction" of an
object is its last interaction with a time *strictly* earlier than the new one's. Two
interactions of one object at the same time therefore share the same parents.

:class:`DynamicInteractionGraph` grows by :meth:`~DynamicInteractionGraph.append` in amortised
O(new) time (arrays with capacity doubling, no rebuild) and extracts the sub-graphs of many
target nodes at once as a :class:`DynamicSubgraphBatch`: flat arrays (PyTorch Geometric style,
no padding) built level by level with whole-array NumPy operations.
"""
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch

from .._validation import check_ids, id_kind

__all__ = ["DynamicInteractionGraph", "DynamicSubgraphBatch"]

# Fields that DynamicSubgraphBatch.to_torch() hands to an encoder's forward (besides x).
_TORCH_FIELDS = ("offsets", "delta_t", "depth", "parents", "level")


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def _check_times(times, n_rows, *, input_name="times", require_sorted=True):
    """Validate interaction times: finite real numbers (non-decreasing if asked). Returns a float64 copy."""
    if isinstance(times, (str, bytes)) or not hasattr(times, "__len__"):
        raise TypeError(f"{input_name} must be a 1-D sequence of numbers, got {type(times).__name__}.")
    arr = np.asarray(times)
    if arr.ndim != 1:
        raise ValueError(f"{input_name} must be 1-D, got an array of shape {arr.shape}.")
    if len(arr) != n_rows:
        raise ValueError(
            f"sources, targets and {input_name} must have the same length; got {n_rows} sources and "
            f"{len(arr)} {input_name}."
        )
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{input_name} must hold real numbers (e.g. Unix seconds); got values of dtype object "
                "that are not all numbers. Convert dates with .astype('int64') / 1e9 first."
            ) from None
    if arr.dtype.kind not in "iuf" or arr.dtype == bool:
        raise TypeError(
            f"{input_name} must hold real numbers (e.g. Unix seconds), got dtype {arr.dtype}. "
            "Convert dates with .astype('int64') / 1e9 first."
        )
    arr = arr.astype(np.float64, copy=True)
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{input_name} must be finite; row {i} has time {float(arr[i])}. Drop or impute it.")
    back = np.flatnonzero(arr[1:] < arr[:-1]) if require_sorted else ()
    if len(back):
        i = int(back[0]) + 1
        raise ValueError(
            f"{input_name} must be non-decreasing (interactions in time order); row {i} has time "
            f"{float(arr[i])} after {float(arr[i - 1])} at row {i - 1}. Sort the interactions by time first "
            "(a stable sort keeps the order of ties)."
        )
    return arr


def _check_interactions(sources, targets, times, features=None, *, require_sorted=True):
    """Validate one batch of interactions (times non-decreasing unless ``require_sorted=False``).

    Returns
    -------
    sources, targets : ndarray of shape (n,)
        Raw ids, ``int64`` or ``object`` (str), copies.
    times : ndarray of shape (n,), float64
        Finite and non-decreasing.
    features : ndarray of shape (n, F), float32, or None
    """
    sources = check_ids(sources, input_name="sources")
    targets = check_ids(targets, input_name="targets", n_samples=None)
    if len(sources) != len(targets):
        raise ValueError(
            f"sources and targets must have the same length; got {len(sources)} sources and "
            f"{len(targets)} targets."
        )
    if id_kind(sources) != id_kind(targets):
        raise TypeError(
            f"sources hold {id_kind(sources)} ids but targets hold {id_kind(targets)} ids; objects "
            "share one vocabulary, so use one id type for both (e.g. astype(str))."
        )
    times = _check_times(times, len(sources), require_sorted=require_sorted)
    if features is not None:
        features = np.asarray(features)
        if features.ndim == 1:
            features = features[:, None]
        if features.ndim != 2 or features.shape[0] != len(sources):
            raise ValueError(
                f"features must have shape (n_interactions, n_features) = ({len(sources)}, F); got "
                f"shape {features.shape}."
            )
        if features.dtype.kind not in "iuf" or features.dtype == bool:
            raise TypeError(f"features must be numbers, got dtype {features.dtype}.")
        features = features.astype(np.float32, copy=True)
        bad = ~np.isfinite(features)
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            raise ValueError(
                f"features must be finite; row {row}, column {col} is {float(features[row, col])}."
            )
    return sources, targets, times, features


def _check_interaction_frame(X, *, source="source", target="target", time="time", features=None,
                             require_sorted=True, input_name="X"):
    """Validate a table of interactions (a pandas DataFrame or any mapping of columns).

    Parameters
    ----------
    X : DataFrame
        One row per interaction.
    source, target, time : str
        Names of the columns holding the two objects and the time.
    features : list of str, default=None
        Names of event-feature columns to return as a float32 matrix.
    require_sorted : bool, default=True
        Whether times must be non-decreasing (the error names the first row out of order).

    Returns
    -------
    sources, targets, times, features
        As :func:`_check_interactions`; ``features`` is None when not asked for.

    Raises
    ------
    TypeError
        If ``X`` is not a table with named columns.
    ValueError
        If a column is missing (all missing ones and the available ones are named), or any
        check of :func:`_check_interactions` fails.
    """
    if not hasattr(X, "columns") or isinstance(X, type):
        raise TypeError(
            f"{input_name} must be a pandas DataFrame with columns {source!r}, {target!r} and {time!r}; "
            f"got {type(X).__name__}."
        )
    wanted = [source, target, time, *(features or [])]
    missing = [c for c in wanted if c not in X.columns]
    if missing:
        raise ValueError(
            f"{input_name} is missing the column(s) {missing}; it has {list(X.columns)}. Rename the "
            "columns or set the estimator's column-name parameters."
        )
    feats = None if not features else X[list(features)].to_numpy()
    return _check_interactions(X[source].to_numpy(), X[target].to_numpy(), X[time].to_numpy(), feats,
                               require_sorted=require_sorted)


def _check_optional(value, name, kind, *, minimum=0):
    """Validate an optional non-negative limit (``None`` passes through)."""
    if value is None:
        return None
    if kind is Integral:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Integral, np.integer)):
            raise TypeError(f"{name} must be an int or None, got {type(value).__name__} {value!r}.")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum} or None, got {value}.")
        return int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number or None, got {type(value).__name__} {value!r}.")
    if not np.isfinite(value) and value != np.inf or value < minimum:
        raise ValueError(f"{name} must be a number >= {minimum} or None, got {value}.")
    return float(value)


def _grow(array, capacity, fill):
    """Return ``array`` enlarged to ``capacity`` rows (new rows set to ``fill``)."""
    out = np.full((capacity,) + array.shape[1:], fill, dtype=array.dtype)
    out[: len(array)] = array
    return out


# --------------------------------------------------------------------------------------------
# the sub-graph batch
# --------------------------------------------------------------------------------------------
@dataclass(eq=False)
class DynamicSubgraphBatch:
    """The sub-graphs of ``B`` target nodes as one flat batch (no padding).

    Sub-graph ``b`` owns positions ``offsets[b]:offsets[b + 1]``, ordered by node id, i.e. by
    time (ties by interaction, then source before target). Its target node comes *last*
    (every other node is an ancestor, so strictly earlier). A target given as ``-1`` (an unknown
    object, or no history before the query time) has an empty sub-graph.
    Build batches with :meth:`DynamicInteractionGraph.subgraphs`, not by hand.

    Parameters
    ----------
    node : ndarray of shape (M,), int64
        Global node id of each position (an index into the graph's node arrays).
    segment : ndarray of shape (M,), int64
        Sub-graph of each position (non-decreasing).
    offsets : ndarray of shape (B + 1,), int64
        Position range of each sub-graph.
    target_index : ndarray of shape (B,), int64
        Position of each target (``offsets[b + 1] - 1``), ``-1`` for an empty sub-graph.
    depth : ndarray of shape (M,), int64
        Hop distance to the target (shortest path along parent edges); 0 for the target.
    level : ndarray of shape (M,), int64
        Topological level inside the sub-graph: 0 for a node none of whose parents is in the
        sub-graph, else ``1 + max(level of its parents in the sub-graph)``. Processing levels in
        increasing order computes every parent before its children (the DAG-LSTM does so).
        (``depth`` is not such an order: a parent may be as close to the target as its child.)
    delta_t : ndarray of shape (M,), float64
        ``t_target - t_node`` (>= 0; 0 for the target; > 0 for every other node).
    parents : ndarray of shape (M, 2), int64
        Flat *batch* positions of the node's two parents (own object's previous node first,
        then its partner's node in that interaction); ``-1`` where the node has no parent or
        the parent is outside the sub-graph (beyond ``n_hops``, ``time_window`` or cut by
        ``max_nodes``). See :attr:`local_parents` for positions within the sub-graph.
    object : ndarray of shape (M,), int64
        Object code of each node (``graph.objects[object]`` are the raw ids).
    interaction : ndarray of shape (M,), int64
        Interaction of each node (``node // 2``), e.g. to look up event features.
    role : ndarray of shape (M,), int64
        0 when the node is its interaction's source, 1 when it is the target.
    """

    node: np.ndarray
    segment: np.ndarray
    offsets: np.ndarray
    target_index: np.ndarray
    depth: np.ndarray
    level: np.ndarray
    delta_t: np.ndarray
    parents: np.ndarray
    object: np.ndarray
    interaction: np.ndarray
    role: np.ndarray

    def __len__(self):
        return len(self.offsets) - 1

    @property
    def n_nodes(self):
        """int: total number of positions ``M``."""
        return len(self.node)

    @property
    def lengths(self):
        """ndarray of shape (B,): number of nodes of each sub-graph."""
        return np.diff(self.offsets)

    @property
    def local_parents(self):
        """ndarray of shape (M, 2): parent positions within the node's own sub-graph (-1: none)."""
        start = self.offsets[self.segment][:, None]
        return np.where(self.parents >= 0, self.parents - start, -1)

    def to_torch(self, device=None):
        """Tensors an encoder's ``forward`` takes besides the node features ``x``.

        Returns
        -------
        dict
            ``offsets (B+1,) long``, ``delta_t (M,) float32``, ``depth (M,) long``,
            ``parents (M, 2) long`` (flat positions), ``level (M,) long`` — so that
            ``encoder(x, **batch.to_torch(device))`` works for every encoder of
            :mod:`sklearn_ubergnn.nn`.
        """
        out = {}
        for name in _TORCH_FIELDS:
            value = getattr(self, name)
            dtype = torch.float32 if value.dtype.kind == "f" else torch.long
            out[name] = torch.as_tensor(value, dtype=dtype, device=device)
        return out


# --------------------------------------------------------------------------------------------
# the graph
# --------------------------------------------------------------------------------------------
class DynamicInteractionGraph:
    """A growing stream of interactions stored as a time-ordered DAG in flat arrays.

    Interaction ``i = (a, b, t)`` (in append order, which is time order) creates node ``2 i``
    for object ``a`` (role 0, source) and node ``2 i + 1`` for object ``b`` (role 1, target).
    Each new node has two parents: both nodes of its object's previous interaction, i.e. the
    object's last interaction with a time *strictly* earlier than ``t``; a first appearance has
    none. Parents are listed as (the object's own previous node, the partner's node in that
    interaction).

    Objects are raw ids (all int or all str), mapped to codes ``0 .. n_objects - 1`` in order of
    first appearance by an internal vocabulary that grows: new objects may appear at any time.

    The constructor takes no argument: build the graph with :meth:`append` (or
    :meth:`from_interactions`), one time-ordered batch after another.

    Attributes
    ----------
    n_interactions : int
        Number of interactions (``len(graph)``).
    n_nodes : int
        ``2 * n_interactions``.
    n_objects : int
        Number of distinct objects seen.
    objects : ndarray of shape (n_objects,)
        Raw id of every object code (order of first appearance).
    node_object : ndarray of shape (N,), int64
        Object code of each node.
    node_interaction, node_role : ndarray of shape (N,), int64
        ``node // 2`` and ``node % 2`` (0 = source, 1 = target).
    node_time : ndarray of shape (N,), float64
        Time of each node (its interaction's time); non-decreasing in node id.
    parents : ndarray of shape (N, 2), int64
        The two parent nodes (own previous node, partner's node); ``-1`` for none.
    parent_interaction : ndarray of shape (N,), int64
        The interaction both parents belong to; ``-1`` for none.
    interaction_time : ndarray of shape (n_interactions,), float64
    interaction_features : ndarray of shape (n_interactions, F), float32, or None
        The event features given to :meth:`append`, if any.
    last_time : float
        Time of the latest interaction (``-inf`` when empty).
    latest_node : ndarray of shape (n_objects,), int64
        Latest node of every object (the one no edge points to yet).

    Notes
    -----
    *Equal timestamps.* Interactions with equal times never see each other: when object ``a``
    has several interactions at time ``t``, all of them get the parents of ``a``'s last
    interaction strictly before ``t``. Across :meth:`append` calls too: a batch may start at the
    graph's last time, and its nodes then skip the earlier nodes at that same time.

    *Complexity.* :meth:`append` of ``n`` interactions costs ``O(n log n)`` for the batch plus
    ``O(n log V)`` vocabulary look-ups (``V`` objects) and, when new objects arrive, one
    ``O(V)`` memory move of the sorted vocabulary; node arrays grow by capacity doubling, so
    nothing is rebuilt. The graph pickles (and ``joblib.dump`` saves it) with its state.

    Examples
    --------
    >>> g = DynamicInteractionGraph().append(["a", "b", "a"], ["b", "c", "c"], [1.0, 2.0, 3.0])
    >>> len(g), g.n_nodes, g.objects.tolist()
    (3, 6, ['a', 'b', 'c'])
    >>> g.parents[4]            # a's node at t=3: a's previous interaction is #0 (nodes 0, 1)
    array([0, 1])
    >>> g.parents[3]            # c's first appearance
    array([-1, -1])
    >>> g.target_node(["a", "c", "zz"], time=2.5)
    array([ 0,  3, -1])
    """

    def __init__(self):
        self._n = 0
        self._time = np.empty(0, dtype=np.float64)
        self._node_object = np.empty(0, dtype=np.int64)
        self._prev = np.empty(0, dtype=np.int64)
        self._features = None
        self._n_features = None
        self._kind = None
        self._sorted_ids = np.empty(0, dtype=np.int64)
        self._sorted_codes = np.empty(0, dtype=np.int64)
        self._objects = np.empty(0, dtype=np.int64)
        self._last_node = np.empty(0, dtype=np.int64)
        self._n_objects = 0
        self._by_object = None  # cache for target_node(time=...): sorted (object, node) keys

    @classmethod
    def from_interactions(cls, sources, targets, times, features=None):
        """Build a graph from one time-ordered stream (same arguments as :meth:`append`)."""
        return cls().append(sources, targets, times, features)

    # ---------------------------------------------------------------- sizes and views
    def __len__(self):
        return self._n

    def __repr__(self):
        return (
            f"DynamicInteractionGraph(n_interactions={self._n}, n_objects={self._n_objects}, "
            f"n_features={self._n_features})"
        )

    @property
    def n_interactions(self):
        return self._n

    @property
    def n_nodes(self):
        return 2 * self._n

    @property
    def n_objects(self):
        return self._n_objects

    @property
    def n_features(self):
        """int or None: number of event features per interaction (None: none stored)."""
        return self._n_features

    @property
    def objects(self):
        return self._objects[: self._n_objects].copy()

    @property
    def last_time(self):
        return float(self._time[self._n - 1]) if self._n else -np.inf

    @property
    def interaction_time(self):
        return self._time[: self._n].copy()

    @property
    def interaction_features(self):
        return None if self._features is None else self._features[: self._n].copy()

    @property
    def node_object(self):
        return self._node_object[: 2 * self._n].copy()

    @property
    def node_interaction(self):
        return np.arange(2 * self._n, dtype=np.int64) // 2

    @property
    def node_role(self):
        return np.arange(2 * self._n, dtype=np.int64) % 2

    @property
    def node_time(self):
        return np.repeat(self._time[: self._n], 2)

    @property
    def parent_interaction(self):
        return self._prev[: 2 * self._n].copy()

    @property
    def parents(self):
        return self._parents_of(np.arange(2 * self._n, dtype=np.int64))

    @property
    def latest_node(self):
        return self._last_node[: self._n_objects].copy()

    def own_ancestor(self, nodes, steps):
        """The node of the same object ``steps`` interactions earlier along its own chain.

        Follows the first parent (the object's own previous node) ``steps`` times, for all
        ``nodes`` at once; interactions tied in time with the node share its parents, so a
        step skips a whole run of ties.

        Parameters
        ----------
        nodes : array-like of int
            Node indices (``-1`` allowed: stays ``-1``).
        steps : int >= 0
            How many interactions to go back.

        Returns
        -------
        ancestor : ndarray of int64, same shape as ``nodes``
            ``-1`` where the chain is shorter than ``steps``.
        """
        at = np.asarray(nodes, dtype=np.int64).copy()
        for _ in range(int(steps)):  # one vectorised gather per step, over every node at once
            alive = np.flatnonzero(at >= 0)
            if not len(alive):
                break
            at[alive] = self._parents_of(at[alive])[:, 0]
        return at

    def _parents_of(self, nodes):
        """(len(nodes), 2) parent nodes: own object's previous node, then the partner's node."""
        prev = self._prev[nodes]
        first = 2 * np.maximum(prev, 0)
        own_is_first = self._node_object[first] == self._node_object[nodes]
        own = np.where(own_is_first, first, first + 1)
        out = np.stack([own, np.where(own_is_first, first + 1, first)], axis=1)
        out[prev < 0] = -1
        return out

    # ---------------------------------------------------------------- vocabulary
    def encode(self, objects, *, input_name="objects"):
        """Object codes of raw ids; unknown objects encode to ``-1``.

        Raises
        ------
        TypeError
            If the ids are of another kind (int vs str) than the graph's objects.
        """
        ids = check_ids(objects, input_name=input_name)
        return self._encode(ids, input_name)

    def _encode(self, ids, input_name):
        if self._kind is None:
            return np.full(len(ids), -1, dtype=np.int64)
        if id_kind(ids) != self._kind:
            raise TypeError(
                f"the graph holds {self._kind} object ids but {input_name} holds {id_kind(ids)} ids; "
                "use the id type of the graph."
            )
        n = len(self._sorted_ids)
        if n == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._sorted_ids, ids), n - 1)
        return np.where(self._sorted_ids[pos] == ids, self._sorted_codes[pos], -1).astype(np.int64)

    def _encode_growing(self, ids):
        """Codes of ids, adding unseen ones (codes in order of first appearance)."""
        if self._kind is None:
            self._kind = id_kind(ids)
            self._sorted_ids = self._sorted_ids.astype(ids.dtype)
            self._objects = self._objects.astype(ids.dtype)
        codes = self._encode(ids, "sources/targets")
        unseen = codes < 0
        if unseen.any():
            new_ids, first = np.unique(ids[unseen], return_index=True)
            # codes by order of first appearance in the batch
            rank = np.empty(len(new_ids), dtype=np.int64)
            rank[np.argsort(first, kind="stable")] = np.arange(len(new_ids))
            new_codes = self._n_objects + rank
            at = np.searchsorted(self._sorted_ids, new_ids)
            self._sorted_ids = np.insert(self._sorted_ids, at, new_ids)
            self._sorted_codes = np.insert(self._sorted_codes, at, new_codes)
            end = self._n_objects + len(new_ids)
            if end > len(self._objects):
                cap = max(end, 2 * len(self._objects), 16)
                self._objects = _grow(self._objects, cap, 0 if self._kind == "int" else None)
                self._last_node = _grow(self._last_node, cap, -1)
            self._objects[new_codes] = new_ids
            self._last_node[self._n_objects:end] = -1
            self._n_objects = end
            codes = self._encode(ids, "sources/targets")
        return codes

    # ---------------------------------------------------------------- growth
    def append(self, sources, targets, times, features=None):
        """Append a batch of interactions, in time order, without rebuilding the graph.

        Parameters
        ----------
        sources, targets : array-like of shape (n,)
            Raw object ids (all int or all str, the kind the graph already holds).
        times : array-like of shape (n,)
            Real times, non-decreasing within the batch and ``>= self.last_time`` (equal times
            are allowed; such interactions do not see each other).
        features : array-like of shape (n, F), default=None
            Event features, stored as float32. Give them on every append or on none.

        Returns
        -------
        self : DynamicInteractionGraph

        Raises
        ------
        ValueError
            If ids are missing, lengths differ, a time is not finite, times decrease within the
            batch (the message names the row) or the batch starts before the graph's last time,
            or features have the wrong shape.
        TypeError
            If ids are neither all int nor all str, or of another kind than the graph's.
        """
        if all(hasattr(v, "__len__") and not isinstance(v, (str, bytes)) and len(v) == 0
               for v in (sources, targets, times)):
            return self  # an empty batch is a no-op
        sources, targets, times, features = _check_interactions(sources, targets, times, features)
        if times[0] < self.last_time:
            raise ValueError(
                f"interactions must be appended in time order; the batch starts at time {float(times[0])} "
                f"(row 0) but the graph already holds an interaction at time {self.last_time}. "
                "Append only interactions at or after the graph's last_time."
            )
        if self._kind is not None and id_kind(sources) != self._kind:
            raise TypeError(
                f"the graph holds {self._kind} object ids but this batch holds {id_kind(sources)} ids; "
                "use one id type throughout."
            )
        n_features = None if features is None else features.shape[1]
        if self._n and n_features != self._n_features:
            raise ValueError(
                f"every batch must have the same event features; the graph has "
                f"{self._n_features or 0} feature column(s) but this batch has {n_features or 0}."
            )
        n = len(sources)
        node_ids = np.empty(2 * n, dtype=sources.dtype)
        node_ids[0::2], node_ids[1::2] = sources, targets
        node_obj = self._encode_growing(node_ids)  # new codes in node order: stable under batching
        self._reserve(n, n_features)
        base = self._n
        node_t = np.repeat(times, 2)
        self._prev[2 * base: 2 * (base + n)] = self._find_previous(node_obj, node_t, base)
        self._node_object[2 * base: 2 * (base + n)] = node_obj
        self._time[base: base + n] = times
        if features is not None:
            self._features[base: base + n] = features
        self._n_features = n_features
        self._n += n
        self._by_object = None
        return self

    def _reserve(self, n_new, n_features):
        need = self._n + n_new
        if need <= len(self._time):
            return
        cap = max(need, 2 * len(self._time), 16)
        self._time = _grow(self._time[: self._n], cap, np.nan)
        self._node_object = _grow(self._node_object[: 2 * self._n], 2 * cap, -1)
        self._prev = _grow(self._prev[: 2 * self._n], 2 * cap, -1)
        if n_features is not None:
            old = self._features if self._features is not None else np.empty((0, n_features), np.float32)
            self._features = _grow(old[: self._n], cap, 0.0)

    def _find_previous(self, node_obj, node_t, base):
        """Previous interaction (strictly earlier time) of every new node's object, vectorised.

        Nodes are grouped by object (stable, so by node id inside a group); inside a group the
        runs of equal times are found, and a node's previous interaction is the node just before
        its run, or, when the run opens the group, the object's latest node in the graph (or
        that node's own previous interaction when it has the same time).
        """
        m = len(node_obj)
        gnode = 2 * base + np.arange(m, dtype=np.int64)
        order = np.argsort(node_obj, kind="stable")
        so, st = node_obj[order], node_t[order]
        k = np.arange(m, dtype=np.int64)
        new_group = np.ones(m, dtype=bool)
        new_group[1:] = so[1:] != so[:-1]
        new_run = new_group.copy()
        new_run[1:] |= st[1:] != st[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, k, 0))
        run_start = np.maximum.accumulate(np.where(new_run, k, 0))
        before = run_start - 1
        inside = before >= group_start
        prev_sorted = np.full(m, -1, dtype=np.int64)
        prev_sorted[inside] = gnode[order[before[inside]]] // 2
        outside = np.flatnonzero(~inside)
        last = self._last_node[so[outside]]
        has = last >= 0
        last_c = np.maximum(last, 0)
        last_time = self._time[last_c // 2] if self._n else np.full(len(last), -np.inf)
        from_graph = np.where(last_time < st[outside], last_c // 2, self._prev[last_c])
        prev_sorted[outside] = np.where(has, from_graph, -1)
        prev = np.empty(m, dtype=np.int64)
        prev[order] = prev_sorted
        group_end = np.ones(m, dtype=bool)
        group_end[:-1] = new_group[1:]
        self._last_node[so[group_end]] = gnode[order[group_end]]
        return prev

    # ---------------------------------------------------------------- queries
    def target_node(self, objects, time=None):
        """The node of each object to encode: its latest node, or its latest strictly before ``time``.

        Parameters
        ----------
        objects : array-like of shape (n,)
            Raw object ids.
        time : float or array-like of shape (n,), default=None
            Query times. ``None``: each object's latest node (the one no edge points to).
            Otherwise the object's latest node with a time strictly below the query time, so a
            query at time ``t`` never sees interactions at ``t`` or later.

        Returns
        -------
        nodes : ndarray of shape (n,), int64
            Node ids; ``-1`` for an object the graph has never seen, or one with no node
            before ``time``. (:meth:`subgraphs` turns ``-1`` into an empty sub-graph.)
        """
        ids = check_ids(objects, input_name="objects")
        codes = self._encode(ids, "objects")
        known = codes >= 0
        if time is None:
            return np.where(known, self._last_node[np.maximum(codes, 0)], -1).astype(np.int64)
        t = np.asarray(time, dtype=np.float64) if not isinstance(time, (str, bytes)) else None
        if t is None or t.ndim > 1 or (t.ndim == 1 and len(t) != len(ids)):
            raise ValueError(
                f"time must be a number or an array of {len(ids)} numbers (one per object); got "
                f"{time!r:.80}."
            )
        t = np.broadcast_to(t, ids.shape)
        if np.isnan(t).any():
            i = int(np.flatnonzero(np.isnan(t))[0])
            raise ValueError(f"time must not be NaN; row {i} is NaN.")
        n_nodes = 2 * self._n
        if self._by_object is None:
            node_obj = self._node_object[:n_nodes]
            order = np.argsort(node_obj, kind="stable")
            self._by_object = node_obj[order] * max(n_nodes, 1) + order
        # nodes with a time < t are exactly nodes 0 .. before - 1 (times are non-decreasing)
        before = 2 * np.searchsorted(self._time[: self._n], t, side="left")
        key = np.maximum(codes, 0) * max(n_nodes, 1) + before
        pos = np.searchsorted(self._by_object, key, side="left") - 1
        cand = self._by_object[np.maximum(pos, 0)] if n_nodes else np.zeros(len(ids), np.int64)
        ok = known & (pos >= 0) & (cand // max(n_nodes, 1) == codes)
        return np.where(ok, cand % max(n_nodes, 1), -1).astype(np.int64)

    def subgraphs(self, target_nodes, n_hops=None, time_window=None, max_nodes=None):
        """Extract the sub-graphs of many target nodes at once, as one flat batch.

        The sub-graph of target ``v`` holds ``v`` and every ancestor ``u`` (reachable along
        parent edges) with ``depth(u) <= n_hops`` and ``t_v - t_u <= time_window``; a limit that
        is ``None`` does not apply (at least one of the two must be given). Because parents are
        strictly earlier, a node outside the window has no ancestor inside it, so the traversal
        stops there. The traversal runs level by level (one NumPy pass per hop) over the
        interactions reached, removing repeats with sorted keys ``target * n_interactions +
        interaction``; nothing loops over nodes in Python.

        Parameters
        ----------
        target_nodes : array-like of shape (B,) of int
            Node ids (e.g. from :meth:`target_node`); ``-1`` gives an empty sub-graph.
        n_hops : int >= 0, default=None
            Maximum number of parent edges between a node and the target.
        time_window : float >= 0, default=None
            Maximum age ``t_target - t_node`` of a node.
        max_nodes : int >= 1, default=None
            Keep at most this many nodes per sub-graph: the most recent ones (largest node ids,
            so the target is always kept). Parents cut away become ``-1``.

        Returns
        -------
        batch : DynamicSubgraphBatch
            Sub-graph ``b`` is ``batch.node[batch.offsets[b]:batch.offsets[b + 1]]``, in time
            order, target last.

        Raises
        ------
        ValueError
            If both limits are None, a limit is negative, or a target is not a node of the graph.
        """
        n_hops = _check_optional(n_hops, "n_hops", Integral)
        time_window = _check_optional(time_window, "time_window", Real)
        max_nodes = _check_optional(max_nodes, "max_nodes", Integral, minimum=1)
        if n_hops is None and time_window is None:
            raise ValueError(
                "give n_hops, time_window or both; with neither the sub-graph would be the whole "
                "history of the target."
            )
        targets = np.asarray(target_nodes)
        if targets.ndim != 1 or (targets.dtype.kind not in "iu" and len(targets)):
            raise ValueError(
                f"target_nodes must be a 1-D array of node ids (int); got dtype {targets.dtype} and "
                f"shape {targets.shape}."
            )
        targets = targets.astype(np.int64)
        n_nodes = 2 * self._n
        bad = (targets < -1) | (targets >= n_nodes)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"target_nodes must be node ids in [0, {n_nodes}) or -1 (empty sub-graph); "
                f"target_nodes[{i}] is {targets[i]}."
            )
        n_hops = np.iinfo(np.int64).max if n_hops is None else n_hops
        window = np.inf if time_window is None else time_window
        n_int = max(self._n, 1)
        times = self._time[: self._n]
        valid = np.flatnonzero(targets >= 0)
        t_target = np.zeros(len(targets))
        t_target[valid] = times[targets[valid] // 2]
        # per-target budget of interactions (the target node + 2 nodes per interaction)
        budget = None if max_nodes is None else max_nodes // 2  # = ceil((max_nodes - 1) / 2)

        # level 1: the target's parent interaction
        seg = valid
        inter = self._prev[targets[valid]]
        keep = (inter >= 0) & (t_target[seg] - times[np.maximum(inter, 0)] <= window)
        if n_hops < 1 or budget == 0:
            keep[:] = False
        seg, inter = seg[keep], inter[keep]
        visited = seg * n_int + inter  # sorted: seg increasing, one per target
        found_keys, found_depth = [visited], [np.ones(len(visited), dtype=np.int64)]
        depth = 1
        while len(seg) and depth < n_hops:
            depth += 1
            both = np.stack([self._prev[2 * inter], self._prev[2 * inter + 1]], axis=1).ravel()
            s2 = np.repeat(seg, 2)
            ok = (both >= 0) & (t_target[s2] - times[np.maximum(both, 0)] <= window)
            keys = np.unique(s2[ok] * n_int + both[ok])
            if len(visited):
                pos = np.minimum(np.searchsorted(visited, keys), len(visited) - 1)
                keys = keys[visited[pos] != keys]
            if not len(keys):
                break
            visited = np.sort(np.concatenate([visited, keys]), kind="stable")
            found_keys.append(keys)
            found_depth.append(np.full(len(keys), depth, dtype=np.int64))
            if budget is not None:
                keys = self._prune_to_budget(keys, visited, n_int, budget)
            seg, inter = keys // n_int, keys % n_int
        return self._assemble(targets, valid, t_target, found_keys, found_depth, n_int, max_nodes)

    @staticmethod
    def _prune_to_budget(frontier, visited, n_int, budget):
        """Drop frontier interactions older than each target's ``budget``-th most recent visited one.

        Their ancestors are older still, so they could never survive the ``max_nodes`` cut.
        """
        vseg = visited // n_int
        fseg = frontier // n_int
        seg_end = np.searchsorted(vseg, fseg, side="right")
        seg_start = np.searchsorted(vseg, fseg, side="left")
        kth = seg_end - budget
        full = kth >= seg_start
        threshold = np.where(full, visited[np.maximum(kth, 0)], -1)
        return frontier[frontier >= threshold]

    def _assemble(self, targets, valid, t_target, found_keys, found_depth, n_int, max_nodes):
        n_nodes = max(2 * self._n, 1)
        keys = np.concatenate(found_keys)
        depth_i = np.concatenate(found_depth)
        seg_i, inter_i = keys // n_int, keys % n_int
        seg = np.concatenate([valid, np.repeat(seg_i, 2)])
        node = np.concatenate([targets[valid], np.stack([2 * inter_i, 2 * inter_i + 1], 1).ravel()])
        depth = np.concatenate([np.zeros(len(valid), np.int64), np.repeat(depth_i, 2)])
        node_key = seg * n_nodes + node
        order = np.argsort(node_key, kind="stable")
        node_key, seg, node, depth = node_key[order], seg[order], node[order], depth[order]
        B = len(targets)
        if max_nodes is not None and len(node):
            seg_end = np.searchsorted(seg, seg, side="right")
            keep = seg_end - np.arange(len(seg)) <= max_nodes
            node_key, seg, node, depth = node_key[keep], seg[keep], node[keep], depth[keep]
        offsets = np.zeros(B + 1, dtype=np.int64)
        np.cumsum(np.bincount(seg, minlength=B), out=offsets[1:])
        m = len(node)
        target_index = np.where(np.diff(offsets) > 0, offsets[1:] - 1, -1).astype(np.int64)
        # parents as flat positions
        gpar = self._parents_of(node)
        pkey = seg[:, None] * n_nodes + gpar
        if m:
            pos = np.minimum(np.searchsorted(node_key, pkey), m - 1)
            parents = np.where((gpar >= 0) & (node_key[pos] == pkey), pos, -1).astype(np.int64)
        else:
            parents = np.empty((0, 2), dtype=np.int64)
        return DynamicSubgraphBatch(
            node=node,
            segment=seg,
            offsets=offsets,
            target_index=target_index,
            depth=depth,
            level=_topological_level(parents),
            delta_t=t_target[seg] - self._time[node // 2],
            parents=parents,
            object=self._node_object[node],
            interaction=node // 2,
            role=node % 2,
        )

    # ---------------------------------------------------------------- persistence
    def __getstate__(self):
        # drop the spare capacity and the cache: a pickle holds exactly the data
        state = self.__dict__.copy()
        n, v = self._n, self._n_objects
        state["_time"] = self._time[:n].copy()
        state["_node_object"] = self._node_object[: 2 * n].copy()
        state["_prev"] = self._prev[: 2 * n].copy()
        state["_features"] = None if self._features is None else self._features[:n].copy()
        state["_objects"] = self._objects[:v].copy()
        state["_last_node"] = self._last_node[:v].copy()
        state["_by_object"] = None
        return state


def _topological_level(parents):
    """Level of every position: 0 without parents inside, else 1 + the max level of its parents.

    Jacobi iterations over the positions that have a parent inside; each pass is one whole-array
    step and the number of passes is the longest parent chain (bounded by ``max_nodes``).
    """
    m = len(parents)
    level = np.zeros(m, dtype=np.int64)
    pending = np.flatnonzero((parents >= 0).any(axis=1))
    if not len(pending):
        return level
    par = parents[pending]
    has = par >= 0
    safe = np.maximum(par, 0)
    while True:
        new = np.where(has, level[safe] + 1, 0).max(axis=1)
        if np.array_equal(new, level[pending]):
            return level
        level[pending] = new
