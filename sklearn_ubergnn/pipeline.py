"""Pipelines whose last step is a recommender.

scikit-learn's :class:`~sklearn.pipeline.Pipeline` forwards ``predict`` and ``predict_proba`` but knows
nothing of ``recommend``. :func:`recommend` ranks with a recommender or with any scikit-learn pipeline
ending in one (the top-k scorers use it, so ``GridSearchCV`` over a plain ``Pipeline`` works), and
:class:`RecommenderPipeline` is a ``Pipeline`` that also has a ``recommend`` method.
"""
from sklearn.pipeline import Pipeline
from sklearn.pipeline import make_pipeline as _sklearn_make_pipeline
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if

__all__ = ["RecommenderPipeline", "make_pipeline", "recommend"]


def recommend(estimator, X, k=20):
    """Top-``k`` raw ids per sample from a recommender or a pipeline ending in one.

    Parameters
    ----------
    estimator : fitted recommender or fitted :class:`~sklearn.pipeline.Pipeline`
        Anything with ``recommend(X, k)``, or a pipeline whose last step has it (the earlier
        steps transform ``X`` first).
    X : sequence of sessions or DataFrame
        Input of the estimator.
    k : int, default=20
        Number of ids per sample.

    Returns
    -------
    ranked : ndarray of shape (n_samples, k)
        Raw ids, best first (fewer columns when the catalogue is smaller than ``k``).
    """
    if isinstance(estimator, Pipeline) and hasattr(estimator._final_estimator, "recommend"):
        Xt = estimator[:-1].transform(X) if len(estimator) > 1 else X
        return estimator._final_estimator.recommend(Xt, k=k)
    if hasattr(estimator, "recommend"):
        return estimator.recommend(X, k=k)
    raise TypeError(
        f"{type(estimator).__name__} cannot recommend: it has no recommend(X, k) method and is not "
        "a Pipeline ending in a recommender."
    )


def _final_step_recommends(pipeline):
    return hasattr(pipeline._final_estimator, "recommend")


class RecommenderPipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` that also forwards ``recommend`` to its last step.

    Build it with :func:`make_pipeline`; everything else is scikit-learn's ``Pipeline``.

    Examples
    --------
    >>> from sklearn_ubergnn import SessionKNNRecommender
    >>> from sklearn_ubergnn.pipeline import make_pipeline
    >>> pipe = make_pipeline(SessionKNNRecommender()).fit([[1, 2], [2, 3], [1, 3]], [3, 1, 2])
    >>> pipe.recommend([[1]], k=2).shape
    (1, 2)
    """

    @available_if(_final_step_recommends)
    def recommend(self, X, k=20):
        """Transform ``X`` through every step but the last, then ``recommend`` with the last."""
        return recommend(self, X, k=k)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        first = self.steps[0][1] if self.steps else None
        if first is not None and first != "passthrough":
            # what the pipeline accepts is what its first step accepts (e.g. ragged sessions of ids)
            first_tags = get_tags(first)
            tags.input_tags.two_d_array = first_tags.input_tags.two_d_array
            tags.input_tags.string = first_tags.input_tags.string
        return tags


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """Like :func:`sklearn.pipeline.make_pipeline`, returning a :class:`RecommenderPipeline`."""
    pipe = _sklearn_make_pipeline(*steps, memory=memory, transform_input=transform_input, verbose=verbose)
    return RecommenderPipeline(pipe.steps, memory=memory, transform_input=transform_input, verbose=verbose)
