"""Top-k ranking metrics for next-item recommendation, and scorers for model selection.

Every metric has the signature ``metric(y_true, y_ranked, k=20) -> float``:

- ``y_true`` holds the relevant item(s) of each sample: either one id per sample (an array
  of shape ``(n_samples,)``, the usual next-item protocol) or a sequence of ``n_samples``
  collections of ids (several relevant items per sample; collections may differ in size).
- ``y_ranked`` is an array of shape ``(n_samples, m)`` of item ids, best first, for example
  the output of a recommender's ``recommend(X, k)``. Only the first ``k`` columns count; when
  ``m < k`` the missing ranks are misses. An id repeated within a row counts once (at its
  first, best rank).

All metrics are computed per sample and averaged over samples; everything is vectorised
(one ``np.unique`` over all ids, no Python loop over samples).

.. rubric:: Which "P@k"?

Session-recommendation papers (SR-GNN, UBER-GNN, NARM, ...) report "P@20" as the share
of samples whose single target is among the top 20, i.e. the **hit rate**. Information
retrieval's precision is ``hits / k`` instead, which for one target is at most ``1 / k``.
Here :func:`precision_at_k` divides by ``min(k, n_targets)``: it equals the papers' P@k
(= :func:`hit_rate_at_k`) when there is one target per sample, and remains a proper
``[0, 1]`` score with several targets. Multiply by ``min(k, n_targets) / k`` per sample
if you need the IR ``hits / k`` form.

Beside them, for link prediction with sampled negatives (TGB's MRR and Hits@k),
:func:`rank_against_negatives` ranks each positive's score among its own negatives' scores.
"""
from itertools import chain

import numpy as np
import pandas as pd

from ._validation import check_ids, check_k, check_same_id_kind
from .pipeline import recommend

__all__ = [
    "hit_rate_at_k",
    "make_topk_scorer",
    "mrr_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "rank_against_negatives",
    "recall_at_k",
]

# Largest (n_samples x ranks x targets) comparison done in one broadcast.
_BROADCAST_LIMIT = 2**24
_COLLECTIONS = (list, tuple, set, frozenset, np.ndarray, pd.Series, pd.Index)


# ---------------------------------------------------------------------------------------
# Validation and the shared relevance matrix
# ---------------------------------------------------------------------------------------
def _check_ranked(y_ranked):
    """Validate ``y_ranked`` and return it as an ``int64`` or ``object`` 2-D array."""
    if isinstance(y_ranked, (str, bytes)):
        raise TypeError(f"y_ranked must be a 2-D array of item ids, got {type(y_ranked).__name__}.")
    if isinstance(y_ranked, pd.DataFrame):
        y_ranked = y_ranked.to_numpy()
    arr = np.asarray(y_ranked)
    if arr.size == 0 and (arr.ndim < 2 or arr.shape[0] == 0):
        raise ValueError(f"y_ranked must contain at least one sample; got an empty array of shape {arr.shape}.")
    if arr.dtype == object and arr.ndim == 1 and len(arr) and isinstance(arr[0], _COLLECTIONS):
        raise ValueError(
            "y_ranked must be a 2-D array of shape (n_samples, m) with the same number of "
            "ranked items in every row; got rows of different lengths."
        )
    if arr.ndim != 2:
        raise ValueError(
            f"y_ranked must be a 2-D array of shape (n_samples, m), ids best first; got an "
            f"array of shape {arr.shape}. Reshape a single ranking with y_ranked[None, :]."
        )
    if arr.shape[1] == 0:
        return arr.astype(np.int64) if arr.dtype.kind in "iuf" else arr.astype(object)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    flat = check_ids(arr.ravel().astype(object), input_name="y_ranked")
    return flat.reshape(arr.shape)


def _is_multi_target(y_true):
    """Whether ``y_true`` holds a collection of ids per sample (rather than one id)."""
    if isinstance(y_true, np.ndarray):
        if y_true.ndim == 2:
            return True
        if y_true.dtype != object:
            return False
    if isinstance(y_true, (str, bytes)) or not hasattr(y_true, "__len__"):
        return False
    first = next(iter(y_true), None)
    return isinstance(first, _COLLECTIONS)


