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
      class, then the fractions given / received per class (``StreamState.node_stats``), then
      the same fractions over the object's last ``RECENT`` interactions only (recent outcomes:
      behaviour drifts, and a few objects flip)
====  ======================================================================================
"""
import numpy as np
import torch

from .._skorch import SampleIndex, TensorBatch
from ..graphs import DynamicInteractionGraph

__all__ = [
    "ChronologicalSplit",
    "ClassificationDataset",
    "LinkDataset",
    "QueryBuilder",
    "StreamState",
]

N_STRUCT = 7
RECENT = 10  # interactions of an object whose revealed labels are also summarised on their own


# ------------------------------------------------------------------------------------------------
# the stream state: the graph plus per-interaction arrays the encoders need
# ------------------------------------------------------------------------------------------------
class _Growing:
    """A 1-D or 2-D array that grows by capacity doubling (amortised O(new) appends)."""

    def __init__(self, dtype, width=None, fill=0):
        self.dtype, self.width, self.fill = dtype, width, fill
        self.n = 0
        self.data = np.empty((0,) if width is None else (0, width), dtype=dtype)

    def append(self, values):
        values = np.asarray(values, dtype=self.dtype)
        need = self.n + len(values)
        if need > len(self.data):
            cap = max(need, 2 * len(self.data), 16)
            data = np.full((cap,) + self.data.shape[1:], self.fill, dtype=self.dtype)
            data[: self.n] = self.data[: self.n]
            self.data = data
        self.data[self.n: need] = values
        self.n = need

    @property
    def view(self):
        return self.data[: self.n]

    def __getstate__(self):
        state = self.__dict__.copy()
        state["data"] = self.data[: self.n].copy()
        return state


class StreamState:
    """The interaction history of a fitted dynamic estimator.

    Holds the :class:`~sklearn_ubergnn.graphs.DynamicInteractionGraph` (structure) and, aligned
    with its interactions, the times, the object codes of both ends, the event features and
    the revealed labels (``-1`` = not revealed). Appends are amortised O(new); pickling keeps
    only the data.

    Parameters
    ----------
    n_features : int
        Number of event-feature columns (0: none).
    n_classes : int, default=0
        Number of label classes (0: no labels).
    """

    def __init__(self, n_features=0, n_classes=0):
        self.graph = DynamicInteractionGraph()
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)
        self.time = _Growing(np.float64)
        self.source = _Growing(np.int64)
        self.target = _Growing(np.int64)
        self.label = _Growing(np.int64, fill=-1)
        self.features = _Growing(np.float32, width=self.n_features) if n_features else None
        k = self.n_stats
        self.node_stats = _Growing(np.float32, width=k)  # 2 rows per interaction, node order
        self._total = _Growing(np.float64, width=k)  # per object: all its nodes so far

    @property
    def n_stats(self):
        """Columns of :attr:`node_stats`: as source, as target, revealed labels given / received per class."""
        return 2 + 2 * self.n_classes

    def __len__(self):
        return self.time.n

    def append(self, sources, targets, times, features=None, labels=None):
        """Append validated, time-ordered interactions; returns the range of their indices."""
        start = len(self)
        self.graph.append(sources, targets, times)
        self.time.append(times)
        self.source.append(self.graph.encode(sources))
        self.target.append(self.graph.encode(targets))
        self.label.append(np.full(len(times), -1) if labels is None else labels)
        if self.features is not None:
            self.features.append(features)
        self._update_stats(start)
        return start, len(self)

    def _update_stats(self, start):
        """Cumulative statistics of every new node's object up to and including the node's time.

        ``node_stats[n]`` counts the interactions of node ``n``'s object with a time ``<= t_n``:
        as source, as target, and per class the revealed labels of those it gave (as source)
        and received (as target). Vectorised: nodes are grouped by object and time; ties share
        one value (the count through the end of their run). Per-object running totals carry the
        counts across appends (every earlier node has a time ``<=`` the new ones). A node tied
        with nodes of a *later* append keeps the count of its own append.
        """
        n = len(self) - start
        c = self.n_classes
        obj = np.empty(2 * n, dtype=np.int64)
        obj[0::2], obj[1::2] = self.source.view[start:], self.target.view[start:]
        t = np.repeat(self.time.view[start:], 2)
        role = np.tile(np.array([0, 1]), n)
        vals = np.zeros((2 * n, self.n_stats), dtype=np.float64)
        vals[np.arange(2 * n), role] = 1.0
        if c:
            lab = np.repeat(self.label.view[start:], 2)
            known = np.flatnonzero(lab >= 0)
            vals[known, 2 + role[known] * c + lab[known]] = 1.0
        n_obj = self.graph.n_objects
        if n_obj > self._total.n:
            grow = n_obj - self._total.n
            self._total.append(np.zeros((grow, self.n_stats)))
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
        total = self._total.data
        stats = np.empty_like(sv)
        stats[order] = total[so] + run_total
        self.node_stats.append(stats.astype(np.float32))
        # carry the totals: one update per object of this append (its group's last node)
        end_of_group = np.ones(2 * n, dtype=bool)
        end_of_group[:-1] = new_group[1:]
        last = np.flatnonzero(end_of_group)
        total[so[last]] += incl[last]

    def n_before(self, times):
        """Number of interactions strictly before each time."""
        return np.searchsorted(self.time.view, times, side="left")


# ------------------------------------------------------------------------------------------------
# query sub-graphs
# ------------------------------------------------------------------------------------------------
def _gather_segments(offsets, index):
    """Positions of segments ``index`` (in that order), new offsets and the shift of each segment."""
    starts = offsets[index]
    lengths = offsets[index + 1] - starts
    new_offsets = np.zeros(len(index) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
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
    """

    def __init__(self, state, *, n_hops, time_window, max_nodes, time_scale, n_objects,
                 feature_mean=None, feature_scale=None, n_classes=0):
        self.state = state
        self.n_hops = n_hops
        self.time_window = time_window
        self.max_nodes = max_nodes
        self.time_scale = float(time_scale)
        self.n_objects = int(n_objects)
        self.feature_mean = feature_mean
        self.feature_scale = feature_scale
        self.n_classes = int(n_classes)

    @property
    def n_inputs(self):
        """Number of numeric input columns per node."""
        n_label = self.n_classes + 1 if self.n_classes else 0
        return N_STRUCT + self.n_stat_inputs + self.state.n_features + n_label

    @property
    def n_stat_inputs(self):
        """Columns of object statistics: ``log1p`` of the counts, the label fractions, the recent ones."""
        return self.state.n_stats + 4 * self.state.n_classes

    def fields(self, objects, times, partners=None, roles=None, pair=False):
        """Flat tensors for ``S`` queries.

        Parameters
        ----------
        objects : ndarray of shape (S,)
            Raw ids of the query objects (unknown ids give a sub-graph of the query node alone).
        times : ndarray of shape (S,), float64
            Query times; only history strictly before them is used.
        partners : ndarray of shape (S,) or None
            Raw ids of the partner of each query (None: no partner).
        roles : ndarray of shape (S,) or None
            0 when the query object is the source of the queried interaction, 1 the target.
        pair : bool, default=False
            Queries ``b`` and ``b + S // 2`` are the two ends of one interaction (co-occurrence
            counts are taken across them).

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
        codes = graph.encode(objects)
        targets = np.full(n_q, -1, np.int64)
        if len(graph):
            # after the last interaction every node is earlier: the latest node is an O(log V) look-up;
            # otherwise the graph's time-indexed look-up (its index is rebuilt once per append)
            late = times > graph.last_time
            if late.any():
                targets[late] = graph.target_node(objects[late])
            if not late.all():
                targets[~late] = graph.target_node(objects[~late], time=times[~late])
        partner_codes = np.full(n_q, -1, np.int64) if partners is None else graph.encode(partners)

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
        off = np.zeros(n_q + 1, dtype=np.int64)
        np.cumsum(new_len, out=off[1:])
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
        t_node = np.where(node >= 0, state.time.view[np.maximum(node, 0) // 2] if len(state) else 0.0,
                          times[seg])
        dt = times[seg] - t_node
        if self.time_window is not None:
            keep = (node < 0) | (dt <= self.time_window)
            if not keep.all():
                new_index = np.cumsum(keep) - 1
                par_ok = (parents >= 0) & keep[np.maximum(parents, 0)]
                parents = np.where(par_ok, new_index[np.maximum(parents, 0)], -1)[keep]
                node, depth, level, seg, dt = node[keep], depth[keep], level[keep], seg[keep], dt[keep]
                off = np.zeros(n_q + 1, dtype=np.int64)
                np.cumsum(np.bincount(seg, minlength=n_q), out=off[1:])
                m = len(node)

        # 4. node inputs
        is_query = node < 0
        inter = np.maximum(node, 0) // 2
        query_role = np.zeros(n_q, np.int64) if roles is None else np.asarray(roles, dtype=np.int64)
        role = np.where(is_query, query_role[seg], node % 2)
        if len(state):
            obj = np.where(node % 2 == 0, state.source.view[inter], state.target.view[inter])
        else:
            obj = np.zeros(m, np.int64)
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
        if len(state):
            # the object's history statistics: at the node's time, or for the query node at its latest node
            at = np.where(is_query, targets[seg], node)
            stats = np.where((at >= 0)[:, None], state.node_stats.view[np.maximum(at, 0)], 0.0)
            recent = stats
            if state.n_classes:  # minus the totals RECENT interactions earlier (cumulative counts)
                old = state.graph.own_ancestor(at, RECENT)
                recent = stats - np.where((old >= 0)[:, None], state.node_stats.view[np.maximum(old, 0)], 0.0)
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
            ev = state.features.view[inter[real]]
            feats[real, col: col + state.n_features] = (ev - self.feature_mean) / self.feature_scale
            col += state.n_features
        if self.n_classes:
            lab = np.where(is_query, -1, state.label.view[inter] if len(state) else -1)
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

    def pair_fields(self, sources, targets, times):
        """Tensors for interactions ``(source, target, time)``: segments 0..B-1 the sources,
        B..2B-1 the targets, each paired with the other end."""
        objects = np.concatenate([sources, targets])
        partners = np.concatenate([targets, sources])
        roles = np.repeat([0, 1], len(sources))
        return self.fields(objects, np.concatenate([times, times]), partners, roles, pair=True)


# ------------------------------------------------------------------------------------------------
# datasets (skorch): indexing returns the positions, the collate function builds the batch
# ------------------------------------------------------------------------------------------------
class _RowsDataset(torch.utils.data.Dataset):
    """Rows of a training table; ``batch(index)`` builds ``(TensorBatch, y)``.

    ``dataset[i]`` and ``dataset.__getitems__(indices)`` return a
    :class:`~sklearn_ubergnn._skorch.SampleIndex`, so
    :func:`~sklearn_ubergnn._skorch.collate_sessions` (which calls ``dataset.batch``) collates.
    """

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return SampleIndex(self, np.array([i], dtype=np.int64))

    def __getitems__(self, indices):
        return SampleIndex(self, np.asarray(indices, dtype=np.int64))


class LinkDataset(_RowsDataset):
    """Positive interactions plus sampled negatives, for link-prediction training.

    Each positive ``(s, d, t)`` gets ``n_negatives`` negatives ``(s, d', t)``: ``d'`` is, with
    probability ``historical_fraction``, the target of a uniformly drawn interaction strictly
    before ``t`` (a historical destination, so popular objects are also negatives), otherwise a
    uniform draw from ``pool``. Training sets draw new negatives every batch (a seeded NumPy
    generator); validation sets (``fixed=True``) draw them once.

    Parameters
    ----------
    builder : QueryBuilder
    sources, targets, times : ndarray of shape (n,)
        The positive rows (raw ids).
    pool : ndarray
        Candidate random destinations (raw ids).
    n_negatives : int
    historical_fraction : float
    seed : int
    fixed : bool, default=False
    """

    def __init__(self, builder, sources, targets, times, pool, *, n_negatives, historical_fraction, seed,
                 fixed=False):
        self.builder = builder
        self.sources, self.targets, self.times = sources, targets, times
        self.rows = np.arange(len(sources))
        self.pool = pool
        self.n_negatives = int(n_negatives)
        self.historical_fraction = float(historical_fraction)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.fixed = fixed
        self.negatives = self._draw(self.rows, np.random.default_rng(self.seed + 1)) if fixed else None

    def _draw(self, index, rng):
        k = self.n_negatives
        t = np.repeat(self.times[index], k)
        neg = self.pool[rng.integers(0, len(self.pool), size=len(t))]
        hist = rng.random(len(t)) < self.historical_fraction
        n_before = self.builder.state.n_before(t[hist])
        ok = n_before > 0
        pick = (rng.random(int(hist.sum())) * n_before).astype(np.int64)
        state = self.builder.state
        hist_codes = state.target.view[pick[ok]]
        objects = state.graph.objects
        where = np.flatnonzero(hist)[ok]
        neg[where] = objects[hist_codes]
        return neg.reshape(len(index), k)

    def subset(self, index, *, fixed):
        return LinkDataset(self.builder, self.sources[index], self.targets[index], self.times[index],
                           self.pool,
                           n_negatives=self.n_negatives, historical_fraction=self.historical_fraction,
                           seed=self.seed + 7, fixed=fixed)

    def batch(self, index):
        index = np.asarray(index, dtype=np.int64)
        neg = self.negatives[index] if self.fixed else self._draw(index, self.rng)
        k = self.n_negatives
        src = np.concatenate([self.sources[index], np.repeat(self.sources[index], k)])
        dst = np.concatenate([self.targets[index], neg.ravel()])
        t = np.concatenate([self.times[index], np.repeat(self.times[index], k)])
        y = np.concatenate([np.ones(len(index)), np.zeros(len(index) * k)]).astype(np.float32)
        fields = self.builder.pair_fields(src, dst, t)
        return TensorBatch(fields, len(src)), torch.from_numpy(y)


class ClassificationDataset(_RowsDataset):
    """Labelled rows for classification: one query per row (``pair``: both ends of the interaction).

    Parameters
    ----------
    builder : QueryBuilder
    sources, targets, times : ndarray of shape (n,)
    y : ndarray of shape (n,), int64
        Class codes.
    pair : bool
        True: the row is the interaction (source and target sub-graphs); False: the source
        object alone.
    """

    def __init__(self, builder, sources, targets, times, y, *, pair):
        self.builder = builder
        self.sources, self.targets, self.times, self.y = sources, targets, times, y
        self.rows = np.arange(len(sources))
        self.pair = pair

    def subset(self, index, *, fixed):
        return ClassificationDataset(self.builder, self.sources[index], self.targets[index],
                                     self.times[index],
                                     None if self.y is None else self.y[index], pair=self.pair)

    def batch(self, index):
        index = np.asarray(index, dtype=np.int64)
        fields = query_fields(self.builder, self.sources[index], self.targets[index], self.times[index],
                              pair=self.pair)
        y = None if self.y is None else torch.from_numpy(self.y[index])
        return TensorBatch(fields, len(index)), y


def query_fields(builder, sources, targets, times, *, pair):
    """Fields of interaction queries (``pair=True``) or source-object queries (``pair=False``)."""
    if pair:
        return builder.pair_fields(sources, targets, times)
    return builder.fields(sources, times, targets, np.zeros(len(sources), np.int64), pair=False)


class ChronologicalSplit:
    """skorch ``train_split``: the last ``fraction`` of the rows (in time order) validate.

    The rows of the datasets above are in time order, so this is a split at one time: the model
    is selected on its predictions of the future, as in the evaluation protocol.
    """

    def __init__(self, fraction):
        self.fraction = float(fraction)

    def __call__(self, dataset, y=None, **fit_params):
        n = len(dataset)
        n_valid = int(round(n * self.fraction))
        if n_valid < 1 or n_valid >= n:
            return dataset, None
        cut = n - n_valid
        return dataset.subset(np.arange(cut), fixed=False), dataset.subset(np.arange(cut, n), fixed=True)
