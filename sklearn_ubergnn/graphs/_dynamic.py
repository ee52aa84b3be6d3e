"""Dynamic interaction graph: a time-ordered stream of interactions as a DAG in flat arrays.

Every interaction ``i = (a, b, t)`` creates two nodes: node ``2 i`` for the source object ``a``
and node ``2 i + 1`` for the target object ``b``. Each new node gets an edge to both nodes of
the previous interaction of *its own* object (none on the object's first appearance), so every
node has 0 or 2 parents and the graph is a DAG ordered by time (DESIGN.md, section 2.2).

Interactions with equal timestamps never see each other: the "previous interaction" of an
object is its last interaction with a time *strictly* earlier than the new one's. Two
interactions of one object at the same time therefore share the same parents.

:class:`DynamicInteractionGraph` takes object codes (the estimators validate and encode raw ids
once, before), is the one store of a stream (times, codes, event features, revealed labels and
per-node object statistics), grows by :meth:`~DynamicInteractionGraph.append` in amortised
O(new) time (arrays with capacity doubling, no rebuild) and extracts the sub-graphs of many
target nodes at once as a :class:`DynamicSubgraphBatch`: flat arrays (PyTorch Geometric style,
no padding) built level by level with whole-array NumPy operations.
"""
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch

from .._arrays import offsets_from_lengths
from ._partners import PairIndex, PartnerIndex, common_partners

__all__ = ["DynamicInteractionGraph", "DynamicSubgraphBatch"]

# Fields that DynamicSubgraphBatch.to_torch() hands to an encoder's forward (besides x).
_TORCH_FIELDS = ("offsets", "delta_t", "depth", "parents", "level")


# --------------------------------------------------------------------------------------------
# parameter checks of the sub-graph extraction
# --------------------------------------------------------------------------------------------
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


# pair_features: rows appended after the indexed first block before that block is rebuilt
_TAIL_ROWS = 4096


