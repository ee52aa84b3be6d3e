"""A training-free link-prediction baseline: pair recency, common partners, then destination popularity."""
from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._vocabulary import ItemVocabulary
from ..graphs._partners import PartnerIndex, common_partners
from ._memory import _InteractionMemory

__all__ = ["RecencyHeuristicBaseline"]


def _decayed_running_count(starts, gaps, rate):
    """``y[j] = 1 + exp(-rate * gaps[j]) * y[j - 1]`` within groups (``y = 1`` where ``starts``).

    The decayed number of events of a group up to and including event ``j``:
    ``sum_{i <= j} exp(-rate (t_j - t_i))``. Solved as a prefix scan of the affine maps
    ``x -> a_j x + 1`` (Hillis-Steele, ``ceil(log2(longest group))`` whole-array steps); products of
    factors in ``[0, 1]`` and sums of positive terms, so no overflow however long the stream.
    """
    a = np.where(starts, 0.0, np.exp(-rate * gaps))
    y = np.ones(len(a))
    shift = 1
    while shift < len(a) and a.any():
        y = y + np.r_[np.zeros(shift), a[shift:] * y[:-shift]]
        a = np.r_[np.zeros(shift), a[shift:] * a[:-shift]]
        shift *= 2
    return y


class _EventIndex:
    """Events grouped by an integer key and sorted by time (``order``), with their decayed running counts.

    ``last_before(keys, times)`` finds, per query, the last event of the key's group strictly
    before the time, with one ``searchsorted`` over composite ``(group, time rank)`` codes.
    """

    def __init__(self, keys, times, distinct_times, rate):
        self.order = order = np.lexsort((times, keys))
        keys, self.times = keys[order], times[order]
        self.groups, group = np.unique(keys, return_inverse=True)
        self.stride = np.int64(len(distinct_times) + 1)
        self.distinct_times = distinct_times
        self.composite = group.astype(np.int64) * self.stride + np.searchsorted(distinct_times, self.times)
        starts = np.r_[True, keys[1:] != keys[:-1]]
        self.counts = _decayed_running_count(starts, np.r_[0.0, np.diff(self.times)], rate)
        self.rate = rate

    def decayed_count(self, keys, times, known):
        """``sum exp(-rate (t - t_i))`` over the group's events ``t_i < t``; 0 for unknown keys."""
        group = np.minimum(np.searchsorted(self.groups, keys), len(self.groups) - 1)
        found = known & (self.groups[group] == keys)
        query = group * self.stride + np.searchsorted(self.distinct_times, times, side="left")
        last = np.searchsorted(self.composite, query, side="left") - 1
        found &= (last >= 0) & (self.composite[np.maximum(last, 0)] // self.stride == group)
        last = np.where(found, last, 0)
        return np.where(found, self.counts[last] * np.exp(-self.rate * (times - self.times[last])), 0.0)


class RecencyHeuristicBaseline(_InteractionMemory):
    """Score a link by the pair's recency-weighted past, else common partners, else popularity.

    A training-free baseline of dynamic link prediction, in the family of EdgeBank (memorised
    pairs) and TGB's PopTrack (recently popular destinations). For a query row
    ``(s, d, t)`` it reads only interactions strictly before ``t``, with a half-life ``h``:

    - ``r``: the decayed count of past interactions between ``s`` and ``d`` in either direction,
      :math:`r = \\sum_i 2^{-(t - t_i) / h}`;
    - ``c``: the number of common partners, objects other than ``s`` and ``d`` that have
      interacted (either direction) with both;
    - ``p``: the decayed count of past interactions received by ``d`` (its recent popularity).

    The score backs off from the most specific evidence to the least, each level only ordering
    what the level above leaves tied:

    .. math::

        \\text{score} = \\begin{cases}
        \\tfrac23 + \\tfrac13 f(r) & r > 0 \\\\
        \\tfrac13 + \\tfrac13 f\\big(c + f(p)\\big) & r = 0,\\ c > 0 \\\\
        \\tfrac13 f(p) & \\text{otherwise}
        \\end{cases}
        \\qquad f(x) = \\frac{x}{1 + x}.

    So a pair that has met always outranks one that has not, a pair with more common partners
    outranks one with fewer, and popularity breaks the remaining ties. The score lies in
    ``[0, 1)`` and only its order means anything (AP, ROC-AUC and MRR read nothing else); it is
    not a calibrated probability. There are no weights to tune.

    Parameters
    ----------
    half_life : float > 0 or "auto", default="auto"
        Time after which a past interaction counts half, in the units of ``time_col``.
        ``"auto"``: the median gap between consecutive interactions of the same pair (either
        direction, gaps of 0 left out) in the memorised history, so the decay follows the pace of
        repeated contacts; the time span of the history when no pair repeats, 1.0 when that is 0.
        Resolved again by every ``fit`` and ``partial_fit`` (``half_life_``).
    source_col, target_col, time_col : str, default="source", "target", "time"
        Column names of ``X``.

    Attributes
    ----------
    vocabulary_ : ItemVocabulary
        The objects of the history (sorted raw ids; unseen ids encode to -1).
    half_life_ : float
        The half-life used.
    n_interactions_ : int
        Interactions memorised (by ``fit`` and every ``partial_fit``).
    n_pairs_ : int
        Distinct unordered pairs memorised.

    See Also
    --------
    EdgeBankBaseline : 1 for a pair seen before, else 0.
    sklearn_ubergnn.evaluation.evaluate_stream_links : The streaming protocol it is scored by.

    Notes
    -----
    ``fit``/``partial_fit`` sort the history (``O(H log H)`` for ``H`` interactions) and compute
    every event's decayed running count with a prefix scan. A query is a few ``searchsorted``
    look-ups for ``r`` and ``p``; ``c`` is the dynamic graph's common-partner count
    (:func:`~sklearn_ubergnn.graphs._partners.common_partners`, also behind
    :meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.pair_features`): it expands the
    partners of both ends met before ``t`` and counts the shared ones with one sort per chunk of
    rows, so its cost grows with the degrees of the queried objects. Rows given to
    :meth:`predict_link_proba` never change the model: add them with :meth:`partial_fit` (score a
    batch, then add it).

    References
    ----------
    F. Poursafaei, S. Huang, K. Pelrine, R. Rabbany. Towards Better Evaluation for Dynamic Link
    Prediction. NeurIPS 2022 Datasets and Benchmarks (EdgeBank).

    S. Huang, F. Poursafaei, J. Danovitch, M. Fey, W. Hu, E. Rossi, J. Leskovec, M. Bronstein,
    G. Rabusseau, R. Rabbany. Temporal Graph Benchmark for Machine Learning on Temporal Graphs.
    NeurIPS 2023 Datasets and Benchmarks (PopTrack).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"source": [1, 2, 3], "target": [2, 3, 4], "time": [0.0, 1.0, 2.0]})
    >>> model = RecencyHeuristicBaseline(half_life=1.0).fit(X)
    >>> Q = pd.DataFrame({"source": [2, 1, 1, 9], "target": [1, 3, 4, 9], "time": [3.0, 3.0, 3.0, 3.0]})
    >>> model.predict_link_proba(Q).round(4)  # met at 0; partner 2 in common; 4 received once, at 2
    array([0.7037, 0.5152, 0.1111, 0.    ])
    """

    _parameter_constraints: ClassVar[dict] = {
        "half_life": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        **_InteractionMemory._parameter_constraints,
    }

    def __init__(self, *, half_life="auto", source_col="source", target_col="target", time_col="time"):
        self.half_life = half_life
        self.source_col = source_col
        self.target_col = target_col
        self.time_col = time_col

    def _build(self):
        sources, targets, times = self._history
        self.vocabulary_ = ItemVocabulary().fit(sources, targets)
        n = np.int64(len(self.vocabulary_))
        a = self.vocabulary_.transform(sources, input_name="X")
        b = self.vocabulary_.transform(targets, input_name="X")
        pairs = np.minimum(a, b) * n + np.maximum(a, b)
        self.half_life_ = self._resolve_half_life(pairs, times)
        rate = np.log(2.0) / self.half_life_
        distinct_times = np.unique(times)
        self._n = n
        self._pairs = _EventIndex(pairs, times, distinct_times, rate)
        self._received = _EventIndex(b, times, distinct_times, rate)
        # partners (each unordered pair once, at its first time): the graphs' partner index over the rows in
        # time order, so the partners met strictly before t are those of the first searchsorted(t) rows
        order = np.argsort(times, kind="stable")
        self._sorted_times = times[order]
        self._partners = PartnerIndex(a[order], b[order], n)
        self.n_interactions_ = len(times)
        self.n_pairs_ = len(self._pairs.groups)

    def _resolve_half_life(self, pairs, times):
        if self.half_life != "auto":
            return float(self.half_life)
        order = np.lexsort((times, pairs))
        same = pairs[order][1:] == pairs[order][:-1]
        gaps = np.diff(times[order])[same]
        gaps = gaps[gaps > 0]
        if len(gaps):
            return float(np.median(gaps))
        span = float(times.max() - times.min()) if len(times) else 0.0
        return span if span > 0 else 1.0

    def _common_partners(self, s, d, times, known):
        """Objects other than ``s`` and ``d`` met by both before ``times`` (0 where an end is unknown)."""
        cut = np.searchsorted(self._sorted_times, times, side="left")
        return common_partners([self._partners], np.where(known, s, -1), np.where(known, d, -1), cut)

    def predict_link_proba(self, X):
        """Score each row from the interactions memorised strictly before its time.

        Parameters
        ----------
        X : DataFrame
            Query rows with the same columns as in ``fit``; any order; unseen objects have no
            past (an unseen destination scores 0).

        Returns
        -------
        score : ndarray of shape (n_rows,), float64
            In ``[0, 1)``, ordered as the back-off of the class description.
        """
        check_is_fitted(self)
        sources, targets, times = self._check_X(X)
        s = self.vocabulary_.transform(sources, input_name="X")
        d = self.vocabulary_.transform(targets, input_name="X")
        both = (s >= 0) & (d >= 0)
        pair = np.where(both, np.minimum(s, d) * self._n + np.maximum(s, d), 0)
        r = self._pairs.decayed_count(pair, times, both)
        p = self._received.decayed_count(np.maximum(d, 0), times, d >= 0)
        c = self._common_partners(np.maximum(s, 0), np.maximum(d, 0), times, both)

        def f(x):
            return x / (1.0 + x)

        return np.where(r > 0, (2 + f(r)) / 3, np.where(c > 0, (1 + f(c + f(p))) / 3, f(p) / 3))
