"""Data side of the dynamic estimators: the stream state, query sub-graphs, datasets, negatives.

A *query* asks about one object at one time ``t`` (optionally paired with a partner object, the
other end of a candidate interaction). Its sub-graph is the history of the object strictly
before ``t``: the object's latest node before ``t`` (``graph.target_node(obj, time=t)``), that
node's sibling (the partner of that interaction) and the ancestors within ``n_hops - 1`` further
hops, plus one **query node** appended last, which stands for the interaction being asked about
and has the two nodes of the object's latest interaction as parents, exactly as the node the
interaction would create if it were appended. The query node carries no event features and no
label, so a row's own features and label never reach its prediction. Everything here is
whole-array NumPy; the torch maths lives in :mod:`sklearn_ubergnn.nn`.

Node inputs (one row per position, ``N_STRUCT`` structural columns, then the event features
standardised with training statistics, then the revealed-label columns):

====  ======================================================================================
col   meaning
====  ======================================================================================
0     1 for the query node
1     role: 0 when the node is its interaction's source, 1 the target (query node: the
      query object's role in the queried interaction)
2     the node's object is the query's own object
3     the node's object is the query's partner (pair queries; DyGLib/TGN "recurrence")
4     ``log1p`` of how often the node's object occurs in this sub-graph
5     ``log1p`` of how often it occurs in the partner's sub-graph (DyGFormer's neighbour
      co-occurrence encoding)
6     ``log1p(dt / time_scale)`` with ``dt = t_query - t_node`` (time since that event)
7..   the node's object's history statistics up to the node's time (the query node: up to its
      object's latest interaction before the query time): ``log1p`` of its interactions as
      source and as target and, with labels, of its revealed labels given and received per
      class, then the fractions given / received per class (the graph's ``node_stats``), then
      the same fractions over the object's last ``RECENT`` interactions only (recent outcomes:
      behaviour drifts, and a few objects flip)
====  ======================================================================================
"""
import numpy as np
import torch

from .._arrays import offsets_from_lengths
from .._skorch import IndexDataset, TensorBatch
from .._vocabulary import GrowingVocabulary
from ..graphs import DynamicInteractionGraph

__all__ = [
    "ChronologicalSplit",
    "LinkSource",
    "QueryBuilder",
    "QuerySource",
    "StreamState",
    "auto_time_scale",
    "wide_inputs",
]

N_STRUCT = 7
RECENT = 10  # interactions of an object whose revealed labels are also summarised on their own


def auto_time_scale(times):
    """``time_scale="auto"``: the mean gap between consecutive rows of ``times`` (in time order), 1.0 when 0.

    The unit of the estimators' time differences and of their wide inputs' gaps.
    """
    ts = float(times[-1] - times[0]) / max(len(times) - 1, 1)
    return ts if ts > 0 else 1.0


def wide_inputs(graph, sources, targets, times, *, before=None, recent=RECENT, time_unit=1.0, pair=True,
                source_history=None):
    """The wide part's statistics of each query: both ends' history, then the pair's own (whole-array).

    :meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.history_features` of the source (then of
    the target, unless ``targets`` is None) and, with ``pair`` and a target, the
    :meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.pair_features` of the two, all with the
    same ``before``, ``recent`` and ``time_unit``. The estimators' wide inputs
    (:meth:`QueryBuilder.history_inputs`) and the benchmark's logistic regression read the same.

    ``source_history`` (shape ``(n, H)``), when given, stands for the source's columns: the
    ``history_features`` of ``sources`` with the same options, already known (a sampled negative
    shares them with its positive row: same source, same time). Each row's statistics depend on
    that row alone, so a row computed in any batch, or taken from such a block, is the same.

    Returns
    -------
    ndarray of shape (n, W), float64
        ``W`` = the graph's ``n_history_features`` per end, plus its ``n_pair_features``.
    """
    options = {"before": before, "recent": recent, "time_unit": time_unit}
    columns = [graph.history_features(sources, times, **options) if source_history is None else source_history]
    if targets is not None:
        columns.append(graph.history_features(targets, times, **options))
        if pair:
            columns.append(graph.pair_features(sources, targets, times, **options))
    return np.hstack(columns)


