"""Session-based nearest neighbours: V-SKNN (VMContextKNN) of Ludewig & Jannach, vectorised."""
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions

from .._arrays import concat_ranges
from .._docstrings import fill_doc
from ._base import _BlockScoredRecommender, _full_sessions, _segment_starts

__all__ = ["SessionKNNRecommender"]


# Weight of the click at position i (1-based) of a session of length L, for the query vector.
def _position_weights(name, i, length):
    i, length = i.astype(np.float64), length.astype(np.float64)
    if name == "same":
        return np.ones_like(i)
    if name == "div":
        return i / length
    if name == "linear":
        return np.maximum(0.0, 1.0 - 0.1 * (length - i))
    if name == "log":
        return 1.0 / np.log10(length - i + 1.7)
    return (i / length) ** 2  # "quadratic"


# Decay of a neighbour's vote when the most recent item it shares with the session lies `step`
# clicks from the end of the session (step 1 = the last click).
def _step_decay(name, step):
    step = step.astype(np.float64)
    if name == "same":
        return np.ones_like(step)
    if name == "div":
        return 1.0 / step
    if name == "linear":
        return np.maximum(0.0, 1.0 - 0.1 * step)
    if name == "log":
        return 1.0 / np.log10(step + 1.7)
    return 1.0 / step**2  # "quadratic"


_DECAYS = {"same", "div", "linear", "log", "quadratic"}


#: ``_parameter_constraints`` of the session-neighbourhood models (V-SKNN, V-STAN).
NEIGHBOURHOOD_CONSTRAINTS = {
    **_BlockScoredRecommender._parameter_constraints,
    "k": [Interval(Integral, 1, None, closed="left")],
    "sample_size": [Interval(Integral, 1, None, closed="left"), None],
    "similarity": [StrOptions({"dot", "cosine", "jaccard"})],
}


def session_item_matrices(sessions, n_items, *, last_positions=False):
    """The distinct (training session, item) pairs of ``sessions`` as two CSR matrices.

    Returns ``(session_item, item_session)``: ``(n_sessions, n_items)`` and its transpose (each row
    of the second lists the sessions of an item, oldest first). An entry is 1.0, or with
    ``last_positions=True`` the 1-based position (int64) of the item's last click in the session.
    """
    n_sessions = len(sessions)
    keys = sessions.session_index * n_items + sessions.items
    pairs, first_reversed = np.unique(keys[::-1], return_index=True)  # sorted by session, then item
    rows, cols = pairs // n_items, pairs % n_items
    if last_positions:
        position = np.arange(len(keys), dtype=np.int64) - np.repeat(sessions.offsets[:-1], sessions.lengths) + 1
        values = position[len(keys) - 1 - first_reversed]
    else:
        values = np.ones(len(pairs), dtype=np.float64)
    session_item = sp.csr_matrix((values, cols, _segment_starts(rows, n_sessions)), shape=(n_sessions, n_items))
    by_item = np.lexsort((rows, cols))
    item_session = sp.csr_matrix(
        (values[by_item], rows[by_item], _segment_starts(cols[by_item], n_items)), shape=(n_items, n_sessions)
    )
    return session_item, item_session


def candidate_entries(postings, pair_item, pair_q, pair_start, sample_size):
    """The candidate training sessions of each (query session, item) pair, as entries of ``postings``.

    ``postings`` is the item x training-session CSR matrix (sessions of an item oldest first); pair
    ``j`` (query ``pair_q[j]``, item ``pair_item[j]``; pairs sorted by query, starting at
    ``pair_start``) gets the sessions of its item that may be among the ``sample_size`` most recent
    sessions sharing any item with its query: the ``sample_size``-th most recent session of any one
    of the query's items is a lower bound. Returns ``(entry, entry_pair)``: positions in
    ``postings.indices`` and the pair of each.
    """
    n_items, n_train = postings.shape
    n_queries = len(pair_start) - 1
    begin, end = postings.indptr[pair_item], postings.indptr[pair_item + 1]
    if sample_size is not None:
        kth = np.where(end - begin >= sample_size, postings.indices[np.maximum(end - sample_size, 0)], -1)
        bound = np.full(n_queries, -1, dtype=np.int64)
        has = np.diff(pair_start) > 0
        bound[has] = np.maximum.reduceat(kth, pair_start[:-1][has])
        row_of_entry = np.repeat(np.arange(n_items, dtype=np.int64), np.diff(postings.indptr))
        posting_keys = row_of_entry * n_train + postings.indices
        begin = np.searchsorted(posting_keys, pair_item * n_train + np.maximum(bound[pair_q], 0))
    counts = end - begin
    return concat_ranges(begin, counts), np.repeat(np.arange(len(pair_item), dtype=np.int64), counts)