def _check_targets(y_true, n_samples):
    """Validate ``y_true``; return ``(flat_ids, sample_of_each_id)``."""
    if not _is_multi_target(y_true):
        if hasattr(y_true, "__len__") and not isinstance(y_true, (str, bytes)) and len(y_true) != n_samples:
            raise ValueError(
                f"y_true and y_ranked must have the same number of samples; got {len(y_true)} "
                f"targets and {n_samples} ranked rows."
            )
        ids = check_ids(y_true, input_name="y_true", n_samples=n_samples)
        return ids, np.arange(n_samples, dtype=np.int64)
    if isinstance(y_true, np.ndarray) and y_true.ndim == 2:
        rows = list(y_true)
    else:
        rows = list(y_true.to_numpy(dtype=object) if isinstance(y_true, pd.Series) else y_true)
    if len(rows) != n_samples:
        raise ValueError(
            f"y_true and y_ranked must have the same number of samples; got {len(rows)} "
            f"target collections and {n_samples} ranked rows."
        )
    for i, row in enumerate(rows):
        if not isinstance(row, _COLLECTIONS):
            raise TypeError(
                "y_true must hold either one id per sample or one collection of ids per sample, "
                f"not a mix; y_true[0] is a collection but y_true[{i}] is {type(row).__name__} "
                f"{row!r}. Wrap single targets in a list: [item]."
            )
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    if (lengths == 0).any():
        i = int(np.flatnonzero(lengths == 0)[0])
        raise ValueError(
            f"every sample needs at least one relevant item; y_true[{i}] is empty. "
            "Drop samples without targets before scoring."
        )
    ids = check_ids(list(chain.from_iterable(rows)), input_name="y_true")
    return ids, np.repeat(np.arange(n_samples, dtype=np.int64), lengths)