# ------------------------------------------------------------------------------------------------
# the stream state: the graph (the one store of the stream) and its growing vocabulary
# ------------------------------------------------------------------------------------------------
class StreamState:
    """The interaction history of a fitted dynamic estimator.

    The :class:`~sklearn_ubergnn.graphs.DynamicInteractionGraph` holds the stream (times,
    object codes, event features, revealed labels, object statistics); the
    :class:`~sklearn_ubergnn._vocabulary.GrowingVocabulary` turns raw ids into its codes, once
    per appended or queried row. Appends are amortised O(new); pickling keeps only the data.

    Parameters
    ----------
    n_features : int, default=0
        Number of event-feature columns (0: none).
    n_classes : int, default=0
        Number of label classes (0: no labels).
    """

    def __init__(self, n_features=0, n_classes=0):
        self.graph = DynamicInteractionGraph(n_classes)
        self.vocabulary = GrowingVocabulary()
        self.n_features = int(n_features)

    @property
    def n_classes(self):
        return self.graph.n_classes

    @property
    def n_stats(self):
        """Columns of the graph's ``node_stats``: as source, as target, labels given / received per class."""
        return self.graph.n_stats

    def __len__(self):
        return len(self.graph)

    def append(self, sources, targets, times, features=None, labels=None):
        """Append validated, time-ordered interactions (raw ids); returns their source and target codes.

        New objects get codes in order of first appearance, sources before targets row by row.
        """
        ids = np.empty(2 * len(sources), dtype=sources.dtype)
        ids[0::2], ids[1::2] = sources, targets
        codes = self.vocabulary.add(ids, input_name="X")
        self.graph.append(codes[0::2], codes[1::2], times, features if self.n_features else None, labels)
        return codes[0::2], codes[1::2]

    def encode(self, ids, input_name="X"):
        """Codes of validated raw ids; ``-1`` for objects the history has never seen."""
        return self.vocabulary.transform(ids, input_name=input_name)


# ------------------------------------------------------------------------------------------------
# query sub-graphs
# ------------------------------------------------------------------------------------------------
def _gather_segments(offsets, index):
    """Positions of segments ``index`` (in that order), new offsets and the shift of each segment."""
    starts = offsets[index]
    lengths = offsets[index + 1] - starts
    new_offsets = offsets_from_lengths(lengths)
    shift = starts - new_offsets[:-1]
    positions = np.arange(new_offsets[-1], dtype=np.int64) + np.repeat(shift, lengths)
    return positions, new_offsets, shift, lengths


