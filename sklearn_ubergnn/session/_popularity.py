"""Most-popular-items baseline."""
from .._docstrings import fill_doc
from ._base import _BlockScoredRecommender

__all__ = ["PopularityRecommender"]


@fill_doc
class PopularityRecommender(_BlockScoredRecommender):
    """Recommend the items most frequent in the training data, whatever the session.

    Every session gets the same ranking: items by decreasing training popularity
    (``item_counts_``, the clicks of each item in the training sessions rebuilt from the
    ``(prefix, next item)`` samples, each click counted once), ties broken by ``classes_``
    order. This is the "POP" baseline of the session-recommendation literature (SR-GNN reports
    P@20 6.71 and MRR@20 1.65 on YOOCHOOSE 1/64), and the fallback ranking of every recommender
    of this package.

    Parameters
    ----------
    batch_size : int, default=500
        Number of sessions ranked per batch by :meth:`recommend` and :meth:`predict_proba`.

    Attributes
    ----------
    vocabulary_ : ItemVocabulary
        Raw ids <-> codes; the codes are positions in ``classes_``.
    classes_ : ndarray of shape (n_items,)
        Sorted distinct item ids of the training sessions and targets.
    n_items_ : int
        ``len(classes_)``.
    item_counts_ : ndarray of shape (n_items,), int64
        Clicks of each item in the training sessions, each click counted once (every prefix of a
        session given as a sample does not count the session again): the scores.

    See Also
    --------
    SessionKNNRecommender : Session-based nearest neighbours (V-SKNN).

    Notes
    -----
    :meth:`score` is the P@20 of session recommendation (the share of sessions whose next item is
    in the top 20), not :class:`~sklearn.base.ClassifierMixin`'s accuracy.

    Examples
    --------
    >>> from sklearn_ubergnn.session import PopularityRecommender
    >>> X = [[1, 2], [2, 3], [3], [2]]
    >>> y = [3, 2, 2, 1]
    >>> rec = PopularityRecommender().fit(X, y)
    >>> rec.item_counts_
    array([2, 5, 3])
    >>> rec.recommend([[3], [99]], k=2)
    array([[2, 3],
           [2, 3]])
    """

    def __init__(self, *, batch_size=500):
        self.batch_size = batch_size

    def _fit_codes(self, data, y_codes):
        pass  # the counts learnt by the base class are the whole model

    def _score_codes(self, sessions_codes):
        # One shared row: the base class ranks it once for the whole batch.
        return self.item_counts_[None, :].astype(float)