def _relevance(y_true, y_ranked, k):
    """Binary relevance of the top-``k`` ranks and the number of distinct targets per sample.

    Returns
    -------
    rel : ndarray of shape (n_samples, min(k, m)), bool
        ``rel[i, j]`` is True when the item at rank ``j`` of sample ``i`` is one of its targets
        and is not a repeat of an id earlier in the same row.
    n_targets : ndarray of shape (n_samples,), int64
        Number of distinct targets of each sample.
    """
    k = check_k(k)
    ranked = _check_ranked(y_ranked)
    n_samples = ranked.shape[0]
    targets, target_sample = _check_targets(y_true, n_samples)
    top = ranked[:, :k]
    width = top.shape[1]
    if width:
        check_same_id_kind(targets, top, "y_true", "y_ranked")
    rows = np.arange(n_samples, dtype=np.int64)
    if len(targets) == n_samples and np.array_equal(target_sample, rows):
        # One target per sample: a direct comparison, no vocabulary needed.
        n_targets = np.ones(n_samples, dtype=np.int64)
        match = (top == targets[:, None]).ravel()
        match_code = np.zeros(match.shape, dtype=np.int64)
    elif n_samples * max(width, 1) * int(np.bincount(target_sample).max()) <= _BROADCAST_LIMIT:
        # Few targets per sample: pad them to a (n, t) matrix (repeating each row's first
        # target, which changes nothing) and compare every rank with every target.
        counts = np.bincount(target_sample, minlength=n_samples)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        padded = np.repeat(targets[starts][:, None], counts.max(), axis=1)
        padded[target_sample, np.arange(len(targets)) - starts[target_sample]] = targets
        ordered = np.sort(padded, axis=1)
        n_targets = 1 + (ordered[:, 1:] != ordered[:, :-1]).sum(axis=1)
        equal = top[:, :, None] == padded[:, None, :]
        match = equal.any(axis=2).ravel()
        match_code = equal.argmax(axis=2).ravel()  # first equal column: one code per distinct id
    else:
        # Code ids by the vocabulary of targets; ranked ids outside it are misses.
        vocab, target_code = np.unique(targets, return_inverse=True)
        n_vocab = len(vocab)
        target_keys = np.unique(target_sample * n_vocab + target_code.ravel())
        n_targets = np.bincount(target_keys // n_vocab, minlength=n_samples)
        flat = top.ravel()
        code = np.minimum(np.searchsorted(vocab, flat), n_vocab - 1)
        candidate = np.flatnonzero(vocab[code] == flat)
        match = np.zeros(flat.shape, dtype=bool)
        keys = (candidate // max(width, 1)) * n_vocab + code[candidate]
        match[candidate[np.isin(keys, target_keys)]] = True
        match_code = code
    # An id repeated within a row counts once, at its first (best) rank: positions are in
    # row-major order, so np.unique's first index of each (row, id) key is that rank.
    hit = np.flatnonzero(match)
    hit_keys = (hit // max(width, 1)) * (int(match_code.max(initial=0)) + 1) + match_code[hit]
    rel = np.zeros(match.shape, dtype=bool)
    rel[hit[np.unique(hit_keys, return_index=True)[1]]] = True
    rel = rel.reshape(n_samples, width)
    return rel, n_targets


# ---------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------
_PARAMS = """
    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or sequence of n_samples collections of ids
        The relevant item of each sample (one id per sample), or a collection of relevant
        items per sample (lists, sets or arrays of ids; sizes may differ). Ids are all
        integers or all strings, of the same kind as ``y_ranked``.
    y_ranked : array-like of shape (n_samples, m)
        Recommended item ids of each sample, best first. Only the first ``k`` columns are
        used; if ``m < k`` the missing ranks count as misses. An id repeated within a row
        counts once.
    k : int, default=20
        Cut-off rank.

    Returns
    -------
    score : float
        Mean over samples, in ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``y_ranked`` is not 2-D or is empty, ``y_true`` and ``y_ranked`` differ in their
        number of samples, a sample has no target, or ``k`` is not positive.
    TypeError
        If ids are neither all integers nor all strings, or ``y_true`` and ``y_ranked`` hold
        different kinds of ids.
"""


def _add_params(func):
    if func.__doc__:  # docstrings are stripped under python -OO
        func.__doc__ = func.__doc__.replace("    {params}\n", _PARAMS.lstrip("\n") + "\n")
    return func


@_add_params
def precision_at_k(y_true, y_ranked, k=20):
    """Precision at ``k``, normalised by ``min(k, n_targets)``: SR-GNN's "P@k".

    For each sample, the number of relevant items among the top ``k`` divided by
    ``min(k, n_targets)``, averaged over samples.

    .. important::
       With **one target per sample** (next-item prediction) this is the "P@20" of
       SR-GNN / UBER-GNN and of most session-recommendation papers: the share of samples
       whose target is in the top ``k``, identical to :func:`hit_rate_at_k`. It is **not**
       the information-retrieval precision ``hits / k``, which for a single target can be
       at most ``1 / k``. With several targets the denominator ``min(k, n_targets)`` makes
       1 reachable; multiply each sample's score by ``min(k, n_targets) / k`` to get
       ``hits / k``.

    {params}
    See Also
    --------
    hit_rate_at_k : Whether any target is in the top ``k``.
    recall_at_k : Hits divided by the number of targets.

    Examples
    --------
    >>> from sklearn_ubergnn.metrics import precision_at_k
    >>> precision_at_k([3, 7], [[1, 3, 5], [2, 4, 6]], k=3)
    0.5
    >>> precision_at_k([[1, 2], [9]], [[1, 5, 2], [2, 4, 6]], k=2)
    0.25
    """
    rel, n_targets = _relevance(y_true, y_ranked, k)
    return float(np.mean(rel.sum(axis=1) / np.minimum(k, n_targets)))


@_add_params
def hit_rate_at_k(y_true, y_ranked, k=20):
    """Hit rate at ``k``: share of samples with at least one target in the top ``k``.

    With one target per sample this is what SR-GNN / UBER-GNN call "P@k" (see
    :func:`precision_at_k`, which equals it in that case).

    {params}
    See Also
    --------
    precision_at_k : Hits divided by ``min(k, n_targets)``.

    Examples
    --------
    >>> from sklearn_ubergnn.metrics import hit_rate_at_k
    >>> hit_rate_at_k(["a", "b"], [["a", "c"], ["c", "d"]], k=2)
    0.5
    """
    rel, _ = _relevance(y_true, y_ranked, k)
    return float(np.mean(rel.any(axis=1)))


@_add_params
def recall_at_k(y_true, y_ranked, k=20):
    """Recall at ``k``: targets found in the top ``k`` divided by the number of targets.

    When ``k`` is smaller than the number of targets a sample cannot reach 1; use
    :func:`precision_at_k` for the variant normalised by ``min(k, n_targets)``. With one
    target per sample recall equals the hit rate.

    {params}
    Examples
    --------
    >>> from sklearn_ubergnn.metrics import recall_at_k
    >>> recall_at_k([[1, 2, 3, 4]], [[1, 2, 9]], k=3)
    0.5
    """
    rel, n_targets = _relevance(y_true, y_ranked, k)
    return float(np.mean(rel.sum(axis=1) / n_targets))


@_add_params
def mrr_at_k(y_true, y_ranked, k=20):
    """Mean reciprocal rank at ``k``.

    For each sample, ``1 / rank`` of the first relevant item when it lies within the top
    ``k`` (ranks start at 1), else 0; averaged over samples. This is SR-GNN's "MRR@20".

    {params}
    Examples
    --------
    >>> from sklearn_ubergnn.metrics import mrr_at_k
    >>> mrr_at_k([3, 7, 1], [[1, 3, 5], [2, 4, 6], [1, 2, 3]], k=3)
    0.5
    """
    rel, _ = _relevance(y_true, y_ranked, k)
    if rel.shape[1] == 0:
        return 0.0
    first = rel.argmax(axis=1)
    return float(np.mean(np.where(rel.any(axis=1), 1.0 / (first + 1), 0.0)))


@_add_params
def ndcg_at_k(y_true, y_ranked, k=20):
    """Normalised discounted cumulative gain at ``k`` with binary relevance.

    ``DCG = sum_{r <= k, item r relevant} 1 / log2(r + 1)`` (ranks ``r`` start at 1),
    divided by the ideal DCG, that of a ranking with all targets first:
    ``sum_{r <= min(k, n_targets)} 1 / log2(r + 1)``. With one target at rank ``r`` this is
    ``1 / log2(r + 1)``.

    {params}
    Examples
    --------
    >>> from sklearn_ubergnn.metrics import ndcg_at_k
    >>> ndcg_at_k([3], [[1, 3, 5]], k=3)
    0.6309...
    """
    rel, n_targets = _relevance(y_true, y_ranked, k)
    depth = min(k, max(rel.shape[1], int(n_targets.max())))
    discount = 1.0 / np.log2(np.arange(2, depth + 2, dtype=np.float64))
    dcg = rel @ discount[: rel.shape[1]]
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(depth, n_targets)]
    return float(np.mean(dcg / ideal))


# ---------------------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------------------
_METRICS = {
    "precision": precision_at_k,
    "hit_rate": hit_rate_at_k,
    "recall": recall_at_k,
    "mrr": mrr_at_k,
    "ndcg": ndcg_at_k,
}


class _TopKScorer:
    """Scorer ``scorer(estimator, X, y) -> float`` built by :func:`make_topk_scorer`.

    Picklable as long as ``metric`` is a name or a module-level function.
    """

    def __init__(self, metric, k):
        self.metric = metric
        self.k = k

    def __call__(self, estimator, X, y):
        y_ranked = recommend(estimator, X, k=self.k)
        func = _METRICS[self.metric] if isinstance(self.metric, str) else self.metric
        return float(func(y, y_ranked, k=self.k))

    def _accept_sample_weight(self):
        # scikit-learn asks every scorer of a multi-metric dict this when `sample_weight`
        # is passed to a search; ranking metrics here take no weights.
        return False

    def __repr__(self):
        name = self.metric if isinstance(self.metric, str) else getattr(self.metric, "__name__", self.metric)
        return f"make_topk_scorer({name!r}, k={self.k})"


def rank_against_negatives(pos_scores, neg_scores):
    """Rank of each positive's score among itself and its own negatives (1 = best), ties averaged.

    With ``g`` negatives scoring strictly higher and ``e`` scoring the same, the rank is
    ``1 + g + e / 2``: the mean of the optimistic (``1 + g``) and pessimistic (``1 + g + e``)
    ranks, as TGB's link-prediction evaluator counts. Mean reciprocal rank is
    ``np.mean(1 / rank)`` and Hits@k ``np.mean(rank <= k)`` (a tie at the top, rank 1.5, is no
    hit at 1). A model that scores everything alike gets rank ``1 + n_negatives / 2``, not 1.

    Parameters
    ----------
    pos_scores : array-like of shape (n_samples,)
        Score of each positive.
    neg_scores : array-like of shape (n_samples, n_negatives)
        Scores of the negatives of each positive.

    Returns
    -------
    ranks : ndarray of shape (n_samples,), float64
        In ``[1, n_negatives + 1]``.

    Raises
    ------
    ValueError
        If ``neg_scores`` is not 2-D with one row per positive, or a score is NaN.

    Examples
    --------
    >>> from sklearn_ubergnn.metrics import rank_against_negatives
    >>> rank_against_negatives([0.9, 0.5, 0.1], [[0.1, 0.2], [0.5, 0.7], [0.3, 0.2]])
    array([1. , 2.5, 3. ])
    """
    pos = np.asarray(pos_scores, dtype=np.float64)
    neg = np.asarray(neg_scores, dtype=np.float64)
    if pos.ndim != 1 or neg.ndim != 2 or len(neg) != len(pos):
        raise ValueError(f"neg_scores must have shape (n_samples, n_negatives) with n_samples = {pos.shape[0]} "
                         f"(pos_scores of shape {pos.shape}); got shape {neg.shape}.")
    if np.isnan(pos).any() or np.isnan(neg).any():
        raise ValueError("pos_scores and neg_scores must not contain NaN; a NaN score has no rank.")
    col = pos[:, None]
    return 1.0 + (neg > col).sum(axis=1) + 0.5 * (neg == col).sum(axis=1)


def make_topk_scorer(metric, k=20):
    """Make a scorer that ranks with ``estimator.recommend(X, k=k)`` and applies a top-k metric.

    Use it for ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`,
    :func:`~sklearn.model_selection.cross_validate` and friends, alone or in a dict of
    several scorers. Only the top ``k`` ids per sample are computed, never a full
    probability matrix.

    Parameters
    ----------
    metric : {"precision", "hit_rate", "recall", "mrr", "ndcg"} or callable
        Name of a metric of this module (``"precision"`` is :func:`precision_at_k`, which
        with one target per sample is SR-GNN's "P@k" = hit rate), or a callable
        ``metric(y_true, y_ranked, k=k) -> float``. A callable must be a module-level
        function for the scorer to be picklable (e.g. for ``n_jobs > 1``).
    k : int, default=20
        Cut-off rank, passed to both ``recommend`` and the metric.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``; greater is better for every metric here.

    Raises
    ------
    ValueError
        If ``metric`` is an unknown name or ``k`` is not positive.
    TypeError
        If ``metric`` is neither a string nor a callable, or ``k`` is not an integer.

    Examples
    --------
    >>> from sklearn_ubergnn.metrics import make_topk_scorer
    >>> scoring = {"P@20": make_topk_scorer("precision", k=20), "MRR@20": make_topk_scorer("mrr", k=20)}
    >>> scoring["MRR@20"]
    make_topk_scorer('mrr', k=20)
    """
    k = check_k(k)
    if isinstance(metric, str):
        if metric not in _METRICS:
            raise ValueError(
                f"unknown metric {metric!r}; valid names are {sorted(_METRICS)}, or pass a "
                "callable metric(y_true, y_ranked, k=k)."
            )
    elif not callable(metric):
        raise TypeError(
            f"metric must be one of {sorted(_METRICS)} or a callable metric(y_true, y_ranked, k=k), "
            f"got {type(metric).__name__} {metric!r}."
        )
    return _TopKScorer(metric, k)