class QueryBuilder:
    """Turn queries ``(object, time[, partner])`` into the flat tensors of a model's ``forward``.

    Parameters
    ----------
    state : StreamState
    n_hops, time_window, max_nodes : see the estimators
        ``n_hops`` counts edges from the query node (1: the object's latest interaction only);
        ``time_window`` is measured back from the query time; ``max_nodes`` caps the sub-graph
        including the query node (the most recent nodes are kept).
    time_scale : float
        Unit of ``dt`` for the time features and the time encoding.
    n_objects : int
        Objects with a learned embedding (graph codes ``0 .. n_objects - 1``); later objects
        share the "unknown" row ``n_objects``.
    feature_mean, feature_scale : ndarray of shape (F,) or None
        Standardisation of the event features.
    n_classes : int, default=0
        Number of label classes of the revealed-label columns (0: none).
    history_features : bool, default=False
        Whether batches carry the per-query history statistics (:meth:`history_inputs`) as the
        model's ``wide`` input.
    """

    history_features = False  # default of builders pickled before the wide part existed
    pair_statistics = False  # default of builders pickled before the pair statistics existed

    def __init__(self, state, *, n_hops, time_window, max_nodes, time_scale, n_objects,
                 feature_mean=None, feature_scale=None, n_classes=0, history_features=False):
        self.state = state
        self.n_hops = n_hops
        self.time_window = time_window
        self.max_nodes = max_nodes
        self.time_scale = float(time_scale)
        self.n_objects = int(n_objects)
        self.feature_mean = feature_mean
        self.feature_scale = feature_scale
        self.n_classes = int(n_classes)
        self.history_features = bool(history_features)
        # the history statistics of a query with two ends include the pair's own (pair_features)
        self.pair_statistics = True

    @property
    def n_inputs(self):
        """Number of numeric input columns per node."""
        n_label = self.n_classes + 1 if self.n_classes else 0
        return N_STRUCT + self.n_stat_inputs + self.state.n_features + n_label

    @property
    def n_stat_inputs(self):
        """Columns of object statistics: ``log1p`` of the counts, the label fractions, the recent ones."""
        return self.state.n_stats + 4 * self.state.n_classes

    def fields(self, objects, times, partners=None, roles=None, pair=False, before=None):
        """Flat tensors for ``S`` queries.

        Parameters
        ----------
        objects : ndarray of shape (S,), int64
            Codes of the query objects (:meth:`StreamState.encode`; ``-1``, an object never
            seen, gives a sub-graph of the query node alone).
        times : ndarray of shape (S,), float64
            Query times; only history strictly before them is used.
        partners : ndarray of shape (S,), int64, or None
            Codes of the partner of each query (None: no partner).
        roles : ndarray of shape (S,) or None
            0 when the query object is the source of the queried interaction, 1 the target.
        pair : bool, default=False
            Queries ``b`` and ``b + S // 2`` are the two ends of one interaction (co-occurrence
            counts are taken across them).
        before : ndarray of shape (S,), int64, or None
            Instead of the history strictly before ``times``: the first ``before[j]``
            interactions (e.g. a training row replaying a stream sees the earlier blocks).
            Time differences are still measured to ``times``.

        Returns
        -------
        dict of str to torch.Tensor
            ``objects (M,) long`` (embedding rows), ``features (M, n_inputs) float32``,
            ``offsets (S+1,) long``, ``delta_t (M,) float32`` (in ``time_scale`` units),
            ``depth (M,) long``, ``parents (M, 2) long``, ``level (M,) long``.
        """
        state, graph = self.state, self.state.graph
        n_q = len(objects)
        times = np.asarray(times, dtype=np.float64)
        codes = np.asarray(objects, dtype=np.int64)
        targets = np.full(n_q, -1, np.int64)
        if len(graph) and before is not None:
            targets = graph.target_node(codes, before=before)
        elif len(graph):
            # after the last interaction every node is earlier: the latest node is an O(log V) look-up;
            # otherwise the graph's time-indexed look-up (its index is rebuilt once per append)
            late = times > graph.last_time
            if late.any():
                targets[late] = graph.target_node(codes[late])
            if not late.all():
                targets[~late] = graph.target_node(codes[~late], time=times[~late])
        partner_codes = np.full(n_q, -1, np.int64) if partners is None else np.asarray(partners, np.int64)

        # 1. sub-graphs of the distinct target nodes (n_hops - 1 hops below the latest node)
        uniq, inverse = np.unique(targets, return_inverse=True)
        hops = None if self.n_hops is None else self.n_hops - 1
        cap = None if self.max_nodes is None else max(self.max_nodes - 2, 1)
        if len(graph):
            sub = graph.subgraphs(uniq, n_hops=hops, time_window=self.time_window, max_nodes=cap)
            s_off, s_node, s_depth, s_level, s_par = sub.offsets, sub.node, sub.depth, sub.level, sub.parents
        else:
            s_off = np.zeros(len(uniq) + 1, np.int64)
            s_node = s_depth = s_level = np.empty(0, np.int64)
            s_par = np.empty((0, 2), np.int64)
        pos, _, _, lengths = _gather_segments(s_off, inverse)
        has_v = (targets >= 0).astype(np.int64)

        # 2. new layout per query: [sub-graph ..., sibling (if any), query node]
        new_len = lengths + has_v + 1
        off = offsets_from_lengths(new_len)
        m = int(off[-1])
        # a node (and its parents, same sub-graph) moves from s_off[u] + local to off[j] + local
        move = np.repeat(off[:-1] - s_off[inverse], lengths)
        new_pos = pos + move
        sib_q = np.flatnonzero(has_v)
        sib_pos = off[sib_q] + lengths[sib_q]
        q_pos = off[1:] - 1
        node = np.full(m, -1, dtype=np.int64)
        depth = np.zeros(m, dtype=np.int64)
        level = np.zeros(m, dtype=np.int64)
        parents = np.full((m, 2), -1, dtype=np.int64)
        seg = np.repeat(np.arange(n_q), new_len)
        node[new_pos] = s_node[pos]
        depth[new_pos] = s_depth[pos] + 1
        level[new_pos] = s_level[pos]
        old_par = s_par[pos]
        parents[new_pos] = np.where(old_par >= 0, old_par + move[:, None], -1)
        node[sib_pos] = targets[sib_q] ^ 1
        depth[sib_pos] = 1
        v_pos = sib_pos - 1
        parents[q_pos[sib_q], 0] = v_pos
        parents[q_pos[sib_q], 1] = sib_pos
        level[q_pos] = 0
        level[q_pos[sib_q]] = level[v_pos] + 1

        # 3. time window measured from the query time
        t_node = np.where(node >= 0, graph.interaction_time[np.maximum(node, 0) // 2] if len(graph) else 0.0,
                          times[seg])
        dt = times[seg] - t_node
        if self.time_window is not None:
            keep = (node < 0) | (dt <= self.time_window)
            if not keep.all():
                new_index = np.cumsum(keep) - 1
                par_ok = (parents >= 0) & keep[np.maximum(parents, 0)]
                parents = np.where(par_ok, new_index[np.maximum(parents, 0)], -1)[keep]
                node, depth, level, seg, dt = node[keep], depth[keep], level[keep], seg[keep], dt[keep]
                off = offsets_from_lengths(np.bincount(seg, minlength=n_q))
                m = len(node)

        # 4. node inputs
        is_query = node < 0
        inter = np.maximum(node, 0) // 2
        query_role = np.zeros(n_q, np.int64) if roles is None else np.asarray(roles, dtype=np.int64)
        role = np.where(is_query, query_role[seg], node % 2)
        obj = graph.node_object[np.maximum(node, 0)] if len(graph) else np.zeros(m, np.int64)
        obj = np.where(is_query, codes[seg], obj)
        feats = np.zeros((m, self.n_inputs), dtype=np.float32)
        feats[:, 0] = is_query
        feats[:, 1] = role
        feats[:, 2] = (obj == codes[seg]) & (obj >= 0) | is_query
        feats[:, 3] = (obj == partner_codes[seg]) & (obj >= 0)
        n_codes = max(graph.n_objects, 1) + 1
        key = seg * n_codes + (obj + 1)  # unknown objects (-1) share key 0 of their segment
        uk, uinv, ucnt = np.unique(key, return_inverse=True, return_counts=True)
        own = np.where(obj >= 0, ucnt[uinv], 1)
        feats[:, 4] = np.log1p(own)
        if pair:
            half = n_q // 2
            other_seg = np.where(seg < half, seg + half, seg - half)
            okey = other_seg * n_codes + (obj + 1)
            at = np.minimum(np.searchsorted(uk, okey), len(uk) - 1)
            other = np.where((uk[at] == okey) & (obj >= 0), ucnt[at], 0)
            feats[:, 5] = np.log1p(other)
        feats[:, 6] = np.log1p(dt / self.time_scale)
        col = N_STRUCT
        if len(graph):
            # the object's history statistics: at the node's time, or for the query node at its latest node
            at = np.where(is_query, targets[seg], node)
            stats = np.where((at >= 0)[:, None], graph.node_stats[np.maximum(at, 0)], 0.0)
            recent = stats
            if state.n_classes:  # minus the totals RECENT interactions earlier (cumulative counts)
                old = graph.own_ancestor(at, RECENT)
                recent = stats - np.where((old >= 0)[:, None], graph.node_stats[np.maximum(old, 0)], 0.0)
        else:
            stats = recent = np.zeros((m, state.n_stats), np.float32)
        k, c = state.n_stats, state.n_classes
        feats[:, col: col + k] = np.log1p(stats)
        if c:
            for j, s in enumerate((stats, recent)):
                base = col + k + 2 * c * j
                feats[:, base: base + c] = s[:, 2: 2 + c] / (s[:, :1] + 1)
                feats[:, base + c: base + 2 * c] = s[:, 2 + c: 2 + 2 * c] / (s[:, 1:2] + 1)
        col += self.n_stat_inputs
        if state.n_features:
            real = ~is_query
            ev = graph.interaction_features[inter[real]]
            feats[real, col: col + state.n_features] = (ev - self.feature_mean) / self.feature_scale
            col += state.n_features
        if self.n_classes:
            lab = np.where(is_query, -1, graph.interaction_label[inter] if len(graph) else -1)
            known = lab >= 0
            feats[known, col] = 1.0
            feats[np.flatnonzero(known), col + 1 + lab[known]] = 1.0
        emb = np.where((obj >= 0) & (obj < self.n_objects), obj, self.n_objects)
        return {
            "objects": torch.from_numpy(emb.astype(np.int64)),
            "features": torch.from_numpy(feats),
            "offsets": torch.from_numpy(off),
            "delta_t": torch.from_numpy((dt / self.time_scale).astype(np.float32)),
            "depth": torch.from_numpy(depth),
            "parents": torch.from_numpy(np.ascontiguousarray(parents)),
            "level": torch.from_numpy(level),
        }

    def history_inputs(self, sources, targets, times, before=None, source_history=None):
        """History statistics of each query's ends before its time (the wide inputs), whole-array.

        :meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.history_features` of the source
        (then of the target, unless ``targets`` is None, and, with ``pair_statistics``, the
        :meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.pair_features` of the two) at the
        query time, with the last ``RECENT`` events per role and gaps in ``time_scale`` units:
        only interactions strictly before the query (or its first ``before`` interactions, see
        :meth:`fields`) and the labels revealed in the history, never the row's own.
        ``source_history``: the source's columns when already known, i.e.
        ``history_inputs(sources, None, times, before)`` (see :func:`wide_inputs`); the result is
        the same, bit for bit.

        Returns
        -------
        ndarray of shape (n, W), float32
            :func:`wide_inputs`, in float32.
        """
        graph = self.state.graph
        return wide_inputs(graph, sources, targets, times, before=before, time_unit=self.time_scale,
                           pair=self.pair_statistics, source_history=source_history).astype(np.float32)

    def pair_fields(self, sources, targets, times, before=None):
        """Tensors for interactions ``(source, target, time)``: segments 0..B-1 the sources,
        B..2B-1 the targets, each paired with the other end (``before`` as in :meth:`fields`)."""
        objects = np.concatenate([sources, targets])
        partners = np.concatenate([targets, sources])
        roles = np.repeat([0, 1], len(sources))
        both = None if before is None else np.concatenate([before, before])
        return self.fields(objects, np.concatenate([times, times]), partners, roles, pair=True, before=both)


# ------------------------------------------------------------------------------------------------
# batch sources of the one dataset class (IndexDataset): rows in time order, codes throughout
# ------------------------------------------------------------------------------------------------
class QuerySource:
    """Query rows ``(source, target, time)`` of object codes: the batches of a model's ``forward``.

    A batch source of :class:`~sklearn_ubergnn._skorch.IndexDataset`: ``batch(index)`` builds
    ``(TensorBatch, y)`` with :meth:`QueryBuilder.pair_fields` (``pair``: the row is the
    interaction, both ends' sub-graphs) or :meth:`QueryBuilder.fields` (the source object alone),
    plus ``wide`` (:meth:`QueryBuilder.history_inputs` of the same ends) when the builder has
    ``history_features``: the rows of ``wide_rows`` when given (a fit computes them once for its
    training rows, and an epoch then only reads them), else computed per batch.
    Used for inference (``y`` None) and for classification training (``y`` the class codes).

    Parameters
    ----------
    builder : QueryBuilder
    sources : ndarray of shape (n,), int64
        Object codes (``-1``: never seen).
    targets : ndarray of shape (n,), int64, or None
        Codes of the other ends (None: source-object queries without a partner).
    times : ndarray of shape (n,), float64
    y : ndarray of shape (n,), int64, or None, default=None
        Class codes (training) or None (inference).
    pair : bool, default=True
    before : ndarray of shape (n,), int64, or None, default=None
        The number of (earliest) interactions of the history each row sees, instead of those
        strictly before its time (:meth:`QueryBuilder.fields`); None: the latter.
    wide_rows : ndarray of shape (n, W), float32, or None, default=None
        The rows' :meth:`QueryBuilder.history_inputs` (of the ends ``batch`` reads, with
        ``before``), computed on the history as it is while the source is used; :meth:`subset`
        keeps its rows. None: computed per batch.
    """

    def __init__(self, builder, sources, targets, times, y=None, *, pair=True, before=None, wide_rows=None):
        self.builder = builder
        self.sources, self.targets, self.times, self.y = sources, targets, times, y
        self.pair = pair
        self.before = before
        self.wide_rows = wide_rows

    def __len__(self):
        return len(self.times)

    def subset(self, index, *, fixed=False):
        """The rows ``index`` as a source of the same kind (``fixed`` is for :class:`LinkSource`)."""
        return QuerySource(self.builder, self.sources[index],
                           None if self.targets is None else self.targets[index], self.times[index],
                           None if self.y is None else self.y[index], pair=self.pair,
                           before=None if self.before is None else self.before[index],
                           wide_rows=None if self.wide_rows is None else self.wide_rows[index])

    def batch(self, index):
        index = np.asarray(index, dtype=np.int64)
        sources, times = self.sources[index], self.times[index]
        before = None if self.before is None else self.before[index]
        if self.pair:
            fields = self.builder.pair_fields(sources, self.targets[index], times, before)
        else:
            partners = None if self.targets is None else self.targets[index]
            fields = self.builder.fields(sources, times, partners, np.zeros(len(index), np.int64), before=before)
        if self.builder.history_features:
            if self.wide_rows is not None:
                wide = self.wide_rows[index]
            else:
                wide = self.builder.history_inputs(sources, self.targets[index] if self.pair else None, times, before)
            fields["wide"] = torch.from_numpy(wide)
        y = None if self.y is None else torch.from_numpy(self.y[index])
        return TensorBatch(fields, len(index)), y


class LinkSource:
    """Positive interactions plus sampled negatives, for link-prediction training (object codes).

    Each positive ``(s, d, t)`` gets ``n_negatives`` negatives ``(s, d', t)``: ``d'`` is, with
    probability ``historical_fraction``, the target of a uniformly drawn interaction strictly
    before ``t`` (a historical destination, so popular objects are also negatives; read as a
    code from the graph), otherwise a uniform draw from ``pool``. Training sources draw new
    negatives every batch (a seeded NumPy generator); validation sources (``fixed=True``) draw
    them once. A batch source of :class:`~sklearn_ubergnn._skorch.IndexDataset`.

    Batches carry ``wide`` (:meth:`QueryBuilder.history_inputs` of every pair) when the builder
    has ``history_features``. The history does not change while a source is used (a fit), so
    these statistics are computed once, when the source is made: each row's (``wide_rows``),
    its source's alone (``source_rows``, which its negatives share: same source, same time) and
    a fixed source's negatives'; :meth:`subset` keeps its rows of them. A training batch then
    computes only what its fresh negatives' destinations bring (their history and the pair's),
    and the numbers are those of computing every pair in the batch.

    Parameters
    ----------
    builder : QueryBuilder
    sources, targets : ndarray of shape (n,), int64
        Object codes of the positive rows.
    times : ndarray of shape (n,), float64
    pool : ndarray, int64
        Codes of the candidate random destinations.
    n_negatives : int
    historical_fraction : float
    seed : int
    fixed : bool, default=False
    wide : bool or None, default=None
        Whether batches carry ``wide``; None: when the builder has ``history_features`` (False for
        a model without a wide part, e.g. the classifier's link pre-training).
    source_rows, wide_rows : ndarray of shape (n, H) and (n, W), float32, or None, default=None
        The rows' ``history_inputs(sources, None, times)`` and ``history_inputs(sources, targets,
        times)`` when already computed (:meth:`subset` passes its rows); None: computed here when
        batches carry ``wide``.
    """

    def __init__(self, builder, sources, targets, times, pool, *, n_negatives, historical_fraction, seed,
                 fixed=False, wide=None, source_rows=None, wide_rows=None):
        self.builder = builder
        self.sources, self.targets, self.times = sources, targets, times
        self.pool = pool
        self.n_negatives = int(n_negatives)
        self.historical_fraction = float(historical_fraction)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.fixed = fixed
        self.wide = builder.history_features if wide is None else bool(wide)
        self.negatives = self._draw(np.arange(len(times)), np.random.default_rng(self.seed + 1)) if fixed else None
        self.source_rows = self.wide_rows = self.negative_rows = None
        if self.wide:
            if source_rows is None:
                source_rows = builder.history_inputs(sources, None, times)
            if wide_rows is None:
                wide_rows = builder.history_inputs(sources, targets, times, source_history=source_rows)
            self.source_rows, self.wide_rows = source_rows, wide_rows
            if fixed:  # (n, n_negatives, W)
                rows = np.arange(len(times))
                self.negative_rows = self._negative_wide(rows, self.negatives).reshape(
                    len(rows), self.n_negatives, wide_rows.shape[1])

    def __len__(self):
        return len(self.times)

    def _draw(self, index, rng):
        k = self.n_negatives
        t = np.repeat(self.times[index], k)
        neg = self.pool[rng.integers(0, len(self.pool), size=len(t))]
        hist = rng.random(len(t)) < self.historical_fraction
        graph = self.builder.state.graph
        n_before = graph.n_before(t[hist])
        ok = n_before > 0
        pick = (rng.random(int(hist.sum())) * n_before).astype(np.int64)
        neg[np.flatnonzero(hist)[ok]] = graph.node_object[2 * pick[ok] + 1]  # that interaction's target
        return neg.reshape(len(index), k)

    def _negative_wide(self, index, negatives):
        """``history_inputs`` of the negatives ``(len(index), k)`` of the rows ``index``, row after row:
        their source's columns are the rows' ``source_rows``, the rest is computed."""
        k = self.n_negatives
        return self.builder.history_inputs(np.repeat(self.sources[index], k), negatives.ravel(),
                                           np.repeat(self.times[index], k),
                                           source_history=np.repeat(self.source_rows[index], k, axis=0))

    def subset(self, index, *, fixed):
        rows = {"source_rows": self.source_rows[index], "wide_rows": self.wide_rows[index]} if self.wide else {}
        return LinkSource(self.builder, self.sources[index], self.targets[index], self.times[index], self.pool,
                          n_negatives=self.n_negatives, historical_fraction=self.historical_fraction,
                          seed=self.seed + 7, fixed=fixed, wide=self.wide, **rows)

    def batch(self, index):
        index = np.asarray(index, dtype=np.int64)
        negatives = self._negatives(index)
        src, dst, t, y = self._pairs(index, negatives)
        fields = self.builder.pair_fields(src, dst, t)
        if self.wide:
            fields["wide"] = torch.from_numpy(self._wide(index, negatives))
        return TensorBatch(fields, len(src)), torch.from_numpy(y)

    def pairs(self, index):
        """``(sources, targets, times, y)`` of the rows ``index`` and their negatives, as :meth:`batch`
        lays them out (the positives, then the negatives of each row in turn)."""
        index = np.asarray(index, dtype=np.int64)
        return self._pairs(index, self._negatives(index))

    def history_inputs(self, index):
        """:meth:`QueryBuilder.history_inputs` of :meth:`pairs` ``(index)``, from the source's own rows
        (a fixed source with ``wide``: its negatives are drawn once), ``(len(index) * (1 + k), W)``."""
        if not (self.fixed and self.wide):
            raise ValueError("history_inputs(index) reads a fixed source's statistics; this source draws "
                             "new negatives per batch or carries no wide inputs.")
        return self._wide(np.asarray(index, dtype=np.int64), self.negatives[index])

    def _negatives(self, index):
        return self.negatives[index] if self.fixed else self._draw(index, self.rng)

    def _pairs(self, index, negatives):
        k = self.n_negatives
        src = np.concatenate([self.sources[index], np.repeat(self.sources[index], k)])
        dst = np.concatenate([self.targets[index], negatives.ravel()])
        t = np.concatenate([self.times[index], np.repeat(self.times[index], k)])
        y = np.concatenate([np.ones(len(index)), np.zeros(len(index) * k)]).astype(np.float32)
        return src, dst, t, y

    def _wide(self, index, negatives):
        if self.fixed:
            rest = self.negative_rows[index].reshape(len(index) * self.n_negatives, self.wide_rows.shape[1])
        else:
            rest = self._negative_wide(index, negatives)
        return np.concatenate([self.wide_rows[index], rest])


class ChronologicalSplit:
    """skorch ``train_split``: the last ``fraction`` of the rows (in time order) validate.

    Splits an :class:`~sklearn_ubergnn._skorch.IndexDataset` of a :class:`QuerySource` or
    :class:`LinkSource`, whose rows are in time order, so this is a split at one time: the model
    is selected on its predictions of the future, as in the evaluation protocol. The validation
    rows of a :class:`LinkSource` keep one fixed draw of negatives.
    """

    def __init__(self, fraction):
        self.fraction = float(fraction)

    def n_train(self, n):
        """How many of ``n`` rows train (the first ones); ``n`` when the split would leave a side empty."""
        n_valid = round(n * self.fraction)
        return n if n_valid < 1 or n_valid >= n else n - n_valid

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        cut, source = self.n_train(n), dataset.source
        if cut == n:
            return dataset, None
        return (IndexDataset(source.subset(np.arange(cut), fixed=False)),
                IndexDataset(source.subset(np.arange(cut, n), fixed=True)))
