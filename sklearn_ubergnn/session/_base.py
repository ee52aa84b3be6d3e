"""The shared API of every session recommender: fit on prefixes, rank items in bounded batches.

Input is validated and encoded once, at the entry of each public method
(:meth:`_BaseSessionRecommender._check_input`, then ``_encode`` into
:class:`~sklearn_ubergnn.session._data.EncodedSessions`); from there only item codes travel, and
the last step turns top-k codes back into raw ids. Subclasses implement two hooks on codes
(positions in ``classes_``): ``_fit_codes`` and ``_scores``, the scores of consecutive row
blocks. The recommenders without a network (:class:`_BlockScoredRecommender`) get ``_scores``
from one more hook, ``_score_codes``:

``_fit_codes(data, y_codes)``
    Learn from the encoded training sessions (:class:`EncodedSessions`, no unseen code) and
    their next items.
``_score_codes(sessions_codes)``
    Score every item for one bounded batch of ``b`` encoded sessions. Unseen ids have already been
    dropped, so a session may be empty. Return non-negative scores, higher is better, as an ndarray of
    shape ``(b, n_items)``, a ``(1, n_items)`` row when every session gets the same scores, or a
    ``scipy.sparse`` matrix of shape ``(b, n_items)`` when most scores are zero.

Network recommenders (:class:`_NetSessionRecommender`) score with their module instead: logits from its ``forward``, probabilities from its ``proba`` method, batch by batch
through :func:`~sklearn_ubergnn._skorch.iter_outputs`. The base class does the rest: validation,
the item vocabulary, popularity counts, batching, top-k selection with the package's one
ranking rule (:func:`~sklearn_ubergnn._ranking.top_k`), the popularity fallback,
probabilities and the score.
"""
from abc import ABCMeta, abstractmethod
from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._arrays import concat_ranges, gather_segments, offsets_from_lengths, segment_blocks
from .._docstrings import fill_doc
from .._ranking import row_blocks, top_k
from .._skorch import seed_from
from .._threads import uses_torch_threads
from .._validation import FlatSessions, check_ids, check_k, check_same_id_kind, check_sessions
from .._vocabulary import ItemVocabulary
from ..base import _NetEstimator
from ..graphs import SessionGraphBatch
from ._data import EncodedSessions, encode_graph_batch, known_codes

__all__ = ["_BaseSessionRecommender", "_BlockScoredRecommender", "_NetSessionRecommender"]


