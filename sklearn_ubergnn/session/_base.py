"""The shared API of every session recommender: fit on prefixes, rank items in bounded batches.

Subclasses implement two hooks on integer item codes (positions in ``classes_``):

``_fit_codes(sessions_codes, y_codes)``
    Learn from the encoded training sessions (a :class:`FlatSessions` of codes, none unseen) and their
    next items.
``_score_codes(sessions_codes)``
    Score every item for one bounded batch of ``b`` encoded sessions. Unseen ids have already been
    dropped, so a session may be empty. Return non-negative scores, higher is better, as an ndarray of
    shape ``(b, n_items)``, a ``(1, n_items)`` row when every session gets the same scores, or a
    ``scipy.sparse`` matrix of shape ``(b, n_items)`` when most scores are zero.

The base class does the rest: validation, the item vocabulary, popularity counts, batching, top-k
selection with deterministic ties, the popularity fallback, probabilities and the score.
"""
from abc import ABCMeta, abstractmethod
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._arrays import concat_ranges
from .._docstrings import fill_doc
from .._validation import FlatSessions, check_k, check_sessions
from .._vocabulary import ItemVocabulary

__all__ = ["_BaseSessionRecommender"]


class _BaseSessionRecommender(ClassifierMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the session recommenders: ids in, ranked ids out, in bounded batches.

    Not meant to be instantiated: subclasses define ``__init__`` (keyword-only parameters, among them
    ``batch_size``), ``_fit_codes`` and ``_score_codes`` (see the module docstring).

    Ranking rule, shared by every recommender: items with a positive score come first, by decreasing
    score, ties broken by ``classes_`` order (as ``numpy.argmax`` of :meth:`predict_proba` does); the
    remaining places are filled with the most popular items not yet listed (``item_counts_``
    decreasing, ties by ``classes_`` order). A session whose items were all unseen in ``fit`` therefore
    gets the popularity ranking, and so does an empty session: ``fit`` refuses empty sessions, the
    ``predict``-like methods treat them as sessions with no known item.

    Attributes
    ----------
    vocabulary_ : ItemVocabulary
        Raw ids <-> codes; the codes are positions in ``classes_``.
    classes_ : ndarray of shape (n_items,)
        Sorted distinct item ids of the training sessions and targets (``int64`` or ``object``).
    n_items_ : int
        ``len(classes_)``.
    item_counts_ : ndarray of shape (n_items,), int64
        Training popularity: clicks of each item in the training sessions, counting every click
        once. The sessions are rebuilt from the samples, ``X[i] + [y[i]]`` without the samples
        that are shorter prefixes of others (see ``SessionKNNRecommender``'s Notes), so passing
        every prefix of a session counts its clicks once, not once per prefix. Ranks items for
        the popularity fallback.
    """

    _parameter_constraints: dict = {
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _fit_codes(self, sessions_codes, y_codes):
        """Learn from encoded training sessions and next items (see the module docstring)."""

    @abstractmethod
    def _score_codes(self, sessions_codes):
        """Score every item for one bounded batch of encoded sessions (see the module docstring)."""

    # ------------------------------------------------------------------ fit
    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the item vocabulary, the item popularity and the model from sessions.

        The usual training data is every prefix of every training session with its next item
        (:func:`sklearn_ubergnn.preprocessing.session_prefixes`), sessions in time order.

        Parameters
        ----------
        {sessions_X}
        {next_items_y}

        Returns
        -------
        self : object
            The fitted recommender.
        """
        sessions, y = check_sessions(X, y)
        self.vocabulary_ = ItemVocabulary().fit(sessions.items, y)
        self.classes_ = self.vocabulary_.classes_
        self.n_items_ = len(self.classes_)
        codes = FlatSessions(self.vocabulary_.transform(sessions.items), sessions.offsets)
        y_codes = self.vocabulary_.transform(y, input_name="y")
        self.item_counts_ = np.bincount(_full_sessions(codes, y_codes).items, minlength=self.n_items_)
        self._fit_codes(codes, y_codes)
        return self

    # ------------------------------------------------------------------ ranking
    def _encoded_batches(self, sessions):
        """Yield ``(start, stop, FlatSessions of known codes)`` per batch of validated sessions."""
        codes = self.vocabulary_.transform(sessions.items, input_name="X")
        n = len(sessions)
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            lo, hi = sessions.offsets[start], sessions.offsets[stop]
            batch = codes[lo:hi]
            known = batch >= 0
            # New offsets: number of known clicks before each session boundary.
            kept_before = np.concatenate([[0], np.cumsum(known)])
            offsets = kept_before[sessions.offsets[start : stop + 1] - lo].astype(np.int64)
            yield start, stop, FlatSessions(batch[known], offsets)

    @fill_doc
    def recommend(self, X, k=20):
        """Return the ``k`` best items of each session, best first.

        Computed in batches of ``batch_size`` sessions; the full ``(n_sessions, n_items)`` score matrix
        is never built. Unseen item ids are ignored; a session with no known item (all unseen, or
        empty) gets the popularity ranking (see ``item_counts_``).

        Parameters
        ----------
        {sessions_X}
        {k}

        Returns
        -------
        ranked : ndarray of shape (n_sessions, min(k, ``n_items_``))
            Raw item ids (``classes_`` values), best first; no id repeats within a row.
        """
        check_is_fitted(self)
        k = min(check_k(k), self.n_items_)
        popular = np.argsort(-self.item_counts_, kind="stable")[:k]
        parts = []
        for _, _, batch in self._encoded_batches(check_sessions(X, allow_empty=True)):
            top = _top_k(self._score_codes(batch), len(batch), k, popular)
            top[batch.lengths == 0] = popular  # no known item: the popularity ranking
            parts.append(top)
        return self.classes_[np.concatenate(parts)]

    @fill_doc
    def predict(self, X):
        """Return the best item of each session (the first column of :meth:`recommend`).

        Parameters
        ----------
        {sessions_X}

        Returns
        -------
        y_pred : ndarray of shape (n_sessions,)
            Raw item ids. Equals ``classes_[predict_proba(X).argmax(axis=1)]``.
        """
        check_is_fitted(self)
        return self.recommend(X, k=1)[:, 0]

    @fill_doc
    def predict_proba(self, X):
        """Return each session's scores normalised to a distribution over ``classes_``.

        Scores are divided by their row sum; a session whose scores are all zero (for example,
        no known item) gets the popularity distribution ``item_counts_ / item_counts_.sum()``.
        This builds an ``(n_sessions, n_items)`` array: prefer :meth:`recommend` for ranking.

        Parameters
        ----------
        {sessions_X}

        Returns
        -------
        proba : ndarray of shape (n_sessions, ``n_items_``)
            Rows sum to 1; column ``j`` is item ``classes_[j]``.
        """
        check_is_fitted(self)
        sessions = check_sessions(X, allow_empty=True)
        proba = np.empty((len(sessions), self.n_items_), dtype=np.float64)
        prior = self.item_counts_ / self.item_counts_.sum()
        for start, stop, batch in self._encoded_batches(sessions):
            scores = self._score_codes(batch)
            if sp.issparse(scores):
                scores = scores.toarray()
            else:  # a shared (1, n_items) row is broadcast to the batch
                scores = np.broadcast_to(np.asarray(scores, dtype=np.float64), (len(batch), self.n_items_))
            total = scores.sum(axis=1, keepdims=True)
            np.divide(scores, total, out=proba[start:stop], where=total > 0)
            proba[start:stop][(total[:, 0] <= 0) | (batch.lengths == 0)] = prior
        return proba

    @fill_doc
    def score(self, X, y):
        """Return SR-GNN's P@20: the share of sessions whose next item is in the top 20.

        This departs on purpose from :class:`~sklearn.base.ClassifierMixin`, whose ``score`` is
        the accuracy (= hit rate at 1): for next-item recommendation the top-20 hit rate is the
        standard figure, and it is what ``GridSearchCV`` optimises when no ``scoring`` is given.
        For other metrics pass a scorer from :func:`sklearn_ubergnn.metrics.make_topk_scorer`.

        Parameters
        ----------
        {sessions_X}
        {next_items_y}

        Returns
        -------
        score : float
            :func:`sklearn_ubergnn.metrics.precision_at_k` at ``k=20``, in ``[0, 1]``.
        """
        from ..metrics import precision_at_k

        check_is_fitted(self)
        sessions, y = check_sessions(X, y, allow_empty=True)
        return precision_at_k(y, self.recommend(sessions, k=20), k=20)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # sessions are ragged sequences of ids
        tags.target_tags.required = True
        tags.classifier_tags.multi_label = False
        tags.non_deterministic = False
        return tags


def _top_k(scores, n_rows, k, popular):
    """Codes of the ``k`` best items per row under the ranking rule of the class docstring.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_items) or (1, n_items), or sparse matrix (n_rows, n_items)
        Non-negative scores.
    n_rows : int
        Number of sessions in the batch.
    k : int
        Number of items per row, ``1 <= k <= n_items``.
    popular : ndarray of shape (k,)
        Codes of the ``k`` most popular items, most popular first.

    Returns
    -------
    codes : ndarray of shape (n_rows, k), int64
    """
    if not sp.issparse(scores) and scores.shape[0] == 1 and n_rows != 1:
        return np.repeat(_top_k(scores, 1, k, popular), n_rows, axis=0)
    if sp.issparse(scores):
        csr = sp.csr_matrix(scores)
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(csr.indptr))
        cols, vals = csr.indices.astype(np.int64), csr.data
        keep = vals > 0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    else:
        scores = np.asarray(scores, dtype=np.float64)
        n_items = scores.shape[1]
        if k < n_items:  # candidates: the k largest and everything tied with the k-th
            kth = np.partition(scores, n_items - k, axis=1)[:, n_items - k]
            candidate = (scores >= kth[:, None]) & (scores > 0)
        else:
            candidate = scores > 0
        rows, cols = np.nonzero(candidate)
        vals = scores[rows, cols]
    order = np.lexsort((cols, -vals, rows))  # by row, score decreasing, code increasing
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(n_rows + 1))
    rank = np.arange(len(rows)) - starts[rows]
    keep = rank < k
    out = np.empty((n_rows, k), dtype=np.int64)
    out[rows[keep], rank[keep]] = cols[keep]
    n_scored = np.minimum(np.diff(starts), k)
    short = np.flatnonzero(n_scored < k)
    if short.size:  # fill with the most popular items that got no positive score
        taken = np.zeros((short.size, k), dtype=bool)
        if sp.issparse(scores):
            taken[:] = sp.csr_matrix(scores)[short][:, popular].toarray() > 0
        else:
            taken[:] = scores[short][:, popular] > 0
        free = ~taken
        fill_rank = n_scored[short, None] + np.cumsum(free, axis=1) - 1
        place = free & (fill_rank < k)
        r, c = np.nonzero(place)
        out[short[r], fill_rank[r, c]] = popular[c]
    return out


