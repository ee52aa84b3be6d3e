"""Sequential rules (SR) of Ludewig & Jannach: item-to-item rules weighted by their distance, vectorised."""
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions

from .._docstrings import fill_doc
from ..graphs._transitions import item_transition_graph, strongest_per_row
from ._base import _BlockScoredRecommender, _full_sessions
from ._knn import _DECAYS, _step_decay

__all__ = ["SequentialRulesRecommender"]


@fill_doc
class SequentialRulesRecommender(_BlockScoredRecommender):
    """Sequential rules: the items that followed the session's last item in training, by distance.

    The "SR" baseline of Ludewig & Jannach (2018), which their and later reproducibility studies
    rank among the strongest simple session recommenders. In every training session, each click
    ``q`` at position ``j`` and each earlier click ``p`` at position ``i`` with
    ``1 <= j - i <= steps`` and ``p != q`` add ``w(j - i)`` to the rule ``p -> q``
    (``weighting``; by default ``1 / (j - i)``). Each item keeps its ``pruning`` strongest rules.
    A session is scored by the rules of its last known item; a session whose last item has no
    rule (or no known item) gets the popularity ranking.

    Computed with whole-array NumPy and one sparse ``(n_items, n_items)`` matrix: one pass per
    distance ``1..steps`` over the training clicks, never a loop over sessions.

    Parameters
    ----------
    steps : int, default=10
        Largest distance ``j - i`` between the two clicks of a rule.
    weighting : {"div", "same", "linear", "log", "quadratic"}, default="div"
        Weight of a rule as a function of the distance ``d``: ``1/d``, ``1``,
        ``max(0, 1 - 0.1 d)``, ``1/log10(d + 1.7)`` or ``1/d^2`` (session-rec's names).
    pruning : int or None, default=20
        Rules kept per item, the strongest first (ties by the code of the next item); None keeps
        every rule.
    batch_size : int, default=500
        Number of sessions scored per batch by :meth:`recommend` and :meth:`predict_proba`.

    Attributes
    ----------
    {session_fitted}
    rules_ : scipy.sparse.csr_matrix of shape (n_items, n_items)
        ``rules_[p, q]``: the summed weight of the rule ``p -> q`` (pruned).

    See Also
    --------
    SessionKNNRecommender : Session-based nearest neighbours (V-SKNN).
    PopularityRecommender : The fallback ranking, as a baseline.

    Notes
    -----
    The sessions are rebuilt from the ``(prefix, next item)`` samples as for
    :class:`SessionKNNRecommender` (every prefix of a session counts the session once).
    :meth:`score` is P@20. Ties between equally weighted next items are broken by ``classes_``
    order (session-rec leaves them to the sort).

    References
    ----------
    M. Ludewig, D. Jannach. Evaluation of Session-based Recommendation Algorithms. User Modeling
    and User-Adapted Interaction 28, 2018.

    Examples
    --------
    >>> from sklearn_ubergnn.session import SequentialRulesRecommender
    >>> X, y = [[1, 2], [1], [4]], [3, 2, 1]
    >>> rec = SequentialRulesRecommender().fit(X, y)
    >>> rec.rules_.toarray()  # sessions [1, 2, 3] and [4, 1]: 1 -> 2, 2 -> 3, 1 -> 3 (1/2), 4 -> 1
    array([[0. , 1. , 0.5, 0. ],
           [0. , 0. , 1. , 0. ],
           [0. , 0. , 0. , 0. ],
           [1. , 0. , 0. , 0. ]])
    >>> rec.recommend([[4, 1], [3]], k=2)
    array([[2, 3],
           [1, 2]])
    """

    _parameter_constraints: dict = {
        **_BlockScoredRecommender._parameter_constraints,
        "steps": [Interval(Integral, 1, None, closed="left")],
        "weighting": [StrOptions(_DECAYS)],
        "pruning": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, steps=10, weighting="div", pruning=20, batch_size=500):
        self.steps = steps
        self.weighting = weighting
        self.pruning = pruning
        self.batch_size = batch_size

    def _fit_codes(self, data, y_codes):
        full = _full_sessions(data.codes, y_codes)
        weights = _step_decay(self.weighting, np.arange(1, self.steps + 1))
        rules = item_transition_graph(full.items, full.session_index, self.n_items_, weights)
        self.rules_ = strongest_per_row(rules, self.pruning)
        return self

    def _score_codes(self, sessions_codes):
        b = len(sessions_codes)
        has = np.flatnonzero(sessions_codes.lengths > 0)
        last = sessions_codes.items[sessions_codes.offsets[1:][has] - 1]
        select = sp.csr_matrix((np.ones(len(has)), (has, last)), shape=(b, self.n_items_))
        return select @ self.rules_