class _BaseSessionRecommender(ClassifierMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the session recommenders: ids in, ranked ids out, in bounded batches.

    Not meant to be instantiated: subclasses define ``__init__`` (keyword-only parameters, among them
    ``batch_size``), ``_fit_codes`` and ``_scores`` (see the module docstring).

    Ranking rule, shared by every recommender (:func:`~sklearn_ubergnn._ranking.top_k`): items with
    a positive score (any score, for a network's logits) come first, by decreasing score, ties
    broken by ``classes_`` order (as ``numpy.argmax`` of :meth:`predict_proba` does); the
    remaining places are filled with the most popular items not yet listed (``item_counts_``
    decreasing, ties by ``classes_`` order). A session whose items were all unseen in ``fit`` therefore
    gets the popularity ranking, and so does an empty session: ``fit`` refuses empty sessions, the
    ``predict``-like methods treat them as sessions with no known item.

    ``X`` may also be the :class:`~sklearn_ubergnn.graphs.SessionGraphBatch` of a
    :class:`~sklearn_ubergnn.session.SessionGraphTransformer`: its kept clicks are the sessions
    (the transformer's ``handle_unknown`` decided what happened to unseen clicks), taken as they
    are, without decoding to raw ids.

    Attributes
    ----------
    vocabulary_ : ItemVocabulary
        Raw ids <-> codes; the codes are positions in ``classes_``.
    classes_ : ndarray of shape (n_items,)
        Sorted distinct item ids of the training sessions and targets (``int64`` or ``object``);
        with a ``SessionGraphBatch``, the batch's ``classes`` and the targets.
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

    #: Items scoring at most this are no candidates of :func:`~sklearn_ubergnn._ranking.top_k`.
    _min_score = 0.0

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _fit_codes(self, data, y_codes):
        """Learn from encoded training sessions and next items (see the module docstring)."""

    @abstractmethod
    def _scores(self, data, *, proba=False):
        """Yield ``(rows, block)`` over consecutive row slices of ``data`` (see the module docstring)."""

    # ------------------------------------------------------------------ input
    def _check_sessions(self, X, *, reset):
        """Validate sessions ``X`` that are no graph batch: ``(FlatSessions of raw ids, users or None)``."""
        return check_sessions(X, allow_empty=not reset), None

    def _check_input(self, X, y=None, *, reset):
        """Validate ``X`` (and ``y``) once: ``(sessions, users[, y])``.

        ``sessions`` is a :class:`FlatSessions` of raw ids or a :class:`SessionGraphBatch`, taken
        as it is.
        """
        if isinstance(X, SessionGraphBatch):
            sessions, users, ids = X, None, np.asarray(X.classes)
            empty = np.flatnonzero(np.diff(X.alias_offsets) == 0)
            if reset and len(empty):
                raise ValueError(
                    f"sessions must contain at least one item; session {int(empty[0])} of X is empty (no "
                    "known click). Drop empty sessions before fit."
                )
        else:
            sessions, users = self._check_sessions(X, reset=reset)
            ids = sessions.items
        if y is None:
            return sessions, users
        y = check_ids(y, input_name="y", n_samples=len(sessions))
        if len(ids):
            check_same_id_kind(ids, y, "X", "y")
        return sessions, users, y

    def _fit_users(self, users):
        """Learn what ``fit`` needs from the user columns before encoding (none here)."""

    def _encode_users(self, users):
        """Encoded user-field rows of validated user columns (None: no user features)."""

    def _encode(self, sessions, users):
        """Encode validated input with the fitted vocabulary: :class:`EncodedSessions`."""
        if isinstance(sessions, SessionGraphBatch):
            data = encode_graph_batch(sessions, self.vocabulary_)
        else:
            codes = FlatSessions(self.vocabulary_.transform(sessions.items, input_name="X"), sessions.offsets)
            data = EncodedSessions(codes)
        fields = self._encode_users(users)
        return data if fields is None else EncodedSessions(data.codes, data.graphs, fields)

    # ------------------------------------------------------------------ fit
    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    @uses_torch_threads
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
        sessions, users, y = self._check_input(X, y, reset=True)
        self._fit_users(users)
        ids = sessions.classes if isinstance(sessions, SessionGraphBatch) else sessions.items
        self.vocabulary_ = ItemVocabulary().fit(np.asarray(ids), y)
        self.classes_ = self.vocabulary_.classes_
        self.n_items_ = len(self.classes_)
        data = self._encode(sessions, users)
        del sessions, ids, users  # only codes from here on: the raw ids need not outlive encoding
        y_codes = self.vocabulary_.transform(y, input_name="y")
        del y
        self.item_counts_ = np.bincount(_full_sessions(data.codes, y_codes).items,
                                        minlength=self.n_items_).astype(np.int64)
        self._fit_codes(data, y_codes)
        return self

    # ------------------------------------------------------------------ scores
    def _prior(self):
        """The popularity distribution ``item_counts_ / item_counts_.sum()``."""
        return self.item_counts_ / self.item_counts_.sum()

    # ------------------------------------------------------------------ public API
    @fill_doc
    @uses_torch_threads
    def recommend(self, X, k=20):
        """Return the ``k`` best items of each session, best first.

        Computed in batches of at most ``batch_size`` sessions; the full ``(n_sessions, n_items)``
        score matrix is never built. Unseen item ids are ignored; a session with no known item
        (all unseen, or empty) gets the popularity ranking (see ``item_counts_``).

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
        data = self._encode(*self._check_input(X, reset=False))
        popular = np.argsort(-self.item_counts_, kind="stable")[:k]
        ranked = np.empty((len(data), k), dtype=np.int64)
        for rows, scores in self._scores(data):
            ranked[rows] = top_k(scores, k, popular, min_score=self._min_score, n_rows=rows.stop - rows.start)
        ranked[data.n_known == 0] = popular  # no known item: the popularity ranking
        return self.classes_[ranked]

    @fill_doc
    @uses_torch_threads
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
    @uses_torch_threads
    def predict_proba(self, X):
        """Return each session's probabilities over ``classes_``.

        A network's softmax; for the other recommenders the scores divided by their row sum
        (a session whose scores are all zero gets the popularity distribution). A session with
        no known item gets the popularity distribution ``item_counts_ / item_counts_.sum()``.
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
        data = self._encode(*self._check_input(X, reset=False))
        proba = np.empty((len(data), self.n_items_), dtype=np.float64)
        for rows, block in self._scores(data, proba=True):
            proba[rows] = block
        proba[data.n_known == 0] = self._prior()
        return proba

    @fill_doc
    @uses_torch_threads
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
        y = check_ids(y, input_name="y")
        return float(precision_at_k(y, self.recommend(X, k=20), k=20))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # sessions are ragged sequences of ids
        tags.target_tags.required = True
        tags.classifier_tags.multi_label = False
        tags.non_deterministic = False
        return tags


class _BlockScoredRecommender(_BaseSessionRecommender):
    """Base class of the recommenders without a network: scored by ``_score_codes`` in row blocks.

    Subclasses implement ``_fit_codes`` and ``_score_codes`` (see the module docstring); blocks hold
    at most ``batch_size`` sessions and fit in scikit-learn's ``working_memory``.
    """

    @abstractmethod
    def _score_codes(self, sessions_codes):
        """Score every item for one bounded batch of encoded sessions (see the module docstring)."""

    def _scores(self, data, *, proba=False):
        """Yield ``(rows, block)`` over consecutive row slices of ``data``, in order.

        ``block`` holds the rows' scores (what :func:`~sklearn_ubergnn._ranking.top_k` takes), or
        their probabilities over ``classes_`` with ``proba=True`` (rows of sessions with no known
        item are overwritten by the caller).
        """
        for rows in row_blocks(len(data), self.n_items_, max_rows=self.batch_size):
            batch = known_codes(data.codes, rows)
            scores = self._score_codes(batch)
            yield rows, (_normalise(scores, len(batch), self._prior()) if proba else scores)


def _normalise(scores, n_rows, prior):
    """Non-negative scores divided by their row sum; rows summing to 0 get ``prior``."""
    if sp.issparse(scores):
        scores = scores.toarray()
    else:  # a shared (1, n_items) row is broadcast to the batch
        scores = np.broadcast_to(np.asarray(scores, dtype=np.float64), (n_rows, len(prior)))
    total = scores.sum(axis=1, keepdims=True)
    out = np.empty(scores.shape, dtype=np.float64)
    np.divide(scores, total, out=out, where=total > 0)
    out[total[:, 0] <= 0] = prior
    return out


class _NetSessionRecommender(_NetEstimator, _BaseSessionRecommender):
    """Base class of the network recommenders: one skorch net, scored by its module.

    Subclasses set ``_module`` (the module class) and implement ``_criterion()``,
    ``_module_params()`` (the module's keyword arguments) and ``_source(data, y=None)`` (the
    batch source of :class:`EncodedSessions`). Training goes through the one training wrapper
    (:meth:`~sklearn_ubergnn.base._NetEstimator._fit_net`); scores are the module's logits
    (``forward``), probabilities its ``proba`` method, read batch by batch. ``X`` may be a
    DataFrame with a ``session_column``.
    """

    _module = None
    _min_score = -np.inf  # logits: every item is a candidate

    @fill_doc
    def fit(self, X, y):
        """Learn the item vocabulary, the item popularity and the network from sessions.

        Parameters
        ----------
        X : sequence of sessions, FlatSessions, SessionGraphBatch or DataFrame
            Sessions of raw item ids in click order (a list of lists, a list of arrays, a
            pandas Series of lists or a :class:`~sklearn_ubergnn.datasets.FlatSessions`), usually
            every prefix of every training session
            (:func:`sklearn_ubergnn.preprocessing.session_prefixes`); the output of
            :class:`~sklearn_ubergnn.session.SessionGraphTransformer`; or a DataFrame with a
            ``session_column`` (and user-portrait columns, for a model that uses them). The
            ``predict``-like methods take the same kinds of input.
        {next_items_y}

        Returns
        -------
        self : object
            The fitted recommender.
        """
        return super().fit(X, y)

    def _check_sessions(self, X, *, reset):
        if not isinstance(X, pd.DataFrame):
            return check_sessions(X, allow_empty=not reset), None
        if self.session_column not in X.columns:
            raise ValueError(
                f"X is a DataFrame without the session column {self.session_column!r}; its columns are "
                f"{list(X.columns)}. Name the column holding the sessions with session_column=..., or group "
                "a long click table (one row per click) with FlatSessions.from_frame(X, session=..., item=...)."
            )
        sessions = check_sessions(X[self.session_column], input_name=f"X[{self.session_column!r}]",
                                  allow_empty=not reset)
        return sessions, self._user_frame(X)

    def _user_frame(self, X):
        """The user columns of a DataFrame ``X``, or None (no user features: ignored)."""

    def _fit_codes(self, data, y_codes):
        seed = seed_from(self.random_state)
        source = self._source(data, y_codes)

        def make_net(epochs):  # None: validated on the split; an int: the refit on every sample
            return self._make_net(self._module, criterion=self._criterion(), seed=seed, n_samples=len(y_codes),
                                  validation=epochs is None, max_epochs=epochs, **self._module_params())

        self._fit_refit(make_net, source, seed)

    def _scores(self, data, *, proba=False):
        start = 0
        for block in self._outputs(self._source(data), "proba" if proba else "forward"):
            yield slice(start, start + len(block)), block
            start += len(block)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # item ids may be strings
        return tags


# ---------------------------------------------------------------------------------------
# Flat-array helpers shared by the recommenders
# ---------------------------------------------------------------------------------------
def _segment_starts(sorted_ids, n_segments):
    """Offsets ``(n_segments + 1,)`` of the runs of each id ``0..n_segments-1`` in a sorted id array."""
    return np.searchsorted(sorted_ids, np.arange(n_segments + 1)).astype(np.int64)


def _same_ranges(items, start_a, start_b, length):
    """Whether ``items[start_a[j]:][:length[j]]`` equals ``items[start_b[j]:][:length[j]]``, for every ``j``."""
    same = np.ones(len(length), dtype=bool)
    for rows in segment_blocks(length):
        n = length[rows]
        a, b = concat_ranges(start_a[rows], n), concat_ranges(start_b[rows], n)
        differ = np.repeat(np.arange(rows.start, rows.stop), n)[items[a] != items[b]]
        same[differ] = False
    return same


def _x_equals_u(items, starts, lengths, y, j, k):
    """Whether sample ``j``'s prefix equals sample ``k``'s whole sequence ``X[k] + [y[k]]``, pair by pair."""
    equal = lengths[j] == lengths[k] + 1
    idx = np.flatnonzero(equal)
    jj, kk = j[idx], k[idx]
    match = items[starts[jj] + lengths[jj] - 1] == y[kk]
    equal[idx] = match & _same_ranges(items, starts[jj], starts[kk], lengths[kk])
    return equal


_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)
_LENGTH_MIX = np.uint64(0xD6E8FEB86659FD93)


def _hash_powers(n, base=_HASH_BASE):
    """``base**t`` modulo 2**64 for ``t = 0 .. n - 1`` (uint64)."""
    powers = np.full(max(n, 1), base, dtype=np.uint64)
    powers[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(powers, dtype=np.uint64)  # wraps modulo 2**64


def _sequence_hashes(items, offsets, powers):
    """Polynomial hash (mod 2**64) of every sequence, ``sum_t (item_t + 1) base**t`` (0 when empty), blocked."""
    lengths = np.diff(offsets)
    hashes = np.zeros(len(lengths), dtype=np.uint64)
    for rows in segment_blocks(lengths):
        low, high = offsets[rows.start], offsets[rows.stop]
        n = lengths[rows]
        position = np.arange(high - low, dtype=np.int64) - np.repeat(offsets[rows.start : rows.stop] - low, n)
        with np.errstate(over="ignore"):
            terms = (items[low:high].astype(np.uint64) + np.uint64(1)) * powers[position]
        nonempty = np.flatnonzero(n > 0)
        if len(nonempty):  # reduceat sums terms[start_k:start_k+1]; wraps modulo 2**64 like the terms
            hashes[rows.start + nonempty] = np.add.reduceat(terms, offsets[rows.start + nonempty] - low)
    return hashes


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
    The sequences ``u`` are never built: hashes and comparisons read the prefixes and ``y``, in
    blocks of ``SEGMENT_BLOCK`` clicks (:func:`~sklearn_ubergnn._arrays.segment_blocks`), so the
    temporaries stay a few MiB whatever the size of the data.

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
    n, items = len(sessions), sessions.items
    starts, lengths = sessions.offsets[:-1], sessions.lengths  # of the prefixes X; u is one longer
    powers = _hash_powers(int(lengths.max(initial=0)) + 1)
    x_hash = _sequence_hashes(items, sessions.offsets, powers)
    with np.errstate(over="ignore"):
        u_key = (x_hash + (y.astype(np.uint64) + np.uint64(1)) * powers[lengths]) ^ (
            (lengths.astype(np.uint64) + np.uint64(1)) * _LENGTH_MIX)
        x_key = x_hash ^ (lengths.astype(np.uint64) * _LENGTH_MIX)
    del x_hash
    # 1. Group samples by their whole sequence u; verify each against its group's first sample.
    uniq, first, group, n_full = np.unique(u_key, return_index=True, return_inverse=True, return_counts=True)
    del u_key
    rep = first[group]
    same = (lengths == lengths[rep]) & (y == y[rep])
    idx = np.flatnonzero(same)
    same[idx] = _same_ranges(items, starts[idx], starts[rep[idx]], lengths[idx])
    alone = ~same
    if alone.any():  # hash collisions: keep those samples apart, out of the counts
        n_full = n_full - np.bincount(group[alone], minlength=len(uniq))
    # 2. Samples whose X equals some u (X = the sequence minus its last item).
    slot = np.minimum(np.searchsorted(uniq, x_key), len(uniq) - 1)
    x_is_u = (uniq[slot] == x_key) & _x_equals_u(items, starts, lengths, y, np.arange(n), first[slot])
    n_keep = np.maximum(n_full - np.bincount(slot[x_is_u], minlength=len(uniq)), 0)
    # 3. Which samples of u to keep: first those whose sequence is not the X of the adjacent sample
    # (the next one if prefixes come shortest first, the previous one if longest first: whichever
    # matches more often), then the latest.
    to_next, to_previous = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    to_next[:-1] = _x_equals_u(items, starts, lengths, y, np.arange(1, n), np.arange(n - 1))
    to_previous[1:] = _x_equals_u(items, starts, lengths, y, np.arange(n - 1), np.arange(1, n))
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
    kept = np.flatnonzero(keep)
    kept_offsets = offsets_from_lengths(lengths[kept] + 1)
    full = np.empty(kept_offsets[-1], dtype=items.dtype)
    last = kept_offsets[1:] - 1
    clicks = np.ones(len(full), dtype=bool)
    clicks[last] = False
    full[clicks] = gather_segments(items, starts[kept], lengths[kept])
    full[last] = y[kept]
    return FlatSessions(full, kept_offsets)