def _check_recent(recent):
    if isinstance(recent, (bool, np.bool_)) or not isinstance(recent, (Integral, np.integer)) or recent < 1:
        raise ValueError(f"recent must be an int >= 1; got {recent!r}.")


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
        Object code of each node (the estimators' vocabulary maps codes back to raw ids).
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

    The graph is the one store of a stream: per interaction its time, the object **codes** of
    both ends, its event features and its revealed label, and per node the running statistics
    of its object (:attr:`node_stats`). Objects are integer codes ``0 .. n_objects - 1``
    (raw ids are turned into codes once, by the caller's vocabulary, e.g.
    :class:`~sklearn_ubergnn._vocabulary.GrowingVocabulary`); a code above the largest one
    seen so far adds objects. Inputs are trusted: the estimators validate them once
    (:func:`~sklearn_ubergnn._validation.check_interactions`) before appending.

    Parameters
    ----------
    n_classes : int, default=0
        Number of label classes whose revealed labels :attr:`node_stats` counts (0: no labels).

    Attributes
    ----------
    n_interactions : int
        Number of interactions (``len(graph)``).
    n_nodes : int
        ``2 * n_interactions``.
    n_objects : int
        Number of objects (largest code seen + 1).
    node_object : ndarray of shape (N,), int64
        Object code of each node (``node_object[0::2]`` the sources, ``[1::2]`` the targets).
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
    interaction_label : ndarray of shape (n_interactions,), int64
        Revealed label code of each interaction, ``-1`` when not revealed.
    node_stats : ndarray of shape (N, 2 + 2 * n_classes), float32
        For the object of each node, its interactions with a time ``<=`` the node's: as source,
        as target, then per class the revealed labels it gave (as source) and received (as
        target). Ties share the count through the end of their run.
    last_time : float
        Time of the latest interaction (``-inf`` when empty).
    latest_node : ndarray of shape (n_objects,), int64
        Latest node of every object (the one no edge points to yet).

    The array attributes are read-only views (no copy); :meth:`append` may reallocate them.

    Notes
    -----
    *Equal timestamps.* Interactions with equal times never see each other: when object ``a``
    has several interactions at time ``t``, all of them get the parents of ``a``'s last
    interaction strictly before ``t``. Across :meth:`append` calls too: a batch may start at the
    graph's last time, and its nodes then skip the earlier nodes at that same time.

    *Complexity.* :meth:`append` of ``n`` interactions costs ``O(n log n)``; node arrays grow by
    capacity doubling, so nothing is rebuilt. The graph pickles (and ``joblib.dump`` saves it)
    with its state.

    Examples
    --------
    >>> g = DynamicInteractionGraph().append([0, 1, 0], [1, 2, 2], [1.0, 2.0, 3.0])
    >>> len(g), g.n_nodes, g.n_objects
    (3, 6, 3)
    >>> g.parents[4]            # 0's node at t=3: its previous interaction is #0 (nodes 0, 1)
    array([0, 1])
    >>> g.parents[3]            # 2's first appearance
    array([-1, -1])
    >>> g.target_node([0, 2, -1], time=2.5)
    array([ 0,  3, -1])
    """

    def __init__(self, n_classes=0):
        self.n_classes = int(n_classes)
        self._n = 0
        self._time = np.empty(0, dtype=np.float64)
        self._node_object = np.empty(0, dtype=np.int64)
        self._prev = np.empty(0, dtype=np.int64)
        self._label = np.empty(0, dtype=np.int64)
        self._stats = np.empty((0, self.n_stats), dtype=np.float32)
        self._features = None
        self._n_features = None
        self._last_node = np.empty(0, dtype=np.int64)
        self._total = np.empty((0, self.n_stats), dtype=np.float64)  # per object: all its nodes so far
        self._n_objects = 0
        self._by_object = None  # cache for target_node(time=...): sorted (object, node) keys
        # caches for pair_features: the pair and partner indices of a large first block of rows and of the
        # rows appended since (the tail, rebuilt after each append; the first block when the tail outgrows it)
        self._pair_main = self._pair_tail = None
        # per node, its object's chain of events in the node's role (history_features): the previous node
        # of that chain, the object's last node in the other role before it, and the running counts
        # [events, revealed labels per class] of the chain through the node; per object, its last node in
        # each role
        self._role_prev = np.empty(0, dtype=np.int64)
        self._other_last = np.empty(0, dtype=np.int64)
        self._role_counts = np.empty((0, 1 + self.n_classes), dtype=np.float64)
        self._last_role = np.empty((0, 2), dtype=np.int64)

    @classmethod
    def from_interactions(cls, sources, targets, times, features=None, labels=None, *, n_classes=0):
        """Build a graph from one time-ordered stream (same arguments as :meth:`append`)."""
        return cls(n_classes).append(sources, targets, times, features, labels)

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
    def n_stats(self):
        """int: columns of :attr:`node_stats` (``2 + 2 * n_classes``)."""
        return 2 + 2 * self.n_classes

    @property
    def n_history_features(self):
        """int: columns of :meth:`history_features` per object (``3 + 4 * (n_classes - 1)``, 3 without labels)."""
        return 3 + 4 * max(self.n_classes - 1, 0)

    @property
    def n_pair_features(self):
        """int: columns of :meth:`pair_features` (``6 + 2 * (n_classes - 1)``, 6 without labels)."""
        return 6 + 2 * max(self.n_classes - 1, 0)

    @property
    def last_time(self):
        return float(self._time[self._n - 1]) if self._n else -np.inf

    @property
    def interaction_time(self):
        return _read_only(self._time[: self._n])

    @property
    def interaction_features(self):
        return None if self._features is None else _read_only(self._features[: self._n])

    @property
    def interaction_label(self):
        return _read_only(self._label[: self._n])

    @property
    def node_object(self):
        return _read_only(self._node_object[: 2 * self._n])

    @property
    def node_stats(self):
        return _read_only(self._stats[: 2 * self._n])

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
        return _read_only(self._prev[: 2 * self._n])

    @property
    def parents(self):
        return self._parents_of(np.arange(2 * self._n, dtype=np.int64))

    @property
    def latest_node(self):
        return _read_only(self._last_node[: self._n_objects])

    def n_before(self, times):
        """Number of interactions strictly before each time."""
        return np.searchsorted(self._time[: self._n], times, side="left")

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
        pos = np.flatnonzero(at >= 0)  # the chains still alive, their object and their node
        obj = self._node_object[at[pos]]
        for _ in range(int(steps)):  # one vectorised step over every chain at once
            if not len(pos):
                break
            prev = self._prev[at[pos]]  # the object's previous interaction; its node is the one of the object
            alive = prev >= 0
            if not alive.all():
                at[pos[~alive]] = -1
                pos, prev, obj = pos[alive], prev[alive], obj[alive]
            at[pos] = 2 * prev + (self._node_object[2 * prev] != obj)
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

    # ---------------------------------------------------------------- growth
    def append(self, sources, targets, times, features=None, labels=None):
        """Append a batch of interactions, in time order, without rebuilding the graph.

        Parameters
        ----------
        sources, targets : array-like of shape (n,) of int
            Object codes (``>= 0``; a code not seen yet adds objects up to it).
        times : array-like of shape (n,)
            Real times, non-decreasing within the batch and ``>= self.last_time`` (equal times
            are allowed; such interactions do not see each other).
        features : array-like of shape (n, F), default=None
            Event features, stored as float32. Give them on every append or on none.
        labels : array-like of shape (n,) of int, default=None
            Revealed label codes in ``[0, n_classes)``, ``-1`` for unknown (None: all unknown).

        Returns
        -------
        self : DynamicInteractionGraph

        Notes
        -----
        Nothing is validated here: the estimators check the raw interactions once
        (:func:`~sklearn_ubergnn._validation.check_interactions`) and encode them before.
        """
        times = np.asarray(times, dtype=np.float64)
        n = len(times)
        if not n:
            return self  # an empty batch is a no-op
        node_obj = np.empty(2 * n, dtype=np.int64)
        node_obj[0::2], node_obj[1::2] = sources, targets
        n_features = None if features is None else np.shape(features)[1]
        self._reserve(n, n_features, int(node_obj.max()) + 1)
        base = self._n
        node_t = np.repeat(times, 2)
        self._prev[2 * base: 2 * (base + n)] = self._find_previous(node_obj, node_t, base)
        self._node_object[2 * base: 2 * (base + n)] = node_obj
        self._time[base: base + n] = times
        self._label[base: base + n] = -1 if labels is None else labels
        if features is not None:
            self._features[base: base + n] = features
        self._n_features = n_features
        self._n += n
        self._by_object = self._pair_tail = None
        self._update_stats(base)
        self._update_roles(base)
        return self

    def _update_stats(self, start):
        """Cumulative statistics of every new node's object up to and including the node's time.

        ``node_stats[n]`` counts the interactions of node ``n``'s object with a time ``<= t_n``:
        as source, as target, and per class the revealed labels of those it gave (as source)
        and received (as target). Vectorised: nodes are grouped by object and time; ties share
        one value (the count through the end of their run). Per-object running totals carry the
        counts across appends (every earlier node has a time ``<=`` the new ones). A node tied
        with nodes of a *later* append keeps the count of its own append.
        """
        n, c = self._n - start, self.n_classes
        obj = self._node_object[2 * start: 2 * self._n]
        t = np.repeat(self._time[start: self._n], 2)
        role = np.tile(np.array([0, 1]), n)
        vals = np.zeros((2 * n, self.n_stats), dtype=np.float64)
        vals[np.arange(2 * n), role] = 1.0
        if c:
            lab = np.repeat(self._label[start: self._n], 2)
            known = np.flatnonzero(lab >= 0)
            vals[known, 2 + role[known] * c + lab[known]] = 1.0
        order = np.lexsort((t, obj))
        so, st, sv = obj[order], t[order], vals[order]
        k = np.arange(2 * n)
        new_group = np.ones(2 * n, dtype=bool)
        new_group[1:] = so[1:] != so[:-1]
        new_run = new_group.copy()
        new_run[1:] |= st[1:] != st[:-1]
        cs = np.cumsum(sv, axis=0)
        group_start = np.maximum.accumulate(np.where(new_group, k, 0))
        before_group = np.where((group_start > 0)[:, None], cs[np.maximum(group_start - 1, 0)], 0.0)
        incl = cs - before_group  # inclusive sums within the object's group
        end_of_run = np.ones(2 * n, dtype=bool)
        end_of_run[:-1] = new_run[1:]
        run_id = np.cumsum(new_run) - 1
        run_total = incl[np.flatnonzero(end_of_run)][run_id]
        stats = np.empty_like(sv)
        stats[order] = self._total[so] + run_total
        self._stats[2 * start: 2 * self._n] = stats
        # carry the totals: one update per object of this append (its group's last node)
        end_of_group = np.ones(2 * n, dtype=bool)
        end_of_group[:-1] = new_group[1:]
        last = np.flatnonzero(end_of_group)
        self._total[so[last]] += incl[last]

    def _update_roles(self, start):
        """Every new node's place in its object's chain of events in the node's role, vectorised.

        For node ``v`` of object ``o`` in role ``r``: ``_role_prev[v]``, the previous node of ``o``
        in role ``r`` (by node id); ``_other_last[v]``, the last node of ``o`` in role ``1 - r``
        with a smaller id; ``_role_counts[v]``, ``[events, revealed labels per class]`` of ``o``'s
        role-``r`` nodes through ``v``. New nodes are grouped by object (stable, so by node id);
        the per-object last nodes carry the chains across appends.
        """
        m = 2 * (self._n - start)
        gnode = 2 * start + np.arange(m, dtype=np.int64)
        obj = self._node_object[2 * start: 2 * self._n]
        role = gnode % 2
        rows = np.zeros((m, 1 + self.n_classes), dtype=np.float64)
        rows[:, 0] = 1.0
        if self.n_classes:
            lab = self._label[gnode // 2]
            known = np.flatnonzero(lab >= 0)
            rows[known, 1 + lab[known]] = 1.0
        order = np.argsort(obj, kind="stable")
        so, sr, sn = obj[order], role[order], gnode[order]
        k = np.arange(m, dtype=np.int64)
        new_group = np.ones(m, dtype=bool)
        new_group[1:] = so[1:] != so[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, k, 0))
        last_in = np.empty((2, m), dtype=np.int64)  # per role: the group's last node in that role so far
        for r in (0, 1):
            at = np.maximum.accumulate(np.where(sr == r, k, -1))
            last_in[r] = np.where(at >= group_start, sn[np.maximum(at, 0)], self._last_role[so, r])
        # the object's last node in the own / the other role at an earlier position (or before this append)
        inside = k > group_start
        prev = np.where(inside, last_in[sr, np.maximum(k - 1, 0)], self._last_role[so, sr])
        other = np.where(inside, last_in[1 - sr, np.maximum(k - 1, 0)], self._last_role[so, 1 - sr])
        self._role_prev[sn] = prev
        self._other_last[sn] = other
        # running counts: within each (object, role) chain of this append, on top of the chain's last node
        key = 2 * obj + role
        by_chain = np.argsort(key, kind="stable")
        sk = key[by_chain]
        chain_start = np.ones(m, dtype=bool)
        chain_start[1:] = sk[1:] != sk[:-1]
        cs = np.cumsum(rows[by_chain], axis=0)
        first = np.maximum.accumulate(np.where(chain_start, k, 0))
        within = cs - np.where((first > 0)[:, None], cs[np.maximum(first - 1, 0)], 0.0)
        base = self._last_role[obj[by_chain], role[by_chain]]
        carried = np.where((base >= 0)[:, None], self._role_counts[np.maximum(base, 0)], 0.0)
        self._role_counts[gnode[by_chain]] = within + carried
        chain_end = np.ones(m, dtype=bool)
        chain_end[:-1] = chain_start[1:]
        ends = by_chain[chain_end]
        self._last_role[obj[ends], role[ends]] = gnode[ends]

    def _reserve(self, n_new, n_features, n_objects):
        if n_objects > self._n_objects:
            if n_objects > len(self._last_node):
                cap = max(n_objects, 2 * len(self._last_node), 16)
                self._last_node = _grow(self._last_node[: self._n_objects], cap, -1)
                self._total = _grow(self._total[: self._n_objects], cap, 0.0)
                self._last_role = _grow(self._last_role[: self._n_objects], cap, -1)
            self._last_node[self._n_objects: n_objects] = -1
            self._total[self._n_objects: n_objects] = 0.0
            self._last_role[self._n_objects: n_objects] = -1
            self._n_objects = n_objects
        need = self._n + n_new
        if need <= len(self._time):
            return
        cap = max(need, 2 * len(self._time), 16)
        self._time = _grow(self._time[: self._n], cap, np.nan)
        self._label = _grow(self._label[: self._n], cap, -1)
        self._node_object = _grow(self._node_object[: 2 * self._n], 2 * cap, -1)
        self._prev = _grow(self._prev[: 2 * self._n], 2 * cap, -1)
        self._stats = _grow(self._stats[: 2 * self._n], 2 * cap, 0.0)
        self._role_prev = _grow(self._role_prev[: 2 * self._n], 2 * cap, -1)
        self._other_last = _grow(self._other_last[: 2 * self._n], 2 * cap, -1)
        self._role_counts = _grow(self._role_counts[: 2 * self._n], 2 * cap, 0.0)
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
    def target_node(self, objects, time=None, *, before=None):
        """The node of each object to encode: its latest node, or its latest strictly before ``time``.

        Parameters
        ----------
        objects : array-like of shape (n,) of int
            Object codes (``-1``, or a code the graph has not seen: no node).
        time : float or array-like of shape (n,), default=None
            Query times (not NaN). ``None``: each object's latest node (the one no edge points to).
            Otherwise the object's latest node with a time strictly below the query time, so a
            query at time ``t`` never sees interactions at ``t`` or later.
        before : array-like of shape (n,) of int, default=None
            Instead of ``time``: the number of (earliest) interactions each query sees, as in
            :meth:`history_features`.

        Returns
        -------
        nodes : ndarray of shape (n,), int64
            Node ids; ``-1`` for an object the graph has never seen, or one with no node
            before ``time``. (:meth:`subgraphs` turns ``-1`` into an empty sub-graph.)
        """
        codes = np.asarray(objects, dtype=np.int64)
        known = (codes >= 0) & (codes < self._n_objects)
        if before is not None:
            cut = np.asarray(before, dtype=np.int64)
            if cut.shape != codes.shape:
                raise ValueError(f"before must have the shape of objects, {codes.shape}; got {cut.shape}.")
            cut = 2 * np.clip(cut, 0, self._n)
        elif time is None:
            return np.where(known, self._last_node[np.where(known, codes, 0)], -1).astype(np.int64)
        else:
            t = np.broadcast_to(np.asarray(time, dtype=np.float64), codes.shape)
            # nodes with a time < t are exactly nodes 0 .. cut - 1 (times are non-decreasing)
            cut = 2 * np.searchsorted(self._time[: self._n], t, side="left")
        return np.where(known, self._latest_before(np.where(known, codes, 0), cut), -1).astype(np.int64)

    def _latest_before(self, codes, node_cut):
        """Each (known) object's last node with an id below ``node_cut``, ``-1`` if none.

        Looks the keys up in the nodes sorted by (object, id), built once after each append.
        """
        n_nodes = 2 * self._n
        if self._by_object is None:
            node_obj = self._node_object[:n_nodes]
            order = np.argsort(node_obj, kind="stable")
            self._by_object = node_obj[order] * max(n_nodes, 1) + order
        if not n_nodes:
            return np.full(len(codes), -1, dtype=np.int64)
        key = codes * n_nodes + node_cut
        pos = np.searchsorted(self._by_object, key, side="left") - 1
        cand = self._by_object[np.maximum(pos, 0)]
        return np.where((pos >= 0) & (cand // n_nodes == codes), cand % n_nodes, -1)

    def _query_cut(self, times, before, shape, name, recent, time_unit):
        """Check ``recent`` and ``time_unit``; the number of (earliest) interactions each query sees:
        those strictly before ``times``, or ``before`` (of the shape of ``name``) clipped to the history."""
        _check_recent(recent)
        if not time_unit > 0:
            raise ValueError(f"time_unit must be > 0; got {time_unit!r}.")
        if before is None:
            return self.n_before(times)
        cut = np.asarray(before, dtype=np.int64)
        if cut.shape != shape:
            raise ValueError(f"before must have the shape of {name}, {shape}; got {cut.shape}.")
        return np.clip(cut, 0, self._n)

    def _last_visible(self, codes, cut):
        """Each object's last node among the first ``cut`` interactions (id ``< 2 * cut``); ``-1``: none.

        When every node is visible it is the object's latest node, an ``O(1)`` look-up; earlier
        cuts search the index of :meth:`target_node` (built once per append, so late queries skip it).
        """
        known = (codes >= 0) & (codes < self._n_objects) & (cut > 0)
        last = np.full(len(codes), -1, dtype=np.int64)
        late = known & (cut >= self._n)
        last[late] = self._last_node[codes[late]]
        early = known & ~late
        if early.any():
            last[early] = self._latest_before(codes[early], 2 * cut[early])
        return last

    def history_features(self, objects, times, *, before=None, recent=10, time_unit=1.0, never=1e4):
        """Statistics of each object's history before each query, as numeric features (whole-array).

        The history of query ``j`` is the interactions strictly before ``times[j]`` (or, with
        ``before``, the first ``before[j]`` interactions), with the labels revealed in it: a
        query never sees an interaction at its own time or later, nor a label not yet given to
        :meth:`append`. For each role ``r`` of the object, *given* (as source) then *received*
        (as target), with ``n_r`` its events in that role and ``c_{r,k}`` those of them whose
        revealed label is class ``k``, the columns are

        - ``log1p(n_r)``;
        - ``c_{r,k} / (n_r + 1)`` for every class ``k >= 1`` (class 0 is the complement, up to
          unrevealed labels; with two classes, the positive fraction);
        - the same fractions over the object's last ``recent`` events in that role:
          ``c'_{r,k} / (min(n_r, recent) + 1)``;

        then ``log1p(gap / time_unit)``, ``gap`` the time from the object's latest event in its
        history to ``times[j]`` (``never`` time units when it has none). These are the inputs of
        the estimators' wide part and of the suite's logistic-regression baseline.

        Parameters
        ----------
        objects : array-like of shape (n,) of int
            Object codes (``-1``, or a code the graph has not seen: no history).
        times : array-like of shape (n,) of float
            Query times: the history ends strictly before them and the gap is measured to them.
        before : array-like of shape (n,) of int, default=None
            Number of (earliest) interactions each query sees, instead of those strictly before
            ``times`` (e.g. the rows of earlier batches when labels are revealed batch by batch).
        recent : int >= 1, default=10
            Events per role in the recent fractions.
        time_unit : float > 0, default=1.0
            Unit of the gap.
        never : float >= 0, default=1e4
            Gap, in ``time_unit``, of an object without history.

        Returns
        -------
        features : ndarray of shape (n, n_history_features), float64

        Notes
        -----
        Every node keeps its object's running counts in its role and links to the previous node
        of that role (kept by :meth:`append`), so a query after the last interaction costs
        ``O(recent)`` gathers; an earlier one also a binary search in the index of
        :meth:`target_node` (built once after each append).
        """
        codes = np.asarray(objects, dtype=np.int64)
        t = np.asarray(times, dtype=np.float64)
        if codes.ndim != 1 or t.shape != codes.shape:
            raise ValueError(
                f"objects and times must be 1-D and of one length; got shapes {codes.shape} and {t.shape}."
            )
        cut = self._query_cut(t, before, codes.shape, "objects", recent, time_unit)
        last = self._last_visible(codes, cut)
        has = np.flatnonzero(last >= 0)
        c = self.n_classes
        columns = []
        for role in (0, 1):
            # the last visible node in this role: that node, or the object's last in this role before it
            at = np.full(len(codes), -1, dtype=np.int64)
            at[has] = np.where(last[has] % 2 == role, last[has], self._other_last[last[has]])
            back = at.copy()
            for _ in range(int(recent)):  # one vectorised gather per step back along the role's chain
                alive = np.flatnonzero(back >= 0)
                if not len(alive):
                    break
                back[alive] = self._role_prev[back[alive]]
            whole, older = self._counts_through(at), self._counts_through(back)
            window = whole - older
            n = whole[:, 0]
            columns += [np.log1p(n)[:, None], whole[:, 2: 1 + c] / (n + 1)[:, None],
                        window[:, 2: 1 + c] / (window[:, :1] + 1)]
        gap = np.full(len(codes), never * time_unit)
        gap[has] = t[has] - self._time[last[has] // 2]
        columns.append(np.log1p(gap / time_unit)[:, None])
        return np.concatenate(columns, axis=1)

    def pair_features(self, sources, targets, times, *, before=None, recent=10, time_unit=1.0, never=1e4):
        """Statistics of each queried pair's own past, as numeric features (whole-array).

        The partner statistics of a query ``(s, d, t)``: what ``s`` and ``d`` did *with each
        other*, and whom they both met, in the history strictly before ``t`` (or in the first
        ``before[j]`` interactions), the signal memorisation baselines (EdgeBank) and the field's
        co-occurrence features live on. With ``n`` the past interactions ``s -> d`` and ``m``
        those ``d -> s``, and ``c_k``, ``c'_k`` those of them whose revealed label is class
        ``k``, the columns are

        - ``log1p(n)``, ``log1p(m)``;
        - ``c_k / (n + 1)`` and ``c'_k / (m + 1)`` for every class ``k >= 1`` (e.g. whether ``d``
          rated ``s`` negatively before);
        - ``log1p(gap / time_unit)``, ``gap`` the time since the pair's latest interaction in
          either direction (``never`` time units when there is none);
        - ``log1p`` of the number of common partners: objects other than ``s`` and ``d`` that
          both have interacted with (in either role);
        - ``log1p`` of the pair's interactions among ``s``'s last ``recent`` events, then among
          ``d``'s (is the other end a *current* partner?).

        Parameters
        ----------
        sources, targets : array-like of shape (n,) of int
            Object codes of the two ends (``-1`` or a code the graph has not seen: no history).
        times : array-like of shape (n,) of float
            Query times.
        before : array-like of shape (n,) of int, default=None
            Number of (earliest) interactions each query sees, as in :meth:`history_features`.
        recent : int >= 1, default=10
            Events of each end in the last two columns.
        time_unit : float > 0, default=1.0
            Unit of the gap.
        never : float >= 0, default=1e4
            Gap, in ``time_unit``, of a pair without history.

        Returns
        -------
        features : ndarray of shape (n, n_pair_features), float64

        Notes
        -----
        Two indices (:mod:`sklearn_ubergnn.graphs._partners`): the interactions sorted by
        (source, target, row), and every object's distinct partners sorted by first meeting. They
        cover a first block of rows, rebuilt in ``O(H log H)`` once per 4,096 appended rows, and
        the rows appended since, rebuilt after each append; a query then costs a few binary
        searches, plus its two ends' partners for the common-partner count.

        Examples
        --------
        >>> g = DynamicInteractionGraph().append([0, 1, 0, 2], [1, 0, 1, 1], [1.0, 2.0, 3.0, 4.0])
        >>> f = g.pair_features([0, 0], [1, 2], [2.5, 9.0])
        >>> np.expm1(f[:, :2]).round()  # 0 -> 1 once by t=2.5; 0 and 2 never met
        array([[1., 1.],
               [0., 0.]])
        >>> np.expm1(f[:, 3]).round()  # object 1 met both 0 and 2 by t=9
        array([0., 1.])
        """
        src = np.asarray(sources, dtype=np.int64)
        dst = np.asarray(targets, dtype=np.int64)
        t = np.asarray(times, dtype=np.float64)
        if src.ndim != 1 or dst.shape != src.shape or t.shape != src.shape:
            raise ValueError(
                f"sources, targets and times must be 1-D and of one length; got shapes {src.shape}, "
                f"{dst.shape} and {t.shape}."
            )
        cut = self._query_cut(t, before, src.shape, "sources", recent, time_unit)
        c = self.n_classes
        starts = []
        for end in (src, dst):  # each end's `recent`-th last event: the pair's current meetings start there
            node = self._last_visible(end, cut)
            old = self.own_ancestor(node, int(recent) - 1)
            starts.append(np.where(node >= 0, np.where(old >= 0, old // 2, 0), cut))
        # one look-up of both directions (2 x m pairs), counted at the cut and at each end's start (3 cuts)
        m = len(src)
        cuts = np.stack([np.r_[cut, cut], np.r_[starts[0], starts[0]], np.r_[starts[1], starts[1]]])
        n_pair, labels, last = self._pair_history(np.r_[src, dst], np.r_[dst, src], cuts)
        n_pair, last = n_pair.reshape(3, 2, m), last[0].reshape(2, m)
        counts = [np.log1p(n_pair[0, k])[:, None] for k in (0, 1)]
        fractions = [labels[0, k * m: (k + 1) * m, 1:c] / (n_pair[0, k] + 1)[:, None] for k in (0, 1)]
        latest = last.max(axis=0)
        gap = np.full(m, never * time_unit)
        seen = latest >= 0
        gap[seen] = t[seen] - self._time[latest[seen]]
        common = common_partners([partners for _, partners in self._pair_blocks()], src, dst, cut)
        met = n_pair[0].sum(axis=0) - n_pair[1:].sum(axis=1)  # (2, m): from each end's start on
        return np.concatenate([*counts, *fractions, np.log1p(gap / time_unit)[:, None],
                               np.log1p(common)[:, None], np.log1p(met).T], axis=1)

    def _pair_blocks(self):
        """``[(PairIndex, PartnerIndex), ...]`` of consecutive blocks covering every interaction.

        A first block, rebuilt only when the rows appended after it outnumber ``_TAIL_ROWS`` (so
        ``O(H log H)`` once per that many rows), and a tail of the rows appended since, rebuilt
        after each append: a stream scoring every batch right after appending it pays for the tail
        only.
        """
        n = self._n
        node_obj, label = self._node_object, self._label

        def block(lo, hi):
            src, dst = node_obj[2 * lo: 2 * hi: 2], node_obj[2 * lo + 1: 2 * hi: 2]
            return (PairIndex(src, dst, label[lo:hi], self.n_classes, self._n_objects, first_row=lo),
                    PartnerIndex(src, dst, self._n_objects, first_row=lo))

        main = self._pair_main
        if main is None or main[0].end > n or n - main[0].end > _TAIL_ROWS:
            self._pair_main, self._pair_tail = block(0, n), None
            return [self._pair_main]
        if main[0].end == n:
            return [main]
        if self._pair_tail is None or self._pair_tail[0].end != n:
            self._pair_tail = block(main[0].end, n)
        return [main, self._pair_tail]

    def _pair_history(self, sources, targets, cut):
        """Per query: interactions ``source -> target`` among the first ``cut`` rows, their revealed
        label counts per class ``(..., n, max(n_classes, 1))`` and the latest such row (``-1``: none);
        ``cut`` of shape ``(n,)`` or ``(k, n)`` (``k`` cuts of each query, the pairs looked up once)."""
        count, labels, last = 0, 0.0, np.full(np.shape(cut), -1, dtype=np.int64)
        for pairs, _ in self._pair_blocks():
            c, lab, row = pairs.history(sources, targets, cut)
            count, labels, last = count + c, labels + lab, np.maximum(last, row)
        return np.asarray(count), np.asarray(labels), last

    def _counts_through(self, nodes):
        """``[events, revealed labels per class]`` of each node's role chain through it (0 for ``-1``)."""
        out = np.zeros((len(nodes), 1 + self.n_classes), dtype=np.float64)
        real = np.flatnonzero(nodes >= 0)
        out[real] = self._role_counts[nodes[real]]
        return out

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
        offsets = offsets_from_lengths(np.bincount(seg, minlength=B))
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
        state["_label"] = self._label[:n].copy()
        state["_node_object"] = self._node_object[: 2 * n].copy()
        state["_prev"] = self._prev[: 2 * n].copy()
        state["_stats"] = self._stats[: 2 * n].copy()
        state["_features"] = None if self._features is None else self._features[:n].copy()
        state["_last_node"] = self._last_node[:v].copy()
        state["_total"] = self._total[:v].copy()
        state["_role_prev"] = self._role_prev[: 2 * n].copy()
        state["_other_last"] = self._other_last[: 2 * n].copy()
        state["_role_counts"] = self._role_counts[: 2 * n].copy()
        state["_last_role"] = self._last_role[:v].copy()
        state["_by_object"] = state["_pair_main"] = state["_pair_tail"] = None
        return state

    def __setstate__(self, state):
        state.setdefault("_pair_main", None)  # graphs pickled before pair_features existed
        state.setdefault("_pair_tail", None)
        self.__dict__.update(state)


def _read_only(array):
    """A read-only view of ``array`` (the graph's storage is never written from outside)."""
    view = array.view()
    view.flags.writeable = False
    return view


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
