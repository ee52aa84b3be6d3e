"""EdgeBank: the memorisation baseline of dynamic link prediction."""
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._vocabulary import ItemVocabulary
from ._memory import _InteractionMemory

__all__ = ["EdgeBankBaseline"]


class EdgeBankBaseline(_InteractionMemory):
    """Predict a link when the same pair of objects has interacted before (EdgeBank).

    The model is the memorised history of interactions. A query row ``(source, target, time)``
    scores 1.0 when the pair ``(source, target)`` occurs in the history at a time strictly
    before the row's time, and, with ``time_window=w``, no earlier than ``time - w``; otherwise
    0.0. So rows of the history itself never see themselves, and neither do interactions at the
    same time. Queries are scored all at once: pairs are hashed to sorted integer codes and
    each row is two ``searchsorted`` look-ups, whatever the size of the history.

    Parameters
    ----------
    time_window : float >= 0 or None, default=None
        ``None``: unlimited memory (EdgeBank-infinity). A number: only interactions within
        ``[time - time_window, time)`` count (EdgeBank-tw with a fixed window).
    undirected : bool, default=False
        Whether ``(a, b)`` and ``(b, a)`` are the same pair.
    source_col, target_col, time_col : str, default="source", "target", "time"
        Column names of ``X``.

    Attributes
    ----------
    vocabulary_ : ItemVocabulary
        The objects of the history (sorted raw ids; unseen ids encode to -1).
    n_interactions_ : int
        Interactions memorised (by ``fit`` and every ``partial_fit``).
    n_pairs_ : int
        Distinct pairs memorised.

    See Also
    --------
    sklearn_ubergnn.graphs.DynamicInteractionGraph : The graph that learned models encode.

    Notes
    -----
    ``fit``/``partial_fit`` rebuild the sorted index of the history, ``O(H log H)`` for ``H``
    memorised interactions; prediction costs ``O(n log H)`` for ``n`` rows. Rows given to
    :meth:`predict_link_proba` never change the model: add them with :meth:`partial_fit` (the
    streaming protocol of DyGLib: score a batch, then add it).

    References
    ----------
    F. Poursafaei, S. Huang, K. Pelrine, R. Rabbany. Towards Better Evaluation for Dynamic Link
    Prediction. NeurIPS 2022 Datasets and Benchmarks.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"source": [1, 2, 1], "target": [2, 3, 2], "time": [0.0, 1.0, 5.0]})
    >>> bank = EdgeBankBaseline().fit(X)
    >>> Q = pd.DataFrame({"source": [1, 1, 2, 3], "target": [2, 2, 3, 2], "time": [0.0, 0.5, 9.0, 9.0]})
    >>> bank.predict_link_proba(Q)
    array([0., 1., 1., 0.])
    >>> EdgeBankBaseline(time_window=2.0).fit(X).predict_link_proba(Q)
    array([0., 1., 0., 0.])
    """

    _parameter_constraints = {
        "time_window": [Interval(Real, 0, None, closed="left"), None],
        "undirected": ["boolean"],
        **_InteractionMemory._parameter_constraints,
    }

    def __init__(self, *, time_window=None, undirected=False, source_col="source", target_col="target",
                 time_col="time"):
        self.time_window = time_window
        self.undirected = undirected
        self.source_col = source_col
        self.target_col = target_col
        self.time_col = time_col

    def _pair_codes(self, sources, targets, n_objects):
        a = self.vocabulary_.transform(sources, input_name="X")
        b = self.vocabulary_.transform(targets, input_name="X")
        if self.undirected:
            a, b = np.minimum(a, b), np.maximum(a, b)
        known = (a >= 0) & (b >= 0)
        return np.where(known, a * n_objects + b, -1), known

    def _build(self):
        sources, targets, times = self._history
        self.vocabulary_ = ItemVocabulary().fit(sources, targets)
        n_obj = len(self.vocabulary_)
        keys, _ = self._pair_codes(sources, targets, n_obj)
        pairs, pair_index = np.unique(keys, return_inverse=True)
        distinct_times, time_rank = np.unique(times, return_inverse=True)
        stride = len(distinct_times) + 1
        self._pairs = pairs
        self._times = distinct_times
        self._stride = stride
        # (pair, time rank) composite keys, sorted: one searchsorted answers "how many before t"
        self._composite = np.sort(pair_index.astype(np.int64) * stride + time_rank)
        self.n_interactions_ = len(keys)
        self.n_pairs_ = len(pairs)

    def predict_link_proba(self, X):
        """Score each row: 1.0 if its pair was memorised before its time (within the window), else 0.0.

        Parameters
        ----------
        X : DataFrame
            Query rows with the same columns as in ``fit``; any order; unseen objects score 0.

        Returns
        -------
        proba : ndarray of shape (n_rows,), float64
        """
        check_is_fitted(self)
        sources, targets, times = self._check_X(X)
        keys, known = self._pair_codes(sources, targets, len(self.vocabulary_))
        pos = np.minimum(np.searchsorted(self._pairs, keys), len(self._pairs) - 1)
        found = known & (self._pairs[pos] == keys)
        base = pos * self._stride
        upper = base + np.searchsorted(self._times, times, side="left")  # ranks of times < t
        if self.time_window is None:
            lower = base
        else:
            lower = base + np.searchsorted(self._times, times - self.time_window, side="left")
        count = np.searchsorted(self._composite, upper) - np.searchsorted(self._composite, lower)
        return (found & (count > 0)).astype(np.float64)

    def predict(self, X):
        """``predict_link_proba(X) == 1`` as int64 (0/1)."""
        return (self.predict_link_proba(X) > 0.5).astype(np.int64)