# ---------------------------------------------------------------------------------------
# Flat-array helpers shared by the recommenders
# ---------------------------------------------------------------------------------------
def _segment_starts(sorted_ids, n_segments):
    """Offsets ``(n_segments + 1,)`` of the runs of each id ``0..n_segments-1`` in a sorted id array."""
    return np.searchsorted(sorted_ids, np.arange(n_segments + 1)).astype(np.int64)


def _same_sequences(items, start_a, len_a, start_b, len_b):
    """Whether ``items[start_a[j]:][:len_a[j]]`` equals ``items[start_b[j]:][:len_b[j]]``, for every ``j``."""
    same = np.asarray(len_a == len_b)
    idx = np.flatnonzero(same)
    if idx.size:
        a, b = concat_ranges(start_a[idx], len_a[idx]), concat_ranges(start_b[idx], len_a[idx])
        differ = np.repeat(np.arange(idx.size), len_a[idx])[items[a] != items[b]]
        same[idx[differ]] = False
    return same


_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)
_LENGTH_MIX = np.uint64(0xD6E8FEB86659FD93)


def _prefix_hashes(items, offsets, base):
    """Polynomial hash (mod 2**64) of every prefix of every sequence: ``sum_t (item_t + 1) base**t``."""
    lengths = np.diff(offsets)
    position = np.arange(len(items), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
    with np.errstate(over="ignore"):
        powers = np.full(int(lengths.max()), base, dtype=np.uint64)
        powers[0] = 1
        powers = np.cumprod(powers, dtype=np.uint64)  # wraps modulo 2**64
        cumulative = np.cumsum((items.astype(np.uint64) + np.uint64(1)) * powers[position], dtype=np.uint64)
        before = np.concatenate([np.zeros(1, np.uint64), cumulative])[offsets[:-1]]
        return cumulative - np.repeat(before, lengths)


def _full_sessions(sessions, y):
    """Rebuild the distinct training sessions from ``(prefix, next item)`` samples.

    Each sample is read as the sequence ``u = X[j] + [y[j]]``. If the samples are every prefix of
    a set of sessions, the number of sessions equal to ``u`` is (samples whose sequence is ``u``)
    minus (samples whose ``X`` is ``u``), whatever the order of the samples; that many samples of
    sequence ``u`` are kept as sessions, preferring those whose sequence is not the ``X`` of the
    adjacent sample (the previous one when each session's prefixes come longest first, as in
    SR-GNN's files, the next one when they come shortest first; the direction is the one with
    more such matches), then the latest. Kept sessions stay in sample order, so the position of a
    session's longest prefix is its recency. With every session's prefixes contiguous this gives
    back the sessions exactly, in their order (only when almost every session has two clicks can
    the direction be undecidable, and then sessions may come back slightly out of order). One
    sample per session, ``(s[:-1], s[-1])``, gives back those sessions, except that a session
    equal to another session minus its last item is merged into it (the two readings of such data
    cannot be told apart).

    Sequences are grouped by a 64-bit polynomial hash and every grouping is verified item by item;
    a sample caught in a (vanishingly unlikely) collision is simply kept as a session of its own.

    Parameters
    ----------
    sessions : FlatSessions
        Item codes of the samples' prefixes (no unseen code).
    y : ndarray of shape (n_samples,)
        Item codes of the next items.

    Returns
    -------
    full : FlatSessions
        Item codes of the rebuilt sessions, in training order.
    """
    n = len(sessions)
    lengths = sessions.lengths + 1
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    starts = offsets[:-1]
    items = np.empty(offsets[-1], dtype=np.int64)
    items[np.arange(len(sessions.items)) + sessions.session_index] = sessions.items
    items[offsets[1:] - 1] = y
    position = np.arange(len(items), dtype=np.int64) - np.repeat(starts, lengths)
    with np.errstate(over="ignore"):
        length_code = (position.astype(np.uint64) + np.uint64(1)) * _LENGTH_MIX
        key = _prefix_hashes(items, offsets, _HASH_BASE) ^ length_code
    # 1. Group samples by their whole sequence u; verify each against its group's first sample.
    uniq, first, group, n_full = np.unique(
        key[offsets[1:] - 1], return_index=True, return_inverse=True, return_counts=True
    )
    alone = ~_same_sequences(items, starts, lengths, starts[first[group]], lengths[first[group]])
    if alone.any():  # hash collisions: keep those samples apart, out of the counts
        n_full = n_full - np.bincount(group[alone], minlength=len(uniq))
    # 2. Samples whose X equals some u (X = the sequence minus its last item).
    slot = np.minimum(np.searchsorted(uniq, key[offsets[1:] - 2]), len(uniq) - 1)
    rep = first[slot]
    x_is_u = (uniq[slot] == key[offsets[1:] - 2]) & _same_sequences(
        items, starts, lengths - 1, starts[rep], lengths[rep]
    )
    n_keep = np.maximum(n_full - np.bincount(slot[x_is_u], minlength=len(uniq)), 0)
    # 3. Which samples of u to keep: first those whose sequence is not the X of the adjacent sample
    # (the next one if prefixes come shortest first, the previous one if longest first: whichever
    # matches more often), then the latest.
    to_next, to_previous = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    to_next[:-1] = _same_sequences(items, starts[:-1], lengths[:-1], starts[1:], lengths[1:] - 1)
    to_previous[1:] = _same_sequences(items, starts[1:], lengths[1:], starts[:-1], lengths[:-1] - 1)
    n_next, n_previous = to_next.sum(), to_previous.sum()
    if n_next != n_previous:
        adjacent = to_next if n_next > n_previous else to_previous
    else:  # undecided (tiny data): either
        adjacent = to_next | to_previous
    order = np.lexsort((-np.arange(n), adjacent, alone, group))
    rank = np.arange(n) - _segment_starts(group[order], len(uniq))[group[order]]
    keep = np.empty(n, dtype=bool)
    keep[order] = rank < n_keep[group[order]]
    keep |= alone
    kept_offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
    np.cumsum(lengths[keep], out=kept_offsets[1:])
    return FlatSessions(items[np.repeat(keep, lengths)], kept_offsets)