def most_recent(cand_q, n_queries, sample_size):
    """Mask of the ``sample_size`` most recent candidates of each query (candidates sorted by query,
    then by training session, oldest first)."""
    q_start = _segment_starts(cand_q, n_queries)
    return q_start[cand_q + 1] - 1 - np.arange(len(cand_q)) < sample_size


@fill_doc
class SessionKNNRecommender(_BlockScoredRecommender):
    """Session-based k-nearest neighbours with position weights (V-SKNN / VMContextKNN).

    The recommender of Ludewig & Jannach (2018), as ``VMContextKNN`` of the session-rec
    framework, computed for whole batches of sessions with sparse matrices. For a session
    ``s = (s_1, ..., s_L)``:

    1. **Candidates.** The training sessions sharing at least one item with ``s``; of these only
       the ``sample_size`` most recent are kept (later in training order = more recent).
    2. **Similarity.** Each distinct item of ``s`` gets a position weight ``w(i, L)`` from its last
       click position ``i`` (``weighting``); a candidate ``n`` (a set of items) scores
       ``sim(s, n) = sum_{v in s & n} w_v``, normalised as set by ``similarity``.
    3. **Neighbours.** The ``k`` candidates of highest positive similarity (ties, up to rounding
       errors of 1e-12: the more recent).
    4. **Item scores.** Every item ``v`` of a neighbour ``n`` receives
       ``sim(s, n) * d(step_n) * (1 + idf_weighting * idf_v)``, summed over neighbours, where
       ``step_n`` is 1 + the number of clicks of ``s`` after the most recent item shared with
       ``n`` and ``d`` is ``weighting_score``.

    Items with no score are ranked after the scored ones by popularity (``item_counts_``).

    Parameters
    ----------
    k : int, default=100
        Number of neighbour sessions whose items are scored.
    sample_size : int or None, default=500
        Number of most recent candidate sessions in which neighbours are searched; ``None`` uses
        every training session that shares an item with the session.
    weighting : {"div", "linear", "same", "log", "quadratic"}, default="div"
        Weight of an item of the session from its last click position ``i`` (1-based) in a session
        of ``L`` clicks: ``"div"`` ``i / L``; ``"linear"`` ``max(0, 1 - 0.1 (L - i))``; ``"same"``
        1; ``"log"`` ``1 / log10(L - i + 1.7)``; ``"quadratic"`` ``(i / L) ** 2``.
    weighting_score : {"div", "linear", "same", "log", "quadratic"}, default="div"
        Decay of a neighbour's vote with ``step`` (1 when it shares the last click): ``"div"``
        ``1 / step``; ``"linear"`` ``max(0, 1 - 0.1 step)``; ``"same"`` 1; ``"log"``
        ``1 / log10(step + 1.7)``; ``"quadratic"`` ``1 / step ** 2``.
    similarity : {"dot", "cosine", "jaccard"}, default="dot"
        Normalisation of the weighted overlap ``o = sum_{v in s & n} w_v``: ``"dot"`` ``o / |s|``
        (session-rec's ``vec``; ``|s|`` = distinct items of the session), ``"cosine"``
        ``o / (||w||_2 sqrt(|n|))``, ``"jaccard"`` ``o / |s | n|``. With ``weighting="same"``
        the last two are the usual set cosine and Jaccard.
    idf_weighting : bool or float, default=False
        Weight of the inverse document frequency boost of candidate items,
        ``idf_v = log(n_train_sessions / clicks of v)``; ``False`` or 0 turns it off, ``True`` is 1.
    batch_size : int, default=500
        Number of sessions scored together by :meth:`recommend` and :meth:`predict_proba`; memory
        grows linearly with it (a few hundred bytes per candidate session of each session).

    Attributes
    ----------
    {session_fitted}
    n_train_sessions_ : int
        Number of training sessions rebuilt from the samples (see Notes).
    session_item_matrix_ : scipy.sparse.csr_matrix of shape (``n_train_sessions_``, n_items)
        Binary: which items each training session contains. Row order = training order.
    item_session_matrix_ : scipy.sparse.csr_matrix of shape (n_items, ``n_train_sessions_``)
        Its transpose; each row lists the sessions of an item, oldest first.
    idf_ : ndarray of shape (n_items,)
        ``log(n_train_sessions_ / clicks)`` of each item over the rebuilt training sessions.

    See Also
    --------
    PopularityRecommender : The popularity baseline (and this model's fallback).

    Notes
    -----
    **Training data.** :meth:`fit` takes ``(prefix, next item)`` samples, as produced by
    :func:`sklearn_ubergnn.preprocessing.session_prefixes`, and rebuilds the training sessions
    from them: the sequence of a sample is ``X[i] + [y[i]]``; the number of sessions equal to a
    sequence ``u`` is the number of samples of sequence ``u`` minus the number of samples whose
    ``X`` is ``u`` (shorter prefixes of longer sessions), in any sample order. A session's recency
    is the position of its longest prefix among the samples, so pass the sessions in time order;
    with each session's prefixes contiguous (longest or shortest first) the sessions come back
    exactly, in order. One sample per session, ``(session[:-1], session[-1])``, also works, except
    that a session equal to another one minus its last item is merged into it.

    **Departures from session-rec.** session-rec's ``linear`` weights are
    ``1 - 0.1 (L - i) if i <= 10 else 0``, which zeroes the last click of every session longer
    than 10 and gives negative weights to old clicks; this class uses the intended
    ``max(0, 1 - 0.1 (L - i))`` (and clips ``linear`` step decays at 0 likewise). Ties between
    candidates of equal similarity are broken by recency instead of set iteration order.
    Unseen items are dropped from a session before positions are counted. ``VMContextKNN``
    ignores its ``similarity`` option and always uses ``"dot"``, this class's default.
    Candidates are found with the ``sample_size`` most recent sessions of each item of the
    session (enough to contain the ``sample_size`` most recent of their union), so the cost of a
    batch does not depend on how popular its items are.

    :meth:`score` is the P@20 of session recommendation (the share of sessions whose next item is
    in the top 20), not :class:`~sklearn.base.ClassifierMixin`'s accuracy.

    References
    ----------
    .. [1] M. Ludewig and D. Jannach, "Evaluation of session-based recommendation algorithms",
       User Modeling and User-Adapted Interaction 28, 2018.
    .. [2] D. Jannach and M. Ludewig, "When recurrent neural networks meet the neighborhood for
       session-based recommendation", RecSys 2017.

    Examples
    --------
    >>> from sklearn_ubergnn.session import SessionKNNRecommender
    >>> X = [[1], [1, 2], [4], [4, 2], [1]]
    >>> y = [2, 3, 2, 5, 3]
    >>> rec = SessionKNNRecommender(k=2).fit(X, y)
    >>> rec.n_train_sessions_
    3
    >>> rec.recommend([[4]], k=3)
    array([[2, 4, 5]])
    """

    _parameter_constraints: dict = {
        **NEIGHBOURHOOD_CONSTRAINTS,
        "weighting": [StrOptions(_DECAYS)],
        "weighting_score": [StrOptions(_DECAYS)],
        "idf_weighting": ["boolean", Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        k=100,
        sample_size=500,
        weighting="div",
        weighting_score="div",
        similarity="dot",
        idf_weighting=False,
        batch_size=500,
    ):
        self.k = k
        self.sample_size = sample_size
        self.weighting = weighting
        self.weighting_score = weighting_score
        self.similarity = similarity
        self.idf_weighting = idf_weighting
        self.batch_size = batch_size

    def _fit_codes(self, data, y_codes):
        full = _full_sessions(data.codes, y_codes)
        n_sessions, n_items = len(full), self.n_items_
        self.session_item_matrix_, self.item_session_matrix_ = session_item_matrices(full, n_items)
        self.n_train_sessions_ = n_sessions
        clicks = np.bincount(full.items, minlength=n_items)
        self.idf_ = np.log(n_sessions / np.maximum(clicks, 1))
        return self

    def _score_codes(self, sessions_codes):
        b, n_items, n_train = len(sessions_codes), self.n_items_, self.n_train_sessions_
        empty = sp.csr_matrix((b, n_items), dtype=np.float64)
        if len(sessions_codes.items) == 0:
            return empty
        # Distinct (session, item) pairs, with the last click position of each.
        lengths = sessions_codes.lengths
        click_session = sessions_codes.session_index
        position = np.arange(len(sessions_codes.items)) - np.repeat(sessions_codes.offsets[:-1], lengths) + 1
        keys = click_session * n_items + sessions_codes.items
        pair_keys, first_reversed = np.unique(keys[::-1], return_index=True)
        last_click = len(keys) - 1 - first_reversed
        pair_q, pair_item = pair_keys // n_items, pair_keys % n_items
        pair_len = lengths[pair_q]
        weight = _position_weights(self.weighting, position[last_click], pair_len)
        recency = pair_len - position[last_click]  # clicks after the item's last click
        pair_start = _segment_starts(pair_q, b)
        n_distinct = np.diff(pair_start)

        postings = self.item_session_matrix_
        entry, entry_pair = candidate_entries(postings, pair_item, pair_q, pair_start, self.sample_size)
        entry_session = postings.indices[entry].astype(np.int64)
        entry_q = pair_q[entry_pair]

        # Group entries by (query session, training session), sorted; sum weights, find the step.
        slots = 1 << int(max(int(n_distinct.max()) - 1, 0)).bit_length()
        if b * n_train * slots < 2**62:
            packed = np.sort((entry_q * n_train + entry_session) * slots + (entry_pair - pair_start[entry_q]))
            group_key, slot = packed // slots, packed % slots
            entry_pair = pair_start[group_key // n_train] + slot
        else:  # pragma: no cover - astronomically large batches
            order = np.argsort(entry_q * n_train + entry_session, kind="stable")
            group_key, entry_pair = (entry_q * n_train + entry_session)[order], entry_pair[order]
        if len(group_key) == 0:
            return empty
        group_start = np.flatnonzero(np.concatenate([[True], group_key[1:] != group_key[:-1]]))
        overlap = np.add.reduceat(weight[entry_pair], group_start)
        n_shared = np.diff(np.append(group_start, len(group_key)))
        step = np.minimum.reduceat(recency[entry_pair], group_start) + 1
        cand_q, cand_session = group_key[group_start] // n_train, group_key[group_start] % n_train

        # Sample: the sample_size most recent candidates of each query (largest session index).
        if self.sample_size is not None:
            sampled = most_recent(cand_q, b, self.sample_size)
            cand_q, cand_session = cand_q[sampled], cand_session[sampled]
            overlap, n_shared, step = overlap[sampled], n_shared[sampled], step[sampled]

        # Similarity, then the k most similar candidates with a positive similarity.
        if self.similarity == "dot":
            sim = overlap / n_distinct[cand_q]
        elif self.similarity == "cosine":
            norm = np.sqrt(np.bincount(pair_q, weights=weight**2, minlength=b))
            session_size = np.diff(self.session_item_matrix_.indptr)[cand_session]
            with np.errstate(divide="ignore", invalid="ignore"):
                sim = np.where(overlap > 0, overlap / (norm[cand_q] * np.sqrt(session_size)), 0.0)
        else:  # jaccard
            session_size = np.diff(self.session_item_matrix_.indptr)[cand_session]
            sim = overlap / (n_distinct[cand_q] + session_size - n_shared)
        positive = sim > 0
        cand_q, cand_session = cand_q[positive], cand_session[positive]
        sim, step = sim[positive], step[positive]
        # Similarities equal up to rounding (sums of the same weights in another order) are ties,
        # broken by recency.
        order = np.lexsort((-cand_session, -np.round(sim, 12), cand_q))
        cand_q, cand_session, sim, step = cand_q[order], cand_session[order], sim[order], step[order]
        rank = np.arange(len(cand_q)) - _segment_starts(cand_q, b)[cand_q]
        near = rank < self.k
        vote = sim[near] * _step_decay(self.weighting_score, step[near])
        neighbours = sp.csr_matrix(
            (vote, cand_session[near], _segment_starts(cand_q[near], b)), shape=(b, n_train)
        )
        scores = sp.csr_matrix(neighbours @ self.session_item_matrix_)
        if self.idf_weighting:
            scores.data *= 1.0 + float(self.idf_weighting) * self.idf_[scores.indices]
        return scores
